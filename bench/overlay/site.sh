#!/bin/bash
#
# bench/overlay/site.sh: one TCP stream through hexgated's overlay
# (WireGuard's protocol, issue 16) against wireguard-go, the stock
# userspace WireGuard this kernel allows, in the same run: between two
# sites, and from a client to a host behind a server.
#
#   [h1]                [a]                              [b]                [h2]
#   h1-eth0 ---- a-lan  site A  a-wan ---------- b-wan  site B  b-lan ---- h2-eth0
#   10.1.0.2/24  10.1.0.1/24    192.0.2.1/24     192.0.2.2/24   10.2.0.1/24  10.2.0.2/24
#   iperf3 -c                                                              iperf3 -s
#
# The topology, the port preparation and the measurement are
# bench/ipsec/tunnel.sh's (bench/ipsec/lib.sh): h1 and h2 as
# `hg-port-prepare --peer` leaves a test host, a's and b's four veth ends
# prepared once with `hg-port-prepare` (no GRO, no checksum or
# segmentation offload), kept so in every configuration.  Each run
# measures, in this order:
#
# Site link, one stream h1 -> h2:
#   wggo         the kernels of a and b route; a wireguard-go in each
#                (../shared/interop/wireguard-go.sh, peer mode) carries
#                10.1.0.0/24 <-> 10.2.0.0/24 (TUN device wg0, MTU 1420)
#   wggodef      the same, with a's and b's ports as a veth comes
#                (checksum offload, TSO, GSO on; what TESTBED.md's
#                0.45 Gbit/s ran on), back to hg-port-prepare's after;
#                not in the goal's ratio, which compares like with like
#   plain        hexgated in a and b (1 worker each, afpacket ports), a
#                route to the far LAN via the far site's WAN address
#   overlay      the same hexgated sites, each the other's site peer on
#                the overlay (tun0, 10.99.0.0/24, MTU 1420, the default),
#                the far LAN routed to tun0
# Client, one stream from a laptop's overlay address to h2: site a is
# the laptop (its kernel, a wireguard-go client 10.99.0.2 with
# 10.2.0.0/24 routed into it; h1 takes no part) and site b the server:
#   cwggo        b's kernel routes, a wireguard-go server in b
#   chexgate     hexgated in b (1 worker), the laptop one of its overlay's
#                clients
# The WireGuard paths carry 1380-byte TCP segments where the plain one
# carries 1460: that 5.5% is part of what the overlay costs, and is in
# the ratio.
#
# Usage: site.sh BUILD_DIR     (root)
#   RUNS=3        runs; each measures every configuration once
#   TCP_S=10      seconds of iperf3 (one stream) a measurement
#   ONLY="..."    the configurations to measure, of:
#                 wggo wggodef plain overlay cwggo chexgate
#   OLD_BUILD=DIR also "overlay old" and "client hexgated old": DIR's
#                 hexgated after BUILD_DIR's in every run (the code
#                 before a change against after it)
#   WGGO_SCRIPT=PATH   the wireguard-go recipe (default
#                 ../shared/interop/wireguard-go.sh beside the checkout);
#                 without it, or without wireguard-go, those
#                 configurations are skipped and their ratios are n/a
#   PERF_DIR=DIR  in the first run, `perf record -a -g` during each
#                 measurement into DIR/KEY.data, and the pids of the two
#                 sites' processes (hexgated or wireguard-go) into
#                 DIR/KEY.pids (that run's figures are then lower)
#
# Beside each measurement, as tunnel.sh: the sender's retransmissions,
# the median RTT of 20 pings through the same path just before, the load
# average before it, how busy the CPUs were during it, and the CPU time
# of each site's process (A: hexgated or wireguard-go in a, the laptop's
# wireguard-go in the client cases; B: b's), in % of one CPU; after a
# hexgated measurement, each site's port counters, after a wireguard-go
# one what each wireguard-go's TUN device dropped and its namespace's UDP
# receive buffer errors.  Last lines (medians of the runs):
#   site wireguard-go: X Gbit/s
#   site wireguard-go, veth defaults: X Gbit/s
#   site untunnelled: X Gbit/s
#   site hexgate overlay: X Gbit/s
#   client to wireguard-go server: X Gbit/s
#   client to hexgated: X Gbit/s
#   ratio overlay/wireguard-go: R (goal >= 3)
#   ratio overlay/untunnelled: R (goal >= 0.70)
#   ratio client hexgated/wireguard-go server: R (goal >= 1.0)
# and with OLD_BUILD the same three for the old build.
#
# On 2 shared CPUs every figure moves with what else runs: compare the
# ratios of one run, not figures across runs.

set -u

