#!/bin/bash
#
# tests/integration/netns_clientpack.sh: the overlay's clientpacks as a
# user makes and uses them: hexctl overlay clientpack add writes a
# wg-quick file that WireGuard's own tools take as it is, and a QR code
# of the same text.
#
#   +---------------------- netns hg-cpack-PID ----------------------+
#   |  hexctl -s SOCK overlay clientpack ...  --->  hexgated         |
#   |                                         (null port, store,    |
#   |                                          overlay section)     |
#   |  wg setconf wg0 <(wg-quick strip wg0.conf)  --->  wireguard-go |
#   +----------------------------------------------------------------+
#
# Checks: add --psk --qr writes the file alone on stdout and the QR code
# on stderr; wg-quick strip takes the file; wireguard-go takes what is
# left (wg setconf), and wg show then gives the public key list names,
# the appliance's key as its peer with a preshared key, the endpoint,
# the allowed IPs and the keepalive of the file; the QR code, turned back
# into an image, decodes (zbarimg) to the same text; show and config
# show hold neither the private nor the preshared key; disable, enable
# and revoke as list shows them; a name used twice exits 1 naming the
# field.
#
# Usage: netns_clientpack.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_clientpack
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "a network namespace and wireguard-go's TUN device"
need_tools ip wg wg-quick wireguard-go zbarimg
/usr/bin/python3 -c 'import PIL' 2>/dev/null ||
    skip "python3-pil not found (scripts/install-deps installs it)"
need_netns
need_programs

r=hg-cpack-$$
netns=("$r")
begin_run

topology() {
	set -ex
	ip netns add "$r"
	ip -n "$r" link set lo up
}

cat >"$conf" <<JSON
{
  "workers": 1,
  "api": false,
  "control_socket": "$sock",
  "interfaces": [ { "name": "lan", "port": "null",
                    "addresses": [ "10.1.0.1/24" ] } ],
  "store": "config.db",
  "overlay": { "addresses": [ "10.99.0.1/24", "fd99::1/64" ],
               "endpoint": "192.0.2.1:51820",
               "dns": [ "10.99.0.1" ],
               "client_networks": [ "10.1.0.0/24" ] }
}
JSON

make_topology
start_hexgated "$r"

# wireguard-go in the namespace with a private /run, so its UAPI socket
# is this test's alone (../shared/TESTBED.md).
mkdir -p "$tmp/run"
PRIVATE_RUN='mount -n --bind "$0" /run && exec "$@"'
inns() {
	ip netns exec "$r" sh -c "$PRIVATE_RUN" "$tmp/run" "$@"
}

add_ok() {
	hx overlay clientpack add laptop --psk --qr >"$tmp/wg0.conf" \
	    2>"$tmp/qr.txt" || return 1
	cat "$tmp/wg0.conf"
	grep -q '^\[Interface\]$' "$tmp/wg0.conf" &&
	    grep -q '^PrivateKey = ' "$tmp/wg0.conf" &&
	    grep -q '^PresharedKey = ' "$tmp/wg0.conf" &&
	    grep -q '^Address = 10.99.0.2/32, fd99::2/128$' "$tmp/wg0.conf" &&
	    ! grep -q $'\u2588' "$tmp/wg0.conf" &&
	    grep -q $'\u2588' "$tmp/qr.txt"
}

strip_ok() {
	wg-quick strip "$tmp/wg0.conf" >"$tmp/stripped.conf" || return 1
	cat "$tmp/stripped.conf"
	# What is left is wg's: no Address or DNS, the keys kept.
	! grep -qE '^(Address|DNS) ' "$tmp/stripped.conf" &&
	    grep -q '^PrivateKey = ' "$tmp/stripped.conf"
}

wg_value() {	# FIELD: the one line of wg show wg0 FIELD, less the key
	inns wg show wg0 "$1" | awk '{ $1 = ""; sub(/^ /, ""); print }'
}

