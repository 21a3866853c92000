/*
 * tests/fuzz/fuzz_pkt.c: libFuzzer target for pkt_parse() (src/pkt/parse.c).
 * The input is one Ethernet frame.  It is copied into a pool packet whose
 * headroom and tailroom are then poisoned, so ASan reports any read outside
 * the frame even though the buffer itself is larger.  After a successful
 * parse every byte the metadata claims is read (checksummed), and the
 * invariants callers rely on are checked; a violation aborts.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt/pkt.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_ASAN 1
#endif
#endif
#ifndef FUZZ_ASAN
#define ASAN_POISON_MEMORY_REGION(a, n)		((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)	((void)(a), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pkt_pool *pool;
static volatile uint32_t sink;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

static void
check_l4(const struct pkt *p)
{
	uint16_t l4_len = p->l3_off + p->l3_len - p->l4_off;
	const uint8_t *l4 = pkt_l4(p);

	CHECK(p->l4_off > p->l3_off);
	CHECK(p->l4_off <= p->l3_off + p->l3_len);
	if (p->l3 == PKT_L3_IP4)
		sink += pkt_l4_csum4(pkt_l3(p), l4, l4_len, p->l4_proto);
	else
		sink += pkt_l4_csum6(pkt_l3(p), l4, l4_len, p->l4_proto);

	switch (p->l4_proto) {
	case IPPROTO_TCP_:
		CHECK(l4_len >= sizeof(struct tcp_hdr));
		/* the whole header, options included, must be inside */
		CHECK((l4[12] >> 4) * 4u >= sizeof(struct tcp_hdr));
		sink += pkt_csum(l4, (l4[12] >> 4) * 4u);
		break;
	case IPPROTO_UDP_:
		CHECK(l4_len >= sizeof(struct udp_hdr));
		break;
	case IPPROTO_ICMP_:
		CHECK(p->l3 != PKT_L3_IP4 || l4_len >= sizeof(struct icmp_hdr));
		break;
	case IPPROTO_ICMPV6_:
		CHECK(p->l3 != PKT_L3_IP6 ||
		    l4_len >= sizeof(struct icmp6_hdr));
		break;
	}
}

static void
check_parsed(const struct pkt *p)
{
	CHECK(p->l3 != PKT_L3_NONE);
	CHECK(p->l3_off >= ETH_HDR_LEN);
	CHECK((uint32_t)p->l3_off + p->l3_len <= p->len);
	CHECK(!(p->flags & PKT_F_FRAG_FIRST) || (p->flags & PKT_F_FRAG));
	CHECK((p->flags & PKT_F_VLAN) || p->vlan_tci == 0);
	sink += pkt_csum(pkt_l3(p), p->l3_len);

	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		/* parse verified it, so it must sum to zero */
		CHECK(pkt_csum(ip, (ip->ver_ihl & 0x0f) * 4u) == 0);
	}
	if ((p->flags & PKT_F_FRAG) && !(p->flags & PKT_F_FRAG_FIRST))
		CHECK(p->l4_off == 0);
	if (p->l4_off != 0)
		check_l4(p);
}

/* The MAC text parser sees the input as a string too: round trip. */
static void
fuzz_mac(const uint8_t *data, size_t size)
{
	char s[24], out[18];
	uint8_t mac[ETH_ALEN];

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pkt_mac_parse(s, mac) != 0)
		return;
	pkt_mac_fmt(mac, out);
	CHECK(strlen(s) == 17);
	for (int i = 0; i < 17; i++)
		CHECK(tolower((unsigned char)s[i]) == out[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt *p;
	uint16_t err_off;
	enum pkt_drop r;

	fuzz_mac(data, size);
	if (size > PKT_DATA_ROOM)
		return 0;
	if (pool == NULL && pkt_pool_create(&pool, 1) != 0)
		abort();
	p = pkt_alloc(pool);
	CHECK(p != NULL);
	CHECK(pkt_set_frame(p, data, (uint16_t)size) == 0);

	ASAN_POISON_MEMORY_REGION(p->head, pkt_headroom(p));
	ASAN_POISON_MEMORY_REGION(p->data + p->len, pkt_tailroom(p));
	r = pkt_parse(p, &err_off);
	if (r == PKT_DROP_NONE) {
		check_parsed(p);
	} else {
		CHECK(r < PKT_DROP_L2_OTHER_HOST);	/* a parse reason */
		CHECK(err_off <= p->len);
	}
	ASAN_UNPOISON_MEMORY_REGION(p->head, PKT_BUF_SIZE);
	pkt_free(pool, p);
	return 0;
}
