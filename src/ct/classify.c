/*
 * src/ct/classify.c: from a parsed packet to a conntrack state.  Builds the
 * flow's tuple (ports for TCP and UDP, identifier and type for ICMP echo,
 * addresses and protocol for anything else), looks it up, and lets the
 * protocol decide; TCP's rules are in tcp.c, storage in table.c.
 *
 * An ICMP error is RELATED when the header it quotes belongs to a tracked
 * flow, INVALID otherwise.  The quote is untrusted bytes: every read below
 * is checked against the end of the outer IP packet first.
 *
 * A packet is ESTABLISHED once its flow has seen a reply, or when it is
 * itself in the reply direction; before that, packets of the original
 * direction stay NEW, as iptables reports them.
 */
#include <arpa/inet.h>

#include "ct_priv.h"

#define ICMP_ERR_HDR_LEN	8	/* type, code, csum, 4 more; quote */
#define IP6_EXT_WALK_MAX	8

/* What a packet is looked up under (key_of()), and its hash. */
#define CT_KEY_NONE	0	/* no lookup: not IP, later fragment, ... */
#define CT_KEY_LOOKUP	1

static void
tuple_addrs(struct ct_tuple *k, uint8_t l3, const uint8_t *src,
    const uint8_t *dst, uint8_t proto)
{
	size_t n = l3 == PKT_L3_IP4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, src, n);
	memcpy(k->dst, dst, n);
	k->l3 = l3;
	k->proto = proto;
}

static void
tuple_of_pkt(struct ct_tuple *k, const struct pkt *p)
{
	const uint8_t *ip = pkt_l3(p);

	if (p->l3 == PKT_L3_IP4)
		tuple_addrs(k, p->l3, ip + offsetof(struct ip4_hdr, src_be),
		    ip + offsetof(struct ip4_hdr, dst_be), p->l4_proto);
	else
		tuple_addrs(k, p->l3, ip + offsetof(struct ip6_hdr, src),
		    ip + offsetof(struct ip6_hdr, dst), p->l4_proto);
}

/* The reply type of a request type Linux tracks, or -1. */
static int
icmp_reply_of(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type == ICMP6_ECHO_REQUEST ? ICMP6_ECHO_REPLY : -1;
	switch (type) {
	case ICMP_ECHO_REQUEST:
		return ICMP_ECHO_REPLY;
	case 13:	/* timestamp */
	case 15:	/* information */
	case 17:	/* address mask */
		return type + 1;
	default:
		return -1;
	}
}

static bool
icmp_is_reply(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type == ICMP6_ECHO_REPLY;
	return type == ICMP_ECHO_REPLY || type == 14 || type == 16 ||
	    type == 18;
}

/* The request type of a reply type, or -1. */
static int
icmp_request_of(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type == ICMP6_ECHO_REPLY ? ICMP6_ECHO_REQUEST : -1;
	switch (type) {
	case ICMP_ECHO_REPLY:
		return ICMP_ECHO_REQUEST;
	case 14:
	case 16:
	case 18:
		return type - 1;
	default:
		return -1;
	}
}

static bool
icmp_is_error(uint8_t l3, uint8_t type)
{
	if (l3 == PKT_L3_IP6)
		return type == ICMP6_DEST_UNREACH ||
		    type == ICMP6_PACKET_TOO_BIG ||
		    type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAM_PROBLEM;
	return type == ICMP_DEST_UNREACH || type == 4 /* source quench */ ||
	    type == 5 /* redirect */ || type == ICMP_TIME_EXCEEDED ||
	    type == ICMP_PARAM_PROBLEM;
}

/* Link-local ICMPv6 that no flow owns: MLD (RFC 2710, 3810) and
 * neighbour discovery (RFC 4861), untracked as in Linux. */
static bool
icmp6_is_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143;
}

