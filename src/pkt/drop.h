/*
 * src/pkt/drop.h: every reason the data plane drops a packet, in one list.
 * One list rather than one per module because counters are kept per
 * interface per reason and summed across workers; a single enum makes that
 * a flat array.  Each module adds its reasons to its own section.
 */
#ifndef PKT_DROP_H
#define PKT_DROP_H

#define PKT_DROP_REASONS(X)                                                  \
	X(NONE,             "not dropped")                                   \
	/* parsing: src/pkt/parse.c */                                       \
	X(ETH_TRUNC,        "frame shorter than an Ethernet header")         \
	X(VLAN_TRUNC,       "802.1Q tag truncated")                          \
	X(VLAN_TOO_MANY,    "more than two stacked VLAN tags")               \
	X(ETHERTYPE,        "unsupported EtherType")                         \
	X(ARP_TRUNC,        "ARP packet truncated")                          \
	X(ARP_BAD,          "ARP packet not Ethernet/IPv4")                  \
	X(IP4_TRUNC,        "IPv4 header truncated")                         \
	X(IP4_VERSION,      "IPv4 version field is not 4")                   \
	X(IP4_IHL,          "IPv4 header length below 20 bytes")             \
	X(IP4_TOTLEN,       "IPv4 total length inconsistent with frame")     \
	X(IP4_CSUM,         "IPv4 header checksum mismatch")                 \
	X(IP4_OPTIONS,      "malformed IPv4 options")                        \
	X(IP6_TRUNC,        "IPv6 header truncated")                         \
	X(IP6_VERSION,      "IPv6 version field is not 6")                   \
	X(IP6_PLEN,         "IPv6 payload length inconsistent with frame")   \
	X(IP6_EXTHDR,       "malformed IPv6 extension header")               \
	X(IP6_EXTHDR_LIMIT, "too many IPv6 extension headers")               \
	X(L4_TRUNC,         "transport header truncated")                    \
	/* router: src/ip */                                                 \
	X(L2_OTHER_HOST,    "frame addressed to another station")            \
	X(SRC_MARTIAN,      "source address is multicast or broadcast")      \
	X(L4_CSUM,          "transport checksum mismatch")                   \
	X(ICMP_BAD,         "malformed ICMP message")                        \
	X(ICMP_UNHANDLED,   "ICMP type not handled for a local address")     \
	X(ND_BAD,           "malformed or invalid neighbour discovery")      \
	X(LOCAL_NO_SERVICE, "addressed to hexgate, no service listening")    \
	X(NO_ROUTE,         "no route to destination")                       \
	X(BLACKHOLE,        "route is a blackhole")                          \
	X(TTL_EXPIRED,      "TTL or hop limit expired")                      \
	X(MTU_EXCEEDED,     "too big for the egress MTU")                    \
	X(FRAG_NO_BUFFER,   "no buffer to fragment into")                    \
	X(NEIGH_QUEUE_FULL, "neighbour resolution queue full")               \
	X(NEIGH_FAILED,     "neighbour did not answer resolution")           \
	X(NEIGH_TABLE_FULL, "neighbour table full")                          \
	X(IF_DOWN,          "egress interface is down or has no port")       \
	/* firewall and conntrack: src/fw, src/ct via src/dp */              \
	X(FW_DROP,          "dropped by a firewall rule")                    \
	X(FW_REJECT,        "rejected by a firewall rule")                   \
	X(FW_POLICY,        "default policy: not from a known network")      \
	X(CT_INVALID,       "conntrack: invalid for its flow")               \
	X(CT_TABLE_FULL,    "conntrack table full: new flow refused")        \
	X(CT_SRC_LIMIT,     "conntrack: the source holds its share of flows") \
	X(NAT_NO_TUPLE,     "NAT: no free address and port for a new flow")  \
	X(PUNT_FAILED,      "host TAP could not take the packet")            \
	X(HOST_MCAST,       "multicast from the host TAP (not routed)")      \
	X(HANDOFF_FULL,     "owning worker's handoff ring full")             \
	/* data plane: src/dp, src/io */                                     \
	X(POOL_EMPTY,       "packet buffer pool exhausted")                  \
	X(TX_FULL,          "egress port could not take the frame")          \
	X(OUT_OF_SPACE,     "output batch full")                             \
	/* neighbour table bounds: src/ip/neigh.c */                         \
	X(NEIGH_UNRES_FULL, "too many neighbour resolutions in flight")     \
	X(NEIGH_RECYCLED,   "neighbour entry recycled before it resolved")   \
	/* fragments to hexgate (outer ESP, IKE): src/ip/reass.c via      \
	   src/dp/sa_steer.c */                                             \
	X(REASS_TIMEOUT,    "fragments to hexgate: datagram not whole in time") \
	X(REASS_OVERLAP,    "fragments to hexgate overlap: datagram dropped") \
	X(REASS_DUP,        "fragment to hexgate: exact duplicate")          \
	X(REASS_FULL,       "fragments to hexgate: reassembly table full")   \
	X(REASS_BAD,        "fragments to hexgate: malformed, too many or too big") \
	X(TUNNEL_IN,        "ESP refused by its SA (the SA counts why)")     \
	X(TUNNEL_OUT,       "ESP encapsulation refused (the SA counts why)") \
	X(TUNNEL_NO_ROUTE,  "no route to the tunnel's remote end")           \
	X(TUNNEL_SELECTOR,  "inner addresses outside the tunnel's selectors") \
	X(TUNNEL_NO_SA,     "routed to a tunnel with no SA (IKE: trap asks one)") \
	X(NAT_KEEPALIVE,    "NAT keepalive on UDP 4500 (RFC 3948)")          \
	/* the overlay: src/dp/overlay.c */                                 \
	X(WG_INDEX,         "overlay data for a receiver index no peer has") \
	X(WG_SRC,           "overlay data whose inner source is not its peer's allowed IPs") \
	X(WG_NO_PEER,       "routed to the overlay: no peer's allowed IPs hold the destination") \
	X(WG_BAD,           "overlay port: not a WireGuard message")         \
	/* the control thread's datagrams (IKE): src/dp/ctl.c */            \
	X(ESP_NO_SA,        "ESP for a SPI no tunnel has")                   \
	X(UDP_4500_BAD,     "UDP 4500: neither ESP, IKE nor a keepalive")    \
	X(IKE_QUEUE_FULL,   "control thread's queue full: IKE datagram lost") \
	X(IKE_SRC,          "control thread's datagram not from an address of ours")

enum pkt_drop {
#define PKT_DROP_ENUM(name, text) PKT_DROP_##name,
	PKT_DROP_REASONS(PKT_DROP_ENUM)
#undef PKT_DROP_ENUM
	PKT_DROP_COUNT
};

/* Short snake_case name ("ip4_csum") and the sentence from the list. */
const char *pkt_drop_name(enum pkt_drop reason);
const char *pkt_drop_text(enum pkt_drop reason);

#endif /* PKT_DROP_H */
