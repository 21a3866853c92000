/*
 * tests/unit/mgmt/test_config.c: proves src/mgmt/config.c.  A table of
 * configurations, each either accepted or rejected with an error at a given
 * JSON pointer whose message contains a given fragment; then a bad config
 * that must report every one of its errors, a full config whose parsed
 * fields are checked one by one, and the shipped example
 * (docs/examples/hexgated.json, path in $HG_EXAMPLE_CONFIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mgmt/config.h"

/* An interface that is correct, to build other cases around. */
#define IF0 "{\"name\":\"lan0\",\"port\":\"afpacket:veth0\"}"
#define IF1 "{\"name\":\"wan0\",\"port\":\"afpacket:veth1\"," \
	"\"addresses\":[\"192.0.2.2/30\"]}"
#define IFS "\"interfaces\":[" IF0 "," IF1 "]"
/* A tunnel, and its parts to build bad ones from (JSON refuses a key
 * given twice, so a case swaps a part rather than adding one). */
#define TUN_BODY(extra, name, remote, sa_out, sa_in) "{" extra name \
	"\"local\":\"192.0.2.2\"," remote sa_out sa_in \
	"\"remote_subnets\":[\"10.9.0.0/16\"]}"
#define T_NAME "\"name\":\"ipsec0\","
#define T_REMOTE "\"remote\":\"192.0.2.1\","
#define TUN_SA_OUT "\"sa_out\":{\"spi\":4097,\"alg\":\"aes256gcm\"," \
	"\"key_file\":\"out.key\"},"
#define TUN_SA_IN "\"sa_in\":{\"spi\":4096,\"alg\":\"aes256gcm\"," \
	"\"key_file\":\"in.key\"},"
#define TUN TUN_BODY("", T_NAME, T_REMOTE, TUN_SA_OUT, TUN_SA_IN)

/* An ipsec connection's body, more keys in front. */
#define IKE_CONN(more) "{" more "\"local_addrs\":[\"192.0.2.1\"]," \
	"\"remote_addrs\":\"192.0.2.2\",\"proposals\":" \
	"\"aes256gcm16-prfsha256-x25519, aes256-sha256-modp3072\"," \
	"\"children\":{\"net\":{\"local_ts\":[\"10.1.0.0/24\"]," \
	"\"remote_ts\":[\"10.3.0.0/16\"],\"start_action\":\"start\"," \
	"\"rekey_time\":\"1h\"}}}"

/* The overlay: two keys (wg genkey | wg pubkey), a preshared key. */
#define WG_K1 "FCl73oGLsrJgjiie1uAt1W8jCHOtbebHEmql9dB1Wj4="
#define WG_K2 "HJ8zXArK6PdeimCmGmxuF/JEsoPdtPBOl5hgTC3aYWU="
#define WG_PSK "2o+ppKxp5scwHZnqXjuCt4eml1WsBaq1Ihs30YhcnOA="
#define OVL(more) "{\"overlay\":{\"addresses\":[\"10.99.0.1/24\"," \
	"\"fd99::1/64\"]" more "}}"
#define WG_CLIENT(name, key, addrs) "{\"name\":\"" name "\"," \
	"\"public_key\":\"" key "\",\"addresses\":[" addrs "]}"

struct cfg_case {
	const char *what;
	const char *json;
	const char *where;	/* NULL: must parse */
	const char *msg;	/* fragment of the message */
};

