/*
 * src/dp/sa_steer.c: inbound ESP to the worker that owns its SA, and the
 * outer fragments of ESP put together first.  Two stages, before any
 * other after RX (pipeline.c).
 *
 * An inbound SA's anti-replay window is updated without a lock, so one
 * worker owns it.  The ports steer ESP, and ESP in UDP to 4500, by both
 * addresses and the SPI (io_flow_queue(), src/io/flow.c), so each SA
 * lands on one worker and the SAs between two peers spread.  That rule
 * is for the SAs hexgate terminates: the packets of any other ESP (a
 * flow passing through, NAT traversal of a host behind us, a SPI no
 * tunnel has) belong to the worker the rule without the SPI names, the
 * one that owns their flow in conntrack and NAT, both directions and
 * IKE's packets on the same ports alike.  dp_sa_steer() hands those to
 * it.  So a SPI is "ours" only when a tunnel has it as its inbound SPI
 * and the packet comes from that tunnel's remote end.
 *
 * Outer fragments (dp_reass()): a path that fragments after encryption
 * sends an SA's packets in pieces, which the ports steer by addresses
 * alone (a later piece has no SPI).  So every piece of a datagram meets
 * on one worker, which reassembles it (src/ip/reass.c: a fixed table per
 * worker, 2 s at most, the pieces' own buffers) and then hands the whole
 * datagram to the worker the ports would have chosen for it had it come
 * whole: for ESP, its SA's owner.  What is reassembled is what comes
 * from a tunnel's remote end to an address of ours, as ESP or UDP (a
 * later UDP piece does not say its port: IKE on 500 or anything else from
 * the peer is put together too, and goes on whole).  With params.ike the
 * same is done, in a second table, for UDP to an address of ours from
 * anyone (IKE in the control thread: ctl.c).  Other fragments are left
 * to dp_frag_steer() and conntrack as before.
 */
#include <arpa/inet.h>

#include "../ip/reass.h"
#include "../tun/esp.h"
#include "dp_priv.h"

/* p, an IPv4 or IPv6 packet, comes from tunnel i's remote end. */
static bool
sa_from_remote(const struct dp_tunnel *tn, const struct pkt *p)
{
	if (p->l3 == PKT_L3_IP4)
		return tn->family == AF_INET &&
		    memcmp(&((const struct ip4_hdr *)pkt_l3(p))->src_be,
		    tn->remote, 4) == 0;
	return tn->family == AF_INET6 &&
	    memcmp(((const struct ip6_hdr *)pkt_l3(p))->src, tn->remote,
	    16) == 0;
}

/* Whether spi, in p, is the inbound SA of a tunnel whose remote sent p. */
static bool
sa_ours(const struct dp_worker *w, const struct pkt *p, uint32_t spi)
{
	uint16_t key = dp_tunnel_by_spi(w->tunnels, w->tables->n_if, spi);

	return key != DP_SA_NONE &&
	    sa_from_remote(dp_sa_key_slot(w->tunnels, key), p);
}

/* The worker that owns p, whole: the ports' choice, the SPI's only for
 * our SAs. */
static uint16_t
sa_owner(const struct dp_worker *w, const struct pkt *p)
{
	struct io_flow_key k;

	io_frame_flow_key(p->data, p->len, &k);
	if (k.spi_be != 0 && !sa_ours(w, p, ntohl(k.spi_be)))
		k.spi_be = 0;
	return io_flow_queue(&k, w->dp->params.n_workers);
}

static void
sa_hand_to(struct dp_worker *w, struct pkt *p, uint16_t owner)
{
	if (dp_handoff_push(w->dp->workers[owner]->handoff_rx, p)) {
		ctr_add(&w->ctr.esp_steered[p->in_if], 1);
		pkt_free(w->pool, p);
	} else {
		ip_drop(w->ipw, p, PKT_DROP_HANDOFF_FULL);
	}
}

/* Whether the ports steered p by a SPI: ESP, or UDP to 4500 (the key
 * says whether a SPI is there). */
static bool
sa_maybe_spi(const struct pkt *p)
{
	const uint8_t *l4;

	if (p->l4_off == 0 || (p->flags & PKT_F_FRAG))
		return false;
	if (p->l4_proto == IPPROTO_ESP_)
		return true;
	if (p->l4_proto != IPPROTO_UDP_ ||
	    p->l3_off + p->l3_len < p->l4_off + 4)
		return false;
	l4 = pkt_l4(p);
	return ((uint16_t)l4[2] << 8 | l4[3]) == ESP_UDP_PORT;
}

