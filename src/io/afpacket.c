/*
 * src/io/afpacket.c: the AF_PACKET port, "afpacket:IFNAME".  One socket
 * per queue, each with a TPACKET_V3 receive ring and a TPACKET_V3 transmit
 * ring mapped in one mmap(); all sockets of a port form one PACKET_FANOUT
 * group of type CBPF whose program (flow.c) computes io_flow_queue(), so
 * both directions of a flow reach the same queue, conntrack can stay per
 * worker (src/ct), and NAT knows where a reply will land.  The kernel takes
 * the program's result modulo the group's size and indexes its members in
 * the order they joined: queue q joins q-th.  While the port opens, with
 * fewer members than queues, the first frames may land elsewhere.  A kernel
 * that refuses the program (before Linux 4.3, or a locked filter) gets a
 * group of type HASH, with a warning: the kernel's symmetric flow hash,
 * seeded at boot, keeps flows together but nobody can predict where, and
 * io_port_flow_queue_exact() says so.  Frames hexgate or the host
 * send out of the interface are not received back
 * (PACKET_FANOUT_FLAG_IGNORE_OUTGOING: a fanout group has its own receive
 * hook, which ignores the per-socket PACKET_IGNORE_OUTGOING; Linux 6.9+).
 *
 * Receive copies each frame out of the ring into a packet of the worker's
 * pool, so a ring block goes back to the kernel as soon as it is read and
 * no packet points into kernel memory.  A VLAN tag the driver took off
 * (TP_STATUS_VLAN_VALID) is put back into the frame, so the bridge sees the
 * frame as it was on the wire.  Frames whose transport checksum a local
 * sender left to offload (TP_STATUS_CSUMNOTREADY) are delivered as they are
 * and counted in rx_csum_partial.
 *
 * Transmit copies frames into the TX ring and kicks the kernel once per
 * io_port_tx() call with a non-blocking sendto(); the kernel returns a slot
 * once the driver is done with it.  A full ring counts tx_errors.
 *
 * Ring sizes, per queue:
 *   RX 64 blocks of 128 KiB (8 MiB).  A block goes to user space when it is
 *   full or after AFP_RX_RETIRE_MS, so at low rates each block may hold a
 *   single frame: 64 blocks leave 64 ms of slack before a stalled worker
 *   drops.  Each frame takes ~80 bytes of header and alignment, so a busy
 *   block holds ~800 64-byte or ~80 1514-byte frames and the ring absorbs
 *   bursts of ~5k (large) to ~50k (small) frames.
 *   TX 512 slots of 4 KiB (2 MiB): a slot holds the largest frame a packet
 *   buffer can (PKT_DATA_ROOM) behind the 48-byte header, and 512 slots hold
 *   two full batches (PKT_BATCH_MAX) while the driver drains the first.
 * The 1 ms retire timeout is also the latency floor of a lightly loaded
 * port: V3 hands over whole blocks, not frames.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../lib/log.h"
#include "io_priv.h"

/* Linux 6.9+; older uapi headers lack it, older kernels ignore it. */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif
/* Every member of a group must ask for the same type and flags. */
#define AFP_FANOUT_FLAGS	PACKET_FANOUT_FLAG_IGNORE_OUTGOING

#define AFP_RX_BLOCK_BYTES	(128u << 10)
#define AFP_RX_BLOCK_NR		64u
#define AFP_RX_FRAME_BYTES	2048u	/* V3 only checks frame_nr with it */
#define AFP_RX_RETIRE_MS	1u
#define AFP_TX_FRAME_BYTES	4096u
#define AFP_TX_FRAME_NR		512u
#define AFP_TX_DATA_OFF		TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

_Static_assert(AFP_TX_DATA_OFF + PKT_DATA_ROOM <= AFP_TX_FRAME_BYTES,
    "a TX slot must hold a whole packet buffer");

