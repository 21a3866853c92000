/*
 * src/ike/cert.c: X.509 certificates and IKEv2 signatures over OpenSSL 3
 * (the contract is cert.h).  Certificates, keys and names are parsed with
 * libcrypto's d2i/PEM readers from memory; the peer's chain is checked by
 * X509_verify_cert() with the time the caller gives; AUTH is signed and
 * verified with EVP_DigestSign/Verify, whose signature provider also
 * gives the AlgorithmIdentifier RFC 7427 puts in front of a signature.
 *
 * Every failure clears OpenSSL's error queue, as crypto.c does, so what a
 * peer sent leaves nothing for the next caller.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"

struct ike_creds {
	STACK_OF(X509) *chain;		/* ours: [0] the end entity */
	unsigned char *chain_der[IKE_CERTS_MAX];	/* the same, DER */
	int chain_len[IKE_CERTS_MAX];
	EVP_PKEY *key;
	STACK_OF(X509) *cas;		/* trusted for the peer's */
	X509_STORE *store;		/* the same, for verification */
};

struct ike_cert {
	X509 *x;
};

static const char *const cert_err_text[] = {
#define IKE_CERT_ERR_TEXT(e, text) text,
	IKE_CERT_ERRS(IKE_CERT_ERR_TEXT)
#undef IKE_CERT_ERR_TEXT
};

const char *
ike_cert_err_str(enum ike_cert_err e)
{
	return (unsigned)e < IKE_CERT_E_COUNT ? cert_err_text[e] : "?";
}

static int
fail(char *why, size_t why_len, int rc, const char *fmt, const char *arg)
{
	if (why != NULL && why_len != 0)
		snprintf(why, why_len, fmt, arg);
	ERR_clear_error();
	return rc;
}

/* Whether a and b (len bytes each, NULs and all) are the same text
 * regardless of ASCII case. */
static bool
ci_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* ---- hashes and curves ------------------------------------------------ */

struct hash_alg {
	uint8_t id;		/* RFC 7427 */
	const char *name;	/* OpenSSL's */
	int nid;
};

static const struct hash_alg hashes[] = {
	{ IKE_HASH_SHA2_256, "SHA256", NID_sha256 },
	{ IKE_HASH_SHA2_384, "SHA384", NID_sha384 },
	{ IKE_HASH_SHA2_512, "SHA512", NID_sha512 },
};

static const struct hash_alg *
hash_by_nid(int nid)
{
	for (size_t i = 0; i < HG_ARRAY_SIZE(hashes); i++)
		if (hashes[i].nid == nid)
			return &hashes[i];
	return NULL;
}

static const struct hash_alg *
hash_by_id(uint8_t id)
{
	for (size_t i = 0; i < HG_ARRAY_SIZE(hashes); i++)
		if (hashes[i].id == id)
			return &hashes[i];
	return NULL;
}

/* The ECDSA curves we sign and verify with, and their classic methods
 * (RFC 4754: the curve fixes the hash, r | s of fixed size). */
struct curve {
	const char *name;	/* OpenSSL's group name */
	uint8_t method;
	uint8_t hash;
	uint8_t coord;		/* bytes of r and of s */
};

static const struct curve curves[] = {
	{ "prime256v1", IKE_AUTH_ECDSA_256, IKE_HASH_SHA2_256, 32 },
	{ "secp384r1", IKE_AUTH_ECDSA_384, IKE_HASH_SHA2_384, 48 },
	{ "secp521r1", IKE_AUTH_ECDSA_521, IKE_HASH_SHA2_512, 66 },
};

static const struct curve *
curve_of(const EVP_PKEY *k)
{
	char name[64];

	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_group_name(k, name, sizeof(name), NULL))
		return NULL;
	for (size_t i = 0; i < HG_ARRAY_SIZE(curves); i++)
		if (strcmp(curves[i].name, name) == 0)
			return &curves[i];
	return NULL;
}

/* ---- loading ---------------------------------------------------------- */