prog=site.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/bench/ipsec/lib.sh"	# die, nsx, topology, start_site, measure, ...
build=${1:-}
runs=${RUNS:-3}
tcp_s=${TCP_S:-10}
only=${ONLY:-wggo wggodef plain overlay cwggo chexgate}
old_build=${OLD_BUILD:-}
perf_dir=${PERF_DIR:-}
wggo=${WGGO_SCRIPT:-$top/../shared/interop/wireguard-go.sh}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
for k in $only; do
	case $k in
	wggo|wggodef|plain|overlay|cwggo|chexgate) ;;
	*) die "ONLY: unknown configuration $k (wggo wggodef plain overlay cwggo chexgate)" ;;
	esac
done
if [ -n "$old_build" ]; then
	old_build=$(cd "$old_build" 2>/dev/null && pwd) ||
	    die "OLD_BUILD=$OLD_BUILD: no such build dir"
	[ -x "$old_build/src/daemon/hexgated" ] ||
	    die "$old_build/src/daemon/hexgated missing (build it first)"
	case " $only " in *" overlay "*) only="${only/overlay/overlay overlayold}" ;; esac
	case " $only " in *" chexgate "*) only="${only/chexgate/chexgate chexgateold}" ;; esac
fi
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
for t in ip ping ethtool iperf3 wg /usr/bin/python3; do
	command -v "$t" >/dev/null ||
	    die "$t not found (scripts/install-deps --bench)"
done
[ "$tcp_s" -gt 0 ] 2>/dev/null || die "TCP_S=$tcp_s: want whole seconds > 0"
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
*" wggo"*|*" cwggo "*|*" chexgate"*)
	# The client cases need wireguard-go for the laptop as well.
	if [ ! -f "$wggo" ]; then
		echo "# wireguard-go skipped: $wggo not found (WGGO_SCRIPT=)"
		only=$(echo " $only " | sed -E 's/ (wggo|wggodef|cwggo|chexgate|chexgateold)\b//g')
	elif ! command -v wireguard-go >/dev/null; then
		echo "# wireguard-go skipped: not found (scripts/install-deps)"
		only=$(echo " $only " | sed -E 's/ (wggo|wggodef|cwggo|chexgate|chexgateold)\b//g')
	fi
	;;
esac

h1=hg-wh1-$$
a=hg-wa-$$
b=hg-wb-$$
h2=hg-wh2-$$
tmp=$(mktemp -d /tmp/hg-bench-ovl.XXXXXX)
a_pid=
b_pid=
srv_pid=
wg_up=		# the sites (a, b) where a wireguard-go runs now

# udp_stats NS: "datagrams received, receive buffer errors" of NS's UDP
# so far (the namespace's, which outlives each configuration).
udp_stats() {
	nsx "$1" awk '$1 == "Udp:" {
		if (!h) { for (j = 2; j <= NF; j++) f[$j] = j; h = 1 }
		else print $f["InDatagrams"], $f["RcvbufErrors"] }' /proc/net/snmp
}

# wg_peer SITE ARGS...: wireguard-go.sh's peer mode in SITE's namespace,
# its state under $tmp (one directory per namespace); the UDP counters
# as it starts in $tmp/udp-SITE.
wg_peer() {
	local s=$1 out
	shift
	wg_up="$wg_up $s"
	udp_stats "$(site_ns "$s")" >"$tmp/udp-$s"
	out=$(STATE_DIR=$tmp/wg LOG_LEVEL=error bash "$wggo" peer \
	    "$(site_ns "$s")" "$@" 2>&1) ||
	    die "wireguard-go in $s did not start: $out"
}

stop_wireguard() {
	local s
	for s in $wg_up; do
		STATE_DIR=$tmp/wg bash "$wggo" stop "$(site_ns "$s")" \
		    >/dev/null 2>&1
	done
	wg_up=
}

cleanup() {
	trap - EXIT INT TERM
	stop_hexgated
	stop_wireguard
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	for ns in "$h1" "$a" "$b" "$h2"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

# Keys: one per site (the same pair serves both WireGuard
# implementations), the laptop's, and the server's.
for k in a b laptop server; do
	(umask 077; wg genkey >"$tmp/$k.key")
	wg pubkey <"$tmp/$k.key" >"$tmp/$k.pub"
done
pub() { cat "$tmp/$1.pub"; }
priv() { cat "$tmp/$1.key"; }

# site_config SITE KIND LAN_IF LAN WAN_IF WAN PEER REMOTE_NET OVL_ADDR
# PEER_OVL: KIND "overlay": the far site a site peer, the far LAN through
# tun0; "plain": via the peer's WAN address.
site_config() {
	local me=$1 kind=$2 route overlay= far
	[ "$me" = a ] && far=b || far=a
	if [ "$kind" = overlay ]; then
		overlay='"overlay": {
    "listen_port": 51820, "addresses": [ "'"$9"'" ],
    "private_key_file": "'"$me"'.key",
    "peers": [
      { "name": "'"$far"'", "public_key": "'"$(pub "$far")"'",
        "endpoint": "'"$7"':51820",
        "allowed_ips": [ "'"$8"'", "'"${10}"'" ],
        "persistent_keepalive": 25 } ] },'
		route='{ "prefix": "'"$8"'", "interface": "tun0" }'
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
  $overlay
  "routes": [ $route ],
  "firewall": { "known_networks": [ "10.1.0.0/24", "10.2.0.0/24" ] }
}
EOF
}

