/*
 * src/ct/ct.h: connection tracking, as other modules see it.  Pure protocol
 * code: parsed packets and a clock go in, conntrack states and counters come
 * out.  NAT lives beside it (nat.c, the end of this header); the firewall
 * that matches on these states is src/fw, the worker that drives it src/dp.
 *
 * One table per worker, never shared: no locks, and no allocation after
 * ct_table_create().  Workers own flows (DESIGN.md), so both directions of a
 * flow reach the same table.
 *
 * iptables semantics: classifying a packet never inserts.  For a NEW flow
 * ct_classify() prepares an entry in the result and ct_confirm() inserts it
 * once the rules have accepted the packet, so a dropped SYN leaves nothing
 * behind.
 *
 * Under a flood.  A full table does not refuse a new flow while it holds
 * an unassured entry, one never answered (TCP: handshake not completed;
 * anything else: no reply yet), as Linux's early_drop: confirm evicts one
 * (counted in evicted) and refuses only when every entry is assured
 * (table_full).  Assured flows are never evicted; an answered SYN of a
 * SYN flood (SYN_RECV) is not assured yet, as in Linux.  Which one goes:
 * unassured entries sit in a FIFO, oldest first, threaded through the
 * entries (two indices each, no allocation); of the CT_EVICT_SCAN oldest,
 * the one whose source holds most entries.  Linux instead scans a few
 * buckets near the new flow's and refuses when it finds nothing there;
 * the FIFO always finds a victim while one exists, in bounded time, and
 * weighing by source makes the flooder pay before a quiet host's old
 * flow.  An entry looked up or created at the same now_ns is spared: a
 * result of the running batch may hold its index (use one now_ns per
 * batch).  Price: a one-way flow (syslog, a stream never answered) is
 * unassured forever and among the first evicted; its next packet is NEW
 * again and is judged by the rules again.
 *
 * A source's share.  One source address (the original direction's,
 * before NAT; IPv6 by the whole /128, so a host rotating through its /64
 * is bounded only by eviction) may hold at most src_percent of a table,
 * default CT_SRC_PERCENT_DEFAULT, never less than CT_SRC_MIN_ENTRIES:
 * its next new flow is refused and counted (src_limited) before it could
 * evict anyone.  Each worker has its own table and knows nothing of the
 * others', so the bound is kept per table: io_flow_queue() spreads a
 * source's flows over workers by their ports, and a source holds at most
 * src_percent of each table, hence of all of them together.  The error
 * is one-sided, towards refusing early: a source is refused as soon as
 * one table's share is used, so with N workers it may be refused while
 * holding as little as src_percent / N of the whole when all its flows
 * land on one worker (ports chosen so: sport ^ dport constant), and, with
 * random ports, k flows over N tables, about sqrt(2 (k / N) ln N) flows
 * earlier than an exact global count would (under 1% at 16,384 flows a
 * table and 2 workers).  Sources are counted in a hash preallocated at
 * ct_table_create(), one slot per entry.  An expired entry counts until
 * it is reclaimed (ct_expire()'s sweep, or a lookup that meets it).
 *
 * TCP is tracked from its SYN only: a first packet that is not a SYN is
 * INVALID (unlike Linux's default nf_conntrack_tcp_loose=1, there is no
 * mid-stream pickup).
 *
 * Fragments, without reassembly: when the first fragment of a datagram is
 * confirmed (accepted), its key (addresses, protocol, IP id) is remembered
 * for CT_FRAG_TIMEOUT_S; a later fragment of that datagram is then
 * classified as its flow's with frag_follow set, meaning "its datagram was
 * already judged", which the caller honours without judging it again.  A
 * non-first fragment whose first fragment was not accepted, or came later
 * (out of order), is INVALID.  All fragments of a datagram reach one
 * worker: io_flow_queue() steers a fragment by its addresses only.
 */
#ifndef CT_H
#define CT_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/hg.h"

struct pkt;
struct ct_table;	/* opaque; one per worker */

