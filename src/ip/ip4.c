/*
 * src/ip/ip4.c: IPv4 (RFC 1812), one packet at a time for the stages of
 * input.c: the route decision with the forwarding checks (TTL, MTU, DF),
 * local delivery (echo), the hop a forwarded packet loses, fragmentation,
 * and the output of packets hexgate originates.  ICMP errors are built in icmp.c, next hops are
 * resolved in neigh.c.
 */
#include <errno.h>

#include "ip_priv.h"

static void
ip4_echo(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip4_hdr *ip = pkt_l3(p);
	uint16_t ihl = (uint16_t)((ip->ver_ihl & 0xf) * 4);
	uint16_t icmp_len = (uint16_t)(p->l3_len - ihl);
	struct icmp_hdr *ic = pkt_l4(p);
	uint32_t src = ip->src_be, dst = ip->dst_be;

	if (pkt_csum(ic, icmp_len) != 0) {
		ip_drop(w, p, PKT_DROP_L4_CSUM);
		return;
	}
	if (ic->type != ICMP_ECHO_REQUEST || ic->code != 0 ||
	    (p->flags & (PKT_F_L2_BCAST | PKT_F_L2_MCAST))) {
		ip_drop(w, p, PKT_DROP_ICMP_UNHANDLED);
		return;
	}
	/* The reply carries no options: move the ICMP message up against a
	 * fresh 20-byte header. */
	if (ihl != IP4_HDR_LEN)
		memmove(p->data + p->l3_off + IP4_HDR_LEN, ic, icmp_len);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons((uint16_t)(IP4_HDR_LEN + icmp_len));
	ip->id_be = 0;
	ip->frag_be = 0;
	ip->ttl = IP_DEFAULT_TTL;
	ip->src_be = dst;
	ip->dst_be = src;
	pkt_ip4_set_csum(ip);
	p->l4_off = (uint16_t)(p->l3_off + IP4_HDR_LEN);
	p->l3_len = (uint16_t)(IP4_HDR_LEN + icmp_len);
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	ic = pkt_l4(p);
	ic->csum_be = pkt_csum_update16(ic->csum_be,
	    htons(ICMP_ECHO_REQUEST << 8), htons(ICMP_ECHO_REPLY << 8));
	ic->type = ICMP_ECHO_REPLY;
	p->flags = PKT_F_LOCAL;
	w->st.echo_replies_sent++;
	ip4_output_local(w, t, p, tx, now_ns);
}

/* Local delivery of a packet INPUT accepted: IP_NEXT_HOST when the host
 * side should have it, else IP_NEXT_NONE (answered or dropped). */
enum ip_next
ip4_local(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    bool host, struct pkt_batch *tx, uint64_t now_ns)
{
	/* No reassembly yet: a fragment for us has no service to reach. */
	if (p->flags & PKT_F_FRAG) {
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		return IP_NEXT_NONE;
	}
	if (p->l4_proto == IPPROTO_ICMP_ && p->l4_off != 0 &&
	    ((const struct icmp_hdr *)pkt_l4(p))->type == ICMP_ECHO_REQUEST) {
		ip4_echo(w, t, p, tx, now_ns);
		return IP_NEXT_NONE;
	}
	/* Everything else is the host side's to serve, when it has one. */
	p->len = (uint16_t)(p->l3_off + p->l3_len);
	if (host)
		return IP_NEXT_HOST;
	switch (p->l4_proto) {
	case IPPROTO_ICMP_:
		ip4_echo(w, t, p, tx, now_ns);	/* counts what it drops */
		break;
	case IPPROTO_UDP_:
		ip4_icmp_error(w, t, p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
		    0, PKT_DROP_LOCAL_NO_SERVICE, tx, now_ns);
		break;
	default:
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		break;
	}
	return IP_NEXT_NONE;
}

/* Options a non-first fragment repeats: those with the copy bit
 * (RFC 791, "Fragmentation").  Returns their length padded to 4. */
