/*
 * src/mgmt/api_tls.c: the API's TLS side (OpenSSL 3).  The certificate is
 * either the user's own (cert_file/key_file: loaded, never touched) or
 * ours: a local CA made at first start (ca.crt, ca.key) signs a server
 * certificate (api.crt, api.key) that names what a client may call the
 * appliance: hexgate, localhost, the loopbacks, the host name, a specific
 * listen address and the caller's names (hexgated: the configured
 * addresses).  When those change, at start or through hg_api_set_names(),
 * the same CA signs a new server certificate, so a client that pinned
 * ca.crt goes on trusting the appliance.  All keys are EC P-256.
 *
 * Also here: the SSL_CTX (TLS 1.2 and later, forward secret AEAD suites
 * only) and the bufferevent every evhttp connection gets.  The HTTP side
 * is api.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../lib/log.h"
#include "api_priv.h"

#define CA_DAYS		7300	/* 20 years: pinned, never renewed */
#define CERT_DAYS	3650	/* the server's; never past the CA's end */
#define CERT_RENEW_DAYS	30	/* a start this close to its end re-issues */
/* The SAN extension of this many names is about 40 KiB of DER, and every
 * handshake carries it: hexgated's 64 interfaces of 16 addresses fit. */
#define TLS_NAMES_MAX	1100
#define DNS_NAME_MAX	253	/* RFC 1035 §2.3.4, no final dot */
#define DNS_LABEL_MAX	63

/* What a certificate names: "DNS:name" (lower case) or "IP:addr" (as
 * inet_ntop writes it), sorted and unique, so two sets compare as lists. */
struct tls_names {
	char **v;
	size_t n;
	size_t cap;
};

/* Our own certificates; NULL in api->tls when the user gave theirs. */
struct api_tls {
	char *state_dir;
	char *listen_addr;		/* NULL: any address */
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *key;			/* the server's; kept across issues */
	X509 *cert;			/* what new connections get */
};

/* err gets what, then OpenSSL's reason for the last failure. */
static int
tls_err(char *err, size_t err_len, const char *what)
{
	char reason[256] = "unknown OpenSSL error";
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, err_len, "%s: %s", what, reason);
	return -EINVAL;
}

/* --- names --- */

static void
names_free(struct tls_names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
names_push(struct tls_names *s, const char *type, const char *value)
{
	char **nv;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		if ((nv = reallocarray(s->v, cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	if (asprintf(&s->v[s->n], "%s%s", type, value) < 0)
		return -ENOMEM;
	s->n++;
	return 0;
}

/* A host name as RFC 1123 §2.1 allows: letters, digits and inner hyphens,
 * labels of 1 to 63 bytes. */
static bool
dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		if (s[i] == '-' && label == 0)
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return label != 0 && s[len - 1] != '-';
}

/* A DNS name, in lower case: DNS compares names without case. */
static int
names_add_dns(struct tls_names *s, const char *name)
{
	char dns[DNS_NAME_MAX + 1];
	size_t i;

	if (!dns_name_ok(name))
		return -EINVAL;
	for (i = 0; name[i] != '\0'; i++)
		dns[i] = (char)tolower((unsigned char)name[i]);
	dns[i] = '\0';
	return names_push(s, "DNS:", dns);
}

/* One name as text: an IPv4 or IPv6 address, or a DNS name. */
static int
names_add(struct tls_names *s, const char *name)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, name, a) == 1)
		return names_push(s, "IP:", inet_ntop(AF_INET, a, text,
		    sizeof(text)));
	if (inet_pton(AF_INET6, name, a) == 1)
		return names_push(s, "IP:", inet_ntop(AF_INET6, a, text,
		    sizeof(text)));
	return names_add_dns(s, name);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_sort(struct tls_names *s)
{
	size_t i, j;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), name_cmp);
	for (i = 1, j = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[j - 1]) == 0)
			free(s->v[i]);
		else
			s->v[j++] = s->v[i];
	}
	s->n = j;
}

