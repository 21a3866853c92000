/*
 * src/fw/classify.c: the packet classifier fw_eval() asks which rule of
 * a chain to try next, so a packet no longer walks every rule ahead of
 * its match.
 *
 * The structure is tuple space search, coarsened as TupleMerge does:
 * every rule gets a key of the fields that can be judged without side
 * effects (source and destination prefix, protocol, port ranges), and
 * rules whose prefix lengths fall in the same classes (IPv4: 0, 8, 16,
 * 24, 32 bits; a /27 counts as /24) and that either both name one
 * protocol and destination port or not share a table.  A table is a hash
 * of the key masked to its classes; each hash entry lists its rules in
 * chain order with their full keys.  A lookup probes each table of the
 * chain once, skipping tables whose first rule is already behind the best
 * candidate, and checks the few rules of the entry it finds.
 *
 * The answer is a candidate: the first rule at or after a position whose
 * key matches.  The evaluator still runs the whole rule on it (modules,
 * interfaces, sets, -m limit), and asks again from the next position when
 * it does not match, so the first-match result and every side effect are
 * those of the linear walk.  What a key leaves out is only ever a
 * wildcard, never a guess: a negated, listed or set address is "any", and
 * ports are taken only from a tcp/udp module loaded before any -m limit
 * (the limit's token must be taken exactly when the linear walk takes it).
 *
 * Build is one pass over the rules (two hash passes per table), so it
 * costs about as much as compiling them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../pkt/pkt.h"
#include "classify.h"
#include "fw_priv.h"

#define FWC_LINEAR_MAX	8	/* chains this short are walked */
#define FWC_CLASSES	5	/* prefix-length classes per address */
#define FWC_TUPLES	(FWC_CLASSES * FWC_CLASSES * 2)

/* One rule's key; addresses as two host-order words, IPv4 in the top 32
 * bits of the first. */
struct fwc_rule {
	uint64_t s[2], sm[2];
	uint64_t d[2], dm[2];
	uint32_t pos;			/* index in prog->rules */
	uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
	uint8_t proto;
	bool has_proto;
};

struct fwc_entry {
	uint64_t s[2], d[2];		/* masked to the table's classes */
	uint32_t pd;			/* proto << 16 | dport, or 0 */
	uint32_t first, n;		/* its rules in table->rules */
};

struct fwc_slot {
	uint32_t tag;			/* high half of the hash */
	uint32_t entry;			/* entry index + 1; 0: empty */
};

struct fwc_table {
	uint64_t sm[2], dm[2];		/* class masks */
	bool pd;			/* keyed on protocol and dport */
	uint32_t min_pos, max_pos;
	uint32_t slot_mask;
	struct fwc_slot *slots;
	struct fwc_entry *entries;
	uint32_t n_entries;
	struct fwc_rule *rules;
	uint32_t n_rules;
};

struct fwc_chain {
	uint32_t n_tables;		/* 0: walk it */
	struct fwc_table *tables;	/* by min_pos */
};

struct fwc {
	uint8_t family;
	uint32_t n_chains;
	struct fwc_chain *chains;
	size_t bytes;
};

/* --- keys ---------------------------------------------------------------- */

static inline uint64_t
rd64be(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return be64toh(v);
}

static inline uint32_t
rd32be(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return be32toh(v);
}

/* Address bytes as the two words keys use. */
static void
addr_words(uint8_t family, const uint8_t a[16], uint64_t w[2])
{
	if (family == FW_IPV6) {
		w[0] = rd64be(a);
		w[1] = rd64be(a + 8);
	} else {
		w[0] = (uint64_t)rd32be(a) << 32;
		w[1] = 0;
	}
}

static void
len_mask(unsigned len, uint64_t m[2])
{
	m[0] = len == 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
	m[1] = len <= 64 ? 0 : len >= 128 ? ~0ull : ~0ull << (128 - len);
}

