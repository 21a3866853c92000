#!/usr/bin/python3
"""
tests/golden/nat6_icmp_error/gen.py: ICMPv6 errors about translated IPv6
flows (rules in "rules6"): `-A POSTROUTING_CUST -o if1 -j MASQUERADE`,
and a UDP port forward `-A PREROUTING_CUST -i if1 -d 2001:db8:2::1 -p udp
--dport 5353 -j DNAT --to-destination [2001:db8:1::6]:53` with a
FORWARD_CUST rule for it.  The inside network is known; the errors pass
the filter as RELATED.

What Linux does, and this case expects (nf_nat_icmpv6_reply_translation,
as for IPv4 in nat_icmp_error): an error about a translated flow is
translated like a packet of that flow going the error's way, and the
packet it quotes is translated back to what the inside host sent (or,
for the DNAT flow, what the far host sent): quoted addresses, ports and
echo identifier, the quoted transport checksum where the quote holds it
(TCP's, UDP's and ICMPv6's cover a pseudo-header with the addresses) and
the outer ICMPv6 checksum (over the new quote and the new outer
pseudo-header).  Expected frames are built from that rule
(golden.py unnatted_quote, natted_error), never from the router: the
quote must read as the sender's own packet but for the hop limit the
reporter saw, cut where the reporter cut it; every checksum is computed
afresh.

- Time exceeded (3/0) from a router far away (2001:db8:99::1) about a
  MASQUERADEd UDP datagram h0 sent with hop limit 2, quoted whole.
- The same about a TCP SYN and about an ICMPv6 echo request (the quoted
  identifier kept: it was free; the quoted ICMPv6 checksum covers the
  addresses, so it must be h0's own again).
- Destination unreachable, port (1/4) from the far host itself about a
  UDP datagram with a payload, quoting it whole (hop limit 60 there).
- Destination unreachable, address (1/3) from A about a 1400-byte UDP
  datagram: the quote is cut at 1232 bytes (RFC 4443 2.4 (c)), so the
  quoted UDP checksum covers bytes the quote lacks: translated back it
  is h0's own.
- The DNAT flow the other way round: 2001:db8:99::7 sends UDP to
  [2001:db8:2::1]:5353, it reaches h1 on port 53, and h1 answers port
  unreachable (1/4) from its own address.  That error leaves if1 from
  2001:db8:2::1 (the outer source translated like h1's replies), and
  its quote reads as the far host's datagram: to 2001:db8:2::1:5353.
- A time exceeded to 2001:db8:2::1 quoting a flow that does not exist:
  for hexgate itself, not RELATED to anything: dropped, nothing leaves.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6TimeExceeded,  # noqa: E402
    ICMPv6DestUnreach, ICMPv6EchoRequest)  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

PUB = IF_IP6["if1"]
FAR = FAR_IP6
HOP6 = "2001:db8:99::1"		# a router far away
SRC7 = "2001:db8:99::7"
NAT6 = [
	"-A PREROUTING_CUST -d %s/128 -i if1 -p udp -m udp --dport 5353 -j DNAT --to-destination [%s]:53" % (PUB, H1_IP6),
	"-A POSTROUTING_CUST -o if1 -j MASQUERADE",
]
FILTER6 = [
	"-A FORWARD_CUST -d %s/128 -p udp -m udp --dport 53 -j ACCEPT" % H1_IP6,
]


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], [])
	nat_rules(c.outdir, "rules.v6", FILTER6, NAT6)

	def out(t, frame, **nat):
		"""h0's packet and the translated one leaving if1."""
		f = c.rx("if0", t, frame)
		sent = natted(f, "if1", A_MAC, **nat)
		c.tx("if1", sent)
		return f, sent

	def error(t, h0_frame, err_l3, quoted):
		"""err_l3 (an error to PUB quoting quoted) arrives on if1 and
		must reach h0 with the quote translated back."""
		f = c.rx("if1", t, from_a() / err_l3)
		c.tx("if0", natted_error(f, "if0", H0_MAC, H0_IP6,
		    unnatted_quote(h0_frame, quoted)))

	def quote6(sent, n_bytes=None, hlim=None):
		q = bytearray(l3(sent))
		if hlim is not None:
			q[7] = hlim
		return bytes(q[:n_bytes] if n_bytes else q)

	# Time exceeded about UDP, TCP and an echo request, hop limit 2.
	probes = [
		UDP(sport=33434, dport=33434) / payload(12),
		TCP(flags="S", sport=40000, dport=80, seq=0x01020304,
		    window=64240),
		ICMPv6EchoRequest(id=0x4242, seq=3, data=payload(24)),
	]
	t = 0.0
	for l4 in probes:
		h0, sent = out(t, v6(dst=FAR, hlim=2) / l4, src=PUB)
		q = quote6(sent)
		error(t + 0.01, h0, IPv6(src=HOP6, dst=PUB, hlim=60) /
		    ICMPv6TimeExceeded(code=0) / Raw(q), q)
		t += 0.05

	# Port unreachable from the far host, quoting all of it.
	h0, sent = out(0.20, v6(dst=FAR) / UDP(sport=33001, dport=7) /
	    payload(20), src=PUB)
	q = quote6(sent, hlim=60)
	error(0.21, h0, IPv6(src=FAR, dst=PUB, hlim=60) /
	    ICMPv6DestUnreach(code=4) / Raw(q), q)

	# Address unreachable from A about a big datagram: a cut quote.
	h0, sent = out(0.25, v6(dst=FAR) / UDP(sport=33002, dport=9) /
	    udp_payload_for(1400, 48, 5), src=PUB)
	q = quote6(sent, IP6_MIN_MTU - 48)
	error(0.26, h0, IPv6(src=A_IP6, dst=PUB, hlim=64) /
	    ICMPv6DestUnreach(code=3) / Raw(q), q)

	# The DNAT flow: the far host's datagram to h1, h1's port
	# unreachable back, leaving from PUB.
	far = c.rx("if1", 0.30, from_a() / IPv6(src=SRC7, dst=PUB) /
	    UDP(sport=40053, dport=5353) / payload(30))
	got = natted(far, "if0", H1_MAC, dst=H1_IP6, dport=53)
	c.tx("if0", got)
	q = l3(got)
	f = c.rx("if0", 0.31, Ether(dst=IF_MAC["if0"], src=H1_MAC) /
	    IPv6(src=H1_IP6, dst=SRC7, hlim=64) / ICMPv6DestUnreach(code=4) /
	    Raw(q))
	c.tx("if1", natted_error(f, "if1", A_MAC, SRC7,
	    unnatted_quote(far, q), src=PUB))

	# An error about no flow: dropped.
	ghost = bytes(IPv6(src=PUB, dst=FAR, hlim=1) /
	    UDP(sport=9999, dport=33434) / payload(8))
	c.rx("if1", 0.40, from_a() / IPv6(src=HOP6, dst=PUB, hlim=60) /
	    ICMPv6TimeExceeded(code=0) / Raw(ghost))

	c.save()


if __name__ == "__main__":
	main()
