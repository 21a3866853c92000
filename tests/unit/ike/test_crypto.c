/*
 * tests/unit/ike/test_crypto.c: IKEv2's cryptography (src/ike/crypto.c).
 *
 * Interoperability first: three IKE SAs that two strongSwan 5.9.8 charons
 * set up between themselves (data/capture.sh recorded the datagrams and
 * the keys charon logs; data/extract.py made data/sswan_*.h), one each of
 * AES-GCM + X25519, AES-CBC + HMAC + MODP-3072 and ChaCha20-Poly1305 +
 * ECP-256.  For each: the keys derived from the captured nonces, SPIs and
 * g^ir are the ones charon logged; the captured IKE_AUTH request and
 * response decrypt with them into IDi/IDr, AUTH, SA, TSi, TSr, and a
 * flipped bit anywhere is refused; PSK AUTH computed from the captured
 * IKE_SA_INIT messages is what each charon sent; the child SA's keys are
 * what charon installed; the NAT detection hashes match charon's (its
 * source hash is faked, see test_sswan_nat_hash); charon's KE values are
 * accepted as valid public values.  The AES-GCM SA was then rekeyed:
 * its CREATE_CHILD_SA opens with the old keys, and its nonces, SPIs and
 * charon's new g^ir give the new SA's keys charon logged.
 *
 * Then what strongSwan cannot show: seal and open round trips for every
 * cipher and key length at every padding, prf+ at its longest against
 * Python's hmac module, both sides of every DH group agreeing, peer
 * values that must be refused, and the sizes of every algorithm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ike/crypto.h"
#include "ike/msg.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One recorded exchange, every field hex (see data/extract.py). */
struct sswan_vec {
	const char *name;
	uint16_t port_i, port_r;
	const char *sa_init_i, *sa_init_r, *auth_req, *auth_resp;
	const char *g_ir, *skeyseed;
	const char *sk_d, *sk_ai, *sk_ar, *sk_ei, *sk_er, *sk_pi, *sk_pr;
	const char *id_i, *id_r, *auth_i, *auth_r;
	const char *child_seed, *child_encr_i, *child_integ_i;
	const char *child_encr_r, *child_integ_r;
	const char *ip_i, *ip_r, *natd_real_src_i, *natd_real_src_r;
	/* Only where the IKE SA was then rekeyed, else NULL. */
	const char *rekey_req, *rekey_resp, *rekey_g_ir, *rekey_skeyseed;
	const char *rekey_sk_d, *rekey_sk_ai, *rekey_sk_ar, *rekey_sk_ei;
	const char *rekey_sk_er, *rekey_sk_pi, *rekey_sk_pr;
};

#include "data/sswan_gcm_x25519.h"
#include "data/sswan_cbc_modp3072.h"
#include "data/sswan_chacha_ecp256.h"

static const struct sswan_vec *const vecs[] = {
	&sswan_gcm_x25519, &sswan_cbc_modp3072, &sswan_chacha_ecp256,
};

static const char psk[] = "interop-psk";	/* capture.sh's default */

struct bytes {
	uint8_t p[2048];
	size_t len;
};

/* A decoded vector and what its IKE_SA_INIT messages say. */
struct loaded {
	const struct sswan_vec *v;
	struct bytes sa_init_i, sa_init_r, auth_req, auth_resp, g_ir;
	struct bytes skeyseed, sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
	struct bytes id_i, id_r, auth_i, auth_r, child_seed;
	struct bytes child_encr_i, child_integ_i, child_encr_r, child_integ_r;
	struct bytes ip_i, ip_r, natd_real_src_i, natd_real_src_r;
	struct bytes rekey_req, rekey_resp, rekey_g_ir, rekey_skeyseed;
	struct bytes rekey_sk_d, rekey_sk_ai, rekey_sk_ar, rekey_sk_ei;
	struct bytes rekey_sk_er, rekey_sk_pi, rekey_sk_pr;
	struct ike_suite suite;
	uint64_t spi_i, spi_r;
	const uint8_t *ni, *nr, *ke_i, *ke_r;
	size_t ni_len, nr_len, ke_i_len, ke_r_len;
};

static struct loaded L;		/* big: not on the stack */
static struct ike_msg msg, msg2;

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
unhex(const char *s, struct bytes *b)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	assert_int_equal(n % 2, 0);
	assert_true(n / 2 <= sizeof(b->p));
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		b->p[i] = (uint8_t)(hi << 4 | lo);
	}
	b->len = n / 2;
}

static void
parse_ok(const uint8_t *buf, size_t len, struct ike_msg *m)
{
	struct ike_err err;

	if (ike_msg_parse(buf, len, m, &err) != 0)
		fail_msg("parse: %s at %u", ike_err_str(err.code), err.off);
}

static const struct ike_payload *
find_ok(const struct ike_msg *m, uint8_t type)
{
	const struct ike_payload *pl = ike_msg_find(m, type, 0);

	if (pl == NULL)
		fail_msg("no payload of type %u", type);
	return pl;
}

/*
 * The one proposal of m's SA payload (a responder's choice) as a suite,
 * and its SPI in host order if spi is not NULL.
 */
static void
chosen(const struct ike_msg *m, struct ike_suite *s, uint64_t *spi)
{
	const struct ike_payload *pl = find_ok(m, IKE_PL_SA);
	const struct ike_proposal *prop;
	unsigned i;

	assert_int_equal(pl->u.sa.count, 1);
	prop = &m->proposals[pl->u.sa.first];
	memset(s, 0, sizeof(*s));
	for (i = 0; i < prop->count; i++) {
		const struct ike_transform *t = &m->transforms[prop->first + i];

		switch (t->type) {
		case IKE_TF_ENCR:
			s->encr = t->id;
			s->encr_bits = t->key_len;
			break;
		case IKE_TF_PRF:
			s->prf = t->id;
			break;
		case IKE_TF_INTEG:
			s->integ = t->id;
			break;
		case IKE_TF_DH:
			s->dh = t->id;
			break;
		}
	}
	assert_true(ike_suite_supported(s));
	if (spi != NULL) {
		assert_int_equal(prop->spi_size, 8);
		for (*spi = 0, i = 0; i < 8; i++)
			*spi = *spi << 8 | prop->spi[i];
	}
}

/*
 * Decodes v into L; the suite is the proposal the responder chose, the
 * SPIs, nonces and KE data are read from the two IKE_SA_INIT messages.
 */
