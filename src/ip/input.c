/*
 * src/ip/input.c: the router's entry point.  ip_input() checks the link
 * layer and hands each packet to ARP, IPv4 or IPv6 input; the per-worker
 * state and the one drop path live here too.
 */
#include <errno.h>
#include <stdlib.h>

#include "ip_priv.h"

int
ip_worker_create(struct ip_worker **out, struct pkt_pool *pool,
    struct ip_neigh_table *nt, uint64_t *drops)
{
	struct ip_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->pool = pool;
	w->nt = nt;
	w->drops = drops;
	w->icmp_tokens = IP_ICMP_BURST;
	*out = w;
	return 0;
}

void
ip_worker_destroy(struct ip_worker *w)
{
	if (w == NULL)
		return;
	for (uint32_t i = 0; i < w->n_pending; i++)
		pkt_free(w->pool, w->pending[i].p);
	free(w);
}

const struct ip_worker_stats *
ip_worker_stats(const struct ip_worker *w)
{
	return &w->st;
}

bool
ip_worker_has_pending(const struct ip_worker *w)
{
	return w->n_pending != 0;
}

void
ip_drop(struct ip_worker *w, struct pkt *p, enum pkt_drop reason)
{
	p->drop = (uint8_t)reason;
	ip_drop_count(w, p, reason);
	pkt_free(w->pool, p);
}

void
ip_worker_set_hooks(struct ip_worker *w, const struct ip_hooks *h)
{
	if (h != NULL)
		w->hooks = *h;
	else
		memset(&w->hooks, 0, sizeof(w->hooks));
}

bool
ip_filter(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    enum ip_hook hook, uint16_t out_if, struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip_filter_result res;

	if (w->hooks.filter == NULL)
		return true;
	w->hooks.filter(w->hooks.arg, p, hook, out_if, now_ns, &res);
	switch (res.action) {
	case IP_FILTER_ACCEPT:
		return true;
	case IP_FILTER_REJECT_ICMP:
		if (p->l3 == PKT_L3_IP4)
			ip4_icmp_error(w, t, p, res.icmp_type, res.icmp_code, 0,
			    (enum pkt_drop)res.reason, tx, now_ns);
		else
			ip6_icmp_error(w, t, p, res.icmp_type, res.icmp_code, 0,
			    (enum pkt_drop)res.reason, tx, now_ns);
		return false;
	case IP_FILTER_REJECT_TCP_RESET:
		ip_tcp_reset(w, t, p, (enum pkt_drop)res.reason, tx, now_ns);
		return false;
	default:
		ip_drop(w, p, (enum pkt_drop)res.reason);
		return false;
	}
}

void
ip_output(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	p->flags |= PKT_F_LOCAL;
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	if (p->l3 == PKT_L3_IP4)
		ip4_output_local(w, t, p, tx, now_ns);
	else if (p->l3 == PKT_L3_IP6)
		ip6_output_local(w, t, p, tx, now_ns);
	else
		ip_drop(w, p, PKT_DROP_ETHERTYPE);
}

void
ip_tx(struct ip_worker *w, struct pkt *p, struct pkt_batch *tx)
{
	if (hg_unlikely(!pkt_batch_add(tx, p)))
		ip_drop(w, p, PKT_DROP_OUT_OF_SPACE);
}

static bool
in_prefix4(uint32_t a_be, uint32_t p_be, uint8_t plen)
{
	uint32_t mask = plen == 0 ? 0 : htonl(~0u << (32 - plen));

	return ((a_be ^ p_be) & mask) == 0;
}

