#!/usr/bin/python3
"""
tests/golden/nat_masquerade/gen.py: MASQUERADE (docs/nat.md, "VLAN
machines reach the Internet").  `-A POSTROUTING_CUST -o if1 -j
MASQUERADE`; the inside network 10.0.1.0/24 is known, so the filter lets
it out and the replies in (ESTABLISHED).

- A TCP handshake and data both ways, UDP (a port >= 1024 and port 123)
  and an ICMP echo from h0 to a far host: each leaves if1 with if1's
  first address (10.0.2.1) as the source, the source port (echo
  identifier) unchanged because it is free, TTL - 1 and every checksum
  right (computed afresh here, golden.py natted()).  The replies arrive
  on if1 addressed to 10.0.2.1 and leave on if0 to h0, with h0's address
  and port back.
- Two inside sources, one port: h1 (10.0.1.6) opens TCP from port 40000
  to the same server and port as h0 did.  Its reply tuple with port
  40000 is taken, so the port must change.  Where a plain MASQUERADE
  moves it is not derivable from documented behaviour: the search
  (src/ct/nat.c, ct.h ct_nat_setup) runs through 1024-65535 from an
  offset hashed with a per-run secret seed.  So h1's TCP goes through
  `MASQUERADE --to-ports 40000-40001`, where "keep the port when it is
  free, else search the range" leaves exactly one answer: 40001.  The
  server's SYN-ACK to 10.0.2.1:40001 goes back to h1:40000.  A third
  flow from h1 (port 40002) finds both ports of the range taken towards
  that server: no tuple, dropped (nat_no_tuple).
- A SYN-ACK from far away to 10.0.2.1 with a port no flow uses is no
  reply: it is for hexgate itself, INPUT drops it (no host TAP).
- IPv6: UDP from h0 leaves with if1's first global address
  (2001:db8:2::1), and its answer comes back to h0.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT4 = [
	"-A POSTROUTING_CUST -s 10.0.1.6/32 -o if1 -p tcp -j MASQUERADE --to-ports 40000-40001",
	"-A POSTROUTING_CUST -o if1 -j MASQUERADE",
]
NAT6 = ["-A POSTROUTING_CUST -o if1 -j MASQUERADE"]
FAR = FAR_IP4
PUB4, PUB6 = IF_IP4["if1"], IF_IP6["if1"]


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def from_h1():
	return Ether(dst=IF_MAC["if0"], src=H1_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], NAT4)
	nat_rules(c.outdir, "rules.v6", [], NAT6)

	def out(t, frame, **nat):	# inside -> far: source translated
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	def back(t, frame, mac=H0_MAC, **nat):	# far -> inside
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))

	# TCP from h0: port 40000 is free, so it stays.
	hs = dict(sport=40000, dport=80, window=64240)
	rhs = dict(sport=80, dport=40000, window=65535)
	out(0.00, v4(dst=FAR, id=1) / TCP(flags="S", seq=1000, **hs), src=PUB4)
	back(0.01, from_a() / IP(src=FAR, dst=PUB4, id=2) /
	    TCP(flags="SA", seq=5000, ack=1001, **rhs), dst=H0_IP4)
	out(0.02, v4(dst=FAR, id=3) / TCP(flags="A", seq=1001, ack=5001, **hs),
	    src=PUB4)
	out(0.03, v4(dst=FAR, id=4) / TCP(flags="PA", seq=1001, ack=5001, **hs) /
	    payload(100), src=PUB4)
	back(0.04, from_a() / IP(src=FAR, dst=PUB4, id=5) /
	    TCP(flags="PA", seq=5001, ack=1101, **rhs) / payload(200, 7),
	    dst=H0_IP4)

	# UDP, a high and a low port: both kept.
	out(0.10, v4(dst=FAR, id=10) / UDP(sport=33000, dport=53) / payload(20),
	    src=PUB4)
	back(0.11, from_a() / IP(src=FAR, dst=PUB4, id=11) /
	    UDP(sport=53, dport=33000) / payload(60, 3), dst=H0_IP4)
	out(0.12, v4(dst=FAR, id=12) / UDP(sport=123, dport=123) / payload(48),
	    src=PUB4)
	back(0.13, from_a() / IP(src=FAR, dst=PUB4, id=13) /
	    UDP(sport=123, dport=123) / payload(48, 1), dst=H0_IP4)

	# ICMP echo: the identifier is kept like a free port.
	out(0.20, v4(dst=FAR, id=20) / ICMP(type=8, id=0x1234, seq=1) /
	    payload(32), src=PUB4)
	back(0.21, from_a() / IP(src=FAR, dst=PUB4, id=21) /
	    ICMP(type=0, id=0x1234, seq=1) / payload(32), dst=H0_IP4)

	# h1, same source port, same server: 40000 is taken, 40001 is the
	# only other port of its rule's range.
	out(0.30, from_h1() / IP(src=H1_IP4, dst=FAR, id=30) /
	    TCP(flags="S", seq=7000, **hs), src=PUB4, sport=40001)
	back(0.31, from_a() / IP(src=FAR, dst=PUB4, id=31) /
	    TCP(flags="SA", seq=9000, ack=7001, sport=80, dport=40001,
	    window=65535), mac=H1_MAC, dst=H1_IP4, dport=40000)
	# Both ports of the range are taken towards FAR:80: dropped.
	c.rx("if0", 0.32, from_h1() / IP(src=H1_IP4, dst=FAR, id=32) /
	    TCP(flags="S", seq=7100, sport=40002, dport=80, window=64240))
	# A "reply" no flow expects: for hexgate itself, dropped by INPUT.
	c.rx("if1", 0.33, from_a() / IP(src=FAR, dst=PUB4, id=33) /
	    TCP(flags="SA", seq=1, ack=1, sport=80, dport=40005, window=1024))
	# h0's flow goes on after all that.
	out(0.34, v4(dst=FAR, id=34) / TCP(flags="A", seq=1101, ack=5201, **hs),
	    src=PUB4)

	# IPv6.
	out(0.40, v6(dst=FAR_IP6) / UDP(sport=33100, dport=53) / payload(20),
	    src=PUB6)
	back(0.41, from_a() / IPv6(src=FAR_IP6, dst=PUB6) /
	    UDP(sport=53, dport=33100) / payload(40, 5), dst=H0_IP6)

	c.save()


if __name__ == "__main__":
	main()
