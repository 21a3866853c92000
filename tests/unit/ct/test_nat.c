/*
 * tests/unit/ct/test_nat.c: proves NAT in src/ct (nat.c).  Frames are
 * built with correct checksums, parsed with the real pkt_parse() from a
 * heap copy of exactly their length, and run through what a gateway does
 * with them: classify, DNAT set up and applied (PREROUTING), SNAT set up,
 * confirm, SNAT applied (POSTROUTING).  What leaves is read back as text
 * ("192.0.2.1:40000 > 198.51.100.2:80") and every checksum in it, quoted
 * packets included, is recomputed from scratch and compared.
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
#define T0		(1000 * HG_NS_PER_S)
#define FRAG_ID		4321	/* IPv4 id of the fragments built here */

/* ---- frame builder (after test_ct.c's), with real checksums ---- */


/* Offset of the transport checksum, or -1. */
static int
csum_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP_:
		return 16;
	case IPPROTO_UDP_:
		return 6;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		return 2;
	default:
		return -1;
	}
}

/* The transport checksum of l4 as it should be, from scratch. */
static uint16_t
l4_csum(const uint8_t *ip, uint8_t *l4, size_t l4_len, uint8_t proto)
{
	uint8_t buf[FRAME_MAX];
	int off = csum_off(proto);
	uint16_t c;

	memcpy(buf, l4, l4_len);
	memset(buf + off, 0, 2);
	if (ip[0] >> 4 == 4)
		c = pkt_l4_csum4((const struct ip4_hdr *)(const void *)ip, buf,
		    (uint16_t)l4_len, proto);
	else
		c = pkt_l4_csum6((const struct ip6_hdr *)(const void *)ip, buf,
		    (uint32_t)l4_len, proto);
	if (proto == IPPROTO_UDP_ && c == 0)
		c = 0xffff;
	return c;
}

/* Writes an IP packet around l4 at f; returns its length. */
static size_t
ip_packet(uint8_t *f, const struct host *src, const struct host *dst,
    uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	size_t hlen = src->v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	int off = csum_off(proto);
	uint16_t c;

	assert_true(l4_len + ETH_HDR_LEN + IP6_HDR_LEN <= FRAME_MAX);
	if (src->v6) {
		struct ip6_hdr ip = { .vtc_flow_be = htonl(0x60000000),
		    .plen_be = htons((uint16_t)l4_len), .nxt = proto,
		    .hlim = 64 };

		memcpy(ip.src, src->addr, 16);
		memcpy(ip.dst, dst->addr, 16);
		memcpy(f, &ip, sizeof(ip));
	} else {
		struct ip4_hdr ip = { .ver_ihl = 0x45, .ttl = 64,
		    .tot_len_be = htons((uint16_t)(IP4_HDR_LEN + l4_len)),
		    .id_be = htons(0x1234), .proto = proto };

		memcpy(&ip.src_be, src->addr, 4);
		memcpy(&ip.dst_be, dst->addr, 4);
		ip.csum_be = pkt_csum(&ip, sizeof(ip));
		memcpy(f, &ip, sizeof(ip));
	}
	memcpy(f + hlen, l4, l4_len);
	if (off >= 0 && l4_len >= (size_t)off + 2) {
		c = l4_csum(f, f + hlen, l4_len, proto);
		memcpy(f + hlen + off, &c, 2);
	}
	return hlen + l4_len;
}

static size_t
frame_ip(uint8_t *f, const struct host *src, const struct host *dst,
    uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	struct eth_hdr eth = { .dst = { 2, 0, 0, 0, 0, 2 },
	    .src = { 2, 0, 0, 0, 0, 1 } };

	eth.type_be = htons(src->v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(f, &eth, sizeof(eth));
	return ETH_HDR_LEN + ip_packet(f + ETH_HDR_LEN, src, dst, proto, l4,
	    l4_len);
}

static size_t
frame_tcp(uint8_t *f, const struct host *src, uint16_t sport,
    const struct host *dst, uint16_t dport, uint8_t flags, uint32_t seq,
    uint32_t ack)
{
	uint8_t l4[20] = { 0 };
	struct tcp_hdr th = { .sport_be = htons(sport),
	    .dport_be = htons(dport), .seq_be = htonl(seq),
	    .ack_be = htonl(ack), .flags = flags, .win_be = htons(8192),
	    .doff_res = 5 << 4 };

	memcpy(l4, &th, sizeof(th));
	return frame_ip(f, src, dst, IPPROTO_TCP_, l4, sizeof(l4));
}

static size_t
frame_udp(uint8_t *f, const struct host *src, uint16_t sport,
    const struct host *dst, uint16_t dport)
{
	struct udp_hdr uh = { .sport_be = htons(sport),
	    .dport_be = htons(dport), .len_be = htons(13) };
	uint8_t l4[13] = "....hexgate";	/* odd: the checksum pads */

	memcpy(l4, &uh, sizeof(uh));
	return frame_ip(f, src, dst, IPPROTO_UDP_, l4, sizeof(l4));
}

/* ICMP or ICMPv6 (by the family of src); the quote (an IP packet) is
 * appended after the 8-byte header; id goes into bytes 4-5. */
static size_t
frame_icmp(uint8_t *f, const struct host *src, const struct host *dst,
    uint8_t type, uint8_t code, uint16_t id, const uint8_t *quote,
    size_t quote_len)
{
	uint8_t l4[FRAME_MAX] = { type, code };
	uint16_t id_be = htons(id);

	memcpy(l4 + 4, &id_be, 2);
	memcpy(l4 + 6, "\x00\x01", 2);
	if (quote_len > 0)
		memcpy(l4 + 8, quote, quote_len);
	else
		quote_len = 8;		/* echo payload */
	return frame_ip(f, src, dst, src->v6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_,
	    l4, 8 + quote_len);
}

/* ---- packets and what they look like ---- */

static void
load(struct pkt *p, const uint8_t *f, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = malloc(len);
	assert_non_null(p->data);
	memcpy(p->data, f, len);
	p->len = (uint16_t)len;
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
}

static void
unload(struct pkt *p)
{
	free(p->data);
	p->data = NULL;
}

static void
addr_fmt(const uint8_t *a, bool v6, char *buf, size_t n)
{
	assert_non_null(inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf,
	    (socklen_t)n));
}

