/*
 * src/dp/dp.h: the data plane: worker threads that receive from ports and
 * run each batch through the pipeline's stages (pipeline.c: router,
 * conntrack, the chains, NAT, the host side) to transmit, plus the tables
 * they read and the counters they keep.  This is the whole public face of src/dp.
 *
 * Threads: dp_create(), dp_start(), dp_tables_swap(), dp_stop() and the
 * stats readers run on the control thread.  Workers read the tables
 * through one RCU pointer (liburcu QSBR): once per loop turn they load it,
 * and between turns they report a quiescent state.  dp_tables_swap()
 * publishes new tables and frees the old ones after a grace period, so a
 * reload never stops traffic.
 */
#ifndef DP_H
#define DP_H

#include <stdbool.h>
#include <stdint.h>

#include "../ct/ct.h"
#include "../fw/fw.h"
#include "../io/io.h"
#include "../ip/ip.h"
#include "../lib/hg.h"

#define DP_WORKERS_MAX		64
#define DP_POOL_BUFS_DEFAULT	8192	/* per worker: 8192 * ~2.2 KiB */

struct dp;
struct dp_mirror;

struct esp_sa;

/* A traffic selector: an IPv4 or IPv6 prefix (v4 in the first 4 bytes). */
struct dp_ts {
	uint8_t family;			/* AF_INET, AF_INET6 */
	uint8_t plen;
	uint8_t addr[16];
};

#define DP_TUNNEL_TS_MAX	16	/* selectors per side */

/*
 * An ESP tunnel interface (issue 14): what routes send to it is
 * encapsulated through out, toward remote; ESP that comes for us with
 * spi_in is decapsulated through in and goes on as if it had arrived on
 * the tunnel.  The selectors say what may go through it: an inner packet
 * whose addresses are outside them (local -> remote out, remote ->
 * local in) is dropped and counted; an empty side admits any address.
 * The caller owns the SAs.
 */
struct dp_tunnel {
	struct esp_sa *out;		/* NULL: the interface is no tunnel */
	struct esp_sa *in;
	uint32_t spi_in;
	/* The inbound SA a rekey replaced (IKE, make-before-break): it
	 * still decrypts what the peer sent before it switched, until the
	 * old SA is deleted; NULL otherwise. */
	struct esp_sa *in_prev;
	uint32_t spi_in_prev;
	uint8_t family;			/* the outer one: AF_INET, AF_INET6 */
	uint8_t remote[16];		/* the outer destination */
	uint16_t mss4, mss6;		/* TCP SYNs' MSS clamped to; 0: not */
	/* ESP in UDP: NAT keepalives (RFC 3948 §2.3), through out's
	 * addresses and ports, every keepalive_s seconds; 0: none. */
	uint16_t keepalive_s;
	uint8_t n_local, n_remote;
	struct dp_ts local_ts[DP_TUNNEL_TS_MAX];
	struct dp_ts remote_ts[DP_TUNNEL_TS_MAX];
};

/*
 * The tunnels, by interface index: published whole (RCU), so tunnels
 * come and go at run time while the others carry traffic.  An interface
 * has DP_TUNNEL_SLOTS slots, each an SA pair with its own selectors (an
 * IKE connection's children): slot 0 is t[i], the others more[i][].
 * What is routed to the interface goes through the first slot with an
 * SA whose selectors take it.
 */
#define DP_TUNNEL_SLOTS	4

struct dp_tunnels {
	struct dp_tunnel t[IP_IF_MAX];
	struct dp_tunnel more[IP_IF_MAX][DP_TUNNEL_SLOTS - 1];
};

/* Slot k of interface i; the control side's copy, to change. */
static inline struct dp_tunnel *
dp_tunnel_slot_rw(struct dp_tunnels *tt, uint16_t i, uint8_t k)
{
	return k == 0 ? &tt->t[i] : &tt->more[i][k - 1];
}

