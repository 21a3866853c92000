/*
 * src/dp/pipeline.c: the data plane's stages, in the order a packet meets
 * them.  Each stage is a function over a batch (struct dp_frame) that
 * looks at the packets whose next step is its own and gives each its next
 * step; per-packet results (route, conntrack entry, NAT, verdict) live in
 * the frame's arrays, indexed like the batch.  This file is the one place
 * that says which stage follows which; no stage calls another.
 *
 * A port's frames:
 *
 *   RX, parse, count, COPY (worker.c)
 *   -> outer fragments of ESP from a tunnel's peer reassembled; a whole
 *      datagram whose SA (or flow) another worker owns to it (dp_reass)
 *   -> fragments of another worker's flow to that worker (dp_frag_steer)
 *   -> ESP the ports steered by a SPI that is not our SA's to the worker
 *      that owns its flow (dp_sa_steer); overlay data to the worker that
 *      owns its receiver index (dp_wg_steer, overlay.c)
 *   -> [L2 bridge: later]
 *   -> ip input: link checks, ARP, martians, route lookup (ip_input)
 *   -> PREROUTING: [raw], conntrack, [mangle], destination NAT
 *      (dp_conntrack); route again where the destination changed, ND
 *      answered, local or forward with the forwarding checks (ip_route)
 *   -> INPUT | FORWARD: the chains over the batch (dp_filter); drops,
 *      rejections, the forwarded hop (ip_verdicts)
 *   -> INPUT's side: ESP for a tunnel decapsulated (dp_decap, tunnel.c),
 *      overlay data for the overlay (dp_wg_decap, overlay.c),
 *      with params.ike IKE to the control thread's queue and other ESP
 *      dropped (dp_ctl_punt, ctl.c), local delivery (ip_local), the rest
 *      to the host TAPs (dp_punt)
 *   -> POSTROUTING: [mangle], source NAT, confirm (dp_postrouting)
 *   -> tunnel encapsulation: the overlay (dp_wg_encap, overlay.c), ESP
 *      (dp_encap, tunnel.c)
 *   -> neighbour resolution, fragmentation, Ethernet (ip_neigh_stage)
 *   -> TX (dp_tx)
 *
 * What the host side sends (its TAPs, and the control thread's datagrams
 * through the handoff rings: ctl.c) enters at OUTPUT: [raw], conntrack, the OUTPUT chain (dp_conntrack,
 * dp_filter) -> route (ip_verdicts) -> POSTROUTING -> encapsulation ->
 * neighbour -> TX.  A packet a tunnel decapsulates re-enters at ip
 * input (IP_NEXT_RX) with the tunnel as its input interface, once the
 * batch it came in has been through, on the worker that owns its flow
 * (dp_inner_steer: the SA's worker is not the inner flow's).
 *
 * Conntrack runs over the whole batch before any packet is judged, which
 * is only right while no packet depends on the confirmation of one before
 * it in the same batch: a second packet of a new flow, a later fragment
 * of a datagram whose first fragment is not through yet, or a TCP SYN
 * that may reopen a closed flow an earlier packet still holds.  dp_conntrack()
 * stops the batch before such a packet; the stages then run over the
 * packets before it, and the loop goes on from it, so every packet sees
 * the table as one-at-a-time processing would leave it.
 */
#include "dp_priv.h"

/* The stages from ip input on, over what v holds. */
static void
pipeline_stages(struct dp_worker *w, struct dp_frame *f, uint64_t now_ns)
{
	struct ip_vec *v = &f->v;
	const struct ip_tables *t = w->tables;
	uint16_t lo, hi;

	ip_input(w->ipw, t, v, &w->tx, now_ns);
	for (lo = 0; lo < v->n; lo = hi) {
		hi = dp_conntrack(w, f, lo, IP_NEXT_PREROUTING, now_ns);
		ip_route(w->ipw, t, v, lo, hi, &w->tx, now_ns);
		dp_filter(w, f, lo, hi, now_ns);
		ip_verdicts(w->ipw, t, v, lo, hi, &w->tx, now_ns);
		dp_decap(w, f, lo, hi, now_ns);
		dp_wg_decap(w, f, lo, hi, now_ns);
		dp_ctl_punt(w, f, lo, hi);
		ip_local(w->ipw, t, v, lo, hi, w->dp->host_ifs, &w->tx, now_ns);
		dp_punt(w, f, lo, hi);
		dp_postrouting(w, f, lo, hi, now_ns);
		dp_wg_encap(w, f, lo, hi, now_ns);
		dp_encap(w, f, lo, hi, now_ns);
		ip_neigh_stage(w->ipw, t, v, lo, hi, &w->tx, now_ns);
	}
	ip_vec_reset(v);
}

/* What the router made itself for a tunnel (echo replies, ICMP errors,
 * resets: ip_take_encap()) goes through encapsulation like the rest. */
