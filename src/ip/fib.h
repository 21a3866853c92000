/*
 * src/ip/fib.h: longest-prefix-match tables for IPv4 and IPv6, part of the
 * public face of src/ip (included by ip.h).
 *
 * A FIB maps a prefix to a 24-bit next-hop index chosen by the caller (an
 * index into the caller's next-hop array).  IPv4 uses a DIR-24-8 layout:
 * one lookup is one or two memory reads.  IPv6 uses a multibit trie.
 *
 * Threads: one writer (the control thread) at a time.  Lookups may run on
 * any number of workers concurrently with ip_fib*_add() / _del(): entries
 * are written leaves first and the parent is published last with release
 * ordering, so a reader sees either the old or the new answer.  A freed
 * tbl8 group is not reused until the caller says readers have moved on
 * (ip_fib4_reclaim() after an RCU grace period); until then a delete that
 * frees groups only parks them.
 */
#ifndef IP_FIB_H
#define IP_FIB_H

#include <stdint.h>

#include "../lib/hg.h"

#define IP_FIB_MISS	UINT32_MAX
#define IP_FIB_NH_MAX	((1u << 24) - 1)	/* next-hop indices 0..2^24-2 */

struct ip_fib4;
struct ip_fib6;

/*
 * Control thread.  max_tbl8 is the number of 256-entry groups for
 * prefixes longer than /24 (each costs 1 KiB); 0 picks a default that
 * holds a full Internet table.  0, -ENOMEM, -EINVAL.
 */
int ip_fib4_create(struct ip_fib4 **out, uint32_t max_tbl8) HG_MUST_CHECK;
void ip_fib4_destroy(struct ip_fib4 *fib);
/* Add or replace prefix/len -> nh.  -EINVAL (len > 32, nh too big),
 * -ENOSPC (no tbl8 group left; nothing changed), -ENOMEM. */
int ip_fib4_add(struct ip_fib4 *fib, uint32_t prefix_be, uint8_t len,
    uint32_t nh) HG_MUST_CHECK;
/* -ENOENT when the prefix is not present. */
int ip_fib4_del(struct ip_fib4 *fib, uint32_t prefix_be, uint8_t len) HG_MUST_CHECK;
/* Frees parked tbl8 groups; call only after a grace period. */
void ip_fib4_reclaim(struct ip_fib4 *fib);
uint32_t ip_fib4_count(const struct ip_fib4 *fib);	/* prefixes */
size_t ip_fib4_mem_bytes(const struct ip_fib4 *fib);

/* Any thread.  Next-hop index of the longest match, or IP_FIB_MISS. */
uint32_t ip_fib4_lookup(const struct ip_fib4 *fib, uint32_t addr_be);
/* n lookups with prefetching; nh[i] for addrs_be[i]. */
void ip_fib4_lookup_bulk(const struct ip_fib4 *fib, const uint32_t *addrs_be,
    uint32_t *nh, uint32_t n);

int ip_fib6_create(struct ip_fib6 **out) HG_MUST_CHECK;
void ip_fib6_destroy(struct ip_fib6 *fib);
int ip_fib6_add(struct ip_fib6 *fib, const uint8_t prefix[16], uint8_t len,
    uint32_t nh) HG_MUST_CHECK;
int ip_fib6_del(struct ip_fib6 *fib, const uint8_t prefix[16], uint8_t len) HG_MUST_CHECK;
void ip_fib6_reclaim(struct ip_fib6 *fib);
uint32_t ip_fib6_count(const struct ip_fib6 *fib);
size_t ip_fib6_mem_bytes(const struct ip_fib6 *fib);
uint32_t ip_fib6_lookup(const struct ip_fib6 *fib, const uint8_t addr[16]);
/* n lookups (n <= 256) walked level by level together, so the cache
 * misses of one level overlap across the batch; nh[i] for addrs[i]. */
void ip_fib6_lookup_bulk(const struct ip_fib6 *fib,
    const uint8_t *const *addrs, uint32_t *nh, uint32_t n);

#endif /* IP_FIB_H */
