/*
 * src/ike/crypto.h: IKEv2's cryptography (RFC 7296 §2.13-2.17, §3.14;
 * RFC 5282 and RFC 7634 for the AEAD ciphers of the SK payload), over
 * OpenSSL 3.  Pure apart from the random numbers: keys and bytes in,
 * keys and bytes out.  Nothing here keeps state between calls but a
 * Diffie-Hellman private key, logs or looks at a clock.
 *
 * Algorithms are named by their IKEv2 transform IDs (msg.h): what the
 * peer proposes is what these functions take, so no second enumeration
 * can drift from the wire's.
 */
#ifndef IKE_CRYPTO_H
#define IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "msg.h"

#define IKE_PRF_MAX	64	/* bytes of the longest PRF output */
#define IKE_ENCR_KEY_MAX 36	/* AES-256 or ChaCha20 key and a 4-byte salt */
#define IKE_INTEG_KEY_MAX 64
#define IKE_DH_PUB_MAX	1024	/* MODP-8192's public value */
#define IKE_DH_SECRET_MAX 1024
#define IKE_NAT_HASH_LEN 20	/* SHA-1 (§2.23) */

/* The algorithms of one IKE SA, as IKE_SA_INIT chose them. */
struct ike_suite {
	uint16_t encr;		/* IKE_ENCR_* */
	uint16_t encr_bits;	/* key length in bits (AES 128/192/256;
				   ChaCha20: 256) */
	uint16_t prf;		/* IKE_PRF_* */
	uint16_t integ;		/* IKE_INTEG_*; 0 with an AEAD cipher */
	uint16_t dh;		/* IKE_DH_* */
};

/* Sizes of an algorithm, 0 when unknown or unsupported. */
size_t ike_prf_len(uint16_t prf);		/* output = preferred key */
size_t ike_encr_key_len(uint16_t encr, uint16_t bits); /* AEAD: + salt */
size_t ike_encr_iv_len(uint16_t encr);		/* the IV on the wire */
size_t ike_encr_icv_len(uint16_t encr);		/* AEAD tag; 0 for CBC */
bool ike_encr_is_aead(uint16_t encr);
size_t ike_integ_key_len(uint16_t integ);
size_t ike_integ_icv_len(uint16_t integ);	/* truncated output */
size_t ike_dh_public_len(uint16_t group);	/* KE payload's data */
/* Whether every algorithm of s is implemented here. */
bool ike_suite_supported(const struct ike_suite *s);

/* Random bytes from OpenSSL's DRBG: SPIs, nonces, IVs.  0 or -EIO. */
int ike_random(void *buf, size_t len) HG_MUST_CHECK;

/* ---- Diffie-Hellman (§2.10; RFC 3526, 5903, 8031) ------------------- */

struct ike_dh;		/* opaque: one private key of one group */

/* A fresh private key of group: 0, -ENOTSUP (unknown group), -ENOMEM. */
int ike_dh_new(struct ike_dh **out, uint16_t group) HG_MUST_CHECK;
uint16_t ike_dh_group(const struct ike_dh *dh);
/* The public value as the KE payload carries it (MODP: big-endian,
 * zero-padded to the prime's length; ECP: x | y; X25519: the u
 * coordinate).  0 and *len, or -ENOSPC. */
int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t cap,
    size_t *len) HG_MUST_CHECK;
/* The shared secret g^ir from the peer's KE data (as the RFCs encode
 * it: MODP zero-padded, ECP x only).  -EINVAL for a value of the wrong
 * length or one that is not a valid point / is 0, 1 or p-1. */
int ike_dh_shared(const struct ike_dh *dh, const uint8_t *peer,
    size_t peer_len, uint8_t *out, size_t cap, size_t *len) HG_MUST_CHECK;
/* Wipes and frees; NULL is fine. */
void ike_dh_free(struct ike_dh *dh);

/* ---- PRF and prf+ (§2.13) ------------------------------------------- */

/* A piece of a PRF's input. */
struct ike_buf {
	const uint8_t *p;
	size_t len;
};

/* out (ike_prf_len(prf) bytes) = prf(key, in[0] | in[1] | ...).
 * 0, or -ENOTSUP. */
int ike_prf(uint16_t prf, const uint8_t *key, size_t key_len,
    const struct ike_buf *in, unsigned n_in, uint8_t *out) HG_MUST_CHECK;
/* out (out_len bytes, at most 255 PRF outputs) = prf+(key, seed), seed
 * the concatenation of in[].  0, -ENOTSUP, or -EINVAL past 255 outputs. */
int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
    const struct ike_buf *in, unsigned n_in, uint8_t *out, size_t out_len)
    HG_MUST_CHECK;

/* ---- The keys of an IKE SA (§2.14, §2.18) --------------------------- */

struct ike_keys {
	struct ike_suite suite;
	uint8_t prf_len, encr_len, integ_len;	/* bytes of each key */
	uint8_t sk_d[IKE_PRF_MAX];
	uint8_t sk_ai[IKE_INTEG_KEY_MAX], sk_ar[IKE_INTEG_KEY_MAX];
	uint8_t sk_ei[IKE_ENCR_KEY_MAX], sk_er[IKE_ENCR_KEY_MAX];
	uint8_t sk_pi[IKE_PRF_MAX], sk_pr[IKE_PRF_MAX];
};

/*
 * SKEYSEED = prf(Ni | Nr, g^ir), then {SK_d, SK_ai, SK_ar, SK_ei, SK_er,
 * SK_pi, SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).  For the PRFs
 * with a fixed key length this takes half of each nonce as RFC 7296 says
 * (the HMAC PRFs take the whole).  SPIs in host order.  0, -ENOTSUP,
 * -EINVAL for a nonce longer than IKE_NONCE_MAX.
 */
