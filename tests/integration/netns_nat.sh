#!/bin/bash
#
# tests/integration/netns_nat.sh: the product brief's NAT recipes with real
# TCP, UDP and ICMP between network namespaces.
#
#   [h1 10.0.1.5/25]----- lan 10.0.1.1/25
#                                        [r: hexgated] wan 192.0.2.1 ---[inet 192.0.2.100
#   [srv 10.0.1.200/25]-- dmz 10.0.1.129/25                                  192.0.2.101]
#
#   (hexgated has no bridge yet, so the inside hosts each get a port and a
#   half of 10.0.1.0/24; inet has no route to 10.0.1.0/24 at all)
#
#   [a 10.0.0.5]-- lan 10.0.0.1 [ra: hexgated] tr 192.168.50.1 ---
#                       192.168.50.2 tr [rb: hexgated] lan 10.0.0.1 --[b 10.0.0.5]
#
# - MASQUERADE: h1 reaches inet, which has no route back to 10.0.1.0/24,
#   and sees hexgated's wan address as the source.
# - Port forward: inet 192.0.2.100 reaches srv's RDP port (3389) at
#   192.0.2.1; inet's other address does not.
# - Port forward as the product brief types it, the DNAT rule alone: inet
#   reaches srv:80 at 192.0.2.1:8080 with no FORWARD rule, every flow
#   whichever worker srv's replies steer to; a FORWARD_CUST DROP for it
#   still refuses it.
# - Hairpin: h1 reaches srv through 192.0.2.1:3389 too.
# - NETMAP: sites a and b both use 10.0.0.0/24; a reaches b as
#   172.16.0.0/24, b sees a as 172.17.0.0/24, and the other way round.
# - REDIRECT: h1's TCP to any host on port 8888 is answered by a service
#   of hexgated's own host side (the lan host TAP, port 2222).
# - hexctl nat show lists the translations; the nat rules count packets.
# - The verdict counters (show firewall, hence /metrics) and the rules'
#   counters never go back: not for a nat rule added and deleted, a
#   restore of the saved rules, nor a reload of the rule file.
#
# Usage: netns_nat.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_nat
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat ethtool sha256sum timeout ss
need_netns
need_programs

h1=hg-nh1-$$
srv=hg-nsv-$$
inet=hg-nin-$$
r=hg-nr-$$
a=hg-na-$$
b=hg-nb-$$
ra=hg-nra-$$
rb=hg-nrb-$$
netns=("$h1" "$srv" "$inet" "$r" "$a" "$b" "$ra" "$rb")
begin_run

topology() {
	set -ex
	local ns
	for ns in "${netns[@]}"; do
		ip netns add "$ns"
	done
	for ns in "$r" "$ra" "$rb"; do
		ip -n "$ns" link set lo up
		nsx "$ns" sysctl -q -w net.ipv4.ip_forward=0
	done
	ip -n "$r" link add r-h1 type veth peer name eth0 netns "$h1"
	ip -n "$r" link add r-srv type veth peer name eth0 netns "$srv"
	ip -n "$r" link add r-wan type veth peer name eth0 netns "$inet"
	nsx "$r" "$prepare" r-h1 r-srv r-wan
	peer "$h1" eth0 10.0.1.5/25 10.0.1.1
	peer "$srv" eth0 10.0.1.200/25 10.0.1.129
	# The Internet: no route to 10.0.1.0/24, only its own subnet.
	peer "$inet" eth0 192.0.2.100/24 ""
	ip -n "$inet" addr add 192.0.2.101/24 dev eth0

	ip -n "$ra" link add ra-lan type veth peer name eth0 netns "$a"
	ip -n "$ra" link add ra-tr type veth peer name rb-tr netns "$rb"
	ip -n "$rb" link add rb-lan type veth peer name eth0 netns "$b"
	nsx "$ra" "$prepare" ra-lan ra-tr
	nsx "$rb" "$prepare" rb-lan rb-tr
	peer "$a" eth0 10.0.0.5/24 10.0.0.1
	peer "$b" eth0 10.0.0.5/24 10.0.0.1
}

