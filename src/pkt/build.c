/*
 * src/pkt/build.c: small frame builders and MAC address text.  Builders
 * write a whole frame into an empty packet and leave it parsed, so the
 * result goes through the same checks as a received frame; the UDP one
 * writes into a plain buffer, for threads with no pool.  The ARP and ND
 * logic that decides what to send lives in src/ip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "../lib/text.h"
#include "pkt.h"

int
pkt_build_arp(struct pkt *p, uint16_t op, const uint8_t eth_dst[ETH_ALEN],
    const uint8_t sha[ETH_ALEN], uint32_t spa_be,
    const uint8_t tha[ETH_ALEN], uint32_t tpa_be)
{
	struct eth_hdr *eth;
	struct arp_hdr *arp;

	p->len = 0;
	eth = pkt_append(p, sizeof(*eth) + sizeof(*arp));
	if (eth == NULL)
		return -EMSGSIZE;
	arp = (struct arp_hdr *)(void *)(eth + 1);

	/* No padding to 60 bytes: the NIC or the kernel pads on output, and
	 * captures stay byte-for-byte what scapy builds. */
	memcpy(eth->dst, eth_dst, ETH_ALEN);
	memcpy(eth->src, sha, ETH_ALEN);
	eth->type_be = htons(ETH_P_ARP);
	arp->htype_be = htons(ARP_HRD_ETHER);
	arp->ptype_be = htons(ETH_P_IP);
	arp->hlen = ETH_ALEN;
	arp->plen = 4;
	arp->op_be = htons(op);
	memcpy(arp->sha, sha, ETH_ALEN);
	arp->spa_be = spa_be;
	memcpy(arp->tha, tha, ETH_ALEN);
	arp->tpa_be = tpa_be;

	if (pkt_parse(p, NULL) != PKT_DROP_NONE)
		return -EINVAL;	/* cannot happen: the frame is fixed-size */
	return 0;
}

size_t
pkt_build_udp(uint8_t *frame, size_t cap, const struct pkt_udp_spec *s,
    const void *payload, size_t len)
{
	bool v6 = s->l3 == PKT_L3_IP6;
	size_t l3_hdr = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	size_t ulen = sizeof(struct udp_hdr) + len;
	size_t n = ETH_HDR_LEN + l3_hdr + ulen;
	struct eth_hdr *eth = (struct eth_hdr *)(void *)frame;
	struct udp_hdr *udp = (struct udp_hdr *)(void *)(frame + ETH_HDR_LEN +
	    l3_hdr);

	if ((s->l3 != PKT_L3_IP4 && !v6) || n > cap ||
	    l3_hdr + ulen > UINT16_MAX)
		return 0;
	memset(frame, 0, n - len);
	memcpy(udp + 1, payload, len);
	eth->type_be = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	udp->sport_be = htons(s->sport);
	udp->dport_be = htons(s->dport);
	udp->len_be = htons((uint16_t)ulen);
	if (v6) {
		struct ip6_hdr *ip = (struct ip6_hdr *)(void *)(eth + 1);

		ip->vtc_flow_be = htonl(6u << 28);
		ip->plen_be = htons((uint16_t)ulen);
		ip->nxt = IPPROTO_UDP_;
		ip->hlim = s->ttl;
		memcpy(ip->src, s->src, 16);
		memcpy(ip->dst, s->dst, 16);
		udp->csum_be = pkt_l4_csum6(ip, udp, (uint32_t)ulen,
		    IPPROTO_UDP_);
	} else {
		struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(eth + 1);

		ip->ver_ihl = 0x45;
		ip->tot_len_be = htons((uint16_t)(IP4_HDR_LEN + ulen));
		ip->id_be = htons(s->ip_id);
		ip->ttl = s->ttl;
		ip->proto = IPPROTO_UDP_;
		memcpy(&ip->src_be, s->src, 4);
		memcpy(&ip->dst_be, s->dst, 4);
		pkt_ip4_set_csum(ip);
		udp->csum_be = pkt_l4_csum4(ip, udp, (uint16_t)ulen,
		    IPPROTO_UDP_);
	}
	/* A sum of 0 goes as 0xffff: 0 says "no checksum" (RFC 768), which
	 * IPv6 does not allow (RFC 8200 §8.1). */
	if (udp->csum_be == 0)
		udp->csum_be = 0xffff;
	return n;
}

char *
pkt_mac_fmt(const uint8_t mac[ETH_ALEN], char buf[18])
{
	(void)snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/* Exactly six pairs of hex digits joined by ':'; nothing before or after. */
int
pkt_mac_parse(const char *s, uint8_t mac[ETH_ALEN])
{
	uint8_t out[ETH_ALEN];

	for (int i = 0; i < ETH_ALEN; i++) {
		int hi = hg_hex_digit(s[0]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hg_hex_digit(s[1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s != (i == ETH_ALEN - 1 ? '\0' : ':'))
			return -EINVAL;
		s++;
	}
	memcpy(mac, out, ETH_ALEN);
	return 0;
}
