/*
 * src/daemon/ops/show.c: the operations that read state: the interfaces,
 * routes, neighbours, version, firewall and conntrack views, the metrics
 * and the operation table itself.  They read the data plane only through
 * dp's stats functions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/hg_time.h"
#include "../../tun/esp.h"
#include "../daemon.h"
#include "../config/apply.h"
#include "../config/ike.h"
#include "../config/overlay.h"
#include "../config/tunnels.h"
#include "../config/versions.h"
#include "../firewall/firewall.h"
#include "ops.h"

static json_t *
addr_json(uint8_t family, const void *addr, int plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n;

	inet_ntop(family, addr, buf, sizeof(buf));
	n = strlen(buf);
	if (plen >= 0)
		snprintf(buf + n, sizeof(buf) - n, "/%d", plen);
	return json_string(buf);
}

static json_t *
show_interfaces(struct hg_daemon *d)
{
	const struct ip_tables *t = dp_tables(d->dp);
	json_t *list = json_array();

	for (uint16_t i = 0; i < t->n_if; i++) {
		const struct ip_if *ifp = &t->ifs[i];
		struct dp_if_stats st;
		json_t *o = json_object(), *addrs = json_array(),
		    *drops = json_object();
		char mac[18];

		if (ifp->name[0] == '\0') {	/* a slot no tunnel holds */
			json_decref(o);
			json_decref(addrs);
			json_decref(drops);
			continue;
		}
		dp_if_stats(d->dp, i, &st);
		for (uint8_t k = 0; k < ifp->n_addr4; k++)
			json_array_append_new(addrs, addr_json(AF_INET,
			    &ifp->addr4[k].addr_be, ifp->addr4[k].plen));
		for (uint8_t k = 0; k < ifp->n_addr6; k++)
			json_array_append_new(addrs, addr_json(AF_INET6,
			    ifp->addr6[k].addr, ifp->addr6[k].plen));
		json_array_append_new(addrs, addr_json(AF_INET6, ifp->ll6, 64));
		for (int r = 1; r < PKT_DROP_COUNT; r++)
			if (st.drops[r] != 0)
				json_object_set_new(drops, pkt_drop_name(r),
				    json_integer((json_int_t)st.drops[r]));
		json_object_set_new(o, "name", json_string(ifp->name));
		json_object_set_new(o, "port", json_string(d->cfg->ifs[i].port));
		json_object_set_new(o, "mac", json_string(pkt_mac_fmt(ifp->mac, mac)));
		json_object_set_new(o, "mtu", json_integer(ifp->mtu_bytes));
		json_object_set_new(o, "up", json_boolean(ifp->up));
		json_object_set_new(o, "addresses", addrs);
		json_object_set_new(o, "rx_packets", json_integer((json_int_t)st.rx_pkts));
		json_object_set_new(o, "rx_bytes", json_integer((json_int_t)st.rx_bytes));
		json_object_set_new(o, "tx_packets", json_integer((json_int_t)st.tx_pkts));
		json_object_set_new(o, "tx_bytes", json_integer((json_int_t)st.tx_bytes));
		json_object_set_new(o, "rx_missed", json_integer((json_int_t)st.rx_missed));
		json_object_set_new(o, "tx_errors", json_integer((json_int_t)st.tx_errors));
		json_object_set_new(o, "punted", json_integer((json_int_t)st.punted));
		json_object_set_new(o, "from_host", json_integer((json_int_t)st.from_host));
		json_object_set_new(o, "handed_off", json_integer((json_int_t)st.handed_off));
		json_object_set_new(o, "frags_steered", json_integer((json_int_t)st.frags_steered));
		json_object_set_new(o, "esp_steered", json_integer((json_int_t)st.esp_steered));
		json_object_set_new(o, "wg_steered", json_integer((json_int_t)st.wg_steered));
		json_object_set_new(o, "reassembled", json_integer((json_int_t)st.reassembled));
		json_object_set_new(o, "drops_total", json_integer((json_int_t)st.drops_total));
		json_object_set_new(o, "drops", drops);
		json_array_append_new(list, o);
	}
	return json_pack("{s:o}", "interfaces", list);
}

