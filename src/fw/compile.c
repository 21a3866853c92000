/*
 * src/fw/compile.c: turns a parsed rule set into the immutable program
 * fw_eval() runs (fw.h "Compiled rule sets"). Names become indexes here,
 * once, so the data plane never compares a string: jump targets become
 * chain ids, -i/-o become masks over interface indexes, sets become
 * registry slots. Jump loops and nesting too deep for the evaluator's
 * fixed stack are refused with the rule's line.
 *
 * The program keeps a copy of the rule set: fw_prog_ruleset() hands it
 * back with live counters, and fw_prog_rule_at() names a rule from it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../pkt/pkt.h"
#include "classify.h"
#include "fw_priv.h"
#include "set.h"

/* Ids of chains by name, sorted, for the jump targets of one table. */
struct chain_name {
	const char *name;
	uint32_t id;
};

struct comp {
	const struct fw_ruleset *rs;
	const struct fw_compile_env *env;
	struct fw_prog *prog;
	struct fw_errs *errs;
	unsigned n_err;				/* also when errs is NULL */
	uint32_t table_base[FW_TABLE_COUNT];	/* chain id of chain 0 */
	struct chain_name *names[FW_TABLE_COUNT];
	/* Loop and depth check. */
	uint8_t *color;
	uint32_t *depth;
	uint32_t *path;
	uint32_t n_path;
};

static const uint64_t limit_unit_ns[] = {
	[FW_LIMIT_SEC] = 1000000000ull,
	[FW_LIMIT_MIN] = 60 * 1000000000ull,
	[FW_LIMIT_HOUR] = 3600 * 1000000000ull,
	[FW_LIMIT_DAY] = 86400 * 1000000000ull,
};

/*
 * An error about rule r of chain c: its line, and as the text the rule
 * as iptables-save prints it (the source line is gone by now), with the
 * span on its target.
 */
static void HG_PRINTF(4, 5)
comp_err(struct comp *cc, const struct fw_chain *c, const struct fw_rule *r,
    const char *fmt, ...)
{
	char text[FW_RULE_TEXT_MAX];
	struct fw_err *e;
	const char *tgt;
	va_list ap;
	int n;

	cc->n_err++;
	if (cc->errs == NULL || cc->errs->n++ >= FW_ERR_MAX)
		return;
	e = &cc->errs->e[cc->errs->n - 1];
	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (r == NULL)
		return;
	e->line = r->line;
	n = snprintf(text, sizeof(text), "-A %s ", c->name);
	if (n > 0 && (size_t)n < sizeof(text))
		(void)fw_rule_format(r, text + n, sizeof(text) - (size_t)n);
	n = (int)strnlen(text, sizeof(e->text) - 1);
	memcpy(e->text, text, (size_t)n);
	e->text[n] = '\0';
	e->col_first = e->col_last = 1;
	tgt = strstr(e->text, " -j ");
	if (tgt == NULL)
		tgt = strstr(e->text, " -g ");
	if (tgt != NULL) {
		e->col_first = (uint16_t)(tgt - e->text + 2);
		e->col_last = (uint16_t)strlen(e->text);
	}
}

bool
fw_iface_match(const char *pattern, bool wildcard, const char *name)
{
	size_t n = strnlen(pattern, FW_IFNAME_MAX);

	if (!wildcard)
		return strncmp(pattern, name, FW_IFNAME_MAX) == 0;
	/* "eth+": the name starts with "eth"; "+" matches every name. */
	return strncmp(pattern, name, n - 1) == 0;
}

/* --- names to indexes ---------------------------------------------------- */

static int
chain_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chain_name *)a)->name,
	    ((const struct chain_name *)b)->name);
}

static int
index_chain_names(struct comp *cc)
{
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &cc->rs->tables[t];
		struct chain_name *cn;

		cn = calloc(tab->n_chains ? tab->n_chains : 1, sizeof(*cn));
		if (cn == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < tab->n_chains; i++) {
			cn[i].name = tab->chains[i].name;
			cn[i].id = cc->table_base[t] + i;
		}
		qsort(cn, tab->n_chains, sizeof(*cn), chain_name_cmp);
		cc->names[t] = cn;
	}
	return 0;
}

static uint32_t
find_chain(const struct comp *cc, enum fw_table_id t, const char *name)
{
	struct chain_name key = { .name = name }, *hit;

	hit = bsearch(&key, cc->names[t], cc->rs->tables[t].n_chains,
	    sizeof(key), chain_name_cmp);
	return hit == NULL ? FW_CHAIN_NONE : hit->id;
}

static uint64_t
iface_mask(const struct comp *cc, const struct fw_iface *ifc)
{
	const struct fw_prog *prog = cc->prog;
	uint64_t m = 0;

	for (uint16_t i = 0; i < prog->n_if && i < 64; i++)
		if (fw_iface_match(ifc->name, ifc->wildcard, prog->if_names[i]))
			m |= 1ull << i;
	return m;
}

/* Looks a set up and holds it for the program's life. */
static uint32_t
use_set(struct comp *cc, const struct fw_chain *c, const struct fw_rule *r,
    const char *name)
{
	struct fw_prog *prog = cc->prog;
	const struct fw_set *s;
	uint32_t id;

	id = cc->env->sets == NULL ? FW_SET_NONE :
	    fw_sets_find(cc->env->sets, name);
	if (id == FW_SET_NONE) {
		comp_err(cc, c, r, "no set named \"%s\"", name);
		return FW_SET_NONE;
	}
	s = fw_sets_get(cc->env->sets, id);
	if (s != NULL && fw_set_type(s) <= FW_SET_HASH_IP_PORT &&
	    fw_set_family(s) != cc->rs->family) {
		comp_err(cc, c, r, "set \"%s\" holds IPv%u addresses; this "
		    "rule set is IPv%u", name, fw_set_family(s),
		    cc->rs->family);
		return FW_SET_NONE;
	}
	fw_sets_ref(cc->env->sets, id);
	prog->set_ids[prog->n_set_ids++] = id;
	return id;
}

