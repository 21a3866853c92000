/*
 * tests/fuzz/fuzz_ct.c: libFuzzer target for connection tracking (src/ct).
 * The input is a conversation: records of [clock step][length, 2 bytes big
 * endian][Ethernet frame].  Each frame is copied to a heap buffer of exactly
 * its length (so ASan sees any read past it), parsed with pkt_parse(), and
 * the ones that parse are classified and, unless the clock byte's low bit
 * says "drop", confirmed, as a rule set accepting them would.  The table is
 * small, so refusals when full and expiry are reached too.  After each
 * packet the result and the counters must agree; a violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/ct.h"
#include "lib/hg_time.h"
#include "pkt/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TABLE_ENTRIES	8

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

static int
count_flow(const struct ct_flow_info *fi, void *arg)
{
	uint32_t *n = arg;

	CHECK(fi->orig.proto == fi->reply.proto);
	CHECK(fi->orig.l3 == fi->reply.l3);
	(*n)++;
	return 0;
}

/* The clock byte: squares give steps from 10 ms to over 10 minutes; 0xff
 * jumps five days, past even an established TCP flow's timeout. */
static uint64_t
clock_step_ns(uint8_t b)
{
	if (b == 0xff)
		return 5 * 86400 * HG_NS_PER_S;
	return (uint64_t)b * b * 10 * HG_NS_PER_MS;
}

static void
check_result(const struct ct_table *t, const struct ct_result *r)
{
	struct ct_stats st;

	ct_table_stats(t, &st);
	CHECK(st.in_use <= st.max_entries);
	CHECK(r->state < CT_STATE_COUNT);
	switch (r->state) {
	case CT_STATE_INVALID:
		CHECK(r->reason != CT_INVALID_NONE);
		CHECK(r->reason < CT_INVALID_COUNT);
		break;
	case CT_STATE_ESTABLISHED:
	case CT_STATE_RELATED:
		CHECK(r->entry < st.max_entries);
		CHECK(r->reason == CT_INVALID_NONE);
		break;
	default:
		CHECK(r->reason == CT_INVALID_NONE);
		break;
	}
	if (r->entry != CT_ENTRY_NONE)
		CHECK(r->entry < st.max_entries);
}

static void
one_frame(struct ct_table *t, const uint8_t *frame, uint16_t len,
    bool confirm, uint64_t now_ns)
{
	struct ct_result r;
	uint64_t full_before;
	struct ct_stats st;
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.data = malloc(len ? len : 1);
	CHECK(p.data != NULL);
	memcpy(p.data, frame, len);
	p.len = len;
	if (pkt_parse(&p, NULL) != PKT_DROP_NONE)
		goto out;
	ct_classify(t, &p, now_ns, &r);
	check_result(t, &r);
	if (!confirm || r.state == CT_STATE_INVALID)
		goto out;
	ct_table_stats(t, &st);
	full_before = st.table_full;
	if (ct_confirm(t, &r, now_ns) == 0) {
		if (r.state == CT_STATE_NEW)
			CHECK(r.entry != CT_ENTRY_NONE);
	} else {
		ct_table_stats(t, &st);
		CHECK(st.table_full == full_before + 1);
		CHECK(st.in_use == st.max_entries);
	}
out:
	free(p.data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_table *t;
	struct ct_stats st;
	uint64_t now = HG_NS_PER_S;
	uint32_t n_walk = 0;
	size_t off = 0;

	if (ct_table_create(&t, FUZZ_TABLE_ENTRIES, NULL) != 0)
		abort();
	while (size - off >= 3) {
		uint8_t step = data[off];
		uint16_t len = (uint16_t)(data[off + 1] << 8 | data[off + 2]);

		off += 3;
		if (len > size - off || len > PKT_DATA_ROOM)
			break;
		now += clock_step_ns(step);
		one_frame(t, data + off, len, (step & 1) == 0, now);
		(void)ct_expire(t, now, 2);	/* count checked below */
		off += len;
	}
	CHECK(ct_walk(t, now, count_flow, &n_walk) == 0);
	ct_table_stats(t, &st);
	CHECK(n_walk <= st.in_use);
	CHECK(st.in_use + st.expired + st.reopened == st.created);
	ct_table_destroy(t);
	return 0;
}