int
ike_pem_certs(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *out_len, unsigned *n, char *why, size_t why_len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	size_t at = *out_len;

	*n = 0;
	if (b == NULL)
		return fail(why, why_len, -ENOMEM, "%s", "out of memory");
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		int k = i2d_X509(x, NULL);
		unsigned char *p = out + at;

		if (k <= 0 || (size_t)k > cap - at) {
			X509_free(x);
			BIO_free(b);
			return fail(why, why_len, -EINVAL, "%s",
			    "the certificates are too large (their DER is "
			    "kept in the connection)");
		}
		(void)i2d_X509(x, &p);
		at += (size_t)k;
		(*n)++;
		X509_free(x);
	}
	BIO_free(b);
	/* The loop ends at the end of the text (no further BEGIN line) or
	 * at a block that is no certificate. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE &&
	    ERR_peek_last_error() != 0)
		return fail(why, why_len, -EINVAL, "%s", "a PEM block that "
		    "is no X.509 certificate");
	ERR_clear_error();
	if (*n == 0)
		return fail(why, why_len, -EINVAL, "%s", "no PEM certificate "
		    "(-----BEGIN CERTIFICATE-----) in it");
	*out_len = at;
	return 0;
}

/* PEM's password callback: a key that asks for one is refused. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

int
ike_pem_key(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *out_len, char *why, size_t why_len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *k;
	unsigned char *p;
	bool asked = false;
	int n;

	if (b == NULL)
		return fail(why, why_len, -ENOMEM, "%s", "out of memory");
	k = PEM_read_bio_PrivateKey(b, NULL, no_password, &asked);
	BIO_free(b);
	if (k == NULL)
		return fail(why, why_len, -EINVAL, "%s", asked ?
		    "the key is encrypted: hexgate takes it unencrypted, "
		    "in a file readable by root only" : "no PEM private key "
		    "(PKCS#8, RSA or EC) in it");
	p8 = EVP_PKEY2PKCS8(k);
	EVP_PKEY_free(k);
	n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
	if (n <= 0 || (size_t)n > cap) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		return fail(why, why_len, -EINVAL, "%s", "the key is too "
		    "large");
	}
	p = out;
	(void)i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
	PKCS8_PRIV_KEY_INFO_free(p8);
	*out_len = (size_t)n;
	return 0;
}

/* DER certificates one after another into a stack; NULL with why. */
static STACK_OF(X509) *
der_certs(const uint8_t *der, size_t len, const char *what, char *why,
    size_t why_len)
{
	STACK_OF(X509) *st = sk_X509_new_null();
	const unsigned char *p = der, *end = der + len;

	if (st == NULL)
		return NULL;
	while (p < end) {
		X509 *x = d2i_X509(NULL, &p, (long)(end - p));

		if (x == NULL || sk_X509_push(st, x) == 0) {
			X509_free(x);
			sk_X509_pop_free(st, X509_free);
			fail(why, why_len, 0, "%s: not DER certificates", what);
			return NULL;
		}
	}
	return st;
}

void
ike_creds_free(struct ike_creds *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < IKE_CERTS_MAX; i++)
		OPENSSL_free(c->chain_der[i]);
	sk_X509_pop_free(c->chain, X509_free);
	sk_X509_pop_free(c->cas, X509_free);
	X509_STORE_free(c->store);
	EVP_PKEY_free(c->key);
	free(c);
}

