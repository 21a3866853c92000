#!/usr/bin/python3
"""
tests/golden/no_route/gen.py: a packet with no route is dropped and
answered with ICMP destination unreachable, net unreachable (type 3 code
0, RFC 1812 5.2.7.1), or ICMPv6 destination unreachable, no route (type 1
code 0, RFC 4443 3.1), from the ingress interface's first address.  The
error itself is routed: one about a packet that came from far away
through A goes back through A, from if1's address.  Negatives: no error
about an ICMP error, an ICMPv6 error, or a non-first fragment.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6DestUnreach,  # noqa: E402
    ICMPv6TimeExceeded)
from scapy.layers.l2 import Ether  # noqa: E402

NOWHERE4 = "203.0.113.9"
NOWHERE6 = "2001:db8:77::9"


def from_h0():
	return Ether(dst=IF_MAC["if0"], src=H0_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	f = c.rx("if0", 0.0, from_h0() / IP(src=H0_IP4, dst=NOWHERE4, id=400) /
	    UDP(sport=7000, dport=53) / payload(24))
	c.tx("if0", icmp4_error("if0", H0_MAC, f, type=3, code=0))

	f = c.rx("if0", 0.1, from_h0() / IPv6(src=H0_IP6, dst=NOWHERE6) /
	    UDP(sport=7000, dport=53) / payload(24))
	c.tx("if0", icmp6_error("if0", H0_MAC, f, ICMPv6DestUnreach(code=0)))

	# From far away through A: the error goes back through A.
	f = c.rx("if1", 0.2, Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IP(src=FAR_IP4, dst=NOWHERE4, id=401, ttl=40) /
	    UDP(sport=7001, dport=53) / payload(24))
	c.tx("if1", icmp4_error("if1", A_MAC, f, type=3, code=0))

	f = c.rx("if1", 0.3, Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IPv6(src=FAR_IP6, dst=NOWHERE6, hlim=40) /
	    UDP(sport=7001, dport=53) / payload(24))
	c.tx("if1", icmp6_error("if1", A_MAC, f, ICMPv6DestUnreach(code=0)))

	# Negatives.
	quoted = bytes(IP(src=NOWHERE4, dst=H0_IP4, ttl=1) /
	    UDP(sport=1, dport=2))
	c.rx("if0", 0.4, from_h0() / IP(src=H0_IP4, dst=NOWHERE4, id=402) /
	    ICMP(type=11, code=0) / quoted)
	quoted6 = bytes(IPv6(src=NOWHERE6, dst=H0_IP6, hlim=1) /
	    UDP(sport=1, dport=2))
	c.rx("if0", 0.5, from_h0() / IPv6(src=H0_IP6, dst=NOWHERE6) /
	    ICMPv6TimeExceeded(code=0) / quoted6)
	c.rx("if0", 0.6, from_h0() / IP(src=H0_IP4, dst=NOWHERE4, id=403,
	    frag=100, proto=17) / payload(40))

	c.save()


if __name__ == "__main__":
	main()
