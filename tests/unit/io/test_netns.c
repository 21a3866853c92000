/*
 * tests/unit/io/test_netns.c: the kernel-facing ports, afpacket
 * (src/io/afpacket.c) and tap (src/io/tap.c), against real interfaces.
 * Needs root: the process moves itself into a fresh network namespace
 * (unshare(CLONE_NEWNET)), which holds only lo, so nothing it creates is
 * visible outside and everything goes when the process exits.
 *
 *     [ port afpacket:hgvA, 2 queues ] hgvA <--veth--> hgvB [ raw socket ]
 *     [ port tap:hgtest0 ]             hgtest0              [ raw socket ]
 *
 * Without root (or without veth/tun support) every case skips and says
 * why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
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

#include "io/io.h"
#include "lib/bytes.h"
#include "flow_frames.h"

#define MAGIC		0x4847494fu	/* "HGIO" */
#define N_FLOWS		32
#define WAIT_MS		3000

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0x0a, 1 };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0x0b, 1 };
static const uint8_t mac_tap[6] = { 2, 0, 0, 0, 0x0c, 1 };

static char skip_reason[160];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
sh(const char *cmd)
{
	char line[512];

	snprintf(line, sizeof(line), "%s >/dev/null 2>&1", cmd);
	return system(line);
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;		/* no IPv6: nothing to quieten */
	if (write(fd, text, strlen(text)) < 0)
		(void)0;	/* same */
	close(fd);
}

static int
setup(void **state)
{
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(skip_reason, sizeof(skip_reason),
		    "unshare(CLONE_NEWNET): %s", strerror(errno));
		return 0;
	}
	/* No router solicitations or MLD reports mixed into the test. */
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	if (sh("ip link add hgvA address 02:00:00:00:0a:01 type veth "
	    "peer name hgvB address 02:00:00:00:0b:01") != 0 ||
	    sh("ip link set hgvA up") != 0 || sh("ip link set hgvB up") != 0) {
		snprintf(skip_reason, sizeof(skip_reason),
		    "cannot create a veth pair with ip(8)");
		return 0;
	}
	skip_reason[0] = '\0';
	return 0;
}

#define NEED_NETNS() do {						\
	if (skip_reason[0] != '\0') {					\
		print_message("skipped: %s\n", skip_reason);		\
		skip();							\
	}								\
} while (0)

static uint16_t
ip_csum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * A UDP frame carrying MAGIC and seq.  reverse swaps addresses and ports,
 * the other direction of the same flow; vid != 0 adds an 802.1Q tag.
 */
static uint16_t
build_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac,
    unsigned flow, bool reverse, uint16_t vid, uint32_t seq)
{
	uint32_t a = htonl(0x0a000001), b = htonl(0x0a000002);
	uint16_t pa = htons((uint16_t)(1000 + flow)), pb = htons(2000), csum;
	uint8_t *ip;
	size_t off = 12;

	memset(f, 0, 128);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	if (vid != 0) {
		f[off++] = 0x81;
		f[off++] = 0x00;
		f[off++] = (uint8_t)(vid >> 8);
		f[off++] = (uint8_t)vid;
	}
	f[off++] = 0x08;
	f[off++] = 0x00;
	ip = f + off;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 8;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, reverse ? &b : &a, 4);
	memcpy(ip + 16, reverse ? &a : &b, 4);
	csum = htons(ip_csum(ip));
	memcpy(ip + 10, &csum, 2);
	memcpy(ip + 20, reverse ? &pb : &pa, 2);
	memcpy(ip + 22, reverse ? &pa : &pb, 2);
	ip[25] = 16;
	seq = htonl(seq);
	memcpy(ip + 28, &(uint32_t){ htonl(MAGIC) }, 4);
	memcpy(ip + 32, &seq, 4);
	return (uint16_t)HG_MAX(off + 36, 60);
}