/* "src:sport > dst:dport" for TCP / UDP, "src > dst echo id N" or
 * "src > dst icmp T" for ICMP, of the IP packet at ip. */
static void
ip_fmt(const uint8_t *ip, char *buf, size_t n)
{
	bool v6 = ip[0] >> 4 == 6;
	const uint8_t *l4 = ip + (v6 ? IP6_HDR_LEN : (ip[0] & 0xf) * 4u);
	uint8_t proto = v6 ? ip[6] : ip[9];
	char s[64], d[64];
	uint16_t a, b;

	addr_fmt(ip + (v6 ? 8 : 12), v6, s, sizeof(s));
	addr_fmt(ip + (v6 ? 24 : 16), v6, d, sizeof(d));
	memcpy(&a, l4, 2);
	memcpy(&b, l4 + 2, 2);
	switch (proto) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		snprintf(buf, n, "%s:%u > %s:%u", s, ntohs(a), d, ntohs(b));
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		memcpy(&b, l4 + 4, 2);
		if (l4[0] == 0 || l4[0] == 8 || l4[0] == 128 || l4[0] == 129)
			snprintf(buf, n, "%s > %s echo id %u", s, d, ntohs(b));
		else
			snprintf(buf, n, "%s > %s icmp %u", s, d, l4[0]);
		break;
	default:
		snprintf(buf, n, "%s > %s proto %u", s, d, proto);
		break;
	}
}

static void
check_looks(const char *what, const struct pkt *p, const char *want)
{
	char got[160];

	ip_fmt(pkt_l3(p), got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: leaves as \"%s\", want \"%s\"", what, got, want);
}

/* The quoted packet of the ICMP error p, as text. */
static void
check_quote_looks(const char *what, const struct pkt *p, const char *want)
{
	char got[160];

	ip_fmt((const uint8_t *)pkt_l4(p) + 8, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: quotes \"%s\", want \"%s\"", what, got, want);
}

/*
 * Recomputes every checksum of the IP packet at ip (len bytes there)
 * and compares: the IPv4 header's, the transport's when the whole
 * segment is there, and those of a quoted packet, recursively.
 */
static void
check_csums(const char *what, const uint8_t *ip, size_t len)
{
	bool v6 = ip[0] >> 4 == 6;
	size_t hlen = v6 ? IP6_HDR_LEN : (ip[0] & 0xf) * 4u;
	uint8_t proto = v6 ? ip[6] : ip[9];
	size_t tot;
	uint8_t l4[FRAME_MAX];
	uint16_t got, want;
	int off;

	assert_true(len >= hlen);
	if (!v6) {
		uint8_t h[60];

		memcpy(h, ip, hlen);
		memset(h + 10, 0, 2);
		want = pkt_csum(h, hlen);
		memcpy(&got, ip + 10, 2);
		if (got != want)
			fail_msg("%s: IPv4 header checksum %04x, want %04x",
			    what, ntohs(got), ntohs(want));
		tot = ntohs(*(const uint16_t *)(const void *)(ip + 2));
	} else {
		tot = IP6_HDR_LEN +
		    ntohs(*(const uint16_t *)(const void *)(ip + 4));
	}
	off = csum_off(proto);
	if (tot > len || off < 0)
		return;		/* a cut quote: its sum cannot be checked */
	memcpy(l4, ip + hlen, tot - hlen);
	memcpy(&got, l4 + off, 2);
	if (!(proto == IPPROTO_UDP_ && !v6 && got == 0)) {
		want = l4_csum(ip, l4, tot - hlen, proto);
		if (got != want)
			fail_msg("%s: proto %u checksum %04x, want %04x", what,
			    proto, ntohs(got), ntohs(want));
	}
	if ((proto == IPPROTO_ICMP_ && l4[0] != 0 && l4[0] != 8) ||
	    (proto == IPPROTO_ICMPV6_ && l4[0] < 128))
		check_csums(what, ip + hlen + 8, tot - hlen - 8);
}

static void
check_pkt_csums(const char *what, const struct pkt *p)
{
	check_csums(what, pkt_l3(p), p->l3_len);
}

/* ---- the gateway ---- */

struct gw {
	struct ct_table *t;
	const struct ct_nat_range *dnat;	/* PREROUTING, or NULL */
	const struct ct_nat_range *snat;	/* POSTROUTING, or NULL */
	ct_nat_ok_fn ok;
	void *ok_arg;
};

/*
 * One packet through the gateway, rewritten in place; returns 0 or the
 * error that dropped it (setup or confirm).  DST is applied before
 * confirm (from the pending translation), SRC after (from the entry), so
 * both paths of ct_nat_rewrite() are used.
 */
static int
gw_pass(struct gw *g, struct pkt *p, uint64_t now_ns, struct ct_result *r)
{
	int error;

	if (ct_classify(g->t, p, now_ns, r) == CT_STATE_INVALID)
		return -EINVAL;
	if (r->state == CT_STATE_NEW && r->entry == CT_ENTRY_NONE &&
	    g->dnat != NULL) {
		error = ct_nat_setup(g->t, r, CT_MANIP_DST, g->dnat, g->ok,
		    g->ok_arg, now_ns);
		if (error != 0)
			return error;
	}
	(void)ct_nat_rewrite(g->t, r, p, CT_MANIP_DST);
	if (r->state == CT_STATE_NEW && r->entry == CT_ENTRY_NONE &&
	    g->snat != NULL) {
		error = ct_nat_setup(g->t, r, CT_MANIP_SRC, g->snat, g->ok,
		    g->ok_arg, now_ns);
		if (error != 0)
			return error;
	}
	error = ct_confirm(g->t, r, now_ns);
	if (error != 0)
		return error;
	(void)ct_nat_rewrite(g->t, r, p, CT_MANIP_SRC);
	return 0;
}

