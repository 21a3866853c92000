/*
 * tests/unit/dp/test_mirror.c: the COPY macro (src/dp/mirror.c).
 *
 * dp_vxlan_build() on hand-made frames: every outer field (Ethernet
 * type, IPv4/IPv6 header and checksum, UDP ports, length and checksum,
 * VXLAN flags and VNI), the inner bytes equal to the original frame, the
 * original untouched, and a frame cut to the egress MTU.
 *
 * Then the whole path in a data plane with no ports: rules compiled from
 * text, dp_fw_swap() building the sessions, a frame "received" on lan
 * and one "sent" on it, each copy routed by the router to the collector
 * (a static neighbour) with its Ethernet header written, counted once it
 * reaches the port, never copied again; the COPY rule's own matches; and
 * a collector that does not answer ARP costing only a few held copies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp/dp_priv.h"

static const uint8_t mac_h1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa0 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa1 };
static const uint8_t mac_col[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xc0 };

/* ---- frames ---------------------------------------------------------- */

/* Ethernet / IPv4 / TCP 10.1.0.2:40000 -> 10.2.0.2:80, payload_len
 * bytes of a pattern. */
static void
make_tcp4(struct pkt *p, uint16_t payload_len)
{
	uint8_t f[PKT_DATA_ROOM];
	struct eth_hdr *eth = (struct eth_hdr *)(void *)f;
	struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(eth + 1);
	struct tcp_hdr *th = (struct tcp_hdr *)(void *)(ip + 1);
	uint16_t l3 = (uint16_t)(IP4_HDR_LEN + sizeof(*th) + payload_len);

	memset(f, 0, sizeof(f));
	memcpy(eth->dst, mac_r0, ETH_ALEN);
	memcpy(eth->src, mac_h1, ETH_ALEN);
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

/* An ARP request from h1: a frame of no IP family. */
static void
make_arp(struct pkt *p)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff };
	static const uint8_t zero[ETH_ALEN];

	assert_int_equal(pkt_build_arp(p, 1, bcast, mac_h1, htonl(0x0a010002),
	    zero, htonl(0x0a010001)), 0);
}

/* ---- dp_vxlan_build --------------------------------------------------- */

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
	{ "IPv4 collector, small frame", FW_IPV4, 10, 1500, 0, 0, 64 },
	{ "IPv4 collector, full-size frame, jumbo MTU", FW_IPV4, 1460, 9000,
	    0, 0, 1514 },
	{ "IPv4 collector, 1514-byte frame, MTU 1500: cut by 50", FW_IPV4,
	    1460, 1500, 50, 0, 1464 },
	{ "IPv6 collector, small frame", FW_IPV6, 10, 1500, 0, 0, 64 },
	{ "IPv6 collector, 1514-byte frame, MTU 1500: cut by 70", FW_IPV6,
	    1460, 1500, 70, 0, 1444 },
	{ "--snaplen 64: exactly 64 bytes of a 1514-byte frame, no MTU cut",
	    FW_IPV4, 1460, 1500, 0, 64, 64 },
	{ "--snaplen 14: the Ethernet header only", FW_IPV6, 1460, 1500, 0,
	    14, 14 },
	{ "--snaplen 54: up to the TCP header", FW_IPV4, 100, 1500, 0, 54,
	    54 },
	{ "--snaplen above the frame: the whole frame", FW_IPV4, 10, 1500, 0,
	    2000, 64 },
	{ "--snaplen 1514, MTU 1500: the MTU cuts 50 more", FW_IPV4, 1460,
	    1500, 50, 1514, 1464 },
	{ "--snaplen 1480 under MTU 1500 + 50: nothing cut by the MTU",
	    FW_IPV4, 1460, 1530, 0, 1480, 1480 },
};

