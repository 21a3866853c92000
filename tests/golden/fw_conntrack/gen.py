#!/usr/bin/python3
"""
tests/golden/fw_conntrack/gen.py: connection tracking under the filter.
The only rule lets h0 open TCP to port 80 (-m conntrack --ctstate NEW);
no known networks.  A whole handshake and a data exchange pass both ways:
the replies are ESTABLISHED and accepted by the appliance default.  A SYN
from far away to h0 is NEW with no rule: dropped.  An ACK that belongs to
no flow is INVALID and dropped (no mid-stream pickup, as with Linux's
nf_conntrack_tcp_loose=0): a rule accepting NEW from far away's port
80 does not let it through.  UDP to port 53 is accepted by a rule; its
reply is ESTABLISHED, and an ICMP port unreachable quoting it from a
router far away is RELATED: both pass.  The same handshake over IPv6.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


from scapy.layers.inet import IPerror, UDPerror  # noqa: E402

RULES4 = [
	"-A FORWARD_CUST -s 10.0.1.5/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT",
	"-A FORWARD_CUST -s 10.0.1.5/32 -p udp -m udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT",
	"-A FORWARD_CUST -s 198.51.100.10/32 -p tcp -m tcp --sport 80 -m conntrack --ctstate NEW -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -s 2001:db8:1::5/128 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT",
	"-A FORWARD_CUST -s 2001:db8:99::10/128 -p tcp -m tcp --sport 80 -m conntrack --ctstate NEW -j ACCEPT",
]
FAR = "198.51.100.10"


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	def back(t, frame):	# far -> h0: must be forwarded
		f = c.rx("if1", t, frame)
		c.tx("if0", forwarded4(f, "if0", H0_MAC) if IP in f else
		    forwarded6(f, "if0", H0_MAC))

	for fam, t0 in ((4, 0.0), (6, 0.5)):
		if fam == 4:
			def out(**kw):
				return v4(dst=FAR, id=kw.pop("id", 0))
			def inb(**kw):
				return from_a() / IP(src=FAR, dst=H0_IP4, id=kw.pop("id", 0))
		else:
			def out(**kw):
				return v6()
			def inb(**kw):
				return from_a() / IPv6(src="2001:db8:99::10", dst=H0_IP6)
		hs = dict(sport=40000, dport=80, window=64240)
		rhs = dict(sport=80, dport=40000, window=65535)
		c.pass_(t0 + 0.00, out(id=1) / TCP(flags="S", seq=1000, **hs))
		back(t0 + 0.01, inb(id=2) / TCP(flags="SA", seq=5000, ack=1001,
		    **rhs))
		c.pass_(t0 + 0.02, out(id=3) / TCP(flags="A", seq=1001, ack=5001,
		    **hs))
		c.pass_(t0 + 0.03, out(id=4) / TCP(flags="PA", seq=1001,
		    ack=5001, **hs) / payload(100))
		back(t0 + 0.04, inb(id=5) / TCP(flags="PA", seq=5001, ack=1101,
		    **rhs) / payload(200, 9))
		c.pass_(t0 + 0.05, out(id=6) / TCP(flags="A", seq=1101,
		    ack=5201, **hs))
		# NEW from far away: no rule accepts it.
		c.rx("if1", t0 + 0.06, inb(id=7) / TCP(flags="S", sport=40100,
		    dport=22, seq=1, window=1024))
		# An ACK of no flow: INVALID, not NEW (rule 3 would accept NEW).
		c.rx("if1", t0 + 0.07, inb(id=8) / TCP(flags="A", sport=80,
		    dport=40001, seq=5001, ack=1001, window=1024))
		# The flow goes on after those.
		back(t0 + 0.08, inb(id=9) / TCP(flags="PA", seq=5201, ack=1101,
		    **rhs) / payload(10))

	# UDP: a rule lets the query out; the answer is ESTABLISHED.
	c.pass_(1.00, v4(dst=FAR, id=20) / UDP(sport=33000, dport=53) /
	    payload(8))
	back(1.01, from_a() / IP(src=FAR, dst=H0_IP4, id=21) /
	    UDP(sport=53, dport=33000) / payload(24))
	# A router on the way reports a second query undeliverable: RELATED.
	q = c.rx("if0", 1.02, v4(dst="198.51.100.11", id=22) /
	    UDP(sport=33001, dport=53) / payload(8))
	fq = forwarded4(q, "if1", A_MAC)
	c.tx("if1", fq)
	back(1.03, from_a() / IP(src="198.51.100.1", dst=H0_IP4, id=23) /
	    ICMP(type=3, code=3) / IPerror(l3(fq)[:28]))
	# A UDP "answer" from a port nobody asked: NEW, dropped.
	c.rx("if1", 1.04, from_a() / IP(src=FAR, dst=H0_IP4, id=24) /
	    UDP(sport=54, dport=33000) / payload(8))

	c.save()


if __name__ == "__main__":
	main()
