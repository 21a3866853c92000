/*
 * src/ip/neigh.c: the neighbour table (IPv4 ARP and IPv6 ND entries), and
 * the resolution step of output: finish a packet toward a neighbour's MAC,
 * or hold it until the neighbour answers.
 *
 * The table is shared by every worker.  Lookups take no lock; adding and
 * recycling entries (writers) take the table's mutex, which a worker meets
 * only for an address it has no entry for.  It is an open-addressing hash
 * (linear probing) of fixed capacity whose slots never move:
 *  - slot state EMPTY ends a probe sequence, USED is live, DEAD is a
 *    tombstone that lookups step over.  A writer recycles a slot by making
 *    it DEAD and reuses DEAD slots for new keys; a run of tombstones right
 *    before an EMPTY slot becomes EMPTY again (no live key can lie beyond
 *    it, and only writers, serialised, ever fill a slot).
 *  - each slot has a sequence number, a seqlock over its key: odd while
 *    the key is live, bumped to even when the slot dies and to the next odd
 *    value when it takes a new key.  A reader reads seq, the key words,
 *    then seq again, and believes a match only when both reads agree and
 *    are odd.  What a lookup returns is the slot AND that seq (struct
 *    ip_neigh_ref).
 *  - the MAC is one 64-bit word, read and written atomically: 48-bit MAC,
 *    valid bit, static bit, and a 14-bit tag taken from seq.  Every change
 *    to it by a reader (learning, forgetting) is a compare-and-swap that
 *    expects the tag of the seq it found the slot at, so an answer can
 *    never land in the entry that recycled the slot it was meant for.
 *
 * Held packets (struct ip_pending) keep the slot and its seq: a generation
 * check, not the key.  Why: ip_poll() looks at every held packet every loop
 * turn, and two loads (the MAC word, then seq; a recycled slot fails one or
 * the other, the 32-bit seq cannot wrap while a packet waits its three
 * seconds) are cheaper than a hash probe, and they make "recycled" exact:
 * the packet is dropped (PKT_DROP_NEIGH_RECYCLED), never sent to the MAC of
 * whoever has the slot now.  The 14-bit tag alone could wrap under a flood
 * that recycles one slot 16,384 times in the wait, hence seq as well.
 *
 * Bounds (struct ip_neigh_limits, defaults in ip.h), per interface, like
 * Linux's gc_thresh1/2/3 and unres_qlen:
 *  - at most unres_max incomplete entries (resolutions in flight); a new one
 *    recycles an incomplete entry at least unres_min_age_ns old, or is
 *    refused (PKT_DROP_NEIGH_UNRES_FULL).
 *  - at most gc_thresh3 dynamic entries; above gc_thresh2 each new entry
 *    recycles one that is stale, never answered, or failed.  Reachable
 *    entries are never recycled for room.
 *  - the periodic gc (ip_poll(), once a second, one worker) recycles failed
 *    entries and ones unconfirmed for gc_stale_ns on interfaces above
 *    gc_thresh1.
 * Victims are found by a clock per interface over its dynamic entries:
 * examine the oldest, recycle it or give it a second chance at the tail.
 * Table-wide, dynamic entries fill at most 3/4 of the slots (short probe
 * sequences); static ones may fill 7/8, and evict a dynamic entry beyond.
 *
 * Packets waiting for resolution stay with the worker that holds them
 * (struct ip_worker.pending); only the answer travels, through the table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ip_priv.h"

#define NEIGH_SLOT_EMPTY	0
#define NEIGH_SLOT_USED		1
#define NEIGH_SLOT_DEAD		2

#define NEIGH_MAC_MASK		((1ULL << 48) - 1)
#define NEIGH_MAC_VALID		(1ULL << 48)
#define NEIGH_MAC_STATIC	(1ULL << 49)
#define NEIGH_TAG_SHIFT		50
#define NEIGH_TAG_MASK		(~0ULL << NEIGH_TAG_SHIFT)

#define NEIGH_LIST_UNRES	0
#define NEIGH_LIST_CLOCK	1

#define NEIGH_EVICT_SCAN	64	/* entries a new one looks at for room */
#define NEIGH_GC_SCAN		1024	/* entries per interface per gc pass */

enum neigh_evict {
	EVICT_UNRES,	/* an incomplete entry old enough, or failed */
	EVICT_SPACE,	/* that, or stale, or never answered */
	EVICT_FORCE,	/* any dynamic entry: room for a static one */
};

struct neigh_key {
	uint32_t key_if;	/* family << 16 | if_idx */
	uint32_t addr[4];
};

struct ip_neigh_table {
	uint32_t mask;		/* capacity - 1 */
	uint32_t dyn_limit;	/* dynamic entries, table-wide */
	uint32_t live_limit;	/* all live entries, static ones included */
	uint64_t next_gc_ns;	/* atomic */
	uint64_t recycled;	/* atomic */
	uint32_t if_unres[IP_IF_MAX];	/* atomic: incomplete dynamic entries */
	/* The writers' lock, and what only writers touch (stats read the
	 * counts with relaxed loads). */
	pthread_mutex_t lock;
	struct ip_neigh_limits lim;
	uint32_t live, dyn, statics;
	uint32_t if_dyn[IP_IF_MAX];
	/* Two lists of dynamic entries per interface: those created
	 * incomplete and not yet seen answered (in creation order), and the
	 * rest (a clock).  Slot index + 1; 0: none. */
	uint32_t clock_head[2][IP_IF_MAX];
	uint32_t clock_tail[2][IP_IF_MAX];
	struct ip_neigh *slots;
};

