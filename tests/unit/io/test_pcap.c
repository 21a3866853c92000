/*
 * tests/unit/io/test_pcap.c: the pcap port (src/io/pcap.c).  Writes a
 * capture with libpcap, replays it through "pcap:IN:OUT", checks the bytes
 * and the one-timestamp-per-call grouping, sends the frames back out and
 * reads OUT with libpcap again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "io/io.h"

#define US	1000ull		/* ns per microsecond */

struct frame {
	uint64_t ts_us;
	uint16_t len;
	uint8_t fill;		/* every byte after the header */
};

/*
 * The capture: three timestamp groups, an oversized frame in the middle of
 * the third (dropped and counted, not ending the group) and a single last
 * frame.  Microsecond file, so the port's scaling to ns is checked too.
 */
static const struct frame in_frames[] = {
	{ 1000001, 60, 0x01 },
	{ 1000001, 61, 0x02 },
	{ 1000002, 1514, 0x03 },
	{ 2500000, 64, 0x04 },
	{ 2500000, PKT_DATA_ROOM + 1, 0x05 },	/* too big for a buffer */
	{ 2500000, PKT_DATA_ROOM, 0x06 },	/* exactly fits */
	{ 2500000, 100, 0x07 },
	{ 9000000, 70, 0x08 },
};

/* rx calls and what each returns: index of first frame and count. */
static const struct {
	const char *what;
	uint64_t ts_us;
	unsigned first, n;
} groups[] = {
	{ "two frames share the first timestamp", 1000001, 0, 2 },
	{ "one frame alone", 1000002, 2, 1 },
	{ "oversized frame skipped inside its group", 2500000, 3, 3 },
	{ "last frame", 9000000, 7, 1 },
};

static char dir[64];
static char in_path[128], out_path[128], raw_path[128];

static void
frame_bytes(const struct frame *f, uint8_t *buf)
{
	memset(buf, f->fill, f->len);
	/* dst, src, EtherType 0x88b5 (local experimental) */
	memset(buf, 0x02, 6);
	memset(buf + 6, 0x04, 6);
	buf[12] = 0x88;
	buf[13] = 0xb5;
}

static void
write_capture(const char *path, int dlt)
{
	static uint8_t buf[4096];
	pcap_t *dead = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d;

	assert_non_null(dead);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(in_frames) / sizeof(in_frames[0]); i++) {
		const struct frame *f = &in_frames[i];
		struct pcap_pkthdr h = { 0 };

		frame_bytes(f, buf);
		h.ts.tv_sec = (time_t)(f->ts_us / 1000000);
		h.ts.tv_usec = (suseconds_t)(f->ts_us % 1000000);
		h.caplen = h.len = f->len;
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/hg-io-pcap.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(in_path, sizeof(in_path), "%s/in.pcap", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.pcap", dir);
	snprintf(raw_path, sizeof(raw_path), "%s/raw.pcap", dir);
	write_capture(in_path, DLT_EN10MB);
	write_capture(raw_path, DLT_RAW);
	return 0;
}

static int
teardown(void **state)
{
	unlink(in_path);
	unlink(out_path);
	unlink(raw_path);
	rmdir(dir);
	return 0;
}

static void
check_frame(const char *what, const struct pkt *p, const struct frame *f)
{
	uint8_t want[4096];

	frame_bytes(f, want);
	if (p->len != f->len || memcmp(p->data, want, f->len) != 0)
		fail_msg("%s: frame with fill 0x%02x: got %u bytes, want %u "
		    "(or bytes differ)", what, f->fill, p->len, f->len);
}

static void
test_round_trip(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[PKT_BURST];
	struct io_port_stats st;
	char spec[300], err[256];
	uint64_t ts;
	unsigned total = 0;

	assert_int_equal(pkt_pool_create(&pool, 256), 0);
	snprintf(spec, sizeof(spec), "pcap:%s:%s", in_path, out_path);
	assert_int_equal(io_port_open(&port, spec, 1, err, sizeof(err)), 0);
	assert_int_equal(io_port_kind(port), IO_PORT_PCAP);
	assert_string_equal(io_port_spec(port), spec);
	assert_int_equal(io_port_rx_queues(port), 1);
	assert_int_equal(io_port_fd(port, 0), -1);

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		uint16_t n;

		assert_true(io_port_next_ts(port, 0, &ts));
		if (ts != groups[g].ts_us * US)
			fail_msg("%s: next_ts %llu, want %llu", groups[g].what,
			    (unsigned long long)ts,
			    (unsigned long long)(groups[g].ts_us * US));
		n = io_port_rx(port, 0, pool, pkts, PKT_BURST);
		if (n != groups[g].n)
			fail_msg("%s: rx gave %u frames, want %u",
			    groups[g].what, n, groups[g].n);
		for (unsigned i = 0, k = groups[g].first; i < n; i++, k++) {
			if (in_frames[k].len > PKT_DATA_ROOM)
				k++;
			check_frame(groups[g].what, pkts[i], &in_frames[k]);
		}
		/* Out again, stamped with the capture's own clock. */
		assert_int_equal(io_port_tx(port, 0, pkts, n, ts), n);
		for (unsigned i = 0; i < n; i++)
			pkt_free(pool, pkts[i]);
		total += n;
	}
	assert_true(io_port_next_ts(port, 0, &ts));
	assert_true(ts == UINT64_MAX);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, PKT_BURST), 0);

	io_port_stats(port, &st);
	assert_int_equal(st.rx_pkts, total);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.tx_pkts, total);
	assert_int_equal(st.tx_errors, 0);
	io_port_close(port);
	assert_int_equal(pool->n_free, 256);
	pkt_pool_destroy(pool);
}

