/*
 * src/dp/steer.c: fragments to the worker that owns their flow.
 *
 * Ports steer a fragment by its addresses alone (io_flow_queue(): a later
 * fragment carries no ports), so every piece of a datagram reaches one
 * worker, but not necessarily the worker that owns the datagram's flow:
 * that one is chosen by the ports, and NAT picks its translations so that
 * replies steer back to it.  A fragment judged on the wrong worker finds
 * no flow there (a second, different translation, or INVALID).
 *
 * So the first stage after RX looks at fragments.  A first fragment
 * carries the transport header: the worker its flow's unfragmented
 * packets go to is io_flow_queue() of that key.  When that is another
 * worker, the fragment is copied to the owner's RX handoff ring and the
 * datagram (addresses, protocol, IP id) is remembered for
 * CT_FRAG_TIMEOUT_S in a small table, so its later fragments follow.
 * The owner runs them through the whole pipeline, conntrack and NAT
 * included, as if they had arrived there; it has its own copy, so buffers
 * never change pools.  Later fragments that arrive before their first
 * stay where they are and are judged as before (INVALID: no accepted
 * first fragment).
 *
 * IPv6: only a fragment header right after the fixed header is looked
 * at.  A datagram with other extension headers is steered by addresses
 * whole or in pieces (io_flow_queue()), so its pieces already meet its
 * flow.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dp_priv.h"

#define DP_FRAG_STEER_NS	((uint64_t)CT_FRAG_TIMEOUT_S * 1000000000ULL)

/* The datagram p is a piece of; false when p is no fragment this stage
 * steers. */
static bool
dp_frag_key(const struct pkt *p, struct dp_frag_steer *k)
{
	memset(k, 0, sizeof(*k));
	if (!(p->flags & PKT_F_FRAG))
		return false;
	k->l3 = p->l3;
	k->proto = p->l4_proto;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		memcpy(k->src, &ip->src_be, 4);
		memcpy(k->dst, &ip->dst_be, 4);
		k->id = ip->id_be;
		return true;
	}
	if (p->l3 == PKT_L3_IP6) {
		const struct ip6_hdr *ip = pkt_l3(p);

		if (ip->nxt != IPPROTO_FRAGMENT_)
			return false;
		memcpy(k->src, ip->src, 16);
		memcpy(k->dst, ip->dst, 16);
		memcpy(&k->id, &((const struct ip6_frag *)(const void *)
		    (ip + 1))->id_be, 4);
		return true;
	}
	return false;
}

static uint32_t
dp_frag_slot(const struct dp_frag_steer *k)
{
	uint32_t h = k->id * 0x9e3779b1u ^ k->proto;

	for (int i = 0; i < 16; i += 4) {
		uint32_t a, b;

		memcpy(&a, k->src + i, 4);
		memcpy(&b, k->dst + i, 4);
		h = (h ^ a ^ b * 0x85ebca6bu) * 0xc2b2ae35u;
	}
	return (h ^ h >> 15) % DP_FRAG_STEER_SLOTS;
}

static bool
dp_frag_same(const struct dp_frag_steer *a, const struct dp_frag_steer *b)
{
	return a->id == b->id && a->l3 == b->l3 && a->proto == b->proto &&
	    memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

/* The worker a first fragment's flow belongs to: io_flow_queue() of the
 * key its unfragmented packets have. */
static uint16_t
dp_first_frag_owner(const struct dp_worker *w, const struct pkt *p)
{
	struct io_flow_key k;
	uint8_t icmp = p->l3 == PKT_L3_IP4 ? IPPROTO_ICMP_ : IPPROTO_ICMPV6_;

	if (p->l4_off == 0)
		return w->id;		/* transport header not in it */
	memset(&k, 0, sizeof(k));
	k.l3 = p->l3;
	k.proto = p->l4_proto;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		memcpy(k.src, &ip->src_be, 4);
		memcpy(k.dst, &ip->dst_be, 4);
	} else {
		const struct ip6_hdr *ip = pkt_l3(p);

		memcpy(k.src, ip->src, 16);
		memcpy(k.dst, ip->dst, 16);
	}
	if (p->l4_proto == IPPROTO_TCP_ || p->l4_proto == IPPROTO_UDP_) {
		const struct udp_hdr *uh = pkt_l4(p);	/* ports alike */

		k.sport_be = uh->sport_be;
		k.dport_be = uh->dport_be;
	} else if (p->l4_proto == icmp) {
		const struct icmp_hdr *ih = pkt_l4(p);

		k.dport_be = htons(ih->type);
		k.sport_be = ih->u.echo.id_be;
	}
	return io_flow_queue(&k, w->dp->params.n_workers);
}

/* Copies p to worker owner's RX ring and frees it; counted either way. */
static void
dp_steer_to(struct dp_worker *w, struct pkt *p, uint16_t owner)
{
	if (dp_handoff_push(w->dp->workers[owner]->handoff_rx, p)) {
		ctr_add(&w->ctr.frags_steered[p->in_if], 1);
		pkt_free(w->pool, p);
	} else {
		ip_drop(w->ipw, p, PKT_DROP_HANDOFF_FULL);
	}
}

void
dp_frag_steer(struct dp_worker *w, struct dp_frame *f, uint64_t now_ns)
{
	struct ip_vec *v = &f->v;

	if (w->dp->params.n_workers == 1 || !w->dp->flow_exact)
		return;
	for (uint16_t i = 0; i < v->n; i++) {
		struct pkt *p = v->pkts[i];
		struct dp_frag_steer k, *s;
		uint16_t owner;

		if (v->next[i] != IP_NEXT_RX || !(p->flags & PKT_F_FRAG) ||
		    !dp_frag_key(p, &k))
			continue;
		s = &w->frag_steer[dp_frag_slot(&k)];
		if (p->flags & PKT_F_FRAG_FIRST) {
			owner = dp_first_frag_owner(w, p);
			if (owner == w->id)
				continue;
			*s = k;
			s->owner = owner;
			s->expires_ns = now_ns + DP_FRAG_STEER_NS;
		} else if (s->expires_ns > now_ns && dp_frag_same(s, &k)) {
			owner = s->owner;
		} else {
			continue;
		}
		dp_steer_to(w, p, owner);
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

uint32_t
dp_steer_rx(struct dp_worker *w, uint64_t now_ns)
{
	struct ip_vec *v = &w->frame.v;
	uint32_t got = 0;
	struct pkt *p;

	while (v->n < PKT_BATCH_MAX &&
	    (p = dp_handoff_pop(w->handoff_rx, w->pool)) != NULL) {
		enum pkt_drop why = pkt_parse(p, NULL);

		got++;
		if (why != PKT_DROP_NONE) {
			ip_drop(w->ipw, p, why);
			continue;
		}
		ip_vec_add(v, p, IP_NEXT_RX);
	}
	if (v->n != 0)
		dp_pipeline_rx(w, now_ns);
	return got;
}
