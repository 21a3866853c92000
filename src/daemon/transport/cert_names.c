/*
 * src/daemon/transport/cert_names.c: the configured addresses, as names for the
 * API's server certificate, so that https://<an appliance address>:8000
 * verifies against the API's ca.crt.  See cert_names.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../mgmt/api.h"
#include "cert_names.h"
#include "../daemon.h"

#define ADDR_TEXT_MAX	46	/* INET6_ADDRSTRLEN */

char **
hg_cert_names_of(const struct hg_config *cfg, size_t *n)
{
	size_t count = 0, k = 0;
	char **v, *text;

	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		count += cfg->ifs[i].n_addrs;
	/* the pointers, then the strings they point at */
	v = malloc(count * (sizeof(*v) + ADDR_TEXT_MAX) + 1);
	if (v == NULL)
		return NULL;
	text = (char *)(v + count);
	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		for (uint8_t j = 0; j < cfg->ifs[i].n_addrs; j++, k++) {
			v[k] = text + k * ADDR_TEXT_MAX;
			hg_addr_fmt(&cfg->ifs[i].addrs[j].a, v[k],
			    ADDR_TEXT_MAX);
		}
	*n = count;
	return v;
}

void
hg_cert_names_update(struct hg_daemon *d)
{
	char err[256], **names;
	size_t n;

	if (d->api == NULL)
		return;
	if ((names = hg_cert_names_of(d->cfg, &n)) == NULL) {
		hg_log_warnx("api: out of memory listing the addresses; the "
		    "certificate stays as it was");
		return;
	}
	if (hg_api_set_names(d->api, (const char *const *)names, n, err,
	    sizeof(err)) != 0)
		hg_log_warnx("api: the certificate stays as it was: %s", err);
	free(names);
}
