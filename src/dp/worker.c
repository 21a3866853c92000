/*
 * src/dp/worker.c: worker threads and their loop: each turn, the host
 * TAPs' queue and handoff ring (host.c), the ring of fragments other
 * workers steered here (steer.c) and every port's queue are read
 * and each burst goes through the pipeline (pipeline.c); then held
 * packets whose neighbour resolved go out (ip_poll), and expired flows
 * are swept.
 *
 * Each worker owns queue q of every port and host TAP, its packet pool,
 * its router state, its conntrack table and its counters; nothing here is
 * shared between workers except the read-only tables (RCU), the neighbour
 * table (lock-free, src/ip) and the handoff rings (lock-free, host.c).
 *
 * Replay mode: when every port is a pcap replay port (tests), the one
 * worker takes frames in timestamp order across all captures and uses the
 * capture's time as its clock, so timers (ARP retransmission, give-up)
 * are deterministic.  When the captures end with packets still held, the
 * clock advances a second at a time until the router has given up on
 * them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "../lib/log.h"
#include "../lib/hg_time.h"
#include "../ip/reass.h"
#include "../tun/esp.h"
#include "../tun/wg_data.h"
#include "dp_priv.h"


/* Receive one burst from port i; returns the number of frames. */
static uint16_t
dp_rx_one_port(struct dp_worker *w, uint16_t i, uint64_t now_ns)
{
	struct io_port *port = w->dp->params.ports[i];
	struct ip_vec *v = &w->frame.v;
	struct pkt *pkts[PKT_BURST];
	uint16_t n;
	uint64_t bytes = 0;

	n = io_port_rx(port, w->id, w->pool, pkts, PKT_BURST);
	if (n == 0)
		return 0;
	for (uint16_t k = 0; k < n; k++) {
		struct pkt *p = pkts[k];
		enum pkt_drop why;

		bytes += p->len;
		p->in_if = i;
		why = pkt_parse(p, NULL);
		dp_mirror_rx(w, p, why == PKT_DROP_NONE, now_ns);
		if (hg_unlikely(why != PKT_DROP_NONE)) {
			ip_drop(w->ipw, p, why);
			continue;
		}
		ip_vec_add(v, p, IP_NEXT_RX);
	}
	ctr_add(&w->ctr.rx_pkts[i], n);
	ctr_add(&w->ctr.rx_bytes[i], bytes);
	dp_pipeline_rx(w, now_ns);
	return n;
}

/* What the host side sent (this worker's TAP queues, handoffs). */
static uint32_t
dp_host_turn(struct dp_worker *w, uint64_t now_ns)
{
	uint32_t got = dp_host_rx(w, now_ns);

	if (w->frame.v.n != 0)
		dp_pipeline_output(w, now_ns);
	return got;
}

