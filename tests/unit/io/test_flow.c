/*
 * tests/unit/io/test_flow.c: flow steering (src/io/flow.c) without a
 * kernel.  The cBPF program io_flow_cbpf() builds runs in a small
 * interpreter written here from the classic BPF semantics (a load past the
 * end returns 0, the result is taken modulo the group size), and must pick
 * the queue io_frame_flow_queue() picks for every kind of frame, reversed,
 * truncated and mangled.  Then what NAT relies on: both directions meet,
 * rewriting addresses keeps the queue, ICMP errors follow their flow, keys
 * built by hand agree with keys read from frames, and ports spread evenly.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/io.h"
#include "io/io_priv.h"	/* io_flow_cbpf() */
#include "flow_frames.h"

static const uint8_t smac[6] = { 2, 0, 0, 0, 0x0b, 1 };

static struct sock_filter prog[IO_FLOW_CBPF_MAX];
static int prog_len;

/*
 * Classic BPF as the kernel runs a fanout program: pkt starts at the
 * network header, SKF_AD_PROTOCOL is the EtherType after one VLAN tag.
 * Returns false for an instruction this interpreter does not know.
 */
static bool
cbpf_run(const uint8_t *pkt, size_t len, uint16_t proto, uint32_t *ret)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (int pc = 0; pc < prog_len; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t off, src = BPF_SRC(in->code) == BPF_X ? x : in->k;
		bool cond;

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (in->k == (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)) {
				a = proto;
				continue;
			}
			/* FALLTHROUGH */
		case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_B | BPF_ABS:
		case BPF_LD | BPF_W | BPF_IND:
		case BPF_LD | BPF_H | BPF_IND:
		case BPF_LD | BPF_B | BPF_IND: {
			unsigned size = BPF_SIZE(in->code) == BPF_W ? 4 :
			    BPF_SIZE(in->code) == BPF_H ? 2 : 1;

			off = in->k + (BPF_MODE(in->code) == BPF_IND ? x : 0);
			if (off > len || len - off < size) {
				*ret = 0;
				return true;
			}
			a = 0;
			for (unsigned i = 0; i < size; i++)
				a = a << 8 | pkt[off + i];
			continue;
		}
		case BPF_LD | BPF_IMM:
			a = in->k;
			continue;
		case BPF_LDX | BPF_IMM:
			x = in->k;
			continue;
		case BPF_LD | BPF_MEM:
			a = mem[in->k];
			continue;
		case BPF_LDX | BPF_MEM:
			x = mem[in->k];
			continue;
		case BPF_ST:
			mem[in->k] = a;
			continue;
		case BPF_STX:
			mem[in->k] = x;
			continue;
		case BPF_MISC | BPF_TAX:
			x = a;
			continue;
		case BPF_MISC | BPF_TXA:
			a = x;
			continue;
		case BPF_RET | BPF_K:
			*ret = in->k;
			return true;
		case BPF_RET | BPF_A:
			*ret = a;
			return true;
		case BPF_JMP | BPF_JA:
			pc += (int)in->k;
			continue;
		default:
			break;
		}
		if (BPF_CLASS(in->code) == BPF_ALU) {
			switch (BPF_OP(in->code)) {
			case BPF_ADD: a += src; continue;
			case BPF_SUB: a -= src; continue;
			case BPF_MUL: a *= src; continue;
			case BPF_AND: a &= src; continue;
			case BPF_OR: a |= src; continue;
			case BPF_XOR: a ^= src; continue;
			case BPF_LSH: a <<= src; continue;
			case BPF_RSH: a >>= src; continue;
			default: return false;
			}
		}
		if (BPF_CLASS(in->code) != BPF_JMP)
			return false;
		switch (BPF_OP(in->code)) {
		case BPF_JEQ: cond = a == src; break;
		case BPF_JGT: cond = a > src; break;
		case BPF_JGE: cond = a >= src; break;
		case BPF_JSET: cond = (a & src) != 0; break;
		default: return false;
		}
		pc += cond ? in->jt : in->jf;
	}
	return false;	/* fell off the end: the kernel refuses that */
}