/* A packet of a known flow: refresh it and say how iptables sees it. */
static enum ct_state
known(struct ct_table *t, const struct pkt *p, uint32_t idx,
    enum ct_dir dir, uint64_t now_ns, struct ct_result *r)
{
	struct ct_entry *e = &t->entries[idx];

	if (dir == CT_DIR_REPLY)
		e->flags |= CT_E_SEEN_REPLY;
	ct_entry_touch(t, e, dir, p->l3_len, now_ns);
	ct_entry_assure(t, e);
	r->entry = idx;
	r->dir = dir;
	r->state = (e->flags & CT_E_SEEN_REPLY) ? CT_STATE_ESTABLISHED :
	    CT_STATE_NEW;
	return r->state;
}

static enum ct_state
fresh(struct ct_result *r, const struct ct_tuple *k)
{
	r->pending.tuple = *k;
	r->state = CT_STATE_NEW;
	return r->state;
}

static enum ct_state
classify_tcp(struct ct_table *t, const struct pkt *p, uint64_t now_ns,
    struct ct_result *r, const struct ct_key *key)
{
	const struct tcp_hdr *th = pkt_l4(p);
	enum ct_invalid why;
	enum ct_dir dir;
	uint32_t idx;
	bool reopen;

	if (!ct_tcp_flags_ok(th->flags))
		return ct_invalid(t, r, CT_INVALID_TCP_FLAGS);
	idx = ct_lookup_hashed(t, &key->k, key->hash, now_ns, &dir);
	if (idx != CT_ENTRY_NONE) {
		why = ct_tcp_update(&t->entries[idx], p, dir, &reopen);
		if (!reopen) {
			if (why != CT_INVALID_NONE) {
				r->entry = idx;
				r->dir = dir;
				return ct_invalid(t, r, why);
			}
			return known(t, p, idx, dir, now_ns, r);
		}
		ct_entry_free(t, idx);
		t->st.reopened++;
	}
	why = ct_tcp_check_new(p, &r->pending);
	if (why != CT_INVALID_NONE)
		return ct_invalid(t, r, why);
	return fresh(r, &key->k);
}

/* UDP by ports; anything else by addresses and protocol alone. */
static enum ct_state
classify_simple(struct ct_table *t, const struct pkt *p, uint64_t now_ns,
    struct ct_result *r, const struct ct_key *key)
{
	enum ct_dir dir;
	uint32_t idx;

	idx = ct_lookup_hashed(t, &key->k, key->hash, now_ns, &dir);
	if (idx != CT_ENTRY_NONE)
		return known(t, p, idx, dir, now_ns, r);
	return fresh(r, &key->k);
}

/*
 * The transport part of a quoted header, at off (inside the quote) with
 * end the end of the outer packet.  Only what identifies the flow is
 * read: ports, or an ICMP type and identifier.
 */
static enum ct_invalid
quote_l4(const struct pkt *p, uint16_t off, uint16_t end,
    struct ct_tuple *k)
{
	const uint8_t *l4 = p->data + off;
	int reply;

	switch (k->proto) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		/* RFC 792: at least 64 bits of the datagram are quoted */
		if (end - off < 4)
			return CT_INVALID_ICMP_ERR_TRUNC;
		k->sport_be = hg_ld16(l4);
		k->dport_be = hg_ld16(l4 + 2);
		return CT_INVALID_NONE;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if ((k->proto == IPPROTO_ICMP_) != (k->l3 == PKT_L3_IP4))
			return CT_INVALID_NONE;		/* generic */
		if (end - off < ICMP_ERR_HDR_LEN)
			return CT_INVALID_ICMP_ERR_TRUNC;
		/* never an error about an error (RFC 1122 §3.2.2) */
		reply = icmp_reply_of(k->l3, l4[0]);
		if (reply < 0 && !icmp_is_reply(k->l3, l4[0]))
			return CT_INVALID_ICMP_ERR_BAD;
		k->sport_be = hg_ld16(l4 + 4);
		k->dport_be = htons(l4[0]);
		return CT_INVALID_NONE;
	default:
		return CT_INVALID_NONE;
	}
}

