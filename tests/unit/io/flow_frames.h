/*
 * tests/unit/io/flow_frames.h: frames of every kind the flow steering
 * (src/io/flow.c) tells apart, shared by test_flow.c (against a cBPF
 * interpreter) and test_netns.c (against the kernel).  ff_build(kind, r,
 * reverse) makes the frame of flow r in one direction; reverse gives the
 * other direction of the same flow (swapped addresses and ports, an echo
 * reply, an ARP reply, an ICMP error flowing back).
 */
#ifndef FLOW_FRAMES_H
#define FLOW_FRAMES_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FF_FRAME_MAX	160

enum ff_kind {
	FF_UDP4,
	FF_TCP4,
	FF_SCTP4,
	FF_UDPLITE4,
	FF_ICMP4_ECHO,
	FF_ICMP4_TSTAMP,
	FF_ICMP4_ERR,		/* port unreachable quoting FF_UDP4 (same r) */
	FF_ICMP4_OTHER,		/* router advertisement: by addresses */
	FF_IP4_FRAG_FIRST,	/* MF, UDP header present */
	FF_IP4_FRAG_LATER,	/* offset 185 */
	FF_IP4_GRE,
	FF_IP4_OPTIONS,		/* IHL 6, UDP */
	FF_IP4_TRUNC,		/* IHL 15 in a 60-byte frame: queue 0 */
	FF_UDP6,
	FF_TCP6,
	FF_ICMP6_ECHO,
	FF_ICMP6_ERR,		/* packet too big quoting FF_TCP6 (same r) */
	FF_IP6_FRAG,
	FF_IP6_HOPOPTS,		/* hop-by-hop then UDP: by addresses */
	FF_ARP,
	FF_VLAN_UDP4,		/* one 802.1Q tag */
	FF_QINQ_UDP4,		/* two tags: queue 0 */
	FF_OTHER_ETHERTYPE,	/* 0x88b5 */
	/* ESP: reverse swaps the addresses and keeps the SPI and ports
	 * (the same SA's packets seen from the other side's addresses) */
	FF_ESP4,		/* SPI ff_spi(r) */
	FF_ESP4_SPI0,		/* SPI 0: by addresses */
	FF_ESP4_FRAG,		/* first fragment: by addresses */
	FF_ESP6,
	FF_ESP_UDP4,		/* to 4500, the same SPI as FF_ESP4 */
	FF_ESP_UDP6,
	FF_IKE_UDP4,		/* to 4500, non-ESP marker: by ports */
	FF_KEEPALIVE4,		/* to 4500, one 0xff byte, padded frame */
	FF_ESP_UDP4_SHORT,	/* UDP length 10 with a non-zero word after */
	FF_KIND_COUNT
};

static const char *const ff_kind_name[FF_KIND_COUNT] = {
	[FF_UDP4] = "udp4", [FF_TCP4] = "tcp4", [FF_SCTP4] = "sctp4",
	[FF_UDPLITE4] = "udplite4", [FF_ICMP4_ECHO] = "icmp4 echo",
	[FF_ICMP4_TSTAMP] = "icmp4 timestamp", [FF_ICMP4_ERR] = "icmp4 error",
	[FF_ICMP4_OTHER] = "icmp4 router adv",
	[FF_IP4_FRAG_FIRST] = "ip4 first fragment",
	[FF_IP4_FRAG_LATER] = "ip4 later fragment", [FF_IP4_GRE] = "gre4",
	[FF_IP4_OPTIONS] = "ip4 options", [FF_IP4_TRUNC] = "ip4 truncated",
	[FF_UDP6] = "udp6", [FF_TCP6] = "tcp6", [FF_ICMP6_ECHO] = "icmp6 echo",
	[FF_ICMP6_ERR] = "icmp6 error", [FF_IP6_FRAG] = "ip6 fragment",
	[FF_IP6_HOPOPTS] = "ip6 hop-by-hop", [FF_ARP] = "arp",
	[FF_VLAN_UDP4] = "vlan udp4", [FF_QINQ_UDP4] = "qinq udp4",
	[FF_OTHER_ETHERTYPE] = "ethertype 0x88b5",
	[FF_ESP4] = "esp4", [FF_ESP4_SPI0] = "esp4 spi 0",
	[FF_ESP4_FRAG] = "esp4 fragment", [FF_ESP6] = "esp6",
	[FF_ESP_UDP4] = "esp in udp4", [FF_ESP_UDP6] = "esp in udp6",
	[FF_IKE_UDP4] = "ike on udp4 4500", [FF_KEEPALIVE4] = "nat keepalive4",
	[FF_ESP_UDP4_SHORT] = "udp4 4500 too short for a spi",
};

