/*
 * src/fw/eval.c: the evaluator: runs a compiled program (compile.c) for
 * one packet at one filter hook the way iptables walks a chain:
 * <HOOK>_CUST first, then the built-in chain's own rules, then the
 * appliance's defaults (fw.h). Jumps use a fixed stack on the C stack,
 * deep enough for what the compiler accepted; nothing here allocates,
 * locks or recurses. The only state it writes is the worker's own counter
 * slice and the shared -m limit buckets (compare-and-swap).
 *
 * fw_eval() steps from rule to rule as the classifier (classify.c) names
 * the candidates; fw_eval_linear() runs every rule, and is the reference
 * the classifier is checked against, so rule_match() stays plain:
 * iptables' semantics, one match at a time, cheap tests (protocol,
 * fragment, interface masks) before the address compares and the modules.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/bytes.h"
#include "../lib/hg_time.h"
#include "../lib/log.h"
#include "../pkt/pkt.h"
#include "classify.h"
#include "fw_priv.h"
#include "set.h"

#define STACK_MAX		(FW_JUMP_DEPTH_MAX + 1)	/* + the _CUST call */
#define LOG_LINES_PER_S		100			/* per worker */

#define IPPROTO_DCCP_		33
#define IPPROTO_SCTP_		132
#define IPPROTO_UDPLITE_	136

/* What the rules ask of a packet, read once per evaluation. */
struct ectx {
	const struct pkt *p;
	const struct fw_pkt *fp;
	bool family_ok;		/* the packet is of the program's family */
	uint8_t alen;		/* 4 or 16 */
	uint8_t src[16], dst[16];
	uint8_t l4_proto;
	bool frag_later;	/* a fragment after the first */
	bool has_ports;		/* TCP, UDP, SCTP, DCCP, UDP-Lite header */
	bool has_tcp, has_icmp;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint16_t sport, dport;
	uint8_t ct_bits;	/* FW_CT_*: one state, maybe SNAT/DNAT */
	const struct fw_ct_info *ct;	/* NULL: no entry (INVALID, UNTRACKED) */
	uint16_t len;		/* L3 length, what the counters add */
	uint8_t ttl;		/* IPv4 TTL or IPv6 hop limit */
	uint8_t pkttype;	/* enum fw_pkttype */
	struct fwc_key key;	/* what the classifier looks up */
};

static bool
has_port_header(uint8_t proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ ||
	    proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_ ||
	    proto == IPPROTO_UDPLITE_;
}

static void
load_l4(struct ectx *x, const struct pkt *p, uint8_t icmp_proto)
{
	const uint8_t *l4;
	int room;

	/* Non-first fragments carry no transport header (l4_off 0). */
	if (p->l4_off == 0)
		return;
	l4 = pkt_l4(p);
	room = (int)p->l3_off + p->l3_len - p->l4_off;
	if (has_port_header(x->l4_proto) && room >= 4) {
		x->has_ports = true;
		x->sport = hg_rd16be(l4);
		x->dport = hg_rd16be(l4 + 2);
	}
	if (x->l4_proto == IPPROTO_TCP_ && room >= (int)sizeof(struct tcp_hdr)) {
		x->has_tcp = true;
		x->tcp_flags = l4[13];
	}
	if (x->l4_proto == icmp_proto && room >= 2) {
		x->has_icmp = true;
		x->icmp_type = l4[0];
		x->icmp_code = l4[1];
	}
}

/* The conntrack facts: an entry's state, with SNAT/DNAT where the reply
 * tuple shows a translation (what IPS_SRC_NAT / IPS_DST_NAT record): of
 * the address, or of the port for protocols with ports. */
static void
load_ct(struct ectx *x, const struct fw_ct_info *ct)
{
	uint8_t st = ct == NULL ? 0 : ct->state &
	    (FW_CT_INVALID | FW_CT_NEW | FW_CT_RELATED | FW_CT_ESTABLISHED |
	    FW_CT_UNTRACKED);
	bool ports;

	if (st == 0)
		st = FW_CT_INVALID;
	x->ct_bits = st;
	if (st & (FW_CT_INVALID | FW_CT_UNTRACKED))
		return;
	x->ct = ct;
	ports = has_port_header(ct->proto);
	if (memcmp(ct->orig_src, ct->repl_dst, x->alen) != 0 ||
	    (ports && ct->orig_sport != ct->repl_dport))
		x->ct_bits |= FW_CT_SNAT;
	if (memcmp(ct->orig_dst, ct->repl_src, x->alen) != 0 ||
	    (ports && ct->orig_dport != ct->repl_sport))
		x->ct_bits |= FW_CT_DNAT;
}

