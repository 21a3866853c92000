/*
 * src/pkt/pkt.h: packet buffers, their per-worker pool, batches, parsing,
 * checksums and small builders.  This is the whole public face of src/pkt.
 *
 * A pool belongs to one worker and is never shared: allocation is a pop from
 * a free stack, with no lock and no malloc.  A batch is an array of pointers
 * into one pool.  Parsing fills the metadata fields of struct pkt and says
 * why a packet is malformed; it never reads past pkt->len.
 */
#ifndef PKT_H
#define PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../lib/hg.h"
#include "drop.h"
#include "proto.h"

#define PKT_HEADROOM	128	/* room to prepend encapsulations later */
#define PKT_DATA_ROOM	2048	/* largest frame a buffer holds */
#define PKT_BUF_SIZE	(PKT_HEADROOM + PKT_DATA_ROOM)
#define PKT_BATCH_MAX	256	/* capacity of a batch */
#define PKT_BURST	64	/* packets a port delivers per receive call */

/* l3 kind, after VLAN tags */
enum pkt_l3 {
	PKT_L3_NONE,
	PKT_L3_ARP,
	PKT_L3_IP4,
	PKT_L3_IP6,
};

#define PKT_F_VLAN	0x01	/* at least one 802.1Q tag */
#define PKT_F_FRAG	0x02	/* IPv4/IPv6 fragment (MF set or offset > 0) */
#define PKT_F_FRAG_FIRST 0x04	/* ... and it is the first fragment */
#define PKT_F_IP4_OPTS	0x08	/* IPv4 header carries options */
#define PKT_F_L2_BCAST	0x10	/* destination MAC is broadcast */
#define PKT_F_L2_MCAST	0x20	/* destination MAC is multicast */
#define PKT_F_LOCAL	0x40	/* originated by hexgate (reply, error, probe) */

/*
 * One packet.  The first cache line holds what every stage reads; the
 * buffer follows the struct in the same allocation (see pool.c).
 */
struct pkt {
	uint8_t  *data;		/* first byte of the frame */
	uint16_t len;		/* frame length in bytes */
	uint16_t in_if;		/* interface it arrived on */
	uint16_t out_if;	/* interface chosen for output */
	uint16_t l3_off;	/* offset of the ARP/IPv4/IPv6 header */
	uint16_t l4_off;	/* offset of the transport header; 0 if none */
	uint16_t l3_len;	/* bytes from l3_off that belong to the
				   packet (IP total length; trailing Ethernet
				   padding excluded) */
	uint16_t vlan_tci;	/* outer tag, host order, when PKT_F_VLAN */
	uint8_t  l3;		/* enum pkt_l3 */
	uint8_t  l4_proto;	/* IPPROTO_*, after IPv6 extension headers */
	uint8_t  flags;		/* PKT_F_* */
	uint8_t  drop;		/* enum pkt_drop when dropped */
	uint32_t hash;		/* flow hash, 0 if unknown */
	uint32_t pool_idx;	/* index in the owning pool; private */
	uint64_t user;		/* scratch for the stage that holds it */
	uint8_t  *head;		/* start of the buffer; private */
};

struct pkt_pool {
	uint32_t n_bufs;
	uint32_t n_free;
	uint32_t *free_idx;	/* stack of free indices */
	uint8_t  *mem;		/* n_bufs * PKT_POOL_STRIDE bytes */
	uint64_t alloc_fail;	/* times pkt_alloc found the pool empty */
};

/* Stride of one pkt + buffer in the pool's memory; cache-line multiple. */
#define PKT_POOL_STRIDE \
	((sizeof(struct pkt) + PKT_BUF_SIZE + HG_CACHE_LINE - 1) & \
	    ~(size_t)(HG_CACHE_LINE - 1))

struct pkt_batch {
	uint16_t n;
	struct pkt *pkts[PKT_BATCH_MAX];
};

