#!/bin/bash
#
# bench/forward/veth.sh: IPv4 forwarding rate over veth, hexgated against
# the Linux kernel, 64-byte UDP, one generator, same run, same machine;
# each with no rules and with RULES (10,000) forward rules that the
# traffic does not match.
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
#   RUNS=3       runs per configuration; each run measures every
#                configuration once, in the order below
#   WARMUP_S=2   seconds of traffic before the window opens
#   WINDOW_S=5   seconds counted
#   RULES=10000  non-matching rules of the rule configurations (0: leave
#                them out, only kernel and hexgated with no rules)
#   SEED=1       gen-rules' seed
#   ONLY=kernel|hexgated   run one router's configurations (the others
#                print n/a)
#   HG_CPU=1     CPU hexgated is pinned to (trafgen pins its sender to CPU
#                0 by itself; on a veth the kernel forwards on the sender's
#                CPU, so kernel forwarding uses one core and hexgated gets
#                the other); empty: not pinned.  HG_CPU=0 puts hexgated
#                on the sender's core: one core for everything, as the
#                kernel has
#
# Configurations, each run in this order:
#   kernel                 ip_forward=1, no netfilter table at all in r
#   hexgated               a rule file with only the accept the traffic
#                          needs (-s 10.1.0.0/24 -d 10.2.0.0/24 -j ACCEPT)
#   kernel iptables-nft    RULES drop rules and that accept in FORWARD
#                          (policy DROP), loaded with iptables-nft-restore
#   kernel nft             the same rules as native nft (nft -f, table ip
#                          hgbench, chain forward)
#   hexgated RULES rules   the same rules in FORWARD_CUST, then the accept
#   kernel iptables-legacy the same rules, iptables-legacy-restore
# gen-rules writes the rules (fixed seed: the same rules every run, in
# the three syntaxes the four loaders read).  Each run checks, from the
# rules' own counters, that no drop rule matched and that the accept saw
# the traffic: every packet got past all the drop rules.
#
# Rules do not leak between configurations: before each one r must have
# no iptables-legacy table and an empty nft ruleset, or the script stops.
# `nft flush ruleset` removes what iptables-nft and nft loaded.  A legacy
# table cannot be removed from a namespace once made (flushed, its hook
# still runs for every packet: 2-5% off the kernel's no-rules rate when
# tried), so after the legacy configuration r and
# its two veths are deleted and made again (a and b stay; the new veths
# get new MACs, and trafgen's frames follow).
#
# On 2 CPUs the comparison is not core for core: the kernel forwards in
# the sender's softirq (CPU 0), while hexgated reads its AF_PACKET ring on
# CPU 1 (the sender's CPU still carries the veth receive in r, where the
# kernel copies each frame into the ring and drops its own copy).  Each
# run prints the offered rate (a-eth0 tx) and hexgated's own counters so
# a shortfall can be placed.  hexgated tracks connections; the kernel's
# rules here load no conntrack.
#
# The rate is what arrives at b: b-eth0's rx_packets over the window.  A
# veth counts a frame at rx when the peer's transmit hands it to b's
# backlog, before b's IP layer, which then drops it (10.2.0.2 is not b's
# address and b does not forward: ip_error() drops silently, no ICMP
# goes back through r to load it).
#
# Last lines (for scripts), medians; X.. are the figures, R the ratios:
#   veth forward kernel: X kpps
#   veth forward hexgated: Y kpps
#   ratio hexgated/kernel: R
# and with RULES > 0 (10k for 10,000):
#   veth forward kernel 10k rules iptables-legacy: X kpps
#   veth forward kernel 10k rules iptables-nft: X kpps
#   veth forward kernel 10k rules nft: X kpps
#   veth forward hexgated 10k rules: X kpps
#   ratio hexgated 10k rules/0 rules: R (target >= 0.90)
#   kernel loss with 10k rules, iptables-legacy: P% (ratio R)    (and -nft, nft)
#   hexgated loss with 10k rules: P% (ratio R)
#   NAME: X kpps (anchor ANCHOR: X kpps, ratio R)
# where the last form pairs hexgated with the kernel, 0 rules with no
# rules and 10k with each loader, and R > 1 means hexgated ahead.

set -u

prog=veth.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-}
runs=${RUNS:-3}
warmup_s=${WARMUP_S:-2}
window_s=${WINDOW_S:-5}
nrules=${RULES:-10000}
seed=${SEED:-1}
only=${ONLY:-}
hg_cpu=${HG_CPU-1}

