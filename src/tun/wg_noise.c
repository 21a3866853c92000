/*
 * src/tun/wg_noise.c: WireGuard's handshake (wg_noise.h).
 *
 * The functions that make and take messages read like the protocol: a
 * comment names each Noise step (e, es, s, ss, {t}, ee, se, psk), and
 * every failure leaves through one label that wipes what the step held.
 * Received bytes are first bounded (wg_msg_check and the *_parse
 * functions), and only then given meaning.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "../lib/bytes.h"
#include "wg_noise.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static const char *const err_text[WG_E_COUNT] = {
#define WG_ERR_TEXT(e, text) [WG_E_##e] = text,
	WG_ERRS(WG_ERR_TEXT)
#undef WG_ERR_TEXT
};

const char *
wg_err_str(enum wg_err_code code)
{
	if ((unsigned)code >= WG_E_COUNT)
		return "unknown error";
	return err_text[code];
}

static int
fail(struct wg_err *err, enum wg_err_code code, uint32_t off)
{
	if (err != NULL) {
		err->code = code;
		err->off = off;
	}
	return -1;
}

/* ---- Codec ---------------------------------------------------------- */

/* Offsets of the fields, from the whitepaper's layouts. */
enum {
	INI_SENDER = 4, INI_EPHEMERAL = 8, INI_STATIC = 40,
	INI_TIMESTAMP = 88, INI_MAC1 = 116, INI_MAC2 = 132,
	RSP_SENDER = 4, RSP_RECEIVER = 8, RSP_EPHEMERAL = 12,
	RSP_EMPTY = 44, RSP_MAC1 = 60, RSP_MAC2 = 76,
	CKR_RECEIVER = 4, CKR_NONCE = 8, CKR_COOKIE = 32,
	TRN_RECEIVER = 4, TRN_COUNTER = 8,
};

int
wg_msg_check(const uint8_t *msg, size_t len, struct wg_err *err)
{
	size_t want;
	int i;

	if (len < 4)
		return fail(err, WG_E_SHORT, (uint32_t)len);
	for (i = 1; i < 4; i++)
		if (msg[i] != 0)
			return fail(err, WG_E_RESERVED, i);
	switch (msg[0]) {
	case WG_MSG_INITIATION:
		want = WG_INITIATION_LEN;
		break;
	case WG_MSG_RESPONSE:
		want = WG_RESPONSE_LEN;
		break;
	case WG_MSG_COOKIE_REPLY:
		want = WG_COOKIE_REPLY_LEN;
		break;
	case WG_MSG_TRANSPORT:
		/* Any length from an empty (keepalive) payload up. */
		if (len < WG_TRANSPORT_MIN_LEN)
			return fail(err, WG_E_SHORT, (uint32_t)len);
		return WG_MSG_TRANSPORT;
	default:
		return fail(err, WG_E_TYPE, 0);
	}
	/* The offset named is where the message ends or should have. */
	if (len < want)
		return fail(err, WG_E_SHORT, (uint32_t)len);
	if (len > want)
		return fail(err, WG_E_LONG, (uint32_t)want);
	return msg[0];
}

static int
check_type(const uint8_t *msg, size_t len, int type, struct wg_err *err)
{
	int t;

	if ((t = wg_msg_check(msg, len, err)) < 0)
		return -1;
	if (t != type)
		return fail(err, WG_E_TYPE, 0);
	return 0;
}

int
wg_initiation_parse(const uint8_t *msg, size_t len,
    struct wg_initiation *out, struct wg_err *err)
{
	if (check_type(msg, len, WG_MSG_INITIATION, err) < 0)
		return -1;
	out->sender = hg_rd32le(msg + INI_SENDER);
	memcpy(out->ephemeral, msg + INI_EPHEMERAL, sizeof(out->ephemeral));
	memcpy(out->enc_static, msg + INI_STATIC, sizeof(out->enc_static));
	memcpy(out->enc_timestamp, msg + INI_TIMESTAMP,
	    sizeof(out->enc_timestamp));
	memcpy(out->mac1, msg + INI_MAC1, WG_MAC_LEN);
	memcpy(out->mac2, msg + INI_MAC2, WG_MAC_LEN);
	return 0;
}

int
wg_response_parse(const uint8_t *msg, size_t len, struct wg_response *out,
    struct wg_err *err)
{
	if (check_type(msg, len, WG_MSG_RESPONSE, err) < 0)
		return -1;
	out->sender = hg_rd32le(msg + RSP_SENDER);
	out->receiver = hg_rd32le(msg + RSP_RECEIVER);
	memcpy(out->ephemeral, msg + RSP_EPHEMERAL, sizeof(out->ephemeral));
	memcpy(out->enc_empty, msg + RSP_EMPTY, sizeof(out->enc_empty));
	memcpy(out->mac1, msg + RSP_MAC1, WG_MAC_LEN);
	memcpy(out->mac2, msg + RSP_MAC2, WG_MAC_LEN);
	return 0;
}

