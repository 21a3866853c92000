/*
 * src/dp/overlay.c: the overlay's interface (issue 16), WireGuard's
 * transport data between the overlay's peers and the pipeline, around
 * the pure code of src/tun/wg_data.c.
 *
 * Three stages (pipeline.c says where they run):
 *
 * dp_wg_steer, first after RX: a transport message (UDP to the overlay's
 * port, type 4) whose receiver index is one of ours goes to the worker
 * that owns the index.  A keypair's replay window is updated without a
 * lock, so one worker receives on it: the one its index names (index %
 * workers).  The control side picks each index so that it names the
 * worker the ports steer the peer's flow to (dp_wg_worker_of()), so
 * nothing moves until a peer roams to a new address or port; then its
 * packets land elsewhere and are handed over until the next handshake
 * (at most two minutes) picks an index for the new flow.
 *
 * dp_wg_decap, after INPUT (which the overlay's port passes by the
 * appliance's defaults): transport messages to us are decrypted, a burst
 * at a time.  Cryptokey routing: the inner source must be in the allowed
 * IPs of the peer whose keypair opened it, or the packet is dropped; so
 * the overlay's known networks, bound to its interface, are known only
 * for what their own peer sent.  What passes re-enters at ip input with
 * the overlay as its input interface.  The peer's endpoint follows the
 * outer source of what it sent (roaming).  Handshake messages go on to
 * the control thread's queue (ctl.c).
 *
 * dp_wg_encap, after POSTROUTING: a packet routed to the overlay goes to
 * the peer whose allowed IPs hold its destination (longest prefix),
 * through that peer's current keypair, to its endpoint, and is routed
 * again by the outer destination.  A peer with no keypair drops it and
 * the control thread is told (want): it starts a handshake.
 *
 * No lock, no allocation: the overlay (peers' keypairs, the index table)
 * is published whole (RCU) and read once per loop turn; a keypair is
 * freed after the grace period of the swap that dropped it.  Endpoints
 * are the one thing workers write: a seqlock per peer whose writers claim
 * it with a compare-and-swap (a roam is rare; a worker that loses the
 * race leaves it to the winner).  What workers saw of each peer (times,
 * bytes) is written to the worker's own slots, summed by the control
 * thread (dp_wg_peer_stats()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include <urcu-qsbr.h>

#include "../lib/bytes.h"
#include "../tun/wg_data.h"
#include "dp_priv.h"

#define WG_TYPE_DATA		4
#define WG_HS_TTL		64

/* ---- allowed IPs: longest prefix per family ---------------------------- */

/*
 * A hash table per family keyed by (length, masked address), and the
 * lengths present, longest first: a lookup probes one length after
 * another.  Allowed IPs are a few lengths (/32, /24, /128, /64), so this
 * is a handful of probes and a few KiB, where a DIR-24-8 table would be
 * 64 MiB for each reload.
 */
struct wg_route_ent {
	uint8_t used, plen;
	uint16_t peer;
	uint8_t addr[16];
};

struct dp_wg_routes {
	uint32_t mask;			/* slots - 1 */
	uint8_t n_len[2];
	uint8_t lens[2][129];		/* [family v6][k]: longest first */
	struct wg_route_ent ent[];
};

static void
prefix_mask(uint8_t *out, const uint8_t *addr, uint8_t plen, uint8_t alen)
{
	memset(out, 0, 16);
	for (uint8_t b = 0; b < alen && plen > 0; b++) {
		uint8_t m = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));

		out[b] = addr[b] & m;
		plen = plen >= 8 ? (uint8_t)(plen - 8) : 0;
	}
}

static uint32_t
route_hash(const uint8_t *a, uint8_t plen, bool v6)
{
	return dp_hash_words(a, 16) ^ (uint32_t)plen * 0x9e3779b1u ^
	    (v6 ? 0x85ebca6bu : 0);
}

