/*
 * src/fw/set.c: named sets (set.h): the immutable versions, their
 * lock-free lookups, and the registry of slots that rules refer to.
 * The text form (restore/save parsing) is in set_parse.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"
#include "set.h"

struct fw_set {
	uint8_t type;			/* enum fw_set_type */
	uint8_t family;			/* hash types only */
	uint8_t n_prefixes;		/* hash:net: lengths held */
	uint8_t prefixes[129];		/* longest first */
	uint32_t prefix_n[129];		/* members per length */
	uint32_t maxelem, n;
	uint16_t range_lo, range_hi;	/* bitmap:port */
	/* hash types and list:set: the members, packed, in the order
	 * added; hash types index them by an open-addressing table. */
	struct fw_set_elem *elems;
	uint32_t cap_elems;
	uint32_t *index;		/* IDX_EMPTY, IDX_TOMB or a member */
	uint32_t index_mask, n_tombs;
	uint64_t *bits;			/* bitmap:port, 65536 bits */
};

struct fw_set_slot {
	struct fw_set *ver;		/* atomic; NULL when unused */
	uint32_t refs;			/* rules holding it */
	bool used;
	bool retiring;			/* tx copy: destroyed, not reusable */
	char name[FW_SET_NAME_MAX];
};

struct fw_sets {
	bool tx;			/* a restore's private copy */
	struct fw_set_slot slot[FW_SETS_MAX];
};

#define IDX_EMPTY	UINT32_MAX
#define IDX_TOMB	(UINT32_MAX - 1)
#define BITMAP_WORDS	(65536 / 64)
#define KEY_BYTES	offsetof(struct fw_set_elem, id)

static const char *const type_names[FW_SET_TYPE_COUNT] = {
	[FW_SET_HASH_IP] = "hash:ip",
	[FW_SET_HASH_NET] = "hash:net",
	[FW_SET_HASH_IP_PORT] = "hash:ip,port",
	[FW_SET_BITMAP_PORT] = "bitmap:port",
	[FW_SET_LIST_SET] = "list:set",
};

const char *
fw_set_type_name(enum fw_set_type t)
{
	return (unsigned)t < FW_SET_TYPE_COUNT ? type_names[t] : "?";
}

static bool
is_hash(const struct fw_set *s)
{
	return s->type <= FW_SET_HASH_IP_PORT;
}

static uint8_t
full_len(uint8_t family)
{
	return family == FW_IPV6 ? 128 : 32;
}

struct fw_set *
fw_set_new(enum fw_set_type type, uint8_t family, uint32_t maxelem,
    uint16_t range_lo, uint16_t range_hi)
{
	struct fw_set *s;

	if ((unsigned)type >= FW_SET_TYPE_COUNT)
		return NULL;
	if (type <= FW_SET_HASH_IP_PORT && family != FW_IPV4 &&
	    family != FW_IPV6)
		return NULL;
	if (type == FW_SET_BITMAP_PORT && range_lo > range_hi)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->type = type;
	s->family = type <= FW_SET_HASH_IP_PORT ? family : 0;
	if (maxelem == 0)
		maxelem = type == FW_SET_LIST_SET ? FW_SET_LIST_SIZE_DEFAULT :
		    FW_SET_MAXELEM_DEFAULT;
	s->maxelem = maxelem;
	if (type == FW_SET_BITMAP_PORT) {
		s->range_lo = range_lo;
		s->range_hi = range_hi;
		s->maxelem = (uint32_t)range_hi - range_lo + 1;
		s->bits = calloc(BITMAP_WORDS, sizeof(uint64_t));
		if (s->bits == NULL) {
			free(s);
			return NULL;
		}
	}
	return s;
}

void
fw_set_free(struct fw_set *s)
{
	if (s == NULL)
		return;
	free(s->elems);
	free(s->index);
	free(s->bits);
	free(s);
}

