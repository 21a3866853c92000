/*
 * bench/forward/bench_pipeline.c: benchmark (a) of bench/forward: the whole
 * data plane in memory.  A gen port makes 64-byte IPv4/UDP frames, one
 * worker runs the real pipeline (parse, router, FIB lookup across an
 * Internet-size table, neighbour, TX grouping) and a null port swallows
 * what leaves.  Prints packets per second per core.
 *
 * The anchor for forwarding is the Linux kernel over veths (veth.sh); in
 * memory there is none, so this prints the absolute figure.
 *
 * -F N puts the firewall on the path: conntrack (65,536 UDP flows) and a
 * rule program with N FORWARD_CUST rules that match none of the traffic,
 * which the default policy then accepts as coming from a known network.
 * Without -F the data plane runs with no firewall at all.  -N adds a nat
 * rule that masquerades everything leaving "out": every flow is then
 * source-translated (the port kept), so each packet is rewritten.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp/dp.h"
#include "lib/hg_time.h"
#include "lib/log.h"
#include "inet_table.h"

static const uint8_t mac_in[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_out[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_nh[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x03 };

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench_pipeline: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

/* N rules that never match the generated UDP, then the known network
 * the generator's source is in. */
static struct dp_fw *
make_fw(uint32_t n_rules, bool nat, uint16_t n_workers, double *build_s)
{
	static const char names[2][FW_IFNAME_MAX] = { "in", "out" };
	struct fw_addr known = { .addr = { 198, 18 }, .mask = { 255, 254 } };
	struct fw_compile_env env = {
		.n_if = 2, .if_names = names, .n_known = 1, .known = &known,
		.n_workers = n_workers,
	};
	size_t cap = 256 + (size_t)n_rules * 80, len = 0;
	char *text = malloc(cap);
	struct fw_parse_opts opts = { .family = FW_IPV4 };
	struct fw_ruleset *rs;
	struct fw_errs *errs = calloc(1, sizeof(*errs));
	struct dp_fw *fw = calloc(1, sizeof(*fw));
	uint64_t t0 = hg_now_ns();
	int rc;

	if (text == NULL || errs == NULL || fw == NULL)
		die("calloc", -12);
	len += (size_t)snprintf(text + len, cap - len, "*filter\n");
	for (uint32_t i = 0; i < n_rules; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "-A FORWARD_CUST -s 10.%u.%u.%u/32 -p tcp -m tcp "
		    "--dport %u -j DROP\n", (i >> 16) & 255, (i >> 8) & 255,
		    i & 255, 1 + i % 65000);
	len += (size_t)snprintf(text + len, cap - len, "COMMIT\n");
	if (nat)
		len += (size_t)snprintf(text + len, cap - len, "*nat\n"
		    "-A POSTROUTING_CUST -o out -j MASQUERADE\nCOMMIT\n");
	if ((rc = fw_parse(text, len, &opts, &rs, errs)) != 0) {
		char msg[1024];

		fw_err_format(&errs->e[0], "bench rules", msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		die("fw_parse", rc);
	}
	if ((rc = fw_compile(rs, &env, &fw->prog4, errs)) != 0)
		die("fw_compile", rc);
	fw_ruleset_free(rs);
	rs = fw_ruleset_new(FW_IPV6);
	if (rs == NULL || (rc = fw_compile(rs, &env, &fw->prog6, errs)) != 0)
		die("fw_compile (IPv6)", rs == NULL ? -12 : rc);
	fw_ruleset_free(rs);
	*build_s = (double)(hg_now_ns() - t0) / 1e9;
	free(text);
	free(errs);
	return fw;
}

static struct ip_tables *
make_tables(uint32_t n_prefixes, double *build_s)
{
	uint32_t *pfx = calloc(n_prefixes ? n_prefixes : 1, sizeof(*pfx));
	uint8_t *len = calloc(n_prefixes ? n_prefixes : 1, 1);
	uint32_t gw_be = htonl(0xc6130002);	/* 198.19.0.2 */
	struct ip_tables *t;
	char err[256];
	uint64_t t0;
	int rc;

	if (pfx == NULL || len == NULL)
		die("calloc", -12);
	inet_table_gen(n_prefixes, 1, pfx, len);
	t0 = hg_now_ns();
	rc = ip_tables_create(&t);
	if (rc != 0)
		die("ip_tables_create", rc);
	t->n_if = 2;
	snprintf(t->ifs[0].name, IP_IF_NAME_MAX, "in");
	snprintf(t->ifs[1].name, IP_IF_NAME_MAX, "out");
	memcpy(t->ifs[0].mac, mac_in, ETH_ALEN);
	memcpy(t->ifs[1].mac, mac_out, ETH_ALEN);
	for (int i = 0; i < 2; i++) {
		t->ifs[i].up = true;
		t->ifs[i].mtu_bytes = 1500;
		t->ifs[i].n_addr4 = 1;
		t->ifs[i].addr4[0].addr_be = htonl(0xc6120001 + ((uint32_t)i << 8));
		t->ifs[i].addr4[0].plen = 24;
	}
	rc = ip_tables_add_connected(t, err, sizeof(err));
	if (rc != 0)
		die(err, rc);
	for (uint32_t i = 0; i < n_prefixes; i++) {
		rc = ip_tables_add_route(t, AF_INET, (uint8_t *)&pfx[i], len[i],
		    (uint8_t *)&gw_be, 1, false, err, sizeof(err));
		if (rc != 0)
			die(err, rc);
	}
	/* A default route too, so every frame is forwarded after a real
	 * longest-prefix lookup whether or not a specific prefix covers it. */
	rc = ip_tables_add_route(t, AF_INET, (const uint8_t *)"\0\0\0\0", 0,
	    (uint8_t *)&gw_be, 1, false, err, sizeof(err));
	if (rc != 0)
		die(err, rc);
	*build_s = (double)(hg_now_ns() - t0) / 1e9;
	free(pfx);
	free(len);
	return t;
}

int
main(int argc, char **argv)
{
	uint32_t n_prefixes = 1000000;
	uint64_t n_packets = 20000000;
	uint16_t n_workers = 1;
	long n_rules = -1;		/* -F: no firewall */
	bool nat = false;
	double fw_s = 0;
	struct io_port *in, *out;
	struct ip_neigh_table *nt;
	struct dp_params params;
	struct dp_if_stats si, so;
	struct ip_tables *t;
	struct dp *dp;
	char spec[256], err[256];
	double build_s, secs;
	uint32_t gw_be = htonl(0xc6130002);
	uint64_t t0;
	int c, rc;

	while ((c = getopt(argc, argv, "p:n:w:F:N")) != -1) {
		switch (c) {
		case 'N':
			nat = true;
			if (n_rules < 0)
				n_rules = 0;
			break;
		case 'F':
			n_rules = strtol(optarg, NULL, 10);
			if (n_rules < 0 || n_rules > FW_RULES_MAX)
				n_rules = 0;
			break;
		case 'p':
			n_prefixes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n_packets = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			n_workers = (uint16_t)strtoul(optarg, NULL, 10);
			if (n_workers < 1 || n_workers > DP_WORKERS_MAX)
				n_workers = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_pipeline [-p PREFIXES] [-n PACKETS] [-w WORKERS] [-F RULES] [-N]\n");
			return 2;
		}
	}
	hg_log_init("bench", HG_LOG_WARN, false);
	t = make_tables(n_prefixes, &build_s);
	snprintf(spec, sizeof(spec), "gen:size=64,dmac=02:00:00:00:00:01,"
	    "src=198.18.0.2,dst=64.0.0.0,span=1073741824,flows=65536,"
	    "count=%llu", (unsigned long long)(n_packets / n_workers));
	if ((rc = io_port_open(&in, spec, n_workers, err, sizeof(err))) != 0)
		die(err, rc);
	if ((rc = io_port_open(&out, "null", n_workers, err, sizeof(err))) != 0)
		die(err, rc);
	if ((rc = ip_neigh_table_create(&nt, 1024)) != 0 ||
	    (rc = ip_neigh_set_static(nt, 1, AF_INET, (uint8_t *)&gw_be, mac_nh)) != 0)
		die("neighbour table", rc);
	memset(&params, 0, sizeof(params));
	params.n_workers = n_workers;
	params.n_if = 2;
	params.ports[0] = in;
	params.ports[1] = out;
	params.exit_on_eof = true;
	params.pin_cpus = true;
	/* Every flow comes from the generator's one source: no bound on a
	 * source's share of the table (the default would refuse 3/4). */
	params.ct_src_percent = 100;
	if ((rc = dp_create(&dp, &params, t, nt)) != 0)
		die("dp_create", rc);
	if (n_rules >= 0)
		dp_fw_swap(dp, make_fw((uint32_t)n_rules, nat, n_workers,
		    &fw_s));
	t0 = hg_now_ns();
	if ((rc = dp_start(dp)) != 0)
		die("dp_start", rc);
	while (!dp_finished(dp))
		usleep(1000);
	secs = (double)(hg_now_ns() - t0) / 1e9;
	dp_if_stats(dp, 0, &si);
	dp_if_stats(dp, 1, &so);
	printf("fib: %u prefixes + default route, built in %.2f s\n",
	    n_prefixes, build_s);
	printf("frames: %llu generated, %llu forwarded, %llu dropped\n",
	    (unsigned long long)si.rx_pkts, (unsigned long long)so.tx_pkts,
	    (unsigned long long)(si.drops_total + so.drops_total));
	if (n_rules >= 0)
		printf("firewall: conntrack + %ld non-matching rules%s, "
		    "compiled in %.3f s\n", n_rules,
		    nat ? " + MASQUERADE" : "", fw_s);
	printf("pipeline forward 64B%s, %u worker%s: %.2f Mpps in all, "
	    "%.2f Mpps per core (%.1f ns per packet per core)\n",
	    n_rules < 0 ? "" : nat ? " +fw +nat" : " +fw", n_workers,
	    n_workers == 1 ? "" : "s", (double)so.tx_pkts / secs / 1e6,
	    (double)so.tx_pkts / secs / 1e6 / n_workers,
	    secs * 1e9 * n_workers / (double)si.rx_pkts);
	dp_destroy(dp);
	io_port_close(in);
	io_port_close(out);
	ip_neigh_table_destroy(nt);
	return so.tx_pkts == si.rx_pkts ? 0 : 1;
}