static void
load(const struct sswan_vec *v)
{
	const struct ike_payload *pl;

	print_message("vector %s\n", v->name);
	memset(&L, 0, sizeof(L));
	L.v = v;
#define U(f) unhex(v->f, &L.f)
	U(sa_init_i); U(sa_init_r); U(auth_req); U(auth_resp); U(g_ir);
	U(skeyseed); U(sk_d); U(sk_ai); U(sk_ar); U(sk_ei); U(sk_er);
	U(sk_pi); U(sk_pr); U(id_i); U(id_r); U(auth_i); U(auth_r);
	U(child_seed); U(child_encr_i); U(child_integ_i); U(child_encr_r);
	U(child_integ_r); U(ip_i); U(ip_r); U(natd_real_src_i);
	U(natd_real_src_r); U(rekey_req); U(rekey_resp); U(rekey_g_ir);
	U(rekey_skeyseed); U(rekey_sk_d); U(rekey_sk_ai); U(rekey_sk_ar);
	U(rekey_sk_ei); U(rekey_sk_er); U(rekey_sk_pi); U(rekey_sk_pr);
#undef U

	parse_ok(L.sa_init_r.p, L.sa_init_r.len, &msg);
	L.spi_i = msg.hdr.ispi;
	L.spi_r = msg.hdr.rspi;
	chosen(&msg, &L.suite, NULL);
	pl = find_ok(&msg, IKE_PL_NONCE);
	L.nr = pl->data;
	L.nr_len = pl->data_len;
	pl = find_ok(&msg, IKE_PL_KE);
	L.ke_r = pl->data;
	L.ke_r_len = pl->data_len;

	parse_ok(L.sa_init_i.p, L.sa_init_i.len, &msg2);
	assert_true(msg2.hdr.ispi == L.spi_i);
	pl = find_ok(&msg2, IKE_PL_NONCE);
	L.ni = pl->data;
	L.ni_len = pl->data_len;
	pl = find_ok(&msg2, IKE_PL_KE);
	L.ke_i = pl->data;
	L.ke_i_len = pl->data_len;
}

/* The keys exactly as charon logged them, nothing derived here. */
static void
logged_keys(struct ike_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->suite = L.suite;
	k->prf_len = (uint8_t)L.sk_d.len;
	k->integ_len = (uint8_t)L.sk_ai.len;
	k->encr_len = (uint8_t)L.sk_ei.len;
	memcpy(k->sk_d, L.sk_d.p, L.sk_d.len);
	memcpy(k->sk_ai, L.sk_ai.p, L.sk_ai.len);
	memcpy(k->sk_ar, L.sk_ar.p, L.sk_ar.len);
	memcpy(k->sk_ei, L.sk_ei.p, L.sk_ei.len);
	memcpy(k->sk_er, L.sk_er.p, L.sk_er.len);
	memcpy(k->sk_pi, L.sk_pi.p, L.sk_pi.len);
	memcpy(k->sk_pr, L.sk_pr.p, L.sk_pr.len);
}

static void
assert_bytes(const uint8_t *got, const struct bytes *want, const char *what)
{
	if (memcmp(got, want->p, want->len) != 0) {
		print_error("%s differs from strongSwan's\n", what);
		fail();
	}
}

/* (1) SKEYSEED and SK_* from the captured nonces, SPIs and g^ir. */
static void
test_sswan_keys(void **state)
{
	uint8_t nonces[2 * IKE_NONCE_MAX], skeyseed[IKE_PRF_MAX];
	struct ike_keys k;
	struct ike_buf in;
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		in = (struct ike_buf){ L.g_ir.p, L.g_ir.len };
		memcpy(nonces, L.ni, L.ni_len);
		memcpy(nonces + L.ni_len, L.nr, L.nr_len);
		assert_int_equal(ike_prf(L.suite.prf, nonces,
		    L.ni_len + L.nr_len, &in, 1, skeyseed), 0);
		assert_int_equal(L.skeyseed.len, ike_prf_len(L.suite.prf));
		assert_bytes(skeyseed, &L.skeyseed, "SKEYSEED");

		assert_int_equal(ike_keys_derive(&L.suite, L.ni, L.ni_len, L.nr,
		    L.nr_len, L.g_ir.p, L.g_ir.len, L.spi_i, L.spi_r, &k), 0);
		assert_int_equal(k.prf_len, L.sk_d.len);
		assert_int_equal(k.integ_len, L.sk_ai.len);
		assert_int_equal(k.encr_len, L.sk_ei.len);
		assert_bytes(k.sk_d, &L.sk_d, "SK_d");
		assert_bytes(k.sk_ai, &L.sk_ai, "SK_ai");
		assert_bytes(k.sk_ar, &L.sk_ar, "SK_ar");
		assert_bytes(k.sk_ei, &L.sk_ei, "SK_ei");
		assert_bytes(k.sk_er, &L.sk_er, "SK_er");
		assert_bytes(k.sk_pi, &L.sk_pi, "SK_pi");
		assert_bytes(k.sk_pr, &L.sk_pr, "SK_pr");
		ike_keys_wipe(&k);
		assert_int_equal(k.sk_d[0] | k.sk_ei[0] | k.sk_pr[0], 0);
	}
}

/*
 * (2) The captured IKE_AUTH messages open with the logged keys, and
 * hold what a PSK IKE_AUTH holds; AUTH and ID are what charon logged.
 */
static void
open_auth(const struct bytes *captured, bool from_initiator)
{
	static const uint8_t want_i[] = { IKE_PL_IDI, IKE_PL_AUTH, IKE_PL_SA,
	    IKE_PL_TSI, IKE_PL_TSR };
	static const uint8_t want_r[] = { IKE_PL_IDR, IKE_PL_AUTH, IKE_PL_SA,
	    IKE_PL_TSI, IKE_PL_TSR };
	const uint8_t *want = from_initiator ? want_i : want_r;
	const struct ike_payload *pl;
	struct ike_keys k;
	uint8_t buf[2048];
	size_t plain_len;
	unsigned i;

	logged_keys(&k);
	memcpy(buf, captured->p, captured->len);
	parse_ok(buf, captured->len, &msg);
	assert_int_equal(msg.hdr.exchange, IKE_AUTH);
	assert_int_equal(msg.payloads[0].type, IKE_PL_SK);

	print_message("case: the other side's keys do not open it\n");
	assert_int_equal(ike_sk_open(&k, !from_initiator, buf, captured->len,
	    &msg, &plain_len), -EBADMSG);
	assert_memory_equal(buf, captured->p, captured->len);

	print_message("case: the sender's keys do\n");
	assert_int_equal(ike_sk_open(&k, from_initiator, buf, captured->len,
	    &msg, &plain_len), 0);
	assert_true(plain_len < captured->len);
	parse_ok(buf, plain_len, &msg2);
	assert_int_equal(msg2.hdr.length, plain_len);
	assert_true(msg2.hdr.ispi == L.spi_i && msg2.hdr.rspi == L.spi_r);
	for (i = 0; i < ARRAY_LEN(want_i); i++)
		(void)find_ok(&msg2, want[i]);
	assert_null(ike_msg_find(&msg2, IKE_PL_SK, 0));
	pl = find_ok(&msg2, IKE_PL_AUTH);
	assert_int_equal(pl->u.auth.method, IKE_AUTH_PSK);
	assert_int_equal(pl->data_len, (from_initiator ? &L.auth_i :
	    &L.auth_r)->len);
	assert_bytes(pl->data, from_initiator ? &L.auth_i : &L.auth_r,
	    "AUTH payload");
	pl = find_ok(&msg2, from_initiator ? IKE_PL_IDI : IKE_PL_IDR);
	assert_int_equal(pl->body_len, (from_initiator ? &L.id_i :
	    &L.id_r)->len);
	assert_bytes(pl->body, from_initiator ? &L.id_i : &L.id_r,
	    "ID payload");
}

