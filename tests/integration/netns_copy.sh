#!/bin/bash
#
# tests/integration/netns_copy.sh: the COPY macro (traffic mirroring) with
# real traffic between network namespaces.
#
#   [ns h1] 10.1.0.2/24 --- r-eth1 "lan" 10.1.0.1  (mirrored, both ways)
#   [ns h2] 10.2.0.2/24 --- r-eth2 "srv" 10.2.0.1
#   [ns c ] 10.9.0.2/24 --- r-eth9 "mon" 10.9.0.1  (collector, MTU 1600)
#                           [ns r: hexgated]
#
#   -A MACRO_CUST -j COPY --from lan --to 10.9.0.2 --bidirectional
#
# Pings and a TCP transfer (socat) h1 <-> h2, IPv4 and IPv6, while tcpdump
# captures on h1's veth (the originals) and on the collector (UDP 4789).
# The collector's capture is decoded with scapy (VXLAN) and the inner
# frames are compared byte for byte with the lan capture, in order, for
# both directions: frames h1 sent (hexgated received them) and frames h1
# received (hexgated sent them).  tshark, when installed, must decode
# the same captures as VXLAN on its own.  Then a collector that never
# answers ARP, and one whose link is down: h1 <-> h2 keeps flowing, the
# session's counters say what was lost.
#
# Local capture: the same traffic mirrored to a TAP hexgated creates
# (--to tap:hgmirror0, tcpdump on it in hexgated's namespace) and to a
# pcap file hexgated writes (--to pcap:FILE --snaplen 96); the TAP's
# frames must equal the lan frames byte for byte, the file's records
# their first 96 bytes with the original length.
#
# Usage: netns_copy.sh BUILD_DIR      (root; exits 77 when it cannot run)
#   HG_WORKERS=2      hexgated's worker threads
#   HG_LOG_LEVEL=info hexgated's log level (its log is shown on failure)
#
# Prints one "ok N - what" / "not ok N - what" line per check and ends with
# "netns_copy: P passed, F failed".  Everything it creates goes away from
# the EXIT trap; KEEP_LOG=1 keeps the temp dir (captures included).

set -u

prog=netns_copy
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping socat ethtool sha256sum timeout ss tcpdump /usr/bin/python3
/usr/bin/python3 -c 'from scapy.layers.vxlan import VXLAN' 2>/dev/null ||
    skip "python3-scapy with VXLAN missing (scripts/install-deps)"
need_netns
need_programs

h1=hg-ch1-$$
h2=hg-ch2-$$
c=hg-cc-$$
r=hg-cr-$$
netns=("$h1" "$h2" "$c" "$r")
begin_run

topology() {
	set -ex
	ip netns add "$r"
	ip -n "$r" link set lo up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$r" sysctl -q -w net.ipv6.conf.all.forwarding=0
	ip netns add "$h1"
	ip netns add "$h2"
	ip netns add "$c"
	ip -n "$r" link add r-eth1 type veth peer name h1-eth0 netns "$h1"
	ip -n "$r" link add r-eth2 type veth peer name h2-eth0 netns "$h2"
	ip -n "$r" link add r-eth9 type veth peer name h9-eth0 netns "$c"
	# Room for a whole 1514-byte frame plus VXLAN's 50 bytes.
	ip -n "$r" link set r-eth9 mtu 1600
	ip -n "$c" link set h9-eth0 mtu 1600
	host_setup "$h1" 1
	host_setup "$h2" 2
	host_setup "$c" 9
	nsx "$r" "$prepare" r-eth1 r-eth2 r-eth9
}

write_config() {
	cat >"$conf" <<EOF
{
  "workers": ${HG_WORKERS:-2},
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:r-eth1",
      "addresses": [ "10.1.0.1/24", "2001:db8:1::1/64" ] },
    { "name": "srv", "port": "afpacket:r-eth2",
      "addresses": [ "10.2.0.1/24", "2001:db8:2::1/64" ] },
    { "name": "mon", "port": "afpacket:r-eth9", "mtu": 1600,
      "addresses": [ "10.9.0.1/24" ] }
  ],
  "firewall": {
    "known_networks": [ "10.1.0.0/24", "10.2.0.0/24",
      "2001:db8:1::/64", "2001:db8:2::/64" ],
    "rules": "rules.v4"
  }
}
EOF
}

# rules TO: the rule set with one COPY session to collector TO.
rules() {
	cat <<EOF
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A MACRO_CUST -j COPY --from lan --to $1 --bidirectional
COMMIT
EOF
}

