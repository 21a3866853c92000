#!/bin/bash
#
# tests/integration/netns_router.sh: hexgated routing between two hosts,
# end to end, in three network namespaces on veth pairs.
#
#   [ns h1]                    [ns r]                          [ns h2]
#   h1-eth0 ---------veth--------- r-eth1   hexgated   r-eth2 ---------veth--------- h2-eth0
#   10.1.0.2/24                    10.1.0.1/24      10.2.0.1/24                      10.2.0.2/24
#   2001:db8:1::2/64               2001:db8:1::1/64 2001:db8:2::1/64                 2001:db8:2::2/64
#   default via .1 / ::1           (hexgated's;                                      default via .1 / ::1
#                                   the kernel in r has
#                                   no address, see
#                                   scripts/hg-port-prepare)
#
# Usage: netns_router.sh BUILD_DIR        (root; exits 77 when it cannot run)
#   HG_WORKERS=2      hexgated's worker threads
#   HG_LOG_LEVEL=info hexgated's log level (its log is shown on failure)
#
# Prints one "ok N - what" / "not ok N - what" line per check and ends with
# "netns_router: P passed, F failed"; exits non-zero if any check failed.
# Everything it creates (namespaces named after $$, processes, temp files)
# goes away from the EXIT trap, also on failure and ^C.  Set KEEP_LOG=1 to
# keep the temp dir (hexgated's log, the config) for a post-mortem.

set -u

prog=netns_router
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat ethtool sha256sum timeout ss /usr/bin/python3
need_netns
need_programs

h1=hg-h1-$$
r=hg-r-$$
h2=hg-h2-$$
netns=("$h1" "$r" "$h2")
begin_run

# ---- topology --------------------------------------------------------

# Runs in a subshell with -e and -x: the log ends at the command that failed.
topology() {
	set -ex
	ip netns add "$h1"
	ip netns add "$r"
	ip netns add "$h2"
	ip -n "$r" link add r-eth1 type veth peer name h1-eth0 netns "$h1"
	ip -n "$r" link add r-eth2 type veth peer name h2-eth0 netns "$h2"
	ip -n "$r" link set lo up

	# The router's kernel keeps out of the way: no forwarding anywhere
	# in its namespace, ports prepared for hexgated.
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$r" sysctl -q -w net.ipv6.conf.all.forwarding=0
	nsx "$r" "$prepare" r-eth1 r-eth2

	local i
	for i in 1 2; do
		host_setup "hg-h$i-$$" "$i"
	done
}

write_config() {
	# $1: extra JSON for the top level (the reload adds a route).
	cat >"$conf" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "r-eth1", "port": "afpacket:r-eth1",
      "addresses": [ "10.1.0.1/24", "2001:db8:1::1/64" ] },
    { "name": "r-eth2", "port": "afpacket:r-eth2",
      "addresses": [ "10.2.0.1/24", "2001:db8:2::1/64" ] }
  ],
  "firewall": { "known_networks": [ "10.1.0.0/24", "10.2.0.0/24",
    "2001:db8:1::/64", "2001:db8:2::/64" ] }$1
}
EOF
}

# ---- checks ----------------------------------------------------------

# tcp_ok FAMILY PORT: 8 MiB from h1 to h2 through hexgated, bytes compared.
tcp_ok() {
	local fam=$1 port=$2 listen connect spid sum_in sum_out
	if [ "$fam" = 4 ]; then
		listen=TCP4-LISTEN:$port,reuseaddr
		connect=TCP4:10.2.0.2:$port
	else
		listen=TCP6-LISTEN:$port,reuseaddr
		connect="TCP6:[2001:db8:2::2]:$port"
	fi
	rm -f "$tmp/out$fam"
	ip netns exec "$h2" timeout 30 socat -u "$listen" "OPEN:$tmp/out$fam,creat,trunc" &
	spid=$!
	bg_pids+=("$spid")
	tcp_listening "$h2" "$port" ||
	    { echo "socat server in h2 not listening on :$port after 5 s"; return 1; }
	local t0 t1
	t0=$(date +%s.%N)
	if ! nsx "$h1" timeout 30 socat -u "OPEN:$tmp/in.bin" "$connect"; then
		echo "socat client in h1 failed or timed out (30 s)"
		return 1
	fi
	if ! wait "$spid"; then
		echo "socat server in h2 failed or timed out"
		return 1
	fi
	t1=$(date +%s.%N)
	sum_in=$(sha256sum <"$tmp/in.bin" | cut -d' ' -f1)
	sum_out=$(sha256sum <"$tmp/out$fam" | cut -d' ' -f1)
	echo "sent     $sum_in $(stat -c %s "$tmp/in.bin") bytes"
	echo "received $sum_out $(stat -c %s "$tmp/out$fam") bytes"
	echo "NOTE: $(echo "$t0 $t1" | awk '{ printf "%.0f Mbit/s", 8 * 8 / ($2 - $1) }')"
	[ "$sum_in" = "$sum_out" ]
}

