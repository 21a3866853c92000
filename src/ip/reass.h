/*
 * src/ip/reass.h: bounded reassembly of IP datagrams (IPv4, and IPv6 with
 * the fragment header right after the fixed header), for the outer
 * packets of ESP tunnels (src/dp/sa_steer.c).
 *
 * One table per worker, sized at creation: nothing is allocated per
 * packet.  The table holds the fragments' packets themselves; the
 * datagram is copied together into the buffer of its first fragment
 * (offset 0) once every byte is in, and the other buffers go back to the
 * pool.  A datagram may be held for timeout_ns from its first fragment's
 * arrival, and no longer.
 *
 * Every fragment given to ip_reass_add() is taken: held, merged into a
 * datagram, or dropped through the drop function with its reason:
 *   REASS_TIMEOUT  the datagram did not complete in time
 *   REASS_OVERLAP  two fragments overlap (RFC 5722: the whole datagram)
 *   REASS_DUP      an exact duplicate of a held fragment (RFC 8200 §4.5:
 *                  dropped alone, the datagram goes on)
 *   REASS_FULL     no free slot for a new datagram
 *   REASS_BAD      malformed (a non-final fragment not a multiple of 8
 *                  bytes, two different ends), more fragments than a
 *                  datagram may have, or larger than a packet buffer
 */
#ifndef IP_REASS_H
#define IP_REASS_H

#include <stdint.h>

#include "../pkt/drop.h"
#include "../pkt/pkt.h"

#define IP_REASS_DGRAMS_DEFAULT	64	/* datagrams in progress per worker */
#define IP_REASS_FRAGS_MAX	16	/* fragments one datagram may have */
#define IP_REASS_TIMEOUT_NS	(2ULL * 1000 * 1000 * 1000)

struct ip_reass;

/* Frees p (the callee's job, and counts it as dropped for why). */
typedef void ip_reass_drop_fn(void *arg, struct pkt *p, enum pkt_drop why);

struct ip_reass_params {
	uint16_t max_dgrams;	/* 0: IP_REASS_DGRAMS_DEFAULT */
	uint16_t max_frags;	/* 0 or more than IP_REASS_FRAGS_MAX: that */
	uint64_t timeout_ns;	/* 0: IP_REASS_TIMEOUT_NS */
};

/* Datagrams, except dup (fragments). */
struct ip_reass_stats {
	uint64_t reassembled;
	uint64_t timeouts;
	uint64_t overlaps;
	uint64_t dups;
	uint64_t table_full;
	uint64_t bad;
};

/* Merged fragments go back to pool; drop gets the rest. */
int ip_reass_create(struct ip_reass **out, const struct ip_reass_params *prm,
    struct pkt_pool *pool, ip_reass_drop_fn *drop, void *arg) HG_MUST_CHECK;
/* Frees what it holds to the pool (uncounted: the end). */
void ip_reass_destroy(struct ip_reass *r);

/*
 * p: a parsed IPv4 fragment, or IPv6 fragment whose fragment header
 * follows the fixed header.  Returns the whole datagram, parsed, when p
 * completed it (in one of the fragments' buffers; in_if that of the
 * first fragment); NULL when p is held or was dropped.
 */
struct pkt *ip_reass_add(struct ip_reass *r, struct pkt *p, uint64_t now_ns);

/* Drops the datagrams whose time is up. */
void ip_reass_expire(struct ip_reass *r, uint64_t now_ns);

/* Datagrams in progress. */
unsigned ip_reass_pending(const struct ip_reass *r);
const struct ip_reass_stats *ip_reass_stats(const struct ip_reass *r);

#endif /* IP_REASS_H */
