#!/bin/bash
#
# tests/integration/netns_esp.sh: two hexgated sites joined by manually
# keyed ESP tunnels (issue 14), hosts behind each.
#
#   h1 (10.1.0.2) -- a: hexgated A -- wan 192.0.2.0/24 -- b: hexgated B -- h2 (10.2.0.2)
#                     ipsec0: native ESP, AES-256-GCM     (10.2.0.0/24 via it)
#                     udp0:   ESP-in-UDP 4500, ChaCha20-Poly1305
#                                                         (10.2.1.0/24 via it)
#
# Checks: the tunnel interfaces are listed with the others; ping and an
# 8 MiB TCP transfer (sha256 compared) through the native ESP tunnel in
# both directions; the same through the ESP-in-UDP tunnel on the same
# endpoint; on the wire between the sites only ESP (protocol 50) and UDP
# 4500 carry the hosts' traffic, never their addresses in clear; the
# tunnels' counters; a FORWARD_CUST rule naming the tunnel interface
# (-i ipsec0) refuses what comes through it; hexctl ipsec sas lists the
# SAs with their counters and no key (nor does the log); the remote
# subnets are known networks through their tunnel only (no
# known_networks entry admits them; the same source in clear on the WAN
# is dropped); a decrypted packet from outside the tunnel's selectors is
# dropped and counted; TCP SYNs have their MSS clamped to the tunnel's
# MTU both ways; the tunnel's own address is served by A's host through
# a host TAP on the tunnel (ping, TCP), which a reload cannot take away;
# the ESP-in-UDP tunnel sends NAT keepalives at its interval;
# an SA past its rekey_packets and at its life_packets is
# reported (log, ipsec sas) and then carries nothing; a reload adds a tunnel, which carries traffic,
# (which then runs out its lifetimes) and removes it, while a ping
# through the other tunnel loses nothing;
# a key file readable by others stops the start with the file named.
#
# Usage: netns_esp.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_esp
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump /usr/bin/python3
need_netns
need_programs

h1=hg-eh1-$$
a=hg-ea-$$
b=hg-eb-$$
h2=hg-eh2-$$
netns=("$h1" "$a" "$b" "$h2")
begin_run
sock_b=$tmp/b.sock
conf_b=$tmp/b.json

topology() {
	set -ex
	for n in "$h1" "$a" "$b" "$h2"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name b-wan netns "$b"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	for n in "$a" "$b"; do
		ip -n "$n" link set lo up
		nsx "$n" sysctl -q -w net.ipv4.ip_forward=0
		nsx "$n" sysctl -q -w net.ipv6.conf.all.forwarding=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	host_setup "$h1" 1
	host_setup "$h2" 2
	# h2 also answers on 10.2.1.2, reached through the UDP tunnel, on
	# 10.2.2.2 (the tunnel a reload adds) and 10.2.7.2 (outside A's
	# selectors).
	ip -n "$h2" addr add 10.2.1.2/24 dev h2-eth0
	ip -n "$h2" addr add 10.2.2.2/24 dev h2-eth0
	ip -n "$h2" addr add 10.2.7.2/24 dev h2-eth0
	ip -n "$h1" addr add 10.1.2.2/24 dev h1-eth0
}

# key NAME HEX: a key file, root's only.
key() {
	printf '%s\n' "$2" >"$tmp/$1.key"
	chmod 600 "$tmp/$1.key"
}

GCM_AB=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304
GCM_BA=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010004030201
CHA_AB=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3
CHA_BA=c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a0

