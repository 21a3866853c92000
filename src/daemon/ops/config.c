/*
 * src/daemon/ops/config.c: the operations on the configuration as a
 * whole (reload, the versioned store: versions, diff, rollback,
 * commit-confirm, snapshots) and on who may manage it (API tokens, the
 * audit log).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../lib/log.h"
#include "../../mgmt/api.h"
#include "../../mgmt/secret.h"
#include "../daemon.h"
#include "../config/apply.h"
#include "../config/versions.h"
#include "../firewall/firewall.h"
#include "ops.h"

#define TOKEN_BYTES	32	/* random bytes in a token */

int
hg_ops_no_store(struct hg_op_req *r)
{
	return hg_op_error(r, 404, NULL, "no configuration store: the config "
	    "file has no \"store\" key");
}

int
op_reload(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char err[1024];

	json_decref(hg_fw_take_errors());
	if (hg_reload(d, err, sizeof(err)) != 0) {
		hg_op_error(r, 400, NULL, "%s", err);
		r->errors = hg_fw_take_errors();
		return r->status;
	}
	hg_log_info("%s: configuration reloaded (version %llu)", r->author,
	    (unsigned long long)hg_config_version(d));
	return hg_op_reply(r, 200, json_pack("{s:b,s:I}", "ok", 1, "version",
	    (json_int_t)hg_config_version(d)));
}

/*
 * What the configuration holds that is a secret (IPsec pre-shared keys:
 * "secret" and the other names of hg_secret_json_keys) never leaves in a
 * reply: documents get the value replaced, and a diff's lines naming
 * such a member their value.
 */
static int
redact_doc(struct hg_op_req *r, json_t *o)
{
	if (hg_secret_redact_json(o, NULL) < 0) {
		json_decref(o);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	return 0;
}

static void
redact_diff(char *text)
{
	for (char *line = text; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n'), *colon;

		if (end != NULL)
			*end = '\0';
		for (size_t k = 0; hg_secret_json_keys[k] != NULL; k++) {
			char key[48];
			char *at;

			snprintf(key, sizeof(key), "\"%s\"", hg_secret_json_keys[k]);
			if ((at = strstr(line, key)) == NULL ||
			    (colon = strchr(at + strlen(key), ':')) == NULL)
				continue;
			/* The value, to the line's end less a comma: stars. */
			for (char *v = colon + 1; *v != '\0'; v++)
				if (*v != ' ' && !(*v == ',' && v[1] == '\0'))
					*v = '*';
		}
		if (end == NULL)
			break;
		*end = '\n';
		line = end + 1;
	}
}

int
op_config_show(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char err[256];
	json_t *o;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	o = hg_versions_doc_json(d, (uint64_t)hg_op_int(r, "version"), err,
	    sizeof(err));
	if (o == NULL)
		return hg_op_error(r, 404, "version", "%s", err);
	if (redact_doc(r, o) != 0)
		return r->status;
	return hg_op_reply(r, 200, o);
}

int
hg_ops_apply(struct hg_daemon *d, struct hg_op_req *r,
    const struct hg_store_doc *doc, const char *comment,
    uint64_t deadline_ns)
{
	char err[1024];
	int rc;

	json_decref(hg_fw_take_errors());
	rc = hg_config_apply_doc(d, doc, comment, deadline_ns, err, sizeof(err));
	if (rc == -EBUSY)
		return hg_op_error(r, 409, NULL, "%s", err);
	if (rc != 0) {
		hg_op_error(r, 400, NULL, "%s; nothing changed", err);
		/* Each error of the rules, with its line and caret. */
		r->errors = hg_fw_take_errors();
		return r->status;
	}
	hg_log_info("%s: configuration applied (version %llu%s)", r->author,
	    (unsigned long long)d->store_version, deadline_ns != 0 ?
	    ", pending confirmation" : "");
	return 0;
}

/* Applies doc (a PUT, an import, a rollback); {"version": N}. */
static int
config_apply(struct hg_daemon *d, struct hg_op_req *r,
    const struct hg_store_doc *doc, const char *comment,
    uint64_t deadline_ns)
{
	if (hg_ops_apply(d, r, doc, comment, deadline_ns) != 0)
		return r->status;
	if (deadline_ns != 0)
		return hg_op_reply(r, 200, json_pack("{s:I,s:s,s:I}",
		    "version", (json_int_t)d->store_version, "state",
		    hg_store_state_name(HG_STORE_PENDING), "deadline_ns",
		    (json_int_t)deadline_ns));
	return hg_op_reply(r, 200, json_pack("{s:I}", "version",
	    (json_int_t)d->store_version));
}

/* {"config": {...}, "rules", "rules6", "sets"}: a text left out is the
 * empty one (sets: the live ones). */
static int
doc_put(struct hg_daemon *d, struct hg_op_req *r, const char *comment,
    uint64_t deadline_ns)
{
	struct hg_store_doc doc;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	memset(&doc, 0, sizeof(doc));
	doc.config = json_dumps(hg_op_json(r, "config"), JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER);
	if (doc.config == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	doc.rules = (char *)hg_op_str(r, "rules");
	doc.rules6 = (char *)hg_op_str(r, "rules6");
	doc.sets = (char *)hg_op_str(r, "sets");
	rc = config_apply(d, r, &doc, comment, deadline_ns);
	free(doc.config);
	return rc;
}

int
op_config_put(void *ctx, struct hg_op_req *r)
{
	uint64_t deadline_ns = 0;

	if (hg_op_has(r, "confirm_s"))
		deadline_ns = hg_store_now_ns() +
		    (uint64_t)hg_op_int(r, "confirm_s") * 1000000000u;
	return doc_put(ctx, r, deadline_ns != 0 ?
	    "PUT /api/config (commit-confirm)" : "PUT /api/config",
	    deadline_ns);
}

int
op_snapshot_import(void *ctx, struct hg_op_req *r)
{
	return doc_put(ctx, r, "snapshot import", 0);
}

static int
version_one(void *arg, const struct hg_store_version *v)
{
	json_t *a = arg, *o;

	o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I}",
	    "version", (json_int_t)v->version,
	    "created_ns", (json_int_t)v->created_ns,
	    "author", v->author, "source", v->source,
	    "comment", v->comment,
	    "state", hg_store_state_name(v->state),
	    "restored_from", (json_int_t)v->restored_from);
	if (o != NULL && v->pending_deadline_ns != 0)
		json_object_set_new(o, "pending_deadline_ns",
		    json_integer((json_int_t)v->pending_deadline_ns));
	json_array_append_new(a, o);
	return 0;
}

