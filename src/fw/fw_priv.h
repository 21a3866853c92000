/*
 * src/fw/fw_priv.h: what the files of src/fw share and nobody else may
 * see: the token list of one line, the parser's state, the keyword
 * tables (names.c), a small string builder (print.c), and the compiled
 * program that compile.c builds and eval.c runs.
 */
#ifndef FW_PRIV_H
#define FW_PRIV_H

#include <stdarg.h>

#include "fw.h"

#define FW_TOKENS_MAX	256	/* tokens on one line */
#define FW_TOKEN_MAX	512	/* bytes in one token after unquoting */

struct fw_tok {
	char *s;		/* unquoted, NUL-terminated */
	uint16_t col_first;	/* 1-based span in the source line */
	uint16_t col_last;
	bool quoted;
};

/* One line, cut into tokens. */
struct fw_line {
	uint32_t lineno;
	const char *text;	/* start of the line in the input */
	size_t len;
	uint16_t cols;		/* characters in it (fw_utf8_cols()) */
	unsigned n;
	struct fw_tok t[FW_TOKENS_MAX];
	char buf[FW_LINE_MAX_BYTES + FW_TOKENS_MAX];	/* unquoted tokens */
};

/* A jump to a user chain, checked when its table is committed. */
struct fw_ref {
	uint8_t table;
	uint32_t line;
	uint16_t col_first, col_last;
	const char *text;
	size_t len;
	char chain[FW_CHAIN_NAME_MAX];
};

struct fw_parser {
	const struct fw_parse_opts *opts;
	uint8_t family;
	struct fw_ruleset *rs;
	struct fw_errs *errs;
	int table;		/* restore: open table, -1 outside */
	uint32_t table_line;	/* where it was opened */
	uint32_t n_rules;
	uint32_t n_lines;	/* in the whole text */
	struct fw_ref *refs;
	size_t n_refs, cap_refs;
	bool nomem;
};

/* Errors, with the place taken from a token or a whole line. */
void fw_err_tok(struct fw_parser *, const struct fw_line *,
    const struct fw_tok *, const char *fmt, ...) HG_PRINTF(4, 5);
void fw_err_at(struct fw_parser *, const struct fw_line *, uint16_t first,
    uint16_t last, const char *fmt, ...) HG_PRINTF(5, 6);

/*
 * text.c: UTF-8.  fw_utf8_next() decodes the character at s (n bytes
 * left) into *cp and returns its length; a byte that starts no valid
 * sequence is a character of one byte with *cp FW_UTF8_BAD.  Columns
 * count characters so.
 */
#define FW_UTF8_BAD	UINT32_MAX
size_t fw_utf8_next(const char *s, size_t n, uint32_t *cp);
size_t fw_utf8_cols(const char *s, size_t n);
/* s[0..n) into out, NUL-terminated, controls and bad bytes as \xNN, cut
 * at a character; returns the bytes of s used. */
size_t fw_text_escape(char *out, size_t size, const char *s, size_t n);
/* The same with U+FFFD for each such character (tabs kept), so the
 * columns of the result are those of s. */
void fw_text_display(char *out, size_t size, const char *s, size_t n);
/* Typographic look-alikes in pasted rules.  fw_typo_dash(): s starts with
 * dashes of which *cp is the first that is not '-'; fixed gets the ASCII
 * option it stands for ("—from" -> "--from"). */
bool fw_typo_dash(const char *s, char *fixed, size_t size, uint32_t *cp);
bool fw_typo_quote(const char *s, uint32_t *cp);
bool fw_is_nbsp(uint32_t cp);

/* lex.c: cut a line; on error records it and returns -EINVAL. */
int fw_lex_line(struct fw_parser *, struct fw_line *, uint32_t lineno,
    const char *text, size_t len) HG_MUST_CHECK;

/* rule.c: parses tokens [first, n) of l as a rule for chain c of
 * table t into r. Returns 0 or -EINVAL (errors recorded), or 1 when
 * the rule is for the other family (-4/-6) and must be ignored. */