/*
 * A flipped bit in the header (the associated data), the SK payload's
 * header, IV, ciphertext or ICV: refused, and the buffer left as it was.
 */
static void
flip_refused(const struct bytes *captured, bool from_initiator)
{
	const size_t iv = ike_encr_iv_len(L.suite.encr);
	const size_t where[] = {
		0, 19, 20,			/* SPIi, flags, message ID */
		28,				/* SK's first inner payload */
		32, 32 + iv - 1,		/* IV */
		32 + iv, captured->len / 2,	/* ciphertext */
		captured->len - 1,		/* ICV */
	};
	struct ike_keys k;
	uint8_t buf[2048], before[2048];
	size_t plain_len;
	unsigned i;

	logged_keys(&k);
	for (i = 0; i < ARRAY_LEN(where); i++) {
		memcpy(buf, captured->p, captured->len);
		buf[where[i]] ^= 0x01;
		memcpy(before, buf, captured->len);
		parse_ok(buf, captured->len, &msg);
		if (ike_sk_open(&k, from_initiator, buf, captured->len, &msg,
		    &plain_len) != -EBADMSG)
			fail_msg("bit flipped at %zu not refused", where[i]);
		assert_memory_equal(buf, before, captured->len);
	}
}

static void
test_sswan_sk_open(void **state)
{
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		print_message("case: IKE_AUTH request\n");
		open_auth(&L.auth_req, true);
		flip_refused(&L.auth_req, true);
		print_message("case: IKE_AUTH response\n");
		open_auth(&L.auth_resp, false);
		flip_refused(&L.auth_resp, false);
	}
}

/* (3) AUTH from the IKE_SA_INIT messages as sent, both directions. */
static void
test_sswan_auth_psk(void **state)
{
	uint8_t auth[IKE_PRF_MAX], octets[4096];
	size_t plen;
	long n;
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		plen = ike_prf_len(L.suite.prf);
		print_message("case: the initiator's AUTH\n");
		assert_int_equal(ike_auth_psk(L.suite.prf,
		    (const uint8_t *)psk, strlen(psk), L.sa_init_i.p,
		    L.sa_init_i.len, L.nr, L.nr_len, L.sk_pi.p, L.sk_pi.len,
		    L.id_i.p, L.id_i.len, auth), 0);
		assert_int_equal(L.auth_i.len, plen);
		assert_bytes(auth, &L.auth_i, "initiator's AUTH");

		print_message("case: the responder's AUTH\n");
		assert_int_equal(ike_auth_psk(L.suite.prf,
		    (const uint8_t *)psk, strlen(psk), L.sa_init_r.p,
		    L.sa_init_r.len, L.ni, L.ni_len, L.sk_pr.p, L.sk_pr.len,
		    L.id_r.p, L.id_r.len, auth), 0);
		assert_bytes(auth, &L.auth_r, "responder's AUTH");

		print_message("case: another PSK gives another AUTH\n");
		assert_int_equal(ike_auth_psk(L.suite.prf,
		    (const uint8_t *)"interop-psK", strlen(psk), L.sa_init_r.p,
		    L.sa_init_r.len, L.ni, L.ni_len, L.sk_pr.p, L.sk_pr.len,
		    L.id_r.p, L.id_r.len, auth), 0);
		assert_memory_not_equal(auth, L.auth_r.p, plen);

		print_message("case: the signed octets: message, nonce, "
		    "prf(SK_p, ID)\n");
		n = ike_auth_octets(L.suite.prf, L.sa_init_i.p,
		    L.sa_init_i.len, L.nr, L.nr_len, L.sk_pi.p, L.sk_pi.len,
		    L.id_i.p, L.id_i.len, octets, sizeof(octets));
		assert_int_equal(n, L.sa_init_i.len + L.nr_len + plen);
		assert_memory_equal(octets, L.sa_init_i.p, L.sa_init_i.len);
		assert_memory_equal(octets + L.sa_init_i.len, L.nr, L.nr_len);
		assert_int_equal(ike_auth_octets(L.suite.prf, L.sa_init_i.p,
		    L.sa_init_i.len, L.nr, L.nr_len, L.sk_pi.p, L.sk_pi.len,
		    L.id_i.p, L.id_i.len, octets, (size_t)n - 1), -ENOSPC);
	}
}

/* (4) The first child SA's keys, no PFS: what charon installed. */
static void
test_sswan_child_keymat(void **state)
{
	uint8_t km[4 * IKE_PRF_MAX * 2];
	struct ike_keys k;
	size_t n, off;
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		/* charon's prf+ seed is Ni | Nr: the vector is consistent. */
		assert_int_equal(L.child_seed.len, L.ni_len + L.nr_len);
		assert_memory_equal(L.child_seed.p, L.ni, L.ni_len);
		logged_keys(&k);
		n = L.child_encr_i.len + L.child_integ_i.len +
		    L.child_encr_r.len + L.child_integ_r.len;
		assert_true(n <= sizeof(km));
		assert_int_equal(ike_child_keymat(&k, NULL, 0, L.ni, L.ni_len,
		    L.nr, L.nr_len, km, n), 0);
		off = 0;
		assert_bytes(km + off, &L.child_encr_i, "child encr i->r");
		off += L.child_encr_i.len;
		assert_bytes(km + off, &L.child_integ_i, "child integ i->r");
		off += L.child_integ_i.len;
		assert_bytes(km + off, &L.child_encr_r, "child encr r->i");
		off += L.child_encr_r.len;
		assert_bytes(km + off, &L.child_integ_r, "child integ r->i");
	}
}

/*
 * (5) NAT detection.  Both charons run kernel-libipsec, which can only
 * do ESP in UDP, so each sends a NAT_DETECTION_SOURCE_IP that matches no
 * address, to force UDP encapsulation.  So the source hash we compute
 * for the sender's real address differs from the one on the wire, but
 * equals the one the receiving charon computed for that address; the
 * destination hash is an honest one and equals ours.
 */
