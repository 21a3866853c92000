/*
 * tests/unit/ike/test_proposal.c: proposals in strongSwan's syntax and
 * the choice between ours and a peer's (src/ike/proposal.c).
 *
 * Every keyword parses into its IANA transform; every refusal names its
 * word, its position and the reason; the defaults parse and are modern;
 * text printed back parses into the same proposal.  Choosing is tried on
 * real offers of strongSwan 5.9.8 (sswan_sa_init.h) and on SA payloads
 * built here with the message writer, one rule of RFC 7296 §2.7 and
 * §3.3.6 each; our own offer, written and parsed again, chooses its
 * first proposal; an answer written from a choice is accepted by the
 * initiator; a choice maps to the ESP layer's algorithm and key sizes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ike/proposal.h"
#include "sswan_sa_init.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct ike_msg msg;	/* big: not on the stack */
static uint8_t wbuf[8192];

static void
parse_ok(const uint8_t *buf, size_t len)
{
	struct ike_err err;

	if (ike_msg_parse(buf, len, &msg, &err) != 0)
		fail_msg("parse: %s at %u", ike_err_str(err.code), err.off);
}

static const struct ike_payload *
sa_of(void)
{
	const struct ike_payload *sa = ike_msg_find(&msg, IKE_PL_SA, 0);

	assert_non_null(sa);
	return sa;
}

