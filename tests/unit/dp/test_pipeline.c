/*
 * tests/unit/dp/test_pipeline.c: the data plane's stages (src/dp/
 * pipeline.c) on hand-made batches, in a data plane with two null ports
 * (lan 10.1.0.1/24, a known network, and wan 10.9.0.1/24, masqueraded),
 * rules compiled from text, no threads.
 *
 *  - conntrack over the batch stops before the second packet of a new
 *    flow, so a burst that opens flows creates one entry each, and every
 *    packet of a masqueraded flow leaves with the same translation;
 *  - a packet dropped by each stage is counted with that stage's reason,
 *    POSTROUTING's own (a source over its share of the table) included;
 *  - the stages one by one: dp_conntrack, dp_filter and dp_postrouting
 *    leave each packet at the step the next stage expects.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp/dp_priv.h"
#include "lib/hg_time.h"

static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa0 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa1 };
static const uint8_t mac_h[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t mac_peer[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x20 };

#define LAN_HOST	0x0a010002u	/* 10.1.0.2 */
#define WAN_PEER	0x0a090002u	/* 10.9.0.2 */
#define WAN_ADDR	0x0a090001u	/* ours on wan */
#define NOW		(100 * HG_NS_PER_S)

static const char rules[] =
    "*nat\n"
    "-A PREROUTING_CUST -i wan -p udp --dport 8080 -j DNAT --to-destination 10.1.0.2:80\n"
    "-A PREROUTING_CUST -i wan -p udp --dport 9090 -j DNAT --to-destination 10.1.0.2:90\n"
    "-A POSTROUTING_CUST -o wan -j MASQUERADE\n"
    "COMMIT\n"
    "*filter\n"
    "-A FORWARD_CUST -p udp --dport 7 -j DROP\n"
    "-A FORWARD_CUST -p udp --dport 8 -j REJECT\n"
    "-A FORWARD_CUST -d 10.1.0.2 -p udp --dport 90 -j DROP\n"
    "COMMIT\n";

struct rig {
	struct dp *dp;
	struct dp_worker *w;
	struct ip_neigh_table *nt;
	struct io_port *ports[2];
};

/* The rig with n_workers workers; the tests drive worker 0. */
static int
rig_setup_n(void **state, uint16_t n_workers)
{
	static const char names[2][FW_IFNAME_MAX] = { "lan", "wan" };
	struct rig *r = calloc(1, sizeof(*r));
	struct dp_params params = { .n_workers = n_workers, .n_if = 2,
	    .pool_bufs = 512, .ct_entries = 1024 };
	struct fw_addr known = { .addr = { 10, 1 }, .mask = { 255, 255, 255 } };
	struct fw_compile_env env = { .n_if = 2, .if_names = names,
	    .n_known = 1, .known = &known, .n_workers = n_workers };
	struct fw_parse_opts o = { .family = FW_IPV4 };
	struct fw_ruleset *rs;
	struct fw_errs errs;
	struct ip_tables *t;
	struct dp_fw *fw;
	uint32_t a;
	char err[128];

	assert_non_null(r);
	assert_int_equal(ip_tables_create(&t), 0);
	t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &t->ifs[i];

		memcpy(ifp->name, names[i], sizeof(ifp->name));
		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = htonl(i ? WAN_ADDR : 0x0a010001);
		ifp->addr4[0].plen = 24;
		if (io_port_open(&r->ports[i], "null", n_workers, err,
		    sizeof(err)) != 0)
			fail_msg("null port: %s", err);
		params.ports[i] = r->ports[i];
	}
	assert_int_equal(ip_tables_add_connected(t, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, 64), 0);
	a = htonl(LAN_HOST);
	assert_int_equal(ip_neigh_set_static(r->nt, 0, AF_INET,
	    (const uint8_t *)&a, mac_h), 0);
	a = htonl(WAN_PEER);
	assert_int_equal(ip_neigh_set_static(r->nt, 1, AF_INET,
	    (const uint8_t *)&a, mac_peer), 0);
	assert_int_equal(dp_create(&r->dp, &params, t, r->nt), 0);
	r->w = r->dp->workers[0];
	/* Null ports do not steer; the rig's ports stand for afpacket
	 * ones, which deliver on the queue io_flow_queue() names. */
	r->dp->flow_exact = true;

	assert_int_equal(fw_parse(rules, strlen(rules), &o, &rs, &errs), 0);
	fw = calloc(1, sizeof(*fw));
	assert_non_null(fw);
	assert_int_equal(fw_compile(rs, &env, &fw->prog4, &errs), 0);
	fw_ruleset_free(rs);
	dp_fw_swap(r->dp, fw);
	/* What the worker loads at the top of each loop turn. */
	r->w->fw = dp_fw(r->dp);
	r->w->tables = dp_tables(r->dp);
	r->w->tunnels = r->dp->tunnels;
	*state = r;
	return 0;
}

