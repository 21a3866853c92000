/*
 * tests/unit/dp/test_ctl.c: the control thread's datagrams (src/dp/ctl.c)
 * in a data plane with two interfaces, lan (a null port) and wan
 * 10.9.0.1/24 and 2001:db8:9::1/64 (a pcap port that writes what leaves),
 * rules compiled from text that admit IKE and ESP at INPUT; the worker's
 * stages driven by hand, then with its thread.
 *
 *  - with params.ike, IKE to our address (UDP 500, or 4500 with the
 *    non-ESP marker), IPv4 and IPv6, comes out of dp_ctl_recv() whole,
 *    with its interface, addresses and ports, and the eventfd says when
 *    one waits; a NAT keepalive, ESP (in UDP or bare) with a SPI no
 *    tunnel has, a bad checksum and a runt on 4500 do not, each counted
 *    with its reason; without params.ike nothing is queued and IKE goes
 *    where it went before;
 *  - a full queue drops and counts, and gives the rest in order;
 *  - a packet routed into a tunnel interface with no SA is dropped as
 *    tunnel_no_sa and raises an acquire, at most once a second per
 *    interface from a worker, read once by dp_ctl_acquires();
 *  - an IKE datagram cut into IP fragments by a peer with no tunnel yet
 *    (IKE_AUTH with certificates) comes out whole;
 *  - dp_ctl_send()'s datagram enters at OUTPUT (conntrack, the OUTPUT
 *    chain) and leaves wan toward the peer's MAC as a right UDP datagram
 *    (checksums verified, TTL 64, no DF), IPv4 and IPv6; one from an
 *    address not ours is dropped; with two workers it goes to the worker
 *    the peer's datagrams of its flow steer to; with running workers,
 *    every one sent leaves.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp/dp_priv.h"
#include "lib/hg_time.h"
#include "tun/esp.h"

static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa0 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa1 };
static const uint8_t mac_peer[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x20 };

static const uint8_t wan_addr[4] = { 10, 9, 0, 1 };
static const uint8_t peer_addr[4] = { 10, 9, 0, 2 };
static const uint8_t wan_addr6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9,
    [15] = 1 };
static const uint8_t peer_addr6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9,
    [15] = 2 };
#define NOW		(100 * HG_NS_PER_S)
#define WAN		1

static const char rules[] =
    "*filter\n"
    "-A INPUT_CUST -p udp -m multiport --dports 500,4500 -j ACCEPT\n"
    "-A INPUT_CUST -p esp -j ACCEPT\n"
    "-A OUTPUT_CUST -p udp --dport 4501 -j DROP\n"
    "COMMIT\n";

struct rig {
	struct dp *dp;
	struct dp_worker *w;
	struct ip_neigh_table *nt;
	struct io_port *ports[2];
	char pcap[64];			/* what leaves wan; "" with null ports */
};

/* A data plane with n_workers; wan writes a capture when pcap (one
 * worker only).  The tests drive worker 0 unless they start it. */
