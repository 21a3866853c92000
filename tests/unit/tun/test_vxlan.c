/*
 * tests/unit/tun/test_vxlan.c: VXLAN encapsulation (src/tun/vxlan.c).
 *
 * tun_vxlan_build() on hand-made frames: every outer field (Ethernet
 * type, IPv4/IPv6 header and checksum, UDP ports, length and checksum,
 * VXLAN flags and VNI), the inner bytes equal to the original frame, the
 * original untouched, a frame cut to the egress MTU or to --snaplen; and
 * tun_vxlan_sport() following the inner flow.  Routing and counting the
 * copies is src/dp's, tested in tests/unit/dp/test_mirror.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../pkt/pkt_test.h"
#include "lib/bytes.h"
#include "tun/tun.h"

static const uint8_t mac_h1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa0 };

static void
make_tcp4(struct pkt *p, uint16_t payload_len)
{
	test_frame_tcp4(p, mac_r0, mac_h1, payload_len);
}

struct build_case {
	const char *what;
	uint8_t family;
	uint16_t payload_len;	/* of the inner TCP segment */
	uint16_t mtu_bytes;
	int want_cut;		/* bytes the MTU cut from the inner frame */
	uint16_t snap_bytes;	/* --snaplen; 0: none */
	uint16_t want_inner;	/* bytes of the frame in the copy */
};

static const struct build_case build_cases[] = {
	{ "IPv4 collector, small frame", 4, 10, 1500, 0, 0, 64 },
	{ "IPv4 collector, full-size frame, jumbo MTU", 4, 1460, 9000,
	    0, 0, 1514 },
	{ "IPv4 collector, 1514-byte frame, MTU 1500: cut by 50", 4,
	    1460, 1500, 50, 0, 1464 },
	{ "IPv6 collector, small frame", 6, 10, 1500, 0, 0, 64 },
	{ "IPv6 collector, 1514-byte frame, MTU 1500: cut by 70", 6,
	    1460, 1500, 70, 0, 1444 },
	{ "--snaplen 64: exactly 64 bytes of a 1514-byte frame, no MTU cut",
	    4, 1460, 1500, 0, 64, 64 },
	{ "--snaplen 14: the Ethernet header only", 6, 1460, 1500, 0,
	    14, 14 },
	{ "--snaplen 54: up to the TCP header", 4, 100, 1500, 0, 54,
	    54 },
	{ "--snaplen above the frame: the whole frame", 4, 10, 1500, 0,
	    2000, 64 },
	{ "--snaplen 1514, MTU 1500: the MTU cuts 50 more", 4, 1460,
	    1500, 50, 1514, 1464 },
	{ "--snaplen 1480 under MTU 1500 + 50: nothing cut by the MTU",
	    4, 1460, 1530, 0, 1480, 1480 },
};

static void
check_outer(const struct build_case *bc, const struct pkt *c,
    const struct pkt *p, const struct tun_vxlan *v)
{
	bool v6 = bc->family == 6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t over = (uint16_t)(ETH_HDR_LEN + ip_len + 8 + 8);
	uint16_t inner = bc->want_inner;
	const uint8_t *d = c->data;
	const uint8_t *udp = d + ETH_HDR_LEN + ip_len;
	const uint8_t *vx = udp + 8;

	print_message("case: %s\n", bc->what);
	assert_int_equal(c->len, over + inner);
	assert_int_equal(hg_rd16be(d + 12), v6 ? ETH_P_IPV6 : ETH_P_IP);
	assert_int_equal(c->l3, v6 ? PKT_L3_IP6 : PKT_L3_IP4);
	assert_int_equal(c->l3_off, ETH_HDR_LEN);
	assert_int_equal(c->l3_len, c->len - ETH_HDR_LEN);
	assert_int_equal(c->l4_off, ETH_HDR_LEN + ip_len);
	assert_int_equal(c->l4_proto, IPPROTO_UDP_);
	if (v6) {
		const struct ip6_hdr *ip = (const void *)(d + ETH_HDR_LEN);

		assert_int_equal(ntohl(ip->vtc_flow_be) >> 28, 6);
		assert_int_equal(ntohs(ip->plen_be), c->len - ETH_HDR_LEN -
		    IP6_HDR_LEN);
		assert_int_equal(ip->nxt, IPPROTO_UDP_);
		assert_int_equal(ip->hlim, 64);
		assert_memory_equal(ip->src, v->src, 16);
		assert_memory_equal(ip->dst, v->dst, 16);
		/* A correct UDP checksum sums, with the pseudo-header, to
		 * all ones. */
		assert_int_not_equal(hg_rd16be(udp + 6), 0);
		assert_int_equal(pkt_l4_csum6(ip, udp, hg_rd16be(udp + 4),
		    IPPROTO_UDP_), 0);
	} else {
		const struct ip4_hdr *ip = (const void *)(d + ETH_HDR_LEN);

		assert_int_equal(ip->ver_ihl, 0x45);
		assert_int_equal(ntohs(ip->tot_len_be), c->len - ETH_HDR_LEN);
		assert_int_equal(ntohs(ip->frag_be), IP4_DF);
		assert_int_equal(ip->ttl, 64);
		assert_int_equal(ip->proto, IPPROTO_UDP_);
		assert_memory_equal(&ip->src_be, v->src, 4);
		assert_memory_equal(&ip->dst_be, v->dst, 4);
		assert_int_equal(pkt_csum(ip, IP4_HDR_LEN), 0);
		assert_int_equal(hg_rd16be(udp + 6), 0);	/* RFC 7348 §5 */
	}
	assert_int_equal(hg_rd16be(udp), v->sport);
	assert_true(v->sport >= 49152);
	assert_int_equal(hg_rd16be(udp + 2), TUN_VXLAN_PORT);
	assert_int_equal(hg_rd16be(udp + 4), 8 + 8 + inner);
	assert_int_equal(vx[0], 0x08);		/* I flag */
	assert_int_equal(vx[1] | vx[2] | vx[3] | vx[7], 0);
	assert_int_equal(vx[4] << 16 | vx[5] << 8 | vx[6], v->vni);
	assert_memory_equal(vx + 8, p->data, inner);
}

