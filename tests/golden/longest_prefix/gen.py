#!/usr/bin/python3
"""
tests/golden/longest_prefix/gen.py: the most specific route wins (RFC 1812
5.2.4.3), whatever order the config lists routes in.  IPv4 routes: /0 via
B, 10.9/16 via A, 10.9.1/24 via B, 10.9.1.128/25 via A, 10.9.1.7/32 via A;
IPv6: 2001:db8:9::/48 via A, 2001:db8:9:1::/64 via B, 2001:db8:9:1::7/128
via A.  A is on if1, B on if2.  Negatives: 10.9.3.0/24 and
2001:db8:9:3::/64 are blackholes, so packets for them leave nowhere and
draw no ICMP error.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

VIA_A, VIA_B, DROP = ("if1", A_MAC), ("if2", B_MAC), None

CASES4 = [
	("10.9.0.1", VIA_A),		# /16
	("10.9.255.254", VIA_A),	# /16
	("10.9.1.1", VIA_B),		# /24 beats /16
	("10.9.1.127", VIA_B),		# /24, just below the /25
	("10.9.1.128", VIA_A),		# /25 beats /24
	("10.9.1.7", VIA_A),		# /32 beats /24
	("10.9.1.6", VIA_B),		# /24, next to the /32
	("10.10.0.1", VIA_B),		# only /0
	("10.9.3.5", DROP),		# blackhole /24 beats /16
]
CASES6 = [
	("2001:db8:9:2::1", VIA_A),	# /48
	("2001:db8:9:1::1", VIA_B),	# /64 beats /48
	("2001:db8:9:1::7", VIA_A),	# /128 beats /64
	("2001:db8:9:3::1", DROP),	# blackhole /64 beats /48
]


def main():
	c = Case(sys.argv[1], ["if0", "if1", "if2"])
	t = 0.0
	for i, (dst, via) in enumerate(CASES4):
		f = c.rx("if0", t, Ether(dst=IF_MAC["if0"], src=H0_MAC) /
		    IP(src=H0_IP4, dst=dst, id=200 + i) /
		    UDP(sport=6000 + i, dport=9) / payload(20, i))
		if via:
			c.tx(via[0], forwarded4(f, via[0], via[1]))
		t += 0.1
	for i, (dst, via) in enumerate(CASES6):
		f = c.rx("if0", t, Ether(dst=IF_MAC["if0"], src=H0_MAC) /
		    IPv6(src=H0_IP6, dst=dst) /
		    UDP(sport=6100 + i, dport=9) / payload(20, i))
		if via:
			c.tx(via[0], forwarded6(f, via[0], via[1]))
		t += 0.1
	c.save()


if __name__ == "__main__":
	main()
