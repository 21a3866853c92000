/*
 * src/ip/ip_priv.h: what the files of src/ip share with each other and
 * with nobody else.
 */
#ifndef IP_PRIV_H
#define IP_PRIV_H

#include <arpa/inet.h>
#include <sys/socket.h>

#include "ip.h"

/*
 * One neighbour slot; see neigh.c for the protocol.  Readers hold a slot
 * only together with the seq they found it at (struct ip_neigh_ref): a
 * recycled slot has another seq, and its mac word another tag.
 */
struct ip_neigh {
	uint32_t state;		/* NEIGH_SLOT_*; atomic */
	uint32_t seq;		/* atomic: odd while live, +2 per key */
	uint32_t key_if;	/* atomic: family << 16 | if_idx */
	uint32_t key_addr[4];	/* atomic words; IPv4 in the first */
	uint64_t mac;		/* atomic: tag | NEIGH_MAC_VALID | 48-bit MAC */
	uint64_t confirmed_ns;	/* atomic */
	uint64_t probe_ns;	/* atomic: when the last probe went out */
	uint64_t created_ns;	/* writers only (the table's lock) */
	uint32_t probes;	/* atomic: probes since the last answer */
	uint8_t answered;	/* atomic: an answer confirmed it, not only a
				   request (unanswered ones go first) */
	uint8_t clock_list;	/* which of the interface's lists (neigh.c) */
	uint32_t clock_prev;	/* on it: slot index + 1, 0 at the ends; */
	uint32_t clock_next;	/*   the table's lock */
};

struct ip_neigh_ref {
	struct ip_neigh *n;	/* NULL: not found, or refused */
	uint32_t seq;
};

struct ip_pending {
	struct pkt *p;
	struct ip_neigh *n;
	uint32_t seq;		/* n's seq when p was held */
};

struct ip_worker {
	struct pkt_pool *pool;
	struct ip_neigh_table *nt;
	uint64_t *drops;
	uint64_t icmp_tokens;		/* ICMP error token bucket */
	uint64_t icmp_refill_ns;
	struct ip_worker_stats st;
	uint32_t n_pending;
	struct ip_pending pending[IP_PENDING_MAX];
	struct pkt_batch encap;		/* made for a tunnel: ip_take_encap() */
};

/* ICMP errors a worker may send: a burst of 100, then 1000 per second,
 * like Linux's icmp_msgs_per_sec / icmp_msgs_burst. */
#define IP_ICMP_BURST		100
#define IP_ICMP_RATE_PER_S	1000

/* neigh.c */
/* Lock-free: the live entry for the key, or .n NULL. */
struct ip_neigh_ref ip_neigh_find(struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr);
/* The entry for the key, added (incomplete) when absent; .n NULL when the
 * interface's bounds refuse it, *why then says which drop reason. */
struct ip_neigh_ref ip_neigh_get(struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr, uint64_t now_ns,
    enum pkt_drop *why);
/* Record that the entry's address is at mac: an answer to our probe
 * (answer true), or a request to us; nothing when the entry was recycled
 * meanwhile or is static. */
void ip_neigh_confirm(struct ip_worker *w, struct ip_neigh_ref r,
    const uint8_t mac[ETH_ALEN], bool answer, uint64_t now_ns);
/* Finish p (Ethernet header) toward neighbour addr on if_idx, or hold it
 * until the neighbour answers. */
void ip_neigh_output(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint16_t if_idx, uint8_t family, const uint8_t *addr,
    struct pkt_batch *tx, uint64_t now_ns);
/* For the unit tests: the slot a key's probe sequence starts at. */
uint32_t ip_neigh_home_slot(const struct ip_neigh_table *nt, uint16_t if_idx,
    uint8_t family, const uint8_t *addr);
/* Recycles what the gc recycles, now; returns how many. */
uint32_t ip_neigh_gc(struct ip_neigh_table *nt, uint64_t now_ns);

/* arp.c */
void ip_arp_input(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns);
void ip_arp_send_request(struct ip_worker *w, const struct ip_if *ifp,
    uint16_t if_idx, uint32_t target_be, const uint8_t *unicast_mac,
    struct pkt_batch *tx);

