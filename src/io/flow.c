/*
 * src/io/flow.c: which queue, and so which worker, a frame belongs to.
 *
 * The afpacket port steers frames to its queues with a classic BPF program
 * in a PACKET_FANOUT_CBPF group (afpacket.c).  That program is built here,
 * beside io_flow_queue(), the same function in C, so that conntrack and NAT
 * can tell where a reply will land before it exists.  The two must agree
 * bit for bit; tests/unit/io/test_flow.c runs the program in a small cBPF
 * interpreter against io_frame_flow_queue() and test_netns.c checks the
 * kernel against it.
 *
 * The queue depends on the L4 ports only, not on the addresses, so that
 * DNAT without a port change and NETMAP (which rewrite addresses and keep
 * ports) leave a flow on its worker, and SNAT can pick a port whose reply
 * comes back to the worker that owns the flow:
 *
 *   ESP (proto 50) with SPI != 0    h = fold(xor of both addresses ^ SPI)
 *   UDP to 4500, UDP length >= 12,  h = the same, the SPI being the first
 *   first payload word != 0         four payload bytes (RFC 3948 ESP)
 *   TCP, UDP, SCTP, UDP-Lite        h = sport ^ dport
 *   ICMP(v6) echo-like (ct's set)   h = identifier
 *   ICMP(v6) error                  h of the quoted packet (one level)
 *   IPv4 fragment (MF or offset),   h = fold(xor of both addresses)
 *   IPv6 with any extension header,
 *   other ICMP, other protocols
 *   ARP                             h = fold(sender IP ^ target IP)
 *   anything else                   h = 0
 *
 *   queue = ((h * 0x9E3779B1) mod 2^32 >> 16) mod n
 *
 * Every rule but the SPI's is symmetric, so both directions of a flow meet
 * on one queue.  The SPI's rule is for inbound SAs: each has one owner,
 * whose anti-replay window no other worker touches (docs/ipsec.md).  It
 * applies to the outer packet only (not the one an ICMP error quotes),
 * and the UDP length, not the frame's, says whether a SPI is there: a
 * keepalive is one byte however much Ethernet padding follows it.
 * All fragments of a datagram land on one queue (the addresses), but not
 * necessarily on the queue of the same flow's unfragmented packets.  Flows
 * between the same two ports share a queue whatever their addresses (many
 * IKE or WireGuard peers on 500/4500/51820 <-> the same port), and
 * sport == dport gives h = 0: the price of keeping addresses out.
 *
 * The program reads the packet from the network header: for frames the
 * kernel receives, the fanout hook runs with skb->data there (the MAC
 * header is already pulled; test_netns.c shows it on veth), and one VLAN
 * tag is already in skb metadata, so a frame with one tag steers by what
 * it carries; with two, by nothing (queue 0).  Plain offsets rather than
 * SKF_NET_OFF, because the kernel reads those from paged data too (older
 * kernels' SKF_NET_OFF loads reach only the linear part).  A load past the end of the packet makes a cBPF program
 * return 0, so a truncated header means queue 0 here too: the C code
 * checks every read the program makes, in the same order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <string.h>

#include "../lib/bytes.h"
#include "io_priv.h"

#define FLOW_PROTO_SCTP		132
#define FLOW_PROTO_UDPLITE	136
#define FLOW_MUL		0x9E3779B1u
#define FLOW_IP4_FRAG_MASK	0x3fff	/* MF and offset, not DF */
#define FLOW_ESP_UDP_PORT	4500	/* RFC 3948 */
#define FLOW_ESP_UDP_MIN	12	/* UDP header and a SPI */

static bool
flow_l4_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ ||
	    proto == FLOW_PROTO_SCTP || proto == FLOW_PROTO_UDPLITE;
}

/* The messages conntrack keys by identifier (src/ct: icmp_reply_of). */
static bool
flow_icmp_echo_like(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type == 128 || type == 129;
	return type == 0 || type == 8 || (type >= 13 && type <= 18);
}

static bool
flow_icmp_error(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 ||
	    type == 12;
}

/*
 * Both addresses xor-ed, and the SPI (0 when none), folded to 16 bits.
 * The SPI is mixed first: SPIs set by hand are often consecutive, and
 * consecutive values xor-ed in unmixed step the queue by a constant
 * (40503 for each, 3 mod 9: a third of 9 queues).
 */
