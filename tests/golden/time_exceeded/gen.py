#!/usr/bin/python3
"""
tests/golden/time_exceeded/gen.py: a packet that would leave with TTL (hop
limit) 0 is dropped and answered with ICMP time exceeded, type 11 code 0
(RFC 1812 5.3.1, RFC 792), or ICMPv6 type 3 code 0 (RFC 4443 3.3), sent
back out of the ingress interface from its first address.  IPv4 quotes the
header and 8 bytes of data as received (TTL 1); IPv6 quotes as much as fits
in 1280 bytes.  A first fragment gets the error too.  TTL 2 is forwarded
with TTL 1, and an echo request to us with TTL 1 is answered: TTL is
checked only when forwarding.  Negatives: no error about an ICMP error,
about a non-first fragment, or about an ICMPv6 error.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6DestUnreach,  # noqa: E402
    ICMPv6TimeExceeded)
from scapy.layers.l2 import Ether  # noqa: E402


def from_h0():
	return Ether(dst=IF_MAC["if0"], src=H0_MAC)


def main():
	c = Case(sys.argv[1], ["if0", "if1"])

	f = c.rx("if0", 0.0, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=1,
	    id=300) / UDP(sport=33434, dport=33435) / payload(32))
	c.tx("if0", icmp4_error("if0", H0_MAC, f, type=11, code=0))

	f = c.rx("if0", 0.1, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6, hlim=1) /
	    UDP(sport=33434, dport=33436) / payload(32))
	c.tx("if0", icmp6_error("if0", H0_MAC, f, ICMPv6TimeExceeded(code=0)))

	# 1400 bytes: the quote is cut to fit the error in 1280 bytes.
	f = c.rx("if0", 0.2, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6, hlim=1) /
	    UDP(sport=33434, dport=33437) / udp_payload_for(1400, 48))
	c.tx("if0", icmp6_error("if0", H0_MAC, f, ICMPv6TimeExceeded(code=0)))

	# A first fragment (MF set, offset 0) draws the error.
	f = c.rx("if0", 0.3, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=1,
	    id=301, flags="MF") / UDP(sport=33434, dport=33438, len=1008,
	    chksum=0x5555) / payload(96))
	c.tx("if0", icmp4_error("if0", H0_MAC, f, type=11, code=0))

	# TTL 2 still goes out, with TTL 1.
	f = c.rx("if0", 0.4, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=2,
	    id=302) / UDP(sport=33434, dport=33439) / payload(8))
	c.tx("if1", forwarded4(f, "if1", A_MAC))

	# For us: no TTL check.
	f = c.rx("if0", 0.5, from_h0() / IP(src=H0_IP4, dst=IF_IP4["if0"],
	    ttl=1, id=303) / ICMP(type=8, id=3, seq=1) / payload(8))
	c.tx("if0", echo_reply4("if0", H0_MAC, f))

	# Negatives: an ICMP error (a port unreachable h0 passes on), a
	# non-first fragment, an ICMPv6 error; all with TTL 1.
	quoted = bytes(IP(src=FAR_IP4, dst=H0_IP4) / UDP(sport=1, dport=2))
	c.rx("if0", 0.6, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=1,
	    id=304) / ICMP(type=3, code=3) / quoted)
	c.rx("if0", 0.7, from_h0() / IP(src=H0_IP4, dst=FAR_IP4, ttl=1,
	    id=305, frag=185, proto=17) / payload(40))
	quoted6 = bytes(IPv6(src=FAR_IP6, dst=H0_IP6) / UDP(sport=1, dport=2))
	c.rx("if0", 0.8, from_h0() / IPv6(src=H0_IP6, dst=FAR_IP6, hlim=1) /
	    ICMPv6DestUnreach(code=4) / quoted6)

	c.save()


if __name__ == "__main__":
	main()
