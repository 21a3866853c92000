#!/bin/bash
#
# bench/ipsec/tunnel.sh: one TCP stream between hosts behind two sites
# joined by an IPsec tunnel: hexgated's manually keyed native ESP
# (AES-256-GCM) against two strongSwan peers (kernel-libipsec, ESP in UDP,
# AES-256-GCM), and against the same two hexgated sites routing the same
# traffic without a tunnel, in the same run.
#
#   [h1]                [a]                              [b]                [h2]
#   h1-eth0 ---- a-lan  site A  a-wan ---------- b-wan  site B  b-lan ---- h2-eth0
#   10.1.0.2/24  10.1.0.1/24    192.0.2.1/24     192.0.2.2/24   10.2.0.1/24  10.2.0.2/24
#   iperf3 -c                                                              iperf3 -s
#
# h1 and h2 are prepared as `hg-port-prepare --peer` leaves a test host (no
# checksum offload, no TSO/GSO).  a's and b's four veth ends are prepared
# once with `hg-port-prepare` (no GRO, no checksum or segmentation offload)
# and keep those settings in every configuration.  Each run measures, in
# this order:
#   strongswan   the kernels of a and b route; a charon in each (the
#                strongSwan recipe in ../shared/interop) carries
#                10.1.0.0/24 <-> 10.2.0.0/24 in userspace ESP (kernel-libipsec:
#                ESP in UDP 4500, a TUN device of MTU 1400 to the kernel)
#   untunnelled  hexgated in a and b (1 worker each, afpacket ports), a
#                route to the far LAN via the far site's WAN address
#   hexgate esp  the same hexgated sites with a tunnel ipsec0 (native ESP,
#                AES-256-GCM, manual keys; MTU 1400, the default), the far
#                LAN routed to it
# Both tunnels have MTU 1400, so TCP's segments through them are 1360
# bytes of payload where the untunnelled path carries 1460: that 7% is
# part of what a tunnel costs, and is in the ratio.
#
# Usage: tunnel.sh BUILD_DIR     (root)
#   RUNS=3        runs; each measures every configuration once
#   TCP_S=10      seconds of iperf3 (one stream, h1 -> h2) a measurement
#   ONLY="..."    the configurations to measure, of: ssw plain esp
#   OLD_BUILD=DIR also "hexgate esp old": the tunnel with DIR's hexgated,
#                 after "hexgate esp" in every run (the code before a
#                 change against BUILD_DIR's, as bench/forward/latency.sh)
#   STRONGSWAN_SCRIPT=PATH   the strongSwan recipe (default
#                 ../shared/interop/strongswan-ikev2-psk.sh beside the
#                 checkout); without it, or without charon, strongSwan is
#                 skipped and its ratio is n/a
#   PERF_DIR=DIR  in the first run, `perf record -a -g` during each
#                 measurement into DIR/KEY.data, and the pids of the two
#                 sites' processes (hexgated or charon) into DIR/KEY.pids
#                 (that run's figures are then lower: it is for finding
#                 where the cycles go)
#
# The rate is iperf3's receiver side.  Beside each measurement: the
# retransmissions iperf3's sender counted, the median RTT of 20 pings
# through the same path just before (no load of its own), the load
# average before it, how busy the machine's CPUs were during it (from
# /proc/stat: user+system / softirq, % of all CPUs), and how much CPU
# time each site's process (hexgated, or charon, all threads) took, in %
# of one CPU, so a figure can be placed; after a hexgated measurement,
# each site's counters (frames its ports received and lost for want of
# ring space, and what its tunnel carried: the stream went through it).
# Last lines (medians of the runs):
#   tunnel strongswan: X Gbit/s
#   tunnel untunnelled: X Gbit/s
#   tunnel hexgate esp: X Gbit/s
#   ratio hexgate/strongswan: R (goal >= 5)
#   ratio tunnel/untunnelled: R (goal >= 0.70)
# and with OLD_BUILD the same two ratios for "hexgate esp old".
#
# On 2 shared CPUs every figure moves with what else runs: compare the
# ratios of one run, not figures across runs.

set -u