static int
rig_setup(void **state)
{
	return rig_setup_n(state, 1);
}

static int
rig_setup2(void **state)
{
	return rig_setup_n(state, 2);
}

static int
rig_teardown(void **state)
{
	struct rig *r = *state;

	dp_destroy(r->dp);
	for (int i = 0; i < 2; i++)
		io_port_close(r->ports[i]);
	ip_neigh_table_destroy(r->nt);
	free(r);
	return 0;
}

/* A frame from the LAN host to dst with an IPv4 header and l4_len zero
 * bytes of proto behind it; *ip points at the header. */
static struct pkt *
frame(struct rig *r, uint32_t dst, uint8_t proto, uint8_t ttl,
    uint16_t l4_len, struct ip4_hdr **ip)
{
	struct pkt *p = pkt_alloc(r->w->pool);
	uint16_t tot = (uint16_t)(IP4_HDR_LEN + l4_len);
	struct eth_hdr *eh;

	assert_non_null(p);
	assert_non_null(pkt_append(p, (uint16_t)(ETH_HDR_LEN + tot)));
	memset(p->data, 0, p->len);
	eh = pkt_eth(p);
	memcpy(eh->dst, mac_r0, ETH_ALEN);
	memcpy(eh->src, mac_h, ETH_ALEN);
	eh->type_be = htons(ETH_P_IP);
	*ip = (struct ip4_hdr *)(void *)(eh + 1);
	(*ip)->ver_ihl = 0x45;
	(*ip)->tot_len_be = htons(tot);
	(*ip)->ttl = ttl;
	(*ip)->proto = proto;
	(*ip)->src_be = htonl(LAN_HOST);
	(*ip)->dst_be = htonl(dst);
	pkt_ip4_set_csum(*ip);
	p->in_if = 0;
	return p;
}

/* A UDP frame from the LAN host to dst:dport, source port sport. */
static struct pkt *
udp(struct rig *r, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t ttl)
{
	struct ip4_hdr *ip;
	struct pkt *p = frame(r, dst, IPPROTO_UDP_, ttl, 12, &ip);
	struct udp_hdr *u = (struct udp_hdr *)(void *)(ip + 1);

	u->sport_be = htons(sport);
	u->dport_be = htons(dport);
	u->len_be = htons(12);
	u->csum_be = pkt_l4_csum4(ip, u, 12, IPPROTO_UDP_);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	return p;
}

/* A TCP segment from the LAN host to WAN_PEER:80 with flags. */
static struct pkt *
tcp(struct rig *r, uint16_t sport, uint8_t flags, uint32_t seq)
{
	struct ip4_hdr *ip;
	struct pkt *p = frame(r, WAN_PEER, IPPROTO_TCP_, 64, 20, &ip);
	struct tcp_hdr *th = (struct tcp_hdr *)(void *)(ip + 1);

	th->sport_be = htons(sport);
	th->dport_be = htons(80);
	th->seq_be = htonl(seq);
	th->doff_res = 5 << 4;
	th->flags = flags;
	th->win_be = htons(1000);
	th->csum_be = pkt_l4_csum4(ip, th, 20, IPPROTO_TCP_);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	return p;
}