counters_ok() {
	local js
	js=$("$hexctl" -s "$sock" --json show interfaces) ||
	    { echo "hexctl --json show interfaces failed"; return 1; }
	echo "$js"
	echo "$js" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
ifs = d["interfaces"]
bad = 0
for i in ifs:
    print("%-8s rx %d tx %d drops %d" % (i["name"], i["rx_packets"],
          i["tx_packets"], i["drops_total"]))
    if i["rx_packets"] <= 0 or i["tx_packets"] <= 0:
        print("%s: no traffic counted" % i["name"]); bad = 1
if len(ifs) < 2:
    print("expected 2 interfaces, got %d" % len(ifs)); bad = 1
print("NOTE: " + ", ".join("%s rx %d tx %d" % (i["name"], i["rx_packets"],
      i["tx_packets"]) for i in ifs))
sys.exit(bad)'
}

received() {
	sed -n 's/.*, \([0-9]*\) received.*/\1/p' "$1"
}

# reload_ok: pings every 50 ms (v4 and v6) run across a SIGHUP carrying a
# changed config (one more route); not one echo may be lost.
reload_ok() {
	local p4 p6 rc=0 s
	write_config ',
  "routes": [ { "prefix": "192.0.2.0/24", "blackhole": true } ]'
	ip netns exec "$h1" ping -n -i 0.05 -c 60 -w 15 10.2.0.2 >"$tmp/reload4" 2>&1 &
	p4=$!
	ip netns exec "$h1" ping -n -i 0.05 -c 60 -w 15 2001:db8:2::2 >"$tmp/reload6" 2>&1 &
	p6=$!
	bg_pids+=("$p4" "$p6")
	sleep 1
	kill -HUP "$hg_pid" || { echo "cannot send SIGHUP"; rc=1; }
	wait "$p4" || rc=1
	wait "$p6" || rc=1
	for s in 4 6; do
		tail -n 2 "$tmp/reload$s"
		grep -q ' 60 received' "$tmp/reload$s" ||
		    { echo "IPv$s: echoes lost across the reload"; rc=1; }
	done
	hg_alive || { echo "hexgated died on SIGHUP"; rc=1; }
	echo "NOTE: $(received "$tmp/reload4")/60 v4, $(received "$tmp/reload6")/60 v6"
	return $rc
}

# routes_have PATTERN: hexctl's route table (JSON) matches PATTERN.
routes_have() {
	"$hexctl" -s "$sock" --json show routes | grep -q "$1"
}

# reload_applied_ok: the route the reload added is in hexgated's table.
reload_applied_ok() {
	"$hexctl" -s "$sock" show routes
	routes_have '"prefix": *"192.0.2.0/24"' ||
	    { echo "192.0.2.0/24 missing after the reload"; return 1; }
}

# bad_reload_ok: configurations hexgated cannot take are refused whole
# with the reason, and the running one keeps forwarding.
bad_reload_ok() {
	local out rc=0
	cp "$conf" "$tmp/good.json"
	# A gateway on no connected network: valid JSON, refused at build.
	write_config ',
  "routes": [ { "prefix": "198.51.100.0/24", "via": "10.9.9.9" } ]'
	out=$("$hexctl" -s "$sock" reload 2>&1) && rc=1
	echo "$out"
	echo "$out" | grep -q "10.9.9.9 is not on a connected network" ||
	    { echo "refusal does not name the bad gateway"; rc=1; }
	# A syntax error: refused with its line and column.
	printf '{ "interfaces": [ }\n' >"$conf"
	out=$("$hexctl" -s "$sock" reload 2>&1) && rc=1
	echo "$out"
	echo "$out" | grep -q "line 1" ||
	    { echo "refusal does not name the line"; rc=1; }
	kill -HUP "$hg_pid"	# the signal path refuses it too
	sleep 0.3
	cp "$tmp/good.json" "$conf"
	hg_alive || { echo "hexgated died on a bad reload"; return 1; }
	routes_have '"prefix": *"192.0.2.0/24"' ||
	    { echo "running routes changed by a refused reload"; rc=1; }
	routes_have '198.51.100.0' &&
	    { echo "refused route was installed"; rc=1; }
	ping_ok "$h1" 10.2.0.2 || rc=1
	return $rc
}