prog=tunnel.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"	# die, nsx, step, topology, start_site, measure, ...
build=${1:-}
runs=${RUNS:-3}
tcp_s=${TCP_S:-10}
only=${ONLY:-ssw plain esp}
old_build=${OLD_BUILD:-}
perf_dir=${PERF_DIR:-}
ssw=${STRONGSWAN_SCRIPT:-$top/../shared/interop/strongswan-ikev2-psk.sh}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
if [ -n "$old_build" ]; then
	old_build=$(cd "$old_build" 2>/dev/null && pwd) ||
	    die "OLD_BUILD=$OLD_BUILD: no such build dir"
	[ -x "$old_build/src/daemon/hexgated" ] ||
	    die "$old_build/src/daemon/hexgated missing (build it first)"
	case " $only " in *" esp "*) only="${only/esp/esp espold}" ;; esac
fi
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
for t in ip ping ethtool iperf3 /usr/bin/python3; do
	command -v "$t" >/dev/null ||
	    die "$t not found (scripts/install-deps --bench)"
done
[ "$tcp_s" -gt 0 ] 2>/dev/null || die "TCP_S=$tcp_s: want whole seconds > 0"
for k in $only; do
	case $k in ssw|plain|esp|espold) ;; *) die "ONLY: unknown configuration $k (ssw plain esp)" ;; esac
done
if [ -n "$perf_dir" ]; then
	command -v perf >/dev/null || die "PERF_DIR set but perf not found"
	mkdir -p "$perf_dir" || die "PERF_DIR=$perf_dir: cannot create it"
	perf_dir=$(cd "$perf_dir" && pwd)
fi
prepare=$top/scripts/hg-port-prepare
hexctl=$build/src/cli/hexctl
[ -x "$build/src/daemon/hexgated" ] ||
    die "$build/src/daemon/hexgated missing (build first)"