/* Leading one bits of a mask: a non-contiguous mask (/255.0.255.0) keys
 * on its leading part, which every address it matches shares. */
static unsigned
mask_len(const uint8_t m[16], unsigned alen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < alen; i++) {
		if (m[i] == 0xff) {
			n += 8;
			continue;
		}
		for (uint8_t b = 0x80; b != 0 && (m[i] & b); b >>= 1)
			n++;
		break;
	}
	return n;
}

static unsigned
len_class(uint8_t family, unsigned len)
{
	if (family == FW_IPV6)
		return len >= 128 ? 4 : len >= 64 ? 3 : len >= 48 ? 2 :
		    len >= 32 ? 1 : 0;
	return len / 8;
}

static unsigned
class_len(uint8_t family, unsigned cls)
{
	static const unsigned v6[FWC_CLASSES] = { 0, 32, 48, 64, 128 };

	return family == FW_IPV6 ? v6[cls] : cls * 8;
}

static void
key_addr(const struct fw_prog *prog, const struct fw_crule *r, bool dst,
    uint64_t v[2], uint64_t m[2], unsigned *len)
{
	uint16_t ck = dst ? FW_CK_DST : FW_CK_SRC;
	unsigned alen = prog->family == FW_IPV6 ? 16 : 4;
	const struct fw_addr *a;

	*len = 0;
	v[0] = v[1] = m[0] = m[1] = 0;
	if (!(r->chk & ck) || (r->neg & ck) || (dst ? r->dst_n : r->src_n) != 1)
		return;
	a = &prog->addrs[dst ? r->dst : r->src];
	*len = mask_len(a->mask, alen);
	len_mask(*len, m);
	addr_words(prog->family, a->addr, v);
	v[0] &= m[0];
	v[1] &= m[1];
}

/* Protocol and ports the rule demands before any -m limit. */
static void
key_l4(const struct fw_prog *prog, const struct fw_crule *r,
    struct fwc_rule *k)
{
	const struct fw_cext *e;

	k->sp_lo = k->dp_lo = 0;
	k->sp_hi = k->dp_hi = UINT16_MAX;
	if ((r->chk & FW_CK_PROTO) && !(r->neg & FW_CK_PROTO)) {
		k->has_proto = true;
		k->proto = r->proto;
	}
	if (!(r->chk & FW_CK_EXT))
		return;
	e = &prog->ext[r->ext];
	for (uint8_t i = 0; i < e->n_mods; i++) {
		const struct fw_match_ports *p = &e->ports;
		uint8_t proto;

		if (e->mods[i] == FW_M_LIMIT)
			return;
		if (e->mods[i] != FW_M_TCP && e->mods[i] != FW_M_UDP)
			continue;
		proto = e->mods[i] == FW_M_TCP ? IPPROTO_TCP_ : IPPROTO_UDP_;
		/* -p udp -m tcp matches nothing; any key will do. */
		if (!k->has_proto) {
			k->has_proto = true;
			k->proto = proto;
		}
		if (p->has_sport && !p->sport_neg) {
			k->sp_lo = p->sport.lo;
			k->sp_hi = p->sport.hi;
		}
		if (p->has_dport && !p->dport_neg) {
			k->dp_lo = p->dport.lo;
			k->dp_hi = p->dport.hi;
		}
	}
}

static void
rule_key(const struct fw_prog *prog, uint32_t pos, struct fwc_rule *k,
    unsigned *sl, unsigned *dl)
{
	const struct fw_crule *r = &prog->rules[pos];

	memset(k, 0, sizeof(*k));
	k->pos = pos;
	key_addr(prog, r, false, k->s, k->sm, sl);
	key_addr(prog, r, true, k->d, k->dm, dl);
	key_l4(prog, r, k);
}

