"""
tests/golden/golden_esp.py: what the ESP cases (esp_*) share: their test
keys, ESP packets built with scapy 2.5's own ESP (scapy.layers.ipsec, an
implementation independent of hexgate's), and the check that decrypts,
after the run, every ESP frame a case recorded: with tshark where tshark
4.0 can (AES-GCM, AES-CBC), and with scapy (every frame: ICVs,
ChaCha20-Poly1305, ESN).

A case's config.json declares its tunnels as any configuration does.
gen.py makes an EspCase, which reads them back (tunnels()) and writes
each SA's key file into the temp dir beside the config (key_file is
relative to the config file's folder; mode 0600, or hexgated refuses to
start).  Its encap() and decap_rx() build the frames with seal() and
record each one; save() writes the records to esp-frames.json beside
the pcaps.  check.py then calls check_main(): each recorded frame is
found again, decrypted with the SA's key, and its inner packet compared
with the one recorded (check_dir()).

The keys are test keys made from the key file's name (test_key()): the
same on every run, never used for anything else.
"""
import hashlib
import ipaddress
import json
import os
import struct
import subprocess
import sys

from golden import Case, IF_MAC, bad_checksums
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import rdpcap

ESP_UDP_PORT = 4500	# RFC 3948
OUTER_TTL = 64		# hexgate's outer TTL / hop limit (src/tun/esp.h)
FRAMES_FILE = "esp-frames.json"

# Configured algorithm -> scapy's cipher and HMAC names, key lengths
# (bytes; AEAD: with the 4-byte salt), ICV length, and what the padding
# aligns the ciphertext to (RFC 4303 2.4: the cipher's block, at least 4).
# Then tshark's names for its ESP SA table.
ALGS = {
	"aes128gcm": ("AES-GCM", None, 20, 0, 16, 4),
	"aes256gcm": ("AES-GCM", None, 36, 0, 16, 4),
	"chacha20poly1305": ("CHACHA20-POLY1305", None, 36, 0, 16, 4),
	"aes128cbc-sha256": ("AES-CBC", "SHA2-256-128", 16, 32, 16, 16),
	"aes256cbc-sha256": ("AES-CBC", "SHA2-256-128", 32, 32, 16, 16),
	"aes256cbc-sha384": ("AES-CBC", "SHA2-384-192", 32, 48, 24, 16),
	"aes256cbc-sha512": ("AES-CBC", "SHA2-512-256", 32, 64, 32, 16),
}
TSHARK_CIPHER = {
	"AES-GCM": "AES-GCM with 16 octet ICV [RFC4106]",
	"AES-CBC": "AES-CBC [RFC3602]",
}
TSHARK_AUTH = {
	None: "NULL",
	"SHA2-256-128": "HMAC-SHA-256-128 [RFC4868]",
	"SHA2-384-192": "HMAC-SHA-384-192 [RFC4868]",
	"SHA2-512-256": "HMAC-SHA-512-256 [RFC4868]",
}


def test_key(name, n_bytes):
	"""n_bytes of test key for the key file name: SHA-256 in counter
	mode over the name, so gen.py and check.py agree without sharing
	state."""
	out = b""
	i = 0
	while len(out) < n_bytes:
		out += hashlib.sha256(b"hexgate golden test key %d %s" %
		    (i, name.encode())).digest()
		i += 1
	return out[:n_bytes]


