/*
 * src/mgmt/store.c: the versioned configuration store behind store.h, on
 * SQLite.  Each change is one IMMEDIATE transaction that appends a row to
 * `versions` and one to `audit`; nothing is ever updated in place except a
 * version's commit-confirm state.  The diff text is in store_diff.c; the
 * config parser this validates with is config.c.
 *
 * Schema (version 1):
 *   schema_version(version)              one row; for future migrations
 *   versions(id, created_ns, author, source, comment, state, deadline_ns,
 *            restored_from, config, rules, rules6, sets)
 *   audit(id, at_ns, author, source, action, version, detail)
 *   tokens(id, name, hash, created_ns, expires_ns, revoked)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"
#include "config.h"
#include "../lib/log.h"

#define STORE_SCHEMA_VERSION	1
/*
 * How long a writer waits for another connection's transaction.  Commits
 * are a few fsyncs; five seconds only runs out when something is wrong.
 */
#define STORE_BUSY_TIMEOUT_MS	5000

/* The stored values of enum hg_store_state: never renumber. */
_Static_assert(HG_STORE_CONFIRMED == 0 && HG_STORE_PENDING == 1 &&
    HG_STORE_ROLLED_BACK == 2, "store states are stored by number");

struct hg_store {
	sqlite3 *db;
	char path[256];
	hg_store_check_fn check;
	void *check_arg;
};

static const char *const store_schema[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE versions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" created_ns INTEGER NOT NULL,"
	" author TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" comment TEXT NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),"
	" deadline_ns INTEGER NOT NULL DEFAULT 0,"
	" restored_from INTEGER REFERENCES versions(id),"
	" config TEXT NOT NULL,"
	" rules TEXT, rules6 TEXT, sets TEXT)",
	/* At most one version is pending; finding it must not scan history. */
	"CREATE INDEX versions_pending ON versions(state) WHERE state = 1",
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at_ns INTEGER NOT NULL,"
	" author TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" version INTEGER REFERENCES versions(id),"
	" detail TEXT NOT NULL)",
	"CREATE TABLE tokens ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL,"
	" hash TEXT NOT NULL UNIQUE,"
	" created_ns INTEGER NOT NULL,"
	" expires_ns INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0)",
	/* A name may be reused once its token is revoked. */
	"CREATE UNIQUE INDEX tokens_live_name ON tokens(name) WHERE revoked = 0",
};

/*
 * Migrations from schema version i + 1 to i + 2 go here, in order; open
 * runs the missing ones in the transaction that checks the version.
 */
static const char *const *const store_migrations[] = { NULL };

/* Who the store names when it acts on its own (automatic rollback). */
static const struct hg_store_who store_self = {
	.author = "hexgated", .source = "local", .comment = NULL,
};

static void st_seterr(char *, size_t, const char *, ...) HG_PRINTF(3, 4);

static void
st_seterr(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

uint64_t
hg_store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *
hg_store_state_name(enum hg_store_state state)
{
	switch (state) {
	case HG_STORE_CONFIRMED:	return "confirmed";
	case HG_STORE_PENDING:		return "pending";
	case HG_STORE_ROLLED_BACK:	return "rolled-back";
	default:			return "?";
	}
}

static int
st_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:	return -EBUSY;
	case SQLITE_NOMEM:	return -ENOMEM;
	case SQLITE_FULL:	return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:	return -EACCES;
	case SQLITE_CANTOPEN:	return -ENOENT;
	case SQLITE_CONSTRAINT:	return -EEXIST;
	case SQLITE_TOOBIG:	return -E2BIG;
	default:		return -EIO;
	}
}

/* Says what failed with SQLite's own words; returns the negative errno. */
static int
st_fail(struct hg_store *s, int rc, const char *what, char *err,
    size_t err_len)
{
	st_seterr(err, err_len, "store %s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
	return st_errno(rc);
}

static int
st_exec(struct hg_store *s, const char *sql, char *err, size_t err_len)
{
	int rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return st_fail(s, rc, sql, err, err_len);
	return 0;
}

static int
st_prepare(struct hg_store *s, const char *sql, sqlite3_stmt **stmt,
    char *err, size_t err_len)
{
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK)
		return st_fail(s, rc, "prepare", err, err_len);
	return 0;
}

/*
 * IMMEDIATE takes the write lock at BEGIN.  A deferred transaction that
 * read first and then wrote could find another connection committed in
 * between and fail with SQLITE_BUSY_SNAPSHOT, which no busy wait cures.
 */
