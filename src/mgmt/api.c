/*
 * src/mgmt/api.c: the HTTPS REST API server: its life cycle, request
 * dispatch (route, authenticate, parse, call the handler), JSON replies
 * and errors, and the JSON 413 for bodies over the limit.  Routes are
 * api_route.c, TLS api_tls.c, credentials api_auth.c, the OpenAPI
 * document api_openapi.c.  The resources are the caller's handlers.
 * Control thread only; password checks wait for api_auth.c's thread.
 *
 * Why evhttp still, and not a server library with the limits of issue 13
 * built in.  libmicrohttpd (0.9.75 in Debian 12) has
 * MHD_OPTION_CONNECTION_LIMIT and MHD_OPTION_PER_IP_CONNECTION_LIMIT,
 * hands a handler the head before the body (which would remove the
 * ~300 lines that follow each connection for the JSON 413), can run in
 * our loop (MHD_USE_EPOLL, MHD_DAEMON_INFO_EPOLL_FD, MHD_get_timeout(),
 * MHD_run()) and can park a request (MHD_suspend_connection()).  But its
 * MHD_OPTION_CONNECTION_TIMEOUT is "seconds of inactivity", like
 * evhttp's, so the head sent a byte every 5 s gets through it too and the
 * deadline would be ours anyway; and its TLS is GnuTLS only (PEM in
 * memory, a priority string): a second TLS stack beside the OpenSSL that
 * makes the certificate and runs IKE, api_tls.c and its cipher policy
 * rewritten, and the TLS unit tests with it.  h2o (2.2.5, libh2o-evloop,
 * OpenSSL) has http1.req_timeout and max_request_entity_size but no
 * connection caps (max-connections is its server's, not the library's),
 * runs its own loop (h2o_evloop_run()), not the libevent base the control
 * thread runs, so every handler would need a hand-off to that thread, and
 * its C API changes between releases (soname 0.13).  Either would save
 * the 413 framing and a per-address count, some 400 lines, at the price
 * of a TLS stack or an event loop and a rewrite of this file and
 * api_tls.c, while the head deadline, the password checker thread and
 * the failure budget would still be ours.  So the limits are added here,
 * on evhttp: "limits" below (caps, deadlines, the accept back-off; about
 * 220 lines), requests that can wait for a check (struct api_call), and
 * the checker thread in api_auth.c (about 250 lines).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "../lib/hg_time.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "api_priv.h"

#define API_HEADERS_MAX_BYTES	(32u << 10)
#define API_TIMEOUT_S		60	/* idle: no byte in or out for this */
#define API_ACCEPT_PAUSE_MS	200	/* after accept(2) failed */

struct hg_api_req {
	enum hg_api_method method;
	const struct api_route *route;
	char **segs;			/* the request path, decoded */
	size_t n_segs;
	struct evkeyvalq query;
	json_t *json;
	char *text;
	size_t text_len;
	const char *principal;
	char peer[INET6_ADDRSTRLEN];
};

struct hg_api_resp {
	struct evhttp_request *r;
	json_t *json;			/* serialised at send */
	struct evbuffer *raw;
	char content_type[128];
};

static const char *const method_names[HG_API_METHOD_COUNT] = {
	[HG_API_GET] = "GET",
	[HG_API_POST] = "POST",
	[HG_API_PUT] = "PUT",
	[HG_API_PATCH] = "PATCH",
	[HG_API_DELETE] = "DELETE",
};

const char *
hg_api_method_name(enum hg_api_method m)
{
	return (unsigned)m < HG_API_METHOD_COUNT ? method_names[m] : "?";
}

void
hg_api_params_init(struct hg_api_params *p)
{
	memset(p, 0, sizeof(*p));
	p->listen_addr = "0.0.0.0";
	p->port = HG_API_PORT_DEFAULT;
	p->max_body_bytes = HG_API_MAX_BODY_DEFAULT;
	p->head_timeout_s = HG_API_HEAD_TIMEOUT_DEFAULT_S;
	p->body_timeout_s = HG_API_BODY_TIMEOUT_DEFAULT_S;
	p->max_conns = HG_API_MAX_CONNS_DEFAULT;
	p->max_conns_per_source = HG_API_MAX_CONNS_SOURCE_DEFAULT;
	p->max_login_checks = HG_API_MAX_LOGIN_CHECKS_DEFAULT;
	p->login_fail_burst = HG_API_LOGIN_FAIL_BURST_DEFAULT;
	p->login_fails_per_min = HG_API_LOGIN_FAILS_MIN_DEFAULT;
}

/* --- small files in the state directory --- */

static int
file_err(char *err, size_t err_len, const char *what, const char *path)
{
	int e = errno;

	snprintf(err, err_len, "%s: %s: %s", path, what, strerror(e));
	return -e;
}

/* Write beside, fsync, rename: a crash leaves the old file or the new. */
int
api_file_write(const char *dir, const char *name, const void *data,
    size_t len, char *err, size_t err_len)
{
	char path[512], tmp[520];
	size_t off = 0;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return file_err(err, err_len, "open", tmp);
	/* a leftover tmp keeps its old mode through O_CREAT */
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (rename(tmp, path) != 0) {
		rc = file_err(err, err_len, "rename", tmp);
		(void)unlink(tmp);	/* nothing better to do with it */
		return rc;
	}
	return 0;
fail:
	rc = file_err(err, err_len, "write", tmp);
	close(fd);
	(void)unlink(tmp);
	return rc;
}

