#!/bin/bash
#
# bench/ipsec/ike.sh: IPsec tunnels negotiated with IKEv2 (issue 15):
# how fast they are set up, and one TCP stream through one, hexgated
# against a stock strongSwan 5.9 and strongSwan against itself, in the
# same run, on the topology of lib.sh (h1 - site A - site B - h2 over
# veths; A initiates, B responds).
#
# 1. Set-up rate.  B holds N connections (default 32, hexgated's most),
#    A the same N to B, each with its own identities (cI.a.bench,
#    cI.b.bench) and selectors (10.101.I.0/24 === 10.102.I.0/24), one
#    child each, PSK, aes256gcm16-prfsha256-x25519 and aes256gcm16 on
#    both ends.  A initiates all N at once: hexgated by a reload that
#    turns start_action to start (it initiates every connection in the
#    same turn), charon by vici "initiate" requests for all of them
#    written at once (SSW_START below).  The
#    time is from A's first "initiating IKE_SA" to A's last "CHILD_SA
#    ... established" (both logs have milliseconds; B's N children are
#    waited for too), and the rate N / time.  A's connections leave
#    from PEERS addresses (default 16: 192.0.2.1, 192.0.2.11 ...), two
#    a peer, as many branch sites would; with PEERS=1 all come from one
#    address, and a responder's per-peer half-open bound (hexgated 8,
#    charon's block_threshold 5 and cookie_threshold_ip 3) turns part of
#    the burst away until the initiator retransmits (hexgated after 1 s,
#    charon after 4 s by default): then the time says more about those
#    bounds and timers than about the work.  Pairs (initiator-responder):
#      hg-hg     hexgated -> hexgated
#      ssw-hg    charon -> hexgated (hexgated responds)
#      hg-ssw    hexgated -> charon (hexgated initiates)
#      ssw-ssw   charon -> charon, the anchor
#    Beside each: the initiator's retransmissions, what hexgated's
#    responder turned away over the half-open bound, and the CPU time
#    the two daemons took (all threads, /proc/PID/task/*/schedstat), per
#    SA.
#
# 2. One TCP stream (iperf3 h1 -> h2, as tunnel.sh) through a tunnel
#    10.1.0.0/24 === 10.2.0.0/24 that A initiated:
#      hg-hg     two hexgated: native ESP (no NAT between them)
#      hg-ssw    hexgated and charon: ESP in UDP 4500 (charon's
#                kernel-libipsec always announces a NAT)
#      ssw-ssw   two charons, the anchor (as tunnel.sh's strongswan)
#
# charon is strongSwan's recipe (../shared/interop: kernel-libipsec, ESP
# done in charon, a TUN device to the kernel, which routes) with its
# defaults otherwise (16 threads, retransmission, half-open limits).
# hexgated: 1 worker a site, not pinned, afpacket ports, log level info.
#
# Usage: ike.sh BUILD_DIR     (root)
#   RUNS=3       runs; each measures every pair once
#   N=32         connections a set-up measurement (1-32)
#   PEERS=16     initiator addresses they are spread over (1-16)
#   SETUP="hg-hg ssw-hg hg-ssw ssw-ssw"   set-up pairs ("" none)
#   TCP="hg-hg hg-ssw ssw-ssw"            TCP pairs ("" none)
#   TCP_S=10     seconds of iperf3 a measurement
#   PERF_DIR=DIR as tunnel.sh, for the TCP measurements
#   SSW_START=burst  how a charon initiator starts its N: "burst", all
#                initiated at once through vici once loaded (as hexgated
#                does after its reload), or "load", loaded with
#                start_action=start (charon initiates each as swanctl
#                loads it, about 1-3 ms apart here: that pacing is then
#                most of the time)
#   LOG_DIR=DIR  keep both daemons' logs of each set-up measurement there
#                (runI-PAIR-a.log, -b.log)
# Without swanctl and charon the strongSwan pairs are skipped, without
# iperf3 the TCP part, each saying so; their ratios are then n/a.
#
# Last lines (medians of the runs):
#   setup PAIR: X SAs/s          (each pair measured)
#   ratio setup PAIR/ssw-ssw: R
#   tcp PAIR: X Gbit/s
#   ratio tcp PAIR/ssw-ssw: R
#
# On 2 shared CPUs every figure moves with what else runs: compare the
# ratios of one run, not figures across runs.