void
dp_sa_steer(struct dp_worker *w, struct dp_frame *f)
{
	struct ip_vec *v = &f->v;

	if (w->dp->params.n_workers == 1 || !w->dp->flow_exact)
		return;
	for (uint16_t i = 0; i < v->n; i++) {
		struct pkt *p = v->pkts[i];
		uint16_t owner;

		if (v->next[i] != IP_NEXT_RX || !sa_maybe_spi(p) ||
		    (owner = sa_owner(w, p)) == w->id)
			continue;
		sa_hand_to(w, p, owner);
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

/*
 * What a tunnel decapsulates is a packet of some inner flow, which the
 * worker the ports would steer it to owns (conntrack, NAT; its replies
 * come in on a LAN port and steer there): the SA's worker hands it
 * over, and the owner runs it from ip input with the tunnel as its input
 * interface (the ring keeps it).
 */
bool
dp_inner_steer(struct dp_worker *w, struct pkt *p)
{
	uint16_t owner;

	if (w->dp->params.n_workers == 1 || !w->dp->flow_exact ||
	    (owner = io_frame_flow_queue(p->data, p->len,
	    w->dp->params.n_workers)) == w->id)
		return false;
	sa_hand_to(w, p, owner);
	return true;
}

/* ---- outer fragments --------------------------------------------------- */

static void
reass_drop(void *arg, struct pkt *p, enum pkt_drop why)
{
	struct dp_worker *w = arg;

	ip_drop(w->ipw, p, why);
}

int
dp_reass_create(struct dp_worker *w)
{
	struct ip_reass_params prm = { 0 };
	int rc = ip_reass_create(&w->reass, &prm, w->pool, reass_drop, w);

	if (rc == 0 && w->dp->params.ike)
		rc = ip_reass_create(&w->reass_local, &prm, w->pool,
		    reass_drop, w);
	return rc;
}

/* The protocol a fragment's datagram carries, or -1 when p is no
 * fragment reass.c takes (IPv6: the fragment header after the fixed). */
static int
reass_proto(const struct pkt *p)
{
	if (p->l3 == PKT_L3_IP4)
		return ((const struct ip4_hdr *)pkt_l3(p))->proto;
	if (p->l3 == PKT_L3_IP6 && p->l3_len >= IP6_HDR_LEN + 8 &&
	    ((const struct ip6_hdr *)pkt_l3(p))->nxt == IPPROTO_FRAGMENT_)
		return ((const uint8_t *)pkt_l3(p))[IP6_HDR_LEN];
	return -1;
}

/* Whether p's destination is one of our addresses. */
static bool
reass_to_us(const struct ip_tables *t, const struct pkt *p)
{
	uint32_t nh;

	if (p->l3 == PKT_L3_IP4)
		nh = ip_fib4_lookup(t->fib4,
		    ((const struct ip4_hdr *)pkt_l3(p))->dst_be);
	else
		nh = ip_fib6_lookup(t->fib6,
		    ((const struct ip6_hdr *)pkt_l3(p))->dst);
	return nh != IP_FIB_MISS && t->nh[nh].type == IP_NH_LOCAL;
}

/*
 * The table that puts p together, or NULL: a fragment of an outer
 * datagram from one of our tunnels' peers, or with params.ike one of UDP
 * to us from a tunnel's configured peer that has no SA yet (IKE before
 * the tunnel is up: IKE_AUTH with certificates comes in pieces; later
 * pieces do not say their port, so all of its UDP).  Those have a table
 * of their own, so they cannot take the established peers' room.  UDP
 * fragments from anyone else are not put together here: they may be
 * the replies of a NATed flow, which conntrack and NAT take in pieces
 * (dp_frag_steer); a connection to %any gets no IP fragments of IKE.
 */
static struct ip_reass *
reass_table(const struct dp_worker *w, const struct pkt *p)
{
	const struct dp_tunnel *t = w->tunnels->t;
	int proto;
	bool peer = false, pending = false;

	if (w->tables == NULL || !(p->flags & PKT_F_FRAG) ||
	    ((proto = reass_proto(p)) != IPPROTO_ESP_ &&
	    proto != IPPROTO_UDP_))
		return NULL;
	for (uint16_t i = 0; i < w->tables->n_if && !peer; i++) {
		peer = t[i].in != NULL && sa_from_remote(&t[i], p);
		pending |= t[i].in == NULL && t[i].family != 0 &&
		    sa_from_remote(&t[i], p);
	}
	if (!peer && (w->reass_local == NULL || proto != IPPROTO_UDP_ ||
	    !pending))
		return NULL;
	if (!reass_to_us(w->tables, p))
		return NULL;
	return peer ? w->reass : w->reass_local;
}

void
dp_reass(struct dp_worker *w, struct dp_frame *f, uint64_t now_ns)
{
	struct ip_vec *v = &f->v;
	bool steer = w->dp->params.n_workers > 1 && w->dp->flow_exact;

	if (w->reass == NULL)
		return;
	for (uint16_t i = 0; i < v->n; i++) {
		struct pkt *p = v->pkts[i];
		struct ip_reass *r;
		uint16_t owner;

		if (v->next[i] != IP_NEXT_RX || (r = reass_table(w, p)) == NULL)
			continue;
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
		if ((p = ip_reass_add(r, p, now_ns)) == NULL)
			continue;	/* held, or dropped and counted */
		ctr_add(&w->ctr.reassembled[p->in_if], 1);
		if (steer && (owner = sa_owner(w, p)) != w->id) {
			sa_hand_to(w, p, owner);
			continue;
		}
		v->pkts[i] = p;
		v->next[i] = IP_NEXT_RX;
	}
}

void
dp_reass_poll(struct dp_worker *w, uint64_t now_ns)
{
	if (w->reass != NULL)
		ip_reass_expire(w->reass, now_ns);
	if (w->reass_local != NULL)
		ip_reass_expire(w->reass_local, now_ns);
}
