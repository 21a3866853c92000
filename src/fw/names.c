/*
 * src/fw/names.c: the keyword tables of the rule language (protocols,
 * services, ICMP types, matches, targets, states ...), each sorted by
 * strcmp() and searched with bsearch(), plus the "did you mean" helper.
 * Services and protocols are built in rather than read from
 * /etc/services and /etc/protocols so that a rule means the same on
 * every machine; the tables list what the firewall page documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_priv.h"

#define ICMP(t, lo, hi)	((t) << 16 | (lo) << 8 | (hi))

const struct fw_kw fw_kw_protos[] = {
	{ "ah", 51 },
	{ "all", 0 },
	{ "dccp", 33 },
	{ "esp", 50 },
	{ "gre", 47 },
	{ "icmp", 1 },
	{ "icmpv6", 58 },
	{ "igmp", 2 },
	{ "ipv6-icmp", 58 },
	{ "mh", 135 },
	{ "ospf", 89 },
	{ "sctp", 132 },
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "udplite", 136 },
	{ "vrrp", 112 },
};
const size_t fw_kw_protos_n = HG_ARRAY_SIZE(fw_kw_protos);

const struct fw_kw fw_kw_services[] = {
	{ "bgp", 179 },
	{ "bootpc", 68 },
	{ "bootps", 67 },
	{ "domain", 53 },
	{ "echo", 7 },
	{ "ftp", 21 },
	{ "ftp-data", 20 },
	{ "http", 80 },
	{ "https", 443 },
	{ "imap", 143 },
	{ "imaps", 993 },
	{ "ipsec-nat-t", 4500 },
	{ "isakmp", 500 },
	{ "kerberos", 88 },
	{ "ldap", 389 },
	{ "ldaps", 636 },
	{ "microsoft-ds", 445 },
	{ "ms-wbt-server", 3389 },
	{ "mysql", 3306 },
	{ "netbios-ssn", 139 },
	{ "nfs", 2049 },
	{ "ntp", 123 },
	{ "openvpn", 1194 },
	{ "pop3", 110 },
	{ "pop3s", 995 },
	{ "postgresql", 5432 },
	{ "rsync", 873 },
	{ "sip", 5060 },
	{ "smtp", 25 },
	{ "snmp", 161 },
	{ "snmp-trap", 162 },
	{ "ssh", 22 },
	{ "submission", 587 },
	{ "syslog", 514 },
	{ "telnet", 23 },
	{ "tftp", 69 },
};
const size_t fw_kw_services_n = HG_ARRAY_SIZE(fw_kw_services);

/* iptables' names; a name without a code means codes 0..255. */
const struct fw_kw fw_kw_icmp[] = {
	{ "TOS-host-redirect", ICMP(5, 3, 3) },
	{ "TOS-host-unreachable", ICMP(3, 12, 12) },
	{ "TOS-network-redirect", ICMP(5, 2, 2) },
	{ "TOS-network-unreachable", ICMP(3, 11, 11) },
	{ "address-mask-reply", ICMP(18, 0, 255) },
	{ "address-mask-request", ICMP(17, 0, 255) },
	{ "any", ICMP(255, 0, 255) },
	{ "communication-prohibited", ICMP(3, 13, 13) },
	{ "destination-unreachable", ICMP(3, 0, 255) },
	{ "echo-reply", ICMP(0, 0, 255) },
	{ "echo-request", ICMP(8, 0, 255) },
	{ "fragmentation-needed", ICMP(3, 4, 4) },
	{ "host-precedence-violation", ICMP(3, 14, 14) },
	{ "host-prohibited", ICMP(3, 10, 10) },
	{ "host-redirect", ICMP(5, 1, 1) },
	{ "host-unknown", ICMP(3, 7, 7) },
	{ "host-unreachable", ICMP(3, 1, 1) },
	{ "ip-header-bad", ICMP(12, 0, 0) },
	{ "network-prohibited", ICMP(3, 9, 9) },
	{ "network-redirect", ICMP(5, 0, 0) },
	{ "network-unknown", ICMP(3, 6, 6) },
	{ "network-unreachable", ICMP(3, 0, 0) },
	{ "parameter-problem", ICMP(12, 0, 255) },
	{ "ping", ICMP(8, 0, 255) },
	{ "pong", ICMP(0, 0, 255) },
	{ "port-unreachable", ICMP(3, 3, 3) },
	{ "precedence-cutoff", ICMP(3, 15, 15) },
	{ "protocol-unreachable", ICMP(3, 2, 2) },
	{ "redirect", ICMP(5, 0, 255) },
	{ "required-option-missing", ICMP(12, 1, 1) },
	{ "router-advertisement", ICMP(9, 0, 255) },
	{ "router-solicitation", ICMP(10, 0, 255) },
	{ "source-quench", ICMP(4, 0, 255) },
	{ "source-route-failed", ICMP(3, 5, 5) },
	{ "time-exceeded", ICMP(11, 0, 255) },
	{ "timestamp-reply", ICMP(14, 0, 255) },
	{ "timestamp-request", ICMP(13, 0, 255) },
	{ "ttl-exceeded", ICMP(11, 0, 255) },
	{ "ttl-zero-during-reassembly", ICMP(11, 1, 1) },
	{ "ttl-zero-during-transit", ICMP(11, 0, 0) },
};
const size_t fw_kw_icmp_n = HG_ARRAY_SIZE(fw_kw_icmp);

