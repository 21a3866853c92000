/*
 * src/daemon/hosttap.c: the host side of the punt path.  An interface
 * with "host_tap" gets a TAP device with its MAC, MTU and addresses, so
 * the kernel and ordinary daemons (sshd, the API, BGP) serve what the
 * INPUT chain let through (the linux-cp pattern, DESIGN.md).  The TAP is
 * NOARP: the host never resolves neighbours itself; hexgated routes
 * whatever the host sends with its own FIB.
 *
 * The host also needs routes back to everyone hexgate reaches: each of
 * hexgate's routes that leaves through an interface is mirrored as a
 * device route on that interface's TAP, or on the first TAP when the
 * interface has none (the host's choice of TAP does not matter, hexgated
 * routes the packet again).  A reload replaces them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../rt/rt.h"
#include "daemon.h"

struct host_route {
	uint16_t tap_if;
	uint8_t family;
	uint8_t plen;
	uint8_t prefix[16];
};

static struct host_route *host_routes;
static uint32_t n_host_routes;

static int
first_tap(const struct hg_daemon *d)
{
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		if (d->host_taps[i] != NULL)
			return i;
	return -1;
}

/* MAC, MTU, NOARP, up, and the interface's addresses. */
static int
tap_configure(const struct hg_cfg_if *ci, const uint8_t mac[ETH_ALEN],
    char *err, size_t err_len)
{
	int rc;

	rc = rt_link_set(ci->host_tap, mac, ci->mtu_bytes, true, true, err,
	    err_len);
	if (rc == 0)
		rc = rt_addr_flush(ci->host_tap, err, err_len);
	for (uint8_t k = 0; k < ci->n_addrs && rc == 0; k++) {
		const struct hg_prefix *p = &ci->addrs[k];

		rc = rt_addr_add(ci->host_tap, p->a.family, p->a.addr,
		    p->len_bits, err, err_len);
	}
	return rc;
}

static void
routes_remove(const struct hg_daemon *d, const struct hg_config *cfg)
{
	char err[256];

	for (uint32_t i = 0; i < n_host_routes; i++) {
		const struct host_route *r = &host_routes[i];

		if (rt_route_del(cfg->ifs[r->tap_if].host_tap, r->family,
		    r->prefix, r->plen, err, sizeof(err)) != 0 &&
		    strstr(err, "No such") == NULL)
			hg_log_warnx("host tap: %s", err);
	}
	free(host_routes);
	host_routes = NULL;
	n_host_routes = 0;
	(void)d;
}

/* Mirrors t's routes onto the TAPs, as the comment at the top says. */
static int
routes_install(struct hg_daemon *d, const struct hg_config *cfg,
    const struct ip_tables *t, char *err, size_t err_len)
{
	int first = first_tap(d);

	if (first < 0)
		return 0;
	host_routes = calloc(t->n_routes ? t->n_routes : 1,
	    sizeof(*host_routes));
	if (host_routes == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->n_routes; i++) {
		const struct ip_route *r = &t->routes[i];
		const struct ip_nh *nh = &t->nh[r->nh];
		struct host_route *h = &host_routes[n_host_routes];
		int rc;

		if (nh->type != IP_NH_CONNECTED && nh->type != IP_NH_GATEWAY)
			continue;
		/* The kernel made the TAP's own connected routes. */
		if (nh->type == IP_NH_CONNECTED && !r->is_static &&
		    d->host_taps[nh->if_idx] != NULL)
			continue;
		h->tap_if = d->host_taps[nh->if_idx] != NULL ? nh->if_idx :
		    (uint16_t)first;
		h->family = r->family == AF_INET6 ? AF_INET6 : AF_INET;
		h->plen = r->plen;
		memcpy(h->prefix, r->prefix, 16);
		rc = rt_route_replace(cfg->ifs[h->tap_if].host_tap, h->family,
		    h->prefix, h->plen, err, err_len);
		if (rc != 0)
			return rc;
		n_host_routes++;
	}
	return 0;
}

int
hg_host_taps_open(struct hg_daemon *d, const uint8_t macs[][ETH_ALEN],
    char *err, size_t err_len)
{
	const struct hg_config *cfg = d->cfg;
	char spec[HG_CFG_NAME_MAX + 8], perr[256];
	int rc;

	for (uint16_t i = 0; i < cfg->n_ifs; i++) {
		const struct hg_cfg_if *ci = &cfg->ifs[i];

		if (ci->host_tap[0] == '\0')
			continue;
		snprintf(spec, sizeof(spec), "tap:%s", ci->host_tap);
		rc = io_port_open(&d->host_taps[i], spec, d->n_workers, perr,
		    sizeof(perr));
		if (rc == 0)
			rc = tap_configure(ci, macs[i], perr, sizeof(perr));
		if (rc != 0) {
			snprintf(err, err_len, "interface %s: host tap %s: %s",
			    ci->name, ci->host_tap, perr);
			return rc;
		}
		hg_log_info("interface %s: host tap %s", ci->name,
		    ci->host_tap);
	}
	return 0;
}

int
hg_host_taps_sync(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_config *old, char *err, size_t err_len)
{
	const struct ip_tables *t = dp_tables(d->dp);
	int rc = 0;

	if (first_tap(d) < 0)
		return 0;
	routes_remove(d, old != NULL ? old : cfg);
	for (uint16_t i = 0; i < cfg->n_ifs && rc == 0; i++)
		if (d->host_taps[i] != NULL)
			rc = tap_configure(&cfg->ifs[i], t->ifs[i].mac, err,
			    err_len);
	if (rc == 0)
		rc = routes_install(d, cfg, t, err, err_len);
	return rc;
}

void
hg_host_taps_close(struct hg_daemon *d)
{
	for (uint16_t i = 0; i < IP_IF_MAX; i++) {
		if (d->host_taps[i] != NULL)
			io_port_close(d->host_taps[i]);
		d->host_taps[i] = NULL;
	}
	free(host_routes);
	host_routes = NULL;
	n_host_routes = 0;
}
