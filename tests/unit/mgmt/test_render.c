/*
 * tests/unit/mgmt/test_render.c: proves src/cli/render.c, hexctl's tables.
 * Each case is a command, a JSON answer as hexgated would send it, and the
 * exact text a user would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/render.h"

struct render_case {
	const char *what;
	const char *cmd;
	const char *json;
	const char *want;
};

static const struct render_case cases[] = {
	{ "interfaces, with drop lines under the row that has drops",
	  "show interfaces",
	  "{\"interfaces\":["
	  "{\"name\":\"lan0\",\"port\":\"afpacket:veth0\",\"mac\":\"02:00:00:00:01:01\","
	  "\"mtu\":1500,\"addresses\":[\"10.0.1.1/24\"],\"rx_packets\":120,"
	  "\"rx_bytes\":14400,\"tx_packets\":100,\"tx_bytes\":12000,"
	  "\"rx_missed\":0,\"tx_errors\":0,\"drops_total\":15,"
	  "\"drops\":{\"no_route\":12,\"ttl_expired\":3}},"
	  "{\"name\":\"wan0\",\"port\":\"afpacket:veth-wan\",\"mtu\":1400,"
	  "\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":7,\"tx_bytes\":1234567,"
	  "\"drops_total\":0,\"drops\":{}}]}",
	  "NAME  PORT                MTU  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n"
	  "lan0  afpacket:veth0     1500      120     14400      100     12000     15\n"
	  "  drop no_route: 12\n"
	  "  drop ttl_expired: 3\n"
	  "wan0  afpacket:veth-wan  1400        0         0        7   1234567      0\n" },
	{ "no interfaces: the header alone", "show interfaces",
	  "{\"interfaces\":[]}",
	  "NAME  PORT  MTU  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n" },
	{ "missing fields print as a dash", "show interfaces",
	  "{\"interfaces\":[{\"name\":\"x\"}]}",
	  "NAME  PORT  MTU  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n"
	  "x     -       -        -         -        -         -      -\n" },
	{ "neighbours", "show neighbors",
	  "{\"neighbors\":["
	  "{\"interface\":\"lan0\",\"ip\":\"10.0.1.5\",\"mac\":\"02:00:00:00:00:05\","
	  "\"state\":\"static\"},"
	  "{\"interface\":\"lan0\",\"ip\":\"2001:db8:1::77\",\"mac\":\"02:00:00:00:00:77\","
	  "\"state\":\"reachable\"},"
	  "{\"interface\":\"wan0\",\"ip\":\"192.0.2.1\",\"state\":\"incomplete\"}]}",
	  "INTERFACE  IP              MAC                STATE\n"
	  "lan0       10.0.1.5        02:00:00:00:00:05  static\n"
	  "lan0       2001:db8:1::77  02:00:00:00:00:77  reachable\n"
	  "wan0       192.0.2.1       -                  incomplete\n" },
	{ "routes, absent via and interface as dashes", "show routes",
	  "{\"routes\":["
	  "{\"prefix\":\"0.0.0.0/0\",\"via\":\"192.0.2.1\",\"type\":\"static\"},"
	  "{\"prefix\":\"10.0.1.0/24\",\"interface\":\"lan0\",\"type\":\"connected\"},"
	  "{\"prefix\":\"10.0.1.1/32\",\"interface\":\"lan0\",\"type\":\"local\"},"
	  "{\"prefix\":\"10.0.99.0/24\",\"type\":\"blackhole\"}]}",
	  "PREFIX        VIA        INTERFACE  TYPE\n"
	  "0.0.0.0/0     192.0.2.1  -          static\n"
	  "10.0.1.0/24   -          lan0       connected\n"
	  "10.0.1.1/32   -          lan0       local\n"
	  "10.0.99.0/24  -          -          blackhole\n" },
	{ "version as aligned key: value lines", "show version",
	  "{\"version\":\"0.1.0\",\"workers\":2,\"uptime_s\":3600}",
	  "version:  0.1.0\n"
	  "workers:  2\n"
	  "uptime_s: 3600\n" },
	{ "status: nested counters as indented, aligned sections", "status",
	  "{\"version\":\"0.1.0\",\"router\":{\"arp_replies_sent\":3,"
	  "\"echo_replies_sent\":12,\"neighbours\":{\"entries\":2}}}",
	  "version: 0.1.0\n"
	  "router:\n"
	  "  arp_replies_sent:  3\n"
	  "  echo_replies_sent: 12\n"
	  "  neighbours:\n"
	  "    entries: 2\n" },
	{ "reload", "reload", "{\"ok\":true,\"version\":4}",
	  "configuration reloaded: version 4\n" },
	{ "firewall save prints the text as it came", "firewall save -4",
	  "{\"text\":\"*filter\\n:INPUT_CUST - [0:0]\\n"
	  "[3:180] -A INPUT_CUST -p tcp --dport 22 -j ACCEPT\\nCOMMIT\\n\"}",
	  "*filter\n:INPUT_CUST - [0:0]\n"
	  "[3:180] -A INPUT_CUST -p tcp --dport 22 -j ACCEPT\nCOMMIT\n" },
	{ "sets save, the same", "sets save",
	  "{\"text\":\"create a hash:ip\\nadd a 10.0.0.1\\n\"}",
	  "create a hash:ip\nadd a 10.0.0.1\n" },
	{ "firewall restore counts the rules", "firewall restore -6 1234 r.v6",
	  "{\"ok\":true,\"rules\":10000}", "restored 10000 rules\n" },
	{ "one rule is a rule", "firewall restore -4 40 stdin",
	  "{\"ok\":true,\"rules\":1}", "restored 1 rule\n" },
	{ "sets restore with what it has", "sets restore 99 sets.txt",
	  "{\"ok\":true,\"sets\":2,\"elements\":1}",
	  "restored 2 sets, 1 element\n" },
	{ "sets restore with no counts", "sets restore 99 sets.txt",
	  "{\"ok\":true}", "restored\n" },
	{ "a rule added says nothing", "firewall add -4 INPUT_CUST -j ACCEPT",
	  "{\"ok\":true}", "" },
	{ "an element deleted says nothing", "sets del a 10.0.0.1",
	  "{\"ok\":true}", "" },
	{ "show firewall: the known networks as a table after the tree",
	  "show firewall",
	  "{\"rules\":1,\"known_networks\":["
	  "{\"prefix\":\"10.0.1.0/24\",\"from\":\"configuration\","
	  "\"through\":\"any\"},{\"prefix\":\"10.20.0.0/16\","
	  "\"from\":\"tunnel\",\"through\":\"ipsec0\"}]}",
	  "rules: 1\n"
	  "known networks:\n"
	  "PREFIX        FROM           THROUGH\n"
	  "10.0.1.0/24   configuration  any\n"
	  "10.20.0.0/16  tunnel         ipsec0\n" },
	{ "ipsec sas: an SA a row, state in words, selectors under each tunnel",
	  "ipsec sas",
	  "{\"rekeys_due\":1,\"expired\":1,\"tunnels\":[{\"tunnel\":\"ipsec0\","
	  "\"remote_subnets\":[\"10.20.0.0/16\",\"10.21.0.0/16\"],"
	  "\"local_subnets\":[],\"sas\":["
	  "{\"spi\":\"0x00001001\",\"direction\":\"out\",\"algorithm\":"
	  "\"aes-gcm-16\",\"encap\":\"esp\",\"src\":\"192.0.2.1\",\"dst\":"
	  "\"192.0.2.7\",\"packets\":9,\"bytes\":900,\"replay\":0,"
	  "\"integrity\":0,\"soft_expired\":true,\"dead\":true},"
	  "{\"spi\":\"0x00002001\",\"direction\":\"in\",\"algorithm\":"
	  "\"aes-gcm-16\",\"encap\":\"esp\",\"src\":\"192.0.2.7\",\"dst\":"
	  "\"192.0.2.1\",\"packets\":8,\"bytes\":800,\"replay\":2,"
	  "\"integrity\":1,\"soft_expired\":true,\"dead\":false}]},"
	  "{\"tunnel\":\"udp0\",\"remote_subnets\":[],\"local_subnets\":"
	  "[\"10.1.0.0/24\"],\"sas\":[{\"spi\":\"0x00001002\",\"direction\":"
	  "\"out\",\"algorithm\":\"chacha20-poly1305\",\"encap\":\"udp\","
	  "\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.8\",\"packets\":0,"
	  "\"bytes\":0,\"replay\":0,\"integrity\":0,\"soft_expired\":false,"
	  "\"dead\":false}]}]}",
	  "TUNNEL  DIR  SPI         ALGORITHM          ENCAP  SRC        DST        PACKETS  BYTES  REPLAY  INTEGRITY  STATE\n"
	  "ipsec0  out  0x00001001  aes-gcm-16         esp    192.0.2.1  192.0.2.7        9    900       0          0  expired\n"
	  "ipsec0  in   0x00002001  aes-gcm-16         esp    192.0.2.7  192.0.2.1        8    800       2          1  rekey-due\n"
	  "  selectors: local any <-> remote 10.20.0.0/16, 10.21.0.0/16\n"
	  "udp0    out  0x00001002  chacha20-poly1305  udp    192.0.2.1  192.0.2.8        0      0       0          0  active\n"
	  "  selectors: local 10.1.0.0/24 <-> remote any\n"
	  "SAs due a rekey: 1, expired: 1\n" },
	{ "ipsec status: as swanctl --list-sas, the NAT named, children under",
	  "ipsec status",
	  "{\"ike_sas\":[{\"name\":\"dc1\",\"uniqueid\":3,\"state\":"
	  "\"ESTABLISHED\",\"initiator\":false,\"initiator_spi\":"
	  "\"98b9f9c5954e998a\",\"responder_spi\":\"9fb98e47967e87fc\","
	  "\"local\":\"192.0.2.1\",\"local_port\":4500,\"remote\":"
	  "\"192.0.2.254\",\"remote_port\":40520,\"remote_id\":"
	  "\"site4.example\",\"nat_local\":false,\"nat_remote\":true,"
	  "\"encap\":true,\"algorithms\":"
	  "\"AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519\","
	  "\"established_s\":12,\"children\":[{\"name\":\"net\",\"state\":"
	  "\"INSTALLED\",\"spi_in\":\"c775aeb9\",\"spi_out\":\"fdcef432\","
	  "\"encap\":true,\"algorithms\":\"AES_GCM_16_256/EXT_SEQ\","
	  "\"rekey_in_s\":3587,\"local_ts\":[\"10.1.0.0/24\"],"
	  "\"remote_ts\":[\"10.4.0.0/24\",\"10.5.0.0/24\"]},{\"name\":"
	  "\"db\",\"state\":\"INSTALLED\",\"spi_in\":\"c1000001\","
	  "\"spi_out\":\"c2000002\",\"encap\":true,\"algorithms\":"
	  "\"AES_GCM_16_128\",\"rekey_in_s\":-1,\"local_ts\":"
	  "[\"10.1.0.0/24\"],\"remote_ts\":[\"10.6.0.0/24\"]}]},"
	  "{\"name\":\"b\",\"uniqueid\":4,\"state\":\"CONNECTING\","
	  "\"initiator\":true,\"initiator_spi\":\"0123456789abcdef\","
	  "\"responder_spi\":\"0000000000000000\",\"local\":\"192.0.2.1\","
	  "\"local_port\":500,\"remote\":\"192.0.2.2\",\"remote_port\":500,"
	  "\"remote_id\":\"\",\"nat_local\":false,\"nat_remote\":false,"
	  "\"encap\":false,\"algorithms\":\"\",\"established_s\":0}]}",
	  "dc1: #3, ESTABLISHED, IKEv2, 98b9f9c5954e998a_i 9fb98e47967e87fc_r*\n"
	  "  local  192.0.2.1[4500]\n"
	  "  remote 'site4.example' @ 192.0.2.254[40520], behind a NAT\n"
	  "  AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519\n"
	  "  established 12s ago\n"
	  "  net: INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16_256/EXT_SEQ\n"
	  "    in  c775aeb9, out fdcef432, rekeying in 3587s\n"
	  "    local  10.1.0.0/24\n"
	  "    remote 10.4.0.0/24, 10.5.0.0/24\n"
	  "  db: INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16_128\n"
	  "    in  c1000001, out c2000002\n"
	  "    local  10.1.0.0/24\n"
	  "    remote 10.6.0.0/24\n"
	  "b: #4, CONNECTING, IKEv2, 0123456789abcdef_i* 0000000000000000_r\n"
	  "  local  192.0.2.1[500]\n"
	  "  remote 192.0.2.2[500]\n" },
	{ "ipsec status: none", "ipsec status", "{\"ike_sas\":[]}",
	  "no IKE SAs\n" },
	{ "ipsec status: a trapped connection, waiting for traffic",
	  "ipsec status", "{\"ike_sas\":[],\"traps\":[\"dc2\"]}",
	  "no IKE SAs\n"
	  "dc2: TRAPPED (start_action trap): the first packet to its tunnel "
	  "brings it up\n" },
	{ "show firewall: sorted, nested, aligned per level", "show firewall",
	  "{\"verdicts\":{\"INPUT\":{\"policy_drop\":3,\"accept\":10},"
	  "\"FORWARD\":{}},\"rules\":12,"
	  "\"conntrack\":{\"in_use\":5,\"max\":65536,\"table_full\":0,"
	  "\"invalid\":{\"bad_tcp_flags\":2}}}",
	  "conntrack:\n"
	  "  in_use:     5\n"
	  "  invalid:\n"
	  "    bad_tcp_flags: 2\n"
	  "  max:        65536\n"
	  "  table_full: 0\n"
	  "rules: 12\n"
	  "verdicts:\n"
	  "  FORWARD: none\n"
	  "  INPUT:\n"
	  "    accept:      10\n"
	  "    policy_drop: 3\n" },
	{ "conntrack, a flow a line, counters original/reply", "show conntrack",
	  "{\"flows\":["
	  "{\"proto\":\"tcp\",\"orig\":\"10.0.0.2:1234 -> 10.0.1.2:22\","
	  "\"reply\":\"10.0.1.2:22 -> 10.0.0.2:1234\",\"state\":\"ESTABLISHED\","
	  "\"tcp_state\":\"established\",\"expires_s\":431999,"
	  "\"packets\":[12,10],\"bytes\":[1200,5400]},"
	  "{\"proto\":\"udp\",\"orig\":\"10.0.0.2:5353 -> 10.0.1.9:53\","
	  "\"reply\":\"10.0.1.9:53 -> 10.0.0.2:5353\",\"state\":\"NEW\","
	  "\"expires_s\":30,\"packets\":[1,0],\"bytes\":[60,0]}]}",
	  "PROTO  STATE        TCP          EXPIRES  ORIGINAL                      "
	  "REPLY                         PACKETS      BYTES\n"
	  "tcp    ESTABLISHED  established   431999  10.0.0.2:1234 -> 10.0.1.2:22  "
	  "10.0.1.2:22 -> 10.0.0.2:1234    12/10  1200/5400\n"
	  "udp    NEW          -                 30  10.0.0.2:5353 -> 10.0.1.9:53  "
	  "10.0.1.9:53 -> 10.0.0.2:5353      1/0       60/0\n" },
	{ "no flows: the header alone", "show conntrack", "{\"flows\":[]}",
	  "PROTO  STATE  TCP  EXPIRES  ORIGINAL  REPLY  PACKETS  BYTES\n" },
	{ "a failed restore's answer without ok prints as JSON",
	  "firewall restore -4 3 x", "{\"rules\":0}",
	  "{\n"
	  "  \"rules\": 0\n"
	  "}\n" },
	{ "unknown command prints the JSON", "show tunnels",
	  "{\"tunnels\":[{\"name\":\"gre0\"}]}",
	  "{\n"
	  "  \"tunnels\": [\n"
	  "    {\n"
	  "      \"name\": \"gre0\"\n"
	  "    }\n"
	  "  ]\n"
	  "}\n" },
	{ "config versions: newest first, UTC times, * at the running one",
	  "config versions",
	  "{\"current\":12,\"versions\":["
	  "{\"version\":12,\"created_ns\":1700000000000000000,\"author\":\"api\","
	  "\"source\":\"127.0.0.1\",\"comment\":\"rollback to version 10\","
	  "\"state\":\"confirmed\",\"restored_from\":0},"
	  "{\"version\":9,\"created_ns\":1699999000000000000,\"author\":\"hexgated\","
	  "\"source\":\"start\",\"comment\":\"\",\"state\":\"confirmed\","
	  "\"restored_from\":0}]}",
	  "   VERSION  CREATED               AUTHOR    SOURCE     STATE      COMMENT\n"
	  "*       12  2023-11-14 22:13:20Z  api       127.0.0.1  confirmed  rollback to version 10\n"
	  "         9  2023-11-14 21:56:40Z  hexgated  start      confirmed  -\n" },
	{ "config diff prints the diff as it came", "config diff 11 12",
	  "{\"text\":\"--- 11\\n+++ 12\\n+-A FORWARD_CUST -j DROP\\n\"}",
	  "--- 11\n+++ 12\n+-A FORWARD_CUST -j DROP\n" },
	{ "config rollback names the new version", "config rollback 10",
	  "{\"version\":13}",
	  "applied as version 13\n" },
	{ "known command, unexpected shape: JSON", "show routes",
	  "{\"routes\":\"none\"}",
	  "{\n"
	  "  \"routes\": \"none\"\n"
	  "}\n" },
};

static void
test_render_cases(void **state)
{
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct render_case *t = &cases[i];
		json_error_t jerr;
		json_t *resp = json_loads(t->json, 0, &jerr);
		char *got = NULL;
		size_t len = 0;
		FILE *f;
		int rc;

		if (resp == NULL)
			fail_msg("%s: bad test JSON: %s", t->what, jerr.text);
		f = open_memstream(&got, &len);
		assert_non_null(f);
		rc = cli_render(t->cmd, resp, f);
		fclose(f);
		if (rc != 0 || strcmp(got, t->want) != 0) {
			print_message("FAIL %s (rc %d)\n--- want\n%s--- got\n%s---\n",
			    t->what, rc, t->want, got);
			failed++;
		}
		free(got);
		json_decref(resp);
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
