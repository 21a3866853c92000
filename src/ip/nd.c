/*
 * src/ip/nd.c: IPv6 neighbour discovery (RFC 4861) for our addresses:
 * answer solicitations, learn from advertisements and solicitations, and
 * solicit next hops.  Router advertisements are not sent yet.
 */
#include "ip_priv.h"

#define ND_MSG_LEN	(8 + 16)	/* icmp6 header + target */
#define ND_OPT_LEN	8		/* one Ethernet link-layer option */

/* Finds the link-layer address option of type want; NULL if absent,
 * &bad set when the options are malformed (RFC 4861 §4.6: length 0). */
static const uint8_t *
nd_find_lladdr(const uint8_t *opt, uint32_t len, uint8_t want, bool *bad)
{
	const uint8_t *found = NULL;

	*bad = false;
	while (len >= 2) {
		uint32_t olen = (uint32_t)opt[1] * 8;

		if (olen == 0 || olen > len) {
			*bad = true;
			return NULL;
		}
		if (opt[0] == want && olen >= ND_OPT_LEN && found == NULL)
			found = opt + 2;
		opt += olen;
		len -= olen;
	}
	return found;
}

/* a is on a network ifp is connected to: a prefix of its addresses, or
 * link-local (fe80::/10 is on every link). */
static bool
nd_on_link(const struct ip_if *ifp, const uint8_t a[16])
{
	if (ip6_is_link_local(a))
		return true;
	for (uint8_t k = 0; k < ifp->n_addr6; k++) {
		const uint8_t *b = ifp->addr6[k].addr;
		uint8_t plen = ifp->addr6[k].plen, whole = plen / 8;

		if (memcmp(a, b, whole) != 0)
			continue;
		if (plen % 8 == 0 ||
		    ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - plen % 8))) == 0)
			return true;
	}
	return false;
}

static void
nd_advert(struct ip_worker *w, const struct ip_if *ifp, struct pkt *p,
    const uint8_t target[16], const uint8_t dst[16],
    const uint8_t eth_dst[ETH_ALEN], bool solicited)
{
	struct ip6_hdr *ip;
	struct icmp6_hdr *ic;
	struct nd_opt_lladdr *o;
	uint32_t flags = ND_NA_FLAG_ROUTER | ND_NA_FLAG_OVERRIDE;
	uint8_t mac[ETH_ALEN];

	/* target, dst and eth_dst are the caller's copies, never bytes of p. */
	memcpy(mac, eth_dst, ETH_ALEN);
	p->l3_off = ETH_HDR_LEN;
	ip = pkt_l3(p);
	memcpy(ip->dst, dst, 16);
	memcpy(ip->src, target, 16);
	ip->vtc_flow_be = htonl(6u << 28);
	ip->plen_be = htons(ND_MSG_LEN + ND_OPT_LEN);
	ip->nxt = IPPROTO_ICMPV6_;
	ip->hlim = 255;		/* RFC 4861 §7.1.2 */
	ic = (struct icmp6_hdr *)(void *)(ip + 1);
	memcpy((uint8_t *)(ic + 1), target, 16);
	ic->type = ICMP6_NEIGH_ADVERT;
	ic->code = 0;
	if (solicited)
		flags |= ND_NA_FLAG_SOLICITED;
	ic->u.rest_be = htonl(flags);
	o = (struct nd_opt_lladdr *)(void *)((uint8_t *)(ic + 1) + 16);
	o->type = ND_OPT_TARGET_LLADDR;
	o->len = 1;
	memcpy(o->addr, ifp->mac, ETH_ALEN);
	ic->csum_be = 0;
	ic->csum_be = pkt_l4_csum6(ip, ic, ND_MSG_LEN + ND_OPT_LEN,
	    IPPROTO_ICMPV6_);
	p->l4_off = ETH_HDR_LEN + IP6_HDR_LEN;
	p->l3_len = IP6_HDR_LEN + ND_MSG_LEN + ND_OPT_LEN;
	p->len = (uint16_t)(ETH_HDR_LEN + p->l3_len);
	p->out_if = p->in_if;
	p->flags = PKT_F_LOCAL;
	ip_eth_write(p, mac, ifp->mac, ETH_P_IPV6);
}