# server_config: b alone, the laptop one of its overlay's clients.  Its
# own subnet is the only one it knows; the overlay's is known through
# tun0 from the client's address.
server_config() {
	cat <<EOF
{
  "workers": 1,
  "log": { "level": "warn" },
  "control_socket": "$tmp/b.sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:b-lan", "addresses": [ "10.2.0.1/24" ] },
    { "name": "wan", "port": "afpacket:b-wan", "addresses": [ "192.0.2.2/24" ] }
  ],
  "overlay": {
    "listen_port": 51820, "addresses": [ "10.99.0.1/24" ],
    "private_key_file": "server.key",
    "clients": [
      { "name": "laptop", "public_key": "$(pub laptop)",
        "addresses": [ "10.99.0.2" ] } ] },
  "firewall": { "known_networks": [ "10.2.0.0/24" ] }
}
EOF
}

write_configs() {
	local t
	for t in plain overlay; do
		site_config a "$t" a-lan 10.1.0.1/24 a-wan 192.0.2.1/24 192.0.2.2 \
		    10.2.0.0/24 10.99.0.1/24 10.99.0.2/32 >"$tmp/a-$t.json"
		site_config b "$t" b-lan 10.2.0.1/24 b-wan 192.0.2.2/24 192.0.2.1 \
		    10.1.0.0/24 10.99.0.2/24 10.99.0.1/32 >"$tmp/b-$t.json"
	done
	server_config >"$tmp/b-server.json"
}

# wait_path FROM WHAT: until a ping from FROM reaches h2 (the handshake
# is done), at most 10 s.
wait_path() {
	local i
	for i in $(seq 100); do
		nsx "$1" ping -n -q -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$2: no ping $1 -> h2 after 10 s"
}

# hexgated_on CONFIG BUILD: both sites, CONFIG plain or overlay.
hexgated_on() {
	start_site "$a" a "$tmp/a-$1.json" "$2"
	start_site "$b" b "$tmp/b-$1.json" "$2"
	wait_path "$h1" "hexgated $1"
}

# wggo_sites_on: the kernels route, a wireguard-go in each site carrying
# the other's LAN (routed into wg0 by the recipe).
wggo_sites_on() {
	kernel_on a b
	wg_peer a 10.99.0.1/24 51820 "$(priv a)" "$(pub b)" 192.0.2.2:51820 \
	    10.99.0.2/32,10.2.0.0/24
	wg_peer b 10.99.0.2/24 51820 "$(priv b)" "$(pub a)" 192.0.2.1:51820 \
	    10.99.0.1/32,10.1.0.0/24
	wait_path "$h1" "wireguard-go sites"
}

wggo_sites_off() {
	stop_wireguard
	kernel_off a b
}

# veth_defaults: a's and b's ports with a veth's own offloads (kernel_off
# prepares them again).
veth_defaults() {
	local s ifn
	for s in a b; do
		for ifn in "$s-lan" "$s-wan"; do
			step "$ifn: offloads on" nsx "$(site_ns "$s")" \
			    ethtool -K "$ifn" rx on tx on sg on tso on gso on
		done
	done
}

# wg_counters: what each running wireguard-go's TUN device dropped (a
# full queue towards wireguard-go, tx; towards the kernel, rx), and the
# UDP datagrams its namespace received and dropped for a full receive
# buffer since it started.
wg_counters() {
	local s ns
	for s in $wg_up; do
		ns=$(site_ns "$s")
		echo "#   $s wireguard-go: wg0 tx_dropped" \
		    "$(nsx "$ns" cat /sys/class/net/wg0/statistics/tx_dropped 2>/dev/null)" \
		    "rx_dropped $(nsx "$ns" cat /sys/class/net/wg0/statistics/rx_dropped 2>/dev/null);" \
		    "$(echo "$(cat "$tmp/udp-$s") $(udp_stats "$ns")" | awk '{
			printf "UDP received %d, receive buffer errors %d", $3 - $1, $4 - $2 }')"
	done
}