static void
load(struct ectx *x, const struct fw_prog *prog, const struct fw_pkt *fp)
{
	const struct pkt *p = fp->p;

	memset(x, 0, sizeof(*x));
	x->p = p;
	x->fp = fp;
	x->alen = prog->family == FW_IPV6 ? 16 : 4;
	x->family_ok = p != NULL && p->l3 == prog->l3;
	load_ct(x, fp->ct);
	if (!x->family_ok)
		return;
	x->len = p->l3_len;
	x->l4_proto = p->l4_proto;
	x->pkttype = p->flags & PKT_F_L2_BCAST ? FW_PKTTYPE_BROADCAST :
	    p->flags & PKT_F_L2_MCAST ? FW_PKTTYPE_MULTICAST :
	    FW_PKTTYPE_UNICAST;
	x->frag_later = (p->flags & (PKT_F_FRAG | PKT_F_FRAG_FIRST)) ==
	    PKT_F_FRAG;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		memcpy(x->src, &ip->src_be, 4);
		memcpy(x->dst, &ip->dst_be, 4);
		x->ttl = ip->ttl;
		load_l4(x, p, IPPROTO_ICMP_);
	} else {
		const struct ip6_hdr *ip = pkt_l3(p);

		memcpy(x->src, ip->src, 16);
		memcpy(x->dst, ip->dst, 16);
		x->ttl = ip->hlim;
		load_l4(x, p, IPPROTO_ICMPV6_);
	}
	fwc_key_load(&x->key, prog->family, x->src, x->dst, x->l4_proto,
	    (x->l4_proto == IPPROTO_TCP_ && x->has_tcp ? FWC_L4_TCP : 0) |
	    (x->l4_proto == IPPROTO_UDP_ && x->has_ports ? FWC_L4_UDP : 0),
	    x->sport, x->dport);
	x->key.ct = x->ct_bits;
	x->key.in = fp->in_if < prog->n_if && fp->in_if < 32 ?
	    1u << fp->in_if : 0;
	x->key.out = fp->out_if < prog->n_if && fp->out_if < 32 ?
	    1u << fp->out_if : 0;
}

/* --- standard matches ---------------------------------------------------- */

static inline bool
addr_in(const uint8_t a[16], const struct fw_addr *n)
{
	uint64_t a0, a1, m0, m1, n0, n1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&m0, n->mask, 8);
	memcpy(&m1, n->mask + 8, 8);
	memcpy(&n0, n->addr, 8);
	memcpy(&n1, n->addr + 8, 8);
	return (a0 & m0) == n0 && (a1 & m1) == n1;
}

static inline bool
addr_in_list(const uint8_t a[16], const struct fw_addr *list, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++)
		if (addr_in(a, &list[i]))
			return true;
	return false;
}

static bool
addr_in_set(const struct fw_prog *prog, const struct ectx *x, uint32_t id,
    const uint8_t a[16])
{
	struct fw_set_key k;

	memset(&k, 0, sizeof(k));
	k.family = prog->family;
	k.proto = x->l4_proto;
	memcpy(k.addr, a, 16);
	return fw_sets_test(prog->sets, id, &k);
}

/* -i / -o. Indexes past the mask, and "no interface", go by name. */
static bool
iface_match(const struct fw_prog *prog, uint64_t mask, const char *pat,
    bool wild, uint16_t idx)
{
	if (idx < prog->n_if && idx < 64)
		return (mask >> idx) & 1;
	if (idx >= prog->n_if)
		return fw_iface_match(pat, wild, "");
	return fw_iface_match(pat, wild, prog->if_names[idx]);
}

/* --- modules ------------------------------------------------------------- */

static inline bool
port_in(const struct fw_port_range *r, uint16_t port)
{
	return port >= r->lo && port <= r->hi;
}

static bool
ports_match(const struct fw_match_ports *m, const struct ectx *x)
{
	if (m->has_sport && port_in(&m->sport, x->sport) == m->sport_neg)
		return false;
	if (m->has_dport && port_in(&m->dport, x->dport) == m->dport_neg)
		return false;
	if (m->has_flags &&
	    ((x->tcp_flags & m->flags_mask) == m->flags_cmp) == m->flags_neg)
		return false;
	return true;
}

static bool
icmp_match(const struct fw_match_icmp *m, const struct ectx *x, bool v4)
{
	bool hit;

	/* Type 255 is iptables' "any" (IPv4 only). */
	hit = (v4 && m->type == 255) || (x->icmp_type == m->type &&
	    x->icmp_code >= m->code_lo && x->icmp_code <= m->code_hi);
	return hit != m->neg;
}

static bool
multiport_match(const struct fw_match_multiport *m, const struct ectx *x)
{
	for (uint8_t i = 0; i < m->n && i < FW_PORTS_MAX; i++) {
		const struct fw_port_range *r = &m->p[i];
		bool hit;

		switch (m->dir) {
		case FW_MP_SRC:
			hit = port_in(r, x->sport);
			break;
		case FW_MP_DST:
			hit = port_in(r, x->dport);
			break;
		default:
			hit = port_in(r, x->sport) || port_in(r, x->dport);
			break;
		}
		if (hit)
			return !m->neg;
	}
	return m->neg;
}

#define CT_HAS(m, o)	(((m)->present >> (o)) & 1)
#define CT_NEG(m, o)	((bool)(((m)->neg >> (o)) & 1))

/* xt_conntrack: every option given must hold (each maybe negated); an
 * INVALID or UNTRACKED packet has no entry and matches on --ctstate
 * alone. */
