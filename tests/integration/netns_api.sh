#!/bin/bash
#
# tests/integration/netns_api.sh: hexgated's HTTPS REST API, driven with
# curl on loopback inside a private network namespace (so port 8000 is
# free whatever the machine runs).  hexgated has one null port: the API
# and the rules are what is tested, not forwarding.
#
# Checks: closed by default (no credentials, a wrong password: 401; the
# password made at first start, root-only files); failed logins limited
# (429); reads (status, interfaces, firewall rules as JSON and text);
# changes all or nothing (a rule added, a bad rule refused with its place
# and nothing changed, a whole rule set replaced, one deleted by position
# and one by its text), each written back to the rule file; sets, and
# elements added and removed one by one; a reload; a body over the limit
# gets a JSON 413; the OpenAPI document names every route and every GET
# route it names answers.  With a store (config "store"):
# version 1 at first start; each change a new version with its diff; a
# rollback; a config the daemon cannot take refused, version unchanged;
# a restart starts from the newest version, not the files; a rule whose
# POST returned 201 survives SIGKILL.  API tokens (made, used, listed
# without the secret, revoked, expired); the audit log; commit-confirm
# (rolled back by itself when not confirmed, kept when confirmed);
# Prometheus /metrics; snapshots export and import.
#
# Usage: netns_api.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_api
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap

need_build_dir "${1:-}"
need_root "a network namespace for the API's port"
need_tools ip curl /usr/bin/python3
need_netns
need_programs

r=hg-api-$$
netns=("$r")
begin_run

topology() {
	api_topology
}

# api [CURL ARGS...] PATH: authenticated request; prints the body and
# leaves the status in $tmp/status.
api() {
	local path=${*: -1}
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" -u "api:$pw" \
	    -o "$tmp/body" -w '%{http_code}' "${@:1:$#-1}" "$url$path" \
	    >"$tmp/status"
	cat "$tmp/body"
}

status() {
	cat "$tmp/status"
}

closed_ok() {
	local code
	code=$(nsx "$r" curl -s --cacert "$tmp/state/api.crt" -o /dev/null \
	    -w '%{http_code}' "$url/api/status/system")
	echo "no credentials: $code"
	[ "$code" = 401 ] || return 1
	code=$(nsx "$r" curl -s --cacert "$tmp/state/api.crt" -o /dev/null \
	    -w '%{http_code}' -u api:wrong "$url/api/status/system")
	echo "wrong password: $code"
	[ "$code" = 401 ] || return 1
	stat -c '%a %n' "$tmp/state"/api.* 
	[ -z "$(find "$tmp/state" -name 'api.*' ! -perm 600)" ]
}

read_ok() {
	api /api/status/system | grep -q '"version"' || return 1
	[ "$(status)" = 200 ] || return 1
	api /api/interfaces | grep -q '"lan"' || return 1
	api '/api/firewall/rules?format=text' | grep -q '^\*filter' || return 1
	api /api/firewall/rules | grep -q '"text"'
}

add_ok() {
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.0/24 -p tcp --dport 22 -j ACCEPT"}' \
	    /api/firewall/rules
	echo
	[ "$(status)" = 201 ] || return 1
	api '/api/firewall/rules?format=text' |
	    grep -q -- '-A FORWARD_CUST -s 10.1.0.0/24 -p tcp -m tcp --dport 22 -j ACCEPT' ||
	    return 1
	grep -q -- '--dport 22' "$tmp/rules.v4" ||
	    { echo "not written back to rules.v4"; return 1; }
}

bad_rule_ok() {
	local before
	before=$(api '/api/firewall/rules?format=text' | grep -- '^\[.*-A ')
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-p tcpx -j ACCEPT"}' \
	    /api/firewall/rules | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] || return 1
	grep -q 'rule:1:17-20: error: unknown protocol' "$tmp/bad" ||
	    { echo "the error does not name the column"; return 1; }
	[ "$(api '/api/firewall/rules?format=text' | grep -- '^\[.*-A ')" = "$before" ]
}

restore_ok() {
	printf '*filter\n-A INPUT_CUST -s 10.1.0.5/32 -j ACCEPT\n-A FORWARD_CUST -j DROP\nCOMMIT\n' \
	    >"$tmp/new.v4"
	api -X PUT --data-binary @"$tmp/new.v4" -H 'Content-Type: text/plain' \
	    /api/firewall/rules
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(api '/api/firewall/rules?format=text' | grep -c -- '-A ')" = 2 ] ||
	    return 1
	printf '*filter\n-A FORWARD_CUST -j ACCEPT\n-A FORWARD_CUST -j DROPP\nCOMMIT\n' \
	    >"$tmp/bad.v4"
	api -X PUT --data-binary @"$tmp/bad.v4" /api/firewall/rules | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] || return 1
	grep -q 'api:3:' "$tmp/bad" || { echo "no line 3 in the error"; return 1; }
	[ "$(api '/api/firewall/rules?format=text' | grep -c -- '-A ')" = 2 ]
}

