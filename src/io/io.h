/*
 * src/io/io.h: ports, the places packets enter and leave hexgate.  This is
 * the whole public face of src/io.  A port is named by one line:
 *
 *   pcap:IN.pcap:OUT.pcap   replay a capture, write what leaves (IN or OUT
 *                           may be empty: "pcap::out.pcap")
 *   afpacket:IFNAME         a Linux interface through TPACKET_V2 rings, one
 *                           socket per queue joined in a fanout group that
 *                           steers by io_flow_queue(), so a flow always
 *                           lands on one queue and hexgate knows which
 *   tap:NAME                a TAP device hexgate creates (or attaches to)
 *   gen:KEY=VAL,...         in-memory generator of synthetic frames
 *   null                    a sink that counts and discards
 *
 * Queues: a port is opened with the number of worker threads.  Queue q is
 * used by worker q only, for both receive and transmit, so no queue is ever
 * touched by two threads.  Ports that cannot be split (pcap, tap) have one
 * receive queue; io_port_rx_queues() says how many.  Transmit is always
 * possible on every queue < n_queues given at open (tap writes are atomic
 * per frame in the kernel; pcap requires n_queues == 1).
 *
 * Ownership: io_port_rx() allocates packets from the caller's pool and
 * hands them over.  io_port_tx() copies frames out and never keeps or frees
 * a packet; the caller frees them all afterwards.
 *
 * Nothing in io/ knows about interfaces, routes or the pipeline (src/dp).
 */
#ifndef IO_H
#define IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../pkt/pkt.h"

struct io_port;

enum io_port_kind {
	IO_PORT_PCAP,
	IO_PORT_AFPACKET,
	IO_PORT_TAP,
	IO_PORT_GEN,
	IO_PORT_NULL,
	IO_PORT_KIND_COUNT
};

struct io_port_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t rx_dropped;	/* lost before hexgate saw them (ring full,
				   frame larger than PKT_DATA_ROOM).  An
				   empty pool drops nothing: rx returns
				   fewer and the frames wait in the ring,
				   file or tap queue */
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_errors;	/* frames the port could not send */
	uint64_t rx_csum_partial; /* delivered with the transport checksum
				   not filled in (afpacket: the sender was
				   local and offloaded it, TP_STATUS_
				   CSUMNOTREADY); forwarding them as they are
				   sends a bad checksum */
};

/*
 * Check a port line without opening anything: 0, or -EINVAL with a message
 * in err naming the part that is wrong ("afpacket: missing interface name").
 */
int io_port_check_spec(const char *spec, char *err, size_t err_len) HG_MUST_CHECK;

/* Control thread.  Opens spec with n_queues (>= 1). 0 or -errno with err. */
int io_port_open(struct io_port **out, const char *spec, uint16_t n_queues,
    char *err, size_t err_len) HG_MUST_CHECK;
void io_port_close(struct io_port *port);

enum io_port_kind io_port_kind(const struct io_port *port);
const char *io_port_spec(const struct io_port *port);
uint16_t io_port_rx_queues(const struct io_port *port);

/* The port's own MAC address when it has one (afpacket, tap), read from
 * the interface now: 0, -ENOENT for ports without one, or -errno when the
 * interface cannot be asked (it went away: -ENODEV). */
int io_port_mac(const struct io_port *port, uint8_t mac[ETH_ALEN]) HG_MUST_CHECK;

/* Worker q.  Receives up to max (<= PKT_BURST) frames into pkts[]; returns
 * how many.  Sets in_if of nothing: the caller does. */
uint16_t io_port_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max);

/* Worker q.  Sends n frames; returns how many the port took.  now_ns is the
 * timestamp the pcap port writes (the worker's clock). */
uint16_t io_port_tx(struct io_port *port, uint16_t q, struct pkt **pkts,
    uint16_t n, uint64_t now_ns);

/* A file descriptor that becomes readable when queue q has frames, or -1
 * when the port never blocks (gen, pcap, null). */
int io_port_fd(const struct io_port *port, uint16_t q);

/*
 * Replay ports only (pcap with an input file): the timestamp in ns of the
 * next frame queue q would deliver, or UINT64_MAX when the capture is
 * exhausted.  Returns false for ports that are not replay ports.
 * io_port_rx() on a replay port delivers only frames that carry the same
 * timestamp as the first one it returns, so a worker can interleave several
 * captures in timestamp order.
 */
bool io_port_next_ts(struct io_port *port, uint16_t q, uint64_t *ts_ns);

/* Sum of all queues' counters. */
void io_port_stats(const struct io_port *port, struct io_port_stats *out);