write_config_r() {
	cat >"$conf" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:r-h1", "addresses": [ "10.0.1.1/25" ],
      "host_tap": true },
    { "name": "dmz", "port": "afpacket:r-srv", "addresses": [ "10.0.1.129/25" ] },
    { "name": "wan", "port": "afpacket:r-wan", "addresses": [ "192.0.2.1/24" ] }
  ],
  "firewall": {
    "known_networks": [ "10.0.1.0/24" ],
    "rules": "rules.v4"
  }
}
EOF
	cat >"$tmp/rules.v4" <<EOF
*filter
:FORWARD_CUST - [0:0]
-A FORWARD_CUST -s 192.0.2.100/32 -d 10.0.1.200/32 -p tcp -m tcp --dport 3389 -j ACCEPT
COMMIT
*nat
:PREROUTING_CUST - [0:0]
:POSTROUTING_CUST - [0:0]
-A PREROUTING_CUST -i wan -s 192.0.2.100/32 -d 192.0.2.1/32 -p tcp -m tcp --dport 3389 -j DNAT --to-destination 10.0.1.200
-A PREROUTING_CUST -i lan -d 192.0.2.1/32 -p tcp -m tcp --dport 3389 -j DNAT --to-destination 10.0.1.200
-A PREROUTING_CUST -i lan -p tcp -m tcp --dport 8888 -j REDIRECT --to-ports 2222
-A PREROUTING_CUST -i lan -p tcp -m tcp --dport 8889 -j REDIRECT --to-ports 2223
-A PREROUTING_CUST -i wan -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.200:80
-A POSTROUTING_CUST -o dmz -s 10.0.1.0/25 -d 10.0.1.200/32 -p tcp -m tcp --dport 3389 -j MASQUERADE
-A POSTROUTING_CUST -o wan -s 10.0.1.0/24 -j MASQUERADE
COMMIT
EOF
}

# write_config_site NAME LAN_PORT TR_PORT TR_ADDR PEER_TR OWN REMOTE: one
# site's hexgated; OWN and REMOTE are the imaginary /24s (first 3 octets)
# its own and the other site's 10.0.0.0/24 are known as.
write_config_site() {
	local name=$1 port_lan=$2 port_tr=$3 tr=$4 peer_tr=$5 own=$6 remote=$7
	cat >"$tmp/$name.json" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$tmp/$name.sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$port_lan", "addresses": [ "10.0.0.1/24" ] },
    { "name": "tr", "port": "afpacket:$port_tr", "addresses": [ "$tr/30" ] }
  ],
  "routes": [ { "prefix": "$remote.0/24", "via": "$peer_tr" } ],
  "firewall": {
    "known_networks": [ "10.0.0.0/24", "$remote.0/24" ],
    "rules": "$name.v4"
  }
}
EOF
	cat >"$tmp/$name.v4" <<EOF
*nat
:PREROUTING_CUST - [0:0]
:POSTROUTING_CUST - [0:0]
-A PREROUTING_CUST -i tr -d $own.0/24 -j NETMAP --to 10.0.0.0/24
-A POSTROUTING_CUST -o tr -s 10.0.0.0/24 -j NETMAP --to $own.0/24
COMMIT
EOF
}

start_site() {
	local name=$1 ns=$2 i
	(cd "$tmp" && exec ip netns exec "$ns" "$hexgated" -c "$tmp/$name.json") \
	    2>"$tmp/$name.log" &
	bg_pids+=("$!")
	for i in $(seq 100); do
		"$hexctl" -s "$tmp/$name.sock" show interfaces >/dev/null 2>&1 &&
		    return 0
		sleep 0.1
	done
	fatal "hexgated for site $name starts" "$(tail -n 5 "$tmp/$name.log")"
}

# tcp_peer NS_SERVER ADDR PORT NS_CLIENT DST [DPORT]: one connection (to
# DST:DPORT, PORT by default); prints the address the server saw the
# client come from.
tcp_peer() {
	local srv_ns=$1 bind=$2 port=$3 cli_ns=$4 dst=$5 dport=${6:-$3} out pid
	ip netns exec "$srv_ns" timeout 15 socat -u \
	    TCP4-LISTEN:"$port",bind="$bind",reuseaddr \
	    SYSTEM:'echo "$SOCAT_PEERADDR"' 2>/dev/null &
	pid=$!
	bg_pids+=("$pid")
	tcp_listening "$srv_ns" "$port" || { echo "no listener"; return 1; }
	out=$(nsx "$cli_ns" timeout 8 socat -u \
	    TCP4:"$dst":"$dport",connect-timeout=4 - 2>&1)
	echo "$out"
}