delete_ok() {
	api -X DELETE /api/firewall/rules/FORWARD_CUST/1
	echo
	[ "$(status)" = 200 ] || return 1
	! api '/api/firewall/rules?format=text' | grep -q -- '-A FORWARD_CUST -j DROP' ||
	    return 1
	api -X DELETE /api/firewall/rules/FORWARD_CUST/x >/dev/null
	[ "$(status)" = 400 ]
}

sets_ok() {
	printf 'create blk hash:ip family inet\nadd blk 192.0.2.9\n' >"$tmp/s"
	api -X PUT --data-binary @"$tmp/s" /api/firewall/fwsets
	echo
	[ "$(status)" = 200 ] || return 1
	api /api/firewall/fwsets | grep -q 'add blk 192.0.2.9'
}

# refused WHAT WANT_STATUS WANT_TEXT [CURL ARGS...] PATH: a request the
# API refuses with WANT_STATUS and a JSON error whose message, field or
# located errors hold WANT_TEXT; prints a line for the log.
refused() {
	local what=$1 want=$2 text=$3
	shift 3
	api "$@" >/dev/null
	echo "$what: $(status) $(cat "$tmp/body")"
	[ "$(status)" = "$want" ] || { echo "  want $want"; return 1; }
	[ "$(jget 'j["error"]["status"]')" = "$want" ] || return 1
	jget 'j["error"]["message"] + " " + str(j["error"].get("field")) + " " + "".join(j["error"].get("errors", []))' |
	    grep -qF -- "$text" || { echo "  no \"$text\" in it"; return 1; }
}

# DELETE /api/firewall/rules {"chain", "rule"}: the rule with that text
# goes, written back; what is not a rule of the chain is a 400 that says
# so, and the rules stay as they were.
delete_text_ok() {
	local v0 before
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.31/32 -j DROP"}' \
	    /api/firewall/rules >/dev/null
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.32/32 -j DROP"}' \
	    /api/firewall/rules >/dev/null
	[ "$(status)" = 201 ] || return 1
	v0=$(version_now)
	api -X DELETE -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.31/32 -j DROP"}' \
	    /api/firewall/rules
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["version"]')" = $((v0 + 1)) ] || return 1
	api '/api/firewall/rules?format=text' >"$tmp/rules"
	! grep -q -- '-s 10.1.0.31/32' "$tmp/rules" || { echo "still live"; return 1; }
	grep -q -- '-s 10.1.0.32/32 -j DROP' "$tmp/rules" ||
	    { echo "the other rule went too"; return 1; }
	! grep -q -- '-s 10.1.0.31/32' "$tmp/rules.v4" ||
	    { echo "still in rules.v4"; return 1; }
	before=$(grep -c -- '-A ' "$tmp/rules")
	refused "not a rule of the chain" 400 'no such rule in chain FORWARD_CUST' \
	    -X DELETE -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.31/32 -j DROP"}' \
	    /api/firewall/rules || return 1
	refused "no such chain" 400 'no chain NOPE' \
	    -X DELETE -d '{"chain":"NOPE","rule":"-j DROP"}' /api/firewall/rules ||
	    return 1
	refused "rule left out" 400 '/rule' \
	    -X DELETE -d '{"chain":"FORWARD_CUST"}' /api/firewall/rules || return 1
	refused "a position, not a rule" 400 'DELETE /api/firewall/rules/CHAIN/N' \
	    -X DELETE -d '{"chain":"FORWARD_CUST","rule":"1"}' /api/firewall/rules ||
	    return 1
	refused "a chain name with a space" 400 '/chain' \
	    -X DELETE -d '{"chain":"FORWARD CUST","rule":"-j DROP"}' \
	    /api/firewall/rules || return 1
	refused "no body" 400 'needs a JSON body' -X DELETE /api/firewall/rules ||
	    return 1
	[ "$(api '/api/firewall/rules?format=text' | grep -c -- '-A ')" = "$before" ] &&
	    [ "$(version_now)" = $((v0 + 1)) ]
}

