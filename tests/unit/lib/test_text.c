/*
 * tests/unit/lib/test_text.c: proves src/lib/text.c: base64 against RFC
 * 4648's test vectors, a round trip of every byte value and of every
 * length up to 64, a character that is not base64 refused, and the
 * machine names of HTTP statuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/text.h"

/* Decodes text through a memory stream; the bytes and their count. */
static int
decode(const char *text, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	int rc;

	assert_non_null(f);
	rc = hg_base64_write(text, f);
	fclose(f);
	return rc;
}

static void
test_rfc4648_vectors(void **state)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = hg_base64_encode(v[i][0], strlen(v[i][0])), *d;
		size_t len;

		assert_string_equal(e, v[i][1]);
		assert_int_equal(decode(e, &d, &len), 0);
		assert_int_equal(len, strlen(v[i][0]));
		assert_memory_equal(d, v[i][0], len);
		free(e);
		free(d);
	}
}

static void
test_round_trip(void **state)
{
	unsigned char bytes[256];

	(void)state;
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= 256; n += n < 64 ? 1 : 64) {
		char *e = hg_base64_encode(bytes, n), *d;
		size_t len;

		assert_int_equal(strlen(e), (n + 2) / 3 * 4);
		assert_int_equal(decode(e, &d, &len), 0);
		assert_int_equal(len, n);
		if (n > 0)
			assert_memory_equal(d, bytes, n);
		free(e);
		free(d);
	}
}

static void
test_refused(void **state)
{
	char *d;
	size_t len;

	(void)state;
	assert_int_equal(decode("Zm9v!mFy", &d, &len), -EINVAL);
	free(d);
}

static void
test_http_codes(void **state)
{
	(void)state;
	assert_string_equal(hg_http_code(400), "bad_request");
	assert_string_equal(hg_http_code(404), "not_found");
	assert_string_equal(hg_http_code(409), "conflict");
	assert_string_equal(hg_http_code(503), "unavailable");
	assert_string_equal(hg_http_code(418), "error");
	assert_string_equal(hg_http_code(599), "server_error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_http_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
