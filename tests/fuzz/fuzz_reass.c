/*
 * tests/fuzz/fuzz_reass.c: libFuzzer target for src/ip/reass.c, the outer
 * fragments' table, with a small table (4 datagrams, 6 fragments each) so
 * its bounds are reached.
 *
 * The first byte chooses the mode.  Raw: the input is frames (a length
 * byte pair, then an IPv4 or IPv6 packet given an Ethernet header here),
 * each parsed and, when a fragment, given to the table.  Built: the input
 * is fragments described by a few bytes (family, id, offset, length, more
 * flag, how much time passes) whose payload byte at datagram offset o is
 * always pattern(o); then every datagram that comes out whole must be
 * exactly that pattern, overlaps or not.  Either way, at the end every
 * buffer is back in the pool, none twice.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip/reass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

#define POOL_BUFS	32
#define MS		(1000ULL * 1000)

static struct pkt_pool *pool;

static void
drop(void *arg, struct pkt *p, enum pkt_drop why)
{
	(void)arg;
	CHECK(why != PKT_DROP_NONE);
	pkt_free(pool, p);
}

/* The byte at payload offset o of every built datagram. */
static uint8_t
pattern(uint32_t o)
{
	return (uint8_t)(o * 31 + (o >> 8));
}

/* A fragment of datagram id (addresses fixed) from 7 bytes of d. */
static struct pkt *
built(const uint8_t *d)
{
	bool v6 = d[0] & 1, more = d[0] & 2;
	uint8_t id = d[1];
	uint16_t off = (uint16_t)(((d[2] << 8 | d[3]) & 0x1fff) * 8);
	uint16_t len = (uint16_t)((d[4] << 8 | d[5]) % 1600);
	struct pkt *p = pkt_alloc(pool);
	uint8_t *f;
	uint16_t hl = v6 ? IP6_HDR_LEN + 8 : 20;

	if (p == NULL)
		return NULL;
	f = p->data;
	memset(f, 0, 14 + hl);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		struct ip6_hdr *ip = (void *)(f + 14);
		struct ip6_frag *fh = (void *)(f + 14 + IP6_HDR_LEN);

		ip->vtc_flow_be = htonl(0x60000000);
		ip->plen_be = htons((uint16_t)(8 + len));
		ip->nxt = IPPROTO_FRAGMENT_;
		ip->src[15] = 1;
		ip->dst[15] = 2;
		fh->nxt = IPPROTO_ESP_;
		fh->off_be = htons((uint16_t)(off | more));
		fh->id_be = htonl(id);
	} else {
		struct ip4_hdr *ip = (void *)(f + 14);

		ip->ver_ihl = 0x45;
		ip->tot_len_be = htons((uint16_t)(20 + len));
		ip->id_be = htons(id);
		ip->frag_be = htons((uint16_t)(off / 8 | (more ? IP4_MF : 0)));
		ip->proto = IPPROTO_ESP_;
		ip->src_be = htonl(0x0a000001);
		ip->dst_be = htonl(0x0a000002);
		pkt_ip4_set_csum(ip);
	}
	for (uint16_t i = 0; i < len; i++)
		f[14 + hl + i] = pattern((uint32_t)off + i);
	p->len = (uint16_t)(14 + hl + len);
	return p;
}

static void
check_whole(const struct pkt *p, bool patterned)
{
	const uint8_t *l3 = p->data + p->l3_off;
	uint16_t hl = p->l3 == PKT_L3_IP4 ? 20 : IP6_HDR_LEN;

	CHECK(!(p->flags & PKT_F_FRAG));
	CHECK(p->l3_off + p->l3_len <= p->len);
	if (!patterned)
		return;
	CHECK(l3[p->l3 == PKT_L3_IP4 ? 9 : 6] == IPPROTO_ESP_);
	for (uint32_t o = 0; o + hl < p->l3_len; o++)
		CHECK(l3[hl + o] == pattern(o));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_reass_params prm = { .max_dgrams = 4, .max_frags = 6,
	    .timeout_ns = 2000 * MS };
	struct ip_reass *r;
	uint64_t now = 0;
	bool raw;

	if (size < 1)
		return 0;
	if (pool == NULL && pkt_pool_create(&pool, POOL_BUFS) != 0)
		abort();
	if (ip_reass_create(&r, &prm, pool, drop, NULL) != 0)
		abort();
	raw = data[0] & 1;
	data++, size--;
	while (size > 0) {
		struct pkt *p = NULL, *whole;
		size_t used;

		if (raw) {
			size_t len;

			if (size < 3)
				break;
			len = (size_t)(data[1] << 8 | data[2]) % 1600;
			if (len > size - 3)
				len = size - 3;
			p = pkt_alloc(pool);
			if (p != NULL) {
				memset(p->data, 0, 14);
				p->data[12] = data[0] & 1 ? 0x86 : 0x08;
				p->data[13] = data[0] & 1 ? 0xdd : 0x00;
				memcpy(p->data + 14, data + 3, len);
				p->len = (uint16_t)(14 + len);
			}
			now += (uint64_t)(data[0] >> 1) * 20 * MS;
			used = 3 + len;
		} else {
			if (size < 7)
				break;
			p = built(data);
			now += (uint64_t)data[6] * 10 * MS;
			used = 7;
		}
		data += used, size -= used;
		if (p == NULL)
			continue;	/* the pool is held: that is a bound */
		if (pkt_parse(p, NULL) != PKT_DROP_NONE ||
		    !(p->flags & PKT_F_FRAG)) {
			pkt_free(pool, p);
			continue;
		}
		whole = ip_reass_add(r, p, now);
		if (whole != NULL) {
			check_whole(whole, !raw);
			pkt_free(pool, whole);
		}
		ip_reass_expire(r, now);
		CHECK(ip_reass_pending(r) <= prm.max_dgrams);
		/* at most the table's fragments held */
		CHECK(POOL_BUFS - pool->n_free <= 4 * 6);
	}
	ip_reass_destroy(r);
	CHECK(pool->n_free == POOL_BUFS);
	return 0;
}
