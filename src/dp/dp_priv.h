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

#include "mirror.h"	/* last: it uses the structs above */

#endif /* DP_PRIV_H */