# POST and DELETE /api/firewall/fwsets/NAME/entries {"entry"}: one
# element in or out, written to the sets file, a version each; an element
# the set cannot take is a 400 with its located error.
set_entries_ok() {
	local v0
	v0=$(version_now)
	api -X POST -d '{"entry":"192.0.2.10"}' /api/firewall/fwsets/blk/entries
	echo
	[ "$(status)" = 201 ] || return 1
	api -X DELETE -d '{"entry":"192.0.2.9"}' /api/firewall/fwsets/blk/entries
	echo
	[ "$(status)" = 200 ] || return 1
	api /api/firewall/fwsets >/dev/null
	jget 'j["text"]' | tee "$tmp/sets"
	grep -qx 'add blk 192.0.2.10' "$tmp/sets" || return 1
	! grep -q '192.0.2.9$' "$tmp/sets" || { echo "192.0.2.9 still in"; return 1; }
	grep -qx 'add blk 192.0.2.10' "$tmp/sets.ipset" ||
	    { echo "not in sets.ipset"; return 1; }
	[ "$(version_now)" = $((v0 + 2)) ] || return 1
	refused "not an address" 400 'bad address "not-an-ip"' \
	    -X POST -d '{"entry":"not-an-ip"}' /api/firewall/fwsets/blk/entries ||
	    return 1
	refused "no such set" 400 'no set named "nosuch"' \
	    -X POST -d '{"entry":"192.0.2.1"}' /api/firewall/fwsets/nosuch/entries ||
	    return 1
	refused "not a member" 400 'is not in set "blk"' \
	    -X DELETE -d '{"entry":"192.0.2.9"}' /api/firewall/fwsets/blk/entries ||
	    return 1
	refused "a misspelt field, named with the right one" 400 \
	    'element: not a field of this request'"'"'s body (it takes: entry)' \
	    -X POST -d '{"element":"192.0.2.1"}' /api/firewall/fwsets/blk/entries ||
	    return 1
	refused "entry left out" 400 '/entry' \
	    -X POST -d '{}' /api/firewall/fwsets/blk/entries ||
	    return 1
	refused "two lines" 400 '/entry' \
	    -X POST -d '{"entry":"192.0.2.1\nadd blk 192.0.2.2"}' \
	    /api/firewall/fwsets/blk/entries || return 1
	[ "$(version_now)" = $((v0 + 2)) ]
}

# POST /api/reload: the config file read again, a version by api; a
# file hexgated cannot take is a 400 naming it, the running one stays.
reload_ok() {
	local v0
	v0=$(version_now)
	api -X POST /api/reload
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["ok"]')" = True ] || return 1
	api '/api/config/versions?limit=1' >/dev/null
	[ "$(jget 'j["versions"][0]["comment"]')" = reload ] || return 1
	[ "$(jget 'j["versions"][0]["author"]')" = api ] || return 1
	[ "$(jget 'j["current"]')" = $((v0 + 1)) ] || return 1
	cp "$conf" "$tmp/conf.good"
	echo '{ "workers": ' >"$conf"
	refused "a broken config file" 400 "$conf" -X POST /api/reload
	local rc=$?
	cp "$tmp/conf.good" "$conf"
	[ "$rc" = 0 ] || return 1
	[ "$(version_now)" = $((v0 + 1)) ] || return 1
	api /api/status/system >/dev/null
	[ "$(status)" = 200 ]
}

# A body over the limit (64 MiB) gets the API's JSON 413 saying the
# limit, with a Content-Length and chunked alike; the server stays up.
body_limit_ok() {
	local te
	truncate -s 65M "$tmp/big"
	for te in "" "Transfer-Encoding: chunked"; do
		nsx "$r" curl -s --cacert "$tmp/state/api.crt" -u "api:$pw" \
		    -D "$tmp/head" -o "$tmp/body" -w '%{http_code}' -X PUT \
		    ${te:+-H "$te"} --data-binary @"$tmp/big" \
		    "$url/api/firewall/rules" >"$tmp/status"
		echo "${te:-Content-Length}: $(status) $(cat "$tmp/body")"
		[ "$(status)" = 413 ] || return 1
		grep -qi '^content-type: application/json' "$tmp/head" || return 1
		[ "$(jget 'j["error"]["code"]')" = payload_too_large ] || return 1
		jget 'j["error"]["message"]' |
		    grep -q 'the limit is 67108864 bytes$' || return 1
	done
	rm -f "$tmp/big"
	api /api/status/system >/dev/null
	[ "$(status)" = 200 ]
}

openapi_ok() {
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" "$url/api/openapi.json" \
	    >"$tmp/openapi.json" || return 1
	# Every documented GET without path parameters answers 200.
	/usr/bin/python3 - "$tmp/openapi.json" >"$tmp/gets" <<'PY' || return 1
import json, sys
doc = json.load(open(sys.argv[1]))
paths = doc["paths"]
assert "/api/firewall/rules" in paths, "rules route undocumented"
for p, m in (("/api/firewall/rules", "delete"),
             ("/api/firewall/fwsets/{name}/entries", "post"),
             ("/api/firewall/fwsets/{name}/entries", "delete"),
             ("/api/reload", "post")):
    op = paths.get(p, {}).get(m)
    assert op is not None, "%s %s undocumented" % (m, p)
    if p != "/api/reload":
        assert "application/json" in op["requestBody"]["content"], p
for p, ops in paths.items():
    if "get" in ops and "{" not in p:
        print(p)
PY
	local p n=0
	while read -r p; do
		api "$p" >"$tmp/answer"
		echo "GET $p: $(status)"
		[ "$(status)" = 200 ] || return 1
		# A JSON answer holds what its documented schema says.
		/usr/bin/python3 - "$tmp/openapi.json" "$p" "$tmp/answer" <<'PY' ||
import json, sys
doc, path = json.load(open(sys.argv[1])), sys.argv[2]
content = doc["paths"][path]["get"]["responses"]["200"]["content"]
if "application/json" not in content:
    sys.exit(0)
schema = content["application/json"]["schema"]
answer = json.load(open(sys.argv[3]))
types = {"object": dict, "array": list, "string": str, "boolean": bool}
def check(v, s, where):
    t = s.get("type")
    if t == "integer":
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif t is not None:
        ok = isinstance(v, types[t])
    else:
        ok = True
    if not ok:
        sys.exit("%s %s: %r is not %s" % (path, where, v, t))
    for k in s.get("required", []):
        if k not in v:
            sys.exit("%s %s: no %s" % (path, where, k))
    for k, sub in s.get("properties", {}).items():
        if isinstance(v, dict) and k in v:
            check(v[k], sub, where + "/" + k)
    if t == "array":
        for i, item in enumerate(v):
            check(item, s.get("items", {}), "%s/%d" % (where, i))
if not schema.get("type"):
    sys.exit("%s: no reply schema documented" % path)
check(answer, schema, "")
PY
		    { echo "  not as documented"; return 1; }
		n=$((n + 1))
	done <"$tmp/gets"
	[ "$n" -ge 8 ]
}

