/*
 * tests/unit/ike/test_cert.c: src/ike/cert.c, X.509 and IKEv2 signatures,
 * with certificates made at run time (certgen.h): a chain to the
 * configured CA accepted, and refused with its reason when it is
 * expired, not yet valid, from another CA or without its intermediate;
 * identities in the subject and the SANs; AUTH signed and verified with
 * RSA and ECDSA by RFC 7427's Digital Signature (PKCS#1 v1.5 and PSS) and
 * by the classic methods, a changed byte refused; PEM loading (an
 * encrypted key refused); DNs as swanctl writes them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "certgen.h"
#include "ike/cert.h"

#define T0	((time_t)1700000000)	/* the tests' "now" */
#define DAY	86400L

static EVP_PKEY *ca_key, *ca2_key, *rsa_key, *p256_key, *p384_key;
static X509 *ca, *ca2;

static int
setup(void **state)
{
	(void)state;
	ca_key = tc_key("P-256");
	ca2_key = tc_key("P-256");
	rsa_key = tc_key("RSA");
	p256_key = tc_key("P-256");
	p384_key = tc_key("P-384");
	ca = tc_cert(ca_key, "CN=Test CA,O=Example", NULL, NULL, T0,
	    -365 * DAY, 3650 * DAY, NULL, true);
	ca2 = tc_cert(ca2_key, "CN=Other CA,O=Elsewhere", NULL, NULL, T0,
	    -365 * DAY, 3650 * DAY, NULL, true);
	return ca == NULL || ca2 == NULL || rsa_key == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca);
	X509_free(ca2);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ca2_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(p256_key);
	EVP_PKEY_free(p384_key);
	return 0;
}

/* Credentials trusting cacert (and signing with x/key when given). */
static struct ike_creds *
creds(X509 *x, EVP_PKEY *key, X509 *cacert)
{
	uint8_t c[4096], k[4096], a[4096];
	size_t cl = 0, kl = 0, al = 0;
	struct ike_creds *cr;
	char why[256];

	if (x != NULL) {
		tc_der(x, c, &cl);
		kl = tc_key_der(key, k);
	}
	if (cacert != NULL)
		tc_der(cacert, a, &al);
	assert_int_equal(ike_creds_new(&cr, c, cl, k, kl, a, al, why,
	    sizeof(why)), 0);
	return cr;
}

/* Verifies [x, mid] against cr at now; the outcome, *out kept. */
static enum ike_cert_err
verify(struct ike_creds *cr, X509 *x, X509 *mid, time_t now,
    struct ike_cert **out, char *why, size_t why_len)
{
	static uint8_t d[2][4096];
	size_t l[2] = { 0, 0 };
	struct ike_buf b[2];
	struct ike_cert *tmp = NULL;
	enum ike_cert_err e;

	tc_der(x, d[0], &l[0]);
	b[0] = (struct ike_buf){ d[0], l[0] };
	if (mid != NULL) {
		tc_der(mid, d[1], &l[1]);
		b[1] = (struct ike_buf){ d[1], l[1] };
	}
	e = ike_cert_verify(cr, b, mid != NULL ? 2 : 1, (int64_t)now,
	    out != NULL ? out : &tmp, why, why_len);
	ike_cert_free(tmp);
	return e;
}

static void
test_chain_ok_and_times(void **state)
{
	X509 *x = tc_cert(rsa_key, "CN=gw1,O=Example", ca, ca_key, T0,
	    -DAY, 30 * DAY, "DNS:gw1.example.com", false);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	struct ike_cert *pc;
	char why[512];

	(void)state;
	assert_int_equal(verify(cr, x, NULL, T0, &pc, why, sizeof(why)),
	    IKE_CERT_E_OK);
	assert_non_null(pc);
	ike_cert_subject(pc, why, sizeof(why));
	assert_string_equal(why, "CN=gw1, O=Example");
	ike_cert_free(pc);

	/* A second after notAfter: expired, and the log says until when. */
	assert_int_equal(verify(cr, x, NULL, T0 + 30 * DAY + 1, NULL, why,
	    sizeof(why)), IKE_CERT_E_EXPIRED);
	assert_non_null(strstr(why, "certificate expired: \"CN=gw1, "
	    "O=Example\" not after "));
	/* A second before notBefore. */
	assert_int_equal(verify(cr, x, NULL, T0 - DAY - 1, NULL, why,
	    sizeof(why)), IKE_CERT_E_NOT_YET_VALID);
	assert_non_null(strstr(why, "not yet valid"));
	X509_free(x);
	ike_creds_free(cr);
}