int
ike_creds_new(struct ike_creds **out, const uint8_t *certs, size_t certs_len,
    const uint8_t *key, size_t key_len, const uint8_t *cas, size_t cas_len,
    char *why, size_t why_len)
{
	struct ike_creds *c = calloc(1, sizeof(*c));
	int rc = -EINVAL;

	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	if (certs_len != 0) {
		const unsigned char *p = key;
		X509 *x;

		if ((c->chain = der_certs(certs, certs_len, "certs", why,
		    why_len)) == NULL)
			goto out;
		if (sk_X509_num(c->chain) > IKE_CERTS_MAX) {
			fail(why, why_len, 0, "certs: at most %s certificates "
			    "(ours and its intermediates)", "4");
			goto out;
		}
		for (int i = 0; i < sk_X509_num(c->chain); i++)
			if ((c->chain_len[i] = i2d_X509(sk_X509_value(c->chain,
			    i), &c->chain_der[i])) <= 0)
				goto out;
		x = sk_X509_value(c->chain, 0);
		if (key_len == 0 || (c->key = d2i_AutoPrivateKey(NULL, &p,
		    (long)key_len)) == NULL) {
			fail(why, why_len, 0, "%s", "no usable private key "
			    "for the certificate");
			goto out;
		}
		if (EVP_PKEY_eq(X509_get0_pubkey(x), c->key) != 1) {
			fail(why, why_len, 0, "%s", "the private key is not "
			    "the certificate's (their public keys differ)");
			goto out;
		}
		if (EVP_PKEY_get_base_id(c->key) != EVP_PKEY_RSA &&
		    curve_of(c->key) == NULL) {
			fail(why, why_len, 0, "%s", "the key is neither RSA "
			    "nor ECDSA on P-256, P-384 or P-521");
			goto out;
		}
	}
	if (cas_len != 0) {
		if ((c->cas = der_certs(cas, cas_len, "cacerts", why,
		    why_len)) == NULL || (c->store = X509_STORE_new()) ==
		    NULL)
			goto out;
		for (int i = 0; i < sk_X509_num(c->cas); i++)
			if (X509_STORE_add_cert(c->store,
			    sk_X509_value(c->cas, i)) != 1) {
				fail(why, why_len, 0, "%s", "cacerts: a CA "
				    "could not be taken (twice?)");
				goto out;
			}
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	ike_creds_free(c);
	ERR_clear_error();
	return rc;
}

static int
name_to_id(const X509_NAME *name, struct ike_id *out)
{
	unsigned char *p = out->data;
	int n = i2d_X509_NAME(name, NULL);

	memset(out, 0, sizeof(*out));
	if (n <= 0 || (size_t)n > sizeof(out->data))
		return -ENOSPC;
	(void)i2d_X509_NAME(name, &p);
	out->type = IKE_ID_DER_ASN1_DN;
	out->len = (uint16_t)n;
	return 0;
}

int
ike_creds_subject(const struct ike_creds *c, struct ike_id *out)
{
	if (c == NULL || c->chain == NULL)
		return -ENOENT;
	return name_to_id(X509_get_subject_name(sk_X509_value(c->chain, 0)),
	    out);
}

/* Whether x holds id: its subject, or a SAN of the id's kind. */
static bool
x509_has_id(X509 *x, const struct ike_id *id)
{
	GENERAL_NAMES *sans;
	bool found = false;
	int want;

	if (id->type == IKE_ID_DER_ASN1_DN) {
		const unsigned char *p = id->data;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, id->len);

		found = n != NULL && p == id->data + id->len &&
		    X509_NAME_cmp(n, X509_get_subject_name(x)) == 0;
		X509_NAME_free(n);
		ERR_clear_error();
		return found;
	}
	switch (id->type) {
	case IKE_ID_FQDN:	want = GEN_DNS; break;
	case IKE_ID_RFC822_ADDR: want = GEN_EMAIL; break;
	case IKE_ID_IPV4_ADDR:
	case IKE_ID_IPV6_ADDR:	want = GEN_IPADD; break;
	default:		return false;
	}
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) &&
	    !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const ASN1_STRING *s;

		if (g->type != want)
			continue;
		s = want == GEN_IPADD ? g->d.iPAddress : g->d.ia5;
		if (ASN1_STRING_length(s) != id->len)
			continue;
		found = want == GEN_IPADD ?
		    memcmp(ASN1_STRING_get0_data(s), id->data, id->len) == 0 :
		    ci_equal(ASN1_STRING_get0_data(s), id->data, id->len);
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	return found;
}

bool
ike_creds_has_id(const struct ike_creds *c, const struct ike_id *id)
{
	return c != NULL && c->chain != NULL &&
	    x509_has_id(sk_X509_value(c->chain, 0), id);
}

bool
ike_creds_cert(const struct ike_creds *c, unsigned i, const uint8_t **der,
    size_t *len)
{
	if (c == NULL || c->chain == NULL ||
	    i >= (unsigned)sk_X509_num(c->chain))
		return false;
	*der = c->chain_der[i];
	*len = (size_t)c->chain_len[i];
	return true;
}

