/*
 * tests/fuzz/fuzz_ct.c: libFuzzer target for connection tracking (src/ct).
 * The input is a conversation: records of [clock step][length, 2 bytes big
 * endian][Ethernet frame].  Each frame is copied to a heap buffer of exactly
 * its length (so ASan sees any read past it), parsed with pkt_parse(), and
 * the ones that parse are classified and, unless the clock byte's low bit
 * says "drop", confirmed, as a rule set accepting them would.  The table is
 * small, so refusals when full and expiry are reached too.  After each
 * packet the result and the counters must agree; a violation aborts.
 *
 * NAT rides along: more bits of the clock byte give a new flow a DNAT
 * and / or SNAT translation (small ranges, so they run out, and an ok()
 * that refuses some ports), and every packet, whatever its state, goes
 * through ct_nat_rewrite() for both manips, as the pipeline would: the
 * quoted packet of an ICMP error is untrusted bytes rewritten in place.
 * A rewritten packet must still parse the same way, and rewriting it
 * again must change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/ct.h"
#include "lib/bytes.h"
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

/* Refuses one port in four, as a fanout check would refuse some. */
static bool
nat_ok(const struct ct_tuple *reply, void *arg)
{
	(void)arg;
	return ((reply->sport_be ^ reply->dport_be) & 3) != 3;
}

static void
nat_range(struct ct_nat_range *rg, uint8_t l3, bool snat, uint8_t bits)
{
	memset(rg, 0, sizeof(*rg));
	if (l3 == PKT_L3_IP4) {
		static const uint8_t s_lo[4] = { 203, 0, 113, 1 };
		static const uint8_t s_hi[4] = { 203, 0, 113, 2 };
		static const uint8_t d[4] = { 10, 0, 0, 9 };

		/* one address unless PERSISTENT, so a seed can quote it */
		memcpy(rg->addr_lo, snat ? s_lo : d, 4);
		memcpy(rg->addr_hi, snat && (bits & 4) ? s_hi : rg->addr_lo,
		    4);
		rg->plen = 24;
	} else {
		rg->addr_lo[0] = rg->addr_hi[0] = 0x20;
		rg->addr_lo[1] = rg->addr_hi[1] = 0x01;
		rg->addr_lo[15] = 1;
		rg->addr_hi[15] = snat && (bits & 4) ? 2 : 1;
		rg->plen = 64;
	}
	if (bits & 1) {
		rg->flags |= CT_NAT_F_PORTS;
		rg->port_lo = snat ? 1000 : 80;
		rg->port_hi = snat ? 1003 : 81;
	}
	if (bits & 2)
		rg->flags |= CT_NAT_F_RANDOM;
	if (bits & 4)
		rg->flags |= CT_NAT_F_PERSISTENT;
	if ((bits & 8) && !(bits & 1))
		rg->flags |= CT_NAT_F_NETMAP;
}

/* Sets up the translations the clock byte asks for; false when one
 * found nothing free and the packet is dropped. */
static bool
nat_setup(struct ct_table *t, struct ct_result *r, const struct pkt *p,
    uint8_t step, uint64_t now_ns)
{
	static const uint8_t manips[2] = { CT_MANIP_DST, CT_MANIP_SRC };
	struct ct_nat_range rg;
	struct ct_stats before, after;

	if (r->state != CT_STATE_NEW || r->entry != CT_ENTRY_NONE)
		return true;
	for (int i = 0; i < 2; i++) {
		int error;

		if (!(step & (2 << i)))
			continue;
		nat_range(&rg, p->l3, manips[i] == CT_MANIP_SRC, step >> 4);
		ct_table_stats(t, &before);
		error = ct_nat_setup(t, r, manips[i], &rg,
		    (step & 8) ? nat_ok : NULL, NULL, now_ns);
		ct_table_stats(t, &after);
		if (error == 0) {
			CHECK(r->pending.nat & manips[i]);
			CHECK(r->pending.nat_reply.l3 == r->pending.tuple.l3);
			CHECK(r->pending.nat_reply.proto ==
			    r->pending.tuple.proto);
			continue;
		}
		CHECK(error == -EADDRNOTAVAIL);
		CHECK(after.nat_no_tuple == before.nat_no_tuple + 1);
		return false;
	}
	return true;
}

/* Rewrites p for manip; it must still parse alike, and a second
 * rewrite must find nothing left to do. */
static void
nat_rewrite(const struct ct_table *t, const struct ct_result *r,
    struct pkt *p, uint8_t manip)
{
	struct pkt again;

	if (!ct_nat_rewrite(t, r, p, manip))
		return;
	CHECK(!ct_nat_rewrite(t, r, p, manip));
	again = *p;
	CHECK(pkt_parse(&again, NULL) == PKT_DROP_NONE);
	CHECK(again.l3_off == p->l3_off && again.l4_off == p->l4_off &&
	    again.l4_proto == p->l4_proto && again.l3_len == p->l3_len);
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
    uint8_t step, uint64_t now_ns)
{
	bool confirm = (step & 1) == 0;
	uint64_t full_before, clash_before;
	struct ct_result r;
	struct ct_stats st;
	struct pkt p;
	int error;

	memset(&p, 0, sizeof(p));
	p.data = malloc(len ? len : 1);
	CHECK(p.data != NULL);
	memcpy(p.data, frame, len);
	p.len = len;
	if (pkt_parse(&p, NULL) != PKT_DROP_NONE)
		goto out;
	ct_classify(t, &p, now_ns, &r);
	check_result(t, &r);
	if (!nat_setup(t, &r, &p, step, now_ns))
		goto out;
	nat_rewrite(t, &r, &p, CT_MANIP_DST);
	if (!confirm || r.state == CT_STATE_INVALID) {
		nat_rewrite(t, &r, &p, CT_MANIP_SRC);
		goto out;
	}
	ct_table_stats(t, &st);
	full_before = st.table_full;
	clash_before = st.nat_clash;
	error = ct_confirm(t, &r, now_ns);
	if (error == 0) {
		if (r.state == CT_STATE_NEW)
			CHECK(r.entry != CT_ENTRY_NONE);
		nat_rewrite(t, &r, &p, CT_MANIP_SRC);
	} else if (error == -ENOSPC) {
		ct_table_stats(t, &st);
		CHECK(st.table_full == full_before + 1);
		CHECK(st.in_use == st.max_entries);
	} else if (error == -EDQUOT) {
		ct_table_stats(t, &st);		/* the source holds its share */
		CHECK(st.table_full == full_before);
	} else {
		CHECK(error == -EADDRINUSE);
		ct_table_stats(t, &st);
		CHECK(st.nat_clash == clash_before + 1);
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
		uint16_t len = hg_rd16be(data + off + 1);

		off += 3;
		if (len > size - off || len > PKT_DATA_ROOM)
			break;
		now += clock_step_ns(step);
		one_frame(t, data + off, len, step, now);
		(void)ct_expire(t, now, 2);	/* count checked below */
		off += len;
	}
	CHECK(ct_walk(t, now, count_flow, &n_walk) == 0);
	ct_table_stats(t, &st);
	CHECK(n_walk <= st.in_use);
	CHECK(st.in_use + st.expired + st.reopened + st.evicted == st.created);
	ct_table_destroy(t);
	return 0;
}
