#!/usr/bin/python3
"""
tests/golden/fw_ports/gen.py: -m tcp / -m udp --sport and --dport:
single ports, ranges (a:b, :b, a:), negated, both together, IPv4 and
IPv6.  No known networks: only what a rule accepts is forwarded.  Every
packet is a new flow (its own source port), so each is judged by the rules.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402



RULES4 = [
	"-A FORWARD_CUST -p tcp -m tcp --dport 80 -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --sport 7000:7010 --dport 443 -j ACCEPT",
	"-A FORWARD_CUST -p udp -m udp --dport 53 -j ACCEPT",
	"-A FORWARD_CUST -p udp -m udp ! --dport 1:1000 -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp ! --sport 1024:65535 --dport 8080 -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --dport :25 -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -p tcp -m tcp --dport 22 -j ACCEPT",
	"-A FORWARD_CUST -p udp -m udp --sport 60000: -j ACCEPT",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)
	syn = dict(flags="S", seq=1000)

	c.pass_(0.00, v4(id=1) / TCP(sport=40001, dport=80, **syn))
	c.block(0.01, v4(id=2) / TCP(sport=40002, dport=81, **syn))
	# UDP to 80: rule 1 is TCP only; 80 is inside 1:1000.
	c.block(0.02, v4(id=3) / UDP(sport=40003, dport=80) / payload(8))
	c.pass_(0.03, v4(id=4) / TCP(sport=7005, dport=443, **syn))
	c.pass_(0.04, v4(id=5) / TCP(sport=7010, dport=443, **syn))
	c.block(0.05, v4(id=6) / TCP(sport=7011, dport=443, **syn))
	c.pass_(0.06, v4(id=7) / UDP(sport=40007, dport=53) / payload(8))
	c.block(0.07, v4(id=8) / UDP(sport=40008, dport=123) / payload(8))
	c.block(0.08, v4(id=9) / UDP(sport=40009, dport=1000) / payload(8))
	c.pass_(0.09, v4(id=10) / UDP(sport=40010, dport=1001) / payload(8))
	c.pass_(0.10, v4(id=11) / TCP(sport=500, dport=8080, **syn))
	c.block(0.11, v4(id=12) / TCP(sport=40012, dport=8080, **syn))
	c.pass_(0.12, v4(id=13) / TCP(sport=40013, dport=25, **syn))
	c.pass_(0.13, v4(id=14) / TCP(sport=40014, dport=1, **syn))
	c.block(0.14, v4(id=15) / TCP(sport=40015, dport=26, **syn))

	c.pass_(0.20, v6() / TCP(sport=40101, dport=22, **syn))
	c.block(0.21, v6() / TCP(sport=40102, dport=23, **syn))
	c.block(0.22, v6() / UDP(sport=40103, dport=22) / payload(8))
	c.pass_(0.23, v6() / UDP(sport=60000, dport=9) / payload(8))
	c.pass_(0.24, v6() / UDP(sport=65535, dport=9) / payload(8))
	c.block(0.25, v6() / UDP(sport=59999, dport=9) / payload(8))

	c.save()


if __name__ == "__main__":
	main()
