/*
 * src/mgmt/store.h: the versioned configuration store, one SQLite file in
 * WAL mode.  A version is a whole configuration document: hexgated's
 * config JSON (docs/configuration.md) plus the firewall texts (IPv4 and
 * IPv6 iptables-restore rules, ipset text).  Every change, a rollback
 * included, appends a numbered version in one transaction together with
 * its audit row; history is never rewritten, so the newest version is the
 * current one and the daemon starts from it.  Versions are stored packed
 * (store.c says how) and read back byte for byte.  Every version is kept
 * unless the committed config sets "store": {"keep_versions": N}; then
 * each change deletes the older ones (audited as HG_STORE_ACT_PRUNE),
 * never the newest, a pending one or its fallback, and reading a deleted
 * version gives -ENOENT.
 *
 * Commit-confirm: a version committed as pending carries a deadline; unless
 * confirmed before it, hg_store_expire() appends a version with the content
 * of the last confirmed one (audited as an automatic rollback).
 *
 * This is storage only: parsing the config is src/mgmt/config.c, applying
 * it is the daemon's, the HTTP API is src/mgmt's server.  All functions run
 * on the control thread, synchronously; a store handle is not shared
 * between threads (another process or connection may use the same file).
 * Times are wall-clock nanoseconds (CLOCK_REALTIME): they are stored and
 * compared across restarts, which a monotonic clock cannot be.
 *
 * Errors: 0 or a negative errno; where an err buffer is given it receives a
 * sentence saying what failed (for a refused config, the JSON pointer or
 * line and column of the first error).
 */
#ifndef HG_STORE_H
#define HG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"

struct hg_store;		/* opaque: one SQLite connection */
struct hg_config;

/*
 * One configuration document.  config is required (JSON text); the others
 * may be NULL (none).  Commit only reads them; hg_store_get() fills them
 * with malloc'd copies that hg_store_doc_free() releases.
 */
struct hg_store_doc {
	char *config;		/* hexgated's config JSON */
	char *rules;		/* iptables-restore text (IPv4) */
	char *rules6;		/* ip6tables-restore text */
	char *sets;		/* ipset restore text */
};

/* Who made a change and from where; any field may be NULL (stored ""). */
struct hg_store_who {
	const char *author;	/* user or token name */
	const char *source;	/* peer address ("198.51.100.7:53412", "unix") */
	const char *comment;	/* why; commit message */
};

/* Audit actions written by the store itself. */
#define HG_STORE_ACT_COMMIT		"commit"
#define HG_STORE_ACT_COMMIT_PENDING	"commit-pending"
#define HG_STORE_ACT_CONFIRM		"confirm"
#define HG_STORE_ACT_ROLLBACK		"rollback"
#define HG_STORE_ACT_AUTO_ROLLBACK	"auto-rollback"
#define HG_STORE_ACT_TOKEN_ADD		"token-add"
#define HG_STORE_ACT_TOKEN_REVOKE	"token-revoke"
#define HG_STORE_ACT_PRUNE		"prune"

enum hg_store_state {
	HG_STORE_CONFIRMED,	/* a plain commit, or a confirmed pending one */
	HG_STORE_PENDING,	/* awaiting hg_store_confirm() before deadline */
	HG_STORE_ROLLED_BACK,	/* was pending; expired or rolled back */
	HG_STORE_STATE_COUNT
};

const char *hg_store_state_name(enum hg_store_state state);

/*
 * Opens (creating if new) the store at path.  A pending version whose
 * deadline passed while no one had the store open is rolled back here,
 * logged and audited, so the daemon never starts from an unconfirmed
 * configuration whose time is up.  Free with hg_store_close().
 */
int hg_store_open(struct hg_store **out, const char *path, char *err,
    size_t err_len) HG_MUST_CHECK;
void hg_store_close(struct hg_store *store);

/*
 * An extra check run on every commit after the config parsed and before
 * anything is written (the daemon plugs in the firewall parser and the
 * data plane's "can I take this"): returns 0, or a negative errno with
 * the reason in err, and the commit is refused whole.  cfg is borrowed.
 * NULL removes it.
 */
typedef int (*hg_store_check_fn)(void *arg, const struct hg_store_doc *doc,
    const struct hg_config *cfg, char *err, size_t err_len);
void hg_store_set_check(struct hg_store *store, hg_store_check_fn fn,
    void *arg);

/*
 * Validates doc (hg_config_parse(), then the check above) and, in one
 * transaction, appends it as a new version with its audit row.  *version
 * is set only once COMMIT returned, i.e. once the version is on disk.
 * -EINVAL: config refused (err names the place; nothing written).
 * -EBUSY: a pending version awaits confirmation; confirm it first.
 */
int hg_store_commit(struct hg_store *store, const struct hg_store_doc *doc,
    const struct hg_store_who *who, uint64_t *version, char *err,
    size_t err_len) HG_MUST_CHECK;

/* As hg_store_commit(), but pending until hg_store_confirm() or deadline_ns.
 * -ENOENT when there is no confirmed version to fall back to. */
int hg_store_commit_pending(struct hg_store *store,
    const struct hg_store_doc *doc, const struct hg_store_who *who,
    uint64_t deadline_ns, uint64_t *version, char *err,
    size_t err_len) HG_MUST_CHECK;

/* -ENOENT: version is not the pending one (already expired or confirmed). */
int hg_store_confirm(struct hg_store *store, uint64_t version,
    const struct hg_store_who *who, char *err, size_t err_len) HG_MUST_CHECK;