static enum fw_set_type
set_type(const struct comp *cc, uint32_t id)
{
	const struct fw_set *s = fw_sets_get(cc->env->sets, id);

	return s == NULL ? FW_SET_LIST_SET : fw_set_type(s);
}

/* --- one rule ------------------------------------------------------------ */

static void
comp_addrs(struct comp *cc, const struct fw_chain *c, const struct fw_rule *r,
    const struct fw_addr_list *al, struct fw_crule *cr, bool dst)
{
	struct fw_prog *prog = cc->prog;
	uint32_t id;

	if (al->set[0] != '\0') {
		id = use_set(cc, c, r, al->set);
		if (id != FW_SET_NONE) {
			enum fw_set_type ty = set_type(cc, id);

			if (ty == FW_SET_HASH_IP_PORT || ty == FW_SET_BITMAP_PORT)
				comp_err(cc, c, r, "set \"%s\" is %s; ${NAME} "
				    "needs a set of addresses", al->set,
				    fw_set_type_name(ty));
		}
		cr->chk |= dst ? FW_CK_DST_SET : FW_CK_SRC_SET;
		if (dst)
			cr->dst = id;
		else
			cr->src = id;
	} else if (al->n > 0) {
		/* The parser never stores more; a hand-made rule might. */
		uint8_t n = HG_MIN(al->n, FW_ADDRS_MAX);

		cr->chk |= dst ? FW_CK_DST : FW_CK_SRC;
		if (dst) {
			cr->dst = prog->n_addrs;
			cr->dst_n = n;
		} else {
			cr->src = prog->n_addrs;
			cr->src_n = n;
		}
		memcpy(&prog->addrs[prog->n_addrs], al->a, n * sizeof(al->a[0]));
		prog->n_addrs += n;
	} else {
		return;
	}
	if (al->neg)
		cr->neg |= dst ? FW_CK_DST | FW_CK_DST_SET :
		    FW_CK_SRC | FW_CK_SRC_SET;
}

static void
comp_ext(struct comp *cc, const struct fw_chain *c, const struct fw_rule *r,
    struct fw_crule *cr)
{
	struct fw_prog *prog = cc->prog;
	struct fw_cext *x;
	bool need = r->n_matches > 0 || r->target.kind == FW_T_LOG ||
	    r->in.name[0] != '\0' || r->out.name[0] != '\0';

	if (!need)
		return;
	cr->ext = prog->n_ext;
	x = &prog->ext[prog->n_ext++];
	memset(x, 0, sizeof(*x));
	memcpy(x->in, r->in.name, sizeof(x->in));
	memcpy(x->out, r->out.name, sizeof(x->out));
	x->in_wild = r->in.wildcard;
	x->out_wild = r->out.wildcard;
	x->log_level = r->target.log_level;
	x->log_flags = r->target.log_flags;
	memcpy(x->log_prefix, r->target.log_prefix, sizeof(x->log_prefix));
	x->set_id = FW_SET_NONE;
	for (unsigned i = 0; i < r->n_matches && i < FW_M_COUNT; i++) {
		enum fw_match_kind k = r->match_order[i];

		/* A comment matches everything: not worth a turn. */
		if (k == FW_M_COMMENT)
			continue;
		x->mods[x->n_mods++] = (uint8_t)k;
		switch (k) {
		case FW_M_TCP:
			x->ports = r->tcp;
			break;
		case FW_M_UDP:
			x->ports = r->udp;
			break;
		case FW_M_ICMP:
		case FW_M_ICMP6:
			x->icmp = r->icmp;
			break;
		case FW_M_MULTIPORT:
			x->multiport = r->multiport;
			break;
		case FW_M_CONNTRACK:
			x->ct = r->ct;
			break;
		case FW_M_STATE:
			x->state = r->state;
			break;
		case FW_M_IPRANGE:
			x->iprange = r->iprange;
			break;
		case FW_M_LIMIT: {
			struct fw_climit *l = &prog->limits[prog->n_limits];
			uint8_t u = r->limit.unit < HG_ARRAY_SIZE(limit_unit_ns) ?
			    r->limit.unit : FW_LIMIT_SEC;
			uint32_t rate = r->limit.rate ? r->limit.rate : 1;
			uint32_t burst = r->limit.burst ? r->limit.burst : 1;

			/* xt_limit: the bucket starts full (burst packets)
			 * and refills one packet every unit / rate. */
			x->limit = prog->n_limits++;
			l->tat_ns = 0;
			l->cost_ns = limit_unit_ns[u] / rate;
			l->cap_ns = l->cost_ns * burst;
			break;
		}
		case FW_M_MAC:
			x->mac = r->mac;
			break;
		case FW_M_SET:
			x->set = r->set;
			x->set_id = use_set(cc, c, r, r->set.name);
			if (x->set_id != FW_SET_NONE &&
			    set_type(cc, x->set_id) == FW_SET_HASH_IP_PORT &&
			    r->set.n_dims < 2)
				comp_err(cc, c, r, "set \"%s\" is hash:ip,port: "
				    "--match-set needs two directions (e.g. "
				    "src,dst)", r->set.name);
			break;
		case FW_M_LENGTH:
			x->length = r->length;
			break;
		case FW_M_TTL:
		case FW_M_HL:
			x->ttl = r->ttl;
			break;
		case FW_M_PKTTYPE:
			x->pkttype = r->pkttype;
			break;
		case FW_M_TCPMSS:
			x->tcpmss = r->tcpmss;
			break;
		case FW_M_COMMENT:
		case FW_M_COUNT:
			break;
		}
	}
	if (x->n_mods > 0)
		cr->chk |= FW_CK_EXT;
}

