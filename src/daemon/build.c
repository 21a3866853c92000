/*
 * src/daemon/build.c: configuration -> router tables, and reloads.
 * Everything is built beside the running state and published in one swap;
 * any error leaves the running state as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/log.h"
#include "api_names.h"
#include "daemon.h"

struct ip_tables *
hg_build_tables(const struct hg_config *cfg, const uint8_t macs[][ETH_ALEN],
    struct io_port *const *ports, char *err, size_t err_len)
{
	struct ip_tables *t;
	char why[256];

	if (ip_tables_create(&t) != 0) {
		snprintf(err, err_len, "out of memory building tables");
		return NULL;
	}
	t->n_if = cfg->n_ifs;
	for (uint16_t i = 0; i < cfg->n_ifs; i++) {
		const struct hg_cfg_if *ci = &cfg->ifs[i];
		struct ip_if *ifp = &t->ifs[i];

		snprintf(ifp->name, sizeof(ifp->name), "%s", ci->name);
		memcpy(ifp->mac, macs[i], ETH_ALEN);
		ifp->mtu_bytes = ci->mtu_bytes;
		ifp->up = ports[i] != NULL;
		for (uint8_t k = 0; k < ci->n_addrs; k++) {
			const struct hg_prefix *a = &ci->addrs[k];

			if (a->a.family == AF_INET) {
				struct ip_if_addr4 *x = &ifp->addr4[ifp->n_addr4++];

				memcpy(&x->addr_be, a->a.addr, 4);
				x->plen = a->len_bits;
			} else {
				struct ip_if_addr6 *x = &ifp->addr6[ifp->n_addr6++];

				memcpy(x->addr, a->a.addr, 16);
				x->plen = a->len_bits;
			}
		}
	}
	if (ip_tables_add_connected(t, why, sizeof(why)) != 0) {
		snprintf(err, err_len, "%s", why);
		goto fail;
	}
	for (uint32_t r = 0; r < cfg->n_routes; r++) {
		const struct hg_cfg_route *cr = &cfg->routes[r];

		if (ip_tables_add_route(t, cr->dst.a.family, cr->dst.a.addr,
		    cr->dst.len_bits, cr->has_via ? cr->via.addr : NULL,
		    cr->if_idx, cr->blackhole, why, sizeof(why)) != 0) {
			snprintf(err, err_len, "/routes/%u: %s", r, why);
			goto fail;
		}
	}
	return t;
fail:
	ip_tables_free(t);
	return NULL;
}

int
hg_apply_neighbors(struct ip_neigh_table *nt, const struct hg_config *cfg,
    char *err, size_t err_len)
{
	struct ip_neigh_info *keep;

	keep = calloc(cfg->n_neighs ? cfg->n_neighs : 1, sizeof(*keep));
	if (keep == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->n_neighs; i++) {
		const struct hg_cfg_neigh *cn = &cfg->neighs[i];

		keep[i].if_idx = (uint16_t)cn->if_idx;
		keep[i].family = cn->ip.family;
		memcpy(keep[i].addr, cn->ip.addr, 16);
		if (ip_neigh_set_static(nt, (uint16_t)cn->if_idx, cn->ip.family,
		    cn->ip.addr, cn->mac) != 0) {
			snprintf(err, err_len, "/neighbors/%u: neighbour table full", i);
			free(keep);
			return -ENOSPC;
		}
	}
	ip_neigh_unpin_except(nt, keep, cfg->n_neighs);
	free(keep);
	return 0;
}

/* A reload may change addresses, MTUs, routes and neighbours; interfaces
 * and their ports are fixed for the life of the process because
 * neighbour entries and worker queues are keyed by interface index. */
static int
same_interfaces(const struct hg_config *a, const struct hg_config *b,
    char *err, size_t err_len)
{
	if (a->n_ifs != b->n_ifs) {
		snprintf(err, err_len, "the number of interfaces changed "
		    "(%u -> %u); restart hexgated to add or remove interfaces",
		    a->n_ifs, b->n_ifs);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < a->n_ifs; i++) {
		if (strcmp(a->ifs[i].name, b->ifs[i].name) != 0 ||
		    strcmp(a->ifs[i].port, b->ifs[i].port) != 0) {
			snprintf(err, err_len, "/interfaces/%u: name or port "
			    "changed (%s %s -> %s %s); restart hexgated to "
			    "change ports", i, a->ifs[i].name, a->ifs[i].port,
			    b->ifs[i].name, b->ifs[i].port);
			return -EINVAL;
		}
		if (strcmp(a->ifs[i].host_tap, b->ifs[i].host_tap) != 0) {
			snprintf(err, err_len, "/interfaces/%u/host_tap: adding, "
			    "removing or renaming a host tap needs a restart", i);
			return -EINVAL;
		}
		if (a->ifs[i].has_mac != b->ifs[i].has_mac ||
		    memcmp(a->ifs[i].mac, b->ifs[i].mac, ETH_ALEN) != 0) {
			snprintf(err, err_len, "/interfaces/%u/mac: a MAC "
			    "change needs a restart", i);
			return -EINVAL;
		}
	}
	return 0;
}

