/*
 * src/io/pcap_writer.c: the one writer of capture files in hexgate.  The
 * pcap port (pcap.c) writes what leaves through it; COPY's pcap:/PATH
 * destination (src/dp/mirror.c) writes what workers queue.  The format is
 * libpcap's (pcap_dump()): Ethernet, snaplen 65535, nanosecond timestamps
 * (magic 0xa1b23c4d; tcpdump, Wireshark and scapy read it).
 *
 * Queued records: each worker has a lock-free ring of its own (the worker
 * moves head, the writer thread tail, each on its own cache line), so a
 * worker never waits for the disk; a record that finds its ring full is
 * refused and the caller counts it.  The thread drains every ring,
 * flushes after each pass that wrote something (the capture can be read
 * while hexgated runs) and sleeps when there was nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/hg_time.h"
#include "../lib/log.h"
#include "io_priv.h"

#define PCAPW_IDLE_NS	1000000		/* the thread's sleep between empty
					   passes */

struct pcapw_rec {
	uint64_t ts_ns;			/* CLOCK_REALTIME */
	uint16_t orig_len, cap_len;
	uint8_t data[PKT_DATA_ROOM];
};

/* Free-running indices: head - tail records wait. */
struct pcapw_ring {
	HG_ALIGNED(HG_CACHE_LINE) uint32_t head;
	HG_ALIGNED(HG_CACHE_LINE) uint32_t tail;
	HG_ALIGNED(HG_CACHE_LINE) struct pcapw_rec rec[IO_PCAP_QUEUE_SLOTS];
};

_Static_assert((IO_PCAP_QUEUE_SLOTS & (IO_PCAP_QUEUE_SLOTS - 1)) == 0,
    "IO_PCAP_QUEUE_SLOTS must be a power of two");

struct io_pcap_writer {
	pcap_t *dead;			/* the handle records are dumped through */
	pcap_dumper_t *dump;
	bool failed;			/* a write failed: said once */
	uint16_t n_queues;
	struct pcapw_ring *rings;	/* [queue]; NULL when n_queues is 0 */
	pthread_t thread;
	int stop;			/* atomic: drain, then return */
	char path[];
};

int
io_pcap_writer_put(struct io_pcap_writer *w, uint64_t ts_ns,
    const uint8_t *frame, uint32_t cap_bytes, uint32_t orig_bytes)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	/* With nanosecond precision tv_usec holds nanoseconds. */
	h.ts.tv_sec = (time_t)(ts_ns / HG_NS_PER_S);
	h.ts.tv_usec = (suseconds_t)(ts_ns % HG_NS_PER_S);
	h.caplen = cap_bytes;
	h.len = orig_bytes;
	pcap_dump((u_char *)w->dump, &h, frame);
	return ferror(pcap_dump_file(w->dump)) ? -EIO : 0;
}

int
io_pcap_writer_flush(struct io_pcap_writer *w)
{
	return pcap_dump_flush(w->dump) == 0 ? 0 : -EIO;
}

bool
io_pcap_writer_queue(struct io_pcap_writer *w, uint16_t q,
    const uint8_t *frame, uint16_t cap_bytes, uint16_t orig_bytes)
{
	struct pcapw_ring *r = &w->rings[q];
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	struct pcapw_rec *rec;
	struct timespec ts;

	if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >=
	    IO_PCAP_QUEUE_SLOTS)
		return false;
	rec = &r->rec[head % IO_PCAP_QUEUE_SLOTS];
	/* Wall time, as captures carry; a worker's clock is monotonic (or
	 * a replayed capture's). */
	clock_gettime(CLOCK_REALTIME, &ts);
	rec->ts_ns = (uint64_t)ts.tv_sec * HG_NS_PER_S + (uint64_t)ts.tv_nsec;
	rec->orig_len = orig_bytes;
	rec->cap_len = HG_MIN(cap_bytes, PKT_DATA_ROOM);
	memcpy(rec->data, frame, rec->cap_len);
	/* The record is whole before the thread may see it. */
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return true;
}

static void
pcapw_failed(struct io_pcap_writer *w)
{
	if (!w->failed)
		hg_log_warn("io: pcap %s: write", w->path);
	w->failed = true;
}

