/*
 * src/lib/text.h: small text codecs the management side shares: hex
 * digits (MAC addresses, key files, 0x secrets), the machine name of an
 * HTTP status (the "code" of an error reply, on the
 * API and the control socket alike) and base64 (RFC 4648), for binary
 * answers carried in JSON.
 */
#ifndef HG_LIB_TEXT_H
#define HG_LIB_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* The value of a hex digit (either case), or -1. */
int hg_hex_digit(int c);

/* "bad_request" for 400, ...; "error" or "server_error" for others. */
const char *hg_http_code(int status);

/* base64 of len bytes, NUL-terminated (malloc'd); NULL when out of
 * memory. */
char *hg_base64_encode(const void *data, size_t len);
/* Decodes base64 text (padding optional) to out; 0, or -EINVAL at a
 * character that is not base64. */
int hg_base64_write(const char *text, FILE *out);
/* Decodes exactly len bytes from their padded base64 (WireGuard's keys:
 * 44 characters for 32 bytes), the unused bits zero: 0, or -EINVAL. */
int hg_base64_decode_exact(const char *text, unsigned char *out, size_t len);

#endif /* HG_LIB_TEXT_H */
