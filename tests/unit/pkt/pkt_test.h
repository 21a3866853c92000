/*
 * tests/unit/pkt/pkt_test.h: helpers shared by the src/pkt unit tests
 * and the tests of modules above it: hex frames, a seeded generator (so a
 * failure can be replayed) and a ready-made TCP/IPv4 frame.
 */
#ifndef PKT_TEST_H
#define PKT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "pkt/pkt.h"

/* Decodes a hex string into buf; fails the test on bad input. */
static inline uint16_t
test_hex(const char *hex, uint8_t *buf, size_t buf_len)
{
	size_t n = strlen(hex) / 2;

	assert_int_equal(strlen(hex) % 2, 0);
	assert_true(n <= buf_len);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	return (uint16_t)n;
}

/* xorshift64*: small, deterministic, good enough for test inputs. */
static inline uint64_t
test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Ethernet / IPv4 / TCP 10.1.0.2:40000 -> 10.2.0.2:80 from src_mac to
 * dst_mac, payload_len bytes of a pattern, checksums right; p is left
 * parsed.
 */
static inline void
test_frame_tcp4(struct pkt *p, const uint8_t dst_mac[ETH_ALEN],
    const uint8_t src_mac[ETH_ALEN], uint16_t payload_len)
{
	uint8_t f[PKT_DATA_ROOM];
	struct eth_hdr *eth = (struct eth_hdr *)(void *)f;
	struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(eth + 1);
	struct tcp_hdr *th = (struct tcp_hdr *)(void *)(ip + 1);
	uint16_t l3 = (uint16_t)(IP4_HDR_LEN + sizeof(*th) + payload_len);

	memset(f, 0, sizeof(f));
	memcpy(eth->dst, dst_mac, ETH_ALEN);
	memcpy(eth->src, src_mac, ETH_ALEN);
	eth->type_be = htons(ETH_P_IP);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(l3);
	ip->ttl = 64;
	ip->proto = IPPROTO_TCP_;
	ip->src_be = htonl(0x0a010002);
	ip->dst_be = htonl(0x0a020002);
	pkt_ip4_set_csum(ip);
	th->sport_be = htons(40000);
	th->dport_be = htons(80);
	th->doff_res = 5 << 4;
	th->flags = 0x10;
	for (uint16_t i = 0; i < payload_len; i++)
		((uint8_t *)(th + 1))[i] = (uint8_t)(i * 7 + 3);
	th->csum_be = pkt_l4_csum4(ip, th, (uint16_t)(l3 - IP4_HDR_LEN),
	    IPPROTO_TCP_);
	assert_int_equal(pkt_set_frame(p, f, (uint16_t)(ETH_HDR_LEN + l3)), 0);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
}

#endif /* PKT_TEST_H */