int
api_file_read(const char *dir, const char *name, char *buf, size_t max,
    size_t *len, char *err, size_t err_len)
{
	char path[512];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return file_err(err, err_len, "open", path);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		hg_log_warnx("api: %s is readable by other users; chmod 600 "
		    "it", path);
	do
		n = read(fd, buf, max);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return file_err(err, err_len, "read", path);
	if ((size_t)n >= max) {
		snprintf(err, err_len, "%s: longer than %zu bytes", path,
		    max - 1);
		return -EFBIG;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

bool
api_file_exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* --- what handlers see --- */

enum hg_api_method
hg_api_req_method(const struct hg_api_req *req)
{
	return req->method;
}

const char *
hg_api_req_param(const struct hg_api_req *req, const char *name)
{
	const struct api_route *ar = req->route;

	for (size_t i = 0; ar != NULL && i < ar->n_segs; i++)
		if (ar->segs[i][0] == ':' && strcmp(ar->segs[i] + 1, name) == 0)
			return req->segs[i];
	return NULL;
}

const char *
hg_api_req_query(const struct hg_api_req *req, const char *name)
{
	return evhttp_find_header(&req->query, name);
}

json_t *
hg_api_req_json(const struct hg_api_req *req)
{
	return req->json;
}

const char *
hg_api_req_text(const struct hg_api_req *req, size_t *len)
{
	if (len != NULL)
		*len = req->text_len;
	return req->text;
}

const char *
hg_api_req_peer(const struct hg_api_req *req)
{
	return req->peer;
}

const char *
hg_api_req_principal(const struct hg_api_req *req)
{
	return req->principal;
}

/* --- replies --- */

static void
resp_reset(struct hg_api_resp *resp)
{
	json_decref(resp->json);
	resp->json = NULL;
	evbuffer_drain(resp->raw, evbuffer_get_length(resp->raw));
	resp->content_type[0] = '\0';
}

int
hg_api_reply_json(struct hg_api_resp *resp, int status, json_t *body)
{
	resp_reset(resp);
	resp->json = body;
	return status;
}

int
hg_api_reply_raw(struct hg_api_resp *resp, int status,
    const char *content_type, const void *data, size_t len)
{
	resp_reset(resp);
	snprintf(resp->content_type, sizeof(resp->content_type), "%s",
	    content_type);
	if (evbuffer_add(resp->raw, data, len) != 0)
		return -ENOMEM;
	return status;
}

int
hg_api_reply_header(struct hg_api_resp *resp, const char *name,
    const char *value)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(resp->r);

	return evhttp_add_header(out, name, value) == 0 ? 0 : -EINVAL;
}

/* Our own headers: their values are constants and numbers, never CR/LF,
 * and a header lost to a failed allocation still leaves a valid reply. */
static void
add_header(struct hg_api_resp *resp, const char *name, const char *value)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(resp->r);

	if (evhttp_add_header(out, name, value) != 0)
		hg_log_warnx("api: cannot add header %s", name);
}

static int
error_v(struct hg_api_resp *resp, int status, const char *code,
    const char *field, const char *fmt, va_list ap)
{
	char msg[1024];
	json_t *e;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	e = json_pack("{s:i,s:s,s:s}", "status", status, "code",
	    code != NULL ? code : hg_http_code(status), "message", msg);
	if (e != NULL && field != NULL)
		json_object_set_new(e, "field", json_string(field));
	return hg_api_reply_json(resp, status, json_pack("{s:o*}", "error", e));
}

int
hg_api_error(struct hg_api_resp *resp, int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = error_v(resp, status, NULL, field, fmt, ap);
	va_end(ap);
	return status;
}

int
hg_api_error_code(struct hg_api_resp *resp, int status, const char *code,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = error_v(resp, status, code, field, fmt, ap);
	va_end(ap);
	return status;
}

/* --- one request --- */

static enum hg_api_method
method_of(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return HG_API_GET;
	case EVHTTP_REQ_POST: return HG_API_POST;
	case EVHTTP_REQ_PUT: return HG_API_PUT;
	case EVHTTP_REQ_PATCH: return HG_API_PATCH;
	case EVHTTP_REQ_DELETE: return HG_API_DELETE;
	default: return HG_API_METHOD_COUNT;	/* matches no route: 405 */
	}
}

/*
 * One request, from evhttp's callback to the reply.  On the heap: a
 * password check makes it wait for the checker thread (api_auth.c) while
 * the loop goes on; api->calls holds the waiting ones.
 */
struct api_call {
	struct hg_api *api;
	struct evhttp_request *r;
	struct hg_api_req req;
	struct hg_api_resp resp;
	const struct api_route *match;
	bool path_known;
	const char *path;
	struct api_login *login;	/* while checked */
	TAILQ_ENTRY(api_call) entry;
};

#define CALL_WAITING	1	/* no status yet: the password is checked */

static void
challenge(struct hg_api_resp *resp)
{
	add_header(resp, "WWW-Authenticate",
	    "Basic realm=\"hexgate\", charset=\"UTF-8\"");
}

static int
retry_later(struct hg_api_resp *resp, int status, unsigned retry_s,
    const char *what, const char *peer)
{
	char retry[16];

	snprintf(retry, sizeof(retry), "%u", retry_s);
	add_header(resp, "Retry-After", retry);
	return hg_api_error(resp, status, NULL, "%s%s; retry in %u s", what,
	    peer, retry_s);
}

/* The password was checked (or refused before): the status, or 0. */
static int
login_end(struct api_call *call)
{
	struct hg_api *api = call->api;
	enum api_auth_result res;

	res = api_auth_end(&api->auth, call->login, hg_now_ns());
	api_login_free(call->login);
	call->login = NULL;
	if (res == API_AUTH_OK)
		return 0;
	challenge(&call->resp);
	return hg_api_error(&call->resp, 401, NULL, "wrong user, password or "
	    "token");
}

static int
login_wait(struct api_call *call)
{
	struct hg_api *api = call->api;

	call->login->arg = call;
	if (api_login_submit(&api->auth, call->login) != 0) {
		/* No checker thread (hg_api_create() starts one): inline. */
		api_login_check(&api->auth, call->login);
		return login_end(call);
	}
	/* evhttp stopped reading the connection before calling us: the
	 * next request, if any, waits in the socket. */
	TAILQ_INSERT_TAIL(&api->calls, call, entry);
	return CALL_WAITING;
}

static int
authenticate(struct api_call *call)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(call->r);
	struct hg_api_req *req = &call->req;
	struct hg_api_resp *resp = &call->resp;
	unsigned retry_s = 1;

	switch (api_auth_begin(&call->api->auth, req->peer,
	    evhttp_find_header(in, "Authorization"),
	    evhttp_find_header(in, "Api-Token"), hg_now_ns(), &retry_s,
	    &req->principal, &call->login)) {
	case API_AUTH_OK:
		return 0;
	case API_AUTH_CHECK:
		return login_wait(call);
	case API_AUTH_LIMITED:
		return retry_later(resp, 429, retry_s, "too many failed logins "
		    "from ", req->peer);
	case API_AUTH_LIMITED_ALL:
		return retry_later(resp, 429, retry_s, "too many failed logins "
		    "from all sources", "");
	case API_AUTH_BUSY:
		return retry_later(resp, 503, retry_s, "too many logins being "
		    "checked", "");
	case API_AUTH_MISSING:
		challenge(resp);
		return hg_api_error(resp, 401, NULL, "authentication required: "
		    "HTTP Basic as user \"%s\" or an Api-Token header",
		    HG_API_USER);
	case API_AUTH_BAD:
	default:
		challenge(resp);
		return hg_api_error(resp, 401, NULL, "wrong user, password or "
		    "token");
	}
}

