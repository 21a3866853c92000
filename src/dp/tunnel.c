/*
 * src/dp/tunnel.c: the ESP tunnels' two stages (issue 14), around the
 * pure ESP layer of src/tun/esp.c.
 *
 * dp_decap runs on what INPUT accepted for the appliance itself: ESP (IP
 * protocol 50) or ESP-in-UDP on port 4500 whose SPI is a tunnel's inbound
 * SPI is decapsulated through that SA and put aside with the tunnel as
 * its input interface; the pipeline then runs the stages again over it
 * (pipeline.c), from ip input, so routes, conntrack, the chains and NAT
 * see the inner packet as arriving on the tunnel.  A NAT keepalive is
 * dropped and counted; IKE on 4500 (the non-ESP marker) and an SPI no
 * tunnel has go on: with params.ike to the control thread's queue and
 * dropped (ctl.c), else to the host side.
 *
 * dp_encap runs after POSTROUTING: a packet routed to a tunnel interface
 * is encapsulated through the tunnel's outbound SA, then routed again by
 * its outer destination (the tunnel's remote end), and goes on to the
 * neighbour stage of the interface that route names.  An IPv4 packet
 * larger than the tunnel's MTU without DF is cut to it first and each
 * piece goes through the SA (those with DF, and IPv6 ones, were refused
 * at routing with the tunnel's MTU in the ICMP error).
 *
 * Both check the tunnel's traffic selectors on the inner packet: what
 * goes in must be from its local and to its remote selectors, what comes
 * out from remote to local; the rest is dropped as tunnel_selector.  Both
 * clamp the MSS of TCP SYNs to what fits the tunnel's MTU, so neither
 * side's hosts send segments the tunnel would have to fragment.
 *
 * Both work a burst per SA: the packets of one tunnel in the batch go to
 * the crypto library together.  No allocation, no lock: the tunnels are
 * published whole (RCU, dp_tunnels_swap()) and read once per loop turn
 * (w->tunnels), an SA is freed only after a grace period once no
 * published table holds it, anti-replay is the owner's (inbound ESP of
 * one tunnel steers to one worker: its outer addresses and ports are
 * the same on every packet), outbound sequence numbers are taken with a
 * compare-and-swap in the SA.
 */
#include <arpa/inet.h>

#include "../tun/esp.h"
#include "dp_priv.h"