static uint16_t
rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void
check_outer(const struct build_case *bc, const struct pkt *c,
    const struct pkt *p, const struct dp_vxlan *v)
{
	bool v6 = bc->family == FW_IPV6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t over = (uint16_t)(ETH_HDR_LEN + ip_len + 8 + 8);
	uint16_t inner = bc->want_inner;
	const uint8_t *d = c->data;
	const uint8_t *udp = d + ETH_HDR_LEN + ip_len;
	const uint8_t *vx = udp + 8;

	print_message("case: %s\n", bc->what);
	assert_int_equal(c->len, over + inner);
	assert_int_equal(rd16(d + 12), v6 ? ETH_P_IPV6 : ETH_P_IP);
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
		assert_int_not_equal(rd16(udp + 6), 0);
		assert_int_equal(pkt_l4_csum6(ip, udp, rd16(udp + 4),
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
		assert_int_equal(rd16(udp + 6), 0);	/* RFC 7348 §5 */
	}
	assert_int_equal(rd16(udp), v->sport);
	assert_true(v->sport >= 49152);
	assert_int_equal(rd16(udp + 2), 4789);
	assert_int_equal(rd16(udp + 4), 8 + 8 + inner);
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
		struct dp_vxlan v = {
			.family = bc->family,
			.vni = 0x0a0b0c,
			.mtu_bytes = bc->mtu_bytes,
			.snap_bytes = bc->snap_bytes,
		};

		assert_non_null(p);
		assert_non_null(c);
		make_tcp4(p, bc->payload_len);
		v.sport = dp_vxlan_sport(p, true);
		if (bc->family == FW_IPV6) {
			v.src[0] = 0x20, v.src[1] = 0x01, v.src[15] = 1;
			v.dst[0] = 0x20, v.dst[1] = 0x01, v.dst[15] = 2;
		} else {
			v.src[0] = 10, v.src[1] = 9, v.src[3] = 1;
			v.dst[0] = 10, v.dst[1] = 9, v.dst[3] = 2;
		}
		before = *p;
		memcpy(bytes, p->data, p->len);
		print_message("case: %s\n", bc->what);
		assert_int_equal(dp_vxlan_build(c, p, &v), bc->want_cut);
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
	struct dp_vxlan v = { .family = FW_IPV4, .mtu_bytes = 49 };

	(void)state;
	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	p = pkt_alloc(pool);
	c = pkt_alloc(pool);
	make_tcp4(p, 0);
	print_message("case: MTU below the encapsulation itself\n");
	assert_int_equal(dp_vxlan_build(c, p, &v), -EMSGSIZE);
	v.mtu_bytes = 36 + 13;
	print_message("case: room for less than an Ethernet header\n");
	assert_int_equal(dp_vxlan_build(c, p, &v), -EMSGSIZE);
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
	assert_int_equal(dp_vxlan_sport(a, true), dp_vxlan_sport(b, true));
	((struct tcp_hdr *)pkt_l4(b))->sport_be = htons(40001);
	print_message("case: another port, (almost surely) another hash\n");
	assert_int_not_equal(dp_vxlan_sport(a, true), dp_vxlan_sport(b, true));
	pkt_pool_destroy(pool);
}

/* ---- the data plane --------------------------------------------------- */

/*
 * lan (if 0) 10.1.0.1/24, mon (if 1) 10.9.0.1/24; the collector 10.9.0.2
 * is a static neighbour on mon unless the case says otherwise.
 */
struct rig {
	struct dp *dp;
	struct dp_worker *w;
	struct ip_neigh_table *nt;
};

static void
rig_up(struct rig *r, const char *rules, bool collector_known)
{
	static const char names[2][FW_IFNAME_MAX] = { "lan", "mon" };
	struct dp_params params = { .n_workers = 1, .n_if = 2, .pool_bufs = 64 };
	struct fw_compile_env env = { .n_if = 2, .if_names = names,
	    .n_workers = 1 };
	struct fw_parse_opts o = { .family = FW_IPV4 };
	struct fw_ruleset *rs;
	struct fw_errs errs;
	struct ip_tables *t;
	struct dp_fw *fw;
	uint32_t col = htonl(0x0a090002);
	char err[128];

	assert_int_equal(ip_tables_create(&t), 0);
	t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &t->ifs[i];

		memcpy(ifp->name, names[i], sizeof(ifp->name));
		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = htonl(i ? 0x0a090001 : 0x0a010001);
		ifp->addr4[0].plen = 24;
	}
	assert_int_equal(ip_tables_add_connected(t, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, 64), 0);
	if (collector_known)
		assert_int_equal(ip_neigh_set_static(r->nt, 1, AF_INET,
		    (const uint8_t *)&col, mac_col), 0);
	assert_int_equal(dp_create(&r->dp, &params, t, r->nt), 0);
	r->w = r->dp->workers[0];

	assert_int_equal(fw_parse(rules, strlen(rules), &o, &rs, &errs), 0);
	fw = calloc(1, sizeof(*fw));
	assert_non_null(fw);
	assert_int_equal(fw_compile(rs, &env, &fw->prog4, &errs), 0);
	fw_ruleset_free(rs);
	dp_fw_swap(r->dp, fw);
	/* What the worker loads at the top of each loop turn. */
	r->w->fw = dp_fw(r->dp);
}

