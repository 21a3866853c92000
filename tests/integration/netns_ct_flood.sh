#!/bin/bash
#
# tests/integration/netns_ct_flood.sh: conntrack under a flood of new
# flows.  One host on a known network sends new UDP flows (a new source
# port each packet, never answered) through hexgated with a small table;
# meanwhile another host's new flows must still get through at once.
#
#   [ns h1] 10.1.0.2 --- r-eth1 "lan1" 10.1.0.1  (known: the flooder)
#   [ns h2] 10.2.0.2 --- r-eth2 "lan2" 10.2.0.1  (known: a quiet host)
#   [ns h3] 10.3.0.2 --- r-eth3 "srv"  10.3.0.1  (servers: ping, TCP 80)
#                        [ns r: hexgated, 2 workers, 1,024 flows each]
#
# Two runs of hexgated, each with a few seconds of flood at about 20,000
# new flows a second from h1 (trafgen):
#   (1) source_limit_percent 100 (no per-source bound): the tables fill
#       with the flood's unanswered flows; h2's ping and TCP connection to
#       h3 still complete within a second, by evicting them (evicted > 0);
#   (2) the default bound (25%): h1 is refused its share's next flows
#       (src_limited > 0), the tables never fill, and h2 gets through.
# Before this, a full table refused every new flow until the flood's
# entries timed out (30 s for UDP).
#
# Usage: netns_ct_flood.sh BUILD_DIR      (root; exits 77 when it cannot run)
# Prints "ok N - what" per check and "netns_ct_flood: P passed, F failed";
# namespaces are named after $$ and go away from the EXIT trap.  Takes
# about 20 s.  KEEP_LOG=1 keeps the temp dir.

set -u

prog=netns_ct_flood
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat trafgen timeout ss awk
need_netns
need_programs

h1=hg-ch1-$$
h2=hg-ch2-$$
h3=hg-ch3-$$
r=hg-cr-$$
netns=("$h1" "$h2" "$h3" "$r")
begin_run

FLOOD_S=${FLOOD_S:-4}
FLOOD_PPS=${FLOOD_PPS:-20000}

topology() {
	set -ex
	local i h
	ip netns add "$r"
	ip -n "$r" link set lo up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	for i in 1 2 3; do
		h=hg-ch$i-$$
		ip netns add "$h"
		ip -n "$r" link add r-eth$i type veth peer name h$i-eth0 netns "$h"
		host_setup "$h" "$i"
	done
	nsx "$r" "$prepare" r-eth1 r-eth2 r-eth3
}

# write_config PERCENT: the small table, with that source bound.
write_config() {
	cat >"$conf" <<EOF
{
  "workers": 2,
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan1", "port": "afpacket:r-eth1", "addresses": [ "10.1.0.1/24" ] },
    { "name": "lan2", "port": "afpacket:r-eth2", "addresses": [ "10.2.0.1/24" ] },
    { "name": "srv", "port": "afpacket:r-eth3", "addresses": [ "10.3.0.1/24" ] }
  ],
  "firewall": {
    "known_networks": [ "10.1.0.0/24", "10.2.0.0/24" ],
    "conntrack": { "max_entries": 1024$1 }
  }
}
EOF
}

# ct_stat KEY: a conntrack counter from "show firewall".
ct_stat() {
	hx --json show firewall |
	    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['conntrack']['$1'])"
}

# The flood: UDP from h1 to h3:9, a new source port every packet.
flood_start() {
	local mac
	mac=$(ip -n "$r" -br link show r-eth1 | awk '{ print $3 }')
	cat >"$tmp/flood.cfg" <<EOF
{ eth(da=$mac, type=0x0800),
  ipv4(saddr=10.1.0.2, daddr=10.3.0.2, ttl=64, proto=17),
  udp(sport=dinc(1024, 65535), dport=9),
  fill(0x41, 18) }
EOF
	ip netns exec "$h1" timeout "$FLOOD_S" trafgen --dev h1-eth0 \
	    --conf "$tmp/flood.cfg" --cpus 1 --rate "${FLOOD_PPS}pps" \
	    --no-sock-mem -q >"$tmp/trafgen.log" 2>&1 &
	bg_pids+=($!)
	flood_pid=$!
}

flood_wait() {
	wait "$flood_pid" 2>/dev/null
}

# new_ping_ok: a new ICMP flow h2 -> h3 answered within a second.
new_ping_ok() {
	local t0 t1
	t0=$(date +%s%N)
	nsx "$h2" ping -n -c 1 -W 1 10.3.0.2 || return 1
	t1=$(date +%s%N)
	echo "NOTE: $(( (t1 - t0) / 1000000 )) ms"
}

# new_tcp_ok: a new TCP connection h2 -> h3:80 carries a line back
# within a second.
new_tcp_ok() {
	local out
	out=$(nsx "$h2" timeout 1 socat -T 1 - TCP4:10.3.0.2:80,connect-timeout=1 \
	    </dev/null 2>&1)
	echo "$out"
	[ "$out" = "hello" ]
}

# flood_checks WHAT: a quiet host's new flows, during the flood.
flood_checks() {
	check "$1: ping h2 -> h3, a new flow during the flood, within 1 s" new_ping_ok
	check "$1: TCP h2 -> h3:80, a new connection during the flood, within 1 s" new_tcp_ok
}

counter_positive() {
	local v
	v=$(ct_stat "$1") || return 1
	echo "NOTE: $1 $v"
	[ "$v" -gt 0 ]
}

in_use_at_most() {
	local v
	v=$(ct_stat in_use) || return 1
	echo "NOTE: in_use $v"
	[ "$v" -le "$1" ]
}

# run_phase WHAT PERCENT_JSON: hexgated, the flood, the checks.
run_phase() {
	write_config "$2"
	start_hexgated "$r"
	# Neighbours first, so that the checks are about conntrack.
	nsx "$h1" ping -n -c 1 -W 1 10.1.0.1 >/dev/null 2>&1
	nsx "$h2" ping -n -c 1 -W 1 10.3.0.2 >/dev/null 2>&1
	nsx "$h3" ping -n -c 1 -W 1 10.3.0.1 >/dev/null 2>&1
	flood_start
	sleep 1.5	# > 2 x 1,024 flows at FLOOD_PPS
	flood_checks "$1"
}

stop_hexgated() {
	kill -TERM "$hg_pid" 2>/dev/null
	wait "$hg_pid" 2>/dev/null
	hg_pid=
}

# ---- run -------------------------------------------------------------

make_topology
ip netns exec "$h3" socat TCP4-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello' \
    >/dev/null 2>&1 &
bg_pids+=($!)
tcp_listening "$h3" 80 || fatal "listener on h3:80" "socat does not listen"

run_phase "no source bound" ', "source_limit_percent": 100'
check "no source bound: the flood filled the tables and was evicted" \
    counter_positive evicted
flood_wait
check "no source bound: hexgated is alive" alive_ok
stop_hexgated

run_phase "default source bound" ''
check "default source bound: the flooder was refused (src_limited)" \
    counter_positive src_limited
check "default source bound: it holds at most 25% of the tables" \
    in_use_at_most $(( 2 * 256 + 16 ))
flood_wait
check "default source bound: hexgated is alive" alive_ok
finish
