/*
 * tests/fuzz/fuzz_api_follow.c: libFuzzer target for the API server's
 * framing follower (api_follow_feed() in src/mgmt/api.c), which reads each
 * connection's decrypted bytes ahead of evhttp to answer a body over the
 * limit with the JSON 413.
 *
 * Input: 2 bytes of body limit (little-endian, plus 1), 1 of head limit
 * (16 times it, plus 16; 255: the server's), 4 that cut the rest into 5
 * pieces (each a fraction of it, out of 256), then the stream.  The
 * stream is fed three ways: whole, in those pieces, and a byte at a
 * time, each piece from a heap copy of its own size (ASan sees a read
 * past it).  After every feed the follower's state must agree with the
 * bytes fed so far, a 413 must name a body over the limit, and the three
 * must end alike: TLS records cut the stream anywhere.  Seeds are in
 * corpus/api_follow/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mgmt/api_priv.h"

#define PREFIX	7
#define CUTS	4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct api_follow *f, uint64_t at)
{
	fprintf(stderr, "fuzz_api_follow: %s (state %d at %llu, head_start "
	    "%llu, head_len %llu, body_left %llu, body_size %llu, length "
	    "%lld, line_len %zu, limits %zu, %zu)\n", what, (int)f->state,
	    (unsigned long long)at, (unsigned long long)f->head_start,
	    (unsigned long long)f->head_len, (unsigned long long)f->body_left,
	    (unsigned long long)f->body_size, f->length, f->line_len,
	    f->max_body_bytes, f->max_head_bytes);
	abort();
}

static bool
following(enum api_follow_state s)
{
	return s == API_FOLLOW_HEAD || s == API_FOLLOW_BODY ||
	    s == API_FOLLOW_CHUNK_SIZE || s == API_FOLLOW_CHUNK_DATA ||
	    s == API_FOLLOW_TRAILER;
}

/* The first "Content-Length:" line of the head s[from, to), as a number. */
static bool
head_length(const char *s, uint64_t from, uint64_t to, long long *n)
{
	static const char key[] = "Content-Length:";
	char v[API_FOLLOW_LINE_KEEP + 1];
	uint64_t i = from, j;
	size_t k;

	for (; i < to; i = j + 1) {
		const char *nl = memchr(s + i, '\n', to - i);

		j = nl != NULL ? (uint64_t)(nl - s) : to;
		if (i == from || j - i < sizeof(key) - 1 ||
		    strncasecmp(s + i, key, sizeof(key) - 1) != 0)
			continue;
		k = HG_MIN(j - i, sizeof(v) - 1);
		memcpy(v, s + i, k);
		v[k] = '\0';
		*n = strtoll(v + sizeof(key) - 1, NULL, 10);
		return true;
	}
	return false;
}

/* s[.., at) ends with a line evhttp reads as empty (a C string), after
 * another line of the request that starts at from. */
static bool
head_end(const char *s, uint64_t from, uint64_t at)
{
	const char *nl;
	uint64_t start, end = at - 1;	/* s[end] is the "\n" */

	if (end <= from)
		return false;
	nl = memrchr(s + from, '\n', end - from);
	if (nl == NULL)
		return false;		/* the request line itself */
	start = (uint64_t)(nl - s) + 1;
	if (end > start && s[end - 1] == '\r')
		end--;
	return start == end || s[start] == '\0';
}

/* A refusal at at (just past the line that decided it) is for a body over
 * the limit, and names it. */
static void
check_refusal(const struct api_follow *f, const char *s, uint64_t at)
{
	char tail[64];
	unsigned long long over;
	long long n;
	size_t ml = strnlen(f->msg, sizeof(f->msg));

	snprintf(tail, sizeof(tail), "; the limit is %zu bytes",
	    f->max_body_bytes);
	if (ml == sizeof(f->msg) || strncmp(f->msg, "request body too "
	    "large: ", 24) != 0 || ml < strlen(tail) ||
	    strcmp(f->msg + ml - strlen(tail), tail) != 0)
		fail("refusal message malformed", f, at);
	if (f->head_start >= at || s[at - 1] != '\n')
		fail("refused away from a line end of the request", f, at);
	if (sscanf(f->msg + 24, "Content-Length %lld;", &n) == 1) {
		long long h;

		/* Decided at the head's end, from its Content-Length. */
		if (f->chunked || f->no_body || n != f->length || n < 0 ||
		    (unsigned long long)n <= f->max_body_bytes)
			fail("Content-Length refusal not over the limit", f,
			    at);
		if (!head_end(s, f->head_start, at))
			fail("Content-Length refusal before the head's end",
			    f, at);
		if (!head_length(s, f->head_start, at, &h) || h != n)
			fail("refused length is not the head's", f, at);
	} else if (sscanf(f->msg + 24, "chunks of over %llu bytes;",
	    &over) == 1) {
		if (!f->chunked || over <= f->max_body_bytes ||
		    over <= f->body_size)
			fail("chunk refusal not over the limit", f, at);
	} else
		fail("refusal names no size", f, at);
}