static void
rig_up(struct rig *r, bool ike, uint16_t n_workers, bool pcap)
{
	static const char names[2][FW_IFNAME_MAX] = { "lan", "wan" };
	struct dp_params params = { .n_workers = n_workers, .n_if = 2,
	    .pool_bufs = 512, .ct_entries = 1024, .ike = ike };
	struct fw_compile_env env = { .n_if = 2, .if_names = names,
	    .n_workers = n_workers };
	struct fw_parse_opts o4 = { .family = FW_IPV4 };
	struct fw_parse_opts o6 = { .family = FW_IPV6 };
	struct fw_ruleset *rs;
	struct fw_errs errs;
	struct ip_tables *t;
	struct dp_fw *fw;
	char err[128], spec[96];

	memset(r, 0, sizeof(*r));
	assert_int_equal(ip_tables_create(&t), 0);
	t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &t->ifs[i];

		memcpy(ifp->name, names[i], sizeof(ifp->name));
		memcpy(ifp->mac, i ? mac_r1 : mac_r0, ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = i ? htonl(0x0a090001) :
		    htonl(0x0a010001);
		ifp->addr4[0].plen = 24;
		snprintf(spec, sizeof(spec), "null");
		if (i == WAN && pcap) {
			snprintf(r->pcap, sizeof(r->pcap),
			    "/tmp/hg-test-ctl-%d.pcap", (int)getpid());
			snprintf(spec, sizeof(spec), "pcap::%s", r->pcap);
		}
		if (io_port_open(&r->ports[i], spec, n_workers, err,
		    sizeof(err)) != 0)
			fail_msg("port %s: %s", spec, err);
		params.ports[i] = r->ports[i];
	}
	t->ifs[WAN].n_addr6 = 1;
	memcpy(t->ifs[WAN].addr6[0].addr, wan_addr6, 16);
	t->ifs[WAN].addr6[0].plen = 64;
	assert_int_equal(ip_tables_add_connected(t, err, sizeof(err)), 0);
	assert_int_equal(ip_neigh_table_create(&r->nt, 64), 0);
	assert_int_equal(ip_neigh_set_static(r->nt, WAN, AF_INET, peer_addr,
	    mac_peer), 0);
	assert_int_equal(ip_neigh_set_static(r->nt, WAN, AF_INET6, peer_addr6,
	    mac_peer), 0);
	assert_int_equal(dp_create(&r->dp, &params, t, r->nt), 0);
	r->w = r->dp->workers[0];
	r->dp->flow_exact = true;	/* the null ports stand for afpacket */

	fw = calloc(1, sizeof(*fw));
	assert_non_null(fw);
	assert_int_equal(fw_parse(rules, strlen(rules), &o4, &rs, &errs), 0);
	assert_int_equal(fw_compile(rs, &env, &fw->prog4, &errs), 0);
	fw_ruleset_free(rs);
	assert_int_equal(fw_parse(rules, strlen(rules), &o6, &rs, &errs), 0);
	assert_int_equal(fw_compile(rs, &env, &fw->prog6, &errs), 0);
	fw_ruleset_free(rs);
	dp_fw_swap(r->dp, fw);
	for (uint16_t i = 0; i < n_workers; i++) {
		struct dp_worker *w = r->dp->workers[i];

		w->fw = dp_fw(r->dp);
		w->tables = dp_tables(r->dp);
		w->tunnels = r->dp->tunnels;
	}
}

/* Stops and frees it all; what wan wrote is complete after this. */
static void
rig_down(struct rig *r)
{
	if (r->dp == NULL)
		return;
	dp_destroy(r->dp);
	r->dp = NULL;
	for (int i = 0; i < 2; i++)
		io_port_close(r->ports[i]);
	ip_neigh_table_destroy(r->nt);
}

static struct dp_if_stats
wan_stats(const struct rig *r)
{
	struct dp_if_stats st;

	dp_if_stats(r->dp, WAN, &st);
	return st;
}

/* A UDP datagram from the peer to us (IPv4 or IPv6) on wan, as a parsed
 * packet of worker w's pool. */
static struct pkt *
from_peer(struct dp_worker *w, bool v6, uint16_t sport, uint16_t dport,
    const void *pl, size_t len)
{
	struct pkt_udp_spec s = { .l3 = v6 ? PKT_L3_IP6 : PKT_L3_IP4,
	    .ttl = 64, .ip_id = 7, .sport = sport, .dport = dport };
	uint8_t buf[PKT_DATA_ROOM];
	struct pkt *p = pkt_alloc(w->pool);
	size_t n;

	memcpy(s.src, v6 ? peer_addr6 : peer_addr, v6 ? 16 : 4);
	memcpy(s.dst, v6 ? wan_addr6 : wan_addr, v6 ? 16 : 4);
	n = pkt_build_udp(buf, sizeof(buf), &s, pl, len);
	assert_true(n != 0);
	memcpy(buf, mac_r1, ETH_ALEN);
	memcpy(buf + ETH_ALEN, mac_peer, ETH_ALEN);
	assert_non_null(p);
	assert_int_equal(pkt_set_frame(p, buf, (uint16_t)n), 0);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	p->in_if = WAN;
	return p;
}

/* Runs what add() queued through the worker's stages. */
static void
rx(struct rig *r, struct pkt *p)
{
	ip_vec_add(&r->w->frame.v, p, IP_NEXT_RX);
	dp_pipeline_rx(r->w, NOW);
}