static int
st_begin(struct hg_store *s, char *err, size_t err_len)
{
	return st_exec(s, "BEGIN IMMEDIATE", err, err_len);
}

static int
st_end(struct hg_store *s, int rc, char *err, size_t err_len)
{
	int rc2;

	if (rc == 0) {
		rc2 = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc2 == SQLITE_OK)
			return 0;
		rc = st_fail(s, rc2, "COMMIT", err, err_len);
	}
	/* Nothing of a failed change may stay; after an I/O error SQLite
	 * may have rolled back already, so this one's result is moot. */
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static const char *
st_str(const char *s)
{
	return s != NULL ? s : "";
}

static uint64_t
st_col_u64(sqlite3_stmt *stmt, int col)
{
	return (uint64_t)sqlite3_column_int64(stmt, col);
}

static const char *
st_col_str(sqlite3_stmt *stmt, int col)
{
	const unsigned char *p = sqlite3_column_text(stmt, col);

	return p != NULL ? (const char *)p : "";
}

/* NULL stays NULL: a document without rules differs from empty rules. */
static int
st_bind_text(sqlite3_stmt *stmt, int idx, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(stmt, idx);
	return sqlite3_bind_text(stmt, idx, text, -1, SQLITE_STATIC);
}

/* ---------------------------------------------------------------- open */

static int
st_pragmas(struct hg_store *s, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return st_fail(s, rc, "busy timeout", err, err_len);
	/* The mode is a property of the file; the answer says if it took. */
	if ((rc = st_prepare(s, "PRAGMA journal_mode=WAL", &stmt, err,
	    err_len)) != 0)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = st_fail(s, rc, "journal_mode", err, err_len);
	} else if (strcmp(st_col_str(stmt, 0), "wal") != 0) {
		st_seterr(err, err_len, "store %s: cannot use WAL mode "
		    "(journal mode stays %s)", s->path, st_col_str(stmt, 0));
		rc = -EIO;
	} else {
		rc = 0;
	}
	sqlite3_finalize(stmt);
	if (rc != 0)
		return rc;
	/*
	 * FULL, not WAL's usual NORMAL: NORMAL syncs the log only at
	 * checkpoints, so a commit survives the process dying but not the
	 * machine losing power, and the last acknowledged versions would be
	 * gone.  An acknowledged change is a promise to the operator; one
	 * fsync per commit is cheap at the rate people change config.
	 */
	if ((rc = st_exec(s, "PRAGMA synchronous=FULL", err, err_len)) != 0)
		return rc;
	return st_exec(s, "PRAGMA foreign_keys=ON", err, err_len);
}

static int
st_schema_version(struct hg_store *s, int *version, char *err,
    size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	*version = 0;
	if ((rc = st_prepare(s, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'schema_version'", &stmt, err,
	    err_len)) != 0)
		return rc;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		rc = st_fail(s, sqlite3_errcode(s->db), "schema", err, err_len);
		sqlite3_finalize(stmt);
		return rc;
	}
	rc = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == 0)
		return 0;
	if ((rc = st_prepare(s, "SELECT version FROM schema_version", &stmt,
	    err, err_len)) != 0)
		return rc;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (*version <= 0) {
		st_seterr(err, err_len, "store %s: schema_version is empty",
		    s->path);
		return -EIO;
	}
	return 0;
}

static int
st_schema_create(struct hg_store *s, char *err, size_t err_len)
{
	char sql[64];
	size_t i;
	int rc;

	for (i = 0; i < HG_ARRAY_SIZE(store_schema); i++)
		if ((rc = st_exec(s, store_schema[i], err, err_len)) != 0)
			return rc;
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)",
	    STORE_SCHEMA_VERSION);
	return st_exec(s, sql, err, err_len);
}

