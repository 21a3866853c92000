#!/bin/bash
#
# tests/integration/netns_api_tls.sh: the API's certificate names the
# appliance's configured addresses, and clients pin the API's local CA
# (STATE/ca.crt), which stays good when the certificate is issued again.
# hexctl talks to hexgated at a configured address, as the README's remote
# session does.
#
#   +------------------------- netns hg-tls-PID --------------------------+
#   |  lo: 127.0.0.1, 10.1.0.1, 10.2.0.1 (the kernel answers for the     |
#   |      appliance's addresses, so the API's socket on 0.0.0.0:8000    |
#   |      is reached at them; the test is about names, not the path)    |
#   |                                                                     |
#   |  hexctl --url https://10.1.0.1:8000 --cacert STATE/ca.crt  --->    |
#   |      hexgated: interface lan (null port), addresses 10.1.0.1/24    |
#   |      (+ 10.2.0.1/24 after a reload), api on 0.0.0.0:8000           |
#   +---------------------------------------------------------------------+
#
# Checks: the CA files and their modes; hexctl at the configured address
# with --cacert ca.crt; the certificate names the address, hexgate and
# the host name; an address the certificate does not name: exit 2 and an
# error listing its names; a reload adding 10.2.0.1: the new certificate
# names it and the ca.crt pinned before the reload verifies it (a copy of
# the old api.crt too, as it carries the CA); a restart on the same
# addresses keeps the certificate; another CA in --cacert: exit 2, the
# names, and the hint to pin ca.crt; no --cacert: the same hint.
#
# Usage: netns_api_tls.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_api_tls
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "a network namespace for the API's port"
need_tools ip openssl
need_netns
need_programs

r=hg-tls-$$
netns=("$r")
begin_run
state=$tmp/state

topology() {
	api_topology
	ip -n "$r" addr add 10.1.0.1/32 dev lo
	ip -n "$r" addr add 10.2.0.1/32 dev lo
}

# write_config ADDRESS...: the interface lan with these addresses.
write_config() {
	local addrs
	addrs=$(printf '"%s", ' "$@")
	cat >"$conf" <<JSON
{
  "workers": 1,
  "log": { "level": "${HG_LOG_LEVEL:-info}" },
  "control_socket": "$sock",
  "interfaces": [ { "name": "lan", "port": "null",
                    "addresses": [ ${addrs%, } ] } ],
  "api": { "listen": "0.0.0.0", "port": 8000, "state_dir": "$state" }
}
JSON
}

# hxt HOST CACERT ARGS...: hexctl over the API at https://HOST:8000.
hxt() {
	local host=$1 ca=$2
	shift 2
	nsx "$r" env -u HEXCTL_CACERT "$hexctl" --url "https://$host:8000" \
	    ${ca:+--cacert "$ca"} --password-file "$state/api.password" "$@"
}

# The names in api.crt's subjectAltName, one line.
sans() {
	openssl x509 -in "$state/api.crt" -noout -ext subjectAltName |
	    tail -n +2
}

files_ok() {
	ls -l "$state"
	[ "$(stat -c %a "$state/ca.key")" = 600 ] || return 1
	[ "$(stat -c %a "$state/api.key")" = 600 ] || return 1
	openssl x509 -in "$state/ca.crt" -noout -ext basicConstraints |
	    grep -q 'CA:TRUE' || return 1
	# api.crt's first certificate verifies against ca.crt alone
	openssl verify -CAfile "$state/ca.crt" -purpose sslserver \
	    "$state/api.crt"
}

at_address_ok() {
	hxt 10.1.0.1 "$state/ca.crt" status | tee "$tmp/out" || return 1
	grep -q '^version:' "$tmp/out"
}

names_ok() {
	local h
	h=$(hostname)
	sans | tee "$tmp/sans"
	grep -q 'IP Address:10.1.0.1\(,\|$\)' "$tmp/sans" || return 1
	grep -q 'DNS:hexgate\(,\|$\)' "$tmp/sans" || return 1
	grep -q 'IP Address:127.0.0.1\(,\|$\)' "$tmp/sans" || return 1
	! grep -q '10.2.0.1' "$tmp/sans" || return 1
	# the host name, when it is a DNS name a client could ask for
	case $h in
	*[!A-Za-z0-9.-]*) echo "host name $h is no DNS name" ;;
	*) grep -qi "DNS:$h\\(,\\|\$\\)" "$tmp/sans" ;;
	esac
}