int
wg_cookie_reply_parse(const uint8_t *msg, size_t len,
    struct wg_cookie_reply *out, struct wg_err *err)
{
	if (check_type(msg, len, WG_MSG_COOKIE_REPLY, err) < 0)
		return -1;
	out->receiver = hg_rd32le(msg + CKR_RECEIVER);
	memcpy(out->nonce, msg + CKR_NONCE, sizeof(out->nonce));
	memcpy(out->enc_cookie, msg + CKR_COOKIE, sizeof(out->enc_cookie));
	return 0;
}

int
wg_transport_hdr_parse(const uint8_t *msg, size_t len,
    struct wg_transport_hdr *out, struct wg_err *err)
{
	if (check_type(msg, len, WG_MSG_TRANSPORT, err) < 0)
		return -1;
	out->receiver = hg_rd32le(msg + TRN_RECEIVER);
	out->counter = hg_rd64le(msg + TRN_COUNTER);
	out->data_len = len - WG_TRANSPORT_HDR_LEN;
	return 0;
}

static void
put_header(uint8_t *out, uint8_t type)
{
	out[0] = type;
	out[1] = out[2] = out[3] = 0;
}

void
wg_initiation_encode(const struct wg_initiation *m,
    uint8_t out[WG_INITIATION_LEN])
{
	put_header(out, WG_MSG_INITIATION);
	hg_wr32le(out + INI_SENDER, m->sender);
	memcpy(out + INI_EPHEMERAL, m->ephemeral, sizeof(m->ephemeral));
	memcpy(out + INI_STATIC, m->enc_static, sizeof(m->enc_static));
	memcpy(out + INI_TIMESTAMP, m->enc_timestamp,
	    sizeof(m->enc_timestamp));
	memcpy(out + INI_MAC1, m->mac1, WG_MAC_LEN);
	memcpy(out + INI_MAC2, m->mac2, WG_MAC_LEN);
}

void
wg_response_encode(const struct wg_response *m, uint8_t out[WG_RESPONSE_LEN])
{
	put_header(out, WG_MSG_RESPONSE);
	hg_wr32le(out + RSP_SENDER, m->sender);
	hg_wr32le(out + RSP_RECEIVER, m->receiver);
	memcpy(out + RSP_EPHEMERAL, m->ephemeral, sizeof(m->ephemeral));
	memcpy(out + RSP_EMPTY, m->enc_empty, sizeof(m->enc_empty));
	memcpy(out + RSP_MAC1, m->mac1, WG_MAC_LEN);
	memcpy(out + RSP_MAC2, m->mac2, WG_MAC_LEN);
}

void
wg_cookie_reply_encode(const struct wg_cookie_reply *m,
    uint8_t out[WG_COOKIE_REPLY_LEN])
{
	put_header(out, WG_MSG_COOKIE_REPLY);
	hg_wr32le(out + CKR_RECEIVER, m->receiver);
	memcpy(out + CKR_NONCE, m->nonce, sizeof(m->nonce));
	memcpy(out + CKR_COOKIE, m->enc_cookie, sizeof(m->enc_cookie));
}

void
wg_transport_hdr_encode(uint32_t receiver, uint64_t counter,
    uint8_t out[WG_TRANSPORT_HDR_LEN])
{
	put_header(out, WG_MSG_TRANSPORT);
	hg_wr32le(out + TRN_RECEIVER, receiver);
	hg_wr64le(out + TRN_COUNTER, counter);
}

/* ---- Primitives ----------------------------------------------------- */

struct span {
	const void *p;
	size_t len;
};

