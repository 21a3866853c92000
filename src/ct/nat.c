/*
 * src/ct/nat.c: network address translation on top of conntrack, as
 * Linux's nf_nat does it.  ct_nat_setup() decides a new flow's translation
 * once, by choosing the reply tuple the entry will carry; ct_nat_rewrite()
 * makes every packet of the flow, and every ICMP error quoting it, match
 * the entry's tuples.
 *
 * The rule that drives both: a packet travelling in direction d leaves
 * looking like the inverse of the entry's tuple for !d.  The SRC manip
 * owns a packet's source address and port, the DST manip its destination.
 * The ICMP echo identifier is one field for both directions (a tuple's
 * sport_be): a request's identifier counts as its source port, a reply's
 * as its destination port.
 *
 * Checksums are patched, never recomputed (RFC 1624): a packet whose
 * checksum was wrong stays wrong, so the receiver still drops it.  Every
 * field is written through put(), which returns the change as a one's
 * complement sum; the checksums covering it get that sum.  All 16-bit
 * fields written sit at even offsets from the start of any checksummed
 * region (IP headers are multiples of 4 bytes), so one sum fits all.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "ct_priv.h"

#define NAT_PROBES_MAX	4096	/* tuples tried per setup, at most */
#define NAT_ADDRS_MAX	16	/* addresses of a range tried per setup */

/* ---- checksum patching ---- */

static uint32_t
fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

/* Writes n (even) bytes at field; returns ~old + new summed over them,
 * 0 when nothing changed (or only -0 became +0), and sets *changed
 * (unless NULL) when a byte did. */
static uint32_t
put(bool *changed, uint8_t *field, const void *val, size_t n)
{
	const uint8_t *v = val;
	uint32_t d = 0;

	if (memcmp(field, v, n) == 0)
		return 0;
	if (changed != NULL)
		*changed = true;
	for (size_t i = 0; i < n; i += 2)
		d = fold(d + (uint16_t)~hg_ld16(field + i) + hg_ld16(v + i));
	memcpy(field, v, n);
	return d;
}

/* Patches the checksum at field for a change d elsewhere (RFC 1624 eqn.
 * 3); returns the checksum's own change, for a checksum covering it. */
static uint32_t
csum_patch(uint8_t *field, uint32_t d)
{
	uint16_t c;

	if (d == 0)
		return 0;
	c = (uint16_t)~fold((uint16_t)~hg_ld16(field) + d);
	return put(NULL, field, &c, 2);
}

/* UDP: 0 means "no checksum" in IPv4 and stays so; a sum that comes
 * out 0 is sent as 0xffff (RFC 768). */
static uint32_t
csum_patch_udp(uint8_t *field, uint32_t d, bool v4)
{
	static const uint16_t ones = 0xffff;
	uint32_t dc;

	if (d == 0 || (v4 && hg_ld16(field) == 0))
		return 0;
	dc = csum_patch(field, d);
	if (hg_ld16(field) == 0)
		dc = fold(dc + put(NULL, field, &ones, 2));
	return dc;
}

/* ---- one IP packet: the outer one, or the one an ICMP error quotes ---- */

struct nat_view {
	uint8_t *ip;
	uint8_t *l4;		/* NULL: no transport header to touch */
	size_t  l4_len;		/* bytes of it inside the packet */
	uint8_t l3;		/* PKT_L3_IP4 / PKT_L3_IP6 */
	uint8_t proto;
};

/* What one side (source or destination) of a packet becomes. */
struct nat_side {
	const uint8_t *addr;
	uint16_t port_be;	/* TCP / UDP port, or ICMP echo identifier */
	bool port;		/* write port_be as a TCP / UDP port */
	bool id;		/* write port_be as the echo identifier */
};

static bool
is_echo(uint8_t l3, uint8_t proto)
{
	return (proto == IPPROTO_ICMP_ && l3 == PKT_L3_IP4) ||
	    (proto == IPPROTO_ICMPV6_ && l3 == PKT_L3_IP6);
}

/*
 * Sets the source (side CT_MANIP_SRC) or destination of v to s; returns
 * the change of every byte written, for an enclosing checksum, and sets
 * *changed when there was one.
 */
