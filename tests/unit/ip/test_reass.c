/*
 * tests/unit/ip/test_reass.c: src/ip/reass.c, the outer fragments' table.
 * Datagrams are cut into fragments here and must come back byte for
 * byte, in any order; overlaps, duplicates, time, and the table's bounds
 * drop what they should, and every buffer goes back to the pool.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ip/reass.h"

#define POOL_BUFS	128
#define SEC		(1000ULL * 1000 * 1000)

static struct pkt_pool *pool;
static uint64_t drops[PKT_DROP_COUNT];

static void
count_drop(void *arg, struct pkt *p, enum pkt_drop why)
{
	(void)arg;
	drops[why]++;
	pkt_free(pool, p);
}

static int
setup(void **state)
{
	memset(drops, 0, sizeof(drops));
	return pkt_pool_create(&pool, POOL_BUFS);
}

static int
teardown(void **state)
{
	/* every buffer back: nothing leaks, nothing freed twice */
	assert_int_equal(pool->n_free, POOL_BUFS);
	pkt_pool_destroy(pool);
	return 0;
}

static struct ip_reass *
table(uint16_t dgrams, uint16_t frags)
{
	struct ip_reass_params prm = { .max_dgrams = dgrams,
	    .max_frags = frags };
	struct ip_reass *r;

	assert_int_equal(ip_reass_create(&r, &prm, pool, count_drop, NULL),
	    0);
	return r;
}

/* A whole datagram: IP header then len bytes of ESP-looking payload. */
struct dgram {
	bool v6;
	uint8_t b[4096];
	uint16_t hlen, len;	/* header, payload */
	uint32_t id;
};

static void
dgram_make(struct dgram *d, bool v6, uint16_t len, uint32_t id)
{
	memset(d, 0, sizeof(*d));
	d->v6 = v6;
	d->len = len;
	d->id = id;
	if (v6) {
		struct ip6_hdr *ip = (void *)d->b;

		d->hlen = IP6_HDR_LEN;
		ip->vtc_flow_be = htonl(0x60000000);
		ip->plen_be = htons(len);
		ip->nxt = IPPROTO_ESP_;
		ip->hlim = 64;
		ip->src[0] = 0x20, ip->src[1] = 0x01, ip->src[15] = 1;
		ip->dst[0] = 0x20, ip->dst[1] = 0x01, ip->dst[15] = 2;
	} else {
		struct ip4_hdr *ip = (void *)d->b;

		d->hlen = 20;
		ip->ver_ihl = 0x45;
		ip->tot_len_be = htons((uint16_t)(20 + len));
		ip->id_be = htons((uint16_t)id);
		ip->ttl = 64;
		ip->proto = IPPROTO_ESP_;
		ip->src_be = htonl(0xc6336401);
		ip->dst_be = htonl(0xcb007101);
		pkt_ip4_set_csum(ip);
	}
	for (uint16_t i = 0; i < len; i++)
		d->b[d->hlen + i] = (uint8_t)(i * 7 + (i >> 8) + id);
}

/* The fragment of d holding payload [off, off + len), parsed. */
static struct pkt *
frag(const struct dgram *d, uint16_t off, uint16_t len, bool more)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *f;
	uint16_t hl;

	assert_non_null(p);
	f = p->data;
	memset(f, 0, 14);
	f[0] = 2, f[5] = 1, f[6] = 2, f[11] = 2;
	f[12] = d->v6 ? 0x86 : 0x08;
	f[13] = d->v6 ? 0xdd : 0x00;
	if (d->v6) {
		struct ip6_hdr *ip = (void *)(f + 14);
		struct ip6_frag *fh = (void *)(f + 14 + IP6_HDR_LEN);

		memcpy(ip, d->b, IP6_HDR_LEN);
		ip->nxt = IPPROTO_FRAGMENT_;
		ip->plen_be = htons((uint16_t)(8 + len));
		fh->nxt = d->b[6];
		fh->reserved = 0;
		fh->off_be = htons((uint16_t)(off | (more ? 1 : 0)));
		fh->id_be = htonl(d->id);
		hl = IP6_HDR_LEN + 8;
	} else {
		struct ip4_hdr *ip = (void *)(f + 14);

		memcpy(ip, d->b, 20);
		ip->tot_len_be = htons((uint16_t)(20 + len));
		ip->frag_be = htons((uint16_t)(off / 8 | (more ? IP4_MF : 0)));
		pkt_ip4_set_csum(ip);
		hl = 20;
	}
	memcpy(f + 14 + hl, d->b + d->hlen + off, len);
	p->len = (uint16_t)(14 + hl + len);
	p->in_if = 3;
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	assert_true(p->flags & PKT_F_FRAG);
	return p;
}