static void
test_build(void **state)
{
	struct pkt_pool *pool;

	(void)state;
	assert_int_equal(pkt_pool_create(&pool, 8), 0);
	for (size_t i = 0; i < HG_ARRAY_SIZE(build_cases); i++) {
		const struct build_case *bc = &build_cases[i];
		struct pkt *p = pkt_alloc(pool), *c = pkt_alloc(pool);
		struct pkt before;
		uint8_t bytes[PKT_DATA_ROOM];
		struct tun_vxlan v = {
			.family = bc->family,
			.vni = 0x0a0b0c,
			.mtu_bytes = bc->mtu_bytes,
			.snap_bytes = bc->snap_bytes,
			.ttl = 64,
		};

		assert_non_null(p);
		assert_non_null(c);
		make_tcp4(p, bc->payload_len);
		v.sport = tun_vxlan_sport(p, true);
		if (bc->family == 6) {
			v.src[0] = 0x20, v.src[1] = 0x01, v.src[15] = 1;
			v.dst[0] = 0x20, v.dst[1] = 0x01, v.dst[15] = 2;
		} else {
			v.src[0] = 10, v.src[1] = 9, v.src[3] = 1;
			v.dst[0] = 10, v.dst[1] = 9, v.dst[3] = 2;
		}
		before = *p;
		memcpy(bytes, p->data, p->len);
		print_message("case: %s\n", bc->what);
		assert_int_equal(tun_vxlan_build(c, p, &v), bc->want_cut);
		check_outer(bc, c, p, &v);
		/* The original, metadata and bytes, is as it was. */
		assert_memory_equal(&before, p, sizeof(before));
		assert_memory_equal(bytes, p->data, p->len);
		pkt_free(pool, p);
		pkt_free(pool, c);
	}
	pkt_pool_destroy(pool);
}

static void
test_build_refuses(void **state)
{
	struct pkt_pool *pool;
	struct pkt *p, *c;
	struct tun_vxlan v = { .family = 4, .mtu_bytes = 49 };

	(void)state;
	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	p = pkt_alloc(pool);
	c = pkt_alloc(pool);
	make_tcp4(p, 0);
	print_message("case: MTU below the encapsulation itself\n");
	assert_int_equal(tun_vxlan_build(c, p, &v), -EMSGSIZE);
	v.mtu_bytes = 36 + 13;
	print_message("case: room for less than an Ethernet header\n");
	assert_int_equal(tun_vxlan_build(c, p, &v), -EMSGSIZE);
	pkt_pool_destroy(pool);
}

static void
test_sport(void **state)
{
	struct pkt_pool *pool;
	struct pkt *a, *b;

	(void)state;
	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	a = pkt_alloc(pool);
	b = pkt_alloc(pool);
	make_tcp4(a, 10);
	make_tcp4(b, 900);
	print_message("case: one flow, one source port\n");
	assert_int_equal(tun_vxlan_sport(a, true), tun_vxlan_sport(b, true));
	((struct tcp_hdr *)pkt_l4(b))->sport_be = htons(40001);
	print_message("case: another port, (almost surely) another hash\n");
	assert_int_not_equal(tun_vxlan_sport(a, true), tun_vxlan_sport(b, true));
	pkt_pool_destroy(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_sport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
