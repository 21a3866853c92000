/*
 * src/io/tap.c: the TAP port, "tap:NAME".  Opens /dev/net/tun as an
 * Ethernet TAP without packet information, creating NAME or attaching to an
 * existing one, and brings it up.  A device hexgate creates disappears when
 * the port closes; one made persistent beforehand (ip tuntap add) stays.
 *
 * One fd, so one receive queue; transmit works on every queue because the
 * kernel takes each write() as one whole frame.  The punt path that
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

#include "io_priv.h"

struct io_tap {
	int fd;
	char name[IFNAMSIZ];
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

static int
io_tap_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	struct io_tap *t;
	struct ifreq ifr;
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return io_err_nomem(err, err_len, port->spec);
	/* Non-blocking: a worker reads until EAGAIN and polls the fd. */
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		rc = io_err_sys(err, err_len, port, "open /dev/net/tun", errno);
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", args);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		rc = io_err_sys(err, err_len, port, "TUNSETIFF", errno);
		goto out;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	rc = io_tap_set_up(port, t->name, err, err_len);
	if (rc < 0)
		goto out;
	port->priv = t;
	port->n_rx_queues = 1;
	return 0;
out:
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return rc;
}

static void
io_tap_close(struct io_port *port)
{
	struct io_tap *t = port->priv;

	close(t->fd);
	free(t);
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
		r = readv(t->fd, iov, 2);
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

	for (uint16_t i = 0; i < n; i++) {
		ssize_t w = write(t->fd, pkts[i]->data, pkts[i]->len);

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

	return t->fd;
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
