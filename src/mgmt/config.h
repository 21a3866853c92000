/*
 * src/mgmt/config.h: the configuration model, parsed from JSON.  This is
 * the model the REST API will serve later; today hexgated reads it from the
 * file given with -c and again on SIGHUP.  Parsing is pure: text in, a
 * struct hg_config out, or a list of errors each naming its place (a JSON
 * pointer such as /interfaces/1/addresses/0, or line:column for syntax).
 *
 * Example:
 *   {
 *     "workers": 2,
 *     "log": { "level": "info", "syslog": false },
 *     "control_socket": "/run/hexgate/hexgated.sock",
 *     "interfaces": [
 *       { "name": "lan0", "port": "afpacket:veth-lan", "mtu": 1500,
 *         "mac": "02:00:00:00:01:01",
 *         "addresses": [ "10.0.1.1/24", "2001:db8:1::1/64" ] }
 *     ],
 *     "routes": [
 *       { "prefix": "0.0.0.0/0", "via": "10.0.1.254" },
 *       { "prefix": "2001:db8:99::/48", "via": "2001:db8:1::fe", "interface": "lan0" },
 *       { "prefix": "192.0.2.0/24", "blackhole": true }
 *     ],
 *     "neighbors": [
 *       { "interface": "lan0", "ip": "10.0.1.5", "mac": "02:00:00:00:00:05" }
 *     ]
 *   }
 */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../lib/log.h"

#define HG_CFG_IF_MAX		64	/* interfaces */
#define HG_CFG_ADDR_MAX		16	/* addresses per interface */
#define HG_CFG_NAME_MAX		16	/* interface name incl. NUL (IFNAMSIZ) */
#define HG_CFG_PORT_MAX		256	/* port line incl. NUL */
#define HG_CFG_PATH_MAX		256
#define HG_CFG_WORKERS_MAX	64
#define HG_CFG_STORE_KEEP_MAX	1000000	/* "store": {"keep_versions"} */
#define HG_CFG_ERR_MAX		50	/* errors collected before giving up */

/* An IPv4 or IPv6 address; v4 lives in the first 4 bytes of addr. */
struct hg_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order */
};

struct hg_prefix {
	struct hg_addr a;
	uint8_t len_bits;
};

struct hg_cfg_if {
	char name[HG_CFG_NAME_MAX];
	char port[HG_CFG_PORT_MAX];	/* one port line, see src/io/io.h */
	bool has_mac;			/* else the port's MAC, else generated */
	uint8_t mac[6];
	uint16_t mtu_bytes;		/* default 1500; 68..(PKT_DATA_ROOM-18) */
	uint8_t n_addrs;
	struct hg_prefix addrs[HG_CFG_ADDR_MAX];	/* host bits set */
	char host_tap[HG_CFG_NAME_MAX];	/* punt TAP's name; empty: none */
	bool tunnel;			/* made by a tunnels[] entry */
	bool overlay;			/* the overlay's (tun0) */
};

/*
 * A tunnel (issue 14): an ESP tunnel interface with manual SAs.  It is
 * also an interface of ifs[] (if_idx, port "null"), so routes, firewall
 * rules (-i/-o) and COPY name it like any other.  Keys are not in the
 * configuration: each SA names a root-only key file (hex), so they are
 * never in the config text, the store's versions, a log or an answer.
 */
#define HG_CFG_TUNNEL_MAX	32
#define HG_CFG_MSS_AUTO		0xffff
#define HG_CFG_ALG_MAX		24

struct hg_cfg_sa {
	uint32_t spi;			/* 256..2^32-1 */
	char alg[HG_CFG_ALG_MAX];	/* "aes256gcm", ... (docs/ipsec.md) */
	char key_file[HG_CFG_PATH_MAX];	/* relative to the config's folder */
};