/* seq of one of our frames, or -1 for anything else the kernel sent. */
static long
frame_seq(const uint8_t *f, uint16_t len)
{
	size_t off = (f[12] == 0x81 && f[13] == 0x00) ? 18 : 14;
	uint32_t magic, seq;

	if (len < off + 36)
		return -1;
	memcpy(&magic, f + off + 28, 4);
	memcpy(&seq, f + off + 32, 4);
	return ntohl(magic) == MAGIC ? (long)ntohl(seq) : -1;
}

static int
raw_open(const char *ifname)
{
	struct sockaddr_ll sll = { 0 };
	struct timeval tv = { 0, 100 * 1000 };
	int fd, one = 1;

	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING,
	    &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	return fd;
}

static void
raw_send(int fd, const uint8_t *f, uint16_t len)
{
	assert_int_equal(send(fd, f, len, 0), len);
}

/* Receives until want of our frames arrived; checks each against expect. */
static void
raw_expect(const char *what, int fd, unsigned want,
    uint16_t (*expect)(uint8_t *f, uint32_t seq))
{
	uint8_t buf[4096], ref[256];
	uint64_t deadline = now_ms() + WAIT_MS;
	unsigned got = 0;

	while (got < want && now_ms() < deadline) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		long seq;
		uint16_t ref_len;

		if (n < 0)
			continue;	/* timeout tick */
		seq = frame_seq(buf, (uint16_t)n);
		if (seq < 0)
			continue;
		ref_len = expect(ref, (uint32_t)seq);
		if ((size_t)n != ref_len || memcmp(buf, ref, ref_len) != 0)
			fail_msg("%s: frame %ld arrived changed", what, seq);
		got++;
	}
	if (got != want)
		fail_msg("%s: %u of %u frames arrived", what, got, want);
}

static struct pkt *
make_pkt(struct pkt_pool *pool, const uint8_t *f, uint16_t len)
{
	struct pkt *p = pkt_alloc(pool);

	assert_non_null(p);
	memcpy(p->data, f, len);
	p->len = len;
	return p;
}

static void
check_mac(struct io_port *port, const uint8_t *want)
{
	uint8_t mac[6];

	assert_int_equal(io_port_mac(port, mac), 0);
	assert_memory_equal(mac, want, 6);
}

/* What hgvB sends to the port: seq < 2 * N_FLOWS plain, the last tagged. */
static uint16_t
rx_frame(uint8_t *f, uint32_t seq)
{
	if (seq == 2 * N_FLOWS)
		return build_frame(f, mac_a, mac_b, 7, false, 100, seq);
	return build_frame(f, mac_a, mac_b, seq / 2, seq & 1, 0, seq);
}

static uint16_t
tx_frame(uint8_t *f, uint32_t seq)
{
	return build_frame(f, mac_b, mac_a, seq, false, 0, seq);
}

/* Polls and receives on every queue until n_want frames or the deadline;
 * queue_of[seq] gets the queue each frame came in on. */
static unsigned
port_collect(struct io_port *port, struct pkt_pool *pool, int *queue_of,
    unsigned n_want)
{
	uint16_t nq = io_port_rx_queues(port);
	uint64_t deadline = now_ms() + WAIT_MS;
	unsigned got = 0;

	while (got < n_want && now_ms() < deadline) {
		struct pollfd pfd[8];
		struct pkt *pkts[PKT_BURST];

		for (uint16_t q = 0; q < nq; q++) {
			pfd[q].fd = io_port_fd(port, q);
			pfd[q].events = POLLIN;
		}
		(void)poll(pfd, nq, 50);	/* rx below decides */
		for (uint16_t q = 0; q < nq; q++) {
			uint16_t n = io_port_rx(port, q, pool, pkts, PKT_BURST);

			for (uint16_t i = 0; i < n; i++) {
				long seq = frame_seq(pkts[i]->data,
				    pkts[i]->len);
				uint8_t ref[256];
				uint16_t ref_len;

				if (seq >= 0 && seq <= 2 * N_FLOWS) {
					ref_len = rx_frame(ref, (uint32_t)seq);
					if (pkts[i]->len != ref_len ||
					    memcmp(pkts[i]->data, ref, ref_len))
						fail_msg("rx frame %ld changed "
						    "(len %u, want %u)", seq,
						    pkts[i]->len, ref_len);
					if (queue_of[seq] != -1)
						fail_msg("rx frame %ld twice",
						    seq);
					queue_of[seq] = q;
					got++;
				}
				pkt_free(pool, pkts[i]);
			}
		}
	}
	return got;
}

