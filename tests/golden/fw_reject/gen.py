#!/usr/bin/python3
"""
tests/golden/fw_reject/gen.py: REJECT with every --reject-with type, IPv4
and IPv6, in FORWARD_CUST and INPUT_CUST.  The ICMP errors are built like
the router's other errors (golden.py icmp4_error / icmp6_error: from the
ingress interface's address, TOS 0xc0, TTL 64, id 0, header + 8 bytes
quoted; ICMPv6 quoting what fits in 1280 bytes); the UDP probes carry no
payload, so header + 8 bytes is the whole packet.  tcp-reset answers from
the segment's destination (tcp_reset4 / tcp_reset6): for a SYN (no ACK)
RST|ACK with seq 0 and ack = seq + 1 (+ payload); for a segment with ACK
a bare RST with seq = its ack.  REJECT without --reject-with sends port
unreachable.  A rejected echo to the router itself gets the error too,
not a reply.  Nothing rejected is forwarded.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


KINDS4 = ["icmp-net-unreachable", "icmp-host-unreachable",
    "icmp-port-unreachable", "icmp-proto-unreachable",
    "icmp-net-prohibited", "icmp-host-prohibited", "icmp-admin-prohibited"]
KINDS6 = ["icmp6-no-route", "icmp6-adm-prohibited",
    "icmp6-addr-unreachable", "icmp6-port-unreachable", "icmp6-policy-fail",
    "icmp6-reject-route"]
RULES4 = (["-A FORWARD_CUST -p udp -m udp --dport 1 -j REJECT"] +
    ["-A FORWARD_CUST -p udp -m udp --dport %d -j REJECT --reject-with %s" %
    (10 + i, k) for i, k in enumerate(KINDS4)] +
    ["-A FORWARD_CUST -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset",
    "-A INPUT_CUST -p icmp -j REJECT --reject-with icmp-host-prohibited"])
RULES6 = (["-A FORWARD_CUST -p udp -m udp --dport 1 -j REJECT"] +
    ["-A FORWARD_CUST -p udp -m udp --dport %d -j REJECT --reject-with %s" %
    (10 + i, k) for i, k in enumerate(KINDS6)] +
    ["-A FORWARD_CUST -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset",
    "-A INPUT_CUST -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j REJECT --reject-with icmp6-adm-prohibited"])


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)
	t = [0.0]

	def rej(frame, build, *args):
		t[0] += 0.01
		f = c.rx("if0", t[0], frame)
		c.tx("if0", build("if0", H0_MAC, f, *args))

	rej(v4(id=1) / UDP(sport=3001, dport=1), reject4)
	for i, k in enumerate(KINDS4):
		rej(v4(id=10 + i) / UDP(sport=3010 + i, dport=10 + i), reject4, k)
	rej(v4(id=30, ttl=17, flags="DF") / TCP(sport=3030, dport=80, flags="S",
	    seq=1000, window=1000), tcp_reset4)
	rej(v4(id=31) / TCP(sport=3031, dport=80, flags="SF", seq=0xfffffffe) /
	    payload(5), tcp_reset4)
	rej(v4(id=32) / TCP(sport=3032, dport=80, flags="PA", seq=7, ack=777) /
	    payload(20), tcp_reset4)
	rej(v4(id=33) / TCP(sport=3033, dport=80, flags="FA", seq=9, ack=99),
	    tcp_reset4)
	# To the router: INPUT_CUST rejects the echo.
	rej(from_h0() / IP(src=H0_IP4, dst=IF_IP4["if0"], id=34) /
	    ICMP(type=8, id=1, seq=1), reject4, "icmp-host-prohibited")

	rej(v6() / UDP(sport=3101, dport=1), reject6)
	for i, k in enumerate(KINDS6):
		rej(v6() / UDP(sport=3110 + i, dport=10 + i), reject6, k)
	rej(v6() / TCP(sport=3130, dport=80, flags="S", seq=1000), tcp_reset6)
	rej(v6(tc=0x20) / TCP(sport=3131, dport=80, flags="PA", seq=5,
	    ack=0x80000000) / payload(10), tcp_reset6)
	rej(v6(dst=IF_IP6["if0"]) / ICMPv6EchoRequest(id=2, seq=1,
	    data=payload(8)), reject6, "icmp6-adm-prohibited")
	# Not matched by any REJECT rule: dropped by the policy, no answer.
	c.block(1.0, v4(id=40) / UDP(sport=3040, dport=2))

	c.save()


if __name__ == "__main__":
	main()
