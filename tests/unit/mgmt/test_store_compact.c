/*
 * tests/unit/mgmt/test_store_compact.c: proves that the store
 * (src/mgmt/store.c, store_delta.c) keeps its files small and private:
 *
 *  - the delta codec gives back every text byte for byte, against a
 *    table of awkward texts and random edits, and refuses damaged blobs;
 *  - a 10,000-rule set changed 1,000 times, every version kept, stays
 *    under 50 MB (file, -wal and -shm together), the WAL under 2 MiB,
 *    and every version reads back byte-exactly (by hash);
 *  - "store": {"keep_versions": N} deletes the old versions, never the
 *    running one, a pending one or the version that one falls back to;
 *  - the files are 0600, new or left 0644 by an older hexgated;
 *  - a schema-1 store (texts whole) opens, migrated, with every version,
 *    audit row and token as they were, in a smaller file.
 *
 * HG_STORE_BIG_CHANGES sets the big test's number of changes (default
 * 1,000; 200 under AddressSanitizer, where each commit is several times
 * slower).  The other store tests are in test_store.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mgmt/store.h"
#include "mgmt/store_delta.h"

#if defined(__SANITIZE_ADDRESS__)
#define BIG_CHANGES_DEFAULT	200
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_CHANGES_DEFAULT	200
#endif
#endif
#ifndef BIG_CHANGES_DEFAULT
#define BIG_CHANGES_DEFAULT	1000
#endif

#define BIG_RULES		10000
#define BIG_SIZE_MAX		(50ull << 20)	/* the bound */
#define BIG_WAL_MAX		(2ull << 20)

static const struct hg_store_who tester = {
	.author = "tester", .source = "unix", .comment = "change",
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

/* A fresh folder; the store itself is opened by each test. */
static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hg-storec-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/config.db", fx->dir);
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
fx_open(struct fixture *fx)
{
	char err[256];

	hg_store_close(fx->s);
	fx->s = NULL;
	if (hg_store_open(&fx->s, fx->path, err, sizeof(err)) != 0)
		fail_msg("open %s: %s", fx->path, err);
}

static uint64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The store's three files together, as du would count them. */
static uint64_t
fx_bytes(const struct fixture *fx, uint64_t *wal)
{
	char p[128];
	uint64_t n = file_size(fx->path);

	fx_path(fx, "-wal", p, sizeof(p));
	*wal = file_size(p);
	n += *wal;
	fx_path(fx, "-shm", p, sizeof(p));
	return n + file_size(p);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Deterministic: a failure replays. */
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---------------------------------------------------------- delta codec */

static void
roundtrip(const char *what, const char *base, const char *text)
{
	uint8_t *blob;
	size_t blob_len, len;
	char *out;
	int rc;

	assert_int_equal(sd_delta_pack(base, strlen(base), text, strlen(text),
	    &blob, &blob_len), 0);
	rc = sd_delta_unpack(base, strlen(base), blob, blob_len, &out, &len);
	if (rc != 0)
		fail_msg("%s: delta unpack: %d", what, rc);
	if (len != strlen(text) || strcmp(out, text) != 0)
		fail_msg("%s: delta gave \"%s\", want \"%s\"", what, out, text);
	free(out);
	free(blob);
	assert_int_equal(sd_whole_pack(text, strlen(text), &blob, &blob_len),
	    0);
	assert_int_equal(sd_whole_unpack(blob, blob_len, &out, &len), 0);
	if (len != strlen(text) || strcmp(out, text) != 0)
		fail_msg("%s: whole gave \"%s\"", what, out);
	free(out);
	free(blob);
}

static const struct {
	const char *what, *base, *text;
} delta_cases[] = {
	{ "both empty", "", "" },
	{ "from empty", "", "a\nb\n" },
	{ "to empty", "a\nb\n", "" },
	{ "same", "a\nb\nc\n", "a\nb\nc\n" },
	{ "last line without newline", "a\nb\nc\n", "a\nb\nc" },
	{ "newline added to last line", "a\nb\nc", "a\nb\nc\n" },
	{ "one line changed", "a\nb\nc\nd\n", "a\nB\nc\nd\n" },
	{ "lines moved", "1\n2\n3\n4\n5\n", "4\n5\n1\n2\n3\n" },
	{ "repeated lines", "x\nx\nx\ny\nx\n", "x\ny\nx\nx\nx\nx\n" },
	{ "blank lines only", "\n\n\n", "\n\n\n\n" },
	{ "CRLF kept", "a\r\nb\r\n", "a\r\nb\r\nc\r\n" },
	{ "no newline at all", "abc", "abd" },
	{ "all different", "a\nb\n", "c\nd\ne\n" },
	{ "prefix of a line is not the line", "abc\n", "ab\nc\n" },
};

static void
test_delta_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < HG_ARRAY_SIZE(delta_cases); i++)
		roundtrip(delta_cases[i].what, delta_cases[i].base,
		    delta_cases[i].text);
}

