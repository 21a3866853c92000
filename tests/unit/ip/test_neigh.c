/*
 * tests/unit/ip/test_neigh.c: the neighbour table under the floods of
 * issue 12 and at its bounds, driven through the router stage with
 * hand-made frames and a hand-set clock: off-subnet and on-subnet junk
 * leave room for a real neighbour, a recycled slot never reaches a packet
 * held for its old key, static entries always fit, one interface cannot
 * take another's room; and next hops are interned by hash.
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

#include "ip/ip_priv.h"
#include "ip_test.h"
#include "lib/hg_time.h"

static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_h1[ETH_ALEN] = { 0x02, 0, 0, 0, 1, 0x02 };
static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xaa };
static const uint8_t mac_b[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xbb };
static const uint8_t mac_zero[ETH_ALEN];

#define MS	(1000ULL * 1000)
#define T0	(1000 * HG_NS_PER_S)

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

static uint32_t
ip4(uint32_t host_order)
{
	return htonl(host_order);
}

/* if0: 10.0.0.1/15 and 2001:db8::1/64, the LAN under attack.
 * if1: 10.2.0.1/24, where forwarded traffic comes from (10.2.0.2). */
static struct rig *
rig_new(uint32_t nt_capacity)
{
	struct rig *r = calloc(1, sizeof(*r));
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char err[128];

	assert_non_null(r);
	assert_int_equal(pkt_pool_create(&r->pool, 4096), 0);
	assert_int_equal(ip_tables_create(&r->t), 0);
	r->t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &r->t->ifs[i];

		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = ip4(0x0a000001 + ((uint32_t)i << 17));
		ifp->addr4[0].plen = i ? 24 : 15;
	}
	r->t->ifs[0].n_addr6 = 1;
	memcpy(r->t->ifs[0].addr6[0].addr, a6, 16);
	r->t->ifs[0].addr6[0].plen = 64;
	assert_int_equal(ip_tables_add_connected(r->t, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, nt_capacity), 0);
	assert_int_equal(ip_worker_create(&r->w, r->pool, r->nt, r->drops), 0);
	return r;
}

static void
rig_free(struct rig *r)
{
	pkt_batch_free(r->pool, &r->tx);
	ip_worker_destroy(r->w);
	ip_neigh_table_destroy(r->nt);
	ip_tables_free(r->t);
	pkt_pool_destroy(r->pool);
	free(r);
}

static void
rx_flush(struct rig *r, uint64_t now)
{
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now);
	pkt_batch_free(r->pool, &r->tx);	/* answers are not looked at */
}

static void
rx_add(struct rig *r, struct pkt *p, uint64_t now)
{
	r->rx.pkts[r->rx.n++] = p;
	if (r->rx.n == PKT_BURST)
		rx_flush(r, now);
}

static struct pkt *
arp_frame(struct rig *r, uint16_t op, uint32_t spa, const uint8_t *sha,
    uint32_t tpa)
{
	struct pkt *p = pkt_alloc(r->pool);
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff };

	assert_non_null(p);
	assert_int_equal(pkt_build_arp(p, op, op == ARP_OP_REQUEST ? bcast :
	    mac_r0, sha, ip4(spa), op == ARP_OP_REQUEST ? mac_zero : mac_r0,
	    ip4(tpa)), 0);
	p->in_if = 0;
	return p;
}

/* A UDP frame from 10.2.0.2 on if1 to dst, parsed. */
static struct pkt *
udp_frame(struct rig *r, uint32_t dst)
{
	struct pkt *p = pkt_alloc(r->pool);
	struct eth_hdr *eh;
	struct ip4_hdr *ip;
	struct udp_hdr *udp;

	assert_non_null(p);
	assert_non_null(pkt_append(p, ETH_HDR_LEN + IP4_HDR_LEN + 8 + 18));
	memset(p->data, 0, p->len);
	eh = pkt_eth(p);
	memcpy(eh->dst, mac_r1, ETH_ALEN);
	memcpy(eh->src, mac_h1, ETH_ALEN);
	eh->type_be = htons(ETH_P_IP);
	ip = (struct ip4_hdr *)(void *)(eh + 1);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(IP4_HDR_LEN + 8 + 18);
	ip->ttl = 64;
	ip->proto = IPPROTO_UDP_;
	ip->src_be = ip4(0x0a020002);
	ip->dst_be = ip4(dst);
	pkt_ip4_set_csum(ip);
	udp = (struct udp_hdr *)(void *)(ip + 1);
	udp->sport_be = htons(1234);
	udp->dport_be = htons(9);
	udp->len_be = htons(8 + 18);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	p->in_if = 1;
	return p;
}

