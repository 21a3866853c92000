/*
 * src/ip/fib_priv.h: what the IPv4 and IPv6 FIBs (fib4.c, fib6.c) share:
 * how their tables are mapped, how an entry is stored while readers may
 * be walking them, and the rule store (fib_rules.c).
 */
#ifndef IP_FIB_PRIV_H
#define IP_FIB_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "../lib/hg.h"

/* Readers may be walking the tables: every store is a single atomic one. */
static inline void
ip_fib_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * Reserve bytes of zeroed table, backed only as touched, so a table never
 * moves under a reader.  Random lookups land on a different page nearly
 * every time; with 4 KiB pages each is a TLB miss, huge pages take most
 * of those away (advisory only).  NULL on failure.
 */
static inline void *
ip_fib_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

/*
 * The rule store (fib_rules.c): every prefix a FIB holds, (prefix, length)
 * -> next hop.  The tables expand a prefix into every entry it covers, so
 * they alone cannot say what a delete uncovers; this can.  Control thread
 * only; lookups never read it.
 *
 * A key is the prefix's bytes in address order, family-sized (4 bytes for
 * IPv4, 16 for IPv6) and masked to its length.  Linear probing with a
 * backward-shift delete, the load kept under 3/4.  A slot is the key
 * followed by a 32-bit word, (length + 1) << 24 | next hop, zero while
 * the slot is free: 8 bytes a rule for IPv4, 20 for IPv6.
 */
struct ip_fib_rules {
	uint8_t		*slot;
	uint32_t	 mask;		/* slots - 1, a power of two */
	uint32_t	 count;
	uint8_t		 key_bytes;	/* 4 or 16 */
	uint8_t		 stride;	/* key_bytes + 4 */
};

/* 0, or -ENOMEM; slots is a power of two. */
int ip_fib_rules_init(struct ip_fib_rules *r, uint8_t key_bytes,
    uint32_t slots) HG_MUST_CHECK;
void ip_fib_rules_fini(struct ip_fib_rules *r);
/* Room for one more rule, so that the put that follows cannot fail: 0 or
 * -ENOMEM (the store is as it was). */
int ip_fib_rules_reserve(struct ip_fib_rules *r) HG_MUST_CHECK;
/* Adds key/len -> nh, or changes the next hop of the rule already there.
 * Needs room (ip_fib_rules_reserve()); nh < 2^24, len <= 8 * key_bytes. */
void ip_fib_rules_put(struct ip_fib_rules *r, const uint8_t *key,
    uint8_t len, uint32_t nh);
/* Removes key/len: 0, or -ENOENT when there is no such rule. */
int ip_fib_rules_del(struct ip_fib_rules *r, const uint8_t *key,
    uint8_t len);
/* The longest rule shorter than len that covers key: true with its next
 * hop and length, false when none does. */
bool ip_fib_rules_cover(const struct ip_fib_rules *r, const uint8_t *key,
    uint8_t len, uint32_t *nh, uint8_t *cover_len);
size_t ip_fib_rules_mem_bytes(const struct ip_fib_rules *r);

#endif /* IP_FIB_PRIV_H */