/* nd.c */
void ip_nd_input(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns);
void ip_nd_send_solicit(struct ip_worker *w, const struct ip_if *ifp,
    uint16_t if_idx, const uint8_t target[16], const uint8_t *unicast_mac,
    struct pkt_batch *tx);

/* ip4.c / ip6.c: the per-family work of input.c's stages */
enum ip_next ip4_route(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns);
enum ip_next ip6_route(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns);
enum ip_next ip4_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, bool host, struct pkt_batch *tx, uint64_t now_ns);
enum ip_next ip6_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, bool host, struct pkt_batch *tx, uint64_t now_ns);
void ip4_forward(struct pkt *p);
void ip6_forward(struct pkt *p);
uint32_t ip4_route_output(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p);
uint32_t ip6_route_output(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, bool *onlink);
void ip4_fragment(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint16_t mtu, uint16_t if_idx, const uint8_t *nh_addr,
    struct pkt_batch *tx, uint64_t now_ns);
/* Route and send a packet hexgate originates (replies, errors). */
void ip4_output_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns);
void ip6_output_local(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, struct pkt_batch *tx, uint64_t now_ns);
/* input.c: finish p toward next hop nh_idx. */
void ip_neigh_output_nh(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint32_t nh_idx, struct pkt_batch *tx, uint64_t now_ns);

/* icmp.c: turn p into an ICMP error about itself, in place, and send it.
 * Consumes p: it is sent, or dropped with reason. */
void ip4_icmp_error(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint8_t type, uint8_t code, uint32_t rest_be,
    enum pkt_drop reason, struct pkt_batch *tx, uint64_t now_ns);
void ip6_icmp_error(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, uint8_t type, uint8_t code, uint32_t rest_be,
    enum pkt_drop reason, struct pkt_batch *tx, uint64_t now_ns);
bool ip_icmp_allow(struct ip_worker *w, uint64_t now_ns);
/* Turn a TCP segment into the RST that refuses it (REJECT --reject-with
 * tcp-reset), in place, and send it.  Consumes p. */
void ip_tcp_reset(struct ip_worker *w, const struct ip_tables *t,
    struct pkt *p, enum pkt_drop reason, struct pkt_batch *tx,
    uint64_t now_ns);

/* Count p as dropped for reason on its ingress interface, without
 * freeing it (ip_drop() does both). */
static inline void
ip_drop_count(struct ip_worker *w, const struct pkt *p,
    enum pkt_drop reason)
{
	uint16_t ifi = p->in_if < IP_IF_MAX ? p->in_if : 0;

	w->drops[(size_t)ifi * PKT_DROP_COUNT + reason]++;
}

/* input.c */
void ip_tx(struct ip_worker *w, struct pkt *p, struct pkt_batch *tx);
uint32_t ip_if_src4(const struct ip_if *ifp, uint32_t dst_be);
const uint8_t *ip_if_src6(const struct ip_if *ifp, const uint8_t dst[16]);
bool ip_if_has_addr6(const struct ip_if *ifp, const uint8_t a[16]);
bool ip_if_has_addr4(const struct ip_if *ifp, uint32_t a_be);

static inline bool
ip6_is_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool
ip6_is_multicast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static inline bool
ip6_is_unspecified(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static inline bool
ip4_is_mcast_or_bcast(uint32_t a_be)
{
	uint32_t a = ntohl(a_be);

	return (a >> 28) == 0xe || a == 0xffffffffu;
}

/* Solicited-node multicast ff02::1:ffXX:XXXX of a (RFC 4291 §2.7.1). */
static inline void
ip6_solicited_node(const uint8_t a[16], uint8_t out[16])
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0x01, 0xff };

	memcpy(out, pfx, 13);
	memcpy(out + 13, a + 13, 3);
}

static inline void
ip_eth_write(struct pkt *p, const uint8_t dst[ETH_ALEN],
    const uint8_t src[ETH_ALEN], uint16_t type)
{
	struct eth_hdr *eh = pkt_eth(p);

	memcpy(eh->dst, dst, ETH_ALEN);
	memcpy(eh->src, src, ETH_ALEN);
	eh->type_be = htons(type);
}

#endif /* IP_PRIV_H */
