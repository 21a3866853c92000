/*
 * src/dp/host.c: the host side of the data plane (the linux-cp pattern):
 * what INPUT accepted for a service of the host goes out to the
 * interface's host TAP, and what the host sends back comes in there and
 * enters the pipeline at OUTPUT.
 *
 * No lock.  Each worker owns the flows io_flow_queue() steers to it and
 * keeps them in its own conntrack table, so a host packet must be judged
 * by the worker that owns its flow:
 *  - every worker reads its own queue of each (multi-queue) TAP.  The tun
 *    driver sends a flow's packets out of the queue the flow was last
 *    written to, so a reply to something a worker punted comes back to
 *    that worker;
 *  - a host packet that finds no flow in the reading worker's table and
 *    whose io_flow_queue() worker is another (a flow the host opens, or
 *    one whose tun steering entry aged out) is copied to that worker's
 *    handoff ring; the owner reads its ring like a TAP queue.
 * A flow REDIRECTed to the host is the one case the second rule cannot
 * place: its tuple as the host sends it (the translated reply) hashes to
 * a worker of its own.  tun's steering covers it while the client keeps
 * sending, but tun forgets a flow about 3 s after its last write; so the
 * worker that sets up a REDIRECT also notes the host-side tuple in a
 * shared map (struct dp_redir), and a host packet no table of the
 * reading worker holds goes to the worker the map names before the one
 * io_flow_queue() names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dp_priv.h"

void
dp_punt(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi)
{
	struct ip_vec *v = &f->v;

	if (w->dp->host_ifs == 0)
		return;		/* ip_local() gives nothing HOST */
	for (uint16_t i = lo; i < hi; i++) {
		uint16_t ifi;

		if (v->next[i] != IP_NEXT_HOST)
			continue;
		ifi = v->pkts[i]->in_if;
		if (w->punt_n[ifi] == PKT_BURST)
			dp_punt_flush(w, 0);
		w->punt[ifi][w->punt_n[ifi]++] = v->pkts[i];
		v->pkts[i] = NULL;
		v->next[i] = IP_NEXT_NONE;
	}
}

void
dp_punt_flush(struct dp_worker *w, uint64_t now_ns)
{
	struct dp *dp = w->dp;

	for (uint16_t i = 0; i < dp->params.n_if; i++) {
		uint16_t n = w->punt_n[i], sent;

		if (n == 0)
			continue;
		sent = io_port_tx(dp->params.host_taps[i], w->id, w->punt[i],
		    n, now_ns);
		ctr_add(&w->ctr.punted[i], sent);
		for (uint16_t k = 0; k < n; k++) {
			if (k < sent)
				pkt_free(w->pool, w->punt[i][k]);
			else
				ip_drop(w->ipw, w->punt[i][k],
				    PKT_DROP_PUNT_FAILED);
		}
		w->punt_n[i] = 0;
	}
}

/* ---- the handoff ring ------------------------------------------------ */

int
dp_handoff_create(struct dp_handoff **out)
{
	struct dp_handoff *h;

	if (posix_memalign((void **)&h, HG_CACHE_LINE, sizeof(*h)) != 0)
		return -ENOMEM;
	memset(h, 0, sizeof(*h));
	for (uint32_t i = 0; i < DP_HANDOFF_SLOTS; i++)
		h->slots[i].seq = i;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		int e = errno;

		free(h);
		return -e;
	}
	*out = h;
	return 0;
}

void
dp_handoff_destroy(struct dp_handoff *h)
{
	if (h == NULL)
		return;
	close(h->efd);
	free(h);
}

bool
dp_handoff_push(struct dp_handoff *h, const struct pkt *p)
{
	return dp_handoff_push_frame(h, p->data, p->len, p->in_if);
}