/* One queue: touched only by its worker once open. */
struct afp_queue {
	int fd;
	uint32_t rx_block;		/* the block read next */
	uint32_t rx_left;		/* frames left in it, when rx_in_block */
	bool rx_in_block;		/* rx_block is ours until we hand it back */
	uint8_t *rx_frame;		/* next frame in rx_block */
	uint8_t *rx_ring;
	uint8_t *tx_ring;
	uint32_t tx_head;		/* next TX slot to fill */
	uint8_t *map;			/* rx_ring and tx_ring, in one mapping */
	size_t map_bytes;
} HG_ALIGNED(HG_CACHE_LINE);

struct io_afp {
	char ifname[IFNAMSIZ];
	int ifindex;
	uint16_t tx_max_bytes;		/* MTU + Ethernet + one VLAN tag */
	uint16_t n_queues;
	uint16_t fanout_type;		/* PACKET_FANOUT_CBPF, or _HASH */
	bool cbpf_refused;		/* the kernel would not steer for us */
	struct afp_queue *queues;
};

enum afp_copy {
	AFP_COPY_OK,
	AFP_COPY_DROP,			/* unusable frame, counted */
	AFP_COPY_NO_PKT,		/* pool empty: leave it in the ring */
};

static int
io_afp_check(const char *args, char *err, size_t err_len)
{
	return io_check_ifname("afpacket", args, err, err_len);
}

static int
afp_setopt(struct io_port *port, int fd, int opt, const char *opt_name,
    const void *val, socklen_t len, char *err, size_t err_len)
{
	char what[64];

	if (setsockopt(fd, SOL_PACKET, opt, val, len) == 0)
		return 0;
	snprintf(what, sizeof(what), "setsockopt %s", opt_name);
	return io_err_sys(err, err_len, port, what, errno);
}

