/*
 * bench/classify/bench_classify.c: hexgate's packet classifier on
 * ClassBench rule sets, against DPDK's rte_acl on the same rules and the
 * same packets, and against hexgate's own linear walker.
 *
 * For each rule file: the rules are translated (classbench.h) into
 * FORWARD_CUST -j ACCEPT rules; a trace of real frames (pkt_parse()d, as
 * the data plane hands them to the firewall) is drawn from the rules with
 * a fixed seed; then, each a median of RUNS runs:
 *
 *   build     fw_parse and fw_compile of the iptables text, apart;
 *             rte_acl create + add_rules + build
 *   memory    fw_prog_stats().mem_bytes; what rte_acl holds in DPDK's heap
 *   Mpps      fw_eval one packet a call, fw_eval_batch FW_BATCH_MAX a
 *             call, fw_eval_linear one a call; rte_acl_classify one and
 *             ACL_BATCH a call with the fastest algorithm this CPU runs
 *   add one   one rule added to the set, by fw_compile of the whole set
 *             and by fw_prog_edit (add_one_rule())
 *
 * Each rate is taken over the trace from its start, repeated for at
 * least MIN_RUN_S, and for at most BUDGET seconds a run (-t) so the
 * linear walker on 10k+ rules ends in time; the packets a run covers are
 * the ones its verdicts are checked on.
 * Every classifier's first match must be the same rule as rte_acl's
 * (or, without DPDK, fw_eval_linear's), and a sample is also checked
 * against the plain ClassBench walker cb_first_match(); disagreements
 * are counted and the first ones printed, never hidden.
 *
 * The figures end the output, one a line:
 *   NAME: VALUE UNIT (anchor ANCHOR: VALUE UNIT, ratio R)
 * with R > 1 where hexgate is ahead.  -S FILE appends them to FILE, -K
 * FILE appends "SET.key value" lines the driver (run) reads.  Exits 1
 * when any classifier disagreed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw/fw.h"
#include "lib/hg_time.h"
#include "lib/log.h"
#include "pkt/pkt.h"

#include "acl_anchor.h"
#include "classbench.h"

#define ACL_BATCH	32	/* rte_acl_classify() packets per call */
#define CHUNK		1024	/* packets between two looks at the clock */
#define MIN_RUN_S	0.25	/* a run repeats the trace this long */
#define CHECK_CAP_S	30.0	/* untimed evaluation for the checks */
#define REF_SAMPLE	2000	/* packets checked against cb_first_match() */
#define SHOW_MAX	5	/* disagreements printed in full */
#define SLOT_SIZE	192	/* struct pkt, then its frame */
#define FRAME_OFF	64
#define NONE		UINT32_MAX

struct opts {
	uint32_t n_pkts;
	unsigned random_pct;
	uint64_t seed;
	unsigned runs;
	double budget_s;
	const char *summary_path;
	const char *keys_path;
};

struct trace {
	uint32_t n;
	struct cb_hdr *hdr;
	uint8_t *mem;			/* n slots: struct pkt, frame */
	struct fw_pkt *fps;
	const uint8_t **acl_in;		/* each frame's IPv4 protocol byte */
};

static const char if_names[2][FW_IFNAME_MAX] = { "in", "out" };
static const struct fw_ct_info ct_new = { .state = FW_CT_NEW };
static struct fw_errs errs;

static FILE *summary, *keys;
static bool have_acl;
static uint64_t total_bad;		/* disagreements, all sets */
static char acl_why[256];

static void HG_NORETURN
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_classify: %s: %s\n", what, why);
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("calloc", strerror(ENOMEM));
	return p;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
secs_since(uint64_t t0)
{
	return (double)(hg_now_ns() - t0) / 1e9;
}

/* --- figures ------------------------------------------------------------- */

static const char *
num(double v, char *buf, size_t size)
{
	if (v >= 1000)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.3g", v);
	return buf;
}

static void
emit(const char *line)
{
	printf("%s\n", line);
	if (summary != NULL)
		fprintf(summary, "%s\n", line);
}

/* One figure with its anchor; lower_better for times and sizes. */
static void
figure(const char *name, double v, const char *unit, const char *anchor,
    double av, const char *aunit, bool lower_better)
{
	char line[512], a[32], b[32], r[32];
	double ratio = lower_better ? av / v : v / av;

	snprintf(line, sizeof(line), "%s: %s %s (anchor %s: %s %s, ratio %s)",
	    name, num(v, a, sizeof(a)), unit, anchor, num(av, b, sizeof(b)),
	    aunit, isfinite(ratio) ? num(ratio, r, sizeof(r)) : "n/a");
	emit(line);
}

/* A figure whose anchor could not be had, with the reason. */
static void
figure_alone(const char *name, double v, const char *unit, const char *why)
{
	char line[512], a[32];

	snprintf(line, sizeof(line), "%s: %s %s (%s)", name,
	    num(v, a, sizeof(a)), unit, why);
	emit(line);
}

static void
key(const char *set, const char *k, double v)
{
	if (keys != NULL)
		fprintf(keys, "%s.%s %.6f\n", set, k, v);
}

/* --- hexgate: rules -------------------------------------------------------- */