static bool
names_equal(const struct tls_names *a, const struct tls_names *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* "DNS:hexgate,IP:10.0.1.1,...", cut short to fit out, for the log. */
static const char *
names_join(const struct tls_names *s, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		    i ? "," : "", s->v[i]);
	if (off >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
	return out;
}

/* The address given to listen on, when it is one address. */
static bool
listen_is_specific(const char *a)
{
	return a != NULL && strcmp(a, "0.0.0.0") != 0 && strcmp(a, "::") != 0;
}

/*
 * What the server certificate must name: the defaults, the host name, a
 * specific listen address and the caller's names.  A bad caller's name is
 * an error naming it; a host name that is no DNS name (an underscore) is
 * left out: clients could not ask for it anyway.
 */
static int
names_want(const struct api_tls *t, const char *const *names, size_t n,
    struct tls_names *s, char *err, size_t err_len)
{
	static const char *const defaults[] = { "hexgate", "localhost",
	    "127.0.0.1", "::1" };
	char host[256];
	int rc = 0;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; rc == 0 && i < HG_ARRAY_SIZE(defaults); i++)
		rc = names_add(s, defaults[i]);
	if (rc == 0 && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if ((rc = names_add(s, host)) == -EINVAL) {
			hg_log_debug("api: host name \"%s\" is no DNS name; "
			    "the certificate leaves it out", host);
			rc = 0;
		}
	}
	if (rc == 0 && listen_is_specific(t->listen_addr) &&
	    (rc = names_add(s, t->listen_addr)) == -EINVAL)
		snprintf(err, err_len, "listen address \"%s\" is neither an "
		    "IP address nor a DNS name", t->listen_addr);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((rc = names_add(s, names[i])) == -EINVAL)
			snprintf(err, err_len, "names[%zu]: \"%.*s\" is "
			    "neither an IP address nor a DNS name", i,
			    DNS_NAME_MAX, names[i]);
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (rc == 0) {
		names_sort(s);
		if (s->n > TLS_NAMES_MAX) {
			snprintf(err, err_len, "%zu names; a certificate holds "
			    "at most %d", s->n, TLS_NAMES_MAX);
			rc = -E2BIG;
		}
	}
	if (rc != 0)
		names_free(s);
	return rc;
}

/* One name of a certificate; a kind we never issue counts as "?", so
 * that a certificate holding one differs from every set we want. */
static int
names_add_general(struct tls_names *s, const GENERAL_NAME *g)
{
	char text[INET6_ADDRSTRLEN], dns[DNS_NAME_MAX + 1];
	const unsigned char *d;
	int len, rc = -EINVAL;

	if (g->type == GEN_DNS) {
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len > 0 && len <= DNS_NAME_MAX &&
		    memchr(d, '\0', (size_t)len) == NULL) {
			memcpy(dns, d, (size_t)len);
			dns[len] = '\0';
			rc = names_add_dns(s, dns);
		}
	} else if (g->type == GEN_IPADD) {
		d = ASN1_STRING_get0_data(g->d.iPAddress);
		len = ASN1_STRING_length(g->d.iPAddress);
		if (len == 4 || len == 16)
			rc = names_push(s, "IP:", inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, d, text, sizeof(text)));
	}
	return rc == -EINVAL ? names_push(s, "?", "") : rc;
}

/* The names x holds in its subjectAltName. */
static int
names_of_cert(X509 *x, struct tls_names *s)
{
	GENERAL_NAMES *gens;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; rc == 0 && i < sk_GENERAL_NAME_num(gens); i++)
		rc = names_add_general(s, sk_GENERAL_NAME_value(gens, i));
	GENERAL_NAMES_free(gens);
	if (rc != 0)
		names_free(s);
	else
		names_sort(s);
	return rc;
}

