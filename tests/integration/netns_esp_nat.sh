#!/bin/bash
#
# tests/integration/netns_esp_nat.sh: a hub hexgated with three manually
# keyed ESP tunnels on one endpoint (issue 14): ESP-in-UDP to a site behind
# a NAT, native ESP over IPv4 and native ESP over IPv6 to a site that is
# not; every tunnel carries IPv4 and IPv6.
#
#   h1 -- a: hexgated A, the hub -- w: bridge --+-- n: Linux NAT -- b: B -- h2
#                wan 192.0.2.1                  |  192.0.2.254
#                    2001:db8:ff::1             |  MASQUERADE UDP from 4500
#                                               |  to port 40500
#                                               |  172.16.0.1 -- 172.16.0.2
#                                               |
#                                               +-- c: hexgated C -- h3
#                                                  192.0.2.3
#                                                  2001:db8:ff::3
#
#   h1: 10.1.0.2, 10.1.1.2, 2001:db8:1::2, 2001:db8:1:1::2
#   h2: 10.2.0.2, 2001:db8:2::2
#   h3: 10.3.0.2, 10.3.1.2, 2001:db8:3::2, 2001:db8:3:1::2
#
#   A's tunnel  outer           carries (routed at both ends)
#   natb        IPv4, ESP-in-   10.2.0.0/24, 2001:db8:2::/64
#               UDP via the NAT (ChaCha20-Poly1305)
#   espc        IPv4, ESP       10.3.0.0/24, 2001:db8:3::/64 (AES-256-GCM)
#   esp6c       IPv6, ESP       10.3.1.0/24, 2001:db8:3:1::/64 (AES-128-GCM)
#
# h1 and h3 reach each other's second subnets (10.1.1.0/24 and 10.3.1.0/24,
# and the IPv6 ones) from their second addresses, so that both directions
# of those flows go through esp6c and not espc.
#
# What a site behind NAT needs today, with manual keys and no IKE to learn
# the NAT's port:
#   - the NAT maps the site's UDP 4500 to a port fixed in advance (here
#     MASQUERADE --to-ports 40500 for UDP from port 4500; a static SNAT
#     rule does the same, or a port forward of that port to the site's
#     4500, which also lets the hub speak first);
#   - the hub's tunnel names the NAT's public address as "remote" and that
#     port as "remote_port"; INPUT's defaults then admit its ESP-in-UDP;
#   - the site's tunnel names its own private address as "local", the
#     hub's public address as "remote", "encap": "udp";
#   - the site speaks first, and often enough to keep the NAT's mapping
#     (Linux: 30 s before the first answer, 120 s after): its tunnel sends
#     NAT keepalives (RFC 3948 §2.3, "nat_keepalive", here every second),
#     the first at start; the hub sends none.  Until the mapping exists,
#     what the hub sends to the NAT's port is the NAT's own, and may even
#     leave behind a conntrack entry that takes the mapping's place.
#
# Checks: ping and an 8 MiB TCP transfer (sha256 compared) in both
# directions through each tunnel, IPv4 and IPv6 inside, the hub's counters
# on that tunnel showing the data one way and the ACKs the other; on the
# wire, inside and outside the NAT and on C's link, only ESP-in-UDP
# between the tunnel's endpoints (the NAT's side rewritten to
# 192.0.2.254:40500) or ESP between the hub and C carries the hosts'
# traffic; an "-o espc" rule in FORWARD_CUST refuses a port into that
# tunnel only; a "-o wan" MASQUERADE on the hub rewrites what leaves by
# the wan, and not what leaves through a tunnel (the far hosts see h1's
# own addresses).
#
# The site's keepalives reach the hub (counted there), and with the
# NAT's UDP timeouts cut to 3 s the hub still reaches h2 after 6 s of
# idle link: the keepalives kept the mapping.  (Without them: no answer,
# and for the next 3 s not from h2 to h1 either, the hub's ping having
# left an unreplied entry at the NAT on 192.0.2.254:40500 that the
# site's mapping then cannot take.)
#
# Usage: netns_esp_nat.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_esp_nat
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, a bridge, iptables NAT, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump iptables conntrack
need_netns
need_programs