rate_limit_ok() {
	local i code
	for i in 1 2 3 4 5 6; do
		code=$(nsx "$r" curl -s --cacert "$tmp/state/api.crt" -o /dev/null \
		    -w '%{http_code}' -u api:nope "$url/api/status/system")
	done
	echo "the 6th bad login: $code"
	[ "$code" = 429 ] || return 1
	# The right password from the same source waits too.
	api /api/status/system >/dev/null
	echo "then the right one: $(status)"
	[ "$(status)" = 429 ]
}

# jget EXPR: a Python expression on the last reply's JSON (j).
jget() {
	/usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	    "$tmp/body" "$1"
}

version_now() {
	api /api/config >/dev/null
	jget 'j["version"]'
}

store_v1_ok() {
	api /api/config >/dev/null
	echo "GET /api/config: $(status)"
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["version"]')" = 1 ] || return 1
	[ "$(jget 'j["config"]["store"]')" = config.db ] || return 1
	jget 'j["rules"]' | grep -q '^\*filter'
}

RULE='-s 10.1.0.0/24 -p udp -m udp --dport 53 -j ACCEPT'

store_post_ok() {
	v0=$(version_now)
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.0/24 -p udp --dport 53 -j ACCEPT"}' \
	    /api/firewall/rules
	echo
	[ "$(status)" = 201 ] || return 1
	api "/api/config/versions/$((v0 + 1))" >/dev/null
	[ "$(status)" = 200 ] || return 1
	jget 'j["rules"]' | grep -qF -- "-A FORWARD_CUST $RULE" || return 1
	api /api/config/versions >/dev/null
	jget 'j["versions"][0]' | tee /dev/stderr | grep -q "'author': 'api'" ||
	    return 1
	api "/api/config/diff?a=$v0&b=$((v0 + 1))" | tee "$tmp/diff"
	grep -qF -- "+-A FORWARD_CUST $RULE" "$tmp/diff"
}

store_rollback_ok() {
	local v1
	v1=$(version_now)
	api -X POST -d "{\"version\": $v0}" /api/config/rollback
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["version"]')" = $((v1 + 1)) ] || return 1
	! api '/api/firewall/rules?format=text' | grep -qF -- "$RULE" ||
	    { echo "the rule is still live"; return 1; }
	[ "$(version_now)" = $((v1 + 1)) ]
}

store_refuse_ok() {
	local v1
	v1=$(version_now)
	jget 'json.dumps({"config": dict(j["config"], routes=[{"prefix": "10.9.0.0/16", "interface": "nosuch0"}]), "rules": j["rules"]})' \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" /api/config | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] || return 1
	grep -q nosuch0 "$tmp/bad" || { echo "the reason does not name it"; return 1; }
	[ "$(version_now)" = "$v1" ] || return 1
	# A bad rule in the document: its line and column, and the caret.
	jget 'json.dumps({"config": j["config"], "rules": "*filter\n:FORWARD_CUST - [0:0]\n-A FORWARD_CUST -p tcpx -j ACCEPT\nCOMMIT\n"})' \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" /api/config | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] || return 1
	jget 'j["error"]["message"]' | tee /dev/stderr |
	    grep -q 'rules:3:20: 1 error, first: unknown protocol' ||
	    { echo "the message does not name the line and column"; return 1; }
	jget '"".join(j["error"]["errors"])' | grep -q 'rules:3:20-23: error: unknown protocol' ||
	    { echo "no located error with its caret"; return 1; }
	[ "$(version_now)" = "$v1" ] || return 1
	# The same document with a good route is taken whole.
	jget 'json.dumps({"config": dict(j["config"], routes=[{"prefix": "10.9.0.0/16", "via": "10.1.0.9"}]), "rules": j["rules"]})' \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" /api/config
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(version_now)" = $((v1 + 1)) ] || return 1
	api /api/routes | grep -q '10.9.0.0/16'
}

