/*
 * tests/unit/ct/ct_test.h: what the src/ct tests share: hosts written as
 * text, and turning a built IPv4 frame into a fragment.
 */
#ifndef CT_TEST_H
#define CT_TEST_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "pkt/pkt.h"

struct host {
	bool v6;
	uint8_t addr[16];
};

static inline struct host
host(const char *s)
{
	struct host h;

	memset(&h, 0, sizeof(h));
	h.v6 = strchr(s, ':') != NULL;
	assert_int_equal(inet_pton(h.v6 ? AF_INET6 : AF_INET, s, h.addr), 1);
	return h;
}

/* Turns an IPv4 frame into a fragment: id, offset (8-byte units), MF. */
static inline void
frag4(uint8_t *f, uint16_t id, uint16_t off8, bool mf)
{
	struct ip4_hdr ip;

	memcpy(&ip, f + ETH_HDR_LEN, sizeof(ip));
	ip.id_be = htons(id);
	ip.frag_be = htons((uint16_t)(off8 | (mf ? IP4_MF : 0)));
	ip.csum_be = 0;
	ip.csum_be = pkt_csum(&ip, sizeof(ip));
	memcpy(f + ETH_HDR_LEN, &ip, sizeof(ip));
}

#endif /* CT_TEST_H */
