/*
 * tests/unit/mgmt/test_store.c: proves src/mgmt/store.c and store_diff.c
 * against a real SQLite file in a fresh temporary folder per test.
 * Tables of documents to commit, of configs to refuse (with the place the
 * refusal must name), of diffs with their exact expected text; then
 * commit-confirm (confirmed, expired, expired while closed), audit rows,
 * tokens, two processes committing at once, and the crash test: a child
 * commits in a loop and reports each acknowledged version on a pipe, the
 * parent SIGKILLs it at a random moment, reopens, and checks the file's
 * integrity and every acknowledged version's exact content.  The seed of
 * the kill delays is printed; HG_STORE_CRASH_SEED replays one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mgmt/store.h"

#define CFG_A	"{\"workers\":1,\"log\":{\"level\":\"info\"}}"
#define CFG_B	"{\"log\":{\"level\":\"info\"},\"workers\":2}"
#define CFG_C	"{\"workers\":3}"

static const struct hg_store_who alice = {
	.author = "alice", .source = "192.0.2.10:40000", .comment = "first",
};
static const struct hg_store_who bob = {
	.author = "bob", .source = "unix", .comment = NULL,
};

struct fixture {
	char dir[64];
	char path[96];
	struct hg_store *s;
};

static void
fx_path(const struct fixture *fx, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", fx->path, suffix);
}

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hg-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/store.db", fx->dir);
	if (hg_store_open(&fx->s, fx->path, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fixture *fx = *state;
	char p[128];

	hg_store_close(fx->s);
	unlink(fx->path);
	fx_path(fx, "-wal", p, sizeof(p));
	unlink(p);
	fx_path(fx, "-shm", p, sizeof(p));
	unlink(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void
fx_reopen(struct fixture *fx)
{
	char err[256];

	hg_store_close(fx->s);
	if (hg_store_open(&fx->s, fx->path, err, sizeof(err)) != 0)
		fail_msg("reopen: %s", err);
}

static void
assert_str_or_null(const char *what, const char *want, const char *got)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: want \"%s\", got \"%s\"", what,
		    want != NULL ? want : "(null)", got != NULL ? got : "(null)");
}

static void
assert_doc(const char *what, struct hg_store *s, uint64_t version,
    const struct hg_store_doc *want)
{
	struct hg_store_doc got;

	if (hg_store_get(s, version, &got) != 0)
		fail_msg("%s: version %" PRIu64 " missing", what, version);
	assert_str_or_null(what, want->config, got.config);
	assert_str_or_null(what, want->rules, got.rules);
	assert_str_or_null(what, want->rules6, got.rules6);
	assert_str_or_null(what, want->sets, got.sets);
	hg_store_doc_free(&got);
}

/* Collects what the listers report. */
#define MAX_ROWS 512

struct versions {
	unsigned n;
	struct {
		uint64_t version, deadline_ns, restored_from;
		enum hg_store_state state;
		char author[32], source[64], comment[160];
	} v[MAX_ROWS];
};

static int
collect_version(void *arg, const struct hg_store_version *v)
{
	struct versions *vs = arg;

	if (vs->n == MAX_ROWS)
		return 1;
	vs->v[vs->n].version = v->version;
	vs->v[vs->n].deadline_ns = v->pending_deadline_ns;
	vs->v[vs->n].restored_from = v->restored_from;
	vs->v[vs->n].state = v->state;
	assert_int_equal(v->confirmed, v->state == HG_STORE_CONFIRMED);
	assert_true(v->created_ns > 1600000000ull * 1000000000ull);
	snprintf(vs->v[vs->n].author, sizeof(vs->v[0].author), "%s", v->author);
	snprintf(vs->v[vs->n].source, sizeof(vs->v[0].source), "%s", v->source);
	snprintf(vs->v[vs->n].comment, sizeof(vs->v[0].comment), "%s",
	    v->comment);
	vs->n++;
	return 0;
}

static void
list_versions(struct hg_store *s, struct versions *vs)
{
	vs->n = 0;
	assert_int_equal(hg_store_list(s, 0, collect_version, vs), 0);
}

struct audits {
	unsigned n;
	struct {
		uint64_t version;
		char author[32], source[64], action[32], detail[200];
	} r[MAX_ROWS];
};

static int
collect_audit(void *arg, const struct hg_store_audit_row *row)
{
	struct audits *as = arg;

	if (as->n == MAX_ROWS)
		return 1;
	as->r[as->n].version = row->version;
	snprintf(as->r[as->n].author, sizeof(as->r[0].author), "%s",
	    row->author);
	snprintf(as->r[as->n].source, sizeof(as->r[0].source), "%s",
	    row->source);
	snprintf(as->r[as->n].action, sizeof(as->r[0].action), "%s",
	    row->action);
	snprintf(as->r[as->n].detail, sizeof(as->r[0].detail), "%s",
	    row->detail);
	as->n++;
	return 0;
}

static void
list_audit(struct hg_store *s, struct audits *as)
{
	as->n = 0;
	assert_int_equal(hg_store_audit_list(s, 0, collect_audit, as), 0);
}

