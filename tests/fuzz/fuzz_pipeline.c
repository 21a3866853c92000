/*
 * tests/fuzz/fuzz_pipeline.c: libFuzzer target for the data plane's stages
 * (src/dp/pipeline.c): untrusted frames through the router, conntrack,
 * the chains and NAT, as one worker runs them, with no ports but two null
 * sinks.
 *
 * The input is a list of records: [flags][length, 2 bytes big endian]
 * [Ethernet frame].  Flags bit 0: the interface it arrives on (lan or
 * wan); bit 1: the batch ends after this frame and runs through the
 * pipeline; bits 2-7: how far the clock moves first, in 100 ms steps (so
 * neighbour retransmissions, give-ups and conntrack timeouts happen).
 * The frames meet IPv4 and IPv6 rule programs with MASQUERADE, a port
 * forward (DNAT), DROP, REJECT with an ICMP error and with a TCP reset,
 * and the default policy; some next hops resolve (static neighbours),
 * others never do.  198.51.0.0/16 is routed to the wan side's gateway.
 * IKE runs in the control thread (params.ike): what the workers queue
 * for it is read after each run and answered, addresses and ports
 * swapped, through dp_ctl_send(), so the answers go from OUTPUT on.
 * An overlay (tun0, 10.99.0.1/24, UDP 51820) has one peer, 10.99.0.2,
 * at 10.9.0.2:51820 on the wan side, with a keypair of fixed keys: the
 * corpus holds transport messages sealed with them (overlay-*), so the
 * fuzzer gets past the AEAD to cryptokey routing and re-entry, and what
 * the lan sends to 10.99.0.2 is encrypted to the peer.
 *
 * What must hold: every packet ends in exactly one place, sent, dropped
 * and counted, held for its neighbour, or copied to the control thread's
 * queue, so once the router has given up on every neighbour that does
 * not answer, every buffer is back in the pool; the batch is empty after
 * each run; what the queue gives is a datagram as its API says.  A
 * violation aborts.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp/dp_priv.h"
#include "lib/bytes.h"
#include "lib/hg_time.h"
#include "tun/wg_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

#define POOL_BUFS	512

static const uint8_t mac_r[2][ETH_ALEN] = {
	{ 0x02, 0, 0, 0, 0, 0xa0 }, { 0x02, 0, 0, 0, 0, 0xa1 },
};
static const uint8_t mac_h[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x10 };

static const char rules4[] =
    "*nat\n"
    "-A PREROUTING_CUST -i wan -p tcp --dport 80 -j DNAT --to-destination 10.1.0.2\n"
    "-A POSTROUTING_CUST -o wan -j MASQUERADE\n"
    "COMMIT\n"
    "*filter\n"
    "-A FORWARD_CUST -p udp --dport 7 -j DROP\n"
    "-A FORWARD_CUST -p udp --dport 8 -j REJECT\n"
    "-A FORWARD_CUST -p tcp --dport 9 -j REJECT --reject-with tcp-reset\n"
    "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
    "-A FORWARD_CUST -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
    "COMMIT\n";
static const char rules6[] =
    "*nat\n"
    "-A POSTROUTING_CUST -o wan -j MASQUERADE\n"
    "COMMIT\n"
    "*filter\n"
    "-A FORWARD_CUST -p udp --dport 8 -j REJECT\n"
    "COMMIT\n";

/* The overlay's peer: our keys are its keys swapped (the corpus's
 * messages are sealed with WG_PEER_SEND, which we receive with). */
#define WG_PORT		51820
#define WG_OUR_INDEX	0x01020304u
#define WG_PEER_INDEX	0x0a0b0c0du
static const uint8_t wg_peer_send[32] = { [0] = 0x11, [31] = 0x11 };
static const uint8_t wg_peer_recv[32] = { [0] = 0x22, [31] = 0x22 };
static struct wg_keypair *wg_kp;
static struct dp_wg_routes *wg_routes;