/* A UDP frame from the WAN peer to dst:dport. */
static struct pkt *
udp_from_wan(struct rig *r, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct pkt *p = udp(r, dst, sport, dport, 64);
	struct eth_hdr *eh = pkt_eth(p);
	struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(eh + 1);
	struct udp_hdr *u = (struct udp_hdr *)(void *)(ip + 1);

	memcpy(eh->dst, mac_r1, ETH_ALEN);
	memcpy(eh->src, mac_peer, ETH_ALEN);
	ip->src_be = htonl(WAN_PEER);
	pkt_ip4_set_csum(ip);
	u->csum_be = 0;
	u->csum_be = pkt_l4_csum4(ip, u, 12, IPPROTO_UDP_);
	p->in_if = 1;
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	return p;
}

static void
add(struct rig *r, struct pkt *p)
{
	ip_vec_add(&r->w->frame.v, p, IP_NEXT_RX);
}

static struct dp_if_stats
ifstats(const struct rig *r, uint16_t i)
{
	struct dp_if_stats st;

	dp_if_stats(r->dp, i, &st);
	return st;
}

/* Two new flows, three packets each, interleaved in one burst: one entry
 * per flow, every packet out, each flow with one translation. */
static void
test_new_flows_in_one_burst(void **state)
{
	struct rig *r = *state;
	struct ct_stats cs;
	struct dp_if_stats out;
	struct dp_frame *f = &r->w->frame;

	for (int k = 0; k < 3; k++) {
		add(r, udp(r, WAN_PEER, 5000, 53, 64));
		add(r, udp(r, WAN_PEER, 5001, 53, 64));
	}
	/* The stage itself: the batch stops where the first flow comes
	 * again, with both flows classified new before it. */
	ip_input(r->w->ipw, r->w->tables, &f->v, &r->w->tx, NOW);
	assert_int_equal(dp_conntrack(r->w, f, 0, IP_NEXT_PREROUTING, NOW), 2);
	assert_int_equal(f->ct[0].state, CT_STATE_NEW);
	assert_int_equal(f->ct[1].state, CT_STATE_NEW);
	assert_true(f->tracked[0] && f->tracked[1]);
	for (uint16_t i = 0; i < f->v.n; i++) {
		pkt_free(r->w->pool, f->v.pkts[i]);
		f->v.pkts[i] = NULL;
	}
	ip_vec_reset(&f->v);

	/* The whole pipeline: all six leave on wan, two entries. */
	for (int k = 0; k < 3; k++) {
		add(r, udp(r, WAN_PEER, 5000, 53, 64));
		add(r, udp(r, WAN_PEER, 5001, 53, 64));
	}
	dp_pipeline_rx(r->w, NOW);
	out = ifstats(r, 1);
	assert_int_equal(out.tx_pkts, 6);
	assert_int_equal(ifstats(r, 0).drops_total, 0);
	dp_ct_stats(r->dp, &cs);
	assert_int_equal(cs.created, 2);
	assert_int_equal(cs.nat_clash, 0);
	assert_int_equal(cs.in_use, 2);
}

/* A SYN may reopen a closed flow, which frees the entry an earlier
 * segment of the batch holds: it waits for the next range. */
static void
test_syn_after_segment_waits(void **state)
{
	struct rig *r = *state;
	struct dp_frame *f = &r->w->frame;

	add(r, tcp(r, 7000, TCP_SYN, 1000));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 1).tx_pkts, 1);
	/* The flow's entry held by the first, then a SYN of the same flow,
	 * then another flow's SYN. */
	add(r, tcp(r, 7000, TCP_SYN, 1000));
	add(r, tcp(r, 7000, TCP_SYN, 1000));
	add(r, tcp(r, 7001, TCP_SYN, 5000));
	ip_input(r->w->ipw, r->w->tables, &f->v, &r->w->tx, NOW);
	assert_int_equal(dp_conntrack(r->w, f, 0, IP_NEXT_PREROUTING, NOW), 1);
	assert_true(f->ct[0].entry != CT_ENTRY_NONE);
	assert_int_equal(dp_conntrack(r->w, f, 1, IP_NEXT_PREROUTING, NOW), 3);
	for (uint16_t i = 0; i < f->v.n; i++)
		pkt_free(r->w->pool, f->v.pkts[i]);
	ip_vec_reset(&f->v);
}

