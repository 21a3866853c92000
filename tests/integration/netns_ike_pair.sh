#!/bin/bash
#
# tests/integration/netns_ike_pair.sh: two hexgated sites negotiate their
# tunnel with IKEv2 alone, no key files (issue 15): what a stock
# strongSwan with kernel-libipsec cannot show, since it always announces
# a NAT and carries ESP in UDP.
#
#   h1 (10.1.0.2) -- a: hexgated A -- wan 192.0.2.0/24 -- b: hexgated B -- h2 (10.2.0.2)
#                     192.0.2.1                            192.0.2.2
#                     connection b: 10.1.0.0/24 === 10.2.0.0/24
#                     start_action start                   start_action start
#
# Checks: both ends initiate at once (the lower nonce gives way at both,
# so one IKE SA comes up), both ends have the IKE SA and its child, without
# NAT and without encapsulation (IKE on 500 at both ends), the child's
# SPIs the same at both ends the other way round; ping and an 8 MiB TCP
# transfer (sha256 compared) through the tunnel both ways; on the wire
# between the sites, from before either started, the hosts' traffic is
# IP protocol 50 with the child's SPIs, IKE is UDP 500 to 500, and
# nothing else (no UDP 4500, no inner address in clear); with
# esp_proposals aes256gcm16-esn at both ends the child is ESN (ipsec
# status names EXT_SEQ, ipsec sas says esn at both ends) and carries;
# A's child rekey_time of 3 s rekeys it at least 3 times while 1200
# pings at 100 a second (asked; ping takes 15-20 s here) lose none and
# 8 MiB go each way over one TCP connection paced over 12 s, both
# complete; with dpd_delay 1 s and dpd_action restart on A, B killed
# (SIGKILL) is found dead by the retransmission schedule (the DPD
# request, then waits of 1, 2, 4, 8 and 16 s: 31 s), and once B is
# started again A initiates and traffic flows; A stops cleanly.  A run
# takes about a minute, half of it waiting for DPD.
#
# Usage: netns_ike_pair.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_ike_pair
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump /usr/bin/python3
need_netns
need_programs

h1=hg-ph1-$$
a=hg-pa-$$
b=hg-pb-$$
h2=hg-ph2-$$
netns=("$h1" "$a" "$b" "$h2")
begin_run
sock_b=$tmp/b.sock
PSK='pair-psk'

topology() {
	set -ex
	for n in "${netns[@]}"; do ip netns add "$n"; done
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
}

# site ME N PEER_N START ESP [CHILD_REKEY [DPD_DELAY DPD_ACTION]]: the
# configuration of site ME (a or b), 10.N.0.0/24 behind 192.0.2.N, its
# one connection to 192.0.2.PEER_N; on stdout.
site() {
	local me=$1 n=$2 p=$3 s
	s=$tmp/hexgated.sock
	[ "$me" = a ] || s=$sock_b
	cat <<EOF
{
  "workers": 1,
  "control_socket": "$s",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$me-lan", "addresses": [ "10.$n.0.1/24" ] },
    { "name": "wan", "port": "afpacket:$me-wan", "addresses": [ "192.0.2.$n/24" ] }
  ],
  "ipsec": {
    "connections": {
      "peer": {
        "version": 2,
        "local_addrs": [ "192.0.2.$n" ],
        "remote_addrs": [ "192.0.2.$p" ],
        "proposals": [ "aes256gcm16-prfsha256-x25519" ],
        "dpd_delay": "${7:-0}",
        "local": { "auth": "psk", "id": "site$n.example" },
        "remote": { "auth": "psk", "id": "site$p.example" },
        "children": {
          "net": {
            "local_ts": [ "10.$n.0.0/24" ],
            "remote_ts": [ "10.$p.0.0/24" ],
            "esp_proposals": [ "$5" ],
            "rekey_time": "${6:-1h}",
            "dpd_action": "${8:-clear}",
            "start_action": "$4"
          }
        }
      }
    },
    "secrets": { "ike-peer": { "id": "site$p.example", "secret": "$PSK" } }
  },
  "firewall": { "known_networks": [ "10.$n.0.0/24" ], "rules": "rules.v4" }
}
EOF
}

configs() {
	site a 1 2 start aes256gcm16 >"$conf"
	site b 2 1 start aes256gcm16 >"$tmp/b.json"
	cat >"$tmp/rules.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
}

hxb() {
	"$hexctl" -s "$sock_b" "$@"
}

