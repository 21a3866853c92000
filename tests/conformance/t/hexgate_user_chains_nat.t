# User-defined chains in the nat table, as podman's netavark and the CNI
# portmap plugin write them. The header comes before "*nat", as in
# iptables' own nat files: the chains belong to the table the tests run
# in, and PREROUTING is built into nat, so it is not a user chain.
:PREROUTING,OUTPUT
*nat
-p tcp -m tcp --dport 8080 -j NETAVARK-DN-1D8721804F16F;=;OK
:NETAVARK-DN-1D8721804F16F
-d 10.88.0.2/32 -p tcp -m tcp --dport 8080 -j ACCEPT;=;OK
-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80;=;OK
:POSTROUTING
-s 10.88.0.0/16 -j NETAVARK-1D8721804F16F;=;OK
:NETAVARK-1D8721804F16F
-d 10.88.0.0/16 -j ACCEPT;=;OK
! -d 224.0.0.0/4 -j MASQUERADE;=;OK
