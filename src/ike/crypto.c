/*
 * src/ike/crypto.c: IKEv2's cryptography over OpenSSL 3 (the contract is
 * crypto.h).  HMAC through EVP_MAC, the SK payload's ciphers through
 * EVP_CIPHER, Diffie-Hellman through EVP_PKEY.  Every key that passes
 * through a local buffer is wiped before the function returns, and every
 * failure clears OpenSSL's error queue, so a peer's bad value leaves
 * nothing behind for the next caller to trip over.
 *
 * The message codec is msg.c; what the SK payload carries is parsed there
 * once it is opened here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "crypto.h"

#define AES_BLOCK	16
#define AEAD_SALT_LEN	4	/* RFC 5282 §7.1, RFC 7634 §2 */
#define AEAD_NONCE_LEN	12	/* salt | the 8-byte IV on the wire */
#define AEAD_ICV_LEN	16
#define EC_POINT_UNCOMPRESSED 0x04

/* ---- Algorithm tables ------------------------------------------------ */

struct prf_alg {
	uint16_t id;
	const char *digest;	/* OpenSSL's name for HMAC's hash */
	uint8_t len;
};

static const struct prf_alg prf_algs[] = {
	{ IKE_PRF_HMAC_SHA2_256, "SHA256", 32 },
	{ IKE_PRF_HMAC_SHA2_384, "SHA384", 48 },
	{ IKE_PRF_HMAC_SHA2_512, "SHA512", 64 },
};

struct integ_alg {
	uint16_t id;
	const char *digest;
	uint8_t key_len;
	uint8_t icv_len;	/* RFC 4868: half the hash, truncated */
};

static const struct integ_alg integ_algs[] = {
	{ IKE_INTEG_HMAC_SHA2_256_128, "SHA256", 32, 16 },
	{ IKE_INTEG_HMAC_SHA2_384_192, "SHA384", 48, 24 },
	{ IKE_INTEG_HMAC_SHA2_512_256, "SHA512", 64, 32 },
};

enum dh_kind { DH_MODP, DH_ECP, DH_MONT };

struct dh_alg {
	uint16_t id;
	enum dh_kind kind;
	const char *name;	/* MODP, ECP: OpenSSL's group; else key type */
	uint16_t pub_len;	/* KE data */
	uint16_t secret_len;	/* g^ir */
};

static const struct dh_alg dh_algs[] = {
	/* RFC 3526 primes, which OpenSSL 3 knows by these names. */
	{ IKE_DH_MODP_2048, DH_MODP, "modp_2048", 256, 256 },
	{ IKE_DH_MODP_3072, DH_MODP, "modp_3072", 384, 384 },
	{ IKE_DH_MODP_4096, DH_MODP, "modp_4096", 512, 512 },
	/* RFC 5903: x | y on the wire, x alone is the secret. */
	{ IKE_DH_ECP_256, DH_ECP, "P-256", 64, 32 },
	{ IKE_DH_ECP_384, DH_ECP, "P-384", 96, 48 },
	{ IKE_DH_ECP_521, DH_ECP, "P-521", 132, 66 },
	/* RFC 8031. */
	{ IKE_DH_CURVE25519, DH_MONT, "X25519", 32, 32 },
	{ IKE_DH_CURVE448, DH_MONT, "X448", 56, 56 },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct prf_alg *
prf_alg(uint16_t id)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(prf_algs); i++)
		if (prf_algs[i].id == id)
			return &prf_algs[i];
	return NULL;
}

static const struct integ_alg *
integ_alg(uint16_t id)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(integ_algs); i++)
		if (integ_algs[i].id == id)
			return &integ_algs[i];
	return NULL;
}

static const struct dh_alg *
dh_alg(uint16_t id)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(dh_algs); i++)
		if (dh_algs[i].id == id)
			return &dh_algs[i];
	return NULL;
}

/* OpenSSL's cipher for an ENCR transform and key length, or NULL. */
static const char *
encr_cipher_name(uint16_t encr, uint16_t bits)
{
	switch (encr) {
	case IKE_ENCR_AES_CBC:
		return bits == 128 ? "AES-128-CBC" : bits == 192 ?
		    "AES-192-CBC" : bits == 256 ? "AES-256-CBC" : NULL;
	case IKE_ENCR_AES_GCM_16:
		return bits == 128 ? "AES-128-GCM" : bits == 192 ?
		    "AES-192-GCM" : bits == 256 ? "AES-256-GCM" : NULL;
	case IKE_ENCR_CHACHA20_POLY1305:
		/* RFC 7634 §3: no Key Length attribute; 256 if one is sent. */
		return bits == 0 || bits == 256 ? "ChaCha20-Poly1305" : NULL;
	}
	return NULL;
}

size_t
ike_prf_len(uint16_t prf)
{
	const struct prf_alg *a = prf_alg(prf);

	return a != NULL ? a->len : 0;
}

