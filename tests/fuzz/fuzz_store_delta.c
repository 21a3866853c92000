/*
 * tests/fuzz/fuzz_store_delta.c: libFuzzer target for the store's blob
 * codec (src/mgmt/store_delta.h), which reads blobs out of a file that
 * may be damaged.  The first byte picks the mode:
 *
 *   0  the rest is a whole blob: unpack it;
 *   1  the rest is "base NUL blob": unpack the blob as a delta on base;
 *   2  the rest is "base NUL text": pack the delta, unpack it, and the
 *      text must come back byte for byte (and so must a whole blob).
 *
 * Unpacking returns 0 with a NUL-terminated text of the claimed length,
 * or -EIO, never anything else.  Seeds are in corpus/store_delta/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/store_delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_out(int rc, char *out, size_t len)
{
	if (rc == 0) {
		if (out == NULL || out[len] != '\0' || strlen(out) != len)
			abort();
		free(out);
	} else if (rc != -EIO || out != NULL) {
		abort();
	}
}

/* Splits at the first NUL: base is a C string, the rest follows it. */
static const uint8_t *
split(const uint8_t *p, size_t n, char **base, size_t *rest)
{
	const uint8_t *nul = memchr(p, '\0', n);
	size_t blen = nul != NULL ? (size_t)(nul - p) : n;

	*base = malloc(blen + 1);
	if (*base == NULL)
		abort();
	memcpy(*base, p, blen);
	(*base)[blen] = '\0';
	*rest = nul != NULL ? n - blen - 1 : 0;
	return nul != NULL ? nul + 1 : p + n;
}

static void
roundtrip(const char *base, const char *text)
{
	uint8_t *blob;
	size_t blob_len, len;
	char *out;

	if (sd_delta_pack(base, strlen(base), text, strlen(text), &blob,
	    &blob_len) != 0)
		abort();
	if (sd_delta_unpack(base, strlen(base), blob, blob_len, &out,
	    &len) != 0 || len != strlen(text) || strcmp(out, text) != 0)
		abort();
	free(out);
	free(blob);
	if (sd_whole_pack(text, strlen(text), &blob, &blob_len) != 0 ||
	    sd_whole_unpack(blob, blob_len, &out, &len) != 0 ||
	    strcmp(out, text) != 0)
		abort();
	free(out);
	free(blob);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *rest;
	size_t rest_len, len;
	char *base, *text, *out = NULL;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_out(sd_whole_unpack(data + 1, size - 1, &out, &len), out,
		    len);
		break;
	case 1:
		rest = split(data + 1, size - 1, &base, &rest_len);
		check_out(sd_delta_unpack(base, strlen(base), rest, rest_len,
		    &out, &len), out, len);
		free(base);
		break;
	case 2:
		rest = split(data + 1, size - 1, &base, &rest_len);
		text = malloc(rest_len + 1);
		if (text == NULL)
			abort();
		memcpy(text, rest, rest_len);
		text[rest_len] = '\0';	/* up to an inner NUL: still a text */
		roundtrip(base, text);
		free(text);
		free(base);
		break;
	}
	return 0;
}