class Sa:
	"""One configured SA: SPI, algorithm, keys, the outer addresses it
	runs between (src -> dst as its packets travel), ESN."""

	def __init__(self, tunnel, cfg, inbound):
		self.tunnel = tunnel["name"]
		self.spi = cfg["spi"]
		self.alg = cfg["alg"]
		self.key_file = cfg["key_file"]
		(self.crypt, self.auth, enc_len, auth_len, self.icv_len,
		    self.block) = ALGS[self.alg]
		self.enc_key = test_key(self.key_file, enc_len)
		self.auth_key = test_key(self.key_file + ":hmac", auth_len) \
		    if auth_len else None
		self.esn = tunnel.get("esn", False)
		self.udp = tunnel.get("encap", "esp") == "udp"
		self.remote_port = tunnel.get("remote_port", ESP_UDP_PORT)
		local, remote = tunnel["local"], tunnel["remote"]
		self.inbound = inbound
		self.src, self.dst = (remote, local) if inbound else (local, remote)
		self.v6 = ipaddress.ip_address(local).version == 6

	def key_text(self):
		"""The key file's text (docs/ipsec.md): AEAD key then salt in
		hex; CBC key, ':', HMAC key."""
		if self.auth_key is None:
			return self.enc_key.hex() + "\n"
		return self.enc_key.hex() + ":" + self.auth_key.hex() + "\n"

	def scapy_sa(self, esn_hi=0):
		return SecurityAssociation(ESP, spi=self.spi,
		    crypt_algo=self.crypt, crypt_key=self.enc_key,
		    auth_algo=self.auth, auth_key=self.auth_key,
		    tunnel_header=IPv6(src=self.src, dst=self.dst) if self.v6
		    else IP(src=self.src, dst=self.dst),
		    esn_en=self.esn, esn=esn_hi)

	def iv(self, seq):
		"""The IV hexgate sends with 64-bit sequence number seq
		(docs/ipsec.md): AEAD, the sequence number (RFC 4106 3.1);
		CBC, AES_K(seq64 | SPI | 0^32) (an unpredictable IV from a
		unique nonce, NIST SP 800-38A appendix C)."""
		if self.crypt != "AES-CBC":
			return struct.pack("!Q", seq)
		from cryptography.hazmat.primitives.ciphers import (Cipher,
		    algorithms, modes)
		enc = Cipher(algorithms.AES(self.enc_key), modes.ECB()).encryptor()
		return enc.update(struct.pack("!QI4x", seq, self.spi)) + \
		    enc.finalize()

	def tshark_uat(self):
		"""This SA's row of tshark's ESP SA table (esp_sa)."""
		assert not self.esn and self.crypt in TSHARK_CIPHER, \
		    "tshark 4.0 decrypts neither ChaCha20-Poly1305 nor ESN"
		return 'uat:esp_sa:"%s","%s","%s","0x%08x","%s","0x%s","%s","%s"' \
		    % ("IPv6" if self.v6 else "IPv4", self.src, self.dst, self.spi,
		    TSHARK_CIPHER[self.crypt], self.enc_key.hex(),
		    TSHARK_AUTH[self.auth],
		    "0x" + self.auth_key.hex() if self.auth_key else "")


def tunnels(case_dir):
	"""The tunnels of a case's config.json: name -> (sa_out, sa_in)."""
	with open(os.path.join(case_dir, "config.json")) as f:
		cfg = json.load(f)
	return {t["name"]: (Sa(t, t["sa_out"], False), Sa(t, t["sa_in"], True))
	    for t in cfg.get("tunnels", [])}


def write_keys(outdir, sas):
	"""Each SA's key file in outdir, readable by its owner only."""
	for sa in sas:
		path = os.path.join(outdir, sa.key_file)
		fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
		with os.fdopen(fd, "w") as f:
			f.write(sa.key_text())
		os.chmod(path, 0o600)


def seal(sa, inner, seq, esn_hi=0):
	"""The ESP packet (header to ICV) carrying the IP packet inner
	(bytes) in tunnel mode with sequence number seq (the low 32 bits on
	the wire, esn_hi the high half), built by scapy's ESP with the IV
	hexgate would send.  Padding is scapy's: the least that aligns the
	ciphertext, bytes 1, 2, 3, ... (RFC 4303 2.4)."""
	assert not (sa.esn and sa.auth), "scapy 2.5 leaves ESN out of an HMAC"
	pkt = IP(inner) if inner[0] >> 4 == 4 else IPv6(inner)
	full = esn_hi << 32 | seq
	out = sa.scapy_sa(esn_hi).encrypt(pkt, seq_num=seq, iv=sa.iv(full),
	    esn_en=sa.esn, esn=esn_hi)
	return bytes(out[ESP])


