/*
 * src/fw/carry.c: counters that outlive a program.  A rule set is swapped
 * whole for every change (an added rule, a restore, a reload), and each
 * program counts in its own per-worker slices; what a user reads must
 * not go back to zero for it.
 *
 *  - fw_prog_carry(): the verdict counters (how packets were decided,
 *    "show firewall", /metrics) are the program's own plus a base handed
 *    on from the program it replaced, once that one is quiet.  Nothing
 *    on the data path changes: workers count in their slices as before.
 *  - fw_ruleset_carry_counters(), fw_prog_carry_rules(): a rule set read
 *    from files (a reload) has no counters; a rule whose text did not
 *    change keeps its own.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

void
fw_prog_carry(struct fw_prog *to, const struct fw_prog *from)
{
	struct fw_prog_stats st;

	if (to == NULL || from == NULL || to == from || to->carried)
		return;
	/* from's totals include its own base: the sum of every program
	 * before it. */
	fw_prog_stats(from, &st);
	for (int h = 0; h < FW_HOOK_COUNT; h++)
		for (int y = 0; y < FW_WHY_COUNT; y++)
			to->base_verdicts[h][y] += st.verdicts[h][y];
	to->base_log_suppressed += st.log_suppressed;
	to->carried = true;
}

/* A rule's hash over exactly what fw_rule_equal() compares. */
static uint64_t
rule_hash(const struct fw_rule *r)
{
	const uint8_t *b = (const uint8_t *)r;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < offsetof(struct fw_rule, pkts); i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

struct old_rule {
	uint64_t hash;
	uint32_t idx;		/* in the old chain */
	bool taken;
};

static int
old_rule_cmp(const void *a, const void *b)
{
	const struct old_rule *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first old rule not taken yet equal to r, by hash then in order. */
static struct old_rule *
old_rule_find(struct old_rule *o, uint32_t n, const struct fw_chain *oc,
    const struct fw_rule *r)
{
	uint64_t h = rule_hash(r);
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (o[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && o[lo].hash == h; lo++)
		if (!o[lo].taken && fw_rule_equal(&oc->rules[o[lo].idx], r))
			return &o[lo];
	return NULL;
}

static int
carry_chain(struct fw_chain *c, const struct fw_chain *oc)
{
	struct old_rule *o;

	if (c->builtin && c->pkts == 0 && c->bytes == 0) {
		c->pkts = oc->pkts;
		c->bytes = oc->bytes;
	}
	if (c->n_rules == 0 || oc->n_rules == 0)
		return 0;
	o = malloc(oc->n_rules * sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < oc->n_rules; i++)
		o[i] = (struct old_rule){ rule_hash(&oc->rules[i]), i, false };
	qsort(o, oc->n_rules, sizeof(*o), old_rule_cmp);
	for (uint32_t i = 0; i < c->n_rules; i++) {
		struct fw_rule *r = &c->rules[i];
		struct old_rule *m;

		if (r->pkts != 0 || r->bytes != 0)
			continue;
		if ((m = old_rule_find(o, oc->n_rules, oc, r)) == NULL)
			continue;
		m->taken = true;
		r->pkts = oc->rules[m->idx].pkts;
		r->bytes = oc->rules[m->idx].bytes;
	}
	free(o);
	return 0;
}

int
fw_ruleset_carry_counters(struct fw_ruleset *rs, const struct fw_prog *live)
{
	struct fw_ruleset *old;
	int rc = 0;

	if (live == NULL || rs->family != live->family)
		return 0;
	if ((old = fw_prog_ruleset(live)) == NULL)
		return -ENOMEM;
	for (int t = 0; t < FW_TABLE_COUNT && rc == 0; t++) {
		struct fw_table *tb = &rs->tables[t];

		for (uint32_t i = 0; i < tb->n_chains && rc == 0; i++) {
			const struct fw_chain *oc = fw_ruleset_chain(old,
			    (enum fw_table_id)t, tb->chains[i].name);

			if (oc != NULL)
				rc = carry_chain(&tb->chains[i], oc);
		}
	}
	fw_ruleset_free(old);
	return rc;
}

int
fw_prog_carry_rules(struct fw_prog *to, const struct fw_prog *live)
{
	/* A compiled program's rule counters are its kept rule set's plus
	 * what its workers count: the base may change until it runs. */
	if (to == NULL || live == NULL || to == live)
		return 0;
	return fw_ruleset_carry_counters(to->rs, live);
}
