/*
 * tests/unit/ip/test_fib.c: proves src/ip/fib4.c and fib6.c.  Both FIBs
 * are compared with a deliberately simple reference (a list of prefixes
 * scanned linearly for the longest match) over random nested prefix sets
 * with interleaved deletes and re-adds; a table of hand cases pins the
 * behaviour a user relies on; churn tests prove freed groups come back
 * after a reclaim; a reader thread checks that lookups racing with
 * adds and deletes only ever see the old or the new answer.
 *
 * FIB_TEST_SEED=<n> in the environment replays one random run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ip/fib.h"

/* ---- deterministic randomness ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rng_below(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

static uint64_t
test_seed(void)
{
	const char *s = getenv("FIB_TEST_SEED");

	return s != NULL ? strtoull(s, NULL, 0) : 0x5eed0f1b;
}

/* ---- bit strings of 32 or 128 bits, most significant first ---- */

static bool
bit_get(const uint8_t *a, int i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

static void
bit_set(uint8_t *a, int i, bool v)
{
	if (v)
		a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	else
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* Clears the bits of a from len on; width is 32 or 128. */
static void
bits_mask(uint8_t *a, int len, int width)
{
	int i;

	for (i = len; i < width; i++)
		bit_set(a, i, false);
}

static uint64_t
be64_of(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
mask64(int len)
{
	return len <= 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
}

/* ---- the reference: a list, scanned ---- */

struct ref_rule {
	uint8_t		 p[16];
	uint64_t	 hi, lo;	/* p as numbers, for the scan */
	uint8_t		 len;
	uint32_t	 nh;
	bool		 live;
};

struct ref {
	struct ref_rule	*r;
	uint32_t	 n;
	uint32_t	 cap;
	int		 width;	/* 32 or 128 */
};

static struct ref_rule *
ref_find(struct ref *ref, const uint8_t *p, uint8_t len)
{
	uint32_t i;

	for (i = 0; i < ref->n; i++)
		if (ref->r[i].len == len && memcmp(ref->r[i].p, p, 16) == 0)
			return &ref->r[i];
	return NULL;
}

static void
ref_add(struct ref *ref, const uint8_t *p, uint8_t len, uint32_t nh)
{
	struct ref_rule *r = ref_find(ref, p, len);

	if (r == NULL) {
		if (ref->n == ref->cap) {
			ref->cap = ref->cap ? ref->cap * 2 : 256;
			ref->r = realloc(ref->r, ref->cap * sizeof(*ref->r));
			assert_non_null(ref->r);
		}
		r = &ref->r[ref->n++];
		memcpy(r->p, p, 16);
		r->hi = be64_of(p);
		r->lo = be64_of(p + 8);
		r->len = len;
	}
	r->nh = nh;
	r->live = true;
}

static uint32_t
ref_lookup(const struct ref *ref, const uint8_t *addr)
{
	uint64_t hi = be64_of(addr), lo = be64_of(addr + 8);
	const struct ref_rule *r;
	uint32_t i, nh = IP_FIB_MISS;
	int best = -1;

	for (i = 0; i < ref->n; i++) {
		r = &ref->r[i];
		if (r->live && r->len > best &&
		    (hi & mask64(r->len)) == r->hi &&
		    (lo & mask64(r->len - 64)) == r->lo) {
			best = r->len;
			nh = r->nh;
		}
	}
	return nh;
}

static uint32_t
ref_count(const struct ref *ref)
{
	uint32_t i, n = 0;

	for (i = 0; i < ref->n; i++)
		n += ref->r[i].live;
	return n;
}

/* ---- one interface over both FIBs, for the shared tests ---- */

struct fib {
	struct ip_fib4	*f4;
	struct ip_fib6	*f6;
};

static uint32_t
be32_of(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static int
fib_add(struct fib *f, const uint8_t *p, uint8_t len, uint32_t nh)
{
	return f->f4 ? ip_fib4_add(f->f4, be32_of(p), len, nh) :
	    ip_fib6_add(f->f6, p, len, nh);
}

static int
fib_del(struct fib *f, const uint8_t *p, uint8_t len)
{
	return f->f4 ? ip_fib4_del(f->f4, be32_of(p), len) :
	    ip_fib6_del(f->f6, p, len);
}

static uint32_t
fib_lookup(const struct fib *f, const uint8_t *a)
{
	return f->f4 ? ip_fib4_lookup(f->f4, be32_of(a)) : ip_fib6_lookup(f->f6, a);
}

static uint32_t
fib_count(const struct fib *f)
{
	return f->f4 ? ip_fib4_count(f->f4) : ip_fib6_count(f->f6);
}

static void
fib_reclaim(struct fib *f)
{
	if (f->f4)
		ip_fib4_reclaim(f->f4);
	else
		ip_fib6_reclaim(f->f6);
}

static void
fib_destroy(struct fib *f)
{
	ip_fib4_destroy(f->f4);
	ip_fib6_destroy(f->f6);
}

static void
addr_str(const uint8_t *a, int width, char *buf, size_t size)
{
	inet_ntop(width == 32 ? AF_INET : AF_INET6, a, buf, (socklen_t)size);
}

/* ---- random prefix sets ---- */

static uint8_t
random_len(int width)
{
	uint32_t r = rng_below(100);

	if (width == 32) {
		if (r < 2)
			return (uint8_t)(1 + rng_below(7));	/* /1-/7: rare, costly */
		if (r < 25)
			return (uint8_t)(8 + rng_below(9));
		if (r < 65)
			return (uint8_t)(17 + rng_below(8));
		return (uint8_t)(25 + rng_below(8));
	}
	if (r < 3)
		return (uint8_t)(1 + rng_below(15));
	if (r < 70)
		return (uint8_t)(16 + rng_below(49));
	return (uint8_t)(65 + rng_below(64));
}

/*
 * Half the prefixes extend an existing one by a few bits, so nesting,
 * shared tbl8 groups and shared trie paths are the rule, not luck.
 */
static void
random_prefix(const struct ref *ref, uint8_t *p, uint8_t *len)
{
	const struct ref_rule *parent;
	int i, w = ref->width;

	if (ref->n > 0 && rng_below(2) == 0) {
		parent = &ref->r[rng_below(ref->n)];
		memcpy(p, parent->p, 16);
		i = parent->len + 1 + (int)rng_below(w == 32 ? 8 : 20);
		*len = (uint8_t)HG_MIN(w, i);	/* HG_MIN evaluates twice */
		for (i = parent->len; i < *len; i++)
			bit_set(p, i, rng() & 1);
		return;
	}
	memset(p, 0, 16);
	for (i = 0; i < w / 8; i++)
		p[i] = (uint8_t)rng();
	*len = rng_below(20) == 0 ? (uint8_t)w : random_len(w);
	bits_mask(p, *len, w);
}

/* Random addresses, and addresses inside and at the edges of prefixes. */
static void
random_addr(const struct ref *ref, uint8_t *a)
{
	const struct ref_rule *r;
	uint32_t kind = rng_below(4);
	int i, w = ref->width;

	memset(a, 0, 16);
	for (i = 0; i < w / 8; i++)
		a[i] = (uint8_t)rng();
	if (kind == 0 || ref->n == 0)
		return;
	r = &ref->r[rng_below(ref->n)];
	for (i = 0; i < r->len; i++)
		bit_set(a, i, bit_get(r->p, i));
	for (i = r->len; kind != 1 && i < w; i++)
		bit_set(a, i, kind == 3);	/* first or last address */
}

/* The bulk lookups must agree with the reference on every address. */
static void
check_bulk(const struct fib *f, uint8_t (*a)[16], const uint32_t *want,
    int n, const char *when)
{
	const uint8_t *ptr[256];
	uint32_t addrs_be[256], got[256];
	char buf[64];
	int i;

	for (i = 0; i < n; i++) {
		ptr[i] = a[i];
		addrs_be[i] = be32_of(a[i]);
	}
	if (f->f4)
		ip_fib4_lookup_bulk(f->f4, addrs_be, got, (uint32_t)n);
	else
		ip_fib6_lookup_bulk(f->f6, ptr, got, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			addr_str(a[i], f->f4 ? 32 : 128, buf, sizeof(buf));
			fail_msg("%s: bulk lookup %s gave %u, reference %u",
			    when, buf, got[i], want[i]);
		}
	}
}

static void
check_against_ref(const struct fib *f, const struct ref *ref, int naddrs,
    const char *when)
{
	uint8_t a[16];
	uint32_t got, want;
	char buf[64];
	int i;

	if (fib_count(f) != ref_count(ref))
		fail_msg("%s: count %u, reference %u", when, fib_count(f),
		    ref_count(ref));
	static uint8_t batch[256][16];
	static uint32_t batch_want[256];
	int nb = 0;

	for (i = 0; i < naddrs; i++) {
		random_addr(ref, a);
		got = fib_lookup(f, a);
		want = ref_lookup(ref, a);
		if (got != want) {
			addr_str(a, ref->width, buf, sizeof(buf));
			fail_msg("%s: lookup %s gave %u, reference %u",
			    when, buf, got, want);
		}
		memcpy(batch[nb], a, 16);
		batch_want[nb++] = want;
		if (nb == 256 || i == naddrs - 1) {
			check_bulk(f, batch, batch_want, nb, when);
			nb = 0;
		}
	}
}

static uint32_t
random_nh(void)
{
	return rng_below(IP_FIB_NH_MAX);
}

static void
random_run(struct fib *f, int width, int nprefix, int rounds)
{
	struct ref ref = { .width = width };
	struct ref_rule *r;
	uint8_t p[16] = { 0 }, len;
	char when[64];
	int i, k;

	rng_state = test_seed() ^ (uint64_t)width;
	ref_add(&ref, p, 0, random_nh());		/* default route */
	assert_int_equal(fib_add(f, p, 0, ref.r[0].nh), 0);
	for (i = 1; i < nprefix; i++) {
		random_prefix(&ref, p, &len);
		ref_add(&ref, p, len, random_nh());
		assert_int_equal(fib_add(f, p, len, ref_find(&ref, p, len)->nh), 0);
	}
	check_against_ref(f, &ref, 20000, "after adds");

	for (k = 0; k < rounds; k++) {
		for (i = 0; i < 40; i++) {
			r = &ref.r[rng_below(ref.n)];
			if (r->live && rng_below(3) != 0) {
				assert_int_equal(fib_del(f, r->p, r->len), 0);
				r->live = false;
				assert_int_equal(fib_del(f, r->p, r->len), -ENOENT);
			} else {
				r->nh = random_nh();
				r->live = true;
				assert_int_equal(fib_add(f, r->p, r->len, r->nh), 0);
			}
		}
		if (k % 8 == 0)
			fib_reclaim(f);
		snprintf(when, sizeof(when), "round %d (seed %#llx)", k,
		    (unsigned long long)test_seed());
		check_against_ref(f, &ref, 1000, when);
	}

	/* Delete everything: every address must miss. */
	for (i = 0; i < (int)ref.n; i++)
		if (ref.r[i].live) {
			assert_int_equal(fib_del(f, ref.r[i].p, ref.r[i].len), 0);
			ref.r[i].live = false;
		}
	check_against_ref(f, &ref, 2000, "after deleting all");
	free(ref.r);
}

static void
test_fib4_random(void **state)
{
	struct fib f = { 0 };

	assert_int_equal(ip_fib4_create(&f.f4, 4096), 0);
	random_run(&f, 32, 2000, 60);
	fib_destroy(&f);
}

static void
test_fib6_random(void **state)
{
	struct fib f = { 0 };

	assert_int_equal(ip_fib6_create(&f.f6), 0);
	random_run(&f, 128, 2000, 60);
	fib_destroy(&f);
}

/* ---- hand cases ---- */

enum fib_op_kind { OP_END, OP_ADD, OP_DEL, OP_RECLAIM };

struct fib_op {
	enum fib_op_kind	 kind;
	const char		*pfx;	/* "addr/len" */
	uint32_t		 nh;
	int			 rc;
};

struct fib_check {
	const char		*addr;
	uint32_t		 nh;
};

struct fib_case {
	const char		*what;
	uint32_t		 max_tbl8;	/* 0: default */
	struct fib_op		 ops[10];
	struct fib_check	 checks[8];
	uint32_t		 count;
};

#define ADD(p, n)	{ OP_ADD, p, n, 0 }
#define ADD_RC(p, n, r)	{ OP_ADD, p, n, r }
#define DEL(p)		{ OP_DEL, p, 0, 0 }
#define DEL_RC(p, r)	{ OP_DEL, p, 0, r }
#define RECLAIM		{ OP_RECLAIM, NULL, 0, 0 }
#define MISS		IP_FIB_MISS

static const struct fib_case cases[] = {
	{ .what = "most specific prefix wins",
	  .ops = { ADD("10.0.0.0/8", 1), ADD("10.1.0.0/16", 2),
	      ADD("10.1.2.0/24", 3), ADD("10.1.2.128/25", 4) },
	  .checks = { { "10.2.0.1", 1 }, { "10.1.3.1", 2 }, { "10.1.2.1", 3 },
	      { "10.1.2.200", 4 }, { "10.1.2.127", 3 }, { "11.0.0.1", MISS } },
	  .count = 4 },
	{ .what = "insertion order does not matter",
	  .ops = { ADD("10.1.2.128/25", 4), ADD("10.1.2.0/24", 3),
	      ADD("10.1.0.0/16", 2), ADD("10.0.0.0/8", 1) },
	  .checks = { { "10.2.0.1", 1 }, { "10.1.3.1", 2 }, { "10.1.2.1", 3 },
	      { "10.1.2.200", 4 } },
	  .count = 4 },
	{ .what = "delete restores the covering route",
	  .ops = { ADD("10.0.0.0/8", 1), ADD("10.1.0.0/16", 2),
	      ADD("10.1.2.64/26", 3), DEL("10.1.0.0/16") },
	  .checks = { { "10.1.3.1", 1 }, { "10.1.2.70", 3 }, { "10.1.2.1", 1 } },
	  .count = 2 },
	{ .what = "delete inside a tbl8 group restores the /25 over it",
	  .ops = { ADD("10.1.0.0/16", 1), ADD("10.1.2.0/25", 5),
	      ADD("10.1.2.0/27", 6), DEL("10.1.2.0/27") },
	  .checks = { { "10.1.2.1", 5 }, { "10.1.2.100", 5 }, { "10.1.2.200", 1 } },
	  .count = 2 },
	{ .what = "deleting the last long prefix folds the group back",
	  .max_tbl8 = 1,
	  .ops = { ADD("10.1.0.0/16", 1), ADD("10.1.2.0/25", 5),
	      DEL("10.1.2.0/25"), RECLAIM, ADD("10.9.9.0/30", 7) },
	  .checks = { { "10.1.2.1", 1 }, { "10.9.9.1", 7 }, { "10.9.9.5", MISS } },
	  .count = 2 },
	{ .what = "add of an existing prefix replaces its next hop",
	  .ops = { ADD("10.1.0.0/16", 1), ADD("10.1.2.0/25", 3),
	      ADD("10.1.0.0/16", 7) },
	  .checks = { { "10.1.0.1", 7 }, { "10.1.2.1", 3 }, { "10.1.2.200", 7 } },
	  .count = 2 },
	{ .what = "default route /0 and its delete",
	  .ops = { ADD("0.0.0.0/0", 9), ADD("1.0.0.0/8", 2), ADD("1.2.3.4/32", 3) },
	  .checks = { { "5.5.5.5", 9 }, { "255.255.255.255", 9 }, { "0.0.0.0", 9 },
	      { "1.9.9.9", 2 }, { "1.2.3.4", 3 }, { "1.2.3.5", 2 } },
	  .count = 3 },
	{ .what = "deleting /0 leaves misses, not stale answers",
	  .ops = { ADD("0.0.0.0/0", 9), ADD("1.0.0.0/8", 2),
	      ADD("1.2.3.4/32", 3), DEL("0.0.0.0/0") },
	  .checks = { { "5.5.5.5", MISS }, { "1.2.3.5", 2 }, { "1.2.3.4", 3 },
	      { "1.2.3.3", 2 } },
	  .count = 2 },
	{ .what = "/32 host route beside its /24 and after its delete",
	  .ops = { ADD("192.0.2.1/32", 4), ADD("192.0.2.0/24", 3),
	      ADD("192.0.2.255/32", 5), DEL("192.0.2.1/32") },
	  .checks = { { "192.0.2.1", 3 }, { "192.0.2.0", 3 }, { "192.0.2.255", 5 },
	      { "192.0.3.0", MISS } },
	  .count = 2 },
	{ .what = "prefixes sharing one tbl8 group",
	  .max_tbl8 = 1,
	  .ops = { ADD("10.0.0.0/25", 1), ADD("10.0.0.128/25", 2),
	      ADD("10.0.0.64/26", 3), ADD("10.0.0.255/32", 4),
	      ADD("10.0.0.0/24", 5) },
	  .checks = { { "10.0.0.1", 1 }, { "10.0.0.64", 3 }, { "10.0.0.127", 3 },
	      { "10.0.0.128", 2 }, { "10.0.0.254", 2 }, { "10.0.0.255", 4 } },
	  .count = 5 },
	{ .what = "tbl8 exhaustion gives -ENOSPC and changes nothing",
	  .max_tbl8 = 1,
	  .ops = { ADD("10.0.0.0/16", 1), ADD("10.0.0.0/25", 2),
	      ADD_RC("10.0.1.0/25", 3, -ENOSPC), DEL_RC("10.0.1.0/25", -ENOENT) },
	  .checks = { { "10.0.0.1", 2 }, { "10.0.1.1", 1 }, { "10.0.0.200", 1 } },
	  .count = 2 },
	{ .what = "a freed group is not reused before reclaim",
	  .max_tbl8 = 1,
	  .ops = { ADD("10.0.0.0/25", 1), DEL("10.0.0.0/25"),
	      ADD_RC("10.0.1.0/25", 2, -ENOSPC), RECLAIM, ADD("10.0.1.0/25", 2) },
	  .checks = { { "10.0.0.1", MISS }, { "10.0.1.1", 2 }, { "10.0.1.200", MISS } },
	  .count = 1 },
	{ .what = "delete of a missing prefix or wrong length is -ENOENT",
	  .ops = { ADD("10.1.0.0/16", 1), DEL_RC("10.1.0.0/17", -ENOENT),
	      DEL_RC("10.2.0.0/16", -ENOENT), DEL_RC("10.0.0.0/8", -ENOENT) },
	  .checks = { { "10.1.0.1", 1 } },
	  .count = 1 },
	{ .what = "bad length or next hop is -EINVAL",
	  .ops = { ADD_RC("10.0.0.0/33", 1, -EINVAL),
	      ADD_RC("10.0.0.0/8", IP_FIB_NH_MAX, -EINVAL),
	      ADD("10.0.0.0/8", IP_FIB_NH_MAX - 1) },
	  .checks = { { "10.0.0.1", IP_FIB_NH_MAX - 1 } },
	  .count = 1 },
	{ .what = "host bits of a prefix are ignored",
	  .ops = { ADD("10.1.2.3/16", 1), DEL("10.1.0.0/16"), ADD("10.1.2.3/16", 2) },
	  .checks = { { "10.1.99.99", 2 } },
	  .count = 1 },
	{ .what = "v6: most specific prefix wins",
	  .ops = { ADD("2001:db8::/32", 1), ADD("2001:db8:1::/48", 2),
	      ADD("2001:db8:1:2::/64", 3), ADD("2001:db8:1:2::1/128", 4) },
	  .checks = { { "2001:db8:9::1", 1 }, { "2001:db8:1:9::1", 2 },
	      { "2001:db8:1:2::2", 3 }, { "2001:db8:1:2::1", 4 },
	      { "2001:db9::1", MISS } },
	  .count = 4 },
	{ .what = "v6: default route ::/0 and delete restores cover",
	  .ops = { ADD("::/0", 9), ADD("2000::/3", 2), ADD("2001:db8::/32", 3),
	      DEL("2000::/3") },
	  .checks = { { "2001:db8::1", 3 }, { "2a00::1", 9 }, { "::1", 9 },
	      { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9 } },
	  .count = 2 },
	{ .what = "v6: lengths off the stride boundaries",
	  .ops = { ADD("2001:db8::/17", 1), ADD("2001:db8::/23", 2),
	      ADD("2001:db8::/65", 3), ADD("2001:db8::8000:0:0:0/65", 4),
	      ADD("2001:db8::/127", 5) },
	  .checks = { { "2001:100::1", 1 }, { "2001:8000::1", MISS }, { "2001:dbf::1", 2 },
	      { "2001:db8::2", 3 }, { "2001:db8::8000:0:0:1", 4 },
	      { "2001:db8::1", 5 }, { "2001:db8:0:1::", 2 } },
	  .count = 5 },
	{ .what = "v6: /128 host routes and their /127",
	  .ops = { ADD("2001:db8::/127", 1), ADD("2001:db8::1/128", 2),
	      ADD("2001:db8::/128", 3), DEL("2001:db8::1/128") },
	  .checks = { { "2001:db8::", 3 }, { "2001:db8::1", 1 },
	      { "2001:db8::2", MISS } },
	  .count = 2 },
	{ .what = "v6: deleting the deep prefix folds the path back",
	  .ops = { ADD("2001:db8::/32", 1), ADD("2001:db8::1/128", 2),
	      DEL("2001:db8::1/128"), ADD("2001:db8::/48", 3) },
	  .checks = { { "2001:db8::1", 3 }, { "2001:db8:1::1", 1 } },
	  .count = 2 },
	{ .what = "v6: bad length is -EINVAL, missing prefix -ENOENT",
	  .ops = { ADD_RC("2001:db8::/129", 1, -EINVAL),
	      DEL_RC("2001:db8::/32", -ENOENT), ADD("2001:db8::/32", 1),
	      DEL_RC("2001:db8::/33", -ENOENT) },
	  .checks = { { "2001:db8::1", 1 } },
	  .count = 1 },
};

static void
parse_prefix(const char *what, const char *s, uint8_t *p, uint8_t *len,
    bool *v6)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	memset(p, 0, 16);
	*len = 0;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		*len = (uint8_t)atoi(slash + 1);
	}
	*v6 = strchr(buf, ':') != NULL;
	if (inet_pton(*v6 ? AF_INET6 : AF_INET, buf, p) != 1)
		fail_msg("%s: bad address \"%s\" in the test table", what, s);
}

static void
run_case(const struct fib_case *c)
{
	const struct fib_op *op;
	const struct fib_check *ck;
	struct fib f = { 0 };
	uint8_t p[16], len;
	uint32_t got;
	bool v6;
	int rc = 0;

	parse_prefix(c->what, c->ops[0].pfx, p, &len, &v6);
	if (v6)
		assert_int_equal(ip_fib6_create(&f.f6), 0);
	else
		assert_int_equal(ip_fib4_create(&f.f4, c->max_tbl8), 0);
	for (op = c->ops; op->kind != OP_END; op++) {
		if (op->kind == OP_RECLAIM) {
			fib_reclaim(&f);
			continue;
		}
		parse_prefix(c->what, op->pfx, p, &len, &v6);
		rc = op->kind == OP_ADD ? fib_add(&f, p, len, op->nh) :
		    fib_del(&f, p, len);
		if (rc != op->rc)
			fail_msg("%s: %s %s: rc %d, want %d", c->what,
			    op->kind == OP_ADD ? "add" : "del", op->pfx, rc, op->rc);
	}
	for (ck = c->checks; ck->addr != NULL; ck++) {
		parse_prefix(c->what, ck->addr, p, &len, &v6);
		got = fib_lookup(&f, p);
		if (got != ck->nh)
			fail_msg("%s: lookup %s gave %d, want %d", c->what, ck->addr,
			    (int)got, (int)ck->nh);
	}
	if (fib_count(&f) != c->count)
		fail_msg("%s: count %u, want %u", c->what, fib_count(&f), c->count);
	fib_destroy(&f);
}

static void
test_fib_cases(void **state)
{
	size_t i;

	for (i = 0; i < HG_ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
}

/* ---- freed groups come back ---- */

static void
test_fib4_churn(void **state)
{
	struct ip_fib4 *fib;
	uint32_t i, k, p;

	assert_int_equal(ip_fib4_create(&fib, (1u << 24) + 1), -EINVAL);
	/* Eight groups; every round needs all eight, so a leak shows at once. */
	assert_int_equal(ip_fib4_create(&fib, 8), 0);
	assert_int_equal(ip_fib4_add(fib, htonl(0x0a000000), 8, 1), 0);
	for (k = 0; k < 300; k++) {
		for (i = 0; i < 8; i++) {
			p = htonl(0x0a000000 | i << 8 | (k % 128) * 2);
			if (ip_fib4_add(fib, p, 25 + k % 8, i) != 0)
				fail_msg("round %u: group %u not returned", k, i);
		}
		assert_int_equal(ip_fib4_lookup(fib, htonl(0x0a000300 | (k % 128) * 2)), 3);
		for (i = 0; i < 8; i++) {
			p = htonl(0x0a000000 | i << 8 | (k % 128) * 2);
			assert_int_equal(ip_fib4_del(fib, p, 25 + k % 8), 0);
		}
		assert_int_equal(ip_fib4_lookup(fib, htonl(0x0a000300 | (k % 128) * 2)), 1);
		ip_fib4_reclaim(fib);
	}
	assert_int_equal(ip_fib4_count(fib), 1);
	ip_fib4_destroy(fib);
}

static void
test_fib6_churn(void **state)
{
	struct ip_fib6 *fib;
	uint8_t p[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	size_t mem = 0;
	uint32_t i, k;

	assert_int_equal(ip_fib6_create(&fib), 0);
	assert_int_equal(ip_fib6_add(fib, p, 32, 1), 0);
	for (k = 0; k < 50; k++) {
		for (i = 0; i < 64; i++) {
			p[15] = (uint8_t)i;
			p[9] = (uint8_t)k;
			assert_int_equal(ip_fib6_add(fib, p, 128, i + 2), 0);
		}
		for (i = 0; i < 64; i++) {
			p[15] = (uint8_t)i;
			assert_int_equal(ip_fib6_del(fib, p, 128), 0);
		}
		assert_int_equal(ip_fib6_lookup(fib, p), 1);
		ip_fib6_reclaim(fib);
		/* The first round sizes everything; later rounds reuse it. */
		if (k == 1)
			mem = ip_fib6_mem_bytes(fib);
		if (k > 1 && ip_fib6_mem_bytes(fib) != mem)
			fail_msg("round %u: mem %zu bytes, was %zu", k,
			    ip_fib6_mem_bytes(fib), mem);
	}
	assert_int_equal(ip_fib6_count(fib), 1);
	ip_fib6_destroy(fib);
}

/* ---- lookups racing with the writer ---- */

struct race {
	struct ip_fib4	*fib;
	uint64_t	 lookups;	/* reader's progress, for the grace period */
	uint32_t	 bad;
	uint32_t	 bad_nh;
	bool		 stop;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	uint32_t in = htonl(0x0a010203), out = htonl(0x0a0102c8), a, b;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		a = ip_fib4_lookup(r->fib, in);		/* under the /28: 1 or 2 */
		b = ip_fib4_lookup(r->fib, out);	/* beside it: always 1 */
		if ((a != 1 && a != 2) || b != 1) {
			r->bad++;
			r->bad_nh = a != 1 && a != 2 ? a : b;
		}
		__atomic_add_fetch(&r->lookups, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * The writer adds and deletes a /28 under a /8, which creates, folds
 * and (after a one-reader grace period) reuses a tbl8 group each time.
 */
static void
test_fib4_concurrent(void **state)
{
	struct race r = { 0 };
	pthread_t t;
	uint64_t seen;
	int i;

	assert_int_equal(ip_fib4_create(&r.fib, 4), 0);
	assert_int_equal(ip_fib4_add(r.fib, htonl(0x0a000000), 8, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, race_reader, &r), 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(ip_fib4_add(r.fib, htonl(0x0a010200), 28, 2), 0);
		assert_int_equal(ip_fib4_del(r.fib, htonl(0x0a010200), 28), 0);
		/* Wait until the reader has finished a lookup begun after the del. */
		seen = __atomic_load_n(&r.lookups, __ATOMIC_ACQUIRE);
		while (__atomic_load_n(&r.lookups, __ATOMIC_ACQUIRE) < seen + 2)
			sched_yield();	/* the reader may share our core */
		ip_fib4_reclaim(r.fib);
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (r.bad != 0)
		fail_msg("%u racing lookups saw a torn answer (e.g. %u)", r.bad,
		    r.bad_nh);
	ip_fib4_destroy(r.fib);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fib_cases),
		cmocka_unit_test(test_fib4_random),
		cmocka_unit_test(test_fib6_random),
		cmocka_unit_test(test_fib4_churn),
		cmocka_unit_test(test_fib6_churn),
		cmocka_unit_test(test_fib4_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
