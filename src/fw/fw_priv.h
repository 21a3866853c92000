/*
 * src/fw/fw_priv.h: what the files of src/fw share and nobody else may
 * see: the token list of one line, the parser's state, the keyword
 * tables (names.c) and a small string builder (print.c).
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
	unsigned n;
	struct fw_tok t[FW_TOKENS_MAX];
	char buf[4096 + FW_TOKENS_MAX];	/* the unquoted token bytes */
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
	struct fw_ref *refs;
	size_t n_refs, cap_refs;
	bool nomem;
};

/* Errors, with the place taken from a token or a whole line. */
void fw_err_tok(struct fw_parser *, const struct fw_line *,
    const struct fw_tok *, const char *fmt, ...) HG_PRINTF(4, 5);
void fw_err_at(struct fw_parser *, const struct fw_line *, uint16_t first,
    uint16_t last, const char *fmt, ...) HG_PRINTF(5, 6);

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

#endif /* FW_PRIV_H */
