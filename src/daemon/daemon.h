/*
 * src/daemon/daemon.h: what the files of hexgated share.  main.c wires the
 * process together and runs the control loop; build.c turns a
 * configuration into router tables; ctl.c serves the control socket.
 */
#ifndef HG_DAEMON_H
#define HG_DAEMON_H

#include <event2/event.h>
#include <jansson.h>

#include "../dp/dp.h"
#include "../io/io.h"
#include "../ip/ip.h"
#include "../mgmt/config.h"

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

/* firewall.c: control thread. */
/* Reads the sets and rule files of d->cfg and publishes the firewall. */
int hg_fw_start(struct hg_daemon *d, char *err, size_t err_len);
/* A new firewall from cfg's rule files, for a reload to publish. */
int hg_fw_prepare(struct hg_daemon *d, const struct hg_config *cfg,
    struct dp_fw **out, char *err, size_t err_len);
void hg_fw_stop(struct hg_daemon *d);
/* Serves "firewall ..." and "sets ..." requests; NULL if line is
 * neither.  body is a restore's text. */
json_t *hg_fw_ctl(struct hg_daemon *d, const char *line, const char *body,
    size_t body_len);
/* 1 and *len when line announces a body of len bytes, 0 when it has
 * none, -EINVAL when its length is bad. */
int hg_fw_body_len(const char *line, size_t *len);
json_t *hg_fw_show(struct hg_daemon *d);
/* Flows, or with nat_only the translated ones ("nat show"). */
json_t *hg_ct_show(struct hg_daemon *d, bool nat_only);
/* hosttap.c: the host side of the punt TAPs (addresses, routes). */
int hg_host_taps_open(struct hg_daemon *d, const uint8_t macs[][ETH_ALEN],
    char *err, size_t err_len);
int hg_host_taps_sync(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_config *old, char *err, size_t err_len);
void hg_host_taps_close(struct hg_daemon *d);

/* ctl.c */
/* One control request ("show interfaces", "firewall add -4 ..."), as the
 * socket and the API serve it: a JSON object, {"error": ...} on failure. */
json_t *hg_ctl_request(struct hg_daemon *d, const char *line,
    const char *body, size_t body_len);
/* api.c: the HTTPS API on d->base when the configuration asks for it. */
int hg_api_start(struct hg_daemon *d, char *err, size_t err_len);
void hg_api_stop(struct hg_daemon *d);
int hg_ctl_open(struct hg_daemon *d, const char *path);
void hg_ctl_close(struct hg_daemon *d, const char *path);

#endif /* HG_DAEMON_H */