/* Random edits of a text with many equal lines: the reference is the
 * edited text itself. */
static void
test_delta_random(void **state)
{
	static const char *const pool[] = { "COMMIT\n", "\n", "-A X -j DROP\n",
	    "-A X -j ACCEPT\n", "*filter\n", "x" };
	char *base = malloc(8192), *text = malloc(8192);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char what[64];
	int round, i, n;

	(void)state;
	assert_non_null(base);
	assert_non_null(text);
	for (round = 0; round < 500; round++) {
		base[0] = text[0] = '\0';
		n = (int)(rnd(&seed) % 60);
		for (i = 0; i < n; i++)
			strcat(base, pool[rnd(&seed) % HG_ARRAY_SIZE(pool)]);
		/* text: base's lines, some dropped, some replaced, some new. */
		for (i = 0; i < n + 5; i++) {
			switch (rnd(&seed) % 4) {
			case 0:
				break;
			default:
				strcat(text, pool[rnd(&seed) %
				    HG_ARRAY_SIZE(pool)]);
			}
		}
		snprintf(what, sizeof(what), "random round %d", round);
		roundtrip(what, base, text);
	}
	free(base);
	free(text);
}

static void
test_delta_damaged(void **state)
{
	const char *base = "a\nb\nc\n", *text = "a\nB\nc\nd\n";
	uint8_t *blob, *bad;
	size_t blob_len, len, i;
	char *out;
	int rc;

	(void)state;
	assert_int_equal(sd_delta_pack(base, strlen(base), text, strlen(text),
	    &blob, &blob_len), 0);
	/* Against another base: the length it was made against differs. */
	assert_int_equal(sd_delta_unpack("a\nb\n", 4, blob, blob_len, &out,
	    &len), -EIO);
	assert_null(out);
	/* Every truncation is refused. */
	for (i = 0; i < blob_len; i++)
		assert_int_equal(sd_delta_unpack(base, strlen(base), blob, i,
		    &out, &len), -EIO);
	/* Every single-byte change is refused or gives some text, never a
	 * crash (ASan watches the reads). */
	bad = malloc(blob_len);
	assert_non_null(bad);
	for (i = 0; i < blob_len * 8; i++) {
		memcpy(bad, blob, blob_len);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = sd_delta_unpack(base, strlen(base), bad, blob_len, &out,
		    &len);
		if (rc == 0)
			free(out);
		else
			assert_int_equal(rc, -EIO);
	}
	free(bad);
	/* Over the limit is refused when packing, not found out on reading
	 * (the lengths are checked before the text is read). */
	assert_int_equal(sd_whole_pack("", (size_t)SD_TEXT_MAX + 1, &bad,
	    &len), -EFBIG);
	assert_int_equal(sd_delta_pack("", 0, "", (size_t)SD_TEXT_MAX + 1,
	    &bad, &len), -EFBIG);
	/* A whole blob that claims more than the limit. */
	assert_int_equal(sd_whole_unpack((const uint8_t *)"\0\xff\xff\xff\xff"
	    "\x0f", 6, &out, &len), -EIO);
	free(blob);
}

/* ---------------------------------------------------- 10,000 rules x N */

struct ruleset {
	unsigned n;
	char (*line)[128];
	char *text;
	size_t cap;
	uint64_t seed;
	unsigned next_id;
};