static uint64_t
must_commit(struct hg_store *s, const char *config, const char *rules,
    const struct hg_store_who *who)
{
	struct hg_store_doc doc = { .config = (char *)config,
	    .rules = (char *)rules };
	uint64_t v = 0;
	char err[256];

	if (hg_store_commit(s, &doc, who, &v, err, sizeof(err)) != 0)
		fail_msg("commit %s: %s", config, err);
	return v;
}

/* ------------------------------------------------------ commit/get/list */

struct commit_case {
	const char *what;
	struct hg_store_doc doc;
	struct hg_store_who who;
};

static const struct commit_case commit_cases[] = {
	{ "config only", { .config = "{}" },
	  { "alice", "192.0.2.10:40000", "empty config" } },
	{ "config and IPv4 rules", { .config = CFG_A,
	  .rules = "*filter\n-A FORWARD -j ACCEPT\nCOMMIT\n" },
	  { "bob", "unix", "allow forward" } },
	{ "all four texts", { .config = CFG_B, .rules = "*filter\nCOMMIT\n",
	  .rules6 = "*filter\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n",
	  .sets = "create lan hash:net\nadd lan 10.0.0.0/8\n" },
	  { "carol", "[2001:db8::1]:443", "everything" } },
	{ "empty rules are not no rules", { .config = CFG_C, .rules = "",
	  .sets = "" }, { NULL, NULL, NULL } },
	{ "same content again is a new version", { .config = "{}" },
	  { "alice", "192.0.2.10:40000", "again" } },
};

