/*
 * tests/unit/ct/test_ct.c: proves src/ct.  Frames are built here by a small
 * builder (Ethernet, IPv4/IPv6, TCP/UDP/ICMP), parsed with the real
 * pkt_parse() from a heap copy of exactly their length (so ASan sees any
 * read past the end), and classified against a clock the test sets by hand.
 * TCP connections run as scripts: each step names itself and says what
 * state, direction and TCP state it must produce.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ct/ct.h"
#include "lib/hg_time.h"
#include "pkt/pkt.h"
#include "ct_test.h"

#define FRAME_MAX	1600
#define NO_WS		-1
#define T0		(1000 * HG_NS_PER_S)

/* ---- frame builder ---- */


/* Wraps l4 (l4_len bytes) in IP and Ethernet; returns the frame length. */
static size_t
frame_ip(uint8_t *f, const struct host *src, const struct host *dst,
    uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	struct eth_hdr eth = { .dst = { 2, 0, 0, 0, 0, 2 },
	    .src = { 2, 0, 0, 0, 0, 1 } };
	size_t off = ETH_HDR_LEN;

	assert_true(l4_len + ETH_HDR_LEN + IP6_HDR_LEN <= FRAME_MAX);
	eth.type_be = htons(src->v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(f, &eth, sizeof(eth));
	if (src->v6) {
		struct ip6_hdr ip = { .vtc_flow_be = htonl(0x60000000),
		    .plen_be = htons((uint16_t)l4_len), .nxt = proto,
		    .hlim = 64 };

		memcpy(ip.src, src->addr, 16);
		memcpy(ip.dst, dst->addr, 16);
		memcpy(f + off, &ip, sizeof(ip));
		off += sizeof(ip);
	} else {
		struct ip4_hdr ip = { .ver_ihl = 0x45, .ttl = 64,
		    .tot_len_be = htons((uint16_t)(IP4_HDR_LEN + l4_len)),
		    .proto = proto };

		memcpy(&ip.src_be, src->addr, 4);
		memcpy(&ip.dst_be, dst->addr, 4);
		ip.csum_be = pkt_csum(&ip, sizeof(ip));
		memcpy(f + off, &ip, sizeof(ip));
		off += sizeof(ip);
	}
	memcpy(f + off, l4, l4_len);
	return off + l4_len;
}

struct tcp_seg {
	uint8_t  flags;
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	int      wscale;	/* NO_WS: no option */
	uint16_t data_len;
};

static size_t
frame_tcp(uint8_t *f, const struct host *src, uint16_t sport,
    const struct host *dst, uint16_t dport, const struct tcp_seg *sg)
{
	uint8_t l4[FRAME_MAX] = { 0 };
	struct tcp_hdr th = { .sport_be = htons(sport),
	    .dport_be = htons(dport), .seq_be = htonl(sg->seq),
	    .ack_be = htonl(sg->ack), .flags = sg->flags,
	    .win_be = htons(sg->win) };
	size_t hlen = sizeof(th);

	if (sg->wscale != NO_WS) {
		/* NOP, window scale (kind 3, length 3, shift) */
		l4[hlen++] = 1;
		l4[hlen++] = 3;
		l4[hlen++] = 3;
		l4[hlen++] = (uint8_t)sg->wscale;
	}
	th.doff_res = (uint8_t)((hlen / 4) << 4);
	memcpy(l4, &th, sizeof(th));
	return frame_ip(f, src, dst, IPPROTO_TCP_, l4, hlen + sg->data_len);
}

static size_t
frame_udp(uint8_t *f, const struct host *src, uint16_t sport,
    const struct host *dst, uint16_t dport)
{
	struct udp_hdr uh = { .sport_be = htons(sport),
	    .dport_be = htons(dport), .len_be = htons(12) };
	uint8_t l4[12] = "....data";

	memcpy(l4, &uh, sizeof(uh));
	return frame_ip(f, src, dst, IPPROTO_UDP_, l4, sizeof(l4));
}

/* ICMP or ICMPv6 (by the family of src); quote is appended after the
 * 8-byte header, id goes into bytes 4-5. */
static size_t
frame_icmp(uint8_t *f, const struct host *src, const struct host *dst,
    uint8_t type, uint16_t id, const uint8_t *quote, size_t quote_len)
{
	uint8_t l4[FRAME_MAX] = { type, 0 };
	uint16_t id_be = htons(id);

	assert_true(8 + quote_len <= sizeof(l4));
	memcpy(l4 + 4, &id_be, 2);
	if (quote_len > 0)
		memcpy(l4 + 8, quote, quote_len);
	return frame_ip(f, src, dst, src->v6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_,
	    l4, 8 + quote_len);
}

/* Parses and classifies a frame from an exact-size heap copy. */
static enum ct_state
classify(struct ct_table *t, const uint8_t *f, size_t len, uint64_t now_ns,
    struct ct_result *r)
{
	struct pkt p;
	enum ct_state s;

	memset(&p, 0, sizeof(p));
	p.data = malloc(len);
	assert_non_null(p.data);
	memcpy(p.data, f, len);
	p.len = (uint16_t)len;
	assert_int_equal(pkt_parse(&p, NULL), PKT_DROP_NONE);
	s = ct_classify(t, &p, now_ns, r);
	free(p.data);
	return s;
}

/* Classify, then accept (confirm) as a permissive rule set would. */
static enum ct_state
pass(struct ct_table *t, const uint8_t *f, size_t len, uint64_t now_ns,
    struct ct_result *r)
{
	enum ct_state s = classify(t, f, len, now_ns, r);

	if (s != CT_STATE_INVALID)
		assert_int_equal(ct_confirm(t, r, now_ns), 0);
	return s;
}

static struct ct_table *
table(uint32_t n, const struct ct_timeouts *to)
{
	struct ct_table *t;

	assert_int_equal(ct_table_create(&t, n, to), 0);
	return t;
}

static void
check_state(const char *what, enum ct_state got, enum ct_state want)
{
	if (got != want)
		fail_msg("%s: state %s, want %s", what, ct_state_name(got),
		    ct_state_name(want));
}

/* ---- TCP scripts ---- */

enum { C2S, S2C };

struct tcp_step {
	const char *what;
	int from;
	uint8_t flags;
	uint32_t seq;		/* relative to the sender's ISN */
	uint32_t ack;		/* relative to the receiver's ISN */
	uint16_t win;
	int wscale;
	uint16_t data_len;
	enum ct_state want;
	enum ct_dir want_dir;
	enum ct_tcp_state want_tcp;
	enum ct_invalid want_why;
};

struct tcp_conn {
	const char *what;
	const char *client, *server;
	uint32_t isn_c, isn_s;
};

static const struct tcp_conn conns[] = {
	{ "IPv4", "192.0.2.1", "198.51.100.2", 1000, 5000000 },
	{ "IPv4, sequence numbers wrap", "192.0.2.1", "198.51.100.2",
	    0xffffff00u, 0xfffffff0u },
	{ "IPv6", "2001:db8::1", "2001:db8::2", 77, 0x80000000u },
};

#define S	TCP_SYN
#define A	TCP_ACK
#define F	TCP_FIN
#define R	TCP_RST
#define P	TCP_PSH
#define EST	CT_STATE_ESTABLISHED
#define INV	CT_STATE_INVALID
#define ORIG	CT_DIR_ORIGINAL
#define REPL	CT_DIR_REPLY

static const struct tcp_step script_life[] = {
	{ "client SYN", C2S, S, 0, 0, 64240, 7, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "client SYN retransmitted", C2S, S, 0, 0, 64240, 7, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "client ACK before any answer", C2S, A, 1, 1, 502, NO_WS, 0,
	    INV, ORIG, CT_TCP_SYN_SENT, CT_INVALID_TCP_STATE },
	{ "server SYN+ACK acking another SYN", S2C, S | A, 0, 5, 65160, 7, 0,
	    INV, REPL, CT_TCP_SYN_SENT, CT_INVALID_TCP_WINDOW },
	{ "server SYN+ACK", S2C, S | A, 0, 1, 65160, 7, 0,
	    EST, REPL, CT_TCP_SYN_RECV, 0 },
	{ "server data before the handshake ends", S2C, A, 1, 1, 509, NO_WS,
	    10, INV, REPL, CT_TCP_SYN_RECV, CT_INVALID_TCP_STATE },
	{ "client ACK", C2S, A, 1, 1, 502, NO_WS, 0,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "server SYN+ACK again (the ACK was lost later)", S2C, S | A, 0, 1,
	    65160, 7, 0, EST, REPL, CT_TCP_ESTABLISHED, 0 },
	{ "client data", C2S, P | A, 1, 1, 502, NO_WS, 100,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "server data", S2C, P | A, 1, 101, 509, NO_WS, 1000,
	    EST, REPL, CT_TCP_ESTABLISHED, 0 },
	{ "client data far past the window", C2S, A, 10000000, 1001, 502,
	    NO_WS, 100, INV, ORIG, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
	{ "client data from long ago", C2S, A, (uint32_t)-3000000, 1001, 502,
	    NO_WS, 100, INV, ORIG, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
	{ "client acks data the server never sent", C2S, A, 101, 101001, 502,
	    NO_WS, 0, INV, ORIG, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
	{ "server data past the client's window", S2C, A, 200000, 101, 509,
	    NO_WS, 10, INV, REPL, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
	{ "client SYN on the open connection", C2S, S, 0, 0, 64240, 7, 0,
	    INV, ORIG, CT_TCP_ESTABLISHED, CT_INVALID_TCP_SYN_EST },
	{ "client retransmits old data", C2S, P | A, 1, 1001, 502, NO_WS, 100,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "client FIN", C2S, F | A, 101, 1001, 502, NO_WS, 0,
	    EST, ORIG, CT_TCP_FIN_WAIT, 0 },
	{ "server ACKs the FIN", S2C, A, 1001, 102, 509, NO_WS, 0,
	    EST, REPL, CT_TCP_CLOSE_WAIT, 0 },
	{ "server FIN", S2C, F | A, 1001, 102, 509, NO_WS, 0,
	    EST, REPL, CT_TCP_LAST_ACK, 0 },
	{ "client ACKs the last FIN", C2S, A, 102, 1002, 502, NO_WS, 0,
	    EST, ORIG, CT_TCP_TIME_WAIT, 0 },
	{ "new SYN on the same ports reopens", C2S, S, 7777, 0, 64240, 7, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
};

static const struct tcp_step script_rst[] = {
	{ "client SYN", C2S, S, 0, 0, 64240, NO_WS, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "server SYN+ACK", S2C, S | A, 0, 1, 65160, NO_WS, 0,
	    EST, REPL, CT_TCP_SYN_RECV, 0 },
	{ "client ACK", C2S, A, 1, 1, 64240, NO_WS, 0,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "server RST outside the window", S2C, R, 10000000, 0, 0, NO_WS, 0,
	    INV, REPL, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
	{ "server RST", S2C, R, 1, 0, 0, NO_WS, 0,
	    EST, REPL, CT_TCP_CLOSE, 0 },
	{ "late client ACK after the RST", C2S, A, 1, 1, 64240, NO_WS, 0,
	    EST, ORIG, CT_TCP_CLOSE, 0 },
	{ "new SYN after the RST", C2S, S, 99, 0, 64240, NO_WS, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "refused: RST+ACK to the SYN", S2C, R | A, 0, 100, 0, NO_WS, 0,
	    EST, REPL, CT_TCP_CLOSE, 0 },
};

/* The server offers 1000 << 7 bytes; 100000 bytes in is inside only if
 * both SYNs carried the window scale option. */
static const struct tcp_step script_wscale[] = {
	{ "client SYN, window scale 7", C2S, S, 0, 0, 64240, 7, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "server SYN+ACK, window scale 7", S2C, S | A, 0, 1, 65160, 7, 0,
	    EST, REPL, CT_TCP_SYN_RECV, 0 },
	{ "client ACK", C2S, A, 1, 1, 502, NO_WS, 0,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "server ACK, window 1000 << 7", S2C, A, 1, 1, 1000, NO_WS, 0,
	    EST, REPL, CT_TCP_ESTABLISHED, 0 },
	{ "client data 100000 bytes in", C2S, A, 100001, 1, 502, NO_WS, 100,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
};

static const struct tcp_step script_noscale[] = {
	{ "client SYN, no window scale", C2S, S, 0, 0, 64240, NO_WS, 0,
	    CT_STATE_NEW, ORIG, CT_TCP_SYN_SENT, 0 },
	{ "server SYN+ACK, window scale 7", S2C, S | A, 0, 1, 65160, 7, 0,
	    EST, REPL, CT_TCP_SYN_RECV, 0 },
	{ "client ACK", C2S, A, 1, 1, 502, NO_WS, 0,
	    EST, ORIG, CT_TCP_ESTABLISHED, 0 },
	{ "server ACK, window 1000 (unscaled)", S2C, A, 1, 1, 1000, NO_WS, 0,
	    EST, REPL, CT_TCP_ESTABLISHED, 0 },
	{ "client data 100000 bytes in", C2S, A, 100001, 1, 502, NO_WS, 100,
	    INV, ORIG, CT_TCP_ESTABLISHED, CT_INVALID_TCP_WINDOW },
};

static const struct tcp_step script_bad_start[] = {
	{ "first packet is an ACK", C2S, A, 1, 1, 502, NO_WS, 0,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_NO_SYN },
	{ "first packet is data", C2S, P | A, 1, 1, 502, NO_WS, 10,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_NO_SYN },
	{ "SYN+FIN", C2S, S | F, 0, 0, 502, NO_WS, 0,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_FLAGS },
	{ "FIN without ACK", C2S, F, 0, 0, 502, NO_WS, 0,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_FLAGS },
	{ "no flags at all", C2S, 0, 0, 0, 502, NO_WS, 0,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_FLAGS },
	{ "RST to nothing", C2S, R, 0, 0, 0, NO_WS, 0,
	    INV, ORIG, CT_TCP_NONE, CT_INVALID_TCP_NO_SYN },
};

static void
run_script(const struct tcp_conn *c, const struct tcp_step *steps, size_t n)
{
	struct host cli = host(c->client), srv = host(c->server);
	struct ct_table *t = table(16, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	uint64_t now = T0;
	uint32_t n_invalid = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tcp_step *s = &steps[i];
		struct tcp_seg sg = { .flags = s->flags, .win = s->win,
		    .wscale = s->wscale, .data_len = s->data_len };
		enum ct_state got;
		size_t len;

		if (s->from == C2S) {
			sg.seq = c->isn_c + s->seq;
			sg.ack = (s->flags & TCP_ACK) ? c->isn_s + s->ack : 0;
			len = frame_tcp(f, &cli, 40000, &srv, 443, &sg);
		} else {
			sg.seq = c->isn_s + s->seq;
			sg.ack = (s->flags & TCP_ACK) ? c->isn_c + s->ack : 0;
			len = frame_tcp(f, &srv, 443, &cli, 40000, &sg);
		}
		now += HG_NS_PER_MS;
		got = pass(t, f, len, now, &r);
		if (got != s->want || r.reason != s->want_why)
			fail_msg("%s: %s: got %s (%s), want %s (%s)", c->what,
			    s->what, ct_state_name(got),
			    ct_invalid_name(r.reason), ct_state_name(s->want),
			    ct_invalid_name(s->want_why));
		if (got != CT_STATE_INVALID && r.dir != s->want_dir)
			fail_msg("%s: %s: direction %d, want %d", c->what,
			    s->what, r.dir, s->want_dir);
		if (ct_entry_tcp_state(t, r.entry) != s->want_tcp)
			fail_msg("%s: %s: TCP state %s, want %s", c->what,
			    s->what, ct_tcp_state_name(
			    ct_entry_tcp_state(t, r.entry)),
			    ct_tcp_state_name(s->want_tcp));
		n_invalid += got == CT_STATE_INVALID;
	}
	ct_table_stats(t, &st);
	uint64_t sum = 0;
	for (int i = 0; i < CT_INVALID_COUNT; i++)
		sum += st.invalid[i];
	assert_int_equal(sum, n_invalid);
	ct_table_destroy(t);
}

#define RUN(script) do {						\
	for (size_t c = 0; c < HG_ARRAY_SIZE(conns); c++)		\
		run_script(&conns[c], script, HG_ARRAY_SIZE(script));	\
} while (0)

static void
test_tcp_life(void **state)
{
	(void)state;
	RUN(script_life);
}

static void
test_tcp_rst(void **state)
{
	(void)state;
	RUN(script_rst);
}

static void
test_tcp_wscale(void **state)
{
	(void)state;
	RUN(script_wscale);
	RUN(script_noscale);
}

static void
test_tcp_bad_start(void **state)
{
	(void)state;
	RUN(script_bad_start);
}

/* The reopened entry replaced the old one rather than leaking it. */
static void
test_tcp_reopen_counts(void **state)
{
	struct host cli = host("192.0.2.1"), srv = host("198.51.100.2");
	struct ct_table *t = table(4, NULL);
	struct tcp_seg syn = { .flags = S, .seq = 1, .win = 1000,
	    .wscale = NO_WS };
	struct tcp_seg rst = { .flags = R, .seq = 2, .wscale = NO_WS };
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	size_t len;

	(void)state;
	len = frame_tcp(f, &cli, 1, &srv, 2, &syn);
	check_state("SYN", pass(t, f, len, T0, &r), CT_STATE_NEW);
	len = frame_tcp(f, &cli, 1, &srv, 2, &rst);
	check_state("client RST", pass(t, f, len, T0, &r), CT_STATE_NEW);
	assert_int_equal(ct_entry_tcp_state(t, r.entry), CT_TCP_CLOSE);
	syn.seq = 500;
	len = frame_tcp(f, &cli, 1, &srv, 2, &syn);
	check_state("SYN again", pass(t, f, len, T0, &r), CT_STATE_NEW);
	ct_table_stats(t, &st);
	assert_int_equal(st.in_use, 1);
	assert_int_equal(st.created, 2);
	assert_int_equal(st.reopened, 1);
	ct_table_destroy(t);
}

/* ---- UDP, ICMP ---- */

static void
test_udp(void **state)
{
	static const char *const fam[][2] = {
		{ "192.0.2.1", "198.51.100.2" },
		{ "2001:db8::1", "2001:db8::2" },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(fam); i++) {
		struct host a = host(fam[i][0]), b = host(fam[i][1]);
		struct ct_table *t = table(8, NULL);
		uint8_t fq[FRAME_MAX], fr[FRAME_MAX];
		size_t lq = frame_udp(fq, &a, 5353, &b, 53);
		size_t lr = frame_udp(fr, &b, 53, &a, 5353);
		struct ct_result r;

		check_state("reply first", classify(t, fr, lr, T0, &r),
		    CT_STATE_NEW);
		/* not confirmed: nothing was inserted */
		check_state("query", pass(t, fq, lq, T0, &r), CT_STATE_NEW);
		check_state("query again", pass(t, fq, lq, T0, &r),
		    CT_STATE_NEW);
		assert_int_equal(r.dir, CT_DIR_ORIGINAL);
		check_state("reply", pass(t, fr, lr, T0, &r), EST);
		assert_int_equal(r.dir, CT_DIR_REPLY);
		check_state("query after reply", pass(t, fq, lq, T0, &r), EST);
		assert_int_equal(r.dir, CT_DIR_ORIGINAL);
		ct_table_destroy(t);
	}
}

struct echo_case {
	const char *what;
	const char *a, *b;
	uint8_t req, rep;
};

static void
test_icmp_echo(void **state)
{
	static const struct echo_case cases[] = {
		{ "ICMP", "192.0.2.1", "198.51.100.2", 8, 0 },
		{ "ICMPv6", "2001:db8::1", "2001:db8::2", 128, 129 },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct echo_case *c = &cases[i];
		struct host a = host(c->a), b = host(c->b);
		struct ct_table *t = table(8, NULL);
		uint8_t f[FRAME_MAX];
		struct ct_result r;
		size_t len;

		len = frame_icmp(f, &b, &a, c->rep, 7, NULL, 0);
		check_state(c->what, classify(t, f, len, T0, &r), INV);
		assert_int_equal(r.reason, CT_INVALID_ICMP_NO_REQ);
		len = frame_icmp(f, &a, &b, c->req, 7, NULL, 0);
		check_state(c->what, pass(t, f, len, T0, &r), CT_STATE_NEW);
		len = frame_icmp(f, &b, &a, c->rep, 8, NULL, 0);
		check_state(c->what, classify(t, f, len, T0, &r), INV);
		len = frame_icmp(f, &b, &a, c->rep, 7, NULL, 0);
		check_state(c->what, pass(t, f, len, T0, &r), EST);
		assert_int_equal(r.dir, CT_DIR_REPLY);
		/* b pinging a with the same identifier is its own flow */
		len = frame_icmp(f, &b, &a, c->req, 7, NULL, 0);
		check_state(c->what, classify(t, f, len, T0, &r),
		    CT_STATE_NEW);
		assert_int_equal(r.entry, CT_ENTRY_NONE);
		ct_table_destroy(t);
	}
}

static void
test_icmp6_nd_untracked(void **state)
{
	struct host a = host("fe80::1"), b = host("ff02::1:ff00:2");
	struct ct_table *t = table(8, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	size_t len;

	(void)state;
	len = frame_icmp(f, &a, &b, ICMP6_NEIGH_SOLICIT, 0, NULL, 0);
	check_state("NS", classify(t, f, len, T0, &r), CT_STATE_UNTRACKED);
	ct_table_destroy(t);
}

/*
 * ICMP errors.  Tracked: UDP 192.0.2.1:5353 -> 198.51.100.2:53, ICMP echo
 * 192.0.2.1 -> 198.51.100.2 id 7, and TCP [2001:db8::1]:40000 ->
 * [2001:db8::2]:443.  Each case quotes a packet of some flow (or not).
 */
enum quote_kind { Q_UDP, Q_UDP_OTHER, Q_ECHO, Q_ERROR, Q_TCP6, Q_TCP6_OTHER };

struct err_case {
	const char *what;
	bool v6;
	uint8_t type;
	enum quote_kind quote;
	size_t quote_len;	/* 0: the whole quoted packet */
	enum ct_state want;
	enum ct_dir want_dir;
	enum ct_invalid want_why;
};

static size_t
quote(uint8_t *q, enum quote_kind k)
{
	struct host a4 = host("192.0.2.1"), b4 = host("198.51.100.2");
	struct host a6 = host("2001:db8::1"), b6 = host("2001:db8::2");
	struct tcp_seg syn = { .flags = S, .seq = 1, .win = 1000,
	    .wscale = NO_WS };
	uint8_t f[FRAME_MAX], inner[FRAME_MAX];
	size_t len = 0;

	switch (k) {
	case Q_UDP:
		len = frame_udp(f, &a4, 5353, &b4, 53);
		break;
	case Q_UDP_OTHER:
		len = frame_udp(f, &a4, 5354, &b4, 53);
		break;
	case Q_ECHO:
		len = frame_icmp(f, &a4, &b4, 8, 7, NULL, 0);
		break;
	case Q_ERROR:
		len = frame_udp(inner, &a4, 5353, &b4, 53);
		len = frame_icmp(f, &b4, &a4, 3, 0, inner + ETH_HDR_LEN,
		    len - ETH_HDR_LEN);
		break;
	case Q_TCP6:
		len = frame_tcp(f, &a6, 40000, &b6, 443, &syn);
		break;
	case Q_TCP6_OTHER:
		len = frame_tcp(f, &a6, 40001, &b6, 443, &syn);
		break;
	}
	memcpy(q, f + ETH_HDR_LEN, len - ETH_HDR_LEN);
	return len - ETH_HDR_LEN;
}

static void
test_icmp_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "port unreachable quoting the UDP flow", false, 3, Q_UDP, 0,
		    CT_STATE_RELATED, REPL, 0 },
		{ "time exceeded quoting the UDP flow", false, 11, Q_UDP, 0,
		    CT_STATE_RELATED, REPL, 0 },
		{ "quote cut to IP header + 4 bytes", false, 3, Q_UDP, 24,
		    CT_STATE_RELATED, REPL, 0 },
		{ "unreachable quoting an unknown flow", false, 3,
		    Q_UDP_OTHER, 0, INV, 0, CT_INVALID_ICMP_ERR_FLOW },
		{ "quote cut inside the IP header", false, 3, Q_UDP, 12,
		    INV, 0, CT_INVALID_ICMP_ERR_TRUNC },
		{ "quote cut before the ports", false, 3, Q_UDP, 22,
		    INV, 0, CT_INVALID_ICMP_ERR_TRUNC },
		{ "empty quote", false, 3, Q_UDP, 1,
		    INV, 0, CT_INVALID_ICMP_ERR_TRUNC },
		{ "unreachable quoting the echo request", false, 3, Q_ECHO, 0,
		    CT_STATE_RELATED, REPL, 0 },
		{ "error quoting an error", false, 3, Q_ERROR, 0,
		    INV, 0, CT_INVALID_ICMP_ERR_BAD },
		{ "ICMPv4 quoting IPv6", false, 3, Q_TCP6, 0,
		    INV, 0, CT_INVALID_ICMP_ERR_BAD },
		{ "packet too big quoting the TCP flow", true,
		    ICMP6_PACKET_TOO_BIG, Q_TCP6, 0, CT_STATE_RELATED, REPL,
		    0 },
		{ "v6 unreachable quoting an unknown flow", true,
		    ICMP6_DEST_UNREACH, Q_TCP6_OTHER, 0, INV, 0,
		    CT_INVALID_ICMP_ERR_FLOW },
		{ "v6 quote cut inside the IPv6 header", true,
		    ICMP6_PACKET_TOO_BIG, Q_TCP6, 39, INV, 0,
		    CT_INVALID_ICMP_ERR_TRUNC },
		{ "ICMPv6 quoting IPv4", true, ICMP6_DEST_UNREACH, Q_UDP, 0,
		    INV, 0, CT_INVALID_ICMP_ERR_BAD },
	};
	struct host a4 = host("192.0.2.1"), b4 = host("198.51.100.2");
	struct host a6 = host("2001:db8::1"), b6 = host("2001:db8::2");
	struct host r4 = host("203.0.113.1"), r6 = host("2001:db8:ff::1");
	struct tcp_seg syn = { .flags = S, .seq = 1, .win = 1000,
	    .wscale = NO_WS };
	struct ct_table *t = table(8, NULL);
	uint8_t f[FRAME_MAX], q[FRAME_MAX];
	struct ct_result r, fl;
	uint32_t udp_entry;
	size_t len;

	(void)state;
	len = frame_udp(f, &a4, 5353, &b4, 53);
	check_state("UDP flow", pass(t, f, len, T0, &fl), CT_STATE_NEW);
	udp_entry = fl.entry;
	len = frame_icmp(f, &a4, &b4, 8, 7, NULL, 0);
	check_state("echo flow", pass(t, f, len, T0, &fl), CT_STATE_NEW);
	len = frame_tcp(f, &a6, 40000, &b6, 443, &syn);
	check_state("TCP flow", pass(t, f, len, T0, &fl), CT_STATE_NEW);

	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct err_case *c = &cases[i];
		size_t qlen = quote(q, c->quote);
		enum ct_state got;

		if (c->quote_len != 0)
			qlen = c->quote_len;
		/* the error comes from a router on the way */
		if (c->v6)
			len = frame_icmp(f, &r6, &a6, c->type, 0, q, qlen);
		else
			len = frame_icmp(f, &r4, &a4, c->type, 0, q, qlen);
		got = classify(t, f, len, T0, &r);
		if (got != c->want || r.reason != c->want_why)
			fail_msg("%s: got %s (%s), want %s (%s)", c->what,
			    ct_state_name(got), ct_invalid_name(r.reason),
			    ct_state_name(c->want),
			    ct_invalid_name(c->want_why));
		if (got == CT_STATE_RELATED && r.dir != c->want_dir)
			fail_msg("%s: direction %d", c->what, r.dir);
		if (c->quote == Q_UDP && got == CT_STATE_RELATED)
			assert_int_equal(r.entry, udp_entry);
	}
	ct_table_destroy(t);
}

/* ---- expiry ---- */

enum flow_kind { K_UDP, K_UDP_REPLIED, K_ICMP, K_GENERIC, K_TCP_SYN,
	K_TCP_EST, K_TCP_CLOSE };

struct expire_case {
	const char *what;
	enum flow_kind kind;
	bool custom;		/* use the custom timeouts below */
	uint32_t timeout_s;
};

/* Sets up one flow of the kind; returns the time of its last packet. */
static uint64_t
flow_make(struct ct_table *t, enum flow_kind k)
{
	struct host a = host("192.0.2.1"), b = host("198.51.100.2");
	struct tcp_seg sg = { .flags = S, .seq = 1, .win = 1000,
	    .wscale = NO_WS };
	uint8_t f[FRAME_MAX], l4[8] = { 0 };
	struct ct_result r;
	uint64_t now = T0;
	size_t len;

	switch (k) {
	case K_UDP:
	case K_UDP_REPLIED:
		len = frame_udp(f, &a, 1, &b, 2);
		pass(t, f, len, now, &r);
		if (k == K_UDP_REPLIED) {
			now += HG_NS_PER_S;
			len = frame_udp(f, &b, 2, &a, 1);
			check_state("UDP reply", pass(t, f, len, now, &r), EST);
		}
		break;
	case K_ICMP:
		len = frame_icmp(f, &a, &b, 8, 1, NULL, 0);
		pass(t, f, len, now, &r);
		break;
	case K_GENERIC:
		len = frame_ip(f, &a, &b, 47 /* GRE */, l4, sizeof(l4));
		pass(t, f, len, now, &r);
		break;
	case K_TCP_SYN:
	case K_TCP_EST:
	case K_TCP_CLOSE:
		len = frame_tcp(f, &a, 1, &b, 2, &sg);
		pass(t, f, len, now, &r);
		if (k == K_TCP_SYN)
			break;
		sg = (struct tcp_seg){ .flags = S | A, .seq = 9, .ack = 2,
		    .win = 1000, .wscale = NO_WS };
		len = frame_tcp(f, &b, 2, &a, 1, &sg);
		pass(t, f, len, now, &r);
		sg = (struct tcp_seg){ .flags = A, .seq = 2, .ack = 10,
		    .win = 1000, .wscale = NO_WS };
		len = frame_tcp(f, &a, 1, &b, 2, &sg);
		check_state("TCP ACK", pass(t, f, len, now, &r), EST);
		if (k == K_TCP_CLOSE) {
			sg = (struct tcp_seg){ .flags = R, .seq = 10,
			    .wscale = NO_WS };
			len = frame_tcp(f, &b, 2, &a, 1, &sg);
			pass(t, f, len, now, &r);
			assert_int_equal(ct_entry_tcp_state(t, r.entry),
			    CT_TCP_CLOSE);
		}
		break;
	}
	return now;
}

static void
test_expiry(void **state)
{
	static const struct expire_case cases[] = {
		{ "UDP unreplied", K_UDP, false, 30 },
		{ "UDP replied", K_UDP_REPLIED, false, 120 },
		{ "ICMP echo", K_ICMP, false, 30 },
		{ "generic (GRE)", K_GENERIC, false, 600 },
		{ "TCP SYN_SENT", K_TCP_SYN, false, 120 },
		{ "TCP ESTABLISHED", K_TCP_EST, false, 432000 },
		{ "TCP CLOSE", K_TCP_CLOSE, false, 10 },
		{ "UDP unreplied, configured", K_UDP, true, 5 },
		{ "TCP ESTABLISHED, configured", K_TCP_EST, true, 3600 },
		{ "generic, configured", K_GENERIC, true, 42 },
	};
	struct ct_timeouts to;

	(void)state;
	ct_timeouts_default(&to);
	to.udp_unreplied_s = 5;
	to.tcp_s[CT_TCP_ESTABLISHED] = 3600;
	to.generic_s = 42;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct expire_case *c = &cases[i];
		struct ct_table *t = table(8, c->custom ? &to : NULL);
		uint64_t last = flow_make(t, c->kind);
		uint64_t end = last + c->timeout_s * HG_NS_PER_S;
		struct ct_stats st;

		if (ct_expire(t, end - 1, 100) != 0)
			fail_msg("%s: expired before %u s", c->what,
			    c->timeout_s);
		if (ct_expire(t, end, 100) != 1)
			fail_msg("%s: still there after %u s", c->what,
			    c->timeout_s);
		ct_table_stats(t, &st);
		assert_int_equal(st.in_use, 0);
		assert_int_equal(st.expired, 1);
		ct_table_destroy(t);
	}
}

/* A lookup that meets an expired flow treats it as gone. */
static void
test_expiry_lazy(void **state)
{
	struct host a = host("192.0.2.1"), b = host("198.51.100.2");
	struct ct_table *t = table(8, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	size_t len;

	(void)state;
	len = frame_udp(f, &a, 1, &b, 2);
	pass(t, f, len, T0, &r);
	len = frame_udp(f, &b, 2, &a, 1);
	check_state("reply in time", classify(t, f, len, T0 + 29 *
	    HG_NS_PER_S, &r), EST);
	/* the reply moved it to the 120 s replied timeout */
	check_state("reply after 100 s more", classify(t, f, len, T0 +
	    129 * HG_NS_PER_S, &r), EST);
	check_state("reply after 120 s silence", classify(t, f, len, T0 +
	    249 * HG_NS_PER_S, &r), CT_STATE_NEW);
	ct_table_stats(t, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.expired, 1);
	ct_table_destroy(t);
}

/* ---- limits ---- */

static void
test_table_full(void **state)
{
	struct host a = host("192.0.2.1"), b = host("198.51.100.2");
	struct ct_table *t = table(2, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	size_t len;

	(void)state;
	len = frame_udp(f, &a, 1, &b, 53);
	check_state("flow 1", pass(t, f, len, T0, &r), CT_STATE_NEW);
	len = frame_udp(f, &a, 2, &b, 53);
	check_state("flow 2", pass(t, f, len, T0, &r), CT_STATE_NEW);
	len = frame_udp(f, &a, 3, &b, 53);
	check_state("flow 3", classify(t, f, len, T0, &r), CT_STATE_NEW);
	assert_int_equal(ct_confirm(t, &r, T0), -ENOSPC);
	assert_int_equal(r.entry, CT_ENTRY_NONE);
	ct_table_stats(t, &st);
	assert_int_equal(st.table_full, 1);
	assert_int_equal(st.in_use, 2);
	assert_int_equal(st.created, 2);

	/* flow 1 is untouched */
	len = frame_udp(f, &b, 53, &a, 1);
	check_state("flow 1 reply", pass(t, f, len, T0, &r), EST);
	/* once flow 2 has expired, flow 3 fits */
	len = frame_udp(f, &a, 3, &b, 53);
	check_state("flow 3 later", classify(t, f, len, T0 + 31 *
	    HG_NS_PER_S, &r), CT_STATE_NEW);
	assert_int_equal(ct_confirm(t, &r, T0 + 31 * HG_NS_PER_S), 0);
	assert_int_not_equal(r.entry, CT_ENTRY_NONE);
	ct_table_destroy(t);
}

static int
count_flow(const struct ct_flow_info *fi, void *arg)
{
	uint32_t *n = arg;

	assert_int_equal(fi->orig.proto, IPPROTO_UDP_);
	assert_memory_equal(fi->orig.src, fi->reply.dst, 16);
	assert_int_equal(fi->orig.sport_be, fi->reply.dport_be);
	(*n)++;
	return 0;
}

/* Every entry comes from the pool sized at create: filling, emptying and
 * refilling it never needs more than max_entries. */
static void
test_pool_fixed(void **state)
{
	struct host a = host("192.0.2.1"), b = host("198.51.100.2");
	enum { N = 64 };
	struct ct_table *t = table(N, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	uint32_t seen = 0;
	size_t len;

	(void)state;
	for (int round = 0; round < 2; round++) {
		uint64_t now = T0 + (uint64_t)round * 1000 * HG_NS_PER_S;

		for (uint16_t port = 1; port <= N + 1; port++) {
			len = frame_udp(f, &a, port, &b, 53);
			check_state("flow", classify(t, f, len, now, &r),
			    CT_STATE_NEW);
			assert_int_equal(ct_confirm(t, &r, now),
			    port <= N ? 0 : -ENOSPC);
			if (port <= N)
				assert_true(r.entry < N);
		}
		ct_table_stats(t, &st);
		assert_int_equal(st.max_entries, N);
		assert_int_equal(st.in_use, N);
		seen = 0;
		assert_int_equal(ct_walk(t, now, count_flow, &seen), 0);
		assert_int_equal(seen, N);
		assert_int_equal(ct_expire(t, now + 31 * HG_NS_PER_S,
		    UINT32_MAX), N);
	}
	ct_table_stats(t, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.created, 2 * N);
	assert_int_equal(st.table_full, 2);
	ct_table_destroy(t);
}

/* A later fragment follows its datagram's accepted first fragment; one
 * with nothing to follow is INVALID. */
static void
test_fragments(void **state)
{
	struct host a = host("10.0.0.1"), b = host("10.0.0.2");
	struct ct_table *t = table(16, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	size_t n;

	(void)state;
	/* First fragment (ports visible), accepted: remembered. */
	n = frame_udp(f, &a, 1000, &b, 53);
	frag4(f, 77, 0, true);
	check_state("first fragment", pass(t, f, n, T0, &r), CT_STATE_NEW);
	assert_true(r.frag_first);
	/* Its later fragment follows, with the flow's entry. */
	n = frame_udp(f, &a, 1000, &b, 53);
	frag4(f, 77, 4, false);
	check_state("later fragment", classify(t, f, n, T0 + 1, &r), CT_STATE_NEW);
	assert_true(r.frag_follow);
	assert_int_not_equal(r.entry, CT_ENTRY_NONE);
	assert_int_equal(ct_confirm(t, &r, T0 + 1), 0);
	/* Another datagram's later fragment has nothing to follow. */
	frag4(f, 78, 4, false);
	check_state("stray fragment", classify(t, f, n, T0 + 2, &r), INV);
	assert_int_equal(r.reason, CT_INVALID_FRAGMENT);
	/* A first fragment the rules did not accept leaves nothing. */
	n = frame_udp(f, &a, 1001, &b, 53);
	frag4(f, 79, 0, true);
	check_state("dropped first", classify(t, f, n, T0 + 3, &r), CT_STATE_NEW);
	frag4(f, 79, 4, false);
	check_state("after dropped first", classify(t, f, n, T0 + 4, &r), INV);
	/* The same datagram from the other side is another datagram. */
	n = frame_udp(f, &b, 53, &a, 1000);
	frag4(f, 77, 4, false);
	check_state("reversed", classify(t, f, n, T0 + 5, &r), INV);
	/* Remembered for CT_FRAG_TIMEOUT_S only. */
	n = frame_udp(f, &a, 1000, &b, 53);
	frag4(f, 77, 4, false);
	check_state("late fragment", classify(t, f, n,
	    T0 + CT_FRAG_TIMEOUT_S * HG_NS_PER_S, &r), INV);
	ct_table_stats(t, &st);
	assert_int_equal(st.frags_followed, 1);
	ct_table_destroy(t);
}

static void
test_not_tracked(void **state)
{
	struct ct_table *t = table(4, NULL);
	struct ct_timeouts to;
	struct pkt p;
	struct ct_result r;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.l3 = PKT_L3_ARP;
	check_state("ARP", ct_classify(t, &p, T0, &r), INV);
	assert_int_equal(r.reason, CT_INVALID_NOT_IP);
	ct_table_destroy(t);

	assert_int_equal(ct_table_create(&t, 0, NULL), -EINVAL);
	ct_timeouts_default(&to);
	to.icmp_s = 0;
	assert_int_equal(ct_table_create(&t, 4, &to), -EINVAL);
}

/* ---- under a flood ---- */

#define MS	(1000 * 1000ULL)

/* A host at 10.0.<n / 256>.<n % 256>. */
static struct host
host_n(unsigned n)
{
	char s[32];

	snprintf(s, sizeof(s), "10.0.%u.%u", n / 256 % 256, n % 256);
	return host(s);
}

/* A UDP flow from src:sport to dst:53, accepted; returns confirm's. */
static int
udp_new(struct ct_table *t, const struct host *src, uint16_t sport,
    const struct host *dst, uint64_t now_ns, struct ct_result *r)
{
	uint8_t f[FRAME_MAX];
	size_t len = frame_udp(f, src, sport, dst, 53);

	check_state("new UDP flow", classify(t, f, len, now_ns, r),
	    CT_STATE_NEW);
	return ct_confirm(t, r, now_ns);
}

/* Is src:sport -> dst:53 still in the table (found, not NEW-pending)? */
static bool
udp_known(struct ct_table *t, const struct host *src, uint16_t sport,
    const struct host *dst, uint64_t now_ns)
{
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	size_t len = frame_udp(f, src, sport, dst, 53);

	(void)classify(t, f, len, now_ns, &r);
	return r.entry != CT_ENTRY_NONE;
}

/* One host fills the table with unanswered flows; another host's new
 * flow still gets in, by evicting one of the flood's. */
static void
test_flood_evicts_unassured(void **state)
{
	struct host a = host("192.0.2.66"), b = host("192.0.2.7");
	struct host s = host("198.51.100.53");
	enum { N = 1024 };
	struct ct_table *t = table(N, NULL);
	struct ct_result r;
	struct ct_stats st;

	(void)state;
	assert_int_equal(ct_table_limit_sources(t, 100), 0);
	for (uint16_t i = 0; i < N; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s,
		    T0 + i, &r), 0);
	assert_int_equal(udp_new(t, &b, 5000, &s, T0 + N * MS, &r), 0);
	ct_table_stats(t, &st);
	assert_int_equal(st.in_use, N);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.table_full, 0);
	/* the victim is the flood's oldest: its first flow */
	assert_false(udp_known(t, &a, 1024, &s, T0 + N * MS + 1));
	assert_true(udp_known(t, &b, 5000, &s, T0 + N * MS + 1));
	/* and it keeps working for the next thousand new flows of others */
	for (unsigned i = 0; i < 1000; i++) {
		struct host h = host_n(i);

		assert_int_equal(udp_new(t, &h, 7000, &s,
		    T0 + (N + 1 + i) * MS, &r), 0);
	}
	ct_table_stats(t, &st);
	assert_int_equal(st.evicted, 1001);
	ct_table_destroy(t);
}

/* Answered flows are never evicted: a table of assured flows refuses a
 * new one (table_full) and the flows all survive a flood. */
static void
test_flood_spares_assured(void **state)
{
	struct host a = host("192.0.2.66"), c = host("192.0.2.8");
	struct host s = host("198.51.100.53");
	enum { N = 64 };
	struct ct_table *t = table(N, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct ct_stats st;
	size_t len;

	(void)state;
	assert_int_equal(ct_table_limit_sources(t, 100), 0);
	/* half answered UDP flows, a quarter established TCP ... */
	for (uint16_t i = 0; i < N / 2; i++) {
		assert_int_equal(udp_new(t, &c, (uint16_t)(2000 + i), &s, T0,
		    &r), 0);
		len = frame_udp(f, &s, 53, &c, (uint16_t)(2000 + i));
		check_state("reply", pass(t, f, len, T0, &r), EST);
	}
	for (uint16_t i = 0; i < N / 4; i++) {
		struct tcp_seg syn = { TCP_SYN, 100, 0, 1000, NO_WS, 0 };
		struct tcp_seg synack = { TCP_SYN | TCP_ACK, 500, 101, 1000,
		    NO_WS, 0 };
		struct tcp_seg ack = { TCP_ACK, 101, 501, 1000, NO_WS, 0 };
		uint16_t port = (uint16_t)(3000 + i);

		len = frame_tcp(f, &c, port, &s, 80, &syn);
		check_state("SYN", pass(t, f, len, T0, &r), CT_STATE_NEW);
		len = frame_tcp(f, &s, 80, &c, port, &synack);
		check_state("SYN-ACK", pass(t, f, len, T0, &r), EST);
		len = frame_tcp(f, &c, port, &s, 80, &ack);
		check_state("ACK", pass(t, f, len, T0, &r), EST);
		assert_int_equal(ct_entry_tcp_state(t, r.entry),
		    CT_TCP_ESTABLISHED);
	}
	/* ... and a quarter unanswered: the only ones a flood may take */
	for (uint16_t i = 0; i < N / 4; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s, T0,
		    &r), 0);
	for (uint16_t i = 0; i < 200; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(4000 + i), &s,
		    T0 + (1 + i) * MS, &r), 0);
	ct_table_stats(t, &st);
	assert_int_equal(st.evicted, 200);
	assert_int_equal(st.table_full, 0);
	for (uint16_t i = 0; i < N / 2; i++)
		assert_true(udp_known(t, &c, (uint16_t)(2000 + i), &s,
		    T0 + 300 * MS));

	/* once every entry is assured, a new flow is refused */
	t = (ct_table_destroy(t), table(4, NULL));
	for (uint16_t i = 0; i < 4; i++) {
		assert_int_equal(udp_new(t, &c, (uint16_t)(2000 + i), &s, T0,
		    &r), 0);
		len = frame_udp(f, &s, 53, &c, (uint16_t)(2000 + i));
		check_state("reply", pass(t, f, len, T0, &r), EST);
	}
	assert_int_equal(udp_new(t, &a, 1024, &s, T0 + MS, &r), -ENOSPC);
	ct_table_stats(t, &st);
	assert_int_equal(st.table_full, 1);
	assert_int_equal(st.evicted, 0);
	ct_table_destroy(t);
}

/* Among the oldest unassured flows the one whose source holds most goes:
 * a quiet host's old flow outlives the flood's newer ones.  And nothing
 * met at the same now_ns (the running batch) is taken. */
static void
test_flood_victim_choice(void **state)
{
	struct host a = host("192.0.2.66"), b = host("192.0.2.7");
	struct host c = host("192.0.2.8"), s = host("198.51.100.53");
	enum { N = 64 };
	struct ct_table *t = table(N, NULL);
	struct ct_result r;
	struct ct_stats st;

	(void)state;
	assert_int_equal(ct_table_limit_sources(t, 100), 0);
	assert_int_equal(udp_new(t, &b, 5000, &s, T0, &r), 0);
	for (uint16_t i = 0; i < N - 1; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s,
		    T0 + 1, &r), 0);
	assert_int_equal(udp_new(t, &c, 6000, &s, T0 + MS, &r), 0);
	assert_true(udp_known(t, &b, 5000, &s, T0 + MS + 1));
	assert_false(udp_known(t, &a, 1024, &s, T0 + MS + 1));
	ct_table_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	ct_table_destroy(t);

	/* every entry met at this instant: nothing may go, until later */
	t = table(4, NULL);
	for (uint16_t i = 0; i < 4; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s,
		    T0 + 5, &r), 0);
	assert_int_equal(udp_new(t, &c, 6001, &s, T0 + 5, &r), -ENOSPC);
	assert_int_equal(udp_new(t, &c, 6001, &s, T0 + 6, &r), 0);
	ct_table_stats(t, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.table_full, 1);
	ct_table_destroy(t);
}

/* A source that holds its share is refused its next flow before it can
 * evict anyone; other sources are not; freeing one lets it in again. */
static void
test_source_limit(void **state)
{
	struct host a = host("192.0.2.66"), b = host("192.0.2.7");
	struct host a6 = host("2001:db8::66"), s = host("198.51.100.53");
	struct host s6 = host("2001:db8:1::53");
	enum { N = 1000, BOUND = 100 };
	struct ct_table *t = table(N, NULL);
	struct ct_result r;
	struct ct_stats st;

	(void)state;
	assert_int_equal(ct_table_limit_sources(t, 0), -EINVAL);
	assert_int_equal(ct_table_limit_sources(t, 101), -EINVAL);
	assert_int_equal(ct_table_limit_sources(t, 10), 0);	/* 100 */
	for (uint16_t i = 0; i < BOUND; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s, T0,
		    &r), 0);
	assert_int_equal(udp_new(t, &a, 9999, &s, T0 + 1, &r), -EDQUOT);
	assert_int_equal(r.entry, CT_ENTRY_NONE);
	ct_table_stats(t, &st);
	assert_int_equal(st.src_limited, 1);
	assert_int_equal(st.table_full, 0);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.in_use, BOUND);
	/* others, an IPv6 source among them, are not limited */
	assert_int_equal(udp_new(t, &b, 5000, &s, T0 + 1, &r), 0);
	assert_int_equal(udp_new(t, &a6, 5000, &s6, T0 + 1, &r), 0);
	/* the flood's flows expire and the worker's sweep reclaims them:
	 * the source starts over */
	assert_int_equal(ct_expire(t, T0 + 31 * HG_NS_PER_S, 8 * N), 102);
	assert_int_equal(udp_new(t, &a, 9999, &s, T0 + 31 * HG_NS_PER_S, &r),
	    0);
	ct_table_stats(t, &st);
	assert_int_equal(st.src_limited, 1);
	ct_table_destroy(t);

	/* the default: 25% of the table, at least CT_SRC_MIN_ENTRIES */
	t = table(1024, NULL);
	for (uint16_t i = 0; i < 256; i++)
		assert_int_equal(udp_new(t, &a, (uint16_t)(1024 + i), &s, T0,
		    &r), 0);
	assert_int_equal(udp_new(t, &a, 9999, &s, T0, &r), -EDQUOT);
	ct_table_destroy(t);
}