struct hg_cfg_tunnel {
	char name[HG_CFG_NAME_MAX];
	uint16_t if_idx;		/* its interface in ifs[] */
	struct hg_addr local, remote;	/* the outer addresses */
	bool udp;			/* ESP-in-UDP (RFC 3948), else ESP */
	uint16_t remote_port;		/* udp: the peer's port, default 4500 */
	bool esn;			/* 64-bit sequence numbers */
	bool policy;			/* remote_subnets routed to it */
	/* TCP MSS clamping of SYNs both ways: HG_CFG_MSS_AUTO (the
	 * default: the tunnel's MTU less 40 for IPv4, 60 for IPv6), 0 off,
	 * or that value. */
	uint16_t mss_clamp;
	/* encap udp: NAT keepalives every keepalive_s seconds; 0 (the
	 * default) none.  Only the end behind a NAT should send them: from
	 * the other end they would take the NAT's port before its mapping
	 * is made. */
	uint16_t keepalive_s;
	/* SA lifetimes in inner bytes and packets, per SA, as swanctl names
	 * them: past rekey_* the control plane is told a rekey is due, at
	 * life_* the SA stops.  0: no limit (sequence numbers still run
	 * out). */
	uint64_t rekey_bytes, rekey_packets, life_bytes, life_packets;
	/* Traffic selectors: what may go from local to remote through it
	 * (and back); none on a side: any address.  The remote subnets are
	 * known networks through this tunnel only. */
	uint8_t n_remote, n_local;
	struct hg_prefix remote_subnets[HG_CFG_ADDR_MAX];
	struct hg_prefix local_subnets[HG_CFG_ADDR_MAX];
	struct hg_cfg_sa sa_out, sa_in;
	/* Made by an ipsec connection (ike_conn its index): IKEv2 keys
	 * it at run time, no sa_out/sa_in. */
	bool ike;
	uint16_t ike_conn;
};

/*
 * "ipsec": IKEv2 connections and their secrets in swanctl.conf's words
 * (docs/ipsec-ike.md), as JSON.  Each connection is also a tunnel of
 * tunnels[] (and so an interface: "if_name", default ipsecN), whose
 * selectors are its children's together and whose remote_ts are routed
 * to it.
 * Proposals are kept as text here: hexgated parses them (src/ike).
 */
#define HG_CFG_IKE_MAX		32
#define HG_CFG_IKE_PROPS_MAX	8
#define HG_CFG_IKE_PROP_LEN	128
#define HG_CFG_IKE_ID_LEN	256
#define HG_CFG_IKE_NAME_LEN	64
#define HG_CFG_IKE_SECRET_LEN	512
#define HG_CFG_IKE_SECRET_IDS	4
#define HG_CFG_IKE_CERTS_MAX	4	/* files in certs, in cacerts */
#define HG_CFG_IKE_CHILDREN_MAX	4	/* children per connection */

enum hg_cfg_start_action {
	HG_CFG_START_NONE, HG_CFG_START_TRAP, HG_CFG_START_START
};
enum hg_cfg_dpd_action {
	HG_CFG_DPD_NONE, HG_CFG_DPD_CLEAR, HG_CFG_DPD_RESTART
};
/* swanctl's fragmentation (IKE fragmentation, RFC 7383). */
enum hg_cfg_frag {
	HG_CFG_FRAG_YES, HG_CFG_FRAG_ACCEPT, HG_CFG_FRAG_FORCE, HG_CFG_FRAG_NO
};

/* A connection's child (children.NAME): its selectors, ESP proposals
 * and lifetimes.  Their order is the configuration's. */
struct hg_cfg_ike_child {
	char name[HG_CFG_IKE_NAME_LEN];
	uint8_t n_esp_props;		/* 0: "default" */
	char esp_props[HG_CFG_IKE_PROPS_MAX][HG_CFG_IKE_PROP_LEN];
	uint8_t n_local, n_remote;
	struct hg_prefix local_ts[HG_CFG_ADDR_MAX];
	struct hg_prefix remote_ts[HG_CFG_ADDR_MAX];
	uint32_t rekey_time_s, life_time_s;
};

