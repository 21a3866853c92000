#!/bin/bash
#
# tests/integration/netns_esp.sh: two hexgated sites joined by manually
# keyed ESP tunnels (issue 14), hosts behind each.
#
#   h1 (10.1.0.2) -- a: hexgated A -- wan 192.0.2.0/24 -- b: hexgated B -- h2 (10.2.0.2)
#                     ipsec0: native ESP, AES-256-GCM     (10.2.0.0/24 via it)
#                     udp0:   ESP-in-UDP 4500, ChaCha20-Poly1305
#                                                         (10.2.1.0/24 via it)
#
# Checks: the tunnel interfaces are listed with the others; ping and an
# 8 MiB TCP transfer (sha256 compared) through the native ESP tunnel in
# both directions; the same through the ESP-in-UDP tunnel on the same
# endpoint; on the wire between the sites only ESP (protocol 50) and UDP
# 4500 carry the hosts' traffic, never their addresses in clear; the
# tunnels' counters; a FORWARD_CUST rule naming the tunnel interface
# (-i ipsec0) refuses what comes through it; hexctl ipsec sas lists the
# SAs with their counters and no key (nor does the log); a key file
# readable by others stops the start with the file named.
#
# Usage: netns_esp.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_esp
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat sha256sum timeout ss tcpdump /usr/bin/python3
need_netns
need_programs

h1=hg-eh1-$$
a=hg-ea-$$
b=hg-eb-$$
h2=hg-eh2-$$
netns=("$h1" "$a" "$b" "$h2")
begin_run
sock_b=$tmp/b.sock
conf_b=$tmp/b.json
b_pid=

topology() {
	set -ex
	for n in "$h1" "$a" "$b" "$h2"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name b-wan netns "$b"
	ip -n "$b" link add b-lan type veth peer name h2-eth0 netns "$h2"
	for n in "$a" "$b"; do
		ip -n "$n" link set lo up
		nsx "$n" sysctl -q -w net.ipv4.ip_forward=0
		nsx "$n" sysctl -q -w net.ipv6.conf.all.forwarding=0
	done
	nsx "$a" "$prepare" a-lan a-wan
	nsx "$b" "$prepare" b-lan b-wan
	host_setup "$h1" 1
	host_setup "$h2" 2
	# h2 also answers on 10.2.1.2, reached through the UDP tunnel.
	ip -n "$h2" addr add 10.2.1.2/24 dev h2-eth0
}

# key NAME HEX: a key file, root's only.
key() {
	printf '%s\n' "$2" >"$tmp/$1.key"
	chmod 600 "$tmp/$1.key"
}

GCM_AB=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304
GCM_BA=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010004030201
CHA_AB=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3
CHA_BA=c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a0

# site NAME LAN_IF LAN_ADDR WAN_IF WAN_ADDR PEER REMOTE_NETS LOCAL_NETS
#      ESP_OUT ESP_IN UDP_OUT UDP_IN SOCK
site_config() {
	local me=$1
	cat <<EOF
{
  "workers": 1,
  "control_socket": "${13}",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:$2", "addresses": [ "$3" ] },
    { "name": "wan", "port": "afpacket:$4", "addresses": [ "$5" ] }
  ],
  "tunnels": [
    { "name": "ipsec0", "local": "${5%/*}", "remote": "$6",
      "remote_subnets": [ "$7" ],
      "sa_out": { "spi": $9, "alg": "aes256gcm", "key_file": "gcm-$me-out.key" },
      "sa_in": { "spi": ${10}, "alg": "aes256gcm", "key_file": "gcm-$me-in.key" } },
    { "name": "udp0", "local": "${5%/*}", "remote": "$6", "encap": "udp",
      "remote_subnets": [ "${7%.0.0/24}.1.0/24" ],
      "sa_out": { "spi": ${11}, "alg": "chacha20poly1305", "key_file": "cha-$me-out.key" },
      "sa_in": { "spi": ${12}, "alg": "chacha20poly1305", "key_file": "cha-$me-in.key" } }
  ],
  "routes": [
    { "prefix": "$7", "interface": "ipsec0" },
    { "prefix": "${7%.0.0/24}.1.0/24", "interface": "udp0" }
  ],
  "firewall": {
    "known_networks": [ "10.1.0.0/24", "10.2.0.0/24", "10.2.1.0/24" ],
    "rules": "rules-$me.v4"
  }
}
EOF
}

# No rule admits the peer's ESP: the appliance's defaults do (INPUT,
# default 5), for the configured tunnels' peers.
rules() {
	cat >"$tmp/rules-$1.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
}

