/*
 * src/ip/neigh.c: the neighbour table (IPv4 ARP and IPv6 ND entries), and
 * the resolution step of output: finish a packet toward a neighbour's MAC,
 * or hold it until the neighbour answers.
 *
 * The table is shared by every worker and updated in place without locks.
 * It is an open-addressing hash of fixed capacity whose slots never move
 * and are never freed:
 *  - a slot is claimed with a compare-and-swap EMPTY -> CLAIMED, its key is
 *    written, and it is published with a release store CLAIMED -> USED.
 *    Readers skip CLAIMED slots, so they never see a half-written key.  Two
 *    workers racing to add the same key may both succeed; lookups find the
 *    first, the second is a harmless unused duplicate.
 *  - the MAC is one 64-bit word (48-bit address | valid bit) stored and
 *    loaded atomically, so a reader sees the old or the new MAC whole.
 * Entries are not deleted: a neighbour that stops answering loses its valid
 * bit and is resolved again.  The table is sized for the largest neighbour
 * set (default 64K entries) and counts NEIGH_TABLE_FULL beyond it.
 *
 * Packets waiting for resolution stay with the worker that holds them
 * (struct ip_worker.pending); only the answer travels, through the table.
 */
#include <errno.h>
#include <stdlib.h>

#include "ip_priv.h"

#define NEIGH_SLOT_EMPTY	0
#define NEIGH_SLOT_CLAIMED	1
#define NEIGH_SLOT_USED		2
#define NEIGH_MAC_VALID		(1ULL << 63)

struct ip_neigh_table {
	uint32_t mask;		/* capacity - 1 */
	uint32_t limit;		/* slots we fill before saying "full" */
	uint32_t used;		/* atomic */
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
	if (nt->slots == NULL) {
		free(nt);
		return -ENOMEM;
	}
	nt->mask = cap - 1;
	nt->limit = cap - cap / 4;	/* keep probe chains short */
	*out = nt;
	return 0;
}

void
ip_neigh_table_destroy(struct ip_neigh_table *nt)
{
	if (nt == NULL)
		return;
	free(nt->slots);
	free(nt);
}

static uint32_t
neigh_hash(uint16_t if_idx, uint8_t family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ if_idx ^ ((uint32_t)family << 16);
	size_t n = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h ^ (h >> 15);
}

static bool
neigh_key_eq(const struct ip_neigh *n, uint16_t if_idx, uint8_t family,
    const uint8_t *addr)
{
	return n->if_idx == if_idx && n->family == family &&
	    memcmp(n->addr, addr, family == AF_INET ? 4 : 16) == 0;
}

struct ip_neigh *
ip_neigh_find(struct ip_neigh_table *nt, uint16_t if_idx, uint8_t family,
    const uint8_t *addr)
{
	uint32_t i = neigh_hash(if_idx, family, addr);

	for (uint32_t step = 0; step <= nt->mask; step++, i++) {
		struct ip_neigh *n = &nt->slots[i & nt->mask];
		uint32_t s = __atomic_load_n(&n->slot, __ATOMIC_ACQUIRE);

		if (s == NEIGH_SLOT_EMPTY)
			return NULL;
		if (s == NEIGH_SLOT_USED && neigh_key_eq(n, if_idx, family, addr))
			return n;
	}
	return NULL;
}

