/*
 * bench/classify/acl_anchor.h: DPDK's rte_acl as the anchor the benchmark
 * compares hexgate's classifier with, on the same expanded rules and the
 * same packet bytes.  acl_dpdk.c is built when Meson finds libdpdk;
 * acl_none.c otherwise, and says why there is no anchor.
 *
 * Input: a pointer to the protocol byte of the packet's IPv4 header
 * (offset 9); the fields are read from there in network order: protocol,
 * source, destination, then the two ports right after a 20-byte header.
 * Results: 1 + the index of the first expanded rule that matches (rules
 * earlier in the file get the higher priority), 0 for none.
 */
#ifndef ACL_ANCHOR_H
#define ACL_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "classbench.h"

#define ACL_INPUT_OFFSET	9	/* of the protocol in the IPv4 header */

struct acl_anchor;

/* Starts DPDK's EAL once (no hugepages, one lcore).  0, or -1 with the
 * reason in err, "libdpdk-dev not installed" for the stub. */
int acl_init(char *err, size_t err_size);
void acl_fini(void);

/* Builds a context for x; *mem_bytes is what DPDK's heap holds for it
 * (the context, its copy of the rules, the tries). */
int acl_build(const struct cb_set *x, struct acl_anchor **out,
    size_t *mem_bytes, char *err, size_t err_size);
void acl_free(struct acl_anchor *a);

/* The classify algorithms this build knows, by index 0..n-1. */
unsigned acl_n_algs(void);
const char *acl_alg_name(unsigned i);
/* Uses algorithm i from now on; 0, or -1 when this CPU or DPDK cannot. */
int acl_set_alg(struct acl_anchor *a, unsigned i);

/* rte_acl_classify() of n packets, one category. */
void acl_classify(const struct acl_anchor *a, const uint8_t **data,
    uint32_t *results, uint32_t n);

#endif /* ACL_ANCHOR_H */
