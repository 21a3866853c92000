/*
 * src/daemon/ops/metrics.c: the counters in the Prometheus text exposition
 * format 0.0.4, which the API serves as GET /metrics (api.c).  Read from
 * the data plane's stats and the firewall's "show firewall" object, on the
 * control thread; the workers are not stopped, so a scrape is a close
 * approximation, not an atomic snapshot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../pkt/drop.h"
#include "../daemon.h"
#include "../config/ike.h"
#include "../config/overlay.h"
#include "../firewall/firewall.h"
#include "ops.h"

/* Prometheus text: one metric family at a time. */
struct prom {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

static void HG_PRINTF(2, 3)
prom_printf(struct prom *p, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int n;

	if (p->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->failed = true;
			return;
		}
		if ((size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		grown = realloc(p->buf, p->cap * 2 + (size_t)n);
		if (grown == NULL) {
			p->failed = true;
			return;
		}
		p->buf = grown;
		p->cap = p->cap * 2 + (size_t)n;
	}
}

static void
prom_head(struct prom *p, const char *name, const char *type,
    const char *help)
{
	prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample of an integer in o (0 when absent). */
static void
prom_int(struct prom *p, const char *name, const char *labels,
    const json_t *o, const char *key)
{
	prom_printf(p, "%s%s%s%s %lld\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "",
	    (long long)json_integer_value(json_object_get(o, key)));
}

/* Interface names, hook and reason names are [a-z0-9_-]: no escaping.
 * Every drop reason is a series, zero or not, so rates start at once. */
static void
prom_interfaces(struct prom *p, const struct dp *dp)
{
	static const struct {
		const char *metric, *help;
		size_t off;
	} m[] = {
#define IF_METRIC(name, field, help) \
	{ "hexgate_interface_" name "_total", help, \
	  offsetof(struct dp_if_stats, field) }
		IF_METRIC("rx_packets", rx_pkts, "Frames received."),
		IF_METRIC("rx_bytes", rx_bytes, "Bytes received."),
		IF_METRIC("tx_packets", tx_pkts, "Frames sent."),
		IF_METRIC("tx_bytes", tx_bytes, "Bytes sent."),
		IF_METRIC("rx_missed", rx_missed,
		    "Frames lost in the port before hexgate."),
		IF_METRIC("tx_errors", tx_errors, "Frames the port refused."),
		IF_METRIC("punted", punted, "Frames handed to the host."),
		IF_METRIC("handed_off", handed_off,
		    "Host frames handed to the worker that owns their flow."),
		IF_METRIC("frags_steered", frags_steered,
		    "Fragments handed to the worker that owns their flow."),
		IF_METRIC("esp_steered", esp_steered,
		    "ESP handed to the worker that owns its SA or flow."),
		IF_METRIC("wg_steered", wg_steered,
		    "Overlay data handed to the worker that owns its "
		    "receiver index (after a peer roamed)."),
		IF_METRIC("reassembled", reassembled,
		    "Outer ESP datagrams reassembled from fragments."),
#undef IF_METRIC
	};
	const struct ip_tables *t = dp_tables(dp);
	struct dp_if_stats st[IP_IF_MAX];

	for (uint16_t i = 0; i < t->n_if; i++)
		dp_if_stats(dp, i, &st[i]);
	for (size_t j = 0; j < HG_ARRAY_SIZE(m); j++) {
		prom_head(p, m[j].metric, "counter", m[j].help);
		for (uint16_t i = 0; i < t->n_if; i++)
			if (t->ifs[i].name[0] != '\0')	/* not a hole */
				prom_printf(p, "%s{interface=\"%s\"} %llu\n",
				    m[j].metric, t->ifs[i].name,
				    (unsigned long long)*(const uint64_t *)
				    ((const char *)&st[i] + m[j].off));
	}
	prom_head(p, "hexgate_interface_drops_total", "counter",
	    "Frames dropped, by reason.");
	for (uint16_t i = 0; i < t->n_if; i++)
		for (int r = 1; r < PKT_DROP_COUNT && t->ifs[i].name[0]; r++)
			prom_printf(p, "hexgate_interface_drops_total{interface="
			    "\"%s\",reason=\"%s\"} %llu\n", t->ifs[i].name,
			    pkt_drop_name(r),
			    (unsigned long long)st[i].drops[r]);
}

static void
prom_firewall(struct prom *p, json_t *fw)
{
	static const char *const fams[] = { "ipv4", "ipv6" };
	json_t *ct = json_object_get(fw, "conntrack"), *v;
	static const char *const nat[] = { "nat_setup", "nat_remapped",
	    "nat_no_tuple", "nat_clash" };
	const char *key;
	char labels[160];

	prom_head(p, "hexgate_firewall_rules", "gauge",
	    "Rules in the running rule set.");
	for (size_t f = 0; f < 2; f++) {
		snprintf(labels, sizeof(labels), "family=\"%s\"", fams[f]);
		prom_int(p, "hexgate_firewall_rules", labels,
		    json_object_get(fw, fams[f]), "rules");
	}
	prom_head(p, "hexgate_firewall_verdicts_total", "counter",
	    "Packets by firewall hook and the reason of their verdict.");
	for (size_t f = 0; f < 2; f++) {
		json_t *verd = json_object_get(json_object_get(fw,
		    fams[f]), "verdicts"), *hook;
		const char *hk;

		json_object_foreach(verd, hk, hook) {
			const char *why;

			json_object_foreach(hook, why, v) {
				snprintf(labels, sizeof(labels),
				    "family=\"%s\",hook=\"%s\",why=\"%s\"",
				    fams[f], hk, why);
				prom_int(p, "hexgate_firewall_verdicts_total",
				    labels, hook, why);
			}
		}
	}
	prom_head(p, "hexgate_conntrack_entries", "gauge",
	    "Connection tracking entries in use.");
	prom_int(p, "hexgate_conntrack_entries", "", ct, "in_use");
	prom_head(p, "hexgate_conntrack_entries_max", "gauge",
	    "Connection tracking table size.");
	prom_int(p, "hexgate_conntrack_entries_max", "", ct, "max");
	prom_head(p, "hexgate_conntrack_table_full_total", "counter",
	    "New flows refused because the table was full.");
	prom_int(p, "hexgate_conntrack_table_full_total", "", ct,
	    "table_full");
	prom_head(p, "hexgate_conntrack_evicted_total", "counter",
	    "Unanswered flows evicted to make room for new ones.");
	prom_int(p, "hexgate_conntrack_evicted_total", "", ct, "evicted");
	prom_head(p, "hexgate_conntrack_source_limited_total", "counter",
	    "New flows refused: their source held its share of the table.");
	prom_int(p, "hexgate_conntrack_source_limited_total", "", ct,
	    "src_limited");
	prom_head(p, "hexgate_conntrack_invalid_total", "counter",
	    "Packets conntrack found invalid, by reason.");
	json_object_foreach(json_object_get(ct, "invalid"), key, v) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", key);
		prom_int(p, "hexgate_conntrack_invalid_total", labels,
		    json_object_get(ct, "invalid"), key);
	}
	for (size_t j = 0; j < HG_ARRAY_SIZE(nat); j++) {
		char name[64];

		snprintf(name, sizeof(name), "hexgate_%s_total", nat[j]);
		prom_head(p, name, "counter", j == 0 ? "Flows given a NAT "
		    "mapping." : j == 1 ? "NAT mappings moved to another port "
		    "to stay unique." : j == 2 ? "NAT refused: no free "
		    "tuple." : "NAT mappings that clashed with another flow.");
		prom_int(p, name, "", ct, nat[j]);
	}
}

/* The neighbour table: its size and what its bounds refused (the drops
 * are in hexgate_interface_drops_total, reasons neigh_*). */
static void
prom_neighbours(struct prom *p, struct hg_daemon *d)
{
	struct ip_neigh_table_stats ns;
	struct ip_worker_stats s;

	ip_neigh_table_stats(d->nt, &ns);
	dp_ip_stats(d->dp, &s);
	prom_head(p, "hexgate_neighbour_entries", "gauge",
	    "Neighbour (ARP and ND) entries, static ones included.");
	prom_printf(p, "hexgate_neighbour_entries %u\n", ns.entries);
	prom_head(p, "hexgate_neighbour_incomplete", "gauge",
	    "Neighbour entries being resolved.");
	prom_printf(p, "hexgate_neighbour_incomplete %u\n", ns.incomplete);
	prom_head(p, "hexgate_neighbour_recycled_total", "counter",
	    "Dynamic neighbour entries recycled for room or by the gc.");
	prom_printf(p, "hexgate_neighbour_recycled_total %llu\n",
	    (unsigned long long)ns.recycled);
	prom_head(p, "hexgate_neighbour_learn_refused_total", "counter",
	    "ARP requests and neighbour solicitations whose off-link sender "
	    "was not learned.");
	prom_printf(p, "hexgate_neighbour_learn_refused_total %llu\n",
	    (unsigned long long)s.neigh_learn_refused);
}

/* IKEv2: messages, IKE SAs and child SAs, failures by kind. */
static void
prom_ike(struct prom *p, struct hg_daemon *d)
{
	struct ike_stats s;
	const struct {
		const char *name, *help;
		uint64_t v;
	} *c, ctrs[] = {
		{ "hexgate_ike_messages_received_total",
		  "IKE messages received.", 0 },
		{ "hexgate_ike_messages_sent_total",
		  "IKE messages sent, retransmissions included.", 0 },
		{ "hexgate_ike_messages_invalid_total", "IKE messages dropped: "
		  "unparsable, no such SA, out of the window, not decrypting.",
		  0 },
		{ "hexgate_ike_retransmits_total",
		  "IKE requests sent again for want of an answer.", 0 },
		{ "hexgate_ike_sa_established_total",
		  "IKE SAs established.", 0 },
		{ "hexgate_ike_sa_failed_total", "IKE SAs that failed or "
		  "whose peer stopped answering.", 0 },
		{ "hexgate_ike_auth_failed_total",
		  "Authentications failed (AUTHENTICATION_FAILED).", 0 },
		{ "hexgate_ike_no_proposal_total",
		  "Negotiations with no acceptable proposal.", 0 },
		{ "hexgate_ike_half_open_refused_total", "IKE_SA_INIT "
		  "requests refused over the half-open bounds.", 0 },
		{ "hexgate_ike_cookies_sent_total", "IKE_SA_INIT requests "
		  "answered with a COOKIE (more than 30 half-open SAs).", 0 },
		{ "hexgate_ike_dpd_dead_total",
		  "Peers dead peer detection gave up on.", 0 },
		{ "hexgate_ike_child_installed_total",
		  "Child SAs put into the data plane.", 0 },
		{ "hexgate_ike_child_deleted_total",
		  "Child SAs taken out of the data plane.", 0 },
		{ "hexgate_ike_fragments_sent_total", "IKE fragments (RFC "
		  "7383) sent, retransmissions included.", 0 },
		{ "hexgate_ike_fragments_received_total",
		  "IKE fragments received that verified.", 0 },
		{ "hexgate_ike_fragments_reassembled_total",
		  "IKE messages put together from fragments.", 0 },
	};
	uint64_t v[HG_ARRAY_SIZE(ctrs)];

	if (!hg_ike_stats(d, &s))
		return;
	v[0] = s.rx; v[1] = s.tx; v[2] = s.rx_invalid; v[3] = s.retransmits;
	v[4] = s.established; v[5] = s.failed; v[6] = s.auth_failed;
	v[7] = s.no_proposal; v[8] = s.half_open_refused;
	v[9] = s.cookies_sent; v[10] = s.dpd_dead;
	v[11] = s.child_installed; v[12] = s.child_deleted;
	v[13] = s.frags_sent; v[14] = s.frags_received;
	v[15] = s.frags_reassembled;
	for (size_t i = 0; i < HG_ARRAY_SIZE(ctrs); i++) {
		c = &ctrs[i];
		prom_head(p, c->name, "counter", c->help);
		prom_printf(p, "%s %llu\n", c->name, (unsigned long long)v[i]);
	}
	prom_head(p, "hexgate_ike_half_open", "gauge",
	    "IKE SAs answered at IKE_SA_INIT, not yet authenticated.");
	prom_printf(p, "hexgate_ike_half_open %llu\n",
	    (unsigned long long)s.half_open);
}

/* The overlay: peers, handshakes, what its peers sent and got. */
static void
prom_overlay(struct prom *p, struct hg_daemon *d)
{
	struct hg_overlay_stats s;
	const struct {
		const char *name, *type, *help;
	} *c, ctrs[] = {
		{ "hexgate_overlay_peers", "gauge",
		  "Overlay peers configured (clients and sites)." },
		{ "hexgate_overlay_peers_up", "gauge",
		  "Overlay peers with a session (a keypair to send on)." },
		{ "hexgate_overlay_handshakes_total", "counter",
		  "Handshakes completed, either side initiating." },
		{ "hexgate_overlay_initiations_sent_total", "counter",
		  "Handshake initiations sent, retransmissions included." },
		{ "hexgate_overlay_responses_sent_total", "counter",
		  "Peers' initiations answered." },
		{ "hexgate_overlay_cookie_replies_sent_total", "counter",
		  "Initiations answered with a cookie (under load)." },
		{ "hexgate_overlay_keepalives_sent_total", "counter",
		  "Keepalives sent (the protocol's and persistent ones)." },
		{ "hexgate_overlay_rekeys_total", "counter",
		  "Handshakes the rekey timers started." },
		{ "hexgate_overlay_keypairs_expired_total", "counter",
		  "Keypairs dropped at REJECT_AFTER_TIME." },
		{ "hexgate_overlay_initiations_rate_limited_total", "counter",
		  "Initiations dropped: more than one a peer in 20 ms." },
		{ "hexgate_overlay_handshakes_refused_total", "counter",
		  "Handshake messages refused: bad MAC, unknown or disabled "
		  "peer, replayed, not decrypting." },
		{ "hexgate_overlay_rx_bytes_total", "counter",
		  "Inner bytes received from the overlay's peers." },
		{ "hexgate_overlay_tx_bytes_total", "counter",
		  "Inner bytes sent to the overlay's peers." },
	};
	uint64_t v[HG_ARRAY_SIZE(ctrs)];
	bool on;

	hg_ike_lock(d);
	on = hg_overlay_stats(d, &s);
	hg_ike_unlock(d);
	if (!on)
		return;
	v[0] = s.peers; v[1] = s.peers_up; v[2] = s.handshakes;
	v[3] = s.initiations; v[4] = s.responses; v[5] = s.cookie_replies_sent;
	v[6] = s.keepalives; v[7] = s.rekeys; v[8] = s.expired;
	v[9] = s.rate_limited; v[10] = s.refused; v[11] = s.rx_bytes;
	v[12] = s.tx_bytes;
	for (size_t i = 0; i < HG_ARRAY_SIZE(ctrs); i++) {
		c = &ctrs[i];
		prom_head(p, c->name, c->type, c->help);
		prom_printf(p, "%s %llu\n", c->name, (unsigned long long)v[i]);
	}
}

char *
hg_metrics_text(struct hg_daemon *d, size_t *len)
{
	struct prom p = { .cap = 16384 };
	json_t *fw;

	if ((p.buf = malloc(p.cap)) == NULL)
		return NULL;
	p.buf[0] = '\0';
	fw = hg_fw_show(d);
	prom_interfaces(&p, d->dp);
	prom_neighbours(&p, d);
	prom_firewall(&p, fw);
	prom_ike(&p, d);
	prom_overlay(&p, d);
	json_decref(fw);
	if (p.failed) {
		free(p.buf);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}
