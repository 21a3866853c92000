#!/bin/bash
#
# tests/integration/netns_wg_handshake.sh: our WireGuard initiator
# (src/tun/wg_noise.c, through tests/integration/wg_probe.c) against a
# stock wireguard-go (issue 16).
#
#   p: wg_probe (192.0.2.1) ---- veth ---- w: wireguard-go 192.0.2.2:51820
#                                             wg0 10.97.0.2, peer = wg_probe
#                                             allowed-ips 10.97.0.1/32
#
# Checks, with a PSK and without: wireguard-go answers our initiation and
# its response decrypts (MAC1, ee, se, psk, the empty payload); an ICMP
# echo request sealed with our send key reaches wireguard-go's tunnel and
# its echo reply opens with our receive key (so both transport keys are
# wireguard-go's); wg show names a handshake.  A probe with a PSK
# wireguard-go does not hold gets no usable response.
#
# Usage: netns_wg_handshake.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_wg_handshake
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "network namespaces, veth"
need_tools ip wg wireguard-go
wggo=${SHARED:-$top/../shared}/interop/wireguard-go.sh
[ -f "$wggo" ] || wggo=/work/shared/interop/wireguard-go.sh
[ -f "$wggo" ] || skip "shared/interop/wireguard-go.sh not found"
probe=$build/tests/unit/tun/wg_probe
[ -x "$probe" ] || { echo "$prog: $probe missing (build first)" >&2; exit 1; }
need_netns
begin_run

P=hgwgp-$$ W=hgwgw-$$
netns=("$P" "$W")
export STATE_DIR=$tmp/wg
trap 'bash "$wggo" stop "$W" >/dev/null 2>&1; cleanup' EXIT

ip netns add "$P"; ip netns add "$W"
ip link add wgp netns "$P" type veth peer name wgw netns "$W"
ip -n "$P" addr add 192.0.2.1/24 dev wgp; ip -n "$P" link set wgp up
ip -n "$W" addr add 192.0.2.2/24 dev wgw; ip -n "$W" link set wgw up

ours=$(wg genkey); theirs=$(wg genkey); psk=$(wg genpsk)

# wireguard-go in W, knowing our public key (and PSK when $1 is one).
start_peer() {
	WG_PSK=$1 bash "$wggo" peer "$W" 10.97.0.2/24 51820 "$theirs" \
	    "$(wg pubkey <<<"$ours")" - 10.97.0.1/32 >/dev/null
}
probe_run() {
	nsx "$P" "$probe" "$ours" "$(wg pubkey <<<"$theirs")" "$1" \
	    192.0.2.2 51820 10.97.0.1 10.97.0.2
}
# wireguard-go answers (the PSK enters only the response's keys) and
# the response's empty payload does not open.
probe_refused() {
	local out
	out=$(probe_run "$1" 2>&1) && return 1
	echo "$out"
	grep -q "response: AEAD authentication failed at offset 44" <<<"$out"
}
handshake_seen() {
	bash "$wggo" wg "$W" show wg0 latest-handshakes | awk '$2 > 0' | grep -q .
}

start_peer "$psk"
check "with a PSK: response decrypts, both transport keys are wireguard-go's" \
    probe_run "$psk"
check "wireguard-go shows the handshake" handshake_seen
check "a PSK wireguard-go does not hold: its response refused at the AEAD" \
    probe_refused "$(wg genpsk)"
bash "$wggo" stop "$W"
start_peer ""
check "without a PSK: response decrypts, both transport keys are wireguard-go's" \
    probe_run -
finish