static inline bool
rule_key_match(const struct fwc_rule *k, const struct fwc_key *p)
{
	return ((p->s[0] & k->sm[0]) == k->s[0]) &
	    ((p->s[1] & k->sm[1]) == k->s[1]) &
	    ((p->d[0] & k->dm[0]) == k->d[0]) &
	    ((p->d[1] & k->dm[1]) == k->d[1]) &
	    (!k->has_proto | (p->proto == k->proto)) &
	    (p->sport >= k->sp_lo) & (p->sport <= k->sp_hi) &
	    (p->dport >= k->dp_lo) & (p->dport <= k->dp_hi);
}

void
fwc_key_load(struct fwc_key *k, uint8_t family, const uint8_t src[16],
    const uint8_t dst[16], uint8_t proto, uint16_t sport, uint16_t dport)
{
	addr_words(family, src, k->s);
	addr_words(family, dst, k->d);
	k->proto = proto;
	k->sport = sport;
	k->dport = dport;
}

/* --- tables -------------------------------------------------------------- */

static inline uint64_t
hash_key(const uint64_t s[2], const uint64_t d[2], uint32_t pd)
{
	uint64_t h;

	h = s[0] * 0x9e3779b97f4a7c15ull ^ s[1] * 0xc2b2ae3d27d4eb4full ^
	    d[0] * 0x165667b19e3779f9ull ^ d[1] * 0x27d4eb2f165667c5ull ^
	    (uint64_t)pd * 0xff51afd7ed558ccdull;
	h ^= h >> 31;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h;
}

static inline const struct fwc_entry *
table_find(const struct fwc_table *t, const uint64_t s[2], const uint64_t d[2],
    uint32_t pd, uint64_t h)
{
	uint32_t i = (uint32_t)h & t->slot_mask, tag = (uint32_t)(h >> 32);

	for (;;) {
		const struct fwc_slot *sl = &t->slots[i];
		const struct fwc_entry *e;

		if (sl->entry == 0)
			return NULL;
		e = &t->entries[sl->entry - 1];
		if (sl->tag == tag && e->pd == pd && e->s[0] == s[0] &&
		    e->s[1] == s[1] && e->d[0] == d[0] && e->d[1] == d[1])
			return e;
		i = (i + 1) & t->slot_mask;
	}
}

static inline uint32_t
table_pd(const struct fwc_table *t, const struct fwc_key *k)
{
	return t->pd ? (uint32_t)k->proto << 16 | k->dport : 0;
}

static inline uint64_t
table_hash(const struct fwc_table *t, const struct fwc_key *k, uint64_t s[2],
    uint64_t d[2])
{
	s[0] = k->s[0] & t->sm[0];
	s[1] = k->s[1] & t->sm[1];
	d[0] = k->d[0] & t->dm[0];
	d[1] = k->d[1] & t->dm[1];
	return hash_key(s, d, table_pd(t, k));
}

/* Where a rule's key would sit in t. */
static uint64_t
rule_hash(const struct fwc_table *t, const struct fwc_rule *r, uint64_t s[2],
    uint64_t d[2], uint32_t *pd)
{
	s[0] = r->s[0] & t->sm[0];
	s[1] = r->s[1] & t->sm[1];
	d[0] = r->d[0] & t->dm[0];
	d[1] = r->d[1] & t->dm[1];
	*pd = t->pd ? (uint32_t)r->proto << 16 | r->dp_lo : 0;
	return hash_key(s, d, *pd);
}

/* Builds t from its rules (in chain order): entries found or made by a
 * first pass, counted, then the rules placed behind their entry. */
