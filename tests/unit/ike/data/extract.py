#!/usr/bin/python3
"""tests/unit/ike/data/extract.py: turns one capture.sh run into a C
header of test vectors for tests/unit/ike/test_crypto.c.

  extract.py CAPDIR NAME > sswan_NAME.h

Everything comes from strongSwan, nothing from hexgate: the four IKE
datagrams from CAPDIR/ike.pcap (UDP 4500's non-ESP marker taken off), the
keys and AUTH values from the charon logs (ike/chd level 4).  right.log is
the initiator's, left.log the responder's.  Only the standard library is
used, so the vectors can be made again on any host with strongSwan.
"""
import re
import struct
import sys


def pcap_ike(path):
    """The IKE messages of an Ethernet pcap, in order."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 15) * 4
        udp = pkt[14 + ihl:]
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        body = udp[8:ulen]
        if 4500 in (sport, dport):
            assert body[:4] == b"\0\0\0\0", "4500 without non-ESP marker"
            body = body[4:]
        src = pkt[14 + 12:14 + 16]
        out.append((src, sport, body))
    return out


def log_blocks(text):
    """(label, bytes) for every hex dump of a charon log, in order."""
    blocks = []
    cur = None
    for line in text.splitlines():
        m = re.match(r"\d+\[\w+\] (.*) => (\d+) bytes @ 0x[0-9a-f]+$",
                     line.rstrip("\n"))
        if m:
            cur = [m.group(1), bytearray(), int(m.group(2))]
            blocks.append(cur)
            continue
        m = re.match(r"\d+\[\w+\]\s+\d+: ((?:[0-9A-F]{2} ){1,16})", line)
        if m and cur is not None:
            cur[1] += bytes.fromhex(m.group(1))
            continue
        cur = None
    for b in blocks:
        assert len(b[1]) == b[2], b[0]
    return [(b[0], bytes(b[1])) for b in blocks]


def first(blocks, label, nth=0):
    return [b for l, b in blocks if l == label][nth]


def read_log(path):
    with open(path, errors="replace") as f:
        return f.read()


def own_auth(text):
    """The ID and AUTH a charon made for itself: the first of each after
    its "(myself) with pre-shared key" line."""
    blocks = log_blocks(text[text.index("(myself) with pre-shared key"):])
    return first(blocks, "IDx'"), first(
        blocks, "AUTH = prf(prf(secret, keypad), octets)")


def chex(name, b):
    s = b.hex()
    lines = [s[i:i + 64] for i in range(0, len(s), 64)] or [""]
    body = "\n".join('\t    "%s"' % l for l in lines)
    return "\t.%s =\n%s,\n" % (name, body)


def main():
    cap, name = sys.argv[1], sys.argv[2]
    msgs = pcap_ike(cap + "/ike.pcap")
    assert len(msgs) in (4, 8), "want IKE_SA_INIT and IKE_AUTH, both ways"
    (ip_i, port_i, sa_i), (ip_r, port_r, sa_r) = msgs[0], msgs[1]
    assert sa_i[18] == 34 and sa_r[18] == 34 and msgs[2][2][18] == 35
    ini_text, res_text = read_log(cap + "/right.log"), read_log(
        cap + "/left.log")
    ini, res = log_blocks(ini_text), log_blocks(res_text)
    id_i, auth_i = own_auth(ini_text)
    id_r, auth_r = own_auth(res_text)
    v = [("sa_init_i", sa_i), ("sa_init_r", sa_r),
         ("auth_req", msgs[2][2]), ("auth_resp", msgs[3][2]),
         ("g_ir", first(ini, "shared Diffie Hellman secret")),
         ("skeyseed", first(ini, "SKEYSEED"))]
    for k in ("d", "ai", "ar", "ei", "er", "pi", "pr"):
        try:
            v.append(("sk_" + k, first(ini, "Sk_%s secret" % k)))
        except IndexError:
            v.append(("sk_" + k, b""))	# no integrity keys with AEAD
    v += [("id_i", id_i), ("id_r", id_r), ("auth_i", auth_i),
          ("auth_r", auth_r), ("child_seed", first(ini, "seed"))]
    for k, label in (("encr_i", "encryption initiator key"),
                     ("integ_i", "integrity initiator key"),
                     ("encr_r", "encryption responder key"),
                     ("integ_r", "integrity responder key")):
        try:
            v.append(("child_" + k, first(ini, label)))
        except IndexError:
            v.append(("child_" + k, b""))
    # Both sides agree, or the capture is not what it claims.
    assert first(res, "Sk_d secret") == first(ini, "Sk_d secret")
    assert first(res, "shared Diffie Hellman secret") == dict(v)["g_ir"]
    # What each charon computed for its peer's real address as the source
    # of the IKE_SA_INIT it received: the hash a NAT-free peer would send.
    v += [("ip_i", ip_i), ("ip_r", ip_r),
          ("natd_real_src_i", first(res, "precalculated src_hash")),
          ("natd_real_src_r", first(ini, "precalculated src_hash"))]
    # REKEY=1: the CREATE_CHILD_SA that rekeyed the IKE SA, and the new
    # SA's g^ir, SKEYSEED and keys (the second of each in the log).
    rekey = [m for m in msgs if m[2][18] == 36]
    if rekey:
        assert len(rekey) == 2
        v += [("rekey_req", rekey[0][2]), ("rekey_resp", rekey[1][2]),
              ("rekey_g_ir", first(ini, "shared Diffie Hellman secret", 1)),
              ("rekey_skeyseed", first(ini, "SKEYSEED", 1))]
        for k in ("d", "ai", "ar", "ei", "er", "pi", "pr"):
            try:
                v.append(("rekey_sk_" + k, first(ini, "Sk_%s secret" % k, 1)))
            except IndexError:
                v.append(("rekey_sk_" + k, b""))
    sys.stdout.write("/* Generated by tests/unit/ike/data/extract.py from "
                     "a capture.sh run (%s); do not edit. */\n" % name)
    sys.stdout.write("static const struct sswan_vec sswan_%s = {\n" % name)
    sys.stdout.write('\t.name = "%s",\n' % name)
    sys.stdout.write("\t.port_i = %d, .port_r = %d,\n" % (port_i, port_r))
    for k, b in v:
        sys.stdout.write(chex(k, b))
    sys.stdout.write("};\n")


if __name__ == "__main__":
    main()