static void
dp_idle_wait(struct dp_worker *w)
{
	struct pollfd pfd[2 * IP_IF_MAX + 2];
	nfds_t n = 0;

	for (uint16_t i = 0; i < w->dp->params.n_if; i++) {
		struct io_port *tap = w->dp->params.host_taps[i];

		if (tap != NULL && w->id < io_port_rx_queues(tap)) {
			pfd[n].fd = io_port_fd(tap, w->id);
			pfd[n].events = POLLIN;
			n++;
		}
	}
	pfd[n].fd = w->handoff->efd;
	pfd[n].events = POLLIN;
	n++;
	pfd[n].fd = w->handoff_rx->efd;
	pfd[n].events = POLLIN;
	n++;

	for (uint16_t i = 0; i < w->dp->params.n_if; i++) {
		struct io_port *port = w->dp->params.ports[i];
		int fd;

		if (port == NULL || w->id >= io_port_rx_queues(port))
			continue;
		fd = io_port_fd(port, w->id);
		if (fd < 0)
			return;		/* a port that never blocks: spin */
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (!dp_handoff_sleep(w->handoff))
		return;		/* a handoff came in meanwhile */
	if (!dp_handoff_sleep(w->handoff_rx)) {
		dp_handoff_wake(w->handoff);
		return;
	}
	/* Offline while asleep so a table swap need not wait for us. */
	rcu_thread_offline();
	(void)poll(pfd, n, DP_IDLE_POLL_MS);
	rcu_thread_online();
	dp_handoff_wake(w->handoff);
	dp_handoff_wake(w->handoff_rx);
}

static void
dp_run_live(struct dp_worker *w)
{
	struct dp *dp = w->dp;
	unsigned idle = 0;

	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		const struct ip_tables *t = rcu_dereference(dp->tables);
		uint64_t now_ns = hg_now_ns();
		uint32_t got = 0;

		w->fw = rcu_dereference(dp->fw);
		w->tables = t;
		w->tunnels = rcu_dereference(dp->tunnels);
		w->overlay = rcu_dereference(dp->overlay);
		got += dp_host_turn(w, now_ns);
		got += dp_steer_rx(w, now_ns);
		for (uint16_t i = 0; i < dp->params.n_if; i++) {
			struct io_port *port = dp->params.ports[i];

			if (port != NULL && w->id < io_port_rx_queues(port))
				got += dp_rx_one_port(w, i, now_ns);
		}
		ip_poll(w->ipw, t, &w->tx, now_ns);
		if (w->id == 0)
			dp_nat_keepalives(w, now_ns);
		dp_pipeline_own_encap(w, now_ns);
		dp_tx(w, now_ns);
		dp_ct_poll(w, now_ns);
		dp_reass_poll(w, now_ns);
		rcu_quiescent_state();
		if (got != 0) {
			idle = 0;
			continue;
		}
		if (dp->params.exit_on_eof && !ip_worker_has_pending(w->ipw) &&
		    idle > DP_IDLE_SPINS)
			break;	/* generators with a count have run dry */
		if (++idle > DP_IDLE_SPINS)
			dp_idle_wait(w);
	}
}

/* Replay: frames in timestamp order over all captures, capture time as
 * the clock.  Worker 0 only (pcap ports have one queue). */
static void
dp_run_replay(struct dp_worker *w)
{
	struct dp *dp = w->dp;
	uint64_t now_ns = 0;

	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		const struct ip_tables *t = rcu_dereference(dp->tables);
		uint64_t best = UINT64_MAX, ts;
		int best_i = -1;

		w->fw = rcu_dereference(dp->fw);
		w->tables = t;
		w->tunnels = rcu_dereference(dp->tunnels);
		w->overlay = rcu_dereference(dp->overlay);

		for (uint16_t i = 0; i < dp->params.n_if; i++) {
			struct io_port *port = dp->params.ports[i];

			if (port != NULL && io_port_next_ts(port, 0, &ts) &&
			    ts < best) {
				best = ts;
				best_i = i;
			}
		}
		if (best_i >= 0) {
			if (best > now_ns)
				now_ns = best;
			dp_rx_one_port(w, (uint16_t)best_i, now_ns);
		} else if (ip_worker_has_pending(w->ipw)) {
			now_ns += IP_NEIGH_RETRANS_NS;
		} else if (dp->params.exit_on_eof) {
			break;
		} else {
			rcu_thread_offline();
			usleep(DP_IDLE_POLL_MS * 1000);
			rcu_thread_online();
		}
		ip_poll(w->ipw, t, &w->tx, now_ns);
		if (w->id == 0)
			dp_nat_keepalives(w, now_ns);
		dp_pipeline_own_encap(w, now_ns);
		dp_tx(w, now_ns);
		dp_ct_poll(w, now_ns);
		dp_reass_poll(w, now_ns);
		rcu_quiescent_state();
	}
}

