/*
 * src/io/port.c: the public face of io.h.  Splits a port line into its kind
 * and arguments, picks the back end's ops (pcap.c, afpacket.c, tap.c,
 * gen.c), owns the per-queue counters and sums them.  The back ends do the
 * I/O; nothing here touches a packet.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_priv.h"

static const struct io_ops *const io_ops_table[IO_PORT_KIND_COUNT] = {
	[IO_PORT_PCAP] = &io_pcap_ops,
	[IO_PORT_AFPACKET] = &io_afpacket_ops,
	[IO_PORT_TAP] = &io_tap_ops,
	[IO_PORT_GEN] = &io_gen_ops,
	[IO_PORT_NULL] = &io_null_ops,
};

int
io_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && err_len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int
io_err_nomem(char *err, size_t err_len, const char *spec)
{
	(void)io_err(err, err_len, "%s: out of memory", spec);
	return -ENOMEM;
}

int
io_err_sys(char *err, size_t err_len, const struct io_port *port,
    const char *syscall, int errnum)
{
	(void)io_err(err, err_len, "%s: %s: %s", port->spec, syscall,
	    strerror(errnum));
	return -errnum;
}

void *
io_zalloc_lines(size_t n_bytes)
{
	void *mem;

	if (posix_memalign(&mem, HG_CACHE_LINE, n_bytes) != 0)
		return NULL;
	memset(mem, 0, n_bytes);
	return mem;
}

int
io_check_ifname(const char *kind, const char *name, char *err, size_t err_len)
{
	if (name[0] == '\0')
		return io_err(err, err_len, "%s: missing interface name", kind);
	if (strlen(name) >= IFNAMSIZ)
		return io_err(err, err_len,
		    "%s: interface name \"%s\" is longer than %d characters",
		    kind, name, IFNAMSIZ - 1);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strpbrk(name, "/: \t\n") != NULL)
		return io_err(err, err_len,
		    "%s: \"%s\" is not a valid interface name", kind, name);
	return 0;
}

int
io_ifname_mac(const char *ifname, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return rc;
}

/*
 * Finds the back end for spec and where its arguments start ("" when the
 * spec is a bare kind such as "null" or "gen").
 */
static int
io_spec_split(const char *spec, const struct io_ops **ops, const char **args,
    char *err, size_t err_len)
{
	size_t kind_len;
	const char *colon;

	colon = strchr(spec, ':');
	kind_len = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (kind_len == 0)
		return io_err(err, err_len, "empty port kind in \"%s\" "
		    "(expected pcap, afpacket, tap, gen or null)", spec);
	for (int k = 0; k < IO_PORT_KIND_COUNT; k++) {
		const struct io_ops *o = io_ops_table[k];

		if (strlen(o->name) != kind_len ||
		    strncmp(spec, o->name, kind_len) != 0)
			continue;
		if (!o->has_args && colon != NULL)
			return io_err(err, err_len, "%s: takes no arguments",
			    o->name);
		*ops = o;
		*args = colon != NULL ? colon + 1 : "";
		return 0;
	}
	return io_err(err, err_len, "unknown port kind \"%.*s\" "
	    "(expected pcap, afpacket, tap, gen or null)", (int)kind_len, spec);
}

int
io_port_check_spec(const char *spec, char *err, size_t err_len)
{
	const struct io_ops *ops;
	const char *args;
	int rc;

	if (spec == NULL)
		return io_err(err, err_len, "missing port");
	rc = io_spec_split(spec, &ops, &args, err, err_len);
	if (rc < 0)
		return rc;
	return ops->check(args, err, err_len);
}

static void
io_port_free(struct io_port *port)
{
	free(port->stats);
	free(port->spec);
	free(port);
}

int
io_port_open(struct io_port **out, const char *spec, uint16_t n_queues,
    char *err, size_t err_len)
{
	struct io_port *port;
	const struct io_ops *ops;
	const char *args;
	int rc;

	*out = NULL;
	rc = io_port_check_spec(spec, err, err_len);
	if (rc < 0)
		return rc;
	if (n_queues == 0)
		return io_err(err, err_len, "%s: needs at least one queue",
		    spec);
	rc = io_spec_split(spec, &ops, &args, err, err_len);
	if (rc < 0)
		return rc;

	rc = -ENOMEM;
	port = calloc(1, sizeof(*port));
	if (port == NULL)
		goto nomem;
	port->stats = io_zalloc_lines(n_queues * sizeof(*port->stats));
	if (port->stats == NULL)
		goto nomem;
	port->ops = ops;
	port->n_queues = n_queues;
	port->n_rx_queues = 1;
	port->spec = strdup(spec);
	if (port->spec == NULL)
		goto nomem;
	rc = ops->open(port, args, err, err_len);
	if (rc < 0)
		goto out;
	*out = port;
	return 0;
nomem:
	(void)io_err_nomem(err, err_len, spec);
out:
	if (port != NULL)
		io_port_free(port);
	return rc;
}

void
io_port_close(struct io_port *port)
{
	if (port == NULL)
		return;
	port->ops->close(port);
	io_port_free(port);
}

enum io_port_kind
io_port_kind(const struct io_port *port)
{
	return port->ops->kind;
}

const char *
io_port_spec(const struct io_port *port)
{
	return port->spec;
}

uint16_t
io_port_rx_queues(const struct io_port *port)
{
	return port->n_rx_queues;
}

int
io_port_mac(const struct io_port *port, uint8_t mac[ETH_ALEN])
{
	if (port->ops->mac == NULL)
		return -ENOENT;
	return port->ops->mac(port, mac);
}

uint16_t
io_port_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	if (hg_unlikely(q >= port->n_rx_queues || max == 0))
		return 0;
	return port->ops->rx(port, q, pool, pkts, max);
}

uint16_t
io_port_tx(struct io_port *port, uint16_t q, struct pkt **pkts, uint16_t n,
    uint64_t now_ns)
{
	if (hg_unlikely(q >= port->n_queues || n == 0))
		return 0;
	return port->ops->tx(port, q, pkts, n, now_ns);
}

int
io_port_fd(const struct io_port *port, uint16_t q)
{
	if (port->ops->fd == NULL || q >= port->n_rx_queues)
		return -1;
	return port->ops->fd(port, q);
}

bool
io_port_next_ts(struct io_port *port, uint16_t q, uint64_t *ts_ns)
{
	if (port->ops->next_ts == NULL || q >= port->n_rx_queues)
		return false;
	return port->ops->next_ts(port, q, ts_ns);
}

void
io_port_stats(const struct io_port *port, struct io_port_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (uint16_t q = 0; q < port->n_queues; q++) {
		const struct io_queue_stats *s = &port->stats[q];

		out->rx_pkts += io_stat_read(&s->rx_pkts);
		out->rx_bytes += io_stat_read(&s->rx_bytes);
		out->rx_dropped += io_stat_read(&s->rx_dropped);
		out->rx_csum_partial += io_stat_read(&s->rx_csum_partial);
		out->tx_pkts += io_stat_read(&s->tx_pkts);
		out->tx_bytes += io_stat_read(&s->tx_bytes);
		out->tx_errors += io_stat_read(&s->tx_errors);
	}
}