# rules_local: the collector plus a TAP and a pcap file (snap length 96).
rules_local() {
	cat <<EOF
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A MACRO_CUST -j COPY --from lan --to 10.9.0.2 --bidirectional
-A MACRO_CUST -j COPY --from lan --to tap:hgmirror0 --bidirectional
-A MACRO_CUST -j COPY --from lan --to pcap:$tmp/local.pcap --bidirectional --snaplen 96
COMMIT
EOF
}

# ---- helpers ------------------------------------------------------------

# tcp_ok PORT: 256 KiB from h1 to h2, bytes compared.
tcp_ok() {
	local port=$1 spid a b
	rm -f "$tmp/out-$port"
	ip netns exec "$h2" timeout 30 socat -u "TCP4-LISTEN:$port,reuseaddr" \
	    "OPEN:$tmp/out-$port,creat,trunc" 2>/dev/null &
	spid=$!
	bg_pids+=("$spid")
	tcp_listening "$h2" "$port" || { echo "no listener in h2"; return 1; }
	nsx "$h1" timeout 20 socat -u "OPEN:$tmp/in.bin" \
	    "TCP4:10.2.0.2:$port,connect-timeout=5" ||
	    { echo "client in h1 failed"; return 1; }
	wait "$spid" || { echo "server in h2 failed"; return 1; }
	a=$(sha256sum <"$tmp/in.bin" | cut -d' ' -f1)
	b=$(sha256sum <"$tmp/out-$port" | cut -d' ' -f1)
	echo "sent $a, received $b"
	[ "$a" = "$b" ]
}

# copy_json: the "copy" array of hexctl show firewall.
copy_json() {
	"$hexctl" -s "$sock" --json show firewall |
	    /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["copy"]))'
}

# capture NS DEV FILE [FILTER]: tcpdump in the background until
# stop_captures; returns once it listens.
capture() {
	local ns=$1 dev=$2 file=$3 i
	shift 3
	ip netns exec "$ns" tcpdump -n -U -s 0 -i "$dev" -w "$file" "$@" \
	    2>"$file.log" &
	cap_pids+=("$!")
	bg_pids+=("$!")
	for i in $(seq 50); do
		grep -q "listening on" "$file.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump on $dev in $ns did not start"
	cat "$file.log"
	return 1
}

stop_captures() {
	local p
	sleep 1		# the last copies are on their way
	for p in "${cap_pids[@]}"; do
		kill -INT "$p" 2>/dev/null
	done
	for p in "${cap_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	cap_pids=()
}

# ---- checks -------------------------------------------------------------

session_listed() {
	local js
	js=$(copy_json) || return 1
	echo "$js"
	echo "$js" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
assert len(c) == 1, "want one session"
s = c[0]
assert s["from"] == "lan" and s["to"] == "10.9.0.2", s
assert s["bidirectional"] and s["active"] and s["vni"] == 1, s
'
}

# Traffic while both captures run: the collector's neighbour is resolved
# first, so no copy waits for ARP.
mirrored_traffic() {
	cap_pids=()
	ping_ok "$h1" 10.2.0.2 >/dev/null || { echo "warm-up ping failed"; return 1; }
	sleep 0.5
	capture "$h1" h1-eth0 "$tmp/lan.pcap" || return 1
	capture "$c" h9-eth0 "$tmp/col.pcap" udp port 4789 || return 1
	sleep 0.5
	# h1 asks for hexgated's MAC again: ARP both ways on lan.
	ip -n "$h1" -4 neigh flush dev h1-eth0
	nsx "$h1" ping -n -c 5 -i 0.2 -W 2 10.2.0.2 || return 1
	tcp_ok 9000 || return 1
	nsx "$h1" ping -n -c 3 -i 0.2 -W 2 2001:db8:2::2 || return 1
	stop_captures
	ls -l "$tmp/lan.pcap" "$tmp/col.pcap"
}