/*
 * Flow steering (flow.c).  Workers own flows: a port with several receive
 * queues delivers a frame on queue io_frame_flow_queue(frame, n_rx_queues)
 * when io_port_flow_queue_exact() says so, and conntrack and NAT use
 * io_flow_queue() to learn where a reply tuple will arrive (SNAT picks a
 * port whose reply comes back to the owning worker).  The queue depends on
 * the transport ports only, so rewriting addresses (DNAT without a port
 * change, NETMAP) keeps a flow on its worker:
 *
 *   TCP, UDP, SCTP, UDP-Lite          sport ^ dport
 *   ICMP / ICMPv6 echo-like messages  the identifier
 *   ICMP / ICMPv6 errors              the flow they quote (one level)
 *   ESP (IP protocol 50), and UDP     both addresses and the SPI, xor-ed
 *   to port 4500 whose first four     (an SA's packets meet on one queue,
 *   payload bytes (the SPI) are not   however they come: see below)
 *   zero: ESP in UDP
 *   fragments, IPv6 with extension    both addresses, xor-ed (all pieces
 *   headers, other IP protocols, ARP  of one datagram meet on one queue)
 *   other EtherTypes                  queue 0
 *
 * Every rule but the SPI's is symmetric: both directions of a flow share
 * a queue.  ESP's two directions are two SAs with two SPIs, each chosen
 * by its receiver: so an inbound SA's anti-replay window has one owner,
 * and the SAs between two peers spread over the workers.  ESP passing
 * through (not for one of hexgate's SAs) is owned as the rules without
 * the SPI say; src/dp/sa_steer.c hands it to that worker.  IKE's non-ESP
 * marker (four zero bytes) and a NAT keepalive (one byte) on 4500 are
 * ordinary UDP.
 */
struct io_flow_key {
	uint8_t  src[16];	/* IPv4 (and ARP's protocol addresses) in the
				   first 4 bytes, the rest zero */
	uint8_t  dst[16];
	uint16_t sport_be;	/* ICMP echo-like: the identifier */
	uint16_t dport_be;	/* ICMP: htons(type), as struct ct_tuple */
	uint8_t  l3;		/* enum pkt_l3; PKT_L3_NONE: queue 0 */
	uint8_t  proto;		/* IPPROTO_*; for IPv6 the first next header
				   after the fixed header */
	bool     is_fragment;	/* IPv4 MF or offset, IPv6 fragment header */
	uint8_t  pad;		/* always zero: keys compare as bytes */
	uint32_t spi_be;	/* inbound ESP's SPI, or 0: then the rules
				   above (conntrack's tuples have none) */
};

/* The queue of n_queues that frames with key k arrive on: 0 when
 * n_queues <= 1. */
uint16_t io_flow_queue(const struct io_flow_key *k, uint16_t n_queues);

/*
 * The key of an Ethernet frame as a port delivers it (one 802.1Q or 802.1ad
 * tag skipped).  An ICMP error gives the key of the packet it quotes.  A
 * frame too short for the headers it announces gives l3 PKT_L3_NONE
 * (queue 0), as the kernel's steering does.
 */
void io_frame_flow_key(const uint8_t *frame, size_t len,
    struct io_flow_key *k);
uint16_t io_frame_flow_queue(const uint8_t *frame, size_t len,
    uint16_t n_queues);

/*
 * True when every frame arrives on the queue io_flow_queue() names: always
 * for a port with one receive queue; for afpacket when the kernel took the
 * steering program (PACKET_FANOUT_CBPF, Linux 4.3+).  When false, frames
 * are spread by a hash hexgate cannot predict, and replies may arrive on a
 * worker other than the flow's.
 */
bool io_port_flow_queue_exact(const struct io_port *port);

/*
 * Capture files (pcap_writer.c): the one writer of the pcap format, used
 * by the pcap port and by COPY's pcap:/PATH destination.  Ethernet,
 * nanosecond timestamps.  Written either by the caller (put, flush) or,
 * for workers that must never wait for the disk, by a thread of the
 * writer's own that drains one ring per queue (queue).
 */
#define IO_PCAP_QUEUE_SLOTS	256	/* records a queue holds for the
					   thread; a power of two */

struct io_pcap_writer;

/*
 * Control thread.  Creates path (truncated, with mode; not through a
 * symbolic link) and writes the file header now, so an idle writer still
 * leaves a valid empty capture.  With n_queues > 0 it also starts the
 * thread that writes what io_pcap_writer_queue() hands it.  0, or -errno
 * with what failed in err ("open: Permission denied"; the caller names
 * the file).
 */
int io_pcap_writer_open(struct io_pcap_writer **out, const char *path,
    unsigned mode, uint16_t n_queues, char *err, size_t err_len) HG_MUST_CHECK;
/*
 * Control thread, once no queue is written any more: the thread writes
 * what is queued and ends, the file is flushed and closed.  0, or -EIO
 * when some record could not be written (said once in the log).
 */
int io_pcap_writer_close(struct io_pcap_writer *w);

/* The one thread that owns a writer opened with no queues: writes one
 * record of cap_bytes of a frame that had orig_bytes.  0 or -EIO. */
int io_pcap_writer_put(struct io_pcap_writer *w, uint64_t ts_ns,
    const uint8_t *frame, uint32_t cap_bytes, uint32_t orig_bytes);
/* Pushes what put wrote to the file: 0 or -EIO. */
int io_pcap_writer_flush(struct io_pcap_writer *w);

/*
 * Worker q (< n_queues): hands the thread a record stamped with the wall
 * clock now; cap_bytes is cut to PKT_DATA_ROOM.  Never blocks: false when
 * the queue is IO_PCAP_QUEUE_SLOTS records behind (the caller counts it).
 */
bool io_pcap_writer_queue(struct io_pcap_writer *w, uint16_t q,
    const uint8_t *frame, uint16_t cap_bytes, uint16_t orig_bytes);

#endif /* IO_H */