static int
st_schema(struct hg_store *s, char *err, size_t err_len)
{
	char sql[64];
	int rc, version;

	if ((rc = st_begin(s, err, err_len)) != 0)
		return rc;
	if ((rc = st_schema_version(s, &version, err, err_len)) != 0)
		goto out;
	if (version == 0) {
		rc = st_schema_create(s, err, err_len);
		goto out;
	}
	if (version > STORE_SCHEMA_VERSION) {
		st_seterr(err, err_len, "store %s: schema version %d is newer "
		    "than this hexgated's (%d)", s->path, version,
		    STORE_SCHEMA_VERSION);
		rc = -EPROTO;
		goto out;
	}
	for (; version < STORE_SCHEMA_VERSION; version++) {
		const char *const *m = store_migrations[version - 1];

		for (; m != NULL && *m != NULL; m++)
			if ((rc = st_exec(s, *m, err, err_len)) != 0)
				goto out;
	}
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
	    STORE_SCHEMA_VERSION);
	rc = st_exec(s, sql, err, err_len);
out:
	return st_end(s, rc, err, err_len);
}

static int st_expire(struct hg_store *, uint64_t, bool, uint64_t *,
    uint64_t *, char *, size_t);

int
hg_store_open(struct hg_store **out, const char *path, char *err,
    size_t err_len)
{
	struct hg_store *s;
	uint64_t new_version, expired;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = s->db != NULL ? st_fail(s, rc, "open", err, err_len) :
		    -ENOMEM;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if ((rc = st_pragmas(s, err, err_len)) != 0)
		goto fail;
	if ((rc = st_schema(s, err, err_len)) != 0)
		goto fail;
	/* The daemon was down past a pending version's deadline: roll back
	 * now, before anyone reads the current version to apply it. */
	if ((rc = st_expire(s, hg_store_now_ns(), true, &new_version,
	    &expired, err, err_len)) != 0)
		goto fail;
	if (new_version != 0)
		hg_log_warnx("store: %s: pending version %" PRIu64 " passed "
		    "its deadline while the store was closed; rolled back as "
		    "version %" PRIu64, path, expired, new_version);
	*out = s;
	return 0;
fail:
	hg_store_close(s);
	return rc;
}

void
hg_store_close(struct hg_store *s)
{
	if (s == NULL)
		return;
	/* sqlite3_close_v2() never fails for want of finalized statements:
	 * none outlive the call that prepared them. */
	sqlite3_close_v2(s->db);
	free(s);
}

void
hg_store_set_check(struct hg_store *s, hg_store_check_fn fn, void *arg)
{
	s->check = fn;
	s->check_arg = arg;
}

/* ----------------------------------------------------------- validating */

/* Parses the config and runs the caller's check; writes nothing. */
static int
st_validate(struct hg_store *s, const struct hg_store_doc *doc, char *err,
    size_t err_len)
{
	struct hg_cfg_errs *errs;
	struct hg_config *cfg;
	int rc = 0;

	if (doc == NULL || doc->config == NULL) {
		st_seterr(err, err_len, "config refused: no config text");
		return -EINVAL;
	}
	if ((errs = calloc(1, sizeof(*errs))) == NULL)
		return -ENOMEM;
	cfg = hg_config_parse(doc->config, strlen(doc->config), errs);
	if (cfg == NULL) {
		if (errs->n > 1)
			st_seterr(err, err_len, "config refused: %s: %s "
			    "(and %u more)", errs->e[0].where, errs->e[0].msg,
			    errs->n - 1);
		else if (errs->n == 1)
			st_seterr(err, err_len, "config refused: %s: %s",
			    errs->e[0].where, errs->e[0].msg);
		else
			st_seterr(err, err_len, "config refused");
		free(errs);
		return -EINVAL;
	}
	free(errs);
	if (s->check != NULL) {
		rc = s->check(s->check_arg, doc, cfg, err, err_len);
		if (rc > 0)
			rc = -rc;
	}
	hg_config_free(cfg);
	return rc;
}

/* --------------------------------------------------------- transactions */

static int
st_insert_version(struct hg_store *s, const struct hg_store_doc *doc,
    const struct hg_store_who *who, enum hg_store_state state,
    uint64_t deadline_ns, uint64_t restored_from, uint64_t now_ns,
    uint64_t *version, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, "INSERT INTO versions (created_ns, author, "
	    "source, comment, state, deadline_ns, restored_from, config, "
	    "rules, rules6, sets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &stmt, err, err_len)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now_ns);
	sqlite3_bind_text(stmt, 2, st_str(who->author), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, st_str(who->source), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, st_str(who->comment), -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, (int)state);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)deadline_ns);
	if (restored_from != 0)
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)restored_from);
	else
		sqlite3_bind_null(stmt, 7);
	sqlite3_bind_text(stmt, 8, doc->config, -1, SQLITE_STATIC);
	st_bind_text(stmt, 9, doc->rules);
	st_bind_text(stmt, 10, doc->rules6);
	st_bind_text(stmt, 11, doc->sets);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, "insert version", err, err_len);
	*version = (uint64_t)sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