int ike_keys_derive(const struct ike_suite *s, const uint8_t *ni,
    size_t ni_len, const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
    size_t g_ir_len, uint64_t spi_i, uint64_t spi_r, struct ike_keys *k)
    HG_MUST_CHECK;
/*
 * The new IKE SA of a rekey (§2.18): SKEYSEED = prf(SK_d of the old SA,
 * g^ir (new) | Ni | Nr), the old SA's PRF; the rest as above with the
 * new SA's suite, nonces and SPIs.
 */
int ike_keys_derive_rekey(const struct ike_keys *old,
    const struct ike_suite *s, const uint8_t *ni, size_t ni_len,
    const uint8_t *nr, size_t nr_len, const uint8_t *g_ir, size_t g_ir_len,
    uint64_t spi_i, uint64_t spi_r, struct ike_keys *k) HG_MUST_CHECK;
/* Wipes k. */
void ike_keys_wipe(struct ike_keys *k);

/*
 * A child SA's keying material (§2.17): KEYMAT = prf+(SK_d, g^ir (new) |
 * Ni | Nr), g_ir NULL without PFS.  The caller takes from it, in order,
 * the initiator-to-responder SA's encryption key (with its salt) and
 * integrity key, then the responder-to-initiator SA's.
 */
int ike_child_keymat(const struct ike_keys *k, const uint8_t *g_ir,
    size_t g_ir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
    size_t nr_len, uint8_t *out, size_t out_len) HG_MUST_CHECK;

/* ---- The SK payload (§3.14; RFC 5282; RFC 7634) --------------------- */

/*
 * Builds a whole protected message into out: the IKE header h (its
 * next-payload becomes SK, its length is filled in), the SK payload
 * whose first inner payload is first_inner, a fresh IV, the inner
 * payloads inner[0..inner_len) encrypted with padding, and the ICV:
 * over the header and the SK header as associated data (AEAD), or an
 * HMAC over everything before it (CBC).  initiator: the sender is the
 * original initiator (SK_ei/SK_ai), else the responder's keys.
 * inner may already lie anywhere in out (it is moved before the header
 * is written): building it at out + IKE_HDR_LEN + IKE_GEN_HDR_LEN +
 * ike_encr_iv_len() saves a copy.
 * The length written, or -ENOSPC, -ENOTSUP, -EIO.
 */
long ike_sk_seal(const struct ike_keys *k, bool initiator,
    const struct ike_hdr *h, uint8_t first_inner, const uint8_t *inner,
    size_t inner_len, uint8_t *out, size_t cap) HG_MUST_CHECK;

/*
 * The same for one fragment of a message (RFC 7383 §2.5): an SKF payload
 * with Fragment Number num of total (1 <= num <= total), inner the
 * fragment's share of the payload chain; first_inner is the chain's
 * first payload for fragment 1 and 0 for the others.  The ICV covers the
 * fragment fields too.  -EINVAL for a bad num or total.
 */
long ike_skf_seal(const struct ike_keys *k, bool initiator,
    const struct ike_hdr *h, uint8_t first_inner, uint16_t num,
    uint16_t total, const uint8_t *inner, size_t inner_len, uint8_t *out,
    size_t cap) HG_MUST_CHECK;

/*
 * Opens the SK payload of a parsed message m (the buffer msg, len bytes,
 * that m was parsed from), in place: checks the ICV with the keys of the
 * sender (initiator: the sender is the original initiator), decrypts,
 * checks the padding, and rewrites msg into a plain message: the same
 * header with the SK's first inner payload as its next payload and the
 * plaintext payloads right behind it, length fixed.  *plain_len gets the
 * new length; the caller parses that with ike_msg_parse().  Returns 0,
 * -EBADMSG (ICV or padding wrong: nothing changed in msg for an ICV
 * failure), -EINVAL (no SK payload, one too short for IV and ICV, a CBC
 * ciphertext that is no whole number of blocks, or m not parsed from
 * msg), -ENOTSUP (k's suite).  An SKF payload (a fragment, RFC 7383) is
 * opened the same way: the result is the header and the fragment's
 * share of the chain, its next payload the SKF's (0 but in fragment 1);
 * putting the fragments together is frag.c's.
 */
int ike_sk_open(const struct ike_keys *k, bool initiator, uint8_t *msg,
    size_t len, const struct ike_msg *m, size_t *plain_len) HG_MUST_CHECK;

/* ---- Authentication and NAT detection ------------------------------- */

/*
 * AUTH for a shared key (§2.15): prf(prf(psk, "Key Pad for IKEv2"),
 * msg | nonce | prf(sk_p, id)), where msg is the sender's IKE_SA_INIT
 * message as sent, nonce the other side's nonce data, sk_p the sender's
 * SK_pi or SK_pr, and id the sender's ID payload body (type, three
 * reserved bytes, data).  out gets ike_prf_len() bytes.
 */
int ike_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
    const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
    const uint8_t *id, size_t id_len, uint8_t *out) HG_MUST_CHECK;
/* The octets a signature covers (same as above without the PSK step):
 * msg | nonce | prf(sk_p, id), into out; its length or -ENOSPC. */
long ike_auth_octets(uint16_t prf, const uint8_t *msg, size_t msg_len,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sk_p,
    size_t sk_p_len, const uint8_t *id, size_t id_len, uint8_t *out,
    size_t cap) HG_MUST_CHECK;

/* NAT_DETECTION_*_IP's data (§2.23): SHA-1(SPIi | SPIr | IP | port),
 * SPIs in host order, addr 4 or 16 bytes, port in host order. */
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const uint8_t *addr,
    size_t addr_len, uint16_t port, uint8_t out[IKE_NAT_HASH_LEN]);

#endif /* IKE_CRYPTO_H */