static bool
fd_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* An IKE header's worth of recognisable bytes. */
static void
ike_fill(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* ---- receive ----------------------------------------------------------- */

static void
test_ike_500_queued(void **state)
{
	struct rig r;
	struct dp_dgram d;
	uint8_t msg[300], got[2048];

	(void)state;
	rig_up(&r, true, 1, false);
	ike_fill(msg, sizeof(msg), 1);
	assert_true(dp_ctl_fd(r.dp) >= 0);
	assert_false(fd_readable(dp_ctl_fd(r.dp)));
	rx(&r, from_peer(r.w, false, 500, 500, msg, sizeof(msg)));

	assert_true(fd_readable(dp_ctl_fd(r.dp)));
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(d.if_idx, WAN);
	assert_int_equal(d.family, AF_INET);
	assert_memory_equal(d.src, peer_addr, 4);
	assert_memory_equal(d.dst, wan_addr, 4);
	assert_int_equal(d.sport, 500);
	assert_int_equal(d.dport, 500);
	/* Drained: nothing more, and the eventfd says so. */
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	assert_false(fd_readable(dp_ctl_fd(r.dp)));
	assert_int_equal(wan_stats(&r).ike_rx, 1);
	assert_int_equal(wan_stats(&r).drops_total, 0);
	assert_int_equal(wan_stats(&r).tx_pkts, 0);	/* no port unreachable */

	/* IPv6, from a NAT's port, read into a short buffer: cut, with its
	 * whole length returned. */
	rx(&r, from_peer(r.w, true, 31000, 500, msg, sizeof(msg)));
	assert_true(fd_readable(dp_ctl_fd(r.dp)));
	memset(got, 0, sizeof(got));
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, 100), sizeof(msg));
	assert_memory_equal(got, msg, 100);
	assert_int_equal(got[100], 0);
	assert_int_equal(d.family, AF_INET6);
	assert_memory_equal(d.src, peer_addr6, 16);
	assert_memory_equal(d.dst, wan_addr6, 16);
	assert_int_equal(d.sport, 31000);
	assert_int_equal(d.dport, 500);
	assert_int_equal(wan_stats(&r).ike_rx, 2);
	rig_down(&r);
}

/* Port 4500: IKE behind the non-ESP marker is queued (marker and all);
 * the rest is not, each counted with its reason. */
static void
test_4500_sorted(void **state)
{
	static const uint8_t keepalive[1] = { 0xff };
	static const uint8_t runt[2] = { 1, 2 };
	struct rig r;
	struct dp_dgram d;
	uint8_t ike[204], esp[64], got[2048];
	struct pkt *p;
	struct ip4_hdr *ip;
	struct dp_if_stats st;

	(void)state;
	rig_up(&r, true, 1, false);
	memset(ike, 0, 4);			/* the non-ESP marker */
	ike_fill(ike + 4, sizeof(ike) - 4, 9);
	ike_fill(esp, sizeof(esp), 3);
	esp[0] = 0x12;				/* SPI 0x12.., no tunnel's */

	rx(&r, from_peer(r.w, false, 4500, 4500, keepalive,
	    sizeof(keepalive)));
	rx(&r, from_peer(r.w, false, 4500, 4500, esp, sizeof(esp)));
	rx(&r, from_peer(r.w, true, 4500, 4500, esp, sizeof(esp)));
	rx(&r, from_peer(r.w, false, 4500, 4500, runt, sizeof(runt)));
	/* Bare ESP with that SPI: the same datagram as protocol 50. */
	p = from_peer(r.w, false, 4500, 4500, esp, sizeof(esp));
	ip = pkt_l3(p);
	ip->proto = IPPROTO_ESP_;
	ip->tot_len_be = htons((uint16_t)(IP4_HDR_LEN + sizeof(esp)));
	memmove(pkt_l4(p), esp, sizeof(esp));
	p->len = (uint16_t)(ETH_HDR_LEN + IP4_HDR_LEN + sizeof(esp));
	pkt_ip4_set_csum(ip);
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	rx(&r, p);
	/* IKE on 500 with a wrong checksum. */
	p = from_peer(r.w, false, 500, 500, ike, sizeof(ike));
	((struct udp_hdr *)pkt_l4(p))->csum_be ^= 0x0101;
	rx(&r, p);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	assert_false(fd_readable(dp_ctl_fd(r.dp)));

	rx(&r, from_peer(r.w, false, 4500, 4500, ike, sizeof(ike)));
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), sizeof(ike));
	assert_memory_equal(got, ike, sizeof(ike));
	assert_int_equal(d.sport, 4500);
	assert_int_equal(d.dport, 4500);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);

	st = wan_stats(&r);
	assert_int_equal(st.ike_rx, 1);
	assert_int_equal(st.drops[PKT_DROP_NAT_KEEPALIVE], 1);
	assert_int_equal(st.drops[PKT_DROP_ESP_NO_SA], 3);
	assert_int_equal(st.drops[PKT_DROP_UDP_4500_BAD], 1);
	assert_int_equal(st.drops[PKT_DROP_L4_CSUM], 1);
	assert_int_equal(st.drops_total, 6);
	assert_int_equal(st.tx_pkts, 0);
	rig_down(&r);
}