# site NAME LAN_IF LAN_ADDR WAN_IF WAN_ADDR PEER REMOTE_NETS LOCAL_NETS
#      ESP_OUT ESP_IN UDP_OUT UDP_IN SOCK
site_config() {
	local me=$1
	cat <<EOF
{
  "workers": 1,
  "control_socket": "${13}",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$2", "addresses": [ "$3" ] },
    { "name": "wan", "port": "afpacket:$4", "addresses": [ "$5" ] }
  ],
  "tunnels": [
    { "name": "ipsec0", "local": "${5%/*}", "remote": "$6",
      "remote_subnets": [ "$7", "${7%.0.0/24}.1.0/24" ],
      "sa_out": { "spi": $9, "alg": "aes256gcm", "key_file": "gcm-$me-out.key" },
      "sa_in": { "spi": ${10}, "alg": "aes256gcm", "key_file": "gcm-$me-in.key" } },
    { "name": "udp0", "local": "${5%/*}", "remote": "$6", "encap": "udp",
      "remote_subnets": [ "${7%.0.0/24}.1.0/24" ],
      "sa_out": { "spi": ${11}, "alg": "chacha20poly1305", "key_file": "cha-$me-out.key" },
      "sa_in": { "spi": ${12}, "alg": "chacha20poly1305", "key_file": "cha-$me-in.key" } }
  ],
  "routes": [
    { "prefix": "$7", "interface": "ipsec0" },
    { "prefix": "${7%.0.0/24}.1.0/24", "interface": "udp0" }
  ],
  "firewall": {
    "known_networks": [ "$8" ],
    "rules": "rules-$me.v4"
  }
}
EOF
}

# No rule admits the peer's ESP: the appliance's defaults do (INPUT,
# default 5), for the configured tunnels' peers.
rules() {
	cat >"$tmp/rules-$1.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
}

write_configs() {
	key gcm-a-out "$GCM_AB"; key gcm-b-in "$GCM_AB"
	key gcm-b-out "$GCM_BA"; key gcm-a-in "$GCM_BA"
	key cha-a-out "$CHA_AB"; key cha-b-in "$CHA_AB"
	key cha-b-out "$CHA_BA"; key cha-a-in "$CHA_BA"
	rules a 192.0.2.2
	rules b 192.0.2.1
	site_config a a-lan 10.1.0.1/24 a-wan 192.0.2.1/24 192.0.2.2 \
	    10.2.0.0/24 10.1.0.0/24 4097 8193 4098 8194 "$sock" >"$conf"
	site_config b b-lan 10.2.0.1/24 b-wan 192.0.2.2/24 192.0.2.1 \
	    10.1.0.0/24 10.2.0.0/24 8193 4097 8194 4098 "$sock_b" >"$conf_b"
	# A's ipsec0 has an address of its own, 10.255.0.1/30, served by
	# A's host through a host TAP on the tunnel; B's is 10.255.0.2.
	/usr/bin/python3 - "$conf" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["tunnels"][0]["addresses"] = ["10.255.0.1/30"]
c["tunnels"][0]["host_tap"] = "hgt-ipsec0"
c["tunnels"][1]["nat_keepalive"] = 1
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
	# B's LAN has the UDP tunnel's subnet too; A routes it, B owns it.
	/usr/bin/python3 - "$conf_b" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["tunnels"][0]["addresses"] = ["10.255.0.2/30"]
c["interfaces"][0]["addresses"].append("10.2.1.1/24")
c["routes"] = [r for r in c["routes"] if r["interface"] == "ipsec0"]
c["routes"].append({"prefix": "10.1.1.0/24", "interface": "udp0"})
c["tunnels"][0]["remote_subnets"] = ["10.1.0.0/24", "10.255.0.0/30"]
c["tunnels"][1]["remote_subnets"] = ["10.1.0.0/24"]
c["firewall"]["known_networks"] += ["10.2.1.0/24", "10.2.7.0/24"]
c["interfaces"][0]["addresses"].append("10.2.7.1/24")
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
	# The same with a third tunnel, ipsec1 (AES-128-GCM, "policy": its
	# selectors route), between 10.1.2.0/24 (A's LAN gains it) and
	# 10.2.2.0/24 (B's gains it).
	key gcm1-ab 000102030405060708090a0b0c0d0e0f01020304
	key gcm1-ba 0f0e0d0c0b0a0908070605040302010004030201
	/usr/bin/python3 - "$conf" "$conf_b" <<'PY'
import json, sys
for f, me, peer, out, inn, key_out, key_in in (
        (sys.argv[1], "192.0.2.1", "192.0.2.2", 4101, 8197, "gcm1-ab", "gcm1-ba"),
        (sys.argv[2], "192.0.2.2", "192.0.2.1", 8197, 4101, "gcm1-ba", "gcm1-ab")):
    c = json.load(open(f))
    a = f == sys.argv[1]
    c["tunnels"].insert(0, {
        "name": "ipsec1", "local": me, "remote": peer,
        "remote_subnets": ["10.2.2.0/24" if a else "10.1.2.0/24"],
        "rekey_packets": 3, "life_packets": 8, "policy": True,
        "sa_out": {"spi": out, "alg": "aes128gcm", "key_file": key_out + ".key"},
        "sa_in": {"spi": inn, "alg": "aes128gcm", "key_file": key_in + ".key"}})
    # No route: a policy tunnel routes its remote subnets to itself.
    c["interfaces"][0]["addresses"].append("10.1.2.1/24" if a else "10.2.2.1/24")
    if a:
        c["firewall"]["known_networks"].append("10.1.2.0/24")
    json.dump(c, open(f + ".3", "w"), indent=2)
PY
}

