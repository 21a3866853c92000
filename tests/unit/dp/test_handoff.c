/*
 * tests/unit/dp/test_handoff.c: the handoff ring (src/dp/host.c), the one
 * place where workers pass frames to each other, lock-free: many
 * producers, one consumer.
 *
 *  - one thread: frames come out in order and whole, a full ring refuses
 *    the next push, and each pop frees a slot;
 *  - three producer threads against one consumer, 60,000 frames: nothing
 *    lost, nothing twice, each producer's frames in its order;
 *  - the sleep protocol: a consumer about to sleep is told when a frame
 *    is already there, and a push to a sleeping consumer wakes its
 *    eventfd.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp/dp_priv.h"

#define PRODUCERS	3
#define PER_PRODUCER	20000

/* A frame of len bytes saying (producer, seq). */
static void
fill(struct pkt *p, uint32_t producer, uint32_t seq)
{
	p->len = (uint16_t)(64 + seq % 1400);
	memset(p->data, (int)(seq & 0xff), p->len);
	memcpy(p->data, &producer, 4);
	memcpy(p->data + 4, &seq, 4);
	p->in_if = (uint16_t)producer;
}

static void
test_order_full_and_whole(void **state)
{
	struct dp_handoff *h;
	struct pkt_pool *pool;
	struct pkt *p;

	(void)state;
	assert_int_equal(dp_handoff_create(&h), 0);
	assert_int_equal(pkt_pool_create(&pool, 8), 0);
	p = pkt_alloc(pool);
	for (uint32_t i = 0; i < DP_HANDOFF_SLOTS; i++) {
		fill(p, 1, i);
		assert_true(dp_handoff_push(h, p));
	}
	fill(p, 1, 9999);
	assert_false(dp_handoff_push(h, p));	/* full */
	pkt_free(pool, p);
	for (uint32_t i = 0; i < DP_HANDOFF_SLOTS; i++) {
		uint32_t seq;

		p = dp_handoff_pop(h, pool);
		assert_non_null(p);
		memcpy(&seq, p->data + 4, 4);
		assert_int_equal(seq, i);
		assert_int_equal(p->len, 64 + i % 1400);
		assert_int_equal(p->in_if, 1);
		assert_int_equal(p->data[p->len - 1], i & 0xff);
		pkt_free(pool, p);
		if (i == 0) {
			/* One slot free again: one more fits. */
			p = pkt_alloc(pool);
			fill(p, 1, DP_HANDOFF_SLOTS);
			assert_true(dp_handoff_push(h, p));
			pkt_free(pool, p);
		}
	}
	p = dp_handoff_pop(h, pool);
	assert_non_null(p);
	pkt_free(pool, p);
	assert_null(dp_handoff_pop(h, pool));
	assert_int_equal(pool->n_free, pool->n_bufs);
	pkt_pool_destroy(pool);
	dp_handoff_destroy(h);
}

struct producer {
	struct dp_handoff *h;
	uint32_t id;
	uint64_t refused;
};

static void *
produce(void *arg)
{
	struct producer *pr = arg;
	struct pkt_pool *pool;
	struct pkt *p;

	if (pkt_pool_create(&pool, 1) != 0)
		abort();
	p = pkt_alloc(pool);
	for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
		fill(p, pr->id, seq);
		while (!dp_handoff_push(pr->h, p)) {
			pr->refused++;
			sched_yield();
		}
	}
	pkt_free(pool, p);
	pkt_pool_destroy(pool);
	return NULL;
}

static void
test_many_producers(void **state)
{
	struct producer pr[PRODUCERS];
	pthread_t th[PRODUCERS];
	uint32_t next[PRODUCERS] = { 0 };
	struct dp_handoff *h;
	struct pkt_pool *pool;
	uint32_t got = 0;

	(void)state;
	assert_int_equal(dp_handoff_create(&h), 0);
	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){ .h = h, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]),
		    0);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		struct pkt *p = dp_handoff_pop(h, pool);
		uint32_t id, seq;

		if (p == NULL) {
			sched_yield();
			continue;
		}
		memcpy(&id, p->data, 4);
		memcpy(&seq, p->data + 4, 4);
		assert_true(id < PRODUCERS);
		if (seq != next[id])
			fail_msg("producer %u: frame %u after %u", id, seq,
			    next[id]);
		assert_int_equal(p->len, 64 + seq % 1400);
		assert_int_equal(p->data[p->len - 1], seq & 0xff);
		next[id]++;
		got++;
		pkt_free(pool, p);
	}
	for (uint32_t i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	assert_null(dp_handoff_pop(h, pool));
	pkt_pool_destroy(pool);
	dp_handoff_destroy(h);
}

static void
test_sleep_and_wake(void **state)
{
	struct dp_handoff *h;
	struct pkt_pool *pool;
	struct pkt *p;
	struct pollfd pfd;

	(void)state;
	assert_int_equal(dp_handoff_create(&h), 0);
	assert_int_equal(pkt_pool_create(&pool, 4), 0);
	pfd = (struct pollfd){ .fd = h->efd, .events = POLLIN };

	/* Empty: it may sleep; a push then makes the eventfd readable. */
	assert_true(dp_handoff_sleep(h));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	p = pkt_alloc(pool);
	fill(p, 0, 1);
	assert_true(dp_handoff_push(h, p));
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	dp_handoff_wake(h);

	/* A frame waiting: it must not sleep. */
	assert_false(dp_handoff_sleep(h));
	pkt_free(pool, p);
	p = dp_handoff_pop(h, pool);
	assert_non_null(p);
	pkt_free(pool, p);

	/* Awake: a push costs no eventfd write. */
	assert_true(dp_handoff_sleep(h));	/* drains the eventfd */
	dp_handoff_wake(h);
	p = pkt_alloc(pool);
	fill(p, 0, 2);
	assert_true(dp_handoff_push(h, p));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	pkt_free(pool, p);
	p = dp_handoff_pop(h, pool);
	pkt_free(pool, p);
	pkt_pool_destroy(pool);
	dp_handoff_destroy(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_full_and_whole),
		cmocka_unit_test(test_many_producers),
		cmocka_unit_test(test_sleep_and_wake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