static inline const struct dp_tunnel *
dp_tunnel_slot(const struct dp_tunnels *tt, uint16_t i, uint8_t k)
{
	return dp_tunnel_slot_rw((struct dp_tunnels *)tt, i, k);
}

/*
 * The inbound SA whose SPI is spi, as a key: (interface * DP_TUNNEL_SLOTS
 * + slot) * 2, plus one for the SA a rekey replaced (in_prev);
 * DP_SA_NONE for none.
 */
#define DP_SA_NONE	0xffff
uint16_t dp_tunnel_by_spi(const struct dp_tunnels *tt, uint16_t n_if,
    uint32_t spi);

/* The interface of such a key, and its slot. */
static inline uint16_t
dp_sa_key_if(uint16_t key)
{
	return (uint16_t)(key / 2 / DP_TUNNEL_SLOTS);
}

static inline const struct dp_tunnel *
dp_sa_key_slot(const struct dp_tunnels *tt, uint16_t key)
{
	return dp_tunnel_slot(tt, dp_sa_key_if(key),
	    (uint8_t)(key / 2 % DP_TUNNEL_SLOTS));
}

/* True when addr (of family) is inside one of the n selectors, or n is 0. */
bool dp_ts_match(const struct dp_ts *ts, uint8_t n, uint8_t family,
    const uint8_t *addr);

/*
 * The overlay (issue 16): one interface carrying WireGuard's transport
 * data to and from its peers (src/dp/overlay.c).  Peers are slots
 * 0..n_peers-1, the control side's numbering.  Routing into the overlay
 * and the check of what comes out (cryptokey routing) go by the peers'
 * allowed IPs (struct dp_wg_routes, built per configuration); keypairs
 * and the receiver index table change with every handshake and are
 * published whole with the overlay.
 */
#define DP_WG_PEERS_MAX		1024
#define DP_WG_NONE		0xffff
#define DP_WG_INDEX_BITS	13
#define DP_WG_INDEX_SLOTS	(1u << DP_WG_INDEX_BITS)

struct wg_keypair;

struct dp_wg_peer {
	struct wg_keypair *cur;		/* sends and receives; NULL: none */
	struct wg_keypair *prev;	/* receives (the one cur replaced) */
	struct wg_keypair *next;	/* receives; a responder's new one,
					   until the peer's first packet on
					   it confirms it */
};

struct dp_wg_index {
	uint32_t index;			/* our receiver index */
	uint16_t peer;
	uint8_t which;			/* 0 cur, 1 prev, 2 next */
	uint8_t used;
};

struct dp_wg_prefix {
	uint8_t family;			/* AF_INET, AF_INET6 */
	uint8_t plen;
	uint8_t addr[16];
	uint16_t peer;
};

struct dp_wg_routes;
/* Control thread: allowed IPs to peers (a prefix given twice: the later
 * one).  -ENOMEM, -EINVAL. */
int dp_wg_routes_create(struct dp_wg_routes **out,
    const struct dp_wg_prefix *p, uint32_t n) HG_MUST_CHECK;
void dp_wg_routes_free(struct dp_wg_routes *r);
/* Any thread: the peer whose allowed IPs hold addr (longest prefix), or
 * DP_WG_NONE. */
uint16_t dp_wg_route(const struct dp_wg_routes *r, uint8_t family,
    const uint8_t *addr);

struct dp_overlay {
	uint16_t if_idx;		/* the overlay's interface */
	uint16_t port;			/* our UDP port, host order */
	uint16_t n_peers;
	uint16_t mss4, mss6;		/* TCP SYNs' MSS clamped to; 0: not */
	/* The caller's: it frees them after the swap that dropped them. */
	const struct dp_wg_routes *routes;
	struct dp_wg_peer peers[DP_WG_PEERS_MAX];
	/* Receiver index -> keypair: dp_overlay_index() fills it from
	 * peers[] before the swap. */
	struct dp_wg_index idx[DP_WG_INDEX_SLOTS];
};