static bool
conntrack_match(const struct fw_match_conntrack *m, const struct ectx *x)
{
	const struct fw_ct_info *ct = x->ct;
	const uint8_t *addrs[4];
	uint16_t ports[4];

	if (CT_HAS(m, FW_CTO_STATE) &&
	    ((m->state & x->ct_bits) != 0) == CT_NEG(m, FW_CTO_STATE))
		return false;
	if (ct == NULL)
		return CT_HAS(m, FW_CTO_STATE);
	if (CT_HAS(m, FW_CTO_PROTO) &&
	    (ct->proto == m->proto) == CT_NEG(m, FW_CTO_PROTO))
		return false;
	addrs[0] = ct->orig_src;
	addrs[1] = ct->orig_dst;
	addrs[2] = ct->repl_src;
	addrs[3] = ct->repl_dst;
	ports[0] = ct->orig_sport;
	ports[1] = ct->orig_dport;
	ports[2] = ct->repl_sport;
	ports[3] = ct->repl_dport;
	for (int i = 0; i < 4; i++) {
		int ao = FW_CTO_ORIGSRC + i, po = FW_CTO_ORIGSRCPORT + i;

		if (CT_HAS(m, ao) && addr_in(addrs[i], &m->addr[i]) ==
		    CT_NEG(m, ao))
			return false;
		if (CT_HAS(m, po) && port_in(&m->port[i], ports[i]) ==
		    CT_NEG(m, po))
			return false;
	}
	if (CT_HAS(m, FW_CTO_DIR) && ct->reply != m->dir_reply)
		return false;
	if (CT_HAS(m, FW_CTO_STATUS) &&
	    ((ct->status & m->status) != 0) == CT_NEG(m, FW_CTO_STATUS))
		return false;
	if (CT_HAS(m, FW_CTO_EXPIRE) && (ct->expire_s >= m->expire_lo_s &&
	    ct->expire_s <= m->expire_hi_s) == CT_NEG(m, FW_CTO_EXPIRE))
		return false;
	return true;
}

static bool
iprange_match(const struct fw_match_iprange *m, const struct ectx *x)
{
	size_t n = x->alen;

	if (m->has_src && (memcmp(x->src, m->src_lo, n) >= 0 &&
	    memcmp(x->src, m->src_hi, n) <= 0) == m->src_neg)
		return false;
	if (m->has_dst && (memcmp(x->dst, m->dst_lo, n) >= 0 &&
	    memcmp(x->dst, m->dst_hi, n) <= 0) == m->dst_neg)
		return false;
	return true;
}

/*
 * -m limit as a GCRA: the bucket is one "theoretical arrival time". A
 * packet conforms when taking its cost leaves the time no further ahead
 * of now than the burst allows. Workers share it; a lost race retries.
 */
