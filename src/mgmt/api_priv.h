/*
 * src/mgmt/api_priv.h: what the files of the API server share; nothing
 * outside src/mgmt/api*.c includes it.  api.c: life cycle, dispatch and
 * replies; api_route.c: path patterns; api_tls.c: certificate and TLS;
 * api_auth.c: password, tokens and failed-login limits; api_openapi.c:
 * the OpenAPI document.
 */
#ifndef HG_API_PRIV_H
#define HG_API_PRIV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>
#include <sodium.h>

#include "api.h"

#define API_OPENAPI_PATH	"/api/openapi.json"

/* A source may fail API_FAIL_MAX logins in API_FAIL_WINDOW_S; then 429. */
#define API_FAIL_MAX		5
#define API_FAIL_WINDOW_S	60
/* Sources remembered at once; the least recently seen is forgotten. */
#define API_FAIL_SLOTS		1024
/* Successful password logins remembered, and for how long. */
#define API_CACHE_SLOTS		32
#define API_CACHE_TTL_S		60
#define API_PASSWORD_LEN	24
#define API_ROUTE_PATH_MAX	200	/* bytes of a route's pattern */

struct event;
struct api_conn;
struct api_call;

/* A route with its pattern split into segments ("items", ":id"). */
struct api_route {
	const struct hg_api_route *r;
	char **segs;
	size_t n_segs;
	char **query;			/* declared query parameter names */
	size_t n_query;
};

/* Failed logins of one source (an IPv4 address or an IPv6 /64). */
struct api_fail {
	uint8_t key[16];
	uint64_t fail_ns[API_FAIL_MAX];	/* ring; head is the oldest when full */
	uint8_t n;
	uint8_t head;
	bool used;
	uint64_t seen_ns;		/* for LRU eviction */
};

struct api_cache_slot {
	unsigned char h[crypto_generichash_BYTES];
	uint64_t expires_ns;
};

/*
 * One password to check against the hash, off the control thread: made
 * by api_auth_begin(), checked by the checker thread (or inline by
 * api_auth_check()), its outcome recorded by api_auth_end() on the
 * control thread.  The password is wiped as soon as it is checked.
 */
struct api_login {
	TAILQ_ENTRY(api_login) entry;
	void *arg;			/* the caller's: its request */
	unsigned char h[crypto_generichash_BYTES];	/* cache key */
	uint8_t key[16];		/* source_key() of peer */
	char peer[INET6_ADDRSTRLEN];
	bool ok;			/* set by the check */
	size_t pw_len;
	char pw[];
};
TAILQ_HEAD(api_login_list, api_login);

struct api_auth {
	char hash[crypto_pwhash_STRBYTES];	/* read-only once loaded */
	unsigned char cache_key[crypto_generichash_KEYBYTES];
	struct api_cache_slot cache[API_CACHE_SLOTS];
	struct api_fail *fails;		/* API_FAIL_SLOTS */
	bool (*token_ok)(const char *token, void *arg);
	void *token_arg;
	/* Failed password checks of all sources (GCRA: a check may start
	 * while budget_tat_ns - now < burst * interval). */
	uint64_t budget_tat_ns;
	uint64_t budget_interval_ns;
	unsigned budget_burst;
	unsigned max_checks;		/* queued or running at once */
	unsigned n_checks;		/* control thread only */
	/* The checker thread.  mu guards queue, done and stop; done_fd (an
	 * eventfd) counts what went into done, for the control loop. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct api_login_list queue, done;
	bool stop, started;
	pthread_t thread;
	int done_fd;
};

enum api_auth_result {
	API_AUTH_OK,
	API_AUTH_MISSING,		/* no credentials: 401, not counted */
	API_AUTH_BAD,			/* wrong ones: 401, counted */
	API_AUTH_LIMITED,		/* too many failures: 429 */
	API_AUTH_LIMITED_ALL,		/* too many from all sources: 429 */
	API_AUTH_BUSY,			/* too many checks waiting: 503 */
	API_AUTH_CHECK,			/* a password to check: *login */
};

struct hg_api {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	SSL_CTX *ssl;
	struct api_tls *tls;		/* our certificates; NULL: the user's */
	uint16_t port;
	struct api_route *routes;	/* the caller's, then openapi.json */
	size_t n_routes;
	struct hg_api_route openapi_route;
	json_t *openapi;
	char *openapi_text;
	struct api_auth auth;
	size_t max_body_bytes;
	/* Limits (hg_api_params), in effect. */
	uint64_t head_timeout_ns, body_timeout_ns;
	unsigned max_conns, max_conns_per_source;
	/* Connections we follow (struct api_conn, api.c), for the caps. */
	TAILQ_HEAD(, api_conn) conns;
	unsigned n_conns;		/* admitted, not yet closed */
	struct event *accept_resume;	/* after accept(2) failed */
	struct event *checks_done;	/* on auth.done_fd */
	TAILQ_HEAD(, api_call) calls;	/* waiting for a password check */
	struct api_ratelog {
		uint64_t next_ns;
		unsigned quiet;		/* not logged since the last line */
	} log_accept, log_refuse, log_deadline;
	struct hg_api *next_live;	/* api.c's list of live APIs */
};

/* api.c: whole small files, written atomically with mode 0600. */
int api_file_write(const char *dir, const char *name, const void *data,
    size_t len, char *err, size_t err_len) HG_MUST_CHECK;
/* Reads at most max bytes, NUL-terminated; -ENOENT when absent. */
int api_file_read(const char *dir, const char *name, char *buf, size_t max,
    size_t *len, char *err, size_t err_len) HG_MUST_CHECK;
bool api_file_exists(const char *dir, const char *name);

