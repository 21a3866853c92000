/*
 * src/daemon/main.c: hexgated.  Loads the configuration, opens the ports,
 * builds the router tables, starts the workers (src/dp) and runs the
 * control loop (libevent): signals, the control socket (ctl.c), and the
 * end of replay runs.  SIGHUP reloads (build.c), SIGTERM and SIGINT stop.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "../lib/log.h"
#include "../lib/hg_time.h"
#include "config/apply.h"
#include "config/ike.h"
#include "config/overlay.h"
#include "config/tunnels.h"
#include "config/versions.h"
#include "daemon.h"
#include "firewall/firewall.h"
#include "transport/transport.h"

#define EOF_CHECK_MS	20

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hexgated -c CONFIG [--check] [--exit-on-eof] [--foreground]\n"
	    "  -c, --config FILE   JSON configuration (see docs/examples/hexgated.json)\n"
	    "      --check         check the configuration as a start would, short of\n"
	    "                      opening the ports, and exit\n"
	    "      --exit-on-eof   stop once every replay or generator input has ended\n"
	    "                      and no packet is held (pcap tests, benchmarks)\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this text\n"
	    "Signals: SIGHUP reloads the configuration atomically; SIGTERM stops.\n");
}

static int
open_ports(struct hg_daemon *d, uint8_t macs[][ETH_ALEN])
{
	const struct hg_config *cfg = d->cfg;
	char err[256];

	for (uint16_t i = 0; i < cfg->n_ifs; i++) {
		const struct hg_cfg_if *ci = &cfg->ifs[i];
		int rc;

		/* A tunnel, or the overlay, has no port: the encapsulation
		 * stage sends what is routed to it through another
		 * interface. */
		if (ci->tunnel || ci->overlay) {
			hg_mac_from_name(ci->name, macs[i]);
			continue;
		}
		rc = io_port_open(&d->ports[i], ci->port, d->n_workers, err,
		    sizeof(err));
		if (rc != 0) {
			hg_log_warnx("interface %s: %s", ci->name, err);
			return rc;
		}
		if (ci->has_mac)
			memcpy(macs[i], ci->mac, ETH_ALEN);
		else if (io_port_mac(d->ports[i], macs[i]) != 0)
			hg_mac_from_name(ci->name, macs[i]);
		hg_log_info("interface %s: port %s, %u queue(s)", ci->name,
		    ci->port, io_port_rx_queues(d->ports[i]));
	}
	return 0;
}

/*
 * --check: every check a start makes that needs no port opened, each
 * logged as a start logs it: the router tables built as run() builds
 * them (gateways on a connected network, routes' interfaces), with the
 * configured MACs or placeholders for the ports' own; the static
 * neighbours in a table of a start's size; the sets and rule files
 * loaded and compiled.  0 when all pass.  An afpacket device missing
 * here is only warned about: the file may be meant for another machine.
 */
static int
check_config(struct hg_daemon *d)
{
	uint8_t macs[IP_IF_MAX][ETH_ALEN];
	struct ip_neigh_table *nt = NULL;
	struct ip_tables *t;
	char err[512];
	int bad = 0;

	for (uint16_t i = 0; i < d->cfg->n_ifs; i++) {
		const char *port = d->cfg->ifs[i].port;

		/* A device that is not here may be there on the machine
		 * that runs the file: said, not refused. */
		if (strncmp(port, "afpacket:", 9) == 0 &&
		    if_nametoindex(port + 9) == 0)
			hg_log_warnx("%s: /interfaces/%u/port: no device %s on "
			    "this machine: a start here would fail to open it",
			    d->config_path, i, port + 9);
		if (d->cfg->ifs[i].has_mac)
			memcpy(macs[i], d->cfg->ifs[i].mac, ETH_ALEN);
		else
			hg_mac_from_name(d->cfg->ifs[i].name, macs[i]);
	}
	t = hg_build_tables(d->cfg, (const uint8_t (*)[ETH_ALEN])macs,
	    d->ports, err, sizeof(err));
	if (t == NULL) {
		hg_log_warnx("%s: %s", d->config_path, err);
		bad++;
	}
	ip_tables_free(t);
	if (ip_neigh_table_create(&nt, 65536) != 0 ||
	    hg_apply_neighbors(nt, d->cfg, err, sizeof(err)) != 0) {
		hg_log_warnx("%s: neighbours: %s", d->config_path,
		    nt == NULL ? "out of memory" : err);
		bad++;
	}
	ip_neigh_table_destroy(nt);
	/* The rule and set files are part of the configuration. */
	d->n_workers = 1;
	if (hg_fw_start(d, err, sizeof(err)) != 0) {
		hg_log_warnx("%s", err);
		bad++;
	}
	hg_fw_stop(d);
	/* The tunnels' key files: there, root's only, the right length. */
	d->tunnels = calloc(1, sizeof(*d->tunnels));
	if (d->tunnels == NULL ||
	    hg_tunnels_open(d, d->cfg, d->tunnels, err, sizeof(err)) != 0) {
		hg_log_warnx("%s: %s", d->config_path, d->tunnels == NULL ?
		    "out of memory" : err);
		bad++;
	} else
		hg_tunnels_close(d->tunnels);
	free(d->tunnels);
	d->tunnels = NULL;
	/* The overlay's key file (not made here) and preshared keys. */
	if (hg_overlay_check(d, d->cfg, false, err, sizeof(err)) != 0) {
		hg_log_warnx("%s: %s", d->config_path, err);
		bad++;
	}
	return bad == 0 ? 0 : -EINVAL;
}

