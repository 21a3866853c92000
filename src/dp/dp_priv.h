/*
 * src/dp/dp_priv.h: what the files of src/dp share: the worker and data
 * plane structs, the batch the pipeline's stages pass along, counters,
 * and the stages themselves (pipeline.c runs them in order):
 *   filter.c  conntrack, the chains (INPUT, FORWARD, OUTPUT), POSTROUTING
 *   nat.c     NAT decisions for new flows
 *   host.c    the host side: punt to the host TAPs, read from them, hand
 *             a flow's packets to the worker that owns it; handoff rings
 *   steer.c   fragments to the worker that owns their flow
 *   sa_steer.c inbound ESP to the worker that owns its SA; outer
 *             fragments of ESP reassembled
 *   mirror.c  COPY sessions
 *   ctl.c     the control thread's datagrams (IKE): its queue, and what
 *             it sends into the handoff rings
 */
#ifndef DP_PRIV_H
#define DP_PRIV_H

#include <pthread.h>
#include <string.h>

#include "../ct/ct.h"
#include "../fw/fw.h"
#include "dp.h"

#define DP_IDLE_POLL_MS	10	/* how long an idle worker sleeps in poll() */
#define DP_IDLE_SPINS	64	/* empty turns before a worker sleeps */
#define DP_CT_EXPIRE_BUDGET 64	/* expired flows a worker frees per sweep */
#define DP_CT_EXPIRE_NS	1000000	/* between sweeps: 1 ms */

/*
 * Counters of one worker.  Written only by that worker; the control thread
 * sums them while they change.  Loads and stores are relaxed atomics so a
 * reader sees each counter whole; totals may be a turn behind.
 */
struct dp_counters {
	uint64_t rx_pkts[IP_IF_MAX];
	uint64_t rx_bytes[IP_IF_MAX];
	uint64_t tx_pkts[IP_IF_MAX];
	uint64_t tx_bytes[IP_IF_MAX];
	uint64_t tx_errors[IP_IF_MAX];
	uint64_t punted[IP_IF_MAX];
	uint64_t from_host[IP_IF_MAX];
	uint64_t handed_off[IP_IF_MAX];	/* host frames sent to their owner */
	uint64_t frags_steered[IP_IF_MAX];	/* fragments sent to theirs */
	uint64_t esp_steered[IP_IF_MAX];	/* ESP sent to its SA's or
						   flow's worker */
	uint64_t reassembled[IP_IF_MAX];	/* outer datagrams put together */
	uint64_t ike_rx[IP_IF_MAX];	/* queued for the control thread */
	uint64_t ike_tx[IP_IF_MAX];	/* the control thread's, at OUTPUT */
	uint64_t wg_steered[IP_IF_MAX];	/* overlay data to its index's
					   worker */
	uint64_t drops[IP_IF_MAX * PKT_DROP_COUNT];
};

/*
 * A batch on its way through the stages: the router's part (packets,
 * next steps, routes, verdicts) and, indexed like it, conntrack's result
 * for each packet.  tracked[i] is false for a packet no chain looks at
 * (no rule program for its family).
 */
struct dp_frame {
	struct ip_vec v;
	bool tracked[PKT_BATCH_MAX];
	struct ct_result ct[PKT_BATCH_MAX];
};

/*
 * A flow's packets that the host sent on another worker's TAP queue, or
 * the control thread sent (ctl.c: in_if IP_IF_NONE), on their way to the
 * worker that owns the flow (host.c).  Frames are copied in and out, so
 * packet buffers never change pools.  Many producers, one
 * consumer, no lock: a bounded queue whose slots carry sequence numbers
 * (Vyukov's), and an eventfd that wakes the owner when it sleeps.
 */
#define DP_HANDOFF_SLOTS	256

struct dp_handoff_slot {
	uint64_t seq;			/* atomic */
	uint16_t len;
	uint16_t in_if;
	uint8_t data[PKT_DATA_ROOM];
};

struct dp_handoff {
	uint64_t head HG_ALIGNED(HG_CACHE_LINE);	/* producers: next slot */
	uint64_t tail HG_ALIGNED(HG_CACHE_LINE);	/* the owner's */
	int sleeping;			/* atomic: the owner is in poll() */
	int efd;			/* eventfd */
	struct dp_handoff_slot slots[DP_HANDOFF_SLOTS];
};

/*
 * The control thread's queue (ctl.c): the datagrams the workers took for
 * it, the same kind of ring as the handoff's, with a slot per datagram:
 * its addresses, ports and UDP payload.
 */
#define DP_CTL_SLOTS		1024

