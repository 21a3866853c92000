/*
 * tests/unit/tun/test_wg_data.c: WireGuard transport data messages
 * (src/tun/wg_data.c).
 *
 * Where the expected bytes come from:
 * - PUBLISHED: RFC 8439 §2.8.2's ChaCha20-Poly1305 AEAD example (key,
 *   nonce, AAD, plaintext, ciphertext, tag), through wg_aead_seal() and
 *   wg_aead_open(), the job the burst functions submit.
 * - PYTHON-MADE: one transport message built by Python's cryptography
 *   package (its own ChaCha20-Poly1305) from the paper's layout, to
 *   key_a, receiver index IDX_B, counter 0x0102030405, a 45-byte IPv4
 *   packet padded to 48; decapsulated here, and encapsulated here to the
 *   same bytes.
 * - The message layout is checked against the WireGuard paper §5.4.6 as
 *   written in each case (type 4, zero reserved bytes, receiver index
 *   LE32, counter LE64, zero padding to 16, tag), and the ciphertext of a
 *   message by opening it with wg_aead_open() and the paper's nonce.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../pkt/pkt_test.h"
#include "tun/wg_data.h"

static const uint8_t key_a[32] = { 0xa0, 1, 2, 3 };	/* A to B */
static const uint8_t key_b[32] = { 0xb0, 4, 5, 6 };	/* B to A */
#define IDX_A	0x11223344u	/* A's index: B puts it in what it sends */
#define IDX_B	0x55667788u

struct env {
	struct pkt_pool *pool;
	struct wg_worker *w;
	struct wg_keypair *a, *b;	/* A's (sends with key_a), B's */
};

/* B's table: one keypair, found by B's index. */
static struct wg_keypair *
lookup_b(void *ctx, uint32_t idx)
{
	struct env *e = ctx;

	return idx == IDX_B ? e->b : NULL;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	assert_int_equal(pkt_pool_create(&e->pool, 64), 0);
	assert_int_equal(wg_worker_create(&e->w), 0);
	assert_int_equal(wg_keypair_create(&e->a, key_a, key_b, IDX_A, IDX_B),
	    0);
	assert_int_equal(wg_keypair_create(&e->b, key_b, key_a, IDX_B, IDX_A),
	    0);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	wg_keypair_free(e->a);
	wg_keypair_free(e->b);
	wg_worker_free(e->w);
	pkt_pool_destroy(e->pool);
	free(e);
	return 0;
}

/* An Ethernet frame holding an IPv4 (or IPv6) packet of ip_len bytes,
 * payload bytes seeded by tag; Ethernet padding of pad bytes after it. */
static struct pkt *
inner_pkt(struct env *e, int family, uint16_t ip_len, uint8_t tag,
    uint16_t pad)
{
	struct pkt *p = pkt_alloc(e->pool);
	uint8_t *ip;

	assert_non_null(p);
	p->len = (uint16_t)(ETH_HDR_LEN + ip_len + pad);
	memset(p->data, 0, p->len);
	ip = p->data + ETH_HDR_LEN;
	for (uint16_t i = 0; i < ip_len; i++)
		ip[i] = (uint8_t)(tag + i * 7);
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = ip_len;
	if (ip_len == 0) {
		p->l3 = PKT_L3_NONE;
	} else if (family == 4) {
		ip[0] = 0x45;
		ip[2] = (uint8_t)(ip_len >> 8);
		ip[3] = (uint8_t)ip_len;
		p->l3 = PKT_L3_IP4;
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((ip_len - 40) >> 8);
		ip[5] = (uint8_t)(ip_len - 40);
		p->l3 = PKT_L3_IP6;
	}
	return p;
}

static void
encap1(struct env *e, struct pkt *p)
{
	uint8_t res;

	wg_encap_burst(e->w, e->a, &p, 1, 0, &res);
	assert_string_equal(wg_result_name(res), "ok");
}

