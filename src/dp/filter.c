/*
 * src/dp/filter.c: the firewall on the packet path.  The router (src/ip)
 * calls dp_filter_hook() at INPUT and FORWARD; here conntrack (src/ct)
 * classifies the packet, the rule program (src/fw) judges it, and an
 * accepted new flow is confirmed.  Also the punt path: packets INPUT
 * accepted for the host go out to the interface's host TAP, and what the
 * host sends back is read here (worker 0), judged by OUTPUT and routed.
 *
 * Forwarded flows live in the worker's own conntrack table, no lock.
 * Flows to and from hexgate itself share dp->ct_local under a mutex: the
 * kernel decides which TAP queue a host packet takes, so no worker owns
 * them; only local traffic pays for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dp_priv.h"

static uint8_t
dp_fw_ct_state(enum ct_state s)
{
	switch (s) {
	case CT_STATE_NEW:
		return FW_CT_NEW;
	case CT_STATE_ESTABLISHED:
		return FW_CT_ESTABLISHED;
	case CT_STATE_RELATED:
		return FW_CT_RELATED;
	case CT_STATE_UNTRACKED:
		return FW_CT_UNTRACKED;
	default:
		return FW_CT_INVALID;
	}
}

static void
dp_fw_tuple(const struct ct_tuple *tu, uint8_t *src, uint8_t *dst,
    uint16_t *sport, uint16_t *dport)
{
	memcpy(src, tu->src, 16);
	memcpy(dst, tu->dst, 16);
	*sport = ntohs(tu->sport_be);
	*dport = ntohs(tu->dport_be);
}

/* What -m conntrack / -m state see of the packet's flow. */
static void
dp_fw_ct_info(const struct ct_table *ct, const struct ct_result *cr,
    uint64_t now_ns, struct fw_ct_info *ci)
{
	struct ct_flow_info fi;
	struct ct_tuple reply;

	memset(ci, 0, sizeof(*ci));
	ci->state = dp_fw_ct_state(cr->state);
	ci->reply = cr->dir == CT_DIR_REPLY;
	if (cr->state == CT_STATE_INVALID || cr->state == CT_STATE_UNTRACKED)
		return;
	if (cr->entry != CT_ENTRY_NONE && ct_entry_info(ct, cr->entry, &fi)) {
		ci->status = FW_CTS_CONFIRMED |
		    (fi.seen_reply ? FW_CTS_SEEN_REPLY : 0);
		ci->expire_s = fi.expires_ns > now_ns ?
		    (uint32_t)((fi.expires_ns - now_ns) / 1000000000ULL) : 0;
	} else {
		/* A new flow: its reply tuple is the original one reversed. */
		fi.orig = cr->pending.tuple;
		reply = fi.orig;
		memcpy(reply.src, fi.orig.dst, 16);
		memcpy(reply.dst, fi.orig.src, 16);
		reply.sport_be = fi.orig.dport_be;
		reply.dport_be = fi.orig.sport_be;
		fi.reply = reply;
	}
	ci->proto = fi.orig.proto;
	dp_fw_tuple(&fi.orig, ci->orig_src, ci->orig_dst, &ci->orig_sport,
	    &ci->orig_dport);
	dp_fw_tuple(&fi.reply, ci->repl_src, ci->repl_dst, &ci->repl_sport,
	    &ci->repl_dport);
}

/* --reject-with as the router's ICMP error for the packet's family. */
static void
dp_reject(const struct pkt *p, enum fw_reject_with with,
    struct ip_filter_result *res)
{
	static const uint8_t code4[] = {
		[FW_REJ_ICMP_NET_UNREACHABLE] = ICMP_NET_UNREACH,
		[FW_REJ_ICMP_HOST_UNREACHABLE] = 1,
		[FW_REJ_ICMP_PORT_UNREACHABLE] = ICMP_PORT_UNREACH,
		[FW_REJ_ICMP_PROTO_UNREACHABLE] = 2,
		[FW_REJ_ICMP_NET_PROHIBITED] = 9,
		[FW_REJ_ICMP_HOST_PROHIBITED] = 10,
		[FW_REJ_ICMP_ADMIN_PROHIBITED] = 13,
	};
	static const uint8_t code6[] = {
		[FW_REJ_ICMP6_NO_ROUTE] = ICMP6_NO_ROUTE,
		[FW_REJ_ICMP6_ADM_PROHIBITED] = 1,
		[FW_REJ_ICMP6_ADDR_UNREACHABLE] = ICMP6_ADDR_UNREACH,
		[FW_REJ_ICMP6_PORT_UNREACHABLE] = ICMP6_PORT_UNREACH,
		[FW_REJ_ICMP6_POLICY_FAIL] = 5,
		[FW_REJ_ICMP6_REJECT_ROUTE] = 6,
	};
	bool v4 = p->l3 == PKT_L3_IP4;

