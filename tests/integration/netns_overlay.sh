#!/usr/bin/env bash
# tests/integration/netns_overlay.sh: the overlay (issue 16) against
# stock WireGuard peers: wg-quick with wireguard-go (this kernel has no
# WireGuard) taking clientpacks as hexctl printed them, and a wireguard-go
# site.
#
#   h1 10.1.0.2 ---- lan: hexgated :wan 192.0.2.1 ---- c: alice (wg-quick)
#   2001:db8:1::2     tun0 10.99.0.1/24, fd99::1/64     192.0.2.2, bridge br0
#                     UDP 51820                           |
#                                                       c2: bob (wg-quick)
#                                                       2001:db8:ff::5
#                     :wan2 192.0.3.1 ---- s: wireguard-go site 192.0.3.2
#                                             10.2.0.1 on lo (its subnet)
#
# Checks: alice joins with her clientpack unedited and reaches the LAN
# host (ping, 8 MiB of TCP each way with sha256, IPv6 inside); the LAN
# host reaches her; hexctl overlay status shows what wg show would; COPY
# --from tun0 mirrors her traffic in clear and rules name tun0 (-i, -o); a
# source outside her allowed IPs is dropped (cryptokey routing); bob
# joins over IPv6 outside with a preshared key; the site peer carries its subnet; alice roams
# (new address and port) under a ping without losing her session; a
# handshake hexgated starts (a rekey) under 100 pings a second loses none;
# an initiation flood puts hexgated under load: cookie replies, her
# session unharmed;
# disable and revoke cut her off within a second, and revoke frees her
# address for the next clientpack.
#
# Usage: netns_overlay.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_overlay
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout socat wg wg-quick wireguard-go /usr/bin/python3
wggo=${SHARED:-$top/../shared}/interop/wireguard-go.sh
[ -f "$wggo" ] || wggo=/work/shared/interop/wireguard-go.sh
[ -f "$wggo" ] || skip "shared/interop/wireguard-go.sh not found"
need_netns
need_programs

h1=hg-oh1-$$
a=hg-oa-$$
c=hg-oc-$$
c2=hg-oc2-$$
s=hg-os-$$
netns=("$h1" "$a" "$c" "$c2" "$s")
begin_run
export STATE_DIR=$tmp/wgstate
crun=$tmp/crun		# the clients' private /run (wg-quick's sockets)
mkdir -p "$crun" "$crun-2"
trap 'quick_down wgc0; quick_down wgc1; bash "$wggo" stop "$s" >/dev/null 2>&1; cleanup' EXIT

topology() {
	set -ex
	for n in "$h1" "$a" "$c" "$c2" "$s"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name c-wan netns "$c"
	ip -n "$a" link add a-wan2 type veth peer name s-wan netns "$s"
	ip -n "$a" link set lo up
	nsx "$a" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$a" "$prepare" a-lan a-wan a-wan2
	host_setup "$h1" 1
	# c's side of the WAN is a bridge, so c2 is on the same segment.
	ip -n "$c" link set lo up
	nsx "$c" "$prepare" --peer c-wan
	ip -n "$c" link add br0 type bridge
	ip -n "$c" link set c-wan master br0
	ip -n "$c" link add cb2 type veth peer name c2-wan netns "$c2"
	ip -n "$c" link set cb2 master br0
	nsx "$c" sysctl -q -w net.ipv4.conf.all.promote_secondaries=1
	nsx "$c" sysctl -q -w net.ipv4.conf.br0.promote_secondaries=1
	nsx "$c" sysctl -q -w net.ipv6.conf.br0.accept_dad=0
	ip -n "$c" addr add 192.0.2.2/24 dev br0
	ip -n "$c" addr add 2001:db8:ff::2/64 dev br0 nodad
	for l in c-wan cb2 br0; do ip -n "$c" link set "$l" up; done
	ip -n "$c2" link set lo up
	nsx "$c2" "$prepare" --peer c2-wan
	nsx "$c2" sysctl -q -w net.ipv6.conf.c2-wan.accept_dad=0
	ip -n "$c2" addr add 2001:db8:ff::5/64 dev c2-wan nodad
	ip -n "$c2" link set c2-wan up
	peer "$s" s-wan 192.0.3.2/24 ""
	ip -n "$s" addr add 10.2.0.1/32 dev lo
}