size_t
ike_creds_certreq(const struct ike_creds *c, uint8_t *out, size_t cap)
{
	size_t at = 0;

	if (c == NULL || c->cas == NULL)
		return 0;
	for (int i = 0; i < sk_X509_num(c->cas) && at + IKE_KEYID_LEN <= cap;
	    i++) {
		unsigned char *spki = NULL;
		int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(sk_X509_value(
		    c->cas, i)), &spki);

		if (n <= 0)
			continue;
		if (EVP_Digest(spki, (size_t)n, out + at, NULL, EVP_sha1(),
		    NULL) == 1)
			at += IKE_KEYID_LEN;
		OPENSSL_free(spki);
	}
	ERR_clear_error();
	return at;
}

/* ---- signing ---------------------------------------------------------- */

/* ECDSA's DER signature to r | s of coord bytes each (RFC 4754), and
 * back. */
static long
ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t coord, uint8_t *out,
    size_t cap)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *ss;
	long rc = -EINVAL;

	if (s == NULL || cap < 2 * coord)
		goto out;
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_bn2binpad(r, out, (int)coord) < 0 ||
	    BN_bn2binpad(ss, out + coord, (int)coord) < 0)
		goto out;
	rc = (long)(2 * coord);
out:
	ECDSA_SIG_free(s);
	return rc;
}

static long
ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
	BIGNUM *ss = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	unsigned char *p = out;
	long rc = -EINVAL;
	int n;

	if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r,
	    ss) != 1)
		goto out;
	r = ss = NULL;			/* s owns them */
	if ((n = i2d_ECDSA_SIG(s, NULL)) <= 0 || (size_t)n > cap)
		goto out;
	rc = i2d_ECDSA_SIG(s, &p);
out:
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return rc;
}

long
ike_sign(const struct ike_creds *c, unsigned peer_hashes, bool pss,
    const uint8_t *octets, size_t len, uint8_t *method, uint8_t *out,
    size_t cap)
{
	const struct curve *cv;
	const struct hash_alg *h = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[IKE_SIG_MAX], algid[128];
	size_t sig_len = sizeof(sig), algid_len = 0;
	long rc = -EINVAL;
	bool rsa;

	if (c == NULL || c->key == NULL)
		return -ENOENT;
	rsa = EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA;
	cv = curve_of(c->key);
	peer_hashes &= IKE_HASHES_OURS;
	if (peer_hashes != 0) {
		/* RFC 7427: the curve's own hash, or SHA-256 for RSA, when
		 * the peer takes it; else the first it takes. */
		uint8_t first = cv != NULL ? cv->hash : IKE_HASH_SHA2_256;

		if (peer_hashes & IKE_HASH_BIT(first))
			h = hash_by_id(first);
		for (size_t i = 0; h == NULL && i < HG_ARRAY_SIZE(hashes); i++)
			if (peer_hashes & IKE_HASH_BIT(hashes[i].id))
				h = &hashes[i];
		*method = IKE_AUTH_DIGITAL_SIG;
	} else {
		static const struct hash_alg sha1 = { IKE_HASH_SHA1, "SHA1",
		    NID_sha1 };

		h = rsa ? &sha1 : hash_by_id(cv->hash);
		*method = rsa ? IKE_AUTH_RSA_SIG : cv->method;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(mctx, &pctx, h->name, NULL, NULL, c->key,
	    NULL) != 1)
		goto out;
	if (rsa && pss && *method == IKE_AUTH_DIGITAL_SIG &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1))
		goto out;
	if (*method == IKE_AUTH_DIGITAL_SIG) {
		/* The signature provider names what it will do as an
		 * AlgorithmIdentifier, PSS parameters included. */
		OSSL_PARAM p[2] = {
			OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
			    algid, sizeof(algid)),
			OSSL_PARAM_END
		};

		const unsigned char *q = algid;
		X509_ALGOR *al;

		/* 3.0's RSA provider leaves return_size unset with PSS:
		 * the DER says how long it is. */
		if (EVP_PKEY_CTX_get_params(pctx, p) != 1 ||
		    (al = d2i_X509_ALGOR(NULL, &q, sizeof(algid))) == NULL)
			goto out;
		X509_ALGOR_free(al);
		if ((algid_len = (size_t)(q - algid)) > 255)
			goto out;
	}
	if (EVP_DigestSign(mctx, sig, &sig_len, octets, len) != 1)
		goto out;
	if (*method == IKE_AUTH_DIGITAL_SIG) {
		if (1 + algid_len + sig_len > cap)
			goto out;
		out[0] = (uint8_t)algid_len;
		memcpy(out + 1, algid, algid_len);
		memcpy(out + 1 + algid_len, sig, sig_len);
		rc = (long)(1 + algid_len + sig_len);
	} else if (rsa) {
		if (sig_len > cap)
			goto out;
		memcpy(out, sig, sig_len);
		rc = (long)sig_len;
	} else
		rc = ecdsa_der_to_raw(sig, sig_len, cv->coord, out, cap);
