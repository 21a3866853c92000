/*
 * src/cli/remote.c: hexctl's HTTPS transport.  The request hexctl.c builds
 * for the control socket, {"op", "args"}, goes to hexgated's REST API as
 * POST /api/ops/OP {"args": ...} (docs/api.md), which runs the same
 * operation and answers with the same objects; a text or binary answer (a
 * diff, the metrics, a capture) comes back as the socket gives it:
 * {"content_type", "text"} or {"content_type", "base64"}.
 *
 * Trust is never loosened quietly: the server's certificate is checked
 * against --cacert (or the system's CAs), only https:// is spoken, no
 * redirect is followed, and --insecure says on every run what it gives up.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../lib/text.h"
#include "remote.h"
#include "remote_tls.h"
#include "render.h"

#define EXIT_SERVER	1
#define EXIT_USAGE	2

/* As the socket: a PUT parses and compiles a whole rule set. */
#define REMOTE_TIMEOUT_S		30
#define REMOTE_CONNECT_TIMEOUT_S	10
#define REMOTE_ANSWER_MAX_BYTES		(64u << 20)
#define REMOTE_SECRET_MAX_BYTES		1024

/* One API call: what to send. */
struct call {
	const char *method;		/* GET, PUT, POST, DELETE */
	char path[512];			/* /api/..., with its query */
	const char *body;		/* NULL: none */
	size_t body_len;
	char *owned;			/* body, when made here */
	const char *content_type;
};

/* What came back. */
struct answer {
	char *buf;
	size_t len;
	bool too_big;
};

static int
remote_err(int status, const char *fmt, ...) HG_PRINTF(2, 3);