die() {
	echo "$prog: $*" >&2
	exit 1
}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
case $nrules in
''|*[!0-9]*) die "RULES=$nrules: want a number of rules" ;;
esac
case $only in
''|kernel|hexgated) ;;
*) die "ONLY=$only: want kernel or hexgated" ;;
esac
for t in ip trafgen ethtool taskset; do
	command -v "$t" >/dev/null ||
	    die "$t not found (scripts/install-deps installs it; trafgen is in netsniff-ng)"
done
if [ "$nrules" -gt 0 ] && [ "$only" != hexgated ]; then
	for t in iptables-legacy-restore iptables-legacy-save \
	    iptables-nft-restore iptables-nft-save; do
		command -v "$t" >/dev/null ||
		    die "$t not found (Debian package iptables; or RULES=0)"
	done
	command -v nft >/dev/null ||
	    die "nft not found (Debian package nftables; or RULES=0)"
fi
hexgated=$build/src/daemon/hexgated
hexctl=$build/src/cli/hexctl
prepare=$top/scripts/hg-port-prepare
if [ "$only" != kernel ]; then
	[ -x "$hexgated" ] || die "$hexgated missing (build first, or ONLY=kernel)"
	[ -x "$hexctl" ] || die "$hexctl missing (build first, or ONLY=kernel)"
fi
[ "$(nproc)" -ge 2 ] || hg_cpu=

# 10000 -> 10k, for the labels.
if [ "$nrules" -ge 1000 ] && [ $((nrules % 1000)) = 0 ]; then
	nlabel=$((nrules / 1000))k
else
	nlabel=$nrules
fi

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
	step "create namespaces" ip netns add "$b"
	router_ns
}

# router_ns: r, its veths to a and b, prepared.  Run again (after
# router_ns_del) to start from a namespace no rule has touched.
router_ns() {
	step "create namespace r" ip netns add "$r"
	step "veth a-r" ip -n "$r" link add r-eth1 type veth peer name a-eth0 netns "$a"
	step "veth r-b" ip -n "$r" link add r-eth2 type veth peer name b-eth0 netns "$b"
	# One preparation for both routers, so they see the same
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

# router_ns_del: the veths first (deleting one end takes its peer along,
# synchronously), so a-eth0 and b-eth0 are gone before router_ns makes
# them again; the namespace itself is freed in the background.
router_ns_del() {
	step "delete veth a-r" ip -n "$r" link del r-eth1
	step "delete veth r-b" ip -n "$r" link del r-eth2
	step "delete namespace r" ip netns del "$r"
}

# router_clean: r has no netfilter table, legacy or nft, that would judge
# this configuration's packets.
router_clean() {
	local legacy nftr
	legacy=$(nsx "$r" cat /proc/net/ip_tables_names 2>&1)
	[ -z "$legacy" ] ||
	    die "r still has iptables-legacy tables ($legacy) before $1: they would skew it"
	command -v nft >/dev/null || return 0
	nftr=$(nsx "$r" nft list ruleset 2>&1)
	[ -z "$nftr" ] ||
	    die "r still has an nft ruleset before $1: they would skew it: $(echo "$nftr" | head -n 3)"
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

ms_since() {
	echo "$1 $(date +%s%N)" | awk '{ printf "%.0f\n", ($2 - $1) / 1e6 }'
}

# kernel_load LOADER: the rules into r's kernel; sets load_ms.
kernel_load() {
	local t0
	t0=$(date +%s%N)
	case $1 in
	iptables-legacy)
		step "kernel: iptables-legacy-restore $nrules rules" \
		    nsx "$r" iptables-legacy-restore "$tmp/kernel.v4" ;;
	iptables-nft)
		step "kernel: iptables-nft-restore $nrules rules" \
		    nsx "$r" iptables-nft-restore "$tmp/kernel.v4" ;;
	nft)
		step "kernel: nft -f $nrules rules" nsx "$r" nft -f "$tmp/kernel.nft" ;;
	esac
	load_ms=$(ms_since "$t0")
}

# kernel_unload LOADER: flush what kernel_load put in, and check.
kernel_unload() {
	case $1 in
	iptables-legacy)
		step "kernel: iptables-legacy flush" nsx "$r" iptables-legacy -F
		step "kernel: iptables-legacy delete chains" nsx "$r" iptables-legacy -X
		step "kernel: iptables-legacy policy" nsx "$r" iptables-legacy -P FORWARD ACCEPT
		# The emptied table's hook stays: a new r.
		router_ns_del
		router_ns ;;
	iptables-nft|nft)
		step "kernel: nft flush ruleset" nsx "$r" nft flush ruleset ;;
	esac
}