h1=hg-nh1-$$
a=hg-na-$$
w=hg-nw-$$
n=hg-nn-$$
b=hg-nb-$$
h2=hg-nh2-$$
c=hg-nc-$$
h3=hg-nh3-$$
netns=("$h1" "$a" "$w" "$n" "$b" "$h2" "$c" "$h3")
begin_run
sock_b=$tmp/b.sock
sock_c=$tmp/c.sock

# The port the NAT gives the site's UDP 4500 on its public side.
NAT_PORT=40500

topology() {
	set -ex
	for ns in "${netns[@]}"; do ip netns add "$ns"; done
	# The bridge is a switch: no addresses, no IPv6 chatter of its own.
	nsx "$w" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	nsx "$w" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
	ip -n "$w" link add br0 type bridge
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name w-a netns "$w"
	ip -n "$c" link add c-lan type veth peer name h3-eth0 netns "$h3"
	ip -n "$c" link add c-wan type veth peer name w-c netns "$w"
	ip -n "$n" link add n-pub type veth peer name w-n netns "$w"
	ip -n "$n" link add n-priv type veth peer name b-wan netns "$b"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	for p in w-a w-c w-n; do ip -n "$w" link set "$p" master br0 up; done
	ip -n "$w" link set br0 up
	for ns in "$a" "$b" "$c"; do
		ip -n "$ns" link set lo up
		nsx "$ns" sysctl -q -w net.ipv4.ip_forward=0
		nsx "$ns" sysctl -q -w net.ipv6.conf.all.forwarding=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	nsx "$c" "$prepare" c-lan c-wan
	# The NAT: a Linux router, IPv4 only, that masquerades the site's
	# ESP-in-UDP to a port fixed in advance.
	peer "$n" n-priv 172.16.0.1/24 ""
	peer "$n" n-pub 192.0.2.254/24 ""
	nsx "$n" sysctl -q -w net.ipv4.ip_forward=1
	nsx "$n" iptables -t nat -A POSTROUTING -o n-pub -s 172.16.0.0/24 \
	    -p udp --sport 4500 -j MASQUERADE --to-ports "$NAT_PORT"
	# A NAT that forgets an idle UDP mapping after 3 s: only the site's
	# keepalives keep the tunnel's (idle_mapping_ok).
	nsx "$n" sysctl -q -w net.netfilter.nf_conntrack_udp_timeout=3 \
	    net.netfilter.nf_conntrack_udp_timeout_stream=3
	host_setup "$h1" 1
	host_setup "$h2" 2
	host_setup "$h3" 3
	# The second subnets, reached through esp6c from the second addresses;
	# the first addresses everywhere else (left to itself, IPv6 source
	# selection may pick either: both are as far from 2001:db8:2::2).
	ip -n "$h1" addr add 10.1.1.2/24 dev h1-eth0
	ip -n "$h1" addr add 2001:db8:1:1::2/64 dev h1-eth0 nodad
	ip -n "$h1" route add 10.3.1.0/24 via 10.1.0.1 src 10.1.1.2
	ip -n "$h1" -6 route add 2001:db8:3:1::/64 via 2001:db8:1::1 \
	    src 2001:db8:1:1::2
	ip -n "$h3" addr add 10.3.1.2/24 dev h3-eth0
	ip -n "$h3" addr add 2001:db8:3:1::2/64 dev h3-eth0 nodad
	ip -n "$h3" route add 10.1.1.0/24 via 10.3.0.1 src 10.3.1.2
	ip -n "$h3" -6 route add 2001:db8:1:1::/64 via 2001:db8:3::1 \
	    src 2001:db8:3:1::2
	ip -n "$h1" route replace default via 10.1.0.1 src 10.1.0.2
	ip -n "$h1" -6 route replace default via 2001:db8:1::1 src 2001:db8:1::2
	ip -n "$h3" route replace default via 10.3.0.1 src 10.3.0.2
	ip -n "$h3" -6 route replace default via 2001:db8:3::1 src 2001:db8:3::2
}

# key NAME HEX: a key file, root's only.  Both ends of an SA read the same
# file.
key() {
	printf '%s\n' "$2" >"$tmp/$1.key"
	chmod 600 "$tmp/$1.key"
}

# sa SPI ALG KEY: an SA object.
sa() {
	printf '{ "spi": %d, "alg": "%s", "key_file": "%s.key" }' "$1" "$2" "$3"
}

# The SPIs, by direction; each end's inbound ones differ.
SPI_AB=$((0x1002)) SPI_BA=$((0x2001))
SPI_AC=$((0x1003)) SPI_CA=$((0x3001))
SPI_AC6=$((0x1103)) SPI_CA6=$((0x3101))

