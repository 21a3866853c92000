/*
 * src/ct/table.c: the per-worker conntrack table: a preallocated entry
 * array, a free list threaded through it, and a chained hash index in
 * which every entry appears twice, once under its original tuple and once
 * under its reply tuple, so either direction finds it in one lookup.
 * Expiry is lazy (a lookup that meets an expired entry frees it) plus a
 * bounded sweep, ct_expire(), that the worker runs each loop turn.
 * Deciding states is classify.c and tcp.c; a translated flow's reply
 * tuple is chosen by nat.c and inserted here like any other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "../lib/hg_time.h"
#include "ct_priv.h"

void
ct_timeouts_default(struct ct_timeouts *to)
{
	/* Linux's nf_conntrack defaults (Documentation/networking/
	 * nf_conntrack-sysctl.rst). */
	memset(to, 0, sizeof(*to));
	to->tcp_s[CT_TCP_SYN_SENT] = 120;
	to->tcp_s[CT_TCP_SYN_RECV] = 60;
	to->tcp_s[CT_TCP_ESTABLISHED] = 432000;
	to->tcp_s[CT_TCP_FIN_WAIT] = 120;
	to->tcp_s[CT_TCP_CLOSE_WAIT] = 60;
	to->tcp_s[CT_TCP_LAST_ACK] = 30;
	to->tcp_s[CT_TCP_TIME_WAIT] = 120;
	to->tcp_s[CT_TCP_CLOSE] = 10;
	to->udp_unreplied_s = 30;
	to->udp_replied_s = 120;
	to->icmp_s = 30;
	to->generic_s = 600;
}

static int
timeouts_set(struct ct_table *t, const struct ct_timeouts *to)
{
	for (int s = CT_TCP_SYN_SENT; s < CT_TCP_COUNT; s++) {
		if (to->tcp_s[s] == 0)
			return -EINVAL;
		t->tcp_ns[s] = to->tcp_s[s] * HG_NS_PER_S;
	}
	if (to->udp_unreplied_s == 0 || to->udp_replied_s == 0 ||
	    to->icmp_s == 0 || to->generic_s == 0)
		return -EINVAL;
	t->udp_unreplied_ns = to->udp_unreplied_s * HG_NS_PER_S;
	t->udp_replied_ns = to->udp_replied_s * HG_NS_PER_S;
	t->icmp_ns = to->icmp_s * HG_NS_PER_S;
	t->generic_ns = to->generic_s * HG_NS_PER_S;
	return 0;
}

/*
 * The entry array and the index, zeroed, page-aligned (so entries are
 * cache-line aligned) and asking for huge pages: random lookups land on
 * another page nearly every time, a TLB miss each with 4 KiB pages
 * (advisory, as for the FIB: src/ip/fib_priv.h).  NULL on failure.
 */
static void *
table_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void
table_unmap(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}

/* The bound a percentage of max_entries gives (ct.h); a share of the
 * whole table is no bound: a full table evicts instead. */
static uint32_t
src_bound(uint32_t max_entries, uint32_t percent)
{
	uint64_t n = HG_MAX((uint64_t)max_entries * percent / 100,
	    CT_SRC_MIN_ENTRIES);

	return n >= max_entries ? UINT32_MAX : (uint32_t)n;
}

static int
srcs_create(struct ct_table *t, uint32_t max_entries)
{
	uint32_t n_buckets = 1;

	while (n_buckets < max_entries)
		n_buckets <<= 1;
	t->srcs = calloc(max_entries, sizeof(*t->srcs));
	t->src_buckets = malloc(n_buckets * sizeof(*t->src_buckets));
	if (t->srcs == NULL || t->src_buckets == NULL)
		return -ENOMEM;
	memset(t->src_buckets, 0xff, n_buckets * sizeof(*t->src_buckets));
	t->src_mask = n_buckets - 1;
	for (uint32_t i = 0; i < max_entries; i++)
		t->srcs[i].next = i + 1 < max_entries ? i + 1 : CT_NIL;
	t->src_free = 0;
	t->src_max_entries = src_bound(max_entries, CT_SRC_PERCENT_DEFAULT);
	return 0;
}