set -u

prog=ike.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"	# die, nsx, step, topology, start_site, measure, ...

build=${1:-}
runs=${RUNS:-3}
n_conns=${N:-32}
peers=${PEERS:-16}
setup_pairs=${SETUP-hg-hg ssw-hg hg-ssw ssw-ssw}
tcp_pairs=${TCP-hg-hg hg-ssw ssw-ssw}
tcp_s=${TCP_S:-10}
perf_dir=${PERF_DIR:-}
log_dir=${LOG_DIR:-}
setup_timeout=${SETUP_TIMEOUT:-60}
ssw_start=${SSW_START:-burst}

[ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir $1"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth, AF_PACKET)"
for t in ip ping ethtool /usr/bin/python3; do
	command -v "$t" >/dev/null ||
	    die "$t not found (scripts/install-deps --bench)"
done
[ "$n_conns" -ge 1 ] 2>/dev/null && [ "$n_conns" -le 32 ] ||
    die "N=$n_conns: want 1 to 32 (hexgated takes 32 connections)"
[ "$peers" -ge 1 ] 2>/dev/null && [ "$peers" -le 16 ] ||
    die "PEERS=$peers: want 1 to 16 (addresses on an interface)"
[ "$tcp_s" -gt 0 ] 2>/dev/null || die "TCP_S=$tcp_s: want whole seconds > 0"
for k in $setup_pairs; do
	case $k in hg-hg|ssw-hg|hg-ssw|ssw-ssw) ;;
	*) die "SETUP: unknown pair $k (hg-hg ssw-hg hg-ssw ssw-ssw)" ;; esac
done
case $ssw_start in burst|load) ;; *) die "SSW_START=$ssw_start: burst or load" ;; esac
for k in $tcp_pairs; do
	case $k in hg-hg|hg-ssw|ssw-ssw) ;;
	*) die "TCP: unknown pair $k (hg-hg hg-ssw ssw-ssw)" ;; esac
done
if [ -n "$perf_dir" ]; then
	command -v perf >/dev/null || die "PERF_DIR set but perf not found"
	mkdir -p "$perf_dir" || die "PERF_DIR=$perf_dir: cannot create it"
	perf_dir=$(cd "$perf_dir" && pwd)
fi
if [ -n "$log_dir" ]; then
	mkdir -p "$log_dir" || die "LOG_DIR=$log_dir: cannot create it"
fi
prepare=$top/scripts/hg-port-prepare
hexctl=$build/src/cli/hexctl
[ -x "$build/src/daemon/hexgated" ] && [ -x "$hexctl" ] ||
    die "$build/src/daemon/hexgated or hexctl missing (build first)"
if ! command -v swanctl >/dev/null ||
    ! { command -v charon-systemd || [ -x /usr/lib/ipsec/charon ]; } >/dev/null; then
	echo "# SKIP strongSwan pairs: swanctl or charon not found" \
	    "(scripts/install-deps --bench)"
	setup_pairs=$(echo "$setup_pairs" | tr ' ' '\n' | grep -v ssw | xargs)
	tcp_pairs=$(echo "$tcp_pairs" | tr ' ' '\n' | grep -v ssw | xargs)
fi
if [ -n "$tcp_pairs" ] && ! command -v iperf3 >/dev/null; then
	echo "# SKIP TCP through the tunnels: iperf3 not found (scripts/install-deps --bench)"
	tcp_pairs=
fi

h1=hg-kh1-$$
a=hg-ka-$$
b=hg-kb-$$
h2=hg-kh2-$$
tmp=$(mktemp -d /tmp/hg-bench-ike.XXXXXX)
a_pid=
b_pid=
srv_pid=
PSK=0s$(printf %s 'hexgate-ike-bench' | base64 -w0)
IKE_PROP=aes256gcm16-prfsha256-x25519
ESP_PROP=aes256gcm16