/* What the kernel's fanout would pick for frame f among n sockets. */
static uint16_t
cbpf_queue(const uint8_t *f, size_t len, uint16_t n)
{
	size_t net = 14;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	uint32_t ret;

	if (type == 0x8100 || type == 0x88a8) {
		net = 18;
		type = (uint16_t)(f[16] << 8 | f[17]);
	}
	if (!cbpf_run(f + net, len - net, type, &ret))
		fail_msg("cbpf: unknown instruction or no return");
	return (uint16_t)(ret % n);
}

static int
setup(void **state)
{
	prog_len = io_flow_cbpf(prog, IO_FLOW_CBPF_MAX);
	return prog_len > 0 ? 0 : -1;
}

static void
test_program_shape(void **state)
{
	struct sock_filter small[8];

	assert_true(prog_len > 0 && prog_len < IO_FLOW_CBPF_MAX);
	assert_int_equal(BPF_CLASS(prog[prog_len - 1].code), BPF_RET);
	/* too little room is an error, not a truncated program */
	assert_true(io_flow_cbpf(small, HG_ARRAY_SIZE(small)) < 0);
}

/* Every kind, both directions, the program and the C agree. */
static void
test_program_matches_c(void **state)
{
	uint8_t f[FF_FRAME_MAX];

	for (int kind = 0; kind < FF_KIND_COUNT; kind++)
		for (uint32_t r = 0; r < 400; r++)
			for (int rev = 0; rev < 2; rev++)
				for (uint16_t n = 1; n <= 8; n++) {
					uint16_t len = ff_build(f, kind, r,
					    rev, smac);
					uint16_t c = io_frame_flow_queue(f,
					    len, n);
					uint16_t b = cbpf_queue(f, len, n);

					if (c != b)
						fail_msg("%s r=%u rev=%d n=%u: "
						    "C says %u, cBPF %u",
						    ff_kind_name[kind], r, rev,
						    n, c, b);
				}
}

/* Cut short and bytes flipped: same answer, every read mirrored. */
static void
test_program_matches_c_mangled(void **state)
{
	uint8_t f[FF_FRAME_MAX];
	uint32_t seed = 1;

	for (int kind = 0; kind < FF_KIND_COUNT; kind++)
		for (uint32_t r = 0; r < 300; r++) {
			uint16_t len = ff_build(f, kind, r, r & 1, smac);
			uint16_t cut;

			for (int flips = 0; flips < 3; flips++) {
				seed = seed * 1103515245u + 12345u;
				f[14 + (seed >> 8) % (len - 14)] ^=
				    (uint8_t)(1u << (seed >> 4) % 8);
			}
			/* the header stays whole: both parsers start there */
			seed = seed * 1103515245u + 12345u;
			cut = (uint16_t)(18 + (seed >> 8) % (len - 17));
			for (uint16_t n = 2; n <= 5; n++) {
				uint16_t c = io_frame_flow_queue(f, cut, n);
				uint16_t b = cbpf_queue(f, cut, n);

				if (c != b)
					fail_msg("%s r=%u len=%u n=%u: C says "
					    "%u, cBPF %u", ff_kind_name[kind],
					    r, cut, n, c, b);
			}
		}
}

/* What NAT and conntrack rely on, kind by kind. */
static void
test_symmetric(void **state)
{
	uint8_t f[FF_FRAME_MAX], g[FF_FRAME_MAX];

	for (int kind = 0; kind < FF_KIND_COUNT; kind++)
		for (uint32_t r = 0; r < 500; r++)
			for (uint16_t n = 2; n <= 8; n++) {
				uint16_t a = io_frame_flow_queue(f,
				    ff_build(f, kind, r, false, smac), n);
				uint16_t b = io_frame_flow_queue(g,
				    ff_build(g, kind, r, true, smac), n);

				if (a != b)
					fail_msg("%s r=%u n=%u: forward on "
					    "%u, reverse on %u",
					    ff_kind_name[kind], r, n, a, b);
			}
}

