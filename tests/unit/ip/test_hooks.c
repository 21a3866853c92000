/*
 * tests/unit/ip/test_hooks.c: the router's filter and punt hooks (ip.h),
 * which src/dp uses to put conntrack and the firewall on the packet path.
 * The hooks here are scripted by each case: they say what the firewall
 * would decide and record how the router called them; what is checked is
 * what the router does with each verdict: where it asks (INPUT with no
 * egress, FORWARD with the egress), drops counted by reason, ICMP errors
 * and TCP resets built for REJECT, and local traffic offered to the host.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ip/ip.h"
#include "lib/hg_time.h"

static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_h0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x20 };
static const uint8_t mac_h1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x21 };

#define H0	0x0a000002u	/* 10.0.0.2 on if0 */
#define R0	0x0a000001u	/* 10.0.0.1, ours on if0 */
#define H1	0x0a010005u	/* 10.1.0.5 on if1 */

struct rig {
	struct pkt_pool *pool;
	struct ip_tables *t;
	struct ip_neigh_table *nt;
	struct ip_worker *w;
	uint64_t drops[IP_IF_MAX * PKT_DROP_COUNT];
	struct pkt_batch rx, tx;
	/* What the scripted hooks answer and saw. */
	struct ip_filter_result answer;
	bool punt_takes;
	unsigned filter_calls, punt_calls, prerouting_calls;
	uint32_t rewrite_dst;		/* PREROUTING's new destination */
	enum ip_hook last_hook;
	uint16_t last_out_if;
};

static void
hook_filter(void *arg, struct pkt *p, enum ip_hook hook, uint16_t out_if,
    uint64_t now_ns, struct ip_filter_result *res)
{
	struct rig *r = arg;

	if (hook == IP_HOOK_PREROUTING) {
		/* Every IP packet, before the route lookup; a DNAT-like
		 * case rewrites the destination. */
		r->prerouting_calls++;
		*res = (struct ip_filter_result){ .action = IP_FILTER_ACCEPT };
		if (r->rewrite_dst != 0) {
			struct ip4_hdr *ip = pkt_l3(p);

			ip->dst_be = htonl(r->rewrite_dst);
			pkt_ip4_set_csum(ip);
			res->dst_changed = true;
		}
		return;
	}
	r->filter_calls++;
	r->last_hook = hook;
	r->last_out_if = out_if;
	*res = r->answer;
}

static bool
hook_punt(void *arg, struct pkt *p, uint64_t now_ns)
{
	struct rig *r = arg;

	r->punt_calls++;
	if (!r->punt_takes)
		return false;
	pkt_free(r->pool, p);
	return true;
}

static int
rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct ip_hooks h = { hook_filter, hook_punt, NULL };
	uint32_t a;
	char err[128];

	assert_non_null(r);
	assert_int_equal(pkt_pool_create(&r->pool, 256), 0);
	assert_int_equal(ip_tables_create(&r->t), 0);
	r->t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &r->t->ifs[i];

		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = htonl(R0 + ((uint32_t)i << 16));
		ifp->addr4[0].plen = 24;
	}
	assert_int_equal(ip_tables_add_connected(r->t, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, 64), 0);
	a = htonl(H0);
	assert_int_equal(ip_neigh_set_static(r->nt, 0, AF_INET,
	    (uint8_t *)&a, mac_h0), 0);
	a = htonl(H1);
	assert_int_equal(ip_neigh_set_static(r->nt, 1, AF_INET,
	    (uint8_t *)&a, mac_h1), 0);
	assert_int_equal(ip_worker_create(&r->w, r->pool, r->nt, r->drops), 0);
	h.arg = r;
	ip_worker_set_hooks(r->w, &h);
	*state = r;
	return 0;
}

static int
rig_teardown(void **state)
{
	struct rig *r = *state;

	pkt_batch_free(r->pool, &r->tx);
	ip_worker_destroy(r->w);
	ip_neigh_table_destroy(r->nt);
	ip_tables_free(r->t);
	pkt_pool_destroy(r->pool);
	free(r);
	return 0;
}

/* An IPv4 frame from H0 on if0: UDP, or TCP with flags, seq, ack and
 * payload bytes. */