struct hg_cfg_ike_conn {
	char name[HG_CFG_IKE_NAME_LEN];
	uint16_t tunnel;		/* its tunnels[] entry */
	uint16_t local_port, remote_port;	/* default 500 */
	bool encap;			/* ESP in UDP even without a NAT */
	uint8_t n_props;		/* 0: "default" */
	char props[HG_CFG_IKE_PROPS_MAX][HG_CFG_IKE_PROP_LEN];
	uint32_t dpd_delay_s, rekey_time_s, reauth_time_s;
	enum hg_cfg_frag fragmentation;	/* default yes */
	char local_id[HG_CFG_IKE_ID_LEN];	/* "": the local address */
	char remote_id[HG_CFG_IKE_ID_LEN];	/* "": %any */
	/* auth pubkey: certificates, not a PSK.  Files (PEM) relative to
	 * the configuration's folder, read by hexgated: local certs (ours,
	 * then intermediates) and key (its private key, root's only);
	 * remote cacerts (the CAs the peer's must chain to). */
	bool local_pubkey, remote_pubkey;
	uint8_t n_certs, n_cacerts;
	char certs[HG_CFG_IKE_CERTS_MAX][HG_CFG_IKE_PROP_LEN];
	char cacerts[HG_CFG_IKE_CERTS_MAX][HG_CFG_IKE_PROP_LEN];
	char key[HG_CFG_IKE_PROP_LEN];
	uint8_t n_children;
	struct hg_cfg_ike_child children[HG_CFG_IKE_CHILDREN_MAX];
	/* swanctl sets these per child; a connection here is brought up
	 * and kept whole: the strongest any child asks (start over trap
	 * over none, restart over clear over none). */
	enum hg_cfg_start_action start_action;
	enum hg_cfg_dpd_action dpd_action;
};

/* "secrets": {"ike-NAME": {"id": ..., "secret": ...}}: a PSK for the
 * identities it names (none: any).  The secret is kept as written:
 * text, 0x hex, 0s base64, or an hgsec1: sealed token (src/mgmt/secret.h). */
struct hg_cfg_ike_secret {
	char name[HG_CFG_IKE_NAME_LEN];
	uint8_t n_ids;
	char ids[HG_CFG_IKE_SECRET_IDS][HG_CFG_IKE_ID_LEN];
	char secret[HG_CFG_IKE_SECRET_LEN];
};

/*
 * "overlay" (issue 16; docs/overlay.md): the encrypted overlay network,
 * speaking WireGuard's protocol.  Its interface (tun0 by default) is an
 * interface of ifs[] (port "null") with the overlay's addresses, so
 * routes, firewall rules and COPY name it like any other.  Two kinds of
 * peers: clients (clientpacks: one address each, made by hexctl overlay
 * clientpack add) and site peers (whole subnets, an endpoint).  Our
 * private key is in a root-only file (base64, as wg genkey writes it),
 * never in the configuration; public keys are base64 text.  A preshared
 * key is kept as written: base64, or an hgsec1: sealed token.
 */
#define HG_CFG_WG_PEERS_MAX	1024	/* clients and site peers */
#define HG_CFG_WG_ALLOWED_MAX	16	/* allowed IPs of a peer */
#define HG_CFG_WG_DNS_MAX	4
#define HG_CFG_WG_PSK_LEN	128	/* as written, with NUL */
#define HG_CFG_WG_ENDPOINT_LEN	256	/* host:port, with NUL */
#define HG_CFG_WG_PORT_DEFAULT	51820
#define HG_CFG_WG_MTU_DEFAULT	1420