static const struct {
	const char *what;
	enum ff_kind kind, same_as;	/* lands where same_as lands */
} same_queue[] = {
	{ "icmp4 error follows the udp4 flow it quotes", FF_ICMP4_ERR,
	  FF_UDP4 },
	{ "icmp6 error follows the tcp6 flow it quotes", FF_ICMP6_ERR,
	  FF_TCP6 },
	{ "a tagged frame goes where the untagged one does", FF_VLAN_UDP4,
	  FF_UDP4 },
	{ "ip4 options do not move a flow", FF_IP4_OPTIONS, FF_UDP4 },
	{ "tcp4 and udp4 with the same ports meet", FF_TCP4, FF_UDP4 },
	{ "sctp4 by ports too", FF_SCTP4, FF_UDP4 },
	{ "udp-lite by ports too", FF_UDPLITE4, FF_UDP4 },
	{ "udp6 by ports, as udp4", FF_UDP6, FF_UDP4 },
	{ "icmp6 echo by identifier, as icmp4", FF_ICMP6_ECHO, FF_ICMP4_ECHO },
	{ "icmp4 timestamp by identifier, as echo", FF_ICMP4_TSTAMP,
	  FF_ICMP4_ECHO },
	{ "fragments of one datagram meet", FF_IP4_FRAG_LATER,
	  FF_IP4_FRAG_FIRST },
	{ "gre by addresses, as fragments", FF_IP4_GRE, FF_IP4_FRAG_FIRST },
	{ "arp by its protocol addresses, as ip4", FF_ARP, FF_IP4_FRAG_FIRST },
	{ "ip6 hop-by-hop by addresses, as ip6 fragments", FF_IP6_HOPOPTS,
	  FF_IP6_FRAG },
	{ "an SA's esp in udp4 meets its native esp4", FF_ESP_UDP4, FF_ESP4 },
	{ "an SA's esp in udp6 meets its native esp6", FF_ESP_UDP6, FF_ESP6 },
	{ "esp4 with spi 0 by addresses", FF_ESP4_SPI0, FF_IP4_FRAG_FIRST },
	{ "esp4 fragments by addresses, as any", FF_ESP4_FRAG,
	  FF_IP4_FRAG_FIRST },
	{ "ike's marker on 4500: by ports, as keepalives", FF_IKE_UDP4,
	  FF_KEEPALIVE4 },
	{ "udp 4500 too short for a spi: by ports", FF_ESP_UDP4_SHORT,
	  FF_KEEPALIVE4 },
};

static void
test_same_queue(void **state)
{
	uint8_t f[FF_FRAME_MAX], g[FF_FRAME_MAX];

	for (size_t i = 0; i < HG_ARRAY_SIZE(same_queue); i++)
		for (uint32_t r = 0; r < 500; r++)
			for (uint16_t n = 2; n <= 8; n++) {
				uint16_t a = io_frame_flow_queue(f,
				    ff_build(f, same_queue[i].kind, r, r & 1,
				    smac), n);
				uint16_t b = io_frame_flow_queue(g,
				    ff_build(g, same_queue[i].same_as, r,
				    r & 1, smac), n);

				if (a != b)
					fail_msg("%s (r=%u n=%u): %u vs %u",
					    same_queue[i].what, r, n, a, b);
			}
}

static const struct {
	const char *what;
	enum ff_kind kind;
} queue_zero[] = {
	{ "ip4 header longer than the frame", FF_IP4_TRUNC },
	{ "two vlan tags", FF_QINQ_UDP4 },
	{ "unknown ethertype", FF_OTHER_ETHERTYPE },
};

static void
test_queue_zero(void **state)
{
	uint8_t f[FF_FRAME_MAX];

	for (size_t i = 0; i < HG_ARRAY_SIZE(queue_zero); i++)
		for (uint32_t r = 0; r < 200; r++) {
			uint16_t len = ff_build(f, queue_zero[i].kind, r, 0,
			    smac);

			if (io_frame_flow_queue(f, len, 7) != 0)
				fail_msg("%s (r=%u): not queue 0",
				    queue_zero[i].what, r);
		}
	assert_int_equal(io_frame_flow_queue(f, 10, 4), 0);
}

/* A key as conntrack holds it (struct ct_tuple's layout and order). */
static struct io_flow_key
key4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport)
{
	struct io_flow_key k;

	memset(&k, 0, sizeof(k));
	k.l3 = PKT_L3_IP4;
	k.proto = proto;
	src = htonl(src);
	dst = htonl(dst);
	memcpy(k.src, &src, 4);
	memcpy(k.dst, &dst, 4);
	k.sport_be = htons(sport);
	k.dport_be = htons(dport);
	return k;
}

