/*
 * tests/fuzz/fuzz_secret.c: libFuzzer target for the sealed-secret token
 * decoder and opener (src/mgmt/secret.c), which read tokens out of
 * configurations and API bodies: untrusted text.
 *
 * The first byte chooses the mode; the rest is the text:
 *   even: decode and open the text as a token under a fixed key, from a
 *         heap copy of its exact size (ASan sees a read past it);
 *   odd:  seal the text (up to the largest secret) under the fixed key,
 *         then open it back: it must come back byte for byte, and every
 *         prefix of the token must fail to open.
 * Whatever decodes must have the length the token's text implies, and
 * what opens must have decoded, to its plaintext's length plus the key
 * id, nonce and tag; nothing else may come back but a refusal.
 * Seeds are in corpus/secret/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mgmt/secret.h"

#define NAME	"/fuzz/psk"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hg_keyring *kr;
static uint8_t raw[HG_SECRET_RAW_LEN(HG_SECRET_PLAIN_MAX)];
static uint8_t plain[HG_SECRET_PLAIN_MAX];
static char token[HG_SECRET_TOKEN_MAX];

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_secret: %s\n", what);
	abort();
}

static void
keyring(void)
{
	static const uint8_t key[HG_SECRET_KEY_BYTES] = { 0x68, 0x67 };

	if (kr == NULL && hg_keyring_from_key(&kr, key) != 0)
		fail("no keyring");
}

static void
decode_open(const uint8_t *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1), err[256];
	size_t n = 0, m;
	bool ok;
	int rc;

	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	rc = hg_secret_token_decode(copy, len, raw, sizeof(raw), &n, err,
	    sizeof(err));
	if (rc == 0 && (len - HG_SECRET_PREFIX_LEN) != (n * 4 + 2) / 3)
		fail("decoded length disagrees with the text's");
	if (rc != 0 && rc != -EINVAL)
		fail("decode: not 0 or -EINVAL");
	ok = rc == 0;
	rc = hg_secret_open(kr, NAME, copy, len, plain, sizeof(plain), &m,
	    err, sizeof(err));
	if (rc == 0 && (!ok || m != n - HG_SECRET_RAW_LEN(0)))
		fail("opened what does not decode, or to the wrong length");
	if (rc != 0 && rc != -EINVAL && rc != -EBADMSG && rc != -EKEYREJECTED)
		fail("open: not a refusal");
	sodium_memzero(plain, sizeof(plain));
	free(copy);
}

static void
seal_open(const uint8_t *text, size_t len)
{
	char err[256];
	size_t n, tlen;

	if (len > HG_SECRET_PLAIN_MAX)
		len = HG_SECRET_PLAIN_MAX;
	if (hg_secret_seal(kr, NAME, text, len, token, sizeof(token), err,
	    sizeof(err)) != 0)
		fail(err);
	tlen = strlen(token);
	if (hg_secret_open(kr, NAME, token, tlen, plain, sizeof(plain), &n,
	    err, sizeof(err)) != 0)
		fail(err);
	if (n != len || memcmp(plain, text, len) != 0)
		fail("the secret did not come back");
	/* Prefixes a byte apart would be slow on big inputs: a few cuts. */
	for (size_t cut = 0; cut < tlen; cut += 1 + tlen / 16)
		if (hg_secret_open(kr, NAME, token, cut, plain, sizeof(plain),
		    &n, err, sizeof(err)) == 0)
			fail("a cut token opened");
	sodium_memzero(plain, sizeof(plain));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	keyring();
	if ((data[0] & 1) == 0)
		decode_open(data + 1, size - 1);
	else
		seal_open(data + 1, size - 1);
	return 0;
}
