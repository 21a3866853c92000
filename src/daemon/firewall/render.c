/*
 * src/daemon/firewall/render.c: the firewall's state as JSON for the
 * show operations: verdict counters by hook and reason, conntrack
 * totals, the COPY sessions, and the connection tracking table.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/hg_time.h"
#include "../daemon.h"
#include "firewall.h"

static const char *const why_names[FW_WHY_COUNT] = {
	[FW_WHY_RULE] = "rule",
	[FW_WHY_ESTABLISHED] = "established",
	[FW_WHY_INVALID] = "invalid",
	[FW_WHY_UNTRACKED] = "untracked",
	[FW_WHY_DNAT] = "dnat",
	[FW_WHY_IPSEC] = "ipsec_peer",
	[FW_WHY_KNOWN_NET] = "known_network",
	[FW_WHY_POLICY] = "policy",
	[FW_WHY_OVERLAY] = "overlay",
};
static const char *const hook_names[FW_HOOK_COUNT] = {
	[FW_HOOK_INPUT] = "input",
	[FW_HOOK_FORWARD] = "forward",
	[FW_HOOK_OUTPUT] = "output",
};

/* The COPY sessions (MACRO_CUST -j COPY) and what they sent. */
static json_t *
copy_show(struct hg_daemon *d)
{
	struct dp_copy_stats *st;
	json_t *a = json_array();
	uint32_t n;

	st = calloc(DP_COPY_MAX, sizeof(*st));
	if (st == NULL)
		return a;
	n = HG_MIN(dp_copy_stats(d->dp, st, DP_COPY_MAX), DP_COPY_MAX);
	for (uint32_t i = 0; i < n; i++) {
		char to[FW_COPY_LOCAL_MAX + 8];
		json_t *c = json_object();

		/* As --to reads in the rule. */
		if (st[i].to_kind == FW_COPY_TO_TAP)
			snprintf(to, sizeof(to), "tap:%s", st[i].local);
		else if (st[i].to_kind == FW_COPY_TO_PCAP)
			snprintf(to, sizeof(to), "pcap:%s", st[i].local);
		else
			inet_ntop(st[i].family == FW_IPV6 ? AF_INET6 : AF_INET,
			    st[i].to, to, sizeof(to));
		json_object_set_new(c, "rules", json_string(
		    st[i].family == FW_IPV6 ? "ipv6" : "ipv4"));
		json_object_set_new(c, "position", json_integer(st[i].pos));
		json_object_set_new(c, "from", json_string(st[i].from));
		json_object_set_new(c, "to", json_string(to));
		json_object_set_new(c, "bidirectional",
		    json_boolean(st[i].bidirectional));
		json_object_set_new(c, "active", json_boolean(st[i].active));
		json_object_set_new(c, "vni", json_integer(st[i].vni));
		json_object_set_new(c, "snaplen", json_integer(st[i].snaplen));
		json_object_set_new(c, "sent",
		    json_integer((json_int_t)st[i].sent));
		json_object_set_new(c, "dropped",
		    json_integer((json_int_t)st[i].dropped));
		json_object_set_new(c, "truncated",
		    json_integer((json_int_t)st[i].truncated));
		json_array_append_new(a, c);
	}
	free(st);
	return a;
}

/* A prefix as text. */
static json_t *
prefix_json(const struct hg_prefix *p)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 4];

	inet_ntop(p->a.family, p->a.addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s/%u", a, p->len_bits);
	return json_string(buf);
}

/*
 * The known networks the defaults admit (default 6) and where each came
 * from: the configuration's list, known through every interface, or a
 * tunnel's remote subnets, known only for what arrives through it.
 */
static json_t *
known_show(const struct hg_config *cfg)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < cfg->fw.n_known; i++)
		json_array_append_new(a, json_pack("{s:o,s:s,s:s}", "prefix",
		    prefix_json(&cfg->fw.known[i]), "from", "configuration",
		    "through", "any"));
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];

		for (uint8_t j = 0; j < tn->n_remote; j++)
			json_array_append_new(a, json_pack("{s:o,s:s,s:s}",
			    "prefix", prefix_json(&tn->remote_subnets[j]),
			    "from", "tunnel", "through", tn->name));
	}
	return a;
}

