/*
 * src/fw/fw.h: the firewall as other modules see it: the rule IR (a
 * parsed rule set), the parser for iptables-save/-restore text and for the
 * one-line customer-chain form, the printer that writes a rule set back
 * the way iptables-save would, and the compiled program the data plane
 * runs.
 *
 * The second half is the compiled program (compile.c), its classifier
 * (classify.c) and the evaluator (eval.c) the data plane runs; what the
 * targets do to a packet (REJECT's errors) is src/ip's, and connection
 * tracking and NAT are src/ct's. The IR is made of plain structs
 * with fixed-size fields and small bounded arrays so that a compiler can
 * walk it without chasing pointers; the bounds are the FW_*_MAX constants
 * below and each is checked by the parser with an error, never truncated.
 *
 * Addresses and masks are stored in network byte order; an IPv4 address
 * occupies the first 4 bytes of its 16-byte field, the rest is zero.
 * Every unused byte of a rule is zero, so two rules can be compared with
 * fw_rule_equal().
 */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"

struct pkt;
struct fw_sets;

#define FW_IFNAME_MAX		16	/* IFNAMSIZ: 15 characters + NUL */
#define FW_CHAIN_NAME_MAX	29	/* iptables: 28 characters + NUL */
#define FW_ADDRS_MAX		8	/* addresses in one -s/-d list */
#define FW_PORTS_MAX		15	/* multiport: ports, a range counts 2 */
#define FW_COMMENT_MAX		256	/* -m comment: 255 characters + NUL */
#define FW_LOG_PREFIX_MAX	30	/* LOG: 29 characters + NUL */
#define FW_SET_NAME_MAX		32	/* ipset: 31 characters + NUL */
#define FW_COPY_LOCAL_MAX	128	/* COPY --to tap:NAME / pcap:/PATH: NAME
					   or PATH, with the NUL */
#define FW_COPY_SNAPLEN_MIN	14	/* COPY --snaplen: an Ethernet header */
#define FW_SET_DIMS_MAX		6	/* --match-set NAME src,dst,... */
#define FW_CHAINS_MAX		1024	/* chains per table */
#define FW_RULES_MAX		200000	/* rules per rule set */
#define FW_ERR_MAX		50	/* errors stored by one parse */
#define FW_ERR_MSG_MAX		200
#define FW_ERR_LINE_MAX		160	/* source line kept for the carets */
#define FW_LINE_MAX_BYTES	4096	/* one line of rule text, comments too */
#define FW_TEXT_MAX_BYTES	(32u << 20)	/* a whole rule text: room for
					   FW_RULES_MAX rules of ~160 bytes */
#define FW_RULE_TEXT_MAX	4096	/* longest printed rule, with NUL */
#define FW_COPY_RULES_MAX	16	/* COPY rules per rule set */

enum fw_family {
	FW_IPV4 = 4,
	FW_IPV6 = 6,
};

enum fw_table_id {
	FW_TABLE_FILTER,
	FW_TABLE_NAT,
	FW_TABLE_COUNT
};

/* An address with its mask: -s 10.0.0.0/8, or /255.0.255.0 (IPv4). */
struct fw_addr {
	uint8_t addr[16];	/* already masked */
	uint8_t mask[16];
};

/* -s / -d: a list of prefixes, or a named set written -s ${NAME}. */
struct fw_addr_list {
	bool neg;
	uint8_t n;			/* 0: any address */
	char set[FW_SET_NAME_MAX];	/* non-empty: ${NAME}, n is 0 */
	struct fw_addr a[FW_ADDRS_MAX];
};

/* -i / -o: "eth+" matches every name starting with "eth". */
struct fw_iface {
	bool neg;
	bool wildcard;			/* name ended in '+', kept in name */
	char name[FW_IFNAME_MAX];	/* empty: any interface */
};

struct fw_port_range {
	uint16_t lo, hi;		/* inclusive */
};

/* Each -m module may appear once in a rule; fields below say which. */
enum fw_match_kind {
	FW_M_TCP,
	FW_M_UDP,
	FW_M_ICMP,
	FW_M_ICMP6,
	FW_M_MULTIPORT,
	FW_M_CONNTRACK,
	FW_M_STATE,
	FW_M_IPRANGE,
	FW_M_COMMENT,
	FW_M_LIMIT,
	FW_M_MAC,
	FW_M_SET,
	FW_M_LENGTH,
	FW_M_TTL,
	FW_M_HL,
	FW_M_PKTTYPE,
	FW_M_TCPMSS,
	FW_M_COUNT
};

/* -m tcp / -m udp (udp has no flags). A range of 0:65535 that is not
 * negated matches everything and is not stored. */
struct fw_match_ports {
	bool has_sport, sport_neg;
	bool has_dport, dport_neg;
	bool has_flags, flags_neg;	/* tcp only */
	struct fw_port_range sport, dport;
	uint8_t flags_mask, flags_cmp;	/* FW_TCP_* bits */
};