static void *
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;

	if (dp->params.pin_cpus) {
		long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(n_cpu > 0 ? w->id % n_cpu : 0, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
			hg_log_warnx("dp: worker %u: could not pin to a CPU",
			    w->id);
	}
	rcu_register_thread();
	if (dp->replay)
		dp_run_replay(w);
	else
		dp_run_live(w);
	rcu_unregister_thread();
	__atomic_fetch_sub(&dp->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
dp_worker_free(struct dp_worker *w)
{
	if (w == NULL)
		return;
	ip_worker_destroy(w->ipw);
	ct_table_destroy(w->ct);
	dp_handoff_destroy(w->handoff);
	dp_handoff_destroy(w->handoff_rx);
	ip_reass_destroy(w->reass);	/* before the pool it holds from */
	ip_reass_destroy(w->reass_local);
	esp_worker_free(w->esp);
	wg_worker_free(w->wg);
	free(w->wg_obs);
	pkt_pool_destroy(w->pool);
	free(w);
}

int
dp_create(struct dp **out, const struct dp_params *params,
    struct ip_tables *tables, struct ip_neigh_table *nt)
{
	struct dp *dp;
	int rc = 0;

	if (params->n_workers == 0 || params->n_workers > DP_WORKERS_MAX ||
	    params->n_if > IP_IF_MAX)
		return -EINVAL;
	dp = calloc(1, sizeof(*dp));
	if (dp == NULL)
		return -ENOMEM;
	dp->params = *params;
	if (dp->params.pool_bufs == 0)
		dp->params.pool_bufs = DP_POOL_BUFS_DEFAULT;
	dp->tables = tables;
	dp->nt = nt;
	dp->tunnels = calloc(1, sizeof(*dp->tunnels));
	if (dp->tunnels == NULL) {
		free(dp);
		return -ENOMEM;
	}
	/* Replay when every port that receives runs on a capture's clock.
	 * A null port receives nothing and has no say, but a configuration
	 * of null ports alone runs live. */
	dp->replay = false;
	for (uint16_t i = 0; i < params->n_if; i++) {
		uint64_t ts;

		if (params->ports[i] == NULL ||
		    io_port_kind(params->ports[i]) == IO_PORT_NULL)
			continue;
		if (!io_port_next_ts(params->ports[i], 0, &ts) &&
		    io_port_kind(params->ports[i]) != IO_PORT_PCAP) {
			dp->replay = false;
			break;
		}
		dp->replay = true;
	}
	/* A tunnel has no port: what arrives on a tunnel is what a worker
	 * decapsulated, handed to its flow's worker (dp_inner_steer()). */
	dp->flow_exact = true;
	for (uint16_t i = 0; i < params->n_if; i++)
		if (params->ports[i] != NULL &&
		    io_port_kind(params->ports[i]) != IO_PORT_NULL &&
		    !io_port_flow_queue_exact(params->ports[i]))
			dp->flow_exact = false;
	if (!dp->flow_exact && params->n_workers > 1)
		hg_log_warnx("dp: a port cannot steer flows to workers exactly; "
		    "NAT replies may reach another worker than their flow's");
	if (dp->replay && params->n_workers != 1) {
		free(dp->tunnels);
		free(dp);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < params->n_workers && rc == 0; i++) {
		struct dp_worker *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			rc = -ENOMEM;
			break;
		}
		dp->workers[i] = w;
		w->dp = dp;
		w->id = i;
		rc = pkt_pool_create(&w->pool, dp->params.pool_bufs);
		if (rc == 0)
			rc = ip_worker_create(&w->ipw, w->pool, nt, w->ctr.drops);
		if (rc == 0)
			rc = ct_table_create(&w->ct, dp->params.ct_entries ?
			    dp->params.ct_entries : DP_CT_ENTRIES_DEFAULT,
			    params->ct_timeouts);
		if (rc == 0 && dp->params.ct_src_percent != 0)
			rc = ct_table_limit_sources(w->ct,
			    dp->params.ct_src_percent);
		if (rc == 0)
			rc = dp_handoff_create(&w->handoff);
		if (rc == 0)
			rc = dp_handoff_create(&w->handoff_rx);
		/* Tunnels may come at any reload: every worker has the
		 * crypto library's state and a reassembly table for outer
		 * fragments.  Without crypto state they drop what is for a
		 * tunnel (dp_encap, dp_decap), and the rest runs. */
		if (rc == 0 && esp_worker_create(&w->esp) != 0)
			hg_log_warnx("dp: worker %u: no ESP crypto state; "
			    "tunnels will not carry traffic", i);
		if (rc == 0 && wg_worker_create(&w->wg) != 0)
			hg_log_warnx("dp: worker %u: no overlay crypto state; "
			    "the overlay will not carry traffic", i);
		if (rc == 0 && (w->wg_obs = calloc(DP_WG_PEERS_MAX,
		    sizeof(*w->wg_obs))) == NULL)
			rc = -ENOMEM;
		if (rc == 0)
			rc = dp_reass_create(w);
	}
	if (rc != 0) {
		for (uint16_t i = 0; i < params->n_workers; i++)
			dp_worker_free(dp->workers[i]);
		free(dp->tunnels);
		free(dp);
		return rc;
	}
	for (uint16_t i = 0; i < params->n_if; i++)
		if (params->host_taps[i] != NULL)
			dp->host_ifs |= 1ULL << i;
	dp->redir = calloc(DP_REDIR_SLOTS, sizeof(*dp->redir));
	dp->wg_live = calloc(DP_WG_PEERS_MAX, sizeof(*dp->wg_live));
	rc = dp->redir == NULL || dp->wg_live == NULL ? -ENOMEM : 0;
	if (rc == 0 && params->ike)
		rc = dp_ctl_create(&dp->ctl);
	if (rc != 0) {
		for (uint16_t i = 0; i < params->n_workers; i++)
			dp_worker_free(dp->workers[i]);
		free(dp->redir);
		free(dp->wg_live);
		free(dp->tunnels);
		free(dp);
		return rc;
	}
	dp->params.ct_timeouts = NULL;	/* the caller's; copied by now */
	*out = dp;
	return 0;
}

int
dp_start(struct dp *dp)
{
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		struct dp_worker *w = dp->workers[i];
		int rc;

		__atomic_fetch_add(&dp->running, 1, __ATOMIC_RELAXED);
		rc = pthread_create(&w->thread, NULL, dp_worker_main, w);
		if (rc != 0) {
			__atomic_fetch_sub(&dp->running, 1, __ATOMIC_RELAXED);
			dp_stop(dp);
			return -rc;
		}
		w->started = true;
	}
	return 0;
}