static void
env_init(struct fw_compile_env *env)
{
	memset(env, 0, sizeof(*env));
	env->n_if = 2;
	env->if_names = if_names;
	env->n_workers = 1;
}

static struct fw_ruleset *
parse_or_die(const char *text, size_t len, enum fw_syntax syntax)
{
	struct fw_parse_opts o = { .family = FW_IPV4, .syntax = syntax };
	struct fw_ruleset *rs = NULL;
	char msg[1024];

	if (fw_parse(text, len, &o, &rs, &errs) != 0) {
		if (errs.n > 0)
			fw_err_format(&errs.e[0], "rules", msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "out of memory");
		die("fw_parse", msg);
	}
	return rs;
}

static struct fw_prog *
compile_or_die(const struct fw_ruleset *rs)
{
	struct fw_compile_env env;
	struct fw_prog *prog = NULL;
	int rc;

	env_init(&env);
	if ((rc = fw_compile(rs, &env, &prog, &errs)) != 0)
		die("fw_compile", errs.n ? errs.e[0].msg : strerror(-rc));
	return prog;
}

static void
reserve_one(struct fw_ruleset *rs)
{
	struct fw_chain *c = fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "FORWARD_CUST");
	struct fw_rule *grown;

	if (c == NULL || c->n_rules < c->cap_rules)
		return;
	grown = realloc(c->rules, (size_t)(c->cap_rules + 1) *
	    sizeof(*grown));
	if (grown == NULL)
		die("realloc", strerror(ENOMEM));
	c->rules = grown;
	c->cap_rules++;
}

/* How add_one_rule() makes the new program. */
enum add_way {
	ADD_COMPILE,		/* fw_compile of the whole set */
	ADD_EDIT,		/* fw_prog_edit: the incremental path */
};

/*
 * hexgate's one-rule add as the figures time it: the line parsed alone,
 * then the program with its rule appended to FORWARD_CUST, made from
 * live (compiled from rs) the way `way` says.  Drop *next with
 * fw_prog_edit_cancel(), which also undoes the edit; then set rs's
 * FORWARD_CUST n_rules back to the position returned.
 */
static uint32_t
add_one_rule(struct fw_ruleset *rs, struct fw_prog *live, const char *line,
    enum add_way way, struct fw_prog **next)
{
	struct fw_chain *one, *c = fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "FORWARD_CUST");
	struct fw_compile_env env;
	struct fw_ruleset *rs1;
	uint32_t pos;
	int rc;

	rs1 = parse_or_die(line, strlen(line), FW_SYNTAX_ONE_LINE);
	one = fw_ruleset_chain(rs1, FW_TABLE_FILTER, "FORWARD_CUST");
	if (c == NULL || one == NULL || one->n_rules != 1)
		die("add one rule", "no FORWARD_CUST rule");
	pos = c->n_rules;
	if (way == ADD_EDIT) {
		/* live keeps its own rule set and changes it. */
		rc = fw_prog_edit(live, FW_EDIT_INSERT, "FORWARD_CUST", pos,
		    &one->rules[0], next, &errs);
	} else {
		if (c->n_rules == c->cap_rules)
			reserve_one(rs);
		c->rules[c->n_rules++] = one->rules[0];
		env_init(&env);
		rc = fw_compile(rs, &env, next, &errs);
	}
	fw_ruleset_free(rs1);
	if (rc != 0)
		die(way == ADD_EDIT ? "fw_prog_edit" : "fw_compile (one rule "
		    "added)", errs.n ? errs.e[0].msg : strerror(-rc));
	return pos;
}

/*
 * The same add the way hexgated did it before fw_prog_edit (the first
 * fw_ctl_edit of src/daemon/firewall.c): the live rules printed, the
 * command put in, the whole text parsed and compiled.  For reference
 * beside add_one_rule().
 */
static struct fw_prog *
add_one_daemon_way(const struct fw_prog *cur, const char *cmd)
{
	struct fw_ruleset *live = fw_prog_ruleset(cur), *rs;
	struct fw_prog *prog;
	char *text, *at, *out;
	size_t before;

	if (live == NULL || (text = fw_ruleset_print(live,
	    FW_PRINT_COUNTERS)) == NULL)
		die("fw_prog_ruleset", strerror(ENOMEM));
	fw_ruleset_free(live);
	at = strstr(text, "\nCOMMIT\n");
	if (at == NULL)
		die("fw_ruleset_print", "no COMMIT");
	before = (size_t)(at - text) + 1;
	out = xcalloc(1, strlen(text) + strlen(cmd) + 8);
	memcpy(out, text, before);
	sprintf(out + before, "%s\n%s", cmd, text + before);
	free(text);
	rs = parse_or_die(out, strlen(out), FW_SYNTAX_RESTORE);
	free(out);
	prog = compile_or_die(rs);
	fw_ruleset_free(rs);
	return prog;
}

/* The expanded rule a verdict names, or NONE; NONE - 1 if it names a
 * rule outside FORWARD_CUST (a bug). */
