#!/bin/bash
#
# tests/integration/config_check.sh: hexgated --check refuses what a start
# would refuse, and passes what a start runs.  No root, no namespaces:
# --check opens no port.
#
# - The shipped example configuration, and every golden case's (hexgated
#   starts on each of them in tests/golden), pass.
# - A route whose gateway is on no connected network (IPv4 and IPv6), a
#   start's "gateway ... is not on a connected network", fails --check
#   with the route's place and the gateway named.
# - --check names every such problem in one run: a bad gateway and a bad
#   rule file, both.
# - An afpacket port whose device this machine lacks is warned about by
#   name, not refused: the file may be checked on another machine.
#
# Usage: config_check.sh BUILD_DIR
set -u

prog=config_check
. "$(dirname "$0")/lib.sh"	# check, finish, the EXIT trap

need_build_dir "${1:-}"
hexgated=$build/src/daemon/hexgated
[ -x "$hexgated" ] || { echo "$prog: $hexgated missing (build first)" >&2; exit 1; }
begin_run

# write_config FILE ROUTES [FIREWALL]: two interfaces (lan 10.0.1.1/24,
# 2001:db8:1::1/64; wan 192.0.2.2/30) with ROUTES as the routes array.
write_config() {
	local fw=
	[ -z "${3:-}" ] || fw=",
  \"firewall\": $3"
	cat >"$1" <<EOF
{
  "control_socket": "$tmp/hexgated.sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:hg-no-such-a",
      "addresses": [ "10.0.1.1/24", "2001:db8:1::1/64" ] },
    { "name": "wan", "port": "afpacket:hg-no-such-b",
      "addresses": [ "192.0.2.2/30" ] }
  ],
  "routes": [ $2 ]$fw
}
EOF
}

# hg_check FILE: hexgated --check; its output in $tmp/out, its status
# returned.
hg_check() {
	"$hexgated" --check -c "$1" >"$tmp/out" 2>&1
	local rc=$?
	cat "$tmp/out"
	return $rc
}

example_ok() {
	hg_check "$top/docs/examples/hexgated.json"
}

# A case whose tunnels name key files is checked as tests/golden/run
# starts it: gen.py writes the keys (mode 0600) into a folder, and the
# config, @DIR@ filled in, goes beside them (key_file is relative to it).
golden_ok() {
	local c d f bad=0
	for c in "$top"/tests/golden/*/config.json; do
		f=$c
		if grep -q '"key_file"' "$c"; then
			d=$tmp/golden-$(basename "$(dirname "$c")")
			mkdir -p "$d"
			/usr/bin/python3 "$(dirname "$c")/gen.py" "$d" ||
			    { echo "gen.py failed: $c"; bad=1; continue; }
			sed "s#@DIR@#$d#g" "$c" >"$d/config.json"
			f=$d/config.json
		fi
		hg_check "$f" >/dev/null || { echo "refused: $c"; cat "$tmp/out"; bad=1; }
	done
	[ "$bad" = 0 ]
}

# refused FILE WANT...: --check exits non-zero and says each WANT.
refused() {
	local f=$1 w
	shift
	if hg_check "$f"; then
		echo "--check passed it"
		return 1
	fi
	for w in "$@"; do
		grep -qF -- "$w" "$tmp/out" || { echo "does not say: $w"; return 1; }
	done
}

gateway4_refused() {
	write_config "$tmp/gw4.json" '
    { "prefix": "10.9.0.0/16", "via": "10.0.1.254" },
    { "prefix": "0.0.0.0/0", "via": "198.51.100.1" }'
	refused "$tmp/gw4.json" "/routes/1" \
	    "gateway 198.51.100.1 is not on a connected network"
}

gateway6_refused() {
	write_config "$tmp/gw6.json" '
    { "prefix": "::/0", "via": "2001:db8:99::1" }'
	refused "$tmp/gw6.json" "/routes/0" \
	    "gateway 2001:db8:99::1 is not on a connected network"
}

gateway_ok() {
	write_config "$tmp/ok.json" '
    { "prefix": "0.0.0.0/0", "via": "192.0.2.1" },
    { "prefix": "::/0", "via": "2001:db8:1::fe" }'
	hg_check "$tmp/ok.json"
}

# A device missing on this machine is said, not refused (the file may
# be for another); one that is here (lo) is not mentioned.
missing_device_said() {
	write_config "$tmp/dev.json" ''
	hg_check "$tmp/dev.json" || return 1
	grep -qF "/interfaces/0/port: no device hg-no-such-a" "$tmp/out" ||
	    { echo "the missing device is not named"; return 1; }
	sed 's/afpacket:hg-no-such-a/afpacket:lo/' "$tmp/dev.json" >"$tmp/lo.json"
	hg_check "$tmp/lo.json" || return 1
	! grep -q "/interfaces/0/port" "$tmp/out"
}

every_error_named() {
	printf '*filter\n-A FORWARD_CUST -p tcpx -j ACCEPT\nCOMMIT\n' \
	    >"$tmp/bad.v4"
	write_config "$tmp/both.json" '
    { "prefix": "0.0.0.0/0", "via": "198.51.100.1" }' \
	    '{ "rules": "bad.v4" }'
	refused "$tmp/both.json" "198.51.100.1 is not on a connected network" \
	    'unknown protocol "tcpx"'
}

# The overlay: --check makes no key file (a start does, and says so),
# and names a preshared key a start could not use.
overlay_checked() {
	local d=$tmp/ovl
	mkdir -p "$d"
	cat >"$d/ok.json" <<EOF
{ "api": false, "control_socket": "$tmp/hexgated.sock",
  "interfaces": [ { "name": "lan", "port": "null", "addresses": [ "10.0.1.1/24" ] } ],
  "overlay": { "addresses": [ "10.99.0.1/24" ],
    "peers": [ { "name": "s", "public_key": "$(wg genkey | wg pubkey)",
                 "allowed_ips": [ "10.2.0.0/24" ] } ] } }
EOF
	hg_check "$d/ok.json" || return 1
	grep -qF "overlay.key does not exist yet: a start makes it" "$tmp/out" ||
	    { echo "the key's making not said"; return 1; }
	[ ! -e "$d/overlay.key" ] || { echo "--check made the key"; return 1; }
	sed 's|"allowed_ips"|"preshared_key": "hgsec1:AAAA", "allowed_ips"|' \
	    "$d/ok.json" >"$d/psk.json"
	refused "$d/psk.json" "/overlay/peers/0/preshared_key (s): sealed secrets"
}

check "the shipped example configuration passes" example_ok
check "every golden case's configuration passes" golden_ok
check "routes whose gateways are on connected networks pass" gateway_ok
check "an IPv4 gateway on no connected network is refused, named" gateway4_refused
check "an IPv6 gateway on no connected network is refused, named" gateway6_refused
check "a bad gateway and a bad rule file are both named in one run" every_error_named
check "a port's device missing here is named, not refused" missing_device_said
check "the overlay: no key made, a preshared key it cannot use named" overlay_checked
finish
