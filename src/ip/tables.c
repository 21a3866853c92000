/*
 * src/ip/tables.c: building a struct ip_tables (interfaces, next hops,
 * FIBs) on the control thread.  Published tables are never changed; a
 * reload builds new ones (src/dp swaps them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ip_priv.h"

int
ip_tables_create(struct ip_tables **out)
{
	struct ip_tables *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	rc = ip_fib4_create(&t->fib4, 0);
	if (rc == 0)
		rc = ip_fib6_create(&t->fib6);
	if (rc != 0) {
		ip_tables_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
ip_tables_free(struct ip_tables *t)
{
	if (t == NULL)
		return;
	if (t->fib4 != NULL)
		ip_fib4_destroy(t->fib4);
	if (t->fib6 != NULL)
		ip_fib6_destroy(t->fib6);
	free(t->nh);
	free(t->nh_index);
	free(t->routes);
	free(t);
}

static void
ll6_from_mac(const uint8_t mac[ETH_ALEN], uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfe;
	out[1] = 0x80;
	out[8] = mac[0] ^ 0x02;		/* RFC 4291 appendix A: U/L bit */
	out[9] = mac[1];
	out[10] = mac[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = mac[3];
	out[14] = mac[4];
	out[15] = mac[5];
}

static uint32_t
nh_hash(const struct ip_nh *nh)
{
	const uint8_t *b = (const uint8_t *)nh;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*nh); i++)
		h = (h ^ b[i]) * 16777619u;
	return h ^ (h >> 16);
}

/* Doubles the next-hop index (open addressing, at most half full). */
static int
nh_index_grow(struct ip_tables *t)
{
	uint32_t cap = t->nh_index ? (t->nh_index_mask + 1) * 2 : 64;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (idx == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n_nh; i++) {
		uint32_t h = nh_hash(&t->nh[i]) & (cap - 1);

		while (idx[h] != 0)
			h = (h + 1) & (cap - 1);
		idx[h] = i + 1;
	}
	free(t->nh_index);
	t->nh_index = idx;
	t->nh_index_mask = cap - 1;
	return 0;
}

/* Index of an equal next hop, or a new one.  Hashed: a table with many
 * routes through many next hops builds in linear time. */
