# bench/ipsec/lib.sh: what the IPsec benchmarks over veths (tunnel.sh,
# ike.sh) share, and the overlay's (bench/overlay/site.sh, whose sites
# run wireguard-go where these run charon).  Sourced, not executed.
#
#   [h1]                [a]                              [b]                [h2]
#   h1-eth0 ---- a-lan  site A  a-wan ---------- b-wan  site B  b-lan ---- h2-eth0
#   10.1.0.2/24  10.1.0.1/24    192.0.2.1/24     192.0.2.2/24   10.2.0.1/24  10.2.0.2/24
#
# The caller sets before using it: prog (its name, for messages), tmp (a
# scratch directory), h1 a b h2 (the namespaces' names), prepare
# (scripts/hg-port-prepare), hexctl, tcp_s (iperf3 seconds), perf_dir
# (empty: no perf), and during a run i (the run's number); it defines
# site_pid SITE (the pid of what carries site a's or b's traffic now,
# hexgated or charon) for measure.  hexgated's pids are kept in a_pid and
# b_pid, charon's in $tmp/ssw-SITE/charon.pid.
#
#   die MSG            print "prog: MSG" and exit 1 (the EXIT trap cleans)
#   nsx NS CMD...      CMD in namespace NS
#   step WHAT CMD...   CMD, or die naming WHAT with CMD's output
#   stop_pid PID       TERM, 5 s, then KILL, and reap
#   topology           the four namespaces and three veth pairs above;
#                      a's and b's ports as hg-port-prepare leaves them
#   kernel_on SITE...  SITE's kernel routes, with the addresses above
#   kernel_off SITE... the ports back to hexgated (no forwarding, no address)
#   start_site NS SITE CONF BUILD   BUILD's hexgated in NS; pid in SITE_pid
#   stop_hexgated      both sites' hexgated
#   hg_counters        each site's port and tunnel counters, as comments
#   charon_start SITE  a charon in SITE's namespace (kernel-libipsec), no
#                      connections loaded; log with milliseconds
#   charon_load SITE FILE   swanctl --load-all --file FILE into it
#   charon_stop SITE   stop it (idempotent)
#   sw SITE CMD...     swanctl CMD against that charon
#   measure LABEL KEY  one iperf3 stream h1 -> h2, a line of figures;
#                      the Gbit/s appended to $tmp/KEY.tcp
#   median, ratio A B  on numbers ("n/a" passes through)

die() {
	echo "$prog: $*" >&2
	exit 1
}

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

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

host() {
	local ns=$1 i=$2 dev=h$2-eth0
	step "$ns: lo up" ip -n "$ns" link set lo up
	step "$ns: no IPv6" nsx "$ns" sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1"
	step "$ns: prepare --peer" nsx "$ns" "$prepare" --peer "$dev"
	step "$ns: address" ip -n "$ns" addr add "10.$i.0.2/24" dev "$dev"
	step "$ns: up" ip -n "$ns" link set "$dev" up
	step "$ns: route" ip -n "$ns" route add default via "10.$i.0.1"
}

topology() {
	local n
	for n in "$h1" "$a" "$b" "$h2"; do
		step "namespaces" ip netns add "$n"
	done
	step "veth h1-a" ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	step "veth a-b" ip -n "$a" link add a-wan type veth peer name b-wan netns "$b"
	step "veth b-h2" ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	for n in "$a" "$b"; do
		step "$n: lo up" ip -n "$n" link set lo up
		step "$n: ip_forward=0" nsx "$n" sysctl -q -w net.ipv4.ip_forward=0
	done
	step "prepare a's ports" nsx "$a" "$prepare" a-lan a-wan
	step "prepare b's ports" nsx "$b" "$prepare" b-lan b-wan
	host "$h1" 1
	host "$h2" 2
}

# site_ns SITE: the namespace of site a or b.
site_ns() {
	if [ "$1" = a ]; then echo "$a"; else echo "$b"; fi
}