KNOWN='"10.1.0.0/23", "10.2.0.0/24", "10.3.0.0/23",
      "2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3::/48"'

write_configs() {
	local cha=chacha20poly1305 g256=aes256gcm g128=aes128gcm
	key ab a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3
	key ba c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a0
	key ac 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304
	key ca 1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010004030201
	key ac6 303132333435363738393a3b3c3d3e3f05060708
	key ca6 3f3e3d3c3b3a3938373635343332313008070605

	# The hub.  natb's remote is the NAT, at the port it maps to.
	cat >"$conf" <<EOF
{
  "workers": 1,
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:a-lan",
      "addresses": [ "10.1.0.1/24", "10.1.1.1/24",
                     "2001:db8:1::1/64", "2001:db8:1:1::1/64" ] },
    { "name": "wan", "port": "afpacket:a-wan",
      "addresses": [ "192.0.2.1/24", "2001:db8:ff::1/64" ] }
  ],
  "tunnels": [
    { "name": "natb", "local": "192.0.2.1",
      "remote": "192.0.2.254", "encap": "udp", "remote_port": $NAT_PORT,
      "remote_subnets": [ "10.2.0.0/24", "2001:db8:2::/64" ],
      "sa_out": $(sa $SPI_AB $cha ab), "sa_in": $(sa $SPI_BA $cha ba) },
    { "name": "espc", "local": "192.0.2.1", "remote": "192.0.2.3",
      "remote_subnets": [ "10.3.0.0/24", "2001:db8:3::/64" ],
      "sa_out": $(sa $SPI_AC $g256 ac), "sa_in": $(sa $SPI_CA $g256 ca) },
    { "name": "esp6c", "local": "2001:db8:ff::1", "remote": "2001:db8:ff::3",
      "remote_subnets": [ "10.3.1.0/24", "2001:db8:3:1::/64" ],
      "sa_out": $(sa $SPI_AC6 $g128 ac6), "sa_in": $(sa $SPI_CA6 $g128 ca6) }
  ],
  "routes": [
    { "prefix": "10.2.0.0/24", "interface": "natb" },
    { "prefix": "2001:db8:2::/64", "interface": "natb" },
    { "prefix": "10.3.0.0/24", "interface": "espc" },
    { "prefix": "2001:db8:3::/64", "interface": "espc" },
    { "prefix": "10.3.1.0/24", "interface": "esp6c" },
    { "prefix": "2001:db8:3:1::/64", "interface": "esp6c" }
  ],
  "firewall": { "known_networks": [ $KNOWN ], "rules": "rules-a.v4" }
}
EOF
	# A port refused into one tunnel; everything leaving by the wan
	# masqueraded, which must leave the tunnels' traffic alone.
	cat >"$tmp/rules-a.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
-A FORWARD_CUST -o espc -p tcp -m tcp --dport 5999 -j REJECT --reject-with tcp-reset
COMMIT
*nat
:POSTROUTING_CUST - [0:0]
-A POSTROUTING_CUST -o wan -j MASQUERADE
COMMIT
EOF

	# B, behind the NAT: its own private address, the hub's public one.
	cat >"$tmp/b.json" <<EOF
{
  "workers": 1,
  "control_socket": "$sock_b",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:b-lan",
      "addresses": [ "10.2.0.1/24", "2001:db8:2::1/64" ] },
    { "name": "wan", "port": "afpacket:b-wan",
      "addresses": [ "172.16.0.2/24" ] }
  ],
  "tunnels": [
    { "name": "natb", "local": "172.16.0.2", "remote": "192.0.2.1",
      "encap": "udp", "nat_keepalive": 1,
      "remote_subnets": [ "10.1.0.0/24", "2001:db8:1::/64" ],
      "sa_out": $(sa $SPI_BA $cha ba), "sa_in": $(sa $SPI_AB $cha ab) }
  ],
  "routes": [
    { "prefix": "0.0.0.0/0", "via": "172.16.0.1" },
    { "prefix": "10.1.0.0/24", "interface": "natb" },
    { "prefix": "2001:db8:1::/64", "interface": "natb" }
  ],
  "firewall": { "known_networks": [ $KNOWN ] }
}
EOF

	cat >"$tmp/c.json" <<EOF
{
  "workers": 1,
  "control_socket": "$sock_c",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:c-lan",
      "addresses": [ "10.3.0.1/24", "10.3.1.1/24",
                     "2001:db8:3::1/64", "2001:db8:3:1::1/64" ] },
    { "name": "wan", "port": "afpacket:c-wan",
      "addresses": [ "192.0.2.3/24", "2001:db8:ff::3/64" ] }
  ],
  "tunnels": [
    { "name": "espc", "local": "192.0.2.3", "remote": "192.0.2.1",
      "remote_subnets": [ "10.1.0.0/24", "2001:db8:1::/64" ],
      "sa_out": $(sa $SPI_CA $g256 ca), "sa_in": $(sa $SPI_AC $g256 ac) },
    { "name": "esp6c", "local": "2001:db8:ff::3", "remote": "2001:db8:ff::1",
      "remote_subnets": [ "10.1.1.0/24", "2001:db8:1:1::/64" ],
      "sa_out": $(sa $SPI_CA6 $g128 ca6), "sa_in": $(sa $SPI_AC6 $g128 ac6) }
  ],
  "routes": [
    { "prefix": "10.1.0.0/24", "interface": "espc" },
    { "prefix": "2001:db8:1::/64", "interface": "espc" },
    { "prefix": "10.1.1.0/24", "interface": "esp6c" },
    { "prefix": "2001:db8:1:1::/64", "interface": "esp6c" }
  ],
  "firewall": { "known_networks": [ $KNOWN ] }
}
EOF
}

