/*
 * tests/unit/dp/test_mirror.c: the COPY macro (src/dp/mirror.c).  The
 * VXLAN headers themselves are tested in tests/unit/tun/test_vxlan.c.
 *
 * The whole path in a data plane with no ports: rules compiled from
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

#include "../pkt/pkt_test.h"
#include "dp/dp_priv.h"

static const uint8_t mac_h1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t mac_r0[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa0 };
static const uint8_t mac_r1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa1 };
static const uint8_t mac_col[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xc0 };

/* ---- frames ---------------------------------------------------------- */

static void
make_tcp4(struct pkt *p, uint16_t payload_len)
{
	test_frame_tcp4(p, mac_r0, mac_h1, payload_len);
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

/* Reads a capture a COPY session wrote: checks the header, returns the records
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
	 * the ring IO_PCAP_QUEUE_SLOTS. */
	assert_true(st.dropped >= 2000 - IO_PCAP_QUEUE_SLOTS - 100);
	assert_true(st.sent >= IO_PCAP_QUEUE_SLOTS);
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