/* Flow r's SPI: never zero. */
static uint32_t
ff_spi(uint32_t r)
{
	return ((r + 1) * 2654435761u) | 0x100;
}

/* The ESP-in-UDP source port of flow r: 4500, or a NAT's. */
static uint16_t
ff_natt_sport(uint32_t r)
{
	return r % 3 == 0 ? 4500 : (uint16_t)(1024 + r * 13);
}

static const uint8_t ff_dmac[6] = { 2, 0, 0, 0, 0x0a, 1 };

struct ff_flow {
	uint32_t a4, b4;
	uint8_t a6[16], b6[16];
	uint16_t sport, dport, id;
};

static void
ff_flow_of(uint32_t r, struct ff_flow *fl)
{
	uint32_t x = r * 2654435761u, y = (r ^ 0x5bd1e995u) * 2246822519u;

	fl->a4 = 0x0a000001u | (r & 0xffff) << 8;
	fl->b4 = 0xc6336400u | (y >> 24);
	memset(fl->a6, 0, 16);
	memset(fl->b6, 0, 16);
	fl->a6[0] = 0x20, fl->a6[1] = 0x01, fl->a6[2] = 0x0d, fl->a6[3] = 0xb8;
	memcpy(fl->b6, fl->a6, 4);
	memcpy(fl->a6 + 8, &x, 4);
	memcpy(fl->b6 + 12, &y, 4);
	fl->b6[15] |= 1;
	fl->sport = (uint16_t)(x >> 16);
	fl->dport = (uint16_t)(y & 0xffff);
	/* some flows with well-known ports and equal ports */
	if (r % 5 == 1)
		fl->dport = 443;
	if (r % 11 == 3)
		fl->dport = fl->sport;
	fl->id = (uint16_t)(x ^ y);
}

static void
ff_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
ff_put32(uint8_t *p, uint32_t v)
{
	ff_put16(p, (uint16_t)(v >> 16));
	ff_put16(p + 2, (uint16_t)v);
}

