/*
 * src/mgmt/store.c: the versioned configuration store behind store.h, on
 * SQLite.  Each change is one IMMEDIATE transaction that appends a row to
 * `versions` and one to `audit`; nothing is ever updated in place except a
 * version's commit-confirm state.  The diff text is in store_diff.c; the
 * config parser this validates with is config.c; how a text is packed
 * into a blob is store_delta.c.
 *
 * How versions are stored: keyframes and deltas.  A version's four texts
 * (config, rules, rules6, sets) are never stored whole in its row.  The
 * row names a frame, a whole copy of some version's texts (deflated, in
 * `frames`), and holds each text as a line delta against that frame's
 * (deflated too).  A commit makes its delta against the newest version's
 * frame; it starts a new frame, from its own texts, when that delta would
 * be more than half the frame's size or when the deltas already made
 * against the frame add up to more than the frame (STORE_DELTA_BUDGET).
 * So a 10,000-rule set changed one rule at a time costs one frame (about
 * a tenth of the text, deflated) every few dozen versions and a few
 * hundred bytes a version in between, and the deltas of a frame's versions
 * never cost more than the frame itself.
 *
 * Why deltas against a frame, not against the previous version (reverse
 * or forward chains): reading any version is one frame and one delta, not
 * a walk along a chain; and a version can be deleted (retention) without
 * rewriting its neighbours: a frame is a row of its own, deleted with the
 * last version that uses it.  A frame's content never changes and its id
 * is never reused (AUTOINCREMENT), so the handle caches the last frame it
 * unpacked by id, which other connections cannot make stale.
 *
 * Retention: every version is kept unless the committed config says
 * "store": {"keep_versions": N}; then each change deletes the versions
 * older than the newest N, except the newest (the running one), a pending
 * one and the confirmed one it would fall back to.  The audit log is kept
 * whole; its version numbers may then name deleted versions.
 *
 * The write-ahead log is truncated by a checkpoint after any commit that
 * leaves it over STORE_WAL_CHECKPOINT_PAGES; SQLite's own checkpoints
 * only rewind it, and the file then stays at its largest size.
 *
 * The files hold the audit log and the token hashes: they are created
 * 0600 and made 0600 at open if an older hexgated left them 0644.
 *
 * Schema (version 2; version 1 stored each version's texts whole in
 * versions(config, rules, rules6, sets) TEXT, and open migrates it):
 *   schema_version(version)              one row
 *   frames(id, stored_bytes, delta_bytes, config, rules, rules6, sets)
 *   versions(id, created_ns, author, source, comment, state, deadline_ns,
 *            restored_from, frame, config, rules, rules6, sets)
 *   audit(id, at_ns, author, source, action, version, detail)
 *   tokens(id, name, hash, created_ns, expires_ns, revoked)
 * versions.restored_from and audit.version are plain numbers, not foreign
 * keys: they may name a version retention deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_delta.h"
#include "config.h"
#include "../lib/log.h"

#define STORE_SCHEMA_VERSION	2
/*
 * How long a writer waits for another connection's transaction.  Commits
 * are a few fsyncs; five seconds only runs out when something is wrong.
 */
#define STORE_BUSY_TIMEOUT_MS	5000
/* The deltas made against a frame may add up to this many times the
 * frame's own size before a commit starts a new frame. */
#define STORE_DELTA_BUDGET	1
/* A commit that leaves the WAL at or over this many pages (1 MiB at
 * SQLite's 4 KiB pages) truncates it with a checkpoint. */
#define STORE_WAL_CHECKPOINT_PAGES	256
/* The files' mode: they hold the audit log and the token hashes. */
#define STORE_FILE_MODE		0600

/* The stored values of enum hg_store_state: never renumber. */
_Static_assert(HG_STORE_CONFIRMED == 0 && HG_STORE_PENDING == 1 &&
    HG_STORE_ROLLED_BACK == 2, "store states are stored by number");

/* A document's texts by index, in the order of the tables' columns. */
#define STORE_TEXTS	4

/* A frame unpacked: its texts and their lengths. */
struct st_frame {
	uint64_t id;		/* 0: none cached */
	struct hg_store_doc doc;
	size_t len[STORE_TEXTS];
};

struct hg_store {
	sqlite3 *db;
	char path[256];
	hg_store_check_fn check;
	void *check_arg;
	struct st_frame frame;	/* the last frame read or written */
	int wal_pages;		/* the WAL's size after the last commit */
};