struct fw_set *
fw_set_clone(const struct fw_set *o)
{
	struct fw_set *s;

	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	*s = *o;
	s->elems = NULL;
	s->index = NULL;
	s->bits = NULL;
	if (o->cap_elems > 0) {
		s->elems = malloc(o->cap_elems * sizeof(*s->elems));
		if (s->elems == NULL)
			goto fail;
		memcpy(s->elems, o->elems, o->n * sizeof(*s->elems));
	}
	if (o->index != NULL) {
		s->index = malloc(((size_t)o->index_mask + 1) * sizeof(uint32_t));
		if (s->index == NULL)
			goto fail;
		memcpy(s->index, o->index,
		    ((size_t)o->index_mask + 1) * sizeof(uint32_t));
	}
	if (o->bits != NULL) {
		s->bits = malloc(BITMAP_WORDS * sizeof(uint64_t));
		if (s->bits == NULL)
			goto fail;
		memcpy(s->bits, o->bits, BITMAP_WORDS * sizeof(uint64_t));
	}
	return s;
fail:
	fw_set_free(s);
	return NULL;
}

void
fw_set_range(const struct fw_set *s, uint16_t *lo, uint16_t *hi)
{
	*lo = s->range_lo;
	*hi = s->range_hi;
}

enum fw_set_type
fw_set_type(const struct fw_set *s)
{
	return s->type;
}

uint8_t
fw_set_family(const struct fw_set *s)
{
	return s->family;
}

uint32_t
fw_set_count(const struct fw_set *s)
{
	return s->n;
}

uint32_t
fw_set_maxelem(const struct fw_set *s)
{
	return s->maxelem;
}

/* A 64-bit mix (the finaliser of MurmurHash3) over the 20 key bytes. */
static uint32_t
elem_hash(const struct fw_set_elem *e)
{
	uint64_t a, b, h;
	uint32_t c;

	memcpy(&a, e->addr, 8);
	memcpy(&b, e->addr + 8, 8);
	memcpy(&c, &e->prefix, 4);
	h = a ^ (b * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)c << 17);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static bool
elem_eq(const struct fw_set_elem *a, const struct fw_set_elem *b)
{
	return memcmp(a, b, KEY_BYTES) == 0;
}

/* Position in the index of the slot holding e, or -1. Reads only. */
static long
index_find(const struct fw_set *s, const struct fw_set_elem *e)
{
	uint32_t pos, v;

	if (s->index == NULL)
		return -1;
	pos = elem_hash(e) & s->index_mask;
	for (uint32_t i = 0; i <= s->index_mask; i++) {
		v = s->index[pos];
		if (v == IDX_EMPTY)
			return -1;
		if (v != IDX_TOMB && elem_eq(&s->elems[v], e))
			return (long)pos;
		pos = (pos + 1) & s->index_mask;
	}
	return -1;
}

static void
index_put(uint32_t *index, uint32_t mask, const struct fw_set_elem *e,
    uint32_t v)
{
	uint32_t pos = elem_hash(e) & mask;

	while (index[pos] != IDX_EMPTY && index[pos] != IDX_TOMB)
		pos = (pos + 1) & mask;
	index[pos] = v;
}

/* Rebuilds the index at a size that keeps the load at most 1/2 for
 * want members, dropping tombstones. */
static int
index_rebuild(struct fw_set *s, uint32_t want)
{
	size_t size = 16;
	uint32_t *index;

	while (size < (size_t)want * 2)
		size *= 2;
	if ((index = malloc(size * sizeof(*index))) == NULL)
		return -ENOMEM;
	memset(index, 0xff, size * sizeof(*index));
	for (uint32_t i = 0; i < s->n; i++)
		index_put(index, (uint32_t)size - 1, &s->elems[i], i);
	free(s->index);
	s->index = index;
	s->index_mask = (uint32_t)size - 1;
	s->n_tombs = 0;
	return 0;
}

static void
prefixes_update(struct fw_set *s)
{
	s->n_prefixes = 0;
	for (int len = 128; len >= 0; len--)
		if (s->prefix_n[len] > 0)
			s->prefixes[s->n_prefixes++] = (uint8_t)len;
}

static bool
list_has(const struct fw_set *s, uint32_t id, uint32_t *at)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->elems[i].id == id) {
			if (at != NULL)
				*at = i;
			return true;
		}
	return false;
}

