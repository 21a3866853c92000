#!/usr/bin/python3
"""
tests/golden/fw_icmp6/gen.py: -m icmp6 --icmpv6-type for forwarded
ICMPv6: a type alone, TYPE/CODE, negated.  Errors quote a packet far away
sent to h0 (no flow: INVALID to conntrack, accepted by the customer rule
first).  ICMPv4 rules do not apply to IPv6 and v.v.: the IPv4 file here
accepts all ICMP, and IPv6 still obeys its own file.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden import *  # noqa: E402,F401,F403
from scapy.layers.inet import IP, ICMP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6DestUnreach,  # noqa: E402
    ICMPv6PacketTooBig, ICMPv6TimeExceeded, IPerror6, UDPerror)  # noqa: E402

RULES4 = [
	"-A FORWARD_CUST -p icmp -j ACCEPT",
]
RULES6 = [
	"-A FORWARD_CUST -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
	"-A FORWARD_CUST -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT",
	"-A FORWARD_CUST -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j ACCEPT",
	"-A FORWARD_CUST -d 2001:db8:99::20/128 -p ipv6-icmp -m icmp6 ! --icmpv6-type 129 -j ACCEPT",
]


def quoted():
	return (IPerror6(src="2001:db8:99::10", dst=H0_IP6, hlim=60) /
	    UDPerror(sport=53, dport=33000, len=16, chksum=0x1234) /
	    payload(8))


def main():
	c = Fw(sys.argv[1], ["if0", "if1"])
	fw_rules(c.outdir, "rules.v4", RULES4)
	fw_rules(c.outdir, "rules.v6", RULES6)

	c.pass_(0.00, v6() / ICMPv6EchoRequest(id=1, seq=1, data=payload(16)))
	c.block(0.01, v6() / ICMPv6EchoReply(id=2, seq=1, data=payload(16)))
	c.pass_(0.02, v6() / ICMPv6DestUnreach(code=4) / quoted())
	c.block(0.03, v6() / ICMPv6DestUnreach(code=3) / quoted())
	c.pass_(0.04, v6() / ICMPv6PacketTooBig(mtu=1400) / quoted())
	c.block(0.05, v6() / ICMPv6TimeExceeded(code=0) / quoted())
	c.pass_(0.06, v6(dst="2001:db8:99::20") / ICMPv6TimeExceeded(code=0) /
	    quoted())
	c.block(0.07, v6(dst="2001:db8:99::20") / ICMPv6EchoReply(id=3, seq=1,
	    data=payload(16)))
	# IPv4 ICMP: the IPv4 file accepts it.
	c.pass_(0.08, v4(id=1) / ICMP(type=13, id=1, seq=1) / payload(12))

	c.save()


if __name__ == "__main__":
	main()