hxb() {
	"$hexctl" -s "$sock_b" "$@"
}

interfaces_ok() {
	hx show interfaces | tee "$tmp/ifs"
	grep -q '^ipsec0 ' "$tmp/ifs" && grep -q '^udp0 ' "$tmp/ifs"
}

# On the wire between the sites: ESP and UDP 4500 only, no inner address.
wire_ok() {
	local cap=$tmp/wire.pcap
	nsx "$b" timeout 4 tcpdump -q -n -i b-wan -w "$cap" 2>/dev/null &
	local tp=$!
	sleep 1
	nsx "$h1" ping -n -c 3 -i 0.2 10.2.0.2 >/dev/null
	nsx "$h1" ping -n -c 3 -i 0.2 10.2.1.2 >/dev/null
	wait "$tp"
	nsx "$b" tcpdump -n -r "$cap" 2>/dev/null | tee "$tmp/wire.txt" | head
	grep -q 'ESP(spi=0x00001001' "$tmp/wire.txt" ||
	    { echo "no native ESP with A's SPI"; return 1; }
	grep -q '192.0.2.1.4500 > 192.0.2.2.4500: UDP-encap' "$tmp/wire.txt" ||
	    grep -q '192.0.2.1.4500 > 192.0.2.2.4500' "$tmp/wire.txt" ||
	    { echo "no ESP-in-UDP"; return 1; }
	! grep -q '10\.[12]\.[01]\.2' "$tmp/wire.txt" ||
	    { echo "an inner address in clear"; return 1; }
}

# A sends to 10.2.1.0/24 through udp0, B answers through ipsec0: A's
# ipsec0 both ways, A's udp0 out, B's udp0 in.
# INPUT's defaults admitted the peer's ESP, counted as ipsec_peer.
peer_default_ok() {
	hx --json show firewall | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["ipv4"]["verdicts"]["input"]
print("input verdicts:", v)
assert v["ipsec_peer"] > 0
'
}

counters_ok() {
	hx --json show interfaces >"$tmp/a-ifs.json" &&
	    hxb --json show interfaces >"$tmp/b-ifs.json" || return 1
	/usr/bin/python3 - "$tmp/a-ifs.json" "$tmp/b-ifs.json" <<'PY'
import json, sys
a, b = ({i["name"]: i for i in json.load(open(f))["interfaces"]}
        for f in sys.argv[1:3])
want = [("A ipsec0 rx", a["ipsec0"]["rx_packets"]),
        ("A ipsec0 tx", a["ipsec0"]["tx_packets"]),
        ("A udp0 tx", a["udp0"]["tx_packets"]),
        ("B udp0 rx", b["udp0"]["rx_packets"]),
        ("B ipsec0 rx", b["ipsec0"]["rx_packets"])]
for what, n in want:
    print(what, n)
assert all(n > 1000 for _, n in want), "a tunnel carried too little"
PY
}

