/*
 * tests/unit/ike/test_msg.c: the IKEv2 message codec (src/ike/msg.c).
 *
 * A real IKE_SA_INIT from strongSwan 5.9.8 parses into the proposal it was
 * configured with and is rebuilt byte for byte by the writer; every payload
 * kind survives build -> parse with its fields; each malformed message is
 * refused with its reason and the byte offset of the fault; the writer
 * reports a buffer too small; the non-ESP marker of UDP 4500 is
 * added and taken off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ike/msg.h"
#include "sswan_sa_init.h"	/* sswan_sa_init: charon's first datagram */

#define IKE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct ike_msg msg;	/* big: not on the stack */
static uint8_t wbuf[4096];

static void
parse_ok(const uint8_t *buf, size_t len)
{
	struct ike_err err;

	if (ike_msg_parse(buf, len, &msg, &err) != 0)
		fail_msg("parse: %s at %u", ike_err_str(err.code), err.off);
}

static void
test_strongswan_sa_init(void **state)
{
	static const uint16_t notifies[] = {
		IKE_N_NAT_DETECTION_SOURCE_IP,
		IKE_N_NAT_DETECTION_DESTINATION_IP,
		16430,	/* IKEV2_FRAGMENTATION_SUPPORTED */
		16431,	/* SIGNATURE_HASH_ALGORITHMS */
		16406,	/* REDIRECT_SUPPORTED */
	};
	const struct ike_proposal *prop;
	const struct ike_transform *t;
	const struct ike_payload *pl;
	unsigned i;

	parse_ok(sswan_sa_init, sizeof(sswan_sa_init));
	assert_int_equal(msg.hdr.exchange, IKE_SA_INIT);
	assert_int_equal(msg.hdr.flags, IKE_F_INITIATOR);
	assert_int_equal(msg.hdr.version, 0x20);
	assert_int_equal(msg.hdr.msg_id, 0);
	assert_int_equal(msg.hdr.rspi, 0);
	assert_true(msg.hdr.ispi != 0);
	assert_int_equal(msg.n_payloads, 8);

	print_message("case: the SA is aes256gcm16-prfsha256-x25519\n");
	pl = &msg.payloads[0];
	assert_int_equal(pl->type, IKE_PL_SA);
	assert_int_equal(pl->u.sa.count, 1);
	prop = &msg.proposals[pl->u.sa.first];
	assert_int_equal(prop->num, 1);
	assert_int_equal(prop->protocol, IKE_PROTO_IKE);
	assert_int_equal(prop->spi_size, 0);
	assert_int_equal(prop->count, 3);
	t = &msg.transforms[prop->first];
	assert_int_equal(t[0].type, IKE_TF_ENCR);
	assert_int_equal(t[0].id, IKE_ENCR_AES_GCM_16);
	assert_int_equal(t[0].key_len, 256);
	assert_int_equal(t[1].type, IKE_TF_PRF);
	assert_int_equal(t[1].id, IKE_PRF_HMAC_SHA2_256);
	assert_int_equal(t[1].key_len, 0);
	assert_int_equal(t[2].type, IKE_TF_DH);
	assert_int_equal(t[2].id, IKE_DH_CURVE25519);

	print_message("case: KE is an X25519 share, the nonce 32 bytes\n");
	pl = &msg.payloads[1];
	assert_int_equal(pl->type, IKE_PL_KE);
	assert_int_equal(pl->u.ke.group, IKE_DH_CURVE25519);
	assert_int_equal(pl->data_len, 32);
	pl = &msg.payloads[2];
	assert_int_equal(pl->type, IKE_PL_NONCE);
	assert_int_equal(pl->data_len, 32);

	print_message("case: the notifies, NAT detection hashes 20 bytes\n");
	for (i = 0; i < IKE_ARRAY_LEN(notifies); i++) {
		pl = &msg.payloads[3 + i];
		assert_int_equal(pl->type, IKE_PL_NOTIFY);
		assert_int_equal(pl->u.notify.type, notifies[i]);
		assert_int_equal(pl->u.notify.protocol, 0);
		if (i < 2)
			assert_int_equal(pl->data_len, 20);
	}
	assert_ptr_equal(ike_msg_find(&msg, IKE_PL_NOTIFY, 4), &msg.payloads[4]);
	assert_null(ike_msg_find(&msg, IKE_PL_SK, 0));
}