st_insert_audit(struct hg_store *s, const struct hg_store_who *who,
    const char *action, uint64_t version, const char *detail,
    uint64_t now_ns, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	if (who == NULL)
		who = &store_self;
	if ((rc = st_prepare(s, "INSERT INTO audit (at_ns, author, source, "
	    "action, version, detail) VALUES (?, ?, ?, ?, ?, ?)", &stmt, err,
	    err_len)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now_ns);
	sqlite3_bind_text(stmt, 2, st_str(who->author), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, st_str(who->source), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, action, -1, SQLITE_STATIC);
	if (version != 0)
		sqlite3_bind_int64(stmt, 5, (sqlite3_int64)version);
	else
		sqlite3_bind_null(stmt, 5);
	sqlite3_bind_text(stmt, 6, st_str(detail), -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, "insert audit", err, err_len);
	return 0;
}

/* One row of one u64 pair from sql with one bound u64; -ENOENT if none. */
static int
st_query_u64(struct hg_store *s, const char *sql, uint64_t arg,
    uint64_t *a, uint64_t *b, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, sql, &stmt, err, err_len)) != 0)
		return rc;
	if (sqlite3_bind_parameter_count(stmt) > 0)
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)arg);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (a != NULL)
			*a = st_col_u64(stmt, 0);
		if (b != NULL && sqlite3_column_count(stmt) > 1)
			*b = st_col_u64(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = st_fail(s, rc, "query", err, err_len);
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int
st_pending(struct hg_store *s, uint64_t *version, uint64_t *deadline_ns,
    char *err, size_t err_len)
{
	return st_query_u64(s, "SELECT id, deadline_ns FROM versions "
	    "WHERE state = 1 ORDER BY id DESC LIMIT 1", 0, version,
	    deadline_ns, err, err_len);
}

/* The newest confirmed version older than before. */
static int
st_last_confirmed(struct hg_store *s, uint64_t before, uint64_t *version,
    char *err, size_t err_len)
{
	return st_query_u64(s, "SELECT id FROM versions WHERE state = 0 "
	    "AND id < ? ORDER BY id DESC LIMIT 1", before, version, NULL,
	    err, err_len);
}

static int
st_set_state(struct hg_store *s, uint64_t version, enum hg_store_state state,
    char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, "UPDATE versions SET state = ? WHERE id = ?",
	    &stmt, err, err_len)) != 0)
		return rc;
	sqlite3_bind_int(stmt, 1, (int)state);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)version);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, "update version", err, err_len);
	return 0;
}