/* {"version", "deadline_ns", "remaining_s"} of the version awaiting
 * confirmation, or null. */
static json_t *
pending_json(struct hg_daemon *d)
{
	uint64_t v, deadline_ns, now_ns = hg_store_now_ns();

	if (hg_store_pending(d->store, &v, &deadline_ns) != 0)
		return json_null();
	return json_pack("{s:I,s:I,s:f}", "version", (json_int_t)v,
	    "deadline_ns", (json_int_t)deadline_ns, "remaining_s",
	    deadline_ns > now_ns ? (double)(deadline_ns - now_ns) / 1e9 : 0.0);
}

int
op_config_versions(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	json_t *a;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	a = json_array();
	rc = hg_store_list(d->store, (unsigned)hg_op_int(r, "limit"),
	    version_one, a);
	if (rc != 0) {
		json_decref(a);
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	}
	return hg_op_reply(r, 200, json_pack("{s:I,s:o,s:o}", "current",
	    (json_int_t)d->store_version, "pending", pending_json(d),
	    "versions", a));
}

int
op_config_diff(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	uint64_t a, b;
	char *out = NULL;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	/* Without them: what the last change did. */
	b = hg_op_has(r, "b") ? (uint64_t)hg_op_int(r, "b") : d->store_version;
	a = hg_op_has(r, "a") ? (uint64_t)hg_op_int(r, "a") : b > 1 ? b - 1 : b;
	rc = hg_store_diff(d->store, a, b, &out);
	if (rc == -ENOENT)
		return hg_op_error(r, 404, NULL, "no version %llu or %llu",
		    (unsigned long long)a, (unsigned long long)b);
	if (rc != 0)
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	redact_diff(out);
	return hg_op_reply_raw(r, 200, "text/plain; charset=utf-8", out,
	    strlen(out));
}

/* Version N's content applied like a PUT and committed as a new version
 * (the live sets are kept). */
int
op_config_rollback(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	uint64_t v = (uint64_t)hg_op_int(r, "version");
	struct hg_store_doc doc;
	char comment[64];
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	if (hg_store_get(d->store, v, &doc) != 0)
		return hg_op_error(r, 404, "version", "no version %llu",
		    (unsigned long long)v);
	free(doc.sets);
	doc.sets = NULL;	/* the live sets stay */
	snprintf(comment, sizeof(comment), "rollback to version %llu",
	    (unsigned long long)v);
	rc = config_apply(d, r, &doc, comment, 0);
	hg_store_doc_free(&doc);
	return rc;
}

