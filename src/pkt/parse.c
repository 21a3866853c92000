/*
 * src/pkt/parse.c: header parsing for received frames.  It checks bounds
 * and well-formedness and records where each layer starts; it does not
 * judge addresses, TTLs or transport checksums (src/ip does) and never
 * writes to the frame.
 *
 * Every read is checked against p->len (or against the IP length, which
 * has itself been checked against p->len) before it happens; the fuzzer in
 * tests/fuzz/fuzz_pkt.c holds us to that.  On failure *err_off names the
 * first byte of the offending field, or for a header that does not fit,
 * the first byte of that header.  The metadata fields then hold what was
 * learnt before the failure.
 */
#include <arpa/inet.h>
#include <string.h>

#include "../lib/bytes.h"
#include "pkt.h"

#define VLAN_TAGS_MAX	2	/* outer 802.1ad / 802.1Q plus one inner */
#define IP6_EXT_MAX	8	/* extension headers walked before giving up */

static inline enum pkt_drop
fail(uint16_t *bad, uint16_t off, enum pkt_drop why)
{
	*bad = off;
	return why;
}

static inline bool
is_vlan_tpid(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD;
}

/* Ethernet and up to two tags; *type_off gets the offset of the final
 * EtherType field, so the L3 header starts 2 bytes after it. */
static enum pkt_drop
parse_eth(struct pkt *p, uint16_t *type_off, uint16_t *bad)
{
	const struct eth_hdr *eth = pkt_eth(p);
	uint16_t off = offsetof(struct eth_hdr, type_be);
	int n_tags;

	if (p->len < ETH_HDR_LEN)
		return fail(bad, 0, PKT_DROP_ETH_TRUNC);
	if (pkt_mac_is_bcast(eth->dst))
		p->flags |= PKT_F_L2_BCAST;
	else if (pkt_mac_is_mcast(eth->dst))
		p->flags |= PKT_F_L2_MCAST;

	for (n_tags = 0; is_vlan_tpid(hg_rd16be(p->data + off)); n_tags++) {
		if (n_tags == VLAN_TAGS_MAX)
			return fail(bad, off, PKT_DROP_VLAN_TOO_MANY);
		/* the tag's TCI and the next EtherType follow the TPID */
		if (p->len - off < 2 + VLAN_HDR_LEN)
			return fail(bad, off + 2, PKT_DROP_VLAN_TRUNC);
		if (n_tags == 0) {
			p->vlan_tci = hg_rd16be(p->data + off + 2);
			p->flags |= PKT_F_VLAN;
		}
		off += VLAN_HDR_LEN;
	}
	*type_off = off;
	return PKT_DROP_NONE;
}

/* RFC 826, for Ethernet hardware and IPv4 protocol addresses only. */
static enum pkt_drop
parse_arp(struct pkt *p, uint16_t off, uint16_t *bad)
{
	const struct arp_hdr *arp = pkt_l3(p);

	if (p->len - off < (int)sizeof(*arp))
		return fail(bad, off, PKT_DROP_ARP_TRUNC);
	if (arp->htype_be != htons(ARP_HRD_ETHER))
		return fail(bad, off + offsetof(struct arp_hdr, htype_be),
		    PKT_DROP_ARP_BAD);
	if (arp->ptype_be != htons(ETH_P_IP))
		return fail(bad, off + offsetof(struct arp_hdr, ptype_be),
		    PKT_DROP_ARP_BAD);
	if (arp->hlen != ETH_ALEN)
		return fail(bad, off + offsetof(struct arp_hdr, hlen),
		    PKT_DROP_ARP_BAD);
	if (arp->plen != 4)
		return fail(bad, off + offsetof(struct arp_hdr, plen),
		    PKT_DROP_ARP_BAD);
	p->l3_len = sizeof(*arp);
	return PKT_DROP_NONE;
}

/*
 * RFC 791 §3.1: options are EOL (0, ends the list), NOP (1), or type,
 * length (counting both bytes) and data.  Only the framing is checked;
 * what an option means is left to whoever acts on it.
 */
static enum pkt_drop
parse_ip4_opts(const struct pkt *p, uint16_t off, uint16_t end,
    uint16_t *bad)
{
	while (off < end) {
		uint8_t type = p->data[off], opt_len;

		if (type == 0)
			break;
		if (type == 1) {
			off++;
			continue;
		}
		if (end - off < 2)
			return fail(bad, off, PKT_DROP_IP4_OPTIONS);
		opt_len = p->data[off + 1];
		if (opt_len < 2 || opt_len > end - off)
			return fail(bad, off + 1, PKT_DROP_IP4_OPTIONS);
		off += opt_len;
	}
	return PKT_DROP_NONE;
}

