/*
 * src/dp/mirror.c: the COPY macro (MACRO_CUST -j COPY --from IFACE --to
 * DEST [--bidirectional] [--snaplen N]): a copy of every frame received on
 * IFACE, and with --bidirectional of every frame hexgate sends on it, goes
 * to the collector ADDR inside VXLAN (RFC 7348), so any capture tool there
 * (tcpdump, tshark, Wireshark decode UDP 4789 as VXLAN) sees the frames as
 * they were on the wire; or, for a capture on hexgate's own host, as it
 * is to a TAP device (tap:NAME) or a pcap file (pcap:/PATH).  --snaplen
 * keeps the first N bytes of each frame.
 *
 * A copy is a fresh packet from the worker's pool, routed by ip_output()
 * like anything hexgate originates; the original is only read.  Copies
 * carry a cookie in pkt->user so that the TX flush counts them instead of
 * copying them again (a collector reached through the mirrored interface
 * would otherwise loop).  A collector that does not answer ARP/ND costs
 * at most DP_COPY_HELD_MAX queued copies per session and worker, never
 * the router's queue for real traffic; the rest are counted as dropped.
 *
 * The session table hangs off the published firewall (struct dp_fw), so
 * it is swapped with the rules and read without locks; interface names
 * were resolved to indexes by the compiler (fw_prog_copies()).
 *
 * Local destinations ("sinks") outlive a table: a new table shares the
 * TAPs and files the old one has open, so a reload neither truncates a
 * capture nor makes tcpdump lose its TAP.  A TAP takes one write() per
 * copy from the worker (the kernel takes it as one frame, never blocks).
 * A pcap file is src/io's capture writer with one queue per worker, which
 * a thread of its own drains: a worker never waits for the disk; a copy
 * that finds its queue full is counted as dropped.
 *
 * Not here: the VXLAN headers (src/tun/vxlan.c) and the pcap format
 * (src/io/pcap_writer.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "../lib/bytes.h"
#include "../lib/log.h"
#include "../tun/tun.h"
#include "dp_priv.h"

static uint16_t mirror_gen;	/* control thread only */

/* --- routing -------------------------------------------------------------- */