int
op_config_confirm(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	uint64_t v = (uint64_t)hg_op_int(r, "version");
	struct hg_store_who who;
	char err[256];
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	who = d->who;
	who.comment = "config.confirm";
	rc = hg_store_confirm(d->store, v, &who, err, sizeof(err));
	if (rc == -ENOENT)
		return hg_op_error_code(r, 409, "not_pending", "version",
		    "version %llu is not pending (confirmed already, or rolled "
		    "back)", (unsigned long long)v);
	if (rc != 0)
		return hg_op_error(r, 500, NULL, "%s", err);
	hg_confirm_arm(d);
	hg_log_info("%s: version %llu confirmed", r->author,
	    (unsigned long long)v);
	return hg_op_reply(r, 200, json_pack("{s:I,s:s}", "version",
	    (json_int_t)v, "state", hg_store_state_name(HG_STORE_CONFIRMED)));
}

int
op_snapshot_export(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char err[256];
	json_t *o;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	o = hg_versions_doc_json(d, 0, err, sizeof(err));
	if (o == NULL)
		return hg_op_error(r, 404, NULL, "%s", err);
	if (redact_doc(r, o) != 0)
		return r->status;
	json_object_set_new(o, "format", json_string("hexgate-snapshot/1"));
	json_object_set_new(o, "hexgate", json_string(HEXGATE_VERSION));
	return hg_op_reply(r, 200, o);
}

/* --- IPsec connections: the configuration's ipsec section alone ---- */

int
op_ipsec_conns_show(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char err[256];
	json_t *o, *ipsec, *v;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	if ((o = hg_versions_doc_json(d, 0, err, sizeof(err))) == NULL)
		return hg_op_error(r, 404, NULL, "%s", err);
	ipsec = json_object_get(json_object_get(o, "config"), "ipsec");
	ipsec = ipsec != NULL ? json_incref(ipsec) : json_object();
	v = json_incref(json_object_get(o, "version"));
	json_decref(o);
	o = json_pack("{s:o,s:o}", "version", v, "ipsec", ipsec);
	if (o == NULL || redact_doc(r, o) != 0)
		return o == NULL ? hg_op_error(r, 500, NULL, "out of memory") :
		    r->status;
	return hg_op_reply(r, 200, o);
}

/*
 * A secret given as the stars a reply shows keeps the running one of
 * the same name (GET, edit, PUT works); a secret of a new name must be
 * given.
 */
static void
secrets_keep(json_t *ipsec, const json_t *running)
{
	const json_t *old = json_object_get(running, "secrets");
	json_t *secrets = json_object_get(ipsec, "secrets"), *sec;
	const char *name;

	json_object_foreach(secrets, name, sec) {
		const json_t *v = json_object_get(sec, "secret");
		const json_t *was = json_object_get(json_object_get(old, name),
		    "secret");

		if (json_is_string(v) && strcmp(json_string_value(v),
		    HG_SECRET_REDACTED) == 0 && json_is_string(was))
			json_object_set(sec, "secret", (json_t *)was);
	}
}

