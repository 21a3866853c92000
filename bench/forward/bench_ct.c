/*
 * bench/forward/bench_ct.c: the cost of conntrack per packet with 65,536
 * live flows, one packet at a time (ct_classify()) against a batch at a
 * time (ct_classify_bulk()), in the same run on the same table.  Every
 * flow is an answered UDP flow, so every packet is a hit (ESTABLISHED),
 * as on a busy forwarding path; packets come in random flow order, so
 * the table (12 MiB of entries and 0.5 MiB of buckets) misses the cache
 * as it does under real traffic.  Each batch's packets are read into the
 * cache before the clock starts: the pipeline has just parsed them, and
 * this measures conntrack, not the packet buffers.
 *
 * usage: bench_ct [flows] [repetitions]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/ct.h"
#include "lib/hg_time.h"
#include "pkt/pkt.h"

#define BENCH_FLOWS	65536
#define BENCH_REPS	5
#define BENCH_BATCH	PKT_BATCH_MAX
#define BENCH_PASSES	4		/* packets timed = flows * passes */
#define BENCH_SLOT	256		/* a pkt and its frame, like the pool */

static uint64_t bench_rng = 0x0123456789abcdefull;

static uint64_t
rand64(void)
{
	uint64_t z = (bench_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* UDP from 10.<i>:<port> to 198.51.100.1:53, or its reply. */
static void
frame_udp(struct pkt *p, uint8_t *f, uint32_t i, bool reply)
{
	struct eth_hdr eth = { .dst = { 2, 0, 0, 0, 0, 2 },
	    .src = { 2, 0, 0, 0, 0, 1 }, .type_be = htons(ETH_P_IP) };
	struct ip4_hdr ip = { .ver_ihl = 0x45, .ttl = 64, .proto = 17,
	    .tot_len_be = htons(IP4_HDR_LEN + 8 + 18) };
	uint32_t cli = htonl(0x0a000000 | i), srv = htonl(0xc6336401);
	uint16_t cport = htons((uint16_t)(1024 + i % 60000)), sport = htons(53);
	struct udp_hdr uh = { .len_be = htons(8 + 18) };

	ip.src_be = reply ? srv : cli;
	ip.dst_be = reply ? cli : srv;
	uh.sport_be = reply ? sport : cport;
	uh.dport_be = reply ? cport : sport;
	ip.csum_be = pkt_csum(&ip, sizeof(ip));
	memset(f, 0, 64);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + ETH_HDR_LEN, &ip, sizeof(ip));
	memcpy(f + ETH_HDR_LEN + IP4_HDR_LEN, &uh, sizeof(uh));
	memset(p, 0, sizeof(*p));
	p->data = f;
	p->len = 60;
	if (pkt_parse(p, NULL) != PKT_DROP_NONE) {
		fprintf(stderr, "bench_ct: frame %u does not parse\n", i);
		exit(1);
	}
}

static struct pkt *
slot_pkt(uint8_t *mem, uint32_t i)
{
	return (struct pkt *)(void *)(mem + (size_t)i * BENCH_SLOT);
}

/* A table holding n answered flows; mem gets the original-direction
 * packet of each. */
static struct ct_table *
setup(uint8_t *mem, uint32_t n, uint64_t now_ns)
{
	struct ct_table *t;
	struct ct_result r;
	struct pkt rp;
	uint8_t rf[64];

	if (ct_table_create(&t, n, NULL) != 0 ||
	    ct_table_limit_sources(t, 100) != 0) {
		fprintf(stderr, "bench_ct: ct_table_create failed\n");
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pkt *p = slot_pkt(mem, i);

		frame_udp(p, (uint8_t *)p + 64, i, false);
		frame_udp(&rp, rf, i, true);
		if (ct_classify(t, p, now_ns, &r) != CT_STATE_NEW ||
		    ct_confirm(t, &r, now_ns) != 0 ||
		    ct_classify(t, &rp, now_ns, &r) != CT_STATE_ESTABLISHED) {
			fprintf(stderr, "bench_ct: flow %u not set up\n", i);
			exit(1);
		}
	}
	return t;
}

static void
warm(struct pkt *const *b, uint32_t n)
{
	volatile uint8_t sink = 0;

	for (uint32_t i = 0; i < n; i++)
		sink ^= b[i]->data[ETH_HDR_LEN] ^ (uint8_t)b[i]->l3_len;
	(void)sink;
}

/* ns per packet over order[], batch by batch, one way or the other. */
static double
run(struct ct_table *t, uint8_t *mem, const uint32_t *order, uint32_t n,
    uint32_t batch, bool bulk, uint64_t now_ns)
{
	static struct ct_result res[BENCH_BATCH];
	struct pkt *b[BENCH_BATCH];
	uint64_t spent = 0, est = 0;

	for (uint32_t base = 0; base < n; base += batch) {
		uint32_t m = n - base < batch ? n - base : batch;
		uint64_t t0;

		for (uint32_t i = 0; i < m; i++)
			b[i] = slot_pkt(mem, order[base + i]);
		warm(b, m);
		t0 = hg_now_ns();
		if (bulk) {
			ct_classify_bulk(t, b, m, now_ns, res);
		} else {
			for (uint32_t i = 0; i < m; i++)
				(void)ct_classify(t, b[i], now_ns, &res[i]);
		}
		spent += hg_now_ns() - t0;
		for (uint32_t i = 0; i < m; i++)
			est += res[i].state == CT_STATE_ESTABLISHED;
	}
	if (est != n) {
		fprintf(stderr, "bench_ct: %lu of %u packets ESTABLISHED\n",
		    (unsigned long)est, n);
		exit(1);
	}
	return (double)spent / n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	uint32_t flows = argc > 1 ? (uint32_t)atoi(argv[1]) : BENCH_FLOWS;
	uint32_t reps = argc > 2 ? (uint32_t)atoi(argv[2]) : BENCH_REPS;
	static const uint32_t batches[] = { PKT_BURST, BENCH_BATCH };
	uint64_t now = 1000 * HG_NS_PER_S;
	uint32_t n = flows * BENCH_PASSES, *order;
	struct ct_table *t;
	uint8_t *mem;

	if (flows == 0 || flows > (1u << 22) || reps == 0 || reps > 99) {
		fprintf(stderr, "usage: bench_ct [flows] [repetitions]\n");
		return 2;
	}
	mem = aligned_alloc(HG_CACHE_LINE, (size_t)flows * BENCH_SLOT);
	order = malloc(n * sizeof(*order));
	if (mem == NULL || order == NULL)
		return 1;
	t = setup(mem, flows, now);
	for (uint32_t i = 0; i < n; i++)
		order[i] = (uint32_t)(rand64() % flows);

	for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
		double one[99], bulk[99], m1, mb;

		/* alternate, so drift on a shared machine hits both */
		for (uint32_t r = 0; r < reps; r++) {
			one[r] = run(t, mem, order, n, batches[k], false, now);
			bulk[r] = run(t, mem, order, n, batches[k], true, now);
		}
		qsort(one, reps, sizeof(one[0]), cmp_double);
		qsort(bulk, reps, sizeof(bulk[0]), cmp_double);
		m1 = one[reps / 2];
		mb = bulk[reps / 2];
		printf("ct classify: %.1f ns/pkt (%u live flows, batch %u, "
		    "median of %u)\n", m1, flows, batches[k], reps);
		printf("ct classify_bulk: %.1f ns/pkt (%u live flows, batch %u, "
		    "median of %u)\n", mb, flows, batches[k], reps);
		printf("ct bulk speed-up: %.2fx (batch %u)\n", m1 / mb,
		    batches[k]);
	}
	ct_table_destroy(t);
	free(order);
	free(mem);
	return 0;
}