# hub_pkts TUNNEL: the hub's "rx tx" packet counts on TUNNEL.
hub_pkts() {
	hx --json show interfaces | /usr/bin/python3 -c '
import json, sys
i = {x["name"]: x for x in json.load(sys.stdin)["interfaces"]}[sys.argv[1]]
print(i["rx_packets"], i["tx_packets"])
' "$1"
}

# tcp_ok SRC_NS DST_NS DST_ADDR PORT TUNNEL OUT|IN: 8 MiB, sha256
# compared; the hub's TUNNEL carried it, both ways: the data OUT from h1
# or IN to it (at least 5000 packets of the 6000 odd), the ACKs the
# other way.
tcp_ok() {
	local rx0 tx0 rx tx
	read -r rx0 tx0 < <(hub_pkts "$5")
	tcp_transfer "$1" "$2" "$3" "$4" || return 1
	read -r rx tx < <(hub_pkts "$5")
	rx=$((rx - rx0)) tx=$((tx - tx0))
	echo "NOTE: the hub's $5 in $rx, out $tx packets"
	if [ "$6" = OUT ]; then
		[ "$tx" -ge 5000 ] && [ "$rx" -ge 100 ]
	else
		[ "$rx" -ge 5000 ] && [ "$tx" -ge 100 ]
	fi || { echo "not through $5"; return 1; }
}

# seen_from DST_NS PORT SRC_NS ADDR: connect from SRC_NS to ADDR:PORT (IPv4)
# and print the source address the listener in DST_NS saw; fails when
# the connection does.
seen_from() {
	local lp rc
	ip netns exec "$1" timeout 10 socat "TCP4-LISTEN:$2,reuseaddr" \
	    SYSTEM:'echo "$SOCAT_PEERADDR"' &
	lp=$!
	bg_pids+=("$lp")
	tcp_listening "$1" "$2" || { echo "no listener"; return 1; }
	nsx "$3" timeout 5 socat -T 3 - "TCP4:$4:$2,connect-timeout=3" \
	    </dev/null
	rc=$?
	kill "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	return $rc
}

# through TUNNEL FAR FAR_NS NEAR_ADDR FAR_ADDR PORT: ping and 8 MiB of TCP
# both ways between h1 and the far host FAR.  The far side speaks first:
# for natb, that opens the NAT's mapping.
through() {
	local what
	what="through $1 ($(fam "$4") in $(outer "$1"))"
	check "ping $2 -> h1 $4 $what" ping_ok "$3" "$4"
	check "ping h1 -> $2 $5 $what" ping_ok "$h1" "$5"
	check "8 MiB TCP h1 -> $2 $what, sha256 equal" \
	    tcp_ok "$h1" "$3" "$5" "$6" "$1" OUT
	check "8 MiB TCP $2 -> h1 $what, sha256 equal" \
	    tcp_ok "$3" "$h1" "$4" $(($6 + 1)) "$1" IN
}