static enum ct_invalid
quote_ip4(const struct pkt *p, uint16_t off, uint16_t end,
    struct ct_tuple *k)
{
	const uint8_t *ip = p->data + off;
	unsigned hlen;

	/* the version first: a quote of the wrong family is malformed
	 * however long it is */
	if (end - off < 1)
		return CT_INVALID_ICMP_ERR_TRUNC;
	if (ip[0] >> 4 != 4)
		return CT_INVALID_ICMP_ERR_BAD;
	if (end - off < IP4_HDR_LEN)
		return CT_INVALID_ICMP_ERR_TRUNC;
	hlen = (ip[0] & 0x0f) * 4u;
	if (hlen < IP4_HDR_LEN)
		return CT_INVALID_ICMP_ERR_BAD;
	if (hlen > (unsigned)(end - off))
		return CT_INVALID_ICMP_ERR_TRUNC;
	/* a later fragment quotes no ports */
	if (hg_rd16be(ip + offsetof(struct ip4_hdr, frag_be)) &
	    IP4_OFFMASK)
		return CT_INVALID_ICMP_ERR_BAD;
	tuple_addrs(k, PKT_L3_IP4, ip + offsetof(struct ip4_hdr, src_be),
	    ip + offsetof(struct ip4_hdr, dst_be),
	    ip[offsetof(struct ip4_hdr, proto)]);
	return quote_l4(p, (uint16_t)(off + hlen), end, k);
}

static enum ct_invalid
quote_ip6(const struct pkt *p, uint16_t off, uint16_t end,
    struct ct_tuple *k)
{
	const uint8_t *ip = p->data + off;
	uint16_t hdr = off + IP6_HDR_LEN;
	unsigned hlen;
	uint8_t nxt;

	if (end - off < 1)
		return CT_INVALID_ICMP_ERR_TRUNC;
	if (ip[0] >> 4 != 6)
		return CT_INVALID_ICMP_ERR_BAD;
	if (end - off < IP6_HDR_LEN)
		return CT_INVALID_ICMP_ERR_TRUNC;
	nxt = ip[offsetof(struct ip6_hdr, nxt)];
	for (int n = 0;; n++) {
		const uint8_t *h = p->data + hdr;

		if (nxt != IPPROTO_HOPOPTS_ && nxt != IPPROTO_ROUTING_ &&
		    nxt != IPPROTO_DSTOPTS_ && nxt != IPPROTO_FRAGMENT_ &&
		    nxt != IPPROTO_AH_)
			break;
		if (n == IP6_EXT_WALK_MAX)
			return CT_INVALID_ICMP_ERR_BAD;
		if (end - hdr < 8)
			return CT_INVALID_ICMP_ERR_TRUNC;
		if (nxt == IPPROTO_FRAGMENT_) {
			if (hg_rd16be(h + 2) >> 3 != 0)
				return CT_INVALID_ICMP_ERR_BAD;
			hlen = 8;
		} else if (nxt == IPPROTO_AH_) {
			hlen = (h[1] + 2u) * 4;
		} else {
			hlen = (h[1] + 1u) * 8;
		}
		if (hlen > (unsigned)(end - hdr))
			return CT_INVALID_ICMP_ERR_TRUNC;
		nxt = h[0];
		hdr += hlen;
	}
	tuple_addrs(k, PKT_L3_IP6, ip + offsetof(struct ip6_hdr, src),
	    ip + offsetof(struct ip6_hdr, dst), nxt);
	return quote_l4(p, hdr, end, k);
}

/*
 * The key of the packet that would answer the one k describes, as Linux's
 * nf_ct_invert_tuple(): addresses and ports swapped, an echo request's
 * type turned into its reply's and back.
 */