static bool
limit_take(struct fw_climit *l, uint64_t now_ns)
{
	uint64_t tat = __atomic_load_n(&l->tat_ns, __ATOMIC_RELAXED), next;

	do {
		next = (tat > now_ns ? tat : now_ns) + l->cost_ns;
		if (next - now_ns > l->cap_ns)
			return false;
	} while (!__atomic_compare_exchange_n(&l->tat_ns, &tat, next, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

/* --match-set NAME dirs: the first direction picks the address, the
 * second (or the first, for one-dimensional port sets) the port. */
static bool
set_match(const struct fw_prog *prog, const struct fw_cext *e,
    const struct ectx *x)
{
	const struct fw_match_set *m = &e->set;
	struct fw_set_key k;
	bool port_dst;

	if (e->set_id == FW_SET_NONE || m->n_dims == 0)
		return false;
	memset(&k, 0, sizeof(k));
	k.family = prog->family;
	k.proto = x->l4_proto;
	memcpy(k.addr, m->dst[0] ? x->dst : x->src, 16);
	port_dst = m->n_dims >= 2 ? m->dst[1] : m->dst[0];
	k.has_port = x->has_ports && x->l4_proto != IPPROTO_DCCP_;
	k.port = port_dst ? x->dport : x->sport;
	return fw_sets_test(prog->sets, e->set_id, &k) != m->neg;
}

static bool
ttl_match(const struct fw_match_ttl *m, uint8_t ttl)
{
	switch (m->op) {
	case FW_TTL_EQ:
		return ttl == m->value;
	case FW_TTL_NE:
		return ttl != m->value;
	case FW_TTL_LT:
		return ttl < m->value;
	case FW_TTL_GT:
		return ttl > m->value;
	}
	return false;
}

/*
 * -m tcpmss: the first MSS option of the segment's header, read only
 * when a rule asks. As xt_tcpmss: a segment without one (or a later
 * fragment, which has no header) matches only the negated form.
 */
static bool
tcpmss_match(const struct fw_match_length *m, const struct ectx *x)
{
	const struct pkt *p = x->p;
	const uint8_t *th;
	int end, i;

	if (!x->has_tcp)
		return m->neg;
	th = pkt_l4(p);
	end = HG_MIN((int)(th[12] >> 4) * 4,
	    (int)p->l3_off + p->l3_len - p->l4_off);
	for (i = (int)sizeof(struct tcp_hdr); i < end;) {
		if (th[i] == 0)			/* end of options */
			break;
		if (th[i] == 1) {		/* no-op */
			i++;
			continue;
		}
		if (i + 1 >= end || th[i + 1] < 2)
			break;
		if (th[i] == 2 && th[i + 1] == 4 && i + 4 <= end) {
			uint16_t mss = hg_rd16be(th + i + 2);

			return (mss >= m->lo && mss <= m->hi) != m->neg;
		}
		i += th[i + 1];
	}
	return m->neg;
}

static bool
module_match(const struct fw_prog *prog, const struct fw_cext *e,
    enum fw_match_kind k, const struct ectx *x, uint64_t now_ns)
{
	switch (k) {
	case FW_M_TCP:
		/* iptables: no port or flag test holds on a later fragment,
		 * negated or not. */
		return x->l4_proto == IPPROTO_TCP_ && x->has_tcp &&
		    ports_match(&e->ports, x);
	case FW_M_UDP:
		return x->l4_proto == IPPROTO_UDP_ && x->has_ports &&
		    ports_match(&e->ports, x);
	case FW_M_ICMP:
		return x->l4_proto == IPPROTO_ICMP_ && x->has_icmp &&
		    icmp_match(&e->icmp, x, true);
	case FW_M_ICMP6:
		return x->l4_proto == IPPROTO_ICMPV6_ && x->has_icmp &&
		    icmp_match(&e->icmp, x, false);
	case FW_M_MULTIPORT:
		return x->has_ports && multiport_match(&e->multiport, x);
	case FW_M_CONNTRACK:
		return conntrack_match(&e->ct, x);
	case FW_M_STATE:
		return ((e->state.state & x->ct_bits) != 0) != e->state.neg;
	case FW_M_IPRANGE:
		return iprange_match(&e->iprange, x);
	case FW_M_LIMIT:
		return limit_take(&prog->limits[e->limit], now_ns);
	case FW_M_MAC:
		return (memcmp(pkt_eth(x->p)->src, e->mac.src, ETH_ALEN) == 0) !=
		    e->mac.neg;
	case FW_M_SET:
		return set_match(prog, e, x);
	case FW_M_LENGTH:
		/* l3_len is IPv4's total length, or IPv6's 40 + payload
		 * length: what xt_length compares. */
		return (x->len >= e->length.lo && x->len <= e->length.hi) !=
		    e->length.neg;
	case FW_M_TTL:
	case FW_M_HL:
		return ttl_match(&e->ttl, x->ttl);
	case FW_M_PKTTYPE:
		return (x->pkttype == e->pkttype.type) != e->pkttype.neg;
	case FW_M_TCPMSS:
		return x->l4_proto == IPPROTO_TCP_ && tcpmss_match(&e->tcpmss, x);
	case FW_M_COMMENT:
	case FW_M_COUNT:
		break;
	}
	return true;
}

/* --- one rule ------------------------------------------------------------ */

static inline bool
check(const struct fw_crule *r, uint16_t ck, bool hit)
{
	return hit != ((r->neg & ck) != 0);
}

static bool
rule_match(const struct fw_prog *prog, const struct fw_crule *r,
    const struct ectx *x, uint64_t now_ns)
{
	const struct fw_cext *e = r->ext != FW_RULE_NONE ?
	    &prog->ext[r->ext] : NULL;
	uint16_t ck = r->chk;

	if (hg_unlikely(ck & FW_CK_NEVER))
		return false;
	if ((ck & FW_CK_PROTO) &&
	    !check(r, FW_CK_PROTO, x->l4_proto == r->proto))
		return false;
	if ((ck & FW_CK_FRAG) && !check(r, FW_CK_FRAG, x->frag_later))
		return false;
	if ((ck & FW_CK_IN) && !check(r, FW_CK_IN, iface_match(prog,
	    r->in_mask, e->in, e->in_wild, x->fp->in_if)))
		return false;
	if ((ck & FW_CK_OUT) && !check(r, FW_CK_OUT, iface_match(prog,
	    r->out_mask, e->out, e->out_wild, x->fp->out_if)))
		return false;
	if ((ck & FW_CK_SRC) && !check(r, FW_CK_SRC,
	    addr_in_list(x->src, &prog->addrs[r->src], r->src_n)))
		return false;
	if ((ck & FW_CK_DST) && !check(r, FW_CK_DST,
	    addr_in_list(x->dst, &prog->addrs[r->dst], r->dst_n)))
		return false;
	if ((ck & FW_CK_SRC_SET) && !check(r, FW_CK_SRC_SET,
	    addr_in_set(prog, x, r->src, x->src)))
		return false;
	if ((ck & FW_CK_DST_SET) && !check(r, FW_CK_DST_SET,
	    addr_in_set(prog, x, r->dst, x->dst)))
		return false;
	if (ck & FW_CK_EXT)
		for (uint8_t i = 0; i < e->n_mods; i++)
			if (!module_match(prog, e, e->mods[i], x, now_ns))
				return false;
	return true;
}

/* --- LOG ----------------------------------------------------------------- */

struct lbuf {
	char *s;
	size_t cap, len;
};

static void HG_PRINTF(2, 3)
lb_printf(struct lbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = HG_MIN(b->len + (size_t)n, b->cap);
}

/* Syslog levels (LOG --log-level 0..7) onto ours. */
static enum hg_log_level
log_level(uint8_t syslog_level)
{
	if (syslog_level <= 3)
		return HG_LOG_ERR;
	if (syslog_level == 4)
		return HG_LOG_WARN;
	if (syslog_level <= 6)
		return HG_LOG_INFO;
	return HG_LOG_DEBUG;
}

static const char *
if_name(const struct fw_prog *prog, uint16_t idx)
{
	return idx < prog->n_if ? prog->if_names[idx] : "";
}

static void
log_ip4(struct lbuf *b, const struct ectx *x)
{
	const struct ip4_hdr *ip = pkt_l3(x->p);
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	uint16_t frag = ntohs(ip->frag_be);

	inet_ntop(AF_INET, x->src, s, sizeof(s));
	inet_ntop(AF_INET, x->dst, d, sizeof(d));
	lb_printf(b, "SRC=%s DST=%s LEN=%u TOS=0x%02X PREC=0x%02X TTL=%u "
	    "ID=%u ", s, d, ntohs(ip->tot_len_be), ip->tos & 0x1e,
	    ip->tos & 0xe0, ip->ttl, ntohs(ip->id_be));
	if (frag & 0x8000)
		lb_printf(b, "CE ");
	if (frag & IP4_DF)
		lb_printf(b, "DF ");
	if (frag & IP4_MF)
		lb_printf(b, "MF ");
	if (frag & IP4_OFFMASK)
		lb_printf(b, "FRAG:%u ", frag & IP4_OFFMASK);
}

static void
log_ip6(struct lbuf *b, const struct ectx *x)
{
	const struct ip6_hdr *ip = pkt_l3(x->p);
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	uint32_t vtf = ntohl(ip->vtc_flow_be);

	inet_ntop(AF_INET6, x->src, s, sizeof(s));
	inet_ntop(AF_INET6, x->dst, d, sizeof(d));
	lb_printf(b, "SRC=%s DST=%s LEN=%u TC=%u HOPLIMIT=%u FLOWLBL=%u ",
	    s, d, x->p->l3_len, (vtf >> 20) & 0xff, ip->hlim, vtf & 0xfffff);
}

static void
log_l4(struct lbuf *b, const struct ectx *x, uint8_t flags)
{
	const uint8_t *l4 = x->p->l4_off ? pkt_l4(x->p) : NULL;

	switch (x->l4_proto) {
	case IPPROTO_TCP_: {
		const struct tcp_hdr *th = (const void *)l4;
		static const char *const names[] = {
			"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR",
		};

		lb_printf(b, "PROTO=TCP");
		if (!x->has_tcp)
			return;
		lb_printf(b, " SPT=%u DPT=%u", x->sport, x->dport);
		if (flags & FW_LOG_TCP_SEQUENCE)
			lb_printf(b, " SEQ=%u ACK=%u", ntohl(th->seq_be),
			    ntohl(th->ack_be));
		lb_printf(b, " WINDOW=%u RES=0x%02x", ntohs(th->win_be),
		    th->doff_res & 0x0f);
		for (int i = 7; i >= 0; i--)
			if (x->tcp_flags & (1u << i))
				lb_printf(b, " %s", names[i]);
		lb_printf(b, " URGP=%u", ntohs(th->urg_be));
		return;
	}
	case IPPROTO_UDP_:
		lb_printf(b, "PROTO=UDP");
		if (x->has_ports)
			lb_printf(b, " SPT=%u DPT=%u LEN=%u", x->sport, x->dport,
			    hg_rd16be(l4 + 4));
		return;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		lb_printf(b, "PROTO=%s", x->l4_proto == IPPROTO_ICMP_ ?
		    "ICMP" : "ICMPv6");
		if (x->has_icmp)
			lb_printf(b, " TYPE=%u CODE=%u", x->icmp_type,
			    x->icmp_code);
		return;
	default:
		lb_printf(b, "PROTO=%u", x->l4_proto);
		if (x->has_ports)
			lb_printf(b, " SPT=%u DPT=%u", x->sport, x->dport);
		return;
	}
}

/* A line like the kernel's nf_log, at most LOG_LINES_PER_S a second per
 * worker; the rest are counted. */
static void
log_packet(const struct fw_prog *prog, struct fw_cslice *s,
    const struct fw_cext *e, const struct ectx *x, uint64_t now_ns)
{
	enum hg_log_level lvl = log_level(e->log_level);
	char line[512];
	struct lbuf b = { .s = line, .cap = sizeof(line) };
	const uint8_t *mac = x->p->data;

	if (!hg_log_enabled(lvl))
		return;
	if (now_ns - s->log_window_ns >= HG_NS_PER_S ||
	    now_ns < s->log_window_ns) {
		s->log_window_ns = now_ns;
		s->log_lines = 0;
	}
	if (s->log_lines >= LOG_LINES_PER_S) {
		__atomic_store_n(&s->log_suppressed,
		    __atomic_load_n(&s->log_suppressed, __ATOMIC_RELAXED) + 1,
		    __ATOMIC_RELAXED);
		return;
	}
	s->log_lines++;
	line[0] = '\0';
	lb_printf(&b, "%.*sIN=%s OUT=%s ", FW_LOG_PREFIX_MAX, e->log_prefix,
	    if_name(prog, x->fp->in_if), if_name(prog, x->fp->out_if));
	if (x->fp->in_if != FW_IF_NONE && x->p->len >= ETH_HDR_LEN)
		lb_printf(&b, "MAC=%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x:"
		    "%02x:%02x:%02x:%02x:%02x:%02x ", mac[0], mac[1], mac[2],
		    mac[3], mac[4], mac[5], mac[6], mac[7], mac[8], mac[9],
		    mac[10], mac[11], mac[12], mac[13]);
	if (x->p->l3 == PKT_L3_IP4)
		log_ip4(&b, x);
	else
		log_ip6(&b, x);
	log_l4(&b, x, e->log_flags);
	hg_log(lvl, "fw: %s", line);
}

/* --- the walk ------------------------------------------------------------ */

static inline void
count_add(uint64_t *c, uint64_t n)
{
	/* One writer per slice; the control thread reads it relaxed. */
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
	    __ATOMIC_RELAXED);
}

struct frame {
	uint32_t next, end;	/* where to go on in the calling chain */
	uint32_t chain;
};

/* The classifier's first answer for the first chain a hook walks, when
 * a batch already asked for it. */
struct hint {
	uint32_t pos;
	bool exact;
};

/*
 * The rules of hook's chain, its _CUST chain first. True when a rule
 * decided (v filled); false when the packet fell through to the
 * defaults. With cls, the walk goes from candidate to candidate as the
 * classifier names them (classify.c), and runs only the rules whose key
 * is not the whole rule; NULL walks every rule.
 */
static bool
run_chains(const struct fw_prog *prog, const struct fwc *cls,
    struct fw_cslice *s, uint32_t chain, uint32_t cust, const struct ectx *x,
    uint64_t now_ns, const struct hint *hint, struct fw_verdict *v)
{
	struct fw_ccount *cnt = fw_slice_counts(s);
	struct frame stack[STACK_MAX];
	const struct fw_cchain *ch = &prog->chains[chain];
	uint32_t i = ch->first, end = ch->first + ch->n;
	unsigned sp = 0;

	/* "-j <HOOK>_CUST" before the chain's own rules; its RETURN comes
	 * back here. */
	if (cust != FW_CHAIN_NONE) {
		stack[sp].next = i;
		stack[sp].end = end;
		stack[sp++].chain = chain;
		chain = cust;
		ch = &prog->chains[cust];
		i = ch->first;
		end = ch->first + ch->n;
	}
	for (;;) {
		const struct fw_crule *r;
		bool exact = false;

		if (hint != NULL) {
			i = hint->pos;
			exact = hint->exact;
			hint = NULL;
		} else if (cls != NULL && i < end) {
			i = fwc_next(cls, chain, i, end, &x->key, &exact);
		}
		if (i == end) {
			/* Falling off a chain is a RETURN. */
			if (sp == 0)
				return false;
			sp--;
			i = stack[sp].next;
			end = stack[sp].end;
			chain = stack[sp].chain;
			continue;
		}
		r = &prog->rules[i];
		if (!exact && !rule_match(prog, r, x, now_ns)) {
			i++;
			continue;
		}
		count_add(&cnt[i].pkts, 1);
		count_add(&cnt[i].bytes, x->len);
		switch (r->target) {
		case FW_T_SNAT:
		case FW_T_DNAT:
		case FW_T_MASQUERADE:
		case FW_T_NETMAP:
		case FW_T_REDIRECT:
			/* The nat table's verdicts; the parser keeps them
			 * out of filter. */
			v->kind = FW_VERDICT_ACCEPT;
			v->reject_with = 0;
			v->why = FW_WHY_RULE;
			v->rule = i;
			return true;
		case FW_T_ACCEPT:
		case FW_T_DROP:
		case FW_T_REJECT:
			v->kind = r->target == FW_T_ACCEPT ? FW_VERDICT_ACCEPT :
			    r->target == FW_T_DROP ? FW_VERDICT_DROP :
			    FW_VERDICT_REJECT;
			v->reject_with = r->target == FW_T_REJECT ?
			    r->reject_with : 0;
			v->why = FW_WHY_RULE;
			v->rule = i;
			return true;
		case FW_T_LOG:
			log_packet(prog, s, &prog->ext[r->ext], x, now_ns);
			i++;
			break;
		case FW_T_RETURN:
			/* From the built-in chain itself: to the defaults,
			 * which stand where iptables has the policy. */
			if (sp == 0)
				return false;
			sp--;
			i = stack[sp].next;
			end = stack[sp].end;
			chain = stack[sp].chain;
			break;
		case FW_T_JUMP:
			/* The compiler refused anything deeper. */
			if (hg_unlikely(sp == STACK_MAX)) {
				i++;
				break;
			}
			stack[sp].next = i + 1;
			stack[sp].end = end;
			stack[sp++].chain = chain;
			/* fall through */
		case FW_T_GOTO:
			chain = r->jump;
			ch = &prog->chains[chain];
			i = ch->first;
			end = ch->first + ch->n;
			break;
		default:
			/* No -j: count and go on. */
			i++;
			break;
		}
	}
}

static bool
from_known_net(const struct fw_prog *prog, const struct ectx *x)
{
	if (!x->family_ok)
		return false;
	for (uint32_t i = 0; i < prog->n_known; i++)
		if (addr_in(x->src, &prog->known[i]) &&
		    (prog->known_if[i] == FW_IF_NONE ||
		    prog->known_if[i] == x->fp->in_if))
			return true;
	return false;
}

static uint8_t
hook_policy(const struct fw_prog *prog, enum fw_hook hook)
{
	if (prog->hook_chain[hook] == FW_CHAIN_NONE)
		return hook == FW_HOOK_OUTPUT ? FW_POLICY_ACCEPT : FW_POLICY_DROP;
	return prog->chains[prog->hook_chain[hook]].policy;
}

/* Default 5: ESP, IKE (UDP 500) or ESP in UDP (4500) from a tunnel's
 * peer, which a configured tunnel consents to (an IPsec connection to
 * %any: from anyone, with a mask of zero bits). */
static bool
from_ipsec_peer(const struct fw_prog *prog, const struct ectx *x)
{
	if (x->l4_proto != IPPROTO_ESP_ && !(x->l4_proto == IPPROTO_UDP_ &&
	    x->has_ports && (x->dport == 500 || x->dport == 4500)))
		return false;
	for (uint32_t i = 0; i < prog->n_peers; i++)
		if (addr_in(x->src, &prog->peers[i]))
			return true;
	return false;
}

/* The appliance's defaults 1 to 7 (fw.h). */
static void
run_defaults(const struct fw_prog *prog, struct fw_cslice *s,
    enum fw_hook hook, const struct ectx *x, struct fw_verdict *v)
{
	v->rule = FW_RULE_NONE;
	v->reject_with = 0;
	if (x->ct_bits & (FW_CT_ESTABLISHED | FW_CT_RELATED)) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_ESTABLISHED;
	} else if (x->ct_bits & FW_CT_INVALID) {
		v->kind = FW_VERDICT_DROP;
		v->why = FW_WHY_INVALID;
	} else if (x->ct_bits & FW_CT_UNTRACKED) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_UNTRACKED;
	} else if (hook == FW_HOOK_FORWARD && (x->ct_bits & FW_CT_DNAT)) {
		/* A new flow a nat rule sent on (a port forward): the DNAT
		 * rule said where it may go, FORWARD_CUST did not refuse. */
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_DNAT;
	} else if (hook == FW_HOOK_INPUT && prog->n_peers > 0 &&
	    from_ipsec_peer(prog, x)) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_IPSEC;
	} else if (hook == FW_HOOK_INPUT && prog->overlay_port != 0 &&
	    x->l4_proto == IPPROTO_UDP_ && x->has_ports &&
	    x->dport == prog->overlay_port) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_OVERLAY;
	} else if (hook != FW_HOOK_OUTPUT && from_known_net(prog, x)) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_KNOWN_NET;
	} else {
		v->kind = hook_policy(prog, hook) == FW_POLICY_ACCEPT ?
		    FW_VERDICT_ACCEPT : FW_VERDICT_DROP;
		v->why = FW_WHY_POLICY;
		count_add(&s->policy_bytes[hook], x->len);
	}
}