fam() {
	case $1 in *:*) echo IPv6 ;; *) echo IPv4 ;; esac
}

outer() {
	case $1 in
	natb)	echo "IPv4 ESP-in-UDP over the NAT" ;;
	espc)	echo "IPv4 ESP" ;;
	esp6c)	echo "IPv6 ESP" ;;
	esac
}

# Capture filters for one SA's packets: ESP-in-UDP from SRC:SPORT to
# DST:DPORT with SPI, native ESP over IPv4 or IPv6 from SRC to DST.
udp_esp() {
	echo "udp and src host $1 and src port $2 and dst host $3 and" \
	    "dst port $4 and udp[8:4] = $5"
}

esp4() {
	echo "ip proto 50 and src host $1 and dst host $2 and ip[20:4] = $3"
}

esp6() {
	echo "ip6 proto 50 and src host $1 and dst host $2 and ip6[40:4] = $3"
}

# count PCAP FILTER: the packets in PCAP that FILTER matches.
count() {
	tcpdump -n -r "$1" "$2" 2>/dev/null | wc -l
}

# want PCAP WHAT FILTER: at least one packet matches.
want() {
	local k
	k=$(count "$1" "$3")
	echo "$(basename "$1"): $2: $k"
	[ "$k" -gt 0 ] || { echo "  none: $3"; return 1; }
}

# only PCAP WHAT FILTER: every packet matches FILTER, ARP or IPv6
# neighbour discovery (ICMPv6 133-137).
only() {
	local f k
	f="not arp and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)"
	f="$f and not ($3)"
	k=$(count "$1" "$f")
	echo "$(basename "$1"): other than $2: $k"
	[ "$k" = 0 ] || { tcpdump -n -r "$1" "$f" 2>/dev/null | head -n 5; return 1; }
}

