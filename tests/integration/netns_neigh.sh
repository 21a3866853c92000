#!/bin/bash
#
# tests/integration/netns_neigh.sh: the two neighbour table floods of
# issue 12, as an attacker on a LAN would send them, and after each a host
# hexgated has never resolved is reachable through it within a second.
#
#   [ns h1]                    [ns r]                          [ns h2]
#   h1-eth0 ---------veth--------- r-eth1   hexgated   r-eth2 ---------veth--------- h2-eth0
#   10.1.0.2/24                    10.1.0.1/24      10.4.0.1/15                      10.4.0.2/15
#   (+ 10.1.0.77, added                                                              (+ 10.5.250.9, added
#    after flood 1)                                                                   after flood 2)
#
#  1. 50,000 ARP requests for 10.1.0.1 from off-subnet senders (172.16/12,
#     each its own MAC), sent from h1 in at most 5 s; then h2 pings
#     10.1.0.77, a new address on h1.
#  2. UDP from h1 to 70,000 addresses of the connected 10.4.0.0/15
#     (10.4.0.16 up); then h1 pings 10.5.250.9, a new address on h2.
# "After" a flood is once hexgated has taken it all off the port (its rx
# counter still for 0.3 s): on two shared cores it lags the sender.
# Before issue 12 either flood filled the table for good (NEIGH_TABLE_FULL
# for every new neighbour until a restart).
#
# Usage: netns_neigh.sh BUILD_DIR        (root; exits 77 when it cannot run)
#   HG_WORKERS=2      hexgated's worker threads
# Output and clean-up as tests/integration/lib.sh says.

set -u

prog=netns_neigh
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout /usr/bin/python3
need_netns
need_programs

h1=hg-h1-$$
r=hg-r-$$
h2=hg-h2-$$
netns=("$h1" "$r" "$h2")
begin_run

topology() {
	set -ex
	ip netns add "$h1"
	ip netns add "$r"
	ip netns add "$h2"
	ip -n "$r" link add r-eth1 type veth peer name h1-eth0 netns "$h1"
	ip -n "$r" link add r-eth2 type veth peer name h2-eth0 netns "$h2"
	ip -n "$r" link set lo up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$r" sysctl -q -w net.ipv6.conf.all.forwarding=0
	nsx "$r" "$prepare" r-eth1 r-eth2
	host_setup "$h1" 1
	# h2 on the /15: not host_setup's /24.
	ip -n "$h2" link set lo up
	nsx "$h2" "$prepare" --peer h2-eth0
	ip -n "$h2" addr add 10.4.0.2/15 dev h2-eth0
	ip -n "$h2" link set h2-eth0 up
	ip -n "$h2" route add default via 10.4.0.1
	# The flood's destinations get no answer: keep h2 from logging them.
	nsx "$h2" sysctl -q -w net.ipv4.icmp_ratelimit=1000
}

# conntrack has room for the 70,000 flows of flood 2, all from h1, and no
# bound on one source's share: conntrack refusing the ping (a full table,
# or h1 over its share) is issue 12's item 8 (netns_ct_flood.sh), not
# this test's subject.
write_config() {
	cat >"$conf" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "r-eth1", "port": "afpacket:r-eth1",
      "addresses": [ "10.1.0.1/24" ] },
    { "name": "r-eth2", "port": "afpacket:r-eth2",
      "addresses": [ "10.4.0.1/15" ] }
  ],
  "firewall": { "known_networks": [ "10.1.0.0/24", "10.4.0.0/15" ],
                "conntrack": { "max_entries": 262144,
                               "source_limit_percent": 100 } }
}
EOF
}

# neigh_stat KEY: a number from "show version"'s router.neighbours.
neigh_stat() {
	hx --json show version | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["router"]["neighbours"][sys.argv[1]])' "$1"
}

# reach_within_1s NS DST: echoes every 0.1 s for one second; one reply
# is enough (the first may wait for resolution).
reach_within_1s() {
	local out rx
	out=$(nsx "$1" timeout 5 ping -n -i 0.1 -w 1 -W 1 "$2" 2>&1)
	echo "$out"
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "NOTE: ${rx:-0} replies in 1 s"
	[ "${rx:-0}" -ge 1 ]
}

