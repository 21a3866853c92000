/*
 * src/io/pcap.c: the pcap port, "pcap:IN:OUT".  Replays the Ethernet
 * capture IN and appends what hexgate transmits to OUT, so a test can feed
 * a pipeline from a file and compare what leaves with an expected file.
 * Either file may be left out, not both.  IN ends at the first ':' (so it
 * cannot contain one); OUT is the rest of the line.
 *
 * Timestamps: IN is read with nanosecond precision (libpcap scales
 * microsecond files), and OUT is written by the capture writer
 * (pcap_writer.c) as a nanosecond-precision capture stamped with the
 * now_ns the worker passes to io_port_tx(), so a replay that runs on the
 * capture's clock writes its input timestamps back unchanged.
 *
 * One queue only: a capture has one order, and the file writer is not
 * shared.  Not here: choosing which of several captures goes first (the
 * worker does that with io_port_next_ts(), src/dp).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/hg_time.h"
#include "io_priv.h"

struct io_pcap {
	pcap_t *in;
	struct io_pcap_writer *out;
	/* Lookahead: the next frame of IN.  Its bytes belong to libpcap and
	 * stay valid until the next pcap_next_ex() on IN. */
	struct pcap_pkthdr *next_hdr;
	const u_char *next_data;
	bool have_next;
};

/* Splits "IN:OUT" into two buffers of size len each. */
static int
io_pcap_split(const char *args, char *in, char *out, size_t len, char *err,
    size_t err_len)
{
	const char *colon = strchr(args, ':');
	size_t in_len = colon != NULL ? (size_t)(colon - args) : strlen(args);
	const char *out_s = colon != NULL ? colon + 1 : "";

	if (in_len >= len || strlen(out_s) >= len)
		return io_err(err, err_len, "pcap: file name longer than %zu "
		    "characters", len - 1);
	memcpy(in, args, in_len);
	in[in_len] = '\0';
	snprintf(out, len, "%s", out_s);
	if (in[0] == '\0' && out[0] == '\0')
		return io_err(err, err_len, "pcap: needs an input or an "
		    "output file (pcap:IN:OUT)");
	return 0;
}

static int
io_pcap_check(const char *args, char *err, size_t err_len)
{
	char in[4096], out[4096];

	return io_pcap_split(args, in, out, sizeof(in), err, err_len);
}

static uint64_t
io_pcap_ts_ns(const struct pcap_pkthdr *h)
{
	/* With nanosecond precision tv_usec holds nanoseconds. */
	return (uint64_t)h->ts.tv_sec * HG_NS_PER_S + (uint64_t)h->ts.tv_usec;
}

/* Moves the lookahead to the next frame of IN. */
static void
io_pcap_fetch(struct io_port *port, struct io_pcap *pc)
{
	int rc;

	rc = pcap_next_ex(pc->in, &pc->next_hdr, &pc->next_data);
	pc->have_next = rc == 1;
	if (rc == PCAP_ERROR) {
		/* A damaged file ends the replay early; said once, since
		 * have_next stays false from now on. */
		hg_log_warnx("io: %s: reading the capture: %s; treating it as "
		    "its end", port->spec, pcap_geterr(pc->in));
	}
}

static int
io_pcap_open_in(struct io_port *port, struct io_pcap *pc, const char *path,
    char *err, size_t err_len)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *fp;
	int dlt;

	/* fopen() ourselves so the failure carries an errno. */
	fp = fopen(path, "rb");
	if (fp == NULL)
		return io_err_sys(err, err_len, port, "fopen", errno);
	pc->in = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (pc->in == NULL) {
		fclose(fp);
		return io_err(err, err_len, "%s: %s: %s", port->spec, path,
		    errbuf);
	}
	dlt = pcap_datalink(pc->in);
	if (dlt != DLT_EN10MB)
		return io_err(err, err_len, "%s: %s: link type %s is not "
		    "Ethernet", port->spec, path,
		    pcap_datalink_val_to_name(dlt) != NULL ?
		    pcap_datalink_val_to_name(dlt) : "unknown");
	io_pcap_fetch(port, pc);
	return 0;
}

/* No queues: the worker writes.  The spec, which names the file, goes in
 * front of what failed. */
static int
io_pcap_open_out(struct io_port *port, struct io_pcap *pc, const char *path,
    char *err, size_t err_len)
{
	char why[256];
	int rc;

	rc = io_pcap_writer_open(&pc->out, path, 0644, 0, why, sizeof(why));
	if (rc < 0)
		(void)io_err(err, err_len, "%s: %s", port->spec, why);
	return rc;
}