out:
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return rc;
}

/* ---- the peer's certificate ------------------------------------------- */

void
ike_cert_free(struct ike_cert *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->x);
	free(cert);
}

static int
name_text(const X509_NAME *n, char *buf, size_t len)
{
	unsigned char *der = NULL;
	int k = i2d_X509_NAME(n, &der), w;

	if (k <= 0)
		return snprintf(buf, len, "?");
	w = ike_dn_format(der, (size_t)k, buf, len);
	OPENSSL_free(der);
	return w;
}

int
ike_cert_subject(const struct ike_cert *cert, char *buf, size_t len)
{
	return name_text(X509_get_subject_name(cert->x), buf, len);
}

static void
asn1_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	if (b != NULL && ASN1_TIME_print(b, t) == 1)
		n = BIO_read(b, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

enum ike_cert_err
ike_cert_verify(const struct ike_creds *c, const struct ike_buf *der,
    unsigned n, int64_t now_s, struct ike_cert **out, char *why,
    size_t why_len)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL, *bad;
	const unsigned char *p;
	enum ike_cert_err e = IKE_CERT_E_BAD;
	char subj[256], t[64];
	int v;

	*out = NULL;
	snprintf(why, why_len, "%s", "");
	if (n == 0) {
		snprintf(why, why_len, "%s", ike_cert_err_str(IKE_CERT_E_NONE));
		return IKE_CERT_E_NONE;
	}
	p = der[0].p;
	if ((x = d2i_X509(NULL, &p, (long)der[0].len)) == NULL ||
	    p != der[0].p + der[0].len ||
	    (untrusted = sk_X509_new_null()) == NULL) {
		snprintf(why, why_len, "%s", ike_cert_err_str(IKE_CERT_E_BAD));
		goto out;
	}
	for (unsigned i = 1; i < n && i < IKE_CERTS_MAX; i++) {
		X509 *y;

		p = der[i].p;
		if ((y = d2i_X509(NULL, &p, (long)der[i].len)) == NULL ||
		    sk_X509_push(untrusted, y) == 0) {
			X509_free(y);
			snprintf(why, why_len, "intermediate %u: %s", i,
			    ike_cert_err_str(IKE_CERT_E_BAD));
			goto out;
		}
	}
	name_text(X509_get_subject_name(x), subj, sizeof(subj));
	if (c == NULL || c->store == NULL) {
		e = IKE_CERT_E_UNTRUSTED;
		snprintf(why, why_len, "%s \"%s\": no CA configured",
		    ike_cert_err_str(e), subj);
		goto out;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, c->store, x, untrusted) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
	    (time_t)now_s);
	/* A configured CA is a trust anchor even when it is not a root,
	 * as strongSwan's cacerts are. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
	    X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) == 1) {
		struct ike_cert *cert = calloc(1, sizeof(*cert));

		if (cert == NULL)
			goto out;
		cert->x = x;
		x = NULL;
		*out = cert;
		e = IKE_CERT_E_OK;
		goto out;
	}
	v = X509_STORE_CTX_get_error(ctx);
	bad = X509_STORE_CTX_get_current_cert(ctx);
	if (bad != NULL && bad != x)
		name_text(X509_get_subject_name(bad), subj, sizeof(subj));
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		e = IKE_CERT_E_EXPIRED;
		asn1_time_text(X509_get0_notAfter(bad != NULL ? bad : x), t,
		    sizeof(t));
		snprintf(why, why_len, "%s%s: \"%s\" not after %s",
		    ike_cert_err_str(e), bad != NULL && bad != x ? " (a CA)" :
		    "", subj, t);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		e = IKE_CERT_E_NOT_YET_VALID;
		asn1_time_text(X509_get0_notBefore(bad != NULL ? bad : x), t,
		    sizeof(t));
		snprintf(why, why_len, "%s%s: \"%s\" not before %s",
		    ike_cert_err_str(e), bad != NULL && bad != x ? " (a CA)" :
		    "", subj, t);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		e = IKE_CERT_E_UNTRUSTED;
		name_text(X509_get_issuer_name(bad != NULL ? bad : x), t,
		    sizeof(t));
		snprintf(why, why_len, "%s: \"%s\", issuer \"%s\"",
		    ike_cert_err_str(e), subj, t);
		break;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		e = IKE_CERT_E_UNTRUSTED;
		snprintf(why, why_len, "%s: \"%s\": its CA's signature on it "
		    "does not verify", ike_cert_err_str(e), subj);
		break;
	default:
		e = IKE_CERT_E_CHAIN;
		snprintf(why, why_len, "%s: \"%s\": %s", ike_cert_err_str(e),
		    subj, X509_verify_cert_error_string(v));
		break;
	}
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(x);
	ERR_clear_error();
	return e;
}

bool
ike_cert_has_id(const struct ike_cert *cert, const struct ike_id *id)
{
	return x509_has_id(cert->x, id);
}

/* RFC 7427's AlgorithmIdentifier: the hash, whether PSS (with its salt
 * length and MGF1's hash) or ECDSA; -1 when we do not take it. */
