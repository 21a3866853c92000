/*
 * src/ip/ip.h: the router, as other modules see it: interface addresses,
 * routes (fib.h), neighbours (ARP and IPv6 ND), and the per-worker input
 * stage that turns received frames into frames to send.
 *
 * Protocol code only: bytes and state in, bytes and state out.  Ports and
 * threads live in src/io and src/dp.
 *
 * Three kinds of state, three owners:
 *  - struct ip_tables: interfaces, FIBs, next hops.  Built by the control
 *    thread, immutable once published, swapped whole through RCU by src/dp.
 *  - struct ip_neigh_table: neighbours (IPv4 ARP and IPv6 ND).  One per
 *    process, shared by all workers, updated in place without locks
 *    (neigh.c says how).  It outlives table swaps; interfaces are keyed by
 *    index, so a reload may not renumber interfaces.
 *  - struct ip_worker: one per worker: the queue of packets waiting for
 *    neighbour resolution, ICMP rate limiting.  Never shared.
 */
#ifndef IP_H
#define IP_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../pkt/pkt.h"
#include "fib.h"

#define IP_IF_MAX		64
#define IP_IF_ADDRS_MAX		16
#define IP_IF_NAME_MAX		16

/* Time constants, after Linux's defaults (net.ipv4.neigh.default.*). */
#define IP_NEIGH_RETRANS_NS	(1000ULL * 1000 * 1000)	/* 1 s between probes */
#define IP_NEIGH_PROBES		3	/* unanswered probes before giving up */
#define IP_NEIGH_REACHABLE_NS	(30ULL * 1000 * 1000 * 1000)
#define IP_PENDING_MAX		256	/* packets a worker holds unresolved */
/*
 * Neighbour table bounds (struct ip_neigh_limits), after Linux's
 * net.ipv4.neigh.default.gc_thresh1/2/3, but per interface, so that a
 * flood on one interface cannot take the room of another.  Static entries
 * are outside them: they have the eighth of the table that dynamic ones
 * may not use, and beyond that evict a dynamic entry.
 */
#define IP_NEIGH_GC_THRESH1	128	/* below: the periodic gc leaves it be */
#define IP_NEIGH_GC_THRESH2	2048	/* above: a new entry recycles an old */
#define IP_NEIGH_GC_THRESH3	8192	/* never more dynamic entries */
#define IP_NEIGH_UNRES_MAX	256	/* incomplete entries (in flight) */
#define IP_NEIGH_UNRES_MIN_AGE_NS (250ULL * 1000 * 1000)
#define IP_NEIGH_GC_STALE_NS	(60ULL * 1000 * 1000 * 1000)
#define IP_NEIGH_GC_INTERVAL_NS	(1000ULL * 1000 * 1000)
#define IP_DEFAULT_TTL		64

struct ip_if_addr4 {
	uint32_t addr_be;
	uint8_t plen;
};

struct ip_if_addr6 {
	uint8_t addr[16];
	uint8_t plen;
};

struct ip_if {
	char name[IP_IF_NAME_MAX];
	uint8_t mac[ETH_ALEN];
	uint16_t mtu_bytes;	/* IP MTU: largest L3 packet it sends */
	bool up;		/* has a working port */
	/* Output goes through the data plane's encapsulation stage (a
	 * tunnel): what the router sends there itself (echo replies, ICMP
	 * errors, resets) is queued for it, ip_take_encap(). */
	bool encap;
	uint8_t n_addr4;
	uint8_t n_addr6;
	struct ip_if_addr4 addr4[IP_IF_ADDRS_MAX];
	struct ip_if_addr6 addr6[IP_IF_ADDRS_MAX];
	uint8_t ll6[16];	/* EUI-64 link-local address from mac */
};

enum ip_nh_type {
	IP_NH_LOCAL,		/* one of our own addresses */
	IP_NH_CONNECTED,	/* on-link: the destination is the next hop */
	IP_NH_GATEWAY,		/* via a router on an attached network */
	IP_NH_BLACKHOLE,	/* drop silently */
	IP_NH_TYPE_COUNT
};

struct ip_nh {
	uint8_t type;		/* enum ip_nh_type */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint16_t if_idx;	/* egress interface (not for BLACKHOLE) */
	uint8_t gw[16];		/* GATEWAY: IPv4 in the first 4 bytes */
};

/* A route as configured, kept for display ("hexctl show routes"). */
struct ip_route {
	uint8_t family;
	uint8_t plen;
	uint8_t prefix[16];
	uint32_t nh;		/* index into ip_tables.nh */
	bool is_static;		/* from configuration, not from an address */
};

