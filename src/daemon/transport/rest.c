/*
 * src/daemon/transport/rest.c: the HTTPS REST API as a transport of the operations
 * (ops.h); src/mgmt/api.h does TLS, authentication, routing and errors.
 * At start each REST route of each operation becomes one route of the
 * server, all with the one handler below: it decodes the path
 * parameters, the query and the body against the operation's fields,
 * runs the operation and sends its reply.  POST /api/ops/NAME takes the
 * socket's {"args"} object instead, so any client of the socket can
 * speak HTTPS unchanged (hexctl --url does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../mgmt/api.h"
#include "cert_names.h"
#include "../daemon.h"
#include "../ops/ops.h"
#include "transport.h"

/* One route: an operation and which of its REST routes. */
struct api_bind {
	const struct hg_op *op;
	const struct hg_op_rest *rest;
};

/* One hexgated per process: the handlers' daemon and the routes made
 * from the table (they outlive the server). */
static struct hg_daemon *api_daemon;
static struct hg_api_route *api_routes;
static struct api_bind *api_binds;
static size_t api_n_routes;

/* The name of the token the request being served showed, as "token:NAME":
 * api_token_ok() runs on the control thread right before the handler, so
 * it can leave the name here for the audit. */
static char api_token_author[HG_STORE_TOKEN_NAME_MAX + 8];

static const char *
api_author(struct hg_api_req *req)
{
	const char *p = hg_api_req_principal(req);

	return p != NULL && strcmp(p, "token") == 0 ? api_token_author : "api";
}

/* Whether the route's path has ":name". */
static bool
path_has(const char *path, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(path, ':'); p != NULL;
	    p = strchr(p + 1, ':'))
		if (strncmp(p + 1, name, n) == 0 &&
		    (p[1 + n] == '/' || p[1 + n] == '\0'))
			return true;
	return false;
}

/* Whether field f travels in the body on route b (a path field whose
 * route's path lacks it comes in the body). */
static bool
in_body(const struct api_bind *b, const struct hg_op_field *f)
{
	return f->type != HG_OPT_TEXT && (f->in == HG_OPIN_BODY ||
	    (f->in == HG_OPIN_PATH && !path_has(b->rest->path, f->name)));
}

/* The body's members, each a field that travels there on this route. */
static int
api_decode_body(struct hg_op_req *r, const struct api_bind *b,
    const json_t *body)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v) {
		const struct hg_op_field *f = hg_op_field(b->op, key);
		char field[72], names[256];
		size_t off = 0;

		if (f != NULL && in_body(b, f))
			continue;
		names[0] = '\0';
		for (size_t i = 0; i < HG_OP_FIELDS_MAX && b->op->fields[i].name;
		    i++)
			if (in_body(b, &b->op->fields[i]) && off < sizeof(names))
				off += (size_t)snprintf(names + off,
				    sizeof(names) - off, "%s%s", off ? ", " : "",
				    b->op->fields[i].name);
		snprintf(field, sizeof(field), "/%.60s", key);
		return hg_op_error(r, 400, field, "%.60s: not a field of this "
		    "request's body (it takes: %s)", key, off ? names : "none");
	}
	return hg_op_decode_json(r, body, -1);
}

/* Sends r's outcome. */
static int
api_send(struct hg_api_req *req, struct hg_api_resp *resp,
    const struct api_bind *b, struct hg_op_req *r)
{
	const char *format = hg_api_req_query(req, "format");
	const char *text;
	int status = r->status;

	if (status >= 400)
		return hg_api_reply_json(resp, status, hg_op_error_json(r));
	/* A documented success status (201) for what the handler says 200. */
	if (status == 200 && b != NULL && b->rest->ok_status != 0)
		status = b->rest->ok_status;
	if (r->raw != NULL) {
		if (r->filename[0] != '\0') {
			char disp[128];

			snprintf(disp, sizeof(disp), "attachment; filename="
			    "\"%s\"", r->filename);
			if (hg_api_reply_header(resp, "Content-Disposition",
			    disp) != 0)
				return -ENOMEM;
		}
		return hg_api_reply_raw(resp, status, r->raw_type, r->raw,
		    r->raw_len);
	}
	text = json_string_value(json_object_get(r->reply, "text"));
	if (b != NULL && text != NULL && ((b->rest->flags & HG_OPR_TEXT) ||
	    ((b->rest->flags & HG_OPR_FORMAT) && format != NULL &&
	    strcmp(format, "text") == 0)))
		return hg_api_reply_raw(resp, status,
		    "text/plain; charset=utf-8", text, strlen(text));
	status = hg_api_reply_json(resp, status, r->reply);
	r->reply = NULL;	/* taken */
	return status;
}