static const struct cfg_case cases[] = {
	/* syntax */
	{ "empty text", "", "line 1 column 0", "expected" },
	{ "syntax error has line and column",
	  "{\n  \"workers\": 2,\n  \"log\": {\"level\": }\n}",
	  "line 3 column 20", "unexpected token near '}'" },
	{ "duplicate key is a syntax error",
	  "{\"workers\":1,\"workers\":2}", "line 1 column 22",
	  "duplicate object key" },
	{ "top level must be an object", "[1]", "", "must be a JSON object" },
	{ "empty object is a valid config", "{}", NULL, NULL },

	/* top level */
	{ "unknown top-level key", "{\"foo\":1}", "/foo",
	  "unknown key \"foo\" (allowed: workers, log, control_socket, "
	  "interfaces, tunnels, ipsec, routes, neighbors, firewall, api, "
	  "store, overlay)" },
	{ "store: a path", "{\"store\":\"config.db\"}", NULL, NULL },
	{ "store: empty path", "{\"store\":\"\"}", "/store",
	  "must not be empty" },
	{ "store: not a string", "{\"store\":1}", "/store", "a string" },
	{ "store: object form",
	  "{\"store\":{\"path\":\"config.db\",\"keep_versions\":100}}",
	  NULL, NULL },
	{ "store: keep_versions 0 keeps all",
	  "{\"store\":{\"path\":\"config.db\",\"keep_versions\":0}}",
	  NULL, NULL },
	{ "store: object needs a path", "{\"store\":{\"keep_versions\":5}}",
	  "/store", "missing required key \"path\"" },
	{ "store: empty path in the object",
	  "{\"store\":{\"path\":\"\"}}", "/store/path", "must not be empty" },
	{ "store: keep_versions negative",
	  "{\"store\":{\"path\":\"a\",\"keep_versions\":-1}}",
	  "/store/keep_versions", "-1 is out of range 0..1000000" },
	{ "store: keep_versions not an integer",
	  "{\"store\":{\"path\":\"a\",\"keep_versions\":\"all\"}}",
	  "/store/keep_versions", "expected an integer" },
	{ "store: unknown key in the object",
	  "{\"store\":{\"path\":\"a\",\"keep\":1}}", "/store/keep",
	  "unknown key \"keep\" (allowed: path, keep_versions)" },
	{ "unknown key with / is escaped in the pointer", "{\"a/b~\":1}",
	  "/a~1b~0", "unknown key \"a/b~\"" },
	{ "workers 0 means one per CPU", "{\"workers\":0}", NULL, NULL },
	{ "workers 64 is the maximum", "{\"workers\":64}", NULL, NULL },
	{ "workers above 64", "{\"workers\":65}", "/workers",
	  "65 is out of range 0..64" },
	{ "workers negative", "{\"workers\":-1}", "/workers",
	  "-1 is out of range 0..64" },
	{ "workers as a string", "{\"workers\":\"two\"}", "/workers",
	  "\"two\" is a string, expected an integer" },
	{ "workers as a real", "{\"workers\":2.5}", "/workers",
	  "2.5 is a number, expected an integer" },
	{ "log must be an object", "{\"log\":\"info\"}", "/log",
	  "\"info\" is a string, expected an object" },
	{ "log level names", "{\"log\":{\"level\":\"debug\"}}", NULL, NULL },
	{ "log level unknown", "{\"log\":{\"level\":\"loud\"}}", "/log/level",
	  "\"loud\" is not a log level (allowed: error, warn, info, debug)" },
	{ "log unknown key", "{\"log\":{\"color\":true}}", "/log/color",
	  "unknown key \"color\" (allowed: level, syslog)" },
	{ "log syslog must be a boolean", "{\"log\":{\"syslog\":1}}",
	  "/log/syslog", "1 is an integer, expected a boolean" },
	{ "control socket empty", "{\"control_socket\":\"\"}",
	  "/control_socket", "must not be empty" },
	{ "control socket longer than sun_path",
	  "{\"control_socket\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	  "/control_socket", "is longer than 107 bytes" },

	/* interfaces */
	{ "interfaces must be an array", "{\"interfaces\":{}}", "/interfaces",
	  "expected an array of interfaces, got an object" },
	{ "interface must be an object", "{\"interfaces\":[\"lan0\"]}",
	  "/interfaces/0", "\"lan0\" is a string, expected an object" },
	{ "interface needs a name",
	  "{\"interfaces\":[{\"port\":\"null\"}]}", "/interfaces/0",
	  "missing required key \"name\"" },
	{ "interface needs a port",
	  "{\"interfaces\":[{\"name\":\"lan0\"}]}", "/interfaces/0",
	  "missing required key \"port\"" },
	{ "interface unknown key",
	  "{\"interfaces\":[{\"name\":\"lan0\",\"port\":\"null\",\"vlan\":3}]}",
	  "/interfaces/0/vlan",
	  "unknown key \"vlan\" (allowed: name, port, mtu, mac, addresses, "
	  "host_tap)" },
	{ "host_tap true, false and a name",
	  "{\"interfaces\":[{\"name\":\"a\",\"port\":\"null\","
	  "\"host_tap\":true},{\"name\":\"b\",\"port\":\"gen:count=1\","
	  "\"host_tap\":false},{\"name\":\"c\",\"port\":\"gen:count=2\","
	  "\"host_tap\":\"hg-c\"}]}", NULL, NULL },
	{ "host_tap with a bad name",
	  "{\"interfaces\":[{\"name\":\"a\",\"port\":\"null\","
	  "\"host_tap\":\"a b\"}]}", "/interfaces/0/host_tap",
	  "not a valid interface name" },
	{ "host_tap of the wrong type",
	  "{\"interfaces\":[{\"name\":\"a\",\"port\":\"null\","
	  "\"host_tap\":3}]}", "/interfaces/0/host_tap",
	  "expected true, false or an interface name" },
	/* api */
	{ "api with everything",
	  "{\"api\":{\"listen\":\"::\",\"port\":8443,\"state_dir\":"
	  "\"/var/lib/hg\",\"cert\":\"/etc/hg/c.pem\",\"key\":"
	  "\"/etc/hg/k.pem\"}}", NULL, NULL },
	{ "api: an empty section takes the defaults", "{\"api\":{}}",
	  NULL, NULL },
	{ "api: false turns it off", "{\"api\":false}", NULL, NULL },
	{ "api: a number is neither", "{\"api\":3}", "/api",
	  "expected an object" },
	{ "api: port out of range", "{\"api\":{\"port\":70000}}",
	  "/api/port", "out of range" },
	{ "api: listen is not an address", "{\"api\":{\"listen\":\"any\"}}",
	  "/api/listen", "is not an IPv4 or IPv6 address" },
	{ "api: a cert without its key",
	  "{\"api\":{\"cert\":\"/etc/hg/c.pem\"}}", "/api/key",
	  "cert and key go together" },
	/* firewall */
	{ "firewall with everything",
	  "{\"firewall\":{\"known_networks\":[\"10.0.0.0/8\",\"2001:db8::/32\"],"
	  "\"rules\":\"rules.v4\",\"rules6\":\"/etc/hexgate/rules.v6\","
	  "\"sets\":\"sets\",\"conntrack\":{\"max_entries\":4096,"
	  "\"source_limit_percent\":10,"
	  "\"timeouts\":{\"tcp_established\":3600,\"udp\":10}}}}",
	  NULL, NULL },
	{ "firewall: known network with host bits",
	  "{\"firewall\":{\"known_networks\":[\"10.0.0.1/8\"]}}",
	  "/firewall/known_networks/0", "did you mean 10.0.0.0/8?" },
	{ "firewall: unknown key",
	  "{\"firewall\":{\"policy\":\"drop\"}}", "/firewall/policy",
	  "unknown key \"policy\" (allowed: known_networks, rules, rules6, "
	  "sets, conntrack)" },
	{ "firewall: empty rules path",
	  "{\"firewall\":{\"rules\":\"\"}}", "/firewall/rules",
	  "must not be empty" },
	{ "firewall: conntrack table too small",
	  "{\"firewall\":{\"conntrack\":{\"max_entries\":10}}}",
	  "/firewall/conntrack/max_entries", "out of range" },
	{ "firewall: source limit of 0%",
	  "{\"firewall\":{\"conntrack\":{\"source_limit_percent\":0}}}",
	  "/firewall/conntrack/source_limit_percent", "out of range" },
	{ "firewall: source limit over 100%",
	  "{\"firewall\":{\"conntrack\":{\"source_limit_percent\":101}}}",
	  "/firewall/conntrack/source_limit_percent", "out of range" },
	{ "firewall: unknown timeout",
	  "{\"firewall\":{\"conntrack\":{\"timeouts\":{\"tcp\":5}}}}",
	  "/firewall/conntrack/timeouts/tcp", "unknown key \"tcp\"" },
	{ "firewall: zero timeout",
	  "{\"firewall\":{\"conntrack\":{\"timeouts\":{\"icmp\":0}}}}",
	  "/firewall/conntrack/timeouts/icmp", "out of range" },
	{ "interface name of 15 chars",
	  "{\"interfaces\":[{\"name\":\"abcdefghij.-_45\",\"port\":\"null\"}]}",
	  NULL, NULL },
	{ "interface name of 16 chars",
	  "{\"interfaces\":[{\"name\":\"abcdefghijklmnop\",\"port\":\"null\"}]}",
	  "/interfaces/0/name",
	  "\"abcdefghijklmnop\" is longer than 15 bytes" },
	{ "interface name empty",
	  "{\"interfaces\":[{\"name\":\"\",\"port\":\"null\"}]}",
	  "/interfaces/0/name", "must not be empty" },
	{ "interface name with a space",
	  "{\"interfaces\":[{\"name\":\"lan 0\",\"port\":\"null\"}]}",
	  "/interfaces/0/name",
	  "\"lan 0\" is not a valid interface name (allowed: 1..15 of" },
	{ "interface name with a slash",
	  "{\"interfaces\":[{\"name\":\"a/b\",\"port\":\"null\"}]}",
	  "/interfaces/0/name", "is not a valid interface name" },
	{ "duplicate interface name",
	  "{\"interfaces\":[" IF0 ",{\"name\":\"lan0\",\"port\":\"null\"}]}",
	  "/interfaces/1/name",
	  "\"lan0\" is already the name of /interfaces/0" },
	{ "duplicate port line",
	  "{\"interfaces\":[" IF0 ",{\"name\":\"lan1\","
	  "\"port\":\"afpacket:veth0\"}]}",
	  "/interfaces/1/port",
	  "\"afpacket:veth0\" is already the port of /interfaces/0 (lan0)" },
	{ "null ports may repeat",
	  "{\"interfaces\":[{\"name\":\"a\",\"port\":\"null\"},"
	  "{\"name\":\"b\",\"port\":\"null\"}]}", NULL, NULL },
	{ "port line syntax is checked by io",
	  "{\"interfaces\":[{\"name\":\"lan0\",\"port\":\"floppy:0\"}]}",
	  "/interfaces/0/port", "\"floppy:0\" is not a valid port line: " },
	{ "afpacket port without an interface name",
	  "{\"interfaces\":[{\"name\":\"lan0\",\"port\":\"afpacket:\"}]}",
	  "/interfaces/0/port", "\"afpacket:\" is not a valid port line: " },
	{ "port as a number",
	  "{\"interfaces\":[{\"name\":\"lan0\",\"port\":7}]}",
	  "/interfaces/0/port", "7 is an integer, expected a string" },
	{ "mtu at the minimum",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\",\"mtu\":68}]}",
	  NULL, NULL },
	{ "mtu at the maximum",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\",\"mtu\":2030}]}",
	  NULL, NULL },
	{ "mtu too large",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\",\"mtu\":70000}]}",
	  "/interfaces/0/mtu", "70000 is out of range 68..2030" },
	{ "mtu too small",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\",\"mtu\":67}]}",
	  "/interfaces/0/mtu", "67 is out of range 68..2030" },
	{ "mac good, upper case",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"02:AB:cd:00:00:01\"}]}", NULL, NULL },
	{ "mac too short",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"02:00:00:00:01\"}]}", "/interfaces/0/mac",
	  "\"02:00:00:00:01\" is not a MAC address (expected six hex pairs" },
	{ "mac with bad digits",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"02:00:00:00:0g:01\"}]}", "/interfaces/0/mac",
	  "is not a MAC address" },
	{ "mac with dashes",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"02-00-00-00-00-01\"}]}", "/interfaces/0/mac",
	  "is not a MAC address" },
	{ "mac with trailing text",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"02:00:00:00:00:011\"}]}", "/interfaces/0/mac",
	  "is not a MAC address" },
	{ "mac multicast",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"01:00:5e:00:00:01\"}]}", "/interfaces/0/mac",
	  "\"01:00:5e:00:00:01\" is a multicast MAC address" },
	{ "mac broadcast",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"ff:ff:ff:ff:ff:ff\"}]}", "/interfaces/0/mac",
	  "is a broadcast MAC address" },
	{ "mac all zero",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"mac\":\"00:00:00:00:00:00\"}]}", "/interfaces/0/mac",
	  "is the all-zero MAC address" },
	{ "address with host bits is fine on an interface",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.1.1/24\",\"2001:db8::1/64\",\"10.9.9.9/32\"]}]}",
	  NULL, NULL },
	{ "address octet out of range",
	  "{\"interfaces\":[" IF0 ",{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.1.300/24\"]}]}", "/interfaces/1/addresses/0",
	  "\"10.0.1.300/24\" is not an IPv4 or IPv6 prefix" },
	{ "address without a length",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.1.1\"]}]}", "/interfaces/0/addresses/0",
	  "\"10.0.1.1\" is not an IPv4 or IPv6 prefix" },
	{ "address with a short dotted quad",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.1/8\"]}]}", "/interfaces/0/addresses/0",
	  "is not an IPv4 or IPv6 prefix" },
	{ "address with a signed length",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.0.1/+8\"]}]}", "/interfaces/0/addresses/0",
	  "is not an IPv4 or IPv6 prefix" },
	{ "IPv4 length above 32",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.0.1/33\"]}]}", "/interfaces/0/addresses/0",
	  "\"10.0.0.1/33\": prefix length is out of range 0..32" },
	{ "IPv6 length above 128",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"2001:db8::1/129\"]}]}", "/interfaces/0/addresses/0",
	  "prefix length is out of range 0..128" },
	{ "interface address of length 0",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.0.1/0\"]}]}", "/interfaces/0/addresses/0",
	  "an interface address needs a prefix length of 1..32" },
	{ "interface address multicast",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"224.0.0.1/4\"]}]}", "/interfaces/0/addresses/0",
	  "is a multicast address" },
	{ "interface address repeated",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":[\"10.0.0.1/24\",\"10.0.0.1/16\"]}]}",
	  "/interfaces/0/addresses/1", "repeats address 10.0.0.1/24" },
	{ "addresses must be an array",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\","
	  "\"addresses\":\"10.0.0.1/24\"}]}", "/interfaces/0/addresses",
	  "expected an array of prefixes" },
	{ "17 addresses on one interface",
	  "{\"interfaces\":[{\"name\":\"l\",\"port\":\"null\",\"addresses\":["
	  "\"10.0.0.1/24\",\"10.0.0.2/24\",\"10.0.0.3/24\",\"10.0.0.4/24\","
	  "\"10.0.0.5/24\",\"10.0.0.6/24\",\"10.0.0.7/24\",\"10.0.0.8/24\","
	  "\"10.0.0.9/24\",\"10.0.0.10/24\",\"10.0.0.11/24\",\"10.0.0.12/24\","
	  "\"10.0.0.13/24\",\"10.0.0.14/24\",\"10.0.0.15/24\",\"10.0.0.16/24\","
	  "\"10.0.0.17/24\"]}]}", "/interfaces/0/addresses",
	  "17 addresses; an interface has at most 16" },

	/* routes */
	{ "route via", "{" IFS ",\"routes\":[{\"prefix\":\"0.0.0.0/0\","
	  "\"via\":\"192.0.2.1\"}]}", NULL, NULL },
	{ "route via and interface", "{" IFS ",\"routes\":[{\"prefix\":"
	  "\"2001:db8::/32\",\"via\":\"fe80::1\",\"interface\":\"wan0\"}]}",
	  NULL, NULL },
	{ "route directly attached", "{" IFS ",\"routes\":[{\"prefix\":"
	  "\"198.51.100.0/24\",\"interface\":\"lan0\"}]}", NULL, NULL },
	{ "route blackhole", "{\"routes\":[{\"prefix\":\"192.0.2.0/24\","
	  "\"blackhole\":true}]}", NULL, NULL },
	{ "route with host bits names the canonical prefix",
	  "{\"routes\":[{\"prefix\":\"10.1.2.3/8\",\"blackhole\":true}]}",
	  "/routes/0/prefix",
	  "\"10.1.2.3/8\" has host bits set (did you mean 10.0.0.0/8?)" },
	{ "IPv6 route with host bits",
	  "{\"routes\":[{\"prefix\":\"2001:db8::1/32\",\"blackhole\":true}]}",
	  "/routes/0/prefix", "(did you mean 2001:db8::/32?)" },
	{ "route with no next hop",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\"}]}", "/routes/0",
	  "a route needs \"via\", \"interface\" or \"blackhole\": true" },
	{ "route with blackhole false and nothing else",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":false}]}",
	  "/routes/0", "a route needs" },
	{ "blackhole with via",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":true,"
	  "\"via\":\"192.0.2.1\"}]}", "/routes/0",
	  "a blackhole route takes no \"via\"" },
	{ "blackhole with interface",
	  "{" IFS ",\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":true,"
	  "\"interface\":\"lan0\"}]}", "/routes/0",
	  "a blackhole route takes no \"interface\"" },
	{ "blackhole not a boolean",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":\"yes\"}]}",
	  "/routes/0/blackhole", "\"yes\" is a string, expected a boolean" },
	{ "route without prefix",
	  "{\"routes\":[{\"via\":\"192.0.2.1\"}]}", "/routes/0",
	  "missing required key \"prefix\"" },
	{ "route unknown key",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":true,"
	  "\"metric\":5}]}", "/routes/0/metric",
	  "unknown key \"metric\" (allowed: prefix, via, interface, blackhole)" },
	{ "route via family mismatch",
	  "{\"routes\":[{\"prefix\":\"10.9.0.0/16\",\"via\":\"192.0.2.1\"},"
	  "{\"prefix\":\"10.8.0.0/16\",\"via\":\"192.0.2.1\"},"
	  "{\"prefix\":\"10.7.0.0/16\",\"via\":\"192.0.2.1\"},"
	  "{\"prefix\":\"10.0.0.0/8\",\"via\":\"2001:db8::1\"}]}",
	  "/routes/3/via", "2001:db8::1 is IPv6 but prefix 10.0.0.0/8 is IPv4" },
	{ "route via not an address",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"via\":\"gateway\"}]}",
	  "/routes/0/via", "\"gateway\" is not an IPv4 or IPv6 address" },
	{ "route via multicast",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"via\":\"239.1.1.1\"}]}",
	  "/routes/0/via", "\"239.1.1.1\" is a multicast address" },
	{ "route via unspecified",
	  "{\"routes\":[{\"prefix\":\"::/0\",\"via\":\"::\"}]}",
	  "/routes/0/via", "\"::\" is the unspecified address" },
	{ "route interface unknown",
	  "{" IFS ",\"routes\":[{\"prefix\":\"10.0.0.0/8\","
	  "\"interface\":\"wan9\"}]}", "/routes/0/interface",
	  "\"wan9\" is not a configured interface (configured: lan0, wan0)" },
	{ "route interface with no interfaces",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"interface\":\"x\"}]}",
	  "/routes/0/interface", "(configured: none)" },
	{ "route prefix routed twice",
	  "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"blackhole\":true},"
	  "{\"prefix\":\"10.0.0.0/16\",\"blackhole\":true},"
	  "{\"prefix\":\"10.0.0.0/8\",\"via\":\"192.0.2.1\"}]}",
	  "/routes/2/prefix", "10.0.0.0/8 is already routed by /routes/0" },
	{ "routes must be an array", "{\"routes\":5}", "/routes",
	  "5 is an integer, expected an array of routes" },

	/* neighbours */
	{ "neighbour good", "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1.5\",\"mac\":\"02:00:00:00:00:05\"}]}", NULL, NULL },
	{ "neighbour interface unknown",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan7\","
	  "\"ip\":\"10.0.1.5\",\"mac\":\"02:00:00:00:00:05\"}]}",
	  "/neighbors/0/interface", "\"lan7\" is not a configured interface" },
	{ "neighbour ip invalid",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1\",\"mac\":\"02:00:00:00:00:05\"}]}",
	  "/neighbors/0/ip", "\"10.0.1\" is not an IPv4 or IPv6 address" },
	{ "neighbour mac invalid",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1.5\",\"mac\":\"02:00:00:00:00\"}]}",
	  "/neighbors/0/mac", "is not a MAC address" },
	{ "neighbour mac multicast",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1.5\",\"mac\":\"33:33:00:00:00:01\"}]}",
	  "/neighbors/0/mac", "is a multicast MAC address" },
	{ "neighbour missing mac",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1.5\"}]}", "/neighbors/0",
	  "missing required key \"mac\"" },
	{ "neighbour unknown key",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\",\"ip\":\"10.0.1.5\","
	  "\"mac\":\"02:00:00:00:00:05\",\"state\":\"static\"}]}",
	  "/neighbors/0/state", "unknown key \"state\" (allowed: interface, ip, mac)" },
	{ "neighbour repeated",
	  "{" IFS ",\"neighbors\":[{\"interface\":\"lan0\",\"ip\":\"10.0.1.5\","
	  "\"mac\":\"02:00:00:00:00:05\"},{\"interface\":\"lan0\","
	  "\"ip\":\"10.0.1.5\",\"mac\":\"02:00:00:00:00:06\"}]}",
	  "/neighbors/1/ip", "10.0.1.5 on lan0 is already a static neighbour" },

	/* ipsec: IKEv2 connections in swanctl's words */
	{ "an ipsec connection", "{" IFS ",\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("") "},\"secrets\":{\"ike-dc1\":{\"id\":"
	  "\"192.0.2.2\",\"secret\":\"0sc2VjcmV0\"}}},\"routes\":[{"
	  "\"prefix\":\"10.3.0.0/16\",\"interface\":\"ipsec0\"}]}",
	  NULL, NULL },
	{ "ipsec: a duration in words", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"dpd_delay\":\"2 weeks\",") "}}}",
	  "/ipsec/connections/dc1/dpd_delay", "is not a duration" },
	{ "ipsec: fragmentation in other words", "{\"ipsec\":{"
	  "\"connections\":{\"dc1\":" IKE_CONN("\"fragmentation\":"
	  "\"maybe\",") "}}}", "/ipsec/connections/dc1/fragmentation",
	  "\"maybe\": yes, accept, force or no" },
	{ "ipsec: IKEv1", "{\"ipsec\":{\"connections\":{\"dc1\":"
	  IKE_CONN("\"version\":1,") "}}}",
	  "/ipsec/connections/dc1/version", "IKEv1 is not supported" },
	{ "ipsec: certificates", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"auth\":\"pubkey\",\"certs\":"
	  "[\"gw.pem\"],\"key\":\"private/gw.pem\",\"id\":\"CN=gw, "
	  "O=Example\"},\"remote\":{\"auth\":\"pubkey\",\"cacerts\":"
	  "\"ca.pem, ca2.pem\"},") "}}}", NULL, NULL },
	{ "ipsec: pubkey without certs", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"auth\":\"pubkey\"},") "}}}",
	  "/ipsec/connections/dc1/local", "auth pubkey needs certs" },
	{ "ipsec: pubkey without a key", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"auth\":\"pubkey\",\"certs\":"
	  "\"gw.pem\"},") "}}}",
	  "/ipsec/connections/dc1/local", "auth pubkey needs key" },
	{ "ipsec: pubkey without cacerts", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"remote\":{\"auth\":\"pubkey\"},") "}}}",
	  "/ipsec/connections/dc1/remote", "auth pubkey needs cacerts" },
	{ "ipsec: certs in remote", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"remote\":{\"auth\":\"pubkey\",\"certs\":"
	  "\"gw.pem\"},") "}}}",
	  "/ipsec/connections/dc1/remote/certs", "go in local" },
	{ "ipsec: cacerts in local", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"cacerts\":\"ca.pem\"},")
	  "}}}", "/ipsec/connections/dc1/local/cacerts", "go in remote" },
	{ "ipsec: certs with psk", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"auth\":\"psk\",\"certs\":"
	  "\"gw.pem\"},") "}}}",
	  "/ipsec/connections/dc1/local", "certs and key are for auth pubkey" },
	{ "ipsec: EAP", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":" IKE_CONN("\"local\":{\"auth\":\"eap-mschapv2\"},")
	  "}}}", "/ipsec/connections/dc1/local/auth", "psk or pubkey" },
	{ "ipsec: an unknown key", "{\"ipsec\":{\"connections\":{\"dc1\":"
	  IKE_CONN("\"mobike\":true,") "}}}",
	  "/ipsec/connections/dc1/mobike", "unknown key \"mobike\"" },
	{ "ipsec: children are required", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":{\"local_addrs\":[\"192.0.2.1\"],\"remote_addrs\":"
	  "[\"192.0.2.2\"]}}}}", "/ipsec/connections/dc1",
	  "missing required key \"children\"" },
	{ "ipsec: a bad start_action", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":{\"local_addrs\":\"192.0.2.1\",\"remote_addrs\":"
	  "\"192.0.2.2\",\"children\":{\"net\":{\"local_ts\":[],"
	  "\"remote_ts\":[],\"start_action\":\"later\"}}}}}}",
	  "/ipsec/connections/dc1/children/net/start_action",
	  "none, trap or start" },
	{ "ipsec: the interface name is taken", "{" IFS ",\"ipsec\":{"
	  "\"connections\":{\"dc1\":" IKE_CONN("\"if_name\":\"lan0\",")
	  "}}}", "/ipsec/connections/dc1/if_name", "already the name" },
	{ "ipsec: a connection to %any responds", "{\"ipsec\":{"
	  "\"connections\":{\"rw\":{\"local_addrs\":\"192.0.2.1\","
	  "\"remote_addrs\":\"%any\",\"children\":{\"net\":{"
	  "\"local_ts\":[],\"remote_ts\":[]}}}}}}", NULL, NULL },
	{ "ipsec: a connection to %any cannot start", "{\"ipsec\":{"
	  "\"connections\":{\"rw\":{\"local_addrs\":\"192.0.2.1\","
	  "\"remote_addrs\":\"%any\",\"children\":{\"net\":{"
	  "\"local_ts\":[],\"remote_ts\":[],\"start_action\":"
	  "\"start\"}}}}}}", "/ipsec/connections/rw",
	  "no address to initiate to" },
	{ "ipsec: local_addrs is an address", "{\"ipsec\":{"
	  "\"connections\":{\"rw\":{\"local_addrs\":\"%any\","
	  "\"remote_addrs\":\"%any\",\"children\":{\"net\":{"
	  "\"local_ts\":[],\"remote_ts\":[]}}}}}}",
	  "/ipsec/connections/rw/local_addrs", "one address, please:" },
	{ "ipsec: five children", "{\"ipsec\":{\"connections\":{"
	  "\"dc1\":{\"local_addrs\":\"192.0.2.1\",\"remote_addrs\":"
	  "\"192.0.2.2\",\"children\":{\"a\":{\"local_ts\":[],"
	  "\"remote_ts\":[]},\"b\":{\"local_ts\":[],\"remote_ts\":[]},"
	  "\"c\":{\"local_ts\":[],\"remote_ts\":[]},\"d\":{\"local_ts\":"
	  "[],\"remote_ts\":[]},\"e\":{\"local_ts\":[],\"remote_ts\":"
	  "[]}}}}}}", "/ipsec/connections/dc1/children",
	  "5 children; a connection has 1 to 4" },
	{ "ipsec: a secret without its key", "{\"ipsec\":{\"secrets\":{"
	  "\"ike-x\":{\"id\":\"a\"}}}}", "/ipsec/secrets/ike-x",
	  "missing required key \"secret\"" },

	/* tunnels (ESP, manual SAs) */
	{ "a tunnel, routed to", "{" IFS ",\"tunnels\":[" TUN "],"
	  "\"routes\":[{\"prefix\":\"10.9.0.0/16\",\"interface\":"
	  "\"ipsec0\"}]}", NULL, NULL },
	{ "a tunnel's name is an interface's", "{" IFS ",\"tunnels\":["
	  TUN_BODY("", "\"name\":\"wan0\",", T_REMOTE, TUN_SA_OUT,
	  TUN_SA_IN) "]}",
	  "/tunnels/0/name", "\"wan0\" is already the name of /interfaces/1" },
	{ "a tunnel's name is another tunnel's",
	  "{\"tunnels\":[" TUN "," TUN_BODY("", T_NAME, T_REMOTE,
	  "\"sa_out\":{\"spi\":301,\"alg\":\"aes256gcm\",\"key_file\":"
	  "\"k\"},", "\"sa_in\":{\"spi\":302,\"alg\":\"aes256gcm\","
	  "\"key_file\":\"k\"},") "]}",
	  "/tunnels/1/name", "\"ipsec0\" is already the name of /tunnels/0" },
	{ "an unknown algorithm", "{\"tunnels\":[" TUN_BODY("", T_NAME,
	  T_REMOTE, TUN_SA_OUT, "\"sa_in\":{\"spi\":300,\"alg\":\"des\","
	  "\"key_file\":\"k\"},") "]}",
	  "/tunnels/0/sa_in/alg", "\"des\" is not an ESP algorithm" },
	{ "a reserved SPI", "{\"tunnels\":[" TUN_BODY("", T_NAME, T_REMOTE,
	  "\"sa_out\":{\"spi\":255,\"alg\":\"aes256gcm\",\"key_file\":"
	  "\"k\"},", TUN_SA_IN) "]}", "/tunnels/0/sa_out/spi", "255" },
	{ "local and remote of two families", "{\"tunnels\":[" TUN_BODY("",
	  T_NAME, "\"remote\":\"2001:db8::2\",", TUN_SA_OUT, TUN_SA_IN) "]}",
	  "/tunnels/0/remote", "one family" },
	{ "encap is esp or udp", "{\"tunnels\":[" TUN_BODY(
	  "\"encap\":\"gre\",", T_NAME, T_REMOTE, TUN_SA_OUT, TUN_SA_IN)
	  "]}", "/tunnels/0/encap", "\"esp\" (IP protocol 50) or \"udp\"" },
	{ "two tunnels, one inbound SPI", "{\"tunnels\":[" TUN ","
	  TUN_BODY("", "\"name\":\"ipsec1\",", T_REMOTE,
	  "\"sa_out\":{\"spi\":301,\"alg\":\"aes256gcm\",\"key_file\":"
	  "\"k\"},", TUN_SA_IN) "]}",
	  "/tunnels/1/sa_in", "SPI 4096 is already tunnel ipsec0's" },
	{ "selectors, MSS clamp and lifetimes",
	  "{\"tunnels\":[" TUN_BODY("\"local_subnets\":[\"10.1.0.0/16\"],"
	  "\"mss_clamp\":1300,\"rekey_packets\":1000,\"life_packets\":2000,"
	  "\"rekey_bytes\":1000000,", T_NAME, T_REMOTE, TUN_SA_OUT, TUN_SA_IN)
	  "]}", NULL, NULL },
	{ "the rekey limit comes before the end of life",
	  "{\"tunnels\":[" TUN_BODY("\"rekey_bytes\":2000,\"life_bytes\":2000,",
	  T_NAME, T_REMOTE, TUN_SA_OUT, TUN_SA_IN) "]}",
	  "/tunnels/0/rekey_bytes", "2000 is not below life_bytes (2000)" },
	{ "policy is a boolean",
	  "{\"tunnels\":[" TUN_BODY("\"policy\":\"yes\",", T_NAME, T_REMOTE,
	  TUN_SA_OUT, TUN_SA_IN) "]}", "/tunnels/0/policy",
	  "expected true or false, not a string" },
	{ "mss_clamp is a boolean or an MSS",
	  "{\"tunnels\":[" TUN_BODY("\"mss_clamp\":\"auto\",", T_NAME,
	  T_REMOTE, TUN_SA_OUT, TUN_SA_IN) "]}", "/tunnels/0/mss_clamp",
	  "true (the tunnel's MTU less the IP and TCP headers), false, or an "
	  "MSS of 536 to 9000" },
	{ "a selector is a prefix",
	  "{\"tunnels\":[" TUN_BODY("\"local_subnets\":[\"10.1.0.0/33\"],",
	  T_NAME, T_REMOTE, TUN_SA_OUT, TUN_SA_IN) "]}",
	  "/tunnels/0/local_subnets/0", "" },
	{ "a key in the configuration is refused: key_file only",
	  "{\"tunnels\":[" TUN_BODY("", T_NAME, T_REMOTE,
	  "\"sa_out\":{\"spi\":300,\"alg\":\"aes256gcm\",\"key\":"
	  "\"00\",\"key_file\":\"k\"},", TUN_SA_IN) "]}",
	  "/tunnels/0/sa_out/key", "unknown key \"key\" (allowed: spi, alg, "
	  "key_file)" },

	/* overlay */
	{ "an overlay with a client and a site peer",
	  OVL(",\"listen_port\":51000,\"endpoint\":\"vpn.example.com:51000\","
	  "\"dns\":[\"10.99.0.1\"],\"client_networks\":[\"10.0.1.0/24\"],"
	  "\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.2\","
	  "\"fd99::2/128\"") "],\"peers\":[{\"name\":\"site-b\","
	  "\"public_key\":\"" WG_K2 "\",\"preshared_key\":\"" WG_PSK "\","
	  "\"endpoint\":\"[2001:db8::2]:51820\",\"allowed_ips\":"
	  "[\"10.2.0.0/16\"],\"persistent_keepalive\":25}]"), NULL, NULL },
	{ "the overlay needs its subnet",
	  "{\"overlay\":{\"listen_port\":51820}}", "/overlay",
	  "missing required key \"addresses\"" },
	{ "the overlay's interface name is taken",
	  "{" IFS ",\"overlay\":{\"interface\":\"lan0\",\"addresses\":"
	  "[\"10.99.0.1/24\"]}}", "/overlay/interface",
	  "\"lan0\" is already the name of /interfaces/0" },
	{ "a route names the overlay's interface",
	  OVL(",\"peers\":[]},\"routes\":[{\"prefix\":\"10.2.0.0/16\","
	  "\"interface\":\"tun0\"}],\"x\":{"), "/x", "unknown key \"x\"" },
	{ "a public key is base64 of 32 bytes",
	  OVL(",\"clients\":[" WG_CLIENT("alice", "AAAA", "\"10.99.0.2\"")
	  "]"), "/overlay/clients/0/public_key", "\"AAAA\" is not a "
	  "WireGuard public key" },
	{ "a key is one peer",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.2\"")
	  "," WG_CLIENT("bob", WG_K1, "\"10.99.0.3\"") "]"),
	  "/overlay/clients/1/public_key", "the same public key as client "
	  "alice" },
	{ "names are unique",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.2\"")
	  "," WG_CLIENT("alice", WG_K2, "\"10.99.0.3\"") "]"),
	  "/overlay/clients/1/name", "\"alice\" is already the name of "
	  "another client" },
	{ "a client's address is inside the overlay",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.98.0.2\"")
	  "]"), "/overlay/clients/0/addresses/0", "\"10.98.0.2\" is outside "
	  "the overlay's subnets" },
	{ "a client's address is one address",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.0/28\"")
	  "]"), "/overlay/clients/0/addresses/0", "one address of each "
	  "family" },
	{ "a client's address is not the appliance's",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.1\"")
	  "]"), "/overlay/clients/0/addresses/0", "the appliance's own "
	  "overlay address" },
	{ "two clients, one address",
	  OVL(",\"clients\":[" WG_CLIENT("alice", WG_K1, "\"10.99.0.2\"")
	  "," WG_CLIENT("bob", WG_K2, "\"10.99.0.2/32\"") "]"),
	  "/overlay/clients/1/addresses/0", "10.99.0.2/32 is already alice's" },
	{ "a site peer's endpoint is ADDRESS:PORT",
	  OVL(",\"peers\":[{\"name\":\"b\",\"public_key\":\"" WG_K2 "\","
	  "\"endpoint\":\"2001:db8::2:51820\",\"allowed_ips\":[]}]"),
	  "/overlay/peers/0/endpoint", "is not ADDRESS:PORT" },
	{ "allowed IPs have no host bits",
	  OVL(",\"peers\":[{\"name\":\"b\",\"public_key\":\"" WG_K2 "\","
	  "\"allowed_ips\":[\"10.2.0.1/16\"]}]"),
	  "/overlay/peers/0/allowed_ips/0", "has host bits set (did you mean "
	  "10.2.0.0/16?)" },
	{ "a preshared key is base64 or sealed",
	  OVL(",\"peers\":[{\"name\":\"b\",\"public_key\":\"" WG_K2 "\","
	  "\"preshared_key\":\"secret\",\"allowed_ips\":[]}]"),
	  "/overlay/peers/0/preshared_key", "44 characters of base64" },
	{ "the overlay's port is not IKE's",
	  OVL(",\"listen_port\":4500"), "/overlay/listen_port",
	  "4500 is IKE's" },
	{ "clientpacks' endpoint is HOST:PORT",
	  OVL(",\"endpoint\":\"vpn.example.com\""), "/overlay/endpoint",
	  "the HOST:PORT clients reach" },

	/* quoting */
	{ "a long bad value is cut, not copied whole",
	  "{\"log\":{\"level\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
	  "/log/level", "is longer than 16 bytes" },
	{ "control characters are escaped in messages",
	  "{\"log\":{\"level\":\"a\\nb\"}}", "/log/level",
	  "\"a\\nb\" is not a log level" },
};