struct ip_tables {
	uint64_t version;
	uint16_t n_if;
	struct ip_if ifs[IP_IF_MAX];
	struct ip_fib4 *fib4;
	struct ip_fib6 *fib6;
	uint32_t n_nh;
	uint32_t nh_cap;
	struct ip_nh *nh;
	uint32_t *nh_index;	/* building only: hash of nh, index + 1 */
	uint32_t nh_index_mask;
	uint32_t n_routes;
	uint32_t routes_cap;
	struct ip_route *routes;
};

/*
 * Building tables (control thread; allocates).  Create, fill ifs[] and
 * n_if, call ip_tables_add_connected() once, then add static routes.  The
 * result is immutable once published.  Errors go to err (a sentence).
 */
int ip_tables_create(struct ip_tables **out) HG_MUST_CHECK;
void ip_tables_free(struct ip_tables *t);
/* Derive each interface's link-local address and install local and
 * connected routes for every interface address. */
int ip_tables_add_connected(struct ip_tables *t, char *err, size_t err_len) HG_MUST_CHECK;
/*
 * Static route.  family AF_INET / AF_INET6, prefix in network order.  With
 * a gateway (gw != NULL) and if_idx < 0, the egress interface is the one
 * whose connected network holds gw (-EHOSTUNREACH otherwise).  Without a
 * gateway the route is on-link and needs if_idx.  blackhole ignores both.
 */
int ip_tables_add_route(struct ip_tables *t, uint8_t family,
    const uint8_t *prefix, uint8_t plen, const uint8_t *gw, int if_idx,
    bool blackhole, char *err, size_t err_len) HG_MUST_CHECK;

/* Neighbours.  Created once; workers and the control thread share it. */
struct ip_neigh_table;

enum ip_neigh_state {
	IP_NEIGH_INCOMPLETE,	/* being resolved */
	IP_NEIGH_REACHABLE,	/* confirmed within IP_NEIGH_REACHABLE_NS */
	IP_NEIGH_STALE,		/* usable; re-probed on use */
	IP_NEIGH_STATIC,	/* configured; never probed */
	IP_NEIGH_STATE_COUNT
};

struct ip_neigh_info {
	uint16_t if_idx;
	uint8_t family;
	uint8_t addr[16];
	uint8_t mac[ETH_ALEN];
	uint8_t state;		/* enum ip_neigh_state */
};

/* Per interface; the defaults are the IP_NEIGH_* constants above. */
struct ip_neigh_limits {
	uint32_t gc_thresh1;	/* dynamic entries the periodic gc leaves */
	uint32_t gc_thresh2;	/* above: each new entry recycles a stale one */
	uint32_t gc_thresh3;	/* hard bound on dynamic entries */
	uint32_t unres_max;	/* incomplete entries: resolutions in flight */
	uint64_t unres_min_age_ns; /* an incomplete entry is not recycled for
				      a new one before it is this old */
	uint64_t gc_stale_ns;	/* the gc recycles entries unconfirmed this
				   long (above gc_thresh1) */
};

struct ip_neigh_table_stats {
	uint32_t entries;	/* live entries, static ones included */
	uint32_t incomplete;	/* being resolved */
	uint32_t statics;
	uint32_t capacity;	/* slots */
	uint64_t recycled;	/* dynamic entries recycled since start */
};

int ip_neigh_table_create(struct ip_neigh_table **out, uint32_t capacity) HG_MUST_CHECK;
void ip_neigh_table_destroy(struct ip_neigh_table *nt);
void ip_neigh_limits_default(struct ip_neigh_limits *l);
/* Any thread; applies to entries added from then on. */
void ip_neigh_table_set_limits(struct ip_neigh_table *nt,
    const struct ip_neigh_limits *l);
/* Any thread; a close reading, not a snapshot. */
void ip_neigh_table_stats(struct ip_neigh_table *nt,
    struct ip_neigh_table_stats *out);
/* Control thread.  Pins addr -> mac, evicting a dynamic entry when the
 * table has no room; -ENOSPC only when every entry is static. */
int ip_neigh_set_static(struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr, const uint8_t mac[ETH_ALEN]) HG_MUST_CHECK;
/* Control thread.  Turns every static entry that is not in keep[] back
 * into a dynamic, stale one (configuration reload). */
void ip_neigh_unpin_except(struct ip_neigh_table *nt,
    const struct ip_neigh_info *keep, uint32_t n_keep);
/* Any thread.  Calls fn for every resolved or resolving entry. */
void ip_neigh_walk(const struct ip_neigh_table *nt, uint64_t now_ns,
    void (*fn)(const struct ip_neigh_info *, void *), void *arg);
const char *ip_neigh_state_name(enum ip_neigh_state state);

/* Per-worker router state. */
struct ip_worker;