static uint32_t
manip_view(const struct nat_view *v, uint8_t side, const struct nat_side *s,
    bool *changed)
{
	bool v4 = v->l3 == PKT_L3_IP4, src = side == CT_MANIP_SRC;
	size_t aoff = v4 ? (src ? 12 : 16) : (src ? 8 : 24);
	uint8_t *l4 = v->l4;
	uint32_t d_addr, d_l4, d;

	d_addr = put(changed, v->ip + aoff, s->addr, v4 ? 4 : 16);
	d = d_addr;
	if (v4)		/* the IPv4 header checksum */
		d = fold(d + csum_patch(v->ip + 10, d_addr));
	if (l4 == NULL)
		return d;

	switch (v->proto) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		d_l4 = 0;
		if (s->port && v->l4_len >= 4)
			d_l4 = put(changed, l4 + (src ? 0 : 2), &s->port_be,
			    2);
		d = fold(d + d_l4);
		/* The pseudo-header covers the addresses.  A quote may
		 * stop before the checksum: then it stays as it is. */
		if (v->proto == IPPROTO_TCP_ && v->l4_len >= 18)
			d = fold(d + csum_patch(l4 + 16, fold(d_addr + d_l4)));
		else if (v->proto == IPPROTO_UDP_ && v->l4_len >= 8)
			d = fold(d + csum_patch_udp(l4 + 6,
			    fold(d_addr + d_l4), v4));
		return d;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (!is_echo(v->l3, v->proto) || v->l4_len < 8)
			return d;
		d_l4 = s->id ? put(changed, l4 + 4, &s->port_be, 2) : 0;
		d = fold(d + d_l4);
		/* ICMPv6 has a pseudo-header, ICMP does not */
		if (!v4)
			d_l4 = fold(d_l4 + d_addr);
		return fold(d + csum_patch(l4 + 2, d_l4));
	default:
		return d;
	}
}

/*
 * The side of a packet travelling in direction dir that the manip owns,
 * as the inverse of other (the entry's tuple for the other direction).
 */
static void
side_of_answer(const struct ct_tuple *other, enum ct_dir dir, uint8_t manip,
    struct nat_side *s)
{
	bool echo = is_echo(other->l3, other->proto);
	bool ports = other->proto == IPPROTO_TCP_ ||
	    other->proto == IPPROTO_UDP_;

	if (manip == CT_MANIP_SRC) {
		s->addr = other->dst;
		s->port_be = echo ? other->sport_be : other->dport_be;
		s->id = echo && dir == CT_DIR_ORIGINAL;
	} else {
		s->addr = other->src;
		s->port_be = other->sport_be;
		s->id = echo && dir == CT_DIR_REPLY;
	}
	s->port = ports;
}

/* The side of a packet that is exactly tuple k (direction dir). */
static void
side_of_tuple(const struct ct_tuple *k, enum ct_dir dir, uint8_t side,
    struct nat_side *s)
{
	bool echo = is_echo(k->l3, k->proto);

	if (side == CT_MANIP_SRC) {
		s->addr = k->src;
		s->port_be = k->sport_be;
		s->id = echo && dir == CT_DIR_ORIGINAL;
	} else {
		s->addr = k->dst;
		s->port_be = echo ? k->sport_be : k->dport_be;
		s->id = echo && dir == CT_DIR_REPLY;
	}
	s->port = k->proto == IPPROTO_TCP_ || k->proto == IPPROTO_UDP_;
}

/*
 * Finds the packet an ICMP error quotes, from off to end of p's buffer.
 * The same walk as classify.c's, with the same bounds: the bytes are
 * untrusted.  False when there is nothing to rewrite.
 */
static bool
quote_view(const struct pkt *p, uint16_t off, uint16_t end,
    struct nat_view *v)
{
	uint8_t *ip = p->data + off;
	unsigned hdr, hlen;
	uint8_t nxt;

	memset(v, 0, sizeof(*v));
	v->ip = ip;
	v->l3 = p->l3;
	if (p->l3 == PKT_L3_IP4) {
		if (end - off < IP4_HDR_LEN || ip[0] >> 4 != 4)
			return false;
		hlen = (ip[0] & 0x0f) * 4u;
		if (hlen < IP4_HDR_LEN || hlen > (unsigned)(end - off))
			return false;
		v->proto = ip[offsetof(struct ip4_hdr, proto)];
		hdr = off + hlen;
	} else {
		if (end - off < IP6_HDR_LEN || ip[0] >> 4 != 6)
			return false;
		nxt = ip[offsetof(struct ip6_hdr, nxt)];
		hdr = off + IP6_HDR_LEN;
		for (int n = 0; nxt == IPPROTO_HOPOPTS_ ||
		    nxt == IPPROTO_ROUTING_ || nxt == IPPROTO_DSTOPTS_ ||
		    nxt == IPPROTO_FRAGMENT_ || nxt == IPPROTO_AH_; n++) {
			const uint8_t *h = p->data + hdr;

			if (n == 8 || end - hdr < 8)
				return false;
			if (nxt == IPPROTO_FRAGMENT_)
				hlen = 8;
			else if (nxt == IPPROTO_AH_)
				hlen = (h[1] + 2u) * 4;
			else
				hlen = (h[1] + 1u) * 8;
			if (hlen > end - hdr)
				return false;
			nxt = h[0];
			hdr += hlen;
		}
		v->proto = nxt;
	}
	v->l4 = p->data + hdr;
	v->l4_len = end - hdr;
	return true;
}

