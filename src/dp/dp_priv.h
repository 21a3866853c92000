/*
 * src/dp/dp_priv.h: what the files of src/dp share: the worker and data
 * plane structs, counters, and the firewall glue (filter.c) the pipeline
 * (worker.c) calls.
 */
#ifndef DP_PRIV_H
#define DP_PRIV_H

#include <pthread.h>

#include "../ct/ct.h"
#include "../fw/fw.h"
#include "dp.h"

/*
 * A worker whose ports are quiet keeps polling them for DP_IDLE_SPIN_NS
 * (and at least DP_IDLE_SPINS turns) after the last frame, then sleeps in
 * poll() on its ports' descriptors for at most DP_IDLE_POLL_MS (its timers
 * run when it wakes); an afpacket port's descriptor becomes readable per
 * frame, so the sleep costs one wake-up, not a timeout.  The spin saves
 * that wake-up for frames that follow close behind (a reply crossing a
 * veth, the next segments of a stream).  It is short because the machines
 * this runs on share two cores with peers and iperf3: on one, a worker
 * that kept spinning made a ping through it 30 times slower, not faster,
 * while 30, 50 or 100 us gave the same RTT (docs/PERFORMANCE.md).
 */
#define DP_IDLE_SPIN_NS	50000	/* 50 us */
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
	uint64_t drops[IP_IF_MAX * PKT_DROP_COUNT];
};

struct dp_worker {
	struct dp *dp;
	uint16_t id;
	pthread_t thread;
	bool started;
	struct pkt_pool *pool;
	struct ip_worker *ipw;
	struct ct_table *ct;		/* flows this worker forwards */
	/* The packet PREROUTING classified, for FORWARD to judge (a packet
	 * runs to completion, so one at a time). */
	const struct pkt *cur_pkt;
	struct ct_result cur;
	/* The same packet in the local table (flows to and from hexgate,
	 * REDIRECT), when PREROUTING looked there; INPUT then judges with
	 * it instead of classifying again. */
	const struct pkt *cur_local_pkt;
	struct ct_result cur_local;
	bool redirected;		/* cur_local got a REDIRECT */
	uint64_t ct_swept_ns;		/* last expiry sweep */
	const struct dp_fw *fw;		/* loaded once per loop turn */
	const struct ip_tables *tables;	/* the same */
	struct dp_counters ctr;
	struct pkt_batch rx;
	struct pkt_batch tx;
	uint16_t stage_n[IP_IF_MAX];
	struct pkt *stage[IP_IF_MAX][PKT_BATCH_MAX];
	uint16_t punt_n[IP_IF_MAX];	/* toward the host TAPs */
	struct pkt *punt[IP_IF_MAX][PKT_BURST];
};