# rule_counts: reads iptables-save -c or nft list output on stdin; prints
# "DROPS DROPPED ACCEPTED": how many drop rules, the packets they matched,
# the packets the accept matched.
rule_counts() {
	awk '
	/^\[[0-9]+:[0-9]+\] -A / {	# iptables-save -c
		split(substr($1, 2), c, ":")
		if ($NF == "DROP") { nd++; pd += c[1] }
		else if ($NF == "ACCEPT") pa += c[1]
		next
	}
	/ counter packets [0-9]+ bytes [0-9]+ (drop|accept)/ {	# nft list
		for (i = 1; i < NF; i++)
			if ($i == "packets") p = $(i + 1)
		if ($NF == "drop") { nd++; pd += p } else pa += p
	}
	END { printf "%d %d %d\n", nd, pd, pa }'
}

# rules_note WHO [N]: sets rules_note from WHO's rule counters after a
# run; WHO should hold N drop rules (default RULES).
rules_note() {
	local out nd pd pa want=${2:-$nrules}
	case $1 in
	iptables-legacy) out=$(nsx "$r" iptables-legacy-save -c -t filter 2>&1) ;;
	iptables-nft) out=$(nsx "$r" iptables-nft-save -c -t filter 2>&1) ;;
	nft) out=$(nsx "$r" nft list ruleset 2>&1) ;;
	hexgated) out=$("$hexctl" -s "$sock" firewall save -4 2>&1) ;;
	esac
	read -r nd pd pa < <(echo "$out" | rule_counts)
	rules_note="$nd drop rules matched $pd, the accept $pa"
	[ "$nd" = "$want" ] ||
	    echo "# warning: $1 holds $nd drop rules, want $want" >&2
	[ "$pd" = 0 ] ||
	    echo "# warning: $1: drop rules matched $pd packets; the traffic should match none" >&2
	[ "$pa" -gt 0 ] ||
	    echo "# warning: $1: the accept rule counted no packet" >&2
}

# router_hexgated RULEFILE: start hexgated on r's ports with these rules.
router_hexgated() {
	local i pin=()
	# A copy: hexgated writes its rule file back on changes.
	cp "$1" "$tmp/hexgated.v4"
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
  "firewall": { "rules": "$tmp/hexgated.v4" }
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
print("hexgated: r-eth1 rx %d, missed %d, r-eth2 tx %d, drops %d" % (d["r-eth1"]["rx_packets"],
      d["r-eth1"].get("rx_missed", 0), d["r-eth2"]["tx_packets"],
      sum(i["drops_total"] for i in d.values())))
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

# ratio A B: A / B, or n/a.
ratio() {
	echo "$1 $2" | awk '{ if ($1 == "n/a" || $2 == "n/a" || $2 == 0) print "n/a"; else printf "%.2f\n", $1 / $2 }'
}

# loss WITH WITHOUT: "P% (ratio R)", what the rules cost.
loss() {
	echo "$1 $2" | awk '{ if ($1 == "n/a" || $2 == "n/a" || $2 == 0) print "n/a"
	    else printf "%.1f%% (ratio %.3f)\n", 100 * (1 - $1 / $2), $1 / $2 }'
}

# run_kernel LOADER KEY LABEL: one kernel configuration, rules loaded with
# LOADER (none: no rules); its rate is appended to $tmp/KEY.
run_kernel() {
	local loader=$1 key=$2 label=$3 note=
	router_clean "kernel $label"
	router_kernel
	if [ "$loader" != none ]; then
		kernel_load "$loader"
	fi
	measure
	if [ "$loader" != none ]; then
		rules_note "$loader"
		note="; $rules_note; loaded in $load_ms ms"
		kernel_unload "$loader"
	fi
	echo "run $i kernel $label: $rate kpps (offered $offered kpps$note)"
	echo "$rate" >>"$tmp/$key"
	router_kernel_off
}

# run_hexgated RULEFILE N KEY LABEL: one hexgated configuration, N drop
# rules in RULEFILE.
run_hexgated() {
	local file=$1 n=$2 key=$3 label=$4
	router_clean "hexgated $label"
	router_hexgated "$file"
	measure
	hg_counters
	rules_note hexgated "$n"
	stop_hexgated
	echo "run $i hexgated $label: $rate kpps (offered $offered kpps; $hg_summary; $rules_note)"
	if echo "$rate $offered" | awk '{ exit !($1 >= 0.99 * $2) }'; then
		echo "$label" >>"$tmp/limited"
	fi
	echo "$rate" >>"$tmp/$key"
}

gen=$here/gen-rules
step "gen-rules: hexgated, 0 rules" sh -c "'$gen' hexgate 0 >'$tmp/hg0.v4'"
if [ "$nrules" -gt 0 ]; then
	step "gen-rules: hexgated, $nrules rules" \
	    sh -c "'$gen' hexgate '$nrules' '$seed' >'$tmp/hgn.v4'"
	step "gen-rules: iptables, $nrules rules" \
	    sh -c "'$gen' iptables '$nrules' '$seed' >'$tmp/kernel.v4'"
	step "gen-rules: nft, $nrules rules" \
	    sh -c "'$gen' nft '$nrules' '$seed' >'$tmp/kernel.nft'"
