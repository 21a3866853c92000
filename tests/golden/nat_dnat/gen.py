#!/usr/bin/python3
"""
tests/golden/nat_dnat/gen.py: port forwarding (docs/nat.md, "Port
forwarding (DNAT)").  RDP from one outside source to h0 through if1's
address (10.0.2.1):

    PREROUTING_CUST -i if1 -s 198.51.100.7 -d 10.0.2.1 -p tcp --dport 3389 -j DNAT --to-destination 10.0.1.5
    PREROUTING_CUST -i if1 -s 198.51.100.8 -d 10.0.2.1 -p tcp --dport 3389 -j DNAT --to-destination 10.0.1.5:3390
    FORWARD_CUST -s 198.51.100.7 -d 10.0.1.5 -p tcp --dport 3389 -j ACCEPT
    FORWARD_CUST -s 198.51.100.8 -d 10.0.1.5 -p tcp --dport 3390 -j ACCEPT

The far sources are not known networks: the FORWARD rules are what lets
the flows in, and they see the translated destination (DNAT runs before
the route lookup and the filter).

- From .7: the SYN leaves if0 to h0 with the destination 10.0.1.5, port
  3389 kept; h0's SYN-ACK leaves if1 from 10.0.2.1:3389; data both ways.
- From .8: the same with the port changed to 3390 on the way in and back
  to 3389 on the way out.
- From .9 (no DNAT rule for it) to 10.0.2.1:3389: not translated, so it
  is for hexgate itself; INPUT's default drops it (docs/firewall.md: no
  host TAP, and INPUT_CUST accepts nothing): nothing leaves, no RST.
- From .7 to another port (3388): no rule translates it: dropped the
  same way.
- From .7 straight to h0's address: no DNAT; FORWARD_CUST accepts it
  (rule 1 matches the untranslated packet too), forwarded unchanged but
  for the TTL.

Every translated packet is checked whole (golden.py natted()).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

PUB4 = IF_IP4["if1"]
SRC7, SRC8, SRC9 = "198.51.100.7", "198.51.100.8", "198.51.100.9"
NAT4 = [
	"-A PREROUTING_CUST -s %s/32 -d %s/32 -i if1 -p tcp -m tcp --dport 3389 -j DNAT --to-destination %s" % (SRC7, PUB4, H0_IP4),
	"-A PREROUTING_CUST -s %s/32 -d %s/32 -i if1 -p tcp -m tcp --dport 3389 -j DNAT --to-destination %s:3390" % (SRC8, PUB4, H0_IP4),
]
FILTER4 = [
	"-A FORWARD_CUST -s %s/32 -d %s/32 -p tcp -m tcp --dport 3389 -j ACCEPT" % (SRC7, H0_IP4),
	"-A FORWARD_CUST -s %s/32 -d %s/32 -p tcp -m tcp --dport 3390 -j ACCEPT" % (SRC8, H0_IP4),
]


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", FILTER4, NAT4)
	nat_rules(c.outdir, "rules.v6", [], [])

	def inb(t, frame, **nat):	# far -> h0: destination translated
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", H0_MAC, **nat))

	def outb(t, frame, **nat):	# h0's answer: source translated back
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	t = 0.0
	for src, port, ident in ((SRC7, 3389, 1), (SRC8, 3390, 20)):
		cli = dict(sport=50000 + ident, dport=3389, window=64240)
		srv = dict(sport=port, dport=50000 + ident, window=65535)
		inb(t + 0.00, from_a() / IP(src=src, dst=PUB4, id=ident) /
		    TCP(flags="S", seq=1000, **cli), dst=H0_IP4, dport=port)
		outb(t + 0.01, v4(dst=src, id=ident + 1) / TCP(flags="SA",
		    seq=3000, ack=1001, **srv), src=PUB4, sport=3389)
		inb(t + 0.02, from_a() / IP(src=src, dst=PUB4, id=ident + 2) /
		    TCP(flags="PA", seq=1001, ack=3001, **cli) / payload(60),
		    dst=H0_IP4, dport=port)
		outb(t + 0.03, v4(dst=src, id=ident + 3) / TCP(flags="PA",
		    seq=3001, ack=1061, **srv) / payload(300, 4), src=PUB4,
		    sport=3389)
		t += 0.1

	# No DNAT for .9, nor for port 3388: hexgate's own, dropped.
	c.rx("if1", 0.30, from_a() / IP(src=SRC9, dst=PUB4, id=40) /
	    TCP(flags="S", sport=50040, dport=3389, seq=1, window=1024))
	c.rx("if1", 0.31, from_a() / IP(src=SRC7, dst=PUB4, id=41) /
	    TCP(flags="S", sport=50041, dport=3388, seq=1, window=1024))
	# Straight to h0: no translation, the FORWARD rule accepts it.
	f = c.rx("if1", 0.32, from_a() / IP(src=SRC7, dst=H0_IP4, id=42) /
	    TCP(flags="S", sport=50042, dport=3389, seq=1, window=1024))
	c.tx("if0", forwarded4(f, "if0", H0_MAC))

	c.save()


if __name__ == "__main__":
	main()