static void
comp_rule(struct comp *cc, enum fw_table_id t, const struct fw_chain *c,
    const struct fw_rule *r, struct fw_crule *cr)
{
	memset(cr, 0, sizeof(*cr));
	cr->ext = FW_RULE_NONE;
	cr->jump = FW_CHAIN_NONE;
	cr->target = r->target.kind;
	cr->reject_with = r->target.reject_with;
	if (r->family != cc->rs->family)
		cr->chk |= FW_CK_NEVER;
	if (r->has_proto) {
		cr->chk |= FW_CK_PROTO;
		cr->proto = r->proto;
		if (r->proto_neg)
			cr->neg |= FW_CK_PROTO;
	}
	if (r->frag) {
		cr->chk |= FW_CK_FRAG;
		if (r->frag_neg)
			cr->neg |= FW_CK_FRAG;
	}
	if (r->in.name[0] != '\0') {
		cr->chk |= FW_CK_IN;
		cr->in_mask = iface_mask(cc, &r->in);
		if (r->in.neg)
			cr->neg |= FW_CK_IN;
	}
	if (r->out.name[0] != '\0') {
		cr->chk |= FW_CK_OUT;
		cr->out_mask = iface_mask(cc, &r->out);
		if (r->out.neg)
			cr->neg |= FW_CK_OUT;
	}
	comp_addrs(cc, c, r, &r->src, cr, false);
	comp_addrs(cc, c, r, &r->dst, cr, true);
	comp_ext(cc, c, r, cr);
	if (r->target.kind == FW_T_JUMP || r->target.kind == FW_T_GOTO) {
		cr->jump = find_chain(cc, t, r->target.chain);
		if (cr->jump == FW_CHAIN_NONE)
			comp_err(cc, c, r, "no chain \"%s\" in table %s",
			    r->target.chain, fw_table_name(t));
		else if (cc->rs->tables[t].chains[cr->jump -
		    cc->table_base[t]].builtin)
			comp_err(cc, c, r, "cannot jump to built-in chain "
			    "\"%s\"", r->target.chain);
	}
}

/* --- jump loops and depth ------------------------------------------------ */

enum { WHITE, GREY, BLACK };

static const struct fw_chain *
ir_chain(const struct comp *cc, uint32_t id, const struct fw_rule **rules)
{
	const struct fw_cchain *ch = &cc->prog->chains[id];
	const struct fw_chain *c = &cc->rs->tables[ch->table].chains[ch->pos];

	if (rules != NULL)
		*rules = c->rules;
	return c;
}

/* "A -> B -> A": the chains on the path from `from` to the loop's end. */
static void
loop_path(const struct comp *cc, uint32_t to, char *buf, size_t size)
{
	size_t off = 0;
	uint32_t i = 0;
	int n;

	while (i < cc->n_path && cc->path[i] != to)
		i++;
	buf[0] = '\0';
	for (; i < cc->n_path && off < size; i++) {
		n = snprintf(buf + off, size - off, "%s -> ",
		    ir_chain(cc, cc->path[i], NULL)->name);
		if (n < 0)
			return;
		off += (size_t)n;
	}
	if (off < size)
		snprintf(buf + off, size - off, "%s", ir_chain(cc, to, NULL)->name);
}

/*
 * Depth-first walk of the jumps out of chain id: a jump into a chain
 * still on the walk's path is a loop. depth[id] is how many stack frames
 * the chain's calls need below it: a -j pushes one, a -g replaces the
 * caller's, as in iptables.
 */
static void
check_chain(struct comp *cc, uint32_t id)
{
	const struct fw_cchain *ch = &cc->prog->chains[id];
	const struct fw_rule *rules;
	const struct fw_chain *c = ir_chain(cc, id, &rules);
	uint32_t d = 0;

	cc->color[id] = GREY;
	cc->path[cc->n_path++] = id;
	for (uint32_t i = 0; i < ch->n; i++) {
		const struct fw_crule *cr = &cc->prog->rules[ch->first + i];
		uint32_t to = cr->jump, sub;
		bool push = cr->target == FW_T_JUMP;
		char path[FW_ERR_MSG_MAX];

		if (to == FW_CHAIN_NONE)
			continue;
		if (cc->color[to] == GREY) {
			loop_path(cc, to, path, sizeof(path));
			comp_err(cc, c, &rules[i], "jump loop: %s", path);
			continue;
		}
		if (cc->color[to] == WHITE)
			check_chain(cc, to);
		sub = cc->depth[to];
		if (push && sub == FW_JUMP_DEPTH_MAX)
			comp_err(cc, c, &rules[i], "chain %s -> %s nests user "
			    "chains %u deep; the limit is %u", c->name,
			    ir_chain(cc, to, NULL)->name, sub + 1,
			    FW_JUMP_DEPTH_MAX);
		sub += push;
		if (sub > d)
			d = sub;
	}
	cc->n_path--;
	cc->depth[id] = d;
	cc->color[id] = BLACK;
}

