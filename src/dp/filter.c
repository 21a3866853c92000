/*
 * src/dp/filter.c: conntrack and the chains, as stages over a batch
 * (pipeline.c says when each runs):
 *  - dp_conntrack(): PREROUTING and OUTPUT: every packet of the batch is
 *    classified into the worker's table before any is judged; a new
 *    flow's destination translation is chosen (nat.c) and applied.
 *  - dp_filter(): INPUT, FORWARD and OUTPUT: the rule program over the
 *    batch (fw_eval_batch, a family and a chain at a time); INPUT
 *    confirms what it accepts, as Linux does at the end of LOCAL_IN.
 *  - dp_postrouting(): a forwarded new flow's source translation, the
 *    confirmation that inserts it, and the source rewrite.
 * The [raw] and [mangle] slots are where those tables will run (issue
 * 17).  One table per worker holds every flow the worker owns, forwarded
 * or to and from hexgate itself: workers own flows (io_flow_queue()), the
 * host side's packets are handed to their owner (host.c), so no table is
 * shared and nothing here takes a lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dp_priv.h"

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

/* Why ct_confirm() refused a new flow.  -EADDRINUSE: another new flow
 * took the same translated reply tuple first. */
static enum pkt_drop
dp_confirm_drop(int rc)
{
	return rc == -ENOSPC ? PKT_DROP_CT_TABLE_FULL :
	    rc == -EDQUOT ? PKT_DROP_CT_SRC_LIMIT : PKT_DROP_NAT_NO_TUPLE;
}

/* The chain's verdict as the router carries it out. */
static void
dp_verdict(const struct pkt *p, const struct fw_verdict *v,
    struct ip_filter_result *res)
{
	switch (v->kind) {
	case FW_VERDICT_ACCEPT:
		res->action = IP_FILTER_ACCEPT;
		return;
	case FW_VERDICT_REJECT:
		dp_reject(p, v->reject_with, res);
		return;
	default:
		res->action = IP_FILTER_DROP;
		res->reason = v->why == FW_WHY_INVALID ? PKT_DROP_CT_INVALID :
		    v->why == FW_WHY_POLICY ? PKT_DROP_FW_POLICY :
		    PKT_DROP_FW_DROP;
		return;
	}
}

/* A direction-free hash of a flow's tuple (1024 buckets), for spotting
 * its packets again in the same batch. */
static uint32_t
dp_flow_hash(const struct ct_tuple *t)
{
	uint32_t h = (uint32_t)t->proto << 16 ^ (t->sport_be ^ t->dport_be);

	for (int i = 0; i < 16; i += 4) {
		uint32_t a, b;

		memcpy(&a, t->src + i, 4);
		memcpy(&b, t->dst + i, 4);
		h = (h ^ (a ^ b)) * 0x9e3779b1u;
	}
	return (h ^ h >> 16) & 1023;
}

static bool
dp_bloom_has(const uint64_t *bits, uint32_t h)
{
	return bits[h / 64] >> (h % 64) & 1;
}

static void
dp_bloom_add(uint64_t *bits, uint32_t h)
{
	bits[h / 64] |= 1ULL << (h % 64);
}

static bool
dp_same_flow(const struct ct_tuple *a, const struct ct_tuple *b)
{
	if (a->proto != b->proto || a->l3 != b->l3)
		return false;
	if (memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0)
		return a->sport_be == b->sport_be && a->dport_be == b->dport_be;
	return memcmp(a->src, b->dst, 16) == 0 &&
	    memcmp(a->dst, b->src, 16) == 0 &&
	    a->sport_be == b->dport_be && a->dport_be == b->sport_be;
}

/* New flows of the range so far: a 1024-bit filter, then the list; and a
 * filter of the TCP flows with an entry that packets of the range hold. */
struct dp_new_flows {
	uint64_t bits[16];
	uint64_t tcp_held[16];
	uint16_t n;
	uint16_t idx[PKT_BATCH_MAX];
};

static bool
dp_is_tcp(const struct pkt *p)
{
	return p->l4_proto == IPPROTO_TCP_ && p->l4_off != 0 &&
	    !(p->flags & PKT_F_FRAG);
}

/*
 * A SYN may reopen a closed flow: classify then frees its entry, which an
 * earlier packet of the range (the flow's last segment) may still hold.
 * Such a SYN waits for the next range.  The filter may say yes for
 * another flow: that only costs a shorter range.
 */
static bool
dp_syn_may_reopen(const struct dp_new_flows *nf, const struct pkt *p,
    const struct ct_key *key)
{
	return dp_is_tcp(p) && (((const struct tcp_hdr *)pkt_l4(p))->flags &
	    (TCP_SYN | TCP_ACK)) == TCP_SYN &&
	    dp_bloom_has(nf->tcp_held, dp_flow_hash(&key->k));
}