struct sig_alg {
	const struct hash_alg *h;
	bool ecdsa, pss;
	int salt;
	const struct hash_alg *mgf1;
};

static int
algid_parse(const uint8_t *der, size_t len, struct sig_alg *a)
{
	const unsigned char *p = der;
	X509_ALGOR *al = d2i_X509_ALGOR(NULL, &p, (long)len);
	RSA_PSS_PARAMS *pp = NULL;
	X509_ALGOR *mh = NULL;
	int rc = -1, nid;

	memset(a, 0, sizeof(*a));
	if (al == NULL || p != der + len)
		goto out;
	switch ((nid = OBJ_obj2nid(al->algorithm))) {
	case NID_sha256WithRSAEncryption:
		a->h = hash_by_nid(NID_sha256);
		break;
	case NID_sha384WithRSAEncryption:
		a->h = hash_by_nid(NID_sha384);
		break;
	case NID_sha512WithRSAEncryption:
		a->h = hash_by_nid(NID_sha512);
		break;
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		a->ecdsa = true;
		a->h = hash_by_nid(nid == NID_ecdsa_with_SHA256 ? NID_sha256 :
		    nid == NID_ecdsa_with_SHA384 ? NID_sha384 : NID_sha512);
		break;
	case NID_rsassaPss:
		/* RFC 4055: absent fields are SHA-1 and a 20-byte salt,
		 * which we do not take. */
		if (al->parameter == NULL || (pp = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(RSA_PSS_PARAMS), al->parameter)) == NULL ||
		    pp->hashAlgorithm == NULL ||
		    pp->maskGenAlgorithm == NULL ||
		    OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) != NID_mgf1 ||
		    pp->maskGenAlgorithm->parameter == NULL ||
		    (mh = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
		    pp->maskGenAlgorithm->parameter)) == NULL ||
		    (pp->trailerField != NULL &&
		    ASN1_INTEGER_get(pp->trailerField) != 1))
			goto out;
		a->pss = true;
		a->h = hash_by_nid(OBJ_obj2nid(pp->hashAlgorithm->algorithm));
		a->mgf1 = hash_by_nid(OBJ_obj2nid(mh->algorithm));
		a->salt = pp->saltLength != NULL ?
		    (int)ASN1_INTEGER_get(pp->saltLength) : 20;
		if (a->mgf1 == NULL || a->salt < 0)
			goto out;
		break;
	default:
		goto out;
	}
	rc = a->h != NULL ? 0 : -1;
out:
	X509_ALGOR_free(mh);
	RSA_PSS_PARAMS_free(pp);
	X509_ALGOR_free(al);
	return rc;
}