# laptop_on: a's kernel as a laptop's, wireguard-go with the server's
# overlay and LAN routed into it.  Started after the server, so that its
# first handshake finds one.
laptop_on() {
	kernel_on a
	wg_peer a 10.99.0.2/24 51820 "$(priv laptop)" "$(pub server)" \
	    192.0.2.2:51820 10.99.0.0/24,10.2.0.0/24
	wait_path "$a" "client"
}

# client_on SERVER BUILD: SERVER "wggo" (b's kernel routes, a
# wireguard-go server that waits for the laptop) or "hexgate" (BUILD's
# hexgated in b), then the laptop.
client_on() {
	if [ "$1" = wggo ]; then
		kernel_on b
		wg_peer b 10.99.0.1/24 51820 "$(priv server)" "$(pub laptop)" - \
		    10.99.0.2/32
	else
		start_site "$b" b "$tmp/b-server.json" "$2"
	fi
	laptop_on
}

client_off() {
	stop_wireguard
	stop_hexgated
	kernel_off a b
}

# site_pid SITE: the pid of what carries the site's traffic now,
# wireguard-go or hexgated; empty if none.
site_pid() {
	case " $wg_up " in
	*" $1 "*) cat "$tmp/wg/$(site_ns "$1")/wg.pid" 2>/dev/null ;;
	*) eval "echo \$${1}_pid" ;;
	esac
}

# measure_from NS LABEL KEY: lib.sh's measure with NS as the sender.
measure_from() {
	local h1=$1
	measure "$2" "$3"
}

med() {
	if [ -f "$tmp/$1.tcp" ]; then median <"$tmp/$1.tcp"; else echo n/a; fi
}

label_of() {
	case $1 in
	wggo) echo "site wireguard-go" ;;
	wggodef) echo "site wireguard-go, veth defaults" ;;
	plain) echo "site untunnelled" ;;
	overlay) echo "site hexgate overlay" ;;
	overlayold) echo "site hexgate overlay old" ;;
	cwggo) echo "client to wireguard-go server" ;;
	chexgate) echo "client to hexgated" ;;
	chexgateold) echo "client to hexgated old" ;;
	esac
}

topology
write_configs
# Not through nsx: a function run in the background is a subshell, and
# killing that would leave iperf3 behind; ip netns exec execs iperf3.
ip netns exec "$h2" iperf3 -s -B 10.2.0.2 >/dev/null 2>&1 &
srv_pid=$!
echo "# overlay bench: one TCP stream h1 -> a -> b -> h2 (sites) and a -> b -> h2" \
    "(client), ${tcp_s} s, $runs runs; $(nproc) CPUs; hexgated 1 worker per site," \
    "not pinned; load $(cut -d ' ' -f 1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
	for k in $only; do
		case $k in
		wggo|wggodef)
			[ "$k" = wggodef ] && veth_defaults
			wggo_sites_on
			measure_from "$h1" "$(label_of "$k")" "$k"
			wg_counters
			wggo_sites_off
			;;
		plain|overlay|overlayold)
			if [ "$k" = overlayold ]; then
				hexgated_on overlay "$old_build"
			else
				hexgated_on "$k" "$build"
			fi
			measure_from "$h1" "$(label_of "$k")" "$k"
			hg_counters
			stop_hexgated
			;;
		cwggo)
			client_on wggo
			measure_from "$a" "$(label_of cwggo)" cwggo
			wg_counters
			client_off
			;;
		chexgate|chexgateold)
			if [ "$k" = chexgateold ]; then
				client_on hexgate "$old_build"
			else
				client_on hexgate "$build"
			fi
			measure_from "$a" "$(label_of "$k")" "$k"
			hg_counters
			wg_counters
			client_off
			;;
		esac
	done
done

keys="wggo wggodef plain overlay cwggo chexgate"
[ -n "$old_build" ] && keys="wggo wggodef plain overlay overlayold cwggo chexgate chexgateold"
for k in $keys; do
	echo "$(label_of "$k"): $(med "$k") Gbit/s"
done
for k in overlay overlayold; do
	case " $keys " in *" $k "*) ;; *) continue ;; esac
	[ "$k" = overlay ] && o= || o=" old"
	echo "ratio overlay$o/wireguard-go: $(ratio "$(med "$k")" "$(med wggo)") (goal >= 3)"
	echo "ratio overlay$o/untunnelled: $(ratio "$(med "$k")" "$(med plain)") (goal >= 0.70)"
	echo "ratio overlay$o/wireguard-go on veth defaults: $(ratio "$(med "$k")" "$(med wggodef)") (no goal)"
done
for k in chexgate chexgateold; do
	case " $keys " in *" $k "*) ;; *) continue ;; esac
	[ "$k" = chexgate ] && o= || o=" old"
	echo "ratio client hexgated$o/wireguard-go server: $(ratio "$(med "$k")" "$(med cwggo)") (goal >= 1.0)"
done
