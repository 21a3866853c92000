/*
 * src/daemon/daemon.h: the state every part of hexgated shares.  The
 * parts, each a folder with its own header, in the order they build on
 * one another (each includes only the headers of the ones before it):
 *
 *   config/versions.h  the configuration's files and its versions in the
 *                      store (config/files.c, config/versions.c)
 *   config/tunnels.h   the ESP tunnels' SAs from their key files
 *   firewall/firewall.h  the firewall's control side: rule files parsed,
 *                      compiled and published (publish.c), its state
 *                      rendered (render.c)
 *   config/apply.h     a configuration built beside the running one and
 *                      published whole: start, reload, a stored version,
 *                      commit-confirm (config/apply.c)
 *   ops/ops.h          the operations, one table (docs/operations.md)
 *   transport/transport.h  the control socket and the HTTPS API
 *
 * main.c wires the process together and runs the control loop;
 * hosttap.c keeps the host side of the punt TAPs.
 */
#ifndef HG_DAEMON_H
#define HG_DAEMON_H

#include <event2/event.h>
#include <jansson.h>

#include "../dp/dp.h"
#include "../io/io.h"
#include "../ip/ip.h"
#include "../mgmt/config.h"

struct hg_tunnels;
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
	/* Who asks for the operation being run (the socket, the API, its
	 * peer): the author of the version it commits.  Set around one
	 * hg_op_run(); NULL fields: hexgated itself. */
	struct hg_store_who who;
	/* The ESP tunnels' SAs as the data plane runs them
	 * (config/tunnels.c); changed by a reload. */
	struct hg_tunnels *tunnels;
	/* IKEv2 (config/ike.c); NULL until started. */
	struct hg_ike *ike;
	/* The overlay (config/overlay.c); NULL: none configured. */
	struct hg_overlay *overlay;
};

/* The configuration version everywhere: the store's, or without a
 * store the number of reloads since start (1 at start). */
uint64_t hg_config_version(const struct hg_daemon *d);

/* hosttap.c: the host side of the punt TAPs (addresses, routes). */
int hg_host_taps_open(struct hg_daemon *d, const uint8_t macs[][ETH_ALEN],
    char *err, size_t err_len);
int hg_host_taps_sync(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_config *old, char *err, size_t err_len);
void hg_host_taps_close(struct hg_daemon *d);

#endif /* HG_DAEMON_H */