/* A frame through the gateway: it must pass, leave looking like want
 * (and quoting want_quote, unless NULL), with every checksum right. */
static void
gw_expect_quote(struct gw *g, const char *what, const uint8_t *f,
    size_t len, uint64_t now_ns, const char *want, const char *want_quote,
    struct ct_result *r)
{
	struct ct_result rr;
	struct pkt p;
	int error;

	load(&p, f, len);
	error = gw_pass(g, &p, now_ns, r != NULL ? r : &rr);
	if (error != 0)
		fail_msg("%s: dropped (%d)", what, error);
	check_looks(what, &p, want);
	if (want_quote != NULL)
		check_quote_looks(what, &p, want_quote);
	check_pkt_csums(what, &p);
	/* and it still parses: nothing the parser checks was broken */
	assert_int_equal(pkt_parse(&p, NULL), PKT_DROP_NONE);
	unload(&p);
}

static void
gw_expect(struct gw *g, const char *what, const uint8_t *f, size_t len,
    uint64_t now_ns, const char *want, struct ct_result *r)
{
	gw_expect_quote(g, what, f, len, now_ns, want, NULL, r);
}

static int
gw_try(struct gw *g, const uint8_t *f, size_t len, uint64_t now_ns,
    struct pkt *out)
{
	struct ct_result r;
	int error;

	load(out, f, len);
	error = gw_pass(g, out, now_ns, &r);
	return error;
}

/* A table without the per-source bound: these tests make many flows from
 * one or two clients on purpose (test_ct.c proves the bound). */
static struct ct_table *
table(uint32_t n)
{
	struct ct_table *t;

	assert_int_equal(ct_table_create(&t, n, NULL), 0);
	assert_int_equal(ct_table_limit_sources(t, 100), 0);
	return t;
}

static struct ct_nat_range
range(const char *lo, const char *hi, uint8_t flags, uint16_t plo,
    uint16_t phi)
{
	struct ct_nat_range rg = { .flags = flags, .port_lo = plo,
	    .port_hi = phi };
	struct host a = host(lo), b = host(hi);

	memcpy(rg.addr_lo, a.addr, 16);
	memcpy(rg.addr_hi, b.addr, 16);
	return rg;
}

static struct ct_nat_range
netmap(const char *prefix, uint8_t plen)
{
	struct ct_nat_range rg = range(prefix, prefix, CT_NAT_F_NETMAP, 0, 0);

	rg.plen = plen;
	return rg;
}

/* The source port (or echo id) of a packet after the gateway. */
static uint16_t
out_sport(const struct pkt *p)
{
	const uint8_t *l4 = pkt_l4(p);
	uint16_t v;

	memcpy(&v, l4 + (p->l4_proto == IPPROTO_TCP_ ||
	    p->l4_proto == IPPROTO_UDP_ ? 0 : 4), 2);
	return ntohs(v);
}

/* ---- SNAT ---- */

struct snat_case {
	const char *what;
	const char *client;
	uint16_t sport;
	bool keeps;		/* the port survives */
	uint16_t lo, hi;	/* else: where the new one lies */
};

/* Clients behind 203.0.113.1 talking to 198.51.100.2:80. */
static void
test_snat_ports(void **state)
{
	static const struct snat_case cases[] = {
		{ "first client keeps its port", "10.0.0.1", 40000, true,
		    0, 0 },
		{ "second client, same port: moved", "10.0.0.2", 40000,
		    false, 1024, 65535 },
		{ "third client, same port: moved elsewhere", "10.0.0.3",
		    40000, false, 1024, 65535 },
		{ "other port: kept", "10.0.0.2", 40001, true, 0, 0 },
		{ "privileged port kept", "10.0.0.1", 600, true, 0, 0 },
		{ "privileged port, taken: stays privileged", "10.0.0.2",
		    600, false, 1, 1023 },
	};
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct host s = host("198.51.100.2"), n = host("203.0.113.1");
	struct gw g = { .t = table(64), .snat = &rg };
	uint16_t used[HG_ARRAY_SIZE(cases)];
	uint8_t f[FRAME_MAX];
	char want[128];
	struct ct_stats st;

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct snat_case *c = &cases[i];
		struct host a = host(c->client);
		struct pkt p;
		size_t len;
		uint16_t port;

		len = frame_tcp(f, &a, c->sport, &s, 80, TCP_SYN, 1, 0);
		if (gw_try(&g, f, len, T0, &p) != 0)
			fail_msg("%s: dropped", c->what);
		check_pkt_csums(c->what, &p);
		port = out_sport(&p);
		snprintf(want, sizeof(want), "203.0.113.1:%u > 198.51.100.2:80",
		    port);
		check_looks(c->what, &p, want);
		if (c->keeps && port != c->sport)
			fail_msg("%s: port %u, want %u", c->what, port,
			    c->sport);
		if (!c->keeps && (port == c->sport || port < c->lo ||
		    port > c->hi))
			fail_msg("%s: port %u, want %u-%u other than %u",
			    c->what, port, c->lo, c->hi, c->sport);
		for (size_t j = 0; j < i; j++)
			if (used[j] == port)
				fail_msg("%s: port %u reused", c->what, port);
		used[i] = port;
		unload(&p);

		/* the server's SYN+ACK finds its way back */
		len = frame_tcp(f, &s, 80, &n, port, TCP_SYN | TCP_ACK, 9000,
		    2);
		snprintf(want, sizeof(want), "198.51.100.2:80 > %s:%u",
		    c->client, c->sport);
		gw_expect(&g, c->what, f, len, T0, want, NULL);
	}
	ct_table_stats(g.t, &st);
	assert_int_equal(st.nat_setup, HG_ARRAY_SIZE(cases));
	assert_int_equal(st.nat_remapped, 3);
	assert_int_equal(st.nat_no_tuple, 0);
	ct_table_destroy(g.t);
}

static int
reply_port_seen(const struct ct_flow_info *fi, void *arg)
{
	uint8_t *seen = arg;
	uint16_t port = ntohs(fi->reply.dport_be);

	if (seen[port])
		return -1;	/* two flows, one reply tuple */
	seen[port] = 1;
	return 0;
}

