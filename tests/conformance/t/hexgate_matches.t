# hexgate's own lines for -m length, ttl, pkttype and tcpmss, in the
# format of iptables' .t files. Each expected form and verdict was
# checked with iptables 1.8.9 (legacy) and iptables-legacy-save in a
# network namespace; where hexgate differs on purpose (pkttype
# otherhost) the line is left out and docs/conformance.md says why.
:INPUT,FORWARD,OUTPUT
-m length --length 0:1280 -j ACCEPT;=;OK
-m length ! --length 40;=;OK
-m length --length 1400:;-m length --length 1400:65535;OK
-m length --length :64;-m length --length 0:64;OK
-m length --length 100:10;=;OK
-m ttl --ttl-eq 64 -j ACCEPT;=;OK
-m ttl ! --ttl-eq 1;=;OK
-m ttl --ttl-lt 5;=;OK
-m ttl ! --ttl-lt 5;;FAIL
-m ttl --ttl-gt 5 --ttl-lt 9;;FAIL
-m pkttype ! --pkt-type mcast;-m pkttype ! --pkt-type multicast;OK
-m pkttype --pkt-type host;-m pkttype --pkt-type unicast;OK
-m pkttype --pkt-type BROADCAST;-m pkttype --pkt-type broadcast;OK
-p tcp -m tcpmss ! --mss 536;=;OK
-p tcp -m tcpmss --mss 1221:;-p tcp -m tcpmss --mss 1221:65535;OK
-p tcp -m tcpmss --mss 1500:1000;;FAIL
-m tcpmss --mss 536;;FAIL