static uint32_t
flow_addr_h(const struct io_flow_key *k)
{
	unsigned words = k->l3 == PKT_L3_IP6 ? 4 : 1;
	uint32_t a = ntohl(k->spi_be) * FLOW_MUL;

	for (unsigned i = 0; i < words; i++)
		a ^= hg_rd32be(k->src + 4 * i) ^ hg_rd32be(k->dst + 4 * i);
	return (a ^ a >> 16) & 0xffff;
}

static uint32_t
flow_h(const struct io_flow_key *k)
{
	uint8_t icmp = k->l3 == PKT_L3_IP6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_;

	switch (k->l3) {
	case PKT_L3_IP4:
	case PKT_L3_IP6:
		if (k->is_fragment || k->spi_be != 0)
			return flow_addr_h(k);
		if (flow_l4_has_ports(k->proto))
			return ntohs(k->sport_be) ^ ntohs(k->dport_be);
		if (k->proto == icmp && ntohs(k->dport_be) <= 0xff &&
		    flow_icmp_echo_like(k->l3, (uint8_t)ntohs(k->dport_be)))
			return ntohs(k->sport_be);
		return flow_addr_h(k);
	case PKT_L3_ARP:
		return flow_addr_h(k);
	default:
		return 0;
	}
}

uint16_t
io_flow_queue(const struct io_flow_key *k, uint16_t n_queues)
{
	uint32_t mixed = (flow_h(k) * FLOW_MUL) >> 16;

	if (n_queues <= 1)
		return 0;
	return (uint16_t)(mixed % n_queues);
}

/*
 * The frame is read from the network header on through a struct hg_rd,
 * as the cBPF program reads it: a read past len marks the whole frame
 * bad (the program would have returned 0).
 */

/* Copies both addresses (n bytes each, from src_off and src_off + n). */
static void
flow_rd_addrs(struct hg_rd *r, size_t src_off, size_t n,
    struct io_flow_key *k, bool checked)
{
	if (checked ? !hg_rd_has(r, src_off, 2 * n) :
	    !hg_span_ok(r->len, src_off, 2 * n))
		return;
	memcpy(k->src, r->p + src_off, n);
	memcpy(k->dst, r->p + src_off + n, n);
}

static void flow_key_ip4(struct hg_rd *r, size_t off, struct io_flow_key *k,
    bool outer);
static void flow_key_ip6(struct hg_rd *r, size_t off, struct io_flow_key *k,
    bool outer);

/*
 * What follows an IP header whose transport part may decide the queue:
 * true when it did (ports, identifier, quoted packet), false when the
 * addresses decide.
 */
static bool
flow_key_l4(struct hg_rd *r, size_t l4, struct io_flow_key *k, bool outer)
{
	uint8_t l3 = k->l3, type;

	if (outer && k->proto == IPPROTO_ESP_) {
		k->spi_be = htonl(hg_rd_be32(r, l4));
		return false;		/* the addresses too */
	}
	if (flow_l4_has_ports(k->proto)) {
		k->sport_be = htons(hg_rd_be16(r, l4));
		k->dport_be = htons(hg_rd_be16(r, l4 + 2));
		if (!outer || k->proto != IPPROTO_UDP_ ||
		    ntohs(k->dport_be) != FLOW_ESP_UDP_PORT ||
		    hg_rd_be16(r, l4 + 4) < FLOW_ESP_UDP_MIN)
			return true;
		k->spi_be = htonl(hg_rd_be32(r, l4 + 8));
		return k->spi_be == 0;	/* IKE's marker: by ports */
	}
	if (k->proto != (l3 == PKT_L3_IP6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_))
		return false;
	type = hg_rd_u8(r, l4);
	k->dport_be = htons(type);
	if (flow_icmp_echo_like(l3, type)) {
		k->sport_be = htons(hg_rd_be16(r, l4 + 4));
		return true;
	}
	if (!outer || !flow_icmp_error(l3, type))
		return false;
	/* an error goes where the flow it quotes goes, and its key is that
	 * flow's, as conntrack relates it */
	if (l3 == PKT_L3_IP6)
		flow_key_ip6(r, l4 + 8, k, false);
	else
		flow_key_ip4(r, l4 + 8, k, false);
	return true;
}