struct dp_ctl_slot {
	uint64_t seq;			/* atomic */
	struct dp_dgram d;
	uint16_t len;			/* of the payload */
	uint8_t data[PKT_DATA_ROOM];
};

struct dp_ctl {
	uint64_t head HG_ALIGNED(HG_CACHE_LINE);	/* producers: next slot */
	uint64_t tail HG_ALIGNED(HG_CACHE_LINE);	/* the control thread's */
	int waiting;			/* atomic: it found the queue empty */
	int efd;			/* eventfd */
	/* Acquires (dp_ctl_acquire()): bit i, a packet was routed into
	 * tunnel interface i while it had no SA.  Atomic; its own line,
	 * written at most once a second per interface by each worker. */
	uint64_t acquire HG_ALIGNED(HG_CACHE_LINE);
	struct dp_ctl_slot slots[DP_CTL_SLOTS];
};

/* A datagram whose fragments go to another worker (steer.c). */
#define DP_FRAG_STEER_SLOTS	1024

struct dp_frag_steer {
	struct ct_frag_key key;
	uint16_t owner;
	uint64_t expires_ns;
};

struct ip_reass;

struct dp_worker {
	struct dp *dp;
	uint16_t id;
	pthread_t thread;
	bool started;
	struct pkt_pool *pool;
	struct ip_worker *ipw;
	/* Every flow this worker owns: forwarded, and to or from hexgate
	 * itself.  Only this worker touches it. */
	struct ct_table *ct;
	uint64_t ct_swept_ns;		/* last expiry sweep */
	const struct dp_fw *fw;		/* loaded once per loop turn */
	const struct ip_tables *tables;	/* the same */
	const struct dp_tunnels *tunnels;	/* the same */
	const struct dp_overlay *overlay;	/* the same; NULL: none */
	struct wg_worker *wg;		/* overlay crypto; NULL: failed */
	/* What this worker saw of each overlay peer (dp_wg_peer_stats()):
	 * written by it alone, read by the control thread. */
	struct dp_wg_peer_stats *wg_obs;
	struct dp_counters ctr;
	struct dp_frame frame;		/* the batch in the stages */
	struct pkt_batch tx;
	uint16_t stage_n[IP_IF_MAX];
	struct pkt *stage[IP_IF_MAX][PKT_BATCH_MAX];
	uint16_t punt_n[IP_IF_MAX];	/* toward the host TAPs */
	struct pkt *punt[IP_IF_MAX][PKT_BURST];
	struct dp_handoff *handoff;	/* host frames of flows this worker owns */
	struct dp_handoff *handoff_rx;	/* fragments of flows it owns */
	struct dp_frag_steer frag_steer[DP_FRAG_STEER_SLOTS];
	/* ESP: the crypto library's state, and what the tunnels
	 * decapsulated, to go through the stages again (pipeline.c). */
	struct esp_worker *esp;		/* NULL: the crypto library failed */
	uint64_t ka_check_ns;		/* worker 0: NAT keepalives looked at */
	uint64_t ka_sent_ns[IP_IF_MAX];	/* ... and sent, by tunnel */
	struct pkt_batch reentry;
	struct ip_reass *reass;		/* outer fragments; NULL: no tunnel */
	struct ip_reass *reass_local;	/* params.ike: UDP fragments to us
					   from others than the peers */
	uint64_t acquire_ns[IP_IF_MAX];	/* when this worker last asked for
					   an SA of each tunnel (ctl.c) */
};

/*
 * Which worker holds a flow REDIRECTed to the host, by the tuple the
 * host's packets carry (host.c).  Shared by the workers, no lock: a slot
 * is written under its sequence number (odd while a writer holds it, as a
 * seqlock whose writers claim it with a compare-and-swap); a reader that
 * sees the number change, or odd, ignores the slot.  Direct-mapped: a
 * newer flow takes the slot of an older one it collides with.
 */
#define DP_REDIR_SLOTS		4096

struct dp_redir {
	uint32_t seq;			/* atomic */
	uint16_t owner;
	struct ct_tuple key HG_ALIGNED(8);	/* atomic, word by word */
};

struct dp_wg_live {
	uint32_t seq;			/* atomic; odd while written */
	/* The receiver index of the peer's next keypair once its first
	 * packet came (atomic): workers send on it from then on, before
	 * the control side's publish makes it current. */
	uint32_t confirmed;
	uint64_t ep[sizeof(struct dp_wg_endpoint) / 8];	/* atomic words */
};

