/*
 * src/ip/fib6.c: the IPv6 longest-prefix-match table, a multibit trie.
 * fib4.c is its IPv4 sibling (DIR-24-8); the API and the threading rules
 * are in fib.h.
 *
 * The root is indexed by the first 16 bits of the address (65536
 * entries); below it each level is a 256-entry group indexed by the next
 * byte, so a /128 sits 14 groups down.  As in fib4.c, a prefix is
 * expanded into every entry it covers in the group where its last bit
 * falls, an entry either holds a leaf (valid, next hop) or points at the
 * group below, and a rule store (fib_rules.c: prefix/length -> next hop)
 * tells a delete which covering prefix shows through again.
 *
 * Why this shape: a lookup is at most 15 dependent reads and usually
 * 3-5 (most of the Internet table is /48 or shorter, and /48 ends in the
 * fourth group), with no compare on the way, and an update touches only
 * the entries its prefix covers.  Memory is the price: each group is
 * 1.25 KiB, and a sparse set of long prefixes costs up to one group per
 * level each.  bench_fib's 92k prefixes (mostly /48 scattered under 5000
 * /32s, the worst sharing a real table would show) take 123 MiB and
 * ~230 ns per cold lookup, each level a cache miss; clustered tables of
 * tens of thousands of prefixes need far less.  A path-compressed or
 * tree-bitmap trie would be smaller but no faster to read and harder
 * to update safely under readers.  ip_fib6_lookup_bulk() walks a batch
 * level by level, prefetching every address's next entry before reading
 * any, so the misses of a level overlap across the batch.
 *
 * Entries are 32 bits, the same layout the lookup reads in fib4.c minus
 * the depth: 129 depths do not fit beside a 24-bit next hop, so each
 * group keeps its depths in a byte array beside it that only the control
 * thread reads.  Group memory is reserved up front (address space only,
 * committed as groups are first touched) so it never moves under a
 * reader and lookups need no chunk table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/bytes.h"
#include "fib.h"
#include "fib_priv.h"

#define FIB6_VALID		(1u << 31)
#define FIB6_EXT		(1u << 30)
#define FIB6_IDX_MASK		0xffffffu	/* next hop or group index */

#define FIB6_ROOT_BITS		16
#define FIB6_ROOT_ENTRIES	(1u << FIB6_ROOT_BITS)
#define FIB6_GROUP_ENTRIES	256u
#define FIB6_GROUP_BYTES	(FIB6_GROUP_ENTRIES * sizeof(uint32_t))
#define FIB6_LEVELS		15	/* root + 14 byte-wide levels */
/* Address space reserved for groups; tried smaller if refused. */
#define FIB6_MAX_GROUPS		(1u << 20)
#define FIB6_MIN_GROUPS		(1u << 12)

#define FIB6_RULE_MIN_SLOTS	256u

/* Bits of the address consumed once level lvl has been indexed. */
static inline uint8_t
fib6_level_end(int lvl)
{
	return FIB6_ROOT_BITS + 8 * lvl;
}

struct ip_fib6 {
	/* Read by every lookup. */
	uint32_t		*root;
	uint32_t		*groups;	/* max_groups * 256 entries */

	/* Control thread only. */
	uint8_t			*root_depth;
	uint8_t			*group_depth;
	uint32_t		 max_groups;
	uint32_t		 used_groups;	/* high-water mark */
	uint32_t		*free_groups;	/* stack */
	uint32_t		 nfree;
	uint32_t		*parked_groups;
	uint32_t		 nparked;
	uint32_t		 list_cap;	/* of both lists above */
	struct ip_fib_rules	 rules;		/* 16-byte keys */
};

/* A position in the trie: one entry and its depth byte. */
struct fib6_slot {
	uint32_t		*e;
	uint8_t			*depth;
};

static inline uint32_t
fib6_leaf(uint32_t nh)
{
	return FIB6_VALID | nh;
}

/* ---- prefixes as two 64-bit halves ---- */

static inline uint64_t
mask64(int len)
{
	if (len <= 0)
		return 0;
	if (len >= 64)
		return ~0ull;
	return ~0ull << (64 - len);
}

