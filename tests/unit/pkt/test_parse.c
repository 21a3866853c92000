/*
 * tests/unit/pkt/test_parse.c: proves src/pkt/parse.c.  The frames were
 * built with scapy (the expression is above each) and are edited per case;
 * every case names itself and checks the verdict, the error offset and, on
 * success, every metadata field.  Each frame is parsed from a heap buffer
 * of exactly its length, so the ASan build catches any read past the end.
 */
#include <stdlib.h>

#include "pkt/pkt.h"
#include "pkt_test.h"

/* Ether(dst="ff:ff:ff:ff:ff:ff", src=M1)/ARP(op=1, hwsrc=M1,
 *   psrc="192.0.2.1", pdst="192.0.2.2"); M1 = 02:00:00:00:00:01,
 * M2 = 02:00:00:00:00:02 below */
#define F_ARP \
	"ffffffffffff02000000000108060001080006040001020000000001c0000201" \
	"000000000000c0000202"
/* Ether(dst=M2, src=M1)/IP(src="192.0.2.1", dst="198.51.100.2", id=1)/
 *   TCP(sport=12345, dport=80, flags="S", seq=1000) */
#define F_IP4_TCP \
	"0200000000020200000000010800450000280001000040068e98c0000201c633" \
	"640230390050000003e800000000500220006f3a0000"
/* ... IP(id=2, options=[IPOption_NOP(), IPOption_RR(routers=
 *   ["192.0.2.9"])])/UDP(sport=1000, dport=53)/b"abcd" */
#define F_IP4_OPTS_UDP \
	"020000000002020000000001080047000028000200004011c277c0000201c633" \
	"640201070704c000020903e80035000c4abb61626364"
/* ... IP(id=3, flags="MF", frag=0, proto=17)/UDP(len=40)/(b"x"*16) */
#define F_IP4_FRAG_FIRST \
	"02000000000202000000000108004500002c0003200040116e87c0000201c633" \
	"640203e8003500284b9678787878787878787878787878787878"
/* ... IP(id=3, flags="MF", frag=3, proto=17)/(b"y"*16) */
#define F_IP4_FRAG_MIDDLE \
	"0200000000020200000000010800450000240003200340116e8cc0000201c633" \
	"640279797979797979797979797979797979"
/* Ether()/Dot1Q(vlan=100, prio=3)/IP(id=4)/UDP(sport=1000, dport=53) */
#define F_VLAN_UDP \
	"0200000000020200000000018100606408004500001c0004000040118e96c000" \
	"0201c633640203e8003500080f8a"
/* Ether(type=0x88a8)/Dot1AD(vlan=200)/Dot1Q(vlan=100)/IP(id=5)/
 *   ICMP(id=7, seq=1) */
#define F_QINQ_ICMP \
	"02000000000202000000000188a800c88100006408004500001c000500004001" \
	"8ea5c0000201c63364020800f7f700070001"
/* Ether(type=0x88a8)/Dot1AD(vlan=200)/Dot1Q(vlan=100)/Dot1Q(vlan=50)/
 *   IP()/UDP() */
#define F_3TAGS \
	"02000000000202000000000188a800c8810000648100003208004500001c0001" \
	"000040118e99c0000201c6336402003500350008133d"
/* Ether()/IPv6(src="2001:db8::1", dst="2001:db8::2")/
 *   IPv6ExtHdrHopByHop()/IPv6ExtHdrFragment(offset=0, m=1, id=9)/
 *   TCP(sport=12345, dport=443, flags="S") */
#define F_IP6_HBH_FRAG_TCP \
	"02000000000202000000000186dd600000000024004020010db8000000000000" \
	"00000000000120010db80000000000000000000000022c000104000000000600" \
	"000100000009303901bb000000000000000050022000027a0000"
/* ... IPv6ExtHdrFragment(offset=4, m=0, id=9, nh=6)/(b"z"*8) */
#define F_IP6_FRAG_LATER \
	"02000000000202000000000186dd6000000000102c4020010db8000000000000" \
	"00000000000120010db800000000000000000000000206000020000000097a7a" \
	"7a7a7a7a7a7a"
