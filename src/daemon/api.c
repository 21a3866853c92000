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

/* GET routes that are one "show ..." request each; arg is the line. */
static int
api_show(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	(void)req;
	return api_relay(resp, hg_ctl_request(api_daemon, arg, NULL, 0), 200);
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
	r = hg_ctl_request(api_daemon, line, NULL, 0);
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
	return api_relay(resp, hg_ctl_request(api_daemon, line, text, len),
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
	return api_relay(resp, hg_ctl_request(api_daemon, line, NULL, 0), 201);
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
	return api_relay(resp, hg_ctl_request(api_daemon, line, NULL, 0), 200);
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
	return api_relay(resp, hg_ctl_request(api_daemon, line, text, len),
	    200);
}

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