/* HASH: BLAKE2s-256 over the concatenation of in[]. */
static int
hash(uint8_t out[WG_HASH_LEN], const struct span *in, unsigned n)
{
	EVP_MD_CTX *ctx;
	unsigned i, olen = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_blake2s256(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, in[i].p, in[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &olen) == 1 &&
	    olen == WG_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
hash2(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b,
    size_t blen)
{
	struct span in[2] = { { a, alen }, { b, blen } };

	return hash(out, in, 2);
}

/* H = HASH(H || data): the Noise MixHash. */
static int
mix_hash(uint8_t h[WG_HASH_LEN], const void *data, size_t len)
{
	return hash2(h, h, WG_HASH_LEN, data, len);
}

/*
 * A MAC through EVP_MAC: keyed BLAKE2s with a 16-byte output (MAC), or
 * HMAC over BLAKE2s-256 (HMAC, the KDF's).  The key is 16 or 32 bytes.
 */
static int
evp_mac(const char *alg, uint8_t *out, size_t out_len, const uint8_t *key,
    size_t key_len, const struct span *in, unsigned n)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;
	size_t size = out_len, olen = 0;
	unsigned i;
	int ok;

	if (strcmp(alg, OSSL_MAC_NAME_HMAC) == 0)
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"BLAKE2S-256", 0);
	else
		params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE,
		    &size);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, alg, NULL)) == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* ctx holds its own reference */
	ok = ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) == 1 &&
	    EVP_MAC_init(ctx, key, key_len, NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, in[i].p, in[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &olen, out_len) == 1 &&
	    olen == out_len;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
mac16(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len,
    const uint8_t *data, size_t len)
{
	struct span in = { data, len };

	return evp_mac("BLAKE2SMAC", out, WG_MAC_LEN, key, key_len, &in, 1);
}

static int
hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN],
    const struct span *in, unsigned n)
{
	return evp_mac(OSSL_MAC_NAME_HMAC, out, WG_HASH_LEN, key, WG_HASH_LEN,
	    in, n);
}

/*
 * KDF_n(key, input): t0 = HMAC(key, input), t1 = HMAC(t0, 0x1),
 * t_i = HMAC(t0, t_(i-1) || i).  out[i] may be NULL for an output the
 * caller does not keep; n is 1 to 3.
 */
static int
kdf(uint8_t *out[3], unsigned n, const uint8_t key[WG_HASH_LEN],
    const void *input, size_t len)
{
	uint8_t t0[WG_HASH_LEN], t[WG_HASH_LEN];
	struct span in[2];
	unsigned i;
	uint8_t c;
	int rc = -1;

	in[0] = (struct span){ input, len };
	if (hmac(t0, key, in, 1) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		c = i + 1;
		in[0] = (struct span){ t, i == 0 ? 0 : WG_HASH_LEN };
		in[1] = (struct span){ &c, 1 };
		if (hmac(t, t0, in, 2) < 0)
			goto out;
		if (out[i] != NULL)
			memcpy(out[i], t, WG_HASH_LEN);
	}
	rc = 0;
out:
	OPENSSL_cleanse(t0, sizeof(t0));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

/* AEAD: ChaCha20-Poly1305, nonce = 32 zero bits || 64-bit LE counter. */
static int
aead(bool enc, uint8_t *out, const uint8_t key[WG_KEY_LEN], uint64_t counter,
    const uint8_t *in, size_t in_len, const uint8_t *ad, size_t ad_len)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[12] = { 0 };
	uint8_t tag[WG_AEAD_TAG_LEN];
	size_t text_len;
	int n, ok;

	if (!enc && in_len < WG_AEAD_TAG_LEN)
		return -1;
	text_len = enc ? in_len : in_len - WG_AEAD_TAG_LEN;
	hg_wr64le(nonce + 4, counter);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce,
	    enc) == 1;
	if (ok && !enc) {
		memcpy(tag, in + text_len, sizeof(tag));
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
		    sizeof(tag), tag) == 1;
	}
	ok = ok && EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) == 1;
	/* OpenSSL wants a non-NULL output even for no text. */
	ok = ok && (text_len == 0 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)text_len) == 1);
	ok = ok && EVP_CipherFinal_ex(ctx, out + text_len, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
		    WG_AEAD_TAG_LEN, out + text_len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
x25519_key(EVP_PKEY **pk, const uint8_t priv[WG_KEY_LEN])
{
	*pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    WG_KEY_LEN);
	return *pk != NULL ? 0 : -1;
}

int
wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	EVP_PKEY *pk;
	size_t len = WG_KEY_LEN;
	int ok;

	if (x25519_key(&pk, priv) < 0)
		return -1;
	ok = EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 &&
	    len == WG_KEY_LEN;
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

/*
 * DH(priv, pub).  -1 with WG_E_DH for an all-zero result (a low-order
 * point: the peer would know the secret), WG_E_CRYPTO otherwise.
 */