static int
elems_reserve(struct fw_set *s)
{
	struct fw_set_elem *e;
	uint32_t cap;

	if (s->n < s->cap_elems)
		return 0;
	cap = s->cap_elems ? s->cap_elems * 2 : 16;
	if ((e = realloc(s->elems, (size_t)cap * sizeof(*e))) == NULL)
		return -ENOMEM;
	s->elems = e;
	s->cap_elems = cap;
	return 0;
}

static void mask_to(uint8_t *a, uint8_t len);

/* The member as the set stores it: fields the type does not use are
 * zero, hosts carry the full length, networks are masked. */
static struct fw_set_elem
normal(const struct fw_set *s, const struct fw_set_elem *in)
{
	struct fw_set_elem e;

	memset(&e, 0, sizeof(e));
	switch (s->type) {
	case FW_SET_BITMAP_PORT:
		e.port = in->port;
		return e;
	case FW_SET_LIST_SET:
		e.id = in->id;
		return e;
	default:
		break;
	}
	memcpy(e.addr, in->addr, s->family == FW_IPV6 ? 16 : 4);
	e.prefix = full_len(s->family);
	if (s->type == FW_SET_HASH_NET && in->prefix > 0 &&
	    in->prefix < e.prefix)
		e.prefix = in->prefix;
	mask_to(e.addr, e.prefix);
	if (s->type == FW_SET_HASH_IP_PORT) {
		e.proto = in->proto;
		e.port = in->port;
	}
	return e;
}

bool
fw_set_has(const struct fw_set *s, const struct fw_set_elem *in)
{
	struct fw_set_elem n = normal(s, in), *e = &n;

	switch (s->type) {
	case FW_SET_BITMAP_PORT:
		return (s->bits[e->port / 64] >> (e->port % 64)) & 1;
	case FW_SET_LIST_SET:
		return list_has(s, e->id, NULL);
	default:
		return index_find(s, e) >= 0;
	}
}

int
fw_set_add(struct fw_set *s, const struct fw_set_elem *in)
{
	struct fw_set_elem n = normal(s, in), *e = &n;
	int error;

	if (s->type == FW_SET_BITMAP_PORT) {
		if (e->port < s->range_lo || e->port > s->range_hi)
			return -ERANGE;
		if (!fw_set_has(s, e)) {
			s->bits[e->port / 64] |= 1ULL << (e->port % 64);
			s->n++;
		}
		return 0;
	}
	if (fw_set_has(s, e))
		return 0;
	if (s->n >= s->maxelem)
		return -ENOSPC;
	if ((error = elems_reserve(s)) != 0)
		return error;
	if (is_hash(s) && ((size_t)s->n + 1 + s->n_tombs) * 2 >
	    (s->index ? (size_t)s->index_mask + 1 : 0)) {
		if ((error = index_rebuild(s, s->n + 1)) != 0)
			return error;
	}
	s->elems[s->n] = *e;
	if (is_hash(s)) {
		index_put(s->index, s->index_mask, e, s->n);
		if (s->type == FW_SET_HASH_NET && s->prefix_n[e->prefix]++ == 0)
			prefixes_update(s);
	}
	s->n++;
	return 0;
}

int
fw_set_del(struct fw_set *s, const struct fw_set_elem *in)
{
	struct fw_set_elem n = normal(s, in), *e = &n;
	uint32_t i = 0, last;
	long pos;

	if (!fw_set_has(s, e))
		return -ENOENT;
	if (s->type == FW_SET_BITMAP_PORT) {
		s->bits[e->port / 64] &= ~(1ULL << (e->port % 64));
		s->n--;
		return 0;
	}
	if (s->type == FW_SET_LIST_SET) {
		/* Keep the order: lists are tried first to last. */
		(void)list_has(s, e->id, &i);
		memmove(&s->elems[i], &s->elems[i + 1],
		    (s->n - i - 1) * sizeof(*s->elems));
		s->n--;
		return 0;
	}
	pos = index_find(s, e);
	i = s->index[pos];
	s->index[pos] = IDX_TOMB;
	s->n_tombs++;
	if (s->type == FW_SET_HASH_NET && --s->prefix_n[e->prefix] == 0)
		prefixes_update(s);
	last = s->n - 1;
	if (i != last) {
		/* Move the last member into the hole and repoint its slot;
		 * the only live slot that still matches it points at last. */
		s->elems[i] = s->elems[last];
		s->index[index_find(s, &s->elems[last])] = i;
	}
	s->n--;
	return 0;
}

