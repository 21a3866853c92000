/*
 * tests/unit/ip/test_router.c: the router stage driven directly, with
 * hand-made frames and a hand-set clock, for what the golden pcap cases
 * cannot reach cheaply: the bound of the resolution queue, giving up on a
 * silent neighbour, ICMP rate limiting and a full neighbour table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ip/ip.h"
#include "ip_test.h"
#include "lib/hg_time.h"

static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_h0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x20 };
static const uint8_t mac_gw[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x30 };

struct rig {
	struct pkt_pool *pool;
	struct ip_tables *t;
	struct ip_neigh_table *nt;
	struct ip_worker *w;
	uint64_t drops[IP_IF_MAX * PKT_DROP_COUNT];
	struct pkt_batch rx, tx;
};

static uint64_t
drops(const struct rig *r, uint16_t ifi, enum pkt_drop why)
{
	return r->drops[(size_t)ifi * PKT_DROP_COUNT + why];
}

/* if0 10.0.0.1/24 (hosts), if1 10.1.0.1/24 with gateway 10.1.0.254 for
 * 192.0.2.0/24. */
static int
rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	uint32_t gw = htonl(0x0a0100fe), pfx = htonl(0xc0000200);
	char err[128];

	assert_non_null(r);
	assert_int_equal(pkt_pool_create(&r->pool, 1024), 0);
	assert_int_equal(ip_tables_create(&r->t), 0);
	r->t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &r->t->ifs[i];

		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = htonl(0x0a000001 + ((uint32_t)i << 16));
		ifp->addr4[0].plen = 24;
	}
	assert_int_equal(ip_tables_add_connected(r->t, err, sizeof(err)), 0);
	assert_int_equal(ip_tables_add_route(r->t, AF_INET, (uint8_t *)&pfx, 24,
	    (uint8_t *)&gw, -1, false, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, 1024), 0);
	assert_int_equal(ip_worker_create(&r->w, r->pool, r->nt, r->drops), 0);
	*state = r;
	return 0;
}

static int
rig_teardown(void **state)
{
	struct rig *r = *state;

	ip_worker_destroy(r->w);
	ip_neigh_table_destroy(r->nt);
	ip_tables_free(r->t);
	pkt_pool_destroy(r->pool);
	free(r);
	return 0;
}

/* A UDP frame from host 10.0.0.2 on if0 to dst, parsed and ready. */
static struct pkt *
udp_frame(struct rig *r, uint32_t dst_host)
{
	struct pkt *p = pkt_alloc(r->pool);
	struct eth_hdr *eh;
	struct ip4_hdr *ip;
	struct udp_hdr *udp;

	assert_non_null(p);
	assert_non_null(pkt_append(p, ETH_HDR_LEN + IP4_HDR_LEN + 8 + 18));
	memset(p->data, 0, p->len);
	eh = pkt_eth(p);
	memcpy(eh->dst, mac_r0, ETH_ALEN);
	memcpy(eh->src, mac_h0, ETH_ALEN);
	eh->type_be = htons(ETH_P_IP);
	ip = (struct ip4_hdr *)(void *)(eh + 1);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(IP4_HDR_LEN + 8 + 18);
	ip->ttl = 64;
	ip->proto = IPPROTO_UDP_;
	ip->src_be = htonl(0x0a000002);
	ip->dst_be = htonl(dst_host);
	pkt_ip4_set_csum(ip);
	udp = (struct udp_hdr *)(void *)(ip + 1);
	udp->sport_be = htons(1234);
	udp->dport_be = htons(9);
	udp->len_be = htons(8 + 18);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	p->in_if = 0;
	return p;
}

/* Counts frames of tx that are ARP requests for target, then frees tx. */
static unsigned
tx_take(struct rig *r, uint16_t type, uint32_t arp_target, unsigned *other)
{
	unsigned n = 0;

	*other = 0;
	for (uint16_t i = 0; i < r->tx.n; i++) {
		struct pkt *p = r->tx.pkts[i];
		const struct arp_hdr *a = pkt_l3(p);

		if (ntohs(pkt_eth(p)->type_be) == type &&
		    (type != ETH_P_ARP || a->tpa_be == htonl(arp_target)))
			n++;
		else
			(*other)++;
	}
	pkt_batch_free(r->pool, &r->tx);
	return n;
}

static void
send_burst(struct rig *r, uint32_t dst, unsigned n, uint64_t now_ns)
{
	while (n > 0) {
		unsigned k = n > PKT_BURST ? PKT_BURST : n;

		for (unsigned i = 0; i < k; i++)
			r->rx.pkts[r->rx.n++] = udp_frame(r, dst);
		ip_test_route(r->w, r->t, &r->rx, &r->tx, now_ns);
		n -= k;
	}
}