static const char *const state_names[IP_NEIGH_STATE_COUNT] = {
	[IP_NEIGH_INCOMPLETE] = "incomplete",
	[IP_NEIGH_REACHABLE] = "reachable",
	[IP_NEIGH_STALE] = "stale",
	[IP_NEIGH_STATIC] = "static",
};

const char *
ip_neigh_state_name(enum ip_neigh_state state)
{
	return (unsigned)state < IP_NEIGH_STATE_COUNT ? state_names[state] : "?";
}

void
ip_neigh_limits_default(struct ip_neigh_limits *l)
{
	l->gc_thresh1 = IP_NEIGH_GC_THRESH1;
	l->gc_thresh2 = IP_NEIGH_GC_THRESH2;
	l->gc_thresh3 = IP_NEIGH_GC_THRESH3;
	l->unres_max = IP_NEIGH_UNRES_MAX;
	l->unres_min_age_ns = IP_NEIGH_UNRES_MIN_AGE_NS;
	l->gc_stale_ns = IP_NEIGH_GC_STALE_NS;
}

int
ip_neigh_table_create(struct ip_neigh_table **out, uint32_t capacity)
{
	struct ip_neigh_table *nt;
	uint32_t cap = 64;

	while (cap < capacity && cap < (1u << 24))
		cap <<= 1;
	nt = calloc(1, sizeof(*nt));
	if (nt == NULL)
		return -ENOMEM;
	nt->slots = calloc(cap, sizeof(*nt->slots));
	if (nt->slots == NULL || pthread_mutex_init(&nt->lock, NULL) != 0) {
		free(nt->slots);
		free(nt);
		return -ENOMEM;
	}
	nt->mask = cap - 1;
	nt->dyn_limit = cap - cap / 4;		/* keep probe chains short */
	nt->live_limit = cap - cap / 8;		/* the rest is for statics */
	ip_neigh_limits_default(&nt->lim);
	*out = nt;
	return 0;
}

void
ip_neigh_table_destroy(struct ip_neigh_table *nt)
{
	if (nt == NULL)
		return;
	pthread_mutex_destroy(&nt->lock);
	free(nt->slots);
	free(nt);
}

void
ip_neigh_table_set_limits(struct ip_neigh_table *nt,
    const struct ip_neigh_limits *l)
{
	pthread_mutex_lock(&nt->lock);
	nt->lim = *l;
	pthread_mutex_unlock(&nt->lock);
}

void
ip_neigh_table_stats(struct ip_neigh_table *nt,
    struct ip_neigh_table_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->entries = __atomic_load_n(&nt->live, __ATOMIC_RELAXED);
	out->statics = __atomic_load_n(&nt->statics, __ATOMIC_RELAXED);
	for (int i = 0; i < IP_IF_MAX; i++)
		out->incomplete += __atomic_load_n(&nt->if_unres[i],
		    __ATOMIC_RELAXED);
	out->capacity = nt->mask + 1;
	out->recycled = __atomic_load_n(&nt->recycled, __ATOMIC_RELAXED);
}

/* ---- keys, tags, lookups (any thread) ------------------------------ */

static void
key_make(struct neigh_key *k, uint16_t if_idx, uint8_t family,
    const uint8_t *addr)
{
	k->key_if = (uint32_t)family << 16 | if_idx;
	memset(k->addr, 0, sizeof(k->addr));
	memcpy(k->addr, addr, family == AF_INET ? 4 : 16);
}

/* A multiply-xorshift over the key's five words: a byte-at-a-time hash
 * over 16 bytes cost a forwarded packet about 20 ns (bench_pipeline). */
static uint32_t
key_hash(const struct neigh_key *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ k->key_if;

	h = (h ^ ((uint64_t)k->addr[0] << 32 | k->addr[1])) *
	    0xbf58476d1ce4e5b9ULL;
	h = (h ^ h >> 31 ^ ((uint64_t)k->addr[2] << 32 | k->addr[3])) *
	    0x94d049bb133111ebULL;
	h ^= h >> 29;
	return (uint32_t)h ^ (uint32_t)(h >> 32);
}

static bool
key_eq(const struct ip_neigh *n, const struct neigh_key *k)
{
	if (__atomic_load_n(&n->key_if, __ATOMIC_RELAXED) != k->key_if)
		return false;
	for (int i = 0; i < 4; i++)
		if (__atomic_load_n(&n->key_addr[i], __ATOMIC_RELAXED) !=
		    k->addr[i])
			return false;
	return true;
}