static uint8_t
decap1(struct env *e, struct pkt *p)
{
	uint8_t res;

	wg_decap_burst(e->w, lookup_b, e, &p, 1, &res);
	return res;
}

/* RFC 8439 §2.8.2, both ways through the burst functions' job. */
static void
test_rfc8439_aead(void **state)
{
	struct env *e = *state;
	static const char pt[] = "Ladies and Gentlemen of the class of '99: "
	    "If I could offer you only one tip for the future, sunscreen "
	    "would be it.";
	uint8_t key[32], nonce[12], aad[12], ct[114], tag[16], buf[114];

	test_hex("808182838485868788898a8b8c8d8e8f"
	    "909192939495969798999a9b9c9d9e9f", key, sizeof(key));
	test_hex("070000004041424344454647", nonce, sizeof(nonce));
	test_hex("50515253c0c1c2c3c4c5c6c7", aad, sizeof(aad));
	test_hex("d31a8d34648e60db7b86afbc53ef7ec2"
	    "a4aded51296e08fea9e2b5a736ee62d6"
	    "3dbea45e8ca9671282fafb69da92728b"
	    "1a71de0a9e060b2905d6a5b67ecd3b36"
	    "92ddbd7f2d778b8c9803aee328091b58"
	    "fab324e4fad675945585808b4831d7bc"
	    "3ff4def08e4b7a9de576d26586cec64b"
	    "6116", ct, sizeof(ct));
	assert_int_equal(sizeof(pt) - 1, 114);
	memcpy(buf, pt, 114);
	assert_int_equal(wg_aead_seal(e->w, key, nonce, aad, 12, buf, 114, tag),
	    0);
	assert_memory_equal(buf, ct, 114);
	test_hex("1ae10b594f09e26a7e902ecbd0600691", ct, 16);
	assert_memory_equal(tag, ct, 16);
	assert_int_equal(wg_aead_open(e->w, key, nonce, aad, 12, buf, 114, tag),
	    0);
	assert_memory_equal(buf, pt, 114);
	tag[15] ^= 1;
	assert_int_equal(wg_aead_open(e->w, key, nonce, aad, 12, buf, 114, tag),
	    -EBADMSG);
}

/* Encap then decap: the message is laid out as the paper says, and the
 * inner packet comes back byte for byte, without padding or Ethernet
 * padding, for both families and sizes around 16's multiples. */
static void
test_round_trip(void **state)
{
	static const uint16_t sizes[] = { 0, 20, 21, 31, 32, 33, 40, 47, 64,
	    100, 1400, 1420 };
	struct env *e = *state;
	uint8_t want[2048], nonce[12] = { 0 };
	uint64_t counter = 0;

	for (int fam = 4; fam <= 6; fam += 2) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			uint16_t sz = sizes[k], padded = (sz + 15) & ~15;
			struct pkt *p;
			uint8_t *m, ctbuf[2048];
			uint32_t idx;
			uint64_t ctr;

			if (fam == 6 && sz != 0 && sz < 40)
				continue;
			p = inner_pkt(e, fam, sz, (uint8_t)k, 3);
			memcpy(want, p->data + ETH_HDR_LEN, sz);
			encap1(e, p);
			m = p->data;
			assert_int_equal(p->len, 16 + padded + 16);
			assert_int_equal(m[0], 4);
			assert_int_equal(m[1] | m[2] | m[3], 0);
			memcpy(&idx, m + 4, 4);
			assert_int_equal(le32toh(idx), IDX_B);
			memcpy(&ctr, m + 8, 8);
			assert_int_equal(le64toh(ctr), counter);
			/* Open it independently of decap: key_a, nonce 0^4 ||
			 * counter LE64, no AAD; zero padding after. */
			memcpy(ctbuf, m + 16, padded);
			memcpy(nonce + 4, m + 8, 8);
			assert_int_equal(wg_aead_open(e->w, key_a, nonce, NULL, 0,
			    ctbuf, padded, m + 16 + padded), 0);
			assert_memory_equal(ctbuf, want, sz);
			for (uint16_t i = sz; i < padded; i++)
				assert_int_equal(ctbuf[i], 0);

			if (sz == 0) {
				assert_string_equal(wg_result_name(decap1(e,
				    p)), "keepalive");
			} else {
				assert_string_equal(wg_result_name(decap1(e,
				    p)), "ok");
				assert_int_equal(p->len, sz);
				assert_int_equal(p->l3_len, sz);
				assert_int_equal(p->l3, fam == 4 ? PKT_L3_IP4 :
				    PKT_L3_IP6);
				assert_memory_equal(p->data, want, sz);
			}
			pkt_free(e->pool, p);
			counter++;
		}
	}
	struct wg_keypair_stats st;

	wg_keypair_stats(e->b, &st);
	assert_int_equal(st.keepalives, 2);
	assert_int_equal(st.rx_pkts, counter - 2);
	wg_keypair_stats(e->a, &st);
	assert_int_equal(st.tx_pkts, counter);
	assert_int_equal(st.send_next, counter);
}