/* A neighbour solicitation for 2001:db8::1 from src with a source
 * link-layer option, on if0, parsed. */
static struct pkt *
ns_frame(struct rig *r, const uint8_t src[16])
{
	static const uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct pkt *p = pkt_alloc(r->pool);
	uint16_t l4_len = 8 + 16 + 8;
	struct eth_hdr *eh;
	struct ip6_hdr *ip;
	struct icmp6_hdr *ic;
	struct nd_opt_lladdr *o;

	assert_non_null(p);
	assert_non_null(pkt_append(p, ETH_HDR_LEN + IP6_HDR_LEN + l4_len));
	memset(p->data, 0, p->len);
	eh = pkt_eth(p);
	memcpy(eh->dst, mac_r0, ETH_ALEN);
	memcpy(eh->src, mac_a, ETH_ALEN);
	eh->type_be = htons(ETH_P_IPV6);
	ip = (struct ip6_hdr *)(void *)(eh + 1);
	ip->vtc_flow_be = htonl(6u << 28);
	ip->plen_be = htons(l4_len);
	ip->nxt = IPPROTO_ICMPV6_;
	ip->hlim = 255;
	memcpy(ip->src, src, 16);
	memcpy(ip->dst, target, 16);
	ic = (struct icmp6_hdr *)(void *)(ip + 1);
	ic->type = ICMP6_NEIGH_SOLICIT;
	memcpy(ic + 1, target, 16);
	o = (struct nd_opt_lladdr *)(void *)((uint8_t *)(ic + 1) + 16);
	o->type = ND_OPT_SOURCE_LLADDR;
	o->len = 1;
	memcpy(o->addr, mac_a, ETH_ALEN);
	ic->csum_be = pkt_l4_csum6(ip, ic, l4_len, IPPROTO_ICMPV6_);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	p->in_if = 0;
	return p;
}

/* Frames of tx: UDP ones sent out if0 to mac (counted), ARP requests for
 * target (counted in *arp).  Frees tx. */
static unsigned
tx_udp_to(struct rig *r, const uint8_t *mac, uint32_t arp_target,
    unsigned *arp)
{
	unsigned n = 0;

	*arp = 0;
	for (uint16_t i = 0; i < r->tx.n; i++) {
		const struct pkt *p = r->tx.pkts[i];
		const struct arp_hdr *a = pkt_l3(p);

		if (ntohs(pkt_eth(p)->type_be) == ETH_P_ARP &&
		    a->tpa_be == ip4(arp_target))
			(*arp)++;
		if (ntohs(pkt_eth(p)->type_be) == ETH_P_IP && p->out_if == 0 &&
		    memcmp(pkt_eth(p)->dst, mac, ETH_ALEN) == 0)
			n++;
	}
	pkt_batch_free(r->pool, &r->tx);
	return n;
}

/* A packet to dst through if1, an ARP request out, the answer from
 * mac, and the packet out to mac: the whole resolution, at now. */
static void
assert_resolves(struct rig *r, uint32_t dst, const uint8_t *mac,
    uint64_t now)
{
	unsigned arp;

	r->rx.pkts[r->rx.n++] = udp_frame(r, dst);
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now);
	assert_int_equal(tx_udp_to(r, mac, dst, &arp), 0);
	assert_int_equal(arp, 1);
	r->rx.pkts[r->rx.n++] = arp_frame(r, ARP_OP_REPLY, dst, mac,
	    0x0a000001);
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now + MS);
	ip_poll(r->w, r->t, &r->tx, now + 2 * MS);
	assert_int_equal(tx_udp_to(r, mac, dst, &arp), 1);
}

