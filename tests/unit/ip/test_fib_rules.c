/*
 * tests/unit/ip/test_fib_rules.c: the FIBs' rule store (src/ip/fib_rules.c)
 * against a plain array of rules, for 4-byte and 16-byte keys.
 *
 * The store starts at 4 slots and the keys come from a small space
 * (prefixes under two /8s, lengths near each other), so it grows many
 * times, probe runs collide and wrap past the last slot, and deletes
 * shift members back: the edges test_fib.c's tables reach only rarely.
 * After every operation the store's answers (count, delete, the covering
 * rule) must be the reference's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ip/fib_priv.h"

#define REF_MAX		512
#define OPS		6000

struct ref_rule {
	uint8_t key[16];
	uint8_t len;
	uint32_t nh;
};

struct ref {
	struct ref_rule r[REF_MAX];
	uint32_t n;
	uint8_t key_bytes;
};

static uint32_t rng_state = 0x2545f491;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
mask_key(uint8_t *key, uint8_t key_bytes, uint8_t len)
{
	for (uint8_t i = 0; i < key_bytes; i++) {
		int keep = len - 8 * i;

		if (keep <= 0)
			key[i] = 0;
		else if (keep < 8)
			key[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static int
ref_find(const struct ref *f, const uint8_t *key, uint8_t len)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->r[i].len == len &&
		    memcmp(f->r[i].key, key, f->key_bytes) == 0)
			return (int)i;
	return -1;
}

/* The longest rule shorter than len whose bits are key's first bits. */
static int
ref_cover(const struct ref *f, const uint8_t *key, uint8_t len)
{
	uint8_t k[16];
	int best = -1;

	for (uint32_t i = 0; i < f->n; i++) {
		if (f->r[i].len >= len ||
		    (best >= 0 && f->r[i].len <= f->r[best].len))
			continue;
		memcpy(k, key, f->key_bytes);
		mask_key(k, f->key_bytes, f->r[i].len);
		if (memcmp(k, f->r[i].key, f->key_bytes) == 0)
			best = (int)i;
	}
	return best;
}

/* A key under 10/8 or 192/8 (IPv6: 2001:db8::/32 or fd00::/8) whose
 * length lies near its family's usual ones. */
static void
random_rule(uint8_t key_bytes, uint8_t key[16], uint8_t *len)
{
	uint8_t bits = (uint8_t)(8 * key_bytes);

	memset(key, 0, 16);
	for (uint8_t i = 0; i < key_bytes; i++)
		key[i] = (uint8_t)(rng() & 0x0f);
	key[0] = (rng() & 1) ? 10 : 192;
	*len = (uint8_t)(rng() % 5 == 0 ? rng() % (bits + 1) :
	    bits / 2 + rng() % (bits / 4));
	mask_key(key, key_bytes, *len);
}

static void
check_cover(const struct ip_fib_rules *r, const struct ref *f,
    const uint8_t *key, uint8_t len)
{
	int want = ref_cover(f, key, len);
	uint32_t nh = 0;
	uint8_t cover_len = 0;
	bool got = ip_fib_rules_cover(r, key, len, &nh, &cover_len);

	assert_int_equal(got, want >= 0);
	if (want >= 0) {
		assert_int_equal(cover_len, f->r[want].len);
		assert_int_equal(nh, f->r[want].nh);
	}
}

static void
run(uint8_t key_bytes)
{
	struct ip_fib_rules r;
	static struct ref f;
	uint8_t key[16];
	uint8_t len;

	memset(&f, 0, sizeof(f));
	f.key_bytes = key_bytes;
	assert_int_equal(ip_fib_rules_init(&r, key_bytes, 4), 0);
	for (int op = 0; op < OPS; op++) {
		int at;

		random_rule(key_bytes, key, &len);
		at = ref_find(&f, key, len);
		if (rng() % 3 != 0 && (at >= 0 || f.n < REF_MAX)) {
			uint32_t nh = rng() & 0xffffff;

			/* Adding one that is there changes its next hop. */
			assert_int_equal(ip_fib_rules_reserve(&r), 0);
			ip_fib_rules_put(&r, key, len, nh);
			if (at < 0) {
				at = (int)f.n++;
				memcpy(f.r[at].key, key, 16);
				f.r[at].len = len;
			}
			f.r[at].nh = nh;
		} else {
			assert_int_equal(ip_fib_rules_del(&r, key, len),
			    at >= 0 ? 0 : -ENOENT);
			if (at >= 0)
				f.r[at] = f.r[--f.n];
		}
		assert_int_equal(r.count, f.n);
		/* Every rule left is still found, under its own length + 1. */
		if (op % 97 == 0)
			for (uint32_t i = 0; i < f.n; i++)
				if (f.r[i].len < 8 * key_bytes)
					check_cover(&r, &f, f.r[i].key,
					    (uint8_t)(f.r[i].len + 1));
		check_cover(&r, &f, key, len);
	}
	/* Emptied, it answers nothing. */
	while (f.n > 0) {
		f.n--;
		assert_int_equal(ip_fib_rules_del(&r, f.r[f.n].key,
		    f.r[f.n].len), 0);
	}
	assert_int_equal(r.count, 0);
	memset(key, 0xff, sizeof(key));
	check_cover(&r, &f, key, (uint8_t)(8 * key_bytes));
	ip_fib_rules_fini(&r);
}

static void
test_rules4(void **state)
{
	(void)state;
	run(4);
}

static void
test_rules6(void **state)
{
	(void)state;
	run(16);
}

/* A /0 covers everything; nothing covers a /0. */
static void
test_default_route(void **state)
{
	struct ip_fib_rules r;
	const uint8_t zero[16] = { 0 };
	uint8_t key[16] = { 10, 1, 2, 3 };
	uint32_t nh = 0;
	uint8_t len = 99;

	(void)state;
	assert_int_equal(ip_fib_rules_init(&r, 4, 4), 0);
	assert_int_equal(ip_fib_rules_reserve(&r), 0);
	ip_fib_rules_put(&r, zero, 0, 7);
	assert_true(ip_fib_rules_cover(&r, key, 32, &nh, &len));
	assert_int_equal(nh, 7);
	assert_int_equal(len, 0);
	assert_false(ip_fib_rules_cover(&r, zero, 0, &nh, &len));
	assert_int_equal(ip_fib_rules_del(&r, zero, 0), 0);
	assert_int_equal(ip_fib_rules_del(&r, zero, 0), -ENOENT);
	ip_fib_rules_fini(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules4),
		cmocka_unit_test(test_rules6),
		cmocka_unit_test(test_default_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
