#!/bin/bash
#
# tests/integration/netns_ike_children.sh: one IKE SA with two child SAs
# (swanctl's children.NAME) between hexgated and a stock strongSwan 5.9:
# each child its own ESP SA pair and selectors, behind one tunnel
# interface that sends each packet through the child whose selectors
# take it.
#
#   h1 (10.1.0.2) -- a: hexgated -- wan 192.0.2.0/24 -- s: strongSwan
#                     ipsec connection dc1    net: 10.2.0.0/24 (10.2.0.1)
#                     10.1.0.0/24 ===         db:  10.3.0.0/24 (10.3.0.1)
#
# Checks: hexgated initiates and both children are up at both ends (the
# second by CREATE_CHILD_SA), with the SPIs strongSwan holds; pings to
# 10.2.0.1 go through net's SAs only and pings to 10.3.0.1 through db's
# only (strongSwan's per-child packet counters); strongSwan rekeys db
# under a 100-per-second ping to 10.3.0.1 that loses nothing, net's SPIs
# untouched; strongSwan initiates both children and hexgated, the
# responder, finds each by its selectors; hexctl ipsec down deletes the
# IKE SA with both children at both ends.
#
# Usage: netns_ike_children.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_ike_children
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap
. "$(dirname "$0")/strongswan.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout swanctl base64 /usr/bin/python3
command -v charon-systemd >/dev/null || [ -x /usr/lib/ipsec/charon ] ||
    skip "charon not found (scripts/install-deps installs strongSwan)"
need_netns
need_programs

h1=hg-ch1-$$
a=hg-ca-$$
s=hg-cs-$$
netns=("$h1" "$a" "$s")
begin_run
PSK='children-psk'

topology() {
	set -ex
	for n in "$h1" "$a" "$s"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name s-wan netns "$s"
	ip -n "$a" link set lo up
	nsx "$a" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$a" "$prepare" a-lan a-wan
	host_setup "$h1" 1
	peer "$s" s-wan 192.0.2.2/24 ""
	ip -n "$s" addr add 10.2.0.1/32 dev lo
	ip -n "$s" addr add 10.3.0.1/32 dev lo
}

# config START_ACTION
config() {
	cat >"$conf" <<EOF2
{
  "workers": 1,
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:a-lan", "addresses": [ "10.1.0.1/24" ] },
    { "name": "wan", "port": "afpacket:a-wan", "addresses": [ "192.0.2.1/24" ] }
  ],
  "ipsec": {
    "connections": {
      "dc1": {
        "local_addrs": [ "192.0.2.1" ],
        "remote_addrs": [ "192.0.2.2" ],
        "local": { "auth": "psk", "id": "192.0.2.1" },
        "remote": { "auth": "psk", "id": "192.0.2.2" },
        "children": {
          "net": { "local_ts": [ "10.1.0.0/24" ],
                   "remote_ts": [ "10.2.0.0/24" ],
                   "esp_proposals": [ "aes256gcm16" ],
                   "start_action": "$1" },
          "db": { "local_ts": [ "10.1.0.0/24" ],
                  "remote_ts": [ "10.3.0.0/24" ],
                  "esp_proposals": [ "aes128gcm16" ],
                  "start_action": "$1" }
        }
      }
    },
    "secrets": { "ike-dc1": { "id": "192.0.2.2", "secret": "$PSK" } }
  },
  "firewall": { "known_networks": [ "10.1.0.0/24" ],
                "rules": "rules.v4", "rules6": "rules.v6" }
}
EOF2
	printf '*filter\n:INPUT_CUST - [0:0]\n:FORWARD_CUST - [0:0]\nCOMMIT\n' \
	    >"$tmp/rules.v4"
	cp "$tmp/rules.v4" "$tmp/rules.v6"
}

# both_up: one IKE SA at each end with both children installed.
both_up() {
	for _ in $(seq 100); do
		if [ "$(sw "$s" --list-sas 2>/dev/null | grep -c INSTALLED)" = 2 ] &&
		    hx --json ipsec status 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sas = [sa for sa in json.load(sys.stdin)["ike_sas"]
       if sa["state"] == "ESTABLISHED"]
sys.exit(0 if len(sas) == 1 and
    sorted(c["name"] for c in sas[0]["children"]) == ["db", "net"] else 1)'
		then
			hx ipsec status
			sw "$s" --list-sas
			return 0
		fi
		sleep 0.1
	done
	echo "not both up after 10 s"
	hx --json ipsec status; sw "$s" --list-sas
	tail -n 30 "$(sw_log "$s")"; hg_log_tail
	return 1
}