static const char *const store_schema[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE frames ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" stored_bytes INTEGER NOT NULL,"
	" delta_bytes INTEGER NOT NULL DEFAULT 0,"
	" config BLOB NOT NULL,"
	" rules BLOB, rules6 BLOB, sets BLOB)",
	"CREATE TABLE versions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" created_ns INTEGER NOT NULL,"
	" author TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" comment TEXT NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),"
	" deadline_ns INTEGER NOT NULL DEFAULT 0,"
	" restored_from INTEGER,"
	" frame INTEGER NOT NULL REFERENCES frames(id),"
	" config BLOB NOT NULL,"
	" rules BLOB, rules6 BLOB, sets BLOB)",
	/* At most one version is pending; finding it must not scan history. */
	"CREATE INDEX versions_pending ON versions(state) WHERE state = 1",
	/* Deleting a frame no version uses must not scan the versions. */
	"CREATE INDEX versions_frame ON versions(frame)",
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at_ns INTEGER NOT NULL,"
	" author TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" version INTEGER,"
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

static void st_frame_forget(struct hg_store *);
static void st_wal_trim(struct hg_store *);

static int
st_end(struct hg_store *s, int rc, char *err, size_t err_len)
{
	int rc2;

	if (rc == 0) {
		rc2 = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc2 == SQLITE_OK) {
			st_wal_trim(s);
			return 0;
		}
		rc = st_fail(s, rc2, "COMMIT", err, err_len);
	}
	/* Nothing of a failed change may stay; after an I/O error SQLite
	 * may have rolled back already, so this one's result is moot. */
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	/* A frame this change wrote is gone, and its id may come again
	 * with other texts: the cache must not outlive it. */
	st_frame_forget(s);
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

/* ---------------------------------------------------------------- texts */

static char **
st_text(struct hg_store_doc *doc, int i)
{
	switch (i) {
	case 0:		return &doc->config;
	case 1:		return &doc->rules;
	case 2:		return &doc->rules6;
	default:	return &doc->sets;
	}
}

static const char *
st_text_c(const struct hg_store_doc *doc, int i)
{
	return *st_text((struct hg_store_doc *)doc, i);
}

/* Packed texts of one row: NULL where the text is NULL. */
struct st_blobs {
	uint8_t *p[STORE_TEXTS];
	size_t len[STORE_TEXTS];
};

static void
st_blobs_free(struct st_blobs *b)
{
	int i;

	for (i = 0; i < STORE_TEXTS; i++)
		free(b->p[i]);
	memset(b, 0, sizeof(*b));
}

static size_t
st_blobs_bytes(const struct st_blobs *b)
{
	size_t n = 0;
	int i;

	for (i = 0; i < STORE_TEXTS; i++)
		n += b->len[i];
	return n;
}

/* Binds b's blobs to parameters first.. first + 3; NULL stays NULL. */
static void
st_bind_blobs(sqlite3_stmt *stmt, int first, const struct st_blobs *b)
{
	int i;

	for (i = 0; i < STORE_TEXTS; i++) {
		if (b->p[i] == NULL)
			sqlite3_bind_null(stmt, first + i);
		else
			sqlite3_bind_blob(stmt, first + i, b->p[i],
			    (int)b->len[i], SQLITE_STATIC);
	}
}

static void
st_frame_forget(struct hg_store *s)
{
	hg_store_doc_free(&s->frame.doc);
	memset(&s->frame, 0, sizeof(s->frame));
}

/* Makes frame id, with doc's texts (copied), the cached one. */
static int
st_frame_keep(struct hg_store *s, uint64_t id, const struct hg_store_doc *doc)
{
	const char *t;
	int i;

	st_frame_forget(s);
	for (i = 0; i < STORE_TEXTS; i++) {
		if ((t = st_text_c(doc, i)) == NULL)
			continue;
		s->frame.len[i] = strlen(t);
		if ((*st_text(&s->frame.doc, i) = strdup(t)) == NULL) {
			st_frame_forget(s);
			return -ENOMEM;
		}
	}
	s->frame.id = id;
	return 0;
}