/* The conntrack state as `-m conntrack --ctstate` sees it. */
enum ct_state {
	CT_STATE_NEW,
	CT_STATE_ESTABLISHED,
	CT_STATE_RELATED,
	CT_STATE_INVALID,
	CT_STATE_UNTRACKED,	/* ICMPv6 neighbour discovery and MLD */
	CT_STATE_COUNT
};

enum ct_dir {
	CT_DIR_ORIGINAL,
	CT_DIR_REPLY,
	CT_DIR_COUNT
};

/* TCP states, named as in Linux's nf_conntrack_proto_tcp. */
enum ct_tcp_state {
	CT_TCP_NONE,
	CT_TCP_SYN_SENT,
	CT_TCP_SYN_RECV,
	CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT,
	CT_TCP_CLOSE_WAIT,
	CT_TCP_LAST_ACK,
	CT_TCP_TIME_WAIT,
	CT_TCP_CLOSE,
	CT_TCP_COUNT
};

/* Why a packet was called INVALID; each has a counter. */
#define CT_INVALID_REASONS(X)						\
	X(NONE,		"not invalid")					\
	X(NOT_IP,	"not an IPv4 or IPv6 packet")			\
	X(FRAGMENT,	"later fragment with no accepted first one")	\
	X(TCP_FLAGS,	"TCP flag combination never valid")		\
	X(TCP_NO_SYN,	"TCP flow does not start with a SYN")		\
	X(TCP_STATE,	"TCP packet not valid in the flow's state")	\
	X(TCP_SYN_EST,	"TCP SYN on an open connection")		\
	X(TCP_WINDOW,	"TCP sequence or ack outside the window")	\
	X(ICMP_TYPE,	"ICMP type that is not tracked")		\
	X(ICMP_NO_REQ,	"ICMP reply without a request")			\
	X(ICMP_ERR_TRUNC, "ICMP error quotes a truncated header")	\
	X(ICMP_ERR_BAD,	"ICMP error quotes a malformed header")		\
	X(ICMP_ERR_FLOW, "ICMP error quotes no tracked flow")

#define CT_INVALID_ENUM(name, text)	CT_INVALID_##name,
enum ct_invalid {
	CT_INVALID_REASONS(CT_INVALID_ENUM)
	CT_INVALID_COUNT
};
#undef CT_INVALID_ENUM

/* Timeouts in seconds; ct_timeouts_default() gives Linux's defaults. */
struct ct_timeouts {
	uint32_t tcp_s[CT_TCP_COUNT];	/* by state; [CT_TCP_NONE] unused */
	uint32_t udp_unreplied_s;
	uint32_t udp_replied_s;
	uint32_t icmp_s;
	uint32_t generic_s;
};

/*
 * A flow key.  IPv4 addresses sit in the first 4 bytes and the rest is
 * zero, so a tuple compares and hashes as plain bytes.  For ICMP echo-like
 * messages sport_be is the identifier and dport_be the type (request in
 * the original tuple, reply in the reply tuple), as Linux keys them.
 */
struct ct_tuple {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint16_t sport_be;
	uint16_t dport_be;
	uint8_t  l3;		/* enum pkt_l3: PKT_L3_IP4 or PKT_L3_IP6 */
	uint8_t  proto;		/* IPPROTO_* */
	uint8_t  pad[2];	/* always zero */
};

#define CT_ENTRY_NONE	UINT32_MAX
#define CT_FRAG_TIMEOUT_S	30	/* like Linux's ipfrag_time */
#define CT_FRAGS		4096	/* datagrams remembered per table */

/* A fragmented datagram: what its fragments share. */
struct ct_frag_key {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint32_t id;		/* IPv4 id or IPv6 fragment header id */
	uint8_t  proto;
	uint8_t  l3;
	uint8_t  pad[2];	/* always zero */
};

/*
 * What ct_classify() found.  `entry` is the flow's index in the table
 * (CT_ENTRY_NONE for a flow not yet confirmed, or INVALID); it stays valid
 * until the next call that may free entries (classify, confirm and expire
 * all may reclaim expired ones), so never store it.  `pending` is
 * private to src/ct: what ct_confirm() needs to create the entry.
 */
