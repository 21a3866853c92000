#!/usr/bin/python3
"""
tests/golden/nat_netmap/gen.py: NETMAP both ways (docs/nat.md,
"Overlapping subnets").  The inside 10.0.1.0/24 is known to the far site
as 172.17.1.0/24; the far site is 172.16.0.0/24, routed via A on if1:

    PREROUTING_CUST -i if1 -d 172.17.1.0/24 -j NETMAP --to 10.0.1.0/24
    POSTROUTING_CUST -o if1 -s 10.0.1.0/24 -j NETMAP --to 172.17.1.0/24

Both networks are known, so the filter lets each side open flows.
NETMAP keeps the host part of the address and every port and identifier.

- h0 (10.0.1.5) opens TCP to 172.16.0.9: it leaves with the source
  172.17.1.5, port kept; the answer to 172.17.1.5 comes back to h0.
- h1 (10.0.1.6) pings 172.16.0.9: source 172.17.1.6, identifier kept.
- 172.16.0.9 sends UDP to 172.17.1.5 (a new flow from the far side): it
  reaches h0 as 10.0.1.5, port kept; h0's answer leaves with the source
  172.17.1.5 (the reply of the PREROUTING translation: the POSTROUTING
  rule is never asked, nat rules see a flow's first packet only).
- The far side to 172.17.1.200 (the server S on if0): to 10.0.1.200.
- A packet from the far side to 172.17.2.5 (outside the mapped prefix)
  has no route: answered with net unreachable like any unroutable
  packet (golden.py icmp4_error), not translated.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT4 = [
	"-A PREROUTING_CUST -d 172.17.1.0/24 -i if1 -j NETMAP --to 10.0.1.0/24",
	"-A POSTROUTING_CUST -s 10.0.1.0/24 -o if1 -j NETMAP --to 172.17.1.0/24",
]
REMOTE = "172.16.0.9"
MAPPED = {H0_IP4: "172.17.1.5", H1_IP4: "172.17.1.6", S_IP4: "172.17.1.200"}


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def from_host(mac, ip):
	return Ether(dst=IF_MAC["if0"], src=mac) / IP(src=ip, dst=REMOTE)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], NAT4)
	nat_rules(c.outdir, "rules.v6", [], [])

	def out(t, frame, **nat):
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	def inb(t, frame, mac=H0_MAC, **nat):
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))

	# Inside to far: source mapped.
	out(0.00, from_host(H0_MAC, H0_IP4) / TCP(flags="S", sport=40000,
	    dport=22, seq=10, window=64240), src=MAPPED[H0_IP4])
	inb(0.01, from_a() / IP(src=REMOTE, dst=MAPPED[H0_IP4], id=1) /
	    TCP(flags="SA", sport=22, dport=40000, seq=500, ack=11,
	    window=65535), dst=H0_IP4)
	out(0.02, from_host(H0_MAC, H0_IP4) / TCP(flags="A", sport=40000,
	    dport=22, seq=11, ack=501, window=64240), src=MAPPED[H0_IP4])
	out(0.03, from_host(H1_MAC, H1_IP4) / ICMP(type=8, id=77, seq=1) /
	    payload(16), src=MAPPED[H1_IP4])
	inb(0.04, from_a() / IP(src=REMOTE, dst=MAPPED[H1_IP4], id=2) /
	    ICMP(type=0, id=77, seq=1) / payload(16), mac=H1_MAC, dst=H1_IP4)

	# Far to inside: destination mapped; the answer's source mapped back.
	inb(0.10, from_a() / IP(src=REMOTE, dst=MAPPED[H0_IP4], id=3) /
	    UDP(sport=5000, dport=5001) / payload(24), dst=H0_IP4)
	out(0.11, from_host(H0_MAC, H0_IP4) / UDP(sport=5001, dport=5000) /
	    payload(24, 9), src=MAPPED[H0_IP4])
	inb(0.12, from_a() / IP(src=REMOTE, dst=MAPPED[S_IP4], id=4) /
	    TCP(flags="S", sport=41000, dport=443, seq=1, window=1024),
	    mac=S_MAC, dst=S_IP4)

	# Outside the mapped prefix: no translation, no route.
	f = c.rx("if1", 0.20, from_a() / IP(src=REMOTE, dst="172.17.2.5",
	    id=5) / UDP(sport=5000, dport=5001))
	c.tx("if1", icmp4_error("if1", A_MAC, f, type=3, code=0))

	c.save()


if __name__ == "__main__":
	main()