static void
rig_down(struct rig *r)
{
	dp_destroy(r->dp);
	ip_neigh_table_destroy(r->nt);
}

static struct dp_copy_stats
stats0(const struct rig *r)
{
	struct dp_copy_stats st[DP_COPY_MAX];

	assert_true(dp_copy_stats(r->dp, st, DP_COPY_MAX) >= 1);
	return st[0];
}

/* Hands tx to the "ports" the way dp_flush() does, without ports:
 * copies are counted, others copied; returns how many were copies. */
static unsigned
flush(struct rig *r, struct pkt **out, unsigned max)
{
	struct pkt_batch *tx = &r->w->tx;
	unsigned n_copies = 0, n = 0;

	for (uint16_t i = 0; i < tx->n; i++) {
		struct pkt *p = tx->pkts[i];

		if ((p->user >> 48) == DP_COPY_MAGIC)
			n_copies++;
		dp_mirror_tx(r->w, p, 1000);
		if (n < max)
			out[n++] = p;
		else
			pkt_free(r->w->pool, p);
	}
	tx->n = 0;
	return n_copies;
}

static void
check_copy_of(const struct pkt *c, const struct pkt *orig, uint32_t vni)
{
	const struct ip4_hdr *ip = pkt_l3(c);
	const uint8_t *vx = (const uint8_t *)pkt_l4(c) + 8;

	assert_int_equal(c->out_if, 1);
	assert_memory_equal(pkt_eth(c)->dst, mac_col, ETH_ALEN);
	assert_memory_equal(pkt_eth(c)->src, mac_r1, ETH_ALEN);
	assert_int_equal(ntohl(ip->src_be), 0x0a090001);
	assert_int_equal(ntohl(ip->dst_be), 0x0a090002);
	assert_int_equal(vx[6], vni);
	assert_int_equal(c->len, 50 + orig->len);
	assert_memory_equal(vx + 8, orig->data, orig->len);
}

static const char rules_all[] =
	"*filter\n"
	"-A MACRO_CUST -j COPY --from lan --to 10.9.0.2 --bidirectional\n"
	"COMMIT\n";

