#!/usr/bin/python3
"""
tests/golden/fw_multiport/gen.py: -m multiport --dports, --sports and
--ports (either port), with lists, ranges and negation, for TCP and UDP,
IPv4 and IPv6.  No known networks: only what a rule accepts passes.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -p tcp -m multiport --dports 22,80,8000:8080 -j ACCEPT",
	"-A FORWARD_CUST -p udp -m multiport --sports 53,123 -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m multiport --ports 443 -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.20/32 -p udp -m multiport ! --dports 1:1024,2049 -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -p tcp -m multiport --dports 25,587 -j ACCEPT",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)
	syn = dict(flags="S", seq=7)

	c.pass_(0.00, v4(id=1) / TCP(sport=42001, dport=22, **syn))
	c.pass_(0.01, v4(id=2) / TCP(sport=42002, dport=80, **syn))
	c.pass_(0.02, v4(id=3) / TCP(sport=42003, dport=8000, **syn))
	c.pass_(0.03, v4(id=4) / TCP(sport=42004, dport=8080, **syn))
	c.block(0.04, v4(id=5) / TCP(sport=42005, dport=8081, **syn))
	c.block(0.05, v4(id=6) / TCP(sport=42006, dport=23, **syn))
	c.block(0.06, v4(id=7) / UDP(sport=42007, dport=80) / payload(8))
	c.pass_(0.07, v4(id=8) / UDP(sport=123, dport=42008) / payload(8))
	c.pass_(0.08, v4(id=9) / UDP(sport=53, dport=42009) / payload(8))
	c.block(0.09, v4(id=10) / UDP(sport=54, dport=53) / payload(8))
	# --ports: source or destination.
	c.pass_(0.10, v4(id=11) / TCP(sport=443, dport=42011, **syn))
	c.pass_(0.11, v4(id=12) / TCP(sport=42012, dport=443, **syn))
	c.block(0.12, v4(id=13) / TCP(sport=444, dport=42013, **syn))
	# Negated list with a range.
	c.pass_(0.13, v4(dst="198.51.100.20", id=14) / UDP(sport=42014,
	    dport=1025) / payload(8))
	c.block(0.14, v4(dst="198.51.100.20", id=15) / UDP(sport=42015,
	    dport=2049) / payload(8))
	c.block(0.15, v4(dst="198.51.100.20", id=16) / UDP(sport=42016,
	    dport=500) / payload(8))

	c.pass_(0.20, v6() / TCP(sport=42101, dport=587, **syn))
	c.pass_(0.21, v6() / TCP(sport=42102, dport=25, **syn))
	c.block(0.22, v6() / TCP(sport=42103, dport=465, **syn))

	c.save()


if __name__ == "__main__":
	main()