# The collector's inner frames equal the lan capture's, byte for byte,
# in order, per direction; every outer header is checked on the way.
copies_equal() {
	cat >"$tmp/compare.py" <<'EOF'
import sys
from scapy.all import rdpcap, Ether, IP, UDP
from scapy.layers.vxlan import VXLAN

lan, col, h1_mac, r_mac = sys.argv[1:5]

def traffic(raw):
    """What this test sends: h1 <-> h2 IPv4/IPv6, h1's ARP with hexgated."""
    e = Ether(raw)
    if e.type == 0x0806:
        return {e.payload.psrc, e.payload.pdst} == {"10.1.0.1", "10.1.0.2"}
    if e.type == 0x0800:
        return {e.payload.src, e.payload.dst} == {"10.1.0.2", "10.2.0.2"}
    if e.type == 0x86DD:
        return {e.payload.src, e.payload.dst} == {"2001:db8:1::2",
                                                  "2001:db8:2::2"}
    return False

lan_frames = [bytes(p) for p in rdpcap(lan)]
inner = []
bad = 0
for p in rdpcap(col):
    if UDP not in p or p[UDP].dport != 4789:
        continue
    ip, udp = p[IP], p[UDP]
    if ip.src != "10.9.0.1" or ip.dst != "10.9.0.2" or not ip.flags.DF:
        print("outer IPv4 wrong: %s" % ip.summary()); bad = 1
    if udp.chksum != 0 or udp.sport < 49152:
        print("outer UDP wrong: sport %d chksum %#x" % (udp.sport,
              udp.chksum)); bad = 1
    vx = VXLAN(bytes(udp.payload))
    if vx.flags != 0x08 or vx.vni != 1:
        print("VXLAN header wrong: flags %#x vni %d" % (vx.flags, vx.vni))
        bad = 1
    inner.append(bytes(udp.payload)[8:])

print("lan capture: %d frames, collector: %d copies" % (len(lan_frames),
      len(inner)))
total = 0
for name, mac in (("h1 sent, hexgated received", h1_mac),
                  ("hexgated sent, h1 received", r_mac)):
    want = [f for f in lan_frames if Ether(f).src == mac and traffic(f)]
    got = [f for f in inner if Ether(f).src == mac and traffic(f)]
    print("%s: %d on lan, %d copies" % (name, len(want), len(got)))
    # Every frame copied byte for byte; the order only noted: under load
    # the veth delivers a flow's frames from two CPUs' backlogs, so
    # hexgated may see (and copy) them in another order than a capture
    # on the wire.
    if sorted(want) != sorted(got):
        bad = 1
        missing = [f for f in want if f not in got]
        extra = [f for f in got if f not in want]
        print("  %d lan frames without a copy, %d copies of no lan frame"
              % (len(missing), len(extra)))
        for f in missing[:1]:
            print("  lan:  " + f.hex())
        for f in extra[:1]:
            print("  copy: " + f.hex())
    elif want != got:
        print("  NOTE: the same frames, %d in another order than the "
              "wire's" % sum(a != b for a, b in zip(want, got)))
    # The data goes h1 -> h2; the other way are ACKs, as few as the
    # receiver's delayed ACKs make them.
    if len(want) < (50 if name.startswith("h1") else 10):
        print("  too few frames: the TCP transfer is missing"); bad = 1
    total += len(got)
# ARP is mirrored too (the rule has no matches): h1 resolved hexgated
# again during the capture.
if not any(Ether(f).type == 0x0806 for f in inner):
    print("no ARP frame among the copies"); bad = 1
print("NOTE: %d frames equal byte for byte, %d copies in all" % (total,
      len(inner)))
sys.exit(bad)
EOF
	local h1_mac r_mac
	h1_mac=$(ip -n "$h1" -br link show h1-eth0 | awk '{ print $3 }')
	r_mac=$(ip -n "$r" -br link show r-eth1 | awk '{ print $3 }')
	/usr/bin/python3 "$tmp/compare.py" "$tmp/lan.pcap" "$tmp/col.pcap" \
	    "$h1_mac" "$r_mac" 2>&1 | grep -v "^WARNING"
	return "${PIPESTATUS[0]}"
}

# tshark (Wireshark) decodes UDP 4789 as VXLAN by itself.
tshark_decodes() {
	local n_udp n_vx vnis
	if ! command -v tshark >/dev/null; then
		echo "NOTE: skipped: tshark not installed (scripts/install-deps)"
		return 0
	fi
	n_udp=$(tshark -r "$tmp/col.pcap" -Y "udp.dstport == 4789" 2>/dev/null | wc -l)
	n_vx=$(tshark -r "$tmp/col.pcap" -Y "vxlan && eth.type" 2>/dev/null | wc -l)
	vnis=$(tshark -r "$tmp/col.pcap" -Y vxlan -T fields -e vxlan.vni 2>/dev/null |
	    sort -u | tr '\n' ' ')
	echo "UDP 4789: $n_udp, decoded as VXLAN with an inner frame: $n_vx, VNIs: $vnis"
	echo "NOTE: $n_vx of $n_udp decoded as VXLAN"
	[ "$n_udp" -gt 0 ] && [ "$n_udp" = "$n_vx" ] && [ "$vnis" = "1 " ]
}