static enum pkt_drop
parse_ip4(struct pkt *p, uint16_t off, uint16_t *bad)
{
	const struct ip4_hdr *ip = pkt_l3(p);
	uint16_t hlen, tot_len, frag;
	enum pkt_drop r;

	if (p->len - off < IP4_HDR_LEN)
		return fail(bad, off, PKT_DROP_IP4_TRUNC);
	if (ip->ver_ihl >> 4 != 4)
		return fail(bad, off, PKT_DROP_IP4_VERSION);
	hlen = (uint16_t)((ip->ver_ihl & 0x0f) * 4);
	if (hlen < IP4_HDR_LEN)
		return fail(bad, off, PKT_DROP_IP4_IHL);
	/* Frame shorter than the IP packet: truncated on the way.  Longer
	 * is fine: Ethernet pads to 60 bytes and l3_len excludes the pad. */
	tot_len = ntohs(ip->tot_len_be);
	if (tot_len > p->len - off || tot_len < hlen)
		return fail(bad, off + offsetof(struct ip4_hdr, tot_len_be),
		    PKT_DROP_IP4_TOTLEN);
	if (pkt_csum(ip, hlen) != 0)
		return fail(bad, off + offsetof(struct ip4_hdr, csum_be),
		    PKT_DROP_IP4_CSUM);
	p->l3_len = tot_len;
	p->l4_proto = ip->proto;
	if (hlen > IP4_HDR_LEN) {
		p->flags |= PKT_F_IP4_OPTS;
		r = parse_ip4_opts(p, off + IP4_HDR_LEN, off + hlen, bad);
		if (r != PKT_DROP_NONE)
			return r;
	}

	frag = ntohs(ip->frag_be);
	if (frag & (IP4_MF | IP4_OFFMASK)) {
		p->flags |= PKT_F_FRAG;
		if ((frag & IP4_OFFMASK) == 0)
			p->flags |= PKT_F_FRAG_FIRST;
	}
	/* Only the first fragment carries the transport header. */
	if ((frag & IP4_OFFMASK) == 0)
		p->l4_off = off + hlen;
	return PKT_DROP_NONE;
}

/* RFC 8200 §4.5.  *stop is set when the walk must end here: in a
 * non-first fragment the rest of the chain is in the first one. */
static void
parse_ip6_frag(struct pkt *p, uint16_t hdr, bool *stop)
{
	const struct ip6_frag *fh = (const void *)(p->data + hdr);
	uint16_t off_m = ntohs(fh->off_be);
	uint16_t frag_off = off_m >> 3;

	/* Offset 0 without M is an atomic fragment, a whole packet
	 * (RFC 6946): not flagged, so nothing waits to reassemble it. */
	if (frag_off != 0 || (off_m & 1) != 0) {
		p->flags |= PKT_F_FRAG;
		if (frag_off == 0)
			p->flags |= PKT_F_FRAG_FIRST;
	}
	*stop = frag_off != 0;
}

/*
 * Walks the extension headers to the first that is not one (the transport,
 * ESP, or No Next Header).  Hop-by-hop options must come first (RFC 8200
 * §4.1); anything else about the order is left alone.
 */
static enum pkt_drop
parse_ip6_ext(struct pkt *p, uint16_t off, uint16_t *bad)
{
	uint16_t end = off + p->l3_len, hdr = off + IP6_HDR_LEN;
	uint16_t nxt_off = off + offsetof(struct ip6_hdr, nxt);
	uint8_t nxt = p->data[nxt_off];
	unsigned hlen;
	bool seen_frag = false, stop;

	for (int n = 0;; n++) {
		switch (nxt) {
		case IPPROTO_HOPOPTS_:
			if (n != 0)
				return fail(bad, nxt_off, PKT_DROP_IP6_EXTHDR);
			break;
		case IPPROTO_ROUTING_:
		case IPPROTO_FRAGMENT_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_AH_:
			break;
		default:
			goto done;
		}
		if (n == IP6_EXT_MAX)
			return fail(bad, hdr, PKT_DROP_IP6_EXTHDR_LIMIT);
		/* every extension header is at least 8 bytes */
		if (end - hdr < 8)
			return fail(bad, hdr, PKT_DROP_IP6_EXTHDR);

		if (nxt == IPPROTO_FRAGMENT_) {
			/* RFC 8200 allows one; a second would make this
			 * a fragment of a fragment */
			if (seen_frag)
				return fail(bad, hdr, PKT_DROP_IP6_EXTHDR);
			seen_frag = true;
			parse_ip6_frag(p, hdr, &stop);
			if (stop) {
				p->l4_proto = p->data[hdr];
				return PKT_DROP_NONE;
			}
			hlen = sizeof(struct ip6_frag);
		} else if (nxt == IPPROTO_AH_) {
			/* RFC 4302 §2.2: 32-bit words, minus 2 */
			hlen = (p->data[hdr + 1] + 2u) * 4;
		} else {
			/* 8-byte units, not counting the first 8 */
			hlen = (p->data[hdr + 1] + 1u) * 8;
		}
		if (hlen > (unsigned)(end - hdr))
			return fail(bad, hdr + 1, PKT_DROP_IP6_EXTHDR);
		nxt_off = hdr;
		nxt = p->data[hdr];
		hdr += hlen;
	}
done:
	p->l4_proto = nxt;
	if (nxt != IPPROTO_NONE_)
		p->l4_off = hdr;
	return PKT_DROP_NONE;
}

