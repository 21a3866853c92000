"""
tests/golden/golden.py: what every case's gen.py shares: the addressing
plan, a few protocol helpers written from the RFCs (EUI-64 link-local,
solicited-node multicast, ICMP error quoting, forwarding rewrites), and
Case, which collects input and expected frames and writes them as pcaps.

Expected frames are built here from the protocols' rules, never from
hexgate's output.  Case.save() rebuilds every checksum in every frame it
writes (except inputs marked bad on purpose), so a generator cannot hand
the router a broken packet or expect one by accident.
"""
import ipaddress
import logging
import os
import struct

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.layers.inet import IP, ICMP, IPerror, UDPerror, TCPerror, ICMPerror  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPerror6, ICMPv6EchoReply,  # noqa: E402
    ICMPv6EchoRequest, _ICMPv6Error)  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw, NoPayload  # noqa: E402
from scapy.utils import checksum  # noqa: E402

T0 = 1700000000.0	# time of a case's t=0, in seconds
ETH_MIN_BYTES = 60	# shortest frame on the wire, without FCS
IP6_MIN_MTU = 1280	# RFC 8200: ICMPv6 errors fit in this

IFACES = ("if0", "if1", "if2")

# The router.  Every case's config.json uses these same values.
IF_MAC = {"if0": "02:00:00:00:00:10", "if1": "02:00:00:00:00:11",
    "if2": "02:00:00:00:00:12"}
IF_IP4 = {"if0": "10.0.1.1", "if1": "10.0.2.1", "if2": "10.0.3.1"}
IF_IP6 = {"if0": "2001:db8:1::1", "if1": "2001:db8:2::1",
    "if2": "2001:db8:3::1"}

# Hosts.  h0 sits on if0; A is the next hop on if1, B on if2; C is a
# plain host on if1's subnet.
H0_MAC, H0_IP4, H0_IP6, H0_LL = ("02:aa:00:00:00:05", "10.0.1.5",
    "2001:db8:1::5", "fe80::5")
A_MAC, A_IP4, A_IP6 = "02:bb:00:00:00:fe", "10.0.2.254", "2001:db8:2::fe"
B_MAC, B_IP4, B_IP6 = "02:cc:00:00:00:fe", "10.0.3.254", "2001:db8:3::fe"
C_MAC, C_IP4 = "02:bb:00:00:00:20", "10.0.2.20"
BCAST_MAC = "ff:ff:ff:ff:ff:ff"

# Far away: reached through A or B.
FAR_IP4 = "198.51.100.10"	# routed via A in most cases
FAR_IP6 = "2001:db8:99::10"


def mac_bytes(mac):
	return bytes(int(x, 16) for x in mac.split(":"))


def link_local(mac):
	"""fe80::/64 with the modified EUI-64 interface id (RFC 4291 app. A):
	the MAC's universal/local bit flipped and ff:fe in the middle."""
	m = bytearray(mac_bytes(mac))
	m[0] ^= 0x02
	iid = bytes(m[:3]) + b"\xff\xfe" + bytes(m[3:])
	return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))


IF_LL = {name: link_local(mac) for name, mac in IF_MAC.items()}


def solicited_node(ip6):
	"""ff02::1:ffXX:XXXX from the low 24 bits (RFC 4291 2.7.1)."""
	low = ipaddress.IPv6Address(ip6).packed[13:]
	return str(ipaddress.IPv6Address(
	    bytes.fromhex("ff0200000000000000000001ff") + low))


def mcast_mac(ip6):
	"""33:33 and the low 32 bits of the group (RFC 2464 7)."""
	low = ipaddress.IPv6Address(ip6).packed[12:]
	return "33:33:" + ":".join("%02x" % b for b in low)


def payload(n_bytes, seed=0):
	"""A recognisable payload: a counting pattern starting at seed."""
	return bytes((seed + i) & 0xff for i in range(n_bytes))


def udp_payload_for(total_bytes, hdr_bytes, seed=0):
	"""Payload that makes an IP packet exactly total_bytes long."""
	assert total_bytes >= hdr_bytes
	return payload(total_bytes - hdr_bytes, seed)


def l3(frame):
	"""The IP or IPv6 packet inside an Ethernet frame, without padding:
	what a router hands on or quotes."""
	raw = bytes(frame)[14:]
	if raw[0] >> 4 == 4:
		return raw[:int.from_bytes(raw[2:4], "big")]
	return raw[:40 + int.from_bytes(raw[4:6], "big")]