static int
check_jumps(struct comp *cc)
{
	uint32_t n = cc->prog->n_chains;

	cc->color = calloc(n ? n : 1, sizeof(*cc->color));
	cc->depth = calloc(n ? n : 1, sizeof(*cc->depth));
	cc->path = calloc(n ? n : 1, sizeof(*cc->path));
	if (cc->color == NULL || cc->depth == NULL || cc->path == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (cc->color[i] == WHITE)
			check_chain(cc, i);
	return 0;
}

/* --- the kept rule set --------------------------------------------------- */

/* A deep copy fw_ruleset_free() can free: the arrays are laid out as
 * ruleset.c grows them (chains at least 16, so fw_table_reset() fits). */
static struct fw_ruleset *
ruleset_copy(const struct fw_ruleset *rs)
{
	struct fw_ruleset *cp;

	cp = calloc(1, sizeof(*cp));
	if (cp == NULL)
		return NULL;
	cp->family = rs->family;
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *from = &rs->tables[t];
		struct fw_table *to = &cp->tables[t];
		uint32_t cap = HG_MAX(from->n_chains, 16u);

		to->chains = calloc(cap, sizeof(*to->chains));
		if (to->chains == NULL)
			goto fail;
		to->cap_chains = cap;
		for (uint32_t i = 0; i < from->n_chains; i++) {
			const struct fw_chain *fc = &from->chains[i];
			struct fw_chain *tc = &to->chains[i];

			*tc = *fc;
			tc->rules = NULL;
			tc->cap_rules = 0;
			to->n_chains = i + 1;
			if (fc->n_rules == 0) {
				tc->n_rules = 0;
				continue;
			}
			tc->rules = malloc((size_t)fc->n_rules * sizeof(*tc->rules));
			if (tc->rules == NULL) {
				tc->n_rules = 0;
				goto fail;
			}
			memcpy(tc->rules, fc->rules,
			    (size_t)fc->n_rules * sizeof(*tc->rules));
			tc->cap_rules = fc->n_rules;
		}
	}
	return cp;
fail:
	fw_ruleset_free(cp);
	return NULL;
}

/* --- the program --------------------------------------------------------- */

static int
prog_alloc(struct comp *cc)
{
	const struct fw_ruleset *rs = cc->rs;
	const struct fw_compile_env *env = cc->env;
	struct fw_prog *prog = cc->prog;
	uint32_t n_rules = 0, n_chains = 0, n_addrs = 0, n_ext = 0, n_sets = 0;
	uint32_t n_limits = 0;

	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &rs->tables[t];

		cc->table_base[t] = n_chains;
		n_chains += tab->n_chains;
		for (uint32_t i = 0; i < tab->n_chains; i++) {
			const struct fw_chain *c = &tab->chains[i];

			n_rules += c->n_rules;
			for (uint32_t j = 0; j < c->n_rules; j++) {
				const struct fw_rule *r = &c->rules[j];

				n_addrs += HG_MIN(r->src.n, FW_ADDRS_MAX) +
				    HG_MIN(r->dst.n, FW_ADDRS_MAX);
				n_ext++;
				n_sets += (r->src.set[0] != '\0') +
				    (r->dst.set[0] != '\0') + 1;
				for (unsigned k = 0; k < r->n_matches &&
				    k < FW_M_COUNT; k++)
					n_limits += r->match_order[k] == FW_M_LIMIT;
			}
		}
	}
	/* Room for the rules edits add (fw_prog_edit()). */
	n_addrs += n_addrs / 4 + 2 * FW_ADDRS_MAX * 16;
	n_ext += n_ext / 4 + 64;
	prog->share = calloc(1, sizeof(*prog->share));
	if (prog->share == NULL)
		return -ENOMEM;
	prog->share->refs = 1;
	prog->share->cap_addrs = n_addrs;
	prog->share->cap_ext = n_ext;
	prog->n_chains = n_chains;
	prog->rules = calloc(n_rules ? n_rules : 1, sizeof(*prog->rules));
	prog->rule_chain = calloc(n_rules ? n_rules : 1, sizeof(uint32_t));
	prog->chains = calloc(n_chains ? n_chains : 1, sizeof(*prog->chains));
	prog->addrs = calloc(n_addrs ? n_addrs : 1, sizeof(*prog->addrs));
	prog->ext = calloc(n_ext ? n_ext : 1, sizeof(*prog->ext));
	prog->set_ids = calloc(n_sets ? n_sets : 1, sizeof(uint32_t));
	prog->limits = aligned_alloc(HG_CACHE_LINE,
	    (n_limits ? n_limits : 1) * sizeof(*prog->limits));
	prog->known = calloc(env->n_known ? env->n_known : 1,
	    sizeof(*prog->known));
	prog->known_if = calloc(env->n_known ? env->n_known : 1,
	    sizeof(*prog->known_if));
	prog->peers = calloc(env->n_peers ? env->n_peers : 1,
	    sizeof(*prog->peers));
	prog->if_names = calloc(env->n_if ? env->n_if : 1, FW_IFNAME_MAX);
	if (prog->rules == NULL || prog->rule_chain == NULL ||
	    prog->chains == NULL || prog->addrs == NULL || prog->ext == NULL ||
	    prog->set_ids == NULL || prog->limits == NULL ||
	    prog->known == NULL || prog->known_if == NULL ||
	    prog->peers == NULL ||
	    prog->if_names == NULL)
		return -ENOMEM;
	prog->n_rules = n_rules;
	return 0;
}

static void
copy_env(struct fw_prog *prog, const struct fw_compile_env *env)
{
	prog->n_if = env->n_if;
	for (uint16_t i = 0; i < env->n_if; i++) {
		memcpy(prog->if_names[i], env->if_names[i], FW_IFNAME_MAX);
		prog->if_names[i][FW_IFNAME_MAX - 1] = '\0';
	}
	prog->n_known = env->n_known;
	for (uint32_t i = 0; i < env->n_known; i++) {
		prog->known[i] = env->known[i];
		prog->known_if[i] = env->known_if != NULL ?
		    env->known_if[i] : FW_IF_NONE;
		for (int b = 0; b < 16; b++)
			prog->known[i].addr[b] &= prog->known[i].mask[b];
	}
	prog->n_peers = env->n_peers;
	prog->overlay_port = env->overlay_port;
	if (env->n_peers > 0)
		memcpy(prog->peers, env->peers,
		    env->n_peers * sizeof(*prog->peers));
	prog->sets = env->sets;
	prog->n_workers = env->n_workers ? env->n_workers : 1;
}