void
fw_set_flush(struct fw_set *s)
{
	s->n = 0;
	if (s->bits != NULL)
		memset(s->bits, 0, BITMAP_WORDS * sizeof(uint64_t));
	if (s->index != NULL)
		memset(s->index, 0xff, ((size_t)s->index_mask + 1) *
		    sizeof(uint32_t));
	s->n_tombs = 0;
	memset(s->prefix_n, 0, sizeof(s->prefix_n));
	s->n_prefixes = 0;
}

static void
mask_to(uint8_t *a, uint8_t len)
{
	for (unsigned i = 0; i < 16; i++) {
		if (len >= 8) {
			len -= 8;
			continue;
		}
		a[i] &= (uint8_t)(0xff00 >> len);
		len = 0;
	}
}

static bool
test_depth(const struct fw_sets *reg, const struct fw_set *s,
    const struct fw_set_key *k, unsigned depth)
{
	struct fw_set_elem e;
	const struct fw_set *m;

	if (s == NULL)
		return false;
	switch (s->type) {
	case FW_SET_BITMAP_PORT:
		return k->has_port && k->port >= s->range_lo &&
		    k->port <= s->range_hi &&
		    ((s->bits[k->port / 64] >> (k->port % 64)) & 1);
	case FW_SET_LIST_SET:
		if (reg == NULL || depth >= FW_SET_DEPTH_MAX)
			return false;
		for (uint32_t i = 0; i < s->n; i++) {
			m = fw_sets_get(reg, s->elems[i].id);
			if (test_depth(reg, m, k, depth + 1))
				return true;
		}
		return false;
	default:
		break;
	}
	if (k->family != s->family || s->n == 0)
		return false;
	memset(&e, 0, sizeof(e));
	memcpy(e.addr, k->addr, s->family == FW_IPV6 ? 16 : 4);
	e.prefix = full_len(s->family);
	if (s->type == FW_SET_HASH_IP_PORT) {
		if (!k->has_port)
			return false;
		e.proto = k->proto;
		e.port = k->port;
	}
	if (s->type != FW_SET_HASH_NET)
		return index_find(s, &e) >= 0;
	for (unsigned i = 0; i < s->n_prefixes; i++) {
		e.prefix = s->prefixes[i];
		mask_to(e.addr, e.prefix);
		if (index_find(s, &e) >= 0)
			return true;
	}
	return false;
}

bool
fw_set_test(const struct fw_sets *reg, const struct fw_set *s,
    const struct fw_set_key *k)
{
	return test_depth(reg, s, k, 0);
}

bool
fw_sets_test(const struct fw_sets *reg, uint32_t id,
    const struct fw_set_key *k)
{
	return test_depth(reg, fw_sets_get(reg, id), k, 0);
}

/* Registry. */

struct fw_sets *
fw_sets_new(void)
{
	return calloc(1, sizeof(struct fw_sets));
}

void
fw_sets_free(struct fw_sets *reg)
{
	if (reg == NULL)
		return;
	for (uint32_t i = 0; i < FW_SETS_MAX; i++)
		fw_set_free(reg->slot[i].ver);
	free(reg);
}

uint32_t
fw_sets_find(const struct fw_sets *reg, const char *name)
{
	for (uint32_t i = 0; i < FW_SETS_MAX; i++)
		if (reg->slot[i].used && strcmp(reg->slot[i].name, name) == 0)
			return i;
	return FW_SET_NONE;
}

const char *
fw_sets_name(const struct fw_sets *reg, uint32_t id)
{
	if (id >= FW_SETS_MAX || !reg->slot[id].used)
		return NULL;
	return reg->slot[id].name;
}

const struct fw_set *
fw_sets_get(const struct fw_sets *reg, uint32_t id)
{
	if (id >= FW_SETS_MAX)
		return NULL;
	return __atomic_load_n(&reg->slot[id].ver, __ATOMIC_ACQUIRE);
}

