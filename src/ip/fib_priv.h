/*
 * src/ip/fib_priv.h: what the IPv4 and IPv6 FIBs (fib4.c, fib6.c) share:
 * how their tables are mapped and how an entry is stored while readers
 * may be walking them.
 */
#ifndef IP_FIB_PRIV_H
#define IP_FIB_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

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

#endif /* IP_FIB_PRIV_H */
