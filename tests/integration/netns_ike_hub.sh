#!/bin/bash
#
# tests/integration/netns_ike_hub.sh: one hexgated, the hub, carries three
# IKEv2 tunnels at once on one WAN address (issue 15): to a stock
# strongSwan (whose kernel-libipsec announces a NAT: ESP in UDP 4500),
# to another hexgated (no NAT: native ESP, IP protocol 50), and to a
# hexgated behind a Linux NAT (a real one: ESP in UDP through it).
#
#   h1 -- a: hub A -- w: bridge --+-- b: hexgated B (192.0.2.2) -- h2 (10.2.0.2)
#   10.1.0.2    192.0.2.1         |
#                                 +-- s: strongSwan (192.0.2.3; 10.3.0.1 on lo)
#                                 |
#                                 +-- n: NAT 192.0.2.254 -- c: hexgated C -- h4
#                                        MASQUERADE, UDP       172.16.0.2     (10.4.0.2)
#                                        to ports 40500-40599
#
# A initiates to B and to strongSwan; C, behind the NAT, initiates to A,
# whose connection to it names the NAT's public address.
#
# Checks: the three IKE SAs and their children are up at the hub, each
# with its peer (B, strongSwan and C say so too); the hub sees them all
# on its one address, B without NAT (IKE on 500, native ESP),
# strongSwan with the NAT it announces (4500, ESP in UDP), C behind a
# NAT at the NAT's address and a port it chose (ESP in UDP), and C knows
# it is the one behind it; pings through the three tunnels both ways at
# once, and on the hub's link meanwhile: ESP in UDP 4500 with
# strongSwan, IP protocol 50 with B and never UDP 4500, ESP in UDP with
# the NAT's port, and nothing else but IKE and ARP; 8 MiB TCP through
# the NAT's tunnel both ways (sha256 compared); C sends NAT keepalives
# (one byte 0xff from 4500, seen inside the NAT, counted at the hub),
# the hub none; the hub stops cleanly, its peers told.
#
# Usage: netns_ike_hub.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_ike_hub
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap
. "$(dirname "$0")/strongswan.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, a bridge, iptables NAT, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump iptables swanctl \
    base64 /usr/bin/python3
command -v charon-systemd >/dev/null || [ -x /usr/lib/ipsec/charon ] ||
    skip "charon not found (scripts/install-deps installs strongSwan)"
need_netns
need_programs

h1=hg-kh1-$$
a=hg-ka-$$
w=hg-kw-$$
b=hg-kb-$$
h2=hg-kh2-$$
s=hg-ks-$$
n=hg-kn-$$
c=hg-kc-$$
h4=hg-kh4-$$
netns=("$h1" "$a" "$w" "$b" "$h2" "$s" "$n" "$c" "$h4")
begin_run
sock_b=$tmp/b.sock
sock_c=$tmp/c.sock
PSK_B='hub-b-psk'
PSK_S='hub-s-psk'
PSK_C='hub-c-psk'

topology() {
	set -ex
	for ns in "${netns[@]}"; do ip netns add "$ns"; done
	nsx "$w" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	nsx "$w" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
	ip -n "$w" link add br0 type bridge
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name w-a netns "$w"
	ip -n "$b" link add b-wan type veth peer name w-b netns "$w"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	ip -n "$s" link add s-wan type veth peer name w-s netns "$w"
	ip -n "$n" link add n-pub type veth peer name w-n netns "$w"
	ip -n "$n" link add n-priv type veth peer name c-wan netns "$c"
	ip -n "$c" link add c-lan type veth peer name h4-eth0 netns "$h4"
	for p in w-a w-b w-s w-n; do ip -n "$w" link set "$p" master br0 up; done
	ip -n "$w" link set br0 up
	for ns in "$a" "$b" "$c"; do
		ip -n "$ns" link set lo up
		nsx "$ns" sysctl -q -w net.ipv4.ip_forward=0
		nsx "$ns" sysctl -q -w net.ipv6.conf.all.forwarding=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	nsx "$c" "$prepare" c-lan c-wan
	host_setup "$h1" 1
	host_setup "$h2" 2
	host_setup "$h4" 4
	peer "$s" s-wan 192.0.2.3/24 ""
	ip -n "$s" addr add 10.3.0.1/32 dev lo
	# The NAT: a Linux router masquerading what leaves by n-pub, UDP
	# to ports of its choosing, so the hub must learn C's.
	peer "$n" n-pub 192.0.2.254/24 ""
	ip -n "$n" link set n-priv up
	ip -n "$n" addr add 172.16.0.1/24 dev n-priv
	nsx "$n" sysctl -q -w net.ipv4.ip_forward=1
	nsx "$n" iptables -t nat -A POSTROUTING -o n-pub -p udp \
	    -j MASQUERADE --to-ports 40500-40599
	nsx "$n" iptables -t nat -A POSTROUTING -o n-pub -j MASQUERADE
}