/*
 * An ICMP error travelling in direction dir about the flow with tuples k:
 * the quoted packet (direction !dir) must read as k[!dir] and the outer
 * header as any packet travelling in dir.  The quote is fixed with the
 * opposite manip: where the outer destination is translated, the quoted
 * source is the same address.  Linux: nf_nat_icmp_reply_translation().
 */
static bool
rewrite_error(const struct ct_tuple k[CT_DIR_COUNT], enum ct_dir dir,
    struct pkt *p, uint8_t manip)
{
	uint16_t end = p->l3_off + p->l3_len;
	enum ct_dir qdir = dir == CT_DIR_ORIGINAL ? CT_DIR_REPLY :
	    CT_DIR_ORIGINAL;
	uint8_t *icmp = pkt_l4(p);
	struct nat_view outer = { .ip = pkt_l3(p), .l3 = p->l3 }, in;
	uint8_t other = manip ^ (CT_MANIP_SRC | CT_MANIP_DST);
	uint32_t d_quote, d_outer;
	bool changed = false;
	struct nat_side s;

	if (!quote_view(p, p->l4_off + 8, end, &in) ||
	    in.proto != k[qdir].proto)
		return false;
	side_of_tuple(&k[qdir], qdir, other, &s);
	d_quote = manip_view(&in, other, &s, &changed);

	side_of_answer(&k[qdir], dir, manip, &s);
	d_outer = manip_view(&outer, manip, &s, &changed);
	/* ICMP sums its message; ICMPv6 adds the pseudo-header, whose
	 * only change is the address just written (no IPv6 checksum
	 * there to muddle d_outer). */
	if (p->l3 == PKT_L3_IP4)
		d_outer = 0;
	csum_patch(icmp + 2, fold(d_quote + d_outer));
	return changed;
}

bool
ct_nat_rewrite(const struct ct_table *t, const struct ct_result *r,
    struct pkt *p, uint8_t manip)
{
	const struct ct_tuple *k;
	struct ct_tuple pend[CT_DIR_COUNT];
	bool changed = false;
	struct nat_view v;
	struct nat_side s;
	uint8_t nat, need;

	if (manip != CT_MANIP_SRC && manip != CT_MANIP_DST)
		return false;
	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6)
		return false;
	if (r->state == CT_STATE_INVALID || r->state == CT_STATE_UNTRACKED)
		return false;
	if (r->entry != CT_ENTRY_NONE) {
		const struct ct_entry *e;

		if (r->entry >= t->n_entries)
			return false;
		e = &t->entries[r->entry];
		if (!(e->flags & CT_E_USED))
			return false;
		k = e->tuple;
		nat = e->nat;
	} else {
		if (r->state != CT_STATE_NEW || r->pending.nat == 0)
			return false;
		pend[CT_DIR_ORIGINAL] = r->pending.tuple;
		pend[CT_DIR_REPLY] = r->pending.nat_reply;
		k = pend;
		nat = r->pending.nat;
	}
	/* The manip owns the translated side of the original direction;
	 * in the reply direction that side is the other one. */
	need = r->dir == CT_DIR_ORIGINAL ? manip :
	    manip ^ (CT_MANIP_SRC | CT_MANIP_DST);
	if (!(nat & need) || k[0].l3 != p->l3)
		return false;

	if (r->state == CT_STATE_RELATED)
		return rewrite_error(k, r->dir, p, manip);

	memset(&v, 0, sizeof(v));
	v.ip = pkt_l3(p);
	v.l3 = p->l3;
	v.proto = p->l4_proto;
	if (p->l4_off != 0 && p->l4_proto == k[0].proto) {
		/* a later fragment has no transport header: the first
		 * fragment's checksum carries the pseudo-header change */
		v.l4 = pkt_l4(p);
		v.l4_len = (size_t)(p->l3_off + p->l3_len - p->l4_off);
	}
	side_of_answer(&k[!r->dir], r->dir, manip, &s);
	(void)manip_view(&v, manip, &s, &changed);
	return changed;
}

/* ---- choosing a translation ---- */