static bool
promisc_is_on(const char *ifname)
{
	char cmd[128], line[1024];
	bool on = false;
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "ip -d link show %s", ifname);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "promiscuity 1") != NULL)
			on = true;
	pclose(fp);
	return on;
}

static void
test_afpacket(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct io_port_stats st;
	struct pkt *pkts[20];
	int queue_of[2 * N_FLOWS + 1], per_q[2] = { 0, 0 }, raw, raw_a;
	uint8_t f[256];
	char err[256];
	unsigned got;

	NEED_NETNS();
	assert_int_equal(pkt_pool_create(&pool, 512), 0);
	if (io_port_open(&port, "afpacket:hgvA", 2, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	assert_int_equal(io_port_kind(port), IO_PORT_AFPACKET);
	assert_int_equal(io_port_rx_queues(port), 2);
	assert_true(io_port_fd(port, 0) >= 0);
	assert_true(io_port_fd(port, 1) >= 0);
	assert_true(io_port_fd(port, 0) != io_port_fd(port, 1));
	check_mac(port, mac_a);
	assert_true(promisc_is_on("hgvA"));
	raw = raw_open("hgvB");

	/* Into the port: both directions of 32 flows, and a VLAN frame the
	 * kernel untags on the way in (the port must put the tag back). */
	for (uint32_t seq = 0; seq <= 2 * N_FLOWS; seq++) {
		uint16_t len = rx_frame(f, seq);

		raw_send(raw, f, len);
		queue_of[seq] = -1;
	}
	got = port_collect(port, pool, queue_of, 2 * N_FLOWS + 1);
	if (got != 2 * N_FLOWS + 1)
		fail_msg("port received %u of %u frames", got, 2 * N_FLOWS + 1);
	for (unsigned fl = 0; fl < N_FLOWS; fl++) {
		if (queue_of[2 * fl] != queue_of[2 * fl + 1])
			fail_msg("flow %u: forward on queue %d, reply on %d",
			    fl, queue_of[2 * fl], queue_of[2 * fl + 1]);
		per_q[queue_of[2 * fl]]++;
	}
	/* 32 flows all hashing to one queue: odds 2^-31. */
	if (per_q[0] == 0 || per_q[1] == 0)
		fail_msg("fanout used one queue only (%d / %d flows)",
		    per_q[0], per_q[1]);

	/* Out of the port, on both queues. */
	for (uint32_t seq = 0; seq < 20; seq++) {
		uint16_t len = tx_frame(f, seq);

		pkts[seq] = make_pkt(pool, f, len);
	}
	assert_int_equal(io_port_tx(port, 0, pkts, 10, 0), 10);
	assert_int_equal(io_port_tx(port, 1, pkts + 10, 10, 0), 10);
	raw_expect("afpacket tx", raw, 20, tx_frame);
	/* Longer than the MTU allows: refused and counted. */
	pkts[0]->len = 1500 + 14 + 4 + 1;
	assert_int_equal(io_port_tx(port, 0, pkts, 1, 0), 0);
	for (int i = 0; i < 20; i++)
		pkt_free(pool, pkts[i]);
	/* Nothing leaving hgvA comes back in: not the port's own frames
	 * (the kernel skips the sending fanout group anyway) and not what
	 * other sockets or the host send out of it (PACKET_IGNORE_OUTGOING). */
	raw_a = raw_open("hgvA");
	raw_send(raw_a, f, tx_frame(f, 500));
	raw_expect("host frame out of hgvA", raw, 1, tx_frame);
	usleep(20 * 1000);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 20) +
	    io_port_rx(port, 1, pool, pkts, 20), 0);
	close(raw_a);

	io_port_stats(port, &st);
	assert_int_equal(st.rx_pkts, 2 * N_FLOWS + 1);
	assert_int_equal(st.rx_dropped, 0);
	assert_int_equal(st.tx_pkts, 20);
	assert_int_equal(st.tx_errors, 1);
	io_port_close(port);
	assert_false(promisc_is_on("hgvA"));
	close(raw);
	assert_int_equal(pool->n_free, 512);
	pkt_pool_destroy(pool);
}