static uint32_t
hg_rule_index(const struct fw_prog *prog, uint32_t rule)
{
	enum fw_table_id t;
	const char *chain;
	uint32_t pos;

	if (rule == NONE)
		return NONE;
	fw_prog_rule_at(prog, rule, &t, &chain, &pos);
	if (t != FW_TABLE_FILTER || chain == NULL ||
	    strcmp(chain, "FORWARD_CUST") != 0)
		return NONE - 1;
	return pos;
}

/* --- the trace ------------------------------------------------------------- */

static void
put16(uint8_t *b, uint16_t v)
{
	v = htons(v);
	memcpy(b, &v, 2);
}

/* One IPv4 frame for h, parsed; returns false if pkt_parse() refuses. */
static bool
build_pkt(struct pkt *p, uint8_t *frame, const struct cb_hdr *h)
{
	static const uint8_t macs[12] = {
		2, 0, 0, 0, 0, 1,	2, 0, 0, 0, 0, 2,
	};
	struct ip4_hdr *ip = (void *)(frame + ETH_HDR_LEN);
	uint8_t *l4 = frame + ETH_HDR_LEN + IP4_HDR_LEN;
	uint16_t l4_len;

	memset(p, 0, sizeof(*p));
	memset(frame, 0, SLOT_SIZE - FRAME_OFF);
	memcpy(frame, macs, 12);
	put16(frame + 12, ETH_P_IP);
	switch (h->proto) {
	case IPPROTO_TCP_:
		put16(l4, h->sport);
		put16(l4 + 2, h->dport);
		l4[7] = 1;			/* seq */
		l4[12] = 0x50;			/* 5 words */
		l4[13] = TCP_SYN;
		put16(l4 + 14, 8192);
		l4_len = 20;
		break;
	case IPPROTO_ICMP_:
		l4[0] = ICMP_ECHO_REQUEST;
		put16(l4 + 4, h->sport);	/* id */
		put16(l4 + 6, h->dport);	/* seq */
		l4_len = 8;
		break;
	default:
		/* UDP, and the rest with their first 4 bytes as ports. */
		put16(l4, h->sport);
		put16(l4 + 2, h->dport);
		put16(l4 + 4, 8);
		l4_len = 8;
		break;
	}
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(IP4_HDR_LEN + l4_len);
	ip->id_be = htons(7);
	ip->ttl = 64;
	ip->proto = h->proto;
	ip->src_be = htonl(h->src);
	ip->dst_be = htonl(h->dst);
	pkt_ip4_set_csum(ip);
	p->data = frame;
	p->len = ETH_HDR_LEN + IP4_HDR_LEN + l4_len;
	p->in_if = 0;
	return pkt_parse(p, NULL) == PKT_DROP_NONE && p->l3 == PKT_L3_IP4;
}

static void
trace_make(struct trace *t, const struct cb_set *x, const struct opts *o)
{
	_Static_assert(sizeof(struct pkt) <= FRAME_OFF, "struct pkt grew");
	t->n = o->n_pkts;
	t->hdr = xcalloc(t->n, sizeof(*t->hdr));
	t->fps = xcalloc(t->n, sizeof(*t->fps));
	t->acl_in = xcalloc(t->n, sizeof(*t->acl_in));
	if (posix_memalign((void **)&t->mem, HG_CACHE_LINE,
	    (size_t)t->n * SLOT_SIZE) != 0)
		die("posix_memalign", strerror(ENOMEM));
	cb_trace(x, t->n, o->random_pct, o->seed, t->hdr);
	for (uint32_t i = 0; i < t->n; i++) {
		uint8_t *slot = t->mem + (size_t)i * SLOT_SIZE;
		struct pkt *p = (struct pkt *)(void *)slot;

		if (!build_pkt(p, slot + FRAME_OFF, &t->hdr[i]))
			die("pkt_parse", "a trace frame does not parse");
		t->fps[i].p = p;
		t->fps[i].in_if = 0;
		t->fps[i].out_if = 1;
		t->fps[i].ct = &ct_new;
		t->acl_in[i] = p->data + p->l3_off + ACL_INPUT_OFFSET;
	}
}

static void
trace_free(struct trace *t)
{
	free(t->hdr);
	free(t->fps);
	free(t->acl_in);
	free(t->mem);
}

/* --- timed runs ------------------------------------------------------------ */

enum eval_kind {
	EV_SINGLE,		/* fw_eval */
	EV_BATCH,		/* fw_eval_batch, FW_BATCH_MAX a call */
	EV_LINEAR,		/* fw_eval_linear */
	EV_ACL_SINGLE,		/* rte_acl_classify, 1 a call */
	EV_ACL_BATCH,		/* rte_acl_classify, ACL_BATCH a call */
};

struct run_ctx {
	const struct fw_prog *prog;
	const struct acl_anchor *acl;
	const struct trace *t;
	double budget_s;
};