static struct pkt *
frame(struct rig *r, uint8_t proto, uint32_t dst, uint8_t tcp_flags,
    uint32_t seq, uint32_t ack, uint16_t payload)
{
	uint16_t l4 = proto == IPPROTO_TCP_ ? 20 : 8;
	uint16_t tot = (uint16_t)(IP4_HDR_LEN + l4 + payload);
	struct pkt *p = pkt_alloc(r->pool);
	struct eth_hdr *eh;
	struct ip4_hdr *ip;

	assert_non_null(p);
	assert_non_null(pkt_append(p, (uint16_t)(ETH_HDR_LEN + tot)));
	memset(p->data, 0, p->len);
	eh = pkt_eth(p);
	memcpy(eh->dst, mac_r0, ETH_ALEN);
	memcpy(eh->src, mac_h0, ETH_ALEN);
	eh->type_be = htons(ETH_P_IP);
	ip = (struct ip4_hdr *)(void *)(eh + 1);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(tot);
	ip->ttl = 64;
	ip->proto = proto;
	ip->src_be = htonl(H0);
	ip->dst_be = htonl(dst);
	pkt_ip4_set_csum(ip);
	if (proto == IPPROTO_TCP_) {
		struct tcp_hdr *th = (struct tcp_hdr *)(void *)(ip + 1);

		th->sport_be = htons(40000);
		th->dport_be = htons(80);
		th->seq_be = htonl(seq);
		th->ack_be = htonl(ack);
		th->doff_res = 5 << 4;
		th->flags = tcp_flags;
		th->win_be = htons(1000);
		th->csum_be = pkt_l4_csum4(ip, th, (uint16_t)(l4 + payload),
		    IPPROTO_TCP_);
	} else {
		struct udp_hdr *u = (struct udp_hdr *)(void *)(ip + 1);

		u->sport_be = htons(1234);
		u->dport_be = htons(9);
		u->len_be = htons((uint16_t)(8 + payload));
	}
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	p->in_if = 0;
	return p;
}

static void
run(struct rig *r, struct pkt *p)
{
	r->rx.pkts[r->rx.n++] = p;
	ip_input(r->w, r->t, &r->rx, &r->tx, 1000 * HG_NS_PER_S);
}

static uint64_t
drops(const struct rig *r, enum pkt_drop why)
{
	return r->drops[why];	/* interface 0 */
}

static void
test_forward_drop(void **state)
{
	struct rig *r = *state;

	r->answer = (struct ip_filter_result){ .action = IP_FILTER_DROP,
	    .reason = PKT_DROP_FW_POLICY };
	run(r, frame(r, IPPROTO_UDP_, H1, 0, 0, 0, 10));
	assert_int_equal(r->prerouting_calls, 1);
	assert_int_equal(r->filter_calls, 1);
	assert_int_equal(r->last_hook, IP_HOOK_FORWARD);
	assert_int_equal(r->last_out_if, 1);
	assert_int_equal(r->tx.n, 0);
	assert_int_equal(drops(r, PKT_DROP_FW_POLICY), 1);
	assert_int_equal(r->pool->n_free, r->pool->n_bufs);
}

static void
test_forward_accept(void **state)
{
	struct rig *r = *state;
	const struct ip4_hdr *ip;

	r->answer = (struct ip_filter_result){ .action = IP_FILTER_ACCEPT };
	run(r, frame(r, IPPROTO_UDP_, H1, 0, 0, 0, 10));
	assert_int_equal(r->tx.n, 1);
	assert_int_equal(r->tx.pkts[0]->out_if, 1);
	ip = pkt_l3(r->tx.pkts[0]);
	assert_int_equal(ip->ttl, 63);		/* forwarded as usual */
	assert_int_equal(r->punt_calls, 0);
}

static void
test_forward_reject_icmp(void **state)
{
	struct rig *r = *state;
	const struct ip4_hdr *ip;
	const struct icmp_hdr *ic;

	r->answer = (struct ip_filter_result){
		.action = IP_FILTER_REJECT_ICMP, .icmp_type = 3,
		.icmp_code = 13, .reason = PKT_DROP_FW_REJECT };
	run(r, frame(r, IPPROTO_UDP_, H1, 0, 0, 0, 10));
	assert_int_equal(drops(r, PKT_DROP_FW_REJECT), 1);
	assert_int_equal(r->tx.n, 1);
	assert_int_equal(r->tx.pkts[0]->out_if, 0);
	ip = pkt_l3(r->tx.pkts[0]);
	assert_int_equal(ip->proto, IPPROTO_ICMP_);
	assert_int_equal(ntohl(ip->src_be), R0);
	assert_int_equal(ntohl(ip->dst_be), H0);
	ic = (const struct icmp_hdr *)(const void *)(ip + 1);
	assert_int_equal(ic->type, 3);
	assert_int_equal(ic->code, 13);
}