	res->reason = PKT_DROP_FW_REJECT;
	if (with == FW_REJ_TCP_RESET) {
		res->action = IP_FILTER_REJECT_TCP_RESET;
		return;
	}
	res->action = IP_FILTER_REJECT_ICMP;
	res->icmp_type = v4 ? ICMP_DEST_UNREACH : ICMP6_DEST_UNREACH;
	/* The parser keeps each family to its own types; anything else
	 * is answered with the family's default, port unreachable. */
	if (v4 && with <= FW_REJ_ICMP_ADMIN_PROHIBITED)
		res->icmp_code = code4[with];
	else if (!v4 && with >= FW_REJ_ICMP6_NO_ROUTE && with < FW_REJ_COUNT)
		res->icmp_code = code6[with];
	else
		res->icmp_code = v4 ? ICMP_PORT_UNREACH : ICMP6_PORT_UNREACH;
}

/* ---- NAT ---------------------------------------------------------- */

static unsigned
mask_bits(const uint8_t mask[16])
{
	unsigned n = 0;

	for (int i = 0; i < 16; i++)
		n += (unsigned)__builtin_popcount(mask[i]);
	return n;
}

/*
 * The range a nat rule's target gives a new flow.  MASQUERADE takes the
 * egress interface's first address of the family, REDIRECT the ingress
 * interface's.  False when that interface has no address of the family.
 */
static bool
dp_nat_range(const struct dp_worker *w, const struct fw_target *t,
    const struct pkt *p, uint16_t out_if, struct ct_nat_range *r)
{
	bool v4 = p->l3 == PKT_L3_IP4;

	memset(r, 0, sizeof(*r));
	switch (t->kind) {
	case FW_T_SNAT:
	case FW_T_DNAT:
		if (t->nat.has_addr) {
			memcpy(r->addr_lo, t->nat.addr_lo, 16);
			memcpy(r->addr_hi, t->nat.addr_hi, 16);
		} else if (v4) {
			const struct ip4_hdr *ip = pkt_l3(p);

			memcpy(r->addr_lo, t->kind == FW_T_SNAT ? &ip->src_be :
			    &ip->dst_be, 4);
			memcpy(r->addr_hi, r->addr_lo, 16);
		} else {
			const struct ip6_hdr *ip = pkt_l3(p);

			memcpy(r->addr_lo, t->kind == FW_T_SNAT ? ip->src :
			    ip->dst, 16);
			memcpy(r->addr_hi, r->addr_lo, 16);
		}
		break;
	case FW_T_MASQUERADE:
	case FW_T_REDIRECT: {
		uint16_t ifi = t->kind == FW_T_REDIRECT ? p->in_if : out_if;
		const struct ip_if *ifp;

		if (w->tables == NULL || ifi >= w->tables->n_if)
			return false;
		ifp = &w->tables->ifs[ifi];
		if (v4 && ifp->n_addr4 > 0)
			memcpy(r->addr_lo, &ifp->addr4[0].addr_be, 4);
		else if (!v4 && ifp->n_addr6 > 0)
			memcpy(r->addr_lo, ifp->addr6[0].addr, 16);
		else
			return false;
		memcpy(r->addr_hi, r->addr_lo, 16);
		break;
	}
	case FW_T_NETMAP:
		r->flags |= CT_NAT_F_NETMAP;
		memcpy(r->addr_lo, t->nat.netmap.addr, 16);
		memcpy(r->addr_hi, t->nat.netmap.addr, 16);
		r->plen = (uint8_t)mask_bits(t->nat.netmap.mask);
		return true;
	default:
		return false;
	}
	if (t->nat.has_ports) {
		r->flags |= CT_NAT_F_PORTS;
		r->port_lo = t->nat.ports.lo;
		r->port_hi = t->nat.ports.hi;
	}
	if (t->nat.flags & (FW_NAT_RANDOM | FW_NAT_RANDOM_FULLY))
		r->flags |= CT_NAT_F_RANDOM;
	if (t->nat.flags & FW_NAT_PERSISTENT)
		r->flags |= CT_NAT_F_PERSISTENT;
	return true;
}