static void
test_floods_leave_room(void **state)
{
	struct rig *r = rig_new(65536);
	const struct ip_worker_stats *st = ip_worker_stats(r->w);
	struct ip_neigh_table_stats ts;
	uint64_t now = T0;
	uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb9 };
	const uint32_t n_off = 50000, n_fwd = 70000;

	(void)state;
	/* 50,000 requests for 10.0.0.1 from senders off every connected
	 * network: answered, not learned. */
	for (uint32_t i = 0; i < n_off; i++)
		rx_add(r, arp_frame(r, ARP_OP_REQUEST, 0xac100000 + i, mac_a,
		    0x0a000001), now);
	rx_flush(r, now);
	/* Solicitations from off-link IPv6 senders: the same. */
	for (uint32_t i = 0; i < 1000; i++) {
		src6[14] = (uint8_t)(i >> 8);
		src6[15] = (uint8_t)i;
		rx_add(r, ns_frame(r, src6), now);
	}
	rx_flush(r, now);
	assert_int_equal(st->neigh_learn_refused, n_off + 1000);
	assert_int_equal(st->arp_replies_sent, n_off);
	assert_int_equal(st->nd_adverts_sent, 1000);
	/* On-subnet junk: requests for someone else's address. */
	for (uint32_t i = 0; i < 5000; i++)
		rx_add(r, arp_frame(r, ARP_OP_REQUEST, 0x0a000100 + i, mac_a,
		    0x0a000063), now);
	rx_flush(r, now);
	assert_int_equal(drops(r, 0, PKT_DROP_L2_OTHER_HOST), 5000);
	ip_neigh_table_stats(r->nt, &ts);
	assert_int_equal(ts.entries, 0);

	/* On-subnet requests to us, spoofed from 20,000 senders: learned,
	 * but no more than gc_thresh3 of them. */
	for (uint32_t i = 0; i < 20000; i++)
		rx_add(r, arp_frame(r, ARP_OP_REQUEST, 0x0a000200 + i, mac_a,
		    0x0a000001), now);
	rx_flush(r, now);
	ip_neigh_table_stats(r->nt, &ts);
	assert_true(ts.entries <= IP_NEIGH_GC_THRESH3);
	assert_true(ts.entries >= IP_NEIGH_GC_THRESH2);

	/* Forwarded traffic to 70,000 addresses of the connected /15, over
	 * 1.4 s: never more than IP_NEIGH_UNRES_MAX resolutions at once. */
	for (uint32_t i = 0; i < n_fwd; i++) {
		rx_add(r, udp_frame(r, 0x0a008000 + i), now + i * 20000ULL);
		if (i % PKT_BURST == 0) {
			ip_poll(r->w, r->t, &r->tx, now + i * 20000ULL);
			pkt_batch_free(r->pool, &r->tx);
			ip_neigh_table_stats(r->nt, &ts);
			assert_true(ts.incomplete <= IP_NEIGH_UNRES_MAX);
		}
	}
	rx_flush(r, now + n_fwd * 20000ULL);
	now += n_fwd * 20000ULL;
	assert_true(drops(r, 1, PKT_DROP_NEIGH_UNRES_FULL) > 0);
	ip_neigh_table_stats(r->nt, &ts);
	print_message("# after the floods: %u entries, %u incomplete, "
	    "%llu recycled, %llu refused (unres)\n", ts.entries,
	    ts.incomplete, (unsigned long long)ts.recycled,
	    (unsigned long long)drops(r, 1, PKT_DROP_NEIGH_UNRES_FULL));
	assert_true(ts.entries <= IP_NEIGH_GC_THRESH3);

	/* A new neighbour, a moment after the flood: resolves. */
	assert_resolves(r, 0x0a00fffe, mac_b, now + IP_NEIGH_UNRES_MIN_AGE_NS);
	rig_free(r);
}

