#!/bin/bash
#
# tests/integration/netns_frag.sh: fragmented traffic through a
# masquerading hexgated with two workers.
#
#   [h1 10.0.1.5/24]--- lan 10.0.1.1 [r: hexgated, 2 workers] wan 192.0.2.1 ---[inet 192.0.2.100]
#
# The ports steer a fragment by its addresses (it has no ports), an
# unfragmented packet by its ports, so a flow's fragments may reach
# another worker than its other packets; hexgated hands them to the
# worker that owns the flow (src/dp/steer.c).  What a user checks:
#
# - 16 UDP flows from h1 (source ports 40000-40015) to an echo service on
#   inet each send 100 bytes, then 3000 bytes (two fragments each way at
#   MTU 1500), then 100 bytes again: every datagram is echoed whole, and
#   inet sees each flow under one translated source (192.0.2.1 and one
#   port), whichever size.  Judged on the wrong worker, a flow's big
#   datagram would get a second translation (another port) or be dropped.
# - large pings (3000 bytes) from 8 ping processes (8 identifiers) answer.
# - hexgated counts the fragments it handed over (frags_steered), so the
#   case above really happened.
#
# Usage: netns_frag.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_frag
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout
need_netns
need_programs
PY=/usr/bin/python3
[ -x "$PY" ] || skip "needs $PY"

h1=hg-fh1-$$
inet=hg-fin-$$
r=hg-fr-$$
netns=("$h1" "$inet" "$r")
begin_run

topology() {
	set -ex
	local ns
	for ns in "${netns[@]}"; do
		ip netns add "$ns"
	done
	ip -n "$r" link set lo up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	ip -n "$r" link add r-lan type veth peer name eth0 netns "$h1"
	ip -n "$r" link add r-wan type veth peer name eth0 netns "$inet"
	nsx "$r" "$prepare" r-lan r-wan
	peer "$h1" eth0 10.0.1.5/24 10.0.1.1
	peer "$inet" eth0 192.0.2.100/24 ""	# no route back to 10.0.1.0/24
}

cat >"$conf" <<EOF
{
  "workers": 2,
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:r-lan", "addresses": [ "10.0.1.1/24" ] },
    { "name": "wan", "port": "afpacket:r-wan", "addresses": [ "192.0.2.1/24" ] }
  ],
  "firewall": {
    "known_networks": [ "10.0.1.0/24" ],
    "rules": "rules.v4"
  }
}
EOF
cat >"$tmp/rules.v4" <<EOF
*nat
:POSTROUTING_CUST - [0:0]
-A POSTROUTING_CUST -o wan -s 10.0.1.0/24 -j MASQUERADE
COMMIT
EOF

# The echo service: each datagram comes back with "ADDR:PORT|" (where it
# came from, as inet saw it) in front of it.
cat >"$tmp/echo.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
s.settimeout(60)
while True:
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        sys.exit(0)
    s.sendto(("%s:%d|" % peer).encode() + data, peer)
EOF

# The client: prints "ok FLOWS" or what went wrong.
cat >"$tmp/client.py" <<'EOF'
import socket, sys
bad = []
for sport in range(40000, 40016):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.1.5", sport))
    s.settimeout(2)
    seen = set()
    for size in (100, 3000, 100):
        payload = bytes([sport & 0xff]) * size
        got = None
        for attempt in range(3):	# a first datagram may wait for ARP
            s.sendto(payload, ("192.0.2.100", 9000))
            try:
                got = s.recv(65535)
                break
            except socket.timeout:
                pass
        if got is None:
            bad.append("%d: no echo of %d bytes" % (sport, size))
            break
        src, _, body = got.partition(b"|")
        if body != payload:
            bad.append("%d: %d bytes came back as %d" % (sport, size, len(body)))
        seen.add(src.decode())
    if len(seen) > 1:
        bad.append("%d: inet saw it as %s" % (sport, " and ".join(sorted(seen))))
    elif seen and not next(iter(seen)).startswith("192.0.2.1:"):
        bad.append("%d: inet saw it as %s" % (sport, next(iter(seen))))
    s.close()
print("\n".join(bad) if bad else "ok 16")
sys.exit(1 if bad else 0)
EOF

udp_flows_ok() {
	nsx "$h1" timeout 120 "$PY" "$tmp/client.py"
}

big_pings_ok() {
	local i ok=0
	for i in $(seq 8); do
		if nsx "$h1" timeout 10 ping -n -q -c 2 -i 0.2 -W 2 -s 3000 \
		    192.0.2.100 >/dev/null 2>&1; then
			ok=$((ok + 1))
		fi
	done
	echo "$ok of 8 ping processes answered"
	[ "$ok" = 8 ]
}

steered_counted() {
	local n
	n=$(hx --json show interfaces | "$PY" -c '
import json, sys
print(sum(i.get("frags_steered", 0) for i in json.load(sys.stdin)["interfaces"]))')
	echo "frags_steered $n"
	[ "${n:-0}" -gt 0 ]
}

make_topology
start_hexgated "$r"
nsx "$inet" "$PY" "$tmp/echo.py" &
bg_pids+=($!)
sleep 0.3
check "16 UDP flows, 100/3000/100 bytes each, echoed whole under one translation" udp_flows_ok
check "3000-byte pings from 8 ping processes through MASQUERADE answer" big_pings_ok
check "hexgated counts the fragments it handed to their flow's worker" steered_counted
check "hexgated still running" hg_alive
finish
