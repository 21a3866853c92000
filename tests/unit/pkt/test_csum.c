/*
 * tests/unit/pkt/test_csum.c: proves src/pkt/csum.c.  Known answers from
 * RFC 1071 and from packets whose checksums scapy computed; the fast sum
 * against a byte-at-a-time reference; RFC 1624 incremental updates against
 * recomputing from scratch.
 */
#include <arpa/inet.h>

#include "lib/bytes.h"
#include "pkt/pkt.h"
#include "pkt_test.h"

/* The checksum as the two bytes that go on the wire. */
static uint16_t
wire16(uint16_t csum)
{
	return hg_rd16be(&csum);
}

/* RFC 1071 as written: big-endian 16-bit words, end-around carry. */
static uint16_t
ref_csum(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2) {
		sum += (uint32_t)b[i] << 8;
		if (i + 1 < len)
			sum += b[i + 1];
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static void
test_rfc1071_example(void **state)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5,
	    0xf6, 0xf7 };
	uint16_t c = pkt_csum(b, sizeof(b));

	assert_int_equal(wire16(c), 0x220d);	/* ~0xddf2 */
	/* odd length: the last byte is the high half of a word */
	assert_int_equal(wire16(pkt_csum(b, 3)), (uint16_t)~(0x0001 + 0xf200));
	assert_int_equal(wire16(pkt_csum(b, 0)), 0xffff);
}

static void
test_csum_matches_reference(void **state)
{
	uint64_t seed = 0x1071;
	uint8_t buf[1600];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)test_rand(&seed);
	for (int iter = 0; iter < 5000; iter++) {
		size_t off = test_rand(&seed) % 16;
		size_t len = test_rand(&seed) % (sizeof(buf) - off);

		if (iter % 7 == 0)	/* long runs of 0xff stress carries */
			memset(buf + off, 0xff, len);
		if (wire16(pkt_csum(buf + off, len)) !=
		    ref_csum(buf + off, len))
			fail_msg("off %zu len %zu iter %d", off, len, iter);
	}
}

static void
test_csum_chained(void **state)
{
	uint8_t buf[301];
	uint64_t seed = 42;
	uint32_t sum;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)test_rand(&seed);
	/* even chunks, odd last chunk */
	sum = pkt_csum_add(0, buf, 6);
	sum = pkt_csum_add(sum, buf + 6, 100);
	sum = pkt_csum_add(sum, buf + 106, sizeof(buf) - 106);
	assert_int_equal(pkt_csum_fold(sum), pkt_csum(buf, sizeof(buf)));
	/* a running sum near 2^32 must not lose its carries */
	assert_int_equal(wire16(pkt_csum_fold(pkt_csum_add(0xffffffffu, buf,
	    sizeof(buf)))), wire16(pkt_csum_fold(pkt_csum_add(0xffff + 0xffff,
	    buf, sizeof(buf)))));
}

/*
 * Reference packets: built once with /usr/bin/python3 and scapy 2.5, e.g.
 *   IP(src="192.0.2.1", dst="198.51.100.2", id=7)/TCP(sport=40000,
 *     dport=80, flags="PA", seq=123456, ack=654321,
 *     options=[("MSS",1460)])/b"hello"
 * and the checksum read back from scapy's dissection of the bytes.
 */