cleanup() {
	trap - EXIT INT TERM
	stop_hexgated
	charon_stop a
	charon_stop b
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	for ns in "$h1" "$a" "$b" "$h2"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

# addr_of K: the initiator's K-th address (0-based): 192.0.2.1, then
# 192.0.2.11, 192.0.2.12, ...
addr_of() {
	if [ "$1" = 0 ]; then echo 192.0.2.1; else echo "192.0.2.$((10 + $1))"; fi
}

# conns_of MODE: one line per connection, "NAME CHILD A_ADDR B_ADDR
# A_ID B_ID A_TS B_TS", MODE setup (N of them) or tcp (one).
conns_of() {
	local k
	if [ "$1" = tcp ]; then
		echo "net net 192.0.2.1 192.0.2.2 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24"
		return
	fi
	for k in $(seq "$n_conns"); do
		echo "c$k c$k $(addr_of $(((k - 1) % peers))) 192.0.2.2" \
		    "c$k.a.bench c$k.b.bench 10.101.$k.0/24 10.102.$k.0/24"
	done
}

# hg_config SITE MODE START_ACTION: hexgated's configuration for the site.
hg_config() {
	local me=$1 mode=$2 start=$3 lan_if=$1-lan wan_if=$1-wan n k addrs
	[ "$me" = a ] && n=1 || n=2
	addrs="\"192.0.2.$n/24\""
	if [ "$me" = a ] && [ "$mode" = setup ]; then
		for k in $(seq 1 $((peers - 1))); do
			addrs="$addrs, \"$(addr_of "$k")/24\""
		done
	fi
	conns_of "$mode" | /usr/bin/python3 -c '
import json, sys
me, start, ike, esp, psk = sys.argv[1:6]
conns = {}
for line in sys.stdin:
    name, child, aa, ba, aid, bid, ats, bts = line.split()
    if me == "b":
        aa, ba, aid, bid, ats, bts = ba, aa, bid, aid, bts, ats
    conns[name] = {
        "version": 2, "local_addrs": [aa], "remote_addrs": [ba],
        "proposals": [ike], "local": {"auth": "psk", "id": aid},
        "remote": {"auth": "psk", "id": bid},
        "children": {child: {"local_ts": [ats], "remote_ts": [bts],
                             "esp_proposals": [esp],
                             "start_action": start}}}
print(json.dumps({"connections": conns,
                  "secrets": {"ike-bench": {"secret": psk}}}, indent=2))
' "$me" "$start" "$IKE_PROP" "$ESP_PROP" "$PSK" >"$tmp/ipsec-$me.json" ||
	    die "hg_config $me: python failed"
	cat <<EOF
{
  "workers": 1,
  "log": { "level": "info" },
  "control_socket": "$tmp/$me.sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$lan_if", "addresses": [ "10.$n.0.1/24" ] },
    { "name": "wan", "port": "afpacket:$wan_if", "addresses": [ $addrs ] }
  ],
  "ipsec": $(cat "$tmp/ipsec-$me.json"),
  "firewall": { "known_networks": [ "10.$n.0.0/24" ] }
}
EOF
}

# ssw_config SITE MODE START_ACTION: swanctl.conf for the site's charon.
ssw_config() {
	local me=$1 start=$3 name child aa ba aid bid ats bts
	echo "connections {"
	while read -r name child aa ba aid bid ats bts; do
		if [ "$me" = b ]; then
			set -- "$ba" "$aa" "$bid" "$aid" "$bts" "$ats"
		else
			set -- "$aa" "$ba" "$aid" "$bid" "$ats" "$bts"
		fi
		cat <<EOF
  $name {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = $IKE_PROP
    mobike = no
    local { auth = psk
            id = $3 }
    remote { auth = psk
             id = $4 }
    children {
      $child { local_ts = $5
               remote_ts = $6
               esp_proposals = $ESP_PROP
               start_action = $start }
    }
  }
EOF
	done < <(conns_of "$2")
	echo "}"
	echo "secrets {"
	echo "  ike-bench { secret = $PSK }"
	echo "}"
}