/* Is i's new flow one that an earlier packet of the range opened?  If
 * not, remember it. */
static bool
dp_new_flow_seen(struct dp_new_flows *nf, const struct dp_frame *f,
    uint16_t i)
{
	const struct ct_tuple *tu = &f->ct[i].pending.tuple;
	uint32_t h = dp_flow_hash(tu);

	if (dp_bloom_has(nf->bits, h))
		for (uint16_t k = 0; k < nf->n; k++)
			if (dp_same_flow(&f->ct[nf->idx[k]].pending.tuple, tu))
				return true;
	dp_bloom_add(nf->bits, h);
	nf->idx[nf->n++] = i;
	return false;
}

uint16_t
dp_conntrack(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    enum ip_next step, uint64_t now_ns)
{
	struct ip_vec *v = &f->v;
	struct dp_new_flows nf;
	struct pkt *ahead[PKT_BATCH_MAX];
	struct ct_key keys[PKT_BATCH_MAX];
	uint32_t m = 0, k = 0;
	bool first_frag = false;

	/* Buckets and entries of the whole batch into the cache first, so
	 * their misses overlap (bench_ct: about half the cost a packet). */
	for (uint16_t i = lo; w->fw != NULL && i < v->n; i++)
		if (v->next[i] == step && dp_prog(w->fw, v->pkts[i]) != NULL)
			ahead[m++] = v->pkts[i];
	if (m == 0) {
		memset(&f->tracked[lo], 0, (size_t)(v->n - lo));
		return v->n;
	}
	ct_prefetch_bulk(w->ct, ahead, m, keys);
	nf.n = 0;
	memset(nf.bits, 0, sizeof(nf.bits));
	memset(nf.tcp_held, 0, sizeof(nf.tcp_held));
	for (uint16_t i = lo; i < v->n; i++) {
		struct pkt *p = v->pkts[i];
		const struct fw_prog *prog;
		struct ct_result *cr = &f->ct[i];

		f->tracked[i] = false;
		if (v->next[i] != step || (prog = dp_prog(w->fw, p)) == NULL)
			continue;
		/* [raw: the firewall issue's slot] */
		/* A later fragment follows its first only once that one is
		 * confirmed. */
		if ((p->flags & (PKT_F_FRAG | PKT_F_FRAG_FIRST)) == PKT_F_FRAG &&
		    first_frag)
			return i;
		if (dp_syn_may_reopen(&nf, p, &keys[k]))
			return i;
		ct_classify_key(w->ct, p, &keys[k], now_ns, cr);
		if (cr->entry != CT_ENTRY_NONE && dp_is_tcp(p))
			dp_bloom_add(nf.tcp_held, dp_flow_hash(&keys[k].k));
		k++;
		if (cr->state == CT_STATE_NEW && cr->entry == CT_ENTRY_NONE &&
		    !cr->frag_follow && dp_new_flow_seen(&nf, f, i))
			return i;
		first_frag |= (p->flags & PKT_F_FRAG_FIRST) != 0;
		f->tracked[i] = true;
		/* [mangle: the firewall issue's slot] */
		if (step != IP_NEXT_PREROUTING || !fw_prog_has_nat(prog))
			continue;
		/* DNAT / NETMAP / REDIRECT for a new flow; every packet of a
		 * translated flow gets its destination rewritten here
		 * (replies of a SNATed flow go back to the inside host). */
		if (!dp_nat_new(w, prog, cr, FW_NAT_PREROUTING, p, FW_IF_NONE,
		    now_ns)) {
			ip_vec_drop(w->ipw, v, i, PKT_DROP_NAT_NO_TUPLE);
			continue;
		}
		if (ct_nat_rewrite(w->ct, cr, p, CT_MANIP_DST))
			v->flags[i] |= IP_VF_DST_CHANGED;
	}
	return v->n;
}

/* One chain over up to FW_BATCH_MAX packets of one family. */
static void
dp_filter_chunk(struct dp_worker *w, struct dp_frame *f,
    const struct fw_prog *prog, enum fw_hook hook, const uint16_t *idx,
    unsigned n, uint64_t now_ns)
{
	struct fw_pkt fps[FW_BATCH_MAX] = { 0 };
	struct fw_ct_info ci[FW_BATCH_MAX];
	struct fw_verdict vs[FW_BATCH_MAX];
	struct ip_vec *v = &f->v;

	for (unsigned k = 0; k < n; k++) {
		const struct pkt *p = v->pkts[idx[k]];

		dp_fw_ct_info(w->ct, &f->ct[idx[k]], now_ns, &ci[k]);
		fps[k] = (struct fw_pkt){
			.p = p,
			.in_if = hook == FW_HOOK_OUTPUT ? FW_IF_NONE : p->in_if,
			.out_if = hook == FW_HOOK_FORWARD ? p->out_if :
			    FW_IF_NONE,
			.ct = &ci[k],
		};
	}
	fw_eval_batch(prog, w->id, hook, fps, n, now_ns, vs);
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = idx[k];
		struct ip_filter_result *res = &v->verdict[i];
		int rc;

		dp_verdict(v->pkts[i], &vs[k], res);
		if (hook != FW_HOOK_INPUT || res->action != IP_FILTER_ACCEPT)
			continue;
		if ((rc = ct_confirm(w->ct, &f->ct[i], now_ns)) != 0) {
			res->action = IP_FILTER_DROP;
			res->reason = dp_confirm_drop(rc);
		}
	}
}