const struct fw_kw fw_kw_icmp6[] = {
	{ "address-unreachable", ICMP(1, 3, 3) },
	{ "bad-header", ICMP(4, 0, 0) },
	{ "beyond-scope", ICMP(1, 2, 2) },
	{ "communication-prohibited", ICMP(1, 1, 1) },
	{ "destination-unreachable", ICMP(1, 0, 255) },
	{ "echo-reply", ICMP(129, 0, 255) },
	{ "echo-request", ICMP(128, 0, 255) },
	{ "failed-policy", ICMP(1, 5, 5) },
	{ "mld-listener-done", ICMP(132, 0, 255) },
	{ "mld-listener-query", ICMP(130, 0, 255) },
	{ "mld-listener-reduction", ICMP(132, 0, 255) },
	{ "mld-listener-report", ICMP(131, 0, 255) },
	{ "neighbor-advertisement", ICMP(136, 0, 255) },
	{ "neighbor-solicitation", ICMP(135, 0, 255) },
	{ "neighbour-advertisement", ICMP(136, 0, 255) },
	{ "neighbour-solicitation", ICMP(135, 0, 255) },
	{ "no-route", ICMP(1, 0, 0) },
	{ "packet-too-big", ICMP(2, 0, 255) },
	{ "parameter-problem", ICMP(4, 0, 255) },
	{ "ping", ICMP(128, 0, 255) },
	{ "pong", ICMP(129, 0, 255) },
	{ "port-unreachable", ICMP(1, 4, 4) },
	{ "redirect", ICMP(137, 0, 255) },
	{ "reject-route", ICMP(1, 6, 6) },
	{ "router-advertisement", ICMP(134, 0, 255) },
	{ "router-solicitation", ICMP(133, 0, 255) },
	{ "time-exceeded", ICMP(3, 0, 255) },
	{ "ttl-exceeded", ICMP(3, 0, 255) },
	{ "ttl-zero-during-reassembly", ICMP(3, 1, 1) },
	{ "ttl-zero-during-transit", ICMP(3, 0, 0) },
	{ "unknown-header-type", ICMP(4, 1, 1) },
	{ "unknown-option", ICMP(4, 2, 2) },
};
const size_t fw_kw_icmp6_n = HG_ARRAY_SIZE(fw_kw_icmp6);

const struct fw_kw fw_kw_matches[] = {
	{ "comment", FW_M_COMMENT },
	{ "conntrack", FW_M_CONNTRACK },
	{ "hl", FW_M_HL },
	{ "icmp", FW_M_ICMP },
	{ "icmp6", FW_M_ICMP6 },
	{ "iprange", FW_M_IPRANGE },
	{ "length", FW_M_LENGTH },
	{ "limit", FW_M_LIMIT },
	{ "mac", FW_M_MAC },
	{ "multiport", FW_M_MULTIPORT },
	{ "pkttype", FW_M_PKTTYPE },
	{ "set", FW_M_SET },
	{ "state", FW_M_STATE },
	{ "tcp", FW_M_TCP },
	{ "tcpmss", FW_M_TCPMSS },
	{ "ttl", FW_M_TTL },
	{ "udp", FW_M_UDP },
};
const size_t fw_kw_matches_n = HG_ARRAY_SIZE(fw_kw_matches);