/* Thousands of clients, one port, one address: never a reply tuple
 * twice, and every reply reaches its own client. */
static void
test_snat_many(void **state)
{
	enum { N = 3000 };
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct host s = host("198.51.100.2"), n = host("203.0.113.1");
	struct gw g = { .t = table(N) };
	static uint16_t port_of[N];
	static uint8_t seen[65536];
	uint8_t f[FRAME_MAX];
	char want[128];

	(void)state;
	g.snat = &rg;
	for (uint32_t i = 0; i < N; i++) {
		char a_s[32];
		struct host a;
		struct pkt p;
		size_t len;

		snprintf(a_s, sizeof(a_s), "10.%u.%u.%u", i >> 16,
		    (i >> 8) & 0xff, i & 0xff);
		a = host(a_s);
		len = frame_udp(f, &a, 5000, &s, 53);
		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		port_of[i] = out_sport(&p);
		assert_true(port_of[i] >= 1024);
		unload(&p);
	}
	memset(seen, 0, sizeof(seen));
	assert_int_equal(ct_walk(g.t, T0, reply_port_seen, seen), 0);
	for (uint32_t i = 0; i < N; i += 97) {
		size_t len = frame_udp(f, &s, 53, &n, port_of[i]);

		snprintf(want, sizeof(want),
		    "198.51.100.2:53 > 10.%u.%u.%u:5000", i >> 16, (i >> 8) & 0xff, i & 0xff);
		gw_expect(&g, "reply to one of many", f, len, T0, want, NULL);
	}
	ct_table_destroy(g.t);
}

static unsigned ok_calls;

static bool
only_even(const struct ct_tuple *reply, void *arg)
{
	(void)arg;
	ok_calls++;
	return (ntohs(reply->dport_be) & 1) == 0;
}

/* ok() has the last word: an odd port is never chosen. */
static void
test_snat_ok(void **state)
{
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct host s = host("198.51.100.2");
	struct gw g = { .t = table(256), .ok = only_even };
	uint8_t f[FRAME_MAX];
	unsigned kept = 0;

	(void)state;
	g.snat = &rg;
	ok_calls = 0;
	for (uint16_t i = 0; i < 200; i++) {
		struct host a = host(i & 1 ? "10.0.0.1" : "10.0.0.2");
		uint16_t sport = (uint16_t)(30000 + i / 2 * 3);
		struct pkt p;
		size_t len = frame_udp(f, &a, sport, &s, 53);

		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		if (out_sport(&p) & 1)
			fail_msg("flow %u: odd port %u", i, out_sport(&p));
		kept += out_sport(&p) == sport;
		unload(&p);
	}
	/* the first client's even ports are kept (unless, rarely, a
	 * moved flow took one first); odd ones never */
	if (kept < 45 || kept > 50)
		fail_msg("%u ports kept, want about 50", kept);
	assert_true(ok_calls >= 200);
	ct_table_destroy(g.t);
}

/*
 * Four ports for five clients: the fifth is refused and counted; when
 * the flows expire their translations are free again.  Two flows of one
 * batch that chose the same translation: the second is refused at
 * confirm.
 */
static void
test_snat_exhaustion(void **state)
{
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1",
	    CT_NAT_F_PORTS, 2000, 2003);
	struct host s = host("198.51.100.2"), a;
	struct gw g = { .t = table(16) };
	struct ct_result r1, r2;
	struct pkt p, p2;
	uint8_t f[FRAME_MAX];
	struct ct_stats st;
	size_t len;

	(void)state;
	g.snat = &rg;
	for (int i = 1; i <= 5; i++) {
		char a_s[32];

		snprintf(a_s, sizeof(a_s), "10.0.0.%d", i);
		a = host(a_s);
		len = frame_udp(f, &a, 5000, &s, 53);
		if (gw_try(&g, f, len, T0, &p) != (i <= 4 ? 0 : -EADDRNOTAVAIL))
			fail_msg("client %d: wrong outcome", i);
		if (i <= 4 && (out_sport(&p) < 2000 || out_sport(&p) > 2003))
			fail_msg("client %d: port %u out of range", i,
			    out_sport(&p));
		unload(&p);
	}
	ct_table_stats(g.t, &st);
	assert_int_equal(st.nat_no_tuple, 1);
	assert_int_equal(st.in_use, 4);

	/* 30 s later the unreplied UDP flows are gone, and so is what
	 * they held: the fifth client gets through */
	assert_int_equal(ct_expire(g.t, T0 + 30 * HG_NS_PER_S, 100), 4);
	a = host("10.0.0.5");
	len = frame_udp(f, &a, 5000, &s, 53);
	assert_int_equal(gw_try(&g, f, len, T0 + 30 * HG_NS_PER_S, &p), 0);
	unload(&p);

	/* a batch: both set up before either is confirmed */
	a = host("10.0.1.1");
	len = frame_udp(f, &a, 7000, &s, 53);
	load(&p, f, len);
	a = host("10.0.1.2");
	len = frame_udp(f, &a, 7000, &s, 53);
	load(&p2, f, len);
	rg.port_lo = rg.port_hi = 2100;
	assert_int_equal(ct_classify(g.t, &p, T0 + 31 * HG_NS_PER_S, &r1),
	    CT_STATE_NEW);
	assert_int_equal(ct_classify(g.t, &p2, T0 + 31 * HG_NS_PER_S, &r2),
	    CT_STATE_NEW);
	assert_int_equal(ct_nat_setup(g.t, &r1, CT_MANIP_SRC, &rg, NULL, NULL,
	    T0 + 31 * HG_NS_PER_S), 0);
	assert_int_equal(ct_nat_setup(g.t, &r2, CT_MANIP_SRC, &rg, NULL, NULL,
	    T0 + 31 * HG_NS_PER_S), 0);
	assert_int_equal(ct_confirm(g.t, &r1, T0 + 31 * HG_NS_PER_S), 0);
	assert_int_equal(ct_confirm(g.t, &r2, T0 + 31 * HG_NS_PER_S),
	    -EADDRINUSE);
	ct_table_stats(g.t, &st);
	assert_int_equal(st.nat_clash, 1);
	/* a decided flow keeps its translation: setup again is a no-op */
	assert_int_equal(ct_nat_setup(g.t, &r1, CT_MANIP_SRC, &rg, NULL, NULL,
	    T0 + 31 * HG_NS_PER_S), 0);
	unload(&p);
	unload(&p2);
	ct_table_destroy(g.t);
}