write_configs() {
	key gcm-a-out "$GCM_AB"; key gcm-b-in "$GCM_AB"
	key gcm-b-out "$GCM_BA"; key gcm-a-in "$GCM_BA"
	key cha-a-out "$CHA_AB"; key cha-b-in "$CHA_AB"
	key cha-b-out "$CHA_BA"; key cha-a-in "$CHA_BA"
	rules a 192.0.2.2
	rules b 192.0.2.1
	site_config a a-lan 10.1.0.1/24 a-wan 192.0.2.1/24 192.0.2.2 \
	    10.2.0.0/24 10.1.0.0/24 4097 8193 4098 8194 "$sock" >"$conf"
	site_config b b-lan 10.2.0.1/24 b-wan 192.0.2.2/24 192.0.2.1 \
	    10.1.0.0/24 10.2.0.0/24 8193 4097 8194 4098 "$sock_b" >"$conf_b"
	# B's LAN has the UDP tunnel's subnet too; A routes it, B owns it.
	/usr/bin/python3 - "$conf_b" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["interfaces"][0]["addresses"].append("10.2.1.1/24")
c["routes"] = [r for r in c["routes"] if r["interface"] == "ipsec0"]
c["routes"].append({"prefix": "10.1.1.0/24", "interface": "udp0"})
c["tunnels"][1]["remote_subnets"] = ["10.1.0.0/24"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
}

hxb() {
	"$hexctl" -s "$sock_b" "$@"
}

start_b() {
	(cd "$tmp" && exec ip netns exec "$b" "$hexgated" -c "$conf_b") \
	    2>"$tmp/b.log" &
	b_pid=$!
	bg_pids+=("$b_pid")
	local i
	for i in $(seq 100); do
		kill -0 "$b_pid" 2>/dev/null || fatal "site B starts" \
		    "hexgated B exited: $(tail -n 3 "$tmp/b.log")"
		[ -S "$sock_b" ] && hxb show interfaces >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fatal "site B starts" "control socket not answering after 10 s"
}

interfaces_ok() {
	hx show interfaces | tee "$tmp/ifs"
	grep -q '^ipsec0 ' "$tmp/ifs" && grep -q '^udp0 ' "$tmp/ifs"
}

# tcp_ok SRC_NS DST_NS DST_ADDR PORT: 8 MiB, sha256 compared.
tcp_ok() {
	local out=$tmp/tcp-$4
	rm -f "$out"
	ip netns exec "$2" timeout 30 socat -u "TCP4-LISTEN:$4,reuseaddr" \
	    "OPEN:$out,creat,trunc" &
	bg_pids+=("$!")
	tcp_listening "$2" "$4" || { echo "no listener"; return 1; }
	nsx "$1" timeout 30 socat -u "OPEN:$tmp/in.bin" "TCP4:$3:$4" ||
	    { echo "client failed"; return 1; }
	wait "$!" 2>/dev/null
	sleep 0.2
	[ "$(sha256sum <"$tmp/in.bin")" = "$(sha256sum <"$out")" ] ||
	    { echo "sha256 differs"; ls -l "$tmp/in.bin" "$out"; return 1; }
}

# On the wire between the sites: ESP and UDP 4500 only, no inner address.
wire_ok() {
	local cap=$tmp/wire.pcap
	nsx "$b" timeout 4 tcpdump -q -n -i b-wan -w "$cap" 2>/dev/null &
	local tp=$!
	sleep 1
	nsx "$h1" ping -n -c 3 -i 0.2 10.2.0.2 >/dev/null
	nsx "$h1" ping -n -c 3 -i 0.2 10.2.1.2 >/dev/null
	wait "$tp"
	nsx "$b" tcpdump -n -r "$cap" 2>/dev/null | tee "$tmp/wire.txt" | head
	grep -q 'ESP(spi=0x00001001' "$tmp/wire.txt" ||
	    { echo "no native ESP with A's SPI"; return 1; }
	grep -q '192.0.2.1.4500 > 192.0.2.2.4500: UDP-encap' "$tmp/wire.txt" ||
	    grep -q '192.0.2.1.4500 > 192.0.2.2.4500' "$tmp/wire.txt" ||
	    { echo "no ESP-in-UDP"; return 1; }
	! grep -q '10\.[12]\.[01]\.2' "$tmp/wire.txt" ||
	    { echo "an inner address in clear"; return 1; }
}

# A sends to 10.2.1.0/24 through udp0, B answers through ipsec0: A's
# ipsec0 both ways, A's udp0 out, B's udp0 in.
# INPUT's defaults admitted the peer's ESP, counted as ipsec_peer.
peer_default_ok() {
	hx --json show firewall | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["ipv4"]["verdicts"]["input"]
print("input verdicts:", v)
assert v["ipsec_peer"] > 0
'
}

counters_ok() {
	hx --json show interfaces >"$tmp/a.json" &&
	    hxb --json show interfaces >"$tmp/b.json" || return 1
	/usr/bin/python3 - "$tmp/a.json" "$tmp/b.json" <<'PY'
import json, sys
a, b = ({i["name"]: i for i in json.load(open(f))["interfaces"]}
        for f in sys.argv[1:3])
want = [("A ipsec0 rx", a["ipsec0"]["rx_packets"]),
        ("A ipsec0 tx", a["ipsec0"]["tx_packets"]),
        ("A udp0 tx", a["udp0"]["tx_packets"]),
        ("B udp0 rx", b["udp0"]["rx_packets"]),
        ("B ipsec0 rx", b["ipsec0"]["rx_packets"])]
for what, n in want:
    print(what, n)
assert all(n > 1000 for _, n in want), "a tunnel carried too little"
PY
}

# hexctl ipsec sas: four SAs with their counters; no key anywhere, in
# the answer or the log.
sas_ok() {
	hx --json ipsec sas | tee "$tmp/sas.json" | /usr/bin/python3 -c '
import json, sys
t = {x["tunnel"]: x for x in json.load(sys.stdin)["tunnels"]}
for name, alg in (("ipsec0", "aes-gcm-16"), ("udp0", "chacha20-poly1305")):
    sas = {s["direction"]: s for s in t[name]["sas"]}
    print(name, {d: (s["spi"], s["algorithm"], s["encap"], s["packets"])
                 for d, s in sas.items()})
    assert set(sas) == {"in", "out"}, name
    assert sas["out"]["packets"] > 0, name
assert t["ipsec0"]["sas"][0]["encap"] == "esp"
assert t["udp0"]["sas"][0]["encap"] == "udp"
' || return 1
	local k
	for k in "$GCM_AB" "$GCM_BA" "$CHA_AB" "$CHA_BA"; do
		! grep -qi "${k:0:16}" "$tmp/sas.json" "$tmp/hexgated.log" \
		    "$tmp/b.log" || { echo "a key is out"; return 1; }
	done
}

forward_rule_ok() {
	hx firewall add FORWARD_CUST -i ipsec0 -p icmp -j DROP || return 1
	! nsx "$h2" ping -n -c 2 -i 0.2 -W 1 10.1.0.2 >/dev/null ||
	    { echo "still answered"; return 1; }
	hx firewall delete FORWARD_CUST -i ipsec0 -p icmp -j DROP || return 1
	ping_ok "$h2" 10.1.0.2
}

# A reload that changes a tunnel is refused, naming it; the tunnel goes on.
reload_ok() {
	local out
	cp "$conf" "$tmp/a.keep"
	sed -i 's/"spi": 4097/"spi": 4099/' "$conf"
	out=$(hx reload 2>&1)
	cp "$tmp/a.keep" "$conf"
	echo "$out"
	echo "$out" | grep -q '/tunnels/0 (ipsec0): a tunnel changes at a restart' ||
	    return 1
	ping_ok "$h1" 10.2.0.2
}

loose_key_ok() {
	local out
	chmod 644 "$tmp/gcm-a-out.key"
	out=$(cd "$tmp" && "$hexgated" -c "$conf" --check 2>&1; cd "$tmp" &&
	    ip netns exec "$a" timeout 5 "$hexgated" -c "$tmp/loose.json" 2>&1)
	chmod 600 "$tmp/gcm-a-out.key"
	echo "$out" | tail -n 3
	[ "$(echo "$out" | grep -c 'gcm-a-out.key must be a regular file readable by its owner only')" = 2 ]
}

make_topology
write_configs
head -c 8388608 /dev/urandom >"$tmp/in.bin"
start_hexgated "$a"
start_b
# A second configuration of A's for the loose key: another socket, so it
# cannot take the running one's.
sed "s|\"$sock\"|\"$tmp/loose.sock\"|" "$conf" >"$tmp/loose.json"
check "the tunnel interfaces are listed" interfaces_ok
check "ping h1 -> h2 through native ESP (AES-256-GCM)" ping_ok "$h1" 10.2.0.2
check "ping h2 -> h1 through native ESP" ping_ok "$h2" 10.1.0.2
check "8 MiB TCP h1 -> h2 through native ESP, sha256 equal" tcp_ok "$h1" "$h2" 10.2.0.2 5001
check "8 MiB TCP h2 -> h1 through native ESP, sha256 equal" tcp_ok "$h2" "$h1" 10.1.0.2 5002
check "ping h1 -> h2 through ESP-in-UDP (ChaCha20-Poly1305) on the same endpoint" \
    ping_ok "$h1" 10.2.1.2
check "8 MiB TCP h1 -> h2 through ESP-in-UDP, sha256 equal" tcp_ok "$h1" "$h2" 10.2.1.2 5003
check "on the wire: ESP and UDP 4500 only, no inner address in clear" wire_ok
check "the tunnels count what they carried" counters_ok
check "INPUT's defaults admit the peers' ESP, no rule needed (ipsec_peer)" peer_default_ok
check "ipsec sas: the SAs with their counters, and no key in it or the log" sas_ok
check "FORWARD_CUST -i ipsec0 refuses what comes through the tunnel" forward_rule_ok
check "a reload that changes a tunnel is refused, naming it; traffic goes on" reload_ok
check "a key file readable by others: --check and a start refuse it, named" loose_key_ok
check "hexgated A still running" alive_ok
finish