static void
test_commit_get_list(void **state)
{
	struct fixture *fx = *state;
	struct versions vs;
	uint64_t v, cur;
	size_t i, n = HG_ARRAY_SIZE(commit_cases);
	char err[256];

	assert_int_equal(hg_store_current(fx->s, &cur), -ENOENT);
	for (i = 0; i < n; i++) {
		const struct commit_case *c = &commit_cases[i];

		if (hg_store_commit(fx->s, &c->doc, &c->who, &v, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", c->what, err);
		if (v != i + 1)
			fail_msg("%s: version %" PRIu64 ", want %zu", c->what,
			    v, i + 1);
		assert_int_equal(hg_store_current(fx->s, &cur), 0);
		assert_int_equal(cur, v);
	}
	/* Read back after a reopen: what was acknowledged is on disk. */
	fx_reopen(fx);
	list_versions(fx->s, &vs);
	assert_int_equal(vs.n, n);
	for (i = 0; i < n; i++) {
		const struct commit_case *c = &commit_cases[i];
		unsigned k = (unsigned)(n - 1 - i);	/* newest first */

		assert_doc(c->what, fx->s, i + 1, &c->doc);
		assert_int_equal(vs.v[k].version, i + 1);
		assert_int_equal(vs.v[k].state, HG_STORE_CONFIRMED);
		assert_int_equal(vs.v[k].deadline_ns, 0);
		assert_int_equal(vs.v[k].restored_from, 0);
		assert_str_or_null(c->what, c->who.author ? c->who.author : "",
		    vs.v[k].author);
		assert_str_or_null(c->what, c->who.source ? c->who.source : "",
		    vs.v[k].source);
		assert_str_or_null(c->what, c->who.comment ? c->who.comment :
		    "", vs.v[k].comment);
	}
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, n);
	{
		struct hg_store_doc d;

		assert_int_equal(hg_store_get(fx->s, n + 1, &d), -ENOENT);
	}
	/* limit */
	vs.n = 0;
	assert_int_equal(hg_store_list(fx->s, 2, collect_version, &vs), 0);
	assert_int_equal(vs.n, 2);
	assert_int_equal(vs.v[0].version, n);
}

/* ------------------------------------------------------------- refusals */

struct refuse_case {
	const char *what;
	const char *config;
	const char *where;	/* must appear in the error */
};

static const struct refuse_case refuse_cases[] = {
	{ "no config at all", NULL, "no config text" },
	{ "JSON syntax error names line and column",
	  "{\n  \"workers\": 2,\n  \"log\": {\"level\": }\n}", "line 3" },
	{ "wrong type names the pointer", "{\"workers\":\"two\"}",
	  "/workers" },
	{ "unknown key", "{\"workres\":1}", "/workres" },
	{ "bad address", "{\"interfaces\":[{\"name\":\"lan0\","
	  "\"port\":\"null\",\"addresses\":[\"10.0.0.300/24\"]}]}",
	  "/interfaces/0/addresses/0" },
	{ "route via an unknown interface", "{\"routes\":[{\"prefix\":"
	  "\"0.0.0.0/0\",\"via\":\"10.0.0.1\",\"interface\":\"nope0\"}]}",
	  "/routes/0" },
	{ "bad log level", "{\"log\":{\"level\":\"loud\"}}", "/log/level" },
	{ "data plane check refuses", "{\"workers\":7}",
	  "data plane: rule 3: unknown interface wan9" },
};

/* Stands in for the daemon's "can the data plane take this". */
static int
refuse_seven_workers(void *arg, const struct hg_store_doc *doc,
    const struct hg_config *cfg, char *err, size_t err_len)
{
	int *calls = arg;

	(*calls)++;
	if (strstr(doc->config, "\"workers\":7") != NULL) {
		snprintf(err, err_len, "data plane: rule 3: unknown interface "
		    "wan9");
		return -EINVAL;
	}
	return 0;
}

static int
count_audit_row(void *arg, const struct hg_store_audit_row *row)
{
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned
count_audit(struct hg_store *s)
{
	unsigned n = 0;

	assert_int_equal(hg_store_audit_list(s, 0, count_audit_row, &n), 0);
	return n;
}

static int
count_version(void *arg, const struct hg_store_version *v)
{
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned
count_versions(struct hg_store *s)
{
	unsigned n = 0;

	assert_int_equal(hg_store_list(s, 0, count_version, &n), 0);
	return n;
}

static void
test_refused(void **state)
{
	struct fixture *fx = *state;
	struct versions vs;
	uint64_t v, cur;
	unsigned audits;
	size_t i;
	int calls = 0;
	char err[256];

	hg_store_set_check(fx->s, refuse_seven_workers, &calls);
	must_commit(fx->s, CFG_A, "*filter\nCOMMIT\n", &alice);
	audits = count_audit(fx->s);
	for (i = 0; i < HG_ARRAY_SIZE(refuse_cases); i++) {
		const struct refuse_case *c = &refuse_cases[i];
		struct hg_store_doc doc = { .config = (char *)c->config,
		    .rules = "*filter\n-A FORWARD -j DROP\nCOMMIT\n" };
		int rc;

		err[0] = '\0';
		v = 12345;
		rc = hg_store_commit(fx->s, &doc, &bob, &v, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("%s: rc %d, want -EINVAL", c->what, rc);
		if (strstr(err, c->where) == NULL)
			fail_msg("%s: error \"%s\" does not name \"%s\"",
			    c->what, err, c->where);
		if (v != 12345)
			fail_msg("%s: version written on refusal", c->what);
		assert_int_equal(hg_store_current(fx->s, &cur), 0);
		if (cur != 1)
			fail_msg("%s: current moved to %" PRIu64, c->what, cur);
		list_versions(fx->s, &vs);
		if (vs.n != 1)
			fail_msg("%s: %u version rows", c->what, vs.n);
		if (count_audit(fx->s) != audits)
			fail_msg("%s: audit row written", c->what);
	}
	assert_int_equal(calls, 2);	/* v1, and the one that parsed */
	/* The check guards rollbacks too. */
	hg_store_set_check(fx->s, NULL, NULL);
	must_commit(fx->s, "{\"workers\":7}", NULL, &alice);
	must_commit(fx->s, CFG_A, NULL, &alice);
	hg_store_set_check(fx->s, refuse_seven_workers, &calls);
	assert_int_equal(hg_store_rollback(fx->s, 2, &bob, &v, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown interface wan9"));
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, 3);
}

/* ------------------------------------------------------------- rollback */

static void
test_rollback(void **state)
{
	struct fixture *fx = *state;
	struct hg_store_doc a = { .config = CFG_A, .rules = "A\n" };
	struct hg_store_doc b = { .config = CFG_B, .rules = "B\n",
	    .sets = "S\n" };
	struct versions vs;
	struct audits *as = malloc(sizeof(*as));
	uint64_t v1, v2, v3, cur;
	char err[256];

	assert_non_null(as);
	v1 = must_commit(fx->s, a.config, a.rules, &alice);
	assert_int_equal(hg_store_commit(fx->s, &b, &alice, &v2, err,
	    sizeof(err)), 0);
	assert_int_equal(hg_store_rollback(fx->s, v1, &bob, &v3, err,
	    sizeof(err)), 0);
	assert_int_equal(v3, 3);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, 3);
	assert_doc("rollback copies v1", fx->s, v3, &a);
	assert_doc("history kept", fx->s, v2, &b);
	assert_doc("history kept", fx->s, v1, &a);
	list_versions(fx->s, &vs);
	assert_int_equal(vs.n, 3);
	assert_int_equal(vs.v[0].restored_from, v1);
	assert_string_equal(vs.v[0].author, "bob");
	assert_string_equal(vs.v[0].comment, "rollback to version 1");
	list_audit(fx->s, as);
	assert_string_equal(as->r[0].action, HG_STORE_ACT_ROLLBACK);
	assert_int_equal(as->r[0].version, v3);
	assert_string_equal(as->r[0].detail, "to version 1");
	assert_int_equal(hg_store_rollback(fx->s, 99, &bob, &v3, err,
	    sizeof(err)), -ENOENT);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, 3);
	free(as);
}

/* ----------------------------------------------------------------- diff */

static void
test_diff_versions(void **state)
{
	struct fixture *fx = *state;
	uint64_t v1, v2;
	char *out;
	static const char want[] =
	    "--- config.json (version 1)\n"
	    "+++ config.json (version 2)\n"
	    "@@ -2,5 +2,5 @@\n"
	    "   \"log\": {\n"
	    "     \"level\": \"info\"\n"
	    "   },\n"
	    "-  \"workers\": 1\n"
	    "+  \"workers\": 2\n"
	    " }\n"
	    "--- rules.v4 (version 1)\n"
	    "+++ rules.v4 (version 2)\n"
	    "@@ -1,3 +1,4 @@\n"
	    " *filter\n"
	    "+-A FORWARD -s 10.0.0.0/8 -j ACCEPT\n"
	    " -A FORWARD -j DROP\n"
	    " COMMIT\n";

	/* CFG_A and CFG_B order their keys differently: that must not show. */
	v1 = must_commit(fx->s, CFG_A, "*filter\n-A FORWARD -j DROP\nCOMMIT\n",
	    &alice);
	v2 = must_commit(fx->s, CFG_B, "*filter\n-A FORWARD -s 10.0.0.0/8 "
	    "-j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n", &alice);
	assert_int_equal(hg_store_diff(fx->s, v1, v2, &out), 0);
	assert_string_equal(out, want);
	free(out);
	assert_int_equal(hg_store_diff(fx->s, v1, v1, &out), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(hg_store_diff(fx->s, v1, 42, &out), -ENOENT);
}

struct diff_case {
	const char *what;
	const char *a, *b;	/* rules texts */
	const char *want;	/* after the two header lines */
};

#define L10 "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"

static const struct diff_case diff_cases[] = {
	{ "same text says nothing", "x\ny\n", "x\ny\n", NULL },
	{ "missing trailing newline is the same lines", "x\ny", "x\ny\n",
	  NULL },
	{ "from nothing", NULL, "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n" },
	{ "to nothing", "a\nb\n", "", "@@ -1,2 +0,0 @@\n-a\n-b\n" },
	{ "insert at the top", "b\nc\n", "a\nb\nc\n",
	  "@@ -1,2 +1,3 @@\n+a\n b\n c\n" },
	{ "delete at the end", L10, "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
	  "@@ -7,4 +7,3 @@\n 7\n 8\n 9\n-10\n" },
	{ "insert into the middle: ',1' left out, line before named",
	  "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nx\n5\n6\n7\n8\n",
	  "@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+x\n 5\n 6\n 7\n" },
	{ "one line file changed", "a\n", "b\n", "@@ -1 +1 @@\n-a\n+b\n" },
	{ "changes 7 lines apart make two hunks", L10 "11\n12\n",
	  "1\nX\n3\n4\n5\n6\n7\n8\n9\nY\n11\n12\n",
	  "@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n"
	  "@@ -7,6 +7,6 @@\n 7\n 8\n 9\n-10\n+Y\n 11\n 12\n" },
	{ "changes 6 lines apart make one hunk", L10, "1\nX\n3\n4\n5\n6\n7\n"
	  "8\nY\n10\n",
	  "@@ -1,10 +1,10 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+Y\n"
	  " 10\n" },
	{ "LCS keeps a common line, deletions first", "a\nb\nc\nd\n",
	  "c\nb\nx\nd\n", "@@ -1,4 +1,4 @@\n-a\n-b\n c\n+b\n+x\n d\n" },
};

static void
test_diff_table(void **state)
{
	struct hg_store_doc a = { .config = "{}" }, b = { .config = "{}" };
	char want[512], *out;
	size_t i;

	(void)state;
	for (i = 0; i < HG_ARRAY_SIZE(diff_cases); i++) {
		const struct diff_case *c = &diff_cases[i];

		a.rules = (char *)c->a;
		b.rules = (char *)c->b;
		if (c->want != NULL)
			snprintf(want, sizeof(want), "--- rules.v4 (A)\n"
			    "+++ rules.v4 (B)\n%s", c->want);
		else
			want[0] = '\0';
		assert_int_equal(hg_store_diff_docs(&a, "A", &b, "B", &out), 0);
		if (strcmp(out, want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->what, out, want);
		free(out);
	}
}

/* A diff too large for the table still says what changed. */
static void
test_diff_large(void **state)
{
	struct hg_store_doc a = { .config = "{}" }, b = { .config = "{}" };
	size_t i, n = 5000;
	char *ta, *tb, *pa, *pb, *out;

	(void)state;
	ta = malloc(n * 16);
	tb = malloc(n * 16);
	assert_non_null(ta);
	assert_non_null(tb);
	pa = ta;
	pb = tb;
	for (i = 0; i < n; i++) {
		pa += sprintf(pa, "a%zu\n", i);
		pb += sprintf(pb, "b%zu\n", i);
	}
	a.rules = ta;
	b.rules = tb;
	assert_int_equal(hg_store_diff_docs(&a, "A", &b, "B", &out), 0);
	assert_non_null(strstr(out, "@@ -1,5000 +1,5000 @@\n-a0\n"));
	assert_non_null(strstr(out, "-a4999\n+b0\n"));
	free(out);
	free(ta);
	free(tb);
}

/* ------------------------------------------------------- commit-confirm */

static const uint64_t S = 1000000000ull;

static void
test_confirm(void **state)
{
	struct fixture *fx = *state;
	struct versions vs;
	uint64_t v1, v2, nv, pv, dl, cur, now = hg_store_now_ns();
	struct hg_store_doc b = { .config = CFG_B };
	char err[256];

	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice,
	    now + 60 * S, &v2, err, sizeof(err)), -ENOENT);
	v1 = must_commit(fx->s, CFG_A, NULL, &alice);
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice,
	    now + 60 * S, &v2, err, sizeof(err)), 0);
	assert_int_equal(v2, v1 + 1);
	assert_int_equal(hg_store_pending(fx->s, &pv, &dl), 0);
	assert_int_equal(pv, v2);
	assert_int_equal(dl, now + 60 * S);
	/* Nothing else commits while a version awaits confirmation. */
	assert_int_equal(hg_store_commit(fx->s, &b, &bob, &nv, err,
	    sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "version 2 is pending"));
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &bob, now + S,
	    &nv, err, sizeof(err)), -EBUSY);
	assert_int_equal(hg_store_confirm(fx->s, v1, &bob, err, sizeof(err)),
	    -ENOENT);
	assert_int_equal(hg_store_confirm(fx->s, v2, &bob, err, sizeof(err)),
	    0);
	assert_int_equal(hg_store_pending(fx->s, &pv, &dl), -ENOENT);
	assert_int_equal(hg_store_confirm(fx->s, v2, &bob, err, sizeof(err)),
	    -ENOENT);
	/* Confirmed stays, however late the expiry runs. */
	assert_int_equal(hg_store_expire(fx->s, now + 3600 * S, &nv), 0);
	assert_int_equal(nv, 0);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, v2);
	list_versions(fx->s, &vs);
	assert_int_equal(vs.v[0].state, HG_STORE_CONFIRMED);
	assert_int_equal(vs.v[0].deadline_ns, now + 60 * S);
}

