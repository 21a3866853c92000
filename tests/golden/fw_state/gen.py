#!/usr/bin/python3
"""
tests/golden/fw_state/gen.py: -m state --state (the older spelling of
-m conntrack --ctstate) and the order of customer rules and defaults.
Rule 1 lets new UDP out; rule 2 drops ESTABLISHED UDP from source port
54, which shows customer rules run before the ESTABLISHED default: the
answer from port 53 passes (default), the one from port 54 does not.
Rule 3 (! --state NEW) accepts the reply of an ICMP echo, not a new echo
from far away.  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -s 10.0.1.5/32 -p udp -m state --state NEW -j ACCEPT",
	"-A FORWARD_CUST -p udp -m udp --sport 54 -m state --state ESTABLISHED -j DROP",
	"-A FORWARD_CUST -p icmp -m state ! --state NEW -j ACCEPT",
	"-A FORWARD_CUST -s 10.0.1.5/32 -p icmp -m state --state NEW -j ACCEPT",
]
FAR = "198.51.100.10"


def from_far(**kw):
	return Ether(dst=IF_MAC["if1"], src=A_MAC) / IP(src=FAR, dst=H0_IP4, **kw)


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	def back(t, frame):
		f = c.rx("if1", t, frame)
		c.tx("if0", forwarded4(f, "if0", H0_MAC))

	c.pass_(0.00, v4(dst=FAR, id=1) / UDP(sport=5000, dport=53) / payload(8))
	back(0.01, from_far(id=2) / UDP(sport=53, dport=5000) / payload(16))
	c.pass_(0.02, v4(dst=FAR, id=3) / UDP(sport=5001, dport=54) / payload(8))
	c.rx("if1", 0.03, from_far(id=4) / UDP(sport=54, dport=5001) /
	    payload(16))
	# Unasked: NEW from far away, no rule.
	c.rx("if1", 0.04, from_far(id=5) / UDP(sport=53, dport=5999) /
	    payload(16))
	# Echo out (rule 4), its reply (rule 3), a new echo in (dropped).
	c.pass_(0.05, v4(dst=FAR, id=6) / ICMP(type=8, id=0x42, seq=1) /
	    payload(16))
	back(0.06, from_far(id=7) / ICMP(type=0, id=0x42, seq=1) / payload(16))
	c.rx("if1", 0.07, from_far(id=8) / ICMP(type=8, id=0x43, seq=1) /
	    payload(16))

	c.save()


if __name__ == "__main__":
	main()
