#!/usr/bin/python3
"""
tests/golden/nat6_dnat/gen.py: IPv6 port forwarding (docs/nat.md, "Port
forwarding (DNAT)", with the rules in "rules6").  To inside hosts through
if1's address 2001:db8:2::1 (PUB):

    PREROUTING_CUST -i if1 -s 2001:db8:99::7 -d PUB -p tcp --dport 3389 -j DNAT --to-destination 2001:db8:1::5
    PREROUTING_CUST -i if1 -s 2001:db8:99::8 -d PUB -p tcp --dport 3389 -j DNAT --to-destination [2001:db8:1::5]:3390
    PREROUTING_CUST -i if1 -d PUB -p udp --dport 5353 -j DNAT --to-destination [2001:db8:1::6]:53
    PREROUTING_CUST -i if1 -s 2001:db8:99::7 -d PUB -p ipv6-icmp --icmpv6-type 128 -j DNAT --to-destination 2001:db8:1::6

with FORWARD_CUST rules for the translated destinations (the far sources
are not known networks; the filter sees the translated destination,
DNAT runs before the route lookup), and `INPUT_CUST -s 2001:db8:99::9
-p ipv6-icmp --icmpv6-type 128 -j ACCEPT`, so that an echo request the
DNAT rule leaves alone shows: the router answers it itself.

- From ::7: the SYN leaves if0 to h0 with the destination
  2001:db8:1::5, port 3389 kept; h0's SYN-ACK leaves if1 from PUB:3389;
  data both ways.
- From ::8: the same with the port changed to 3390 on the way in and
  back to 3389 on the way out.
- UDP from any source to PUB:5353 reaches h1 on port 53; its answer
  leaves from PUB:5353.
- An echo request from ::7 to PUB reaches h1 (identifier kept, ICMPv6
  checksum right for the new pseudo-header); h1's reply leaves from PUB.
- From ::9 (no DNAT rule for it) to PUB:3389: not translated, so it is
  for hexgate itself; INPUT's default drops it (no host TAP): nothing
  leaves, no RST.  Its echo request to PUB is not translated either:
  INPUT_CUST accepts it and the router answers (golden.py echo_reply6).
- From ::7 to another port (3388): no rule translates it: dropped.
- From ::7 straight to h0's address: no DNAT; FORWARD_CUST accepts it,
  forwarded unchanged but for the hop limit.

Every translated packet is checked whole (golden.py natted()).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6EchoRequest,  # noqa: E402
    ICMPv6EchoReply)  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

PUB = IF_IP6["if1"]
SRC7, SRC8, SRC9 = "2001:db8:99::7", "2001:db8:99::8", "2001:db8:99::9"
NAT6 = [
	"-A PREROUTING_CUST -s %s/128 -d %s/128 -i if1 -p tcp -m tcp --dport 3389 -j DNAT --to-destination %s" % (SRC7, PUB, H0_IP6),
	"-A PREROUTING_CUST -s %s/128 -d %s/128 -i if1 -p tcp -m tcp --dport 3389 -j DNAT --to-destination [%s]:3390" % (SRC8, PUB, H0_IP6),
	"-A PREROUTING_CUST -d %s/128 -i if1 -p udp -m udp --dport 5353 -j DNAT --to-destination [%s]:53" % (PUB, H1_IP6),
	"-A PREROUTING_CUST -s %s/128 -d %s/128 -i if1 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j DNAT --to-destination %s" % (SRC7, PUB, H1_IP6),
]
FILTER6 = [
	"-A INPUT_CUST -s %s/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT" % SRC9,
	"-A FORWARD_CUST -s %s/128 -d %s/128 -p tcp -m tcp --dport 3389 -j ACCEPT" % (SRC7, H0_IP6),
	"-A FORWARD_CUST -s %s/128 -d %s/128 -p tcp -m tcp --dport 3390 -j ACCEPT" % (SRC8, H0_IP6),
	"-A FORWARD_CUST -d %s/128 -p udp -m udp --dport 53 -j ACCEPT" % H1_IP6,
	"-A FORWARD_CUST -s %s/128 -d %s/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT" % (SRC7, H1_IP6),
]


def from_a(src, dst=PUB):
	return Ether(dst=IF_MAC["if1"], src=A_MAC) / IPv6(src=src, dst=dst)


def from_h1(dst):
	return Ether(dst=IF_MAC["if0"], src=H1_MAC) / IPv6(src=H1_IP6, dst=dst)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], [])
	nat_rules(c.outdir, "rules.v6", FILTER6, NAT6)

	def inb(t, frame, mac=H0_MAC, **nat):	# far -> inside: dst translated
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))

	def outb(t, frame, **nat):	# the answer: source translated back
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	t = 0.0
	for src, port, ident in ((SRC7, 3389, 1), (SRC8, 3390, 20)):
		cli = dict(sport=50000 + ident, dport=3389, window=64240)
		srv = dict(sport=port, dport=50000 + ident, window=65535)
		inb(t + 0.00, from_a(src) / TCP(flags="S", seq=1000, **cli),
		    dst=H0_IP6, dport=port)
		outb(t + 0.01, v6(dst=src) / TCP(flags="SA", seq=3000,
		    ack=1001, **srv), src=PUB, sport=3389)
		inb(t + 0.02, from_a(src) / TCP(flags="PA", seq=1001, ack=3001,
		    **cli) / payload(60), dst=H0_IP6, dport=port)
		outb(t + 0.03, v6(dst=src) / TCP(flags="PA", seq=3001,
		    ack=1061, **srv) / payload(300, 4), src=PUB, sport=3389)
		t += 0.1

	# UDP from anywhere: to h1, port 53; the answer from PUB:5353.
	inb(0.20, from_a(SRC9) / UDP(sport=40053, dport=5353) / payload(30),
	    mac=H1_MAC, dst=H1_IP6, dport=53)
	outb(0.21, from_h1(SRC9) / UDP(sport=53, dport=40053) /
	    payload(90, 5), src=PUB, sport=5353)

	# Echo from ::7 to PUB: to h1, identifier kept; h1 answers.
	inb(0.25, from_a(SRC7) / ICMPv6EchoRequest(id=0x0707, seq=1,
	    data=payload(24)), mac=H1_MAC, dst=H1_IP6)
	outb(0.26, from_h1(SRC7) / ICMPv6EchoReply(id=0x0707, seq=1,
	    data=payload(24)), src=PUB)

	# No DNAT for ::9, nor for port 3388: hexgate's own, dropped.
	c.rx("if1", 0.30, from_a(SRC9) / TCP(flags="S", sport=50040,
	    dport=3389, seq=1, window=1024))
	c.rx("if1", 0.31, from_a(SRC7) / TCP(flags="S", sport=50041,
	    dport=3388, seq=1, window=1024))
	# ::9's echo to PUB: not translated, answered by the router.
	f = c.rx("if1", 0.32, from_a(SRC9) / ICMPv6EchoRequest(id=0x0909,
	    seq=1, data=payload(24)))
	c.tx("if1", echo_reply6("if1", A_MAC, f))
	# Straight to h0: no translation, the FORWARD rule accepts it.
	f = c.rx("if1", 0.33, from_a(SRC7, H0_IP6) / TCP(flags="S",
	    sport=50042, dport=3389, seq=1, window=1024))
	c.tx("if0", forwarded6(f, "if0", H0_MAC))

	c.save()


if __name__ == "__main__":
	main()