enum ike_cert_err
ike_sig_verify(const struct ike_cert *cert, uint8_t method,
    const uint8_t *data, size_t len, const uint8_t *octets,
    size_t octets_len, char *why, size_t why_len)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert->x);
	const struct curve *cv = pub != NULL ? curve_of(pub) : NULL;
	bool rsa = pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	static const struct hash_alg sha1 = { IKE_HASH_SHA1, "SHA1",
	    NID_sha1 };
	uint8_t der[IKE_SIG_MAX];
	const uint8_t *sig = data;
	size_t sig_len = len;
	struct sig_alg a;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum ike_cert_err e = IKE_CERT_E_METHOD;

	memset(&a, 0, sizeof(a));
	switch (method) {
	case IKE_AUTH_DIGITAL_SIG:
		if (len < 1 || (size_t)data[0] + 1 > len ||
		    algid_parse(data + 1, data[0], &a) != 0) {
			snprintf(why, why_len, "%s: an AlgorithmIdentifier we "
			    "do not take (SHA-2 with RSA, RSA-PSS or ECDSA)",
			    ike_cert_err_str(e));
			goto out;
		}
		sig = data + 1 + data[0];
		sig_len = len - 1 - data[0];
		if (a.ecdsa ? cv == NULL : !rsa) {
			snprintf(why, why_len, "%s: a %s signature from a "
			    "certificate with %s key", ike_cert_err_str(e),
			    a.ecdsa ? "ECDSA" : "RSA", rsa ? "an RSA" :
			    cv != NULL ? "an ECDSA" : "another");
			goto out;
		}
		break;
	case IKE_AUTH_RSA_SIG:
		if (!rsa) {
			snprintf(why, why_len, "%s: RSA signature (method 1) "
			    "from a certificate without an RSA key",
			    ike_cert_err_str(e));
			goto out;
		}
		a.h = &sha1;
		break;
	case IKE_AUTH_ECDSA_256:
	case IKE_AUTH_ECDSA_384:
	case IKE_AUTH_ECDSA_521:
		if (cv == NULL || cv->method != method) {
			snprintf(why, why_len, "%s: ECDSA method %u does not "
			    "fit the certificate's key", ike_cert_err_str(e),
			    method);
			goto out;
		}
		a.ecdsa = true;
		a.h = hash_by_id(cv->hash);
		if (len != 2u * cv->coord) {
			e = IKE_CERT_E_BAD_SIG;
			snprintf(why, why_len, "%s", ike_cert_err_str(e));
			goto out;
		}
		{
			long n = ecdsa_raw_to_der(data, len, der, sizeof(der));

			if (n < 0) {
				e = IKE_CERT_E_BAD_SIG;
				snprintf(why, why_len, "%s",
				    ike_cert_err_str(e));
				goto out;
			}
			sig = der;
			sig_len = (size_t)n;
		}
		break;
	default:
		snprintf(why, why_len, "%s: AUTH method %u", ike_cert_err_str(e),
		    method);
		goto out;
	}
	e = IKE_CERT_E_BAD_SIG;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, &pctx, a.h->name, NULL, NULL, pub,
	    NULL) != 1)
		goto bad;
	if (a.pss && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, a.salt) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a.mgf1->name, NULL) != 1))
		goto bad;
	if (EVP_DigestVerify(mctx, sig, sig_len, octets, octets_len) == 1) {
		e = IKE_CERT_E_OK;
		snprintf(why, why_len, "%s", "");
		goto out;
	}
bad:
	snprintf(why, why_len, "%s (%s%s with %s)", ike_cert_err_str(e),
	    a.ecdsa ? "ECDSA" : a.pss ? "RSASSA-PSS" : "RSA PKCS#1 v1.5",
	    method == IKE_AUTH_DIGITAL_SIG ? ", RFC 7427" : "", a.h->name);
out:
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return e;
}

/* ---- identities ------------------------------------------------------- */

