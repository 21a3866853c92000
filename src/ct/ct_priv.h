/*
 * src/ct/ct_priv.h: what the files of src/ct share and nobody else sees:
 * the entry and table layouts and the functions between table.c (storage,
 * hash index, expiry), classify.c (tuples, UDP, ICMP, generic) and tcp.c
 * (the TCP state machine and window tracking), and nat.c (choosing and
 * applying translations).
 */
#ifndef CT_PRIV_H
#define CT_PRIV_H

#include "../lib/bytes.h"
#include "../pkt/pkt.h"
#include "ct.h"

#define CT_NIL		UINT32_MAX	/* end of a chain or the free list */
#define CT_MAX_ENTRIES	(1u << 24)	/* node ids are entry * 2 + dir */
#define CT_EVICT_SCAN	8	/* oldest unassured entries early drop
				   weighs against each other */

/* One end of a TCP connection: van Rooij's per-direction window state. */
struct ct_tcp_end {
	uint32_t end;		/* highest seq + len this end has sent */
	uint32_t maxend;	/* highest seq the peer's ack + window allow */
	uint32_t maxwin;	/* largest window this end advertised, scaled */
	uint32_t fin_end;	/* end of this end's FIN, once sent */
	uint8_t  wscale;	/* shift for its windows; 0 without RFC 7323 */
	uint8_t  flags;		/* CT_TCP_F_* */
};

#define CT_TCP_F_INIT		0x01	/* has sent its SYN */
#define CT_TCP_F_FIN		0x02	/* has sent a FIN */
#define CT_TCP_F_FIN_ACKED	0x04	/* ... which the peer acked */
#define CT_TCP_F_WSCALE		0x08	/* its SYN carried window scale */

#define CT_E_USED	0x01
#define CT_E_SEEN_REPLY	0x02
#define CT_E_ASSURED	0x04	/* answered (TCP: handshake done): never
				   evicted, off the unassured FIFO */

/*
 * Hot fields first: the lookup compares tuples, follows next[] and reads
 * expires_ns (the first two cache lines); the TCP block and counters are
 * read only on a hit, the FIFO links and source only on insert, assure
 * and free.  Three whole cache lines, and the array is aligned to them,
 * so ct_classify_bulk() prefetches an entry as exactly lines 0-2.
 */
struct ct_entry {
	struct ct_tuple tuple[CT_DIR_COUNT];
	uint32_t next[CT_DIR_COUNT];	/* hash chains; next[0] also links
					   the free list */
	uint64_t expires_ns;
	uint8_t  flags;			/* CT_E_* */
	uint8_t  tcp_state;		/* enum ct_tcp_state */
	uint8_t  nat;			/* CT_MANIP_* the flow was set up with:
					   its original source (SRC) or
					   destination (DST) is translated */
	struct ct_tcp_end tcp[CT_DIR_COUNT];
	uint32_t seen_stamp;		/* low 32 bits of the now_ns of the
					   last lookup or insert: no eviction
					   while a batch may hold the index */
	uint64_t packets[CT_DIR_COUNT];
	uint64_t bytes[CT_DIR_COUNT];
	uint32_t fifo_prev, fifo_next;	/* unassured FIFO, CT_NIL ends */
	uint32_t src;			/* its source's slot in t->srcs */
};

/*
 * One source address and how many entries it holds; a chained hash over
 * a pool of max_entries slots (a table cannot hold more distinct sources
 * than entries), linked through next, free ones through next too.
 */
struct ct_src {
	uint8_t  addr[16];		/* IPv4 in the first 4 bytes */
	uint32_t n_entries;
	uint32_t next;
	uint8_t  l3;
};

struct ct_frag {
	struct ct_frag_key key;
	uint32_t entry;
	uint8_t  dir;			/* enum ct_dir of the datagram */
	uint64_t expires_ns;		/* 0: free */
};

struct ct_table {
	struct ct_entry *entries;
	struct ct_frag *frags;		/* CT_FRAGS, a cache: a new datagram
					   takes its slot from an old one */
	uint32_t *buckets;		/* node: entry * 2 + dir, or CT_NIL */
	uint32_t n_entries;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t expire_cursor;
	uint64_t seed;
	uint64_t tcp_ns[CT_TCP_COUNT];
	uint64_t udp_unreplied_ns;
	uint64_t udp_replied_ns;
	uint64_t icmp_ns;
	uint64_t generic_ns;
	uint64_t nat_rng;		/* xorshift state for CT_NAT_F_RANDOM */
	/* Early drop (ct.h): unassured entries oldest first. */
	uint32_t fifo_head, fifo_tail;
	/* Sources (ct.h): who holds how many entries, and the bound. */
	struct ct_src *srcs;
	uint32_t *src_buckets;		/* slot, or CT_NIL */
	uint32_t src_mask;
	uint32_t src_free;
	uint32_t src_max_entries;	/* per source in this table */
	struct ct_stats st;
};

/* table.c */
uint32_t ct_tuple_hash(const struct ct_table *t, const struct ct_tuple *k);
/* ct_lookup() with the hash of k already known (ct_tuple_hash()). */
uint32_t ct_lookup_hashed(struct ct_table *t, const struct ct_tuple *k,
    uint32_t hash, uint64_t now_ns, enum ct_dir *dir);
/* An entry the caller has met leaves the FIFO once it is answered. */
void ct_entry_assure(struct ct_table *t, struct ct_entry *e);
enum ct_state ct_frag_follow(struct ct_table *t, const struct ct_frag_key *k,
    uint64_t now_ns, struct ct_result *r);
uint32_t ct_lookup(struct ct_table *t, const struct ct_tuple *k,
    uint64_t now_ns, enum ct_dir *dir);
void ct_entry_free(struct ct_table *t, uint32_t idx);
enum ct_state ct_invalid(struct ct_table *t, struct ct_result *r,
    enum ct_invalid why);
/* Counts a packet on e and restarts its timer for its current state. */
void ct_entry_touch(struct ct_table *t, struct ct_entry *e, enum ct_dir dir,
    uint16_t len_bytes, uint64_t now_ns);
/* The reply tuple of a pending flow before any translation. */
void ct_tuple_reverse(const struct ct_pending *pd, struct ct_tuple *rev);

/* tcp.c */
enum ct_invalid ct_tcp_check_new(const struct pkt *p, struct ct_pending *pd);
void ct_tcp_init(struct ct_entry *e, const struct ct_pending *pd);
/* Returns CT_INVALID_NONE, or why; *reopen when a SYN may start over on
 * a closed entry. */
enum ct_invalid ct_tcp_update(struct ct_entry *e, const struct pkt *p,
    enum ct_dir dir, bool *reopen);
bool ct_tcp_flags_ok(uint8_t flags);

static inline bool
ct_entry_is_expired(const struct ct_entry *e, uint64_t now_ns)
{
	return now_ns >= e->expires_ns;
}

#endif /* CT_PRIV_H */
