/*
 * src/lib/text.c: see text.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int
hg_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *
hg_http_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 422: return "unprocessable_entity";
	case 429: return "too_many_requests";
	case 500: return "internal_error";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	default: return status >= 500 ? "server_error" : "error";
	}
}

char *
hg_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = len - i;

		v |= left > 1 ? (uint32_t)p[i + 1] << 8 : 0;
		v |= left > 2 ? p[i + 2] : 0;
		out[n++] = b64[v >> 18 & 63];
		out[n++] = b64[v >> 12 & 63];
		out[n++] = left > 1 ? b64[v >> 6 & 63] : '=';
		out[n++] = left > 2 ? b64[v & 63] : '=';
	}
	out[n] = '\0';
	return out;
}

int
hg_base64_write(const char *text, FILE *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (; *text != '\0' && *text != '='; text++) {
		const char *c = strchr(b64, *text);

		if (c == NULL)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			fputc((int)(acc >> bits & 0xff), out);
		}
	}
	return 0;
}

int
hg_base64_decode_exact(const char *text, unsigned char *out, size_t len)
{
	size_t want = (len + 2) / 3 * 4, n = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (strlen(text) != want)
		return -EINVAL;
	for (size_t i = 0; i < want; i++) {
		const char *c;

		if (text[i] == '=') {
			/* Padding only where the length says, at the end. */
			if (i < (len * 4 + 2) / 3)
				return -EINVAL;
			continue;
		}
		if (i >= (len * 4 + 2) / 3 || (c = strchr(b64, text[i])) ==
		    NULL || text[i] == '\0')
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* The bits left over must be zero: one text per key. */
	if (n != len || (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	return 0;
}
