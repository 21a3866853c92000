#!/usr/bin/python3
"""
tests/golden/fw_log_return_jump/gen.py: how verdicts flow between chains.
LOG counts and goes on (UDP 1 is logged, then accepted by the next rule).
-j WEB calls a user chain: ACCEPT or DROP there is final; RETURN (443)
comes back after the -j WEB rule.  -g SUB goes to a user chain: RETURN
from it, or falling off its end, returns to FORWARD_CUST's caller, the
built-in FORWARD, skipping the rest of FORWARD_CUST (so the ACCEPT for UDP
7 after the -g is never reached).  The built-in FORWARD's own rules run
after FORWARD_CUST: they accept TCP 443 and UDP 6.  No known networks.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


RULES4 = [
	'-A FORWARD -p udp -m udp --dport 6 -j ACCEPT',
	'-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT',
	'-A FORWARD_CUST -p udp -m udp --dport 1 -j LOG --log-prefix "fw udp1 "',
	'-A FORWARD_CUST -p udp -m udp --dport 1 -j ACCEPT',
	'-A FORWARD_CUST -p tcp -j WEB',
	'-A FORWARD_CUST -p tcp -m tcp --dport 22 -j ACCEPT',
	'-A FORWARD_CUST -p udp -g SUB',
	'-A FORWARD_CUST -p udp -m udp --dport 7 -j ACCEPT',
	'-A SUB -p udp -m udp --dport 5 -j ACCEPT',
	'-A SUB -p udp -m udp --dport 6 -j RETURN',
	'-A SUB -p udp -m udp --dport 8 -j DROP',
	'-A WEB -p tcp -m tcp --dport 80 -j ACCEPT',
	'-A WEB -s 10.0.1.99/32 -p tcp -m tcp --dport 22 -j DROP',
	'-A WEB -p tcp -m tcp --dport 443 -j RETURN',
	'-A WEB -p tcp -m tcp --dport 444 -j LOG',
	'-A WEB -p tcp -j DROP',
]


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4, user_chains=("SUB", "WEB"))

	def udp(i, dport):
		return v4(id=i) / UDP(sport=6000 + i, dport=dport) / payload(8)

	def syn(i, dport, src=H0_IP4):
		return from_h0() / IP(src=src, dst="198.51.100.10", id=i) / 		    TCP(sport=6000 + i, dport=dport, flags="S")

	c.pass_(0.00, udp(1, 1))		# LOG, then ACCEPT
	c.pass_(0.01, syn(2, 80))		# WEB: ACCEPT
	c.block(0.02, syn(3, 22, "10.0.1.99"))	# WEB: DROP is final
	c.block(0.03, syn(4, 23))		# WEB: last rule drops
	c.pass_(0.04, syn(5, 443))		# WEB RETURN, FORWARD accepts
	c.block(0.05, syn(6, 444))		# WEB: LOG goes on to the DROP
	c.pass_(0.06, udp(7, 5))		# SUB: ACCEPT
	c.pass_(0.07, udp(8, 6))		# SUB RETURN -> FORWARD accepts
	c.block(0.08, udp(9, 7))		# SUB falls off: rule after -g skipped
	c.block(0.09, udp(10, 8))		# SUB: DROP

	c.save()


if __name__ == "__main__":
	main()
