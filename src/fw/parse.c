/*
 * src/fw/parse.c: fw_parse(), the line level of the rule language:
 * iptables-restore text (*table, :CHAIN POLICY [p:b], -A/-I/-D/-R/-N/-X/
 * -F/-P, COMMIT, # comments) or the one-line customer form
 * ("FORWARD_CUST -s 10.0.1.0/24 -j ACCEPT"). A line with an error is
 * reported and skipped, parsing goes on with the next one, and nothing is
 * returned if any line was bad. The words of a rule are parsed in rule.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

enum cmd {
	C_APPEND, C_INSERT, C_DELETE, C_REPLACE, C_NEW, C_DELCHAIN, C_FLUSH,
	C_POLICY,
};

static const struct fw_kw cmds[] = {
	{ "--append", C_APPEND },
	{ "--delete", C_DELETE },
	{ "--delete-chain", C_DELCHAIN },
	{ "--flush", C_FLUSH },
	{ "--insert", C_INSERT },
	{ "--new-chain", C_NEW },
	{ "--policy", C_POLICY },
	{ "--replace", C_REPLACE },
	{ "-A", C_APPEND },
	{ "-D", C_DELETE },
	{ "-F", C_FLUSH },
	{ "-I", C_INSERT },
	{ "-N", C_NEW },
	{ "-P", C_POLICY },
	{ "-R", C_REPLACE },
	{ "-X", C_DELCHAIN },
};

static bool
is_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* "[p:b]" */
static bool
parse_counters(const char *s, uint64_t *p, uint64_t *b)
{
	char buf[64], *colon;
	size_t n = strlen(s);

	if (n < 5 || n >= sizeof(buf) || s[0] != '[' || s[n - 1] != ']')
		return false;
	memcpy(buf, s + 1, n - 2);
	buf[n - 2] = '\0';
	colon = strchr(buf, ':');
	if (colon == NULL)
		return false;
	*colon++ = '\0';
	return is_uint(buf, UINT64_MAX, p) && is_uint(colon, UINT64_MAX, b);
}

/* The chain of table t nearest to name (a typo), or NULL.  Jumps offer
 * user and customer chains and the targets; -A and -I any chain. */
static const char *
chain_suggest(const struct fw_parser *p, enum fw_table_id t, const char *name,
    bool jump)
{
	const struct fw_table *tab = &p->rs->tables[t];
	struct fw_suggest sg;

	fw_suggest_init(&sg, name);
	for (uint32_t i = 0; i < tab->n_chains; i++)
		if (!jump || !tab->chains[i].builtin)
			fw_suggest_try(&sg, tab->chains[i].name);
	for (size_t i = 0; jump && i < fw_kw_targets_n; i++)
		fw_suggest_try(&sg, fw_kw_targets[i].name);
	return sg.best;
}

/* The chain named by tok in table t, or an error naming what exists. */
static struct fw_chain *
chain_lookup(struct fw_parser *p, const struct fw_line *l,
    const struct fw_tok *tok, enum fw_table_id t)
{
	enum fw_table_id other = t == FW_TABLE_NAT ? FW_TABLE_FILTER :
	    FW_TABLE_NAT;
	struct fw_chain *c;
	const char *sug;

	c = fw_ruleset_chain(p->rs, t, tok->s);
	if (c != NULL)
		return c;
	if (fw_ruleset_chain(p->rs, other, tok->s) != NULL) {
		fw_err_tok(p, l, tok, "no chain \"%s\" in table %s; it is a "
		    "chain of table %s", tok->s, fw_table_name(t),
		    fw_table_name(other));
		return NULL;
	}
	sug = chain_suggest(p, t, tok->s, false);
	if (sug != NULL)
		fw_err_tok(p, l, tok, "no chain \"%s\" in table %s (did you mean "
		    "\"%s\"?)", tok->s, fw_table_name(t), sug);
	else
		fw_err_tok(p, l, tok, "no chain \"%s\" in table %s", tok->s,
		    fw_table_name(t));
	return NULL;
}

