/*
 * src/daemon/config/apply.c: a configuration applied: router tables and
 * firewall built from it beside the running state and published in one
 * swap, at a reload or for a stored version (a put, a rollback, the
 * commit-confirm timer's rollback); any error leaves the running state
 * as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../fw/set.h"
#include "../../lib/log.h"
#include "../transport/cert_names.h"
#include "../daemon.h"
#include "../firewall/firewall.h"
#include "apply.h"
#include "ike.h"
#include "overlay.h"
#include "tunnels.h"
#include "versions.h"

/* Whether a configured route names prefix p (host bits aside). */
static bool
route_configured(const struct hg_config *cfg, const struct hg_prefix *p)
{
	struct dp_ts ts = { .family = p->a.family, .plen = p->len_bits };

	memcpy(ts.addr, p->a.addr, 16);
	for (uint32_t r = 0; r < cfg->n_routes; r++) {
		const struct hg_prefix *d = &cfg->routes[r].dst;

		if (d->len_bits == p->len_bits &&
		    dp_ts_match(&ts, 1, d->a.family, d->a.addr))
			return true;
	}
	return false;
}

/*
 * A policy tunnel ("policy": true): its remote subnets are routed to it,
 * so its selectors alone decide what enters it.  A configured route of
 * the same prefix wins; one that clashes with a connected network is an
 * error that names the subnet.
 */
static int
tunnel_routes(const struct hg_config *cfg, struct ip_tables *t, char *err,
    size_t err_len)
{
	char why[256];

	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];

		for (uint8_t j = 0; tn->policy && j < tn->n_remote; j++) {
			const struct hg_prefix *p = &tn->remote_subnets[j];

			if (route_configured(cfg, p))
				continue;
			if (ip_tables_add_route(t, p->a.family, p->a.addr,
			    p->len_bits, NULL, tn->if_idx, false, why,
			    sizeof(why)) != 0) {
				snprintf(err, err_len, "/tunnels/%u/remote_subnets"
				    "/%u: %s (a policy tunnel routes its remote "
				    "subnets to itself)", k, j, why);
				return -EINVAL;
			}
		}
	}
	/* The overlay's site peers: their allowed IPs are routed to the
	 * overlay, as wg-quick routes a peer's (but not a /0: a default
	 * route stays the configuration's to give). */
	for (uint16_t k = 0; cfg->overlay.enabled &&
	    k < cfg->overlay.n_peers; k++) {
		const struct hg_cfg_wg_peer *wp = &cfg->overlay.peers[k];

		for (uint8_t j = 0; !wp->client && j < wp->n_allowed; j++) {
			const struct hg_prefix *p = &wp->allowed[j];

			if (p->len_bits == 0 || route_configured(cfg, p))
				continue;
			if (ip_tables_add_route(t, p->a.family, p->a.addr,
			    p->len_bits, NULL, cfg->overlay.if_idx, false, why,
			    sizeof(why)) != 0) {
				snprintf(err, err_len, "overlay peer %s: "
				    "allowed_ips %u: %s (a site peer's allowed "
				    "IPs are routed to the overlay)", wp->name,
				    j, why);
				return -EINVAL;
			}
		}
	}
	return 0;
}

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
		/* A tunnel is up while configured: it has no port. */
		ifp->up = ports[i] != NULL || ci->tunnel || ci->overlay;
		ifp->encap = ci->tunnel || ci->overlay;
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
	if (tunnel_routes(cfg, t, err, err_len) != 0)
		goto fail;
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

/* The interfaces with a port, first in ifs[]; the tunnels follow. */
static uint16_t
n_ports(const struct hg_config *c)
{
	uint16_t n = 0;

	while (n < c->n_ifs && !c->ifs[n].tunnel && !c->ifs[n].overlay &&
	    c->ifs[n].name[0] != '\0')
		n++;
	return n;
}

/*
 * A reload may change addresses, MTUs, routes, neighbours and tunnels
 * (added, removed, changed: config/tunnels.c); the interfaces with a port
 * are fixed for the life of the process, because their ports, queues
 * and host TAPs are opened at start.
 */