# ARP requests from off-subnet senders, N of them, on h1-eth0; prints the
# seconds it took.  Raw AF_PACKET frames, built once, sent in a loop.
arp_flood() {
	nsx "$h1" /usr/bin/python3 - "$1" <<'PY'
import socket, struct, sys, time
n = int(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("h1-eth0", 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
tpa = socket.inet_aton("10.1.0.1")
frames = []
for i in range(n):
    mac = struct.pack("!HI", 0x0200, 0x10000 + i)
    spa = struct.pack("!I", 0xac100000 + i)       # 172.16.0.0/12
    frames.append(b"\xff" * 6 + mac + b"\x08\x06" +
                  struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
                  mac + spa + b"\0" * 6 + tpa + b"\0" * 18)
t0 = time.monotonic()
for i, f in enumerate(frames):
    while True:
        try:
            s.send(f)
            break
        except BlockingIOError:
            time.sleep(0.0005)
        except OSError as e:   # ENOBUFS: the queue is full for a moment
            time.sleep(0.0005)
    if i % 1000 == 999:   # 25,000 a second: 2 s, within the 5 s, and a
        # pace a 2-core box's hexgated takes without losing frames
        lag = t0 + (i + 1) / 25000.0 - time.monotonic()
        if lag > 0:
            time.sleep(lag)
print("%.2f" % (time.monotonic() - t0))
PY
}

# UDP to N addresses of 10.4.0.0/15 (10.4.0.16 and up) from h1.
udp_flood() {
	nsx "$h1" /usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
t0 = time.monotonic()
for i in range(n):
    a = 0x0a040010 + i
    dst = "10.%d.%d.%d" % ((a >> 16) & 255, (a >> 8) & 255, a & 255)
    while True:
        try:
            s.sendto(b"x" * 18, (dst, 9))
            break
        except OSError:
            time.sleep(0.0005)
    if i % 1000 == 999:   # at most 50,000 a second
        lag = t0 + (i + 1) / 50000.0 - time.monotonic()
        if lag > 0:
            time.sleep(lag)
print("%.2f" % (time.monotonic() - t0))
PY
}

# drained: hexgated's rx counters stop moving (0.3 s), within 60 s.
drained() {
	local prev= cur i
	for i in $(seq 200); do
		cur=$(hx --json show interfaces | /usr/bin/python3 -c '
import json, sys
print(sum(i["rx_packets"] for i in json.load(sys.stdin)["interfaces"]))')
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.3
	done
	echo "hexgated still receiving 60 s after the flood"
	return 1
}

warm_ok() {
	ping_ok "$h1" 10.1.0.1 && ping_ok "$h1" 10.4.0.2
}

arp_flood_ok() {
	local secs refused entries
	secs=$(arp_flood 50000) || { echo "the sender failed"; return 1; }
	drained || return 1
	refused=$(neigh_stat learn_refused)
	entries=$(neigh_stat entries)
	echo "sent 50000 in $secs s; learn_refused $refused; entries $entries"
	echo "NOTE: 50000 requests in $secs s, $refused refused, $entries entries"
	awk -v s="$secs" 'BEGIN { exit !(s <= 5) }' ||
	    { echo "the flood took more than 5 s"; return 1; }
	# Some frames may be lost in the port under load; most must arrive.
	[ "$refused" -ge 40000 ] ||
	    { echo "fewer than 40000 senders refused"; return 1; }
	[ "$entries" -lt 100 ] ||
	    { echo "off-subnet senders took $entries entries"; return 1; }
}

new_after_arp_ok() {
	ip -n "$h1" addr add 10.1.0.77/24 dev h1-eth0
	reach_within_1s "$h2" 10.1.0.77
}

udp_flood_ok() {
	local secs unres incomplete
	secs=$(udp_flood 70000) || { echo "the sender failed"; return 1; }
	drained || return 1
	unres=$(hx show interfaces | sed -n 's/.*drop neigh_unres_full: //p')
	incomplete=$(neigh_stat incomplete)
	echo "sent 70000 in $secs s; incomplete now $incomplete; refused (unres) ${unres:-?}"
	echo "NOTE: 70000 destinations in $secs s, $incomplete incomplete, $(neigh_stat entries) entries"
	[ "$incomplete" -le 256 ] ||
	    { echo "more than 256 resolutions in flight on one interface"; return 1; }
}

new_after_udp_ok() {
	ip -n "$h2" addr add 10.5.250.9/15 dev h2-eth0
	reach_within_1s "$h1" 10.5.250.9 || { hx show interfaces; return 1; }
}

make_topology
write_config
start_hexgated "$r"
t_start=$(date +%s)
check "hosts reach hexgated and each other before the floods" warm_ok
check "50,000 ARP requests from off-subnet senders in <= 5 s: none learned" arp_flood_ok
check "after the ARP flood, a new neighbour (10.1.0.77) answers within 1 s" new_after_arp_ok
check "UDP to 70,000 addresses of the connected /15: resolutions bounded" udp_flood_ok
check "after the /15 flood, a new neighbour (10.5.250.9) answers within 1 s" new_after_udp_ok
check "hexgated is still running" alive_ok
echo "# $(($(date +%s) - t_start)) s"
finish
