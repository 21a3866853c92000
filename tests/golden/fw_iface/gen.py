#!/usr/bin/python3
"""
tests/golden/fw_iface/gen.py: -i and -o, exact names, "if+" prefixes and
negation, across three interfaces (h0 on if0, A on if1 with far away
behind it, B on if2).  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -i if0 -o if1 -j ACCEPT",
	"-A FORWARD_CUST -i if2 ! -o if0 -j ACCEPT",
	"-A FORWARD_CUST -i if+ -o if2 -p udp -m udp --dport 53 -j ACCEPT",
	"-A FORWARD_CUST -i eth+ -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST ! -i if0 -o if+ -j ACCEPT",
]


def from_b():
	return Ether(dst=IF_MAC["if2"], src=B_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1", "if2"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	def go(t, in_if, frame, out_if=None, nh=None):
		f = c.rx(in_if, t, frame)
		if out_if:
			c.tx(out_if, forwarded4(f, out_if, nh) if IP in f else
			    forwarded6(f, out_if, nh))

	# if0 -> if1: rule 1.  if0 -> if2: only UDP 53 (rule 3).
	go(0.00, "if0", v4(id=1) / TCP(sport=1, dport=80, flags="S"), "if1", A_MAC)
	go(0.01, "if0", v4(dst=B_IP4, id=2) / TCP(sport=2, dport=80, flags="S"))
	go(0.02, "if0", v4(dst=B_IP4, id=3) / UDP(sport=3, dport=53) /
	    payload(8), "if2", B_MAC)
	# if2 -> if1 (rule 2) but not if2 -> if0.
	go(0.03, "if2", from_b() / IP(src=B_IP4, dst="198.51.100.10", id=4) /
	    UDP(sport=4, dport=9) / payload(8), "if1", A_MAC)
	go(0.04, "if2", from_b() / IP(src=B_IP4, dst=H0_IP4, id=5) /
	    UDP(sport=5, dport=9) / payload(8))
	# if1 -> if2: UDP 53 only (rule 3), if1 -> if0: nothing.
	go(0.05, "if1", Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IP(src="198.51.100.10", dst=B_IP4, id=6) / UDP(sport=6, dport=53) /
	    payload(8), "if2", B_MAC)
	go(0.06, "if1", Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IP(src="198.51.100.10", dst=H0_IP4, id=7) / UDP(sport=7, dport=53) /
	    payload(8))

	# IPv6: anything not from if0.
	go(0.10, "if0", v6() / UDP(sport=8, dport=9) / payload(8))
	go(0.11, "if2", from_b() / IPv6(src=B_IP6, dst="2001:db8:99::10") /
	    UDP(sport=9, dport=9) / payload(8), "if1", A_MAC)
	go(0.12, "if1", Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IPv6(src="2001:db8:99::10", dst=H0_IP6) / UDP(sport=10, dport=9) /
	    payload(8), "if0", H0_MAC)

	c.save()


if __name__ == "__main__":
	main()
