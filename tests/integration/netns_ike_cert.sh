#!/bin/bash
#
# tests/integration/netns_ike_cert.sh: hexgated authenticates IKEv2 with
# X.509 certificates against a stock strongSwan 5.9 (issue 15), RSA and
# ECDSA, the certificates made here with openssl(1).
#
#   h1 (10.1.0.2) -- a: hexgated -- wan 192.0.2.0/24 -- s: strongSwan
#                     ipsec connection dc1           (10.2.0.1 on lo)
#                     auth pubkey, "CN=hexgate, O=Example"
#                                              "CN=sw, O=Example"
#
# Checks: with RSA-2048 certificates hexgated initiates and the tunnel
# carries a ping, each side naming the other by its certificate's DN
# (hexctl ipsec status, charon's log: its signature checked); strongSwan
# initiates and hexgated answers; the same with ECDSA P-256
# certificates; strongSwan with an expired certificate, and with one of
# another CA, is refused, logged with the reason and counted; a private
# key file others can read is refused at reload, naming it.  IKE
# fragmentation (RFC 7383): with RSA-4096 certificates each IKE_AUTH is
# bigger than the wan's 1500-byte MTU, and the path drops IP fragments;
# the tunnel comes up both ways in IKE fragments, and with hexgated's
# fragmentation = no it does not come up either way.
#
# Usage: netns_ike_cert.sh BUILD_DIR   (root; exits 77 when it cannot run)
set -u

prog=netns_ike_cert
. "$(dirname "$0")/lib.sh"	# need_*, check, finish, the EXIT trap
. "$(dirname "$0")/strongswan.sh"

need_build_dir "${1:-}"
need_root "network namespaces, veth, AF_PACKET"
need_tools ip ping openssl swanctl base64 nft /usr/bin/python3
command -v charon-systemd >/dev/null || [ -x /usr/lib/ipsec/charon ] ||
    skip "charon not found (scripts/install-deps installs strongSwan)"
need_netns
need_programs

h1=hg-ch1-$$
a=hg-ca-$$
s=hg-cs-$$
netns=("$h1" "$a" "$s")
begin_run

topology() {
	set -ex
	for n in "$h1" "$a" "$s"; do ip netns add "$n"; done
	ip -n "$a" link add a-lan type veth peer name h1-eth0 netns "$h1"
	ip -n "$a" link add a-wan type veth peer name s-wan netns "$s"
	ip -n "$a" link set lo up
	nsx "$a" sysctl -q -w net.ipv4.ip_forward=0
	nsx "$a" "$prepare" a-lan a-wan
	host_setup "$h1" 1
	peer "$s" s-wan 192.0.2.2/24 ""
	ip -n "$s" addr add 10.2.0.1/32 dev lo
}

# ---- the certificates, made here -------------------------------------------

pki=$tmp/pki
mkdir -p "$pki" "$tmp/private"

# newkey KIND FILE: rsa (2048 bits), rsa4k (4096) or ec (P-256).
newkey() {
	if [ "$1" = rsa ] || [ "$1" = rsa4k ]; then
		openssl genpkey -algorithm RSA -pkeyopt \
		    rsa_keygen_bits:"$([ "$1" = rsa ] && echo 2048 || echo 4096)" \
		    -out "$2" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$2" 2>/dev/null
	fi
}

# ca NAME: a self-signed CA "CN=NAME, O=Example" (ECDSA), NAME.pem/.key.
ca() {
	newkey ec "$pki/$1.key"
	openssl req -x509 -new -key "$pki/$1.key" -out "$pki/$1.pem" \
	    -subj "/CN=$1/O=Example" -days 30 -sha256 \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign
	: >"$pki/$1.index"
	echo 01 >"$pki/$1.serial"
	cat >"$pki/$1.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $pki/$1.index
new_certs_dir = $pki
serial = $pki/$1.serial
default_md = sha256
policy = policy
unique_subject = no
copy_extensions = copy
[ policy ]
commonName = supplied
organizationName = optional
EOF
}

