/*
 * src/mgmt/api.h: the HTTPS REST API server (libevent's evhttp over
 * bufferevent_openssl, JSON through jansson).  It owns TLS, authentication,
 * failed-login limits, routing, request parsing, error bodies and the
 * OpenAPI document; the resources themselves are the caller's route
 * handlers (the config store is src/mgmt/store.h, the wiring is in
 * src/daemon).
 *
 * Closed by default: every route needs HTTP Basic "api:PASSWORD" or an
 * "Api-Token: TOKEN" header, except /api/openapi.json (the description of
 * the API is no secret; it is public so clients can discover the auth
 * schemes) and routes flagged HG_API_ROUTE_PUBLIC.  The password is made at
 * first start (see api_auth.c).
 *
 * Everything here runs on the control thread: hg_api_create(), the handlers
 * and hg_api_free() are called on the thread that runs the event base.
 * Only password hashes are checked on a thread of the API's own, and a
 * request waits for its answer without holding up the loop.
 * The process must ignore SIGPIPE (hexgated does): OpenSSL writes to the
 * sockets with write(2), and a client that hangs up mid-reply would
 * otherwise kill it.
 */
#ifndef HG_API_H
#define HG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/hg.h"

struct event_base;
struct hg_api;
struct hg_api_req;		/* one request, valid during the handler */
struct hg_api_resp;		/* its reply, filled by the hg_api_reply_*() */

#define HG_API_PORT_DEFAULT		8000
#define HG_API_MAX_BODY_DEFAULT		(64u << 20)	/* 64 MiB: a rule set */
/* Limits against slow and greedy clients; docs/api.md, "Limits". */
#define HG_API_HEAD_TIMEOUT_DEFAULT_S	10	/* TLS handshake and head */
#define HG_API_BODY_TIMEOUT_DEFAULT_S	120	/* 64 MiB at ~0.5 MB/s */
#define HG_API_MAX_CONNS_DEFAULT	256
#define HG_API_MAX_CONNS_SOURCE_DEFAULT	32	/* browsers open about 6 */
#define HG_API_MAX_LOGIN_CHECKS_DEFAULT	8	/* 64 MiB of argon2id each */
#define HG_API_LOGIN_FAIL_BURST_DEFAULT	20	/* failed password checks, */
#define HG_API_LOGIN_FAILS_MIN_DEFAULT	60	/*   all sources, per minute */

/*
 * Files in the state directory, all mode 0600 (unless the caller supplies
 * its own certificate, when the first four are neither made nor read):
 *   ca.crt, ca.key     the local CA, made at first start (EC P-256): the
 *                      certificate clients pin (hexctl --cacert)
 *   api.crt, api.key   the server certificate the CA signed, then the CA
 *                      (the chain the server sends), and its EC P-256
 *                      key; api.crt is issued again when the names change
 *   api.passwd         the argon2id hash of the API password (read)
 *   api.password       the password in clear, for root (never read back)
 */
#define HG_API_CA_FILE		"ca.crt"
#define HG_API_CA_KEY_FILE	"ca.key"
#define HG_API_CERT_FILE	"api.crt"
#define HG_API_KEY_FILE		"api.key"
#define HG_API_HASH_FILE	"api.passwd"
#define HG_API_PASSWORD_FILE	"api.password"
#define HG_API_USER		"api"

enum hg_api_method {
	HG_API_GET,
	HG_API_POST,
	HG_API_PUT,
	HG_API_PATCH,
	HG_API_DELETE,
	HG_API_METHOD_COUNT
};

/* What a route takes as its request body. */
enum hg_api_body {
	HG_API_BODY_NONE,	/* a body, if sent, is ignored */
	HG_API_BODY_JSON,	/* required; malformed JSON is a 400 */
	HG_API_BODY_TEXT,	/* raw bytes (iptables-restore text) */
	HG_API_BODY_COUNT
};

#define HG_API_ROUTE_PUBLIC	0x1	/* no authentication */