static void
test_queue_bound_and_give_up(void **state)
{
	struct rig *r = *state;
	const struct ip_worker_stats *st = ip_worker_stats(r->w);
	uint64_t now = 1000 * HG_NS_PER_S;
	unsigned other, reqs;
	uint32_t free_before = r->pool->n_free;

	/* More packets than the queue holds toward an unresolved gateway:
	 * one ARP request, the rest of the queue's capacity held, the
	 * overflow dropped and counted. */
	send_burst(r, 0xc0000205, IP_PENDING_MAX + 10, now);
	reqs = tx_take(r, ETH_P_ARP, 0x0a0100fe, &other);
	assert_int_equal(reqs, 1);
	assert_int_equal(other, 0);
	assert_int_equal(drops(r, 0, PKT_DROP_NEIGH_QUEUE_FULL), 10);
	assert_true(ip_worker_has_pending(r->w));

	/* Retransmit once a second, IP_NEIGH_PROBES in all. */
	for (int s = 1; s < IP_NEIGH_PROBES; s++) {
		ip_poll(r->w, r->t, &r->tx, now + (uint64_t)s * HG_NS_PER_S - 1);
		assert_int_equal(tx_take(r, ETH_P_ARP, 0x0a0100fe, &other), 0);
		ip_poll(r->w, r->t, &r->tx, now + (uint64_t)s * HG_NS_PER_S);
		assert_int_equal(tx_take(r, ETH_P_ARP, 0x0a0100fe, &other), 1);
	}
	/* A second after the last probe: give up.  Every held packet is
	 * dropped as NEIGH_FAILED; host unreachable goes back to the sender,
	 * as many as the ICMP token bucket allows (a burst of 100). */
	ip_poll(r->w, r->t, &r->tx, now + IP_NEIGH_PROBES * HG_NS_PER_S);
	assert_int_equal(drops(r, 0, PKT_DROP_NEIGH_FAILED), IP_PENDING_MAX);
	assert_int_equal(st->icmp_errors_sent, 100);
	assert_int_equal(st->icmp_errors_ratelimited, IP_PENDING_MAX - 100);
	/* The errors go to 10.0.0.2, itself unresolved: they wait for it. */
	reqs = tx_take(r, ETH_P_ARP, 0x0a000002, &other);
	assert_int_equal(reqs, 1);
	assert_int_equal(other, 0);
	assert_true(ip_worker_has_pending(r->w));
	ip_worker_destroy(r->w);
	assert_int_equal(ip_worker_create(&r->w, r->pool, r->nt, r->drops), 0);
	assert_int_equal(r->pool->n_free, free_before);	/* nothing leaked */
}

static void
test_answer_releases_held(void **state)
{
	struct rig *r = *state;
	uint64_t now = 50 * HG_NS_PER_S;
	uint32_t gw_be = htonl(0x0a0100fe);
	unsigned other;
	struct pkt *reply;

	send_burst(r, 0xc0000207, 5, now);
	assert_int_equal(tx_take(r, ETH_P_ARP, 0x0a0100fe, &other), 1);
	/* The gateway answers on if1. */
	reply = pkt_alloc(r->pool);
	assert_int_equal(pkt_build_arp(reply, ARP_OP_REPLY, mac_r1, mac_gw,
	    gw_be, mac_r1, r->t->ifs[1].addr4[0].addr_be), 0);
	reply->in_if = 1;
	r->rx.pkts[r->rx.n++] = reply;
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now + 1000);
	ip_poll(r->w, r->t, &r->tx, now + 2000);
	assert_int_equal(r->tx.n, 5);
	for (uint16_t i = 0; i < r->tx.n; i++) {
		const struct pkt *p = r->tx.pkts[i];
		const struct ip4_hdr *ip = pkt_l3(p);

		assert_int_equal(p->out_if, 1);
		assert_memory_equal(pkt_eth(p)->dst, mac_gw, ETH_ALEN);
		assert_memory_equal(pkt_eth(p)->src, mac_r1, ETH_ALEN);
		assert_int_equal(ip->ttl, 63);
		assert_int_equal(pkt_csum(ip, IP4_HDR_LEN), 0);
	}
	pkt_batch_free(r->pool, &r->tx);
	assert_false(ip_worker_has_pending(r->w));
}

struct walk_count {
	unsigned n[IP_NEIGH_STATE_COUNT];
};

static void
count_state(const struct ip_neigh_info *ni, void *arg)
{
	((struct walk_count *)arg)->n[ni->state]++;
}

static void
test_neigh_table_full_and_unpin(void **state)
{
	struct ip_neigh_table *nt;
	struct ip_neigh_info keep;
	struct walk_count wc;
	uint32_t a;
	int rc = 0;
	unsigned added = 0;

	(void)state;
	assert_int_equal(ip_neigh_table_create(&nt, 64), 0);
	/* Capacity 64 slots; dynamic entries stop at 3/4 so probe chains
	 * stay short, static ones may use the next eighth; with no dynamic
	 * entry left to evict, 7/8 full is full. */
	for (a = 1; a <= 64 && rc == 0; a++) {
		uint32_t be = htonl(0x0a000000 + a);

		rc = ip_neigh_set_static(nt, 0, AF_INET, (uint8_t *)&be, mac_gw);
		if (rc == 0)
			added++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(added, 56);
	memset(&wc, 0, sizeof(wc));
	ip_neigh_walk(nt, 0, count_state, &wc);
	assert_int_equal(wc.n[IP_NEIGH_STATIC], 56);
	/* A reload that keeps only one: the rest become stale, not gone. */
	memset(&keep, 0, sizeof(keep));
	keep.family = AF_INET;
	a = htonl(0x0a000001);
	memcpy(keep.addr, &a, 4);
	ip_neigh_unpin_except(nt, &keep, 1);
	memset(&wc, 0, sizeof(wc));
	ip_neigh_walk(nt, 0, count_state, &wc);
	assert_int_equal(wc.n[IP_NEIGH_STATIC], 1);
	assert_int_equal(wc.n[IP_NEIGH_STALE], 55);
	ip_neigh_table_destroy(nt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_bound_and_give_up,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_answer_releases_held,
		    rig_setup, rig_teardown),
		cmocka_unit_test(test_neigh_table_full_and_unpin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