def unseal(sa, esp, esn_hi=0):
	"""The inner packet of ESP packet esp, by scapy's ESP; raises
	IPSecIntegrityError when the ICV does not verify."""
	hdr = IPv6(src=sa.src, dst=sa.dst) if sa.v6 else \
	    IP(src=sa.src, dst=sa.dst)
	pkt = hdr.__class__(bytes(hdr / ESP(esp)))
	return bytes(sa.scapy_sa(esn_hi).decrypt(pkt, esn_en=sa.esn,
	    esn=esn_hi))


def outer(sa, esp, dst_mac, src_mac, tos=0):
	"""An Ethernet frame carrying ESP packet esp between the SA's
	endpoints, with the outer header hexgate writes (src/tun/esp.c,
	write_outer): IPv4 with TTL 64, id 0 and DF (RFC 6864 4.1: it is
	never fragmented), or IPv6 with hop limit 64 and flow label 0; the
	inner packet's TOS / traffic class copied whole (RFC 4301 5.1.2.1:
	DSCP copied; RFC 6040's normal mode: ECN copied).  ESP in UDP (RFC
	3948) runs between port 4500 and the peer's remote_port, checksum 0
	over IPv4 (RFC 3948 2.1), computed over IPv6 (RFC 8200 8.1).  The UDP
	header is added here, not by scapy's nat_t_header, whose IP length
	is wrong in scapy 2.5."""
	l4 = Raw(esp)
	if sa.udp:
		sport, dport = (sa.remote_port, ESP_UDP_PORT) if sa.inbound \
		    else (ESP_UDP_PORT, sa.remote_port)
		l4 = UDP(sport=sport, dport=dport,
		    chksum=None if sa.v6 else 0) / l4
	proto = 17 if sa.udp else 50
	if sa.v6:
		ip = IPv6(src=sa.src, dst=sa.dst, hlim=OUTER_TTL, tc=tos, fl=0,
		    nh=proto)
	else:
		ip = IP(src=sa.src, dst=sa.dst, ttl=OUTER_TTL, id=0, flags="DF",
		    tos=tos, proto=proto)
	return Ether(dst=dst_mac, src=src_mac) / ip / l4


def inner_tos(inner):
	"""The TOS (IPv4) or traffic class (IPv6) byte of an IP packet."""
	if inner[0] >> 4 == 4:
		return inner[1]
	return (inner[0] & 0x0f) << 4 | inner[1] >> 4