static int
remember_ref(struct fw_parser *p, const struct fw_line *l, enum fw_table_id t,
    const struct fw_rule *r)
{
	struct fw_ref *ref;
	const struct fw_tok *tok = NULL;

	if (r->target.kind != FW_T_JUMP && r->target.kind != FW_T_GOTO)
		return 0;
	if (p->n_refs == p->cap_refs) {
		size_t cap = p->cap_refs ? p->cap_refs * 2 : 64;

		ref = realloc(p->refs, cap * sizeof(*ref));
		if (ref == NULL)
			return -ENOMEM;
		p->refs = ref;
		p->cap_refs = cap;
	}
	/* The word naming the chain, for the error's carets. */
	for (unsigned i = l->n; i-- > 0;)
		if (strcmp(l->t[i].s, r->target.chain) == 0 ||
		    strstr(l->t[i].s, r->target.chain) != NULL) {
			tok = &l->t[i];
			break;
		}
	ref = &p->refs[p->n_refs++];
	memset(ref, 0, sizeof(*ref));
	ref->table = t;
	ref->line = l->lineno;
	ref->text = l->text;
	ref->len = l->len;
	ref->col_first = tok ? tok->col_first : 1;
	ref->col_last = tok ? tok->col_last : l->cols;
	memcpy(ref->chain, r->target.chain, sizeof(ref->chain));
	return 0;
}

/* Room for one more rule in c.  A long chain grows at once to hold
 * every line still to come, so a 10,000-line file is not copied over
 * and over as the chain doubles (a rule is 1.6 KiB). */
static int
chain_room(struct fw_parser *p, struct fw_chain *c, uint32_t lineno)
{
	uint32_t want;

	if (c->n_rules < c->cap_rules)
		return 0;
	want = c->cap_rules ? c->cap_rules * 2 : 8;
	if (c->n_rules >= 256 && p->n_lines > lineno)
		want = HG_MAX(want, c->n_rules + (p->n_lines - lineno) + 1);
	return fw_chain_reserve(c, HG_MIN(want, (uint32_t)FW_RULES_MAX + 1));
}

static int
add_rule(struct fw_parser *p, const struct fw_line *l, unsigned first,
    enum fw_table_id t, struct fw_chain *c, int64_t pos,
    const struct fw_tok *where)
{
	struct fw_rule *r, tmp;
	bool append = pos < 0 || pos == c->n_rules;
	int rc;

	if (p->n_rules >= FW_RULES_MAX) {
		fw_err_tok(p, l, where, "more than %d rules", FW_RULES_MAX);
		return -EINVAL;
	}
	if (pos > c->n_rules) {
		fw_err_tok(p, l, where, "chain %s has %u rules; cannot insert "
		    "at %lld", c->name, c->n_rules, (long long)pos + 1);
		return -EINVAL;
	}
	/* Appending (the usual case) parses straight into the chain. */
	if (append && chain_room(p, c, l->lineno) < 0) {
		p->nomem = true;
		return -ENOMEM;
	}
	r = append ? &c->rules[c->n_rules] : &tmp;
	rc = fw_rule_parse(p, l, first, t, c, r);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (append)
		c->n_rules++;
	else if (fw_chain_insert(c, (uint32_t)pos, r) < 0) {
		p->nomem = true;
		return -ENOMEM;
	}
	if (remember_ref(p, l, t, append ? &c->rules[c->n_rules - 1] :
	    &c->rules[pos]) < 0) {
		p->nomem = true;
		return -ENOMEM;
	}
	p->n_rules++;
	return 0;
}

static bool
is_target_name(const char *s)
{
	return fw_kw_find(FW_KW(fw_kw_targets), s) != NULL;
}

