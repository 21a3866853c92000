#!/usr/bin/python3
"""
tests/golden/esp_in/gen.py: inbound native ESP (docs/ipsec.md, RFC
4303).  Three tunnels end at hexgate, their peers' ESP arriving on if1
from A: gcm0 (AES-256-GCM from 198.51.100.7, 10.20.0.0/16 behind it),
cbc0 (AES-256-CBC with HMAC-SHA-256-128 from 198.51.100.8, 10.21.0.0/16)
and gcm6 (AES-256-GCM over IPv6 from 2001:db8:99::7, 10.26.0.0/16 and
2001:db8:26::/48).  The ESP frames are built with scapy's ESP; what
they carry is addressed to h0, and must leave if0 to h0 as a router
hands it on (golden.py forwarded4/6: TTL / hop limit less one, nothing
else changed), in order:

- gcm0: sequence numbers 1 (UDP), 2 (ICMP echo request); 2 again, the
  same frame (a replay, RFC 4303 3.4.3): dropped; 4, then 3 (late but
  inside the window): both delivered; 5 with one bit of its ciphertext
  flipped: dropped (ICV, 3.4.4); 5 as sent: delivered, since a packet
  whose ICV fails must not move the window.
- cbc0: 1 (a TCP SYN); 2 tampered: dropped (HMAC); 2 as sent: delivered.
- gcm6, IPv6 outer: an IPv4 inner packet and an IPv6 one (next header
  4, then 41).
- ESP from gcm0's peer with an SPI no tunnel has: it goes to the host
  side (docs/ipsec.md), and the golden cases have no host TAP, so
  nothing leaves.

The replayed and tampered frames are counted by the SA (`replay`,
`integrity`, hexctl ipsec sas), but the golden harness cannot read
counters (hexgated exits when the captures end): here they are proven
dropped by their absence from if0, and genuine, where it matters, by
check.py.  check.py decrypts every ESP frame of in-if1.pcap with tshark
(an implementation other than the one that built them) and scapy: each
carries the packet meant, the replayed copy included; each tampered one
fails its ICV (tshark checks the HMAC, scapy both).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from golden_esp import EspCase  # noqa: E402
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


def main():
	c = EspCase(sys.argv[1], ["if0", "if1"], __file__)

	def delivered(inner):
		frame = Ether() / Raw(inner)
		c.tx("if0", forwarded4(frame, "if0", H0_MAC) if inner[0] >> 4 == 4
		    else forwarded6(frame, "if0", H0_MAC))

	def udp4(src, ident, seed):
		return bytes(IP(src=src, dst=H0_IP4, id=ident, ttl=60) /
		    UDP(sport=6000 + ident, dport=53) / payload(40 + ident, seed))

	i1 = udp4("10.20.0.5", 1, 1)
	c.decap_rx("if1", 0.0, "gcm0", 1, i1, A_MAC)
	delivered(i1)
	i2 = bytes(IP(src="10.20.0.6", dst=H0_IP4, id=2, ttl=61) /
	    ICMP(id=3, seq=1) / payload(32, 2))
	f2 = c.decap_rx("if1", 0.1, "gcm0", 2, i2, A_MAC)
	delivered(i2)
	c.rx_again("if1", 0.2, f2)
	i4 = udp4("10.20.0.5", 4, 4)
	c.decap_rx("if1", 0.3, "gcm0", 4, i4, A_MAC)
	delivered(i4)
	i3 = udp4("10.20.0.5", 3, 3)
	c.decap_rx("if1", 0.4, "gcm0", 3, i3, A_MAC)
	delivered(i3)
	i5 = udp4("10.20.0.5", 5, 5)
	c.decap_rx("if1", 0.5, "gcm0", 5, i5, A_MAC, tamper=True)
	c.decap_rx("if1", 0.6, "gcm0", 5, i5, A_MAC)
	delivered(i5)

	j1 = bytes(IP(src="10.21.0.5", dst=H0_IP4, id=11, ttl=62) /
	    TCP(sport=40000, dport=22, flags="S", seq=99))
	c.decap_rx("if1", 0.7, "cbc0", 1, j1, A_MAC)
	delivered(j1)
	j2 = udp4("10.21.0.5", 12, 12)
	c.decap_rx("if1", 0.8, "cbc0", 2, j2, A_MAC, tamper=True)
	c.decap_rx("if1", 0.9, "cbc0", 2, j2, A_MAC)
	delivered(j2)

	k1 = udp4("10.26.0.5", 21, 21)
	c.decap_rx("if1", 1.0, "gcm6", 1, k1, A_MAC)
	delivered(k1)
	k2 = bytes(IPv6(src="2001:db8:26::5", dst=H0_IP6, hlim=60) /
	    UDP(sport=6022, dport=53) / payload(22, 22))
	c.decap_rx("if1", 1.1, "gcm6", 2, k2, A_MAC)
	delivered(k2)

	# An SPI no tunnel has, from a tunnel's peer: the host side's.
	stray = c.sa_in["gcm0"]
	c.rx("if1", 1.2, Ether(dst=IF_MAC["if1"], src=A_MAC) /
	    IP(src=stray.src, dst=stray.dst, ttl=64, proto=50) /
	    Raw(bytes.fromhex("0000999900000001") + payload(48)))

	c.save()


if __name__ == "__main__":
	main()