struct neigh_walk {
	const struct ip_tables *t;
	json_t *list;
};

static void
neigh_one(const struct ip_neigh_info *n, void *arg)
{
	struct neigh_walk *nw = arg;
	char mac[18];
	json_t *o;

	if (n->if_idx >= nw->t->n_if)
		return;
	o = json_object();
	json_object_set_new(o, "interface", json_string(nw->t->ifs[n->if_idx].name));
	json_object_set_new(o, "ip", addr_json(n->family, n->addr, -1));
	if (n->state != IP_NEIGH_INCOMPLETE)
		json_object_set_new(o, "mac", json_string(pkt_mac_fmt(n->mac, mac)));
	json_object_set_new(o, "state", json_string(ip_neigh_state_name(n->state)));
	json_array_append_new(nw->list, o);
}

static json_t *
show_neighbors(struct hg_daemon *d)
{
	struct neigh_walk nw = { dp_tables(d->dp), json_array() };

	ip_neigh_walk(d->nt, hg_now_ns(), neigh_one, &nw);
	return json_pack("{s:o}", "neighbors", nw.list);
}

static json_t *
show_routes(struct hg_daemon *d)
{
	static const char *const types[IP_NH_TYPE_COUNT] = {
		[IP_NH_LOCAL] = "local",
		[IP_NH_CONNECTED] = "connected",
		[IP_NH_GATEWAY] = "static",
		[IP_NH_BLACKHOLE] = "blackhole",
	};
	const struct ip_tables *t = dp_tables(d->dp);
	json_t *list = json_array();

	for (uint32_t i = 0; i < t->n_routes; i++) {
		const struct ip_route *r = &t->routes[i];
		const struct ip_nh *nh = &t->nh[r->nh];
		json_t *o = json_object();

		json_object_set_new(o, "prefix", addr_json(r->family, r->prefix, r->plen));
		if (nh->type == IP_NH_GATEWAY)
			json_object_set_new(o, "via", addr_json(nh->family, nh->gw, -1));
		if (nh->type != IP_NH_BLACKHOLE)
			json_object_set_new(o, "interface",
			    json_string(t->ifs[nh->if_idx].name));
		json_object_set_new(o, "type", json_string(
		    r->is_static && nh->type == IP_NH_CONNECTED ? "static" :
		    types[nh->type]));
		json_array_append_new(list, o);
	}
	return json_pack("{s:o}", "routes", list);
}

static json_t *
show_version(struct hg_daemon *d)
{
	struct ip_worker_stats s;
	struct ip_neigh_table_stats ns;
	json_t *o;

	dp_ip_stats(d->dp, &s);
	ip_neigh_table_stats(d->nt, &ns);
	o = json_pack("{s:s,s:i,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
	    "version", HEXGATE_VERSION,
	    "workers", (int)dp_n_workers(d->dp),
	    "config_version", (json_int_t)hg_config_version(d),
	    "uptime_s", (json_int_t)((hg_now_ns() - d->started_ns) / HG_NS_PER_S),
	    "router",
	    "arp_replies_sent", (json_int_t)s.arp_replies_sent,
	    "arp_requests_sent", (json_int_t)s.arp_requests_sent,
	    "nd_adverts_sent", (json_int_t)s.nd_adverts_sent,
	    "nd_solicits_sent", (json_int_t)s.nd_solicits_sent,
	    "echo_replies_sent", (json_int_t)s.echo_replies_sent,
	    "icmp_errors_sent", (json_int_t)s.icmp_errors_sent,
	    "icmp_errors_ratelimited", (json_int_t)s.icmp_errors_ratelimited,
	    "fragments_sent", (json_int_t)s.fragments_sent);
	if (o != NULL)
		json_object_set_new(json_object_get(o, "router"), "neighbours",
		    json_pack(
		    "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		    "entries", (json_int_t)ns.entries,
		    "incomplete", (json_int_t)ns.incomplete,
		    "static", (json_int_t)ns.statics,
		    "capacity", (json_int_t)ns.capacity,
		    "recycled", (json_int_t)ns.recycled,
		    "learned", (json_int_t)s.neigh_learned,
		    "learn_refused", (json_int_t)s.neigh_learn_refused,
		    "held_recycled", (json_int_t)s.neigh_held_recycled));
	return o;
}

