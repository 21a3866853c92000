#!/usr/bin/python3
"""
tests/golden/fw_tcp_flags/gen.py: -m tcp --tcp-flags MASK COMP (and
--syn, which iptables-save prints as FIN,SYN,RST,ACK SYN), negated, ALL
and NONE, IPv4 and IPv6.  A segment passes only if its flags under MASK
equal COMP.  Customer rules run before the defaults, so a rule accepts
even a segment conntrack calls INVALID (an ACK with no flow).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402



RULES4 = [
	"-A FORWARD_CUST -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --dport 81 ! --tcp-flags SYN,ACK SYN -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --tcp-flags ALL FIN,PSH,URG -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --dport 82 --tcp-flags ALL NONE -j ACCEPT",
	"-A FORWARD_CUST -p tcp -m tcp --dport 83 --tcp-flags RST RST -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	def seg(i, dport, flags, ack=0):
		return v4(id=i) / TCP(sport=41000 + i, dport=dport, flags=flags,
		    seq=1000 + i, ack=ack)

	c.pass_(0.00, seg(1, 80, "S"))
	c.pass_(0.01, seg(2, 80, "SPU"))	# PSH, URG are outside the mask
	c.block(0.02, seg(3, 80, "SA", ack=5))
	c.block(0.03, seg(4, 80, "A", ack=5))
	c.block(0.04, seg(5, 80, "SF"))
	# Negated: anything but "SYN without ACK".
	c.pass_(0.05, seg(6, 81, "A", ack=5))
	c.pass_(0.06, seg(7, 81, "SA", ack=5))
	c.block(0.07, seg(8, 81, "S"))
	# ALL (FIN,SYN,RST,PSH,ACK,URG) FIN,PSH,URG: the "xmas" set, any port.
	c.pass_(0.08, seg(9, 99, "FPU"))
	c.block(0.09, seg(10, 99, "FPUA", ack=5))
	# ALL NONE: a segment with no flags.
	c.pass_(0.10, seg(11, 82, ""))
	c.block(0.11, seg(12, 82, "A", ack=5))
	c.pass_(0.12, seg(13, 83, "RA", ack=5))
	c.block(0.13, seg(14, 83, "A", ack=5))

	c.pass_(0.20, v6() / TCP(sport=41100, dport=443, flags="S", seq=1))
	c.block(0.21, v6() / TCP(sport=41101, dport=443, flags="SA", seq=1,
	    ack=1))

	c.save()


if __name__ == "__main__":
	main()