/* 405's Allow: every method some route serves at this path. */
static int
not_allowed(struct hg_api *api, struct hg_api_req *req,
    struct hg_api_resp *resp)
{
	char allow[64] = "";
	bool seen[HG_API_METHOD_COUNT] = { false };
	size_t n = 0;

	for (size_t i = 0; i < api->n_routes; i++) {
		const struct api_route *ar = &api->routes[i];

		if (!api_route_match(ar, req->segs, req->n_segs) ||
		    seen[ar->r->method])
			continue;
		seen[ar->r->method] = true;
		n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s",
		    n != 0 ? ", " : "", hg_api_method_name(ar->r->method));
	}
	add_header(resp, "Allow", allow);
	return hg_api_error(resp, 405, NULL, "method not allowed here; "
	    "allowed: %s", allow);
}

static int
parse_query(struct evhttp_request *r, struct hg_api_req *req,
    struct hg_api_resp *resp)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r));
	struct evkeyval *kv;
	char field[128];

	if (q == NULL)
		return 0;
	if (evhttp_parse_query_str(q, &req->query) != 0)
		return hg_api_error(resp, 400, NULL, "malformed query string");
	TAILQ_FOREACH(kv, &req->query, next) {
		if (api_route_has_query(req->route, kv->key))
			continue;
		snprintf(field, sizeof(field), "query:%.100s", kv->key);
		return hg_api_error(resp, 400, field, "unknown query parameter "
		    "\"%.100s\"", kv->key);
	}
	return 0;
}

static int
parse_body(struct evhttp_request *r, struct hg_api_req *req,
    struct hg_api_resp *resp)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	size_t len = evbuffer_get_length(in);
	json_error_t je;
	json_t *err;
	int status;

	switch (req->route->r->body) {
	case HG_API_BODY_JSON:
		if (len == 0)
			return hg_api_error(resp, 400, "", "this request needs "
			    "a JSON body");
		req->json = json_loadb((const char *)evbuffer_pullup(in, -1),
		    len, JSON_REJECT_DUPLICATES, &je);
		if (req->json != NULL)
			return 0;
		status = hg_api_error(resp, 400, "", "malformed JSON at line "
		    "%d column %d: %s", je.line, je.column, je.text);
		err = json_object_get(resp->json, "error");
		json_object_set_new(err, "line", json_integer(je.line));
		json_object_set_new(err, "column", json_integer(je.column));
		return status;
	case HG_API_BODY_TEXT:
		if ((req->text = malloc(len + 1)) == NULL)
			return -ENOMEM;
		evbuffer_remove(in, req->text, len);
		req->text[len] = '\0';
		req->text_len = len;
		return 0;
	default:
		return 0;
	}
}

/* After authentication: parse, handle; the status to send. */
static int
serve(struct api_call *call)
{
	struct hg_api *api = call->api;
	struct hg_api_req *req = &call->req;
	struct hg_api_resp *resp = &call->resp;
	int status;

	if (!call->path_known)
		return hg_api_error(resp, 404, NULL, "no such path: %.200s",
		    call->path);
	if (call->match == NULL)
		return not_allowed(api, req, resp);
	req->route = call->match;
	if ((status = parse_query(call->r, req, resp)) != 0 ||
	    (status = parse_body(call->r, req, resp)) != 0)
		return status;
	return call->match->r->handler(req, resp, call->match->r->arg);
}

/* Route and authenticate, then serve: the status, or CALL_WAITING. */
static int
route(struct api_call *call)
{
	struct hg_api *api = call->api;
	struct hg_api_req *req = &call->req;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    call->r));
	int status;

	if (path == NULL || path[0] == '\0')
		path = "/";
	call->path = path;
	if (api_path_split(path, &req->segs, &req->n_segs) != 0)
		return hg_api_error(&call->resp, 400, NULL, "malformed path");
	for (size_t i = 0; i < api->n_routes; i++) {
		const struct api_route *ar = &api->routes[i];

		if (!api_route_match(ar, req->segs, req->n_segs))
			continue;
		call->path_known = true;
		if (ar->r->method == req->method) {
			call->match = ar;
			break;
		}
	}
	/* Closed by default: even "no such path" is only told to a user. */
	if (call->match == NULL ||
	    !(call->match->r->flags & HG_API_ROUTE_PUBLIC))
		if ((status = authenticate(call)) != 0)
			return status;
	return serve(call);
}

static void
send_reply(struct evhttp_request *r, struct hg_api_resp *resp, int status)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r);
	char *text;

	if (resp->json != NULL) {
		text = json_dumps(resp->json, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text == NULL || evbuffer_add(resp->raw, text,
		    strlen(text)) != 0 || evbuffer_add(resp->raw, "\n", 1) != 0) {
			free(text);
			evhttp_send_error(r, 500, NULL);
			return;
		}
		free(text);
		snprintf(resp->content_type, sizeof(resp->content_type),
		    "application/json");
	}
	if (resp->content_type[0] != '\0')
		evhttp_add_header(out, "Content-Type", resp->content_type);
	/* Replies carry configuration and state: no caches, no sniffing. */
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(r, status, NULL, resp->raw);
}

static void
peer_of(struct evhttp_request *r, char *out, size_t len)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r);
	char *addr = NULL;
	ev_uint16_t port;

	if (c != NULL)
		evhttp_connection_get_peer(c, &addr, &port);
	snprintf(out, len, "%s", addr != NULL ? addr : "?");
}

/* Frees call; its request is evhttp's (answered, or freed with it). */
static void
call_free(struct api_call *call)
{
	api_login_free(call->login);
	api_segs_free(call->req.segs, call->req.n_segs);
	evhttp_clear_headers(&call->req.query);
	json_decref(call->req.json);
	free(call->req.text);
	json_decref(call->resp.json);
	if (call->resp.raw != NULL)
		evbuffer_free(call->resp.raw);
	free(call);
}

static void
call_finish(struct api_call *call, int status)
{
	const char *method = hg_api_method_name(call->req.method);

	if (status < 100 || status > 599) {
		hg_log_warnx("api: %s %s: handler failed (%d)", method,
		    evhttp_request_get_uri(call->r), status);
		status = hg_api_error(&call->resp, 500, NULL,
		    "internal error");
	}
	hg_log_debug("api: %s %s %s: %d", call->req.peer, method,
	    evhttp_request_get_uri(call->r), status);
	send_reply(call->r, &call->resp, status);
	call_free(call);
}