# cert CA KIND CN SAN FILE [START END]: FILE.pem and FILE.key, "CN=CN,
# O=Example" with subjectAltName SAN, issued by CA, valid 30 days from
# now or from START to END (openssl ca's YYYYMMDDHHMMSSZ).
cert() {
	newkey "$2" "$5.key"
	openssl req -new -key "$5.key" -subj "/CN=$3/O=Example" \
	    -addext "subjectAltName=$4" -out "$5.csr"
	local when=(-days 30)
	[ -n "${6:-}" ] && when=(-startdate "$6" -enddate "$7")
	openssl ca -batch -notext -config "$pki/$1.cnf" -cert "$pki/$1.pem" \
	    -keyfile "$pki/$1.key" -in "$5.csr" -out "$5.pem" "${when[@]}" \
	    2>/dev/null
	chmod 600 "$5.key"
}

# A subshell: set -e stays in it.
make_pki() (
	set -e
	ca "Test CA"
	ca "Other CA"
	cert "Test CA" rsa hexgate DNS:hexgate.example "$pki/hg-rsa"
	cert "Test CA" rsa sw DNS:sw.example "$pki/sw-rsa"
	cert "Test CA" ec hexgate DNS:hexgate.example "$pki/hg-ec"
	cert "Test CA" ec sw DNS:sw.example "$pki/sw-ec"
	cert "Test CA" ec sw DNS:sw.example "$pki/sw-expired" \
	    20200101000000Z 20200201000000Z
	cert "Other CA" ec sw DNS:sw.example "$pki/sw-other"
	cp "$pki/Test CA.pem" "$tmp/ca.pem"
	for f in "$pki"/*.pem; do
		openssl x509 -in "$f" -noout -subject -enddate
	done
)

# config START_ACTION KIND [KEY_MODE]: hexgated with its KIND (rsa, ec,
# rsa4k) certificate; its key file's mode (default 600); HG_FRAG: its
# fragmentation (default yes).
config() {
	cp "$pki/hg-$2.pem" "$tmp/hexgate.pem"
	cp "$pki/hg-$2.key" "$tmp/private/hexgate.key"
	chmod "${3:-600}" "$tmp/private/hexgate.key"
	cat >"$conf" <<EOF
{
  "workers": 1,
  "control_socket": "$sock",
  "api": false,
  "interfaces": [
    { "name": "lan", "port": "afpacket:a-lan", "addresses": [ "10.1.0.1/24" ] },
    { "name": "wan", "port": "afpacket:a-wan", "addresses": [ "192.0.2.1/24" ] }
  ],
  "ipsec": {
    "connections": {
      "dc1": {
        "version": 2,
        "local_addrs": [ "192.0.2.1" ],
        "remote_addrs": [ "192.0.2.2" ],
        "proposals": [ "aes256gcm16-prfsha256-x25519" ],
        "fragmentation": "${HG_FRAG:-yes}",
        "local": { "auth": "pubkey", "certs": [ "hexgate.pem" ],
                   "key": "private/hexgate.key" },
        "remote": { "auth": "pubkey", "cacerts": [ "ca.pem" ],
                    "id": "CN=sw, O=Example" },
        "children": {
          "net": {
            "local_ts": [ "10.1.0.0/24" ],
            "remote_ts": [ "10.2.0.0/24" ],
            "esp_proposals": [ "aes256gcm16" ],
            "start_action": "$1"
          }
        }
      }
    }
  },
  "firewall": { "known_networks": [ "10.1.0.0/24" ], "rules": "rules.v4" }
}
EOF
	cat >"$tmp/rules.v4" <<EOF
*filter
:INPUT_CUST - [0:0]
:FORWARD_CUST - [0:0]
COMMIT
EOF
}

# sw_cert NAME START_ACTION: strongSwan with certificate NAME (sw-rsa,
# sw-ec, sw-expired, sw-other), trusting the test CA for ours.
sw_cert() {
	SW_CERT=$pki/$1.pem SW_KEY=$pki/$1.key SW_CA=$tmp/ca.pem \
	    SW_LOCAL_ID="CN=sw, O=Example" SW_REMOTE_ID="CN=hexgate, O=Example" \
	    sw_start "$s" 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 \
	    unused "$2"
}

# authed KIND ROLE: up, a ping through, each side names the other by
# its DN, and charon checked our KIND signature (RFC 7427's scheme).
authed() {
	local scheme n
	[ "$1" = ec ] && scheme=ECDSA_WITH_SHA256_DER ||
	    scheme=RSA_EMSA_PKCS1_SHA2_256
	sw_up_both "$s" >/dev/null || { sw_up_both "$s"; return 1; }
	ping_ok "$h1" 10.2.0.1 || return 1
	hx --json ipsec status | /usr/bin/python3 -c '
import json, sys
sa = json.load(sys.stdin)["ike_sas"][0]
print(sa["remote_id"], sa["initiator"])
assert sa["remote_id"] == "CN=sw, O=Example", sa
assert sa["initiator"] == (sys.argv[1] == "initiator"), sa' "$2" || return 1
	# This SA's: one more than before it.
	n=$(grep -c "authentication of 'CN=hexgate, O=Example' with $scheme successful" \
	    "$(sw_log "$s")")
	echo "charon checked our $scheme signature $n times"
	[ "$n" -gt "${auths0:-0}" ] ||
	    { echo "charon did not check our $scheme signature"
	      grep -i "authentication of" "$(sw_log "$s")"; return 1; }
	auths0=$n
	grep -E "\[IKE\] IKE_SA dc1\[[0-9]+\] established .*\(peer CN=sw, O=Example, " \
	    "$tmp/hexgated.log" | tail -n 1
}

initiator_ok() {
	hx ipsec up dc1 >/dev/null 2>&1
	authed "$1" initiator
}

responder_ok() {
	hx ipsec down dc1 >/dev/null 2>&1
	sleep 0.5
	sw "$s" --initiate --child net --timeout 10 >/dev/null || return 1
	authed "$1" responder
}

switch_to() {
	hx ipsec down dc1 >/dev/null 2>&1
	config none "$1"
	hx reload || return 1
	sw_cert "sw-$1" none
	auths0=0		# ECDSA from here on: counted anew
}

# refused CERT WHY: strongSwan with certificate CERT initiates, and is
# refused: hexgated logs WHY, counts it, and no SA is up.
refused() {
	local n0 n1
	n0=$(hx metrics | sed -n 's/^hexgate_ike_auth_failed_total //p')
	hx ipsec down dc1 >/dev/null 2>&1
	sw_cert "$1" none || return 1
	sw "$s" --initiate --child net --timeout 5 >/dev/null 2>&1 && {
		echo "strongSwan got in with $1"; return 1; }
	grep -E "authentication of 192.0.2.2\[4500\] failed: $2" \
	    "$tmp/hexgated.log" || { echo "not logged"; hg_log_tail; return 1; }
	n1=$(hx metrics | sed -n 's/^hexgate_ike_auth_failed_total //p')
	echo "auth_failed $n0 -> $n1"
	[ "${n1:-0}" -gt "${n0:-0}" ] || { echo "not counted"; return 1; }
	! hx --json ipsec status | grep -q ESTABLISHED
}

key_mode_ok() {
	local out
	config none ec 644
	out=$(hx reload 2>&1) && { echo "reload took a key others can read"; return 1; }
	echo "$out"
	config none ec
	grep -q "/ipsec/connections/dc1/local/key: .*private/hexgate.key holds a private key: it must be readable by its owner only (chmod 600), it is 644" <<<"$out"
}

# ---- IKE fragmentation (RFC 7383) ------------------------------------------

# RSA-4096 at both ends: an IKE_AUTH of some 1600 bytes, which each
# side's IP layer cuts into two IP fragments for the 1500-byte wan.
# s-wan drops every IP fragment, both ways (nftables' netdev ingress and
# egress hooks, before the kernel could reassemble anything; hexgated
# would reassemble IKE's).  Only IKE fragments (1280-byte datagrams,
# both sides' default) get through.
frag_setup() {
	cert "Test CA" rsa4k hexgate DNS:hexgate.example "$pki/hg-rsa4k" &&
	    cert "Test CA" rsa4k sw DNS:sw.example "$pki/sw-rsa4k" ||
	    return 1
	nsx "$s" nft -f - <<EOF || return 1
table netdev ipfrag {
	chain in {
		type filter hook ingress device "s-wan" priority -500;
		ip frag-off & 0x3fff != 0 counter drop
	}
	chain out {
		type filter hook egress device "s-wan" priority -500;
		ip frag-off & 0x3fff != 0 counter drop
	}
}
EOF
	hx ipsec down dc1 >/dev/null 2>&1
	config none rsa4k
	hx reload || return 1
	sw_cert sw-rsa4k none || return 1
	auths0=0
}

# IP fragments the path dropped so far: in (from hexgated) or out.
ip_frags_dropped() {
	nsx "$s" nft list chain netdev ipfrag "$1" |
	    sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}

# fragmented ROLE: up (as initiator or responder), and both sides
# sent and put together IKE fragments for this SA.
fragmented() {
	local m0 m1 r0 r1
	m0=$(hx metrics | sed -n 's/^hexgate_ike_fragments_reassembled_total //p')
	r0=$(grep -c "reassembled fragmented IKE message" "$(sw_log "$s")")
	if [ "$1" = initiator ]; then
		initiator_ok rsa4k || return 1
	else
		responder_ok rsa4k || return 1
	fi
	m1=$(hx metrics | sed -n 's/^hexgate_ike_fragments_reassembled_total //p')
	r1=$(grep -c "reassembled fragmented IKE message" "$(sw_log "$s")")
	hx metrics | grep '^hexgate_ike_fragments_'
	grep "fragment" "$(sw_log "$s")" | tail -n 4
	echo "NOTE: IKE messages reassembled: hexgated $m0 -> $m1, charon $r0 -> $r1"
	[ "${m1:-0}" -gt "${m0:-0}" ] && [ "$r1" -gt "$r0" ]
}

# Without IKE fragmentation (hexgated's fragmentation = no, so charon
# does not fragment either), neither end gets the other's IKE_AUTH.
unfragmented_fails() {
	local e0 e1
	hx ipsec down dc1 >/dev/null 2>&1
	HG_FRAG=no config none rsa4k
	hx reload || return 1
	e0=$(ip_frags_dropped out)
	sw "$s" --initiate --child net --timeout 5 >/dev/null 2>&1 && {
		echo "strongSwan's IKE_AUTH got through whole"; return 1; }
	e1=$(ip_frags_dropped out)
	echo "IP fragments from charon dropped: $e0 -> $e1"
	[ "$e1" -gt "$e0" ] || { echo "charon sent no IP fragments"; return 1; }
	# charon's half-open SA gone, hexgated initiates.
	hx ipsec down dc1 >/dev/null 2>&1
	hx ipsec up dc1 >/dev/null 2>&1
	sleep 3
	grep -E "retransmit [0-9] of request with message ID 1 of IKE_SA dc1" \
	    "$tmp/hexgated.log" | tail -n 1 || { echo "no IKE_AUTH went out"; return 1; }
	if hx --json ipsec status | grep -q ESTABLISHED ||
	    sw "$s" --list-sas 2>/dev/null | grep -q INSTALLED; then
		echo "hexgated's IKE_AUTH got through whole"; return 1
	fi
	echo "NOTE: IP fragments dropped: from charon $e0 -> $e1, from hexgated $(ip_frags_dropped in)"
	hx ipsec down dc1 >/dev/null 2>&1
}

make_topology
check "openssl(1) makes the CAs and certificates" make_pki ||
    fatal "certificates" "openssl failed"
config start rsa
sw_cert sw-rsa none || fatal "strongSwan starts" "charon did not start"
start_hexgated "$a"

check "RSA: hexgated initiates, each side authenticated by its certificate" \
    authed rsa initiator
check "RSA: strongSwan initiates, hexgated responds" responder_ok rsa
check "ECDSA: reload with P-256 certificates at both ends" switch_to ec
check "ECDSA: hexgated initiates" initiator_ok ec
check "ECDSA: strongSwan initiates, hexgated responds" responder_ok ec
check "an expired certificate is refused, logged, counted" \
    refused sw-expired 'certificate expired: "CN=sw, O=Example" not after Feb  1 00:00:00 2020 GMT'
check "a certificate of another CA is refused, logged, counted" \
    refused sw-other 'untrusted: not issued by a configured CA: "CN=sw, O=Example", issuer "CN=Other CA, O=Example"'
check "a private key file others can read is refused at reload" key_mode_ok
check "IKE fragmentation: RSA-4096 certificates, a path dropping IP fragments" \
    frag_setup
check "IKE fragmentation: hexgated initiates, both IKE_AUTHs in fragments" \
    fragmented initiator
check "IKE fragmentation: strongSwan initiates, both IKE_AUTHs in fragments" \
    fragmented responder
check "without IKE fragmentation (hexgated: fragmentation no) neither comes up" \
    unfragmented_fails
sw_stop "$s"
finish
