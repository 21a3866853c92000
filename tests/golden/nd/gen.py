#!/usr/bin/python3
"""
tests/golden/nd/gen.py: IPv6 neighbour discovery (RFC 4861).
Responder: a neighbour solicitation for our global or link-local address,
sent to its solicited-node group with a source link-layer option, is
answered with a neighbour advertisement to the solicitor's unicast address
and MAC: Router, Solicited and Override set (we are a router, 7.2.4), a
target link-layer option with our MAC, hop limit 255.
Resolver: a packet to be forwarded to next hop A, which has no neighbour
entry, makes the router solicit A from if1 (to A's solicited-node group,
from if1's link-local address, hop limit 255, source link-layer option)
and hold the packet; a second packet waits too, without a second
solicitation; A's advertisement, 0.2 s later, releases both in order; a
third packet after it goes straight out.
Negatives: a solicitation for an address that is not ours, and one with
hop limit 64 (must be 255, 7.1.1), are not answered.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6ND_NS, ICMPv6ND_NA,  # noqa: E402
    ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr)
from scapy.layers.l2 import Ether  # noqa: E402


def ns(iface, src_mac, src_ip, target, hlim=255):
	group = solicited_node(target)
	return (Ether(dst=mcast_mac(group), src=src_mac) /
	    IPv6(src=src_ip, dst=group, hlim=hlim) / ICMPv6ND_NS(tgt=target) /
	    ICMPv6NDOptSrcLLAddr(lladdr=src_mac))


def na(eth_dst, eth_src, src_ip, dst_ip, target, lladdr):
	return (Ether(dst=eth_dst, src=eth_src) /
	    IPv6(src=src_ip, dst=dst_ip, hlim=255) /
	    ICMPv6ND_NA(R=1, S=1, O=1, tgt=target) /
	    ICMPv6NDOptDstLLAddr(lladdr=lladdr))


def to_far(n):
	return (Ether(dst=IF_MAC["if0"], src=H0_MAC) /
	    IPv6(src=H0_IP6, dst=FAR_IP6, hlim=64) /
	    UDP(sport=9000 + n, dport=9) / payload(30, n))


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	# Responder.
	c.rx("if0", 0.0, ns("if0", H0_MAC, H0_IP6, IF_IP6["if0"]))
	c.tx("if0", na(H0_MAC, IF_MAC["if0"], IF_IP6["if0"], H0_IP6,
	    IF_IP6["if0"], IF_MAC["if0"]))
	c.rx("if0", 0.1, ns("if0", H0_MAC, H0_LL, IF_LL["if0"]))
	c.tx("if0", na(H0_MAC, IF_MAC["if0"], IF_LL["if0"], H0_LL,
	    IF_LL["if0"], IF_MAC["if0"]))
	c.rx("if0", 0.2, ns("if0", H0_MAC, H0_IP6, "2001:db8:1::77"))
	c.rx("if0", 0.3, ns("if0", H0_MAC, H0_IP6, IF_IP6["if0"], hlim=64))

	# Resolver.
	f1 = c.rx("if0", 1.0, to_far(1))
	c.tx("if1", ns("if1", IF_MAC["if1"], IF_LL["if1"], A_IP6))
	f2 = c.rx("if0", 1.001, to_far(2))
	c.rx("if1", 1.2, na(IF_MAC["if1"], A_MAC, A_IP6, IF_LL["if1"], A_IP6,
	    A_MAC))
	c.tx("if1", forwarded6(f1, "if1", A_MAC))
	c.tx("if1", forwarded6(f2, "if1", A_MAC))
	f3 = c.rx("if0", 2.0, to_far(3))
	c.tx("if1", forwarded6(f3, "if1", A_MAC))

	c.save()


if __name__ == "__main__":
	main()