struct ip_worker_stats {
	uint64_t arp_replies_sent;
	uint64_t arp_requests_sent;
	uint64_t nd_adverts_sent;
	uint64_t nd_solicits_sent;
	uint64_t echo_replies_sent;
	uint64_t icmp_errors_sent;
	uint64_t icmp_errors_ratelimited;
	uint64_t fragments_sent;
	uint64_t neigh_learned;
	/* ARP requests and neighbour solicitations whose sender was not
	 * learned: not on a connected network of the interface. */
	uint64_t neigh_learn_refused;
	/* Held packets dropped because their entry was recycled. */
	uint64_t neigh_held_recycled;
};

/*
 * drops points at the worker's counters, IP_IF_MAX * PKT_DROP_COUNT
 * uint64_t, indexed [in_if * PKT_DROP_COUNT + reason]; the router adds to
 * it for every packet it drops and frees the packet to pool.
 */
int ip_worker_create(struct ip_worker **out, struct pkt_pool *pool,
    struct ip_neigh_table *nt, uint64_t *drops) HG_MUST_CHECK;
/* Frees packets still waiting for resolution back to the pool. */
void ip_worker_destroy(struct ip_worker *w);
const struct ip_worker_stats *ip_worker_stats(const struct ip_worker *w);
bool ip_worker_has_pending(const struct ip_worker *w);

/*
 * ---- The router's stages ----
 *
 * src/dp/pipeline.c runs the data plane as a list of stages, each a
 * function over a batch (struct ip_vec); these are the router's.  Each
 * stage looks only at the packets whose next step is its own, in the
 * range [lo, hi) it is given, and leaves each with its next step:
 *
 *   ip_input()      link checks, ARP, martian sources, route lookup
 *                   (bulk)                                -> PREROUTING
 *   (src/dp: PREROUTING: conntrack, destination NAT)
 *   ip_route()      route again where PREROUTING changed the
 *                   destination; ND answered; local or forward, with
 *                   the forwarding checks (TTL, MTU, no route) -> INPUT,
 *                   FORWARD
 *   (src/dp: the INPUT and FORWARD chains fill verdict[])
 *   ip_verdicts()   drops and rejections done; accepted INPUT -> LOCAL,
 *                   FORWARD -> POSTROUTING (TTL decremented), OUTPUT
 *                   (routed) -> POSTROUTING
 *   ip_local()      echo answered; the rest -> HOST for an interface with
 *                   a host side, else answered as a host with no service
 *   (src/dp: punt HOST; POSTROUTING: source NAT, confirm -> ENCAP;
 *    tunnel encapsulation -> NEIGH)
 *   ip_neigh_stage() fragments where needed, resolves the next hop, writes
 *                   the Ethernet header, appends to tx      -> consumed
 *
 * A packet a stage consumes (sent, held for its neighbour, or dropped and
 * counted with its reason) gets IP_NEXT_NONE and its slot NULL.  Packets
 * the router makes itself (ARP and ND messages, echo replies, ICMP errors,
 * TCP resets) go straight to tx or the neighbour queue.
 */
enum ip_next {
	IP_NEXT_NONE,		/* consumed */
	IP_NEXT_RX,		/* received (or decapsulated): ip_input */
	IP_NEXT_PREROUTING,	/* IPv4/IPv6, route looked up */
	IP_NEXT_INPUT,		/* for one of our addresses: the INPUT chain */
	IP_NEXT_FORWARD,	/* to forward: the FORWARD chain, out_if set */
	IP_NEXT_OUTPUT,		/* the host side sent it: the OUTPUT chain */
	IP_NEXT_LOCAL,		/* INPUT accepted it: local delivery */
	IP_NEXT_HOST,		/* for the host side: punt */
	IP_NEXT_POSTROUTING,	/* routed and accepted: source NAT, confirm */
	IP_NEXT_ENCAP,		/* tunnel encapsulation */
	IP_NEXT_NEIGH,		/* neighbour resolution, Ethernet, tx */
	IP_NEXT_COUNT
};

#define IP_IF_NONE		0xffff

enum ip_filter_action {
	IP_FILTER_ACCEPT,
	IP_FILTER_DROP,		/* counted with reason, freed */
	IP_FILTER_REJECT_ICMP,	/* ICMP/ICMPv6 error icmp_type/icmp_code */
	IP_FILTER_REJECT_TCP_RESET,
};

/* What a chain decided for a packet; ip_verdicts() carries it out. */
struct ip_filter_result {
	uint8_t action;		/* enum ip_filter_action */
	uint8_t icmp_type, icmp_code;
	uint8_t reason;		/* enum pkt_drop for DROP and REJECT */
};

