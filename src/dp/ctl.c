/*
 * src/dp/ctl.c: the control thread's datagrams (IKE, issue 15).
 *
 * IKE runs in the daemon's control thread, not in the host's stack.  With
 * params.ike, what INPUT accepted for the appliance and that is UDP to
 * port 500, or to 4500 with the non-ESP marker (RFC 3948 §2.2), is copied
 * into one queue the control thread reads (dp_ctl_recv()) instead of
 * going to the host side.  The stage runs after dp_decap, which took the
 * ESP of our tunnels and the NAT keepalives: ESP still there, bare or in
 * UDP, has a SPI no tunnel has, and with no host stack that could own an
 * SA it is dropped and counted (RFC 4303 §3.4.2: an auditable event).
 * Without params.ike the stage does nothing and all of it goes on to the
 * host side, as before.
 *
 * The queue has many producers (the workers) and one consumer, and no
 * lock: bounded slots under sequence numbers like the handoff rings'
 * (host.c), each holding a datagram's addresses, ports and UDP payload.
 * A full queue drops and counts.  The control thread polls an eventfd; a
 * producer writes it only after the consumer said it found the queue
 * empty (waiting), and only the first producer to see that, so a burst
 * costs one write, and a flood of IKE no system call per packet.
 *
 * What the control thread sends (dp_ctl_send()) is built as a frame on
 * its own stack and copied into the handoff ring of the worker that owns
 * its flow (io_frame_flow_queue(), as for a host TAP's frame of a flow
 * another worker holds: the ports steer the peer's datagrams of that flow
 * there), which runs it from OUTPUT like the host's own packets.  It has
 * no input interface: the ring carries IP_IF_NONE, and the worker takes
 * the interface that holds its source address (dp_ctl_out()), where its
 * drops and ike_tx are counted and where a link-local destination lies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/hg_time.h"
#include "../tun/esp.h"
#include "dp_priv.h"

#define CTL_IKE_PORT	500	/* RFC 7296 §2 */
#define CTL_TTL		64

int
dp_ctl_create(struct dp_ctl **out)
{
	struct dp_ctl *c;

	if (posix_memalign((void **)&c, HG_CACHE_LINE, sizeof(*c)) != 0)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; i < DP_CTL_SLOTS; i++)
		c->slots[i].seq = i;
	/* Until the control thread first looks, a datagram must wake it. */
	c->waiting = 1;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		int e = errno;

		free(c);
		return -e;
	}
	*out = c;
	return 0;
}

void
dp_ctl_destroy(struct dp_ctl *c)
{
	if (c == NULL)
		return;
	close(c->efd);
	free(c);
}

/* ---- receive: the workers' side ---------------------------------------- */

/* Copies p's datagram (its payload at pl, len bytes) into c; false when
 * c is full. */