static void
test_confirm_expired(void **state)
{
	struct fixture *fx = *state;
	struct versions vs;
	struct audits *as = malloc(sizeof(*as));
	struct hg_store_doc a = { .config = CFG_A, .rules = "A\n" };
	struct hg_store_doc b = { .config = CFG_B, .rules = "B\n" };
	uint64_t v1, v2, v3, nv, cur, now = hg_store_now_ns();
	char err[256];

	assert_non_null(as);
	v1 = must_commit(fx->s, a.config, a.rules, &alice);
	/* A rolled-back pending version is not a fallback. */
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice,
	    now + 10 * S, &v2, err, sizeof(err)), 0);
	assert_int_equal(hg_store_expire(fx->s, now + 10 * S - 1, &nv), 0);
	assert_int_equal(nv, 0);
	assert_int_equal(hg_store_expire(fx->s, now + 10 * S, &nv), 0);
	assert_int_equal(nv, v2 + 1);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, nv);
	assert_doc("auto-rollback restores v1", fx->s, nv, &a);
	list_versions(fx->s, &vs);
	assert_int_equal(vs.v[0].restored_from, v1);
	assert_int_equal(vs.v[0].state, HG_STORE_CONFIRMED);
	assert_int_equal(vs.v[1].state, HG_STORE_ROLLED_BACK);
	assert_string_equal(vs.v[0].author, "hexgated");
	list_audit(fx->s, as);
	assert_string_equal(as->r[0].action, HG_STORE_ACT_AUTO_ROLLBACK);
	assert_int_equal(as->r[0].version, nv);
	assert_non_null(strstr(as->r[0].detail, "version 2 not confirmed"));
	/* Too late to confirm, and nothing left pending. */
	assert_int_equal(hg_store_confirm(fx->s, v2, &bob, err, sizeof(err)),
	    -ENOENT);
	/* A confirm after the deadline but before the timer ran is refused. */
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice, now - 1,
	    &v3, err, sizeof(err)), 0);
	assert_int_equal(hg_store_confirm(fx->s, v3, &bob, err, sizeof(err)),
	    -ETIMEDOUT);
	assert_int_equal(hg_store_expire(fx->s, hg_store_now_ns(), &nv), 0);
	assert_int_equal(nv, v3 + 1);
	assert_doc("second auto-rollback restores v1's content", fx->s, nv,
	    &a);
	/* A manual rollback abandons a pending version. */
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice,
	    now + 60 * S, &v3, err, sizeof(err)), 0);
	assert_int_equal(hg_store_rollback(fx->s, v1, &bob, &nv, err,
	    sizeof(err)), 0);
	assert_int_equal(hg_store_pending(fx->s, &cur, &cur), -ENOENT);
	list_audit(fx->s, as);
	assert_non_null(strstr(as->r[0].detail, "pending version 6 abandoned"));
	free(as);
}

