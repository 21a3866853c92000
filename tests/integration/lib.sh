# tests/integration/lib.sh: the harness the network namespace tests
# (netns_*.sh) share.  Sourced, not executed.
#
# Provides:
#   skip WHY                   print "$prog: SKIP: WHY", exit 77
#   need_build_dir ARG         sets build (absolute); usage / exit 2 if bad
#   need_root WHAT             skip unless root ("needs root (WHAT)")
#   need_tools CMD...          skip unless every CMD is on PATH
#   need_netns                 skip unless a namespace can be created
#   need_programs              sets hexgated, hexctl, prepare; exit 1 if absent
#   begin_run                  sets tmp, sock, conf; installs the EXIT trap
#                              and fd 3 (the real stderr)
#   nsx NS CMD...              run CMD in namespace NS
#   hx ARGS...                 hexctl on hexgated's control socket
#   host_setup NS I            the host end hI-eth0 of the shared address plan
#   peer NS DEV ADDR/LEN GW    a host end of a veth, IPv4 only, prepared
#                              as a peer of hexgated; GW "" for no route
#   make_topology              run the script's topology(), fatal if it fails
#   start_hexgated NS          hexgated in NS on $conf, fatal unless it answers
#   hg_alive, hg_log_tail      is hexgated running; the end of its log
#   check "what" FUNC [ARGS]   one numbered check: "ok N - what" / "not ok ..."
#   fatal "what" MSG           a failed step that ends the run
#   finish                     "$prog: P passed, F failed", exit 0 or 1
#   api_topology, write_api_config, url
#                              namespace $r with loopback, and a hexgated
#                              config with a null port, a store and the API
#                              on 127.0.0.1:8000 there (the API tests)
#   tcp_listening NS PORT      wait (5 s) for a TCP listener in NS
#   ping_ok NS DST, alive_ok   checks both tests use
#   stop_ok                    SIGTERM: exit 0, nothing broken in the log
#
# The sourcing script sets, before calling these:
#   prog      its name, for messages, the temp dir and the summary line
#   netns     an array of the namespaces it creates (named after $$), which
#             the EXIT trap deletes; set before begin_run
#   topology  a function making them, run by make_topology in a subshell
#             with set -ex so that its log ends at the command that failed
# and appends the pid of anything it starts with "&" to bg_pids, which the
# EXIT trap ends.  hexgated's pid is hg_pid (start_hexgated sets it; a check
# that stops hexgated empties it).  KEEP_LOG=1 keeps the temp dir.
#
# scripts/check reads the summary line and takes exit status 77 as a skip:
# keep both as they are.

# shellcheck shell=bash disable=SC2154
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
hg_pid=
bg_pids=()
netns=()
n_pass=0
n_fail=0
n_test=0

skip() {
	echo "$prog: SKIP: $*" >&2
	exit 77
}

need_build_dir() {
	[ -n "$1" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
	build=$(cd "$1" 2>/dev/null && pwd) ||
	    { echo "$prog: no build dir $1" >&2; exit 2; }
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root ($1)"
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
		    skip "$t not found (scripts/install-deps installs what this needs)"
	done
}

need_netns() {
	ip netns add "hg-probe-$$" 2>/dev/null ||
	    skip "cannot create a network namespace here"
	ip netns del "hg-probe-$$"
}

need_programs() {
	local f
	hexgated=$build/src/daemon/hexgated
	hexctl=$build/src/cli/hexctl
	prepare=$top/scripts/hg-port-prepare
	for f in "$hexgated" "$hexctl" "$prepare"; do
		[ -x "$f" ] || { echo "$prog: $f missing or not executable (build first)" >&2; exit 1; }
	done
}

# Called after the need_* checks, so that a skip leaves nothing behind.
begin_run() {
	tmp=$(mktemp -d "/tmp/hg-${prog//_/-}.XXXXXX")
	sock=$tmp/hexgated.sock
	conf=$tmp/hexgated.json
	trap cleanup EXIT
	# fd 3: the real stderr, also while a check's output goes to its log.
	exec 3>&2
	trap 'echo "# interrupted" >&3; exit 130' INT TERM
}

cleanup() {
	local p ns
	# Ignore, not default: a second ^C (or timeout's signal to the whole
	# process group after the one to us) would kill us half way through.
	trap - EXIT
	trap '' INT TERM
	for p in "${bg_pids[@]}" $hg_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${bg_pids[@]}" $hg_pid; do
		wait "$p" 2>/dev/null
	done
	# Deleting a namespace whose processes are gone frees its veths.
	for ns in "${netns[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${KEEP_LOG:-0}" = 1 ]; then
		# fd 3: an interrupt may land here inside a check, stderr its log.
		echo "# kept $tmp" >&3
	else
		rm -rf "$tmp"
	fi
}