#define STEER_FLOWS	24	/* per kind, each in both directions */
#define STEER_FRAMES	(FF_KIND_COUNT * STEER_FLOWS * 2)

/* Steering frames say who they are in their source MAC: 02:0d:<seq>. */
static void
steer_smac(uint8_t smac[6], uint32_t seq)
{
	smac[0] = 2;
	smac[1] = 0x0d;
	smac[2] = (uint8_t)(seq >> 24);
	smac[3] = (uint8_t)(seq >> 16);
	smac[4] = (uint8_t)(seq >> 8);
	smac[5] = (uint8_t)seq;
}

static long
steer_seq(const struct pkt *p)
{
	if (p->len < 14 || p->data[6] != 2 || p->data[7] != 0x0d)
		return -1;
	return (long)hg_rd32be(p->data + 8);
}

/*
 * Receives frames [first, first + n) on every queue; checks each arrived on
 * the queue io_frame_flow_queue() names and records it in queue_of.
 */
static void
steer_collect(struct io_port *port, struct pkt_pool *pool, int *queue_of,
    uint32_t first, uint32_t n)
{
	uint16_t nq = io_port_rx_queues(port);
	uint64_t deadline = now_ms() + WAIT_MS;
	uint32_t got = 0;

	while (got < n && now_ms() < deadline) {
		struct pollfd pfd[8];
		struct pkt *pkts[PKT_BURST];

		for (uint16_t q = 0; q < nq; q++) {
			pfd[q].fd = io_port_fd(port, q);
			pfd[q].events = POLLIN;
		}
		(void)poll(pfd, nq, 50);	/* rx below decides */
		for (uint16_t q = 0; q < nq; q++) {
			uint16_t m = io_port_rx(port, q, pool, pkts, PKT_BURST);

			for (uint16_t i = 0; i < m; i++) {
				const struct pkt *p = pkts[i];
				long seq = steer_seq(p);
				uint16_t want = io_frame_flow_queue(p->data,
				    p->len, nq);
				unsigned kind = (unsigned)seq /
				    (STEER_FLOWS * 2);

				if (seq < (long)first ||
				    seq >= (long)(first + n)) {
					pkt_free(pool, pkts[i]);
					continue;
				}
				if (q != want)
					fail_msg("%u queues: %s frame %ld "
					    "arrived on queue %u, "
					    "io_frame_flow_queue() says %u",
					    nq, ff_kind_name[kind], seq, q,
					    want);
				if (queue_of[seq] != -1)
					fail_msg("frame %ld twice", seq);
				queue_of[seq] = q;
				got++;
				pkt_free(pool, pkts[i]);
			}
		}
	}
	if (got != n)
		fail_msg("%u queues: %u of %u frames from %u arrived", nq, got,
		    n, first);
}

/*
 * The kernel steers with our program: every kind of frame flow.c tells
 * apart, both directions of each flow, lands where io_frame_flow_queue()
 * says, both directions together.
 */
