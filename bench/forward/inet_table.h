/*
 * bench/forward/inet_table.h: a deterministic, Internet-like IPv4 route
 * table for benchmarks.  Not real data: the shape (length mix, clustering
 * of more-specifics, public-looking space) is what matters to a FIB.
 */
#ifndef INET_TABLE_H
#define INET_TABLE_H

#include <stdint.h>

/*
 * Fills prefix_be[0..n) and len[0..n) with n distinct prefixes (host
 * bits clear, no duplicates), the same for the same (n, seed), in
 * shuffled order.  Lengths: ~60% /24, ~29% /17-/23, ~6% /8-/16 (capped
 * by the public space there; see inet_table.c), ~5% /25-/32.  Prefixes avoid
 * RFC 1918, loopback, link-local, CGN, documentation and multicast space.
 * Longer-than-/24 prefixes cluster in n/50 "customer" /24s, as real
 * more-specifics do; that keeps the tbl8 groups they need realistic.
 */
void inet_table_gen(uint32_t n, uint64_t seed, uint32_t *prefix_be, uint8_t *len);

#endif /* INET_TABLE_H */