struct dp {
	struct ip_tables *tables;	/* RCU-published */
	struct dp_fw *fw;		/* RCU-published; NULL: no filtering */
	/* Flows to and from the appliance itself (INPUT, OUTPUT): the host
	 * TAPs are read by worker 0 only while such flows arrive on any
	 * worker, so they share one table under a lock.  Only punted and
	 * local traffic takes it; forwarding never does. */
	struct ct_table *ct_local;
	pthread_mutex_t ct_local_mu;
	struct ip_neigh_table *nt;
	struct dp_params params;
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



/* filter.c */
void dp_filter_hook(void *arg, struct pkt *p, enum ip_hook hook,
    uint16_t out_if, uint64_t now_ns, struct ip_filter_result *res);
bool dp_punt_hook(void *arg, struct pkt *p, uint64_t now_ns);
/* Sends the packets punt() staged to the host TAPs. */
void dp_punt_flush(struct dp_worker *w, uint64_t now_ns);
/* Worker 0: reads what the host sent on its TAPs, runs OUTPUT and routes
 * it.  Returns frames read. */
uint32_t dp_host_rx(struct dp_worker *w, const struct ip_tables *t,
    uint64_t now_ns);
/* Per loop turn: expire flows. */
void dp_ct_poll(struct dp_worker *w, uint64_t now_ns);

/*
 * mirror.c: COPY sessions (MACRO_CUST -j COPY): every frame received on,
 * and with --bidirectional sent on, an interface goes in a VXLAN copy to
 * a collector, or unencapsulated to a TAP or a pcap file (docs/firewall.md
 * "Mirroring traffic").
 */
#define DP_COPY_HELD_MAX	8	/* copies per session and worker that may
					   wait for the collector's neighbour */
#define DP_COPY_GIVE_UP_NS	((IP_NEIGH_PROBES + 1) * IP_NEIGH_RETRANS_NS)
#define DP_VXLAN_PORT		4789	/* RFC 7348 §5 */
#define DP_VXLAN_HDR_LEN	8
#define DP_COPY_RING_SLOTS	256	/* per pcap file and worker: frames
					   waiting for the writer thread */

struct dp_copy_sink;	/* a tap:NAME or pcap:/PATH destination, mirror.c */

/* A copy carries this in pkt->user: bits 63..48 the magic, 47..32 the
 * table's generation, bit 8 "held for the neighbour", 7..0 the session. */
#define DP_COPY_MAGIC		0x4d52ULL	/* "MR" */
#define DP_COPY_HELD		0x100ULL

struct dp_copy_sess {
	const struct fw_prog *prog;	/* whose rule it is */
	uint32_t rule;			/* in prog */
	uint32_t pos;			/* in MACRO_CUST, 1-based */
	uint32_t vni;
	uint16_t from_if;		/* FW_IF_NONE: no such interface */
	uint8_t family;			/* FW_IPV4 / FW_IPV6 */
	bool bidirectional;
	bool match_all;			/* copies frames the parser refused */
	uint8_t to_kind;		/* enum fw_copy_to */
	uint16_t snaplen;		/* bytes of each frame kept; 0: all */
	char from[FW_IFNAME_MAX];
	uint8_t to[16];
	char local[FW_COPY_LOCAL_MAX];	/* TAP name or pcap path */
	struct dp_copy_sink *sink;	/* TAP, pcap; NULL: did not open */
};

/* One worker's counters of one session; only that worker writes. */
struct dp_copy_ctr {
	uint64_t sent, dropped, truncated;
	uint64_t held;			/* copies in the router's queue */
	uint64_t held_ns;		/* the queue last moved */
};

/* Built per firewall (dp_fw_swap), read-only for workers but counters. */
struct dp_mirror {
	uint16_t gen;
	uint16_t n_workers;
	uint32_t n;
	uint32_t rx[IP_IF_MAX];		/* sessions copying what i receives */
	uint32_t tx[IP_IF_MAX];		/* ... and what hexgate sends on i */
	struct dp_copy_sess s[DP_COPY_MAX];
	uint64_t base_sent[DP_COPY_MAX];	/* carried from older tables */
	uint64_t base_dropped[DP_COPY_MAX];
	uint64_t base_truncated[DP_COPY_MAX];
	struct dp_copy_ctr ctr[];	/* [worker * DP_COPY_MAX + session] */
};

/* What a VXLAN copy's outer headers say (dp_vxlan_build). */
struct dp_vxlan {
	uint8_t family;			/* FW_IPV4 / FW_IPV6 */
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint32_t vni;
	uint16_t sport;			/* host order */
	uint16_t mtu_bytes;		/* largest outer L3 packet */
	uint16_t snap_bytes;		/* most of the frame to keep; 0: all */
};

/*
 * Writes into the empty packet c the VXLAN copy of p's frame: Ethernet
 * (addresses zero: ip_output() writes them), IPv4 (DF, UDP checksum 0)
 * or IPv6 (UDP checksum computed), UDP to DP_VXLAN_PORT, VXLAN with the
 * I flag, then p's first v->snap_bytes bytes (all when 0), cut further
 * to what fits v->mtu_bytes.  c is left parsed for ip_output().  p is
 * only read.  Returns the bytes the MTU cut (0: all that was asked for
 * fits), or -EMSGSIZE when not even its Ethernet header fits.
 */
int dp_vxlan_build(struct pkt *c, const struct pkt *p,
    const struct dp_vxlan *v) HG_MUST_CHECK;
/* RFC 7348 §5: a source port from 49152..65535 by the inner flow. */
uint16_t dp_vxlan_sport(const struct pkt *p, bool parsed);

/* Control thread, dp_fw_swap(): builds fw->mirror from the programs
 * (NULL when there is no COPY rule), opening the TAPs and pcap files it
 * names or sharing those the old table has open, then after the grace
 * period carries the old table's counters over.  dp_mirror_free() closes
 * what no table uses any more, after the last frame was written. */
void dp_mirror_attach(struct dp *dp, struct dp_fw *fw);
void dp_mirror_carry(struct dp_fw *fw, const struct dp_fw *old);
void dp_mirror_free(struct dp_mirror *m);

/* Data plane, slow path: copies p for each session in the bit set. */
void dp_mirror_frame(struct dp_worker *w, const struct dp_mirror *m,
    uint32_t sessions, const struct pkt *p, bool rx, bool parsed,
    uint64_t now_ns);
/* A copy reached the port: count it. */
void dp_mirror_sent(struct dp_worker *w, const struct dp_mirror *m,
    const struct pkt *c, uint64_t now_ns);

static inline const struct dp_mirror *
dp_mirror_of(const struct dp_worker *w)
{
	return w->fw != NULL ? w->fw->mirror : NULL;
}

/* Port RX, right after pkt_parse(): one load and one test per frame
 * when the interface has no session. */
static inline void
dp_mirror_rx(struct dp_worker *w, const struct pkt *p, bool parsed,
    uint64_t now_ns)
{
	const struct dp_mirror *m = dp_mirror_of(w);

	if (hg_unlikely(m != NULL && m->rx[p->in_if] != 0))
		dp_mirror_frame(w, m, m->rx[p->in_if], p, true, parsed, now_ns);
}

/* TX flush, for each frame about to be handed to the port p->out_if.
 * Copies themselves are counted, never copied again: a collector behind
 * the mirrored interface does not loop. */
static inline void
dp_mirror_tx(struct dp_worker *w, const struct pkt *p, uint64_t now_ns)
{
	const struct dp_mirror *m = dp_mirror_of(w);

	if (hg_likely(m == NULL))
		return;
	if (hg_unlikely((p->user >> 48) == DP_COPY_MAGIC))
		dp_mirror_sent(w, m, p, now_ns);
	else if (hg_unlikely(m->tx[p->out_if] != 0))
		dp_mirror_frame(w, m, m->tx[p->out_if], p, false, true, now_ns);
}

#endif /* DP_PRIV_H */