int
op_ipsec_conns_put(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	struct hg_store_doc doc;
	json_t *o, *config, *ipsec;
	const json_t *running;
	char err[256];
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	if ((o = hg_versions_doc_json(d, 0, err, sizeof(err))) == NULL)
		return hg_op_error(r, 404, NULL, "%s", err);
	config = json_object_get(o, "config");
	running = json_object_get(config, "ipsec");
	ipsec = json_deep_copy(hg_op_json(r, "ipsec"));
	if (ipsec == NULL) {
		json_decref(o);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	secrets_keep(ipsec, running);
	if (json_object_size(ipsec) == 0) {
		json_decref(ipsec);
		json_object_del(config, "ipsec");
	} else
		json_object_set_new(config, "ipsec", ipsec);
	memset(&doc, 0, sizeof(doc));
	doc.config = json_dumps(config, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	doc.rules = (char *)json_string_value(json_object_get(o, "rules"));
	doc.rules6 = (char *)json_string_value(json_object_get(o, "rules6"));
	doc.sets = (char *)json_string_value(json_object_get(o, "sets"));
	if (doc.config == NULL) {
		json_decref(o);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	rc = config_apply(d, r, &doc, "ipsec connections", 0);
	OPENSSL_cleanse(doc.config, strlen(doc.config));
	free(doc.config);
	json_decref(o);
	return rc;
}

/* --- API tokens ------------------------------------------------------- */

/*
 * Tokens are 32 random bytes: guessing one, or inverting its hash, is
 * 2^256 work, so one fast SHA-256 is enough.  A slow hash (argon2id, as
 * for the password) is for secrets people choose, which a dictionary can
 * search; a slow hash on every token request would only cost us CPU.
 */
int
hg_token_hash(const char *token, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1
	    || n != 32)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* RFC 3339 UTC text of a wall-clock time, or null for 0. */
static json_t *
time_json(uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	char buf[32];
	struct tm tm;

	if (ns == 0 || gmtime_r(&sec, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
token_json(const struct hg_store_token *t, uint64_t now_ns)
{
	const char *state = t->revoked ? "revoked" : t->expires_ns != 0 &&
	    t->expires_ns <= now_ns ? "expired" : "active";

	return json_pack("{s:I,s:s,s:o,s:o,s:I,s:I,s:s}",
	    "id", (json_int_t)t->id, "name", t->name,
	    "created", time_json(t->created_ns),
	    "expires", time_json(t->expires_ns),
	    "created_ns", (json_int_t)t->created_ns,
	    "expires_ns", (json_int_t)t->expires_ns, "state", state);
}

/* 201 with the secret, which is never shown again (only its hash is
 * kept). */
int
op_token_create(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const char *name = hg_op_str(r, "name");
	unsigned char raw[TOKEN_BYTES];
	char token[2 * TOKEN_BYTES + 8], hash[65];
	struct hg_store_token t;
	uint64_t id, now_ns = hg_store_now_ns(), expires_ns = 0;
	json_t *o;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	for (const char *c = name; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '"' ||
		    *c == '\\')
			return hg_op_error(r, 400, "name", "name: printable "
			    "characters, no spaces or quotes");
	if (hg_op_has(r, "expires_s"))
		expires_ns = now_ns +
		    (uint64_t)hg_op_int(r, "expires_s") * 1000000000u;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return hg_op_error(r, 500, NULL, "no random bytes");
	memcpy(token, "hgt_", 4);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 4 + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (hg_token_hash(token, hash) != 0) {
		OPENSSL_cleanse(token, sizeof(token));
		return hg_op_error(r, 500, NULL, "no SHA-256");
	}
	rc = hg_store_token_add(d->store, name, hash, expires_ns, &d->who,
	    &id);
	if (rc != 0) {
		OPENSSL_cleanse(token, sizeof(token));
		if (rc == -EEXIST)
			return hg_op_error_code(r, 409, "conflict", "name",
			    "a token named \"%s\" exists", name);
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	}
	memset(&t, 0, sizeof(t));
	t.id = id;
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.created_ns = now_ns;
	t.expires_ns = expires_ns;
	o = token_json(&t, now_ns);
	if (o != NULL)
		json_object_set_new(o, "token", json_string(token));
	OPENSSL_cleanse(token, sizeof(token));
	hg_log_info("%s: token \"%s\" (id %llu) created from %s", r->author,
	    name, (unsigned long long)id, r->source);
	return hg_op_reply(r, 201, o);
}

struct token_list {
	json_t *a;
	uint64_t now_ns;
};

static int
token_one(void *arg, const struct hg_store_token *t)
{
	struct token_list *l = arg;

	json_array_append_new(l->a, token_json(t, l->now_ns));
	return 0;
}

int
op_token_list(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	struct token_list l;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	l.a = json_array();
	l.now_ns = hg_store_now_ns();
	rc = hg_store_token_list(d->store, token_one, &l);
	if (rc != 0) {
		json_decref(l.a);
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	}
	return hg_op_reply(r, 200, json_pack("{s:o}", "tokens", l.a));
}

int
op_token_revoke(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	uint64_t id = (uint64_t)hg_op_int(r, "id");
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	rc = hg_store_token_revoke(d->store, id, &d->who);
	if (rc == -ENOENT)
		return hg_op_error(r, 404, "id", "no token %llu, or revoked "
		    "already", (unsigned long long)id);
	if (rc != 0)
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	/* A cached login must not outlive its token. */
	if (d->api != NULL)
		hg_api_auth_flush(d->api);
	hg_log_info("%s: token %llu revoked", r->author,
	    (unsigned long long)id);
	return hg_op_reply(r, 200, json_pack("{s:I,s:s}", "id",
	    (json_int_t)id, "state", "revoked"));
}

/* --- audit ------------------------------------------------------------ */

static int
audit_one(void *arg, const struct hg_store_audit_row *row)
{
	json_t *a = arg;

	json_array_append_new(a, json_pack(
	    "{s:I,s:o,s:I,s:s,s:s,s:s,s:I,s:s}",
	    "id", (json_int_t)row->id, "at", time_json(row->at_ns),
	    "at_ns", (json_int_t)row->at_ns, "author", row->author,
	    "source", row->source, "action", row->action,
	    "version", (json_int_t)row->version, "detail", row->detail));
	return 0;
}

int
op_audit_show(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	json_t *a;
	int rc;

	if (d->store == NULL)
		return hg_ops_no_store(r);
	a = json_array();
	rc = hg_store_audit_list(d->store, (unsigned)hg_op_int(r, "limit"),
	    audit_one, a);
	if (rc != 0) {
		json_decref(a);
		return hg_op_error(r, 500, NULL, "the store: %s",
		    strerror(-rc));
	}
	return hg_op_reply(r, 200, json_pack("{s:o}", "audit", a));
}
