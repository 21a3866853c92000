/*
 * src/dp/mirror.c: the COPY macro (MACRO_CUST -j COPY --from IFACE --to
 * ADDR [--bidirectional]): a copy of every frame received on IFACE, and
 * with --bidirectional of every frame hexgate sends on it, goes to the
 * collector ADDR inside VXLAN (RFC 7348), so any capture tool there
 * (tcpdump, tshark, Wireshark decode UDP 4789 as VXLAN) sees the frames as
 * they were on the wire.
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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "../lib/log.h"
#include "dp_priv.h"

#define MIRROR_UDP_LEN	((uint16_t)sizeof(struct udp_hdr))

static uint16_t mirror_gen;	/* control thread only */

/* --- the copy ------------------------------------------------------------- */

static inline uint32_t
mix32(uint32_t h, uint32_t v)
{
	h ^= v;
	h *= 0x01000193u;		/* FNV-1a's prime, over words */
	return h;
}

static uint32_t
mix_bytes(uint32_t h, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = mix32(h, b[i]);
	return h;
}

/*
 * The inner flow: addresses, protocol and ports of an IP packet, else the
 * MAC addresses and EtherType.  Any function of the flow does (§5 asks
 * for entropy for ECMP, not a given hash); this one is cheap.
 */
uint16_t
dp_vxlan_sport(const struct pkt *p, bool parsed)
{
	uint32_t h = 0x811c9dc5u;

	if (parsed && p->l3 == PKT_L3_IP4 &&
	    p->l3_off + IP4_HDR_LEN <= p->len) {
		const struct ip4_hdr *ip = pkt_l3(p);

		h = mix_bytes(h, (const uint8_t *)&ip->src_be, 8);
		h = mix32(h, ip->proto);
	} else if (parsed && p->l3 == PKT_L3_IP6 &&
	    p->l3_off + IP6_HDR_LEN <= p->len) {
		const struct ip6_hdr *ip = pkt_l3(p);

		h = mix_bytes(h, ip->src, 32);
		h = mix32(h, p->l4_proto);
	} else if (p->len >= ETH_HDR_LEN) {
		h = mix_bytes(h, p->data, ETH_HDR_LEN);
	}
	if (parsed && p->l4_off != 0 && p->l4_off + 4 <= p->len &&
	    (p->l4_proto == IPPROTO_TCP_ || p->l4_proto == IPPROTO_UDP_))
		h = mix_bytes(h, pkt_l4(p), 4);
	h ^= h >> 16;
	return (uint16_t)(49152 + h % 16384);
}

