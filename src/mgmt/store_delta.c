/*
 * src/mgmt/store_delta.c: the store's blobs (store_delta.h): a text
 * whole or as a line delta against a base, deflated with zlib.  The
 * store's tables and the choice of base are store.c's; the unified diff
 * people read is store_diff.c, which this does not share: that one wants
 * the shortest readable diff, this one a compact one found in linear time.
 *
 * Blob:   u8 format (0 stored, 1 zlib)  varint raw_len  payload
 * Delta raw bytes:
 *         varint base_len  varint out_len  op*
 *   op:   varint (n << 1 | 0)  zigzag(start - next)  copy n base lines
 *         varint (n << 1 | 1)  n bytes                insert n bytes
 * where next is the base line after the previous copy: a copy that goes
 * on where the last one stopped encodes its start as one zero byte.
 * A line is its bytes and its '\n'; the last may have none.
 *
 * The delta is found greedily: base lines go into a hash table, and each
 * target line either extends the current copy or starts a copy at the
 * base position (of a few with the same line) whose run matches longest,
 * or else joins the pending insert.  Not the shortest script, but every
 * line a change left alone is a copy, which is what makes a rule set
 * with a few changed rules cost those rules.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "store_delta.h"

#define SD_FMT_STORED	0
#define SD_FMT_ZLIB	1
/* How many base lines with the target line's hash bucket are tried, and
 * how far a candidate's run is measured to pick among them: bounds the
 * work on texts with many equal lines ("COMMIT", blank lines). */
#define SD_CANDIDATES_MAX	32
#define SD_RUN_PROBE_MAX	64

struct sd_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;		/* out of memory: later appends do nothing */
};

struct sd_lines {
	size_t n;
	size_t *off;		/* n + 1: line i is [off[i], off[i+1]) */
	uint64_t *hash;		/* NULL unless hashed */
};

/* ---------------------------------------------------------------- bytes */

static void
sd_put(struct sd_buf *b, const void *p, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (b->failed || n == 0)
		return;
	if (b->cap - b->len < n) {
		cap = b->cap != 0 ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
sd_put_varint(struct sd_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	sd_put(b, tmp, n);
}

/* Reads a varint at *pos; false if it runs past len or over 64 bits. */
static bool
sd_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	unsigned shift = 0;
	uint64_t x = 0;

	while (*pos < len && shift < 64) {
		uint8_t c = p[(*pos)++];

		x |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*v = x;
			return true;
		}
		shift += 7;
	}
	return false;
}

static uint64_t
sd_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
sd_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ----------------------------------------------------------------- blob */

/* raw as a blob: deflated when that is smaller, else stored. */
static int
sd_blob_pack(const uint8_t *raw, size_t raw_len, uint8_t **blob,
    size_t *blob_len)
{
	struct sd_buf b = { 0 };
	uLongf zlen;
	uint8_t *z;

	*blob = NULL;
	zlen = compressBound((uLong)raw_len);
	if ((z = malloc(zlen)) == NULL)
		return -ENOMEM;
	if (compress2(z, &zlen, raw, (uLong)raw_len, Z_DEFAULT_COMPRESSION) ==
	    Z_OK && zlen < raw_len) {
		sd_put(&b, &(uint8_t){ SD_FMT_ZLIB }, 1);
		sd_put_varint(&b, raw_len);
		sd_put(&b, z, zlen);
	} else {
		sd_put(&b, &(uint8_t){ SD_FMT_STORED }, 1);
		sd_put_varint(&b, raw_len);
		sd_put(&b, raw, raw_len);
	}
	free(z);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*blob = b.p;
	*blob_len = b.len;
	return 0;
}

