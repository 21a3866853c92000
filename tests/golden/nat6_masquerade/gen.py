#!/usr/bin/python3
"""
tests/golden/nat6_masquerade/gen.py: IPv6 MASQUERADE (docs/nat.md, "VLAN
machines reach the Internet", with the rules in "rules6").  `-A
POSTROUTING_CUST -o if1 -j MASQUERADE` in ip6tables form; the inside
network 2001:db8:1::/64 is known, so the filter lets it out and the
replies in (ESTABLISHED).

- A TCP handshake and data both ways, UDP (a port >= 1024 and port 123)
  and an ICMPv6 echo from h0 (2001:db8:1::5) to a far host: each leaves
  if1 with if1's first global address (2001:db8:2::1; never its
  link-local fe80::ff:fe00:11) as the source, the source port (echo
  identifier) unchanged because it is free, hop limit - 1, and the TCP,
  UDP and ICMPv6 checksums right for the new pseudo-header (computed
  afresh here, golden.py natted(); IPv6 has no header checksum, so the
  transport checksum is the only thing that sees the address change).
  The replies arrive on if1 addressed to 2001:db8:2::1 and leave on if0
  to h0, with h0's address and port (identifier) back.
- UDP checksum 0: IPv6 UDP must carry a checksum (RFC 8200 8.1), and a
  sum that comes out 0 is sent as 0xffff (RFC 768).  One datagram each
  way has its last two payload bytes chosen so that the translated
  packet's checksum comes out 0: it must leave as 0xffff, not 0.
- Two inside sources, one port: h1 (2001:db8:1::6) opens TCP from port
  40000 to the same server and port as h0 did.  Its reply tuple with
  port 40000 is taken, so the port must change; as in nat_masquerade
  (where a plain MASQUERADE moves a port depends on a per-run seed), h1's
  TCP goes through `MASQUERADE --to-ports 40000-40001`, which leaves one
  answer: 40001, and the SYN-ACK to [2001:db8:2::1]:40001 goes back to
  h1:40000.  A third flow from h1 (port 40002) finds both ports of the
  range taken towards that server: no tuple, dropped (nat_no_tuple).
- A SYN-ACK from far away to 2001:db8:2::1 with a port no flow uses is no
  reply: it is for hexgate itself, INPUT drops it (no host TAP).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6EchoRequest,  # noqa: E402
    ICMPv6EchoReply, in6_chksum)  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT6 = [
	"-A POSTROUTING_CUST -s 2001:db8:1::6/128 -o if1 -p tcp -j MASQUERADE --to-ports 40000-40001",
	"-A POSTROUTING_CUST -o if1 -j MASQUERADE",
]
FAR = FAR_IP6
PUB6 = IF_IP6["if1"]


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def from_h1():
	return Ether(dst=IF_MAC["if0"], src=H1_MAC)


def zero_sum_body(src, dst, sport, dport, body):
	"""body and two more bytes, chosen so that a UDP datagram with this
	payload from src to dst sums to 0xffff (one's complement): its
	checksum field then comes out 0, which is sent as 0xffff."""
	udp = UDP(sport=sport, dport=dport, len=8 + len(body) + 2, chksum=0)
	pre = IPv6(src=src, dst=dst, nh=17)
	assert len(body) % 2 == 0
	c = in6_chksum(17, pre, bytes(udp / (body + b"\0\0")))
	out = body + c.to_bytes(2, "big")
	full = bytes(udp / out)
	assert in6_chksum(17, pre, full) in (0, 0xffff)
	return out


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], [])
	nat_rules(c.outdir, "rules.v6", [], NAT6)

	def out(t, frame, **nat):	# inside -> far: source translated
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))
		return f

	def back(t, frame, mac=H0_MAC, **nat):	# far -> inside
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))
		return f

	def far(**kw):
		return from_a() / IPv6(src=FAR, dst=PUB6, **kw)

	# TCP from h0: port 40000 is free, so it stays.
	hs = dict(sport=40000, dport=80, window=64240)
	rhs = dict(sport=80, dport=40000, window=65535)
	out(0.00, v6(dst=FAR) / TCP(flags="S", seq=1000, **hs), src=PUB6)
	back(0.01, far() / TCP(flags="SA", seq=5000, ack=1001, **rhs),
	    dst=H0_IP6)
	out(0.02, v6(dst=FAR) / TCP(flags="A", seq=1001, ack=5001, **hs),
	    src=PUB6)
	out(0.03, v6(dst=FAR) / TCP(flags="PA", seq=1001, ack=5001, **hs) /
	    payload(100), src=PUB6)
	back(0.04, far() / TCP(flags="PA", seq=5001, ack=1101, **rhs) /
	    payload(200, 7), dst=H0_IP6)

	# UDP, a high and a low port: both kept.
	out(0.10, v6(dst=FAR) / UDP(sport=33000, dport=53) / payload(20),
	    src=PUB6)
	back(0.11, far() / UDP(sport=53, dport=33000) / payload(60, 3),
	    dst=H0_IP6)
	out(0.12, v6(dst=FAR) / UDP(sport=123, dport=123) / payload(48),
	    src=PUB6)
	back(0.13, far() / UDP(sport=123, dport=123) / payload(48, 1),
	    dst=H0_IP6)

	# UDP whose translated checksum sums to 0, each way: 0xffff.
	body = zero_sum_body(PUB6, FAR, 33200, 7, payload(30, 11))
	f = out(0.15, v6(dst=FAR) / UDP(sport=33200, dport=7) / body, src=PUB6)
	assert bytes(c.expects["if1"][-1][1])[14 + 40 + 6:][:2] == b"\xff\xff"
	body = zero_sum_body(FAR, H0_IP6, 7, 33200, payload(40, 13))
	back(0.16, far() / UDP(sport=7, dport=33200) / body, dst=H0_IP6)
	assert bytes(c.expects["if0"][-1][1])[14 + 40 + 6:][:2] == b"\xff\xff"

	# ICMPv6 echo: the identifier is kept like a free port.
	out(0.20, v6(dst=FAR) / ICMPv6EchoRequest(id=0x1234, seq=1,
	    data=payload(32)), src=PUB6)
	back(0.21, far() / ICMPv6EchoReply(id=0x1234, seq=1,
	    data=payload(32)), dst=H0_IP6)
	out(0.22, v6(dst=FAR) / ICMPv6EchoRequest(id=0x1234, seq=2,
	    data=payload(32, 1)), src=PUB6)
	back(0.23, far() / ICMPv6EchoReply(id=0x1234, seq=2,
	    data=payload(32, 1)), dst=H0_IP6)

	# h1, same source port, same server: 40000 is taken, 40001 is the
	# only other port of its rule's range.
	out(0.30, from_h1() / IPv6(src=H1_IP6, dst=FAR) /
	    TCP(flags="S", seq=7000, **hs), src=PUB6, sport=40001)
	back(0.31, far() / TCP(flags="SA", seq=9000, ack=7001, sport=80,
	    dport=40001, window=65535), mac=H1_MAC, dst=H1_IP6, dport=40000)
	out(0.32, from_h1() / IPv6(src=H1_IP6, dst=FAR) /
	    TCP(flags="A", seq=7001, ack=9001, **hs), src=PUB6, sport=40001)
	# Both ports of the range are taken towards FAR:80: dropped.
	c.rx("if0", 0.33, from_h1() / IPv6(src=H1_IP6, dst=FAR) /
	    TCP(flags="S", seq=7100, sport=40002, dport=80, window=64240))
	# A "reply" no flow expects: for hexgate itself, dropped by INPUT.
	c.rx("if1", 0.34, far() / TCP(flags="SA", seq=1, ack=1, sport=80,
	    dport=40005, window=1024))
	# h0's flow goes on after all that.
	out(0.35, v6(dst=FAR) / TCP(flags="A", seq=1101, ack=5201, **hs),
	    src=PUB6)

	c.save()


if __name__ == "__main__":
	main()