restart_hexgated() {
	kill "-$1" "$hg_pid"
	wait "$hg_pid" 2>/dev/null
	hg_pid=
	start_hexgated "$r"
}

store_restart_ok() {
	local v1 rules
	v1=$(version_now)
	rules=$(jget 'j["rules"]')
	# Behind hexgated's back: the file is not the configuration.
	printf '*filter\n-A FORWARD_CUST -j DROP\nCOMMIT\n' >"$tmp/rules.v4"
	restart_hexgated TERM
	[ "$(version_now)" = "$v1" ] || return 1
	[ "$(jget 'j["rules"]')" = "$rules" ] || return 1
	! api '/api/firewall/rules?format=text' | grep -q -- '-A FORWARD_CUST -j DROP'
}

store_durable_ok() {
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.7/32 -j ACCEPT"}' \
	    /api/firewall/rules
	echo
	[ "$(status)" = 201 ] || return 1
	restart_hexgated KILL
	api '/api/firewall/rules?format=text' | grep -q -- '-s 10.1.0.7/32 -j ACCEPT'
}

# tapi TOKEN [CURL ARGS...] PATH: a request with an Api-Token header and
# no password; status in $tmp/status.
tapi() {
	local tok=$1 path=${*: -1}
	shift
	nsx "$r" curl -s --cacert "$tmp/state/api.crt" -H "Api-Token: $tok" \
	    -o "$tmp/body" -w '%{http_code}' "${@:1:$#-1}" "$url$path" \
	    >"$tmp/status"
	cat "$tmp/body"
}

tokens_ok() {
	local tok id
	api -X POST -d '{"name": "ci", "expires_s": 3600}' /api/tokens >/dev/null
	echo "POST /api/tokens: $(status)"
	[ "$(status)" = 201 ] || return 1
	tok=$(jget 'j["token"]')
	id=$(jget 'j["id"]')
	[ "$(jget 'j["name"]')" = ci ] || return 1
	[ "$(jget 'j["expires"] is not None')" = True ] || return 1
	case $tok in hgt_????????????????????????????????*) ;; *) return 1;; esac
	tapi "$tok" /api/status/system >/dev/null
	echo "with the token: $(status)"
	[ "$(status)" = 200 ] || return 1
	# A change made with the token is authored by it.
	tapi "$tok" -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.44/32 -j ACCEPT"}' \
	    /api/firewall/rules >/dev/null
	[ "$(status)" = 201 ] || return 1
	api /api/config/versions >/dev/null
	[ "$(jget 'j["versions"][0]["author"]')" = token:ci ] || return 1
	api /api/tokens | tee "$tmp/tokens"
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget '[t["name"] for t in j["tokens"]]')" = "['ci']" ] || return 1
	[ "$(jget '"token" in j["tokens"][0]')" = False ] || return 1
	! grep -q "${tok#hgt_}" "$tmp/tokens" || { echo "the secret is listed"; return 1; }
	! grep -rqa "${tok#hgt_}" "$tmp/config.db"* || { echo "the secret is stored"; return 1; }
	api -X DELETE "/api/tokens/$id" >/dev/null
	echo "DELETE: $(status)"
	[ "$(status)" = 200 ] || return 1
	tapi "$tok" /api/status/system >/dev/null
	echo "revoked: $(status)"
	[ "$(status)" = 401 ] || return 1
	api /api/tokens >/dev/null
	[ "$(jget 'j["tokens"][0]["state"]')" = revoked ]
}

token_expired_ok() {
	local tok
	api -X POST -d '{"name": "brief", "expires_s": 1}' /api/tokens >/dev/null
	[ "$(status)" = 201 ] || return 1
	tok=$(jget 'j["token"]')
	sleep 2
	tapi "$tok" /api/status/system >/dev/null
	echo "expired: $(status)"
	[ "$(status)" = 401 ] || return 1
	tapi nosuchtoken /api/status/system >/dev/null
	echo "unknown: $(status)"
	[ "$(status)" = 401 ] || return 1
	api -X POST -d '{"name": "bad name"}' /api/tokens >/dev/null
	[ "$(status)" = 400 ]
}

audit_ok() {
	api '/api/audit?limit=50' >/dev/null
	[ "$(status)" = 200 ] || return 1
	jget 'j["audit"][:6]'
	[ "$(jget 'any(a["action"] == "token-add" and a["source"] == "127.0.0.1" for a in j["audit"])')" = True ] ||
	    { echo "no token creation from 127.0.0.1"; return 1; }
	[ "$(jget 'any(a["action"] == "commit" and a["source"] == "127.0.0.1" and a["author"] == "token:ci" for a in j["audit"])')" = True ] ||
	    { echo "no rule change from 127.0.0.1"; return 1; }
	[ "$(jget 'len(j["audit"]) <= 50')" = True ] || return 1
	api '/api/audit?limit=2' >/dev/null
	[ "$(jget 'len(j["audit"])')" = 2 ]
}