static void
eval_one(const struct fw_prog *prog, const struct fwc *cls,
    struct fw_cslice *s, enum fw_hook hook, const struct ectx *x,
    uint64_t now_ns, const struct hint *hint, struct fw_verdict *v)
{
	if (!x->family_ok || prog->hook_chain[hook] == FW_CHAIN_NONE ||
	    !run_chains(prog, cls, s, prog->hook_chain[hook],
	    prog->hook_cust[hook], x, now_ns, hint, v))
		run_defaults(prog, s, hook, x, v);
	count_add(&s->verdicts[hook][v->why], 1);
}

static struct fw_cslice *
eval_slice(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook)
{
	if (hg_unlikely((unsigned)hook >= FW_HOOK_COUNT))
		hg_fatalx("fw: fw_eval() for hook %d", (int)hook);
	if (hg_unlikely(worker >= prog->n_workers))
		worker %= prog->n_workers;
	return fw_prog_slice(prog, worker);
}

/*
 * Linux takes this hop off the TTL (hop limit) before its FORWARD hook
 * runs, so -m ttl / -m hl in FORWARD compare the decremented value;
 * hexgate's data path takes it off after FORWARD accepts (ip4_forward).
 * The route step has already answered TTL 1 with Time Exceeded.
 */
static inline void
load_hook(struct ectx *x, enum fw_hook hook)
{
	if (hook == FW_HOOK_FORWARD && x->ttl > 0)
		x->ttl--;
	/* Linux's OUTPUT sees every packet as PACKET_HOST (the output
	 * path sets the type later); the frame the host side wrote may
	 * carry any destination MAC. */
	if (hook == FW_HOOK_OUTPUT)
		x->pkttype = FW_PKTTYPE_UNICAST;
}