static int
dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
    const uint8_t pub[WG_KEY_LEN], enum wg_err_code *why)
{
	static const uint8_t zero[WG_KEY_LEN];
	EVP_PKEY *mine = NULL, *theirs = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = WG_KEY_LEN;
	int rc = -1;

	*why = WG_E_CRYPTO;
	if (x25519_key(&mine, priv) < 0 ||
	    (theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub,
	    WG_KEY_LEN)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(mine, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, theirs) != 1)
		goto out;
	/* OpenSSL itself refuses an all-zero result here. */
	if (EVP_PKEY_derive(ctx, out, &len) != 1 || len != WG_KEY_LEN ||
	    CRYPTO_memcmp(out, zero, WG_KEY_LEN) == 0) {
		*why = WG_E_DH;
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(theirs);
	EVP_PKEY_free(mine);
	return rc;
}

static int
keygen(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN])
{
	if (RAND_bytes(priv, WG_KEY_LEN) != 1)
		return -1;
	/* Clamped as Curve25519 uses it, so what we hold is what we use. */
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	return wg_pubkey(pub, priv);
}

/* ---- Keys ----------------------------------------------------------- */

static int
derive_mac_keys(uint8_t mac1_key[WG_HASH_LEN],
    uint8_t cookie_key[WG_HASH_LEN], const uint8_t pub[WG_KEY_LEN])
{
	if (hash2(mac1_key, label_mac1, strlen(label_mac1), pub,
	    WG_KEY_LEN) < 0 ||
	    hash2(cookie_key, label_cookie, strlen(label_cookie), pub,
	    WG_KEY_LEN) < 0)
		return -1;
	return 0;
}

int
wg_static_init(struct wg_static *s, const uint8_t priv[WG_KEY_LEN])
{
	memset(s, 0, sizeof(*s));
	memcpy(s->priv, priv, WG_KEY_LEN);
	if (wg_pubkey(s->pub, s->priv) < 0 ||
	    derive_mac_keys(s->mac1_key, s->cookie_key, s->pub) < 0) {
		OPENSSL_cleanse(s, sizeof(*s));
		return -1;
	}
	return 0;
}

int
wg_peer_init(struct wg_peer *p, const uint8_t pub[WG_KEY_LEN],
    const uint8_t *psk)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->pub, pub, WG_KEY_LEN);
	if (psk != NULL)
		memcpy(p->psk, psk, WG_KEY_LEN);
	return derive_mac_keys(p->mac1_key, p->cookie_key, p->pub);
}

/* ---- The handshake -------------------------------------------------- */

void
wg_handshake_wipe(struct wg_handshake *hs)
{
	OPENSSL_cleanse(hs, sizeof(*hs));
}

/* C = HASH(CONSTRUCTION), H = HASH(C || IDENTIFIER || responder's key). */
static int
handshake_init(struct wg_handshake *hs, const uint8_t responder[WG_KEY_LEN])
{
	struct span in = { construction, strlen(construction) };

	if (hash(hs->chain, &in, 1) < 0 ||
	    hash2(hs->hash, hs->chain, WG_HASH_LEN, identifier,
	    strlen(identifier)) < 0 ||
	    mix_hash(hs->hash, responder, WG_KEY_LEN) < 0)
		return -1;
	return 0;
}

/*
 * TAI64N: big-endian seconds since 1970 plus 2^62 + 10 (the label of
 * TAI64 with TAI-UTC as of 1972, as WireGuard writes it), then big-endian
 * nanoseconds.  The nanoseconds are rounded down to 2^24 ns (about 17
 * ms) as WireGuard's own implementations do, so the timestamp does not
 * leak the clock's fine phase.
 */
static void
tai64n(uint8_t out[WG_TAI64N_LEN], uint64_t unix_ns)
{
	uint64_t sec = unix_ns / 1000000000 + 0x400000000000000aULL;
	uint32_t nsec = (uint32_t)(unix_ns % 1000000000) & ~((1u << 24) - 1);
	int i;

	for (i = 0; i < 8; i++)
		out[i] = sec >> (56 - 8 * i);
	for (i = 0; i < 4; i++)
		out[8 + i] = nsec >> (24 - 8 * i);
}

/* MAC1 over msg[0, mac1_off); MAC2 over msg[0, mac1_off + 16) if held. */
static int
add_macs(struct wg_peer *peer, uint8_t *msg, size_t mac1_off, uint64_t now_s)
{
	uint8_t *mac1 = msg + mac1_off, *mac2 = mac1 + WG_MAC_LEN;

	if (mac16(mac1, peer->mac1_key, WG_HASH_LEN, msg, mac1_off) < 0)
		return -1;
	memcpy(peer->last_mac1, mac1, WG_MAC_LEN);
	peer->last_mac1_valid = true;
	if (peer->cookie_valid && now_s - peer->cookie_birth_s <
	    WG_COOKIE_SECRET_MAX_AGE_S - WG_COOKIE_SECRET_LATENCY_S)
		return mac16(mac2, peer->cookie, WG_COOKIE_LEN, msg,
		    mac1_off + WG_MAC_LEN);
	memset(mac2, 0, WG_MAC_LEN);
	return 0;
}