/*
 * If the pending version's deadline is at or before now_ns, marks it rolled
 * back and appends a version with the content of the last confirmed one.
 * *new_version: that new version, or 0 when nothing expired.
 */
int hg_store_expire(struct hg_store *store, uint64_t now_ns,
    uint64_t *new_version) HG_MUST_CHECK;

/* The pending version and its deadline; -ENOENT when none. */
int hg_store_pending(struct hg_store *store, uint64_t *version,
    uint64_t *deadline_ns) HG_MUST_CHECK;

/* The newest version; -ENOENT on an empty store. */
int hg_store_current(struct hg_store *store, uint64_t *version) HG_MUST_CHECK;

/* A version's content into out (free with hg_store_doc_free()); -ENOENT. */
int hg_store_get(struct hg_store *store, uint64_t version,
    struct hg_store_doc *out) HG_MUST_CHECK;
void hg_store_doc_free(struct hg_store_doc *doc);

/*
 * Appends a version with version's content; a pending version, if any, is
 * marked rolled back (a rollback is what its timeout would have done).
 */
int hg_store_rollback(struct hg_store *store, uint64_t version,
    const struct hg_store_who *who, uint64_t *new_version, char *err,
    size_t err_len) HG_MUST_CHECK;

/* One version's metadata; strings are borrowed for the callback's call. */
struct hg_store_version {
	uint64_t version;
	uint64_t created_ns;
	const char *author;
	const char *source;
	const char *comment;
	enum hg_store_state state;
	bool confirmed;			/* state == HG_STORE_CONFIRMED */
	uint64_t pending_deadline_ns;	/* 0: committed without confirm */
	uint64_t restored_from;		/* rollbacks: the version copied; else 0 */
};

/* Return non-zero to stop; that value is then returned by the lister. */
typedef int (*hg_store_version_fn)(void *arg, const struct hg_store_version *v);

/* Versions newest first, at most limit of them (0: all). */
int hg_store_list(struct hg_store *store, unsigned limit,
    hg_store_version_fn fn, void *arg) HG_MUST_CHECK;

/*
 * A unified diff (3 lines of context) from version a to b of the config
 * (pretty-printed with sorted keys, so key order does not show) and of
 * the rules, rules6 and sets texts.  Identical documents give "".  *out is
 * malloc'd.
 */
int hg_store_diff(struct hg_store *store, uint64_t a, uint64_t b,
    char **out) HG_MUST_CHECK;
/* The same on two documents; exposed for the tests and the API's preview. */
int hg_store_diff_docs(const struct hg_store_doc *a, const char *a_label,
    const struct hg_store_doc *b, const char *b_label,
    char **out) HG_MUST_CHECK;

/* An audit row that no store function writes itself (a login, a refusal). */
int hg_store_audit(struct hg_store *store, const struct hg_store_who *who,
    const char *action, const char *detail) HG_MUST_CHECK;

struct hg_store_audit_row {
	uint64_t id;
	uint64_t at_ns;
	const char *author;
	const char *source;
	const char *action;
	uint64_t version;	/* the version it concerns; 0: none */
	const char *detail;
};

typedef int (*hg_store_audit_fn)(void *arg,
    const struct hg_store_audit_row *row);

/* Audit rows newest first, at most limit (0: all). */
int hg_store_audit_list(struct hg_store *store, unsigned limit,
    hg_store_audit_fn fn, void *arg) HG_MUST_CHECK;

/*
 * API tokens.  The caller hashes the secret (hash is its text form, e.g.
 * hex SHA-256); the store never sees a secret.  expires_ns 0: never.
 */
#define HG_STORE_TOKEN_NAME_MAX	64	/* incl. NUL */

struct hg_store_token {
	uint64_t id;
	char name[HG_STORE_TOKEN_NAME_MAX];
	uint64_t created_ns;
	uint64_t expires_ns;
	bool revoked;
};

/* -EEXIST: a token with this hash or name exists; -ENAMETOOLONG. */
int hg_store_token_add(struct hg_store *store, const char *name,
    const char *hash, uint64_t expires_ns, const struct hg_store_who *who,
    uint64_t *id) HG_MUST_CHECK;
/* -ENOENT: no such token, or already revoked. */
int hg_store_token_revoke(struct hg_store *store, uint64_t id,
    const struct hg_store_who *who) HG_MUST_CHECK;

typedef int (*hg_store_token_fn)(void *arg, const struct hg_store_token *t);
int hg_store_token_list(struct hg_store *store, hg_store_token_fn fn,
    void *arg) HG_MUST_CHECK;

/*
 * The token with this hash, if usable at now_ns: 0 and *out filled;
 * -ENOENT unknown, -EKEYREVOKED revoked, -EKEYEXPIRED expired (*out is
 * filled in those two cases too, so the caller can log the name).
 */
int hg_store_token_find_by_hash(struct hg_store *store, const char *hash,
    uint64_t now_ns, struct hg_store_token *out) HG_MUST_CHECK;

/* PRAGMA integrity_check; -EIO with SQLite's first complaint in err. */
int hg_store_check(struct hg_store *store, char *err,
    size_t err_len) HG_MUST_CHECK;

/* Wall-clock now, the time base of created_ns and deadlines. */
uint64_t hg_store_now_ns(void);

#endif /* HG_STORE_H */
