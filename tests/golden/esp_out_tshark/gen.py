#!/usr/bin/python3
"""
tests/golden/esp_out_tshark/gen.py: outbound native ESP (docs/ipsec.md),
checked with tshark.  Two tunnels from if1's address 10.0.2.1, both
reached through A: gcm0 (AES-256-GCM, to 198.51.100.7, 10.20.0.0/16 and
2001:db8:20::/48 behind it) and cbc0 (AES-256-CBC with HMAC-SHA-256-128,
to 198.51.100.8, 10.21.0.0/16).  h0 sends on if0; what the routes send
into a tunnel must leave if1 to A as ESP (IP protocol 50):

- gcm0: UDP, a TCP SYN with DSCP EF and ECT(0) (its MSS 1460 clamped to
  the tunnel's 1360 on the way in), an IPv6 UDP packet with
  a traffic class: sequence numbers 1, 2, 3, the outer TOS / traffic
  class copied from the inner packet (RFC 4301 5.1.2.1, RFC 6040).
- cbc0: an ICMP echo request; a packet whose ciphertext needs no
  padding (62 bytes); one of exactly the tunnel's MTU (1400) with DF.
- One byte more than the tunnel's MTU with DF: not encrypted, ICMP
  fragmentation needed with MTU 1400 back to h0 (RFC 1191).  Without
  DF (1480 bytes): fragmented to the tunnel's MTU before encryption, two
  ESP packets (sequence numbers 4 and 5), each holding one fragment.

Each ESP frame is compared whole with one scapy's ESP built
(golden_esp.py: the IV hexgate documents, outer header as esp.c writes
it), and check.py decrypts every one with tshark, with the same keys:
the inner packet must be the one h0 sent as a router hands it on (TTL /
hop limit less one, header checksum updated, every checksum and length
right), the padding 1, 2, 3, ... and the least that aligns, the next
header 4 or 41, the HMAC right (tshark does not verify AEAD tags: scapy
does, for every frame), each sequence number once, and each frame
stamped with its input's time (the replay's clock).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from golden_esp import EspCase  # noqa: E402
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402

TUN_MTU = 1400		# the tunnels' default MTU (docs/configuration.md)


def main():
	c = EspCase(sys.argv[1], ["if0", "if1"], __file__)

	def out(tunnel, seq, inner):
		c.encap("if1", tunnel, seq, inner, A_MAC)

	def fwd(f):
		return l3(forwarded4(f, "if1", A_MAC) if IP in f else
		    forwarded6(f, "if1", A_MAC))

	f = c.rx("if0", 0.0, v4("10.20.0.5", id=1) /
	    UDP(sport=5000, dport=53) / payload(37))
	out("gcm0", 1, fwd(f))
	f = c.rx("if0", 0.1, v4("10.20.0.6", id=2, tos=0xba, flags="DF") /
	    TCP(sport=40000, dport=443, flags="S", seq=1000,
	    options=[("MSS", 1460), ("SAckOK", b"")]))
	# Into the tunnel, a SYN's MSS is clamped to the tunnel's MTU less
	# the IPv4 and TCP headers (mss_clamp, on by default).
	f = f.copy()
	f[TCP].options = [("MSS", TUN_MTU - 40), ("SAckOK", b"")]
	del f[TCP].chksum
	f = f.__class__(bytes(f))
	out("gcm0", 2, fwd(f))
	f = c.rx("if0", 0.2, v6("2001:db8:20::5", tc=0x20) /
	    UDP(sport=5001, dport=53) / payload(50, 9))
	out("gcm0", 3, fwd(f))

	f = c.rx("if0", 0.3, v4("10.21.0.5", id=3) / ICMP(id=7, seq=1) /
	    payload(20))
	out("cbc0", 1, fwd(f))
	# 62 bytes: with the two trailer bytes, whole AES blocks.
	f = c.rx("if0", 0.4, v4("10.21.0.6", id=4) /
	    UDP(sport=5002, dport=9) / udp_payload_for(62, 28, 4))
	out("cbc0", 2, fwd(f))
	f = c.rx("if0", 0.5, v4("10.21.0.7", id=5, flags="DF") /
	    UDP(sport=5003, dport=9) / udp_payload_for(TUN_MTU, 28, 5))
	out("cbc0", 3, fwd(f))

	f = c.rx("if0", 0.6, v4("10.21.0.7", id=6, flags="DF") /
	    UDP(sport=5004, dport=9) / udp_payload_for(TUN_MTU + 1, 28, 6))
	c.tx("if0", icmp4_error("if0", H0_MAC, f, type=3, code=4,
	    nexthopmtu=TUN_MTU))

	# Without DF: cut to the tunnel's MTU before encryption (RFC 4459
	# 3), each fragment in an ESP packet of its own; the outer packets
	# fit the egress MTU whole.
	f = c.rx("if0", 0.7, v4("10.21.0.8", id=7) /
	    UDP(sport=5005, dport=9) / udp_payload_for(1480, 28, 7))
	for seq, piece in enumerate(fragments4(f, "if1", A_MAC, TUN_MTU), 4):
		out("cbc0", seq, l3(piece))

	c.save()


if __name__ == "__main__":
	main()