config() {
	sitekey=$(wg genkey)
	cat >"$conf" <<EOF
{
  "workers": 2,
  "control_socket": "$sock",
  "api": false,
  "store": "store",
  "interfaces": [
    { "name": "lan", "port": "afpacket:a-lan",
      "addresses": [ "10.1.0.1/24", "2001:db8:1::1/64" ] },
    { "name": "wan", "port": "afpacket:a-wan",
      "addresses": [ "192.0.2.1/24", "2001:db8:ff::1/64" ] },
    { "name": "wan2", "port": "afpacket:a-wan2", "addresses": [ "192.0.3.1/24" ] }
  ],
  "overlay": {
    "listen_port": 51820,
    "addresses": [ "10.99.0.1/24", "fd99::1/64" ],
    "endpoint": "192.0.2.1:51820",
    "client_networks": [ "10.1.0.0/24", "2001:db8:1::/64" ],
    "peers": [
      { "name": "site-s", "public_key": "$(wg pubkey <<<"$sitekey")",
        "endpoint": "192.0.3.2:51820", "allowed_ips": [ "10.2.0.0/24" ],
        "persistent_keepalive": 25 }
    ]
  },
  "firewall": { "known_networks": [ "10.1.0.0/24", "2001:db8:1::/64" ] }
}
EOF
}

# quick NAME up|down: wg-quick on $tmp/NAME.conf, wireguard-go behind
# it, with a /run of its own (TESTBED.md): wgc0 in c, wgc1 in c2.
quick() {
	local ns=$c run=$crun
	[ "$1" = wgc1 ] && { ns=$c2; run=$crun-2; }
	WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go LOG_LEVEL=error \
	    ip netns exec "$ns" sh -c 'mount -n --bind "$0" /run && exec wg-quick "$1" "$2"' \
	    "$run" "$2" "$tmp/$1.conf"
}
quick_down() {
	[ -f "$tmp/$1.conf" ] && quick "$1" down >/dev/null 2>&1
	return 0
}
cwg() {
	ip netns exec "$c" sh -c 'mount -n --bind "$0" /run && exec wg "$@"' "$crun" "$@"
}

# The status of one overlay peer as JSON.
peer_json() {
	hx --json overlay status | /usr/bin/python3 -c '
import json, sys
st = json.load(sys.stdin)
print(json.dumps([p for p in st["peers"] if p["name"] == sys.argv[1]][0]))' "$1"
}

# ---- the checks ----------------------------------------------------------

alice_joins() {
	hx overlay clientpack add alice >"$tmp/wgc0.conf" || return 1
	cat "$tmp/wgc0.conf"
	grep -q '^Address = 10.99.0.2/32, fd99::2/128$' "$tmp/wgc0.conf" ||
	    { echo "not the first free addresses"; return 1; }
	quick wgc0 up || return 1
	ping_ok "$c" 10.1.0.2
}

lan_reaches_alice() {
	ping_ok "$h1" 10.99.0.2
}

tcp_both_ways() {
	head -c $((8 << 20)) /dev/urandom >"$tmp/in.bin"
	tcp_transfer "$c" "$h1" 10.1.0.2 5001 || return 1
	tcp_transfer "$h1" "$c" 10.99.0.2 5002
}

ipv6_inside() {
	ping_ok "$c" 2001:db8:1::2 && ping_ok "$h1" fd99::2
}

status_shows() {
	local j
	hx overlay status
	j=$(peer_json alice) || return 1
	echo "$j"
	/usr/bin/python3 - "$j" <<'PY'
import json, sys, time
p = json.loads(sys.argv[1])
assert p["kind"] == "client" and p["enabled"], p
assert p["endpoint"].startswith("192.0.2.2:"), p
assert abs(time.time() - p["latest_handshake"]) < 300, p
assert p["transfer_rx"] > 8 << 20 and p["transfer_tx"] > 8 << 20, p
assert p["allowed_ips"] == ["10.99.0.2/32", "fd99::2/128"], p
PY
}

# COPY --from tun0 --bidirectional to a pcap file: alice's pings in
# clear, both ways, as the overlay's interface carries them.
copy_from_tun0() {
	local pcap=$tmp/tun0.pcap
	hx firewall add MACRO_CUST -p icmp -j COPY --from tun0 --to "pcap:$pcap" \
	    --bidirectional || return 1
	nsx "$c" ping -n -c 3 -i 0.2 -W 1 10.1.0.2 || return 1
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
    if len(f) >= 34 and f[12:14] == b"\x08\x00" and f[23] == 1:
        seen.append(("%d.%d.%d.%d" % tuple(f[26:30]), "%d.%d.%d.%d" % tuple(f[30:34]), f[34]))
print(seen)
req = [s for s in seen if s == ("10.99.0.2", "10.1.0.2", 8)]
rep = [s for s in seen if s == ("10.1.0.2", "10.99.0.2", 0)]
print("NOTE: %d requests, %d replies copied" % (len(req), len(rep)))
sys.exit(0 if len(req) >= 3 and len(rep) >= 3 else 1)
PY
}