# put_route PREFIX [QUERY]: PUT /api/config with one more static route.
put_route() {
	api /api/config >/dev/null
	jget "json.dumps({'config': dict(j['config'], routes=j['config'].get('routes', []) + [{'prefix': '$1', 'via': '10.1.0.9'}]), 'rules': j['rules'], 'rules6': j['rules6']})" \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" "/api/config${2:-}"
	echo
}

confirm_timeout_ok() {
	local v1 vp
	v1=$(version_now)
	put_route 10.8.0.0/16 '?confirm_s=2'
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["state"]')" = pending ] || return 1
	vp=$(jget 'j["version"]')
	api /api/routes | grep -q '10.8.0.0/16' || { echo "not applied"; return 1; }
	api /api/config/versions >/dev/null
	[ "$(jget 'j["pending"]["version"]')" = "$vp" ] || return 1
	[ "$(jget 'j["versions"][0]["state"]')" = pending ] || return 1
	# Another change waits for the confirmation.
	api -X POST -d '{"chain":"FORWARD_CUST","rule":"-s 10.1.0.45/32 -j ACCEPT"}' \
	    /api/firewall/rules >/dev/null
	echo "a rule while pending: $(status)"
	[ "$(status)" != 201 ] || return 1
	sleep 3
	! api /api/routes | grep -q '10.8.0.0/16' || { echo "still there"; return 1; }
	api /api/config/versions >/dev/null
	jget 'j["versions"][:2]'
	[ "$(jget 'j["pending"]')" = None ] || return 1
	[ "$(jget 'j["current"]')" = $((vp + 1)) ] || return 1
	[ "$(jget 'j["versions"][0]["restored_from"]')" = "$v1" ] || return 1
	jget 'j["versions"][0]["comment"]' | grep -q 'automatic rollback' || return 1
	[ "$(jget 'j["versions"][1]["state"]')" = rolled-back ] ||
	    [ "$(jget 'j["versions"][1]["state"]')" = rolled_back ] || return 1
	api -X POST -d "{\"version\": $vp}" /api/config/confirm >/dev/null
	echo "confirm after the deadline: $(status)"
	[ "$(status)" = 409 ]
}

confirm_ok() {
	local vp
	put_route 10.7.0.0/16 '?confirm_s=2'
	[ "$(status)" = 200 ] || return 1
	vp=$(jget 'j["version"]')
	api -X POST -d "{\"version\": $vp}" /api/config/confirm
	echo
	[ "$(status)" = 200 ] || return 1
	sleep 3
	api /api/routes | grep -q '10.7.0.0/16' || { echo "rolled back"; return 1; }
	[ "$(version_now)" = "$vp" ] || return 1
	api /api/config/versions >/dev/null
	[ "$(jget 'j["versions"][0]["state"]')" = confirmed ] || return 1
	api -X PUT -d @"$tmp/put.json" '/api/config?confirm_s=0' >/dev/null
	[ "$(status)" = 400 ]
}

metrics_ok() {
	api /metrics >"$tmp/metrics"
	[ "$(status)" = 200 ] || return 1
	head -n 5 "$tmp/metrics"
	grep -E '^hexgate_interface_rx_packets_total\{interface="lan"\} [0-9]+$' "$tmp/metrics" ||
	    return 1
	grep -E '^hexgate_conntrack_entries [0-9]+$' "$tmp/metrics" || return 1
	grep -E '^hexgate_firewall_verdicts_total\{' "$tmp/metrics" | head -n 2
	grep -qE '^hexgate_interface_drops_total\{interface="lan",reason="' "$tmp/metrics" ||
	    return 1
	/usr/bin/python3 - "$tmp/metrics" <<'PY' || return 1
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
sample = re.compile(r'^(%s)(\{%s(,%s)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$' % (name, label, label))
meta = re.compile(r'^# (HELP %s .*|TYPE (%s) (counter|gauge|histogram|summary|untyped))$' % (name, name))
typed, n = set(), 0
for i, line in enumerate(open(sys.argv[1]).read().split("\n")[:-1], 1):
    m = meta.match(line)
    if m:
        if m.group(2):
            typed.add(m.group(2))
        continue
    m = sample.match(line)
    assert m, "line %d not Prometheus text: %r" % (i, line)
    assert m.group(1) in typed, "line %d: %s has no TYPE" % (i, m.group(1))
    n += 1
assert n >= 10, n
print(n, "samples")
PY
	nsx "$r" curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/state/api.crt" \
	    "$url/metrics" >"$tmp/status"
	echo "without credentials: $(status)"
	[ "$(status)" = 401 ] || return 1
	nsx "$r" curl -s -D - -o /dev/null --cacert "$tmp/state/api.crt" \
	    -u "api:$pw" "$url/metrics" | grep -qi '^content-type: text/plain; version=0.0.4'
}

