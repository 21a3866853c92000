/*
 * src/io/io_priv.h: what the files of src/io share and nobody else sees.
 * Each back end (pcap.c, afpacket.c, tap.c, gen.c) fills one struct io_ops;
 * port.c parses the kind out of the spec, picks the ops and dispatches the
 * public calls of io.h to them.  Counters live here too, because every back
 * end updates them the same way.
 */
#ifndef IO_PRIV_H
#define IO_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "io.h"

/*
 * One queue's counters.  Only the worker that owns the queue writes them;
 * io_port_stats() on the control thread reads them while the worker runs.
 * A reader may see a counter a few packets old, or rx_pkts updated before
 * rx_bytes: that is fine for counters.  Writes and reads are __atomic with
 * relaxed order so the race is well defined (and TSan stays quiet); the
 * writer's own plain read of its counter races with nothing but reads.
 * Cache-line aligned so two workers never write the same line.
 */
struct io_queue_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t rx_csum_partial;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_errors;
} HG_ALIGNED(HG_CACHE_LINE);

static inline void
io_stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static inline uint64_t
io_stat_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

struct io_port;

struct io_ops {
	enum io_port_kind kind;
	const char *name;		/* "pcap", the text before the ':' */
	bool has_args;			/* "null" takes none; the rest need ':' */

	/* Checks the text after "name:" (empty string when absent). */
	int (*check)(const char *args, char *err, size_t err_len);
	/* Fills port->priv and port->n_rx_queues; port->spec, n_queues and
	 * stats are set.  On failure frees what it allocated. */
	int (*open)(struct io_port *port, const char *args, char *err,
	    size_t err_len);
	void (*close)(struct io_port *port);
	uint16_t (*rx)(struct io_port *port, uint16_t q, struct pkt_pool *pool,
	    struct pkt **pkts, uint16_t max);
	uint16_t (*tx)(struct io_port *port, uint16_t q, struct pkt **pkts,
	    uint16_t n, uint64_t now_ns);
	/* Optional: NULL means "never blocks", "no MAC", "not a replay". */
	int (*fd)(const struct io_port *port, uint16_t q);
	int (*mac)(const struct io_port *port, uint8_t mac[ETH_ALEN]);
	bool (*next_ts)(struct io_port *port, uint16_t q, uint64_t *ts_ns);
};

struct io_port {
	const struct io_ops *ops;
	void *priv;			/* the back end's state */
	struct io_queue_stats *stats;	/* n_queues of them */
	uint16_t n_queues;
	uint16_t n_rx_queues;
	bool flow_exact;		/* rx queue == io_flow_queue() */
	char *spec;			/* the line it was opened with */
};

extern const struct io_ops io_pcap_ops;
extern const struct io_ops io_afpacket_ops;
extern const struct io_ops io_tap_ops;
extern const struct io_ops io_gen_ops;
extern const struct io_ops io_null_ops;

/* Formats into err (when err_len > 0); returns -EINVAL for check errors. */
int io_err(char *err, size_t err_len, const char *fmt, ...) HG_PRINTF(3, 4);
/* "<spec>: out of memory" into err; returns -ENOMEM. */
int io_err_nomem(char *err, size_t err_len, const char *spec);
/*
 * "<spec>: <syscall>: <strerror(errnum)>" into err; returns -errnum.  Open
 * failures use it so the message names the port and the call that failed.
 */
int io_err_sys(char *err, size_t err_len, const struct io_port *port,
    const char *syscall, int errnum);

/* Zeroed memory aligned to a cache line (per-queue state of several
 * workers side by side); free() it.  NULL when out of memory. */
void *io_zalloc_lines(size_t n_bytes);

/*
 * The classic BPF program of a PACKET_FANOUT_CBPF group that returns
 * io_frame_flow_queue()'s choice before the kernel's modulo (flow.c).
 * Writes at most max instructions: their count, or -E2BIG (max too small)
 * or -ERANGE (a jump out of cBPF's reach), which test_flow.c rules out.
 */
#define IO_FLOW_CBPF_MAX	256
struct sock_filter;
int io_flow_cbpf(struct sock_filter *prog, size_t max) HG_MUST_CHECK;

/* Reads ifname's MAC with SIOCGIFHWADDR: 0 or -errno. */
int io_ifname_mac(const char *ifname, uint8_t mac[ETH_ALEN]) HG_MUST_CHECK;

/* Checks an interface name: non-empty, shorter than IFNAMSIZ, no '/' or
 * blanks (the kernel's dev_valid_name()). */
int io_check_ifname(const char *kind, const char *name, char *err,
    size_t err_len) HG_MUST_CHECK;

#endif /* IO_PRIV_H */