# An address the certificate does not name (yet): exit 2, its names, the
# name asked for, and that the CA is not the problem.
unnamed_ok() {
	hxt 10.2.0.1 "$state/ca.crt" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 2 ] || { echo "exit status $rc, want 2"; return 1; }
	grep -q "^hexctl: the server's certificate names .*IP:10.1.0.1.*; this URL asks for 10.2.0.1$" \
	    "$tmp/err" || return 1
	grep -q 'DNS:hexgate' "$tmp/err" || return 1
	grep -q '^hexctl: it does not name 10.2.0.1: ' "$tmp/err" || return 1
	! grep -q 'no CA' "$tmp/err"
}

reload_ok() {
	cp "$state/ca.crt" "$tmp/pinned-ca.crt"
	cp "$state/api.crt" "$tmp/pinned-api.crt"
	write_config 10.1.0.1/24 10.2.0.1/24
	# over the API: the certificate changes under a live TLS connection
	hxt 10.1.0.1 "$state/ca.crt" reload || return 1
	sans | tee "$tmp/sans"
	grep -q 'IP Address:10.2.0.1\(,\|$\)' "$tmp/sans" || return 1
	grep -q 'IP Address:10.1.0.1\(,\|$\)' "$tmp/sans" || return 1
	! cmp -s "$state/api.crt" "$tmp/pinned-api.crt" ||
	    { echo "api.crt was not issued again"; return 1; }
	cmp "$state/ca.crt" "$tmp/pinned-ca.crt" || return 1
	hxt 10.2.0.1 "$tmp/pinned-ca.crt" status >/dev/null || return 1
	hxt 10.1.0.1 "$tmp/pinned-ca.crt" status >/dev/null || return 1
	# the old api.crt carried the CA after the certificate
	hxt 10.2.0.1 "$tmp/pinned-api.crt" status >/dev/null
}

restart_ok() {
	cp "$state/api.crt" "$tmp/before-restart.crt"
	kill -TERM "$hg_pid" && wait "$hg_pid"
	hg_pid=
	cp "$tmp/hexgated.log" "$tmp/hexgated-first.log"	# KEEP_LOG=1
	start_hexgated "$r"
	tcp_listening "$r" 8000 || return 1
	cmp "$state/api.crt" "$tmp/before-restart.crt" || return 1
	hxt 10.2.0.1 "$tmp/pinned-ca.crt" status >/dev/null
}

wrong_ca_ok() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$tmp/other.key" -out "$tmp/other.crt" \
	    -subj /CN=other -days 1 2>&1 || return 1
	hxt 10.1.0.1 "$tmp/other.crt" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 2 ] || { echo "exit status $rc, want 2"; return 1; }
	grep -q "^hexctl: the server's certificate names .*IP:10.1.0.1.*IP:10.2.0.1.*; this URL asks for 10.1.0.1$" \
	    "$tmp/err" || return 1
	grep -qF "hexctl: no CA in --cacert $tmp/other.crt signed it; pin the appliance's CA, STATE/ca.crt" \
	    "$tmp/err" || return 1
	# the old wrong hint ("give the server's certificate") is gone
	! grep -q "server's certificate with --cacert" "$tmp/err"
}

no_cacert_ok() {
	hxt 10.1.0.1 "" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 2 ] || { echo "exit status $rc, want 2"; return 1; }
	grep -q "names .*IP:10.1.0.1" "$tmp/err" || return 1
	grep -q '^hexctl: no CA this system trusts signed it; give the appliance.s CA with --cacert STATE/ca.crt' \
	    "$tmp/err"
}

make_topology
write_config 10.1.0.1/24
start_hexgated "$r"
tcp_listening "$r" 8000 || fatal "the API listens" "nothing on port 8000"
check "ca.crt, ca.key (0600), api.key (0600); api.crt verifies against ca.crt" files_ok
check "hexctl at the configured address with --cacert STATE/ca.crt" at_address_ok
check "the certificate names 10.1.0.1, hexgate, loopback and the host name" names_ok
check "an address it does not name: exit 2, its names, the name asked for" unnamed_ok
check "a reload adds 10.2.0.1: named; the pinned ca.crt (and old api.crt) verify" reload_ok
check "a restart on the same addresses keeps api.crt" restart_ok
check "another CA in --cacert: exit 2, the names, pin STATE/ca.crt" wrong_ca_ok
check "no --cacert: exit 2, the names, give --cacert STATE/ca.crt" no_cacert_ok
check "hexgated still running" alive_ok
finish
