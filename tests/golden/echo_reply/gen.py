#!/usr/bin/python3
"""
tests/golden/echo_reply/gen.py: the router answers ICMP echo (RFC 792,
RFC 1812 4.3.3.6) and ICMPv6 echo (RFC 4443 4.2) sent to its addresses:
IPv4, IPv6 global and IPv6 link-local (the EUI-64 one from if0's MAC), and
if1's address asked through if0.  The reply is a fresh packet: TTL or hop
limit 64, IPv4 id 0 and DF clear whatever the request carried.  Negatives:
bad IPv4 header, ICMP and ICMPv6 checksums, and an echo reply sent to us,
get no answer.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


def to_us4(dst=IF_IP4["if0"], **ip):
	return Ether(dst=IF_MAC["if0"], src=H0_MAC) / IP(src=H0_IP4, dst=dst, **ip)


def to_us6(src, dst):
	return Ether(dst=IF_MAC["if0"], src=H0_MAC) / IPv6(src=src, dst=dst)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	req = c.rx("if0", 0.0, to_us4(id=777, ttl=64) /
	    ICMP(type=8, id=0x1234, seq=1) / payload(32))
	c.tx("if0", echo_reply4("if0", H0_MAC, req))

	# DF set, odd TTL and id: the reply still has TTL 64, id 0, DF clear.
	# (TOS is left 0: RFC 1349 would copy it, and it is not tested here.)
	req = c.rx("if0", 0.1, to_us4(id=4242, ttl=5, flags="DF") /
	    ICMP(type=8, id=0x1234, seq=2) / payload(100, 7))
	c.tx("if0", echo_reply4("if0", H0_MAC, req))

	# Zero bytes of data: the whole frame is padding after the header.
	req = c.rx("if0", 0.2, to_us4(id=1) / ICMP(type=8, id=9, seq=9))
	c.tx("if0", echo_reply4("if0", H0_MAC, req))

	# if1's address, asked through if0: answered from that address.
	req = c.rx("if0", 0.3, to_us4(dst=IF_IP4["if1"], id=2) /
	    ICMP(type=8, id=0x1234, seq=3) / payload(8))
	c.tx("if0", echo_reply4("if0", H0_MAC, req))

	req = c.rx("if0", 0.4, to_us6(H0_IP6, IF_IP6["if0"]) /
	    ICMPv6EchoRequest(id=7, seq=1, data=payload(56)))
	c.tx("if0", echo_reply6("if0", H0_MAC, req))

	req = c.rx("if0", 0.5, to_us6(H0_LL, IF_LL["if0"]) /
	    ICMPv6EchoRequest(id=7, seq=2, data=payload(10, 3)))
	c.tx("if0", echo_reply6("if0", H0_MAC, req))

	# Negatives.
	bad = bytearray(bytes(to_us4(id=3) / ICMP(type=8, id=1, seq=4) /
	    payload(8)))
	bad[14 + 10] ^= 0x01		# IPv4 header checksum
	c.rx("if0", 0.6, Ether(bytes(bad)), bad_ok=True)
	c.rx("if0", 0.7, to_us4(id=4) / ICMP(type=8, id=1, seq=5,
	    chksum=0x1234) / payload(8), bad_ok=True)
	c.rx("if0", 0.8, to_us6(H0_IP6, IF_IP6["if0"]) /
	    ICMPv6EchoRequest(id=7, seq=3, cksum=0x1234, data=payload(8)),
	    bad_ok=True)
	c.rx("if0", 0.9, to_us4(id=5) / ICMP(type=0, id=1, seq=6) / payload(8))

	c.save()


if __name__ == "__main__":
	main()