class EspCase(Case):
	"""A Case with the tunnels of its config.json (self.sa_out[NAME],
	self.sa_in[NAME]), their key files written, and a record of every
	ESP frame for check_dir()."""

	def __init__(self, outdir, ifaces, gen_file):
		super().__init__(outdir, ifaces)
		self.sa_out, self.sa_in = {}, {}
		for name, (o, i) in tunnels(os.path.dirname(
		    os.path.abspath(gen_file))).items():
			self.sa_out[name], self.sa_in[name] = o, i
		os.makedirs(outdir, exist_ok=True)
		write_keys(outdir, list(self.sa_out.values()) +
		    list(self.sa_in.values()))
		self.records = []

	def encap(self, iface, tunnel, seq, inner, dst_mac, tool=None,
	    esn_hi=0):
		"""inner (an IP packet, bytes, as the router hands it on) must
		leave iface, to dst_mac, inside tunnel's next outbound ESP packet,
		number seq.  Returns the frame expected."""
		sa = self.sa_out[tunnel]
		frame = outer(sa, seal(sa, inner, seq, esn_hi), dst_mac,
		    IF_MAC[iface], tos=inner_tos(inner))
		self.tx(iface, frame)
		self._record("out-%s.pcap" % iface, sa, seq, esn_hi, inner, tool,
		    True, t=self.last_t)
		return frame

	def decap_rx(self, iface, t, tunnel, seq, inner, src_mac, esn_hi=0,
	    tamper=False, seal_hi=None, tool=None):
		"""tunnel's peer sends inner (bytes) in ESP packet number seq
		(esn_hi the high half) to iface at t.  tamper: one bit of the
		ciphertext flipped after sealing, so the ICV must fail.
		seal_hi: seal with this high half instead (a sender whose
		idea of the high half differs).  Returns the frame as it
		arrived."""
		sa = self.sa_in[tunnel]
		hi = esn_hi if seal_hi is None else seal_hi
		esp = bytearray(seal(sa, inner, seq, hi))
		if tamper:
			esp[8 + len(sa.iv(0)) + 2] ^= 0x10
		frame = self.rx(iface, t, outer(sa, bytes(esp), IF_MAC[iface],
		    src_mac))
		self._record("in-%s.pcap" % iface, sa, seq, hi, inner, tool,
		    not tamper, esp=bytes(esp))
		return frame

	def rx_again(self, iface, t, frame):
		"""An ESP frame decap_rx() made arrives again at t, byte for
		byte (a replay)."""
		b = bytes(frame)
		for r in list(self.records):
			if r["esp"] is not None and bytes.fromhex(r["esp"]) in b:
				self.records.append(dict(r))
				break
		else:
			raise AssertionError("not a frame decap_rx() made")
		return self.rx(iface, t, frame)

	def _record(self, pcap, sa, seq, esn_hi, inner, tool, ok, t=None,
	    esp=None):
		if tool is None:
			tool = "tshark" if tshark_can(sa) else "scapy"
		assert tool == "scapy" or tshark_can(sa), \
		    "tshark 4.0 cannot decrypt %s" % sa.tunnel
		self.records.append({"pcap": pcap, "tunnel": sa.tunnel,
		    "inbound": sa.inbound, "spi": sa.spi, "seq": seq,
		    "esn_hi": esn_hi, "inner": inner.hex(), "tool": tool,
		    "ok": ok, "t": t, "esp": esp.hex() if esp else None})

	def save(self):
		super().save()
		# Inputs are found again by their place in the pcap, written
		# in time order (Case.save): a replayed frame and its original
		# are the same bytes, so each record takes the next copy.
		taken = set()
		for r in self.records:
			if r["esp"] is None:
				continue
			iface = r["pcap"][3:-5]
			frames = sorted(self.inputs[iface], key=lambda x: x[0])
			for k, (_, b) in enumerate(frames):
				if (iface, k) not in taken and \
				    bytes.fromhex(r["esp"]) in b:
					taken.add((iface, k))
					r["index"] = k
					break
			else:
				raise AssertionError("recorded input not found")
		with open(os.path.join(self.outdir, FRAMES_FILE), "w") as f:
			json.dump(self.records, f, indent=1)


def tshark_can(sa):
	return not sa.esn and sa.crypt in TSHARK_CIPHER


# ---- after the run: check_dir() -------------------------------------------

def esp_of(frame):
	"""(spi, seq, ESP bytes) of an Ethernet frame carrying ESP (IP
	protocol 50) or ESP in UDP (a payload that is not a keepalive and
	starts with a non-zero SPI), else None."""
	eth = Ether(frame)
	ip = eth.payload
	if isinstance(ip, IP):
		data = bytes(ip.payload)[:ip.len - ip.ihl * 4]
		proto = ip.proto
	elif isinstance(ip, IPv6):
		data = bytes(ip.payload)[:ip.plen]
		proto = ip.nh
	else:
		return None
	if proto == 17 and len(data) >= 16:
		data = data[8:]
	elif proto != 50:
		return None
	if len(data) < 8 or data[:4] == bytes(4):
		return None
	spi, seq = struct.unpack("!II", data[:8])
	return spi, seq, data


