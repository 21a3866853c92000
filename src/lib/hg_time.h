/*
 * src/lib/hg_time.h: monotonic clock in nanoseconds. The data plane reads the
 * clock once per batch and passes now_ns down; in pcap replay mode the
 * worker substitutes the capture's timestamps (see src/dp/worker.c).
 */
#ifndef HG_TIME_H
#define HG_TIME_H

#include <stdint.h>
#include <time.h>

#define HG_NS_PER_S	1000000000ULL
#define HG_NS_PER_MS	1000000ULL
#define HG_NS_PER_US	1000ULL

static inline uint64_t
hg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * HG_NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif /* HG_TIME_H */