static void
nat_check(const struct bytes *m, const struct bytes *src,
    const struct bytes *dst, uint16_t src_port, uint16_t dst_port,
    const struct bytes *real_src)
{
	const struct ike_payload *pl;
	uint8_t h[IKE_NAT_HASH_LEN];
	unsigned i;
	int seen = 0;

	parse_ok(m->p, m->len, &msg);
	for (i = 0; i < msg.n_payloads; i++) {
		pl = &msg.payloads[i];
		if (pl->type != IKE_PL_NOTIFY)
			continue;
		if (pl->u.notify.type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
			ike_nat_hash(msg.hdr.ispi, msg.hdr.rspi, dst->p,
			    dst->len, dst_port, h);
			assert_int_equal(pl->data_len, IKE_NAT_HASH_LEN);
			assert_memory_equal(h, pl->data, IKE_NAT_HASH_LEN);
			seen |= 1;
		} else if (pl->u.notify.type ==
		    IKE_N_NAT_DETECTION_SOURCE_IP) {
			ike_nat_hash(msg.hdr.ispi, msg.hdr.rspi, src->p,
			    src->len, src_port, h);
			assert_memory_not_equal(h, pl->data, IKE_NAT_HASH_LEN);
			assert_bytes(h, real_src, "source hash");
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
}

static void
test_sswan_nat_hash(void **state)
{
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		print_message("case: IKE_SA_INIT request (SPIr 0)\n");
		nat_check(&L.sa_init_i, &L.ip_i, &L.ip_r, L.v->port_i,
		    L.v->port_r, &L.natd_real_src_i);
		print_message("case: IKE_SA_INIT response\n");
		nat_check(&L.sa_init_r, &L.ip_r, &L.ip_i, L.v->port_r,
		    L.v->port_i, &L.natd_real_src_r);
	}
}

/* charon's public values are valid ones of their group. */
static void
test_sswan_ke_accepted(void **state)
{
	uint8_t secret[IKE_DH_SECRET_MAX];
	struct ike_dh *dh;
	size_t n;
	unsigned i;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		assert_int_equal(ike_dh_new(&dh, L.suite.dh), 0);
		assert_int_equal(L.ke_i_len, ike_dh_public_len(L.suite.dh));
		assert_int_equal(ike_dh_shared(dh, L.ke_i, L.ke_i_len, secret,
		    sizeof(secret), &n), 0);
		assert_int_equal(n, L.g_ir.len);
		assert_int_equal(ike_dh_shared(dh, L.ke_r, L.ke_r_len, secret,
		    sizeof(secret), &n), 0);
		ike_dh_free(dh);
	}
}

/*
 * The IKE SA rekeyed by CREATE_CHILD_SA (§2.18): the request and response
 * open with the old SA's keys; their SA payloads carry the new SPIs and
 * suite, their Nonce payloads Ni and Nr; with charon's new g^ir that
 * gives the new SA's SKEYSEED and keys as charon logged them.
 */
static void
test_sswan_rekey(void **state)
{
	static uint8_t req[2048], resp[2048];
	uint8_t skeyseed[IKE_PRF_MAX];
	struct ike_suite s_req, s;
	const struct ike_payload *ni, *nr;
	struct ike_keys old, k;
	uint64_t spi_i, spi_r;
	struct ike_buf in[3];
	size_t len;
	unsigned i, n = 0;

	for (i = 0; i < ARRAY_LEN(vecs); i++) {
		load(vecs[i]);
		if (L.rekey_req.len == 0)
			continue;
		n++;
		logged_keys(&old);
		memcpy(req, L.rekey_req.p, L.rekey_req.len);
		parse_ok(req, L.rekey_req.len, &msg);
		assert_int_equal(msg.hdr.exchange, IKE_CREATE_CHILD_SA);
		assert_int_equal(ike_sk_open(&old, true, req, L.rekey_req.len,
		    &msg, &len), 0);
		parse_ok(req, len, &msg);
		chosen(&msg, &s_req, &spi_i);
		ni = find_ok(&msg, IKE_PL_NONCE);

		memcpy(resp, L.rekey_resp.p, L.rekey_resp.len);
		parse_ok(resp, L.rekey_resp.len, &msg2);
		assert_int_equal(ike_sk_open(&old, false, resp,
		    L.rekey_resp.len, &msg2, &len), 0);
		parse_ok(resp, len, &msg2);
		chosen(&msg2, &s, &spi_r);
		nr = find_ok(&msg2, IKE_PL_NONCE);
		assert_true(spi_i != L.spi_i && spi_r != L.spi_r);

		print_message("case: SKEYSEED = prf(SK_d (old), g^ir | Ni | "
		    "Nr)\n");
		in[0] = (struct ike_buf){ L.rekey_g_ir.p, L.rekey_g_ir.len };
		in[1] = (struct ike_buf){ ni->data, ni->data_len };
		in[2] = (struct ike_buf){ nr->data, nr->data_len };
		assert_int_equal(ike_prf(old.suite.prf, old.sk_d, old.prf_len,
		    in, 3, skeyseed), 0);
		assert_bytes(skeyseed, &L.rekey_skeyseed, "rekey SKEYSEED");

		print_message("case: the new SA's keys\n");
		assert_int_equal(ike_keys_derive_rekey(&old, &s, ni->data,
		    ni->data_len, nr->data, nr->data_len, L.rekey_g_ir.p,
		    L.rekey_g_ir.len, spi_i, spi_r, &k), 0);
		assert_int_equal(k.prf_len, L.rekey_sk_d.len);
		assert_int_equal(k.encr_len, L.rekey_sk_ei.len);
		assert_bytes(k.sk_d, &L.rekey_sk_d, "rekey SK_d");
		assert_bytes(k.sk_ai, &L.rekey_sk_ai, "rekey SK_ai");
		assert_bytes(k.sk_ar, &L.rekey_sk_ar, "rekey SK_ar");
		assert_bytes(k.sk_ei, &L.rekey_sk_ei, "rekey SK_ei");
		assert_bytes(k.sk_er, &L.rekey_sk_er, "rekey SK_er");
		assert_bytes(k.sk_pi, &L.rekey_sk_pi, "rekey SK_pi");
		assert_bytes(k.sk_pr, &L.rekey_sk_pr, "rekey SK_pr");
		ike_keys_wipe(&k);
		ike_keys_wipe(&old);
	}
	assert_true(n > 0);
}

/* ---- Round trips and the rest -------------------------------------- */