static int
nh_intern(struct ip_tables *t, const struct ip_nh *nh, uint32_t *idx)
{
	uint32_t h;
	int rc;

	if (t->nh_index == NULL || (t->n_nh + 1) * 2 > t->nh_index_mask + 1) {
		if ((rc = nh_index_grow(t)) != 0)
			return rc;
	}
	for (h = nh_hash(nh) & t->nh_index_mask; t->nh_index[h] != 0;
	    h = (h + 1) & t->nh_index_mask) {
		if (memcmp(&t->nh[t->nh_index[h] - 1], nh, sizeof(*nh)) == 0) {
			*idx = t->nh_index[h] - 1;
			return 0;
		}
	}
	if (t->n_nh >= IP_FIB_NH_MAX)
		return -ENOSPC;
	if (t->n_nh == t->nh_cap) {
		uint32_t cap = t->nh_cap ? t->nh_cap * 2 : 16;
		struct ip_nh *n = realloc(t->nh, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		t->nh = n;
		t->nh_cap = cap;
	}
	t->nh[t->n_nh] = *nh;
	t->nh_index[h] = t->n_nh + 1;
	*idx = t->n_nh++;
	return 0;
}

static int
route_record(struct ip_tables *t, uint8_t family, const uint8_t *prefix,
    uint8_t plen, uint32_t nh, bool is_static)
{
	struct ip_route *r;

	if (t->n_routes == t->routes_cap) {
		uint32_t cap = t->routes_cap ? t->routes_cap * 2 : 64;
		struct ip_route *n = realloc(t->routes, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		t->routes = n;
		t->routes_cap = cap;
	}
	r = &t->routes[t->n_routes++];
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->plen = plen;
	memcpy(r->prefix, prefix, family == AF_INET ? 4 : 16);
	r->nh = nh;
	r->is_static = is_static;
	return 0;
}

static void
prefix_mask(uint8_t *a, size_t n_bytes, uint8_t plen)
{
	for (size_t i = 0; i < n_bytes; i++) {
		int bits = (int)plen - (int)(i * 8);

		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static int
install(struct ip_tables *t, uint8_t family, const uint8_t *prefix,
    uint8_t plen, const struct ip_nh *nh, bool is_static, char *err,
    size_t err_len)
{
	uint8_t a[16] = { 0 };
	char buf[INET6_ADDRSTRLEN];
	uint32_t idx;
	int rc;

	memcpy(a, prefix, family == AF_INET ? 4 : 16);
	prefix_mask(a, family == AF_INET ? 4 : 16, plen);
	rc = nh_intern(t, nh, &idx);
	if (rc == 0) {
		if (family == AF_INET) {
			uint32_t p_be;

			memcpy(&p_be, a, 4);
			rc = ip_fib4_add(t->fib4, p_be, plen, idx);
		} else {
			rc = ip_fib6_add(t->fib6, a, plen, idx);
		}
	}
	if (rc == 0)
		rc = route_record(t, family, a, plen, idx, is_static);
	if (rc != 0) {
		inet_ntop(family, a, buf, sizeof(buf));
		snprintf(err, err_len, "route %s/%u: %s", buf, plen,
		    strerror(-rc));
	}
	return rc;
}

int
ip_tables_add_connected(struct ip_tables *t, char *err, size_t err_len)
{
	struct ip_nh nh;
	int rc;

	for (uint16_t i = 0; i < t->n_if; i++) {
		struct ip_if *ifp = &t->ifs[i];

		ll6_from_mac(ifp->mac, ifp->ll6);
		for (uint8_t k = 0; k < ifp->n_addr4; k++) {
			const struct ip_if_addr4 *a = &ifp->addr4[k];

			memset(&nh, 0, sizeof(nh));
			nh.family = AF_INET;
			nh.if_idx = i;
			nh.type = IP_NH_CONNECTED;
			rc = install(t, AF_INET, (const uint8_t *)&a->addr_be,
			    a->plen, &nh, false, err, err_len);
			if (rc != 0)
				return rc;
			nh.type = IP_NH_LOCAL;
			rc = install(t, AF_INET, (const uint8_t *)&a->addr_be,
			    32, &nh, false, err, err_len);
			if (rc != 0)
				return rc;
		}
		for (uint8_t k = 0; k < ifp->n_addr6 + 1; k++) {
			const uint8_t *addr = k < ifp->n_addr6 ?
			    ifp->addr6[k].addr : ifp->ll6;
			uint8_t plen = k < ifp->n_addr6 ? ifp->addr6[k].plen : 64;

			memset(&nh, 0, sizeof(nh));
			nh.family = AF_INET6;
			nh.if_idx = i;
			nh.type = IP_NH_CONNECTED;
			/* fe80::/64 is on every interface; the FIB keeps one,
			 * and link-local destinations are never routed. */
			if (k < ifp->n_addr6) {
				rc = install(t, AF_INET6, addr, plen, &nh,
				    false, err, err_len);
				if (rc != 0)
					return rc;
			}
			nh.type = IP_NH_LOCAL;
			rc = install(t, AF_INET6, addr, 128, &nh, false, err,
			    err_len);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int
ip_tables_add_route(struct ip_tables *t, uint8_t family, const uint8_t *prefix,
    uint8_t plen, const uint8_t *gw, int if_idx, bool blackhole, char *err,
    size_t err_len)
{
	char buf[INET6_ADDRSTRLEN];
	struct ip_nh nh;
	uint32_t idx;

	memset(&nh, 0, sizeof(nh));
	nh.family = family;
	if (blackhole) {
		nh.type = IP_NH_BLACKHOLE;
		return install(t, family, prefix, plen, &nh, true, err, err_len);
	}
	if (gw == NULL) {
		if (if_idx < 0 || if_idx >= t->n_if) {
			snprintf(err, err_len, "on-link route needs an interface");
			return -EINVAL;
		}
		nh.type = IP_NH_CONNECTED;
		nh.if_idx = (uint16_t)if_idx;
		return install(t, family, prefix, plen, &nh, true, err, err_len);
	}
	nh.type = IP_NH_GATEWAY;
	memcpy(nh.gw, gw, family == AF_INET ? 4 : 16);
	if (if_idx >= 0) {
		nh.if_idx = (uint16_t)if_idx;
		return install(t, family, prefix, plen, &nh, true, err, err_len);
	}
	/* Resolve the gateway against the connected routes installed so far. */
	if (family == AF_INET) {
		uint32_t gw_be;

		memcpy(&gw_be, gw, 4);
		idx = ip_fib4_lookup(t->fib4, gw_be);
	} else {
		idx = ip_fib6_lookup(t->fib6, gw);
	}
	if (idx == IP_FIB_MISS || t->nh[idx].type != IP_NH_CONNECTED) {
		inet_ntop(family, gw, buf, sizeof(buf));
		snprintf(err, err_len,
		    "gateway %s is not on a connected network", buf);
		return -EHOSTUNREACH;
	}
	nh.if_idx = t->nh[idx].if_idx;
	return install(t, family, prefix, plen, &nh, true, err, err_len);
}