static void
test_confirm_expired_while_closed(void **state)
{
	struct fixture *fx = *state;
	struct versions vs;
	struct audits *as = malloc(sizeof(*as));
	struct hg_store_doc a = { .config = CFG_A, .sets = "A\n" };
	struct hg_store_doc b = { .config = CFG_B };
	uint64_t v1, v2, v3, cur, deadline;
	char err[256];

	assert_non_null(as);
	v1 = must_commit(fx->s, a.config, NULL, &alice);
	/* The newest confirmed version is the fallback, not the first. */
	assert_int_equal(hg_store_commit(fx->s, &a, &alice, &v1, err,
	    sizeof(err)), 0);
	/* A second: time for the first reopen, even on a loaded machine. */
	deadline = hg_store_now_ns() + S;
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice, deadline,
	    &v2, err, sizeof(err)), 0);
	/* A pending version still in time survives a reopen. */
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice, 1, &v3,
	    err, sizeof(err)), -EBUSY);
	fx_reopen(fx);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, v2);
	assert_int_equal(hg_store_pending(fx->s, &v3, &cur), 0);
	assert_int_equal(v3, v2);
	hg_store_close(fx->s);
	fx->s = NULL;
	while (hg_store_now_ns() <= deadline)
		usleep(20 * 1000);
	fx_reopen(fx);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, v2 + 1);
	assert_doc("rolled back at open", fx->s, cur, &a);
	list_versions(fx->s, &vs);
	assert_int_equal(vs.v[0].restored_from, v1);
	assert_int_equal(vs.v[1].state, HG_STORE_ROLLED_BACK);
	list_audit(fx->s, as);
	assert_string_equal(as->r[0].action, HG_STORE_ACT_AUTO_ROLLBACK);
	assert_non_null(strstr(as->r[0].detail, "while the store was closed"));
	free(as);
}