/* Frame id unpacked into the cache (a no-op when it is there already). */
static int
st_frame_load(struct hg_store *s, uint64_t id, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	const void *blob;
	char **t;
	int rc, i;

	if (s->frame.id == id)
		return 0;
	st_frame_forget(s);
	if ((rc = st_prepare(s, "SELECT config, rules, rules6, sets FROM "
	    "frames WHERE id = ?", &stmt, err, err_len)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? -EIO : st_fail(s, rc, "read frame",
		    err, err_len);
		if (rc == -EIO)
			st_seterr(err, err_len, "store %s: frame %" PRIu64
			    " is missing", s->path, id);
		goto out;
	}
	for (i = 0, rc = 0; i < STORE_TEXTS && rc == 0; i++) {
		if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
			continue;
		blob = sqlite3_column_blob(stmt, i);
		t = st_text(&s->frame.doc, i);
		rc = sd_whole_unpack(blob, (size_t)sqlite3_column_bytes(stmt,
		    i), t, &s->frame.len[i]);
		if (rc == -EIO)
			st_seterr(err, err_len, "store %s: frame %" PRIu64
			    " is damaged", s->path, id);
	}
	if (rc == 0)
		s->frame.id = id;
	else
		st_frame_forget(s);
out:
	sqlite3_finalize(stmt);
	return rc;
}

/* doc's texts as deltas against the cached frame (a NULL text: ""). */
static int
st_pack_deltas(struct hg_store *s, const struct hg_store_doc *doc,
    struct st_blobs *out)
{
	const char *t, *base;
	int rc, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < STORE_TEXTS; i++) {
		if ((t = st_text_c(doc, i)) == NULL)
			continue;
		base = st_text_c(&s->frame.doc, i);
		if ((rc = sd_delta_pack(base != NULL ? base : "",
		    s->frame.len[i], t, strlen(t), &out->p[i],
		    &out->len[i])) != 0) {
			st_blobs_free(out);
			return rc;
		}
	}
	return 0;
}

/* A new frame from doc's texts; the cache becomes it. */
static int
st_frame_insert(struct hg_store *s, const struct hg_store_doc *doc,
    uint64_t *id, char *err, size_t err_len)
{
	struct st_blobs whole = { 0 };
	sqlite3_stmt *stmt = NULL;
	const char *t;
	int rc, i;

	for (i = 0; i < STORE_TEXTS; i++)
		if ((t = st_text_c(doc, i)) != NULL &&
		    (rc = sd_whole_pack(t, strlen(t), &whole.p[i],
		    &whole.len[i])) != 0)
			goto out;
	if ((rc = st_prepare(s, "INSERT INTO frames (stored_bytes, config, "
	    "rules, rules6, sets) VALUES (?, ?, ?, ?, ?)", &stmt, err,
	    err_len)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)st_blobs_bytes(&whole));
	st_bind_blobs(stmt, 2, &whole);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		rc = st_fail(s, rc, "insert frame", err, err_len);
		goto out;
	}
	*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	rc = st_frame_keep(s, *id, doc);
out:
	sqlite3_finalize(stmt);
	st_blobs_free(&whole);
	return rc;
}

static int st_query_u64(struct hg_store *, const char *, uint64_t,
    uint64_t *, uint64_t *, char *, size_t);

/*
 * Packs doc for a new row: *frame and the deltas against it, the newest
 * version's frame if the deltas fit its budget (top of file), else a new
 * frame made from doc.  Runs inside the row's transaction.
 */
static int
st_pack_doc(struct hg_store *s, const struct hg_store_doc *doc,
    uint64_t *frame, struct st_blobs *out, char *err, size_t err_len)
{
	uint64_t fid, stored = 0, spent = 0, bytes;
	sqlite3_stmt *stmt;
	int rc;

	rc = st_query_u64(s, "SELECT frame FROM versions ORDER BY id DESC "
	    "LIMIT 1", 0, &fid, NULL, err, err_len);
	if (rc == 0)
		rc = st_query_u64(s, "SELECT stored_bytes, delta_bytes FROM "
		    "frames WHERE id = ?", fid, &stored, &spent, err, err_len);
	if (rc == 0 && (rc = st_frame_load(s, fid, err, err_len)) == 0 &&
	    (rc = st_pack_deltas(s, doc, out)) == 0) {
		bytes = st_blobs_bytes(out);
		if (bytes * 2 <= stored &&
		    spent + bytes <= stored * STORE_DELTA_BUDGET)
			goto charge;
		st_blobs_free(out);
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if ((rc = st_frame_insert(s, doc, &fid, err, err_len)) != 0 ||
	    (rc = st_pack_deltas(s, doc, out)) != 0)
		return rc;
	bytes = st_blobs_bytes(out);
charge:
	if ((rc = st_prepare(s, "UPDATE frames SET delta_bytes = delta_bytes "
	    "+ ? WHERE id = ?", &stmt, err, err_len)) != 0)
		goto fail;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)bytes);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)fid);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = st_fail(s, rc, "update frame", err, err_len);
		goto fail;
	}
	*frame = fid;
	return 0;
