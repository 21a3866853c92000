#!/bin/bash
#
# tests/integration/netns_monitor.sh: /api/packet_monitor on real traffic,
# and the API under load while hexgated forwards.
#
#   [ns h1] 10.1.0.2/24 --- r-eth1 "lan" 10.1.0.1   (known network)
#   [ns h2] 10.2.0.2/24 --- r-eth2 "srv" 10.2.0.1
#                          [ns r: hexgated, API on 127.0.0.1:8000, store]
#
# Checks: a monitor on lan with the filter "-p icmp" (both directions)
# captures exactly the 10 ICMP frames of 5 pings h1 -> h2 (5 requests
# received on lan, 5 replies sent on it) and nothing else, read back with
# scapy from GET /api/packet_monitor/N/pcap; its COPY rule is live while
# it runs and gone once DELETE stops it (the pcap stays downloadable);
# a bad filter is a 400 naming the column in the filter, nothing changed;
# a fifth running monitor is a 409.  Load: wrk, 4 connections for 5 s on
# GET /api/status/system while ping -i 0.01 -c 300 crosses the router: no
# wrk errors, every answer 2xx, more than 100 requests/s, no ping lost.
#
# Usage: netns_monitor.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_monitor
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping curl wrk base64 /usr/bin/python3
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
    skip "python3-scapy missing (scripts/install-deps installs it)"
need_netns
need_programs

h1=hg-mh1-$$
h2=hg-mh2-$$
r=hg-mr-$$
netns=("$h1" "$h2" "$r")
begin_run

topology() {
	set -ex
	local i h
	ip netns add "$r"
	ip -n "$r" link set lo up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	for i in 1 2; do
		h=hg-mh$i-$$
		ip netns add "$h"
		ip -n "$r" link add r-eth$i type veth peer name h$i-eth0 netns "$h"
		host_setup "$h" "$i"
	done
	nsx "$r" "$prepare" r-eth1 r-eth2
}

write_config() {
	cat >"$conf" <<JSON
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "interfaces": [
    { "name": "lan", "port": "afpacket:r-eth1",
      "addresses": [ "10.1.0.1/24" ] },
    { "name": "srv", "port": "afpacket:r-eth2",
      "addresses": [ "10.2.0.1/24" ] }
  ],
  "firewall": { "known_networks": [ "10.1.0.0/24" ], "rules": "rules.v4" },
  "store": "config.db",
  "api": { "listen": "127.0.0.1", "port": 8000, "state_dir": "$tmp/state" }
}
JSON
	cat >"$tmp/rules.v4" <<EOF
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
EOF
}

url=https://127.0.0.1:8000

# api [CURL ARGS...] PATH: authenticated request; prints the body and
# leaves the status in $tmp/status.
api() {
	local path=${*: -1}
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" -u "api:$pw" \
	    -o "$tmp/body" -w '%{http_code}' "${@:1:$#-1}" "$url$path" \
	    >"$tmp/status"
	cat "$tmp/body"
}

status() {
	cat "$tmp/status"
}

# jget EXPR: a Python expression on the last reply's JSON (j).
jget() {
	/usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	    "$tmp/body" "$1"
}

copy_rules() {
	api '/api/firewall/rules?format=text' | grep -- '-j COPY'
}

start_ok() {
	api -X POST -d '{"interface":"lan","filter":"-p icmp"}' \
	    /api/packet_monitor
	echo
	[ "$(status)" = 201 ] || return 1
	mid=$(jget 'j["id"]')
	echo "$mid" >"$tmp/mid"
	[ "$(jget 'j["running"]')" = True ] || return 1
	copy_rules | tee "$tmp/copy"
	grep -q -- "-A MACRO_CUST -p icmp -j COPY --from lan --to pcap:$tmp/state/monitor/monitor-$mid.pcap --bidirectional" \
	    "$tmp/copy" || { echo "no such COPY rule live"; return 1; }
	[ "$(stat -c %a "$tmp/state/monitor")" = 700 ]
}

capture_ok() {
	local mid out
	mid=$(cat "$tmp/mid")
	out=$(nsx "$h1" ping -n -c 5 -i 0.2 -W 2 10.2.0.2 2>&1)
	echo "$out"
	echo "$out" | grep -q ' 5 received' || return 1
	sleep 0.5		# the writer flushes about every millisecond
	api /api/packet_monitor >/dev/null
	echo "GET /api/packet_monitor: $(cat "$tmp/body")"
	[ "$(jget '[m["running"] for m in j["monitors"] if m["id"] == '"$mid"'][0]')" = True ] ||
	    return 1
	[ "$(jget '[m["bytes"] for m in j["monitors"] if m["id"] == '"$mid"'][0] > 24')" = True ] ||
	    return 1
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" -u "api:$pw" \
	    -D "$tmp/headers" -o "$tmp/got.pcap" \
	    "$url/api/packet_monitor/$mid/pcap" || return 1
	grep -i '^content-type: application/vnd.tcpdump.pcap' "$tmp/headers" ||
	    return 1
	/usr/bin/python3 - "$tmp/got.pcap" <<'PY'
import sys
from scapy.all import rdpcap, ICMP, IP
pkts = rdpcap(sys.argv[1])
kinds = []
for p in pkts:
    assert IP in p and ICMP in p, "not ICMP: " + p.summary()
    kinds.append((p[IP].src, p[IP].dst, p[ICMP].type))
req = kinds.count(("10.1.0.2", "10.2.0.2", 8))
rep = kinds.count(("10.2.0.2", "10.1.0.2", 0))
print("frames:", len(pkts), "requests:", req, "replies:", rep)
print("NOTE: %d ICMP frames, %d requests, %d replies" % (len(pkts), req, rep))
assert (len(pkts), req, rep) == (10, 5, 5)
PY
}

# The same capture through hexctl, over the socket and over the API: the
# pcap comes to stdout byte for byte as GET .../pcap gives it (base64 in
# the JSON on the way); capture list names it.
hexctl_pcap_ok() {
	local mid
	mid=$(cat "$tmp/mid")
	hx capture list | tee "$tmp/list" | grep -q "\"id\": $mid" || return 1
	hx capture pcap "$mid" >"$tmp/socket.pcap" || return 1
	nsx "$r" "$hexctl" --url "$url" --cacert "$tmp/state/ca.crt" \
	    --password-file "$tmp/state/api.password" capture pcap "$mid" \
	    >"$tmp/api.pcap" || return 1
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" -u "api:$pw" \
	    -o "$tmp/got2.pcap" "$url/api/packet_monitor/$mid/pcap" || return 1
	ls -l "$tmp/socket.pcap" "$tmp/api.pcap" "$tmp/got2.pcap"
	[ "$(stat -c %s "$tmp/socket.pcap")" -gt 24 ] || return 1
	cmp "$tmp/socket.pcap" "$tmp/got2.pcap" && cmp "$tmp/api.pcap" "$tmp/got2.pcap"
}

bad_filter_ok() {
	local before
	before=$(api '/api/firewall/rules?format=text' | grep -- '^\[.*-A ')
	api -X POST -d '{"interface":"lan","filter":"-p icmpx"}' \
	    /api/packet_monitor | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] || return 1
	grep -q 'filter:1:4-8: error: unknown protocol' "$tmp/bad" ||
	    { echo "the error does not name the filter's column"; return 1; }
	[ "$(api '/api/firewall/rules?format=text' | grep -- '^\[.*-A ')" = "$before" ] ||
	    return 1
	api -X POST -d '{"interface":"wan"}' /api/packet_monitor
	echo
	[ "$(status)" = 400 ]
}