int
ct_table_create(struct ct_table **out, uint32_t max_entries,
    const struct ct_timeouts *timeouts)
{
	struct ct_timeouts def;
	struct ct_table *t;
	uint32_t n_buckets = 1;
	int error;

	_Static_assert(sizeof(struct ct_entry) == 3 * HG_CACHE_LINE,
	    "an entry is three whole cache lines");
	*out = NULL;
	if (max_entries == 0 || max_entries > CT_MAX_ENTRIES)
		return -EINVAL;
	if (timeouts == NULL) {
		ct_timeouts_default(&def);
		timeouts = &def;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	error = timeouts_set(t, timeouts);
	if (error != 0)
		goto fail;

	/* Two nodes per entry, two buckets per node: a hit visits 1.25
	 * nodes on average (1.5 at one bucket per node), and the second
	 * is the miss ct_classify_bulk() did not prefetch. */
	while (n_buckets < 4 * max_entries)
		n_buckets <<= 1;
	error = -ENOMEM;
	t->n_entries = max_entries;	/* the sizes destroy unmaps */
	t->bucket_mask = n_buckets - 1;
	t->entries = table_map((size_t)max_entries * sizeof(*t->entries));
	t->buckets = table_map(n_buckets * sizeof(*t->buckets));
	t->frags = calloc(CT_FRAGS, sizeof(*t->frags));
	if (t->entries == NULL || t->buckets == NULL || t->frags == NULL ||
	    srcs_create(t, max_entries) != 0)
		goto fail;
	memset(t->buckets, 0xff, n_buckets * sizeof(*t->buckets));
	for (uint32_t i = 0; i < max_entries; i++)
		t->entries[i].next[0] = i + 1 < max_entries ? i + 1 : CT_NIL;
	t->free_head = 0;
	t->fifo_head = t->fifo_tail = CT_NIL;
	t->st.max_entries = max_entries;

	/* A secret seed keeps a remote sender from choosing which flows
	 * share a chain; the clock is the fallback, not the plan. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed))
		t->seed = hg_now_ns();
	t->nat_rng = t->seed | 1;	/* xorshift must not start at 0 */
	*out = t;
	return 0;
fail:
	ct_table_destroy(t);
	return error;
}

int
ct_table_limit_sources(struct ct_table *t, uint32_t percent)
{
	if (percent == 0 || percent > 100)
		return -EINVAL;
	t->src_max_entries = src_bound(t->n_entries, percent);
	return 0;
}

void
ct_table_destroy(struct ct_table *t)
{
	if (t == NULL)
		return;
	table_unmap(t->entries, (size_t)t->n_entries * sizeof(*t->entries));
	table_unmap(t->buckets, ((size_t)t->bucket_mask + 1) *
	    sizeof(*t->buckets));
	free(t->frags);
	free(t->srcs);
	free(t->src_buckets);
	free(t);
}

/* A multiply-xorshift over the tuple's five 64-bit words. */
uint32_t
ct_tuple_hash(const struct ct_table *t, const struct ct_tuple *k)
{
	uint64_t h = t->seed, w;
	const uint8_t *b = (const uint8_t *)k;

	_Static_assert(sizeof(*k) % 8 == 0, "tuple is whole 64-bit words");
	for (size_t i = 0; i < sizeof(*k); i += 8) {
		memcpy(&w, b + i, 8);
		h ^= w;
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static void
chain_insert(struct ct_table *t, uint32_t idx, enum ct_dir dir)
{
	struct ct_entry *e = &t->entries[idx];
	uint32_t b = ct_tuple_hash(t, &e->tuple[dir]) & t->bucket_mask;

	e->next[dir] = t->buckets[b];
	t->buckets[b] = idx * 2 + dir;
}

static void
chain_remove(struct ct_table *t, uint32_t idx, enum ct_dir dir)
{
	struct ct_entry *e = &t->entries[idx];
	uint32_t b = ct_tuple_hash(t, &e->tuple[dir]) & t->bucket_mask;
	uint32_t *link = &t->buckets[b], node = idx * 2 + dir;

	while (*link != CT_NIL) {
		if (*link == node) {
			*link = e->next[dir];
			return;
		}
		link = &t->entries[*link / 2].next[*link % 2];
	}
}

/* ---- sources: who holds how many entries ---- */

static uint32_t
src_hash(const struct ct_table *t, uint8_t l3, const uint8_t *addr)
{
	uint64_t a, b, h;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	h = (t->seed ^ l3 ^ a) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h ^ (h >> 32)) & t->src_mask;
}

/* The slot of k's source, or CT_NIL when it holds nothing. */
static uint32_t
src_find(const struct ct_table *t, const struct ct_tuple *k)
{
	uint32_t i = t->src_buckets[src_hash(t, k->l3, k->src)];

	while (i != CT_NIL && (t->srcs[i].l3 != k->l3 ||
	    memcmp(t->srcs[i].addr, k->src, 16) != 0))
		i = t->srcs[i].next;
	return i;
}

static uint32_t
src_entries(const struct ct_table *t, const struct ct_tuple *k)
{
	uint32_t i = src_find(t, k);

	return i == CT_NIL ? 0 : t->srcs[i].n_entries;
}

/* Counts one more entry for k's source; never fails, since the pool has
 * a slot for every entry. */
static uint32_t
src_take(struct ct_table *t, const struct ct_tuple *k)
{
	uint32_t i = src_find(t, k), b;
	struct ct_src *s;

	if (i == CT_NIL) {
		i = t->src_free;
		s = &t->srcs[i];
		t->src_free = s->next;
		memcpy(s->addr, k->src, 16);
		s->l3 = k->l3;
		s->n_entries = 0;
		b = src_hash(t, k->l3, k->src);
		s->next = t->src_buckets[b];
		t->src_buckets[b] = i;
	}
	t->srcs[i].n_entries++;
	return i;
}

static void
src_put(struct ct_table *t, uint32_t i)
{
	struct ct_src *s = &t->srcs[i];
	uint32_t *link;

	if (--s->n_entries != 0)
		return;
	link = &t->src_buckets[src_hash(t, s->l3, s->addr)];
	while (*link != i)
		link = &t->srcs[*link].next;
	*link = s->next;
	s->next = t->src_free;
	t->src_free = i;
}

/* ---- the unassured FIFO ---- */

static void
fifo_append(struct ct_table *t, uint32_t idx)
{
	struct ct_entry *e = &t->entries[idx];

	e->fifo_prev = t->fifo_tail;
	e->fifo_next = CT_NIL;
	if (t->fifo_tail != CT_NIL)
		t->entries[t->fifo_tail].fifo_next = idx;
	else
		t->fifo_head = idx;
	t->fifo_tail = idx;
}

static void
fifo_remove(struct ct_table *t, struct ct_entry *e)
{
	if (e->fifo_prev != CT_NIL)
		t->entries[e->fifo_prev].fifo_next = e->fifo_next;
	else
		t->fifo_head = e->fifo_next;
	if (e->fifo_next != CT_NIL)
		t->entries[e->fifo_next].fifo_prev = e->fifo_prev;
	else
		t->fifo_tail = e->fifo_prev;
}

/* Linux's rule (IPS_ASSURED): a reply for UDP, ICMP and the rest; for
 * TCP the whole handshake, so answered SYNs of a SYN flood against a
 * live server stay evictable. */
static bool
entry_is_assured_now(const struct ct_entry *e)
{
	if (!(e->flags & CT_E_SEEN_REPLY))
		return false;
	if (e->tuple[0].proto != IPPROTO_TCP_)
		return true;
	return e->tcp_state >= CT_TCP_ESTABLISHED &&
	    e->tcp_state <= CT_TCP_TIME_WAIT;
}

void
ct_entry_assure(struct ct_table *t, struct ct_entry *e)
{
	if ((e->flags & CT_E_ASSURED) || !entry_is_assured_now(e))
		return;
	fifo_remove(t, e);
	e->flags |= CT_E_ASSURED;
}

void
ct_entry_free(struct ct_table *t, uint32_t idx)
{
	struct ct_entry *e = &t->entries[idx];

	chain_remove(t, idx, CT_DIR_ORIGINAL);
	chain_remove(t, idx, CT_DIR_REPLY);
	if (!(e->flags & CT_E_ASSURED))
		fifo_remove(t, e);
	src_put(t, e->src);
	memset(e, 0, sizeof(*e));
	e->next[0] = t->free_head;
	t->free_head = idx;
	t->st.in_use--;
}

/*
 * Early drop: frees one unassured entry to make room, or returns false.
 * Of the CT_EVICT_SCAN oldest it takes the one whose source holds the
 * most entries (the first such), so a flood pays for itself before an
 * old flow of a quiet host does.  An entry met at now_ns is skipped: a
 * result of the running batch may still hold its index.
 */
static bool
evict_one(struct ct_table *t, uint64_t now_ns)
{
	uint32_t idx = t->fifo_head, victim = CT_NIL, most = 0;

	for (int n = 0; n < CT_EVICT_SCAN && idx != CT_NIL; n++) {
		const struct ct_entry *e = &t->entries[idx];
		uint32_t held = t->srcs[e->src].n_entries;

		if (e->seen_stamp != (uint32_t)now_ns && held > most) {
			victim = idx;
			most = held;
		}
		idx = e->fifo_next;
	}
	if (victim == CT_NIL)
		return false;
	ct_entry_free(t, victim);
	t->st.evicted++;
	return true;
}

/*
 * Finds the entry holding k under either of its tuples; *dir says which.
 * An expired entry met on the way is freed and not returned.
 */
uint32_t
ct_lookup(struct ct_table *t, const struct ct_tuple *k, uint64_t now_ns,
    enum ct_dir *dir)
{
	return ct_lookup_hashed(t, k, ct_tuple_hash(t, k), now_ns, dir);
}

uint32_t
ct_lookup_hashed(struct ct_table *t, const struct ct_tuple *k,
    uint32_t hash, uint64_t now_ns, enum ct_dir *dir)
{
	uint32_t node = t->buckets[hash & t->bucket_mask];

	while (node != CT_NIL) {
		uint32_t idx = node / 2;
		enum ct_dir d = node % 2;
		struct ct_entry *e = &t->entries[idx];

		if (memcmp(&e->tuple[d], k, sizeof(*k)) == 0) {
			if (ct_entry_is_expired(e, now_ns)) {
				ct_entry_free(t, idx);
				t->st.expired++;
				return CT_ENTRY_NONE;
			}
			e->seen_stamp = (uint32_t)now_ns;
			*dir = d;
			return idx;
		}
		node = e->next[d];
	}
	return CT_ENTRY_NONE;
}

enum ct_state
ct_invalid(struct ct_table *t, struct ct_result *r, enum ct_invalid why)
{
	r->state = CT_STATE_INVALID;
	r->reason = why;
	t->st.invalid[why]++;
	return r->state;
}

void
ct_tuple_reverse(const struct ct_pending *pd, struct ct_tuple *rev)
{
	const struct ct_tuple *k = &pd->tuple;

	*rev = *k;
	memcpy(rev->src, k->dst, sizeof(rev->src));
	memcpy(rev->dst, k->src, sizeof(rev->dst));
	if (k->proto == IPPROTO_ICMP_ || k->proto == IPPROTO_ICMPV6_) {
		rev->dport_be = htons(pd->icmp_reply_type);
	} else {
		rev->sport_be = k->dport_be;
		rev->dport_be = k->sport_be;
	}
}

/* The timeout an entry gets after a packet, by protocol and state. */
static uint64_t
entry_timeout_ns(const struct ct_table *t, const struct ct_entry *e)
{
	switch (e->tuple[0].proto) {
	case IPPROTO_TCP_:
		return t->tcp_ns[e->tcp_state];
	case IPPROTO_UDP_:
		return (e->flags & CT_E_SEEN_REPLY) ? t->udp_replied_ns :
		    t->udp_unreplied_ns;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		return t->icmp_ns;
	default:
		return t->generic_ns;
	}
}

void
ct_entry_touch(struct ct_table *t, struct ct_entry *e, enum ct_dir dir,
    uint16_t len_bytes, uint64_t now_ns)
{
	e->packets[dir]++;
	e->bytes[dir] += len_bytes;
	e->expires_ns = now_ns + entry_timeout_ns(t, e);
}

/* The cache slot of a datagram. */
static struct ct_frag *
frag_slot(struct ct_table *t, const struct ct_frag_key *k)
{
	uint64_t w[5];
	uint64_t h = t->seed;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return &t->frags[h & (CT_FRAGS - 1)];
}

static void
frag_remember(struct ct_table *t, const struct ct_result *r, uint64_t now_ns)
{
	struct ct_frag *f = frag_slot(t, &r->frag);

	f->key = r->frag;
	f->entry = r->entry;
	f->dir = (uint8_t)r->dir;	/* NAT rewrites its fragments by it */
	f->expires_ns = now_ns + CT_FRAG_TIMEOUT_S * 1000000000ULL;
}

enum ct_state
ct_frag_follow(struct ct_table *t, const struct ct_frag_key *k,
    uint64_t now_ns, struct ct_result *r)
{
	struct ct_frag *f = frag_slot(t, k);
	const struct ct_entry *e;

	if (f->expires_ns <= now_ns || memcmp(&f->key, k, sizeof(*k)) != 0 ||
	    f->entry >= t->n_entries ||
	    !((e = &t->entries[f->entry])->flags & CT_E_USED))
		return ct_invalid(t, r, CT_INVALID_FRAGMENT);
	t->entries[f->entry].seen_stamp = (uint32_t)now_ns;
	r->frag_follow = true;
	r->frag = *k;
	r->entry = f->entry;
	r->dir = f->dir;
	r->state = (e->flags & CT_E_SEEN_REPLY) ? CT_STATE_ESTABLISHED :
	    CT_STATE_NEW;
	t->st.frags_followed++;
	return r->state;
}

/*
 * The flow of r got an entry after r was classified: an earlier packet of
 * the same batch was confirmed first.  r joins it when it would have
 * created the same entry: no translation of its own yet, or the same
 * reply tuple.  A packet already translated otherwise (a random DNAT
 * port) cannot join: it is on its way somewhere else.
 */
static int
confirm_join(struct ct_table *t, struct ct_result *r, uint32_t idx,
    enum ct_dir dir, uint64_t now_ns)
{
	struct ct_entry *e = &t->entries[idx];

	if (r->pending.nat != 0 && (e->nat != r->pending.nat ||
	    memcmp(&e->tuple[CT_DIR_REPLY], &r->pending.nat_reply,
	    sizeof(r->pending.nat_reply)) != 0)) {
		t->st.nat_clash++;
		return -EADDRINUSE;
	}
	if (dir == CT_DIR_REPLY)
		e->flags |= CT_E_SEEN_REPLY;
	ct_entry_touch(t, e, dir, r->pending.len_bytes, now_ns);
	r->entry = idx;
	r->dir = dir;
	if (r->frag_first)
		frag_remember(t, r, now_ns);
	return 0;
}

/* Room for one more entry: a free one, an expired one, or an unassured
 * one evicted; false when every entry is live and assured (or met in
 * this batch). */
static bool
confirm_room(struct ct_table *t, uint64_t now_ns)
{
	if (t->free_head != CT_NIL)
		return true;
	return ct_expire(t, now_ns, 8) != 0 || evict_one(t, now_ns);
}

int
ct_confirm(struct ct_table *t, struct ct_result *r, uint64_t now_ns)
{
	struct ct_tuple reply;
	struct ct_entry *e;
	enum ct_dir dir;
	uint32_t idx;

	if (r->frag_follow)
		return 0;
	if (r->state != CT_STATE_NEW || r->entry != CT_ENTRY_NONE) {
		if (r->frag_first && r->entry != CT_ENTRY_NONE)
			frag_remember(t, r, now_ns);
		return 0;
	}
	idx = ct_lookup(t, &r->pending.tuple, now_ns, &dir);
	if (idx != CT_ENTRY_NONE)
		return confirm_join(t, r, idx, dir, now_ns);
	/* Every key in the index belongs to one flow.  Only a translated
	 * reply can clash: two flows of one batch that chose the same
	 * translation, or a packet that looks like another flow's
	 * translated reply.  Linux drops such a packet at confirm too. */
	if (r->pending.nat != 0)
		reply = r->pending.nat_reply;
	else
		ct_tuple_reverse(&r->pending, &reply);
	if (ct_lookup(t, &reply, now_ns, &dir) != CT_ENTRY_NONE) {
		t->st.nat_clash++;
		return -EADDRINUSE;
	}
	/* The source's share first: a source at its bound must not make
	 * room by evicting another host's flow. */
	if (src_entries(t, &r->pending.tuple) >= t->src_max_entries) {
		t->st.src_limited++;
		return -EDQUOT;
	}
	if (!confirm_room(t, now_ns)) {
		t->st.table_full++;
		return -ENOSPC;
	}
	idx = t->free_head;
	e = &t->entries[idx];
	t->free_head = e->next[0];
	memset(e, 0, sizeof(*e));
	e->flags = CT_E_USED;
	e->nat = r->pending.nat;
	e->tuple[CT_DIR_ORIGINAL] = r->pending.tuple;
	e->tuple[CT_DIR_REPLY] = reply;
	e->seen_stamp = (uint32_t)now_ns;
	e->src = src_take(t, &r->pending.tuple);
	if (e->tuple[0].proto == IPPROTO_TCP_)
		ct_tcp_init(e, &r->pending);
	chain_insert(t, idx, CT_DIR_ORIGINAL);
	chain_insert(t, idx, CT_DIR_REPLY);
	fifo_append(t, idx);
	ct_entry_touch(t, e, CT_DIR_ORIGINAL, r->pending.len_bytes, now_ns);
	t->st.in_use++;
	t->st.created++;
	r->entry = idx;
	r->dir = CT_DIR_ORIGINAL;
	if (r->frag_first)
		frag_remember(t, r, now_ns);
	return 0;
}

uint32_t
ct_expire(struct ct_table *t, uint64_t now_ns, uint32_t budget)
{
	uint64_t n_scan = HG_MIN((uint64_t)budget * 4, t->n_entries);
	uint32_t freed = 0, idx = t->expire_cursor;

	for (uint64_t i = 0; i < n_scan && freed < budget; i++) {
		struct ct_entry *e = &t->entries[idx];

		if ((e->flags & CT_E_USED) && ct_entry_is_expired(e, now_ns)) {
			ct_entry_free(t, idx);
			t->st.expired++;
			freed++;
		}
		if (++idx == t->n_entries)
			idx = 0;
	}
	t->expire_cursor = idx;
	return freed;
}

void
ct_table_stats(const struct ct_table *t, struct ct_stats *st)
{
	*st = t->st;
}

static void
ct_flow_fill(const struct ct_entry *e, struct ct_flow_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->orig = e->tuple[CT_DIR_ORIGINAL];
	fi->reply = e->tuple[CT_DIR_REPLY];
	fi->tcp_state = e->tcp_state;
	fi->seen_reply = (e->flags & CT_E_SEEN_REPLY) != 0;
	fi->expires_ns = e->expires_ns;
	for (int d = 0; d < CT_DIR_COUNT; d++) {
		fi->packets[d] = e->packets[d];
		fi->bytes[d] = e->bytes[d];
	}
}

int
ct_walk(const struct ct_table *t, uint64_t now_ns,
    int (*fn)(const struct ct_flow_info *, void *), void *arg)
{
	struct ct_flow_info fi;
	int rc;

	for (uint32_t i = 0; i < t->n_entries; i++) {
		const struct ct_entry *e = &t->entries[i];

		if (!(e->flags & CT_E_USED) || ct_entry_is_expired(e, now_ns))
			continue;
		ct_flow_fill(e, &fi);
		rc = fn(&fi, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

bool
ct_entry_info(const struct ct_table *t, uint32_t entry,
    struct ct_flow_info *fi)
{
	if (entry >= t->n_entries || !(t->entries[entry].flags & CT_E_USED))
		return false;
	ct_flow_fill(&t->entries[entry], fi);
	return true;
}

enum ct_tcp_state
ct_entry_tcp_state(const struct ct_table *t, uint32_t entry)
{
	if (entry >= t->n_entries || !(t->entries[entry].flags & CT_E_USED))
		return CT_TCP_NONE;
	return t->entries[entry].tcp_state;
}

const char *
ct_state_name(enum ct_state s)
{
	static const char *const names[] = {
		[CT_STATE_NEW] = "NEW",
		[CT_STATE_ESTABLISHED] = "ESTABLISHED",
		[CT_STATE_RELATED] = "RELATED",
		[CT_STATE_INVALID] = "INVALID",
		[CT_STATE_UNTRACKED] = "UNTRACKED",
	};
	_Static_assert(HG_ARRAY_SIZE(names) == CT_STATE_COUNT, "names");

	return (unsigned)s < CT_STATE_COUNT ? names[s] : "?";
}

const char *
ct_tcp_state_name(enum ct_tcp_state s)
{
	static const char *const names[] = {
		[CT_TCP_NONE] = "NONE",
		[CT_TCP_SYN_SENT] = "SYN_SENT",
		[CT_TCP_SYN_RECV] = "SYN_RECV",
		[CT_TCP_ESTABLISHED] = "ESTABLISHED",
		[CT_TCP_FIN_WAIT] = "FIN_WAIT",
		[CT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[CT_TCP_LAST_ACK] = "LAST_ACK",
		[CT_TCP_TIME_WAIT] = "TIME_WAIT",
		[CT_TCP_CLOSE] = "CLOSE",
	};
	_Static_assert(HG_ARRAY_SIZE(names) == CT_TCP_COUNT, "names");

	return (unsigned)s < CT_TCP_COUNT ? names[s] : "?";
}

const char *
ct_invalid_name(enum ct_invalid why)
{
#define CT_INVALID_TEXT(name, text)	text,
	static const char *const names[] = {
		CT_INVALID_REASONS(CT_INVALID_TEXT)
	};
#undef CT_INVALID_TEXT
	_Static_assert(HG_ARRAY_SIZE(names) == CT_INVALID_COUNT, "names");

	return (unsigned)why < CT_INVALID_COUNT ? names[why] : "?";
}