def read_pcap(path):
	"""[(seconds, bytes)] of a pcap; none for a missing or empty file."""
	if not os.path.exists(path) or os.path.getsize(path) == 0:
		return []
	return [(float(p.time), bytes(p.original)) for p in rdpcap(path)]


def tshark_decrypt(path, sas):
	"""tshark's reading of every ESP frame in path with the SAs' keys:
	frame index (from 0) -> (decrypted payload or None, ICV bad)."""
	cmd = ["tshark", "-r", path, "-o", "esp.enable_encryption_decode:TRUE",
	    "-o", "esp.enable_authentication_check:TRUE"]
	for sa in sas:
		cmd += ["-o", sa.tshark_uat()]
	cmd += ["-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
	    "-e", "frame.number", "-e", "esp.decrypted_data", "-e",
	    "esp.icv_bad", "esp"]
	p = subprocess.run(cmd, capture_output=True, text=True, check=True)
	out = {}
	for line in p.stdout.splitlines():
		num, data, bad = line.split("|")
		out[int(num) - 1] = (bytes.fromhex(data) if data else None,
		    bad in ("1", "True"))
	return out


def trailer_problems(sa, inner, plain):
	"""What is wrong with a decrypted ESP payload plain (inner packet,
	padding, pad length, next header) against RFC 4303 2.4-2.6 and the
	inner packet that was meant: the padding 1, 2, 3, ... and the
	least that aligns the ciphertext (hexgate's choice), next header 4
	(IPv4) or 41 (IPv6)."""
	problems = []
	if len(plain) < 2:
		return ["decrypted payload of %d bytes" % len(plain)]
	pad_len, nh = plain[-2], plain[-1]
	body, pad = plain[:-2 - pad_len], plain[-2 - pad_len:-2]
	if body != inner:
		problems.append(inner_diff(inner, body))
	if pad != bytes(range(1, pad_len + 1)):
		problems.append("padding %s, not 1, 2, 3, ..." % pad.hex())
	align = sa.block
	if pad_len != -(len(inner) + 2) % align:
		problems.append("pad length %d, %d aligns the ciphertext to %d"
		    % (pad_len, -(len(inner) + 2) % align, align))
	want_nh = 4 if inner[0] >> 4 == 4 else 41
	if nh != want_nh:
		problems.append("next header %d, want %d" % (nh, want_nh))
	return problems


def inner_diff(want, got):
	"""Where the inner packet got differs from the one meant."""
	i = next((k for k in range(min(len(want), len(got)))
	    if want[k] != got[k]), min(len(want), len(got)))
	return "inner packet differs at byte %d (length meant %d, got %d): " \
	    "meant %s got %s" % (i, len(want), len(got), want[i:i + 8].hex(),
	    got[i:i + 8].hex())


def inner_checks(inner):
	"""The inner packet's own checksums and length, independently of the
	packet meant."""
	problems = ["inner %s wrong" % b for b in
	    bad_checksums(bytes(Ether(type=0x0800 if inner[0] >> 4 == 4
	    else 0x86dd)) + inner)]
	if inner[0] >> 4 == 4:
		n = int.from_bytes(inner[2:4], "big")
	else:
		n = 40 + int.from_bytes(inner[4:6], "big")
	if n != len(inner):
		problems.append("inner length field %d, packet %d bytes" %
		    (n, len(inner)))
	return problems