/* The thread: writes what r holds; returns how many records. */
static uint32_t
pcapw_drain(struct io_pcap_writer *w, struct pcapw_ring *r)
{
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t n = 0;

	for (; tail != head; tail++, n++) {
		const struct pcapw_rec *rec = &r->rec[tail % IO_PCAP_QUEUE_SLOTS];

		if (io_pcap_writer_put(w, rec->ts_ns, rec->data, rec->cap_len,
		    rec->orig_len) != 0)
			pcapw_failed(w);
	}
	/* The slots are free again once written (or given up on). */
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	return n;
}

/*
 * Told to stop only once no worker queues any more, so after that the
 * first pass that finds nothing is the last.  A write error is said once;
 * later records are taken off the rings anyway, so the workers go on.
 */
static void *
pcapw_thread(void *arg)
{
	struct io_pcap_writer *w = arg;
	const struct timespec idle = { 0, PCAPW_IDLE_NS };

	for (;;) {
		bool stop = __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
		uint32_t n = 0;

		for (uint16_t q = 0; q < w->n_queues; q++)
			n += pcapw_drain(w, &w->rings[q]);
		if (n > 0) {
			if (io_pcap_writer_flush(w) != 0)
				pcapw_failed(w);
		} else if (stop) {
			break;
		} else {
			nanosleep(&idle, NULL);
		}
	}
	return NULL;
}

/* "<what>: <strerror(errnum)>" into err; returns -errnum.  The caller
 * knows the path and says it. */
static int
pcapw_err(char *err, size_t err_len, const char *what, int errnum)
{
	(void)io_err(err, err_len, "%s: %s", what, strerror(errnum));
	return -errnum;
}

static int
pcapw_open_file(struct io_pcap_writer *w, unsigned mode, char *err,
    size_t err_len)
{
	FILE *fp;
	int fd;

	w->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
	    PCAP_TSTAMP_PRECISION_NANO);
	if (w->dead == NULL)
		return pcapw_err(err, err_len, "pcap_open_dead", ENOMEM);
	/* Not through a link: hexgated runs as root. */
	fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, mode);
	if (fd < 0)
		return pcapw_err(err, err_len, "open", errno);
	fp = fdopen(fd, "wb");
	if (fp == NULL) {
		close(fd);
		return pcapw_err(err, err_len, "fdopen", errno);
	}
	w->dump = pcap_dump_fopen(w->dead, fp);
	if (w->dump == NULL) {
		fclose(fp);
		return io_err(err, err_len, "%s", pcap_geterr(w->dead));
	}
	/* The header reaches the file now: an idle writer still leaves a
	 * valid, empty capture. */
	if (io_pcap_writer_flush(w) != 0)
		return pcapw_err(err, err_len, "write", errno);
	return 0;
}

int
io_pcap_writer_open(struct io_pcap_writer **out, const char *path,
    unsigned mode, uint16_t n_queues, char *err, size_t err_len)
{
	size_t path_len = strlen(path) + 1;
	struct io_pcap_writer *w;
	int rc;

	w = calloc(1, sizeof(*w) + path_len);
	if (w == NULL)
		return pcapw_err(err, err_len, "calloc", ENOMEM);
	memcpy(w->path, path, path_len);
	w->n_queues = n_queues;
	rc = pcapw_open_file(w, mode, err, err_len);
	if (rc == 0 && n_queues > 0) {
		w->rings = io_zalloc_lines((size_t)n_queues *
		    sizeof(w->rings[0]));
		if (w->rings == NULL)
			rc = pcapw_err(err, err_len, "queues", ENOMEM);
	}
	if (rc == 0 && n_queues > 0) {
		rc = -pthread_create(&w->thread, NULL, pcapw_thread, w);
		if (rc != 0)
			rc = pcapw_err(err, err_len, "writer thread",
			    -rc);
	}
	if (rc != 0) {
		free(w->rings);
		w->rings = NULL;
		(void)io_pcap_writer_close(w);	/* the error is in err */
		return rc;
	}
	*out = w;
	return 0;
}

int
io_pcap_writer_close(struct io_pcap_writer *w)
{
	int rc = 0;

	if (w == NULL)
		return 0;
	if (w->rings != NULL) {
		/* No worker queues any more: the thread empties the rings
		 * and returns. */
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
		pthread_join(w->thread, NULL);
		free(w->rings);
	}
	if (w->dump != NULL) {
		if (io_pcap_writer_flush(w) != 0 || w->failed)
			rc = -EIO;
		pcap_dump_close(w->dump);	/* closes the file too */
	}
	if (w->dead != NULL)
		pcap_close(w->dead);
	free(w);
	return rc;
}
