/*
 * tests/unit/tun/test_wg_noise.c: WireGuard's handshake
 * (src/tun/wg_noise.c).
 *
 * Interoperability first: a handshake two wireguard-go endpoints made
 * (data/wg_capture.sh recorded it, with the keys and PSK it names, into
 * data/wg_wggo_handshake.txt, the path of which is argv[1]).  Holding
 * the responder's private key, our responder takes wireguard-go's
 * initiation: MAC1, the initiator's static key (which is the one the
 * script configured) and the TAI64N timestamp all decrypt and check.
 * Holding the initiator's, wireguard-go's response passes our MAC1 check
 * and codec.  wireguard-go's ephemeral private keys are not recorded, so
 * the session keys of that handshake cannot be derived here: the full
 * key schedule is proven between our two sides below, and against a
 * live wireguard-go by tests/integration/netns_wg_handshake.sh.
 *
 * Then both sides in memory, with and without a PSK: the keys agree and
 * cross, a flipped bit anywhere in either message is refused, a replayed
 * initiation is refused, an unknown or wrong peer key is refused, and the
 * cookie reply goes round (MAC2 under load).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tun/wg_noise.h"

static const char *fixture_path;

/* 2026-12-07T00:00:00Z and a second later, in ns since 1970. */
#define T0_NS	1796601600000000000ULL
#define T1_NS	(T0_NS + 1000000000ULL)

/* ---- Helpers -------------------------------------------------------- */

static void
b64key(uint8_t out[WG_KEY_LEN], const char *b64)
{
	uint8_t buf[48];

	assert_int_equal(strlen(b64), 44);
	/* 44 characters decode to 33 bytes, the last a '=' pad's zero. */
	assert_int_equal(EVP_DecodeBlock(buf, (const uint8_t *)b64, 44), 33);
	memcpy(out, buf, WG_KEY_LEN);
}

static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[0] != '\n' && hex[1]) {
		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = v;
		hex += 2;
	}
	return n;
}

struct fixture {
	uint8_t ini_priv[WG_KEY_LEN], rsp_priv[WG_KEY_LEN], psk[WG_KEY_LEN];
	uint8_t initiation[256], response[256];
	size_t initiation_len, response_len;
};

static void
load_fixture(struct fixture *f)
{
	char line[1024], name[64], val[900];
	FILE *fp;

	assert_non_null(fixture_path);
	fp = fopen(fixture_path, "r");
	assert_non_null(fp);
	memset(f, 0, sizeof(*f));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || sscanf(line, "%63s %899s", name, val) != 2)
			continue;
		if (strcmp(name, "initiator_private") == 0)
			b64key(f->ini_priv, val);
		else if (strcmp(name, "responder_private") == 0)
			b64key(f->rsp_priv, val);
		else if (strcmp(name, "psk") == 0)
			b64key(f->psk, val);
		else if (strcmp(name, "initiation") == 0)
			f->initiation_len = unhex(f->initiation,
			    sizeof(f->initiation), val);
		else if (strcmp(name, "response") == 0)
			f->response_len = unhex(f->response,
			    sizeof(f->response), val);
	}
	fclose(fp);
	assert_int_equal(f->initiation_len, WG_INITIATION_LEN);
	assert_int_equal(f->response_len, WG_RESPONSE_LEN);
}

/* A table of one peer for the responder's lookup. */
struct table {
	struct wg_peer *peers[4];
	int n;
};

static struct wg_peer *
lookup(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct table *t = arg;
	int i;

	for (i = 0; i < t->n; i++)
		if (memcmp(t->peers[i]->pub, pub, WG_KEY_LEN) == 0)
			return t->peers[i];
	return NULL;
}

/* Two parties that know each other, with or without a PSK. */
struct pair {
	struct wg_static ini, rsp;
	struct wg_peer ini_peer;	/* the initiator's view of rsp */
	struct wg_peer rsp_peer;	/* the responder's view of ini */
	struct table table;
};

static void
make_pair(struct pair *p, const uint8_t *psk)
{
	uint8_t k[WG_KEY_LEN];

	memset(p, 0, sizeof(*p));
	memset(k, 0x11, sizeof(k));
	assert_int_equal(wg_static_init(&p->ini, k), 0);
	memset(k, 0x22, sizeof(k));
	assert_int_equal(wg_static_init(&p->rsp, k), 0);
	assert_int_equal(wg_peer_init(&p->ini_peer, p->rsp.pub, psk), 0);
	assert_int_equal(wg_peer_init(&p->rsp_peer, p->ini.pub, psk), 0);
	p->table.peers[p->table.n++] = &p->rsp_peer;
}