struct ct_result {
	enum ct_state state;
	enum ct_dir dir;
	enum ct_invalid reason;		/* CT_INVALID_NONE unless INVALID */
	uint32_t entry;
	bool frag_first;		/* first fragment: confirm remembers it */
	bool frag_follow;		/* later fragment of an accepted one */
	struct ct_frag_key frag;	/* when either is set */
	struct ct_pending {
		struct ct_tuple tuple;	/* original direction */
		uint32_t tcp_seq;	/* first SYN: seq, end, window */
		uint32_t tcp_end;
		uint16_t tcp_win;
		uint8_t  tcp_wscale;	/* 0xff: no window scale option */
		uint8_t  icmp_reply_type;
		uint16_t len_bytes;	/* L3 length, for the counters */
		uint8_t  nat;		/* CT_MANIP_* bits set up (nat.c) */
		struct ct_tuple nat_reply;	/* the reply tuple, with nat */
	} pending;
};

struct ct_stats {
	uint32_t max_entries;
	uint32_t in_use;
	uint64_t created;
	uint64_t expired;
	uint64_t reopened;	/* TCP SYN replaced a closed entry */
	uint64_t table_full;	/* new flows refused for want of an entry:
				   every entry live and assured */
	uint64_t evicted;	/* unassured flows dropped to make room */
	uint64_t src_limited;	/* new flows refused: their source held its
				   share of the table */
	uint64_t frags_followed;	/* later fragments let through */
	uint64_t nat_setup;	/* translations chosen (ct_nat_setup) */
	uint64_t nat_remapped;	/* ... that had to change the port / id */
	uint64_t nat_no_tuple;	/* ... that found nothing free */
	uint64_t nat_clash;	/* new flows refused: reply tuple taken */
	uint64_t invalid[CT_INVALID_COUNT];
};

/* One flow, as ct_walk() shows it (for `hexctl` listings). */
struct ct_flow_info {
	struct ct_tuple orig;
	struct ct_tuple reply;
	enum ct_tcp_state tcp_state;	/* CT_TCP_NONE if not TCP */
	bool seen_reply;
	uint64_t expires_ns;
	uint64_t packets[CT_DIR_COUNT];
	uint64_t bytes[CT_DIR_COUNT];
};

void ct_timeouts_default(struct ct_timeouts *to);

/*
 * Control thread.  Preallocates max_entries entries and the hash index;
 * timeouts NULL means ct_timeouts_default().  -EINVAL (0 entries, too
 * many, a zero timeout), -ENOMEM.
 */
int ct_table_create(struct ct_table **out, uint32_t max_entries,
    const struct ct_timeouts *timeouts) HG_MUST_CHECK;
void ct_table_destroy(struct ct_table *t);

#define CT_SRC_PERCENT_DEFAULT	25	/* a source's share of a table */
#define CT_SRC_MIN_ENTRIES	64	/* ... but never fewer flows */

/*
 * Control thread, before the table is used: one source may hold at most
 * percent (1-100) of max_entries, at least CT_SRC_MIN_ENTRIES; 100 turns
 * the bound off.  A table starts with CT_SRC_PERCENT_DEFAULT.  -EINVAL.
 */
int ct_table_limit_sources(struct ct_table *t, uint32_t percent)
    HG_MUST_CHECK;

/*
 * Classify a parsed packet (pkt_parse() succeeded).  Updates the state of
 * an existing flow (TCP state and windows, timers, counters); never
 * inserts.  Returns r->state.
 */
enum ct_state ct_classify(struct ct_table *t, const struct pkt *p,
    uint64_t now_ns, struct ct_result *r);

/*
 * ct_classify_bulk() in two steps, for a caller that may stop part way
 * (src/dp/filter.c stops before a packet that depends on an earlier one's
 * confirmation): ct_prefetch_bulk() makes every packet's key into keys[]
 * and puts its bucket, then its entry, on the way into the cache;
 * ct_classify_key() is then ct_classify() with that key, for the packets
 * the caller gets to, in order.  A packet must not change in between.
 */
struct ct_key {
	struct ct_tuple k;	/* as ct_pkt_tuple() gives it; the rest is
				   src/ct's */
	uint32_t hash;
	uint8_t  kind;
	uint8_t  why;
};

