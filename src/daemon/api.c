/*
 * src/daemon/api.c: hexgated's resources on the HTTPS REST API
 * (src/mgmt/api.h does TLS, authentication, routing and errors).  Each
 * handler is a control request the Unix socket serves too
 * (hg_ctl_request()), so the API, hexctl and the socket give the same
 * answers and make the same checks: a change is parsed and compiled whole
 * or refused with every error, located, and nothing applied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../mgmt/api.h"
#include "daemon.h"

#define API_LINE_MAX	8192

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

/* One control request on behalf of req's client, who authors the
 * version a change commits. */
static json_t *
api_request(struct hg_api_req *req, const char *line, const char *body,
    size_t body_len)
{
	json_t *r;

	api_daemon->who.author = "api";
	api_daemon->who.source = hg_api_req_peer(req);
	r = hg_ctl_request(api_daemon, line, body, body_len);
	memset(&api_daemon->who, 0, sizeof(api_daemon->who));
	return r;
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
	if ((rc = api_family(req, resp, &fam)) != 0)
		return rc;
	chain = json_string_value(json_object_get(b, "chain"));
	rule = json_string_value(json_object_get(b, "rule"));
	pos = json_object_get(b, "position");
	if (chain == NULL || chain[0] == '\0' || strchr(chain, ' ') != NULL)
		return hg_api_error(resp, 400, "/chain", "chain: a chain name "
		    "(FORWARD_CUST, ...) is required");
	if (rule == NULL || strpbrk(rule, "\r\n") != NULL)
		return hg_api_error(resp, 400, "/rule", "rule: the rule's "
		    "options on one line are required");
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
    const struct hg_store_doc *doc, const char *comment)
{
	struct hg_daemon *d = api_daemon;
	char err[1024];
	int rc;

	d->who.author = "api";
	d->who.source = hg_api_req_peer(req);
	rc = hg_store_apply(d, doc, comment, err, sizeof(err));
	memset(&d->who, 0, sizeof(d->who));
	if (rc == -EBUSY)
		return hg_api_error(resp, 409, NULL, "%s", err);
	if (rc != 0) {
		hg_log_warnx("api: configuration refused: %s", err);
		return hg_api_error(resp, 400, NULL, "%s; nothing changed",
		    err);
	}
	hg_log_info("api: configuration applied (version %llu)",
	    (unsigned long long)d->store_version);
	return hg_api_reply_json(resp, 200, json_pack("{s:I}", "version",
	    (json_int_t)d->store_version));
}

static const char *
api_doc_text(const json_t *b, const char *key)
{
	const json_t *v = json_object_get(b, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* PUT {"config": {...}, "rules": "...", "rules6": "...", "sets": "..."};
 * a text left out is the empty one (sets: the live ones). */
static int
api_config_put(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	json_t *b = hg_api_req_json(req);
	const json_t *cfg = json_object_get(b, "config");
	struct hg_store_doc doc;
	static const char *const keys[] = { "rules", "rules6", "sets" };
	int rc;

	(void)arg;
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
	rc = api_config_apply(req, resp, &doc, "PUT /api/config");
	free(doc.config);
	return rc;
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
	return 0;
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
	return hg_api_reply_json(resp, 200, json_pack("{s:I,s:o}",
	    "current", (json_int_t)api_daemon->store_version, "versions",
	    l.a));
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

/* POST {"version": N}: version N's content applied like a PUT and
 * committed as a new version (the live sets are kept). */
static int
api_config_rollback(struct hg_api_req *req, struct hg_api_resp *resp,
    void *arg)
{
	const json_t *jv = json_object_get(hg_api_req_json(req), "version");
	struct hg_store_doc doc;
	char comment[64];
	uint64_t v;
	int rc;

	(void)arg;
	if (api_daemon->store == NULL)
		return api_no_store(resp);
	if (!json_is_integer(jv) || json_integer_value(jv) < 1)
		return hg_api_error(resp, 400, "/version", "version: a version "
		    "number from 1");
	v = (uint64_t)json_integer_value(jv);
	if (hg_store_get(api_daemon->store, v, &doc) != 0)
		return hg_api_error(resp, 404, "/version", "no version %llu",
		    (unsigned long long)v);
	free(doc.sets);
	doc.sets = NULL;	/* the live sets stay */
	snprintf(comment, sizeof(comment), "rollback to version %llu",
	    (unsigned long long)v);
	rc = api_config_apply(req, resp, &doc, comment);
	hg_store_doc_free(&doc);
	return rc;
}

#define DOC_SCHEMA "{\"type\":\"object\",\"required\":[\"config\"]," \
	"\"properties\":{\"config\":{\"type\":\"object\"},\"rules\":" \
	"{\"type\":\"string\"},\"rules6\":{\"type\":\"string\"}," \
	"\"sets\":{\"type\":\"string\"}}}"

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
	{ HG_API_DELETE, "/api/firewall/rules/:chain/:position",
	  api_rules_delete, NULL,
	  .summary = "delete one rule by its position in its chain",
	  .query_params = FAMILY },
	{ HG_API_GET, "/api/config", api_config_get, NULL,
	  .summary = "the running configuration version: {version, config, "
	  "rules, rules6, sets}" },
	{ HG_API_PUT, "/api/config", api_config_put, NULL, HG_API_BODY_JSON,
	  .summary = "replace the whole configuration, all or nothing; "
	  "commits a new version", .request_schema = DOC_SCHEMA },
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
	  .request_schema = "{\"type\":\"object\",\"required\":"
	  "[\"version\"],\"properties\":{\"version\":{\"type\":"
	  "\"integer\",\"minimum\":1}}}" },
};

int
hg_api_start(struct hg_daemon *d, char *err, size_t err_len)
{
	const struct hg_cfg_api *c = &d->cfg->api;
	struct hg_api_params p;
	int rc;

	if (!c->enabled)
		return 0;
	api_daemon = d;
	hg_api_params_init(&p);
	p.listen_addr = c->listen;
	p.port = c->port;
	p.state_dir = c->state_dir;
	p.cert_file = c->cert[0] ? c->cert : NULL;
	p.key_file = c->key[0] ? c->key : NULL;
	p.routes = api_routes;
	p.n_routes = HG_ARRAY_SIZE(api_routes);
	p.api_version = HEXGATE_VERSION;
	rc = hg_api_create(&d->api, d->base, &p, err, err_len);
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