/* Copies the key of n; false when n is no longer at seq. */
static bool
key_read(const struct ip_neigh *n, uint32_t seq, struct neigh_key *k)
{
	k->key_if = __atomic_load_n(&n->key_if, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		k->addr[i] = __atomic_load_n(&n->key_addr[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&n->seq, __ATOMIC_RELAXED) == seq;
}

static uint64_t
tag_of(uint32_t seq)
{
	return (uint64_t)(seq >> 1) << NEIGH_TAG_SHIFT;
}

/* The MAC word belongs to the lifetime of seq. */
static bool
word_is(uint64_t w, uint32_t seq)
{
	return (w & NEIGH_TAG_MASK) == tag_of(seq);
}

static struct ip_neigh_ref
neigh_lookup(struct ip_neigh_table *nt, const struct neigh_key *k)
{
	struct ip_neigh_ref r = { NULL, 0 };
	uint32_t h = key_hash(k);

	for (uint32_t step = 0; step <= nt->mask; step++) {
		struct ip_neigh *n = &nt->slots[(h + step) & nt->mask];
		uint32_t s = __atomic_load_n(&n->state, __ATOMIC_ACQUIRE);
		uint32_t seq;
		bool eq;

		if (s == NEIGH_SLOT_EMPTY)
			break;
		if (s != NEIGH_SLOT_USED)
			continue;
		seq = __atomic_load_n(&n->seq, __ATOMIC_ACQUIRE);
		if (!(seq & 1))
			continue;
		eq = key_eq(n, k);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* Rekeyed while we compared: not ours to trust.  Were it
		 * rekeyed to our key, the writer's own lookup saw it. */
		if (!eq || __atomic_load_n(&n->seq, __ATOMIC_RELAXED) != seq)
			continue;
		r.n = n;
		r.seq = seq;
		break;
	}
	return r;
}

struct ip_neigh_ref
ip_neigh_find(struct ip_neigh_table *nt, uint16_t if_idx, uint8_t family,
    const uint8_t *addr)
{
	struct neigh_key k;

	key_make(&k, if_idx, family, addr);
	return neigh_lookup(nt, &k);
}

uint32_t
ip_neigh_home_slot(const struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr)
{
	struct neigh_key k;

	key_make(&k, if_idx, family, addr);
	return key_hash(&k) & nt->mask;
}

static enum ip_neigh_state
neigh_state(const struct ip_neigh *n, uint64_t w, uint64_t now_ns)
{
	uint64_t seen = __atomic_load_n(&n->confirmed_ns, __ATOMIC_RELAXED);

	if (w & NEIGH_MAC_STATIC)
		return IP_NEIGH_STATIC;
	if (!(w & NEIGH_MAC_VALID))
		return IP_NEIGH_INCOMPLETE;
	if (seen == 0 || now_ns - seen > IP_NEIGH_REACHABLE_NS)
		return IP_NEIGH_STALE;
	return IP_NEIGH_REACHABLE;
}

/* ---- writers (the table's lock held) -------------------------------- */

static uint32_t
slot_idx(const struct ip_neigh_table *nt, const struct ip_neigh *n)
{
	return (uint32_t)(n - nt->slots);
}

static void
clock_unlink(struct ip_neigh_table *nt, uint16_t ifi, struct ip_neigh *n)
{
	int l = n->clock_list;

	if (n->clock_prev)
		nt->slots[n->clock_prev - 1].clock_next = n->clock_next;
	else
		nt->clock_head[l][ifi] = n->clock_next;
	if (n->clock_next)
		nt->slots[n->clock_next - 1].clock_prev = n->clock_prev;
	else
		nt->clock_tail[l][ifi] = n->clock_prev;
	n->clock_prev = n->clock_next = 0;
}

static void
clock_append(struct ip_neigh_table *nt, uint16_t ifi, struct ip_neigh *n,
    int list)
{
	uint32_t id = slot_idx(nt, n) + 1;

	n->clock_list = (uint8_t)list;
	n->clock_next = 0;
	n->clock_prev = nt->clock_tail[list][ifi];
	if (nt->clock_tail[list][ifi])
		nt->slots[nt->clock_tail[list][ifi] - 1].clock_next = id;
	else
		nt->clock_head[list][ifi] = id;
	nt->clock_tail[list][ifi] = id;
}

/* Incomplete and nobody resolving it: its probes ran out, or none went
 * out for two retransmit intervals. */
static bool
neigh_failed(const struct ip_neigh *n, uint64_t w, uint64_t now_ns)
{
	uint64_t last = __atomic_load_n(&n->probe_ns, __ATOMIC_RELAXED);

	if (w & NEIGH_MAC_VALID)
		return false;
	if (last < n->created_ns)
		last = n->created_ns;
	return now_ns - last >= 2 * IP_NEIGH_RETRANS_NS ||
	    (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >= IP_NEIGH_PROBES &&
	    now_ns - last >= IP_NEIGH_RETRANS_NS);
}

static bool
neigh_evictable(const struct ip_neigh_table *nt, const struct ip_neigh *n,
    enum neigh_evict mode, uint64_t now_ns)
{
	uint64_t w = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);

	if (mode == EVICT_FORCE)
		return true;
	if (!(w & NEIGH_MAC_VALID))
		return now_ns - n->created_ns >= nt->lim.unres_min_age_ns ||
		    neigh_failed(n, w, now_ns);
	if (mode == EVICT_UNRES)
		return false;
	return neigh_state(n, w, now_ns) == IP_NEIGH_STALE ||
	    !__atomic_load_n(&n->answered, __ATOMIC_RELAXED);
}

/* If slot i+1 is EMPTY, the tombstones ending at i lead nowhere. */
static void
tombs_trim(struct ip_neigh_table *nt, uint32_t i)
{
	uint32_t steps = 0;

	if (__atomic_load_n(&nt->slots[(i + 1) & nt->mask].state,
	    __ATOMIC_RELAXED) != NEIGH_SLOT_EMPTY)
		return;
	while (steps++ <= nt->mask && __atomic_load_n(&nt->slots[i].state,
	    __ATOMIC_RELAXED) == NEIGH_SLOT_DEAD) {
		__atomic_store_n(&nt->slots[i].state, NEIGH_SLOT_EMPTY,
		    __ATOMIC_RELEASE);
		i = (i - 1) & nt->mask;
	}
}

static void
neigh_kill(struct ip_neigh_table *nt, struct ip_neigh *n)
{
	uint32_t seq = __atomic_load_n(&n->seq, __ATOMIC_RELAXED) + 1;
	uint16_t ifi = (uint16_t)n->key_if;
	uint64_t old;

	/* seq first: a reader that sees anything of what follows sees the
	 * slot is no longer the one it found. */
	__atomic_store_n(&n->seq, seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	old = __atomic_exchange_n(&n->mac, tag_of(seq), __ATOMIC_ACQ_REL);
	if (old & NEIGH_MAC_STATIC) {
		nt->statics--;
	} else {
		clock_unlink(nt, ifi, n);
		nt->if_dyn[ifi]--;
		nt->dyn--;
		if (!(old & NEIGH_MAC_VALID))
			__atomic_fetch_sub(&nt->if_unres[ifi], 1,
			    __ATOMIC_RELAXED);
	}
	__atomic_store_n(&nt->live, nt->live - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&n->state, NEIGH_SLOT_DEAD, __ATOMIC_RELEASE);
	tombs_trim(nt, slot_idx(nt, n));
}

static void
neigh_recycle(struct ip_neigh_table *nt, struct ip_neigh *n)
{
	neigh_kill(nt, n);
	__atomic_fetch_add(&nt->recycled, 1, __ATOMIC_RELAXED);
}

/* Recycles one dynamic entry of ifi that mode allows; false if none was
 * found within NEIGH_EVICT_SCAN looks.  The oldest resolutions first: the
 * head of the unanswered list, moving the answered ones off it as it
 * goes; then the clock over the rest, each entry kept getting a second
 * chance at its tail. */
static bool
neigh_evict(struct ip_neigh_table *nt, uint16_t ifi, enum neigh_evict mode,
    uint64_t now_ns)
{
	int k = 0;

	while (k < NEIGH_EVICT_SCAN && nt->clock_head[NEIGH_LIST_UNRES][ifi]) {
		struct ip_neigh *n =
		    &nt->slots[nt->clock_head[NEIGH_LIST_UNRES][ifi] - 1];

		if (__atomic_load_n(&n->mac, __ATOMIC_RELAXED) &
		    NEIGH_MAC_VALID) {
			clock_unlink(nt, ifi, n);
			clock_append(nt, ifi, n, NEIGH_LIST_CLOCK);
			continue;	/* bounded: each moves once */
		}
		k++;
		if (neigh_evictable(nt, n, mode, now_ns)) {
			neigh_recycle(nt, n);
			return true;
		}
		break;		/* the oldest is too young: so are the rest */
	}
	for (; k < NEIGH_EVICT_SCAN && nt->clock_head[NEIGH_LIST_CLOCK][ifi];
	    k++) {
		struct ip_neigh *n =
		    &nt->slots[nt->clock_head[NEIGH_LIST_CLOCK][ifi] - 1];

		if (neigh_evictable(nt, n, mode, now_ns)) {
			neigh_recycle(nt, n);
			return true;
		}
		clock_unlink(nt, ifi, n);	/* a second chance */
		clock_append(nt, ifi, n, NEIGH_LIST_CLOCK);
	}
	return false;
}

static uint16_t
fullest_if(const struct ip_neigh_table *nt)
{
	uint16_t best = 0;

	for (uint16_t i = 1; i < IP_IF_MAX; i++)
		if (nt->if_dyn[i] > nt->if_dyn[best])
			best = i;
	return best;
}

/* The first tombstone on k's probe sequence, or the EMPTY slot ending
 * it; NULL when every slot is live. */
static struct ip_neigh *
neigh_place(struct ip_neigh_table *nt, const struct neigh_key *k)
{
	uint32_t h = key_hash(k);

	for (uint32_t step = 0; step <= nt->mask; step++) {
		struct ip_neigh *n = &nt->slots[(h + step) & nt->mask];
		uint32_t s = __atomic_load_n(&n->state, __ATOMIC_RELAXED);

		if (s != NEIGH_SLOT_USED)
			return n;
	}
	return NULL;
}

/* Gives the free slot n the key k and publishes it. */
static struct ip_neigh_ref
neigh_rekey(struct ip_neigh_table *nt, struct ip_neigh *n,
    const struct neigh_key *k, uint64_t mac_bits, uint64_t now_ns)
{
	uint32_t seq = __atomic_load_n(&n->seq, __ATOMIC_RELAXED) + 1;
	struct ip_neigh_ref r = { n, seq };

	__atomic_store_n(&n->key_if, k->key_if, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		__atomic_store_n(&n->key_addr[i], k->addr[i], __ATOMIC_RELAXED);
	__atomic_store_n(&n->confirmed_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->probe_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->answered, 0, __ATOMIC_RELAXED);
	n->created_ns = now_ns;
	/* Release: a holder that reads this word then reads seq sees at
	 * least the kill's even seq, never its own odd one. */
	__atomic_store_n(&n->mac, tag_of(seq) | mac_bits, __ATOMIC_RELEASE);
	__atomic_store_n(&n->seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&n->state, NEIGH_SLOT_USED, __ATOMIC_RELEASE);
	__atomic_store_n(&nt->live, nt->live + 1, __ATOMIC_RELAXED);
	return r;
}

static struct ip_neigh_ref
neigh_add_dynamic(struct ip_neigh_table *nt, const struct neigh_key *k,
    uint64_t now_ns, enum pkt_drop *why)
{
	struct ip_neigh_ref none = { NULL, 0 }, r;
	uint16_t ifi = (uint16_t)k->key_if;
	struct ip_neigh *n;

	if (__atomic_load_n(&nt->if_unres[ifi], __ATOMIC_RELAXED) >=
	    nt->lim.unres_max && !neigh_evict(nt, ifi, EVICT_UNRES, now_ns)) {
		*why = PKT_DROP_NEIGH_UNRES_FULL;
		return none;
	}
	if (nt->if_dyn[ifi] >= nt->lim.gc_thresh3) {
		if (!neigh_evict(nt, ifi, EVICT_SPACE, now_ns)) {
			*why = PKT_DROP_NEIGH_TABLE_FULL;
			return none;
		}
	} else if (nt->if_dyn[ifi] >= nt->lim.gc_thresh2) {
		(void)neigh_evict(nt, ifi, EVICT_SPACE, now_ns);
	}
	if ((nt->dyn >= nt->dyn_limit || nt->live >= nt->live_limit) &&
	    !neigh_evict(nt, ifi, EVICT_SPACE, now_ns) &&
	    !neigh_evict(nt, fullest_if(nt), EVICT_SPACE, now_ns)) {
		*why = PKT_DROP_NEIGH_TABLE_FULL;
		return none;
	}
	if ((n = neigh_place(nt, k)) == NULL) {
		*why = PKT_DROP_NEIGH_TABLE_FULL;
		return none;
	}
	r = neigh_rekey(nt, n, k, 0, now_ns);
	clock_append(nt, ifi, n, NEIGH_LIST_UNRES);
	nt->if_dyn[ifi]++;
	nt->dyn++;
	__atomic_fetch_add(&nt->if_unres[ifi], 1, __ATOMIC_RELAXED);
	return r;
}

struct ip_neigh_ref
ip_neigh_get(struct ip_neigh_table *nt, uint16_t if_idx, uint8_t family,
    const uint8_t *addr, uint64_t now_ns, enum pkt_drop *why)
{
	struct neigh_key k;
	struct ip_neigh_ref r;

	key_make(&k, if_idx, family, addr);
	r = neigh_lookup(nt, &k);
	if (r.n != NULL)
		return r;
	pthread_mutex_lock(&nt->lock);
	r = neigh_lookup(nt, &k);	/* another worker may have added it */
	if (r.n == NULL)
		r = neigh_add_dynamic(nt, &k, now_ns, why);
	pthread_mutex_unlock(&nt->lock);
	return r;
}

/* ---- learning and configuration ------------------------------------- */

static uint64_t
mac_pack(const uint8_t mac[ETH_ALEN])
{
	uint64_t v = 0;

	for (int i = 0; i < ETH_ALEN; i++)
		v = (v << 8) | mac[i];
	return v | NEIGH_MAC_VALID;
}

static void
mac_unpack(uint64_t v, uint8_t mac[ETH_ALEN])
{
	for (int i = ETH_ALEN - 1; i >= 0; i--, v >>= 8)
		mac[i] = (uint8_t)v;
}

void
ip_neigh_confirm(struct ip_worker *w, struct ip_neigh_ref r,
    const uint8_t mac[ETH_ALEN], bool answer, uint64_t now_ns)
{
	struct ip_neigh *n = r.n;
	uint64_t want = tag_of(r.seq) | mac_pack(mac);
	uint64_t old = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
	/* Read while the tag still matches: a successful swap below proves
	 * the slot kept this key in between. */
	uint16_t ifi = (uint16_t)__atomic_load_n(&n->key_if, __ATOMIC_RELAXED);

	do {
		if (!word_is(old, r.seq) || (old & NEIGH_MAC_STATIC))
			return;
		if (old == want)
			break;
	} while (!__atomic_compare_exchange_n(&n->mac, &old, want, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (old != want) {
		w->st.neigh_learned++;
		if (!(old & NEIGH_MAC_VALID))
			__atomic_fetch_sub(&w->nt->if_unres[ifi], 1,
			    __ATOMIC_RELAXED);
	}
	/* A request proves the sender is there but not that it answers:
	 * Linux makes such an entry STALE; here it counts as confirmed, but
	 * stays first in line for recycling until an answer comes. */
	if (answer)
		__atomic_store_n(&n->answered, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&n->confirmed_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
}

/* Pins r's entry to mac; the lock held. */
static void
neigh_pin(struct ip_neigh_table *nt, struct ip_neigh_ref r,
    const uint8_t mac[ETH_ALEN])
{
	struct ip_neigh *n = r.n;
	uint16_t ifi = (uint16_t)n->key_if;
	uint64_t old = __atomic_exchange_n(&n->mac, tag_of(r.seq) |
	    NEIGH_MAC_STATIC | mac_pack(mac), __ATOMIC_ACQ_REL);

	if (old & NEIGH_MAC_STATIC)
		return;
	if (!(old & NEIGH_MAC_VALID))
		__atomic_fetch_sub(&nt->if_unres[ifi], 1, __ATOMIC_RELAXED);
	clock_unlink(nt, ifi, n);
	nt->if_dyn[ifi]--;
	nt->dyn--;
	__atomic_store_n(&nt->statics, nt->statics + 1, __ATOMIC_RELAXED);
}

int
ip_neigh_set_static(struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr, const uint8_t mac[ETH_ALEN])
{
	struct neigh_key k;
	struct ip_neigh_ref r;
	struct ip_neigh *n;
	int rc = 0;

	key_make(&k, if_idx, family, addr);
	pthread_mutex_lock(&nt->lock);
	r = neigh_lookup(nt, &k);
	if (r.n != NULL) {
		neigh_pin(nt, r, mac);
		goto out;
	}
	/* Room for statics is reserved above live_limit's share for
	 * dynamic ones; past that, a dynamic entry makes way, answered or
	 * not. */
	if (nt->live >= nt->live_limit) {
		uint16_t ifi = fullest_if(nt);

		/* The control thread has no packet clock: FORCE takes the
		 * head of the clock, the entry longest without a second
		 * chance. */
		if (nt->if_dyn[ifi] == 0 ||
		    !neigh_evict(nt, ifi, EVICT_FORCE, 0)) {
			rc = -ENOSPC;
			goto out;
		}
	}
	if ((n = neigh_place(nt, &k)) == NULL) {
		rc = -ENOSPC;
		goto out;
	}
	(void)neigh_rekey(nt, n, &k, NEIGH_MAC_STATIC | mac_pack(mac), 0);
	__atomic_store_n(&nt->statics, nt->statics + 1, __ATOMIC_RELAXED);
out:
	pthread_mutex_unlock(&nt->lock);
	return rc;
}

void
ip_neigh_unpin_except(struct ip_neigh_table *nt,
    const struct ip_neigh_info *keep, uint32_t n_keep)
{
	pthread_mutex_lock(&nt->lock);
	for (uint32_t i = 0; i <= nt->mask; i++) {
		struct ip_neigh *n = &nt->slots[i];
		uint64_t w = __atomic_load_n(&n->mac, __ATOMIC_RELAXED);
		uint16_t ifi = (uint16_t)n->key_if;
		bool kept = false;

		if (__atomic_load_n(&n->state, __ATOMIC_RELAXED) !=
		    NEIGH_SLOT_USED || !(w & NEIGH_MAC_STATIC))
			continue;
		for (uint32_t j = 0; j < n_keep && !kept; j++) {
			struct neigh_key k;

			key_make(&k, keep[j].if_idx, keep[j].family,
			    keep[j].addr);
			kept = key_eq(n, &k);
		}
		if (kept)
			continue;
		/* Stale: still used, probed at next use.  Only this lock's
		 * holders change a static word, so no swap is needed. */
		__atomic_store_n(&n->confirmed_ns, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&n->mac, w & ~NEIGH_MAC_STATIC,
		    __ATOMIC_RELEASE);
		clock_append(nt, ifi, n, NEIGH_LIST_CLOCK);
		nt->if_dyn[ifi]++;
		nt->dyn++;
		__atomic_store_n(&nt->statics, nt->statics - 1,
		    __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&nt->lock);
}

void
ip_neigh_walk(const struct ip_neigh_table *nt, uint64_t now_ns,
    void (*fn)(const struct ip_neigh_info *, void *), void *arg)
{
	struct ip_neigh_info info;

	for (uint32_t i = 0; i <= nt->mask; i++) {
		const struct ip_neigh *n = &nt->slots[i];
		struct neigh_key k;
		uint32_t seq;
		uint64_t w;

		if (__atomic_load_n(&n->state, __ATOMIC_ACQUIRE) !=
		    NEIGH_SLOT_USED)
			continue;
		seq = __atomic_load_n(&n->seq, __ATOMIC_ACQUIRE);
		w = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
		if (!(seq & 1) || !word_is(w, seq) || !key_read(n, seq, &k))
			continue;
		memset(&info, 0, sizeof(info));
		info.if_idx = (uint16_t)k.key_if;
		info.family = (uint8_t)(k.key_if >> 16);
		memcpy(info.addr, k.addr, 16);
		mac_unpack(w, info.mac);
		info.state = (uint8_t)neigh_state(n, w, now_ns);
		fn(&info, arg);
	}
}

/* ---- the periodic gc ------------------------------------------------- */

static uint32_t
neigh_gc_locked(struct ip_neigh_table *nt, uint64_t now_ns)
{
	uint32_t freed = 0;

	for (uint16_t ifi = 0; ifi < IP_IF_MAX; ifi++) {
		uint32_t scan = nt->if_dyn[ifi];

		if (scan > NEIGH_GC_SCAN)
			scan = NEIGH_GC_SCAN;
		for (uint32_t k = 0; k < scan &&
		    nt->if_dyn[ifi] > nt->lim.gc_thresh1; k++) {
			int l = nt->clock_head[NEIGH_LIST_UNRES][ifi] ?
			    NEIGH_LIST_UNRES : NEIGH_LIST_CLOCK;
			struct ip_neigh *n =
			    &nt->slots[nt->clock_head[l][ifi] - 1];
			uint64_t w = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
			uint64_t seen = __atomic_load_n(&n->confirmed_ns,
			    __ATOMIC_RELAXED);

			if (neigh_failed(n, w, now_ns) ||
			    ((w & NEIGH_MAC_VALID) &&
			    now_ns - seen >= nt->lim.gc_stale_ns)) {
				neigh_kill(nt, n);
				freed++;
				continue;
			}
			/* Kept: to the clock's tail, off the unanswered list
			 * (a young resolution there gets its next chance at
			 * the clock's head soon enough). */
			clock_unlink(nt, ifi, n);
			clock_append(nt, ifi, n, NEIGH_LIST_CLOCK);
		}
	}
	__atomic_fetch_add(&nt->recycled, freed, __ATOMIC_RELAXED);
	return freed;
}

uint32_t
ip_neigh_gc(struct ip_neigh_table *nt, uint64_t now_ns)
{
	uint32_t freed;

	pthread_mutex_lock(&nt->lock);
	freed = neigh_gc_locked(nt, now_ns);
	pthread_mutex_unlock(&nt->lock);
	return freed;
}

/* Once per IP_NEIGH_GC_INTERVAL_NS, by whichever worker gets there. */
static void
neigh_gc_tick(struct ip_neigh_table *nt, uint64_t now_ns)
{
	uint64_t due = __atomic_load_n(&nt->next_gc_ns, __ATOMIC_RELAXED);

	if (now_ns < due || !__atomic_compare_exchange_n(&nt->next_gc_ns,
	    &due, now_ns + IP_NEIGH_GC_INTERVAL_NS, false, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED))
		return;
	if (pthread_mutex_trylock(&nt->lock) != 0)
		return;		/* a writer is busy; next interval */
	(void)neigh_gc_locked(nt, now_ns);
	pthread_mutex_unlock(&nt->lock);
}

/* ---- resolution ------------------------------------------------------ */

/* True when the caller won the right to send the next probe now: one
 * probe per neighbour per IP_NEIGH_RETRANS_NS across all workers.  A
 * worker with a stale handle may write probe_ns into a recycled slot; the
 * worst it does is delay that entry's next probe by one interval. */
static bool
neigh_claim_probe(struct ip_neigh *n, uint64_t now_ns)
{
	uint64_t last = __atomic_load_n(&n->probe_ns, __ATOMIC_RELAXED);

	if (last != 0 && now_ns - last < IP_NEIGH_RETRANS_NS)
		return false;
	if (!__atomic_compare_exchange_n(&n->probe_ns, &last, now_ns, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return false;
	__atomic_fetch_add(&n->probes, 1, __ATOMIC_RELAXED);
	return true;
}

static void
neigh_probe(struct ip_worker *w, const struct ip_tables *t, uint16_t if_idx,
    uint8_t family, const uint8_t *addr, const uint8_t *unicast_mac,
    struct pkt_batch *tx)
{
	const struct ip_if *ifp = &t->ifs[if_idx];

	if (family == AF_INET) {
		uint32_t a_be;

		memcpy(&a_be, addr, 4);
		ip_arp_send_request(w, ifp, if_idx, a_be, unicast_mac, tx);
	} else {
		ip_nd_send_solicit(w, ifp, if_idx, addr, unicast_mac, tx);
	}
}

static void
neigh_finish(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint16_t if_idx, uint64_t mac, struct pkt_batch *tx)
{
	uint8_t dst[ETH_ALEN];

	mac_unpack(mac, dst);
	p->out_if = if_idx;
	ip_eth_write(p, dst, t->ifs[if_idx].mac,
	    p->l3 == PKT_L3_IP4 ? ETH_P_IP : ETH_P_IPV6);
	ip_tx(w, p, tx);
}

uint16_t
ip_take_encap(struct ip_worker *w, struct pkt **out, uint16_t max)
{
	uint16_t n = w->encap.n < max ? w->encap.n : max;

	memcpy(out, w->encap.pkts, n * sizeof(*out));
	memmove(w->encap.pkts, w->encap.pkts + n,
	    (w->encap.n - n) * sizeof(*out));
	w->encap.n = (uint16_t)(w->encap.n - n);
	return n;
}

void
ip_neigh_output(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint16_t if_idx, uint8_t family, const uint8_t *addr,
    struct pkt_batch *tx, uint64_t now_ns)
{
	enum pkt_drop why = PKT_DROP_NEIGH_TABLE_FULL;
	struct ip_neigh_ref r;
	struct ip_neigh *n;
	uint64_t mac;

	/* A tunnel has no neighbours: what the router made for one goes to
	 * the encapsulation stage (forwarded packets were encapsulated
	 * before they came here). */
	if (hg_unlikely(t->ifs[if_idx].encap)) {
		if (w->encap.n == PKT_BATCH_MAX) {
			ip_drop(w, p, PKT_DROP_OUT_OF_SPACE);
			return;
		}
		p->out_if = if_idx;
		w->encap.pkts[w->encap.n++] = p;
		return;
	}
	r = ip_neigh_find(w->nt, if_idx, family, addr);
	if (hg_unlikely(r.n == NULL)) {
		r = ip_neigh_get(w->nt, if_idx, family, addr, now_ns, &why);
		if (r.n == NULL) {
			ip_drop(w, p, why);
			return;
		}
	}
	n = r.n;
	mac = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
	if (hg_unlikely(!word_is(mac, r.seq))) {
		/* Recycled since the lookup, a moment ago. */
		ip_drop(w, p, PKT_DROP_NEIGH_RECYCLED);
		return;
	}
	if (hg_likely(mac & NEIGH_MAC_VALID)) {
		neigh_finish(w, t, p, if_idx, mac, tx);
		if (neigh_state(n, mac, now_ns) != IP_NEIGH_STALE)
			return;
		/* Stale: keep using it, confirm it with unicast probes, and
		 * forget the MAC if they go unanswered. */
		if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >= IP_NEIGH_PROBES &&
		    now_ns - __atomic_load_n(&n->probe_ns, __ATOMIC_RELAXED) >=
		    IP_NEIGH_RETRANS_NS) {
			if (__atomic_compare_exchange_n(&n->mac, &mac,
			    tag_of(r.seq), false, __ATOMIC_ACQ_REL,
			    __ATOMIC_RELAXED)) {
				__atomic_fetch_add(&w->nt->if_unres[if_idx], 1,
				    __ATOMIC_RELAXED);
				__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
			}
		} else if (neigh_claim_probe(n, now_ns)) {
			uint8_t m[ETH_ALEN];

			mac_unpack(mac, m);
			neigh_probe(w, t, if_idx, family, addr, m, tx);
		}
		return;
	}
	/* After a failed resolution the next packet starts a new one.  The
	 * probe goes out even when the packet cannot wait: the next one
	 * then finds the answer. */
	if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >= IP_NEIGH_PROBES)
		__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
	if (neigh_claim_probe(n, now_ns))
		neigh_probe(w, t, if_idx, family, addr, NULL, tx);
	if (w->n_pending >= IP_PENDING_MAX) {
		ip_drop(w, p, PKT_DROP_NEIGH_QUEUE_FULL);
		return;
	}
	p->out_if = if_idx;
	w->pending[w->n_pending].p = p;
	w->pending[w->n_pending].n = n;
	w->pending[w->n_pending].seq = r.seq;
	w->n_pending++;
}

static void
neigh_fail(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	/* RFC 1812 §4.3.3.1 / RFC 4443 §3.1: host unreachable to the sender
	 * of a forwarded packet.  The error builders drop, without an error,
	 * what hexgate sent itself (PKT_F_LOCAL). */
	if (p->l3 == PKT_L3_IP4)
		ip4_icmp_error(w, t, p, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
		    0, PKT_DROP_NEIGH_FAILED, tx, now_ns);
	else
		ip6_icmp_error(w, t, p, ICMP6_DEST_UNREACH, ICMP6_ADDR_UNREACH,
		    0, PKT_DROP_NEIGH_FAILED, tx, now_ns);
}

void
ip_poll(struct ip_worker *w, const struct ip_tables *t, struct pkt_batch *tx,
    uint64_t now_ns)
{
	struct pkt *failed[IP_PENDING_MAX];
	uint32_t keep = 0, n_failed = 0;

	for (uint32_t i = 0; i < w->n_pending; i++) {
		struct ip_pending pe = w->pending[i];
		struct ip_neigh *n = pe.n;
		uint64_t mac = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);

		if (!word_is(mac, pe.seq) ||
		    __atomic_load_n(&n->seq, __ATOMIC_ACQUIRE) != pe.seq) {
			w->st.neigh_held_recycled++;
			ip_drop(w, pe.p, PKT_DROP_NEIGH_RECYCLED);
			continue;
		}
		if (mac & NEIGH_MAC_VALID) {
			neigh_finish(w, t, pe.p, pe.p->out_if, mac, tx);
			continue;
		}
		if (now_ns - __atomic_load_n(&n->probe_ns, __ATOMIC_RELAXED) >=
		    IP_NEIGH_RETRANS_NS) {
			struct neigh_key k;

			if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >=
			    IP_NEIGH_PROBES) {
				failed[n_failed++] = pe.p;
				continue;
			}
			if (key_read(n, pe.seq, &k) &&
			    neigh_claim_probe(n, now_ns))
				neigh_probe(w, t, (uint16_t)k.key_if,
				    (uint8_t)(k.key_if >> 16),
				    (const uint8_t *)k.addr, NULL, tx);
		}
		w->pending[keep++] = pe;
	}
	w->n_pending = keep;
	/* Only now: the errors sent about failed packets may themselves
	 * wait for a neighbour and join the queue just compacted. */
	for (uint32_t i = 0; i < n_failed; i++)
		neigh_fail(w, t, failed[i], tx, now_ns);
	neigh_gc_tick(w->nt, now_ns);
}