# A FORWARD_CUST rule dropping echo requests -i tun0 stops alice's
# pings but not the LAN's to her; with -o tun0 the other way round;
# deleted, both pass again.
rule_check() {
	local dir=$1 blocked=$2 bdst=$3 open=$4 odst=$5 rc=0
	hx firewall add FORWARD_CUST "$dir" tun0 -p icmp --icmp-type \
	    echo-request -j DROP || return 1
	nsx "$blocked" ping -n -c 2 -i 0.2 -W 1 "$bdst" && rc=1
	ping_ok "$open" "$odst" || rc=1
	hx firewall delete FORWARD_CUST 1 || rc=1
	return $rc
}
rules_name_tun0() {
	rule_check -i "$c" 10.1.0.2 "$h1" 10.99.0.2 || return 1
	rule_check -o "$h1" 10.99.0.2 "$c" 10.1.0.2 || return 1
	ping_ok "$c" 10.1.0.2 && ping_ok "$h1" 10.99.0.2
}

# A source outside alice's allowed IPs, sent by her through the tunnel:
# dropped as wg_src, never delivered.
spoof_dropped() {
	local before after
	before=$(drop_count "$sock" wan wg_src)
	ip -n "$c" addr add 10.99.0.77/32 dev wgc0 || return 1
	nsx "$c" ping -n -c 3 -i 0.2 -W 1 -I 10.99.0.77 10.1.0.2 && return 1
	ip -n "$c" addr del 10.99.0.77/32 dev wgc0
	after=$(drop_count "$sock" wan wg_src)
	echo "wg_src: $before -> $after"
	[ "$after" -ge $((before + 3)) ]
}

bob_over_ipv6() {
	local priv
	hx overlay clientpack add bob --psk >"$tmp/wgc1.conf" || return 1
	grep -q '^PresharedKey = ' "$tmp/wgc1.conf" || return 1
	sed -i 's/^Endpoint = .*/Endpoint = [2001:db8:ff::1]:51820/' "$tmp/wgc1.conf"
	grep -q '^Address = 10.99.0.3/32, fd99::3/128$' "$tmp/wgc1.conf" || return 1
	quick wgc1 up || return 1
	ping_ok "$c2" 10.1.0.2 || return 1
	ping_ok "$h1" fd99::3 || return 1
	# Full-size packets under IPv6's outer headers (1500 on the path).
	tcp_transfer "$c2" "$h1" 10.1.0.2 5004 || return 1
	peer_json bob | tee /dev/stderr | grep -q '"endpoint": "\[2001:db8:ff::5\]:' &&
	    peer_json bob | grep -q '"preshared_key": true'
}

site_carries_subnet() {
	bash "$wggo" peer "$s" 10.98.0.2/32 51820 "$sitekey" \
	    "$(hx --json overlay status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')" \
	    192.0.3.1:51820 10.1.0.0/24 >/dev/null || return 1
	# hexgated has been initiating since its start (persistent
	# keepalive), every 5 s while nobody answered: the next try meets it.
	for _ in $(seq 12); do
		nsx "$h1" ping -n -c 1 -W 1 10.2.0.1 >/dev/null && break
	done
	ping_ok "$h1" 10.2.0.1
}

# The site's subnet is known only for what came through the overlay from
# the site: the same source in clear on wan2 meets the default policy
# (fw_policy), and through the tunnel it passes.
clear_not_known() {
	local before after rc=0
	before=$(drop_count "$sock" wan2 fw_policy)
	ip -n "$s" route add 10.1.0.2/32 via 192.0.3.1 dev s-wan || return 1
	nsx "$s" ping -n -c 2 -i 0.2 -W 1 -I 10.2.0.1 10.1.0.2 && rc=1
	ip -n "$s" route del 10.1.0.2/32 via 192.0.3.1 dev s-wan
	after=$(drop_count "$sock" wan2 fw_policy)
	echo "fw_policy on wan2: $before -> $after"
	[ "$after" -ge $((before + 2)) ] || rc=1
	nsx "$s" ping -n -c 2 -i 0.2 -W 1 -I 10.2.0.1 10.1.0.2 || rc=1
	return $rc
}