static void
rule_make(struct ruleset *r, unsigned i, unsigned id)
{
	unsigned port = 1 + (unsigned)(rnd(&r->seed) % 65535);

	snprintf(r->line[i], sizeof(r->line[i]), "-A FORWARD -s 10.%u.%u.%u/32 "
	    "-d 192.0.2.%u/32 -p tcp -m tcp --dport %u -m comment --comment "
	    "\"rule %u\" -j %s\n", (id >> 16) & 255, (id >> 8) & 255, id & 255,
	    id % 251, port, id, port % 7 == 0 ? "DROP" : "ACCEPT");
}

static void
ruleset_init(struct ruleset *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->seed = 0x2545f4914f6cdd1dull;
	r->line = calloc(BIG_RULES + 64, sizeof(*r->line));
	r->cap = (BIG_RULES + 64) * sizeof(*r->line) + 256;
	r->text = malloc(r->cap);
	assert_non_null(r->line);
	assert_non_null(r->text);
	for (i = 0; i < BIG_RULES; i++)
		rule_make(r, i, r->next_id++);
	r->n = BIG_RULES;
}

/* One change: one to three rules get a new port, and now and then a rule
 * is inserted or deleted, as an operator's edits would. */
static void
ruleset_change(struct ruleset *r, unsigned step)
{
	unsigned k, i, n = 1 + (unsigned)(rnd(&r->seed) % 3);

	for (k = 0; k < n; k++)
		rule_make(r, (unsigned)(rnd(&r->seed) % r->n),
		    (unsigned)(rnd(&r->seed) % r->next_id));
	i = (unsigned)(rnd(&r->seed) % r->n);
	if (step % 17 == 0 && r->n < BIG_RULES + 60) {
		memmove(r->line[i + 1], r->line[i],
		    (r->n - i) * sizeof(*r->line));
		rule_make(r, i, r->next_id++);
		r->n++;
	} else if (step % 19 == 0) {
		memmove(r->line[i], r->line[i + 1],
		    (r->n - i - 1) * sizeof(*r->line));
		r->n--;
	}
}

static const char *
ruleset_text(struct ruleset *r)
{
	char *p = r->text;
	unsigned i;
	size_t len;

	p += sprintf(p, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n"
	    ":OUTPUT ACCEPT [0:0]\n");
	for (i = 0; i < r->n; i++) {
		len = strlen(r->line[i]);
		memcpy(p, r->line[i], len);
		p += len;
	}
	strcpy(p, "COMMIT\n");
	return r->text;
}

static uint64_t
text_hash(const char *t)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (t == NULL)
		return 0;
	for (; *t != '\0'; t++) {
		h ^= (uint8_t)*t;
		h *= 0x100000001b3ull;
	}
	return h ^ 1;	/* "" differs from NULL */
}

struct doc_sum {
	uint64_t version;
	uint64_t hash[4];
	size_t len[4];
};

static void
doc_sum(const struct hg_store_doc *d, struct doc_sum *sum)
{
	const char *t[4] = { d->config, d->rules, d->rules6, d->sets };
	int i;

	for (i = 0; i < 4; i++) {
		sum->hash[i] = text_hash(t[i]);
		sum->len[i] = t[i] != NULL ? strlen(t[i]) : (size_t)-1;
	}
}

static unsigned
big_changes(void)
{
	const char *env = getenv("HG_STORE_BIG_CHANGES");

	return env != NULL ? (unsigned)strtoul(env, NULL, 0) :
	    BIG_CHANGES_DEFAULT;
}

/* The texts of change step: the rules, and small rules6, sets, config. */
static void
big_doc(struct ruleset *r, unsigned step, struct hg_store_doc *doc,
    char *config, size_t config_len, char *rules6, size_t rules6_len,
    char *sets, size_t sets_len)
{
	snprintf(config, config_len, "{\"workers\":%u,\"log\":{\"level\":"
	    "\"info\"}}", 1 + step / 100 % 8);
	snprintf(rules6, rules6_len, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT "
	    "-p ipv6-icmp -j ACCEPT\n-A FORWARD -d 2001:db8::%x -j ACCEPT\n"
	    "COMMIT\n", step / 10);
	snprintf(sets, sets_len, "create blocked hash:ip family inet\n"
	    "add blocked 198.51.100.%u\n", step / 25 % 256);
	doc->config = config;
	doc->rules = (char *)ruleset_text(r);
	doc->rules6 = rules6;
	doc->sets = step % 3 == 0 ? NULL : sets;
}