# ssw_site SITE MODE: the site's kernel routes, with an address inside
# each of its local selectors on lo (charon sources its routes from
# one), and the initiator's extra addresses; a charon, nothing loaded.
ssw_site() {
	local me=$1 mode=$2 ns k
	ns=$(site_ns "$me")
	kernel_on "$me"
	if [ "$mode" = setup ]; then
		for k in $(seq "$n_conns"); do
			step "$me: lo address" ip -n "$ns" addr replace \
			    "10.$([ "$me" = a ] && echo 101 || echo 102).$k.1/32" dev lo
		done
		if [ "$me" = a ]; then
			for k in $(seq 1 $((peers - 1))); do
				step "a: address $k" ip -n "$ns" addr replace \
				    "$(addr_of "$k")/24" dev a-wan
			done
		fi
	fi
	charon_start "$me"
}

# site_off SITE: whatever runs there stops; the ports go back to
# hg-port-prepare's state.
site_off() {
	local ns
	ns=$(site_ns "$1")
	if [ -f "$(ssw_dir "$1")/charon.pid" ]; then
		charon_stop "$1"
		kernel_off "$1"
		step "$1: lo flush" ip -n "$ns" addr flush dev lo scope global
	else
		stop_pid "$(eval "echo \${$1_pid:-}")"
		eval "$1_pid="
	fi
}

site_pid() {
	cat "$(ssw_dir "$1")/charon.pid" 2>/dev/null || eval "echo \${$1_pid:-}"
}

# logof SITE: the site's daemon's log.
logof() {
	if [ -f "$(ssw_dir "$1")/charon.pid" ]; then
		echo "$(ssw_dir "$1")/charon.log"
	else
		echo "$tmp/$1.log"
	fi
}

# charon_initiate SITE CHILD...: vici "initiate" requests for every
# CHILD written at once on one connection to SITE's charon, each with
# timeout -1 (do not wait for the SA), then the answers read: charon
# starts them all in one burst, as hexgated does after its reload.
# swanctl --initiate would wait for each, or cost a process each.
charon_initiate() {
	local s=$1
	shift
	/usr/bin/python3 - "$(ssw_dir "$s")/charon.vici" "$@" <<'PY' ||
import socket, struct, sys

def kv(k, v):
    # vici message element KEY_VALUE (3): key, then a 16-bit length.
    k, v = k.encode(), v.encode()
    return bytes([3, len(k)]) + k + struct.pack(">H", len(v)) + v

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
out = b""
for child in sys.argv[2:]:
    # CMD_REQUEST (0), its name, the message.
    body = bytes([0, 8]) + b"initiate" + kv("child", child) + kv("timeout", "-1")
    out += struct.pack(">I", len(body)) + body
s.sendall(out)

def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("vici: charon closed the connection")
        b += c
    return b

bad = 0
for child in sys.argv[2:]:
    r = recvn(struct.unpack(">I", recvn(4))[0])
    # CMD_RESPONSE (1) holding success = yes.
    if r[:1] != b"\x01" or b"success\x00\x03yes" not in r:
        bad += 1
        sys.stderr.write("initiate %s: %r\n" % (child, r[:120]))
sys.exit(1 if bad else 0)
PY
	    die "charon $s: vici initiate failed (above)"
}

# cpu_ns PID: its CPU time in ns, all threads (schedstat: run time).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
	    awk '{ t += $1 } END { printf "%d\n", t }'
}

# established SITE: children established in its log.
established() {
	grep -Ec '\[IKE\] CHILD_SA [^ ]+\{[0-9]+\} established' "$(logof "$1")"
}