#define FW_TCP_FIN	0x01
#define FW_TCP_SYN	0x02
#define FW_TCP_RST	0x04
#define FW_TCP_PSH	0x08
#define FW_TCP_ACK	0x10
#define FW_TCP_URG	0x20

/* -m icmp --icmp-type / -m icmp6 --icmpv6-type. Type 255 with codes
 * 0..255 is iptables' "any" (IPv4 only). */
struct fw_match_icmp {
	bool neg;
	uint8_t type, code_lo, code_hi;
};

enum fw_multiport_dir {
	FW_MP_SRC = 1,		/* --sports */
	FW_MP_DST,		/* --dports */
	FW_MP_BOTH,		/* --ports */
};

struct fw_match_multiport {
	bool neg;
	uint8_t dir;			/* enum fw_multiport_dir */
	uint8_t n;
	struct fw_port_range p[FW_PORTS_MAX];
};

/* Connection states, shared by -m conntrack --ctstate and -m state. */
#define FW_CT_INVALID		0x01
#define FW_CT_NEW		0x02
#define FW_CT_RELATED		0x04
#define FW_CT_ESTABLISHED	0x08
#define FW_CT_UNTRACKED		0x10
#define FW_CT_SNAT		0x20	/* conntrack only */
#define FW_CT_DNAT		0x40	/* conntrack only */

/* --ctstatus bits; 0 with FW_CTO_STATUS set means NONE. */
#define FW_CTS_EXPECTED		0x01
#define FW_CTS_SEEN_REPLY	0x02
#define FW_CTS_ASSURED		0x04
#define FW_CTS_CONFIRMED	0x08

/* Which -m conntrack options are present, and which are negated. */
enum fw_ct_opt {
	FW_CTO_STATE,
	FW_CTO_PROTO,
	FW_CTO_ORIGSRC,
	FW_CTO_ORIGDST,
	FW_CTO_REPLSRC,
	FW_CTO_REPLDST,
	FW_CTO_ORIGSRCPORT,
	FW_CTO_ORIGDSTPORT,
	FW_CTO_REPLSRCPORT,
	FW_CTO_REPLDSTPORT,
	FW_CTO_STATUS,
	FW_CTO_EXPIRE,
	FW_CTO_DIR,
	FW_CTO_COUNT
};

struct fw_match_conntrack {
	uint16_t present;		/* 1 << enum fw_ct_opt */
	uint16_t neg;			/* 1 << enum fw_ct_opt */
	uint8_t state;			/* FW_CT_* */
	uint8_t proto;
	uint8_t status;			/* FW_CTS_* */
	bool dir_reply;			/* --ctdir REPLY (else ORIGINAL) */
	struct fw_addr addr[4];		/* origsrc, origdst, replsrc, repldst */
	struct fw_port_range port[4];	/* same order */
	uint32_t expire_lo_s, expire_hi_s;
};

struct fw_match_state {
	bool neg;
	uint8_t state;			/* FW_CT_INVALID .. FW_CT_UNTRACKED */
};

/* -m iprange --src-range A-B / --dst-range A-B */
struct fw_match_iprange {
	bool has_src, src_neg, has_dst, dst_neg;
	uint8_t src_lo[16], src_hi[16];
	uint8_t dst_lo[16], dst_hi[16];
};

enum fw_limit_unit {
	FW_LIMIT_SEC,
	FW_LIMIT_MIN,
	FW_LIMIT_HOUR,
	FW_LIMIT_DAY,
};

/* -m limit: on average rate per unit, bursts up to burst packets. */
struct fw_match_limit {
	uint32_t rate;			/* default 3 (/hour) */
	uint8_t unit;			/* enum fw_limit_unit */
	uint32_t burst;			/* default 5 */
};

struct fw_match_mac {
	bool neg;
	uint8_t src[6];
};

struct fw_match_set {
	bool neg;
	uint8_t n_dims;
	bool dst[FW_SET_DIMS_MAX];	/* false: src */
	char name[FW_SET_NAME_MAX];
};

/* -m length --length MIN[:MAX]: the length of the IP packet, its
 * header included (IPv6: the fixed header and the payload length), as
 * xt_length measures it.  -m tcpmss --mss MIN[:MAX] keeps the same: the
 * MSS option of a TCP segment. */
struct fw_match_length {
	bool neg;
	uint16_t lo, hi;		/* inclusive */
};

enum fw_ttl_op {
	FW_TTL_EQ,		/* --ttl-eq / --hl-eq */
	FW_TTL_NE,		/* ! --ttl-eq */
	FW_TTL_LT,
	FW_TTL_GT,
};

/* -m ttl (IPv4's TTL) and -m hl (IPv6's hop limit): one kernel match,
 * xt_hl, and one field here. */
struct fw_match_ttl {
	uint8_t op;			/* enum fw_ttl_op */
	uint8_t value;
};

