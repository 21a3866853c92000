/*
 * tests/unit/mgmt/test_api_tls.c: proves the API's local CA and server
 * certificate (src/mgmt/api_tls.c) as a client sees them: the files in
 * the state directory read with OpenSSL, and the certificate the live
 * server sends, checked by libcurl against ca.crt alone.
 *
 * The server runs in-process on 127.0.0.1 with a loop in a thread of its
 * own.  A client asks for another address (192.0.2.1, what an appliance's
 * interface would have) through CURLOPT_CONNECT_TO, so the name checked
 * is that address while the packets go to loopback.  hg_api_set_names()
 * is a control-thread call: the loop is stopped around it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/log.h"
#include "mgmt/api.h"

static int
ping(struct hg_api_req *req, struct hg_api_resp *resp, void *arg)
{
	return hg_api_reply_json(resp, 200, NULL);
}

static const struct hg_api_route routes[] = {
	{ .method = HG_API_GET, .path = "/api/ping", .handler = ping,
	  .flags = HG_API_ROUTE_PUBLIC, .summary = "Liveness" },
};

static struct {
	char dir[64];
	struct event_base *base;
	struct event *tick;
	struct hg_api *api;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	uint16_t port;
} srv;

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	if (atomic_load(&srv.stop))
		event_base_loopbreak(srv.base);
}

static void *
loop(void *arg)
{
	event_base_dispatch(srv.base);
	return NULL;
}

static void
loop_start(void)
{
	atomic_store(&srv.stop, false);
	assert_int_equal(pthread_create(&srv.thread, NULL, loop, NULL), 0);
	srv.running = true;
}

static void
loop_stop(void)
{
	if (!srv.running)
		return;
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	srv.running = false;
}

/* The server on srv.dir naming names; 0, or hg_api_create()'s error. */
static int
server_start(const char *const *names, size_t n, const char *cert_file,
    const char *key_file, char *err, size_t err_len)
{
	struct timeval tv = { 0, 10000 };
	struct hg_api_params p;
	int rc;

	hg_api_params_init(&p);
	p.listen_addr = "127.0.0.1";
	p.port = 0;
	p.state_dir = srv.dir;
	p.routes = routes;
	p.n_routes = HG_ARRAY_SIZE(routes);
	p.names = names;
	p.n_names = n;
	p.cert_file = cert_file;
	p.key_file = key_file;
	srv.base = event_base_new();
	if ((rc = hg_api_create(&srv.api, srv.base, &p, err, err_len)) != 0) {
		event_base_free(srv.base);
		return rc;
	}
	srv.port = hg_api_port(srv.api);
	srv.tick = event_new(srv.base, -1, EV_PERSIST, tick, NULL);
	event_add(srv.tick, &tv);
	loop_start();
	return 0;
}

static void
server_up(const char *const *names, size_t n)
{
	char err[512];

	if (server_start(names, n, NULL, NULL, err, sizeof(err)) != 0)
		fail_msg("hg_api_create: %s", err);
}

static void
server_stop(void)
{
	loop_stop();
	hg_api_free(srv.api);
	event_free(srv.tick);
	event_base_free(srv.base);
	srv.api = NULL;
}

/* Names as hg_api_set_names() takes them, on the control thread. */
static int
set_names(const char *const *names, size_t n, char *err, size_t err_len)
{
	int rc;

	loop_stop();
	rc = hg_api_set_names(srv.api, names, n, err, err_len);
	loop_start();
	return rc;
}

