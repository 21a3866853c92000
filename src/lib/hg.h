/*
 * src/lib/hg.h: compiler helpers every module may use. No state, no I/O.
 * Logging is in log.h, clocks in time.h.
 */
#ifndef HG_H
#define HG_H

#include <stddef.h>
#include <stdint.h>

#define HG_MUST_CHECK	__attribute__((warn_unused_result))
#define HG_UNUSED	__attribute__((unused))
#define HG_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define HG_NORETURN	__attribute__((noreturn))
#define HG_PACKED	__attribute__((packed))
#define HG_ALIGNED(n)	__attribute__((aligned(n)))
#define HG_CACHE_LINE	64

#define hg_likely(x)	__builtin_expect(!!(x), 1)
#define hg_unlikely(x)	__builtin_expect(!!(x), 0)
#define hg_prefetch(p)	__builtin_prefetch(p)

#define HG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HG_MIN(a, b)	((a) < (b) ? (a) : (b))
#define HG_MAX(a, b)	((a) > (b) ? (a) : (b))

#define hg_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* How many packets ahead a batch loop prefetches. */
#define HG_PREFETCH_AHEAD 4

#endif /* HG_H */
