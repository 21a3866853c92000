# hexgate's own tests of how the runner treats user-defined chains
# (../shared/conformance/iptables/README.md, ":CHAIN"), in the same
# format as iptables' .t files. Written for hexgate; the rule sets are
# shaped like the ones ufw, fail2ban and Shorewall write: the built-in
# chains jump to the tool's own chains, which hold the real rules.
:INPUT,FORWARD
# a jump to a chain that only a later header names
-j ufw-before-input;=;OK
-p tcp -m tcp --dport 22 -j f2b-sshd;=;OK
-g net2fw;=;OK
# a chain no header names is still unknown
-j no-such-chain;;FAIL
# a built-in chain is never a jump target
-j OUTPUT;;FAIL
:ufw-before-input
-i lo -j ACCEPT;=;OK
-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;=;OK
-j ufw-user-input;=;OK
# the runner's tests in one chain all run in the same file's rule set
-j RETURN;=;OK
:f2b-sshd
-s 192.0.2.7/32 -j REJECT --reject-with icmp-port-unreachable;=;OK
-j RETURN;=;OK
:ufw-user-input,net2fw
-p udp -m udp --dport 53 -j ACCEPT;=;OK
-s 198.51.100.0/24 -j DROP;=;OK
:ufw-user-input
# a chain jumping to itself is a loop iptables refuses
-j ufw-user-input;;FAIL
