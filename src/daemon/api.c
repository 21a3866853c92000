/*
 * src/daemon/api.c: hexgated's resources on the HTTPS REST API
 * (src/mgmt/api.h does TLS, authentication, routing and errors).  Each
 * handler is a control request the Unix socket serves too
 * (hg_ctl_request()), so the API, hexctl and the socket give the same
 * answers and make the same checks: a change is parsed and compiled whole
 * or refused with every error, located, and nothing applied.  The store's
 * resources (versions, commit-confirm, snapshots, tokens, audit) and the
 * Prometheus /metrics are the API's alone.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../lib/log.h"
#include "../mgmt/api.h"
#include "api_names.h"
#include "daemon.h"

#define API_LINE_MAX	8192
#define API_NAME_MAX	64	/* a chain or set name, as hexctl */
#define API_CONFIRM_MAX_S	86400u	/* commit-confirm: at most a day */
#define API_TOKEN_BYTES		32	/* random bytes in a token */
#define API_TOKEN_MAX_S		(10u * 366 * 86400)	/* expires_s */

/* The reply of a control request as an HTTP reply: its "error" becomes a
 * 400 that keeps the located errors ("errors"); otherwise ok_status. */
static int
api_relay(struct hg_api_resp *resp, json_t *r, int ok_status)
{
	const json_t *err;
	json_t *body;

	if (r == NULL)
		return -ENOMEM;
	err = json_object_get(r, "error");
	if (err == NULL)
		return hg_api_reply_json(resp, ok_status, r);
	body = json_pack("{s:{s:i,s:s,s:O,s:n}}", "error", "status", 400,
	    "code", "bad_request", "message", err, "field");
	if (body != NULL && json_object_get(r, "errors") != NULL)
		json_object_set(json_object_get(body, "error"), "errors",
		    json_object_get(r, "errors"));
	json_decref(r);
	return hg_api_reply_json(resp, 400, body);
}

/* ?family=4|6 (default 4), as the control requests write it. */
static int
api_family(struct hg_api_req *req, struct hg_api_resp *resp,
    const char **flag)
{
	const char *f = hg_api_req_query(req, "family");

	if (f == NULL || strcmp(f, "4") == 0)
		*flag = "-4";
	else if (strcmp(f, "6") == 0)
		*flag = "-6";
	else
		return hg_api_error(resp, 400, "query:family", "family is 4 "
		    "or 6, not \"%.20s\"", f);
	return 0;
}

/* One hexgated per process: the handlers' daemon. */
static struct hg_daemon *api_daemon;

/* The name of the token the request being served showed, as "token:NAME":
 * api_token_ok() runs on the control thread right before the handler, so
 * it can leave the name here for the audit. */
static char api_token_author[HG_STORE_TOKEN_NAME_MAX + 8];

/* Sets d->who to req's client: the author of what it changes. */
static void
api_who(struct hg_api_req *req)
{
	const char *p = hg_api_req_principal(req);

	api_daemon->who.author = p != NULL && strcmp(p, "token") == 0 ?
	    api_token_author : "api";
	api_daemon->who.source = hg_api_req_peer(req);
}

/* One control request on behalf of req's client, who authors the
 * version a change commits. */
static json_t *
api_request(struct hg_api_req *req, const char *line, const char *body,
    size_t body_len)
{
	json_t *r;

	api_who(req);
	r = hg_ctl_request(api_daemon, line, body, body_len);
	memset(&api_daemon->who, 0, sizeof(api_daemon->who));
	return r;
}

json_t *
hg_api_ctl(struct hg_api_req *req, const char *line, const char *body,
    size_t body_len)
{
	return api_request(req, line, body, body_len);
}

/* --- /api/packet_monitor (monitor.c) ---------------------------------- */

static int
api_monitor_post(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	(void)arg;
	return hg_monitor_post(api_daemon, req, resp);
}

static int
api_monitor_get(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	(void)arg;
	return hg_monitor_list(api_daemon, req, resp);
}

static int
api_monitor_delete(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	(void)arg;
	return hg_monitor_delete(api_daemon, req, resp);
}

static int
api_monitor_pcap(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	(void)arg;
	return hg_monitor_pcap(api_daemon, req, resp);
}

/* GET routes that are one "show ..." request each; arg is the line. */
static int
api_show(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	return api_relay(resp, api_request(req, arg, NULL, 0), 200);
}

static int
api_rules_get(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *fam, *format = hg_api_req_query(req, "format");
	const json_t *text;
	char line[64];
	json_t *r;
	int rc;

	(void)arg;
	if ((rc = api_family(req, resp, &fam)) != 0)
		return rc;
	snprintf(line, sizeof(line), "firewall save %s", fam);
	r = api_request(req, line, NULL, 0);
	if (format == NULL || strcmp(format, "json") == 0)
		return api_relay(resp, r, 200);
	if (strcmp(format, "text") != 0) {
		json_decref(r);
		return hg_api_error(resp, 400, "query:format", "format is json "
		    "or text, not \"%.20s\"", format);
	}
	text = r != NULL ? json_object_get(r, "text") : NULL;
	if (!json_is_string(text))
		return api_relay(resp, r, 200);
	rc = hg_api_reply_raw(resp, 200, "text/plain; charset=utf-8",
	    json_string_value(text), json_string_length(text));
	json_decref(r);
	return rc;
}

