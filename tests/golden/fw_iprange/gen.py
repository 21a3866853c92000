#!/usr/bin/python3
"""
tests/golden/fw_iprange/gen.py: -m iprange --src-range and --dst-range,
inclusive at both ends, negated, IPv4 and IPv6.  Sources other than h0
are on h0's link (the router does not check them).  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -m iprange --src-range 10.0.1.5-10.0.1.9 -p udp -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m iprange --dst-range 198.51.100.10-198.51.100.19 -j ACCEPT",
	"-A FORWARD_CUST -p icmp -m iprange ! --dst-range 198.51.100.0-198.51.100.127 -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -m iprange --dst-range 2001:db8:99::10-2001:db8:99::1f -j ACCEPT",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	def src(a, i):
		return from_h0() / IP(src=a, dst="198.51.100.50", id=i)

	c.block(0.00, src("10.0.1.4", 1) / UDP(sport=1, dport=53) / payload(8))
	c.pass_(0.01, src("10.0.1.5", 2) / UDP(sport=2, dport=53) / payload(8))
	c.pass_(0.02, src("10.0.1.9", 3) / UDP(sport=3, dport=53) / payload(8))
	c.block(0.03, src("10.0.1.10", 4) / UDP(sport=4, dport=53) / payload(8))
	c.block(0.04, v4(dst="198.51.100.9", id=5) / TCP(sport=5, dport=80,
	    flags="S"))
	c.pass_(0.05, v4(dst="198.51.100.10", id=6) / TCP(sport=6, dport=80,
	    flags="S"))
	c.pass_(0.06, v4(dst="198.51.100.19", id=7) / TCP(sport=7, dport=80,
	    flags="S"))
	c.block(0.07, v4(dst="198.51.100.20", id=8) / TCP(sport=8, dport=80,
	    flags="S"))
	c.block(0.08, v4(dst="198.51.100.127", id=9) / ICMP(type=8, id=9))
	c.pass_(0.09, v4(dst="198.51.100.128", id=10) / ICMP(type=8, id=10))

	c.block(0.20, v6(dst="2001:db8:99::f") / UDP(sport=1, dport=9) /
	    payload(8))
	c.pass_(0.21, v6(dst="2001:db8:99::10") / UDP(sport=2, dport=9) /
	    payload(8))
	c.pass_(0.22, v6(dst="2001:db8:99::1f") / UDP(sport=3, dport=9) /
	    payload(8))
	c.block(0.23, v6(dst="2001:db8:99::20") / UDP(sport=4, dport=9) /
	    payload(8))

	c.save()


if __name__ == "__main__":
	main()