static void
test_big_history(void **state)
{
	struct fixture *fx = *state;
	unsigned changes = big_changes(), step;
	struct doc_sum *sums = calloc(changes + 1, sizeof(*sums));
	char config[96], rules6[256], sets[128], err[256];
	uint64_t t0, t_commit, t_read, bytes, wal, wal_max = 0;
	struct hg_store_doc doc, got;
	struct doc_sum sum;
	struct ruleset r;

	assert_non_null(sums);
	ruleset_init(&r);
	fx_open(fx);
	t0 = now_ms();
	for (step = 0; step <= changes; step++) {
		if (step > 0)
			ruleset_change(&r, step);
		big_doc(&r, step, &doc, config, sizeof(config), rules6,
		    sizeof(rules6), sets, sizeof(sets));
		if (hg_store_commit(fx->s, &doc, &tester, &sums[step].version,
		    err, sizeof(err)) != 0)
			fail_msg("change %u: %s", step, err);
		doc_sum(&doc, &sums[step]);
		(void)fx_bytes(fx, &wal);
		if (wal > wal_max)
			wal_max = wal;
	}
	t_commit = now_ms() - t0;
	bytes = fx_bytes(fx, &wal);
	print_message("store: %u rules x %u changes: %" PRIu64 " bytes "
	    "(file, -wal, -shm), -wal at most %" PRIu64 " bytes; %" PRIu64
	    " ms committing\n", BIG_RULES, changes, bytes, wal_max, t_commit);
	if (bytes >= BIG_SIZE_MAX)
		fail_msg("store is %" PRIu64 " bytes, over %llu", bytes,
		    BIG_SIZE_MAX);
	if (wal_max >= BIG_WAL_MAX)
		fail_msg("the WAL grew to %" PRIu64 " bytes, over %llu",
		    wal_max, BIG_WAL_MAX);

	/* Every version, byte for byte, after a reopen. */
	fx_open(fx);
	t0 = now_ms();
	for (step = 0; step <= changes; step++) {
		if (hg_store_get(fx->s, sums[step].version, &got) != 0)
			fail_msg("version %" PRIu64 " missing",
			    sums[step].version);
		doc_sum(&got, &sum);
		if (memcmp(sum.hash, sums[step].hash, sizeof(sum.hash)) != 0 ||
		    memcmp(sum.len, sums[step].len, sizeof(sum.len)) != 0)
			fail_msg("version %" PRIu64 " (change %u) does not read "
			    "back as committed", sums[step].version, step);
		hg_store_doc_free(&got);
	}
	t_read = now_ms() - t0;
	print_message("store: read back %u versions in %" PRIu64 " ms\n",
	    changes + 1, t_read);
	assert_int_equal(hg_store_check(fx->s, err, sizeof(err)), 0);
	free(r.line);
	free(r.text);
	free(sums);
}

/* ------------------------------------------------------------ retention */

/* A config that keeps the newest keep versions; seq makes it unique. */
static void
keep_config(char *buf, size_t len, unsigned keep, unsigned seq)
{
	snprintf(buf, len, "{\"workers\":%u,\"store\":{\"path\":\"config.db\","
	    "\"keep_versions\":%u}}", seq % 64, keep);
}

static uint64_t
commit_keep(struct hg_store *s, unsigned keep, unsigned seq)
{
	struct hg_store_doc doc = { 0 };
	char config[128], rules[96], err[256];
	uint64_t v = 0;

	keep_config(config, sizeof(config), keep, seq);
	snprintf(rules, sizeof(rules), "*filter\n-A FORWARD -s 10.0.0.%u -j "
	    "ACCEPT\nCOMMIT\n", seq % 256);
	doc.config = config;
	doc.rules = rules;
	if (hg_store_commit(s, &doc, &tester, &v, err, sizeof(err)) != 0)
		fail_msg("commit %u: %s", seq, err);
	return v;
}