static const struct l4_case {
	const char *what;
	const char *hex;	/* IPv4 or IPv6 packet, checksums set */
	uint16_t l4_off;
	uint8_t  proto;
	uint16_t csum_off;	/* offset of the checksum in the l4 header */
	uint16_t want;		/* as scapy computed it, wire order */
} l4_cases[] = {
	{ "ip4 tcp, MSS option, odd payload",
	  "450000310007000040068e89c0000201c63364029c4000500001e2400009fbf1"
	  "60182000cd340000020405b468656c6c6f",
	  20, IPPROTO_TCP_, 16, 0xcd34 },
	{ "ip4 udp",
	  "450000220008000040115fb60a0102030a04050614e90035000e7f9d71756572"
	  "7921",
	  20, IPPROTO_UDP_, 6, 0x7f9d },
	{ "ip4 icmp echo, odd payload, no pseudo-header",
	  "4500001f000900004001f6d1c0000201c00002020800216412340005616263",
	  20, IPPROTO_ICMP_, 2, 0x2164 },
	{ "ip6 udp, odd payload",
	  "60000000000b114020010db800000000000000000000000120010db8ffff0000"
	  "000000000000000203e81194000b9c6d78797a",
	  40, IPPROTO_UDP_, 6, 0x9c6d },
	{ "ip6 tcp syn",
	  "6000000000140640fe800000000000000000000000000001fe80000000000000"
	  "00000000ffff000200b3c350fffffff00000000050022000cee90000",
	  40, IPPROTO_TCP_, 16, 0xcee9 },
	{ "ip6 icmpv6 echo request",
	  "60000000000c3a4020010db8000000000000000000000001ff02000000000000"
	  "0000000000000001800074270001000270696e67",
	  40, IPPROTO_ICMPV6_, 2, 0x7427 },
};

static void
test_l4_csum_known(void **state)
{
	for (size_t i = 0; i < HG_ARRAY_SIZE(l4_cases); i++) {
		const struct l4_case *c = &l4_cases[i];
		uint8_t b[128];
		uint16_t len = test_hex(c->hex, b, sizeof(b));
		uint16_t l4_len = len - c->l4_off, got, verify;
		uint8_t *l4 = b + c->l4_off;
		uint8_t *ck = l4 + c->csum_off;

		memset(ck, 0, 2);
		if (c->l4_off == 20) {
			const struct ip4_hdr *ip = (const void *)b;

			got = pkt_l4_csum4(ip, l4, l4_len, c->proto);
			memcpy(ck, &got, 2);
			verify = pkt_l4_csum4(ip, l4, l4_len, c->proto);
		} else {
			const struct ip6_hdr *ip = (const void *)b;

			got = pkt_l4_csum6(ip, l4, l4_len, c->proto);
			memcpy(ck, &got, 2);
			verify = pkt_l4_csum6(ip, l4, l4_len, c->proto);
		}
		if (wire16(got) != c->want)
			fail_msg("%s: got 0x%04x want 0x%04x", c->what,
			    wire16(got), c->want);
		/* a correct packet sums to zero with the checksum in place */
		if (verify != 0)
			fail_msg("%s: in-place verify gave 0x%04x", c->what,
			    verify);
	}
}

static void
test_ip4_set_csum(void **state)
{
	uint8_t b[64];
	struct ip4_hdr *ip = (void *)b;

	(void)test_hex(l4_cases[0].hex, b, sizeof(b));
	assert_int_equal(wire16(ip->csum_be), 0x8e89);	/* scapy's */
	ip->csum_be = htons(0x1234);
	pkt_ip4_set_csum(ip);
	assert_int_equal(wire16(ip->csum_be), 0x8e89);
	assert_int_equal(pkt_csum(ip, IP4_HDR_LEN), 0);
}

static uint16_t
edge16(uint64_t *seed)
{
	switch (test_rand(seed) % 4) {
	case 0:
		return 0x0000;
	case 1:
		return 0xffff;
	default:
		return (uint16_t)test_rand(seed);
	}
}

/*
 * Random IPv4 headers; change one 16-bit field (or a 32-bit address) and
 * compare the incremental checksum with a full recompute.  A quarter of
 * the 16-bit changes make the correct new checksum 0x0000, the case RFC
 * 1141's eqn. 2 gets wrong.  The version byte keeps the header from being
 * all zeros, the one input where +0 and -0 would legitimately differ.
 */
