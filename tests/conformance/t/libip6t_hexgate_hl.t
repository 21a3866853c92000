# hexgate's own ip6tables lines for -m hl (the libip6t_ prefix makes the
# runner parse them as IPv6), checked like hexgate_matches.t with
# ip6tables 1.8.9 (legacy), which has no -m ttl.
:INPUT,FORWARD,OUTPUT
-p icmpv6 -m hl --hl-eq 255 -j ACCEPT;-p ipv6-icmp -m hl --hl-eq 255 -j ACCEPT;OK
-m hl ! --hl-eq 255;=;OK
-m ttl --ttl-eq 1;;FAIL
