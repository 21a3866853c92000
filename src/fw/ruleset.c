/*
 * src/fw/ruleset.c: the rule set container: tables of chains of rules,
 * with the built-in and customer chains every rule set has. Chains and
 * rules are growable arrays; the parser is their only writer.
 */
#include <errno.h>
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