static void
api_request(struct evhttp_request *r, void *arg)
{
	struct hg_api *api = arg;
	struct api_call *call;
	int status;

	if ((call = calloc(1, sizeof(*call))) == NULL ||
	    (call->resp.raw = evbuffer_new()) == NULL) {
		free(call);
		evhttp_send_error(r, 500, NULL);
		return;
	}
	call->api = api;
	call->r = call->resp.r = r;
	TAILQ_INIT(&call->req.query);
	peer_of(r, call->req.peer, sizeof(call->req.peer));
	call->req.method = method_of(evhttp_request_get_command(r));
	if ((status = route(call)) != CALL_WAITING)
		call_finish(call, status);
}

/* The checker thread has done some: answer their requests. */
static void
checks_done(evutil_socket_t fd, short what, void *arg)
{
	struct hg_api *api = arg;
	struct api_login_list done;
	struct api_login *l;
	struct api_call *call;
	int status;

	TAILQ_INIT(&done);
	api_login_take(&api->auth, &done);
	while ((l = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, l, entry);
		call = l->arg;
		TAILQ_REMOVE(&api->calls, call, entry);
		if ((status = login_end(call)) == 0)
			status = serve(call);
		call_finish(call, status);
	}
}

/* --- bodies over the limit --- */

/*
 * evhttp 2.1 answers a body over max_body_bytes with an HTML page of its
 * own, before any callback of ours can see the request (2.2 has hooks for
 * it).  So each connection's decrypted input is followed as it arrives,
 * ahead of evhttp's parser, and framed as evhttp frames it: the request
 * line and headers, then Content-Length or chunked bodies.  A request
 * whose body evhttp would refuse is answered here with the JSON 413
 * (Connection: close), after evhttp's answers to the requests before it,
 * and all further input of the connection is discarded until the client
 * closes it or evhttp's idle timeout does; evhttp never sees that
 * request.  (evhttp's own refusal also has a flaw: when such a body comes
 * in pieces, it may serve the request with the body's tail.)  Bytes that
 * are not what evhttp takes (a malformed head it refuses with a 400) end
 * the following of that connection, and evhttp decides.  The framing
 * (api_follow_*) does no I/O: conn_input() feeds it the new bytes and
 * acts on what it decides.
 */
enum conn_state {
	CONN_FOLLOW,		/* framing: f.state says where */
	CONN_PENDING,		/* refused; evhttp reads earlier requests */
	CONN_AWAIT,		/* input taken; their answers being sent */
	CONN_REFUSED,		/* answered 413: input discarded */
	CONN_OFF,		/* not followed: evhttp decides */
};

/* Which deadline a connection's timer counts down (see "limits"). */
enum conn_deadline {
	DL_NONE,		/* idle between requests: evhttp's timeout */
	DL_HEAD,		/* a request's head, from accept or its first byte */
	DL_BODY,		/* its body, from the head's end */
	DL_WHOLE,		/* unframed (CONN_OFF): head and body */
	DL_LINGER,		/* refused with a 413: until the client goes */
	DL_CLOSED,		/* shut down; evhttp frees it */
	DL_COUNT
};

struct api_conn {
	struct bufferevent *bev;
	struct hg_api *api;	/* NULL once hg_api_free() let go of it */
	TAILQ_ENTRY(api_conn) entry;	/* api->conns */
	struct event *timer;	/* admission, then the deadlines */
	enum conn_state state;
	enum conn_deadline dl;
	uint64_t dl_for;	/* head_start of the request it times */
	bool checked;		/* admission done */
	bool admitted;		/* counted in api->n_conns */
	bool busy;		/* draining from inside the callback */
	uint8_t source[16];	/* api_source_key() */
	char peer[INET6_ADDRSTRLEN];
	uint64_t front;		/* stream offset of the input's first byte */
	struct api_follow f;
};

/* Conns live as long as their TLS session: freed by SSL_free(). */
static int conn_ex_index = -1;

static void
conn_forget(struct api_conn *c)
{
	struct hg_api *api = c->api;

	if (api == NULL)
		return;
	TAILQ_REMOVE(&api->conns, c, entry);
	if (c->admitted)
		api->n_conns--;
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	c->api = NULL;
}

static void
conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr != NULL)
		conn_forget(ptr);
	free(ptr);
}

static void
conn_peer(struct bufferevent *bev, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = bufferevent_getfd(bev);

	snprintf(out, len, "?");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
		    (socklen_t)len);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    out, (socklen_t)len);
}

/* Discards the input: the rest of the refused request, unseen by evhttp. */
static void
conn_take(struct api_conn *c, struct evbuffer *in)
{
	c->busy = true;
	evbuffer_drain(in, evbuffer_get_length(in));
	c->busy = false;
}

/* The JSON 413, behind whatever evhttp has written. */
static void
conn_answer(struct api_conn *c)
{
	char peer[INET6_ADDRSTRLEN], head[256], *text;
	bufferevent_data_cb readcb;
	bufferevent_event_cb eventcb;
	void *cbarg;
	json_t *e;
	int n;

	c->state = CONN_REFUSED;
	/*
	 * Reading (a read callback set), evhttp has no write under way to
	 * be told the end of, and its write callback would be a keep-alive
	 * reply's, long sent: it must not run for this one.  Writing, its
	 * reply is ahead of this one in the output and its callback is for
	 * when both are out.
	 */
	bufferevent_getcb(c->bev, &readcb, NULL, &eventcb, &cbarg);
	if (readcb != NULL)
		bufferevent_setcb(c->bev, readcb, NULL, eventcb, cbarg);
	e = json_pack("{s:{s:i,s:s,s:s,s:s}}", "error", "status", 413, "code",
	    hg_http_code(413), "message", c->f.msg, "field", "");
	text = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	n = snprintf(head, sizeof(head), "HTTP/1.1 413 Payload Too Large\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n\r\n",
	    text != NULL ? strlen(text) + 1 : 0);
	if (text == NULL || bufferevent_write(c->bev, head, (size_t)n) != 0 ||
	    bufferevent_write(c->bev, text, strlen(text)) != 0 ||
	    bufferevent_write(c->bev, "\n", 1) != 0 ||
	    bufferevent_enable(c->bev, EV_WRITE) != 0)
		hg_log_warnx("api: cannot answer a 413");
	free(text);
	conn_peer(c->bev, peer, sizeof(peer));
	hg_log_info("api: %s: %s", peer, c->f.msg);
}