struct ip_neigh *
ip_neigh_get(struct ip_neigh_table *nt, uint16_t if_idx, uint8_t family,
    const uint8_t *addr)
{
	struct ip_neigh *n = ip_neigh_find(nt, if_idx, family, addr);
	uint32_t i;

	if (n != NULL)
		return n;
	if (__atomic_load_n(&nt->used, __ATOMIC_RELAXED) >= nt->limit)
		return NULL;
	i = neigh_hash(if_idx, family, addr);
	for (uint32_t step = 0; step <= nt->mask; step++, i++) {
		uint32_t empty = NEIGH_SLOT_EMPTY;

		n = &nt->slots[i & nt->mask];
		if (!__atomic_compare_exchange_n(&n->slot, &empty,
		    NEIGH_SLOT_CLAIMED, false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			if (empty == NEIGH_SLOT_USED &&
			    neigh_key_eq(n, if_idx, family, addr))
				return n;	/* someone just added it */
			continue;
		}
		n->if_idx = if_idx;
		n->family = family;
		memset(n->addr, 0, sizeof(n->addr));
		memcpy(n->addr, addr, family == AF_INET ? 4 : 16);
		__atomic_fetch_add(&nt->used, 1, __ATOMIC_RELAXED);
		/* Key written; now readers may see the slot. */
		__atomic_store_n(&n->slot, NEIGH_SLOT_USED, __ATOMIC_RELEASE);
		return n;
	}
	return NULL;
}

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
ip_neigh_confirm(struct ip_worker *w, struct ip_neigh *n,
    const uint8_t mac[ETH_ALEN], uint64_t now_ns)
{
	uint64_t v = mac_pack(mac);

	if (__atomic_load_n(&n->is_static, __ATOMIC_RELAXED))
		return;
	if (__atomic_load_n(&n->mac, __ATOMIC_RELAXED) != v) {
		__atomic_store_n(&n->mac, v, __ATOMIC_RELEASE);
		w->st.neigh_learned++;
	}
	__atomic_store_n(&n->confirmed_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
}

int
ip_neigh_set_static(struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr, const uint8_t mac[ETH_ALEN])
{
	struct ip_neigh *n = ip_neigh_get(nt, if_idx, family, addr);

	if (n == NULL)
		return -ENOSPC;
	__atomic_store_n(&n->is_static, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&n->mac, mac_pack(mac), __ATOMIC_RELEASE);
	return 0;
}

void
ip_neigh_unpin_except(struct ip_neigh_table *nt,
    const struct ip_neigh_info *keep, uint32_t n_keep)
{
	for (uint32_t i = 0; i <= nt->mask; i++) {
		struct ip_neigh *n = &nt->slots[i];
		bool kept = false;

		if (__atomic_load_n(&n->slot, __ATOMIC_ACQUIRE) != NEIGH_SLOT_USED ||
		    !__atomic_load_n(&n->is_static, __ATOMIC_RELAXED))
			continue;
		for (uint32_t k = 0; k < n_keep && !kept; k++)
			kept = neigh_key_eq(n, keep[k].if_idx, keep[k].family,
			    keep[k].addr);
		if (kept)
			continue;
		/* Stale: still used, probed at next use. */
		__atomic_store_n(&n->confirmed_ns, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&n->is_static, 0, __ATOMIC_RELEASE);
	}
}

static enum ip_neigh_state
neigh_state(const struct ip_neigh *n, uint64_t now_ns)
{
	uint64_t mac = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
	uint64_t seen = __atomic_load_n(&n->confirmed_ns, __ATOMIC_RELAXED);

	if (__atomic_load_n(&n->is_static, __ATOMIC_RELAXED))
		return IP_NEIGH_STATIC;
	if (!(mac & NEIGH_MAC_VALID))
		return IP_NEIGH_INCOMPLETE;
	if (seen == 0 || now_ns - seen > IP_NEIGH_REACHABLE_NS)
		return IP_NEIGH_STALE;
	return IP_NEIGH_REACHABLE;
}

void
ip_neigh_walk(const struct ip_neigh_table *nt, uint64_t now_ns,
    void (*fn)(const struct ip_neigh_info *, void *), void *arg)
{
	struct ip_neigh_info info;

	for (uint32_t i = 0; i <= nt->mask; i++) {
		const struct ip_neigh *n = &nt->slots[i];

		if (__atomic_load_n(&n->slot, __ATOMIC_ACQUIRE) != NEIGH_SLOT_USED)
			continue;
		memset(&info, 0, sizeof(info));
		info.if_idx = n->if_idx;
		info.family = n->family;
		memcpy(info.addr, n->addr, 16);
		mac_unpack(__atomic_load_n(&n->mac, __ATOMIC_ACQUIRE), info.mac);
		info.state = (uint8_t)neigh_state(n, now_ns);
		fn(&info, arg);
	}
}

/* True when the caller won the right to send the next probe now: one
 * probe per neighbour per IP_NEIGH_RETRANS_NS across all workers. */
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
neigh_probe(struct ip_worker *w, const struct ip_tables *t,
    const struct ip_neigh *n, const uint8_t *unicast_mac,
    struct pkt_batch *tx)
{
	const struct ip_if *ifp = &t->ifs[n->if_idx];

	if (n->family == AF_INET) {
		uint32_t a_be;

		memcpy(&a_be, n->addr, 4);
		ip_arp_send_request(w, ifp, n->if_idx, a_be, unicast_mac, tx);
	} else {
		ip_nd_send_solicit(w, ifp, n->if_idx, n->addr, unicast_mac, tx);
	}
}

static void
neigh_finish(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    const struct ip_neigh *n, uint64_t mac, struct pkt_batch *tx)
{
	uint8_t dst[ETH_ALEN];

	mac_unpack(mac, dst);
	p->out_if = n->if_idx;
	ip_eth_write(p, dst, t->ifs[n->if_idx].mac,
	    n->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	ip_tx(w, p, tx);
}

void
ip_neigh_output(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint16_t if_idx, uint8_t family, const uint8_t *addr,
    struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip_neigh *n = ip_neigh_get(w->nt, if_idx, family, addr);
	uint64_t mac;

	if (hg_unlikely(n == NULL)) {
		ip_drop(w, p, PKT_DROP_NEIGH_TABLE_FULL);
		return;
	}
	mac = __atomic_load_n(&n->mac, __ATOMIC_ACQUIRE);
	if (hg_likely(mac & NEIGH_MAC_VALID)) {
		neigh_finish(w, t, p, n, mac, tx);
		if (neigh_state(n, now_ns) != IP_NEIGH_STALE)
			return;
		/* Stale: keep using it, confirm it with unicast probes, and
		 * forget the MAC if they go unanswered. */
		if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >= IP_NEIGH_PROBES &&
		    now_ns - n->probe_ns >= IP_NEIGH_RETRANS_NS) {
			__atomic_store_n(&n->mac, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
		} else if (neigh_claim_probe(n, now_ns)) {
			uint8_t m[ETH_ALEN];

			mac_unpack(mac, m);
			neigh_probe(w, t, n, m, tx);
		}
		return;
	}
	if (w->n_pending >= IP_PENDING_MAX) {
		ip_drop(w, p, PKT_DROP_NEIGH_QUEUE_FULL);
		return;
	}
	p->out_if = if_idx;
	w->pending[w->n_pending].p = p;
	w->pending[w->n_pending].n = n;
	w->n_pending++;
	/* After a failed resolution the next packet starts a new one. */
	if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >= IP_NEIGH_PROBES)
		__atomic_store_n(&n->probes, 0, __ATOMIC_RELAXED);
	if (neigh_claim_probe(n, now_ns))
		neigh_probe(w, t, n, NULL, tx);
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

		if (mac & NEIGH_MAC_VALID) {
			neigh_finish(w, t, pe.p, n, mac, tx);
			continue;
		}
		if (now_ns - __atomic_load_n(&n->probe_ns, __ATOMIC_RELAXED) >=
		    IP_NEIGH_RETRANS_NS) {
			if (__atomic_load_n(&n->probes, __ATOMIC_RELAXED) >=
			    IP_NEIGH_PROBES) {
				failed[n_failed++] = pe.p;
				continue;
			}
			if (neigh_claim_probe(n, now_ns))
				neigh_probe(w, t, n, NULL, tx);
		}
		w->pending[keep++] = pe;
	}
	w->n_pending = keep;
	/* Only now: the errors sent about failed packets may themselves
	 * wait for a neighbour and join the queue just compacted. */
	for (uint32_t i = 0; i < n_failed; i++)
		neigh_fail(w, t, failed[i], tx, now_ns);
}