#define AFP_SETOPT(port, fd, opt, val, err, err_len) \
	afp_setopt(port, fd, opt, #opt, &(val), sizeof(val), err, err_len)

static int
afp_queue_rings(struct io_port *port, struct afp_queue *aq, char *err,
    size_t err_len)
{
	struct tpacket_req3 rx, tx;
	int version = TPACKET_V3, one = 1, rc;

	memset(&rx, 0, sizeof(rx));
	rx.tp_block_size = AFP_RX_BLOCK_BYTES;
	rx.tp_block_nr = AFP_RX_BLOCK_NR;
	rx.tp_frame_size = AFP_RX_FRAME_BYTES;
	rx.tp_frame_nr = AFP_RX_BLOCK_BYTES / AFP_RX_FRAME_BYTES *
	    AFP_RX_BLOCK_NR;
	rx.tp_retire_blk_tov = AFP_RX_RETIRE_MS;
	/* A TX ring has fixed slots: the kernel wants the V3-only fields 0. */
	memset(&tx, 0, sizeof(tx));
	tx.tp_block_size = AFP_TX_FRAME_BYTES;
	tx.tp_block_nr = AFP_TX_FRAME_NR;
	tx.tp_frame_size = AFP_TX_FRAME_BYTES;
	tx.tp_frame_nr = AFP_TX_FRAME_NR;

	if ((rc = AFP_SETOPT(port, aq->fd, PACKET_VERSION, version, err,
	    err_len)) < 0)
		return rc;
	/* A malformed TX frame is skipped instead of stopping the ring
	 * (TP_STATUS_WRONG_FORMAT would need us to notice and reset it). */
	if ((rc = AFP_SETOPT(port, aq->fd, PACKET_LOSS, one, err,
	    err_len)) < 0)
		return rc;
	/*
	 * Not what leaves the interface (our transmissions, the host's).
	 * Once the socket joins the fanout group the group's own hook
	 * receives instead, and that takes the fanout flag of the same name
	 * (AFP_FANOUT_TYPE); this covers the moment between bind and join.
	 */
	if ((rc = AFP_SETOPT(port, aq->fd, PACKET_IGNORE_OUTGOING, one, err,
	    err_len)) < 0)
		return rc;
	if ((rc = AFP_SETOPT(port, aq->fd, PACKET_RX_RING, rx, err,
	    err_len)) < 0)
		return rc;
	if ((rc = AFP_SETOPT(port, aq->fd, PACKET_TX_RING, tx, err,
	    err_len)) < 0)
		return rc;

	/* The kernel lays the RX ring first, then the TX ring. */
	aq->map_bytes = (size_t)AFP_RX_BLOCK_BYTES * AFP_RX_BLOCK_NR +
	    (size_t)AFP_TX_FRAME_BYTES * AFP_TX_FRAME_NR;
	aq->map = mmap(NULL, aq->map_bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, aq->fd, 0);
	if (aq->map == MAP_FAILED) {
		aq->map = NULL;
		return io_err_sys(err, err_len, port, "mmap", errno);
	}
	aq->rx_ring = aq->map;
	aq->tx_ring = aq->map + (size_t)AFP_RX_BLOCK_BYTES * AFP_RX_BLOCK_NR;
	return 0;
}

/* Gives the group the steering program; the group shares it. */
static int
afp_fanout_program(struct io_port *port, struct io_afp *afp,
    struct afp_queue *aq, char *err, size_t err_len)
{
	struct sock_filter insns[IO_FLOW_CBPF_MAX];
	struct sock_fprog fprog;
	int n, rc;

	n = io_flow_cbpf(insns, HG_ARRAY_SIZE(insns));
	if (n < 0)
		hg_fatalx("io: steering program does not assemble (%d)", n);
	fprog.len = (unsigned short)n;
	fprog.filter = insns;
	rc = AFP_SETOPT(port, aq->fd, PACKET_FANOUT_DATA, fprog, err,
	    err_len);
	if (rc < 0)
		afp->cbpf_refused = true;
	return rc;
}

/*
 * Joins queue q to the port's fanout group.  Queue 0 asks the kernel for an
 * unused group id (PACKET_FANOUT_FLAG_UNIQUEID), so two ports, or two
 * hexgates, never share a group by accident, and sets the program before
 * anyone else joins; the others join that id.
 */
static int
afp_queue_fanout(struct io_port *port, struct io_afp *afp, uint16_t q,
    uint16_t *group_id, char *err, size_t err_len)
{
	struct afp_queue *aq = &afp->queues[q];
	int type = afp->fanout_type | AFP_FANOUT_FLAGS, val, rc;
	socklen_t len = sizeof(val);

	if (q == 0)
		val = (type | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	else
		val = type << 16 | *group_id;
	rc = AFP_SETOPT(port, aq->fd, PACKET_FANOUT, val, err, err_len);
	if (rc < 0 && q == 0 && afp->fanout_type == PACKET_FANOUT_CBPF)
		afp->cbpf_refused = true;
	if (rc < 0 || q != 0)
		return rc;
	if (getsockopt(aq->fd, SOL_PACKET, PACKET_FANOUT, &val, &len) < 0)
		return io_err_sys(err, err_len, port,
		    "getsockopt PACKET_FANOUT", errno);
	*group_id = (uint16_t)(val & 0xffff);
	if (afp->fanout_type != PACKET_FANOUT_CBPF)
		return 0;
	return afp_fanout_program(port, afp, aq, err, err_len);
}

static int
afp_queue_open(struct io_port *port, struct io_afp *afp, uint16_t q,
    uint16_t *group_id, char *err, size_t err_len)
{
	struct afp_queue *aq = &afp->queues[q];
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	int rc;

	/* Protocol 0: nothing arrives before the rings exist and bind()
	 * names the interface. */
	aq->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (aq->fd < 0)
		return io_err_sys(err, err_len, port, "socket", errno);
	rc = afp_queue_rings(port, aq, err, err_len);
	if (rc < 0)
		return rc;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = afp->ifindex;
	if (bind(aq->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return io_err_sys(err, err_len, port, "bind", errno);
	rc = afp_queue_fanout(port, afp, q, group_id, err, err_len);
	if (rc < 0 || q != 0)
		return rc;
	/* hexgate may answer for a MAC that is not the kernel's. */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = afp->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	return AFP_SETOPT(port, aq->fd, PACKET_ADD_MEMBERSHIP, mr, err,
	    err_len);
}

/* Interface index and MTU, before any socket is bound. */
static int
afp_ifinfo(struct io_port *port, struct io_afp *afp, char *err,
    size_t err_len)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return io_err_sys(err, err_len, port, "socket", errno);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", afp->ifname);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		rc = io_err_sys(err, err_len, port, "SIOCGIFINDEX", errno);
		goto out;
	}
	afp->ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		rc = io_err_sys(err, err_len, port, "SIOCGIFMTU", errno);
		goto out;
	}
	/* The kernel refuses TX frames longer than MTU + header + one tag. */
	afp->tx_max_bytes = (uint16_t)HG_MIN((uint32_t)ifr.ifr_mtu +
	    ETH_HDR_LEN + VLAN_HDR_LEN, (uint32_t)PKT_DATA_ROOM);
out:
	close(s);
	return rc;
}

static void
afp_close_queues(struct io_afp *afp)
{
	for (uint16_t q = 0; q < afp->n_queues; q++) {
		struct afp_queue *aq = &afp->queues[q];

		if (aq->map != NULL)
			munmap(aq->map, aq->map_bytes);
		if (aq->fd >= 0)
			close(aq->fd);
		memset(aq, 0, sizeof(*aq));
		aq->fd = -1;
	}
}

static void
afp_free(struct io_afp *afp)
{
	afp_close_queues(afp);
	free(afp->queues);
	free(afp);
}

static int
afp_open_queues(struct io_port *port, struct io_afp *afp,
    uint16_t fanout_type, char *err, size_t err_len)
{
	uint16_t group_id = 0;
	int rc = 0;

	afp->fanout_type = fanout_type;
	for (uint16_t q = 0; rc == 0 && q < afp->n_queues; q++)
		rc = afp_queue_open(port, afp, q, &group_id, err, err_len);
	return rc;
}

static int
io_afp_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	struct io_afp *afp;
	int rc;

	afp = calloc(1, sizeof(*afp));
	if (afp == NULL)
		return io_err_nomem(err, err_len, port->spec);
	afp->queues = io_zalloc_lines(port->n_queues * sizeof(*afp->queues));
	if (afp->queues == NULL) {
		free(afp);
		return io_err_nomem(err, err_len, port->spec);
	}
	afp->n_queues = port->n_queues;
	for (uint16_t q = 0; q < afp->n_queues; q++)
		afp->queues[q].fd = -1;
	snprintf(afp->ifname, sizeof(afp->ifname), "%s", args);
	rc = afp_ifinfo(port, afp, err, err_len);
	if (rc == 0)
		rc = afp_open_queues(port, afp, PACKET_FANOUT_CBPF, err,
		    err_len);
	if (rc < 0 && afp->cbpf_refused) {
		hg_log_warnx("io: %s; steering by the kernel's flow hash "
		    "instead: replies may reach a worker that does not own "
		    "their flow", err);
		afp_close_queues(afp);
		rc = afp_open_queues(port, afp, PACKET_FANOUT_HASH, err,
		    err_len);
	}
	if (rc < 0) {
		afp_free(afp);
		return rc;
	}
	port->priv = afp;
	port->n_rx_queues = port->n_queues;
	port->flow_exact = afp->fanout_type == PACKET_FANOUT_CBPF;
	return 0;
}