# sa_json SOCK: the first IKE SA of the hexgated on SOCK that is
# ESTABLISHED with its child INSTALLED, as JSON; fails when none is.
sa_json() {
	"$hexctl" -s "$1" --json ipsec status 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sas = [sa for sa in json.load(sys.stdin)["ike_sas"]
       if sa["state"] == "ESTABLISHED" and
       (sa.get("children") or [{}])[0].get("state") == "INSTALLED"]
if not sas:
    sys.exit(1)
print(json.dumps(sas[0]))'
}

# up_both [SECONDS]: the IKE SA and its child up at both ends (10 s).
# Both started the connection: whether their IKE_SA_INITs crossed or
# not, each end has exactly one IKE SA, with the same SPIs.
one_sa_ok() {
	up_both || return 1
	sleep 1
	for sk in "$sock" "$sock_b"; do
		"$hexctl" -s "$sk" --json ipsec status >"$tmp/one.json" || return 1
		/usr/bin/python3 -c 'import json, sys
sas = [s for s in json.load(open(sys.argv[1]))["ike_sas"] if s["state"] == "ESTABLISHED"]
print(len(sas), [s["initiator_spi"] for s in sas])
assert len(sas) == 1' "$tmp/one.json" || return 1
	done
	grep -h "lower nonce" "$tmp/hexgated.log" "$tmp/b.log" 2>/dev/null ||
	    echo "NOTE: the IKE_SA_INITs did not cross this time"
}

up_both() {
	local _
	for _ in $(seq $((${1:-10} * 10))); do
		if sa_json "$sock" >/dev/null && sa_json "$sock_b" >/dev/null
		then
			hx ipsec status
			hxb ipsec status
			return 0
		fi
		sleep 0.1
	done
	echo "not up after ${1:-10} s"
	hx ipsec status
	hxb ipsec status
	tail -n 15 "$tmp/b.log"
	return 1
}

# No NAT at either end: IKE stayed on 500, the child is native ESP, and
# both ends hold the same SPIs the other way round.
native_ok() {
	sa_json "$sock" >"$tmp/sa-a.json" && sa_json "$sock_b" >"$tmp/sa-b.json" ||
	    return 1
	/usr/bin/python3 - "$tmp/sa-a.json" "$tmp/sa-b.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for who, sa, peer in (("A", a, "192.0.2.2"), ("B", b, "192.0.2.1")):
    print(who, sa["remote"], sa["remote_port"], sa["remote_id"],
          sa["algorithms"], sa["children"][0]["spi_in"], sa["children"][0]["spi_out"])
    assert sa["remote"] == peer and sa["remote_port"] == 500, sa
    assert sa["local_port"] == 500, sa
    assert not sa["nat_local"] and not sa["nat_remote"], "a NAT?"
    assert not sa["encap"] and not sa["children"][0]["encap"], "encapsulated"
assert a["initiator"] != b["initiator"]	# one IKE SA: one end began it
assert a["remote_id"] == "site2.example" and b["remote_id"] == "site1.example"
assert a["children"][0]["spi_in"] == b["children"][0]["spi_out"]
assert a["children"][0]["spi_out"] == b["children"][0]["spi_in"]
PY
}

# On B's WAN, captured from before either hexgated started: IKE between
# the two 500s, the hosts' traffic as ESP with the child's SPIs, ARP,
# and nothing else.
wire_ok() {
	kill -INT "$cap_pid"
	wait "$cap_pid"
	local pc=$tmp/wire.pcap spi_ab spi_ba k f
	spi_ab=0x$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["children"][0]["spi_out"])' "$tmp/sa-a.json")
	spi_ba=0x$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["children"][0]["spi_in"])' "$tmp/sa-a.json")
	count() { tcpdump -n -r "$pc" "$1" 2>/dev/null | wc -l; }
	for f in \
	    "udp and src host 192.0.2.1 and src port 500 and dst host 192.0.2.2 and dst port 500" \
	    "udp and src host 192.0.2.2 and src port 500 and dst host 192.0.2.1 and dst port 500" \
	    "ip proto 50 and src host 192.0.2.1 and dst host 192.0.2.2 and ip[20:4] = $spi_ab" \
	    "ip proto 50 and src host 192.0.2.2 and dst host 192.0.2.1 and ip[20:4] = $spi_ba"; do
		k=$(count "$f")
		echo "$k: $f"
		[ "$k" -gt 0 ] || return 1
	done
	k=$(count "ip proto 50")
	echo "NOTE: $k ESP packets, $(count 'udp port 500') IKE, $(count 'udp') UDP in all"
	[ "$k" -gt 10000 ] || { echo "too few ESP packets for 16 MiB"; return 1; }
	k=$(count "udp port 4500")
	[ "$k" = 0 ] || { echo "$k packets on UDP 4500"; return 1; }
	f="not arp and not (udp port 500) and not ip proto 50"
	k=$(count "$f")
	[ "$k" = 0 ] || { echo "$k others:"; tcpdump -n -r "$pc" "$f" | head; return 1; }
	! tcpdump -n -r "$pc" 2>/dev/null | grep -q '10\.[12]\.0\.' ||
	    { echo "an inner address in clear"; return 1; }
}