/* The follower refused the request at c->f.head_start. */
static void
conn_refuse(struct api_conn *c, struct evbuffer *in)
{
	/* Bytes of an earlier request still unread: evhttp answers it
	 * first (conn_input() takes over once it has read them). */
	if (c->front < c->f.head_start) {
		c->state = CONN_PENDING;
		return;
	}
	conn_take(c, in);
	conn_answer(c);
}

/* --- limits: connections per source and in all, deadlines --- */

/* At most one line a second of a kind; the next says how many were not. */
static bool
ratelog_ok(struct api_ratelog *rl, unsigned *quiet)
{
	uint64_t now_ns = hg_now_ns();

	if (now_ns < rl->next_ns) {
		rl->quiet++;
		return false;
	}
	rl->next_ns = now_ns + HG_NS_PER_S;
	*quiet = rl->quiet;
	rl->quiet = 0;
	return true;
}

/*
 * Ends a connection from outside evhttp, which has no call for it: the
 * socket is shut down, the next read sees the end, and evhttp frees the
 * connection as for a client that left (with its TLS session and c).
 */
static void
conn_close(struct api_conn *c)
{
	int fd = bufferevent_getfd(c->bev);

	c->dl = DL_CLOSED;
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);	/* ENOTCONN: gone already */
}

static uint64_t
conn_deadline_ns(const struct hg_api *api, enum conn_deadline dl)
{
	switch (dl) {
	case DL_HEAD:
		return api->head_timeout_ns;
	case DL_WHOLE:
		return api->head_timeout_ns + api->body_timeout_ns;
	default:
		return api->body_timeout_ns;
	}
}

static void
conn_deadline_set(struct api_conn *c, enum conn_deadline dl, uint64_t at)
{
	uint64_t ns = conn_deadline_ns(c->api, dl);
	struct timeval tv = {
		.tv_sec = (time_t)(ns / HG_NS_PER_S),
		.tv_usec = (suseconds_t)(ns % HG_NS_PER_S / 1000),
	};

	c->dl = dl;
	c->dl_for = at;
	if (dl == DL_NONE)
		evtimer_del(c->timer);
	else if (evtimer_add(c->timer, &tv) != 0)
		hg_log_warnx("api: %s: cannot time the connection", c->peer);
}

/*
 * After each change to the input: the deadline the connection is under.
 * The first request's head counts from accept (the TLS handshake with
 * it); a later one's from its first byte, so that a keep-alive
 * connection may idle between requests under evhttp's idle timeout.
 * evhttp's own timeout restarts at every byte read: alone it let one
 * byte every 5 s hold a connection for ever.
 */
static void
conn_deadline_update(struct api_conn *c)
{
	enum conn_deadline want;
	uint64_t at = c->f.head_start;

	if (c->api == NULL || c->timer == NULL || !c->admitted ||
	    c->dl == DL_CLOSED)
		return;
	switch (c->state) {
	case CONN_FOLLOW:
		if (c->f.state == API_FOLLOW_HEAD)
			want = c->f.head_len != 0 || at == 0 ? DL_HEAD :
			    DL_NONE;
		else
			want = DL_BODY;
		break;
	case CONN_OFF:
		/* Set once: a slow client cannot push it on. */
		if (c->dl == DL_WHOLE)
			return;
		want = DL_WHOLE;
		break;
	default:
		if (c->dl == DL_LINGER)
			return;
		want = DL_LINGER;
		break;
	}
	if (want != c->dl || at != c->dl_for)
		conn_deadline_set(c, want, at);
}

static void
conn_expire(struct api_conn *c)
{
	static const char *const what[DL_COUNT] = {
		[DL_HEAD] = "request head",
		[DL_BODY] = "request body",
		[DL_WHOLE] = "request",
		[DL_LINGER] = "close after the 413",
	};
	struct hg_api *api = c->api;
	unsigned quiet;

	if (ratelog_ok(&api->log_deadline, &quiet))
		hg_log_info("api: %s: no whole %s in %llu s; connection "
		    "closed (%u more not logged)", c->peer,
		    what[c->dl] != NULL ? what[c->dl] : "request",
		    (unsigned long long)(conn_deadline_ns(api, c->dl) /
		    HG_NS_PER_S), quiet);
	conn_close(c);
}

/* The caps, once evhttp has set the socket: admitted, or closed. */
static void
conn_admit(struct api_conn *c)
{
	struct hg_api *api = c->api;
	const struct api_conn *o;
	unsigned same = 0, n = 0, quiet;
	const char *why = NULL;

	c->checked = true;
	conn_peer(c->bev, c->peer, sizeof(c->peer));
	api_source_key(c->peer, c->source);
	TAILQ_FOREACH(o, &api->conns, entry)
		if (o->admitted && memcmp(o->source, c->source, 16) == 0)
			same++;
	if (api->n_conns >= api->max_conns) {
		why = "connections open";
		n = api->n_conns;
	} else if (same >= api->max_conns_per_source) {
		why = "connections from this source";
		n = same;
	}
	if (why == NULL) {
		c->admitted = true;
		api->n_conns++;
		conn_deadline_set(c, DL_HEAD, 0);
		return;
	}
	if (ratelog_ok(&api->log_refuse, &quiet))
		hg_log_warnx("api: %s: %u %s, the most allowed; connection "
		    "closed (%u more not logged)", c->peer, n, why, quiet);
	conn_close(c);
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->api == NULL || c->dl == DL_CLOSED)
		return;
	if (!c->checked)
		conn_admit(c);
	else
		conn_expire(c);
}

/*
 * Every live API, for accept_failed(): the listener's callback argument
 * is evhttp's, and there is no way from there to ours.  Control thread.
 */
static struct hg_api *api_live;

/* accept(2) failed (EMFILE, ENFILE, ENOBUFS): a pause, not a spin. */
static void
accept_failed(struct evconnlistener *lev, void *arg)
{
	struct hg_api *api;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, API_ACCEPT_PAUSE_MS * 1000 };
	unsigned quiet;

	(void)arg;
	for (api = api_live; api != NULL; api = api->next_live)
		if (evhttp_bound_socket_get_listener(api->sock) == lev)
			break;
	if (api == NULL)
		return;

	/*
	 * The listener is level-triggered: the connection still waiting
	 * wakes the loop again at once, and libevent 2.1 without an error
	 * callback logs every time (7 million lines in 20 s at 1,024 fds).
	 * Connections that end free descriptors; until then, look again
	 * every API_ACCEPT_PAUSE_MS.
	 */
	evconnlistener_disable(lev);
	if (event_add(api->accept_resume, &tv) != 0)
		evconnlistener_enable(lev);
	if (ratelog_ok(&api->log_accept, &quiet))
		hg_log_warnx("api: cannot accept connections: %s; pausing "
		    "them for %d ms; %u open (%u more not logged)", strerror(e),
		    API_ACCEPT_PAUSE_MS, api->n_conns, quiet);
}

