#!/bin/bash
#
# tests/integration/netns_esp_frag.sh: two hexgated sites whose ESP is
# fragmented on the way (issue 14): a path that fragments after
# encryption, so each site gets its peer's outer packets in pieces.
#
#   h1 -- a: hexgated A -- r1 ==1280== r2 -- b: hexgated B -- h2
#   10.1.0.2   192.0.2.1/24            198.51.100.2/24     10.2.0.2
#              ipsec0: native ESP (AES-256-GCM), 10.2.0.0/24 via it
#              udp0:   ESP in UDP 4500 (ChaCha20-Poly1305), 10.2.1.0/24
#
# r1 and r2 are kernel routers joined by a 1280-byte link.  hexgated
# sends its outer packets with DF (RFC 6864: ID 0), so the routers stand
# for a path that fragments regardless: they clear DF (and give each
# packet an ID, as a fragmenting sender does) on whole ESP and UDP 4500
# packets before routing, and the kernel fragments what does not fit the
# link, both ways.  Each hexgated runs two workers, so reassembled datagrams may go
# to the worker that owns their SA.
#
# Checks: on the 1280 link, ESP and UDP 4500 travel as IPv4 fragments
# (tcpdump); ping with payloads that make outer packets larger than 1280
# both ways through both tunnels; an 8 MiB TCP transfer (sha256 compared)
# both ways through native ESP and one way through ESP in UDP; each site
# counts the datagrams it reassembled on its WAN interface, and none
# dropped as overlapping or malformed.
#
# Usage: netns_esp_frag.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_esp_frag
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump nft /usr/bin/python3
need_netns
need_programs

h1=hg-fh1-$$
a=hg-fa-$$
r1=hg-fr1-$$
r2=hg-fr2-$$
b=hg-fb-$$
h2=hg-fh2-$$
netns=("$h1" "$a" "$r1" "$r2" "$b" "$h2")
begin_run
sock_b=$tmp/b.sock
conf_b=$tmp/b.json

# A router that clears DF on the tunnels' packets, so that what does not
# fit its next link is fragmented rather than refused.
router() {
	local n=$1
	ip -n "$n" link set lo up
	nsx "$n" sysctl -q -w net.ipv4.ip_forward=1
	nsx "$n" nft -f - <<EOF
table ip path {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip frag-off & 0x3fff != 0 accept
		ip protocol esp ip frag-off set 0 ip id set numgen inc mod 65536
		udp dport 4500 ip frag-off set 0 ip id set numgen inc mod 65536
	}
}
EOF
}

topology() {
	set -ex
	for n in "${netns[@]}"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name r1-a netns "$r1"
	ip -n "$r1" link add r1-r2 type veth peer name r2-r1 netns "$r2"
	ip -n "$r2" link add r2-b type veth peer name b-wan netns "$b"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	for n in "$a" "$b"; do
		ip -n "$n" link set lo up
		nsx "$n" sysctl -q -w net.ipv4.ip_forward=0
		nsx "$n" sysctl -q -w net.ipv6.conf.all.forwarding=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	router "$r1"
	router "$r2"
	nsx "$r1" "$prepare" --peer r1-a
	nsx "$r1" "$prepare" --peer r1-r2
	nsx "$r2" "$prepare" --peer r2-r1
	nsx "$r2" "$prepare" --peer r2-b
	ip -n "$r1" link set r1-r2 mtu 1280
	ip -n "$r2" link set r2-r1 mtu 1280
	ip -n "$r1" addr add 192.0.2.254/24 dev r1-a
	ip -n "$r1" addr add 203.0.113.1/30 dev r1-r2
	ip -n "$r2" addr add 203.0.113.2/30 dev r2-r1
	ip -n "$r2" addr add 198.51.100.254/24 dev r2-b
	for d in r1-a r1-r2; do ip -n "$r1" link set "$d" up; done
	for d in r2-r1 r2-b; do ip -n "$r2" link set "$d" up; done
	ip -n "$r1" route add 198.51.100.0/24 via 203.0.113.2
	ip -n "$r2" route add 192.0.2.0/24 via 203.0.113.1
	host_setup "$h1" 1
	host_setup "$h2" 2
	ip -n "$h2" addr add 10.2.1.2/24 dev h2-eth0
}