# reload_both A_ARGS... -- B_ARGS...: new configurations (site's
# arguments after ME N PEER_N), B's first; A initiates the new one.
reload_both() {
	local -a aa=() ba=()
	while [ "$1" != -- ]; do aa+=("$1"); shift; done
	shift
	ba=("$@")
	site b 2 1 "${ba[@]}" >"$tmp/b.json"
	site a 1 2 "${aa[@]}" >"$conf"
	hxb reload && hx reload
}

# ESN at both ends: the child is ESN as IKE and as the data plane see it.
esn_ok() {
	reload_both start aes256gcm16-esn 3s -- none aes256gcm16-esn ||
	    return 1
	up_both >/dev/null || return 1
	local s
	for s in "$sock" "$sock_b"; do
		"$hexctl" -s "$s" ipsec status
		sa_json "$s" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["children"][0]
print("child", c["algorithms"])
assert "EXT_SEQ" in c["algorithms"] and "NO_EXT_SEQ" not in c["algorithms"]
' || return 1
		"$hexctl" -s "$s" --json ipsec sas | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["tunnels"]
sas = [s for x in t for s in x["sas"]]
print([(s["direction"], s["spi"], s["esn"]) for s in sas])
assert len(sas) >= 2 and all(s["esn"] for s in sas), "not ESN"
' || return 1
	done
	ping_ok "$h1" 10.2.0.2 && ping_ok "$h2" 10.1.0.2
}

# paced_transfer SRC_NS DST_NS DST_ADDR PORT SECONDS: $tmp/in.bin over
# one TCP connection, spread evenly over SECONDS (so that it lives
# through what happens meanwhile), the sha256 of what arrived compared.
paced_transfer() {
	local out=$tmp/paced-$4 lp t=$(($5 + 30))
	rm -f "$out"
	ip netns exec "$2" timeout "$t" socat -u "TCP4-LISTEN:$4,reuseaddr" \
	    "OPEN:$out,creat,trunc" &
	lp=$!
	bg_pids+=("$lp")
	tcp_listening "$2" "$4" || { echo "no listener"; return 1; }
	nsx "$1" timeout "$t" /usr/bin/python3 - "$tmp/in.bin" "$3" "$4" "$5" <<'PY' ||
import socket, sys, time
data = open(sys.argv[1], "rb").read()
s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
chunk = 65536
step = float(sys.argv[4]) * chunk / len(data)
t0 = time.monotonic()
for k, i in enumerate(range(0, len(data), chunk)):
    s.sendall(data[i:i + chunk])
    time.sleep(max(0.0, t0 + (k + 1) * step - time.monotonic()))
s.close()
print("sent %d bytes in %.1f s" % (len(data), time.monotonic() - t0))
PY
	    { echo "sender failed"; return 1; }
	wait "$lp"
	[ "$(sha256sum <"$tmp/in.bin")" = "$(sha256sum <"$out")" ] ||
	    { echo "sha256 differs"; ls -l "$tmp/in.bin" "$out"; return 1; }
}

# 1200 pings at 100 a second from h1 to h2 (12 s at least), and 8 MiB
# over one TCP connection each way, paced over 12 s; A's child rekey
# time of 3 s: at least 3 rekeys, no ping lost, both transfers whole.
rekey_ok() {
	local n0 n out tp pb ra rb
	n0=$(grep -c "rekeyed: SPIs" "$tmp/hexgated.log")
	nsx "$h1" ping -n -q -c 1200 -i 0.01 -W 1 10.2.0.2 >"$tmp/ping.out" 2>&1 &
	tp=$!
	bg_pids+=("$tp")
	paced_transfer "$h2" "$h1" 10.1.0.2 5101 12 >"$tmp/paced-b.out" 2>&1 &
	pb=$!
	bg_pids+=("$pb")
	paced_transfer "$h1" "$h2" 10.2.0.2 5102 12
	ra=$?
	wait "$pb"
	rb=$?
	echo "h2 -> h1: $(cat "$tmp/paced-b.out")"
	wait "$tp"
	out=$(cat "$tmp/ping.out")
	echo "$out"
	n=$(( $(grep -c "rekeyed: SPIs" "$tmp/hexgated.log") - n0 ))
	grep "rekeyed: SPIs" "$tmp/hexgated.log" | tail -n "$n"
	echo "NOTE: $n rekeys, $(sed -n 's/.*, \([0-9]*\) received.*time \([0-9]*\)ms/\1\/1200 pings in \2 ms/p' <<<"$out"), 8 MiB each way in one TCP connection"
	grep -q " 0% packet loss" <<<"$out" || { echo "pings lost"; return 1; }
	[ "$ra" = 0 ] && [ "$rb" = 0 ] || { echo "a transfer failed"; return 1; }
	[ "$n" -ge 3 ] || { echo "fewer than 3 rekeys"; return 1; }
	sa_json "$sock" | grep -q EXT_SEQ || { echo "no longer ESN"; return 1; }
}