static void
test_afpacket_steering(void **state)
{
	static const uint16_t n_queues[] = { 2, 3, 4 };
	static int queue_of[STEER_FRAMES];
	struct pkt_pool *pool;
	uint8_t f[FF_FRAME_MAX], smac[6];
	char err[256];
	int raw;

	NEED_NETNS();
	assert_int_equal(pkt_pool_create(&pool, 1024), 0);
	raw = raw_open("hgvB");
	for (size_t t = 0; t < HG_ARRAY_SIZE(n_queues); t++) {
		struct io_port *port;
		uint32_t per_q[4] = { 0 };

		if (io_port_open(&port, "afpacket:hgvA", n_queues[t], err,
		    sizeof(err)) != 0)
			fail_msg("open: %s", err);
		assert_true(io_port_flow_queue_exact(port));
		for (uint32_t seq = 0; seq < STEER_FRAMES; seq++)
			queue_of[seq] = -1;
		/* a kind at a time: the veth backlog holds 1000 */
		for (unsigned kind = 0; kind < FF_KIND_COUNT; kind++) {
			uint32_t first = kind * STEER_FLOWS * 2;

			for (uint32_t i = 0; i < STEER_FLOWS * 2; i++) {
				steer_smac(smac, first + i);
				raw_send(raw, f, ff_build(f, kind, i / 2,
				    i & 1, smac));
			}
			steer_collect(port, pool, queue_of, first,
			    STEER_FLOWS * 2);
		}
		for (uint32_t seq = 0; seq < STEER_FRAMES; seq += 2) {
			if (queue_of[seq] != queue_of[seq + 1])
				fail_msg("%u queues: %s flow %u: forward on "
				    "queue %d, reverse on %d", n_queues[t],
				    ff_kind_name[seq / (STEER_FLOWS * 2)],
				    seq % (STEER_FLOWS * 2) / 2, queue_of[seq],
				    queue_of[seq + 1]);
			per_q[queue_of[seq]]++;
		}
		for (uint16_t q = 0; q < n_queues[t]; q++)
			if (per_q[q] < STEER_FRAMES / 2 / n_queues[t] / 2)
				fail_msg("%u queues: queue %u got %u flows",
				    n_queues[t], q, per_q[q]);
		io_port_close(port);
	}
	close(raw);
	assert_int_equal(pool->n_free, 1024);
	pkt_pool_destroy(pool);
}

/*
 * Frames longer than a packet buffer (PKT_DATA_ROOM) are dropped and
 * counted, and the next frame still arrives.  The MTUs go up first, so the
 * port's transmit limit is the buffer, not the MTU.
 */
