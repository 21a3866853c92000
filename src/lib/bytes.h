/*
 * src/lib/bytes.h: reading numbers out of byte buffers (packets, files,
 * fuzz inputs) at any alignment.  No state, no I/O; everything is static
 * inline and compiles to a load and a byte swap.
 *
 * Two kinds, kept apart by name: hg_rd*be() turn big-endian (network
 * order) bytes into a host-order number; hg_ld*() copy the bytes into a
 * number as they are, for fields kept in network order (named _be).
 * struct hg_rd is the bounded form for parsers of untrusted bytes: a
 * read past the end gives 0 and marks the reader bad, so the parser
 * checks once, at the end, instead of before every field.
 */
#ifndef HG_BYTES_H
#define HG_BYTES_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The bytes as they are: the caller keeps them in network order. */
static inline uint16_t
hg_ld16(const void *b)
{
	uint16_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static inline uint32_t
hg_ld32(const void *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* Big-endian bytes to a host-order number. */
static inline uint16_t
hg_rd16be(const void *b)
{
	return be16toh(hg_ld16(b));
}

static inline uint32_t
hg_rd32be(const void *b)
{
	return be32toh(hg_ld32(b));
}

static inline uint64_t
hg_rd64be(const void *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return be64toh(v);
}

/* Little-endian bytes (WireGuard's fields) to a host-order number, and
 * back. */
static inline uint32_t
hg_rd32le(const void *b)
{
	return le32toh(hg_ld32(b));
}

static inline uint64_t
hg_rd64le(const void *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return le64toh(v);
}

static inline void
hg_wr32le(void *b, uint32_t v)
{
	v = htole32(v);
	memcpy(b, &v, sizeof(v));
}

static inline void
hg_wr64le(void *b, uint64_t v)
{
	v = htole64(v);
	memcpy(b, &v, sizeof(v));
}

/* Do n bytes from off fit in len?  Written so off + n cannot wrap. */
static inline bool
hg_span_ok(size_t len, size_t off, size_t n)
{
	return off <= len && len - off >= n;
}

/* A bounded reader over len bytes at p; bad sticks once set. */
struct hg_rd {
	const uint8_t *p;
	size_t len;
	bool bad;
};

static inline bool
hg_rd_has(struct hg_rd *r, size_t off, size_t n)
{
	if (!hg_span_ok(r->len, off, n))
		r->bad = true;
	return !r->bad;
}

static inline uint8_t
hg_rd_u8(struct hg_rd *r, size_t off)
{
	return hg_rd_has(r, off, 1) ? r->p[off] : 0;
}

static inline uint16_t
hg_rd_be16(struct hg_rd *r, size_t off)
{
	return hg_rd_has(r, off, 2) ? hg_rd16be(r->p + off) : 0;
}

static inline uint32_t
hg_rd_be32(struct hg_rd *r, size_t off)
{
	return hg_rd_has(r, off, 4) ? hg_rd32be(r->p + off) : 0;
}

#endif /* HG_BYTES_H */
