#!/usr/bin/env bash
# tests/integration/netns_overlay_pair.sh: two hexgated sites joined by
# the overlay (issue 16), each the other's site peer, over IPv6.
#
#   h1 10.1.0.2 -- lan: a :wan 2001:db8:ff::1 ==== 2001:db8:ff::2 wan: b :lan -- h2 10.2.0.2
#                  tun0 10.99.0.1/24                 tun0 10.99.0.2/24
#
# Each site has the other as its one peer (endpoint, allowed IPs: the far
# LAN and the far overlay address, persistent keepalive), two workers, and
# no route of its own to the far LAN: a site peer's allowed IPs are routed
# to tun0.  The far LAN is no known network in either configuration: the
# overlay makes it known, through tun0 only.
#
# Checks: the hosts reach each other both ways; 8 MiB of TCP each way
# (sha256); both sites show the other with a handshake and traffic; a
# handshake a starts under 100 pings a second and a transfer loses at
# most one ping (see the check) and leaves the transfer whole; a reload
# of b keeps the session (no ping lost); b restarted (its keypairs gone)
# is reached again within seconds; both stop cleanly.
#
# Usage: netns_overlay_pair.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_overlay_pair
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout socat wg /usr/bin/python3
need_netns
need_programs

h1=hg-qh1-$$
a=hg-qa-$$
b=hg-qb-$$
h2=hg-qh2-$$
netns=("$h1" "$a" "$b" "$h2")
begin_run
sock_b=$tmp/b.sock

topology() {
	set -ex
	for n in "$h1" "$a" "$b" "$h2"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	ip -n "$a" link add a-wan type veth peer name b-wan netns "$b"
	for n in "$a" "$b"; do
		ip -n "$n" link set lo up
		nsx "$n" sysctl -q -w net.ipv4.ip_forward=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	host_setup "$h1" 1
	host_setup "$h2" 2
}

# site_config ME FAR LAN_IF LAN_ADDR WAN_IF WAN_ADDR FAR_WAN OVL FAR_OVL FAR_LAN SOCK
site_config() {
	cat <<EOF
{
  "workers": 2,
  "control_socket": "${11}",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$3", "addresses": [ "$4" ] },
    { "name": "wan", "port": "afpacket:$5", "addresses": [ "$6" ] }
  ],
  "overlay": {
    "addresses": [ "$8/24" ],
    "private_key_file": "$1.key",
    "peers": [
      { "name": "$2", "public_key": "$(wg pubkey <"$tmp/$2.key")",
        "endpoint": "[$7]:51820", "allowed_ips": [ "${10}", "$9/32" ],
        "persistent_keepalive": 25 }
    ]
  },
  "firewall": { "known_networks": [ "${4%.*}.0/24" ] }
}
EOF
}

config() {
	(umask 077; wg genkey >"$tmp/a.key"; wg genkey >"$tmp/b.key")
	site_config a b a-lan 10.1.0.1/24 a-wan 2001:db8:ff::1/64 \
	    2001:db8:ff::2 10.99.0.1 10.99.0.2 10.2.0.0/24 "$sock" >"$conf"
	site_config b a b-lan 10.2.0.1/24 b-wan 2001:db8:ff::2/64 \
	    2001:db8:ff::1 10.99.0.2 10.99.0.1 10.1.0.0/24 "$sock_b" \
	    >"$tmp/b.json"
}

hb() {
	"$hexctl" -s "$sock_b" "$@"
}

# The one peer of a site's overlay status as JSON.
peer_of() {
	"$hexctl" -s "$1" --json overlay status | /usr/bin/python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["peers"][0]))'
}

both_ways() {
	# The first try may meet the handshake still under way.
	for _ in $(seq 10); do
		nsx "$h1" ping -n -c 1 -W 1 10.2.0.2 >/dev/null && break
	done
	ping_ok "$h1" 10.2.0.2 && ping_ok "$h2" 10.1.0.2
}

tcp_both() {
	head -c $((8 << 20)) /dev/urandom >"$tmp/in.bin"
	tcp_transfer "$h1" "$h2" 10.2.0.2 5001 || return 1
	tcp_transfer "$h2" "$h1" 10.1.0.2 5002
}

status_both() {
	local ja jb
	ja=$(peer_of "$sock") || return 1
	jb=$(peer_of "$sock_b") || return 1
	echo "a: $ja"
	echo "b: $jb"
	/usr/bin/python3 - "$ja" "$jb" <<'PY'
import json, sys, time
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["name"] == "b" and b["name"] == "a" and a["kind"] == "site", (a, b)
assert a["endpoint"].startswith("[2001:db8:ff::2]:"), a
assert b["endpoint"].startswith("[2001:db8:ff::1]:"), b
for p in (a, b):
    assert abs(time.time() - p["latest_handshake"]) < 300, p
    assert p["transfer_rx"] > 8 << 20 and p["transfer_tx"] > 8 << 20, p
PY
}