# hg_metric SITE NAME: a hexgated counter from /metrics, or 0.
hg_metric() {
	"$hexctl" -s "$tmp/$1.sock" metrics 2>/dev/null |
	    awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

# setup_measure PAIR: one set-up measurement; appends the rate to
# $tmp/setup-PAIR.rate.
setup_measure() {
	local pair=$1 ini=${1%-*} resp=${1#*-} i0 j out pa pb ca0 cb0 ca1 cb1 load
	load=$(cut -d ' ' -f 1 /proc/loadavg)
	: >"$tmp/a.log"
	: >"$tmp/b.log"
	# B first, ready to answer.
	if [ "$resp" = hg ]; then
		hg_config b setup none >"$tmp/b-setup.json"
		start_site "$b" b "$tmp/b-setup.json" "$build"
	else
		ssw_site b setup
		ssw_config b setup none >"$tmp/ssw-b.conf"
		charon_load b "$tmp/ssw-b.conf"
	fi
	if [ "$ini" = hg ]; then
		hg_config a setup none >"$tmp/a-setup.json"
		start_site "$a" a "$tmp/a-setup.json" "$build"
		hg_config a setup start >"$tmp/a-setup.json"
	elif [ "$ssw_start" = load ]; then
		ssw_site a setup
		ssw_config a setup start >"$tmp/ssw-a.conf"
	else
		ssw_site a setup
		ssw_config a setup none >"$tmp/ssw-a.conf"
		charon_load a "$tmp/ssw-a.conf"
	fi
	pa=$(site_pid a) pb=$(site_pid b)
	ca0=$(cpu_ns "$pa") cb0=$(cpu_ns "$pb")
	if [ "$ini" = hg ]; then
		"$hexctl" -s "$tmp/a.sock" reload >/dev/null ||
		    die "$pair: hexctl reload of a failed"
	elif [ "$ssw_start" = load ]; then
		charon_load a "$tmp/ssw-a.conf"
	else
		charon_initiate a $(conns_of setup | cut -d ' ' -f 2)
	fi
	for j in $(seq $((setup_timeout * 20))); do
		[ "$(established a)" -ge "$n_conns" ] &&
		    [ "$(established b)" -ge "$n_conns" ] && break
		sleep 0.05
	done
	ca1=$(cpu_ns "$pa") cb1=$(cpu_ns "$pb")
	if [ "$(established a)" -lt "$n_conns" ] || [ "$(established b)" -lt "$n_conns" ]; then
		tail -n 15 "$(logof a)" "$(logof b)" >&2
		die "$pair: $(established a) and $(established b) of $n_conns children after ${setup_timeout} s (logs above)"
	fi
	out=$(/usr/bin/python3 - "$(logof a)" "$n_conns" <<'PY'
import re, sys, datetime
path, n = sys.argv[1], int(sys.argv[2])
hg = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ')
sw = re.compile(r'^(\d+\.\d{3}) ')
first = last = last_init = None
count = rtx = 0
start, lat = {}, []
for line in open(path, errors="replace"):
    m = hg.match(line)
    if m:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    else:
        m = sw.match(line)
        if not m:
            continue
        t = float(m.group(1))
    m = re.search(r"\[IKE\] initiating IKE_SA ([^ \[]+)\[", line)
    if m:
        start.setdefault(m.group(1), t)
        last_init = t
        if first is None:
            first = t
        continue
    m = re.search(r"\[IKE\] CHILD_SA ([^ {]+)\{\d+\} established", line)
    if m:
        count += 1
        last = t
        if m.group(1) in start:
            lat.append(t - start[m.group(1)])
    elif "[IKE] retransmit" in line:
        rtx += 1
lat.sort()
if first is None or last is None or count < n or not lat:
    print("n/a n/a 0 n/a n/a")
else:
    ms = max((last - first) * 1000, 1)
    print("%.0f %.1f %d %.0f %.0f" % (ms, n * 1000 / ms, rtx,
          lat[len(lat) // 2] * 1000, (last_init - first) * 1000))
PY
)
	read -r ms rate rtx lat span <<<"$out"
	refused=n/a
	[ "$resp" = hg ] && refused=$(hg_metric b hexgate_ike_half_open_refused_total)
	echo "run $i setup $pair: $n_conns IKE SAs + children in $ms ms: $rate SAs/s" \
	    "(initiations within $span ms; each SA $lat ms from initiating" \
	    "to its child, median;" \
	    "initiator retransmits $rtx, half-open refused by hexgated $refused;" \
	    "CPU per SA: A $(echo "$ca0 $ca1 $n_conns" | awk '{ printf "%.2f", ($2 - $1) / 1e6 / $3 }') ms," \
	    "B $(echo "$cb0 $cb1 $n_conns" | awk '{ printf "%.2f", ($2 - $1) / 1e6 / $3 }') ms;" \
	    "load $load before)"
	echo "$rate" >>"$tmp/setup-$pair.rate"
	if [ -n "$log_dir" ]; then
		cp "$(logof a)" "$log_dir/run$i-$pair-a.log"
		cp "$(logof b)" "$log_dir/run$i-$pair-b.log"
	fi
	site_off a
	site_off b
}

# tunnel_note: what a hexgated initiator negotiated, as a comment.
tunnel_note() {
	[ -n "$a_pid" ] || return 0
	"$hexctl" -s "$tmp/a.sock" --json ipsec status 2>/dev/null |
	    /usr/bin/python3 -c '
import json, sys
for sa in json.load(sys.stdin)["ike_sas"]:
    c = sa.get("child", {})
    print("#   tunnel %s: %s, ESP %s, %s" % (sa["name"], sa["algorithms"],
          "in UDP %d" % sa["remote_port"] if c.get("encap") else "native",
          c.get("state", "no child")))
' 2>/dev/null || echo "#   tunnel: status unavailable"
}

# tcp_on PAIR: the tunnel up (A initiates) and a ping h1 -> h2 through it.
tcp_on() {
	local pair=$1 ini=${1%-*} resp=${1#*-} j
	: >"$tmp/a.log"
	: >"$tmp/b.log"
	if [ "$resp" = hg ]; then
		hg_config b tcp none >"$tmp/b-tcp.json"
		start_site "$b" b "$tmp/b-tcp.json" "$build"
	else
		ssw_site b tcp
		ssw_config b tcp none >"$tmp/ssw-b.conf"
		charon_load b "$tmp/ssw-b.conf"
	fi
	if [ "$ini" = hg ]; then
		hg_config a tcp start >"$tmp/a-tcp.json"
		start_site "$a" a "$tmp/a-tcp.json" "$build"
	else
		ssw_site a tcp
		ssw_config a tcp start >"$tmp/ssw-a.conf"
		charon_load a "$tmp/ssw-a.conf"
	fi
	for j in $(seq 100); do
		if nsx "$h1" ping -n -q -c 1 -W 1 10.2.0.2 >/dev/null 2>&1; then
			tunnel_note
			return 0
		fi
		sleep 0.1
	done
	tail -n 15 "$(logof a)" "$(logof b)" >&2
	die "$pair: no ping h1 -> h2 through the tunnel after 10 s (logs above)"
}

med_of() {
	if [ -f "$tmp/$1" ]; then median <"$tmp/$1"; else echo n/a; fi
}

topology
echo "# IKE bench: $runs runs; set-up: $n_conns connections from $peers" \
    "address(es) of A to B; TCP: one stream h1 -> h2, ${tcp_s} s;" \
    "$(nproc) CPUs; hexgated 1 worker per site, not pinned;" \
    "load $(cut -d ' ' -f 1-3 /proc/loadavg)"
if [ -n "$tcp_pairs" ]; then
	ip netns exec "$h2" iperf3 -s -B 10.2.0.2 >/dev/null 2>&1 &
	srv_pid=$!
fi
for i in $(seq "$runs"); do
	for k in $setup_pairs; do
		setup_measure "$k"
	done
	for k in $tcp_pairs; do
		tcp_on "$k"
		measure "tcp $k" "tcp-$k"
		hg_counters
		site_off a
		site_off b
	done
done

for k in $setup_pairs; do
	echo "setup $k: $(med_of "setup-$k.rate") SAs/s"
done
for k in $setup_pairs; do
	[ "$k" = ssw-ssw ] && continue
	echo "ratio setup $k/ssw-ssw: $(ratio "$(med_of "setup-$k.rate")" "$(med_of setup-ssw-ssw.rate)")"
done
for k in $tcp_pairs; do
	echo "tcp $k: $(med_of "tcp-$k.tcp") Gbit/s"
done
for k in $tcp_pairs; do
	[ "$k" = ssw-ssw ] && continue
	echo "ratio tcp $k/ssw-ssw: $(ratio "$(med_of "tcp-$k.tcp")" "$(med_of tcp-ssw-ssw.tcp)")"
done