fail:
	st_blobs_free(out);
	return rc;
}

/* A row's packed texts (columns first.. first + 3) against its frame. */
static int
st_unpack_doc(struct hg_store *s, uint64_t version, sqlite3_stmt *stmt,
    int first, uint64_t frame, struct hg_store_doc *out, char *err,
    size_t err_len)
{
	const char *base;
	size_t len;
	int rc, i;

	memset(out, 0, sizeof(*out));
	if ((rc = st_frame_load(s, frame, err, err_len)) != 0)
		return rc;
	for (i = 0; i < STORE_TEXTS; i++) {
		if (sqlite3_column_type(stmt, first + i) == SQLITE_NULL)
			continue;
		base = st_text_c(&s->frame.doc, i);
		rc = sd_delta_unpack(base != NULL ? base : "", s->frame.len[i],
		    sqlite3_column_blob(stmt, first + i),
		    (size_t)sqlite3_column_bytes(stmt, first + i),
		    st_text(out, i), &len);
		if (rc != 0) {
			if (rc == -EIO)
				st_seterr(err, err_len, "store %s: version %"
				    PRIu64 " is damaged", s->path, version);
			hg_store_doc_free(out);
			return rc;
		}
	}
	if (out->config == NULL) {
		st_seterr(err, err_len, "store %s: version %" PRIu64 " has no "
		    "config", s->path, version);
		return -EIO;	/* NOT NULL in the schema */
	}
	return 0;
}

/* ---------------------------------------------------------------- open */

/*
 * The store's file and its -wal and -shm made 0600, the file created so
 * if new.  Created here rather than by SQLite under a narrowed umask:
 * umask is the whole process's, and the daemon has other threads.
 * SQLite creates -wal and -shm with the main file's mode, so those that
 * do not exist yet will be 0600 too.
 */
static int
st_secure_files(const char *path, char *err, size_t err_len)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	size_t i, len = strlen(path) + sizeof("-wal");
	struct stat st;
	char *p;
	int fd, rc = 0;

	if ((p = malloc(len)) == NULL)
		return -ENOMEM;
	for (i = 0; i < HG_ARRAY_SIZE(suffix); i++) {
		snprintf(p, len, "%s%s", path, suffix[i]);
		fd = open(p, O_RDWR | O_CLOEXEC | O_NOCTTY |
		    (i == 0 ? O_CREAT : O_NOFOLLOW), STORE_FILE_MODE);
		if (fd < 0 && i > 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			rc = -errno;
			st_seterr(err, err_len, "store %s: open: %s", p,
			    strerror(errno));
			break;
		}
		if (fstat(fd, &st) == 0 && (st.st_mode & 07777) !=
		    STORE_FILE_MODE && fchmod(fd, STORE_FILE_MODE) != 0)
			hg_log_warn("store: %s: cannot make it mode 0600 (it "
			    "holds the audit log and token hashes)", p);
		close(fd);
	}
	free(p);
	return rc;
}

/* SQLite calls this after each commit with the WAL's size in pages. */
static int
st_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct hg_store *s = arg;

	(void)db;
	(void)name;
	s->wal_pages = pages;
	return SQLITE_OK;
}

/*
 * Checkpoints the WAL into the file and truncates it once it passed the
 * threshold.  It waits (busy timeout) for readers of older snapshots; if
 * one outlasts that, a passive checkpoint copies what it can, so that
 * SQLite may at least reuse the log from its start, and the next commit
 * tries again.  The change itself is committed either way.
 */