struct dp {
	struct ip_tables *tables;	/* RCU-published */
	struct dp_redir *redir;		/* DP_REDIR_SLOTS of them */
	struct dp_fw *fw;		/* RCU-published; NULL: no filtering */
	struct dp_tunnels *tunnels;	/* RCU-published, never NULL */
	struct dp_overlay *overlay;	/* RCU-published; NULL: none */
	/* Each overlay peer's endpoint, a seqlock (overlay.c). */
	struct dp_wg_live *wg_live;	/* DP_WG_PEERS_MAX */
	struct dp_ctl *ctl;		/* params.ike: the control thread's
					   queue; else NULL */
	uint16_t ctl_ip_id;		/* atomic: IPv4 identification of
					   what the control thread sends */
	/* What dp_if_stats() leaves out: an interface's counters as they
	 * stood when its slot was given to a new one (control thread). */
	struct dp_if_stats if_base[IP_IF_MAX];
	struct ip_neigh_table *nt;
	struct dp_params params;
	uint64_t host_ifs;		/* bit i: interface i has a host TAP */
	bool replay;
	bool flow_exact;		/* every port steers by io_flow_queue() */
	int stop;			/* atomic */
	int running;			/* atomic: workers not yet returned */
	struct dp_worker *workers[DP_WORKERS_MAX];
};

static inline void
ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v,
	    __ATOMIC_RELAXED);
}

static inline uint64_t
ctr_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* A multiply-xorshift over the whole 64-bit words of a key (its padding
 * zeroed): the slot of a direct-mapped table (host.c, steer.c). */
static inline uint32_t
dp_hash_words(const void *key, size_t len)
{
	const uint8_t *b = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL, x;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		memcpy(&x, b + i, 8);
		h = (h ^ x) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	return (uint32_t)(h >> 20);
}

static inline const struct fw_prog *
dp_prog(const struct dp_fw *fw, const struct pkt *p)
{
	if (fw == NULL)
		return NULL;
	return p->l3 == PKT_L3_IP4 ? fw->prog4 : fw->prog6;
}

/* pipeline.c: the stage order.  A port's frames (RX, parsed), the host's
 * (OUTPUT), and the transmit step. */
void dp_pipeline_rx(struct dp_worker *w, uint64_t now_ns);
void dp_pipeline_output(struct dp_worker *w, uint64_t now_ns);
void dp_tx(struct dp_worker *w, uint64_t now_ns);

/* filter.c: conntrack and the chains, over [lo, hi) of the frame. */
/* PREROUTING or OUTPUT packets from lo on: [raw], conntrack, [mangle],
 * destination NAT.  Returns hi: the first packet that must wait until
 * those before it are confirmed (the same new flow or datagram again),
 * or the frame's end. */
uint16_t dp_conntrack(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    enum ip_next step, uint64_t now_ns);
/* INPUT, FORWARD and OUTPUT packets: the chain's verdict in verdict[];
 * INPUT's accepted new flows are confirmed. */
void dp_filter(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);
/* POSTROUTING packets: [mangle], source NAT, confirm -> ENCAP. */
void dp_postrouting(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);
/* Per loop turn: expire flows. */
void dp_ct_poll(struct dp_worker *w, uint64_t now_ns);

/* nat.c */
/* A new flow's translation at PREROUTING (DNAT, NETMAP, REDIRECT) or
 * POSTROUTING (SNAT, MASQUERADE, NETMAP), set up on cr.  False when the
 * packet must be dropped (no free tuple). */
bool dp_nat_new(struct dp_worker *w, const struct fw_prog *prog,
    struct ct_result *cr, enum fw_nat_hook hook, const struct pkt *p,
    uint16_t out_if, uint64_t now_ns);
/* What -m conntrack / -m state see of a classified packet's flow. */
void dp_fw_ct_info(const struct ct_table *ct, const struct ct_result *cr,
    uint64_t now_ns, struct fw_ct_info *ci);

/* host.c */
/* HOST packets of [lo, hi): staged for the interface's host TAP. */
/* tunnel.c: ESP into and out of the tunnel interfaces. */
void dp_decap(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);
/* tunnel.c: the pieces of an IPv4 packet too big for its tunnel (or the
 * overlay) without DF, cut to its MTU before encryption (RFC 4459 §3:
 * the receiver sees ordinary inner fragments, never outer ones);
 * dp_piece_add() is ip4_fragment_each()'s callback. */
#define DP_PIECES_MAX	16

struct dp_pieces {
	struct dp_worker *w;
	uint16_t n;
	struct pkt *p[DP_PIECES_MAX];
};

