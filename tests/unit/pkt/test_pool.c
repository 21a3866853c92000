/*
 * tests/unit/pkt/test_pool.c: proves src/pkt/pool.c and the inline
 * allocator in pkt.h: exhaustion is counted, freed buffers come back,
 * grow helpers respect both ends of the buffer, buffers do not overlap.
 */
#include <errno.h>

#include "pkt/pkt.h"
#include "pkt_test.h"

#define N_BUFS	8

static int
pool_setup(void **state)
{
	struct pkt_pool *pool;

	if (pkt_pool_create(&pool, N_BUFS) != 0)
		return -1;
	*state = pool;
	return 0;
}

static int
pool_teardown(void **state)
{
	pkt_pool_destroy(*state);
	return 0;
}

static void
test_create_rejects_zero(void **state)
{
	struct pkt_pool *pool = (void *)1;

	assert_int_equal(pkt_pool_create(&pool, 0), -EINVAL);
	assert_null(pool);
	pkt_pool_destroy(NULL);		/* must be a no-op */
}

static void
test_alloc_until_empty(void **state)
{
	struct pkt_pool *pool = *state;
	struct pkt *p[N_BUFS];

	for (int i = 0; i < N_BUFS; i++) {
		p[i] = pkt_alloc(pool);
		assert_non_null(p[i]);
		assert_int_equal(p[i]->len, 0);
		assert_int_equal(pkt_headroom(p[i]), PKT_HEADROOM);
		assert_int_equal(pkt_tailroom(p[i]), PKT_DATA_ROOM);
		assert_ptr_equal(pkt_pool_get(pool, p[i]->pool_idx), p[i]);
		/* every byte of every buffer is writable and private: ASan
		 * and the overlap check below catch a wrong stride */
		memset(p[i]->head, i, PKT_BUF_SIZE);
	}
	for (int i = 0; i < N_BUFS; i++) {
		assert_int_equal(p[i]->head[0], i);
		assert_int_equal(p[i]->head[PKT_BUF_SIZE - 1], i);
		assert_int_equal(p[i]->pool_idx < N_BUFS, 1);
	}
	assert_int_equal(pool->n_free, 0);
	assert_int_equal(pool->alloc_fail, 0);
	assert_null(pkt_alloc(pool));
	assert_null(pkt_alloc(pool));
	assert_int_equal(pool->alloc_fail, 2);

	for (int i = 0; i < N_BUFS; i++)
		pkt_free(pool, p[i]);
	assert_int_equal(pool->n_free, N_BUFS);
}

static void
test_free_then_reuse(void **state)
{
	struct pkt_pool *pool = *state;
	struct pkt *a, *b, *c;

	a = pkt_alloc(pool);
	b = pkt_alloc(pool);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	/* a used packet comes back clean: metadata reset, data re-centred */
	assert_non_null(pkt_prepend(a, 20));
	a->l3_off = 14;
	a->flags = PKT_F_VLAN;
	a->drop = PKT_DROP_IP4_CSUM;
	pkt_free(pool, a);
	c = pkt_alloc(pool);
	assert_ptr_equal(c, a);		/* LIFO: warm in cache */
	assert_int_equal(c->len, 0);
	assert_int_equal(c->l3_off, 0);
	assert_int_equal(c->flags, 0);
	assert_int_equal(c->drop, PKT_DROP_NONE);
	assert_int_equal(pkt_headroom(c), PKT_HEADROOM);
	pkt_free(pool, b);
	pkt_free(pool, c);
	assert_int_equal(pool->n_free, N_BUFS);
}

static void
test_batch(void **state)
{
	struct pkt_pool *pool = *state;
	static struct pkt_batch b;

	b.n = 0;
	for (int i = 0; i < N_BUFS; i++)
		assert_true(pkt_batch_add(&b, pkt_alloc(pool)));
	b.n = PKT_BATCH_MAX;	/* pretend full: the next add must refuse */
	assert_false(pkt_batch_add(&b, b.pkts[0]));
	b.n = N_BUFS;
	pkt_batch_free(pool, &b);
	assert_int_equal(b.n, 0);
	assert_int_equal(pool->n_free, N_BUFS);
}

static void
test_prepend_append_bounds(void **state)
{
	struct pkt_pool *pool = *state;
	struct pkt *p = pkt_alloc(pool);
	uint8_t *d0, *q;

	assert_non_null(p);
	d0 = p->data;

	q = pkt_append(p, 100);
	assert_ptr_equal(q, d0);
	assert_int_equal(p->len, 100);
	q = pkt_append(p, 10);
	assert_ptr_equal(q, d0 + 100);
	/* exactly the rest fits, one more byte does not */
	assert_null(pkt_append(p, pkt_tailroom(p) + 1));
	assert_int_equal(p->len, 110);
	q = pkt_append(p, pkt_tailroom(p));
	assert_non_null(q);
	assert_int_equal(p->len, PKT_DATA_ROOM);
	assert_int_equal(pkt_tailroom(p), 0);
	assert_null(pkt_append(p, 1));

	q = pkt_prepend(p, 14);
	assert_ptr_equal(q, d0 - 14);
	assert_int_equal(p->len, PKT_DATA_ROOM + 14);
	assert_null(pkt_prepend(p, PKT_HEADROOM - 14 + 1));
	assert_ptr_equal(p->data, d0 - 14);
	q = pkt_prepend(p, PKT_HEADROOM - 14);
	assert_ptr_equal(q, p->head);
	assert_int_equal(p->len, PKT_BUF_SIZE);
	assert_null(pkt_prepend(p, 1));
	pkt_free(pool, p);
}

static void
test_set_frame(void **state)
{
	struct pkt_pool *pool = *state;
	struct pkt *p = pkt_alloc(pool);
	static uint8_t big[PKT_DATA_ROOM + 1];

	assert_non_null(p);
	memset(big, 0xab, sizeof(big));
	assert_int_equal(pkt_set_frame(p, big, PKT_DATA_ROOM + 1), -EMSGSIZE);
	assert_int_equal(p->len, 0);
	/* a moved data pointer is reset to the standard headroom */
	assert_non_null(pkt_prepend(p, 4));
	assert_int_equal(pkt_set_frame(p, big, PKT_DATA_ROOM), 0);
	assert_int_equal(p->len, PKT_DATA_ROOM);
	assert_int_equal(pkt_headroom(p), PKT_HEADROOM);
	assert_int_equal(p->data[PKT_DATA_ROOM - 1], 0xab);
	pkt_free(pool, p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_zero),
		cmocka_unit_test_setup_teardown(test_alloc_until_empty,
		    pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_free_then_reuse,
		    pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_batch,
		    pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_prepend_append_bounds,
		    pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_set_frame,
		    pool_setup, pool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