static const struct ike_suite round_trip_suites[] = {
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

static void
test_seal_open(void **state)
{
	static const uint8_t nonce[32] = { 1, 2, 3 };
	static uint8_t inner[600], sealed[1024], gir[64];
	struct ike_hdr h = {
		.ispi = 0x0102030405060708ULL, .rspi = 0x1112131415161718ULL,
		.exchange = IKE_INFORMATIONAL, .flags = IKE_F_INITIATOR,
		.msg_id = 7,
	};
	const struct ike_payload *pl;
	struct ike_writer w;
	struct ike_keys k;
	size_t plain_len, want, pt, iv, icv, block;
	unsigned i, pad_case;
	long n, inner_len;
	bool dir;

	assert_int_equal(ike_random(gir, sizeof(gir)), 0);
	for (i = 0; i < ARRAY_LEN(round_trip_suites); i++) {
		const struct ike_suite *s = &round_trip_suites[i];

		print_message("case: ENCR %u/%u INTEG %u\n", s->encr,
		    s->encr_bits, s->integ);
		assert_int_equal(ike_keys_derive(s, nonce, sizeof(nonce),
		    nonce, sizeof(nonce), gir, sizeof(gir), h.ispi, h.rspi,
		    &k), 0);
		iv = ike_encr_iv_len(s->encr);
		icv = ike_encr_is_aead(s->encr) ? ike_encr_icv_len(s->encr) :
		    ike_integ_icv_len(s->integ);
		block = ike_encr_is_aead(s->encr) ? 1 : 16;
		/* Inner chains of 16 lengths: every padding of a block. */
		for (pad_case = 0; pad_case < 16; pad_case++) {
			ike_w_init(&w, inner, sizeof(inner), &h);
			assert_int_equal(ike_w_notify(&w, 0, NULL, 0,
			    IKE_N_INITIAL_CONTACT, nonce, pad_case), 0);
			assert_int_equal(ike_w_id(&w, IKE_PL_IDI,
			    IKE_ID_FQDN, "hexgate.example", 15), 0);
			inner_len = ike_w_finish(&w) - IKE_HDR_LEN;
			for (dir = false; ; dir = true) {
				n = ike_sk_seal(&k, dir, &h, IKE_PL_NOTIFY,
				    inner + IKE_HDR_LEN, (size_t)inner_len,
				    sealed, sizeof(sealed));
				pt = (size_t)inner_len + 1;
				pt += (block - pt % block) % block;
				want = IKE_HDR_LEN + 4 + iv + pt + icv;
				assert_int_equal(n, want);
				parse_ok(sealed, (size_t)n, &msg);
				assert_int_equal(msg.hdr.length, n);
				assert_int_equal(msg.n_payloads, 1);
				assert_int_equal(msg.payloads[0].next,
				    IKE_PL_NOTIFY);
				assert_int_equal(ike_sk_open(&k, !dir, sealed,
				    (size_t)n, &msg, &plain_len), -EBADMSG);
				assert_int_equal(ike_sk_open(&k, dir, sealed,
				    (size_t)n, &msg, &plain_len), 0);
				assert_int_equal(plain_len, IKE_HDR_LEN +
				    inner_len);
				assert_memory_equal(sealed + IKE_HDR_LEN,
				    inner + IKE_HDR_LEN, inner_len);
				parse_ok(sealed, plain_len, &msg2);
				assert_int_equal(msg2.hdr.msg_id, 7);
				pl = find_ok(&msg2, IKE_PL_NOTIFY);
				assert_int_equal(pl->data_len, pad_case);
				(void)find_ok(&msg2, IKE_PL_IDI);
				if (dir)
					break;
			}
		}
		print_message("case: no room\n");
		assert_int_equal(ike_sk_seal(&k, true, &h, IKE_PL_NOTIFY,
		    inner, 100, sealed, IKE_HDR_LEN + 4 + iv + 100), -ENOSPC);
		ike_keys_wipe(&k);
	}
}

/*
 * A fragment (RFC 7383 §2.5) of each suite: SKF, its Fragment Number and
 * Total Fragments in clear before the IV, and covered by the ICV: a
 * fragment renumbered on the way does not open.
 */
static void
test_skf_seal_open(void **state)
{
	static const uint8_t gir[64] = { 9 }, nonce[32] = { 4 };
	static uint8_t chunk[300], sealed[1024];
	struct ike_hdr h = { .ispi = 5, .rspi = 6, .exchange = IKE_AUTH,
	    .flags = IKE_F_INITIATOR, .msg_id = 1 };
	const struct ike_payload *pl;
	struct ike_keys k;
	size_t plain_len;
	long n;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	for (unsigned i = 0; i < ARRAY_LEN(round_trip_suites); i++) {
		assert_int_equal(ike_keys_derive(&round_trip_suites[i], nonce,
		    sizeof(nonce), nonce, sizeof(nonce), gir, sizeof(gir),
		    h.ispi, h.rspi, &k), 0);
		assert_int_equal(ike_skf_seal(&k, true, &h, 0, 0, 3, chunk,
		    sizeof(chunk), sealed, sizeof(sealed)), -EINVAL);
		assert_int_equal(ike_skf_seal(&k, true, &h, 0, 4, 3, chunk,
		    sizeof(chunk), sealed, sizeof(sealed)), -EINVAL);
		n = ike_skf_seal(&k, true, &h, 0, 2, 3, chunk, sizeof(chunk),
		    sealed, sizeof(sealed));
		assert_true(n > 0);
		parse_ok(sealed, (size_t)n, &msg);
		assert_int_equal(msg.hdr.next, IKE_PL_SKF);
		pl = find_ok(&msg, IKE_PL_SKF);
		assert_int_equal(pl->next, 0);
		assert_int_equal(pl->u.skf.num, 2);
		assert_int_equal(pl->u.skf.total, 3);
		/* Renumbered: the ICV says no, and nothing is changed. */
		sealed[IKE_HDR_LEN + 5] = 1;
		parse_ok(sealed, (size_t)n, &msg);
		assert_int_equal(ike_sk_open(&k, true, sealed, (size_t)n, &msg,
		    &plain_len), -EBADMSG);
		sealed[IKE_HDR_LEN + 5] = 2;
		parse_ok(sealed, (size_t)n, &msg);
		assert_int_equal(ike_sk_open(&k, true, sealed, (size_t)n, &msg,
		    &plain_len), 0);
		assert_int_equal(plain_len, IKE_HDR_LEN + sizeof(chunk));
		assert_int_equal(sealed[16], 0);	/* the SKF's next */
		assert_memory_equal(sealed + IKE_HDR_LEN, chunk,
		    sizeof(chunk));
		ike_keys_wipe(&k);
	}
}

/*
 * An SK payload sealed here by hand with AES-128-CBC and HMAC-SHA2-256-128
 * straight from EVP, so that padding ike_sk_seal never writes can be
 * offered: the header, the SK header, a zero IV, E(pt), the ICV.
 */
static size_t
cbc_by_hand(const struct ike_keys *k, uint8_t first_inner, const uint8_t *pt,
    size_t pt_len, uint8_t *out)
{
	static const uint8_t iv[16];
	const struct ike_hdr h = { .ispi = 1, .rspi = 2, .exchange = IKE_AUTH,
	    .flags = IKE_F_INITIATOR, .msg_id = 1 };
	size_t total = IKE_HDR_LEN + 4 + 16 + pt_len + 16;
	uint8_t mac[32];
	unsigned mac_len;
	struct ike_writer w;
	EVP_CIPHER_CTX *c;
	int n;

	ike_w_init(&w, out, total, &h);		/* header, length 0 */
	out[16] = IKE_PL_SK;
	out[26] = (uint8_t)(total >> 8);
	out[27] = (uint8_t)total;
	out[28] = first_inner;
	out[29] = 0;
	out[30] = (uint8_t)((total - IKE_HDR_LEN) >> 8);
	out[31] = (uint8_t)(total - IKE_HDR_LEN);
	memcpy(out + 32, iv, 16);
	assert_non_null(c = EVP_CIPHER_CTX_new());
	assert_true(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, k->sk_ei,
	    iv) == 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_true(EVP_EncryptUpdate(c, out + 48, &n, pt, (int)pt_len) == 1);
	assert_int_equal(n, pt_len);
	EVP_CIPHER_CTX_free(c);
	assert_non_null(HMAC(EVP_sha256(), k->sk_ai, 32, out, total - 16,
	    mac, &mac_len));
	memcpy(out + total - 16, mac, 16);
	return total;
}

/*
 * §3.14 lets a sender pad with any bytes, and more than a block; the
 * pad length must fit in what was decrypted.
 */
static void
test_open_padding(void **state)
{
	const struct ike_suite s = { IKE_ENCR_AES_CBC, 128,
	    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128,
	    IKE_DH_MODP_2048 };
	static const uint8_t nonce[16] = { 9 };
	uint8_t pt[64], sealed[256];
	size_t n, plain_len;
	struct ike_keys k;

	assert_int_equal(ike_keys_derive(&s, nonce, sizeof(nonce), nonce,
	    sizeof(nonce), nonce, sizeof(nonce), 1, 2, &k), 0);

	print_message("case: 31-byte Vendor ID, 16 pad bytes of 0xab\n");
	memset(pt, 0, sizeof(pt));
	pt[3] = 31;			/* generic header: length 31 */
	memset(pt + 4, 0xee, 27);
	memset(pt + 31, 0xab, 16);
	pt[47] = 16;
	n = cbc_by_hand(&k, IKE_PL_VENDOR, pt, 48, sealed);
	parse_ok(sealed, n, &msg);
	assert_int_equal(ike_sk_open(&k, true, sealed, n, &msg, &plain_len),
	    0);
	assert_int_equal(plain_len, IKE_HDR_LEN + 31);
	parse_ok(sealed, plain_len, &msg2);
	assert_int_equal(msg2.n_payloads, 1);
	assert_int_equal(msg2.payloads[0].type, IKE_PL_VENDOR);
	assert_int_equal(msg2.payloads[0].data_len, 27);
	assert_int_equal(msg2.payloads[0].data[26], 0xee);

	print_message("case: a pad length past the plaintext\n");
	pt[47] = 48;
	n = cbc_by_hand(&k, IKE_PL_VENDOR, pt, 48, sealed);
	parse_ok(sealed, n, &msg);
	assert_int_equal(ike_sk_open(&k, true, sealed, n, &msg, &plain_len),
	    -EBADMSG);

	print_message("case: the largest pad length that fits\n");
	pt[47] = 47;
	n = cbc_by_hand(&k, IKE_PL_NONE, pt, 48, sealed);
	parse_ok(sealed, n, &msg);
	assert_int_equal(ike_sk_open(&k, true, sealed, n, &msg, &plain_len),
	    0);
	assert_int_equal(plain_len, IKE_HDR_LEN);
	parse_ok(sealed, plain_len, &msg2);
	assert_int_equal(msg2.n_payloads, 0);

	print_message("case: ciphertext not a whole number of blocks\n");
	n = cbc_by_hand(&k, IKE_PL_VENDOR, pt, 48, sealed);
	memmove(sealed + 48 + 47, sealed + 48 + 48, 16);	/* drop one */
	n -= 1;
	sealed[27] -= 1;
	sealed[31] -= 1;
	parse_ok(sealed, n, &msg);
	assert_int_equal(ike_sk_open(&k, true, sealed, n, &msg, &plain_len),
	    -EINVAL);
	ike_keys_wipe(&k);
}

/* prf+ at its longest, against Python's hmac module (see below). */
static void
test_prf_plus_long(void **state)
{
	/*
	 * /usr/bin/python3: key = bytes((i * 37 + 11) & 0xff for i in
	 * range(48)); seed = b"hexgate" + b" prf+ " + bytes(range(200));
	 * T = b""; out = b""; for c in 1..255: T = hmac.new(key, T + seed +
	 * bytes([c]), h).digest(); out += T; print(sha256(out), out[:16]).
	 */
	static const struct {
		uint16_t prf;
		const char *sha256_of_out, *first16;
	} cases[] = {
		{ IKE_PRF_HMAC_SHA2_256,
		    "4aa521f2fd63d2d654cde0f81fa21f322e3eb5c87452f65104627908"
		    "aee63f59", "5c948df70f5d142699ecc6ea9c30a500" },
		{ IKE_PRF_HMAC_SHA2_384,
		    "86c93a66f895be7c2cf463f9c6a81ff2f82d23abb7baee9b0fddbf7c"
		    "d25c4edd", "251469deb157c29035a931d94b7ad6e1" },
		{ IKE_PRF_HMAC_SHA2_512,
		    "95eb2bbe0d9e283f2a1d57b58f12f14d8e8a6a59fe3dc3fd0d6250cc"
		    "161e1fad", "274e17390aa9a4fe8484ae0d7bec8048" },
	};
	static uint8_t out[255 * 64], part[1000];
	uint8_t key[48], range[200], digest[32];
	struct ike_buf seed[3] = {
		{ (const uint8_t *)"hexgate", 7 },
		{ (const uint8_t *)" prf+ ", 6 },
		{ range, sizeof(range) },
	};
	struct bytes want;
	size_t len;
	unsigned i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	for (i = 0; i < sizeof(range); i++)
		range[i] = (uint8_t)i;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		len = 255 * ike_prf_len(cases[i].prf);
		assert_int_equal(ike_prf_plus(cases[i].prf, key, sizeof(key),
		    seed, 3, out, len), 0);
		assert_true(EVP_Digest(out, len, digest, NULL, EVP_sha256(),
		    NULL) == 1);
		unhex(cases[i].sha256_of_out, &want);
		assert_memory_equal(digest, want.p, 32);
		unhex(cases[i].first16, &want);
		assert_memory_equal(out, want.p, 16);
		/* A length that is no multiple of the output: a prefix. */
		assert_int_equal(ike_prf_plus(cases[i].prf, key, sizeof(key),
		    seed, 3, part, sizeof(part)), 0);
		assert_memory_equal(part, out, sizeof(part));
		/* 256 outputs would need a counter of 256. */
		assert_int_equal(ike_prf_plus(cases[i].prf, key, sizeof(key),
		    seed, 3, out, len + 1), -EINVAL);
	}
	assert_int_equal(ike_prf_plus(2 /* HMAC-SHA1, not here */, key,
	    sizeof(key), seed, 3, out, 20), -ENOTSUP);
}