/* Without params.ike: no queue, and IKE goes where it went before (no
 * host TAP here: answered as a closed port). */
static void
test_ike_off(void **state)
{
	struct rig r;
	struct dp_dgram d;
	uint8_t msg[100], got[2048];

	(void)state;
	rig_up(&r, false, 1, false);
	ike_fill(msg, sizeof(msg), 5);
	assert_int_equal(dp_ctl_fd(r.dp), -1);
	rx(&r, from_peer(r.w, false, 500, 500, msg, sizeof(msg)));
	memset(msg, 0, 4);
	rx(&r, from_peer(r.w, false, 4500, 4500, msg, sizeof(msg)));
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	assert_int_equal(wan_stats(&r).ike_rx, 0);
	assert_int_equal(wan_stats(&r).drops[PKT_DROP_LOCAL_NO_SERVICE], 2);
	assert_int_equal(wan_stats(&r).tx_pkts, 2);	/* port unreachable */
	rig_down(&r);
}

/* A full queue drops what does not fit, counted; the rest comes out in
 * order, and the queue takes more once read. */
static void
test_queue_full(void **state)
{
	struct rig r;
	struct dp_dgram d;
	uint8_t msg[64], got[2048];
	uint32_t seq;

	(void)state;
	rig_up(&r, true, 1, false);
	memset(msg, 0xab, sizeof(msg));
	for (uint32_t i = 0; i < DP_CTL_SLOTS + 5; i++) {
		memcpy(msg, &i, 4);
		ip_vec_add(&r.w->frame.v, from_peer(r.w, false,
		    (uint16_t)(1000 + i % 7), 500, msg, sizeof(msg)),
		    IP_NEXT_RX);
		if (r.w->frame.v.n == 128)
			dp_pipeline_rx(r.w, NOW);
	}
	dp_pipeline_rx(r.w, NOW);
	assert_int_equal(wan_stats(&r).ike_rx, DP_CTL_SLOTS);
	assert_int_equal(wan_stats(&r).drops[PKT_DROP_IKE_QUEUE_FULL], 5);
	for (uint32_t i = 0; i < DP_CTL_SLOTS; i++) {
		assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)),
		    sizeof(msg));
		memcpy(&seq, got, 4);
		assert_int_equal(seq, i);
		assert_int_equal(d.sport, 1000 + i % 7);
	}
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	rx(&r, from_peer(r.w, false, 500, 500, msg, sizeof(msg)));
	assert_true(fd_readable(dp_ctl_fd(r.dp)));
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), sizeof(msg));
	rig_down(&r);
}

/* The datagram p (IPv4, or IPv6 without extension headers) cut in two
 * IP fragments at cut bytes of its IP payload (a multiple of 8); p is
 * freed, the pieces come back in *a (offset 0) and *b. */
static void
cut_in_two(struct dp_worker *w, struct pkt *p, uint16_t cut, struct pkt **a,
    struct pkt **b)
{
	bool v6 = p->l3 == PKT_L3_IP6;
	uint16_t hl = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t pl_len = (uint16_t)(p->l3_len - hl);
	const uint8_t *pl = (const uint8_t *)pkt_l3(p) + hl;