# secs T0 T1: seconds from T0 to T1 (date +%s.%N), one decimal.
secs() {
	awk "BEGIN { printf \"%.1f\", $2 - $1 }"
}

# DPD: B killed; A finds it dead by its retransmission schedule, and
# with dpd_action restart initiates again once B is back.
dpd_ok() {
	local t0 t1 t2 t3 _
	reload_both start aes256gcm16 1h 1s restart -- none aes256gcm16 ||
	    return 1
	up_both >/dev/null || return 1
	kill -KILL "${site_pids[0]}"
	wait "${site_pids[0]}" 2>/dev/null
	site_pids=()
	t0=$(date +%s.%N)
	echo "B killed"
	for _ in $(seq 450); do		# 45 s
		grep -q "peer did not answer DPD" "$tmp/hexgated.log" && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	grep -E "retransmit|did not answer DPD|dpd_action" "$tmp/hexgated.log"
	grep -q "peer did not answer DPD" "$tmp/hexgated.log" ||
	    { echo "not found dead in 45 s"; return 1; }
	# dpd_delay, then the schedule's 31 s; 3 s more for the engine's
	# 100 ms tick and this loop on a loaded machine.
	awk "BEGIN { exit !($t1 - $t0 <= 1 + 31 + 3) }" ||
	    { echo "dead after $(secs "$t0" "$t1") s: later than 35 s"; return 1; }
	hx metrics | grep -E '^hexgate_ike_dpd_dead_total 1$' ||
	    { hx metrics | grep dpd; return 1; }
	! sa_json "$sock" >/dev/null || { echo "A still has the SA"; return 1; }
	start_site b "$b" "$sock_b"
	t2=$(date +%s.%N)
	up_both 30 >/dev/null || return 1
	t3=$(date +%s.%N)
	sa_json "$sock" | grep -q '"initiator": *true' || return 1
	ping_ok "$h1" 10.2.0.2 && ping_ok "$h2" 10.1.0.2 || return 1
	echo "NOTE: dead after $(secs "$t0" "$t1") s, up again" \
	    "$(secs "$t2" "$t3") s after B's restart"
}

make_topology
configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
# The wire from the first packet on, so that IKE_SA_INIT is in it.
# Headers are enough: 128 bytes a packet.
# "ip netns exec", not nsx: $! is then tcpdump itself.
ip netns exec "$b" tcpdump -q -n -U -s 128 -i b-wan -w "$tmp/wire.pcap" \
    2>"$tmp/wire.err" &
cap_pid=$!
bg_pids+=("$cap_pid")
for _ in $(seq 50); do
	grep -q 'listening on' "$tmp/wire.err" && break
	sleep 0.1
done
start_site b "$b" "$sock_b"
start_hexgated "$a"

check "both ends start it: one IKE SA and its child up at both ends" one_sa_ok
check "no NAT: IKE on 500, native ESP, the same SPIs at both ends" native_ok
check "ping h1 -> h2 through the tunnel" ping_ok "$h1" 10.2.0.2
check "ping h2 -> h1 through the tunnel" ping_ok "$h2" 10.1.0.2
check "8 MiB TCP h1 -> h2, sha256 equal" tcp_transfer "$h1" "$h2" 10.2.0.2 5001
check "8 MiB TCP h2 -> h1, sha256 equal" tcp_transfer "$h2" "$h1" 10.1.0.2 5002
check "on the wire: IKE on UDP 500, the hosts' traffic IP protocol 50, nothing else" \
    wire_ok
check "esp_proposals aes256gcm16-esn: the child is ESN at both ends and carries" \
    esn_ok
check "A rekeys the child every 3 s under 1200 pings and TCP both ways: none lost" \
    rekey_ok
check "DPD: B killed is found dead, restarted, A initiates again" dpd_ok
check "A stops cleanly" stop_ok
finish