static inline void
prefix_mask(uint64_t *hi, uint64_t *lo, uint8_t len)
{
	*hi &= mask64(len);
	*lo &= mask64(len - 64);
}

/* The masked prefix as the rule store keys it: address bytes. */
static inline void
prefix_key(uint64_t hi, uint64_t lo, uint8_t key[16])
{
	hi = htobe64(hi);
	lo = htobe64(lo);
	memcpy(key, &hi, 8);
	memcpy(key + 8, &lo, 8);
}

/* Byte i (0 = most significant) of the address. */
static inline uint8_t
prefix_byte(uint64_t hi, uint64_t lo, int i)
{
	return i < 8 ? (uint8_t)(hi >> (56 - 8 * i)) :
	    (uint8_t)(lo >> (120 - 8 * i));
}

/* ---- groups ---- */

static inline struct fib6_slot
fib6_group_slot(struct ip_fib6 *fib, uint32_t group, uint32_t i)
{
	size_t at = (size_t)group * FIB6_GROUP_ENTRIES + i;

	return (struct fib6_slot){ &fib->groups[at], &fib->group_depth[at] };
}

/* The group an extended entry points at. */
static inline struct fib6_slot
fib6_child(const struct ip_fib6 *fib, uint32_t e)
{
	size_t at = (size_t)(e & FIB6_IDX_MASK) * FIB6_GROUP_ENTRIES;

	return (struct fib6_slot){ &fib->groups[at], &fib->group_depth[at] };
}