bool
dp_handoff_push_frame(struct dp_handoff *h, const uint8_t *frame,
    uint16_t len, uint16_t in_if)
{
	uint64_t pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
	struct dp_handoff_slot *s;

	for (;;) {
		int64_t diff;

		s = &h->slots[pos % DP_HANDOFF_SLOTS];
		diff = (int64_t)(__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) -
		    pos);
		if (diff == 0 && __atomic_compare_exchange_n(&h->head, &pos,
		    pos + 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			break;
		if (diff < 0)
			return false;
		if (diff > 0)
			pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
	}
	s->len = len;
	s->in_if = in_if;
	memcpy(s->data, frame, len);
	__atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
	/* Pairs with dp_handoff_sleep(): either it sees the slot, or this
	 * sees it asleep and wakes it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&h->sleeping, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		(void)!write(h->efd, &one, sizeof(one));
	}
	return true;
}

struct pkt *
dp_handoff_pop(struct dp_handoff *h, struct pkt_pool *pool)
{
	struct dp_handoff_slot *s = &h->slots[h->tail % DP_HANDOFF_SLOTS];
	struct pkt *p;

	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != h->tail + 1)
		return NULL;
	if ((p = pkt_alloc(pool)) == NULL)
		return NULL;	/* it waits in the ring */
	p->len = s->len;
	p->in_if = s->in_if;
	memcpy(p->data, s->data, s->len);
	__atomic_store_n(&s->seq, h->tail + DP_HANDOFF_SLOTS, __ATOMIC_RELEASE);
	h->tail++;
	return p;
}

bool
dp_handoff_sleep(struct dp_handoff *h)
{
	const struct dp_handoff_slot *s = &h->slots[h->tail % DP_HANDOFF_SLOTS];
	uint64_t junk;

	(void)!read(h->efd, &junk, sizeof(junk));
	__atomic_store_n(&h->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == h->tail + 1) {
		__atomic_store_n(&h->sleeping, 0, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

void
dp_handoff_wake(struct dp_handoff *h)
{
	__atomic_store_n(&h->sleeping, 0, __ATOMIC_RELAXED);
}

/* ---- the redirect map ------------------------------------------------- */

_Static_assert(sizeof(struct ct_tuple) % 8 == 0,
    "the redirect map copies tuples in 8-byte words");

static uint32_t
dp_redir_slot(const struct ct_tuple *k)
{
	return dp_hash_words(k, sizeof(*k)) % DP_REDIR_SLOTS;
}

void
dp_redir_note(struct dp_worker *w, const struct ct_result *r)
{
	const struct ct_tuple *k = &r->pending.nat_reply;
	struct dp_redir *s = &w->dp->redir[dp_redir_slot(k)];
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	uint64_t *dst = (uint64_t *)(void *)&s->key;

	if (w->dp->params.n_workers == 1 || (seq & 1) ||
	    !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;		/* another writer has it: this one is lost */
	/* k is only 2-byte aligned in its ct_result: word by word
	 * through memcpy. */
	for (size_t i = 0; i < sizeof(*k) / 8; i++) {
		uint64_t word;

		memcpy(&word, (const uint8_t *)k + i * 8, 8);
		__atomic_store_n(&dst[i], word, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->owner, w->id, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* The worker the map names for p's tuple, or -1. */
static int
dp_redir_owner(const struct dp *dp, const struct pkt *p)
{
	struct ct_tuple k;
	union {
		struct ct_tuple t;
		uint64_t w[sizeof(struct ct_tuple) / 8];
	} got;
	const struct dp_redir *s;
	uint64_t *dst = got.w;
	uint32_t seq;
	uint16_t owner;

	if (!ct_pkt_tuple(p, &k))
		return -1;
	s = &dp->redir[dp_redir_slot(&k)];
	seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (seq == 0 || (seq & 1))
		return -1;
	for (size_t i = 0; i < sizeof(got) / 8; i++)
		dst[i] = __atomic_load_n(&((const uint64_t *)(const void *)
		    &s->key)[i], __ATOMIC_RELAXED);
	owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq ||
	    memcmp(&got.t, &k, sizeof(k)) != 0 ||
	    owner >= dp->params.n_workers)
		return -1;
	return owner;
}

/* ---- from the host --------------------------------------------------- */

/* The worker that owns p's flow, when not this one and this one has no
 * entry for it; else w->id. */
static uint16_t
dp_host_owner(struct dp_worker *w, const struct pkt *p, uint64_t now_ns)
{
	struct dp *dp = w->dp;
	int redir;

	/* Without rules nothing is tracked: any worker will do. */
	if (dp->params.n_workers == 1 || dp_prog(w->fw, p) == NULL)
		return w->id;
	/* A flow this worker holds stays here (tun's steering brought it);
	 * one REDIRECTed to the host goes where the map says; the rest to
	 * the worker the ports steer the flow to. */
	if (ct_holds(w->ct, p, now_ns))
		return w->id;
	if ((redir = dp_redir_owner(dp, p)) >= 0)
		return (uint16_t)redir;
	return io_frame_flow_queue(p->data, p->len, dp->params.n_workers);
}

/* One frame the host sent on interface i's TAP (or a handoff, the
 * control thread's among them): checked, then added to the frame as
 * OUTPUT, or handed to its owner. */
static void
dp_host_one(struct dp_worker *w, struct pkt *p, bool handed, uint64_t now_ns)
{
	enum pkt_drop why = pkt_parse(p, NULL);
	uint16_t owner;

	if (why != PKT_DROP_NONE) {
		ip_drop(w->ipw, p, why);
		return;
	}
	/* The TAP is NOARP: the host neither resolves nor answers
	 * neighbours there; hexgate does that on the wire. */
	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6) {
		ip_drop(w->ipw, p, PKT_DROP_ETHERTYPE);
		return;
	}
	/* No input interface: the control thread made it (ctl.c). */
	if (p->in_if == IP_IF_NONE && !dp_ctl_out(w, p))
		return;
	/* The host's own multicast (MLD reports, router solicitations)
	 * stays on its side: hexgate does not route multicast. */
	if (p->l3 == PKT_L3_IP4 ? (((const uint8_t *)&((const struct ip4_hdr *)
	    pkt_l3(p))->dst_be)[0] & 0xf0) == 0xe0 :
	    ((const struct ip6_hdr *)pkt_l3(p))->dst[0] == 0xff) {
		ip_drop(w->ipw, p, PKT_DROP_HOST_MCAST);
		return;
	}
	if (!handed && (owner = dp_host_owner(w, p, now_ns)) != w->id) {
		if (dp_handoff_push(w->dp->workers[owner]->handoff, p)) {
			ctr_add(&w->ctr.handed_off[p->in_if], 1);
			pkt_free(w->pool, p);
		} else {
			ip_drop(w->ipw, p, PKT_DROP_HANDOFF_FULL);
		}
		return;
	}
	ip_vec_add(&w->frame.v, p, IP_NEXT_OUTPUT);
}

uint32_t
dp_host_rx(struct dp_worker *w, uint64_t now_ns)
{
	struct dp *dp = w->dp;
	struct pkt *pkts[PKT_BURST];
	struct ip_vec *v = &w->frame.v;
	uint32_t got = 0;
	struct pkt *p;

	for (uint16_t i = 0; i < dp->params.n_if; i++) {
		struct io_port *tap = dp->params.host_taps[i];
		uint16_t n;

		if (tap == NULL || w->id >= io_port_rx_queues(tap))
			continue;
		if (v->n + PKT_BURST > PKT_BATCH_MAX)
			break;		/* the rest next turn */
		n = io_port_rx(tap, w->id, w->pool, pkts, PKT_BURST);
		ctr_add(&w->ctr.from_host[i], n);
		for (uint16_t k = 0; k < n; k++) {
			pkts[k]->in_if = i;
			dp_host_one(w, pkts[k], false, now_ns);
		}
		got += n;
	}
	while (v->n < PKT_BATCH_MAX &&
	    (p = dp_handoff_pop(w->handoff, w->pool)) != NULL) {
		dp_host_one(w, p, true, now_ns);
		got++;
	}
	return got;
}
