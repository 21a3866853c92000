#!/bin/bash
#
# bench/forward/veth.sh: IPv4 forwarding rate over veth, hexgated against
# the Linux kernel, 64-byte UDP, one generator, same run, same machine.
#
#   [ns a]                     [ns r]                          [ns b]
#   a-eth0 ----------veth---------- r-eth1   router   r-eth2 ----------veth---------- b-eth0
#   trafgen: 64-byte UDP           10.1.0.1/24     10.2.0.1/24                   (no address: the
#   10.1.0.2 -> 10.2.0.2,                                                         frames are counted
#   16 source ports                 router = the kernel (ip_forward=1)            at rx, then the
#                                        or hexgated (afpacket ports,             kernel drops them
#                                        kernel addresses removed)                silently)
#
# Usage: veth.sh BUILD_DIR     (root)
#   RUNS=3       runs per configuration, alternating kernel / hexgated
#   WARMUP_S=2   seconds of traffic before the window opens
#   WINDOW_S=5   seconds counted
#   ONLY=kernel|hexgated   run one configuration (the other prints n/a)
#   HG_CPU=1     CPU hexgated is pinned to (trafgen pins its sender to CPU
#                0 by itself; on a veth the kernel forwards on the sender's
#                CPU, so kernel forwarding uses one core and hexgated gets
#                the other); empty: not pinned.  HG_CPU=0 puts hexgated
#                on the sender's core: one core for everything, as the
#                kernel has
#
# On 2 CPUs the comparison is not core for core: the kernel forwards in
# the sender's softirq (CPU 0), while hexgated reads its AF_PACKET ring on
# CPU 1 (the sender's CPU still carries the veth receive in r, where the
# kernel copies each frame into the ring and drops its own copy).  Each
# run prints the offered rate (a-eth0 tx) and hexgated's own counters so
# a shortfall can be placed.
#
# The rate is what arrives at b: b-eth0's rx_packets over the window.  A
# veth counts a frame at rx when the peer's transmit hands it to b's
# backlog, before b's IP layer, which then drops it (10.2.0.2 is not b's
# address and b does not forward: ip_error() drops silently, no ICMP
# goes back through r to load it).
#
# Last lines (for scripts):
#   veth forward kernel: X kpps
#   veth forward hexgated: Y kpps
#   ratio hexgated/kernel: R

set -u

prog=veth.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-}
runs=${RUNS:-3}
warmup_s=${WARMUP_S:-2}
window_s=${WINDOW_S:-5}
only=${ONLY:-}
hg_cpu=${HG_CPU-1}

die() {
	echo "$prog: $*" >&2
	exit 1
}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
for t in ip trafgen ethtool taskset; do
	command -v "$t" >/dev/null ||
	    die "$t not found (scripts/install-deps installs it; trafgen is in netsniff-ng)"
done
hexgated=$build/src/daemon/hexgated
hexctl=$build/src/cli/hexctl
prepare=$top/scripts/hg-port-prepare
if [ "$only" != kernel ]; then
	[ -x "$hexgated" ] || die "$hexgated missing (build first, or ONLY=kernel)"
	[ -x "$hexctl" ] || die "$hexctl missing (build first, or ONLY=kernel)"
fi
[ "$(nproc)" -ge 2 ] || hg_cpu=

a=hg-a-$$
r=hg-r-$$
b=hg-b-$$
tmp=$(mktemp -d /tmp/hg-bench-veth.XXXXXX)
sock=$tmp/hexgated.sock
conf=$tmp/hexgated.json
tg_pid=
hg_pid=

# stop_trafgen: trafgen forks one sender per --cpus; a TERM to the parent
# alone does not stop the sender, so both get one (by pid).
stop_trafgen() {
	[ -n "$tg_pid" ] || return 0
	kill -TERM $(pgrep -P "$tg_pid") "$tg_pid" 2>/dev/null
	wait "$tg_pid" 2>/dev/null
	tg_pid=
}

stop_hexgated() {
	local i
	[ -n "$hg_pid" ] || return 0
	kill -TERM "$hg_pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$hg_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$hg_pid" 2>/dev/null; then
		echo "$prog: hexgated ignored SIGTERM for 5 s; killing it" >&2
		kill -KILL "$hg_pid" 2>/dev/null
	fi
	wait "$hg_pid" 2>/dev/null
	hg_pid=
}