#define IP_VF_DST_CHANGED	0x01	/* PREROUTING rewrote the destination */
#define IP_VF_ONLINK		0x02	/* the next hop is the destination
					   itself on out_if (no nh[]) */

/* A batch and, indexed like it, what the stages decided. */
struct ip_vec {
	uint16_t n;
	struct pkt *pkts[PKT_BATCH_MAX];
	uint8_t next[PKT_BATCH_MAX];		/* enum ip_next */
	uint8_t flags[PKT_BATCH_MAX];		/* IP_VF_* */
	uint32_t nh[PKT_BATCH_MAX];		/* ip_tables.nh, or IP_FIB_MISS */
	struct ip_filter_result verdict[PKT_BATCH_MAX];
};

/* Empties v and appends a packet with its first next step. */
static inline void
ip_vec_reset(struct ip_vec *v)
{
	v->n = 0;
}

static inline void
ip_vec_add(struct ip_vec *v, struct pkt *p, enum ip_next next)
{
	uint16_t i = v->n++;

	v->pkts[i] = p;
	v->next[i] = (uint8_t)next;
	v->flags[i] = 0;
	v->nh[i] = IP_FIB_MISS;
	v->verdict[i].action = IP_FILTER_ACCEPT;
}

/*
 * The RX packets of v (pkt_parse()d, in_if set): Ethernet destination and
 * tags checked, ARP answered, martian IPv4/IPv6 sources dropped, and the
 * destinations looked up with the FIBs' bulk lookups.  IP packets leave
 * with PREROUTING and nh[] set.
 */
void ip_input(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, struct pkt_batch *tx, uint64_t now_ns);
/* PREROUTING packets of [lo, hi): to INPUT, to FORWARD or consumed. */
void ip_route(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t lo, uint16_t hi, struct pkt_batch *tx,
    uint64_t now_ns);
/* INPUT, FORWARD and OUTPUT packets of [lo, hi): verdict[] carried out. */
void ip_verdicts(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t lo, uint16_t hi, struct pkt_batch *tx,
    uint64_t now_ns);
/* LOCAL packets of [lo, hi).  host_ifs: bit i set when interface i has a
 * host side that takes what the router does not answer itself. */
void ip_local(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t lo, uint16_t hi, uint64_t host_ifs,
    struct pkt_batch *tx, uint64_t now_ns);
/* NEIGH packets of [lo, hi): fragmented to the egress MTU (forwarded
 * IPv4), finished toward their next hop or held until it resolves. */
void ip_neigh_stage(struct ip_worker *w, const struct ip_tables *t,
    struct ip_vec *v, uint16_t lo, uint16_t hi, struct pkt_batch *tx,
    uint64_t now_ns);

/*
 * For a stage that must treat each piece itself (a tunnel encrypts each):
 * cuts the IPv4 packet p to pieces of at most mtu bytes (the options
 * RFC 791 copies, copied) and hands each to emit(arg, piece) in order;
 * consumes p.  0, or -EMSGSIZE / -ENOBUFS with p dropped and counted.
 */
/* Takes up to max packets the router made for an encap interface (in
 * order, routed: out_if set), for the encapsulation stage. */
uint16_t ip_take_encap(struct ip_worker *w, struct pkt **out, uint16_t max);

int ip4_fragment_each(struct ip_worker *w, struct pkt *p, uint16_t mtu,
    void (*emit)(void *arg, struct pkt *piece), void *arg);
/* What ip_neigh_stage() does for one packet routed to next hop nh:
 * resolve, Ethernet header, onto tx (or held, or dropped). */
void ip_neigh_send(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint32_t nh, struct pkt_batch *tx, uint64_t now_ns);
/* Sends held packets whose neighbour resolved, retransmits probes and
 * gives up on neighbours that stay silent.  Call once per loop turn. */
void ip_poll(struct ip_worker *w, const struct ip_tables *t,
    struct pkt_batch *tx, uint64_t now_ns);

/* Drop packet i of v: counted with reason, freed, slot emptied. */
void ip_vec_drop(struct ip_worker *w, struct ip_vec *v, uint16_t i,
    enum pkt_drop reason);

/*
 * Route and send an IPv4/IPv6 packet hexgate makes outside the router's
 * stages and no chain judges (a COPY session's VXLAN copy; pkt_parse()d,
 * in_if set); its Ethernet header is rewritten.  Consumes p.
 */
void ip_output(struct ip_worker *w, const struct ip_tables *t, struct pkt *p,
    struct pkt_batch *tx, uint64_t now_ns);

/* Drop a packet the caller owns: counts and frees (used by src/dp for
 * parse failures so all drops share one path). */
void ip_drop(struct ip_worker *w, struct pkt *p, enum pkt_drop reason);

#endif /* IP_H */
