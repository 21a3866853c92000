#!/bin/bash
#
# tests/integration/netns_hexctl_api.sh: hexctl over hexgated's HTTPS API
# (--url) instead of the control socket, on loopback inside a private
# network namespace.  hexgated has one null port, an "api" and a "store":
# what is tested is what a user of hexctl sees.
#
#   +------------------ netns hg-hxapi-PID ------------------+
#   |  hexctl --url https://127.0.0.1:8000  --->  hexgated   |
#   |         --cacert STATE/ca.crt           (api + store)  |
#   +--------------------------------------------------------+
#
# Checks: status; firewall add, then save shows it; a bad rule exits 1
# with its located error; restore from stdin; config versions; config
# diff of the last two shows the rule; config rollback; delete by
# position and by rule text (a version by api); sets add and del (save
# shows them, the sets file has them), a bad element exits 1 with the
# server's located error; reload, and a broken config file refused by
# name; every operation the server lists is in hexctl's help and in the
# OpenAPI document.  All of these run twice, over the API and over the
# control socket: the same request, the same answers, only the author of
# the versions differs (api, ctl).  Then, the API's own: a wrong password
# exits 1 with the server's 401 message; a missing CA file exits 2; the
# environment variables work.
#
# Usage: netns_hexctl_api.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_hexctl_api
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "a network namespace for the API's port"
need_tools ip
need_netns
need_programs

r=hg-hxapi-$$
netns=("$r")
begin_run

topology() {
	api_topology
}

# hxa ARGS...: hexctl over the API with the right credentials, or with
# via=ctl over the control socket: the same cases run through both
# transports, and only the author of the versions differs.
via=api
hxa() {
	if [ "$via" = ctl ]; then
		nsx "$r" "$hexctl" -s "$sock" "$@"
		return
	fi
	nsx "$r" "$hexctl" --url "$url" --cacert "$tmp/state/ca.crt" \
	    --password-file "$tmp/state/api.password" "$@"
}

# expect_rc WANT CMD...: CMD's exit status is WANT.
expect_rc() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	echo "exit status $rc, want $want"
	[ "$rc" = "$want" ]
}

RULE='-s 10.1.0.0/24 -p tcp -m tcp --dport 22 -j ACCEPT'

status_ok() {
	hxa status | tee "$tmp/out" || return 1
	grep -q '^version: *0\.' "$tmp/out" || return 1
	hxa --json show interfaces | grep -q '"lan"'
}

add_ok() {
	hxa firewall add FORWARD_CUST -s 10.1.0.0/24 -p tcp --dport 22 \
	    -j ACCEPT || return 1
	hxa firewall save | tee "$tmp/save" | grep -F -- "-A FORWARD_CUST $RULE" ||
	    return 1
	grep -q '^\*filter' "$tmp/save"
}

bad_rule_ok() {
	hxa firewall add FORWARD_CUST -p tcpx -j ACCEPT >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	cat "$tmp/out" "$tmp/err"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -q '^rule:1:17-20: error: unknown protocol' "$tmp/err" ||
	    return 1
	# The summary, the server's message, is the last line.
	tail -n 1 "$tmp/err" | grep -q '^hexctl: rule refused.*(400 bad_request)$'
}

restore_ok() {
	printf '*filter\n-A INPUT_CUST -s 10.1.0.5/32 -j ACCEPT\n%s\nCOMMIT\n' \
	    "-A FORWARD_CUST $RULE" | hxa firewall restore - | tee "$tmp/out" ||
	    return 1
	grep -q '^restored 2 rules$' "$tmp/out" || return 1
	[ "$(hxa firewall save | grep -c -- '-A ')" = 2 ] || return 1
	# A bad one: refused by line, nothing changed.
	printf '*filter\n-A FORWARD_CUST -j DROPP\nCOMMIT\n' |
	    expect_rc 1 hxa firewall restore - || return 1
	[ "$(hxa firewall save | grep -c -- '-A ')" = 2 ]
}

versions_ok() {
	hxa config versions | tee "$tmp/out" || return 1
	head -n 1 "$tmp/out" | grep -q 'VERSION  CREATED  *AUTHOR  *SOURCE  *STATE  *COMMENT' ||
	    return 1
	# Version 1 at start, the add, the restore: newest first, current *.
	[ "$(tail -n +2 "$tmp/out" | wc -l)" -ge 3 ] || return 1
	sed -n 2p "$tmp/out" | grep -q "^\\* *[0-9][0-9]*  .* $via " || return 1
	tail -n 1 "$tmp/out" | grep -q '^ *1  ' || return 1
	# One version number everywhere: status says the store's.
	local cv
	cv=$(hxa --json status | sed -n 's/^  "config_version": \([0-9]*\),*$/\1/p')
	echo "status config_version $cv, store current $(current)"
	[ -n "$cv" ] && [ "$cv" = "$(current)" ]
}

# The current version number, from the JSON of config versions.
current() {
	hxa --json config versions | sed -n 's/^  "current": \([0-9]*\),*$/\1/p'
}