static void
st_wal_trim(struct hg_store *s)
{
	int rc;

	if (s->wal_pages < STORE_WAL_CHECKPOINT_PAGES)
		return;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc == SQLITE_OK) {
		s->wal_pages = 0;
		return;
	}
	hg_log_debug("store: %s: truncating the WAL (%d pages) put off: %s",
	    s->path, s->wal_pages, sqlite3_errmsg(s->db));
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);	/* best effort */
}

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
	/* In place of SQLite's automatic checkpoint, which never shrinks
	 * the file: st_wal_trim() after each commit. */
	sqlite3_wal_hook(s->db, st_wal_hook, s);
	/*
	 * FULL, not WAL's usual NORMAL: NORMAL syncs the log only at
	 * checkpoints, so a commit survives the process dying but not the
	 * machine losing power, and the last acknowledged versions would be
	 * gone.  An acknowledged change is a promise to the operator; one
	 * fsync per commit is cheap at the rate people change config.
	 */
	return st_exec(s, "PRAGMA synchronous=FULL", err, err_len);
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

/* The tables of a new store, or those of schema 2 beside version 1's. */
static int
st_schema_create(struct hg_store *s, bool with_version, char *err,
    size_t err_len)
{
	char sql[64];
	size_t i;
	int rc;

	for (i = with_version ? 0 : 1; i < HG_ARRAY_SIZE(store_schema); i++) {
		/* Schema 1's tokens table is schema 2's. */
		if (!with_version && strstr(store_schema[i], "tokens") != NULL)
			continue;
		if ((rc = st_exec(s, store_schema[i], err, err_len)) != 0)
			return rc;
	}
	if (!with_version)
		return 0;
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)",
	    STORE_SCHEMA_VERSION);
	return st_exec(s, sql, err, err_len);
}

static int st_insert_version(struct hg_store *, uint64_t,
    const struct hg_store_doc *, const struct hg_store_who *,
    enum hg_store_state, uint64_t, uint64_t, uint64_t, uint64_t *, char *,
    size_t);

/* One schema-1 row, texts whole, into schema 2's versions, packed. */
static int
st_migrate_row(struct hg_store *s, sqlite3_stmt *old, char *err,
    size_t err_len)
{
	struct hg_store_doc doc = { 0 };
	struct hg_store_who who;
	uint64_t id;
	int rc = 0, i;

	for (i = 0; i < STORE_TEXTS && rc == 0; i++) {
		const unsigned char *t = sqlite3_column_text(old, 8 + i);

		if (sqlite3_column_type(old, 8 + i) != SQLITE_NULL &&
		    (*st_text(&doc, i) = strdup(t != NULL ? (const char *)t :
		    "")) == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && doc.config == NULL)
		rc = -EIO;	/* NOT NULL in schema 1 */
	who.author = st_col_str(old, 1);
	who.source = st_col_str(old, 2);
	who.comment = st_col_str(old, 3);
	if (rc == 0)
		rc = st_insert_version(s, st_col_u64(old, 0), &doc, &who,
		    (enum hg_store_state)sqlite3_column_int(old, 4),
		    st_col_u64(old, 5), st_col_u64(old, 6), st_col_u64(old, 7),
		    &id, err, err_len);
	hg_store_doc_free(&doc);
	return rc;
}

/*
 * Schema 1 to 2: every version's whole texts packed as frames and deltas,
 * row by row, and the foreign keys that retention could break dropped
 * from audit.  Runs in the transaction that checks the version, so a
 * crash half way leaves schema 1 as it was.  Foreign keys are not on
 * yet (st_open), so the old tables can be dropped in any order.
 */
static int
st_migrate_1_2(struct hg_store *s, char *err, size_t err_len)
{
	static const char *const sql[] = {
		"ALTER TABLE versions RENAME TO versions_1",
		"DROP INDEX versions_pending",
		"ALTER TABLE audit RENAME TO audit_1",
	};
	sqlite3_stmt *old;
	size_t i;
	int rc;

	for (i = 0; i < HG_ARRAY_SIZE(sql); i++)
		if ((rc = st_exec(s, sql[i], err, err_len)) != 0)
			return rc;
	if ((rc = st_schema_create(s, false, err, err_len)) != 0)
		return rc;
	if ((rc = st_exec(s, "INSERT INTO audit SELECT * FROM audit_1", err,
	    err_len)) != 0)
		return rc;
	if ((rc = st_prepare(s, "SELECT id, author, source, comment, state, "
	    "deadline_ns, restored_from, created_ns, config, rules, rules6, "
	    "sets FROM versions_1 ORDER BY id", &old, err, err_len)) != 0)
		return rc;
	while ((rc = sqlite3_step(old)) == SQLITE_ROW)
		if ((rc = st_migrate_row(s, old, err, err_len)) != 0)
			break;
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = st_fail(s, rc, "read schema 1 version", err, err_len);
	sqlite3_finalize(old);
	if (rc != 0)
		return rc;
	if ((rc = st_exec(s, "DROP TABLE audit_1", err, err_len)) != 0)
		return rc;
	return st_exec(s, "DROP TABLE versions_1", err, err_len);
}

static int
st_schema(struct hg_store *s, bool *migrated, char *err, size_t err_len)
{
	char sql[64];
	int rc, version;

	*migrated = false;
	if ((rc = st_begin(s, err, err_len)) != 0)
		return rc;
	if ((rc = st_schema_version(s, &version, err, err_len)) != 0)
		goto out;
	if (version == 0) {
		rc = st_schema_create(s, true, err, err_len);
		goto out;
	}
	if (version > STORE_SCHEMA_VERSION) {
		st_seterr(err, err_len, "store %s: schema version %d is newer "
		    "than this hexgated's (%d)", s->path, version,
		    STORE_SCHEMA_VERSION);
		rc = -EPROTO;
		goto out;
	}
	if (version == STORE_SCHEMA_VERSION)
		goto out;
	if ((rc = st_migrate_1_2(s, err, err_len)) != 0)
		goto out;
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
	    STORE_SCHEMA_VERSION);
	rc = st_exec(s, sql, err, err_len);
	*migrated = rc == 0;
out:
	return st_end(s, rc, err, err_len);
}