# A ping every 50 ms while alice moves to 192.0.2.3 and another port:
# her session follows (status shows the new endpoint), almost nothing lost.
roams() {
	local out rx
	nsx "$c" ping -n -c 60 -i 0.05 -W 1 10.1.0.2 >"$tmp/roam.ping" &
	bg_pids+=("$!")
	sleep 1
	ip -n "$c" addr add 192.0.2.3/24 dev br0
	ip -n "$c" addr del 192.0.2.2/24 dev br0
	cwg set wgc0 listen-port 51999
	wait "$!"
	cat "$tmp/roam.ping"
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$tmp/roam.ping")
	echo "NOTE: ${rx:-0}/60 replies"
	[ "${rx:-0}" -ge 55 ] || return 1
	peer_json alice | tee /dev/stderr | grep -q '"endpoint": "192.0.2.3:51999"'
}

# A flood of initiations whose MAC1 is right (anyone who knows our
# public key can make one) from c for 3 s while alice pings: hexgated
# goes under load and answers with cookie replies (cheap) instead of
# Diffie-Hellman, what does not fit its queue is dropped and counted, and
# alice's session carries on.
flood_cookies() {
	local pub out rx
	pub=$(hx --json overlay status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
	nsx "$c" ping -n -c 30 -i 0.1 -W 1 10.1.0.2 >"$tmp/flood.ping" &
	bg_pids+=("$!")
	nsx "$c" timeout 3 /usr/bin/python3 - "$pub" <<'PY'
import base64, hashlib, os, socket, sys
pub = base64.b64decode(sys.argv[1])
key = hashlib.blake2s(b"mac1----" + pub).digest()
msgs = []
for _ in range(64):
    m = bytearray(148)
    m[0] = 1
    m[4:116] = os.urandom(112)
    m[116:132] = hashlib.blake2s(bytes(m[:116]), key=key,
                                 digest_size=16).digest()
    msgs.append(bytes(m))
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
for s in socks:
    s.setblocking(False)
i = 0
while True:
    try:
        socks[i % 8].sendto(msgs[i % 64], ("192.0.2.1", 51820))
    except BlockingIOError:
        pass
    i += 1
PY
	wait "$!"
	cat "$tmp/flood.ping"
	out=$(hx --json overlay status) || return 1
	echo "$out" | /usr/bin/python3 -c '
import json, sys
st = json.load(sys.stdin)
print("NOTE: %d cookie replies" % st["cookie_replies_sent"])
sys.exit(0 if st["cookie_replies_sent"] > 0 else 1)' || return 1
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$tmp/flood.ping")
	echo "pings during the flood: ${rx:-0}/30"
	[ "${rx:-0}" -ge 27 ] && alive_ok
}

# tcp_paced SRC_NS DST_NS ADDR PORT MBIT: $tmp/in.bin over TCP at about
# MBIT Mbit/s (a steady flow, not one that fills every queue on this
# 2-CPU machine: wireguard-go on the client would drop what its own
# queues cannot hold, which is not what the check is about); sha256
# compared.
tcp_paced() {
	local out=$tmp/tcp-$4
	rm -f "$out"
	ip netns exec "$2" timeout 30 socat -u "TCP4-LISTEN:$4,reuseaddr" \
	    "OPEN:$out,creat,trunc" &
	bg_pids+=("$!")
	tcp_listening "$2" "$4" || { echo "no listener"; return 1; }
	nsx "$1" timeout 30 /usr/bin/python3 - "$tmp/in.bin" "$3" "$4" "$5" <<'PY' ||
import socket, sys, time
data = open(sys.argv[1], "rb").read()
s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
rate = int(sys.argv[4]) * 1e6 / 8
t0 = time.monotonic()
for off in range(0, len(data), 65536):
    s.sendall(data[off:off + 65536])
    ahead = (off + 65536) / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
s.close()
PY
	    { echo "client failed"; return 1; }
	wait "$!" 2>/dev/null
	sleep 0.2
	[ "$(sha256sum <"$tmp/in.bin")" = "$(sha256sum <"$out")" ] ||
	    { echo "sha256 differs"; ls -l "$tmp/in.bin" "$out"; return 1; }
}

# A handshake hexgated starts with alice (as its rekey timer would) under
# 100 pings a second and during a 16 MiB TCP transfer at 64 Mbit/s: no
# ping lost, the transfer whole (sha256), and a new handshake time.
rekey_no_loss() {
	local before after rx pp hp ok=0
	before=$(peer_json alice | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["latest_handshake"])')
	sleep 1.1
	nsx "$c" ping -n -c 300 -i 0.01 -W 1 10.1.0.2 >"$tmp/rekey.ping" &
	pp=$!
	bg_pids+=("$pp")
	sleep 1
	mv "$tmp/in.bin" "$tmp/in8.bin"
	head -c $((16 << 20)) /dev/urandom >"$tmp/in.bin"
	# (refused while a handshake went less than 5 s ago: then again)
	(sleep 0.5; for _ in $(seq 30); do
		hx overlay handshake alice && { echo initiating; break; }
		sleep 0.2
	done) >"$tmp/handshake.out" 2>&1 &
	hp=$!
	tcp_paced "$c" "$h1" 10.1.0.2 5003 64 && ok=1
	mv "$tmp/in8.bin" "$tmp/in.bin"
	wait "$hp"
	cat "$tmp/handshake.out"
	grep -q initiating "$tmp/handshake.out" || ok=0
	[ "$ok" = 1 ] || { echo "transfer or handshake failed"; return 1; }
	wait "$pp"
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$tmp/rekey.ping")
	after=$(peer_json alice | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["latest_handshake"])')
	echo "NOTE: ${rx:-0}/300 replies, handshake $before -> $after"
	[ "${rx:-0}" = 300 ] && [ "$after" -gt "$before" ]
}

# cut_within NAME OP: pings every 20 ms from alice; after hexctl overlay
# clientpack OP NAME returns, none is answered later than a second.
cut_within() {
	local t0 last
	nsx "$c" ping -D -n -i 0.02 -W 1 -w 4 10.1.0.2 >"$tmp/cut.ping" 2>&1 &
	bg_pids+=("$!")
	sleep 1
	hx overlay clientpack "$2" "$1" || return 1
	t0=$(date +%s.%N)
	wait "$!"
	first=$(grep 'bytes from' "$tmp/cut.ping" | head -n 1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
	last=$(grep 'bytes from' "$tmp/cut.ping" | tail -n 1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
	[ -n "$first" ] || { echo "no reply at all"; return 1; }
	echo "NOTE: last reply $(/usr/bin/python3 -c "print(round($last - $t0, 3))") s after $2"
	# Replies before the change (it was up), none a second after.
	/usr/bin/python3 -c "import sys; sys.exit(0 if $first < $t0 and $last - $t0 < 1.0 else 1)"
}

disable_cuts() {
	cut_within alice disable
}

enable_again() {
	hx overlay clientpack enable alice || return 1
	# wireguard-go tries a new handshake once its data goes unanswered.
	for _ in $(seq 30); do
		nsx "$c" ping -n -c 1 -W 1 10.1.0.2 >/dev/null && return 0
	done
	return 1
}

revoke_frees() {
	cut_within alice revoke || return 1
	quick_down wgc0
	hx overlay clientpack add carol >"$tmp/carol.conf" || return 1
	grep '^Address' "$tmp/carol.conf"
	grep -q '^Address = 10.99.0.2/32, fd99::2/128$' "$tmp/carol.conf"
}

make_topology
config
start_hexgated "$a"

check "a client joins with its clientpack as printed and reaches the LAN" alice_joins
check "the LAN host reaches the client" lan_reaches_alice
check "8 MiB of TCP each way, sha256 equal" tcp_both_ways
check "IPv6 inside the overlay, both ways" ipv6_inside
check "hexctl overlay status shows endpoint, handshake, transfer" status_shows
check "COPY --from tun0 mirrors the overlay's inner traffic, both ways" copy_from_tun0
check "firewall rules name tun0 (-i, -o)" rules_name_tun0
check "a source outside the client's allowed IPs is dropped (wg_src)" spoof_dropped
check "a second client with a preshared key joins over IPv6 outside, 8 MiB of TCP" bob_over_ipv6
check "a wireguard-go site peer carries its subnet" site_carries_subnet
check "the site's subnet in clear elsewhere is not known (fw_policy)" clear_not_known
check "the client roams (new address and port) under a ping" roams
check "a handshake hexgated starts under 100 pings/s and a transfer loses nothing" rekey_no_loss
check "an initiation flood gets cookie replies; the client's session goes on" flood_cookies
check "disable cuts the client off within a second" disable_cuts
check "enable lets it back in" enable_again
check "revoke cuts it off within a second and frees its address" revoke_frees
check "a stop is clean" stop_ok
finish