/* p is d whole, parsed as such. */
static void
assert_whole(const struct pkt *p, const struct dgram *d)
{
	assert_non_null(p);
	assert_false(p->flags & PKT_F_FRAG);
	assert_int_equal(p->len, 14 + d->hlen + d->len);
	assert_int_equal(p->l3_len, d->hlen + d->len);
	assert_int_equal(p->l4_proto, IPPROTO_ESP_);
	assert_int_equal(p->in_if, 3);
	assert_memory_equal(p->data + 14, d->b, d->hlen + d->len);
}

struct piece {
	uint16_t off, len;
	bool more;
};

/* Gives the pieces in order; all but the last must be held. */
static struct pkt *
feed(struct ip_reass *r, const struct dgram *d, const struct piece *pc,
    size_t n, uint64_t now)
{
	struct pkt *out = NULL;

	for (size_t i = 0; i < n; i++) {
		out = ip_reass_add(r, frag(d, pc[i].off, pc[i].len,
		    pc[i].more), now);
		if (i + 1 < n)
			assert_null(out);
	}
	return out;
}

/* A 1400-byte ESP payload cut at 1232 (a 1280 MTU), each order. */
static void
test_orders(void **state)
{
	static const struct piece cuts[][3] = {
		{ { 0, 1232, true }, { 1232, 168, false } },
		{ { 1232, 168, false }, { 0, 1232, true } },
		{ { 0, 600, true }, { 600, 600, true }, { 1200, 200, false } },
		{ { 1200, 200, false }, { 0, 600, true }, { 600, 600, true } },
		{ { 600, 600, true }, { 1200, 200, false }, { 0, 600, true } },
	};
	static const size_t ncut[] = { 2, 2, 3, 3, 3 };

	for (int v6 = 0; v6 < 2; v6++)
		for (size_t c = 0; c < HG_ARRAY_SIZE(cuts); c++) {
			struct ip_reass *r = table(0, 0);
			struct dgram d;
			struct pkt *p;

			dgram_make(&d, v6, 1400, 77 + (uint32_t)c);
			p = feed(r, &d, cuts[c], ncut[c], 5 * SEC);
			assert_whole(p, &d);
			if (!v6)	/* the header checksum is right again */
				assert_int_equal(pkt_csum(p->data + 14, 20), 0);
			assert_int_equal(ip_reass_pending(r), 0);
			assert_int_equal(ip_reass_stats(r)->reassembled, 1);
			pkt_free(pool, p);
			ip_reass_destroy(r);
		}
}

/* Two datagrams interleaved, same addresses, other ids. */
static void
test_interleaved(void **state)
{
	struct ip_reass *r = table(0, 0);
	struct dgram a, b;
	struct pkt *p;

	dgram_make(&a, false, 1000, 1);
	dgram_make(&b, false, 1000, 2);
	assert_null(ip_reass_add(r, frag(&a, 0, 512, true), 0));
	assert_null(ip_reass_add(r, frag(&b, 512, 488, false), 0));
	assert_int_equal(ip_reass_pending(r), 2);
	p = ip_reass_add(r, frag(&b, 0, 512, true), 0);
	assert_whole(p, &b);
	pkt_free(pool, p);
	p = ip_reass_add(r, frag(&a, 512, 488, false), 0);
	assert_whole(p, &a);
	pkt_free(pool, p);
	ip_reass_destroy(r);
}

/* RFC 8200 §4.5: an exact duplicate goes alone. */
static void
test_duplicate(void **state)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct ip_reass *r = table(0, 0);
		struct dgram d;
		struct pkt *p;

		dgram_make(&d, v6, 1400, 9);
		assert_null(ip_reass_add(r, frag(&d, 0, 1232, true), 0));
		assert_null(ip_reass_add(r, frag(&d, 0, 1232, true), 0));
		assert_int_equal(drops[PKT_DROP_REASS_DUP], v6 + 1);
		p = ip_reass_add(r, frag(&d, 1232, 168, false), 0);
		assert_whole(p, &d);
		pkt_free(pool, p);
		ip_reass_destroy(r);
	}
}

/* RFC 5722: an overlap drops the whole datagram, for IPv4 too. */
static void
test_overlap(void **state)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct ip_reass *r = table(0, 0);
		struct dgram d;

		memset(drops, 0, sizeof(drops));
		dgram_make(&d, v6, 1400, 10);
		assert_null(ip_reass_add(r, frag(&d, 0, 800, true), 0));
		assert_null(ip_reass_add(r, frag(&d, 1200, 200, false), 0));
		/* rewrites bytes 792..799 */
		assert_null(ip_reass_add(r, frag(&d, 792, 408, true), 0));
		assert_int_equal(drops[PKT_DROP_REASS_OVERLAP], 3);
		assert_int_equal(ip_reass_stats(r)->overlaps, 1);
		assert_int_equal(ip_reass_pending(r), 0);
		/* what remains of it never completes: it times out */
		assert_null(ip_reass_add(r, frag(&d, 800, 400, true), 0));
		ip_reass_expire(r, 2 * SEC);
		assert_int_equal(drops[PKT_DROP_REASS_TIMEOUT], 1);
		ip_reass_destroy(r);
	}
}

