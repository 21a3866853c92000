/*
 * src/cli/remote_tls.c: why hexctl does not trust the API's certificate
 * (see remote_tls.h).  curl's own message says one check failed; the user
 * needs the names the certificate has and whether the CA is the problem,
 * since the cure differs: pin the appliance's ca.crt, or ask for a name
 * the certificate has.
 *
 * The certificate is read with libcurl's certificate information
 * (CURLOPT_CERTINFO), not OpenSSL: hexctl links libcurl alone, and curl
 * gathers the information only for a handshake it lets finish, hence the
 * second, unchecked handshake.  It is CONNECT_ONLY: no request, no
 * credentials, and nothing it reads is trusted for more than these lines.
 * The rest of the transport is remote.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "remote_tls.h"

#define PROBE_TIMEOUT_S		10
#define SAN_KEY			"X509v3 Subject Alternative Name:"
#define ISSUER_KEY		"Issuer:"
#define NAMES_TEXT_MAX		1024	/* of the names, shown */
#define ISSUER_TEXT_MAX		256

/* --- reading the names (untrusted text) --- */

/* One byte of out, past *off; keeps the last 4 bytes for "...". */
static void
out_put(char *out, size_t out_len, size_t *off, char c, bool *cut)
{
	if (*cut)
		return;
	if (*off + 4 >= out_len) {
		if (out_len >= 4)
			memcpy(out + out_len - 4, "...", 4);
		*cut = true;
		return;
	}
	out[(*off)++] = isprint((unsigned char)c) ? c : '?';
	out[*off] = '\0';
}

static void
out_puts(char *out, size_t out_len, size_t *off, const char *s, size_t len,
    bool *cut)
{
	for (size_t i = 0; i < len; i++)
		out_put(out, out_len, off, s[i], cut);
}

/* in, printable, into out (the issuer's name). */
static void
text_clean(const char *in, char *out, size_t out_len)
{
	size_t off = 0;
	bool cut = false;

	if (out_len == 0)
		return;
	out[0] = '\0';
	out_puts(out, out_len, &off, in, strlen(in), &cut);
}

/* Whether the DNS name pattern (len bytes at p) stands for host.  An
 * address is matched only by an address entry (RFC 6125 §6.2.1), as curl
 * does. */
static bool
dns_matches(const char *p, size_t len, const char *host)
{
	size_t hlen = strlen(host);
	unsigned char a[16];
	const char *dot;

	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1)
		return false;
	if (len == hlen && strncasecmp(p, host, len) == 0)
		return true;
	/* "*.example": one whole label of host, never a dotless suffix */
	if (len < 3 || p[0] != '*' || p[1] != '.')
		return false;
	if ((dot = strchr(host, '.')) == NULL || dot == host)
		return false;
	return strlen(dot) == len - 1 && strncasecmp(dot, p + 1, len - 1) == 0;
}

/* Whether the address text (len bytes at p) is host's address. */
static bool
ip_matches(const char *p, size_t len, const char *host, char *canon,
    size_t canon_len)
{
	unsigned char a[16], h[16];
	char text[64];
	int af;

	if (len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	af = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, text, a) != 1)
		return false;
	/* OpenSSL writes IPv6 whole ("0:0:0:0:0:0:0:1"); show it short */
	inet_ntop(af, a, canon, (socklen_t)canon_len);
	return inet_pton(af, host, h) == 1 &&
	    memcmp(a, h, af == AF_INET ? 4 : 16) == 0;
}

/* One entry ("DNS:x", "IP Address:y", or another kind) into out. */
static bool
entry_add(const char *e, size_t len, const char *host, char *out,
    size_t out_len, size_t *off, bool *cut)
{
	static const char ip_key[] = "IP Address:", dns_key[] = "DNS:";
	char canon[64];
	bool named;

	if (len > sizeof(dns_key) - 1 &&
	    strncmp(e, dns_key, sizeof(dns_key) - 1) == 0) {
		out_puts(out, out_len, off, e, len, cut);
		return dns_matches(e + 4, len - 4, host);
	}
	if (len > sizeof(ip_key) - 1 &&
	    strncmp(e, ip_key, sizeof(ip_key) - 1) == 0) {
		e += sizeof(ip_key) - 1;
		len -= sizeof(ip_key) - 1;
		out_puts(out, out_len, off, "IP:", 3, cut);
		canon[0] = '\0';
		named = ip_matches(e, len, host, canon, sizeof(canon));
		if (canon[0] != '\0')
			out_puts(out, out_len, off, canon, strlen(canon), cut);
		else
			out_puts(out, out_len, off, e, len, cut);
		return named;
	}
	out_puts(out, out_len, off, e, len, cut);
	return false;
}

bool
remote_tls_names(const char *san, const char *host, char *out,
    size_t out_len)
{
	size_t off = 0, len;
	bool cut = false, named = false;

	if (out_len > 0)
		out[0] = '\0';
	while (*san != '\0') {
		while (*san == ' ' || *san == ',')
			san++;
		if (*san == '\0')
			break;
		/* a DNS name with ", " in it splits here too: only the
		 * display suffers, and no client would match it anyway */
		len = strcspn(san, ",");
		while (len > 0 && san[len - 1] == ' ')
			len--;
		if (off > 0)
			out_puts(out, out_len, &off, ", ", 2, &cut);
		if (entry_add(san, len, host, out, out_len, &off, &cut))
			named = true;
		san += len;
	}
	return named;
}

/* --- looking at the server's certificate --- */