/* One byte changed anywhere in the ciphertext or tag: refused as auth,
 * counted on the keypair, and the window did not move (the genuine
 * packet is still accepted after). */
static void
test_tampered(void **state)
{
	struct env *e = *state;
	struct wg_keypair_stats st;
	uint8_t copy[2048];
	uint16_t len;
	struct pkt *p = inner_pkt(e, 4, 100, 9, 0);

	encap1(e, p);
	len = p->len;
	memcpy(copy, p->data, len);
	for (uint16_t off = 16; off < len; off += 37) {
		assert_int_equal(pkt_set_frame(p, copy, len), 0);
		p->data[off] ^= 0x40;
		assert_string_equal(wg_result_name(decap1(e, p)), "auth");
	}
	wg_keypair_stats(e->b, &st);
	assert_int_equal(st.drops[WG_R_AUTH], (len - 16 + 36) / 37);
	assert_int_equal(st.rx_pkts, 0);
	assert_int_equal(pkt_set_frame(p, copy, len), 0);
	assert_string_equal(wg_result_name(decap1(e, p)), "ok");
	pkt_free(e->pool, p);
}

/* Messages with counters c sent now, their bytes kept to replay. */
static void
make_msgs(struct env *e, const uint64_t *c, size_t n, uint8_t msgs[][256],
    uint16_t *lens)
{
	for (size_t i = 0; i < n; i++) {
		struct pkt *p = inner_pkt(e, 4, 60, (uint8_t)i, 0);

		wg_keypair_test_set_send(e->a, c[i]);
		encap1(e, p);
		lens[i] = p->len;
		memcpy(msgs[i], p->data, p->len);
		pkt_free(e->pool, p);
	}
}

static const char *
deliver(struct env *e, const uint8_t *msg, uint16_t len)
{
	struct pkt *p = pkt_alloc(e->pool);
	const char *r;

	assert_int_equal(pkt_set_frame(p, msg, len), 0);
	r = wg_result_name(decap1(e, p));
	pkt_free(e->pool, p);
	return r;
}

/* The window: a replay is refused, earlier counters within the window
 * (2^12 - 64) are accepted once in any order, one too far behind is
 * refused; a replay inside one burst too. */