/* -m pkttype --pkt-type: how the frame was addressed at layer 2. */
enum fw_pkttype {
	FW_PKTTYPE_UNICAST,	/* to this router's MAC */
	FW_PKTTYPE_BROADCAST,
	FW_PKTTYPE_MULTICAST,
};

struct fw_match_pkttype {
	bool neg;
	uint8_t type;			/* enum fw_pkttype */
};

enum fw_target_kind {
	FW_T_NONE,		/* no -j: count only, go on */
	FW_T_ACCEPT,
	FW_T_DROP,
	FW_T_RETURN,
	FW_T_REJECT,
	FW_T_LOG,
	FW_T_JUMP,		/* -j USERCHAIN */
	FW_T_GOTO,		/* -g USERCHAIN */
	FW_T_SNAT,
	FW_T_DNAT,
	FW_T_MASQUERADE,
	FW_T_NETMAP,
	FW_T_REDIRECT,
	FW_T_COPY,		/* appliance macro, MACRO_CUST only */
	FW_T_COUNT
};

/* Where COPY sends its copies (--to). */
enum fw_copy_to {
	FW_COPY_TO_VXLAN,	/* ADDR: a collector, in VXLAN */
	FW_COPY_TO_TAP,		/* tap:NAME: a TAP device hexgated creates */
	FW_COPY_TO_PCAP,	/* pcap:/PATH: a capture file hexgated writes */
};

enum fw_reject_with {
	FW_REJ_ICMP_NET_UNREACHABLE,
	FW_REJ_ICMP_HOST_UNREACHABLE,
	FW_REJ_ICMP_PORT_UNREACHABLE,	/* default for IPv4 */
	FW_REJ_ICMP_PROTO_UNREACHABLE,
	FW_REJ_ICMP_NET_PROHIBITED,
	FW_REJ_ICMP_HOST_PROHIBITED,
	FW_REJ_ICMP_ADMIN_PROHIBITED,
	FW_REJ_TCP_RESET,
	FW_REJ_ICMP6_NO_ROUTE,
	FW_REJ_ICMP6_ADM_PROHIBITED,
	FW_REJ_ICMP6_ADDR_UNREACHABLE,
	FW_REJ_ICMP6_PORT_UNREACHABLE,	/* default for IPv6 */
	FW_REJ_ICMP6_POLICY_FAIL,
	FW_REJ_ICMP6_REJECT_ROUTE,
	FW_REJ_COUNT
};

#define FW_LOG_TCP_SEQUENCE	0x01
#define FW_LOG_TCP_OPTIONS	0x02
#define FW_LOG_IP_OPTIONS	0x04
#define FW_LOG_UID		0x08

#define FW_NAT_RANDOM		0x01
#define FW_NAT_RANDOM_FULLY	0x02
#define FW_NAT_PERSISTENT	0x04

/*
 * SNAT/DNAT --to-source/--to-destination A[-B][:P[-Q][/BASE]],
 * MASQUERADE/REDIRECT --to-ports P[-Q], NETMAP --to ADDR/MASK.
 */
struct fw_target_nat {
	bool has_addr, has_ports;
	uint8_t flags;			/* FW_NAT_* */
	uint8_t addr_lo[16], addr_hi[16];
	struct fw_port_range ports;
	uint16_t base_port;		/* DNAT /BASE; 0: none */
	struct fw_addr netmap;
};

struct fw_target {
	uint8_t kind;			/* enum fw_target_kind */
	/* REJECT */
	uint8_t reject_with;		/* enum fw_reject_with */
	/* LOG */
	uint8_t log_level;		/* 0..7, default 4 */
	uint8_t log_flags;		/* FW_LOG_* */
	char log_prefix[FW_LOG_PREFIX_MAX];
	/* JUMP, GOTO */
	char chain[FW_CHAIN_NAME_MAX];
	/* SNAT, DNAT, MASQUERADE, NETMAP, REDIRECT */
	struct fw_target_nat nat;
	/* COPY --from IFACE --to ADDR|tap:NAME|pcap:/PATH [--bidirectional]
	 * [--snaplen N].  Unused fields stay zero (fw_rule_equal). */
	bool copy_bidirectional;
	uint8_t copy_to_kind;		/* enum fw_copy_to */
	uint16_t copy_snaplen;		/* bytes of each frame; 0: all */
	char copy_from[FW_IFNAME_MAX];
	uint8_t copy_to[16];		/* FW_COPY_TO_VXLAN's collector */
	char copy_local[FW_COPY_LOCAL_MAX];	/* TAP's NAME, pcap's PATH */
};

