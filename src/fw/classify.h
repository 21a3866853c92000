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
	uint8_t l4;			/* FWC_L4_* */
	uint8_t ct;			/* FW_CT_* bits of the packet's flow */
	uint16_t sport, dport;
	uint32_t in, out;		/* 1 << interface index (below 32 and
					   known to the program), else 0 */
};

#define FWC_L4_TCP	0x01	/* a whole TCP header (what -m tcp needs) */
#define FWC_L4_UDP	0x02	/* UDP with its ports (what -m udp needs) */
#define FWC_BATCH_MAX	32

/* Control thread: a classifier for every chain of prog longer than a
 * few rules.  0, or -ENOMEM. */
int fwc_build(const struct fw_prog *prog, struct fwc **out);
void fwc_free(struct fwc *c);
size_t fwc_bytes(const struct fwc *c);

void fwc_key_load(struct fwc_key *k, uint8_t family, const uint8_t src[16],
    const uint8_t dst[16], uint8_t proto, uint8_t l4, uint16_t sport,
    uint16_t dport);

/*
 * The first rule of chain in [from, end) whose key k matches, or end:
 * the next rule worth running in full.  Every rule that could match is
 * returned in turn; a chain without tables returns from.  *exact is true
 * when the key is the whole rule: then the rule matches, nothing left to
 * check.
 */
uint32_t fwc_next(const struct fwc *c, uint32_t chain, uint32_t from,
    uint32_t end, const struct fwc_key *k, bool *exact);

enum fwc_edit_op {
	FWC_INSERT,			/* a rule now at at, the rest moved on */
	FWC_DELETE,			/* the rule at at gone, the rest back */
	FWC_REPLACE,			/* the rule at at another */
};

/*
 * Control thread.  The classifier of prog, which is old's program with
 * one rule of chain inserted, deleted or replaced at chain position at:
 * every table the edit leaves alone is shared with old (both may be
 * freed in either order), the others are copied and changed.  0, or
 * -ENOMEM.
 */
int fwc_edit(const struct fwc *old, const struct fw_prog *prog, uint32_t chain,
    enum fwc_edit_op op, uint32_t at, struct fwc **out);

/* fwc_next() for n <= FWC_BATCH_MAX keys at once, into best[i], exact[i]. */
void fwc_next_batch(const struct fwc *c, uint32_t chain, uint32_t from,
    uint32_t end, const struct fwc_key *const *k, unsigned n, uint32_t *best,
    bool *exact);

#endif /* FW_CLASSIFY_H */
