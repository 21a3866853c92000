/*
 * src/fw/ruleset.c: the rule set container: tables of chains of rules,
 * with the built-in and customer chains every rule set has. Chains and
 * rules are growable arrays; the parser is their only writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

struct chain_def {
	const char *name;
	bool builtin;
};

/* Built-in chains first, then the customer chains the built-in ones jump
 * to (../shared/DESIGN.md "Firewall language"); MACRO_CUST holds the
 * appliance macros (COPY) and lives beside the filter chains. */
static const struct chain_def filter_chains[] = {
	{ "INPUT", true }, { "FORWARD", true }, { "OUTPUT", true },
	{ "INPUT_CUST", false }, { "FORWARD_CUST", false },
	{ "OUTPUT_CUST", false }, { "MACRO_CUST", false },
};
static const struct chain_def nat_chains[] = {
	{ "PREROUTING", true }, { "INPUT", true }, { "OUTPUT", true },
	{ "POSTROUTING", true },
	{ "PREROUTING_CUST", false }, { "POSTROUTING_CUST", false },
};

struct fw_chain *
fw_chain_add(struct fw_ruleset *rs, enum fw_table_id t, const char *name)
{
	struct fw_table *tab = &rs->tables[t];
	struct fw_chain *c;
	uint32_t cap;

	if (tab->n_chains == tab->cap_chains) {
		cap = tab->cap_chains ? tab->cap_chains * 2 : 16;
		c = realloc(tab->chains, cap * sizeof(*c));
		if (c == NULL)
			return NULL;
		tab->chains = c;
		tab->cap_chains = cap;
	}
	c = &tab->chains[tab->n_chains++];
	memset(c, 0, sizeof(*c));
	strncpy(c->name, name, sizeof(c->name) - 1);
	return c;
}

/*
 * hexgate's defaults (fw.h, "Compiled rule sets"): what nobody allowed is
 * dropped on the way in and through, the appliance's own traffic out is
 * not, and the nat chains never drop. A file may still say otherwise
 * with :CHAIN POLICY.
 */
static uint8_t
chain_policy(enum fw_table_id t, const struct chain_def *d)
{
	if (!d->builtin)
		return FW_POLICY_NONE;
	if (t == FW_TABLE_FILTER && (strcmp(d->name, "INPUT") == 0 ||
	    strcmp(d->name, "FORWARD") == 0))
		return FW_POLICY_DROP;
	return FW_POLICY_ACCEPT;
}

void
fw_table_reset(struct fw_ruleset *rs, enum fw_table_id t)
{
	struct fw_table *tab = &rs->tables[t];
	const struct chain_def *defs;
	size_t n;

	for (uint32_t i = 0; i < tab->n_chains; i++)
		free(tab->chains[i].rules);
	tab->n_chains = 0;
	defs = t == FW_TABLE_NAT ? nat_chains : filter_chains;
	n = t == FW_TABLE_NAT ? HG_ARRAY_SIZE(nat_chains) :
	    HG_ARRAY_SIZE(filter_chains);
	for (size_t i = 0; i < n; i++) {
		/* Cannot fail: the array keeps its capacity (16). */
		struct fw_chain *c = &tab->chains[tab->n_chains++];

		memset(c, 0, sizeof(*c));
		strncpy(c->name, defs[i].name, sizeof(c->name) - 1);
		c->builtin = defs[i].builtin;
		c->customer = !defs[i].builtin;
		c->policy = chain_policy(t, &defs[i]);
	}
}

struct fw_ruleset *
fw_ruleset_new(enum fw_family family)
{
	struct fw_ruleset *rs;

	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return NULL;
	rs->family = family;
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		rs->tables[t].chains = calloc(16, sizeof(struct fw_chain));
		if (rs->tables[t].chains == NULL) {
			fw_ruleset_free(rs);
			return NULL;
		}
		rs->tables[t].cap_chains = 16;
		fw_table_reset(rs, t);
	}
	return rs;
}

void
fw_ruleset_free(struct fw_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		for (uint32_t i = 0; i < rs->tables[t].n_chains; i++)
			free(rs->tables[t].chains[i].rules);
		free(rs->tables[t].chains);
	}
	free(rs);
}

struct fw_chain *
fw_ruleset_chain(const struct fw_ruleset *rs, enum fw_table_id t,
    const char *name)
{
	const struct fw_table *tab = &rs->tables[t];

	for (uint32_t i = 0; i < tab->n_chains; i++)
		if (strcmp(tab->chains[i].name, name) == 0)
			return &tab->chains[i];
	return NULL;
}