static struct fw_prog *
compile(const char *text, uint8_t family)
{
	static const char names[3][FW_IFNAME_MAX] = { "lan", "wan", "tun0" };
	struct fw_addr known[2] = {
		{ .addr = { 10, 1 }, .mask = { 255, 255, 255 } },
		{ .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		  .mask = { 255, 255, 255, 255, 255, 255, 255, 255 } },
	};
	static const uint16_t known_if[2] = { FW_IF_NONE, FW_IF_NONE };
	struct fw_compile_env env = { .n_if = 3, .if_names = names,
	    .n_known = 1, .known = &known[family == FW_IPV6],
	    .known_if = known_if, .overlay_port = WG_PORT, .n_workers = 1 };
	struct fw_parse_opts o = { .family = family };
	struct fw_ruleset *rs;
	struct fw_errs errs;
	struct fw_prog *prog;

	CHECK(fw_parse(text, strlen(text), &o, &rs, &errs) == 0);
	CHECK(fw_compile(rs, &env, &prog, &errs) == 0);
	fw_ruleset_free(rs);
	return prog;
}

static void
overlay(struct dp *dp)
{
	struct dp_wg_prefix pf = { .family = AF_INET, .plen = 32,
	    .addr = { 10, 99, 0, 2 }, .peer = 0 };
	struct dp_wg_endpoint ep = { .family = AF_INET, .port = WG_PORT,
	    .addr = { 10, 9, 0, 2 }, .local = { 10, 9, 0, 1 } };
	struct dp_overlay *ov = calloc(1, sizeof(*ov));

	CHECK(ov != NULL);
	CHECK(wg_keypair_create(&wg_kp, wg_peer_recv, wg_peer_send,
	    WG_OUR_INDEX, WG_PEER_INDEX) == 0);
	CHECK(dp_wg_routes_create(&wg_routes, &pf, 1) == 0);
	ov->if_idx = 2;
	ov->port = WG_PORT;
	ov->n_peers = 1;
	ov->mss4 = 1380;
	ov->mss6 = 1360;
	ov->routes = wg_routes;
	ov->peers[0].cur = wg_kp;
	dp_overlay_index(ov);
	dp_overlay_swap(dp, ov);
	dp_wg_endpoint_set(dp, 0, &ep);
}

static void
build(struct dp **dpp, struct ip_neigh_table **ntp, struct io_port *ports[3])
{
	struct dp_params params = { .n_workers = 1, .n_if = 3,
	    .pool_bufs = POOL_BUFS, .ct_entries = 1024, .ike = true };
	static const uint8_t a6[2][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 },
	};
	struct ip_tables *t;
	struct dp_fw *fw;
	uint32_t a;
	char err[128];

	CHECK(ip_tables_create(&t) == 0);
	t->n_if = 2;
	for (int i = 0; i < 2; i++) {
		struct ip_if *ifp = &t->ifs[i];

		snprintf(ifp->name, sizeof(ifp->name), "%s", i ? "wan" : "lan");
		memcpy(ifp->mac, mac_r[i], ETH_ALEN);
		ifp->mtu_bytes = 1500;
		ifp->up = true;
		ifp->n_addr4 = 1;
		ifp->addr4[0].addr_be = htonl(i ? 0x0a090001 : 0x0a010001);
		ifp->addr4[0].plen = 24;
		ifp->n_addr6 = 1;
		memcpy(ifp->addr6[0].addr, a6[i], 16);
		ifp->addr6[0].plen = 64;
		CHECK(io_port_open(&ports[i], "null", 1, err, sizeof(err)) == 0);
		params.ports[i] = ports[i];
	}
	/* tun0: the overlay's interface, no port. */
	t->n_if = 3;
	snprintf(t->ifs[2].name, sizeof(t->ifs[2].name), "tun0");
	t->ifs[2].mac[0] = 0x02;
	t->ifs[2].mac[5] = 0xa2;
	t->ifs[2].mtu_bytes = 1420;
	t->ifs[2].up = true;
	t->ifs[2].encap = true;
	t->ifs[2].n_addr4 = 1;
	t->ifs[2].addr4[0].addr_be = htonl(0x0a630001);
	t->ifs[2].addr4[0].plen = 24;
	CHECK(ip_tables_add_connected(t, err, sizeof(err)) == 0);
	/* The "Internet" behind the wan side's gateway: a /16 rather than
	 * a default route, which would fill the whole FIB every input. */
	a = htonl(0x0a090002);
	CHECK(ip_tables_add_route(t, AF_INET,
	    (const uint8_t *)&(uint32_t){ htonl(0xc6330000) }, 16,
	    (const uint8_t *)&a, -1, false, err, sizeof(err)) == 0);
	CHECK(ip_neigh_table_create(ntp, 256) == 0);
	CHECK(ip_neigh_set_static(*ntp, 1, AF_INET, (const uint8_t *)&a,
	    mac_h) == 0);
	a = htonl(0x0a010002);		/* one lan host; the rest never answer */
	CHECK(ip_neigh_set_static(*ntp, 0, AF_INET, (const uint8_t *)&a,
	    mac_h) == 0);
	CHECK(dp_create(dpp, &params, t, *ntp) == 0);
	fw = calloc(1, sizeof(*fw));
	CHECK(fw != NULL);
	fw->prog4 = compile(rules4, FW_IPV4);
	fw->prog6 = compile(rules6, FW_IPV6);
	dp_fw_swap(*dpp, fw);
	overlay(*dpp);
}