masquerade_ok() {
	local seen
	ping_ok "$h1" 192.0.2.100 || return 1
	seen=$(tcp_peer "$inet" 192.0.2.100 8080 "$h1" 192.0.2.100)
	echo "inet saw the client as: $seen"
	[ "$seen" = 192.0.2.1 ]
}

masquerade_data_ok() {
	local pid
	head -c 4M /dev/urandom >"$tmp/data"
	ip netns exec "$inet" timeout 30 socat -u \
	    TCP4-LISTEN:8081,bind=192.0.2.100,reuseaddr \
	    OPEN:"$tmp/data.rx",creat,trunc 2>/dev/null &
	pid=$!
	bg_pids+=("$pid")
	tcp_listening "$inet" 8081 || return 1
	nsx "$h1" timeout 30 socat -u OPEN:"$tmp/data" \
	    TCP4:192.0.2.100:8081,connect-timeout=4 || return 1
	wait "$pid"
	[ "$(sha256sum <"$tmp/data")" = "$(sha256sum <"$tmp/data.rx")" ]
}

udp_masquerade_ok() {
	local out
	ip netns exec "$inet" timeout 10 socat -u \
	    UDP4-RECVFROM:5353,bind=192.0.2.100 SYSTEM:'echo "$SOCAT_PEERADDR"' \
	    >"$tmp/udp-peer" 2>/dev/null &
	bg_pids+=("$!")
	sleep 0.5
	echo hello | nsx "$h1" socat -u - UDP4-SENDTO:192.0.2.100:5353
	sleep 1
	out=$(cat "$tmp/udp-peer")
	echo "inet saw the UDP source as: $out"
	[ "$out" = 192.0.2.1 ]
}

port_forward_ok() {
	local seen
	seen=$(tcp_peer "$srv" 10.0.1.200 3389 "$inet" 192.0.2.1)
	echo "srv saw the client as: $seen"
	[ "$seen" = 192.0.2.100 ]
}

port_forward_other_source() {
	local out rc pid
	ip netns exec "$srv" timeout 10 socat -u \
	    TCP4-LISTEN:3389,bind=10.0.1.200,reuseaddr SYSTEM:'echo reached' \
	    2>/dev/null &
	pid=$!
	bg_pids+=("$pid")
	tcp_listening "$srv" 3389 || return 1
	out=$(nsx "$inet" timeout 6 socat -u \
	    TCP4:192.0.2.1:3389,bind=192.0.2.101,connect-timeout=3 - 2>&1)
	rc=$?
	echo "$out"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$rc" != 0 ] && ! echo "$out" | grep -q reached
}

# The DNAT rule alone: no FORWARD_CUST rule accepts srv:80, the default
# for a port forward does.  8 connections at once: the port changes
# (8080 -> 80), and so does where srv's replies steer; each must come
# back to the worker that holds its flow.
dnat_only_ok() {
	local i ok=0 pids=()
	ip netns exec "$srv" timeout 15 socat \
	    TCP4-LISTEN:80,bind=10.0.1.200,reuseaddr,fork \
	    SYSTEM:'echo "$SOCAT_PEERADDR"' 2>/dev/null &
	bg_pids+=("$!")
	tcp_listening "$srv" 80 || { echo "no listener"; return 1; }
	for i in $(seq 8); do
		nsx "$inet" timeout 8 socat -u \
		    TCP4:192.0.2.1:8080,connect-timeout=4 - \
		    >"$tmp/fwd.$i" 2>&1 &
		pids+=("$!")
	done
	wait "${pids[@]}"
	for i in $(seq 8); do
		echo "srv saw client $i as: $(cat "$tmp/fwd.$i")"
		[ "$(cat "$tmp/fwd.$i")" = 192.0.2.100 ] && ok=$((ok + 1))
	done
	echo "NOTE: $ok of 8 connections"
	[ "$ok" = 8 ]
}