static void
test_recycled_slot_never_reaches_holder(void **state)
{
	struct rig *r = rig_new(1024);
	const struct ip_worker_stats *st = ip_worker_stats(r->w);
	struct ip_neigh_limits lim;
	struct ip_neigh_ref ra, rb;
	uint32_t a = 0x0a00000a, a_be = ip4(a), b = 0, b_be = 0, home;
	uint64_t now = T0;
	unsigned arp;

	(void)state;
	ip_neigh_limits_default(&lim);
	lim.unres_max = 1;
	ip_neigh_table_set_limits(r->nt, &lim);
	/* A packet for a is held, a's entry at its home slot. */
	r->rx.pkts[r->rx.n++] = udp_frame(r, a);
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now);
	pkt_batch_free(r->pool, &r->tx);
	ra = ip_neigh_find(r->nt, 0, AF_INET, (uint8_t *)&a_be);
	assert_non_null(ra.n);
	/* The table was empty: a sits at its home slot. */
	home = ip_neigh_home_slot(r->nt, 0, AF_INET, (uint8_t *)&a_be);
	/* b: another address whose probe sequence starts at the same slot. */
	for (uint32_t i = 0x0a000100; i < 0x0a00ffff && b == 0; i++) {
		uint32_t be = ip4(i);

		if (ip_neigh_home_slot(r->nt, 0, AF_INET, (uint8_t *)&be) == home)
			b = i;
	}
	assert_true(b != 0);
	b_be = ip4(b);
	/* One resolution in flight at most: b's packet recycles a's entry,
	 * once it is old enough, and takes its slot. */
	now += IP_NEIGH_UNRES_MIN_AGE_NS;
	r->rx.pkts[r->rx.n++] = udp_frame(r, b);
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now);
	pkt_batch_free(r->pool, &r->tx);
	rb = ip_neigh_find(r->nt, 0, AF_INET, (uint8_t *)&b_be);
	assert_ptr_equal(rb.n, ra.n);		/* the same slot */
	assert_int_not_equal(rb.seq, ra.seq);
	assert_null(ip_neigh_find(r->nt, 0, AF_INET, (uint8_t *)&a_be).n);
	/* An answer meant for a, learned through the old handle, does not
	 * land in b's entry. */
	ip_neigh_confirm(r->w, ra, mac_a, true, now);
	/* b answers; the packet held for a must not go to b's MAC. */
	r->rx.pkts[r->rx.n++] = arp_frame(r, ARP_OP_REPLY, b, mac_b,
	    0x0a000001);
	ip_test_route(r->w, r->t, &r->rx, &r->tx, now + MS);
	ip_poll(r->w, r->t, &r->tx, now + 2 * MS);
	assert_int_equal(tx_udp_to(r, mac_b, b, &arp), 1);	/* b's own */
	assert_int_equal(drops(r, 1, PKT_DROP_NEIGH_RECYCLED), 1);
	assert_int_equal(st->neigh_held_recycled, 1);
	assert_false(ip_worker_has_pending(r->w));
	rig_free(r);
}

static void
test_static_always_fits(void **state)
{
	struct rig *r = rig_new(64);	/* 48 dynamic, 56 in all */
	struct ip_neigh_table_stats ts;
	struct ip_neigh_limits lim;
	enum pkt_drop why;
	uint32_t added = 0;
	int rc = 0;

	(void)state;
	ip_neigh_limits_default(&lim);
	lim.unres_max = 1000;
	ip_neigh_table_set_limits(r->nt, &lim);
	/* The table full of reachable, answered dynamic entries. */
	for (uint32_t i = 0; i < 64; i++) {
		uint32_t be = ip4(0x0a000100 + i);
		struct ip_neigh_ref ref = ip_neigh_get(r->nt, 0, AF_INET,
		    (uint8_t *)&be, T0, &why);

		if (ref.n == NULL) {
			assert_int_equal(why, PKT_DROP_NEIGH_TABLE_FULL);
			continue;
		}
		ip_neigh_confirm(r->w, ref, mac_a, true, T0);
		added++;
	}
	assert_int_equal(added, 48);
	/* Statics: the reserved eighth, then dynamic entries make way. */
	for (uint32_t i = 0; i < 56; i++) {
		uint32_t be = ip4(0x0a000200 + i);

		assert_int_equal(ip_neigh_set_static(r->nt, 0, AF_INET,
		    (uint8_t *)&be, mac_b), 0);
	}
	ip_neigh_table_stats(r->nt, &ts);
	assert_int_equal(ts.statics, 56);
	assert_int_equal(ts.entries, 56);
	/* Pinning one already there still works; only a table of nothing
	 * but statics says no. */
	{
		uint32_t be = ip4(0x0a000200);

		assert_int_equal(ip_neigh_set_static(r->nt, 0, AF_INET,
		    (uint8_t *)&be, mac_a), 0);
		be = ip4(0x0a000300);
		rc = ip_neigh_set_static(r->nt, 0, AF_INET, (uint8_t *)&be,
		    mac_a);
		assert_int_equal(rc, -ENOSPC);
	}
	rig_free(r);
}