	for (int k = 0; k < 2; k++) {
		uint16_t off = k ? cut : 0, n = k ? pl_len - cut : cut;
		uint16_t fh = v6 ? 8 : 0;
		struct pkt *q = pkt_alloc(w->pool);
		uint8_t *l3;

		assert_non_null(q);
		assert_non_null(pkt_append(q, (uint16_t)(ETH_HDR_LEN + hl +
		    fh + n)));
		memcpy(q->data, p->data, ETH_HDR_LEN + hl);
		l3 = q->data + ETH_HDR_LEN;
		memcpy(l3 + hl + fh, pl + off, n);
		if (v6) {
			struct ip6_hdr *ip = (struct ip6_hdr *)(void *)l3;
			uint8_t *f = l3 + hl;

			ip->nxt = IPPROTO_FRAGMENT_;
			ip->plen_be = htons((uint16_t)(fh + n));
			f[0] = IPPROTO_UDP_;
			f[1] = 0;
			f[2] = (uint8_t)(off >> 8);
			f[3] = (uint8_t)((off & 0xf8) | (k ? 0 : 1));
			memcpy(f + 4, "\x12\x34\x56\x78", 4);
		} else {
			struct ip4_hdr *ip = (struct ip4_hdr *)(void *)l3;

			ip->tot_len_be = htons((uint16_t)(hl + n));
			ip->frag_be = htons((uint16_t)(off / 8 |
			    (k ? 0 : IP4_MF)));
			pkt_ip4_set_csum(ip);
		}
		assert_int_equal(pkt_parse(q, NULL), PKT_DROP_NONE);
		q->in_if = p->in_if;
		*(k ? b : a) = q;
	}
	pkt_free(w->pool, p);
}

/* IKE_AUTH with certificates, cut by the peer's stack before any tunnel
 * exists, comes out whole, IPv4 and IPv6, the pieces in either order;
 * without params.ike such pieces are still dropped as before. */
static void
test_fragmented_ike(void **state)
{
	struct rig r;
	struct dp_dgram d;
	static uint8_t msg[1800], got[2048];
	struct pkt *a, *b;

	(void)state;
	rig_up(&r, true, 1, false);
	memset(msg, 0, 4);
	ike_fill(msg + 4, sizeof(msg) - 4, 21);
	/* From anyone but a configured peer, pieces of UDP to us are not
	 * put together here (a NATed flow's replies look the same). */
	cut_in_two(r.w, from_peer(r.w, false, 4500, 4500, msg, sizeof(msg)),
	    1480, &a, &b);
	rx(&r, a);
	rx(&r, b);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	assert_int_equal(wan_stats(&r).reassembled, 0);
	/* An IPsec connection to the peer, no SA yet: its pieces are. */
	{
		struct dp_tunnels *tn = calloc(1, sizeof(*tn));

		assert_non_null(tn);
		tn->t[0].family = AF_INET;	/* lan: any slot will do */
		memcpy(tn->t[0].remote, peer_addr, 4);
		tn->t[WAN].family = AF_INET6;
		memcpy(tn->t[WAN].remote, peer_addr6, 16);
		dp_tunnels_swap(r.dp, tn);
		r.w->tunnels = r.dp->tunnels;
	}
	cut_in_two(r.w, from_peer(r.w, false, 4500, 4500, msg, sizeof(msg)),
	    1480, &a, &b);
	rx(&r, a);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), 0);
	rx(&r, b);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(d.family, AF_INET);
	assert_int_equal(d.dport, 4500);

	cut_in_two(r.w, from_peer(r.w, true, 500, 500, msg, sizeof(msg)),
	    1232, &a, &b);
	rx(&r, b);
	rx(&r, a);
	assert_int_equal(dp_ctl_recv(r.dp, &d, got, sizeof(got)), sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(d.family, AF_INET6);
	assert_int_equal(d.dport, 500);
	assert_int_equal(wan_stats(&r).reassembled, 2);
	assert_int_equal(wan_stats(&r).ike_rx, 2);
	rig_down(&r);

	rig_up(&r, false, 1, false);
	cut_in_two(r.w, from_peer(r.w, false, 500, 500, msg, sizeof(msg)),
	    1480, &a, &b);
	rx(&r, a);
	rx(&r, b);
	assert_int_equal(wan_stats(&r).reassembled, 0);
	assert_int_equal(wan_stats(&r).drops[PKT_DROP_LOCAL_NO_SERVICE], 2);
	rig_down(&r);
}

/* ---- acquires ------------------------------------------------------------ */

/* One packet of worker w routed into interface lan (a tunnel here) at
 * now_ns, through dp_encap. */
static void
into_tunnel(struct rig *r, uint64_t now_ns)
{
	uint8_t msg[64];
	struct pkt *p;

	memset(msg, 0, sizeof(msg));
	p = from_peer(r->w, false, 1000, 2000, msg, sizeof(msg));
	p->out_if = 0;
	ip_vec_reset(&r->w->frame.v);
	ip_vec_add(&r->w->frame.v, p, IP_NEXT_ENCAP);
	dp_encap(r->w, &r->w->frame, 0, r->w->frame.v.n, now_ns);
	assert_null(r->w->frame.v.pkts[0]);
}