/* Reads OUT back: the frames that were delivered, with their timestamps to
 * the nanosecond.  Runs after test_round_trip. */
static void
test_output_file(void **state)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	size_t k = 0;
	int rc;

	p = pcap_open_offline_with_tstamp_precision(out_path,
	    PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL)
		fail_msg("reading %s: %s", out_path, errbuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	assert_int_equal(pcap_get_tstamp_precision(p),
	    PCAP_TSTAMP_PRECISION_NANO);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		uint8_t want[4096];
		uint64_t ts;

		if (in_frames[k].len > PKT_DATA_ROOM)
			k++;
		assert_true(k < sizeof(in_frames) / sizeof(in_frames[0]));
		frame_bytes(&in_frames[k], want);
		ts = (uint64_t)h->ts.tv_sec * 1000000000ull +
		    (uint64_t)h->ts.tv_usec;
		/* Written with now_ns, which was the group's timestamp. */
		if (ts != in_frames[k].ts_us * US)
			fail_msg("out frame %zu: ts %llu, want %llu", k,
			    (unsigned long long)ts,
			    (unsigned long long)(in_frames[k].ts_us * US));
		assert_int_equal(h->caplen, in_frames[k].len);
		assert_int_equal(h->len, in_frames[k].len);
		assert_memory_equal(data, want, in_frames[k].len);
		k++;
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK);
	assert_int_equal(k, sizeof(in_frames) / sizeof(in_frames[0]));
	pcap_close(p);
}

/* Small bursts: max is honoured and the group goes on in the next call. */
static void
test_max_splits_group(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[4];
	char spec[300], err[256];
	uint64_t ts;

	assert_int_equal(pkt_pool_create(&pool, 16), 0);
	snprintf(spec, sizeof(spec), "pcap:%s:", in_path);
	assert_int_equal(io_port_open(&port, spec, 1, err, sizeof(err)), 0);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 1), 1);
	check_frame("max 1, first", pkts[0], &in_frames[0]);
	assert_true(io_port_next_ts(port, 0, &ts));
	assert_true(ts == in_frames[1].ts_us * US);
	assert_int_equal(io_port_rx(port, 0, pool, &pkts[1], 4), 1);
	check_frame("rest of the group", pkts[1], &in_frames[1]);
	/* No output file: transmit has nowhere to go and says so. */
	assert_int_equal(io_port_tx(port, 0, pkts, 2, 0), 0);
	pkt_free(pool, pkts[0]);
	pkt_free(pool, pkts[1]);
	io_port_close(port);
	pkt_pool_destroy(pool);
}