static void
accept_again(evutil_socket_t fd, short what, void *arg)
{
	struct hg_api *api = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(evhttp_bound_socket_get_listener(api->sock));
}

/* --- the follower's framing: bytes in, a decision out --- */

static void
follow_next_request(struct api_follow *f, uint64_t at)
{
	f->state = API_FOLLOW_HEAD;
	f->head_start = at;
	f->head_len = 0;
	f->body_left = f->body_size = 0;
	f->length = -1;
	f->first_line = true;
	f->no_body = f->chunked = f->te_seen = f->framing_key = false;
}

void
api_follow_init(struct api_follow *f, size_t max_body_bytes,
    size_t max_head_bytes)
{
	memset(f, 0, sizeof(*f));
	f->max_body_bytes = max_body_bytes;
	f->max_head_bytes = max_head_bytes;
	follow_next_request(f, 0);
}

/* The current request is refused for what. */
static void
follow_refuse(struct api_follow *f, const char *what)
{
	snprintf(f->msg, sizeof(f->msg), "request body too large: %s; the "
	    "limit is %zu bytes", what, f->max_body_bytes);
	f->state = API_FOLLOW_REFUSE;
}

/*
 * The kept start of the line, without its end, which is "\n" or "\r\n"
 * as for evbuffer_readln(EVBUFFER_EOL_CRLF); false if cut short.  evhttp
 * reads the line as a C string, so one that starts with a NUL is empty
 * to it, as to the callers.
 */
static bool
follow_line_text(struct api_follow *f, char **text)
{
	size_t n = f->line_len - 1 - (f->last == '\r');

	*text = f->line;
	f->line[HG_MIN(n, API_FOLLOW_LINE_KEEP)] = '\0';
	return n <= API_FOLLOW_LINE_KEEP;
}

/* "Key: value" with key as given: value as evhttp keeps it, or NULL. */
static const char *
header_value(char *line, const char *key)
{
	size_t klen = strlen(key);
	char *v, *end;

	if (strncasecmp(line, key, klen) != 0 || line[klen] != ':')
		return NULL;
	v = line + klen + 1;
	v += strspn(v, " ");
	end = v + strlen(v);
	while (end > v && strchr(" \t\r\n", end[-1]) != NULL)
		*--end = '\0';
	return v;
}

static void
follow_request_line(struct api_follow *f, const char *text)
{
	static const char *const body[] = { "GET ", "POST ", "PUT ",
	    "PATCH ", "DELETE ", "OPTIONS ", "CONNECT " };

	f->first_line = false;
	if (strncmp(text, "HEAD ", 5) == 0 || strncmp(text, "TRACE ", 6) == 0) {
		f->no_body = true;
		return;
	}
	for (size_t i = 0; i < HG_ARRAY_SIZE(body); i++)
		if (strncmp(text, body[i], strlen(body[i])) == 0)
			return;
	f->state = API_FOLLOW_OFF;	/* evhttp refuses it */
}

/* The end of the head: what evhttp reads next. */
static void
follow_head_end(struct api_follow *f, uint64_t at)
{
	char what[64];

	if (f->no_body)
		follow_next_request(f, at);
	else if (f->chunked)
		f->state = API_FOLLOW_CHUNK_SIZE;
	else if (f->length > 0 && (unsigned long long)f->length >
	    f->max_body_bytes) {
		snprintf(what, sizeof(what), "Content-Length %lld", f->length);
		follow_refuse(f, what);
	} else if (f->length > 0) {
		f->state = API_FOLLOW_BODY;
		f->body_left = (uint64_t)f->length;
	} else
		follow_next_request(f, at);
}

static void
follow_header(struct api_follow *f, char *text, bool whole, uint64_t at)
{
	const char *v;
	char *end;

	if (f->first_line) {
		follow_request_line(f, text);
		return;
	}
	if (text[0] == '\0') {
		follow_head_end(f, at);
		return;
	}
	/* A continuation would lengthen the value before it. */
	if (text[0] == ' ' || text[0] == '\t') {
		if (f->framing_key)
			f->state = API_FOLLOW_OFF;
		return;
	}
	f->framing_key = false;
	if ((v = header_value(text, "Content-Length")) != NULL) {
		f->framing_key = true;
		if (f->length >= 0)	/* evhttp takes the first one */
			return;
		f->length = strtoll(v, &end, 10);
		if (!whole || *v == '\0' || *end != '\0' || f->length < 0)
			f->state = API_FOLLOW_OFF;
	} else if ((v = header_value(text, "Transfer-Encoding")) != NULL) {
		f->framing_key = true;
		if (f->te_seen)
			return;
		f->te_seen = true;
		f->chunked = strcasecmp(v, "chunked") == 0;
		if (!whole)
			f->state = API_FOLLOW_OFF;
	} else if (whole && strchr(text, ':') == NULL)
		f->state = API_FOLLOW_OFF;	/* evhttp refuses it */
}

static void
follow_chunk_size(struct api_follow *f, const char *text, bool whole)
{
	long long n;
	char *end, what[64];

	if (text[0] == '\0')		/* the CRLF after a chunk's data */
		return;
	n = strtoll(text, &end, 16);
	if (!whole || (*end != '\0' && *end != ' ') || n < 0) {
		f->state = API_FOLLOW_OFF;
		return;
	}
	if ((unsigned long long)n > f->max_body_bytes - f->body_size) {
		snprintf(what, sizeof(what), "chunks of over %llu bytes",
		    (unsigned long long)f->body_size + (unsigned long long)n);
		follow_refuse(f, what);
		return;
	}
	f->body_size += (uint64_t)n;
	if (n == 0)
		f->state = API_FOLLOW_TRAILER;
	else {
		f->state = API_FOLLOW_CHUNK_DATA;
		f->body_left = (uint64_t)n;
	}
}

/* One whole line; at is the stream offset just past it. */
static void
follow_line(struct api_follow *f, uint64_t at)
{
	char *text;
	bool whole = follow_line_text(f, &text);

	switch (f->state) {
	case API_FOLLOW_HEAD:
		follow_header(f, text, whole, at);
		break;
	case API_FOLLOW_CHUNK_SIZE:
		follow_chunk_size(f, text, whole);
		break;
	case API_FOLLOW_TRAILER:
		/* evhttp adds a continuation to the head's last header. */
		if (text[0] == '\0')
			follow_next_request(f, at);
		else if (whole && text[0] != ' ' && text[0] != '\t' &&
		    strchr(text, ':') == NULL)
			f->state = API_FOLLOW_OFF;
		break;
	default:
		break;
	}
}