/*
 * Rekeying: SKEYSEED from the old SA's PRF and SK_d over g^ir | Ni | Nr,
 * expanded with the new SA's PRF (§2.18).  The old PRF differs from the
 * new so that taking the wrong one shows.
 */
static void
test_rekey(void **state)
{
	const struct ike_suite old_s = { IKE_ENCR_AES_GCM_16, 256,
	    IKE_PRF_HMAC_SHA2_512, 0, IKE_DH_CURVE25519 };
	const struct ike_suite new_s = { IKE_ENCR_AES_CBC, 128,
	    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128,
	    IKE_DH_ECP_256 };
	static const uint8_t ni[24] = { 1 }, nr[40] = { 2 }, gir[32] = { 3 };
	uint8_t skeyseed[IKE_PRF_MAX], spis[16], km[512];
	struct ike_buf in[3] = {
		{ gir, sizeof(gir) }, { ni, sizeof(ni) }, { nr, sizeof(nr) },
	};
	struct ike_keys old, k;
	size_t total;

	assert_int_equal(ike_keys_derive(&old_s, ni, sizeof(ni), nr,
	    sizeof(nr), gir, sizeof(gir), 10, 20, &old), 0);
	assert_int_equal(ike_keys_derive_rekey(&old, &new_s, ni, sizeof(ni),
	    nr, sizeof(nr), gir, sizeof(gir), 30, 40, &k), 0);

	assert_int_equal(ike_prf(IKE_PRF_HMAC_SHA2_512, old.sk_d, 64, in, 3,
	    skeyseed), 0);
	memset(spis, 0, sizeof(spis));
	spis[7] = 30;
	spis[15] = 40;
	in[0] = (struct ike_buf){ ni, sizeof(ni) };
	in[1] = (struct ike_buf){ nr, sizeof(nr) };
	in[2] = (struct ike_buf){ spis, sizeof(spis) };
	total = 3 * 32 + 2 * 32 + 2 * 16;
	assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, skeyseed, 64, in,
	    3, km, total), 0);
	assert_int_equal(k.prf_len, 32);
	assert_int_equal(k.integ_len, 32);
	assert_int_equal(k.encr_len, 16);
	assert_memory_equal(k.sk_d, km, 32);
	assert_memory_equal(k.sk_ai, km + 32, 32);
	assert_memory_equal(k.sk_ar, km + 64, 32);
	assert_memory_equal(k.sk_ei, km + 96, 16);
	assert_memory_equal(k.sk_er, km + 112, 16);
	assert_memory_equal(k.sk_pi, km + 128, 32);
	assert_memory_equal(k.sk_pr, km + 160, 32);
	ike_keys_wipe(&old);
	ike_keys_wipe(&k);
}

