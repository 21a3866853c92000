#!/usr/bin/python3
"""
tests/golden/fw_set/gen.py: -m set --match-set against the named sets of
the config's "sets" file (ipset restore form): hash:ip (dst), hash:net
(src, negated), hash:ip,port (dst,dst: address and protocol:port), and
an IPv6 hash:ip.  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


SETS = """create web hash:ip family inet hashsize 1024 maxelem 65536
add web 198.51.100.10
add web 198.51.100.11
create lan hash:net family inet hashsize 1024 maxelem 65536
add lan 10.0.1.0/28
create svc hash:ip,port family inet hashsize 1024 maxelem 65536
add svc 198.51.100.20,tcp:443
add svc 198.51.100.20,udp:53
create web6 hash:ip family inet6 hashsize 1024 maxelem 65536
add web6 2001:db8:99::10
"""
RULES4 = [
	"-A FORWARD_CUST -p tcp -m set --match-set web dst -j ACCEPT",
	"-A FORWARD_CUST -m set ! --match-set lan src -j DROP",
	"-A FORWARD_CUST -m set --match-set svc dst,dst -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -m set --match-set web6 dst -j ACCEPT",
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_file(c.outdir, "sets", SETS)
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)
	syn = dict(flags="S")

	c.pass_(0.00, v4(dst="198.51.100.10", id=1) / TCP(sport=1, dport=80, **syn))
	c.pass_(0.01, v4(dst="198.51.100.11", id=2) / TCP(sport=2, dport=80, **syn))
	c.block(0.02, v4(dst="198.51.100.12", id=3) / TCP(sport=3, dport=80, **syn))
	c.pass_(0.03, v4(dst="198.51.100.20", id=4) / TCP(sport=4, dport=443, **syn))
	c.pass_(0.04, v4(dst="198.51.100.20", id=5) / UDP(sport=5, dport=53) /
	    payload(8))
	c.block(0.05, v4(dst="198.51.100.20", id=6) / TCP(sport=6, dport=53, **syn))
	c.block(0.06, v4(dst="198.51.100.21", id=7) / TCP(sport=7, dport=443, **syn))
	# Source outside lan (10.0.1.0/28): dropped by rule 2 before rule 3.
	c.block(0.07, from_h0() / IP(src="10.0.1.20", dst="198.51.100.20", id=8) /
	    TCP(sport=8, dport=443, **syn))
	# ... but rule 1 comes first.
	c.pass_(0.08, from_h0() / IP(src="10.0.1.20", dst="198.51.100.10", id=9) /
	    TCP(sport=9, dport=80, **syn))

	c.pass_(0.20, v6() / UDP(sport=10, dport=53) / payload(8))
	c.block(0.21, v6(dst="2001:db8:99::11") / UDP(sport=11, dport=53) /
	    payload(8))

	c.save()


if __name__ == "__main__":
	main()