const struct fw_kw fw_kw_targets[] = {
	{ "ACCEPT", FW_T_ACCEPT },
	{ "COPY", FW_T_COPY },
	{ "DNAT", FW_T_DNAT },
	{ "DROP", FW_T_DROP },
	{ "LOG", FW_T_LOG },
	{ "MASQUERADE", FW_T_MASQUERADE },
	{ "NETMAP", FW_T_NETMAP },
	{ "REDIRECT", FW_T_REDIRECT },
	{ "REJECT", FW_T_REJECT },
	{ "RETURN", FW_T_RETURN },
	{ "SNAT", FW_T_SNAT },
};
const size_t fw_kw_targets_n = HG_ARRAY_SIZE(fw_kw_targets);

/* REJECT --reject-with: IPv4 names and their short aliases ... */
const struct fw_kw fw_kw_reject[] = {
	{ "admin-prohib", FW_REJ_ICMP_ADMIN_PROHIBITED },
	{ "host-prohib", FW_REJ_ICMP_HOST_PROHIBITED },
	{ "host-unreach", FW_REJ_ICMP_HOST_UNREACHABLE },
	{ "icmp-admin-prohibited", FW_REJ_ICMP_ADMIN_PROHIBITED },
	{ "icmp-host-prohibited", FW_REJ_ICMP_HOST_PROHIBITED },
	{ "icmp-host-unreachable", FW_REJ_ICMP_HOST_UNREACHABLE },
	{ "icmp-net-prohibited", FW_REJ_ICMP_NET_PROHIBITED },
	{ "icmp-net-unreachable", FW_REJ_ICMP_NET_UNREACHABLE },
	{ "icmp-port-unreachable", FW_REJ_ICMP_PORT_UNREACHABLE },
	{ "icmp-proto-unreachable", FW_REJ_ICMP_PROTO_UNREACHABLE },
	{ "net-prohib", FW_REJ_ICMP_NET_PROHIBITED },
	{ "net-unreach", FW_REJ_ICMP_NET_UNREACHABLE },
	{ "port-unreach", FW_REJ_ICMP_PORT_UNREACHABLE },
	{ "proto-unreach", FW_REJ_ICMP_PROTO_UNREACHABLE },
	{ "tcp-reset", FW_REJ_TCP_RESET },
	{ "tcp-rst", FW_REJ_TCP_RESET },
};
const size_t fw_kw_reject_n = HG_ARRAY_SIZE(fw_kw_reject);

/* ... and IPv6 ones (ip6tables' REJECT). */
const struct fw_kw fw_kw_reject6[] = {
	{ "addr-unreach", FW_REJ_ICMP6_ADDR_UNREACHABLE },
	{ "adm-prohibited", FW_REJ_ICMP6_ADM_PROHIBITED },
	{ "icmp6-addr-unreachable", FW_REJ_ICMP6_ADDR_UNREACHABLE },
	{ "icmp6-adm-prohibited", FW_REJ_ICMP6_ADM_PROHIBITED },
	{ "icmp6-no-route", FW_REJ_ICMP6_NO_ROUTE },
	{ "icmp6-policy-fail", FW_REJ_ICMP6_POLICY_FAIL },
	{ "icmp6-port-unreachable", FW_REJ_ICMP6_PORT_UNREACHABLE },
	{ "icmp6-reject-route", FW_REJ_ICMP6_REJECT_ROUTE },
	{ "no-route", FW_REJ_ICMP6_NO_ROUTE },
	{ "policy-fail", FW_REJ_ICMP6_POLICY_FAIL },
	{ "port-unreach", FW_REJ_ICMP6_PORT_UNREACHABLE },
	{ "reject-route", FW_REJ_ICMP6_REJECT_ROUTE },
	{ "tcp-reset", FW_REJ_TCP_RESET },
};
const size_t fw_kw_reject6_n = HG_ARRAY_SIZE(fw_kw_reject6);