int
fw_chain_reserve(struct fw_chain *c, uint32_t cap)
{
	struct fw_rule *n;

	if (cap <= c->cap_rules)
		return 0;
	n = realloc(c->rules, (size_t)cap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	c->rules = n;
	c->cap_rules = cap;
	return 0;
}

int
fw_chain_insert(struct fw_chain *c, uint32_t pos, const struct fw_rule *r)
{
	struct fw_rule *n;
	uint32_t cap;

	if (pos > c->n_rules)
		return -EINVAL;
	if (c->n_rules == c->cap_rules) {
		cap = c->cap_rules ? c->cap_rules * 2 : 8;
		n = realloc(c->rules, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		c->rules = n;
		c->cap_rules = cap;
	}
	memmove(&c->rules[pos + 1], &c->rules[pos],
	    (size_t)(c->n_rules - pos) * sizeof(*r));
	memcpy(&c->rules[pos], r, sizeof(*r));
	c->n_rules++;
	return 0;
}

void
fw_chain_delete_at(struct fw_chain *c, uint32_t pos)
{
	memmove(&c->rules[pos], &c->rules[pos + 1],
	    (size_t)(c->n_rules - pos - 1) * sizeof(*c->rules));
	c->n_rules--;
}

void
fw_chain_remove(struct fw_table *tab, uint32_t idx)
{
	free(tab->chains[idx].rules);
	memmove(&tab->chains[idx], &tab->chains[idx + 1],
	    (tab->n_chains - idx - 1) * sizeof(*tab->chains));
	tab->n_chains--;
}

bool
fw_chain_is_referenced(const struct fw_table *tab, const char *name)
{
	for (uint32_t i = 0; i < tab->n_chains; i++)
		for (uint32_t j = 0; j < tab->chains[i].n_rules; j++) {
			const struct fw_target *tg = &tab->chains[i].rules[j].target;

			if ((tg->kind == FW_T_JUMP || tg->kind == FW_T_GOTO) &&
			    strcmp(tg->chain, name) == 0)
				return true;
		}
	return false;
}

bool
fw_rule_equal(const struct fw_rule *a, const struct fw_rule *b)
{
	/* Rules are zeroed before they are filled and copied with
	 * memcpy(), so padding is zero and memcmp() is exact. The
	 * bookkeeping fields are last and skipped. */
	return memcmp(a, b, offsetof(struct fw_rule, pkts)) == 0;
}

bool
fw_ruleset_equal(const struct fw_ruleset *a, const struct fw_ruleset *b)
{
	if (a->family != b->family)
		return false;
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *ta = &a->tables[t], *tb = &b->tables[t];

		if (ta->n_chains != tb->n_chains)
			return false;
		for (uint32_t i = 0; i < ta->n_chains; i++) {
			const struct fw_chain *ca = &ta->chains[i];
			const struct fw_chain *cb = &tb->chains[i];

			if (strcmp(ca->name, cb->name) != 0 ||
			    ca->policy != cb->policy || ca->n_rules != cb->n_rules)
				return false;
			for (uint32_t j = 0; j < ca->n_rules; j++)
				if (!fw_rule_equal(&ca->rules[j], &cb->rules[j]))
					return false;
		}
	}
	return true;
}

/* A deep copy of table from into *to (empty, its arrays unallocated). */
static int
table_copy(struct fw_table *to, const struct fw_table *from)
{
	uint32_t cap = HG_MAX(from->n_chains, 16u);

	memset(to, 0, sizeof(*to));
	/* At least 16 chains, so fw_table_reset() fits without growing. */
	to->chains = calloc(cap, sizeof(*to->chains));
	if (to->chains == NULL)
		return -ENOMEM;
	to->cap_chains = cap;
	for (uint32_t i = 0; i < from->n_chains; i++) {
		const struct fw_chain *fc = &from->chains[i];
		struct fw_chain *tc = &to->chains[i];

		*tc = *fc;
		tc->rules = NULL;
		tc->n_rules = tc->cap_rules = 0;
		to->n_chains = i + 1;
		if (fc->n_rules == 0)
			continue;
		tc->rules = malloc((size_t)fc->n_rules * sizeof(*tc->rules));
		if (tc->rules == NULL)
			return -ENOMEM;
		memcpy(tc->rules, fc->rules, (size_t)fc->n_rules *
		    sizeof(*tc->rules));
		tc->n_rules = tc->cap_rules = fc->n_rules;
	}
	return 0;
}

static void
table_free(struct fw_table *tab)
{
	for (uint32_t i = 0; i < tab->n_chains; i++)
		free(tab->chains[i].rules);
	free(tab->chains);
	memset(tab, 0, sizeof(*tab));
}

int
fw_ruleset_keep_unnamed(struct fw_ruleset *rs, const struct fw_ruleset *live)
{
	struct fw_table copies[FW_TABLE_COUNT];
	int rc = 0;

	if (rs->family != live->family)
		return -EINVAL;
	/* Copy first, swap after: on -ENOMEM rs is as it was. */
	memset(copies, 0, sizeof(copies));
	for (int t = 0; t < FW_TABLE_COUNT && rc == 0; t++)
		if (!(rs->named & (1u << t)))
			rc = table_copy(&copies[t], &live->tables[t]);
	if (rc != 0) {
		for (int t = 0; t < FW_TABLE_COUNT; t++)
			table_free(&copies[t]);
		return rc;
	}
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		if (rs->named & (1u << t))
			continue;
		table_free(&rs->tables[t]);
		rs->tables[t] = copies[t];
	}
	return 0;
}

