/*
 * src/fw/fw.h: the firewall rule language as other modules see it: the
 * rule IR (a parsed rule set), the parser for iptables-save/-restore text
 * and for the one-line customer-chain form, and the printer that writes a
 * rule set back the way iptables-save would.
 *
 * This is only the language. Compiling the IR into a classifier, running
 * it per packet and the targets' actions live elsewhere (later in src/fw;
 * connection tracking and NAT in src/ct). The IR is made of plain structs
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

#define FW_IFNAME_MAX		16	/* IFNAMSIZ: 15 characters + NUL */
#define FW_CHAIN_NAME_MAX	29	/* iptables: 28 characters + NUL */
#define FW_ADDRS_MAX		8	/* addresses in one -s/-d list */
#define FW_PORTS_MAX		15	/* multiport: ports, a range counts 2 */
#define FW_COMMENT_MAX		256	/* -m comment: 255 characters + NUL */
#define FW_LOG_PREFIX_MAX	30	/* LOG: 29 characters + NUL */
#define FW_SET_NAME_MAX		32	/* ipset: 31 characters + NUL */
#define FW_SET_DIMS_MAX		6	/* --match-set NAME src,dst,... */
#define FW_CHAINS_MAX		1024	/* chains per table */
#define FW_RULES_MAX		200000	/* rules per rule set */
#define FW_ERR_MAX		50	/* errors stored by one parse */
#define FW_ERR_MSG_MAX		200
#define FW_ERR_LINE_MAX		160	/* source line kept for the carets */
#define FW_RULE_TEXT_MAX	4096	/* longest printed rule, with NUL */

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
	/* COPY --from IFACE --to ADDR [--bidirectional] */
	bool copy_bidirectional;
	char copy_from[FW_IFNAME_MAX];
	uint8_t copy_to[16];
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
	char comment[FW_COMMENT_MAX];
	struct fw_target target;
	/* Bookkeeping, ignored by fw_rule_equal(). */
	uint64_t pkts, bytes;		/* -c / [p:b] */
	uint32_t line;			/* source line, 1-based */
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
	struct fw_table tables[FW_TABLE_COUNT];
};

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
 * failure.
 */
int fw_parse(const char *text, size_t len, const struct fw_parse_opts *opts,
    struct fw_ruleset **out, struct fw_errs *errs) HG_MUST_CHECK;

/* A rule set with the built-in and customer chains, all empty. */
struct fw_ruleset *fw_ruleset_new(enum fw_family family) HG_MUST_CHECK;
void fw_ruleset_free(struct fw_ruleset *);

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

const char *fw_table_name(enum fw_table_id t);
const char *fw_target_name(enum fw_target_kind k);

#endif /* FW_H */