static bool
mac1_ok(const struct wg_static *me, const uint8_t *msg, size_t mac1_off)
{
	uint8_t want[WG_MAC_LEN];

	if (mac16(want, me->mac1_key, WG_HASH_LEN, msg, mac1_off) < 0)
		return false;
	return CRYPTO_memcmp(want, msg + mac1_off, WG_MAC_LEN) == 0;
}

int
wg_initiation_create(struct wg_handshake *hs, const struct wg_static *me,
    struct wg_peer *peer, uint32_t sender_index, uint64_t now_unix_ns,
    uint64_t now_s, uint8_t out[WG_INITIATION_LEN], struct wg_err *err)
{
	uint8_t e_pub[WG_KEY_LEN], dhr[WG_KEY_LEN], key[WG_KEY_LEN];
	uint8_t ts[WG_TAI64N_LEN];
	uint8_t *outs[3] = { NULL, NULL, NULL };
	enum wg_err_code why = WG_E_CRYPTO;
	int rc = -1;

	memset(hs, 0, sizeof(*hs));
	memset(out, 0, WG_INITIATION_LEN);
	put_header(out, WG_MSG_INITIATION);
	hg_wr32le(out + INI_SENDER, sender_index);
	if (handshake_init(hs, peer->pub) < 0)
		goto out;

	/* e */
	if (keygen(hs->e_priv, e_pub) < 0)
		goto out;
	memcpy(out + INI_EPHEMERAL, e_pub, WG_KEY_LEN);
	outs[0] = hs->chain;
	if (kdf(outs, 1, hs->chain, e_pub, WG_KEY_LEN) < 0 ||
	    mix_hash(hs->hash, e_pub, WG_KEY_LEN) < 0)
		goto out;

	/* es */
	if (dh(dhr, hs->e_priv, peer->pub, &why) < 0)
		goto out;
	why = WG_E_CRYPTO;
	outs[1] = key;
	if (kdf(outs, 2, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;

	/* s */
	if (aead(true, out + INI_STATIC, key, 0, me->pub, WG_KEY_LEN,
	    hs->hash, WG_HASH_LEN) < 0 ||
	    mix_hash(hs->hash, out + INI_STATIC, WG_KEY_LEN +
	    WG_AEAD_TAG_LEN) < 0)
		goto out;

	/* ss */
	if (dh(dhr, me->priv, peer->pub, &why) < 0)
		goto out;
	why = WG_E_CRYPTO;
	if (kdf(outs, 2, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;

	/* {t} */
	tai64n(ts, now_unix_ns);
	if (aead(true, out + INI_TIMESTAMP, key, 0, ts, WG_TAI64N_LEN,
	    hs->hash, WG_HASH_LEN) < 0 ||
	    mix_hash(hs->hash, out + INI_TIMESTAMP, WG_TAI64N_LEN +
	    WG_AEAD_TAG_LEN) < 0)
		goto out;

	if (add_macs(peer, out, INI_MAC1, now_s) < 0)
		goto out;
	hs->peer = peer;
	hs->local_index = sender_index;
	hs->state = WG_HS_INITIATION_SENT;
	rc = 0;
out:
	OPENSSL_cleanse(dhr, sizeof(dhr));
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		wg_handshake_wipe(hs);
		fail(err, why, 0);
	}
	return rc;
}

/*
 * The steps both sides take after the responder's ephemeral: ee, se,
 * psk and the empty payload, then the transport keys.  The initiator
 * passes its ephemeral and static private keys and the responder's
 * ephemeral public; the responder its ephemeral private and the
 * initiator's ephemeral and static public: DH gives both the same.
 * empty is encrypted (enc) or checked (!enc) at msg's RSP_EMPTY.
 */
static int
response_tail(struct wg_handshake *hs, const uint8_t ee_pub[WG_KEY_LEN],
    const uint8_t *se_priv, const uint8_t se_pub[WG_KEY_LEN], bool enc,
    uint8_t *msg, enum wg_err_code *why)
{
	uint8_t dhr[WG_KEY_LEN], tau[WG_HASH_LEN], key[WG_KEY_LEN];
	uint8_t *outs[3] = { hs->chain, NULL, NULL };
	uint8_t empty[1];
	int rc = -1;

	*why = WG_E_CRYPTO;
	/* ee */
	if (dh(dhr, hs->e_priv, ee_pub, why) < 0)
		goto out;
	*why = WG_E_CRYPTO;
	if (kdf(outs, 1, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;
	/* se */
	if (dh(dhr, se_priv, se_pub, why) < 0)
		goto out;
	*why = WG_E_CRYPTO;
	if (kdf(outs, 1, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;
	/* psk */
	outs[1] = tau;
	outs[2] = key;
	if (kdf(outs, 3, hs->chain, hs->peer->psk, WG_KEY_LEN) < 0 ||
	    mix_hash(hs->hash, tau, WG_HASH_LEN) < 0)
		goto out;
	/* {} */
	if (enc) {
		if (aead(true, msg + RSP_EMPTY, key, 0, empty, 0, hs->hash,
		    WG_HASH_LEN) < 0)
			goto out;
	} else if (aead(false, empty, key, 0, msg + RSP_EMPTY,
	    WG_AEAD_TAG_LEN, hs->hash, WG_HASH_LEN) < 0) {
		*why = WG_E_DECRYPT;
		goto out;
	}
	if (mix_hash(hs->hash, msg + RSP_EMPTY, WG_AEAD_TAG_LEN) < 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(dhr, sizeof(dhr));
	OPENSSL_cleanse(tau, sizeof(tau));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* The transport keys: (T_i->r, T_r->i) = KDF2(C, empty). */
static int
derive_keypair(struct wg_handshake *hs, bool initiator,
    struct wg_session_keys *kp)
{
	uint8_t *outs[3];

	outs[0] = initiator ? kp->send : kp->recv;
	outs[1] = initiator ? kp->recv : kp->send;
	outs[2] = NULL;
	if (kdf(outs, 2, hs->chain, "", 0) < 0)
		return -1;
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->initiator = initiator;
	return 0;
}

int
wg_response_consume(struct wg_handshake *hs, const struct wg_static *me,
    const uint8_t *msg, size_t len, struct wg_session_keys *kp,
    struct wg_err *err)
{
	struct wg_handshake next;
	struct wg_response r;
	enum wg_err_code why = WG_E_CRYPTO;
	uint8_t *outs[3] = { NULL, NULL, NULL };
	uint8_t buf[WG_RESPONSE_LEN];
	uint32_t off = 0;
	int rc = -1;

	if (wg_response_parse(msg, len, &r, err) < 0)
		return -1;
	if (hs->state != WG_HS_INITIATION_SENT)
		return fail(err, WG_E_STATE, 0);
	if (r.receiver != hs->local_index)
		return fail(err, WG_E_INDEX, RSP_RECEIVER);
	/* MAC1 is keyed with our public key: anyone who knows it can make
	 * one, but nobody else is answered with work. */
	if (!mac1_ok(me, msg, RSP_MAC1))
		return fail(err, WG_E_MAC1, RSP_MAC1);

	/* Work on a copy: a forged response must not spoil the handshake
	 * in flight, which the genuine one may still complete. */
	next = *hs;
	memcpy(buf, msg, sizeof(buf));

	/* e */
	outs[0] = next.chain;
	if (kdf(outs, 1, next.chain, r.ephemeral, WG_KEY_LEN) < 0 ||
	    mix_hash(next.hash, r.ephemeral, WG_KEY_LEN) < 0)
		goto out;
	/* ee, se, psk, {} */
	if (response_tail(&next, r.ephemeral, me->priv, r.ephemeral, false,
	    buf, &why) < 0) {
		off = why == WG_E_DECRYPT ? RSP_EMPTY : RSP_EPHEMERAL;
		goto out;
	}
	next.remote_index = r.sender;
	if (derive_keypair(&next, true, kp) < 0) {
		why = WG_E_CRYPTO;
		goto out;
	}
	wg_handshake_wipe(hs);
	rc = 0;
out:
	wg_handshake_wipe(&next);
	if (rc < 0)
		fail(err, why, off);
	return rc;
}

int
wg_initiation_consume(struct wg_handshake *hs, const struct wg_static *me,
    wg_peer_lookup_fn lookup, void *arg, const uint8_t *msg, size_t len,
    struct wg_err *err)
{
	struct wg_initiation m;
	struct wg_peer *peer;
	uint8_t dhr[WG_KEY_LEN], key[WG_KEY_LEN], s_pub[WG_KEY_LEN];
	uint8_t ts[WG_TAI64N_LEN];
	uint8_t *outs[3] = { NULL, NULL, NULL };
	enum wg_err_code why = WG_E_CRYPTO;
	uint32_t off = 0;
	int rc = -1;

	if (wg_initiation_parse(msg, len, &m, err) < 0)
		return -1;
	if (!mac1_ok(me, msg, INI_MAC1))
		return fail(err, WG_E_MAC1, INI_MAC1);

	memset(hs, 0, sizeof(*hs));
	if (handshake_init(hs, me->pub) < 0)
		goto out;

	/* e */
	outs[0] = hs->chain;
	if (kdf(outs, 1, hs->chain, m.ephemeral, WG_KEY_LEN) < 0 ||
	    mix_hash(hs->hash, m.ephemeral, WG_KEY_LEN) < 0)
		goto out;

	/* es */
	off = INI_EPHEMERAL;
	if (dh(dhr, me->priv, m.ephemeral, &why) < 0)
		goto out;
	why = WG_E_CRYPTO;
	outs[1] = key;
	if (kdf(outs, 2, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;

	/* s */
	off = INI_STATIC;
	if (aead(false, s_pub, key, 0, m.enc_static, sizeof(m.enc_static),
	    hs->hash, WG_HASH_LEN) < 0) {
		why = WG_E_DECRYPT;
		goto out;
	}
	if (mix_hash(hs->hash, m.enc_static, sizeof(m.enc_static)) < 0)
		goto out;
	if ((peer = lookup(arg, s_pub)) == NULL) {
		why = WG_E_UNKNOWN_PEER;
		goto out;
	}

	/* ss */
	if (dh(dhr, me->priv, peer->pub, &why) < 0)
		goto out;
	why = WG_E_CRYPTO;
	if (kdf(outs, 2, hs->chain, dhr, WG_KEY_LEN) < 0)
		goto out;

	/* {t} */
	off = INI_TIMESTAMP;
	if (aead(false, ts, key, 0, m.enc_timestamp, sizeof(m.enc_timestamp),
	    hs->hash, WG_HASH_LEN) < 0) {
		why = WG_E_DECRYPT;
		goto out;
	}
	if (mix_hash(hs->hash, m.enc_timestamp, sizeof(m.enc_timestamp)) < 0)
		goto out;
	/* Both big-endian: memcmp orders them.  Only after every check
	 * passed does the timestamp become the peer's newest, so a forged
	 * initiation cannot move it. */
	if (memcmp(ts, peer->last_timestamp, WG_TAI64N_LEN) <= 0) {
		why = WG_E_REPLAY;
		goto out;
	}
	memcpy(peer->last_timestamp, ts, WG_TAI64N_LEN);

	memcpy(hs->remote_e, m.ephemeral, WG_KEY_LEN);
	hs->remote_index = m.sender;
	hs->peer = peer;
	hs->state = WG_HS_INITIATION_CONSUMED;
	rc = 0;
out:
	OPENSSL_cleanse(dhr, sizeof(dhr));
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		wg_handshake_wipe(hs);
		fail(err, why, off);
	}
	return rc;
}

int
wg_response_create(struct wg_handshake *hs, uint32_t sender_index,
    uint64_t now_s, uint8_t out[WG_RESPONSE_LEN], struct wg_session_keys *kp,
    struct wg_err *err)
{
	uint8_t e_pub[WG_KEY_LEN];
	uint8_t *outs[3] = { hs->chain, NULL, NULL };
	enum wg_err_code why = WG_E_CRYPTO;
	int rc = -1;

	if (hs->state != WG_HS_INITIATION_CONSUMED)
		return fail(err, WG_E_STATE, 0);
	memset(out, 0, WG_RESPONSE_LEN);
	put_header(out, WG_MSG_RESPONSE);
	hg_wr32le(out + RSP_SENDER, sender_index);
	hg_wr32le(out + RSP_RECEIVER, hs->remote_index);
	hs->local_index = sender_index;

	/* e */
	if (keygen(hs->e_priv, e_pub) < 0)
		goto out;
	memcpy(out + RSP_EPHEMERAL, e_pub, WG_KEY_LEN);
	if (kdf(outs, 1, hs->chain, e_pub, WG_KEY_LEN) < 0 ||
	    mix_hash(hs->hash, e_pub, WG_KEY_LEN) < 0)
		goto out;
	/* ee, se, psk, {} */
	if (response_tail(hs, hs->remote_e, hs->e_priv, hs->peer->pub, true,
	    out, &why) < 0)
		goto out;
	if (add_macs(hs->peer, out, RSP_MAC1, now_s) < 0 ||
	    derive_keypair(hs, false, kp) < 0) {
		why = WG_E_CRYPTO;
		goto out;
	}
	rc = 0;
out:
	wg_handshake_wipe(hs);
	if (rc < 0)
		fail(err, why, 0);
	return rc;
}

/* ---- Cookies -------------------------------------------------------- */

/* mac1's offset in an initiation or response of exact size, else 0. */
static size_t
mac1_off(const uint8_t *msg, size_t len)
{
	struct wg_err err;
	int t = wg_msg_check(msg, len, &err);

	if (t == WG_MSG_INITIATION)
		return INI_MAC1;
	if (t == WG_MSG_RESPONSE)
		return RSP_MAC1;
	return 0;
}

/* The cookie for src: MAC(secret, src), with the secret renewed when old. */
static int
make_cookie(struct wg_cookie_checker *cc, const uint8_t *src, size_t src_len,
    uint64_t now_s, uint8_t cookie[WG_COOKIE_LEN])
{
	if (!cc->secret_valid ||
	    now_s - cc->secret_birth_s >= WG_COOKIE_SECRET_MAX_AGE_S) {
		if (RAND_bytes(cc->secret, sizeof(cc->secret)) != 1)
			return -1;
		cc->secret_birth_s = now_s;
		cc->secret_valid = true;
	}
	return mac16(cookie, cc->secret, sizeof(cc->secret), src, src_len);
}

enum wg_mac_state
wg_cookie_check(struct wg_cookie_checker *cc, const struct wg_static *me,
    const uint8_t *msg, size_t len, const uint8_t *src, size_t src_len,
    uint64_t now_s)
{
	uint8_t cookie[WG_COOKIE_LEN], want[WG_MAC_LEN];
	size_t off = mac1_off(msg, len);
	enum wg_mac_state st = WG_MAC_VALID_NO_COOKIE;

	if (off == 0 || !mac1_ok(me, msg, off))
		return WG_MAC_INVALID;
	/* A secret older than its lifetime answers nothing: the cookie
	 * made from it has expired at the initiator too. */
	if (cc->secret_valid &&
	    now_s - cc->secret_birth_s < WG_COOKIE_SECRET_MAX_AGE_S &&
	    make_cookie(cc, src, src_len, now_s, cookie) == 0 &&
	    mac16(want, cookie, WG_COOKIE_LEN, msg, off + WG_MAC_LEN) == 0 &&
	    CRYPTO_memcmp(want, msg + off + WG_MAC_LEN, WG_MAC_LEN) == 0)
		st = WG_MAC_VALID_COOKIE;
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return st;
}

int
wg_cookie_reply_create(struct wg_cookie_checker *cc,
    const struct wg_static *me, const uint8_t *msg, size_t len,
    const uint8_t *src, size_t src_len, uint64_t now_s,
    uint8_t out[WG_COOKIE_REPLY_LEN], struct wg_err *err)
{
	uint8_t cookie[WG_COOKIE_LEN];
	size_t off = mac1_off(msg, len);
	int rc = -1;

	if (off == 0)
		return wg_msg_check(msg, len, err) < 0 ? -1 :
		    fail(err, WG_E_TYPE, 0);
	if (sodium_init() < 0)
		return fail(err, WG_E_CRYPTO, 0);
	put_header(out, WG_MSG_COOKIE_REPLY);
	/* The receiver is the sender index of the message answered. */
	memcpy(out + CKR_RECEIVER, msg + 4, 4);
	if (RAND_bytes(out + CKR_NONCE, WG_COOKIE_NONCE_LEN) != 1 ||
	    make_cookie(cc, src, src_len, now_s, cookie) < 0)
		goto out;
	/* XAEAD(HASH(LABEL_COOKIE || our public key), nonce, cookie, mac1) */
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + CKR_COOKIE, NULL,
	    cookie, WG_COOKIE_LEN, msg + off, WG_MAC_LEN, NULL,
	    out + CKR_NONCE, me->cookie_key) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(cookie, sizeof(cookie));
	if (rc < 0)
		fail(err, WG_E_CRYPTO, 0);
	return rc;
}

int
wg_cookie_reply_consume(struct wg_peer *peer, const uint8_t *msg,
    size_t len, uint64_t now_s, struct wg_err *err)
{
	struct wg_cookie_reply r;
	uint8_t cookie[WG_COOKIE_LEN];

	if (wg_cookie_reply_parse(msg, len, &r, err) < 0)
		return -1;
	if (!peer->last_mac1_valid)
		return fail(err, WG_E_NO_MAC1, 0);
	if (sodium_init() < 0)
		return fail(err, WG_E_CRYPTO, 0);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
	    r.enc_cookie, sizeof(r.enc_cookie), peer->last_mac1, WG_MAC_LEN,
	    r.nonce, peer->cookie_key) != 0)
		return fail(err, WG_E_DECRYPT, CKR_COOKIE);
	memcpy(peer->cookie, cookie, WG_COOKIE_LEN);
	peer->cookie_birth_s = now_s;
	peer->cookie_valid = true;
	/* One reply per message sent: a second copy is not taken. */
	peer->last_mac1_valid = false;
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return 0;
}