/* ---- checksums, protocol by protocol ---- */

enum l4_kind { K_TCP, K_UDP, K_UDP_NOSUM, K_ECHO };

struct csum_case {
	const char *what;
	enum l4_kind kind;
	const char *client, *server, *nat;
	const char *want_out, *want_back;
};

/* SNAT to one fixed port (or id), 30000, so both address and port
 * change, and the reply back. */
static void
test_snat_csums(void **state)
{
	static const struct csum_case cases[] = {
		{ "TCP", K_TCP, "10.1.2.3", "198.51.100.2", "203.0.113.9",
		    "203.0.113.9:30000 > 198.51.100.2:80",
		    "198.51.100.2:80 > 10.1.2.3:1234" },
		{ "UDP", K_UDP, "10.1.2.3", "198.51.100.2", "203.0.113.9",
		    "203.0.113.9:30000 > 198.51.100.2:80",
		    "198.51.100.2:80 > 10.1.2.3:1234" },
		{ "UDP without checksum", K_UDP_NOSUM, "10.1.2.3",
		    "198.51.100.2", "203.0.113.9",
		    "203.0.113.9:30000 > 198.51.100.2:80",
		    "198.51.100.2:80 > 10.1.2.3:1234" },
		{ "ICMP echo", K_ECHO, "10.1.2.3", "198.51.100.2",
		    "203.0.113.9", "203.0.113.9 > 198.51.100.2 echo id 30000",
		    "198.51.100.2 > 10.1.2.3 echo id 1234" },
		{ "IPv6 TCP", K_TCP, "fd00::1:2:3", "2001:db8::2",
		    "2001:db8:ff::9", "2001:db8:ff::9:30000 > 2001:db8::2:80",
		    "2001:db8::2:80 > fd00::1:2:3:1234" },
		{ "IPv6 UDP", K_UDP, "fd00::1:2:3", "2001:db8::2",
		    "2001:db8:ff::9", "2001:db8:ff::9:30000 > 2001:db8::2:80",
		    "2001:db8::2:80 > fd00::1:2:3:1234" },
		{ "ICMPv6 echo", K_ECHO, "fd00::1:2:3", "2001:db8::2",
		    "2001:db8:ff::9",
		    "2001:db8:ff::9 > 2001:db8::2 echo id 30000",
		    "2001:db8::2 > fd00::1:2:3 echo id 1234" },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct csum_case *c = &cases[i];
		struct ct_nat_range rg = range(c->nat, c->nat, CT_NAT_F_PORTS,
		    30000, 30000);
		struct host a = host(c->client), s = host(c->server);
		struct host n = host(c->nat);
		struct gw g = { .t = table(8), .snat = &rg };
		uint8_t f[FRAME_MAX];
		struct ct_result r;
		size_t len = 0, back = 0;
		uint8_t fb[FRAME_MAX];

		switch (c->kind) {
		case K_TCP:
			len = frame_tcp(f, &a, 1234, &s, 80, TCP_SYN, 7, 0);
			back = frame_tcp(fb, &s, 80, &n, 30000,
			    TCP_SYN | TCP_ACK, 100, 8);
			break;
		case K_UDP:
		case K_UDP_NOSUM:
			len = frame_udp(f, &a, 1234, &s, 80);
			back = frame_udp(fb, &s, 80, &n, 30000);
			if (c->kind == K_UDP_NOSUM) {
				memset(f + ETH_HDR_LEN + IP4_HDR_LEN + 6, 0, 2);
				memset(fb + ETH_HDR_LEN + IP4_HDR_LEN + 6, 0,
				    2);
			}
			break;
		case K_ECHO:
			len = frame_icmp(f, &a, &s, a.v6 ? 128 : 8, 0, 1234,
			    NULL, 0);
			back = frame_icmp(fb, &s, &n, a.v6 ? 129 : 0, 0, 30000,
			    NULL, 0);
			break;
		}
		gw_expect(&g, c->what, f, len, T0, c->want_out, &r);
		gw_expect(&g, c->what, fb, back, T0, c->want_back, &r);
		if (r.state != CT_STATE_ESTABLISHED || r.dir != CT_DIR_REPLY)
			fail_msg("%s: reply is %s", c->what,
			    ct_state_name(r.state));
		if (c->kind == K_UDP_NOSUM) {
			struct pkt p;

			assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
			assert_int_equal(((uint8_t *)pkt_l4(&p))[6] |
			    ((uint8_t *)pkt_l4(&p))[7], 0);
			unload(&p);
		}
		ct_table_destroy(g.t);
	}
}

/* ---- DNAT and NETMAP ---- */

struct dnat_case {
	const char *what;
	uint16_t public_port;
	bool to_port;		/* forward to 3389 with a port range */
	const char *want_in, *want_back;
};

/* Remote desktop forwarded from 203.0.113.1 to 10.0.0.9:3389; the TCP
 * handshake must still be tracked to ESTABLISHED. */
