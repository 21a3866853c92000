#!/bin/bash
#
# bench/forward/latency.sh: ping round-trip time and one TCP stream through
# hexgated, beside the Linux kernel forwarding on the same veths, in the
# same run.
#
#   [ns a]                          [ns r]                         [ns b]
#   a-eth0 --------veth-------- r-eth1  router  r-eth2 --------veth-------- b-eth0
#   10.1.0.2/24, via 10.1.0.1        10.1.0.1/24   10.2.0.1/24        10.2.0.2/24, via 10.2.0.1
#   ping, iperf3 -c                                                   iperf3 -s
#
# a and b are prepared as `hg-port-prepare --peer` leaves a test host (no
# TX checksum offload, no TSO/GSO: they send wire-sized, checksummed
# frames).  r's two veths are prepared once with `hg-port-prepare` and then
# serve, in this order in every run:
#   kernel offloads off   ip_forward=1, the ports as hg-port-prepare leaves
#                         them (no GRO, no checksum or segmentation offload)
#   kernel offloads on    the same with every offload veth has turned back
#                         on (GRO, TSO, GSO, checksums)
#   hexgated              BUILD's hexgated, 1 worker, afpacket ports
#   hexgated old          OLD_BUILD's hexgated, if OLD_BUILD is set: the
#                         code before a change, alternating with the new
#                         one in the same run
#
# Usage: latency.sh BUILD_DIR     (root)
#   RUNS=3          runs; each measures every configuration once
#   PINGS=200       echo requests a configuration, at PING_INTERVAL_S
#   PING_INTERVAL_S=0.01
#   TCP_S=5         seconds of iperf3 (one stream, a -> b); 0: no TCP
#   OLD_BUILD=DIR   also the hexgated of DIR (labelled "hexgated old")
#   HG_CPU=         CPU to pin hexgated to; empty (the default): not
#                   pinned, as the kernel's forwarding is not.  Pinned on
#                   a shared 2-CPU machine, a ping's p99 becomes whatever
#                   else runs on that CPU (4 ms seen, against 0.2 unpinned)
#
# A ping's RTT is read from each reply line (time=X ms); the median and
# 99th percentile (nearest rank) are over the PINGS replies after 5
# warm-up echoes (the first resolves ARP).  TCP is iperf3's receiver-side
# rate.  Last lines (medians of the runs; R: ratios hexgated/kernel):
#   latency kernel offloads off: rtt median X ms p99 Y ms, tcp Z Gbit/s
#   latency kernel offloads on: ...
#   latency hexgated: ...           (and hexgated old)
#   ratio hexgated/kernel: rtt median R (target <= 2), p99 R (target <= 10),
#     tcp R of offloads off, R of offloads on       (and hexgated old)
# where R is against the kernel with offloads off unless it says "on".
#
# On 2 shared CPUs every figure moves with what else runs: compare ratios
# from one run, not figures across runs.

set -u

prog=latency.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-}
old_build=${OLD_BUILD:-}
runs=${RUNS:-3}
pings=${PINGS:-200}
ping_iv=${PING_INTERVAL_S:-0.01}
tcp_s=${TCP_S:-5}
hg_cpu=${HG_CPU:-}

die() {
	echo "$prog: $*" >&2
	exit 1
}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
if [ -n "$old_build" ]; then
	old_build=$(cd "$old_build" 2>/dev/null && pwd) ||
	    die "OLD_BUILD=$OLD_BUILD: no such build dir"
	[ -x "$old_build/src/daemon/hexgated" ] ||
	    die "$old_build/src/daemon/hexgated missing (build it first)"
fi
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
for t in ip ping ethtool taskset /usr/bin/python3; do
	command -v "$t" >/dev/null || die "$t not found (scripts/install-deps)"
done
if [ "$tcp_s" != 0 ]; then
	command -v iperf3 >/dev/null ||
	    die "iperf3 not found (scripts/install-deps --bench; or TCP_S=0)"
fi
prepare=$top/scripts/hg-port-prepare
[ -x "$build/src/daemon/hexgated" ] || die "$build/src/daemon/hexgated missing (build first)"

a=hg-la-$$
r=hg-lr-$$
b=hg-lb-$$
tmp=$(mktemp -d /tmp/hg-bench-lat.XXXXXX)
sock=$tmp/hexgated.sock
conf=$tmp/hexgated.json
hg_pid=
srv_pid=

