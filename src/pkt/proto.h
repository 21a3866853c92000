/*
 * src/pkt/proto.h: wire layouts of the headers hexgate parses and builds.
 * All structs are packed: an IP header sits 14 or 18 bytes into a frame and
 * is rarely 4-byte aligned, so the compiler must emit unaligned accesses.
 * Multi-byte fields are in network byte order and carry _be.
 */
#ifndef PKT_PROTO_H
#define PKT_PROTO_H

#include <stdint.h>

#include "../lib/hg.h"

#define ETH_ALEN	6
#define ETH_HDR_LEN	14
#define VLAN_HDR_LEN	4

/* Spelt exactly as <linux/if_ether.h> does, so a file including both sees
 * identical, legal redefinitions. */
#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define ETH_P_IPV6	0x86DD

struct eth_hdr {
	uint8_t  dst[ETH_ALEN];
	uint8_t  src[ETH_ALEN];
	uint16_t type_be;
} HG_PACKED;

struct vlan_hdr {
	uint16_t tci_be;
	uint16_t type_be;
} HG_PACKED;

#define ARP_HRD_ETHER	1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2

/* ARP for Ethernet and IPv4 only (RFC 826). */
struct arp_hdr {
	uint16_t htype_be;
	uint16_t ptype_be;
	uint8_t  hlen;
	uint8_t  plen;
	uint16_t op_be;
	uint8_t  sha[ETH_ALEN];
	uint32_t spa_be;
	uint8_t  tha[ETH_ALEN];
	uint32_t tpa_be;
} HG_PACKED;

#define IP4_HDR_LEN	20
#define IP4_DF		0x4000
#define IP4_MF		0x2000
#define IP4_OFFMASK	0x1fff

struct ip4_hdr {
	uint8_t  ver_ihl;
	uint8_t  tos;
	uint16_t tot_len_be;
	uint16_t id_be;
	uint16_t frag_be;	/* flags (DF, MF) and offset in 8-byte units */
	uint8_t  ttl;
	uint8_t  proto;
	uint16_t csum_be;
	uint32_t src_be;
	uint32_t dst_be;
} HG_PACKED;

#define IP6_HDR_LEN	40

struct ip6_hdr {
	uint32_t vtc_flow_be;	/* version 4 bits, traffic class 8, flow 20 */
	uint16_t plen_be;
	uint8_t  nxt;
	uint8_t  hlim;
	uint8_t  src[16];
	uint8_t  dst[16];
} HG_PACKED;

/* Generic IPv6 extension header (hop-by-hop, routing, destination opts). */
struct ip6_ext {
	uint8_t nxt;
	uint8_t len;	/* in 8-byte units, not counting the first 8 */
} HG_PACKED;

struct ip6_frag {
	uint8_t  nxt;
	uint8_t  reserved;
	uint16_t off_be;	/* offset << 3 | M flag */
	uint32_t id_be;
} HG_PACKED;

#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ICMP_		1
#define IPPROTO_TCP_		6
#define IPPROTO_UDP_		17
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_ESP_		50
#define IPPROTO_AH_		51
#define IPPROTO_ICMPV6_		58
#define IPPROTO_NONE_		59
#define IPPROTO_DSTOPTS_	60

#define ICMP_ECHO_REPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_ECHO_REQUEST	8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAM_PROBLEM	12
/* ICMP_DEST_UNREACH codes */
#define ICMP_NET_UNREACH	0
#define ICMP_HOST_UNREACH	1
#define ICMP_PROTO_UNREACH	2
#define ICMP_PORT_UNREACH	3
#define ICMP_FRAG_NEEDED	4

struct icmp_hdr {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum_be;
	union {
		struct {
			uint16_t id_be;
			uint16_t seq_be;
		} echo;
		struct {
			uint16_t unused_be;
			uint16_t mtu_be;
		} frag;
		uint32_t rest_be;
	} u;
} HG_PACKED;

#define ICMP6_DEST_UNREACH	1
#define ICMP6_PACKET_TOO_BIG	2
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_PARAM_PROBLEM	4
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_ECHO_REPLY	129
#define ICMP6_ROUTER_SOLICIT	133
#define ICMP6_ROUTER_ADVERT	134
#define ICMP6_NEIGH_SOLICIT	135
#define ICMP6_NEIGH_ADVERT	136
/* ICMP6_DEST_UNREACH codes */
#define ICMP6_NO_ROUTE		0
#define ICMP6_ADDR_UNREACH	3
#define ICMP6_PORT_UNREACH	4

struct icmp6_hdr {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum_be;
	union {
		struct {
			uint16_t id_be;
			uint16_t seq_be;
		} echo;
		uint32_t mtu_be;	/* packet too big */
		uint32_t rest_be;
	} u;
} HG_PACKED;

/* Neighbour solicitation / advertisement body after icmp6_hdr (RFC 4861). */
#define ND_NA_FLAG_ROUTER	0x80000000u
#define ND_NA_FLAG_SOLICITED	0x40000000u
#define ND_NA_FLAG_OVERRIDE	0x20000000u
#define ND_OPT_SOURCE_LLADDR	1
#define ND_OPT_TARGET_LLADDR	2

struct nd_opt_lladdr {
	uint8_t type;
	uint8_t len;	/* in 8-byte units: 1 for Ethernet */
	uint8_t addr[ETH_ALEN];
} HG_PACKED;

struct tcp_hdr {
	uint16_t sport_be;
	uint16_t dport_be;
	uint32_t seq_be;
	uint32_t ack_be;
	uint8_t  doff_res;	/* data offset in 32-bit words, high nibble */
	uint8_t  flags;
	uint16_t win_be;
	uint16_t csum_be;
	uint16_t urg_be;
} HG_PACKED;

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

struct udp_hdr {
	uint16_t sport_be;
	uint16_t dport_be;
	uint16_t len_be;
	uint16_t csum_be;
} HG_PACKED;

#endif /* PKT_PROTO_H */