int
hg_stage(struct hg_daemon *d, struct hg_config *cfg, char *text,
    const struct hg_store_doc *texts, struct hg_staged *st, char *err,
    size_t err_len)
{
	const struct ip_tables *cur = dp_tables(d->dp);
	uint8_t macs[IP_IF_MAX][ETH_ALEN];
	int rc;

	memset(st, 0, sizeof(*st));
	st->cfg = cfg;
	st->text = text;
	rc = same_interfaces(d->cfg, cfg, err, err_len);
	if (rc != 0)
		goto fail;
	for (uint16_t i = 0; i < cur->n_if; i++)
		memcpy(macs[i], cur->ifs[i].mac, ETH_ALEN);
	st->t = hg_build_tables(cfg, (const uint8_t (*)[ETH_ALEN])macs,
	    d->ports, err, err_len);
	if (st->t == NULL) {
		rc = -EINVAL;
		goto fail;
	}
	rc = hg_fw_prepare(d, cfg, texts, &st->fw, err, err_len);
	if (rc != 0)
		goto fail;
	rc = hg_apply_neighbors(d->nt, cfg, err, err_len);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	hg_stage_free(st);
	return rc;
}

void
hg_stage_publish(struct hg_daemon *d, struct hg_staged *st)
{
	char herr[256];

	st->t->version = ++d->version;
	dp_tables_swap(d->dp, st->t);
	dp_fw_swap(d->dp, st->fw);
	if (hg_host_taps_sync(d, st->cfg, d->cfg, herr, sizeof(herr)) != 0)
		hg_log_warnx("reload: host taps: %s", herr);
	hg_log_set_level(st->cfg->log_level);
	hg_config_free(d->cfg);
	d->cfg = st->cfg;
	hg_api_names_update(d);		/* re-issued if addresses changed */
	if (st->text != NULL) {
		free(d->cfg_text);
		d->cfg_text = st->text;
	}
	memset(st, 0, sizeof(*st));
}

void
hg_stage_free(struct hg_staged *st)
{
	if (st->t != NULL)
		ip_tables_free(st->t);
	if (st->fw != NULL)
		dp_fw_free(st->fw);
	hg_config_free(st->cfg);
	free(st->text);
	memset(st, 0, sizeof(*st));
}

/* The file's configuration and its text (with a store, which keeps the
 * text); NULL with err. */
static struct hg_config *
reload_read(struct hg_daemon *d, char **text, char *err, size_t err_len)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	size_t len;

	*text = NULL;
	memset(&errs, 0, sizeof(errs));
	if (d->store == NULL)
		cfg = hg_config_load(d->config_path, &errs);
	else {
		*text = hg_read_file(d->config_path, &len, err, err_len);
		if (*text == NULL)
			return NULL;
		cfg = hg_config_parse(*text, len, &errs);
	}
	if (cfg == NULL) {
		free(*text);
		*text = NULL;
		hg_config_errs_log(d->config_path, &errs);
		snprintf(err, err_len, "%s: %s: %s (%u error%s)",
		    d->config_path, errs.n ? errs.e[0].where : "?",
		    errs.n ? errs.e[0].msg : "unreadable", errs.n,
		    errs.n == 1 ? "" : "s");
	}
	return cfg;
}

int
hg_reload(struct hg_daemon *d, char *err, size_t err_len)
{
	struct hg_staged st;
	struct hg_config *cfg;
	char *text;
	int rc;

	cfg = reload_read(d, &text, err, err_len);
	if (cfg == NULL)
		return -EINVAL;
	rc = hg_stage(d, cfg, text, NULL, &st, err, err_len);
	if (rc != 0)
		return rc;
	if (d->store != NULL) {
		rc = hg_store_record(d, st.text, st.fw, "reload", err, err_len);
		if (rc != 0) {
			hg_stage_free(&st);
			return rc;
		}
	}
	hg_stage_publish(d, &st);
	return 0;
}