static bool
in_net(const uint8_t *a, const uint8_t *net, uint8_t plen)
{
	uint8_t full = plen / 8, rest = plen % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	return rest == 0 ||
	    ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/*
 * The egress interface's address toward the collector (the one whose
 * network holds the next hop, else its first) and its MTU, the way
 * hexgate picks the source of anything it originates.  -EHOSTUNREACH
 * when no route leads out of an interface with an address.
 */
static int
mirror_route(const struct ip_tables *t, const struct dp_copy_sess *s,
    struct tun_vxlan *v)
{
	bool v6 = s->family == FW_IPV6;
	const struct ip_nh *nh;
	const struct ip_if *ifp;
	const uint8_t *via;
	uint32_t idx;

	idx = v6 ? ip_fib6_lookup(t->fib6, s->to) :
	    ip_fib4_lookup(t->fib4, hg_ld32(s->to));
	if (idx == IP_FIB_MISS || idx >= t->n_nh)
		return -EHOSTUNREACH;
	nh = &t->nh[idx];
	if (nh->type != IP_NH_CONNECTED && nh->type != IP_NH_GATEWAY)
		return -EHOSTUNREACH;
	if (nh->if_idx >= t->n_if)
		return -EHOSTUNREACH;
	ifp = &t->ifs[nh->if_idx];
	via = nh->type == IP_NH_GATEWAY ? nh->gw : s->to;
	memset(v->src, 0, sizeof(v->src));
	if (v6) {
		const uint8_t *src = ifp->n_addr6 ? ifp->addr6[0].addr : NULL;

		for (uint8_t i = 0; i < ifp->n_addr6; i++)
			if (in_net(via, ifp->addr6[i].addr, ifp->addr6[i].plen)) {
				src = ifp->addr6[i].addr;
				break;
			}
		if (src == NULL)
			return -EHOSTUNREACH;
		memcpy(v->src, src, 16);
	} else {
		const struct ip_if_addr4 *src = ifp->n_addr4 ? &ifp->addr4[0] :
		    NULL;

		for (uint8_t i = 0; i < ifp->n_addr4; i++)
			if (in_net(via, (const uint8_t *)&ifp->addr4[i].addr_be,
			    ifp->addr4[i].plen)) {
				src = &ifp->addr4[i];
				break;
			}
		if (src == NULL)
			return -EHOSTUNREACH;
		memcpy(v->src, &src->addr_be, 4);
	}
	memcpy(v->dst, s->to, 16);
	v->family = v6 ? 6 : 4;
	v->mtu_bytes = ifp->mtu_bytes;
	return 0;
}

/* --- local destinations: tap:NAME, pcap:/PATH ------------------------------ */

struct dp_copy_sink {
	struct dp_copy_sink *next;	/* the open sinks, control thread */
	unsigned refs;			/* sessions of the tables that use it */
	uint8_t kind;			/* FW_COPY_TO_TAP, FW_COPY_TO_PCAP */
	uint16_t n_workers;
	char name[FW_COPY_LOCAL_MAX];
	struct io_port *tap;
	struct io_pcap_writer *pcap;	/* one queue per worker */
};

static struct dp_copy_sink *sinks;	/* control thread only */

/* Data plane: hands one copy of cap bytes to the TAP.  The kernel takes
 * a write() as one whole frame and queues it without blocking. */
static bool
tap_put(struct dp_copy_sink *k, uint16_t worker, const struct pkt *p,
    uint16_t cap, uint64_t now_ns)
{
	struct pkt view = *p;		/* the same bytes, only shorter */
	struct pkt *one = &view;

	view.len = cap;
	return io_port_tx(k->tap, worker, &one, 1, now_ns) == 1;
}

/* A capture point, nothing else: the host neither answers ARP nor
 * starts IPv6 on it.  Best effort; copies flow either way. */
static void
tap_quiet(const char *name)
{
	struct ifreq ifr;
	char path[64 + FW_COPY_LOCAL_MAX];
	FILE *f;
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s",
		    IFNAMSIZ - 1, name);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_NOARP;
			(void)ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		close(s);
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	    name);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("1\n", f);
		fclose(f);
	}
}

static void
sink_close(struct dp_copy_sink *k)
{
	if (k->tap != NULL)
		io_port_close(k->tap);
	/* Every table that used it is gone: no worker queues any more.  A
	 * failed write was logged by the writer when it happened. */
	if (k->pcap != NULL && io_pcap_writer_close(k->pcap) != 0)
		hg_log_warnx("copy: pcap %s: the capture is incomplete",
		    k->name);
	free(k);
}

/* Control thread: the open sink of that kind and name, or a new one;
 * NULL (logged) when it cannot be opened. */
static struct dp_copy_sink *
sink_get(const struct dp_copy_sess *s, uint16_t n_workers)
{
	const char *what = s->to_kind == FW_COPY_TO_TAP ? "tap" : "pcap";
	struct dp_copy_sink *k;
	char spec[FW_COPY_LOCAL_MAX + 8], err[256];
	int rc;

	for (k = sinks; k != NULL; k = k->next)
		if (k->kind == s->to_kind && k->n_workers == n_workers &&
		    strcmp(k->name, s->local) == 0) {
			k->refs++;
			return k;
		}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		hg_log_warnx("copy: %s:%s: out of memory", what, s->local);
		return NULL;
	}
	k->kind = s->to_kind;
	k->n_workers = n_workers;
	memcpy(k->name, s->local, sizeof(k->name));
	if (k->kind == FW_COPY_TO_TAP) {
		snprintf(spec, sizeof(spec), "tap:%s", k->name);
		rc = io_port_open(&k->tap, spec, n_workers, err, sizeof(err));
		if (rc == 0)
			tap_quiet(k->name);
	} else {
		rc = io_pcap_writer_open(&k->pcap, k->name, 0600, n_workers,
		    err, sizeof(err));
	}
	if (rc != 0) {
		hg_log_warnx("copy: COPY rule %u of the IPv%u rules: %s:%s: "
		    "%s; its copies are dropped", s->pos, s->family, what,
		    s->local, err);
		sink_close(k);
		return NULL;
	}
	hg_log_info("copy: %s:%s open", what, k->name);
	k->refs = 1;
	k->next = sinks;
	sinks = k;
	return k;
}