static int
api_rules_put(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *fam, *text;
	char line[128];
	size_t len;
	int rc;

	(void)arg;
	if ((rc = api_family(req, resp, &fam)) != 0)
		return rc;
	text = hg_api_req_text(req, &len);
	snprintf(line, sizeof(line), "firewall restore %s %zu api", fam, len);
	return api_relay(resp, api_request(req, line, text, len),
	    200);
}

/* A chain or set name as the control line carries it: one word of
 * printable characters (the firewall says whether there is one). */
static bool
api_word_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++)
		if (!isgraph((unsigned char)s[n]))
			return false;
	return n > 0 && n <= max;
}

/* Text that goes on the control line after the words before it: one line,
 * not blank. */
static bool
api_text_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL &&
	    s[strspn(s, " \t")] != '\0';
}

/* The "chain" and "rule" of a rule's JSON body; 0, or the error sent. */
static int
api_rule_fields(struct hg_api_resp *resp, const json_t *b,
    const char **chain, const char **rule)
{
	*chain = json_string_value(json_object_get(b, "chain"));
	*rule = json_string_value(json_object_get(b, "rule"));
	if (!api_word_ok(*chain, API_NAME_MAX))
		return hg_api_error(resp, 400, "/chain", "chain: a chain name "
		    "(FORWARD_CUST, ...) of at most %d characters is required",
		    API_NAME_MAX);
	if (!api_text_ok(*rule))
		return hg_api_error(resp, 400, "/rule", "rule: the rule's "
		    "options on one line are required");
	return 0;
}

/* POST {"chain": "FORWARD_CUST", "rule": "-s ... -j ACCEPT",
 * "position": N}: append, or insert at N (1-based) like iptables -I. */
static int
api_rules_post(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	json_t *b = hg_api_req_json(req);
	const char *fam, *chain, *rule;
	const json_t *pos;
	char line[API_LINE_MAX];
	int rc;

	(void)arg;
	if ((rc = api_family(req, resp, &fam)) != 0 ||
	    (rc = api_rule_fields(resp, b, &chain, &rule)) != 0)
		return rc;
	pos = json_object_get(b, "position");
	if (pos != NULL && (!json_is_integer(pos) ||
	    json_integer_value(pos) < 1 || json_integer_value(pos) > 1000000))
		return hg_api_error(resp, 400, "/position", "position: a rule "
		    "number from 1");
	if (pos != NULL)
		rc = snprintf(line, sizeof(line), "firewall insert %s %s %lld %s",
		    fam, chain, (long long)json_integer_value(pos), rule);
	else
		rc = snprintf(line, sizeof(line), "firewall add %s %s %s", fam,
		    chain, rule);
	if (rc < 0 || (size_t)rc >= sizeof(line))
		return hg_api_error(resp, 400, "/rule", "rule too long");
	return api_relay(resp, api_request(req, line, NULL, 0), 201);
}

/* DELETE {"chain": "FORWARD_CUST", "rule": "-s ... -j ACCEPT"}: the first
 * rule of the chain with that text, as iptables -D CHAIN RULE does. */
static int
api_rules_delete_text(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	const char *fam, *chain, *rule;
	char line[API_LINE_MAX];
	int rc;

	(void)arg;
	if ((rc = api_family(req, resp, &fam)) != 0 ||
	    (rc = api_rule_fields(resp, hg_api_req_json(req), &chain,
	    &rule)) != 0)
		return rc;
	/* A bare number is a position on the control line. */
	if (rule[strspn(rule, " 0123456789")] == '\0')
		return hg_api_error(resp, 400, "/rule", "rule: the rule's "
		    "text; a position is deleted with DELETE "
		    "/api/firewall/rules/CHAIN/N");
	rc = snprintf(line, sizeof(line), "firewall delete %s %s %s", fam,
	    chain, rule);
	if (rc < 0 || (size_t)rc >= sizeof(line))
		return hg_api_error(resp, 400, "/rule", "rule too long");
	return api_relay(resp, api_request(req, line, NULL, 0), 200);
}

static int
api_rules_delete(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *fam, *chain = hg_api_req_param(req, "chain");
	const char *pos = hg_api_req_param(req, "position");
	char line[128], *end;
	long n;
	int rc;

	(void)arg;
	if ((rc = api_family(req, resp, &fam)) != 0)
		return rc;
	n = strtol(pos, &end, 10);
	if (*end != '\0' || n < 1 || n > 1000000)
		return hg_api_error(resp, 400, "path:position", "position: a "
		    "rule number from 1");
	if (strlen(chain) > 40 || strchr(chain, ' ') != NULL)
		return hg_api_error(resp, 400, "path:chain", "bad chain name");
	snprintf(line, sizeof(line), "firewall delete %s %s %ld", fam, chain,
	    n);
	return api_relay(resp, api_request(req, line, NULL, 0), 200);
}