/*
 * Handler: reply with one of hg_api_reply_json(), hg_api_reply_raw() or
 * hg_api_error() and return what it returned (the HTTP status).  A
 * negative return is an internal error: the client gets a 500 and the log
 * a line; do not put secrets in the reply or the log.
 */
typedef int (*hg_api_handler_fn)(struct hg_api_req *req,
    struct hg_api_resp *resp, void *arg);

/*
 * One route.  path is literal segments and ":name" parameters
 * ("/api/tunnels/:name"); the first route in the table whose pattern and
 * method match wins.  The rest is the route's OpenAPI description, which
 * is also enforced: a query parameter not named in query_params is a 400.
 * Schemas are JSON text of OpenAPI 3.0 schema objects, checked at create.
 */
struct hg_api_route {
	enum hg_api_method method;
	const char *path;
	hg_api_handler_fn handler;
	void *arg;
	enum hg_api_body body;
	unsigned flags;			/* HG_API_ROUTE_* */
	int ok_status;			/* documented success status; 0: 200 */
	const char *summary;
	const char *query_params;	/* "limit offset": optional strings */
	const char *request_schema;	/* HG_API_BODY_JSON; NULL: any object */
	const char *response_schema;	/* NULL: any JSON value */
	const char *response_type;	/* NULL: application/json */
};

struct hg_api_params {
	const char *listen_addr;	/* "0.0.0.0", "::", "127.0.0.1" */
	uint16_t port;			/* 0: any (tests); see hg_api_port() */
	const char *state_dir;		/* required; made 0700 if missing */
	const char *cert_file;		/* both or neither: the user's own */
	const char *key_file;		/*   certificate chain and key (PEM) */
	/* What clients call the appliance besides hexgate, localhost, the
	 * loopbacks, the host name and a specific listen_addr, which our
	 * server certificate always names: IP addresses ("192.0.2.1",
	 * "2001:db8::1") or DNS names; borrowed.  Unused with cert_file. */
	const char *const *names;
	size_t n_names;
	const struct hg_api_route *routes;	/* borrowed; must outlive */
	size_t n_routes;
	/* Api-Token checker (the store owns tokens); NULL: tokens refused. */
	bool (*token_ok)(const char *token, void *arg);
	void *token_arg;
	/* Larger bodies get a JSON 413 that says the limit, answered from
	 * the request's head (Content-Length) or at the chunk that goes
	 * over it, before evhttp reads them (api.c, "bodies over the
	 * limit"). */
	size_t max_body_bytes;
	const char *api_version;	/* OpenAPI info.version */

	/*
	 * Limits against slow and greedy clients (docs/api.md, "Limits");
	 * 0 in any of them takes its HG_API_*_DEFAULT.  A connection that
	 * misses a deadline is closed without an answer.
	 */
	unsigned head_timeout_s;	/* accept (or the first byte of a
					 * keep-alive request) to its head's end */
	unsigned body_timeout_s;	/* the head's end to the body's end */
	unsigned max_conns;		/* open at once; more are closed */
	unsigned max_conns_per_source;	/*   from one IPv4 address or /64 */
	/* Password checks (argon2id, 64 MiB and tens of ms each) run on a
	 * thread of their own: at most this many queued or running; a
	 * login beyond it gets a 503 with Retry-After at once. */
	unsigned max_login_checks;
	/* Failed password checks from all sources together: a bucket of
	 * login_fail_burst, refilled at login_fails_per_min; while it is
	 * empty, passwords that are not cached get a 429 unchecked (tokens
	 * and cached logins still work).  Each source also has its own
	 * limit (API_FAIL_MAX in API_FAIL_WINDOW_S). */
	unsigned login_fail_burst;
	unsigned login_fails_per_min;
};

/* Defaults: 0.0.0.0:8000, 64 MiB bodies, the HG_API_*_DEFAULT limits, no
 * routes, no state dir. */