/* Control thread; allocates every buffer now.  -ENOMEM, -EINVAL. */
int pkt_pool_create(struct pkt_pool **out, uint32_t n_bufs) HG_MUST_CHECK;
void pkt_pool_destroy(struct pkt_pool *pool);

static inline struct pkt *
pkt_pool_get(struct pkt_pool *pool, uint32_t idx)
{
	return (struct pkt *)(void *)(pool->mem + (size_t)idx * PKT_POOL_STRIDE);
}

/* Returns an empty packet (len 0, data after the headroom) or NULL. */
static inline struct pkt *
pkt_alloc(struct pkt_pool *pool)
{
	struct pkt *p;

	if (hg_unlikely(pool->n_free == 0)) {
		pool->alloc_fail++;
		return NULL;
	}
	p = pkt_pool_get(pool, pool->free_idx[--pool->n_free]);
	p->data = p->head + PKT_HEADROOM;
	p->len = 0;
	p->in_if = p->out_if = 0;
	p->l3_off = p->l4_off = p->l3_len = 0;
	p->vlan_tci = 0;
	p->l3 = PKT_L3_NONE;
	p->l4_proto = 0;
	p->flags = 0;
	p->drop = PKT_DROP_NONE;
	p->hash = 0;
	p->user = 0;
	return p;
}

static inline void
pkt_free(struct pkt_pool *pool, struct pkt *p)
{
	pool->free_idx[pool->n_free++] = p->pool_idx;
}

static inline void
pkt_batch_free(struct pkt_pool *pool, struct pkt_batch *b)
{
	for (uint16_t i = 0; i < b->n; i++)
		pkt_free(pool, b->pkts[i]);
	b->n = 0;
}

/* Appends p; false when the batch is full (the caller still owns p). */
static inline bool
pkt_batch_add(struct pkt_batch *b, struct pkt *p)
{
	if (hg_unlikely(b->n >= PKT_BATCH_MAX))
		return false;
	b->pkts[b->n++] = p;
	return true;
}

/* Room left at the front and at the back of the buffer. */
static inline uint16_t
pkt_headroom(const struct pkt *p)
{
	return (uint16_t)(p->data - p->head);
}

static inline uint16_t
pkt_tailroom(const struct pkt *p)
{
	return (uint16_t)(PKT_BUF_SIZE - pkt_headroom(p) - p->len);
}

/* Grow at the front / back; NULL (nothing changed) without room. */
void *pkt_prepend(struct pkt *p, uint16_t n_bytes);
void *pkt_append(struct pkt *p, uint16_t n_bytes);
/* Copy len bytes of frame into an empty packet; -EMSGSIZE if too long. */
int pkt_set_frame(struct pkt *p, const void *frame, uint16_t len) HG_MUST_CHECK;

static inline struct eth_hdr *
pkt_eth(const struct pkt *p)
{
	return (struct eth_hdr *)(void *)p->data;
}

static inline void *
pkt_l3(const struct pkt *p)
{
	return p->data + p->l3_off;
}

static inline void *
pkt_l4(const struct pkt *p)
{
	return p->data + p->l4_off;
}

/*
 * Parse the frame's Ethernet, 802.1Q (up to two tags), ARP / IPv4 / IPv6
 * (extension chain walked up to the transport header) and the fixed part of
 * TCP / UDP / ICMP / ICMPv6.  Fills l3, l3_off, l3_len, l4_off, l4_proto,
 * vlan_tci, flags.  Verifies the IPv4 header checksum.  Returns
 * PKT_DROP_NONE, or the reason the packet is malformed; *err_off (if not
 * NULL) then gets the byte offset of the offending field.  Non-first
 * fragments have l4_off 0.  Unknown EtherTypes give PKT_DROP_ETHERTYPE.
 */
enum pkt_drop pkt_parse(struct pkt *p, uint16_t *err_off);

