#!/usr/bin/python3
"""
tests/golden/esp_out_scapy/gen.py: outbound ESP that tshark 4.0 cannot
decrypt, checked with scapy's own ESP (scapy.layers.ipsec): ChaCha20-
Poly1305 (RFC 7634), extended sequence numbers (RFC 4303 appendix A),
and ESP in UDP (RFC 3948) over IPv4 and IPv6.  Four tunnels, reached
through A on if1:

- cha0: ChaCha20-Poly1305, native ESP to 198.51.100.9; an IPv4 and an
  IPv6 inner packet (next header 4, then 41).
- esn0: AES-128-GCM with ESN to 198.51.100.11.  The high half of the
  sequence number is 0 on these first packets, but it is in the AAD
  (RFC 4106 5: SPI, high half, low half, 12 bytes): scapy verifies the
  ICV with ESN on, which fails for an 8-byte AAD.
- udp0: ESP in UDP to 198.51.100.12, the peer's port 4501 (a NAT's
  mapping): from port 4500 to 4501, UDP checksum 0 (RFC 3948 2.1).
- udp6: ESP in UDP with IPv6 outer (2001:db8:2::1 to 2001:db8:99::7),
  an IPv4 and an IPv6 inner packet: the UDP checksum is computed (RFC
  8200 8.1) and right.

Each ESP frame is compared whole with one scapy's ESP built with the
IV hexgate documents (the sequence number), and check.py decrypts
every one with scapy: ICV verified, the inner packet the one h0 sent
as a router hands it on (TTL / hop limit less one, checksums and
lengths right), the least padding, each sequence number once, each
frame stamped with its input's time.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from golden_esp import EspCase  # noqa: E402
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402


def main():
	c = EspCase(sys.argv[1], ["if0", "if1"], __file__)

	def out(tunnel, seq, f):
		c.encap("if1", tunnel, seq, l3(forwarded4(f, "if1", A_MAC)
		    if IP in f else forwarded6(f, "if1", A_MAC)), A_MAC)

	f = c.rx("if0", 0.0, v4("10.22.0.5", id=1) /
	    UDP(sport=5000, dport=53) / payload(37))
	out("cha0", 1, f)
	f = c.rx("if0", 0.1, v6("2001:db8:22::5") /
	    UDP(sport=5001, dport=53) / payload(41, 1))
	out("cha0", 2, f)

	f = c.rx("if0", 0.2, v4("10.23.0.5", id=2) /
	    UDP(sport=5002, dport=53) / payload(30, 2))
	out("esn0", 1, f)
	f = c.rx("if0", 0.3, v4("10.23.0.5", id=3) / ICMP(id=9, seq=1) /
	    payload(56, 3))
	out("esn0", 2, f)

	f = c.rx("if0", 0.4, v4("10.24.0.5", id=4) /
	    UDP(sport=5003, dport=53) / payload(33, 4))
	out("udp0", 1, f)

	f = c.rx("if0", 0.5, v4("10.25.0.5", id=5, tos=0x28) /
	    UDP(sport=5004, dport=53) / payload(20, 5))
	out("udp6", 1, f)
	f = c.rx("if0", 0.6, v6("2001:db8:25::5") /
	    TCP(sport=40001, dport=22, flags="S", seq=7))
	out("udp6", 2, f)

	c.save()


if __name__ == "__main__":
	main()