# hexctl ipsec sas: four SAs with their counters; no key anywhere, in
# the answer or the log.
sas_ok() {
	hx --json ipsec sas | tee "$tmp/sas.json" | /usr/bin/python3 -c '
import json, sys
t = {x["tunnel"]: x for x in json.load(sys.stdin)["tunnels"]}
for name, alg in (("ipsec0", "aes-gcm-16"), ("udp0", "chacha20-poly1305")):
    sas = {s["direction"]: s for s in t[name]["sas"]}
    print(name, {d: (s["spi"], s["algorithm"], s["encap"], s["packets"])
                 for d, s in sas.items()})
    assert set(sas) == {"in", "out"}, name
    assert sas["out"]["packets"] > 0, name
assert t["ipsec0"]["sas"][0]["encap"] == "esp"
assert t["udp0"]["sas"][0]["encap"] == "udp"
' || return 1
	local k
	for k in "$GCM_AB" "$GCM_BA" "$CHA_AB" "$CHA_BA"; do
		! grep -qi "${k:0:16}" "$tmp/sas.json" "$tmp/hexgated.log" \
		    "$tmp/b.log" || { echo "a key is out"; return 1; }
	done
}

forward_rule_ok() {
	hx firewall add FORWARD_CUST -i ipsec0 -p icmp -j DROP || return 1
	! nsx "$h2" ping -n -c 2 -i 0.2 -W 1 10.1.0.2 >/dev/null ||
	    { echo "still answered"; return 1; }
	hx firewall delete FORWARD_CUST -i ipsec0 -p icmp -j DROP || return 1
	ping_ok "$h2" 10.1.0.2
}

# COPY --from ipsec0 --bidirectional to a pcap file: h2's pings to h1
# in clear, both ways, as the tunnel interface carries them.
copy_from_tunnel_ok() {
	local pcap=$tmp/ipsec0.pcap
	hx firewall add MACRO_CUST -p icmp -j COPY --from ipsec0 \
	    --to "pcap:$pcap" --bidirectional || return 1
	nsx "$h2" ping -n -c 3 -i 0.2 -W 1 10.1.0.2 || return 1
	sleep 0.5
	hx firewall delete MACRO_CUST 1 || return 1
	/usr/bin/python3 - "$pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d), "not a pcap file"
off, seen = 24, []
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    f = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(f) >= 35 and f[12:14] == b"\x08\x00" and f[23] == 1:
        seen.append(("%d.%d.%d.%d" % tuple(f[26:30]), "%d.%d.%d.%d" % tuple(f[30:34]), f[34]))
req = [s for s in seen if s == ("10.2.0.2", "10.1.0.2", 8)]
rep = [s for s in seen if s == ("10.1.0.2", "10.2.0.2", 0)]
print(seen)
print("NOTE: %d requests, %d replies copied" % (len(req), len(rep)))
sys.exit(0 if len(req) >= 3 and len(rep) >= 3 else 1)
PY
}

