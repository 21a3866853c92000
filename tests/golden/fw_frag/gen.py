#!/usr/bin/python3
"""
tests/golden/fw_frag/gen.py: -f (IPv4 non-first fragments) and ! -f.
Fragments are forwarded one by one (no reassembly).  A first fragment
carries the ports, so --dport matches it.  Once the rules accepted a
first fragment, conntrack remembers its datagram and lets its later
fragments through without judging them again (as Linux judges a
reassembled datagram once): to .20 the first fragment passes by "! -f"
and the second follows; to .30 (port 53) by --dport 53 and the second
follows.  A later fragment that comes before its first one has nothing
to follow: conntrack calls it INVALID and only a -f rule passes it (to
.10, "-f -d .10"); the first fragment that comes after it is judged on
its own (port 9: dropped).  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -p udp -m udp --dport 53 -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.10/32 -f -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.20/32 ! -f -p udp -j ACCEPT",
]


def frags(dst, ident, dport):
	"""A 72-byte UDP datagram in two fragments: 32 bytes at offset 0
	(MF), 40 at offset 4 (units of 8 bytes)."""
	whole = bytes(IP(src=H0_IP4, dst=dst, id=ident) /
	    UDP(sport=5353, dport=dport) / payload(64))
	data = whole[20:]
	first = v4(dst=dst, id=ident, flags="MF", frag=0, proto=17) / data[:32]
	second = v4(dst=dst, id=ident, flags=0, frag=4, proto=17) / data[32:]
	return first, second


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	a, b = frags("198.51.100.10", 101, 53)
	c.pass_(0.00, a)
	c.pass_(0.01, b)
	a, b = frags("198.51.100.20", 102, 9)
	c.pass_(0.02, a)
	c.pass_(0.03, b)
	a, b = frags("198.51.100.30", 103, 53)
	c.pass_(0.04, a)
	c.pass_(0.05, b)
	# A later fragment of a datagram whose first fragment was dropped.
	a, b = frags("198.51.100.40", 105, 9)
	c.block(0.055, a)
	c.block(0.056, b)
	# The second fragment alone, out of order, is still a -f.
	a, b = frags("198.51.100.10", 104, 9)
	c.pass_(0.06, b)
	c.block(0.07, a)

	c.save()


if __name__ == "__main__":
	main()