def check_record(r, sa, frame_t, esp, tshark_view):
	"""Problems with one recorded frame, found as esp (its ESP bytes)."""
	from scapy.layers.ipsec import IPSecIntegrityError
	from golden import T0
	problems = []
	inner = bytes.fromhex(r["inner"])
	if r["t"] is not None and abs(frame_t - (T0 + r["t"])) > 1e-6:
		problems.append("left at %.6f s, not at its input's time "
		    "(t=%s, the replay's clock)" % (frame_t - T0, r["t"]))
	# scapy, for every frame: the ICV, the inner packet.
	try:
		got = unseal(sa, esp, r["esn_hi"])
		if not r["ok"]:
			problems.append("scapy accepts the ICV of a tampered frame")
		elif got != inner:
			problems.append("scapy: " + inner_diff(inner, got))
		else:
			problems += inner_checks(got)
		# scapy keeps no trailer: the pad length from the lengths.
		ct = len(esp) - 8 - len(sa.iv(0)) - sa.icv_len
		if r["ok"] and ct - len(inner) - 2 != -(len(inner) + 2) % sa.block:
			problems.append("padding of %d bytes, not the least" %
			    (ct - len(inner) - 2))
	except IPSecIntegrityError:
		if r["ok"]:
			problems.append("scapy: the ICV does not verify")
	if r["tool"] != "tshark":
		return problems
	# tshark, an implementation of its own: decrypts, checks an HMAC
	# ICV (not an AEAD tag: tshark 4.0 does not verify those).
	plain, icv_bad = tshark_view
	if plain is None:
		problems.append("tshark could not decrypt it")
	elif r["ok"]:
		problems += ["tshark: " + p for p in trailer_problems(sa, inner,
		    plain)]
		if icv_bad:
			problems.append("tshark: the ICV does not verify")
	elif sa.auth is not None and not icv_bad:
		problems.append("tshark accepts the ICV of a tampered frame")
	return problems


def check_dir(outdir):
	"""Problems (strings) with the recorded ESP frames of a case run in
	outdir: each found (an output by SPI and sequence number, once; an
	input by its place), decrypted by scapy and, where it can, tshark,
	and its inner packet the one meant.  Every ESP frame in an output
	pcap that has records must have one."""
	with open(os.path.join(outdir, FRAMES_FILE)) as f:
		records = json.load(f)
	sas = {}
	# The runner wrote the case's config.json here, @DIR@ filled in.
	for name, (o, i) in tunnels(outdir).items():
		sas[(name, False)], sas[(name, True)] = o, i
	problems = []
	for pcap in sorted(set(r["pcap"] for r in records)):
		mine = [r for r in records if r["pcap"] == pcap]
		frames = read_pcap(os.path.join(outdir, pcap))
		esps = [esp_of(b) for _, b in frames]
		tsa = [sas[(r["tunnel"], r["inbound"])] for r in mine
		    if r["tool"] == "tshark"]
		view = tshark_decrypt(os.path.join(outdir, pcap),
		    list({id(s): s for s in tsa}.values())) if tsa else {}
		used = set()
		for r in mine:
			where = "%s %s seq %d" % (pcap, r["tunnel"],
			    r["esn_hi"] << 32 | r["seq"])
			if pcap.startswith("in-"):
				k = r["index"]
				found = [k] if k < len(esps) and esps[k] else []
			else:
				found = [k for k, e in enumerate(esps) if e and
				    e[:2] == (r["spi"], r["seq"])]
			if not found:
				problems.append("%s: no such ESP frame" % where)
				continue
			if len(found) > 1:
				problems.append("%s: sent %d times (frames %s)" %
				    (where, len(found), found))
			k = found[0]
			used.update(found)
			problems += ["%s: %s" % (where, p) for p in check_record(r,
			    sas[(r["tunnel"], r["inbound"])], frames[k][0],
			    esps[k][2], view.get(k, (None, False)))]
		if pcap.startswith("out-"):
			for k, e in enumerate(esps):
				if e and k not in used:
					problems.append("%s frame #%d: ESP (SPI %#x seq %d) "
					    "that no record expects" % (pcap, k, e[0], e[1]))
	return problems


def check_main():
	"""check.py's body: check the run in sys.argv[1], print each problem
	on a line of its own, exit 1 if there are any."""
	problems = check_dir(sys.argv[1])
	for p in problems:
		print(p)
	sys.exit(1 if problems else 0)