/* A tunnel's selectors of one side as text. */
static json_t *
prefixes_json(const struct hg_prefix *ps, uint8_t n)
{
	json_t *a = json_array();

	for (uint8_t i = 0; i < n; i++) {
		const struct hg_prefix *p = &ps[i];

		json_array_append_new(a, addr_json(p->a.family, p->a.addr,
		    p->len_bits));
	}
	return a;
}

uint64_t
hg_config_version(const struct hg_daemon *d)
{
	return d->store != NULL ? d->store_version : d->version;
}

int
op_show_version(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, show_version(ctx), 200);
}

int
op_show_interfaces(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, show_interfaces(ctx), 200);
}

int
op_show_routes(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, show_routes(ctx), 200);
}

int
op_show_neighbors(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, show_neighbors(ctx), 200);
}

int
op_show_firewall(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, hg_fw_show(ctx), 200);
}

int
op_show_conntrack(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, hg_ct_show(ctx, false), 200);
}

int
op_nat_show(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, hg_ct_show(ctx, true), 200);
}

int
op_metrics(void *ctx, struct hg_op_req *r)
{
	size_t len;
	char *text = hg_metrics_text(ctx, &len);

	if (text == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	return hg_op_reply_raw(r, 200, "text/plain; version=0.0.4; "
	    "charset=utf-8", text, len);
}

static const char *const method_names[] = {
	[HG_OPM_GET] = "GET", [HG_OPM_POST] = "POST", [HG_OPM_PUT] = "PUT",
	[HG_OPM_DELETE] = "DELETE",
};
static const char *const type_names[] = {
	[HG_OPT_STRING] = "string", [HG_OPT_INT] = "integer",
	[HG_OPT_BOOL] = "boolean", [HG_OPT_TEXT] = "text",
	[HG_OPT_OBJECT] = "object",
};

/* The ESP tunnels and their SAs (never a key): SPI, direction,
 * algorithm, endpoints, encapsulation, counters, lifetimes. */
int
op_ipsec_sas(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	json_t *a = json_array();
	char buf[2048];

	/* IKE's SAs change under hg-ike: they are read under its lock. */
	hg_ike_lock(d);
	for (uint16_t k = 0; k < d->cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &d->cfg->tunnels[k];
		const struct dp_tunnel *t = &d->tunnels->dp.t[tn->if_idx];
		json_t *sas = json_array();

		for (int dir = 0; dir < 2; dir++) {
			const struct esp_sa *sa = dir == 0 ? t->out : t->in;
			json_error_t jerr;
			int n;

			if (sa == NULL)
				continue;
			n = esp_sa_format_json(sa, buf, sizeof(buf));
			if (n < 0 || (size_t)n >= sizeof(buf))
				continue;
			json_array_append_new(sas, json_loads(buf, 0, &jerr));
		}
		json_array_append_new(a, json_pack("{s:s,s:o,s:o,s:o}", "tunnel",
		    tn->name, "remote_subnets", prefixes_json(tn->remote_subnets,
		    tn->n_remote), "local_subnets", prefixes_json(
		    tn->local_subnets, tn->n_local), "sas", sas));
	}
	hg_ike_unlock(d);
	return hg_op_reply(r, 200, json_pack("{s:o,s:I,s:I}", "tunnels", a,
	    "rekeys_due", (json_int_t)d->tunnels->rekeys_due, "expired",
	    (json_int_t)d->tunnels->expired));
}

/* The IKE SAs, as swanctl --list-sas shows them, and the trapped
 * connections (swanctl --list-pols's trap policies). */
int
op_ipsec_status(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char *text = hg_ike_status(d);
	json_error_t jerr;
	json_t *st;

	if (text == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	st = json_loads(text, 0, &jerr);
	free(text);
	if (st == NULL)
		return hg_op_error(r, 500, NULL, "IKE status: %s", jerr.text);
	return hg_op_reply(r, 200, st);
}

int
op_overlay_status(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	json_error_t jerr;
	json_t *st;
	char *text;

	hg_ike_lock(d);
	if (d->overlay == NULL) {
		hg_ike_unlock(d);
		return hg_op_reply(r, 200, json_pack("{s:b,s:[]}", "enabled",
		    0, "peers"));
	}
	text = hg_overlay_status(d);
	hg_ike_unlock(d);
	if (text == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	st = json_loads(text, 0, &jerr);
	free(text);
	if (st == NULL)
		return hg_op_error(r, 500, NULL, "overlay status: %s",
		    jerr.text);
	return hg_op_reply(r, 200, st);
}

int
op_overlay_handshake(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const char *name = hg_op_str(r, "name");
	int rc;

	hg_ike_lock(d);
	rc = hg_overlay_initiate(d, name);
	hg_ike_unlock(d);
	switch (rc) {
	case 0:
		return hg_op_reply(r, 200, json_pack("{s:b,s:s}", "ok", 1,
		    "message", "initiating"));
	case -ENOENT:
		return hg_op_error(r, 404, "name", "no enabled overlay peer "
		    "%s", name);
	case -EDESTADDRREQ:
		return hg_op_error(r, 409, "name", "%s: no endpoint known "
		    "yet (a client that has not reached us)", name);
	default:
		return hg_op_error(r, 409, "name", "%s: a handshake went "
		    "less than 5 s ago", name);
	}
}

static int
ipsec_updown(struct hg_daemon *d, struct hg_op_req *r, bool up)
{
	const char *name = hg_op_str(r, "name");

	if (hg_ike_updown(d, name, up) != 0)
		return hg_op_error(r, 404, "name", "no IPsec connection %s",
		    name);
	return hg_op_reply(r, 200, json_pack("{s:b,s:s}", "ok", 1,
	    "message", up ? "initiating" : "deleting"));
}

int
op_ipsec_up(void *ctx, struct hg_op_req *r)
{
	return ipsec_updown(ctx, r, true);
}

int
op_ipsec_down(void *ctx, struct hg_op_req *r)
{
	return ipsec_updown(ctx, r, false);
}

/* The table as data: what hexctl and a web UI discover. */
int
op_ops_list(void *ctx, struct hg_op_req *r)
{
	json_t *a = json_array();

	(void)ctx;
	for (size_t i = 0; i < hg_n_ops; i++) {
		const struct hg_op *op = &hg_ops[i];
		json_t *fields = json_array(), *rest = json_array();

		for (size_t j = 0; j < HG_OP_FIELDS_MAX && op->fields[j].name;
		    j++) {
			const struct hg_op_field *f = &op->fields[j];

			json_array_append_new(fields, json_pack(
			    "{s:s,s:s,s:b,s:s}", "name", f->name, "type",
			    type_names[f->type], "required",
			    (f->flags & HG_OPF_REQUIRED) != 0, "doc", f->doc));
		}
		for (size_t j = 0; j < HG_OP_RESTS_MAX && op->rest[j].path;
		    j++)
			json_array_append_new(rest, json_pack("{s:s,s:s}",
			    "method", method_names[op->rest[j].method],
			    "path", op->rest[j].path));
		json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:b,s:o,s:o}",
		    "name", op->name, "summary", op->summary, "cli", op->cli,
		    "changes", (op->flags & HG_OP_CHANGES) != 0,
		    "fields", fields, "rest", rest));
	}
	return hg_op_reply(r, 200, json_pack("{s:o}", "ops", a));
}