static int
api_sets_put(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *text;
	char line[64];
	size_t len;

	(void)arg;
	text = hg_api_req_text(req, &len);
	snprintf(line, sizeof(line), "sets restore %zu api", len);
	return api_relay(resp, api_request(req, line, text, len),
	    200);
}

/* POST and DELETE /api/firewall/fwsets/NAME/entries {"entry": "..."}:
 * "sets add|del NAME ENTRY", one ipset command checked and applied like
 * a restore of one line.  arg is "add" or "del". */
static int
api_set_entry(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *name = hg_api_req_param(req, "name");
	const char *entry = json_string_value(json_object_get(
	    hg_api_req_json(req), "entry"));
	char line[API_LINE_MAX];
	int rc;

	if (!api_word_ok(name, API_NAME_MAX))
		return hg_api_error(resp, 400, "path:name", "name: a set name "
		    "of at most %d characters, without spaces", API_NAME_MAX);
	if (!api_text_ok(entry))
		return hg_api_error(resp, 400, "/entry", "entry: the element "
		    "on one line, in ipset %s syntax (192.0.2.1, 10.0.0.0/8, "
		    "10.0.0.1,tcp:80), is required", (const char *)arg);
	rc = snprintf(line, sizeof(line), "sets %s %s %s", (const char *)arg,
	    name, entry);
	if (rc < 0 || (size_t)rc >= sizeof(line))
		return hg_api_error(resp, 400, "/entry", "entry too long");
	return api_relay(resp, api_request(req, line, NULL, 0),
	    strcmp(arg, "add") == 0 ? 201 : 200);
}

/* POST /api/reload: the configuration file read again, as SIGHUP. */
static int
api_reload(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	(void)arg;
	return api_relay(resp, api_request(req, "reload", NULL, 0), 200);
}

/* --- the configuration store ------------------------------------------ */

static int
api_no_store(struct hg_api_resp *resp)
{
	return hg_api_error(resp, 404, NULL, "no configuration store: the "
	    "config file has no \"store\" key");
}

/* A version number from text; 0 when it is not one. */
static uint64_t
api_version_arg(const char *s)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' ? (uint64_t)v : 0;
}

static int
api_config_get(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *p = hg_api_req_param(req, "version");
	uint64_t v = 0;
	char err[256];
	json_t *o;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (p != NULL && (v = api_version_arg(p)) == 0)
		return hg_api_error(resp, 400, "path:version", "a version "
		    "number from 1");
	o = hg_store_doc_json(api_daemon, v, err, sizeof(err));
	if (o == NULL)
		return hg_api_error(resp, 404, "path:version", "%s", err);
	return hg_api_reply_json(resp, 200, o);
}

/* Applies doc (PUT or rollback) as req's client; {"version": N}. */
static int
api_config_apply(struct hg_api_req *req, struct hg_api_resp *resp,
    const struct hg_store_doc *doc, const char *comment,
    uint64_t deadline_ns)
{
	struct hg_daemon *d = api_daemon;
	char err[1024];
	int rc;

	api_who(req);
	rc = hg_store_apply(d, doc, comment, deadline_ns, err, sizeof(err));
	memset(&d->who, 0, sizeof(d->who));
	if (rc == -EBUSY)
		return hg_api_error(resp, 409, NULL, "%s", err);
	if (rc != 0) {
		hg_log_warnx("api: configuration refused: %s", err);
		return hg_api_error(resp, 400, NULL, "%s; nothing changed",
		    err);
	}
	hg_log_info("api: configuration applied (version %llu%s)",
	    (unsigned long long)d->store_version, deadline_ns != 0 ?
	    ", pending confirmation" : "");
	if (deadline_ns != 0)
		return hg_api_reply_json(resp, 200, json_pack("{s:I,s:s,s:I}",
		    "version", (json_int_t)d->store_version, "state",
		    hg_store_state_name(HG_STORE_PENDING), "deadline_ns",
		    (json_int_t)deadline_ns));
	return hg_api_reply_json(resp, 200, json_pack("{s:I}", "version",
	    (json_int_t)d->store_version));
}