size_t
fw_sets_names(const struct fw_sets *reg, const char **names, size_t max)
{
	size_t n = 0;

	for (uint32_t i = 0; i < FW_SETS_MAX; i++) {
		if (!reg->slot[i].used)
			continue;
		if (n < max)
			names[n] = reg->slot[i].name;
		n++;
	}
	return n;
}

void
fw_sets_ref(struct fw_sets *reg, uint32_t id)
{
	if (id < FW_SETS_MAX)
		reg->slot[id].refs++;
}

void
fw_sets_unref(struct fw_sets *reg, uint32_t id)
{
	if (id < FW_SETS_MAX && reg->slot[id].refs > 0)
		reg->slot[id].refs--;
}

/* Whether list version v reaches slot target through its members. The
 * registry's lists form no cycle, so this ends. */
static bool
reaches(const struct fw_sets *reg, const struct fw_set *v, uint32_t target,
    unsigned depth)
{
	const struct fw_set *m;

	if (v == NULL || v->type != FW_SET_LIST_SET || depth > FW_SETS_MAX)
		return false;
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->elems[i].id == target)
			return true;
		m = reg->slot[v->elems[i].id].ver;
		if (reaches(reg, m, target, depth + 1))
			return true;
	}
	return false;
}

/* List levels from v down: 0 for other types, 1 for a list of them. */
static unsigned
height(const struct fw_sets *reg, const struct fw_set *v, unsigned depth)
{
	unsigned h = 0, mh;

	if (v == NULL || v->type != FW_SET_LIST_SET || depth > FW_SETS_MAX)
		return 0;
	for (uint32_t i = 0; i < v->n; i++) {
		mh = height(reg, reg->slot[v->elems[i].id].ver, depth + 1);
		h = HG_MAX(h, mh);
	}
	return h + 1;
}

/* The most lists that hold slot id, one inside the other. */
static unsigned
depth_above(const struct fw_sets *reg, uint32_t id, unsigned depth)
{
	unsigned d = 0, md;

	if (depth > FW_SETS_MAX)
		return 0;
	for (uint32_t i = 0; i < FW_SETS_MAX; i++) {
		const struct fw_set *v = reg->slot[i].ver;

		if (!reg->slot[i].used || v == NULL ||
		    v->type != FW_SET_LIST_SET || !list_has(v, id, NULL))
			continue;
		md = 1 + depth_above(reg, i, depth + 1);
		d = HG_MAX(d, md);
	}
	return d;
}

int
fw_sets_check_members(const struct fw_sets *reg, uint32_t id,
    const struct fw_set *v)
{
	unsigned h = 0, mh;

	if (v->type != FW_SET_LIST_SET)
		return 0;
	for (uint32_t i = 0; i < v->n; i++) {
		uint32_t m = v->elems[i].id;

		if (m >= FW_SETS_MAX || !reg->slot[m].used)
			return -ENOENT;
		if (m == id || reaches(reg, reg->slot[m].ver, id, 0))
			return -ELOOP;
		mh = height(reg, reg->slot[m].ver, 0);
		h = HG_MAX(h, mh);
	}
	/* Lookups follow FW_SET_DEPTH_MAX lists and no more; a deeper
	 * nesting would quietly not match, so it is refused here. */
	if (depth_above(reg, id, 0) + h + 1 > FW_SET_DEPTH_MAX)
		return -EMLINK;
	return 0;
}

uint32_t
fw_sets_list_users(const struct fw_sets *reg, uint32_t id)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < FW_SETS_MAX; i++) {
		const struct fw_set *v = reg->slot[i].ver;

		if (reg->slot[i].used && v != NULL &&
		    v->type == FW_SET_LIST_SET && list_has(v, id, NULL))
			n++;
	}
	return n;
}