cleanup() {
	trap - EXIT INT TERM
	stop_trafgen
	stop_hexgated
	ip netns del "$a" 2>/dev/null
	ip netns del "$r" 2>/dev/null
	ip netns del "$b" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# step "what" CMD...: a set-up step; on failure say which, with its output.
step() {
	local what=$1 out
	shift
	out=$("$@" 2>&1) || die "step failed: $what: $* -> $out"
}

mac_of() {
	nsx "$1" cat "/sys/class/net/$2/address"
}

topology() {
	step "create namespaces" ip netns add "$a"
	step "create namespaces" ip netns add "$r"
	step "create namespaces" ip netns add "$b"
	step "veth a-r" ip -n "$r" link add r-eth1 type veth peer name a-eth0 netns "$a"
	step "veth r-b" ip -n "$r" link add r-eth2 type veth peer name b-eth0 netns "$b"
	# One preparation for both configurations, so they see the same
	# interfaces: offloads off, no IPv6.  The kernel configuration then
	# only adds addresses and turns forwarding on.
	step "prepare r's ports" nsx "$r" "$prepare" r-eth1 r-eth2
	step "link a up" ip -n "$a" link set a-eth0 up
	step "link b up" ip -n "$b" link set b-eth0 up
	step "b: no IPv6" nsx "$b" sysctl -q -w net.ipv6.conf.b-eth0.disable_ipv6=1
	step "a: no IPv6" nsx "$a" sysctl -q -w net.ipv6.conf.a-eth0.disable_ipv6=1
	r1_mac=$(mac_of "$r" r-eth1)
	a_mac=$(mac_of "$a" a-eth0)
	b_mac=$(mac_of "$b" b-eth0)
	# 16 flows (source ports), so a hash spreads them if workers > 1.
	cat >"$tmp/udp64.cfg" <<EOF
{ eth(da=$r1_mac, sa=$a_mac, type=0x0800),
  ipv4(saddr=10.1.0.2, daddr=10.2.0.2, ttl=64, proto=17),
  udp(sport=dinc(4000, 4015), dport=9), fill(0x41, 22) }
EOF
}

router_kernel() {
	step "kernel: address r-eth1" ip -n "$r" addr replace 10.1.0.1/24 dev r-eth1
	step "kernel: address r-eth2" ip -n "$r" addr replace 10.2.0.1/24 dev r-eth2
	# ip_forward=1 also sets every interface's forwarding back to 1.
	step "kernel: ip_forward=1" nsx "$r" sysctl -q -w net.ipv4.ip_forward=1
	step "kernel: static neighbour b" \
	    ip -n "$r" neigh replace 10.2.0.2 lladdr "$b_mac" dev r-eth2 nud permanent
}

router_kernel_off() {
	ip -n "$r" neigh flush dev r-eth2 2>/dev/null
	step "kernel: ip_forward=0" nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	step "kernel: re-prepare ports" nsx "$r" "$prepare" r-eth1 r-eth2
}

router_hexgated() {
	local i pin=()
	cat >"$conf" <<EOF
{
  "workers": 1,
  "log": { "level": "warn" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "r-eth1", "port": "afpacket:r-eth1", "addresses": [ "10.1.0.1/24" ] },
    { "name": "r-eth2", "port": "afpacket:r-eth2", "addresses": [ "10.2.0.1/24" ] }
  ],
  "neighbors": [
    { "interface": "r-eth2", "ip": "10.2.0.2", "mac": "$b_mac" }
  ],
  "firewall": { "known_networks": [ "10.1.0.0/24" ] }
}
EOF
	[ -n "$hg_cpu" ] && pin=(taskset -c "$hg_cpu")
	ip netns exec "$r" "${pin[@]}" "$hexgated" -c "$conf" 2>>"$tmp/hexgated.log" &
	hg_pid=$!
	for i in $(seq 100); do			# 10 s
		if ! kill -0 "$hg_pid" 2>/dev/null; then
			tail -n 20 "$tmp/hexgated.log" >&2
			hg_pid=
			die "step failed: start hexgated: it exited (log above)"
		fi
		[ -S "$sock" ] && "$hexctl" -s "$sock" show interfaces >/dev/null 2>&1 &&
		    return 0
		sleep 0.1
	done
	tail -n 20 "$tmp/hexgated.log" >&2
	die "step failed: start hexgated: control socket $sock not answering after 10 s"
}