static void
test_afpacket_oversize(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct io_port_stats st;
	struct pkt *pkts[PKT_BURST], *big;
	static uint8_t f[4000];
	int queue_of[2 * N_FLOWS + 1], raw;
	char err[256];
	bool found = false;

	NEED_NETNS();
	assert_int_equal(sh("ip link set hgvA mtu 4000"), 0);
	assert_int_equal(sh("ip link set hgvB mtu 4000"), 0);
	assert_int_equal(pkt_pool_create(&pool, 64), 0);
	if (io_port_open(&port, "afpacket:hgvA", 1, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	raw = raw_open("hgvB");
	(void)rx_frame(f, 3);
	raw_send(raw, f, 3000);			/* frame 3, padded */
	raw_send(raw, f, rx_frame(f, 5));
	for (int i = 0; i <= 2 * N_FLOWS; i++)
		queue_of[i] = -1;
	assert_int_equal(port_collect(port, pool, queue_of, 1), 1);
	assert_int_equal(queue_of[3], -1);
	assert_int_equal(queue_of[5], 0);
	io_port_stats(port, &st);
	assert_int_equal(st.rx_dropped, 1);

	/* The largest frame a buffer holds goes out whole. */
	big = pkts[0] = pkt_alloc(pool);
	memset(big->data, 0xab, PKT_DATA_ROOM);
	(void)tx_frame(big->data, 7);
	big->len = PKT_DATA_ROOM;
	assert_int_equal(io_port_tx(port, 0, pkts, 1, 0), 1);
	pkt_free(pool, big);
	for (uint64_t deadline = now_ms() + WAIT_MS; !found &&
	    now_ms() < deadline;) {
		ssize_t n = recv(raw, f, sizeof(f), 0);

		found = n > 0 && frame_seq(f, (uint16_t)n) == 7;
		if (found) {
			assert_int_equal(n, PKT_DATA_ROOM);
			assert_int_equal(f[PKT_DATA_ROOM - 1], 0xab);
		}
	}
	assert_true(found);
	io_port_stats(port, &st);
	assert_int_equal(st.tx_pkts, 1);
	io_port_close(port);
	close(raw);
	pkt_pool_destroy(pool);
	assert_int_equal(sh("ip link set hgvA mtu 1500"), 0);
	assert_int_equal(sh("ip link set hgvB mtu 1500"), 0);
}

/*
 * A datagram from the host's own UDP stack on hgvB leaves its checksum to
 * veth's offload, so it reaches the port with TP_STATUS_CSUMNOTREADY: still
 * delivered, and counted.
 */
static void
test_afpacket_csum_partial(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct io_port_stats st;
	struct pkt *pkts[PKT_BURST];
	struct sockaddr_in to = { 0 };
	uint64_t deadline;
	unsigned got = 0;
	char err[256];
	int s;

	NEED_NETNS();
	assert_int_equal(sh("ip addr add 10.9.0.2/24 dev hgvB"), 0);
	assert_int_equal(sh("ip neigh replace 10.9.0.1 lladdr "
	    "02:00:00:00:0a:01 dev hgvB"), 0);
	assert_int_equal(pkt_pool_create(&pool, 64), 0);
	if (io_port_open(&port, "afpacket:hgvA", 1, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = htonl(0x0a090001);
	assert_int_equal(sendto(s, "hexgate", 7, 0, (struct sockaddr *)&to,
	    sizeof(to)), 7);
	for (deadline = now_ms() + WAIT_MS; got == 0 && now_ms() < deadline;) {
		struct pollfd pfd = { io_port_fd(port, 0), POLLIN, 0 };
		uint16_t n;

		(void)poll(&pfd, 1, 50);	/* rx below decides */
		n = io_port_rx(port, 0, pool, pkts, PKT_BURST);
		for (uint16_t i = 0; i < n; i++) {
			const uint8_t *d = pkts[i]->data;

			/* UDP to port 9 with our payload */
			if (pkts[i]->len >= 49 && d[23] == 17 &&
			    d[36] == 0 && d[37] == 9 &&
			    memcmp(d + 42, "hexgate", 7) == 0)
				got++;
			pkt_free(pool, pkts[i]);
		}
	}
	assert_int_equal(got, 1);
	io_port_stats(port, &st);
	assert_int_equal(st.rx_csum_partial, 1);
	close(s);
	io_port_close(port);
	pkt_pool_destroy(pool);
	assert_int_equal(sh("ip addr flush dev hgvB"), 0);
}

static uint16_t
tap_frame(uint8_t *f, uint32_t seq)
{
	return build_frame(f, mac_tap, mac_b, seq, false, 0, seq);
}

static void
test_tap(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct io_port_stats st;
	struct pkt *pkts[PKT_BURST];
	uint8_t f[256];
	char err[256];
	unsigned got = 0;
	uint64_t deadline;
	int raw;

	NEED_NETNS();
	assert_int_equal(pkt_pool_create(&pool, 128), 0);
	if (io_port_open(&port, "tap:hgtest0", 2, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	assert_int_equal(io_port_kind(port), IO_PORT_TAP);
	/* Multi-queue: one fd per queue, so each worker reads its own. */
	assert_int_equal(io_port_rx_queues(port), 2);
	assert_true(io_port_fd(port, 0) >= 0);
	assert_true(io_port_fd(port, 1) >= 0);
	assert_int_not_equal(io_port_fd(port, 0), io_port_fd(port, 1));
	/* The MAC is read from the device now, not remembered. */
	assert_int_equal(sh("ip link set hgtest0 address 02:00:00:00:0c:01"),
	    0);
	check_mac(port, mac_tap);
	raw = raw_open("hgtest0");

	/* Port writes: the host sees them arrive on hgtest0. */
	for (uint32_t seq = 0; seq < 8; seq++) {
		uint16_t len = tap_frame(f, seq);

		pkts[seq] = make_pkt(pool, f, len);
	}
	assert_int_equal(io_port_tx(port, 0, pkts, 4, 0), 4);
	assert_int_equal(io_port_tx(port, 1, pkts + 4, 4, 0), 4);
	for (int i = 0; i < 8; i++)
		pkt_free(pool, pkts[i]);
	raw_expect("tap tx", raw, 8, tap_frame);

	/* Host sends on hgtest0: the port reads them. */
	for (uint32_t seq = 0; seq < 8; seq++)
		raw_send(raw, f, tap_frame(f, seq));
	deadline = now_ms() + WAIT_MS;
	while (got < 8 && now_ms() < deadline) {
		struct pollfd pfd[2] = { { io_port_fd(port, 0), POLLIN, 0 },
		    { io_port_fd(port, 1), POLLIN, 0 } };
		uint16_t n;

		/* The kernel spreads the host's flows over the queues. */
		(void)poll(pfd, 2, 50);		/* rx below decides */
		n = io_port_rx(port, 0, pool, pkts, PKT_BURST);
		n = (uint16_t)(n + io_port_rx(port, 1, pool, pkts + n,
		    (uint16_t)(PKT_BURST - n)));
		for (uint16_t i = 0; i < n; i++) {
			long seq = frame_seq(pkts[i]->data, pkts[i]->len);
			uint8_t ref[256];

			if (seq >= 0) {
				uint16_t len = tap_frame(ref, (uint32_t)seq);

				assert_int_equal(pkts[i]->len, len);
				assert_memory_equal(pkts[i]->data, ref, len);
				got++;
			}
			pkt_free(pool, pkts[i]);
		}
	}
	assert_int_equal(got, 8);

	/* Longer than a buffer: dropped and counted; the next one is read. */
	assert_int_equal(sh("ip link set hgtest0 mtu 4000"), 0);
	{
		static uint8_t big[3000];

		tap_frame(big, 20);
		raw_send(raw, big, sizeof(big));
	}
	raw_send(raw, f, tap_frame(f, 21));
	got = 0;
	deadline = now_ms() + WAIT_MS;
	while (got == 0 && now_ms() < deadline) {
		struct pollfd pfd[2] = { { io_port_fd(port, 0), POLLIN, 0 },
		    { io_port_fd(port, 1), POLLIN, 0 } };
		uint16_t n;

		/* The kernel spreads the host's flows over the queues. */
		(void)poll(pfd, 2, 50);		/* rx below decides */
		n = io_port_rx(port, 0, pool, pkts, PKT_BURST);
		n = (uint16_t)(n + io_port_rx(port, 1, pool, pkts + n,
		    (uint16_t)(PKT_BURST - n)));
		for (uint16_t i = 0; i < n; i++) {
			long seq = frame_seq(pkts[i]->data, pkts[i]->len);

			if (seq == 20)
				fail_msg("oversized tap frame delivered "
				    "(%u bytes)", pkts[i]->len);
			got += seq == 21;
			pkt_free(pool, pkts[i]);
		}
	}
	assert_int_equal(got, 1);
	io_port_stats(port, &st);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.tx_pkts, 8);
	assert_true(st.rx_pkts >= 9);
	close(raw);
	io_port_close(port);
	/* hexgate created it, so it goes with the port. */
	assert_int_equal(if_nametoindex("hgtest0"), 0);
	pkt_pool_destroy(pool);
}

/* A device made persistent by someone else is attached to and left. */
static void
test_tap_attach(void **state)
{
	struct io_port *port;
	char err[256];

	NEED_NETNS();
	assert_int_equal(sh("ip tuntap add dev hgtest1 mode tap"), 0);
	if (io_port_open(&port, "tap:hgtest1", 1, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	io_port_close(port);
	assert_true(if_nametoindex("hgtest1") > 0);
	assert_int_equal(sh("ip link del hgtest1"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_afpacket),
		cmocka_unit_test(test_afpacket_steering),
		cmocka_unit_test(test_afpacket_oversize),
		cmocka_unit_test(test_afpacket_csum_partial),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_tap_attach),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
