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
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-}

skip() {
	echo "$prog: SKIP: $*" >&2
	exit 77
}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || { echo "$prog: no build dir $1" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, veth, AF_PACKET)"
for t in ip ping socat ethtool sha256sum timeout ss /usr/bin/python3; do
	command -v "$t" >/dev/null ||
	    skip "$t not found (scripts/install-deps installs what this needs)"
done
ip netns add "hg-probe-$$" 2>/dev/null ||
    skip "cannot create a network namespace here"
ip netns del "hg-probe-$$"

hexgated=$build/src/daemon/hexgated
hexctl=$build/src/cli/hexctl
prepare=$top/scripts/hg-port-prepare
for f in "$hexgated" "$hexctl" "$prepare"; do
	[ -x "$f" ] || { echo "$prog: $f missing or not executable (build first)" >&2; exit 1; }
done

h1=hg-h1-$$
r=hg-r-$$
h2=hg-h2-$$
tmp=$(mktemp -d "/tmp/hg-netns-router.XXXXXX")
sock=$tmp/hexgated.sock
conf=$tmp/hexgated.json
hg_pid=
bg_pids=()
n_pass=0
n_fail=0
n_test=0

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${bg_pids[@]}" $hg_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${bg_pids[@]}" $hg_pid; do
		wait "$p" 2>/dev/null
	done
	# Deleting a namespace whose processes are gone frees its veths.
	ip netns del "$h1" 2>/dev/null
	ip netns del "$r" 2>/dev/null
	ip netns del "$h2" 2>/dev/null
	if [ "${KEEP_LOG:-0}" = 1 ]; then
		echo "# kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
# fd 3: the real stderr, also while a check's output goes to its log.
exec 3>&2
trap 'echo "# interrupted" >&3; exit 130' INT TERM

# nsx NS CMD...: run in a namespace.  Not for "&": a backgrounded function
# is a subshell whose $! is not CMD; "ip netns exec" execs CMD, so use it.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# check "what" FUNC [ARGS]: one numbered check.  FUNC's output goes to a
# log that is shown, indented as TAP comments, only when it fails.
check() {
	local what=$1 log
	shift
	n_test=$((n_test + 1))
	log=$tmp/check-$n_test.log
	if "$@" >"$log" 2>&1; then
		n_pass=$((n_pass + 1))
		echo "ok $n_test - $what$(note "$log")"
	else
		n_fail=$((n_fail + 1))
		echo "not ok $n_test - $what"
		sed 's/^/#   /' "$log"
	fi
}

# A check may leave a short note (a count, a rate) on a "NOTE: " line.
note() {
	local n
	n=$(sed -n 's/^NOTE: //p' "$1" | tail -n 1)
	[ -n "$n" ] && echo " ($n)"
}

finish() {
	echo "$prog: $n_pass passed, $n_fail failed"
	[ "$n_fail" = 0 ]
	exit $?
}

# fatal "what" MSG: a step without which nothing further can be checked.
fatal() {
	n_test=$((n_test + 1))
	n_fail=$((n_fail + 1))
	echo "not ok $n_test - $1"
	echo "#   $2"
	hg_log_tail
	finish
}

hg_log_tail() {
	[ -s "$tmp/hexgated.log" ] || return 0
	echo "#   last lines of hexgated's log:"
	tail -n 20 "$tmp/hexgated.log" | sed 's/^/#     /'
}

hg_alive() {
	[ -n "$hg_pid" ] && kill -0 "$hg_pid" 2>/dev/null
}

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

	local h i
	for i in 1 2; do
		h=hg-h$i-$$
		ip -n "$h" link set lo up
		# No DAD: the addresses are usable at once, and the link-local
		# one does not stay "tentative" during the first pings.
		nsx "$h" sysctl -q -w net.ipv6.conf.h$i-eth0.accept_dad=0
		nsx "$h" sysctl -q -w net.ipv6.conf.h$i-eth0.accept_ra=0
		nsx "$h" "$prepare" --peer h$i-eth0
		ip -n "$h" addr add 10.$i.0.2/24 dev h$i-eth0
		ip -n "$h" addr add 2001:db8:$i::2/64 dev h$i-eth0 nodad
		ip -n "$h" link set h$i-eth0 up
		ip -n "$h" route add default via 10.$i.0.1
		ip -n "$h" -6 route add default via 2001:db8:$i::1
	done
}

write_config() {
	# $1: extra JSON for the top level (the reload adds a route).
	cat >"$conf" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
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

start_hexgated() {
	ip netns exec "$r" "$hexgated" -c "$conf" 2>"$tmp/hexgated.log" &
	hg_pid=$!
	local i
	for i in $(seq 100); do		# 10 s
		hg_alive || fatal "hexgated starts" "hexgated exited during start-up"
		if [ -S "$sock" ] && "$hexctl" -s "$sock" show interfaces >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fatal "hexgated starts" "control socket $sock not answering after 10 s"
}

# ---- checks ----------------------------------------------------------

# ping_ok NS DST: 3 echoes; the first may be lost to neighbour resolution
# (RFC 1812 lets a router drop a packet while it resolves), so 2 of 3 pass.
ping_ok() {
	local out rx
	out=$(nsx "$1" timeout 10 ping -n -c 3 -i 0.2 -W 2 "$2" 2>&1)
	echo "$out"
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "NOTE: ${rx:-0}/3 replies"
	[ "${rx:-0}" -ge 2 ]
}

# tcp_ok FAMILY PORT: 8 MiB from h1 to h2 through hexgated, bytes compared.
tcp_ok() {
	local fam=$1 port=$2 listen connect spid i sum_in sum_out
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
	for i in $(seq 50); do
		nsx "$h2" ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	nsx "$h2" ss -Hltn "sport = :$port" | grep -q . ||
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

alive_ok() {
	hg_alive || { echo "hexgated is gone"; return 1; }
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

(topology) >"$tmp/topology.log" 2>&1
if [ $? != 0 ]; then
	tail -n 5 "$tmp/topology.log" | sed 's/^/#   /'
	fatal "topology: namespaces, veths, addresses, port preparation" \
	    "the last command above failed"
fi
head -c 8M /dev/urandom >"$tmp/in.bin"
write_config ""
start_hexgated
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
check "SIGHUP reload under 20 pps ping: zero loss" reload_ok
check "reloaded route is live in hexctl show routes" reload_applied_ok
check "bad configurations refused whole, forwarding unchanged" bad_reload_ok
check "hexgated still running" alive_ok
check "SIGTERM: hexgated exits 0 within 5 s" sigterm_ok
[ "$n_fail" = 0 ] || hg_log_tail
finish