case " $only " in
*" ssw "*)
	if [ ! -x "$ssw" ]; then
		echo "# strongSwan skipped: $ssw not found (STRONGSWAN_SCRIPT=)"
		only=${only//ssw/}
	elif ! command -v swanctl >/dev/null ||
	    ! { command -v charon-systemd || [ -x /usr/lib/ipsec/charon ]; } >/dev/null; then
		echo "# strongSwan skipped: swanctl or charon not found (scripts/install-deps --bench)"
		only=${only//ssw/}
	fi
	;;
esac

h1=hg-th1-$$
a=hg-ta-$$
b=hg-tb-$$
h2=hg-th2-$$
tmp=$(mktemp -d /tmp/hg-bench-tun.XXXXXX)
ssw_state=$tmp/strongswan
a_pid=
b_pid=
srv_pid=
ssw_up=

stop_strongswan() {
	[ -n "$ssw_up" ] || return 0
	STATE_DIR=$ssw_state "$ssw" stop "$a" >/dev/null 2>&1
	STATE_DIR=$ssw_state "$ssw" stop "$b" >/dev/null 2>&1
	ssw_up=
}

cleanup() {
	trap - EXIT INT TERM
	stop_hexgated
	stop_strongswan
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	for ns in "$h1" "$a" "$b" "$h2"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

# Test keys: AES-256 and a 4-byte salt, one per direction.
GCM_AB=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304
GCM_BA=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010004030201

key() {
	printf '%s\n' "$2" >"$tmp/$1.key"
	chmod 600 "$tmp/$1.key"
}

# site_config SITE TUNNEL LAN_IF LAN WAN_IF WAN PEER REMOTE_NET SPI_OUT SPI_IN:
# TUNNEL "esp": the far LAN through ipsec0; "plain": via the peer.
site_config() {
	local me=$1 tun=$2 route tunnels=
	if [ "$tun" = esp ]; then
		tunnels='"tunnels": [
    { "name": "ipsec0", "local": "'"${6%/*}"'", "remote": "'"$7"'",
      "remote_subnets": [ "'"$8"'" ],
      "sa_out": { "spi": '"$9"', "alg": "aes256gcm", "key_file": "gcm-'"$me"'-out.key" },
      "sa_in": { "spi": '"${10}"', "alg": "aes256gcm", "key_file": "gcm-'"$me"'-in.key" } }
  ],'
		route='{ "prefix": "'"$8"'", "interface": "ipsec0" }'
	else
		route='{ "prefix": "'"$8"'", "via": "'"$7"'" }'
	fi
	cat <<EOF
{
  "workers": 1,
  "log": { "level": "warn" },
  "control_socket": "$tmp/$me.sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$3", "addresses": [ "$4" ] },
    { "name": "wan", "port": "afpacket:$5", "addresses": [ "$6" ] }
  ],
  $tunnels
  "routes": [ $route ],
  "firewall": { "known_networks": [ "10.1.0.0/24", "10.2.0.0/24" ] }
}
EOF
}

write_configs() {
	local t
	key gcm-a-out "$GCM_AB"; key gcm-b-in "$GCM_AB"
	key gcm-b-out "$GCM_BA"; key gcm-a-in "$GCM_BA"
	for t in plain esp; do
		site_config a "$t" a-lan 10.1.0.1/24 a-wan 192.0.2.1/24 192.0.2.2 \
		    10.2.0.0/24 4097 8193 >"$tmp/a-$t.json"
		site_config b "$t" b-lan 10.2.0.1/24 b-wan 192.0.2.2/24 192.0.2.1 \
		    10.1.0.0/24 8193 4097 >"$tmp/b-$t.json"
	done
}

# hexgated_on CONFIG BUILD: both sites, CONFIG plain or esp.
hexgated_on() {
	start_site "$a" a "$tmp/a-$1.json" "$2"
	start_site "$b" b "$tmp/b-$1.json" "$2"
}

# strongswan_on: a charon in each site; b initiates.  The SA is up once
# a ping crosses (libipsec raises no acquire, so nothing else starts it).
strongswan_on() {
	local i
	kernel_on a b
	ssw_up=1
	STATE_DIR=$ssw_state "$ssw" peer "$a" 192.0.2.1 192.0.2.2 \
	    10.1.0.0/24 10.2.0.0/24 hexgate-bench >"$tmp/ssw.out" 2>&1 ||
	    { cat "$tmp/ssw.out" >&2; die "strongSwan a did not start"; }
	START_ACTION=start STATE_DIR=$ssw_state "$ssw" peer "$b" 192.0.2.2 \
	    192.0.2.1 10.2.0.0/24 10.1.0.0/24 hexgate-bench >"$tmp/ssw.out" 2>&1 ||
	    { cat "$tmp/ssw.out" >&2; die "strongSwan b did not start"; }
	for i in $(seq 100); do
		nsx "$h1" ping -n -q -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -n 20 "$ssw_state/$a/charon.log" >&2
	die "strongSwan: no ping h1 -> h2 through the tunnel after 10 s"
}

strongswan_off() {
	stop_strongswan
	kernel_off a b
}

# site_pid SITE: the pid of what carries the site's traffic now, hexgated
# or charon; empty if none.
site_pid() {
	local ns
	if [ -n "$ssw_up" ]; then
		[ "$1" = a ] && ns=$a || ns=$b
		cat "$ssw_state/$ns/charon.pid" 2>/dev/null
	else
		eval "echo \$${1}_pid"
	fi
}

med() {
	if [ -f "$tmp/$1.tcp" ]; then median <"$tmp/$1.tcp"; else echo n/a; fi
}

label_of() {
	case $1 in
	ssw) echo "strongswan" ;;
	plain) echo "untunnelled" ;;
	esp) echo "hexgate esp" ;;
	espold) echo "hexgate esp old" ;;
	esac
}

topology
write_configs
ip netns exec "$h2" iperf3 -s -B 10.2.0.2 >/dev/null 2>&1 &
srv_pid=$!
echo "# tunnel bench: one TCP stream h1 -> a -> b -> h2, ${tcp_s} s, $runs runs; $(nproc) CPUs;" \
    "hexgated 1 worker per site, not pinned; load $(cut -d ' ' -f 1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
	for k in $only; do
		case $k in
		ssw)
			strongswan_on
			measure "$(label_of ssw)" ssw
			strongswan_off
			;;
		plain|esp|espold)
			if [ "$k" = espold ]; then
				hexgated_on esp "$old_build"
			else
				hexgated_on "$k" "$build"
			fi
			measure "$(label_of "$k")" "$k"
			hg_counters
			stop_hexgated
			;;
		esac
	done
done

keys="ssw plain esp"
[ -n "$old_build" ] && keys="$keys espold"
for k in $keys; do
	echo "tunnel $(label_of "$k"): $(med "$k") Gbit/s"
done
for k in $keys; do
	case $k in esp) o= ;; espold) o=" old" ;; *) continue ;; esac
	echo "ratio hexgate$o/strongswan: $(ratio "$(med "$k")" "$(med ssw)") (goal >= 5)"
	echo "ratio tunnel$o/untunnelled: $(ratio "$(med "$k")" "$(med plain)") (goal >= 0.70)"
done