struct fw_rule {
	uint8_t family;			/* enum fw_family */
	/* Standard matches. */
	struct fw_addr_list src, dst;
	struct fw_iface in, out;
	bool has_proto, proto_neg;
	uint8_t proto;
	bool frag, frag_neg;		/* -f: IPv4 non-first fragments */
	/* Modules in the order they were loaded; iptables prints them so. */
	uint8_t n_matches;
	uint8_t match_order[FW_M_COUNT];	/* enum fw_match_kind */
	struct fw_match_ports tcp, udp;
	struct fw_match_icmp icmp;		/* FW_M_ICMP or FW_M_ICMP6 */
	struct fw_match_multiport multiport;
	struct fw_match_conntrack ct;
	struct fw_match_state state;
	struct fw_match_iprange iprange;
	struct fw_match_limit limit;
	struct fw_match_mac mac;
	struct fw_match_set set;
	struct fw_match_length length;
	struct fw_match_ttl ttl;		/* FW_M_TTL or FW_M_HL */
	struct fw_match_pkttype pkttype;
	struct fw_match_length tcpmss;
	char comment[FW_COMMENT_MAX];
	struct fw_target target;
	/* Bookkeeping, ignored by fw_rule_equal(). */
	uint64_t pkts, bytes;		/* -c / [p:b] */
	uint32_t line;			/* source line, 1-based */
	/* Columns (characters, 1-based) of the -i, -o and COPY --from
	 * names in that line; 0: none, or not parsed from text. */
	uint16_t in_col, out_col, from_col;
};

enum fw_policy {
	FW_POLICY_NONE,			/* user chain: "-", falls back */
	FW_POLICY_ACCEPT,
	FW_POLICY_DROP,
};

struct fw_chain {
	char name[FW_CHAIN_NAME_MAX];
	bool builtin;			/* INPUT, FORWARD, ... */
	bool customer;			/* INPUT_CUST, ...: exist implicitly */
	uint8_t policy;			/* enum fw_policy */
	uint64_t pkts, bytes;		/* :CHAIN POLICY [p:b] */
	uint32_t n_rules, cap_rules;
	struct fw_rule *rules;
};

struct fw_table {
	uint32_t n_chains, cap_chains;
	struct fw_chain *chains;	/* built-in first, then customer */
};

/* A whole parsed rule set. Owned by the caller of fw_parse(); immutable
 * once returned unless the caller edits it on purpose. */
struct fw_ruleset {
	uint8_t family;			/* enum fw_family */
	/* The tables the text named (1 << enum fw_table_id): set by
	 * fw_parse() ("*filter" ... "COMMIT"; every table for the one-line
	 * form), 0 in rule sets made otherwise. */
	uint8_t named;
	struct fw_table tables[FW_TABLE_COUNT];
};

#define FW_TABLES_ALL	((1u << FW_TABLE_COUNT) - 1)

/* Columns count characters of the line (UTF-8), not bytes.  msg and
 * text are valid UTF-8 without control characters, whatever the input
 * was: msg shows such bytes as \xNN, text as U+FFFD (one for each, so
 * the columns still match; tabs are kept). */
struct fw_err {
	uint32_t line;			/* 1-based; 0: no place */
	uint16_t col_first, col_last;	/* 1-based, inclusive */
	char msg[FW_ERR_MSG_MAX];
	char text[FW_ERR_LINE_MAX];	/* the source line, maybe cut */
};

struct fw_errs {
	unsigned n;			/* errors found; may exceed the stored */
	struct fw_err e[FW_ERR_MAX];
};

enum fw_syntax {
	FW_SYNTAX_RESTORE,	/* *filter, :CHAIN, -A CHAIN ..., COMMIT */
	FW_SYNTAX_ONE_LINE,	/* FORWARD_CUST -s 10.0.1.0/24 -j ACCEPT */
};

struct fw_parse_opts {
	uint8_t family;			/* enum fw_family; 0 means IPv4 */
	uint8_t syntax;			/* enum fw_syntax */
	/* Names of the sets that exist (FWSets); -m set and ${NAME}
	 * must name one of them. */
	const char *const *sets;
	size_t n_sets;
};

/*
 * Parses text (len bytes, need not be NUL-terminated). On success
 * returns 0 and a new rule set in *out (free it with fw_ruleset_free())
 * and errs->n is 0. On bad input returns -EINVAL, *out is NULL and errs
 * holds the problems, each with its line and column span; parsing goes
 * on at the next line, so one call reports up to FW_ERR_MAX of them.
 * Nothing is returned if any error exists. -ENOMEM on allocation
 * failure.  A text over FW_TEXT_MAX_BYTES, or with a line (a comment
 * too) over FW_LINE_MAX_BYTES, is refused.
 *
 * In the restore form a table the text does not name is empty in *out
 * and left out of (*out)->named; iptables-restore leaves such a table as
 * it is, which fw_ruleset_keep_unnamed() does.
 */
int fw_parse(const char *text, size_t len, const struct fw_parse_opts *opts,
    struct fw_ruleset **out, struct fw_errs *errs) HG_MUST_CHECK;

/* A rule set with the built-in and customer chains, all empty. */
struct fw_ruleset *fw_ruleset_new(enum fw_family family) HG_MUST_CHECK;
void fw_ruleset_free(struct fw_ruleset *);