/* ---- over a batch ---- */

/* Two packets of one new flow in one batch: both NEW, no entry; the
 * first confirm inserts, the second joins it. */
static void
test_bulk_same_flow(void **state)
{
	struct host a = host("192.0.2.1"), s = host("198.51.100.53");
	struct ct_table *t = table(16, NULL);
	uint8_t f[FRAME_MAX];
	struct ct_result r[2];
	struct ct_stats st;
	struct pkt p[2], *pp[2] = { &p[0], &p[1] };
	size_t len = frame_udp(f, &a, 1000, &s, 53);

	(void)state;
	for (int i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].data = f;
		p[i].len = (uint16_t)len;
		assert_int_equal(pkt_parse(&p[i], NULL), PKT_DROP_NONE);
	}
	ct_classify_bulk(t, pp, 2, T0, r);
	for (int i = 0; i < 2; i++) {
		check_state("bulk", r[i].state, CT_STATE_NEW);
		assert_int_equal(r[i].entry, CT_ENTRY_NONE);
	}
	assert_int_equal(ct_confirm(t, &r[0], T0), 0);
	assert_int_equal(ct_confirm(t, &r[1], T0), 0);
	assert_int_equal(r[1].entry, r[0].entry);
	ct_table_stats(t, &st);
	assert_int_equal(st.in_use, 1);
	assert_int_equal(st.created, 1);
	ct_table_destroy(t);
}

