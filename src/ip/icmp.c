/*
 * src/ip/icmp.c: ICMP and ICMPv6 messages hexgate sends itself: echo
 * replies, and errors (time exceeded, unreachable, fragmentation needed,
 * packet too big) built in place over the packet that caused them, so an
 * error costs no allocation.  Errors are rate limited per worker.
 */
#include "ip_priv.h"

#define ETH_IP4_ICMP	(ETH_HDR_LEN + IP4_HDR_LEN + 8)
#define ETH_IP6_ICMP	(ETH_HDR_LEN + IP6_HDR_LEN + 8)
#define IP6_MIN_MTU	1280
#define IPTOS_PREC_INTERNETCONTROL 0xc0

bool
ip_icmp_allow(struct ip_worker *w, uint64_t now_ns)
{
	uint64_t elapsed = now_ns - w->icmp_refill_ns;
	uint64_t add = elapsed / (1000000000ULL / IP_ICMP_RATE_PER_S);

	if (add > 0) {
		w->icmp_tokens = HG_MIN(w->icmp_tokens + add, IP_ICMP_BURST);
		w->icmp_refill_ns = now_ns;
	}
	if (w->icmp_tokens == 0) {
		w->st.icmp_errors_ratelimited++;
		return false;
	}
	w->icmp_tokens--;
	return true;
}

static bool
ip4_is_icmp_error(const struct pkt *p)
{
	const struct icmp_hdr *ic;

	if (p->l4_proto != IPPROTO_ICMP_ || p->l4_off == 0)
		return false;
	ic = pkt_l4(p);
	return ic->type == ICMP_DEST_UNREACH || ic->type == ICMP_TIME_EXCEEDED ||
	    ic->type == ICMP_PARAM_PROBLEM || ic->type == 4 || ic->type == 5;
}

void
ip4_icmp_error(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint8_t type, uint8_t code, uint32_t rest_be, enum pkt_drop reason,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip4_hdr *orig = pkt_l3(p);
	uint32_t to_be = orig->src_be, from_be;
	uint16_t quote;
	struct ip4_hdr *ip;
	struct icmp_hdr *ic;

	/* RFC 1812 §4.3.2.7: never about an ICMP error, a non-first
	 * fragment, a link-layer or IP broadcast/multicast, or a source that
	 * names no single host. */
	if ((p->flags & (PKT_F_LOCAL | PKT_F_L2_BCAST | PKT_F_L2_MCAST)) ||
	    ((p->flags & PKT_F_FRAG) && !(p->flags & PKT_F_FRAG_FIRST)) ||
	    ip4_is_icmp_error(p) || to_be == 0 ||
	    ip4_is_mcast_or_bcast(to_be) || ip4_is_mcast_or_bcast(orig->dst_be) ||
	    p->in_if >= t->n_if ||
	    (from_be = ip_if_src4(&t->ifs[p->in_if], to_be)) == 0 ||
	    !ip_icmp_allow(w, now_ns)) {
		ip_drop(w, p, reason);
		return;
	}
	/* p is dropped as far as the counters go; its buffer becomes the error. */
	ip_drop_count(w, p, reason);
	/* RFC 792: the original IP header and the first 64 bits of data. */
	quote = (uint16_t)HG_MIN(p->l3_len, ((orig->ver_ihl & 0xf) * 4) + 8);
	memmove(p->data + ETH_IP4_ICMP, p->data + p->l3_off, quote);

	ip = (struct ip4_hdr *)(void *)(p->data + ETH_HDR_LEN);
	ip->ver_ihl = 0x45;
	ip->tos = IPTOS_PREC_INTERNETCONTROL;	/* RFC 1812 §4.3.2.5 */
	ip->tot_len_be = htons((uint16_t)(IP4_HDR_LEN + 8 + quote));
	ip->id_be = 0;
	ip->frag_be = 0;
	ip->ttl = IP_DEFAULT_TTL;
	ip->proto = IPPROTO_ICMP_;
	ip->src_be = from_be;
	ip->dst_be = to_be;
	pkt_ip4_set_csum(ip);

	ic = (struct icmp_hdr *)(void *)(ip + 1);
	ic->type = type;
	ic->code = code;
	ic->u.rest_be = rest_be;
	ic->csum_be = 0;
	ic->csum_be = pkt_csum(ic, 8 + quote);

	p->len = (uint16_t)(ETH_IP4_ICMP + quote);
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = (uint16_t)(IP4_HDR_LEN + 8 + quote);
	p->l4_off = ETH_HDR_LEN + IP4_HDR_LEN;
	p->l4_proto = IPPROTO_ICMP_;
	p->flags = PKT_F_LOCAL;
	w->st.icmp_errors_sent++;
	ip4_output_local(w, t, p, tx, now_ns);
}