# ... and FORWARD_CUST can still refuse it: the connection times out.
dnat_forward_drop_ok() {
	local out rc pid
	hx firewall add FORWARD_CUST -d 10.0.1.200 -p tcp --dport 80 -j DROP ||
	    return 1
	ip netns exec "$srv" timeout 10 socat -u \
	    TCP4-LISTEN:80,bind=10.0.1.200,reuseaddr SYSTEM:'echo reached' \
	    2>/dev/null &
	pid=$!
	bg_pids+=("$pid")
	tcp_listening "$srv" 80 || return 1
	out=$(nsx "$inet" timeout 6 socat -u \
	    TCP4:192.0.2.1:8080,connect-timeout=3 - 2>&1)
	rc=$?
	echo "$out"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	hx firewall delete FORWARD_CUST -d 10.0.1.200 -p tcp --dport 80 \
	    -j DROP || return 1
	[ "$rc" != 0 ] && ! echo "$out" | grep -q reached
}

hairpin_ok() {
	local seen
	seen=$(tcp_peer "$srv" 10.0.1.200 3389 "$h1" 192.0.2.1)
	echo "srv saw the inside client as: $seen"
	[ "$seen" = 10.0.1.129 ] && return 0
	hx show interfaces
	hx nat show
	return 1
}

netmap_ok() {
	local seen
	ping_ok "$a" 172.16.0.5 || return 1
	seen=$(tcp_peer "$b" 10.0.0.5 9000 "$a" 172.16.0.5)
	echo "b saw a as: $seen"
	[ "$seen" = 172.17.0.5 ] || return 1
	seen=$(tcp_peer "$a" 10.0.0.5 9001 "$b" 172.17.0.5)
	echo "a saw b as: $seen"
	[ "$seen" = 172.16.0.5 ]
}

# REDIRECT: whatever address h1 asks for on port 8888, a service of
# hexgate's own host side (port 2222 on the lan TAP) answers, and h1 sees
# the answer come from where it sent.
redirect_ok() {
	local out
	ip netns exec "$r" timeout 15 socat \
	    TCP4-LISTEN:2222,bind=10.0.1.1,reuseaddr SYSTEM:'echo redirected' \
	    2>/dev/null &
	bg_pids+=("$!")
	tcp_listening "$r" 2222 || { echo "no service on the TAP"; return 1; }
	out=$(nsx "$h1" timeout 8 socat - \
	    TCP4:192.0.2.100:8888,connect-timeout=4 </dev/null 2>&1)
	echo "h1 got: $out"
	# h1's TCP completes only if every reply looked as if it came from
	# 192.0.2.100:8888: the host's answers were translated back.
	[ "$out" = redirected ]
}

# The host's service speaks first, after 4 s of silence: by then the tun
# driver has forgotten which TAP queue the flow came in on (about 3 s), so
# its answer may come out on another worker's queue than the one that
# owns the flow.  8 connections at once, so both workers get some.
redirect_idle_ok() {
	local i ok=0 pids=()
	ip netns exec "$r" timeout 20 socat -t 10 \
	    TCP4-LISTEN:2223,bind=10.0.1.1,reuseaddr,fork \
	    SYSTEM:'sleep 4; echo late' 2>/dev/null &
	bg_pids+=("$!")
	tcp_listening "$r" 2223 || { echo "no service on the TAP"; return 1; }
	for i in $(seq 8); do
		nsx "$h1" timeout 12 socat -t 10 - \
		    TCP4:192.0.2.100:8889,connect-timeout=4 </dev/null \
		    >"$tmp/late.$i" 2>&1 &
		pids+=("$!")
	done
	wait "${pids[@]}"
	for i in $(seq 8); do
		[ "$(cat "$tmp/late.$i")" = late ] && ok=$((ok + 1))
	done
	echo "$ok of 8 connections got the host's late answer"
	[ "$ok" = 8 ]
}

nat_show_ok() {
	local out
	out=$(hx nat show) || return 1
	echo "$out"
	echo "$out" | grep -q "192.0.2.1" || { echo "no masqueraded flow listed"; return 1; }
	hx firewall save | grep -- '-j MASQUERADE' | grep -v '^\[0:0\]' |
	    grep -q . || { echo "the MASQUERADE rule counted nothing"; return 1; }
}