/*
 * iptables-restore's rule for the tables a text does not name: each
 * table of rs not in rs->named is replaced with a copy of live's, rules
 * and counters, so a restore of "*nat ... COMMIT" leaves the filter
 * rules as they are.  An empty text names nothing: rs becomes a copy of
 * live.  0; -EINVAL when the families differ; -ENOMEM (rs is then
 * unchanged).
 */
int fw_ruleset_keep_unnamed(struct fw_ruleset *rs,
    const struct fw_ruleset *live) HG_MUST_CHECK;

/*
 * A rule's -i, -o or COPY --from that names no interface of known (the
 * names the appliance has; "eth+" matches when one of them starts with
 * "eth").  Rules naming such interfaces are valid (the interface may
 * come later) but often a typo, so the caller warns.
 */
struct fw_iface_ref {
	uint32_t line;			/* the rule's, 1-based */
	uint16_t col;			/* of the name; 0: unknown */
	uint8_t table;			/* enum fw_table_id */
	char opt[8];			/* "-i", "-o" or "--from" */
	char name[FW_IFNAME_MAX];	/* as written, with a '+' */
	char suggest[FW_IFNAME_MAX];	/* the nearest known name, or "" */
};

/* Writes up to max of them in rule order to out and returns how many
 * there are (may be more than max). */
size_t fw_ruleset_unknown_ifaces(const struct fw_ruleset *rs,
    const char *const *known, size_t n_known, struct fw_iface_ref *out,
    size_t max);

/* One of them as a sentence for a warning: what was named, where, the
 * nearest known name, and the names there are.  Like snprintf; the text
 * is UTF-8 without control characters. */
int fw_iface_ref_format(const struct fw_iface_ref *ref,
    const char *const *known, size_t n_known, char *buf, size_t size);

/* The chain named name in table t, or NULL. Borrowed from rs. */
struct fw_chain *fw_ruleset_chain(const struct fw_ruleset *rs,
    enum fw_table_id t, const char *name);

/* True when a and b match and act alike (line and counters ignored). */
bool fw_rule_equal(const struct fw_rule *a, const struct fw_rule *b);

/* True when the two rule sets hold the same chains, policies and rules
 * in the same order (counters and lines ignored). */
bool fw_ruleset_equal(const struct fw_ruleset *a, const struct fw_ruleset *b);

/*
 * Writes the rule's text as iptables-save prints it after "-A CHAIN "
 * (e.g. "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT") into buf.
 * Returns the length it needs, like snprintf; at most
 * FW_RULE_TEXT_MAX - 1.
 */
int fw_rule_format(const struct fw_rule *r, char *buf, size_t size);

#define FW_PRINT_COUNTERS	0x01	/* like iptables-save -c */

/* The whole rule set in iptables-restore form, one "*table" ...
 * "COMMIT" block per table. Returns a malloc'd string, or NULL when out
 * of memory. */
char *fw_ruleset_print(const struct fw_ruleset *rs, unsigned flags) HG_MUST_CHECK;

/* Writes one error as "src:line:first-last: error: msg", then the line
 * and carets under the span, into buf (NUL-terminated, cut to size).
 * Returns the length it needs, like snprintf. */
int fw_err_format(const struct fw_err *e, const char *src, char *buf,
    size_t size);

/*
 * ---- Compiled rule sets and the evaluator (compile.c, eval.c) ----
 *
 * fw_compile() turns a parsed rule set into an immutable program the data
 * plane runs; the control thread builds a new one beside the running one
 * and swaps the pointer (RCU, src/dp), so a change is whole and hitless.
 *
 * What the filter hooks do, per DESIGN.md "Firewall language":
 *
 *   INPUT, FORWARD, OUTPUT:  -j <HOOK>_CUST first, then the rules the file
 *   appends to the built-in chain itself, then the appliance's defaults:
 *     1. conntrack ESTABLISHED or RELATED          -> ACCEPT
 *     2. conntrack INVALID                         -> DROP
 *     3. conntrack UNTRACKED                       -> ACCEPT
 *     4. conntrack DNAT (FORWARD): a port forward   -> ACCEPT
 *     5. ESP, or UDP to 500 or 4500 (IKE, ESP in UDP), from a tunnel's
 *        peer (INPUT)                                -> ACCEPT
 *        UDP to the overlay's port, from anywhere (INPUT; its peers
 *        roam, the handshake authenticates them)     -> ACCEPT
 *     6. source in a known network (INPUT, FORWARD) -> ACCEPT; a
 *        network a tunnel brought is known only for what arrived
 *        through that tunnel (fw_compile_env.known_if)
 *     7. the chain's policy (hexgate's default: DROP for INPUT and
 *        FORWARD, ACCEPT for OUTPUT; a file may set it with :CHAIN POLICY)
 *   OUTPUT has no step 6 and is for traffic the host side sends.  Step 4
 *   admits what a nat rule (PREROUTING_CUST -j DNAT) chose to forward,
 *   after FORWARD_CUST had its say: writing the DNAT rule is the consent.
 *
 * The first terminal verdict wins (ACCEPT, DROP, REJECT); RETURN from a
 * user chain goes back to the caller, RETURN from a customer chain goes on
 * in the built-in chain, falling off a user chain is a RETURN.  LOG and
 * rules without -j count and go on.  The nat table and MACRO_CUST are
 * compiled and checked but not run here (NAT is src/ct's).
 */

