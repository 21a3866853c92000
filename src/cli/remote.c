/*
 * src/cli/remote.c: hexctl's HTTPS transport.  A request line, built by
 * hexctl.c exactly as for the control socket, becomes one call to a route
 * of hexgated's REST API (docs/api.md): method, path, JSON or text body.
 * The API answers with the objects the socket gives, so render.c prints
 * them; a text reply (a save, a diff) is printed as {"text": ...} would be.
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

/* Whether line is words, or starts with them and a space. */
static bool
line_is(const char *line, const char *words)
{
	size_t len = strlen(words);

	return strncmp(line, words, len) == 0 &&
	    (line[len] == '\0' || line[len] == ' ');
}

/* A whole positive decimal number of at most 18 digits. */
static bool
is_count(const char *s, size_t len)
{
	if (len == 0 || len > 18 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The word at *p (up to a space or the end); *p moves past it. */
static size_t
word_next(const char **p, const char **w)
{
	size_t n;

	while (**p == ' ')
		(*p)++;
	*w = *p;
	n = strcspn(*p, " ");
	*p += n;
	while (**p == ' ')
		(*p)++;
	return n;
}

/* "-4" or "-6" of the line as the API's family query value. */
static char
family_of(const char *w)
{
	return w[1] == '6' ? '6' : '4';
}

static int
call_path(struct call *c, const char *fmt, ...) HG_PRINTF(2, 3);

static int
call_path(struct call *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path, sizeof(c->path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->path))
		return remote_err(EXIT_USAGE, "request path too long");
	return 0;
}

/* o as the call's JSON body (o is consumed); 0 or an exit status. */
static int
call_json(struct call *c, const char *method, json_t *o)
{
	/* json_pack() refuses text that is not UTF-8, as JSON must be. */
	if (o == NULL)
		return remote_err(EXIT_USAGE, "the words are not valid UTF-8, "
		    "which the API's JSON needs; use the control socket (-s)");
	c->owned = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (c->owned == NULL)
		return remote_err(EXIT_USAGE, "out of memory");
	c->method = method;
	c->body = c->owned;
	c->body_len = strlen(c->owned);
	c->content_type = "application/json";
	return 0;
}

/* {"chain", "rule"} from "CHAIN RULE..."; with num, "position" too. */
static json_t *
rule_json(const char *chain, size_t chain_len, const char *rule,
    const char *num)
{
	json_t *o = json_pack("{s:s%,s:s}", "chain", chain, chain_len, "rule",
	    rule);

	if (o != NULL && num != NULL)
		json_object_set_new(o, "position",
		    json_integer(strtoll(num, NULL, 10)));
	return o;
}

/* POST {"chain", "rule"[, "position"]} from "CHAIN [N] RULE...". */
static int
call_rule_post(struct call *c, char fam, const char *p, bool insert)
{
	const char *chain, *num = NULL;
	size_t chain_len = word_next(&p, &chain);
	int rc;

	/* hexctl.c always writes insert's position: "CHAIN N RULE". */
	if (insert)
		word_next(&p, &num);
	if ((rc = call_json(c, "POST", rule_json(chain, chain_len, p,
	    num))) != 0)
		return rc;
	return call_path(c, "/api/firewall/rules?family=%c", fam);
}

/* "CHAIN N": DELETE /api/firewall/rules/CHAIN/N; "CHAIN RULE...": DELETE
 * /api/firewall/rules {"chain", "rule"}, the first rule with that text. */
static int
call_rule_delete(struct call *c, char fam, const char *p)
{
	const char *chain, *num, *rule;
	size_t chain_len = word_next(&p, &chain);
	size_t num_len;
	char *esc;
	int rc;

	rule = p;
	num_len = word_next(&p, &num);
	if (*p != '\0' || !is_count(num, num_len)) {
		if ((rc = call_json(c, "DELETE", rule_json(chain, chain_len,
		    rule, NULL))) != 0)
			return rc;
		return call_path(c, "/api/firewall/rules?family=%c", fam);
	}
	if ((esc = curl_easy_escape(NULL, chain, (int)chain_len)) == NULL)
		return remote_err(EXIT_USAGE, "out of memory");
	c->method = "DELETE";
	rc = call_path(c, "/api/firewall/rules/%s/%.*s?family=%c", esc,
	    (int)num_len, num, fam);
	curl_free(esc);
	return rc;
}

/* "firewall SUB -4|-6 ...", as hexctl.c writes it. */
static int
call_firewall(struct call *c, const char *line, const char *body,
    size_t body_len, bool json_out)
{
	const char *p = line + strlen("firewall "), *sub, *famw;
	size_t sub_len = word_next(&p, &sub);
	char fam;

	word_next(&p, &famw);
	fam = family_of(famw);
	if (sub_len == 4 && strncmp(sub, "save", 4) == 0)
		return call_path(c, "/api/firewall/rules?family=%c%s", fam,
		    json_out ? "" : "&format=text");
	if (sub_len == 7 && strncmp(sub, "restore", 7) == 0) {
		c->method = "PUT";
		c->body = body;
		c->body_len = body_len;
		c->content_type = "text/plain; charset=utf-8";
		return call_path(c, "/api/firewall/rules?family=%c", fam);
	}
	if (sub_len == 3 && strncmp(sub, "add", 3) == 0)
		return call_rule_post(c, fam, p, false);
	if (sub_len == 6 && strncmp(sub, "insert", 6) == 0)
		return call_rule_post(c, fam, p, true);
	if (sub_len == 6 && strncmp(sub, "delete", 6) == 0)
		return call_rule_delete(c, fam, p);
	return remote_err(EXIT_USAGE, "\"%s\": the API has no route for this "
	    "(see hexctl --help)", line);
}

/* config show [N] | versions | diff [A B] | rollback N */
static int
call_config(struct call *c, const char *line)
{
	const char *p = line + strlen("config "), *sub, *a, *b;
	size_t sub_len = word_next(&p, &sub);
	size_t a_len = word_next(&p, &a), b_len = word_next(&p, &b);
	bool args_ok = *p == '\0' && (a_len == 0 || is_count(a, a_len)) &&
	    (b_len == 0 || is_count(b, b_len));

	if (sub_len == 4 && strncmp(sub, "show", 4) == 0 && args_ok &&
	    b_len == 0) {
		if (a_len == 0)
			return call_path(c, "/api/config");
		return call_path(c, "/api/config/versions/%.*s", (int)a_len, a);
	}
	if (sub_len == 8 && strncmp(sub, "versions", 8) == 0 && a_len == 0)
		return call_path(c, "/api/config/versions");
	if (sub_len == 4 && strncmp(sub, "diff", 4) == 0 && args_ok &&
	    (a_len == 0) == (b_len == 0)) {
		if (a_len == 0)
			return call_path(c, "/api/config/diff");
		return call_path(c, "/api/config/diff?a=%.*s&b=%.*s",
		    (int)a_len, a, (int)b_len, b);
	}
	if (sub_len == 8 && strncmp(sub, "rollback", 8) == 0 && args_ok &&
	    a_len > 0 && b_len == 0) {
		if (asprintf(&c->owned, "{\"version\":%.*s}", (int)a_len,
		    a) < 0) {
			c->owned = NULL;
			return remote_err(EXIT_USAGE, "out of memory");
		}
		c->method = "POST";
		c->body = c->owned;
		c->body_len = strlen(c->owned);
		c->content_type = "application/json";
		return call_path(c, "/api/config/rollback");
	}
	return remote_err(EXIT_USAGE, "\"%s\": usage: config show [N], config "
	    "versions, config diff [A B], config rollback N (version numbers "
	    "from 1)", line);
}

/* "sets add|del SET ELEM...": POST or DELETE
 * /api/firewall/fwsets/SET/entries {"entry": "ELEM..."}. */
static int
call_set_entry(struct call *c, const char *line)
{
	const char *p = line + strlen("sets "), *sub, *name;
	size_t name_len;
	char *esc;
	int rc;

	word_next(&p, &sub);
	name_len = word_next(&p, &name);
	if ((rc = call_json(c, sub[0] == 'a' ? "POST" : "DELETE",
	    json_pack("{s:s}", "entry", p))) != 0)
		return rc;
	if ((esc = curl_easy_escape(NULL, name, (int)name_len)) == NULL)
		return remote_err(EXIT_USAGE, "out of memory");
	rc = call_path(c, "/api/firewall/fwsets/%s/entries", esc);
	curl_free(esc);
	return rc;
}

static const struct {
	const char *line;
	const char *path;
} gets[] = {
	{ "show version", "/api/status/system" },
	{ "show interfaces", "/api/interfaces" },
	{ "show routes", "/api/routes" },
	{ "show neighbors", "/api/neighbors" },
	{ "show firewall", "/api/firewall" },
	{ "show conntrack", "/api/conntrack" },
	{ "nat show", "/api/nat" },
	{ "sets save", "/api/firewall/fwsets" },
};

/* The route for line; 0, or an exit status after saying why. */
static int
call_build(struct call *c, const char *line, const char *body,
    size_t body_len, bool json_out)
{
	c->method = "GET";
	for (size_t i = 0; i < HG_ARRAY_SIZE(gets); i++)
		if (strcmp(line, gets[i].line) == 0)
			return call_path(c, "%s", gets[i].path);
	if (line_is(line, "firewall"))
		return call_firewall(c, line, body, body_len, json_out);
	if (line_is(line, "config"))
		return call_config(c, line);
	if (line_is(line, "sets restore")) {
		c->method = "PUT";
		c->body = body;
		c->body_len = body_len;
		c->content_type = "text/plain; charset=utf-8";
		return call_path(c, "/api/firewall/fwsets");
	}
	if (line_is(line, "sets add") || line_is(line, "sets del"))
		return call_set_entry(c, line);
	if (strcmp(line, "reload") == 0) {
		/* An empty body: a Content-Length, as POSTs have. */
		c->method = "POST";
		c->body = "";
		return call_path(c, "/api/reload");
	}
	return remote_err(EXIT_USAGE, "\"%s\": the API has no route for this "
	    "yet; use the control socket (-s) for it", line);
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

/* Prints the located errors, then the message: {"error": {...}}. */
static void
error_print(long http, const json_t *resp)
{
	const json_t *err = json_object_get(resp, "error"), *e;
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *code = json_string_value(json_object_get(err, "code"));
	size_t i;

	json_array_foreach(json_object_get(err, "errors"), i, e) {
		const char *s = json_string_value(e);
		size_t n = s != NULL ? strlen(s) : 0;

		if (n == 0)
			continue;
		fputs(s, stderr);
		if (s[n - 1] != '\n')
			fputc('\n', stderr);
	}
	fprintf(stderr, "hexctl: %s (%ld%s%s)\n",
	    msg != NULL ? msg : "the server refused the request", http,
	    code != NULL ? " " : "", code != NULL ? code : "");
}

/* The reply: JSON, or text (a save, a diff) as {"text": ...}. */
static json_t *
answer_json(const struct answer *a, const char *ctype)
{
	json_error_t jerr;

	if (ctype != NULL && strncasecmp(ctype, "application/json", 16) == 0)
		return json_loadb(a->buf != NULL ? a->buf : "", a->len, 0,
		    &jerr);
	return json_pack("{s:s%}", "text", a->buf != NULL ? a->buf : "",
	    a->len);
}

static int
answer_print(const char *url, const char *line, long http, json_t *resp,
    bool json_out)
{
	int status = 0;

	if (resp == NULL || !json_is_object(resp))
		return remote_err(EXIT_SERVER, "%s: HTTP %ld, and the answer is "
		    "not a JSON object", url, http);
	if (json_out) {
		if (json_dumpf(resp, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
	}
	if (http < 200 || http > 299) {
		fflush(stdout);
		error_print(http, resp);
		status = EXIT_SERVER;
	} else if (!json_out && cli_render(line, resp, stdout) < 0)
		status = EXIT_SERVER;
	if (fflush(stdout) != 0 || ferror(stdout))
		status = remote_err(EXIT_SERVER, "stdout: %s", strerror(errno));
	return status;
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

/* One exchange with the server; its answer printed.  An exit status. */
static int
exchange(const struct cli_remote *r, const struct call *c, const char *line,
    bool json_out, const char *token, const char *password)
{
	char errbuf[CURL_ERROR_SIZE] = "", *full = NULL, *ctype = NULL;
	struct answer a = { 0 };
	struct curl_slist *hdrs = NULL;
	json_t *resp;
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
	resp = answer_json(&a, ctype);
	status = answer_print(full, line, http, resp, json_out);
	json_decref(resp);
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
cli_remote_run(const struct cli_remote *r, const char *line,
    const char *body, size_t body_len, bool json_out)
{
	struct call c = { 0 };
	char *token = NULL, *password = NULL;
	FILE *f;
	int status;

	if ((status = call_build(&c, line, body, body_len, json_out)) != 0)
		goto out;
	/* Said here, not as curl's "error setting certificate file". */
	if (r->cacert != NULL) {
		if ((f = fopen(r->cacert, "re")) == NULL) {
			status = remote_err(EXIT_USAGE, "--cacert %s: %s",
			    r->cacert, strerror(errno));
			goto out;
		}
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
	/* The JSON answer (json_out) of a save is the {"text"} object. */
	status = exchange(r, &c, line, json_out, token, password);
	curl_global_cleanup();
out:
	secret_free(token);
	secret_free(password);
	free(c.owned);
	return status;
}