/* One packet, through the classifier cls, or rule by rule (NULL). */
static void
eval_single(const struct fw_prog *prog, const struct fwc *cls,
    uint16_t worker, enum fw_hook hook, const struct fw_pkt *fp,
    uint64_t now_ns, struct fw_verdict *v)
{
	struct fw_cslice *s = eval_slice(prog, worker, hook);
	struct ectx x;

	load(&x, prog, fp);
	load_hook(&x, hook);
	eval_one(prog, cls, s, hook, &x, now_ns, NULL, v);
}

void
fw_eval_linear(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook,
    const struct fw_pkt *fp, uint64_t now_ns, struct fw_verdict *v)
{
	eval_single(prog, NULL, worker, hook, fp, now_ns, v);
}

void
fw_eval(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook,
    const struct fw_pkt *fp, uint64_t now_ns, struct fw_verdict *v)
{
	eval_single(prog, prog->cls, worker, hook, fp, now_ns, v);
}

_Static_assert(FW_BATCH_MAX <= FWC_BATCH_MAX, "fw and fwc batch sizes");

/* Loads the whole batch, asks the classifier for every packet's first
 * candidate at once (fwc_next_batch), then decides them in order. */
void
fw_eval_batch(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook,
    const struct fw_pkt *fps, unsigned n, uint64_t now_ns,
    struct fw_verdict *vs)
{
	struct fw_cslice *s = eval_slice(prog, worker, hook);
	uint32_t first = prog->hook_cust[hook] != FW_CHAIN_NONE ?
	    prog->hook_cust[hook] : prog->hook_chain[hook];
	struct ectx x[FW_BATCH_MAX];
	const struct fwc_key *keys[FW_BATCH_MAX];
	uint32_t pos[FW_BATCH_MAX];
	bool exact[FW_BATCH_MAX];

