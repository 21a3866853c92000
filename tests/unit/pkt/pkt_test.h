/*
 * tests/unit/pkt/pkt_test.h: helpers shared by the src/pkt unit tests:
 * hex frames and a seeded generator, so a failure can be replayed.
 */
#ifndef PKT_TEST_H
#define PKT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* Decodes a hex string into buf; fails the test on bad input. */
static inline uint16_t
test_hex(const char *hex, uint8_t *buf, size_t buf_len)
{
	size_t n = strlen(hex) / 2;

	assert_int_equal(strlen(hex) % 2, 0);
	assert_true(n <= buf_len);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	return (uint16_t)n;
}

/* xorshift64*: small, deterministic, good enough for test inputs. */
static inline uint64_t
test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#endif /* PKT_TEST_H */