static void
sink_put(struct dp_copy_sink *k)
{
	struct dp_copy_sink **pp;

	if (k == NULL || --k->refs > 0)
		return;
	for (pp = &sinks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	sink_close(k);
}

/* --- the data plane ------------------------------------------------------- */

static struct dp_copy_ctr *
mirror_ctr(const struct dp_mirror *m, uint16_t worker, uint32_t k)
{
	return (struct dp_copy_ctr *)&m->ctr[(size_t)worker * DP_COPY_MAX + k];
}

/* Was c given back to the pool just now (the router dropped it)?  An
 * index is on the free stack only while free, so this is exact. */
static bool
just_freed(const struct pkt_pool *pool, const struct pkt *c)
{
	return pool->n_free > 0 &&
	    pool->free_idx[pool->n_free - 1] == c->pool_idx;
}

static bool
in_batch(const struct pkt_batch *b, uint16_t from, const struct pkt *c)
{
	for (uint16_t i = from; i < b->n; i++)
		if (b->pkts[i] == c)
			return true;
	return false;
}

/* The frame as it is, its first snaplen bytes, to a TAP or pcap file. */
static void
mirror_local(struct dp_worker *w, const struct dp_copy_sess *s,
    struct dp_copy_ctr *cc, const struct pkt *p, uint64_t now_ns)
{
	uint16_t cap = HG_MIN(p->len, PKT_DATA_ROOM);
	bool ok = false;

	if (s->snaplen != 0)
		cap = HG_MIN(cap, s->snaplen);
	if (s->sink == NULL)
		ok = false;		/* it did not open (logged) */
	else if (s->to_kind == FW_COPY_TO_TAP)
		ok = tap_put(s->sink, w->id, p, cap, now_ns);
	else
		ok = io_pcap_writer_queue(s->sink->pcap, w->id, p->data, cap,
		    p->len);
	ctr_add(ok ? &cc->sent : &cc->dropped, 1);
}

static void
mirror_one(struct dp_worker *w, const struct dp_mirror *m, uint32_t k,
    const struct pkt *p, bool rx, bool parsed, uint64_t now_ns)
{
	const struct dp_copy_sess *s = &m->s[k];
	struct dp_copy_ctr *cc = mirror_ctr(m, w->id, k);
	const struct ip_tables *t;
	struct tun_vxlan v;
	struct pkt *c;
	uint16_t n0;
	int cut;

	/* The rule's own matches (-p, -s, -i ...) pick what is copied; a
	 * frame the parser refused has none to test, so only a rule
	 * without matches copies it. */
	if (parsed) {
		struct fw_pkt fp = {
			.p = p,
			.in_if = rx ? s->from_if : FW_IF_NONE,
			.out_if = rx ? FW_IF_NONE : s->from_if,
			.ct = NULL,
		};

		if (!fw_prog_copy_match(s->prog, w->id, s->rule, &fp, now_ns))
			return;
	} else if (!s->match_all) {
		return;
	}
	if (s->to_kind != FW_COPY_TO_VXLAN) {
		mirror_local(w, s, cc, p, now_ns);
		return;
	}
	/* The router gives a neighbour up after IP_NEIGH_PROBES; what it
	 * still held of ours by then is gone. */
	if (cc->held != 0 && now_ns - cc->held_ns >= DP_COPY_GIVE_UP_NS) {
		ctr_add(&cc->dropped, cc->held);
		cc->held = 0;
	}
	if (cc->held >= DP_COPY_HELD_MAX) {
		ctr_add(&cc->dropped, 1);
		return;
	}
	t = rcu_dereference(w->dp->tables);
	if (mirror_route(t, s, &v) != 0) {
		ctr_add(&cc->dropped, 1);
		return;
	}
	v.vni = s->vni;
	v.sport = tun_vxlan_sport(p, parsed);
	v.snap_bytes = s->snaplen;
	v.ttl = IP_DEFAULT_TTL;
	c = pkt_alloc(w->pool);
	if (c == NULL) {
		ctr_add(&cc->dropped, 1);
		return;
	}
	cut = tun_vxlan_build(c, p, &v);
	if (cut < 0) {
		pkt_free(w->pool, c);
		ctr_add(&cc->dropped, 1);
		return;
	}
	if (cut > 0)
		ctr_add(&cc->truncated, 1);
	/* Router drops of the copy count on the mirrored interface. */
	c->in_if = s->from_if;
	c->user = DP_COPY_MAGIC << 48 | (uint64_t)m->gen << 32 | k;
	n0 = w->tx.n;
	ip_output(w->ipw, t, c, &w->tx, now_ns);
	if (just_freed(w->pool, c)) {
		ctr_add(&cc->dropped, 1);
	} else if (!in_batch(&w->tx, n0, c)) {
		/* Waiting for the collector's MAC: counted when it leaves
		 * (dp_mirror_sent) or when the router gives up. */
		c->user |= DP_COPY_HELD;
		if (cc->held++ == 0)
			cc->held_ns = now_ns;
	}
}

void
dp_mirror_frame(struct dp_worker *w, const struct dp_mirror *m,
    uint32_t sessions, const struct pkt *p, bool rx, bool parsed,
    uint64_t now_ns)
{
	while (sessions != 0) {
		uint32_t k = (uint32_t)__builtin_ctz(sessions);

		sessions &= sessions - 1;
		mirror_one(w, m, k, p, rx, parsed, now_ns);
	}
}

void
dp_mirror_sent(struct dp_worker *w, const struct dp_mirror *m,
    const struct pkt *c, uint64_t now_ns)
{
	uint32_t k = (uint32_t)(c->user & 0xff);
	struct dp_copy_ctr *cc;

	if ((uint16_t)(c->user >> 32) != m->gen || k >= m->n)
		return;		/* made under an older rule set */
	cc = mirror_ctr(m, w->id, k);
	ctr_add(&cc->sent, 1);
	if ((c->user & DP_COPY_HELD) && cc->held > 0) {
		cc->held--;
		cc->held_ns = now_ns;
	}
}

/* --- the session table (control thread) ----------------------------------- */

static uint32_t
add_sessions(struct dp_mirror *m, const struct fw_prog *prog)
{
	struct fw_copy cp[DP_COPY_MAX];
	uint32_t n, room = DP_COPY_MAX - m->n;

	if (prog == NULL)
		return 0;
	n = fw_prog_copies(prog, cp, room);
	for (uint32_t i = 0; i < n && i < room; i++) {
		struct dp_copy_sess *s = &m->s[m->n];
		uint32_t bit = 1u << m->n;

		s->prog = prog;
		s->rule = cp[i].rule;
		s->pos = cp[i].pos;
		s->vni = m->n + 1;
		s->from_if = cp[i].from_if;
		s->family = cp[i].family;
		s->bidirectional = cp[i].bidirectional;
		s->match_all = cp[i].match_all;
		s->to_kind = cp[i].to_kind;
		s->snaplen = cp[i].snaplen;
		memcpy(s->from, cp[i].from, sizeof(s->from));
		memcpy(s->to, cp[i].to, sizeof(s->to));
		memcpy(s->local, cp[i].local, sizeof(s->local));
		if (s->to_kind != FW_COPY_TO_VXLAN)
			s->sink = sink_get(s, m->n_workers);
		if (s->from_if < IP_IF_MAX) {
			m->rx[s->from_if] |= bit;
			if (s->bidirectional)
				m->tx[s->from_if] |= bit;
		}
		m->n++;
	}
	return n > room ? n - room : 0;
}

void
dp_mirror_attach(struct dp *dp, struct dp_fw *fw)
{
	uint16_t nw = dp->params.n_workers;
	struct fw_copy probe;
	struct dp_mirror *m;
	uint32_t over;
	size_t sz;

	if (fw == NULL)
		return;
	fw->mirror = NULL;
	if ((fw->prog4 == NULL || fw_prog_copies(fw->prog4, &probe, 0) == 0) &&
	    (fw->prog6 == NULL || fw_prog_copies(fw->prog6, &probe, 0) == 0))
		return;
	sz = sizeof(*m) + (size_t)nw * DP_COPY_MAX * sizeof(m->ctr[0]);
	sz = (sz + HG_CACHE_LINE - 1) & ~(size_t)(HG_CACHE_LINE - 1);
	m = aligned_alloc(HG_CACHE_LINE, sz);
	if (m == NULL) {
		hg_log_warnx("copy: out of memory; COPY rules not run");
		return;
	}
	memset(m, 0, sz);
	m->gen = ++mirror_gen;
	m->n_workers = nw;
	/* IPv4's rules first, then IPv6's: the VNI is the order. */
	over = add_sessions(m, fw->prog4);
	over += add_sessions(m, fw->prog6);
	/* fw_compile() refuses more than FW_COPY_RULES_MAX per family. */
	if (over > 0)
		hg_log_warnx("copy: %u COPY rule%s over the limit of %u not "
		    "run", over, over == 1 ? "" : "s", DP_COPY_MAX);
	for (uint32_t k = 0; k < m->n; k++)
		if (m->s[k].from_if == FW_IF_NONE)
			hg_log_warnx("copy: COPY rule %u of the IPv%u rules: no "
			    "interface \"%s\"; it copies nothing", m->s[k].pos,
			    m->s[k].family, m->s[k].from);
	fw->mirror = m;
}

static void
totals(const struct dp_mirror *m, uint32_t k, uint64_t *sent,
    uint64_t *dropped, uint64_t *truncated)
{
	*sent = m->base_sent[k];
	*dropped = m->base_dropped[k];
	*truncated = m->base_truncated[k];
	for (uint16_t w = 0; w < m->n_workers; w++) {
		const struct dp_copy_ctr *cc = mirror_ctr(m, w, k);

		*sent += ctr_get(&cc->sent);
		*dropped += ctr_get(&cc->dropped);
		*truncated += ctr_get(&cc->truncated);
	}
}

static bool
same_session(const struct dp_copy_sess *a, const struct dp_copy_sess *b)
{
	return a->family == b->family && a->bidirectional == b->bidirectional &&
	    a->to_kind == b->to_kind &&
	    strncmp(a->from, b->from, FW_IFNAME_MAX) == 0 &&
	    memcmp(a->to, b->to, 16) == 0 &&
	    strncmp(a->local, b->local, FW_COPY_LOCAL_MAX) == 0;
}

void
dp_mirror_carry(struct dp_fw *fw, const struct dp_fw *old)
{
	struct dp_mirror *m = fw != NULL ? fw->mirror : NULL;
	const struct dp_mirror *o = old != NULL ? old->mirror : NULL;
	bool taken[DP_COPY_MAX] = { false };

	if (m == NULL || o == NULL)
		return;
	for (uint32_t k = 0; k < m->n; k++)
		for (uint32_t j = 0; j < o->n; j++) {
			if (taken[j] || !same_session(&m->s[k], &o->s[j]))
				continue;
			taken[j] = true;
			totals(o, j, &m->base_sent[k], &m->base_dropped[k],
			    &m->base_truncated[k]);
			break;
		}
}

void
dp_mirror_free(struct dp_mirror *m)
{
	if (m == NULL)
		return;
	for (uint32_t k = 0; k < m->n; k++)
		sink_put(m->s[k].sink);
	free(m);
}

uint32_t
dp_copy_stats(const struct dp *dp, struct dp_copy_stats *out, uint32_t max)
{
	const struct dp_mirror *m = dp->fw != NULL ? dp->fw->mirror : NULL;

	if (m == NULL)
		return 0;
	for (uint32_t k = 0; k < m->n && k < max; k++) {
		const struct dp_copy_sess *s = &m->s[k];
		struct dp_copy_stats *st = &out[k];

		memset(st, 0, sizeof(*st));
		st->family = s->family;
		st->pos = s->pos;
		st->vni = s->vni;
		st->bidirectional = s->bidirectional;
		st->to_kind = s->to_kind;
		st->snaplen = s->snaplen;
		st->active = s->from_if != FW_IF_NONE &&
		    (s->to_kind == FW_COPY_TO_VXLAN || s->sink != NULL);
		memcpy(st->from, s->from, sizeof(st->from));
		memcpy(st->to, s->to, sizeof(st->to));
		memcpy(st->local, s->local, sizeof(st->local));
		totals(m, k, &st->sent, &st->dropped, &st->truncated);
	}
	return m->n;
}