static void
eval_chunk(const struct run_ctx *c, enum eval_kind k, uint32_t from,
    uint32_t to, uint32_t *res)
{
	struct fw_verdict v, vs[FW_BATCH_MAX];
	uint64_t now = hg_now_ns();
	uint32_t n;

	switch (k) {
	case EV_SINGLE:
		for (uint32_t i = from; i < to; i++) {
			fw_eval(c->prog, 0, FW_HOOK_FORWARD, &c->t->fps[i],
			    now, &v);
			res[i] = v.why == FW_WHY_RULE ? v.rule : NONE;
		}
		break;
	case EV_BATCH:
		for (uint32_t i = from; i < to; i += n) {
			n = to - i < FW_BATCH_MAX ? to - i : FW_BATCH_MAX;
			fw_eval_batch(c->prog, 0, FW_HOOK_FORWARD,
			    &c->t->fps[i], n, now, vs);
			for (uint32_t j = 0; j < n; j++)
				res[i + j] = vs[j].why == FW_WHY_RULE ?
				    vs[j].rule : NONE;
		}
		break;
	case EV_LINEAR:
		for (uint32_t i = from; i < to; i++) {
			fw_eval_linear(c->prog, 0, FW_HOOK_FORWARD,
			    &c->t->fps[i], now, &v);
			res[i] = v.why == FW_WHY_RULE ? v.rule : NONE;
		}
		break;
	case EV_ACL_SINGLE:
		for (uint32_t i = from; i < to; i++)
			acl_classify(c->acl, &c->t->acl_in[i], &res[i], 1);
		break;
	case EV_ACL_BATCH:
		for (uint32_t i = from; i < to; i += n) {
			n = to - i < ACL_BATCH ? to - i : ACL_BATCH;
			acl_classify(c->acl, &c->t->acl_in[i], &res[i], n);
		}
		break;
	}
}

/*
 * One run: the trace from its start, again and again until MIN_RUN_S has
 * passed, or less than one pass when the budget runs out first.  Returns
 * the rate in Mpps; *done: the packets covered (their verdicts in res).
 */
static double
run_once(const struct run_ctx *c, enum eval_kind k, uint32_t *res,
    uint32_t *done)
{
	uint64_t t0 = hg_now_ns(), now = t0;
	uint64_t deadline = t0 + (uint64_t)(c->budget_s * 1e9);
	uint64_t enough = t0 + (uint64_t)(MIN_RUN_S * 1e9), total = 0;
	uint32_t i = 0, to;

	*done = 0;
	for (;;) {
		to = c->t->n - i < CHUNK ? c->t->n : i + CHUNK;
		eval_chunk(c, k, i, to, res);
		total += to - i;
		i = to;
		if (i > *done)
			*done = i;
		now = hg_now_ns();
		if (i == c->t->n) {
			if (now >= enough)
				break;
			i = 0;
		}
		if (now >= deadline)
			break;
	}
	return (double)total / ((double)(now - t0) / 1e9) / 1e6;
}

/* Median Mpps of runs; *done: the packets every run covered. */
static double
measure(const struct run_ctx *c, enum eval_kind k, unsigned runs,
    uint32_t *res, uint32_t *done)
{
	double *rates = xcalloc(runs, sizeof(*rates)), m;
	uint32_t d;

	*done = c->t->n;
	for (unsigned r = 0; r < runs; r++) {
		rates[r] = run_once(c, k, res, &d);
		if (d < *done)
			*done = d;
	}
	m = median(rates, runs);
	free(rates);
	return m;
}

/*
 * The rest of the trace after a timed run stopped at done, untimed, for
 * at most cap_s: the classifier's verdicts are checked on every packet,
 * not only on those its budget covered.  Returns the packets covered.
 */
static uint32_t
complete(const struct run_ctx *c, enum eval_kind k, uint32_t *res,
    uint32_t done, double cap_s)
{
	uint64_t t0 = hg_now_ns();
	uint32_t to;

	while (done < c->t->n && secs_since(t0) < cap_s) {
		to = c->t->n - done < CHUNK ? c->t->n : done + CHUNK;
		eval_chunk(c, k, done, to, res);
		done = to;
	}
	return done;
}

/* --- checks -------------------------------------------------------------- */

static void
show_hdr(const struct cb_hdr *h, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u -> %u.%u.%u.%u proto %u ports %u -> %u",
	    h->src >> 24, (h->src >> 16) & 255, (h->src >> 8) & 255,
	    h->src & 255, h->dst >> 24, (h->dst >> 16) & 255,
	    (h->dst >> 8) & 255, h->dst & 255, h->proto, h->sport, h->dport);
}

static void
show_rule(const struct cb_set *x, uint32_t i, char *buf, size_t size)
{
	char r[256];

	if (i == NONE) {
		snprintf(buf, size, "no rule");
		return;
	}
	if (i >= x->n) {
		snprintf(buf, size, "a rule outside FORWARD_CUST");
		return;
	}
	cb_format_ipt(&x->r[i], r, sizeof(r));
	snprintf(buf, size, "#%u (file rule %u: %s)", i, x->r[i].orig + 1, r);
}

/* Disagreements between a (hexgate verdicts of prog) and ref (those of
 * ref_prog, or rte_acl's results when ref_prog is NULL) on the first n
 * packets; the first few printed. */