/*
 * ct_nat_ok_fn: a translated reply must come back to this worker, so a
 * tuple is ours when the ports' steering (src/io's io_flow_queue(), the
 * rule the kernel runs) sends it here.  When some port cannot steer
 * exactly, any tuple will do: replies may then land on another worker,
 * which the log says at start.
 */
static bool
dp_nat_ok(const struct ct_tuple *t, void *arg)
{
	const struct dp_worker *w = arg;
	struct io_flow_key k;
	uint16_t n = w->dp->params.n_workers;

	if (n == 1 || !w->dp->flow_exact)
		return true;
	memset(&k, 0, sizeof(k));
	memcpy(k.src, t->src, 16);
	memcpy(k.dst, t->dst, 16);
	k.sport_be = t->sport_be;
	k.dport_be = t->dport_be;
	k.l3 = t->l3;
	k.proto = t->proto;
	return io_flow_queue(&k, n) == w->id;
}

/*
 * The nat table for a new flow at hook, and the translation it asks for
 * set up on cr.  False when the flow must be dropped (no free tuple),
 * with the reason in res.
 */
static bool
dp_nat_new(struct dp_worker *w, const struct fw_prog *prog,
    struct ct_table *ct, struct ct_result *cr, enum fw_nat_hook hook,
    const struct pkt *p, uint16_t out_if, uint64_t now_ns,
    struct ip_filter_result *res)
{
	struct fw_ct_info ci;
	struct fw_pkt fp = { .p = p, .in_if = p->in_if, .out_if = out_if,
	    .ct = &ci };
	const struct fw_target *t;
	struct ct_nat_range range;
	uint32_t rule;
	int rc;

	if (cr->state != CT_STATE_NEW || cr->entry != CT_ENTRY_NONE ||
	    cr->frag_follow)
		return true;
	dp_fw_ct_info(ct, cr, now_ns, &ci);
	rule = fw_eval_nat(prog, w->id, hook, &fp, now_ns);
	if (rule == FW_RULE_NONE ||
	    !dp_nat_range(w, (t = fw_prog_target(prog, rule)), p, out_if,
	    &range))
		return true;
	if (t->kind == FW_T_REDIRECT) {
		/* To hexgate itself: the flow lives in the local table,
		 * where the host's replies (OUTPUT) will find it. */
		if (w->cur_local_pkt != p)
			return true;	/* not looked up there: cannot be */
		pthread_mutex_lock(&w->dp->ct_local_mu);
		rc = ct_nat_setup(w->dp->ct_local, &w->cur_local, CT_MANIP_DST,
		    &range, NULL, NULL, now_ns);
		pthread_mutex_unlock(&w->dp->ct_local_mu);
		w->redirected = rc == 0;
	} else {
		rc = ct_nat_setup(ct, cr, hook == FW_NAT_PREROUTING ?
		    CT_MANIP_DST : CT_MANIP_SRC, &range, dp_nat_ok, w, now_ns);
	}
	if (rc == 0)
		return true;
	res->action = IP_FILTER_DROP;
	res->reason = PKT_DROP_NAT_NO_TUPLE;
	return false;
}

/* Judge p, classified into cr from ct, and confirm it if accepted.  The
 * caller holds ct's lock if it has one. */