static void
test_dp_rx_tx(void **state)
{
	struct rig r;
	struct pkt *p, *q, *out[8];
	struct dp_copy_stats st;
	uint8_t bytes[PKT_DATA_ROOM];
	uint16_t len;

	(void)state;
	rig_up(&r, rules_all, true);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 100);
	p->in_if = 0;
	len = p->len;
	memcpy(bytes, p->data, len);

	print_message("case: a frame received on lan is copied to the collector\n");
	dp_mirror_rx(r.w, p, true, 1000);
	assert_memory_equal(bytes, p->data, len);
	assert_int_equal(r.w->tx.n, 1);
	assert_int_equal(flush(&r, out, 8), 1);
	check_copy_of(out[0], p, 1);
	st = stats0(&r);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.vni, 1);
	assert_true(st.active && st.bidirectional);
	pkt_free(r.w->pool, out[0]);

	print_message("case: a frame sent on lan is copied (--bidirectional)\n");
	p->out_if = 0;
	assert_true(pkt_batch_add(&r.w->tx, p));
	/* The original comes first, its copy is appended behind it and
	 * counted when the flush reaches it, not copied again. */
	assert_int_equal(flush(&r, out, 8), 1);
	assert_ptr_equal(out[0], p);
	check_copy_of(out[1], p, 1);
	assert_int_equal(stats0(&r).sent, 2);
	pkt_free(r.w->pool, out[1]);

	print_message("case: a frame sent on mon is not copied\n");
	p->out_if = 1;
	assert_true(pkt_batch_add(&r.w->tx, p));
	assert_int_equal(flush(&r, out, 8), 0);
	assert_int_equal(stats0(&r).sent, 2);

	print_message("case: a frame the parser refused is copied by a rule "
	    "without matches\n");
	q = pkt_alloc(r.w->pool);
	make_arp(q);
	q->in_if = 0;
	dp_mirror_rx(r.w, q, false, 1000);
	assert_int_equal(flush(&r, out, 8), 1);
	check_copy_of(out[0], q, 1);
	pkt_free(r.w->pool, out[0]);
	pkt_free(r.w->pool, q);
	pkt_free(r.w->pool, p);
	rig_down(&r);
}

static void
test_dp_loop(void **state)
{
	static const char rules[] =
	    "*filter\n"
	    "-A MACRO_CUST -j COPY --from mon --to 10.9.0.2 --bidirectional\n"
	    "COMMIT\n";
	struct rig r;
	struct pkt *p, *out[8];

	(void)state;
	rig_up(&r, rules, true);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 10);
	p->out_if = 1;
	print_message("case: the collector behind the mirrored interface: "
	    "one copy, no loop\n");
	assert_true(pkt_batch_add(&r.w->tx, p));
	assert_int_equal(flush(&r, out, 8), 1);
	assert_int_equal(r.w->tx.n, 0);
	assert_int_equal(stats0(&r).sent, 1);
	pkt_free(r.w->pool, out[0]);
	pkt_free(r.w->pool, out[1]);
	rig_down(&r);
}

struct match_case {
	const char *what;
	const char *rule;
	bool tcp_copied, arp_copied;
};

static const struct match_case match_cases[] = {
	{ "no matches: everything", "-j COPY --from lan --to 10.9.0.2",
	    true, true },
	{ "-p tcp: TCP only", "-p tcp -j COPY --from lan --to 10.9.0.2",
	    true, false },
	{ "-p udp: not TCP", "-p udp -j COPY --from lan --to 10.9.0.2",
	    false, false },
	{ "--dport 80", "-p tcp -m tcp --dport 80 -j COPY --from lan "
	    "--to 10.9.0.2", true, false },
	{ "-o lan: only what is sent", "-o lan -j COPY --from lan --to "
	    "10.9.0.2 --bidirectional", false, false },
	{ "-i lan: what is received", "-i lan -j COPY --from lan --to "
	    "10.9.0.2 --bidirectional", true, true },
	{ "-s of another network", "-s 192.0.2.0/24 -j COPY --from lan "
	    "--to 10.9.0.2", false, false },
};