int
dp_wg_routes_create(struct dp_wg_routes **out, const struct dp_wg_prefix *p,
    uint32_t n)
{
	uint32_t slots = 16;
	struct dp_wg_routes *r;

	while (slots < 2 * n + 2)
		slots <<= 1;
	r = calloc(1, sizeof(*r) + slots * sizeof(r->ent[0]));
	if (r == NULL)
		return -ENOMEM;
	r->mask = slots - 1;
	for (uint32_t i = 0; i < n; i++) {
		bool v6 = p[i].family == AF_INET6;
		uint8_t a[16];
		uint32_t h;
		bool seen = false;

		if (p[i].plen > (v6 ? 128 : 32)) {
			free(r);
			return -EINVAL;
		}
		prefix_mask(a, p[i].addr, p[i].plen, v6 ? 16 : 4);
		for (h = route_hash(a, p[i].plen, v6) & r->mask;
		    r->ent[h].used; h = (h + 1) & r->mask)
			if (r->ent[h].plen == p[i].plen &&
			    (r->ent[h].used == 2) == v6 &&
			    memcmp(r->ent[h].addr, a, 16) == 0)
				break;	/* the later one wins, as in wg */
		r->ent[h].used = v6 ? 2 : 1;
		r->ent[h].plen = p[i].plen;
		r->ent[h].peer = p[i].peer;
		memcpy(r->ent[h].addr, a, 16);
		for (uint8_t k = 0; k < r->n_len[v6]; k++)
			seen |= r->lens[v6][k] == p[i].plen;
		if (!seen)
			r->lens[v6][r->n_len[v6]++] = p[i].plen;
	}
	/* Longest first. */
	for (int f = 0; f < 2; f++)
		for (uint8_t i = 1; i < r->n_len[f]; i++)
			for (uint8_t k = i; k > 0 &&
			    r->lens[f][k] > r->lens[f][k - 1]; k--) {
				uint8_t t = r->lens[f][k];

				r->lens[f][k] = r->lens[f][k - 1];
				r->lens[f][k - 1] = t;
			}
	*out = r;
	return 0;
}

void
dp_wg_routes_free(struct dp_wg_routes *r)
{
	free(r);
}

uint16_t
dp_wg_route(const struct dp_wg_routes *r, uint8_t family, const uint8_t *addr)
{
	bool v6 = family == AF_INET6;

	if (r == NULL)
		return DP_WG_NONE;
	for (uint8_t k = 0; k < r->n_len[v6]; k++) {
		uint8_t plen = r->lens[v6][k], a[16];

		prefix_mask(a, addr, plen, v6 ? 16 : 4);
		for (uint32_t h = route_hash(a, plen, v6) & r->mask;
		    r->ent[h].used; h = (h + 1) & r->mask)
			if (r->ent[h].plen == plen &&
			    (r->ent[h].used == 2) == v6 &&
			    memcmp(r->ent[h].addr, a, 16) == 0)
				return r->ent[h].peer;
	}
	return DP_WG_NONE;
}

/* ---- the receiver index table ------------------------------------------ */

static uint32_t
index_slot(uint32_t index)
{
	return (index * 0x9e3779b1u) >> (32 - DP_WG_INDEX_BITS);
}

void
dp_overlay_index(struct dp_overlay *ov)
{
	memset(ov->idx, 0, sizeof(ov->idx));
	for (uint16_t p = 0; p < ov->n_peers; p++) {
		struct wg_keypair *kp[3] = { ov->peers[p].cur,
		    ov->peers[p].prev, ov->peers[p].next };

		for (uint8_t k = 0; k < 3; k++) {
			uint32_t index, s;

			if (kp[k] == NULL)
				continue;
			index = wg_keypair_local_index(kp[k]);
			for (s = index_slot(index); ov->idx[s].used;
			    s = (s + 1) & (DP_WG_INDEX_SLOTS - 1))
				;
			ov->idx[s].used = 1;
			ov->idx[s].index = index;
			ov->idx[s].peer = p;
			ov->idx[s].which = k;
		}
	}
}

/* The entry of a receiver index, or NULL. */
static const struct dp_wg_index *
index_find(const struct dp_overlay *ov, uint32_t index)
{
	for (uint32_t s = index_slot(index); ov->idx[s].used;
	    s = (s + 1) & (DP_WG_INDEX_SLOTS - 1))
		if (ov->idx[s].index == index)
			return &ov->idx[s];
	return NULL;
}

static struct wg_keypair *
index_keypair(const struct dp_overlay *ov, const struct dp_wg_index *e)
{
	const struct dp_wg_peer *pe = &ov->peers[e->peer];

	return e->which == 0 ? pe->cur : e->which == 1 ? pe->prev : pe->next;
}