static void
comp_chains(struct comp *cc)
{
	struct fw_prog *prog = cc->prog;
	uint32_t at = 0;

	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &cc->rs->tables[t];

		for (uint32_t i = 0; i < tab->n_chains; i++) {
			struct fw_cchain *ch = &prog->chains[cc->table_base[t] + i];

			ch->first = at;
			ch->n = tab->chains[i].n_rules;
			ch->table = (uint8_t)t;
			ch->policy = tab->chains[i].builtin ?
			    tab->chains[i].policy : FW_POLICY_NONE;
			ch->pos = i;
			at += ch->n;
		}
	}
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &cc->rs->tables[t];

		for (uint32_t i = 0; i < tab->n_chains; i++) {
			const struct fw_chain *c = &tab->chains[i];
			uint32_t id = cc->table_base[t] + i;
			uint32_t first = prog->chains[id].first;

			for (uint32_t j = 0; j < c->n_rules; j++) {
				comp_rule(cc, t, c, &c->rules[j],
				    &prog->rules[first + j]);
				prog->rule_chain[first + j] = id;
			}
		}
	}
}

/* The data plane runs every COPY rule it is given: refuse more than it
 * can run rather than leave some out. */
static void
check_copies(struct comp *cc)
{
	const struct fw_table *tab = &cc->rs->tables[FW_TABLE_FILTER];
	unsigned n = 0;

	for (uint32_t i = 0; i < tab->n_chains; i++) {
		const struct fw_chain *c = &tab->chains[i];

		for (uint32_t j = 0; j < c->n_rules; j++)
			if (c->rules[j].target.kind == FW_T_COPY &&
			    ++n == FW_COPY_RULES_MAX + 1)
				comp_err(cc, c, &c->rules[j], "more than %d COPY "
				    "rules in one rule set", FW_COPY_RULES_MAX);
	}
}

static void
find_hooks(struct comp *cc)
{
	static const char *const names[FW_HOOK_COUNT][2] = {
		[FW_HOOK_INPUT] = { "INPUT", "INPUT_CUST" },
		[FW_HOOK_FORWARD] = { "FORWARD", "FORWARD_CUST" },
		[FW_HOOK_OUTPUT] = { "OUTPUT", "OUTPUT_CUST" },
	};

	static const char *const nat_names[FW_NAT_HOOK_COUNT][2] = {
		[FW_NAT_PREROUTING] = { "PREROUTING", "PREROUTING_CUST" },
		[FW_NAT_POSTROUTING] = { "POSTROUTING", "POSTROUTING_CUST" },
	};
	struct fw_prog *prog = cc->prog;

	for (int h = 0; h < FW_HOOK_COUNT; h++) {
		prog->hook_chain[h] = find_chain(cc, FW_TABLE_FILTER, names[h][0]);
		prog->hook_cust[h] = find_chain(cc, FW_TABLE_FILTER, names[h][1]);
	}
	for (int h = 0; h < FW_NAT_HOOK_COUNT; h++) {
		prog->nat_chain[h] = find_chain(cc, FW_TABLE_NAT,
		    nat_names[h][0]);
		prog->nat_cust[h] = find_chain(cc, FW_TABLE_NAT,
		    nat_names[h][1]);
	}
}

static int
alloc_counters(struct fw_prog *prog)
{
	size_t sz;

	sz = sizeof(struct fw_cslice) +
	    (size_t)prog->n_rules * sizeof(struct fw_ccount);
	sz = (sz + HG_CACHE_LINE - 1) & ~(size_t)(HG_CACHE_LINE - 1);
	prog->slice_bytes = sz;
	prog->slices = aligned_alloc(HG_CACHE_LINE, sz * prog->n_workers);
	if (prog->slices == NULL)
		return -ENOMEM;
	memset(prog->slices, 0, sz * prog->n_workers);
	return 0;
}

static int
compile(const struct fw_ruleset *rs, struct fw_ruleset *take,
    const struct fw_compile_env *env, struct fw_prog **out,
    struct fw_errs *errs)
{
	static const struct fw_compile_env no_env;
	struct comp cc = { .rs = rs, .env = env ? env : &no_env, .errs = errs };
	struct fw_prog *prog;
	int error;