fi

topology
echo "# veth forward bench: 64-byte UDP a -> r -> b, $runs runs each, warm-up ${warmup_s} s, window ${window_s} s"
echo "# $(nproc) CPUs; trafgen sender on CPU 0 (its own pinning); hexgated on CPU ${hg_cpu:-any}"
[ "$nrules" -gt 0 ] &&
    echo "# rules: $nrules non-matching forward rules (bench/forward/gen-rules, seed $seed) and an accept"
for k in k0 klegacy kiptnft knft hg0 hgn limited; do
	: >"$tmp/$k"
done
for i in $(seq "$runs"); do
	[ "$only" != hexgated ] && run_kernel none k0 "no rules"
	[ "$only" != kernel ] && run_hexgated "$tmp/hg0.v4" 0 hg0 "0 rules"
	[ "$nrules" -gt 0 ] || continue
	if [ "$only" != hexgated ]; then
		run_kernel iptables-nft kiptnft "$nlabel rules iptables-nft"
		run_kernel nft knft "$nlabel rules nft"
	fi
	[ "$only" != kernel ] && run_hexgated "$tmp/hgn.v4" "$nrules" hgn "$nlabel rules"
	[ "$only" != hexgated ] &&
	    run_kernel iptables-legacy klegacy "$nlabel rules iptables-legacy"
done

k0=$(median <"$tmp/k0")
hg0=$(median <"$tmp/hg0")
if [ -s "$tmp/limited" ]; then
	echo "# in $(wc -l <"$tmp/limited") hexgated runs ($(sort "$tmp/limited" | uniq -c |
	    awk '{ n = $1; $1 = ""; printf "%s%s:%s", sep, substr($0, 2), " " n; sep = ", " }')),"
	echo "# b received >= 99% of what trafgen offered: there the generator's CPU,"
	echo "# not hexgated, set the rate (a lower bound)"
fi
echo "veth forward kernel: $k0 kpps"
echo "veth forward hexgated: $hg0 kpps"
echo "ratio hexgated/kernel: $(ratio "$hg0" "$k0")"
if [ "$nrules" -gt 0 ]; then
	kl=$(median <"$tmp/klegacy")
	ki=$(median <"$tmp/kiptnft")
	kn=$(median <"$tmp/knft")
	hgn=$(median <"$tmp/hgn")
	echo "veth forward kernel $nlabel rules iptables-legacy: $kl kpps"
	echo "veth forward kernel $nlabel rules iptables-nft: $ki kpps"
	echo "veth forward kernel $nlabel rules nft: $kn kpps"
	echo "veth forward hexgated $nlabel rules: $hgn kpps"
	echo "ratio hexgated $nlabel rules/0 rules: $(ratio "$hgn" "$hg0") (target >= 0.90)"
	echo "kernel loss with $nlabel rules, iptables-legacy: $(loss "$kl" "$k0")"
	echo "kernel loss with $nlabel rules, iptables-nft: $(loss "$ki" "$k0")"
	echo "kernel loss with $nlabel rules, nft: $(loss "$kn" "$k0")"
	echo "hexgated loss with $nlabel rules: $(loss "$hgn" "$hg0")"
	# What each rule costs hexgated; only if hexgated, not trafgen, set
	# the rate with rules.  Where trafgen set the 0-rule rate, the time
	# without rules is an upper bound, the cost a lower one.
	grep -q '^0 rules$' "$tmp/limited" && lb=" (at least: trafgen set the 0-rule rate)" || lb=
	grep -q "^$nlabel rules\$" "$tmp/limited" ||
	    echo "$hgn $hg0 $nrules" | awk -v lb="$lb" '$1 != "n/a" && $2 != "n/a" && $1 > 0 && $2 > 0 {
		printf "# hexgated: %.1f us a packet with %d rules, %.1f us without: %.2f ns a rule%s\n",
		    1e3 / $1, $3, 1e3 / $2, (1e6 / $1 - 1e6 / $2) / $3, lb }'
fi
echo "veth forward hexgated 0 rules: $hg0 kpps (anchor kernel no rules: $k0 kpps, ratio $(ratio "$hg0" "$k0"))"
if [ "$nrules" -gt 0 ]; then
	for p in "iptables-legacy $kl" "iptables-nft $ki" "nft $kn"; do
		set -- $p
		echo "veth forward hexgated $nlabel rules: $hgn kpps (anchor kernel $nlabel rules $1: $2 kpps, ratio $(ratio "$hgn" "$2"))"
	done
fi