/* The program's V4 block, with the same reads in the same order. */
static void
flow_key_ip4(struct hg_rd *r, size_t off, struct io_flow_key *k,
    bool outer)
{
	size_t l4;

	memset(k, 0, sizeof(*k));
	k->l3 = PKT_L3_IP4;
	if (hg_rd_be16(r, off + 6) & FLOW_IP4_FRAG_MASK) {
		k->is_fragment = true;
		flow_rd_addrs(r, off + 12, 4, k, true);
		if (!r->bad)
			k->proto = r->p[off + 9];	/* inside the above */
		return;
	}
	l4 = off + (size_t)(hg_rd_u8(r, off) & 0xf) * 4;
	k->proto = hg_rd_u8(r, off + 9);
	flow_rd_addrs(r, off + 12, 4, k, false);
	if (!flow_key_l4(r, l4, k, outer))
		flow_rd_addrs(r, off + 12, 4, k, true);
}

/*
 * The V6 block.  Only the fixed header's next header is looked at: an
 * extension header (hop-by-hop, routing, fragment...) means addresses.
 */
static void
flow_key_ip6(struct hg_rd *r, size_t off, struct io_flow_key *k,
    bool outer)
{
	memset(k, 0, sizeof(*k));
	k->l3 = PKT_L3_IP6;
	k->proto = hg_rd_u8(r, off + 6);
	k->is_fragment = k->proto == IPPROTO_FRAGMENT_;
	flow_rd_addrs(r, off + 8, 16, k, false);
	if (!flow_key_l4(r, off + 40, k, outer))
		flow_rd_addrs(r, off + 8, 16, k, true);
}

void
io_frame_flow_key(const uint8_t *frame, size_t len, struct io_flow_key *k)
{
	struct hg_rd r;
	uint16_t type;
	size_t net = ETH_HDR_LEN;

	memset(k, 0, sizeof(*k));
	if (len < ETH_HDR_LEN)
		return;
	/* One tag, 802.1Q or 802.1ad: the kernel strips it into skb
	 * metadata before fanout; the port put it back into the frame. */
	type = hg_rd16be(frame + 12);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		net += VLAN_HDR_LEN;
		if (len < net)
			return;
		type = hg_rd16be(frame + 16);
	}
	r.p = frame + net;
	r.len = len - net;
	r.bad = false;
	switch (type) {
	case ETH_P_IP:
		flow_key_ip4(&r, 0, k, true);
		break;
	case ETH_P_IPV6:
		flow_key_ip6(&r, 0, k, true);
		break;
	case ETH_P_ARP:
		/* sender and target protocol address (RFC 826, IPv4) */
		k->l3 = PKT_L3_ARP;
		if (hg_rd_has(&r, 14, 4) && hg_rd_has(&r, 24, 4)) {
			memcpy(k->src, r.p + 14, 4);
			memcpy(k->dst, r.p + 24, 4);
		}
		break;
	default:
		break;
	}
	if (r.bad)
		memset(k, 0, sizeof(*k));	/* the program returns 0 */
}

uint16_t
io_frame_flow_queue(const uint8_t *frame, size_t len, uint16_t n_queues)
{
	struct io_flow_key k;

	io_frame_flow_key(frame, len, &k);
	return io_flow_queue(&k, n_queues);
}

bool
io_port_flow_queue_exact(const struct io_port *port)
{
	return port->n_rx_queues <= 1 || port->flow_exact;
}

/*
 * A small assembler for the program: jumps name labels, resolved at the
 * end into cBPF's forward-only offsets (8 bits for conditional jumps).
 */
enum flow_label {
	FL_NEXT,		/* fall through */
	FL_ARP,
	FL_V4,
	FL_V4_IN,		/* the IPv4 packet an ICMP error quotes */
	FL_V4_ERR,
	FL_V4_ADDR,
	FL_V4_SPI,		/* the addresses xor-ed onto A (the SPI) */
	FL_V4_ESP,
	FL_V4_UDP,
	FL_V6,
	FL_V6_IN,
	FL_V6_ADDR,
	FL_V6_SPI,
	FL_V6_ESP,
	FL_V6_UDP,
	FL_PORTS,
	FL_ID,
	FL_FOLD,
	FL_MIX,
	FL_COUNT
};

struct flow_asm {
	struct sock_filter *prog;
	size_t n, max;
	bool overflow;
	uint8_t jt[IO_FLOW_CBPF_MAX];
	uint8_t jf[IO_FLOW_CBPF_MAX];
	size_t at[FL_COUNT];
};

