/*
 * tests/fuzz/fuzz_ike_prop.c: libFuzzer target for src/ike/proposal.c.
 * The first byte chooses the mode and the protocol (IKE or ESP):
 *
 *   0, 1  the rest is proposal text for ike_prop_parse(); what parses is
 *         printed and must parse again into the same proposal;
 *   2, 3  the rest is an IKE message from a peer; when it parses and has
 *         an SA payload, ike_prop_select() chooses from it with the
 *         defaults, and what it chose, written as an answer, must parse
 *         and be accepted by ike_prop_accept() as the same choice.
 *
 * The input is copied to an exact-size heap buffer (text: with its NUL)
 * so ASan sees any read past it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/proposal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

static struct ike_msg m, ans;
static uint8_t out[4096];

static void
text_mode(const uint8_t *data, size_t size, uint8_t protocol)
{
	struct ike_prop p, q;
	char *text = malloc(size + 1), buf[1024], err[160];
	int n;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (ike_prop_parse(text, protocol, &p, err, sizeof(err)) != 0) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		free(text);
		return;
	}
	n = ike_prop_format(&p, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf) && strlen(buf) == (size_t)n);
	CHECK(ike_prop_parse(buf, protocol, &q, err, sizeof(err)) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	free(text);
}

static void
select_mode(const uint8_t *data, size_t size, uint8_t protocol)
{
	static const struct ike_hdr h = { .ispi = 1, .rspi = 2,
	    .exchange = IKE_SA_INIT, .flags = IKE_F_RESPONSE };
	const struct ike_payload *sa;
	struct ike_w_transform tf[5];
	struct ike_w_proposal wp;
	struct ike_chosen c, a;
	struct ike_props ours;
	struct ike_writer w;
	struct ike_err err;
	char refused[512];
	uint8_t *buf = malloc(size ? size : 1);
	long len;
	int rc;

	if (buf == NULL)
		return;
	memcpy(buf, data, size);
	if (ike_msg_parse(buf, size, &m, &err) != 0 ||
	    (sa = ike_msg_find(&m, IKE_PL_SA, 0)) == NULL) {
		free(buf);
		return;
	}
	ike_props_default(protocol, &ours);
	rc = ike_prop_select(&ours, &m, sa, &c, refused, sizeof(refused));
	CHECK(memchr(refused, '\0', sizeof(refused)) != NULL);
	if (rc != 0) {
		CHECK(rc == -ENOENT);
		free(buf);
		return;
	}
	CHECK(c.protocol == protocol);
	ike_chosen_to_w(&c, c.spi, c.spi_size, &wp, tf);
	ike_w_init(&w, out, sizeof(out), &h);
	CHECK(ike_w_sa(&w, &wp, 1) == 0);
	len = ike_w_finish(&w);
	CHECK(len > 0);
	CHECK(ike_msg_parse(out, (size_t)len, &ans, &err) == 0);
	CHECK(ike_prop_accept(&ours, &ans, &ans.payloads[0], &a) == 0);
	CHECK(a.num == c.num && a.encr == c.encr &&
	    a.encr_bits == c.encr_bits && a.prf == c.prf &&
	    a.integ == c.integ && a.dh == c.dh && a.esn == c.esn);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode, protocol;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	protocol = mode & 1 ? IKE_PROTO_ESP : IKE_PROTO_IKE;
	if (mode < 2)
		text_mode(data + 1, size - 1, protocol);
	else
		select_mode(data + 1, size - 1, protocol);
	return 0;
}