size_t
ike_encr_key_len(uint16_t encr, uint16_t bits)
{
	if (encr_cipher_name(encr, bits) == NULL)
		return 0;
	if (encr == IKE_ENCR_CHACHA20_POLY1305)
		return 32 + AEAD_SALT_LEN;
	return bits / 8 + (encr == IKE_ENCR_AES_GCM_16 ? AEAD_SALT_LEN : 0);
}

size_t
ike_encr_iv_len(uint16_t encr)
{
	switch (encr) {
	case IKE_ENCR_AES_CBC:
		return AES_BLOCK;
	case IKE_ENCR_AES_GCM_16:
	case IKE_ENCR_CHACHA20_POLY1305:
		return AEAD_NONCE_LEN - AEAD_SALT_LEN;
	}
	return 0;
}

size_t
ike_encr_icv_len(uint16_t encr)
{
	return ike_encr_is_aead(encr) ? AEAD_ICV_LEN : 0;
}

bool
ike_encr_is_aead(uint16_t encr)
{
	return encr == IKE_ENCR_AES_GCM_16 ||
	    encr == IKE_ENCR_CHACHA20_POLY1305;
}

size_t
ike_integ_key_len(uint16_t integ)
{
	const struct integ_alg *a = integ_alg(integ);

	return a != NULL ? a->key_len : 0;
}

size_t
ike_integ_icv_len(uint16_t integ)
{
	const struct integ_alg *a = integ_alg(integ);

	return a != NULL ? a->icv_len : 0;
}

size_t
ike_dh_public_len(uint16_t group)
{
	const struct dh_alg *a = dh_alg(group);

	return a != NULL ? a->pub_len : 0;
}

/*
 * What the keys need: a PRF, a cipher, and an integrity algorithm exactly
 * when the cipher is not AEAD (RFC 5282 §8: an AEAD suite has none).
 */
static bool
keys_supported(const struct ike_suite *s)
{
	if (prf_alg(s->prf) == NULL ||
	    encr_cipher_name(s->encr, s->encr_bits) == NULL)
		return false;
	if (ike_encr_is_aead(s->encr))
		return s->integ == 0;
	return integ_alg(s->integ) != NULL;
}

bool
ike_suite_supported(const struct ike_suite *s)
{
	return keys_supported(s) && dh_alg(s->dh) != NULL;
}