static void
test_dnat_port_forward(void **state)
{
	static const struct dnat_case cases[] = {
		{ "3389 to 3389", 3389, false,
		    "192.0.2.50:50000 > 10.0.0.9:3389",
		    "203.0.113.1:3389 > 192.0.2.50:50000" },
		{ "13389 to 3389", 13389, true,
		    "192.0.2.50:50000 > 10.0.0.9:3389",
		    "203.0.113.1:13389 > 192.0.2.50:50000" },
	};
	struct host c = host("192.0.2.50"), pub = host("203.0.113.1");
	struct host b = host("10.0.0.9");

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct dnat_case *dc = &cases[i];
		struct ct_nat_range rg = range("10.0.0.9", "10.0.0.9",
		    dc->to_port ? CT_NAT_F_PORTS : 0, 3389, 3389);
		struct gw g = { .t = table(8), .dnat = &rg };
		uint8_t f[FRAME_MAX];
		struct ct_result r;
		size_t len;

		len = frame_tcp(f, &c, 50000, &pub, dc->public_port, TCP_SYN,
		    1000, 0);
		gw_expect(&g, dc->what, f, len, T0, dc->want_in, &r);
		len = frame_tcp(f, &b, 3389, &c, 50000, TCP_SYN | TCP_ACK,
		    5000, 1001);
		gw_expect(&g, dc->what, f, len, T0, dc->want_back, &r);
		len = frame_tcp(f, &c, 50000, &pub, dc->public_port, TCP_ACK,
		    1001, 5001);
		gw_expect(&g, dc->what, f, len, T0, dc->want_in, &r);
		if (ct_entry_tcp_state(g.t, r.entry) != CT_TCP_ESTABLISHED)
			fail_msg("%s: TCP state %s", dc->what,
			    ct_tcp_state_name(ct_entry_tcp_state(g.t,
			    r.entry)));
		ct_table_destroy(g.t);
	}
}

/* 10.0.0.0/24 <-> 172.16.0.0/24, host bits kept, either way. */
static void
test_netmap(void **state)
{
	struct ct_nat_range out = netmap("172.16.0.0", 24);
	struct ct_nat_range in = netmap("10.0.0.0", 24);
	struct host a = host("10.0.0.7"), s = host("198.51.100.2");
	struct host m = host("172.16.0.7"), m9 = host("172.16.0.9");
	struct host b = host("10.0.0.9");
	struct gw g = { .t = table(8), .snat = &out };
	uint8_t f[FRAME_MAX];
	size_t len;

	(void)state;
	len = frame_udp(f, &a, 4000, &s, 53);
	gw_expect(&g, "outbound source mapped", f, len, T0,
	    "172.16.0.7:4000 > 198.51.100.2:53", NULL);
	len = frame_udp(f, &s, 53, &m, 4000);
	gw_expect(&g, "its reply mapped back", f, len, T0,
	    "198.51.100.2:53 > 10.0.0.7:4000", NULL);

	g.snat = NULL;
	g.dnat = &in;
	len = frame_tcp(f, &s, 40000, &m9, 22, TCP_SYN, 1, 0);
	gw_expect(&g, "inbound destination mapped", f, len, T0,
	    "198.51.100.2:40000 > 10.0.0.9:22", NULL);
	len = frame_tcp(f, &b, 22, &s, 40000,
	    TCP_SYN | TCP_ACK, 1, 2);
	gw_expect(&g, "its reply mapped back", f, len, T0,
	    "172.16.0.9:22 > 198.51.100.2:40000", NULL);
	ct_table_destroy(g.t);
}

/* Two hosts ping one server with the same identifier. */
static void
test_icmp_echo_ids(void **state)
{
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct host a = host("10.0.0.1"), b = host("10.0.0.2");
	struct host s = host("198.51.100.2"), n = host("203.0.113.1");
	struct gw g = { .t = table(8), .snat = &rg };
	uint8_t f[FRAME_MAX];
	char want[128];
	uint16_t id_b;
	struct pkt p;
	size_t len;

	(void)state;
	len = frame_icmp(f, &a, &s, 8, 0, 77, NULL, 0);
	gw_expect(&g, "first host keeps id 77", f, len, T0,
	    "203.0.113.1 > 198.51.100.2 echo id 77", NULL);
	len = frame_icmp(f, &b, &s, 8, 0, 77, NULL, 0);
	assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
	id_b = out_sport(&p);
	assert_int_not_equal(id_b, 77);
	check_pkt_csums("second host", &p);
	unload(&p);

	len = frame_icmp(f, &s, &n, 0, 0, 77, NULL, 0);
	gw_expect(&g, "reply with 77 to the first", f, len, T0,
	    "198.51.100.2 > 10.0.0.1 echo id 77", NULL);
	len = frame_icmp(f, &s, &n, 0, 0, id_b, NULL, 0);
	gw_expect(&g, "reply with the new id to the second", f, len, T0,
	    "198.51.100.2 > 10.0.0.2 echo id 77", NULL);
	len = frame_icmp(f, &b, &s, 8, 0, 77, NULL, 0);
	snprintf(want, sizeof(want), "203.0.113.1 > 198.51.100.2 echo id %u",
	    id_b);
	gw_expect(&g, "second host's next request", f, len, T0, want, NULL);
	ct_table_destroy(g.t);
}

/* ---- ICMP errors about translated flows ---- */

enum err_quote { EQ_UDP, EQ_UDP_REPLY, EQ_TCP_CUT, EQ_ECHO };

struct nat_err_case {
	const char *what;
	bool v6;
	const char *from;	/* who sends the error */
	const char *to;		/* to whom, as it arrives */
	uint8_t type, code;
	enum err_quote quote;
	const char *want_outer, *want_quote;
};

/*
 * Flows of 10.0.0.5 (fd00::5) to 198.51.100.2 (2001:db8::2), SNATed to
 * 203.0.113.1 (2001:db8:ff::1) port / id 40000: UDP 5353 -> 53, TCP
 * 6000 -> 443, echo id 9.  The error quotes the packet as it was on the
 * sender's side; after the gateway it must read as the other side saw it.
 */