/* ... IPv6()/UDP(sport=1000, dport=53)/b"hi" */
#define F_IP6_UDP \
	"02000000000202000000000186dd60000000000a114020010db8000000000000" \
	"00000000000120010db800000000000000000000000203e80035000a37df6869"
/* Ether(dst="33:33:00:00:00:01")/IPv6(src="fe80::1", dst="ff02::1")/
 *   ICMPv6EchoRequest(id=1, seq=2) */
#define F_IP6_MCAST_ICMP6 \
	"33330000000102000000000186dd6000000000083a40fe800000000000000000" \
	"000000000001ff0200000000000000000000000000018000823400010002"
/* ... IPv6()/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt() * 8/UDP() */
#define F_IP6_9EXT \
	"02000000000202000000000186dd600000000050004020010db8000000000000" \
	"00000000000120010db80000000000000000000000023c000104000000003c00" \
	"0104000000003c000104000000003c000104000000003c000104000000003c00" \
	"0104000000003c000104000000003c0001040000000011000104000000000035" \
	"00350008a3ff"
/* ... IPv6()/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt() * 7/UDP() */
#define F_IP6_8EXT \
	"02000000000202000000000186dd600000000048004020010db8000000000000" \
	"00000000000120010db80000000000000000000000023c000104000000003c00" \
	"0104000000003c000104000000003c000104000000003c000104000000003c00" \
	"0104000000003c000104000000001100010400000000003500350008a3ff"
/* ... IPv6()/IPv6ExtHdrRouting(addresses=["2001:db8::3"])/
 *   IPv6ExtHdrDestOpt()/AH(spi=0x100, seq=1, icv=b"\0"*12, nh=50,
 *   payloadlen=4)/Raw(b"\0\0\x02\0\0\0\0\x01" + b"e"*8) */
#define F_IP6_RT_DST_AH_ESP \
	"02000000000202000000000186dd6000000000482b4020010db8000000000000" \
	"00000000000120010db80000000000000000000000023c0200010000000020010" \
	"db8000000000000000000000003330001040000000032040000000001000000" \
	"000100000000000000000000000000000200000000016565656565656565"
/* ... IP(id=6)/UDP(sport=1000, dport=53)/b"ab"/Padding(load=b"\0"*16) */
#define F_IP4_UDP_PADDED \
	"02000000000202000000000108004500001e0006000040118e92c0000201c633" \
	"640203e80035000aae23616200000000000000000000000000000000"

struct edit {
	uint16_t off;
	uint8_t  val;
};

#define EDITS(...) \
	.edits = { __VA_ARGS__ }, \
	.n_edits = sizeof((struct edit[]){ __VA_ARGS__ }) / sizeof(struct edit)

struct parse_case {
	const char *what;
	const char *hex;
	struct edit edits[8];	/* byte overwrites, applied in order */
	int n_edits;
	bool fix_csum;		/* recompute the IPv4 header checksum */
	uint16_t ip_off;	/* where that header is; 14 if 0 */
	enum pkt_drop want;
	uint16_t err_off;	/* checked when want != NONE */
	/* checked when want == NONE */
	uint8_t  l3;
	uint16_t l3_off, l3_len, l4_off;
	uint8_t  l4_proto, flags;
	uint16_t vlan_tci;
};