static void
props(struct ike_props *list, uint8_t protocol, const char *const *texts)
{
	char err[128];

	memset(list, 0, sizeof(*list));
	for (; *texts != NULL; texts++)
		if (ike_props_add(list, *texts, protocol, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", *texts, err);
}

static const char *
chosen_text(const struct ike_chosen *c)
{
	static char buf[128];

	assert_true(ike_chosen_format(c, buf, sizeof(buf)) <
	    (int)sizeof(buf));
	return buf;
}

/*
 * Parsing.
 */

static const struct kw_case {
	const char *text;	/* a whole proposal */
	uint8_t protocol;
	uint8_t type;		/* of the word under test, the first of it */
	uint16_t id;
	uint16_t bits;
} kw_cases[] = {
	{ "aes128-sha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_CBC, 128 },
	{ "aes192-sha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_CBC, 192 },
	{ "aes256-sha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_CBC, 256 },
	{ "aes-sha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_CBC, 128 },
	{ "aes128gcm16-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 128 },
	{ "aes192gcm16-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 192 },
	{ "aes256gcm16-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 256 },
	{ "aes128gcm128-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 128 },
	{ "aes192gcm128-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 192 },
	{ "AES256GCM128-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_AES_GCM_16, 256 },
	{ "chacha20poly1305-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_ENCR,
	    IKE_ENCR_CHACHA20_POLY1305, 0 },
	{ "aes256-sha256-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_256_128, 0 },
	{ "aes256-sha384-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_384_192, 0 },
	{ "aes256-sha512-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_512_256, 0 },
	{ "aes256-sha2_256-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_256_128, 0 },
	{ "aes256-sha2_384-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_384_192, 0 },
	{ "aes256-sha2_512-x25519", IKE_PROTO_IKE, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_512_256, 0 },
	{ "aes256gcm16-prfsha256-x25519", IKE_PROTO_IKE, IKE_TF_PRF,
	    IKE_PRF_HMAC_SHA2_256, 0 },
	{ "aes256gcm16-prfsha384-x25519", IKE_PROTO_IKE, IKE_TF_PRF,
	    IKE_PRF_HMAC_SHA2_384, 0 },
	{ "aes256gcm16-prfsha512-x25519", IKE_PROTO_IKE, IKE_TF_PRF,
	    IKE_PRF_HMAC_SHA2_512, 0 },
	/* no prf word: the integrity algorithm's hash */
	{ "aes256-sha384-x25519", IKE_PROTO_IKE, IKE_TF_PRF,
	    IKE_PRF_HMAC_SHA2_384, 0 },
	{ "aes256-sha256-prfsha512-x25519", IKE_PROTO_IKE, IKE_TF_PRF,
	    IKE_PRF_HMAC_SHA2_512, 0 },
	{ "aes256-sha256-modp2048", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_MODP_2048, 0 },
	{ "aes256-sha256-modp3072", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_MODP_3072, 0 },
	{ "aes256-sha256-modp4096", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_MODP_4096, 0 },
	{ "aes256-sha256-ecp256", IKE_PROTO_IKE, IKE_TF_DH, IKE_DH_ECP_256, 0 },
	{ "aes256-sha256-ecp384", IKE_PROTO_IKE, IKE_TF_DH, IKE_DH_ECP_384, 0 },
	{ "aes256-sha256-ecp521", IKE_PROTO_IKE, IKE_TF_DH, IKE_DH_ECP_521, 0 },
	{ "aes256-sha256-x25519", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_CURVE25519, 0 },
	{ "aes256-sha256-curve25519", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_CURVE25519, 0 },
	{ "aes256-sha256-x448", IKE_PROTO_IKE, IKE_TF_DH, IKE_DH_CURVE448, 0 },
	{ "aes256-sha256-curve448", IKE_PROTO_IKE, IKE_TF_DH,
	    IKE_DH_CURVE448, 0 },
	{ "aes256gcm16-esn", IKE_PROTO_ESP, IKE_TF_ESN, IKE_ESN_YES, 0 },
	{ "aes256gcm16-noesn", IKE_PROTO_ESP, IKE_TF_ESN, IKE_ESN_NO, 0 },
	{ "aes256gcm16-ecp256", IKE_PROTO_ESP, IKE_TF_DH, IKE_DH_ECP_256, 0 },
	{ "aes128-sha512", IKE_PROTO_ESP, IKE_TF_INTEG,
	    IKE_INTEG_HMAC_SHA2_512_256, 0 },
};

static void
test_keywords(void **state)
{
	for (size_t i = 0; i < N_OF(kw_cases); i++) {
		const struct kw_case *k = &kw_cases[i];
		struct ike_prop p;
		char err[128];

		print_message("case: %s\n", k->text);
		if (ike_prop_parse(k->text, k->protocol, &p, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", k->text, err);
		assert_int_equal(p.protocol, k->protocol);
		switch (k->type) {
		case IKE_TF_ENCR:
			assert_int_equal(p.n_encr, 1);
			assert_int_equal(p.encr[0].id, k->id);
			assert_int_equal(p.encr[0].bits, k->bits);
			break;
		case IKE_TF_PRF:
			assert_int_equal(p.n_prf, 1);
			assert_int_equal(p.prf[0], k->id);
			break;
		case IKE_TF_INTEG:
			assert_int_equal(p.n_integ, 1);
			assert_int_equal(p.integ[0], k->id);
			break;
		case IKE_TF_DH:
			assert_int_equal(p.n_dh, 1);
			assert_int_equal(p.dh[0], k->id);
			break;
		case IKE_TF_ESN:
			assert_int_equal(p.n_esn, 1);
			assert_int_equal(p.esn[0], k->id);
			break;
		}
	}
}

/* Several of a kind keep their order, which is the preference. */
static void
test_order_kept(void **state)
{
	struct ike_prop p;
	char err[128];

	assert_int_equal(ike_prop_parse("aes256-aes128-sha512-sha256-"
	    "ecp384-x25519-modp3072", IKE_PROTO_IKE, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_encr, 2);
	assert_int_equal(p.encr[0].bits, 256);
	assert_int_equal(p.encr[1].bits, 128);
	assert_int_equal(p.n_integ, 2);
	assert_int_equal(p.integ[0], IKE_INTEG_HMAC_SHA2_512_256);
	assert_int_equal(p.integ[1], IKE_INTEG_HMAC_SHA2_256_128);
	/* the PRFs strongSwan derives, in the integrity algorithms' order */
	assert_int_equal(p.n_prf, 2);
	assert_int_equal(p.prf[0], IKE_PRF_HMAC_SHA2_512);
	assert_int_equal(p.prf[1], IKE_PRF_HMAC_SHA2_256);
	assert_int_equal(p.n_dh, 3);
	assert_int_equal(p.dh[0], IKE_DH_ECP_384);
	assert_int_equal(p.dh[1], IKE_DH_CURVE25519);
	assert_int_equal(p.dh[2], IKE_DH_MODP_3072);

	assert_int_equal(ike_prop_parse("aes128gcm16-esn-noesn",
	    IKE_PROTO_ESP, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_esn, 2);
	assert_int_equal(p.esn[0], IKE_ESN_YES);
	assert_int_equal(p.esn[1], IKE_ESN_NO);
	assert_int_equal(p.n_prf, 0);
	assert_int_equal(p.n_dh, 0);
}

static const struct err_case {
	const char *text;
	uint8_t protocol;
	const char *err;	/* the whole message */
} err_cases[] = {
	{ "aes256-foo-x25519", IKE_PROTO_IKE,
	    "unknown algorithm 'foo' (word 2)" },
	{ "aes256-sha1-modp2048", IKE_PROTO_IKE,
	    "'sha1' (word 2): SHA-1 is weak and refused" },
	{ "aes256-sha-modp2048", IKE_PROTO_IKE,
	    "'sha' (word 2): SHA-1 is weak and refused" },
	{ "aes256-sha256-prfsha1-modp2048", IKE_PROTO_IKE,
	    "'prfsha1' (word 3): SHA-1 is weak and refused" },
	{ "aes256-md5-modp2048", IKE_PROTO_IKE,
	    "'md5' (word 2): MD5 is broken and refused" },
	{ "aes256-prfmd5-modp2048", IKE_PROTO_IKE,
	    "'prfmd5' (word 2): MD5 is broken and refused" },
	{ "aes256-aesxcbc-modp2048", IKE_PROTO_IKE,
	    "'aesxcbc' (word 2): AES-XCBC is not supported" },
	{ "aes256-sha256-prfaesxcbc-modp2048", IKE_PROTO_IKE,
	    "'prfaesxcbc' (word 3): AES-XCBC is not supported" },
	{ "aes256-sha256-modp768", IKE_PROTO_IKE,
	    "'modp768' (word 3): group 1 (768 bits) is too small and refused" },
	{ "aes256-sha256-x25519-modp1024", IKE_PROTO_IKE,
	    "'modp1024' (word 4): group 2 (1024 bits) is too small and "
	    "refused" },
	{ "aes256-sha256-modp1536", IKE_PROTO_IKE,
	    "'modp1536' (word 3): group 5 (1536 bits) is too small and "
	    "refused" },
	{ "aes256-sha256-modp2048s256", IKE_PROTO_IKE,
	    "'modp2048s256' (word 3): the RFC 5114 groups are refused" },
	{ "aes256-sha256-ecp256bp", IKE_PROTO_IKE,
	    "'ecp256bp' (word 3): the Brainpool curves are not supported" },
	{ "3des-sha256-modp2048", IKE_PROTO_IKE,
	    "'3des' (word 1): 3DES has a 64-bit block and is refused" },
	{ "des-sha256-modp2048", IKE_PROTO_IKE,
	    "'des' (word 1): DES is broken and refused" },
	{ "blowfish128-sha256-modp2048", IKE_PROTO_IKE,
	    "'blowfish128' (word 1): Blowfish has a 64-bit block and is "
	    "refused" },
	{ "blowfish-sha256-modp2048", IKE_PROTO_IKE,
	    "'blowfish' (word 1): Blowfish has a 64-bit block and is refused" },
	{ "cast128-sha256-modp2048", IKE_PROTO_IKE,
	    "'cast128' (word 1): CAST has a 64-bit block and is refused" },
	{ "aes128ccm16-prfsha256-x25519", IKE_PROTO_IKE,
	    "'aes128ccm16' (word 1): AES-CCM is not supported (use a gcm16)" },
	{ "aes256ccm8", IKE_PROTO_ESP,
	    "'aes256ccm8' (word 1): AES-CCM is not supported (use a gcm16)" },
	{ "aes192ccm128", IKE_PROTO_ESP,
	    "'aes192ccm128' (word 1): AES-CCM is not supported (use a "
	    "gcm16)" },
	{ "aes256gcm8", IKE_PROTO_ESP,
	    "'aes256gcm8' (word 1): AES-GCM with an 8-byte ICV is refused "
	    "(use a gcm16)" },
	{ "aes256gcm12", IKE_PROTO_ESP,
	    "'aes256gcm12' (word 1): AES-GCM with a 12-byte ICV is refused "
	    "(use a gcm16)" },
	{ "aes256ctr-sha256", IKE_PROTO_ESP,
	    "'aes256ctr' (word 1): AES-CTR is not supported" },
	{ "null-sha256", IKE_PROTO_ESP,
	    "'null' (word 1): ENCR_NULL encrypts nothing and is refused" },
	{ "camellia256-sha256", IKE_PROTO_ESP,
	    "'camellia256' (word 1): Camellia is not supported" },
	{ "aes512-sha256", IKE_PROTO_ESP,
	    "unknown algorithm 'aes512' (word 1)" },
	{ "aes256gcm20", IKE_PROTO_ESP,
	    "unknown algorithm 'aes256gcm20' (word 1)" },
	{ "aes256-sha256-modp2048-frobnicate", IKE_PROTO_IKE,
	    "unknown algorithm 'frobnicate' (word 4)" },
	{ "aes256-sha256-averyveryveryverylongwordindeedthatgoeson",
	    IKE_PROTO_ESP, "unknown algorithm 'averyveryveryverylongwordindee"
	    "d...' (word 3)" },
	{ "", IKE_PROTO_IKE, "empty proposal" },
	{ "aes256--sha256", IKE_PROTO_ESP,
	    "empty word 2 (two '-' in a row, or one at an end)" },
	{ "aes256-sha256-", IKE_PROTO_ESP,
	    "empty word 3 (two '-' in a row, or one at an end)" },
	{ "aes256-aes256-sha256", IKE_PROTO_ESP,
	    "'aes256' (word 2): given twice" },
	{ "aes256-sha256-x25519-curve25519", IKE_PROTO_IKE,
	    "'curve25519' (word 4): given twice" },
	{ "aes256gcm16-aes256-prfsha256-x25519", IKE_PROTO_IKE,
	    "AEAD and non-AEAD ciphers in one proposal: write them as two "
	    "proposals" },
	{ "aes256gcm16-sha256-prfsha256-x25519", IKE_PROTO_IKE,
	    "an AEAD cipher takes no integrity algorithm" },
	{ "aes256gcm16-sha256", IKE_PROTO_ESP,
	    "an AEAD cipher takes no integrity algorithm" },
	{ "aes256gcm16-x25519", IKE_PROTO_IKE,
	    "an AEAD cipher needs a PRF (prfsha256, prfsha384, prfsha512)" },
	{ "aes256-x25519", IKE_PROTO_IKE,
	    "no integrity algorithm (sha256, sha384, sha512)" },
	{ "aes256", IKE_PROTO_ESP,
	    "no integrity algorithm (sha256, sha384, sha512)" },
	{ "aes256-sha256", IKE_PROTO_IKE,
	    "no key exchange group (x25519, ecp256, modp3072, ...)" },
	{ "sha256-prfsha256-x25519", IKE_PROTO_IKE,
	    "no encryption algorithm (aes256, aes256gcm16, "
	    "chacha20poly1305, ...)" },
	{ "aes256gcm16-prfsha256", IKE_PROTO_ESP,
	    "'prfsha256' (word 2): a PRF belongs in IKE proposals, not ESP" },
	{ "aes256gcm16-prfsha256-x25519-esn", IKE_PROTO_IKE,
	    "'esn' (word 4): esn and noesn belong in ESP proposals" },
	{ "aes128-aes192-aes256-aes128gcm16", IKE_PROTO_ESP,
	    "AEAD and non-AEAD ciphers in one proposal: write them as two "
	    "proposals" },
	{ "aes256gcm16", 2 /* AH */,
	    "protocol 2: neither IKE nor ESP" },
};

static void
test_errors(void **state)
{
	for (size_t i = 0; i < N_OF(err_cases); i++) {
		const struct err_case *e = &err_cases[i];
		struct ike_prop p;
		char err[160];

		print_message("case: \"%s\"\n", e->text);
		err[0] = '\0';
		assert_int_equal(ike_prop_parse(e->text, e->protocol, &p, err,
		    sizeof(err)), -EINVAL);
		assert_string_equal(err, e->err);
	}
}

static void
test_props_add(void **state)
{
	static const char *const nine[] = { "aes256gcm16", "aes128gcm16",
	    "aes192gcm16", "chacha20poly1305", "aes256-sha256",
	    "aes128-sha256", "aes192-sha256", "aes256-sha384", NULL };
	struct ike_props list, def;
	char err[128];

	print_message("case: \"default\" appends the defaults\n");
	memset(&list, 0, sizeof(list));
	assert_int_equal(ike_props_add(&list, "aes128-sha256-modp2048",
	    IKE_PROTO_IKE, err, sizeof(err)), 0);
	assert_int_equal(ike_props_add(&list, "default", IKE_PROTO_IKE, err,
	    sizeof(err)), 0);
	ike_props_default(IKE_PROTO_IKE, &def);
	assert_int_equal(list.n, 1 + def.n);
	assert_memory_equal(&list.p[1], &def.p[0], def.n * sizeof(def.p[0]));

	print_message("case: a bad proposal leaves the list as it was\n");
	assert_int_equal(ike_props_add(&list, "aes128-sha1-modp2048",
	    IKE_PROTO_IKE, err, sizeof(err)), -EINVAL);
	assert_int_equal(list.n, 1 + def.n);

	print_message("case: a ninth proposal is refused\n");
	props(&list, IKE_PROTO_ESP, nine);
	assert_int_equal(list.n, IKE_PROPS_MAX);
	assert_int_equal(ike_props_add(&list, "aes128-sha512",
	    IKE_PROTO_ESP, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 8 proposals");
	assert_int_equal(list.n, IKE_PROPS_MAX);
}

/* The defaults: what they are, and that they hold nothing weak. */
static void
test_defaults(void **state)
{
	static const char *const ike[] = {
		"aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-"
		    "prfsha384-prfsha512-x25519-ecp256-ecp384-modp3072",
		"aes256-aes128-sha256-sha384-sha512-prfsha256-prfsha384-"
		    "prfsha512-x25519-ecp256-ecp384-modp3072",
	};
	static const char *const esp[] = {
		"aes256gcm16-aes128gcm16-chacha20poly1305",
		"aes256-aes128-sha256-sha384-sha512",
	};
	struct ike_props d;
	char buf[256];

	ike_props_default(IKE_PROTO_IKE, &d);
	assert_int_equal(d.n, N_OF(ike));
	for (unsigned i = 0; i < d.n; i++) {
		ike_prop_format(&d.p[i], buf, sizeof(buf));
		assert_string_equal(buf, ike[i]);
		assert_int_equal(d.p[i].protocol, IKE_PROTO_IKE);
	}
	print_message("case: AEAD first, X25519 the first group\n");
	assert_int_equal(d.p[0].encr[0].id, IKE_ENCR_AES_GCM_16);
	assert_int_equal(d.p[0].dh[0], IKE_DH_CURVE25519);

	ike_props_default(IKE_PROTO_ESP, &d);
	assert_int_equal(d.n, N_OF(esp));
	for (unsigned i = 0; i < d.n; i++) {
		ike_prop_format(&d.p[i], buf, sizeof(buf));
		assert_string_equal(buf, esp[i]);
		print_message("case: ESP default %u has no PFS, no ESN\n", i);
		assert_int_equal(d.p[i].n_dh, 0);
		assert_int_equal(d.p[i].n_esn, 0);
	}
}

/* Printed, then parsed again: the same proposal. */
static void
test_format_round_trip(void **state)
{
	static const struct {
		const char *in;
		uint8_t protocol;
		const char *out;
	} cases[] = {
		{ "aes256gcm16-prfsha256-x25519", IKE_PROTO_IKE,
		    "aes256gcm16-prfsha256-x25519" },
		{ "aes128gcm128-chacha20poly1305-prfsha512-curve448",
		    IKE_PROTO_IKE,
		    "aes128gcm16-chacha20poly1305-prfsha512-x448" },
		{ "x25519-sha256-aes256-modp3072", IKE_PROTO_IKE,
		    "aes256-sha256-prfsha256-x25519-modp3072" },
		{ "aes-sha2_384-prfsha256-ecp521", IKE_PROTO_IKE,
		    "aes128-sha384-prfsha256-ecp521" },
		{ "aes256gcm16-aes192gcm16-esn-noesn", IKE_PROTO_ESP,
		    "aes256gcm16-aes192gcm16-esn-noesn" },
		{ "aes192-sha512-sha384-modp4096-ecp384", IKE_PROTO_ESP,
		    "aes192-sha512-sha384-modp4096-ecp384" },
		{ "chacha20poly1305", IKE_PROTO_ESP, "chacha20poly1305" },
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		struct ike_prop p, q;
		char buf[256], err[128];
		int n;

		print_message("case: %s\n", cases[i].in);
		assert_int_equal(ike_prop_parse(cases[i].in,
		    cases[i].protocol, &p, err, sizeof(err)), 0);
		n = ike_prop_format(&p, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, (int)strlen(cases[i].out));
		assert_int_equal(ike_prop_parse(buf, cases[i].protocol, &q,
		    err, sizeof(err)), 0);
		assert_memory_equal(&p, &q, sizeof(p));

		print_message("case: truncated, it says how long it is\n");
		assert_int_equal(ike_prop_format(&p, buf, 8), n);
		assert_int_equal(strlen(buf), 7);
	}
}

/*
 * Choosing from strongSwan's offers.
 */

/* strongSwan's one-proposal offer: our defaults take it whole. */
static void
test_select_strongswan_aead(void **state)
{
	struct ike_props ours;
	struct ike_chosen c;
	char refused[256];

	parse_ok(sswan_sa_init, sizeof(sswan_sa_init));
	ike_props_default(IKE_PROTO_IKE, &ours);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	assert_int_equal(c.num, 1);
	assert_int_equal(c.protocol, IKE_PROTO_IKE);
	assert_int_equal(c.spi_size, 0);
	assert_string_equal(chosen_text(&c),
	    "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519");
}

static const struct sswan_case {
	const char *what;
	const char *ours[3];
	int rc;
	uint8_t num;
	const char *chosen;
} sswan_cbc_cases[] = {
	{ "defaults: our AEAD proposal first, so the peer's second",
	    { "default" }, 0, 2,
	    "AES_GCM_16_128/PRF_HMAC_SHA2_512/CURVE_25519" },
	{ "CBC only: the peer's first, with the PRF of sha384",
	    { "aes128-sha384-modp3072" }, 0, 1,
	    "AES_CBC_128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_3072" },
	{ "our order of integrity algorithms wins over the peer's",
	    { "aes256-sha384-sha256-ecp384" }, 0, 1,
	    "AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384" },
	{ "a PRF of another hash: the peer's third",
	    { "aes256-sha512-prfsha384-modp2048" }, 0, 3,
	    "AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_384/MODP_2048" },
	{ "our first proposal that fits decides, not the peer's order",
	    { "chacha20poly1305-prfsha512-ecp256",
	      "aes256-sha256-ecp384" }, 0, 2,
	    "CHACHA20_POLY1305/PRF_HMAC_SHA2_512/ECP_256" },
	{ "sha512 with its own PRF: offered nowhere",
	    { "aes256-sha512-modp2048", "aes192gcm16-prfsha512-x25519" },
	    -ENOENT, 0, NULL },
};

/* strongSwan's CBC offer with several proposals. */
static void
test_select_strongswan_cbc(void **state)
{
	for (size_t i = 0; i < N_OF(sswan_cbc_cases); i++) {
		const struct sswan_case *k = &sswan_cbc_cases[i];
		const char *texts[4] = { 0 };
		struct ike_props ours;
		struct ike_chosen c;
		char refused[512];

		print_message("case: %s\n", k->what);
		memcpy(texts, k->ours, sizeof(k->ours));
		props(&ours, IKE_PROTO_IKE, texts);
		parse_ok(sswan_cbc_sa_init, sizeof(sswan_cbc_sa_init));
		assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c,
		    refused, sizeof(refused)), k->rc);
		if (k->rc != 0) {
			/* what charon was configured with, as the log says */
			assert_string_equal(refused,
			    "aes256-aes128-sha256-sha384-prfsha256-prfsha384-"
			    "ecp384-modp3072, "
			    "aes128gcm16-chacha20poly1305-prfsha512-x25519-"
			    "ecp256, "
			    "aes256-sha512-prfsha384-modp2048");
			continue;
		}
		assert_string_equal(refused, "");
		assert_int_equal(c.num, k->num);
		assert_string_equal(chosen_text(&c), k->chosen);
	}
}

/*
 * A stock strongSwan's default offer: 70 transforms in one IKE_SA_INIT
 * (IKE_MAX_TRANSFORMS was 32 until this showed it too small).
 */
static void
test_select_strongswan_default(void **state)
{
	struct ike_props ours;
	struct ike_chosen c;
	char refused[256];

	_Static_assert(IKE_MAX_TRANSFORMS >= 70, "strongSwan's default offer");
	parse_ok(sswan_default_sa_init, sizeof(sswan_default_sa_init));
	ike_props_default(IKE_PROTO_IKE, &ours);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	assert_int_equal(c.num, 2);
	assert_string_equal(chosen_text(&c),
	    "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519");
}

/*
 * Choosing from SA payloads built here.
 */

#define E(id, bits)	{ IKE_TF_ENCR, id, bits }
#define P(id)		{ IKE_TF_PRF, id, 0 }
#define I(id)		{ IKE_TF_INTEG, id, 0 }
#define D(id)		{ IKE_TF_DH, id, 0 }
#define N(id)		{ IKE_TF_ESN, id, 0 }
#define GCM256		E(IKE_ENCR_AES_GCM_16, 256)
#define GCM128		E(IKE_ENCR_AES_GCM_16, 128)
#define CBC256		E(IKE_ENCR_AES_CBC, 256)
#define CBC128		E(IKE_ENCR_AES_CBC, 128)
#define SHA256		I(IKE_INTEG_HMAC_SHA2_256_128)
#define SHA512		I(IKE_INTEG_HMAC_SHA2_512_256)
#define PRF256		P(IKE_PRF_HMAC_SHA2_256)
#define X25519		D(IKE_DH_CURVE25519)
#define ECP256		D(IKE_DH_ECP_256)

struct peer_prop {
	uint8_t protocol;	/* 0: the case's */
	bool bad_spi;		/* a SPI size the protocol does not have */
	struct ike_w_transform tf[12];	/* up to the first of type 0 */
};

static const struct sel_case {
	const char *what;
	uint8_t protocol;
	const char *ours[3];
	struct peer_prop peer[3];
	int rc;
	uint8_t num;
	const char *text;	/* 0: the choice; else what was refused */
} sel_cases[] = {
	{ "our preference between the peer's proposals", IKE_PROTO_IKE,
	    { "aes128-sha256-x25519", "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, PRF256, X25519 } },
	      { .tf = { CBC128, SHA256, PRF256, X25519 } } },
	    0, 2, "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/"
	    "CURVE_25519" },
	{ "our preference inside a proposal", IKE_PROTO_IKE,
	    { "aes128-aes256-sha512-sha256-ecp256-x25519" },
	    { { .tf = { CBC256, CBC128, SHA256, SHA512, PRF256,
	      P(IKE_PRF_HMAC_SHA2_512), X25519, ECP256 } } },
	    0, 1, "AES_CBC_128/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/ECP_256" },
	{ "key length: aes192 is not aes256", IKE_PROTO_IKE,
	    { "aes256-sha256-x25519" },
	    { { .tf = { E(IKE_ENCR_AES_CBC, 192), SHA256, PRF256,
	      X25519 } } },
	    -ENOENT, 0,
	    "aes192-sha256-prfsha256-x25519" },
	{ "key length: AES without the attribute", IKE_PROTO_IKE,
	    { "aes128-sha256-x25519" },
	    { { .tf = { E(IKE_ENCR_AES_CBC, 0), SHA256, PRF256, X25519 } } },
	    -ENOENT, 0, "aes0-sha256-prfsha256-x25519" },
	{ "key length: ChaCha20 with one", IKE_PROTO_ESP,
	    { "chacha20poly1305" },
	    { { .tf = { E(IKE_ENCR_CHACHA20_POLY1305, 256), N(0) } } },
	    -ENOENT, 0, "chacha20poly1305_256-noesn" },
	{ "key length: the one that fits among several", IKE_PROTO_ESP,
	    { "aes128gcm16" },
	    { { .tf = { GCM256, E(IKE_ENCR_AES_GCM_16, 192), GCM128,
	      N(0) } } },
	    0, 1, "AES_GCM_16_128/NO_EXT_SEQ" },
	{ "missing type: IKE without DH", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, PRF256 } } },
	    -ENOENT, 0, "aes256gcm16-prfsha256" },
	{ "missing type: IKE without PRF", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, X25519 } } },
	    -ENOENT, 0, "aes256gcm16-x25519" },
	{ "missing type: IKE CBC without integrity", IKE_PROTO_IKE,
	    { "aes256-sha256-x25519" },
	    { { .tf = { CBC256, PRF256, X25519 } } },
	    -ENOENT, 0, "aes256-prfsha256-x25519" },
	{ "missing type: ESP CBC without integrity", IKE_PROTO_ESP,
	    { "aes256-sha256" },
	    { { .tf = { CBC256, N(0) } } },
	    -ENOENT, 0, "aes256-noesn" },
	{ "missing type: no encryption", IKE_PROTO_ESP,
	    { "aes256-sha256" },
	    { { .tf = { SHA256, N(0) } } },
	    -ENOENT, 0, "sha256-noesn" },
	{ "unknown transform type: that proposal only", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, PRF256, X25519, { 6, 1, 0 } } },
	      { .tf = { GCM256, PRF256, X25519 } } },
	    0, 2, "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519" },
	{ "unknown transform type, alone", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, PRF256, X25519, { 241, 7, 0 } } } },
	    -ENOENT, 0, "aes256gcm16-prfsha256-x25519-type241:7" },
	{ "unknown algorithms among known ones are passed over", IKE_PROTO_IKE,
	    { "aes256-sha256-modp3072" },
	    { { .tf = { E(3, 0), CBC256, I(2), SHA256, P(2), PRF256, D(2),
	      D(IKE_DH_MODP_3072), D(1031) } } },
	    0, 1, "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072" },
	{ "AEAD with an integrity algorithm", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, SHA256, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-sha256-noesn" },
	{ "AEAD with integrity NONE", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, I(0), N(0) } } },
	    0, 1, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "AEAD with NONE and a real one", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, I(0), SHA256, PRF256, X25519 } } },
	    -ENOENT, 0, "aes256gcm16-integnone-sha256-prfsha256-x25519" },
	{ "CBC with integrity NONE", IKE_PROTO_ESP,
	    { "aes256-sha256" },
	    { { .tf = { CBC256, I(0), N(0) } } },
	    -ENOENT, 0, "aes256-integnone-noesn" },
	{ "ESN: the peer wants it, we name none", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, N(1) } } },
	    -ENOENT, 0, "aes256gcm16-esn" },
	{ "ESN: ours first", IKE_PROTO_ESP,
	    { "aes256gcm16-esn-noesn" },
	    { { .tf = { GCM256, N(0), N(1) } } },
	    0, 1, "AES_GCM_16_256/EXT_SEQ" },
	{ "ESN: either, we name none", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, N(1), N(0) } } },
	    0, 1, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "ESN: the peer sends no ESN transform", IKE_PROTO_ESP,
	    { "aes256gcm16-noesn" },
	    { { .tf = { GCM256 } } },
	    0, 1, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "ESN: we need it, the peer sends none", IKE_PROTO_ESP,
	    { "aes256gcm16-esn" },
	    { { .tf = { GCM256 } } },
	    -ENOENT, 0, "aes256gcm16" },
	{ "ESN in an IKE proposal", IKE_PROTO_IKE,
	    { "aes256gcm16-prfsha256-x25519" },
	    { { .tf = { GCM256, PRF256, X25519, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-prfsha256-x25519-noesn" },
	{ "PFS: both want a group", IKE_PROTO_ESP,
	    { "aes256gcm16-x25519-ecp256" },
	    { { .tf = { GCM256, ECP256, X25519, N(0) } } },
	    0, 1, "AES_GCM_16_256/CURVE_25519/NO_EXT_SEQ" },
	{ "PFS: we want it, the peer offers none", IKE_PROTO_ESP,
	    { "aes256gcm16-ecp256" },
	    { { .tf = { GCM256, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-noesn" },
	{ "PFS: the peer wants it, we do not", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, ECP256, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-ecp256-noesn" },
	{ "PFS: the peer's is optional (NONE among its groups)", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, ECP256, D(0), N(0) } } },
	    0, 1, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "PFS: a group we do not have", IKE_PROTO_ESP,
	    { "aes256gcm16-modp3072" },
	    { { .tf = { GCM256, ECP256, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-ecp256-noesn" },
	{ "a PRF in an ESP proposal", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .tf = { GCM256, PRF256, N(0) } } },
	    -ENOENT, 0, "aes256gcm16-prfsha256-noesn" },
	{ "SPI: ESP with an 8-byte SPI", IKE_PROTO_ESP,
	    { "aes256gcm16" },
	    { { .bad_spi = true, .tf = { GCM256, N(0) } },
	      { .tf = { GCM256, N(0) } } },
	    0, 2, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "protocol: AH is passed over", IKE_PROTO_ESP,
	    { "aes256-sha256" },
	    { { .protocol = IKE_PROTO_AH, .tf = { SHA256, N(0) } },
	      { .tf = { CBC256, SHA256, N(0) } } },
	    0, 2, "AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ" },
	/* charon 5.9.8 "received proposals" with esp_proposals = default */
	{ "strongSwan's default ESP offer: our AEAD first", IKE_PROTO_ESP,
	    { "default" },
	    { { .tf = { CBC128, E(IKE_ENCR_AES_CBC, 192), CBC256, SHA256,
	      I(IKE_INTEG_HMAC_SHA2_384_192), SHA512, I(2), I(5), N(0) } },
	      { .tf = { GCM128, E(IKE_ENCR_AES_GCM_16, 192), GCM256,
	      N(0) } } },
	    0, 2, "AES_GCM_16_256/NO_EXT_SEQ" },
	{ "strongSwan's default ESP offer: CBC only", IKE_PROTO_ESP,
	    { "aes256-sha512-sha256" },
	    { { .tf = { CBC128, E(IKE_ENCR_AES_CBC, 192), CBC256, SHA256,
	      I(IKE_INTEG_HMAC_SHA2_384_192), SHA512, I(2), I(5), N(0) } },
	      { .tf = { GCM128, E(IKE_ENCR_AES_GCM_16, 192), GCM256,
	      N(0) } } },
	    0, 1, "AES_CBC_256/HMAC_SHA2_512_256/NO_EXT_SEQ" },
	{ "refused: the peer's proposals for the log", IKE_PROTO_IKE,
	    { "default" },
	    { { .tf = { E(3, 0), I(2), P(2), D(2) } },
	      { .tf = { E(IKE_ENCR_AES_CBC, 128), I(1), P(1), D(1),
	      D(5) } } },
	    -ENOENT, 0,
	    "3des-sha1-prfsha1-modp1024, aes128-md5-prfmd5-modp768-modp1536" },
};

static const uint8_t esp_spi[4] = { 0xc0, 0xff, 0xee, 0x01 };
static const uint8_t big_spi[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* An IKE_SA_INIT (or CREATE_CHILD_SA) with one SA payload of these
 * proposals, parsed into msg. */
static void
build_peer(uint8_t protocol, const struct peer_prop *peer, unsigned n)
{
	static const struct ike_hdr h = { .ispi = 0x1122334455667788ULL,
	    .exchange = IKE_SA_INIT, .flags = IKE_F_INITIATOR };
	struct ike_w_proposal wp[3];
	struct ike_writer w;
	long len;

	for (unsigned i = 0; i < n; i++) {
		unsigned k = 0;
		uint8_t proto = peer[i].protocol ? peer[i].protocol : protocol;

		while (k < N_OF(peer[i].tf) && peer[i].tf[k].type != 0)
			k++;
		wp[i] = (struct ike_w_proposal){
			.num = (uint8_t)(i + 1), .protocol = proto,
			.transforms = peer[i].tf, .count = k,
		};
		if (peer[i].bad_spi || proto != IKE_PROTO_IKE) {
			wp[i].spi_size = peer[i].bad_spi ? 8 : 4;
			wp[i].spi = peer[i].bad_spi ? big_spi : esp_spi;
		}
	}
	ike_w_init(&w, wbuf, sizeof(wbuf), &h);
	assert_int_equal(ike_w_sa(&w, wp, n), 0);
	len = ike_w_finish(&w);
	assert_true(len > 0);
	parse_ok(wbuf, (size_t)len);
}

static void
test_select_built(void **state)
{
	for (size_t i = 0; i < N_OF(sel_cases); i++) {
		const struct sel_case *k = &sel_cases[i];
		const char *texts[4] = { 0 };
		struct ike_props ours;
		struct ike_chosen c;
		char refused[256];
		unsigned n = 0;

		print_message("case: %s\n", k->what);
		memcpy(texts, k->ours, sizeof(k->ours));
		props(&ours, k->protocol, texts);
		while (n < N_OF(k->peer) && k->peer[n].tf[0].type != 0)
			n++;
		build_peer(k->protocol, k->peer, n);
		assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c,
		    refused, sizeof(refused)), k->rc);
		if (k->rc != 0) {
			assert_string_equal(refused, k->text);
			continue;
		}
		assert_int_equal(c.num, k->num);
		assert_string_equal(chosen_text(&c), k->text);
		if (k->protocol == IKE_PROTO_ESP) {
			print_message("case: ... with the peer's SPI\n");
			assert_int_equal(c.spi_size, 4);
			assert_memory_equal(c.spi, esp_spi, 4);
		}
	}
}

/* A transform with an attribute other than Key Length (§3.3.6): that
 * transform is unacceptable, the next one of its type is not. */
static void
test_select_unknown_attribute(void **state)
{
	static const struct ike_hdr h = { .ispi = 1, .exchange = IKE_SA_INIT,
	    .flags = IKE_F_INITIATOR };
	/* proposal 1, ESP, SPI 4 bytes, 3 transforms */
	static const uint8_t sa[] = {
		0, 0, 0, 48, 1, IKE_PROTO_ESP, 4, 3, 0xc0, 0xff, 0xee, 0x01,
		/* AES-GCM-16 256 with attribute 6 (TV) as well */
		3, 0, 0, 16, IKE_TF_ENCR, 0, 0, IKE_ENCR_AES_GCM_16,
		0x80, 14, 0x01, 0x00, 0x80, 6, 0, 1,
		/* AES-GCM-16 128, Key Length only */
		3, 0, 0, 12, IKE_TF_ENCR, 0, 0, IKE_ENCR_AES_GCM_16,
		0x80, 14, 0x00, 0x80,
		0, 0, 0, 8, IKE_TF_ESN, 0, 0, 0,
	};
	struct ike_props ours;
	struct ike_chosen c;
	struct ike_writer w;
	char refused[128];
	long len;

	ike_props_default(IKE_PROTO_ESP, &ours);
	ike_w_init(&w, wbuf, sizeof(wbuf), &h);
	assert_int_equal(ike_w_payload(&w, IKE_PL_SA, false, sa,
	    sizeof(sa)), 0);
	len = ike_w_finish(&w);
	parse_ok(wbuf, (size_t)len);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	assert_string_equal(chosen_text(&c), "AES_GCM_16_128/NO_EXT_SEQ");

	print_message("case: without the second, nothing\n");
	{
		uint8_t sa1[sizeof(sa) - 12];

		memcpy(sa1, sa, 28);
		memcpy(sa1 + 28, sa + 40, 8);
		sa1[3] = sizeof(sa1);
		sa1[7] = 2;
		ike_w_init(&w, wbuf, sizeof(wbuf), &h);
		assert_int_equal(ike_w_payload(&w, IKE_PL_SA, false, sa1,
		    sizeof(sa1)), 0);
		len = ike_w_finish(&w);
		parse_ok(wbuf, (size_t)len);
		assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c,
		    refused, sizeof(refused)), -ENOENT);
	}
}

/*
 * Our own offer, written, parsed, chosen from by ourselves; the answer,
 * written, parsed and accepted by the initiator.
 */
static void
self_round_trip(uint8_t protocol, const uint8_t *spi, uint8_t spi_size)
{
	static struct ike_w_transform tf[IKE_PROPS_MAX * 5 *
	    IKE_PROP_ALGS_MAX];
	static const struct ike_hdr h = { .ispi = 7,
	    .exchange = IKE_SA_INIT, .flags = IKE_F_INITIATOR };
	static const uint8_t rspi[4] = { 9, 8, 7, 6 };
	struct ike_w_proposal wp[IKE_PROPS_MAX], ans;
	struct ike_w_transform atf[5];
	struct ike_props ours;
	struct ike_chosen c, a;
	struct ike_writer w;
	char refused[64];
	unsigned n;
	long len;

	ike_props_default(protocol, &ours);
	n = ike_props_to_w(&ours, spi, spi_size, wp, tf);
	assert_int_equal(n, ours.n);
	ike_w_init(&w, wbuf, sizeof(wbuf), &h);
	assert_int_equal(ike_w_sa(&w, wp, n), 0);
	len = ike_w_finish(&w);
	parse_ok(wbuf, (size_t)len);
	assert_int_equal(sa_of()->u.sa.count, ours.n);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	assert_int_equal(c.num, 1);
	assert_int_equal(c.encr, ours.p[0].encr[0].id);
	assert_int_equal(c.encr_bits, ours.p[0].encr[0].bits);
	assert_int_equal(c.spi_size, spi_size);
	assert_memory_equal(c.spi, spi, spi_size);
	if (protocol == IKE_PROTO_IKE) {
		assert_int_equal(c.prf, ours.p[0].prf[0]);
		assert_int_equal(c.dh, ours.p[0].dh[0]);
		assert_string_equal(chosen_text(&c),
		    "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519");
	} else {
		print_message("case: ESP offers say no ESN explicitly\n");
		assert_int_equal(msg.transforms[msg.proposals[0].first +
		    msg.proposals[0].count - 1].type, IKE_TF_ESN);
		assert_string_equal(chosen_text(&c),
		    "AES_GCM_16_256/NO_EXT_SEQ");
	}

	print_message("case: the answer is accepted by the initiator\n");
	ike_chosen_to_w(&c, protocol == IKE_PROTO_ESP ? rspi : NULL,
	    protocol == IKE_PROTO_ESP ? 4 : 0, &ans, atf);
	ike_w_init(&w, wbuf, sizeof(wbuf), &h);
	assert_int_equal(ike_w_sa(&w, &ans, 1), 0);
	len = ike_w_finish(&w);
	parse_ok(wbuf, (size_t)len);
	assert_int_equal(ike_prop_accept(&ours, &msg, sa_of(), &a), 0);
	assert_int_equal(a.num, c.num);
	assert_int_equal(a.encr, c.encr);
	assert_int_equal(a.encr_bits, c.encr_bits);
	assert_int_equal(a.prf, c.prf);
	assert_int_equal(a.integ, c.integ);
	assert_int_equal(a.dh, c.dh);
	assert_int_equal(a.esn, c.esn);
	if (protocol == IKE_PROTO_ESP)
		assert_memory_equal(a.spi, rspi, 4);
}

static void
test_self_ike(void **state)
{
	self_round_trip(IKE_PROTO_IKE, NULL, 0);
}

static void
test_self_esp(void **state)
{
	self_round_trip(IKE_PROTO_ESP, esp_spi, 4);
}

/* Every proposal of the defaults, alone, chooses itself back. */
static void
test_self_each_default(void **state)
{
	static struct ike_w_transform tf[IKE_PROPS_MAX * 5 *
	    IKE_PROP_ALGS_MAX];
	static const struct ike_hdr h = { .ispi = 7,
	    .exchange = IKE_SA_INIT, .flags = IKE_F_INITIATOR };
	static const uint8_t protos[] = { IKE_PROTO_IKE, IKE_PROTO_ESP };

	for (size_t k = 0; k < N_OF(protos); k++) {
		struct ike_props def, one;

		ike_props_default(protos[k], &def);
		for (unsigned i = 0; i < def.n; i++) {
			struct ike_w_proposal wp[IKE_PROPS_MAX];
			struct ike_chosen c;
			struct ike_writer w;
			char refused[256];
			long len;

			one.n = 1;
			one.p[0] = def.p[i];
			ike_props_to_w(&one, esp_spi,
			    protos[k] == IKE_PROTO_ESP ? 4 : 0, wp, tf);
			ike_w_init(&w, wbuf, sizeof(wbuf), &h);
			assert_int_equal(ike_w_sa(&w, wp, 1), 0);
			len = ike_w_finish(&w);
			parse_ok(wbuf, (size_t)len);
			assert_int_equal(ike_prop_select(&def, &msg, sa_of(),
			    &c, refused, sizeof(refused)), 0);
			assert_int_equal(c.encr, def.p[i].encr[0].id);
			assert_int_equal(c.encr_bits, def.p[i].encr[0].bits);
			if (def.p[i].n_integ)
				assert_int_equal(c.integ, def.p[i].integ[0]);
		}
	}
}

/* The first child comes without groups in IKE_AUTH: ours with PFS must
 * drop them to choose it (and keeps them for CREATE_CHILD_SA). */
static void
test_without_dh(void **state)
{
	static const char *const pfs[] = { "aes256gcm16-x25519", NULL };
	static const struct peer_prop peer[] = {
		{ .tf = { GCM256, N(0) } },
	};
	struct ike_props ours, first;
	struct ike_chosen c;
	char refused[64];

	props(&ours, IKE_PROTO_ESP, pfs);
	build_peer(IKE_PROTO_ESP, peer, 1);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), -ENOENT);
	ike_props_without_dh(&ours, &first);
	assert_int_equal(ours.p[0].n_dh, 1);
	assert_int_equal(ike_prop_select(&first, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	assert_int_equal(c.dh, 0);
}

/* What an initiator refuses of an answer. */
static void
test_accept_refuses(void **state)
{
	static const struct {
		const char *what;
		struct peer_prop peer[2];
	} cases[] = {
		{ "two proposals", { { .tf = { GCM256, N(0) } },
		    { .tf = { GCM256, N(0) } } } },
		{ "two ciphers", { { .tf = { GCM256, GCM128, N(0) } } } },
		{ "two ESN", { { .tf = { GCM256, N(0), N(1) } } } },
		{ "a cipher we did not offer",
		    { { .tf = { E(IKE_ENCR_AES_GCM_16, 192), N(0) } } } },
		{ "a group we did not offer",
		    { { .tf = { GCM256, ECP256, N(0) } } } },
		{ "an unknown type", { { .tf = { GCM256, N(0),
		    { 9, 1, 0 } } } } },
	};
	struct ike_props ours;
	struct ike_chosen c;

	ike_props_default(IKE_PROTO_ESP, &ours);
	for (size_t i = 0; i < N_OF(cases); i++) {
		unsigned n = cases[i].peer[1].tf[0].type != 0 ? 2 : 1;

		print_message("case: %s\n", cases[i].what);
		build_peer(IKE_PROTO_ESP, cases[i].peer, n);
		assert_int_equal(ike_prop_accept(&ours, &msg, sa_of(), &c),
		    -EINVAL);
	}
}

/* An answer repeats the types the chosen proposal carried: DH NONE when
 * the peer offered it, no ESN when it sent none. */
static void
test_answer_types(void **state)
{
	static const struct peer_prop none_dh[] = {
		{ .tf = { GCM256, ECP256, D(0), N(0) } },
	};
	static const struct peer_prop no_esn[] = { { .tf = { GCM256 } } };
	struct ike_w_transform tf[5];
	struct ike_w_proposal ans;
	struct ike_props ours;
	struct ike_chosen c;
	char refused[64];

	ike_props_default(IKE_PROTO_ESP, &ours);
	build_peer(IKE_PROTO_ESP, none_dh, 1);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	ike_chosen_to_w(&c, esp_spi, 4, &ans, tf);
	assert_int_equal(ans.count, 3);
	assert_int_equal(tf[1].type, IKE_TF_DH);
	assert_int_equal(tf[1].id, 0);
	assert_int_equal(tf[2].type, IKE_TF_ESN);

	build_peer(IKE_PROTO_ESP, no_esn, 1);
	assert_int_equal(ike_prop_select(&ours, &msg, sa_of(), &c, refused,
	    sizeof(refused)), 0);
	ike_chosen_to_w(&c, esp_spi, 4, &ans, tf);
	assert_int_equal(ans.count, 1);
	assert_int_equal(tf[0].key_len, 256);

	print_message("case: a choice made by hand names its types\n");
	memset(&c, 0, sizeof(c));
	c.num = 1;
	c.protocol = IKE_PROTO_ESP;
	c.encr = IKE_ENCR_AES_CBC;
	c.encr_bits = 128;
	c.integ = IKE_INTEG_HMAC_SHA2_256_128;
	ike_chosen_to_w(&c, esp_spi, 4, &ans, tf);
	assert_int_equal(ans.count, 3);
	assert_int_equal(tf[1].type, IKE_TF_INTEG);
	assert_int_equal(tf[2].type, IKE_TF_ESN);
}

/*
 * The ESP layer's names and key sizes.
 */
static void
test_chosen_esp(void **state)
{
	static const struct {
		uint16_t encr, bits, integ;
		int rc;
		enum esp_alg alg;
		size_t enc, auth;
	} cases[] = {
		{ IKE_ENCR_AES_GCM_16, 128, 0, 0, ESP_ALG_AES_GCM_16, 20, 0 },
		{ IKE_ENCR_AES_GCM_16, 192, 0, 0, ESP_ALG_AES_GCM_16, 28, 0 },
		{ IKE_ENCR_AES_GCM_16, 256, 0, 0, ESP_ALG_AES_GCM_16, 36, 0 },
		{ IKE_ENCR_CHACHA20_POLY1305, 0, 0, 0,
		    ESP_ALG_CHACHA20_POLY1305, 36, 0 },
		{ IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA256, 16, 32 },
		{ IKE_ENCR_AES_CBC, 192, IKE_INTEG_HMAC_SHA2_256_128, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA256, 24, 32 },
		{ IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA256, 32, 32 },
		{ IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_384_192, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA384, 16, 48 },
		{ IKE_ENCR_AES_CBC, 192, IKE_INTEG_HMAC_SHA2_384_192, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA384, 24, 48 },
		{ IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_384_192, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA384, 32, 48 },
		{ IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_512_256, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA512, 16, 64 },
		{ IKE_ENCR_AES_CBC, 192, IKE_INTEG_HMAC_SHA2_512_256, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA512, 24, 64 },
		{ IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_512_256, 0,
		    ESP_ALG_AES_CBC_HMAC_SHA512, 32, 64 },
		{ IKE_ENCR_AES_CBC, 256, 2 /* SHA-1 */, -ENOTSUP, 0, 0, 0 },
		{ IKE_ENCR_AES_CBC, 64, IKE_INTEG_HMAC_SHA2_256_128,
		    -ENOTSUP, 0, 0, 0 },
		{ 3 /* 3DES */, 0, IKE_INTEG_HMAC_SHA2_256_128, -ENOTSUP, 0, 0, 0 },
		{ 16 /* AES-CCM-16 */, 256, 0, -ENOTSUP, 0, 0, 0 },
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		struct ike_chosen c = { .protocol = IKE_PROTO_ESP,
		    .encr = cases[i].encr, .encr_bits = cases[i].bits,
		    .integ = cases[i].integ };
		enum esp_alg alg;
		size_t enc = 99, auth = 99;

		print_message("case: %s\n", chosen_text(&c));
		assert_int_equal(ike_chosen_esp(&c, &alg, &enc, &auth),
		    cases[i].rc);
		if (cases[i].rc != 0)
			continue;
		assert_int_equal(alg, cases[i].alg);
		assert_int_equal(enc, cases[i].enc);
		assert_int_equal(auth, cases[i].auth);
	}

	print_message("case: an IKE choice is no ESP algorithm\n");
	{
		struct ike_chosen c = { .protocol = IKE_PROTO_IKE,
		    .encr = IKE_ENCR_AES_GCM_16, .encr_bits = 256 };
		enum esp_alg alg;
		size_t enc, auth;

		assert_int_equal(ike_chosen_esp(&c, &alg, &enc, &auth),
		    -ENOTSUP);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_order_kept),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_props_add),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_select_strongswan_aead),
		cmocka_unit_test(test_select_strongswan_cbc),
		cmocka_unit_test(test_select_strongswan_default),
		cmocka_unit_test(test_select_built),
		cmocka_unit_test(test_select_unknown_attribute),
		cmocka_unit_test(test_self_ike),
		cmocka_unit_test(test_self_esp),
		cmocka_unit_test(test_self_each_default),
		cmocka_unit_test(test_without_dh),
		cmocka_unit_test(test_accept_refuses),
		cmocka_unit_test(test_answer_types),
		cmocka_unit_test(test_chosen_esp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