static uint32_t
compare(const char *what, const struct fw_prog *prog, const uint32_t *a,
    const struct fw_prog *ref_prog, const uint32_t *ref,
    const struct cb_set *x, const struct trace *t, uint32_t n)
{
	char h[128], ra[512], rb[512], rc[512];
	uint32_t bad = 0, ga, gb;
	bool ref_is_acl = ref_prog == NULL;

	for (uint32_t i = 0; i < n; i++) {
		ga = hg_rule_index(prog, a[i]);
		gb = ref_is_acl ? (ref[i] == 0 ? NONE : ref[i] - 1) :
		    hg_rule_index(ref_prog, ref[i]);
		if (ga == gb)
			continue;
		if (bad++ < SHOW_MAX) {
			show_hdr(&t->hdr[i], h, sizeof(h));
			show_rule(x, ga, ra, sizeof(ra));
			show_rule(x, gb, rb, sizeof(rb));
			show_rule(x, cb_first_match(x, &t->hdr[i]), rc,
			    sizeof(rc));
			printf("  MISMATCH %s, packet %u (%s):\n"
			    "    hexgate %s\n    %s %s\n    ClassBench walker %s\n",
			    what, i, h, ra, ref_is_acl ? "rte_acl" :
			    "reference", rb, rc);
		}
	}
	printf("  %s: %u disagreements on %u packets\n", what, bad, n);
	return bad;
}

/* A sample of the trace against the plain ClassBench walker. */
static uint32_t
compare_ref(const char *what, const struct fw_prog *prog, const uint32_t *a,
    bool is_acl, const struct cb_set *x, const struct trace *t, uint32_t n)
{
	uint32_t bad = 0, step = n > REF_SAMPLE ? n / REF_SAMPLE : 1, checked = 0;
	char h[128], ra[512], rc[512];

	for (uint32_t i = 0; i < n; i += step, checked++) {
		uint32_t got = is_acl ? (a[i] == 0 ? NONE : a[i] - 1) :
		    hg_rule_index(prog, a[i]);
		uint32_t want = cb_first_match(x, &t->hdr[i]);

		if (got == want)
			continue;
		if (bad++ < SHOW_MAX) {
			show_hdr(&t->hdr[i], h, sizeof(h));
			show_rule(x, got, ra, sizeof(ra));
			show_rule(x, want, rc, sizeof(rc));
			printf("  MISMATCH %s vs ClassBench walker, packet %u "
			    "(%s):\n    got %s\n    want %s\n", what, i, h,
			    ra, rc);
		}
	}
	printf("  %s vs ClassBench walker: %u disagreements on %u sampled "
	    "packets\n", what, bad, checked);
	return bad;
}

/* --- one rule set ---------------------------------------------------------- */

static const char *
set_name(const char *path)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s", path);
	return basename(buf);
}