/* Checksums, all over network-order bytes (RFC 1071). */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);	/* returns ~folded, in network order */
static inline uint16_t
pkt_csum(const void *data, size_t len)
{
	return pkt_csum_fold(pkt_csum_add(0, data, len));
}
/* Incremental update (RFC 1624 eqn. 3) of a stored checksum when a 16- or
 * 32-bit field changes from old to new; everything in network order. */
uint16_t pkt_csum_update16(uint16_t csum_be, uint16_t old_be, uint16_t new_be);
uint16_t pkt_csum_update32(uint16_t csum_be, uint32_t old_be, uint32_t new_be);
/* Sum of the IPv4 / IPv6 pseudo-header for a transport checksum. */
uint32_t pkt_pseudo4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
    uint16_t l4_len);
uint32_t pkt_pseudo6(const uint8_t src[16], const uint8_t dst[16],
    uint8_t proto, uint32_t l4_len);
/* Full transport checksum (TCP, UDP, ICMPv6 with pseudo-header; ICMP
 * without), ready to store.  l4 points at the transport header. */
uint16_t pkt_l4_csum4(const struct ip4_hdr *ip, const void *l4,
    uint16_t l4_len, uint8_t proto);
uint16_t pkt_l4_csum6(const struct ip6_hdr *ip, const void *l4,
    uint32_t l4_len, uint8_t proto);
/* Recompute ip->csum_be over the header (ihl from the header). */
void pkt_ip4_set_csum(struct ip4_hdr *ip);

/* mss.c: l3 is an IPv4 or IPv6 packet of len bytes (untrusted); when it
 * is a whole TCP SYN whose MSS option is above mss, lowers it to mss and
 * updates the TCP checksum.  True when it changed the packet. */
bool pkt_tcp_clamp_mss(uint8_t *l3, size_t len, uint16_t mss);

/* Builders.  Each writes a whole frame into an empty packet and leaves it
 * parsed (l3/l4 offsets set). -EMSGSIZE when it does not fit. */
int pkt_build_arp(struct pkt *p, uint16_t op, const uint8_t eth_dst[ETH_ALEN],
    const uint8_t sha[ETH_ALEN], uint32_t spa_be,
    const uint8_t tha[ETH_ALEN], uint32_t tpa_be) HG_MUST_CHECK;

/*
 * A UDP datagram as a whole Ethernet frame into frame (cap bytes), for a
 * thread with no packet pool (the control thread's, src/dp/ctl.c): zero
 * MACs (the neighbour stage writes them), IPv4 without DF (a router on
 * the path may cut it) or IPv6, the UDP checksum computed.  Returns the
 * frame's length, or 0 when it does not fit cap or an IP packet.
 */
struct pkt_udp_spec {
	uint8_t l3;			/* PKT_L3_IP4 or PKT_L3_IP6 */
	uint8_t ttl;			/* or hop limit */
	uint16_t ip_id;			/* IPv4 identification */
	uint8_t src[16], dst[16];	/* network order; IPv4 in the first 4 */
	uint16_t sport, dport;		/* host order */
};
size_t pkt_build_udp(uint8_t *frame, size_t cap, const struct pkt_udp_spec *s,
    const void *payload, size_t len);

/* Helpers for addresses */
static inline bool
pkt_mac_is_bcast(const uint8_t m[ETH_ALEN])
{
	return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff;
}

static inline bool
pkt_mac_is_mcast(const uint8_t m[ETH_ALEN])
{
	return (m[0] & 1) != 0;
}

/* Formats "02:00:00:00:00:01" into buf (18 bytes); returns buf. */
char *pkt_mac_fmt(const uint8_t mac[ETH_ALEN], char buf[18]);
/* Parses "02:00:00:00:00:01"; -EINVAL on anything else. */
int pkt_mac_parse(const char *s, uint8_t mac[ETH_ALEN]) HG_MUST_CHECK;

#endif /* PKT_H */