/* The frame's key is the tuple conntrack would write down. */
static void
test_frame_key(void **state)
{
	uint8_t f[FF_FRAME_MAX];
	struct io_flow_key k, want;
	struct ff_flow fl;
	uint16_t len;

	ff_flow_of(42, &fl);
	len = ff_build(f, FF_TCP4, 42, false, smac);
	io_frame_flow_key(f, len, &k);
	want = key4(6, fl.a4, fl.b4, fl.sport, fl.dport);
	assert_memory_equal(&k, &want, sizeof(k));

	/* the error's key is the quoted flow's */
	len = ff_build(f, FF_ICMP4_ERR, 42, true, smac);
	io_frame_flow_key(f, len, &k);
	want = key4(17, fl.b4, fl.a4, fl.dport, fl.sport);
	assert_memory_equal(&k, &want, sizeof(k));

	/* echo: identifier and type, as struct ct_tuple */
	len = ff_build(f, FF_ICMP4_ECHO, 42, false, smac);
	io_frame_flow_key(f, len, &k);
	want = key4(1, fl.a4, fl.b4, fl.id, 8);
	assert_memory_equal(&k, &want, sizeof(k));

	len = ff_build(f, FF_IP6_FRAG, 42, false, smac);
	io_frame_flow_key(f, len, &k);
	assert_int_equal(k.l3, PKT_L3_IP6);
	assert_true(k.is_fragment);
	assert_memory_equal(k.src, fl.a6, 16);
	assert_memory_equal(k.dst, fl.b6, 16);

	len = ff_build(f, FF_QINQ_UDP4, 42, false, smac);
	io_frame_flow_key(f, len, &k);
	assert_int_equal(k.l3, PKT_L3_NONE);
}

/*
 * Inbound ESP: the key carries the SPI and the queue is the SPI's rule's;
 * the SAs between two peers use every queue; what is not ESP on 4500
 * goes by its ports.
 */
static void
test_esp(void **state)
{
	uint8_t f[FF_FRAME_MAX];
	struct io_flow_key k, want;
	struct ff_flow fl;
	uint16_t len;

	for (uint32_t r = 0; r < 300; r++) {
		ff_flow_of(r, &fl);
		len = ff_build(f, FF_ESP4, r, false, smac);
		io_frame_flow_key(f, len, &k);
		want = key4(50, fl.a4, fl.b4, 0, 0);
		want.spi_be = htonl(ff_spi(r));
		assert_memory_equal(&k, &want, sizeof(k));

		len = ff_build(f, FF_ESP_UDP4, r, false, smac);
		io_frame_flow_key(f, len, &k);
		want = key4(17, fl.a4, fl.b4, ff_natt_sport(r), 4500);
		want.spi_be = htonl(ff_spi(r));
		assert_memory_equal(&k, &want, sizeof(k));

		/* IKE and keepalives: the ports, as conntrack's tuple */
		want = key4(17, fl.a4, fl.b4, ff_natt_sport(r), 4500);
		len = ff_build(f, FF_IKE_UDP4, r, false, smac);
		io_frame_flow_key(f, len, &k);
		assert_memory_equal(&k, &want, sizeof(k));
		len = ff_build(f, FF_KEEPALIVE4, r, false, smac);
		io_frame_flow_key(f, len, &k);
		assert_memory_equal(&k, &want, sizeof(k));

		len = ff_build(f, FF_ESP6, r, false, smac);
		io_frame_flow_key(f, len, &k);
		assert_int_equal(k.l3, PKT_L3_IP6);
		assert_int_equal(ntohl(k.spi_be), ff_spi(r));
		assert_memory_equal(k.src, fl.a6, 16);
	}
	/* many SAs between one pair of peers spread over the queues */
	for (uint16_t n = 2; n <= 16; n++) {
		uint32_t seen = 0;

		for (uint32_t spi = 0x1000; spi < 0x1000 + 16u * n; spi++) {
			k = key4(50, 0xc0000201, 0xcb007101, 0, 0);
			k.spi_be = htonl(spi);
			seen |= 1u << io_flow_queue(&k, n);
		}
		if (seen != (1u << n) - 1)
			fail_msg("n=%u: %u SPIs of one peer miss a queue "
			    "(0x%x)", n, 16u * n, seen);
	}
}

