/*
 * tests/fuzz/fuzz_ike_sk.c: libFuzzer target for the SK payload
 * (ike_sk_open and ike_sk_seal in src/ike/crypto.c) and the parse of
 * what it decrypts: after IKE_SA_INIT, every message a peer sends goes
 * through ike_msg_parse, then ike_sk_open, then ike_msg_parse again.
 *
 * The first input byte chooses the mode and the keys; the input is
 * copied to an exact-size heap buffer so ASan sees any read past it.
 *   bit 7 clear: the rest is a message, opened as its receiver would
 *     (the sender's keys by the header's Initiator flag).  Key set 0 is
 *     the IKE SA of the strongSwan capture in tests/unit/ike/data
 *     (aes256gcm16), so the seeds (its IKE_AUTH request and response
 *     and the rekeying CREATE_CHILD_SA) open and their plaintext is
 *     parsed; mutations exercise the bounds and ICV checks.
 *   bit 7 set: byte 1 is a first inner payload type, the rest an inner
 *     payload chain, sealed with key set (byte 0 & 7) as initiator if bit
 *     6 is set; the result must parse, must not open with the other
 *     side's keys, must open with the sender's into the same bytes, and
 *     what opens is parsed.  This reaches the plaintext paths behind an
 *     ICV the fuzzer could never forge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

#define N_KEYS 8

/* Key set 1..7: every cipher and key length, derived once. */
static const struct ike_suite suites[N_KEYS] = {
	{ IKE_ENCR_AES_GCM_16, 256, IKE_PRF_HMAC_SHA2_256, 0,
	    IKE_DH_CURVE25519 },
	{ IKE_ENCR_AES_CBC, 128, IKE_PRF_HMAC_SHA2_256,
	    IKE_INTEG_HMAC_SHA2_256_128, IKE_DH_MODP_2048 },
	{ IKE_ENCR_AES_CBC, 192, IKE_PRF_HMAC_SHA2_384,
	    IKE_INTEG_HMAC_SHA2_384_192, IKE_DH_ECP_384 },
	{ IKE_ENCR_AES_CBC, 256, IKE_PRF_HMAC_SHA2_512,
	    IKE_INTEG_HMAC_SHA2_512_256, IKE_DH_ECP_521 },
	{ IKE_ENCR_AES_GCM_16, 128, IKE_PRF_HMAC_SHA2_256, 0,
	    IKE_DH_CURVE25519 },
	{ IKE_ENCR_AES_GCM_16, 192, IKE_PRF_HMAC_SHA2_384, 0,
	    IKE_DH_CURVE448 },
	{ IKE_ENCR_AES_GCM_16, 256, IKE_PRF_HMAC_SHA2_512, 0,
	    IKE_DH_ECP_256 },
	{ IKE_ENCR_CHACHA20_POLY1305, 0, IKE_PRF_HMAC_SHA2_256, 0,
	    IKE_DH_MODP_3072 },
};

/* SK_ei and SK_er that charon logged (data/sswan_gcm_x25519.h). */
static const uint8_t sswan_ei[36] = {
	0x5f, 0x46, 0x86, 0xff, 0x8c, 0xf9, 0x03, 0xe3, 0x6b, 0x06, 0x2a, 0x20,
	0x6e, 0x50, 0xfd, 0xb1, 0x18, 0x25, 0x82, 0xed, 0x77, 0x62, 0x31, 0xef,
	0x03, 0x3b, 0x65, 0x4d, 0x1c, 0x78, 0xeb, 0x86, 0xea, 0xff, 0xba, 0xa9,
};
static const uint8_t sswan_er[36] = {
	0x82, 0xec, 0xf1, 0xc7, 0x05, 0xf7, 0x7c, 0x40, 0x78, 0x49, 0x05, 0x26,
	0x2f, 0x22, 0x0c, 0x83, 0x93, 0x59, 0xa6, 0xf3, 0x44, 0x8b, 0x3d, 0xfa,
	0x0c, 0x6d, 0x28, 0x17, 0x08, 0xca, 0xc3, 0x7b, 0xcb, 0xfd, 0x51, 0x80,
};

