/*
 * src/tun/vxlan.c: VXLAN encapsulation (RFC 7348): an Ethernet frame
 * inside UDP inside IPv4 or IPv6, with the outer source port taken from
 * the inner flow.  COPY sessions (src/dp/mirror.c) send their copies to a
 * collector this way; routing the result is the caller's job.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "tun.h"

#define VXLAN_UDP_LEN	((uint16_t)sizeof(struct udp_hdr))

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
tun_vxlan_sport(const struct pkt *p, bool parsed)
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
tun_vxlan_build(struct pkt *c, const struct pkt *p, const struct tun_vxlan *v)
{
	bool v6 = v->family == 6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t encap = (uint16_t)(ip_len + VXLAN_UDP_LEN + TUN_VXLAN_HDR_LEN);
	uint16_t over = (uint16_t)(ETH_HDR_LEN + encap);
	uint16_t want, inner, max_inner, l3_len;
	struct eth_hdr *eth;
	struct udp_hdr *udp;
	uint8_t *vx;

	if (v->mtu_bytes <= encap || c->len != 0)
		return -EMSGSIZE;
	max_inner = (uint16_t)HG_MIN(v->mtu_bytes - encap,
	    (int)pkt_tailroom(c) - over);
	if (max_inner < ETH_HDR_LEN || p->len < ETH_HDR_LEN)
		return -EMSGSIZE;
	want = v->snap_bytes != 0 ? HG_MIN(p->len, v->snap_bytes) : p->len;
	inner = HG_MIN(want, max_inner);
	l3_len = (uint16_t)(encap + inner);
	if (pkt_append(c, (uint16_t)(over + inner)) == NULL)
		return -EMSGSIZE;
	memcpy(c->data + over, p->data, inner);

	eth = pkt_eth(c);
	memset(eth, 0, sizeof(*eth));
	eth->type_be = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	udp = (struct udp_hdr *)(void *)(c->data + ETH_HDR_LEN + ip_len);
	udp->sport_be = htons(v->sport);
	udp->dport_be = htons(TUN_VXLAN_PORT);
	udp->len_be = htons((uint16_t)(l3_len - ip_len));
	udp->csum_be = 0;
	/* VXLAN: flags with I set, 24 reserved bits, VNI, 8 reserved. */
	vx = (uint8_t *)(udp + 1);
	memset(vx, 0, TUN_VXLAN_HDR_LEN);
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
		ip->hlim = v->ttl;
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
		ip->ttl = v->ttl;
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
	return want - inner;
}