void
dp_pipeline_own_encap(struct dp_worker *w, uint64_t now_ns)
{
	struct dp_frame *f = &w->frame;
	struct ip_vec *v = &f->v;
	struct pkt *p[PKT_BATCH_MAX];
	uint16_t n = ip_take_encap(w->ipw, p, PKT_BATCH_MAX);

	if (n == 0)
		return;
	for (uint16_t i = 0; i < n; i++)
		ip_vec_add(v, p[i], IP_NEXT_ENCAP);
	dp_wg_encap(w, f, 0, v->n, now_ns);
	dp_encap(w, f, 0, v->n, now_ns);
	ip_neigh_stage(w->ipw, w->tables, v, 0, v->n, &w->tx, now_ns);
	ip_vec_reset(v);
}

/* Tunnels in tunnels stop here: what a second pass decapsulates is
 * dropped. */
#define DP_REENTRY_MAX	2

void
dp_pipeline_rx(struct dp_worker *w, uint64_t now_ns)
{
	struct dp_frame *f = &w->frame;
	struct ip_vec *v = &f->v;

	dp_reass(w, f, now_ns);
	dp_frag_steer(w, f, now_ns);
	dp_sa_steer(w, f);
	dp_wg_steer(w, f);
	pipeline_stages(w, f, now_ns);
	/* What the tunnels decapsulated re-enters at ip input, with the
	 * tunnel as its input interface. */
	for (int pass = 0; w->reentry.n > 0; pass++) {
		for (uint16_t i = 0; i < w->reentry.n; i++) {
			struct pkt *p = w->reentry.pkts[i];
			enum pkt_drop why = pass < DP_REENTRY_MAX ?
			    pkt_parse(p, NULL) : PKT_DROP_TUNNEL_IN;

			if (why != PKT_DROP_NONE)
				ip_drop(w->ipw, p, why);
			else if (!dp_inner_steer(w, p))
				ip_vec_add(v, p, IP_NEXT_RX);
		}
		w->reentry.n = 0;
		pipeline_stages(w, f, now_ns);
	}
	dp_pipeline_own_encap(w, now_ns);
	dp_tx(w, now_ns);
}

void
dp_pipeline_output(struct dp_worker *w, uint64_t now_ns)
{
	struct dp_frame *f = &w->frame;
	struct ip_vec *v = &f->v;
	const struct ip_tables *t = w->tables;
	uint16_t lo, hi;

	for (lo = 0; lo < v->n; lo = hi) {
		hi = dp_conntrack(w, f, lo, IP_NEXT_OUTPUT, now_ns);
		dp_filter(w, f, lo, hi, now_ns);
		ip_verdicts(w->ipw, t, v, lo, hi, &w->tx, now_ns);
		dp_postrouting(w, f, lo, hi, now_ns);
		dp_wg_encap(w, f, lo, hi, now_ns);
		dp_encap(w, f, lo, hi, now_ns);
		ip_neigh_stage(w->ipw, t, v, lo, hi, &w->tx, now_ns);
	}
	ip_vec_reset(v);
	dp_pipeline_own_encap(w, now_ns);
	dp_tx(w, now_ns);
}

/* Hand tx to the ports: group by egress interface, one io_port_tx() per
 * interface, count, and free every packet. */
void
dp_tx(struct dp_worker *w, uint64_t now_ns)
{
	struct dp *dp = w->dp;
	struct pkt_batch *tx = &w->tx;

	dp_punt_flush(w, now_ns);
	if (tx->n == 0)
		return;
	for (uint16_t i = 0; i < tx->n; i++) {
		struct pkt *p = tx->pkts[i];
		uint16_t o = p->out_if;

		if (hg_unlikely(o >= dp->params.n_if ||
		    dp->params.ports[o] == NULL)) {
			ip_drop(w->ipw, p, PKT_DROP_IF_DOWN);
			continue;
		}
		dp_mirror_tx(w, p, now_ns);	/* may append copies to tx */
		w->stage[o][w->stage_n[o]++] = p;
	}
	tx->n = 0;
	for (uint16_t o = 0; o < dp->params.n_if; o++) {
		uint16_t n = w->stage_n[o], sent;
		uint64_t bytes = 0;

		if (n == 0)
			continue;
		sent = io_port_tx(dp->params.ports[o], w->id, w->stage[o], n,
		    now_ns);
		for (uint16_t i = 0; i < sent; i++)
			bytes += w->stage[o][i]->len;
		ctr_add(&w->ctr.tx_pkts[o], sent);
		ctr_add(&w->ctr.tx_bytes[o], bytes);
		if (sent < n)
			ctr_add(&w->ctr.tx_errors[o], (uint64_t)(n - sent));
		for (uint16_t i = 0; i < n; i++)
			pkt_free(w->pool, w->stage[o][i]);
		w->stage_n[o] = 0;
	}
}