# kernel_on SITE...: the kernel routes; the ports keep hg-port-prepare's
# offloads.
kernel_on() {
	local s ns n ifn
	for s in "$@"; do
		ns=$(site_ns "$s")
		[ "$s" = a ] && n=1 || n=2
		# ip_forward=1 also turns forwarding back on for every port.
		step "$s: ip_forward=1" nsx "$ns" sysctl -q -w net.ipv4.ip_forward=1
		for ifn in "$s-lan" "$s-wan"; do
			step "$s: arp_ignore" nsx "$ns" sysctl -q -w "net.ipv4.conf.$ifn.arp_ignore=0"
		done
		step "$s: lan address" ip -n "$ns" addr replace "10.$n.0.1/24" dev "$s-lan"
		step "$s: wan address" ip -n "$ns" addr replace "192.0.2.$n/24" dev "$s-wan"
	done
}

kernel_off() {
	local s ns
	for s in "$@"; do
		ns=$(site_ns "$s")
		step "$s: ip_forward=0" nsx "$ns" sysctl -q -w net.ipv4.ip_forward=0
		step "$s: re-prepare ports" nsx "$ns" "$prepare" "$s-lan" "$s-wan"
	done
}

# start_site NS SITE CONF BUILD: BUILD's hexgated; its pid in a_pid or
# b_pid (SITE) as soon as it runs, so that cleanup stops it whatever
# happens next.  Its stderr is appended to $tmp/SITE.log.
start_site() {
	local ns=$1 me=$2 conf=$3 bin=$4/src/daemon/hexgated pid i
	rm -f "$tmp/$me.sock"
	(cd "$tmp" && exec ip netns exec "$ns" "$bin" -c "$conf") \
	    >/dev/null 2>>"$tmp/$me.log" &
	pid=$!
	eval "${me}_pid=$pid"
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null ||
		    { tail -n 20 "$tmp/$me.log" >&2; die "hexgated $me exited (log above)"; }
		"$hexctl" -s "$tmp/$me.sock" show interfaces >/dev/null 2>&1 &&
		    return 0
		sleep 0.1
	done
	die "hexgated $me: control socket not answering after 10 s"
}

stop_hexgated() {
	stop_pid "${a_pid:-}"
	stop_pid "${b_pid:-}"
	a_pid=
	b_pid=
}

# hg_counters: each running site's view of the stream.
hg_counters() {
	local me
	for me in a b; do
		[ -n "$(eval "echo \${${me}_pid:-}")" ] || continue
		"$hexctl" -s "$tmp/$me.sock" --json show interfaces 2>/dev/null |
		    /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["interfaces"]
print("#   site %s: " % sys.argv[1] + "; ".join(
      "%s rx %d missed %d tx %d drops %d" % (i["name"], i["rx_packets"],
      i.get("rx_missed", 0), i["tx_packets"], i["drops_total"]) for i in d))
' "$me" 2>/dev/null || echo "#   site $me: counters unavailable"
	done
}

# ---- strongSwan ---------------------------------------------------------
#
# A stock charon 5.9 with the plugins of ../shared/interop's recipe
# (kernel-libipsec: ESP in UDP, in charon, through a TUN device), its own
# /run, its state in $tmp/ssw-SITE.  Its defaults are left alone (threads,
# retransmission, half-open limits), except the log: IKE at level 1,
# timestamps in seconds since the epoch with milliseconds.

ssw_dir() { echo "$tmp/ssw-$1"; }

sw() {
	local s=$1 cmd=$2
	shift 2
	swanctl "$cmd" --uri "unix://$(ssw_dir "$s")/charon.vici" "$@"
}

charon_stop() {
	local d pid
	d=$(ssw_dir "$1")
	pid=$(cat "$d/charon.pid" 2>/dev/null) || return 0
	stop_pid "$pid"
	# charon's policy-routing rule for table 220, if it was killed.
	nsx "$(site_ns "$1")" ip rule del table 220 2>/dev/null
	rm -f "$d/charon.pid"
}

