/*
 * src/mgmt/store_delta.h: how the store (store.c) packs a text into a
 * blob, private to src/mgmt's store and its tests.  Two kinds of blob:
 *
 *   whole:  the text itself, deflated;
 *   delta:  a line edit script that turns a base text into the text,
 *           deflated: copies of runs of the base's lines and inserted
 *           bytes, so a version that changed one rule of 10,000 costs
 *           that rule and a few bytes.
 *
 * Either starts with a one-byte format (stored or deflated) and the
 * length of what it unpacks to.  A delta also carries its base's length,
 * so a delta read against the wrong base is an error, not a wrong text.
 * Decoding checks every length and index: a blob is read from a file
 * that may be damaged, and a damaged blob gives -EIO, never a wrong text
 * or a read out of bounds (tests/fuzz/fuzz_store_delta.c).
 *
 * Texts are C strings (no NUL inside); outputs are malloc'd and
 * NUL-terminated.  Pure functions: no SQLite, no state.
 */
#ifndef HG_STORE_DELTA_H
#define HG_STORE_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"

/* The longest text a blob may unpack to; a bigger claimed length is a
 * damaged blob (a 10,000-rule set is about 1 MiB). */
#define SD_TEXT_MAX	(256u << 20)

/* text (len bytes) as a whole blob into *blob, *blob_len; -EFBIG over
 * SD_TEXT_MAX. */
int sd_whole_pack(const char *text, size_t len, uint8_t **blob,
    size_t *blob_len) HG_MUST_CHECK;
/* A whole blob back to its text (*text malloc'd, *len without the NUL);
 * -EIO if damaged. */
int sd_whole_unpack(const uint8_t *blob, size_t blob_len, char **text,
    size_t *len) HG_MUST_CHECK;

/* The delta from base to text as a blob; -EFBIG over SD_TEXT_MAX. */
int sd_delta_pack(const char *base, size_t base_len, const char *text,
    size_t len, uint8_t **blob, size_t *blob_len) HG_MUST_CHECK;
/* base plus a delta blob back to the text; -EIO if damaged or if base is
 * not the text it was made against. */
int sd_delta_unpack(const char *base, size_t base_len, const uint8_t *blob,
    size_t blob_len, char **text, size_t *len) HG_MUST_CHECK;

#endif /* HG_STORE_DELTA_H */