/* swanctl's attribute names that OpenSSL spells otherwise. */
static int
dn_nid(const char *key)
{
	static const struct { const char *k; int nid; } alias[] = {
		{ "E", NID_pkcs9_emailAddress },
		{ "Email", NID_pkcs9_emailAddress },
		{ "S", NID_stateOrProvinceName },
		{ "SN", NID_serialNumber },
		{ "serialNumber", NID_serialNumber },
		{ "G", NID_givenName },
		{ "GN", NID_givenName },
		{ "N", NID_name },
		{ "T", NID_title },
	};

	char up[32];
	int nid;

	for (size_t i = 0; i < HG_ARRAY_SIZE(alias); i++)
		if (strcasecmp(alias[i].k, key) == 0)
			return alias[i].nid;
	if ((nid = OBJ_txt2nid(key)) != NID_undef)
		return nid;
	/* swanctl takes "cn" as "CN". */
	for (size_t i = 0; i < sizeof(up); i++)
		if ((up[i] = (char)toupper((unsigned char)key[i])) == '\0')
			break;
	up[sizeof(up) - 1] = '\0';
	return OBJ_sn2nid(up);
}

int
ike_dn_parse(const char *text, struct ike_id *out)
{
	X509_NAME *n = X509_NAME_new();
	const char *s = text;
	int rc = -EINVAL;

	if (n == NULL)
		return -ENOMEM;
	if (*s == '/')
		s++;
	while (*s != '\0') {
		char key[32];
		const char *eq, *v, *end, *ve;
		size_t kl;
		int nid;

		while (*s == ' ')
			s++;
		if ((eq = strchr(s, '=')) == NULL)
			goto out;
		for (kl = (size_t)(eq - s); kl > 0 && s[kl - 1] == ' '; kl--)
			;
		if (kl == 0 || kl >= sizeof(key))
			goto out;
		memcpy(key, s, kl);
		key[kl] = '\0';
		for (v = eq + 1; *v == ' '; v++)
			;
		end = v + strcspn(v, ",/");
		for (ve = end; ve > v && ve[-1] == ' '; ve--)
			;
		if (ve == v || (nid = dn_nid(key)) == NID_undef ||
		    X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8,
		    (const unsigned char *)v, (int)(ve - v), -1, 0) != 1)
			goto out;
		s = *end != '\0' ? end + 1 : end;
	}
	if (X509_NAME_entry_count(n) > 0 && name_to_id(n, out) == 0)
		rc = 0;
out:
	X509_NAME_free(n);
	ERR_clear_error();
	return rc;
}

int
ike_dn_format(const uint8_t *der, size_t len, char *buf, size_t buf_len)
{
	const unsigned char *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
	BIO *b;
	int w = -1;

	if (n == NULL || (b = BIO_new(BIO_s_mem())) == NULL) {
		X509_NAME_free(n);
		ERR_clear_error();
		return -1;
	}
	/* As swanctl writes it: the certificate's order, ", " between
	 * RDNs, short names. */
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_SEP_CPLUS_SPC |
	    XN_FLAG_FN_SN | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *t;
		long k = BIO_get_mem_data(b, &t);

		/* The text goes into logs and JSON: quotes, backslashes
		 * and anything outside printable ASCII become '?'. */
		w = (int)k;
		if (buf_len != 0) {
			size_t m = HG_MIN((size_t)k, buf_len - 1);

			for (size_t i = 0; i < m; i++)
				buf[i] = t[i] >= 0x20 && t[i] < 0x7f &&
				    t[i] != '"' && t[i] != '\\' ? t[i] : '?';
			buf[m] = '\0';
		}
	}
	BIO_free(b);
	X509_NAME_free(n);
	ERR_clear_error();
	return w;
}

bool
ike_id_equal(const struct ike_id *a, const struct ike_id *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == IKE_ID_DER_ASN1_DN) {
		const unsigned char *pa = a->data, *pb = b->data;
		X509_NAME *na = d2i_X509_NAME(NULL, &pa, a->len);
		X509_NAME *nb = d2i_X509_NAME(NULL, &pb, b->len);
		bool eq = na != NULL && nb != NULL &&
		    X509_NAME_cmp(na, nb) == 0;

		X509_NAME_free(na);
		X509_NAME_free(nb);
		ERR_clear_error();
		return eq;
	}
	if (a->len != b->len)
		return false;
	if (a->type == IKE_ID_FQDN || a->type == IKE_ID_RFC822_ADDR)
		return ci_equal(a->data, b->data, a->len);
	return memcmp(a->data, b->data, a->len) == 0;
}