/* A packet routed into a tunnel interface with no SA is dropped as
 * tunnel_no_sa and asks the control side for one (IKE's acquire, for
 * start_action trap): a worker asks at most once a second per
 * interface, and what it asked is read once.  Without params.ike the
 * packet is dropped the same and nothing is asked. */
static void
test_acquire(void **state)
{
	struct dp_if_stats st;
	struct rig r;

	(void)state;
	for (int ike = 1; ike >= 0; ike--) {
		rig_up(&r, ike, 1, false);
		/* lan stands for a tunnel interface with no SA (the tables
		 * are this test's: no worker runs). */
		((struct ip_tables *)dp_tables(r.dp))->ifs[0].encap = true;
		assert_int_equal(dp_ctl_acquires(r.dp), 0);
		into_tunnel(&r, NOW);
		assert_int_equal(dp_ctl_acquires(r.dp), ike ? 1 : 0);
		assert_int_equal(dp_ctl_acquires(r.dp), 0);
		/* More within the second: dropped, not asked again. */
		for (int i = 0; i < 50; i++)
			into_tunnel(&r, NOW + (uint64_t)i * 10 * HG_NS_PER_MS);
		assert_int_equal(dp_ctl_acquires(r.dp), 0);
		into_tunnel(&r, NOW + HG_NS_PER_S);
		assert_int_equal(dp_ctl_acquires(r.dp), ike ? 1 : 0);
		/* Counted where it came in, as drops are. */
		dp_if_stats(r.dp, WAN, &st);
		assert_int_equal(st.drops[PKT_DROP_TUNNEL_NO_SA], 52);
		assert_int_equal(st.drops[PKT_DROP_TUNNEL_OUT], 0);
		rig_down(&r);
	}
}

/* ---- send -------------------------------------------------------------- */

struct pcap_rec {
	uint32_t len;
	uint8_t data[PKT_DATA_ROOM];
};

/* The frames of the capture wan wrote (up to max). */
static unsigned
read_pcap(const char *path, struct pcap_rec *recs, unsigned max)
{
	uint32_t fh[6], rh[4];
	unsigned n = 0;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(fh, sizeof(fh), 1, f), 1);
	while (fread(rh, sizeof(rh), 1, f) == 1) {
		assert_true(n < max);
		assert_true(rh[2] <= PKT_DATA_ROOM);
		recs[n].len = rh[2];
		assert_int_equal(fread(recs[n].data, 1, rh[2], f), rh[2]);
		n++;
	}
	fclose(f);
	unlink(path);
	return n;
}

/* What the worker does with its handoff ring each turn (worker.c's
 * dp_host_turn). */
static void
host_turn(struct dp_worker *w)
{
	dp_host_rx(w, NOW);
	if (w->frame.v.n != 0)
		dp_pipeline_output(w, NOW);
}

static struct dp_dgram
dgram(bool v6, uint16_t sport, uint16_t dport)
{
	struct dp_dgram d = { .family = v6 ? AF_INET6 : AF_INET,
	    .sport = sport, .dport = dport };

	memcpy(d.src, v6 ? wan_addr6 : wan_addr, v6 ? 16 : 4);
	memcpy(d.dst, v6 ? peer_addr6 : peer_addr, v6 ? 16 : 4);
	return d;
}

/* The frame f (len bytes) is the UDP datagram d with payload pl, from
 * wan's MAC to the peer's, its checksums right. */