static void
dp_decide(struct dp_worker *w, const struct fw_prog *prog,
    struct ct_table *ct, struct ct_result *cr, enum fw_hook hook,
    struct pkt *p, uint16_t out_if, uint64_t now_ns,
    struct ip_filter_result *res)
{
	struct fw_ct_info ci;
	struct fw_pkt fp = {
		.p = p,
		.in_if = hook == FW_HOOK_OUTPUT ? FW_IF_NONE : p->in_if,
		.out_if = out_if,
		.ct = &ci,
	};
	struct fw_verdict v;
	bool nat = hook == FW_HOOK_FORWARD && fw_prog_has_nat(prog);
	int rc;

	if (cr->frag_follow) {
		/* Its datagram's first fragment was judged and accepted. */
		res->action = IP_FILTER_ACCEPT;
		if (nat)
			(void)ct_nat_rewrite(ct, cr, p, CT_MANIP_SRC);
		return;
	}
	dp_fw_ct_info(ct, cr, now_ns, &ci);
	fw_eval(prog, w->id, hook, &fp, now_ns, &v);
	switch (v.kind) {
	case FW_VERDICT_ACCEPT:
		/* POSTROUTING: a new flow's source translation. */
		if (nat && !dp_nat_new(w, prog, ct, cr, FW_NAT_POSTROUTING, p,
		    out_if, now_ns, res))
			return;
		if ((rc = ct_confirm(ct, cr, now_ns)) != 0) {
			/* -EADDRINUSE: another new flow took the same
			 * translated reply tuple first. */
			res->action = IP_FILTER_DROP;
			res->reason = rc == -ENOSPC ? PKT_DROP_CT_TABLE_FULL :
			    PKT_DROP_NAT_NO_TUPLE;
			return;
		}
		if (nat)
			(void)ct_nat_rewrite(ct, cr, p, CT_MANIP_SRC);
		res->action = IP_FILTER_ACCEPT;
		return;
	case FW_VERDICT_REJECT:
		dp_reject(p, v.reject_with, res);
		return;
	default:
		res->action = IP_FILTER_DROP;
		res->reason = v.why == FW_WHY_INVALID ? PKT_DROP_CT_INVALID :
		    v.why == FW_WHY_POLICY ? PKT_DROP_FW_POLICY :
		    PKT_DROP_FW_DROP;
		return;
	}
}

/* Classify, judge, confirm: the local paths (INPUT, OUTPUT). */
static void
dp_judge(struct dp_worker *w, const struct fw_prog *prog, struct ct_table *ct,
    enum fw_hook hook, struct pkt *p, uint16_t out_if,
    uint64_t now_ns, struct ip_filter_result *res)
{
	struct ct_result cr;

	ct_classify(ct, p, now_ns, &cr);
	dp_decide(w, prog, ct, &cr, hook, p, out_if, now_ns, res);
}

static const struct fw_prog *
dp_prog(const struct dp_fw *fw, const struct pkt *p)
{
	if (fw == NULL)
		return NULL;
	return p->l3 == PKT_L3_IP4 ? fw->prog4 : fw->prog6;
}