/* ---- Interop: wireguard-go's handshake ------------------------------ */

static void
test_wggo_initiation(void **state)
{
	struct fixture f;
	struct wg_static rsp, ini;
	struct wg_peer peer;
	struct table t = { { &peer }, 1 };
	struct wg_handshake hs;
	struct wg_initiation m;
	struct wg_cookie_checker cc = { 0 };
	struct wg_err err;
	uint8_t resp[WG_RESPONSE_LEN];
	struct wg_session_keys kp;
	uint64_t sec;
	int i;

	load_fixture(&f);
	assert_int_equal(wg_static_init(&rsp, f.rsp_priv), 0);
	assert_int_equal(wg_static_init(&ini, f.ini_priv), 0);
	assert_int_equal(wg_peer_init(&peer, ini.pub, f.psk), 0);

	assert_int_equal(wg_initiation_parse(f.initiation, f.initiation_len,
	    &m, &err), 0);
	assert_int_equal(wg_cookie_check(&cc, &rsp, f.initiation,
	    f.initiation_len, (const uint8_t *)"src", 3, 0),
	    WG_MAC_VALID_NO_COOKIE);
	/* wireguard-go sent no MAC2: it held no cookie. */
	for (i = 0; i < WG_MAC_LEN; i++)
		assert_int_equal(m.mac2[i], 0);

	/* MAC1, es, s (which lookup matched with the configured key),
	 * ss and {t} all check out. */
	assert_int_equal(wg_initiation_consume(&hs, &rsp, lookup, &t,
	    f.initiation, f.initiation_len, &err), 0);
	assert_ptr_equal(hs.peer, &peer);
	assert_int_equal(hs.remote_index, m.sender);
	/* The timestamp is TAI64N of a time after this test was written
	 * (2026-12) and before 2100. */
	for (sec = 0, i = 0; i < 8; i++)
		sec = sec << 8 | peer.last_timestamp[i];
	assert_true(sec > 0x400000000000000aULL + T0_NS / 1000000000 - 86400);
	assert_true(sec < 0x400000000000000aULL + 4102444800ULL);

	/* We could answer it. */
	assert_int_equal(wg_response_create(&hs, 7, 0, resp, &kp, &err), 0);
	assert_int_equal(kp.remote_index, m.sender);

	/* The same initiation again is a replay. */
	assert_int_equal(wg_initiation_consume(&hs, &rsp, lookup, &t,
	    f.initiation, f.initiation_len, &err), -1);
	assert_int_equal(err.code, WG_E_REPLAY);
}

static void
test_wggo_response(void **state)
{
	struct fixture f;
	struct wg_static ini;
	struct wg_peer peer;
	struct wg_initiation m;
	struct wg_response r;
	struct wg_handshake hs;
	struct wg_cookie_checker cc = { 0 };
	struct wg_session_keys kp;
	struct wg_err err;
	uint8_t rsp_pub[WG_KEY_LEN];

	load_fixture(&f);
	assert_int_equal(wg_static_init(&ini, f.ini_priv), 0);
	assert_int_equal(wg_pubkey(rsp_pub, f.rsp_priv), 0);
	assert_int_equal(wg_peer_init(&peer, rsp_pub, f.psk), 0);
	assert_int_equal(wg_initiation_parse(f.initiation, f.initiation_len,
	    &m, &err), 0);
	assert_int_equal(wg_response_parse(f.response, f.response_len, &r,
	    &err), 0);
	/* The response answers the initiation. */
	assert_int_equal(r.receiver, m.sender);
	/* MAC1 keyed with the initiator's public key. */
	assert_int_equal(wg_cookie_check(&cc, &ini, f.response,
	    f.response_len, (const uint8_t *)"src", 3, 0),
	    WG_MAC_VALID_NO_COOKIE);

	/* Without wireguard-go's ephemeral private key the response gets
	 * past MAC1 and the index, and fails only at its AEAD. */
	memset(&hs, 0, sizeof(hs));
	hs.state = WG_HS_INITIATION_SENT;
	hs.peer = &peer;
	hs.local_index = m.sender;
	memset(hs.e_priv, 0x42, sizeof(hs.e_priv));
	assert_int_equal(wg_response_consume(&hs, &ini, f.response,
	    f.response_len, &kp, &err), -1);
	assert_int_equal(err.code, WG_E_DECRYPT);

	/* The same response to another initiator key fails MAC1. */
	assert_int_equal(wg_cookie_check(&cc, &ini, f.initiation,
	    f.initiation_len, (const uint8_t *)"src", 3, 0), WG_MAC_INVALID);
}