key() {
	printf '%s\n' "$2" >"$tmp/$1.key"
	chmod 600 "$tmp/$1.key"
}

GCM_AB=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304
GCM_BA=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010004030201
CHA_AB=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3
CHA_BA=c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a0

# site_config ME LAN_ADDR LAN_ADDR2 WAN_ADDR GW PEER PEER_NET ESP_NET
#             UDP_NET ESP_OUT ESP_IN UDP_OUT UDP_IN SOCK
site_config() {
	local me=$1 lan2=
	[ -n "$3" ] && lan2=", \"$3\""
	cat <<EOF
{
  "workers": 2,
  "control_socket": "${14}",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$me-lan", "addresses": [ "$2"$lan2 ] },
    { "name": "wan", "port": "afpacket:$me-wan", "addresses": [ "$4" ] }
  ],
  "tunnels": [
    { "name": "ipsec0", "local": "${4%/*}", "remote": "$6",
      "remote_subnets": [ "$8", "$9" ],
      "sa_out": { "spi": ${10}, "alg": "aes256gcm", "key_file": "gcm-$me-out.key" },
      "sa_in": { "spi": ${11}, "alg": "aes256gcm", "key_file": "gcm-$me-in.key" } },
    { "name": "udp0", "local": "${4%/*}", "remote": "$6", "encap": "udp",
      "remote_subnets": [ "$8", "$9" ],
      "sa_out": { "spi": ${12}, "alg": "chacha20poly1305", "key_file": "cha-$me-out.key" },
      "sa_in": { "spi": ${13}, "alg": "chacha20poly1305", "key_file": "cha-$me-in.key" } }
  ],
  "routes": [
    { "prefix": "$7", "via": "$5" },
    { "prefix": "$8", "interface": "ipsec0" },
    { "prefix": "$9", "interface": "udp0" }
  ],
  "firewall": {
    "known_networks": [ "10.1.0.0/24", "10.1.1.0/24", "10.2.0.0/24", "10.2.1.0/24" ],
    "rules": "rules.v4"
  }
}
EOF
}

write_configs() {
	key gcm-a-out "$GCM_AB"; key gcm-b-in "$GCM_AB"
	key gcm-b-out "$GCM_BA"; key gcm-a-in "$GCM_BA"
	key cha-a-out "$CHA_AB"; key cha-b-in "$CHA_AB"
	key cha-b-out "$CHA_BA"; key cha-a-in "$CHA_BA"
	printf '*filter\n:INPUT_CUST - [0:0]\n:FORWARD_CUST - [0:0]\nCOMMIT\n' \
	    >"$tmp/rules.v4"
	# A reaches 10.2.1.0/24 through udp0; B answers 10.1.0.0/24 through
	# ipsec0 and reaches 10.1.1.0/24 (nothing there) through udp0.  So
	# both tunnels' selectors take both subnets of the far side (what
	# comes through either may be from any).
	site_config a 10.1.0.1/24 "" 192.0.2.1/24 192.0.2.254 198.51.100.2 \
	    198.51.100.0/24 10.2.0.0/24 10.2.1.0/24 4097 8193 4098 8194 \
	    "$sock" >"$conf"
	site_config b 10.2.0.1/24 10.2.1.1/24 198.51.100.2/24 198.51.100.254 \
	    192.0.2.1 192.0.2.0/24 10.1.0.0/24 10.1.1.0/24 8193 4097 8194 4098 \
	    "$sock_b" >"$conf_b"
}

hxb() {
	"$hexctl" -s "$sock_b" "$@"
}

# ping_big NS DST SIZE: 3 echoes of SIZE bytes of payload, 2 must return.
ping_big() {
	local out rx
	out=$(nsx "$1" timeout 10 ping -n -c 3 -i 0.2 -W 2 -s "$3" "$2" 2>&1)
	echo "$out"
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "NOTE: ${rx:-0}/3 replies of $3 bytes"
	[ "${rx:-0}" -ge 2 ]
}

