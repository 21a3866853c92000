/*
 * src/daemon/daemon.h: what the files of hexgated share.  main.c wires the
 * process together and runs the control loop; build.c turns a
 * configuration into router tables; ctl.c serves the control socket;
 * store.c keeps the configuration in the versioned store when asked.
 */
#ifndef HG_DAEMON_H
#define HG_DAEMON_H

#include <event2/event.h>
#include <jansson.h>

#include "../dp/dp.h"
#include "../io/io.h"
#include "../ip/ip.h"
#include "../mgmt/config.h"
#include "../mgmt/store.h"

struct hg_daemon {
	const char *config_path;
	struct hg_config *cfg;		/* the running configuration */
	uint64_t version;		/* bumped by each successful reload */
	uint64_t started_ns;
	uint16_t n_workers;
	struct io_port *ports[IP_IF_MAX];
	struct io_port *host_taps[IP_IF_MAX];	/* punt TAPs, or NULL */
	struct fw_sets *sets;		/* FWSets, for the life of the process */
	struct ip_neigh_table *nt;
	struct dp *dp;
	struct event_base *base;
	struct evconnlistener *ctl;
	struct hg_api *api;		/* NULL: no API configured */
	/* The versioned store (config "store"); NULL: the files are the
	 * configuration and nothing below is used. */
	struct hg_store *store;
	uint64_t store_version;		/* the version running */
	char *cfg_text;			/* the running config's JSON text */
	struct hg_store_doc *boot;	/* start: the texts to start from */
	/* Fires at a pending version's deadline (commit-confirm). */
	struct event *confirm_ev;
	/* Who asks for the request being served (the socket, the API, its
	 * peer): the author of the version it commits.  Set around one
	 * hg_ctl_request(); NULL fields: hexgated itself. */
	struct hg_store_who who;
};

/* A configuration built beside the running one, not yet published. */
struct hg_staged {
	struct hg_config *cfg;
	char *text;			/* its JSON text (store); may be NULL */
	struct ip_tables *t;
	struct dp_fw *fw;
};

/* build.c: control thread.  New tables for cfg, with each interface's MAC
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
void hg_stage_free(struct hg_staged *st);

/* firewall.c: control thread. */
/* Reads the sets and rule files of d->cfg and publishes the firewall. */
int hg_fw_start(struct hg_daemon *d, char *err, size_t err_len);
/* A new firewall from cfg's rule files, or from texts' rules and rules6
 * when not NULL, for a reload to publish. */
int hg_fw_prepare(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, struct dp_fw **out, char *err,
    size_t err_len);
/* Parses and compiles texts' rules for cfg, keeping nothing. */
int hg_fw_check_texts(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, char *err, size_t err_len);
/* p made absolute against the config file's folder (rule files, store). */
void hg_cfg_rel_path(const struct hg_daemon *d, const char *p, char *out,
    size_t len);
/* A whole file, NUL-terminated (malloc'd); NULL with err. */
char *hg_read_file(const char *path, size_t *len, char *err, size_t err_len);
void hg_fw_stop(struct hg_daemon *d);
/*
 * The firewall's changes, as the operations make them.  Each returns the
 * answer, or {"error": "...", "errors": [located...]} with nothing
 * changed (hg_op_relay() turns it into the operation's reply).
 */
/* cmd 'A' appends (pos 0), 'I' inserts at pos (0: 1), 'D' deletes the
 * rule at pos or, with pos 0, the first one with rule's text. */
json_t *hg_fw_edit(struct hg_daemon *d, uint8_t family, char cmd,
    const char *chain, uint32_t pos, const char *rule);
/* Replaces family's rules with iptables-restore text; src names it in
 * errors. */
json_t *hg_fw_restore(struct hg_daemon *d, uint8_t family, const char *src,
    const char *body, size_t len);
/* {"text": iptables-save text with counters}. */
json_t *hg_fw_save(struct hg_daemon *d, uint8_t family);
/* The located errors of the last firewall build that failed (a reload,
 * a configuration put), as a JSON array, taken; NULL if none. */
json_t *hg_fw_take_errors(void);
/* Replaces or edits the sets with ipset restore text. */
json_t *hg_sets_restore(struct hg_daemon *d, const char *src,
    const char *body, size_t len);
json_t *hg_fw_show(struct hg_daemon *d);
/* Flows, or with nat_only the translated ones ("nat show"). */
json_t *hg_ct_show(struct hg_daemon *d, bool nat_only);
/* hosttap.c: the host side of the punt TAPs (addresses, routes). */
int hg_host_taps_open(struct hg_daemon *d, const uint8_t macs[][ETH_ALEN],
    char *err, size_t err_len);
int hg_host_taps_sync(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_config *old, char *err, size_t err_len);
void hg_host_taps_close(struct hg_daemon *d);

/* store.c: the configuration store's side of hexgated (config "store"). */
/* Before the ports open: opens the store and, when it has a version,
 * replaces d->cfg with it and sets d->boot. */
int hg_store_boot(struct hg_daemon *d, char *err, size_t err_len);
/* Once the firewall runs: an empty store gets the running configuration
 * as version 1; d->boot is released. */
int hg_store_started(struct hg_daemon *d, char *err, size_t err_len);
void hg_store_stop(struct hg_daemon *d);
/* Commits cfg_text, fw's rules (without counters) and the live sets as a
 * new version by d->who, with comment; sets d->store_version. */
int hg_store_record(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, char *err,
    size_t err_len);
/* The running version as {"version", "config", "rules", "rules6",
 * "sets"}; NULL with err. */
json_t *hg_store_doc_json(struct hg_daemon *d, uint64_t version, char *err,
    size_t err_len);
/* Applies doc like a reload and commits it (comment), pending until
 * deadline_ns when that is not 0 (commit-confirm); all or nothing:
 * -EINVAL with the reason in err and nothing changed, -EBUSY while
 * another version awaits confirmation. */
int hg_store_apply(struct hg_daemon *d, const struct hg_store_doc *doc,
    const char *comment, uint64_t deadline_ns, char *err, size_t err_len);
/* Arms the commit-confirm timer on d->base for the store's pending
 * version (none: disarms).  At the deadline the store rolls back and the
 * restored version is applied like a rollback. */
void hg_store_confirm_arm(struct hg_daemon *d);
/* Frees the timer; before d->base is freed. */
void hg_store_confirm_stop(struct hg_daemon *d);

/* The configuration version everywhere: the store's, or without a
 * store the number of reloads since start (1 at start). */
uint64_t hg_config_version(const struct hg_daemon *d);

/* ctl.c: the control socket, a transport of the operations (ops.h). */
int hg_ctl_open(struct hg_daemon *d, const char *path);
void hg_ctl_close(struct hg_daemon *d, const char *path);
/* api.c: the HTTPS API on d->base when the configuration asks for it,
 * the other transport. */
int hg_api_start(struct hg_daemon *d, char *err, size_t err_len);
void hg_api_stop(struct hg_daemon *d);

/* op_config.c: an API token's SHA-256, as the store keeps it. */
int hg_token_hash(const char *token, char hex[65]);

/* metrics.c: the counters as Prometheus text (format 0.0.4) for GET
 * /metrics; malloc'd, *len bytes, or NULL when out of memory. */
char *hg_metrics_text(struct hg_daemon *d, size_t *len);

#endif /* HG_DAEMON_H */