enum api_follow_state
api_follow_feed(struct api_follow *f, const char *p, size_t len, uint64_t at,
    size_t *used)
{
	size_t i = 0, n;
	const char *nl;

	while (i < len) {
		switch (f->state) {
		case API_FOLLOW_BODY:
		case API_FOLLOW_CHUNK_DATA:
			n = (size_t)HG_MIN((uint64_t)(len - i), f->body_left);
			f->body_left -= n;
			i += n;
			if (f->body_left != 0)
				break;
			if (f->state == API_FOLLOW_BODY)
				follow_next_request(f, at + i);
			else
				f->state = API_FOLLOW_CHUNK_SIZE;
			break;
		case API_FOLLOW_HEAD:
		case API_FOLLOW_CHUNK_SIZE:
		case API_FOLLOW_TRAILER:
			nl = memchr(p + i, '\n', len - i);
			n = nl != NULL ? (size_t)(nl - (p + i)) + 1 : len - i;
			if (f->line_len < API_FOLLOW_LINE_KEEP)
				memcpy(f->line + f->line_len, p + i,
				    HG_MIN(n, API_FOLLOW_LINE_KEEP -
				    f->line_len));
			/* The last byte before the "\n", for its "\r". */
			if (n > (nl != NULL ? 1u : 0u))
				f->last = p[i + n - 1 - (nl != NULL)];
			f->line_len += n;
			i += n;
			/* evhttp's limit on the head and the trailer. */
			if (f->state != API_FOLLOW_CHUNK_SIZE &&
			    (f->head_len += n) > f->max_head_bytes) {
				f->state = API_FOLLOW_OFF;
				goto out;
			}
			if (nl != NULL) {
				follow_line(f, at + i);
				f->line_len = 0;
				f->last = '\0';
			}
			break;
		default:
			goto out;
		}
	}
out:
	*used = i;
	return f->state;
}

static void
conn_follow_input(struct api_conn *c, struct evbuffer *in,
    const struct evbuffer_cb_info *info)
{
	size_t len = evbuffer_get_length(in), off, used;
	struct evbuffer_iovec v;
	struct evbuffer_ptr pos;
	uint64_t at;

	c->front += info->n_deleted;
	if (c->busy || c->state == CONN_OFF)
		return;
	/* evhttp has read the requests before the refused one, and answers
	 * the last of them when this returns; ours goes out after. */
	if (c->state == CONN_PENDING && c->front >= c->f.head_start) {
		c->state = CONN_AWAIT;
		conn_take(c, in);
		return;
	}
	if (info->n_added == 0 || c->state == CONN_PENDING)
		return;
	if (c->state == CONN_AWAIT || c->state == CONN_REFUSED) {
		conn_take(c, in);
		return;
	}
	if (info->n_added > len) {
		c->state = CONN_OFF;
		return;
	}
	/* The new bytes are the buffer's last n_added. */
	at = c->front + (len - info->n_added);
	for (off = len - info->n_added; off < len; off += v.iov_len) {
		if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_peek(in, (ev_ssize_t)(len - off), &pos, &v,
		    1) < 1 || v.iov_len == 0) {
			c->state = CONN_OFF;
			return;
		}
		v.iov_len = HG_MIN(v.iov_len, len - off);
		switch (api_follow_feed(&c->f, v.iov_base, v.iov_len, at,
		    &used)) {
		case API_FOLLOW_REFUSE:
			conn_refuse(c, in);
			return;
		case API_FOLLOW_OFF:
			c->state = CONN_OFF;
			return;
		default:
			break;
		}
		at += v.iov_len;
	}
}

static void
conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct api_conn *c = arg;

	conn_follow_input(c, in, info);
	conn_deadline_update(c);
}

/* CONN_AWAIT: the answers before ours are out once the output empties. */
static void
conn_output(struct evbuffer *out, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct api_conn *c = arg;

	if (c->state == CONN_AWAIT && info->n_deleted > 0 &&
	    evbuffer_get_length(out) == 0)
		conn_answer(c);
}

void
api_conn_follow(struct hg_api *api, struct bufferevent *bev, SSL *ssl)
{
	struct api_conn *c;

	if (conn_ex_index < 0)
		conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    conn_ex_free);
	/* Without a follower evhttp's own 413 still holds the limit. */
	if (conn_ex_index < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	if (SSL_set_ex_data(ssl, conn_ex_index, c) != 1) {
		free(c);
		return;
	}
	c->bev = bev;
	c->state = CONN_FOLLOW;
	c->api = api;
	TAILQ_INSERT_TAIL(&api->conns, c, entry);
	/* Admitted (or not) once evhttp has given it its socket, which it
	 * does after this returns: the next turn of the loop. */
	if ((c->timer = evtimer_new(api->base, conn_timer, c)) != NULL)
		event_active(c->timer, EV_TIMEOUT, 1);
	api_follow_init(&c->f, api->max_body_bytes, API_HEADERS_MAX_BYTES);
	if (evbuffer_add_cb(bufferevent_get_input(bev), conn_input,
	    c) == NULL || evbuffer_add_cb(bufferevent_get_output(bev),
	    conn_output, c) == NULL)
		c->state = CONN_OFF;
}

/* --- life cycle --- */

static int
openapi_serve(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	struct hg_api *api = arg;

	return hg_api_reply_raw(resp, 200, "application/json",
	    api->openapi_text, strlen(api->openapi_text));
}