/* Runs r on behalf of req's client and answers. */
static int
api_run(struct hg_api_req *req, struct hg_api_resp *resp,
    const struct api_bind *b, struct hg_op_req *r)
{
	int rc;

	if (r->status == 0) {
		r->author = api_author(req);
		r->source = hg_api_req_peer(req);
		hg_op_run(api_daemon, r);
	}
	rc = api_send(req, resp, b, r);
	hg_op_req_done(r);
	return rc;
}

/* The one handler of every operation's REST routes; arg is its bind. */
static int
api_handle(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const struct api_bind *b = arg;
	const struct hg_op *op = b->op;
	const char *format = hg_api_req_query(req, "format");
	struct hg_op_req r;
	const char *v;
	size_t len;
	int rc = 0;

	hg_op_req_init(&r, op);
	r.http = true;
	if ((b->rest->flags & HG_OPR_FORMAT) && format != NULL &&
	    strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
		rc = hg_op_error(&r, 400, "query:format", "format is json or "
		    "text, not \"%.20s\"", format);
	for (size_t i = 0; rc == 0 && i < HG_OP_FIELDS_MAX &&
	    op->fields[i].name; i++) {
		const struct hg_op_field *f = &op->fields[i];

		if (f->in == HG_OPIN_PATH && path_has(b->rest->path, f->name))
			v = hg_api_req_param(req, f->name);
		else if (f->in == HG_OPIN_QUERY)
			v = hg_api_req_query(req, f->name);
		else
			continue;
		if (v != NULL)
			rc = hg_op_set_string(&r, f->name, v, f->in);
	}
	if (rc == 0 && hg_api_req_json(req) != NULL)
		rc = api_decode_body(&r, b, hg_api_req_json(req));
	if (rc == 0 && hg_op_text(&r, &len) == NULL &&
	    (v = hg_api_req_text(req, &len)) != NULL)
		hg_op_set_text(&r, v, len);
	if (rc == 0)
		hg_op_decode_finish(&r);
	return api_run(req, resp, b, &r);
}

/* POST /api/ops/:name {"args": {...}}: the socket's request over HTTPS. */
static int
api_ops_post(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	const char *name = hg_api_req_param(req, "name");
	const json_t *body = hg_api_req_json(req), *args;
	const struct hg_op *op = hg_op_find(hg_ops, hg_n_ops, name);
	struct hg_op_req r;
	const char *key;
	json_t *v;

	(void)arg;
	if (op == NULL)
		return hg_api_error(resp, 404, "path:name", "no operation "
		    "\"%.80s\" (GET /api/ops lists them)", name);
	json_object_foreach((json_t *)body, key, v)
		if (strcmp(key, "args") != 0)
			return hg_api_error(resp, 400, NULL, "%.60s: the body "
			    "is {\"args\": {...}}", key);
	args = json_object_get(body, "args");
	hg_op_req_init(&r, op);
	if (hg_op_decode_json(&r, args, -1) == 0)
		hg_op_decode_finish(&r);
	return api_run(req, resp, NULL, &r);
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
	if (d->store == NULL || hg_token_hash(token, hash) != 0)
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

static const enum hg_api_method api_methods[] = {
	[HG_OPM_GET] = HG_API_GET, [HG_OPM_POST] = HG_API_POST,
	[HG_OPM_PUT] = HG_API_PUT, [HG_OPM_DELETE] = HG_API_DELETE,
};

static void
api_routes_free(void)
{
	for (size_t i = 0; i < api_n_routes; i++) {
		free((char *)api_routes[i].query_params);
		free((char *)api_routes[i].request_schema);
	}
	free(api_routes);
	free(api_binds);
	api_routes = NULL;
	api_binds = NULL;
	api_n_routes = 0;
}

/* What a route's request carries: a document (text), JSON fields, or
 * nothing. */
static enum hg_api_body
api_body_of(const struct hg_op *op, const struct hg_op_rest *rt)
{
	bool json = false;

	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++) {
		const struct hg_op_field *f = &op->fields[i];

		if (f->type == HG_OPT_TEXT)
			return HG_API_BODY_TEXT;
		if (f->in == HG_OPIN_BODY || (f->in == HG_OPIN_PATH &&
		    !path_has(rt->path, f->name)))
			json = true;
	}
	return json && rt->method != HG_OPM_GET &&
	    !(rt->flags & HG_OPR_NOBODY) ? HG_API_BODY_JSON : HG_API_BODY_NONE;
}

/* The server's routes, made from the table. */
static int
api_routes_make(char *err, size_t err_len)
{
	size_t n = 1;		/* POST /api/ops/:name */

	if (hg_op_table_check(hg_ops, hg_n_ops, err, err_len) != 0)
		return -EINVAL;
	for (size_t i = 0; i < hg_n_ops; i++)
		for (size_t j = 0; j < HG_OP_RESTS_MAX && hg_ops[i].rest[j].path;
		    j++)
			n++;
	api_routes = calloc(n, sizeof(*api_routes));
	api_binds = calloc(n, sizeof(*api_binds));
	if (api_routes == NULL || api_binds == NULL) {
		api_routes_free();
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < hg_n_ops; i++) {
		const struct hg_op *op = &hg_ops[i];

		for (size_t j = 0; j < HG_OP_RESTS_MAX && op->rest[j].path;
		    j++) {
			const struct hg_op_rest *rt = &op->rest[j];
			struct hg_api_route *ar = &api_routes[api_n_routes];
			struct api_bind *b = &api_binds[api_n_routes++];
			char *q = hg_op_query_names(op), *qf;

			b->op = op;
			b->rest = rt;
			ar->method = api_methods[rt->method];
			ar->path = rt->path;
			ar->handler = api_handle;
			ar->arg = b;
			ar->body = api_body_of(op, rt);
			ar->ok_status = rt->ok_status;
			ar->summary = op->summary;
			if ((rt->flags & HG_OPR_FORMAT) &&
			    asprintf(&qf, "%s%sformat", q != NULL ? q : "",
			    q != NULL ? " " : "") >= 0) {
				free(q);
				q = qf;
			}
			ar->query_params = q;
			if (ar->body == HG_API_BODY_JSON)
				ar->request_schema = hg_op_schema_text(op,
				    HG_OPIN_BODY);
			ar->response_schema = op->reply_schema;
			ar->response_type = rt->response_type != NULL ?
			    rt->response_type : (rt->flags & HG_OPR_TEXT) ?
			    "text/plain" : NULL;
		}
	}
	/* Its schema is malloc'd like the others': api_routes_free()
	 * frees them all. */
	api_routes[api_n_routes++] = (struct hg_api_route){
		HG_API_POST, "/api/ops/:name", api_ops_post, NULL,
		HG_API_BODY_JSON, .summary = "run any operation with the "
		"control socket's arguments: {\"args\": {...}} (GET /api/ops "
		"lists them)",
		.request_schema = strdup("{\"type\":\"object\",\"properties\":"
		"{\"args\":{\"type\":\"object\"}}}") };
	if (api_routes[api_n_routes - 1].request_schema == NULL) {
		api_routes_free();
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int
hg_rest_start(struct hg_daemon *d, char *err, size_t err_len)
{
	const struct hg_cfg_api *c = &d->cfg->api;
	struct hg_api_params p;
	char **names;
	int rc;

	if (!c->enabled)
		return 0;
	api_daemon = d;
	if ((rc = api_routes_make(err, err_len)) != 0)
		return rc;
	hg_api_params_init(&p);
	/* the certificate names the configured addresses too */
	if ((names = hg_cert_names_of(d->cfg, &p.n_names)) == NULL) {
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
	p.n_routes = api_n_routes;
	p.token_ok = api_token_ok;
	p.token_arg = d;
	p.api_version = HEXGATE_VERSION;
	rc = hg_api_create(&d->api, d->base, &p, err, err_len);
	free(names);
	if (rc == 0)
		hg_log_info("api: https://%s:%u/api (state in %s)", c->listen,
		    hg_api_port(d->api), c->state_dir);
	else
		api_routes_free();
	return rc;
}

void
hg_rest_stop(struct hg_daemon *d)
{
	hg_api_free(d->api);
	d->api = NULL;
	api_routes_free();
}