static int
count_one(void *arg, const struct hg_store_version *v)
{
	(void)v;
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned
n_versions(struct hg_store *s)
{
	unsigned n = 0;

	assert_int_equal(hg_store_list(s, 0, count_one, &n), 0);
	return n;
}

static bool
has_version(struct hg_store *s, uint64_t v)
{
	struct hg_store_doc d;

	if (hg_store_get(s, v, &d) != 0)
		return false;
	hg_store_doc_free(&d);
	return true;
}

static int
find_prune(void *arg, const struct hg_store_audit_row *row)
{
	if (strcmp(row->action, HG_STORE_ACT_PRUNE) == 0)
		(*(unsigned *)arg)++;
	return 0;
}

/* The frames table through a connection of our own. */
static unsigned
n_frames(const char *path)
{
	sqlite3_stmt *stmt;
	sqlite3 *db;
	unsigned n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM frames",
	    -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = (unsigned)sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static void
test_retention(void **state)
{
	struct fixture *fx = *state;
	struct hg_store_doc doc = { 0 };
	uint64_t v[40], pend, restored, cur;
	char config[128], err[256];
	unsigned i, prunes = 0;

	fx_open(fx);
	/* Without keep_versions (0): everything stays. */
	for (i = 0; i < 10; i++)
		v[i] = commit_keep(fx->s, 0, i);
	assert_int_equal(n_versions(fx->s), 10);
	/* keep_versions 3: the change that says so prunes down to 3. */
	for (i = 10; i < 30; i++) {
		v[i] = commit_keep(fx->s, 3, i);
		assert_int_equal(n_versions(fx->s), 3);
		assert_true(has_version(fx->s, v[i]));	/* the running one */
		assert_true(has_version(fx->s, v[i - 2]));
		assert_false(has_version(fx->s, v[i - 3]));
	}
	assert_false(has_version(fx->s, v[0]));
	/* A rollback to a deleted version names it. */
	assert_int_equal(hg_store_rollback(fx->s, v[5], &tester, &restored,
	    err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no version"));
	/* Frames go with the last version using them. */
	assert_true(n_frames(fx->path) <= 3);
	assert_int_equal(hg_store_audit_list(fx->s, 0, find_prune, &prunes), 0);
	assert_int_equal(prunes, 20);

	/* keep_versions 1 with commit-confirm: the pending version and the
	 * one it falls back to both stay. */
	v[30] = commit_keep(fx->s, 1, 30);
	assert_int_equal(n_versions(fx->s), 1);
	keep_config(config, sizeof(config), 1, 31);
	doc.config = config;
	assert_int_equal(hg_store_commit_pending(fx->s, &doc, &tester,
	    hg_store_now_ns() + 60ull * 1000000000ull, &v[31], err,
	    sizeof(err)), 0);
	assert_int_equal(hg_store_pending(fx->s, &pend, NULL), 0);
	assert_int_equal(pend, v[31]);
	assert_true(has_version(fx->s, v[30]));		/* the fallback */
	assert_true(has_version(fx->s, v[31]));
	/* Its expiry finds the fallback and runs it as the newest. */
	assert_int_equal(hg_store_expire(fx->s, hg_store_now_ns() +
	    120ull * 1000000000ull, &restored), 0);
	assert_true(restored > v[31]);
	assert_int_equal(hg_store_current(fx->s, &cur), 0);
	assert_int_equal(cur, restored);
	assert_true(has_version(fx->s, restored));
	assert_int_equal(n_versions(fx->s), 1);
	/* And back to keeping everything. */
	for (i = 32; i < 36; i++)
		v[i] = commit_keep(fx->s, 0, i);
	assert_int_equal(n_versions(fx->s), 5);
	fx_open(fx);
	assert_int_equal(n_versions(fx->s), 5);
	assert_int_equal(hg_store_check(fx->s, err, sizeof(err)), 0);
}

/* ---------------------------------------------------------------- modes */

static void
assert_mode(const struct fixture *fx, const char *suffix, mode_t want)
{
	char p[128];
	struct stat st;

	fx_path(fx, suffix, p, sizeof(p));
	if (stat(p, &st) != 0)
		fail_msg("%s: %s", p, strerror(errno));
	if ((st.st_mode & 07777) != want)
		fail_msg("%s is mode %04o, want %04o", p,
		    (unsigned)(st.st_mode & 07777), (unsigned)want);
}

static void
test_files_private(void **state)
{
	struct fixture *fx = *state;
	mode_t old = umask(022);
	sqlite3 *db;

	/* New: the daemon's usual umask would give 0644. */
	fx_open(fx);
	(void)commit_keep(fx->s, 0, 1);
	assert_mode(fx, "", 0600);
	assert_mode(fx, "-wal", 0600);
	assert_mode(fx, "-shm", 0600);
	hg_store_close(fx->s);
	fx->s = NULL;

	/* Left 0644 by an older hexgated, -wal and -shm held open by
	 * another connection so that they exist at open. */
	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; "
	    "SELECT count(*) FROM versions", NULL, NULL, NULL), SQLITE_OK);
	{
		char p[128];

		fx_path(fx, "-wal", p, sizeof(p));
		assert_int_equal(chmod(p, 0644), 0);
		fx_path(fx, "-shm", p, sizeof(p));
		assert_int_equal(chmod(p, 0644), 0);
	}
	fx_open(fx);
	assert_mode(fx, "", 0600);
	assert_mode(fx, "-wal", 0600);
	assert_mode(fx, "-shm", 0600);
	sqlite3_close(db);
	umask(old);
}

/* ------------------------------------------------------------ migration */

/* Schema 1 as hexgated wrote it before versions were packed. */
static const char *const schema_1[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"INSERT INTO schema_version VALUES (1)",
	"CREATE TABLE versions (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" created_ns INTEGER NOT NULL, author TEXT NOT NULL,"
	" source TEXT NOT NULL, comment TEXT NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),"
	" deadline_ns INTEGER NOT NULL DEFAULT 0,"
	" restored_from INTEGER REFERENCES versions(id),"
	" config TEXT NOT NULL, rules TEXT, rules6 TEXT, sets TEXT)",
	"CREATE INDEX versions_pending ON versions(state) WHERE state = 1",
	"CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at_ns INTEGER NOT NULL, author TEXT NOT NULL,"
	" source TEXT NOT NULL, action TEXT NOT NULL,"
	" version INTEGER REFERENCES versions(id), detail TEXT NOT NULL)",
	"CREATE TABLE tokens (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
	" created_ns INTEGER NOT NULL, expires_ns INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0)",
	"CREATE UNIQUE INDEX tokens_live_name ON tokens(name) WHERE revoked = 0",
	"INSERT INTO tokens (name, hash, created_ns) VALUES ('ci', 'abc', 1)",
};

#define MIG_VERSIONS	60
#define MIG_RULES	2000

struct mig_row {
	char author[16];
	uint64_t restored_from;
	struct doc_sum sum;
};

static void
mig_insert(sqlite3 *db, unsigned i, const struct hg_store_doc *d,
    struct mig_row *row)
{
	sqlite3_stmt *stmt;
	const char *t[4] = { d->config, d->rules, d->rules6, d->sets };
	int k;

	snprintf(row->author, sizeof(row->author), "user%u", i);
	row->restored_from = i > 3 && i % 10 == 0 ? i - 3 : 0;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO versions "
	    "(created_ns, author, source, comment, state, restored_from, "
	    "config, rules, rules6, sets) VALUES (?, ?, 'unix', 'old', 0, ?, "
	    "?, ?, ?, ?)", -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)(1700000000ull *
	    1000000000ull + i));
	sqlite3_bind_text(stmt, 2, row->author, -1, SQLITE_STATIC);
	if (row->restored_from != 0)
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)row->restored_from);
	for (k = 0; k < 4; k++)
		if (t[k] != NULL)
			sqlite3_bind_text(stmt, 4 + k, t[k], -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO audit (at_ns, "
	    "author, source, action, version, detail) VALUES (1, ?, 'unix', "
	    "'commit', last_insert_rowid(), 'old')", -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(stmt, 1, row->author, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	doc_sum(d, &row->sum);
}

struct mig_check {
	const struct mig_row *rows;
	unsigned n;
};

static int
mig_check_version(void *arg, const struct hg_store_version *v)
{
	struct mig_check *c = arg;
	const struct mig_row *row;

	assert_true(v->version >= 1 && v->version <= MIG_VERSIONS);
	row = &c->rows[v->version - 1];
	assert_string_equal(v->author, row->author);
	assert_string_equal(v->comment, "old");
	assert_int_equal(v->restored_from, row->restored_from);
	assert_int_equal(v->created_ns, 1700000000ull * 1000000000ull +
	    v->version);
	c->n++;
	return 0;
}

static int
count_audit_row(void *arg, const struct hg_store_audit_row *row)
{
	assert_string_equal(row->detail, "old");
	(*(unsigned *)arg)++;
	return 0;
}

static int
count_token(void *arg, const struct hg_store_token *t)
{
	assert_string_equal(t->name, "ci");
	(*(unsigned *)arg)++;
	return 0;
}

static void
test_migrate_schema_1(void **state)
{
	struct fixture *fx = *state;
	struct mig_row *rows = calloc(MIG_VERSIONS, sizeof(*rows));
	struct mig_check check = { .rows = rows };
	char config[96], rules6[256], sets[128], err[256];
	struct hg_store_doc doc, got;
	struct hg_store_token tok;
	struct ruleset r;
	struct doc_sum sum;
	uint64_t before, after, wal, v;
	unsigned i, n = 0;
	sqlite3 *db;

	assert_non_null(rows);
	ruleset_init(&r);
	r.n = MIG_RULES;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	for (i = 0; i < HG_ARRAY_SIZE(schema_1); i++)
		assert_int_equal(sqlite3_exec(db, schema_1[i], NULL, NULL,
		    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < MIG_VERSIONS; i++) {
		if (i > 0)
			ruleset_change(&r, i);
		big_doc(&r, i, &doc, config, sizeof(config), rules6,
		    sizeof(rules6), sets, sizeof(sets));
		if (i == 7)
			doc.rules = "";		/* empty is not NULL */
		if (i == 8)
			doc.rules = "*filter\nCOMMIT";	/* no final newline */
		mig_insert(db, i + 1, &doc, &rows[i]);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	before = fx_bytes(fx, &wal);

	fx_open(fx);
	after = fx_bytes(fx, &wal);
	print_message("store: schema 1 with %u versions of %u rules: %" PRIu64
	    " bytes; migrated: %" PRIu64 " bytes\n", MIG_VERSIONS, MIG_RULES,
	    before, after);
	for (i = 0; i < MIG_VERSIONS; i++) {
		if (hg_store_get(fx->s, i + 1, &got) != 0)
			fail_msg("version %u lost in the migration", i + 1);
		doc_sum(&got, &sum);
		if (memcmp(&sum.hash, &rows[i].sum.hash, sizeof(sum.hash)) != 0 ||
		    memcmp(&sum.len, &rows[i].sum.len, sizeof(sum.len)) != 0)
			fail_msg("version %u changed in the migration", i + 1);
		hg_store_doc_free(&got);
	}
	assert_int_equal(hg_store_list(fx->s, 0, mig_check_version, &check),
	    0);
	assert_int_equal(check.n, MIG_VERSIONS);
	assert_int_equal(hg_store_audit_list(fx->s, 0, count_audit_row, &n),
	    0);
	assert_int_equal(n, MIG_VERSIONS);
	n = 0;
	assert_int_equal(hg_store_token_list(fx->s, count_token, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hg_store_token_find_by_hash(fx->s, "abc",
	    hg_store_now_ns(), &tok), 0);
	assert_int_equal(hg_store_check(fx->s, err, sizeof(err)), 0);
	/* The whole texts' room is handed back. */
	assert_true(after * 4 < before);
	/* And it goes on: the next version follows the old ones. */
	v = commit_keep(fx->s, 0, 1);
	assert_int_equal(v, MIG_VERSIONS + 1);
	free(r.line);
	free(r.text);
	free(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_table),
		cmocka_unit_test(test_delta_random),
		cmocka_unit_test(test_delta_damaged),
		cmocka_unit_test_setup_teardown(test_big_history, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_retention, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_files_private, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_schema_1,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