static void
test_untrusted(void **state)
{
	/* Issued by another CA, or self-signed: untrusted, issuer named. */
	X509 *x = tc_cert(p256_key, "CN=gw1,O=Example", ca2, ca2_key, T0,
	    -DAY, DAY, NULL, false);
	X509 *self = tc_cert(p256_key, "CN=gw1,O=Example", NULL, NULL, T0,
	    -DAY, DAY, NULL, false);
	/* Its subject and issuer right, signed by another key. */
	X509 *forged = tc_cert(p256_key, "CN=gw1,O=Example", ca, ca2_key,
	    T0, -DAY, DAY, NULL, false);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	struct ike_creds *none = creds(NULL, NULL, NULL);
	char why[512];

	(void)state;
	assert_int_equal(verify(cr, x, NULL, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_UNTRUSTED);
	assert_non_null(strstr(why, "issuer \"CN=Other CA, O=Elsewhere\""));
	assert_int_equal(verify(cr, self, NULL, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_UNTRUSTED);
	assert_int_equal(verify(cr, forged, NULL, T0, NULL, why,
	    sizeof(why)), IKE_CERT_E_UNTRUSTED);
	assert_non_null(strstr(why, "does not verify"));
	/* The same certificate trusted when its CA is configured. */
	ike_creds_free(cr);
	cr = creds(NULL, NULL, ca2);
	assert_int_equal(verify(cr, x, NULL, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_OK);
	/* No CA at all. */
	assert_int_equal(verify(none, x, NULL, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_UNTRUSTED);
	/* No certificate; garbage for one. */
	{
		struct ike_cert *pc;
		struct ike_buf junk = { (const uint8_t *)"\x30\x03\x02\x01\x01",
		    5 };

		assert_int_equal(ike_cert_verify(cr, NULL, 0, T0, &pc, why,
		    sizeof(why)), IKE_CERT_E_NONE);
		assert_int_equal(ike_cert_verify(cr, &junk, 1, T0, &pc, why,
		    sizeof(why)), IKE_CERT_E_BAD);
		assert_null(pc);
	}
	X509_free(x);
	X509_free(self);
	X509_free(forged);
	ike_creds_free(cr);
	ike_creds_free(none);
}

static void
test_intermediate(void **state)
{
	EVP_PKEY *mk = tc_key("P-256");
	X509 *mid = tc_cert(mk, "CN=Sub CA,O=Example", ca, ca_key, T0, -DAY,
	    365 * DAY, NULL, true);
	X509 *x = tc_cert(p256_key, "CN=gw2,O=Example", mid, mk, T0, -DAY,
	    DAY, NULL, false);
	X509 *old_mid = tc_cert(mk, "CN=Sub CA,O=Example", ca, ca_key, T0,
	    -10 * DAY, -5 * DAY, NULL, true);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	char why[512];

	(void)state;
	/* The peer sends its intermediate: the chain reaches our CA. */
	assert_int_equal(verify(cr, x, mid, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_OK);
	/* Without it: the issuer is unknown. */
	assert_int_equal(verify(cr, x, NULL, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_UNTRUSTED);
	/* An expired intermediate: said to be a CA's. */
	assert_int_equal(verify(cr, x, old_mid, T0, NULL, why, sizeof(why)),
	    IKE_CERT_E_EXPIRED);
	assert_non_null(strstr(why, "(a CA): \"CN=Sub CA, O=Example\""));
	X509_free(mid);
	X509_free(old_mid);
	X509_free(x);
	EVP_PKEY_free(mk);
	ike_creds_free(cr);
}

static void
test_identities(void **state)
{
	X509 *x = tc_cert(p256_key, "CN=gw1,O=Example", ca, ca_key, T0, -DAY,
	    DAY, "DNS:gw1.example.com,IP:192.0.2.1,IP:2001:db8::1,"
	    "email:ops@example.com", false);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	struct ike_cert *pc;
	struct ike_id id, id2;
	char why[512];

	(void)state;
	assert_int_equal(verify(cr, x, NULL, T0, &pc, why, sizeof(why)),
	    IKE_CERT_E_OK);
	/* The subject, as swanctl writes it, and in other spellings: its
	 * case, spaces, '/' separators. */
	assert_int_equal(ike_dn_parse("CN=gw1, O=Example", &id), 0);
	assert_int_equal(id.type, IKE_ID_DER_ASN1_DN);
	assert_true(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_dn_parse("cn = GW1 ,o=example", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_dn_parse("/CN=gw1/O=Example", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	/* Not it: another CN, the RDNs in another order, one missing. */
	assert_int_equal(ike_dn_parse("CN=gw2, O=Example", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_dn_parse("O=Example, CN=gw1", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_dn_parse("CN=gw1", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	/* SANs: FQDN (any case), addresses, email. */
	assert_int_equal(ike_id_parse("GW1.example.com", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_id_parse("gw2.example.com", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_id_parse("192.0.2.1", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_id_parse("192.0.2.2", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_id_parse("2001:db8::1", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	assert_int_equal(ike_id_parse("ops@example.com", &id), 0);
	assert_true(ike_cert_has_id(pc, &id));
	/* An FQDN that the CN holds is not a SAN. */
	assert_int_equal(ike_id_parse("gw1", &id), 0);
	assert_false(ike_cert_has_id(pc, &id));
	ike_cert_free(pc);

	/* DN text round trip, and equality regardless of case. */
	assert_int_equal(ike_id_parse("C=CH, O=strongSwan, CN=moon", &id), 0);
	ike_id_format(&id, why, sizeof(why));
	assert_string_equal(why, "C=CH, O=strongSwan, CN=moon");
	assert_int_equal(ike_id_parse("c=ch,o=STRONGSWAN,cn=Moon", &id2), 0);
	assert_true(ike_id_equal(&id, &id2));
	assert_int_equal(ike_id_parse("C=CH, O=strongSwan, CN=sun", &id2), 0);
	assert_false(ike_id_equal(&id, &id2));
	assert_int_equal(ike_id_parse("GW.Example", &id), 0);
	assert_int_equal(ike_id_parse("gw.example", &id2), 0);
	assert_true(ike_id_equal(&id, &id2));
	/* Not DNs: an unknown attribute, a missing value. */
	assert_int_equal(ike_id_parse("XX=1, CN=a", &id), -EINVAL);
	assert_int_equal(ike_id_parse("CN=, O=a", &id), -EINVAL);
	X509_free(x);
	ike_creds_free(cr);
}

/* Signs octets with x/key as the peer hashes allow, verifies, and then
 * with one byte of the signature and one of the octets changed. */
static void
sign_verify(EVP_PKEY *key, unsigned hashes, bool pss, uint8_t want_method)
{
	X509 *x = tc_cert(key, "CN=signer,O=Example", ca, ca_key, T0, -DAY,
	    DAY, NULL, false);
	struct ike_creds *mine = creds(x, key, NULL);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	struct ike_cert *pc;
	uint8_t octets[300], sig[IKE_SIG_MAX], method = 0;
	char why[512];
	long n;

	for (size_t i = 0; i < sizeof(octets); i++)
		octets[i] = (uint8_t)(i * 7);
	n = ike_sign(mine, hashes, pss, octets, sizeof(octets), &method, sig,
	    sizeof(sig));
	assert_true(n > 0);
	assert_int_equal(method, want_method);
	assert_int_equal(verify(cr, x, NULL, T0, &pc, why, sizeof(why)),
	    IKE_CERT_E_OK);
	assert_int_equal(ike_sig_verify(pc, method, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_OK);
	sig[n - 3] ^= 0x01;
	assert_int_equal(ike_sig_verify(pc, method, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_BAD_SIG);
	assert_non_null(strstr(why, "bad signature"));
	sig[n - 3] ^= 0x01;
	octets[100] ^= 0x80;
	assert_int_equal(ike_sig_verify(pc, method, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_BAD_SIG);
	octets[100] ^= 0x80;
	/* Another method number for the same bytes is not taken. */
	assert_int_not_equal(ike_sig_verify(pc, method == IKE_AUTH_RSA_SIG ?
	    IKE_AUTH_ECDSA_256 : IKE_AUTH_RSA_SIG, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_OK);
	if (method == IKE_AUTH_DIGITAL_SIG) {
		/* RFC 7427: the AlgorithmIdentifier's length, then it. */
		const uint8_t *p = sig + 1;
		X509_ALGOR *al = d2i_X509_ALGOR(NULL, &p, sig[0]);
		int nid;

		assert_non_null(al);
		nid = OBJ_obj2nid(al->algorithm);
		X509_ALGOR_free(al);
		if (pss)
			assert_int_equal(nid, NID_rsassaPss);
		else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
			assert_int_equal(nid, hashes &
			    IKE_HASH_BIT(IKE_HASH_SHA2_256) ?
			    NID_sha256WithRSAEncryption :
			    NID_sha512WithRSAEncryption);
		else
			assert_true(nid == NID_ecdsa_with_SHA256 ||
			    nid == NID_ecdsa_with_SHA384 ||
			    nid == NID_ecdsa_with_SHA512);
	}
	ike_cert_free(pc);
	ike_creds_free(mine);
	ike_creds_free(cr);
	X509_free(x);
}

static void
test_sign_rsa(void **state)
{
	(void)state;
	sign_verify(rsa_key, IKE_HASHES_OURS, false, IKE_AUTH_DIGITAL_SIG);
	sign_verify(rsa_key, IKE_HASHES_OURS, true, IKE_AUTH_DIGITAL_SIG);
	/* The peer takes SHA-512 only. */
	sign_verify(rsa_key, IKE_HASH_BIT(IKE_HASH_SHA2_512), false,
	    IKE_AUTH_DIGITAL_SIG);
	/* No RFC 7427 (or SHA-1 only): the classic RSA method. */
	sign_verify(rsa_key, 0, false, IKE_AUTH_RSA_SIG);
	sign_verify(rsa_key, IKE_HASH_BIT(IKE_HASH_SHA1), false,
	    IKE_AUTH_RSA_SIG);
}

static void
test_sign_ecdsa(void **state)
{
	(void)state;
	sign_verify(p256_key, IKE_HASHES_OURS, false, IKE_AUTH_DIGITAL_SIG);
	sign_verify(p384_key, IKE_HASHES_OURS, false, IKE_AUTH_DIGITAL_SIG);
	sign_verify(p256_key, 0, false, IKE_AUTH_ECDSA_256);
	sign_verify(p384_key, 0, false, IKE_AUTH_ECDSA_384);
}

static void
test_sig_key_mismatch(void **state)
{
	/* An RSA signature from a certificate with an ECDSA key, and a
	 * signature by another key than the certificate's. */
	X509 *rx = tc_cert(rsa_key, "CN=r,O=Example", ca, ca_key, T0, -DAY,
	    DAY, NULL, false);
	X509 *ex = tc_cert(p256_key, "CN=e,O=Example", ca, ca_key, T0, -DAY,
	    DAY, NULL, false);
	EVP_PKEY *other = tc_key("P-256");
	X509 *ox = tc_cert(other, "CN=e,O=Example", ca, ca_key, T0, -DAY,
	    DAY, NULL, false);
	struct ike_creds *rs = creds(rx, rsa_key, NULL);
	struct ike_creds *os = creds(ox, other, NULL);
	struct ike_creds *cr = creds(NULL, NULL, ca);
	struct ike_cert *pc;
	uint8_t octets[64] = { 1, 2, 3 }, sig[IKE_SIG_MAX], m;
	char why[512];
	long n;

	(void)state;
	assert_int_equal(verify(cr, ex, NULL, T0, &pc, why, sizeof(why)),
	    IKE_CERT_E_OK);
	n = ike_sign(rs, IKE_HASHES_OURS, false, octets, sizeof(octets), &m,
	    sig, sizeof(sig));
	assert_true(n > 0);
	assert_int_equal(ike_sig_verify(pc, m, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_METHOD);
	n = ike_sign(os, IKE_HASHES_OURS, false, octets, sizeof(octets), &m,
	    sig, sizeof(sig));
	assert_int_equal(ike_sig_verify(pc, m, sig, (size_t)n, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_BAD_SIG);
	/* PSK's method, or nonsense, is no signature. */
	assert_int_equal(ike_sig_verify(pc, IKE_AUTH_PSK, sig, (size_t)n,
	    octets, sizeof(octets), why, sizeof(why)), IKE_CERT_E_METHOD);
	assert_int_equal(ike_sig_verify(pc, IKE_AUTH_DIGITAL_SIG,
	    (const uint8_t *)"\x05\x30\x03\x06\x01\x00", 6, octets,
	    sizeof(octets), why, sizeof(why)), IKE_CERT_E_METHOD);
	ike_cert_free(pc);
	ike_creds_free(rs);
	ike_creds_free(os);
	ike_creds_free(cr);
	X509_free(rx);
	X509_free(ex);
	X509_free(ox);
	EVP_PKEY_free(other);
}

static void
test_creds_and_pem(void **state)
{
	X509 *x = tc_cert(p256_key, "CN=gw1,O=Example", ca, ca_key, T0, -DAY,
	    DAY, "DNS:gw1.example.com", false);
	uint8_t der[8192], key[4096], cr_hash[64], want[20];
	size_t len = 0, klen = 0, pl1, pl2, pl3;
	char *pem1 = tc_pem(x, NULL, NULL, &pl1);
	char *pem2 = tc_pem(ca, NULL, NULL, &pl2);
	char *kpem = tc_pem(NULL, p256_key, NULL, &pl3), *both, why[256];
	struct ike_creds *cr;
	struct ike_id id;
	const uint8_t *d;
	size_t dl;
	unsigned n;

	(void)state;
	/* Two certificates in one PEM text: two DERs. */
	both = malloc(pl1 + pl2 + 1);
	memcpy(both, pem1, pl1);
	memcpy(both + pl1, pem2, pl2 + 1);
	assert_int_equal(ike_pem_certs(both, pl1 + pl2, der, sizeof(der),
	    &len, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ike_pem_key(kpem, pl3, key, sizeof(key), &klen, why,
	    sizeof(why)), 0);
	assert_int_equal(ike_creds_new(&cr, der, len, key, klen, der, len,
	    why, sizeof(why)), 0);
	assert_true(ike_creds_cert(cr, 0, &d, &dl));
	assert_true(ike_creds_cert(cr, 1, &d, &dl));
	assert_false(ike_creds_cert(cr, 2, &d, &dl));
	assert_int_equal(ike_creds_subject(cr, &id), 0);
	ike_id_format(&id, why, sizeof(why));
	assert_string_equal(why, "CN=gw1, O=Example");
	assert_true(ike_creds_has_id(cr, &id));
	assert_int_equal(ike_id_parse("gw1.example.com", &id), 0);
	assert_true(ike_creds_has_id(cr, &id));
	/* CERTREQ: SHA-1 of each CA's SubjectPublicKeyInfo. */
	assert_int_equal(ike_creds_certreq(cr, cr_hash, sizeof(cr_hash)), 40);
	{
		unsigned char *spki = NULL;
		int k = i2d_PUBKEY(X509_get0_pubkey(ca), &spki);

		EVP_Digest(spki, (size_t)k, want, NULL, EVP_sha1(), NULL);
		OPENSSL_free(spki);
	}
	assert_memory_equal(cr_hash + 20, want, 20);
	ike_creds_free(cr);

	/* Refused, each with its reason: no certificate, a key that is
	 * not the certificate's, an encrypted key. */
	assert_int_equal(ike_pem_certs(kpem, pl3, der, sizeof(der), &len, &n,
	    why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "no PEM certificate"));
	len = 0;
	assert_int_equal(ike_pem_certs(pem1, pl1, der, sizeof(der), &len, &n,
	    why, sizeof(why)), 0);
	free(kpem);
	kpem = tc_pem(NULL, rsa_key, NULL, &pl3);
	assert_int_equal(ike_pem_key(kpem, pl3, key, sizeof(key), &klen, why,
	    sizeof(why)), 0);
	assert_int_equal(ike_creds_new(&cr, der, len, key, klen, NULL, 0,
	    why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not the certificate's"));
	free(kpem);
	kpem = tc_pem(NULL, p256_key, "secret", &pl3);
	assert_int_equal(ike_pem_key(kpem, pl3, key, sizeof(key), &klen, why,
	    sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "encrypted"));
	free(pem1);
	free(pem2);
	free(kpem);
	free(both);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_ok_and_times),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_intermediate),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_sign_ecdsa),
		cmocka_unit_test(test_sig_key_mismatch),
		cmocka_unit_test(test_creds_and_pem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