/* The subjectAltName extension holding s. */
static int
names_to_cert(X509 *x, const struct tls_names *s)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = NULL;
	int rc = -ENOMEM;

	if (gens == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const char *v = s->v[i];
		ASN1_STRING *str;

		if ((g = GENERAL_NAME_new()) == NULL)
			goto out;
		if (strncmp(v, "IP:", 3) == 0) {
			if ((str = a2i_IPADDRESS(v + 3)) == NULL)
				goto out;
			GENERAL_NAME_set0_value(g, GEN_IPADD, str);
		} else {
			if ((str = ASN1_IA5STRING_new()) == NULL ||
			    !ASN1_STRING_set(str, v + 4, -1)) {
				ASN1_IA5STRING_free(str);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, str);
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			goto out;
		g = NULL;
	}
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -ENOMEM;
out:
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* --- certificates --- */

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

/* A certificate for key with subject CN=cn, valid for days; not signed. */
static X509 *
cert_begin(EVP_PKEY *key, const char *cn, long days)
{
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	/* A random positive serial (RFC 5280 §4.1.2.2: at most 20 bytes):
	 * the CA issues again and again, and serials must not repeat. */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    /* an hour back for clients whose clocks run behind */
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* The local CA: self-signed, may sign server certificates and no CAs. */
static X509 *
ca_make(EVP_PKEY *key)
{
	char host[64], cn[80];
	X509 *x;

	/* The host in the CN tells one appliance's CA from another's in a
	 * client's trust store; a CN holds at most 64 characters. */
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	snprintf(cn, sizeof(cn), "hexgate CA%s%s", host[0] ? " on " : "",
	    host);
	cn[64] = '\0';
	if ((x = cert_begin(key, cn, CA_DAYS)) == NULL)
		return NULL;
	if (!X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    add_ext(x, x, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Days from now to the end of x's validity (negative: past it). */
static int
days_left(const X509 *x)
{
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
		return 0;
	return days;
}

/* The server certificate for s, signed by the CA. */
static X509 *
leaf_make(const struct api_tls *t, const struct tls_names *s)
{
	long days = HG_MIN(CERT_DAYS, days_left(t->ca));
	X509 *x;

	if (days < 1)
		days = 1;	/* the CA's end; leaf_is_stale() says so */
	if ((x = cert_begin(t->key, "hexgate", days)) == NULL)
		return NULL;
	/* CA:FALSE: clients refuse a CA certificate used as a server's. */
	if (!X509_set_issuer_name(x, X509_get_subject_name(t->ca)) ||
	    add_ext(x, t->ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, t->ca, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, t->ca, NID_ext_key_usage, "serverAuth") ||
	    add_ext(x, t->ca, NID_subject_key_identifier, "hash") ||
	    add_ext(x, t->ca, NID_authority_key_identifier, "keyid:always") ||
	    names_to_cert(x, s) != 0 ||
	    X509_sign(x, t->ca_key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Why x may not serve as the server certificate for want; NULL: it may. */
static const char *
leaf_is_stale(const struct api_tls *t, X509 *x, const struct tls_names *want)
{
	struct tls_names have;
	EVP_PKEY *ca_pub = X509_get0_pubkey(t->ca);
	bool same;

	if (X509_check_private_key(x, t->key) != 1) {
		ERR_clear_error();
		return "its key is not " HG_API_KEY_FILE;
	}
	if (X509_check_issued(t->ca, x) != X509_V_OK || ca_pub == NULL ||
	    X509_verify(x, ca_pub) != 1) {
		ERR_clear_error();
		return "the local CA did not sign it";
	}
	if (days_left(x) < CERT_RENEW_DAYS)
		return "it expires within 30 days";
	if (names_of_cert(x, &have) != 0)
		return "its names cannot be read";
	same = names_equal(&have, want);
	names_free(&have);
	return same ? NULL : "the names changed";
}

/* --- files --- */

/* PEM text of key, or of x and then x2 (a chain), into the state dir. */
static int
pem_save(const char *dir, const char *name, EVP_PKEY *key, X509 *x, X509 *x2,
    char *err, size_t err_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -ENOMEM, ok;

	if (bio == NULL)
		return tls_err(err, err_len, "BIO_new");
	if (key != NULL)
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
		    NULL);
	else
		ok = PEM_write_bio_X509(bio, x) &&
		    (x2 == NULL || PEM_write_bio_X509(bio, x2));
	if (ok && (len = BIO_get_mem_data(bio, &data)) > 0)
		rc = api_file_write(dir, name, data, (size_t)len, err, err_len);
	else
		rc = tls_err(err, err_len, "PEM_write");
	/* the mem BIO held the private key: wipe it before it is freed */
	if ((len = BIO_get_mem_data(bio, &data)) > 0)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return rc;
}

/* Never prompts on a terminal: our keys have no passphrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* The key (key != NULL) or the first certificate of dir/name. */
static int
pem_load(const char *dir, const char *name, EVP_PKEY **key, X509 **x,
    char *err, size_t err_len)
{
	char path[512];
	BIO *bio;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((bio = BIO_new_file(path, "r")) == NULL)
		return tls_err(err, err_len, path);
	if (key != NULL)
		*key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		*x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key != NULL ? *key == NULL : *x == NULL)
		return tls_err(err, err_len, path);
	return 0;
}

/* A new P-256 key, saved as name (key first: a certificate on disk then
 * always has its key). */
static int
key_make(const char *dir, const char *name, EVP_PKEY **key, char *err,
    size_t err_len)
{
	int rc;

	if ((*key = EVP_EC_gen("P-256")) == NULL)
		return tls_err(err, err_len, "EC P-256 key generation");
	if ((rc = pem_save(dir, name, *key, NULL, NULL, err, err_len)) != 0) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	return rc;
}

/*
 * The local CA: loaded, or made when neither file is there.  One of them
 * alone means the pair was lost: a new CA, loudly, since every client
 * that pinned the old ca.crt must fetch the new one.  A CA that cannot be
 * loaded is an error: replacing it quietly would break those clients.
 */
static int
ca_setup(struct api_tls *t, char *err, size_t err_len)
{
	const char *dir = t->state_dir;
	bool have_crt = api_file_exists(dir, HG_API_CA_FILE);
	bool have_key = api_file_exists(dir, HG_API_CA_KEY_FILE);
	int rc;

	if (have_crt && have_key) {
		if ((rc = pem_load(dir, HG_API_CA_KEY_FILE, &t->ca_key, NULL,
		    err, err_len)) != 0 ||
		    (rc = pem_load(dir, HG_API_CA_FILE, NULL, &t->ca, err,
		    err_len)) != 0)
			return rc;
		if (X509_check_private_key(t->ca, t->ca_key) != 1 ||
		    X509_check_ca(t->ca) == 0) {
			ERR_clear_error();
			snprintf(err, err_len, "%s/%s is not the CA of %s: "
			    "move both away to make a new CA (clients must "
			    "then pin the new %s)", dir, HG_API_CA_FILE,
			    HG_API_CA_KEY_FILE, HG_API_CA_FILE);
			return -EINVAL;
		}
		return 0;
	}
	if (have_crt || have_key)
		hg_log_warnx("api: %s/%s or %s is missing; making a new local "
		    "CA: clients must pin the new %s", dir, HG_API_CA_FILE,
		    HG_API_CA_KEY_FILE, HG_API_CA_FILE);
	if ((rc = key_make(dir, HG_API_CA_KEY_FILE, &t->ca_key, err,
	    err_len)) != 0)
		return rc;
	if ((t->ca = ca_make(t->ca_key)) == NULL)
		return tls_err(err, err_len, "local CA certificate");
	if ((rc = pem_save(dir, HG_API_CA_FILE, NULL, t->ca, NULL, err,
	    err_len)) != 0)
		return rc;
	hg_log_info("api: made a local CA in %s/%s; clients pin it "
	    "(hexctl --cacert)", dir, HG_API_CA_FILE);
	return 0;
}

/* The server's key: loaded, or made when missing. */
static int
key_setup(struct api_tls *t, char *err, size_t err_len)
{
	if (!api_file_exists(t->state_dir, HG_API_KEY_FILE))
		return key_make(t->state_dir, HG_API_KEY_FILE, &t->key, err,
		    err_len);
	return pem_load(t->state_dir, HG_API_KEY_FILE, &t->key, NULL, err,
	    err_len);
}

/* A new server certificate for want, written as api.crt (itself, then
 * the CA: the chain the server sends), and kept in t. */
static int
leaf_issue(struct api_tls *t, const struct tls_names *want, char *err,
    size_t err_len)
{
	char list[512];
	X509 *x;
	int rc;

	if ((x = leaf_make(t, want)) == NULL)
		return tls_err(err, err_len, "server certificate");
	if ((rc = pem_save(t->state_dir, HG_API_CERT_FILE, NULL, x, t->ca,
	    err, err_len)) != 0) {
		X509_free(x);
		return rc;
	}
	X509_free(t->cert);
	t->cert = x;
	hg_log_info("api: issued %s/%s for %s, signed by %s", t->state_dir,
	    HG_API_CERT_FILE, names_join(want, list, sizeof(list)),
	    HG_API_CA_FILE);
	return 0;
}

/* The server certificate on disk, or a new one when it will not do. */
static int
leaf_setup(struct api_tls *t, const struct tls_names *want, char *err,
    size_t err_len)
{
	const char *why;
	X509 *x = NULL;

	if (!api_file_exists(t->state_dir, HG_API_CERT_FILE))
		why = NULL;
	else if (pem_load(t->state_dir, HG_API_CERT_FILE, NULL, &x, err,
	    err_len) != 0)
		why = "it does not parse";
	else if ((why = leaf_is_stale(t, x, want)) == NULL) {
		t->cert = x;
		return 0;
	}
	X509_free(x);
	if (why != NULL)
		hg_log_info("api: issuing %s/%s again: %s", t->state_dir,
		    HG_API_CERT_FILE, why);
	return leaf_issue(t, want, err, err_len);
}

/* New connections get t's certificate, with the CA as its chain. */
static int
tls_install(SSL_CTX *ctx, const struct api_tls *t, char *err, size_t err_len)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	int ok;

	/* the SSL_CTX takes its own references to the certificates */
	ok = chain != NULL && sk_X509_push(chain, t->ca) > 0 &&
	    SSL_CTX_use_cert_and_key(ctx, t->cert, t->key, chain, 1) == 1;
	sk_X509_free(chain);
	return ok ? 0 : tls_err(err, err_len, "server certificate");
}

static void
tls_state_free(struct api_tls *t)
{
	if (t == NULL)
		return;
	X509_free(t->cert);
	X509_free(t->ca);
	EVP_PKEY_free(t->key);
	EVP_PKEY_free(t->ca_key);
	free(t->state_dir);
	free(t->listen_addr);
	free(t);
}

static int
ours_setup(struct hg_api *api, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	struct tls_names want = { 0 };
	struct api_tls *t;
	int rc;

	if ((t = api->tls = calloc(1, sizeof(*t))) == NULL ||
	    (t->state_dir = strdup(p->state_dir)) == NULL ||
	    (listen_is_specific(p->listen_addr) &&
	    (t->listen_addr = strdup(p->listen_addr)) == NULL)) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if ((rc = names_want(t, p->names, p->n_names, &want, err,
	    err_len)) != 0)
		return rc;
	if ((rc = ca_setup(t, err, err_len)) == 0 &&
	    (rc = key_setup(t, err, err_len)) == 0 &&
	    (rc = leaf_setup(t, &want, err, err_len)) == 0)
		rc = tls_install(api->ssl, t, err, err_len);
	names_free(&want);
	return rc;
}

/* The user's pair, as given. */
static int
cert_load(SSL_CTX *ctx, const char *cert, const char *key, char *err,
    size_t err_len)
{
	char what[600];

	snprintf(what, sizeof(what), "%s", cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return tls_err(err, err_len, what);
	snprintf(what, sizeof(what), "%s", key);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return tls_err(err, err_len, what);
	snprintf(what, sizeof(what), "%s and %s do not match", cert, key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_err(err, err_len, what);
	return 0;
}

static int
cert_setup(struct hg_api *api, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	if ((p->cert_file == NULL) != (p->key_file == NULL)) {
		snprintf(err, err_len, "a certificate file needs its key file "
		    "and the other way round");
		return -EINVAL;
	}
	if (p->cert_file != NULL)
		return cert_load(api->ssl, p->cert_file, p->key_file, err,
		    err_len);
	return ours_setup(api, p, err, err_len);
}

int
hg_api_set_names(struct hg_api *api, const char *const *names, size_t n,
    char *err, size_t err_len)
{
	struct api_tls *t = api->tls;
	struct tls_names want, have;
	X509 *old;
	bool same;
	int rc;

	if (t == NULL)
		return 0;	/* the user's certificate: theirs to renew */
	if ((rc = names_want(t, names, n, &want, err, err_len)) != 0)
		return rc;
	if ((rc = names_of_cert(t->cert, &have)) != 0) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	same = names_equal(&have, &want);
	names_free(&have);
	if (same)
		goto out;
	/* Keep the old one until the new one is in the SSL_CTX: a failure
	 * leaves the running certificate (and a newer api.crt, which the
	 * next start checks again). */
	if ((old = X509_dup(t->cert)) == NULL) {
		rc = tls_err(err, err_len, "X509_dup");
		goto out;
	}
	if ((rc = leaf_issue(t, &want, err, err_len)) == 0 &&
	    (rc = tls_install(api->ssl, t, err, err_len)) != 0) {
		X509_free(t->cert);
		t->cert = old;
		old = NULL;
	}
	X509_free(old);
out:
	names_free(&want);
	return rc;
}

/*
 * evhttp calls this for every accepted connection.  evhttp 2.1 falls back
 * to a plain socket when it gets NULL, which would put passwords on the
 * wire in clear; there is no way to refuse the connection here, so failing
 * to allocate a TLS session is fatal rather than silently insecure.
 * SSL_new() copies the SSL_CTX's certificate: a connection keeps the one
 * it started with when hg_api_set_names() installs another.
 */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct hg_api *api = arg;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(api->ssl)) == NULL)
		hg_fatalx("api: out of memory for a TLS session");
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		hg_fatalx("api: out of memory for a TLS connection");
	/* Clients that just close the socket are common, not errors. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	api_conn_follow(api, bev, ssl);
	return bev;
}

int
api_tls_init(struct hg_api *api, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	int rc;

	api->ssl = SSL_CTX_new(TLS_server_method());
	if (api->ssl == NULL)
		return tls_err(err, err_len, "SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(api->ssl, TLS1_2_VERSION) != 1)
		return tls_err(err, err_len, "TLS 1.2 minimum");
	SSL_CTX_set_options(api->ssl, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* TLS 1.2 suites; 1.3's are all AEAD with ECDHE already. */
	if (SSL_CTX_set_cipher_list(api->ssl,
	    "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
		return tls_err(err, err_len, "cipher list");
	if ((rc = cert_setup(api, p, err, err_len)) != 0)
		return rc;
	evhttp_set_bevcb(api->http, tls_bev, api);
	return 0;
}

void
api_tls_free(struct hg_api *api)
{
	SSL_CTX_free(api->ssl);
	api->ssl = NULL;
	tls_state_free(api->tls);
	api->tls = NULL;
}
