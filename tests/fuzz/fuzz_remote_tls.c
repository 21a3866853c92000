/*
 * tests/fuzz/fuzz_remote_tls.c: libFuzzer target for what hexctl reads of
 * an untrusted server's certificate (remote_tls_names() in
 * src/cli/remote_tls.c): the subjectAltName text libcurl gives, matched
 * against the host of --url and written out for the user.
 *
 * Input: 1 byte of output size (0 to 255), then the host up to the first
 * newline, then the subjectAltName text (NUL bytes end it, as they would
 * in curl's C string).  Checks: out is NUL-terminated within its size,
 * holds only printable ASCII, and the verdict does not depend on the size
 * of out.  Seeds are in corpus/remote_tls/.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/remote_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
out_check(const char *out, size_t len)
{
	size_t n = strnlen(out, len);

	if (n == len) {
		fprintf(stderr, "fuzz_remote_tls: out not terminated\n");
		abort();
	}
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)out[i])) {
			fprintf(stderr, "fuzz_remote_tls: byte %zu of out "
			    "is 0x%02x\n", i, (unsigned char)out[i]);
			abort();
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *host, *san, *small, big[4096];
	const uint8_t *nl;
	size_t out_len, host_len;
	bool a, b;

	if (size < 1)
		return 0;
	out_len = data[0];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	host_len = nl != NULL ? (size_t)(nl - data) : size;
	host = strndup((const char *)data, host_len);
	san = strndup((const char *)data + host_len + (nl != NULL),
	    size - host_len - (nl != NULL));
	/* exactly out_len bytes, so ASan sees a write past them */
	small = malloc(out_len ? out_len : 1);
	if (host == NULL || san == NULL || small == NULL)
		abort();
	a = remote_tls_names(san, host, small, out_len);
	if (out_len > 0)
		out_check(small, out_len);
	b = remote_tls_names(san, host, big, sizeof(big));
	out_check(big, sizeof(big));
	if (a != b) {
		fprintf(stderr, "fuzz_remote_tls: the verdict depends on the "
		    "output size (%zu)\n", out_len);
		abort();
	}
	free(small);
	free(host);
	free(san);
	return 0;
}
