#!/bin/bash
#
# bench/classify/load.sh BUILD RULES KEYS SUMMARY: rule-load time anchors
# for bench/classify/run.  In a network namespace of its own
# (hgbench-classify-PID, deleted at exit), the ClassBench file RULES, as
# bench_classify translates it, is loaded by
#
#   iptables-legacy-restore    FORWARD_CUST, jumped to from FORWARD
#   iptables-nft-restore       the same text
#   nft -f                     table ip hgbench, chain forward
#   hexctl firewall restore    into a hexgated on a null port
#
# each from an empty rule set, RUNS times (default 3), the whole command
# timed; then one rule is added to the loaded set (iptables-legacy -A,
# iptables-nft -A, nft add rule, hexctl firewall add).  Each loader's rule
# count is checked after the load.  The figures set these beside hexgate's
# in-process fw_parse + fw_compile and one-rule adds (fw_compile of the
# whole set, fw_prog_edit) that bench_classify wrote to KEYS
# ("SET.build_ms", "SET.add1_ms", "SET.add1_edit_ms"), and are appended
# to SUMMARY.  Needs root; without it, or a loader, says what is skipped.
set -euo pipefail
export LC_ALL=C

# (Run again by itself inside the namespace as "load.sh --in-ns BUILD TMP"
# for the measurements.)
inside=0
if [ "${1:-}" = --in-ns ]; then
	inside=1
	BUILD=$2
	tmp=$3
else
	BUILD=$1
	rules=$2
	keys=$3
	summary=$4
	set_name=$(basename "$rules")
fi
RUNS=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
conv=$BUILD/bench/classify/cb_convert
hexgated=$BUILD/src/daemon/hexgated
hexctl=$BUILD/src/cli/hexctl

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# elapsed_ms CMD...: CMD's wall time in ms on stdout, its output dropped.
# $EPOCHREALTIME: no process is started for the clock.
elapsed_ms() {
	local t0 t1
	t0=$EPOCHREALTIME
	"$@" >/dev/null || return 1
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

# ---- inside the namespace: the measurements, "KEY MS" lines on stdout --

# load NAME FLUSH_CMD LOAD_CMD FILE COUNT_CMD: RUNS timed loads from empty.
load() {
	local name=$1 flush=$2 cmd=$3 file=$4 count=$5 vals=() n v
	for _ in $(seq "$RUNS"); do
		$flush >/dev/null 2>&1 || true
		# shellcheck disable=SC2086 # cmd is words
		v=$(elapsed_ms $cmd <"$file") || {
			echo "# $name: $cmd failed" >&2
			return 0
		}
		vals+=("$v")
	done
	n=$($count 2>/dev/null || echo 0)
	if [ "$n" != "$want" ]; then
		echo "# $name: $n rules loaded, want $want: its figures are not kept" >&2
		return 0
	fi
	echo "$name $(printf '%s\n' "${vals[@]}" | median)"
}

# add NAME CMD...: RUNS timed adds of the one rule to the loaded set.
add() {
	local name=$1 vals=() v
	shift
	for _ in $(seq "$RUNS"); do
		v=$(elapsed_ms "$@") || {
			echo "# $name: $* failed" >&2
			return 0
		}
		vals+=("$v")
	done
	echo "$name $(printf '%s\n' "${vals[@]}" | median)"
}

legacy_flush() { iptables-legacy -w -F && iptables-legacy -w -X; }
legacy_count() { iptables-legacy -w -S FORWARD_CUST | grep -c '^-A'; }
ipt_nft_flush() { iptables-nft -w -F && iptables-nft -w -X; }
ipt_nft_count() { iptables-nft -w -S FORWARD_CUST | grep -c '^-A'; }
nft_count() { nft list chain ip hgbench forward | grep -c 'accept$'; }
hx() { "$hexctl" -s "$sock" "$@"; }
hx_flush() { printf '*filter\nCOMMIT\n' | hx firewall restore -4 -; }
hx_restore() { hx firewall restore -4 -; }
hx_count() { hx firewall save -4 | grep -c -- '-A FORWARD_CUST '; }

measure_inside() {
	local added_ipt added_nft
	want=$(grep -c '^-A FORWARD_CUST ' "$tmp/hexgate.v4")
	read -ra added_ipt <<<"$("$conv" added ipt)"
	read -ra added_nft <<<"$("$conv" added nft)"
	ip link set lo up

	if iptables-legacy -w -L -n >/dev/null 2>&1; then
		load legacy_restore legacy_flush iptables-legacy-restore \
		    "$tmp/kernel.v4" legacy_count
		add legacy_add iptables-legacy -w -A FORWARD_CUST "${added_ipt[@]}"
		legacy_flush
	else
		echo "# iptables-legacy: no legacy tables in this kernel" >&2
	fi

	load ipt_nft_restore ipt_nft_flush iptables-nft-restore \
	    "$tmp/kernel.v4" ipt_nft_count
	add ipt_nft_add iptables-nft -w -A FORWARD_CUST "${added_ipt[@]}"
	ipt_nft_flush
	nft flush ruleset

	load nft_load "nft flush ruleset" "nft -f -" "$tmp/rules.nft" nft_count
	add nft_add nft add rule ip hgbench forward "${added_nft[@]}"
	nft flush ruleset

	if [ -x "$hexgated" ] && [ -x "$hexctl" ]; then
		sock=$tmp/hexgated.sock
		cat >"$tmp/hexgated.json" <<EOF
{
  "workers": 1,
  "log": { "level": "warn" },
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "nul0", "port": "null", "addresses": [ "198.18.0.1/24" ] }
  ]
}
EOF
		"$hexgated" -c "$tmp/hexgated.json" 2>"$tmp/hexgated.log" &
		hg_pid=$!
		trap 'kill "$hg_pid" 2>/dev/null || true' EXIT
		for _ in $(seq 100); do
			hx show interfaces >/dev/null 2>&1 && break
			sleep 0.1
		done
		if hx show interfaces >/dev/null 2>&1; then
			load hexctl_restore hx_flush hx_restore "$tmp/hexgate.v4" \
			    hx_count
			add hexctl_add "$hexctl" -s "$sock" firewall add -4 \
			    FORWARD_CUST "${added_ipt[@]}"
		else
			echo "# hexgated did not start:" >&2
			tail -n 5 "$tmp/hexgated.log" >&2
		fi
		kill "$hg_pid" 2>/dev/null || true
		wait "$hg_pid" 2>/dev/null || true
	else
		echo "# hexgated or hexctl not built: no hexctl figures" >&2
	fi
}