/*
 * NAT: DNAT without a port change and NETMAP rewrite addresses only, so the
 * reply of the rewritten flow lands where the original did; SNAT finds a
 * port for any queue it wants.
 */
static void
test_nat(void **state)
{
	for (uint32_t i = 0; i < 2000; i++) {
		uint16_t sp = (uint16_t)(i * 40503u), dp = (uint16_t)(i * 7u);
		struct io_flow_key orig = key4(6, 0xc0a80002 + i, 0xcb007107,
		    sp, dp);
		struct io_flow_key reply = key4(6, 0x0a000005, 0xc0a80002 + i,
		    dp, sp);	/* after DNAT to 10.0.0.5 */
		struct io_flow_key netmap = key4(17, 0x0a010000 + i,
		    0x0a020000 + i, sp, dp);
		struct io_flow_key mapped = key4(17, 0xac100000 + i,
		    0x0a020000 + i, sp, dp);

		for (uint16_t n = 2; n <= 8; n++) {
			assert_int_equal(io_flow_queue(&orig, n),
			    io_flow_queue(&reply, n));
			assert_int_equal(io_flow_queue(&netmap, n),
			    io_flow_queue(&mapped, n));
		}
	}
	for (uint16_t n = 2; n <= 16; n++)
		for (uint16_t want = 0; want < n; want++) {
			struct io_flow_key reply;
			uint32_t port;

			/* the reply of 192.0.2.1:443 to our NAT port */
			for (port = 1024; port < 1024 + 64u * n; port++) {
				reply = key4(6, 0xc0000201, 0xcb007101, 443,
				    (uint16_t)port);
				if (io_flow_queue(&reply, n) == want)
					break;
			}
			if (port == 1024 + 64u * n)
				fail_msg("n=%u: no NAT port for queue %u in "
				    "%u tries", n, want, 64u * n);
		}
}

/*
 * Spread: random ports, a NAT pool's consecutive ports against one server
 * port, echo identifiers.  No queue gets less than 80% of its share.
 */
static const struct {
	const char *what;
	int mode;
} spread[] = {
	{ "random ports", 0 },
	{ "consecutive ports to :443", 1 },
	{ "consecutive ports to :53", 2 },
	{ "echo identifiers 0, 1, 2...", 3 },
};

static void
test_spread(void **state)
{
	const uint32_t n_flows = 60000;

	for (size_t i = 0; i < HG_ARRAY_SIZE(spread); i++)
		for (uint16_t n = 2; n <= 8; n++) {
			uint32_t per_q[8] = { 0 }, seed = 7;

			for (uint32_t j = 0; j < n_flows; j++) {
				struct io_flow_key k;

				seed = seed * 1103515245u + 12345u;
				switch (spread[i].mode) {
				case 0:
					k = key4(17, 1, 2, (uint16_t)(seed >>
					    16), (uint16_t)(seed >> 1));
					break;
				case 1:
					k = key4(6, 1, 2, (uint16_t)(1024 + j),
					    443);
					break;
				case 2:
					k = key4(17, 1, 2, (uint16_t)(2048 + j),
					    53);
					break;
				default:
					k = key4(1, 1, 2, (uint16_t)j, 8);
					break;
				}
				per_q[io_flow_queue(&k, n)]++;
			}
			for (uint16_t q = 0; q < n; q++)
				if (per_q[q] < n_flows / n * 8 / 10)
					fail_msg("%s, %u queues: queue %u got "
					    "%u of %u flows", spread[i].what, n,
					    q, per_q[q], n_flows);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_shape),
		cmocka_unit_test(test_program_matches_c),
		cmocka_unit_test(test_program_matches_c_mangled),
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_same_queue),
		cmocka_unit_test(test_queue_zero),
		cmocka_unit_test(test_frame_key),
		cmocka_unit_test(test_esp),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_spread),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