/* ---- Codec ---------------------------------------------------------- */

static void
test_codec_sizes(void **state)
{
	uint8_t buf[200] = { 0 };
	struct wg_transport_hdr th;
	struct wg_err err;
	static const struct {
		uint8_t type;
		size_t len;
	} sizes[] = {
		{ WG_MSG_INITIATION, WG_INITIATION_LEN },
		{ WG_MSG_RESPONSE, WG_RESPONSE_LEN },
		{ WG_MSG_COOKIE_REPLY, WG_COOKIE_REPLY_LEN },
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf[0] = sizes[i].type;
		assert_int_equal(wg_msg_check(buf, sizes[i].len, &err),
		    sizes[i].type);
		assert_int_equal(wg_msg_check(buf, sizes[i].len - 1, &err),
		    -1);
		assert_int_equal(err.code, WG_E_SHORT);
		assert_int_equal(err.off, sizes[i].len - 1);
		assert_int_equal(wg_msg_check(buf, sizes[i].len + 1, &err),
		    -1);
		assert_int_equal(err.code, WG_E_LONG);
		assert_int_equal(err.off, sizes[i].len);
		buf[2] = 1;
		assert_int_equal(wg_msg_check(buf, sizes[i].len, &err), -1);
		assert_int_equal(err.code, WG_E_RESERVED);
		assert_int_equal(err.off, 2);
		buf[2] = 0;
	}
	buf[0] = 5;
	assert_int_equal(wg_msg_check(buf, 148, &err), -1);
	assert_int_equal(err.code, WG_E_TYPE);
	assert_int_equal(wg_msg_check(buf, 3, &err), -1);
	assert_int_equal(err.code, WG_E_SHORT);
	/* A response is not an initiation. */
	buf[0] = WG_MSG_RESPONSE;
	struct wg_initiation m;
	assert_int_equal(wg_initiation_parse(buf, WG_RESPONSE_LEN, &m, &err),
	    -1);
	assert_int_equal(err.code, WG_E_TYPE);

	/* Transport: the header round trips, a keepalive is the least. */
	wg_transport_hdr_encode(0xa1b2c3d4, 0x0102030405060708ULL, buf);
	assert_memory_equal(buf, "\x04\0\0\0\xd4\xc3\xb2\xa1"
	    "\x08\x07\x06\x05\x04\x03\x02\x01", 16);
	assert_int_equal(wg_transport_hdr_parse(buf, WG_TRANSPORT_MIN_LEN,
	    &th, &err), 0);
	assert_int_equal(th.receiver, 0xa1b2c3d4);
	assert_true(th.counter == 0x0102030405060708ULL);
	assert_int_equal(th.data_len, WG_AEAD_TAG_LEN);
	assert_int_equal(wg_transport_hdr_parse(buf, WG_TRANSPORT_MIN_LEN - 1,
	    &th, &err), -1);
	assert_int_equal(err.code, WG_E_SHORT);
}

/* Parse then encode gives back wireguard-go's bytes. */
static void
test_codec_roundtrip(void **state)
{
	struct fixture f;
	struct wg_initiation m;
	struct wg_response r;
	uint8_t out[WG_INITIATION_LEN];
	struct wg_err err;

	load_fixture(&f);
	assert_int_equal(wg_initiation_parse(f.initiation, f.initiation_len,
	    &m, &err), 0);
	wg_initiation_encode(&m, out);
	assert_memory_equal(out, f.initiation, WG_INITIATION_LEN);
	assert_int_equal(wg_response_parse(f.response, f.response_len, &r,
	    &err), 0);
	wg_response_encode(&r, out);
	assert_memory_equal(out, f.response, WG_RESPONSE_LEN);
}

/* ---- Both sides in memory ------------------------------------------- */