#define FLOW_M_L3	0	/* scratch memory: IP header offset */
#define FLOW_M_L4	1	/* transport header offset */
#define FLOW_M_TMP	2

static void
fa_jmp(struct flow_asm *a, uint16_t code, uint32_t k, enum flow_label jt,
    enum flow_label jf)
{
	if (a->n >= a->max || a->n >= IO_FLOW_CBPF_MAX) {
		a->overflow = true;
		return;
	}
	a->prog[a->n] = (struct sock_filter)BPF_JUMP(code, k, 0, 0);
	a->jt[a->n] = (uint8_t)jt;
	a->jf[a->n] = (uint8_t)jf;
	a->n++;
}

static void
fa_op(struct flow_asm *a, uint16_t code, uint32_t k)
{
	fa_jmp(a, code, k, FL_NEXT, FL_NEXT);
}

static void
fa_ja(struct flow_asm *a, enum flow_label to)
{
	fa_jmp(a, BPF_JMP | BPF_JA, 0, to, FL_NEXT);
}

static void
fa_jeq(struct flow_asm *a, uint32_t k, enum flow_label jt, enum flow_label jf)
{
	fa_jmp(a, BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf);
}

static void
fa_label(struct flow_asm *a, enum flow_label l)
{
	a->at[l] = a->n;
}

/* Jumps to `to` for TCP, UDP, SCTP, UDP-Lite in A. */
static void
fa_ports_protos(struct flow_asm *a, enum flow_label to)
{
	fa_jeq(a, IPPROTO_TCP_, to, FL_NEXT);
	fa_jeq(a, IPPROTO_UDP_, to, FL_NEXT);
	fa_jeq(a, FLOW_PROTO_SCTP, to, FL_NEXT);
	fa_jeq(a, FLOW_PROTO_UDPLITE, to, FL_NEXT);
}

/* A = *(be16 *)(pkt + M[L4] + k) */
static void
fa_ld_l4(struct flow_asm *a, uint16_t size, uint32_t k)
{
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_L4);
	fa_op(a, BPF_LD | size | BPF_IND, k);
}

/* X = M[L4] + 8: the packet an ICMP error quotes; then to `to`. */
static void
fa_quote(struct flow_asm *a, enum flow_label to)
{
	fa_op(a, BPF_LD | BPF_MEM, FLOW_M_L4);
	fa_op(a, BPF_ALU | BPF_ADD | BPF_K, 8);
	fa_op(a, BPF_MISC | BPF_TAX, 0);
	fa_ja(a, to);
}

/*
 * After an outer header whose protocol (in A) may be ESP: ESP with a SPI,
 * or UDP to 4500 with room for one whose first payload word is not zero,
 * go to `spi` with the SPI, mixed, in A; ESP without a SPI to `addr`,
 * other UDP to the ports.
 */
static void
fa_spi_jumps(struct flow_asm *a, enum flow_label esp, enum flow_label udp)
{
	fa_jeq(a, IPPROTO_ESP_, esp, FL_NEXT);
	fa_jeq(a, IPPROTO_UDP_, udp, FL_NEXT);
}

static void
fa_spi_blocks(struct flow_asm *a, enum flow_label esp, enum flow_label udp,
    enum flow_label addr, enum flow_label spi)
{
	fa_label(a, esp);
	fa_ld_l4(a, BPF_W, 0);
	fa_jeq(a, 0, addr, FL_NEXT);
	fa_op(a, BPF_ALU | BPF_MUL | BPF_K, FLOW_MUL);
	fa_ja(a, spi);

	fa_label(a, udp);
	fa_ld_l4(a, BPF_H, 2);
	fa_jeq(a, FLOW_ESP_UDP_PORT, FL_NEXT, FL_PORTS);
	fa_ld_l4(a, BPF_H, 4);
	fa_jmp(a, BPF_JMP | BPF_JGE | BPF_K, FLOW_ESP_UDP_MIN, FL_NEXT,
	    FL_PORTS);
	fa_ld_l4(a, BPF_W, 8);
	fa_jeq(a, 0, FL_PORTS, FL_NEXT);
	fa_op(a, BPF_ALU | BPF_MUL | BPF_K, FLOW_MUL);
	fa_ja(a, spi);
}

