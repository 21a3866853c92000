#!/usr/bin/python3
"""
tests/golden/mtu/gen.py: packets larger than the egress MTU.  if1 has MTU
1280 (IPv4 and IPv6), if2 has MTU 576 (IPv4 only); far IPv4 198.51.100/24
is via A on if1, 203.0.113/24 via B on if2.
- IPv4 with DF: dropped, ICMP type 3 code 4 with the next-hop MTU
  (RFC 1191 4) back to the sender, quoting header + 8 bytes as received.
- IPv4 without DF: fragmented (RFC 791): 2 fragments for if1, 3 for if2;
  an arriving fragment with MF set is split with MF on every piece and
  offsets counted from its own.
- IPv6: ICMPv6 packet too big with the MTU (RFC 4443 3.2), quoting as much
  as fits in 1280 bytes; routers never fragment IPv6.
- A packet of exactly the MTU is forwarded whole.
Negatives: an oversized ICMP error with DF, and an oversized ICMPv6 error,
are dropped without a further error.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6DestUnreach,  # noqa: E402
    ICMPv6PacketTooBig)
from scapy.layers.l2 import Ether  # noqa: E402

IF1_MTU = 1280
IF2_MTU = 576
VIA_B_IP4 = "203.0.113.20"


def from_h0():
	return Ether(dst=IF_MAC["if0"], src=H0_MAC)


def udp4(dst, size, ident, flags=0, **kw):
	return (from_h0() / IP(src=H0_IP4, dst=dst, id=ident, flags=flags, **kw) /
	    UDP(sport=8000, dport=9) / udp_payload_for(size, 28, ident))


def main():
	c = Case(sys.argv[1], ["if0", "if1", "if2"])

	f = c.rx("if0", 0.0, udp4(FAR_IP4, 1400, 500, "DF"))
	c.tx("if0", icmp4_error("if0", H0_MAC, f, type=3, code=4,
	    nexthopmtu=IF1_MTU))

	f = c.rx("if0", 0.1, udp4(FAR_IP4, 1400, 501))
	for frag in fragments4(f, "if1", A_MAC, IF1_MTU):
		c.tx("if1", frag)

	f = c.rx("if0", 0.2, udp4(VIA_B_IP4, 1500, 502, tos=0x08))
	for frag in fragments4(f, "if2", B_MAC, IF2_MTU):
		c.tx("if2", frag)

	# Already a fragment (MF, offset 800 bytes): every piece keeps MF.
	# Its datagram's first fragment comes first (it fits and is
	# forwarded as it is), so conntrack lets the later one follow.
	f = c.rx("if0", 0.29, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, id=503,
	    flags="MF", frag=0) / UDP(sport=7000, dport=9) / payload(792, 3))
	c.tx("if1", forwarded4(f, "if1", A_MAC))
	f = c.rx("if0", 0.3, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, id=503,
	    flags="MF", frag=100, proto=17) / payload(1480, 3))
	for frag in fragments4(f, "if1", A_MAC, IF1_MTU):
		c.tx("if1", frag)

	f = c.rx("if0", 0.4, udp4(FAR_IP4, IF1_MTU, 504, "DF"))
	c.tx("if1", forwarded4(f, "if1", A_MAC))

	f = c.rx("if0", 0.5, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6) /
	    UDP(sport=8000, dport=9) / udp_payload_for(1400, 48, 5))
	c.tx("if0", icmp6_error("if0", H0_MAC, f,
	    ICMPv6PacketTooBig(mtu=IF1_MTU)))

	f = c.rx("if0", 0.6, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6) /
	    UDP(sport=8000, dport=9) / udp_payload_for(IF1_MTU, 48, 6))
	c.tx("if1", forwarded6(f, "if1", A_MAC))

	# Negatives.
	quoted = bytes(IP(src=FAR_IP4, dst=H0_IP4) / UDP(sport=1, dport=2) /
	    payload(1372))
	c.rx("if0", 0.7, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, id=505,
	    flags="DF") / ICMP(type=3, code=3) / quoted)
	quoted6 = bytes(IPv6(src=FAR_IP6, dst=H0_IP6) / UDP(sport=1, dport=2) /
	    payload(1300))
	c.rx("if0", 0.8, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6) /
	    ICMPv6DestUnreach(code=4) / quoted6)

	c.save()


if __name__ == "__main__":
	main()
