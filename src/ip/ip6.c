/*
 * src/ip/ip6.c: IPv6 (RFC 8200, RFC 4443), one packet at a time for the
 * stages of input.c: the route decision (multicast and link-local
 * destinations, neighbour discovery answered before INPUT, the forwarding
 * checks: hop limit, MTU with packet too big, no fragmentation en route),
 * local delivery (echo), and the output of packets hexgate originates.
 */
#include "ip_priv.h"

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 0x02 };

/* Multicast groups an interface of ours listens to. */
static bool
ip6_mcast_is_ours(const struct ip_if *ifp, const uint8_t a[16])
{
	uint8_t sn[16];

	if (memcmp(a, all_nodes, 16) == 0 || memcmp(a, all_routers, 16) == 0)
		return true;
	ip6_solicited_node(ifp->ll6, sn);
	if (memcmp(a, sn, 16) == 0)
		return true;
	for (uint8_t i = 0; i < ifp->n_addr6; i++) {
		ip6_solicited_node(ifp->addr6[i].addr, sn);
		if (memcmp(a, sn, 16) == 0)
			return true;
	}
	return false;
}

static void
ip6_echo(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip6_hdr *ip = pkt_l3(p);
	struct icmp6_hdr *ic = pkt_l4(p);
	uint32_t icmp_len = (uint32_t)(p->l3_off + p->l3_len - p->l4_off);
	uint8_t tmp[16];

	if (ip6_is_multicast(ip->dst)) {
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		return;
	}
	/* Reply without any extension headers the request carried. */
	if (p->l4_off != p->l3_off + IP6_HDR_LEN) {
		memmove(ip + 1, ic, icmp_len);
		ic = (struct icmp6_hdr *)(void *)(ip + 1);
	}
	ip->plen_be = htons((uint16_t)icmp_len);
	ip->nxt = IPPROTO_ICMPV6_;
	ip->hlim = IP_DEFAULT_TTL;
	memcpy(tmp, ip->src, 16);
	memcpy(ip->src, ip->dst, 16);
	memcpy(ip->dst, tmp, 16);
	ic->type = ICMP6_ECHO_REPLY;
	ic->csum_be = 0;
	ic->csum_be = pkt_l4_csum6(ip, ic, icmp_len, IPPROTO_ICMPV6_);
	p->l4_off = (uint16_t)(p->l3_off + IP6_HDR_LEN);
	p->l3_len = (uint16_t)(IP6_HDR_LEN + icmp_len);
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	p->flags = PKT_F_LOCAL;
	w->st.echo_replies_sent++;
	ip6_output_local(w, t, p, tx, now_ns);
}

static bool
ip6_is_nd(const struct pkt *p)
{
	const struct icmp6_hdr *ic;

	if (p->l4_proto != IPPROTO_ICMPV6_ || p->l4_off == 0)
		return false;
	ic = pkt_l4(p);
	return ic->type == ICMP6_NEIGH_SOLICIT || ic->type == ICMP6_NEIGH_ADVERT;
}

/* ND is answered before INPUT: the link's own business, no filter. */
static enum ip_next
ip6_to_us(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip6_hdr *ip = pkt_l3(p);

	if ((p->flags & PKT_F_FRAG) || !ip6_is_nd(p))
		return IP_NEXT_INPUT;
	if (pkt_l4_csum6(ip, pkt_l4(p), (uint32_t)(p->l3_off + p->l3_len -
	    p->l4_off), IPPROTO_ICMPV6_) != 0)
		ip_drop(w, p, PKT_DROP_L4_CSUM);
	else
		ip_nd_input(w, t, p, tx, now_ns);
	return IP_NEXT_NONE;
}

/* Local delivery of a packet INPUT accepted: IP_NEXT_HOST when the host
 * side should have it, else IP_NEXT_NONE (answered or dropped). */
enum ip_next
ip6_local(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    bool host, struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip6_hdr *ip = pkt_l3(p);
	const struct icmp6_hdr *ic;

	if (p->flags & PKT_F_FRAG) {
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		return IP_NEXT_NONE;
	}
	if (p->l4_proto == IPPROTO_ICMPV6_ && p->l4_off != 0) {
		ic = pkt_l4(p);
		if (pkt_l4_csum6(ip, ic, (uint32_t)(p->l3_off + p->l3_len -
		    p->l4_off), IPPROTO_ICMPV6_) != 0) {
			ip_drop(w, p, PKT_DROP_L4_CSUM);
			return IP_NEXT_NONE;
		}
		if (ic->type == ICMP6_ECHO_REQUEST) {
			ip6_echo(w, t, p, tx, now_ns);
			return IP_NEXT_NONE;
		}
	}
	/* Everything else is the host side's to serve, when it has one. */
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	if (host)
		return IP_NEXT_HOST;
	if (p->l4_proto == IPPROTO_UDP_ && !ip6_is_multicast(ip->dst))
		ip6_icmp_error(w, t, p, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH,
		    0, PKT_DROP_LOCAL_NO_SERVICE, tx, now_ns);
	else if (p->l4_proto == IPPROTO_ICMPV6_ && p->l4_off != 0)
		ip_drop(w, p, PKT_DROP_ICMP_UNHANDLED);
	else
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
	return IP_NEXT_NONE;
}