static int
fib6_lists_grow(struct ip_fib6 *fib)
{
	uint32_t cap = fib->list_cap ? fib->list_cap * 2 : 256, *f, *p;

	f = realloc(fib->free_groups, cap * sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	fib->free_groups = f;
	p = realloc(fib->parked_groups, cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	fib->parked_groups = p;
	fib->list_cap = cap;
	return 0;
}

static uint32_t
fib6_groups_available(const struct ip_fib6 *fib)
{
	return fib->nfree + (fib->max_groups - fib->used_groups);
}

/* Caller checked fib6_groups_available(). */
static uint32_t
fib6_group_take(struct ip_fib6 *fib)
{
	if (fib->nfree > 0)
		return fib->free_groups[--fib->nfree];
	return fib->used_groups++;
}

/*
 * Pushes the leaf at s down into a new group and makes s point at it.
 * The group is written whole before the release store publishes it.
 */
static uint32_t
fib6_push_down(struct ip_fib6 *fib, struct fib6_slot s)
{
	uint32_t group = fib6_group_take(fib), i;
	struct fib6_slot g = fib6_group_slot(fib, group, 0);

	for (i = 0; i < FIB6_GROUP_ENTRIES; i++) {
		ip_fib_store(&g.e[i], *s.e);
		g.depth[i] = *s.depth;
	}
	__atomic_store_n(s.e, FIB6_VALID | FIB6_EXT | group, __ATOMIC_RELEASE);
	return group;
}

/* ---- create / destroy ---- */

int
ip_fib6_create(struct ip_fib6 **out)
{
	struct ip_fib6 *fib;
	uint32_t max;

	fib = calloc(1, sizeof(*fib));
	if (fib == NULL)
		return -ENOMEM;
	fib->root = calloc(FIB6_ROOT_ENTRIES, sizeof(uint32_t));
	fib->root_depth = calloc(FIB6_ROOT_ENTRIES, 1);
	for (max = FIB6_MAX_GROUPS; max >= FIB6_MIN_GROUPS; max /= 2) {
		fib->groups = ip_fib_map(max * FIB6_GROUP_BYTES);
		fib->group_depth = ip_fib_map((size_t)max * FIB6_GROUP_ENTRIES);
		if (fib->groups != NULL && fib->group_depth != NULL)
			break;
		if (fib->groups != NULL)
			munmap(fib->groups, max * FIB6_GROUP_BYTES);
		if (fib->group_depth != NULL)
			munmap(fib->group_depth,
			    (size_t)max * FIB6_GROUP_ENTRIES);
		fib->groups = NULL;
		fib->group_depth = NULL;
	}
	fib->max_groups = fib->groups != NULL ? max : 0;
	if (fib->root == NULL || fib->root_depth == NULL ||
	    ip_fib_rules_init(&fib->rules, 16, FIB6_RULE_MIN_SLOTS) != 0 ||
	    fib->groups == NULL ||
	    fib6_lists_grow(fib) != 0) {
		ip_fib6_destroy(fib);
		return -ENOMEM;
	}
	*out = fib;
	return 0;
}

void
ip_fib6_destroy(struct ip_fib6 *fib)
{
	if (fib == NULL)
		return;
	if (fib->groups != NULL)
		munmap(fib->groups, fib->max_groups * FIB6_GROUP_BYTES);
	if (fib->group_depth != NULL)
		munmap(fib->group_depth,
		    (size_t)fib->max_groups * FIB6_GROUP_ENTRIES);
	free(fib->root);
	free(fib->root_depth);
	free(fib->free_groups);
	free(fib->parked_groups);
	ip_fib_rules_fini(&fib->rules);
	free(fib);
}

/* ---- walking to a prefix ---- */

/*
 * The level whose entries a prefix of length len is expanded into, and
 * the first entry and entry count it covers there.
 */
static int
fib6_level_of(uint8_t len)
{
	return len <= FIB6_ROOT_BITS ? 0 : (len - FIB6_ROOT_BITS + 7) / 8;
}

static void
fib6_range(uint64_t hi, uint64_t lo, uint8_t len, uint32_t *first, uint32_t *n)
{
	int lvl = fib6_level_of(len);

	if (lvl == 0)
		*first = (uint32_t)(hi >> 48);
	else
		*first = prefix_byte(hi, lo, lvl + 1);
	*n = 1u << (fib6_level_end(lvl) - len);
}

/* Groups an add of a prefix at level lvl would have to create. */
static uint32_t
fib6_groups_needed(const struct ip_fib6 *fib, uint64_t hi, uint64_t lo, int lvl)
{
	uint32_t e = fib->root[hi >> 48];
	int l;

	for (l = 1; l <= lvl; l++) {
		if (!(e & FIB6_EXT))
			return (uint32_t)(lvl - l + 1);
		e = fib6_child(fib, e).e[prefix_byte(hi, lo, l + 1)];
	}
	return 0;
}

/*
 * The slot that leads from level lvl - 1 into level lvl on the way to
 * hi/lo, for lvl >= 1, and all slots above it in path[0..lvl-1].
 */
static void
fib6_path(struct ip_fib6 *fib, uint64_t hi, uint64_t lo, int lvl,
    struct fib6_slot *path)
{
	uint32_t i = (uint32_t)(hi >> 48);
	int l;

	path[0] = (struct fib6_slot){ &fib->root[i], &fib->root_depth[i] };
	for (l = 1; l < lvl; l++)
		path[l] = fib6_group_slot(fib, *path[l - 1].e & FIB6_IDX_MASK,
		    prefix_byte(hi, lo, l + 1));
}

/* ---- add ---- */

/*
 * Writes leaf/depth over entries [first, first + n) of a level and the
 * groups below them, where no longer prefix owns the entry.
 */
static void
fib6_fill(struct ip_fib6 *fib, struct fib6_slot s, uint32_t n, uint32_t leaf,
    uint8_t depth)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (s.e[i] & FIB6_EXT)
			fib6_fill(fib, fib6_child(fib, s.e[i]),
			    FIB6_GROUP_ENTRIES, leaf, depth);
		else if (!(s.e[i] & FIB6_VALID) || s.depth[i] <= depth) {
			ip_fib_store(&s.e[i], leaf);
			s.depth[i] = depth;
		}
	}
}