static void
test_replay_window(void **state)
{
	struct env *e = *state;
	static const uint64_t c[] = { 5000, 4999, 1000, 969, 968, 5001, 0 };
	uint8_t m[7][256];
	uint16_t len[7];

	make_msgs(e, c, 7, m, len);
	assert_string_equal(deliver(e, m[0], len[0]), "ok");	/* 5000 */
	assert_string_equal(deliver(e, m[0], len[0]), "replay");
	assert_string_equal(deliver(e, m[1], len[1]), "ok");	/* behind */
	assert_string_equal(deliver(e, m[1], len[1]), "replay");
	assert_string_equal(deliver(e, m[2], len[2]), "ok");	/* 4000 back */
	/* Window 4032: 5000 - 969 = 4031 is the last inside. */
	assert_string_equal(deliver(e, m[3], len[3]), "ok");
	assert_string_equal(deliver(e, m[4], len[4]), "replay");
	assert_string_equal(deliver(e, m[6], len[6]), "replay"); /* 0 */

	/* Twice in one burst: the first copy is taken, the second not. */
	struct pkt *p[2];
	uint8_t res[2];

	for (int i = 0; i < 2; i++) {
		p[i] = pkt_alloc(e->pool);
		assert_int_equal(pkt_set_frame(p[i], m[5], len[5]), 0);
	}
	wg_decap_burst(e->w, lookup_b, e, p, 2, res);
	assert_string_equal(wg_result_name(res[0]), "ok");
	assert_string_equal(wg_result_name(res[1]), "replay");
	pkt_free(e->pool, p[0]);
	pkt_free(e->pool, p[1]);
}

/* Counter 0 is the first a fresh keypair accepts. */
static void
test_counter_zero(void **state)
{
	struct env *e = *state;
	static const uint64_t c[] = { 0 };
	uint8_t m[1][256];
	uint16_t len[1];

	make_msgs(e, c, 1, m, len);
	assert_string_equal(deliver(e, m[0], len[0]), "ok");
	assert_string_equal(deliver(e, m[0], len[0]), "replay");
}

/* Padding goes to a multiple of 16, but never past the interface's MTU:
 * a full 1420-byte packet of a 1420 MTU stays 1420 (so a 1500-byte IPv6
 * path carries it), and the receiver delivers it whole either way. */
static void
test_padding_mtu(void **state)
{
	struct env *e = *state;
	static const struct { uint16_t ip_len, mtu, ct_len; } c[] = {
		{ 1420, 1420, 1420 },	/* capped */
		{ 1420, 0, 1424 },	/* no cap */
		{ 1418, 1420, 1420 },	/* up to the MTU only */
		{ 1400, 1420, 1408 },	/* room to 16 */
		{ 100, 1420, 112 },
	};
	uint8_t res;

	for (size_t i = 0; i < HG_ARRAY_SIZE(c); i++) {
		struct pkt *p = inner_pkt(e, 6, c[i].ip_len, (uint8_t)i, 0);

		wg_encap_burst(e->w, e->a, &p, 1, c[i].mtu, &res);
		assert_string_equal(wg_result_name(res), "ok");
		assert_int_equal(p->len, WG_DATA_HDR_LEN + c[i].ct_len +
		    WG_TAG_LEN);
		assert_int_equal(decap1(e, p), WG_R_OK);
		assert_int_equal(p->len, c[i].ip_len);
		pkt_free(e->pool, p);
	}
}

/* Reject-After-Messages: the sender stops before 2^64 - 2^13 - 1, and a
 * message carrying that counter is refused before its tag is checked. */
static void
test_counter_limit(void **state)
{
	struct env *e = *state;
	static const uint64_t c[] = { WG_REJECT_AFTER_MESSAGES - 1 };
	uint8_t m[1][256], res;
	uint16_t len[1];
	struct wg_keypair_stats st;
	struct pkt *p;
	uint64_t le;

	make_msgs(e, c, 1, m, len);
	assert_string_equal(deliver(e, m[0], len[0]), "ok");
	p = inner_pkt(e, 4, 60, 1, 0);
	wg_encap_burst(e->w, e->a, &p, 1, 0, &res);
	assert_string_equal(wg_result_name(res), "exhausted");
	wg_keypair_stats(e->a, &st);
	assert_int_equal(st.send_next, WG_REJECT_AFTER_MESSAGES);
	pkt_free(e->pool, p);

	le = htole64(WG_REJECT_AFTER_MESSAGES);
	memcpy(m[0] + 8, &le, 8);
	assert_string_equal(deliver(e, m[0], len[0]), "counter_limit");
}