# conn NAME LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS START:
# one connection of an ipsec section.
conn() {
	cat <<EOF
      "$1": {
        "version": 2,
        "local_addrs": [ "$2" ], "remote_addrs": [ "$3" ],
        "proposals": [ "aes256gcm16-prfsha256-x25519" ],
        "local": { "auth": "psk", "id": "$4" },
        "remote": { "auth": "psk", "id": "$5" },
        "children": {
          "net": {
            "local_ts": [ "$6" ], "remote_ts": [ "$7" ],
            "esp_proposals": [ "aes256gcm16" ],
            "start_action": "$8"
          }
        }
      }
EOF
}

# site SOCK LAN_IF LAN_ADDR WAN_IF WAN_ADDR KNOWN CONNECTIONS SECRETS
#      [ROUTES]: a hexgated configuration, on stdout.
site() {
	cat <<EOF
{
  "workers": 1,
  "control_socket": "$1",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$2", "addresses": [ "$3" ] },
    { "name": "wan", "port": "afpacket:$4", "addresses": [ "$5" ] }
  ],
  "ipsec": {
    "connections": {
$7
    },
    "secrets": { $8 }
  },
  "routes": [ ${9:-} ],
  "firewall": { "known_networks": [ "$6" ], "rules": "rules.v4" }
}
EOF
}

configs() {
	site "$sock" a-lan 10.1.0.1/24 a-wan 192.0.2.1/24 10.1.0.0/24 "$(
	    conn b 192.0.2.1 192.0.2.2 site1.example site2.example \
		10.1.0.0/24 10.2.0.0/24 start; echo ,
	    conn sw 192.0.2.1 192.0.2.3 192.0.2.1 192.0.2.3 \
		10.1.0.0/24 10.3.0.0/24 start; echo ,
	    conn c 192.0.2.1 192.0.2.254 site1.example site4.example \
		10.1.0.0/24 10.4.0.0/24 none)" "
      \"ike-b\": { \"id\": \"site2.example\", \"secret\": \"$PSK_B\" },
      \"ike-sw\": { \"id\": \"192.0.2.3\", \"secret\": \"$PSK_S\" },
      \"ike-c\": { \"id\": \"site4.example\", \"secret\": \"$PSK_C\" }" \
	    >"$conf"
	site "$sock_b" b-lan 10.2.0.1/24 b-wan 192.0.2.2/24 10.2.0.0/24 "$(
	    conn hub 192.0.2.2 192.0.2.1 site2.example site1.example \
		10.2.0.0/24 10.1.0.0/24 none)" \
	    "\"ike-hub\": { \"id\": \"site1.example\", \"secret\": \"$PSK_B\" }" \
	    >"$tmp/b.json"
	site "$sock_c" c-lan 10.4.0.1/24 c-wan 172.16.0.2/24 10.4.0.0/24 "$(
	    conn hub 172.16.0.2 192.0.2.1 site4.example site1.example \
		10.4.0.0/24 10.1.0.0/24 start)" \
	    "\"ike-hub\": { \"id\": \"site1.example\", \"secret\": \"$PSK_C\" }" \
	    '{ "prefix": "0.0.0.0/0", "via": "172.16.0.1" }' >"$tmp/c.json"
	cat >"$tmp/rules.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
}

# sas SOCK: the IKE SAs of the hexgated on SOCK that are ESTABLISHED
# with their child INSTALLED, as a JSON object by connection name.
sas() {
	"$hexctl" -s "$1" --json ipsec status 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(json.dumps({sa["name"]: sa for sa in json.load(sys.stdin)["ike_sas"]
                  if sa["state"] == "ESTABLISHED" and
                  (sa.get("children") or [{}])[0].get("state") == "INSTALLED"}))'
}