void ct_prefetch_bulk(struct ct_table *t, struct pkt *const *pkts,
    uint32_t n, struct ct_key *keys);
enum ct_state ct_classify_key(struct ct_table *t, const struct pkt *p,
    const struct ct_key *key, uint64_t now_ns, struct ct_result *r);

/*
 * The tuple a flow of p is looked up by: its own for TCP, UDP, ICMP
 * queries and other protocols (ports, or the identifier and type; zero
 * for others), the quoted flow's inverted for an ICMP error.  False when
 * p has none (not IP, a later fragment, untracked ICMPv6, a malformed
 * quote).  For the callers that steer a flow (src/dp).
 */
bool ct_pkt_tuple(const struct pkt *p, struct ct_tuple *k);
/* What the fragments of p's datagram share (p a fragment). */
void ct_pkt_frag_key(const struct pkt *p, struct ct_frag_key *k);

/* Whether a flow of t holds p (the flow ct_pkt_tuple() names), without
 * touching it or any counter (which worker owns a packet the host sent:
 * src/dp/host.c). */
bool ct_holds(struct ct_table *t, const struct pkt *p, uint64_t now_ns);

/*
 * ct_classify() over n parsed packets, out[i] for pkts[i]: first every
 * packet's key is hashed and its bucket, then its entry, prefetched, so
 * the cache misses of the batch overlap; then each packet is judged in
 * order.  The results, counters and table are exactly those of calling
 * ct_classify() on pkts[0], pkts[1], ... with nothing in between.  In
 * particular nothing is inserted: two packets of one new flow are both
 * NEW with no entry, each with its own pending entry, as in Linux.
 *
 * What the caller may rely on afterwards: it may ct_nat_setup() and
 * ct_confirm() the accepted NEW ones in any order, with the same now_ns;
 * the first confirm of a flow inserts it and a later one of the same
 * flow joins that entry (r->entry set, no second entry) when it was set
 * up the same way, else is refused as a clash (-EADDRINUSE).  Every
 * out[i].entry stays valid through those confirms: they may reclaim
 * expired entries and evict unassured ones, never one this batch met.
 */
void ct_classify_bulk(struct ct_table *t, struct pkt *const *pkts,
    uint32_t n, uint64_t now_ns, struct ct_result *out);

/*
 * Call for a packet the rules accepted.  For a NEW packet with no entry
 * yet, inserts the prepared entry and sets r->entry; a first fragment's
 * datagram is remembered for its later fragments.  When an earlier
 * packet of the same flow was confirmed since r was classified (one
 * batch), r joins its entry instead; it must have been translated the
 * same way, else -EADDRINUSE (nat_clash).  When the table is full, an
 * unassured entry is evicted first (above).  -EDQUOT when the source
 * holds its share (counted in src_limited), -ENOSPC when no entry can be
 * had (table_full): the flow is refused and the caller drops the packet.
 * -EADDRINUSE (counted in nat_clash) when its reply tuple is already
 * another flow's (two new flows of one batch chose the same
 * translation): dropped the same way.
 */
int ct_confirm(struct ct_table *t, struct ct_result *r, uint64_t now_ns)
    HG_MUST_CHECK;

/* Frees up to budget expired entries, looking at no more than 4 * budget
 * slots; returns how many it freed.  The worker calls it each loop turn. */
uint32_t ct_expire(struct ct_table *t, uint64_t now_ns, uint32_t budget);

void ct_table_stats(const struct ct_table *t, struct ct_stats *st);

/* Calls fn for every live flow until fn returns non-zero, which is then
 * returned.  Same thread as the table's owner. */
int ct_walk(const struct ct_table *t, uint64_t now_ns,
    int (*fn)(const struct ct_flow_info *, void *), void *arg);

/* The flow behind a classified packet (ct_result.entry), for matches on
 * its tuples; false when there is no such entry. */
bool ct_entry_info(const struct ct_table *t, uint32_t entry,
    struct ct_flow_info *fi);