static struct ike_keys keys[N_KEYS];
static struct ike_msg m1, m2;
static uint8_t sealed[IKE_HDR_LEN + 4 + 16 + 65536 + 32 + 16];

static void
keys_init(void)
{
	static const uint8_t nonce[32] = { 0x4e }, gir[32] = { 0x67 };
	static bool done;
	unsigned i;

	if (done)
		return;
	keys[0].suite = suites[0];
	keys[0].encr_len = sizeof(sswan_ei);
	keys[0].prf_len = 32;
	memcpy(keys[0].sk_ei, sswan_ei, sizeof(sswan_ei));
	memcpy(keys[0].sk_er, sswan_er, sizeof(sswan_er));
	for (i = 1; i < N_KEYS; i++)
		CHECK(ike_keys_derive(&suites[i], nonce, sizeof(nonce), nonce,
		    sizeof(nonce), gir, sizeof(gir), 1, 2, &keys[i]) == 0);
	done = true;
}

/* Parses what ike_sk_open made; it need not be a valid message. */
static void
parse_plain(const uint8_t *b, size_t len)
{
	struct ike_err err;

	if (ike_msg_parse(b, len, &m2, &err) != 0) {
		CHECK(err.code != IKE_E_OK && err.code < IKE_E_COUNT);
		CHECK(err.off <= len);
		return;
	}
	CHECK(m2.hdr.length == len);
	CHECK(ike_msg_find(&m2, IKE_PL_SK, 0) == NULL ||
	    m2.payloads[m2.n_payloads - 1].type == IKE_PL_SK);
}

static void
fuzz_open(const struct ike_keys *k, uint8_t *b, size_t size)
{
	struct ike_err err;
	size_t plain_len;
	uint8_t *copy;
	int rc;

	if (ike_msg_parse(b, size, &m1, &err) != 0)
		return;
	if ((copy = malloc(size)) == NULL)
		return;
	memcpy(copy, b, size);
	rc = ike_sk_open(k, m1.hdr.flags & IKE_F_INITIATOR, b, size, &m1,
	    &plain_len);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -EINVAL);
	if (rc == 0) {
		CHECK(plain_len >= IKE_HDR_LEN && plain_len < size);
		parse_plain(b, plain_len);
	} else {
		/* A forged ICV (or no SK at all) changes nothing. */
		CHECK(memcmp(copy, b, size) == 0);
	}
	free(copy);
}

static void
fuzz_seal(const struct ike_keys *k, bool initiator, uint8_t first,
    const uint8_t *inner, size_t inner_len)
{
	const struct ike_hdr h = { .ispi = 1, .rspi = 2,
	    .exchange = IKE_INFORMATIONAL,
	    .flags = initiator ? IKE_F_INITIATOR : IKE_F_RESPONSE };
	struct ike_err err;
	size_t plain_len;
	long n;

	n = ike_sk_seal(k, initiator, &h, first, inner, inner_len, sealed,
	    sizeof(sealed));
	if (n == -ENOSPC)
		return;		/* over the 16-bit payload length */
	CHECK(n > 0);
	CHECK(ike_msg_parse(sealed, (size_t)n, &m1, &err) == 0);
	CHECK(m1.n_payloads == 1 && m1.payloads[0].type == IKE_PL_SK);
	CHECK(ike_sk_open(k, !initiator, sealed, (size_t)n, &m1,
	    &plain_len) == -EBADMSG);
	CHECK(ike_sk_open(k, initiator, sealed, (size_t)n, &m1,
	    &plain_len) == 0);
	CHECK(plain_len == IKE_HDR_LEN + inner_len);
	CHECK(memcmp(sealed + IKE_HDR_LEN, inner, inner_len) == 0);
	CHECK(sealed[16] == first);
	parse_plain(sealed, plain_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b;

	if (size < 2)
		return 0;
	keys_init();
	if ((b = malloc(size - 1)) == NULL)
		return 0;
	memcpy(b, data + 1, size - 1);
	if (data[0] & 0x80)
		fuzz_seal(&keys[data[0] & 7], data[0] & 0x40, b[0], b + 1,
		    size - 2);
	else
		fuzz_open(&keys[data[0] & 7], b, size - 1);
	free(b);
	return 0;
}
