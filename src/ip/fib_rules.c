/*
 * src/ip/fib_rules.c: the rule store both FIBs keep beside their tables,
 * a hash of (prefix, length) -> next hop that tells a delete which
 * covering prefix shows through again.  What a slot holds and who may
 * call what is in fib_priv.h; the tables are fib4.c and fib6.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/bytes.h"
#include "fib_priv.h"

#define RULE_NH_MASK	0xffffffu
#define RULE_LEN_SHIFT	24

static inline uint8_t *
rules_slot(const struct ip_fib_rules *r, uint32_t i)
{
	return r->slot + (size_t)i * r->stride;
}

/* The slot's word: (len + 1) << 24 | nh, 0 when free. */
static inline uint32_t
rules_word(const struct ip_fib_rules *r, const uint8_t *s)
{
	return hg_ld32(s + r->key_bytes);
}

static inline bool
rules_is_used(const struct ip_fib_rules *r, const uint8_t *s)
{
	return rules_word(r, s) != 0;
}

static inline uint8_t
rules_len(const struct ip_fib_rules *r, const uint8_t *s)
{
	return (uint8_t)((rules_word(r, s) >> RULE_LEN_SHIFT) - 1);
}

static inline void
rules_set_word(const struct ip_fib_rules *r, uint8_t *s, uint32_t w)
{
	memcpy(s + r->key_bytes, &w, sizeof(w));
}

/* A multiply per 32-bit word of the key; the length goes in first. */
static uint32_t
rules_hash(const struct ip_fib_rules *r, const uint8_t *key, uint8_t len)
{
	uint64_t h = len;

	for (uint8_t i = 0; i < r->key_bytes; i += 4) {
		h = (h ^ hg_ld32(key + i)) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h * 0x165667b19e3779f9ull >> 32) & r->mask;
}

static bool
rules_match(const struct ip_fib_rules *r, const uint8_t *s,
    const uint8_t *key, uint8_t len)
{
	return rules_is_used(r, s) && rules_len(r, s) == len &&
	    memcmp(s, key, r->key_bytes) == 0;
}

/* The slot holding key/len, or the free slot ending its probe run. */
static uint32_t
rules_probe(const struct ip_fib_rules *r, const uint8_t *key, uint8_t len)
{
	uint32_t i;

	for (i = rules_hash(r, key, len); rules_is_used(r, rules_slot(r, i));
	    i = (i + 1) & r->mask)
		if (rules_match(r, rules_slot(r, i), key, len))
			break;
	return i;
}

int
ip_fib_rules_init(struct ip_fib_rules *r, uint8_t key_bytes, uint32_t slots)
{
	r->key_bytes = key_bytes;
	r->stride = (uint8_t)(key_bytes + sizeof(uint32_t));
	r->mask = slots - 1;
	r->count = 0;
	r->slot = calloc(slots, r->stride);
	return r->slot != NULL ? 0 : -ENOMEM;
}

void
ip_fib_rules_fini(struct ip_fib_rules *r)
{
	free(r->slot);
	r->slot = NULL;
}

void
ip_fib_rules_put(struct ip_fib_rules *r, const uint8_t *key, uint8_t len,
    uint32_t nh)
{
	uint8_t *s = rules_slot(r, rules_probe(r, key, len));

	if (!rules_is_used(r, s)) {
		memcpy(s, key, r->key_bytes);
		r->count++;
	}
	rules_set_word(r, s, (uint32_t)(len + 1) << RULE_LEN_SHIFT |
	    (nh & RULE_NH_MASK));
}

int
ip_fib_rules_reserve(struct ip_fib_rules *r)
{
	struct ip_fib_rules n;
	uint32_t i;

	if ((uint64_t)(r->count + 1) * 4 <= (uint64_t)(r->mask + 1) * 3)
		return 0;
	if (ip_fib_rules_init(&n, r->key_bytes, (r->mask + 1) * 2) != 0)
		return -ENOMEM;
	for (i = 0; i <= r->mask; i++) {
		const uint8_t *s = rules_slot(r, i);

		if (rules_is_used(r, s))
			ip_fib_rules_put(&n, s, rules_len(r, s),
			    rules_word(r, s) & RULE_NH_MASK);
	}
	free(r->slot);
	*r = n;
	return 0;
}

int
ip_fib_rules_del(struct ip_fib_rules *r, const uint8_t *key, uint8_t len)
{
	uint32_t i = rules_probe(r, key, len), j, home;

	if (!rules_is_used(r, rules_slot(r, i)))
		return -ENOENT;
	/*
	 * Backward-shift delete: pull later members of the probe run into
	 * the hole unless that would move one before its home slot.
	 */
	for (j = (i + 1) & r->mask; rules_is_used(r, rules_slot(r, j));
	    j = (j + 1) & r->mask) {
		const uint8_t *t = rules_slot(r, j);

		home = rules_hash(r, t, rules_len(r, t));
		if (((j - home) & r->mask) >= ((j - i) & r->mask)) {
			memcpy(rules_slot(r, i), t, r->stride);
			i = j;
		}
	}
	memset(rules_slot(r, i), 0, r->stride);
	r->count--;
	return 0;
}

bool
ip_fib_rules_cover(const struct ip_fib_rules *r, const uint8_t *key,
    uint8_t len, uint32_t *nh, uint8_t *cover_len)
{
	uint8_t k[16];
	int d;

	memcpy(k, key, r->key_bytes);
	/* key is masked to len; clearing bit d leaves it masked to d. */
	for (d = len - 1; d >= 0; d--) {
		const uint8_t *s;

		k[d / 8] &= (uint8_t)~(0x80u >> (d % 8));
		s = rules_slot(r, rules_probe(r, k, (uint8_t)d));
		if (rules_is_used(r, s)) {
			*nh = rules_word(r, s) & RULE_NH_MASK;
			*cover_len = (uint8_t)d;
			return true;
		}
	}
	return false;
}

size_t
ip_fib_rules_mem_bytes(const struct ip_fib_rules *r)
{
	return (size_t)(r->mask + 1) * r->stride;
}