void
ip6_icmp_error(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    uint8_t type, uint8_t code, uint32_t rest_be, enum pkt_drop reason,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip6_hdr *orig = pkt_l3(p);
	uint8_t to[16], from[16];
	uint16_t quote;
	struct ip6_hdr *ip;
	struct icmp6_hdr *ic;

	memcpy(to, orig->src, 16);
	/* RFC 4443 §2.4 (e): not about ICMPv6 errors, not to multicast or
	 * unspecified sources; not about multicast destinations either
	 * (packet too big would be allowed, but hexgate does not forward
	 * multicast). */
	if ((p->flags & (PKT_F_LOCAL | PKT_F_L2_BCAST | PKT_F_L2_MCAST)) ||
	    (p->l4_proto == IPPROTO_ICMPV6_ && p->l4_off != 0 &&
	    ((const struct icmp6_hdr *)pkt_l4(p))->type < 128) ||
	    ip6_is_multicast(to) || ip6_is_unspecified(to) ||
	    ip6_is_multicast(orig->dst) || p->in_if >= t->n_if ||
	    !ip_icmp_allow(w, now_ns)) {
		ip_drop(w, p, reason);
		return;
	}
	/* p is dropped as far as the counters go; its buffer becomes the error. */
	ip_drop_count(w, p, reason);
	memcpy(from, ip_if_src6(&t->ifs[p->in_if], to), 16);
	/* RFC 4443 §2.4 (c): as much of the packet as fits in 1280 bytes. */
	quote = (uint16_t)HG_MIN(p->l3_len, IP6_MIN_MTU - IP6_HDR_LEN - 8);
	memmove(p->data + ETH_IP6_ICMP, p->data + p->l3_off, quote);

	ip = (struct ip6_hdr *)(void *)(p->data + ETH_HDR_LEN);
	ip->vtc_flow_be = htonl(6u << 28);
	ip->plen_be = htons((uint16_t)(8 + quote));
	ip->nxt = IPPROTO_ICMPV6_;
	ip->hlim = IP_DEFAULT_TTL;
	memcpy(ip->src, from, 16);
	memcpy(ip->dst, to, 16);

	ic = (struct icmp6_hdr *)(void *)(ip + 1);
	ic->type = type;
	ic->code = code;
	ic->u.rest_be = rest_be;
	ic->csum_be = 0;
	ic->csum_be = pkt_l4_csum6(ip, ic, 8u + quote, IPPROTO_ICMPV6_);

	p->len = (uint16_t)(ETH_IP6_ICMP + quote);
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = (uint16_t)(IP6_HDR_LEN + 8 + quote);
	p->l4_off = ETH_HDR_LEN + IP6_HDR_LEN;
	p->l4_proto = IPPROTO_ICMPV6_;
	p->flags = PKT_F_LOCAL;
	w->st.icmp_errors_sent++;
	ip6_output_local(w, t, p, tx, now_ns);
}

/*
 * REJECT --reject-with tcp-reset, as Linux's nf_send_reset() answers: from
 * the segment's destination to its source, no options, window 0.  A
 * segment with ACK gets seq = its ack; one without gets seq 0 and an ACK
 * of everything it occupied (RFC 9293 §3.10.7.1, "If the state is
 * CLOSED").  IPv4 carries DF and TTL 64; IPv6 hop limit 64.
 */