struct hg_cfg_wg_peer {
	char name[HG_CFG_IKE_NAME_LEN];
	bool client;			/* a clientpack's, else a site peer */
	bool enabled;			/* false: cut off (clients only) */
	uint8_t pub[32];
	char psk[HG_CFG_WG_PSK_LEN];	/* "": none */
	struct hg_addr endpoint;	/* family 0: none (it roams to us) */
	uint16_t endpoint_port;
	uint16_t keepalive_s;		/* persistent keepalive; 0: off */
	/* A client's addresses (one per family, /32 and /128), a site
	 * peer's allowed IPs: what may come from it, and what goes to it
	 * (cryptokey routing). */
	uint8_t n_allowed;
	struct hg_prefix allowed[HG_CFG_WG_ALLOWED_MAX];	/* host bits
								   clear */
};

struct hg_cfg_overlay {
	bool enabled;			/* an "overlay" section is there */
	uint16_t if_idx;		/* its interface in ifs[] */
	uint16_t port;			/* UDP listen port, default 51820 */
	char key_file[HG_CFG_PATH_MAX];	/* default "overlay.key"; made
					   (0600) at start when missing */
	/* What clientpacks name: the endpoint ("host:port") clients reach
	 * us at, the DNS servers to hand out, and the networks offered to
	 * clients beside the overlay's own subnets. */
	char endpoint[HG_CFG_WG_ENDPOINT_LEN];
	uint8_t n_dns;
	struct hg_addr dns[HG_CFG_WG_DNS_MAX];
	uint8_t n_offer;
	struct hg_prefix offer[HG_CFG_WG_ALLOWED_MAX];
	uint16_t n_peers;		/* clients first, then site peers */
	struct hg_cfg_wg_peer *peers;	/* owned */
};

struct hg_cfg_route {
	struct hg_prefix dst;		/* host bits clear */
	bool has_via;
	struct hg_addr via;		/* same family as dst */
	int16_t if_idx;			/* index in interfaces[], -1 if unset */
	bool blackhole;
};

struct hg_cfg_neigh {
	int16_t if_idx;
	struct hg_addr ip;
	uint8_t mac[6];
};

#define HG_CFG_KNOWN_MAX	256	/* known networks */

/* Conntrack timeouts, named after Linux's nf_conntrack_*_timeout*. */
#define HG_CFG_CT_TIMEOUTS(X)		\
	X(TCP_SYN_SENT,	"tcp_syn_sent")		\
	X(TCP_SYN_RECV,	"tcp_syn_recv")		\
	X(TCP_ESTABLISHED, "tcp_established")	\
	X(TCP_FIN_WAIT,	"tcp_fin_wait")		\
	X(TCP_CLOSE_WAIT, "tcp_close_wait")	\
	X(TCP_LAST_ACK,	"tcp_last_ack")		\
	X(TCP_TIME_WAIT, "tcp_time_wait")	\
	X(TCP_CLOSE,	"tcp_close")		\
	X(UDP,		"udp")			\
	X(UDP_STREAM,	"udp_stream")		\
	X(ICMP,		"icmp")			\
	X(GENERIC,	"generic")

enum hg_cfg_ct_timeout {
#define HG_CFG_CT_ENUM(name, key) HG_CFG_CT_##name,
	HG_CFG_CT_TIMEOUTS(HG_CFG_CT_ENUM)
#undef HG_CFG_CT_ENUM
	HG_CFG_CT_TIMEOUT_COUNT
};

/* "firewall": the rule files are read by hexgated, not here; relative
 * paths are relative to the configuration file's folder. */
struct hg_cfg_firewall {
	uint32_t n_known;
	struct hg_prefix known[HG_CFG_KNOWN_MAX];	/* host bits clear */
	char rules[HG_CFG_PATH_MAX];	/* iptables-restore file; "" none */
	char rules6[HG_CFG_PATH_MAX];	/* ip6tables-restore file */
	char sets[HG_CFG_PATH_MAX];	/* ipset restore file */
	uint32_t ct_entries;		/* per worker; 0: default */
	uint8_t  ct_src_percent;	/* a source's share of each worker's
					   table, 1-100; 0: default */
	uint32_t ct_timeouts_s[HG_CFG_CT_TIMEOUT_COUNT];	/* 0: default */
};

