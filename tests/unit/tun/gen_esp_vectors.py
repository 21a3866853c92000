#!/usr/bin/python3
# tests/unit/tun/gen_esp_vectors.py: builds the scapy-made ESP vectors of
# test_esp.c with scapy 2.5's ESP (scapy.layers.ipsec), an implementation
# independent of hexgate's.  Prints C initialisers; paste them into
# test_esp.c.  Fixed keys, SPIs, sequence numbers and IVs: for AEAD the
# IV is the 64-bit sequence number (RFC 4106 §3.1, what hexgate sends);
# for CBC it is AES_K(seq64 | spi | 0^32), hexgate's unpredictable IV,
# computed here with python3-cryptography so the derivation is checked too.
# With ESN and HMAC the ICV is Python's hmac's (see below): scapy omits
# the high half there.
#
#   /usr/bin/python3 tests/unit/tun/gen_esp_vectors.py
import hashlib
import hmac
import struct
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from scapy.layers.inet import IP, ICMP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import SecurityAssociation, ESP
from scapy.packet import Raw


def hx(b):
    return bytes(b).hex()


def key(n, start):
    return bytes((start + i) & 0xff for i in range(n))


def inner4(n):
    return bytes(IP(src="10.1.0.1", dst="10.2.0.7", id=77, ttl=63) /
                 ICMP(type=8, id=1, seq=2) / Raw(b"a" * n))


def inner6(n):
    return bytes(IPv6(src="2001:db8:1::1", dst="2001:db8:2::7", hlim=63) /
                 UDP(sport=1111, dport=2222) / Raw(b"b" * n))


VECTORS = [
    # name, alg, enc key, auth alg, auth key, spi, seq, esn, inner
    ("gcm256_v4", "AES-GCM", key(32, 0x10) + b"\xa0\xa1\xa2\xa3", None,
     None, 0x1000, 1, False, inner4(40)),
    ("gcm128_esn", "AES-GCM", key(16, 0x20) + b"\xb0\xb1\xb2\xb3", None,
     None, 0x1001, (1 << 32) + 2, True, inner4(13)),
    ("chacha_v6", "CHACHA20-POLY1305", key(32, 0x30) + b"\xc0\xc1\xc2\xc3",
     None, None, 0x1002, 7, False, inner6(100)),
    ("cbc128_sha256", "AES-CBC", key(16, 0x40), "SHA2-256-128",
     key(32, 0x50), 0x1003, 3, False, inner4(31)),
    ("cbc192_sha384", "AES-CBC", key(24, 0x60), "SHA2-384-192",
     key(48, 0x70), 0x1004, 9, False, inner6(20)),
    ("cbc256_sha512_esn", "AES-CBC", key(32, 0x80), "SHA2-512-256",
     key(64, 0x90), 0x1005, (5 << 32) + 11, True, inner4(64)),
]

for name, alg, ek, aa, ak, spi, seq, esn, inner in VECTORS:
    lo, hi = seq & 0xffffffff, seq >> 32
    if alg == "AES-CBC":
        nonce = struct.pack("!QI", seq, spi) + b"\0" * 4
        enc = Cipher(algorithms.AES(ek), modes.ECB()).encryptor()
        iv = enc.update(nonce) + enc.finalize()
    else:
        iv = struct.pack("!Q", seq)
    sa = SecurityAssociation(ESP, spi=spi, crypt_algo=alg, crypt_key=ek,
                             auth_algo=aa, auth_key=ak,
                             tunnel_header=IP(src="192.0.2.1",
                                              dst="198.51.100.2"),
                             esn_en=esn, esn=hi)
    pkt = IP(inner) if inner[0] >> 4 == 4 else IPv6(inner)
    out = sa.encrypt(pkt, seq_num=lo, iv=iv, esn_en=esn, esn=hi)
    esp = bytes(out[ESP])
    back = sa.decrypt(out, esn_en=esn, esn=hi)
    assert bytes(back) == inner, name
    if esn and aa is not None:
        # scapy 2.5 leaves the high half out of an ESP HMAC (its sign()
        # only adds it for AH); RFC 4303 §2.2.1 and appendix A3.3 put it
        # after the payload.  The ICV is recomputed here with Python's
        # own hmac over exactly that.
        digest = {"SHA2-256-128": hashlib.sha256,
                  "SHA2-384-192": hashlib.sha384,
                  "SHA2-512-256": hashlib.sha512}[aa]
        n = len(esp) - digest().digest_size // 2
        icv = hmac.new(ak, esp[:n] + struct.pack("!L", hi), digest)
        esp = esp[:n] + icv.digest()[:len(esp) - n]
    print("\t{ \"%s\", \"%s\", \"%s\", \"%s\", 0x%x, 0x%xULL, %s,"
          % (name, alg, hx(ek), hx(ak or b""), spi, seq,
             "true" if esn else "false"))
    print("\t    \"%s\",\n\t    \"%s\" }," % (hx(inner), hx(esp)))
