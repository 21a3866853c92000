#!/usr/bin/python3
"""
tests/golden/nat6_netmap/gen.py: IPv6 NETMAP both ways (docs/nat.md,
"Overlapping subnets", with the rules in "rules6").  The inside
2001:db8:1::/64 is known to the far site (2001:db8:99::/48, via A on
if1) as 2001:db8:f1:ff::/64:

    PREROUTING_CUST -i if1 -d 2001:db8:f1:ff::/64 -j NETMAP --to 2001:db8:1::/64
    POSTROUTING_CUST -o if1 -s 2001:db8:1::/64 -j NETMAP --to 2001:db8:f1:ff::/64

Both networks are known, so the filter lets each side open flows.
NETMAP keeps the host part (the low 64 bits) of the address and every
port and identifier.  The mapped prefix ends in 0xff and h7's host part
(2001:db8:1:0:ffff:ffff:ffff:fff7, a neighbour on if0) starts with
ones, so a mask off by a bit either way shows.

- h0 (2001:db8:1::5) opens TCP to 2001:db8:99::9: it leaves with the
  source 2001:db8:f1:ff::5, port kept; the answer to
  2001:db8:f1:ff::5 comes back to h0.  TCP checksums right for the new
  pseudo-header (golden.py natted()).
- h1 (::6) pings 2001:db8:99::9: source 2001:db8:f1:ff::6, identifier
  kept, ICMPv6 checksum right; the reply comes back to h1.
- h7 sends UDP out: source 2001:db8:f1:ff:ffff:ffff:ffff:fff7.
- The far side sends UDP to 2001:db8:f1:ff::5 (a new flow from there):
  it reaches h0 as 2001:db8:1::5, port kept; h0's answer leaves with
  the source 2001:db8:f1:ff::5 (the reply of the PREROUTING
  translation: nat rules see a flow's first packet only).  The same to
  h7's mapped address reaches h7.
- A packet from the far side to 2001:db8:f2::5 (outside the mapped
  prefix) has no route: answered with destination unreachable, no
  route (golden.py icmp6_error), not translated.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6EchoRequest,  # noqa: E402
    ICMPv6EchoReply, ICMPv6DestUnreach)  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT6 = [
	"-A PREROUTING_CUST -d 2001:db8:f1:ff::/64 -i if1 -j NETMAP --to 2001:db8:1::/64",
	"-A POSTROUTING_CUST -s 2001:db8:1::/64 -o if1 -j NETMAP --to 2001:db8:f1:ff::/64",
]
REMOTE = "2001:db8:99::9"
H7_MAC, H7_IP6 = "02:aa:00:00:00:07", "2001:db8:1:0:ffff:ffff:ffff:fff7"
MAPPED = {H0_IP6: "2001:db8:f1:ff::5", H1_IP6: "2001:db8:f1:ff::6",
    H7_IP6: "2001:db8:f1:ff:ffff:ffff:ffff:fff7"}


def from_a(dst):
	return Ether(dst=IF_MAC["if1"], src=A_MAC) / IPv6(src=REMOTE, dst=dst)


def from_host(mac, ip):
	return Ether(dst=IF_MAC["if0"], src=mac) / IPv6(src=ip, dst=REMOTE)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], [])
	nat_rules(c.outdir, "rules.v6", [], NAT6)

	def out(t, frame, **nat):
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	def inb(t, frame, mac=H0_MAC, **nat):
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))

	# Inside to far: source mapped.
	out(0.00, from_host(H0_MAC, H0_IP6) / TCP(flags="S", sport=40000,
	    dport=22, seq=10, window=64240), src=MAPPED[H0_IP6])
	inb(0.01, from_a(MAPPED[H0_IP6]) / TCP(flags="SA", sport=22,
	    dport=40000, seq=500, ack=11, window=65535), dst=H0_IP6)
	out(0.02, from_host(H0_MAC, H0_IP6) / TCP(flags="A", sport=40000,
	    dport=22, seq=11, ack=501, window=64240), src=MAPPED[H0_IP6])
	out(0.03, from_host(H1_MAC, H1_IP6) / ICMPv6EchoRequest(id=77, seq=1,
	    data=payload(16)), src=MAPPED[H1_IP6])
	inb(0.04, from_a(MAPPED[H1_IP6]) / ICMPv6EchoReply(id=77, seq=1,
	    data=payload(16)), mac=H1_MAC, dst=H1_IP6)
	out(0.05, from_host(H7_MAC, H7_IP6) / UDP(sport=6000, dport=6001) /
	    payload(20, 2), src=MAPPED[H7_IP6])

	# Far to inside: destination mapped; the answer's source mapped back.
	inb(0.10, from_a(MAPPED[H0_IP6]) / UDP(sport=5000, dport=5001) /
	    payload(24), dst=H0_IP6)
	out(0.11, from_host(H0_MAC, H0_IP6) / UDP(sport=5001, dport=5000) /
	    payload(24, 9), src=MAPPED[H0_IP6])
	inb(0.12, from_a(MAPPED[H7_IP6]) / UDP(sport=5002, dport=5003) /
	    payload(24, 4), mac=H7_MAC, dst=H7_IP6)

	# Outside the mapped prefix: no translation, no route.
	f = c.rx("if1", 0.20, from_a("2001:db8:f2::5") /
	    UDP(sport=5000, dport=5001))
	c.tx("if1", icmp6_error("if1", A_MAC, f, ICMPv6DestUnreach(code=0)))

	c.save()


if __name__ == "__main__":
	main()