/* ---------------------------------------------------------------- audit */

struct audit_want {
	const char *action;
	const char *author;
	uint64_t version;
	const char *detail;	/* fragment; NULL: any */
};

static void
test_audit(void **state)
{
	struct fixture *fx = *state;
	struct audits *as = malloc(sizeof(*as));
	struct hg_store_doc b = { .config = CFG_B };
	uint64_t v, id, now = hg_store_now_ns();
	char err[256];
	size_t i;
	/* oldest first, as done below */
	static const struct audit_want want[] = {
		{ HG_STORE_ACT_COMMIT, "alice", 1, "first" },
		{ HG_STORE_ACT_COMMIT_PENDING, "bob", 2, "falls back to "
		  "version 1" },
		{ HG_STORE_ACT_CONFIRM, "alice", 2, NULL },
		{ HG_STORE_ACT_ROLLBACK, "bob", 3, "to version 1" },
		{ HG_STORE_ACT_COMMIT_PENDING, "alice", 4, NULL },
		{ HG_STORE_ACT_AUTO_ROLLBACK, "hexgated", 5, "version 4 not "
		  "confirmed" },
		{ HG_STORE_ACT_TOKEN_ADD, "alice", 0, "token 1 \"ci\"" },
		{ HG_STORE_ACT_TOKEN_REVOKE, "bob", 0, "token 1" },
		{ "login-failed", "mallory", 0, "bad token" },
	};
	const struct hg_store_who mallory = { "mallory", "203.0.113.9:1", NULL };

	assert_non_null(as);
	must_commit(fx->s, CFG_A, NULL, &alice);
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &bob, now + 60 * S,
	    &v, err, sizeof(err)), 0);
	assert_int_equal(hg_store_confirm(fx->s, v, &alice, err, sizeof(err)),
	    0);
	assert_int_equal(hg_store_rollback(fx->s, 1, &bob, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(hg_store_commit_pending(fx->s, &b, &alice,
	    now + 60 * S, &v, err, sizeof(err)), 0);
	assert_int_equal(hg_store_expire(fx->s, now + 61 * S, &v), 0);
	assert_int_equal(hg_store_token_add(fx->s, "ci", "h1", 0, &alice, &id),
	    0);
	assert_int_equal(hg_store_token_revoke(fx->s, id, &bob), 0);
	assert_int_equal(hg_store_audit(fx->s, &mallory, "login-failed",
	    "bad token"), 0);
	list_audit(fx->s, as);
	assert_int_equal(as->n, HG_ARRAY_SIZE(want));
	for (i = 0; i < HG_ARRAY_SIZE(want); i++) {
		const struct audit_want *w = &want[i];
		unsigned k = (unsigned)(as->n - 1 - i);

		if (strcmp(as->r[k].action, w->action) != 0 ||
		    strcmp(as->r[k].author, w->author) != 0 ||
		    as->r[k].version != w->version ||
		    (w->detail != NULL && strstr(as->r[k].detail,
		    w->detail) == NULL))
			fail_msg("audit row %zu: got %s by %s v%" PRIu64
			    " \"%s\", want %s by %s v%" PRIu64 " \"%s\"", i,
			    as->r[k].action, as->r[k].author, as->r[k].version,
			    as->r[k].detail, w->action, w->author, w->version,
			    w->detail != NULL ? w->detail : "*");
	}
	/* where from */
	assert_string_equal(as->r[as->n - 1].source, "192.0.2.10:40000");
	assert_string_equal(as->r[0].source, "203.0.113.9:1");
	/* The token's hash never reaches the audit. */
	for (i = 0; i < as->n; i++)
		assert_null(strstr(as->r[i].detail, "h1"));
	free(as);
}

/* --------------------------------------------------------------- tokens */

static int
collect_token(void *arg, const struct hg_store_token *t)
{
	struct hg_store_token *ts = arg;

	ts[t->id - 1] = *t;
	return 0;
}

static void
test_tokens(void **state)
{
	struct fixture *fx = *state;
	struct hg_store_token t, ts[4];
	uint64_t id1, id2, id3, now = hg_store_now_ns();
	char longname[HG_STORE_TOKEN_NAME_MAX + 1];

	assert_int_equal(hg_store_token_add(fx->s, "ci", "aa11", 0, &alice,
	    &id1), 0);
	assert_int_equal(hg_store_token_add(fx->s, "short", "bb22", now + S,
	    &alice, &id2), 0);
	assert_int_equal(hg_store_token_add(fx->s, "other", "aa11", 0, &alice,
	    &id3), -EEXIST);
	assert_int_equal(hg_store_token_add(fx->s, "ci", "cc33", 0, &alice,
	    &id3), -EEXIST);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(hg_store_token_add(fx->s, longname, "dd44", 0,
	    &alice, &id3), -ENAMETOOLONG);

	assert_int_equal(hg_store_token_find_by_hash(fx->s, "aa11", now, &t),
	    0);
	assert_int_equal(t.id, id1);
	assert_string_equal(t.name, "ci");
	assert_int_equal(hg_store_token_find_by_hash(fx->s, "bb22", now, &t),
	    0);
	assert_int_equal(hg_store_token_find_by_hash(fx->s, "bb22", now + S,
	    &t), -EKEYEXPIRED);
	assert_string_equal(t.name, "short");
	assert_int_equal(hg_store_token_find_by_hash(fx->s, "zz", now, &t),
	    -ENOENT);

	assert_int_equal(hg_store_token_revoke(fx->s, id1, &bob), 0);
	assert_int_equal(hg_store_token_revoke(fx->s, id1, &bob), -ENOENT);
	assert_int_equal(hg_store_token_revoke(fx->s, 99, &bob), -ENOENT);
	assert_int_equal(hg_store_token_find_by_hash(fx->s, "aa11", now, &t),
	    -EKEYREVOKED);
	/* A revoked token's name is free again. */
	assert_int_equal(hg_store_token_add(fx->s, "ci", "cc33", 0, &alice,
	    &id3), 0);
	assert_int_equal(id3, 3);

	memset(ts, 0, sizeof(ts));
	assert_int_equal(hg_store_token_list(fx->s, collect_token, ts), 0);
	assert_true(ts[0].revoked);
	assert_false(ts[1].revoked);
	assert_int_equal(ts[1].expires_ns, now + S);
	assert_string_equal(ts[2].name, "ci");
	assert_int_equal(ts[3].id, 0);
}

/* --------------------------------------------------------------- schema */

static void
test_schema_newer_refused(void **state)
{
	struct fixture *fx = *state;
	struct hg_store *s2;
	sqlite3 *db;
	char err[256];

	hg_store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET "
	    "version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(hg_store_open(&s2, fx->path, err, sizeof(err)),
	    -EPROTO);
	assert_non_null(strstr(err, "schema version 99 is newer"));
	/* Put it back for the teardown's close. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET "
	    "version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fx_reopen(fx);
	assert_int_equal(hg_store_check(fx->s, err, sizeof(err)), 0);
}

/* ------------------------------------------------- processes at once */

/* What a child reports per acknowledged commit: fits PIPE_BUF, so whole. */
struct ack {
	uint64_t version;	/* 0: the child failed */
	uint32_t round, seq;
};

/* The exact document a child commits as (round, seq); rebuilt to check. */
static void
doc_for(uint32_t round, uint32_t seq, struct hg_store_doc *doc)
{
	size_t i, nlines = (seq * 7919u + round * 104729u) % 400;
	char *p;

	doc->config = malloc(64);
	doc->rules = malloc(64 + nlines * 48);
	assert_non_null(doc->config);
	assert_non_null(doc->rules);
	snprintf(doc->config, 64, "{\"workers\":%u}", 1 + (seq + round) % 64);
	p = doc->rules;
	p += sprintf(p, "*filter\n# round %u seq %u\n", round, seq);
	for (i = 0; i < nlines; i++)
		p += sprintf(p, "-A FORWARD -s 10.%u.%zu.%zu/32 -j ACCEPT\n",
		    round % 256, (i / 256) % 256, i % 256);
	sprintf(p, "COMMIT\n");
	doc->rules6 = NULL;
	doc->sets = seq % 3 == 0 ? strdup("create s hash:ip\n") : NULL;
}

/* The child: commits from seq on until killed or n done; never returns. */
static void
committer(const char *path, uint32_t round, uint32_t seq0, uint32_t n,
    int fd)
{
	const struct hg_store_who who = { "child", "pipe", "crash test" };
	struct hg_store *s;
	struct hg_store_doc doc;
	struct ack ack = { 0 };
	char err[256];
	uint32_t i;

	if (hg_store_open(&s, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "child open: %s\n", err);
		(void)!write(fd, &ack, sizeof(ack));
		_exit(1);
	}
	for (i = 0; n == 0 || i < n; i++) {
		doc_for(round, seq0 + i, &doc);
		ack.round = round;
		ack.seq = seq0 + i;
		ack.version = 0;
		if (hg_store_commit(s, &doc, &who, &ack.version, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "child commit: %s\n", err);
			ack.version = 0;
		}
		hg_store_doc_free(&doc);
		/* Acknowledge only what commit returned for. */
		if (write(fd, &ack, sizeof(ack)) != sizeof(ack) ||
		    ack.version == 0)
			_exit(1);
	}
	hg_store_close(s);
	_exit(0);
}

static pid_t
spawn_committer(const char *path, uint32_t round, uint32_t seq0, uint32_t n,
    int *rfd)
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		committer(path, round, seq0, n, fds[1]);
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

/* Reads whole acks until EOF or the deadline; returns how many. */
static size_t
read_acks(int fd, struct ack *acks, size_t max, uint64_t until_ns)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0, have = 0;
	char *buf = (char *)acks;
	ssize_t r;

	for (;;) {
		if (until_ns != 0) {
			uint64_t now = hg_store_now_ns();

			if (now >= until_ns)
				break;
			if (poll(&pfd, 1, (int)((until_ns - now) / 1000000 +
			    1)) <= 0)
				continue;
		}
		if (have == max * sizeof(*acks))
			fail_msg("more than %zu acks", max);
		r = read(fd, buf + have, max * sizeof(*acks) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	n = have / sizeof(*acks);
	return n;
}

static void
check_acks(struct hg_store *s, const struct ack *acks, size_t n,
    const char *what)
{
	struct hg_store_doc want;
	char label[96];
	size_t i;

	for (i = 0; i < n; i++) {
		if (acks[i].version == 0)
			fail_msg("%s: a child failed to commit (seq %u)", what,
			    acks[i].seq);
		doc_for(acks[i].round, acks[i].seq, &want);
		snprintf(label, sizeof(label), "%s: round %u seq %u version %"
		    PRIu64, what, acks[i].round, acks[i].seq, acks[i].version);
		assert_doc(label, s, acks[i].version, &want);
		hg_store_doc_free(&want);
	}
}

static int
cmp_ack_version(const void *a, const void *b)
{
	const struct ack *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

#define WRITERS		2
#define WRITER_COMMITS	40

static void
test_concurrent_writers(void **state)
{
	struct fixture *fx = *state;
	struct ack acks[WRITERS * WRITER_COMMITS + 1];
	size_t n = 0, i;
	int fds[WRITERS], status;
	pid_t pids[WRITERS];

	for (i = 0; i < WRITERS; i++)
		pids[i] = spawn_committer(fx->path, (uint32_t)i, 0,
		    WRITER_COMMITS, &fds[i]);
	for (i = 0; i < WRITERS; i++) {
		n += read_acks(fds[i], acks + n, HG_ARRAY_SIZE(acks) - n, 0);
		close(fds[i]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(n, WRITERS * WRITER_COMMITS);
	qsort(acks, n, sizeof(acks[0]), cmp_ack_version);
	for (i = 0; i < n; i++)
		if (acks[i].version != i + 1)
			fail_msg("versions not distinct and dense: #%zu is %"
			    PRIu64, i, acks[i].version);
	check_acks(fx->s, acks, n, "concurrent");
	assert_int_equal(count_versions(fx->s), n);
	assert_int_equal(count_audit(fx->s), n);
}

/* ---------------------------------------------------------------- crash */

#define CRASH_ROUNDS	20
#define CRASH_ACKS_MAX	20000

static void
test_crash(void **state)
{
	struct fixture *fx = *state;
	struct ack *acks = calloc(CRASH_ACKS_MAX, sizeof(*acks));
	const char *env = getenv("HG_STORE_CRASH_SEED");
	unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 0) :
	    (unsigned)time(NULL) ^ (unsigned)getpid();
	size_t n = 0, got;
	unsigned round, killed = 0, nv;
	uint64_t delay_ns, cur;
	char err[256];
	int fd, status;
	pid_t pid;

	assert_non_null(acks);
	print_message("crash test seed %u (HG_STORE_CRASH_SEED=%u replays)\n",
	    seed, seed);
	srand(seed);
	/* The parent's own handle must not hold the file across the kills:
	 * each round reopens as the daemon would after a crash. */
	hg_store_close(fx->s);
	fx->s = NULL;
	for (round = 0; round < CRASH_ROUNDS; round++) {
		/* From "while opening" to a few dozen commits in. */
		delay_ns = (uint64_t)(rand() % 120) * 1000000ull;
		pid = spawn_committer(fx->path, round, 0, 0, &fd);
		got = read_acks(fd, acks + n, CRASH_ACKS_MAX - n,
		    hg_store_now_ns() + delay_ns + 1);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else
			fail_msg("round %u: child exited by itself (%d)", round,
			    status);
		/* What it wrote before dying is acknowledged too. */
		got += read_acks(fd, acks + n + got, CRASH_ACKS_MAX - n - got,
		    0);
		close(fd);
		n += got;

		if (hg_store_open(&fx->s, fx->path, err, sizeof(err)) != 0)
			fail_msg("round %u: reopen: %s", round, err);
		if (hg_store_check(fx->s, err, sizeof(err)) != 0)
			fail_msg("round %u: %s", round, err);
		check_acks(fx->s, acks, n, "after crash");
		/* A version and its audit row are one transaction. */
		nv = count_versions(fx->s);
		if (count_audit(fx->s) != nv)
			fail_msg("round %u: %u versions but %u audit rows",
			    round, nv, count_audit(fx->s));
		if (n > 0) {
			assert_int_equal(hg_store_current(fx->s, &cur), 0);
			assert_true(cur >= acks[n - 1].version);
		}
		hg_store_close(fx->s);
		fx->s = NULL;
	}
	print_message("crash test: %u kills, %zu acknowledged commits, all "
	    "present\n", killed, n);
	/* The test proves nothing if no commit was ever acknowledged. */
	assert_true(n > 0);
	fx_reopen(fx);
	free(acks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_get_list,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_diff_versions, fx_setup,
		    fx_teardown),
		cmocka_unit_test(test_diff_table),
		cmocka_unit_test(test_diff_large),
		cmocka_unit_test_setup_teardown(test_confirm, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_confirm_expired, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_confirm_expired_while_closed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_audit, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_tokens, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_schema_newer_refused,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_crash, fx_setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