void hg_api_params_init(struct hg_api_params *p);

/*
 * Loads or makes the local CA, the server certificate (issued again when
 * it does not name what names asks for) and the password, binds and starts
 * serving on base.  On failure returns a negative errno and says why in
 * err.  First start costs one argon2id hash (about 0.1 s, 64 MiB).
 * Starts one thread, the password checker, which never touches base.
 * Raises the process's soft RLIMIT_NOFILE to its hard limit: systemd's
 * soft 1024 is a few hundred idle clients away.
 */
int hg_api_create(struct hg_api **out, struct event_base *base,
    const struct hg_api_params *p, char *err, size_t err_len) HG_MUST_CHECK;
/*
 * The server certificate names these (as params.names) from now on: when
 * they differ from what it names, the local CA signs a new one, api.crt is
 * rewritten and new connections get it; connections already open keep
 * theirs.  Clients that pinned ca.crt trust both.  Does nothing with the
 * user's own certificate (cert_file).  A bad name, or a failure to sign
 * or write, is a negative errno and err; the running certificate stays.
 * Control thread only.
 */
int hg_api_set_names(struct hg_api *api, const char *const *names, size_t n,
    char *err, size_t err_len) HG_MUST_CHECK;
/* Closes the listener and every connection; NULL is fine. */
void hg_api_free(struct hg_api *api);

/* The bound port (useful after port 0). */
uint16_t hg_api_port(const struct hg_api *api);
/* The OpenAPI document the server serves; borrowed. */
const json_t *hg_api_openapi(const struct hg_api *api);
/* Forget cached successful logins (call when credentials change). */
void hg_api_auth_flush(struct hg_api *api);

/* --- in a handler --- */

enum hg_api_method hg_api_req_method(const struct hg_api_req *req);
const char *hg_api_method_name(enum hg_api_method m);
/* A ":name" path parameter, percent-decoded; NULL if the route has none. */
const char *hg_api_req_param(const struct hg_api_req *req, const char *name);
/* A query parameter, decoded; NULL when absent. */
const char *hg_api_req_query(const struct hg_api_req *req, const char *name);
/* HG_API_BODY_JSON: the parsed body, borrowed (json_incref to keep). */
json_t *hg_api_req_json(const struct hg_api_req *req);
/* HG_API_BODY_TEXT: the body, NUL-terminated; *len without the NUL. */
const char *hg_api_req_text(const struct hg_api_req *req, size_t *len);
/* The client's address as text, for logs. */
const char *hg_api_req_peer(const struct hg_api_req *req);
/* Who authenticated: "api" (password), "token", or NULL (public). */
const char *hg_api_req_principal(const struct hg_api_req *req);

/* Replies with body (reference stolen; NULL: no body).  Returns status. */
int hg_api_reply_json(struct hg_api_resp *resp, int status, json_t *body);
/* Replies with len bytes of data (copied) as content_type. */
int hg_api_reply_raw(struct hg_api_resp *resp, int status,
    const char *content_type, const void *data, size_t len);
/* Adds a response header (Location, ...); 0 or -ENOMEM. */
int hg_api_reply_header(struct hg_api_resp *resp, const char *name,
    const char *value) HG_MUST_CHECK;
/*
 * Replies {"error": {"status", "code", "message", "field"}}.  code comes
 * from the status ("bad_request", "not_found", "conflict", ...); field is
 * a JSON pointer into the body ("/tunnels/2/psk"), "query:NAME" or
 * "path:NAME" for parameters, or NULL.  Returns status.
 */
int hg_api_error(struct hg_api_resp *resp, int status, const char *field,
    const char *fmt, ...) HG_PRINTF(4, 5);
/* The same with a code of the handler's choosing ("version_conflict"). */
int hg_api_error_code(struct hg_api_resp *resp, int status, const char *code,
    const char *field, const char *fmt, ...) HG_PRINTF(5, 6);

#endif /* HG_API_H */