/* "hexctl: ..." on stderr; returns status. */
static int
remote_err(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("hexctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* A password or token file's first line; NULL after saying why. */
static char *
secret_read(const char *file, const char *what)
{
	char buf[REMOTE_SECRET_MAX_BYTES];
	FILE *f = fopen(file, "re");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "hexctl: %s file %s: %s\n", what, file,
		    strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		fprintf(stderr, "hexctl: %s file %s is empty\n", what, file);
		return NULL;
	}
	return strdup(buf);
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * The credentials, the options' before the environment's, a token's
 * before a password's: *token or *password set, or neither (the server
 * then answers 401 and says what it wants).  0 or an exit status.
 */
static int
creds_get(const struct cli_remote *r, char **token, char **password)
{
	const char *env;

	*token = *password = NULL;
	if (r->token_file != NULL)
		*token = secret_read(r->token_file, "token");
	else if (r->password_file != NULL)
		*password = secret_read(r->password_file, "password");
	else if ((env = getenv("HEXCTL_TOKEN")) != NULL && env[0] != '\0')
		*token = strdup(env);
	else if ((env = getenv("HEXCTL_PASSWORD_FILE")) != NULL &&
	    env[0] != '\0')
		*password = secret_read(env, "password");
	else if ((env = getenv("HEXCTL_PASSWORD")) != NULL && env[0] != '\0')
		*password = strdup(env);
	else
		return 0;
	if (*token == NULL && *password == NULL)
		return EXIT_USAGE;
	if (*token != NULL && strpbrk(*token, "\r\n") != NULL) {
		secret_free(*token);
		*token = NULL;
		return remote_err(EXIT_USAGE, "the token holds a line break");
	}
	return 0;
}

static size_t
answer_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;
	char *nbuf;

	if (a->len + n >= REMOTE_ANSWER_MAX_BYTES) {
		a->too_big = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if ((nbuf = realloc(a->buf, a->len + n + 1)) == NULL)
		return 0;
	a->buf = nbuf;
	memcpy(a->buf + a->len, data, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

/* The URL as given, without the slashes that would double in paths. */
static int
url_check(const char *url, size_t *len)
{
	if (strncasecmp(url, "https://", 8) != 0 || url[8] == '\0')
		return remote_err(EXIT_USAGE, "--url %s: the API speaks only "
		    "HTTPS (https://HOST:PORT)", url);
	*len = strlen(url);
	while (*len > 8 && url[*len - 1] == '/')
		(*len)--;
	return 0;
}

/* curl's failure, with what to do about the usual ones. */
static int
transport_err(const char *url, CURLcode cc, const char *errbuf)
{
	const char *hint = "";

	if (cc == CURLE_SSL_CACERT_BADFILE)
		hint = " (give the appliance's CA with --cacert, e.g. "
		    REMOTE_TLS_CA_DEFAULT ")";
	else if (cc == CURLE_COULDNT_CONNECT)
		hint = " (is hexgated running with an \"api\" section?)";
	return remote_err(EXIT_USAGE, "%s: %s%s", url,
	    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc), hint);
}

static int
curl_setup(CURL *h, const struct cli_remote *r, const struct call *c,
    const char *full, struct curl_slist *hdrs, struct answer *a,
    char *errbuf)
{
	CURLcode cc = CURLE_OK;

#define SET(opt, val)	do { if (cc == CURLE_OK) \
	cc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, full);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TIMEOUT, (long)REMOTE_TIMEOUT_S);
	SET(CURLOPT_CONNECTTIMEOUT, (long)REMOTE_CONNECT_TIMEOUT_S);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_WRITEFUNCTION, answer_write);
	SET(CURLOPT_WRITEDATA, a);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_USERAGENT, "hexctl/" HEXGATE_VERSION);
	if (r->cacert != NULL)
		SET(CURLOPT_CAINFO, r->cacert);
	if (r->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(c->method, "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, c->method);
	if (c->body != NULL || strcmp(c->method, "PUT") == 0) {
		SET(CURLOPT_POSTFIELDS, c->body != NULL ? c->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
	}
#undef SET
	if (cc != CURLE_OK)
		return remote_err(EXIT_USAGE, "libcurl: %s",
		    curl_easy_strerror(cc));
	return 0;
}

/* Headers: the body's type, the token; no 100-continue round trip. */
static struct curl_slist *
headers_make(const struct call *c, const char *token)
{
	struct curl_slist *l = NULL, *n;
	char *h = NULL;

	if ((l = curl_slist_append(NULL, "Expect:")) == NULL)
		return NULL;
	if (c->content_type != NULL) {
		if (asprintf(&h, "Content-Type: %s", c->content_type) < 0 ||
		    (n = curl_slist_append(l, h)) == NULL)
			goto fail;
		l = n;
		free(h);
		h = NULL;
	}
	if (token != NULL) {
		if (asprintf(&h, "Api-Token: %s", token) < 0 ||
		    (n = curl_slist_append(l, h)) == NULL)
			goto fail;
		l = n;
		secret_free(h);
	}
	return l;
fail:
	secret_free(h);
	curl_slist_free_all(l);
	return NULL;
}

/* The answer as the socket gives it: JSON as it came, text or bytes in
 * an object. */
static json_t *
answer_json(const struct answer *a, const char *ctype)
{
	json_error_t jerr;
	json_t *o;
	char *b64;

	if (ctype != NULL && strncasecmp(ctype, "application/json", 16) == 0)
		return json_loadb(a->buf != NULL ? a->buf : "", a->len, 0,
		    &jerr);
	if (ctype == NULL)
		ctype = "application/octet-stream";
	if (a->len == 0)
		return json_pack("{s:s,s:s}", "content_type", ctype, "text", "");
	if (memchr(a->buf, '\0', a->len) == NULL &&
	    (o = json_stringn(a->buf, a->len)) != NULL)
		return json_pack("{s:s,s:o}", "content_type", ctype, "text", o);
	if ((b64 = hg_base64_encode(a->buf, a->len)) == NULL)
		return NULL;
	o = json_pack("{s:s,s:s}", "content_type", ctype, "base64", b64);
	free(b64);
	return o;
}

/* One exchange with the server: its answer in *resp.  An exit status. */
static int
exchange(const struct cli_remote *r, const struct call *c, json_t **resp,
    const char *token, const char *password)
{
	char errbuf[CURL_ERROR_SIZE] = "", *full = NULL, *ctype = NULL;
	struct answer a = { 0 };
	struct curl_slist *hdrs = NULL;
	CURL *h = NULL;
	CURLcode cc;
	size_t url_len = 0;
	long http = 0;
	int status;

	if ((status = url_check(r->url, &url_len)) != 0)
		return status;
	status = EXIT_USAGE;
	if (asprintf(&full, "%.*s%s", (int)url_len, r->url, c->path) < 0) {
		full = NULL;
		goto nomem;
	}
	if ((h = curl_easy_init()) == NULL ||
	    (hdrs = headers_make(c, token)) == NULL)
		goto nomem;
	if ((status = curl_setup(h, r, c, full, hdrs, &a, errbuf)) != 0)
		goto out;
	if (password != NULL &&
	    (curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
	    curl_easy_setopt(h, CURLOPT_USERNAME, "api") ||
	    curl_easy_setopt(h, CURLOPT_PASSWORD, password)))
		goto nomem;
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		/* what the certificate names, and which check it failed */
		if (cc == CURLE_PEER_FAILED_VERIFICATION) {
			remote_tls_explain(full, r->cacert, errbuf);
			status = EXIT_USAGE;
			goto out;
		}
		status = a.too_big ? remote_err(EXIT_SERVER, "%s: answer larger "
		    "than %u bytes", full, REMOTE_ANSWER_MAX_BYTES) :
		    transport_err(full, cc, errbuf);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	*resp = answer_json(&a, ctype);
	status = 0;
	if (!json_is_object(*resp)) {
		json_decref(*resp);
		*resp = NULL;
		status = remote_err(EXIT_SERVER, "%s: HTTP %ld, and the answer "
		    "is not a JSON object", full, http);
	} else if ((http < 200 || http > 299) &&
	    json_object_get(*resp, "error") == NULL) {
		json_decref(*resp);
		*resp = NULL;
		status = remote_err(EXIT_SERVER, "%s: HTTP %ld", full, http);
	}
	goto out;
nomem:
	status = remote_err(EXIT_USAGE, "out of memory");
out:
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	free(full);
	free(a.buf);
	return status;
}

int
cli_remote_call(const struct cli_remote *r, const char *op,
    const char *body, json_t **resp)
{
	struct call c = {
		.method = "POST", .body = body, .body_len = strlen(body),
		.content_type = "application/json",
	};
	char *token = NULL, *password = NULL, *esc;
	FILE *f;
	int status, n;

	*resp = NULL;
	if ((esc = curl_easy_escape(NULL, op, 0)) == NULL)
		return remote_err(EXIT_USAGE, "out of memory");
	n = snprintf(c.path, sizeof(c.path), "/api/ops/%s", esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= sizeof(c.path))
		return remote_err(EXIT_USAGE, "operation name too long");
	/* Said here, not as curl's "error setting certificate file". */
	if (r->cacert != NULL) {
		if ((f = fopen(r->cacert, "re")) == NULL)
			return remote_err(EXIT_USAGE, "--cacert %s: %s",
			    r->cacert, strerror(errno));
		fclose(f);
	}
	if (r->insecure)
		fprintf(stderr, "hexctl: warning: --insecure: the server's "
		    "certificate is not checked; anyone on the path can read "
		    "the password and change the rules\n");
	if ((status = creds_get(r, &token, &password)) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		status = remote_err(EXIT_USAGE, "libcurl cannot start");
		goto out;
	}
	status = exchange(r, &c, resp, token, password);
	curl_global_cleanup();
out:
	secret_free(token);
	secret_free(password);
	return status;
}