#define FW_IF_NONE		0xffff	/* no interface (OUTPUT's in, INPUT's out) */
#define FW_RULE_NONE		UINT32_MAX
#define FW_JUMP_DEPTH_MAX	32	/* nested user-chain calls */

enum fw_hook {
	FW_HOOK_INPUT,
	FW_HOOK_FORWARD,
	FW_HOOK_OUTPUT,
	FW_HOOK_COUNT
};

enum fw_verdict_kind {
	FW_VERDICT_ACCEPT,
	FW_VERDICT_DROP,
	FW_VERDICT_REJECT,
};

/* Who decided: a rule, or which of the appliance's defaults. */
enum fw_why {
	FW_WHY_RULE,		/* rule `rule` */
	FW_WHY_ESTABLISHED,	/* default 1 */
	FW_WHY_INVALID,		/* default 2 */
	FW_WHY_UNTRACKED,	/* default 3 */
	FW_WHY_DNAT,		/* default 4 */
	FW_WHY_IPSEC,		/* default 5 */
	FW_WHY_KNOWN_NET,	/* default 6 */
	FW_WHY_POLICY,		/* default 7 */
	FW_WHY_OVERLAY,		/* default 5b: the overlay's port */
	FW_WHY_COUNT
};

struct fw_verdict {
	uint8_t kind;			/* enum fw_verdict_kind */
	uint8_t reject_with;		/* enum fw_reject_with, for REJECT */
	uint8_t why;			/* enum fw_why */
	uint32_t rule;			/* FW_WHY_RULE: fw_prog_rule_at() index */
};

/* A packet's conntrack facts, filled by the caller (src/dp) from src/ct
 * so src/fw need not know src/ct.  Ports are in host order. */
struct fw_ct_info {
	uint8_t state;			/* one FW_CT_* state bit */
	uint8_t status;			/* FW_CTS_* */
	bool reply;			/* the packet goes in the reply direction */
	uint8_t proto;
	uint8_t orig_src[16], orig_dst[16];
	uint8_t repl_src[16], repl_dst[16];
	uint16_t orig_sport, orig_dport, repl_sport, repl_dport;
	uint32_t expire_s;		/* seconds until the flow times out */
};

/* What the evaluator reads of a packet. */
struct fw_pkt {
	const struct pkt *p;		/* pkt_parse()d; l3 is IPv4 or IPv6 */
	uint16_t in_if, out_if;		/* interface indexes, or FW_IF_NONE */
	const struct fw_ct_info *ct;	/* NULL: treated as INVALID */
};

struct fw_compile_env {
	/* Interface names by index, for -i / -o (wildcards included).  A
	 * rule may name an interface that does not exist: it matches no
	 * packet (or every packet, negated), as in iptables. */
	uint16_t n_if;
	const char (*if_names)[FW_IFNAME_MAX];
	/* The set registry -m set and ${NAME} refer to; NULL: no sets.  A
	 * compiled program holds references (fw_sets_ref) on the sets it
	 * uses until fw_prog_free(). */
	struct fw_sets *sets;
	/* Known networks of the rule set's family (default 6).  known_if,
	 * when not NULL, binds each to the interface whose packets it is
	 * known for (a tunnel's remote subnets: cryptographically bound to
	 * it), or FW_IF_NONE for every interface. */
	uint32_t n_known;
	const struct fw_addr *known;
	const uint16_t *known_if;
	/* The tunnels' peers of the family (default 5): whole addresses. */
	uint32_t n_peers;
	const struct fw_addr *peers;
	/* The overlay's UDP port (default 5), 0: none. */
	uint16_t overlay_port;
	/* Per-worker counters: fw_eval()'s worker argument is below this. */
	uint16_t n_workers;
};

struct fw_prog;

/*
 * Control thread.  Compiles rs (not kept: the program copies what it
 * needs, fw_prog_ruleset() gives a copy back).  Errors (each with the
 * rule's line): a jump loop, a chain nesting deeper than
 * FW_JUMP_DEPTH_MAX, a set that does not exist or is of the wrong family.
 * Returns 0, -EINVAL with errs filled, or -ENOMEM.  Each rule's counters
 * start from the pkts/bytes it has in rs.
 */
int fw_compile(const struct fw_ruleset *rs, const struct fw_compile_env *env,
    struct fw_prog **out, struct fw_errs *errs) HG_MUST_CHECK;