/* After a migration the file still has the room the whole texts took:
 * hand it back, then empty the WAL the rewrite went through. */
static int
st_shrink(struct hg_store *s, char *err, size_t err_len)
{
	int rc;

	if ((rc = st_exec(s, "VACUUM", err, err_len)) != 0)
		return rc;
	s->wal_pages = STORE_WAL_CHECKPOINT_PAGES;
	st_wal_trim(s);
	return 0;
}

static int st_expire(struct hg_store *, uint64_t, bool, uint64_t *,
    uint64_t *, char *, size_t);

static int
st_open(struct hg_store *s, const char *path, char *err, size_t err_len)
{
	uint64_t new_version, expired;
	bool migrated;
	int rc;

	if ((rc = st_secure_files(path, err, err_len)) != 0)
		return rc;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return s->db != NULL ? st_fail(s, rc, "open", err, err_len) :
		    -ENOMEM;
	sqlite3_extended_result_codes(s->db, 1);
	if ((rc = st_pragmas(s, err, err_len)) != 0 ||
	    (rc = st_schema(s, &migrated, err, err_len)) != 0)
		return rc;
	if (migrated) {
		hg_log_info("store: %s: migrated to schema %d (versions "
		    "stored as frames and deltas)", path,
		    STORE_SCHEMA_VERSION);
		if ((rc = st_shrink(s, err, err_len)) != 0)
			return rc;
	}
	/* Only now: the migration drops tables that keys point into. */
	if ((rc = st_exec(s, "PRAGMA foreign_keys=ON", err, err_len)) != 0)
		return rc;
	/* The daemon was down past a pending version's deadline: roll back
	 * now, before anyone reads the current version to apply it. */
	if ((rc = st_expire(s, hg_store_now_ns(), true, &new_version,
	    &expired, err, err_len)) != 0)
		return rc;
	if (new_version != 0)
		hg_log_warnx("store: %s: pending version %" PRIu64 " passed "
		    "its deadline while the store was closed; rolled back as "
		    "version %" PRIu64, path, expired, new_version);
	return 0;
}