/* A pool of frames of a few flows, in every protocol and direction,
 * and malformed ones; random batches of them go through two tables,
 * one packet by packet, one in bulk, with the same confirms. */
enum { MIX_FLOWS = 24, MIX_FRAMES = MIX_FLOWS * 6 + 4 };

struct mix {
	uint8_t f[MIX_FRAMES][200];
	size_t len[MIX_FRAMES];
	unsigned n;
};

static void
mix_add(struct mix *m, const uint8_t *f, size_t len)
{
	assert_true(len <= sizeof(m->f[0]) && m->n < MIX_FRAMES);
	memcpy(m->f[m->n], f, len);
	m->len[m->n++] = len;
}

static void
mix_build(struct mix *m)
{
	struct host s = host("198.51.100.53"), s6 = host("2001:db8:1::53");
	uint8_t f[FRAME_MAX], in[FRAME_MAX], q[28];
	struct host c0, c1;
	size_t len;

	m->n = 0;
	for (unsigned i = 0; i < MIX_FLOWS; i++) {
		struct host c = host_n(i % 6), c6 = host("2001:db8::7");
		const struct host *cl = i % 4 == 3 ? &c6 : &c;
		const struct host *sv = i % 4 == 3 ? &s6 : &s;
		uint16_t port = (uint16_t)(1000 + i);
		struct tcp_seg syn = { TCP_SYN, 100, 0, 1000, NO_WS, 0 };
		struct tcp_seg synack = { TCP_SYN | TCP_ACK, 500, 101, 1000,
		    NO_WS, 0 };
		struct tcp_seg ack = { TCP_ACK, 101, 501, 1000, NO_WS, 0 };

		len = frame_udp(f, cl, port, sv, 53);
		mix_add(m, f, len);
		len = frame_udp(f, sv, 53, cl, port);
		mix_add(m, f, len);
		len = frame_tcp(f, cl, port, sv, 80, &syn);
		mix_add(m, f, len);
		len = frame_tcp(f, sv, 80, cl, port, &synack);
		mix_add(m, f, len);
		len = frame_tcp(f, cl, port, sv, 80, &ack);
		mix_add(m, f, len);
		len = frame_icmp(f, cl, sv, cl->v6 ? ICMP6_ECHO_REQUEST :
		    ICMP_ECHO_REQUEST, port, NULL, 0);
		mix_add(m, f, len);
	}
	/* an echo reply with no request, an error quoting flow 0's UDP
	 * (IPv4 header and ports), one with a truncated quote, a stray
	 * later fragment */
	c0 = host_n(0);
	c1 = host_n(1);
	len = frame_icmp(f, &s, &c0, ICMP_ECHO_REPLY, 77, NULL, 0);
	mix_add(m, f, len);
	len = frame_udp(in, &c0, 1000, &s, 53);
	memcpy(q, in + ETH_HDR_LEN, sizeof(q));
	len = frame_icmp(f, &s, &c0, ICMP_DEST_UNREACH, 0, q, sizeof(q));
	mix_add(m, f, len);
	len = frame_icmp(f, &s, &c0, ICMP_DEST_UNREACH, 0, q, 10);
	mix_add(m, f, len);
	len = frame_udp(f, &c1, 1001, &s, 53);
	frag4(f, 99, 4, false);
	mix_add(m, f, len);
}