static void
handshake(struct pair *p, struct wg_session_keys *ki, struct wg_session_keys *kr)
{
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], rsp[WG_RESPONSE_LEN];
	struct wg_err err;

	assert_int_equal(wg_initiation_create(&hi, &p->ini, &p->ini_peer,
	    0x1111, T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p->rsp, lookup,
	    &p->table, ini, sizeof(ini), &err), 0);
	assert_int_equal(wg_response_create(&hr, 0x2222, 0, rsp, kr, &err),
	    0);
	assert_int_equal(wg_response_consume(&hi, &p->ini, rsp, sizeof(rsp),
	    ki, &err), 0);
}

static void
check_crossed(const struct wg_session_keys *ki, const struct wg_session_keys *kr)
{
	assert_memory_equal(ki->send, kr->recv, WG_KEY_LEN);
	assert_memory_equal(ki->recv, kr->send, WG_KEY_LEN);
	assert_memory_not_equal(ki->send, ki->recv, WG_KEY_LEN);
	assert_int_equal(ki->local_index, 0x1111);
	assert_int_equal(ki->remote_index, 0x2222);
	assert_int_equal(kr->local_index, 0x2222);
	assert_int_equal(kr->remote_index, 0x1111);
	assert_true(ki->initiator);
	assert_false(kr->initiator);
}

static void
test_handshake_no_psk(void **state)
{
	struct pair p;
	struct wg_session_keys ki, kr, ki2, kr2;

	make_pair(&p, NULL);
	handshake(&p, &ki, &kr);
	check_crossed(&ki, &kr);
	/* A second handshake (the responder forgets T0, which would
	 * otherwise be a replay) gives new keys. */
	memset(p.rsp_peer.last_timestamp, 0, WG_TAI64N_LEN);
	handshake(&p, &ki2, &kr2);
	check_crossed(&ki2, &kr2);
	assert_memory_not_equal(ki.send, ki2.send, WG_KEY_LEN);
}

static void
test_handshake_psk(void **state)
{
	uint8_t psk[WG_KEY_LEN], other[WG_KEY_LEN];
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], rsp[WG_RESPONSE_LEN];
	struct wg_session_keys ki, kr;
	struct wg_err err;
	struct pair p;

	memset(psk, 0x5a, sizeof(psk));
	make_pair(&p, psk);
	handshake(&p, &ki, &kr);
	check_crossed(&ki, &kr);

	/* PSKs that differ: the initiation (which the PSK does not enter)
	 * is taken, the response is refused at its empty payload. */
	memset(other, 0x5b, sizeof(other));
	memcpy(p.rsp_peer.psk, other, sizeof(other));
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 1,
	    T1_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
	assert_int_equal(wg_response_create(&hr, 2, 0, rsp, &kr, &err), 0);
	assert_int_equal(wg_response_consume(&hi, &p.ini, rsp, sizeof(rsp),
	    &ki, &err), -1);
	assert_int_equal(err.code, WG_E_DECRYPT);
	assert_int_equal(err.off, 44);
}

/* A flipped bit anywhere in the initiation is refused. */
static void
test_tampered_initiation(void **state)
{
	struct pair p;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], bad[WG_INITIATION_LEN];
	struct wg_err err;
	size_t i;

	make_pair(&p, NULL);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 9,
	    T0_NS, 0, ini, &err), 0);
	for (i = 0; i < WG_INITIATION_LEN; i++) {
		/* mac2 is not checked by consume (only under load, by
		 * wg_cookie_check): every byte before it is. */
		if (i >= 132)
			break;
		memcpy(bad, ini, sizeof(bad));
		bad[i] ^= 0x01;
		assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup,
		    &p.table, bad, sizeof(bad), &err), -1);
	}
	/* The untouched one is fine, and the timestamp has not moved. */
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
}

/* A flipped bit anywhere in the response is refused; then the genuine
 * response still completes the handshake. */