/* REJECT --reject-with tcp-reset: the RST Linux's nf_send_reset() sends. */
static void
test_reject_tcp_reset(void **state)
{
	static const struct {
		const char *what;
		uint8_t flags;
		uint16_t payload;
		uint32_t want_seq, want_ack;
		uint8_t want_flags;
	} cases[] = {
		{ "SYN: seq 0, ACK of seq+1", TCP_SYN, 0, 0, 1001,
		  TCP_RST | TCP_ACK },
		{ "data without ACK: ACK of seq+len", TCP_PSH, 7, 0, 1007,
		  TCP_RST | TCP_ACK },
		{ "FIN without ACK counts one", TCP_FIN, 0, 0, 1001,
		  TCP_RST | TCP_ACK },
		{ "segment with ACK: seq = its ack, RST only",
		  TCP_ACK | TCP_PSH, 5, 5000, 0, TCP_RST },
	};
	struct rig *r = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ip4_hdr *ip;
		const struct tcp_hdr *th;
		struct pkt *q;

		r->answer = (struct ip_filter_result){
			.action = IP_FILTER_REJECT_TCP_RESET,
			.reason = PKT_DROP_FW_REJECT };
		run(r, frame(r, IPPROTO_TCP_, H1, cases[i].flags, 1000, 5000,
		    cases[i].payload));
		if (r->tx.n != 1)
			fail_msg("%s: %u frames out", cases[i].what, r->tx.n);
		q = r->tx.pkts[0];
		ip = pkt_l3(q);
		th = (const struct tcp_hdr *)(const void *)(ip + 1);
		assert_int_equal(q->out_if, 0);
		assert_memory_equal(pkt_eth(q)->dst, mac_h0, ETH_ALEN);
		assert_int_equal(ntohs(ip->tot_len_be), 40);
		assert_int_equal(ip->ttl, 64);
		assert_int_equal(ntohs(ip->frag_be), IP4_DF);
		assert_int_equal(ntohl(ip->src_be), H1);	/* as the server */
		assert_int_equal(ntohl(ip->dst_be), H0);
		assert_int_equal(pkt_csum(ip, IP4_HDR_LEN), 0);
		assert_int_equal(ntohs(th->sport_be), 80);
		assert_int_equal(ntohs(th->dport_be), 40000);
		if (ntohl(th->seq_be) != cases[i].want_seq ||
		    ntohl(th->ack_be) != cases[i].want_ack ||
		    th->flags != cases[i].want_flags)
			fail_msg("%s: seq %u ack %u flags %#x", cases[i].what,
			    ntohl(th->seq_be), ntohl(th->ack_be), th->flags);
		assert_int_equal(th->win_be, 0);
		assert_int_equal(pkt_l4_csum4(ip, th, 20, IPPROTO_TCP_), 0);
		pkt_batch_free(r->pool, &r->tx);
	}
	/* Never a reset about a reset. */
	run(r, frame(r, IPPROTO_TCP_, H1, TCP_RST, 1000, 0, 0));
	assert_int_equal(r->tx.n, 0);
	assert_int_equal(drops(r, PKT_DROP_FW_REJECT), 5);
}

static void
test_input_punt(void **state)
{
	struct rig *r = *state;

	/* Accepted local TCP goes to the host side. */
	r->answer = (struct ip_filter_result){ .action = IP_FILTER_ACCEPT };
	r->punt_takes = true;
	run(r, frame(r, IPPROTO_TCP_, R0, TCP_SYN, 1, 0, 0));
	assert_int_equal(r->last_hook, IP_HOOK_INPUT);
	assert_int_equal(r->last_out_if, IP_IF_NONE);
	assert_int_equal(r->punt_calls, 1);
	assert_int_equal(r->tx.n, 0);
	assert_int_equal(r->pool->n_free, r->pool->n_bufs);

	/* With no host side, UDP to us gets port unreachable as before. */
	r->punt_takes = false;
	run(r, frame(r, IPPROTO_UDP_, R0, 0, 0, 0, 4));
	assert_int_equal(r->punt_calls, 2);
	assert_int_equal(r->tx.n, 1);
	assert_int_equal(((const struct icmp_hdr *)pkt_l4(r->tx.pkts[0]) +
	    0)->type, 3);
}

/* A destination PREROUTING rewrites is routed anew: addressed to us, it
 * is forwarded to the host behind (a port forward). */
static void
test_prerouting_reroutes(void **state)
{
	struct rig *r = *state;
	const struct ip4_hdr *ip;

	r->answer = (struct ip_filter_result){ .action = IP_FILTER_ACCEPT };
	r->punt_takes = true;
	r->rewrite_dst = H1;
	run(r, frame(r, IPPROTO_TCP_, R0, TCP_SYN, 1, 0, 0));
	assert_int_equal(r->punt_calls, 0);
	assert_int_equal(r->last_hook, IP_HOOK_FORWARD);
	assert_int_equal(r->last_out_if, 1);
	assert_int_equal(r->tx.n, 1);
	assert_int_equal(r->tx.pkts[0]->out_if, 1);
	ip = pkt_l3(r->tx.pkts[0]);
	assert_int_equal(ntohl(ip->dst_be), H1);
	assert_memory_equal(pkt_eth(r->tx.pkts[0])->dst, mac_h1, ETH_ALEN);
}

static void
test_input_drop_before_service(void **state)
{
	struct rig *r = *state;

	/* INPUT said no: nothing offered to the host, nothing answered. */
	r->answer = (struct ip_filter_result){ .action = IP_FILTER_DROP,
	    .reason = PKT_DROP_FW_DROP };
	r->punt_takes = true;
	run(r, frame(r, IPPROTO_UDP_, R0, 0, 0, 0, 4));
	assert_int_equal(r->filter_calls, 1);
	assert_int_equal(r->punt_calls, 0);
	assert_int_equal(r->tx.n, 0);
	assert_int_equal(drops(r, PKT_DROP_FW_DROP), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_drop, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(test_forward_accept, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(test_forward_reject_icmp,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_reject_tcp_reset,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_input_punt, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(test_prerouting_reroutes,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_input_drop_before_service,
		    rig_setup, rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
