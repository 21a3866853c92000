/*
 * src/ip/input.c: the router's stages over a batch (ip.h says their
 * order; src/dp/pipeline.c runs them): link checks and route lookup,
 * the route decision after PREROUTING, the chains' verdicts carried out,
 * local delivery, and neighbour resolution.  The per-family work is in
 * ip4.c and ip6.c; the per-worker state and the one drop path live here.
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
	for (uint16_t i = 0; i < w->encap.n; i++)
		pkt_free(w->pool, w->encap.pkts[i]);
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
ip_vec_drop(struct ip_worker *w, struct ip_vec *v, uint16_t i,
    enum pkt_drop reason)
{
	ip_drop(w, v->pkts[i], reason);
	v->pkts[i] = NULL;
	v->next[i] = IP_NEXT_NONE;
}

/* Finish p toward next hop nh_idx (its gateway, or the destination of a
 * connected route). */
void
ip_neigh_output_nh(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_nh *nh = &t->nh[nh_idx];
	bool v4 = p->l3 == PKT_L3_IP4;
	const uint8_t *dst = v4 ?
	    (const uint8_t *)&((const struct ip4_hdr *)pkt_l3(p))->dst_be :
	    ((const struct ip6_hdr *)pkt_l3(p))->dst;

	ip_neigh_output(w, t, p, nh->if_idx, v4 ? AF_INET : AF_INET6,
	    nh->type == IP_NH_GATEWAY ? nh->gw : dst, tx, now_ns);
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

/* Link checks, ARP, martian sources: IP packets go on to PREROUTING. */
static inline enum ip_next
ip_input_one(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_if *ifp;
	const struct eth_hdr *eh = pkt_eth(p);

	if (hg_unlikely(p->in_if >= t->n_if)) {
		ip_drop(w, p, PKT_DROP_IF_DOWN);
		return IP_NEXT_NONE;
	}
	ifp = &t->ifs[p->in_if];
	if (!(p->flags & (PKT_F_L2_BCAST | PKT_F_L2_MCAST)) &&
	    memcmp(eh->dst, ifp->mac, ETH_ALEN) != 0) {
		ip_drop(w, p, PKT_DROP_L2_OTHER_HOST);
		return IP_NEXT_NONE;
	}
	/* No VLAN sub-interfaces yet: a tagged frame belongs to no
	 * interface of ours. */
	if (p->flags & PKT_F_VLAN) {
		ip_drop(w, p, PKT_DROP_ETHERTYPE);
		return IP_NEXT_NONE;
	}
	switch (p->l3) {
	case PKT_L3_IP4:
		if (hg_unlikely(ip4_is_mcast_or_bcast(
		    ((const struct ip4_hdr *)pkt_l3(p))->src_be)))
			break;
		return IP_NEXT_PREROUTING;
	case PKT_L3_IP6:
		if (hg_unlikely(ip6_is_multicast(
		    ((const struct ip6_hdr *)pkt_l3(p))->src)))
			break;
		return IP_NEXT_PREROUTING;
	case PKT_L3_ARP:
		ip_arp_input(w, t, p, tx, now_ns);
		return IP_NEXT_NONE;
	default:
		ip_drop(w, p, PKT_DROP_ETHERTYPE);
		return IP_NEXT_NONE;
	}
	ip_drop(w, p, PKT_DROP_SRC_MARTIAN);
	return IP_NEXT_NONE;
}

/*
 * Look up every IPv4 and IPv6 destination of the batch at once, with the
 * FIBs' bulk lookups, so the DRAM misses of a large FIB overlap instead
 * of following one another: bench_pipeline on a 1M-prefix table went from
 * 2.9 to 12.6 Mpps per core with it.
 */
static void
ip_input_lookup(const struct ip_tables *t, struct ip_vec *v)
{
	uint32_t addrs[PKT_BATCH_MAX], nh[PKT_BATCH_MAX];
	const uint8_t *addrs6[PKT_BATCH_MAX];
	uint16_t idx[PKT_BATCH_MAX], idx6[PKT_BATCH_MAX], m = 0, m6 = 0;

	for (uint16_t i = 0; i < v->n; i++) {
		const struct pkt *p = v->pkts[i];

		if (v->next[i] != IP_NEXT_PREROUTING)
			continue;
		if (p->l3 == PKT_L3_IP4) {
			addrs[m] = ((const struct ip4_hdr *)pkt_l3(p))->dst_be;
			idx[m++] = i;
		} else {
			addrs6[m6] = ((const struct ip6_hdr *)pkt_l3(p))->dst;
			idx6[m6++] = i;
		}
	}
	if (m != 0) {
		ip_fib4_lookup_bulk(t->fib4, addrs, nh, m);
		for (uint16_t k = 0; k < m; k++)
			v->nh[idx[k]] = nh[k];
	}
	if (m6 != 0) {
		ip_fib6_lookup_bulk(t->fib6, addrs6, nh, m6);
		for (uint16_t k = 0; k < m6; k++)
			v->nh[idx6[k]] = nh[k];
	}
}

void
ip_input(struct ip_worker *w, const struct ip_tables *t, struct ip_vec *v,
    struct pkt_batch *tx, uint64_t now_ns)
{
	for (uint16_t i = 0; i < v->n; i++) {
		if (v->next[i] != IP_NEXT_RX)
			continue;
		/* stages before (steering, reassembly) leave holes */
		if (i + HG_PREFETCH_AHEAD < v->n &&
		    v->pkts[i + HG_PREFETCH_AHEAD] != NULL)
			hg_prefetch(v->pkts[i + HG_PREFETCH_AHEAD]->data);
		v->next[i] = (uint8_t)ip_input_one(w, t, v->pkts[i], tx, now_ns);
		if (v->next[i] == IP_NEXT_NONE)
			v->pkts[i] = NULL;
	}
	ip_input_lookup(t, v);
}

void
ip_route(struct ip_worker *w, const struct ip_tables *t, struct ip_vec *v,
    uint16_t lo, uint16_t hi, struct pkt_batch *tx, uint64_t now_ns)
{
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		bool v4;
		enum ip_next next;

		if (v->next[i] != IP_NEXT_PREROUTING)
			continue;
		v4 = p->l3 == PKT_L3_IP4;
		if (v->flags[i] & IP_VF_DST_CHANGED)
			v->nh[i] = v4 ? ip_fib4_lookup(t->fib4,
			    ((const struct ip4_hdr *)pkt_l3(p))->dst_be) :
			    ip_fib6_lookup(t->fib6,
			    ((const struct ip6_hdr *)pkt_l3(p))->dst);
		next = v4 ? ip4_route(w, t, p, v->nh[i], tx, now_ns) :
		    ip6_route(w, t, p, v->nh[i], tx, now_ns);
		v->next[i] = (uint8_t)next;
		if (next == IP_NEXT_NONE)
			v->pkts[i] = NULL;
	}
}