/* wg_keepalive_make(): the paper's keepalive, header and tag alone,
 * with the keypair's next counter (shared with the bursts), opened by
 * the receiver as a keepalive and refused when replayed; none is made
 * once the counter is used up. */
static void
test_keepalive_make(void **state)
{
	struct env *e = *state;
	uint8_t m[WG_DATA_MIN_LEN], again[WG_DATA_MIN_LEN];
	uint8_t nonce[12] = { 0 };
	struct wg_keypair_stats st;

	wg_keypair_test_set_send(e->a, 41);
	assert_int_equal(wg_keepalive_make(e->w, e->a, m), 0);
	assert_int_equal(m[0], 4);
	assert_int_equal(m[1] | m[2] | m[3], 0);
	assert_int_equal(m[4] | m[5] << 8 | m[6] << 16 |
	    (uint32_t)m[7] << 24, IDX_B);
	assert_int_equal(m[8], 41);
	for (int i = 9; i < 16; i++)
		assert_int_equal(m[i], 0);
	/* The tag is the AEAD's over nothing, with the paper's nonce. */
	nonce[4] = 41;
	assert_int_equal(wg_aead_open(e->w, key_a, nonce, NULL, 0, m + 16, 0,
	    m + 16), 0);
	wg_keypair_stats(e->a, &st);
	assert_int_equal(st.send_next, 42);
	memcpy(again, m, sizeof(m));
	assert_string_equal(deliver(e, m, sizeof(m)), "keepalive");
	assert_string_equal(deliver(e, again, sizeof(again)), "replay");

	wg_keypair_test_set_send(e->a, WG_REJECT_AFTER_MESSAGES);
	assert_int_equal(wg_keepalive_make(e->w, e->a, m), -EKEYEXPIRED);
}

/* Wrong receiver index, type, reserved byte, short: refused before any
 * crypto, counted on the worker. */
static void
test_header_checks(void **state)
{
	struct env *e = *state;
	static const uint64_t c[] = { 7 };
	uint8_t m[1][256], x[256];
	uint16_t len[1];

	make_msgs(e, c, 1, m, len);
	memcpy(x, m[0], len[0]);
	x[4] ^= 1;
	assert_string_equal(deliver(e, x, len[0]), "unknown_index");
	assert_int_equal(wg_worker_drops(e->w, WG_R_NO_KEYPAIR), 1);
	memcpy(x, m[0], len[0]);
	x[0] = 1;
	assert_string_equal(deliver(e, x, len[0]), "bad_type");
	memcpy(x, m[0], len[0]);
	x[2] = 1;
	assert_string_equal(deliver(e, x, len[0]), "bad_type");
	assert_string_equal(deliver(e, m[0], 31), "truncated");
	assert_string_equal(deliver(e, m[0], 0), "truncated");
	assert_string_equal(deliver(e, m[0], len[0]), "ok");
}

/* A sealed plaintext whose inner header claims more than it holds, or
 * is no IP packet: authenticated, yet refused. */
static void
test_bad_inner(void **state)
{
	struct env *e = *state;
	uint8_t msg[16 + 48 + 16] = { 4 }, nonce[12] = { 0 };
	uint32_t idx = htole32(IDX_B);

	memcpy(msg + 4, &idx, 4);
	msg[8] = 3;			/* counter 3 */
	nonce[4] = 3;
	msg[16] = 0x45;
	msg[18] = 0;
	msg[19] = 49;			/* total length 49 > 48 */
	assert_int_equal(wg_aead_seal(e->w, key_a, nonce, NULL, 0, msg + 16,
	    48, msg + 64), 0);
	assert_string_equal(deliver(e, msg, sizeof(msg)), "bad_inner");

	memset(msg + 16, 0, 64);
	msg[8] = 4;
	nonce[4] = 4;
	msg[16] = 0x50;			/* version 5 */
	assert_int_equal(wg_aead_seal(e->w, key_a, nonce, NULL, 0, msg + 16,
	    48, msg + 64), 0);
	assert_string_equal(deliver(e, msg, sizeof(msg)), "not_ip");
}