/* --- interfaces the appliance does not have ------------------------- */

static bool
iface_known(const char *name, bool wildcard, const char *const *known,
    size_t n_known)
{
	for (size_t i = 0; i < n_known; i++)
		if (known[i] != NULL &&
		    fw_iface_match(name, wildcard, known[i]))
			return true;
	return false;
}

static void
iface_check(const struct fw_rule *r, uint8_t table, const char *opt,
    const char *name, bool wildcard, uint16_t col, const char *const *known,
    size_t n_known, struct fw_iface_ref *out, size_t max, size_t *n)
{
	struct fw_iface_ref *ref;
	struct fw_suggest sg;
	char stem[FW_IFNAME_MAX];
	size_t len;

	if (name[0] == '\0' || iface_known(name, wildcard, known, n_known))
		return;
	if ((*n)++ >= max)
		return;
	ref = &out[*n - 1];
	memset(ref, 0, sizeof(*ref));
	ref->line = r->line;
	ref->col = col;
	ref->table = table;
	snprintf(ref->opt, sizeof(ref->opt), "%s", opt);
	snprintf(ref->name, sizeof(ref->name), "%s", name);
	/* A wildcard is compared without its '+'; what comes back is then
	 * a name it was meant to match, which says enough. */
	snprintf(stem, sizeof(stem), "%s", name);
	len = strlen(stem);
	if (wildcard && len > 0 && stem[len - 1] == '+')
		stem[len - 1] = '\0';
	fw_suggest_init(&sg, stem);
	for (size_t i = 0; i < n_known; i++)
		fw_suggest_try(&sg, known[i]);
	if (sg.best != NULL)
		snprintf(ref->suggest, sizeof(ref->suggest), "%s", sg.best);
}

size_t
fw_ruleset_unknown_ifaces(const struct fw_ruleset *rs,
    const char *const *known, size_t n_known, struct fw_iface_ref *out,
    size_t max)
{
	size_t n = 0;

	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &rs->tables[t];

		for (uint32_t i = 0; i < tab->n_chains; i++)
			for (uint32_t j = 0; j < tab->chains[i].n_rules; j++) {
				const struct fw_rule *r = &tab->chains[i].rules[j];

				iface_check(r, (uint8_t)t, "-i", r->in.name,
				    r->in.wildcard, r->in_col, known, n_known,
				    out, max, &n);
				iface_check(r, (uint8_t)t, "-o", r->out.name,
				    r->out.wildcard, r->out_col, known,
				    n_known, out, max, &n);
				if (r->target.kind == FW_T_COPY)
					iface_check(r, (uint8_t)t, "--from",
					    r->target.copy_from, false,
					    r->from_col, known, n_known, out,
					    max, &n);
			}
	}
	return n;
}

int
fw_iface_ref_format(const struct fw_iface_ref *ref, const char *const *known,
    size_t n_known, char *buf, size_t size)
{
	char raw[512], list[256];
	size_t off = 0;
	int w;

	list[0] = '\0';
	for (size_t i = 0; i < n_known && off < sizeof(list); i++) {
		w = snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", known[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (strchr(ref->name, '+') != NULL)
		w = snprintf(raw, sizeof(raw), "%s %s: no interface name "
		    "starts with \"%.*s\" (interfaces: %s); the rule is kept",
		    ref->opt, ref->name, (int)strlen(ref->name) - 1, ref->name,
		    n_known ? list : "none");
	else
		w = snprintf(raw, sizeof(raw), "%s %s: no interface \"%s\" "
		    "(%s%s%sinterfaces: %s); the rule is kept", ref->opt,
		    ref->name, ref->name, ref->suggest[0] ? "did you mean \"" :
		    "", ref->suggest, ref->suggest[0] ? "\"? " : "",
		    n_known ? list : "none");
	if (w < 0)
		w = 0;
	/* Names come from the rule text: anything but '/' and blanks. */
	(void)fw_text_escape(buf, size, raw, HG_MIN((size_t)w,
	    sizeof(raw) - 1));
	return w;
}