/* "api": the HTTPS REST API, on by default (0.0.0.0:8000); "api": false
 * turns it off. */
struct hg_cfg_api {
	bool enabled;
	char listen[64];		/* default "0.0.0.0" */
	uint16_t port;			/* default 8000 */
	char state_dir[HG_CFG_PATH_MAX];	/* default /var/lib/hexgate */
	char cert[HG_CFG_PATH_MAX];	/* both or neither: the user's own */
	char key[HG_CFG_PATH_MAX];
};

struct hg_config {
	uint16_t workers;		/* 0: one per online CPU */
	enum hg_log_level log_level;	/* default info */
	bool log_syslog;		/* default false: stderr */
	char control_socket[HG_CFG_PATH_MAX];	/* default HG_CFG_DEFAULT_SOCKET */
	uint16_t n_ifs;
	struct hg_cfg_if ifs[HG_CFG_IF_MAX];
	uint32_t n_routes;
	struct hg_cfg_route *routes;	/* owned; freed by hg_config_free() */
	uint32_t n_neighs;
	struct hg_cfg_neigh *neighs;	/* owned */
	uint16_t n_tunnels;
	struct hg_cfg_tunnel tunnels[HG_CFG_TUNNEL_MAX];
	uint16_t n_ike;
	struct hg_cfg_ike_conn ike[HG_CFG_IKE_MAX];
	uint16_t n_ike_secrets;
	struct hg_cfg_ike_secret ike_secrets[HG_CFG_IKE_MAX];
	struct hg_cfg_overlay overlay;
	struct hg_cfg_firewall fw;
	struct hg_cfg_api api;
	/* The versioned store (src/mgmt/store.h) hexgated keeps its
	 * configuration in; relative to the config file's folder; "": none,
	 * the files are the configuration. */
	char store[HG_CFG_PATH_MAX];
	/* "store": {"keep_versions": N}: the store keeps the newest N
	 * versions (and always the running and a pending one); 0: all. */
	uint32_t store_keep_versions;
};

#define HG_CFG_DEFAULT_SOCKET "/run/hexgate/hexgated.sock"

struct hg_cfg_err {
	char where[128];	/* JSON pointer, or "line L column C" */
	char msg[256];
};

struct hg_cfg_errs {
	unsigned n;		/* errors found (may exceed the stored ones) */
	struct hg_cfg_err e[HG_CFG_ERR_MAX];
};

/*
 * Parse a whole configuration.  On success returns a new config (free with
 * hg_config_free()); on failure NULL, with every problem found (up to
 * HG_CFG_ERR_MAX) in errs.  Checks: JSON syntax, types, unknown keys,
 * ranges, address syntax, duplicate interface names and ports, routes'
 * next hops and interfaces, neighbours' interfaces, port lines (syntax only,
 * nothing opened).
 */
struct hg_config *hg_config_parse(const char *text, size_t len,
    struct hg_cfg_errs *errs) HG_MUST_CHECK;
struct hg_config *hg_config_load(const char *path, struct hg_cfg_errs *errs) HG_MUST_CHECK;
void hg_config_free(struct hg_config *cfg);
/* Writes "where: msg" lines to the log at error level, prefixed by src. */
void hg_config_errs_log(const char *src, const struct hg_cfg_errs *errs);

/* Address helpers, shared with hexctl and tests. */
int hg_addr_parse(const char *s, struct hg_addr *out) HG_MUST_CHECK;
int hg_prefix_parse(const char *s, struct hg_prefix *out) HG_MUST_CHECK;
/* "192.0.2.1:51820" or "[2001:db8::1]:51820": 0 or -EINVAL. */
int hg_endpoint_parse(const char *s, struct hg_addr *a, uint16_t *port)
    HG_MUST_CHECK;
/* "10.0.0.1" / "2001:db8::1", into buf of at least 46 bytes */
const char *hg_addr_fmt(const struct hg_addr *a, char *buf, size_t len);

#endif /* HG_CONFIG_H */
