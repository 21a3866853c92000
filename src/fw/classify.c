/*
 * src/fw/classify.c: the packet classifier fw_eval() asks which rule of
 * a chain to try next, so a packet no longer walks every rule ahead of
 * its match.
 *
 * The structure is tuple space search, with tables chosen as TupleMerge
 * (Daly, Liu and Torng, 2016) chooses them: every rule gets a key of the
 * fields that can be judged without side effects (source and destination
 * prefix, protocol, port ranges; interfaces and conntrack states are in
 * the key but not hashed), and goes to a table whose prefix lengths are
 * no longer than its own and whose entry for it holds fewer than
 * FWC_LIST_MAX rules; when none has room, a new table takes the rule's
 * lengths rounded down (IPv4 to 24, 16, 8 or 0 bits).  Tables keyed
 * on protocol and destination port as well take only rules that name one
 * of each.  A table is a hash of the key masked to its lengths, with a
 * bitmap in front that answers most misses without touching the hash;
 * each entry lists its rules in chain order with their full keys.  A
 * lookup probes each table of the chain once, skipping tables whose first
 * rule is already behind the best candidate, and checks the few rules of
 * the entry it finds.
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
 * costs about as much as compiling them.  Tables are refcounted and
 * positions are chain-relative, so fwc_edit() derives the classifier of
 * a one-rule edit by copying only the tables the edit touches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/bytes.h"
#include "../pkt/pkt.h"
#include "classify.h"
#include "fw_priv.h"

#define FWC_LINEAR_MAX	8	/* chains this short are walked */
#define FWC_LIST_MAX	8	/* rules an entry takes before a new table */
#define FWC_TABLES_SOFT	16	/* then only rounded lengths open tables */
#define FWC_TABLES_MAX	48	/* then the catch-all table takes the rest */

/* One rule's key; addresses as two host-order words, IPv4 in the top 32
 * bits of the first. */