void dp_overlay_index(struct dp_overlay *ov);
/* Control thread: publish ov (malloc'd, taken over; NULL: no overlay),
 * wait a grace period, free the old one: then no worker uses a keypair
 * or routes ov does not hold. */
void dp_overlay_swap(struct dp *dp, struct dp_overlay *ov);
/* Where a peer is, and which of our addresses it reached (its answers'
 * source; zeros: the egress interface's first address). */
struct dp_wg_endpoint {
	uint8_t family;			/* 0: unknown */
	uint8_t pad;
	uint16_t port;			/* host order */
	uint8_t addr[16];
	uint8_t local[16];
	uint8_t pad2[4];
};
/* Control thread (configured, or a handshake from a new place); workers
 * move it themselves when authenticated data comes from elsewhere. */
void dp_wg_endpoint_set(struct dp *dp, uint16_t peer,
    const struct dp_wg_endpoint *ep);
bool dp_wg_endpoint_get(const struct dp *dp, uint16_t peer,
    struct dp_wg_endpoint *ep);
/* What the workers saw of a peer (monotonic ns, 0: never): the latest of
 * each time, the sums of the counters. */
struct dp_wg_peer_stats {
	uint64_t last_tx_ns;		/* data sent */
	uint64_t last_tx_data_ns;
	uint64_t last_rx_ns;		/* anything authenticated received */
	uint64_t last_rx_data_ns;	/* data (not a keepalive) received */
	uint64_t want_ns;		/* a packet found no keypair */
	uint64_t confirmed_ns;		/* a packet came on a next keypair */
	uint32_t confirmed_index;	/* ... with this index */
	uint32_t pad;
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes;	/* inner */
};
void dp_wg_peer_stats(const struct dp *dp, uint16_t peer,
    struct dp_wg_peer_stats *out);
/* The worker the ports steer a peer's datagrams from ep to our port to:
 * a receiver index i is received on by worker i % workers. */
uint16_t dp_wg_worker_of(const struct dp *dp, const struct dp_wg_endpoint *ep,
    uint16_t our_port);

struct dp_params {
	uint16_t n_workers;		/* >= 1 */
	uint16_t n_if;
	struct io_port *ports[IP_IF_MAX];	/* port of interface i, opened
						   with n_workers queues; the
						   caller keeps ownership */
	uint32_t pool_bufs;		/* per worker; 0: default */
	bool exit_on_eof;		/* stop when replay/generator inputs end
					   and nothing is held */
	bool pin_cpus;			/* pin worker i to CPU i % online */
	/* Host TAP of interface i (the punt path), or NULL; opened with
	 * n_workers queues, caller keeps ownership. */
	struct io_port *host_taps[IP_IF_MAX];
	/* Conntrack: flows per worker table (0: DP_CT_ENTRIES_DEFAULT);
	 * timeouts NULL: Linux's defaults. */
	uint32_t ct_entries;
	const struct ct_timeouts *ct_timeouts;
	/* A source address's share of each worker table, 1-100 (ct.h);
	 * 0: CT_SRC_PERCENT_DEFAULT. */
	uint8_t ct_src_percent;
	/* IKE runs in the control thread (dp_ctl_*): UDP to ports 500 and
	 * 4500 (the non-ESP marker) for the appliance goes to it, not to
	 * the host side. */
	bool ike;
};

#define DP_CT_ENTRIES_DEFAULT	65536	/* per worker */

/* The firewall the workers run: one program per family.  NULL programs
 * accept everything (benchmarks, router-only tests). */
struct dp_fw {
	struct fw_prog *prog4;
	struct fw_prog *prog6;
	/* The COPY sessions of both programs (mirror.c): built by
	 * dp_fw_swap(), freed by dp_fw_free(); callers leave it NULL. */
	struct dp_mirror *mirror;
};