diff_ok() {
	local v
	hxa firewall add FORWARD_CUST -s 10.1.0.9/32 -j DROP || return 1
	v=$(current)
	echo "current version: $v"
	[ -n "$v" ] || return 1
	hxa config diff $((v - 1)) "$v" | tee "$tmp/diff" || return 1
	grep -qF -- '+-A FORWARD_CUST -s 10.1.0.9/32 -j DROP' "$tmp/diff" ||
	    return 1
	# Without versions: the last change, the same diff.
	hxa config diff | cmp - "$tmp/diff"
}

rollback_ok() {
	local v
	v=$(current)
	hxa config rollback $((v - 1)) | tee "$tmp/out" || return 1
	grep -q "^applied as version $((v + 1))$" "$tmp/out" || return 1
	! hxa firewall save | grep -qF -- '-s 10.1.0.9/32' ||
	    { echo "the rule is still live"; return 1; }
	[ "$(current)" = $((v + 1)) ]
}

# The comment and author of the newest version.
newest() {
	hxa config versions | sed -n 2p
}

delete_ok() {
	local n v
	n=$(hxa firewall save | grep -c -- '-A FORWARD_CUST')
	hxa firewall delete FORWARD_CUST 1 || return 1
	[ "$(hxa firewall save | grep -c -- '-A FORWARD_CUST')" = $((n - 1)) ] ||
	    return 1
	# By its text, as iptables -D: that rule, not its neighbour; the
	# comment's quotes travel as the shell gave them.
	hxa firewall add FORWARD_CUST -s 10.1.0.21/32 -m comment \
	    --comment "from the lab" -j DROP || return 1
	hxa firewall add FORWARD_CUST -s 10.1.0.22/32 -j DROP || return 1
	v=$(current)
	hxa firewall delete FORWARD_CUST -s 10.1.0.21/32 -m comment \
	    --comment "from the lab" -j DROP || return 1
	hxa firewall save >"$tmp/save"
	! grep -q -- '-s 10.1.0.21/32' "$tmp/save" || { echo "still live"; return 1; }
	grep -q -- '-s 10.1.0.22/32 -j DROP' "$tmp/save" ||
	    { echo "its neighbour went too"; return 1; }
	! grep -q -- '-s 10.1.0.21/32' "$tmp/rules.v4" ||
	    { echo "still in rules.v4"; return 1; }
	[ "$(current)" = $((v + 1)) ] || return 1
	newest | tee /dev/stderr | grep -q " $via  .*firewall delete\$"
}

# A rule that is not there: exit 1, the located error, the summary.
delete_missing_ok() {
	hxa firewall delete FORWARD_CUST -s 10.1.0.21/32 -j DROP >"$tmp/out" \
	    2>"$tmp/err"
	local rc=$?
	cat "$tmp/out" "$tmp/err"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -q '^rule:1:1-.*: error: no such rule in chain FORWARD_CUST$' \
	    "$tmp/err" || return 1
	tail -n 1 "$tmp/err" | grep -q '^hexctl: rule refused.*(400 bad_request)$'
}

sets_ok() {
	local v
	printf 'create blk hash:ip family inet\n' | hxa sets restore - || return 1
	v=$(current)
	hxa sets add blk 192.0.2.7 || return 1
	hxa sets add blk 192.0.2.8 || return 1
	hxa sets save | tee "$tmp/sets"
	grep -qx 'add blk 192.0.2.7' "$tmp/sets" || return 1
	grep -qx 'add blk 192.0.2.8' "$tmp/sets" || return 1
	hxa sets del blk 192.0.2.7 || return 1
	hxa sets save >"$tmp/sets"
	! grep -q '192.0.2.7' "$tmp/sets" || { echo "192.0.2.7 still in"; return 1; }
	grep -qx 'add blk 192.0.2.8' "$tmp/sets" || return 1
	grep -qx 'add blk 192.0.2.8' "$tmp/sets.ipset" ||
	    { echo "not written to sets.ipset"; return 1; }
	[ "$(current)" = $((v + 3)) ]
}

bad_element_ok() {
	local v
	v=$(current)
	hxa sets add blk nope >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	cat "$tmp/out" "$tmp/err"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -q '^element:1:9-12: error: bad address "nope"$' "$tmp/err" ||
	    return 1
	tail -n 1 "$tmp/err" |
	    grep -q '^hexctl: element: 1 error; no set changed (400 bad_request)$' ||
	    return 1
	expect_rc 1 hxa sets del blk 192.0.2.99 || return 1
	expect_rc 1 hxa sets add nosuch 192.0.2.1 || return 1
	[ "$(current)" = "$v" ]
}

reload_ok() {
	local v
	v=$(current)
	hxa reload | tee "$tmp/out" || return 1
	grep -q '^configuration reloaded: version [0-9]*$' "$tmp/out" || return 1
	[ "$(current)" = $((v + 1)) ] || return 1
	newest | grep -q " $via  .*reload\$" || return 1
	cp "$conf" "$tmp/conf.good"
	echo '{ "workers": ' >"$conf"
	hxa reload 2>"$tmp/err"
	local rc=$?
	cp "$tmp/conf.good" "$conf"
	cat "$tmp/err"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -qF "hexctl: $conf: line " "$tmp/err" || return 1
	[ "$(current)" = $((v + 1)) ] && hxa status >/dev/null
}

