/*
 * bench/classify/classbench.h: ClassBench rule files, their translation
 * into the rules both classifiers of the benchmark get (iptables text for
 * hexgate and the kernel, nft text, rte_acl rules), a larger set grown
 * from a smaller one, and traces of headers drawn from the rules.
 *
 * Translation (see README): a rule's "any protocol" with port ranges
 * becomes two rules at the same place, one for tcp and one for udp, since
 * only those carry ports here; port ranges of any other single protocol
 * are dropped (counted in cb_expand's report).  The TCP-flags field is
 * ignored.  Every classifier gets the expanded list, so their first
 * matches are the same index of it.
 */
#ifndef CLASSBENCH_H
#define CLASSBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CB_PROTO_ICMP	1
#define CB_PROTO_TCP	6
#define CB_PROTO_UDP	17

struct cb_rule {
	uint32_t src, dst;		/* host order, masked to their length */
	uint8_t src_len, dst_len;	/* 0: any address */
	bool proto_any;
	uint8_t proto;			/* when !proto_any */
	uint16_t sp_lo, sp_hi;		/* inclusive */
	uint16_t dp_lo, dp_hi;
	uint32_t orig;			/* 0-based index of the file's rule */
};

struct cb_set {
	uint32_t n, cap;
	struct cb_rule *r;
};

/* What cb_expand() changed, for the benchmark to say. */
struct cb_expand_report {
	uint32_t any_split;		/* any-protocol rules made tcp + udp */
	uint32_t ports_dropped;		/* port ranges on a non-tcp/udp rule */
};

/* Header fields of one trace packet, host order. */
struct cb_hdr {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

void cb_set_free(struct cb_set *s);

/* Reads a ClassBench file; -1 with a message naming the line in err. */
int cb_load(const char *path, struct cb_set *out, char *err, size_t err_size);

/* Writes s as a ClassBench file (flags 0x0000/0x0000). */
void cb_write(FILE *f, const struct cb_set *s);

/* The rules every classifier of the benchmark gets, in order. */
int cb_expand(const struct cb_set *raw, struct cb_set *out,
    struct cb_expand_report *rep);

static inline bool
cb_has_ports(const struct cb_rule *r)
{
	return !r->proto_any &&
	    (r->proto == CB_PROTO_TCP || r->proto == CB_PROTO_UDP);
}

/* One expanded rule as iptables writes it after "-A CHAIN ". Returns the
 * length, like snprintf. */
int cb_format_ipt(const struct cb_rule *r, char *buf, size_t size);

/* The same rule as an nft rule statement. */
int cb_format_nft(const struct cb_rule *r, char *buf, size_t size);

enum cb_text {
	CB_TEXT_HEXGATE,	/* *filter, FORWARD_CUST rules, COMMIT */
	CB_TEXT_KERNEL,		/* the same for iptables-restore: declares
				   FORWARD_CUST and jumps to it from FORWARD */
	CB_TEXT_NFT,		/* nft -f: table ip hgbench, chain forward */
};

/* The whole expanded set as text; malloc'd, *len without the NUL. */
char *cb_text(const struct cb_set *x, enum cb_text kind, size_t *len);

/*
 * A set of n rules grown from raw (n >= raw->n), with a fixed seed: each
 * rule of raw, followed by rules derived from it (sibling prefixes of the
 * same lengths, now and then another exact destination port), so the
 * larger set keeps raw's structure and its order of priority.
 */
int cb_grow(const struct cb_set *raw, uint32_t n, uint64_t seed,
    struct cb_set *out);

/*
 * n headers with a fixed seed: random_pct percent are random headers
 * (tcp, udp, icmp or gre, any addresses and ports); the rest pick an
 * expanded rule uniformly and draw a header inside it.
 */
void cb_trace(const struct cb_set *x, uint32_t n, unsigned random_pct,
    uint64_t seed, struct cb_hdr *out);

/* The first rule of x that h matches, or UINT32_MAX: the reference both
 * classifiers are checked against when they disagree. */
uint32_t cb_first_match(const struct cb_set *x, const struct cb_hdr *h);

/* The rule the one-rule figures add at the end of the set (TEST-NET
 * addresses, so no trace packet matches it). */
extern const struct cb_rule cb_rule_added;

/* splitmix64: small, seeded, the same on every machine. */
static inline uint64_t
cb_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif /* CLASSBENCH_H */