def ip4_header_checksum(hdr):
	h = bytearray(hdr)
	h[10:12] = b"\x00\x00"
	return checksum(bytes(h))


def forwarded4(frame, out_if, nh_mac):
	"""An IPv4 packet as a router hands it on: TTL - 1, header checksum
	recomputed (RFC 1812 5.3.1), new Ethernet header, rest unchanged."""
	pkt = bytearray(l3(frame))
	ihl_bytes = (pkt[0] & 0x0f) * 4
	pkt[8] -= 1
	pkt[10:12] = ip4_header_checksum(pkt[:ihl_bytes]).to_bytes(2, "big")
	return Ether(dst=nh_mac, src=IF_MAC[out_if], type=0x0800) / Raw(bytes(pkt))


def forwarded6(frame, out_if, nh_mac):
	"""An IPv6 packet as a router hands it on: hop limit - 1."""
	pkt = bytearray(l3(frame))
	pkt[7] -= 1
	return Ether(dst=nh_mac, src=IF_MAC[out_if], type=0x86dd) / Raw(bytes(pkt))


def fragments4(frame, out_if, nh_mac, mtu_bytes):
	"""Fragment a forwarded IPv4 packet for mtu_bytes (RFC 791): each
	fragment carries the header (TTL - 1), a multiple of 8 bytes of data
	except the last, offsets in 8-byte units added to the original's, MF
	on all but the last unless the original had MF, same id."""
	pkt = bytearray(l3(frame))
	ihl_bytes = (pkt[0] & 0x0f) * 4
	hdr, data = pkt[:ihl_bytes], pkt[ihl_bytes:]
	fo = int.from_bytes(hdr[6:8], "big")
	assert not fo & 0x4000, "DF packets are not fragmented"
	orig_mf, orig_off = fo & 0x2000, fo & 0x1fff
	chunk = (mtu_bytes - ihl_bytes) // 8 * 8
	out = []
	for start in range(0, len(data), chunk):
		part = data[start:start + chunk]
		last = start + chunk >= len(data)
		h = bytearray(hdr)
		h[2:4] = (ihl_bytes + len(part)).to_bytes(2, "big")
		flags = orig_mf if last else 0x2000
		h[6:8] = (flags | (orig_off + start // 8)).to_bytes(2, "big")
		h[8] -= 1
		h[10:12] = ip4_header_checksum(h).to_bytes(2, "big")
		out.append(Ether(dst=nh_mac, src=IF_MAC[out_if], type=0x0800) /
		    Raw(bytes(h) + bytes(part)))
	return out


def icmp4_error(in_if, dst_mac, frame, **icmp_fields):
	"""An ICMP error about frame, which arrived on in_if: from in_if's
	first address to the sender, TTL 64, id 0, DF clear, precedence 6
	(TOS 0xc0, RFC 1812 4.3.2.5, as Linux sends), quoting the original IP
	header and the first 8 bytes of its data as received."""
	orig = l3(frame)
	ihl_bytes = (orig[0] & 0x0f) * 4
	src = orig[12:16]
	return (Ether(dst=dst_mac, src=IF_MAC[in_if]) /
	    IP(src=IF_IP4[in_if], dst=str(ipaddress.IPv4Address(src)), ttl=64,
	    id=0, flags=0, tos=0xc0) /
	    ICMP(**icmp_fields) / Raw(orig[:ihl_bytes + 8]))


def icmp6_error(in_if, dst_mac, frame, icmp6):
	"""An ICMPv6 error about frame (RFC 4443 2.4 (c)): from in_if's first
	global address to the sender, hop limit 64, quoting as much of the
	packet as received as fits in 1280 bytes."""
	orig = l3(frame)
	src = str(ipaddress.IPv6Address(orig[8:24]))
	room = IP6_MIN_MTU - 40 - 8
	return (Ether(dst=dst_mac, src=IF_MAC[in_if]) /
	    IPv6(src=IF_IP6[in_if], dst=src, hlim=64, tc=0, fl=0) /
	    icmp6 / Raw(orig[:room]))


def echo_reply4(iface, dst_mac, frame):
	"""RFC 792 echo reply: addresses swapped, same id, sequence and data;
	a fresh header with TTL 64, id 0, DF clear."""
	req = IP(l3(frame))
	return (Ether(dst=dst_mac, src=IF_MAC[iface]) /
	    IP(src=req.dst, dst=req.src, ttl=64, id=0, flags=0, tos=0) /
	    ICMP(type=0, code=0, id=req[ICMP].id, seq=req[ICMP].seq) /
	    Raw(bytes(req[ICMP].payload)))


def echo_reply6(iface, dst_mac, frame):
	"""RFC 4443 4.2 echo reply, hop limit 64."""
	req = IPv6(l3(frame))
	return (Ether(dst=dst_mac, src=IF_MAC[iface]) /
	    IPv6(src=req.dst, dst=req.src, hlim=64, tc=0, fl=0) /
	    ICMPv6EchoReply(id=req[ICMPv6EchoRequest].id,
	    seq=req[ICMPv6EchoRequest].seq,
	    data=req[ICMPv6EchoRequest].data))


def pad(frame):
	"""Pad to the Ethernet minimum with zeros, as frames arrive off a wire."""
	b = bytes(frame)
	return b + bytes(max(0, ETH_MIN_BYTES - len(b)))


def _is_quoted(layer):
	return isinstance(layer, (IPerror, UDPerror, TCPerror, ICMPerror,
	    IPerror6)) or type(layer).__name__.endswith("error")


def _nth_layer(pkt, n):
	for _ in range(n):
		pkt = pkt.payload
	return pkt


def bad_checksums(frame_bytes):
	"""Names of the checksum fields in a frame that are wrong, found by
	clearing each and letting scapy compute it again.  Headers quoted
	inside ICMP errors are skipped: they are as received."""
	bad = []
	pkt = Ether(frame_bytes)
	depth = 0
	layer = pkt
	while not isinstance(layer, NoPayload):
		if _is_quoted(layer):
			break
		for fname in ("chksum", "cksum"):
			if fname not in layer.fields:
				continue
			# UDP over IPv4 may carry none (RFC 768: 0), as ESP
			# in UDP does (RFC 3948 2.1).
			if fname == "chksum" and type(layer).__name__ == "UDP" \
			    and isinstance(layer.underlayer, IP) and \
			    layer.chksum == 0:
				continue
			fresh = Ether(frame_bytes)
			_nth_layer(fresh, depth).setfieldval(fname, None)
			# Lengths are as given: only the checksum is recomputed.
			want = _nth_layer(Ether(bytes(fresh)), depth).getfieldval(fname)
			if want != layer.getfieldval(fname):
				bad.append("%s.%s" % (type(layer).__name__, fname))
		if isinstance(layer, _ICMPv6Error):
			break
		# A fragment's transport checksum covers the whole datagram.
		if isinstance(layer, IP) and (layer.frag or layer.flags.MF):
			break
		layer = layer.payload
		depth += 1
	return bad


class Case:
	"""The frames of one case: rx() what arrives on an interface and when,
	tx() what must leave it, in order.  save() writes in-IF.pcap and
	expect-IF.pcap for every interface, empty ones included."""

	def __init__(self, outdir, ifaces):
		self.outdir = outdir
		self.ifaces = ifaces
		self.inputs = {i: [] for i in ifaces}
		self.expects = {i: [] for i in ifaces}
		self.last_t = 0.0

	def rx(self, iface, t, frame, bad_ok=False):
		"""frame arrives on iface at T0 + t seconds; returns it padded as
		it arrived, for building what the router answers."""
		b = pad(frame)
		if not bad_ok:
			bad = bad_checksums(b)
			assert not bad, "input at t=%s has bad %s" % (t, bad)
		self.inputs[iface].append((t, b))
		self.last_t = t
		return Ether(b)

	def tx(self, iface, frame):
		"""frame must leave iface, after the ones tx()'d before it."""
		b = bytes(frame)
		assert not isinstance(Ether(b).payload, Raw), "no L3 in %r" % frame
		bad = bad_checksums(b)
		assert not bad, "expected frame has bad %s: %r" % (bad, frame)
		self.expects[iface].append((self.last_t, b))

	def save(self):
		os.makedirs(self.outdir, exist_ok=True)
		for iface in self.ifaces:
			ins = sorted(self.inputs[iface], key=lambda x: x[0])
			self._write("in-%s.pcap" % iface, ins)
			self._write("expect-%s.pcap" % iface, self.expects[iface])

	def _write(self, name, frames):
		write_pcap(os.path.join(self.outdir, name), frames)


def write_pcap(path, frames):
	"""A classic pcap file (microseconds, LINKTYPE_ETHERNET) of (t, bytes)
	frames, t in seconds after T0."""
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		for t, b in frames:
			usec = int(round((T0 + t) * 1e6))
			f.write(struct.pack("<IIII", usec // 1000000,
			    usec % 1000000, len(b), len(b)))
			f.write(b)


# ---- Firewall cases (fw_*) ----------------------------------------------

# Reject types: --reject-with name -> ICMP / ICMPv6 destination
# unreachable code (RFC 792, RFC 1812 5.2.7.1; RFC 4443 3.1).
REJECT4_CODE = {"icmp-net-unreachable": 0, "icmp-host-unreachable": 1,
    "icmp-proto-unreachable": 2, "icmp-port-unreachable": 3,
    "icmp-net-prohibited": 9, "icmp-host-prohibited": 10,
    "icmp-admin-prohibited": 13}
REJECT6_CODE = {"icmp6-no-route": 0, "icmp6-adm-prohibited": 1,
    "icmp6-addr-unreachable": 3, "icmp6-port-unreachable": 4,
    "icmp6-policy-fail": 5, "icmp6-reject-route": 6}


def fw_rules(outdir, name, rules, policy_input="DROP",
    policy_forward="DROP", user_chains=()):
	"""Writes outdir/name, a *filter table in iptables-save form: the
	built-in chains with hexgate's default policies, the customer chains,
	user_chains, then rules (lines without "-A"'s table: "-A CHAIN ...")
	and COMMIT.  Returns the text."""
	lines = ["# written by a golden case's gen.py", "*filter",
	    ":INPUT %s [0:0]" % policy_input,
	    ":FORWARD %s [0:0]" % policy_forward, ":OUTPUT ACCEPT [0:0]",
	    ":FORWARD_CUST - [0:0]", ":INPUT_CUST - [0:0]",
	    ":OUTPUT_CUST - [0:0]"]
	lines += [":%s - [0:0]" % c for c in user_chains]
	lines += list(rules) + ["COMMIT", ""]
	text = "\n".join(lines)
	os.makedirs(outdir, exist_ok=True)
	with open(os.path.join(outdir, name), "w") as f:
		f.write(text)
	return text


def fw_file(outdir, name, text):
	"""Writes a side file a case's config names (an ipset restore file)."""
	os.makedirs(outdir, exist_ok=True)
	with open(os.path.join(outdir, name), "w") as f:
		f.write(text)


def reject4(in_if, dst_mac, frame, reject_with="icmp-port-unreachable"):
	"""REJECT with an ICMP type: destination unreachable with that code,
	built like the router's other ICMP errors (icmp4_error)."""
	return icmp4_error(in_if, dst_mac, frame, type=3,
	    code=REJECT4_CODE[reject_with])


def reject6(in_if, dst_mac, frame, reject_with="icmp6-port-unreachable"):
	"""REJECT with an ICMPv6 type: destination unreachable with that code
	(icmp6_error)."""
	from scapy.layers.inet6 import ICMPv6DestUnreach
	return icmp6_error(in_if, dst_mac, frame,
	    ICMPv6DestUnreach(code=REJECT6_CODE[reject_with]))


def _rst_fields(tcp_bytes, l4_len):
	"""RFC 793 "Reset Generation" (3.4), as Linux's REJECT does it: if
	the segment had ACK, seq = its ack and only RST; else seq 0, RST|ACK,
	ack = its seq + its length (payload, plus 1 for SYN and 1 for FIN)."""
	seq = int.from_bytes(tcp_bytes[4:8], "big")
	ack = int.from_bytes(tcp_bytes[8:12], "big")
	flags = tcp_bytes[13]
	doff_bytes = (tcp_bytes[12] >> 4) * 4
	seg_len = l4_len - doff_bytes + (flags & 0x02 != 0) + (flags & 0x01 != 0)
	if flags & 0x10:
		return dict(seq=ack, ack=0, flags="R")
	return dict(seq=0, ack=(seq + seg_len) & 0xffffffff, flags="RA")


def tcp_reset4(in_if, dst_mac, frame):
	"""REJECT --reject-with tcp-reset: a RST from the segment's
	destination to its source, ports swapped, IPv4 TTL 64, id 0, DF, TOS
	0, window 0, no options, leaving in_if (the way back)."""
	from scapy.layers.inet import TCP
	orig = l3(frame)
	ihl_bytes = (orig[0] & 0x0f) * 4
	tcp = orig[ihl_bytes:]
	src = str(ipaddress.IPv4Address(orig[12:16]))
	dst = str(ipaddress.IPv4Address(orig[16:20]))
	return (Ether(dst=dst_mac, src=IF_MAC[in_if]) /
	    IP(src=dst, dst=src, ttl=64, id=0, flags="DF", tos=0) /
	    TCP(sport=int.from_bytes(tcp[2:4], "big"),
	    dport=int.from_bytes(tcp[0:2], "big"), window=0,
	    **_rst_fields(tcp, len(tcp))))


def tcp_reset6(in_if, dst_mac, frame):
	"""tcp_reset4 for IPv6: hop limit 64, traffic class 0, flow label 0."""
	from scapy.layers.inet import TCP
	orig = l3(frame)
	assert orig[6] == 6, "no extension headers here"
	tcp = orig[40:]
	src = str(ipaddress.IPv6Address(orig[8:24]))
	dst = str(ipaddress.IPv6Address(orig[24:40]))
	return (Ether(dst=dst_mac, src=IF_MAC[in_if]) /
	    IPv6(src=dst, dst=src, hlim=64, tc=0, fl=0) /
	    TCP(sport=int.from_bytes(tcp[2:4], "big"),
	    dport=int.from_bytes(tcp[0:2], "big"), window=0,
	    **_rst_fields(tcp, len(tcp))))


# ---- firewall cases: every probe comes from h0 ----------------------------

def from_h0():
	"""A frame from h0 to the router's if0."""
	return Ether(dst=IF_MAC["if0"], src=H0_MAC)


def v4(dst="198.51.100.10", **kw):
	return from_h0() / IP(src=H0_IP4, dst=dst, **kw)


def v6(dst="2001:db8:99::10", **kw):
	return from_h0() / IPv6(src=H0_IP6, dst=dst, **kw)


class Fw(Case):
	"""A case whose packets all come from h0: pass() must be forwarded to
	A on if1, block() must not leave."""

	def pass_(self, t, frame):
		f = self.rx("if0", t, frame)
		self.tx("if1", forwarded4(f, "if1", A_MAC) if IP in f else
		    forwarded6(f, "if1", A_MAC))

	def block(self, t, frame):
		self.rx("if0", t, frame)


# ---- NAT cases (nat_*) ---------------------------------------------------

# More inside hosts on if0, beside h0.
H1_MAC, H1_IP4, H1_IP6 = "02:aa:00:00:00:06", "10.0.1.6", "2001:db8:1::6"
S_MAC, S_IP4 = "02:aa:00:00:00:c8", "10.0.1.200"	# a server on if0


def nat_rules(outdir, name, filter_rules, nat):
	"""Writes outdir/name: the *filter table as fw_rules() writes it,
	then a *nat table with the built-in chains (policy ACCEPT: nat
	chains never drop), the customer chains and the nat rules nat
	("-A PREROUTING_CUST ...").  Returns the text."""
	text = fw_rules(outdir, name, filter_rules)
	text += "\n".join(["*nat", ":PREROUTING ACCEPT [0:0]",
	    ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
	    ":POSTROUTING ACCEPT [0:0]", ":PREROUTING_CUST - [0:0]",
	    ":POSTROUTING_CUST - [0:0]"] + list(nat) + ["COMMIT", ""])
	with open(os.path.join(outdir, name), "w") as f:
		f.write(text)
	return text


def _l4_of(pkt):
	"""The transport layer of a scapy IP/IPv6 packet, or None."""
	from scapy.layers.inet import TCP, UDP
	from scapy.layers.inet6 import _ICMPv6
	for cls in (TCP, UDP, ICMP, _ICMPv6):
		if cls in pkt:
			return pkt[cls]
	# scapy's "in" wants the exact class, and ICMPv6 messages (echo
	# request, reply) are subclasses of _ICMPv6.
	layer = pkt.payload
	while not isinstance(layer, NoPayload):
		if isinstance(layer, _ICMPv6):
			return layer
		layer = layer.payload
	return None


def natted(frame, out_if, nh_mac, src=None, dst=None, sport=None,
    dport=None, echo_id=None):
	"""A packet forwarded (TTL / hop limit - 1) with the fields NAT
	changes set to the given values (None: unchanged): addresses, TCP /
	UDP ports, the ICMP / ICMPv6 echo identifier.  Every checksum is
	computed afresh over the whole packet (the IP header's, TCP's and
	UDP's with the new pseudo-header, ICMP's, ICMPv6's with its
	pseudo-header), so the result does not depend on how the router
	updates them."""
	raw = l3(frame)
	pkt = IP(raw) if raw[0] >> 4 == 4 else IPv6(raw)
	if isinstance(pkt, IP):
		pkt.ttl -= 1
		pkt.chksum = None
	else:
		pkt.hlim -= 1
	if src is not None:
		pkt.src = src
	if dst is not None:
		pkt.dst = dst
	l4 = _l4_of(pkt)
	if l4 is not None and hasattr(l4, "sport"):
		if sport is not None:
			l4.sport = sport
		if dport is not None:
			l4.dport = dport
	if echo_id is not None:
		l4.id = echo_id
	for f in ("chksum", "cksum"):
		if l4 is not None and f in l4.fields:
			setattr(l4, f, None)
	out = bytes(pkt)
	assert len(out) == len(raw)
	return (Ether(dst=nh_mac, src=IF_MAC[out_if],
	    type=0x0800 if isinstance(pkt, IP) else 0x86dd) / Raw(out))


def unnatted_quote(sent_frame, quoted):
	"""What an ICMP error quoting quoted (the translated packet, as the
	far side saw it) must quote once translated back: the packet as the
	inside host sent it (sent_frame), with the TTL / hop limit the far
	side saw, cut to the quote's length.  NAT changed only addresses,
	ports and identifiers, and undoing it restores them; every
	checksum in the quote is then the inside host's own (the IPv4
	header's recomputed for the TTL)."""
	q = bytearray(l3(sent_frame))
	if q[0] >> 4 == 4:
		ihl_bytes = (q[0] & 0x0f) * 4
		q[8] = quoted[8]
		q[10:12] = ip4_header_checksum(q[:ihl_bytes]).to_bytes(2, "big")
	else:
		q[7] = quoted[7]
	return bytes(q[:len(quoted)])


def natted_error(frame, out_if, nh_mac, dst, quote, src=None):
	"""An ICMP / ICMPv6 error forwarded back to an inside host: TTL /
	hop limit - 1, outer destination dst, outer source and ICMP header
	as received, quote in place of the received quote, ICMP (ICMPv6:
	with the pseudo-header) checksum and IPv4 header checksum
	computed afresh.  src, if given, is the outer source instead (an
	error the inside end of a DNAT flow sends, leaving from the
	public address)."""
	from scapy.layers.inet6 import in6_chksum
	raw = bytearray(l3(frame))
	if raw[0] >> 4 == 4:
		ihl_bytes = (raw[0] & 0x0f) * 4
		hdr = IP(bytes(raw[:ihl_bytes]))
		hdr.ttl -= 1
		hdr.dst = dst
		if src is not None:
			hdr.src = src
		hdr.chksum = None
		icmp = bytearray(raw[ihl_bytes:ihl_bytes + 8]) + quote
		icmp[2:4] = b"\x00\x00"
		icmp[2:4] = checksum(bytes(icmp)).to_bytes(2, "big")
		hdr.len = ihl_bytes + len(icmp)
		return (Ether(dst=nh_mac, src=IF_MAC[out_if], type=0x0800) /
		    Raw(bytes(hdr)[:ihl_bytes] + bytes(icmp)))
	assert raw[6] == 58, "no extension headers here"
	hdr = IPv6(bytes(raw[:40]))
	hdr.hlim -= 1
	hdr.dst = dst
	if src is not None:
		hdr.src = src
	icmp = bytearray(raw[40:48]) + quote
	hdr.plen = len(icmp)
	icmp[2:4] = b"\x00\x00"
	icmp[2:4] = in6_chksum(58, hdr, bytes(icmp)).to_bytes(2, "big")
	return (Ether(dst=nh_mac, src=IF_MAC[out_if], type=0x86dd) /
	    Raw(bytes(hdr)[:40] + bytes(icmp)))