/* The IPv4 header at X (flow_key_ip4). */
static void
fa_ip4(struct flow_asm *a, bool outer)
{
	fa_op(a, BPF_STX, FLOW_M_L3);
	fa_op(a, BPF_LD | BPF_H | BPF_IND, 6);
	fa_jmp(a, BPF_JMP | BPF_JSET | BPF_K, FLOW_IP4_FRAG_MASK, FL_V4_ADDR,
	    FL_NEXT);
	fa_op(a, BPF_LD | BPF_B | BPF_IND, 0);
	fa_op(a, BPF_ALU | BPF_AND | BPF_K, 0xf);
	fa_op(a, BPF_ALU | BPF_LSH | BPF_K, 2);
	fa_op(a, BPF_ALU | BPF_ADD | BPF_X, 0);
	fa_op(a, BPF_ST, FLOW_M_L4);
	fa_op(a, BPF_LD | BPF_B | BPF_IND, 9);
	if (outer)
		fa_spi_jumps(a, FL_V4_ESP, FL_V4_UDP);
	fa_ports_protos(a, FL_PORTS);
	fa_jeq(a, IPPROTO_ICMP_, FL_NEXT, FL_V4_ADDR);
	fa_ld_l4(a, BPF_B, 0);
	fa_jeq(a, 0, FL_ID, FL_NEXT);
	fa_jeq(a, 8, FL_ID, FL_NEXT);
	if (outer) {
		fa_jeq(a, 3, FL_V4_ERR, FL_NEXT);
		fa_jeq(a, 4, FL_V4_ERR, FL_NEXT);
		fa_jeq(a, 5, FL_V4_ERR, FL_NEXT);
		fa_jeq(a, 11, FL_V4_ERR, FL_NEXT);
		fa_jeq(a, 12, FL_V4_ERR, FL_NEXT);
	}
	fa_jmp(a, BPF_JMP | BPF_JGE | BPF_K, 13, FL_NEXT, FL_V4_ADDR);
	fa_jmp(a, BPF_JMP | BPF_JGT | BPF_K, 18, FL_V4_ADDR, FL_ID);
	if (outer) {
		fa_label(a, FL_V4_ERR);
		fa_quote(a, FL_V4_IN);
		fa_spi_blocks(a, FL_V4_ESP, FL_V4_UDP, FL_V4_ADDR, FL_V4_SPI);
	}
}

/* The IPv6 header at X (flow_key_ip6). */
static void
fa_ip6(struct flow_asm *a, bool outer)
{
	fa_op(a, BPF_STX, FLOW_M_L3);
	fa_op(a, BPF_MISC | BPF_TXA, 0);
	fa_op(a, BPF_ALU | BPF_ADD | BPF_K, 40);
	fa_op(a, BPF_ST, FLOW_M_L4);
	fa_op(a, BPF_LD | BPF_B | BPF_IND, 6);
	if (outer)
		fa_spi_jumps(a, FL_V6_ESP, FL_V6_UDP);
	fa_ports_protos(a, FL_PORTS);
	fa_jeq(a, IPPROTO_ICMPV6_, FL_NEXT, FL_V6_ADDR);
	fa_ld_l4(a, BPF_B, 0);
	fa_jeq(a, 128, FL_ID, FL_NEXT);
	fa_jeq(a, 129, FL_ID, FL_NEXT);
	if (!outer) {
		fa_ja(a, FL_V6_ADDR);
		return;
	}
	fa_jeq(a, 0, FL_V6_ADDR, FL_NEXT);
	fa_jmp(a, BPF_JMP | BPF_JGT | BPF_K, 4, FL_V6_ADDR, FL_NEXT);
	fa_quote(a, FL_V6_IN);
	fa_spi_blocks(a, FL_V6_ESP, FL_V6_UDP, FL_V6_ADDR, FL_V6_SPI);
}

/* M[TMP] ^= *(be32 *)(pkt + M[L3] + k) */
static void
fa_xor_word(struct flow_asm *a, uint32_t k)
{
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_L3);
	fa_op(a, BPF_LD | BPF_W | BPF_IND, k);
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_TMP);
	fa_op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	fa_op(a, BPF_ST, FLOW_M_TMP);
}