static int
table_build(struct fwc *c, struct fwc_table *t, const struct fwc_rule *rules,
    uint32_t n)
{
	uint32_t slots = 16, *at;

	while (slots < 2 * n)
		slots <<= 1;
	t->slot_mask = slots - 1;
	t->slots = calloc(slots, sizeof(*t->slots));
	t->entries = malloc(n * sizeof(*t->entries));
	t->rules = malloc(n * sizeof(*t->rules));
	at = malloc(n * sizeof(*at));
	if (t->slots == NULL || t->entries == NULL || t->rules == NULL ||
	    at == NULL) {
		free(at);
		return -ENOMEM;
	}
	t->n_rules = n;
	t->min_pos = rules[0].pos;
	t->max_pos = rules[n - 1].pos;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t s[2], d[2], h;
		uint32_t pd, j, tag;

		h = rule_hash(t, &rules[i], s, d, &pd);
		tag = (uint32_t)(h >> 32);
		for (j = (uint32_t)h & t->slot_mask;; j = (j + 1) & t->slot_mask) {
			struct fwc_slot *sl = &t->slots[j];
			struct fwc_entry *e;

			if (sl->entry == 0) {
				e = &t->entries[t->n_entries++];
				memset(e, 0, sizeof(*e));
				memcpy(e->s, s, sizeof(e->s));
				memcpy(e->d, d, sizeof(e->d));
				e->pd = pd;
				sl->tag = tag;
				sl->entry = t->n_entries;
				break;
			}
			e = &t->entries[sl->entry - 1];
			if (sl->tag == tag && e->pd == pd &&
			    memcmp(e->s, s, sizeof(s)) == 0 &&
			    memcmp(e->d, d, sizeof(d)) == 0)
				break;
		}
		at[i] = t->slots[j].entry - 1;
		t->entries[at[i]].n++;
	}
	for (uint32_t e = 0, sum = 0; e < t->n_entries; e++) {
		t->entries[e].first = sum;
		sum += t->entries[e].n;
		t->entries[e].n = 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct fwc_entry *e = &t->entries[at[i]];

		t->rules[e->first + e->n++] = rules[i];
	}
	free(at);
	c->bytes += slots * sizeof(*t->slots) +
	    t->n_entries * sizeof(*t->entries) + n * sizeof(*t->rules);
	return 0;
}

static int
table_cmp(const void *a, const void *b)
{
	const struct fwc_table *x = a, *y = b;

	return x->min_pos < y->min_pos ? -1 : x->min_pos > y->min_pos;
}

static unsigned
rule_tuple(uint8_t family, const struct fwc_rule *k, unsigned sl, unsigned dl)
{
	bool pd = k->has_proto && k->dp_lo == k->dp_hi;

	return (len_class(family, sl) * FWC_CLASSES + len_class(family, dl)) *
	    2 + pd;
}

static int
chain_build(struct fwc *c, const struct fw_prog *prog, uint32_t id)
{
	const struct fw_cchain *ch = &prog->chains[id];
	struct fwc_chain *fc = &c->chains[id];
	struct fwc_rule *keys;
	uint8_t *tuple;
	uint32_t count[FWC_TUPLES] = { 0 }, first[FWC_TUPLES], n = 0;
	uint32_t *order;
	int error = 0;

	if (ch->n <= FWC_LINEAR_MAX)
		return 0;
	keys = malloc(ch->n * sizeof(*keys));
	order = malloc(ch->n * sizeof(*order));
	tuple = malloc(ch->n);
	if (keys == NULL || order == NULL || tuple == NULL) {
		error = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < ch->n; i++) {
		uint32_t pos = ch->first + i;
		unsigned sl, dl;

		/* Another family's rule: never a candidate. */
		if (prog->rules[pos].chk & FW_CK_NEVER)
			continue;
		rule_key(prog, pos, &keys[n], &sl, &dl);
		tuple[n] = (uint8_t)rule_tuple(prog->family, &keys[n], sl, dl);
		count[tuple[n]]++;
		n++;
	}
	for (unsigned u = 0, sum = 0; u < FWC_TUPLES; u++) {
		first[u] = sum;
		sum += count[u];
		fc->n_tables += count[u] != 0;
	}
	/* Stable by tuple, so each table's rules stay in chain order. */
	for (uint32_t i = 0; i < n; i++)
		order[first[tuple[i]]++] = i;
	fc->tables = calloc(fc->n_tables ? fc->n_tables : 1,
	    sizeof(*fc->tables));
	if (fc->tables == NULL) {
		fc->n_tables = 0;
		error = -ENOMEM;
		goto out;
	}
	c->bytes += fc->n_tables * sizeof(*fc->tables);
	for (unsigned u = 0, ti = 0, at = 0; u < FWC_TUPLES; u++) {
		struct fwc_table *t;
		struct fwc_rule *tr;
		unsigned sc = u / 2 / FWC_CLASSES, dc = u / 2 % FWC_CLASSES;

		if (count[u] == 0)
			continue;
		t = &fc->tables[ti++];
		len_mask(class_len(prog->family, sc), t->sm);
		len_mask(class_len(prog->family, dc), t->dm);
		t->pd = u & 1;
		tr = malloc(count[u] * sizeof(*tr));
		if (tr == NULL) {
			error = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 0; i < count[u]; i++)
			tr[i] = keys[order[at + i]];
		at += count[u];
		error = table_build(c, t, tr, count[u]);
		free(tr);
		if (error != 0)
			goto out;
	}
	qsort(fc->tables, fc->n_tables, sizeof(*fc->tables), table_cmp);
out:
	free(keys);
	free(order);
	free(tuple);
	return error;
}

