/*
 * tests/unit/ike/certgen.h: test certificates made at run time with
 * OpenSSL's API (nothing private is committed): keys, a CA, end-entity
 * certificates with a subject, SANs and validity dates of the test's
 * choosing, and their DER and PEM.  For test_cert.c and test_engine.c.
 */
#ifndef TEST_IKE_CERTGEN_H
#define TEST_IKE_CERTGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* A key: "RSA" (2048 bits), "P-256", "P-384" or "P-521". */
static inline EVP_PKEY *
tc_key(const char *kind)
{
	if (strcmp(kind, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

/*
 * A certificate for key's public half, subject "CN=x,O=y" (RDNs in that
 * order), valid from base + from_s to base + to_s, signed by issuer_key
 * as issuer (NULL: self-signed), with SANs as openssl's config writes
 * them ("DNS:gw1.example,IP:192.0.2.1"; NULL: none), a CA or not.
 */
static inline X509 *
tc_cert(EVP_PKEY *key, const char *subject, X509 *issuer,
    EVP_PKEY *issuer_key, time_t base, long from_s, long to_s,
    const char *san, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char buf[256], *tok, *save = NULL;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial = 1;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	snprintf(buf, sizeof(buf), "%s", subject);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		X509_NAME_add_entry_by_txt(n, tok, MBSTRING_ASC,
		    (unsigned char *)eq + 1, -1, -1, 0);
	}
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, from_s, &base);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, to_s, &base);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (san != NULL) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256());
	return x;
}

/* x's DER appended to buf at *len. */
static inline void
tc_der(X509 *x, uint8_t *buf, size_t *len)
{
	unsigned char *p = buf + *len;

	*len += (size_t)i2d_X509(x, &p);
}

/* key as unencrypted PKCS#8 DER. */
static inline size_t
tc_key_der(EVP_PKEY *key, uint8_t *buf)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *p = buf;
	int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);

	PKCS8_PRIV_KEY_INFO_free(p8);
	return (size_t)n;
}

/* PEM text (malloc'd, NUL-terminated) of x, or of key (pass NULL x);
 * pass != NULL: the key encrypted with it. */
static inline char *
tc_pem(X509 *x, EVP_PKEY *key, const char *pass, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *t, *out;
	long n;

	if (x != NULL)
		PEM_write_bio_X509(b, x);
	else
		PEM_write_bio_PrivateKey(b, key, pass != NULL ?
		    EVP_aes_256_cbc() : NULL, NULL, 0, NULL, (void *)pass);
	n = BIO_get_mem_data(b, &t);
	out = malloc((size_t)n + 1);
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

#endif /* TEST_IKE_CERTGEN_H */
