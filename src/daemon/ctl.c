/*
 * src/daemon/ctl.c: the local control socket hexctl talks to.  One request
 * line in ("show interfaces\n"), one JSON object out, then the connection
 * closes.  Runs on the control thread (libevent); it reads the data plane
 * only through dp's stats functions.  The HTTPS API comes later and will
 * serve the same objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "../lib/log.h"
#include "../lib/hg_time.h"
#include "daemon.h"

#define CTL_LINE_MAX	8192	/* one request line; a rule fits */

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
	    "config_version", (json_int_t)d->version,
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

json_t *
hg_ctl_request(struct hg_daemon *d, const char *line, const char *body,
    size_t body_len)
{
	char err[512];
	json_t *reply;

	if (strcmp(line, "show interfaces") == 0)
		return show_interfaces(d);
	if (strcmp(line, "show neighbors") == 0 ||
	    strcmp(line, "show neighbours") == 0)
		return show_neighbors(d);
	if (strcmp(line, "show routes") == 0)
		return show_routes(d);
	if (strcmp(line, "show version") == 0)
		return show_version(d);
	if (strcmp(line, "show firewall") == 0)
		return hg_fw_show(d);
	if (strcmp(line, "show conntrack") == 0)
		return hg_ct_show(d, false);
	if (strcmp(line, "nat show") == 0)
		return hg_ct_show(d, true);
	if ((reply = hg_fw_ctl(d, line, body, body_len)) != NULL)
		return reply;
	if (strcmp(line, "reload") == 0) {
		if (hg_reload(d, err, sizeof(err)) != 0) {
			hg_log_warnx("ctl: reload refused: %s", err);
			return json_pack("{s:s}", "error", err);
		}
		hg_log_info("ctl: configuration reloaded (version %llu)",
		    (unsigned long long)d->version);
		return json_pack("{s:b,s:I}", "ok", 1, "version",
		    (json_int_t)d->version);
	}
	snprintf(err, sizeof(err), "unknown command \"%.200s\" (try: show "
	    "interfaces, show neighbors, show routes, show version, show "
	    "firewall, show conntrack, nat show, firewall, sets, reload)", line);
	return json_pack("{s:s}", "error", err);
}

/* One client connection: a request line, then the body it announced. */
struct ctl_conn {
	struct hg_daemon *d;
	char *line;
	size_t body_len;
};

static void
ctl_conn_free(struct bufferevent *bev, struct ctl_conn *c)
{
	bufferevent_free(bev);
	if (c != NULL) {
		free(c->line);
		free(c);
	}
}

static void
ctl_written(struct bufferevent *bev, void *arg)
{
	ctl_conn_free(bev, arg);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		ctl_conn_free(bev, arg);
}

static void
ctl_reply(struct bufferevent *bev, struct ctl_conn *c, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);

	json_decref(reply);
	bufferevent_setcb(bev, NULL, ctl_written, ctl_event, c);
	bufferevent_disable(bev, EV_READ);
	if (text != NULL) {
		bufferevent_write(bev, text, strlen(text));
		bufferevent_write(bev, "\n", 1);
		free(text);
	}
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *body;
	size_t len;
	int rc;

	if (c->line == NULL) {
		c->line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (c->line == NULL) {
			if (evbuffer_get_length(in) > CTL_LINE_MAX)
				ctl_conn_free(bev, c);
			return;
		}
		rc = hg_fw_body_len(c->line, &c->body_len);
		if (rc < 0) {
			ctl_reply(bev, c, json_pack("{s:s}", "error", "bad body "
			    "length in the request line"));
			return;
		}
	}
	if (evbuffer_get_length(in) < c->body_len)
		return;		/* the rest of the body is on its way */
	body = malloc(c->body_len + 1);
	if (body == NULL) {
		ctl_reply(bev, c, json_pack("{s:s}", "error", "out of memory"));
		return;
	}
	evbuffer_remove(in, body, c->body_len);
	body[c->body_len] = '\0';
	c->d->who.author = "ctl";
	c->d->who.source = "unix";
	ctl_reply(bev, c, hg_ctl_request(c->d, c->line, body, c->body_len));
	memset(&c->d->who, 0, sizeof(c->d->who));
	free(body);
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int len, void *arg)
{
	struct hg_daemon *d = arg;
	struct bufferevent *bev;
	struct ctl_conn *c = calloc(1, sizeof(*c));

	bev = c != NULL ? bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	bufferevent_setcb(bev, ctl_read, NULL, ctl_event, c);
	bufferevent_enable(bev, EV_READ);
}

int
hg_ctl_open(struct hg_daemon *d, const char *path)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)];
	char *slash;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		hg_log_warnx("ctl: socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0750);	/* may exist; bind says if not */
	}
	(void)unlink(path);	/* a stale socket of an earlier run */
	d->ctl = evconnlistener_new_bind(d->base, ctl_accept, d,
	    LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	if (d->ctl == NULL) {
		hg_log_warn("ctl: %s: bind", path);
		return -errno;
	}
	if (chmod(path, 0600) != 0)
		hg_log_warn("ctl: %s: chmod", path);
	return 0;
}

void
hg_ctl_close(struct hg_daemon *d, const char *path)
{
	if (d->ctl == NULL)
		return;
	evconnlistener_free(d->ctl);
	d->ctl = NULL;
	(void)unlink(path);
}