static int
same_interfaces(const struct hg_config *a, const struct hg_config *b,
    char *err, size_t err_len)
{
	uint16_t na = n_ports(a), nb = n_ports(b);

	if (na != nb) {
		snprintf(err, err_len, "the number of interfaces changed "
		    "(%u -> %u); restart hexgated to add or remove interfaces "
		    "(tunnels come and go at a reload)", na, nb);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < na; i++) {
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
	/* A tunnel's host TAP, like a port's, is opened at start: the
	 * tunnels that have one stay, with it, until a restart. */
	for (int side = 0; side < 2; side++) {
		const struct hg_config *x = side ? b : a, *y = side ? a : b;

		for (uint16_t k = 0; k < x->n_tunnels; k++) {
			const struct hg_cfg_if *xi = &x->ifs[x->tunnels[k].if_idx];
			const struct hg_cfg_if *yi = NULL;

			for (uint16_t j = 0; j < y->n_tunnels; j++)
				if (strcmp(y->tunnels[j].name,
				    x->tunnels[k].name) == 0)
					yi = &y->ifs[y->tunnels[j].if_idx];
			if (xi->host_tap[0] != '\0' && (yi == NULL ||
			    strcmp(yi->host_tap, xi->host_tap) != 0)) {
				snprintf(err, err_len, "tunnel %s: its host tap "
				    "%s is %s by this configuration; host taps "
				    "are opened at start: restart hexgated",
				    xi->name, xi->host_tap, side ? "added" :
				    "removed or changed");
				return -EINVAL;
			}
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
	if (rc == 0)
		rc = hg_tunnels_place(d->cfg, cfg, err, err_len);
	if (rc == 0)
		rc = hg_ike_conns(d, cfg, NULL, NULL, err, err_len);
	if (rc == 0)
		rc = hg_overlay_check(d, cfg, true, err, err_len);
	if (rc != 0)
		goto fail;
	/* Ports keep their MACs; a tunnel's is its ports' first's (what
	 * it decapsulates is addressed to it as if it had come there). */
	memset(macs, 0, sizeof(macs));
	for (uint16_t i = 0; i < cur->n_if; i++)
		memcpy(macs[i], cur->ifs[i].mac, ETH_ALEN);
	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		if (cfg->ifs[i].tunnel || cfg->ifs[i].overlay)
			hg_mac_from_name(cfg->ifs[i].name, macs[i]);
	st->t = hg_build_tables(cfg, (const uint8_t (*)[ETH_ALEN])macs,
	    d->ports, err, err_len);
	if (st->t == NULL) {
		rc = -EINVAL;
		goto fail;
	}
	rc = hg_fw_prepare(d, cfg, texts, &st->fw, err, err_len);
	if (rc != 0)
		goto fail;
	st->tun = malloc(sizeof(*st->tun));
	st->dpt = malloc(sizeof(*st->dpt));
	if (st->tun == NULL || st->dpt == NULL) {
		snprintf(err, err_len, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	rc = hg_tunnels_stage(d, d->cfg, cfg, d->tunnels, st->tun, err,
	    err_len);
	if (rc != 0) {
		free(st->tun);
		st->tun = NULL;
		goto fail;
	}
	*st->dpt = st->tun->dp;
	rc = hg_apply_neighbors(d->nt, cfg, err, err_len);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	hg_stage_free(d, st);
	return rc;
}

void
hg_stage_publish(struct hg_daemon *d, struct hg_staged *st)
{
	char herr[256];

	/* hg-ike installs SAs into d->tunnels and reads d->cfg: both change
	 * here, and its SAs of kept connections are taken now (not at the
	 * stage, which ran without the lock). */
	hg_ike_lock(d);
	hg_tunnels_take_ike(d->cfg, st->cfg, d->tunnels, st->tun);
	*st->dpt = st->tun->dp;
	st->t->version = ++d->version;
	/* A tunnel in a slot that was no tunnel's counts from zero; then
	 * its SAs before the routes to it, so what is routed there finds
	 * them (and what a removed one had is dropped, counted). */
	for (uint16_t k = 0; k < st->cfg->n_tunnels; k++) {
		uint16_t i = st->cfg->tunnels[k].if_idx;

		if (i >= d->cfg->n_ifs || !d->cfg->ifs[i].tunnel)
			dp_if_clear(d->dp, i);
	}
	hg_tunnels_move(st->cfg, st->tun, st->dpt);
	dp_tunnels_swap(d->dp, st->dpt);
	dp_tables_swap(d->dp, st->t);
	dp_fw_swap(d->dp, st->fw);
	/* No worker holds what the old tables had: the SAs gone may go. */
	hg_tunnels_commit(d->cfg, st->cfg, d->tunnels, st->tun);
	free(st->tun);
	if (hg_host_taps_sync(d, st->cfg, d->cfg, herr, sizeof(herr)) != 0)
		hg_log_warnx("reload: host taps: %s", herr);
	hg_log_set_level(st->cfg->log_level);
	hg_config_free(d->cfg);
	d->cfg = st->cfg;
	hg_cert_names_update(d);		/* re-issued if addresses changed */
	hg_ike_reload(d);
	hg_overlay_reload(d);
	hg_ike_unlock(d);
	if (st->text != NULL) {
		free(d->cfg_text);
		d->cfg_text = st->text;
	}
	memset(st, 0, sizeof(*st));
}

void
hg_stage_free(struct hg_daemon *d, struct hg_staged *st)
{
	if (st->t != NULL)
		ip_tables_free(st->t);
	if (st->fw != NULL)
		dp_fw_free(st->fw);
	if (st->tun != NULL) {
		hg_tunnels_unstage(st->tun, d->tunnels);
		free(st->tun);
	}
	free(st->dpt);
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
		rc = hg_versions_record(d, st.text, st.fw, "reload", err, err_len);
		if (rc != 0) {
			hg_stage_free(d, &st);
			return rc;
		}
	}
	hg_stage_publish(d, &st);
	return 0;
}

/* --- a stored version applied --------------------------------------- */

/* The store's check: the rules of a version must parse and compile for
 * its config, so a version the firewall cannot take is never written. */
int
hg_config_check_doc(void *arg, const struct hg_store_doc *doc,
    const struct hg_config *cfg, char *err, size_t err_len)
{
	struct hg_daemon *d = arg;

	if (d->sets == NULL)
		return 0;	/* before the firewall starts: boot checks */
	return hg_fw_check_texts(d, cfg, doc, err, err_len);
}

int
hg_config_apply_doc(struct hg_daemon *d, const struct hg_store_doc *doc,
    const char *comment, uint64_t deadline_ns, char *err, size_t err_len)
{
	struct hg_cfg_errs errs;
	struct hg_staged st;
	struct hg_config *cfg;
	char *text, *live_sets;
	int rc;

	/* Sets change through restores, which add to the live sets; a
	 * document whose sets differ is refused rather than half done. */
	live_sets = fw_sets_save(d->sets);
	if (live_sets == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (doc->sets != NULL && strcmp(doc->sets, live_sets) != 0) {
		free(live_sets);
		snprintf(err, err_len, "/sets: differs from the live sets; "
		    "change sets with PUT /api/firewall/fwsets");
		return -EINVAL;
	}
	free(live_sets);
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(doc->config, strlen(doc->config), &errs);
	if (cfg == NULL) {
		snprintf(err, err_len, "/config%s: %s (%u error%s)",
		    errs.n ? errs.e[0].where : "", errs.n ? errs.e[0].msg :
		    "unreadable", errs.n, errs.n == 1 ? "" : "s");
		return -EINVAL;
	}
	snprintf(cfg->store, sizeof(cfg->store), "%s", d->cfg->store);
	text = strdup(doc->config);
	if (text == NULL) {
		hg_config_free(cfg);
		return -ENOMEM;
	}
	rc = hg_stage(d, cfg, text, doc, &st, err, err_len);
	if (rc != 0)
		return rc;
	rc = hg_versions_record_at(d, st.text, st.fw, comment, deadline_ns, err,
	    err_len);
	if (rc != 0) {
		hg_stage_free(d, &st);
		return rc;
	}
	hg_stage_publish(d, &st);
	if (deadline_ns != 0)
		hg_confirm_arm(d);
	return 0;
}

/* --- commit-confirm ---------------------------------------------------- */

/*
 * The store already appended the rolled-back-to version; this makes the
 * running configuration match it, as a rollback would (the live sets
 * stay), without committing anything.
 */
static int
store_run_version(struct hg_daemon *d, uint64_t version, char *err,
    size_t err_len)
{
	struct hg_store_doc doc;
	struct hg_cfg_errs errs;
	struct hg_staged st;
	struct hg_config *cfg;
	char *text;
	int rc;

	rc = hg_store_get(d->store, version, &doc);
	if (rc != 0) {
		snprintf(err, err_len, "version %llu: %s",
		    (unsigned long long)version, strerror(-rc));
		return rc;
	}
	free(doc.sets);
	doc.sets = NULL;
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(doc.config, strlen(doc.config), &errs);
	text = cfg != NULL ? strdup(doc.config) : NULL;
	if (cfg == NULL || text == NULL) {
		snprintf(err, err_len, "version %llu: %s",
		    (unsigned long long)version, errs.n ? errs.e[0].msg :
		    "out of memory");
		hg_config_free(cfg);
		hg_store_doc_free(&doc);
		return -EINVAL;
	}
	snprintf(cfg->store, sizeof(cfg->store), "%s", d->cfg->store);
	rc = hg_stage(d, cfg, text, &doc, &st, err, err_len);
	hg_store_doc_free(&doc);
	if (rc != 0)
		return rc;
	hg_stage_publish(d, &st);
	d->store_version = version;
	return 0;
}

static void
store_confirm_due(evutil_socket_t fd, short what, void *arg)
{
	struct hg_daemon *d = arg;
	uint64_t pend, deadline_ns, restored;
	char err[1024];
	int rc;

	(void)fd;
	(void)what;
	if (hg_store_pending(d->store, &pend, &deadline_ns) != 0)
		return;		/* confirmed or rolled back meanwhile */
	rc = hg_store_expire(d->store, hg_store_now_ns(), &restored);
	if (rc != 0) {
		hg_log_warnx("store: version %llu: expiry failed: %s",
		    (unsigned long long)pend, strerror(-rc));
		return;
	}
	if (restored == 0) {
		/* The wall clock went back: wait for the deadline again. */
		hg_confirm_arm(d);
		return;
	}
	/* The store logged the rollback; what is left is to run it. */
	if (store_run_version(d, restored, err, sizeof(err)) != 0)
		hg_log_warnx("store: version %llu cannot be applied, the "
		    "unconfirmed configuration still runs: %s",
		    (unsigned long long)restored, err);
}

void
hg_confirm_arm(struct hg_daemon *d)
{
	uint64_t pend, deadline_ns, now_ns, wait_ns;
	struct timeval tv;

	if (d->store == NULL || d->base == NULL)
		return;
	if (d->confirm_ev == NULL) {
		d->confirm_ev = evtimer_new(d->base, store_confirm_due, d);
		if (d->confirm_ev == NULL) {
			hg_log_warnx("store: no timer for commit-confirm");
			return;
		}
	}
	evtimer_del(d->confirm_ev);
	if (hg_store_pending(d->store, &pend, &deadline_ns) != 0)
		return;
	now_ns = hg_store_now_ns();
	/* A millisecond late rather than early: expire compares with now. */
	wait_ns = deadline_ns > now_ns ? deadline_ns - now_ns + 1000000 : 0;
	tv.tv_sec = (time_t)(wait_ns / 1000000000u);
	tv.tv_usec = (suseconds_t)(wait_ns % 1000000000u / 1000u);
	evtimer_add(d->confirm_ev, &tv);
}

void
hg_confirm_stop(struct hg_daemon *d)
{
	if (d->confirm_ev != NULL)
		event_free(d->confirm_ev);
	d->confirm_ev = NULL;
}