static void
fa_program(struct flow_asm *a)
{
	/* The EtherType, after the one VLAN tag the kernel took off. */
	fa_op(a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF +
	    SKF_AD_PROTOCOL));
	fa_jeq(a, ETH_P_IP, FL_V4, FL_NEXT);
	fa_jeq(a, ETH_P_IPV6, FL_V6, FL_NEXT);
	fa_jeq(a, ETH_P_ARP, FL_ARP, FL_NEXT);
	fa_op(a, BPF_RET | BPF_K, 0);

	fa_label(a, FL_ARP);
	fa_op(a, BPF_LD | BPF_W | BPF_ABS, 14);
	fa_op(a, BPF_ST, FLOW_M_TMP);
	fa_op(a, BPF_LD | BPF_W | BPF_ABS, 24);
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_TMP);
	fa_op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	fa_ja(a, FL_FOLD);

	/* X holds the IP header's offset on entry to each block. */
	fa_label(a, FL_V4);
	fa_op(a, BPF_LDX | BPF_IMM, 0);
	fa_ip4(a, true);
	fa_label(a, FL_V4_IN);
	fa_ip4(a, false);

	fa_label(a, FL_V6);
	fa_op(a, BPF_LDX | BPF_IMM, 0);
	fa_ip6(a, true);
	fa_label(a, FL_V6_IN);
	fa_ip6(a, false);

	fa_label(a, FL_V4_ADDR);
	fa_op(a, BPF_LD | BPF_IMM, 0);
	fa_label(a, FL_V4_SPI);
	fa_op(a, BPF_ST, FLOW_M_TMP);
	fa_xor_word(a, 12);
	fa_xor_word(a, 16);
	fa_ja(a, FL_FOLD);

	fa_label(a, FL_V6_ADDR);
	fa_op(a, BPF_LD | BPF_IMM, 0);
	fa_label(a, FL_V6_SPI);
	fa_op(a, BPF_ST, FLOW_M_TMP);
	for (uint32_t k = 8; k < 40; k += 4)
		fa_xor_word(a, k);
	fa_ja(a, FL_FOLD);

	fa_label(a, FL_PORTS);
	fa_ld_l4(a, BPF_H, 0);
	fa_op(a, BPF_ST, FLOW_M_TMP);
	fa_ld_l4(a, BPF_H, 2);
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_TMP);
	fa_op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	fa_ja(a, FL_MIX);

	fa_label(a, FL_ID);
	fa_ld_l4(a, BPF_H, 4);
	fa_ja(a, FL_MIX);

	/* A = (A ^ A >> 16) & 0xffff */
	fa_label(a, FL_FOLD);
	fa_op(a, BPF_ST, FLOW_M_TMP);
	fa_op(a, BPF_ALU | BPF_RSH | BPF_K, 16);
	fa_op(a, BPF_LDX | BPF_MEM, FLOW_M_TMP);
	fa_op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	fa_op(a, BPF_ALU | BPF_AND | BPF_K, 0xffff);

	/* The kernel takes the result modulo the group's size. */
	fa_label(a, FL_MIX);
	fa_op(a, BPF_ALU | BPF_MUL | BPF_K, FLOW_MUL);
	fa_op(a, BPF_ALU | BPF_RSH | BPF_K, 16);
	fa_op(a, BPF_RET | BPF_A, 0);
}

/* Turns labels into offsets: false when one is out of cBPF's reach. */
static bool
fa_resolve(struct flow_asm *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct sock_filter *ins = &a->prog[i];
		size_t to_t = a->jt[i] == FL_NEXT ? i + 1 : a->at[a->jt[i]];
		size_t to_f = a->jf[i] == FL_NEXT ? i + 1 : a->at[a->jf[i]];

		if (BPF_CLASS(ins->code) != BPF_JMP)
			continue;
		if (to_t <= i || to_f <= i || to_t >= a->n || to_f >= a->n)
			return false;
		if (BPF_OP(ins->code) == BPF_JA) {
			ins->k = (uint32_t)(to_t - i - 1);
			continue;
		}
		if (to_t - i - 1 > 255 || to_f - i - 1 > 255)
			return false;
		ins->jt = (uint8_t)(to_t - i - 1);
		ins->jf = (uint8_t)(to_f - i - 1);
	}
	return true;
}

int
io_flow_cbpf(struct sock_filter *prog, size_t max)
{
	struct flow_asm a;

	memset(&a, 0, sizeof(a));
	a.prog = prog;
	a.max = max;
	for (int l = 0; l < FL_COUNT; l++)
		a.at[l] = SIZE_MAX;
	fa_program(&a);
	if (a.overflow)
		return -E2BIG;
	if (!fa_resolve(&a))
		return -ERANGE;
	return (int)a.n;
}