charon_start() {
	local s=$1 d charon pid i
	d=$(ssw_dir "$s")
	charon=$(command -v charon-systemd || echo /usr/lib/ipsec/charon)
	charon_stop "$s"
	mkdir -p "$d/run"
	: >"$d/charon.log"
	cat >"$d/strongswan.conf" <<EOF
charon {
  load = random nonce openssl kdf aes sha1 sha2 hmac gcm curve25519 gmp kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://$d/charon.vici }
  }
  filelog {
    log { path = $d/charon.log
          default = 1
          flush_line = yes
          time_format = %s
          time_add_ms = yes }
  }
  syslog { daemon { default = -1 } }
  journal { default = -1 }
}
EOF
	# A private /run (charon refuses a second /var/run/charon.pid);
	# setsid: it outlives the subshell; exec all the way, so $! is it.
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$(site_ns "$s")" \
	    sh -c 'mount -n --bind "$0" /run && exec "$@"' "$d/run" \
	    setsid "$charon" </dev/null >"$d/charon.out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/charon.pid"
	for i in $(seq 100); do
		sw "$s" --stats >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null ||
		    { cat "$d/charon.out" >&2; die "charon $s exited"; }
		sleep 0.05
	done
	die "charon $s: vici not answering after 5 s"
}

charon_load() {
	local out
	out=$(sw "$1" --load-all --file "$2" 2>&1) ||
	    die "charon $1: swanctl --load-all $2: $out"
}

# ---- one TCP stream -----------------------------------------------------

# cpu_sample: "busy softirq total" jiffies of all CPUs from /proc/stat.
cpu_sample() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i;
		print $2 + $3 + $4 + $7 + $8, $8, t }' /proc/stat
}

# proc_cpu PID...: their user+system time in clock ticks, all threads.
proc_cpu() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# measure LABEL KEY: one iperf3 stream h1 -> h2; appends to $tmp/KEY.tcp.
measure() {
	local label=$1 key=$2 load rtt tcp rtx c0 c1 perf_pid='' pa pb t0 t1 a0 a1 b0 b1
	nsx "$h1" ping -n -q -c 5 -i 0.05 -W 1 10.2.0.2 >/dev/null 2>&1 ||
	    die "$label: no ping reply from h2"
	rtt=$(nsx "$h1" ping -n -c 20 -i 0.01 -W 1 10.2.0.2 2>/dev/null |
	    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median)
	load=$(cut -d ' ' -f 1 /proc/loadavg)
	if [ -n "$perf_dir" ] && [ "$i" = 1 ]; then
		perf record -a -g -o "$perf_dir/$key.data" -- sleep $((tcp_s + 1)) \
		    >"$tmp/perf.out" 2>&1 &
		perf_pid=$!
		# Other hexgateds may run on the machine: name ours.
		echo "a $(site_pid a) b $(site_pid b)" >"$perf_dir/$key.pids"
	fi
	pa=$(site_pid a) pb=$(site_pid b)
	t0=$(date +%s%N) a0=$(proc_cpu $pa) b0=$(proc_cpu $pb)
	c0=$(cpu_sample)
	read -r tcp rtx < <(nsx "$h1" iperf3 -c 10.2.0.2 -t "$tcp_s" -J 2>/dev/null |
	    /usr/bin/python3 -c '
import json, sys
try:
    e = json.load(sys.stdin)["end"]
    print("%.3f %d" % (e["sum_received"]["bits_per_second"] / 1e9,
                       e["sum_sent"].get("retransmits", 0)))
except Exception:
    print("n/a n/a")')
	c1=$(cpu_sample)
	a1=$(proc_cpu $pa) b1=$(proc_cpu $pb) t1=$(date +%s%N)
	[ -n "$perf_pid" ] && wait "$perf_pid"
	echo "run $i $label: $tcp Gbit/s, $rtx retransmits, idle ping $rtt ms" \
	    "(load $load before;" \
	    "$(echo "$c0 $c1" | awk '{ t = $6 - $3; if (t <= 0) t = 1
		printf "CPUs %d%% busy, %d%% softirq", 100 * ($4 - $1) / t, 100 * ($5 - $2) / t }');" \
	    "$(echo "$a0 $a1 $b0 $b1 $t0 $t1 $(getconf CLK_TCK)" | awk '{
		s = ($6 - $5) / 1e9 * $7; if (s <= 0) s = 1
		printf "A %d%%, B %d%% of a CPU", 100 * ($2 - $1) / s, 100 * ($4 - $3) / s }'))"
	echo "$tcp" >>"$tmp/$key.tcp"
}

median() {
	grep -v n/a | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	echo "$1 $2" | awk '{ if ($1 == "n/a" || $2 == "n/a" || $2 == 0) print "n/a"; else printf "%.2f\n", $1 / $2 }'
}