static void
test_dp_matches(void **state)
{
	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(match_cases); i++) {
		const struct match_case *mc = &match_cases[i];
		char rules[512];
		struct pkt *p, *a, *out[8];
		struct rig r;
		unsigned got;

		snprintf(rules, sizeof(rules), "*filter\n-A MACRO_CUST %s\n"
		    "COMMIT\n", mc->rule);
		print_message("case: %s\n", mc->what);
		rig_up(&r, rules, true);
		p = pkt_alloc(r.w->pool);
		make_tcp4(p, 10);
		p->in_if = 0;
		a = pkt_alloc(r.w->pool);
		make_arp(a);
		a->in_if = 0;
		dp_mirror_rx(r.w, p, true, 1000);
		got = flush(&r, out, 8);
		assert_int_equal(got, mc->tcp_copied);
		if (got)
			pkt_free(r.w->pool, out[0]);
		assert_int_equal(pkt_parse(a, NULL), PKT_DROP_NONE);
		dp_mirror_rx(r.w, a, true, 1000);
		got = flush(&r, out, 8);
		assert_int_equal(got, mc->arp_copied);
		if (got)
			pkt_free(r.w->pool, out[0]);
		pkt_free(r.w->pool, p);
		pkt_free(r.w->pool, a);
		rig_down(&r);
	}
}

static void
test_dp_collector_down(void **state)
{
	struct rig r;
	struct pkt *p, *out[8];
	struct dp_copy_stats st;
	unsigned probes = 0;

	(void)state;
	rig_up(&r, rules_all, false);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 10);
	p->in_if = 0;
	print_message("case: unresolved collector: %u copies wait, the rest "
	    "are dropped\n", DP_COPY_HELD_MAX);
	for (int i = 0; i < 20; i++) {
		dp_mirror_rx(r.w, p, true, 1000);
		/* Only ARP probes for the collector leave. */
		for (uint16_t k = 0; k < r.w->tx.n; k++) {
			assert_int_equal(r.w->tx.pkts[k]->l3, PKT_L3_ARP);
			probes++;
			pkt_free(r.w->pool, r.w->tx.pkts[k]);
		}
		r.w->tx.n = 0;
	}
	assert_int_equal(probes, 1);
	st = stats0(&r);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 20 - DP_COPY_HELD_MAX);

	print_message("case: once the router gave up, the held copies count "
	    "as dropped and a new copy tries again\n");
	ip_poll(r.w->ipw, dp_tables(r.dp), &r.w->tx, 1000 +
	    DP_COPY_GIVE_UP_NS);
	r.w->tx.n = 0;	/* probes and errors: none that matter here */
	dp_mirror_rx(r.w, p, true, 1000 + DP_COPY_GIVE_UP_NS);
	st = stats0(&r);
	assert_int_equal(st.dropped, 20);
	(void)out;
	pkt_free(r.w->pool, p);
	rig_down(&r);
}

static void
test_dp_snaplen(void **state)
{
	static const char rules[] =
	    "*filter\n"
	    "-A MACRO_CUST -j COPY --from lan --to 10.9.0.2 --snaplen 60\n"
	    "COMMIT\n";
	struct rig r;
	struct pkt *p, *out[8];
	struct dp_copy_stats st;
	const uint8_t *vx;

	(void)state;
	rig_up(&r, rules, true);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 1000);
	p->in_if = 0;
	print_message("case: --snaplen 60: the VXLAN copy holds the frame's "
	    "first 60 bytes, not counted as truncated\n");
	dp_mirror_rx(r.w, p, true, 1000);
	assert_int_equal(flush(&r, out, 8), 1);
	vx = (const uint8_t *)pkt_l4(out[0]) + 8;
	assert_int_equal(out[0]->len, 50 + 60);
	assert_memory_equal(vx + 8, p->data, 60);
	st = stats0(&r);
	assert_int_equal(st.snaplen, 60);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.truncated, 0);
	pkt_free(r.w->pool, out[0]);
	pkt_free(r.w->pool, p);
	rig_down(&r);
}

/* ---- local destinations ------------------------------------------------ */

struct pcap_rec {
	uint32_t incl_len, orig_len;
	uint8_t data[PKT_DATA_ROOM];
};

/* Reads a capture mirror.c wrote: checks the header, returns the records
 * (up to max). */