/* fw_compile() keeping rs itself rather than a copy: on success the
 * program owns rs (the caller must not touch or free it); on failure the
 * caller still does.  Saves copying the rule set (1.6 KiB a rule). */
int fw_compile_take(struct fw_ruleset *rs, const struct fw_compile_env *env,
    struct fw_prog **out, struct fw_errs *errs) HG_MUST_CHECK;
void fw_prog_free(struct fw_prog *prog);

/*
 * Data plane.  Runs hook for fp and writes the verdict.  Never allocates
 * or locks; counts the packet and its L3 length (as iptables does) on
 * every rule it matches, in the worker's counter slice.  LOG rules log
 * through src/lib/log.h, at most 100 lines a second per worker; what is
 * over is counted in fw_prog_stats().log_suppressed.
 */
void fw_eval(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook,
    const struct fw_pkt *fp, uint64_t now_ns, struct fw_verdict *v);

/*
 * fw_eval() walking every rule in order, without the classifier: the
 * reference the property tests and the benchmarks compare against.
 * Same verdicts, counters and side effects as fw_eval().
 */
void fw_eval_linear(const struct fw_prog *prog, uint16_t worker,
    enum fw_hook hook, const struct fw_pkt *fp, uint64_t now_ns,
    struct fw_verdict *v);

/*
 * fw_eval() for n packets of one hook at once: vs[i] is fps[i]'s verdict,
 * and counters, LOG and -m limit end as n fw_eval() calls in order would
 * leave them.  The classifier's lookups of the batch are interleaved with
 * prefetches, so the memory latency of one packet hides behind another's.
 */
#define FW_BATCH_MAX	32
void fw_eval_batch(const struct fw_prog *prog, uint16_t worker,
    enum fw_hook hook, const struct fw_pkt *fps, unsigned n, uint64_t now_ns,
    struct fw_verdict *vs);

struct fw_prog_stats {
	uint32_t n_rules;		/* filter and nat, all chains */
	size_t mem_bytes;		/* program and classifier, not counters */
	uint64_t verdicts[FW_HOOK_COUNT][FW_WHY_COUNT];	/* how packets were decided */
	uint64_t log_suppressed;
};

/* Control thread, while workers run (counters may be a packet behind). */
void fw_prog_stats(const struct fw_prog *prog, struct fw_prog_stats *st);

/*
 * Control thread, when `to` has replaced `from` and no worker runs
 * `from` any more (after the swap's grace period): `to`'s verdict and
 * log_suppressed counters go on from `from`'s final totals, so they
 * never go back with a new rule set, whatever it changed.  Once per
 * program: a program made by fw_prog_edit() already goes on from its
 * live one's, and to == from (a family neither swap changed) is left
 * alone.  Rules' counters go with their rule sets (fw_prog_ruleset(),
 * fw_ruleset_carry_counters()).
 */
void fw_prog_carry(struct fw_prog *to, const struct fw_prog *from);

/* A new rule set equal to the compiled one, with each rule's and each
 * built-in chain's pkts/bytes set to the live totals (for save, and to
 * carry counters into the next program).  NULL when out of memory. */
struct fw_ruleset *fw_prog_ruleset(const struct fw_prog *prog) HG_MUST_CHECK;

/*
 * Gives each rule of rs that has no counters (0 packets, 0 bytes) those
 * of the rule of live with the same text in the same chain and table
 * (the first one not given already, for rules written twice), and each
 * built-in chain without counters live's: a reload of rule files, which
 * carry no counters, keeps the counters of the rules it did not change.
 * -ENOMEM leaves rs with what it was given so far.
 */
int fw_ruleset_carry_counters(struct fw_ruleset *rs,
    const struct fw_prog *live) HG_MUST_CHECK;
/* fw_ruleset_carry_counters() for the rule set of to, a program compiled
 * but not yet published (a reload's).  live must not have an edit
 * pending (fw_prog_edit()). */
int fw_prog_carry_rules(struct fw_prog *to, const struct fw_prog *live)
    HG_MUST_CHECK;

/* fw_ruleset_print() of the compiled rule set (with FW_PRINT_COUNTERS,
 * the live counters).  NULL when out of memory. */
char *fw_prog_print(const struct fw_prog *prog, unsigned flags) HG_MUST_CHECK;

/*
 * The nat table, for a flow's first packet (src/dp asks only for NEW
 * flows; later packets follow the flow's translation, src/ct):
 * PREROUTING_CUST then PREROUTING's own rules, or POSTROUTING_CUST then
 * POSTROUTING's.  The first rule that matches with SNAT, DNAT,
 * MASQUERADE, NETMAP, REDIRECT or ACCEPT decides; RETURN, jumps and LOG
 * work as in the filter table.  Returns the deciding rule (its target:
 * fw_prog_target()), or FW_RULE_NONE when none decided (no translation).
 * Counts the rules it matches like fw_eval().
 */