static void
dump_errs(const char *what, const struct hg_cfg_errs *errs)
{
	for (unsigned i = 0; i < errs->n && i < HG_CFG_ERR_MAX; i++)
		print_message("  %s: got %s: %s\n", what, errs->e[i].where,
		    errs->e[i].msg);
}

static bool
errs_have(const struct hg_cfg_errs *errs, const char *where, const char *msg)
{
	for (unsigned i = 0; i < errs->n && i < HG_CFG_ERR_MAX; i++)
		if (strcmp(errs->e[i].where, where) == 0 &&
		    strstr(errs->e[i].msg, msg) != NULL)
			return true;
	return false;
}

static void
test_cases(void **state)
{
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct cfg_case *t = &cases[i];
		struct hg_cfg_errs errs;
		struct hg_config *cfg;
		bool ok;

		memset(&errs, 0xa5, sizeof(errs));
		cfg = hg_config_parse(t->json, strlen(t->json), &errs);
		if (t->where == NULL)
			ok = cfg != NULL && errs.n == 0;
		else
			ok = cfg == NULL && errs.n == 1 &&
			    errs_have(&errs, t->where, t->msg);
		if (!ok) {
			print_message("FAIL %s: expected %s%s%s%s\n", t->what,
			    t->where == NULL ? "success" : t->where,
			    t->where == NULL ? "" : ": ... ",
			    t->msg != NULL ? t->msg : "",
			    t->where == NULL ? "" : " (and no other error)");
			dump_errs(t->what, &errs);
			failed++;
		}
		hg_config_free(cfg);
	}
	assert_int_equal(failed, 0);
}