/* api_route.c */
int api_routes_compile(struct hg_api *api, const struct hg_api_params *p,
    char *err, size_t err_len) HG_MUST_CHECK;
void api_routes_free(struct hg_api *api);
/* Splits a request path into decoded segments; -EINVAL if malformed. */
int api_path_split(const char *path, char ***segs, size_t *n) HG_MUST_CHECK;
void api_segs_free(char **segs, size_t n);
bool api_route_match(const struct api_route *ar, char *const *segs,
    size_t n);
bool api_route_has_query(const struct api_route *ar, const char *name);

/* api.c: follows bev's requests so that a body over the limit gets the
 * JSON 413; its state lives as long as ssl. */
struct bufferevent;
void api_conn_follow(struct hg_api *api, struct bufferevent *bev, SSL *ssl);

/*
 * api.c: the follower's framing of one connection's decrypted stream,
 * without I/O, so that tests/fuzz/fuzz_api_follow.c drives the code that
 * api_conn_follow() runs.
 */
#define API_FOLLOW_LINE_KEEP	128	/* bytes of a line looked at */

enum api_follow_state {
	API_FOLLOW_HEAD,	/* the request line and headers */
	API_FOLLOW_BODY,	/* body_left bytes of a Content-Length body */
	API_FOLLOW_CHUNK_SIZE,	/* a chunk's size line */
	API_FOLLOW_CHUNK_DATA,	/* body_left bytes of a chunk */
	API_FOLLOW_TRAILER,	/* the lines after the last chunk */
	API_FOLLOW_REFUSE,	/* the request at head_start: 413, for msg */
	API_FOLLOW_OFF,		/* not followed: evhttp decides */
};

struct api_follow {
	enum api_follow_state state;
	size_t max_body_bytes;
	size_t max_head_bytes;	/* a head's, and a trailer's with it */
	uint64_t head_start;	/* stream offset of the current request */
	uint64_t head_len;	/* its head and trailer bytes so far */
	uint64_t body_left;
	uint64_t body_size;	/* chunked: the chunk sizes so far */
	long long length;	/* Content-Length; -1: none */
	bool first_line, no_body, chunked, te_seen, framing_key;
	size_t line_len;	/* the current line so far, EOL included */
	char last;		/* its last byte before the "\n" */
	char line[API_FOLLOW_LINE_KEEP + 1];
	char msg[160];		/* API_FOLLOW_REFUSE: why */
};

void api_follow_init(struct api_follow *f, size_t max_body_bytes,
    size_t max_head_bytes);
/*
 * Follows the len bytes at p, which are at stream offset at: just past
 * those fed before.  Returns f->state; *used is how many bytes were read,
 * len unless the state is API_FOLLOW_REFUSE or API_FOLLOW_OFF, which are
 * final (later calls read nothing).
 */
enum api_follow_state api_follow_feed(struct api_follow *f, const char *p,
    size_t len, uint64_t at, size_t *used);

/* api_tls.c */
struct api_tls;
int api_tls_init(struct hg_api *api, const struct hg_api_params *p,
    char *err, size_t err_len) HG_MUST_CHECK;
void api_tls_free(struct hg_api *api);

/* api_auth.c */
int api_auth_init(struct api_auth *a, const struct hg_api_params *p,
    char *err, size_t err_len) HG_MUST_CHECK;
/* Stops the checker (waiting for a check under way); then frees. */
void api_auth_free(struct api_auth *a);
void api_auth_flush(struct api_auth *a);
/* The key failures and connections are counted under: an IPv4 address,
 * or the /64 of an IPv6 one.  peer is text. */
void api_source_key(const char *peer, uint8_t key[16]);
/*
 * Checks one request's credentials from peer (text address), all but a
 * password's hash.  On API_AUTH_LIMITED, _LIMITED_ALL and _BUSY
 * *retry_after_s says when to come back; on API_AUTH_OK *principal is
 * "api" or "token"; on API_AUTH_CHECK *login is the password to check,
 * with api_login_submit() or api_login_check(), then api_auth_end().
 */
enum api_auth_result api_auth_begin(struct api_auth *a, const char *peer,
    const char *authorization, const char *token, uint64_t now_ns,
    unsigned *retry_after_s, const char **principal,
    struct api_login **login);
/* Runs argon2id on l (any thread; the hash is read-only). */
void api_login_check(const struct api_auth *a, struct api_login *l);
/* Queues l for the checker thread; -errno if it is not running. */
int api_login_submit(struct api_auth *a, struct api_login *l) HG_MUST_CHECK;
/* Moves the checked logins to out (control thread, when done_fd is
 * readable; after api_checker_stop() also the unchecked ones). */
void api_login_take(struct api_auth *a, struct api_login_list *out);
/* Records l's outcome: API_AUTH_OK (cached) or API_AUTH_BAD (counted). */
enum api_auth_result api_auth_end(struct api_auth *a, struct api_login *l,
    uint64_t now_ns);
void api_login_free(struct api_login *l);
/* The checker thread; done_fd is readable when a check is done. */
int api_checker_start(struct api_auth *a, char *err, size_t err_len)
    HG_MUST_CHECK;
void api_checker_stop(struct api_auth *a);
/* begin, check inline and end: for tests, which have no loop. */
enum api_auth_result api_auth_check(struct api_auth *a, const char *peer,
    const char *authorization, const char *token, uint64_t now_ns,
    unsigned *retry_after_s, const char **principal);

/* api_openapi.c */
int api_openapi_build(struct hg_api *api, const struct hg_api_params *p,
    char *err, size_t err_len) HG_MUST_CHECK;

#endif /* HG_API_PRIV_H */