void
dp_stop(struct dp *dp)
{
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		struct dp_worker *w = dp->workers[i];

		if (w->started) {
			pthread_join(w->thread, NULL);
			w->started = false;
		}
	}
}

bool
dp_finished(const struct dp *dp)
{
	return __atomic_load_n(&dp->running, __ATOMIC_ACQUIRE) == 0;
}

void
dp_destroy(struct dp *dp)
{
	if (dp == NULL)
		return;
	dp_stop(dp);
	for (uint16_t i = 0; i < dp->params.n_workers; i++)
		dp_worker_free(dp->workers[i]);
	ip_tables_free(dp->tables);
	dp_fw_free(dp->fw);
	free(dp->tunnels);
	free(dp->overlay);	/* its keypairs and routes are the caller's */
	free(dp->redir);
	free(dp->wg_live);
	dp_ctl_destroy(dp->ctl);
	free(dp);
}

void
dp_tables_swap(struct dp *dp, struct ip_tables *t)
{
	struct ip_tables *old = rcu_xchg_pointer(&dp->tables, t);

	/* Every worker has passed a quiescent state (or is offline) after
	 * this returns, so none still reads old. */
	synchronize_rcu();
	ip_tables_free(old);
}

const struct ip_tables *
dp_tables(const struct dp *dp)
{
	return dp->tables;
}

void
dp_tunnels_swap(struct dp *dp, struct dp_tunnels *tn)
{
	struct dp_tunnels *old = rcu_xchg_pointer(&dp->tunnels, tn);

	synchronize_rcu();
	free(old);
}

void
dp_overlay_swap(struct dp *dp, struct dp_overlay *ov)
{
	struct dp_overlay *old = rcu_xchg_pointer(&dp->overlay, ov);

	synchronize_rcu();
	free(old);
}

void
dp_if_clear(struct dp *dp, uint16_t if_idx)
{
	struct dp_if_stats now;

	if (if_idx >= IP_IF_MAX)
		return;
	memset(&dp->if_base[if_idx], 0, sizeof(dp->if_base[if_idx]));
	dp_if_stats(dp, if_idx, &now);
	dp->if_base[if_idx] = now;
}

void
dp_fw_free(struct dp_fw *fw)
{
	if (fw == NULL)
		return;
	fw_prog_free(fw->prog4);
	fw_prog_free(fw->prog6);
	dp_mirror_free(fw->mirror);
	free(fw);
}

void
dp_fw_swap(struct dp *dp, struct dp_fw *fw)
{
	struct dp_fw *old;

	dp_mirror_attach(dp, fw);
	old = rcu_xchg_pointer(&dp->fw, fw);
	synchronize_rcu();
	dp_mirror_carry(fw, old);
	/* No worker counts in old's programs any more: their totals are
	 * final, and the new ones go on from them. */
	if (old != NULL) {
		fw_prog_carry(fw->prog4, old->prog4);
		fw_prog_carry(fw->prog6, old->prog6);
	}
	dp_fw_free(old);
}