static void
ff_ip4_csum(uint8_t *ip)
{
	unsigned hlen = (ip[0] & 0xf) * 4u;
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (unsigned i = 0; i < hlen; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ff_put16(ip + 10, (uint16_t)~sum);
}

/* An IPv4 header (IHL ihl) at ip; returns its length. */
static unsigned
ff_ip4(uint8_t *ip, unsigned ihl, uint8_t proto, uint32_t src, uint32_t dst,
    uint16_t frag, unsigned l4_len)
{
	memset(ip, 0, ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	ff_put16(ip + 2, (uint16_t)(ihl * 4 + l4_len));
	ff_put16(ip + 4, 0x1234);
	ff_put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	ff_put32(ip + 12, src);
	ff_put32(ip + 16, dst);
	if (ihl > 5)
		ip[20] = 1;	/* NOP options */
	ff_ip4_csum(ip);
	return ihl * 4;
}

static unsigned
ff_ip6(uint8_t *ip, uint8_t nh, const uint8_t *src, const uint8_t *dst,
    unsigned pl_len)
{
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ff_put16(ip + 4, (uint16_t)pl_len);
	ip[6] = nh;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return 40;
}

/* 8 bytes of ports (UDP-like); TCP gets its 20. */
static unsigned
ff_ports(uint8_t *l4, uint8_t proto, uint16_t sp, uint16_t dp)
{
	unsigned len = proto == 6 ? 20 : 8;

	memset(l4, 0, len);
	ff_put16(l4, sp);
	ff_put16(l4 + 2, dp);
	if (proto == 6) {
		l4[12] = 0x50;
		l4[13] = 0x02;	/* SYN */
	}
	return len;
}

static unsigned
ff_eth(uint8_t *f, const uint8_t *smac, uint16_t type, unsigned tags)
{
	unsigned off = 12;

	memcpy(f, ff_dmac, 6);
	memcpy(f + 6, smac, 6);
	for (unsigned t = 0; t < tags; t++) {
		ff_put16(f + off, t == 0 && tags == 2 ? 0x88a8 : 0x8100);
		ff_put16(f + off + 2, (uint16_t)(100 + t));
		off += 4;
	}
	ff_put16(f + off, type);
	return off + 2;
}

static uint16_t
ff_pad(uint8_t *f, unsigned len)
{
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return (uint16_t)len;
}

/* The IPv4 packet of flow fl with protocol proto at ip. */
static unsigned
ff_ip4_ports(uint8_t *ip, const struct ff_flow *fl, uint8_t proto,
    bool reverse, unsigned ihl, uint16_t frag)
{
	uint8_t l4[20];
	unsigned l4_len = ff_ports(l4, proto, reverse ? fl->dport : fl->sport,
	    reverse ? fl->sport : fl->dport);
	unsigned hl = ff_ip4(ip, ihl, proto, reverse ? fl->b4 : fl->a4,
	    reverse ? fl->a4 : fl->b4, frag, l4_len);

	memcpy(ip + hl, l4, l4_len);
	return hl + l4_len;
}

static unsigned
ff_ip6_ports(uint8_t *ip, const struct ff_flow *fl, uint8_t proto,
    bool reverse)
{
	unsigned l4_len = ff_ports(ip + 40, proto,
	    reverse ? fl->dport : fl->sport, reverse ? fl->sport : fl->dport);

	ff_ip6(ip, proto, reverse ? fl->b6 : fl->a6, reverse ? fl->a6 : fl->b6,
	    l4_len);
	return 40 + l4_len;
}

static uint16_t
ff_build(uint8_t *f, enum ff_kind kind, uint32_t r, bool reverse,
    const uint8_t *smac)
{
	struct ff_flow fl;
	unsigned off, n;
	uint8_t *ip, *l4;
	const uint8_t *s6, *d6;
	uint32_t s4, d4;

	ff_flow_of(r, &fl);
	memset(f, 0, FF_FRAME_MAX);
	s4 = reverse ? fl.b4 : fl.a4;
	d4 = reverse ? fl.a4 : fl.b4;
	s6 = reverse ? fl.b6 : fl.a6;
	d6 = reverse ? fl.a6 : fl.b6;
	switch (kind) {
	case FF_UDP4:
	case FF_TCP4:
	case FF_SCTP4:
	case FF_UDPLITE4: {
		static const uint8_t proto[] = { 17, 6, 132, 136 };

		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4_ports(f + off, &fl, proto[kind - FF_UDP4], reverse,
		    5, 0x4000);
		return ff_pad(f, off + n);
	}
	case FF_ICMP4_ECHO:
	case FF_ICMP4_TSTAMP:
	case FF_ICMP4_OTHER:
		off = ff_eth(f, smac, 0x0800, 0);
		ip = f + off;
		n = ff_ip4(ip, 5, 1, s4, d4, 0, 8);
		l4 = ip + n;
		if (kind == FF_ICMP4_ECHO)
			l4[0] = reverse ? 0 : 8;
		else if (kind == FF_ICMP4_TSTAMP)
			l4[0] = reverse ? 14 : 13;
		else
			l4[0] = 9;
		ff_put16(l4 + 4, fl.id);
		ff_put16(l4 + 6, 1);
		return ff_pad(f, off + n + 8);
	case FF_ICMP4_ERR:
		/* the UDP packet a->b (or b->a) bounces back from its target */
		off = ff_eth(f, smac, 0x0800, 0);
		ip = f + off;
		n = ff_ip4(ip, 5, 1, d4, s4, 0, 8 + 28);
		l4 = ip + n;
		l4[0] = 3;
		l4[1] = 3;
		(void)ff_ip4_ports(l4 + 8, &fl, 17, reverse, 5, 0x4000);
		return ff_pad(f, off + n + 8 + 28);
	case FF_IP4_FRAG_FIRST:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4_ports(f + off, &fl, 17, reverse, 5, 0x2000);
		return ff_pad(f, off + n);
	case FF_IP4_FRAG_LATER:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4(f + off, 5, 17, s4, d4, 185, 16);
		memset(f + off + n, 0xab, 16);
		return ff_pad(f, off + n + 16);
	case FF_IP4_GRE:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4(f + off, 5, 47, s4, d4, 0, 4);
		ff_put16(f + off + n + 2, 0x6558);
		return ff_pad(f, off + n + 4);
	case FF_IP4_OPTIONS:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4_ports(f + off, &fl, 17, reverse, 6, 0);
		return ff_pad(f, off + n);
	case FF_IP4_TRUNC:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4_ports(f + off, &fl, 17, reverse, 5, 0);
		f[off] = 0x4f;
		return ff_pad(f, off + n);
	case FF_UDP6:
	case FF_TCP6:
		off = ff_eth(f, smac, 0x86dd, 0);
		n = ff_ip6_ports(f + off, &fl, kind == FF_UDP6 ? 17 : 6,
		    reverse);
		return ff_pad(f, off + n);
	case FF_ICMP6_ECHO:
		off = ff_eth(f, smac, 0x86dd, 0);
		ip = f + off;
		n = ff_ip6(ip, 58, s6, d6, 8);
		ip[n] = reverse ? 129 : 128;
		ff_put16(ip + n + 4, fl.id);
		return ff_pad(f, off + n + 8);
	case FF_ICMP6_ERR:
		off = ff_eth(f, smac, 0x86dd, 0);
		ip = f + off;
		n = ff_ip6(ip, 58, d6, s6, 8 + 60);
		ip[n] = 2;
		ff_put32(ip + n + 4, 1280);
		(void)ff_ip6_ports(ip + n + 8, &fl, 6, reverse);
		return ff_pad(f, off + n + 8 + 60);
	case FF_IP6_FRAG:
		off = ff_eth(f, smac, 0x86dd, 0);
		ip = f + off;
		n = ff_ip6(ip, 44, s6, d6, 8 + 8);
		ip[n] = 17;
		ff_put16(ip + n + 2, 1);	/* offset 0, M */
		ff_put32(ip + n + 4, r);
		ff_ports(ip + n + 8, 17, fl.sport, fl.dport);
		return ff_pad(f, off + n + 16);
	case FF_IP6_HOPOPTS:
		off = ff_eth(f, smac, 0x86dd, 0);
		ip = f + off;
		n = ff_ip6(ip, 0, s6, d6, 8 + 8);
		ip[n] = 17;		/* next header; length 0, PadN */
		ip[n + 2] = 1;
		ip[n + 3] = 4;
		ff_ports(ip + n + 8, 17, reverse ? fl.dport : fl.sport,
		    reverse ? fl.sport : fl.dport);
		return ff_pad(f, off + n + 16);
	case FF_ARP:
		off = ff_eth(f, smac, 0x0806, 0);
		l4 = f + off;
		ff_put16(l4, 1);
		ff_put16(l4 + 2, 0x0800);
		l4[4] = 6;
		l4[5] = 4;
		ff_put16(l4 + 6, reverse ? 2 : 1);
		memcpy(l4 + 8, smac, 6);
		ff_put32(l4 + 14, s4);
		ff_put32(l4 + 24, d4);
		return ff_pad(f, off + 28);
	case FF_VLAN_UDP4:
	case FF_QINQ_UDP4:
		off = ff_eth(f, smac, 0x0800, kind == FF_VLAN_UDP4 ? 1 : 2);
		n = ff_ip4_ports(f + off, &fl, 17, reverse, 5, 0);
		return ff_pad(f, off + n);
	case FF_ESP4:
	case FF_ESP4_SPI0:
	case FF_ESP4_FRAG:
		off = ff_eth(f, smac, 0x0800, 0);
		n = ff_ip4(f + off, 5, 50, s4, d4,
		    kind == FF_ESP4_FRAG ? 0x2000 : 0x4000, 24);
		ff_put32(f + off + n, kind == FF_ESP4_SPI0 ? 0 : ff_spi(r));
		ff_put32(f + off + n + 4, 1 + r);
		memset(f + off + n + 8, 0xe5, 16);
		return ff_pad(f, off + n + 24);
	case FF_ESP6:
		off = ff_eth(f, smac, 0x86dd, 0);
		n = ff_ip6(f + off, 50, s6, d6, 24);
		ff_put32(f + off + n, ff_spi(r));
		ff_put32(f + off + n + 4, 1 + r);
		memset(f + off + n + 8, 0xe5, 16);
		return ff_pad(f, off + n + 24);
	case FF_ESP_UDP4:
	case FF_ESP_UDP6:
	case FF_IKE_UDP4:
	case FF_KEEPALIVE4:
	case FF_ESP_UDP4_SHORT: {
		unsigned pl = kind == FF_KEEPALIVE4 ? 1 :
		    kind == FF_ESP_UDP4_SHORT ? 2 : 24;

		if (kind == FF_ESP_UDP6) {
			off = ff_eth(f, smac, 0x86dd, 0);
			n = ff_ip6(f + off, 17, s6, d6, 8 + pl);
		} else {
			off = ff_eth(f, smac, 0x0800, 0);
			n = ff_ip4(f + off, 5, 17, s4, d4, 0x4000, 8 + pl);
		}
		l4 = f + off + n;
		ff_ports(l4, 17, ff_natt_sport(r), 4500);
		ff_put16(l4 + 4, (uint16_t)(8 + pl));
		if (kind == FF_KEEPALIVE4) {
			l4[8] = 0xff;
		} else if (kind == FF_ESP_UDP4_SHORT) {
			/* what follows the datagram is not its payload */
			l4[8] = 1, l4[9] = 2, l4[10] = 3, l4[11] = 4;
			return ff_pad(f, off + n + 8 + 4);
		} else {
			ff_put32(l4 + 8, kind == FF_IKE_UDP4 ? 0 : ff_spi(r));
			ff_put32(l4 + 12, 1 + r);
			memset(l4 + 16, 0xe5, 16);
		}
		return ff_pad(f, off + n + 8 + pl);
	}
	case FF_OTHER_ETHERTYPE:
	default:
		off = ff_eth(f, smac, 0x88b5, 0);
		ff_put32(f + off, r);
		return ff_pad(f, off + 4);
	}
}

#endif /* FLOW_FRAMES_H */