static char *
st_dup_col(sqlite3_stmt *stmt, int col, int *rc)
{
	const unsigned char *p;
	char *copy;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_text(stmt, col);
	if (p == NULL || (copy = strdup((const char *)p)) == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	return copy;
}

static int
st_load_doc(struct hg_store *s, uint64_t version, struct hg_store_doc *out,
    char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = st_prepare(s, "SELECT config, rules, rules6, sets FROM "
	    "versions WHERE id = ?", &stmt, err, err_len)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)version);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rc = 0;
		out->config = st_dup_col(stmt, 0, &rc);
		out->rules = st_dup_col(stmt, 1, &rc);
		out->rules6 = st_dup_col(stmt, 2, &rc);
		out->sets = st_dup_col(stmt, 3, &rc);
		if (rc == 0 && out->config == NULL)
			rc = -EIO;	/* NOT NULL in the schema */
		if (rc != 0)
			hg_store_doc_free(out);
	} else if (rc == SQLITE_DONE) {
		st_seterr(err, err_len, "no version %" PRIu64, version);
		rc = -ENOENT;
	} else {
		rc = st_fail(s, rc, "read version", err, err_len);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* ------------------------------------------------------------- commits */

static int
st_commit(struct hg_store *s, const struct hg_store_doc *doc,
    const struct hg_store_who *who, bool pending, uint64_t deadline_ns,
    uint64_t *version, char *err, size_t err_len)
{
	struct hg_store_who w = who != NULL ? *who : store_self;
	uint64_t v = 0, pv, pdeadline, base, now_ns = hg_store_now_ns();
	char detail[128];
	int rc;

	if ((rc = st_validate(s, doc, err, err_len)) != 0)
		return rc;
	if ((rc = st_begin(s, err, err_len)) != 0)
		return rc;
	/* Checked under the write lock: another connection may have left a
	 * pending version since we last looked. */
	rc = st_pending(s, &pv, &pdeadline, err, err_len);
	if (rc == 0) {
		st_seterr(err, err_len, "version %" PRIu64 " is pending "
		    "confirmation; confirm it or let it roll back first", pv);
		rc = -EBUSY;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	if (pending) {
		rc = st_last_confirmed(s, INT64_MAX, &base, err, err_len);
		if (rc == -ENOENT)
			st_seterr(err, err_len, "commit-confirm needs a "
			    "confirmed version to roll back to; commit one "
			    "first");
		if (rc != 0)
			goto out;
		snprintf(detail, sizeof(detail), "pending until %" PRIu64
		    " ns; falls back to version %" PRIu64, deadline_ns, base);
	} else {
		snprintf(detail, sizeof(detail), "%s", st_str(w.comment));
	}
	if ((rc = st_insert_version(s, doc, &w, pending ? HG_STORE_PENDING :
	    HG_STORE_CONFIRMED, pending ? deadline_ns : 0, 0, now_ns, &v, err,
	    err_len)) != 0)
		goto out;
	rc = st_insert_audit(s, &w, pending ? HG_STORE_ACT_COMMIT_PENDING :
	    HG_STORE_ACT_COMMIT, v, detail, now_ns, err, err_len);
out:
	rc = st_end(s, rc, err, err_len);
	/* Only now is the version on disk and may be acknowledged. */
	if (rc == 0)
		*version = v;
	return rc;
}

int
hg_store_commit(struct hg_store *s, const struct hg_store_doc *doc,
    const struct hg_store_who *who, uint64_t *version, char *err,
    size_t err_len)
{
	return st_commit(s, doc, who, false, 0, version, err, err_len);
}

int
hg_store_commit_pending(struct hg_store *s, const struct hg_store_doc *doc,
    const struct hg_store_who *who, uint64_t deadline_ns, uint64_t *version,
    char *err, size_t err_len)
{
	if (deadline_ns == 0) {
		st_seterr(err, err_len, "commit-confirm needs a deadline");
		return -EINVAL;
	}
	return st_commit(s, doc, who, true, deadline_ns, version, err,
	    err_len);
}

int
hg_store_confirm(struct hg_store *s, uint64_t version,
    const struct hg_store_who *who, char *err, size_t err_len)
{
	uint64_t pv, deadline_ns, now_ns = hg_store_now_ns();
	int rc;

	if ((rc = st_begin(s, err, err_len)) != 0)
		return rc;
	rc = st_pending(s, &pv, &deadline_ns, err, err_len);
	if (rc == -ENOENT || (rc == 0 && pv != version)) {
		st_seterr(err, err_len, "version %" PRIu64 " is not pending "
		    "confirmation", version);
		rc = -ENOENT;
		goto out;
	}
	if (rc != 0)
		goto out;
	/* Too late is too late, even if the expiry timer has not run yet:
	 * the operator must not believe a doomed version is kept. */
	if (deadline_ns <= now_ns) {
		st_seterr(err, err_len, "version %" PRIu64 " passed its "
		    "confirmation deadline; it is being rolled back", version);
		rc = -ETIMEDOUT;
		goto out;
	}
	if ((rc = st_set_state(s, version, HG_STORE_CONFIRMED, err,
	    err_len)) != 0)
		goto out;
	rc = st_insert_audit(s, who, HG_STORE_ACT_CONFIRM, version,
	    who != NULL ? st_str(who->comment) : "", now_ns, err, err_len);
out:
	return st_end(s, rc, err, err_len);
}

/*
 * The automatic rollback.  The fallback content is not validated again: it
 * is what ran before the pending version, and refusing it would leave the
 * unconfirmed version in place, the one outcome commit-confirm exists to
 * prevent.
 */
static int
st_expire(struct hg_store *s, uint64_t now_ns, bool at_open,
    uint64_t *new_version, uint64_t *expired, char *err, size_t err_len)
{
	struct hg_store_who w = store_self;
	struct hg_store_doc doc = { 0 };
	uint64_t pv, deadline_ns, base, v = 0;
	char comment[160];
	int rc;

	*new_version = 0;
	*expired = 0;
	if ((rc = st_begin(s, err, err_len)) != 0)
		return rc;
	rc = st_pending(s, &pv, &deadline_ns, err, err_len);
	if (rc == -ENOENT || (rc == 0 && deadline_ns > now_ns)) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	if ((rc = st_last_confirmed(s, pv, &base, err, err_len)) != 0)
		goto out;	/* -ENOENT: commit_pending refuses that case */
	if ((rc = st_load_doc(s, base, &doc, err, err_len)) != 0)
		goto out;
	snprintf(comment, sizeof(comment), "automatic rollback: version %"
	    PRIu64 " not confirmed by its deadline%s; restored version %"
	    PRIu64, pv, at_open ? ", which passed while the store was closed"
	    : "", base);
	w.comment = comment;
	if ((rc = st_set_state(s, pv, HG_STORE_ROLLED_BACK, err,
	    err_len)) != 0)
		goto out;
	if ((rc = st_insert_version(s, &doc, &w, HG_STORE_CONFIRMED, 0, base,
	    now_ns, &v, err, err_len)) != 0)
		goto out;
	rc = st_insert_audit(s, &w, HG_STORE_ACT_AUTO_ROLLBACK, v, comment,
	    now_ns, err, err_len);
out:
	hg_store_doc_free(&doc);
	rc = st_end(s, rc, err, err_len);
	if (rc == 0) {
		*new_version = v;
		*expired = v != 0 ? pv : 0;
	}
	return rc;
}

int
hg_store_expire(struct hg_store *s, uint64_t now_ns, uint64_t *new_version)
{
	uint64_t expired;
	char err[256];
	int rc;

	rc = st_expire(s, now_ns, false, new_version, &expired, err,
	    sizeof(err));
	if (rc != 0)
		hg_log_warnx("store: %s; pending version stays", err);
	else if (*new_version != 0)
		hg_log_warnx("store: pending version %" PRIu64 " not "
		    "confirmed in time; rolled back as version %" PRIu64,
		    expired, *new_version);
	return rc;
}

int
hg_store_pending(struct hg_store *s, uint64_t *version, uint64_t *deadline_ns)
{
	return st_pending(s, version, deadline_ns, NULL, 0);
}

int
hg_store_rollback(struct hg_store *s, uint64_t version,
    const struct hg_store_who *who, uint64_t *new_version, char *err,
    size_t err_len)
{
	struct hg_store_who w = who != NULL ? *who : store_self;
	struct hg_store_doc doc;
	uint64_t pv, deadline_ns, v = 0, now_ns = hg_store_now_ns();
	char detail[128], comment[64];
	int rc;

	/* Read outside the transaction to validate without holding the lock;
	 * a version's content never changes, so nothing goes stale. */
	if ((rc = st_load_doc(s, version, &doc, err, err_len)) != 0)
		return rc;
	if ((rc = st_validate(s, &doc, err, err_len)) != 0)
		goto out_doc;
	if ((rc = st_begin(s, err, err_len)) != 0)
		goto out_doc;
	snprintf(detail, sizeof(detail), "to version %" PRIu64, version);
	rc = st_pending(s, &pv, &deadline_ns, err, err_len);
	if (rc == 0) {
		rc = st_set_state(s, pv, HG_STORE_ROLLED_BACK, err, err_len);
		snprintf(detail, sizeof(detail), "to version %" PRIu64
		    "; pending version %" PRIu64 " abandoned", version, pv);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	if (rc != 0)
		goto out;
	if (w.comment == NULL || w.comment[0] == '\0') {
		snprintf(comment, sizeof(comment), "rollback to version %"
		    PRIu64, version);
		w.comment = comment;
	}
	if ((rc = st_insert_version(s, &doc, &w, HG_STORE_CONFIRMED, 0,
	    version, now_ns, &v, err, err_len)) != 0)
		goto out;
	rc = st_insert_audit(s, &w, HG_STORE_ACT_ROLLBACK, v, detail, now_ns,
	    err, err_len);
out:
	rc = st_end(s, rc, err, err_len);
	if (rc == 0)
		*new_version = v;
out_doc:
	hg_store_doc_free(&doc);
	return rc;
}

/* -------------------------------------------------------------- reading */

int
hg_store_current(struct hg_store *s, uint64_t *version)
{
	/* Every change appends, rollbacks included: the newest is current. */
	return st_query_u64(s, "SELECT id FROM versions ORDER BY id DESC "
	    "LIMIT 1", 0, version, NULL, NULL, 0);
}

int
hg_store_get(struct hg_store *s, uint64_t version, struct hg_store_doc *out)
{
	return st_load_doc(s, version, out, NULL, 0);
}

void
hg_store_doc_free(struct hg_store_doc *doc)
{
	if (doc == NULL)
		return;
	free(doc->config);
	free(doc->rules);
	free(doc->rules6);
	free(doc->sets);
	memset(doc, 0, sizeof(*doc));
}

int
hg_store_list(struct hg_store *s, unsigned limit, hg_store_version_fn fn,
    void *arg)
{
	struct hg_store_version v;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, "SELECT id, created_ns, author, source, "
	    "comment, state, deadline_ns, restored_from FROM versions "
	    "ORDER BY id DESC LIMIT ?", &stmt, NULL, 0)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, limit != 0 ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&v, 0, sizeof(v));
		v.version = st_col_u64(stmt, 0);
		v.created_ns = st_col_u64(stmt, 1);
		v.author = st_col_str(stmt, 2);
		v.source = st_col_str(stmt, 3);
		v.comment = st_col_str(stmt, 4);
		v.state = (enum hg_store_state)sqlite3_column_int(stmt, 5);
		v.confirmed = v.state == HG_STORE_CONFIRMED;
		v.pending_deadline_ns = st_col_u64(stmt, 6);
		v.restored_from = st_col_u64(stmt, 7);
		if ((rc = fn(arg, &v)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : st_errno(rc);
out:
	sqlite3_finalize(stmt);
	return rc;
}

int
hg_store_diff(struct hg_store *s, uint64_t a, uint64_t b, char **out)
{
	struct hg_store_doc da, db;
	char la[32], lb[32];
	int rc;

	*out = NULL;
	if ((rc = hg_store_get(s, a, &da)) != 0)
		return rc;
	if ((rc = hg_store_get(s, b, &db)) != 0) {
		hg_store_doc_free(&da);
		return rc;
	}
	snprintf(la, sizeof(la), "version %" PRIu64, a);
	snprintf(lb, sizeof(lb), "version %" PRIu64, b);
	rc = hg_store_diff_docs(&da, la, &db, lb, out);
	hg_store_doc_free(&da);
	hg_store_doc_free(&db);
	return rc;
}

/* ---------------------------------------------------------------- audit */

int
hg_store_audit(struct hg_store *s, const struct hg_store_who *who,
    const char *action, const char *detail)
{
	if (action == NULL || action[0] == '\0')
		return -EINVAL;
	return st_insert_audit(s, who, action, 0, detail, hg_store_now_ns(),
	    NULL, 0);
}

int
hg_store_audit_list(struct hg_store *s, unsigned limit, hg_store_audit_fn fn,
    void *arg)
{
	struct hg_store_audit_row row;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, "SELECT id, at_ns, author, source, action, "
	    "version, detail FROM audit ORDER BY id DESC LIMIT ?", &stmt,
	    NULL, 0)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, limit != 0 ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		row.id = st_col_u64(stmt, 0);
		row.at_ns = st_col_u64(stmt, 1);
		row.author = st_col_str(stmt, 2);
		row.source = st_col_str(stmt, 3);
		row.action = st_col_str(stmt, 4);
		row.version = st_col_u64(stmt, 5);
		row.detail = st_col_str(stmt, 6);
		if ((rc = fn(arg, &row)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : st_errno(rc);
out:
	sqlite3_finalize(stmt);
	return rc;
}

/* --------------------------------------------------------------- tokens */

int
hg_store_token_add(struct hg_store *s, const char *name, const char *hash,
    uint64_t expires_ns, const struct hg_store_who *who, uint64_t *id)
{
	uint64_t now_ns = hg_store_now_ns(), new_id = 0;
	sqlite3_stmt *stmt;
	char detail[128];
	int rc;

	if (name == NULL || name[0] == '\0' || hash == NULL || hash[0] == '\0')
		return -EINVAL;
	if (strlen(name) >= HG_STORE_TOKEN_NAME_MAX)
		return -ENAMETOOLONG;
	if ((rc = st_begin(s, NULL, 0)) != 0)
		return rc;
	if ((rc = st_prepare(s, "INSERT INTO tokens (name, hash, created_ns, "
	    "expires_ns) VALUES (?, ?, ?, ?)", &stmt, NULL, 0)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)now_ns);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)expires_ns);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);	/* CONSTRAINT: same hash or live name */
		goto out;
	}
	new_id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	/* The name only: a hash is as good as a secret to a brute-forcer. */
	snprintf(detail, sizeof(detail), "token %" PRIu64 " \"%s\"", new_id,
	    name);
	rc = st_insert_audit(s, who, HG_STORE_ACT_TOKEN_ADD, 0, detail, now_ns,
	    NULL, 0);
out:
	rc = st_end(s, rc, NULL, 0);
	if (rc == 0 && id != NULL)
		*id = new_id;
	return rc;
}