/* Each stage drops a packet of its own, counted with its reason. */
static void
test_each_stage_counts_its_drops(void **state)
{
	static const struct {
		const char *stage;
		uint32_t dst;
		uint16_t dport;
		uint8_t ttl;
		bool other_mac;
		enum pkt_drop why;
	} cases[] = {
		{ "ip_input", WAN_PEER, 53, 64, true, PKT_DROP_L2_OTHER_HOST },
		{ "ip_route", WAN_PEER, 53, 1, false, PKT_DROP_TTL_EXPIRED },
		{ "ip_route", 0xc0a80001u, 53, 64, false, PKT_DROP_NO_ROUTE },
		{ "dp_filter", WAN_PEER, 7, 64, false, PKT_DROP_FW_DROP },
		{ "ip_verdicts", WAN_PEER, 8, 64, false, PKT_DROP_FW_REJECT },
		{ "ip_local", 0x0a010001u, 9, 64, false,
		  PKT_DROP_LOCAL_NO_SERVICE },
	};
	struct rig *r = *state;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pkt *p = udp(r, cases[c].dst, 6000, cases[c].dport,
		    cases[c].ttl);
		uint64_t before = ifstats(r, 0).drops[cases[c].why];

		if (cases[c].other_mac)
			pkt_eth(p)->dst[5] ^= 0x55;
		add(r, p);
		dp_pipeline_rx(r->w, NOW);
		if (ifstats(r, 0).drops[cases[c].why] != before + 1)
			fail_msg("%s: %s not counted", cases[c].stage,
			    pkt_drop_name(cases[c].why));
	}
	/* Nothing was forwarded, and every buffer came back. */
	assert_int_equal(ifstats(r, 1).tx_pkts, 0);
}

/* POSTROUTING: a source that holds its share of the table (25% by
 * default) has its next new flow refused there, counted with its own
 * reason; the flows before it went on. */
static void
test_postrouting_source_limit(void **state)
{
	struct rig *r = *state;
	struct ct_stats cs;
	uint16_t port = 10000;

	while (ifstats(r, 0).drops[PKT_DROP_CT_SRC_LIMIT] == 0 &&
	    port < 12000) {
		for (int k = 0; k < 32; k++)
			add(r, udp(r, WAN_PEER, port++, 53, 64));
		dp_pipeline_rx(r->w, NOW);
	}
	dp_ct_stats(r->dp, &cs);
	assert_int_equal(cs.in_use, cs.max_entries / 4);
	assert_int_equal(ifstats(r, 1).tx_pkts, cs.in_use);
	assert_int_equal(ifstats(r, 0).drops[PKT_DROP_CT_SRC_LIMIT],
	    port - 10000 - cs.in_use);
	assert_int_equal(cs.src_limited, port - 10000 - cs.in_use);
}

/*
 * A port forward written as one DNAT rule: the WAN peer (no known
 * network) reaches the LAN host with no FORWARD rule, because the
 * default admits what a PREROUTING DNAT sent on; a FORWARD_CUST rule
 * that drops the translated flow still wins.
 */