stop_hexgated() {
	local i
	[ -n "$hg_pid" ] || return 0
	kill -TERM "$hg_pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$hg_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$hg_pid" 2>/dev/null && kill -KILL "$hg_pid" 2>/dev/null
	wait "$hg_pid" 2>/dev/null
	hg_pid=
}

cleanup() {
	trap - EXIT INT TERM
	stop_hexgated
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
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

step() {
	local what=$1 out
	shift
	out=$("$@" 2>&1) || die "step failed: $what: $* -> $out"
}

host() {
	local ns=$1 i=$2 dev=$3
	step "$ns: lo up" ip -n "$ns" link set lo up
	step "$ns: no IPv6" nsx "$ns" sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1"
	step "$ns: prepare --peer" nsx "$ns" "$prepare" --peer "$dev"
	step "$ns: address" ip -n "$ns" addr add "10.$i.0.2/24" dev "$dev"
	step "$ns: up" ip -n "$ns" link set "$dev" up
	step "$ns: route" ip -n "$ns" route add default via "10.$i.0.1"
}

topology() {
	step "namespaces" ip netns add "$a"
	step "namespaces" ip netns add "$b"
	step "namespaces" ip netns add "$r"
	step "veth a-r" ip -n "$r" link add r-eth1 type veth peer name a-eth0 netns "$a"
	step "veth r-b" ip -n "$r" link add r-eth2 type veth peer name b-eth0 netns "$b"
	step "r: lo up" ip -n "$r" link set lo up
	step "prepare r's ports" nsx "$r" "$prepare" r-eth1 r-eth2
	host "$a" 1 a-eth0
	host "$b" 2 b-eth0
}

# kernel_on OFFLOADS: the kernel routes; OFFLOADS on or off on r's ports.
kernel_on() {
	local ifn
	for ifn in r-eth1 r-eth2; do
		# hg-port-prepare told the kernel to stay silent on the ports.
		step "kernel: arp_ignore" nsx "$r" sysctl -q -w "net.ipv4.conf.$ifn.arp_ignore=0"
		if [ "$1" = on ]; then
			# One at a time: veth lacks some (lro), ethtool then
			# refuses the whole line.
			for f in rx tx sg tso gso gro; do
				nsx "$r" ethtool -K "$ifn" "$f" on >/dev/null 2>&1
			done
		fi
	done
	step "kernel: address r-eth1" ip -n "$r" addr replace 10.1.0.1/24 dev r-eth1
	step "kernel: address r-eth2" ip -n "$r" addr replace 10.2.0.1/24 dev r-eth2
	step "kernel: ip_forward=1" nsx "$r" sysctl -q -w net.ipv4.ip_forward=1
}

kernel_off() {
	step "kernel: ip_forward=0" nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	step "kernel: re-prepare ports" nsx "$r" "$prepare" r-eth1 r-eth2
	# The next router answers ARP with the same MACs; forget nothing.
}

hexgated_on() {
	local bin=$1/src/daemon/hexgated ctl=$1/src/cli/hexctl i pin=()
	rm -f "$sock"
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
  "firewall": { "known_networks": [ "10.1.0.0/24", "10.2.0.0/24" ] }
}
EOF
	[ -n "$hg_cpu" ] && pin=(taskset -c "$hg_cpu")
	(cd "$tmp" && exec ip netns exec "$r" "${pin[@]}" "$bin" -c "$conf") \
	    2>>"$tmp/hexgated.log" &
	hg_pid=$!
	for i in $(seq 100); do
		kill -0 "$hg_pid" 2>/dev/null ||
		    { tail -n 20 "$tmp/hexgated.log" >&2; hg_pid=; die "hexgated exited (log above)"; }
		[ -S "$sock" ] && "$ctl" -s "$sock" show interfaces >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "hexgated: control socket not answering after 10 s"
}

# hg_counters BUILD: hexgated's own view of the run (frames in, frames the
# ring had no room for, drops), so a slow TCP stream can be placed.
hg_counters() {
	"$1/src/cli/hexctl" -s "$sock" --json show interfaces 2>/dev/null |
	    /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["interfaces"]
print("#   hexgated: " + "; ".join("%s rx %d missed %d tx %d drops %d" % (i["name"],
      i["rx_packets"], i.get("rx_missed", 0), i["tx_packets"], i["drops_total"])
      for i in d))' 2>/dev/null || echo "#   hexgated counters unavailable"
}