static void
result_equal(unsigned batch, unsigned i, const struct ct_result *a,
    const struct ct_result *b)
{
	if (a->state != b->state || a->dir != b->dir ||
	    a->reason != b->reason || a->entry != b->entry ||
	    a->frag_first != b->frag_first ||
	    a->frag_follow != b->frag_follow ||
	    memcmp(&a->pending.tuple, &b->pending.tuple,
	    sizeof(a->pending.tuple)) != 0 ||
	    a->pending.tcp_seq != b->pending.tcp_seq ||
	    a->pending.icmp_reply_type != b->pending.icmp_reply_type ||
	    a->pending.len_bytes != b->pending.len_bytes)
		fail_msg("batch %u packet %u: per packet %s entry %u, bulk "
		    "%s entry %u", batch, i, ct_state_name(a->state),
		    a->entry, ct_state_name(b->state), b->entry);
}

static void
test_bulk_equals_single(void **state)
{
	static struct mix m;
	struct ct_table *one = table(48, NULL), *bulk = table(48, NULL);
	struct ct_result r1[PKT_BATCH_MAX], rb[PKT_BATCH_MAX];
	struct pkt p[PKT_BATCH_MAX], *pp[PKT_BATCH_MAX];
	struct ct_stats st1, stb;
	uint64_t now = T0, rng = 0x2545f4914f6cdd1dULL;

	(void)state;
	mix_build(&m);
	for (unsigned batch = 0; batch < 400; batch++) {
		unsigned n;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		/* mostly small batches, so flows go unseen and expire */
		n = 1 + (unsigned)(rng % (batch % 8 == 0 ? PKT_BATCH_MAX : 24));
		for (unsigned i = 0; i < n; i++) {
			unsigned k;

			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			k = (unsigned)(rng % m.n);
			memset(&p[i], 0, sizeof(p[i]));
			p[i].data = m.f[k];
			p[i].len = (uint16_t)m.len[k];
			assert_int_equal(pkt_parse(&p[i], NULL),
			    PKT_DROP_NONE);
			pp[i] = &p[i];
		}
		for (unsigned i = 0; i < n; i++)
			(void)ct_classify(one, pp[i], now, &r1[i]);
		ct_classify_bulk(bulk, pp, n, now, rb);
		for (unsigned i = 0; i < n; i++) {
			result_equal(batch, i, &r1[i], &rb[i]);
			/* accept two thirds, the same ones in both */
			if ((rng >> (i % 48)) % 3 == 0)
				continue;
			assert_int_equal(ct_confirm(one, &r1[i], now),
			    ct_confirm(bulk, &rb[i], now));
			assert_int_equal(r1[i].entry, rb[i].entry);
		}
		/* time moves by 0-8 s: flows expire, the table fills;
		 * now and then the worker's sweep runs */
		now += (rng >> 8) % (8 * HG_NS_PER_S);
		if (batch % 5 == 0)
			assert_int_equal(ct_expire(one, now, 4),
			    ct_expire(bulk, now, 4));
	}
	ct_table_stats(one, &st1);
	ct_table_stats(bulk, &stb);
	assert_memory_equal(&st1, &stb, sizeof(st1));
	assert_true(st1.created > 100);
	assert_true(st1.expired > 0);
	assert_true(st1.evicted > 0 && st1.table_full > 0);
	ct_table_destroy(one);
	ct_table_destroy(bulk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_life),
		cmocka_unit_test(test_tcp_rst),
		cmocka_unit_test(test_tcp_wscale),
		cmocka_unit_test(test_tcp_bad_start),
		cmocka_unit_test(test_tcp_reopen_counts),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp6_nd_untracked),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expiry_lazy),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_pool_fixed),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_not_tracked),
		cmocka_unit_test(test_flood_evicts_unassured),
		cmocka_unit_test(test_flood_spares_assured),
		cmocka_unit_test(test_flood_victim_choice),
		cmocka_unit_test(test_source_limit),
		cmocka_unit_test(test_bulk_same_flow),
		cmocka_unit_test(test_bulk_equals_single),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
