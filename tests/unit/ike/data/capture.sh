#!/bin/bash
# tests/unit/ike/data/capture.sh: records one strongSwan IKEv2 PSK exchange
# between two charons (two netns, one veth) with the keys charon logs, so
# the vectors of tests/unit/ike/test_crypto.c can be made again:
#
#   ns ikecap-l-PID (responder)          ns ikecap-r-PID (initiator)
#   charon 192.0.2.1 [cap-l] ---veth--- [cap-r] 192.0.2.2 charon
#          tcpdump on cap-l
#
# Usage: [REKEY=1] capture.sh OUTDIR [IKE_PROPOSAL [ESP_PROPOSAL]]
# Writes OUTDIR/ike.pcap (UDP 500 and 4500 as seen on the left veth),
# OUTDIR/left.log and OUTDIR/right.log (charon at ike and chd level 4:
# DH secret, SKEYSEED, SK_*, AUTH, child keys).  extract.py turns
# those into vectors.  The charon set-up follows
# ../shared/interop/strongswan-ikev2-psk.sh (kernel-libipsec, so charon
# fakes a NAT and moves to UDP 4500 after IKE_SA_INIT).
set -euo pipefail
OUT=$(realpath -m "${1:?usage: capture.sh OUTDIR [IKE_PROPOSAL [ESP_PROPOSAL]]}")
IKE=${2:-aes256gcm16-prfsha256-x25519}
ESP=${3:-aes256gcm16}
PSK=${PSK:-interop-psk}
CHARON=${CHARON:-$(command -v charon-systemd || echo /usr/lib/ipsec/charon)}
L=ikecap-l-$$ R=ikecap-r-$$ ST=/tmp/ikecap-$$
mkdir -p "$OUT" "$ST"

cleanup() {
	local p
	for p in "$ST"/*.pid; do
		[ -e "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	sleep 0.3
	ip netns del $L 2>/dev/null || true
	ip netns del $R 2>/dev/null || true
	rm -rf "$ST"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NS NAME LOCAL REMOTE LOCAL_TS REMOTE_TS START_ACTION
start() {
	local ns=$1 d=$ST/$2 i
	mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<CONF
charon {
  load = random nonce openssl kdf aes sha1 sha2 hmac gcm gmp kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix://$d/charon.vici } }
  filelog {
    log { path = $OUT/$2.log
          default = 1
          ike = 4
          chd = 4
          flush_line = yes }
  }
  syslog { daemon { default = -1 } }
  journal { default = -1 }
}
CONF
	cat >"$d/swanctl.conf" <<CONF
connections {
  net {
    version = 2
    local_addrs = $3
    remote_addrs = $4
    proposals = $IKE
    mobike = no
    keyingtries = 0
    local { auth = psk
            id = $3 }
    remote { auth = psk
             id = %any }
    children {
      net { local_ts = $5
            remote_ts = $6
            esp_proposals = $ESP
            start_action = $7 }
    }
  }
}
secrets {
  ike-psk { secret = 0s$(printf %s "$PSK" | base64 -w0) }
}
CONF
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$ns" \
	    sh -c 'mount -n --bind "$0" /run && exec "$@"' "$d/run" \
	    setsid "$CHARON" </dev/null >"$d/charon.out" 2>&1 &
	echo $! >"$ST/$2.pid"
	for i in $(seq 100); do
		swanctl --stats --uri "unix://$d/charon.vici" >/dev/null 2>&1 &&
		    break
		sleep 0.05
	done
	swanctl --load-all --file "$d/swanctl.conf" \
	    --uri "unix://$d/charon.vici" >/dev/null 2>&1
}

rm -f "$OUT"/left.log "$OUT"/right.log "$OUT"/ike.pcap
ip netns add $L
ip netns add $R
ip link add cap-l netns $L type veth peer name cap-r netns $R
ip -n $L addr add 192.0.2.1/24 dev cap-l
ip -n $R addr add 192.0.2.2/24 dev cap-r
ip -n $L link set cap-l up; ip -n $L link set lo up
ip -n $R link set cap-r up; ip -n $R link set lo up
ip -n $L addr add 198.51.100.1/32 dev lo
ip -n $R addr add 203.0.113.1/32 dev lo
ip netns exec $L tcpdump -i cap-l --immediate-mode -U -s 0 \
    -w "$OUT/ike.pcap" 'udp port 500 or (udp port 4500 and udp[8:4] = 0)' \
    2>/dev/null &
echo $! >"$ST/tcpdump.pid"
sleep 0.5
start $L left 192.0.2.1 192.0.2.2 198.51.100.0/24 203.0.113.0/24 none
start $R right 192.0.2.2 192.0.2.1 203.0.113.0/24 198.51.100.0/24 start
for i in $(seq 50); do
	grep -q "CHILD_SA net{1} established" "$OUT/left.log" 2>/dev/null &&
	    break
	sleep 0.1
done
grep -q "CHILD_SA net{1} established" "$OUT/left.log" ||
    { echo "capture.sh: no CHILD_SA within 5 s" >&2; exit 1; }
# REKEY=1: the initiator then rekeys the IKE SA (CREATE_CHILD_SA, §2.18).
if [ "${REKEY:-0}" = 1 ]; then
	swanctl --rekey --ike net --uri "unix://$ST/right/charon.vici" \
	    >/dev/null 2>&1
	for i in $(seq 50); do
		grep -q "IKE_SA net\[2\] rekeyed" "$OUT/right.log" && break
		sleep 0.1
	done
fi
sleep 0.3
kill "$(cat "$ST/tcpdump.pid")"; rm "$ST/tcpdump.pid"
sleep 0.2
echo "capture.sh: $IKE / $ESP recorded in $OUT"