if [ "$inside" = 1 ]; then
	measure_inside
	exit 0
fi

# ---- outside: the namespace, then the figures ------------------------

skip() {
	echo "load-time anchors skipped: $*"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
for t in ip iptables-legacy iptables-legacy-restore iptables-nft \
    iptables-nft-restore nft; do
	command -v "$t" >/dev/null ||
	    skip "$t not installed (scripts/install-deps --bench)"
done
[ -x "$conv" ] || skip "$conv not built"

ns=hgbench-classify-$$
tmp=$(mktemp -d /tmp/hgbench-classify-load.XXXXXX)
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" || skip "cannot create network namespace $ns"

"$conv" hexgate "$rules" >"$tmp/hexgate.v4"
"$conv" kernel "$rules" >"$tmp/kernel.v4"
"$conv" nft "$rules" >"$tmp/rules.nft"
n_rules=$(grep -c '^-A FORWARD_CUST ' "$tmp/hexgate.v4")
echo "== rule-load time anchors: $set_name, $n_rules rules, namespace $ns, $RUNS runs (whole commands)"
RUNS=$RUNS ip netns exec "$ns" "$here/load.sh" --in-ns "$BUILD" "$tmp" \
    >"$tmp/ms"
sed 's/^/  /; s/$/ ms/' "$tmp/ms"

val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# fig NAME VALUE ANCHOR AVALUE: one time figure, ratio anchor / hexgate.
fig() {
	[ -n "$2" ] && [ -n "$4" ] || return 0
	awk -v n="$1" -v v="$2" -v a="$3" -v av="$4" '
	function num(x) { return x >= 1000 ? sprintf("%.0f", x) : sprintf("%.3g", x) }
	BEGIN { printf "%s: %s ms (anchor %s: %s ms, ratio %s)\n", n, num(v), a, num(av), (v > 0 ? num(av / v) : "n/a") }' |
	    tee -a "$summary"
}

hg_build=$(val "$set_name.build_ms" "$keys")
hg_add=$(val "$set_name.add1_ms" "$keys")
hg_edit=$(val "$set_name.add1_edit_ms" "$keys")
hx_restore=$(val hexctl_restore "$tmp/ms")
hx_add=$(val hexctl_add "$tmp/ms")
for a in "legacy_restore iptables-legacy-restore" \
    "ipt_nft_restore iptables-nft-restore" "nft_load nft -f"; do
	read -r k anchor <<<"$a"
	fig "$set_name load hexgate fw_parse+fw_compile in-process" \
	    "$hg_build" "$anchor" "$(val "$k" "$tmp/ms")"
	fig "$set_name load hexctl firewall restore" "$hx_restore" \
	    "$anchor" "$(val "$k" "$tmp/ms")"
done
for a in "legacy_add iptables-legacy -A" "ipt_nft_add iptables-nft -A" \
    "nft_add nft add rule"; do
	read -r k anchor <<<"$a"
	fig "$set_name add one rule hexgate fw_parse+fw_compile in-process" \
	    "$hg_add" "$anchor" "$(val "$k" "$tmp/ms")"
	fig "$set_name add one rule hexgate fw_parse+fw_prog_edit in-process" \
	    "$hg_edit" "$anchor" "$(val "$k" "$tmp/ms")"
	fig "$set_name add one rule hexctl firewall add" "$hx_add" \
	    "$anchor" "$(val "$k" "$tmp/ms")"
done
