#!/usr/bin/python3
"""
tests/golden/nat_icmp_error/gen.py: ICMP errors about MASQUERADEd flows
(`-A POSTROUTING_CUST -o if1 -j MASQUERADE`, IPv4 and IPv6; the inside
network is known, so the errors pass the filter as RELATED).

What Linux does, and this case expects: nf_nat_icmp_reply_translation()
(nf_nat_icmpv6_reply_translation() for IPv6) translates an error about a
NATed flow like a reply of that flow: the outer destination (if1's
address) becomes the inside host's, and the packet the error quotes,
which is the translated packet as the far side saw it, is translated
back: its source address and port (or echo identifier) become h0's
again, with the quoted IP header checksum and the quoted transport
checksum (where the quote holds it) updated; the outer ICMP checksum
covers the new quote (ICMPv6's also the new pseudo-header).  The outer
source (the router or server that reports) is not touched.

Expected frames are built from that rule (golden.py unnatted_quote,
natted_error), not from the router: the quote must read as h0's packet
as h0 sent it, but for the TTL / hop limit the far side saw, cut where
the far side cut it; every checksum is computed afresh.

- Time exceeded (11/0) from a router far away (198.51.100.1) about UDP
  from h0 sent with TTL 2 (it leaves if1 with TTL 1): quote of header +
  8 bytes (RFC 792), so the UDP checksum is in it.
- The same about a TCP SYN and about an ICMP echo request (the quoted
  identifier kept: it was free).
- Port unreachable (3/3) from the server itself about a UDP datagram
  with a payload, quoting it whole (as Linux does up to 576 bytes).
- IPv6: packet too big (MTU 1280) from a router far away about a
  1400-byte UDP datagram from h0, quoting the first 1232 bytes (RFC
  4443 2.4 (c)); the quoted UDP checksum covers the whole datagram, so
  it is h0's own.
- A time exceeded to 10.0.2.1 quoting a flow that does not exist: for
  hexgate itself, not RELATED to anything: dropped, nothing leaves.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6PacketTooBig  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT = ["-A POSTROUTING_CUST -o if1 -j MASQUERADE"]
FAR = FAR_IP4
PUB4, PUB6 = IF_IP4["if1"], IF_IP6["if1"]
HOP4, HOP6 = "198.51.100.1", "2001:db8:99::1"	# routers far away


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], NAT)
	nat_rules(c.outdir, "rules.v6", [], NAT)

	def out(t, frame, **nat):
		"""h0's packet and the translated one leaving if1."""
		f = c.rx("if0", t, frame)
		sent = natted(f, "if1", A_MAC, **nat)
		c.tx("if1", sent)
		return f, sent

	def error(t, h0_frame, err_l3, quoted, dst):
		"""err_l3 (an error to if1's address quoting quoted) arrives on
		if1 and must reach h0 with the quote translated back."""
		f = c.rx("if1", t, from_a() / err_l3)
		c.tx("if0", natted_error(f, "if0", H0_MAC, dst,
		    unnatted_quote(h0_frame, quoted)))

	def quote4(sent, n_bytes=None, ttl=None):
		q = bytearray(l3(sent))
		if ttl is not None:
			q[8] = ttl
			q[10:12] = ip4_header_checksum(q[:20]).to_bytes(2, "big")
		return bytes(q[:n_bytes] if n_bytes else q)

	# Time exceeded about UDP, TCP and an echo request sent with TTL 2.
	probes = [
		(UDP(sport=33434, dport=33434) / payload(12), 1),
		(TCP(flags="S", sport=40000, dport=80, seq=0x01020304,
		    window=64240), 2),
		(ICMP(type=8, id=0x4242, seq=3) / payload(24), 3),
	]
	t = 0.0
	for l4, ident in probes:
		h0, sent = out(t, v4(dst=FAR, id=ident, ttl=2) / l4, src=PUB4)
		q = quote4(sent, 28)
		error(t + 0.01, h0, IP(src=HOP4, dst=PUB4, id=100 + ident, ttl=60) /
		    ICMP(type=11, code=0) / Raw(q), q, H0_IP4)
		t += 0.05

	# Port unreachable from the server, quoting all of it (TTL 60 there).
	h0, sent = out(0.20, v4(dst=FAR, id=10) / UDP(sport=33001, dport=7) /
	    payload(20), src=PUB4)
	q = quote4(sent, ttl=60)
	error(0.21, h0, IP(src=FAR, dst=PUB4, id=110, ttl=60) /
	    ICMP(type=3, code=3) / Raw(q), q, H0_IP4)

	# IPv6: packet too big, quoting as much as fits in 1280 bytes.
	h0, sent = out(0.30, v6(dst=FAR_IP6) / UDP(sport=33002, dport=9) /
	    udp_payload_for(1400, 48), src=PUB6)
	q = l3(sent)[:IP6_MIN_MTU - 48]
	error(0.31, h0, IPv6(src=HOP6, dst=PUB6, hlim=60) /
	    ICMPv6PacketTooBig(mtu=1280) / Raw(q), q, H0_IP6)

	# An error about no flow: dropped.
	ghost = bytes(IP(src=PUB4, dst=FAR, id=99, ttl=1) /
	    UDP(sport=9999, dport=33434))
	c.rx("if1", 0.40, from_a() / IP(src=HOP4, dst=PUB4, id=120, ttl=60) /
	    ICMP(type=11, code=0) / Raw(ghost[:28]))

	c.save()


if __name__ == "__main__":
	main()