# Every interface's drops by reason, and what its port missed or refused.
drops_of() {
	"$hexctl" -s "$1" --json show interfaces | /usr/bin/python3 -c '
import json, sys
for i in json.load(sys.stdin)["interfaces"]:
    for k, v in sorted(i["drops"].items()):
        print(i["name"], k, v)
    print(i["name"], "tx_errors", i.get("tx_errors", 0))
    print(i["name"], "rx_missed", i.get("rx_missed", 0))'
}

latest() {
	peer_of "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["latest_handshake"])'
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

rekey_no_loss() {
	local before after rx pp hp ok=0
	before=$(latest "$sock")
	drops_of "$sock" >"$tmp/drops-a.0"
	drops_of "$sock_b" >"$tmp/drops-b.0"
	sleep 1.1
	nsx "$h1" ping -n -c 300 -i 0.01 -W 1 10.2.0.2 >"$tmp/rekey.ping" &
	pp=$!
	bg_pids+=("$pp")
	sleep 1
	head -c $((16 << 20)) /dev/urandom >"$tmp/in.bin"
	(sleep 0.2; for _ in $(seq 30); do
		hx overlay handshake b && { echo initiating; break; }
		sleep 0.2
	done) >"$tmp/handshake.out" 2>&1 &
	hp=$!
	tcp_paced "$h1" "$h2" 10.2.0.2 5003 64 && ok=1
	wait "$hp"
	cat "$tmp/handshake.out"
	grep -q initiating "$tmp/handshake.out" || ok=0
	wait "$pp"
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$tmp/rekey.ping")
	after=$(latest "$sock")
	# What the sites dropped meanwhile, by reason (a loss there is
	# hexgated's; elsewhere, the hosts' or the veths').
	drops_of "$sock" >"$tmp/drops-a.1"
	drops_of "$sock_b" >"$tmp/drops-b.1"
	diff "$tmp/drops-a.0" "$tmp/drops-a.1"
	diff "$tmp/drops-b.0" "$tmp/drops-b.1"
	echo "NOTE: ${rx:-0}/300 replies, handshake $before -> $after"
	# One lost at most: when the two sites' first handshakes crossed at
	# start, each sends on the keypair it made, and this rekey retires
	# the one the peer sends on (as wireguard-go's rules do too): its
	# packets of one round trip are dropped as wg_index.  Open: keep the
	# keypair the peer last sent on (docs/overlay.md "Not yet").
	[ "$ok" = 1 ] && [ "${rx:-0}" -ge 299 ] && [ "$after" -gt "$before" ]
}

# A reload of b with its overlay unchanged: the session goes on, no ping
# is lost.
reload_keeps() {
	local rx
	nsx "$h1" ping -n -c 100 -i 0.02 -W 1 10.2.0.2 >"$tmp/reload.ping" &
	bg_pids+=("$!")
	sleep 0.5
	hb reload || return 1
	wait "$!"
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$tmp/reload.ping")
	echo "NOTE: ${rx:-0}/100 replies across the reload"
	[ "${rx:-0}" = 100 ]
}

# b restarted: its keypairs are gone, a's still name them.  b's
# persistent keepalive starts a handshake at once; a takes it.
restart_recovers() {
	local t0 i
	kill -TERM "${site_pids[0]}" && wait "${site_pids[0]}" 2>/dev/null
	start_site b "$b" "$sock_b"
	t0=$(date +%s)
	for i in $(seq 20); do
		nsx "$h1" ping -n -c 1 -W 1 10.2.0.2 >/dev/null && break
	done
	echo "NOTE: reached again after $(( $(date +%s) - t0 )) s"
	ping_ok "$h1" 10.2.0.2
}

b_stops() {
	local pid=${site_pids[-1]} rc
	kill -TERM "$pid"
	timeout 10 tail --pid="$pid" -f /dev/null
	wait "$pid"
	rc=$?
	echo "exit status $rc"
	! grep -E 'AddressSanitizer|runtime error|Aborted' "$tmp/b.log" || return 1
	[ "$rc" = 0 ]
}

make_topology
config
start_hexgated "$a"
start_site b "$b" "$sock_b"

check "the hosts behind the two sites reach each other" both_ways
check "8 MiB of TCP each way, sha256 equal" tcp_both
check "each site shows the other: endpoint, handshake, transfer" status_both
check "a handshake a starts under 100 pings/s and a transfer: at most one ping lost, transfer whole" rekey_no_loss
check "a reload of b keeps the session" reload_keeps
check "b restarted is reached again" restart_recovers
check "a stops cleanly" stop_ok
check "b stops cleanly" b_stops
finish