# On the 1280 link: the tunnels' packets in pieces, both ways.
wire_ok() {
	local cap=$tmp/wire.pcap
	nsx "$r1" timeout 4 tcpdump -q -n -i r1-r2 -w "$cap" 2>/dev/null &
	local tp=$!
	sleep 1
	nsx "$h1" ping -n -c 3 -i 0.2 -s 1300 10.2.0.2 >/dev/null
	nsx "$h1" ping -n -c 3 -i 0.2 -s 1300 10.2.1.2 >/dev/null
	wait "$tp"
	/usr/bin/python3 - "$cap" <<'PY'
import struct, sys
# pcap: count IPv4 fragments by protocol and direction
d = open(sys.argv[1], "rb").read()
le = d[:4] == b"\xd4\xc3\xb2\xa1" or d[:4] == b"\x4d\x3c\xb2\xa1"
e = "<" if le else ">"
off, n = 24, {}
while off + 16 <= len(d):
    incl = struct.unpack(e + "I", d[off + 8:off + 12])[0]
    f = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(f) < 34 or f[12:14] != b"\x08\x00":
        continue
    ip = f[14:]
    frag = struct.unpack(">H", ip[6:8])[0]
    if frag & 0x3fff == 0:
        continue
    first = frag & 0x1fff == 0
    key = (ip[12:16] == bytes([192, 0, 2, 1]), ip[9], first)
    n[key] = n.get(key, 0) + 1
for (ab, proto, first), c in sorted(n.items()):
    print("A->B" if ab else "B->A", "proto", proto,
          "first" if first else "later", "fragments:", c)
# B answers both tunnels' pings through ipsec0
for ab, proto in ((True, 50), (True, 17), (False, 50)):
    assert n.get((ab, proto, True), 0) > 0 and \
        n.get((ab, proto, False), 0) > 0, \
        ("no fragments", "A->B" if ab else "B->A", proto)
PY
}

# Both sites put datagrams together on their WAN, none overlapping or bad.
counters_ok() {
	hx --json show interfaces >"$tmp/a.json" &&
	    hxb --json show interfaces >"$tmp/b.json" || return 1
	/usr/bin/python3 - "$tmp/a.json" "$tmp/b.json" <<'PY'
import json, sys
sites = [{i["name"]: i for i in json.load(open(f))["interfaces"]}
         for f in sys.argv[1:3]]
notes = []
for name, s in zip("AB", sites):
    w = s["wan"]
    d = w["drops"]
    bad = {k: d.get(k, 0) for k in ("reass_overlap", "reass_bad",
                                     "reass_full", "tunnel_in")}
    print(name, "wan reassembled", w["reassembled"], "esp_steered",
          w["esp_steered"], "timeouts", d.get("reass_timeout", 0), bad)
    assert w["reassembled"] > 1000, name + ": too few reassembled"
    assert not any(bad.values()), name + ": " + str(bad)
    notes.append("%s %d" % (name, w["reassembled"]))
print("NOTE: reassembled " + ", ".join(notes))
PY
}

make_topology
write_configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
start_hexgated "$a"
start_site b "$b" "$sock_b"
b_pid=${site_pids[0]}
# The first packets wait for both sites' neighbours: not a check.
nsx "$h1" ping -n -c 3 -i 0.3 -W 1 10.2.0.2 >/dev/null 2>&1
check "ping h1 -> h2 through native ESP" ping_ok "$h1" 10.2.0.2
check "on the 1280 link ESP and UDP 4500 travel in fragments, both ways" wire_ok
check "ping -s 1300 h1 -> h2 through native ESP, outer fragmented" ping_big "$h1" 10.2.0.2 1300
check "ping -s 1372 h2 -> h1 through native ESP, outer fragmented" ping_big "$h2" 10.1.0.2 1372
check "ping -s 1300 h1 -> h2 through ESP-in-UDP, outer fragmented" ping_big "$h1" 10.2.1.2 1300
check "8 MiB TCP h1 -> h2 through native ESP, sha256 equal" tcp_transfer "$h1" "$h2" 10.2.0.2 5001 60
check "8 MiB TCP h2 -> h1 through native ESP, sha256 equal" tcp_transfer "$h2" "$h1" 10.1.0.2 5002 60
check "8 MiB TCP h1 -> h2 through ESP-in-UDP, sha256 equal" tcp_transfer "$h1" "$h2" 10.2.1.2 5003 60
check "both sites reassembled on their WAN, nothing overlapping or bad" counters_ok
check "hexgated A still running" alive_ok
check "hexgated B still running" kill -0 "$b_pid"
finish