# cpu_ticks PID: the user and system clock ticks PID's threads have used
# (fields 14 and 15 of /proc/PID/stat, counted after the "(comm)" field,
# which may hold blanks; the process line sums its threads).
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# A worker whose ports are quiet must sleep, not poll them: on a 2-core
# machine shared with peers, a spinning worker takes a core from them.
# After the traffic above (the workers spin briefly after each frame) the
# hosts are silent; over 2 s hexgated may use at most 10% of one core.
# A worker that never sleeps would show 100% per worker.
idle_cpu_ok() {
	local hz t0 t1 used
	hz=$(getconf CLK_TCK)
	sleep 0.5
	t0=$(cpu_ticks "$hg_pid") || return 1
	sleep 2
	t1=$(cpu_ticks "$hg_pid") || return 1
	used=$((t1 - t0))
	echo "hexgated used $used ticks of 1/$hz s in 2 quiet seconds"
	echo "NOTE: $(echo "$used $hz" | awk '{ printf "%.1f%% of a core", 100 * $1 / $2 / 2 }') while quiet"
	[ $((used * 100)) -le $((hz * 2 * 10)) ]
}

# Each afpacket port says at start which receive path it runs: the log is
# where a user looks when a port is slower than it should be.
port_mode_ok() {
	local ifn rc=0
	for ifn in r-eth1 r-eth2; do
		grep "afpacket:$ifn: .*TPACKET_V2 rings" "$tmp/hexgated.log" ||
		    { echo "no receive-path line for afpacket:$ifn in the log"; rc=1; }
	done
	grep -q "steered by io_flow_queue()" "$tmp/hexgated.log" ||
	    { echo "the ports are not steered by io_flow_queue()"; rc=1; }
	return $rc
}

sigterm_ok() {
	local i rc
	kill -TERM "$hg_pid" || return 1
	for i in $(seq 50); do		# 5 s
		kill -0 "$hg_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$hg_pid" 2>/dev/null; then
		echo "hexgated still running 5 s after SIGTERM"
		return 1
	fi
	wait "$hg_pid"
	rc=$?
	hg_pid=
	echo "exit status $rc"
	echo "NOTE: exit $rc after $(echo "$i" | awk '{ printf "%.1f", ($1 - 1) / 10 }') s"
	[ "$rc" = 0 ]
}

# ---- run -------------------------------------------------------------

make_topology
head -c 8M /dev/urandom >"$tmp/in.bin"
write_config ""
start_hexgated "$r"
check "hexgated starts and serves its control socket" true

check "ping h1 -> hexgated 10.1.0.1" ping_ok "$h1" 10.1.0.1
check "ping h1 -> hexgated 2001:db8:1::1" ping_ok "$h1" 2001:db8:1::1
check "ping h2 -> hexgated 10.2.0.1" ping_ok "$h2" 10.2.0.1
check "ping h2 -> hexgated 2001:db8:2::1" ping_ok "$h2" 2001:db8:2::1
check "ping h1 -> h2 10.2.0.2 across hexgated" ping_ok "$h1" 10.2.0.2
check "ping h1 -> h2 2001:db8:2::2 across hexgated" ping_ok "$h1" 2001:db8:2::2
check "TCP 8 MiB h1 -> h2 over IPv4, sha256 matches" tcp_ok 4 5001
check "TCP 8 MiB h1 -> h2 over IPv6, sha256 matches" tcp_ok 6 5002
check "hexctl --json show interfaces: rx and tx > 0 on both" counters_ok
check "a quiet hexgated sleeps: <= 10% of a core over 2 idle seconds" idle_cpu_ok
case ${HG_LOG_LEVEL:-info} in
info|debug) check "the log names each port's receive path (TPACKET_V2, io_flow_queue())" port_mode_ok ;;
esac
check "SIGHUP reload under 20 pps ping: zero loss" reload_ok
check "reloaded route is live in hexctl show routes" reload_applied_ok
check "bad configurations refused whole, forwarding unchanged" bad_reload_ok
check "hexgated still running" alive_ok
check "SIGTERM: hexgated exits 0 within 5 s" sigterm_ok
finish