	*out = NULL;
	if (errs != NULL)
		errs->n = 0;
	if (rs == NULL || (rs->family != FW_IPV4 && rs->family != FW_IPV6))
		return -EINVAL;
	prog = calloc(1, sizeof(*prog));
	if (prog == NULL)
		return -ENOMEM;
	prog->refs = 1;
	cc.prog = prog;
	prog->family = rs->family;
	prog->l3 = rs->family == FW_IPV6 ? PKT_L3_IP6 : PKT_L3_IP4;
	error = prog_alloc(&cc);
	if (error != 0)
		goto fail;
	copy_env(prog, cc.env);
	error = index_chain_names(&cc);
	if (error != 0)
		goto fail;
	comp_chains(&cc);
	find_hooks(&cc);
	check_copies(&cc);
	for (uint32_t i = 0; i < rs->tables[FW_TABLE_NAT].n_chains; i++)
		if (rs->tables[FW_TABLE_NAT].chains[i].n_rules != 0)
			prog->has_nat = true;
	error = check_jumps(&cc);
	if (error != 0)
		goto fail;
	if (cc.n_err > 0) {
		error = -EINVAL;
		goto fail;
	}
	error = alloc_counters(prog);
	if (error != 0)
		goto fail;
	error = fwc_build(prog, &prog->cls);
	if (error != 0)
		goto fail;
	prog->rs = take != NULL ? take : ruleset_copy(rs);
	if (prog->rs == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	*out = prog;
	goto out;
fail:
	fw_prog_free(prog);
out:
	for (int t = 0; t < FW_TABLE_COUNT; t++)
		free(cc.names[t]);
	free(cc.color);
	free(cc.depth);
	free(cc.path);
	return error;
}

int
fw_compile(const struct fw_ruleset *rs, const struct fw_compile_env *env,
    struct fw_prog **out, struct fw_errs *errs)
{
	return compile(rs, NULL, env, out, errs);
}

int
fw_compile_take(struct fw_ruleset *rs, const struct fw_compile_env *env,
    struct fw_prog **out, struct fw_errs *errs)
{
	return compile(rs, rs, env, out, errs);
}

void
fw_prog_free(struct fw_prog *prog)
{
	if (prog == NULL || --prog->refs > 0)
		return;
	free(prog->rules);
	free(prog->rule_chain);
	free(prog->chains);
	free(prog->slices);
	fwc_free(prog->cls);
	free(prog->undo);
	if (prog->share != NULL && --prog->share->refs > 0) {
		free(prog);
		return;
	}
	for (uint32_t i = 0; i < prog->n_set_ids; i++)
		fw_sets_unref(prog->sets, prog->set_ids[i]);
	free(prog->addrs);
	free(prog->ext);
	free(prog->set_ids);
	free(prog->limits);
	free(prog->known);
	free(prog->known_if);
	free(prog->peers);
	free(prog->if_names);
	fw_ruleset_free(prog->rs);
	free(prog->share);
	free(prog);
}

/* --- one rule at a time (fw_prog_edit) ----------------------------------- */

/* What an edit cannot do without a compile: anything holding a set, a
 * limit bucket, a chain id or a COPY session. */
static bool
rule_editable(const struct fw_rule *r)
{
	if (r->target.kind == FW_T_JUMP || r->target.kind == FW_T_GOTO ||
	    r->target.kind == FW_T_COPY)
		return false;
	if (r->src.set[0] != '\0' || r->dst.set[0] != '\0')
		return false;
	for (unsigned i = 0; i < r->n_matches && i < FW_M_COUNT; i++)
		if (r->match_order[i] == FW_M_SET ||
		    r->match_order[i] == FW_M_LIMIT)
			return false;
	return true;
}

static void HG_PRINTF(2, 3)
edit_err(struct fw_errs *errs, const char *fmt, ...)
{
	va_list ap;

	if (errs == NULL)
		return;
	memset(errs, 0, sizeof(*errs));
	errs->n = 1;
	va_start(ap, fmt);
	vsnprintf(errs->e[0].msg, sizeof(errs->e[0].msg), fmt, ap);
	va_end(ap);
}

/* Copies n items of size sz from a to b leaving out (d < 0) or opening
 * (d > 0) one at g. */
static void
copy_edited(void *b, const void *a, size_t n, size_t sz, size_t g, int d)
{
	memcpy(b, a, g * sz);
	if (d > 0)
		memcpy((char *)b + (g + 1) * sz, (const char *)a + g * sz,
		    (n - g) * sz);
	else if (d < 0)
		memcpy((char *)b + g * sz, (const char *)a + (g + 1) * sz,
		    (n - g - 1) * sz);
	else
		memcpy((char *)b + g * sz, (const char *)a + g * sz,
		    (n - g) * sz);
}

int
fw_prog_edit(struct fw_prog *live, enum fw_edit_op op, const char *chain,
    uint32_t pos, const struct fw_rule *rule, struct fw_prog **out,
    struct fw_errs *errs)
{
	struct fw_compile_env env = {
		.n_if = live->n_if,
		.if_names = (const char (*)[FW_IFNAME_MAX])live->if_names,
		.sets = live->sets,
		.n_known = live->n_known,
		.known = live->known,
		.known_if = live->known_if,
		.n_peers = live->n_peers,
		.peers = live->peers,
		.overlay_port = live->overlay_port,
		.n_workers = live->n_workers,
	};
	struct comp cc = { .rs = live->rs, .env = &env, .errs = errs };
	struct fw_table *tab = &live->rs->tables[FW_TABLE_FILTER];
	struct fw_chain *c = NULL;
	struct fw_prog *p;
	uint32_t id = FW_CHAIN_NONE, g, n;
	int d = op == FW_EDIT_INSERT ? 1 : op == FW_EDIT_DELETE ? -1 : 0;
	int error;

	*out = NULL;
	if (errs != NULL)
		errs->n = 0;
	for (uint32_t i = 0; i < live->n_chains; i++) {
		const struct fw_cchain *ch = &live->chains[i];

		if (ch->table == FW_TABLE_FILTER &&
		    strcmp(tab->chains[ch->pos].name, chain) == 0) {
			id = i;
			c = &tab->chains[ch->pos];
		}
	}
	if (c == NULL) {
		/* Maybe a nat chain: a compile knows. */
		if (fw_ruleset_chain(live->rs, FW_TABLE_NAT, chain) != NULL)
			return -ENOTSUP;
		edit_err(errs, "no chain %s in the filter table", chain);
		return -EINVAL;
	}
	n = c->n_rules;
	if (op == FW_EDIT_INSERT && pos == FW_EDIT_APPEND)
		pos = n;
	if (pos > n || (op != FW_EDIT_INSERT && pos == n)) {
		edit_err(errs, "no rule %u in chain %s (it has %u)", pos + 1,
		    chain, n);
		return -EINVAL;
	}
	if ((op != FW_EDIT_DELETE && !rule_editable(rule)) ||
	    (op != FW_EDIT_INSERT && !rule_editable(&c->rules[pos])) ||
	    strcmp(chain, "MACRO_CUST") == 0 ||
	    live->n_addrs + 2 * FW_ADDRS_MAX > live->share->cap_addrs ||
	    live->n_ext + 1 > live->share->cap_ext)
		return -ENOTSUP;

