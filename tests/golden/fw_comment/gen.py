#!/usr/bin/python3
"""
tests/golden/fw_comment/gen.py: -m comment changes nothing: a rule with
a comment matches as it would without it, and a rule with only a comment
and no target counts and goes on.  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	'-A FORWARD_CUST -m comment --comment "count everything, decide nothing"',
	'-A FORWARD_CUST -p udp -m udp --dport 53 -m comment --comment "allow dns" -j ACCEPT',
	'-A FORWARD_CUST -p udp -m comment --comment "no other udp" -j DROP',
	'-A FORWARD_CUST -m comment --comment "the rest" -j ACCEPT',
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	c.pass_(0.00, v4(id=1) / UDP(sport=1, dport=53) / payload(8))
	c.block(0.01, v4(id=2) / UDP(sport=2, dport=54) / payload(8))
	c.pass_(0.02, v4(id=3) / TCP(sport=3, dport=54, flags="S"))

	c.save()


if __name__ == "__main__":
	main()