static unsigned
read_pcap(const char *path, struct pcap_rec *recs, unsigned max)
{
	uint32_t fh[6], rh[4];
	unsigned n = 0;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(fh, sizeof(fh), 1, f), 1);
	assert_int_equal(fh[0], 0xa1b23c4d);	/* nanosecond pcap */
	assert_int_equal(fh[1], 2 | 4 << 16);	/* version 2.4 */
	assert_int_equal(fh[5], 1);		/* Ethernet */
	while (fread(rh, sizeof(rh), 1, f) == 1) {
		assert_true(n < max);
		assert_true(rh[2] <= rh[3] && rh[2] <= PKT_DATA_ROOM);
		assert_true(rh[1] < 1000000000u);
		recs[n].incl_len = rh[2];
		recs[n].orig_len = rh[3];
		assert_int_equal(fread(recs[n].data, 1, rh[2], f), rh[2]);
		n++;
	}
	fclose(f);
	return n;
}

struct pcap_case {
	const char *what;
	const char *opts;	/* after --to pcap:PATH */
	uint16_t snaplen;
};

static const struct pcap_case pcap_cases[] = {
	{ "pcap, whole frames, both directions", " --bidirectional", 0 },
	{ "pcap, --snaplen 40", " --bidirectional --snaplen 40", 40 },
};

static void
test_dp_pcap(void **state)
{
	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(pcap_cases); i++) {
		const struct pcap_case *pc = &pcap_cases[i];
		static struct pcap_rec recs[8];
		char path[64], rules[256];
		struct pkt *p, *a, *out[8];
		static uint8_t pb[PKT_DATA_ROOM], ab[PKT_DATA_ROOM];
		struct dp_copy_stats st;
		uint16_t cap, p_len, a_len;
		struct rig r;

		snprintf(path, sizeof(path), "/tmp/hg-test-mirror-%d.pcap",
		    (int)getpid());
		snprintf(rules, sizeof(rules), "*filter\n-A MACRO_CUST -j COPY "
		    "--from lan --to pcap:%s%s\nCOMMIT\n", path, pc->opts);
		print_message("case: %s\n", pc->what);
		rig_up(&r, rules, true);
		p = pkt_alloc(r.w->pool);
		make_tcp4(p, 300);
		p->in_if = 0;
		a = pkt_alloc(r.w->pool);
		make_arp(a);
		a->in_if = 0;
		/* Received: a TCP segment and an ARP request the parser
		 * refused; sent: the TCP segment again. */
		dp_mirror_rx(r.w, p, true, 1000);
		dp_mirror_rx(r.w, a, false, 1000);
		p->out_if = 0;
		assert_true(pkt_batch_add(&r.w->tx, p));
		/* Nothing goes to the router: the frame is the copy. */
		assert_int_equal(flush(&r, out, 8), 0);
		assert_ptr_equal(out[0], p);
		st = stats0(&r);
		assert_int_equal(st.to_kind, FW_COPY_TO_PCAP);
		assert_string_equal(st.local, path);
		assert_true(st.active);
		assert_int_equal(st.sent, 3);
		assert_int_equal(st.dropped, 0);
		p_len = p->len;
		memcpy(pb, p->data, p_len);
		a_len = a->len;
		memcpy(ab, a->data, a_len);
		rig_down(&r);	/* the writer empties the rings, the file closes */

		assert_int_equal(read_pcap(path, recs, 8), 3);
		cap = pc->snaplen ? pc->snaplen : p_len;
		assert_int_equal(recs[0].orig_len, p_len);
		assert_int_equal(recs[0].incl_len, cap);
		assert_memory_equal(recs[0].data, pb, cap);
		cap = pc->snaplen ? HG_MIN(a_len, pc->snaplen) : a_len;
		assert_int_equal(recs[1].orig_len, a_len);
		assert_int_equal(recs[1].incl_len, cap);
		assert_memory_equal(recs[1].data, ab, cap);
		assert_int_equal(recs[2].incl_len, recs[0].incl_len);
		assert_memory_equal(recs[2].data, recs[0].data,
		    recs[0].incl_len);
		unlink(path);
	}
}

/* A file that cannot keep up (a FIFO nobody reads): the worker never
 * waits, the copies the ring has no room for count as dropped. */