/* A multiply-xorshift over n bytes (a multiple of 8), salted. */
static uint64_t
nat_hash(const struct ct_table *t, const void *data, size_t n, uint64_t salt)
{
	const uint8_t *b = data;
	uint64_t h = t->seed ^ salt, w;

	for (size_t i = 0; i < n; i += 8) {
		memcpy(&w, b + i, 8);
		h ^= w;
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static uint64_t
nat_random(struct ct_table *t)
{
	/* xorshift64* (Vigna): not for secrets, only to spread ports */
	t->nat_rng ^= t->nat_rng >> 12;
	t->nat_rng ^= t->nat_rng << 25;
	t->nat_rng ^= t->nat_rng >> 27;
	return t->nat_rng * 0x2545f4914f6cdd1dULL;
}

/* What one setup searches: the candidate reply tuple and where in it
 * the address and the port sit. */
struct nat_search {
	struct ct_table *t;
	ct_nat_ok_fn ok;
	void *ok_arg;
	uint64_t now_ns;
	struct ct_tuple cand;
	uint8_t *addr;		/* in cand: the address to choose */
	uint16_t *port_be;	/* in cand: the port to choose, or NULL */
	uint16_t orig_port;	/* host order */
	uint32_t port_lo, port_hi;	/* host order, inclusive */
	bool keep;		/* try orig_port first */
	bool search;		/* may move off orig_port */
	uint64_t port_off;	/* where the search starts */
};

static bool
cand_free(struct nat_search *ns)
{
	enum ct_dir dir;

	if (ns->ok != NULL && !ns->ok(&ns->cand, ns->ok_arg))
		return false;
	return ct_lookup(ns->t, &ns->cand, ns->now_ns, &dir) ==
	    CT_ENTRY_NONE;
}

/* Finds a free port for the address already in cand, trying at most
 * budget of them.  *remapped when the port is not the original. */
static bool
search_ports(struct nat_search *ns, uint32_t budget, bool *remapped)
{
	uint32_t size = ns->port_hi - ns->port_lo + 1;

	*remapped = false;
	if (ns->keep) {
		if (ns->port_be != NULL)
			*ns->port_be = htons(ns->orig_port);
		if (cand_free(ns))
			return true;
	}
	if (!ns->search || ns->port_be == NULL)
		return false;
	*remapped = true;
	budget = HG_MIN(budget, size);
	for (uint32_t i = 0; i < budget; i++) {
		uint32_t port = ns->port_lo + (uint32_t)((ns->port_off + i) %
		    size);

		if (ns->keep && port == ns->orig_port)
			continue;	/* tried above */
		*ns->port_be = htons((uint16_t)port);
		if (cand_free(ns))
			return true;
	}
	return false;
}

/* IPv6 ranges are 128-bit numbers; gcc and clang both have the type. */
__extension__ typedef unsigned __int128 nat_u128;

static nat_u128
addr_get(const uint8_t *a, size_t alen)
{
	nat_u128 v = 0;

	for (size_t i = 0; i < alen; i++)
		v = v << 8 | a[i];
	return v;
}

static void
addr_put(uint8_t *a, size_t alen, nat_u128 v)
{
	for (size_t i = alen; i-- > 0; v >>= 8)
		a[i] = (uint8_t)v;
}

/* NETMAP: the prefix's bits from range, the host's from the original. */
static void
addr_netmap(uint8_t *a, size_t alen, const struct ct_nat_range *range)
{
	unsigned plen = range->plen;

	for (size_t i = 0; i < alen; i++) {
		unsigned bits = plen >= 8 ? 8 : plen;
		uint8_t mask = (uint8_t)(0xff00u >> bits);

		a[i] = (uint8_t)((a[i] & ~mask) | (range->addr_lo[i] & mask));
		plen -= bits;
	}
}

/*
 * The port policy of a manip on a flow: SRC may move the source port
 * (or echo identifier), DST only with a port range; other protocols
 * have no port.
 */
static void
port_policy(struct nat_search *ns, uint8_t manip,
    const struct ct_nat_range *range)
{
	uint8_t proto = ns->cand.proto;
	bool echo = is_echo(ns->cand.l3, proto);

	ns->port_be = NULL;
	ns->keep = true;
	ns->search = false;
	if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_)
		ns->port_be = manip == CT_MANIP_SRC ? &ns->cand.dport_be :
		    &ns->cand.sport_be;
	else if (echo && manip == CT_MANIP_SRC)
		ns->port_be = &ns->cand.sport_be;
	if (ns->port_be == NULL)
		return;
	ns->orig_port = ntohs(*ns->port_be);
	if (range->flags & CT_NAT_F_PORTS) {
		ns->port_lo = range->port_lo;
		ns->port_hi = range->port_hi;
		ns->keep = ns->keep && ns->orig_port >= ns->port_lo &&
		    ns->orig_port <= ns->port_hi;
		ns->search = true;
	} else if (manip == CT_MANIP_SRC) {
		ns->port_lo = echo ? 0 : ns->orig_port >= 1024 ? 1024 : 1;
		ns->port_hi = echo || ns->orig_port >= 1024 ? 65535 : 1023;
		ns->search = true;
	}
	/* RANDOM: never the original port, so the ports an inside host
	 * picks cannot be guessed from outside (Linux does the same) */
	if (ns->search && (range->flags & CT_NAT_F_RANDOM))
		ns->keep = false;
}

static bool
range_ok(const struct ct_nat_range *range, size_t alen)
{
	if ((range->flags & CT_NAT_F_PORTS) &&
	    (range->port_lo > range->port_hi || range->port_hi == 0))
		return false;
	if (range->flags & CT_NAT_F_NETMAP)
		return range->plen <= alen * 8;
	return memcmp(range->addr_lo, range->addr_hi, alen) <= 0;
}

int
ct_nat_setup(struct ct_table *t, struct ct_result *r, uint8_t manip,
    const struct ct_nat_range *range, ct_nat_ok_fn ok, void *ok_arg,
    uint64_t now_ns)
{
	const struct ct_tuple *orig = &r->pending.tuple;
	struct nat_search ns = { .t = t, .ok = ok, .ok_arg = ok_arg,
	    .now_ns = now_ns };
	size_t alen = orig->l3 == PKT_L3_IP4 ? 4 : 16;
	uint32_t n_try = 1, budget;
	nat_u128 lo, n_addrs, first;
	uint8_t hkey[32];
	bool remapped;

	if ((manip != CT_MANIP_SRC && manip != CT_MANIP_DST) ||
	    range == NULL)
		return -EINVAL;
	if (r->state != CT_STATE_NEW)
		return -EINVAL;
	/* decided already: with the entry, or by an earlier rule */
	if (r->entry != CT_ENTRY_NONE || r->frag_follow ||
	    (r->pending.nat & manip))
		return 0;
	if (!range_ok(range, alen))
		return -EINVAL;

	if (r->pending.nat != 0)
		ns.cand = r->pending.nat_reply;
	else
		ct_tuple_reverse(&r->pending, &ns.cand);
	/* SRC translates the original source: the reply's destination */
	ns.addr = manip == CT_MANIP_SRC ? ns.cand.dst : ns.cand.src;
	port_policy(&ns, manip, range);
	ns.port_off = (range->flags & CT_NAT_F_RANDOM) ? nat_random(t) :
	    nat_hash(t, orig, sizeof(*orig), 0x706f7274 /* "port" */);

	if (range->flags & CT_NAT_F_NETMAP) {
		addr_netmap(ns.addr, alen, range);
		lo = addr_get(ns.addr, alen);
		n_addrs = 1;
		first = 0;
	} else {
		/* One client, one address: the original source picks it
		 * (and the destination too, unless PERSISTENT), as in
		 * Linux's find_best_ips_proto(). */
		memset(hkey, 0, sizeof(hkey));
		memcpy(hkey, orig->src, 16);
		if (!(range->flags & CT_NAT_F_PERSISTENT))
			memcpy(hkey + 16, orig->dst, 16);
		lo = addr_get(range->addr_lo, alen);
		n_addrs = addr_get(range->addr_hi, alen) - lo + 1;
		first = nat_hash(t, hkey, sizeof(hkey), manip);
		if (n_addrs != 0)	/* 0: all of IPv6, 2^128 */
			first %= n_addrs;
		if (!(range->flags & CT_NAT_F_PERSISTENT))
			n_try = n_addrs == 0 || n_addrs > NAT_ADDRS_MAX ?
			    NAT_ADDRS_MAX : (uint32_t)n_addrs;
	}
	budget = NAT_PROBES_MAX / n_try;
	for (uint32_t i = 0; i < n_try; i++) {
		nat_u128 a = first + i;

		if (n_addrs != 0)
			a %= n_addrs;
		addr_put(ns.addr, alen, lo + a);
		if (search_ports(&ns, budget, &remapped)) {
			r->pending.nat |= manip;
			r->pending.nat_reply = ns.cand;
			t->st.nat_setup++;
			if (remapped)
				t->st.nat_remapped++;
			return 0;
		}
	}
	t->st.nat_no_tuple++;
	return -EADDRNOTAVAIL;
}