static int
setup(void **state)
{
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/hg-api-tls.XXXXXX");
	return mkdtemp(srv.dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	static const char *const files[] = { "ca.crt", "ca.key", "api.crt",
	    "api.key", "api.passwd", "api.password", "user.crt", "user.key" };
	char path[128];

	if (srv.api != NULL)
		server_stop();
	for (size_t i = 0; i < HG_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", srv.dir, files[i]);
		unlink(path);
	}
	return rmdir(srv.dir);
}

/* ---- the files ---- */

/* dir/name; two of them may be live at once (a rename's). */
static char *
path_of(const char *name)
{
	static char path[2][128];
	static int turn;

	turn ^= 1;
	snprintf(path[turn], sizeof(path[turn]), "%s/%s", srv.dir, name);
	return path[turn];
}

/* The whole file, or NULL when it is not there. */
static char *
slurp(const char *name)
{
	char *buf = calloc(1, 1 << 16);
	FILE *f;
	size_t n;

	if ((f = fopen(path_of(name), "r")) == NULL) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static X509 *
cert_read(const char *name)
{
	FILE *f = fopen(path_of(name), "r");
	X509 *x;

	if (f == NULL)
		fail_msg("%s: %s", path_of(name), strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		fail_msg("%s: no PEM certificate", path_of(name));
	return x;
}

/* Whether api.crt's first certificate, alone, verifies as a TLS server's
 * against ca.crt alone: no partial chains, the CA is the only anchor. */
static bool
leaf_verifies(void)
{
	X509 *ca = cert_read("ca.crt"), *leaf = cert_read("api.crt");
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok;

	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX_init(ctx, store, leaf, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		print_error("verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(leaf);
	return ok;
}

/* Whether api.crt names name, as a client matches it (RFC 6125). */
static bool
leaf_names(const char *name)
{
	X509 *leaf = cert_read("api.crt");
	bool ok = X509_check_ip_asc(leaf, name, 0) == 1 ||
	    X509_check_host(leaf, name, 0, X509_CHECK_FLAG_NO_WILDCARDS,
	    NULL) == 1;

	X509_free(leaf);
	return ok;
}

static mode_t
mode_of(const char *name)
{
	struct stat st;

	if (stat(path_of(name), &st) != 0)
		fail_msg("%s: %s", path_of(name), strerror(errno));
	return st.st_mode & 07777;
}

/* ---- a client ---- */

/* A TLS handshake with the server asked for as https://host:PORT,
 * trusting cafile only and checking the name, as hexctl --cacert does. */
static CURLcode
client_try(const char *host, const char *cafile)
{
	char url[128], to[128];
	struct curl_slist *connect_to;
	CURL *c = curl_easy_init();
	CURLcode rc;
	bool v6 = strchr(host, ':') != NULL;

	snprintf(url, sizeof(url), "https://%s%s%s:%u/api/ping", v6 ? "[" : "",
	    host, v6 ? "]" : "", srv.port);
	snprintf(to, sizeof(to), "%s%s%s:%u:127.0.0.1:%u", v6 ? "[" : "",
	    host, v6 ? "]" : "", srv.port, srv.port);
	connect_to = curl_slist_append(NULL, to);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
	curl_easy_setopt(c, CURLOPT_CAINFO, path_of(cafile));
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(connect_to);
	return rc;
}

/* ---- cases ---- */

static const char *const first[] = { "192.0.2.1", "2001:db8::1",
    "gw.example" };

static void
test_first_start(void **state)
{
	X509 *ca, *leaf;
	char host[256];

	server_up(first, HG_ARRAY_SIZE(first));
	assert_int_equal(mode_of("ca.key"), 0600);
	assert_int_equal(mode_of("api.key"), 0600);
	ca = cert_read("ca.crt");
	leaf = cert_read("api.crt");
	assert_true(X509_check_ca(ca) > 0);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_int_equal(X509_check_issued(ca, leaf), X509_V_OK);
	X509_free(ca);
	X509_free(leaf);
	assert_true(leaf_verifies());
	/* What was asked, and what every certificate of ours names. */
	for (size_t i = 0; i < HG_ARRAY_SIZE(first); i++)
		if (!leaf_names(first[i]))
			fail_msg("api.crt does not name %s", first[i]);
	assert_true(leaf_names("hexgate"));
	assert_true(leaf_names("localhost"));
	assert_true(leaf_names("127.0.0.1"));
	assert_true(leaf_names("::1"));
	assert_true(leaf_names("GW.EXAMPLE"));
	assert_false(leaf_names("198.51.100.7"));
	assert_false(leaf_names("10.0.0.1"));
	if (gethostname(host, sizeof(host)) == 0 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.") == strlen(host) && !leaf_names(host))
		fail_msg("api.crt does not name the host, %s", host);
}

static void
test_served(void **state)
{
	server_up(first, HG_ARRAY_SIZE(first));
	assert_int_equal(client_try("192.0.2.1", "ca.crt"), CURLE_OK);
	assert_int_equal(client_try("2001:db8::1", "ca.crt"), CURLE_OK);
	assert_int_equal(client_try("127.0.0.1", "ca.crt"), CURLE_OK);
	/* the chain in api.crt holds the CA: a pin of it keeps working */
	assert_int_equal(client_try("192.0.2.1", "api.crt"), CURLE_OK);
	assert_int_equal(client_try("198.51.100.7", "ca.crt"),
	    CURLE_PEER_FAILED_VERIFICATION);
}

static void
test_set_names(void **state)
{
	static const char *const now[] = { "192.0.2.1", "198.51.100.7" };
	char err[256] = "", *ca, *cert, *ca2, *cert2;

	server_up(first, HG_ARRAY_SIZE(first));
	ca = slurp("ca.crt");
	cert = slurp("api.crt");
	assert_int_equal(set_names(now, HG_ARRAY_SIZE(now), err, sizeof(err)),
	    0);
	ca2 = slurp("ca.crt");
	cert2 = slurp("api.crt");
	assert_string_equal(ca, ca2);		/* the pin stays good */
	assert_string_not_equal(cert, cert2);
	assert_true(leaf_verifies());
	assert_true(leaf_names("198.51.100.7"));
	assert_true(leaf_names("192.0.2.1"));
	assert_true(leaf_names("hexgate"));
	assert_false(leaf_names("2001:db8::1"));
	assert_false(leaf_names("gw.example"));
	assert_int_equal(mode_of("api.crt"), 0600);
	/* new connections get it, with the same ca.crt */
	assert_int_equal(client_try("198.51.100.7", "ca.crt"), CURLE_OK);
	assert_int_equal(client_try("192.0.2.1", "ca.crt"), CURLE_OK);
	assert_int_equal(client_try("2001:db8::1", "ca.crt"),
	    CURLE_PEER_FAILED_VERIFICATION);
	free(ca);
	free(cert);
	free(ca2);
	free(cert2);
}

/* The same names in another order and spelling: nothing is issued. */
static void
test_set_names_same(void **state)
{
	static const char *const again[] = { "GW.example", "2001:DB8:0::1",
	    "192.0.2.1", "hexgate", "192.0.2.1" };
	char err[256] = "", *cert, *cert2;

	server_up(first, HG_ARRAY_SIZE(first));
	cert = slurp("api.crt");
	assert_int_equal(set_names(again, HG_ARRAY_SIZE(again), err,
	    sizeof(err)), 0);
	cert2 = slurp("api.crt");
	assert_string_equal(cert, cert2);
	free(cert);
	free(cert2);
}

static void
test_set_names_bad(void **state)
{
	static const char *const bad[] = { "192.0.2.9", "bad name!" };
	char err[256] = "", *cert, *cert2;

	server_up(first, HG_ARRAY_SIZE(first));
	cert = slurp("api.crt");
	assert_int_equal(set_names(bad, HG_ARRAY_SIZE(bad), err, sizeof(err)),
	    -EINVAL);
	if (strstr(err, "names[1]") == NULL || strstr(err, "bad name!") ==
	    NULL)
		fail_msg("err \"%s\" does not name names[1]", err);
	cert2 = slurp("api.crt");
	assert_string_equal(cert, cert2);
	assert_int_equal(client_try("192.0.2.1", "ca.crt"), CURLE_OK);
	free(cert);
	free(cert2);
}

/* A restart with the same names keeps the certificate; with others it
 * issues one, from the same CA. */
static void
test_restart(void **state)
{
	static const char *const other[] = { "203.0.113.5" };
	char *ca = NULL, *cert, *c2;

	server_up(first, HG_ARRAY_SIZE(first));
	ca = slurp("ca.crt");
	cert = slurp("api.crt");
	server_stop();
	server_up(first, HG_ARRAY_SIZE(first));
	c2 = slurp("api.crt");
	assert_string_equal(cert, c2);
	free(c2);
	server_stop();
	server_up(other, HG_ARRAY_SIZE(other));
	c2 = slurp("api.crt");
	assert_string_not_equal(cert, c2);
	free(c2);
	c2 = slurp("ca.crt");
	assert_string_equal(ca, c2);
	assert_true(leaf_verifies());
	assert_true(leaf_names("203.0.113.5"));
	assert_false(leaf_names("192.0.2.1"));
	assert_int_equal(client_try("203.0.113.5", "ca.crt"), CURLE_OK);
	free(c2);
	free(ca);
	free(cert);
}

/* A state directory without a CA (one from before the CA, or one that
 * lost it): a new CA, and the server certificate issued by it. */
static void
test_no_ca(void **state)
{
	char *ca, *ca2;

	server_up(first, HG_ARRAY_SIZE(first));
	ca = slurp("ca.crt");
	server_stop();
	assert_int_equal(unlink(path_of("ca.crt")), 0);
	assert_int_equal(unlink(path_of("ca.key")), 0);
	server_up(first, HG_ARRAY_SIZE(first));
	ca2 = slurp("ca.crt");
	assert_non_null(ca2);
	assert_string_not_equal(ca, ca2);
	assert_true(leaf_verifies());
	assert_int_equal(client_try("192.0.2.1", "ca.crt"), CURLE_OK);
	free(ca);
	free(ca2);
}

/* The user's certificate is theirs: set_names touches nothing. */
static void
test_user_cert(void **state)
{
	static const char *const now[] = { "198.51.100.7" };
	char err[512] = "", *cert, *cert2;

	/* a pair made by a first start serves as "the user's" */
	server_up(first, HG_ARRAY_SIZE(first));
	server_stop();
	assert_int_equal(rename(path_of("api.crt"), path_of("user.crt")), 0);
	assert_int_equal(rename(path_of("api.key"), path_of("user.key")), 0);
	assert_int_equal(unlink(path_of("ca.key")), 0);
	cert = slurp("user.crt");
	if (server_start(now, HG_ARRAY_SIZE(now), path_of("user.crt"),
	    path_of("user.key"), err, sizeof(err)) != 0)
		fail_msg("hg_api_create: %s", err);
	assert_int_equal(set_names(now, HG_ARRAY_SIZE(now), err, sizeof(err)),
	    0);
	cert2 = slurp("user.crt");
	assert_string_equal(cert, cert2);
	assert_null(slurp("api.crt"));
	assert_null(slurp("ca.key"));
	/* it serves the user's, which does not name what was asked */
	assert_int_equal(client_try("192.0.2.1", "ca.crt"), CURLE_OK);
	assert_int_equal(client_try("198.51.100.7", "ca.crt"),
	    CURLE_PEER_FAILED_VERIFICATION);
	free(cert);
	free(cert2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_names_same, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_names_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_cert, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	hg_log_init("test_api_tls", HG_LOG_WARN, false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