json_t *
hg_fw_show(struct hg_daemon *d)
{
	json_t *o = json_object(), *ct, *inv = json_object();
	struct ct_stats cs;

	for (int f = 0; f < 2; f++) {
		const struct fw_prog *prog = hg_fw_live(d, f ? FW_IPV6 : FW_IPV4);
		json_t *fo = json_object(), *verd = json_object();
		struct fw_prog_stats st;

		if (prog == NULL)
			continue;
		fw_prog_stats(prog, &st);
		for (int h = 0; h < FW_HOOK_COUNT; h++) {
			json_t *ho = json_object();

			for (int w = 0; w < FW_WHY_COUNT; w++)
				json_object_set_new(ho, why_names[w],
				    json_integer((json_int_t)st.verdicts[h][w]));
			json_object_set_new(verd, hook_names[h], ho);
		}
		json_object_set_new(fo, "rules", json_integer(st.n_rules));
		json_object_set_new(fo, "verdicts", verd);
		json_object_set_new(fo, "log_suppressed",
		    json_integer((json_int_t)st.log_suppressed));
		json_object_set_new(o, f ? "ipv6" : "ipv4", fo);
	}
	dp_ct_stats(d->dp, &cs);
	ct = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "max", (json_int_t)cs.max_entries,
	    "in_use", (json_int_t)cs.in_use,
	    "created", (json_int_t)cs.created,
	    "expired", (json_int_t)cs.expired,
	    "table_full", (json_int_t)cs.table_full,
	    "evicted", (json_int_t)cs.evicted,
	    "src_limited", (json_int_t)cs.src_limited,
	    "frags_followed", (json_int_t)cs.frags_followed,
	    "nat_setup", (json_int_t)cs.nat_setup,
	    "nat_remapped", (json_int_t)cs.nat_remapped,
	    "nat_no_tuple", (json_int_t)cs.nat_no_tuple,
	    "nat_clash", (json_int_t)cs.nat_clash);
	for (int r = 1; r < CT_INVALID_COUNT; r++)
		json_object_set_new(inv, ct_invalid_name((enum ct_invalid)r),
		    json_integer((json_int_t)cs.invalid[r]));
	json_object_set_new(ct, "invalid", inv);
	json_object_set_new(o, "conntrack", ct);
	json_object_set_new(o, "copy", copy_show(d));
	json_object_set_new(o, "known_networks", known_show(d->cfg));
	return o;
}

static const char *
proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP_:
		return "tcp";
	case IPPROTO_UDP_:
		return "udp";
	case IPPROTO_ICMP_:
		return "icmp";
	case IPPROTO_ICMPV6_:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", p);
		return buf;
	}
}

static void
tuple_str(const struct ct_tuple *t, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], dd[INET6_ADDRSTRLEN];
	int af = t->l3 == PKT_L3_IP6 ? AF_INET6 : AF_INET;

	inet_ntop(af, t->src, s, sizeof(s));
	inet_ntop(af, t->dst, dd, sizeof(dd));
	if (af == AF_INET6)
		snprintf(buf, len, "[%s]:%u -> [%s]:%u", s, ntohs(t->sport_be),
		    dd, ntohs(t->dport_be));
	else
		snprintf(buf, len, "%s:%u -> %s:%u", s, ntohs(t->sport_be), dd,
		    ntohs(t->dport_be));
}

struct ct_list {
	json_t *flows;
	uint64_t now_ns;
	size_t n;
	bool nat_only;		/* translated flows only (nat show) */
};

/* True when the reply tuple is the original one reversed: no NAT. */
static bool
tuple_plain(const struct ct_flow_info *fi)
{
	const struct ct_tuple *o = &fi->orig, *r = &fi->reply;
	bool icmp = o->proto == IPPROTO_ICMP_ || o->proto == IPPROTO_ICMPV6_;

	return memcmp(o->src, r->dst, 16) == 0 &&
	    memcmp(o->dst, r->src, 16) == 0 &&
	    (icmp ? o->sport_be == r->sport_be :
	    o->sport_be == r->dport_be && o->dport_be == r->sport_be);
}

#define CT_LIST_MAX	10000	/* flows one listing shows */

static int
ct_one(const struct ct_flow_info *fi, void *arg)
{
	struct ct_list *l = arg;
	char o[128], r[128], pb[8];

	if (l->nat_only && tuple_plain(fi))
		return 0;
	if (l->n++ >= CT_LIST_MAX)
		return 1;
	tuple_str(&fi->orig, o, sizeof(o));
	tuple_str(&fi->reply, r, sizeof(r));
	json_array_append_new(l->flows, json_pack(
	    "{s:s,s:s,s:s,s:s,s:s,s:I,s:[I,I],s:[I,I]}",
	    "proto", proto_name(fi->orig.proto, pb, sizeof(pb)),
	    "orig", o, "reply", r,
	    "state", fi->seen_reply ? "ESTABLISHED" : "NEW",
	    "tcp_state", fi->orig.proto == IPPROTO_TCP_ ?
	    ct_tcp_state_name(fi->tcp_state) : "",
	    "expires_s", (json_int_t)(fi->expires_ns > l->now_ns ?
	    (fi->expires_ns - l->now_ns) / HG_NS_PER_S : 0),
	    "packets", (json_int_t)fi->packets[0], (json_int_t)fi->packets[1],
	    "bytes", (json_int_t)fi->bytes[0], (json_int_t)fi->bytes[1]));
	return 0;
}

json_t *
hg_ct_show(struct hg_daemon *d, bool nat_only)
{
	struct ct_list l = { .flows = json_array(), .now_ns = hg_now_ns(),
	    .nat_only = nat_only };

	(void)dp_ct_walk(d->dp, l.now_ns, ct_one, &l);
	return json_pack("{s:o,s:b}", "flows", l.flows, "truncated",
	    l.n > CT_LIST_MAX);
}