/* The same message rebuilt with the typed writer: strongSwan's bytes. */
static void
test_strongswan_rebuilt(void **state)
{
	static const struct ike_w_transform tf[] = {
		{ IKE_TF_ENCR, IKE_ENCR_AES_GCM_16, 256 },
		{ IKE_TF_PRF, IKE_PRF_HMAC_SHA2_256, 0 },
		{ IKE_TF_DH, IKE_DH_CURVE25519, 0 },
	};
	static const struct ike_w_proposal prop = {
		.num = 1, .protocol = IKE_PROTO_IKE, .transforms = tf,
		.count = 3,
	};
	struct ike_writer w;
	const struct ike_payload *pl;
	unsigned i;
	long n;

	parse_ok(sswan_sa_init, sizeof(sswan_sa_init));
	ike_w_init(&w, wbuf, sizeof(wbuf), &msg.hdr);
	assert_int_equal(ike_w_sa(&w, &prop, 1), 0);
	pl = &msg.payloads[1];
	assert_int_equal(ike_w_ke(&w, pl->u.ke.group, pl->data, pl->data_len),
	    0);
	pl = &msg.payloads[2];
	assert_int_equal(ike_w_nonce(&w, pl->data, pl->data_len), 0);
	for (i = 3; i < msg.n_payloads; i++) {
		pl = &msg.payloads[i];
		assert_int_equal(ike_w_notify(&w, pl->u.notify.protocol, NULL, 0,
		    pl->u.notify.type, pl->data, pl->data_len), 0);
	}
	n = ike_w_finish(&w);
	assert_int_equal(n, sizeof(sswan_sa_init));
	assert_memory_equal(wbuf, sswan_sa_init, sizeof(sswan_sa_init));

	print_message("case: the generic writer gives the same bytes\n");
	ike_w_init(&w, wbuf, sizeof(wbuf), &msg.hdr);
	for (i = 0; i < msg.n_payloads; i++)
		assert_int_equal(ike_w_payload(&w, msg.payloads[i].type, false,
		    msg.payloads[i].body, msg.payloads[i].body_len), 0);
	assert_int_equal(ike_w_finish(&w), sizeof(sswan_sa_init));
	assert_memory_equal(wbuf, sswan_sa_init, sizeof(sswan_sa_init));
}

static const struct ike_hdr auth_hdr = {
	.ispi = 0x0102030405060708ULL, .rspi = 0x1112131415161718ULL,
	.exchange = IKE_AUTH, .flags = IKE_F_RESPONSE, .msg_id = 1,
};

static const uint8_t v4a[4] = { 10, 0, 0, 0 }, v4b[4] = { 10, 0, 0, 255 };
static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
static const uint8_t v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, [4 ... 15] = 0xff };