static void
test_port_forward_needs_no_forward_rule(void **state)
{
	struct rig *r = *state;
	struct dp_if_stats lan0 = ifstats(r, 0), wan0 = ifstats(r, 1);

	add(r, udp_from_wan(r, WAN_ADDR, 6000, 8080));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 0).tx_pkts, lan0.tx_pkts + 1);
	assert_int_equal(ifstats(r, 1).drops_total, wan0.drops_total);

	add(r, udp_from_wan(r, WAN_ADDR, 6001, 9090));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 0).tx_pkts, lan0.tx_pkts + 1);
	assert_int_equal(ifstats(r, 1).drops[PKT_DROP_FW_DROP],
	    wan0.drops[PKT_DROP_FW_DROP] + 1);

	/* The same host and port without the DNAT still meets the
	 * policy. */
	add(r, udp_from_wan(r, LAN_HOST, 6002, 80));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 0).tx_pkts, lan0.tx_pkts + 1);
	assert_int_equal(ifstats(r, 1).drops[PKT_DROP_FW_POLICY],
	    wan0.drops[PKT_DROP_FW_POLICY] + 1);
}

/* The queue, so the worker, a reply from the LAN host's port 80 to the
 * WAN peer's port arrives on with two workers. */
static uint16_t
reply_queue(uint16_t peer_port)
{
	struct io_flow_key k;
	uint32_t a;

	memset(&k, 0, sizeof(k));
	a = htonl(LAN_HOST);
	memcpy(k.src, &a, 4);
	a = htonl(WAN_PEER);
	memcpy(k.dst, &a, 4);
	k.sport_be = htons(80);
	k.dport_be = htons(peer_port);
	k.l3 = PKT_L3_IP4;
	k.proto = IPPROTO_UDP_;
	return io_flow_queue(&k, 2);
}

struct flows_seen {
	unsigned n;
	struct ct_flow_info fi[4];
};

static int
flow_seen(const struct ct_flow_info *fi, void *arg)
{
	struct flows_seen *s = arg;

	if (s->n < 4)
		s->fi[s->n] = *fi;
	s->n++;
	return 0;
}

/*
 * With two workers a DNAT that changes the port (8080 -> 80) changes
 * where the server's replies steer.  The forward still goes through
 * worker 0, and its replies come back to it: when they would not, the
 * client's source port (not its address) is moved to one that steers
 * here; when they would, nothing else changes.
 */
static void
test_port_forward_replies_steer_back(void **state)
{
	struct rig *r = *state;
	struct flows_seen seen = { 0 };
	uint16_t away = 20000, here = 20000;
	uint16_t port;

	while (reply_queue(away) == 0)
		away++;
	while (reply_queue(here) != 0)
		here++;
	add(r, udp_from_wan(r, WAN_ADDR, away, 8080));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 0).tx_pkts, 1);
	assert_int_equal(ifstats(r, 1).drops_total, 0);
	add(r, udp_from_wan(r, WAN_ADDR, here, 8080));
	dp_pipeline_rx(r->w, NOW);
	assert_int_equal(ifstats(r, 0).tx_pkts, 2);

	assert_int_equal(dp_ct_walk(r->dp, NOW, flow_seen, &seen), 0);
	assert_int_equal(seen.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct ct_flow_info *fi = &seen.fi[i];
		uint32_t peer = htonl(WAN_PEER), host = htonl(LAN_HOST);

		/* Replies come from the LAN host's port 80, to the WAN
		 * peer's own address, on a port that steers to worker 0. */
		assert_memory_equal(fi->reply.src, &host, 4);
		assert_int_equal(ntohs(fi->reply.sport_be), 80);
		assert_memory_equal(fi->reply.dst, &peer, 4);
		port = ntohs(fi->reply.dport_be);
		assert_int_equal(reply_queue(port), 0);
		if (ntohs(fi->orig.sport_be) == here)
			assert_int_equal(port, here);
		else
			assert_int_equal(ntohs(fi->orig.sport_be), away);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_flows_in_one_burst,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_syn_after_segment_waits,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_each_stage_counts_its_drops,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_postrouting_source_limit,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(
		    test_port_forward_needs_no_forward_rule, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(
		    test_port_forward_replies_steer_back, rig_setup2,
		    rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