/* The overlay's fields as parsed: its interface, peers and keys. */
static void
test_overlay_fields(void **state)
{
	static const char json[] = OVL(",\"endpoint\":\"198.51.100.1:51000\","
	    "\"mtu\":1380,\"clients\":[" WG_CLIENT("alice", WG_K1,
	    "\"10.99.0.2\"") "],\"peers\":[{\"name\":\"b\","
	    "\"public_key\":\"" WG_K2 "\",\"endpoint\":"
	    "\"[2001:db8::2]:51821\",\"allowed_ips\":[\"10.2.0.0/16\"]}]");
	struct hg_cfg_errs errs;
	struct hg_config *cfg = hg_config_parse(json, strlen(json), &errs);
	const struct hg_cfg_overlay *ov;
	const struct hg_cfg_if *ifc;

	(void)state;
	if (cfg == NULL)
		dump_errs("overlay", &errs);
	assert_non_null(cfg);
	ov = &cfg->overlay;
	assert_true(ov->enabled);
	assert_int_equal(ov->port, 51820);
	assert_string_equal(ov->key_file, "overlay.key");
	ifc = &cfg->ifs[ov->if_idx];
	assert_string_equal(ifc->name, "tun0");
	assert_string_equal(ifc->port, "null");
	assert_true(ifc->overlay);
	assert_int_equal(ifc->mtu_bytes, 1380);
	assert_int_equal(ifc->n_addrs, 2);
	assert_int_equal(ov->n_peers, 2);
	assert_true(ov->peers[0].client);
	assert_true(ov->peers[0].enabled);
	assert_int_equal(ov->peers[0].n_allowed, 1);
	assert_int_equal(ov->peers[0].allowed[0].len_bits, 32);
	/* FCl7...: the first bytes of the key, decoded. */
	assert_int_equal(ov->peers[0].pub[0], 0x14);
	assert_int_equal(ov->peers[0].pub[1], 0x29);
	assert_false(ov->peers[1].client);
	assert_int_equal(ov->peers[1].endpoint.family, AF_INET6);
	assert_int_equal(ov->peers[1].endpoint_port, 51821);
	assert_int_equal(ov->peers[1].allowed[0].len_bits, 16);
	hg_config_free(cfg);
}