static const char *
api_doc_text(const json_t *b, const char *key)
{
	const json_t *v = json_object_get(b, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* {"config": {...}, "rules": "...", "rules6": "...", "sets": "..."};
 * a text left out is the empty one (sets: the live ones). */
static int
api_doc_put(struct hg_api_req *req, struct hg_api_resp *resp,
    const char *comment, uint64_t deadline_ns)
{
	json_t *b = hg_api_req_json(req);
	const json_t *cfg = json_object_get(b, "config");
	struct hg_store_doc doc;
	static const char *const keys[] = { "rules", "rules6", "sets" };
	int rc;

	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (!json_is_object(cfg))
		return hg_api_error(resp, 400, "/config", "config: the whole "
		    "configuration, a JSON object, is required");
	for (size_t i = 0; i < HG_ARRAY_SIZE(keys); i++) {
		const json_t *v = json_object_get(b, keys[i]);
		char field[16];

		snprintf(field, sizeof(field), "/%s", keys[i]);
		if (v != NULL && !json_is_string(v))
			return hg_api_error(resp, 400, field, "%s: a text",
			    keys[i]);
	}
	memset(&doc, 0, sizeof(doc));
	doc.config = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (doc.config == NULL)
		return -ENOMEM;
	doc.rules = (char *)api_doc_text(b, "rules");
	doc.rules6 = (char *)api_doc_text(b, "rules6");
	doc.sets = (char *)api_doc_text(b, "sets");
	rc = api_config_apply(req, resp, &doc, comment, deadline_ns);
	free(doc.config);
	return rc;
}

/* PUT /api/config: ?confirm_s=N commits pending for N seconds. */
static int
api_config_put(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *cs = hg_api_req_query(req, "confirm_s");
	uint64_t n, deadline_ns = 0;

	(void)arg;
	if (cs != NULL) {
		n = api_version_arg(cs);
		if (n == 0 || n > API_CONFIRM_MAX_S)
			return hg_api_error(resp, 400, "query:confirm_s",
			    "confirm_s: seconds to confirm in, 1 to %u",
			    API_CONFIRM_MAX_S);
		deadline_ns = hg_store_now_ns() + n * 1000000000u;
	}
	return api_doc_put(req, resp, deadline_ns != 0 ?
	    "PUT /api/config (commit-confirm)" : "PUT /api/config",
	    deadline_ns);
}

/* PUT /api/snapshots: a document from GET /api/snapshots, imported like
 * PUT /api/config (its "version" and "format" are ignored). */
static int
api_snapshot_put(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	(void)arg;
	return api_doc_put(req, resp, "snapshot import", 0);
}

struct api_list {
	json_t *a;
};

static int
api_version_one(void *arg, const struct hg_store_version *v)
{
	struct api_list *l = arg;

	json_array_append_new(l->a, json_pack(
	    "{s:I,s:I,s:s,s:s,s:s,s:s,s:I}",
	    "version", (json_int_t)v->version,
	    "created_ns", (json_int_t)v->created_ns,
	    "author", v->author, "source", v->source,
	    "comment", v->comment,
	    "state", hg_store_state_name(v->state),
	    "restored_from", (json_int_t)v->restored_from));
	if (v->pending_deadline_ns != 0)
		json_object_set_new(json_array_get(l->a,
		    json_array_size(l->a) - 1), "pending_deadline_ns",
		    json_integer((json_int_t)v->pending_deadline_ns));
	return 0;
}

/* {"version", "deadline_ns", "remaining_s"} of the version awaiting
 * confirmation, or null. */
static json_t *
api_pending_json(void)
{
	uint64_t v, deadline_ns, now_ns = hg_store_now_ns();

	if (hg_store_pending(api_daemon->store, &v, &deadline_ns) != 0)
		return json_null();
	return json_pack("{s:I,s:I,s:f}", "version", (json_int_t)v,
	    "deadline_ns", (json_int_t)deadline_ns, "remaining_s",
	    deadline_ns > now_ns ? (double)(deadline_ns - now_ns) / 1e9 : 0.0);
}

static int
api_versions(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *lim = hg_api_req_query(req, "limit");
	struct api_list l;
	uint64_t n = 0;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (lim != NULL && ((n = api_version_arg(lim)) == 0 || n > 100000))
		return hg_api_error(resp, 400, "query:limit", "limit: a number "
		    "from 1");
	l.a = json_array();
	rc = hg_store_list(api_daemon->store, (unsigned)n, api_version_one,
	    &l);
	if (rc != 0) {
		json_decref(l.a);
		return rc;
	}
	return hg_api_reply_json(resp, 200, json_pack("{s:I,s:o,s:o}",
	    "current", (json_int_t)api_daemon->store_version, "pending",
	    api_pending_json(), "versions", l.a));
}

static int
api_config_diff(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *qa = hg_api_req_query(req, "a");
	const char *qb = hg_api_req_query(req, "b");
	uint64_t a, b;
	char *out = NULL;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	/* Without them: what the last change did. */
	b = qb != NULL ? api_version_arg(qb) : api_daemon->store_version;
	a = qa != NULL ? api_version_arg(qa) : b > 1 ? b - 1 : b;
	if (a == 0 || b == 0)
		return hg_api_error(resp, 400, a == 0 ? "query:a" : "query:b",
		    "a and b: the version numbers to compare");
	rc = hg_store_diff(api_daemon->store, a, b, &out);
	if (rc == -ENOENT)
		return hg_api_error(resp, 404, NULL, "no version %llu or %llu",
		    (unsigned long long)a, (unsigned long long)b);
	if (rc != 0)
		return rc;
	rc = hg_api_reply_raw(resp, 200, "text/plain; charset=utf-8", out,
	    strlen(out));
	free(out);
	return rc;
}

/* The {"version": N} of a store route's body: 0 and *v, or the status of
 * the error reply (no store; not a version number: "version: what"). */
static int
api_body_version(struct hg_api_req *req, struct hg_api_resp *resp,
    const char *what, uint64_t *v)
{
	const json_t *jv = json_object_get(hg_api_req_json(req), "version");

	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (!json_is_integer(jv) || json_integer_value(jv) < 1)
		return hg_api_error(resp, 400, "/version", "version: %s", what);
	*v = (uint64_t)json_integer_value(jv);
	return 0;
}

/* POST {"version": N}: version N's content applied like a PUT and
 * committed as a new version (the live sets are kept). */
static int
api_config_rollback(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	struct hg_store_doc doc;
	char comment[64];
	uint64_t v;
	int rc;

	(void)arg;
	if ((rc = api_body_version(req, resp, "a version number from 1",
	    &v)) != 0)
		return rc;
	if (hg_store_get(api_daemon->store, v, &doc) != 0)
		return hg_api_error(resp, 404, "/version", "no version %llu",
		    (unsigned long long)v);
	free(doc.sets);
	doc.sets = NULL;	/* the live sets stay */
	snprintf(comment, sizeof(comment), "rollback to version %llu",
	    (unsigned long long)v);
	rc = api_config_apply(req, resp, &doc, comment, 0);
	hg_store_doc_free(&doc);
	return rc;
}

/* POST {"version": N}: N, the pending version, stays. */
static int
api_config_confirm(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	struct hg_store_who who;
	char err[256];
	uint64_t v;
	int rc;

	(void)arg;
	if ((rc = api_body_version(req, resp, "the pending version's number",
	    &v)) != 0)
		return rc;
	api_who(req);
	who = api_daemon->who;
	who.comment = "POST /api/config/confirm";
	rc = hg_store_confirm(api_daemon->store, v, &who, err, sizeof(err));
	memset(&api_daemon->who, 0, sizeof(api_daemon->who));
	if (rc == -ENOENT)
		return hg_api_error_code(resp, 409, "not_pending", "/version",
		    "version %llu is not pending (confirmed already, or rolled "
		    "back)", (unsigned long long)v);
	if (rc != 0)
		return rc;
	hg_store_confirm_arm(api_daemon);
	hg_log_info("api: version %llu confirmed", (unsigned long long)v);
	return hg_api_reply_json(resp, 200, json_pack("{s:I,s:s}", "version",
	    (json_int_t)v, "state", hg_store_state_name(HG_STORE_CONFIRMED)));
}

/* --- snapshots -------------------------------------------------------- */

static int
api_snapshot_get(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	char err[256];
	json_t *o;

	(void)req;
	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	o = hg_store_doc_json(api_daemon, 0, err, sizeof(err));
	if (o == NULL)
		return hg_api_error(resp, 404, NULL, "%s", err);
	json_object_set_new(o, "format", json_string("hexgate-snapshot/1"));
	json_object_set_new(o, "hexgate", json_string(HEXGATE_VERSION));
	return hg_api_reply_json(resp, 200, o);
}

/* --- API tokens ------------------------------------------------------- */

/*
 * Tokens are 32 random bytes: guessing one, or inverting its hash, is
 * 2^256 work, so one fast SHA-256 is enough.  A slow hash (argon2id, as
 * for the password) is for secrets people choose, which a dictionary can
 * search; a slow hash on every token request would only cost us CPU.
 */
static int
api_token_hash(const char *token, char hex[65])
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

/* hg_api_params.token_ok: a known token, neither revoked nor expired. */
static bool
api_token_ok(const char *token, void *arg)
{
	struct hg_daemon *d = arg;
	struct hg_store_token t;
	char hash[65];
	int rc;

	api_token_author[0] = '\0';
	if (d->store == NULL || api_token_hash(token, hash) != 0)
		return false;
	rc = hg_store_token_find_by_hash(d->store, hash, hg_store_now_ns(),
	    &t);
	if (rc == -EKEYREVOKED || rc == -EKEYEXPIRED)
		hg_log_info("api: token \"%s\" refused: %s", t.name,
		    rc == -EKEYREVOKED ? "revoked" : "expired");
	if (rc != 0)
		return false;
	snprintf(api_token_author, sizeof(api_token_author), "token:%s",
	    t.name);
	return true;
}

/* RFC 3339 UTC text of a wall-clock time, or null for 0. */
static json_t *
api_time_json(uint64_t ns)
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
api_token_json(const struct hg_store_token *t, uint64_t now_ns)
{
	const char *state = t->revoked ? "revoked" : t->expires_ns != 0 &&
	    t->expires_ns <= now_ns ? "expired" : "active";

	return json_pack("{s:I,s:s,s:o,s:o,s:I,s:I,s:s}",
	    "id", (json_int_t)t->id, "name", t->name,
	    "created", api_time_json(t->created_ns),
	    "expires", api_time_json(t->expires_ns),
	    "created_ns", (json_int_t)t->created_ns,
	    "expires_ns", (json_int_t)t->expires_ns, "state", state);
}

static bool
api_token_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= HG_STORE_TOKEN_NAME_MAX)
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f || *c == '"' || *c == '\\')
			return false;
	return true;
}

