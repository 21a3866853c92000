#!/usr/bin/python3
"""
tests/golden/fw_proto_addr/gen.py: the firewall's standard matches, -s,
-d (prefixes, negated) and -p (by name, by number, negated), IPv4 and
IPv6, in FORWARD_CUST.  No known networks: a packet passes only if a rule
accepts it, else the FORWARD policy (DROP) drops it.  Each packet has its
own ports, so none is ESTABLISHED and every one is judged by the rules.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

RULES4 = [
	"-A FORWARD_CUST -s 10.0.1.5/32 -d 198.51.100.10/32 -p udp -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.20/32 -j ACCEPT",
	"-A FORWARD_CUST -s 10.0.1.0/24 ! -d 198.51.100.0/25 -p tcp -j ACCEPT",
	"-A FORWARD_CUST -p gre -j ACCEPT",
	"-A FORWARD_CUST -d 198.51.100.30/32 ! -p tcp -j ACCEPT",
	"-A FORWARD_CUST -s 198.51.100.128/25 -d 10.0.1.5/32 -p udp -j DROP",
	"-A FORWARD_CUST -s 198.51.100.0/24 -p 17 -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -s 2001:db8:1::5/128 -d 2001:db8:99::10/128 -p udp -j ACCEPT",
	"-A FORWARD_CUST -s 2001:db8:1::/64 ! -d 2001:db8:99::/64 -p tcp -j ACCEPT",
	"-A FORWARD_CUST -d 2001:db8:99::20/128 -p ipv6-icmp -j ACCEPT",
]


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	def fwd(t, frame):	# h0 -> far: must be forwarded
		f = c.rx("if0", t, frame)
		c.tx("if1", forwarded4(f, "if1", A_MAC) if IP in f else
		    forwarded6(f, "if1", A_MAC))

	# Rule 1: exact source, destination and protocol.
	fwd(0.00, from_h0() / IP(src=H0_IP4, dst="198.51.100.10", id=1) /
	    UDP(sport=5001, dport=53) / payload(8))
	# Same addresses, TCP: rule 1 does not match; .10 is inside the
	# /25 rule 3 excludes: dropped.
	c.rx("if0", 0.01, from_h0() / IP(src=H0_IP4, dst="198.51.100.10", id=2) /
	    TCP(sport=5002, dport=80, flags="S"))
	# Rule 2: destination only, any protocol.
	fwd(0.02, from_h0() / IP(src=H0_IP4, dst="198.51.100.20", id=3) /
	    ICMP(type=8, id=3, seq=1) / payload(8))
	# Rule 3: source prefix, negated destination prefix.
	fwd(0.03, from_h0() / IP(src=H0_IP4, dst="198.51.100.200", id=4) /
	    TCP(sport=5004, dport=80, flags="S"))
	c.rx("if0", 0.04, from_h0() / IP(src=H0_IP4, dst="198.51.100.100", id=5) /
	    TCP(sport=5005, dport=80, flags="S"))
	# Rule 4: protocol by name (GRE, 47), no ports.
	fwd(0.05, from_h0() / IP(src=H0_IP4, dst="198.51.100.50", id=6,
	    proto=47) / payload(8))
	# Rule 5: negated protocol.
	fwd(0.06, from_h0() / IP(src=H0_IP4, dst="198.51.100.30", id=7) /
	    UDP(sport=5007, dport=9) / payload(8))
	c.rx("if0", 0.07, from_h0() / IP(src=H0_IP4, dst="198.51.100.30", id=8) /
	    TCP(sport=5008, dport=9, flags="S"))
	# Rule 6 drops UDP from far away's upper half to h0 before rule 7
	# (-p 17) would accept it; from the lower half rule 7 accepts.
	c.rx("if1", 0.08, from_a() / IP(src="198.51.100.200", dst=H0_IP4, id=9) /
	    UDP(sport=6000, dport=6001) / payload(8))
	f = c.rx("if1", 0.09, from_a() / IP(src="198.51.100.10", dst=H0_IP4,
	    id=10) / UDP(sport=6002, dport=6003) / payload(8))
	c.tx("if0", forwarded4(f, "if0", H0_MAC))
	# No rule for ICMP from h0 to .40: dropped by the policy.
	c.rx("if0", 0.10, from_h0() / IP(src=H0_IP4, dst="198.51.100.40", id=11) /
	    ICMP(type=8, id=4, seq=1))

	# IPv6.
	fwd(0.20, from_h0() / IPv6(src=H0_IP6, dst="2001:db8:99::10") /
	    UDP(sport=5101, dport=53) / payload(8))
	c.rx("if0", 0.21, from_h0() / IPv6(src=H0_IP6, dst="2001:db8:99::10") /
	    TCP(sport=5102, dport=80, flags="S"))
	fwd(0.22, from_h0() / IPv6(src=H0_IP6, dst="2001:db8:99:1::10") /
	    TCP(sport=5103, dport=80, flags="S"))
	fwd(0.23, from_h0() / IPv6(src=H0_IP6, dst="2001:db8:99::20") /
	    ICMPv6EchoRequest(id=5, seq=1, data=payload(8)))
	c.rx("if0", 0.24, from_h0() / IPv6(src=H0_IP6, dst="2001:db8:99::20") /
	    UDP(sport=5105, dport=53) / payload(8))
	# Source outside 2001:db8:1::/64 (rule 2): dropped.
	c.rx("if0", 0.25, from_h0() / IPv6(src="2001:db8:7::5",
	    dst="2001:db8:99:1::10") / TCP(sport=5106, dport=80, flags="S"))

	c.save()


if __name__ == "__main__":
	main()