static void
test_icmp_errors(void **state)
{
	static const struct nat_err_case cases[] = {
		{ "time exceeded from a router", false, "192.0.2.254",
		    "203.0.113.1", 11, 0, EQ_UDP,
		    "192.0.2.254 > 10.0.0.5 icmp 11",
		    "10.0.0.5:5353 > 198.51.100.2:53" },
		{ "port unreachable from the server", false, "198.51.100.2",
		    "203.0.113.1", 3, 3, EQ_UDP,
		    "198.51.100.2 > 10.0.0.5 icmp 3",
		    "10.0.0.5:5353 > 198.51.100.2:53" },
		{ "frag needed quoting 8 bytes of TCP", false, "192.0.2.254",
		    "203.0.113.1", 3, 4, EQ_TCP_CUT,
		    "192.0.2.254 > 10.0.0.5 icmp 3",
		    "10.0.0.5:6000 > 198.51.100.2:443" },
		{ "time exceeded quoting a ping", false, "192.0.2.254",
		    "203.0.113.1", 11, 0, EQ_ECHO,
		    "192.0.2.254 > 10.0.0.5 icmp 11",
		    "10.0.0.5 > 198.51.100.2 echo id 9" },
		{ "unreachable from inside about a reply", false, "10.0.0.5",
		    "198.51.100.2", 3, 3, EQ_UDP_REPLY,
		    "203.0.113.1 > 198.51.100.2 icmp 3",
		    "198.51.100.2:53 > 203.0.113.1:40000" },
		{ "v6 packet too big from a router", true, "2001:db8:1::fe",
		    "2001:db8:ff::1", ICMP6_PACKET_TOO_BIG, 0, EQ_UDP,
		    "2001:db8:1::fe > fd00::5 icmp 2",
		    "fd00::5:5353 > 2001:db8::2:53" },
		{ "v6 port unreachable from the server", true, "2001:db8::2",
		    "2001:db8:ff::1", ICMP6_DEST_UNREACH, 4, EQ_UDP,
		    "2001:db8::2 > fd00::5 icmp 1",
		    "fd00::5:5353 > 2001:db8::2:53" },
		{ "v6 time exceeded quoting a ping", true, "2001:db8:1::fe",
		    "2001:db8:ff::1", ICMP6_TIME_EXCEEDED, 0, EQ_ECHO,
		    "2001:db8:1::fe > fd00::5 icmp 3",
		    "fd00::5 > 2001:db8::2 echo id 9" },
		{ "v6 unreachable from inside about a reply", true, "fd00::5",
		    "2001:db8::2", ICMP6_DEST_UNREACH, 4, EQ_UDP_REPLY,
		    "2001:db8:ff::1 > 2001:db8::2 icmp 1",
		    "2001:db8::2:53 > 2001:db8:ff::1:40000" },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct nat_err_case *c = &cases[i];
		const char *nat_s = c->v6 ? "2001:db8:ff::1" : "203.0.113.1";
		struct ct_nat_range rg = range(nat_s, nat_s, CT_NAT_F_PORTS,
		    40000, 40000);
		struct host a = host(c->v6 ? "fd00::5" : "10.0.0.5");
		struct host s = host(c->v6 ? "2001:db8::2" : "198.51.100.2");
		struct host n = host(nat_s);
		struct host from = host(c->from), to = host(c->to);
		struct gw g = { .t = table(8), .snat = &rg };
		uint8_t f[FRAME_MAX], q[FRAME_MAX];
		struct ct_result r;
		size_t len, qlen = 0;
		struct pkt p;

		/* the three flows, and a reply so the UDP one is
		 * established */
		len = frame_udp(f, &a, 5353, &s, 53);
		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		unload(&p);
		len = frame_udp(f, &s, 53, &n, 40000);
		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		unload(&p);
		len = frame_tcp(f, &a, 6000, &s, 443, TCP_SYN, 1, 0);
		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		unload(&p);
		len = frame_icmp(f, &a, &s, c->v6 ? 128 : 8, 0, 9, NULL, 0);
		assert_int_equal(gw_try(&g, f, len, T0, &p), 0);
		unload(&p);

		switch (c->quote) {
		case EQ_UDP:
			qlen = frame_udp(q, &n, 40000, &s, 53);
			break;
		case EQ_UDP_REPLY:
			qlen = frame_udp(q, &s, 53, &a, 5353);
			break;
		case EQ_TCP_CUT:
			qlen = frame_tcp(q, &n, 40000, &s, 443, TCP_SYN, 1, 0);
			qlen = ETH_HDR_LEN + IP4_HDR_LEN + 8;
			break;
		case EQ_ECHO:
			qlen = frame_icmp(q, &n, &s, c->v6 ? 128 : 8, 0, 40000,
			    NULL, 0);
			break;
		}
		len = frame_icmp(f, &from, &to, c->type, c->code, 0,
		    q + ETH_HDR_LEN, qlen - ETH_HDR_LEN);
		gw_expect_quote(&g, c->what, f, len, T0, c->want_outer,
		    c->want_quote, &r);
		if (r.state != CT_STATE_RELATED)
			fail_msg("%s: %s, want RELATED", c->what,
			    ct_state_name(r.state));
		ct_table_destroy(g.t);
	}
}

/* ---- more than one translation ---- */

/* An inside client reaches an inside server by the public address: DNAT
 * to the server, SNAT to the gateway so the answer comes back through
 * it. */
static void
test_hairpin(void **state)
{
	struct ct_nat_range dn = range("10.0.0.9", "10.0.0.9", 0, 0, 0);
	struct ct_nat_range sn = range("10.0.0.1", "10.0.0.1", 0, 0, 0);
	struct host a = host("10.0.0.5"), pub = host("203.0.113.1");
	struct host b = host("10.0.0.9"), gwa = host("10.0.0.1");
	struct gw g = { .t = table(8), .dnat = &dn, .snat = &sn };
	uint8_t f[FRAME_MAX];
	struct ct_stats st;
	size_t len;

	(void)state;
	len = frame_tcp(f, &a, 45000, &pub, 80, TCP_SYN, 1, 0);
	gw_expect(&g, "to the public address", f, len, T0,
	    "10.0.0.1:45000 > 10.0.0.9:80", NULL);
	len = frame_tcp(f, &b, 80, &gwa, 45000, TCP_SYN | TCP_ACK, 50, 2);
	gw_expect(&g, "the server's answer", f, len, T0,
	    "203.0.113.1:80 > 10.0.0.5:45000", NULL);
	ct_table_stats(g.t, &st);
	assert_int_equal(st.nat_setup, 2);
	ct_table_destroy(g.t);
}

