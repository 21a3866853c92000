/*
 * src/ip/arp.c: ARP (RFC 826) for our IPv4 addresses: answer requests,
 * learn senders, and ask for next hops.  Resolution state is in neigh.c.
 */
#include "ip_priv.h"

static const uint8_t mac_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[ETH_ALEN];

/* a is on a network ifp is connected to. */
static bool
arp_on_link(const struct ip_if *ifp, uint32_t a_be)
{
	for (uint8_t k = 0; k < ifp->n_addr4; k++) {
		uint8_t plen = ifp->addr4[k].plen;
		uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);

		if (((ntohl(a_be) ^ ntohl(ifp->addr4[k].addr_be)) & mask) == 0)
			return true;
	}
	return false;
}

/* RFC 826 "merge": update a known sender.  Create an entry only for a
 * request to one of our addresses from a sender on this interface's
 * networks: whoever else asks gets the answer but no room in the table
 * (Linux keeps arp_accept=0 for the same reason). */
static void
arp_learn(struct ip_worker *w, const struct ip_if *ifp, struct pkt *p,
    uint32_t spa, const uint8_t sha[ETH_ALEN], bool for_us, uint16_t op,
    uint64_t now_ns)
{
	struct ip_neigh_ref r;
	enum pkt_drop why;

	if (spa == 0 || ip4_is_mcast_or_bcast(spa))
		return;
	r = ip_neigh_find(w->nt, p->in_if, AF_INET, (uint8_t *)&spa);
	if (r.n == NULL && for_us && op == ARP_OP_REQUEST) {
		if (!arp_on_link(ifp, spa)) {
			w->st.neigh_learn_refused++;
			return;
		}
		r = ip_neigh_get(w->nt, p->in_if, AF_INET, (uint8_t *)&spa,
		    now_ns, &why);
	}
	if (r.n != NULL)
		ip_neigh_confirm(w, r, sha, for_us && op == ARP_OP_REPLY,
		    now_ns);
}

void
ip_arp_input(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns)
{
	const struct ip_if *ifp = &t->ifs[p->in_if];
	struct arp_hdr *arp = pkt_l3(p);
	uint16_t op = ntohs(arp->op_be);
	bool for_us = ip_if_has_addr4(ifp, arp->tpa_be);
	uint32_t spa = arp->spa_be;
	uint8_t sha[ETH_ALEN];

	memcpy(sha, arp->sha, ETH_ALEN);
	if (pkt_mac_is_mcast(sha) || (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)) {
		ip_drop(w, p, PKT_DROP_ARP_BAD);
		return;
	}
	arp_learn(w, ifp, p, spa, sha, for_us, op, now_ns);
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