struct dp_if_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_errors;		/* frames the port refused */
	uint64_t punted;		/* handed to the host TAP */
	uint64_t from_host;		/* read from the host TAP */
	uint64_t handed_off;		/* ... and handed to the worker that
					   owns its flow */
	uint64_t frags_steered;		/* fragments received here and handed
					   to the worker that owns their flow */
	uint64_t esp_steered;		/* ESP (or an outer datagram put
					   together) handed to the worker
					   that owns its SA or flow */
	uint64_t reassembled;		/* datagrams to hexgate put together:
					   outer ESP, IKE (params.ike) */
	uint64_t ike_rx;		/* datagrams queued for the control
					   thread (params.ike) */
	uint64_t wg_steered;		/* overlay data handed to the worker
					   that owns its receiver index */
	uint64_t ike_tx;		/* the control thread's datagrams from
					   an address of this interface, at
					   OUTPUT */
	uint64_t rx_missed;		/* lost in the port before hexgate */
	uint64_t drops_total;
	uint64_t drops[PKT_DROP_COUNT];
};

/* Takes ownership of tables (freed by dp_destroy or a later swap); nt is
 * shared and stays the caller's. */
int dp_create(struct dp **out, const struct dp_params *params,
    struct ip_tables *tables, struct ip_neigh_table *nt) HG_MUST_CHECK;
int dp_start(struct dp *dp) HG_MUST_CHECK;
/* Asks workers to stop and joins them.  Idempotent. */
void dp_stop(struct dp *dp);
void dp_destroy(struct dp *dp);
/* True once every worker has returned (exit_on_eof, or after dp_stop). */
bool dp_finished(const struct dp *dp);

/* Control thread: publish t, wait a grace period, free the old tables. */
void dp_tables_swap(struct dp *dp, struct ip_tables *t);
/* Control thread: the tables now published (valid until the next swap). */
const struct ip_tables *dp_tables(const struct dp *dp);

/*
 * Control thread: publish tn (the tunnels by interface; taken over, a
 * malloc'd one), wait a grace period and free the old table: once it
 * returns no worker uses an SA that tn does not hold, and the caller may
 * free those.
 */
void dp_tunnels_swap(struct dp *dp, struct dp_tunnels *tn);

/*
 * The control thread's datagrams (IKE).  With params.ike, a UDP datagram
 * to port 500, or to 4500 carrying the non-ESP marker, addressed to the
 * appliance and accepted by INPUT is queued for the control thread
 * instead of going to the host side; ESP, bare or in UDP, with an SPI no
 * tunnel has is dropped and counted (esp_no_sa).  UDP fragments to the
 * appliance are put together first (up to a packet buffer).  What the
 * control thread sends enters at OUTPUT, as the host's own packets do
 * (the OUTPUT chain, conntrack, NAT, routing, neighbours), on the worker
 * that owns its flow, with the interface that holds its source address
 * as its input interface (counters, link-local destinations).  No lock
 * on the workers' side; the queues are bounded and what does not fit is
 * counted and dropped.  dp_ctl_send() may be called from any thread;
 * dp_ctl_recv() from one.  In replay mode (pcap ports) the worker does
 * not read what dp_ctl_send() queues.
 */
struct dp_dgram {
	uint16_t if_idx;		/* recv: the interface it came on;
					   send: ignored (routed) */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint16_t sport, dport;		/* host order */
};
/* Readable (an eventfd) while datagrams wait: poll it, then
 * dp_ctl_recv() until it returns 0. */
int dp_ctl_fd(const struct dp *dp);
/* The next datagram: its UDP payload (with the non-ESP marker on 4500)
 * into buf, its length; 0 when none waits.  A longer one is cut to cap
 * and *d says so with its full length in the return value. */
size_t dp_ctl_recv(struct dp *dp, struct dp_dgram *d, uint8_t *buf,
    size_t cap);
/* How many datagrams wait in the queue now (approximate): the overlay's
 * "under load". */
uint32_t dp_ctl_backlog(const struct dp *dp);
/* Sends a UDP datagram from one of the appliance's addresses (d->src,
 * d->sport) to d->dst, d->dport.  false when it cannot be queued or is
 * longer than a packet buffer holds. */