static enum pkt_drop
parse_ip6(struct pkt *p, uint16_t off, uint16_t *bad)
{
	const struct ip6_hdr *ip = pkt_l3(p);
	uint16_t plen;

	if (p->len - off < IP6_HDR_LEN)
		return fail(bad, off, PKT_DROP_IP6_TRUNC);
	if (p->data[off] >> 4 != 6)
		return fail(bad, off, PKT_DROP_IP6_VERSION);
	/* Jumbograms (payload length 0, RFC 2675) do not fit a buffer. */
	plen = ntohs(ip->plen_be);
	if (plen > p->len - off - IP6_HDR_LEN)
		return fail(bad, off + offsetof(struct ip6_hdr, plen_be),
		    PKT_DROP_IP6_PLEN);
	p->l3_len = IP6_HDR_LEN + plen;
	return parse_ip6_ext(p, off, bad);
}

/* The fixed part of the transport header must lie inside the IP packet. */
static enum pkt_drop
parse_l4(struct pkt *p, uint16_t *bad)
{
	int room = p->l3_off + p->l3_len - p->l4_off;
	int need;
	unsigned doff_bytes;

	switch (p->l4_proto) {
	case IPPROTO_TCP_:
		need = sizeof(struct tcp_hdr);
		break;
	case IPPROTO_UDP_:
		need = sizeof(struct udp_hdr);
		break;
	case IPPROTO_ICMP_:
		need = p->l3 == PKT_L3_IP4 ? (int)sizeof(struct icmp_hdr) : 0;
		break;
	case IPPROTO_ICMPV6_:
		need = p->l3 == PKT_L3_IP6 ? (int)sizeof(struct icmp6_hdr) : 0;
		break;
	default:
		need = 0;
		break;
	}
	if (room < need)
		return fail(bad, p->l4_off, PKT_DROP_L4_TRUNC);
	if (p->l4_proto == IPPROTO_TCP_) {
		const struct tcp_hdr *th = pkt_l4(p);

		doff_bytes = (th->doff_res >> 4) * 4u;
		if (doff_bytes < sizeof(*th) || doff_bytes > (unsigned)room)
			return fail(bad, p->l4_off +
			    offsetof(struct tcp_hdr, doff_res),
			    PKT_DROP_L4_TRUNC);
	}
	return PKT_DROP_NONE;
}

static void
parse_reset(struct pkt *p)
{
	p->l3 = PKT_L3_NONE;
	p->l3_off = p->l4_off = p->l3_len = 0;
	p->l4_proto = 0;
	p->vlan_tci = 0;
	p->flags = 0;
}

enum pkt_drop
pkt_parse(struct pkt *p, uint16_t *err_off)
{
	uint16_t type_off, bad = 0;
	enum pkt_drop r;

	parse_reset(p);
	r = parse_eth(p, &type_off, &bad);
	if (r != PKT_DROP_NONE)
		goto out;

	p->l3_off = type_off + 2;
	switch (hg_rd16be(p->data + type_off)) {
	case ETH_P_ARP:
		p->l3 = PKT_L3_ARP;
		r = parse_arp(p, p->l3_off, &bad);
		break;
	case ETH_P_IP:
		p->l3 = PKT_L3_IP4;
		r = parse_ip4(p, p->l3_off, &bad);
		break;
	case ETH_P_IPV6:
		p->l3 = PKT_L3_IP6;
		r = parse_ip6(p, p->l3_off, &bad);
		break;
	default:
		r = fail(&bad, type_off, PKT_DROP_ETHERTYPE);
		break;
	}
	if (r == PKT_DROP_NONE && p->l4_off != 0)
		r = parse_l4(p, &bad);
out:
	if (err_off != NULL)
		*err_off = bad;
	return r;
}