static void
test_incremental_matches_full(void **state)
{
	uint64_t seed = 1624;
	int n_zero = 0;

	for (int iter = 0; iter < 20000; iter++) {
		uint8_t h[IP4_HDR_LEN];
		struct ip4_hdr *ip = (void *)h;
		uint16_t old_csum, inc, full;

		for (size_t i = 0; i < sizeof(h); i++)
			h[i] = (uint8_t)test_rand(&seed);
		ip->ver_ihl = 0x45;
		if (test_rand(&seed) % 2) {
			/* a 16-bit word other than version/IHL/TOS (word
			 * 0, which sizes the header) and the checksum (5) */
			size_t w = 1 + test_rand(&seed) % 8;
			uint16_t old_be, new_be;

			w += w >= 5;
			old_be = edge16(&seed);
			new_be = edge16(&seed);
			if (test_rand(&seed) % 4 == 0) {
				/* make the new sum 0xffff, so the right
				 * answer is 0x0000: where eqn. 2 fails */
				memset(h + 2 * w, 0, 2);
				memset(h + 10, 0, 2);
				new_be = pkt_csum(h, sizeof(h));
			}
			memcpy(h + 2 * w, &old_be, 2);
			pkt_ip4_set_csum(ip);
			old_csum = ip->csum_be;
			memcpy(h + 2 * w, &new_be, 2);
			inc = pkt_csum_update16(old_csum, old_be, new_be);
		} else {
			uint32_t *addr = test_rand(&seed) % 2 ?
			    &ip->src_be : &ip->dst_be;
			uint32_t old_be, new_be;

			old_be = (uint32_t)edge16(&seed) << 16 | edge16(&seed);
			new_be = (uint32_t)edge16(&seed) << 16 | edge16(&seed);
			memcpy(addr, &old_be, 4);
			pkt_ip4_set_csum(ip);
			old_csum = ip->csum_be;
			memcpy(addr, &new_be, 4);
			inc = pkt_csum_update32(old_csum, old_be, new_be);
		}
		pkt_ip4_set_csum(ip);
		full = ip->csum_be;
		if (inc != full)
			fail_msg("iter %d: incremental 0x%04x full 0x%04x", iter,
			    wire16(inc), wire16(full));
		n_zero += full == 0;
	}
	assert_true(n_zero > 1000);	/* the edge case was exercised */
}

/* RFC 1624 §3's own example: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives
 * 0x0000 by eqn. 3, where eqn. 2 would give 0xffff. */
static void
test_rfc1624_example(void **state)
{
	uint16_t c = pkt_csum_update16(htons(0xdd2f), htons(0x5555),
	    htons(0x3285));

	assert_int_equal(wire16(c), 0x0000);
}

static void
test_pseudo_headers(void **state)
{
	/* Independent sums of the same pseudo-headers, word by word. */
	uint8_t ph4[12] = { 192, 0, 2, 1, 198, 51, 100, 2, 0, 6, 0x05, 0xdc };
	uint8_t ph6[40] = { 0 };
	uint32_t src_be, dst_be;

	memcpy(&src_be, ph4, 4);
	memcpy(&dst_be, ph4 + 4, 4);
	assert_int_equal(pkt_csum_fold(pkt_pseudo4(src_be, dst_be, 6, 1500)),
	    pkt_csum(ph4, sizeof(ph4)));

	for (int i = 0; i < 32; i++)
		ph6[i] = (uint8_t)(0xf0 + i);
	ph6[33] = 0x01;		/* length 0x10203 needs the upper word */
	ph6[34] = 0x02;
	ph6[35] = 0x03;
	ph6[39] = IPPROTO_UDP_;
	assert_int_equal(pkt_csum_fold(pkt_pseudo6(ph6, ph6 + 16,
	    IPPROTO_UDP_, 0x10203)), pkt_csum(ph6, sizeof(ph6)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_csum_matches_reference),
		cmocka_unit_test(test_csum_chained),
		cmocka_unit_test(test_l4_csum_known),
		cmocka_unit_test(test_ip4_set_csum),
		cmocka_unit_test(test_incremental_matches_full),
		cmocka_unit_test(test_rfc1624_example),
		cmocka_unit_test(test_pseudo_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