/* The TCP state of an entry (CT_TCP_NONE when not TCP or no entry). */
enum ct_tcp_state ct_entry_tcp_state(const struct ct_table *t,
    uint32_t entry);

/*
 * ---- NAT (nat.c) ----
 *
 * iptables semantics: a flow's translation is decided once, on its first
 * packet, by the nat table's rules, and kept with its entry: the entry's
 * reply tuple is the translated one.  Every later packet of the flow, in
 * either direction, and every ICMP error that quotes it, is rewritten to
 * match.  Two manips, as in Linux: DST (DNAT, NETMAP in PREROUTING) is
 * set up and applied before the route lookup; SRC (SNAT, MASQUERADE,
 * NETMAP in POSTROUTING) after the filter, before the packet leaves.
 * A packet travelling in direction d must leave looking like the inverse
 * of the entry's tuple for the other direction: its destination part is
 * rewritten by the DST manip, its source part by the SRC manip.
 */
#define CT_MANIP_SRC		0x01
#define CT_MANIP_DST		0x02

#define CT_NAT_F_PORTS		0x01	/* port_lo..port_hi given */
#define CT_NAT_F_RANDOM		0x02	/* a random port, never the original */
#define CT_NAT_F_PERSISTENT	0x04	/* a source keeps its address */
#define CT_NAT_F_NETMAP		0x08	/* 1:1 prefix map onto addr_lo/plen */

/* Where a manip may map a flow's address and port. */
struct ct_nat_range {
	uint8_t  flags;			/* CT_NAT_F_* */
	uint8_t  plen;			/* NETMAP: prefix length */
	uint8_t  addr_lo[16];		/* inclusive; IPv4 in the first 4 bytes */
	uint8_t  addr_hi[16];
	uint16_t port_lo, port_hi;	/* host order, with CT_NAT_F_PORTS */
};

/* May a flow use this reply tuple?  The caller says no when the reply
 * would reach another worker (io_flow_queue()) or the tuple is taken in
 * a table other than the one ct_nat_setup() was given. */
typedef bool (*ct_nat_ok_fn)(const struct ct_tuple *reply, void *arg);

/*
 * On a NEW flow (r from ct_classify(), not confirmed yet): chooses the
 * translated tuple for manip (CT_MANIP_SRC or CT_MANIP_DST) within range
 * and records it in r->pending; ct_confirm() then inserts the entry with
 * it.  The source port is kept when it is free and allowed, else
 * searched for in range (for SRC without CT_NAT_F_PORTS: 1024-65535 for
 * a port that was >= 1024, else 1-1023), never a reply tuple in use in t
 * nor one ok refuses (ok may be NULL).  ICMP echo identifiers are ports
 * (searched in 0-65535 without CT_NAT_F_PORTS, as Linux does); DST keeps
 * the port (and any identifier) unless CT_NAT_F_PORTS says otherwise.
 * A packet whose translation was already decided (its flow confirmed, or
 * this manip set up before) leaves r as it is and gets 0.
 * -EADDRNOTAVAIL when nothing is free (counted in nat_no_tuple): the
 * caller drops the packet.  -EINVAL for a packet that is not NEW or a
 * malformed range.
 */
int ct_nat_setup(struct ct_table *t, struct ct_result *r, uint8_t manip,
    const struct ct_nat_range *range, ct_nat_ok_fn ok, void *ok_arg,
    uint64_t now_ns) HG_MUST_CHECK;

/*
 * Rewrites p (classified into r; for a NEW flow after ct_nat_setup())
 * for manip: the fields it owns become what the flow's translation says.
 * An ICMP error about a translated flow (RELATED) gets its outer
 * address and its quoted header rewritten.  IP, TCP, UDP and ICMP
 * checksums are updated incrementally (RFC 1624).  Returns true when p
 * changed.
 */
bool ct_nat_rewrite(const struct ct_table *t, const struct ct_result *r,
    struct pkt *p, uint8_t manip);

const char *ct_state_name(enum ct_state s);
const char *ct_tcp_state_name(enum ct_tcp_state s);
const char *ct_invalid_name(enum ct_invalid why);

#endif /* CT_H */