/* One run reports every mistake, in document order. */
static void
test_all_errors_reported(void **state)
{
	static const char json[] =
	    "{ \"workers\": 100, \"colour\": \"blue\",\n"
	    "  \"interfaces\": [\n"
	    "    { \"name\": \"lan0\", \"port\": \"afpacket:veth0\", \"mtu\": 9000,\n"
	    "      \"addresses\": [\"10.0.1.1/24\", \"10.0.1.300/24\"] },\n"
	    "    { \"name\": \"lan0\", \"port\": \"afpacket:veth0\" }\n"
	    "  ],\n"
	    "  \"routes\": [ { \"prefix\": \"10.0.0.1/8\", \"blackhole\": true },\n"
	    "              { \"prefix\": \"::/0\", \"via\": \"10.0.1.254\" } ],\n"
	    "  \"neighbors\": [ { \"interface\": \"eth9\", \"ip\": \"10.0.1.5\",\n"
	    "                   \"mac\": \"01:00:00:00:00:05\" } ] }\n";
	static const struct { const char *where, *msg; } want[] = {
		{ "/colour", "unknown key \"colour\"" },
		{ "/workers", "100 is out of range 0..64" },
		{ "/interfaces/0/mtu", "9000 is out of range 68..2030" },
		{ "/interfaces/0/addresses/1", "\"10.0.1.300/24\" is not an" },
		{ "/interfaces/1/name", "already the name of /interfaces/0" },
		{ "/interfaces/1/port", "already the port of /interfaces/0" },
		{ "/routes/0/prefix", "did you mean 10.0.0.0/8?" },
		{ "/routes/1/via", "10.0.1.254 is IPv4 but prefix ::/0 is IPv6" },
		{ "/neighbors/0/interface", "\"eth9\" is not a configured" },
		{ "/neighbors/0/mac", "is a multicast MAC address" },
	};
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	(void)state;
	cfg = hg_config_parse(json, strlen(json), &errs);
	assert_null(cfg);
	dump_errs("all errors", &errs);
	assert_int_equal(errs.n, HG_ARRAY_SIZE(want));
	for (size_t i = 0; i < HG_ARRAY_SIZE(want); i++) {
		assert_string_equal(errs.e[i].where, want[i].where);
		if (strstr(errs.e[i].msg, want[i].msg) == NULL)
			fail_msg("error %zu: \"%s\" lacks \"%s\"", i,
			    errs.e[i].msg, want[i].msg);
	}
}