int
hg_store_token_revoke(struct hg_store *s, uint64_t id,
    const struct hg_store_who *who)
{
	sqlite3_stmt *stmt;
	char detail[64];
	int rc;

	if ((rc = st_begin(s, NULL, 0)) != 0)
		return rc;
	if ((rc = st_prepare(s, "UPDATE tokens SET revoked = 1 WHERE id = ? "
	    "AND revoked = 0", &stmt, NULL, 0)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);
		goto out;
	}
	if (sqlite3_changes(s->db) == 0) {
		rc = -ENOENT;
		goto out;
	}
	snprintf(detail, sizeof(detail), "token %" PRIu64, id);
	rc = st_insert_audit(s, who, HG_STORE_ACT_TOKEN_REVOKE, 0, detail,
	    hg_store_now_ns(), NULL, 0);
out:
	return st_end(s, rc, NULL, 0);
}

static void
st_token_row(sqlite3_stmt *stmt, struct hg_store_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = st_col_u64(stmt, 0);
	snprintf(t->name, sizeof(t->name), "%s", st_col_str(stmt, 1));
	t->created_ns = st_col_u64(stmt, 2);
	t->expires_ns = st_col_u64(stmt, 3);
	t->revoked = sqlite3_column_int(stmt, 4) != 0;
}