static void
check_sent(const uint8_t *f, uint32_t len, const struct dp_dgram *d,
    const uint8_t *pl, size_t pl_len)
{
	bool v6 = d->family == AF_INET6;
	uint16_t l3_hdr = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	const struct eth_hdr *eh = (const struct eth_hdr *)(const void *)f;
	const struct udp_hdr *u = (const struct udp_hdr *)(const void *)(f +
	    ETH_HDR_LEN + l3_hdr);
	uint16_t ulen = (uint16_t)(sizeof(*u) + pl_len);

	assert_int_equal(len, ETH_HDR_LEN + l3_hdr + ulen);
	assert_memory_equal(eh->dst, mac_peer, ETH_ALEN);
	assert_memory_equal(eh->src, mac_r1, ETH_ALEN);
	if (v6) {
		const struct ip6_hdr *ip = (const void *)(eh + 1);

		assert_int_equal(ntohs(eh->type_be), ETH_P_IPV6);
		assert_int_equal(ntohl(ip->vtc_flow_be) >> 28, 6);
		assert_int_equal(ntohs(ip->plen_be), ulen);
		assert_int_equal(ip->nxt, IPPROTO_UDP_);
		assert_int_equal(ip->hlim, 64);
		assert_memory_equal(ip->src, d->src, 16);
		assert_memory_equal(ip->dst, d->dst, 16);
		assert_int_equal(pkt_l4_csum6(ip, u, ulen, IPPROTO_UDP_), 0);
	} else {
		const struct ip4_hdr *ip = (const void *)(eh + 1);

		assert_int_equal(ntohs(eh->type_be), ETH_P_IP);
		assert_int_equal(ip->ver_ihl, 0x45);
		assert_int_equal(ntohs(ip->tot_len_be), IP4_HDR_LEN + ulen);
		assert_int_equal(ntohs(ip->frag_be), 0);	/* no DF */
		assert_int_equal(ip->ttl, 64);
		assert_int_equal(ip->proto, IPPROTO_UDP_);
		assert_memory_equal(&ip->src_be, d->src, 4);
		assert_memory_equal(&ip->dst_be, d->dst, 4);
		assert_int_equal(pkt_csum(ip, IP4_HDR_LEN), 0);
		assert_int_equal(pkt_l4_csum4(ip, u, ulen, IPPROTO_UDP_), 0);
	}
	assert_true(u->csum_be != 0);
	assert_int_equal(ntohs(u->sport_be), d->sport);
	assert_int_equal(ntohs(u->dport_be), d->dport);
	assert_int_equal(ntohs(u->len_be), ulen);
	assert_memory_equal(u + 1, pl, pl_len);
}

static void
test_send_leaves_wan(void **state)
{
	struct rig r;
	struct dp_dgram d4 = dgram(false, 500, 500);
	struct dp_dgram d6 = dgram(true, 4500, 4500);
	struct dp_dgram other = dgram(false, 500, 500);
	struct dp_dgram closed = dgram(false, 4500, 4501);
	static struct pcap_rec recs[4];
	struct dp_if_stats st;
	struct ct_stats cs;
	static uint8_t msg[1000], msg6[333], big[PKT_DATA_ROOM];

	(void)state;
	rig_up(&r, true, 1, true);
	ike_fill(msg, sizeof(msg), 11);
	memset(msg6, 0, 4);
	ike_fill(msg6 + 4, sizeof(msg6) - 4, 12);
	other.src[3] = 99;			/* 10.9.0.99: not ours */
	assert_true(dp_ctl_send(r.dp, &d4, msg, sizeof(msg)));
	assert_true(dp_ctl_send(r.dp, &d6, msg6, sizeof(msg6)));
	assert_true(dp_ctl_send(r.dp, &other, msg, sizeof(msg)));
	assert_true(dp_ctl_send(r.dp, &closed, msg, sizeof(msg)));
	/* No family, or more than a packet buffer holds: refused. */
	d4.family = AF_UNIX;
	assert_false(dp_ctl_send(r.dp, &d4, msg, sizeof(msg)));
	d4.family = AF_INET;
	assert_false(dp_ctl_send(r.dp, &d4, big, sizeof(big)));
	host_turn(r.w);

	/* Through OUTPUT: conntrack holds the two flows it let out (so the
	 * peer's answers are ESTABLISHED), the OUTPUT chain dropped the
	 * third; the one from a stranger's address got no further. */
	st = wan_stats(&r);
	assert_int_equal(st.ike_tx, 3);
	assert_int_equal(st.tx_pkts, 2);
	assert_int_equal(st.drops[PKT_DROP_FW_DROP], 1);
	dp_ct_stats(r.dp, &cs);
	assert_int_equal(cs.in_use, 2);
	assert_int_equal(st.drops[PKT_DROP_IKE_SRC], 1);

	rig_down(&r);
	assert_int_equal(read_pcap(r.pcap, recs, 4), 2);
	d4 = dgram(false, 500, 500);
	check_sent(recs[0].data, recs[0].len, &d4, msg, sizeof(msg));
	check_sent(recs[1].data, recs[1].len, &d6, msg6, sizeof(msg6));
}

/* A datagram longer than the egress MTU (an IKE_AUTH with a
 * certificate) leaves in IPv4 fragments, as Linux sends UDP without DF,
 * which put together are the datagram. */