static bool
ctl_push(struct dp_ctl *c, const struct pkt *p, const uint8_t *pl,
    uint16_t len)
{
	uint64_t pos = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
	const struct udp_hdr *u = pkt_l4(p);
	struct dp_ctl_slot *s;

	for (;;) {
		int64_t diff;

		s = &c->slots[pos % DP_CTL_SLOTS];
		diff = (int64_t)(__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) -
		    pos);
		if (diff == 0 && __atomic_compare_exchange_n(&c->head, &pos,
		    pos + 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			break;
		if (diff < 0)
			return false;
		if (diff > 0)
			pos = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
	}
	memset(&s->d, 0, sizeof(s->d));
	s->d.if_idx = p->in_if;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		s->d.family = AF_INET;
		memcpy(s->d.src, &ip->src_be, 4);
		memcpy(s->d.dst, &ip->dst_be, 4);
	} else {
		const struct ip6_hdr *ip = pkt_l3(p);

		s->d.family = AF_INET6;
		memcpy(s->d.src, ip->src, 16);
		memcpy(s->d.dst, ip->dst, 16);
	}
	s->d.sport = ntohs(u->sport_be);
	s->d.dport = ntohs(u->dport_be);
	s->len = len;
	memcpy(s->data, pl, len);
	__atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
	/* Pairs with ctl_arm(): either it sees the slot, or this sees it
	 * waiting and wakes it (one producer does). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->waiting, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&c->waiting, 0, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		(void)!write(c->efd, &one, sizeof(one));
	}
	return true;
}

/* Whether the UDP datagram u (ulen bytes) of p has a right checksum:
 * IPv4's may be absent (0), IPv6's may not (RFC 8200 §8.1).  The host's
 * stack checks it for what is punted; this datagram never gets there. */
static bool
ctl_csum_ok(const struct pkt *p, const struct udp_hdr *u, uint16_t ulen)
{
	if (p->l3 == PKT_L3_IP4)
		return u->csum_be == 0 || pkt_l4_csum4(pkt_l3(p), u, ulen,
		    IPPROTO_UDP_) == 0;
	return u->csum_be != 0 && pkt_l4_csum6(pkt_l3(p), u, ulen,
	    IPPROTO_UDP_) == 0;
}

enum ctl_kind {
	CTL_PASS,		/* not the control thread's: on to ip_local */
	CTL_IKE,		/* to the queue: payload in *pl, *len */
	CTL_DROP,		/* dropped for *why */
};

static enum ctl_kind
ctl_classify(const struct dp_overlay *ov, const struct pkt *p,
    const uint8_t **pl, uint16_t *len, enum pkt_drop *why)
{
	const struct udp_hdr *u;
	uint16_t ulen, dport;
	uint32_t spi;

	if (p->l4_off == 0 || (p->flags & PKT_F_FRAG))
		return CTL_PASS;	/* fragments: ours were put together */
	if (p->l4_proto == IPPROTO_ESP_) {
		*why = PKT_DROP_ESP_NO_SA;
		return CTL_DROP;
	}
	if (p->l4_proto != IPPROTO_UDP_)
		return CTL_PASS;
	u = pkt_l4(p);
	dport = ntohs(u->dport_be);
	if (dport != CTL_IKE_PORT && dport != ESP_UDP_PORT &&
	    (ov == NULL || dport != ov->port))
		return CTL_PASS;
	ulen = ntohs(u->len_be);
	if (ulen < sizeof(*u) || ulen > p->l3_off + p->l3_len - p->l4_off) {
		*why = PKT_DROP_L4_TRUNC;
		return CTL_DROP;
	}
	if (ulen == sizeof(*u) && dport == CTL_IKE_PORT)
		return CTL_PASS;	/* empty: no IKE message */
	if (!ctl_csum_ok(p, u, ulen)) {
		*why = PKT_DROP_L4_CSUM;
		return CTL_DROP;
	}
	*pl = (const uint8_t *)(u + 1);
	*len = (uint16_t)(ulen - sizeof(*u));
	if (dport == CTL_IKE_PORT)
		return CTL_IKE;
	if (dport != ESP_UDP_PORT) {
		/* The overlay's: handshake messages (initiation, response,
		 * cookie reply) to the control thread; transport data that
		 * dp_wg_decap did not take has an index no peer has. */
		if (*len >= 4 && (*pl)[0] >= 1 && (*pl)[0] <= 3 &&
		    (*pl)[1] == 0 && (*pl)[2] == 0 && (*pl)[3] == 0)
			return CTL_IKE;
		*why = *len >= 4 && (*pl)[0] == 4 ? PKT_DROP_WG_INDEX :
		    PKT_DROP_WG_BAD;
		return CTL_DROP;
	}
	switch (esp_udp_classify(*pl, *len, &spi)) {
	case ESP_UDP_IKE:
		return CTL_IKE;
	case ESP_UDP_ESP:
		*why = PKT_DROP_ESP_NO_SA;
		break;
	case ESP_UDP_KEEPALIVE:	/* dp_decap's, without crypto state */
		*why = PKT_DROP_NAT_KEEPALIVE;
		break;
	default:
		*why = PKT_DROP_UDP_4500_BAD;
		break;
	}
	return CTL_DROP;
}

void
dp_ctl_punt(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi)
{
	struct dp_ctl *c = w->dp->ctl;
	struct ip_vec *v = &f->v;

	if (c == NULL)
		return;		/* IKE is the host side's */
	for (uint16_t i = lo; i < hi; i++) {
		struct pkt *p = v->pkts[i];
		const uint8_t *pl = NULL;
		enum pkt_drop why = PKT_DROP_NONE;
		uint16_t len = 0;

		if (v->next[i] != IP_NEXT_LOCAL)
			continue;
		switch (ctl_classify(w->overlay, p, &pl, &len, &why)) {
		case CTL_PASS:
			continue;
		case CTL_IKE:
			if (ctl_push(c, p, pl, len)) {
				ctr_add(&w->ctr.ike_rx[p->in_if], 1);
				pkt_free(w->pool, p);
			} else {
				ip_drop(w->ipw, p, PKT_DROP_IKE_QUEUE_FULL);
			}
			break;
		case CTL_DROP:
			ip_drop(w->ipw, p, why);
			break;
		}
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

/* ---- receive: the control thread's side -------------------------------- */

int
dp_ctl_fd(const struct dp *dp)
{
	return dp->ctl != NULL ? dp->ctl->efd : -1;
}

/* The queue looked empty: say so, so the next push writes the eventfd,
 * then look again.  True when something came in meanwhile. */
static bool
ctl_arm(struct dp_ctl *c)
{
	const struct dp_ctl_slot *s = &c->slots[c->tail % DP_CTL_SLOTS];
	uint64_t junk;

	(void)!read(c->efd, &junk, sizeof(junk));
	__atomic_store_n(&c->waiting, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != c->tail + 1)
		return false;
	__atomic_store_n(&c->waiting, 0, __ATOMIC_RELAXED);
	return true;
}

size_t
dp_ctl_recv(struct dp *dp, struct dp_dgram *d, uint8_t *buf, size_t cap)
{
	struct dp_ctl *c = dp->ctl;
	struct dp_ctl_slot *s;
	size_t len;

	if (c == NULL)
		return 0;
	s = &c->slots[c->tail % DP_CTL_SLOTS];
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != c->tail + 1 &&
	    !ctl_arm(c))
		return 0;
	*d = s->d;
	len = s->len;
	memcpy(buf, s->data, len < cap ? len : cap);
	__atomic_store_n(&s->seq, c->tail + DP_CTL_SLOTS, __ATOMIC_RELEASE);
	c->tail++;
	return len;
}

uint32_t
dp_ctl_backlog(const struct dp *dp)
{
	const struct dp_ctl *c = dp->ctl;

	if (c == NULL)
		return 0;
	return (uint32_t)(__atomic_load_n(&c->head, __ATOMIC_RELAXED) -
	    __atomic_load_n(&c->tail, __ATOMIC_RELAXED));
}

/* ---- acquires ------------------------------------------------------------ */

/*
 * A set of bits rather than a message in the queue: an acquire carries
 * nothing but its interface, many workers asking for the same one are
 * one question, and the control thread needs it no sooner than its next
 * tick.  The worker's own clock keeps a flood of packets into a tunnel
 * without an SA from touching the shared line more than once a second.
 */
_Static_assert(IP_IF_MAX <= 64, "an acquire is a bit of a uint64_t");

void
dp_ctl_acquire(struct dp_worker *w, uint16_t if_idx, uint64_t now_ns)
{
	struct dp_ctl *c = w->dp->ctl;

	if (c == NULL || if_idx >= IP_IF_MAX ||
	    (w->acquire_ns[if_idx] != 0 &&
	    now_ns - w->acquire_ns[if_idx] < HG_NS_PER_S))
		return;
	w->acquire_ns[if_idx] = now_ns;
	__atomic_fetch_or(&c->acquire, 1ull << if_idx, __ATOMIC_RELAXED);
}

uint64_t
dp_ctl_acquires(struct dp *dp)
{
	if (dp->ctl == NULL)
		return 0;
	return __atomic_exchange_n(&dp->ctl->acquire, 0, __ATOMIC_RELAXED);
}

/* ---- send --------------------------------------------------------------- */

bool
dp_ctl_send(struct dp *dp, const struct dp_dgram *d, const uint8_t *payload,
    size_t len)
{
	uint8_t frame[PKT_DATA_ROOM];
	struct pkt_udp_spec s = { .ttl = CTL_TTL, .sport = d->sport,
	    .dport = d->dport };
	uint16_t owner = 0;
	size_t n;

	if (d->family == AF_INET)
		s.l3 = PKT_L3_IP4;
	else if (d->family == AF_INET6)
		s.l3 = PKT_L3_IP6;
	else
		return false;
	memcpy(s.src, d->src, sizeof(s.src));
	memcpy(s.dst, d->dst, sizeof(s.dst));
	s.ip_id = __atomic_fetch_add(&dp->ctl_ip_id, 1, __ATOMIC_RELAXED);
	if ((n = pkt_build_udp(frame, sizeof(frame), &s, payload, len)) == 0)
		return false;
	if (dp->params.n_workers > 1)
		owner = io_frame_flow_queue(frame, n, dp->params.n_workers);
	return dp_handoff_push_frame(dp->workers[owner]->handoff, frame,
	    (uint16_t)n, IP_IF_NONE);
}

/* ---- send: the owning worker's side ------------------------------------ */

bool
dp_ctl_out(struct dp_worker *w, struct pkt *p)
{
	const struct ip_tables *t = w->tables;
	uint32_t nh;

	if (p->l3 == PKT_L3_IP4)
		nh = ip_fib4_lookup(t->fib4,
		    ((const struct ip4_hdr *)pkt_l3(p))->src_be);
	else
		nh = ip_fib6_lookup(t->fib6,
		    ((const struct ip6_hdr *)pkt_l3(p))->src);
	if (nh == IP_FIB_MISS || t->nh[nh].type != IP_NH_LOCAL) {
		/* Counted on the interface it would have left by. */
		nh = p->l3 == PKT_L3_IP4 ? ip_fib4_lookup(t->fib4,
		    ((const struct ip4_hdr *)pkt_l3(p))->dst_be) :
		    ip_fib6_lookup(t->fib6,
		    ((const struct ip6_hdr *)pkt_l3(p))->dst);
		if (nh != IP_FIB_MISS && t->nh[nh].type != IP_NH_BLACKHOLE)
			p->in_if = t->nh[nh].if_idx;
		ip_drop(w->ipw, p, PKT_DROP_IKE_SRC);
		return false;
	}
	p->in_if = t->nh[nh].if_idx;
	ctr_add(&w->ctr.ike_tx[p->in_if], 1);
	return true;
}