bool dp_ctl_send(struct dp *dp, const struct dp_dgram *d,
    const uint8_t *payload, size_t len);

/*
 * The tunnel interfaces that packets were routed into while they had no
 * SA, since the last call: bit i for interface i (IP_IF_MAX is 64).  The
 * packets were dropped (tunnel_no_sa); IKE negotiates an SA for the
 * connection whose start_action is trap (the kernel's acquire, as
 * strongSwan gets it).  Each worker asks at most once a second per
 * interface; one thread calls this (it clears what it returns).  0
 * without params.ike.
 */
uint64_t dp_ctl_acquires(struct dp *dp);

/* Control thread: interface if_idx is new (a tunnel in a slot another
 * had): its counters start again from zero. */
void dp_if_clear(struct dp *dp, uint16_t if_idx);

/*
 * Control thread: publish a new firewall (taken over; its programs too),
 * wait a grace period, free the old one.  Conntrack state is untouched,
 * so established flows go on under the new rules.
 */
void dp_fw_swap(struct dp *dp, struct dp_fw *fw);
/* Frees a firewall that was never published (and its programs). */
void dp_fw_free(struct dp_fw *fw);
/* Control thread: the firewall now published (valid until the next
 * swap), or NULL. */
const struct dp_fw *dp_fw(const struct dp *dp);
/* Control thread: wait until no worker can still see what was
 * unpublished before the call (e.g. a set's old members). */
void dp_synchronize(struct dp *dp);
/* Conntrack counters summed over the workers' and the local table (read
 * while workers run: approximate). */
void dp_ct_stats(const struct dp *dp, struct ct_stats *out);
/* Calls fn for every flow of every table; entries are read while workers
 * change them, so a listing is a best-effort snapshot. */
int dp_ct_walk(const struct dp *dp, uint64_t now_ns,
    int (*fn)(const struct ct_flow_info *, void *), void *arg);

/*
 * One COPY session (MACRO_CUST -j COPY) of the published firewall and
 * its counters summed over the workers.  Counters carry over a rule set
 * swap for a session with the same family, from, to and direction.
 */
#define DP_COPY_MAX		(2 * FW_COPY_RULES_MAX)	/* both families' */

struct dp_copy_stats {
	uint8_t family;			/* FW_IPV4 / FW_IPV6: rule set, collector */
	uint8_t to_kind;		/* enum fw_copy_to */
	uint16_t snaplen;		/* bytes of each frame kept; 0: all */
	uint32_t pos;			/* 1-based position in MACRO_CUST */
	uint32_t vni;			/* VXLAN network identifier of its copies */
	bool bidirectional;
	bool active;			/* from names one of the interfaces, and
					   a TAP or pcap destination is open */
	char from[FW_IFNAME_MAX];
	uint8_t to[16];			/* FW_COPY_TO_VXLAN's collector */
	char local[FW_COPY_LOCAL_MAX];	/* tap:NAME's NAME, pcap:/PATH's PATH */
	uint64_t sent;			/* copies handed to the collector's port,
					   the TAP, or the pcap writer */
	uint64_t dropped;		/* no buffer, no route, collector
					   unresolved, TAP refused, pcap writer's
					   ring full */
	uint64_t truncated;		/* sent cut to the egress MTU */
};

/* Control thread: writes up to max sessions to out, returns how many
 * there are (read while workers run: approximate). */
uint32_t dp_copy_stats(const struct dp *dp, struct dp_copy_stats *out,
    uint32_t max);

/* Sums one interface's counters over all workers. */
void dp_if_stats(const struct dp *dp, uint16_t if_idx, struct dp_if_stats *out);
/* Sums the router's per-worker counters. */
void dp_ip_stats(const struct dp *dp, struct ip_worker_stats *out);
uint16_t dp_n_workers(const struct dp *dp);

#endif /* DP_H */
