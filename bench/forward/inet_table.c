/*
 * bench/forward/inet_table.c: the Internet-like IPv4 table generator
 * (see inet_table.h).  Benchmark code: it allocates freely and aborts on
 * impossible requests.
 *
 * The length mix is given per million prefixes.  /8-/16 is ~6% rather
 * than the 10% one might guess: the public space holds only ~56k /16s,
 * ~28k /15s and so on, and distinct prefixes have to fit in it (real
 * tables carry ~2% there).  /24 takes whatever the others leave.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inet_table.h"

static const uint32_t len_ppm[33] = {
	[8] = 30, [9] = 60, [10] = 200, [11] = 600, [12] = 1500,
	[13] = 3000, [14] = 6000, [15] = 12000, [16] = 35000,
	[17] = 9000, [18] = 15000, [19] = 28000, [20] = 42000,
	[21] = 52000, [22] = 80000, [23] = 66000,
	[25] = 9000, [26] = 8000, [27] = 7000, [28] = 7000,
	[29] = 7000, [30] = 5000, [31] = 1000, [32] = 6000,
};

/* Not announced on the Internet, so not in a realistic table. */
static const struct { uint32_t net; uint8_t len; } reserved[] = {
	{ 0x00000000, 8 }, { 0x0a000000, 8 }, { 0x7f000000, 8 },
	{ 0x64400000, 10 }, { 0xa9fe0000, 16 }, { 0xac100000, 12 },
	{ 0xc0000000, 24 }, { 0xc0000200, 24 }, { 0xc0a80000, 16 },
	{ 0xc6120000, 15 }, { 0xc6336400, 24 }, { 0xcb007100, 24 },
	{ 0xe0000000, 3 },
};

struct gen {
	uint64_t	 rng;
	uint64_t	*set;		/* prefix << 6 | len, +1 so 0 is empty */
	uint32_t	 set_mask;
};

static uint64_t
gen_rand(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

static bool
is_reserved(uint32_t net)
{
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if ((net & mask_of(reserved[i].len)) == reserved[i].net)
			return true;
	return false;
}

/* A public-looking address, host order. */
static uint32_t
gen_addr(struct gen *g)
{
	uint32_t a;

	do
		a = (uint32_t)gen_rand(g);
	while (is_reserved(a));
	return a;
}

/* Inserts prefix/len into the set; false if it was there already. */
static bool
set_insert(struct gen *g, uint32_t prefix, uint8_t len)
{
	uint64_t key = ((uint64_t)prefix << 6 | len) + 1;
	uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & g->set_mask;

	for (; g->set[i] != 0; i = (i + 1) & g->set_mask)
		if (g->set[i] == key)
			return false;
	g->set[i] = key;
	return true;
}

/* How many of length len fit: capped at 60% of the public space. */
static uint32_t
len_count(uint32_t n, uint8_t len)
{
	uint64_t want = (uint64_t)len_ppm[len] * n / 1000000;
	uint64_t room = len <= 16 ? (221ull << (len - 8)) * 3 / 5 : want;

	return (uint32_t)(want < room ? want : room);
}

void
inet_table_gen(uint32_t n, uint64_t seed, uint32_t *prefix_be, uint8_t *len)
{
	struct gen g = { .rng = seed };
	uint32_t *pool, npool = n / 50 + 1, count[33] = { 0 }, total = 0;
	uint32_t i, j, k = 0, p, slots = 1024, tmp32;
	uint8_t l, tmp8;

	while (slots < 2 * n)
		slots *= 2;
	g.set = calloc(slots, sizeof(*g.set));
	g.set_mask = slots - 1;
	pool = calloc(npool, sizeof(*pool));
	if (g.set == NULL || pool == NULL)
		abort();
	for (i = 0; i < npool; i++)
		pool[i] = gen_addr(&g) & mask_of(24);

	for (l = 8; l <= 32; l++)
		total += count[l] = len_count(n, l);
	if (total > n)
		abort();
	count[24] += n - total;

	for (l = 8; l <= 32; l++)
		for (i = 0; i < count[l]; ) {
			if (l > 24)
				p = pool[gen_rand(&g) % npool] |
				    ((uint32_t)gen_rand(&g) & 0xff);
			else
				p = gen_addr(&g);
			p &= mask_of(l);
			if (is_reserved(p) || !set_insert(&g, p, l))
				continue;
			prefix_be[k] = htonl(p);
			len[k++] = l;
			i++;
		}

	/* Shuffle, so that adds come in no particular length order. */
	for (i = n - 1; i > 0; i--) {
		j = (uint32_t)(gen_rand(&g) % (i + 1));
		tmp32 = prefix_be[i];
		prefix_be[i] = prefix_be[j];
		prefix_be[j] = tmp32;
		tmp8 = len[i];
		len[i] = len[j];
		len[j] = tmp8;
	}
	free(pool);
	free(g.set);
}