# all_up: the hub's three, B's, C's and strongSwan's, within 15 s.
all_up() {
	local _
	for _ in $(seq 150); do
		if [ "$(sas "$sock" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] &&
		    sas "$sock_b" | grep -q '"hub"' &&
		    sas "$sock_c" | grep -q '"hub"' &&
		    sw "$s" --list-sas 2>/dev/null | grep -q INSTALLED; then
			hx ipsec status
			return 0
		fi
		sleep 0.1
	done
	echo "not all up after 15 s"
	hx ipsec status
	"$hexctl" -s "$sock_b" ipsec status
	"$hexctl" -s "$sock_c" ipsec status
	sw "$s" --list-sas
	tail -n 10 "$tmp/b.log" "$tmp/c.log" "$(sw_log "$s")"
	return 1
}

# What each end knows of the NAT, and the hub's one address for all.
kinds_ok() {
	sas "$sock" >"$tmp/hub.json" && sas "$sock_c" >"$tmp/c-sas.json" &&
	    sas "$sock_b" >"$tmp/b-sas.json" || return 1
	/usr/bin/python3 - "$tmp/hub.json" "$tmp/b-sas.json" "$tmp/c-sas.json" <<'PY'
import json, sys
hub, b, c = (json.load(open(f)) for f in sys.argv[1:4])
for name, sa in sorted(hub.items()):
    print(name, "%s[%d] %s[%d]" % (sa["local"], sa["local_port"], sa["remote"],
          sa["remote_port"]), sa["remote_id"], "nat_local", sa["nat_local"],
          "nat_remote", sa["nat_remote"], "encap", sa["children"][0]["encap"])
    assert sa["local"] == "192.0.2.1", "not on the one address"
    assert not sa["nat_local"], "the hub is behind no NAT"
B, S, C = hub["b"], hub["sw"], hub["c"]
assert B["remote"] == "192.0.2.2" and B["remote_port"] == 500
assert B["local_port"] == 500 and not B["nat_remote"]
assert not B["encap"] and not B["children"][0]["encap"], "B is encapsulated"
assert S["remote"] == "192.0.2.3" and S["nat_remote"] and S["children"][0]["encap"]
assert S["remote_port"] == 4500 and S["local_port"] == 4500
assert C["remote"] == "192.0.2.254" and C["nat_remote"] and C["children"][0]["encap"]
assert 40500 <= C["remote_port"] <= 40599, "not the NAT's port"
assert C["local_port"] == 4500 and C["remote_id"] == "site4.example"
cb, cc = b["hub"], c["hub"]
assert not cb["nat_local"] and not cb["nat_remote"] and not cb["children"][0]["encap"]
assert cc["nat_local"] and not cc["nat_remote"] and cc["children"][0]["encap"]
assert cc["local"] == "172.16.0.2" and cc["local_port"] == 4500
assert cc["remote"] == "192.0.2.1" and cc["remote_port"] == 4500
assert cc["children"][0]["spi_in"] == C["children"][0]["spi_out"]
print("NOTE: B native, strongSwan NAT-T, C behind the NAT at 192.0.2.254:%d"
      % C["remote_port"])
PY
}

# capture NS IF: tcpdump on IF in NS into $tmp/IF.pcap, headers only;
# returns once it listens.
capture() {
	ip netns exec "$1" tcpdump -q -n -U -s 128 -i "$2" \
	    -w "$tmp/$2.pcap" 2>"$tmp/$2.err" &
	cap_pids+=("$!")
	bg_pids+=("$!")
	local _
	for _ in $(seq 50); do
		grep -q 'listening on' "$tmp/$2.err" && return 0
		sleep 0.1
	done
	echo "tcpdump on $2 did not start"
	return 1
}

# count PCAP FILTER
count() {
	tcpdump -n -r "$1" "$2" 2>/dev/null | wc -l
}

# want PCAP WHAT FILTER: some packets match; none PCAP WHAT FILTER: none.
want() {
	local k
	k=$(count "$1" "$3")
	echo "$2: $k"
	[ "$k" -gt 0 ]
}

none() {
	local k
	k=$(count "$1" "$3")
	echo "$2: $k"
	[ "$k" = 0 ] || { tcpdump -n -r "$1" "$3" 2>/dev/null | head -n 5; return 1; }
}

# Pings through the three tunnels both ways at once; on the hub's link
# meanwhile, each peer's kind of ESP and nothing else.
wire_ok() {
	local pings=() from to pc=$tmp/w-a.pcap
	cap_pids=()
	capture "$w" w-a || return 1
	while read -r from to; do
		ip netns exec "$from" ping -n -q -c 5 -i 0.2 -W 2 "$to" \
		    >"$tmp/ping-$from-$to" 2>&1 &
		pings+=("$!")
		bg_pids+=("$!")
	done <<EOF
$h1 10.2.0.2
$h1 10.3.0.1
$h1 10.4.0.2
$h2 10.1.0.2
$s 10.1.0.2
$h4 10.1.0.2
EOF
	local bad=0 p
	for p in "${pings[@]}"; do
		wait "$p" || bad=$((bad + 1))
	done
	sleep 0.2
	kill -INT "${cap_pids[@]}"
	wait "${cap_pids[@]}"
	grep -h 'packet loss' "$tmp"/ping-*
	[ "$bad" = 0 ] || { echo "$bad of the pings failed"; return 1; }
	local hub=192.0.2.1 esp_udp="udp port 4500 and udp[8:4] != 0"
	want "$pc" "hub -> strongSwan ESP in UDP 4500" \
	    "src host $hub and dst host 192.0.2.3 and $esp_udp" &&
	want "$pc" "strongSwan -> hub ESP in UDP 4500" \
	    "src host 192.0.2.3 and dst host $hub and $esp_udp" &&
	none "$pc" "ESP (protocol 50) with strongSwan" \
	    "ip proto 50 and host 192.0.2.3" &&
	want "$pc" "hub -> B ESP" "ip proto 50 and src host $hub and dst host 192.0.2.2" &&
	want "$pc" "B -> hub ESP" "ip proto 50 and src host 192.0.2.2 and dst host $hub" &&
	none "$pc" "UDP 4500 with B" "udp port 4500 and host 192.0.2.2" &&
	want "$pc" "hub -> NAT ESP in UDP to its port" \
	    "src host $hub and src port 4500 and dst host 192.0.2.254 and dst portrange 40500-40599 and $esp_udp" &&
	want "$pc" "NAT -> hub ESP in UDP from its port" \
	    "src host 192.0.2.254 and src portrange 40500-40599 and dst host $hub and dst port 4500 and $esp_udp" &&
	none "$pc" "ESP (protocol 50) with the NAT" \
	    "ip proto 50 and host 192.0.2.254" &&
	none "$pc" "anything else (but ARP and IKE)" \
	    "not arp and not ip proto 50 and not udp port 4500 and not udp port 500" &&
	none "$pc" "an inner address" "net 10.0.0.0/8" &&
	echo "NOTE: $(count "$pc" "udp and host 192.0.2.3") ESP-in-UDP with strongSwan, $(count "$pc" "ip proto 50") ESP with B, $(count "$pc" "udp and host 192.0.2.254") ESP-in-UDP with the NAT"
}

# C is behind the NAT: it sends keepalives, which reach the hub through
# the NAT (counted there), and the hub sends none.
keepalive_ok() {
	local k ka="udp[4:2] = 9 and udp[8] = 0xff" d
	kill -INT "$priv_cap"
	wait "$priv_cap"
	want "$tmp/n-priv.pcap" "C -> hub keepalives inside the NAT" \
	    "src host 172.16.0.2 and src port 4500 and dst host 192.0.2.1 and dst port 4500 and $ka" ||
	    return 1
	none "$tmp/n-priv.pcap" "hub -> C keepalives" "src host 192.0.2.1 and $ka" ||
	    return 1
	d=$(drop_count "$sock" wan nat_keepalive)
	echo "NOTE: the hub counted $d keepalives"
	[ "$d" -ge 1 ]
}

# The hub stops: each peer is told (a DELETE), and B, C and strongSwan
# hold no IKE SA.
stop_told_ok() {
	stop_ok || return 1
	local _
	for _ in $(seq 30); do
		if ! sas "$sock_b" | grep -q hub && ! sas "$sock_c" | grep -q hub &&
		    ! sw "$s" --list-sas | grep -q ESTABLISHED; then
			return 0
		fi
		sleep 0.1
	done
	echo "a peer still has it"
	return 1
}

make_topology
configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
cap_pids=()
capture "$n" n-priv || fatal "capture inside the NAT" "tcpdump did not start"
priv_cap=${cap_pids[0]}
sw_start "$s" 192.0.2.3 192.0.2.1 10.3.0.0/24 10.1.0.0/24 "$PSK_S" none ||
    fatal "strongSwan starts" "charon did not start"
start_site b "$b" "$sock_b"
start_hexgated "$a"
start_site c "$c" "$sock_c"

check "three IKE SAs and children up at the hub, each peer's too" all_up
check "one hub address: B native, strongSwan NAT-T, C behind the NAT" kinds_ok
check "pings through the three tunnels both ways; on the wire each its own ESP" \
    wire_ok
check "8 MiB TCP h1 -> h4 through the NAT, sha256 equal" \
    tcp_transfer "$h1" "$h4" 10.4.0.2 5001
check "8 MiB TCP h4 -> h1 through the NAT, sha256 equal" \
    tcp_transfer "$h4" "$h1" 10.1.0.2 5002
check "C, behind the NAT, sends NAT keepalives; the hub none" keepalive_ok
check "the hub stops cleanly, each peer told" stop_told_ok
sw_stop "$s"
finish