/* syslog(3) levels, as LOG --log-level takes them. */
const struct fw_kw fw_kw_log_levels[] = {
	{ "alert", 1 },
	{ "crit", 2 },
	{ "debug", 7 },
	{ "emerg", 0 },
	{ "err", 3 },
	{ "error", 3 },
	{ "info", 6 },
	{ "notice", 5 },
	{ "panic", 0 },
	{ "warn", 4 },
	{ "warning", 4 },
};
const size_t fw_kw_log_levels_n = HG_ARRAY_SIZE(fw_kw_log_levels);

const struct fw_kw fw_kw_ctstates[] = {
	{ "DNAT", FW_CT_DNAT },
	{ "ESTABLISHED", FW_CT_ESTABLISHED },
	{ "INVALID", FW_CT_INVALID },
	{ "NEW", FW_CT_NEW },
	{ "RELATED", FW_CT_RELATED },
	{ "SNAT", FW_CT_SNAT },
	{ "UNTRACKED", FW_CT_UNTRACKED },
};
const size_t fw_kw_ctstates_n = HG_ARRAY_SIZE(fw_kw_ctstates);

const struct fw_kw fw_kw_ctstatus[] = {
	{ "ASSURED", FW_CTS_ASSURED },
	{ "CONFIRMED", FW_CTS_CONFIRMED },
	{ "EXPECTED", FW_CTS_EXPECTED },
	{ "NONE", 0 },
	{ "SEEN_REPLY", FW_CTS_SEEN_REPLY },
};
const size_t fw_kw_ctstatus_n = HG_ARRAY_SIZE(fw_kw_ctstatus);

const struct fw_kw fw_kw_tcp_flags[] = {
	{ "ACK", FW_TCP_ACK },
	{ "ALL", 0x3f },
	{ "FIN", FW_TCP_FIN },
	{ "NONE", 0 },
	{ "PSH", FW_TCP_PSH },
	{ "RST", FW_TCP_RST },
	{ "SYN", FW_TCP_SYN },
	{ "URG", FW_TCP_URG },
};
const size_t fw_kw_tcp_flags_n = HG_ARRAY_SIZE(fw_kw_tcp_flags);

static int
kw_cmp(const void *key, const void *elem)
{
	const struct fw_kw *kw = elem;

	return strcmp(key, kw->name);
}

const struct fw_kw *
fw_kw_find(const struct fw_kw *tab, size_t n, const char *name)
{
	return bsearch(name, tab, n, sizeof(*tab), kw_cmp);
}

/*
 * Edit distance with a swap of two neighbours counting as one edit
 * (optimal string alignment): "FORWARD_CUTS" is one typo away from
 * "FORWARD_CUST", as a user sees it.  Capped: names are short.
 */
unsigned
fw_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[3][64], *r2, *r1, *r;

	if (la >= HG_ARRAY_SIZE(d[0]) || lb >= HG_ARRAY_SIZE(d[0]))
		return 99;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		r = d[i % 3];
		r1 = d[(i - 1) % 3];
		r2 = d[(i + 1) % 3];	/* row i - 2 */
		r[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			r[j] = HG_MIN(HG_MIN(r1[j] + 1, r[j - 1] + 1),
			    r1[j - 1] + (a[i - 1] != b[j - 1]));
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1])
				r[j] = HG_MIN(r[j], r2[j - 2] + 1);
		}
	}
	return d[la % 3][lb];
}

void
fw_suggest_init(struct fw_suggest *sg, const char *name)
{
	sg->name = name;
	sg->best = NULL;
	/* Within two edits, and fewer than the name has characters, so
	 * that "ab" does not turn into "lan". */
	sg->d = HG_MIN(3u, (unsigned)fw_utf8_cols(name, strlen(name)));
}

void
fw_suggest_try(struct fw_suggest *sg, const char *cand)
{
	unsigned d;

	if (cand == NULL || cand[0] == '\0' || strcmp(cand, sg->name) == 0)
		return;
	/* "accept" for "ACCEPT" is nearest of all. */
	d = strcasecmp(cand, sg->name) == 0 ? 0 :
	    fw_edit_distance(sg->name, cand);
	if (d < sg->d) {
		sg->d = d;
		sg->best = cand;
	}
}