	p = malloc(sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	*p = *live;
	p->refs = 1;
	p->rules = NULL;
	p->rule_chain = NULL;
	p->chains = NULL;
	p->slices = NULL;
	p->cls = NULL;
	p->undo = NULL;
	p->share->refs++;
	cc.prog = p;
	g = live->chains[id].first + pos;
	p->n_rules = (uint32_t)((int64_t)live->n_rules + d);
	p->rules = malloc((p->n_rules ? p->n_rules : 1) * sizeof(*p->rules));
	p->rule_chain = malloc((p->n_rules ? p->n_rules : 1) * sizeof(uint32_t));
	p->chains = malloc(live->n_chains * sizeof(*p->chains));
	p->undo = calloc(1, sizeof(*p->undo));
	if (p->rules == NULL || p->rule_chain == NULL || p->chains == NULL ||
	    p->undo == NULL || alloc_counters(p) != 0) {
		error = -ENOMEM;
		goto fail;
	}
	copy_edited(p->rules, live->rules, live->n_rules, sizeof(*p->rules),
	    g, d);
	copy_edited(p->rule_chain, live->rule_chain, live->n_rules,
	    sizeof(uint32_t), g, d);
	memcpy(p->chains, live->chains, live->n_chains * sizeof(*p->chains));
	p->chains[id].n = (uint32_t)((int64_t)p->chains[id].n + d);
	for (uint32_t i = id + 1; i < live->n_chains; i++)
		p->chains[i].first = (uint32_t)((int64_t)p->chains[i].first + d);
	/* Counters go on: each worker's slice, the edited rule's pair
	 * opened at zero or left out; the verdicts' base came with *live,
	 * so fw_prog_carry() has nothing to add. */
	p->carried = true;
	for (uint16_t w = 0; w < p->n_workers; w++) {
		struct fw_cslice *to = fw_prog_slice(p, w);
		struct fw_cslice *from = fw_prog_slice(live, w);

		memcpy(to, from, sizeof(*to));
		copy_edited(fw_slice_counts(to), fw_slice_counts(from),
		    live->n_rules, sizeof(struct fw_ccount), g, d);
		if (op != FW_EDIT_DELETE)
			memset(&fw_slice_counts(to)[g], 0,
			    sizeof(struct fw_ccount));
	}
	if (op != FW_EDIT_DELETE) {
		comp_rule(&cc, FW_TABLE_FILTER, c, rule, &p->rules[g]);
		p->rule_chain[g] = id;
		if (cc.n_err > 0) {
			error = -EINVAL;
			goto fail;
		}
	}
	error = fwc_edit(live->cls, p, id, op == FW_EDIT_INSERT ? FWC_INSERT :
	    op == FW_EDIT_DELETE ? FWC_DELETE : FWC_REPLACE, pos, &p->cls);
	if (error != 0)
		goto fail;
	/* Last, the kept rule set: nothing can fail after it but an insert
	 * growing the chain, which is taken back here. */
	p->undo->op = (uint8_t)op;
	p->undo->chain = live->chains[id].pos;
	p->undo->pos = pos;
	if (op == FW_EDIT_INSERT) {
		error = fw_chain_insert(c, pos, rule);
		if (error != 0)
			goto fail;
	} else {
		p->undo->rule = c->rules[pos];
		if (op == FW_EDIT_DELETE)
			fw_chain_delete_at(c, pos);
		else
			c->rules[pos] = *rule;
	}
	*out = p;
	return 0;
fail:
	/* The shared arrays keep what comp_rule() appended; no program
	 * reads that far. */
	p->n_addrs = live->n_addrs;
	p->n_ext = live->n_ext;
	fw_prog_free(p);
	return error;
}

int
fw_prog_find_rule(const struct fw_prog *prog, const char *chain,
    const struct fw_rule *rule, uint32_t *pos)
{
	const struct fw_chain *c = fw_ruleset_chain(prog->rs, FW_TABLE_FILTER,
	    chain);

	for (uint32_t i = 0; c != NULL && i < c->n_rules; i++)
		if (fw_rule_equal(&c->rules[i], rule)) {
			*pos = i;
			return 0;
		}
	return -ENOENT;
}

struct fw_prog *
fw_prog_ref(struct fw_prog *prog)
{
	if (prog != NULL)
		prog->refs++;
	return prog;
}

void
fw_prog_edit_cancel(struct fw_prog *p)
{
	struct fw_chain *c;

	if (p == NULL)
		return;
	if (p->undo != NULL) {
		c = &p->rs->tables[FW_TABLE_FILTER].chains[p->undo->chain];
		switch (p->undo->op) {
		case FW_EDIT_INSERT:
			fw_chain_delete_at(c, p->undo->pos);
			break;
		case FW_EDIT_DELETE:
			/* The chain had room for it a moment ago. */
			if (fw_chain_insert(c, p->undo->pos, &p->undo->rule) != 0)
				hg_fatalx("fw: cannot put a deleted rule back");
			break;
		default:
			c->rules[p->undo->pos] = p->undo->rule;
			break;
		}
	}
	fw_prog_free(p);
}

/* --- reading it back ----------------------------------------------------- */

static uint64_t
load_relaxed(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

void
fw_prog_stats(const struct fw_prog *prog, struct fw_prog_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->n_rules = prog->n_rules;
	st->mem_bytes = sizeof(*prog) +
	    prog->n_rules * (sizeof(*prog->rules) + sizeof(uint32_t)) +
	    prog->n_chains * sizeof(*prog->chains) +
	    prog->n_addrs * sizeof(*prog->addrs) +
	    prog->n_ext * sizeof(*prog->ext) + fwc_bytes(prog->cls);
	memcpy(st->verdicts, prog->base_verdicts, sizeof(st->verdicts));
	st->log_suppressed = prog->base_log_suppressed;
	for (uint16_t w = 0; w < prog->n_workers; w++) {
		struct fw_cslice *s = fw_prog_slice(prog, w);

		for (int h = 0; h < FW_HOOK_COUNT; h++)
			for (int y = 0; y < FW_WHY_COUNT; y++)
				st->verdicts[h][y] += load_relaxed(&s->verdicts[h][y]);
		st->log_suppressed += load_relaxed(&s->log_suppressed);
	}
}

static void
rule_totals(const struct fw_prog *prog, uint32_t rule, uint64_t *pkts,
    uint64_t *bytes)
{
	for (uint16_t w = 0; w < prog->n_workers; w++) {
		struct fw_ccount *c = &fw_slice_counts(fw_prog_slice(prog, w))[rule];

		*pkts += load_relaxed(&c->pkts);
		*bytes += load_relaxed(&c->bytes);
	}
}

struct fw_ruleset *
fw_prog_ruleset(const struct fw_prog *prog)
{
	struct fw_ruleset *rs;

	rs = ruleset_copy(prog->rs);
	if (rs == NULL)
		return NULL;
	for (uint32_t id = 0; id < prog->n_chains; id++) {
		const struct fw_cchain *ch = &prog->chains[id];
		struct fw_chain *c = &rs->tables[ch->table].chains[ch->pos];

		for (uint32_t j = 0; j < ch->n; j++)
			rule_totals(prog, ch->first + j, &c->rules[j].pkts,
			    &c->rules[j].bytes);
	}
	/* A built-in filter chain's own counters are what its policy
	 * decided, as iptables -L shows them. */
	for (int h = 0; h < FW_HOOK_COUNT; h++) {
		const struct fw_cchain *ch;
		struct fw_chain *c;

		if (prog->hook_chain[h] == FW_CHAIN_NONE)
			continue;
		ch = &prog->chains[prog->hook_chain[h]];
		c = &rs->tables[ch->table].chains[ch->pos];
		for (uint16_t w = 0; w < prog->n_workers; w++) {
			struct fw_cslice *s = fw_prog_slice(prog, w);

			c->pkts += load_relaxed(&s->verdicts[h][FW_WHY_POLICY]);
			c->bytes += load_relaxed(&s->policy_bytes[h]);
		}
	}
	return rs;
}

char *
fw_prog_print(const struct fw_prog *prog, unsigned flags)
{
	struct fw_ruleset *rs;
	char *text;

	/* Without counters the kept rule set is the text: no copy. */
	if (!(flags & FW_PRINT_COUNTERS))
		return fw_ruleset_print(prog->rs, flags);
	rs = fw_prog_ruleset(prog);
	if (rs == NULL)
		return NULL;
	text = fw_ruleset_print(rs, flags);
	fw_ruleset_free(rs);
	return text;
}

bool
fw_prog_has_nat(const struct fw_prog *prog)
{
	return prog->has_nat;
}

const struct fw_target *
fw_prog_target(const struct fw_prog *prog, uint32_t rule)
{
	const struct fw_cchain *ch;

	if (rule >= prog->n_rules)
		return NULL;
	ch = &prog->chains[prog->rule_chain[rule]];
	return &prog->rs->tables[ch->table].chains[ch->pos].rules[rule -
	    ch->first].target;
}

void
fw_prog_rule_at(const struct fw_prog *prog, uint32_t rule,
    enum fw_table_id *t, const char **chain, uint32_t *pos)
{
	const struct fw_cchain *ch;

	if (rule >= prog->n_rules) {
		*t = FW_TABLE_FILTER;
		*chain = NULL;
		*pos = 0;
		return;
	}
	ch = &prog->chains[prog->rule_chain[rule]];
	*t = ch->table;
	*chain = prog->rs->tables[ch->table].chains[ch->pos].name;
	*pos = rule - ch->first;
}

/* --- COPY sessions ------------------------------------------------------- */

static uint16_t
if_index(const struct fw_prog *prog, const char *name)
{
	for (uint16_t i = 0; i < prog->n_if; i++)
		if (strncmp(prog->if_names[i], name, FW_IFNAME_MAX) == 0)
			return i;
	return FW_IF_NONE;
}

uint32_t
fw_prog_copies(const struct fw_prog *prog, struct fw_copy *out, uint32_t max)
{
	uint32_t n = 0;

	/* The parser keeps COPY to MACRO_CUST and MACRO_CUST to COPY, so
	 * the chain's own rules are the whole list (no jumps out of it). */
	for (uint32_t id = 0; id < prog->n_chains; id++) {
		const struct fw_cchain *ch = &prog->chains[id];
		const struct fw_chain *c;

		if (ch->table != FW_TABLE_FILTER)
			continue;
		c = &prog->rs->tables[ch->table].chains[ch->pos];
		if (strcmp(c->name, "MACRO_CUST") != 0)
			continue;
		for (uint32_t j = 0; j < ch->n; j++) {
			const struct fw_target *t = &c->rules[j].target;
			struct fw_copy *o;

			if (t->kind != FW_T_COPY)
				continue;
			if (n++ >= max)
				continue;
			o = &out[n - 1];
			memset(o, 0, sizeof(*o));
			o->rule = ch->first + j;
			o->pos = j + 1;
			o->family = prog->family;
			o->bidirectional = t->copy_bidirectional;
			o->match_all = prog->rules[o->rule].chk == 0;
			memcpy(o->from, t->copy_from, sizeof(o->from));
			o->from[FW_IFNAME_MAX - 1] = '\0';
			o->from_if = if_index(prog, o->from);
			memcpy(o->to, t->copy_to, sizeof(o->to));
			o->to_kind = t->copy_to_kind;
			o->snaplen = t->copy_snaplen;
			memcpy(o->local, t->copy_local, sizeof(o->local));
			o->local[FW_COPY_LOCAL_MAX - 1] = '\0';
		}
	}
	return n;
}