static void
test_dp_pcap_ring_full(void **state)
{
	char path[64], rules[256];
	struct dp_copy_stats st;
	struct pkt *p;
	struct rig r;
	int rd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);	/* as hexgated does */
	snprintf(path, sizeof(path), "/tmp/hg-test-mirror-%d.fifo",
	    (int)getpid());
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* A reader, so that the writer's open() does not wait for one. */
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	snprintf(rules, sizeof(rules), "*filter\n-A MACRO_CUST -j COPY "
	    "--from lan --to pcap:%s\nCOMMIT\n", path);
	rig_up(&r, rules, true);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 1460);
	p->in_if = 0;
	print_message("case: writer stuck on a full FIFO: copies beyond its "
	    "ring are dropped, counted\n");
	for (int i = 0; i < 2000; i++)
		dp_mirror_rx(r.w, p, true, 1000);
	st = stats0(&r);
	print_message("sent %llu, dropped %llu\n",
	    (unsigned long long)st.sent, (unsigned long long)st.dropped);
	assert_int_equal(st.sent + st.dropped, 2000);
	/* The FIFO holds at most 64 KiB (~43 frames), stdio a few more,
	 * the ring DP_COPY_RING_SLOTS. */
	assert_true(st.dropped >= 2000 - DP_COPY_RING_SLOTS - 100);
	assert_true(st.sent >= DP_COPY_RING_SLOTS);
	/* The reader goes away: the writer's writes fail (EPIPE), it
	 * says so once and empties the rings, and the close returns. */
	close(rd);
	pkt_free(r.w->pool, p);
	rig_down(&r);
	unlink(path);
}

/* What the host sees on a tap:NAME destination, through a packet socket
 * on it (root and /dev/net/tun; skipped otherwise). */
static void
test_dp_tap(void **state)
{
	char rules[256], name[IFNAMSIZ], buf[PKT_DATA_ROOM];
	struct sockaddr_ll sll;
	struct dp_copy_stats st;
	struct pkt *p;
	struct rig r;
	ssize_t n;
	int fd, got = 0;

	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
		skip();
	snprintf(name, sizeof(name), "hgmt%d", (int)getpid() % 100000);
	snprintf(rules, sizeof(rules), "*filter\n-A MACRO_CUST -j COPY "
	    "--from lan --to tap:%s --snaplen 100\nCOMMIT\n", name);
	rig_up(&r, rules, true);
	st = stats0(&r);
	if (!st.active) {
		rig_down(&r);
		skip();		/* no TAP here (a container without tun) */
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003));
	assert_true(fd >= 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(0x0003);	/* ETH_P_ALL */
	sll.sll_ifindex = (int)if_nametoindex(name);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	p = pkt_alloc(r.w->pool);
	make_tcp4(p, 500);
	p->in_if = 0;
	print_message("case: tap:NAME with --snaplen 100: the host reads the "
	    "frame's first 100 bytes on the TAP\n");
	dp_mirror_rx(r.w, p, true, 1000);
	assert_int_equal(stats0(&r).sent, 1);
	/* Only our frame: the TAP is NOARP without IPv6, so the host
	 * sends nothing on it itself. */
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (n == 100 && memcmp(buf, p->data, 100) == 0)
			got++;
	}
	assert_int_equal(got, 1);
	close(fd);
	pkt_free(r.w->pool, p);
	rig_down(&r);
	print_message("case: the TAP goes away with the last rule using it\n");
	assert_int_equal(if_nametoindex(name), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_sport),
		cmocka_unit_test(test_dp_rx_tx),
		cmocka_unit_test(test_dp_loop),
		cmocka_unit_test(test_dp_matches),
		cmocka_unit_test(test_dp_collector_down),
		cmocka_unit_test(test_dp_snaplen),
		cmocka_unit_test(test_dp_pcap),
		cmocka_unit_test(test_dp_pcap_ring_full),
		cmocka_unit_test(test_dp_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