/* POST {"name": "ci", "expires_s": 3600}: 201 with the secret, which
 * is never shown again (only its hash is kept). */
static int
api_token_post(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	json_t *b = hg_api_req_json(req);
	const char *name = json_string_value(json_object_get(b, "name"));
	const json_t *exp = json_object_get(b, "expires_s");
	unsigned char raw[API_TOKEN_BYTES];
	char token[2 * API_TOKEN_BYTES + 8], hash[65];
	struct hg_store_token t;
	struct hg_store_who who;
	uint64_t id, now_ns = hg_store_now_ns(), expires_ns = 0;
	json_t *o;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (name == NULL || !api_token_name_ok(name))
		return hg_api_error(resp, 400, "/name", "name: 1 to %d printable "
		    "characters, no spaces or quotes",
		    HG_STORE_TOKEN_NAME_MAX - 1);
	if (exp != NULL && (!json_is_integer(exp) ||
	    json_integer_value(exp) < 1 ||
	    json_integer_value(exp) > API_TOKEN_MAX_S))
		return hg_api_error(resp, 400, "/expires_s", "expires_s: "
		    "seconds from now, 1 to %u", API_TOKEN_MAX_S);
	if (exp != NULL)
		expires_ns = now_ns +
		    (uint64_t)json_integer_value(exp) * 1000000000u;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	memcpy(token, "hgt_", 4);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 4 + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	if ((rc = api_token_hash(token, hash)) != 0)
		return rc;
	api_who(req);
	who = api_daemon->who;
	who.comment = NULL;
	memset(&api_daemon->who, 0, sizeof(api_daemon->who));
	rc = hg_store_token_add(api_daemon->store, name, hash, expires_ns, &who,
	    &id);
	if (rc == -EEXIST) {
		OPENSSL_cleanse(token, sizeof(token));
		return hg_api_error_code(resp, 409, "conflict", "/name",
		    "a token named \"%s\" exists", name);
	}
	if (rc != 0) {
		OPENSSL_cleanse(token, sizeof(token));
		return rc;
	}
	memset(&t, 0, sizeof(t));
	t.id = id;
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.created_ns = now_ns;
	t.expires_ns = expires_ns;
	o = api_token_json(&t, now_ns);
	if (o != NULL)
		json_object_set_new(o, "token", json_string(token));
	OPENSSL_cleanse(token, sizeof(token));
	hg_log_info("api: token \"%s\" (id %llu) created by %s", name,
	    (unsigned long long)id, hg_api_req_peer(req));
	return hg_api_reply_json(resp, 201, o);
}