/* A chain's REJECT, as the router's ICMP error or TCP reset. */
static void
ip_reject(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    const struct ip_filter_result *res, struct pkt_batch *tx,
    uint64_t now_ns)
{
	if (res->action == IP_FILTER_REJECT_TCP_RESET)
		ip_tcp_reset(w, t, p, (enum pkt_drop)res->reason, tx, now_ns);
	else if (p->l3 == PKT_L3_IP4)
		ip4_icmp_error(w, t, p, res->icmp_type, res->icmp_code, 0,
		    (enum pkt_drop)res->reason, tx, now_ns);
	else
		ip6_icmp_error(w, t, p, res->icmp_type, res->icmp_code, 0,
		    (enum pkt_drop)res->reason, tx, now_ns);
}

/* OUTPUT accepted p: its route.  False when p was dropped. */
static bool
ip_route_host(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t i)
{
	struct pkt *p = v->pkts[i];
	bool onlink = false;

	p->flags |= PKT_F_LOCAL;
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	v->nh[i] = p->l3 == PKT_L3_IP4 ? ip4_route_output(w, t, p) :
	    ip6_route_output(w, t, p, &onlink);
	if (onlink)
		v->flags[i] |= IP_VF_ONLINK;
	return v->nh[i] != IP_FIB_MISS || onlink;
}