snapshot_ok() {
	local v1
	api /api/snapshots >"$tmp/snap.json"
	[ "$(status)" = 200 ] || return 1
	v1=$(jget 'j["version"]')
	[ "$(jget 'sorted(k for k in j if k in ("config", "rules", "rules6", "sets"))')" = \
	    "['config', 'rules', 'rules6', 'sets']" ] || return 1
	api -X PUT -d @"$tmp/snap.json" /api/snapshots
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(jget 'j["version"]')" = $((v1 + 1)) ] || return 1
	api "/api/config/diff?a=$v1&b=$((v1 + 1))" >"$tmp/diff"
	[ "$(status)" = 200 ] || return 1
	[ ! -s "$tmp/diff" ] || { cat "$tmp/diff"; echo "not the same"; return 1; }
	api /api/snapshots >"$tmp/snap2.json"
	/usr/bin/python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for k in ("config", "rules", "rules6", "sets"):
    assert a[k] == b[k], k' "$tmp/snap.json" "$tmp/snap2.json"
}

# An IPsec pre-shared key is taken by PUT /api/config and never shown
# again: not by GET /api/config, a diff, nor a snapshot; the stars an
# export shows are refused if put back, naming the secret.
ipsec_secret_ok() {
	local v0
	api /api/config >/dev/null
	v0=$(jget 'j["version"]')
	jget 'json.dumps({"config": dict(j["config"], ipsec={"connections": {"dc1": {"local_addrs": ["10.1.0.1"], "remote_addrs": ["198.51.100.7"], "children": {"net": {"local_ts": ["10.1.0.0/24"], "remote_ts": ["10.77.0.0/16"]}}}}, "secrets": {"ike-dc1": {"id": "198.51.100.7", "secret": "topsecret-psk-77"}}}), "rules": j["rules"], "rules6": j["rules6"]})' \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" /api/config
	echo
	[ "$(status)" = 200 ] || return 1
	api /api/interfaces | grep -q '"ipsec0"' || { echo "no ipsec0"; return 1; }
	api /api/config >"$tmp/shown.json"
	! grep -q topsecret "$tmp/shown.json" || { echo "GET shows it"; return 1; }
	grep -q '"secret": *"\*\*\*\*\*\*\*\*"' "$tmp/shown.json" || return 1
	api "/api/config/diff?a=$v0&b=$((v0 + 1))" >"$tmp/diff"
	grep -q '+.*"secret"' "$tmp/diff" && ! grep -q topsecret "$tmp/diff" ||
	    { cat "$tmp/diff"; echo "the diff shows it"; return 1; }
	api /api/snapshots >"$tmp/snap-ipsec.json"
	! grep -q topsecret "$tmp/snap-ipsec.json" || { echo "the export shows it"; return 1; }
	api -X PUT -d @"$tmp/snap-ipsec.json" /api/snapshots | tee "$tmp/bad"
	echo
	[ "$(status)" = 400 ] && grep -q 'ike-dc1/secret: redacted' "$tmp/bad" ||
	    { echo "a redacted secret was taken"; return 1; }
	[ "$(version_now)" = $((v0 + 1)) ] || return 1
	# The section alone: GET shows stars; PUT what GET gave, changed,
	# keeps the running secret (the store has it, root's only).
	api /api/ipsec/connections >"$tmp/conns.json"
	[ "$(status)" = 200 ] && ! grep -q topsecret "$tmp/conns.json" || return 1
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
j["ipsec"]["connections"]["dc1"]["dpd_delay"] = "30s"
print(json.dumps({"ipsec": j["ipsec"]}))' "$tmp/conns.json" >"$tmp/conns-put.json"
	api -X PUT -d @"$tmp/conns-put.json" /api/ipsec/connections
	echo
	[ "$(status)" = 200 ] || return 1
	[ "$(version_now)" = $((v0 + 2)) ] || return 1
	api "/api/config/versions/$((v0 + 2))" >/dev/null
	[ "$(status)" = 200 ] || return 1
	grep -q '"dpd_delay": *"30s"' "$tmp/body" || return 1
	# The secret did not change: the diff's only line is dpd_delay (a
	# changed secret would show as a -/+ pair, stars for values).
	api "/api/config/diff?a=$((v0 + 1))&b=$((v0 + 2))" >"$tmp/diff2"
	cat "$tmp/diff2"
	grep -q '^+.*"dpd_delay"' "$tmp/diff2" && ! grep -q secret "$tmp/diff2" ||
	    { echo "the running secret was not kept"; return 1; }
	[ "$(stat -c %a "$tmp/config.db")" = 600 ] ||
	    { echo "the store is not root's only"; return 1; }
	# hexctl ipsec import writes what PUT takes.
	cat >"$tmp/swanctl.conf" <<'SW'
connections {
  dc9 {
    local_addrs = 10.1.0.1
    remote_addrs = 198.51.100.9
    proposals = aes256gcm16-prfsha256-x25519
    local { auth = psk }
    remote { auth = psk
             id = 198.51.100.9 }
    children {
      net { local_ts = 10.1.0.0/24
            remote_ts = 10.99.0.0/16 }
    }
  }
}
secrets {
  ike-dc9 { id = 198.51.100.9
            secret = "another-key" }
}
SW
	"$hexctl" ipsec import "$tmp/swanctl.conf" >"$tmp/imported.json" ||
	    return 1
	api -X PUT -d @"$tmp/imported.json" /api/ipsec/connections
	echo
	[ "$(status)" = 200 ] || return 1
	api /api/ipsec/connections | grep -q '"dc9"' &&
	    ! grep -q '"dc1"' "$tmp/body" || return 1
	api /api/routes | grep -q '10.99.0.0/16' || { echo "no route to dc9's remote_ts"; return 1; }
	# The tunnel goes again, for the checks after.
	api /api/config >/dev/null
	jget 'json.dumps({"config": {k: v for k, v in j["config"].items() if k != "ipsec"}, "rules": j["rules"], "rules6": j["rules6"]})' \
	    >"$tmp/put.json"
	api -X PUT -d @"$tmp/put.json" /api/config >/dev/null
	[ "$(status)" = 200 ]
}