/* A blob back to its raw bytes (*raw malloc'd, one spare byte for a NUL). */
static int
sd_blob_unpack(const uint8_t *blob, size_t blob_len, uint8_t **raw,
    size_t *raw_len)
{
	size_t pos = 1;
	uint64_t n;
	uLongf out_len;
	uLong in_len;
	uint8_t *p;

	*raw = NULL;
	if (blob_len < 1 || !sd_get_varint(blob, blob_len, &pos, &n) ||
	    n > SD_TEXT_MAX)
		return -EIO;
	if ((p = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	switch (blob[0]) {
	case SD_FMT_STORED:
		if (blob_len - pos != n)
			goto bad;
		if (n != 0)
			memcpy(p, blob + pos, (size_t)n);
		break;
	case SD_FMT_ZLIB:
		/* Exactly n bytes out of exactly the rest of the blob. */
		out_len = (uLongf)n;
		in_len = (uLong)(blob_len - pos);
		if (uncompress2(p, &out_len, blob + pos, &in_len) != Z_OK ||
		    out_len != n || in_len != blob_len - pos)
			goto bad;
		break;
	default:
		goto bad;
	}
	*raw = p;
	*raw_len = (size_t)n;
	return 0;
bad:
	free(p);
	return -EIO;
}

int
sd_whole_pack(const char *text, size_t len, uint8_t **blob, size_t *blob_len)
{
	*blob = NULL;
	if (len > SD_TEXT_MAX)
		return -EFBIG;	/* unpacking would refuse it */
	return sd_blob_pack((const uint8_t *)text, len, blob, blob_len);
}

int
sd_whole_unpack(const uint8_t *blob, size_t blob_len, char **text,
    size_t *len)
{
	uint8_t *raw;
	size_t n;
	int rc;

	*text = NULL;
	if ((rc = sd_blob_unpack(blob, blob_len, &raw, &n)) != 0)
		return rc;
	if (memchr(raw, '\0', n) != NULL) {
		free(raw);
		return -EIO;
	}
	raw[n] = '\0';
	*text = (char *)raw;
	*len = n;
	return 0;
}

/* ---------------------------------------------------------------- lines */

static uint64_t
sd_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
sd_lines_free(struct sd_lines *l)
{
	free(l->off);
	free(l->hash);
	memset(l, 0, sizeof(*l));
}

static int
sd_lines_split(const char *text, size_t len, bool hash, struct sd_lines *l)
{
	const char *p, *nl, *end = text + len;
	size_t n = 0, i;

	memset(l, 0, sizeof(*l));
	for (p = text; p < end; p = nl != NULL ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n++;
	}
	if ((l->off = malloc((n + 1) * sizeof(*l->off))) == NULL)
		return -ENOMEM;
	if (hash && (l->hash = malloc((n + 1) * sizeof(*l->hash))) == NULL) {
		sd_lines_free(l);
		return -ENOMEM;
	}
	for (i = 0, p = text; p < end; p = nl != NULL ? nl + 1 : end, i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l->off[i] = (size_t)(p - text);
	}
	l->off[n] = len;
	l->n = n;
	for (i = 0; hash && i < n; i++)
		l->hash[i] = sd_hash(text + l->off[i],
		    l->off[i + 1] - l->off[i]);
	return 0;
}

static bool
sd_line_eq(const char *a, const struct sd_lines *la, size_t i,
    const char *b, const struct sd_lines *lb, size_t j)
{
	size_t n = la->off[i + 1] - la->off[i];

	return la->hash[i] == lb->hash[j] &&
	    n == lb->off[j + 1] - lb->off[j] &&
	    memcmp(a + la->off[i], b + lb->off[j], n) == 0;
}

/* --------------------------------------------------------------- encode */

struct sd_enc {
	const char *base, *text;
	struct sd_lines lb, lt;
	uint32_t *head, *next;	/* bucket -> base line + 1; 0: end */
	size_t mask;
	struct sd_buf out;
	size_t copy_start, copy_n;	/* the copy being grown */
	size_t ins_from, ins_to;	/* the insert being grown (bytes) */
	size_t expect;		/* base line after the last copy */
};

static int
sd_enc_index(struct sd_enc *e)
{
	size_t size = 16, i;

	while (size < 2 * e->lb.n)
		size *= 2;
	e->mask = size - 1;
	e->head = calloc(size, sizeof(*e->head));
	e->next = calloc(e->lb.n + 1, sizeof(*e->next));
	if (e->head == NULL || e->next == NULL)
		return -ENOMEM;
	/* Backwards, so that each chain runs in base order. */
	for (i = e->lb.n; i-- > 0;) {
		size_t bucket = e->lb.hash[i] & e->mask;

		e->next[i] = e->head[bucket];
		e->head[bucket] = (uint32_t)(i + 1);
	}
	return 0;
}

/* The base line whose run of equal lines from target line t is longest. */
static bool
sd_enc_find(const struct sd_enc *e, size_t t, size_t *best)
{
	size_t tries = 0, best_run = 0, run;
	uint32_t c;

	for (c = e->head[e->lt.hash[t] & e->mask];
	    c != 0 && tries < SD_CANDIDATES_MAX; c = e->next[c - 1], tries++) {
		size_t b = c - 1;

		if (!sd_line_eq(e->base, &e->lb, b, e->text, &e->lt, t))
			continue;
		for (run = 1; run < SD_RUN_PROBE_MAX && b + run < e->lb.n &&
		    t + run < e->lt.n && sd_line_eq(e->base, &e->lb, b + run,
		    e->text, &e->lt, t + run); run++)
			;
		if (run > best_run) {
			best_run = run;
			*best = b;
		}
	}
	return best_run > 0;
}

static void
sd_enc_flush_copy(struct sd_enc *e)
{
	if (e->copy_n == 0)
		return;
	sd_put_varint(&e->out, (uint64_t)e->copy_n << 1);
	sd_put_varint(&e->out, sd_zigzag((int64_t)e->copy_start -
	    (int64_t)e->expect));
	e->expect = e->copy_start + e->copy_n;
	e->copy_n = 0;
}

static void
sd_enc_flush_insert(struct sd_enc *e)
{
	size_t n = e->ins_to - e->ins_from;

	if (n == 0)
		return;
	sd_put_varint(&e->out, (uint64_t)n << 1 | 1);
	sd_put(&e->out, e->text + e->ins_from, n);
	e->ins_from = e->ins_to;
}

static void
sd_enc_run(struct sd_enc *e)
{
	size_t t, best;

	for (t = 0; t < e->lt.n; t++) {
		size_t next_b = e->copy_start + e->copy_n;

		if (e->copy_n > 0 && next_b < e->lb.n &&
		    sd_line_eq(e->base, &e->lb, next_b, e->text, &e->lt, t)) {
			e->copy_n++;
			continue;
		}
		sd_enc_flush_copy(e);
		if (sd_enc_find(e, t, &best)) {
			sd_enc_flush_insert(e);
			e->copy_start = best;
			e->copy_n = 1;
			continue;
		}
		if (e->ins_from == e->ins_to)
			e->ins_from = e->lt.off[t];
		e->ins_to = e->lt.off[t + 1];
	}
	sd_enc_flush_copy(e);
	sd_enc_flush_insert(e);
}

int
sd_delta_pack(const char *base, size_t base_len, const char *text,
    size_t len, uint8_t **blob, size_t *blob_len)
{
	struct sd_enc e = { .base = base, .text = text };
	int rc;

	*blob = NULL;
	if (len > SD_TEXT_MAX || base_len > SD_TEXT_MAX)
		return -EFBIG;
	if ((rc = sd_lines_split(base, base_len, true, &e.lb)) != 0 ||
	    (rc = sd_lines_split(text, len, true, &e.lt)) != 0 ||
	    (rc = sd_enc_index(&e)) != 0)
		goto out;
	sd_put_varint(&e.out, base_len);
	sd_put_varint(&e.out, len);
	sd_enc_run(&e);
	if (e.out.failed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = sd_blob_pack(e.out.p, e.out.len, blob, blob_len);
out:
	sd_lines_free(&e.lb);
	sd_lines_free(&e.lt);
	free(e.head);
	free(e.next);
	free(e.out.p);
	return rc;
}

/* --------------------------------------------------------------- decode */

/* Runs the ops of raw[pos..] against base into out (out_len bytes). */
static int
sd_dec_run(const char *base, const struct sd_lines *lb, const uint8_t *raw,
    size_t raw_len, size_t pos, char *out, size_t out_len)
{
	size_t have = 0, expect = 0;
	uint64_t head, n, zz;

	while (pos < raw_len) {
		if (!sd_get_varint(raw, raw_len, &pos, &head))
			return -EIO;
		n = head >> 1;
		if (n == 0)
			return -EIO;
		if ((head & 1) != 0) {
			if (n > raw_len - pos || n > out_len - have ||
			    memchr(raw + pos, '\0', (size_t)n) != NULL)
				return -EIO;
			memcpy(out + have, raw + pos, (size_t)n);
			pos += (size_t)n;
			have += (size_t)n;
		} else {
			int64_t start;
			size_t bytes;

			if (!sd_get_varint(raw, raw_len, &pos, &zz))
				return -EIO;
			start = (int64_t)expect + sd_unzigzag(zz);
			if (start < 0 || (uint64_t)start > lb->n ||
			    n > lb->n - (uint64_t)start)
				return -EIO;
			bytes = lb->off[start + (int64_t)n] - lb->off[start];
			if (bytes > out_len - have)
				return -EIO;
			memcpy(out + have, base + lb->off[start], bytes);
			have += bytes;
			expect = (size_t)start + (size_t)n;
		}
	}
	return have == out_len ? 0 : -EIO;
}

int
sd_delta_unpack(const char *base, size_t base_len, const uint8_t *blob,
    size_t blob_len, char **text, size_t *len)
{
	struct sd_lines lb = { 0 };
	uint64_t want_base, out_len;
	size_t raw_len, pos = 0;
	uint8_t *raw;
	char *out = NULL;
	int rc;

	*text = NULL;
	if ((rc = sd_blob_unpack(blob, blob_len, &raw, &raw_len)) != 0)
		return rc;
	rc = -EIO;
	if (!sd_get_varint(raw, raw_len, &pos, &want_base) ||
	    !sd_get_varint(raw, raw_len, &pos, &out_len) ||
	    want_base != base_len || out_len > SD_TEXT_MAX)
		goto out;
	if ((rc = sd_lines_split(base, base_len, false, &lb)) != 0)
		goto out;
	rc = -ENOMEM;
	if ((out = malloc((size_t)out_len + 1)) == NULL)
		goto out;
	if ((rc = sd_dec_run(base, &lb, raw, raw_len, pos, out,
	    (size_t)out_len)) != 0)
		goto out;
	out[out_len] = '\0';
	*text = out;
	*len = (size_t)out_len;
	out = NULL;
out:
	free(out);
	free(raw);
	sd_lines_free(&lb);
	return rc;
}