static void
tuple_invert(const struct ct_tuple *k, struct ct_tuple *inv)
{
	bool echo = (k->proto == IPPROTO_ICMP_ && k->l3 == PKT_L3_IP4) ||
	    (k->proto == IPPROTO_ICMPV6_ && k->l3 == PKT_L3_IP6);

	*inv = *k;
	memcpy(inv->src, k->dst, sizeof(inv->src));
	memcpy(inv->dst, k->src, sizeof(inv->dst));
	if (echo) {
		uint8_t type = (uint8_t)ntohs(k->dport_be);
		int other = icmp_reply_of(k->l3, type);

		if (other < 0)
			other = icmp_request_of(k->l3, type);
		inv->dport_be = htons((uint16_t)other);
	} else {
		inv->sport_be = k->dport_be;
		inv->dport_be = k->sport_be;
	}
}

/*
 * RELATED to the flow the error quotes, travelling against it.  The quote
 * is the packet as it left the side the error comes from, translated or
 * not; the error itself travels like that packet's answer, so the answer's
 * key finds the flow, and in the direction the error travels, whatever
 * NAT did to the quoted packet (this is how Linux looks it up).
 */
static enum ct_state
classify_icmp_error(struct ct_table *t, uint64_t now_ns, struct ct_result *r,
    const struct ct_key *key)
{
	enum ct_dir dir;
	uint32_t idx;

	if (key->why != CT_INVALID_NONE)
		return ct_invalid(t, r, key->why);
	idx = ct_lookup_hashed(t, &key->k, key->hash, now_ns, &dir);
	if (idx == CT_ENTRY_NONE)
		return ct_invalid(t, r, CT_INVALID_ICMP_ERR_FLOW);
	r->entry = idx;
	r->dir = dir;
	r->state = CT_STATE_RELATED;
	return r->state;
}

static enum ct_state
classify_icmp(struct ct_table *t, const struct pkt *p, uint64_t now_ns,
    struct ct_result *r, const struct ct_key *key)
{
	const struct icmp_hdr *ih = pkt_l4(p);	/* ICMPv6 alike here */
	enum ct_dir dir;
	uint32_t idx;
	int reply;

	if (icmp_is_error(p->l3, ih->type))
		return classify_icmp_error(t, now_ns, r, key);
	if (p->l3 == PKT_L3_IP6 && icmp6_is_untracked(ih->type)) {
		r->state = CT_STATE_UNTRACKED;
		return r->state;
	}
	reply = icmp_reply_of(p->l3, ih->type);
	if (reply < 0 && !icmp_is_reply(p->l3, ih->type))
		return ct_invalid(t, r, CT_INVALID_ICMP_TYPE);
	idx = ct_lookup_hashed(t, &key->k, key->hash, now_ns, &dir);
	if (idx != CT_ENTRY_NONE)
		return known(t, p, idx, dir, now_ns, r);
	if (reply < 0)
		return ct_invalid(t, r, CT_INVALID_ICMP_NO_REQ);
	r->pending.icmp_reply_type = (uint8_t)reply;
	return fresh(r, &key->k);
}

/* What the fragments of p's datagram share.  pkt_parse() checked the
 * IPv6 extension chain, so the walk stays inside the packet. */
static void
frag_key(const struct pkt *p, struct ct_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	k->l3 = p->l3;
	k->proto = p->l4_proto;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = pkt_l3(p);

		memcpy(k->src, &ip->src_be, 4);
		memcpy(k->dst, &ip->dst_be, 4);
		k->id = ip->id_be;
	} else {
		const struct ip6_hdr *ip = pkt_l3(p);
		const uint8_t *b = (const uint8_t *)pkt_l3(p);
		uint32_t off = IP6_HDR_LEN, end = p->l3_len;
		uint8_t nxt = ip->nxt;

		memcpy(k->src, ip->src, 16);
		memcpy(k->dst, ip->dst, 16);
		for (int i = 0; i < 8 && off + 8 <= end; i++) {
			if (nxt == IPPROTO_FRAGMENT_) {
				memcpy(&k->id, b + off + 4, 4);
				break;
			}
			if (nxt != IPPROTO_HOPOPTS_ && nxt != IPPROTO_ROUTING_ &&
			    nxt != IPPROTO_DSTOPTS_)
				break;
			nxt = b[off];
			off += (uint32_t)(b[off + 1] + 1) * 8;
		}
	}
}