# hg_counters: sets hg_summary to hexgated's own view (frames in on
# r-eth1, out on r-eth2, drops), so a shortfall against the offered load
# can be placed.
hg_counters() {
	hg_summary=$("$hexctl" -s "$sock" --json show interfaces 2>/dev/null |
	    /usr/bin/python3 -c '
import json, sys
d = {i["name"]: i for i in json.load(sys.stdin)["interfaces"]}
print("hexgated: r-eth1 rx %d, r-eth2 tx %d, drops %d" % (d["r-eth1"]["rx_packets"],
      d["r-eth2"]["tx_packets"], sum(i["drops_total"] for i in d.values())))
' 2>/dev/null) || hg_summary="hexgated counters unavailable"
}

rx_b() {
	nsx "$b" cat /sys/class/net/b-eth0/statistics/rx_packets
}

# What trafgen handed to its veth: the offered load.
tx_a() {
	nsx "$a" cat /sys/class/net/a-eth0/statistics/tx_packets
}

tx_b() {
	nsx "$b" cat /sys/class/net/b-eth0/statistics/tx_packets
}

# measure: sets rate to the kpps received at b.  Runs in this shell (not
# in $(...)) so that the EXIT trap knows trafgen's pid if a step fails.
measure() {
	local rx0 rx1 t0 t1
	ip netns exec "$a" trafgen --dev a-eth0 --conf "$tmp/udp64.cfg" \
	    --cpus 1 -C --no-sock-mem -Q >"$tmp/trafgen.log" 2>&1 &
	tg_pid=$!
	sleep "$warmup_s"
	kill -0 "$tg_pid" 2>/dev/null || {
		cat "$tmp/trafgen.log" >&2
		tg_pid=
		die "step failed: trafgen exited during warm-up (log above)"
	}
	rx0=$(rx_b)
	back0=$(tx_b)
	off0=$(tx_a)
	t0=$(date +%s%N)
	sleep "$window_s"
	rx1=$(rx_b)
	back1=$(tx_b)
	off1=$(tx_a)
	t1=$(date +%s%N)
	stop_trafgen
	[ "$rx1" -gt "$rx0" ] ||
	    die "step failed: measure: nothing arrived at b-eth0 in ${window_s} s"
	# b should be a silent sink; replies (ICMP errors) would load r.
	[ $((back1 - back0)) -le 100 ] ||
	    echo "# warning: b sent $((back1 - back0)) frames back during the window" >&2
	rate=$(echo "$rx0 $rx1 $t0 $t1" |
	    awk '{ printf "%.1f\n", ($2 - $1) / (($4 - $3) / 1e9) / 1000 }')
	offered=$(echo "$off0 $off1 $t0 $t1" |
	    awk '{ printf "%.1f\n", ($2 - $1) / (($4 - $3) / 1e9) / 1000 }')
}

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

topology
echo "# veth forward bench: 64-byte UDP a -> r -> b, $runs runs each, warm-up ${warmup_s} s, window ${window_s} s"
echo "# $(nproc) CPUs; trafgen sender on CPU 0 (its own pinning); hexgated on CPU ${hg_cpu:-any}"
: >"$tmp/kernel"
limited=0
: >"$tmp/hexgated"
for i in $(seq "$runs"); do
	if [ "$only" != hexgated ]; then
		router_kernel
		measure
		echo "run $i kernel:   $rate kpps (offered $offered kpps)"
		echo "$rate" >>"$tmp/kernel"
		router_kernel_off
	fi
	if [ "$only" != kernel ]; then
		router_hexgated
		measure
		hg_counters
		stop_hexgated
		echo "run $i hexgated: $rate kpps (offered $offered kpps; $hg_summary)"
		if echo "$rate $offered" | awk '{ exit !($1 >= 0.99 * $2) }'; then
			limited=$((limited + 1))
		fi
		echo "$rate" >>"$tmp/hexgated"
	fi
done
km=$(median <"$tmp/kernel")
hm=$(median <"$tmp/hexgated")
if [ "$limited" -gt 0 ]; then
	echo "# in $limited of $runs hexgated runs, b received >= 99% of what trafgen offered:"
	echo "# there the generator's CPU, not hexgated, set the rate (a lower bound)"
fi
echo "veth forward kernel: $km kpps"
echo "veth forward hexgated: $hm kpps"
echo "ratio hexgated/kernel: $(echo "$hm $km" | awk '{ if ($1 == "n/a" || $2 == "n/a" || $2 == 0) print "n/a"; else printf "%.2f\n", $1 / $2 }')"