void
ip_tcp_reset(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    enum pkt_drop reason, struct pkt_batch *tx, uint64_t now_ns)
{
	const struct tcp_hdr *oth = pkt_l4(p);
	struct tcp_hdr th;
	uint32_t seg_len;
	uint16_t doff;
	bool v4 = p->l3 == PKT_L3_IP4;

	if (p->l4_proto != IPPROTO_TCP_ || p->l4_off == 0 ||
	    (p->flags & (PKT_F_FRAG | PKT_F_L2_BCAST | PKT_F_L2_MCAST)) ||
	    (oth->flags & TCP_RST)) {
		ip_drop(w, p, reason);
		return;
	}
	doff = (uint16_t)((oth->doff_res >> 4) * 4);
	seg_len = (uint32_t)(p->l3_off + p->l3_len - p->l4_off);
	seg_len = seg_len > doff ? seg_len - doff : 0;
	memset(&th, 0, sizeof(th));
	th.sport_be = oth->dport_be;
	th.dport_be = oth->sport_be;
	th.doff_res = (sizeof(th) / 4) << 4;
	if (oth->flags & TCP_ACK) {
		th.seq_be = oth->ack_be;
		th.flags = TCP_RST;
	} else {
		seg_len += !!(oth->flags & TCP_SYN) + !!(oth->flags & TCP_FIN);
		th.ack_be = htonl(ntohl(oth->seq_be) + seg_len);
		th.flags = TCP_RST | TCP_ACK;
	}
	if (v4) {
		const struct ip4_hdr *oip = pkt_l3(p);
		struct ip4_hdr ip;

		if (ip4_is_mcast_or_bcast(oip->src_be) ||
		    ip4_is_mcast_or_bcast(oip->dst_be) || oip->src_be == 0) {
			ip_drop(w, p, reason);
			return;
		}
		memset(&ip, 0, sizeof(ip));
		ip.ver_ihl = 0x45;
		ip.tot_len_be = htons(IP4_HDR_LEN + sizeof(th));
		ip.frag_be = htons(IP4_DF);
		ip.ttl = IP_DEFAULT_TTL;
		ip.proto = IPPROTO_TCP_;
		ip.src_be = oip->dst_be;
		ip.dst_be = oip->src_be;
		pkt_ip4_set_csum(&ip);
		th.csum_be = pkt_l4_csum4(&ip, &th, sizeof(th), IPPROTO_TCP_);
		memcpy(p->data + ETH_HDR_LEN, &ip, sizeof(ip));
		p->l3_len = IP4_HDR_LEN + sizeof(th);
	} else {
		const struct ip6_hdr *oip = pkt_l3(p);
		struct ip6_hdr ip;

		if (ip6_is_multicast(oip->src) || ip6_is_multicast(oip->dst) ||
		    ip6_is_unspecified(oip->src)) {
			ip_drop(w, p, reason);
			return;
		}
		memset(&ip, 0, sizeof(ip));
		ip.vtc_flow_be = htonl(6u << 28);
		ip.plen_be = htons(sizeof(th));
		ip.nxt = IPPROTO_TCP_;
		ip.hlim = IP_DEFAULT_TTL;
		memcpy(ip.src, oip->dst, 16);
		memcpy(ip.dst, oip->src, 16);
		th.csum_be = pkt_l4_csum6(&ip, &th, sizeof(th), IPPROTO_TCP_);
		memcpy(p->data + ETH_HDR_LEN, &ip, sizeof(ip));
		p->l3_len = IP6_HDR_LEN + sizeof(th);
	}
	/* p is dropped as far as the counters go; its buffer becomes the RST. */
	ip_drop_count(w, p, reason);
	p->l3_off = ETH_HDR_LEN;
	p->l4_off = (uint16_t)(ETH_HDR_LEN + p->l3_len - sizeof(th));
	memcpy(p->data + p->l4_off, &th, sizeof(th));
	p->len = (uint16_t)(ETH_HDR_LEN + p->l3_len);
	p->l4_proto = IPPROTO_TCP_;
	p->flags = PKT_F_LOCAL;
	if (v4)
		ip4_output_local(w, t, p, tx, now_ns);
	else
		ip6_output_local(w, t, p, tx, now_ns);
}
