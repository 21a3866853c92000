#!/usr/bin/python3
"""
tests/golden/arp_reply/gen.py: the router answers ARP requests for its own
addresses (RFC 826) on the interface they arrive on, broadcast or unicast,
for its first and its second address, and learns the asker's MAC from a
request it answered (an echo reply then goes straight to that MAC, with no
static neighbour).  Negative: a request for an address that is not ours is
not answered.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

H7_MAC, H7_IP4 = "02:aa:00:00:00:07", "10.0.1.7"
IF0_IP4_2 = "10.0.1.2"


def who_has(eth_dst, mac, ip, target):
	return (Ether(dst=eth_dst, src=mac) /
	    ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=target))


def is_at(iface, our_ip, mac, ip):
	"""RFC 826: swap sender and target, put our MAC in as the sender."""
	return (Ether(dst=mac, src=IF_MAC[iface]) /
	    ARP(op=2, hwsrc=IF_MAC[iface], psrc=our_ip, hwdst=mac, pdst=ip))


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	# Broadcast request for if0's first address.
	c.rx("if0", 0.0, who_has(BCAST_MAC, H0_MAC, H0_IP4, IF_IP4["if0"]))
	c.tx("if0", is_at("if0", IF_IP4["if0"], H0_MAC, H0_IP4))

	# For its second address.
	c.rx("if0", 0.1, who_has(BCAST_MAC, H0_MAC, H0_IP4, IF0_IP4_2))
	c.tx("if0", is_at("if0", IF0_IP4_2, H0_MAC, H0_IP4))

	# Negative: a neighbour's address, not ours.
	c.rx("if0", 0.2, who_has(BCAST_MAC, H0_MAC, H0_IP4, "10.0.1.77"))

	# Unicast request (a cache refresh) to our MAC.
	c.rx("if0", 0.3, who_has(IF_MAC["if0"], H0_MAC, H0_IP4, IF_IP4["if0"]))
	c.tx("if0", is_at("if0", IF_IP4["if0"], H0_MAC, H0_IP4))

	# On the other interface, for that interface's address.
	c.rx("if1", 0.4, who_has(BCAST_MAC, A_MAC, A_IP4, IF_IP4["if1"]))
	c.tx("if1", is_at("if1", IF_IP4["if1"], A_MAC, A_IP4))

	# h7 has no static neighbour entry: the router learns its MAC from
	# the request it answers, and the echo reply needs no resolution.
	c.rx("if0", 0.5, who_has(BCAST_MAC, H7_MAC, H7_IP4, IF_IP4["if0"]))
	c.tx("if0", is_at("if0", IF_IP4["if0"], H7_MAC, H7_IP4))
	req = c.rx("if0", 0.6, Ether(dst=IF_MAC["if0"], src=H7_MAC) /
	    IP(src=H7_IP4, dst=IF_IP4["if0"], id=99, ttl=64) /
	    ICMP(type=8, id=0x77, seq=1) / payload(16))
	c.tx("if0", echo_reply4("if0", H7_MAC, req))

	c.save()


if __name__ == "__main__":
	main()