static void
test_send_fragmented(void **state)
{
	struct rig r;
	struct dp_dgram d4 = dgram(false, 500, 500);
	static struct pcap_rec recs[4];
	static uint8_t msg[1800], whole[2048];
	size_t got = 0;

	(void)state;
	rig_up(&r, true, 1, true);
	ike_fill(msg, sizeof(msg), 13);
	assert_true(dp_ctl_send(r.dp, &d4, msg, sizeof(msg)));
	host_turn(r.w);
	rig_down(&r);
	assert_int_equal(read_pcap(r.pcap, recs, 4), 2);
	for (int i = 0; i < 2; i++) {
		const uint8_t *ip = recs[i].data + 14;
		uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]);
		uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);

		assert_true(recs[i].len <= 14 + 1500);
		assert_int_equal(frag & 0x4000, 0);		/* no DF */
		assert_int_equal(!!(frag & 0x2000), i == 0);	/* MF */
		assert_int_equal((frag & 0x1fff) * 8, got);
		assert_true(got + tot - 20 <= sizeof(whole));
		memcpy(whole + got, ip + 20, tot - 20u);
		got += tot - 20u;
	}
	assert_int_equal(got, 8 + sizeof(msg));
	assert_int_equal(whole[2] << 8 | whole[3], 500);	/* dport */
	assert_memory_equal(whole + 8, msg, sizeof(msg));
}

/* With two workers a datagram goes to the worker the peer's datagrams
 * of its flow arrive on, which holds the flow. */
static void
test_send_to_flow_owner(void **state)
{
	struct rig r;
	unsigned seen[2] = { 0, 0 };
	uint8_t msg[40];

	(void)state;
	rig_up(&r, true, 2, false);
	memset(msg, 0x5a, sizeof(msg));
	memset(msg, 0, 4);			/* IKE behind the marker */
	for (uint16_t port = 30000; port < 30032; port++) {
		struct dp_dgram d = dgram(port & 1, 4500, port);
		struct pkt *in = from_peer(r.w, port & 1, port, 4500, msg,
		    sizeof(msg));
		uint16_t owner = io_frame_flow_queue(in->data, in->len, 2);
		struct pkt *p;

		pkt_free(r.w->pool, in);
		assert_true(dp_ctl_send(r.dp, &d, msg, sizeof(msg)));
		assert_null(dp_handoff_pop(r.dp->workers[!owner]->handoff,
		    r.w->pool));
		p = dp_handoff_pop(r.dp->workers[owner]->handoff, r.w->pool);
		assert_non_null(p);
		assert_int_equal(p->in_if, IP_IF_NONE);
		pkt_free(r.w->pool, p);
		seen[owner]++;
	}
	/* Both workers had some: the choice is the flow's, not fixed. */
	assert_true(seen[0] > 0 && seen[1] > 0);
	rig_down(&r);
}

/* With running workers (asleep between datagrams), every datagram the
 * test thread sends leaves. */
static void
test_send_live(void **state)
{
	struct rig r;
	uint8_t msg[200];
	uint64_t t0;

	(void)state;
	rig_up(&r, true, 2, false);
	memset(msg, 0x33, sizeof(msg));
	assert_int_equal(dp_start(r.dp), 0);
	for (uint16_t i = 0; i < 200; i++) {
		struct dp_dgram d = dgram(i & 1, 4500, (uint16_t)(40000 + i));

		assert_true(dp_ctl_send(r.dp, &d, msg, sizeof(msg)));
		if (i % 50 == 0)
			usleep(30000);	/* long enough for them to sleep */
	}
	t0 = hg_now_ns();
	while (wan_stats(&r).tx_pkts < 200 && hg_now_ns() - t0 < HG_NS_PER_S)
		usleep(1000);
	assert_int_equal(wan_stats(&r).ike_tx, 200);
	assert_int_equal(wan_stats(&r).tx_pkts, 200);
	assert_int_equal(wan_stats(&r).drops_total, 0);
	rig_down(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_500_queued),
		cmocka_unit_test(test_4500_sorted),
		cmocka_unit_test(test_ike_off),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_fragmented_ike),
		cmocka_unit_test(test_acquire),
		cmocka_unit_test(test_send_leaves_wan),
		cmocka_unit_test(test_send_fragmented),
		cmocka_unit_test(test_send_to_flow_owner),
		cmocka_unit_test(test_send_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