int
hg_store_open(struct hg_store **out, const char *path, char *err,
    size_t err_len)
{
	struct hg_store *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if ((rc = st_open(s, path, err, err_len)) != 0) {
		hg_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
hg_store_close(struct hg_store *s)
{
	if (s == NULL)
		return;
	/* sqlite3_close_v2() never fails for want of finalized statements:
	 * none outlive the call that prepared them. */
	sqlite3_close_v2(s->db);
	st_frame_forget(s);
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
st_validate(struct hg_store *s, const struct hg_store_doc *doc,
    uint32_t *keep_versions, char *err, size_t err_len)
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
	*keep_versions = cfg->store_keep_versions;
	if (s->check != NULL) {
		rc = s->check(s->check_arg, doc, cfg, err, err_len);
		if (rc > 0)
			rc = -rc;
	}
	hg_config_free(cfg);
	return rc;
}

/* --------------------------------------------------------- transactions */

/* id 0: the next one.  The texts go in packed (st_pack_doc()). */
static int
st_insert_version(struct hg_store *s, uint64_t id,
    const struct hg_store_doc *doc, const struct hg_store_who *who,
    enum hg_store_state state, uint64_t deadline_ns, uint64_t restored_from,
    uint64_t now_ns, uint64_t *version, char *err, size_t err_len)
{
	struct st_blobs blobs;
	sqlite3_stmt *stmt;
	uint64_t frame = 0;
	int rc;

	if ((rc = st_pack_doc(s, doc, &frame, &blobs, err, err_len)) != 0) {
		if (rc == -EFBIG)
			st_seterr(err, err_len, "store %s: a text of the "
			    "version is over %u MiB", s->path,
			    SD_TEXT_MAX >> 20);
		return rc;
	}
	if ((rc = st_prepare(s, "INSERT INTO versions (id, created_ns, "
	    "author, source, comment, state, deadline_ns, restored_from, "
	    "frame, config, rules, rules6, sets) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?)", &stmt, err, err_len)) != 0)
		goto out;
	if (id != 0)
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	else
		sqlite3_bind_null(stmt, 1);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now_ns);
	sqlite3_bind_text(stmt, 3, st_str(who->author), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, st_str(who->source), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, st_str(who->comment), -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, (int)state);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)deadline_ns);
	if (restored_from != 0)
		sqlite3_bind_int64(stmt, 8, (sqlite3_int64)restored_from);
	else
		sqlite3_bind_null(stmt, 8);
	sqlite3_bind_int64(stmt, 9, (sqlite3_int64)frame);
	st_bind_blobs(stmt, 10, &blobs);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = st_fail(s, rc, "insert version", err, err_len);
		goto out;
	}
	*version = (uint64_t)sqlite3_last_insert_rowid(s->db);
	rc = 0;
out:
	st_blobs_free(&blobs);
	return rc;
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

/*
 * The versions row stays stepped while its frame is read: in autocommit
 * mode both reads are then one snapshot, and retention in another
 * connection cannot delete the frame in between.
 */
static int
st_load_doc(struct hg_store *s, uint64_t version, struct hg_store_doc *out,
    char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = st_prepare(s, "SELECT frame, config, rules, rules6, sets "
	    "FROM versions WHERE id = ?", &stmt, err, err_len)) != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)version);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rc = st_unpack_doc(s, version, stmt, 1, st_col_u64(stmt, 0),
		    out, err, err_len);
	} else if (rc == SQLITE_DONE) {
		st_seterr(err, err_len, "no version %" PRIu64, version);
		rc = -ENOENT;
	} else {
		rc = st_fail(s, rc, "read version", err, err_len);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* ------------------------------------------------------------ retention */

/* The keep_versions of a config text; 0 (keep all) if it does not parse. */
static uint32_t
st_keep_of(const char *config)
{
	struct hg_cfg_errs *errs = calloc(1, sizeof(*errs));
	struct hg_config *cfg;
	uint32_t keep = 0;

	if (errs == NULL)
		return 0;
	cfg = hg_config_parse(config, strlen(config), errs);
	if (cfg != NULL)
		keep = cfg->store_keep_versions;
	hg_config_free(cfg);
	free(errs);
	return keep;
}

/* DELETE or UPDATE sql with up to three bound u64s; *changes its rows. */
static int
st_change(struct hg_store *s, const char *sql, uint64_t a, uint64_t b,
    uint64_t c, unsigned *changes, char *err, size_t err_len)
{
	sqlite3_stmt *stmt;
	int rc, n;

	if ((rc = st_prepare(s, sql, &stmt, err, err_len)) != 0)
		return rc;
	n = sqlite3_bind_parameter_count(stmt);
	if (n >= 1)
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)a);
	if (n >= 2)
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)b);
	if (n >= 3)
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)c);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return st_fail(s, rc, "prune", err, err_len);
	if (changes != NULL)
		*changes = (unsigned)sqlite3_changes(s->db);
	return 0;
}

static int st_pending(struct hg_store *, uint64_t *, uint64_t *, char *,
    size_t);
static int st_last_confirmed(struct hg_store *, uint64_t, uint64_t *,
    char *, size_t);

/*
 * Deletes the versions older than the newest keep, except a pending one
 * and the version it falls back to, then the frames no version uses.
 * The newest, the running version, is always among those kept.  Runs in
 * the caller's transaction; *pruned: how many went.
 */