struct fwc_rule {
	uint64_t s[2], sm[2];
	uint64_t d[2], dm[2];
	uint32_t pos;			/* position in its chain */
	uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
	uint8_t proto;
	bool has_proto;
	uint8_t need;			/* FWC_L4_* the packet must have */
	bool exact;			/* the key is the whole rule */
	uint8_t ct;			/* FW_CT_* states it takes */
	uint32_t in, out;		/* interface indexes it takes */
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

/* A table, shared by the classifiers an edit derives from each other
 * (refs); an edit copies a table before it changes it. */
struct fwc_table {
	/* What every lookup reads, first. */
	uint32_t min_pos, max_pos;	/* chain-relative */
	uint64_t sm[2], dm[2];		/* prefix masks */
	uint64_t *bloom;		/* two bits per hash: maybe present */
	uint32_t bloom_mask;		/* bits - 1 */
	uint32_t slot_mask;
	struct fwc_slot *slots;
	struct fwc_entry *entries;
	bool pd;			/* keyed on protocol and dport */
	uint8_t sl, dl;			/* prefix lengths */
	uint32_t refs;
	uint32_t n_entries, cap_entries;
	struct fwc_rule *rules;
	uint32_t n_rules;		/* in the entries' lists */
	uint32_t used_rules, cap_rules;	/* of the array; lists moved by an
					   edit leave their old place unused */
};

/* Eight lanes of a batch (GCC vector extension: AVX-512 or AVX2 where the
 * build has them, narrower vectors otherwise). */
typedef uint64_t v8u __attribute__((vector_size(64)));

struct fwc_chain {
	uint32_t first;			/* the chain's first rule in prog */
	uint32_t n_tables;		/* 0: walk it */
	struct fwc_table **tables;	/* by min_pos */
};

struct fwc {
	uint8_t family;
	uint32_t n_chains;
	struct fwc_chain *chains;
};

/* --- keys ---------------------------------------------------------------- */

/* Address bytes as the two words keys use. */
static void
addr_words(uint8_t family, const uint8_t a[16], uint64_t w[2])
{
	if (family == FW_IPV6) {
		w[0] = hg_rd64be(a);
		w[1] = hg_rd64be(a + 8);
	} else {
		w[0] = (uint64_t)hg_rd32be(a) << 32;
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

/* The length a new table takes for a rule's prefix of len bits. */
static unsigned
len_relax(uint8_t family, unsigned len)
{
	if (family == FW_IPV6)
		return len >= 128 ? 128 : len >= 64 ? 64 : len >= 48 ? 48 :
		    len >= 32 ? 32 : 0;
	return len >= 24 ? 24 : len >= 16 ? 16 : len >= 8 ? 8 : 0;
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
	k->ct = UINT8_MAX;
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
		if (e->mods[i] == FW_M_STATE && !e->state.neg)
			k->ct &= e->state.state;
		if (e->mods[i] == FW_M_CONNTRACK &&
		    (e->ct.present & 1u << FW_CTO_STATE) &&
		    !(e->ct.neg & 1u << FW_CTO_STATE))
			k->ct &= e->ct.state;
		if (e->mods[i] != FW_M_TCP && e->mods[i] != FW_M_UDP)
			continue;
		proto = e->mods[i] == FW_M_TCP ? IPPROTO_TCP_ : IPPROTO_UDP_;
		k->need |= e->mods[i] == FW_M_TCP ? FWC_L4_TCP : FWC_L4_UDP;
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

/* Whether a prefix is exactly what its key holds (contiguous mask). */
static bool
addr_exact(const struct fw_prog *prog, uint32_t at, unsigned len)
{
	uint64_t m[2], w[2];

	len_mask(len, m);
	addr_words(prog->family, prog->addrs[at].mask, w);
	return w[0] == m[0] && w[1] == m[1];
}

/*
 * True when the key says all the rule does, so a key match is a rule
 * match: one prefix each way, not negated; a protocol; at most a tcp or
 * udp module with plain port ranges; nothing else.
 */
static bool
rule_exact(const struct fw_prog *prog, const struct fw_crule *r,
    const struct fwc_rule *k, unsigned sl, unsigned dl)
{
	const uint16_t plain = FW_CK_PROTO | FW_CK_SRC | FW_CK_DST | FW_CK_EXT;
	const struct fw_cext *e;

	if ((r->chk & ~plain) != 0 || r->neg != 0)
		return false;
	if ((r->chk & FW_CK_SRC) && (r->src_n != 1 ||
	    !addr_exact(prog, r->src, sl)))
		return false;
	if ((r->chk & FW_CK_DST) && (r->dst_n != 1 ||
	    !addr_exact(prog, r->dst, dl)))
		return false;
	if (!(r->chk & FW_CK_EXT))
		return true;
	e = &prog->ext[r->ext];
	for (uint8_t i = 0; i < e->n_mods; i++) {
		switch (e->mods[i]) {
		case FW_M_TCP:
		case FW_M_UDP:
			/* -p udp -m tcp: the key's protocol is udp. */
			if (k->proto != (e->mods[i] == FW_M_TCP ?
			    IPPROTO_TCP_ : IPPROTO_UDP_) ||
			    e->ports.has_flags || e->ports.sport_neg ||
			    e->ports.dport_neg)
				return false;
			break;
		case FW_M_STATE:
			if (e->state.neg)
				return false;
			break;
		case FW_M_CONNTRACK:
			/* --ctstate alone, not negated. */
			if (e->ct.present != 1u << FW_CTO_STATE || e->ct.neg)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* The key of rule i of the chain starting at first. */
static void
rule_key(const struct fw_prog *prog, uint32_t first, uint32_t i,
    struct fwc_rule *k, unsigned *sl, unsigned *dl)
{
	const struct fw_crule *r = &prog->rules[first + i];

	memset(k, 0, sizeof(*k));
	k->pos = i;
	key_addr(prog, r, false, k->s, k->sm, sl);
	key_addr(prog, r, true, k->d, k->dm, dl);
	key_l4(prog, r, k);
	/* -i / -o by index where the packet's index says it all (eval.c
	 * matches other indexes by name): rule_exact() leaves such rules
	 * to the full run. */
	k->in = (r->chk & FW_CK_IN) ? (uint32_t)((r->neg & FW_CK_IN) ?
	    ~r->in_mask : r->in_mask) : UINT32_MAX;
	k->out = (r->chk & FW_CK_OUT) ? (uint32_t)((r->neg & FW_CK_OUT) ?
	    ~r->out_mask : r->out_mask) : UINT32_MAX;
	k->exact = rule_exact(prog, r, k, *sl, *dl);
}

static inline bool
rule_key_match(const struct fwc_rule *k, const struct fwc_key *p)
{
	return ((p->s[0] & k->sm[0]) == k->s[0]) &
	    ((p->s[1] & k->sm[1]) == k->s[1]) &
	    ((p->d[0] & k->dm[0]) == k->d[0]) &
	    ((p->d[1] & k->dm[1]) == k->d[1]) &
	    (!k->has_proto | (p->proto == k->proto)) &
	    ((k->need & ~p->l4) == 0) &
	    ((k->ct & p->ct) != 0) &
	    ((p->in == 0) | ((k->in & p->in) != 0)) &
	    ((p->out == 0) | ((k->out & p->out) != 0)) &
	    (p->sport >= k->sp_lo) & (p->sport <= k->sp_hi) &
	    (p->dport >= k->dp_lo) & (p->dport <= k->dp_hi);
}

void
fwc_key_load(struct fwc_key *k, uint8_t family, const uint8_t src[16],
    const uint8_t dst[16], uint8_t proto, uint8_t l4, uint16_t sport,
    uint16_t dport)
{
	addr_words(family, src, k->s);
	addr_words(family, dst, k->d);
	k->proto = proto;
	k->l4 = l4;
	k->sport = sport;
	k->dport = dport;
}

/* --- tables -------------------------------------------------------------- */

static inline uint64_t
hash_key(const uint64_t s[2], const uint64_t d[2], uint32_t pd)
{
	uint64_t w;

	/* IPv4: both addresses in one word, the rest zero.  The slot index
	 * takes the low bits and the bitmap the middle ones: the final
	 * fold brings the high bits of the product down to both. */
	w = (s[0] ^ (d[0] >> 32 | d[0] << 32)) +
	    (s[1] ^ d[1] * 0x9e3779b97f4a7c15ull) +
	    (uint64_t)pd * 0xc2b2ae3d27d4eb4full;
	w ^= w >> 32;
	w *= 0xff51afd7ed558ccdull;
	return w ^ w >> 32;
}

/* The bitmap in front of a table: two bits of each entry's hash set,
 * 16 bits an entry, so about one miss in 70 gets past it. */
static inline uint64_t
bloom_bits(const struct fwc_table *t, uint64_t h, uint32_t *b1, uint32_t *b2)
{
	*b1 = (uint32_t)(h >> 16) & t->bloom_mask;
	*b2 = (uint32_t)(h >> 40) & t->bloom_mask;
	return ((t->bloom[*b1 >> 6] >> (*b1 & 63)) &
	    (t->bloom[*b2 >> 6] >> (*b2 & 63))) & 1;
}

static inline bool
bloom_has(const struct fwc_table *t, uint64_t h)
{
	uint32_t b1, b2;

	return bloom_bits(t, h, &b1, &b2) != 0;
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

/* k masked to t's lengths.  v4 is a constant where it is inlined: an
 * IPv4 key has nothing in the second words. */
static inline void
table_mask(const struct fwc_table *t, const struct fwc_key *k, bool v4,
    uint64_t s[2], uint64_t d[2])
{
	s[0] = k->s[0] & t->sm[0];
	d[0] = k->d[0] & t->dm[0];
	s[1] = v4 ? 0 : k->s[1] & t->sm[1];
	d[1] = v4 ? 0 : k->d[1] & t->dm[1];
}

static inline uint64_t
table_hash(const struct fwc_table *t, const struct fwc_key *k, bool v4,
    uint64_t s[2], uint64_t d[2])
{
	table_mask(t, k, v4, s, d);
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

static void
table_free(struct fwc_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->bloom);
	free(t->entries);
	free(t->rules);
	free(t);
}

static void
table_unref(struct fwc_table *t)
{
	if (t != NULL && --t->refs == 0)
		table_free(t);
}

static void
bloom_set(struct fwc_table *t, uint64_t h)
{
	uint32_t b1, b2;

	(void)bloom_bits(t, h, &b1, &b2);
	t->bloom[b1 >> 6] |= 1ull << (b1 & 63);
	t->bloom[b2 >> 6] |= 1ull << (b2 & 63);
}

/* The entry of key (s, d, pd) with hash h, made (empty) when missing;
 * the caller has room for one more entry and the slots are at most
 * half full. */
static struct fwc_entry *
table_entry(struct fwc_table *t, const uint64_t s[2], const uint64_t d[2],
    uint32_t pd, uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	for (uint32_t j = (uint32_t)h & t->slot_mask;;
	    j = (j + 1) & t->slot_mask) {
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
			bloom_set(t, h);
			return e;
		}
		e = &t->entries[sl->entry - 1];
		if (sl->tag == tag && e->pd == pd && e->s[0] == s[0] &&
		    e->s[1] == s[1] && e->d[0] == d[0] && e->d[1] == d[1])
			return e;
	}
}

/* Slots and bitmap sized for n entries, empty. */
static int
table_size(struct fwc_table *t, uint32_t n)
{
	uint32_t slots = 16, bits = 64;

	while (slots < 2 * n)
		slots <<= 1;
	while (bits < 16 * n)
		bits <<= 1;
	free(t->slots);
	free(t->bloom);
	t->slot_mask = slots - 1;
	t->bloom_mask = bits - 1;
	t->slots = calloc(slots, sizeof(*t->slots));
	t->bloom = calloc(bits / 64, sizeof(uint64_t));
	return t->slots == NULL || t->bloom == NULL ? -ENOMEM : 0;
}

/* Re-enters every entry after table_size(). */
static void
table_rehash(struct fwc_table *t)
{
	uint32_t n = t->n_entries;

	t->n_entries = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct fwc_entry e = t->entries[i], *ne;

		ne = table_entry(t, e.s, e.d, e.pd, hash_key(e.s, e.d, e.pd));
		ne->first = e.first;
		ne->n = e.n;
	}
}

/* A table's key: its prefix lengths, and whether it keys the port. */
static void
table_shape(struct fwc_table *t, unsigned sl, unsigned dl, bool pd)
{
	t->sl = (uint8_t)sl;
	t->dl = (uint8_t)dl;
	t->pd = pd;
	len_mask(sl, t->sm);
	len_mask(dl, t->dm);
}

static struct fwc_table *
table_new(unsigned sl, unsigned dl, bool pd)
{
	struct fwc_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->refs = 1;
	table_shape(t, sl, dl, pd);
	return t;
}

/* Fills an empty t with rules (in chain order): entries found or made
 * by a first pass, counted, then the rules placed behind their entry. */
static int
table_build(struct fwc_table *t, const struct fwc_rule *rules, uint32_t n)
{
	uint32_t *at;

	t->entries = malloc(n * sizeof(*t->entries));
	t->rules = malloc(n * sizeof(*t->rules));
	at = malloc(n * sizeof(*at));
	if (table_size(t, n) != 0 || t->entries == NULL || t->rules == NULL ||
	    at == NULL) {
		free(at);
		return -ENOMEM;
	}
	t->cap_entries = t->cap_rules = t->used_rules = t->n_rules = n;
	t->min_pos = rules[0].pos;
	t->max_pos = rules[n - 1].pos;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t s[2], d[2], h;
		uint32_t pd;

		h = rule_hash(t, &rules[i], s, d, &pd);
		at[i] = (uint32_t)(table_entry(t, s, d, pd, h) - t->entries);
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
	return 0;
}

static size_t
table_bytes(const struct fwc_table *t)
{
	return sizeof(*t) + (t->slot_mask + 1) * sizeof(*t->slots) +
	    (t->bloom_mask + 1) / 8 + t->cap_entries * sizeof(*t->entries) +
	    t->cap_rules * sizeof(*t->rules);
}

static int
table_cmp(const void *a, const void *b)
{
	const struct fwc_table *x = *(struct fwc_table *const *)a;
	const struct fwc_table *y = *(struct fwc_table *const *)b;

	return x->min_pos < y->min_pos ? -1 : x->min_pos > y->min_pos;
}

/*
 * Planning (TupleMerge): which table each rule of a chain goes to.  The
 * entries' sizes so far are counted in an open-addressing map keyed by
 * the entry's hash and its table.
 */
struct plan {
	uint8_t family;
	struct fwc_table *tables;	/* FWC_TABLES_MAX of them */
	uint32_t n_tables;
	uint64_t *keys;			/* 0: empty */
	uint32_t *counts;
	uint32_t mask;
};

static uint32_t *
plan_count(struct plan *pl, const struct fwc_table *t, const struct fwc_rule *r)
{
	uint64_t s[2], d[2], k;
	uint32_t pd, i;

	k = rule_hash(t, r, s, d, &pd) ^
	    (uint64_t)(t - pl->tables + 1) * 0x9e3779b97f4a7c15ull;
	k |= 1;
	for (i = (uint32_t)k & pl->mask; pl->keys[i] != 0 && pl->keys[i] != k;
	    i = (i + 1) & pl->mask)
		;
	pl->keys[i] = k;
	return &pl->counts[i];
}

static struct fwc_table *
plan_table(struct plan *pl, unsigned sl, unsigned dl, bool pd)
{
	struct fwc_table *t;

	for (uint32_t i = 0; i < pl->n_tables; i++) {
		t = &pl->tables[i];
		if (t->sl == sl && t->dl == dl && t->pd == pd)
			return t;
	}
	if (pl->n_tables == FWC_TABLES_MAX)
		return NULL;
	t = &pl->tables[pl->n_tables++];
	table_shape(t, sl, dl, pd);
	return t;
}

/* Table (sl, dl, pd) when r's entry there has room, or NULL. */
static struct fwc_table *
plan_open(struct plan *pl, const struct fwc_rule *r, unsigned sl, unsigned dl,
    bool pd)
{
	struct fwc_table *t = plan_table(pl, sl, dl, pd);

	return t != NULL && *plan_count(pl, t, r) < FWC_LIST_MAX ? t : NULL;
}

/* The table rule r (prefix lengths sl, dl) joins. */
static uint32_t
plan_rule(struct plan *pl, const struct fwc_rule *r, unsigned sl, unsigned dl)
{
	bool pd = r->has_proto && r->dp_lo == r->dp_hi;
	struct fwc_table *best = NULL, *t;
	uint32_t *cnt = NULL;

	for (uint32_t i = 0; i < pl->n_tables; i++) {
		uint32_t *c;

		t = &pl->tables[i];
		if (t->sl > sl || t->dl > dl || (t->pd && !pd))
			continue;
		if (best != NULL && (unsigned)t->sl + t->dl + t->pd * 16 <=
		    (unsigned)best->sl + best->dl + best->pd * 16)
			continue;
		c = plan_count(pl, t, r);
		if (*c < FWC_LIST_MAX) {
			best = t;
			cnt = c;
		}
	}
	if (best == NULL) {
		/* A new table: rounded down, then keyed on the port too,
		 * then the rule's own lengths; past a few tables, or out
		 * of them, the list just grows. */
		t = plan_open(pl, r, len_relax(pl->family, sl),
		    len_relax(pl->family, dl), false);
		if (t == NULL && pd)
			t = plan_open(pl, r, len_relax(pl->family, sl),
			    len_relax(pl->family, dl), true);
		if (t == NULL && pl->n_tables < FWC_TABLES_SOFT)
			t = plan_open(pl, r, sl, dl, pd);
		if (t == NULL)
			t = plan_table(pl, len_relax(pl->family, sl),
			    len_relax(pl->family, dl), false);
		if (t == NULL)
			t = plan_table(pl, 0, 0, false);
		if (t == NULL)
			t = &pl->tables[0];
		best = t;
		cnt = plan_count(pl, t, r);
	}
	(*cnt)++;
	return (uint32_t)(best - pl->tables);
}

static int
chain_build(struct fwc_chain *fc, const struct fw_prog *prog, uint32_t id)
{
	const struct fw_cchain *ch = &prog->chains[id];
	struct plan pl = { .family = prog->family };
	struct fwc_rule *keys = NULL, *tr = NULL;
	uint32_t count[FWC_TABLES_MAX] = { 0 }, first[FWC_TABLES_MAX], n = 0;
	uint32_t *order = NULL, *tab = NULL, size = 16;
	int error = -ENOMEM;

	fc->first = ch->first;
	if (ch->n <= FWC_LINEAR_MAX)
		return 0;
	while (size < 4 * ch->n)
		size <<= 1;
	pl.mask = size - 1;
	pl.tables = calloc(FWC_TABLES_MAX, sizeof(*pl.tables));
	pl.keys = calloc(size, sizeof(*pl.keys));
	pl.counts = calloc(size, sizeof(*pl.counts));
	keys = malloc(ch->n * sizeof(*keys));
	tr = malloc(ch->n * sizeof(*tr));
	order = malloc(ch->n * sizeof(*order));
	tab = malloc(ch->n * sizeof(*tab));
	fc->tables = calloc(FWC_TABLES_MAX, sizeof(*fc->tables));
	if (pl.tables == NULL || pl.keys == NULL || pl.counts == NULL ||
	    keys == NULL || tr == NULL || order == NULL || tab == NULL ||
	    fc->tables == NULL)
		goto out;
	for (uint32_t i = 0; i < ch->n; i++) {
		unsigned sl, dl;

		/* Another family's rule: never a candidate. */
		if (prog->rules[ch->first + i].chk & FW_CK_NEVER)
			continue;
		rule_key(prog, ch->first, i, &keys[n], &sl, &dl);
		tab[n] = plan_rule(&pl, &keys[n], sl, dl);
		count[tab[n]]++;
		n++;
	}
	for (uint32_t u = 0, sum = 0; u < pl.n_tables; u++) {
		first[u] = sum;
		sum += count[u];
	}
	/* Stable by table, so each table's rules stay in chain order. */
	for (uint32_t i = 0; i < n; i++)
		order[first[tab[i]]++] = i;
	error = 0;
	for (uint32_t u = 0, at = 0; u < pl.n_tables; u++) {
		struct fwc_table *t;

		if (count[u] == 0)
			continue;
		t = table_new(pl.tables[u].sl, pl.tables[u].dl, pl.tables[u].pd);
		if (t == NULL) {
			error = -ENOMEM;
			goto out;
		}
		fc->tables[fc->n_tables++] = t;
		for (uint32_t i = 0; i < count[u]; i++)
			tr[i] = keys[order[at + i]];
		at += count[u];
		error = table_build(t, tr, count[u]);
		if (error != 0)
			goto out;
	}
	qsort(fc->tables, fc->n_tables, sizeof(*fc->tables), table_cmp);
out:
	free(pl.tables);
	free(pl.keys);
	free(pl.counts);
	free(keys);
	free(tr);
	free(order);
	free(tab);
	return error;
}

static void
chain_free(struct fwc_chain *fc)
{
	for (uint32_t t = 0; t < fc->n_tables; t++)
		table_unref(fc->tables[t]);
	free(fc->tables);
	fc->tables = NULL;
	fc->n_tables = 0;
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
	for (uint32_t i = 0; i < c->n_chains; i++) {
		error = chain_build(&c->chains[i], prog, i);
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
	for (uint32_t i = 0; i < c->n_chains; i++)
		chain_free(&c->chains[i]);
	free(c->chains);
	free(c);
}

size_t
fwc_bytes(const struct fwc *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	n = sizeof(*c) + c->n_chains * sizeof(*c->chains);
	for (uint32_t i = 0; i < c->n_chains; i++)
		for (uint32_t t = 0; t < c->chains[i].n_tables; t++)
			n += sizeof(void *) + table_bytes(c->chains[i].tables[t]);
	return n;
}

/* --- edits --------------------------------------------------------------- */

/* t, private to this classifier: copied when shared, with room for one
 * more entry and one more list of n + 1 rules. */
static struct fwc_table *
table_own(struct fwc_chain *fc, uint32_t ti, uint32_t n)
{
	struct fwc_table *t = fc->tables[ti], *c;
	uint32_t ce = t->n_entries + 1, cr = t->used_rules + n + 1;

	if (t->refs == 1 && t->cap_entries >= ce && t->cap_rules >= cr)
		return t;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	*c = *t;
	c->refs = 1;
	/* Headroom, so a run of edits copies a table once, not each time;
	 * moved lists are dropped (compacted) on the way. */
	c->cap_entries = ce + ce / 8 + 8;
	c->cap_rules = t->n_rules + n + 1 + (t->n_rules + n) / 8 + 32;
	c->slots = malloc((t->slot_mask + 1) * sizeof(*c->slots));
	c->bloom = malloc((t->bloom_mask + 1) / 8);
	c->entries = malloc(c->cap_entries * sizeof(*c->entries));
	c->rules = malloc(c->cap_rules * sizeof(*c->rules));
	if (c->slots == NULL || c->bloom == NULL || c->entries == NULL ||
	    c->rules == NULL) {
		table_free(c);
		return NULL;
	}
	memcpy(c->slots, t->slots, (t->slot_mask + 1) * sizeof(*c->slots));
	memcpy(c->bloom, t->bloom, (t->bloom_mask + 1) / 8);
	memcpy(c->entries, t->entries, t->n_entries * sizeof(*c->entries));
	c->used_rules = 0;
	for (uint32_t e = 0; e < t->n_entries; e++) {
		struct fwc_entry *ce_ = &c->entries[e];

		memcpy(&c->rules[c->used_rules], &t->rules[ce_->first],
		    ce_->n * sizeof(*c->rules));
		ce_->first = c->used_rules;
		c->used_rules += ce_->n;
	}
	fc->tables[ti] = c;
	table_unref(t);
	return c;
}

static void
table_bounds(struct fwc_table *t)
{
	t->min_pos = UINT32_MAX;
	t->max_pos = 0;
	for (uint32_t e = 0; e < t->n_entries; e++) {
		const struct fwc_entry *en = &t->entries[e];

		if (en->n == 0)
			continue;
		t->min_pos = HG_MIN(t->min_pos, t->rules[en->first].pos);
		t->max_pos = HG_MAX(t->max_pos,
		    t->rules[en->first + en->n - 1].pos);
	}
}

/* Moves every rule at or past at by delta (+1, -1). */
static int
chain_shift(struct fwc_chain *fc, uint32_t at, int delta)
{
	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		struct fwc_table *t = fc->tables[ti];

		if (t->max_pos < at)
			continue;
		t = table_own(fc, ti, 0);
		if (t == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->used_rules; i++)
			if (t->rules[i].pos >= at)
				t->rules[i].pos = (uint32_t)((int64_t)
				    t->rules[i].pos + delta);
		if (t->min_pos >= at)
			t->min_pos = (uint32_t)((int64_t)t->min_pos + delta);
		t->max_pos = (uint32_t)((int64_t)t->max_pos + delta);
	}
	return 0;
}

/* Takes the rule at position at out of its table. */
static int
chain_remove(struct fwc_chain *fc, uint32_t at)
{
	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		struct fwc_table *t = fc->tables[ti];

		if (at < t->min_pos || at > t->max_pos)
			continue;
		for (uint32_t e = 0; e < t->n_entries; e++) {
			struct fwc_entry *en = &t->entries[e];

			for (uint32_t i = 0; i < en->n; i++) {
				if (t->rules[en->first + i].pos != at)
					continue;
				t = table_own(fc, ti, 0);
				if (t == NULL)
					return -ENOMEM;
				en = &t->entries[e];
				memmove(&t->rules[en->first + i],
				    &t->rules[en->first + i + 1],
				    (en->n - i - 1) * sizeof(*t->rules));
				en->n--;
				t->n_rules--;
				table_bounds(t);
				if (t->n_rules == 0) {
					table_unref(t);
					memmove(&fc->tables[ti], &fc->tables[ti + 1],
					    (fc->n_tables - ti - 1) *
					    sizeof(*fc->tables));
					fc->n_tables--;
				}
				return 0;
			}
		}
	}
	/* A rule of another family is in no table. */
	return 0;
}

static struct fwc_entry *
rule_entry(const struct fwc_table *t, const struct fwc_rule *r)
{
	uint64_t s[2], d[2], h;
	uint32_t pd;

	h = rule_hash(t, r, s, d, &pd);
	return (struct fwc_entry *)(uintptr_t)table_find(t, s, d, pd, h);
}

/* Puts r (chain-relative, rules behind it already shifted) in the table
 * planning would give it: the most specific one whose entry has room,
 * else a new one. */
static int
chain_add(struct fwc_chain *fc, uint8_t family, const struct fwc_rule *r,
    unsigned sl, unsigned dl)
{
	bool pd = r->has_proto && r->dp_lo == r->dp_hi;
	struct fwc_table *t = NULL, **grown;
	struct fwc_entry *e;
	uint64_t s[2], d[2], h;
	uint32_t pdk, ti = UINT32_MAX, n = 0, slot;

	for (uint32_t i = 0; i < fc->n_tables; i++) {
		struct fwc_table *c = fc->tables[i];
		const struct fwc_entry *ce;

		if (c->sl > sl || c->dl > dl || (c->pd && !pd))
			continue;
		if (t != NULL && (unsigned)c->sl + c->dl + c->pd * 16 <=
		    (unsigned)t->sl + t->dl + t->pd * 16)
			continue;
		ce = rule_entry(c, r);
		if (ce == NULL || ce->n < FWC_LIST_MAX) {
			t = c;
			ti = i;
			n = ce == NULL ? 0 : ce->n;
		}
	}
	if (t == NULL) {
		t = table_new(len_relax(family, sl), len_relax(family, dl), pd);
		grown = realloc(fc->tables, (fc->n_tables + 1) * sizeof(*grown));
		if (t == NULL || grown == NULL) {
			table_free(t);
			if (grown != NULL)
				fc->tables = grown;
			return -ENOMEM;
		}
		fc->tables = grown;
		if (table_build(t, r, 1) != 0) {
			table_free(t);
			return -ENOMEM;
		}
		fc->tables[fc->n_tables++] = t;
		goto sort;
	}
	t = table_own(fc, ti, n);
	if (t == NULL)
		return -ENOMEM;
	h = rule_hash(t, r, s, d, &pdk);
	if ((t->n_entries + 1) * 2 > t->slot_mask + 1) {
		if (table_size(t, t->n_entries + 1) != 0)
			return -ENOMEM;
		table_rehash(t);
	}
	e = table_entry(t, s, d, pdk, h);
	/* The list moves to the end of the array unless it is there. */
	if (e->first + e->n != t->used_rules || e->n == 0) {
		memcpy(&t->rules[t->used_rules], &t->rules[e->first],
		    e->n * sizeof(*t->rules));
		e->first = t->used_rules;
		t->used_rules += e->n;
	}
	for (slot = e->n; slot > 0 && t->rules[e->first + slot - 1].pos > r->pos;
	    slot--)
		t->rules[e->first + slot] = t->rules[e->first + slot - 1];
	t->rules[e->first + slot] = *r;
	e->n++;
	t->used_rules++;
	t->n_rules++;
	t->min_pos = HG_MIN(t->min_pos, r->pos);
	t->max_pos = HG_MAX(t->max_pos, r->pos);
sort:
	qsort(fc->tables, fc->n_tables, sizeof(*fc->tables), table_cmp);
	return 0;
}

int
fwc_edit(const struct fwc *old, const struct fw_prog *prog, uint32_t chain,
    enum fwc_edit_op op, uint32_t at, struct fwc **out)
{
	struct fwc *c;
	struct fwc_chain *fc;
	int error = 0;

	*out = NULL;
	if (old->n_chains != prog->n_chains || chain >= prog->n_chains)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->family = old->family;
	c->n_chains = old->n_chains;
	c->chains = calloc(c->n_chains, sizeof(*c->chains));
	if (c->chains == NULL) {
		free(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->n_chains; i++) {
		const struct fwc_chain *o = &old->chains[i];
		struct fwc_chain *n = &c->chains[i];

		n->first = prog->chains[i].first;
		if (o->n_tables == 0)
			continue;
		n->tables = malloc(o->n_tables * sizeof(*n->tables));
		if (n->tables == NULL) {
			fwc_free(c);
			return -ENOMEM;
		}
		for (uint32_t t = 0; t < o->n_tables; t++) {
			n->tables[t] = o->tables[t];
			n->tables[t]->refs++;
		}
		n->n_tables = o->n_tables;
	}
	fc = &c->chains[chain];
	if (fc->n_tables == 0) {
		/* A chain that was walked: built whole if it is long now. */
		error = chain_build(fc, prog, chain);
	} else {
		if (op != FWC_INSERT)
			error = chain_remove(fc, at);
		if (error == 0 && op != FWC_REPLACE)
			error = chain_shift(fc, op == FWC_INSERT ? at : at + 1,
			    op == FWC_INSERT ? 1 : -1);
		if (error == 0 && op != FWC_DELETE &&
		    !(prog->rules[fc->first + at].chk & FW_CK_NEVER)) {
			struct fwc_rule k;
			unsigned sl, dl;

			rule_key(prog, fc->first, at, &k, &sl, &dl);
			error = chain_add(fc, c->family, &k, sl, dl);
		}
		/* A table that lost its first rule starts later now: lookups
		 * stop at the first table past their best, so keep the order. */
		qsort(fc->tables, fc->n_tables, sizeof(*fc->tables), table_cmp);
	}
	if (error != 0) {
		fwc_free(c);
		return error;
	}
	*out = c;
	return 0;
}

/* --- lookups ------------------------------------------------------------- */

/* The best candidate of table t for k in [from, *best); *exact set. */
static inline void
table_scan(const struct fwc_table *t, const struct fwc_entry *e,
    uint32_t from, const struct fwc_key *k, uint32_t *best, bool *exact)
{
	const struct fwc_rule *r = &t->rules[e->first], *last = r + e->n;

	for (; r < last && r->pos < *best; r++)
		if (r->pos >= from && rule_key_match(r, k)) {
			*best = r->pos;
			*exact = r->exact;
			return;
		}
}

static inline uint32_t
next_in(const struct fwc_chain *fc, uint32_t from, uint32_t best,
    const struct fwc_key *k, bool v4, bool *exact)
{
	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		const struct fwc_table *t = fc->tables[ti];
		const struct fwc_entry *e;
		uint64_t s[2], d[2], h;

		if (t->min_pos >= best)
			break;
		if (t->max_pos < from)
			continue;
		h = table_hash(t, k, v4, s, d);
		if (!bloom_has(t, h))
			continue;
		e = table_find(t, s, d, table_pd(t, k), h);
		if (e != NULL)
			table_scan(t, e, from, k, &best, exact);
	}
	return best;
}

uint32_t
fwc_next(const struct fwc *c, uint32_t chain, uint32_t from, uint32_t end,
    const struct fwc_key *k, bool *exact)
{
	const struct fwc_chain *fc = &c->chains[chain];

	*exact = false;
	if (fc->n_tables == 0)
		return from;
	/* Positions in the tables are the chain's own. */
	if (c->family == FW_IPV4)
		return fc->first + next_in(fc, from - fc->first,
		    end - fc->first, k, true, exact);
	return fc->first + next_in(fc, from - fc->first, end - fc->first, k,
	    false, exact);
}

/*
 * next_batch() for IPv4, in two passes per table.  The first runs the
 * whole batch through the table's hash and bitmap with no branch (a
 * packet's key against a table is a coin toss the branch predictor
 * loses), leaving a mask of the packets worth a probe; the second
 * probes only those.  The hash is hash_key()'s with the second words
 * zero.
 */
static void
next_batch4(const struct fwc_chain *fc, uint32_t from,
    const struct fwc_key *const *k, unsigned n, uint32_t *best, bool *exact)
{
	v8u sav[FWC_BATCH_MAX / 8], dav[FWC_BATCH_MAX / 8];
	v8u pdvv[FWC_BATCH_MAX / 8], hv[FWC_BATCH_MAX / 8];
	const uint64_t *h = (const uint64_t *)hv;

	memset(sav, 0, sizeof(sav));
	memset(dav, 0, sizeof(dav));
	memset(pdvv, 0, sizeof(pdvv));
	for (unsigned i = 0; i < n; i++) {
		sav[i / 8][i % 8] = k[i]->s[0];
		dav[i / 8][i % 8] = k[i]->d[0] >> 32 | k[i]->d[0] << 32;
		pdvv[i / 8][i % 8] = (uint64_t)k[i]->proto << 16 | k[i]->dport;
	}
	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		const struct fwc_table *t = fc->tables[ti];
		const uint64_t *bloom = t->bloom;
		uint64_t sm = t->sm[0], dm = t->dm[0] >> 32 | t->dm[0] << 32;
		uint64_t pdm = t->pd ? UINT64_MAX : 0, bm = t->bloom_mask;
		uint32_t hits = 0;

		if (t->max_pos < from)
			continue;
		for (unsigned i = 0; i < n; i += 8) {
			v8u w, b1, b2, x1, x2, bit;

			w = ((sav[i / 8] & sm) ^ (dav[i / 8] & dm)) +
			    (pdvv[i / 8] & pdm) * 0xc2b2ae3d27d4eb4full;
			w ^= w >> 32;
			w *= 0xff51afd7ed558ccdull;
			w ^= w >> 32;
			hv[i / 8] = w;
			b1 = (w >> 16) & bm;
			b2 = (w >> 40) & bm;
			for (unsigned j = 0; j < 8; j++) {
				x1[j] = bloom[b1[j] >> 6];
				x2[j] = bloom[b2[j] >> 6];
			}
			bit = (x1 >> (b1 & 63)) & (x2 >> (b2 & 63)) & 1;
			for (unsigned j = 0; j < 8; j++)
				hits |= (uint32_t)bit[j] << (i + j);
		}
		/* Lanes past n, and packets already decided before this
		 * table's first rule, are not probed. */
		hits &= n == 32 ? UINT32_MAX : (1u << n) - 1;
		for (unsigned i = 0; i < n; i++)
			hits &= ~((uint32_t)(t->min_pos >= best[i]) << i);
		while (hits != 0) {
			unsigned i = (unsigned)__builtin_ctz(hits);
			const struct fwc_entry *e;
			uint64_t s[2], d[2];

			hits &= hits - 1;
			table_mask(t, k[i], true, s, d);
			e = table_find(t, s, d, table_pd(t, k[i]), h[i]);
			if (e != NULL)
				table_scan(t, e, from, k[i], &best[i], &exact[i]);
		}
	}
}

/*
 * fwc_next() for n keys, table by table: each table's slots for the
 * whole batch are asked for before any is read, so their cache misses
 * overlap instead of following each other.
 */
static inline void
next_batch(const struct fwc_chain *fc, uint32_t from,
    const struct fwc_key *const *k, unsigned n, bool v4, uint32_t *best,
    bool *exact)
{
	uint64_t h[FWC_BATCH_MAX];
	uint32_t live[FWC_BATCH_MAX];

	for (uint32_t ti = 0; ti < fc->n_tables; ti++) {
		const struct fwc_table *t = fc->tables[ti];
		unsigned m = 0;

		if (t->max_pos < from)
			continue;
		for (unsigned i = 0; i < n; i++) {
			uint64_t s[2], d[2];

			if (t->min_pos >= best[i])
				continue;
			h[i] = table_hash(t, k[i], v4, s, d);
			if (!bloom_has(t, h[i]))
				continue;
			__builtin_prefetch(&t->slots[(uint32_t)h[i] &
			    t->slot_mask]);
			live[m++] = i;
		}
		for (unsigned j = 0; j < m; j++) {
			unsigned i = live[j];
			const struct fwc_entry *e;
			uint64_t s[2], d[2];

			table_mask(t, k[i], v4, s, d);
			e = table_find(t, s, d, table_pd(t, k[i]), h[i]);
			if (e != NULL)
				table_scan(t, e, from, k[i], &best[i], &exact[i]);
		}
	}
}

/*
 * fwc_next() for n keys, table by table: each table's slots for the
 * whole batch are asked for before any is read, so their cache misses
 * overlap instead of following each other.
 */
void
fwc_next_batch(const struct fwc *c, uint32_t chain, uint32_t from,
    uint32_t end, const struct fwc_key *const *k, unsigned n, uint32_t *best,
    bool *exact)
{
	const struct fwc_chain *fc = &c->chains[chain];

	for (unsigned i = 0; i < n; i++) {
		best[i] = fc->n_tables == 0 ? from : end - fc->first;
		exact[i] = false;
	}
	if (fc->n_tables == 0)
		return;
	if (c->family == FW_IPV4)
		next_batch4(fc, from - fc->first, k, n, best, exact);
	else
		next_batch(fc, from - fc->first, k, n, false, best, exact);
	for (unsigned i = 0; i < n; i++)
		best[i] += fc->first;
}