static void
test_tampered_response(void **state)
{
	struct pair p;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], rsp[WG_RESPONSE_LEN];
	uint8_t bad[WG_RESPONSE_LEN];
	struct wg_session_keys ki, kr;
	struct wg_err err;
	size_t i;

	make_pair(&p, NULL);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 9,
	    T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
	assert_int_equal(wg_response_create(&hr, 10, 0, rsp, &kr, &err), 0);
	for (i = 0; i < 76; i++) {
		memcpy(bad, rsp, sizeof(bad));
		bad[i] ^= 0x80;
		assert_int_equal(wg_response_consume(&hi, &p.ini, bad,
		    sizeof(bad), &ki, &err), -1);
		/* Past the header, MAC1 is what catches it. */
		if (i >= 12 && i < 60)
			assert_int_equal(err.code, WG_E_MAC1);
	}
	assert_int_equal(wg_response_consume(&hi, &p.ini, rsp, sizeof(rsp),
	    &ki, &err), 0);
	assert_memory_equal(ki.send, kr.recv, WG_KEY_LEN);
	/* Only once. */
	assert_int_equal(wg_response_consume(&hi, &p.ini, rsp, sizeof(rsp),
	    &ki, &err), -1);
	assert_int_equal(err.code, WG_E_STATE);
}

/* A tampered response with a recomputed MAC1 (what an attacker who knows
 * the initiator's public key can do) fails at its AEAD. */
static void
test_response_valid_mac1_bad_payload(void **state)
{
	struct pair p;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], rsp[WG_RESPONSE_LEN];
	struct wg_session_keys ki, kr;
	struct wg_err err;
	size_t i, n;
	size_t size = WG_MAC_LEN;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};

	make_pair(&p, NULL);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 9,
	    T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
	assert_int_equal(wg_response_create(&hr, 10, 0, rsp, &kr, &err), 0);
	/* Every byte of the sender index, ephemeral and empty payload. */
	for (i = 4; i < 60; i++) {
		if (i >= 8 && i < 12)
			continue;	/* the receiver: checked before MAC1 */
		rsp[i] ^= 0x04;
		assert_non_null(EVP_Q_mac(NULL, "BLAKE2SMAC", NULL, NULL,
		    params, p.ini.mac1_key,
		    WG_HASH_LEN, rsp, 60, rsp + 60, WG_MAC_LEN, &n));
		if (i < 8) {
			/* The sender index enters no key: it is taken. */
			rsp[i] ^= 0x04;
			continue;
		}
		assert_int_equal(wg_response_consume(&hi, &p.ini, rsp,
		    sizeof(rsp), &ki, &err), -1);
		assert_true(err.code == WG_E_DECRYPT || err.code == WG_E_DH);
		rsp[i] ^= 0x04;
	}
	assert_non_null(EVP_Q_mac(NULL, "BLAKE2SMAC", NULL, NULL, params,
	    p.ini.mac1_key, WG_HASH_LEN, rsp, 60, rsp + 60, WG_MAC_LEN, &n));
	assert_int_equal(wg_response_consume(&hi, &p.ini, rsp, sizeof(rsp),
	    &ki, &err), 0);
	assert_memory_equal(ki.send, kr.recv, WG_KEY_LEN);
}

static void
test_replay(void **state)
{
	struct pair p;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], old[WG_INITIATION_LEN];
	struct wg_err err;

	make_pair(&p, NULL);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 1,
	    T1_NS, 0, old, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    old, sizeof(old), &err), 0);
	/* The same bytes again. */
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    old, sizeof(old), &err), -1);
	assert_int_equal(err.code, WG_E_REPLAY);
	assert_int_equal(err.off, 88);
	/* A fresh initiation with the same time, and an older one. */
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 2,
	    T1_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), -1);
	assert_int_equal(err.code, WG_E_REPLAY);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 3,
	    T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), -1);
	assert_int_equal(err.code, WG_E_REPLAY);
	/* A later one is fine. */
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 4,
	    T1_NS + 100000000, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
}

static void
test_wrong_peer(void **state)
{
	struct pair p;
	struct wg_static stranger;
	struct wg_peer wrong;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], k[WG_KEY_LEN];
	struct wg_err err;

	make_pair(&p, NULL);
	/* An initiator the responder does not know. */
	memset(k, 0x33, sizeof(k));
	assert_int_equal(wg_static_init(&stranger, k), 0);
	assert_int_equal(wg_initiation_create(&hi, &stranger, &p.ini_peer, 1,
	    T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), -1);
	assert_int_equal(err.code, WG_E_UNKNOWN_PEER);
	assert_int_equal(err.off, 40);
	/* An initiation meant for another responder: MAC1 is wrong. */
	assert_int_equal(wg_peer_init(&wrong, stranger.pub, NULL), 0);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &wrong, 1,
	    T0_NS, 0, ini, &err), 0);
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), -1);
	assert_int_equal(err.code, WG_E_MAC1);
	assert_int_equal(err.off, 116);
}