static void
test_per_interface_bounds(void **state)
{
	struct rig *r = rig_new(4096);
	struct ip_neigh_table_stats ts;
	struct ip_neigh_limits lim;
	struct ip_neigh_ref ref;
	enum pkt_drop why;
	uint32_t ok0 = 0, ok1 = 0, unres_ok = 0, be;

	(void)state;
	ip_neigh_limits_default(&lim);
	lim.gc_thresh1 = 16;
	lim.gc_thresh2 = 50;
	lim.gc_thresh3 = 100;
	lim.unres_max = 8;
	ip_neigh_table_set_limits(r->nt, &lim);
	/* if0: 300 neighbours that answer, all at once. */
	for (uint32_t i = 0; i < 300; i++) {
		be = ip4(0x0a000100 + i);
		ref = ip_neigh_get(r->nt, 0, AF_INET, (uint8_t *)&be, T0, &why);
		if (ref.n == NULL) {
			assert_int_equal(why, PKT_DROP_NEIGH_TABLE_FULL);
			continue;
		}
		ip_neigh_confirm(r->w, ref, mac_a, true, T0);
		ok0++;
	}
	assert_int_equal(ok0, 100);
	/* if1 still has its own room. */
	for (uint32_t i = 0; i < 60; i++) {
		be = ip4(0x0a020100 + i);
		ref = ip_neigh_get(r->nt, 1, AF_INET, (uint8_t *)&be, T0, &why);
		if (ref.n != NULL) {
			ip_neigh_confirm(r->w, ref, mac_a, true, T0);
			ok1++;
		}
	}
	assert_int_equal(ok1, 60);
	/* Resolutions in flight on if1: unres_max, then refused until the
	 * oldest is old enough to give way. */
	for (uint32_t i = 0; i < 20; i++) {
		be = ip4(0x0a020200 + i);
		ref = ip_neigh_get(r->nt, 1, AF_INET, (uint8_t *)&be, T0, &why);
		if (ref.n != NULL)
			unres_ok++;
		else
			assert_int_equal(why, PKT_DROP_NEIGH_UNRES_FULL);
	}
	assert_int_equal(unres_ok, 8);
	be = ip4(0x0a020300);
	ref = ip_neigh_get(r->nt, 1, AF_INET, (uint8_t *)&be,
	    T0 + IP_NEIGH_UNRES_MIN_AGE_NS, &why);
	assert_non_null(ref.n);
	ip_neigh_table_stats(r->nt, &ts);
	assert_true(ts.incomplete <= lim.unres_max);
	/* Once if0's entries go stale, new ones recycle them. */
	be = ip4(0x0a000900);
	ref = ip_neigh_get(r->nt, 0, AF_INET, (uint8_t *)&be,
	    T0 + IP_NEIGH_REACHABLE_NS + 1, &why);
	assert_non_null(ref.n);
	/* The gc takes the failed and long-unconfirmed, down to
	 * gc_thresh1 at most. */
	assert_true(ip_neigh_gc(r->nt, T0 + IP_NEIGH_GC_STALE_NS + 1) > 0);
	ip_neigh_table_stats(r->nt, &ts);
	assert_true(ts.entries >= 2 * lim.gc_thresh1);	/* both interfaces */
	assert_true(ts.entries <= 2 * lim.gc_thresh1 + 1);
	rig_free(r);
}

/* tables.c: 20,000 routes through 5,000 gateways intern 5,000 next hops,
 * each found again by hash. */
static void
test_nh_intern(void **state)
{
	struct ip_tables *t;
	char err[128];
	uint32_t base;

	(void)state;
	assert_int_equal(ip_tables_create(&t), 0);
	t->n_if = 1;
	t->ifs[0].n_addr4 = 1;
	t->ifs[0].addr4[0].addr_be = ip4(0x0a000001);
	t->ifs[0].addr4[0].plen = 16;
	assert_int_equal(ip_tables_add_connected(t, err, sizeof(err)), 0);
	base = t->n_nh;
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t pfx = ip4(0xac000000 + (i << 8));
		uint32_t gw = ip4(0x0a000100 + i % 5000);

		assert_int_equal(ip_tables_add_route(t, AF_INET,
		    (uint8_t *)&pfx, 24, (uint8_t *)&gw, -1, false, err,
		    sizeof(err)), 0);
	}
	assert_int_equal(t->n_nh, base + 5000);
	for (uint32_t i = 0; i < 20000; i += 997) {
		const struct ip_route *rt = &t->routes[t->n_routes - 20000 + i];
		uint32_t gw = ip4(0x0a000100 + i % 5000);

		assert_memory_equal(t->nh[rt->nh].gw, &gw, 4);
	}
	ip_tables_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_floods_leave_room),
		cmocka_unit_test(test_recycled_slot_never_reaches_holder),
		cmocka_unit_test(test_static_always_fits),
		cmocka_unit_test(test_per_interface_bounds),
		cmocka_unit_test(test_nh_intern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
