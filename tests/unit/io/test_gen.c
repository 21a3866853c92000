/*
 * tests/unit/io/test_gen.c: the in-memory ports of src/io/gen.c.  Checks
 * what a benchmark relies on: frame size, well-formed IPv4/UDP with a valid
 * header checksum (verified here with a separate RFC 1071 sum), exactly
 * `flows` distinct destinations inside the span, the count limit per queue,
 * and the null sink's counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/io.h"
#include "lib/bytes.h"

/* RFC 1071 sum over an IPv4 header; 0xffff when the checksum is right. */
static uint16_t
ref_sum(const uint8_t *hdr, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

struct gen_case {
	const char *what;
	const char *spec;
	uint16_t n_queues;
	uint16_t size;
	uint32_t src;
	uint32_t dst_lo, dst_hi;	/* inclusive range destinations fall in */
	uint32_t flows;			/* distinct destinations expected */
	uint64_t count;			/* frames per queue; 0: take 5000 */
	uint8_t dmac[6];
};

static const struct gen_case cases[] = {
	{ "defaults", "gen", 1, 64, 0xc6120001, 0x0a000000, 0x0a000000, 1, 0,
	  { 2, 0, 0, 0, 0, 1 } },
	{ "50 flows in a /24, 2 queues", "gen:size=100,flows=50,count=1000,"
	  "dst=10.1.0.0,span=256,src=192.0.2.1,dmac=02:aa:bb:cc:dd:ee",
	  2, 100, 0xc0000201, 0x0a010000, 0x0a0100ff, 50, 1000,
	  { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee } },
	{ "every address of a /28", "gen:flows=16,span=16,dst=198.51.100.0,"
	  "size=60,count=64", 1, 60, 0xc6120001, 0xc6336400, 0xc633640f, 16,
	  64, { 2, 0, 0, 0, 0, 1 } },
	{ "1500-byte frames, default span", "gen:size=1514,flows=1000", 1,
	  1514, 0xc6120001, 0x0a000000, 0x0affffff, 1000, 0,
	  { 2, 0, 0, 0, 0, 1 } },
	{ "span clamped near the top", "gen:dst=255.255.255.0,flows=256", 1,
	  64, 0xc6120001, 0xffffff00, 0xffffffff, 256, 0,
	  { 2, 0, 0, 0, 0, 1 } },
};

static void
check_frame(const struct gen_case *c, const struct pkt *p)
{
	const uint8_t *f = p->data, *ip = f + 14, *udp = ip + 20;
	uint32_t dst = hg_rd32be(ip + 16);

	if (p->len != c->size)
		fail_msg("%s: frame of %u bytes, want %u", c->what, p->len,
		    c->size);
	if (memcmp(f, c->dmac, 6) != 0 || hg_rd16be(f + 12) != 0x0800)
		fail_msg("%s: Ethernet header", c->what);
	if (ip[0] != 0x45 || ip[8] != 64 || ip[9] != 17 ||
	    hg_rd16be(ip + 2) != c->size - 14 || hg_rd16be(ip + 6) != 0)
		fail_msg("%s: IPv4 header fields", c->what);
	if (ref_sum(ip, 20) != 0xffff)
		fail_msg("%s: bad IPv4 checksum 0x%04x for dst %08x", c->what,
		    hg_rd16be(ip + 10), dst);
	if (hg_rd32be(ip + 12) != c->src)
		fail_msg("%s: src %08x, want %08x", c->what, hg_rd32be(ip + 12),
		    c->src);
	if (dst < c->dst_lo || dst > c->dst_hi)
		fail_msg("%s: dst %08x outside %08x..%08x", c->what, dst,
		    c->dst_lo, c->dst_hi);
	if (hg_rd16be(udp + 4) != c->size - 34 || hg_rd16be(udp + 6) != 0)
		fail_msg("%s: UDP length or checksum", c->what);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static size_t
count_distinct(uint32_t *v, size_t n)
{
	size_t d = 0;

	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] != v[i - 1])
			d++;
	return d;
}

/* Runs queue q dry (or up to 5000 frames); returns how many it gave. */
static uint64_t
drain_queue(const struct gen_case *c, struct io_port *port, uint16_t q,
    struct pkt_pool *pool, uint32_t *dsts, size_t *n_dsts)
{
	struct pkt *pkts[PKT_BURST];
	uint64_t total = 0, want = c->count ? c->count : 5000;
	uint16_t n;