# nsx NS CMD...: run in a namespace.  Not for "&": a backgrounded function
# is a subshell whose $! is not CMD; "ip netns exec" execs CMD, so use it.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

hx() {
	"$hexctl" -s "$sock" "$@"
}

# host_setup NS I: in NS, the host end hI-eth0 of a veth to the router:
# 10.I.0.2/24 and 2001:db8:I::2/64, default routes via the router's .1 and
# ::1.  For topology(), under its set -e.
host_setup() {
	local h=$1 i=$2 dev=h$2-eth0
	ip -n "$h" link set lo up
	# No DAD: the addresses are usable at once, and the link-local
	# one does not stay "tentative" during the first pings.
	nsx "$h" sysctl -q -w "net.ipv6.conf.$dev.accept_dad=0"
	nsx "$h" sysctl -q -w "net.ipv6.conf.$dev.accept_ra=0"
	nsx "$h" "$prepare" --peer "$dev"
	ip -n "$h" addr add "10.$i.0.2/24" dev "$dev"
	ip -n "$h" addr add "2001:db8:$i::2/64" dev "$dev" nodad
	ip -n "$h" link set "$dev" up
	ip -n "$h" route add default via "10.$i.0.1"
	ip -n "$h" -6 route add default via "2001:db8:$i::1"
}

# peer NS DEV ADDR/LEN GW: in NS, an IPv4-only host end of a veth to the
# router, prepared as hg-port-prepare --peer leaves it, with a default
# route via GW unless it is "".  For topology(), under its set -e.
peer() {
	ip -n "$1" link set lo up
	nsx "$1" sysctl -q -w "net.ipv6.conf.all.disable_ipv6=1"
	nsx "$1" "$prepare" --peer "$2"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
	[ -z "$4" ] || ip -n "$1" route add default via "$4"
}

make_topology() {
	# Not "if ! (topology)": set -e is off in a condition, subshells too.
	(topology) >"$tmp/topology.log" 2>&1
	# shellcheck disable=SC2181
	if [ $? != 0 ]; then
		tail -n 5 "$tmp/topology.log" | sed 's/^/#   /'
		fatal "topology: namespaces, veths, addresses, port preparation" \
		    "the last command above failed"
	fi
}

# start_hexgated NS: hexgated on $conf in NS, from $tmp so that the
# config's relative paths (rule files) are the temp dir's; returns once
# its control socket answers.
start_hexgated() {
	(cd "$tmp" && exec ip netns exec "$1" "$hexgated" -c "$conf") 2>"$tmp/hexgated.log" &
	hg_pid=$!
	local i
	for i in $(seq 100); do		# 10 s
		hg_alive || fatal "hexgated starts" "hexgated exited during start-up"
		if [ -S "$sock" ] && hx show interfaces >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fatal "hexgated starts" "control socket $sock not answering after 10 s"
}

hg_alive() {
	[ -n "$hg_pid" ] && kill -0 "$hg_pid" 2>/dev/null
}