void dp_piece_add(void *arg, struct pkt *q);
/* tunnel.c: worker 0 sends the NAT keepalives that are due. */
void dp_nat_keepalives(struct dp_worker *w, uint64_t now_ns);
/* pipeline.c: what the router made for a tunnel itself, encapsulated
 * and onto tx (after the stages, and after ip_poll()). */
void dp_pipeline_own_encap(struct dp_worker *w, uint64_t now_ns);
void dp_encap(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);
void dp_punt(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi);
/* Sends the packets dp_punt() staged. */
void dp_punt_flush(struct dp_worker *w, uint64_t now_ns);
/* Reads this worker's queue of every host TAP and its handoff ring into
 * the frame as OUTPUT packets; frames of flows another worker owns go to
 * that worker's ring.  Returns frames read. */
uint32_t dp_host_rx(struct dp_worker *w, uint64_t now_ns);
/* A new flow this worker REDIRECTed to the host (r set up, not confirmed
 * yet): its host-side tuple is remembered as this worker's. */
void dp_redir_note(struct dp_worker *w, const struct ct_result *r);
int dp_handoff_create(struct dp_handoff **out);
/* Any thread: copies p's frame (or frame, len bytes, with in_if) into h;
 * false when h is full. */
bool dp_handoff_push(struct dp_handoff *h, const struct pkt *p);
bool dp_handoff_push_frame(struct dp_handoff *h, const uint8_t *frame,
    uint16_t len, uint16_t in_if);
/* h's worker: the next frame in a packet of pool, or NULL. */
struct pkt *dp_handoff_pop(struct dp_handoff *h, struct pkt_pool *pool);
void dp_handoff_destroy(struct dp_handoff *h);
/* Before and after the worker sleeps: the eventfd to poll, and whether
 * something arrived meanwhile (then it must not sleep). */
bool dp_handoff_sleep(struct dp_handoff *h);
void dp_handoff_wake(struct dp_handoff *h);

/* steer.c */
/* RX packets that are fragments of a flow another worker owns: to its
 * RX ring (first stage after RX). */
void dp_frag_steer(struct dp_worker *w, struct dp_frame *f, uint64_t now_ns);
/* Reads this worker's RX ring and runs what it held through the
 * pipeline; returns frames read. */
uint32_t dp_steer_rx(struct dp_worker *w, uint64_t now_ns);

/* sa_steer.c */
/* RX packets steered by a SPI that is not one of our inbound SAs': to
 * the worker that owns their flow. */
void dp_sa_steer(struct dp_worker *w, struct dp_frame *f);
/* RX fragments of outer datagrams from our tunnels' peers: held, and
 * whole datagrams go on (or to their SA's worker).  First stage. */
void dp_reass(struct dp_worker *w, struct dp_frame *f, uint64_t now_ns);
/* Per loop turn: drop the datagrams whose time is up. */
void dp_reass_poll(struct dp_worker *w, uint64_t now_ns);
int dp_reass_create(struct dp_worker *w);
/* A packet a tunnel decapsulated (parsed, in_if the tunnel): true when
 * it went to the worker that owns its flow, false when that is w. */
bool dp_inner_steer(struct dp_worker *w, struct pkt *p);

/* overlay.c: the overlay's transport data (WireGuard's). */
/* RX transport messages whose receiver index another worker owns: to it
 * (first stages). */
void dp_wg_steer(struct dp_worker *w, struct dp_frame *f);
/* LOCAL transport messages to the overlay's port: decrypted, checked
 * against their peer's allowed IPs, to re-enter on the overlay. */
void dp_wg_decap(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);
/* ENCAP packets routed to the overlay: to their peer, encrypted, routed
 * by the outer destination. */
void dp_wg_encap(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns);

/* ctl.c */
int dp_ctl_create(struct dp_ctl **out);
void dp_ctl_destroy(struct dp_ctl *c);
/* LOCAL packets of [lo, hi) (after dp_decap), with params.ike: IKE to
 * the control thread's queue; ESP no tunnel took, dropped. */
void dp_ctl_punt(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi);
/* A frame the control thread sent (in_if IP_IF_NONE), parsed: its input
 * interface becomes the one that holds its source address; false when
 * none does (p dropped). */
bool dp_ctl_out(struct dp_worker *w, struct pkt *p);
/* A packet was routed into tunnel interface if_idx, which has no SA: ask
 * the control thread for one (IKE's acquire), at most once a second. */
void dp_ctl_acquire(struct dp_worker *w, uint16_t if_idx, uint64_t now_ns);

#include "mirror.h"	/* last: it uses the structs above */

#endif /* DP_PRIV_H */
