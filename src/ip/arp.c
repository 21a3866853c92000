/*
 * src/ip/arp.c: ARP (RFC 826) for our IPv4 addresses: answer requests,
 * learn senders, and ask for next hops.  Resolution state is in neigh.c.
 */
#include "ip_priv.h"

static const uint8_t mac_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[ETH_ALEN];

void
ip_arp_input(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_if *ifp = &t->ifs[p->in_if];
	struct arp_hdr *arp = pkt_l3(p);
	uint16_t op = ntohs(arp->op_be);
	bool for_us = ip_if_has_addr4(ifp, arp->tpa_be);
	struct ip_neigh *n = NULL;
	uint32_t spa = arp->spa_be;
	uint8_t sha[ETH_ALEN];

	memcpy(sha, arp->sha, ETH_ALEN);
	if (pkt_mac_is_mcast(sha) || (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)) {
		ip_drop(w, p, PKT_DROP_ARP_BAD);
		return;
	}
	/* RFC 826 "merge": update a known sender; create one only when the
	 * message is for us (Linux does the same with arp_accept=0). */
	if (spa != 0 && !ip4_is_mcast_or_bcast(spa)) {
		n = ip_neigh_find(w->nt, p->in_if, AF_INET, (uint8_t *)&spa);
		if (n == NULL && for_us)
			n = ip_neigh_get(w->nt, p->in_if, AF_INET, (uint8_t *)&spa);
		if (n != NULL)
			ip_neigh_confirm(w, n, sha, now_ns);
	}
	if (!for_us || op != ARP_OP_REQUEST) {
		if (for_us)
			pkt_free(w->pool, p);	/* a reply to us: consumed */
		else
			ip_drop(w, p, PKT_DROP_L2_OTHER_HOST);
		return;
	}
	/* Turn the request into the reply in place. */
	arp->op_be = htons(ARP_OP_REPLY);
	arp->spa_be = arp->tpa_be;
	arp->tpa_be = spa;
	memcpy(arp->tha, sha, ETH_ALEN);
	memcpy(arp->sha, ifp->mac, ETH_ALEN);
	p->len = (uint16_t)(p->l3_off + sizeof(*arp));
	p->out_if = p->in_if;
	p->flags |= PKT_F_LOCAL;
	ip_eth_write(p, sha, ifp->mac, ETH_P_ARP);
	w->st.arp_replies_sent++;
	ip_tx(w, p, tx);
}

void
ip_arp_send_request(struct ip_worker *w, const struct ip_if *ifp,
    uint16_t if_idx, uint32_t target_be, const uint8_t *unicast_mac,
    struct pkt_batch *tx)
{
	struct pkt *q = pkt_alloc(w->pool);

	if (q == NULL)
		return;		/* counted in the pool's alloc_fail */
	if (pkt_build_arp(q, ARP_OP_REQUEST,
	    unicast_mac ? unicast_mac : mac_bcast, ifp->mac,
	    ip_if_src4(ifp, target_be), mac_zero, target_be) != 0) {
		pkt_free(w->pool, q);
		return;
	}
	q->in_if = q->out_if = if_idx;
	q->flags |= PKT_F_LOCAL;
	w->st.arp_requests_sent++;
	ip_tx(w, q, tx);
}