static void
test_cookie_round_trip(void **state)
{
	static const uint8_t src[] = { 192, 0, 2, 1, 0xca, 0x6c };
	static const uint8_t src2[] = { 192, 0, 2, 9, 0xca, 0x6c };
	struct wg_cookie_checker cc = { 0 };
	struct pair p;
	struct wg_handshake hi, hr;
	uint8_t ini[WG_INITIATION_LEN], reply[WG_COOKIE_REPLY_LEN];
	uint8_t rsp[WG_RESPONSE_LEN];
	struct wg_session_keys ki, kr;
	struct wg_err err;

	make_pair(&p, NULL);
	/* Under load: the first initiation has no MAC2 and gets a cookie. */
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 0x1111,
	    T0_NS, 100, ini, &err), 0);
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src,
	    sizeof(src), 100), WG_MAC_VALID_NO_COOKIE);
	assert_int_equal(wg_cookie_reply_create(&cc, &p.rsp, ini, sizeof(ini),
	    src, sizeof(src), 100, reply, &err), 0);
	assert_int_equal(reply[0], WG_MSG_COOKIE_REPLY);
	assert_memory_equal(reply + 4, ini + 4, 4);

	/* A flipped bit in the reply is refused and stores nothing. */
	reply[40] ^= 1;
	assert_int_equal(wg_cookie_reply_consume(&p.ini_peer, reply,
	    sizeof(reply), 101, &err), -1);
	assert_int_equal(err.code, WG_E_DECRYPT);
	assert_false(p.ini_peer.cookie_valid);
	reply[40] ^= 1;
	assert_int_equal(wg_cookie_reply_consume(&p.ini_peer, reply,
	    sizeof(reply), 101, &err), 0);
	assert_true(p.ini_peer.cookie_valid);
	/* Only once per message sent. */
	assert_int_equal(wg_cookie_reply_consume(&p.ini_peer, reply,
	    sizeof(reply), 101, &err), -1);
	assert_int_equal(err.code, WG_E_NO_MAC1);

	/* The next initiation carries MAC2 and passes under load, from the
	 * same address only. */
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 0x1111,
	    T1_NS, 102, ini, &err), 0);
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src,
	    sizeof(src), 102), WG_MAC_VALID_COOKIE);
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src2,
	    sizeof(src2), 102), WG_MAC_VALID_NO_COOKIE);
	/* A bit flipped in MAC2 loses it; in MAC1 loses everything. */
	ini[140] ^= 1;
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src,
	    sizeof(src), 102), WG_MAC_VALID_NO_COOKIE);
	ini[140] ^= 1;
	ini[120] ^= 1;
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src,
	    sizeof(src), 102), WG_MAC_INVALID);
	ini[120] ^= 1;
	/* And the handshake completes. */
	assert_int_equal(wg_initiation_consume(&hr, &p.rsp, lookup, &p.table,
	    ini, sizeof(ini), &err), 0);
	assert_int_equal(wg_response_create(&hr, 0x2222, 102, rsp, &kr, &err),
	    0);
	assert_int_equal(wg_response_consume(&hi, &p.ini, rsp, sizeof(rsp),
	    &ki, &err), 0);
	check_crossed(&ki, &kr);

	/* After two minutes the secret changes: the old cookie's MAC2 no
	 * longer passes, and the initiator stops sending it. */
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 0x1111,
	    T1_NS + 1000000000ULL, 101 + 114, ini, &err), 0);
	assert_int_equal(wg_cookie_check(&cc, &p.rsp, ini, sizeof(ini), src,
	    sizeof(src), 100 + 120), WG_MAC_VALID_NO_COOKIE);
	assert_int_equal(wg_initiation_create(&hi, &p.ini, &p.ini_peer, 0x1111,
	    T1_NS + 2000000000ULL, 101 + 115, ini, &err), 0);
	assert_memory_equal(ini + 132, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wggo_initiation),
		cmocka_unit_test(test_wggo_response),
		cmocka_unit_test(test_codec_sizes),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_handshake_no_psk),
		cmocka_unit_test(test_handshake_psk),
		cmocka_unit_test(test_tampered_initiation),
		cmocka_unit_test(test_tampered_response),
		cmocka_unit_test(test_response_valid_mac1_bad_payload),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_wrong_peer),
		cmocka_unit_test(test_cookie_round_trip),
	};

	fixture_path = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