/* An IPv6 range: each client keeps one address (PERSISTENT), inside the
 * range. */
static void
test_snat_ipv6_range(void **state)
{
	struct ct_nat_range rg = range("2001:db8:ff::100", "2001:db8:ff::1ff",
	    CT_NAT_F_PERSISTENT, 0, 0);
	struct gw g = { .t = table(64), .snat = &rg };
	uint8_t f[FRAME_MAX];

	(void)state;
	for (int c = 0; c < 4; c++) {
		char a_s[32], first[64] = "";

		snprintf(a_s, sizeof(a_s), "fd00::%d", c + 1);
		for (int srv = 0; srv < 4; srv++) {
			char s_s[32], got[64];
			struct host a = host(a_s), s;
			struct ct_result r;
			struct pkt p;
			size_t len;
			const uint8_t *src;

			snprintf(s_s, sizeof(s_s), "2001:db8:%d::2", srv + 1);
			s = host(s_s);
			len = frame_tcp(f, &a, 1000, &s, 443, TCP_SYN, 1, 0);
			load(&p, f, len);
			assert_int_equal(gw_pass(&g, &p, T0, &r), 0);
			check_pkt_csums("IPv6 range", &p);
			src = (const uint8_t *)pkt_l3(&p) + 8;
			addr_fmt(src, true, got, sizeof(got));
			if (memcmp(src, rg.addr_lo, 16) < 0 ||
			    memcmp(src, rg.addr_hi, 16) > 0)
				fail_msg("%s: %s outside the range", a_s, got);
			if (first[0] == '\0')
				strcpy(first, got);
			else if (strcmp(first, got) != 0)
				fail_msg("%s: %s then %s", a_s, first, got);
			unload(&p);
		}
	}
	ct_table_destroy(g.t);
}

/* A later fragment carries no ports: only its addresses change, in
 * either direction. */
static void
test_fragments(void **state)
{
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct host a = host("10.0.0.5"), s = host("198.51.100.2");
	struct host n = host("203.0.113.1");
	struct gw g = { .t = table(8), .snat = &rg };
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct pkt p;
	size_t len;

	(void)state;
	len = frame_udp(f, &a, 5353, &s, 53);
	frag4(f, FRAG_ID, 0, true);
	load(&p, f, len);
	assert_int_equal(gw_pass(&g, &p, T0, &r), 0);
	check_looks("first fragment", &p, "203.0.113.1:5353 > 198.51.100.2:53");
	unload(&p);
	len = frame_udp(f, &a, 5353, &s, 53);
	frag4(f, FRAG_ID, 4, false);
	load(&p, f, len);
	assert_int_equal(gw_pass(&g, &p, T0, &r), 0);
	assert_true(r.frag_follow);
	check_csums("later fragment", pkt_l3(&p), IP4_HDR_LEN);
	if (memcmp((uint8_t *)pkt_l3(&p) + 12, n.addr, 4) != 0)
		fail_msg("later fragment: source not translated");
	unload(&p);

	/* the answer, fragmented too */
	len = frame_udp(f, &s, 53, &n, 5353);
	frag4(f, FRAG_ID, 0, true);
	load(&p, f, len);
	assert_int_equal(gw_pass(&g, &p, T0, &r), 0);
	check_looks("reply first fragment", &p,
	    "198.51.100.2:53 > 10.0.0.5:5353");
	unload(&p);
	len = frame_udp(f, &s, 53, &n, 5353);
	frag4(f, FRAG_ID, 4, false);
	load(&p, f, len);
	assert_int_equal(gw_pass(&g, &p, T0, &r), 0);
	assert_true(r.frag_follow);
	check_csums("reply later fragment", pkt_l3(&p), IP4_HDR_LEN);
	if (memcmp((uint8_t *)pkt_l3(&p) + 16, a.addr, 4) != 0)
		fail_msg("reply later fragment: destination not translated");
	unload(&p);
	ct_table_destroy(g.t);
}

/* Setup refuses what it cannot do, and does nothing twice. */
static void
test_setup_rules(void **state)
{
	struct ct_nat_range rg = range("203.0.113.1", "203.0.113.1", 0, 0, 0);
	struct ct_nat_range bad = range("203.0.113.9", "203.0.113.1", 0, 0,
	    0);
	struct host a = host("10.0.0.5"), s = host("198.51.100.2");
	struct ct_table *t = table(8);
	uint8_t f[FRAME_MAX];
	struct ct_result r;
	struct pkt p;
	size_t len;

	(void)state;
	len = frame_udp(f, &a, 5353, &s, 53);
	load(&p, f, len);
	assert_int_equal(ct_classify(t, &p, T0, &r), CT_STATE_NEW);
	assert_int_equal(ct_nat_setup(t, &r, CT_MANIP_SRC, &bad, NULL, NULL,
	    T0), -EINVAL);
	assert_int_equal(ct_nat_setup(t, &r, 3, &rg, NULL, NULL, T0),
	    -EINVAL);
	assert_false(ct_nat_rewrite(t, &r, &p, CT_MANIP_SRC));
	assert_int_equal(ct_nat_setup(t, &r, CT_MANIP_SRC, &rg, NULL, NULL,
	    T0), 0);
	assert_int_equal(r.pending.nat, CT_MANIP_SRC);
	assert_false(ct_nat_rewrite(t, &r, &p, CT_MANIP_DST));
	assert_true(ct_nat_rewrite(t, &r, &p, CT_MANIP_SRC));
	assert_false(ct_nat_rewrite(t, &r, &p, CT_MANIP_SRC));
	unload(&p);
	ct_table_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snat_ports),
		cmocka_unit_test(test_snat_many),
		cmocka_unit_test(test_snat_ok),
		cmocka_unit_test(test_snat_exhaustion),
		cmocka_unit_test(test_snat_csums),
		cmocka_unit_test(test_dnat_port_forward),
		cmocka_unit_test(test_netmap),
		cmocka_unit_test(test_icmp_echo_ids),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_hairpin),
		cmocka_unit_test(test_snat_ipv6_range),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_setup_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