int
ip_fib6_add(struct ip_fib6 *fib, const uint8_t prefix[16], uint8_t len,
    uint32_t nh)
{
	struct fib6_slot path[FIB6_LEVELS], s;
	uint8_t key[16];
	uint64_t hi, lo;
	uint32_t first, n, need;
	int lvl, l, rc;

	if (len > 128 || nh >= IP_FIB_NH_MAX)
		return -EINVAL;
	hi = hg_rd64be(prefix);
	lo = hg_rd64be(prefix + 8);
	prefix_mask(&hi, &lo, len);
	lvl = fib6_level_of(len);

	/* Everything that can fail, before the first store. */
	need = fib6_groups_needed(fib, hi, lo, lvl);
	if (need > fib6_groups_available(fib))
		return -ENOSPC;
	while (fib->list_cap < fib->used_groups + need)
		if ((rc = fib6_lists_grow(fib)) != 0)
			return rc;
	if ((rc = ip_fib_rules_reserve(&fib->rules)) != 0)
		return rc;

	/* Walk down, pushing leaves into new groups where the path ends. */
	s = (struct fib6_slot){ fib->root, fib->root_depth };
	if (lvl > 0) {
		path[0] = (struct fib6_slot){ &fib->root[hi >> 48],
		    &fib->root_depth[hi >> 48] };
		for (l = 1; l <= lvl; l++) {
			if (!(*path[l - 1].e & FIB6_EXT))
				fib6_push_down(fib, path[l - 1]);
			s = fib6_child(fib, *path[l - 1].e);
			if (l < lvl)
				path[l] = (struct fib6_slot){
				    s.e + prefix_byte(hi, lo, l + 1),
				    s.depth + prefix_byte(hi, lo, l + 1) };
		}
	}
	fib6_range(hi, lo, len, &first, &n);
	s.e += first;
	s.depth += first;
	fib6_fill(fib, s, n, fib6_leaf(nh), len);
	prefix_key(hi, lo, key);
	ip_fib_rules_put(&fib->rules, key, len, nh);
	return 0;
}

/* ---- delete ---- */

static void
fib6_restore(struct ip_fib6 *fib, struct fib6_slot s, uint32_t n, uint8_t depth,
    uint32_t cover, uint8_t cover_depth)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (s.e[i] & FIB6_EXT)
			fib6_restore(fib, fib6_child(fib, s.e[i]),
			    FIB6_GROUP_ENTRIES, depth, cover, cover_depth);
		else if ((s.e[i] & FIB6_VALID) && s.depth[i] == depth) {
			ip_fib_store(&s.e[i], cover);
			s.depth[i] = cover_depth;
		}
	}
}

/*
 * A group at level lvl whose entries are all leaves no longer than the
 * bits above it holds one leaf 256 times: fold it into the parent and
 * park it.  A reader that already followed the parent still reads a
 * valid group, which is why it waits for ip_fib6_reclaim().
 */
static bool
fib6_try_collapse(struct ip_fib6 *fib, struct fib6_slot parent, int lvl)
{
	uint32_t group = *parent.e & FIB6_IDX_MASK, i;
	struct fib6_slot g = fib6_group_slot(fib, group, 0);

	for (i = 0; i < FIB6_GROUP_ENTRIES; i++)
		if ((g.e[i] & FIB6_EXT) || ((g.e[i] & FIB6_VALID) &&
		    g.depth[i] > fib6_level_end(lvl - 1)))
			return false;
	*parent.depth = g.depth[0];
	__atomic_store_n(parent.e, g.e[0], __ATOMIC_RELEASE);
	fib->parked_groups[fib->nparked++] = group;
	return true;
}

