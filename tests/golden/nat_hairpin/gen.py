#!/usr/bin/python3
"""
tests/golden/nat_hairpin/gen.py: hairpin NAT (docs/nat.md, "Port
forwarding (DNAT)", hairpin): DNAT and MASQUERADE on one flow.  A server
S (10.0.1.200) on if0 is published on if1's address (10.0.2.1) port
3389, to the outside and to the inside:

    PREROUTING_CUST -i if1 -d 10.0.2.1 -p tcp --dport 3389 -j DNAT --to-destination 10.0.1.200
    PREROUTING_CUST -i if0 -d 10.0.2.1 -p tcp --dport 3389 -j DNAT --to-destination 10.0.1.200
    POSTROUTING_CUST -o if0 -s 10.0.1.0/24 -d 10.0.1.200 -p tcp --dport 3389 -j MASQUERADE
    FORWARD_CUST -d 10.0.1.200 -p tcp --dport 3389 -j ACCEPT

- h0 (10.0.1.5, on S's link) connects to 10.0.2.1:3389.  The SYN is
  translated twice and goes back out of if0, the interface it came in
  on: to S (destination 10.0.1.200, port kept) from if0's address
  10.0.1.1 (MASQUERADE, h0's port kept: free), so that S answers through
  the router rather than straight to h0.  S's SYN-ACK to 10.0.1.1 goes
  back to h0 from 10.0.2.1:3389, the address h0 called; then data both
  ways.  No ICMP redirect is sent for the packets that leave by the
  interface they came in on (hexgate sends none; Linux sent none either
  in the replay, with its default send_redirects=1).
- A client far away (198.51.100.7) reaches S through the same address:
  only DNAT (the MASQUERADE rule wants an inside source), so S sees the
  real client; S's answer leaves if1 from 10.0.2.1:3389.

Every translated packet is checked whole (golden.py natted()).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

PUB4, IN4 = IF_IP4["if1"], IF_IP4["if0"]
CLIENT = "198.51.100.7"
NAT4 = [
	"-A PREROUTING_CUST -d %s/32 -i if1 -p tcp -m tcp --dport 3389 -j DNAT --to-destination %s" % (PUB4, S_IP4),
	"-A PREROUTING_CUST -d %s/32 -i if0 -p tcp -m tcp --dport 3389 -j DNAT --to-destination %s" % (PUB4, S_IP4),
	"-A POSTROUTING_CUST -s 10.0.1.0/24 -d %s/32 -o if0 -p tcp -m tcp --dport 3389 -j MASQUERADE" % S_IP4,
]
FILTER4 = [
	"-A FORWARD_CUST -d %s/32 -p tcp -m tcp --dport 3389 -j ACCEPT" % S_IP4,
]


def from_s():
	return Ether(dst=IF_MAC["if0"], src=S_MAC)


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])
	nat_rules(c.outdir, "rules.v4", FILTER4, NAT4)
	nat_rules(c.outdir, "rules.v6", [], [])

	def fwd(t, in_if, frame, out_if, mac, **nat):
		f = c.rx(in_if, t, frame)
		c.tx(out_if, natted(f, out_if, mac, **nat))

	# Hairpin: h0 -> 10.0.2.1:3389 -> S, and back.
	cli = dict(sport=45000, dport=3389, window=64240)
	srv = dict(sport=3389, dport=45000, window=65535)
	fwd(0.00, "if0", v4(dst=PUB4, id=1) / TCP(flags="S", seq=100, **cli),
	    "if0", S_MAC, src=IN4, dst=S_IP4)
	fwd(0.01, "if0", from_s() / IP(src=S_IP4, dst=IN4, id=2) /
	    TCP(flags="SA", seq=700, ack=101, **srv), "if0", H0_MAC,
	    src=PUB4, dst=H0_IP4)
	fwd(0.02, "if0", v4(dst=PUB4, id=3) / TCP(flags="PA", seq=101, ack=701,
	    **cli) / payload(50), "if0", S_MAC, src=IN4, dst=S_IP4)
	fwd(0.03, "if0", from_s() / IP(src=S_IP4, dst=IN4, id=4) /
	    TCP(flags="PA", seq=701, ack=151, **srv) / payload(400, 5),
	    "if0", H0_MAC, src=PUB4, dst=H0_IP4)

	# From outside: DNAT only.
	fwd(0.10, "if1", from_a() / IP(src=CLIENT, dst=PUB4, id=10) /
	    TCP(flags="S", sport=51000, dport=3389, seq=5, window=64240),
	    "if0", S_MAC, dst=S_IP4)
	fwd(0.11, "if0", from_s() / IP(src=S_IP4, dst=CLIENT, id=11) /
	    TCP(flags="SA", sport=3389, dport=51000, seq=900, ack=6,
	    window=65535), "if1", A_MAC, src=PUB4)

	c.save()


if __name__ == "__main__":
	main()