	while (n > 0) {
		unsigned m = HG_MIN(n, FW_BATCH_MAX), k = 0;
		uint32_t idx[FW_BATCH_MAX];

		for (unsigned i = 0; i < m; i++) {
			load(&x[i], prog, &fps[i]);
			load_hook(&x[i], hook);
			if (x[i].family_ok && first != FW_CHAIN_NONE &&
			    prog->hook_chain[hook] != FW_CHAIN_NONE) {
				idx[k] = i;
				keys[k++] = &x[i].key;
			}
		}
		if (k > 0) {
			const struct fw_cchain *ch = &prog->chains[first];

			fwc_next_batch(prog->cls, first, ch->first,
			    ch->first + ch->n, keys, k, pos, exact);
		}
		for (unsigned i = 0, j = 0; i < m; i++) {
			struct hint h, *hp = NULL;

			if (j < k && idx[j] == i) {
				h.pos = pos[j];
				h.exact = exact[j++];
				hp = &h;
			}
			eval_one(prog, prog->cls, s, hook, &x[i], now_ns, hp,
			    &vs[i]);
		}
		fps += m;
		vs += m;
		n -= m;
	}
}

uint32_t
fw_eval_nat(const struct fw_prog *prog, uint16_t worker,
    enum fw_nat_hook hook, const struct fw_pkt *fp, uint64_t now_ns)
{
	struct fw_verdict v;
	struct fw_cslice *s;
	struct ectx x;

