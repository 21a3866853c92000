#!/usr/bin/python3
"""
tests/golden/forward_ttl/gen.py: plain forwarding (RFC 1812 5.2-5.3,
RFC 8200 3).  A packet for a routed or a connected destination leaves the
egress interface with that interface's MAC as source, the next hop's (or
the host's) MAC as destination, TTL or hop limit one lower, the IPv4
header checksum updated and everything else unchanged: TOS, id, flags,
options, flow label, transport header and checksum, payload.  Both
directions.  Negatives: a frame for another host's MAC and a packet with a
bad IPv4 header checksum are not forwarded.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, IPOption_NOP, IPOption_EOL, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


def from_h0():
	return Ether(dst=IF_MAC["if0"], src=H0_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	f = c.rx("if0", 0.0, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=64,
	    id=100) / UDP(sport=5000, dport=53) / payload(40))
	c.tx("if1", forwarded4(f, "if1", A_MAC))

	f = c.rx("if0", 0.1, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=2,
	    id=101, tos=0x10, flags="DF") /
	    TCP(sport=40000, dport=80, flags="S", seq=1000) / payload(20))
	c.tx("if1", forwarded4(f, "if1", A_MAC))

	# Options (NOP, NOP, NOP, EOL): a 24-byte header, checksummed whole.
	f = c.rx("if0", 0.2, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=30,
	    id=102, options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(),
	    IPOption_EOL()]) / UDP(sport=5001, dport=53) / payload(30))
	c.tx("if1", forwarded4(f, "if1", A_MAC))

	# Connected destination on if1: straight to the host's MAC.
	f = c.rx("if0", 0.3, from_h0() / IP(src=H0_IP4, dst=C_IP4, ttl=64,
	    id=103) / UDP(sport=5002, dport=7) / payload(4))
	c.tx("if1", forwarded4(f, "if1", C_MAC))

	# The other way: from far away through A to h0.
	f = c.rx("if1", 0.4, Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IP(src=FAR_IP4, dst=H0_IP4, ttl=50, id=104) /
	    UDP(sport=53, dport=5000) / payload(60))
	c.tx("if0", forwarded4(f, "if0", H0_MAC))

	f = c.rx("if0", 0.5, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6, hlim=64,
	    tc=0x20, fl=0x12345) / UDP(sport=5000, dport=53) / payload(40))
	c.tx("if1", forwarded6(f, "if1", A_MAC))

	f = c.rx("if0", 0.6, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6, hlim=2) /
	    ICMPv6EchoRequest(id=5, seq=1, data=payload(16)))
	c.tx("if1", forwarded6(f, "if1", A_MAC))

	f = c.rx("if1", 0.7, Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IPv6(src=FAR_IP6, dst=H0_IP6, hlim=255) /
	    UDP(sport=53, dport=5000) / payload(8))
	c.tx("if0", forwarded6(f, "if0", H0_MAC))

	# Negatives.
	c.rx("if0", 0.8, Ether(dst="02:aa:00:00:00:99", src=H0_MAC) /
	    IP(src=H0_IP4, dst=FAR_IP4, id=105) / UDP(sport=5003, dport=53) /
	    payload(8))
	c.rx("if0", 0.9, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, id=106,
	    chksum=0x1234) / UDP(sport=5004, dport=53) / payload(8),
	    bad_ok=True)

	c.save()


if __name__ == "__main__":
	main()