/* More errors than the cap: the first HG_CFG_ERR_MAX kept, all counted. */
static void
test_error_cap(void **state)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	size_t n = 200, len = 0, cap = 64 + n * 48;
	char *json = malloc(cap);

	(void)state;
	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "{\"routes\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len,
		    "%s{\"prefix\":\"10.0.0.%zu/8\",\"blackhole\":true}",
		    i ? "," : "", i + 1);
	len += (size_t)snprintf(json + len, cap - len, "]}");
	cfg = hg_config_parse(json, len, &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, n);
	assert_string_equal(errs.e[HG_CFG_ERR_MAX - 1].where,
	    "/routes/49/prefix");
	free(json);
}

/* Tens of thousands of routes parse into the malloc'd array. */
static void
test_many_routes(void **state)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	size_t n = 50000, len = 0, cap = 64 + n * 64;
	char *json = malloc(cap);
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "{\"routes\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len,
		    "%s{\"prefix\":\"10.%zu.%zu.0/24\",\"via\":\"192.0.2.1\"}",
		    i ? "," : "", i >> 8, i & 0xff);
	len += (size_t)snprintf(json + len, cap - len, "]}");
	cfg = hg_config_parse(json, len, &errs);
	dump_errs("many routes", &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_routes, n);
	assert_string_equal(hg_addr_fmt(&cfg->routes[n - 1].dst.a, buf,
	    sizeof(buf)), "10.195.79.0");
	hg_config_free(cfg);
	free(json);
}