/* Held no longer than the timeout from the first fragment. */
static void
test_timeout(void **state)
{
	struct ip_reass *r = table(0, 0);
	struct dgram d;

	dgram_make(&d, true, 1400, 11);
	assert_null(ip_reass_add(r, frag(&d, 0, 1232, true), 100));
	assert_int_equal(pool->n_free, POOL_BUFS - 1);
	ip_reass_expire(r, 100 + IP_REASS_TIMEOUT_NS - 1);
	assert_int_equal(ip_reass_pending(r), 1);
	ip_reass_expire(r, 100 + IP_REASS_TIMEOUT_NS);
	assert_int_equal(ip_reass_pending(r), 0);
	assert_int_equal(drops[PKT_DROP_REASS_TIMEOUT], 1);
	assert_int_equal(ip_reass_stats(r)->timeouts, 1);
	/* its last piece, late, starts over and is held */
	assert_null(ip_reass_add(r, frag(&d, 1232, 168, false),
	    100 + IP_REASS_TIMEOUT_NS));
	assert_int_equal(ip_reass_pending(r), 1);
	ip_reass_destroy(r);
}

/* Full: a new datagram is refused, until one times out. */
static void
test_full(void **state)
{
	struct ip_reass *r = table(2, 0);
	struct dgram d[3];
	struct pkt *p;

	for (int i = 0; i < 3; i++)
		dgram_make(&d[i], false, 1400, 20 + (uint32_t)i);
	assert_null(ip_reass_add(r, frag(&d[0], 0, 1232, true), 0));
	assert_null(ip_reass_add(r, frag(&d[1], 0, 1232, true), SEC));
	assert_null(ip_reass_add(r, frag(&d[2], 0, 1232, true), SEC));
	assert_int_equal(drops[PKT_DROP_REASS_FULL], 1);
	assert_int_equal(ip_reass_stats(r)->table_full, 1);
	/* the datagrams in progress still complete */
	p = ip_reass_add(r, frag(&d[1], 1232, 168, false), SEC);
	assert_whole(p, &d[1]);
	pkt_free(pool, p);
	/* d[0]'s time is up by 2 s: its slot is taken again */
	assert_null(ip_reass_add(r, frag(&d[2], 0, 1232, true), SEC));
	assert_null(ip_reass_add(r, frag(&d[1], 0, 1232, true), 2 * SEC));
	assert_int_equal(drops[PKT_DROP_REASS_TIMEOUT], 1);
	assert_int_equal(ip_reass_pending(r), 2);
	ip_reass_destroy(r);
}

/* Malformed and oversized datagrams. */
static void
test_bad(void **state)
{
	struct ip_reass *r = table(0, 4);
	struct dgram d;

	dgram_make(&d, false, 1400, 30);
	/* a middle piece that is not whole 8-byte units */
	assert_null(ip_reass_add(r, frag(&d, 0, 601, true), 0));
	assert_int_equal(drops[PKT_DROP_REASS_BAD], 1);
	/* more pieces than a datagram may have: the datagram goes */
	for (uint16_t off = 0; off < 4 * 64; off += 64)
		assert_null(ip_reass_add(r, frag(&d, off, 64, true), 0));
	assert_null(ip_reass_add(r, frag(&d, 256, 64, true), 0));
	assert_int_equal(drops[PKT_DROP_REASS_BAD], 1 + 5);
	assert_int_equal(ip_reass_pending(r), 0);
	/* two different ends */
	assert_null(ip_reass_add(r, frag(&d, 1200, 200, false), 0));
	assert_null(ip_reass_add(r, frag(&d, 1000, 192, false), 0));
	assert_int_equal(drops[PKT_DROP_REASS_BAD], 1 + 5 + 2);
	/* a piece beyond the end */
	assert_null(ip_reass_add(r, frag(&d, 1200, 200, false), 0));
	assert_null(ip_reass_add(r, frag(&d, 1400, 200, true), 0));
	assert_int_equal(drops[PKT_DROP_REASS_BAD], 1 + 5 + 2 + 2);
	/* larger than a packet buffer once whole */
	dgram_make(&d, true, 1400, 31);
	assert_null(ip_reass_add(r, frag(&d, 0, 1232, true), 0));
	assert_null(ip_reass_add(r, frag(&d, 2000, 100, false), 0));
	assert_null(ip_reass_add(r, frag(&d, 1232, 768, true), 0));
	assert_int_equal(drops[PKT_DROP_REASS_BAD], 1 + 5 + 2 + 2 + 3);
	assert_int_equal(ip_reass_pending(r), 0);
	ip_reass_destroy(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_orders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