int fw_rule_parse(struct fw_parser *, const struct fw_line *l, unsigned first,
    enum fw_table_id t, const struct fw_chain *c, struct fw_rule *r) HG_MUST_CHECK;

/* ruleset.c */
struct fw_chain *fw_chain_add(struct fw_ruleset *, enum fw_table_id,
    const char *name) HG_MUST_CHECK;
int fw_chain_insert(struct fw_chain *, uint32_t pos, const struct fw_rule *) HG_MUST_CHECK;
/* Room for cap rules (never less than it has). */
int fw_chain_reserve(struct fw_chain *, uint32_t cap) HG_MUST_CHECK;
void fw_chain_delete_at(struct fw_chain *, uint32_t pos);
void fw_chain_remove(struct fw_table *, uint32_t idx);
void fw_table_reset(struct fw_ruleset *, enum fw_table_id);
bool fw_chain_is_referenced(const struct fw_table *, const char *name);

/* names.c: keyword tables, each sorted and searched with bsearch(). */
struct fw_kw {
	const char *name;
	int val;
};
const struct fw_kw *fw_kw_find(const struct fw_kw *tab, size_t n, const char *name);
/* Levenshtein distance (99 for very long names). */
unsigned fw_edit_distance(const char *a, const char *b);
/* The closest name within edit distance 2, or NULL. */
const char *fw_kw_suggest(const struct fw_kw *tab, size_t n, const char *name);
/* The same over names offered one at a time: the best is kept in best. */
struct fw_suggest {
	const char *name;	/* what the user wrote */
	const char *best;	/* NULL: nothing close enough yet */
	unsigned d;
};
void fw_suggest_init(struct fw_suggest *, const char *name);
void fw_suggest_try(struct fw_suggest *, const char *cand);
/* Writes "a, b, c" into buf. */
void fw_kw_list(const struct fw_kw *tab, size_t n, char *buf, size_t size);
/* Checks every table is sorted and unique; used by the unit tests. */
bool fw_kw_tables_sorted(void);

#define FW_KW(tab)	tab, tab##_n

extern const struct fw_kw fw_kw_protos[];
extern const size_t fw_kw_protos_n;
extern const struct fw_kw fw_kw_services[];
extern const size_t fw_kw_services_n;
extern const struct fw_kw fw_kw_icmp[];		/* val: type << 16 | lo << 8 | hi */
extern const size_t fw_kw_icmp_n;
extern const struct fw_kw fw_kw_icmp6[];
extern const size_t fw_kw_icmp6_n;
extern const struct fw_kw fw_kw_matches[];	/* val: enum fw_match_kind */
extern const size_t fw_kw_matches_n;
extern const struct fw_kw fw_kw_targets[];	/* val: enum fw_target_kind */
extern const size_t fw_kw_targets_n;
extern const struct fw_kw fw_kw_reject[];	/* val: enum fw_reject_with */
extern const size_t fw_kw_reject_n;
extern const struct fw_kw fw_kw_reject6[];
extern const size_t fw_kw_reject6_n;
extern const struct fw_kw fw_kw_log_levels[];
extern const size_t fw_kw_log_levels_n;
extern const struct fw_kw fw_kw_ctstates[];
extern const size_t fw_kw_ctstates_n;
extern const struct fw_kw fw_kw_ctstatus[];
extern const size_t fw_kw_ctstatus_n;
extern const struct fw_kw fw_kw_tcp_flags[];
extern const size_t fw_kw_tcp_flags_n;

/* Name of proto for printing ("tcp"), or NULL for a bare number. */
const char *fw_proto_name(uint8_t proto);
const char *fw_reject_name(enum fw_reject_with);
const char *fw_match_name(enum fw_match_kind);