static void
assert_prefix(const struct hg_prefix *p, const char *want)
{
	char a[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN + 4];

	snprintf(got, sizeof(got), "%s/%u", hg_addr_fmt(&p->a, a, sizeof(a)),
	    p->len_bits);
	assert_string_equal(got, want);
}

static void
assert_addr(const struct hg_addr *p, const char *want)
{
	char a[INET6_ADDRSTRLEN];

	assert_string_equal(hg_addr_fmt(p, a, sizeof(a)), want);
}

static void
test_full_config(void **state)
{
	static const char json[] =
	    "{ \"workers\": 3,\n"
	    "  \"log\": { \"level\": \"debug\", \"syslog\": true },\n"
	    "  \"control_socket\": \"/tmp/hg.sock\",\n"
	    "  \"interfaces\": [\n"
	    "    { \"name\": \"lan0\", \"port\": \"afpacket:veth-lan\", \"mtu\": 1400,\n"
	    "      \"mac\": \"02:00:00:00:01:0A\",\n"
	    "      \"addresses\": [ \"10.0.1.1/24\", \"2001:DB8:1::1/64\" ] },\n"
	    "    { \"name\": \"wan0\", \"port\": \"afpacket:veth-wan\" }\n"
	    "  ],\n"
	    "  \"routes\": [\n"
	    "    { \"prefix\": \"0.0.0.0/0\", \"via\": \"10.0.1.254\" },\n"
	    "    { \"prefix\": \"2001:db8:99::/48\", \"via\": \"2001:db8:1::fe\",\n"
	    "      \"interface\": \"wan0\" },\n"
	    "    { \"prefix\": \"192.0.2.0/24\", \"blackhole\": true },\n"
	    "    { \"prefix\": \"198.51.100.0/24\", \"interface\": \"lan0\" }\n"
	    "  ],\n"
	    "  \"neighbors\": [\n"
	    "    { \"interface\": \"wan0\", \"ip\": \"fe80::5\",\n"
	    "      \"mac\": \"02:00:00:00:00:05\" } ] }\n";
	static const uint8_t mac0[6] = { 2, 0, 0, 0, 1, 0x0a };
	static const uint8_t mac5[6] = { 2, 0, 0, 0, 0, 5 };
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	(void)state;
	cfg = hg_config_parse(json, strlen(json), &errs);
	dump_errs("full", &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->log_level, HG_LOG_DEBUG);
	assert_true(cfg->log_syslog);
	assert_string_equal(cfg->control_socket, "/tmp/hg.sock");

	assert_int_equal(cfg->n_ifs, 2);
	assert_string_equal(cfg->ifs[0].name, "lan0");
	assert_string_equal(cfg->ifs[0].port, "afpacket:veth-lan");
	assert_int_equal(cfg->ifs[0].mtu_bytes, 1400);
	assert_true(cfg->ifs[0].has_mac);
	assert_memory_equal(cfg->ifs[0].mac, mac0, 6);
	assert_int_equal(cfg->ifs[0].n_addrs, 2);
	assert_int_equal(cfg->ifs[0].addrs[0].a.family, AF_INET);
	assert_prefix(&cfg->ifs[0].addrs[0], "10.0.1.1/24");
	assert_int_equal(cfg->ifs[0].addrs[1].a.family, AF_INET6);
	assert_prefix(&cfg->ifs[0].addrs[1], "2001:db8:1::1/64");
	assert_string_equal(cfg->ifs[1].name, "wan0");
	assert_int_equal(cfg->ifs[1].mtu_bytes, 1500);
	assert_false(cfg->ifs[1].has_mac);
	assert_int_equal(cfg->ifs[1].n_addrs, 0);

	assert_int_equal(cfg->n_routes, 4);
	assert_prefix(&cfg->routes[0].dst, "0.0.0.0/0");
	assert_true(cfg->routes[0].has_via);
	assert_addr(&cfg->routes[0].via, "10.0.1.254");
	assert_int_equal(cfg->routes[0].if_idx, -1);
	assert_false(cfg->routes[0].blackhole);
	assert_prefix(&cfg->routes[1].dst, "2001:db8:99::/48");
	assert_addr(&cfg->routes[1].via, "2001:db8:1::fe");
	assert_int_equal(cfg->routes[1].if_idx, 1);
	assert_prefix(&cfg->routes[2].dst, "192.0.2.0/24");
	assert_true(cfg->routes[2].blackhole);
	assert_false(cfg->routes[2].has_via);
	assert_int_equal(cfg->routes[2].if_idx, -1);
	assert_prefix(&cfg->routes[3].dst, "198.51.100.0/24");
	assert_false(cfg->routes[3].has_via);
	assert_int_equal(cfg->routes[3].if_idx, 0);

	assert_int_equal(cfg->n_neighs, 1);
	assert_int_equal(cfg->neighs[0].if_idx, 1);
	assert_addr(&cfg->neighs[0].ip, "fe80::5");
	assert_memory_equal(cfg->neighs[0].mac, mac5, 6);
	hg_config_free(cfg);
}

/* Two children: each its own selectors, proposals and lifetimes, in
 * the configuration's order; the tunnel's selectors are theirs
 * together, each subnet once; the connection starts if one child
 * says start, and restarts on DPD if one says restart. */
static void
test_ipsec_children(void **state)
{
	static const char text[] = "{\"ipsec\":{\"connections\":{"
	    "\"dc1\":{\"local_addrs\":\"192.0.2.1\",\"remote_addrs\":"
	    "\"192.0.2.2\",\"children\":{"
	    "\"net\":{\"local_ts\":[\"10.1.0.0/24\"],\"remote_ts\":"
	    "[\"10.2.0.0/24\"],\"start_action\":\"trap\"},"
	    "\"db\":{\"local_ts\":[\"10.1.0.0/24\"],\"remote_ts\":"
	    "[\"10.3.0.0/24\",\"2001:db8:3::/64\"],\"esp_proposals\":"
	    "[\"aes128gcm16\"],\"rekey_time\":\"20m\",\"start_action\":"
	    "\"start\",\"dpd_action\":\"restart\"}}}},"
	    "\"secrets\":{\"ike-dc1\":{\"secret\":\"k\"}}}}";
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	const struct hg_cfg_tunnel *tn;
	const struct hg_cfg_ike_conn *ic;

	(void)state;
	cfg = hg_config_parse(text, sizeof(text) - 1, &errs);
	if (cfg == NULL)
		fail_msg("%s: %s", errs.e[0].where, errs.e[0].msg);
	ic = &cfg->ike[0];
	assert_int_equal(ic->n_children, 2);
	assert_string_equal(ic->children[0].name, "net");
	assert_string_equal(ic->children[1].name, "db");
	assert_int_equal(ic->children[0].rekey_time_s, 3600);
	assert_int_equal(ic->children[1].rekey_time_s, 1200);
	assert_int_equal(ic->children[0].n_esp_props, 0);
	assert_string_equal(ic->children[1].esp_props[0], "aes128gcm16");
	assert_int_equal(ic->children[1].n_remote, 2);
	assert_int_equal(ic->start_action, HG_CFG_START_START);
	assert_int_equal(ic->dpd_action, HG_CFG_DPD_RESTART);
	tn = &cfg->tunnels[ic->tunnel];
	assert_int_equal(tn->n_local, 1);	/* 10.1.0.0/24 once */
	assert_int_equal(tn->n_remote, 3);
	assert_int_equal(tn->remote_subnets[1].len_bits, 24);
	assert_int_equal(tn->remote_subnets[2].len_bits, 64);
	hg_config_free(cfg);
}

/* An ipsec connection is a tunnel interface of its own, its selectors
 * the child's, its remote_ts routed to it; lists, durations, secrets
 * as swanctl writes them. */
