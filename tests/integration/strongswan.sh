# tests/integration/strongswan.sh: a stock strongSwan (charon with the
# kernel-libipsec plugin, ESP in userspace; this kernel has no ESP) as a
# peer inside a network namespace.  Sourced after lib.sh, not executed.
#
#   sw_start NS LOCAL REMOTE LOCAL_TS REMOTE_TS PSK START_ACTION
#                  one charon in NS, its own /run, state in $tmp/sw-NS;
#                  env: SW_IKE (proposals), SW_ESP, SW_LOCAL_ID,
#                  SW_REMOTE_ID (default %any), SW_DPD (dpd_delay),
#                  SW_REKEY, SW_LIFE (the child's rekey_time and
#                  life_time, default 1h and 66m), SW_CHILD2 ("LOCAL_TS
#                  REMOTE_TS": a second child, db, aes128gcm16, with the
#                  first's start_action), SW_FRAG (swanctl's
#                  fragmentation, default yes), SW_FRAG_SIZE (charon's
#                  fragment_size, default 1280); certificates instead
#                  of the PSK with SW_CERT, SW_KEY, SW_CA (PEM files:
#                  charon's certificate, its key, the CA it trusts for
#                  ours), put in x509/, private/ and x509ca/ beside
#                  swanctl.conf, where swanctl --load-all --file looks
#   sw_stop NS     stop it (idempotent)
#   sw NS CMD...   swanctl CMD --uri ... of that charon
#   sw_log NS      its log file
#   sw_up_both NS  an IKE SA with its child up at both ends within 10 s:
#                  hexgated's (hx, lib.sh) and that charon's; both
#                  listed, or on failure what they hold and their logs
#
# charon's kernel-libipsec plugin speaks ESP in UDP only: it announces a
# NAT it does not have (a NAT_DETECTION_SOURCE_IP nothing matches), so
# IKE moves to UDP 4500 and ESP is encapsulated (RFC 3948).  It installs
# the remote selectors' routes into table 220 through its TUN device,
# with a source address inside the local selectors (give NS one, on lo).

sw_dir() { echo "$tmp/sw-$1"; }

sw() {
	local ns=$1 cmd=$2
	shift 2
	swanctl "$cmd" --uri "unix://$(sw_dir "$ns")/charon.vici" "$@"
}

sw_log() { echo "$(sw_dir "$1")/charon.log"; }

sw_stop() {
	local d pid
	d=$(sw_dir "$1")
	pid=$(cat "$d/charon.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	ip netns exec "$1" ip rule del table 220 2>/dev/null
	rm -f "$d/charon.pid"
}

sw_start() {
	local ns=$1 d charon pid
	d=$(sw_dir "$ns")
	charon=$(command -v charon-systemd || echo /usr/lib/ipsec/charon)
	sw_stop "$ns"
	mkdir -p "$d/run"
	local lauth="auth = psk" rauth="auth = psk" child2=""
	if [ -n "${SW_CHILD2:-}" ]; then
		child2="db { local_ts = ${SW_CHILD2% *}
            remote_ts = ${SW_CHILD2#* }
            esp_proposals = aes128gcm16
            start_action = $7 }"
	fi
	rm -rf "$d/x509" "$d/private" "$d/x509ca"
	if [ -n "${SW_CERT:-}" ]; then
		mkdir -p "$d/x509" "$d/private" "$d/x509ca"
		cp "$SW_CERT" "$d/x509/sw.pem"
		cp "$SW_KEY" "$d/private/sw.pem"
		cp "$SW_CA" "$d/x509ca/ca.pem"
		chmod 600 "$d/private/sw.pem"
		lauth="auth = pubkey
            certs = sw.pem"
		rauth="auth = pubkey
             cacerts = ca.pem"
	fi
	cat >"$d/strongswan.conf" <<EOF
charon {
  load = random nonce openssl kdf aes sha1 sha2 hmac gcm curve25519 gmp pem pkcs1 pkcs8 x509 pubkey constraints kernel-libipsec kernel-netlink socket-default vici
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  retransmit_tries = 3
  fragment_size = ${SW_FRAG_SIZE:-1280}
  # reauthentication makes the new IKE SA before it deletes the old
  make_before_break = yes
  plugins {
    vici { socket = unix://$d/charon.vici }
  }
  filelog {
    log { path = $d/charon.log
          default = 1
          ike = 2
          flush_line = yes
          time_format = %T }
  }
  syslog { daemon { default = -1 } }
  journal { default = -1 }
}
EOF
	cat >"$d/swanctl.conf" <<EOF
connections {
  net {
    version = 2
    local_addrs = $2
    remote_addrs = $3
    proposals = ${SW_IKE:-aes256gcm16-prfsha256-x25519}
    mobike = no
    keyingtries = 1
    dpd_delay = ${SW_DPD:-0}
    fragmentation = ${SW_FRAG:-yes}
    local { $lauth
            id = "${SW_LOCAL_ID:-$2}" }
    remote { $rauth
             id = "${SW_REMOTE_ID:-%any}" }
    children {
      net { local_ts = $4
            remote_ts = $5
            esp_proposals = ${SW_ESP:-aes256gcm16}
            rekey_time = ${SW_REKEY:-1h}
            life_time = ${SW_LIFE:-66m}
            start_action = $7 }
      $child2
    }
  }
}
secrets {
  ike-psk { secret = 0s$(printf %s "$6" | base64 -w0) }
}
EOF
	# A private /run (charon refuses a second /var/run/charon.pid);
	# setsid: it outlives the subshell; exec all the way, so $! is it.
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$ns" \
	    sh -c 'mount -n --bind "$0" /run && exec "$@"' "$d/run" \
	    setsid "$charon" </dev/null >"$d/charon.out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/charon.pid"
	bg_pids+=("$pid")
	for _ in $(seq 100); do
		sw "$ns" --stats >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { cat "$d/charon.out"; return 1; }
		sleep 0.05
	done
	sw "$ns" --load-all --file "$d/swanctl.conf" >"$d/load.out" 2>&1 ||
	    { cat "$d/load.out"; return 1; }
}

sw_up_both() {
	local _
	for _ in $(seq 100); do
		if hx --json ipsec status 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sas = json.load(sys.stdin)["ike_sas"]
sys.exit(0 if any(sa["state"] == "ESTABLISHED" and
    (sa.get("children") or [{}])[0].get("state") == "INSTALLED" for sa in sas) else 1)' &&
		    sw "$1" --list-sas 2>/dev/null | grep -q 'INSTALLED'; then
			hx ipsec status
			sw "$1" --list-sas
			return 0
		fi
		sleep 0.1
	done
	echo "not up after 10 s"
	hx --json ipsec status
	sw "$1" --list-sas
	tail -n 30 "$(sw_log "$1")"
	hg_log_tail
	return 1
}