counters_ok() {
	local js n
	n=$(/usr/bin/python3 -c "
from scapy.all import rdpcap
print(len(rdpcap('$tmp/col.pcap')))" 2>/dev/null)
	js=$(copy_json) || return 1
	echo "$js (collector captured $n)"
	echo "$js" | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)[0]
print('NOTE: sent %d, dropped %d, truncated %d' % (s['sent'], s['dropped'],
      s['truncated']))
assert s['sent'] >= $n, 'fewer sent than the collector captured'
assert s['truncated'] == 0, 'frames cut although the MTU has room'
"
}

# The TAP and the pcap file: listed, and capturing while traffic flows.
local_traffic() {
	local i js
	rules_local >"$tmp/local.v4"
	hx firewall restore -4 "$tmp/local.v4" || { echo "restore failed"; return 1; }
	for i in $(seq 50); do
		ip -n "$r" link show hgmirror0 >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$r" -d link show hgmirror0 || { echo "no TAP hgmirror0"; return 1; }
	js=$(copy_json) || return 1
	echo "$js"
	echo "$js" | /usr/bin/python3 -c "
import json, sys
c = json.load(sys.stdin)
assert len(c) == 3, 'want three sessions'
assert c[1]['to'] == 'tap:hgmirror0' and c[1]['active'], c[1]
assert c[2]['to'] == 'pcap:$tmp/local.pcap' and c[2]['active'], c[2]
assert c[2]['snaplen'] == 96 and c[1]['snaplen'] == 0, c
" || return 1
	cap_pids=()
	ping_ok "$h1" 10.2.0.2 >/dev/null || { echo "warm-up ping failed"; return 1; }
	sleep 0.5
	capture "$h1" h1-eth0 "$tmp/lan2.pcap" || return 1
	capture "$r" hgmirror0 "$tmp/tap.pcap" || return 1
	sleep 0.5
	ip -n "$h1" -4 neigh flush dev h1-eth0
	nsx "$h1" ping -n -c 5 -i 0.2 -W 2 10.2.0.2 || return 1
	tcp_ok 9003 || return 1
	nsx "$h1" ping -n -c 3 -i 0.2 -W 2 2001:db8:2::2 || return 1
	stop_captures
	ls -l "$tmp/lan2.pcap" "$tmp/tap.pcap" "$tmp/local.pcap"
}