# measure LABEL KEY: ping, then iperf3; appends to $tmp/KEY.{med,p99,tcp}.
measure() {
	local label=$1 key=$2 stats tcp=n/a
	# Warm-up: ARP on both sides, caches.
	nsx "$a" ping -n -q -c 5 -i 0.01 -W 1 10.2.0.2 >/dev/null 2>&1 ||
	    die "$label: no ping reply from 10.2.0.2 through r"
	nsx "$a" ping -n -c "$pings" -i "$ping_iv" -W 1 10.2.0.2 >"$tmp/ping.out" 2>&1
	stats=$(/usr/bin/python3 - "$tmp/ping.out" "$pings" <<'EOF'
import re, sys
v = sorted(float(m.group(1)) for m in
           re.finditer(r"time=([0-9.]+) ms", open(sys.argv[1]).read()))
if not v:
    print("n/a n/a 0"); sys.exit()
med = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
p99 = v[min(len(v) - 1, max(0, -(-99 * len(v) // 100) - 1))]
print("%.4f %.4f %d" % (med, p99, len(v)))
EOF
)
	set -- $stats
	[ "$3" -ge $((pings * 9 / 10)) ] ||
	    echo "# warning: $label: only $3 of $pings echoes answered" >&2
	if [ "$tcp_s" != 0 ]; then
		tcp=$(nsx "$a" iperf3 -c 10.2.0.2 -t "$tcp_s" -J 2>/dev/null |
		    /usr/bin/python3 -c '
import json, sys
try:
    print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("n/a")')
	fi
	echo "run $i $label: rtt median $1 ms p99 $2 ms ($3 replies), tcp $tcp Gbit/s"
	echo "$1" >>"$tmp/$key.med"
	echo "$2" >>"$tmp/$key.p99"
	echo "$tcp" >>"$tmp/$key.tcp"
}

median() {
	grep -v n/a | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	echo "$1 $2" | awk '{ if ($1 == "n/a" || $2 == "n/a" || $2 == 0) print "n/a"; else printf "%.2f\n", $1 / $2 }'
}

topology
if [ "$tcp_s" != 0 ]; then
	ip netns exec "$b" iperf3 -s -B 10.2.0.2 >/dev/null 2>&1 &
	srv_pid=$!
fi
keys="koff kon hg"
[ -n "$old_build" ] && keys="$keys hgold"
echo "# latency bench: ping a -> r -> b, $pings echoes at ${ping_iv} s; one TCP stream ${tcp_s} s; $runs runs"
echo "# $(nproc) CPUs; hexgated 1 worker on CPU ${hg_cpu:-any}; hosts as hg-port-prepare --peer leaves them"
for i in $(seq "$runs"); do
	kernel_on off
	measure "kernel offloads off" koff
	kernel_off
	kernel_on on
	measure "kernel offloads on" kon
	kernel_off
	hexgated_on "$build"
	measure "hexgated" hg
	hg_counters "$build"
	stop_hexgated
	if [ -n "$old_build" ]; then
		hexgated_on "$old_build"
		measure "hexgated old" hgold
		hg_counters "$old_build"
		stop_hexgated
	fi
done

# med KEY WHAT: the median of the runs' WHAT (med, p99, tcp) of KEY.
med() {
	median <"$tmp/$1.$2"
}

label_of() {
	case $1 in
	koff) echo "kernel offloads off" ;;
	kon) echo "kernel offloads on" ;;
	hg) echo "hexgated" ;;
	hgold) echo "hexgated old" ;;
	esac
}

for k in $keys; do
	echo "latency $(label_of "$k"): rtt median $(med "$k" med) ms" \
	    "p99 $(med "$k" p99) ms, tcp $(med "$k" tcp) Gbit/s"
done
for k in $keys; do
	case $k in hg|hgold) ;; *) continue ;; esac
	echo "ratio $(label_of "$k")/kernel:" \
	    "rtt median $(ratio "$(med "$k" med)" "$(med koff med)") (target <= 2)," \
	    "p99 $(ratio "$(med "$k" p99)" "$(med koff p99)") (target <= 10)," \
	    "tcp $(ratio "$(med "$k" tcp)" "$(med koff tcp)") of offloads off," \
	    "$(ratio "$(med "$k" tcp)" "$(med kon tcp)") of offloads on"
done
