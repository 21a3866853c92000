/*
 * bench/forward/bench_fib.c: builds an IPv4 FIB from a 1M-prefix
 * Internet-like table (inet_table.c) and measures build time, memory and
 * lookup cost, single and bulk, for random addresses and for addresses
 * inside the table's prefixes; then the same for a 100k-prefix IPv6
 * table.  The anchor is DPDK's rte_lpm, the same DIR-24-8 design: a few
 * ns per lookup from cache-missing tables.
 *
 * usage: bench_fib [prefixes] [seed]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ip/fib.h"
#include "lib/hg_time.h"

#include "inet_table.h"

#define BENCH_ADDRS	(1u << 22)	/* 16 MiB of addresses: not cache-resident */
#define BENCH_ROUNDS	8
#define BENCH_BATCH	256		/* the pipeline's largest vector */

static uint64_t bench_rng = 0x0123456789abcdefull;

static uint64_t
rand64(void)
{
	uint64_t z = (bench_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t
rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Each measurement is the best of BENCH_ROUNDS passes over the address
 * array: the machine may be shared, and interference only ever adds time.
 */
/* Transparent huge pages back tbl24 only if the kernel grants them. */
static size_t
huge_bytes(void)
{
	char line[256];
	size_t kib = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "AnonHugePages: %zu kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

static double
bench_single(const struct ip_fib4 *fib, const uint32_t *addrs, uint32_t *sink)
{
	uint64_t t0, dt, best = UINT64_MAX, sum = 0;
	uint32_t r, i;

	for (r = 0; r < BENCH_ROUNDS; r++) {
		t0 = hg_now_ns();
		for (i = 0; i < BENCH_ADDRS; i++)
			sum += ip_fib4_lookup(fib, addrs[i]);
		dt = hg_now_ns() - t0;
		best = HG_MIN(best, dt);	/* not the clock inside HG_MIN: it evaluates twice */
	}
	*sink += (uint32_t)sum;
	return (double)best / BENCH_ADDRS;
}

static double
bench_bulk(const struct ip_fib4 *fib, const uint32_t *addrs, uint32_t *nh)
{
	uint64_t t0, dt, best = UINT64_MAX;
	uint32_t r, i;

	for (r = 0; r < BENCH_ROUNDS; r++) {
		t0 = hg_now_ns();
		for (i = 0; i < BENCH_ADDRS; i += BENCH_BATCH)
			ip_fib4_lookup_bulk(fib, addrs + i, nh + i, BENCH_BATCH);
		dt = hg_now_ns() - t0;
		best = HG_MIN(best, dt);	/* not the clock inside HG_MIN: it evaluates twice */
	}
	return (double)best / BENCH_ADDRS;
}

/* Bulk must agree with single lookups; returns the share that matched. */
static double
check_bulk(const struct ip_fib4 *fib, const uint32_t *addrs, const uint32_t *nh)
{
	uint32_t i, hits = 0;

	for (i = 0; i < BENCH_ADDRS; i++) {
		if (nh[i] != ip_fib4_lookup(fib, addrs[i])) {
			fprintf(stderr, "bench_fib: bulk and single lookup differ\n");
			exit(1);
		}
		hits += nh[i] != IP_FIB_MISS;
	}
	return 100.0 * hits / BENCH_ADDRS;
}

static void
run_lookups(const struct ip_fib4 *fib, const char *what, const uint32_t *addrs,
    uint32_t *nh, uint32_t nprefix)
{
	uint32_t sink = 0;
	double single, bulk, hit;

	single = bench_single(fib, addrs, &sink);
	bulk = bench_bulk(fib, addrs, nh);
	hit = check_bulk(fib, addrs, nh);
	printf("fib4 lookup: %.1f ns/lookup (%u prefixes, %s addresses, %.0f%% match)\n",
	    single, nprefix, what, hit);
	printf("fib4 lookup_bulk: %.1f ns/lookup (%u prefixes, %s addresses, batch %u)\n",
	    bulk, nprefix, what, BENCH_BATCH);
	if (sink == 1)	/* keeps the single-lookup loop from being optimised out */
		printf("\n");
}

/*
 * IPv6: 100k prefixes shaped like today's table (mostly /48, then /32,
 * /29, /36-/44, a few /56-/64), clustered under 5000 allocations in
 * 2000::/3, and lookups of addresses inside them.
 */
#define BENCH6_PREFIXES	100000u
#define BENCH6_ADDRS	(1u << 20)

static void
gen_prefix6(uint8_t *p, uint8_t *len, const uint8_t (*alloc)[4], uint32_t nalloc)
{
	static const uint8_t lens[20] = { 32, 32, 29, 36, 40, 40, 44, 44, 48, 48,
	    48, 48, 48, 48, 48, 48, 48, 48, 56, 64 };
	uint64_t r = rand64(), r2 = rand64();
	int i;

	*len = lens[r % 20];
	memcpy(p, alloc[(r >> 8) % nalloc], 4);
	for (i = 4; i < 16; i++)
		p[i] = (uint8_t)(r2 >> (8 * (i % 8)));
	for (i = *len; i < 128; i++)
		p[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* A random address inside p/len. */
static void
addr_in_prefix6(uint8_t *a, const uint8_t *p, uint8_t len)
{
	uint64_t r[2] = { rand64(), rand64() };
	int i, bits;
	uint8_t m;

	for (i = 0; i < 16; i++) {
		bits = HG_MAX(0, HG_MIN(8, len - 8 * i));
		m = (uint8_t)(0xff00 >> bits);
		a[i] = (uint8_t)((p[i] & m) | ((uint8_t)(r[i / 8] >> (8 * (i % 8))) & ~m));
	}
}

static void
bench_fib6(void)
{
	uint8_t (*alloc)[4] = malloc(5000 * sizeof(*alloc));
	uint8_t (*addrs)[16] = malloc(BENCH6_ADDRS * sizeof(*addrs));
	uint8_t p[16], len;
	uint64_t t0, t1, dt, best = UINT64_MAX, sum = 0;
	struct ip_fib6 *fib;
	uint32_t i, r;

	if (alloc == NULL || addrs == NULL || ip_fib6_create(&fib) != 0)
		exit(1);
	for (i = 0; i < 5000; i++) {
		r = (uint32_t)rand64();
		alloc[i][0] = (uint8_t)(0x20 | (r & 0x1f));
		alloc[i][1] = (uint8_t)(r >> 8);
		alloc[i][2] = (uint8_t)(r >> 16);
		alloc[i][3] = (uint8_t)(r >> 24);
	}
	t0 = hg_now_ns();
	for (i = 0; i < BENCH6_PREFIXES; i++) {
		gen_prefix6(p, &len, (const uint8_t (*)[4])alloc, 5000);
		if (ip_fib6_add(fib, p, len, i) != 0)
			exit(1);
		if (i < BENCH6_ADDRS)
			addr_in_prefix6(addrs[i], p, len);
	}
	t1 = hg_now_ns();
	for (i = BENCH6_PREFIXES; i < BENCH6_ADDRS; i++)
		memcpy(addrs[i], addrs[rand64() % BENCH6_PREFIXES], 16);
	printf("fib6 build: %.0f ms for %u prefixes, %.1f MiB\n", (t1 - t0) / 1e6,
	    ip_fib6_count(fib), ip_fib6_mem_bytes(fib) / 1048576.0);
	for (r = 0; r < BENCH_ROUNDS; r++) {
		t0 = hg_now_ns();
		for (i = 0; i < BENCH6_ADDRS; i++)
			sum += ip_fib6_lookup(fib, addrs[i]);
		dt = hg_now_ns() - t0;
		best = HG_MIN(best, dt);	/* not the clock inside HG_MIN: it evaluates twice */
	}
	printf("fib6 lookup: %.1f ns/lookup (%u prefixes, in-table addresses)\n",
	    (double)best / BENCH6_ADDRS, ip_fib6_count(fib));
	best = UINT64_MAX;
	for (r = 0; r < BENCH_ROUNDS; r++) {
		const uint8_t *ptr[256];
		uint32_t nh[256];

		t0 = hg_now_ns();
		for (i = 0; i + 256 <= BENCH6_ADDRS; i += 256) {
			for (uint32_t k = 0; k < 256; k++)
				ptr[k] = addrs[i + k];
			ip_fib6_lookup_bulk(fib, ptr, nh, 256);
			sum += nh[0];
		}
		dt = hg_now_ns() - t0;
		best = HG_MIN(best, dt);
	}
	printf("fib6 lookup_bulk: %.1f ns/lookup (%u prefixes, in-table addresses, batch 256)\n",
	    (double)best / (BENCH6_ADDRS / 256 * 256), ip_fib6_count(fib));
	if (sum == 1)
		printf("\n");
	ip_fib6_destroy(fib);
	free(alloc);
	free(addrs);
}

int
main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1000000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	uint32_t *prefix = malloc(n * sizeof(*prefix)), i, j, host, nh_id;
	uint32_t *addrs = malloc(BENCH_ADDRS * sizeof(*addrs));
	uint32_t *nh = malloc(BENCH_ADDRS * sizeof(*nh));
	uint8_t *len = malloc(n);
	struct ip_fib4 *fib;
	size_t rss0;
	uint64_t t0, t1;
	int rc;

	if (prefix == NULL || len == NULL || addrs == NULL || nh == NULL)
		return 1;
	inet_table_gen(n, seed, prefix, len);

	rss0 = rss_bytes();
	if ((rc = ip_fib4_create(&fib, 0)) != 0) {
		fprintf(stderr, "bench_fib: ip_fib4_create: %d\n", rc);
		return 1;
	}
	t0 = hg_now_ns();
	for (i = 0; i < n; i++) {
		nh_id = i % IP_FIB_NH_MAX;
		if ((rc = ip_fib4_add(fib, prefix[i], len[i], nh_id)) != 0) {
			fprintf(stderr, "bench_fib: add #%u /%u: %d\n", i, len[i], rc);
			return 1;
		}
	}
	t1 = hg_now_ns();
	printf("fib4 build: %.0f ms for %u prefixes (%.2f us/prefix)\n",
	    (t1 - t0) / 1e6, ip_fib4_count(fib), (t1 - t0) / 1e3 / n);
	printf("fib4 memory: %.1f MiB resident, %.1f MiB reserved, %.0f MiB in huge pages\n",
	    (rss_bytes() - rss0) / 1048576.0, ip_fib4_mem_bytes(fib) / 1048576.0,
	    huge_bytes() / 1048576.0);

	for (i = 0; i < BENCH_ADDRS; i++)
		addrs[i] = (uint32_t)rand64();
	run_lookups(fib, "random", addrs, nh, n);

	for (i = 0; i < BENCH_ADDRS; i++) {
		j = (uint32_t)(rand64() % n);
		host = len[j] == 32 ? 0 : (uint32_t)rand64() & (~0u >> len[j]);
		addrs[i] = htonl(ntohl(prefix[j]) | host);
	}
	run_lookups(fib, "in-table", addrs, nh, n);

	/* Churn: delete and re-add 10% of the table, as a route flap storm. */
	t0 = hg_now_ns();
	for (i = 0; i < n; i += 10)
		if (ip_fib4_del(fib, prefix[i], len[i]) != 0)
			return 1;
	ip_fib4_reclaim(fib);
	for (i = 0; i < n; i += 10)
		if (ip_fib4_add(fib, prefix[i], len[i], 7) != 0)
			return 1;
	t1 = hg_now_ns();
	printf("fib4 update: %.2f us per delete+add (%u prefixes)\n",
	    (t1 - t0) / 1e3 / ((n + 9) / 10), n);

	ip_fib4_destroy(fib);
	bench_fib6();
	free(prefix);
	free(len);
	free(addrs);
	free(nh);
	return 0;
}
