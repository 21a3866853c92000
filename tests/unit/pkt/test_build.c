/*
 * tests/unit/pkt/test_build.c: proves src/pkt/build.c and drop.c: the ARP
 * builder against scapy's bytes, MAC text both ways, drop reason names.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "pkt/pkt.h"
#include "pkt_test.h"

static const uint8_t mac1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero[ETH_ALEN];

static void
test_build_arp(void **state)
{
	/* Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/ARP(op=1,
	 *   hwsrc="02:00:00:00:00:01", psrc="192.0.2.1", pdst="192.0.2.2"),
	 * from scapy 2.5 */
	static const char want_hex[] =
	    "ffffffffffff02000000000108060001080006040001020000000001c0000201"
	    "000000000000c0000202";
	uint8_t want[64];
	uint16_t want_len = test_hex(want_hex, want, sizeof(want));
	struct pkt_pool *pool;
	struct pkt *p;

	assert_int_equal(pkt_pool_create(&pool, 1), 0);
	p = pkt_alloc(pool);
	assert_non_null(p);
	assert_int_equal(pkt_build_arp(p, ARP_OP_REQUEST, bcast, mac1,
	    htonl(0xc0000201), zero, htonl(0xc0000202)), 0);
	assert_int_equal(p->len, want_len);
	assert_memory_equal(p->data, want, want_len);
	/* left parsed */
	assert_int_equal(p->l3, PKT_L3_ARP);
	assert_int_equal(p->l3_off, ETH_HDR_LEN);
	assert_int_equal(p->flags, PKT_F_L2_BCAST);

	/* no room: the whole buffer already prepended away */
	p->len = 0;
	p->data = p->head + PKT_BUF_SIZE - 10;
	assert_int_equal(pkt_build_arp(p, ARP_OP_REPLY, mac1, mac1, 0, mac1,
	    0), -EMSGSIZE);
	pkt_free(pool, p);
	pkt_pool_destroy(pool);
}

static const struct mac_case {
	const char *what;
	const char *text;
	int want;
	uint8_t mac[ETH_ALEN];
} mac_cases[] = {
	{ "lower case", "02:00:00:00:00:01", 0, { 2, 0, 0, 0, 0, 1 } },
	{ "upper case", "AA:BB:CC:DD:EE:FF", 0,
	  { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } },
	{ "empty", "", -EINVAL, { 0 } },
	{ "too short", "02:00:00:00:00", -EINVAL, { 0 } },
	{ "trailing colon", "02:00:00:00:00:01:", -EINVAL, { 0 } },
	{ "trailing text", "02:00:00:00:00:01x", -EINVAL, { 0 } },
	{ "single digit", "2:00:00:00:00:01", -EINVAL, { 0 } },
	{ "dashes", "02-00-00-00-00-01", -EINVAL, { 0 } },
	{ "not hex", "02:00:00:00:00:0g", -EINVAL, { 0 } },
	{ "leading space", " 02:00:00:00:00:01", -EINVAL, { 0 } },
};

static void
test_mac_text(void **state)
{
	char buf[18];

	for (size_t i = 0; i < HG_ARRAY_SIZE(mac_cases); i++) {
		const struct mac_case *c = &mac_cases[i];
		uint8_t mac[ETH_ALEN] = { 9, 9, 9, 9, 9, 9 };
		int r = pkt_mac_parse(c->text, mac);

		if (r != c->want)
			fail_msg("%s: got %d want %d", c->what, r, c->want);
		if (r == 0 && memcmp(mac, c->mac, ETH_ALEN) != 0)
			fail_msg("%s: wrong address", c->what);
		if (r != 0 && mac[0] != 9)
			fail_msg("%s: output written on failure", c->what);
	}
	assert_string_equal(pkt_mac_fmt(mac_cases[1].mac, buf),
	    "aa:bb:cc:dd:ee:ff");
	assert_string_equal(pkt_mac_fmt(mac1, buf), "02:00:00:00:00:01");
}

static void
test_drop_names(void **state)
{
	assert_string_equal(pkt_drop_name(PKT_DROP_NONE), "none");
	assert_string_equal(pkt_drop_name(PKT_DROP_IP4_CSUM), "ip4_csum");
	assert_string_equal(pkt_drop_name(PKT_DROP_IP6_EXTHDR_LIMIT),
	    "ip6_exthdr_limit");
	assert_string_equal(pkt_drop_text(PKT_DROP_IP4_CSUM),
	    "IPv4 header checksum mismatch");
	assert_string_equal(pkt_drop_name(PKT_DROP_COUNT), "unknown");
	/* every reason has a distinct, non-empty lower-case name */
	for (int i = 0; i < PKT_DROP_COUNT; i++) {
		const char *n = pkt_drop_name(i);

		assert_true(n[0] != '\0');
		assert_true(pkt_drop_text(i)[0] != '\0');
		for (const char *c = n; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') ||
			    (*c >= '0' && *c <= '9') || *c == '_');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, pkt_drop_name(j));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_arp),
		cmocka_unit_test(test_mac_text),
		cmocka_unit_test(test_drop_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