static void
bench_set(const char *path, const struct opts *o)
{
	struct cb_set raw, x;
	struct cb_expand_report rep;
	struct fw_ruleset *rs = NULL;
	struct fw_prog *prog = NULL, *next;
	struct fw_prog_stats st;
	struct acl_anchor *acl = NULL;
	struct trace t;
	struct run_ctx rc;
	double *v_parse, *v_comp, *v_both, *v_acl, *v_add, *v_adde, *v_addd;
	double parse_ms, comp_ms, both_ms, acl_ms = 0, add_ms, adde_ms, addd_ms;
	double mpps_single, mpps_batch, mpps_linear;
	double mpps_acl1 = 0, mpps_acln = 0, best = -1, rate;
	uint32_t *res_single, *res_batch, *res_linear, *res_acl, *scratch;
	uint32_t done_single, done_batch, done_linear, done_acl = 0, pos;
	uint32_t done_edit;
	uint32_t bad = 0, bad_ref = 0;
	size_t text_len, acl_mem = 0;
	char *text, err[256], name[256], fig[320], anchor[128];
	char cmd[512], cmd_one[512], added[256];
	const char *sn = set_name(path);
	unsigned runs = o->runs, best_alg = 0;
	uint64_t t0;

	if (cb_load(path, &raw, err, sizeof(err)) != 0)
		die("rules", err);
	if (cb_expand(&raw, &x, &rep) != 0)
		die("cb_expand", strerror(ENOMEM));
	text = cb_text(&x, CB_TEXT_HEXGATE, &text_len);
	if (text == NULL)
		die("cb_text", strerror(ENOMEM));
	printf("== %s: %u ClassBench rules -> %u FORWARD_CUST rules "
	    "(%u any-protocol rules with ports made tcp + udp, %u port "
	    "ranges of other protocols dropped)\n", sn, raw.n, x.n,
	    rep.any_split, rep.ports_dropped);

	/* Build: parse and compile apart, RUNS times; the last is kept. */
	v_parse = xcalloc(runs, sizeof(double));
	v_comp = xcalloc(runs, sizeof(double));
	v_both = xcalloc(runs, sizeof(double));
	v_acl = xcalloc(runs, sizeof(double));
	v_add = xcalloc(runs, sizeof(double));
	v_adde = xcalloc(runs, sizeof(double));
	v_addd = xcalloc(runs, sizeof(double));
	for (unsigned r = 0; r < runs; r++) {
		struct fw_compile_env env;
		int crc;

		fw_prog_free(prog);
		t0 = hg_now_ns();
		rs = parse_or_die(text, text_len, FW_SYNTAX_RESTORE);
		v_parse[r] = secs_since(t0) * 1e3;
		/* As hexgated loads a file: the program keeps the parsed
		 * rule set (fw_compile_take), no copy. */
		env_init(&env);
		t0 = hg_now_ns();
		if ((crc = fw_compile_take(rs, &env, &prog, &errs)) != 0)
			die("fw_compile_take", errs.n ? errs.e[0].msg :
			    strerror(-crc));
		v_comp[r] = secs_since(t0) * 1e3;
		v_both[r] = v_parse[r] + v_comp[r];
	}
	/* The rest works on a rule set of its own. */
	rs = fw_prog_ruleset(prog);
	if (rs == NULL)
		die("fw_prog_ruleset", strerror(ENOMEM));
	parse_ms = median(v_parse, runs);
	comp_ms = median(v_comp, runs);
	both_ms = median(v_both, runs);
	fw_prog_stats(prog, &st);
	printf("  hexgate: fw_parse %.2f ms, fw_compile %.2f ms, "
	    "%u rules, %.2f MiB\n", parse_ms, comp_ms, st.n_rules,
	    (double)st.mem_bytes / 1048576);

	/* One rule added: hexgate's two in-process paths (add_one_rule),
	 * and the daemon's older one for reference. */
	reserve_one(rs);
	cb_format_ipt(&cb_rule_added, added, sizeof(added));
	snprintf(cmd_one, sizeof(cmd_one), "FORWARD_CUST %s", added);
	for (unsigned w = ADD_COMPILE; w <= ADD_EDIT; w++) {
		double *v = w == ADD_EDIT ? v_adde : v_add;

		for (unsigned r = 0; r < runs; r++) {
			t0 = hg_now_ns();
			pos = add_one_rule(rs, prog, cmd_one, w, &next);
			v[r] = secs_since(t0) * 1e3;
			fw_prog_edit_cancel(next);
			fw_ruleset_chain(rs, FW_TABLE_FILTER,
			    "FORWARD_CUST")->n_rules = pos;
		}
	}
	add_ms = median(v_add, runs);
	adde_ms = median(v_adde, runs);
	snprintf(cmd, sizeof(cmd), "-A FORWARD_CUST %s", added);
	for (unsigned r = 0; r < runs; r++) {
		t0 = hg_now_ns();
		next = add_one_daemon_way(prog, cmd);
		v_addd[r] = secs_since(t0) * 1e3;
		fw_prog_free(next);
	}
	addd_ms = median(v_addd, runs);
	printf("  hexgate one rule added: fw_parse of the line + fw_compile "
	    "of the set %.2f ms, + fw_prog_edit %.3f ms; print, parse and "
	    "compile the whole set (hexgated before fw_prog_edit) %.2f ms\n",
	    add_ms,
	    adde_ms, addd_ms);
	key(sn, "rules", x.n);
	key(sn, "parse_ms", parse_ms);
	key(sn, "compile_ms", comp_ms);
	key(sn, "build_ms", both_ms);
	key(sn, "add1_ms", add_ms);
	key(sn, "add1_edit_ms", adde_ms);
	key(sn, "add1_daemon_ms", addd_ms);

	/* rte_acl: build RUNS times, the last kept. */
	if (have_acl) {
		for (unsigned r = 0; r < runs; r++) {
			acl_free(acl);
			acl = NULL;
			t0 = hg_now_ns();
			if (acl_build(&x, &acl, &acl_mem, err,
			    sizeof(err)) != 0)
				break;
			v_acl[r] = secs_since(t0) * 1e3;
		}
		if (acl == NULL)
			printf("  rte_acl: %s\n", err);
		else {
			acl_ms = median(v_acl, runs);
			printf("  rte_acl: create + add_rules + build %.2f ms, "
			    "%.2f MiB\n", acl_ms, (double)acl_mem / 1048576);
		}
	}

	trace_make(&t, &x, o);
	printf("  trace: %u packets, seed %llu, %u%% random headers\n", t.n,
	    (unsigned long long)o->seed, o->random_pct);
	res_single = xcalloc(t.n, sizeof(uint32_t));
	res_batch = xcalloc(t.n, sizeof(uint32_t));
	res_linear = xcalloc(t.n, sizeof(uint32_t));
	res_acl = xcalloc(t.n, sizeof(uint32_t));
	scratch = xcalloc(t.n, sizeof(uint32_t));
	rc.prog = prog;
	rc.acl = acl;
	rc.t = &t;
	rc.budget_s = o->budget_s;

	/* rte_acl's algorithms, batched, one short run each; the fastest
	 * is the anchor. */
	if (acl != NULL) {
		for (unsigned i = 0; i < acl_n_algs(); i++) {
			uint32_t d;

			if (acl_set_alg(acl, i) != 0) {
				printf("  rte_acl %s: not supported here\n",
				    acl_alg_name(i));
				continue;
			}
			rate = run_once(&rc, EV_ACL_BATCH, scratch, &d);
			printf("  rte_acl %s, %u a call: %.2f Mpps\n",
			    acl_alg_name(i), ACL_BATCH, rate);
			if (rate > best) {
				best = rate;
				best_alg = i;
			}
		}
		if (best < 0 || acl_set_alg(acl, best_alg) != 0) {
			printf("  rte_acl: no classify algorithm works\n");
			acl_free(acl);
			acl = NULL;
			rc.acl = NULL;
		}
	}
	if (acl != NULL) {
		uint32_t d;

		mpps_acl1 = measure(&rc, EV_ACL_SINGLE, runs, scratch, &d);
		mpps_acln = measure(&rc, EV_ACL_BATCH, runs, res_acl,
		    &done_acl);
		printf("  rte_acl %s: %.2f Mpps 1 a call, %.2f Mpps %u a "
		    "call\n", acl_alg_name(best_alg), mpps_acl1, mpps_acln,
		    ACL_BATCH);
	}

	mpps_single = measure(&rc, EV_SINGLE, runs, res_single, &done_single);
	mpps_batch = measure(&rc, EV_BATCH, runs, res_batch, &done_batch);
	mpps_linear = measure(&rc, EV_LINEAR, runs, res_linear, &done_linear);
	printf("  hexgate: fw_eval %.3f Mpps (%u packets a run), "
	    "fw_eval_batch %.3f Mpps (%u), fw_eval_linear %.3f Mpps (%u)\n",
	    mpps_single, done_single, mpps_batch, done_batch, mpps_linear,
	    done_linear);
	/* The classifier is checked on the whole trace; the linear walker,
	 * the slow reference, on what its budget covered. */
	done_single = complete(&rc, EV_SINGLE, res_single, done_single,
	    CHECK_CAP_S);
	done_batch = complete(&rc, EV_BATCH, res_batch, done_batch,
	    CHECK_CAP_S);
	if (acl != NULL)
		done_acl = complete(&rc, EV_ACL_BATCH, res_acl, done_acl,
		    CHECK_CAP_S);

	/* Every packet a run covered: each evaluator against rte_acl (or
	 * the linear walker without it), and a sample against the plain
	 * ClassBench walker. */
	if (acl != NULL) {
		uint32_t n_acl = done_acl;

		bad += compare("fw_eval vs rte_acl", prog, res_single, NULL,
		    res_acl, &x, &t, done_single < n_acl ? done_single : n_acl);
		bad += compare("fw_eval_batch vs rte_acl", prog, res_batch,
		    NULL, res_acl, &x, &t, done_batch < n_acl ? done_batch :
		    n_acl);
		bad += compare("fw_eval_linear vs rte_acl", prog, res_linear,
		    NULL, res_acl, &x, &t, done_linear < n_acl ? done_linear :
		    n_acl);
		bad_ref += compare_ref("rte_acl", prog, res_acl, true, &x, &t,
		    n_acl);
	} else {
		bad += compare("fw_eval vs fw_eval_linear", prog, res_single,
		    prog, res_linear, &x, &t, done_single < done_linear ?
		    done_single : done_linear);
		bad += compare("fw_eval_batch vs fw_eval_linear", prog,
		    res_batch, prog, res_linear, &x, &t,
		    done_batch < done_linear ? done_batch : done_linear);
	}
	bad_ref += compare_ref("fw_eval", prog, res_single, false, &x, &t,
	    done_single);
	bad_ref += compare_ref("fw_eval_linear", prog, res_linear, false, &x,
	    &t, done_linear);

	/* The program fw_prog_edit made with the rule added (which no
	 * trace packet matches) must decide every packet as the compiled
	 * one did. */
	pos = add_one_rule(rs, prog, cmd_one, ADD_EDIT, &next);
	rc.prog = next;
	done_edit = complete(&rc, EV_BATCH, scratch, 0, CHECK_CAP_S);
	bad += compare("fw_eval_batch after fw_prog_edit vs before", next,
	    scratch, prog, res_batch, &x, &t, done_edit < done_batch ?
	    done_edit : done_batch);
	rc.prog = prog;
	fw_prog_edit_cancel(next);
	fw_ruleset_chain(rs, FW_TABLE_FILTER, "FORWARD_CUST")->n_rules = pos;

	/* The figures. */
	printf("-- %s figures (single core, median of %u runs)\n", sn, runs);
	snprintf(name, sizeof(name), "%s build fw_parse", sn);
	figure_alone(name, parse_ms, "ms", "no anchor: rte_acl takes binary "
	    "rules, not text");
	if (acl != NULL) {
		snprintf(name, sizeof(name), "%s build fw_compile", sn);
		figure(name, comp_ms, "ms", "rte_acl create+add_rules+build",
		    acl_ms, "ms", true);
		snprintf(name, sizeof(name), "%s build fw_parse+fw_compile", sn);
		figure(name, both_ms, "ms", "rte_acl create+add_rules+build",
		    acl_ms, "ms", true);
		snprintf(name, sizeof(name), "%s memory", sn);
		figure(name, (double)st.mem_bytes / 1048576, "MiB", "rte_acl",
		    (double)acl_mem / 1048576, "MiB", true);
		snprintf(name, sizeof(name), "%s fw_eval 1 pkt/call", sn);
		snprintf(anchor, sizeof(anchor), "rte_acl_classify %s 1 pkt/call",
		    acl_alg_name(best_alg));
		figure(name, mpps_single, "Mpps", anchor, mpps_acl1, "Mpps",
		    false);
		snprintf(name, sizeof(name), "%s fw_eval_batch %u pkts/call", sn,
		    FW_BATCH_MAX);
		snprintf(anchor, sizeof(anchor),
		    "rte_acl_classify %s %u pkts/call", acl_alg_name(best_alg),
		    ACL_BATCH);
		figure(name, mpps_batch, "Mpps", anchor, mpps_acln, "Mpps",
		    false);
	} else {
		snprintf(fig, sizeof(fig), "rte_acl anchor skipped: %s",
		    acl_why[0] ? acl_why : "rte_acl failed, see above");
		snprintf(name, sizeof(name), "%s build fw_compile", sn);
		figure_alone(name, comp_ms, "ms", fig);
		snprintf(name, sizeof(name), "%s build fw_parse+fw_compile", sn);
		figure_alone(name, both_ms, "ms", fig);
		snprintf(name, sizeof(name), "%s memory", sn);
		figure_alone(name, (double)st.mem_bytes / 1048576, "MiB", fig);
		snprintf(name, sizeof(name), "%s fw_eval 1 pkt/call", sn);
		figure_alone(name, mpps_single, "Mpps", fig);
		snprintf(name, sizeof(name), "%s fw_eval_batch %u pkts/call", sn,
		    FW_BATCH_MAX);
		figure_alone(name, mpps_batch, "Mpps", fig);
	}
	snprintf(name, sizeof(name), "%s fw_eval_batch %u pkts/call vs linear",
	    sn, FW_BATCH_MAX);
	figure(name, mpps_batch, "Mpps", "fw_eval_linear 1 pkt/call",
	    mpps_linear, "Mpps", false);
	snprintf(name, sizeof(name), "%s add one rule fw_parse+fw_prog_edit",
	    sn);
	figure(name, adde_ms, "ms", "fw_parse+fw_compile of the set", add_ms,
	    "ms", true);
	snprintf(fig, sizeof(fig), "%s disagreements: %u packets (hexgate vs "
	    "%s on every packet the runs covered: fw_eval %u, fw_eval_batch "
	    "%u, fw_eval_linear %u; %u more against the ClassBench walker on "
	    "a sample)", sn, bad, acl != NULL ? "rte_acl" : "fw_eval_linear",
	    done_single, done_batch, done_linear, bad_ref);
	emit(fig);
	key(sn, "disagreements", bad + bad_ref);
	total_bad += bad + bad_ref;

	free(res_single);
	free(res_batch);
	free(res_linear);
	free(res_acl);
	free(scratch);
	trace_free(&t);
	acl_free(acl);
	fw_prog_free(prog);
	fw_ruleset_free(rs);
	free(text);
	free(v_parse);
	free(v_comp);
	free(v_both);
	free(v_acl);
	free(v_add);
	free(v_adde);
	free(v_addd);
	cb_set_free(&x);
	cb_set_free(&raw);
}