/* What the control thread would do: read every datagram queued for it
 * and answer each with its own payload, which enters at OUTPUT. */
static void
ike_answer(struct dp *dp, struct dp_worker *w, uint64_t now)
{
	static uint8_t buf[PKT_DATA_ROOM];
	struct dp_dgram d, r;
	size_t len;

	while ((len = dp_ctl_recv(dp, &d, buf, sizeof(buf))) != 0) {
		CHECK(len <= PKT_DATA_ROOM);
		CHECK(d.family == AF_INET || d.family == AF_INET6);
		CHECK(d.if_idx < 2);
		CHECK(d.dport == 500 || d.dport == 4500 || d.dport == WG_PORT);
		r = d;
		memcpy(r.src, d.dst, sizeof(r.src));
		memcpy(r.dst, d.src, sizeof(r.dst));
		r.sport = d.dport;
		r.dport = d.sport;
		(void)dp_ctl_send(dp, &r, buf, len);
	}
	(void)dp_host_rx(w, now);
	if (w->frame.v.n != 0)
		dp_pipeline_output(w, now);
	CHECK(w->frame.v.n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp *dp;
	struct ip_neigh_table *nt;
	struct io_port *ports[3] = { NULL, NULL, NULL };
	struct dp_worker *w;
	uint64_t now = 1000 * HG_NS_PER_S;
	size_t off = 0;

	build(&dp, &nt, ports);
	w = dp->workers[0];
	w->fw = dp_fw(dp);
	w->tables = dp_tables(dp);
	w->tunnels = dp->tunnels;
	w->overlay = dp->overlay;
	while (size - off >= 3) {
		uint8_t flags = data[off];
		uint16_t len = hg_rd16be(data + off + 1);
		struct pkt *p;

		off += 3;
		if (len > size - off || len > PKT_DATA_ROOM)
			break;
		now += (uint64_t)(flags >> 2) * 100 * 1000 * 1000;
		p = pkt_alloc(w->pool);
		if (p != NULL) {
			memcpy(p->data, data + off, len);
			p->len = len;
			p->in_if = flags & 1;
			if (pkt_parse(p, NULL) == PKT_DROP_NONE)
				ip_vec_add(&w->frame.v, p, IP_NEXT_RX);
			else
				pkt_free(w->pool, p);
		}
		off += len;
		if ((flags & 2) || w->frame.v.n == PKT_BURST) {
			dp_pipeline_rx(w, now);
			CHECK(w->frame.v.n == 0);
			ike_answer(dp, w, now);
			ip_poll(w->ipw, w->tables, &w->tx, now);
			dp_tx(w, now);
			dp_reass_poll(w, now);
		}
	}
	if (w->frame.v.n != 0)
		dp_pipeline_rx(w, now);
	CHECK(w->frame.v.n == 0);
	ike_answer(dp, w, now);
	/* Give up on every neighbour that does not answer: the errors about
	 * what they held go to neighbours that do not answer either, so a
	 * few rounds.  Fragments of datagrams to us that never completed
	 * time out meanwhile. */
	for (int k = 0; k < 8; k++) {
		now += (IP_NEIGH_PROBES + 1) * IP_NEIGH_RETRANS_NS;
		ip_poll(w->ipw, w->tables, &w->tx, now);
		dp_tx(w, now);
		dp_reass_poll(w, now);
	}
	CHECK(!ip_worker_has_pending(w->ipw));
	CHECK(w->pool->n_free == w->pool->n_bufs);
	dp_destroy(dp);
	wg_keypair_free(wg_kp);
	dp_wg_routes_free(wg_routes);
	for (int i = 0; i < 2; i++)
		io_port_close(ports[i]);
	ip_neigh_table_destroy(nt);
	return 0;
}