# Each child's SPIs at hexgated are strongSwan's, crossed, and each has
# its own selectors and algorithm.
spis_ok() {
	hx --json ipsec status >"$tmp/st.json" || return 1
	sw "$s" --list-sas >"$tmp/sas"
	/usr/bin/python3 - "$tmp/st.json" "$tmp/sas" <<'PY'
import json, re, sys
sa = json.load(open(sys.argv[1]))["ike_sas"][0]
sw = open(sys.argv[2]).read()
ch = {c["name"]: c for c in sa["children"]}
assert ch["net"]["remote_ts"] == ["10.2.0.0/24"], ch
assert ch["db"]["remote_ts"] == ["10.3.0.0/24"], ch
assert "AES_GCM_16_256" in ch["net"]["algorithms"], ch
assert "AES_GCM_16_128" in ch["db"]["algorithms"], ch
for name, c in ch.items():
    # swanctl: "  NAME: #N, reqid R, INSTALLED, ..." then "in  SPI," and
    # "out SPI," lines
    m = re.search(r"^\s+%s: #\d+.*?\n\s+in\s+([0-9a-f]{8}),.*?\n\s+out\s+([0-9a-f]{8})," % name,
                  sw, re.M | re.S)
    assert m, (name, sw)
    assert m.group(1) == c["spi_out"] and m.group(2) == c["spi_in"], (name, m.groups(), c)
print("OK", {n: (c["spi_in"], c["spi_out"]) for n, c in ch.items()})
PY
}

# packets_in CHILD: strongSwan's inbound packet count of that child.
packets_in() {
	sw "$s" --list-sas | /usr/bin/python3 -c '
import re, sys
t = sys.stdin.read()
m = re.search(r"^\s+%s: #\d+.*?\n\s+in\s+[0-9a-f]{8},\s+\d+ bytes,\s+(\d+) packets" % sys.argv[1], t, re.M | re.S)
print(m.group(1) if m else "none")' "$1"
}

# route_ok DST CHILD OTHER: pings to DST pass, counted by CHILD's
# inbound SA at strongSwan and not by OTHER's.
route_ok() {
	local c0 o0 c1 o1
	c0=$(packets_in "$2") o0=$(packets_in "$3")
	ping_ok "$h1" "$1" || return 1
	c1=$(packets_in "$2") o1=$(packets_in "$3")
	echo "$2: $c0 -> $c1 packets in; $3: $o0 -> $o1"
	[ "$c1" != none ] && [ "$o1" != none ] || return 1
	[ "$((c1 - c0))" -ge 3 ] && [ "$o1" = "$o0" ]
}

# strongSwan rekeys db while 300 pings at 100 a second go to 10.3.0.1:
# none lost; net keeps its SPIs.
rekey_db_ok() {
	local net0 out
	net0=$(hx --json ipsec status | /usr/bin/python3 -c '
import json, sys
print([c["spi_in"] for c in json.load(sys.stdin)["ike_sas"][0]["children"] if c["name"] == "net"][0])')
	(sleep 1; sw "$s" --rekey --child db) >"$tmp/told.out" 2>&1 &
	bg_pids+=("$!")
	out=$(nsx "$h1" ping -n -q -c 300 -i 0.01 -W 1 10.3.0.1 2>&1)
	echo "$out"
	grep -q " 0% packet loss" <<<"$out" || { echo "pings lost"; return 1; }
	grep -qE "CHILD_SA db\{[0-9]+\}: old SPIs .* deleted after the rekey" \
	    "$tmp/hexgated.log" || { echo "no rekey of db logged"; return 1; }
	hx --json ipsec status | grep -q "\"spi_in\": *\"$net0\"" ||
	    { echo "net's SPIs changed"; return 1; }
}

down_ok() {
	hx ipsec down dc1 || return 1
	for _ in $(seq 50); do
		if ! sw "$s" --list-sas 2>/dev/null | grep -q ESTABLISHED &&
		    ! hx --json ipsec status | grep -q ESTABLISHED; then
			! nsx "$h1" ping -n -c 1 -W 1 10.3.0.1 >/dev/null ||
			    { echo "db still carries"; return 1; }
			return 0
		fi
		sleep 0.1
	done
	echo "still up"; sw "$s" --list-sas; return 1
}

responder_ok() {
	sw "$s" --initiate --child db --timeout 10 &&
	    sw "$s" --initiate --child net --timeout 10 || return 1
	both_up && spis_ok && ping_ok "$h1" 10.2.0.1 &&
	    ping_ok "$h1" 10.3.0.1 &&
	    hx --json ipsec status | grep -q '"initiator": *false'
}

make_topology
config start
SW_CHILD2="10.3.0.0/24 10.1.0.0/24" sw_start "$s" 192.0.2.2 192.0.2.1 \
    10.2.0.0/24 10.1.0.0/24 "$PSK" none ||
    fatal "strongSwan starts" "charon did not start"
start_hexgated "$a"

check "hexgated initiates: one IKE SA, both children up at both ends" both_up
check "each child's SPIs, selectors and algorithm as strongSwan's" spis_ok
check "10.2.0.1 goes through net's SAs, not db's" route_ok 10.2.0.1 net db
check "10.3.0.1 goes through db's SAs, not net's" route_ok 10.3.0.1 db net
check "strongSwan rekeys db under a 100/s ping: none lost, net untouched" rekey_db_ok
check "ipsec down: both children deleted at both ends" down_ok
config none
hx reload >/dev/null
check "strongSwan initiates both children, hexgated finds each by selectors" responder_ok
sw_stop "$s"
finish
