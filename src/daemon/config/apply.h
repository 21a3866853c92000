/*
 * src/daemon/config/apply.h: a configuration built beside the running
 * one and published in one swap, or refused whole with the running state
 * as it was: at start, at a reload (SIGHUP, the reload operation), and
 * for a stored version (a configuration put, a rollback, commit-confirm's
 * automatic rollback).  Builds on config/versions.h and the firewall.
 */
#ifndef HG_DAEMON_APPLY_H
#define HG_DAEMON_APPLY_H

#include "../daemon.h"

/* A configuration built beside the running one, not yet published. */
struct hg_staged {
	struct hg_config *cfg;
	char *text;			/* its JSON text (store); may be NULL */
	struct ip_tables *t;
	struct dp_fw *fw;
	struct hg_tunnels *tun;		/* its SAs: the kept ones, new ones */
	struct dp_tunnels *dpt;		/* what the data plane is given */
};

/* Control thread.  New tables for cfg, with each interface's MAC
 * and port state; NULL with a message in err. */
struct ip_tables *hg_build_tables(const struct hg_config *cfg,
    const uint8_t macs[][ETH_ALEN], struct io_port *const *ports,
    char *err, size_t err_len);
/* Pins cfg's static neighbours; unpins the ones no longer configured. */
int hg_apply_neighbors(struct ip_neigh_table *nt, const struct hg_config *cfg,
    char *err, size_t err_len);
/* Reload from d->config_path: all or nothing.  0, or -errno with err. */
int hg_reload(struct hg_daemon *d, char *err, size_t err_len);
/* Builds cfg (taken over, with text) as a reload would, firewall from
 * texts (NULL: the rule files); nothing live changes.  0, or -errno with
 * err and cfg freed. */
int hg_stage(struct hg_daemon *d, struct hg_config *cfg, char *text,
    const struct hg_store_doc *texts, struct hg_staged *st, char *err,
    size_t err_len);
/* Publishes a staged configuration in one swap; cannot fail. */
void hg_stage_publish(struct hg_daemon *d, struct hg_staged *st);
void hg_stage_free(struct hg_daemon *d, struct hg_staged *st);

/* The store's check of a version before it is written: its rules must
 * parse and compile for its config (arg is the daemon). */
int hg_config_check_doc(void *arg, const struct hg_store_doc *doc,
    const struct hg_config *cfg, char *err, size_t err_len);
/* Applies doc like a reload and commits it (comment), pending until
 * deadline_ns when that is not 0 (commit-confirm); all or nothing:
 * -EINVAL with the reason in err and nothing changed, -EBUSY while
 * another version awaits confirmation. */
int hg_config_apply_doc(struct hg_daemon *d, const struct hg_store_doc *doc,
    const char *comment, uint64_t deadline_ns, char *err, size_t err_len);
/* Arms the commit-confirm timer on d->base for the store's pending
 * version (none: disarms).  At the deadline the store rolls back and the
 * restored version is applied like a rollback. */
void hg_confirm_arm(struct hg_daemon *d);
/* Frees the timer; before d->base is freed. */
void hg_confirm_stop(struct hg_daemon *d);

#endif /* HG_DAEMON_APPLY_H */