	if (hg_unlikely((unsigned)hook >= FW_NAT_HOOK_COUNT))
		return FW_RULE_NONE;
	if (prog->nat_chain[hook] == FW_CHAIN_NONE &&
	    prog->nat_cust[hook] == FW_CHAIN_NONE)
		return FW_RULE_NONE;
	if (hg_unlikely(worker >= prog->n_workers))
		worker %= prog->n_workers;
	s = fw_prog_slice(prog, worker);
	load(&x, prog, fp);
	if (!x.family_ok || prog->nat_chain[hook] == FW_CHAIN_NONE ||
	    !run_chains(prog, prog->cls, s, prog->nat_chain[hook],
	    prog->nat_cust[hook], &x, now_ns, NULL, &v))
		return FW_RULE_NONE;
	/* ACCEPT in nat: no translation, and stop looking. */
	return prog->rules[v.rule].target == FW_T_ACCEPT ? FW_RULE_NONE :
	    v.rule;
}

bool
fw_prog_copy_match(const struct fw_prog *prog, uint16_t worker, uint32_t rule,
    const struct fw_pkt *fp, uint64_t now_ns)
{
	const struct pkt *p = fp->p;
	struct fw_ccount *cnt;
	struct ectx x;

	if (hg_unlikely(rule >= prog->n_rules ||
	    prog->rules[rule].target != FW_T_COPY))
		return false;
	if (hg_unlikely(worker >= prog->n_workers))
		worker %= prog->n_workers;
	/* load() reads only what the packet's own family has: a frame of
	 * the other family, or not IP, matches only a rule without L3
	 * matches. */
	load(&x, prog, fp);
	if (!rule_match(prog, &prog->rules[rule], &x, now_ns))
		return false;
	cnt = &fw_slice_counts(fw_prog_slice(prog, worker))[rule];
	count_add(&cnt->pkts, 1);
	count_add(&cnt->bytes, p->l3 == PKT_L3_IP4 || p->l3 == PKT_L3_IP6 ?
	    p->l3_len : p->len);
	return true;
}