static int
st_prune(struct hg_store *s, uint32_t keep, unsigned *pruned, char *err,
    size_t err_len)
{
	uint64_t oldest_kept, pv = 0, fallback = 0, deadline_ns;
	int rc;

	*pruned = 0;
	if (keep == 0)
		return 0;
	rc = st_query_u64(s, "SELECT id FROM versions ORDER BY id DESC "
	    "LIMIT 1 OFFSET ?", keep - 1, &oldest_kept, NULL, err, err_len);
	if (rc == -ENOENT)
		return 0;	/* not more than keep versions yet */
	if (rc != 0)
		return rc;
	rc = st_pending(s, &pv, &deadline_ns, err, err_len);
	if (rc == 0)
		rc = st_last_confirmed(s, pv, &fallback, err, err_len);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if ((rc = st_change(s, "DELETE FROM versions WHERE id < ? AND id != ? "
	    "AND id != ?", oldest_kept, pv, fallback, pruned, err,
	    err_len)) != 0)
		return rc;
	if (*pruned == 0)
		return 0;
	return st_change(s, "DELETE FROM frames WHERE NOT EXISTS (SELECT 1 "
	    "FROM versions WHERE versions.frame = frames.id)", 0, 0, 0, NULL,
	    err, err_len);
}

/* Prunes after a change and audits what went; in its transaction. */
static int
st_retain(struct hg_store *s, uint32_t keep, uint64_t now_ns, char *err,
    size_t err_len)
{
	char detail[128];
	unsigned pruned;
	int rc;

	if ((rc = st_prune(s, keep, &pruned, err, err_len)) != 0 ||
	    pruned == 0)
		return rc;
	snprintf(detail, sizeof(detail), "%u version%s older than the newest "
	    "%" PRIu32 " deleted (store keep_versions)", pruned,
	    pruned == 1 ? "" : "s", keep);
	return st_insert_audit(s, &store_self, HG_STORE_ACT_PRUNE, 0, detail,
	    now_ns, err, err_len);
}

/* ------------------------------------------------------------- commits */

static int
st_commit(struct hg_store *s, const struct hg_store_doc *doc,
    const struct hg_store_who *who, bool pending, uint64_t deadline_ns,
    uint64_t *version, char *err, size_t err_len)
{
	struct hg_store_who w = who != NULL ? *who : store_self;
	uint64_t v = 0, pv, pdeadline, base, now_ns = hg_store_now_ns();
	uint32_t keep;
	char detail[128];
	int rc;

	if ((rc = st_validate(s, doc, &keep, err, err_len)) != 0)
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
	if ((rc = st_insert_version(s, 0, doc, &w, pending ? HG_STORE_PENDING :
	    HG_STORE_CONFIRMED, pending ? deadline_ns : 0, 0, now_ns, &v, err,
	    err_len)) != 0)
		goto out;
	if ((rc = st_insert_audit(s, &w, pending ? HG_STORE_ACT_COMMIT_PENDING :
	    HG_STORE_ACT_COMMIT, v, detail, now_ns, err, err_len)) != 0)
		goto out;
	rc = st_retain(s, keep, now_ns, err, err_len);
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
	if ((rc = st_insert_version(s, 0, &doc, &w, HG_STORE_CONFIRMED, 0,
	    base, now_ns, &v, err, err_len)) != 0)
		goto out;
	if ((rc = st_insert_audit(s, &w, HG_STORE_ACT_AUTO_ROLLBACK, v,
	    comment, now_ns, err, err_len)) != 0)
		goto out;
	rc = st_retain(s, st_keep_of(doc.config), now_ns, err, err_len);
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
	uint32_t keep;
	int rc;

	/* Read outside the transaction to validate without holding the lock;
	 * a version's content never changes, so nothing goes stale. */
	if ((rc = st_load_doc(s, version, &doc, err, err_len)) != 0)
		return rc;
	if ((rc = st_validate(s, &doc, &keep, err, err_len)) != 0)
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
	if ((rc = st_insert_version(s, 0, &doc, &w, HG_STORE_CONFIRMED, 0,
	    version, now_ns, &v, err, err_len)) != 0)
		goto out;
	if ((rc = st_insert_audit(s, &w, HG_STORE_ACT_ROLLBACK, v, detail,
	    now_ns, err, err_len)) != 0)
		goto out;
	rc = st_retain(s, keep, now_ns, err, err_len);
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
