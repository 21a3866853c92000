/*
 * tests/unit/pkt/test_mss.c: TCP MSS clamping (src/pkt/mss.c): the MSS
 * option of a SYN above the limit is lowered and the checksum stays
 * right (checked by recomputing it whole), wherever the option sits;
 * what is not a whole TCP SYN with a larger MSS is left as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "pkt/pkt.h"

/* An IPv4 (or IPv6) TCP segment with flags and options, checksummed. */
static size_t
seg(uint8_t *b, bool v6, uint8_t flags, const uint8_t *opt, size_t opt_len)
{
	size_t l3 = v6 ? IP6_HDR_LEN : IP4_HDR_LEN, tcp_len = 20 + opt_len + 5;
	uint8_t *tcp = b + l3;
	uint16_t c;

	memset(b, 0, l3 + tcp_len);
	if (v6) {
		b[0] = 0x60;
		b[4] = (uint8_t)(tcp_len >> 8);
		b[5] = (uint8_t)tcp_len;
		b[6] = IPPROTO_TCP_;
		b[7] = 64;
		inet_pton(AF_INET6, "2001:db8:1::5", b + 8);
		inet_pton(AF_INET6, "2001:db8:2::7", b + 24);
	} else {
		b[0] = 0x45;
		b[3] = (uint8_t)(l3 + tcp_len);
		b[8] = 64;
		b[9] = IPPROTO_TCP_;
		inet_pton(AF_INET, "10.0.1.5", b + 12);
		inet_pton(AF_INET, "10.0.2.7", b + 16);
		pkt_ip4_set_csum((struct ip4_hdr *)b);
	}
	tcp[1] = 22;
	tcp[3] = 80;
	tcp[12] = (uint8_t)((20 + opt_len) / 4 << 4);
	tcp[13] = flags;
	memcpy(tcp + 20, opt, opt_len);
	memcpy(tcp + 20 + opt_len, "hello", 5);
	c = v6 ? pkt_l4_csum6((const struct ip6_hdr *)b, tcp, (uint32_t)tcp_len,
	    IPPROTO_TCP_) : pkt_l4_csum4((const struct ip4_hdr *)b, tcp,
	    (uint16_t)tcp_len, IPPROTO_TCP_);
	memcpy(tcp + 16, &c, 2);
	return l3 + tcp_len;
}

/* The stored checksum equals one computed over the segment as it is. */
static void
assert_csum_ok(uint8_t *b, size_t len, bool v6)
{
	size_t l3 = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint8_t *tcp = b + l3;
	uint16_t stored, c;

	memcpy(&stored, tcp + 16, 2);
	memset(tcp + 16, 0, 2);
	c = v6 ? pkt_l4_csum6((const struct ip6_hdr *)b, tcp,
	    (uint32_t)(len - l3), IPPROTO_TCP_) :
	    pkt_l4_csum4((const struct ip4_hdr *)b, tcp, (uint16_t)(len - l3),
	    IPPROTO_TCP_);
	memcpy(tcp + 16, &stored, 2);
	assert_int_equal(stored, c);
}

static uint16_t
mss_at(const uint8_t *b, bool v6, size_t off)
{
	const uint8_t *o = b + (v6 ? IP6_HDR_LEN : IP4_HDR_LEN) + 20 + off;

	return (uint16_t)(o[2] << 8 | o[3]);
}

static void
test_clamped(void **state)
{
	/* MSS first (even offset); after one NOP (odd offset); after a
	 * window scale and SACK-permitted, as Linux sends it. */
	static const struct {
		uint8_t opt[12];
		size_t len, at;
	} cases[] = {
		{ { 2, 4, 0x05, 0xb4 }, 4, 0 },
		{ { 1, 2, 4, 0x05, 0xb4, 1, 1, 1 }, 8, 1 },
		{ { 3, 3, 7, 4, 2, 2, 4, 0x05, 0xb4, 0, 0, 0 }, 12, 5 },
	};
	uint8_t b[128];

	(void)state;
	for (int v6 = 0; v6 < 2; v6++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t n = seg(b, v6, 0x02, cases[i].opt, cases[i].len);

			assert_true(pkt_tcp_clamp_mss(b, n, 1360));
			assert_int_equal(mss_at(b, v6, cases[i].at), 1360);
			assert_csum_ok(b, n, v6);
			/* Again: already low enough, nothing changes. */
			assert_false(pkt_tcp_clamp_mss(b, n, 1360));
		}
	/* SYN-ACK too. */
	seg(b, false, 0x12, cases[0].opt, 4);
	assert_true(pkt_tcp_clamp_mss(b, IP4_HDR_LEN + 29, 1000));
	assert_int_equal(mss_at(b, false, 0), 1000);
}

static void
test_left_alone(void **state)
{
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	static const uint8_t bad_len[4] = { 2, 9, 0x05, 0xb4 };
	static const uint8_t zero_len[4] = { 1, 0x1e, 0, 0 };
	uint8_t b[128], keep[128];
	size_t n;

	(void)state;
	/* Not a SYN. */
	n = seg(b, false, 0x10, mss, 4);
	memcpy(keep, b, n);
	assert_false(pkt_tcp_clamp_mss(b, n, 1000));
	assert_memory_equal(b, keep, n);
	/* MSS below the limit. */
	n = seg(b, false, 0x02, mss, 4);
	assert_false(pkt_tcp_clamp_mss(b, n, 1460));
	/* A fragment (MF set). */
	n = seg(b, false, 0x02, mss, 4);
	b[6] = 0x20;
	assert_false(pkt_tcp_clamp_mss(b, n, 1000));
	/* An option running past the header, and one of length 0. */
	n = seg(b, false, 0x02, bad_len, 4);
	assert_false(pkt_tcp_clamp_mss(b, n, 1000));
	n = seg(b, false, 0x02, zero_len, 4);
	assert_false(pkt_tcp_clamp_mss(b, n, 1000));
	/* Cut short: the header says more than is there. */
	n = seg(b, false, 0x02, mss, 4);
	assert_false(pkt_tcp_clamp_mss(b, IP4_HDR_LEN + 22, 1000));
	/* UDP. */
	n = seg(b, false, 0x02, mss, 4);
	b[9] = IPPROTO_UDP_;
	assert_false(pkt_tcp_clamp_mss(b, n, 1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamped),
		cmocka_unit_test(test_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