int
ip_fib6_del(struct ip_fib6 *fib, const uint8_t prefix[16], uint8_t len)
{
	struct fib6_slot path[FIB6_LEVELS], s;
	uint8_t key[16];
	uint64_t hi, lo;
	uint32_t first, n, cover;
	uint8_t cover_depth;
	int lvl, l;

	if (len > 128)
		return -EINVAL;
	hi = hg_rd64be(prefix);
	lo = hg_rd64be(prefix + 8);
	prefix_mask(&hi, &lo, len);
	prefix_key(hi, lo, key);
	if (ip_fib_rules_del(&fib->rules, key, len) != 0)
		return -ENOENT;
	/* What shows through: the longest rule left that covers it. */
	cover = 0;
	cover_depth = 0;
	if (ip_fib_rules_cover(&fib->rules, key, len, &cover, &cover_depth))
		cover = fib6_leaf(cover);

	/* The prefix's own leaves keep its path extended down to lvl. */
	lvl = fib6_level_of(len);
	s = (struct fib6_slot){ fib->root, fib->root_depth };
	if (lvl > 0) {
		fib6_path(fib, hi, lo, lvl, path);
		s = fib6_child(fib, *path[lvl - 1].e);
	}
	fib6_range(hi, lo, len, &first, &n);
	s.e += first;
	s.depth += first;
	fib6_restore(fib, s, n, len, cover, cover_depth);

	/* Only the groups on the path can have lost their last long prefix. */
	for (l = lvl; l >= 1; l--)
		if (!fib6_try_collapse(fib, path[l - 1], l))
			break;
	return 0;
}

void
ip_fib6_reclaim(struct ip_fib6 *fib)
{
	while (fib->nparked > 0)
		fib->free_groups[fib->nfree++] =
		    fib->parked_groups[--fib->nparked];
}

uint32_t
ip_fib6_count(const struct ip_fib6 *fib)
{
	return fib->rules.count;
}

/* Memory in use: the root, every group ever touched, the rule store. */
size_t
ip_fib6_mem_bytes(const struct ip_fib6 *fib)
{
	return sizeof(*fib) +
	    (size_t)FIB6_ROOT_ENTRIES * (sizeof(uint32_t) + 1) +
	    fib->used_groups * (FIB6_GROUP_BYTES + FIB6_GROUP_ENTRIES) +
	    (size_t)fib->list_cap * 2 * sizeof(uint32_t) +
	    ip_fib_rules_mem_bytes(&fib->rules);
}

/* ---- lookup ---- */

uint32_t
ip_fib6_lookup(const struct ip_fib6 *fib, const uint8_t addr[16])
{
	uint32_t e;
	int i;

	/* Acquire pairs with the release store that published each group. */
	e = __atomic_load_n(&fib->root[hg_rd16be(addr)],
	    __ATOMIC_ACQUIRE);
	for (i = 2; (e & FIB6_EXT) && i < 16; i++)
		e = __atomic_load_n(&fib->groups[(size_t)(e & FIB6_IDX_MASK) *
		    FIB6_GROUP_ENTRIES + addr[i]], __ATOMIC_ACQUIRE);
	return (e & FIB6_VALID) ? (e & FIB6_IDX_MASK) : IP_FIB_MISS;
}

/*
 * Level by level over the batch: prefetch each address's next entry,
 * then read them all and keep the ones that point further down.  Each
 * round costs about one memory latency for the whole batch instead of
 * one per address.
 */
void
ip_fib6_lookup_bulk(const struct ip_fib6 *fib, const uint8_t *const *addrs,
    uint32_t *nh, uint32_t n)
{
	const uint32_t *slot[256];
	uint16_t live[256];
	uint32_t e, n_live = 0, m, k;
	int lvl;

	n = n > 256 ? 256 : n;
	for (k = 0; k < n; k++) {
		slot[k] = &fib->root[hg_rd16be(addrs[k])];
		hg_prefetch(slot[k]);
		live[n_live++] = (uint16_t)k;
	}
	for (lvl = 2; n_live > 0; lvl++) {
		for (m = 0, k = 0; k < n_live; k++) {
			uint16_t j = live[k];

			/* Acquire pairs with the release that published a group. */
			e = __atomic_load_n(slot[j], __ATOMIC_ACQUIRE);
			if ((e & FIB6_EXT) && lvl < 16) {
				slot[j] = &fib->groups[(size_t)(e & FIB6_IDX_MASK) *
				    FIB6_GROUP_ENTRIES + addrs[j][lvl]];
				hg_prefetch(slot[j]);
				live[m++] = j;
			} else {
				nh[j] = (e & FIB6_VALID) ? (e & FIB6_IDX_MASK) :
				    IP_FIB_MISS;
			}
		}
		n_live = m;
	}
}