int
ike_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	int n;

	while (len > 0) {
		n = len > INT32_MAX ? INT32_MAX : (int)len;
		if (RAND_bytes(p, n) != 1) {
			ERR_clear_error();
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- HMAC ------------------------------------------------------------ */

/* An HMAC context for a hash; NULL on failure. */
static EVP_MAC_CTX *
hmac_new(const char *digest)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;

	if ((mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL)) == NULL)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* ctx holds its own reference */
	if (ctx == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Starts an HMAC with key; a NULL key would mean "the previous one". */
static bool
hmac_init(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len)
{
	static const uint8_t empty;

	return EVP_MAC_init(ctx, key_len ? key : &empty, key_len, NULL) == 1;
}

static bool
hmac_update(EVP_MAC_CTX *ctx, const struct ike_buf *in, unsigned n_in)
{
	unsigned i;

	for (i = 0; i < n_in; i++)
		if (in[i].len > 0 &&
		    EVP_MAC_update(ctx, in[i].p, in[i].len) != 1)
			return false;
	return true;
}

/* One HMAC over the pieces in[] into out, which holds the whole hash. */
static int
hmac_run(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len,
    const struct ike_buf *in, unsigned n_in, uint8_t *out, size_t out_cap)
{
	size_t n;

	if (!hmac_init(ctx, key, key_len) || !hmac_update(ctx, in, n_in) ||
	    EVP_MAC_final(ctx, out, &n, out_cap) != 1)
		return -EIO;
	return 0;
}

/* ---- PRF and prf+ (§2.13) ------------------------------------------- */

int
ike_prf(uint16_t prf, const uint8_t *key, size_t key_len,
    const struct ike_buf *in, unsigned n_in, uint8_t *out)
{
	const struct prf_alg *a = prf_alg(prf);
	EVP_MAC_CTX *ctx;
	int rc;

	if (a == NULL)
		return -ENOTSUP;
	if ((ctx = hmac_new(a->digest)) == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	rc = hmac_run(ctx, key, key_len, in, n_in, out, a->len);
	EVP_MAC_CTX_free(ctx);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/*
 * prf+ (K, S) = T1 | T2 | ..., T1 = prf(K, S | 0x01), Tn = prf(K,
 * T(n-1) | S | n).  The seed pieces are hashed where they lie.
 */
int
ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
    const struct ike_buf *in, unsigned n_in, uint8_t *out, size_t out_len)
{
	const struct prf_alg *a = prf_alg(prf);
	uint8_t t[IKE_PRF_MAX];
	size_t done, n, t_len = 0;	/* T0 is empty */
	EVP_MAC_CTX *ctx;
	uint8_t counter;
	int rc = -EIO;

	if (a == NULL)
		return -ENOTSUP;
	if (out_len > 255 * (size_t)a->len)	/* the counter is one byte */
		return -EINVAL;
	if ((ctx = hmac_new(a->digest)) == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	for (done = 0, counter = 1; done < out_len; counter++) {
		if (!hmac_init(ctx, key, key_len) ||
		    (t_len > 0 && EVP_MAC_update(ctx, t, t_len) != 1) ||
		    !hmac_update(ctx, in, n_in) ||
		    EVP_MAC_update(ctx, &counter, 1) != 1 ||
		    EVP_MAC_final(ctx, t, &t_len, sizeof(t)) != 1)
			goto out;
		n = out_len - done < t_len ? out_len - done : t_len;
		memcpy(out + done, t, n);
		done += n;
	}
	rc = 0;
out:
	OPENSSL_cleanse(t, sizeof(t));
	EVP_MAC_CTX_free(ctx);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/* ---- The keys of an IKE SA (§2.14, §2.18) --------------------------- */

/* Copies the next n bytes of keying material from p into key. */
static const uint8_t *
take(uint8_t *key, const uint8_t *p, size_t n)
{
	memcpy(key, p, n);
	return p + n;
}

/*
 * {SK_d, SK_ai, SK_ar, SK_ei, SK_er, SK_pi, SK_pr} = prf+(SKEYSEED,
 * Ni | Nr | SPIi | SPIr), in that order (§2.14), with s's PRF.
 */
static int
keys_expand(const struct ike_suite *s, const uint8_t *skeyseed,
    size_t skeyseed_len, const uint8_t *ni, size_t ni_len,
    const uint8_t *nr, size_t nr_len, uint64_t spi_i, uint64_t spi_r,
    struct ike_keys *k)
{
	uint8_t spis[16], km[3 * IKE_PRF_MAX + 2 * IKE_INTEG_KEY_MAX +
	    2 * IKE_ENCR_KEY_MAX];
	struct ike_buf seed[3];
	size_t total;
	const uint8_t *p;
	int i, rc;

	for (i = 0; i < 8; i++) {
		spis[i] = (uint8_t)(spi_i >> (56 - 8 * i));
		spis[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
	}
	seed[0] = (struct ike_buf){ ni, ni_len };
	seed[1] = (struct ike_buf){ nr, nr_len };
	seed[2] = (struct ike_buf){ spis, sizeof(spis) };

	memset(k, 0, sizeof(*k));
	k->suite = *s;
	k->prf_len = (uint8_t)ike_prf_len(s->prf);
	k->integ_len = (uint8_t)ike_integ_key_len(s->integ);
	k->encr_len = (uint8_t)ike_encr_key_len(s->encr, s->encr_bits);
	total = 3 * (size_t)k->prf_len + 2 * (size_t)k->integ_len +
	    2 * (size_t)k->encr_len;
	rc = ike_prf_plus(s->prf, skeyseed, skeyseed_len, seed, 3, km, total);
	if (rc != 0)
		goto out;
	p = km;
	p = take(k->sk_d, p, k->prf_len);
	p = take(k->sk_ai, p, k->integ_len);
	p = take(k->sk_ar, p, k->integ_len);
	p = take(k->sk_ei, p, k->encr_len);
	p = take(k->sk_er, p, k->encr_len);
	p = take(k->sk_pi, p, k->prf_len);
	(void)take(k->sk_pr, p, k->prf_len);	/* the last */
out:
	OPENSSL_cleanse(km, sizeof(km));
	if (rc != 0)
		ike_keys_wipe(k);
	return rc;
}

/*
 * SKEYSEED = prf(Ni | Nr, g^ir).  The HMAC PRFs take a key of any
 * length, so the whole nonces are the key; only AES-XCBC/CMAC PRFs (not
 * implemented) would take half of each (§2.14).
 */
int
ike_keys_derive(const struct ike_suite *s, const uint8_t *ni,
    size_t ni_len, const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
    size_t g_ir_len, uint64_t spi_i, uint64_t spi_r, struct ike_keys *k)
{
	uint8_t nonces[2 * IKE_NONCE_MAX], skeyseed[IKE_PRF_MAX];
	struct ike_buf in = { g_ir, g_ir_len };
	int rc;

	if (!keys_supported(s))
		return -ENOTSUP;
	if (ni_len > IKE_NONCE_MAX || nr_len > IKE_NONCE_MAX)
		return -EINVAL;
	memcpy(nonces, ni, ni_len);
	memcpy(nonces + ni_len, nr, nr_len);
	rc = ike_prf(s->prf, nonces, ni_len + nr_len, &in, 1, skeyseed);
	if (rc == 0)
		rc = keys_expand(s, skeyseed, ike_prf_len(s->prf), ni, ni_len,
		    nr, nr_len, spi_i, spi_r, k);
	OPENSSL_cleanse(nonces, sizeof(nonces));
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return rc;
}

/*
 * §2.18: the rekeying exchange belongs to the old SA, so SKEYSEED comes
 * from the old SA's PRF and SK_d; the new SA's PRF expands it.
 */
int
ike_keys_derive_rekey(const struct ike_keys *old,
    const struct ike_suite *s, const uint8_t *ni, size_t ni_len,
    const uint8_t *nr, size_t nr_len, const uint8_t *g_ir, size_t g_ir_len,
    uint64_t spi_i, uint64_t spi_r, struct ike_keys *k)
{
	struct ike_buf in[3] = {
		{ g_ir, g_ir_len }, { ni, ni_len }, { nr, nr_len },
	};
	uint8_t skeyseed[IKE_PRF_MAX];
	int rc;

	if (!keys_supported(s))
		return -ENOTSUP;
	rc = ike_prf(old->suite.prf, old->sk_d, old->prf_len, in, 3,
	    skeyseed);
	if (rc == 0)
		rc = keys_expand(s, skeyseed, ike_prf_len(old->suite.prf), ni,
		    ni_len, nr, nr_len, spi_i, spi_r, k);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return rc;
}

void
ike_keys_wipe(struct ike_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int
ike_child_keymat(const struct ike_keys *k, const uint8_t *g_ir,
    size_t g_ir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
    size_t nr_len, uint8_t *out, size_t out_len)
{
	struct ike_buf seed[3];
	unsigned n = 0;

	if (g_ir != NULL)
		seed[n++] = (struct ike_buf){ g_ir, g_ir_len };
	seed[n++] = (struct ike_buf){ ni, ni_len };
	seed[n++] = (struct ike_buf){ nr, nr_len };
	return ike_prf_plus(k->suite.prf, k->sk_d, k->prf_len, seed, n, out,
	    out_len);
}

/* ---- Diffie-Hellman (§2.10; RFC 3526, 5903, 8031) ------------------- */

struct ike_dh {
	const struct dh_alg *alg;
	EVP_PKEY *key;		/* EVP_PKEY_free clears the private part */
};

int
ike_dh_new(struct ike_dh **out, uint16_t group)
{
	const struct dh_alg *a = dh_alg(group);
	EVP_PKEY_CTX *ctx = NULL;
	struct ike_dh *dh;
	int rc = -ENOMEM;

	*out = NULL;
	if (a == NULL)
		return -ENOTSUP;
	if ((dh = calloc(1, sizeof(*dh))) == NULL)
		return -ENOMEM;
	dh->alg = a;
	switch (a->kind) {
	case DH_MODP:
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		break;
	case DH_ECP:
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		break;
	case DH_MONT:
		ctx = EVP_PKEY_CTX_new_from_name(NULL, a->name, NULL);
		break;
	}
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1)
		goto out;
	if (a->kind != DH_MONT &&
	    EVP_PKEY_CTX_set_group_name(ctx, a->name) != 1)
		goto out;
	if (EVP_PKEY_generate(ctx, &dh->key) != 1)
		goto out;
	*out = dh;
	dh = NULL;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	ike_dh_free(dh);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

uint16_t
ike_dh_group(const struct ike_dh *dh)
{
	return dh->alg->id;
}

int
ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t cap,
    size_t *len)
{
	const struct dh_alg *a = dh->alg;
	uint8_t pt[1 + 2 * 66];	/* 0x04 | x | y of P-521 */
	BIGNUM *y = NULL;
	size_t n;
	int rc = -EIO;

	if (cap < a->pub_len)
		return -ENOSPC;
	switch (a->kind) {
	case DH_MODP:
		/* §3.4: zero-padded to the length of the prime. */
		if (EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY,
		    &y) != 1 || BN_bn2binpad(y, out, a->pub_len) < 0)
			goto out;
		break;
	case DH_ECP:
		if (EVP_PKEY_get_octet_string_param(dh->key,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n) != 1 ||
		    n != 1 + (size_t)a->pub_len ||
		    pt[0] != EC_POINT_UNCOMPRESSED)
			goto out;
		memcpy(out, pt + 1, a->pub_len);	/* RFC 5903 §7 */
		break;
	case DH_MONT:
		n = cap;
		if (EVP_PKEY_get_raw_public_key(dh->key, out, &n) != 1 ||
		    n != a->pub_len)
			goto out;
		break;
	}
	*len = a->pub_len;
	rc = 0;
out:
	BN_free(y);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/*
 * MODP (RFC 7296 §2.10 and NIST SP 800-56A): a public value must lie in
 * 1 < y < p-1; 0, 1 and p-1 would force the secret into a set of one or
 * two values whatever our exponent.
 */
static bool
modp_in_range(const EVP_PKEY *own, const BIGNUM *y)
{
	BIGNUM *p = NULL, *pm1 = NULL;
	bool ok = false;

	if (EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
	    (pm1 = BN_dup(p)) == NULL || BN_sub_word(pm1, 1) != 1)
		goto out;
	ok = BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, pm1) < 0;
out:
	BN_free(p);
	BN_free(pm1);
	return ok;
}

/*
 * The peer's KE data as an EVP_PKEY of our group, or NULL if it is no
 * valid public value of it.  ECP: OpenSSL refuses a point that is not on
 * the curve when the key is made.
 */
static EVP_PKEY *
peer_key(const struct ike_dh *dh, const uint8_t *peer, size_t peer_len)
{
	const struct dh_alg *a = dh->alg;
	uint8_t pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *y = NULL;

	if (a->kind == DH_MONT)
		return EVP_PKEY_new_raw_public_key_ex(NULL, a->name, NULL, peer,
		    peer_len);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    a->name, 0) != 1)
		goto out;
	if (a->kind == DH_MODP) {
		if ((y = BN_bin2bn(peer, (int)peer_len, NULL)) == NULL ||
		    !modp_in_range(dh->key, y) ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) != 1)
			goto out;
	} else {
		pt[0] = EC_POINT_UNCOMPRESSED;
		memcpy(pt + 1, peer, peer_len);
		if (OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + peer_len) != 1)
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL,
	    a->kind == DH_MODP ? "DH" : "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
out:
	BN_free(y);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static bool
all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

int
ike_dh_shared(const struct ike_dh *dh, const uint8_t *peer,
    size_t peer_len, uint8_t *out, size_t cap, size_t *len)
{
	const struct dh_alg *a = dh->alg;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	size_t n = cap;
	int rc = -EINVAL;

	if (peer_len != a->pub_len)
		return -EINVAL;
	if (cap < a->secret_len)
		return -ENOSPC;
	/*
	 * derive_set_peer_ex(..., 1) runs OpenSSL's public key check too:
	 * for MODP that y^q = 1 (mod p), for ECP that the point is in the
	 * group.
	 */
	if ((pk = peer_key(dh, peer, peer_len)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, pk, 1) != 1)
		goto out;
	/* §2.14: g^ir keeps its leading zeros, the length of the prime. */
	if (a->kind == DH_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1) {
		rc = -EIO;
		goto out;
	}
	/*
	 * X25519/X448 fail here on a low-order point (an all-zero result,
	 * RFC 8031 §2.1); checked again below in case a provider does not.
	 */
	if (EVP_PKEY_derive(ctx, out, &n) != 1) {
		rc = a->kind == DH_MONT ? -EINVAL : -EIO;
		goto out;
	}
	if (n != a->secret_len) {
		rc = -EIO;
		goto out;
	}
	if (a->kind == DH_MONT && all_zero(out, n)) {
		OPENSSL_cleanse(out, n);
		goto out;
	}
	*len = n;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

void
ike_dh_free(struct ike_dh *dh)
{
	if (dh == NULL)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

/* ---- The SK payload (§3.14; RFC 5282; RFC 7634) --------------------- */

/*
 * The cipher of an SK payload set up for one message: key (and salt) of
 * the sender, IV from the wire.  enc: encrypt.  NULL on failure.
 */
static EVP_CIPHER_CTX *
sk_cipher(const struct ike_keys *k, bool initiator, const uint8_t *iv,
    int enc)
{
	const struct ike_suite *s = &k->suite;
	const uint8_t *key = initiator ? k->sk_ei : k->sk_er;
	const char *name = encr_cipher_name(s->encr, s->encr_bits);
	uint8_t nonce[AEAD_NONCE_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_CIPHER *c = NULL;
	bool ok = false;

	if (name == NULL || (c = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (ike_encr_is_aead(s->encr)) {
		/* RFC 5282 §4, RFC 7634 §2: nonce = salt | IV. */
		memcpy(nonce, key + k->encr_len - AEAD_SALT_LEN,
		    AEAD_SALT_LEN);
		memcpy(nonce + AEAD_SALT_LEN, iv, sizeof(nonce) -
		    AEAD_SALT_LEN);
		ok = EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL) == 1 &&
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
		    AEAD_NONCE_LEN, NULL) == 1 &&
		    EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) == 1;
	} else {
		ok = EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL) == 1 &&
		    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;	/* ours */
	}
out:
	EVP_CIPHER_free(c);	/* ctx holds its own reference */
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* The CBC suites' ICV: HMAC over msg[0, len), truncated, into icv. */
static int
sk_integ(const struct ike_keys *k, bool initiator, const uint8_t *msg,
    size_t len, uint8_t *icv)
{
	const struct integ_alg *a = integ_alg(k->suite.integ);
	struct ike_buf in = { msg, len };
	uint8_t mac[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx;
	int rc;

	if (a == NULL)
		return -ENOTSUP;
	if ((ctx = hmac_new(a->digest)) == NULL)
		return -ENOMEM;
	rc = hmac_run(ctx, initiator ? k->sk_ai : k->sk_ar, k->integ_len,
	    &in, 1, mac, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	if (rc == 0)
		memcpy(icv, mac, a->icv_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Runs ctx over len bytes in place (EVP allows out == in). */
static bool
cipher_in_place(EVP_CIPHER_CTX *ctx, uint8_t *p, size_t len)
{
	int n;

	while (len > 0) {
		int chunk = len > INT32_MAX / 2 ? INT32_MAX / 2 : (int)len;

		if (EVP_CipherUpdate(ctx, p, &n, p, chunk) != 1 || n != chunk)
			return false;
		p += chunk;
		len -= (size_t)chunk;
	}
	return true;
}

static size_t
sk_icv_len(const struct ike_suite *s)
{
	return ike_encr_is_aead(s->encr) ? ike_encr_icv_len(s->encr) :
	    ike_integ_icv_len(s->integ);
}

/*
 * Padding (§3.14): pad bytes and the Pad Length byte bring the plaintext
 * to a multiple of the block.  The AEAD modes are stream ciphers with a
 * block of 1 (RFC 5282 §3), so they get no pad bytes, only the length
 * byte of 0, as strongSwan sends too.
 */
/* An SK payload, or with total != 0 an SKF (RFC 7383 §2.5): its Fragment
 * Number and Total Fragments stand between the generic header and the
 * IV, and are part of what the ICV covers. */
static long
sk_seal(const struct ike_keys *k, bool initiator, const struct ike_hdr *h,
    uint8_t first_inner, uint16_t num, uint16_t total_frags,
    const uint8_t *inner, size_t inner_len, uint8_t *out, size_t cap)
{
	const struct ike_suite *s = &k->suite;
	const bool aead = ike_encr_is_aead(s->encr);
	const size_t iv_len = ike_encr_iv_len(s->encr);
	const size_t icv_len = sk_icv_len(s);
	const size_t skf = total_frags != 0 ? 4 : 0;
	const size_t hdrs = IKE_HDR_LEN + IKE_GEN_HDR_LEN + skf;
	size_t pad, pt_len, sk_len, total;
	EVP_CIPHER_CTX *ctx = NULL;
	struct ike_writer w;
	uint8_t *iv, *pt;
	long rc = -EIO;
	int n;

	if (!keys_supported(s))
		return -ENOTSUP;
	pad = aead ? 0 : (AES_BLOCK - (inner_len + 1) % AES_BLOCK) % AES_BLOCK;
	pt_len = inner_len + pad + 1;
	sk_len = IKE_GEN_HDR_LEN + skf + iv_len + pt_len + icv_len;
	total = IKE_HDR_LEN + sk_len;
	if (inner_len > UINT16_MAX || sk_len > UINT16_MAX || total > cap)
		return -ENOSPC;

	/* First, as inner may already lie in out (where it goes, ideally). */
	iv = out + hdrs;
	pt = iv + iv_len;
	memmove(pt, inner, inner_len);
	memset(pt + inner_len, 0, pad);
	pt[inner_len + pad] = (uint8_t)pad;

	ike_w_init(&w, out, cap, h);
	out[16] = skf != 0 ? IKE_PL_SKF : IKE_PL_SK;
	out[24] = (uint8_t)(total >> 24);
	out[25] = (uint8_t)(total >> 16);
	out[26] = (uint8_t)(total >> 8);
	out[27] = (uint8_t)total;
	out[IKE_HDR_LEN] = first_inner;
	out[IKE_HDR_LEN + 1] = 0;
	out[IKE_HDR_LEN + 2] = (uint8_t)(sk_len >> 8);
	out[IKE_HDR_LEN + 3] = (uint8_t)sk_len;
	if (skf != 0) {
		uint8_t *f = out + IKE_HDR_LEN + IKE_GEN_HDR_LEN;

		f[0] = (uint8_t)(num >> 8);
		f[1] = (uint8_t)num;
		f[2] = (uint8_t)(total_frags >> 8);
		f[3] = (uint8_t)total_frags;
	}

	if (ike_random(iv, iv_len) != 0 ||
	    (ctx = sk_cipher(k, initiator, iv, 1)) == NULL)
		goto out;
	/* RFC 5282 §5.1: the associated data is everything up to the IV. */
	if (aead && EVP_EncryptUpdate(ctx, NULL, &n, out, (int)hdrs) != 1)
		goto out;
	if (!cipher_in_place(ctx, pt, pt_len) ||
	    EVP_EncryptFinal_ex(ctx, pt + pt_len, &n) != 1 || n != 0)
		goto out;
	if (aead) {
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
		    (int)icv_len, pt + pt_len) != 1)
			goto out;
	} else if (sk_integ(k, initiator, out, total - icv_len,
	    pt + pt_len) != 0)
		goto out;
	rc = (long)total;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc < 0) {
		OPENSSL_cleanse(out, total);
		ERR_clear_error();
	}
	return rc;
}

long
ike_sk_seal(const struct ike_keys *k, bool initiator,
    const struct ike_hdr *h, uint8_t first_inner, const uint8_t *inner,
    size_t inner_len, uint8_t *out, size_t cap)
{
	return sk_seal(k, initiator, h, first_inner, 0, 0, inner, inner_len,
	    out, cap);
}

long
ike_skf_seal(const struct ike_keys *k, bool initiator,
    const struct ike_hdr *h, uint8_t first_inner, uint16_t num,
    uint16_t total, const uint8_t *inner, size_t inner_len, uint8_t *out,
    size_t cap)
{
	if (num == 0 || total == 0 || num > total)
		return -EINVAL;
	return sk_seal(k, initiator, h, first_inner, num, total, inner,
	    inner_len, out, cap);
}

/*
 * Checks an AEAD ICV without writing the plaintext anywhere: the
 * contract leaves msg untouched after a failed ICV, but EVP reports the
 * tag only after all of the plaintext has been produced.  So a first pass
 * decrypts into a scratch block and throws it away; only when the tag is
 * right does a second pass decrypt in place.  IKE messages are a few KiB
 * on the control thread: twice the work, no allocation.
 */
static int
aead_check(const struct ike_keys *k, bool initiator, const uint8_t *msg,
    size_t aad_len, const uint8_t *iv, const uint8_t *ct, size_t ct_len,
    const uint8_t *icv, size_t icv_len)
{
	uint8_t scratch[256];
	EVP_CIPHER_CTX *ctx;
	int n, rc = -EBADMSG;
	size_t off, chunk;

	if ((ctx = sk_cipher(k, initiator, iv, 0)) == NULL)
		return -EIO;
	if (EVP_DecryptUpdate(ctx, NULL, &n, msg, (int)aad_len) != 1)
		goto out;
	for (off = 0; off < ct_len; off += chunk) {
		chunk = ct_len - off < sizeof(scratch) ? ct_len - off :
		    sizeof(scratch);
		if (EVP_DecryptUpdate(ctx, scratch, &n, ct + off,
		    (int)chunk) != 1)
			goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)icv_len,
	    (void *)icv) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, scratch, &n) == 1)
		rc = 0;
out:
	OPENSSL_cleanse(scratch, sizeof(scratch));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Decrypts ct in place, the ICV already checked. */
static int
sk_decrypt(const struct ike_keys *k, bool initiator, const uint8_t *msg,
    size_t aad_len, const uint8_t *iv, uint8_t *ct, size_t ct_len,
    const uint8_t *icv, size_t icv_len)
{
	EVP_CIPHER_CTX *ctx;
	int n, rc = -EIO;

	if ((ctx = sk_cipher(k, initiator, iv, 0)) == NULL)
		return -EIO;
	if (ike_encr_is_aead(k->suite.encr) &&
	    (EVP_DecryptUpdate(ctx, NULL, &n, msg, (int)aad_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)icv_len,
	    (void *)icv) != 1))
		goto out;
	if (cipher_in_place(ctx, ct, ct_len) &&
	    EVP_DecryptFinal_ex(ctx, ct + ct_len, &n) == 1 && n == 0)
		rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
ike_sk_open(const struct ike_keys *k, bool initiator, uint8_t *msg,
    size_t len, const struct ike_msg *m, size_t *plain_len)
{
	const struct ike_suite *s = &k->suite;
	const size_t iv_len = ike_encr_iv_len(s->encr);
	const size_t icv_len = sk_icv_len(s);
	uint8_t icv[IKE_INTEG_KEY_MAX];
	const struct ike_payload *pl = NULL;
	size_t aad_len, ct_len, inner_len, new_len, np, off, skf;
	uint8_t *iv, *ct, pad_len;
	unsigned i;
	int rc;

	if (!keys_supported(s))
		return -ENOTSUP;
	if (m->buf != msg || m->len != len)
		return -EINVAL;
	for (i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].type == IKE_PL_SK ||
		    m->payloads[i].type == IKE_PL_SKF)
			pl = &m->payloads[i];
	/* The codec has made SK the last payload, ending at len.  SKF's
	 * fragment fields lie before the IV and are associated data. */
	skf = pl != NULL && pl->type == IKE_PL_SKF ? 4 : 0;
	if (pl == NULL || pl->off + IKE_GEN_HDR_LEN + pl->body_len != len ||
	    pl->body_len < skf + iv_len + 1 + icv_len)
		return -EINVAL;
	aad_len = pl->off + IKE_GEN_HDR_LEN + skf;
	iv = msg + aad_len;
	ct = iv + iv_len;
	ct_len = pl->body_len - skf - iv_len - icv_len;

	if (ike_encr_is_aead(s->encr)) {
		rc = aead_check(k, initiator, msg, aad_len, iv, ct, ct_len,
		    ct + ct_len, icv_len);
	} else {
		/* Encrypt-then-MAC: nothing is decrypted before this. */
		if (ct_len % AES_BLOCK != 0)
			return -EINVAL;
		rc = sk_integ(k, initiator, msg, len - icv_len, icv);
		if (rc == 0 && CRYPTO_memcmp(icv, ct + ct_len, icv_len) != 0)
			rc = -EBADMSG;
		OPENSSL_cleanse(icv, sizeof(icv));
	}
	if (rc == 0)
		rc = sk_decrypt(k, initiator, msg, aad_len, iv, ct, ct_len,
		    ct + ct_len, icv_len);
	if (rc != 0) {
		ERR_clear_error();
		return rc;
	}

	pad_len = ct[ct_len - 1];
	if ((size_t)pad_len + 1 > ct_len) {
		OPENSSL_cleanse(ct, ct_len);
		return -EBADMSG;
	}
	inner_len = ct_len - pad_len - 1;
	new_len = pl->off + inner_len;

	/*
	 * The inner chain takes the SK payload's place in the outer one.
	 * The next-payload byte that names SK is found by walking the chain
	 * (m may not list a skipped unknown payload); the codec has already
	 * bounded every length on the way.
	 */
	for (np = 16, off = IKE_HDR_LEN; off < pl->off;
	    off += (size_t)msg[off + 2] << 8 | msg[off + 3])
		np = off;
	memmove(msg + pl->off, ct, inner_len);
	msg[np] = pl->next;
	msg[24] = (uint8_t)(new_len >> 24);
	msg[25] = (uint8_t)(new_len >> 16);
	msg[26] = (uint8_t)(new_len >> 8);
	msg[27] = (uint8_t)new_len;
	/* What is left behind is stale plaintext, padding and the ICV. */
	OPENSSL_cleanse(msg + new_len, len - new_len);
	*plain_len = new_len;
	return 0;
}

/* ---- Authentication and NAT detection ------------------------------- */

long
ike_auth_octets(uint16_t prf, const uint8_t *msg, size_t msg_len,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sk_p,
    size_t sk_p_len, const uint8_t *id, size_t id_len, uint8_t *out,
    size_t cap)
{
	struct ike_buf in = { id, id_len };
	size_t plen = ike_prf_len(prf);
	int rc;

	if (plen == 0)
		return -ENOTSUP;
	if (cap < msg_len || cap - msg_len < nonce_len ||
	    cap - msg_len - nonce_len < plen)
		return -ENOSPC;
	memmove(out, msg, msg_len);
	memmove(out + msg_len, nonce, nonce_len);
	rc = ike_prf(prf, sk_p, sk_p_len, &in, 1, out + msg_len + nonce_len);
	if (rc != 0)
		return rc;
	return (long)(msg_len + nonce_len + plen);
}

/* §2.15: the pad is the 17 ASCII bytes, without a terminating NUL. */
static const char key_pad[] = "Key Pad for IKEv2";

int
ike_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
    const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
    const uint8_t *id, size_t id_len, uint8_t *out)
{
	uint8_t padded[IKE_PRF_MAX], maced_id[IKE_PRF_MAX];
	struct ike_buf in[3];
	size_t plen = ike_prf_len(prf);
	int rc;

	if (plen == 0)
		return -ENOTSUP;
	in[0] = (struct ike_buf){ id, id_len };
	if ((rc = ike_prf(prf, sk_p, sk_p_len, in, 1, maced_id)) != 0)
		goto out;
	in[0] = (struct ike_buf){ (const uint8_t *)key_pad,
	    sizeof(key_pad) - 1 };
	if ((rc = ike_prf(prf, psk, psk_len, in, 1, padded)) != 0)
		goto out;
	in[0] = (struct ike_buf){ msg, msg_len };
	in[1] = (struct ike_buf){ nonce, nonce_len };
	in[2] = (struct ike_buf){ maced_id, plen };
	rc = ike_prf(prf, padded, plen, in, 3, out);
out:
	OPENSSL_cleanse(padded, sizeof(padded));
	OPENSSL_cleanse(maced_id, sizeof(maced_id));
	return rc;
}

void
ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const uint8_t *addr,
    size_t addr_len, uint16_t port, uint8_t out[IKE_NAT_HASH_LEN])
{
	uint8_t in[8 + 8 + 16 + 2];
	size_t n = 0;
	int i;

	for (i = 0; i < 8; i++)
		in[n++] = (uint8_t)(spi_i >> (56 - 8 * i));
	for (i = 0; i < 8; i++)
		in[n++] = (uint8_t)(spi_r >> (56 - 8 * i));
	if (addr_len > 16)
		addr_len = 16;
	memcpy(in + n, addr, addr_len);
	n += addr_len;
	in[n++] = (uint8_t)(port >> 8);
	in[n++] = (uint8_t)port;
	/*
	 * SHA-1 cannot fail short of a broken library; if it does, a hash
	 * of zeros never matches the peer's, and a NAT is assumed: the safe
	 * side, since UDP 4500 works with or without one.
	 */
	if (EVP_Digest(in, n, out, NULL, EVP_sha1(), NULL) != 1) {
		memset(out, 0, IKE_NAT_HASH_LEN);
		ERR_clear_error();
	}
}