int
fw_sets_create(struct fw_sets *reg, const char *name, struct fw_set *first,
    uint32_t *id)
{
	uint32_t i;
	int error;

	if (name[0] == '\0' || strlen(name) >= FW_SET_NAME_MAX)
		return -ENAMETOOLONG;
	if (fw_sets_find(reg, name) != FW_SET_NONE)
		return -EEXIST;
	for (i = 0; i < FW_SETS_MAX; i++)
		if (!reg->slot[i].used && !reg->slot[i].retiring &&
		    reg->slot[i].refs == 0)
			break;
	if (i == FW_SETS_MAX)
		return -ENOSPC;
	if ((error = fw_sets_check_members(reg, i, first)) != 0)
		return error;
	snprintf(reg->slot[i].name, sizeof(reg->slot[i].name), "%s", name);
	reg->slot[i].used = true;
	__atomic_store_n(&reg->slot[i].ver, first, __ATOMIC_RELEASE);
	if (id != NULL)
		*id = i;
	return 0;
}

int
fw_sets_replace(struct fw_sets *reg, uint32_t id, struct fw_set *v,
    struct fw_set **old)
{
	const struct fw_set *cur;
	int error;

	*old = NULL;
	if (id >= FW_SETS_MAX || !reg->slot[id].used)
		return -ENOENT;
	cur = reg->slot[id].ver;
	if (cur != NULL && (cur->type != v->type || cur->family != v->family))
		return -EINVAL;
	if ((error = fw_sets_check_members(reg, id, v)) != 0)
		return error;
	/* Release: a reader that sees v sees every member written into it. */
	*old = __atomic_exchange_n(&reg->slot[id].ver, v, __ATOMIC_ACQ_REL);
	return 0;
}

int
fw_sets_destroy(struct fw_sets *reg, uint32_t id, struct fw_set **old)
{
	*old = NULL;
	if (id >= FW_SETS_MAX || !reg->slot[id].used)
		return -ENOENT;
	if (reg->slot[id].refs > 0 || fw_sets_list_users(reg, id) > 0)
		return -EBUSY;
	*old = __atomic_exchange_n(&reg->slot[id].ver, NULL, __ATOMIC_ACQ_REL);
	reg->slot[id].used = false;
	reg->slot[id].retiring = reg->tx;
	memset(reg->slot[id].name, 0, sizeof(reg->slot[id].name));
	return 0;
}

int
fw_sets_swap(struct fw_sets *reg, uint32_t a, uint32_t b)
{
	struct fw_set *va, *vb;
	int error;

	if (a >= FW_SETS_MAX || b >= FW_SETS_MAX || !reg->slot[a].used ||
	    !reg->slot[b].used)
		return -ENOENT;
	va = reg->slot[a].ver;
	vb = reg->slot[b].ver;
	if (va->type != vb->type || va->family != vb->family)
		return -EINVAL;
	reg->slot[a].ver = vb;
	reg->slot[b].ver = va;
	if ((error = fw_sets_check_members(reg, a, vb)) != 0 ||
	    (error = fw_sets_check_members(reg, b, va)) != 0) {
		reg->slot[a].ver = va;
		reg->slot[b].ver = vb;
		return error;
	}
	return 0;
}

struct fw_sets *
fw_sets_tx_begin(const struct fw_sets *reg)
{
	struct fw_sets *w;

	if ((w = malloc(sizeof(*w))) == NULL)
		return NULL;
	memcpy(w, reg, sizeof(*w));
	w->tx = true;
	return w;
}

static bool
holds(const struct fw_sets *reg, const struct fw_set *v)
{
	for (uint32_t i = 0; i < FW_SETS_MAX; i++)
		if (reg->slot[i].ver == v)
			return true;
	return false;
}

int
fw_sets_tx_commit(struct fw_sets *reg, const struct fw_sets *w,
    struct fw_set ***retired, size_t *n_retired)
{
	struct fw_set **r, *old;
	size_t n = 0;