static const uint16_t groups[] = {
	IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096, IKE_DH_ECP_256,
	IKE_DH_ECP_384, IKE_DH_ECP_521, IKE_DH_CURVE25519, IKE_DH_CURVE448,
};

/* Two private keys of each group agree on one secret. */
static void
test_dh_agree(void **state)
{
	static const size_t secret_len[] = { 256, 384, 512, 32, 48, 66, 32,
	    56 };
	uint8_t pa[IKE_DH_PUB_MAX], pb[IKE_DH_PUB_MAX];
	uint8_t sa[IKE_DH_SECRET_MAX], sb[IKE_DH_SECRET_MAX];
	size_t la, lb, na, nb;
	struct ike_dh *a, *b;
	unsigned i;

	for (i = 0; i < ARRAY_LEN(groups); i++) {
		print_message("case: group %u\n", groups[i]);
		assert_int_equal(ike_dh_new(&a, groups[i]), 0);
		assert_int_equal(ike_dh_new(&b, groups[i]), 0);
		assert_int_equal(ike_dh_group(a), groups[i]);
		assert_int_equal(ike_dh_public(a, pa, sizeof(pa), &la), 0);
		assert_int_equal(ike_dh_public(b, pb, sizeof(pb), &lb), 0);
		assert_int_equal(la, ike_dh_public_len(groups[i]));
		assert_int_equal(lb, la);
		assert_memory_not_equal(pa, pb, la);
		assert_int_equal(ike_dh_shared(a, pb, lb, sa, sizeof(sa), &na),
		    0);
		assert_int_equal(ike_dh_shared(b, pa, la, sb, sizeof(sb), &nb),
		    0);
		assert_int_equal(na, secret_len[i]);
		assert_int_equal(nb, na);
		assert_memory_equal(sa, sb, na);
		assert_int_equal(ike_dh_public(a, pa, la - 1, &la), -ENOSPC);
		assert_int_equal(ike_dh_shared(a, pb, lb, sa, na - 1, &na),
		    -ENOSPC);
		ike_dh_free(a);
		ike_dh_free(b);
	}
	assert_int_equal(ike_dh_new(&a, 2 /* MODP-1024 */), -ENOTSUP);
	assert_null(a);
	ike_dh_free(NULL);
}