/* -A/-I/-D/-R CHAIN ... */
static int
cmd_rule(struct fw_parser *p, const struct fw_line *l, unsigned i, int cmd,
    uint64_t pkts, uint64_t bytes, bool has_counters)
{
	enum fw_table_id t = p->table;
	struct fw_chain *c;
	uint64_t n = 0;
	const struct fw_tok *numtok = NULL;
	struct fw_rule r;
	int rc;

	if (i >= l->n) {
		fw_err_tok(p, l, &l->t[i - 1], "\"%s\" needs a chain name",
		    l->t[i - 1].s);
		return -EINVAL;
	}
	c = chain_lookup(p, l, &l->t[i], t);
	if (c == NULL)
		return -EINVAL;
	i++;
	if (cmd != C_APPEND && i < l->n &&
	    is_uint(l->t[i].s, UINT32_MAX, &n)) {
		numtok = &l->t[i++];
		if (n == 0 || (cmd != C_INSERT && n > c->n_rules) ||
		    (cmd == C_INSERT && n > c->n_rules + 1)) {
			fw_err_tok(p, l, numtok, "chain %s has %u rules; no rule "
			    "number %llu", c->name, c->n_rules,
			    (unsigned long long)n);
			return -EINVAL;
		}
	} else if (cmd == C_REPLACE) {
		fw_err_tok(p, l, i < l->n ? &l->t[i] : NULL,
		    "-R needs a rule number");
		return -EINVAL;
	}
	switch (cmd) {
	case C_APPEND:
	case C_INSERT: {
		uint32_t before = c->n_rules;

		rc = add_rule(p, l, i, t, c, cmd == C_APPEND ? -1 :
		    (int64_t)(n ? n - 1 : 0), &l->t[i - 1]);
		if (rc == 0 && has_counters && c->n_rules > before) {
			struct fw_rule *nr = &c->rules[cmd == C_APPEND ?
			    c->n_rules - 1 : (n ? n - 1 : 0)];

			nr->pkts = pkts;
			nr->bytes = bytes;
		}
		return rc;
	}
	case C_DELETE:
		if (numtok != NULL) {
			if (i < l->n) {
				fw_err_tok(p, l, &l->t[i], "-D takes a rule "
				    "number or a rule, not both");
				return -EINVAL;
			}
			fw_chain_delete_at(c, (uint32_t)(n - 1));
			return 0;
		}
		rc = fw_rule_parse(p, l, i, t, c, &r);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		for (uint32_t j = 0; j < c->n_rules; j++)
			if (fw_rule_equal(&c->rules[j], &r)) {
				fw_chain_delete_at(c, j);
				return 0;
			}
		fw_err_at(p, l, l->t[0].col_first, l->cols,
		    "no such rule in chain %s", c->name);
		return -EINVAL;
	case C_REPLACE:
		rc = fw_rule_parse(p, l, i, t, c, &r);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		memcpy(&c->rules[n - 1], &r, sizeof(r));
		if (remember_ref(p, l, t, &r) < 0) {
			p->nomem = true;
			return -ENOMEM;
		}
		return 0;
	}
	return -EINVAL;
}