const struct dp_fw *
dp_fw(const struct dp *dp)
{
	return dp->fw;
}

void
dp_synchronize(struct dp *dp)
{
	(void)dp;
	synchronize_rcu();
}

void
dp_ct_stats(const struct dp *dp, struct ct_stats *out)
{
	struct ct_stats st;

	memset(out, 0, sizeof(*out));
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		ct_table_stats(dp->workers[i]->ct, &st);
		out->max_entries += st.max_entries;
		out->in_use += st.in_use;
		out->created += st.created;
		out->expired += st.expired;
		out->reopened += st.reopened;
		out->table_full += st.table_full;
		out->evicted += st.evicted;
		out->src_limited += st.src_limited;
		out->frags_followed += st.frags_followed;
		out->nat_setup += st.nat_setup;
		out->nat_remapped += st.nat_remapped;
		out->nat_no_tuple += st.nat_no_tuple;
		out->nat_clash += st.nat_clash;
		for (int r = 0; r < CT_INVALID_COUNT; r++)
			out->invalid[r] += st.invalid[r];
	}
}

int
dp_ct_walk(const struct dp *dp, uint64_t now_ns,
    int (*fn)(const struct ct_flow_info *, void *), void *arg)
{
	int rc = 0;

	for (uint16_t i = 0; i < dp->params.n_workers && rc == 0; i++)
		rc = ct_walk(dp->workers[i]->ct, now_ns, fn, arg);
	return rc;
}

uint16_t
dp_n_workers(const struct dp *dp)
{
	return dp->params.n_workers;
}

void
dp_if_stats(const struct dp *dp, uint16_t if_idx, struct dp_if_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (if_idx >= IP_IF_MAX)
		return;
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		const struct dp_counters *c = &dp->workers[i]->ctr;

		out->rx_pkts += ctr_get(&c->rx_pkts[if_idx]);
		out->rx_bytes += ctr_get(&c->rx_bytes[if_idx]);
		out->tx_pkts += ctr_get(&c->tx_pkts[if_idx]);
		out->tx_bytes += ctr_get(&c->tx_bytes[if_idx]);
		out->tx_errors += ctr_get(&c->tx_errors[if_idx]);
		out->punted += ctr_get(&c->punted[if_idx]);
		out->from_host += ctr_get(&c->from_host[if_idx]);
		out->handed_off += ctr_get(&c->handed_off[if_idx]);
		out->frags_steered += ctr_get(&c->frags_steered[if_idx]);
		out->esp_steered += ctr_get(&c->esp_steered[if_idx]);
		out->wg_steered += ctr_get(&c->wg_steered[if_idx]);
		out->reassembled += ctr_get(&c->reassembled[if_idx]);
		out->ike_rx += ctr_get(&c->ike_rx[if_idx]);
		out->ike_tx += ctr_get(&c->ike_tx[if_idx]);
		for (int r = 1; r < PKT_DROP_COUNT; r++)
			out->drops[r] += ctr_get(
			    &c->drops[(size_t)if_idx * PKT_DROP_COUNT + r]);
	}
	for (int r = 1; r < PKT_DROP_COUNT; r++)
		out->drops_total += out->drops[r];
	/* Every field is a uint64_t counter. */
	for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
		((uint64_t *)(void *)out)[k] -=
		    ((const uint64_t *)(const void *)&dp->if_base[if_idx])[k];
	if (if_idx < dp->params.n_if && dp->params.ports[if_idx] != NULL) {
		struct io_port_stats ps;

		io_port_stats(dp->params.ports[if_idx], &ps);
		out->rx_missed = ps.rx_dropped;
	}
}

void
dp_ip_stats(const struct dp *dp, struct ip_worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (uint16_t i = 0; i < dp->params.n_workers; i++) {
		const struct ip_worker_stats *s =
		    ip_worker_stats(dp->workers[i]->ipw);
		const uint64_t *src = (const uint64_t *)(const void *)s;
		uint64_t *dst = (uint64_t *)(void *)out;

		for (size_t k = 0; k < sizeof(*s) / sizeof(uint64_t); k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
}
