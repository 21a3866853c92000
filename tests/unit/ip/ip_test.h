/*
 * tests/unit/ip/ip_test.h: what the router's tests share: the router's
 * stages with no firewall between them, in the order src/dp/pipeline.c
 * runs them, over the frames of a pkt_batch.
 */
#ifndef IP_TEST_H
#define IP_TEST_H

#include "ip/ip.h"

/* Routes what rx holds (rx->n is 0 afterwards); what leaves is on tx. */
static inline void
ip_test_route(struct ip_worker *w, const struct ip_tables *t,
    struct pkt_batch *rx, struct pkt_batch *tx, uint64_t now_ns)
{
	static struct ip_vec v;

	ip_vec_reset(&v);
	for (uint16_t i = 0; i < rx->n; i++)
		ip_vec_add(&v, rx->pkts[i], IP_NEXT_RX);
	rx->n = 0;
	ip_input(w, t, &v, tx, now_ns);
	ip_route(w, t, &v, 0, v.n, tx, now_ns);
	ip_verdicts(w, t, &v, 0, v.n, tx, now_ns);
	ip_local(w, t, &v, 0, v.n, 0, tx, now_ns);
	for (uint16_t i = 0; i < v.n; i++)
		if (v.next[i] == IP_NEXT_POSTROUTING)
			v.next[i] = IP_NEXT_NEIGH;
	ip_neigh_stage(w, t, &v, 0, v.n, tx, now_ns);
	for (uint16_t i = 0; i < v.n; i++)
		assert_int_equal(v.next[i], IP_NEXT_NONE);
}

#endif /* IP_TEST_H */