enum fw_nat_hook {
	FW_NAT_PREROUTING,
	FW_NAT_POSTROUTING,
	FW_NAT_HOOK_COUNT
};

uint32_t fw_eval_nat(const struct fw_prog *prog, uint16_t worker,
    enum fw_nat_hook hook, const struct fw_pkt *fp, uint64_t now_ns);

/*
 * ---- Editing a live program: one rule at a time, without a rebuild ----
 *
 * fw_prog_edit() makes the program of live's rule set with one rule of a
 * filter chain inserted (pos 0..n; n appends), deleted or replaced
 * (pos 0..n-1), from live itself: the rule arrays and counters are copied
 * with the change, the classifier's untouched tables are shared, and the
 * kept rule set is changed in place.  It is published like a compiled
 * program (swap, then free live after the grace period); to drop it
 * instead, fw_prog_edit_cancel() puts the kept rule set back.  Counters
 * go on from live's.  Returns 0; -ENOTSUP when the edit needs a full
 * compile (a jump or goto, a set, -m limit, COPY, the nat table, or the
 * room kept for edits used up): compile the edited rule set then; -EINVAL
 * with errs filled for a chain that does not exist or a position past
 * its end; -ENOMEM.  live must be the newest program of its family.
 */
enum fw_edit_op {
	FW_EDIT_INSERT,
	FW_EDIT_DELETE,
	FW_EDIT_REPLACE,
};

#define FW_EDIT_APPEND	UINT32_MAX	/* INSERT's pos: after the last */

int fw_prog_edit(struct fw_prog *live, enum fw_edit_op op, const char *chain,
    uint32_t pos, const struct fw_rule *rule, struct fw_prog **out,
    struct fw_errs *errs) HG_MUST_CHECK;
void fw_prog_edit_cancel(struct fw_prog *edited);

/* The position of the first rule of the filter chain equal to rule (what
 * iptables -D RULE removes), or -ENOENT. */
int fw_prog_find_rule(const struct fw_prog *prog, const char *chain,
    const struct fw_rule *rule, uint32_t *pos);

/* One more holder of prog (two published rule sets may share the
 * program of a family neither changed); fw_prog_free() drops one.
 * Control thread only. */
struct fw_prog *fw_prog_ref(struct fw_prog *prog);

/* True when the nat table has any rule: only then does the data plane
 * look at flows before the route lookup. */
bool fw_prog_has_nat(const struct fw_prog *prog);

/* The full target of rule (addresses of SNAT/DNAT, ...), valid while
 * prog lives; NULL for a bad index. */
const struct fw_target *fw_prog_target(const struct fw_prog *prog,
    uint32_t rule);

/* The rule fw_verdict.rule names: its table, chain and position. */
void fw_prog_rule_at(const struct fw_prog *prog, uint32_t rule,
    enum fw_table_id *t, const char **chain, uint32_t *pos);

const char *fw_table_name(enum fw_table_id t);
const char *fw_target_name(enum fw_target_kind k);

/*
 * ---- COPY (MACRO_CUST): traffic mirroring sessions ----
 *
 * Each "-j COPY --from IFACE --to DEST [--bidirectional] [--snaplen N]"
 * rule of the filter table's MACRO_CUST is one session; src/dp executes
 * them.
 */
struct fw_copy {
	uint32_t rule;			/* fw_prog_rule_at() index */
	uint32_t pos;			/* 1-based position in MACRO_CUST */
	uint8_t family;			/* the collector's: the rule set's */
	bool bidirectional;		/* also what hexgate sends on from */
	bool match_all;			/* no match besides the target */
	uint16_t from_if;		/* index of from, or FW_IF_NONE */
	char from[FW_IFNAME_MAX];
	uint8_t to[16];			/* collector, as fw_addr stores it */
	uint8_t to_kind;		/* enum fw_copy_to */
	uint16_t snaplen;		/* bytes of each frame kept; 0: all */
	char local[FW_COPY_LOCAL_MAX];	/* TAP name or pcap path */
};

/* Control thread.  Writes up to max sessions in rule order to out and
 * returns how many the program has (may be more than max). */
uint32_t fw_prog_copies(const struct fw_prog *prog, struct fw_copy *out,
    uint32_t max);

/*
 * Data plane.  True when the COPY rule (fw_copy.rule) matches fp: its -p,
 * -s, -d, -i, -o and modules, judged like fw_eval() would (no conntrack
 * entry: fp->ct NULL is INVALID).  A rule with matches of its family does
 * not match packets of the other family or non-IP frames; one without
 * matches takes every frame.  A hit counts on the rule (iptables-save's
 * [packets:bytes]) in worker's slice.
 */
bool fw_prog_copy_match(const struct fw_prog *prog, uint16_t worker,
    uint32_t rule, const struct fw_pkt *fp, uint64_t now_ns);

#endif /* FW_H */
