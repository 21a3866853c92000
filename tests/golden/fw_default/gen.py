#!/usr/bin/python3
"""
tests/golden/fw_default/gen.py: the appliance's defaults after the
customer chains.  Known networks: 10.0.1.0/24 and 2001:db8:1::/64 (h0's).
From h0 (known) everything is forwarded with no rule; from far away
(unknown) a new flow is dropped, but the answer to h0's flow passes
(ESTABLISHED).  A customer rule comes before the defaults: h0's TCP to
port 25 is dropped.  Echo to the router (INPUT) is answered for h0 and
dropped for far away, also when aimed at if0's address.  Packets the
filter never sees: ARP and neighbour solicitations are answered for
anyone, and a TTL-1 packet from far away gets time exceeded (the TTL
check comes before FORWARD, as in Linux).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6ND_NA, \
    ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr  # noqa: E402
from scapy.layers.l2 import ARP  # noqa: E402

RULES4 = [
	"-A FORWARD_CUST -s 10.0.1.5/32 -p tcp -m tcp --dport 25 -j DROP",
]
FAR6 = "2001:db8:99::10"


def from_a():
	return Ether(dst=IF_MAC["if1"], src=A_MAC)


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)

	def back(t, frame):
		f = c.rx("if1", t, frame)
		c.tx("if0", forwarded4(f, "if0", H0_MAC) if IP in f else
		    forwarded6(f, "if0", H0_MAC))

	far = "198.51.100.10"
	c.pass_(0.00, v4(id=1) / UDP(sport=7000, dport=53) / payload(8))
	c.pass_(0.01, v4(id=2) / TCP(sport=7001, dport=80, flags="S", seq=1))
	c.block(0.02, v4(id=3) / TCP(sport=7002, dport=25, flags="S", seq=1))
	back(0.03, from_a() / IP(src=far, dst=H0_IP4, id=4) /
	    UDP(sport=53, dport=7000) / payload(16))
	c.rx("if1", 0.04, from_a() / IP(src=far, dst=H0_IP4, id=5) /
	    UDP(sport=53, dport=7999) / payload(16))
	# INPUT: echo to the router.
	req = c.rx("if0", 0.05, v4(dst=IF_IP4["if0"], id=6) /
	    ICMP(type=8, id=1, seq=1) / payload(8))
	c.tx("if0", echo_reply4("if0", H0_MAC, req))
	c.rx("if1", 0.06, from_a() / IP(src=far, dst=IF_IP4["if1"], id=7) /
	    ICMP(type=8, id=2, seq=1) / payload(8))
	c.rx("if1", 0.07, from_a() / IP(src=far, dst=IF_IP4["if0"], id=8) /
	    ICMP(type=8, id=3, seq=1) / payload(8))
	# Beside the filter: ARP, and time exceeded for far away.
	c.rx("if1", 0.08, Ether(dst=BCAST_MAC, src=A_MAC) / ARP(op=1,
	    hwsrc=A_MAC, psrc=A_IP4, pdst=IF_IP4["if1"]))
	c.tx("if1", Ether(dst=A_MAC, src=IF_MAC["if1"]) / ARP(op=2,
	    hwsrc=IF_MAC["if1"], psrc=IF_IP4["if1"], hwdst=A_MAC, pdst=A_IP4))
	f = c.rx("if1", 0.09, from_a() / IP(src=far, dst=H0_IP4, id=9, ttl=1) /
	    UDP(sport=9, dport=9))
	c.tx("if1", icmp4_error("if1", A_MAC, f, type=11, code=0))

	# IPv6, with no rules file: the same defaults.
	c.pass_(0.20, v6() / UDP(sport=7100, dport=53) / payload(8))
	back(0.21, from_a() / IPv6(src=FAR6, dst=H0_IP6) /
	    UDP(sport=53, dport=7100) / payload(16))
	c.rx("if1", 0.22, from_a() / IPv6(src=FAR6, dst=H0_IP6) /
	    UDP(sport=53, dport=7101) / payload(16))
	req = c.rx("if0", 0.23, v6(dst=IF_IP6["if0"]) /
	    ICMPv6EchoRequest(id=4, seq=1, data=payload(8)))
	c.tx("if0", echo_reply6("if0", H0_MAC, req))
	c.rx("if1", 0.24, from_a() / IPv6(src=FAR6, dst=IF_IP6["if1"]) /
	    ICMPv6EchoRequest(id=5, seq=1, data=payload(8)))
	# A solicitation from A (unknown network) is answered.
	c.rx("if1", 0.25, Ether(dst=mcast_mac(solicited_node(IF_IP6["if1"])),
	    src=A_MAC) / IPv6(src=A_IP6, dst=solicited_node(IF_IP6["if1"]),
	    hlim=255) / ICMPv6ND_NS(tgt=IF_IP6["if1"]) /
	    ICMPv6NDOptSrcLLAddr(lladdr=A_MAC))
	c.tx("if1", Ether(dst=A_MAC, src=IF_MAC["if1"]) /
	    IPv6(src=IF_IP6["if1"], dst=A_IP6, hlim=255) /
	    ICMPv6ND_NA(R=1, S=1, O=1, tgt=IF_IP6["if1"]) /
	    ICMPv6NDOptDstLLAddr(lladdr=IF_MAC["if1"]))

	c.save()


if __name__ == "__main__":
	main()
