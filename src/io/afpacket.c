/*
 * src/io/afpacket.c: the AF_PACKET port, "afpacket:IFNAME".  One socket
 * per queue, each with a TPACKET_V2 receive ring and a TPACKET_V2 transmit
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
 * Why V2 and not V3: a V3 ring hands user space whole blocks, and a block
 * that does not fill is handed over only when its retire timer fires
 * (1 ms at the least), so on a quiet port every frame waited up to that
 * long and poll() woke only then: a ping through hexgated took about 1 ms
 * where the kernel forwards in 0.05.  A V2 slot is the reader's as soon
 * as its frame is written, and the socket becomes readable per frame.
 * The kernel's work per frame is nearly the same either way (V2 signals
 * the socket per frame, which costs little while nobody sleeps on it);
 * V3's gains are a packed block (small frames take less ring memory) and
 * one wake-up per block, which matter only to a reader that sleeps
 * between frames, and a worker does not sleep while traffic flows
 * (src/dp, dp_idle_wait()).  Measured side by side (docs/PERFORMANCE.md):
 * the ping RTT falls to about twice the kernel's, what is left being the
 * two thread wake-ups a user-space hop adds, and the 64-byte forwarding
 * rate and one TCP stream stay where V3 had them.  AF_XDP in copy mode
 * would save no wake-up and would need its own steering by
 * io_flow_queue().
 *
 * Receive copies each frame out of the ring into a packet of the worker's
 * pool, so a slot goes back to the kernel as soon as it is read and no
 * packet points into kernel memory.  A VLAN tag the driver took off
 * (TP_STATUS_VLAN_VALID) is put back into the frame, so the bridge sees the
 * frame as it was on the wire.  Frames whose transport checksum a local
 * sender left to offload (TP_STATUS_CSUMNOTREADY) are delivered as they are
 * and counted in rx_csum_partial.  Frames the kernel could not put in a
 * full ring are counted in rx_dropped (PACKET_STATISTICS, read when a slot
 * says TP_STATUS_LOSING).
 *
 * Transmit copies frames into the TX ring and kicks the kernel once per
 * io_port_tx() call with a non-blocking sendto(); the kernel returns a slot
 * once the driver is done with it.  A full ring counts tx_errors.  The
 * kick goes through the interface's qdisc (no PACKET_QDISC_BYPASS): on a
 * veth that is noqueue anyway, and bypassed frames skip the port's packet
 * taps, so tcpdump on the port would not see them.
 *
 * Ring sizes, per queue:
 *   RX 128 blocks of 64 KiB (8 MiB), 28 slots of 2,304 bytes a block:
 *   3,584 frames of any size.  A slot holds the largest frame a packet
 *   buffer can (PKT_DATA_ROOM) behind the kernel's header (~80 bytes), so
 *   no frame hexgate could carry is cut.  At 400 kpps, more than one
 *   sender offers over veth here, that is 9 ms of slack before a stalled
 *   worker drops.
 *   TX 512 slots of 4 KiB (2 MiB): a slot holds the largest frame a packet
 *   buffer can (PKT_DATA_ROOM) behind the 32-byte header, and 512 slots hold
 *   two full batches (PKT_BATCH_MAX) while the driver drains the first.
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

#define AFP_RX_BLOCK_BYTES	(64u << 10)
#define AFP_RX_BLOCK_NR		128u
#define AFP_RX_FRAME_BYTES	2304u
#define AFP_RX_FRAMES_PER_BLOCK	(AFP_RX_BLOCK_BYTES / AFP_RX_FRAME_BYTES)
#define AFP_RX_FRAME_NR		(AFP_RX_FRAMES_PER_BLOCK * AFP_RX_BLOCK_NR)
/* Where the kernel puts a received frame in its slot (tpacket_rcv()'s
 * macoff for a frame without a tag, no tp_reserve): the V2 header, the
 * sockaddr_ll, aligned so that the IP header lands on 16 bytes. */
#define AFP_RX_MAC_OFF_MAX	(TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - ETH_HDR_LEN)
#define AFP_TX_FRAME_BYTES	4096u
#define AFP_TX_FRAME_NR		512u
#define AFP_TX_DATA_OFF		TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

_Static_assert(AFP_RX_MAC_OFF_MAX + PKT_DATA_ROOM <= AFP_RX_FRAME_BYTES,
    "an RX slot must hold a whole packet buffer");
_Static_assert(AFP_RX_FRAME_BYTES % TPACKET_ALIGNMENT == 0,
    "the kernel wants aligned RX slots");
