#!/bin/bash
# tests/unit/tun/data/wg_capture.sh: records one WireGuard handshake
# between two wireguard-go endpoints (Debian's 0.0.20220316) in network
# namespaces, with the fixed static keys and PSK below, and writes the
# initiation and response as hex (wg_wggo_handshake.txt beside this
# script).  Test keys only: they protect nothing.  Needs root,
# wireguard-go, wireguard-tools, tcpdump, and /work/shared/interop/
# wireguard-go.sh (SHARED=DIR to point elsewhere).
#
#   wgcap-i (initiator, 192.0.2.1:51820) ---veth--- wgcap-r (responder,
#   192.0.2.2:51820); a ping through the tunnel makes wgcap-i initiate.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WGGO=${SHARED:-/work/shared}/interop/wireguard-go.sh
INI_PRIV=2GCJ/o+Lygit54b3ZEwih8d+mJJ0s7ZjC2wjcgubtGE=
RSP_PRIV=gKPaZlNGurp/q4z00iXplwgRQppWTNRXr8v/fu2M0nk=
export WG_PSK=A9ZJWZzkPI4VGHi2ZWEbNdvj0BsPEt2r8ZuNMKkuUK8=
export STATE_DIR=/tmp/wgcap-$$
I=wgcap-i R=wgcap-r PCAP=$STATE_DIR.pcap

cleanup() {
  [ -z "${TCPDUMP:-}" ] || kill "$TCPDUMP" 2>/dev/null || true
  bash "$WGGO" stop $I || true; bash "$WGGO" stop $R || true
  ip netns del $I 2>/dev/null || true; ip netns del $R 2>/dev/null || true
  rm -f "$PCAP"
}
trap cleanup EXIT

ip netns add $I; ip netns add $R
ip link add wgcap-i netns $I type veth peer name wgcap-r netns $R
ip -n $I addr add 192.0.2.1/24 dev wgcap-i; ip -n $I link set wgcap-i up
ip -n $R addr add 192.0.2.2/24 dev wgcap-r; ip -n $R link set wgcap-r up
ip netns exec $R tcpdump -i wgcap-r --immediate-mode -U -w "$PCAP" \
    udp port 51820 2>/dev/null & TCPDUMP=$!
sleep 1
# The responder has no endpoint: it only answers.
bash "$WGGO" peer $R 10.98.0.2/24 51820 "$RSP_PRIV" \
    "$(wg pubkey <<<"$INI_PRIV")" - 10.98.0.1/32
bash "$WGGO" peer $I 10.98.0.1/24 51820 "$INI_PRIV" \
    "$(wg pubkey <<<"$RSP_PRIV")" 192.0.2.2:51820 10.98.0.2/32
ip netns exec $I ping -c1 -W3 10.98.0.2 >/dev/null
sleep 0.5
kill "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true; TCPDUMP=
# The UDP payloads of the first initiation (type 1) and response (type 2).
tcpdump -r "$PCAP" -nn -x 2>/dev/null | /usr/bin/python3 -c '
import sys, re
pkts, cur = [], None
for line in sys.stdin:
    if not line.startswith("\t"):
        cur = bytearray(); pkts.append(cur); continue
    cur += bytes.fromhex("".join(line.split(":", 1)[1].split()))
seen = {}
for p in pkts:
    ihl = (p[0] & 15) * 4
    udp = p[ihl + 8:]
    if udp[:1] in (b"\x01", b"\x02") and udp[0] not in seen:
        seen[udp[0]] = udp.hex()
print("# wireguard-go 0.0.20220316 handshake, recorded by wg_capture.sh")
print("initiator_private", sys.argv[1])
print("responder_private", sys.argv[2])
print("psk", sys.argv[3])
print("initiation", seen[1])
print("response", seen[2])
' "$INI_PRIV" "$RSP_PRIV" "$WG_PSK" >"$HERE/wg_wggo_handshake.txt"
echo "wrote $HERE/wg_wggo_handshake.txt"
