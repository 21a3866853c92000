/*
 * src/daemon/ops/ops.c: every operation hexgated offers, one entry each (the
 * shape is src/mgmt/op.h; docs/operations.md tells how to add one).  The
 * table is the whole management surface: the control socket and the
 * HTTPS API serve it, /api/openapi.json describes it, hexctl calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/text.h"
#include "../daemon.h"
#include "../config/apply.h"
#include "../config/versions.h"
#include "../firewall/firewall.h"
#include "ops.h"

/* Rule files and set files: 10,000 rules are about 1 MB. */
#define DOC_MAX		(64 << 20)
#define RULE_MAX	8192
#define NAME_MAX_	64		/* a chain or set name */
#define VERSION_MAX	INT64_MAX

#define FAMILY { "family", HG_OPT_INT, HG_OPIN_QUERY, 0, 4, 6, "4 6", 4, \
	"the address family: 4 (iptables) or 6 (ip6tables)" }
#define CHAIN_FIELD(in) { "chain", HG_OPT_STRING, in, HG_OPF_REQUIRED, 1, \
	NAME_MAX_, NULL, 0, "a chain: INPUT_CUST, FORWARD_CUST, " \
	"PREROUTING_CUST, ... or a chain of the rules" }
#define IKE_CONN_FIELD { "name", HG_OPT_STRING, HG_OPIN_PATH, \
	HG_OPF_REQUIRED, 1, 63, NULL, 0, "the connection's name" }
#define CLIENTPACK_FIELD { "name", HG_OPT_STRING, HG_OPIN_PATH, \
	HG_OPF_REQUIRED, 1, 63, NULL, 0, "the clientpack's name" }
#define LIMIT(def) { "limit", HG_OPT_INT, HG_OPIN_QUERY, 0, 1, 100000, \
	NULL, def, "at most this many, newest first" }
#define VERSION_BODY(doc) { "version", HG_OPT_INT, HG_OPIN_BODY, \
	HG_OPF_REQUIRED, 1, VERSION_MAX, NULL, 0, doc }
/* A whole configuration: PUT /api/config and snapshot imports. */
#define DOC_FIELDS \
	{ "config", HG_OPT_OBJECT, HG_OPIN_BODY, HG_OPF_REQUIRED, 0, 0, \
	  NULL, 0, "the whole configuration (the config file's JSON)" }, \
	{ "rules", HG_OPT_STRING, HG_OPIN_BODY, 0, 0, DOC_MAX, NULL, 0, \
	  "iptables-restore text; left out: no IPv4 rules" }, \
	{ "rules6", HG_OPT_STRING, HG_OPIN_BODY, 0, 0, DOC_MAX, NULL, 0, \
	  "ip6tables-restore text; left out: no IPv6 rules" }, \
	{ "sets", HG_OPT_STRING, HG_OPIN_BODY, 0, 0, DOC_MAX, NULL, 0, \
	  "ipset restore text; left out: the live sets stay" }

#define TEXT_PLAIN	"text/plain; charset=utf-8"

/*
 * Reply schemas (OpenAPI 3.0, JSON text): what each JSON reply holds.
 * netns_api.sh checks every GET route's answer against its schema, so a
 * reply cannot drift from what /api/openapi.json says.
 */
#define S_INT		"{\"type\":\"integer\"}"
#define S_STR		"{\"type\":\"string\"}"
#define S_BOOL		"{\"type\":\"boolean\"}"
#define S_OBJ		"{\"type\":\"object\"}"
#define S_ARRAY(item)	"{\"type\":\"array\",\"items\":" item "}"
#define S_OBJECT(req, props) "{\"type\":\"object\",\"required\":[" req \
	"],\"properties\":{" props "}}"
#define S_TEXT		S_OBJECT("\"text\"", "\"text\":" S_STR)
/* A change's answer: ok, how many rules, the version it made. */
#define S_CHANGED	S_OBJECT("\"ok\"", "\"ok\":" S_BOOL ",\"rules\":" \
	S_INT ",\"version\":" S_INT ",\"warning\":" S_STR \
	",\"warnings\":" S_ARRAY(S_OBJ))
#define S_VERSION	S_OBJECT("\"version\"", "\"version\":" S_INT \
	",\"state\":" S_STR ",\"deadline_ns\":" S_INT)
#define S_DOC S_OBJECT("\"version\",\"config\",\"rules\",\"rules6\"," \
	"\"sets\"", "\"version\":" S_INT ",\"config\":" S_OBJ ",\"rules\":" \
	S_STR ",\"rules6\":" S_STR ",\"sets\":" S_STR)