static void
io_pcap_free(struct io_pcap *pc)
{
	if (pc->in != NULL)
		pcap_close(pc->in);
	/* What could not be written was counted in tx_errors already. */
	(void)io_pcap_writer_close(pc->out);
	free(pc);
}

static int
io_pcap_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	char in[4096], out[4096];
	struct io_pcap *pc;
	int rc;

	rc = io_pcap_split(args, in, out, sizeof(in), err, err_len);
	if (rc < 0)
		return rc;
	if (port->n_queues != 1)
		return io_err(err, err_len, "%s: a pcap port has exactly one "
		    "queue (asked for %u)", port->spec, port->n_queues);
	pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return io_err_nomem(err, err_len, port->spec);
	if (in[0] != '\0')
		rc = io_pcap_open_in(port, pc, in, err, err_len);
	if (rc == 0 && out[0] != '\0')
		rc = io_pcap_open_out(port, pc, out, err, err_len);
	if (rc < 0) {
		io_pcap_free(pc);
		return rc;
	}
	port->priv = pc;
	port->n_rx_queues = 1;
	return 0;
}

static void
io_pcap_close(struct io_port *port)
{
	io_pcap_free(port->priv);
}

static uint16_t
io_pcap_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	struct io_pcap *pc = port->priv;
	struct io_queue_stats *st = &port->stats[q];
	uint64_t first_ts = 0, bytes = 0, dropped = 0;
	uint16_t n = 0;

	while (n < max && pc->in != NULL && pc->have_next) {
		const struct pcap_pkthdr *h = pc->next_hdr;
		uint64_t ts = io_pcap_ts_ns(h);
		struct pkt *p;

		/* One timestamp per call: the worker orders captures by it. */
		if (n > 0 && ts != first_ts)
			break;
		if (h->caplen < h->len || h->caplen > PKT_DATA_ROOM) {
			/* Truncated by the capture, or too big for a buffer. */
			dropped++;
			io_pcap_fetch(port, pc);
			continue;
		}
		p = pkt_alloc(pool);
		if (p == NULL)
			break;	/* it stays the lookahead for the next call */
		memcpy(p->data, pc->next_data, h->caplen);
		p->len = (uint16_t)h->caplen;
		if (n == 0)
			first_ts = ts;
		pkts[n++] = p;
		bytes += h->caplen;
		io_pcap_fetch(port, pc);
	}
	io_stat_add(&st->rx_pkts, n);
	io_stat_add(&st->rx_bytes, bytes);
	io_stat_add(&st->rx_dropped, dropped);
	return n;
}

static uint16_t
io_pcap_tx(struct io_port *port, uint16_t q, struct pkt **pkts, uint16_t n,
    uint64_t now_ns)
{
	struct io_pcap *pc = port->priv;
	struct io_queue_stats *st = &port->stats[q];
	uint64_t bytes = 0;
	int rc = 0;

	if (pc->out == NULL) {
		/* No output file: nowhere for them to go. */
		io_stat_add(&st->tx_errors, n);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		rc |= io_pcap_writer_put(pc->out, now_ns, pkts[i]->data,
		    pkts[i]->len, pkts[i]->len);
		bytes += pkts[i]->len;
	}
	/* Flushed per call: tests and users read the file while, or right
	 * after, hexgate runs, and a crash must not eat the tail. */
	if (rc != 0 || io_pcap_writer_flush(pc->out) != 0) {
		io_stat_add(&st->tx_errors, n);
		return 0;
	}
	io_stat_add(&st->tx_pkts, n);
	io_stat_add(&st->tx_bytes, bytes);
	return n;
}

static bool
io_pcap_next_ts(struct io_port *port, uint16_t q, uint64_t *ts_ns)
{
	struct io_pcap *pc = port->priv;

	if (pc->in == NULL)
		return false;
	*ts_ns = pc->have_next ? io_pcap_ts_ns(pc->next_hdr) : UINT64_MAX;
	return true;
}

const struct io_ops io_pcap_ops = {
	.kind = IO_PORT_PCAP,
	.name = "pcap",
	.has_args = true,
	.check = io_pcap_check,
	.open = io_pcap_open,
	.close = io_pcap_close,
	.rx = io_pcap_rx,
	.tx = io_pcap_tx,
	.next_ts = io_pcap_next_ts,
};