# capture NS IF: tcpdump on IF in NS into $tmp/IF.pcap; returns once it
# listens.  Immediate mode: otherwise the packets of a ring block not
# yet handed over (up to a second's) are lost when it is stopped.
capture() {
	ip netns exec "$1" tcpdump -q -n -U --immediate-mode -i "$2" \
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

# Inside the NAT, outside it and on C's link, while pings cross every
# tunnel both ways in both families: only the tunnels' packets.
wire_ok() {
	cap_pids=()
	capture "$n" n-priv && capture "$n" n-pub && capture "$c" c-wan ||
	    return 1
	# Every tunnel both ways in both families, all at once.
	local pings=()
	while read -r from to; do
		ip netns exec "$from" ping -n -q -c 3 -i 0.2 -W 2 "$to" \
		    >/dev/null &
		pings+=("$!")
		bg_pids+=("$!")
	done <<EOF
$h2 10.1.0.2
$h2 2001:db8:1::2
$h3 10.1.0.2
$h3 2001:db8:1::2
$h3 10.1.1.2
$h3 2001:db8:1:1::2
$h1 10.2.0.2
$h1 2001:db8:2::2
$h1 10.3.0.2
$h1 2001:db8:3::2
$h1 10.3.1.2
$h1 2001:db8:3:1::2
EOF
	wait "${pings[@]}"
	sleep 0.2
	kill -INT "${cap_pids[@]}"
	wait "${cap_pids[@]}"
	local priv=$tmp/n-priv.pcap pub=$tmp/n-pub.pcap cw=$tmp/c-wan.pcap
	local b_hub hub_b nat_hub hub_nat a_c c_a a_c6 c_a6
	b_hub=$(udp_esp 172.16.0.2 4500 192.0.2.1 4500 "$SPI_BA")
	hub_b=$(udp_esp 192.0.2.1 4500 172.16.0.2 4500 "$SPI_AB")
	nat_hub=$(udp_esp 192.0.2.254 "$NAT_PORT" 192.0.2.1 4500 "$SPI_BA")
	# B's NAT keepalives: one byte, 0xff, in UDP from 4500.
	local ka_priv="src host 172.16.0.2 and udp src port 4500 and udp[4:2] = 9 and udp[8] = 0xff"
	local ka_pub="src host 192.0.2.254 and udp src port $NAT_PORT and udp[4:2] = 9 and udp[8] = 0xff"
	hub_nat=$(udp_esp 192.0.2.1 4500 192.0.2.254 "$NAT_PORT" "$SPI_AB")
	a_c=$(esp4 192.0.2.1 192.0.2.3 "$SPI_AC")
	c_a=$(esp4 192.0.2.3 192.0.2.1 "$SPI_CA")
	a_c6=$(esp6 2001:db8:ff::1 2001:db8:ff::3 "$SPI_AC6")
	c_a6=$(esp6 2001:db8:ff::3 2001:db8:ff::1 "$SPI_CA6")
	# Inside the NAT: B's own address and port 4500, both ways.
	want "$priv" "B -> hub ESP-in-UDP, B's address and port" "$b_hub" &&
	want "$priv" "hub -> B ESP-in-UDP" "$hub_b" &&
	only "$priv" "that ESP-in-UDP, and B's keepalives" \
	    "($b_hub) or ($hub_b) or ($ka_priv)" &&
	# Outside: the NAT's address and port, the hub answering to them
	# (and ESP to C, which the bridge may flood here).
	want "$pub" "NAT -> hub from 192.0.2.254:$NAT_PORT" "$nat_hub" &&
	want "$pub" "hub -> NAT to 192.0.2.254:$NAT_PORT" "$hub_nat" &&
	only "$pub" "that ESP-in-UDP, or ESP, and B's keepalives" \
	    "($nat_hub) or ($hub_nat) or ($ka_pub) or ip proto 50 or ip6 proto 50" &&
	# C's link: native ESP, IPv4 and IPv6 outer, both ways.
	want "$cw" "hub -> C ESP over IPv4" "$a_c" &&
	want "$cw" "C -> hub ESP over IPv4" "$c_a" &&
	want "$cw" "hub -> C ESP over IPv6" "$a_c6" &&
	want "$cw" "C -> hub ESP over IPv6" "$c_a6" &&
	only "$cw" "that ESP" "($a_c) or ($c_a) or ($a_c6) or ($c_a6)"
}

# FORWARD_CUST -o espc --dport 5999 -j REJECT: h1 cannot reach h3's 5999
# through espc; the rule names the output interface, so h3 reaches h1's
# 5999 (in through espc) and h1 reaches h2's (out through natb).
forward_out_ok() {
	local s
	! seen_from "$h3" 5999 "$h1" 10.3.0.2 ||
	    { echo "h1 -> h3:5999 got through espc"; return 1; }
	s=$(seen_from "$h1" 5999 "$h3" 10.1.0.2) && [ "$s" = 10.3.0.2 ] ||
	    { echo "h3 -> h1:5999 did not get through: '$s'"; return 1; }
	s=$(seen_from "$h2" 5999 "$h1" 10.2.0.2) && [ "$s" = 10.1.0.2 ] ||
	    { echo "h1 -> h2:5999 did not get through natb: '$s'"; return 1; }
	hx firewall save | grep -- '-o espc .*-j REJECT' | tee "$tmp/rej" |
	    grep -v '^\[0:0\]' | grep -q . ||
	    { cat "$tmp/rej"; echo "the rule counted nothing"; return 1; }
}

# The wan's MASQUERADE works: the NAT box's listener sees the hub's
# address, and counted it.
masq_wan_ok() {
	local s
	s=$(seen_from "$n" 6000 "$h1" 192.0.2.254) || return 1
	echo "192.0.2.254 saw $s"
	[ "$s" = 192.0.2.1 ]
}

# ... and leaves alone what leaves through a tunnel, whose output
# interface is the tunnel: the far hosts see h1's own addresses.
masq_tunnel_ok() {
	local s
	s=$(seen_from "$h2" 6001 "$h1" 10.2.0.2) && echo "h2 (natb) saw $s" &&
	    [ "$s" = 10.1.0.2 ] || return 1
	s=$(seen_from "$h3" 6002 "$h1" 10.3.0.2) && echo "h3 (espc) saw $s" &&
	    [ "$s" = 10.1.0.2 ] || return 1
	s=$(seen_from "$h3" 6003 "$h1" 10.3.1.2) && echo "h3 (esp6c) saw $s" &&
	    [ "$s" = 10.1.1.2 ] || return 1
	hx firewall save | grep -- '-o wan -j MASQUERADE' | grep -v '^\[0:0\]' |
	    grep -q . || { echo "the MASQUERADE rule counted nothing"; return 1; }
}

# B's keepalives (every second) cross the NAT; the hub drops and counts
# them on its wan.
keepalive_ok() {
	local n0 n1
	n0=$(drop_count "$sock" wan nat_keepalive)
	sleep 3.5
	n1=$(drop_count "$sock" wan nat_keepalive)
	echo "the hub's nat_keepalive drops: $n0 -> $n1"
	[ "$((n1 - n0))" -ge 2 ]
}

# The NAT forgets an idle UDP mapping after 3 s here; 6 s without
# traffic, and the hub still reaches h2 through it.
idle_mapping_ok() {
	sleep 6
	ping_ok "$h1" 10.2.0.2
}

# The NAT changes its mapping (40500 -> 40501: a rule changed, the old
# entry gone); B's next keepalive makes the new one.  A reload that says
# so on the hub moves natb's outbound SA to the new port: traffic goes
# on, with the same SAs (their counters and sequence numbers go on), not
# new ones.
peer_move_ok() {
	local before after
	nat_sas() {
		hx --json ipsec sas | /usr/bin/python3 -c '
import json, sys
t = {x["tunnel"]: x for x in json.load(sys.stdin)["tunnels"]}["natb"]
s = {s["direction"]: s for s in t["sas"]}
assert s["out"]["dst"] == s["in"]["src"], "out and in show other peers"
print(s["out"]["seq_next"])'
	}
	before=$(nat_sas)
	nsx "$n" iptables -t nat -D POSTROUTING -o n-pub -s 172.16.0.0/24 \
	    -p udp --sport 4500 -j MASQUERADE --to-ports "$NAT_PORT" &&
	nsx "$n" iptables -t nat -A POSTROUTING -o n-pub -s 172.16.0.0/24 \
	    -p udp --sport 4500 -j MASQUERADE --to-ports "$((NAT_PORT + 1))" &&
	nsx "$n" conntrack -D -p udp --orig-port-src 4500 >/dev/null 2>&1
	sleep 1.5		# B's next keepalive maps 40501
	! nsx "$h1" ping -n -c 1 -W 1 10.2.0.2 >/dev/null ||
	    { echo "still through the old port?"; return 1; }
	sed -i "s/\"remote_port\": $NAT_PORT,/\"remote_port\": $((NAT_PORT + 1)),/" "$conf"
	hx reload || return 1
	ping_ok "$h1" 10.2.0.2 || return 1
	after=$(nat_sas)
	echo "natb out seq_next $before -> $after"
	[ "$after" -gt "$before" ] || { echo "the SA started again"; return 1; }
	grep "tunnel natb: peer moved to 192.0.2.254 port $((NAT_PORT + 1))" \
	    "$tmp/hexgated.log" || { echo "no move logged"; return 1; }
	if grep 'tunnel natb changed' "$tmp/hexgated.log"; then
		echo "new SAs were made"
		return 1
	fi
}

sites_alive_ok() {
	local p
	alive_ok || return 1
	for p in "${site_pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { echo "a site's hexgated is gone"; return 1; }
	done
}

make_topology
write_configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
start_hexgated "$a"
start_site b "$b" "$sock_b"
start_site c "$c" "$sock_c"
through natb h2 "$h2" 10.1.0.2 10.2.0.2 5001
through natb h2 "$h2" 2001:db8:1::2 2001:db8:2::2 5003
through espc h3 "$h3" 10.1.0.2 10.3.0.2 5005
through espc h3 "$h3" 2001:db8:1::2 2001:db8:3::2 5007
through esp6c h3 "$h3" 10.1.1.2 10.3.1.2 5009
through esp6c h3 "$h3" 2001:db8:1:1::2 2001:db8:3:1::2 5011
check "on the wire: only the tunnels' ESP-in-UDP (NATed to :$NAT_PORT) and ESP" \
    wire_ok
check "FORWARD_CUST -o espc refuses port 5999 into espc only" forward_out_ok
check "POSTROUTING_CUST -o wan MASQUERADE rewrites what leaves by the wan" \
    masq_wan_ok
check "... and not what leaves through a tunnel: far hosts see h1's addresses" \
    masq_tunnel_ok
check "the site behind the NAT sends NAT keepalives; the hub counts them" \
    keepalive_ok
check "keepalives keep the NAT's mapping over an idle spell past its timeout" \
    idle_mapping_ok
check "the NAT changes its port: a reload moves the SA there, sequence going on" \
    peer_move_ok
check "the three hexgateds still running" sites_alive_ok
finish