static struct wg_keypair *
lookup_kp(void *ctx, uint32_t index)
{
	const struct dp_overlay *ov = ctx;
	const struct dp_wg_index *e = index_find(ov, index);

	return e != NULL ? index_keypair(ov, e) : NULL;
}

/* ---- endpoints: a seqlock per peer ------------------------------------- */

_Static_assert(sizeof(struct dp_wg_endpoint) % 8 == 0,
    "an endpoint is copied word by word");

void
dp_wg_endpoint_set(struct dp *dp, uint16_t peer,
    const struct dp_wg_endpoint *ep)
{
	struct dp_wg_live *l;
	uint64_t w[sizeof(*ep) / 8];
	uint32_t seq;

	if (peer >= DP_WG_PEERS_MAX)
		return;
	l = &dp->wg_live[peer];
	memcpy(w, ep, sizeof(w));
	/* Control thread: wait out a worker that is writing. */
	do
		seq = __atomic_load_n(&l->seq, __ATOMIC_RELAXED) & ~1u;
	while (!__atomic_compare_exchange_n(&l->seq, &seq, seq + 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	for (size_t i = 0; i < HG_ARRAY_SIZE(w); i++)
		__atomic_store_n(&l->ep[i], w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&l->seq, seq + 2, __ATOMIC_RELEASE);
}

/* A worker's roam: skipped when another writer holds the slot. */
static void
endpoint_try_set(struct dp *dp, uint16_t peer, const struct dp_wg_endpoint *ep)
{
	struct dp_wg_live *l = &dp->wg_live[peer];
	uint64_t w[sizeof(*ep) / 8];
	uint32_t seq = __atomic_load_n(&l->seq, __ATOMIC_RELAXED);

	if ((seq & 1) || !__atomic_compare_exchange_n(&l->seq, &seq, seq + 1,
	    false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	memcpy(w, ep, sizeof(w));
	for (size_t i = 0; i < HG_ARRAY_SIZE(w); i++)
		__atomic_store_n(&l->ep[i], w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&l->seq, seq + 2, __ATOMIC_RELEASE);
}

bool
dp_wg_endpoint_get(const struct dp *dp, uint16_t peer,
    struct dp_wg_endpoint *ep)
{
	const struct dp_wg_live *l;
	uint64_t w[sizeof(*ep) / 8];
	uint32_t a, b;

	if (peer >= DP_WG_PEERS_MAX)
		return false;
	l = &dp->wg_live[peer];
	do {
		a = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
		for (size_t i = 0; i < HG_ARRAY_SIZE(w); i++)
			w[i] = __atomic_load_n(&l->ep[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		b = __atomic_load_n(&l->seq, __ATOMIC_RELAXED);
	} while ((a & 1) || a != b);
	memcpy(ep, w, sizeof(*ep));
	return ep->family != 0;
}

/* ---- what the workers saw of each peer --------------------------------- */

static void
obs_max(uint64_t *slot, uint64_t v)
{
	if (__atomic_load_n(slot, __ATOMIC_RELAXED) < v)
		__atomic_store_n(slot, v, __ATOMIC_RELAXED);
}

void
dp_wg_peer_stats(const struct dp *dp, uint16_t peer,
    struct dp_wg_peer_stats *out)
{
	uint64_t confirmed_at = 0;

	memset(out, 0, sizeof(*out));
	if (peer >= DP_WG_PEERS_MAX)
		return;
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		const struct dp_wg_peer_stats *s = &dp->workers[i]->wg_obs[peer];
		uint64_t at;

#define WG_MAX(f) do {							\
	uint64_t v_ = __atomic_load_n(&s->f, __ATOMIC_RELAXED);		\
	if (v_ > out->f)							\
		out->f = v_;						\
} while (0)
#define WG_SUM(f) (out->f += __atomic_load_n(&s->f, __ATOMIC_RELAXED))
		WG_MAX(last_tx_ns);
		WG_MAX(last_tx_data_ns);
		WG_MAX(last_rx_ns);
		WG_MAX(last_rx_data_ns);
		WG_MAX(want_ns);
		WG_SUM(tx_pkts);
		WG_SUM(tx_bytes);
		WG_SUM(rx_pkts);
		WG_SUM(rx_bytes);
#undef WG_MAX
#undef WG_SUM
		at = __atomic_load_n(&s->confirmed_ns, __ATOMIC_RELAXED);
		if (at > confirmed_at) {
			confirmed_at = at;
			out->confirmed_ns = at;
			out->confirmed_index = __atomic_load_n(
			    &s->confirmed_index, __ATOMIC_RELAXED);
		}
	}
}

uint16_t
dp_wg_worker_of(const struct dp *dp, const struct dp_wg_endpoint *ep,
    uint16_t our_port)
{
	struct io_flow_key k;

	memset(&k, 0, sizeof(k));
	k.l3 = ep->family == AF_INET ? PKT_L3_IP4 : PKT_L3_IP6;
	k.proto = IPPROTO_UDP_;
	memcpy(k.src, ep->addr, 16);
	memcpy(k.dst, ep->local, 16);
	k.sport_be = htons(ep->port);
	k.dport_be = htons(our_port);
	return io_flow_queue(&k, dp->params.n_workers);
}

/* ---- receive ------------------------------------------------------------ */

/* The receiver index of p when it is a transport message to the overlay's
 * port (UDP, not a fragment, long enough): true and *index. */
static bool
wg_transport_of(const struct dp_overlay *ov, const struct pkt *p,
    uint32_t *index)
{
	const uint8_t *l4;
	size_t l4_len;

	if (p->l4_off == 0 || (p->flags & PKT_F_FRAG) ||
	    p->l4_proto != IPPROTO_UDP_)
		return false;
	l4 = pkt_l4(p);
	l4_len = (size_t)(p->l3_off + p->l3_len - p->l4_off);
	if (l4_len < 8 + WG_DATA_MIN_LEN || hg_rd16be(l4 + 2) != ov->port ||
	    l4[8] != WG_TYPE_DATA)
		return false;
	*index = hg_rd32le(l4 + 8 + 4);
	return true;
}

/*
 * The overlay as published now, not as the loop turn began: a keypair
 * published a moment ago may already carry the peer's answer (we sent on
 * it, it answered), and a worker deep in a long turn would not know its
 * index yet.  Within the turn's read-side section both tables stay valid
 * (QSBR: neither is freed before this worker's next quiescent state).
 */
static const struct dp_overlay *
overlay_now(struct dp_worker *w)
{
	w->overlay = rcu_dereference(w->dp->overlay);
	return w->overlay;
}

void
dp_wg_steer(struct dp_worker *w, struct dp_frame *f)
{
	const struct dp_overlay *ov = overlay_now(w);
	struct ip_vec *v = &f->v;
	uint16_t n = w->dp->params.n_workers;

	if (ov == NULL || n == 1)
		return;
	for (uint16_t i = 0; i < v->n; i++) {
		struct pkt *p = v->pkts[i];
		uint32_t index;
		uint16_t owner;

		if (v->next[i] != IP_NEXT_RX || !wg_transport_of(ov, p,
		    &index) || (owner = (uint16_t)(index % n)) == w->id ||
		    index_find(ov, index) == NULL)
			continue;
		if (dp_handoff_push(w->dp->workers[owner]->handoff_rx, p)) {
			ctr_add(&w->ctr.wg_steered[p->in_if], 1);
			pkt_free(w->pool, p);
		} else {
			ip_drop(w->ipw, p, PKT_DROP_HANDOFF_FULL);
		}
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

/* The outer source of p (a peer's endpoint as it is now) and the address
 * it reached us on. */
static void
outer_endpoint(const struct pkt *p, struct dp_wg_endpoint *ep)
{
	const uint8_t *l4 = pkt_l4(p);

	memset(ep, 0, sizeof(*ep));
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		ep->family = AF_INET;
		memcpy(ep->addr, &ip->src_be, 4);
		memcpy(ep->local, &ip->dst_be, 4);
	} else {
		const struct ip6_hdr *ip = pkt_l3(p);

		ep->family = AF_INET6;
		memcpy(ep->addr, ip->src, 16);
		memcpy(ep->local, ip->dst, 16);
	}
	ep->port = hg_rd16be(l4);
}

/* The inner packet's addresses: its source (cryptokey routing) and
 * family. */
static const uint8_t *
inner_src(const struct pkt *p, uint8_t *family)
{
	const uint8_t *l3 = p->data + p->l3_off;

	*family = p->l3 == PKT_L3_IP4 ? AF_INET : AF_INET6;
	return l3 + (p->l3 == PKT_L3_IP4 ? 12 : 8);
}

void
dp_wg_decap(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi,
    uint64_t now_ns)
{
	const struct dp_overlay *ov = overlay_now(w);
	const struct ip_tables *t = w->tables;
	struct ip_vec *v = &f->v;
	struct pkt *burst[PKT_BATCH_MAX];
	struct dp_wg_endpoint from[PKT_BATCH_MAX];
	uint32_t index[PKT_BATCH_MAX];
	uint8_t res[PKT_BATCH_MAX];
	uint16_t n = 0;

	if (ov == NULL || w->wg == NULL)
		return;
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		uint16_t ulen_off;

		if (v->next[i] != IP_NEXT_LOCAL ||
		    !wg_transport_of(ov, p, &index[n]))
			continue;
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
		outer_endpoint(p, &from[n]);
		/* The UDP payload alone: the message. */
		ulen_off = (uint16_t)(p->l4_off + 8);
		p->len = (uint16_t)(p->l3_off + p->l3_len - ulen_off);
		p->data += ulen_off;
		p->l3 = PKT_L3_NONE;
		p->l3_off = p->l4_off = 0;
		burst[n++] = p;
	}
	if (n == 0)
		return;
	wg_decap_burst(w->wg, lookup_kp, (void *)ov, burst, n, res);
	for (uint16_t k = 0; k < n; k++) {
		struct pkt *p = burst[k];
		const struct dp_wg_index *e = index_find(ov, index[k]);
		struct dp_wg_peer_stats *obs;
		struct dp_wg_endpoint cur;
		const uint8_t *src;
		uint8_t family;
		struct eth_hdr *eth;

		if (e == NULL || (res[k] != WG_R_OK &&
		    res[k] != WG_R_KEEPALIVE)) {
			ip_drop(w->ipw, p, e == NULL ||
			    res[k] == WG_R_NO_KEYPAIR ? PKT_DROP_WG_INDEX :
			    PKT_DROP_TUNNEL_IN);
			continue;
		}
		/* Authenticated: the peer is alive, and where it sent from
		 * is where it is now. */
		obs = &w->wg_obs[e->peer];
		obs_max(&obs->last_rx_ns, now_ns);
		if (e->which == 2) {
			uint32_t *cf = &w->dp->wg_live[e->peer].confirmed;

			__atomic_store_n(&obs->confirmed_index, index[k],
			    __ATOMIC_RELAXED);
			obs_max(&obs->confirmed_ns, now_ns);
			if (__atomic_load_n(cf, __ATOMIC_RELAXED) != index[k])
				__atomic_store_n(cf, index[k],
				    __ATOMIC_RELAXED);
		}
		if (!dp_wg_endpoint_get(w->dp, e->peer, &cur) ||
		    memcmp(&cur, &from[k], sizeof(cur)) != 0)
			endpoint_try_set(w->dp, e->peer, &from[k]);
		if (res[k] == WG_R_KEEPALIVE) {
			pkt_free(w->pool, p);
			continue;
		}
		src = inner_src(p, &family);
		if (dp_wg_route(ov->routes, family, src) != e->peer) {
			ip_drop(w->ipw, p, PKT_DROP_WG_SRC);
			continue;
		}
		obs_max(&obs->last_rx_data_ns, now_ns);
		ctr_add(&obs->rx_pkts, 1);
		ctr_add(&obs->rx_bytes, p->len);
		ctr_add(&w->ctr.rx_pkts[ov->if_idx], 1);
		ctr_add(&w->ctr.rx_bytes[ov->if_idx], p->len);
		/* As if it came on the overlay's interface, addressed to
		 * its MAC. */
		eth = pkt_prepend(p, ETH_HDR_LEN);
		if (eth == NULL || w->reentry.n == PKT_BATCH_MAX) {
			ip_drop(w->ipw, p, PKT_DROP_OUT_OF_SPACE);
			continue;
		}
		memcpy(eth->dst, t->ifs[ov->if_idx].mac, ETH_ALEN);
		memset(eth->src, 0, ETH_ALEN);
		eth->type_be = htons(family == AF_INET ? ETH_P_IP :
		    ETH_P_IPV6);
		p->in_if = ov->if_idx;
		(void)pkt_tcp_clamp_mss(p->data + ETH_HDR_LEN,
		    (size_t)(p->len - ETH_HDR_LEN),
		    family == AF_INET ? ov->mss4 : ov->mss6);
		dp_mirror_reentry(w, p, now_ns);	/* COPY --from tun0 */
		w->reentry.pkts[w->reentry.n++] = p;
	}
}

/* ---- send --------------------------------------------------------------- */

/* Our address of family on interface o, for an outer source when the
 * peer has not reached us yet (a site peer we start to): false for none. */
static bool
if_source(const struct ip_tables *t, uint16_t o, uint8_t family, uint8_t *out)
{
	const struct ip_if *ifp = &t->ifs[o];

	memset(out, 0, 16);
	if (family == AF_INET && ifp->n_addr4 > 0) {
		memcpy(out, &ifp->addr4[0].addr_be, 4);
		return true;
	}
	if (family == AF_INET6 && ifp->n_addr6 > 0) {
		memcpy(out, ifp->addr6[0].addr, 16);
		return true;
	}
	return false;
}

/* The route to an endpoint: its next hop, or IP_FIB_MISS when none is
 * usable (none, a blackhole, our own, a tunnel or the overlay itself). */
static uint32_t
outer_route(const struct dp_worker *w, const struct ip_tables *t,
    const struct dp_wg_endpoint *ep)
{
	uint32_t nh, a;

	if (ep->family == AF_INET) {
		memcpy(&a, ep->addr, 4);
		nh = ip_fib4_lookup(t->fib4, a);
	} else
		nh = ip_fib6_lookup(t->fib6, ep->addr);
	if (nh == IP_FIB_MISS || t->nh[nh].type == IP_NH_BLACKHOLE ||
	    t->nh[nh].type == IP_NH_LOCAL || t->ifs[t->nh[nh].if_idx].encap)
		return IP_FIB_MISS;
	(void)w;
	return nh;
}

/* Outer UDP and IP in front of the message p->data holds, from src and
 * our port to the endpoint; the frame's Ethernet header zeroed for the
 * neighbour stage.  False when the headroom is short. */
static bool
outer_write(struct pkt *p, const struct dp_wg_endpoint *ep, const uint8_t *src,
    uint16_t port)
{
	bool v6 = ep->family == AF_INET6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t msg_len = p->len;
	uint16_t l3_len = (uint16_t)(ip_len + sizeof(struct udp_hdr) + msg_len);
	struct udp_hdr *u;
	uint8_t *l3;

	if (pkt_prepend(p, (uint16_t)(ETH_HDR_LEN + ip_len +
	    sizeof(struct udp_hdr))) == NULL)
		return false;
	memset(p->data, 0, ETH_HDR_LEN);
	pkt_eth(p)->type_be = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	l3 = p->data + ETH_HDR_LEN;
	u = (struct udp_hdr *)(void *)(l3 + ip_len);
	u->sport_be = htons(port);
	u->dport_be = htons(ep->port);
	u->len_be = htons((uint16_t)(sizeof(*u) + msg_len));
	u->csum_be = 0;
	if (v6) {
		struct ip6_hdr *ip = (struct ip6_hdr *)(void *)l3;

		ip->vtc_flow_be = htonl(0x60000000u);
		ip->plen_be = htons((uint16_t)(l3_len - IP6_HDR_LEN));
		ip->nxt = IPPROTO_UDP_;
		ip->hlim = WG_HS_TTL;
		memcpy(ip->src, src, 16);
		memcpy(ip->dst, ep->addr, 16);
		/* IPv6's UDP checksum is not optional (RFC 8200 §8.1). */
		u->csum_be = pkt_l4_csum6(ip, u, (uint16_t)(sizeof(*u) +
		    msg_len), IPPROTO_UDP_);
		if (u->csum_be == 0)
			u->csum_be = 0xffff;
	} else {
		struct ip4_hdr *ip = (struct ip4_hdr *)(void *)l3;

		/* DF with ID 0 (RFC 6864 §4.1), as ESP's outer header: the
		 * overlay's MTU leaves room for the outer headers. */
		ip->ver_ihl = 0x45;
		ip->tos = 0;
		ip->tot_len_be = htons(l3_len);
		ip->id_be = 0;
		ip->frag_be = htons(IP4_DF);
		ip->ttl = WG_HS_TTL;
		ip->proto = IPPROTO_UDP_;
		memcpy(&ip->src_be, src, 4);
		memcpy(&ip->dst_be, ep->addr, 4);
		pkt_ip4_set_csum(ip);
		/* UDP over IPv4 without a checksum (RFC 768): the AEAD's
		 * tag covers the message. */
	}
	p->l3 = v6 ? PKT_L3_IP6 : PKT_L3_IP4;
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = l3_len;
	p->l4_off = (uint16_t)(ETH_HDR_LEN + ip_len);
	p->l4_proto = IPPROTO_UDP_;
	p->flags = 0;
	return true;
}

/*
 * Encrypts n packets for peer through kp to ep and sends each on: to the
 * neighbour stage through v (idx[k] its place there) or, for pieces with
 * no place (idx NULL), straight out.
 */
static void
encap_send(struct dp_worker *w, struct ip_vec *v, const uint16_t *idx,
    struct wg_keypair *kp, uint16_t peer, struct pkt **pk, uint16_t n,
    uint64_t now_ns)
{
	const struct dp_overlay *ov = w->overlay;
	const struct ip_tables *t = w->tables;
	struct dp_wg_peer_stats *obs = &w->wg_obs[peer];
	struct dp_wg_endpoint ep;
	uint8_t res[PKT_BATCH_MAX], src[16];
	uint64_t bytes = 0, ok = 0;
	uint32_t nh = IP_FIB_MISS;

	for (uint16_t k = 0; k < n; k++)
		bytes += pk[k]->l3_len;
	wg_encap_burst(w->wg, kp, pk, n, t->ifs[ov->if_idx].mtu_bytes, res);
	if (dp_wg_endpoint_get(w->dp, peer, &ep) &&
	    (nh = outer_route(w, t, &ep)) != IP_FIB_MISS) {
		static const uint8_t zero[16];

		if (memcmp(ep.local, zero, 16) != 0)
			memcpy(src, ep.local, 16);
		else if (!if_source(t, t->nh[nh].if_idx, ep.family, src))
			nh = IP_FIB_MISS;
	}
	for (uint16_t k = 0; k < n; k++) {
		struct pkt *p = pk[k];
		enum pkt_drop why = PKT_DROP_NONE;

		if (res[k] != WG_R_OK)
			why = PKT_DROP_TUNNEL_OUT;
		else if (nh == IP_FIB_MISS)
			why = PKT_DROP_TUNNEL_NO_ROUTE;
		else if (!outer_write(p, &ep, src, ov->port))
			why = PKT_DROP_OUT_OF_SPACE;
		if (why != PKT_DROP_NONE) {
			if (idx != NULL)
				v->pkts[idx[k]] = NULL;
			ip_drop(w->ipw, p, why);
			continue;
		}
		ok++;
		p->out_if = t->nh[nh].if_idx;
		if (idx == NULL) {
			ip_neigh_send(w->ipw, t, p, nh, &w->tx, now_ns);
			continue;
		}
		v->nh[idx[k]] = nh;
		v->flags[idx[k]] &= (uint8_t)~IP_VF_ONLINK;
		v->next[idx[k]] = IP_NEXT_NEIGH;
	}
	ctr_add(&w->ctr.tx_pkts[ov->if_idx], ok);
	ctr_add(&w->ctr.tx_bytes[ov->if_idx], bytes);
	if (ok > 0) {
		obs_max(&obs->last_tx_ns, now_ns);
		obs_max(&obs->last_tx_data_ns, now_ns);
		ctr_add(&obs->tx_pkts, ok);
		ctr_add(&obs->tx_bytes, bytes);
	}
}

/* The keypair to send to peer on: its next one once the peer's first
 * packet on it came (the responder's rule, the paper §5.4.7; the control
 * side makes it current at its next tick), else its current one. */
static struct wg_keypair *
send_kp(const struct dp_worker *w, uint16_t peer)
{
	const struct dp_wg_peer *pe = &w->overlay->peers[peer];
	const uint32_t *cf = &w->dp->wg_live[peer].confirmed;

	if (pe->next != NULL && __atomic_load_n(cf, __ATOMIC_RELAXED) ==
	    wg_keypair_local_index(pe->next))
		return pe->next;
	return pe->cur;
}

/* The peer a packet routed to the overlay goes to; DP_WG_NONE with the
 * packet dropped when there is none, or it has no keypair yet (the
 * control thread is told). */
static uint16_t
encap_peer(struct dp_worker *w, struct pkt *p, uint64_t now_ns)
{
	const struct dp_overlay *ov = w->overlay;
	const uint8_t *l3 = p->data + p->l3_off;
	uint16_t peer;

	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6)
		peer = DP_WG_NONE;
	else
		peer = dp_wg_route(ov->routes, p->l3 == PKT_L3_IP4 ?
		    AF_INET : AF_INET6, l3 + (p->l3 == PKT_L3_IP4 ? 16 : 24));
	if (peer == DP_WG_NONE || peer >= ov->n_peers) {
		ip_drop(w->ipw, p, PKT_DROP_WG_NO_PEER);
		return DP_WG_NONE;
	}
	if (send_kp(w, peer) == NULL) {
		/* Once a second per worker is enough for the control
		 * thread, which looks ten times a second. */
		if (now_ns - __atomic_load_n(&w->wg_obs[peer].want_ns,
		    __ATOMIC_RELAXED) >= 1000000000ull)
			__atomic_store_n(&w->wg_obs[peer].want_ns, now_ns,
			    __ATOMIC_RELAXED);
		ip_drop(w->ipw, p, PKT_DROP_TUNNEL_NO_SA);
		return DP_WG_NONE;
	}
	return peer;
}

void
dp_wg_encap(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi,
    uint64_t now_ns)
{
	const struct dp_overlay *ov = w->overlay;
	const struct ip_tables *t = w->tables;
	struct ip_vec *v = &f->v;
	uint16_t peer_of[PKT_BATCH_MAX], idx[PKT_BATCH_MAX];
	uint16_t sub[PKT_BATCH_MAX];
	struct pkt *burst[PKT_BATCH_MAX];
	uint16_t n = 0, mtu;

	if (ov == NULL)
		return;
	mtu = t->ifs[ov->if_idx].mtu_bytes;
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		uint16_t peer;

		if (v->next[i] != IP_NEXT_ENCAP || p->out_if != ov->if_idx)
			continue;
		if (w->wg == NULL ||
		    (peer = encap_peer(w, p, now_ns)) == DP_WG_NONE) {
			if (w->wg == NULL)
				ip_drop(w->ipw, p, PKT_DROP_TUNNEL_OUT);
			v->pkts[i] = NULL;
			v->next[i] = IP_NEXT_NONE;
			continue;
		}
		(void)pkt_tcp_clamp_mss(p->data + p->l3_off, p->l3_len,
		    p->l3 == PKT_L3_IP4 ? ov->mss4 : ov->mss6);
		/* COPY --from the overlay sees what goes in, in clear. */
		dp_mirror_tx(w, p, now_ns);
		if (p->l3 == PKT_L3_IP4 && p->l3_len > mtu) {
			/* Too big without DF (routing refused it with DF):
			 * cut before encryption. */
			struct dp_pieces e = { .w = w };

			v->pkts[i] = NULL;
			v->next[i] = IP_NEXT_NONE;
			if (ip4_fragment_each(w->ipw, p, mtu, dp_piece_add,
			    &e) != 0 || e.n == 0) {
				for (uint16_t k = 0; k < e.n; k++)
					ip_drop(w->ipw, e.p[k],
					    PKT_DROP_FRAG_NO_BUFFER);
				continue;
			}
			encap_send(w, v, NULL, send_kp(w, peer), peer, e.p,
			    e.n, now_ns);
			continue;
		}
		peer_of[i] = peer;
		idx[n++] = i;
	}
	/* One burst per peer, in the batch's order within each. */
	for (uint16_t a = 0; a < n; a++) {
		uint16_t peer = peer_of[idx[a]], m = 0;

		if (peer == DP_WG_NONE)
			continue;	/* taken by an earlier burst */
		for (uint16_t b = a; b < n; b++)
			if (peer_of[idx[b]] == peer) {
				sub[m] = idx[b];
				burst[m++] = v->pkts[idx[b]];
				peer_of[idx[b]] = DP_WG_NONE;
				v->next[idx[b]] = IP_NEXT_NONE;
			}
		encap_send(w, v, sub, send_kp(w, peer), peer, burst, m,
		    now_ns);
	}
}