/* The Python-made message: decapsulated to its inner packet, and the same
 * packet encapsulated at the same counter gives the same bytes. */
static void
test_independent_message(void **state)
{
	struct env *e = *state;
	uint8_t msg[80], ip[45];
	struct pkt *p;

	test_hex("04000000887766550504030201000000"
	    "5f11ea1aec1675c42bdc7c9d5fd9fcc9"
	    "c8fb3a285794bf1c3b958e55a9f18ae5"
	    "e4212e28c2a2e2e370e1e57cf9032f11"
	    "e2d6e43bcaad6c01a55815e207c18c36", msg, sizeof(msg));
	memset(ip, 0, sizeof(ip));
	ip[0] = 0x45;
	ip[3] = 45;
	ip[8] = 64;
	ip[9] = 17;
	for (int i = 20; i < 45; i++)
		ip[i] = (uint8_t)i;
	p = pkt_alloc(e->pool);
	assert_int_equal(pkt_set_frame(p, msg, sizeof(msg)), 0);
	assert_string_equal(wg_result_name(decap1(e, p)), "ok");
	assert_int_equal(p->len, 45);
	assert_memory_equal(p->data, ip, 45);

	assert_int_equal(pkt_set_frame(p, ip, 45), 0);
	p->l3 = PKT_L3_IP4;
	p->l3_off = 0;
	p->l3_len = 45;
	wg_keypair_test_set_send(e->a, 0x0102030405ULL);
	encap1(e, p);
	assert_int_equal(p->len, sizeof(msg));
	assert_memory_equal(p->data, msg, sizeof(msg));
	pkt_free(e->pool, p);
}

struct sender {
	struct env *e;
	uint64_t got[1000];
};

static void *
send_thread(void *arg)
{
	struct sender *s = arg;
	struct wg_worker *w;

	assert_int_equal(wg_worker_create(&w), 0);
	for (int i = 0; i < 1000; i++) {
		uint8_t buf[64 + 32] = { 0x45, 0, 0, 64 }, res;
		struct pkt pk, *p = &pk;
		uint8_t room[256];

		/* A packet of its own on the stack: the pool is not
		 * shared between threads. */
		memset(&pk, 0, sizeof(pk));
		pk.head = room;
		pk.data = room + 64;
		memcpy(pk.data, buf, 64);
		pk.len = 64;
		pk.l3 = PKT_L3_IP4;
		pk.l3_len = 64;
		wg_encap_burst(w, s->e->a, &p, 1, 0, &res);
		assert_int_equal(res, WG_R_OK);
		memcpy(&s->got[i], pk.data + 8, 8);
		s->got[i] = le64toh(s->got[i]);
	}
	wg_worker_free(w);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Four workers sending on one keypair at once: 4000 messages carry
 * counters 0..3999, each once (the nonce is never reused). */
static void
test_concurrent_senders(void **state)
{
	struct env *e = *state;
	static struct sender s[4];
	static uint64_t all[4000];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		s[i].e = e;
		assert_int_equal(pthread_create(&t[i], NULL, send_thread,
		    &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		memcpy(all + i * 1000, s[i].got, sizeof(s[i].got));
	}
	qsort(all, 4000, sizeof(all[0]), cmp_u64);
	for (uint64_t i = 0; i < 4000; i++)
		assert_int_equal(all[i], i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc8439_aead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replay_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counter_zero, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counter_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_padding_mtu, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_make, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_header_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_inner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_independent_message,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_senders,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