	*retired = NULL;
	*n_retired = 0;
	/* Allocated before anything is published, so that publishing
	 * cannot fail half way. */
	if ((r = calloc(FW_SETS_MAX, sizeof(*r))) == NULL)
		return -ENOMEM;
	/* Live sets first, destroyed ones after: a list:set that drops a
	 * member is published before the member goes away. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < FW_SETS_MAX; i++) {
			const struct fw_set_slot *ws = &w->slot[i];
			struct fw_set_slot *rs = &reg->slot[i];

			if (ws->used != (pass == 0) || ws->ver == rs->ver)
				continue;
			if (ws->used)
				memcpy(rs->name, ws->name, sizeof(rs->name));
			old = __atomic_exchange_n(&rs->ver, ws->ver,
			    __ATOMIC_ACQ_REL);
			rs->used = ws->used;
			if (!ws->used)
				memset(rs->name, 0, sizeof(rs->name));
			if (old != NULL && !holds(w, old))
				r[n++] = old;
		}
	}
	if (n == 0) {
		free(r);
		r = NULL;
	}
	*retired = r;
	*n_retired = n;
	return 0;
}

/* Printing. */

static const char *
proto_text(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 132:
		return "sctp";
	case 136:
		return "udplite";
	default:
		snprintf(buf, size, "%u", proto);
		return buf;
	}
}

int
fw_set_elem_format(const struct fw_sets *reg, const struct fw_set *s,
    const struct fw_set_elem *e, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], p[8];
	const char *name;
	int af = s->family == FW_IPV6 ? AF_INET6 : AF_INET;

	switch (s->type) {
	case FW_SET_BITMAP_PORT:
		return snprintf(buf, size, "%u", e->port);
	case FW_SET_LIST_SET:
		name = reg != NULL ? fw_sets_name(reg, e->id) : NULL;
		return snprintf(buf, size, "%s", name != NULL ? name : "?");
	default:
		break;
	}
	inet_ntop(af, e->addr, a, sizeof(a));
	if (s->type == FW_SET_HASH_IP_PORT)
		return snprintf(buf, size, "%s,%s:%u", a,
		    proto_text(e->proto, p, sizeof(p)), e->port);
	if (s->type == FW_SET_HASH_NET && e->prefix != full_len(s->family))
		return snprintf(buf, size, "%s/%u", a, e->prefix);
	return snprintf(buf, size, "%s", a);
}

static void
save_create(struct fw_sbuf *sb, const char *name, const struct fw_set *s)
{
	fw_sbuf_printf(sb, "create %s %s", name, fw_set_type_name(s->type));
	switch (s->type) {
	case FW_SET_BITMAP_PORT:
		fw_sbuf_printf(sb, " range %u-%u\n", s->range_lo, s->range_hi);
		break;
	case FW_SET_LIST_SET:
		fw_sbuf_printf(sb, " size %u\n", s->maxelem);
		break;
	default:
		fw_sbuf_printf(sb, " family %s maxelem %u\n",
		    s->family == FW_IPV6 ? "inet6" : "inet", s->maxelem);
		break;
	}
}

static void
save_adds(struct fw_sbuf *sb, const struct fw_sets *reg, const char *name,
    const struct fw_set *s)
{
	struct fw_set_elem e;
	char buf[128];

	if (s->type != FW_SET_BITMAP_PORT) {
		for (uint32_t i = 0; i < s->n; i++) {
			(void)fw_set_elem_format(reg, s, &s->elems[i], buf,
			    sizeof(buf));
			fw_sbuf_printf(sb, "add %s %s\n", name, buf);
		}
		return;
	}
	memset(&e, 0, sizeof(e));
	for (uint32_t p = s->range_lo; p <= s->range_hi; p++) {
		e.port = (uint16_t)p;
		if (fw_set_has(s, &e))
			fw_sbuf_printf(sb, "add %s %u\n", name, p);
	}
}

char *
fw_sets_save(const struct fw_sets *reg)
{
	struct fw_sbuf sb = { 0 };

	fw_sbuf_printf(&sb, "%s", "");
	for (uint32_t i = 0; i < FW_SETS_MAX; i++)
		if (reg->slot[i].used && reg->slot[i].ver != NULL)
			save_create(&sb, reg->slot[i].name, reg->slot[i].ver);
	for (uint32_t i = 0; i < FW_SETS_MAX; i++)
		if (reg->slot[i].used && reg->slot[i].ver != NULL)
			save_adds(&sb, reg, reg->slot[i].name, reg->slot[i].ver);
	if (sb.nomem) {
		free(sb.s);
		return NULL;
	}
	if (sb.s == NULL)
		sb.s = calloc(1, 1);
	return sb.s;
}