static int
cmd_chain(struct fw_parser *p, const struct fw_line *l, unsigned i, int cmd)
{
	struct fw_table *tab = &p->rs->tables[p->table];
	const struct fw_tok *name = i < l->n ? &l->t[i] : NULL;
	struct fw_chain *c = NULL;

	if (name != NULL && i + 1 + (cmd == C_POLICY) < l->n) {
		fw_err_tok(p, l, &l->t[i + 1 + (cmd == C_POLICY)],
		    "unexpected \"%s\"", l->t[i + 1 + (cmd == C_POLICY)].s);
		return -EINVAL;
	}
	if (name == NULL && cmd != C_FLUSH && cmd != C_DELCHAIN) {
		fw_err_tok(p, l, &l->t[i - 1], "\"%s\" needs a chain name",
		    l->t[i - 1].s);
		return -EINVAL;
	}
	if (cmd == C_NEW) {
		if (fw_ruleset_chain(p->rs, p->table, name->s) != NULL) {
			fw_err_tok(p, l, name, "chain \"%s\" already exists",
			    name->s);
			return -EINVAL;
		}
		if (strlen(name->s) == 0 || strlen(name->s) >= FW_CHAIN_NAME_MAX ||
		    name->s[0] == '-' || name->s[0] == '!' ||
		    is_target_name(name->s)) {
			fw_err_tok(p, l, name, "bad chain name \"%s\" (1 to %d "
			    "characters, not a target name, not starting "
			    "with - or !)", name->s, FW_CHAIN_NAME_MAX - 1);
			return -EINVAL;
		}
		if (tab->n_chains >= FW_CHAINS_MAX) {
			fw_err_tok(p, l, name, "more than %d chains",
			    FW_CHAINS_MAX);
			return -EINVAL;
		}
		if (fw_chain_add(p->rs, p->table, name->s) == NULL) {
			p->nomem = true;
			return -ENOMEM;
		}
		return 0;
	}
	if (name != NULL && (c = chain_lookup(p, l, name, p->table)) == NULL)
		return -EINVAL;
	switch (cmd) {
	case C_FLUSH:
		for (uint32_t j = 0; j < tab->n_chains; j++)
			if (c == NULL || &tab->chains[j] == c)
				tab->chains[j].n_rules = 0;
		return 0;
	case C_DELCHAIN:
		for (uint32_t j = tab->n_chains; j-- > 0;) {
			struct fw_chain *d = &tab->chains[j];

			if ((c != NULL && d != c) ||
			    (c == NULL && (d->builtin || d->customer)))
				continue;
			if (d->builtin || d->customer) {
				fw_err_tok(p, l, name, "chain %s is built in and "
				    "cannot be deleted", d->name);
				return -EINVAL;
			}
			if (d->n_rules > 0) {
				fw_err_tok(p, l, name ? name : &l->t[i - 1],
				    "chain %s is not empty", d->name);
				return -EINVAL;
			}
			if (fw_chain_is_referenced(tab, d->name)) {
				fw_err_tok(p, l, name ? name : &l->t[i - 1],
				    "chain %s is still jumped to", d->name);
				return -EINVAL;
			}
			fw_chain_remove(tab, j);
		}
		return 0;
	case C_POLICY: {
		const struct fw_tok *pol = &l->t[i + 1];

		if (i + 1 >= l->n) {
			fw_err_tok(p, l, name, "-P needs a chain and a policy "
			    "(ACCEPT or DROP)");
			return -EINVAL;
		}
		if (!c->builtin) {
			fw_err_tok(p, l, name, "only built-in chains have a "
			    "policy; %s has none", c->name);
			return -EINVAL;
		}
		if (strcmp(pol->s, "ACCEPT") == 0)
			c->policy = FW_POLICY_ACCEPT;
		else if (strcmp(pol->s, "DROP") == 0)
			c->policy = FW_POLICY_DROP;
		else {
			fw_err_tok(p, l, pol, "bad policy \"%s\" (ACCEPT or "
			    "DROP)", pol->s);
			return -EINVAL;
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* ":NAME POLICY [p:b]" */
static int
declare_chain(struct fw_parser *p, const struct fw_line *l)
{
	const char *name = l->t[0].s + 1;
	const struct fw_tok *pol = l->n > 1 ? &l->t[1] : NULL;
	struct fw_chain *c;
	uint64_t pk = 0, by = 0;
	uint8_t policy;

	if (name[0] == '\0' || strlen(name) >= FW_CHAIN_NAME_MAX ||
	    name[0] == '-' || name[0] == '!' || is_target_name(name)) {
		fw_err_tok(p, l, &l->t[0], "bad chain name \"%s\"", name);
		return -EINVAL;
	}
	if (pol == NULL) {
		fw_err_tok(p, l, NULL, "\":%s\" needs a policy (ACCEPT, DROP or "
		    "- for a user chain)", name);
		return -EINVAL;
	}
	if (l->n > 3 || (l->n == 3 && !parse_counters(l->t[2].s, &pk, &by))) {
		fw_err_tok(p, l, &l->t[2], "expected counters [PACKETS:BYTES]");
		return -EINVAL;
	}
	if (strcmp(pol->s, "ACCEPT") == 0)
		policy = FW_POLICY_ACCEPT;
	else if (strcmp(pol->s, "DROP") == 0)
		policy = FW_POLICY_DROP;
	else if (strcmp(pol->s, "-") == 0)
		policy = FW_POLICY_NONE;
	else {
		fw_err_tok(p, l, pol, "bad policy \"%s\" (ACCEPT, DROP or -)",
		    pol->s);
		return -EINVAL;
	}
	c = fw_ruleset_chain(p->rs, p->table, name);
	if (c != NULL && !c->builtin && !c->customer) {
		fw_err_tok(p, l, &l->t[0], "chain %s declared twice", name);
		return -EINVAL;
	}
	if ((c != NULL && c->builtin) != (policy != FW_POLICY_NONE)) {
		fw_err_tok(p, l, pol, c != NULL && c->builtin ?
		    "built-in chain %s needs a policy, ACCEPT or DROP" :
		    "user chain %s has no policy; write -", name);
		return -EINVAL;
	}
	if (c == NULL) {
		if (p->rs->tables[p->table].n_chains >= FW_CHAINS_MAX) {
			fw_err_tok(p, l, &l->t[0], "more than %d chains",
			    FW_CHAINS_MAX);
			return -EINVAL;
		}
		c = fw_chain_add(p->rs, p->table, name);
		if (c == NULL) {
			p->nomem = true;
			return -ENOMEM;
		}
	}
	c->policy = policy;
	c->pkts = pk;
	c->bytes = by;
	return 0;
}

/* Jumps must name a user chain of the same table, and must not loop. */
static bool
chain_loops(const struct fw_table *tab, uint32_t idx, uint8_t *color,
    uint32_t depth)
{
	const struct fw_chain *c = &tab->chains[idx];

	if (color[idx] == 1)
		return true;
	if (color[idx] == 2 || depth > FW_CHAINS_MAX)
		return false;
	color[idx] = 1;
	for (uint32_t j = 0; j < c->n_rules; j++) {
		const struct fw_target *tg = &c->rules[j].target;

		if (tg->kind != FW_T_JUMP && tg->kind != FW_T_GOTO)
			continue;
		for (uint32_t k = 0; k < tab->n_chains; k++)
			if (strcmp(tab->chains[k].name, tg->chain) == 0 &&
			    chain_loops(tab, k, color, depth + 1))
				return true;
	}
	color[idx] = 2;
	return false;
}

/* An error at the word of r that names its jump's chain; msg takes the
 * chain, the table and a hint. */
static void
ref_error(struct fw_parser *p, enum fw_table_id t, const struct fw_rule *r,
    const char *msg, const char *hint)
{
	struct fw_line l;

	memset(&l, 0, sizeof(l));
	l.lineno = r->line;
	for (size_t i = 0; i < p->n_refs; i++) {
		const struct fw_ref *ref = &p->refs[i];

		if (ref->table != t || ref->line != r->line ||
		    strcmp(ref->chain, r->target.chain) != 0)
			continue;
		l.text = ref->text;
		l.len = ref->len;
		fw_err_at(p, &l, ref->col_first, ref->col_last, msg,
		    r->target.chain, fw_table_name(t), hint);
		return;
	}
	fw_err_at(p, NULL, 0, 0, msg, r->target.chain, fw_table_name(t), hint);
}

static void
unknown_ref(struct fw_parser *p, enum fw_table_id t, const struct fw_rule *r)
{
	const char *sug = chain_suggest(p, t, r->target.chain, true);
	char hint[FW_CHAIN_NAME_MAX + 24] = "";

	if (sug != NULL)
		snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", sug);
	ref_error(p, t, r, "unknown target or chain \"%s\" in table %s%s",
	    hint);
}

static void
commit_table(struct fw_parser *p, enum fw_table_id t)
{
	const struct fw_table *tab = &p->rs->tables[t];
	uint8_t *color;

	for (uint32_t i = 0; i < tab->n_chains; i++)
		for (uint32_t j = 0; j < tab->chains[i].n_rules; j++) {
			const struct fw_rule *r = &tab->chains[i].rules[j];
			const struct fw_chain *to;

			if (r->target.kind != FW_T_JUMP &&
			    r->target.kind != FW_T_GOTO)
				continue;
			to = fw_ruleset_chain(p->rs, t, r->target.chain);
			if (to == NULL)
				unknown_ref(p, t, r);
			else if (to->builtin)
				ref_error(p, t, r, "cannot jump to built-in "
				    "chain \"%s\" (table %s)%s", "");
		}
	color = calloc(tab->n_chains ? tab->n_chains : 1, 1);
	if (color == NULL) {
		p->nomem = true;
		return;
	}
	for (uint32_t i = 0; i < tab->n_chains; i++)
		if (chain_loops(tab, i, color, 0)) {
			fw_err_at(p, NULL, 0, 0, "table %s: chain %s is part of "
			    "a jump loop", fw_table_name(t), tab->chains[i].name);
			break;
		}
	free(color);
}

static int
restore_line(struct fw_parser *p, struct fw_line *l)
{
	const struct fw_tok *t0 = &l->t[0];
	const struct fw_kw *kw;
	uint64_t pk = 0, by = 0;
	bool has_counters = false;
	unsigned i = 0;

	if (t0->s[0] == '*' && !t0->quoted) {
		const char *name = t0->s + 1;

		if (p->table >= 0) {
			fw_err_tok(p, l, t0, "table %s (line %u) needs COMMIT "
			    "before a new table", fw_table_name(p->table),
			    p->table_line);
			return -EINVAL;
		}
		if (l->n > 1) {
			fw_err_tok(p, l, &l->t[1], "unexpected \"%s\"", l->t[1].s);
			return -EINVAL;
		}
		if (strcmp(name, "filter") == 0)
			p->table = FW_TABLE_FILTER;
		else if (strcmp(name, "nat") == 0)
			p->table = FW_TABLE_NAT;
		else {
			fw_err_tok(p, l, t0, "table \"%s\" is not supported "
			    "(filter, nat)", name);
			return -EINVAL;
		}
		p->table_line = l->lineno;
		/* Like iptables-restore: a table is replaced whole, and
		 * one the text does not name is left alone (the caller
		 * merges it back, fw_ruleset_keep_unnamed()). */
		fw_table_reset(p->rs, p->table);
		p->rs->named |= (uint8_t)(1u << p->table);
		return 0;
	}
	if (p->table < 0) {
		fw_err_tok(p, l, t0, "\"%s\" outside a table; start one with "
		    "*filter or *nat", t0->s);
		return -EINVAL;
	}
	if (strcmp(t0->s, "COMMIT") == 0) {
		if (l->n > 1) {
			fw_err_tok(p, l, &l->t[1], "unexpected \"%s\"", l->t[1].s);
			return -EINVAL;
		}
		commit_table(p, p->table);
		p->table = -1;
		return 0;
	}
	if (t0->s[0] == ':')
		return declare_chain(p, l);
	if (t0->s[0] == '[') {
		if (!parse_counters(t0->s, &pk, &by)) {
			fw_err_tok(p, l, t0, "expected counters [PACKETS:BYTES]");
			return -EINVAL;
		}
		has_counters = true;
		i = 1;
		if (l->n < 2) {
			fw_err_tok(p, l, NULL, "counters need a rule after them");
			return -EINVAL;
		}
	}
	kw = fw_kw_find(cmds, HG_ARRAY_SIZE(cmds), l->t[i].s);
	if (kw == NULL) {
		char fixed[FW_TOKEN_MAX + 2];
		uint32_t cp;

		if (fw_typo_dash(l->t[i].s, fixed, sizeof(fixed), &cp))
			fw_err_tok(p, l, &l->t[i], "unknown command \"%s\": "
			    "U+%04X is a typographic dash, not \"-\" (did you "
			    "mean \"%.40s\"?)", l->t[i].s, (unsigned)cp, fixed);
		else
			fw_err_tok(p, l, &l->t[i], "unknown command \"%s\" (-A, "
			    "-I, -D, -R, -N, -X, -F, -P, :CHAIN, COMMIT)",
			    l->t[i].s);
		return -EINVAL;
	}
	if (has_counters && kw->val != C_APPEND && kw->val != C_INSERT) {
		fw_err_tok(p, l, t0, "counters go only before -A or -I");
		return -EINVAL;
	}
	switch (kw->val) {
	case C_APPEND:
	case C_INSERT:
	case C_DELETE:
	case C_REPLACE:
		return cmd_rule(p, l, i + 1, kw->val, pk, by, has_counters);
	default:
		return cmd_chain(p, l, i + 1, kw->val);
	}
}

static int
one_line(struct fw_parser *p, struct fw_line *l)
{
	const struct fw_tok *t0 = &l->t[0];
	struct fw_chain *c;
	enum fw_table_id t = FW_TABLE_FILTER;
	struct fw_suggest sg;

	c = fw_ruleset_chain(p->rs, FW_TABLE_FILTER, t0->s);
	if (c == NULL) {
		t = FW_TABLE_NAT;
		c = fw_ruleset_chain(p->rs, FW_TABLE_NAT, t0->s);
	}
	if (c != NULL)
		return add_rule(p, l, 1, t, c, -1, t0);
	/* A typo of a chain of either table. */
	fw_suggest_init(&sg, t0->s);
	for (int tt = 0; tt < FW_TABLE_COUNT; tt++)
		for (uint32_t i = 0; i < p->rs->tables[tt].n_chains; i++)
			fw_suggest_try(&sg, p->rs->tables[tt].chains[i].name);
	if (sg.best != NULL)
		fw_err_tok(p, l, t0, "no chain \"%s\" (did you mean \"%s\"?)",
		    t0->s, sg.best);
	else
		fw_err_tok(p, l, t0, "%s%s%sa line starts with the chain name "
		    "(INPUT_CUST, FORWARD_CUST, OUTPUT_CUST, PREROUTING_CUST, "
		    "POSTROUTING_CUST, MACRO_CUST)", t0->s[0] == '-' ? "" :
		    "no chain \"", t0->s[0] == '-' ? "" : t0->s,
		    t0->s[0] == '-' ? "" : "\"; ");
	return -EINVAL;
}

static void
parse_lines(struct fw_parser *p, const char *text, size_t len)
{
	struct fw_line *l;
	size_t pos = 0, end, skip;
	uint32_t lineno = 0;
	bool comment;

	l = malloc(sizeof(*l));
	if (l == NULL) {
		p->nomem = true;
		return;
	}
	while (pos < len && !p->nomem) {
		lineno++;
		end = pos;
		while (end < len && text[end] != '\n')
			end++;
		skip = pos;
		while (skip < end && (text[skip] == ' ' || text[skip] == '\t' ||
		    text[skip] == '\r'))
			skip++;
		comment = skip >= end || text[skip] == '#';
		/* The length limit holds for comments too: fw_lex_line()
		 * refuses a long line whatever it holds. */
		if ((!comment || end - pos > FW_LINE_MAX_BYTES) &&
		    fw_lex_line(p, l, lineno, text + pos, end - pos) == 0 &&
		    !comment && l->n > 0) {
			if (p->opts->syntax == FW_SYNTAX_ONE_LINE)
				(void)one_line(p, l);
			else
				(void)restore_line(p, l);
		}
		pos = end + 1;
	}
	if (p->opts->syntax == FW_SYNTAX_ONE_LINE) {
		commit_table(p, FW_TABLE_FILTER);
		commit_table(p, FW_TABLE_NAT);
	} else if (p->table >= 0) {
		fw_err_at(p, NULL, 0, 0, "table %s opened on line %u has no "
		    "COMMIT", fw_table_name(p->table), p->table_line);
	}
	free(l);
}

int
fw_parse(const char *text, size_t len, const struct fw_parse_opts *opts,
    struct fw_ruleset **out, struct fw_errs *errs)
{
	static const struct fw_parse_opts defaults;
	struct fw_parser p;

	*out = NULL;
	errs->n = 0;
	if (opts == NULL)
		opts = &defaults;
	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.family = opts->family == FW_IPV6 ? FW_IPV6 : FW_IPV4;
	p.errs = errs;
	p.table = -1;
	p.rs = fw_ruleset_new(p.family);
	if (p.rs == NULL)
		return -ENOMEM;
	if (len > FW_TEXT_MAX_BYTES) {
		fw_err_at(&p, NULL, 0, 0, "rule text is %zu bytes long; the "
		    "limit is %u", len, FW_TEXT_MAX_BYTES);
		fw_ruleset_free(p.rs);
		return -EINVAL;
	}
	/* The one-line form is a whole rule set: it names every table. */
	if (opts->syntax == FW_SYNTAX_ONE_LINE)
		p.rs->named = FW_TABLES_ALL;
	for (const char *at = text, *end = text + len; at < end &&
	    (at = memchr(at, '\n', (size_t)(end - at))) != NULL; at++)
		p.n_lines++;
	parse_lines(&p, text, len);
	free(p.refs);
	if (p.nomem) {
		fw_ruleset_free(p.rs);
		return -ENOMEM;
	}
	if (errs->n > 0) {
		fw_ruleset_free(p.rs);
		return -EINVAL;
	}
	*out = p.rs;
	return 0;
}