hg_log_tail() {
	[ -s "$tmp/hexgated.log" ] || return 0
	echo "#   last lines of hexgated's log:"
	tail -n 20 "$tmp/hexgated.log" | sed 's/^/#     /'
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

# fatal "what" MSG: a step without which nothing further can be checked.
fatal() {
	n_test=$((n_test + 1))
	n_fail=$((n_fail + 1))
	echo "not ok $n_test - $1"
	echo "#   $2"
	finish
}

# After any failure, the end of hexgated's log, then the summary line.
finish() {
	[ "$n_fail" = 0 ] || hg_log_tail
	echo "$prog: $n_pass passed, $n_fail failed"
	[ "$n_fail" = 0 ]
	exit $?
}

# tcp_transfer SRC_NS DST_NS DST_ADDR PORT [TIMEOUT]: $tmp/in.bin from
# SRC_NS to a listener in DST_NS on DST_ADDR (IPv4 or IPv6) and PORT,
# within TIMEOUT seconds (30); the sha256 of what arrived compared.
tcp_transfer() {
	local out=$tmp/tcp-$4 lis=TCP4-LISTEN con=TCP4:$3:$4 t=${5:-30}
	case $3 in *:*) lis=TCP6-LISTEN con="TCP6:[$3]:$4" ;; esac
	rm -f "$out"
	ip netns exec "$2" timeout "$t" socat -u "$lis:$4,reuseaddr" \
	    "OPEN:$out,creat,trunc" &
	bg_pids+=("$!")
	tcp_listening "$2" "$4" || { echo "no listener"; return 1; }
	nsx "$1" timeout "$t" socat -u "OPEN:$tmp/in.bin" "$con" ||
	    { echo "client failed"; return 1; }
	wait "$!" 2>/dev/null
	sleep 0.2
	[ "$(sha256sum <"$tmp/in.bin")" = "$(sha256sum <"$out")" ] ||
	    { echo "sha256 differs"; ls -l "$tmp/in.bin" "$out"; return 1; }
}

# drop_count SOCK IF REASON: how many frames the hexgated on SOCK dropped
# on interface IF for REASON (0 when none).
drop_count() {
	"$hexctl" -s "$1" --json show interfaces | /usr/bin/python3 -c '
import json, sys
i = {x["name"]: x for x in json.load(sys.stdin)["interfaces"]}[sys.argv[1]]
print(i["drops"].get(sys.argv[2], 0))' "$2" "$3"
}

# start_site NAME NS SOCK: hexgated on $tmp/NAME.json in NS, its log
# $tmp/NAME.log; returns once its control socket answers.
site_pids=()
start_site() {
	local pid _
	(cd "$tmp" && exec ip netns exec "$2" "$hexgated" -c "$tmp/$1.json") \
	    2>"$tmp/$1.log" &
	pid=$!
	bg_pids+=("$pid")
	site_pids+=("$pid")
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || fatal "site $1 starts" \
		    "hexgated $1 exited: $(tail -n 3 "$tmp/$1.log")"
		[ -S "$3" ] && "$hexctl" -s "$3" show interfaces >/dev/null 2>&1 &&
		    return 0
		sleep 0.1
	done
	fatal "site $1 starts" "control socket not answering after 10 s"
}

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

# tcp_listening NS PORT: something in NS listens on TCP PORT, within 5 s.
tcp_listening() {
	local i
	for i in $(seq 50); do
		nsx "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

alive_ok() {
	hg_alive || { echo "hexgated is gone"; return 1; }
}

# stop_ok: SIGTERM stops hexgated cleanly: exit status 0 within 10 s,
# and nothing in its log from the C library or a sanitizer.
stop_ok() {
	local rc
	hg_alive || { echo "hexgated is gone already"; return 1; }
	kill -TERM "$hg_pid"
	timeout 10 tail --pid="$hg_pid" -f /dev/null
	wait "$hg_pid"
	rc=$?
	hg_pid=
	echo "exit status $rc"
	! grep -E 'free\(\)|double free|corrupted|AddressSanitizer|runtime error|Aborted' \
	    "$tmp/hexgated.log" || { echo "the log says something broke"; return 1; }
	[ "$rc" = 0 ]
}

# The API tests' hexgated: one namespace $r of its own (so port 8000 is
# free), a null port, a store and the API on its loopback.
api_topology() {
	set -ex
	ip netns add "$r"
	ip -n "$r" link set lo up
}

write_api_config() {
	cat >"$conf" <<JSON
{
  "workers": 1,
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "interfaces": [ { "name": "lan", "port": "null",
                    "addresses": [ "10.1.0.1/24" ] } ],
  "firewall": { "rules": "rules.v4", "sets": "sets.ipset" },
  "store": "config.db",
  "api": { "listen": "127.0.0.1", "port": 8000, "state_dir": "$tmp/state" }
}
JSON
}

url=https://127.0.0.1:8000
