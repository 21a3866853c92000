#!/usr/bin/python3
"""
tests/golden/arp_resolve/gen.py: IPv4 next-hop resolution (RFC 826,
RFC 1812 3.3.2).  A packet to be forwarded via A, which has no neighbour
entry, makes the router broadcast an ARP request for A from if1 (sender
if1's MAC and address, target MAC zero) and hold the packet; a second
packet waits too, without a second request; A's reply, 0.2 s later,
releases both in order; a third packet goes straight out.  The same for a
host on if1's own subnet (a connected route, no next hop).  Negative: A's
ARP request for an address that is not ours, before all that, gets no
answer, and teaches the router nothing (RFC 826 creates an entry only when
the request is for us), so the first packet still makes a request.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402


def who_has(iface, target):
	return (Ether(dst=BCAST_MAC, src=IF_MAC[iface]) /
	    ARP(op=1, hwsrc=IF_MAC[iface], psrc=IF_IP4[iface],
	    hwdst="00:00:00:00:00:00", pdst=target))


def is_at(iface, mac, ip):
	return (Ether(dst=IF_MAC[iface], src=mac) /
	    ARP(op=2, hwsrc=mac, psrc=ip, hwdst=IF_MAC[iface],
	    pdst=IF_IP4[iface]))


def udp_to(dst, n):
	return (Ether(dst=IF_MAC["if0"], src=H0_MAC) /
	    IP(src=H0_IP4, dst=dst, id=600 + n) /
	    UDP(sport=9100 + n, dport=9) / payload(30, n))


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	c.rx("if1", 0.5, Ether(dst=BCAST_MAC, src=A_MAC) /
	    ARP(op=1, hwsrc=A_MAC, psrc=A_IP4, pdst="10.0.2.77"))

	f1 = c.rx("if0", 1.0, udp_to(FAR_IP4, 1))
	c.tx("if1", who_has("if1", A_IP4))
	f2 = c.rx("if0", 1.001, udp_to(FAR_IP4, 2))
	c.rx("if1", 1.2, is_at("if1", A_MAC, A_IP4))
	c.tx("if1", forwarded4(f1, "if1", A_MAC))
	c.tx("if1", forwarded4(f2, "if1", A_MAC))
	f3 = c.rx("if0", 2.0, udp_to(FAR_IP4, 3))
	c.tx("if1", forwarded4(f3, "if1", A_MAC))

	# Connected: resolve the destination itself.
	f4 = c.rx("if0", 3.0, udp_to(C_IP4, 4))
	c.tx("if1", who_has("if1", C_IP4))
	c.rx("if1", 3.1, is_at("if1", C_MAC, C_IP4))
	c.tx("if1", forwarded4(f4, "if1", C_MAC))

	c.save()


if __name__ == "__main__":
	main()