#define S_TOKEN		S_OBJECT("\"id\",\"name\",\"state\"", \
	"\"id\":" S_INT \
	",\"name\":" S_STR ",\"state\":" S_STR ",\"created_ns\":" S_INT \
	",\"expires_ns\":" S_INT ",\"token\":" S_STR)
/* An overlay client; config: its wg-quick file (add, rekey, show). */
#define S_CLIENTPACK	S_OBJECT("\"name\",\"addresses\",\"public_key\"," \
	"\"enabled\",\"psk\"", "\"name\":" S_STR ",\"addresses\":" \
	S_ARRAY(S_STR) ",\"public_key\":" S_STR ",\"enabled\":" S_BOOL \
	",\"psk\":" S_BOOL ",\"version\":" S_INT ",\"config\":" S_STR)
#define S_CP_CHANGE	S_OBJECT("\"name\",\"version\"", "\"name\":" S_STR \
	",\"enabled\":" S_BOOL ",\"revoked\":" S_BOOL ",\"version\":" S_INT)
#define S_MONITOR	S_OBJECT("\"id\",\"interface\",\"running\",\"file\"", \
	"\"id\":" S_INT ",\"interface\":" S_STR ",\"filter\":" S_STR \
	",\"running\":" S_BOOL ",\"file\":" S_STR ",\"bytes\":" S_INT)
#define S_FLOWS		S_OBJECT("\"flows\",\"truncated\"", \
	"\"flows\":" \
	S_ARRAY(S_OBJECT("\"proto\",\"orig\",\"reply\",\"expires_s\"", \
	"\"proto\":" S_STR ",\"orig\":" S_STR ",\"reply\":" S_STR \
	",\"expires_s\":" S_INT)) ",\"truncated\":" S_BOOL)

