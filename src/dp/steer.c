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
#include <string.h>

#include "dp_priv.h"

#define DP_FRAG_STEER_NS	((uint64_t)CT_FRAG_TIMEOUT_S * 1000000000ULL)

/* The datagram p is a piece of; false when p is no fragment this stage
 * steers. */
static bool
dp_frag_key(const struct pkt *p, struct ct_frag_key *k)
{
	if (!(p->flags & PKT_F_FRAG) ||
	    (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6) ||
	    (p->l3 == PKT_L3_IP6 &&
	    ((const struct ip6_hdr *)pkt_l3(p))->nxt != IPPROTO_FRAGMENT_))
		return false;
	ct_pkt_frag_key(p, k);
	return true;
}

static uint32_t
dp_frag_slot(const struct ct_frag_key *k)
{
	return dp_hash_words(k, sizeof(*k)) % DP_FRAG_STEER_SLOTS;
}

/* The worker a first fragment's flow belongs to: io_flow_queue() of the
 * key its unfragmented packets have (conntrack's tuple of the flow, whose
 * fields are the steering key's). */
static uint16_t
dp_first_frag_owner(const struct dp_worker *w, const struct pkt *p)
{
	struct io_flow_key k;
	struct ct_tuple t;

	if (p->l4_off == 0 || !ct_pkt_tuple(p, &t))
		return w->id;		/* transport header not in it */
	memset(&k, 0, sizeof(k));
	memcpy(k.src, t.src, sizeof(k.src));
	memcpy(k.dst, t.dst, sizeof(k.dst));
	k.sport_be = t.sport_be;
	k.dport_be = t.dport_be;
	k.l3 = t.l3;
	k.proto = t.proto;
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
		struct ct_frag_key k;
		struct dp_frag_steer *s;
		uint16_t owner;

		if (v->next[i] != IP_NEXT_RX || !(p->flags & PKT_F_FRAG) ||
		    !dp_frag_key(p, &k))
			continue;
		s = &w->frag_steer[dp_frag_slot(&k)];
		if (p->flags & PKT_F_FRAG_FIRST) {
			owner = dp_first_frag_owner(w, p);
			if (owner == w->id)
				continue;
			s->key = k;
			s->owner = owner;
			s->expires_ns = now_ns + DP_FRAG_STEER_NS;
		} else if (s->expires_ns > now_ns &&
		    memcmp(&s->key, &k, sizeof(k)) == 0) {
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