	while (total < want) {
		uint16_t max = (uint16_t)HG_MIN(want - total, PKT_BURST);

		n = io_port_rx(port, q, pool, pkts, PKT_BURST);
		if (n == 0)
			break;
		/* "Every rx returns max frames until count". */
		if (c->count && n != max)
			fail_msg("%s: rx gave %u, want %u", c->what, n, max);
		for (uint16_t i = 0; i < n; i++) {
			check_frame(c, pkts[i]);
			dsts[(*n_dsts)++] = hg_rd32be(pkts[i]->data + 14 + 16);
			pkt_free(pool, pkts[i]);
		}
		total += n;
	}
	return total;
}

static void
test_gen_frames(void **state)
{
	struct pkt_pool *pool;

	assert_int_equal(pkt_pool_create(&pool, PKT_BURST), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gen_case *c = &cases[i];
		static uint32_t dsts[2 * 5000 + PKT_BURST];
		struct io_port_stats st;
		struct io_port *port;
		struct pkt *extra[1];
		size_t n_dsts = 0;
		uint64_t total = 0;
		char err[256];
		int rc;

		rc = io_port_open(&port, c->spec, c->n_queues, err,
		    sizeof(err));
		if (rc != 0)
			fail_msg("%s: open: %s", c->what, err);
		assert_int_equal(io_port_kind(port), IO_PORT_GEN);
		assert_int_equal(io_port_rx_queues(port), c->n_queues);
		assert_int_equal(io_port_fd(port, 0), -1);
		for (uint16_t q = 0; q < c->n_queues; q++) {
			uint64_t got = drain_queue(c, port, q, pool, dsts,
			    &n_dsts);

			if (c->count && got != c->count)
				fail_msg("%s: queue %u gave %llu frames, want "
				    "%llu", c->what, q,
				    (unsigned long long)got,
				    (unsigned long long)c->count);
			/* After count, nothing more. */
			if (c->count && io_port_rx(port, q, pool, extra, 1))
				fail_msg("%s: frames after count", c->what);
			total += got;
		}
		if (count_distinct(dsts, n_dsts) != c->flows)
			fail_msg("%s: %zu distinct destinations, want %u",
			    c->what, count_distinct(dsts, n_dsts), c->flows);
		io_port_stats(port, &st);
		assert_int_equal(st.rx_pkts, total);
		assert_int_equal(st.rx_bytes, total * c->size);
		io_port_close(port);
		assert_int_equal(pool->n_free, PKT_BURST);
	}
	pkt_pool_destroy(pool);
}

/* A pool with fewer buffers than asked for bounds the burst. */
static void
test_gen_pool_empty(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[PKT_BURST];
	char err[256];
	uint16_t n;

	assert_int_equal(pkt_pool_create(&pool, 10), 0);
	assert_int_equal(io_port_open(&port, "gen:count=100", 1, err,
	    sizeof(err)), 0);
	n = io_port_rx(port, 0, pool, pkts, PKT_BURST);
	assert_int_equal(n, 10);
	assert_int_equal(io_port_rx(port, 0, pool, pkts + n, PKT_BURST), 0);
	for (uint16_t i = 0; i < n; i++)
		pkt_free(pool, pkts[i]);
	io_port_close(port);
	pkt_pool_destroy(pool);
}

static void
test_null(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[5];
	struct io_port_stats st;
	uint8_t mac[6];
	uint64_t ts;
	char err[256];

	assert_int_equal(pkt_pool_create(&pool, 8), 0);
	assert_int_equal(io_port_open(&port, "null", 2, err, sizeof(err)), 0);
	assert_int_equal(io_port_kind(port), IO_PORT_NULL);
	for (int i = 0; i < 5; i++) {
		pkts[i] = pkt_alloc(pool);
		pkts[i]->len = (uint16_t)(60 + i);
	}
	assert_int_equal(io_port_tx(port, 0, pkts, 3, 0), 3);
	assert_int_equal(io_port_tx(port, 1, pkts + 3, 2, 0), 2);
	/* Beyond the queues it was opened with: refused. */
	assert_int_equal(io_port_tx(port, 2, pkts, 1, 0), 0);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 5), 0);
	assert_int_equal(io_port_fd(port, 0), -1);
	assert_false(io_port_next_ts(port, 0, &ts));
	assert_int_equal(io_port_mac(port, mac), -ENOENT);
	io_port_stats(port, &st);
	assert_int_equal(st.tx_pkts, 5);
	assert_int_equal(st.tx_bytes, 60 + 61 + 62 + 63 + 64);
	assert_int_equal(st.rx_pkts, 0);
	io_port_close(port);
	pkt_pool_destroy(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gen_frames),
		cmocka_unit_test(test_gen_pool_empty),
		cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