setconf_ok() {
	local pub server
	( exec ip netns exec "$r" sh -c "$PRIVATE_RUN" "$tmp/run" \
	    setsid wireguard-go -f wg0 ) >"$tmp/wireguard-go.log" 2>&1 &
	bg_pids+=("$!")
	for _ in $(seq 50); do
		[ -S "$tmp/run/wireguard/wg0.sock" ] && break
		sleep 0.1
	done
	inns wg setconf wg0 "$tmp/stripped.conf" || return 1
	inns wg showconf wg0
	pub=$(hx --json overlay clientpack list | /usr/bin/python3 -c '
import json, sys
print([c["public_key"] for c in json.load(sys.stdin)["clients"]
       if c["name"] == "laptop"][0])')
	server=$(sed -n 's/^PublicKey = //p' "$tmp/wg0.conf")
	echo "list: $pub, file's peer: $server"
	[ "$(inns wg show wg0 public-key)" = "$pub" ] || return 1
	[ "$(inns wg show wg0 peers)" = "$server" ] || return 1
	[ "$(wg_value preshared-keys)" = \
	    "$(sed -n 's/^PresharedKey = //p' "$tmp/wg0.conf")" ] || return 1
	[ "$(wg_value endpoints)" = "192.0.2.1:51820" ] || return 1
	[ "$(wg_value allowed-ips)" = "10.99.0.0/24 fd99::/64 10.1.0.0/24" ] ||
	    return 1
	[ "$(wg_value persistent-keepalive)" = 25 ]
}

# The terminal's half blocks back into modules, 8 pixels each, and
# zbarimg's reading of them against the file.
qr_ok() {
	/usr/bin/python3 - "$tmp/qr.txt" "$tmp/qr.png" <<'PY' || return 1
import sys
from PIL import Image
rows = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n")
        if l and set(l) <= set(" \u2580\u2584\u2588")]
light = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
w, h, s = len(rows[0]), 2 * len(rows), 8
img = Image.new("L", (w * s, h * s), 0)
for y, line in enumerate(rows):
    for x, ch in enumerate(line):
        for half in (0, 1):
            if light[ch][half]:
                img.paste(255, (x * s, (2 * y + half) * s,
                                (x + 1) * s, (2 * y + half + 1) * s))
img.save(sys.argv[2])
PY
	zbarimg -q --raw "$tmp/qr.png" >"$tmp/qr.decoded" || return 1
	# zbarimg ends what it read with a newline of its own.
	head -c -1 "$tmp/qr.decoded" | cmp - "$tmp/wg0.conf"
}

no_secrets_ok() {
	local priv psk
	priv=$(sed -n 's/^PrivateKey = //p' "$tmp/wg0.conf")
	psk=$(sed -n 's/^PresharedKey = //p' "$tmp/wg0.conf")
	hx overlay clientpack show laptop | tee "$tmp/show" || return 1
	grep -q '^# PrivateKey = (shown once at creation)$' "$tmp/show" &&
	    ! grep -qF "$priv" "$tmp/show" && ! grep -qF "$psk" "$tmp/show" ||
	    return 1
	hx config show >"$tmp/config" || return 1
	grep -F '"preshared_key": "********"' "$tmp/config" &&
	    ! grep -qF "$priv" "$tmp/config" && ! grep -qF "$psk" "$tmp/config" &&
	    ! grep -rqF "$priv" "$tmp/config.db" "$tmp/hexgated.log"
}

lifecycle_ok() {
	hx overlay clientpack add phone || return 1
	hx overlay clientpack disable laptop || return 1
	hx overlay clientpack list | tee "$tmp/list"
	grep -qE '^laptop +10\.99\.0\.2/32,fd99::2/128 +[^ ]+ +no +yes$' \
	    "$tmp/list" || return 1
	grep -qE '^phone +10\.99\.0\.3/32,fd99::3/128 +[^ ]+ +yes +no$' \
	    "$tmp/list" || return 1
	hx overlay clientpack enable laptop || return 1
	hx overlay clientpack revoke laptop || return 1
	hx overlay clientpack list | tee "$tmp/list"
	! grep -q '^laptop ' "$tmp/list"
}

twice_refused() {
	local rc
	hx overlay clientpack add phone >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cat "$tmp/err"
	[ "$rc" = 1 ] && grep -q 'already the name' "$tmp/err" &&
	    [ ! -s "$tmp/out" ]
}

check "add --psk --qr: the wg-quick file alone on stdout, a QR code on stderr" add_ok
check "wg-quick strip takes the file" strip_ok
check "wireguard-go takes it (wg setconf): its key, the appliance as peer, PSK, endpoint, allowed IPs, keepalive" setconf_ok
check "the QR code decodes (zbarimg) to the same text" qr_ok
check "show and config show hold neither key; the store and the log no private key" no_secrets_ok
check "disable, enable, revoke as list shows them" lifecycle_ok
check "a name used twice: exit 1, the server's error" twice_refused
finish