static void
io_afp_close(struct io_port *port)
{
	afp_free(port->priv);
}

static struct tpacket_block_desc *
afp_block(const struct afp_queue *aq, uint32_t i)
{
	return (struct tpacket_block_desc *)(void *)
	    (aq->rx_ring + (size_t)i * AFP_RX_BLOCK_BYTES);
}

/*
 * The kernel dropped frames for want of ring space since we last asked:
 * reading PACKET_STATISTICS returns the count and resets it.  Called only
 * when a block says TP_STATUS_LOSING, so it costs nothing while all is well.
 */
static void
afp_count_ring_drops(struct afp_queue *aq, struct io_queue_stats *st)
{
	struct tpacket_stats_v3 ks;
	socklen_t len = sizeof(ks);

	if (getsockopt(aq->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
		io_stat_add(&st->rx_dropped, ks.tp_drops);
}

/* Takes the next block if the kernel has handed it over. */
static bool
afp_block_take(struct afp_queue *aq, struct io_queue_stats *st)
{
	struct tpacket_block_desc *bd = afp_block(aq, aq->rx_block);
	uint32_t status;

	/* Acquire: the frames were written before the status. */
	status = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
	if ((status & TP_STATUS_USER) == 0)
		return false;
	if (status & TP_STATUS_LOSING)
		afp_count_ring_drops(aq, st);
	aq->rx_left = bd->hdr.bh1.num_pkts;
	aq->rx_frame = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	aq->rx_in_block = true;
	return true;
}

static void
afp_block_give_back(struct afp_queue *aq)
{
	struct tpacket_block_desc *bd = afp_block(aq, aq->rx_block);

	/* Release: our reads of the block are done before the kernel may
	 * write it again. */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
	    __ATOMIC_RELEASE);
	aq->rx_block = (aq->rx_block + 1) % AFP_RX_BLOCK_NR;
	aq->rx_in_block = false;
}

/* Copies one ring frame into a packet, putting a stripped VLAN tag back. */
static enum afp_copy
afp_copy_frame(const struct tpacket3_hdr *h, struct pkt_pool *pool,
    struct io_queue_stats *st, struct pkt **out)
{
	const uint8_t *frame = (const uint8_t *)h + h->tp_mac;
	bool tagged = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
	uint32_t len = h->tp_snaplen;
	struct vlan_hdr tag;
	struct pkt *p;

	if (len < h->tp_len || len < ETH_HDR_LEN ||
	    len + (tagged ? VLAN_HDR_LEN : 0) > PKT_DATA_ROOM)
		return AFP_COPY_DROP;
	p = pkt_alloc(pool);
	if (p == NULL)
		return AFP_COPY_NO_PKT;
	if (!tagged) {
		memcpy(p->data, frame, len);
	} else {
		tag.type_be = htons((h->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
		    h->hv1.tp_vlan_tpid : ETH_P_8021Q);
		tag.tci_be = htons(h->hv1.tp_vlan_tci);
		/* The tag's TPID sits where the EtherType was, and the tag's
		 * "type" is the original EtherType: dst, src, TPID, TCI. */
		memcpy(p->data, frame, 2 * ETH_ALEN);
		memcpy(p->data + 2 * ETH_ALEN, &tag.type_be, 2);
		memcpy(p->data + 2 * ETH_ALEN + 2, &tag.tci_be, 2);
		memcpy(p->data + 2 * ETH_ALEN + VLAN_HDR_LEN,
		    frame + 2 * ETH_ALEN, len - 2 * ETH_ALEN);
		len += VLAN_HDR_LEN;
	}
	p->len = (uint16_t)len;
	if (h->tp_status & TP_STATUS_CSUMNOTREADY)
		io_stat_add(&st->rx_csum_partial, 1);
	*out = p;
	return AFP_COPY_OK;
}

static uint16_t
io_afp_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	struct io_afp *afp = port->priv;
	struct afp_queue *aq = &afp->queues[q];
	struct io_queue_stats *st = &port->stats[q];
	uint64_t bytes = 0, dropped = 0;
	uint16_t n = 0;

	while (n < max) {
		const struct tpacket3_hdr *h;
		enum afp_copy c;

		if (!aq->rx_in_block && !afp_block_take(aq, st))
			break;
		if (aq->rx_left == 0) {
			afp_block_give_back(aq);
			continue;
		}
		h = (const struct tpacket3_hdr *)(const void *)aq->rx_frame;
		c = afp_copy_frame(h, pool, st, &pkts[n]);
		if (c == AFP_COPY_NO_PKT)
			break;
		if (c == AFP_COPY_DROP) {
			dropped++;
		} else {
			bytes += pkts[n]->len;
			n++;
		}
		aq->rx_frame += h->tp_next_offset;
		/* Hand a block back as soon as it is read, not on the next
		 * call: the kernel may be waiting for it. */
		if (--aq->rx_left == 0)
			afp_block_give_back(aq);
	}
	io_stat_add(&st->rx_pkts, n);
	io_stat_add(&st->rx_bytes, bytes);
	io_stat_add(&st->rx_dropped, dropped);
	return n;
}

static struct tpacket3_hdr *
afp_tx_slot(const struct afp_queue *aq, uint32_t i)
{
	return (struct tpacket3_hdr *)(void *)
	    (aq->tx_ring + (size_t)i * AFP_TX_FRAME_BYTES);
}

static uint16_t
io_afp_tx(struct io_port *port, uint16_t q, struct pkt **pkts, uint16_t n,
    uint64_t now_ns)
{
	struct io_afp *afp = port->priv;
	struct afp_queue *aq = &afp->queues[q];
	struct io_queue_stats *st = &port->stats[q];
	uint64_t bytes = 0, errors = 0;
	uint16_t sent = 0, i;

	for (i = 0; i < n; i++) {
		const struct pkt *p = pkts[i];
		struct tpacket3_hdr *h = afp_tx_slot(aq, aq->tx_head);

		if (p->len < ETH_HDR_LEN || p->len > afp->tx_max_bytes) {
			errors++;
			continue;
		}
		/* Acquire: the kernel is done with the slot's bytes. */
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) !=
		    TP_STATUS_AVAILABLE)
			break;	/* ring full */
		memcpy((uint8_t *)h + AFP_TX_DATA_OFF, p->data, p->len);
		h->tp_len = p->len;
		h->tp_snaplen = p->len;
		h->tp_next_offset = 0;	/* V3 TX has fixed slots */
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
		    __ATOMIC_RELEASE);
		aq->tx_head = (aq->tx_head + 1) % AFP_TX_FRAME_NR;
		bytes += p->len;
		sent++;
	}
	errors += n - i;
	/*
	 * One kick sends every slot marked SEND_REQUEST.  MSG_DONTWAIT: do
	 * not wait for the driver.  When the kick fails (EAGAIN, ENOBUFS:
	 * socket buffer full) the slots stay marked and go with the next
	 * kick, so they are counted as sent now.
	 */
	if (sent > 0)
		(void)sendto(aq->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	io_stat_add(&st->tx_pkts, sent);
	io_stat_add(&st->tx_bytes, bytes);
	io_stat_add(&st->tx_errors, errors);
	return sent;
}

static int
io_afp_fd(const struct io_port *port, uint16_t q)
{
	const struct io_afp *afp = port->priv;

	return afp->queues[q].fd;
}

static int
io_afp_mac(const struct io_port *port, uint8_t mac[ETH_ALEN])
{
	const struct io_afp *afp = port->priv;

	return io_ifname_mac(afp->ifname, mac);
}

const struct io_ops io_afpacket_ops = {
	.kind = IO_PORT_AFPACKET,
	.name = "afpacket",
	.has_args = true,
	.check = io_afp_check,
	.open = io_afp_open,
	.close = io_afp_close,
	.rx = io_afp_rx,
	.tx = io_afp_tx,
	.fd = io_afp_fd,
	.mac = io_afp_mac,
};