/* --- main ---------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr, "usage: bench_classify [-n PACKETS] [-r RANDOM_PCT] "
	    "[-s SEED] [-R RUNS] [-t BUDGET_S]\n"
	    "                      [-S SUMMARY_FILE] [-K KEYS_FILE] "
	    "CLASSBENCH_FILE...\n"
	    "RUNS also from the environment (default 3).\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.n_pkts = 1000000, .random_pct = 10, .seed = 1, .runs = 3,
		.budget_s = 1.0,
	};
	const char *env = getenv("RUNS");
	int c;

	if (env != NULL && atoi(env) > 0)
		o.runs = (unsigned)atoi(env);
	/* The allocator settings hexgated runs with (src/daemon/main.c):
	 * freed rule sets stay in the heap for the next build. */
	(void)mallopt(M_MMAP_THRESHOLD, 256 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 512 << 20);
	while ((c = getopt(argc, argv, "n:r:s:R:t:S:K:")) != -1) {
		switch (c) {
		case 'n':
			o.n_pkts = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.random_pct = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			o.runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.budget_s = strtod(optarg, NULL);
			break;
		case 'S':
			o.summary_path = optarg;
			break;
		case 'K':
			o.keys_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || o.n_pkts == 0 || o.runs == 0 ||
	    o.random_pct > 100 || !(o.budget_s > 0))
		usage();
	hg_log_init("bench_classify", HG_LOG_WARN, false);
	if (o.summary_path != NULL &&
	    (summary = fopen(o.summary_path, "a")) == NULL)
		die(o.summary_path, strerror(errno));
	if (o.keys_path != NULL && (keys = fopen(o.keys_path, "a")) == NULL)
		die(o.keys_path, strerror(errno));
	have_acl = acl_init(acl_why, sizeof(acl_why)) == 0;
	if (!have_acl)
		printf("rte_acl anchor skipped: %s\n", acl_why);
	for (int i = optind; i < argc; i++)
		bench_set(argv[i], &o);
	acl_fini();
	if (summary != NULL)
		fclose(summary);
	if (keys != NULL)
		fclose(keys);
	if (total_bad > 0) {
		printf("bench_classify: %llu disagreements: a classifier is "
		    "wrong (see MISMATCH above)\n",
		    (unsigned long long)total_bad);
		return 1;
	}
	return 0;
}