static const struct parse_case cases[] = {
	/* good frames */
	{ .what = "arp request, broadcast", .hex = F_ARP,
	  .l3 = PKT_L3_ARP, .l3_off = 14, .l3_len = 28,
	  .flags = PKT_F_L2_BCAST },
	{ .what = "ip4 tcp", .hex = F_IP4_TCP,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 40, .l4_off = 34,
	  .l4_proto = IPPROTO_TCP_ },
	{ .what = "ip4 with NOP + record route options", .hex = F_IP4_OPTS_UDP,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 40, .l4_off = 42,
	  .l4_proto = IPPROTO_UDP_, .flags = PKT_F_IP4_OPTS },
	{ .what = "ip4 options: EOL ends the list, rest ignored",
	  .hex = F_IP4_OPTS_UDP, EDITS({ 35, 0 }, { 36, 0 }, { 37, 0xff }),
	  .fix_csum = true,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 40, .l4_off = 42,
	  .l4_proto = IPPROTO_UDP_, .flags = PKT_F_IP4_OPTS },
	{ .what = "ip4 first fragment", .hex = F_IP4_FRAG_FIRST,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 44, .l4_off = 34,
	  .l4_proto = IPPROTO_UDP_,
	  .flags = PKT_F_FRAG | PKT_F_FRAG_FIRST },
	{ .what = "ip4 middle fragment has no l4", .hex = F_IP4_FRAG_MIDDLE,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 36, .l4_off = 0,
	  .l4_proto = IPPROTO_UDP_, .flags = PKT_F_FRAG },
	{ .what = "ip4 last fragment (MF clear, offset set)",
	  .hex = F_IP4_FRAG_MIDDLE, EDITS({ 20, 0x00 }), .fix_csum = true,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 36, .l4_off = 0,
	  .l4_proto = IPPROTO_UDP_, .flags = PKT_F_FRAG },
	{ .what = "ip4 DF alone is not a fragment", .hex = F_IP4_TCP,
	  EDITS({ 20, 0x40 }), .fix_csum = true,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 40, .l4_off = 34,
	  .l4_proto = IPPROTO_TCP_ },
	{ .what = "ip4 unknown protocol, empty payload", .hex = F_IP4_TCP,
	  EDITS({ 17, 20 }, { 23, 47 }), .fix_csum = true,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 20, .l4_off = 34,
	  .l4_proto = 47 },
	{ .what = "802.1Q tag", .hex = F_VLAN_UDP,
	  .l3 = PKT_L3_IP4, .l3_off = 18, .l3_len = 28, .l4_off = 38,
	  .l4_proto = IPPROTO_UDP_, .flags = PKT_F_VLAN, .vlan_tci = 0x6064 },
	{ .what = "QinQ: outer 802.1ad tag reported", .hex = F_QINQ_ICMP,
	  .l3 = PKT_L3_IP4, .l3_off = 22, .l3_len = 28, .l4_off = 42,
	  .l4_proto = IPPROTO_ICMP_, .flags = PKT_F_VLAN, .vlan_tci = 200 },
	{ .what = "ip6 hop-by-hop + first fragment + tcp",
	  .hex = F_IP6_HBH_FRAG_TCP,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 76, .l4_off = 70,
	  .l4_proto = IPPROTO_TCP_,
	  .flags = PKT_F_FRAG | PKT_F_FRAG_FIRST },
	{ .what = "ip6 atomic fragment (offset 0, M clear) is whole",
	  .hex = F_IP6_HBH_FRAG_TCP, EDITS({ 65, 0x00 }),
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 76, .l4_off = 70,
	  .l4_proto = IPPROTO_TCP_ },
	{ .what = "ip6 later fragment stops the walk", .hex = F_IP6_FRAG_LATER,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 56, .l4_off = 0,
	  .l4_proto = IPPROTO_TCP_, .flags = PKT_F_FRAG },
	{ .what = "ip6 udp", .hex = F_IP6_UDP,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 50, .l4_off = 54,
	  .l4_proto = IPPROTO_UDP_ },
	{ .what = "ip6 no next header", .hex = F_IP6_UDP,
	  EDITS({ 20, IPPROTO_NONE_ }),
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 50, .l4_off = 0,
	  .l4_proto = IPPROTO_NONE_ },
	{ .what = "ip6 multicast icmpv6", .hex = F_IP6_MCAST_ICMP6,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 48, .l4_off = 54,
	  .l4_proto = IPPROTO_ICMPV6_, .flags = PKT_F_L2_MCAST },
	{ .what = "ip6 eight extension headers is the limit",
	  .hex = F_IP6_8EXT,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 112, .l4_off = 118,
	  .l4_proto = IPPROTO_UDP_ },
	{ .what = "ip6 routing, dstopts, AH, then ESP",
	  .hex = F_IP6_RT_DST_AH_ESP,
	  .l3 = PKT_L3_IP6, .l3_off = 14, .l3_len = 112, .l4_off = 110,
	  .l4_proto = IPPROTO_ESP_ },
	{ .what = "ethernet padding excluded from l3_len",
	  .hex = F_IP4_UDP_PADDED,
	  .l3 = PKT_L3_IP4, .l3_off = 14, .l3_len = 30, .l4_off = 34,
	  .l4_proto = IPPROTO_UDP_ },

	/* layer 2 */
	{ .what = "three VLAN tags", .hex = F_3TAGS,
	  .want = PKT_DROP_VLAN_TOO_MANY, .err_off = 20 },
	{ .what = "unknown ethertype (LLDP)", .hex = F_IP4_TCP,
	  EDITS({ 12, 0x88 }, { 13, 0xcc }),
	  .want = PKT_DROP_ETHERTYPE, .err_off = 12 },
	{ .what = "802.3 length field is not an ethertype", .hex = F_IP4_TCP,
	  EDITS({ 12, 0x00 }, { 13, 0x28 }),
	  .want = PKT_DROP_ETHERTYPE, .err_off = 12 },
	{ .what = "unknown ethertype inside a tag", .hex = F_VLAN_UDP,
	  EDITS({ 16, 0x88 }, { 17, 0xcc }),
	  .want = PKT_DROP_ETHERTYPE, .err_off = 16 },

	/* ARP */
	{ .what = "arp hardware type not ethernet", .hex = F_ARP,
	  EDITS({ 15, 6 }), .want = PKT_DROP_ARP_BAD, .err_off = 14 },
	{ .what = "arp protocol type not ipv4", .hex = F_ARP,
	  EDITS({ 16, 0x86 }, { 17, 0xdd }),
	  .want = PKT_DROP_ARP_BAD, .err_off = 16 },
	{ .what = "arp hardware length not 6", .hex = F_ARP,
	  EDITS({ 18, 8 }), .want = PKT_DROP_ARP_BAD, .err_off = 18 },
	{ .what = "arp protocol length not 4", .hex = F_ARP,
	  EDITS({ 19, 16 }), .want = PKT_DROP_ARP_BAD, .err_off = 19 },

	/* IPv4 */
	{ .what = "ip4 bad header checksum", .hex = F_IP4_TCP,
	  EDITS({ 25, 0x99 }), .want = PKT_DROP_IP4_CSUM, .err_off = 24 },
	{ .what = "ip4 bad checksum with options", .hex = F_IP4_OPTS_UDP,
	  EDITS({ 40, 0x0a }), .want = PKT_DROP_IP4_CSUM, .err_off = 24 },
	{ .what = "ip4 version 6 in an ipv4 ethertype", .hex = F_IP4_TCP,
	  EDITS({ 14, 0x65 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_VERSION, .err_off = 14 },
	{ .what = "ip4 IHL 4", .hex = F_IP4_TCP, EDITS({ 14, 0x44 }),
	  .want = PKT_DROP_IP4_IHL, .err_off = 14 },
	{ .what = "ip4 total length beyond the frame", .hex = F_IP4_TCP,
	  EDITS({ 17, 41 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_TOTLEN, .err_off = 16 },
	{ .what = "ip4 total length below IHL", .hex = F_IP4_OPTS_UDP,
	  EDITS({ 17, 27 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_TOTLEN, .err_off = 16 },
	/* no fix_csum: the header would run past the frame */
	{ .what = "ip4 IHL beyond total length", .hex = F_IP4_TCP,
	  EDITS({ 14, 0x4f }),
	  .want = PKT_DROP_IP4_TOTLEN, .err_off = 16 },
	{ .what = "ip4 option length overruns the header",
	  .hex = F_IP4_OPTS_UDP, EDITS({ 36, 8 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_OPTIONS, .err_off = 36 },
	{ .what = "ip4 option length 1", .hex = F_IP4_OPTS_UDP,
	  EDITS({ 36, 1 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_OPTIONS, .err_off = 36 },
	{ .what = "ip4 option with no room for its length",
	  .hex = F_IP4_OPTS_UDP,
	  EDITS({ 35, 1 }, { 36, 1 }, { 37, 1 }, { 38, 1 }, { 39, 1 },
	      { 40, 1 }, { 41, 7 }), .fix_csum = true,
	  .want = PKT_DROP_IP4_OPTIONS, .err_off = 41 },
	{ .what = "tcp data offset below 5", .hex = F_IP4_TCP,
	  EDITS({ 46, 0x40 }), .want = PKT_DROP_L4_TRUNC, .err_off = 46 },
	{ .what = "tcp data offset beyond the packet", .hex = F_IP4_TCP,
	  EDITS({ 46, 0x60 }), .want = PKT_DROP_L4_TRUNC, .err_off = 46 },

	/* IPv6 */
	{ .what = "ip6 version 4 in an ipv6 ethertype", .hex = F_IP6_UDP,
	  EDITS({ 14, 0x40 }), .want = PKT_DROP_IP6_VERSION, .err_off = 14 },
	{ .what = "ip6 payload length beyond the frame", .hex = F_IP6_UDP,
	  EDITS({ 19, 11 }), .want = PKT_DROP_IP6_PLEN, .err_off = 18 },
	{ .what = "ip6 nine extension headers", .hex = F_IP6_9EXT,
	  .want = PKT_DROP_IP6_EXTHDR_LIMIT, .err_off = 118 },
	{ .what = "ip6 hop-by-hop not first", .hex = F_IP6_8EXT,
	  EDITS({ 54, IPPROTO_HOPOPTS_ }),
	  .want = PKT_DROP_IP6_EXTHDR, .err_off = 54 },
	{ .what = "ip6 hop-by-hop length overruns the packet",
	  .hex = F_IP6_HBH_FRAG_TCP, EDITS({ 55, 5 }),
	  .want = PKT_DROP_IP6_EXTHDR, .err_off = 55 },
	{ .what = "ip6 AH length overruns the packet",
	  .hex = F_IP6_RT_DST_AH_ESP, EDITS({ 87, 9 }),
	  .want = PKT_DROP_IP6_EXTHDR, .err_off = 87 },
	{ .what = "ip6 second fragment header", .hex = F_IP6_HBH_FRAG_TCP,
	  EDITS({ 62, IPPROTO_FRAGMENT_ }),
	  .want = PKT_DROP_IP6_EXTHDR, .err_off = 70 },
	{ .what = "ip6 first fragment without a whole tcp header",
	  .hex = F_IP6_HBH_FRAG_TCP, EDITS({ 82, 0x90 }),
	  .want = PKT_DROP_L4_TRUNC, .err_off = 82 },
};

/* Decodes hex into a heap buffer of exactly its size. */
static uint8_t *
test_frame(const char *hex, uint16_t *len)
{
	uint8_t tmp[512], *b;

	*len = test_hex(hex, tmp, sizeof(tmp));
	b = malloc(*len ? *len : 1);
	assert_non_null(b);
	memcpy(b, tmp, *len);
	return b;
}

static enum pkt_drop
parse_exact(uint8_t *frame, uint16_t len, struct pkt *p, uint16_t *err_off)
{
	memset(p, 0, sizeof(*p));
	p->data = frame;
	p->len = len;
	p->vlan_tci = 0xdead;	/* stale values must be reset */
	p->flags = 0xff;
	p->l4_off = 0xbeef;
	*err_off = 0xffff;
	return pkt_parse(p, err_off);
}

static void
check_case(const struct parse_case *c)
{
	uint16_t len, err_off, ip_off = c->ip_off ? c->ip_off : 14;
	uint8_t *b = test_frame(c->hex, &len);
	struct pkt p;
	enum pkt_drop r;

	for (int i = 0; i < c->n_edits; i++) {
		assert_true(c->edits[i].off < len);
		b[c->edits[i].off] = c->edits[i].val;
	}
	if (c->fix_csum)
		pkt_ip4_set_csum((struct ip4_hdr *)(void *)(b + ip_off));

	r = parse_exact(b, len, &p, &err_off);
	if (r != c->want)
		fail_msg("%s: got %s (err_off %u), want %s", c->what,
		    pkt_drop_name(r), err_off, pkt_drop_name(c->want));
	if (r != PKT_DROP_NONE) {
		if (err_off != c->err_off)
			fail_msg("%s: err_off %u, want %u", c->what, err_off,
			    c->err_off);
		free(b);
		return;
	}
#define CHECK(field, want) do {						\
	if ((p.field) != (want))					\
		fail_msg("%s: " #field " = %u, want %u", c->what,	\
		    (unsigned)(p.field), (unsigned)(want));		\
} while (0)
	CHECK(l3, c->l3);
	CHECK(l3_off, c->l3_off);
	CHECK(l3_len, c->l3_len);
	CHECK(l4_off, c->l4_off);
	CHECK(l4_proto, c->l4_proto);
	CHECK(flags, c->flags);
	CHECK(vlan_tci, c->vlan_tci);
#undef CHECK
	free(b);
}

static void
test_parse_cases(void **state)
{
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++)
		check_case(&cases[i]);
}

/*
 * Cutting a good frame short at every length.  With relen the IP length
 * field is made to agree with the cut (and the IPv4 checksum fixed), so
 * the cut lands in an extension or transport header instead of tripping
 * the length check.
 */
struct trunc_case {
	const char *what;
	const char *hex;
	uint16_t ip_off;	/* where the IP header starts (for relen) */
	bool relen;
	uint16_t from, to;	/* cut lengths [from, to) */
	enum pkt_drop want;
	uint16_t err_off;
};

static const struct trunc_case truncs[] = {
	{ "arp: in ethernet", F_ARP, 14, false, 0, 14,
	  PKT_DROP_ETH_TRUNC, 0 },
	{ "arp: in arp", F_ARP, 14, false, 14, 42, PKT_DROP_ARP_TRUNC, 14 },
	{ "ip4: in ip header", F_IP4_TCP, 14, false, 14, 34,
	  PKT_DROP_IP4_TRUNC, 14 },
	{ "ip4: frame shorter than total length", F_IP4_TCP, 14, false,
	  34, 54, PKT_DROP_IP4_TOTLEN, 16 },
	{ "ip4: in tcp", F_IP4_TCP, 14, true, 34, 54, PKT_DROP_L4_TRUNC, 34 },
	{ "ip4: in options", F_IP4_OPTS_UDP, 14, true, 34, 42,
	  PKT_DROP_IP4_TOTLEN, 16 },
	{ "ip4 options: in udp", F_IP4_OPTS_UDP, 14, true, 42, 50,
	  PKT_DROP_L4_TRUNC, 42 },
	{ "ip4 first fragment: in udp", F_IP4_FRAG_FIRST, 14, true, 34, 42,
	  PKT_DROP_L4_TRUNC, 34 },
	{ "ip4 middle fragment: any payload will do", F_IP4_FRAG_MIDDLE, 14,
	  true, 34, 50, PKT_DROP_NONE, 0 },
	{ "vlan: in tag", F_VLAN_UDP, 18, false, 14, 18,
	  PKT_DROP_VLAN_TRUNC, 14 },
	{ "vlan: in ip header", F_VLAN_UDP, 18, false, 18, 38,
	  PKT_DROP_IP4_TRUNC, 18 },
	{ "vlan: in udp", F_VLAN_UDP, 18, true, 38, 46,
	  PKT_DROP_L4_TRUNC, 38 },
	{ "qinq: in outer tag", F_QINQ_ICMP, 22, false, 14, 18,
	  PKT_DROP_VLAN_TRUNC, 14 },
	{ "qinq: in inner tag", F_QINQ_ICMP, 22, false, 18, 22,
	  PKT_DROP_VLAN_TRUNC, 18 },
	{ "qinq: in ip header", F_QINQ_ICMP, 22, false, 22, 42,
	  PKT_DROP_IP4_TRUNC, 22 },
	{ "qinq: in icmp", F_QINQ_ICMP, 22, true, 42, 50,
	  PKT_DROP_L4_TRUNC, 42 },
	{ "ip6: in ip header", F_IP6_HBH_FRAG_TCP, 14, false, 14, 54,
	  PKT_DROP_IP6_TRUNC, 14 },
	{ "ip6: frame shorter than payload length", F_IP6_HBH_FRAG_TCP, 14,
	  false, 54, 90, PKT_DROP_IP6_PLEN, 18 },
	{ "ip6: in hop-by-hop", F_IP6_HBH_FRAG_TCP, 14, true, 54, 62,
	  PKT_DROP_IP6_EXTHDR, 54 },
	{ "ip6: in fragment header", F_IP6_HBH_FRAG_TCP, 14, true, 62, 70,
	  PKT_DROP_IP6_EXTHDR, 62 },
	{ "ip6: in tcp after fragment header", F_IP6_HBH_FRAG_TCP, 14, true,
	  70, 90, PKT_DROP_L4_TRUNC, 70 },
	{ "ip6: in routing header, fixed part", F_IP6_RT_DST_AH_ESP, 14, true,
	  54, 62, PKT_DROP_IP6_EXTHDR, 54 },
	{ "ip6: in routing header, addresses", F_IP6_RT_DST_AH_ESP, 14, true,
	  62, 78, PKT_DROP_IP6_EXTHDR, 55 },
	{ "ip6: in destination options", F_IP6_RT_DST_AH_ESP, 14, true,
	  78, 86, PKT_DROP_IP6_EXTHDR, 78 },
	{ "ip6: in AH, fixed part", F_IP6_RT_DST_AH_ESP, 14, true, 86, 94,
	  PKT_DROP_IP6_EXTHDR, 86 },
	{ "ip6: in AH, ICV", F_IP6_RT_DST_AH_ESP, 14, true, 94, 110,
	  PKT_DROP_IP6_EXTHDR, 87 },
	{ "ip6: ESP is opaque", F_IP6_RT_DST_AH_ESP, 14, true, 110, 126,
	  PKT_DROP_NONE, 0 },
	{ "ip6: in udp", F_IP6_UDP, 14, true, 54, 62, PKT_DROP_L4_TRUNC, 54 },
	{ "ip6: in icmpv6", F_IP6_MCAST_ICMP6, 14, true, 54, 62,
	  PKT_DROP_L4_TRUNC, 54 },
};

static void
cut_frame(const struct trunc_case *c, uint8_t *b, uint16_t cut)
{
	uint8_t *ip = b + c->ip_off;
	uint16_t l3_len = cut - c->ip_off;

	if (!c->relen)
		return;
	if ((ip[0] >> 4) == 4) {
		ip[2] = (uint8_t)(l3_len >> 8);
		ip[3] = (uint8_t)l3_len;
		pkt_ip4_set_csum((struct ip4_hdr *)(void *)ip);
	} else {
		ip[4] = (uint8_t)((l3_len - IP6_HDR_LEN) >> 8);
		ip[5] = (uint8_t)(l3_len - IP6_HDR_LEN);
	}
}

static void
test_truncation(void **state)
{
	for (size_t i = 0; i < HG_ARRAY_SIZE(truncs); i++) {
		const struct trunc_case *c = &truncs[i];

		for (uint16_t cut = c->from; cut < c->to; cut++) {
			uint16_t len, err_off;
			uint8_t *full = test_frame(c->hex, &len), *b;
			struct pkt p;
			enum pkt_drop r;

			assert_true(cut < len);
			cut_frame(c, full, cut);
			/* exactly cut bytes on the heap: ASan sees overreads */
			b = malloc(cut ? cut : 1);
			assert_non_null(b);
			memcpy(b, full, cut);
			free(full);
			r = parse_exact(b, cut, &p, &err_off);
			if (r != c->want)
				fail_msg("%s: cut at %u: got %s, want %s",
				    c->what, cut, pkt_drop_name(r),
				    pkt_drop_name(c->want));
			if (r != PKT_DROP_NONE && err_off != c->err_off)
				fail_msg("%s: cut at %u: err_off %u, want %u",
				    c->what, cut, err_off, c->err_off);
			free(b);
		}
	}
}

/* A NULL err_off is allowed, and success reports offset 0. */
static void
test_err_off_optional(void **state)
{
	uint16_t len, err_off = 7;
	uint8_t *b = test_frame(F_3TAGS, &len);
	struct pkt p = { .data = b, .len = len };

	assert_int_equal(pkt_parse(&p, NULL), PKT_DROP_VLAN_TOO_MANY);
	free(b);
	b = test_frame(F_IP4_TCP, &len);
	p.data = b;
	p.len = len;
	assert_int_equal(pkt_parse(&p, &err_off), PKT_DROP_NONE);
	assert_int_equal(err_off, 0);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_err_off_optional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
