#!/usr/bin/python3
"""
tests/golden/fw_limit/gen.py: -m limit --limit 2/sec --limit-burst 3, a
token bucket that starts full (3 tokens) and gains one every 0.5 s, up
to 3.  Echo requests the bucket lets through are accepted, the rest hit
the DROP after it.  Replay runs on capture time, so the timestamps are
the test: 3 pass at once, then drops; at t=0.75 (1.46 tokens) one passes,
at 0.80 (0.56) none; at 1.80 (2.56) two pass, the third does not.
Times are 20 ms or more away from a boundary.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	"-A FORWARD_CUST -p icmp -m limit --limit 2/sec --limit-burst 3 -j ACCEPT",
	"-A FORWARD_CUST -p icmp -j DROP",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	for seq, (t, ok) in enumerate(((0.00, 1), (0.01, 1), (0.02, 1),
	    (0.03, 0), (0.04, 0), (0.75, 1), (0.80, 0), (1.80, 1),
	    (1.81, 1), (1.82, 0))):
		f = v4(id=seq + 1) / ICMP(type=8, id=0x99, seq=seq) / payload(8)
		(c.pass_ if ok else c.block)(t, f)

	c.save()


if __name__ == "__main__":
	main()