/* print.c: a growing string. */
struct fw_sbuf {
	char *s;
	size_t len, cap;
	bool nomem;
	bool fixed;		/* s is the caller's buffer of cap bytes */
	size_t want;		/* length it would have had */
};
void fw_sbuf_printf(struct fw_sbuf *, const char *fmt, ...) HG_PRINTF(2, 3);
void fw_rule_format_sbuf(struct fw_sbuf *, const struct fw_rule *);

/*
 * compile.c / eval.c: the compiled program (fw.h "Compiled rule sets").
 * Every rule of both tables sits in one flat array, chain after chain,
 * in a compact form that eval.c reads front to back: a small hot part
 * (checks as bits, interface masks, where its prefixes are) and, for
 * rules that load modules or log, a cold extension beside it.
 */

/* Checks a compiled rule makes before its modules, cheapest first. */
#define FW_CK_NEVER	0x0001	/* other family: matches nothing */
#define FW_CK_PROTO	0x0002
#define FW_CK_FRAG	0x0004
#define FW_CK_IN	0x0008
#define FW_CK_OUT	0x0010
#define FW_CK_SRC	0x0020	/* src_n prefixes at prog->addrs[src] */
#define FW_CK_DST	0x0040
#define FW_CK_SRC_SET	0x0080	/* -s ${NAME}: src is a set id */
#define FW_CK_DST_SET	0x0100
#define FW_CK_EXT	0x0200	/* modules: prog->ext[ext] */

struct fw_crule {
	uint16_t chk;			/* FW_CK_* */
	uint16_t neg;			/* FW_CK_* whose result is inverted */
	uint8_t proto;
	uint8_t target;			/* enum fw_target_kind */
	uint8_t reject_with;		/* enum fw_reject_with */
	uint8_t src_n, dst_n;
	uint32_t src, dst;		/* first prefix, or a set id */
	uint32_t jump;			/* JUMP, GOTO: chain id */
	uint32_t ext;			/* prog->ext index, or FW_RULE_NONE */
	uint64_t in_mask, out_mask;	/* interface indexes 0..63 that match */
};

/* The rarer parts of a rule: modules in the order they were loaded,
 * interface patterns for indexes past the masks, LOG's arguments. */
struct fw_cext {
	uint8_t n_mods;
	uint8_t mods[FW_M_COUNT];	/* enum fw_match_kind */
	bool in_wild, out_wild;
	char in[FW_IFNAME_MAX], out[FW_IFNAME_MAX];
	struct fw_match_ports ports;	/* -m tcp or -m udp */
	struct fw_match_icmp icmp;
	struct fw_match_multiport multiport;
	struct fw_match_conntrack ct;
	struct fw_match_state state;
	struct fw_match_iprange iprange;
	struct fw_match_mac mac;
	struct fw_match_set set;	/* name unused: set_id */
	struct fw_match_length length;
	struct fw_match_ttl ttl;
	struct fw_match_pkttype pkttype;
	struct fw_match_length tcpmss;
	uint32_t set_id;
	uint32_t limit;			/* prog->limits index */
	uint8_t log_level, log_flags;
	char log_prefix[FW_LOG_PREFIX_MAX];
};

/* -m limit's bucket, shared by all workers: GCRA, one theoretical
 * arrival time moved with compare-and-swap; own cache line. */
struct fw_climit {
	uint64_t tat_ns;		/* atomic */
	uint64_t cost_ns;		/* time one packet uses up */
	uint64_t cap_ns;		/* cost_ns * burst */
} HG_ALIGNED(HG_CACHE_LINE);

struct fw_cchain {
	uint32_t first, n;		/* its rules in prog->rules */
	uint8_t table;			/* enum fw_table_id */
	uint8_t policy;			/* enum fw_policy */
	uint32_t pos;			/* index in the kept table's chains */
};

struct fw_ccount {
	uint64_t pkts, bytes;
};