# fw_counts: every counter a user reads of the IPv4 firewall, one
# "name value" a line: the verdicts by hook and reason, and each rule's
# packets from firewall save (by its text).
fw_counts() {
	hx --json show firewall | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["ipv4"]["verdicts"]
for hook, whys in sorted(v.items()):
    for why, n in sorted(whys.items()):
        print("verdict:%s:%s %d" % (hook, why, n))' || return 1
	hx firewall save | sed -n 's/^\[\([0-9]*\):[0-9]*\] \(.*\)/rule:\2 \1/p' |
	    tr ' ' '_' | sed 's/_\([0-9]*\)$/ \1/'
}

# counters_not_lower BEFORE AFTER: each counter of BEFORE is in AFTER,
# at least as high.
counters_not_lower() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    return dict(l.rsplit(" ", 1) for l in open(p).read().split("\n") if l)
a, b = load(sys.argv[1]), load(sys.argv[2])
bad = [k for k in a if k not in b or int(b[k]) < int(a[k])]
for k in bad:
    print("went back: %s %s -> %s" % (k, a[k], b.get(k, "gone")))
print("NOTE: %d counters, %d nonzero" % (len(a), sum(int(x) > 0 for x in a.values())))
sys.exit(1 if bad else 0)
PY
}

counters_survive_ok() {
	local step
	fw_counts >"$tmp/c0" || return 1
	cat "$tmp/c0"
	grep -q '^verdict:forward:established [1-9]' "$tmp/c0" || return 1
	grep -q 'MASQUERADE [1-9]' "$tmp/c0" || return 1
	hx firewall add PREROUTING_CUST -i wan -p udp --dport 9999 \
	    -j DNAT --to-destination 10.0.1.200 || return 1
	fw_counts >"$tmp/c1" || return 1
	echo "after a nat rule was added:"
	counters_not_lower "$tmp/c0" "$tmp/c1" || return 1
	hx firewall delete PREROUTING_CUST -i wan -p udp --dport 9999 \
	    -j DNAT --to-destination 10.0.1.200 || return 1
	fw_counts >"$tmp/c2" || return 1
	echo "after it was deleted:"
	grep -v -- '--dport_9999_' "$tmp/c1" >"$tmp/c1-kept"
	counters_not_lower "$tmp/c1-kept" "$tmp/c2" || return 1
	hx firewall save >"$tmp/saved.v4" || return 1
	hx firewall restore "$tmp/saved.v4" || return 1
	fw_counts >"$tmp/c3" || return 1
	echo "after a restore of the saved rules:"
	counters_not_lower "$tmp/c2" "$tmp/c3" || return 1
	hx reload || return 1
	fw_counts >"$tmp/c4" || return 1
	echo "after a reload:"
	counters_not_lower "$tmp/c3" "$tmp/c4"
}

make_topology
write_config_r
start_hexgated "$r"
check "hexgated starts with nat rules" true

check "MASQUERADE: h1 pings and connects to inet, seen as 192.0.2.1" masquerade_ok
check "MASQUERADE: 4 MiB TCP h1 -> inet, sha256 matches" masquerade_data_ok
check "MASQUERADE: UDP h1 -> inet, seen as 192.0.2.1" udp_masquerade_ok
check "port forward: inet 192.0.2.100 reaches srv:3389 at 192.0.2.1" port_forward_ok
check "port forward: inet's other address does not" port_forward_other_source
check "port forward, DNAT rule alone: inet reaches srv:80 at 192.0.2.1:8080" dnat_only_ok
check "port forward, DNAT rule alone: a FORWARD_CUST DROP refuses it" dnat_forward_drop_ok
check "hairpin: h1 reaches srv through 192.0.2.1:3389" hairpin_ok
check "REDIRECT: h1's TCP to any host on 8888 reaches hexgate's own service" redirect_ok
check "REDIRECT: the host's service answers first after 4 s of silence (8 flows)" redirect_idle_ok
check "hexctl nat show lists translations; nat rules count" nat_show_ok
check "counters survive a nat change, a restore and a reload" counters_survive_ok

write_config_site sa ra-lan ra-tr 192.168.50.1 192.168.50.2 172.17.0 172.16.0
write_config_site sb rb-lan rb-tr 192.168.50.2 192.168.50.1 172.16.0 172.17.0
start_site sa "$ra"
start_site sb "$rb"
check "NETMAP: two sites on 10.0.0.0/24 reach each other as 172.16/172.17" netmap_ok
check "hexgated still running" alive_ok
finish
