/*
 * src/io/tap.c: the TAP port, "tap:NAME".  Opens /dev/net/tun as an
 * Ethernet TAP without packet information, creating NAME or attaching to an
 * existing one, and brings it up.  A device hexgate creates disappears when
 * the port closes; one made persistent beforehand (ip tuntap add) stays.
 *
 * Multi-queue (IFF_MULTI_QUEUE): one fd per queue, so each worker reads
 * and writes its own.  The kernel's tun driver remembers which queue a
 * flow was last written on and sends the host's packets of that flow out
 * of the same queue (tun's automatic flow steering; entries age out after
 * about 3 s without a write), so replies come back to the worker that
 * punted the request.  A device made beforehand without multi_queue
 * refuses the flag: it is attached with one fd, one receive queue, and a
 * warning; transmit then works on every queue through that fd, since
 * the kernel takes each write() as one whole frame.  The punt path that
 * mirrors ports to the host (src/dp) is built on this; the addresses and
 * routes of the host side are not set here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/log.h"
#include "io_priv.h"

struct io_tap {
	uint16_t n_fd;
	char name[IFNAMSIZ];
	int fd[];		/* one per queue, or one */
};

static int
io_tap_check(const char *args, char *err, size_t err_len)
{
	return io_check_ifname("tap", args, err, err_len);
}

static int
io_tap_set_up(struct io_port *port, const char *name, char *err,
    size_t err_len)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return io_err_sys(err, err_len, port, "socket", errno);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = io_err_sys(err, err_len, port, "SIOCGIFFLAGS", errno);
	} else if ((ifr.ifr_flags & IFF_UP) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			rc = io_err_sys(err, err_len, port, "SIOCSIFFLAGS",
			    errno);
	}
	close(s);
	return rc;
}

/* One queue of NAME: a new fd attached with flags; -errno. */
static int
io_tap_attach(const char *name, short flags, int *fd, char *ifname)
{
	struct ifreq ifr;

	/* Non-blocking: a worker reads until EAGAIN and polls the fd. */
	*fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(*fd);
		*fd = -1;
		errno = e;
		return -e;
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	return 0;
}

static void
io_tap_free(struct io_tap *t)
{
	for (uint16_t q = 0; q < t->n_fd; q++)
		if (t->fd[q] >= 0)
			close(t->fd[q]);
	free(t);
}

static int
io_tap_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	uint16_t n = port->n_queues;
	struct io_tap *t;
	int rc;

	t = calloc(1, sizeof(*t) + n * sizeof(t->fd[0]));
	if (t == NULL)
		return io_err_nomem(err, err_len, port->spec);
	for (uint16_t q = 0; q < n; q++)
		t->fd[q] = -1;
	t->n_fd = n;
	rc = io_tap_attach(args, IFF_TAP | IFF_NO_PI |
	    (n > 1 ? IFF_MULTI_QUEUE : 0), &t->fd[0], t->name);
	if (rc == -EINVAL && n > 1) {
		hg_log_warnx("%s: the device is not multi-queue; one queue, "
		    "read by one worker", port->spec);
		t->n_fd = n = 1;
		rc = io_tap_attach(args, IFF_TAP | IFF_NO_PI, &t->fd[0],
		    t->name);
	}
	for (uint16_t q = 1; rc == 0 && q < n; q++)
		rc = io_tap_attach(t->name, IFF_TAP | IFF_NO_PI |
		    IFF_MULTI_QUEUE, &t->fd[q], t->name);
	if (rc < 0) {
		rc = io_err_sys(err, err_len, port,
		    "open /dev/net/tun and TUNSETIFF", -rc);
		goto out;
	}
	rc = io_tap_set_up(port, t->name, err, err_len);
	if (rc < 0)
		goto out;
	port->priv = t;
	port->n_rx_queues = n;
	return 0;
out:
	io_tap_free(t);
	return rc;
}

static void
io_tap_close(struct io_port *port)
{
	io_tap_free(port->priv);
}

static uint16_t
io_tap_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	struct io_tap *t = port->priv;
	struct io_queue_stats *st = &port->stats[q];
	uint64_t bytes = 0, dropped = 0;
	uint8_t spill;
	uint16_t n = 0;

	while (n < max) {
		struct pkt *p = pkt_alloc(pool);
		struct iovec iov[2];
		ssize_t r;

		if (p == NULL)
			break;	/* the frames wait in the tap's queue */
		/* The spill byte tells a frame of exactly PKT_DATA_ROOM
		 * from a longer one that the kernel cut to fit. */
		iov[0].iov_base = p->data;
		iov[0].iov_len = PKT_DATA_ROOM;
		iov[1].iov_base = &spill;
		iov[1].iov_len = 1;
		r = readv(t->fd[q], iov, 2);
		if (r <= 0 || r > PKT_DATA_ROOM) {
			pkt_free(pool, p);
			if (r > PKT_DATA_ROOM) {
				dropped++;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			break;	/* EAGAIN: drained */
		}
		p->len = (uint16_t)r;
		bytes += (uint64_t)r;
		pkts[n++] = p;
	}
	io_stat_add(&st->rx_pkts, n);
	io_stat_add(&st->rx_bytes, bytes);
	io_stat_add(&st->rx_dropped, dropped);
	return n;
}

static uint16_t
io_tap_tx(struct io_port *port, uint16_t q, struct pkt **pkts, uint16_t n,
    uint64_t now_ns)
{
	struct io_tap *t = port->priv;
	struct io_queue_stats *st = &port->stats[q];
	uint64_t bytes = 0, errors = 0;
	uint16_t sent = 0;

	int fd = t->fd[q < t->n_fd ? q : 0];

	for (uint16_t i = 0; i < n; i++) {
		ssize_t w = write(fd, pkts[i]->data, pkts[i]->len);

		if (w != (ssize_t)pkts[i]->len) {
			errors++;
			continue;
		}
		bytes += pkts[i]->len;
		sent++;
	}
	io_stat_add(&st->tx_pkts, sent);
	io_stat_add(&st->tx_bytes, bytes);
	io_stat_add(&st->tx_errors, errors);
	return sent;
}

static int
io_tap_fd(const struct io_port *port, uint16_t q)
{
	const struct io_tap *t = port->priv;

	return t->fd[q < t->n_fd ? q : 0];
}

static int
io_tap_mac(const struct io_port *port, uint8_t mac[ETH_ALEN])
{
	const struct io_tap *t = port->priv;

	return io_ifname_mac(t->name, mac);
}

const struct io_ops io_tap_ops = {
	.kind = IO_PORT_TAP,
	.name = "tap",
	.has_args = true,
	.check = io_tap_check,
	.open = io_tap_open,
	.close = io_tap_close,
	.rx = io_tap_rx,
	.tx = io_tap_tx,
	.fd = io_tap_fd,
	.mac = io_tap_mac,
};