/* A handle that only shakes hands with url's server. */
static CURL *
probe_new(const char *url)
{
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_OK;

	if (h == NULL)
		return NULL;
#define SET(opt, val)	do { if (cc == CURLE_OK) \
	cc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_CONNECT_ONLY, 1L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_TIMEOUT, (long)PROBE_TIMEOUT_S);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
#undef SET
	if (cc != CURLE_OK) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* The value of "key..." in the first certificate's information. */
static const char *
certinfo_get(const struct curl_certinfo *ci, const char *key)
{
	size_t klen = strlen(key);

	if (ci == NULL || ci->num_of_certs < 1)
		return NULL;
	for (const struct curl_slist *l = ci->certinfo[0]; l != NULL;
	    l = l->next)
		if (strncmp(l->data, key, klen) == 0)
			return l->data + klen;
	return NULL;
}

/*
 * The server's names (into names, whether one is host) and its issuer,
 * read without checking anything.  0, or curl's error.
 */
static CURLcode
probe_names(const char *url, const char *host, char *names, size_t len,
    bool *named, char *issuer, size_t issuer_len)
{
	struct curl_certinfo *ci = NULL;
	const char *v;
	CURL *h;
	CURLcode cc;

	names[0] = issuer[0] = '\0';
	*named = false;
	if ((h = probe_new(url)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if ((cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L)) ||
	    (cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L)) ||
	    (cc = curl_easy_setopt(h, CURLOPT_CERTINFO, 1L)) ||
	    (cc = curl_easy_perform(h)) ||
	    (cc = curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci)))
		goto out;
	if ((v = certinfo_get(ci, SAN_KEY)) != NULL)
		*named = remote_tls_names(v, host, names, len);
	else
		snprintf(names, len, "nothing (no subjectAltName)");
	if ((v = certinfo_get(ci, ISSUER_KEY)) != NULL)
		text_clean(v, issuer, issuer_len);
	if (ci == NULL || ci->num_of_certs < 1)
		cc = CURLE_PEER_FAILED_VERIFICATION;	/* nothing read */
out:
	curl_easy_cleanup(h);
	return cc;
}

/* Whether cacert (NULL: the system's CAs) vouches for the server's
 * certificate, its names aside. */
static bool
probe_ca(const char *url, const char *cacert)
{
	CURL *h = probe_new(url);
	CURLcode cc;

	if (h == NULL)
		return false;
	if ((cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L)) == 0 &&
	    (cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L)) == 0 &&
	    cacert != NULL)
		cc = curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	return cc == CURLE_OK;
}

/* The host of url, without an IPv6 address's brackets; free() it. */
static char *
url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *copy = NULL;
	size_t len;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		len = strlen(host);
		if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
			copy = strndup(host + 1, len - 2);
		else
			copy = strdup(host);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return copy;
}

static void
say_ca(const char *cacert, bool named, const char *host)
{
	if (cacert != NULL)
		fprintf(stderr, "hexctl: no CA in --cacert %s signed it%s%s%s; "
		    "pin the appliance's CA, STATE/ca.crt (%s by default), "
		    "which stays good when hexgated issues its certificate "
		    "again\n", cacert, named ? "" : ", and it does not name ",
		    named ? "" : host, named ? "" : " either",
		    REMOTE_TLS_CA_DEFAULT);
	else
		fprintf(stderr, "hexctl: no CA this system trusts signed it%s"
		    "%s%s; give the appliance's CA with --cacert STATE/ca.crt "
		    "(%s by default)\n", named ? "" : ", and it does not name ",
		    named ? "" : host, named ? "" : " either",
		    REMOTE_TLS_CA_DEFAULT);
}

void
remote_tls_explain(const char *url, const char *cacert, const char *errbuf)
{
	char names[NAMES_TEXT_MAX], issuer[ISSUER_TEXT_MAX];
	char *host = url_host(url);
	bool named = false, ca_ok;
	CURLcode cc;

	fprintf(stderr, "hexctl: %s: %s\n", url, errbuf[0] != '\0' ? errbuf :
	    curl_easy_strerror(CURLE_PEER_FAILED_VERIFICATION));
	cc = host == NULL ? CURLE_URL_MALFORMAT : probe_names(url, host,
	    names, sizeof(names), &named, issuer, sizeof(issuer));
	if (cc != CURLE_OK) {
		fprintf(stderr, "hexctl: (the server's certificate could not "
		    "be read: %s)\nhexctl: give the appliance's CA with "
		    "--cacert STATE/ca.crt (%s by default)\n",
		    curl_easy_strerror(cc), REMOTE_TLS_CA_DEFAULT);
		goto out;
	}
	fprintf(stderr, "hexctl: the server's certificate names %s%s%s%s; "
	    "this URL asks for %s\n", names, issuer[0] ? " (issued by " : "",
	    issuer, issuer[0] ? ")" : "", host);
	ca_ok = probe_ca(url, cacert);
	if (!ca_ok)
		say_ca(cacert, named, host);
	else if (!named)
		fprintf(stderr, "hexctl: it does not name %s: put one of its "
		    "names in --url; hexgated names its configured interface "
		    "addresses and its host name, and issues the certificate "
		    "again when they change (the same ca.crt verifies it)\n",
		    host);
	else
		fprintf(stderr, "hexctl: %s vouches for it and it names %s; "
		    "the reason above is curl's\n", cacert != NULL ? cacert :
		    "a CA this system trusts", host);
out:
	free(host);
}
