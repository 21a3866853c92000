/*
 * src/dp/nat.c: NAT decisions.  A new flow meets the nat table once, at
 * PREROUTING (DNAT, NETMAP, REDIRECT) and at POSTROUTING (SNAT,
 * MASQUERADE, NETMAP); the translation the rule asks for is set up on its
 * conntrack result, and src/ct keeps it with the entry, rewriting every
 * later packet of the flow.  Also what the chains see of a packet's
 * conntrack state.
 */
#include <arpa/inet.h>
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

void
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
		/* A new flow: its reply tuple is the translated one
		 * PREROUTING chose (ctstate DNAT in FORWARD), else the
		 * original one reversed. */
		fi.orig = cr->pending.tuple;
		reply = fi.orig;
		memcpy(reply.src, fi.orig.dst, 16);
		memcpy(reply.dst, fi.orig.src, 16);
		reply.sport_be = fi.orig.dport_be;
		reply.dport_be = fi.orig.sport_be;
		fi.reply = cr->pending.nat != 0 ? cr->pending.nat_reply : reply;
	}
	ci->proto = fi.orig.proto;
	dp_fw_tuple(&fi.orig, ci->orig_src, ci->orig_dst, &ci->orig_sport,
	    &ci->orig_dport);
	dp_fw_tuple(&fi.reply, ci->repl_src, ci->repl_dst, &ci->repl_sport,
	    &ci->repl_dport);
}

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
 * A destination translation that changes the port (DNAT 8080 -> :80)
 * changes where the server's replies steer (io_flow_queue() hashes the
 * ports): they may reach another worker than the one that holds the
 * flow, which would not know them.  So PREROUTING takes the destination
 * the rule asks for whatever the steering, and when no source
 * translation makes the replies come back here by then, POSTROUTING
 * moves the client's source port (never its address), as SNAT would, to
 * one whose replies do.  False when none is free.
 */
static bool
dp_nat_steer_back(struct dp_worker *w, struct ct_result *cr, uint64_t now_ns)
{
	const struct ct_tuple *o = &cr->pending.tuple;
	struct ct_nat_range range;

	if ((cr->pending.nat & (CT_MANIP_DST | CT_MANIP_SRC)) != CT_MANIP_DST ||
	    dp_nat_ok(&cr->pending.nat_reply, w))
		return true;
	memset(&range, 0, sizeof(range));
	memcpy(range.addr_lo, o->src, 16);
	memcpy(range.addr_hi, o->src, 16);
	return ct_nat_setup(w->ct, cr, CT_MANIP_SRC, &range, dp_nat_ok, w,
	    now_ns) == 0;
}

/*
 * The nat table for a new flow at hook, and the translation it asks for
 * set up on cr; at POSTROUTING, a forwarded flow's replies made to come
 * back to this worker (dp_nat_steer_back()).  False when the flow must
 * be dropped (no free tuple).  REDIRECT needs no steering: the host's
 * replies come back on the TAP queue this worker punted the flow to
 * (src/io/tap.c), or are handed to it through the redirect map (host.c).
 */
bool
dp_nat_new(struct dp_worker *w, const struct fw_prog *prog,
    struct ct_result *cr, enum fw_nat_hook hook, const struct pkt *p,
    uint16_t out_if, uint64_t now_ns)
{
	struct fw_ct_info ci;
	struct fw_pkt fp = { .p = p, .in_if = p->in_if, .out_if = out_if,
	    .ct = &ci };
	const struct fw_target *t;
	struct ct_nat_range range;
	uint32_t rule;

	if (cr->state != CT_STATE_NEW || cr->entry != CT_ENTRY_NONE ||
	    cr->frag_follow)
		return true;
	dp_fw_ct_info(w->ct, cr, now_ns, &ci);
	rule = fw_eval_nat(prog, w->id, hook, &fp, now_ns);
	if (rule != FW_RULE_NONE && dp_nat_range(w,
	    (t = fw_prog_target(prog, rule)), p, out_if, &range)) {
		if (ct_nat_setup(w->ct, cr, hook == FW_NAT_PREROUTING ?
		    CT_MANIP_DST : CT_MANIP_SRC, &range,
		    hook == FW_NAT_PREROUTING ? NULL : dp_nat_ok, w,
		    now_ns) != 0)
			return false;
		/* A DNAT to hexgate's own address is the host's like a
		 * REDIRECT: if its replies do not steer here, the map
		 * says where they go. */
		if (t->kind == FW_T_REDIRECT || (hook == FW_NAT_PREROUTING &&
		    !dp_nat_ok(&cr->pending.nat_reply, w)))
			dp_redir_note(w, cr);
	}
	return hook != FW_NAT_POSTROUTING || dp_nat_steer_back(w, cr, now_ns);
}