struct api_token_list {
	json_t *a;
	uint64_t now_ns;
};

static int
api_token_one(void *arg, const struct hg_store_token *t)
{
	struct api_token_list *l = arg;

	json_array_append_new(l->a, api_token_json(t, l->now_ns));
	return 0;
}

static int
api_token_get(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	struct api_token_list l;
	int rc;

	(void)req;
	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	l.a = json_array();
	l.now_ns = hg_store_now_ns();
	rc = hg_store_token_list(api_daemon->store, api_token_one, &l);
	if (rc != 0) {
		json_decref(l.a);
		return rc;
	}
	return hg_api_reply_json(resp, 200, json_pack("{s:o}", "tokens", l.a));
}

static int
api_token_delete(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	uint64_t id = api_version_arg(hg_api_req_param(req, "id"));
	struct hg_store_who who;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (id == 0)
		return hg_api_error(resp, 400, "path:id", "id: a token id from "
		    "GET /api/tokens");
	api_who(req);
	who = api_daemon->who;
	memset(&api_daemon->who, 0, sizeof(api_daemon->who));
	rc = hg_store_token_revoke(api_daemon->store, id, &who);
	if (rc == -ENOENT)
		return hg_api_error(resp, 404, "path:id", "no token %llu, or "
		    "revoked already", (unsigned long long)id);
	if (rc != 0)
		return rc;
	/* A cached login must not outlive its token. */
	hg_api_auth_flush(api_daemon->api);
	hg_log_info("api: token %llu revoked", (unsigned long long)id);
	return hg_api_reply_json(resp, 200, json_pack("{s:I,s:s}", "id",
	    (json_int_t)id, "state", "revoked"));
}

/* --- audit ------------------------------------------------------------ */

static int
api_audit_one(void *arg, const struct hg_store_audit_row *row)
{
	json_t *a = arg;

	json_array_append_new(a, json_pack(
	    "{s:I,s:o,s:I,s:s,s:s,s:s,s:I,s:s}",
	    "id", (json_int_t)row->id, "at", api_time_json(row->at_ns),
	    "at_ns", (json_int_t)row->at_ns, "author", row->author,
	    "source", row->source, "action", row->action,
	    "version", (json_int_t)row->version, "detail", row->detail));
	return 0;
}

static int
api_audit(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *lim = hg_api_req_query(req, "limit");
	uint64_t n = 100;
	json_t *a;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (lim != NULL && ((n = api_version_arg(lim)) == 0 || n > 100000))
		return hg_api_error(resp, 400, "query:limit", "limit: a number "
		    "from 1");
	a = json_array();
	rc = hg_store_audit_list(api_daemon->store, (unsigned)n,
	    api_audit_one, a);
	if (rc != 0) {
		json_decref(a);
		return rc;
	}
	return hg_api_reply_json(resp, 200, json_pack("{s:o}", "audit", a));
}

/* --- Prometheus metrics (metrics.c) ----------------------------------- */

