/*
 * src/fw/classify.h: the classifier eval.c asks for the next candidate
 * rule of a chain (classify.c).  Private to src/fw.
 */
#ifndef FW_CLASSIFY_H
#define FW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fw_prog;
struct fwc;

/* A packet's key: addresses as two host-order words (IPv4 in the top
 * 32 bits of the first), ports in host order, 0 when it has none. */
struct fwc_key {
	uint64_t s[2], d[2];
	uint8_t proto;
	uint16_t sport, dport;
};

/* Control thread: a classifier for every chain of prog longer than a
 * few rules.  0, or -ENOMEM. */
int fwc_build(const struct fw_prog *prog, struct fwc **out);
void fwc_free(struct fwc *c);
size_t fwc_bytes(const struct fwc *c);
/* Tables the chain's lookups probe; 0 when it is walked rule by rule. */
uint32_t fwc_tables(const struct fwc *c, uint32_t chain);

void fwc_key_load(struct fwc_key *k, uint8_t family, const uint8_t src[16],
    const uint8_t dst[16], uint8_t proto, uint16_t sport, uint16_t dport);

/*
 * The first rule of chain in [from, end) whose key k matches, or end:
 * the next rule worth running in full.  Every rule that could match is
 * returned in turn; a chain without tables returns from.
 */
uint32_t fwc_next(const struct fwc *c, uint32_t chain, uint32_t from,
    uint32_t end, const struct fwc_key *k);

/* Starts loading what fwc_next(c, chain, ..., k) will read first. */
void fwc_prefetch(const struct fwc *c, uint32_t chain,
    const struct fwc_key *k);

#endif /* FW_CLASSIFY_H */