const struct hg_op hg_ops[] = {
	/* --- state ------------------------------------------------------ */
	{ "show.version", op_show_version, 0,
	  "version, workers, uptime, configuration version and router "
	  "counters", "show version",
	  .rest = { { HG_OPM_GET, "/api/status/system", 0, 0, NULL } },
	  .reply_schema = S_OBJECT(
	    "\"version\",\"workers\",\"config_version\",\"uptime_s\",\"router\""
	    , "\"version\":" S_STR ",\"workers\":" S_INT ",\"config_version\":"
	    S_INT ",\"uptime_s\":" S_INT ",\"router\":" S_OBJ) },
	{ "show.interfaces", op_show_interfaces, 0,
	  "interfaces with ports, counters and drops by reason",
	  "show interfaces",
	  .rest = { { HG_OPM_GET, "/api/interfaces", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"interfaces\"", "\"interfaces\":" S_ARRAY(
	    S_OBJECT(
	    "\"name\",\"port\",\"mac\",\"mtu\",\"up\",\"rx_packets\","
	    "\"tx_packets\",\"drops\""
	    , "\"name\":" S_STR ",\"port\":" S_STR ",\"mac\":" S_STR
	    ",\"mtu\":" S_INT ",\"up\":" S_BOOL ",\"addresses\":" S_ARRAY(S_STR
	    ) ",\"rx_packets\":" S_INT ",\"tx_packets\":" S_INT ",\"drops\":"
	    S_OBJ))) },
	{ "show.routes", op_show_routes, 0, "the routing table",
	  "show routes", .rest = { { HG_OPM_GET, "/api/routes", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"routes\"", "\"routes\":" S_ARRAY(S_OBJECT
	    ("\"prefix\",\"type\"", "\"prefix\":" S_STR ",\"via\":" S_STR
	    ",\"interface\":" S_STR ",\"type\":" S_STR))) },
	{ "show.neighbors", op_show_neighbors, 0,
	  "the ARP and ND neighbour table", "show neighbors",
	  .rest = { { HG_OPM_GET, "/api/neighbors", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"neighbors\"", "\"neighbors\":" S_ARRAY(
	    S_OBJECT("\"interface\",\"ip\",\"state\"", "\"interface\":" S_STR
	    ",\"ip\":" S_STR ",\"mac\":" S_STR ",\"state\":" S_STR))) },
	{ "show.firewall", op_show_firewall, 0,
	  "verdict counters, conntrack totals, COPY sessions, known networks",
	  "show firewall",
	  .rest = { { HG_OPM_GET, "/api/firewall", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"conntrack\",\"copy\",\"known_networks\"",
	    "\"ipv4\":"
	    S_OBJECT("\"rules\",\"verdicts\"", "\"rules\":" S_INT
	    ",\"verdicts\":" S_OBJ) ",\"ipv6\":" S_OBJ ",\"conntrack\":"
	    S_OBJECT("\"max\",\"in_use\"", "\"max\":" S_INT ",\"in_use\":"
	    S_INT) ",\"copy\":" S_ARRAY(S_OBJ) ",\"known_networks\":"
	    S_ARRAY(S_OBJECT("\"prefix\",\"from\",\"through\"",
	    "\"prefix\":" S_STR ",\"from\":" S_STR ",\"through\":" S_STR))) },
	{ "show.conntrack", op_show_conntrack, 0,
	  "the connection tracking table", "show conntrack",
	  .rest = { { HG_OPM_GET, "/api/conntrack", 0, 0, NULL } },
	  .reply_schema = S_FLOWS },
	{ "nat.show", op_nat_show, 0,
	  "active NAT translations: flows whose reply is translated",
	  "nat show", .rest = { { HG_OPM_GET, "/api/nat", 0, 0, NULL } },
	  .reply_schema = S_FLOWS },
	{ "metrics", op_metrics, 0,
	  "counters in the Prometheus text format", "metrics",
	  .rest = { { HG_OPM_GET, "/metrics",
	  .response_type = "text/plain; version=0.0.4; charset=utf-8" } } },
	{ "ops.list", op_ops_list, 0,
	  "the operations: names, fields, hexctl words and routes",
	  "ops", .rest = { { HG_OPM_GET, "/api/ops", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"ops\"", "\"ops\":" S_ARRAY(S_OBJECT(
	    "\"name\",\"summary\",\"changes\",\"fields\",\"rest\"", "\"name\":"
	    S_STR ",\"summary\":" S_STR ",\"cli\":" S_STR ",\"changes\":"
	    S_BOOL ",\"fields\":" S_ARRAY(S_OBJ) ",\"rest\":" S_ARRAY(S_OBJ))))
	    },

	{ "ipsec.sas", op_ipsec_sas, 0,
	  "the ESP tunnels and their SAs: SPI, algorithm, endpoints, "
	  "encapsulation, selectors, counters, lifetimes, SAs due a rekey "
	  "(never a key)", "ipsec sas",
	  .rest = { { HG_OPM_GET, "/api/ipsec/sas", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"tunnels\",\"rekeys_due\",\"expired\"",
	    "\"rekeys_due\":" S_INT ",\"expired\":" S_INT ",\"tunnels\":"
	    S_ARRAY(S_OBJECT("\"tunnel\",\"sas\"", "\"tunnel\":" S_STR
	    ",\"remote_subnets\":" S_ARRAY(S_STR) ",\"local_subnets\":"
	    S_ARRAY(S_STR) ",\"sas\":"
	    S_ARRAY(S_OBJECT("\"spi\",\"direction\",\"algorithm\","
	    "\"packets\"", "\"spi\":" S_STR ",\"direction\":" S_STR
	    ",\"algorithm\":" S_STR ",\"packets\":" S_INT))))) },

	{ "ipsec.status", op_ipsec_status, 0,
	  "the IKE SAs, as swanctl --list-sas shows them: state, peer, "
	  "algorithms, SPIs, NAT, the child SA and its selectors; and the "
	  "connections with start_action trap waiting for traffic",
	  "ipsec status",
	  .rest = { { HG_OPM_GET, "/api/ipsec/status", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"ike_sas\",\"traps\"", "\"ike_sas\":"
	    S_ARRAY(S_OBJECT("\"name\",\"state\"", "\"name\":" S_STR
	    ",\"state\":" S_STR)) ",\"traps\":" S_ARRAY(S_STR)) },
	{ "overlay.status", op_overlay_status, 0,
	  "the overlay's peers as wg show shows them: endpoint, allowed "
	  "IPs, latest handshake, transfer, persistent keepalive; plus each "
	  "clientpack's name and whether it is enabled (enabled false and no "
	  "peers without an overlay section)", "overlay status",
	  .rest = { { HG_OPM_GET, "/api/overlay/status", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"enabled\",\"peers\"",
	    "\"enabled\":" S_BOOL ",\"interface\":" S_STR
	    ",\"public_key\":" S_STR ",\"listen_port\":" S_INT ",\"peers\":"
	    S_ARRAY(S_OBJECT("\"name\",\"public_key\"", "\"name\":" S_STR
	    ",\"kind\":" S_STR ",\"public_key\":" S_STR
	    ",\"latest_handshake\":" S_INT ",\"transfer_rx\":" S_INT
	    ",\"transfer_tx\":" S_INT))) },
	{ "overlay.handshake", op_overlay_handshake, 0,
	  "start a handshake with an overlay peer now (a rekey; a client "
	  "only once it has reached us)", "overlay handshake",
	  .fields = { { "name", HG_OPT_STRING, HG_OPIN_PATH, HG_OPF_REQUIRED,
	    1, 63, NULL, 0, "the peer's or clientpack's name" } },
	  .rest = { { HG_OPM_POST, "/api/overlay/peers/{name}/handshake", 0,
	    0, NULL } },
	  .reply_schema = S_OBJECT("\"ok\"", "\"ok\":" S_BOOL ",\"message\":" S_STR) },
	{ "ipsec.up", op_ipsec_up, 0,
	  "initiate an IPsec connection (and keep it up)", "ipsec up",
	  .fields = { IKE_CONN_FIELD },
	  .rest = { { HG_OPM_POST, "/api/ipsec/connections/:name/up", 0, 0,
	  NULL } },
	  .reply_schema = S_OBJECT("\"ok\"", "\"ok\":" S_BOOL
	    ",\"message\":" S_STR) },
	{ "ipsec.down", op_ipsec_down, 0,
	  "delete an IPsec connection's IKE SA (its peer told) until ipsec "
	  "up", "ipsec down", .fields = { IKE_CONN_FIELD },
	  .rest = { { HG_OPM_POST, "/api/ipsec/connections/:name/down", 0, 0,
	  NULL } },
	  .reply_schema = S_OBJECT("\"ok\"", "\"ok\":" S_BOOL
	    ",\"message\":" S_STR) },

	{ "ipsec.connections", op_ipsec_conns_show, 0,
	  "the IPsec connections and secrets (the configuration's ipsec "
	  "section, swanctl.conf's keys as JSON; secrets as stars)",
	  "ipsec connections",
	  .rest = { { HG_OPM_GET, "/api/ipsec/connections", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"version\",\"ipsec\"", "\"version\":"
	    S_INT ",\"ipsec\":" S_OBJ) },
	{ "ipsec.connections.put", op_ipsec_conns_put, HG_OP_CHANGES,
	  "replace the IPsec connections and secrets, all or nothing, as a "
	  "new version (a secret given as the stars a reply shows keeps the "
	  "running one of that name); hexctl ipsec import makes the body "
	  "from a swanctl.conf", "ipsec put",
	  .fields = {
	  { "ipsec", HG_OPT_OBJECT, HG_OPIN_BODY, HG_OPF_REQUIRED, 0, 0, NULL,
	    0, "{\"connections\": {...}, \"secrets\": {...}}: swanctl.conf's "
	    "keys as JSON" } },
	  .rest = { { HG_OPM_PUT, "/api/ipsec/connections", 0, 0, NULL } },
	  .reply_schema = S_VERSION },

	/* --- the overlay's clientpacks (overlay.c) ----------------------- */
	{ "overlay.clientpack.add", op_overlay_cp_add, HG_OP_CHANGES,
	  "add an overlay client: the next free overlay address, a new key "
	  "pair (and a preshared key with psk), as a new version; the reply's "
	  "config is the client's wg-quick file, the only time its private "
	  "key is shown", "overlay clientpack add", .fields = {
	  { "name", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1, 63, NULL,
	    0, "the client's name: letters, digits, '.', '_' and '-'" },
	  { "psk", HG_OPT_BOOL, HG_OPIN_BODY, 0, 0, 0, NULL, 0,
	    "also a preshared key (default false)" } },
	  .rest = { { HG_OPM_POST, "/api/overlay/clientpacks", 201, 0, NULL } },
	  .reply_schema = S_CLIENTPACK },
	{ "overlay.clientpack.list", op_overlay_cp_list, 0,
	  "the overlay's clients: name, addresses, public key, enabled, "
	  "whether it has a preshared key", "overlay clientpack list",
	  .rest = { { HG_OPM_GET, "/api/overlay/clientpacks", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"version\",\"clients\"", "\"version\":"
	    S_INT ",\"clients\":" S_ARRAY(S_CLIENTPACK)) },
	{ "overlay.clientpack.show", op_overlay_cp_show, 0,
	  "one overlay client and its wg-quick file, without its keys (shown "
	  "once, at creation)", "overlay clientpack show",
	  .fields = { CLIENTPACK_FIELD },
	  .rest = { { HG_OPM_GET, "/api/overlay/clientpacks/:name", 0, 0,
	  NULL } },
	  .reply_schema = S_CLIENTPACK },
	{ "overlay.clientpack.disable", op_overlay_cp_disable, HG_OP_CHANGES,
	  "cut an overlay client off (its address stays its own), as a new "
	  "version", "overlay clientpack disable",
	  .fields = { CLIENTPACK_FIELD },
	  .rest = { { HG_OPM_POST, "/api/overlay/clientpacks/:name/disable", 0,
	  HG_OPR_NOBODY, NULL } },
	  .reply_schema = S_CP_CHANGE },
	{ "overlay.clientpack.enable", op_overlay_cp_enable, HG_OP_CHANGES,
	  "let a disabled overlay client in again, as a new version",
	  "overlay clientpack enable", .fields = { CLIENTPACK_FIELD },
	  .rest = { { HG_OPM_POST, "/api/overlay/clientpacks/:name/enable", 0,
	  HG_OPR_NOBODY, NULL } },
	  .reply_schema = S_CP_CHANGE },
	{ "overlay.clientpack.rekey", op_overlay_cp_rekey, HG_OP_CHANGES,
	  "new keys for an overlay client (a new preshared key if it had "
	  "one), its address kept, as a new version; the reply's config is "
	  "the new wg-quick file", "overlay clientpack rekey",
	  .fields = { CLIENTPACK_FIELD },
	  .rest = { { HG_OPM_POST, "/api/overlay/clientpacks/:name/rekey", 0,
	  HG_OPR_NOBODY, NULL } },
	  .reply_schema = S_CLIENTPACK },
	{ "overlay.clientpack.revoke", op_overlay_cp_revoke, HG_OP_CHANGES,
	  "remove an overlay client; its address returns to the pool",
	  "overlay clientpack revoke", .fields = { CLIENTPACK_FIELD },
	  .rest = { { HG_OPM_DELETE, "/api/overlay/clientpacks/:name", 0, 0,
	  NULL } },
	  .reply_schema = S_CP_CHANGE },

	/* --- rules ------------------------------------------------------ */
	{ "firewall.save", op_firewall_save, 0,
	  "the live rules with counters, as iptables-save text: JSON "
	  "{\"text\": ...} or, with format=text, the text",
	  "firewall save", .fields = { FAMILY },
	  .rest = { { HG_OPM_GET, "/api/firewall/rules",
	  .flags = HG_OPR_FORMAT } },
	  .reply_schema = S_TEXT },
	{ "firewall.restore", op_firewall_restore, HG_OP_CHANGES,
	  "replace the rules of the tables the iptables-restore text names "
	  "(*filter, *nat), all or nothing; a table it does not name stays",
	  "firewall restore", .fields = { FAMILY,
	  { "text", HG_OPT_TEXT, HG_OPIN_BODY, HG_OPF_REQUIRED, 0, DOC_MAX,
	    NULL, 0, "iptables-restore text (the request body)" },
	  { "name", HG_OPT_STRING, HG_OPIN_QUERY, 0, 1, 200, NULL, 0,
	    "what errors call the text (a file name); default api" } },
	  .rest = { { HG_OPM_PUT, "/api/firewall/rules", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"ok\"", "\"ok\":" S_BOOL ",\"changed\":"
	    S_BOOL ",\"rules\":" S_INT ",\"version\":" S_INT ",\"message\":"
	    S_STR ",\"warnings\":" S_ARRAY(S_OBJ)) },
	{ "firewall.add", op_firewall_add, HG_OP_CHANGES,
	  "add one rule: at the end of its chain, or at position (as "
	  "iptables -A and -I)", "firewall add", .fields = { FAMILY,
	  CHAIN_FIELD(HG_OPIN_BODY),
	  { "rule", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1,
	    RULE_MAX, NULL, 0, "the rule's options on one line, as after "
	    "iptables -A CHAIN" },
	  { "position", HG_OPT_INT, HG_OPIN_BODY, 0, 1, 1000000, NULL, 0,
	    "insert at this rule number (from 1); left out: append" } },
	  .rest = { { HG_OPM_POST, "/api/firewall/rules", 201, 0, NULL } },
	  .reply_schema = S_CHANGED },
	{ "firewall.delete", op_firewall_delete, HG_OP_CHANGES,
	  "delete one rule: by its position in its chain, or the first "
	  "with this text (as iptables -D)", "firewall delete",
	  .fields = { FAMILY, CHAIN_FIELD(HG_OPIN_PATH),
	  { "position", HG_OPT_INT, HG_OPIN_PATH, 0, 1, 1000000, NULL, 0,
	    "the rule number in its chain, from 1" },
	  { "rule", HG_OPT_STRING, HG_OPIN_BODY, 0, 1, RULE_MAX, NULL, 0,
	    "the rule's text (when no position is given)" } },
	  .rest = { { HG_OPM_DELETE, "/api/firewall/rules/:chain/:position",
	  .flags = HG_OPR_NOBODY },
	  { HG_OPM_DELETE, "/api/firewall/rules", 0, 0, NULL } },
	  .reply_schema = S_CHANGED },

	/* --- sets ------------------------------------------------------- */
	{ "sets.save", op_sets_save, 0,
	  "the named sets, in ipset save form (as \"text\")", "sets save",
	  .rest = { { HG_OPM_GET, "/api/firewall/fwsets", 0, 0, NULL } },
	  .reply_schema = S_TEXT },
	{ "sets.restore", op_sets_restore, HG_OP_CHANGES,
	  "replace the sets with ipset restore text, all or nothing",
	  "sets restore", .fields = {
	  { "text", HG_OPT_TEXT, HG_OPIN_BODY, HG_OPF_REQUIRED, 0, DOC_MAX,
	    NULL, 0, "ipset restore text (the request body)" },
	  { "name", HG_OPT_STRING, HG_OPIN_QUERY, 0, 1, 200, NULL, 0,
	    "what errors call the text (a file name); default api" } },
	  .rest = { { HG_OPM_PUT, "/api/firewall/fwsets", 0, 0, NULL } },
	  .reply_schema = S_CHANGED },
	{ "sets.add", op_sets_add, HG_OP_CHANGES,
	  "add an element to a set (as ipset add)", "sets add",
	  .fields = {
	  { "name", HG_OPT_STRING, HG_OPIN_PATH, HG_OPF_REQUIRED, 1,
	    NAME_MAX_, NULL, 0, "the set" },
	  { "entry", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1,
	    RULE_MAX, NULL, 0, "the element in ipset syntax: 192.0.2.1, "
	    "10.0.0.0/8, 10.0.0.1,tcp:80" } },
	  .rest = { { HG_OPM_POST, "/api/firewall/fwsets/:name/entries", 201, 0
	    , NULL } },
	  .reply_schema = S_CHANGED },
	{ "sets.del", op_sets_del, HG_OP_CHANGES,
	  "remove an element from a set (as ipset del)", "sets del",
	  .fields = {
	  { "name", HG_OPT_STRING, HG_OPIN_PATH, HG_OPF_REQUIRED, 1,
	    NAME_MAX_, NULL, 0, "the set" },
	  { "entry", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1,
	    RULE_MAX, NULL, 0, "the element in ipset syntax" } },
	  .rest = { { HG_OPM_DELETE, "/api/firewall/fwsets/:name/entries", 0, 0
	    , NULL } },
	  .reply_schema = S_CHANGED },

	/* --- configuration ---------------------------------------------- */
	{ "reload", op_reload, HG_OP_CHANGES,
	  "read the configuration file again and apply it whole, as SIGHUP "
	  "does; with a store, a new version", "reload",
	  .rest = { { HG_OPM_POST, "/api/reload", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"ok\",\"version\"", "\"ok\":" S_BOOL
	    ",\"version\":" S_INT) },
	{ "config.show", op_config_show, 0,
	  "the running configuration version, or version N: {version, "
	  "config, rules, rules6, sets}", "config show", .fields = {
	  { "version", HG_OPT_INT, HG_OPIN_PATH, 0, 1, VERSION_MAX, NULL, 0,
	    "a stored version; left out: the running one" } },
	  .rest = { { HG_OPM_GET, "/api/config", 0, 0, NULL },
	  { HG_OPM_GET, "/api/config/versions/:version", 0, 0, NULL } },
	  .reply_schema = S_DOC },
	{ "config.put", op_config_put, HG_OP_CHANGES,
	  "replace the whole configuration, all or nothing; commits a new "
	  "version (with confirm_s, pending until confirmed)", "config put",
	  .fields = { DOC_FIELDS,
	  { "confirm_s", HG_OPT_INT, HG_OPIN_QUERY, 0, 1, 86400, NULL, 0,
	    "roll back by itself unless confirmed within this many "
	    "seconds" } },
	  .rest = { { HG_OPM_PUT, "/api/config", 0, 0, NULL } },
	  .reply_schema = S_VERSION },
	{ "config.versions", op_config_versions, 0,
	  "the stored versions, newest first", "config versions",
	  .fields = { LIMIT(0) },
	  .rest = { { HG_OPM_GET, "/api/config/versions", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"current\",\"versions\"", "\"current\":"
	    S_INT ",\"versions\":" S_ARRAY(S_OBJECT(
	    "\"version\",\"author\",\"source\",\"comment\",\"state\"",
	    "\"version\":" S_INT ",\"created_ns\":" S_INT ",\"author\":" S_STR
	    ",\"source\":" S_STR ",\"comment\":" S_STR ",\"state\":" S_STR))) }
	    ,
	{ "config.diff", op_config_diff, 0,
	  "unified diff from version a (default b - 1) to version b "
	  "(default the running one)", "config diff", .fields = {
	  { "a", HG_OPT_INT, HG_OPIN_QUERY, 0, 1, VERSION_MAX, NULL, 0,
	    "the older version" },
	  { "b", HG_OPT_INT, HG_OPIN_QUERY, 0, 1, VERSION_MAX, NULL, 0,
	    "the newer version" } },
	  .rest = { { HG_OPM_GET, "/api/config/diff", .flags = HG_OPR_TEXT,
	  .response_type = TEXT_PLAIN } } },
	{ "config.rollback", op_config_rollback, HG_OP_CHANGES,
	  "apply version N's content as a new version", "config rollback",
	  .fields = { VERSION_BODY("the version to go back to") },
	  .rest = { { HG_OPM_POST, "/api/config/rollback", 0, 0, NULL } },
	  .reply_schema = S_VERSION },
	{ "config.confirm", op_config_confirm, HG_OP_CHANGES,
	  "confirm the pending version (config.put with confirm_s); "
	  "unconfirmed, it is rolled back at its deadline", "config confirm",
	  .fields = { VERSION_BODY("the pending version's number") },
	  .rest = { { HG_OPM_POST, "/api/config/confirm", 0, 0, NULL } },
	  .reply_schema = S_VERSION },
	{ "snapshot.export", op_snapshot_export, 0,
	  "the running version as one document: {version, config, rules, "
	  "rules6, sets}", "snapshot export",
	  .rest = { { HG_OPM_GET, "/api/snapshots", 0, 0, NULL } },
	  .reply_schema = S_DOC },
	{ "snapshot.import", op_snapshot_import, HG_OP_CHANGES,
	  "import a snapshot, as config.put", "snapshot import",
	  .fields = { DOC_FIELDS,
	  { "version", HG_OPT_INT, HG_OPIN_BODY, 0, 0, VERSION_MAX, NULL, 0,
	    "the exported version (ignored)" },
	  { "format", HG_OPT_STRING, HG_OPIN_BODY, 0, 1, 64, NULL, 0,
	    "the export's format (ignored)" },
	  { "hexgate", HG_OPT_STRING, HG_OPIN_BODY, 0, 1, 64, NULL, 0,
	    "the exporting hexgate's version (ignored)" } },
	  .rest = { { HG_OPM_PUT, "/api/snapshots", 0, 0, NULL } },
	  .reply_schema = S_VERSION },

	/* --- access ----------------------------------------------------- */
	{ "token.create", op_token_create, 0,
	  "make an API token (for the Api-Token header); its secret is in "
	  "this reply only", "token create", .fields = {
	  { "name", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1, 63,
	    NULL, 0, "a name for it: printable, no spaces or quotes" },
	  { "expires_s", HG_OPT_INT, HG_OPIN_BODY, 0, 1, 10 * 366 * 86400,
	    NULL, 0, "seconds from now until it expires; left out: never" } },
	  .rest = { { HG_OPM_POST, "/api/tokens", 201, 0, NULL } },
	  .reply_schema = S_TOKEN },
	{ "token.list", op_token_list, 0,
	  "the tokens, without their secrets", "token list",
	  .rest = { { HG_OPM_GET, "/api/tokens", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"tokens\"", "\"tokens\":" S_ARRAY(S_TOKEN)
	    ) },
	{ "token.revoke", op_token_revoke, 0, "revoke a token",
	  "token revoke", .fields = {
	  { "id", HG_OPT_INT, HG_OPIN_PATH, HG_OPF_REQUIRED, 1, INT64_MAX,
	    NULL, 0, "the token's id (token.list)" } },
	  .rest = { { HG_OPM_DELETE, "/api/tokens/:id", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"id\",\"state\"", "\"id\":" S_INT
	    ",\"state\":" S_STR) },
	{ "audit.show", op_audit_show, 0,
	  "the audit log, newest first (default 100 rows)", "audit",
	  .fields = { LIMIT(100) },
	  .rest = { { HG_OPM_GET, "/api/audit", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"audit\"", "\"audit\":" S_ARRAY(S_OBJECT(
	    "\"id\",\"at_ns\",\"author\",\"action\"", "\"id\":" S_INT
	    ",\"at_ns\":" S_INT ",\"author\":" S_STR ",\"source\":" S_STR
	    ",\"action\":" S_STR ",\"version\":" S_INT))) },

	/* --- captures --------------------------------------------------- */
	{ "capture.start", op_capture_start, 0,
	  "start a capture: a COPY rule to a pcap file (at most 4 running)",
	  "capture start", .fields = {
	  { "interface", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1, 15,
	    NULL, 0, "one of the configuration's interfaces" },
	  { "filter", HG_OPT_STRING, HG_OPIN_BODY, 0, 0, 511, NULL, 0,
	    "iptables matches on one line (-p tcp --dport 80)" },
	  { "snaplen", HG_OPT_INT, HG_OPIN_BODY, 0, 14, 65535, NULL, 0,
	    "bytes kept of each frame; left out: all" },
	  { "direction", HG_OPT_STRING, HG_OPIN_BODY, 0, 1, 8, "in both", 0,
	    "in: frames received; both (default): sent too" } },
	  .rest = { { HG_OPM_POST, "/api/packet_monitor", 201, 0, NULL } },
	  .reply_schema = S_MONITOR },
	{ "capture.list", op_capture_list, 0,
	  "the captures (the last 8), running or not", "capture list",
	  .rest = { { HG_OPM_GET, "/api/packet_monitor", 0, 0, NULL } },
	  .reply_schema = S_OBJECT("\"monitors\",\"running_max\"",
	    "\"monitors\":" S_ARRAY(S_MONITOR) ",\"running_max\":" S_INT
	    ",\"kept_max\":" S_INT) },
	{ "capture.pcap", op_capture_pcap, 0,
	  "a capture's pcap file, running or stopped", "capture pcap",
	  .fields = {
	  { "id", HG_OPT_INT, HG_OPIN_PATH, HG_OPF_REQUIRED, 1, INT64_MAX,
	    NULL, 0, "the capture's id" } },
	  .rest = { { HG_OPM_GET, "/api/packet_monitor/:id/pcap",
	  .response_type = "application/vnd.tcpdump.pcap" } } },
	{ "capture.stop", op_capture_stop, 0,
	  "stop a capture (its COPY rule deleted); remove forgets it and "
	  "deletes its file", "capture stop", .fields = {
	  { "id", HG_OPT_INT, HG_OPIN_PATH, HG_OPF_REQUIRED, 1, INT64_MAX,
	    NULL, 0, "the capture's id" },
	  { "remove", HG_OPT_BOOL, HG_OPIN_QUERY, 0, 0, 0, NULL, 0,
	    "also forget it and delete its file" } },
	  .rest = { { HG_OPM_DELETE, "/api/packet_monitor/:id", 0, 0, NULL } },
	  .reply_schema = S_MONITOR },
};

const size_t hg_n_ops = HG_ARRAY_SIZE(hg_ops);

int
hg_op_run(struct hg_daemon *d, struct hg_op_req *r)
{
	d->who.author = r->author;
	d->who.source = r->source;
	d->who.comment = NULL;
	r->status = r->op->fn(d, r);
	memset(&d->who, 0, sizeof(d->who));
	if ((r->op->flags & HG_OP_CHANGES) && r->status >= 400)
		hg_log_warnx("%s by %s (%s) refused: %s", r->op->name,
		    r->author != NULL ? r->author : "?",
		    r->source != NULL ? r->source : "?", r->message);
	return r->status;
}

/* Whether len bytes are UTF-8 without NULs, as a JSON string needs. */
static bool
utf8_text(const char *s, size_t len)
{
	json_t *j = memchr(s, '\0', len) == NULL ? json_stringn(s, len) : NULL;

	json_decref(j);
	return j != NULL;
}

json_t *
hg_op_answer(const struct hg_op_req *r)
{
	json_t *o;
	char *b64;

	if (r->status >= 400)
		return hg_op_error_json(r);
	if (r->raw == NULL)
		return json_incref(r->reply);
	if (utf8_text(r->raw, r->raw_len))
		return json_pack("{s:s,s:s%}", "content_type", r->raw_type,
		    "text", r->raw, r->raw_len);
	if ((b64 = hg_base64_encode(r->raw, r->raw_len)) == NULL)
		return NULL;
	o = json_pack("{s:s,s:s}", "content_type", r->raw_type, "base64", b64);
	free(b64);
	return o;
}