/* What a peer must not get away with. */
static void
test_dh_bad_peer(void **state)
{
	static uint8_t v[IKE_DH_PUB_MAX + 1], secret[IKE_DH_SECRET_MAX];
	BIGNUM *(*const rfc3526[])(BIGNUM *) = {
		BN_get_rfc3526_prime_2048, BN_get_rfc3526_prime_3072,
		BN_get_rfc3526_prime_4096,
	};
	struct ike_dh *dh;
	size_t len, n;
	unsigned i;
	BIGNUM *p;

	for (i = 0; i < ARRAY_LEN(groups); i++) {
		print_message("case: group %u, wrong lengths\n", groups[i]);
		assert_int_equal(ike_dh_new(&dh, groups[i]), 0);
		assert_int_equal(ike_dh_public(dh, v, sizeof(v), &len), 0);
		assert_int_equal(ike_dh_shared(dh, v, len - 1, secret,
		    sizeof(secret), &n), -EINVAL);
		assert_int_equal(ike_dh_shared(dh, v, len + 1, secret,
		    sizeof(secret), &n), -EINVAL);
		/* Zero is no valid value in any group (X25519: low order). */
		memset(v, 0, len);
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);
		ike_dh_free(dh);
	}

	print_message("case: X25519 and X448 u = 1, of low order\n");
	assert_int_equal(ike_dh_new(&dh, IKE_DH_CURVE25519), 0);
	memset(v, 0, 32);
	v[0] = 1;
	assert_int_equal(ike_dh_shared(dh, v, 32, secret, sizeof(secret), &n),
	    -EINVAL);
	ike_dh_free(dh);
	assert_int_equal(ike_dh_new(&dh, IKE_DH_CURVE448), 0);
	memset(v, 0, 56);
	v[0] = 1;
	assert_int_equal(ike_dh_shared(dh, v, 56, secret, sizeof(secret), &n),
	    -EINVAL);
	ike_dh_free(dh);

	for (i = 0; i < 3; i++) {
		uint16_t g = IKE_DH_ECP_256 + i;

		print_message("case: ECP group %u, a point off the curve\n", g);
		assert_int_equal(ike_dh_new(&dh, g), 0);
		assert_int_equal(ike_dh_public(dh, v, sizeof(v), &len), 0);
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), 0);	/* our own is fine */
		v[len - 1] ^= 1;		/* y + 1 or y - 1 */
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);
		ike_dh_free(dh);
	}

	for (i = 0; i < 3; i++) {
		uint16_t g = IKE_DH_MODP_2048 + i;

		print_message("case: MODP group %u: 1, p-1, p\n", g);
		assert_int_equal(ike_dh_new(&dh, g), 0);
		len = ike_dh_public_len(g);
		memset(v, 0, len);
		v[len - 1] = 1;
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);
		v[len - 1] = 2;		/* the generator: a valid value */
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), 0);
		p = rfc3526[i](NULL);
		assert_non_null(p);
		assert_int_equal(BN_bn2binpad(p, v, (int)len), (int)len);
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);	/* p */
		v[len - 1] -= 1;			/* p ends in ff */
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);	/* p - 1 */
		memset(v, 0xff, len);
		assert_int_equal(ike_dh_shared(dh, v, len, secret,
		    sizeof(secret), &n), -EINVAL);	/* above p */
		BN_free(p);
		ike_dh_free(dh);
	}
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *what;
		struct ike_suite s;
		bool ok;
	} suites[] = {
		{ "aes128-sha256-modp2048", { IKE_ENCR_AES_CBC, 128,
		    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128,
		    IKE_DH_MODP_2048 }, true },
		{ "aes256gcm16-prfsha384-x448", { IKE_ENCR_AES_GCM_16, 256,
		    IKE_PRF_HMAC_SHA2_384, 0, IKE_DH_CURVE448 }, true },
		{ "chacha20poly1305-prfsha512-ecp521", {
		    IKE_ENCR_CHACHA20_POLY1305, 0, IKE_PRF_HMAC_SHA2_512, 0,
		    IKE_DH_ECP_521 }, true },
		{ "AES-CBC without a key length", { IKE_ENCR_AES_CBC, 0,
		    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128,
		    IKE_DH_MODP_2048 }, false },
		{ "AES-CBC without integrity", { IKE_ENCR_AES_CBC, 128,
		    IKE_PRF_HMAC_SHA2_256, 0, IKE_DH_MODP_2048 }, false },
		{ "AES-GCM with integrity", { IKE_ENCR_AES_GCM_16, 128,
		    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128,
		    IKE_DH_MODP_2048 }, false },
		{ "ChaCha20 with 128 bits", { IKE_ENCR_CHACHA20_POLY1305,
		    128, IKE_PRF_HMAC_SHA2_256, 0, IKE_DH_MODP_2048 }, false },
		{ "PRF HMAC-SHA1", { IKE_ENCR_AES_CBC, 128, 2,
		    IKE_INTEG_HMAC_SHA2_256_128, IKE_DH_MODP_2048 }, false },
		{ "DH MODP-1024", { IKE_ENCR_AES_CBC, 128,
		    IKE_PRF_HMAC_SHA2_256, IKE_INTEG_HMAC_SHA2_256_128, 2 },
		    false },
		{ "3DES", { 3, 0, IKE_PRF_HMAC_SHA2_256,
		    IKE_INTEG_HMAC_SHA2_256_128, IKE_DH_MODP_2048 }, false },
	};
	unsigned i;

	for (i = 0; i < ARRAY_LEN(suites); i++) {
		print_message("case: %s\n", suites[i].what);
		assert_int_equal(ike_suite_supported(&suites[i].s),
		    suites[i].ok);
	}
	assert_int_equal(ike_prf_len(IKE_PRF_HMAC_SHA2_384), 48);
	assert_int_equal(ike_prf_len(2), 0);
	assert_int_equal(ike_encr_key_len(IKE_ENCR_AES_CBC, 192), 24);
	assert_int_equal(ike_encr_key_len(IKE_ENCR_AES_GCM_16, 128), 20);
	assert_int_equal(ike_encr_key_len(IKE_ENCR_CHACHA20_POLY1305, 0), 36);
	assert_int_equal(ike_encr_key_len(IKE_ENCR_AES_CBC, 100), 0);
	assert_int_equal(ike_encr_iv_len(IKE_ENCR_AES_CBC), 16);
	assert_int_equal(ike_encr_iv_len(IKE_ENCR_AES_GCM_16), 8);
	assert_int_equal(ike_encr_iv_len(IKE_ENCR_CHACHA20_POLY1305), 8);
	assert_int_equal(ike_encr_icv_len(IKE_ENCR_AES_CBC), 0);
	assert_int_equal(ike_encr_icv_len(IKE_ENCR_AES_GCM_16), 16);
	assert_int_equal(ike_integ_key_len(IKE_INTEG_HMAC_SHA2_512_256), 64);
	assert_int_equal(ike_integ_icv_len(IKE_INTEG_HMAC_SHA2_384_192), 24);
	assert_int_equal(ike_dh_public_len(IKE_DH_ECP_521), 132);
	assert_int_equal(ike_dh_public_len(IKE_DH_CURVE448), 56);
	assert_int_equal(ike_dh_public_len(IKE_DH_MODP_4096), 512);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sswan_keys),
		cmocka_unit_test(test_sswan_sk_open),
		cmocka_unit_test(test_sswan_auth_psk),
		cmocka_unit_test(test_sswan_child_keymat),
		cmocka_unit_test(test_sswan_nat_hash),
		cmocka_unit_test(test_sswan_ke_accepted),
		cmocka_unit_test(test_sswan_rekey),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_skf_seal_open),
		cmocka_unit_test(test_open_padding),
		cmocka_unit_test(test_prf_plus_long),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_dh_agree),
		cmocka_unit_test(test_dh_bad_peer),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