/* f after the bytes s[0, at) were fed. */
static void
check_state(const struct api_follow *f, const char *s, uint64_t at)
{
	uint64_t line_start;

	if (f->state == API_FOLLOW_OFF || f->state == API_FOLLOW_REFUSE)
		return;
	if (!following(f->state))
		fail("unknown state", f, at);
	if (f->head_start > at || f->body_size > f->max_body_bytes ||
	    f->head_len > f->max_head_bytes)
		fail("offsets or sizes out of range", f, at);
	switch (f->state) {
	case API_FOLLOW_HEAD:
		if (f->head_len != at - f->head_start || f->body_left != 0 ||
		    f->body_size != 0)
			fail("head bytes miscounted", f, at);
		break;
	case API_FOLLOW_BODY:
		if (f->chunked || f->no_body || f->body_left == 0 ||
		    f->length <= 0 || f->body_left > (uint64_t)f->length ||
		    (uint64_t)f->length > f->max_body_bytes ||
		    f->head_start + f->head_len + ((uint64_t)f->length -
		    f->body_left) != at)
			fail("Content-Length body miscounted", f, at);
		break;
	case API_FOLLOW_CHUNK_DATA:
		if (!f->chunked || f->body_left == 0 ||
		    f->body_left > f->body_size)
			fail("chunk data miscounted", f, at);
		break;
	default:
		if (!f->chunked || f->body_left != 0)
			fail("chunk line outside a chunked body", f, at);
		break;
	}
	if (f->state == API_FOLLOW_BODY || f->state == API_FOLLOW_CHUNK_DATA) {
		if (f->line_len != 0)
			fail("a line open in a body", f, at);
		return;
	}
	/* The open line: the last line_len bytes, kept from its start. */
	if (f->line_len > at - f->head_start)
		fail("line longer than the request", f, at);
	line_start = at - f->line_len;
	if (memchr(s + line_start, '\n', f->line_len) != NULL ||
	    memcmp(f->line, s + line_start, HG_MIN(f->line_len,
	    (size_t)API_FOLLOW_LINE_KEEP)) != 0 ||
	    (f->line_len > 0 && f->last != s[at - 1]))
		fail("open line is not the stream's", f, at);
}

/* Alike but where an API_FOLLOW_OFF stopped, which may differ. */
static bool
alike(const struct api_follow *a, const struct api_follow *b)
{
	if (a->state != b->state)
		return false;
	if (a->state == API_FOLLOW_OFF)
		return true;
	return a->head_start == b->head_start && a->head_len == b->head_len &&
	    a->body_left == b->body_left && a->body_size == b->body_size &&
	    a->length == b->length && a->first_line == b->first_line &&
	    a->no_body == b->no_body && a->chunked == b->chunked &&
	    a->te_seen == b->te_seen && a->framing_key == b->framing_key &&
	    a->line_len == b->line_len && a->last == b->last &&
	    memcmp(a->line, b->line, HG_MIN(a->line_len,
	    (size_t)API_FOLLOW_LINE_KEEP)) == 0 &&
	    (a->state != API_FOLLOW_REFUSE || strcmp(a->msg, b->msg) == 0);
}

static void
same(const struct api_follow *a, const struct api_follow *b, uint64_t da,
    uint64_t db, const char *how)
{
	char what[64];

	snprintf(what, sizeof(what), "%s differs from the whole feed", how);
	if (!alike(a, b) || (a->state == API_FOLLOW_REFUSE && da != db))
		fail(what, b, db);
}

/* Feeds s[at, at + len) from p, a heap buffer of exactly len bytes. */
static void
feed(struct api_follow *f, char *p, const char *s, uint64_t *at, size_t len,
    uint64_t *decided)
{
	struct api_follow before = *f;
	enum api_follow_state st;
	size_t used = len + 1;

	memcpy(p, s + *at, len);
	st = api_follow_feed(f, p, len, *at, &used);
	if (st != f->state || used > len)
		fail("feed result inconsistent", f, *at);
	if (!following(before.state)) {
		if (used != 0 || !alike(&before, f) ||
		    before.head_len != f->head_len ||
		    before.line_len != f->line_len)
			fail("a final state moved", f, *at);
		*at += len;
		return;
	}
	if (following(st) && used != len)
		fail("bytes left unread while following", f, *at);
	if (st == API_FOLLOW_REFUSE) {
		*decided = *at + used;
		check_refusal(f, s, *decided);
	}
	*at += len;
	check_state(f, s, *at);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_follow whole, cut, bytes;
	size_t limit, head, len, cuts[CUTS + 2];
	const char *s;
	char *p;
	uint64_t at, dw = 0, dc = 0, db = 0;

	if (size < PREFIX)
		return 0;
	limit = 1 + ((size_t)data[0] | (size_t)data[1] << 8);
	head = data[2] == 255 ? 32u << 10 : 16 + 16 * (size_t)data[2];
	s = (const char *)data + PREFIX;
	len = size - PREFIX;

	api_follow_init(&whole, limit, head);
	at = 0;
	if ((p = malloc(len != 0 ? len : 1)) == NULL)
		abort();
	feed(&whole, p, s, &at, len, &dw);
	free(p);

	api_follow_init(&cut, limit, head);
	cuts[0] = 0;
	cuts[CUTS + 1] = len;
	for (size_t i = 0; i < CUTS; i++)
		cuts[i + 1] = len * data[3 + i] / 256;
	for (size_t i = 1; i <= CUTS; i++)	/* in order */
		for (size_t j = i; j > 1 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	at = 0;
	for (size_t i = 0; i <= CUTS; i++) {
		size_t n = cuts[i + 1] - cuts[i];

		if ((p = malloc(n != 0 ? n : 1)) == NULL)
			abort();
		feed(&cut, p, s, &at, n, &dc);
		free(p);
	}
	same(&whole, &cut, dw, dc, "cut in pieces");

	api_follow_init(&bytes, limit, head);
	at = 0;
	if ((p = malloc(1)) == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		feed(&bytes, p, s, &at, 1, &db);
	free(p);
	same(&whole, &bytes, dw, db, "a byte at a time");
	return 0;
}