/* Is p's protocol looked at as ICMP of its own family? */
static bool
pkt_is_icmp(const struct pkt *p)
{
	return (p->l4_proto == IPPROTO_ICMP_ && p->l3 == PKT_L3_IP4) ||
	    (p->l4_proto == IPPROTO_ICMPV6_ && p->l3 == PKT_L3_IP6);
}

/*
 * The key p is looked up under, from its bytes alone: nothing in the
 * table is read or written, so a batch's keys can all be made (and their
 * buckets prefetched) before the first packet is judged.  Which key is
 * the one the judging path below (classify_*) uses: the flow's own for
 * TCP, UDP, ICMP queries and other protocols, the inverted quote for an
 * ICMP error.  A packet that needs no lookup (not IP, a later fragment,
 * untracked ICMPv6) gets CT_KEY_NONE.
 */
static void
key_tuple(const struct pkt *p, struct ct_key *key)
{
	key->kind = CT_KEY_NONE;
	key->why = CT_INVALID_NONE;
	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6)
		return;
	if ((p->flags & PKT_F_FRAG) && !(p->flags & PKT_F_FRAG_FIRST))
		return;
	tuple_of_pkt(&key->k, p);
	if (p->l4_proto == IPPROTO_TCP_ || p->l4_proto == IPPROTO_UDP_) {
		/* TCP and UDP start with the same two ports */
		const struct udp_hdr *uh = pkt_l4(p);

		key->k.sport_be = uh->sport_be;
		key->k.dport_be = uh->dport_be;
	} else if (pkt_is_icmp(p)) {
		const struct icmp_hdr *ih = pkt_l4(p);

		if (icmp_is_error(p->l3, ih->type)) {
			uint16_t end = p->l3_off + p->l3_len;
			uint16_t off = p->l4_off + ICMP_ERR_HDR_LEN;
			struct ct_tuple quoted;

			key->why = p->l3 == PKT_L3_IP4 ?
			    quote_ip4(p, off, end, &quoted) :
			    quote_ip6(p, off, end, &quoted);
			if (key->why != CT_INVALID_NONE)
				return;
			tuple_invert(&quoted, &key->k);
		} else if (p->l3 == PKT_L3_IP6 &&
		    icmp6_is_untracked(ih->type)) {
			return;
		} else {
			key->k.sport_be = ih->u.echo.id_be;
			key->k.dport_be = htons(ih->type);
		}
	}
	key->kind = CT_KEY_LOOKUP;
}

static void
key_of(const struct ct_table *t, const struct pkt *p, struct ct_key *key)
{
	key_tuple(p, key);
	if (key->kind != CT_KEY_NONE)
		key->hash = ct_tuple_hash(t, &key->k);
}

/* ct_classify() with p's key made already (key_of()). */
static enum ct_state
classify_keyed(struct ct_table *t, const struct pkt *p, uint64_t now_ns,
    struct ct_result *r, const struct ct_key *key)
{
	memset(r, 0, sizeof(*r));
	r->entry = CT_ENTRY_NONE;
	r->dir = CT_DIR_ORIGINAL;
	r->reason = CT_INVALID_NONE;
	r->pending.len_bytes = p->l3_len;

	if (p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6)
		return ct_invalid(t, r, CT_INVALID_NOT_IP);
	if (p->flags & PKT_F_FRAG) {
		frag_key(p, &r->frag);
		if (!(p->flags & PKT_F_FRAG_FIRST))
			return ct_frag_follow(t, &r->frag, now_ns, r);
		r->frag_first = true;
	}