static int
api_metrics(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	size_t len;
	char *text;
	int rc;

	(void)req;
	(void)arg;
	if ((text = hg_metrics_text(api_daemon, &len)) == NULL)
		return -ENOMEM;
	rc = hg_api_reply_raw(resp, 200,
	    "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

#define DOC_SCHEMA "{\"type\":\"object\",\"required\":[\"config\"]," \
	"\"properties\":{\"config\":{\"type\":\"object\"},\"rules\":" \
	"{\"type\":\"string\"},\"rules6\":{\"type\":\"string\"}," \
	"\"sets\":{\"type\":\"string\"}}}"

#define VERSION_SCHEMA "{\"type\":\"object\",\"required\":" \
	"[\"version\"],\"properties\":{\"version\":{\"type\":" \
	"\"integer\",\"minimum\":1}}}"

#define RULE_SCHEMA "{\"type\":\"object\",\"required\":[\"chain\"," \
	"\"rule\"],\"properties\":{\"chain\":{\"type\":\"string\"}," \
	"\"rule\":{\"type\":\"string\"}}}"

#define ENTRY_SCHEMA "{\"type\":\"object\",\"required\":[\"entry\"]," \
	"\"properties\":{\"entry\":{\"type\":\"string\"}}}"

#define FAMILY	"family"
static const struct hg_api_route api_routes[] = {
	{ HG_API_GET, "/api/status/system", api_show, "show version",
	  .summary = "version, workers, uptime and router counters" },
	{ HG_API_GET, "/api/interfaces", api_show, "show interfaces",
	  .summary = "interfaces with ports, counters and drops by reason" },
	{ HG_API_GET, "/api/routes", api_show, "show routes",
	  .summary = "the routing table" },
	{ HG_API_GET, "/api/neighbors", api_show, "show neighbors",
	  .summary = "the ARP and ND neighbour table" },
	{ HG_API_GET, "/api/firewall", api_show, "show firewall",
	  .summary = "verdict counters, conntrack totals, COPY sessions" },
	{ HG_API_GET, "/api/conntrack", api_show, "show conntrack",
	  .summary = "the connection tracking table" },
	{ HG_API_GET, "/api/nat", api_show, "nat show",
	  .summary = "active NAT translations" },
	{ HG_API_GET, "/api/firewall/fwsets", api_show, "sets save",
	  .summary = "the named sets, in ipset save form (as \"text\")" },
	{ HG_API_PUT, "/api/firewall/fwsets", api_sets_put, NULL,
	  HG_API_BODY_TEXT,
	  .summary = "replace the sets with ipset restore text, all or "
	  "nothing" },
	{ HG_API_POST, "/api/firewall/fwsets/:name/entries", api_set_entry,
	  "add", HG_API_BODY_JSON, .ok_status = 201,
	  .summary = "add an element to a set (as ipset add)",
	  .request_schema = ENTRY_SCHEMA },
	{ HG_API_DELETE, "/api/firewall/fwsets/:name/entries", api_set_entry,
	  "del", HG_API_BODY_JSON,
	  .summary = "remove an element from a set (as ipset del)",
	  .request_schema = ENTRY_SCHEMA },
	{ HG_API_GET, "/api/firewall/rules", api_rules_get, NULL,
	  .summary = "the live rules with counters: JSON {\"text\": ...} or, "
	  "with format=text, iptables-save text",
	  .query_params = FAMILY " format" },
	{ HG_API_PUT, "/api/firewall/rules", api_rules_put, NULL,
	  HG_API_BODY_TEXT,
	  .summary = "replace the rules with iptables-restore text, all or "
	  "nothing", .query_params = FAMILY },
	{ HG_API_POST, "/api/firewall/rules", api_rules_post, NULL,
	  HG_API_BODY_JSON, .ok_status = 201,
	  .summary = "add one rule (at position, like iptables -I)",
	  .query_params = FAMILY,
	  .request_schema = "{\"type\":\"object\",\"required\":[\"chain\","
	  "\"rule\"],\"properties\":{\"chain\":{\"type\":\"string\"},"
	  "\"rule\":{\"type\":\"string\"},\"position\":{\"type\":"
	  "\"integer\",\"minimum\":1}}}" },
	{ HG_API_DELETE, "/api/firewall/rules", api_rules_delete_text, NULL,
	  HG_API_BODY_JSON,
	  .summary = "delete the first rule of chain with this text (as "
	  "iptables -D CHAIN RULE)",
	  .query_params = FAMILY, .request_schema = RULE_SCHEMA },
	{ HG_API_DELETE, "/api/firewall/rules/:chain/:position",
	  api_rules_delete, NULL,
	  .summary = "delete one rule by its position in its chain",
	  .query_params = FAMILY },
	{ HG_API_POST, "/api/reload", api_reload, NULL,
	  .summary = "read the configuration file again and apply it whole, "
	  "as SIGHUP does; with a store, a new version" },
	{ HG_API_GET, "/api/config", api_config_get, NULL,
	  .summary = "the running configuration version: {version, config, "
	  "rules, rules6, sets}" },
	{ HG_API_PUT, "/api/config", api_config_put, NULL, HG_API_BODY_JSON,
	  .summary = "replace the whole configuration, all or nothing; "
	  "commits a new version (with confirm_s, pending until confirmed)",
	  .query_params = "confirm_s", .request_schema = DOC_SCHEMA },
	{ HG_API_GET, "/api/config/versions", api_versions, NULL,
	  .summary = "the versions, newest first", .query_params = "limit" },
	{ HG_API_GET, "/api/config/versions/:version", api_config_get, NULL,
	  .summary = "one version's content" },
	{ HG_API_GET, "/api/config/diff", api_config_diff, NULL,
	  .summary = "unified diff from version a (default b - 1) to "
	  "version b (default the running one)",
	  .query_params = "a b", .response_type = "text/plain" },
	{ HG_API_POST, "/api/config/rollback", api_config_rollback, NULL,
	  HG_API_BODY_JSON,
	  .summary = "apply version N's content as a new version",
	  .request_schema = VERSION_SCHEMA },
	{ HG_API_POST, "/api/config/confirm", api_config_confirm, NULL,
	  HG_API_BODY_JSON,
	  .summary = "confirm the pending version (PUT /api/config?"
	  "confirm_s=N); unconfirmed, it is rolled back at its deadline",
	  .request_schema = VERSION_SCHEMA },
	{ HG_API_GET, "/api/snapshots", api_snapshot_get, NULL,
	  .summary = "the running version as one document: {version, "
	  "config, rules, rules6, sets}" },
	{ HG_API_PUT, "/api/snapshots", api_snapshot_put, NULL,
	  HG_API_BODY_JSON,
	  .summary = "import a snapshot: as PUT /api/config",
	  .request_schema = DOC_SCHEMA },
	{ HG_API_POST, "/api/tokens", api_token_post, NULL, HG_API_BODY_JSON,
	  .ok_status = 201,
	  .summary = "make an API token (for the Api-Token header); its "
	  "secret is in this reply only",
	  .request_schema = "{\"type\":\"object\",\"required\":"
	  "[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"},"
	  "\"expires_s\":{\"type\":\"integer\",\"minimum\":1}}}" },
	{ HG_API_GET, "/api/tokens", api_token_get, NULL,
	  .summary = "the tokens, without their secrets" },
	{ HG_API_DELETE, "/api/tokens/:id", api_token_delete, NULL,
	  .summary = "revoke a token" },
	{ HG_API_GET, "/api/audit", api_audit, NULL,
	  .summary = "the audit log, newest first (default 100 rows)",
	  .query_params = "limit" },
	{ HG_API_POST, "/api/packet_monitor", api_monitor_post, NULL,
	  HG_API_BODY_JSON, .ok_status = 201,
	  .summary = "start a capture: a COPY rule to a pcap file (at most "
	  "4 running)",
	  .request_schema = "{\"type\":\"object\",\"required\":"
	  "[\"interface\"],\"properties\":{\"interface\":{\"type\":"
	  "\"string\"},\"filter\":{\"type\":\"string\"},\"snaplen\":"
	  "{\"type\":\"integer\",\"minimum\":14,\"maximum\":65535},"
	  "\"direction\":{\"type\":\"string\",\"enum\":[\"in\","
	  "\"both\"]}}}" },
	{ HG_API_GET, "/api/packet_monitor", api_monitor_get, NULL,
	  .summary = "the packet monitors (the last 8), running or not" },
	{ HG_API_GET, "/api/packet_monitor/:id/pcap", api_monitor_pcap, NULL,
	  .summary = "a monitor's capture, running or stopped",
	  .response_type = "application/vnd.tcpdump.pcap" },
	{ HG_API_DELETE, "/api/packet_monitor/:id", api_monitor_delete, NULL,
	  .summary = "stop a monitor (its COPY rule deleted); remove=1 "
	  "forgets it and deletes its file",
	  .query_params = "remove" },
	{ HG_API_GET, "/metrics", api_metrics, NULL,
	  .summary = "counters in the Prometheus text format",
	  .response_type = "text/plain" },
};

int
hg_api_start(struct hg_daemon *d, char *err, size_t err_len)
{
	const struct hg_cfg_api *c = &d->cfg->api;
	struct hg_api_params p;
	char **names;
	int rc;

	if (!c->enabled)
		return 0;
	api_daemon = d;
	hg_api_params_init(&p);
	/* the certificate names the configured addresses too */
	if ((names = hg_api_names_of(d->cfg, &p.n_names)) == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	p.names = (const char *const *)names;
	p.listen_addr = c->listen;
	p.port = c->port;
	p.state_dir = c->state_dir;
	p.cert_file = c->cert[0] ? c->cert : NULL;
	p.key_file = c->key[0] ? c->key : NULL;
	p.routes = api_routes;
	p.token_ok = api_token_ok;
	p.token_arg = d;
	p.n_routes = HG_ARRAY_SIZE(api_routes);
	p.api_version = HEXGATE_VERSION;
	rc = hg_api_create(&d->api, d->base, &p, err, err_len);
	free(names);
	if (rc == 0)
		hg_log_info("api: https://%s:%u/api (state in %s)", c->listen,
		    hg_api_port(d->api), c->state_dir);
	return rc;
}

void
hg_api_stop(struct hg_daemon *d)
{
	hg_api_free(d->api);
	d->api = NULL;
}