# The TAP's frames equal the lan frames, byte for byte, in order, per
# direction; the pcap file's records are their first 96 bytes, with the
# frame's length as the original length.
local_copies_equal() {
	cat >"$tmp/compare_local.py" <<'EOF'
import sys
from collections import Counter
from scapy.all import rdpcap, Ether, RawPcapReader

lan, tap, local, h1_mac, r_mac = sys.argv[1:6]

def traffic(raw):
    """h1 <-> h2 IPv4/IPv6 and h1's ARP with hexgated (a cut frame is
    padded back to its length first)."""
    e = Ether(raw)
    if e.type == 0x0806:
        return {e.payload.psrc, e.payload.pdst} == {"10.1.0.1", "10.1.0.2"}
    if e.type == 0x0800:
        return {e.payload.src, e.payload.dst} == {"10.1.0.2", "10.2.0.2"}
    if e.type == 0x86DD:
        return {e.payload.src, e.payload.dst} == {"2001:db8:1::2",
                                                  "2001:db8:2::2"}
    return False

lan_frames = [bytes(p) for p in rdpcap(lan)]
tap_frames = [bytes(p) for p in rdpcap(tap)]
recs = [(bytes(d), m.wirelen) for d, m in RawPcapReader(local)]
print("lan: %d frames, TAP: %d, pcap file: %d records"
      % (len(lan_frames), len(tap_frames), len(recs)))
bad = 0
total = 0
for name, mac in (("h1 sent, hexgated received", h1_mac),
                  ("hexgated sent, h1 received", r_mac)):
    src = bytes.fromhex(mac.replace(":", ""))
    want = [f for f in lan_frames if f[6:12] == src and traffic(f)]
    got = [f for f in tap_frames if f[6:12] == src and traffic(f)]
    print("%s: %d on lan, %d on the TAP" % (name, len(want), len(got)))
    # Every frame byte for byte; the order only noted: under load the
    # veth delivers a flow's frames from two CPUs' backlogs, so hexgated
    # may see them in another order than a capture on the wire.
    if sorted(want) != sorted(got):
        bad = 1
        missing = [f for f in want if f not in got]
        extra = [f for f in got if f not in want]
        print("  %d lan frames not on the TAP, %d TAP frames not on the "
              "lan" % (len(missing), len(extra)))
        for f in missing[:1]:
            print("  lan: " + f.hex())
        for f in extra[:1]:
            print("  tap: " + f.hex())
    elif want != got:
        print("  NOTE: the same frames, %d in another order than the "
              "wire's" % sum(a != b for a, b in zip(want, got)))
    # The data goes h1 -> h2; the other way are ACKs, as few as the
    # receiver's delayed ACKs make them.
    if len(want) < (50 if name.startswith("h1") else 10):
        print("  too few frames: the TCP transfer is missing"); bad = 1
    snap = [(f[:96], len(f)) for f in want]
    rec = [(d, n) for d, n in recs if len(d) >= 14 and d[6:12] == src and
           traffic(d + bytes(n - len(d)))]
    print("%s: %d records in the pcap file" % (name, len(rec)))
    # The file began with the restore (the warm-up ping is in it) and
    # goes on after the captures: each lan frame's first 96 bytes are
    # among its records (the pcap writer merges the workers' queues, so
    # again the order is hexgated's, not the wire's).
    if Counter(snap) - Counter(rec):
        print("  %d frames have no record of their first 96 bytes in the "
              "pcap file" % sum((Counter(snap) - Counter(rec)).values()))
        bad = 1
    total += len(got)
if any(len(d) > 96 for d, n in recs):
    print("a record longer than --snaplen 96"); bad = 1
print("NOTE: %d frames equal byte for byte on the TAP" % total)
sys.exit(bad)
EOF
	local h1_mac r_mac
	h1_mac=$(ip -n "$h1" -br link show h1-eth0 | awk '{ print $3 }')
	r_mac=$(ip -n "$r" -br link show r-eth1 | awk '{ print $3 }')
	/usr/bin/python3 "$tmp/compare_local.py" "$tmp/lan2.pcap" \
	    "$tmp/tap.pcap" "$tmp/local.pcap" "$h1_mac" "$r_mac" 2>&1 |
	    grep -v "^WARNING"
	return "${PIPESTATUS[0]}"
}

# A collector that never answers ARP costs only counters.
collector_silent() {
	rules 10.9.0.3 >"$tmp/silent.v4"
	hx firewall restore -4 "$tmp/silent.v4" || { echo "restore failed"; return 1; }
	ping_ok "$h1" 10.2.0.2 || return 1
	tcp_ok 9001 || return 1
	ping_ok "$h1" 2001:db8:2::2 || return 1
	copy_json | tee /dev/stderr | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)[0]
print('NOTE: sent %d, dropped %d' % (s['sent'], s['dropped']))
assert s['to'] == '10.9.0.3'
assert s['sent'] == 0, 'copies sent to a collector that never answered'
assert s['dropped'] > 100, 'the lost copies are not counted'
"
}

# The collector's link goes down: traffic goes on.
collector_link_down() {
	rules 10.9.0.2 >"$tmp/rules.v4"
	hx firewall restore -4 "$tmp/rules.v4" || { echo "restore failed"; return 1; }
	ip -n "$c" link set h9-eth0 down
	ping_ok "$h1" 10.2.0.2 || return 1
	tcp_ok 9002 || return 1
	alive_ok
}

# ---- run ----------------------------------------------------------------

dd if=/dev/urandom of="$tmp/in.bin" bs=64k count=4 status=none
make_topology
write_config
rules 10.9.0.2 >"$tmp/rules.v4"
start_hexgated "$r"

check "show firewall lists the COPY session (lan -> 10.9.0.2, VNI 1)" session_listed
check "ping and TCP h1 <-> h2 while tcpdump captures lan and the collector" \
    mirrored_traffic
check "collector's VXLAN inner frames equal the lan frames, byte for byte, both directions" \
    copies_equal
check "tshark decodes every copy as VXLAN" tshark_decodes
check "the session counts what it sent" counters_ok
check "tap:hgmirror0 and pcap:FILE --snaplen 96 listed; traffic captured on the TAP" \
    local_traffic
check "TAP frames equal the lan frames byte for byte; the pcap file holds their first 96 bytes" \
    local_copies_equal
check "collector that never answers ARP: traffic flows, copies counted dropped" \
    collector_silent
check "collector link down: traffic flows" collector_link_down
check "hexgated still running" alive_ok
finish