void
ip_verdicts(struct ip_worker *w, const struct ip_tables *t, struct ip_vec *v,
    uint16_t lo, uint16_t hi, struct pkt_batch *tx, uint64_t now_ns)
{
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		const struct ip_filter_result *res = &v->verdict[i];
		uint8_t next = v->next[i];

		if (next != IP_NEXT_INPUT && next != IP_NEXT_FORWARD &&
		    next != IP_NEXT_OUTPUT)
			continue;
		if (res->action == IP_FILTER_ACCEPT) {
			if (next == IP_NEXT_INPUT) {
				v->next[i] = IP_NEXT_LOCAL;
			} else if (next == IP_NEXT_FORWARD) {
				if (p->l3 == PKT_L3_IP4)
					ip4_forward(p);
				else
					ip6_forward(p);
				v->next[i] = IP_NEXT_POSTROUTING;
			} else if (ip_route_host(w, t, v, i)) {
				v->next[i] = IP_NEXT_POSTROUTING;
			} else {
				v->pkts[i] = NULL;
				v->next[i] = IP_NEXT_NONE;
			}
			continue;
		}
		/* REJECT on OUTPUT drops: the host has its own errors. */
		if (res->action == IP_FILTER_DROP || next == IP_NEXT_OUTPUT)
			ip_drop(w, p, (enum pkt_drop)res->reason);
		else
			ip_reject(w, t, p, res, tx, now_ns);
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

void
ip_local(struct ip_worker *w, const struct ip_tables *t, struct ip_vec *v,
    uint16_t lo, uint16_t hi, uint64_t host_ifs, struct pkt_batch *tx,
    uint64_t now_ns)
{
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		bool host;
		enum ip_next next;

		if (v->next[i] != IP_NEXT_LOCAL)
			continue;
		host = p->in_if < 64 && (host_ifs >> p->in_if & 1);
		next = p->l3 == PKT_L3_IP4 ?
		    ip4_local(w, t, p, host, tx, now_ns) :
		    ip6_local(w, t, p, host, tx, now_ns);
		v->next[i] = (uint8_t)next;
		if (next == IP_NEXT_NONE)
			v->pkts[i] = NULL;
	}
}

/* One packet of the neighbour stage, routed to nh. */
void
ip_neigh_send(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_nh *nh = &t->nh[nh_idx];
	uint16_t mtu = t->ifs[nh->if_idx].mtu_bytes;

	/* An IPv4 packet without DF is cut to the egress MTU: a forwarded
	 * one (ip4_route() refused those with DF), and one hexgate sends
	 * itself (an IKE_AUTH with a certificate, which the control thread
	 * sends without DF, as Linux sends UDP).  One with DF here was made
	 * after routing (a tunnel's outer packet): not cut, refused. */
	if (hg_unlikely(p->l3_len > mtu) && p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);
		uint8_t a[4];

		if (ip->frag_be & htons(IP4_DF)) {
			ip_drop(w, p, PKT_DROP_MTU_EXCEEDED);
			return;
		}
		/* The next hop's address may point into p. */
		memcpy(a, nh->type == IP_NH_GATEWAY ? nh->gw :
		    (const uint8_t *)&ip->dst_be, 4);
		ip4_fragment(w, t, p, mtu, nh->if_idx, a, tx, now_ns);
		return;
	}
	ip_neigh_output_nh(w, t, p, nh_idx, tx, now_ns);
}

void
ip_neigh_stage(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t lo, uint16_t hi, struct pkt_batch *tx,
    uint64_t now_ns)
{
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];

		if (v->next[i] != IP_NEXT_NEIGH)
			continue;
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
		if (v->flags[i] & IP_VF_ONLINK) {
			ip_neigh_output(w, t, p, p->out_if, AF_INET6,
			    ((const struct ip6_hdr *)pkt_l3(p))->dst, tx,
			    now_ns);
			continue;
		}
		ip_neigh_send(w, t, p, v->nh[i], tx, now_ns);
	}
}