static uint16_t
ip4_copied_options(const uint8_t *opt, uint16_t len, uint8_t *out)
{
	uint16_t i = 0, n = 0;

	while (i < len) {
		uint8_t type = opt[i], olen;

		if (type == 0)
			break;
		if (type == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || (olen = opt[i + 1]) < 2 || i + olen > len)
			break;	/* pkt_parse() already refused these */
		if (type & 0x80) {
			memcpy(out + n, opt + i, olen);
			n += olen;
		}
		i += olen;
	}
	while (n % 4)
		out[n++] = 0;
	return n;
}

int
ip4_fragment_each(struct ip_worker *w, struct pkt *p, uint16_t mtu,
    void (*emit)(void *arg, struct pkt *piece), void *arg)
{
	const struct ip4_hdr *ip = pkt_l3(p);
	uint16_t ihl = (uint16_t)((ip->ver_ihl & 0xf) * 4);
	uint16_t frag = ntohs(ip->frag_be);
	uint16_t base_off = (uint16_t)((frag & IP4_OFFMASK) * 8);
	const uint8_t *payload = (const uint8_t *)ip + ihl;
	uint16_t payload_len = (uint16_t)(p->l3_len - ihl);
	uint8_t later_opts[40];
	uint16_t later_ihl = (uint16_t)(IP4_HDR_LEN +
	    ip4_copied_options((const uint8_t *)(ip + 1),
	    (uint16_t)(ihl - IP4_HDR_LEN), later_opts));
	uint16_t done = 0;

	if (mtu < ihl + 8 || mtu < later_ihl + 8) {
		ip_drop(w, p, PKT_DROP_MTU_EXCEEDED);
		return -EMSGSIZE;
	}
	while (done < payload_len) {
		uint16_t hl = done == 0 ? ihl : later_ihl;
		uint16_t chunk = (uint16_t)((mtu - hl) & ~7u);
		bool last = done + chunk >= payload_len;
		struct pkt *q = pkt_alloc(w->pool);
		struct ip4_hdr *qip;

		if (last)
			chunk = (uint16_t)(payload_len - done);
		if (q == NULL) {
			ip_drop(w, p, PKT_DROP_FRAG_NO_BUFFER);
			return -ENOBUFS;
		}
		q->in_if = p->in_if;
		q->out_if = p->out_if;
		q->l3 = PKT_L3_IP4;
		q->l3_off = ETH_HDR_LEN;
		q->l3_len = (uint16_t)(hl + chunk);
		q->len = (uint16_t)(ETH_HDR_LEN + hl + chunk);
		q->l4_proto = p->l4_proto;
		q->flags = PKT_F_FRAG | (done == 0 && base_off == 0 ?
		    PKT_F_FRAG_FIRST : 0);
		qip = pkt_l3(q);
		memcpy(qip, ip, IP4_HDR_LEN);
		if (done == 0)
			memcpy(qip + 1, ip + 1, (size_t)(ihl - IP4_HDR_LEN));
		else
			memcpy(qip + 1, later_opts, (size_t)(hl - IP4_HDR_LEN));
		memcpy((uint8_t *)qip + hl, payload + done, chunk);
		qip->ver_ihl = (uint8_t)(0x40 | (hl / 4));
		qip->tot_len_be = htons((uint16_t)(hl + chunk));
		qip->frag_be = htons((uint16_t)(((base_off + done) / 8) |
		    (last ? (frag & IP4_MF) : IP4_MF)));
		pkt_ip4_set_csum(qip);
		w->st.fragments_sent++;
		emit(arg, q);
		done = (uint16_t)(done + chunk);
	}
	pkt_free(w->pool, p);
	return 0;
}

struct frag_out {
	struct ip_worker *w;
	const struct ip_tables *t;
	uint16_t if_idx;
	const uint8_t *nh_addr;
	struct pkt_batch *tx;
	uint64_t now_ns;
};