static void
test_ipsec(void **state)
{
	static const char text[] = "{" IFS ",\"ipsec\":{\"connections\":{"
	    "\"dc1\":" IKE_CONN("\"dpd_delay\":30,") ",\"dc2\":"
	    IKE_CONN("\"if_name\":\"to-dc2\",\"encap\":true,"
	    "\"fragmentation\":\"no\",") "},"
	    "\"secrets\":{\"ike-dc1\":{\"id\":\"192.0.2.2\",\"id-2\":"
	    "\"gw.example\",\"secret\":\"0x0102\"}}}}";
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	const struct hg_cfg_tunnel *tn;
	const struct hg_cfg_ike_conn *ic;

	(void)state;
	cfg = hg_config_parse(text, sizeof(text) - 1, &errs);
	if (cfg == NULL)
		fail_msg("%s: %s", errs.e[0].where, errs.e[0].msg);
	assert_int_equal(cfg->n_ike, 2);
	assert_int_equal(cfg->n_tunnels, 2);
	ic = &cfg->ike[0];
	assert_string_equal(ic->name, "dc1");
	assert_int_equal(ic->n_props, 2);
	assert_string_equal(ic->props[1], "aes256-sha256-modp3072");
	assert_int_equal(ic->dpd_delay_s, 30);
	assert_int_equal(ic->n_children, 1);
	assert_int_equal(ic->children[0].rekey_time_s, 3600);
	assert_int_equal(ic->rekey_time_s, 4 * 3600);	/* the default */
	assert_int_equal(ic->start_action, HG_CFG_START_START);
	assert_int_equal(ic->dpd_action, HG_CFG_DPD_CLEAR);
	assert_int_equal(ic->fragmentation, HG_CFG_FRAG_YES);	/* default */
	assert_int_equal(cfg->ike[1].fragmentation, HG_CFG_FRAG_NO);
	assert_string_equal(ic->children[0].name, "net");
	tn = &cfg->tunnels[ic->tunnel];
	assert_true(tn->ike);
	assert_true(tn->policy);
	assert_string_equal(tn->name, "ipsec0");
	assert_string_equal(cfg->ifs[tn->if_idx].name, "ipsec0");
	assert_true(cfg->ifs[tn->if_idx].tunnel);
	assert_int_equal(tn->n_remote, 1);
	assert_int_equal(tn->remote_subnets[0].len_bits, 16);
	assert_string_equal(cfg->tunnels[cfg->ike[1].tunnel].name, "to-dc2");
	assert_true(cfg->ike[1].encap);
	assert_int_equal(cfg->n_ike_secrets, 1);
	assert_int_equal(cfg->ike_secrets[0].n_ids, 2);
	assert_string_equal(cfg->ike_secrets[0].ids[1], "gw.example");
	assert_string_equal(cfg->ike_secrets[0].secret, "0x0102");
	hg_config_free(cfg);
}

static void
test_defaults(void **state)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg = hg_config_parse("{}", 2, &errs);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->workers, 0);
	assert_int_equal(cfg->log_level, HG_LOG_INFO);
	assert_false(cfg->log_syslog);
	assert_string_equal(cfg->control_socket, HG_CFG_DEFAULT_SOCKET);
	assert_int_equal(cfg->n_ifs, 0);
	assert_int_equal(cfg->n_routes, 0);
	assert_null(cfg->routes);
	/* The API is on by default, on every address, port 8000. */
	assert_true(cfg->api.enabled);
	assert_string_equal(cfg->api.listen, "0.0.0.0");
	assert_int_equal(cfg->api.port, 8000);
	assert_string_equal(cfg->api.state_dir, "/var/lib/hexgate");
	hg_config_free(cfg);
	cfg = hg_config_parse("{\"api\":false}", 13, &errs);
	assert_non_null(cfg);
	assert_false(cfg->api.enabled);
	hg_config_free(cfg);
}

/* "store" as a path keeps every version; the object form sets both. */
static void
test_store_forms(void **state)
{
	static const char obj[] = "{\"store\":{\"path\":\"state/config.db\","
	    "\"keep_versions\":250}}";
	static const char path[] = "{\"store\":\"config.db\"}";
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	(void)state;
	cfg = hg_config_parse(path, strlen(path), &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->store, "config.db");
	assert_int_equal(cfg->store_keep_versions, 0);
	hg_config_free(cfg);
	cfg = hg_config_parse(obj, strlen(obj), &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->store, "state/config.db");
	assert_int_equal(cfg->store_keep_versions, 250);
	hg_config_free(cfg);
}

static void
test_addr_helpers(void **state)
{
	static const struct {
		const char *what, *in;
		int rc;
		const char *out;	/* canonical text when rc == 0 */
	} t[] = {
		{ "v4 prefix", "10.0.0.0/8", 0, "10.0.0.0/8" },
		{ "v6 prefix, canonical lower case", "2001:DB8:0::/32", 0,
		  "2001:db8::/32" },
		{ "v4 mapped v6", "::ffff:10.0.0.1/128", 0, "::ffff:10.0.0.1/128" },
		{ "no slash", "10.0.0.0", -EINVAL, NULL },
		{ "empty length", "10.0.0.0/", -EINVAL, NULL },
		{ "leading zero length", "10.0.0.0/08", -EINVAL, NULL },
		{ "length too long", "10.0.0.0/0008", -EINVAL, NULL },
		{ "v4 length 33", "10.0.0.0/33", -ERANGE, NULL },
		{ "v6 length 128", "::/128", 0, "::/128" },
		{ "octal-looking octet", "010.0.0.0/8", -EINVAL, NULL },
		{ "hostname", "example.com/24", -EINVAL, NULL },
		{ "empty", "", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(t); i++) {
		struct hg_prefix p;
		int rc = hg_prefix_parse(t[i].in, &p);

		if (rc != t[i].rc)
			fail_msg("%s: rc %d, want %d", t[i].what, rc, t[i].rc);
		if (rc == 0)
			assert_prefix(&p, t[i].out);
	}
}

/*
 * The shipped example must parse, and what it says must come back out:
 * every address and prefix in the file, formatted from the parsed config,
 * equals the text in the file.
 */
static void
test_shipped_example(void **state)
{
	const char *path = getenv("HG_EXAMPLE_CONFIG");
	struct hg_cfg_errs errs;
	struct hg_config *cfg;
	json_error_t jerr;
	json_t *root, *arr, *v;
	size_t i, j;

	(void)state;
	if (path == NULL)
		fail_msg("HG_EXAMPLE_CONFIG is not set (run through meson test)");
	cfg = hg_config_load(path, &errs);
	dump_errs(path, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	root = json_load_file(path, 0, &jerr);
	assert_non_null(root);

	arr = json_object_get(root, "interfaces");
	assert_int_equal(cfg->n_ifs, json_array_size(arr));
	assert_true(cfg->n_ifs >= 2);
	json_array_foreach(arr, i, v) {
		json_t *addrs = json_object_get(v, "addresses"), *a;

		assert_string_equal(cfg->ifs[i].name,
		    json_string_value(json_object_get(v, "name")));
		assert_string_equal(cfg->ifs[i].port,
		    json_string_value(json_object_get(v, "port")));
		assert_int_equal(cfg->ifs[i].n_addrs, json_array_size(addrs));
		json_array_foreach(addrs, j, a)
			assert_prefix(&cfg->ifs[i].addrs[j], json_string_value(a));
	}
	arr = json_object_get(root, "routes");
	assert_int_equal(cfg->n_routes, json_array_size(arr));
	json_array_foreach(arr, i, v) {
		json_t *via = json_object_get(v, "via");

		assert_prefix(&cfg->routes[i].dst,
		    json_string_value(json_object_get(v, "prefix")));
		assert_int_equal(cfg->routes[i].has_via, via != NULL);
		if (via != NULL)
			assert_addr(&cfg->routes[i].via, json_string_value(via));
	}
	assert_int_equal(cfg->n_neighs,
	    json_array_size(json_object_get(root, "neighbors")));
	json_decref(root);
	hg_config_free(cfg);
}

static void
test_load_missing_file(void **state)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	(void)state;
	cfg = hg_config_load("/nonexistent/hexgated.json", &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.e[0].where, "");
	assert_string_equal(errs.e[0].msg, "open: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_many_routes),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_ipsec),
		cmocka_unit_test(test_ipsec_children),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_store_forms),
		cmocka_unit_test(test_addr_helpers),
		cmocka_unit_test(test_overlay_fields),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