# Two clients POST 15 rules each at the same time: every one acknowledged
# is live, and each got a version of its own.
concurrent_ok() {
	local v0 v1 w n pids=()
	v0=$(api /api/config | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
	for w in a b; do
		(
			for n in $(seq 1 15); do
				code=$(nsx "$r" curl -s --cacert "$tmp/state/api.crt" \
				    -u "api:$pw" -o /dev/null -w '%{http_code}' \
				    -X POST -d "{\"chain\":\"FORWARD_CUST\",\"rule\":\"-s 198.51.100.$n -m comment --comment w$w -j DROP\"}" \
				    "$url/api/firewall/rules")
				echo "$code" >>"$tmp/conc-$w"
			done
		) &
		pids+=("$!")
	done
	wait "${pids[@]}"
	echo "writer a: $(sort "$tmp/conc-a" | uniq -c | tr '\n' ' ')"
	echo "writer b: $(sort "$tmp/conc-b" | uniq -c | tr '\n' ' ')"
	[ "$(grep -c '^201$' "$tmp/conc-a" "$tmp/conc-b" | awk -F: '{ s += $2 } END { print s }')" = 30 ] ||
	    return 1
	n=$(api '/api/firewall/rules?format=text' | grep -c -- '--comment w[ab]')
	echo "live rules from the two writers: $n"
	[ "$n" = 30 ] || return 1
	v1=$(api /api/config | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
	echo "versions $v0 -> $v1"
	[ "$((v1 - v0))" = 30 ]
}

make_topology
write_api_config
start_hexgated "$r"
pw=$(cat "$tmp/state/api.password")
check "hexgated starts with the API; the password is in a root-only file" \
    test -n "$pw"
check "store: GET /api/config is version 1 at first start" store_v1_ok
check "closed by default: no credentials or a wrong password get 401" closed_ok
check "status, interfaces and rules (JSON and text) read" read_ok
check "POST a rule: 201, live, written back to rules.v4" add_ok
check "a bad rule: 400 naming its column, nothing changed" bad_rule_ok
check "PUT a rule set; a bad one refused by line, nothing changed" restore_ok
check "DELETE a rule by position; a bad position is a 400" delete_ok
check "PUT and GET the sets" sets_ok
check "DELETE a rule by its text; what is not there is a 400 saying so" delete_text_ok
check "set entries added and removed; bad ones refused with their place" set_entries_ok
check "POST /api/reload: a version by api; a broken file refused by name" reload_ok
check "a body over the limit: JSON 413 saying the limit (length, chunked)" body_limit_ok
check "store: a POSTed rule is a new version by api; its diff" store_post_ok
check "store: rollback applies the old version as a new one" store_rollback_ok
check "store: PUT /api/config with an unknown interface or a bad rule: 400 naming its place, no version" store_refuse_ok
check "store: a restart starts from the newest version, not the files" store_restart_ok
check "store: a rule acknowledged with 201 survives SIGKILL" store_durable_ok
check "tokens: made, used (Api-Token), listed without the secret, revoked: 401" tokens_ok
check "tokens: an expired or unknown token gets 401" token_expired_ok
check "audit: the token's creation and a rule change, from 127.0.0.1" audit_ok
check "commit-confirm: unconfirmed, the previous config is back by itself" confirm_timeout_ok
check "commit-confirm: confirmed in time, it stays" confirm_ok
check "/metrics: Prometheus text, interfaces and conntrack, behind auth" metrics_ok
check "snapshots: export then import round-trips" snapshot_ok
check "an IPsec secret is never shown: GET, diff, export; stars put back refused" ipsec_secret_ok
check "two writers at once: every POST applied, each its own version" concurrent_ok
check "every documented GET route answers, as its reply schema says" openapi_ok
check "six bad logins: 429, also for the right password" rate_limit_ok
check "hexgated still running" alive_ok
check "SIGTERM: hexgated stops cleanly, exit status 0" stop_ok
finish