void
dp_filter(struct dp_worker *w, struct dp_frame *f, uint16_t lo, uint16_t hi,
    uint64_t now_ns)
{
	static const struct {
		uint8_t step;
		uint8_t hook;
	} chains[] = {
		{ IP_NEXT_INPUT, FW_HOOK_INPUT },
		{ IP_NEXT_FORWARD, FW_HOOK_FORWARD },
		{ IP_NEXT_OUTPUT, FW_HOOK_OUTPUT },
	};
	struct ip_vec *v = &f->v;

	if (w->fw == NULL)
		return;
	for (size_t c = 0; c < sizeof(chains) / sizeof(chains[0]); c++) {
		for (int fam = 0; fam < 2; fam++) {
			uint8_t l3 = fam == 0 ? PKT_L3_IP4 : PKT_L3_IP6;
			const struct fw_prog *prog = fam == 0 ? w->fw->prog4 :
			    w->fw->prog6;
			uint16_t idx[FW_BATCH_MAX];
			unsigned n = 0;

			if (prog == NULL)
				continue;
			for (uint16_t i = lo; i < hi; i++) {
				if (v->next[i] != chains[c].step ||
				    !f->tracked[i] || v->pkts[i]->l3 != l3)
					continue;
				/* Its datagram's first fragment was judged
				 * and accepted. */
				if (f->ct[i].frag_follow)
					continue;
				idx[n++] = i;
				if (n == FW_BATCH_MAX) {
					dp_filter_chunk(w, f, prog,
					    chains[c].hook, idx, n, now_ns);
					n = 0;
				}
			}
			if (n != 0)
				dp_filter_chunk(w, f, prog, chains[c].hook, idx,
				    n, now_ns);
		}
	}
}

/* Source NAT and confirmation of one packet; false when it must be
 * dropped, with the reason in *why. */
static bool
dp_post_one(struct dp_worker *w, struct dp_frame *f, uint16_t i,
    uint64_t now_ns, enum pkt_drop *why)
{
	struct pkt *p = f->v.pkts[i];
	struct ct_result *cr = &f->ct[i];
	const struct fw_prog *prog = dp_prog(w->fw, p);
	bool local = (p->flags & PKT_F_LOCAL) != 0;
	bool nat = !local && fw_prog_has_nat(prog);
	int rc;

	/* [mangle: the firewall issue's slot] */
	if (!cr->frag_follow) {
		if (nat && !dp_nat_new(w, prog, cr, FW_NAT_POSTROUTING, p,
		    p->out_if, now_ns)) {
			*why = PKT_DROP_NAT_NO_TUPLE;
			return false;
		}
		if ((rc = ct_confirm(w->ct, cr, now_ns)) != 0) {
			*why = dp_confirm_drop(rc);
			return false;
		}
	}
	/* A reply of a redirected flow leaves as if from where the client
	 * sent it; a forwarded flow's source is translated. */
	if (nat || local)
		(void)ct_nat_rewrite(w->ct, cr, p, CT_MANIP_SRC);
	return true;
}

void
dp_postrouting(struct dp_worker *w, struct dp_frame *f, uint16_t lo,
    uint16_t hi, uint64_t now_ns)
{
	struct ip_vec *v = &f->v;

	for (uint16_t i = lo; i < hi; i++) {
		enum pkt_drop why;

		if (v->next[i] != IP_NEXT_POSTROUTING)
			continue;
		if (f->tracked[i] && !dp_post_one(w, f, i, now_ns, &why)) {
			ip_vec_drop(w->ipw, v, i, why);
			continue;
		}
		v->next[i] = IP_NEXT_ENCAP;
	}
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
	if (now_ns - w->ct_swept_ns < DP_CT_EXPIRE_NS)
		return;
	w->ct_swept_ns = now_ns;
	if (w->ct != NULL)
		(void)ct_expire(w->ct, now_ns, DP_CT_EXPIRE_BUDGET);
}