static int
listen_on(struct hg_api *api, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	const char *addr = p->listen_addr != NULL ? p->listen_addr : "0.0.0.0";
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1;

	api->sock = evhttp_bind_socket_with_handle(api->http, addr, p->port);
	if (api->sock == NULL) {
		int e = errno != 0 ? errno : EADDRNOTAVAIL;

		snprintf(err, err_len, "cannot listen on %s port %u: %s", addr,
		    p->port, strerror(e));
		return -e;
	}
	fd = evhttp_bound_socket_get_fd(api->sock);
	/* A reply leaves in two writes (headers, body): with Nagle and the
	 * client's delayed ACK each request stalled ~40 ms (89 requests/s
	 * on 4 connections).  Accepted sockets inherit the option. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		hg_log_warn("api: TCP_NODELAY");
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
	    api->sock), accept_failed);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return file_err(err, err_len, "getsockname", addr);
	api->port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	hg_log_info("api: serving HTTPS on %s port %u", addr, api->port);
	return 0;
}

static int
http_setup(struct hg_api *api, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	if ((api->http = evhttp_new(api->base)) == NULL) {
		snprintf(err, err_len, "evhttp_new: out of memory");
		return -ENOMEM;
	}
	evhttp_set_max_body_size(api->http, (ev_ssize_t)api->max_body_bytes);
	evhttp_set_max_headers_size(api->http, API_HEADERS_MAX_BYTES);
	evhttp_set_timeout(api->http, API_TIMEOUT_S);
	/* Read a too-large body to its end before the 413, so the client
	 * sees the answer instead of a reset. */
	evhttp_set_flags(api->http, EVHTTP_SERVER_LINGERING_CLOSE);
	/* Let every usual method through so that we answer 405, not 501. */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(api->http, api_request, api);
	return api_tls_init(api, p, err, err_len);
}

/*
 * systemd starts services with a soft limit of 1,024 descriptors (for
 * select(2), which nothing here uses) and a hard one far above; a few
 * hundred idle clients reached the soft one.  Process-wide, so said.
 */
static void
nofile_raise(void)
{
	struct rlimit rl;
	unsigned long long was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = (unsigned long long)rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		hg_log_warn("api: cannot raise the open files limit from %llu "
		    "to %llu", was, (unsigned long long)rl.rlim_max);
	else
		hg_log_info("api: open files limit raised from %llu to %llu",
		    was, (unsigned long long)rl.rlim_max);
}

static void
limits_setup(struct hg_api *api, const struct hg_api_params *p)
{
#define OR(v, d)	((v) != 0 ? (v) : (d))
	api->head_timeout_ns = OR(p->head_timeout_s,
	    HG_API_HEAD_TIMEOUT_DEFAULT_S) * HG_NS_PER_S;
	api->body_timeout_ns = OR(p->body_timeout_s,
	    HG_API_BODY_TIMEOUT_DEFAULT_S) * HG_NS_PER_S;
	api->max_conns = OR(p->max_conns, HG_API_MAX_CONNS_DEFAULT);
	api->max_conns_per_source = OR(p->max_conns_per_source,
	    HG_API_MAX_CONNS_SOURCE_DEFAULT);
#undef OR
	TAILQ_INIT(&api->conns);
	TAILQ_INIT(&api->calls);
}

/* The password checker, and the loop's ends of it and of accept. */
static int
checker_setup(struct hg_api *api, char *err, size_t err_len)
{
	int rc;

	if ((rc = api_checker_start(&api->auth, err, err_len)) != 0)
		return rc;
	api->checks_done = event_new(api->base, api->auth.done_fd,
	    EV_READ | EV_PERSIST, checks_done, api);
	api->accept_resume = evtimer_new(api->base, accept_again, api);
	if (api->checks_done == NULL || api->accept_resume == NULL ||
	    event_add(api->checks_done, NULL) != 0) {
		snprintf(err, err_len, "out of memory for events");
		return -ENOMEM;
	}
	return 0;
}

int
hg_api_create(struct hg_api **out, struct event_base *base,
    const struct hg_api_params *p, char *err, size_t err_len)
{
	struct hg_api *api;
	int rc;

	*out = NULL;
	if (p->state_dir == NULL || p->state_dir[0] == '\0') {
		snprintf(err, err_len, "the API needs a state directory");
		return -EINVAL;
	}
	if (mkdir(p->state_dir, 0700) != 0 && errno != EEXIST)
		return file_err(err, err_len, "mkdir", p->state_dir);
	if ((api = calloc(1, sizeof(*api))) == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	api->base = base;
	api->max_body_bytes = p->max_body_bytes != 0 ? p->max_body_bytes :
	    HG_API_MAX_BODY_DEFAULT;
	limits_setup(api, p);
	nofile_raise();
	api->openapi_route = (struct hg_api_route){
		.method = HG_API_GET,
		.path = API_OPENAPI_PATH,
		.handler = openapi_serve,
		.arg = api,
		.flags = HG_API_ROUTE_PUBLIC,
		.summary = "This document: the API in OpenAPI 3.0",
		.response_schema = "{\"type\": \"object\"}",
	};
	if ((rc = api_routes_compile(api, p, err, err_len)) != 0 ||
	    (rc = api_openapi_build(api, p, err, err_len)) != 0 ||
	    (rc = api_auth_init(&api->auth, p, err, err_len)) != 0 ||
	    (rc = checker_setup(api, err, err_len)) != 0 ||
	    (rc = http_setup(api, p, err, err_len)) != 0 ||
	    (rc = listen_on(api, p, err, err_len)) != 0) {
		hg_api_free(api);
		return rc;
	}
	api->next_live = api_live;
	api_live = api;
	*out = api;
	return 0;
}

void
hg_api_free(struct hg_api *api)
{
	struct hg_api **pp;
	struct api_call *call;
	struct api_conn *c;

	if (api == NULL)
		return;
	for (pp = &api_live; *pp != NULL; pp = &(*pp)->next_live)
		if (*pp == api) {
			*pp = api->next_live;
			break;
		}
	/*
	 * Requests waiting for a password check, and their connections'
	 * timers, go before evhttp frees those requests and connections.
	 * Their TLS sessions (and with them c) may be freed later, by the
	 * loop, so they are told the API is gone.
	 */
	api_checker_stop(&api->auth);
	while ((call = TAILQ_FIRST(&api->calls)) != NULL) {
		TAILQ_REMOVE(&api->calls, call, entry);
		call->login = NULL;	/* the checker's; api_auth_free() */
		call_free(call);
	}
	while ((c = TAILQ_FIRST(&api->conns)) != NULL)
		conn_forget(c);
	if (api->checks_done != NULL)
		event_free(api->checks_done);
	if (api->accept_resume != NULL)
		event_free(api->accept_resume);
	/* Connections first: their TLS sessions refer to the SSL_CTX. */
	if (api->http != NULL)
		evhttp_free(api->http);
	api_tls_free(api);
	api_auth_free(&api->auth);
	api_routes_free(api);
	json_decref(api->openapi);
	free(api->openapi_text);
	free(api);
}

uint16_t
hg_api_port(const struct hg_api *api)
{
	return api->port;
}

const json_t *
hg_api_openapi(const struct hg_api *api)
{
	return api->openapi;
}

void
hg_api_auth_flush(struct hg_api *api)
{
	api_auth_flush(&api->auth);
}