wrong_password_ok() {
	echo wrong >"$tmp/bad.password"
	nsx "$r" "$hexctl" --url "$url" --cacert "$tmp/state/ca.crt" \
	    --password-file "$tmp/bad.password" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -q '^hexctl: wrong user, password or token (401 unauthorized)$' \
	    "$tmp/err"
}

missing_ca_ok() {
	hxa --cacert "$tmp/nosuch.crt" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 2 ] || { echo "exit status $rc, want 2"; return 1; }
	grep -q "^hexctl: --cacert $tmp/nosuch.crt: No such file or directory$" \
	    "$tmp/err"
}

# Without --cacert the self-signed certificate is not trusted: exit 2.
untrusted_ok() {
	nsx "$r" env -u HEXCTL_CACERT "$hexctl" --url "$url" \
	    --password-file "$tmp/state/api.password" status 2>"$tmp/err"
	local rc=$?
	cat "$tmp/err"
	[ "$rc" = 2 ] && grep -q -- '--cacert' "$tmp/err"
}

env_ok() {
	nsx "$r" env HEXCTL_URL="$url" HEXCTL_CACERT="$tmp/state/ca.crt" \
	    HEXCTL_PASSWORD="$(cat "$tmp/state/api.password")" \
	    "$hexctl" show routes | tee "$tmp/out" || return 1
	grep -q '^PREFIX' "$tmp/out" || return 1
	# -s on the command line beats HEXCTL_URL: the socket answers.
	nsx "$r" env HEXCTL_URL=https://127.0.0.1:1 "$hexctl" -s "$sock" \
	    show version | grep -q '^version:'
}

# Every operation of the table (hexctl ops) has its hexctl words in
# hexctl --help and its routes in /api/openapi.json.
ops_ok() {
	hxa --json ops >"$tmp/ops.json" || return 1
	"$hexctl" --help >"$tmp/help" 2>&1
	nsx "$r" curl -s --cacert "$tmp/state/ca.crt" "$url/api/openapi.json" \
	    >"$tmp/openapi.json" || return 1
	/usr/bin/python3 - "$tmp/ops.json" "$tmp/help" "$tmp/openapi.json" <<'PY'
import json, re, sys
ops = json.load(open(sys.argv[1]))["ops"]
help_text = open(sys.argv[2]).read()
paths = json.load(open(sys.argv[3]))["paths"]
bad = 0
for op in ops:
    if not re.search(r"^  " + re.escape(op["cli"]) + r"\b", help_text, re.M):
        print("not in hexctl --help:", op["name"], op["cli"]); bad += 1
    for rt in op["rest"]:
        p = re.sub(r":(\w+)", r"{\1}", rt["path"])
        if rt["method"].lower() not in paths.get(p, {}):
            print("not in openapi:", op["name"], rt["method"], p); bad += 1
print(len(ops), "operations,", bad, "missing")
sys.exit(1 if bad or len(ops) < 30 else 0)
PY
}

make_topology
write_api_config
start_hexgated "$r"
check "the API's password file is there" test -s "$tmp/state/api.password"
for via in api ctl; do
	over=$([ $via = api ] && echo "over the API" || echo "over the socket")
	check "status $over" status_ok
	check "firewall add, then firewall save shows the rule ($over)" add_ok
	check "a bad rule: exit 1, its located error, the server's message ($over)" bad_rule_ok
	check "firewall restore from stdin; a bad one refused ($over)" restore_ok
	check "config versions lists the versions; status has the same version number ($over)" versions_ok
	check "config diff of the last two shows the added rule ($over)" diff_ok
	check "config rollback applies the old version as a new one ($over)" rollback_ok
	check "delete by position, and by rule text: that rule, a version by $via" delete_ok
	check "delete of a rule that is not there: exit 1 with the located error ($over)" delete_missing_ok
	check "sets add and del: sets save and the sets file show them ($over)" sets_ok
	check "a bad element: exit 1, its located error, the server's message ($over)" bad_element_ok
	check "reload: a version by $via; a broken config file refused by name" reload_ok
	check "every operation hexgated lists: in hexctl's help, in the OpenAPI document ($over)" ops_ok
done
via=api
check "a wrong password: exit 1 with the server's 401 message" wrong_password_ok
check "a missing CA file: exit 2 with a clear error" missing_ca_ok
check "an untrusted certificate: exit 2, pointing at --cacert" untrusted_ok
check "HEXCTL_URL, HEXCTL_CACERT, HEXCTL_PASSWORD; -s beats HEXCTL_URL" env_ok
check "hexgated still running" alive_ok
check "SIGTERM: hexgated stops cleanly, exit status 0" stop_ok
finish