void
dp_filter_hook(void *arg, struct pkt *p, enum ip_hook hook, uint16_t out_if,
    uint64_t now_ns, struct ip_filter_result *res)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;
	const struct fw_prog *prog = dp_prog(w->fw, p);

	res->action = IP_FILTER_ACCEPT;
	if (prog == NULL)
		return;
	switch (hook) {
	case IP_HOOK_PREROUTING:
		/* With NAT, before the route lookup: what the flow is, once,
		 * so its destination can be translated; FORWARD judges with
		 * it.  Traffic for hexgate itself is classified again at
		 * INPUT, in the local table.  Without NAT, FORWARD
		 * classifies: local traffic never touches the worker's
		 * table. */
		w->cur_pkt = NULL;
		w->cur_local_pkt = NULL;
		w->redirected = false;
		if (!fw_prog_has_nat(prog))
			return;
		ct_classify(w->ct, p, now_ns, &w->cur);
		w->cur_pkt = p;
		/* Not a forwarded flow: it may be one to or from hexgate
		 * itself (a redirected one among them), kept in the local
		 * table; INPUT will judge with what is found here. */
		if (w->cur.entry == CT_ENTRY_NONE && !w->cur.frag_follow) {
			pthread_mutex_lock(&dp->ct_local_mu);
			ct_classify(dp->ct_local, p, now_ns, &w->cur_local);
			w->cur_local_pkt = p;
			if (w->cur_local.entry != CT_ENTRY_NONE ||
			    w->cur_local.frag_follow) {
				res->dst_changed = ct_nat_rewrite(dp->ct_local,
				    &w->cur_local, p, CT_MANIP_DST);
				pthread_mutex_unlock(&dp->ct_local_mu);
				w->cur_pkt = NULL;
				return;
			}
			pthread_mutex_unlock(&dp->ct_local_mu);
		}
		/* DNAT / NETMAP / REDIRECT for a new flow; every packet of a
		 * translated flow gets its destination rewritten here
		 * (replies of a SNATed flow go back to the inside host). */
		if (!dp_nat_new(w, prog, w->ct, &w->cur, FW_NAT_PREROUTING, p,
		    FW_IF_NONE, now_ns, res)) {
			w->cur_pkt = NULL;
			w->cur_local_pkt = NULL;
			return;
		}
		if (w->redirected) {
			pthread_mutex_lock(&dp->ct_local_mu);
			res->dst_changed = ct_nat_rewrite(dp->ct_local,
			    &w->cur_local, p, CT_MANIP_DST);
			pthread_mutex_unlock(&dp->ct_local_mu);
			w->cur_pkt = NULL;
			return;
		}
		res->dst_changed = ct_nat_rewrite(w->ct, &w->cur, p,
		    CT_MANIP_DST);
		return;
	case IP_HOOK_FORWARD:
		if (w->cur_pkt != p) {
			/* Not seen at PREROUTING: cannot be, but be safe. */
			ct_classify(w->ct, p, now_ns, &w->cur);
		}
		w->cur_pkt = NULL;
		w->cur_local_pkt = NULL;
		dp_decide(w, prog, w->ct, &w->cur, FW_HOOK_FORWARD, p, out_if,
		    now_ns, res);
		return;
	default:
		break;
	}
	w->cur_pkt = NULL;
	pthread_mutex_lock(&dp->ct_local_mu);
	if (w->cur_local_pkt == p)
		dp_decide(w, prog, dp->ct_local, &w->cur_local, FW_HOOK_INPUT,
		    p, FW_IF_NONE, now_ns, res);
	else
		dp_judge(w, prog, dp->ct_local, FW_HOOK_INPUT, p, FW_IF_NONE,
		    now_ns, res);
	pthread_mutex_unlock(&dp->ct_local_mu);
	w->cur_local_pkt = NULL;
}

bool
dp_punt_hook(void *arg, struct pkt *p, uint64_t now_ns)
{
	struct dp_worker *w = arg;
	uint16_t i = p->in_if;

	if (i >= w->dp->params.n_if || w->dp->params.host_taps[i] == NULL)
		return false;
	if (w->punt_n[i] == PKT_BURST)
		dp_punt_flush(w, now_ns);
	w->punt[i][w->punt_n[i]++] = p;
	return true;
}

void
dp_punt_flush(struct dp_worker *w, uint64_t now_ns)
{
	struct dp *dp = w->dp;

	for (uint16_t i = 0; i < dp->params.n_if; i++) {
		uint16_t n = w->punt_n[i], sent;

		if (n == 0)
			continue;
		sent = io_port_tx(dp->params.host_taps[i], w->id, w->punt[i],
		    n, now_ns);
		ctr_add(&w->ctr.punted[i], sent);
		for (uint16_t k = 0; k < n; k++) {
			if (k < sent)
				pkt_free(w->pool, w->punt[i][k]);
			else
				ip_drop(w->ipw, w->punt[i][k],
				    PKT_DROP_PUNT_FAILED);
		}
		w->punt_n[i] = 0;
	}
}