static void
ct_timeouts_from_cfg(const struct hg_config *cfg, struct ct_timeouts *to)
{
	static const uint8_t tcp_state[] = {
		[HG_CFG_CT_TCP_SYN_SENT] = CT_TCP_SYN_SENT,
		[HG_CFG_CT_TCP_SYN_RECV] = CT_TCP_SYN_RECV,
		[HG_CFG_CT_TCP_ESTABLISHED] = CT_TCP_ESTABLISHED,
		[HG_CFG_CT_TCP_FIN_WAIT] = CT_TCP_FIN_WAIT,
		[HG_CFG_CT_TCP_CLOSE_WAIT] = CT_TCP_CLOSE_WAIT,
		[HG_CFG_CT_TCP_LAST_ACK] = CT_TCP_LAST_ACK,
		[HG_CFG_CT_TCP_TIME_WAIT] = CT_TCP_TIME_WAIT,
		[HG_CFG_CT_TCP_CLOSE] = CT_TCP_CLOSE,
	};
	const uint32_t *s = cfg->fw.ct_timeouts_s;

	ct_timeouts_default(to);
	for (int i = HG_CFG_CT_TCP_SYN_SENT; i <= HG_CFG_CT_TCP_CLOSE; i++)
		if (s[i] != 0)
			to->tcp_s[tcp_state[i]] = s[i];
	if (s[HG_CFG_CT_UDP] != 0)
		to->udp_unreplied_s = s[HG_CFG_CT_UDP];
	if (s[HG_CFG_CT_UDP_STREAM] != 0)
		to->udp_replied_s = s[HG_CFG_CT_UDP_STREAM];
	if (s[HG_CFG_CT_ICMP] != 0)
		to->icmp_s = s[HG_CFG_CT_ICMP];
	if (s[HG_CFG_CT_GENERIC] != 0)
		to->generic_s = s[HG_CFG_CT_GENERIC];
}

static uint16_t
pick_workers(const struct hg_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		if (strncmp(cfg->ifs[i].port, "pcap:", 5) == 0)
			return 1;	/* a capture has one reader and one writer */
	if (cfg->workers != 0)
		return cfg->workers;
	if (n < 1)
		n = 1;
	return (uint16_t)HG_MIN(n, DP_WORKERS_MAX);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct hg_daemon *d = arg;
	char err[512];

	if (sig == SIGHUP) {
		if (hg_reload(d, err, sizeof(err)) != 0)
			hg_log_warnx("reload refused, running configuration "
			    "unchanged: %s", err);
		else
			hg_log_info("configuration reloaded from %s (version %llu)",
			    d->config_path, (unsigned long long)d->version);
		return;
	}
	hg_log_info("%s: stopping", strsignal((int)sig));
	event_base_loopbreak(d->base);
}

