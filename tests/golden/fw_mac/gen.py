#!/usr/bin/python3
"""
tests/golden/fw_mac/gen.py: -m mac --mac-source, plain and negated, IPv4
and IPv6: the frame's Ethernet source decides, whatever the IP source.
No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


OTHER_MAC = "02:aa:00:00:00:06"
RULES4 = [
	"-A FORWARD_CUST -p udp -m mac --mac-source 02:AA:00:00:00:05 -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m mac ! --mac-source 02:AA:00:00:00:05 -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -m mac --mac-source 02:AA:00:00:00:06 -j ACCEPT",
]


def other():
	return Ether(dst=IF_MAC["if0"], src=OTHER_MAC)


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)
	far = "198.51.100.10"

	c.pass_(0.00, v4(id=1) / UDP(sport=1, dport=53) / payload(8))
	c.block(0.01, other() / IP(src=H0_IP4, dst=far, id=2) /
	    UDP(sport=2, dport=53) / payload(8))
	c.block(0.02, v4(id=3) / TCP(sport=3, dport=80, flags="S"))
	c.pass_(0.03, other() / IP(src=H0_IP4, dst=far, id=4) /
	    TCP(sport=4, dport=80, flags="S"))
	c.block(0.10, v6() / UDP(sport=5, dport=53) / payload(8))
	c.pass_(0.11, other() / IPv6(src=H0_IP6, dst="2001:db8:99::10") /
	    UDP(sport=6, dport=53) / payload(8))

	c.save()


if __name__ == "__main__":
	main()