const char *
fw_kw_suggest(const struct fw_kw *tab, size_t n, const char *name)
{
	struct fw_suggest sg;

	fw_suggest_init(&sg, name);
	for (size_t i = 0; i < n; i++)
		fw_suggest_try(&sg, tab[i].name);
	return sg.best;
}

void
fw_kw_list(const struct fw_kw *tab, size_t n, char *buf, size_t size)
{
	size_t off = 0;
	int w;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
		    tab[i].name);
		if (w < 0)
			return;
		off += (size_t)w;
	}
}

static bool
sorted(const struct fw_kw *tab, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(tab[i - 1].name, tab[i].name) >= 0)
			return false;
	return true;
}

bool
fw_kw_tables_sorted(void)
{
	return sorted(FW_KW(fw_kw_protos)) && sorted(FW_KW(fw_kw_services)) &&
	    sorted(FW_KW(fw_kw_icmp)) && sorted(FW_KW(fw_kw_icmp6)) &&
	    sorted(FW_KW(fw_kw_matches)) && sorted(FW_KW(fw_kw_targets)) &&
	    sorted(FW_KW(fw_kw_reject)) && sorted(FW_KW(fw_kw_reject6)) &&
	    sorted(FW_KW(fw_kw_log_levels)) && sorted(FW_KW(fw_kw_ctstates)) &&
	    sorted(FW_KW(fw_kw_ctstatus)) && sorted(FW_KW(fw_kw_tcp_flags));
}

const char *
fw_proto_name(uint8_t proto)
{
	/* The names iptables-save prints (from /etc/protocols). */
	switch (proto) {
	case 1:   return "icmp";
	case 2:   return "igmp";
	case 6:   return "tcp";
	case 17:  return "udp";
	case 33:  return "dccp";
	case 47:  return "gre";
	case 50:  return "esp";
	case 51:  return "ah";
	case 58:  return "ipv6-icmp";
	case 89:  return "ospf";
	case 112: return "vrrp";
	case 132: return "sctp";
	case 136: return "udplite";
	default:  return NULL;
	}
}

const char *
fw_reject_name(enum fw_reject_with w)
{
	static const char *const names[FW_REJ_COUNT] = {
		[FW_REJ_ICMP_NET_UNREACHABLE] = "icmp-net-unreachable",
		[FW_REJ_ICMP_HOST_UNREACHABLE] = "icmp-host-unreachable",
		[FW_REJ_ICMP_PORT_UNREACHABLE] = "icmp-port-unreachable",
		[FW_REJ_ICMP_PROTO_UNREACHABLE] = "icmp-proto-unreachable",
		[FW_REJ_ICMP_NET_PROHIBITED] = "icmp-net-prohibited",
		[FW_REJ_ICMP_HOST_PROHIBITED] = "icmp-host-prohibited",
		[FW_REJ_ICMP_ADMIN_PROHIBITED] = "icmp-admin-prohibited",
		[FW_REJ_TCP_RESET] = "tcp-reset",
		[FW_REJ_ICMP6_NO_ROUTE] = "icmp6-no-route",
		[FW_REJ_ICMP6_ADM_PROHIBITED] = "icmp6-adm-prohibited",
		[FW_REJ_ICMP6_ADDR_UNREACHABLE] = "icmp6-addr-unreachable",
		[FW_REJ_ICMP6_PORT_UNREACHABLE] = "icmp6-port-unreachable",
		[FW_REJ_ICMP6_POLICY_FAIL] = "icmp6-policy-fail",
		[FW_REJ_ICMP6_REJECT_ROUTE] = "icmp6-reject-route",
	};

	return (unsigned)w < FW_REJ_COUNT ? names[w] : "?";
}

const char *
fw_match_name(enum fw_match_kind k)
{
	for (size_t i = 0; i < fw_kw_matches_n; i++)
		if (fw_kw_matches[i].val == (int)k)
			return fw_kw_matches[i].name;
	return "?";
}

const char *
fw_target_name(enum fw_target_kind k)
{
	for (size_t i = 0; i < fw_kw_targets_n; i++)
		if (fw_kw_targets[i].val == (int)k)
			return fw_kw_targets[i].name;
	return "?";
}

const char *
fw_table_name(enum fw_table_id t)
{
	return t == FW_TABLE_NAT ? "nat" : "filter";
}