	switch (p->l4_proto) {
	case IPPROTO_TCP_:
		return classify_tcp(t, p, now_ns, r, key);
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (pkt_is_icmp(p))
			return classify_icmp(t, p, now_ns, r, key);
		return classify_simple(t, p, now_ns, r, key);
	default:
		return classify_simple(t, p, now_ns, r, key);
	}
}

enum ct_state
ct_classify(struct ct_table *t, const struct pkt *p, uint64_t now_ns,
    struct ct_result *r)
{
	struct ct_key key;

	key_of(t, p, &key);
	return classify_keyed(t, p, now_ns, r, &key);
}

/*
 * Three passes over a chunk, as ip_fib4_lookup_bulk() does: make every
 * key and prefetch its bucket; read the buckets and prefetch the entry
 * at the head of each chain (all three lines: the tuples and timer to
 * compare, the TCP state and counters a hit writes); then judge each
 * packet in order with classify_keyed(), the very path ct_classify()
 * takes.  The first two passes only read packets and hint the cache, so
 * the results are ct_classify()'s, packet by packet.  A chunk is bounded
 * so that its keys stay in L1 while their misses overlap.
 */
#define CT_BULK_CHUNK	64

static inline void
prefetch_entry(const struct ct_table *t, const struct ct_key *key)
{
	uint32_t node;
	const char *e;

	if (key->kind == CT_KEY_NONE)
		return;
	node = t->buckets[key->hash & t->bucket_mask];
	if (node == CT_NIL)
		return;
	e = (const char *)&t->entries[node / 2];
	hg_prefetch(e);
	hg_prefetch(e + HG_CACHE_LINE);
	hg_prefetch(e + 2 * HG_CACHE_LINE);
}

void
ct_classify_bulk(struct ct_table *t, struct pkt *const *pkts, uint32_t n,
    uint64_t now_ns, struct ct_result *out)
{
	struct ct_key key[CT_BULK_CHUNK];
	uint32_t base, m, i;

	for (base = 0; base < n; base += m) {
		m = HG_MIN(n - base, CT_BULK_CHUNK);
		ct_prefetch_bulk(t, pkts + base, m, key);
		for (i = 0; i < m; i++)
			(void)classify_keyed(t, pkts[base + i], now_ns,
			    &out[base + i], &key[i]);
	}
}

void
ct_prefetch_bulk(struct ct_table *t, struct pkt *const *pkts, uint32_t n,
    struct ct_key *keys)
{
	uint32_t base, m, i;

	for (base = 0; base < n; base += m) {
		m = HG_MIN(n - base, CT_BULK_CHUNK);
		for (i = base; i < base + m; i++) {
			key_of(t, pkts[i], &keys[i]);
			if (keys[i].kind != CT_KEY_NONE)
				hg_prefetch(&t->buckets[keys[i].hash &
				    t->bucket_mask]);
		}
		for (i = base; i < base + m; i++)
			prefetch_entry(t, &keys[i]);
	}
}

enum ct_state
ct_classify_key(struct ct_table *t, const struct pkt *p,
    const struct ct_key *key, uint64_t now_ns, struct ct_result *r)
{
	return classify_keyed(t, p, now_ns, r, key);
}

void
ct_pkt_frag_key(const struct pkt *p, struct ct_frag_key *k)
{
	frag_key(p, k);
}

bool
ct_pkt_tuple(const struct pkt *p, struct ct_tuple *k)
{
	struct ct_key key;

	key_tuple(p, &key);
	*k = key.k;
	return key.kind != CT_KEY_NONE;
}

bool
ct_holds(struct ct_table *t, const struct pkt *p, uint64_t now_ns)
{
	struct ct_key key;
	enum ct_dir dir;

	key_of(t, p, &key);
	return key.kind != CT_KEY_NONE && ct_lookup_hashed(t, &key.k,
	    key.hash, now_ns, &dir) != CT_ENTRY_NONE;
}