int
fwc_build(const struct fw_prog *prog, struct fwc **out)
{
	struct fwc *c;
	int error;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->family = prog->family;
	c->n_chains = prog->n_chains;
	c->chains = calloc(c->n_chains ? c->n_chains : 1, sizeof(*c->chains));
	if (c->chains == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->bytes = sizeof(*c) + c->n_chains * sizeof(*c->chains);
	for (uint32_t i = 0; i < c->n_chains; i++) {
		error = chain_build(c, prog, i);
		if (error != 0) {
			fwc_free(c);
			return error;
		}
	}
	*out = c;
	return 0;
}

void
fwc_free(struct fwc *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->n_chains; i++) {
		struct fwc_chain *fc = &c->chains[i];

		for (uint32_t t = 0; t < fc->n_tables; t++) {
			free(fc->tables[t].slots);
			free(fc->tables[t].entries);
			free(fc->tables[t].rules);
		}
		free(fc->tables);
	}
	free(c->chains);
	free(c);
}

size_t
fwc_bytes(const struct fwc *c)
{
	return c == NULL ? 0 : c->bytes;
}

/* --- lookups ------------------------------------------------------------- */

uint32_t
fwc_next(const struct fwc *c, uint32_t chain, uint32_t from, uint32_t end,
    const struct fwc_key *k)
{
	const struct fwc_chain *fc = &c->chains[chain];
	uint32_t best = end;

	if (fc->n_tables == 0)
		return from;
	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		const struct fwc_table *t = &fc->tables[ti];
		const struct fwc_entry *e;
		const struct fwc_rule *r, *last;
		uint64_t s[2], d[2], h;

		if (t->min_pos >= best)
			break;
		if (t->max_pos < from)
			continue;
		h = table_hash(t, k, s, d);
		e = table_find(t, s, d, table_pd(t, k), h);
		if (e == NULL)
			continue;
		r = &t->rules[e->first];
		last = r + e->n;
		for (; r < last && r->pos < best; r++)
			if (r->pos >= from && rule_key_match(r, k)) {
				best = r->pos;
				break;
			}
	}
	return best;
}

void
fwc_prefetch(const struct fwc *c, uint32_t chain, const struct fwc_key *k)
{
	const struct fwc_chain *fc = &c->chains[chain];

	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		const struct fwc_table *t = &fc->tables[ti];
		uint64_t s[2], d[2], h;

		h = table_hash(t, k, s, d);
		__builtin_prefetch(&t->slots[(uint32_t)h & t->slot_mask]);
	}
}

uint32_t
fwc_tables(const struct fwc *c, uint32_t chain)
{
	return c->chains[chain].n_tables;
}
