/*
 * src/mgmt/api_tls.c: the API's TLS side (OpenSSL 3): the certificate,
 * either the user's own or a self-signed EC P-256 one made at first start
 * and kept in the state directory, the SSL_CTX (TLS 1.2 and later, forward
 * secret AEAD suites only) and the bufferevent every evhttp connection
 * gets.  The HTTP side is api.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

#define CERT_DAYS	3650	/* self-signed: nobody renews it for us */
#define CERT_PEM_MAX	(64u << 10)

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

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

/* "DNS:hexgate,...": what a client may call the appliance by default. */
static void
default_san(const char *listen_addr, char *out, size_t len)
{
	unsigned char a[16];
	int n;

	n = snprintf(out, len, "DNS:hexgate,DNS:localhost,IP:127.0.0.1,IP:::1");
	if (listen_addr == NULL || strcmp(listen_addr, "0.0.0.0") == 0 ||
	    strcmp(listen_addr, "::") == 0 ||
	    strcmp(listen_addr, "127.0.0.1") == 0 ||
	    strcmp(listen_addr, "::1") == 0)
		return;
	if (inet_pton(AF_INET, listen_addr, a) == 1 ||
	    inet_pton(AF_INET6, listen_addr, a) == 1)
		snprintf(out + n, len - (size_t)n, ",IP:%s", listen_addr);
	else
		snprintf(out + n, len - (size_t)n, ",DNS:%s", listen_addr);
}

static X509 *
cert_make(EVP_PKEY *key, const char *san)
{
	unsigned char serial[16];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	/* A random positive serial (RFC 5280 §4.1.2.2: at most 20 bytes). */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    /* an hour back for clients whose clocks run behind */
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) ==
	    NULL || !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"hexgate", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	/* CA:FALSE: browsers refuse a CA certificate used as a server's. */
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") != 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(x, NID_subject_alt_name, san) != 0)
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* PEM text of the key or the certificate, into the state directory. */
static int
pem_save(const char *dir, const char *name, EVP_PKEY *key, X509 *x,
    char *err, size_t err_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -ENOMEM, ok;

	if (bio == NULL)
		return tls_err(err, err_len, "BIO_new");
	ok = key != NULL ?
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_X509(bio, x);
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

static int
cert_generate(const struct hg_api_params *p, char *err, size_t err_len)
{
	char san[512];
	EVP_PKEY *key;
	X509 *x = NULL;
	int rc;

	if (p->cert_san != NULL)
		snprintf(san, sizeof(san), "%s", p->cert_san);
	else
		default_san(p->listen_addr, san, sizeof(san));
	if ((key = EVP_EC_gen("P-256")) == NULL)
		return tls_err(err, err_len, "EC P-256 key generation");
	if ((x = cert_make(key, san)) == NULL) {
		rc = tls_err(err, err_len, "self-signed certificate");
		goto out;
	}
	/* The key first: a certificate on disk means both are complete. */
	rc = pem_save(p->state_dir, HG_API_KEY_FILE, key, NULL, err, err_len);
	if (rc == 0)
		rc = pem_save(p->state_dir, HG_API_CERT_FILE, NULL, x, err,
		    err_len);
	if (rc == 0)
		hg_log_info("api: made a self-signed certificate (%s) in "
		    "%s/%s", san, p->state_dir, HG_API_CERT_FILE);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

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

/* The user's pair, or ours: made when either file is missing. */
static int
cert_setup(SSL_CTX *ctx, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	char cert[512], key[512];
	bool have_cert, have_key;
	int rc;

	if ((p->cert_file == NULL) != (p->key_file == NULL)) {
		snprintf(err, err_len, "a certificate file needs its key file "
		    "and the other way round");
		return -EINVAL;
	}
	if (p->cert_file != NULL)
		return cert_load(ctx, p->cert_file, p->key_file, err, err_len);
	have_cert = api_file_exists(p->state_dir, HG_API_CERT_FILE);
	have_key = api_file_exists(p->state_dir, HG_API_KEY_FILE);
	if (!have_cert || !have_key) {
		if (have_cert || have_key)
			hg_log_warnx("api: %s/%s or %s is missing; making a "
			    "new certificate and key", p->state_dir,
			    HG_API_CERT_FILE, HG_API_KEY_FILE);
		if ((rc = cert_generate(p, err, err_len)) != 0)
			return rc;
	}
	snprintf(cert, sizeof(cert), "%s/%s", p->state_dir, HG_API_CERT_FILE);
	snprintf(key, sizeof(key), "%s/%s", p->state_dir, HG_API_KEY_FILE);
	return cert_load(ctx, cert, key, err, err_len);
}

/*
 * evhttp calls this for every accepted connection.  evhttp 2.1 falls back
 * to a plain socket when it gets NULL, which would put passwords on the
 * wire in clear; there is no way to refuse the connection here, so failing
 * to allocate a TLS session is fatal rather than silently insecure.
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
	if ((rc = cert_setup(api->ssl, p, err, err_len)) != 0)
		return rc;
	evhttp_set_bevcb(api->http, tls_bev, api);
	return 0;
}

void
api_tls_free(struct hg_api *api)
{
	SSL_CTX_free(api->ssl);
	api->ssl = NULL;
}
