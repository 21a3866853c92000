/*
 * tests/unit/ip/test_stages.c: the router's stages over a hand-made batch
 * (ip.h), run in the order src/dp/pipeline.c runs them, with what src/dp
 * does between them scripted by each case: PREROUTING may rewrite the
 * destination, the chain says what the firewall would decide, the host
 * side may take local traffic.  What is checked is what the router does:
 * which chain each packet is handed to (INPUT with no egress, FORWARD with
 * the egress), drops counted by reason, ICMP errors and TCP resets built
 * for REJECT, local traffic handed to the host, and rerouting.
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
	struct ip_vec v;
	/* What the scripted steps between the stages answer and saw. */
	struct ip_filter_result answer;
	bool punt_takes;
	unsigned filter_calls, punt_calls, prerouting_calls;
	uint32_t rewrite_dst;		/* PREROUTING's new destination */
	enum ip_next last_hook;
	uint16_t last_out_if;
};

static int
rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
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

/* PREROUTING as scripted: every IP packet counted, a DNAT-like case
 * rewrites the destination. */
static void
prerouting(struct rig *r)
{
	for (uint16_t i = 0; i < r->v.n; i++) {
		struct ip4_hdr *ip;

		if (r->v.next[i] != IP_NEXT_PREROUTING)
			continue;
		r->prerouting_calls++;
		if (r->rewrite_dst == 0)
			continue;
		ip = pkt_l3(r->v.pkts[i]);
		ip->dst_be = htonl(r->rewrite_dst);
		pkt_ip4_set_csum(ip);
		r->v.flags[i] |= IP_VF_DST_CHANGED;
	}
}

/* The chains as scripted: every packet gets r->answer. */
static void
chains(struct rig *r)
{
	for (uint16_t i = 0; i < r->v.n; i++) {
		if (r->v.next[i] != IP_NEXT_INPUT &&
		    r->v.next[i] != IP_NEXT_FORWARD)
			continue;
		r->filter_calls++;
		r->last_hook = r->v.next[i];
		r->last_out_if = r->v.next[i] == IP_NEXT_FORWARD ?
		    r->v.pkts[i]->out_if : IP_IF_NONE;
		r->v.verdict[i] = r->answer;
	}
}

/* The rest of src/dp's part: the host side takes HOST packets, nothing
 * is encapsulated. */
static void
host_and_post(struct rig *r)
{
	for (uint16_t i = 0; i < r->v.n; i++) {
		if (r->v.next[i] == IP_NEXT_HOST) {
			r->punt_calls++;
			pkt_free(r->pool, r->v.pkts[i]);
			r->v.pkts[i] = NULL;
			r->v.next[i] = IP_NEXT_NONE;
		} else if (r->v.next[i] == IP_NEXT_POSTROUTING) {
			r->v.next[i] = IP_NEXT_NEIGH;
		}
	}
}

static void
run(struct rig *r, struct pkt *p)
{
	uint64_t now = 1000 * HG_NS_PER_S;

	ip_vec_reset(&r->v);
	ip_vec_add(&r->v, p, IP_NEXT_RX);
	ip_input(r->w, r->t, &r->v, &r->tx, now);
	prerouting(r);
	ip_route(r->w, r->t, &r->v, 0, r->v.n, &r->tx, now);
	chains(r);
	ip_verdicts(r->w, r->t, &r->v, 0, r->v.n, &r->tx, now);
	ip_local(r->w, r->t, &r->v, 0, r->v.n, r->punt_takes ? 1 : 0,
	    &r->tx, now);
	host_and_post(r);
	ip_neigh_stage(r->w, r->t, &r->v, 0, r->v.n, &r->tx, now);
	for (uint16_t i = 0; i < r->v.n; i++)
		if (r->v.next[i] != IP_NEXT_NONE)
			fail_msg("packet %u left at step %u", i, r->v.next[i]);
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
	assert_int_equal(r->last_hook, IP_NEXT_FORWARD);
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
	assert_int_equal(r->last_hook, IP_NEXT_INPUT);
	assert_int_equal(r->last_out_if, IP_IF_NONE);
	assert_int_equal(r->punt_calls, 1);
	assert_int_equal(r->tx.n, 0);
	assert_int_equal(r->pool->n_free, r->pool->n_bufs);

	/* With no host side, UDP to us gets port unreachable as before. */
	r->punt_takes = false;
	run(r, frame(r, IPPROTO_UDP_, R0, 0, 0, 0, 4));
	assert_int_equal(r->punt_calls, 1);
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
	assert_int_equal(r->last_hook, IP_NEXT_FORWARD);
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
