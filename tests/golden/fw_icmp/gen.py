#!/usr/bin/python3
"""
tests/golden/fw_icmp/gen.py: -m icmp --icmp-type: a type alone (every
code), TYPE/CODE, negated, and "any".  Forwarded ICMP from h0; the
errors quote a packet as a real one would (they match no flow: conntrack
calls them INVALID, but customer rules run first and accept them).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


from scapy.layers.inet import IPerror, UDPerror  # noqa: E402

RULES4 = [
	"-A FORWARD_CUST -p icmp -m icmp --icmp-type 8 -j ACCEPT",
	"-A FORWARD_CUST -p icmp -m icmp --icmp-type 3/4 -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.20/32 -p icmp -m icmp ! --icmp-type 8 -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.30/32 -p icmp -m icmp --icmp-type any -j ACCEPT",
]


def quoted():
	"""What h0 complains about: a UDP packet far away sent it."""
	return (IPerror(src="198.51.100.10", dst=H0_IP4, ttl=60, id=77) /
	    UDPerror(sport=53, dport=33000, len=16, chksum=0x1234) /
	    payload(8))


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	c.pass_(0.00, v4(id=1) / ICMP(type=8, id=1, seq=1) / payload(16))
	c.block(0.01, v4(id=2) / ICMP(type=0, id=2, seq=1) / payload(16))
	c.block(0.02, v4(id=3) / ICMP(type=13, id=3, seq=1) / payload(12))
	c.pass_(0.03, v4(id=4) / ICMP(type=3, code=4, nexthopmtu=1400) /
	    quoted())
	c.block(0.04, v4(id=5) / ICMP(type=3, code=1) / quoted())
	c.block(0.05, v4(id=6) / ICMP(type=11, code=0) / quoted())
	# To .20: every type but 8 (8 is accepted by rule 1 anyway).
	c.pass_(0.06, v4(dst="198.51.100.20", id=7) / ICMP(type=0, id=7,
	    seq=1) / payload(16))
	c.pass_(0.07, v4(dst="198.51.100.20", id=8) / ICMP(type=13, id=8,
	    seq=1) / payload(12))
	c.pass_(0.08, v4(dst="198.51.100.30", id=9) / ICMP(type=13, id=9,
	    seq=1) / payload(12))
	c.pass_(0.09, v4(dst="198.51.100.30", id=10) / ICMP(type=3, code=1) /
	    quoted())
	# Not ICMP: -m icmp rules never match it.
	c.block(0.10, v4(dst="198.51.100.30", id=11) / UDP(sport=1, dport=2) /
	    payload(8))

	c.save()


if __name__ == "__main__":
	main()
