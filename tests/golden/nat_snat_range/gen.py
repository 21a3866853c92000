#!/usr/bin/python3
"""
tests/golden/nat_snat_range/gen.py: SNAT --to-source ADDR-ADDR:PORT-PORT.  The
addresses are 192.0.2.100 and .101, on no interface: the replies come in
on if1 (A sends them to the router's MAC) and are translated back before
the route lookup.  The inside network is known.

What is derivable from documented behaviour (docs/nat.md, ct.h
ct_nat_setup) is pinned; where the choice depends on the per-run secret
seed (which address of a range a client gets first, where a port search
starts) the case leaves only one free answer:

- h0, TCP, `--to-source 192.0.2.100-192.0.2.100:20000-20001` (one
  address):
  - from port 20000 to FAR:80: in the range and free, kept.
  - from port 40000 to FAR:80: outside the range; 20000 is taken
    towards FAR:80, so 20001.  The SYN-ACK to 192.0.2.100:20001 goes
    back to h0:40000.
  - from port 40001 to FAR:80: both ports taken towards FAR:80: no
    tuple, dropped (nat_no_tuple).
  - from port 20001 to FAR:81: in the range, and free towards FAR:81
    (a port is taken per reply tuple, not per address): kept.
- h1, UDP: first `--to-source 192.0.2.100:20000` for its port 1000
  (-> 192.0.2.100:20000), then from port 1001 to the same server
  `--to-source 192.0.2.100-192.0.2.101:20000` (two addresses, one
  port): 192.0.2.100:20000 is taken towards FAR:53, 192.0.2.101:20000
  is free, so .101 whichever address hexgate tries first (it tries
  the other addresses of the range before giving up).  The answers to
  both come back to h1's own ports.

Every translated packet is checked whole: addresses, ports, TTL - 1 and
checksums computed afresh (golden.py natted()).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

NAT4 = [
	"-A POSTROUTING_CUST -s 10.0.1.5/32 -o if1 -p tcp -j SNAT --to-source 192.0.2.100-192.0.2.100:20000-20001",
	"-A POSTROUTING_CUST -s 10.0.1.6/32 -o if1 -p udp -m udp --sport 1000 -j SNAT --to-source 192.0.2.100:20000",
	"-A POSTROUTING_CUST -s 10.0.1.6/32 -o if1 -p udp -j SNAT --to-source 192.0.2.100-192.0.2.101:20000",
]
FAR = FAR_IP4
SN0, SN1 = "192.0.2.100", "192.0.2.101"


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def from_h1():
	return Ether(dst=IF_MAC["if0"], src=H1_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", [], NAT4)
	nat_rules(c.outdir, "rules.v6", [], [])

	def out(t, frame, **nat):	# inside -> far: source translated
		f = c.rx("if0", t, frame)
		c.tx("if1", natted(f, "if1", A_MAC, **nat))

	def back(t, frame, mac=H0_MAC, **nat):	# far -> inside
		f = c.rx("if1", t, frame)
		c.tx("if0", natted(f, "if0", mac, **nat))

	def syn(sport, dport, seq, ident):
		return v4(dst=FAR, id=ident) / TCP(flags="S", sport=sport,
		    dport=dport, seq=seq, window=64240)

	def synack(dst, sport, dport, seq, ack, ident):
		return from_a() / IP(src=FAR, dst=dst, id=ident) / TCP(flags="SA",
		    sport=sport, dport=dport, seq=seq, ack=ack, window=65535)

	# h0, one address, ports 20000-20001.
	out(0.00, syn(20000, 80, 100, 1), src=SN0)
	back(0.01, synack(SN0, 80, 20000, 900, 101, 2), dst=H0_IP4)
	out(0.02, syn(40000, 80, 200, 3), src=SN0, sport=20001)
	back(0.03, synack(SN0, 80, 20001, 800, 201, 4), dst=H0_IP4,
	    dport=40000)
	c.rx("if0", 0.04, syn(40001, 80, 300, 5))	# no port left: dropped
	out(0.05, syn(20001, 81, 400, 6), src=SN0)
	back(0.06, synack(SN0, 81, 20001, 700, 401, 7), dst=H0_IP4)
	# h0's second flow goes on: data both ways.
	out(0.07, v4(dst=FAR, id=8) / TCP(flags="A", sport=40000, dport=80,
	    seq=201, ack=801, window=64240) / payload(30), src=SN0, sport=20001)

	# h1, UDP: .100:20000 by the one-address rule, then the
	# two-address rule must take .101.
	out(0.10, from_h1() / IP(src=H1_IP4, dst=FAR, id=10) /
	    UDP(sport=1000, dport=53) / payload(20), src=SN0, sport=20000)
	out(0.11, from_h1() / IP(src=H1_IP4, dst=FAR, id=11) /
	    UDP(sport=1001, dport=53) / payload(20, 1), src=SN1, sport=20000)
	back(0.12, from_a() / IP(src=FAR, dst=SN1, id=12) /
	    UDP(sport=53, dport=20000) / payload(50, 2), mac=H1_MAC,
	    dst=H1_IP4, dport=1001)
	back(0.13, from_a() / IP(src=FAR, dst=SN0, id=13) /
	    UDP(sport=53, dport=20000) / payload(50, 3), mac=H1_MAC,
	    dst=H1_IP4, dport=1000)

	c.save()


if __name__ == "__main__":
	main()