bound_ok() {
	local i ids=()
	# One runs already: three more are taken, the fifth is a 409.
	for i in 1 2 3; do
		api -X POST -d '{"interface":"srv","snaplen":64,"direction":"in"}' \
		    /api/packet_monitor >/dev/null
		[ "$(status)" = 201 ] || { cat "$tmp/body"; return 1; }
		ids+=("$(jget 'j["id"]')")
	done
	api -X POST -d '{"interface":"srv"}' /api/packet_monitor
	echo
	[ "$(status)" = 409 ] || return 1
	for i in "${ids[@]}"; do
		api -X DELETE "/api/packet_monitor/$i?remove=1" >/dev/null
		[ "$(status)" = 200 ] || return 1
		[ ! -e "$tmp/state/monitor/monitor-$i.pcap" ] || return 1
	done
	[ "$(copy_rules | wc -l)" = 1 ]
}

stop_ok() {
	local mid
	mid=$(cat "$tmp/mid")
	api -X DELETE "/api/packet_monitor/$mid"
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["running"]')" = False ] || return 1
	if copy_rules; then
		echo "a COPY rule is still live"
		return 1
	fi
	# Stopped, the capture is still there to download.
	api "/api/packet_monitor/$mid/pcap" >/dev/null
	[ "$(status)" = 200 ] || return 1
	cmp "$tmp/body" "$tmp/got.pcap" || return 1
	api -X DELETE /api/packet_monitor/999 >/dev/null
	[ "$(status)" = 404 ]
}

# wrk for 5 s on the API while pings cross the router every 10 ms.
load_ok() {
	local auth out rate loss
	auth=$(printf 'api:%s' "$pw" | base64 -w 0)
	nsx "$h1" ping -n -q -i 0.01 -c 300 -W 1 10.2.0.2 >"$tmp/ping" 2>&1 &
	bg_pids+=($!)
	nsx "$r" wrk -t 2 -c 4 -d 5s --latency \
	    -H "Authorization: Basic $auth" "$url/api/status/system" \
	    >"$tmp/wrk" 2>&1
	wait "${bg_pids[-1]}"
	cat "$tmp/wrk" "$tmp/ping"
	! grep -qE 'Socket errors|Non-2xx' "$tmp/wrk" || return 1
	rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
	loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$tmp/ping")
	echo "NOTE: ${rate:-0} requests/s, ${loss:-?}% ping loss"
	awk -v r="${rate:-0}" 'BEGIN { exit !(r > 100) }' || return 1
	[ "$loss" = 0 ] || return 1
	api /api/status/system >/dev/null
	[ "$(status)" = 200 ]
}

make_topology
write_config
start_hexgated "$r"
pw=$(cat "$tmp/state/api.password")
check "hexgated starts with the API and a store" test -n "$pw"
check "h1 reaches h2 through hexgated" ping_ok "$h1" 10.2.0.2
check "POST /api/packet_monitor on lan, -p icmp: 201, its COPY rule live" start_ok
check "5 pings: exactly their 10 ICMP frames in the downloaded pcap" capture_ok
check "hexctl capture pcap, over the socket and the API: the same bytes" hexctl_pcap_ok
check "a bad filter: 400 naming its column, nothing changed" bad_filter_ok
check "at most 4 running: the fifth is a 409; ?remove=1 deletes the file" bound_ok
check "DELETE stops it: its COPY rule is gone, the pcap stays" stop_ok
check "wrk on the API while ping -i 0.01 crosses the router" load_ok
check "hexgated still running" alive_ok
finish
