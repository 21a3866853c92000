#!/usr/bin/env bash
# tests/integration/netns_ike_trap.sh: start_action trap against a stock
# strongSwan 5.9: the tunnel is negotiated when the first packet is
# routed into it, as the kernel's acquire makes charon do.
#
#   h1 (10.1.0.2) -- a: hexgated -- wan 192.0.2.0/24 -- s: strongSwan
#                     ipsec connection dc1           (10.2.0.1 on lo)
#                     10.1.0.0/24 === 10.2.0.0/24, start_action trap
#
# Checks: after the start nothing is negotiated (no IKE SA at either
# end, no IKE datagram sent) and hexctl ipsec status shows dc1 as
# trapped; a ping from h1 into the tunnel brings the IKE SA and its
# child up at both ends, the packet that asked dropped and counted
# (tunnel_no_sa) and the acquire logged, and later pings pass; after
# hexctl ipsec down the trap is armed again (shown so) and the next ping
# brings it up again.
#
# Usage: netns_ike_trap.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_ike_trap
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap
. "$(dirname "$0")/strongswan.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping timeout swanctl base64 /usr/bin/python3
command -v charon-systemd >/dev/null || [ -x /usr/lib/ipsec/charon ] ||
    skip "charon not found (scripts/install-deps installs strongSwan)"
need_netns
need_programs

h1=hg-th1-$$
a=hg-ta-$$
s=hg-ts-$$
netns=("$h1" "$a" "$s")
begin_run
PSK='interop-psk'

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
}

config() {
	cat >"$conf" <<EOF
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
        "version": 2,
        "local_addrs": [ "192.0.2.1" ],
        "remote_addrs": [ "192.0.2.2" ],
        "proposals": [ "aes256gcm16-prfsha256-x25519" ],
        "local": { "auth": "psk", "id": "192.0.2.1" },
        "remote": { "auth": "psk", "id": "192.0.2.2" },
        "children": {
          "net": {
            "local_ts": [ "10.1.0.0/24" ],
            "remote_ts": [ "10.2.0.0/24" ],
            "esp_proposals": [ "aes256gcm16" ],
            "start_action": "trap"
          }
        }
      }
    },
    "secrets": { "ike-dc1": { "id": "192.0.2.2", "secret": "$PSK" } }
  },
  "firewall": { "known_networks": [ "10.1.0.0/24" ],
                "rules": "rules.v4", "rules6": "rules.v6" }
}
EOF
	cat >"$tmp/rules.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
	cp "$tmp/rules.v4" "$tmp/rules.v6"
}

# trapped_ok: no IKE SA at either end, dc1 shown as trapped.
trapped_ok() {
	local j
	j=$(hx --json ipsec status) || return 1
	echo "$j"
	hx ipsec status
	/usr/bin/python3 - "$j" <<'PY' || return 1
import json, sys
st = json.loads(sys.argv[1])
assert st["ike_sas"] == [], st
assert st["traps"] == ["dc1"], st
PY
	hx ipsec status | grep -q '^dc1: TRAPPED' || return 1
	! sw "$s" --list-sas | grep -q IKEv2 || { echo "strongSwan has one"; return 1; }
}

quiet_ok() {
	local sent
	sleep 3
	sent=$(hx metrics | sed -n 's/^hexgate_ike_messages_sent_total //p')
	echo "IKE messages sent: ${sent:-?}"
	[ "${sent:-1}" = 0 ] || return 1
	trapped_ok
}

# ping_brings_up: pings from h1 into the tunnel; the first ones are
# dropped while IKE runs, then the child is up at both ends and the
# pings after it pass; the drop counted on lan, the acquire logged.
ping_brings_up() {
	local out rx before after
	before=$(drop_count "$sock" lan tunnel_no_sa)
	out=$(nsx "$h1" timeout 20 ping -n -c 10 -i 0.3 -W 1 10.2.0.1 2>&1)
	echo "$out"
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "NOTE: ${rx:-0}/10 replies while it came up"
	[ "${rx:-0}" -ge 5 ] || return 1
	sw_up_both "$s" >/dev/null || return 1
	after=$(drop_count "$sock" lan tunnel_no_sa)
	echo "tunnel_no_sa: $before -> $after"
	[ "$after" -gt "$before" ] || { echo "the first packet not counted"; return 1; }
	grep -q "\[KNL\] acquire for dc1{net}" "$tmp/hexgated.log" ||
	    { echo "acquire not logged"; return 1; }
	ping_ok "$h1" 10.2.0.1
}

rearmed_ok() {
	local n
	hx ipsec down dc1 || return 1
	for _ in $(seq 50); do
		sw "$s" --list-sas | grep -q IKEv2 ||
		    hx --json ipsec status | grep -q ESTABLISHED || break
		sleep 0.1
	done
	trapped_ok || return 1
	n=$(grep -c "\[KNL\] acquire for dc1{net}" "$tmp/hexgated.log")
	ping_brings_up || return 1
	[ "$(grep -c "\[KNL\] acquire for dc1{net}" "$tmp/hexgated.log")" -gt "$n" ] ||
	    { echo "no second acquire"; return 1; }
}

make_topology
config
sw_start "$s" 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 "$PSK" none ||
    fatal "strongSwan starts" "charon did not start"
start_hexgated "$a"

check "trap: nothing negotiated after the start, dc1 shown trapped" quiet_ok
check "a ping into the tunnel brings it up at both ends, later pings pass" ping_brings_up
check "after ipsec down the trap is armed again: the next ping brings it up" rearmed_ok
check "a stop is clean" stop_ok
sw_stop "$s"
finish