/* One frame the host sent on interface i's TAP. */
static void
dp_host_one(struct dp_worker *w, const struct ip_tables *t, struct pkt *p,
    uint64_t now_ns)
{
	struct dp *dp = w->dp;
	const struct fw_prog *prog;
	struct ip_filter_result res = { .action = IP_FILTER_ACCEPT };
	enum pkt_drop why = pkt_parse(p, NULL);

	if (why != PKT_DROP_NONE) {
		ip_drop(w->ipw, p, why);
		return;
	}
	/* The TAP is NOARP: the host neither resolves nor answers
	 * neighbours there; hexgate does that on the wire. */
	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6) {
		ip_drop(w->ipw, p, PKT_DROP_ETHERTYPE);
		return;
	}
	/* The host's own multicast (MLD reports, router solicitations)
	 * stays on its side: hexgate does not route multicast. */
	if (p->l3 == PKT_L3_IP4 ? (((const uint8_t *)&((const struct ip4_hdr *)
	    pkt_l3(p))->dst_be)[0] & 0xf0) == 0xe0 :
	    ((const struct ip6_hdr *)pkt_l3(p))->dst[0] == 0xff) {
		ip_drop(w->ipw, p, PKT_DROP_HOST_MCAST);
		return;
	}
	prog = dp_prog(w->fw, p);
	if (prog != NULL) {
		struct ct_result cr;

		pthread_mutex_lock(&dp->ct_local_mu);
		ct_classify(dp->ct_local, p, now_ns, &cr);
		dp_decide(w, prog, dp->ct_local, &cr, FW_HOOK_OUTPUT, p,
		    FW_IF_NONE, now_ns, &res);
		/* A reply of a redirected flow leaves as if from where the
		 * client sent it. */
		if (res.action == IP_FILTER_ACCEPT)
			(void)ct_nat_rewrite(dp->ct_local, &cr, p,
			    CT_MANIP_SRC);
		pthread_mutex_unlock(&dp->ct_local_mu);
	}
	if (res.action != IP_FILTER_ACCEPT) {
		/* REJECT on OUTPUT drops: the host has its own errors. */
		ip_drop(w->ipw, p, (enum pkt_drop)res.reason);
		return;
	}
	ip_output(w->ipw, t, p, &w->tx, now_ns);
}

uint32_t
dp_host_rx(struct dp_worker *w, const struct ip_tables *t, uint64_t now_ns)
{
	struct dp *dp = w->dp;
	struct pkt *pkts[PKT_BURST];
	uint32_t got = 0;

	for (uint16_t i = 0; i < dp->params.n_if; i++) {
		struct io_port *tap = dp->params.host_taps[i];
		uint16_t n;

		if (tap == NULL)
			continue;
		n = io_port_rx(tap, 0, w->pool, pkts, PKT_BURST);
		ctr_add(&w->ctr.from_host[i], n);
		for (uint16_t k = 0; k < n; k++) {
			pkts[k]->in_if = i;
			dp_host_one(w, t, pkts[k], now_ns);
		}
		got += n;
	}
	return got;
}

/*
 * Expiry sweeps a slice of the table every DP_CT_EXPIRE_NS rather than
 * every loop turn: each slot it looks at is a cache miss, and per turn
 * (a burst of packets) that cost the forwarding path 12 ns a packet in
 * bench_pipeline.  At 4 * DP_CT_EXPIRE_BUDGET slots a millisecond a
 * 65,536-flow table is swept every quarter second; a full table also
 * reclaims expired flows when it needs room (ct_confirm).
 */
void
dp_ct_poll(struct dp_worker *w, uint64_t now_ns)
{
	struct dp *dp = w->dp;

	if (now_ns - w->ct_swept_ns < DP_CT_EXPIRE_NS)
		return;
	w->ct_swept_ns = now_ns;
	if (w->ct != NULL)
		(void)ct_expire(w->ct, now_ns, DP_CT_EXPIRE_BUDGET);
	if (w->id == 0 && dp->ct_local != NULL &&
	    pthread_mutex_trylock(&dp->ct_local_mu) == 0) {
		(void)ct_expire(dp->ct_local, now_ns, DP_CT_EXPIRE_BUDGET);
		pthread_mutex_unlock(&dp->ct_local_mu);
	}
}