int
hg_store_token_list(struct hg_store *s, hg_store_token_fn fn, void *arg)
{
	struct hg_store_token t;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = st_prepare(s, "SELECT id, name, created_ns, expires_ns, "
	    "revoked FROM tokens ORDER BY id", &stmt, NULL, 0)) != 0)
		return rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		st_token_row(stmt, &t);
		if ((rc = fn(arg, &t)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : st_errno(rc);
out:
	sqlite3_finalize(stmt);
	return rc;
}

int
hg_store_token_find_by_hash(struct hg_store *s, const char *hash,
    uint64_t now_ns, struct hg_store_token *out)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (hash == NULL)
		return -ENOENT;
	if ((rc = st_prepare(s, "SELECT id, name, created_ns, expires_ns, "
	    "revoked FROM tokens WHERE hash = ?", &stmt, NULL, 0)) != 0)
		return rc;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		st_token_row(stmt, out);
		if (out->revoked)
			rc = -EKEYREVOKED;
		else if (out->expires_ns != 0 && out->expires_ns <= now_ns)
			rc = -EKEYEXPIRED;
		else
			rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* --------------------------------------------------------------- checks */

int
hg_store_check(struct hg_store *s, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	const char *first;
	int rc;

	if ((rc = st_prepare(s, "PRAGMA integrity_check", &stmt, err,
	    err_len)) != 0)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = st_fail(s, rc, "integrity_check", err, err_len);
	} else {
		first = st_col_str(stmt, 0);
		rc = strcmp(first, "ok") == 0 ? 0 : -EIO;
		if (rc != 0)
			st_seterr(err, err_len, "store %s: integrity check: %s",
			    s->path, first);
	}
	sqlite3_finalize(stmt);
	if (rc != 0)
		return rc;
	/* Foreign keys are checked on write only; a file another program
	 * edited could still break them. */
	if ((rc = st_prepare(s, "PRAGMA foreign_key_check", &stmt, err,
	    err_len)) != 0)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		st_seterr(err, err_len, "store %s: foreign key broken in "
		    "table %s row %" PRId64, s->path, st_col_str(stmt, 0),
		    (int64_t)sqlite3_column_int64(stmt, 1));
		rc = -EIO;
	} else {
		rc = rc == SQLITE_DONE ? 0 :
		    st_fail(s, rc, "foreign_key_check", err, err_len);
	}
	sqlite3_finalize(stmt);
	return rc;
}