/* One worker's counters; the rules' pairs follow it in the slice. */
struct fw_cslice {
	uint64_t verdicts[FW_HOOK_COUNT][FW_WHY_COUNT];
	uint64_t policy_bytes[FW_HOOK_COUNT];
	uint64_t log_window_ns;		/* start of the current second */
	uint64_t log_lines;		/* lines logged in it */
	uint64_t log_suppressed;
} HG_ALIGNED(HG_CACHE_LINE);

#define FW_CHAIN_NONE	UINT32_MAX

struct fw_prog {
	uint8_t family;			/* enum fw_family */
	uint8_t l3;			/* enum pkt_l3 of that family */
	uint32_t n_rules, n_chains;
	struct fw_crule *rules;
	struct fw_cchain *chains;
	uint32_t *rule_chain;		/* rule -> chain id */
	struct fw_addr *addrs;
	uint32_t n_addrs;
	struct fw_cext *ext;
	uint32_t n_ext;
	struct fw_climit *limits;
	uint32_t n_limits;
	uint32_t hook_chain[FW_HOOK_COUNT];	/* INPUT, FORWARD, OUTPUT */
	uint32_t hook_cust[FW_HOOK_COUNT];	/* ..._CUST, or FW_CHAIN_NONE */
	uint32_t nat_chain[FW_NAT_HOOK_COUNT];	/* PREROUTING, POSTROUTING */
	uint32_t nat_cust[FW_NAT_HOOK_COUNT];	/* ..._CUST */
	bool has_nat;			/* the nat table has a rule */
	uint32_t n_known;
	struct fw_addr *known;
	uint16_t *known_if;		/* FW_IF_NONE: through any interface */
	uint32_t n_peers;
	struct fw_addr *peers;
	uint16_t overlay_port;
	uint16_t n_if;
	char (*if_names)[FW_IFNAME_MAX];
	struct fw_sets *sets;
	uint32_t *set_ids;		/* references held, one per use */
	uint32_t n_set_ids;
	uint16_t n_workers;
	size_t slice_bytes;		/* cache-line multiple */
	uint8_t *slices;		/* n_workers of them */
	struct fw_ruleset *rs;		/* kept copy, base counters */
	/* Verdict counters of the programs before it (fw_prog_carry());
	 * control thread only, workers count in their slices. */
	uint64_t base_verdicts[FW_HOOK_COUNT][FW_WHY_COUNT];
	uint64_t base_log_suppressed;
	bool carried;			/* base_* set, or edited from live */
	struct fwc *cls;		/* classify.c: next candidate rule */
	struct fw_pshare *share;	/* owner of what edits share */
	struct fw_undo *undo;		/* fw_prog_edit(): how to take it back */
	uint32_t refs;			/* fw_prog_ref(), fw_prog_free() */
};

/*
 * What a program shares with those fw_prog_edit() derives from it: the
 * arrays that only grow at their end (addrs, ext: a program reads only
 * the prefix it was built with, so an edit appends behind the live one's
 * back), the arrays no edit changes (limits, set_ids with their set
 * references, known, if_names) and the kept rule set, which an edit
 * changes in place (the data plane reads only its nat table).  Freed
 * with the last program.
 */
struct fw_pshare {
	uint32_t refs;
	uint32_t cap_addrs, cap_ext;
};

struct fw_undo {
	uint8_t op;			/* enum fw_edit_op */
	uint32_t chain;			/* index in the filter table */
	uint32_t pos;
	struct fw_rule rule;		/* DELETE, REPLACE: the one before */
};

static inline struct fw_cslice *
fw_prog_slice(const struct fw_prog *prog, uint16_t worker)
{
	return (struct fw_cslice *)(void *)(prog->slices +
	    (size_t)worker * prog->slice_bytes);
}

static inline struct fw_ccount *
fw_slice_counts(struct fw_cslice *s)
{
	return (struct fw_ccount *)(void *)(s + 1);
}

/* Whether an interface name matches a -i/-o pattern ("eth+" a prefix). */
bool fw_iface_match(const char *pattern, bool wildcard, const char *name);

#endif /* FW_PRIV_H */