void
ip_nd_input(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_if *ifp = &t->ifs[p->in_if];
	const struct ip6_hdr *ip = pkt_l3(p);
	const struct icmp6_hdr *ic = pkt_l4(p);
	uint32_t len = (uint32_t)(p->l3_off + p->l3_len - p->l4_off);
	const uint8_t *target = (const uint8_t *)(ic + 1);
	const uint8_t *lladdr;
	uint8_t src[16], tgt[16];
	struct ip_neigh_ref r;
	enum pkt_drop why;
	bool bad;

	if (ip->hlim != 255 || ic->code != 0 || len < ND_MSG_LEN ||
	    ip6_is_multicast(target)) {
		ip_drop(w, p, PKT_DROP_ND_BAD);
		return;
	}
	memcpy(src, ip->src, 16);
	memcpy(tgt, target, 16);
	if (ic->type == ICMP6_NEIGH_ADVERT) {
		lladdr = nd_find_lladdr(target + 16, len - ND_MSG_LEN,
		    ND_OPT_TARGET_LLADDR, &bad);
		if (bad) {
			ip_drop(w, p, PKT_DROP_ND_BAD);
			return;
		}
		/* Unsolicited advertisements update, never create (§7.2.5). */
		r = ip_neigh_find(w->nt, p->in_if, AF_INET6, tgt);
		if (r.n != NULL)
			ip_neigh_confirm(w, r, lladdr ? lladdr : pkt_eth(p)->src,
			    (ntohl(ic->u.rest_be) & ND_NA_FLAG_SOLICITED) != 0,
			    now_ns);
		pkt_free(w->pool, p);
		return;
	}
	lladdr = nd_find_lladdr(target + 16, len - ND_MSG_LEN,
	    ND_OPT_SOURCE_LLADDR, &bad);
	/* §7.1.1: no source link-layer option from the unspecified address. */
	if (bad || (ip6_is_unspecified(src) && lladdr != NULL)) {
		ip_drop(w, p, PKT_DROP_ND_BAD);
		return;
	}
	if (!ip_if_has_addr6(ifp, tgt)) {
		ip_drop(w, p, PKT_DROP_L2_OTHER_HOST);
		return;
	}
	if (ip6_is_unspecified(src)) {
		/* Duplicate address detection: answer all nodes (§7.2.4). */
		static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
		static const uint8_t all_nodes_mac[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };

		nd_advert(w, ifp, p, tgt, all_nodes, all_nodes_mac, false);
	} else {
		uint8_t mac[ETH_ALEN];

		memcpy(mac, lladdr ? lladdr : pkt_eth(p)->src, ETH_ALEN);
		/* §7.2.3 creates an entry for the sender; only for one on
		 * this link's prefixes (the target is ours, checked above). */
		if (lladdr != NULL) {
			r = ip_neigh_find(w->nt, p->in_if, AF_INET6, src);
			if (r.n == NULL && nd_on_link(ifp, src))
				r = ip_neigh_get(w->nt, p->in_if, AF_INET6, src,
				    now_ns, &why);
			else if (r.n == NULL)
				w->st.neigh_learn_refused++;
			if (r.n != NULL)
				ip_neigh_confirm(w, r, mac, false, now_ns);
		}
		nd_advert(w, ifp, p, tgt, src, mac, true);
	}
	w->st.nd_adverts_sent++;
	ip_tx(w, p, tx);
}

void
ip_nd_send_solicit(struct ip_worker *w, const struct ip_if *ifp,
    uint16_t if_idx, const uint8_t target[16], const uint8_t *unicast_mac,
    struct pkt_batch *tx)
{
	struct pkt *q = pkt_alloc(w->pool);
	struct ip6_hdr *ip;
	struct icmp6_hdr *ic;
	struct nd_opt_lladdr *o;
	uint8_t mac[ETH_ALEN];
	uint16_t len = ETH_HDR_LEN + IP6_HDR_LEN + ND_MSG_LEN + ND_OPT_LEN;

	if (q == NULL || pkt_append(q, len) == NULL) {
		if (q != NULL)
			pkt_free(w->pool, q);
		return;
	}
	ip = (struct ip6_hdr *)(void *)(q->data + ETH_HDR_LEN);
	ip->vtc_flow_be = htonl(6u << 28);
	ip->plen_be = htons(ND_MSG_LEN + ND_OPT_LEN);
	ip->nxt = IPPROTO_ICMPV6_;
	ip->hlim = 255;
	memcpy(ip->src, ifp->ll6, 16);
	if (unicast_mac != NULL) {
		memcpy(ip->dst, target, 16);
		memcpy(mac, unicast_mac, ETH_ALEN);
	} else {
		ip6_solicited_node(target, ip->dst);
		mac[0] = 0x33;		/* RFC 2464 §7 */
		mac[1] = 0x33;
		memcpy(mac + 2, ip->dst + 12, 4);
	}
	ic = (struct icmp6_hdr *)(void *)(ip + 1);
	ic->type = ICMP6_NEIGH_SOLICIT;
	ic->code = 0;
	ic->u.rest_be = 0;
	memcpy(ic + 1, target, 16);
	o = (struct nd_opt_lladdr *)(void *)((uint8_t *)(ic + 1) + 16);
	o->type = ND_OPT_SOURCE_LLADDR;
	o->len = 1;
	memcpy(o->addr, ifp->mac, ETH_ALEN);
	ic->csum_be = 0;
	ic->csum_be = pkt_l4_csum6(ip, ic, ND_MSG_LEN + ND_OPT_LEN,
	    IPPROTO_ICMPV6_);
	ip_eth_write(q, mac, ifp->mac, ETH_P_IPV6);
	q->l3 = PKT_L3_IP6;
	q->l3_off = ETH_HDR_LEN;
	q->l3_len = IP6_HDR_LEN + ND_MSG_LEN + ND_OPT_LEN;
	q->l4_off = ETH_HDR_LEN + IP6_HDR_LEN;
	q->l4_proto = IPPROTO_ICMPV6_;
	q->in_if = q->out_if = if_idx;
	q->flags = PKT_F_LOCAL;
	w->st.nd_solicits_sent++;
	ip_tx(w, q, tx);
}