static void
on_eof_check(evutil_socket_t fd, short what, void *arg)
{
	struct hg_daemon *d = arg;

	if (dp_finished(d->dp)) {
		hg_log_info("inputs ended: stopping");
		event_base_loopbreak(d->base);
	}
}

/* Each second: the tunnels' SAs past their rekey limit or life. */
static void
on_tunnels_watch(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hg_tunnels_watch(arg);
}

static int
run(struct hg_daemon *d, bool exit_on_eof)
{
	uint8_t macs[IP_IF_MAX][ETH_ALEN];
	struct dp_params params;
	struct dp_tunnels *dpt;
	struct ct_timeouts timeouts;
	struct ip_tables *t;
	struct event *ev[5] = { NULL, NULL, NULL, NULL, NULL };
	const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	char err[512];
	int rc;

	d->n_workers = pick_workers(d->cfg);
	rc = open_ports(d, macs);
	if (rc != 0)
		return rc;
	t = hg_build_tables(d->cfg, (const uint8_t (*)[ETH_ALEN])macs,
	    d->ports, err, sizeof(err));
	if (t == NULL) {
		hg_log_warnx("%s: %s", d->config_path, err);
		return -EINVAL;
	}
	rc = ip_neigh_table_create(&d->nt, 65536);
	if (rc == 0)
		rc = hg_apply_neighbors(d->nt, d->cfg, err, sizeof(err));
	if (rc != 0) {
		ip_tables_free(t);
		hg_log_warnx("%s: neighbours: %s", d->config_path, err);
		return rc;
	}
	rc = hg_host_taps_open(d, (const uint8_t (*)[ETH_ALEN])macs, err,
	    sizeof(err));
	if (rc != 0) {
		ip_tables_free(t);
		hg_log_warnx("%s", err);
		return rc;
	}
	memset(&params, 0, sizeof(params));
	d->tunnels = calloc(1, sizeof(*d->tunnels));
	dpt = malloc(sizeof(*dpt));
	rc = d->tunnels == NULL || dpt == NULL ? -ENOMEM :
	    hg_tunnels_open(d, d->cfg, d->tunnels, err, sizeof(err));
	if (rc != 0) {
		ip_tables_free(t);
		free(dpt);
		hg_log_warnx("%s: %s", d->config_path, rc == -ENOMEM ?
		    "out of memory" : err);
		return rc;
	}
	memcpy(params.host_taps, d->host_taps, sizeof(params.host_taps));
	ct_timeouts_from_cfg(d->cfg, &timeouts);
	params.ct_timeouts = &timeouts;
	params.ct_entries = d->cfg->fw.ct_entries;
	params.ct_src_percent = d->cfg->fw.ct_src_percent;
	params.n_workers = d->n_workers;
	params.n_if = d->cfg->n_ifs;
	memcpy(params.ports, d->ports, sizeof(params.ports));
	params.exit_on_eof = exit_on_eof;
	params.pin_cpus = d->n_workers > 1;
	params.ike = true;	/* UDP 500/4500 for us: IKE (config/ike.c) */
	rc = dp_create(&d->dp, &params, t, d->nt);
	if (rc != 0) {
		ip_tables_free(t);
		free(dpt);
		hg_log_warnx("data plane: %s", strerror(-rc));
		return rc;
	}
	*dpt = d->tunnels->dp;
	dp_tunnels_swap(d->dp, dpt);
	rc = hg_fw_start(d, err, sizeof(err));
	if (rc == 0)
		rc = hg_host_taps_sync(d, d->cfg, NULL, err, sizeof(err));
	if (rc == 0)
		rc = hg_versions_started(d, err, sizeof(err));
	if (rc != 0) {
		hg_log_warnx("%s", err);
		return rc;
	}
	d->base = event_base_new();
	if (d->base == NULL)
		return -ENOMEM;
	rc = hg_ctl_open(d, d->cfg->control_socket);
	if (rc != 0)
		return rc;
	/* A version left pending by the last run keeps its deadline. */
	hg_confirm_arm(d);
	rc = hg_rest_start(d, err, sizeof(err));
	if (rc != 0) {
		hg_confirm_stop(d);
		hg_log_warnx("api: %s", err);
		hg_ctl_close(d, d->cfg->control_socket);
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		ev[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		event_add(ev[i], NULL);
	}
	if (exit_on_eof) {
		struct timeval tv = { 0, EOF_CHECK_MS * 1000 };

		ev[3] = event_new(d->base, -1, EV_PERSIST, on_eof_check, d);
		event_add(ev[3], &tv);
	}
	{
		struct timeval tv = { 1, 0 };

		ev[4] = event_new(d->base, -1, EV_PERSIST, on_tunnels_watch, d);
		if (ev[4] != NULL)
			event_add(ev[4], &tv);
	}
	rc = hg_overlay_start(d, err, sizeof(err));
	if (rc == 0)
		rc = hg_ike_start(d, err, sizeof(err));
	if (rc != 0)
		hg_log_warnx("%s", err);
	else
		rc = dp_start(d->dp);
	if (rc != 0) {
		hg_log_warnx("data plane: cannot start workers: %s", strerror(-rc));
	} else {
		hg_log_info("hexgated %s: %u interface(s), %u worker(s), "
		    "control socket %s", HEXGATE_VERSION, d->cfg->n_ifs,
		    d->n_workers, d->cfg->control_socket);
		event_base_dispatch(d->base);
	}
	/* The IKE SAs deleted, the peers told, before the workers stop:
	 * a moment for the deletes to leave. */
	if (d->ike != NULL) {
		hg_ike_stop(d);
		usleep(100 * 1000);
	}
	hg_overlay_stop(d);	/* hg-ike, its thread, is gone */
	dp_stop(d->dp);
	hg_tunnels_watch(d);	/* what the last second did, said */
	for (int i = 0; i < 5; i++)
		if (ev[i] != NULL)
			event_free(ev[i]);
	hg_rest_stop(d);
	hg_confirm_stop(d);
	hg_ctl_close(d, d->cfg->control_socket);
	return rc;
}

static void
teardown(struct hg_daemon *d)
{
	dp_destroy(d->dp);
	if (d->tunnels != NULL)
		hg_tunnels_close(d->tunnels);
	free(d->tunnels);
	hg_fw_stop(d);
	hg_host_taps_close(d);
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		if (d->ports[i] != NULL)
			io_port_close(d->ports[i]);
	ip_neigh_table_destroy(d->nt);
	if (d->base != NULL)
		event_base_free(d->base);
	hg_versions_stop(d);
	hg_config_free(d->cfg);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "exit-on-eof", no_argument, NULL, 'E' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hg_daemon d;
	struct hg_cfg_errs errs;
	bool check = false, exit_on_eof = false;
	int c, rc;

	memset(&d, 0, sizeof(d));
	/*
	 * A rule set of 10,000 rules is some 20 MiB of short-lived arrays.
	 * glibc would map and unmap each one, and a reload would spend
	 * more time faulting fresh pages in than compiling: keep freed
	 * memory in the heap for the next one.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 256 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 512 << 20);
	while ((c = getopt_long(argc, argv, "c:fVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'E':
			exit_on_eof = true;
			break;
		case 'f':
			break;	/* hexgated never daemonizes itself */
		case 'V':
			printf("hexgated %s\n", HEXGATE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (d.config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	hg_log_init("hexgated", HG_LOG_INFO, false);
	memset(&errs, 0, sizeof(errs));
	d.cfg = hg_config_load(d.config_path, &errs);
	if (d.cfg == NULL) {
		hg_config_errs_log(d.config_path, &errs);
		return 1;
	}
	if (check) {
		if (check_config(&d) != 0) {
			hg_config_free(d.cfg);
			return 1;
		}
		printf("%s: configuration OK (%u interfaces, %u routes)\n",
		    d.config_path, d.cfg->n_ifs, d.cfg->n_routes);
		hg_config_free(d.cfg);
		return 0;
	}
	hg_log_init("hexgated", d.cfg->log_level, d.cfg->log_syslog);
	{
		char err[512];

		/* With a store, its newest version is the configuration. */
		rc = hg_versions_boot(&d, hg_config_check_doc, err,
		    sizeof(err));
		if (rc != 0) {
			hg_log_warnx("store: %s", err);
			hg_versions_stop(&d);
			hg_config_free(d.cfg);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	d.started_ns = hg_now_ns();
	d.version = 1;
	rc = run(&d, exit_on_eof);
	teardown(&d);
	return rc == 0 ? 0 : 1;
}