/* Every payload kind of the clear part, then SK. */
static long
build_all(uint8_t *buf, size_t cap)
{
	static const struct ike_w_transform esp_tf[] = {
		{ IKE_TF_ENCR, IKE_ENCR_AES_GCM_16, 128 },
		{ IKE_TF_ESN, 1, 0 },
		{ IKE_TF_ESN, 0, 0 },
	};
	static const struct ike_w_transform ike_tf[] = {
		{ IKE_TF_ENCR, IKE_ENCR_AES_CBC, 256 },
		{ IKE_TF_PRF, IKE_PRF_HMAC_SHA2_256, 0 },
		{ IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0 },
		{ IKE_TF_DH, IKE_DH_MODP_3072, 0 },
	};
	static const uint8_t spi[4] = { 0xc0, 0xff, 0xee, 0x01 };
	const struct ike_w_proposal props[] = {
		{ 1, IKE_PROTO_ESP, 4, spi, esp_tf, 3 },
		{ 2, IKE_PROTO_IKE, 0, NULL, ike_tf, 4 },
	};
	const struct ike_ts ts[] = {
		{ IKE_TS_IPV4_RANGE, 0, 0, 65535, 4, v4a, v4b },
		{ IKE_TS_IPV6_RANGE, 17, 500, 500, 16, v6a, v6b },
	};
	static const uint8_t nonce[16] = { 1, 2, 3 };
	static const uint8_t spis[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ike_writer w;

	ike_w_init(&w, buf, cap, &auth_hdr);
	ike_w_sa(&w, props, 2);
	ike_w_ke(&w, IKE_DH_MODP_3072, "share", 5);
	ike_w_id(&w, IKE_PL_IDI, 2, "left.example", 12);
	ike_w_id(&w, IKE_PL_IDR, 1, v4b, 4);
	ike_w_cert(&w, IKE_PL_CERT, 4, "DER", 3);
	ike_w_cert(&w, IKE_PL_CERTREQ, 4, "SHA1SHA1SHA1SHA1SHA1", 20);
	ike_w_auth(&w, 2, "mac", 3);
	ike_w_nonce(&w, nonce, sizeof(nonce));
	ike_w_notify(&w, IKE_PROTO_ESP, spi, 4, 16393, "x", 1);
	ike_w_delete(&w, IKE_PROTO_ESP, 4, spis, 2);
	ike_w_payload(&w, IKE_PL_VENDOR, false, "hexgate", 7);
	ike_w_ts(&w, IKE_PL_TSI, ts, 2);
	ike_w_ts(&w, IKE_PL_TSR, ts, 1);
	ike_w_payload(&w, IKE_PL_CP, false, "\1\0\0\0", 4);
	ike_w_sk(&w, IKE_PL_IDI, "ivciphertexticv", 15);
	return ike_w_finish(&w);
}

static void
test_round_trip(void **state)
{
	static const uint8_t order[] = {
		IKE_PL_SA, IKE_PL_KE, IKE_PL_IDI, IKE_PL_IDR, IKE_PL_CERT,
		IKE_PL_CERTREQ, IKE_PL_AUTH, IKE_PL_NONCE, IKE_PL_NOTIFY,
		IKE_PL_DELETE, IKE_PL_VENDOR, IKE_PL_TSI, IKE_PL_TSR,
		IKE_PL_CP, IKE_PL_SK,
	};
	const struct ike_payload *pl = msg.payloads;
	const struct ike_proposal *p;
	const struct ike_transform *t;
	const struct ike_ts *ts;
	long n = build_all(wbuf, sizeof(wbuf));
	unsigned i;

	assert_true(n > 0);
	parse_ok(wbuf, n);
	assert_int_equal(msg.hdr.ispi, auth_hdr.ispi);
	assert_int_equal(msg.hdr.rspi, auth_hdr.rspi);
	assert_int_equal(msg.hdr.exchange, IKE_AUTH);
	assert_int_equal(msg.hdr.flags, IKE_F_RESPONSE);
	assert_int_equal(msg.hdr.msg_id, 1);
	assert_int_equal(msg.hdr.length, n);
	assert_int_equal(msg.n_payloads, sizeof(order));
	for (i = 0; i < sizeof(order); i++)
		assert_int_equal(pl[i].type, order[i]);

	print_message("case: SA: an ESP proposal with SPI, an IKE one\n");
	assert_int_equal(pl[0].u.sa.count, 2);
	p = &msg.proposals[pl[0].u.sa.first];
	assert_int_equal(p[0].protocol, IKE_PROTO_ESP);
	assert_int_equal(p[0].spi_size, 4);
	assert_memory_equal(p[0].spi, "\xc0\xff\xee\x01", 4);
	assert_int_equal(p[0].count, 3);
	t = &msg.transforms[p[0].first];
	assert_int_equal(t[0].key_len, 128);
	assert_int_equal(t[1].type, IKE_TF_ESN);
	assert_int_equal(t[1].id, 1);
	assert_int_equal(p[1].num, 2);
	assert_int_equal(p[1].count, 4);
	t = &msg.transforms[p[1].first];
	assert_int_equal(t[0].id, IKE_ENCR_AES_CBC);
	assert_int_equal(t[0].key_len, 256);
	assert_int_equal(t[2].id, IKE_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(t[3].id, IKE_DH_MODP_3072);

	print_message("case: KE, IDs, CERT, CERTREQ, AUTH, Nonce\n");
	assert_int_equal(pl[1].u.ke.group, IKE_DH_MODP_3072);
	assert_int_equal(pl[1].data_len, 5);
	assert_memory_equal(pl[1].data, "share", 5);
	assert_int_equal(pl[2].u.id.type, 2);
	assert_memory_equal(pl[2].data, "left.example", 12);
	assert_int_equal(pl[3].u.id.type, 1);
	assert_memory_equal(pl[3].data, v4b, 4);
	assert_int_equal(pl[4].u.cert.encoding, 4);
	assert_memory_equal(pl[4].data, "DER", 3);
	assert_int_equal(pl[5].data_len, 20);
	assert_int_equal(pl[6].u.auth.method, 2);
	assert_memory_equal(pl[6].data, "mac", 3);
	assert_int_equal(pl[7].data_len, 16);

	print_message("case: Notify with SPI, Delete with two SPIs, V\n");
	assert_int_equal(pl[8].u.notify.protocol, IKE_PROTO_ESP);
	assert_int_equal(pl[8].u.notify.spi_size, 4);
	assert_memory_equal(pl[8].u.notify.spi, "\xc0\xff\xee\x01", 4);
	assert_int_equal(pl[8].u.notify.type, 16393);
	assert_int_equal(pl[8].data_len, 1);
	assert_int_equal(pl[9].u.del.count, 2);
	assert_int_equal(pl[9].u.del.spi_size, 4);
	assert_memory_equal(pl[9].u.del.spis + 4, "\5\6\7\10", 4);
	assert_memory_equal(pl[10].data, "hexgate", 7);

	print_message("case: TSi IPv4 and IPv6 ranges, TSr one\n");
	assert_int_equal(pl[11].u.ts.count, 2);
	ts = &msg.ts[pl[11].u.ts.first];
	assert_int_equal(ts[0].type, IKE_TS_IPV4_RANGE);
	assert_int_equal(ts[0].end_port, 65535);
	assert_memory_equal(ts[0].start, v4a, 4);
	assert_memory_equal(ts[0].end, v4b, 4);
	assert_int_equal(ts[1].type, IKE_TS_IPV6_RANGE);
	assert_int_equal(ts[1].ip_proto, 17);
	assert_int_equal(ts[1].start_port, 500);
	assert_memory_equal(ts[1].start, v6a, 16);
	assert_memory_equal(ts[1].end, v6b, 16);
	assert_int_equal(pl[12].u.ts.count, 1);

	print_message("case: SK last, its next names the first inner\n");
	assert_int_equal(pl[14].next, IKE_PL_IDI);
	assert_int_equal(pl[14].data_len, 15);
	assert_memory_equal(pl[14].data, "ivciphertexticv", 15);
}

/* A non-critical unknown payload is stepped over; the chain goes on. */
static void
test_unknown_skipped(void **state)
{
	struct ike_writer w;
	long n;

	ike_w_init(&w, wbuf, sizeof(wbuf), &auth_hdr);
	ike_w_payload(&w, 200, false, "ignored", 7);
	ike_w_payload(&w, IKE_PL_VENDOR, false, "v", 1);
	n = ike_w_finish(&w);
	parse_ok(wbuf, n);
	assert_int_equal(msg.n_payloads, 1);
	assert_int_equal(msg.payloads[0].type, IKE_PL_VENDOR);
	assert_int_equal(msg.payloads[0].off, IKE_HDR_LEN + 11);
}

/*
 * Malformed messages: each starts from a valid one (a builder), is broken
 * in one place, and must be refused with that reason at that offset.
 */
struct bad_case {
	const char *what;
	long (*build)(uint8_t *buf);
	enum ike_err_code code;
	uint32_t off;
	uint8_t payload;
};

static long
sa_one(uint8_t *buf, unsigned nprops, unsigned ntf)
{
	static struct ike_w_transform tf[IKE_MAX_TRANSFORMS + 1];
	static struct ike_w_proposal props[20];
	struct ike_writer w;
	unsigned i;

	for (i = 0; i < ntf; i++)
		tf[i] = (struct ike_w_transform){ IKE_TF_ENCR,
		    IKE_ENCR_AES_GCM_16, 256 };
	for (i = 0; i < nprops; i++)
		props[i] = (struct ike_w_proposal){ .num = i + 1,
		    .protocol = IKE_PROTO_IKE, .transforms = tf,
		    .count = ntf };
	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_sa(&w, props, nprops);
	return ike_w_finish(&w);
}

/* SA at 28, its first proposal at 32, first transform at 40, attr at 48 */
static long
b_sa(uint8_t *buf)
{
	return sa_one(buf, 1, 2);
}

static long
b_nonce(uint8_t *buf)
{
	struct ike_writer w;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_nonce(&w, "0123456789abcdef", 16);
	return ike_w_finish(&w);
}

static long b_short(uint8_t *buf) { return b_nonce(buf) - 21; }
static long b_version(uint8_t *buf) { long n = b_nonce(buf); buf[17] = 0x10; return n; }
static long b_version3(uint8_t *buf) { long n = b_nonce(buf); buf[17] = 0x30; return n; }
static long b_len_more(uint8_t *buf) { long n = b_nonce(buf); buf[27]++; return n; }
static long b_len_less(uint8_t *buf) { long n = b_nonce(buf); buf[27]--; return n; }
/* the nonce payload's length says one byte more than there is */
static long b_past_end(uint8_t *buf) { long n = b_nonce(buf); buf[31]++; return n; }
static long b_zero_len(uint8_t *buf) { long n = b_nonce(buf); buf[30] = buf[31] = 0; return n; }
static long b_gen_short(uint8_t *buf)
{
	b_nonce(buf);
	buf[27] = 30;
	return 30;
}
static long b_nonce_short(uint8_t *buf)
{
	struct ike_writer w;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_nonce(&w, "0123456789abcde", 15);
	return ike_w_finish(&w);
}
/* header names a next payload after the nonce but none follows */
static long b_chain_on(uint8_t *buf) { long n = b_nonce(buf); buf[28] = IKE_PL_VENDOR; return n; }
static long b_trailing(uint8_t *buf) { long n = b_nonce(buf); buf[n] = 0; buf[27]++; return n + 1; }
static long b_critical(uint8_t *buf)
{
	struct ike_writer w;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_nonce(&w, "0123456789abcdef", 16);
	ike_w_payload(&w, 200, true, "must know", 9);
	return ike_w_finish(&w);
}
static long b_too_many_props(uint8_t *buf) { return sa_one(buf, 17, 0); }
static long b_too_many_tf(uint8_t *buf) { return sa_one(buf, 1, IKE_MAX_TRANSFORMS + 1); }
static long b_attr_tlv(uint8_t *buf) { long n = b_sa(buf); buf[48] &= 0x7f; return n; }
/* an unknown TLV attribute whose length runs past the transform */
static long b_attr_past(uint8_t *buf) { long n = b_sa(buf); buf[48] = 0; buf[49] = 99; return n; }
static long b_tf_last(uint8_t *buf) { long n = b_sa(buf); buf[40] = 0; return n; }
static long b_tf_count(uint8_t *buf) { long n = b_sa(buf); buf[39] = 3; return n; }
static long b_tf_len(uint8_t *buf) { long n = b_sa(buf); buf[43] = 7; return n; }
static long b_prop_last(uint8_t *buf) { long n = b_sa(buf); buf[32] = 2; return n; }
static long b_prop_len(uint8_t *buf) { long n = b_sa(buf); buf[35]++; return n; }
static long b_ts_len(uint8_t *buf)
{
	const struct ike_ts ts = { IKE_TS_IPV4_RANGE, 0, 0, 65535, 4, v4a,
	    v4b };
	struct ike_writer w;
	long n;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_ts(&w, IKE_PL_TSI, &ts, 1);
	n = ike_w_finish(&w);
	buf[32 + 4 + 3] = 40;	/* an IPv4 range claiming IPv6's length */
	return n;
}
static long b_ts_count(uint8_t *buf)
{
	long n = b_ts_len(buf);

	buf[32 + 4 + 3] = 16;
	buf[32] = 2;		/* says two selectors, holds one */
	return n;
}
static long b_ts_extra(uint8_t *buf)
{
	const struct ike_ts ts[2] = {
		{ IKE_TS_IPV4_RANGE, 0, 0, 65535, 4, v4a, v4b },
		{ IKE_TS_IPV4_RANGE, 0, 0, 65535, 4, v4a, v4b },
	};
	struct ike_writer w;
	long n;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_ts(&w, IKE_PL_TSR, ts, 2);
	n = ike_w_finish(&w);
	buf[32] = 1;		/* says one selector, holds two */
	return n;
}
static long b_delete(uint8_t *buf)
{
	struct ike_writer w;
	long n;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_delete(&w, IKE_PROTO_ESP, 4, "abcdefgh", 2);
	n = ike_w_finish(&w);
	buf[35] = 3;		/* three SPIs in eight bytes */
	return n;
}
static long b_notify_spi(uint8_t *buf)
{
	struct ike_writer w;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_notify(&w, IKE_PROTO_ESP, NULL, 0, IKE_N_COOKIE, "ab", 2);
	buf[33] = 4;		/* an SPI longer than the payload */
	return ike_w_finish(&w);
}
static long b_sk_not_last(uint8_t *buf)
{
	struct ike_writer w;
	long n;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	ike_w_sk(&w, IKE_PL_IDI, "0123456789", 10);
	n = ike_w_finish(&w);
	buf[31] -= 2;		/* SK ends two bytes before the message */
	return n;
}
static long b_too_many_payloads(uint8_t *buf)
{
	struct ike_writer w;
	unsigned i;

	ike_w_init(&w, buf, 4096, &auth_hdr);
	for (i = 0; i < IKE_MAX_PAYLOADS + 1; i++)
		ike_w_payload(&w, IKE_PL_VENDOR, false, "v", 1);
	return ike_w_finish(&w);
}

static const struct bad_case bad_cases[] = {
	{ "short header", b_short, IKE_E_SHORT, 27, 0 },
	{ "IKEv1 version", b_version, IKE_E_VERSION, 17, 0 },
	{ "version 3", b_version3, IKE_E_VERSION, 17, 0 },
	{ "header length above datagram", b_len_more, IKE_E_LENGTH, 24, 0 },
	{ "header length below datagram", b_len_less, IKE_E_LENGTH, 24, 0 },
	{ "payload past the end", b_past_end, IKE_E_PAYLOAD_LEN, 30,
	    IKE_PL_NONCE },
	{ "zero-length payload", b_zero_len, IKE_E_PAYLOAD_LEN, 30,
	    IKE_PL_NONCE },
	{ "generic header cut", b_gen_short, IKE_E_PAYLOAD_SHORT, 28,
	    IKE_PL_NONCE },
	{ "chain names a payload after the last", b_chain_on,
	    IKE_E_PAYLOAD_SHORT, 48, IKE_PL_VENDOR },
	{ "bytes after the chain", b_trailing, IKE_E_TRAILING, 48, 0 },
	{ "nonce of 15 bytes", b_nonce_short, IKE_E_NONCE_LEN, 30,
	    IKE_PL_NONCE },
	{ "unknown critical payload", b_critical,
	    IKE_E_UNSUPPORTED_CRITICAL_PAYLOAD, 48, 200 },
	{ "17 proposals", b_too_many_props, IKE_E_TOO_MANY_PROPOSALS,
	    32 + 16 * 8, IKE_PL_SA },
	{ "129 transforms", b_too_many_tf, IKE_E_TOO_MANY_TRANSFORMS,
	    40 + IKE_MAX_TRANSFORMS * 12, IKE_PL_SA },
	{ "key length attribute as TLV", b_attr_tlv, IKE_E_ATTR_FORMAT, 48,
	    IKE_PL_SA },
	{ "TLV attribute past its transform", b_attr_past, IKE_E_ATTR, 50,
	    IKE_PL_SA },
	{ "transform marked last but not", b_tf_last, IKE_E_TRANSFORM, 40,
	    IKE_PL_SA },
	{ "transform count above those present", b_tf_count,
	    IKE_E_TRANSFORM, 40, IKE_PL_SA },
	{ "transform length below 8", b_tf_len, IKE_E_TRANSFORM, 42,
	    IKE_PL_SA },
	{ "proposal marked more but last", b_prop_last, IKE_E_PROPOSAL, 32,
	    IKE_PL_SA },
	{ "proposal past the SA", b_prop_len, IKE_E_PROPOSAL, 34,
	    IKE_PL_SA },
	{ "IPv4 selector of IPv6 length", b_ts_len, IKE_E_TS, 38,
	    IKE_PL_TSI },
	{ "selector count above those present", b_ts_count, IKE_E_TS, 52,
	    IKE_PL_TSI },
	{ "selectors after the count", b_ts_extra, IKE_E_TS, 52,
	    IKE_PL_TSR },
	{ "delete count against SPI bytes", b_delete, IKE_E_DELETE, 34,
	    IKE_PL_DELETE },
	{ "notify SPI past the payload", b_notify_spi, IKE_E_BODY, 32,
	    IKE_PL_NOTIFY },
	{ "SK not last", b_sk_not_last, IKE_E_SK_NOT_LAST, 28, IKE_PL_SK },
	{ "33 payloads", b_too_many_payloads, IKE_E_TOO_MANY_PAYLOADS,
	    28 + 32 * 5, IKE_PL_VENDOR },
};

static void
test_malformed(void **state)
{
	struct ike_err err;
	unsigned i;

	for (i = 0; i < IKE_ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		long n;

		memset(wbuf, 0, sizeof(wbuf));
		n = c->build(wbuf);
		print_message("case: %s\n", c->what);
		assert_true(n > 0);
		assert_int_equal(ike_msg_parse(wbuf, n, &msg, &err), -1);
		if (err.code != c->code || err.off != c->off ||
		    err.payload != c->payload)
			fail_msg("%s: got %s at %u (payload %u), want %s at "
			    "%u (payload %u)", c->what, ike_err_str(err.code),
			    err.off, err.payload, ike_err_str(c->code), c->off,
			    c->payload);
	}
}

/* Every buffer shorter than the message overflows; the exact size fits. */
static void
test_writer_overflow(void **state)
{
	static uint8_t small[4096];
	long n = build_all(wbuf, sizeof(wbuf)), cap;

	assert_true(n > 0);
	for (cap = 0; cap < n; cap++)
		assert_int_equal(build_all(small, cap), -1);
	assert_int_equal(build_all(small, n), n);
	assert_memory_equal(small, wbuf, n);

	print_message("case: a payload over 65535 bytes overflows\n");
	{
		static uint8_t big[70000], body[65535];
		struct ike_writer w;

		ike_w_init(&w, big, sizeof(big), &auth_hdr);
		assert_int_equal(ike_w_payload(&w, IKE_PL_VENDOR, false, body,
		    sizeof(body)), -1);
		assert_int_equal(ike_w_finish(&w), -1);
	}
}

static void
test_nonesp_marker(void **state)
{
	uint8_t d[4 + sizeof(sswan_sa_init)];
	const uint8_t *ike = NULL;
	size_t len = 0;

	print_message("case: marker written, then stripped off the message\n");
	assert_int_equal(ike_nonesp_marker(d, sizeof(d)), 4);
	memcpy(d + 4, sswan_sa_init, sizeof(sswan_sa_init));
	assert_int_equal(ike_nonesp_strip(d, 4 + sizeof(sswan_sa_init), &ike,
	    &len), 0);
	assert_ptr_equal(ike, d + 4);
	assert_int_equal(len, sizeof(sswan_sa_init));
	parse_ok(ike, len);
	assert_int_equal(ike_nonesp_marker(d, 3), 0);

	print_message("case: an SPI, a keepalive, 3 bytes: no marker\n");
	d[3] = 1;
	assert_int_equal(ike_nonesp_strip(d, 44, &ike, &len), -1);
	d[0] = 0xff;
	assert_int_equal(ike_nonesp_strip(d, 1, &ike, &len), -1);
	memset(d, 0, 4);
	assert_int_equal(ike_nonesp_strip(d, 3, &ike, &len), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strongswan_sa_init),
		cmocka_unit_test(test_strongswan_rebuilt),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown_skipped),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_nonesp_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