/* Pool empty: the frame waits in the file, nothing is lost. */
static void
test_pool_empty(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[4];
	struct io_port_stats st;
	char spec[300], err[256];

	assert_int_equal(pkt_pool_create(&pool, 1), 0);
	snprintf(spec, sizeof(spec), "pcap:%s:", in_path);
	assert_int_equal(io_port_open(&port, spec, 1, err, sizeof(err)), 0);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 4), 1);
	assert_int_equal(io_port_rx(port, 0, pool, &pkts[1], 4), 0);
	pkt_free(pool, pkts[0]);
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 4), 1);
	check_frame("after the pool refilled", pkts[0], &in_frames[1]);
	pkt_free(pool, pkts[0]);
	io_port_stats(port, &st);
	assert_int_equal(st.rx_dropped, 0);
	io_port_close(port);
	pkt_pool_destroy(pool);
}

static void
test_output_only(void **state)
{
	struct pkt_pool *pool;
	struct io_port *port;
	struct pkt *pkts[1];
	char spec[300], err[256];
	uint64_t ts;

	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	snprintf(spec, sizeof(spec), "pcap::%s", out_path);
	assert_int_equal(io_port_open(&port, spec, 1, err, sizeof(err)), 0);
	assert_false(io_port_next_ts(port, 0, &ts));
	assert_int_equal(io_port_rx(port, 0, pool, pkts, 1), 0);
	io_port_close(port);
	pkt_pool_destroy(pool);
}

static void
test_open_errors(void **state)
{
	struct {
		const char *what;
		const char *in;
		uint16_t n_queues;
		int rc;
		const char *msg;
	} cases[] = {
		{ "two queues", in_path, 2, -EINVAL, "exactly one queue" },
		{ "missing file", "/nonexistent/in.pcap", 1, -ENOENT,
		  "fopen: No such file or directory" },
		{ "not Ethernet", raw_path, 1, -EINVAL, "is not Ethernet" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct io_port *port = (struct io_port *)1;
		char spec[300], err[256] = "";
		int rc;

		snprintf(spec, sizeof(spec), "pcap:%s:", cases[i].in);
		rc = io_port_open(&port, spec, cases[i].n_queues, err,
		    sizeof(err));
		if (rc != cases[i].rc || strstr(err, cases[i].msg) == NULL ||
		    strstr(err, spec) == NULL)
			fail_msg("%s: rc %d err \"%s\", want %d and \"%s: "
			    "...%s\"", cases[i].what, rc, err, cases[i].rc,
			    spec, cases[i].msg);
		assert_null(port);
	}
}

/*
 * The capture writer with queues (what COPY's pcap:/PATH uses): records
 * two workers queue come out whole, each worker's in its own order, cut
 * to cap_bytes with orig_bytes kept, stamped with the wall clock.  Read
 * back with libpcap, not with the writer's own code.  (A full queue
 * refusing records: tests/unit/dp/test_mirror.c, test_dp_pcap_ring_full.)
 */
static void
test_writer_queues(void **state)
{
	char path[160], err[256], errbuf[PCAP_ERRBUF_SIZE];
	struct io_pcap_writer *w;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t frame[200];
	unsigned seen[2] = { 0, 0 }, n = 0;
	uint64_t t0 = (uint64_t)time(NULL);
	pcap_t *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/queued.pcap", dir);
	assert_int_equal(io_pcap_writer_open(&w, path, 0600, 2, err,
	    sizeof(err)), 0);
	for (unsigned i = 0; i < 40; i++) {
		uint16_t q = (uint16_t)(i % 2);

		memset(frame, (int)i, sizeof(frame));
		frame[0] = (uint8_t)q;
		frame[1] = (uint8_t)(i / 2);
		assert_true(io_pcap_writer_queue(w, q, frame, 60, 200));
	}
	assert_int_equal(io_pcap_writer_close(w), 0);

	p = pcap_open_offline_with_tstamp_precision(path,
	    PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL)
		fail_msg("reading %s: %s", path, errbuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	while (pcap_next_ex(p, &h, &data) == 1) {
		uint8_t q = data[0];

		assert_true(q < 2);
		assert_int_equal(data[1], seen[q]);	/* in queue order */
		assert_int_equal(h->caplen, 60);
		assert_int_equal(h->len, 200);
		assert_int_equal(data[59], (uint8_t)(2 * seen[q] + q));
		assert_true((uint64_t)h->ts.tv_sec + 1 >= t0);
		seen[q]++;
		n++;
	}
	assert_int_equal(n, 40);
	pcap_close(p);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_output_file),
		cmocka_unit_test(test_max_splits_group),
		cmocka_unit_test(test_pool_empty),
		cmocka_unit_test(test_output_only),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_writer_queues),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
