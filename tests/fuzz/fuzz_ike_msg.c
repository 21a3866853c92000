/*
 * tests/fuzz/fuzz_ike_msg.c: libFuzzer target for ike_msg_parse()
 * (src/ike/msg.c), the parser of every IKE message a peer sends, before
 * any authentication.  The input is copied to an exact-size heap buffer so
 * ASan sees any read past it.  A message that parses has its payload chain
 * written again through the generic writer, and that must parse into the
 * same payloads: what the parser accepts, the writer can say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

static struct ike_msg m1, m2;
static uint8_t out[65536];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_writer w;
	struct ike_err err;
	uint8_t *b = malloc(size ? size : 1);
	unsigned i;
	long n;

	if (b == NULL)
		return 0;
	memcpy(b, data, size);
	if (ike_msg_parse(b, size, &m1, &err) != 0) {
		CHECK(err.code != IKE_E_OK && err.code < IKE_E_COUNT);
		CHECK(err.off <= size);
		free(b);
		return 0;
	}
	CHECK(m1.n_payloads <= IKE_MAX_PAYLOADS);

	/* Unknown payloads were skipped, so the rewrite may be shorter. */
	ike_w_init(&w, out, sizeof(out), &m1.hdr);
	for (i = 0; i < m1.n_payloads; i++) {
		const struct ike_payload *pl = &m1.payloads[i];

		if (pl->type == IKE_PL_SK)
			CHECK(ike_w_sk(&w, pl->next, pl->body,
			    pl->body_len) == 0);
		else if (pl->type == IKE_PL_SKF)
			break;	/* the generic writer has no SKF; stop here */
		else
			CHECK(ike_w_payload(&w, pl->type, pl->critical,
			    pl->body, pl->body_len) == 0);
	}
	n = ike_w_finish(&w);
	CHECK(n > 0 && (size_t)n <= size);
	CHECK(ike_msg_parse(out, n, &m2, &err) == 0);
	CHECK(m2.hdr.msg_id == m1.hdr.msg_id);
	CHECK(m2.n_payloads <= m1.n_payloads);
	CHECK(m2.n_proposals <= m1.n_proposals);
	for (i = 0; i < m2.n_payloads; i++) {
		CHECK(m2.payloads[i].type == m1.payloads[i].type);
		CHECK(m2.payloads[i].body_len == m1.payloads[i].body_len);
		CHECK(memcmp(m2.payloads[i].body, m1.payloads[i].body,
		    m1.payloads[i].body_len) == 0);
	}
	free(b);
	return 0;
}