# The remote subnets are known through their tunnel (no known_networks
# entry names them: the pings above passed A's FORWARD by that), and only
# there: the same source in clear on A's WAN is dropped by the policy.
known_bound_ok() {
	local before after got
	hx --json show firewall >"$tmp/fw0.json" || return 1
	/usr/bin/python3 - "$tmp/fw0.json" <<'PY' || return 1
import json, sys
fw = json.load(open(sys.argv[1]))
k = {(x["prefix"], x["from"], x["through"]) for x in fw["known_networks"]}
print(sorted(k))
assert ("10.2.0.0/24", "tunnel", "ipsec0") in k
assert ("10.2.1.0/24", "tunnel", "udp0") in k
assert ("10.1.0.0/24", "configuration", "any") in k
assert fw["ipv4"]["verdicts"]["forward"]["known_network"] > 0
PY
	before=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ipv4"]["verdicts"]["forward"]["policy"])' "$tmp/fw0.json")
	nsx "$h1" timeout 4 tcpdump -q -n -i h1-eth0 -w "$tmp/clear.pcap" \
	    'src host 10.2.0.9' 2>/dev/null &
	local tp=$!
	sleep 1
	# From B's side of the WAN link, in clear, to A's WAN MAC.
	nsx "$b" /usr/bin/python3 - "$(nsx "$a" cat /sys/class/net/a-wan/address)" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, sendp
sendp(Ether(dst=sys.argv[1]) / IP(src="10.2.0.9", dst="10.1.0.2") /
      UDP(sport=4000, dport=4001) / b"clear", iface="b-wan", count=5,
      inter=0.05, verbose=False)
PY
	wait "$tp"
	got=$(nsx "$h1" tcpdump -n -r "$tmp/clear.pcap" 2>/dev/null | wc -l)
	after=$(hx --json show firewall | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"]["verdicts"]["forward"]["policy"])')
	echo "forward policy drops $before -> $after; at h1: $got"
	[ "$got" = 0 ] && [ "$((after - before))" -ge 5 ]
}

# What B sends from 10.2.7.2 through ipsec0 decrypts at A, but is outside
# A's selectors for it (10.2.0.0/24, 10.2.1.0/24): dropped, counted.
selector_ok() {
	local n
	! nsx "$h2" ping -n -c 3 -i 0.2 -W 1 -I 10.2.7.2 10.1.0.2 >/dev/null ||
	    { echo "answered"; return 1; }
	n=$(hx --json show interfaces | /usr/bin/python3 -c '
import json, sys
i = {x["name"]: x for x in json.load(sys.stdin)["interfaces"]}
print(i["ipsec0"]["drops"].get("tunnel_selector", 0))')
	echo "A ipsec0 tunnel_selector drops: $n"
	[ "$n" -ge 3 ]
}

# TCP through ipsec0 (MTU 1400): the SYN reaches h2 and the SYN-ACK h1
# with MSS 1360 (clamped both ways; the hosts' own is 1460).
mss_ok() {
	nsx "$h2" timeout 5 tcpdump -l -n -v -i h2-eth0 -c 1 \
	    'tcp[tcpflags] == tcp-syn and tcp dst port 5009' >"$tmp/syn.txt" 2>/dev/null &
	local t2=$!
	nsx "$h1" timeout 5 tcpdump -l -n -v -i h1-eth0 -c 1 \
	    'tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack) and tcp src port 5009' \
	    >"$tmp/synack.txt" 2>/dev/null &
	local t1=$!
	sleep 1
	ip netns exec "$h2" timeout 5 socat -u TCP4-LISTEN:5009,reuseaddr \
	    OPEN:/dev/null &
	bg_pids+=("$!")
	tcp_listening "$h2" 5009 || return 1
	echo hello | nsx "$h1" timeout 5 socat -u - TCP4:10.2.0.2:5009
	wait "$t2" "$t1"
	cat "$tmp/syn.txt" "$tmp/synack.txt"
	grep -q 'mss 1360' "$tmp/syn.txt" && grep -q 'mss 1360' "$tmp/synack.txt"
}

# ipsec1 has rekey_packets 3 and life_packets 8: the 3 pings before
# passed its rekey limit, 5 more reach its end of life, and then it
# carries nothing.  The control plane says so, once per SA, and counts.
lifetime_ok() {
	local out rx
	out=$(nsx "$h1" ping -n -c 8 -i 0.1 -W 1 -I 10.1.2.2 10.2.2.2 2>&1)
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "after the rekey limit: ${rx:-0}/8 replies"
	[ "${rx:-0}" -ge 3 ] && [ "${rx:-0}" -le 6 ] || return 1
	! nsx "$h1" ping -n -c 2 -i 0.2 -W 1 -I 10.1.2.2 10.2.2.2 >/dev/null ||
	    { echo "an expired SA still carries"; return 1; }
	sleep 1.5
	grep 'tunnel ipsec1: SA' "$tmp/hexgated.log"
	[ "$(grep -c 'tunnel ipsec1: SA out (SPI 4101) passed its rekey limit' "$tmp/hexgated.log")" = 1 ] &&
	    [ "$(grep -c 'tunnel ipsec1: SA out (SPI 4101) expired' "$tmp/hexgated.log")" = 1 ] ||
	    return 1
	hx --json ipsec sas | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)
t = {x["tunnel"]: x for x in v["tunnels"]}["ipsec1"]
out = [s for s in t["sas"] if s["direction"] == "out"][0]
print("rekeys_due", v["rekeys_due"], "expired", v["expired"],
      "out:", out["soft_expired"], out["dead"])
assert v["rekeys_due"] >= 1 and v["expired"] >= 1
assert out["soft_expired"] and out["dead"]
'
}

# The host side of A serves ipsec0's own address through its host TAP:
# h2 pings it and talks TCP to a listener of A's kernel, through the
# tunnel both ways (the replies leave A's host and are encapsulated).
host_tap_ok() {
	local got
	# hexgate answers the echo itself: its reply is encapsulated too.
	ping_ok "$h2" 10.255.0.1 ||
	    { hx show interfaces; ip -n "$a" route; return 1; }
	ip netns exec "$a" timeout 10 socat -u TCP4-LISTEN:2222,bind=10.255.0.1,reuseaddr \
	    "OPEN:$tmp/tap-tcp,creat,trunc" &
	bg_pids+=("$!")
	tcp_listening "$a" 2222 || return 1
	echo "over the tunnel to the host" |
	    nsx "$h2" timeout 5 socat -u - TCP4:10.255.0.1:2222 || return 1
	sleep 0.3
	got=$(cat "$tmp/tap-tcp")
	echo "A's host got: $got"
	[ "$got" = "over the tunnel to the host" ] || return 1
	hx --json show interfaces | /usr/bin/python3 -c '
import json, sys
i = {x["name"]: x for x in json.load(sys.stdin)["interfaces"]}["ipsec0"]
print("ipsec0 punted", i["punted"], "from_host", i["from_host"])
assert i["punted"] > 0 and i["from_host"] > 0'
}

# A reload may not take the host TAP away from a tunnel (it was opened
# at start): refused, named; the tunnel goes on.
host_tap_reload_ok() {
	local out
	cp "$conf" "$tmp/a.keep"
	/usr/bin/python3 - "$conf" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
del c["tunnels"][0]["host_tap"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
	out=$(hx reload 2>&1)
	cp "$tmp/a.keep" "$conf"
	echo "$out"
	echo "$out" | grep -q 'tunnel ipsec0: its host tap hgt-ipsec0 is removed or changed by this configuration' &&
	    ping_ok "$h2" 10.255.0.1
}

# A's ESP-in-UDP tunnel sends NAT keepalives (RFC 3948 2.3) every
# second (nat_keepalive 1): B drops and counts them on its WAN.
keepalive_ok() {
	local n0 n1
	n0=$(drop_count "$sock_b" wan nat_keepalive)
	sleep 3.5
	n1=$(drop_count "$sock_b" wan nat_keepalive)
	echo "B's nat_keepalive drops: $n0 -> $n1"
	[ "$((n1 - n0))" -ge 2 ] && [ "$((n1 - n0))" -le 5 ]
}

# ipsec0's counters, for "not reset by a reload".
ipsec0_tx() {
	hx --json show interfaces | /usr/bin/python3 -c '
import json, sys
print({x["name"]: x for x in json.load(sys.stdin)["interfaces"]}["ipsec0"]["tx_packets"])'
}

# Reloads add ipsec1 at both sites, then remove it, while h1 pings h2
# through ipsec0: no reply lost (ipsec0 keeps its slot, its SAs, their
# sequence numbers and windows), ipsec1 carries traffic while it is
# there, and is gone after.
reload_ok() {
	local before ping_out
	before=$(ipsec0_tx)
	nsx "$h1" ping -n -q -c 200 -i 0.02 -W 1 10.2.0.2 >"$tmp/bgping" 2>&1 &
	local pp=$!
	sleep 0.5
	cp "$conf" "$tmp/a.keep"; cp "$conf_b" "$tmp/b.keep"
	cp "$conf.3" "$conf"; cp "$conf_b.3" "$conf_b"
	hx reload && hxb reload || return 1
	hx show interfaces | grep '^ipsec1 ' || { echo "no ipsec1"; return 1; }
	hx show routes | grep -E '^10\.2\.2\.0/24 +- +ipsec1 ' ||
	    { echo "the policy tunnel's subnet is not routed to it"; return 1; }
	nsx "$h1" ping -n -c 3 -i 0.2 -W 2 -I 10.1.2.2 10.2.2.2 ||
	    { echo "ipsec1 carries nothing"; return 1; }
	hx --json ipsec sas | grep -q '"ipsec1"' || return 1
	lifetime_ok || return 1
	cp "$tmp/a.keep" "$conf"; cp "$tmp/b.keep" "$conf_b"
	hx reload && hxb reload || return 1
	wait "$pp"
	cat "$tmp/bgping"
	grep -q ' 0% packet loss' "$tmp/bgping" ||
	    { echo "the other tunnel lost packets"; return 1; }
	! hx show interfaces | grep -q '^ipsec1 ' ||
	    { echo "ipsec1 still there"; return 1; }
	! nsx "$h1" ping -n -c 1 -W 1 -I 10.1.2.2 10.2.2.2 >/dev/null ||
	    { echo "10.2.2.2 still reached"; return 1; }
	[ "$(ipsec0_tx)" -ge "$((before + 200))" ] ||
	    { echo "ipsec0's counters went back"; return 1; }
	! grep -E 'tunnel (ipsec0|udp0) (added|changed|removed)' \
	    "$tmp/hexgated.log" || { echo "the others' SAs were remade"; return 1; }
	grep -q 'tunnel ipsec1 added' "$tmp/hexgated.log" &&
	    grep -q 'tunnel ipsec1 removed' "$tmp/hexgated.log"
}

loose_key_ok() {
	local out
	chmod 644 "$tmp/gcm-a-out.key"
	out=$(cd "$tmp" && "$hexgated" -c "$conf" --check 2>&1; cd "$tmp" &&
	    ip netns exec "$a" timeout 5 "$hexgated" -c "$tmp/loose.json" 2>&1)
	chmod 600 "$tmp/gcm-a-out.key"
	echo "$out" | tail -n 3
	[ "$(echo "$out" | grep -c 'gcm-a-out.key must be a regular file readable by its owner only')" = 2 ]
}

make_topology
write_configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
start_hexgated "$a"
start_site b "$b" "$sock_b"
# A second configuration of A's for the loose key: another socket, so it
# cannot take the running one's.
# (and no host TAP: the running one holds it).
/usr/bin/python3 - "$conf" "$tmp/loose.json" "$tmp/loose.sock" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["control_socket"] = sys.argv[3]
for t in c["tunnels"]:
    t.pop("host_tap", None)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
check "the tunnel interfaces are listed" interfaces_ok
check "ping h1 -> h2 through native ESP (AES-256-GCM)" ping_ok "$h1" 10.2.0.2
check "ping h2 -> h1 through native ESP" ping_ok "$h2" 10.1.0.2
check "8 MiB TCP h1 -> h2 through native ESP, sha256 equal" tcp_transfer "$h1" "$h2" 10.2.0.2 5001
check "8 MiB TCP h2 -> h1 through native ESP, sha256 equal" tcp_transfer "$h2" "$h1" 10.1.0.2 5002
check "ping h1 -> h2 through ESP-in-UDP (ChaCha20-Poly1305) on the same endpoint" \
    ping_ok "$h1" 10.2.1.2
check "8 MiB TCP h1 -> h2 through ESP-in-UDP, sha256 equal" tcp_transfer "$h1" "$h2" 10.2.1.2 5003
check "on the wire: ESP and UDP 4500 only, no inner address in clear" wire_ok
check "the tunnels count what they carried" counters_ok
check "INPUT's defaults admit the peers' ESP, no rule needed (ipsec_peer)" peer_default_ok
check "ipsec sas: the SAs with their counters, and no key in it or the log" sas_ok
check "FORWARD_CUST -i ipsec0 refuses what comes through the tunnel" forward_rule_ok
check "COPY --from ipsec0 mirrors the tunnel's inner traffic, both ways" copy_from_tunnel_ok
check "TCP SYNs through a tunnel have their MSS clamped, both ways" mss_ok
check "a tunnel's host TAP: A's host answers ping and TCP over the tunnel" host_tap_ok
check "a reload that takes a tunnel's host TAP away is refused, named" host_tap_reload_ok
check "the ESP-in-UDP tunnel sends NAT keepalives at its interval" keepalive_ok
check "the remote subnets are known through their tunnel only" known_bound_ok
check "a decrypted packet outside the tunnel's selectors is dropped, counted" selector_ok
check "a reload adds a tunnel and removes it; the other loses nothing" reload_ok
check "a key file readable by others: --check and a start refuse it, named" loose_key_ok
check "hexgated A still running" alive_ok
finish