bool
dp_ts_match(const struct dp_ts *ts, uint8_t n, uint8_t family,
    const uint8_t *addr)
{
	if (n == 0)
		return true;
	for (uint8_t i = 0; i < n; i++) {
		uint8_t full = ts[i].plen / 8, rest = ts[i].plen % 8;

		if (ts[i].family != family ||
		    memcmp(ts[i].addr, addr, full) != 0)
			continue;
		if (rest == 0 || ((ts[i].addr[full] ^ addr[full]) &
		    (uint8_t)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

/* Whether p's inner addresses (its l3 header) are inside the selectors:
 * src in from[], dst in to[]. */
static bool
ts_allow(const struct pkt *p, const struct dp_ts *from, uint8_t n_from,
    const struct dp_ts *to, uint8_t n_to)
{
	const uint8_t *l3 = p->data + p->l3_off;

	if (p->l3 == PKT_L3_IP4)
		return dp_ts_match(from, n_from, AF_INET, l3 + 12) &&
		    dp_ts_match(to, n_to, AF_INET, l3 + 16);
	if (p->l3 == PKT_L3_IP6)
		return dp_ts_match(from, n_from, AF_INET6, l3 + 8) &&
		    dp_ts_match(to, n_to, AF_INET6, l3 + 24);
	return false;
}

/* The SA of slot k of interface i whose SPI is spi, as a key; DP_SA_NONE
 * for none. */
static inline uint16_t
slot_by_spi(const struct dp_tunnel *t, uint16_t i, uint8_t k, uint32_t spi)
{
	uint16_t key = (uint16_t)((i * DP_TUNNEL_SLOTS + k) * 2);

	if (t->in != NULL && t->spi_in == spi)
		return key;
	if (t->in_prev != NULL && t->spi_in_prev == spi)
		return key + 1;
	return DP_SA_NONE;
}

/* Slot 0 of every interface first: most tunnels have only that one, and
 * their packets cost what they did before slots. */
uint16_t
dp_tunnel_by_spi(const struct dp_tunnels *tt, uint16_t n_if, uint32_t spi)
{
	uint16_t key;

	for (uint16_t i = 0; i < n_if; i++)
		if ((key = slot_by_spi(&tt->t[i], i, 0, spi)) != DP_SA_NONE)
			return key;
	for (uint16_t i = 0; i < n_if; i++)
		for (uint8_t k = 1; k < DP_TUNNEL_SLOTS; k++)
			if ((key = slot_by_spi(&tt->more[i][k - 1], i, k,
			    spi)) != DP_SA_NONE)
				return key;
	return DP_SA_NONE;
}

/* The inbound SA p is for (dp_tunnel_by_spi()'s key), when it is ESP we
 * take: DP_SA_NONE otherwise.
 * A NAT keepalive is dropped here (and consumed: *gone). */
static uint16_t
decap_tunnel_of(struct dp_worker *w, struct pkt *p, bool *gone)
{
	const uint8_t *l4 = pkt_l4(p);
	size_t l4_len;
	uint32_t spi_be, spi;

	*gone = false;
	if (p->l4_off == 0 || (p->flags & PKT_F_FRAG))
		return DP_SA_NONE;
	l4_len = (size_t)(p->l3_off + p->l3_len - p->l4_off);
	if (p->l4_proto == IPPROTO_ESP_) {
		if (l4_len < 4)
			return DP_SA_NONE;
		memcpy(&spi_be, l4, 4);
		return dp_tunnel_by_spi(w->tunnels, w->tables->n_if,
		    ntohl(spi_be));
	}
	if (p->l4_proto != IPPROTO_UDP_ || l4_len < 8 ||
	    ((uint16_t)l4[2] << 8 | l4[3]) != ESP_UDP_PORT)
		return DP_SA_NONE;
	switch (esp_udp_classify(l4 + 8, l4_len - 8, &spi)) {
	case ESP_UDP_ESP:
		return dp_tunnel_by_spi(w->tunnels, w->tables->n_if, spi);
	case ESP_UDP_KEEPALIVE:
		ip_drop(w->ipw, p, PKT_DROP_NAT_KEEPALIVE);
		*gone = true;
		return DP_SA_NONE;
	default:
		return DP_SA_NONE;	/* IKE: the host side's */
	}
}

void
dp_decap(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi,
    uint64_t now_ns)
{
	struct ip_vec *v = &f->v;
	const struct ip_tables *t = w->tables;
	struct pkt *burst[PKT_BATCH_MAX];
	uint16_t tun[PKT_BATCH_MAX], idx[PKT_BATCH_MAX];
	uint8_t res[PKT_BATCH_MAX];
	uint16_t n = 0;

	if (w->esp == NULL)
		return;
	for (uint16_t i = lo; i < hi; i++) {
		bool gone;

		if (v->next[i] != IP_NEXT_LOCAL)
			continue;
		tun[i] = decap_tunnel_of(w, v->pkts[i], &gone);
		if (gone) {
			v->pkts[i] = NULL;
			v->next[i] = IP_NEXT_NONE;
		} else if (tun[i] != DP_SA_NONE)
			idx[n++] = i;
	}
	/* One burst per inbound SA, in the batch's order within each. */
	for (uint16_t a = 0; a < n; a++) {
		uint16_t key = tun[idx[a]], m = 0;
		uint16_t ti = dp_sa_key_if(key);
		const struct dp_tunnel *tn;
		uint64_t bytes = 0, ok = 0;

		if (key == DP_SA_NONE)
			continue;	/* taken by an earlier burst */
		for (uint16_t b = a; b < n; b++)
			if (tun[idx[b]] == key) {
				burst[m++] = v->pkts[idx[b]];
				v->pkts[idx[b]] = NULL;
				v->next[idx[b]] = IP_NEXT_NONE;
				tun[idx[b]] = DP_SA_NONE;
			}
		tn = dp_sa_key_slot(w->tunnels, key);
		esp_decap_burst(w->esp, key & 1 ? tn->in_prev : tn->in, burst,
		    m, res);
		for (uint16_t k = 0; k < m; k++) {
			struct pkt *p = burst[k];

			if (res[k] != ESP_R_OK ||
			    w->reentry.n == PKT_BATCH_MAX) {
				ip_drop(w->ipw, p, res[k] != ESP_R_OK ?
				    PKT_DROP_TUNNEL_IN : PKT_DROP_OUT_OF_SPACE);
				continue;
			}
			/* As if it came on the tunnel: its MAC too, so
			 * ip input takes it as addressed to us. */
			p->in_if = ti;
			if (!ts_allow(p, tn->remote_ts, tn->n_remote,
			    tn->local_ts, tn->n_local)) {
				ip_drop(w->ipw, p, PKT_DROP_TUNNEL_SELECTOR);
				continue;
			}
			(void)pkt_tcp_clamp_mss(p->data + p->l3_off, p->l3_len,
			    p->l3 == PKT_L3_IP4 ? tn->mss4 : tn->mss6);
			memcpy(p->data, t->ifs[ti].mac, ETH_ALEN);
			bytes += p->len;
			ok++;
			dp_mirror_reentry(w, p, now_ns);  /* COPY --from it */
			w->reentry.pkts[w->reentry.n++] = p;
		}
		ctr_add(&w->ctr.rx_pkts[ti], ok);
		ctr_add(&w->ctr.rx_bytes[ti], bytes);
	}
}

/* The route to a tunnel's remote end: its next hop, or IP_FIB_MISS when
 * there is none usable (none, a blackhole, our own, another tunnel). */
static uint32_t
encap_route(const struct dp_worker *w, const struct ip_tables *t,
    const struct dp_tunnel *tn)
{
	uint32_t nh, a;

	if (tn->family == AF_INET) {
		memcpy(&a, tn->remote, 4);
		nh = ip_fib4_lookup(t->fib4, a);
	} else
		nh = ip_fib6_lookup(t->fib6, tn->remote);
	if (nh == IP_FIB_MISS || t->nh[nh].type == IP_NH_BLACKHOLE ||
	    t->nh[nh].type == IP_NH_LOCAL ||
	    w->tunnels->t[t->nh[nh].if_idx].out != NULL)
		return IP_FIB_MISS;
	return nh;
}

/*
 * The slot of tunnel o that carries p: the first with an outbound SA
 * whose selectors take it; NULL for none, *keyed false when no slot has
 * an SA at all.  Slot 0 is the only one of most tunnels: the others are
 * looked at only when it does not take p.
 */
static const struct dp_tunnel *
encap_slot(const struct dp_tunnels *tt, uint16_t o, const struct pkt *p,
    bool *keyed)
{
	const struct dp_tunnel *tn = &tt->t[o];

	*keyed = tn->out != NULL;
	if (tn->out != NULL && ts_allow(p, tn->local_ts, tn->n_local,
	    tn->remote_ts, tn->n_remote))
		return tn;
	for (uint8_t k = 0; k < DP_TUNNEL_SLOTS - 1; k++) {
		tn = &tt->more[o][k];
		if (tn->out == NULL)
			continue;
		*keyed = true;
		if (ts_allow(p, tn->local_ts, tn->n_local, tn->remote_ts,
		    tn->n_remote))
			return tn;
	}
	return NULL;
}

void
dp_piece_add(void *arg, struct pkt *q)
{
	struct dp_pieces *e = arg;

	if (e->n == DP_PIECES_MAX) {
		ip_drop(e->w->ipw, q, PKT_DROP_OUT_OF_SPACE);
		return;
	}
	e->p[e->n++] = q;
}

/* p, bigger than tunnel ti's MTU, cut and each piece encapsulated
 * through its slot tn and sent on; consumes p. */
static void
encap_cut(struct dp_worker *w, uint16_t ti, const struct dp_tunnel *tn,
    struct pkt *p, uint16_t mtu, uint64_t now_ns)
{
	const struct ip_tables *t = w->tables;
	struct dp_pieces e = { .w = w };
	uint8_t res[DP_PIECES_MAX];
	uint64_t bytes = 0, ok = 0;
	uint32_t nh;

	if (ip4_fragment_each(w->ipw, p, mtu, dp_piece_add, &e) != 0 ||
	    e.n == 0) {
		for (uint16_t k = 0; k < e.n; k++)
			ip_drop(w->ipw, e.p[k], PKT_DROP_FRAG_NO_BUFFER);
		return;
	}
	for (uint16_t k = 0; k < e.n; k++)
		bytes += e.p[k]->l3_len;
	ctr_add(&w->ctr.tx_bytes[ti], bytes);
	esp_encap_burst(w->esp, tn->out, e.p, e.n, res);
	nh = encap_route(w, t, tn);
	for (uint16_t k = 0; k < e.n; k++) {
		struct pkt *q = e.p[k];

		if (res[k] != ESP_R_OK || nh == IP_FIB_MISS) {
			ip_drop(w->ipw, q, res[k] != ESP_R_OK ?
			    PKT_DROP_TUNNEL_OUT : PKT_DROP_TUNNEL_NO_ROUTE);
			continue;
		}
		q->out_if = t->nh[nh].if_idx;
		ip_neigh_send(w->ipw, t, q, nh, &w->tx, now_ns);
		ok++;
	}
	ctr_add(&w->ctr.tx_pkts[ti], ok);
}

void
dp_encap(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi,
    uint64_t now_ns)
{
	struct ip_vec *v = &f->v;
	const struct ip_tables *t = w->tables;
	const struct dp_tunnel *sel[PKT_BATCH_MAX];
	struct pkt *burst[PKT_BATCH_MAX];
	uint16_t idx[PKT_BATCH_MAX], sub[PKT_BATCH_MAX];
	uint8_t res[PKT_BATCH_MAX];
	uint16_t n = 0;

	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		const struct dp_tunnel *tn;
		uint16_t o;
		bool keyed;

		if (v->next[i] != IP_NEXT_ENCAP)
			continue;
		o = p->out_if;
		tn = encap_slot(w->tunnels, o, p, &keyed);
		if (w->esp == NULL || !keyed) {
			/* Not a tunnel: on to the neighbour stage.  A tunnel
			 * with no SA (being removed), or no crypto state,
			 * carries nothing. */
			if (!t->ifs[o].encap) {
				v->next[i] = IP_NEXT_NEIGH;
				continue;
			}
			if (!keyed)	/* IKE may make one (trap) */
				dp_ctl_acquire(w, o, now_ns);
			ip_drop(w->ipw, p, !keyed ? PKT_DROP_TUNNEL_NO_SA :
			    PKT_DROP_TUNNEL_OUT);
		} else if (tn == NULL) {
			ip_drop(w->ipw, p, PKT_DROP_TUNNEL_SELECTOR);
		} else {
			/* COPY --from the tunnel sees what goes in, in
			 * clear. */
			dp_mirror_tx(w, p, now_ns);
			if (p->l3 != PKT_L3_IP4 ||
			    p->l3_len <= t->ifs[o].mtu_bytes) {
				sel[i] = tn;
				idx[n++] = i;
				continue;
			}
			/* Too big without DF (routing refused it with DF):
			 * cut before encryption. */
			(void)pkt_tcp_clamp_mss(pkt_l3(p), p->l3_len, tn->mss4);
			encap_cut(w, o, tn, p, t->ifs[o].mtu_bytes, now_ns);
		}
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
	/* One burst per outbound SA, in the batch's order within each. */
	for (uint16_t a = 0; a < n; a++) {
		uint16_t ti, m = 0;
		const struct dp_tunnel *tn;
		uint64_t bytes = 0, ok = 0;
		uint32_t nh;

		if (v->next[idx[a]] != IP_NEXT_ENCAP)
			continue;	/* taken by an earlier burst */
		ti = v->pkts[idx[a]]->out_if;
		tn = sel[idx[a]];
		for (uint16_t b = a; b < n; b++)
			if (v->next[idx[b]] == IP_NEXT_ENCAP &&
			    sel[idx[b]] == tn) {
				sub[m] = idx[b];
				burst[m] = v->pkts[idx[b]];
				(void)pkt_tcp_clamp_mss(burst[m]->data +
				    burst[m]->l3_off, burst[m]->l3_len,
				    burst[m]->l3 == PKT_L3_IP4 ? tn->mss4 :
				    tn->mss6);
				bytes += burst[m]->l3_len;
				m++;
				v->next[idx[b]] = IP_NEXT_NONE;
			}
		ctr_add(&w->ctr.tx_bytes[ti], bytes);
		esp_encap_burst(w->esp, tn->out, burst, m, res);
		nh = encap_route(w, t, tn);
		for (uint16_t k = 0; k < m; k++) {
			uint16_t i = sub[k];
			struct pkt *p = burst[k];

			if (res[k] != ESP_R_OK || nh == IP_FIB_MISS) {
				v->pkts[i] = NULL;
				ip_drop(w->ipw, p, res[k] != ESP_R_OK ?
				    PKT_DROP_TUNNEL_OUT :
				    PKT_DROP_TUNNEL_NO_ROUTE);
				continue;
			}
			ok++;
			p->out_if = t->nh[nh].if_idx;
			v->nh[i] = nh;
			v->flags[i] &= (uint8_t)~IP_VF_ONLINK;
			v->next[i] = IP_NEXT_NEIGH;
		}
		ctr_add(&w->ctr.tx_pkts[ti], ok);
	}
}

/* A NAT keepalive for tunnel ti, through its outbound SA's addresses
 * and ports (so it follows the peer when it moves), routed out. */
static void
keepalive_send(struct dp_worker *w, uint16_t ti, const struct dp_tunnel *tn,
    uint64_t now_ns)
{
	struct pkt *p = pkt_alloc(w->pool);

	if (p == NULL)
		return;
	if (esp_nat_keepalive(tn->out, p) != 0) {
		pkt_free(w->pool, p);
		return;
	}
	p->in_if = ti;
	ip_output(w->ipw, w->tables, p, &w->tx, now_ns);
}

void
dp_nat_keepalives(struct dp_worker *w, uint64_t now_ns)
{
	if (now_ns - w->ka_check_ns < 1000000000ull)
		return;		/* a look a second is enough */
	w->ka_check_ns = now_ns;
	for (uint16_t i = 0; i < w->tables->n_if; i++) {
		const struct dp_tunnel *tn = NULL;

		/* One keepalive an interface, through its first slot that
		 * sends (its children share the NAT's mapping). */
		for (uint8_t k = 0; k < DP_TUNNEL_SLOTS && tn == NULL; k++)
			if (dp_tunnel_slot(w->tunnels, i, k)->out != NULL)
				tn = dp_tunnel_slot(w->tunnels, i, k);
		if (tn == NULL || tn->keepalive_s == 0 ||
		    now_ns - w->ka_sent_ns[i] <
		    (uint64_t)tn->keepalive_s * 1000000000ull)
			continue;
		w->ka_sent_ns[i] = now_ns;
		keepalive_send(w, i, tn, now_ns);
	}
}