int
dp_vxlan_build(struct pkt *c, const struct pkt *p, const struct dp_vxlan *v)
{
	bool v6 = v->family == FW_IPV6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t encap = (uint16_t)(ip_len + MIRROR_UDP_LEN + DP_VXLAN_HDR_LEN);
	uint16_t over = (uint16_t)(ETH_HDR_LEN + encap);
	uint16_t inner, max_inner, l3_len;
	struct eth_hdr *eth;
	struct udp_hdr *udp;
	uint8_t *vx;

	if (v->mtu_bytes <= encap || c->len != 0)
		return -EMSGSIZE;
	max_inner = (uint16_t)HG_MIN(v->mtu_bytes - encap,
	    (int)pkt_tailroom(c) - over);
	if (max_inner < ETH_HDR_LEN || p->len < ETH_HDR_LEN)
		return -EMSGSIZE;
	inner = HG_MIN(p->len, max_inner);
	l3_len = (uint16_t)(encap + inner);
	if (pkt_append(c, (uint16_t)(over + inner)) == NULL)
		return -EMSGSIZE;
	memcpy(c->data + over, p->data, inner);

	eth = pkt_eth(c);
	memset(eth, 0, sizeof(*eth));
	eth->type_be = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	udp = (struct udp_hdr *)(void *)(c->data + ETH_HDR_LEN + ip_len);
	udp->sport_be = htons(v->sport);
	udp->dport_be = htons(DP_VXLAN_PORT);
	udp->len_be = htons((uint16_t)(l3_len - ip_len));
	udp->csum_be = 0;
	/* VXLAN: flags with I set, 24 reserved bits, VNI, 8 reserved. */
	vx = (uint8_t *)(udp + 1);
	memset(vx, 0, DP_VXLAN_HDR_LEN);
	vx[0] = 0x08;
	vx[4] = (uint8_t)(v->vni >> 16);
	vx[5] = (uint8_t)(v->vni >> 8);
	vx[6] = (uint8_t)v->vni;

	if (v6) {
		struct ip6_hdr *ip = (struct ip6_hdr *)(void *)(eth + 1);

		/* The flow label from the same hash (RFC 6438). */
		ip->vtc_flow_be = htonl(0x60000000u | (v->sport & 0xfffffu));
		ip->plen_be = htons((uint16_t)(l3_len - IP6_HDR_LEN));
		ip->nxt = IPPROTO_UDP_;
		ip->hlim = IP_DEFAULT_TTL;
		memcpy(ip->src, v->src, 16);
		memcpy(ip->dst, v->dst, 16);
		/* RFC 8200 §8.1: IPv6 UDP needs its checksum; 0 goes as
		 * all ones. */
		udp->csum_be = pkt_l4_csum6(ip, udp, (uint32_t)(l3_len -
		    IP6_HDR_LEN), IPPROTO_UDP_);
		if (udp->csum_be == 0)
			udp->csum_be = 0xffff;
		c->l3 = PKT_L3_IP6;
	} else {
		struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(eth + 1);

		/* DF: RFC 7348 §4.3, a VTEP does not fragment; the frame
		 * was cut to fit instead.  UDP checksum 0 (§5). */
		ip->ver_ihl = 0x45;
		ip->tos = 0;
		ip->tot_len_be = htons(l3_len);
		ip->id_be = 0;
		ip->frag_be = htons(IP4_DF);
		ip->ttl = IP_DEFAULT_TTL;
		ip->proto = IPPROTO_UDP_;
		memcpy(&ip->src_be, v->src, 4);
		memcpy(&ip->dst_be, v->dst, 4);
		pkt_ip4_set_csum(ip);
		c->l3 = PKT_L3_IP4;
	}
	c->l3_off = ETH_HDR_LEN;
	c->l3_len = l3_len;
	c->l4_off = (uint16_t)(ETH_HDR_LEN + ip_len);
	c->l4_proto = IPPROTO_UDP_;
	c->flags = 0;
	return p->len - inner;
}

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
    struct dp_vxlan *v)
{
	bool v6 = s->family == FW_IPV6;
	const struct ip_nh *nh;
	const struct ip_if *ifp;
	const uint8_t *via;
	uint32_t idx;
	uint32_t dst_be;

	memcpy(&dst_be, s->to, 4);
	idx = v6 ? ip_fib6_lookup(t->fib6, s->to) :
	    ip_fib4_lookup(t->fib4, dst_be);
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
	v->family = s->family;
	v->mtu_bytes = ifp->mtu_bytes;
	return 0;
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

static void
mirror_one(struct dp_worker *w, const struct dp_mirror *m, uint32_t k,
    const struct pkt *p, bool rx, bool parsed, uint64_t now_ns)
{
	const struct dp_copy_sess *s = &m->s[k];
	struct dp_copy_ctr *cc = mirror_ctr(m, w->id, k);
	const struct ip_tables *t;
	struct dp_vxlan v;
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
	v.sport = dp_vxlan_sport(p, parsed);
	c = pkt_alloc(w->pool);
	if (c == NULL) {
		ctr_add(&cc->dropped, 1);
		return;
	}
	cut = dp_vxlan_build(c, p, &v);
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
		memcpy(s->from, cp[i].from, sizeof(s->from));
		memcpy(s->to, cp[i].to, sizeof(s->to));
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
	    strncmp(a->from, b->from, FW_IFNAME_MAX) == 0 &&
	    memcmp(a->to, b->to, 16) == 0;
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
		st->active = s->from_if != FW_IF_NONE;
		memcpy(st->from, s->from, sizeof(st->from));
		memcpy(st->to, s->to, sizeof(st->to));
		totals(m, k, &st->sent, &st->dropped, &st->truncated);
	}
	return m->n;
}