static bool
in_prefix6(const uint8_t a[16], const uint8_t p[16], uint8_t plen)
{
	uint8_t full = plen / 8, rest = plen % 8;

	if (memcmp(a, p, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ p[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Our address on ifp to use toward dst: the one whose network holds dst,
 * else the first; 0 when ifp has no IPv4 address. */
uint32_t
ip_if_src4(const struct ip_if *ifp, uint32_t dst_be)
{
	for (uint8_t i = 0; i < ifp->n_addr4; i++)
		if (in_prefix4(dst_be, ifp->addr4[i].addr_be, ifp->addr4[i].plen))
			return ifp->addr4[i].addr_be;
	return ifp->n_addr4 ? ifp->addr4[0].addr_be : 0;
}

/* Link-local toward link-local destinations, else a global address whose
 * network holds dst, else the first global, else link-local. */
const uint8_t *
ip_if_src6(const struct ip_if *ifp, const uint8_t dst[16])
{
	if (ip6_is_link_local(dst) || ifp->n_addr6 == 0)
		return ifp->ll6;
	for (uint8_t i = 0; i < ifp->n_addr6; i++)
		if (in_prefix6(dst, ifp->addr6[i].addr, ifp->addr6[i].plen))
			return ifp->addr6[i].addr;
	return ifp->addr6[0].addr;
}

bool
ip_if_has_addr4(const struct ip_if *ifp, uint32_t a_be)
{
	for (uint8_t i = 0; i < ifp->n_addr4; i++)
		if (ifp->addr4[i].addr_be == a_be)
			return true;
	return false;
}

bool
ip_if_has_addr6(const struct ip_if *ifp, const uint8_t a[16])
{
	if (memcmp(a, ifp->ll6, 16) == 0)
		return true;
	for (uint8_t i = 0; i < ifp->n_addr6; i++)
		if (memcmp(a, ifp->addr6[i].addr, 16) == 0)
			return true;
	return false;
}

static inline void
ip_input_one(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_if *ifp;
	const struct eth_hdr *eh = pkt_eth(p);

	if (hg_unlikely(p->in_if >= t->n_if)) {
		ip_drop(w, p, PKT_DROP_IF_DOWN);
		return;
	}
	ifp = &t->ifs[p->in_if];
	if (!(p->flags & (PKT_F_L2_BCAST | PKT_F_L2_MCAST)) &&
	    memcmp(eh->dst, ifp->mac, ETH_ALEN) != 0) {
		ip_drop(w, p, PKT_DROP_L2_OTHER_HOST);
		return;
	}
	/* No VLAN sub-interfaces yet: a tagged frame belongs to no
	 * interface of ours. */
	if (p->flags & PKT_F_VLAN) {
		ip_drop(w, p, PKT_DROP_ETHERTYPE);
		return;
	}
	switch (p->l3) {
	case PKT_L3_IP4:
		ip4_input(w, t, p, tx, now_ns);
		break;
	case PKT_L3_IP6:
		ip6_input(w, t, p, tx, now_ns);
		break;
	case PKT_L3_ARP:
		ip_arp_input(w, t, p, tx, now_ns);
		break;
	default:
		ip_drop(w, p, PKT_DROP_ETHERTYPE);
		break;
	}
}

/*
 * Look up every IPv4 and IPv6 destination of the batch first, with the
 * FIBs' bulk lookups, so the DRAM misses of a large FIB overlap instead
 * of following one another: bench_pipeline on a 1M-prefix table went from
 * 2.9 to 12.6 Mpps per core with it.
 * The next-hop index waits in p->user, tagged so ip4_input() can tell it
 * from a packet that skipped this pass.
 */
static void
ip_input_prelookup(const struct ip_tables *t, struct pkt_batch *rx)
{
	uint32_t addrs[PKT_BATCH_MAX], nh[PKT_BATCH_MAX];
	const uint8_t *addrs6[PKT_BATCH_MAX];
	uint16_t idx[PKT_BATCH_MAX], idx6[PKT_BATCH_MAX], m = 0, m6 = 0;

	for (uint16_t i = 0; i < rx->n; i++) {
		const struct pkt *p = rx->pkts[i];

		if (p->l3 == PKT_L3_IP4) {
			addrs[m] = ((const struct ip4_hdr *)pkt_l3(p))->dst_be;
			idx[m++] = i;
		} else if (p->l3 == PKT_L3_IP6) {
			addrs6[m6] = ((const struct ip6_hdr *)pkt_l3(p))->dst;
			idx6[m6++] = i;
		}
	}
	if (m != 0) {
		ip_fib4_lookup_bulk(t->fib4, addrs, nh, m);
		for (uint16_t k = 0; k < m; k++)
			rx->pkts[idx[k]]->user = IP_USER_NH_TAG | nh[k];
	}
	if (m6 != 0) {
		ip_fib6_lookup_bulk(t->fib6, addrs6, nh, m6);
		for (uint16_t k = 0; k < m6; k++)
			rx->pkts[idx6[k]]->user = IP_USER_NH_TAG | nh[k];
	}
}

void
ip_input(struct ip_worker *w, const struct ip_tables *t, struct pkt_batch *rx,
    struct pkt_batch *tx, uint64_t now_ns)
{
	ip_input_prelookup(t, rx);
	for (uint16_t i = 0; i < rx->n; i++) {
		if (i + HG_PREFETCH_AHEAD < rx->n)
			hg_prefetch(rx->pkts[i + HG_PREFETCH_AHEAD]->data);
		ip_input_one(w, t, rx->pkts[i], tx, now_ns);
	}
	rx->n = 0;
}
