#!/usr/bin/python3
"""
tests/golden/esp_in_udp/gen.py: inbound ESP in UDP (RFC 3948) and
extended sequence numbers (RFC 4303 appendix A).  Two tunnels end at
hexgate, their peers' packets arriving on if1 from A: udp0 (ESP in UDP,
AES-256-GCM, from 198.51.100.9 port 4500, 10.22.0.0/16 behind it) and
esn0 (native ESP, ChaCha20-Poly1305 with ESN, from 198.51.100.11,
10.23.0.0/16).  What the ESP carries is addressed to h0 and must leave
if0 as a router hands it on, in order:

- udp0: sequence number 1 delivered; a NAT keepalive (one 0xff byte,
  RFC 3948 2.3) is dropped (counted as nat_keepalive): nothing leaves;
  IKE on port 4500 (the four-byte non-ESP marker, then an IKE_SA_INIT
  header, 2.2) goes to hexgated's IKE engine (docs/ipsec-ike.md), not
  to the host side: no IPsec connection names this peer, so nothing
  answers it (no ICMP port unreachable either); then 2 delivered:
  neither disturbed the SA.
- esn0: the receiver infers the high half of each 64-bit sequence
  number from its window (A2.2) and authenticates it (the AAD, RFC 7634
  2.1): 0x80000000 and 0xfffffff0 delivered; 0x1_00000005, whose low
  half has wrapped, delivered; 0x1_00000006 sealed by a sender that
  left the high half at 0: its ICV fails, dropped; 0x1_00000006 as it
  should be: delivered; 0xfffffff1, late, from before the wrap, still
  in the window: delivered (high half inferred as 0); 0xfffffff0 again:
  a replay, dropped.

check.py decrypts every ESP frame of in-if1.pcap: udp0's with tshark
and scapy, esn0's with scapy (tshark 4.0 has no ChaCha20-Poly1305 nor
ESN): each carries the packet meant, with the high half it was sealed
with.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from golden_esp import ESP_UDP_PORT, EspCase  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

IKE_SA_INIT = bytes.fromhex(
    "0102030405060708" "0000000000000000"	# initiator's SPI, responder's
    "21" "20" "22" "08"		# next payload SA, IKEv2, IKE_SA_INIT, I
    "00000000" "0000001c")	# message id, length (header only)


def main():
	c = EspCase(sys.argv[1], ["if0", "if1"], __file__)

	def delivered(inner):
		c.tx("if0", forwarded4(Ether() / Raw(inner), "if0", H0_MAC))

	def udp4(src, ident):
		return bytes(IP(src=src, dst=H0_IP4, id=ident, ttl=60) /
		    UDP(sport=7000 + ident, dport=53) / payload(30 + ident, ident))

	def from_peer(t, data):
		sa = c.sa_in["udp0"]
		return c.rx("if1", t, Ether(dst=IF_MAC["if1"], src=A_MAC) /
		    IP(src=sa.src, dst=sa.dst, ttl=64) /
		    UDP(sport=ESP_UDP_PORT, dport=ESP_UDP_PORT) / Raw(data))

	i = udp4("10.22.0.5", 1)
	c.decap_rx("if1", 0.0, "udp0", 1, i, A_MAC)
	delivered(i)
	from_peer(0.1, b"\xff")
	from_peer(0.2, bytes(4) + IKE_SA_INIT)
	i = udp4("10.22.0.5", 2)
	c.decap_rx("if1", 0.3, "udp0", 2, i, A_MAC)
	delivered(i)

	t = 0.4
	for lo, hi, seal_hi, ok in [(0x80000000, 0, None, True),
	    (0xfffffff0, 0, None, True), (5, 1, None, True), (6, 1, 0, False),
	    (6, 1, None, True), (0xfffffff1, 0, None, True)]:
		i = udp4("10.23.0.5", 10 + int(t * 10))
		f = c.decap_rx("if1", t, "esn0", lo, i, A_MAC, esn_hi=hi,
		    seal_hi=seal_hi)
		if ok:
			delivered(i)
		if lo == 0xfffffff0:
			replay = f
		t += 0.1
	c.rx_again("if1", t, replay)

	c.save()


if __name__ == "__main__":
	main()