_Static_assert(AFP_TX_DATA_OFF + PKT_DATA_ROOM <= AFP_TX_FRAME_BYTES,
    "a TX slot must hold a whole packet buffer");

/* One queue: touched only by its worker once open. */
struct afp_queue {
	int fd;
	uint32_t rx_head;		/* the RX slot read next */
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
	struct tpacket_req rx, tx;
	int version = TPACKET_V2, one = 1, rc;

	memset(&rx, 0, sizeof(rx));
	rx.tp_block_size = AFP_RX_BLOCK_BYTES;
	rx.tp_block_nr = AFP_RX_BLOCK_NR;
	rx.tp_frame_size = AFP_RX_FRAME_BYTES;
	rx.tp_frame_nr = AFP_RX_FRAME_NR;
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
	/* Which receive path this is, for whoever reads the log when a
	 * port is slower than it should be. */
	hg_log_info("io: %s: %u queue%s, TPACKET_V2 rings (%u RX, %u TX "
	    "slots a queue), readable per frame, steered by %s", port->spec,
	    afp->n_queues, afp->n_queues == 1 ? "" : "s", AFP_RX_FRAME_NR,
	    AFP_TX_FRAME_NR, port->flow_exact ? "io_flow_queue()" :
	    "the kernel's flow hash");
	return 0;
}

static void
io_afp_close(struct io_port *port)
{
	afp_free(port->priv);
}

/* Slot i of the RX ring: slots do not straddle blocks, and a block has
 * room left over at its end. */
static struct tpacket2_hdr *
afp_rx_slot(const struct afp_queue *aq, uint32_t i)
{
	return (struct tpacket2_hdr *)(void *)(aq->rx_ring +
	    (size_t)(i / AFP_RX_FRAMES_PER_BLOCK) * AFP_RX_BLOCK_BYTES +
	    (size_t)(i % AFP_RX_FRAMES_PER_BLOCK) * AFP_RX_FRAME_BYTES);
}

/*
 * The kernel dropped frames for want of ring space since we last asked:
 * reading PACKET_STATISTICS returns the count and resets it.  Called only
 * when a slot says TP_STATUS_LOSING, so it costs nothing while all is well.
 */
static void
afp_count_ring_drops(struct afp_queue *aq, struct io_queue_stats *st)
{
	struct tpacket_stats ks;
	socklen_t len = sizeof(ks);

	if (getsockopt(aq->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
		io_stat_add(&st->rx_dropped, ks.tp_drops);
}

/* Copies one ring frame into a packet, putting a stripped VLAN tag back. */
static enum afp_copy
afp_copy_frame(const struct tpacket2_hdr *h, uint32_t status,
    struct pkt_pool *pool, struct io_queue_stats *st, struct pkt **out)
{
	const uint8_t *frame = (const uint8_t *)h + h->tp_mac;
	bool tagged = (status & TP_STATUS_VLAN_VALID) != 0;
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
		tag.type_be = htons((status & TP_STATUS_VLAN_TPID_VALID) ?
		    h->tp_vlan_tpid : ETH_P_8021Q);
		tag.tci_be = htons(h->tp_vlan_tci);
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
	if (status & TP_STATUS_CSUMNOTREADY)
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
		struct tpacket2_hdr *h = afp_rx_slot(aq, aq->rx_head);
		enum afp_copy c;
		uint32_t status;

		/* Acquire: the frame was written before its status. */
		status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		if ((status & TP_STATUS_USER) == 0)
			break;
		c = afp_copy_frame(h, status, pool, st, &pkts[n]);
		if (c == AFP_COPY_NO_PKT)
			break;
		if (status & TP_STATUS_LOSING)
			afp_count_ring_drops(aq, st);
		if (c == AFP_COPY_DROP) {
			dropped++;
		} else {
			bytes += pkts[n]->len;
			n++;
		}
		/* Release: our reads of the slot are done before the kernel
		 * may write it again.  Handed back at once: the kernel may be
		 * waiting for it. */
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
		    __ATOMIC_RELEASE);
		aq->rx_head = (aq->rx_head + 1) % AFP_RX_FRAME_NR;
	}
	io_stat_add(&st->rx_pkts, n);
	io_stat_add(&st->rx_bytes, bytes);
	io_stat_add(&st->rx_dropped, dropped);
	return n;
}

static struct tpacket2_hdr *
afp_tx_slot(const struct afp_queue *aq, uint32_t i)
{
	return (struct tpacket2_hdr *)(void *)
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
		struct tpacket2_hdr *h = afp_tx_slot(aq, aq->tx_head);

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