static void
frag_to_neigh(void *arg, struct pkt *q)
{
	struct frag_out *o = arg;

	ip_neigh_output(o->w, o->t, q, o->if_idx, AF_INET, o->nh_addr, o->tx,
	    o->now_ns);
}

/* Fragment p (TTL already decremented) to mtu and send each piece toward
 * nh on if_idx.  Consumes p. */
void
ip4_fragment(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint16_t mtu, uint16_t if_idx, const uint8_t *nh_addr,
    struct pkt_batch *tx, uint64_t now_ns)
{
	struct frag_out o = { w, t, if_idx, nh_addr, tx, now_ns };

	(void)ip4_fragment_each(w, p, mtu, frag_to_neigh, &o);
}

/*
 * After PREROUTING: where p goes.  nh_idx is its route (looked up again
 * if PREROUTING changed the destination).  Forwarded packets pass the
 * checks Linux makes before the FORWARD chain: not multicast, TTL, a
 * route, an interface that is up, DF against the egress MTU.
 */
enum ip_next
ip4_route(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns)
{
	struct ip4_hdr *ip = pkt_l3(p);
	const struct ip_nh *nh;
	const struct ip_if *oif;

	if (nh_idx != IP_FIB_MISS && t->nh[nh_idx].type == IP_NH_LOCAL)
		return IP_NEXT_INPUT;
	/* Broadcast, multicast and link-layer broadcast are not forwarded. */
	if (ip4_is_mcast_or_bcast(ip->dst_be) ||
	    (p->flags & (PKT_F_L2_BCAST | PKT_F_L2_MCAST))) {
		ip_drop(w, p, PKT_DROP_LOCAL_NO_SERVICE);
		return IP_NEXT_NONE;
	}
	if (ip->ttl <= 1) {
		ip4_icmp_error(w, t, p, ICMP_TIME_EXCEEDED, 0, 0,
		    PKT_DROP_TTL_EXPIRED, tx, now_ns);
		return IP_NEXT_NONE;
	}
	if (nh_idx == IP_FIB_MISS) {
		ip4_icmp_error(w, t, p, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0,
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
		ip4_icmp_error(w, t, p, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0,
		    PKT_DROP_IF_DOWN, tx, now_ns);
		return IP_NEXT_NONE;
	}
	if (p->l3_len > oif->mtu_bytes && (ntohs(ip->frag_be) & IP4_DF)) {
		ip4_icmp_error(w, t, p, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
		    htonl(oif->mtu_bytes), PKT_DROP_MTU_EXCEEDED, tx, now_ns);
		return IP_NEXT_NONE;
	}
	p->out_if = nh->if_idx;
	return IP_NEXT_FORWARD;
}

/* FORWARD accepted p: one hop less (RFC 1624: TTL and protocol share a
 * 16-bit word of the checksum), L2 padding gone. */
void
ip4_forward(struct pkt *p)
{
	struct ip4_hdr *ip = pkt_l3(p);

	ip->csum_be = pkt_csum_update16(ip->csum_be,
	    htons((uint16_t)(ip->ttl << 8 | ip->proto)),
	    htons((uint16_t)((ip->ttl - 1) << 8 | ip->proto)));
	ip->ttl--;
	p->len = (uint16_t)(p->l3_off + p->l3_len);
}

/* The route of a packet the host side sent (OUTPUT accepted it), or
 * IP_FIB_MISS with p dropped. */
uint32_t
ip4_route_output(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p)
{
	const struct ip4_hdr *ip = pkt_l3(p);
	uint32_t nh_idx = ip_fib4_lookup(t->fib4, ip->dst_be);
	const struct ip_nh *nh;

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
ip4_output_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns)
{
	uint32_t nh_idx = ip4_route_output(w, t, p);

	if (nh_idx != IP_FIB_MISS)
		ip_neigh_output_nh(w, t, p, nh_idx, tx, now_ns);
}