/*
 * After PREROUTING: where p goes.  Multicast and link-local destinations
 * are ours or nobody's; the rest follow nh_idx (looked up again if
 * PREROUTING changed the destination), forwarded ones after the hop
 * limit, route, interface and MTU checks (no fragmentation en route:
 * packet too big).
 */
enum ip_next
ip6_route(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip6_hdr *ip = pkt_l3(p);
	const struct ip_if *ifp = &t->ifs[p->in_if];
	const struct ip_if *oif;
	const struct ip_nh *nh;

	if (ip6_is_multicast(ip->dst)) {
		if (ip6_mcast_is_ours(ifp, ip->dst))
			return ip6_to_us(w, t, p, tx, now_ns);
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		return IP_NEXT_NONE;
	}
	if (ip6_is_link_local(ip->dst)) {
		/* Link-local destinations are never routed (RFC 4291 §2.5.6). */
		if (memcmp(ip->dst, ifp->ll6, 16) == 0)
			return ip6_to_us(w, t, p, tx, now_ns);
		ip_drop(w, p, PKT_DROP_L2_OTHER_HOST);
		return IP_NEXT_NONE;
	}
	if (nh_idx != IP_FIB_MISS && t->nh[nh_idx].type == IP_NH_LOCAL)
		return ip6_to_us(w, t, p, tx, now_ns);
	if ((p->flags & (PKT_F_L2_BCAST | PKT_F_L2_MCAST)) ||
	    ip6_is_link_local(ip->src) || ip6_is_unspecified(ip->src)) {
		ip_drop(w, p, PKT_DROP_NO_ROUTE);
		return IP_NEXT_NONE;
	}
	if (ip->hlim <= 1) {
		ip6_icmp_error(w, t, p, ICMP6_TIME_EXCEEDED, 0, 0,
		    PKT_DROP_TTL_EXPIRED, tx, now_ns);
		return IP_NEXT_NONE;
	}
	if (nh_idx == IP_FIB_MISS) {
		ip6_icmp_error(w, t, p, ICMP6_DEST_UNREACH, ICMP6_NO_ROUTE, 0,
		    PKT_DROP_NO_ROUTE, tx, now_ns);
		return IP_NEXT_NONE;
	}
	nh = &t->nh[nh_idx];
	if (nh->type == IP_NH_BLACKHOLE) {
		ip_drop(w, p, PKT_DROP_BLACKHOLE);
		return IP_NEXT_NONE;
	}
	oif = &t->ifs[nh->if_idx];
	if (!oif->up) {
		ip6_icmp_error(w, t, p, ICMP6_DEST_UNREACH, ICMP6_ADDR_UNREACH,
		    0, PKT_DROP_IF_DOWN, tx, now_ns);
		return IP_NEXT_NONE;
	}
	if (p->l3_len > oif->mtu_bytes) {
		ip6_icmp_error(w, t, p, ICMP6_PACKET_TOO_BIG, 0,
		    htonl(oif->mtu_bytes), PKT_DROP_MTU_EXCEEDED, tx, now_ns);
		return IP_NEXT_NONE;
	}
	p->out_if = nh->if_idx;
	return IP_NEXT_FORWARD;
}

/* FORWARD accepted p: one hop less, L2 padding gone. */
void
ip6_forward(struct pkt *p)
{
	((struct ip6_hdr *)pkt_l3(p))->hlim--;
	p->len = (uint16_t)(p->l3_off + p->l3_len);
}

/*
 * The route of a packet the host side or the router sent: its next hop,
 * or IP_FIB_MISS with *onlink when a link-local destination leaves where
 * the packet came from, or IP_FIB_MISS with p dropped.
 */
uint32_t
ip6_route_output(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, bool *onlink)
{
	const struct ip6_hdr *ip = pkt_l3(p);
	const struct ip_nh *nh;
	uint32_t nh_idx;

	*onlink = false;
	if (ip6_is_link_local(ip->dst)) {
		if (p->in_if >= t->n_if) {
			ip_drop(w, p, PKT_DROP_NO_ROUTE);
			return IP_FIB_MISS;
		}
		p->out_if = p->in_if;
		*onlink = true;
		return IP_FIB_MISS;
	}
	nh_idx = ip_fib6_lookup(t->fib6, ip->dst);
	if (nh_idx == IP_FIB_MISS) {
		ip_drop(w, p, PKT_DROP_NO_ROUTE);
		return IP_FIB_MISS;
	}
	nh = &t->nh[nh_idx];
	if (nh->type == IP_NH_BLACKHOLE || nh->type == IP_NH_LOCAL) {
		ip_drop(w, p, nh->type == IP_NH_LOCAL ?
		    PKT_DROP_LOCAL_NO_SERVICE : PKT_DROP_BLACKHOLE);
		return IP_FIB_MISS;
	}
	p->out_if = nh->if_idx;
	return nh_idx;
}

void
ip6_output_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns)
{
	bool onlink;
	uint32_t nh_idx = ip6_route_output(w, t, p, &onlink);

	if (onlink)
		ip_neigh_output(w, t, p, p->out_if, AF_INET6,
		    ((const struct ip6_hdr *)pkt_l3(p))->dst, tx, now_ns);
	else if (nh_idx != IP_FIB_MISS)
		ip_neigh_output_nh(w, t, p, nh_idx, tx, now_ns);
}
