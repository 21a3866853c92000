/*
 * tests/unit/fw/test_parse.c: the rule language (src/fw): each match and
 * target parsed and printed back as iptables-save would, negations and
 * ranges, errors that name their line and columns, several errors in one
 * run, one bad line among 10,000, the one-line customer form, the
 * restore commands, and parse(print(x)) == x.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fw/fw.h"
#include "fw/fw_priv.h"

static const char *const test_sets[] = { "blocked", "office" };

struct rule_case {
	const char *what;
	uint8_t family;		/* 0: IPv4 */
	const char *table;	/* NULL: filter */
	const char *chain;	/* NULL: INPUT */
	const char *rule;
	const char *want;	/* printed form; NULL: must fail */
	const char *err;	/* a part of the first error, or NULL */
};

static const struct rule_case rule_cases[] = {
	/* standard matches */
	{ "host gets /32", 0, NULL, NULL, "-s 10.0.0.1 -j ACCEPT",
	  "-s 10.0.0.1/32 -j ACCEPT", NULL },
	{ "prefix is masked", 0, NULL, NULL, "-d 10.11.12.13/8",
	  "-d 10.0.0.0/8", NULL },
	{ "dotted mask", 0, NULL, NULL, "-s 10.1.2.3/255.255.0.0",
	  "-s 10.1.0.0/16", NULL },
	{ "address list and !", 0, NULL, NULL, "! -s 10.0.0.0/8,192.168.0.1",
	  "! -s 10.0.0.0/8,192.168.0.1/32", NULL },
	{ "set reference", 0, NULL, NULL, "-s ${office} -j ACCEPT",
	  "-s ${office} -j ACCEPT", NULL },
	{ "unknown set reference", 0, NULL, NULL, "-s ${nope} -j ACCEPT", NULL,
	  "rules:2:13-19: error: no set named \"nope\"" },
	{ "host name refused", 0, NULL, NULL, "-s example.com", NULL,
	  "host names are not resolved" },
	{ "prefix too long", 0, NULL, NULL, "-s 10.0.0.0/33", NULL,
	  "bad mask \"/33\"" },
	{ "interface wildcard", 0, NULL, "FORWARD", "-i eth+ ! -o tun0",
	  "-i eth+ ! -o tun0", NULL },
	{ "-i + is any", 0, NULL, "FORWARD", "-i + -j DROP", "-j DROP", NULL },
	{ "interface too long", 0, NULL, "FORWARD", "-i abcdefghijklmnop", NULL,
	  "1 to 15 characters" },
	{ "-o in INPUT", 0, NULL, "INPUT", "-o eth0", NULL,
	  "-o cannot be used in chain INPUT" },
	{ "-i in OUTPUT_CUST", 0, NULL, "OUTPUT_CUST", "-i eth0", NULL,
	  "-i cannot be used in chain OUTPUT_CUST" },
	{ "protocol by number", 0, NULL, NULL, "-p 6 -j ACCEPT",
	  "-p tcp -j ACCEPT", NULL },
	{ "negated protocol", 0, NULL, NULL, "! -p udp", "! -p udp", NULL },
	{ "unknown protocol", 0, NULL, NULL, "-p tpc", NULL,
	  "unknown protocol \"tpc\" (did you mean \"tcp\"?)" },
	{ "fragment", 0, NULL, NULL, "! -f -j DROP", "! -f -j DROP", NULL },
	{ "long options and =", 0, NULL, "FORWARD",
	  "--protocol=tcp --source=1.2.3.4 --jump=ACCEPT",
	  "-s 1.2.3.4/32 -p tcp -j ACCEPT", NULL },
	{ "attached short options", 0, NULL, "FORWARD", "-ptcp -s1.2.3.4 -jACCEPT",
	  "-s 1.2.3.4/32 -p tcp -j ACCEPT", NULL },
	/* tcp / udp */
	{ "implied -m tcp", 0, NULL, NULL, "-p tcp --dport 22 -j ACCEPT",
	  "-p tcp -m tcp --dport 22 -j ACCEPT", NULL },
	{ "service name", 0, NULL, NULL, "-p tcp --dport ssh",
	  "-p tcp -m tcp --dport 22", NULL },
	{ "port range open end", 0, NULL, NULL, "-p udp --sport 1024:",
	  "-p udp -m udp --sport 1024:65535", NULL },
	{ "negated range", 0, NULL, NULL, "-p tcp ! --dport 1:1023",
	  "-p tcp -m tcp ! --dport 1:1023", NULL },
	{ "range backwards", 0, NULL, NULL, "-p tcp --dport 4:3", NULL,
	  "rules:2:25-27: error: port range \"4:3\" runs backwards" },
	{ "port too big", 0, NULL, NULL, "-p tcp --dport 65536", NULL,
	  "bad port \"65536\"" },
	{ "--syn", 0, NULL, NULL, "-p tcp --syn",
	  "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN", NULL },
	{ "tcp flags", 0, NULL, NULL, "-p tcp ! --tcp-flags ALL SYN,ACK",
	  "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,PSH,ACK,URG SYN,ACK", NULL },
	{ "-m tcp without -p tcp", 0, NULL, NULL, "-m tcp --dport 1", NULL,
	  "rules:2:13-15: error: -m tcp needs \"-p tcp\"" },
	{ "--dport without -p", 0, NULL, NULL, "--dport 22", NULL,
	  "unknown option \"--dport\" (it belongs to -m tcp or -m udp" },
	{ "abbreviated option", 0, NULL, NULL, "-p tcp --dp 22",
	  "-p tcp -m tcp --dport 22", NULL },
	/* icmp */
	{ "icmp name", 0, NULL, NULL, "-p icmp --icmp-type echo-request",
	  "-p icmp -m icmp --icmp-type 8", NULL },
	{ "icmp type/code", 0, NULL, NULL, "-p icmp -m icmp ! --icmp-type 3/4",
	  "-p icmp -m icmp ! --icmp-type 3/4", NULL },
	{ "icmp any", 0, NULL, NULL, "-p icmp -m icmp --icmp-type any",
	  "-p icmp -m icmp --icmp-type any", NULL },
	{ "icmp6 name", FW_IPV6, NULL, NULL,
	  "-p ipv6-icmp --icmpv6-type neighbour-solicitation",
	  "-p ipv6-icmp -m icmp6 --icmpv6-type 135", NULL },
	{ "icmp in IPv6", FW_IPV6, NULL, NULL, "-p icmp -m icmp --icmp-type 8",
	  NULL, "-m icmp is IPv4 only" },
	/* modules */
	{ "multiport", 0, NULL, NULL, "-p tcp -m multiport --dports 22,80,8000:8080",
	  "-p tcp -m multiport --dports 22,80,8000:8080", NULL },
	{ "multiport too many", 0, NULL, NULL,
	  "-p tcp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16", NULL,
	  "more than 15 ports" },
	{ "conntrack", 0, NULL, NULL,
	  "-m conntrack ! --ctstate ESTABLISHED,NEW --ctorigsrc 10.0.0.0/8 --ctproto udp",
	  "-m conntrack ! --ctstate NEW,ESTABLISHED --ctproto 17 --ctorigsrc 10.0.0.0/8",
	  NULL },
	{ "conntrack typo", 0, NULL, "FORWARD_CUST", "-m conntrak --ctstate NEW -j ACCEPT",
	  NULL, "rules:2:20-27: error: unknown match \"conntrak\" (did you mean \"conntrack\"?)" },
	{ "state", 0, NULL, NULL, "-m state --state related,established",
	  "-m state --state RELATED,ESTABLISHED", NULL },
	{ "state SNAT refused", 0, NULL, NULL, "-m state --state SNAT", NULL,
	  "bad state \"SNAT\"" },
	{ "iprange", 0, NULL, NULL,
	  "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.0-10.1.0.3",
	  "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.0-10.1.0.3",
	  NULL },
	{ "iprange backwards", 0, NULL, NULL, "-m iprange --src-range 10.0.0.9-10.0.0.1",
	  NULL, "runs backwards" },
	{ "comment quoted", 0, NULL, NULL, "-m comment --comment \"two words\"",
	  "-m comment --comment \"two words\"", NULL },
	{ "limit", 0, NULL, NULL, "-m limit --limit 5/minute --limit-burst 10",
	  "-m limit --limit 5/min --limit-burst 10", NULL },
	{ "limit default", 0, NULL, NULL, "-m limit", "-m limit --limit 3/hour", NULL },
	{ "mac", 0, NULL, NULL, "-m mac ! --mac-source 0a:1b:2c:3d:4e:5f",
	  "-m mac ! --mac-source 0A:1B:2C:3D:4E:5F", NULL },
	{ "mac in OUTPUT", 0, NULL, "OUTPUT", "-m mac --mac-source 0a:1b:2c:3d:4e:5f",
	  NULL, "-m mac works only in" },
	{ "length", 0, NULL, NULL, "-m length --length 0:1280 -j ACCEPT",
	  "-m length --length 0:1280 -j ACCEPT", NULL },
	{ "length one value, !", 0, NULL, NULL, "-m length ! --length 40",
	  "-m length ! --length 40", NULL },
	{ "length open ends", 0, NULL, NULL, "-m length --length 1400:",
	  "-m length --length 1400:65535", NULL },
	{ "length open start", 0, NULL, NULL, "-m length --length :64",
	  "-m length --length 0:64", NULL },
	{ "length v6", FW_IPV6, NULL, NULL, "-m length --length 1281:65535 -j DROP",
	  "-m length --length 1281:65535 -j DROP", NULL },
	{ "length backwards is kept, as iptables keeps it", 0, NULL, NULL,
	  "-m length --length 100:10", "-m length --length 100:10", NULL },
	{ "length too big", 0, NULL, NULL, "-m length --length 65536", NULL,
	  "bad --length \"65536\" (bytes N or N:M, 0..65535)" },
	{ "length needs --length", 0, NULL, NULL, "-m length -j DROP", NULL,
	  "-m length needs --length" },
	{ "ttl eq", 0, NULL, NULL, "-m ttl --ttl-eq 64 -j ACCEPT",
	  "-m ttl --ttl-eq 64 -j ACCEPT", NULL },
	{ "ttl ! eq", 0, NULL, NULL, "-m ttl ! --ttl-eq 1", "-m ttl ! --ttl-eq 1", NULL },
	{ "ttl lt", 0, NULL, NULL, "-m ttl --ttl-lt 5", "-m ttl --ttl-lt 5", NULL },
	{ "ttl gt", 0, NULL, NULL, "-m ttl --ttl-gt 254", "-m ttl --ttl-gt 254", NULL },
	{ "ttl ! lt refused", 0, NULL, NULL, "-m ttl ! --ttl-lt 5", NULL,
	  "--ttl-lt cannot be negated (only --ttl-eq can)" },
	{ "ttl two tests", 0, NULL, NULL, "-m ttl --ttl-gt 5 --ttl-lt 9", NULL,
	  "-m ttl takes one of --ttl-eq, --ttl-lt and --ttl-gt" },
	{ "ttl 256", 0, NULL, NULL, "-m ttl --ttl-eq 256", NULL,
	  "bad --ttl-eq \"256\" (0..255)" },
	{ "ttl needs a test", 0, NULL, NULL, "-m ttl -j DROP", NULL,
	  "-m ttl needs --ttl-eq, --ttl-lt or --ttl-gt" },
	{ "ttl in ip6tables", FW_IPV6, NULL, NULL, "-m ttl --ttl-eq 1", NULL,
	  "-m ttl is IPv4 only; use -m hl" },
	{ "hl", FW_IPV6, NULL, NULL, "-p icmpv6 -m hl --hl-eq 255 -j ACCEPT",
	  "-p ipv6-icmp -m hl --hl-eq 255 -j ACCEPT", NULL },
	{ "hl ! eq", FW_IPV6, NULL, NULL, "-m hl ! --hl-eq 255", "-m hl ! --hl-eq 255", NULL },
	{ "hl lt", FW_IPV6, NULL, NULL, "-m hl --hl-lt 2", "-m hl --hl-lt 2", NULL },
	{ "hl in iptables", 0, NULL, NULL, "-m hl --hl-eq 1", NULL,
	  "-m hl is IPv6 only; use -m ttl" },
	{ "pkttype", 0, NULL, NULL, "-m pkttype --pkt-type broadcast -j DROP",
	  "-m pkttype --pkt-type broadcast -j DROP", NULL },
	{ "pkttype alias, !", 0, NULL, NULL, "-m pkttype ! --pkt-type mcast",
	  "-m pkttype ! --pkt-type multicast", NULL },
	{ "pkttype host", FW_IPV6, NULL, NULL, "-m pkttype --pkt-type host",
	  "-m pkttype --pkt-type unicast", NULL },
	{ "pkttype otherhost", 0, NULL, NULL, "-m pkttype --pkt-type otherhost",
	  NULL, "--pkt-type otherhost never matches in hexgate" },
	{ "pkttype bad", 0, NULL, NULL, "-m pkttype --pkt-type anycast", NULL,
	  "bad --pkt-type \"anycast\" (unicast, broadcast or multicast)" },
	{ "pkttype needs --pkt-type", 0, NULL, NULL, "-m pkttype -j DROP", NULL,
	  "-m pkttype needs --pkt-type" },
	{ "tcpmss", 0, NULL, "FORWARD", "-p tcp -m tcpmss --mss 1400:1536 -j DROP",
	  "-p tcp -m tcpmss --mss 1400:1536 -j DROP", NULL },
	{ "tcpmss one value, !", 0, NULL, NULL, "-p tcp -m tcpmss ! --mss 536",
	  "-p tcp -m tcpmss ! --mss 536", NULL },
	{ "tcpmss open end", FW_IPV6, NULL, NULL, "-p tcp -m tcpmss --mss 1221:",
	  "-p tcp -m tcpmss --mss 1221:65535", NULL },
	{ "tcpmss needs -p tcp", 0, NULL, NULL, "-m tcpmss --mss 536", NULL,
	  "-m tcpmss needs \"-p tcp\"" },
	{ "tcpmss backwards", 0, NULL, NULL, "-p tcp -m tcpmss --mss 1500:1000",
	  NULL, "mss range \"1500:1000\" runs backwards" },
	{ "tcpmss too big", 0, NULL, NULL, "-p tcp -m tcpmss --mss 65536", NULL,
	  "bad --mss \"65536\" (bytes N or N:M, 0..65535)" },
	{ "set", 0, NULL, NULL, "-m set ! --match-set blocked src,dst -j DROP",
	  "-m set ! --match-set blocked src,dst -j DROP", NULL },
	{ "unsupported match", 0, NULL, NULL, "-m owner --uid-owner 0", NULL,
	  "unknown match \"owner\" (supported: comment, conntrack" },
	{ "module twice", 0, NULL, NULL, "-m state --state NEW -m state --state NEW",
	  NULL, "given twice" },
	{ "unknown option", 0, NULL, NULL, "-p tcp --dprt 22", NULL,
	  "unknown option \"--dprt\" (did you mean \"--dport\"?)" },
	{ "dangling !", 0, NULL, NULL, "-p tcp !", NULL, "\"!\" at the end" },
	/* targets */
	{ "REJECT default", 0, NULL, NULL, "-j REJECT",
	  "-j REJECT --reject-with icmp-port-unreachable", NULL },
	{ "REJECT alias", 0, NULL, NULL, "-j REJECT --reject-with host-prohib",
	  "-j REJECT --reject-with icmp-host-prohibited", NULL },
	{ "REJECT tcp-reset needs tcp", 0, NULL, NULL,
	  "-j REJECT --reject-with tcp-reset", NULL, "needs -p tcp" },
	{ "REJECT IPv6", FW_IPV6, NULL, NULL, "-j REJECT --reject-with adm-prohibited",
	  "-j REJECT --reject-with icmp6-adm-prohibited", NULL },
	{ "LOG", 0, NULL, NULL, "-j LOG --log-prefix \"fw: \" --log-level alert --log-uid",
	  "-j LOG --log-prefix \"fw: \" --log-level 1 --log-uid", NULL },
	{ "LOG prefix too long", 0, NULL, NULL,
	  "-j LOG --log-prefix 123456789012345678901234567890", NULL,
	  "the limit is 29" },
	{ "RETURN", 0, NULL, NULL, "-j RETURN", "-j RETURN", NULL },
	{ "jump to customer chain", 0, NULL, NULL, "-j INPUT_CUST", "-j INPUT_CUST", NULL },
	{ "goto", 0, NULL, NULL, "-g INPUT_CUST", "-g INPUT_CUST", NULL },
	{ "jump to nowhere", 0, NULL, NULL, "-j NOWHERE", NULL,
	  "rules:2:13-19: error: unknown target or chain \"NOWHERE\" in table filter" },
	{ "jump to a built-in", 0, NULL, NULL, "-j FORWARD", NULL,
	  "cannot jump to built-in chain" },
	{ "SNAT", 0, "nat", "POSTROUTING_CUST",
	  "-p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:1024-2048 --random",
	  "-p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:1024-2048 --random", NULL },
	{ "DNAT --to abbreviation", 0, "nat", "PREROUTING_CUST",
	  "-p tcp --dport 3389 -j DNAT --to 10.0.0.5:3389",
	  "-p tcp -m tcp --dport 3389 -j DNAT --to-destination 10.0.0.5:3389", NULL },
	{ "DNAT in POSTROUTING", 0, "nat", "POSTROUTING", "-j DNAT --to-destination 1.1.1.1",
	  NULL, "-j DNAT cannot be used in chain POSTROUTING" },
	{ "DNAT in filter", 0, NULL, NULL, "-j DNAT --to-destination 1.1.1.1",
	  NULL, "works only in table nat" },
	{ "MASQUERADE", 0, "nat", "POSTROUTING", "-o eth0 -j MASQUERADE",
	  "-o eth0 -j MASQUERADE", NULL },
	{ "REDIRECT", 0, "nat", "PREROUTING", "-p tcp -j REDIRECT --to-ports ssh",
	  "-p tcp -j REDIRECT --to-ports 22", NULL },
	{ "NETMAP", 0, "nat", "PREROUTING_CUST", "-i eth0 -d 1.2.3.0/24 -j NETMAP --to 10.9.8.0/24",
	  "-d 1.2.3.0/24 -i eth0 -j NETMAP --to 10.9.8.0/24", NULL },
	{ "NETMAP without --to", 0, "nat", "PREROUTING", "-j NETMAP", NULL,
	  "needs --to" },
	{ "COPY", 0, NULL, "MACRO_CUST", "-j COPY --from tun0 --to 172.17.0.2 --bidirectional",
	  "-j COPY --from tun0 --to 172.17.0.2 --bidirectional", NULL },
	{ "COPY outside MACRO_CUST", 0, NULL, "FORWARD_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2", NULL, "only in MACRO_CUST" },
	{ "COPY --snaplen, printed after the other options", 0, NULL,
	  "MACRO_CUST", "-j COPY --snaplen 96 --from tun0 --to 172.17.0.2",
	  "-j COPY --from tun0 --to 172.17.0.2 --snaplen 96", NULL },
	{ "COPY --snaplen at both ends of its range", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2 --bidirectional --snaplen 14",
	  "-j COPY --from tun0 --to 172.17.0.2 --bidirectional --snaplen 14",
	  NULL },
	{ "COPY --snaplen 65535", FW_IPV6, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 2001:db8::9 --snaplen 65535",
	  "-j COPY --from tun0 --to 2001:db8::9 --snaplen 65535", NULL },
	{ "COPY --snaplen below an Ethernet header", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2 --snaplen 13", NULL,
	  "rules:2:61-62: error: bad --snaplen \"13\" (14..65535 bytes" },
	{ "COPY --snaplen over 65535", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2 --snaplen 65536", NULL,
	  "rules:2:61-65: error: bad --snaplen \"65536\"" },
	{ "COPY --snaplen not a number", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --snaplen 1k --to 172.17.0.2", NULL,
	  "rules:2:45-46: error: bad --snaplen \"1k\"" },
	{ "COPY --snaplen twice", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2 --snaplen 64 --snaplen 64",
	  NULL, "option \"--snaplen\" given twice" },
	{ "COPY --snaplen without a value", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to 172.17.0.2 --snaplen", NULL,
	  "needs a value" },
	{ "COPY --to tap:NAME", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to tap:hgmirror0 --snaplen 128",
	  "-j COPY --from tun0 --to tap:hgmirror0 --snaplen 128", NULL },
	{ "COPY --to pcap:/PATH", FW_IPV6, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to pcap:/var/tmp/tun0.pcap --bidirectional",
	  "-j COPY --from tun0 --to pcap:/var/tmp/tun0.pcap --bidirectional",
	  NULL },
	{ "COPY --to tap: without a name", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to tap:", NULL,
	  "rules:2:40-43: error: bad COPY --to \"tap:\" (tap:NAME" },
	{ "COPY --to tap: name too long", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to tap:abcdefghijklmnop", NULL,
	  "NAME 1 to 15 characters" },
	{ "COPY --to tap: name with a slash", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to tap:a/b", NULL, "bad COPY --to" },
	{ "COPY --to pcap: relative path", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to pcap:x.pcap", NULL,
	  "rules:2:40-50: error: bad COPY --to \"pcap:x.pcap\" (pcap:/PATH" },
	{ "COPY --to pcap: a directory", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to pcap:/tmp/", NULL, "an absolute file name" },
	{ "COPY --to pcap: quoted blank", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to \"pcap:/tmp/a b\"", NULL,
	  "no blanks or quotes" },
	{ "COPY --to a host name", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --to collector", NULL,
	  "\"collector\" is not an IPv4 address" },
	{ "COPY without --to", 0, NULL, "MACRO_CUST",
	  "-j COPY --from tun0 --snaplen 64", NULL,
	  "-j COPY needs --from IFACE and --to ADDR, tap:NAME or pcap:/PATH" },
	{ "two targets", 0, NULL, NULL, "-j ACCEPT -j DROP", NULL, "given twice" },
	{ "counters", 0, NULL, NULL, "-c 5 100 -j ACCEPT", "-j ACCEPT", NULL },
	{ "unterminated quote", 0, NULL, NULL, "-m comment --comment \"abc", NULL,
	  "rules:2:31-34: error: unterminated quote \"" },
};

static struct fw_errs errs;

static int
parse(const char *text, uint8_t family, enum fw_syntax syntax,
    struct fw_ruleset **rs)
{
	struct fw_parse_opts o = {
		.family = family ? family : FW_IPV4, .syntax = syntax,
		.sets = test_sets, .n_sets = HG_ARRAY_SIZE(test_sets),
	};

	return fw_parse(text, strlen(text), &o, rs, &errs);
}

static const char *
first_err(void)
{
	static char buf[1024];

	if (errs.n == 0)
		return "";
	fw_err_format(&errs.e[0], "rules", buf, sizeof(buf));
	return buf;
}

static void
test_rules(void **state)
{
	char text[1024], got[FW_RULE_TEXT_MAX];
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(rule_cases); i++) {
		const struct rule_case *c = &rule_cases[i];
		const char *table = c->table ? c->table : "filter";
		const char *chain = c->chain ? c->chain : "INPUT";
		struct fw_ruleset *rs;
		const struct fw_chain *ch;
		int rc;

		snprintf(text, sizeof(text), "*%s\n-A %s %s\nCOMMIT\n", table,
		    chain, c->rule);
		rc = parse(text, c->family, FW_SYNTAX_RESTORE, &rs);
		if (c->want == NULL) {
			if (rc != -22 || rs != NULL ||
			    (c->err && strstr(first_err(), c->err) == NULL)) {
				print_error("%s: want error \"%s\", got rc %d:\n%s\n",
				    c->what, c->err, rc, first_err());
				failures++;
			}
			continue;
		}
		if (rc != 0) {
			print_error("%s: unexpected error:\n%s\n", c->what,
			    first_err());
			failures++;
			continue;
		}
		ch = fw_ruleset_chain(rs, strcmp(table, "nat") ? FW_TABLE_FILTER :
		    FW_TABLE_NAT, chain);
		fw_rule_format(&ch->rules[0], got, sizeof(got));
		if (strcmp(got, c->want) != 0) {
			print_error("%s: printed \"%s\", want \"%s\"\n", c->what,
			    got, c->want);
			failures++;
		}
		fw_ruleset_free(rs);
	}
	assert_int_equal(failures, 0);
}

static void
test_caret_format(void **state)
{
	struct fw_ruleset *rs;

	(void)state;
	assert_int_equal(parse("FORWARD_CUST -m conntrak --ctstate NEW -j ACCEPT\n",
	    0, FW_SYNTAX_ONE_LINE, &rs), -22);
	assert_string_equal(first_err(),
	    "rules:1:17-24: error: unknown match \"conntrak\" (did you mean "
	    "\"conntrack\"?)\n"
	    "FORWARD_CUST -m conntrak --ctstate NEW -j ACCEPT\n"
	    "                ^~~~~~~~\n");
}

static void
test_one_line(void **state)
{
	static const char text[] =
	    "# VNS3 customer chains\n"
	    "FORWARD_CUST -s 10.0.1.0/24 -p tcp --dport 22 -j ACCEPT\n"
	    "\n"
	    "INPUT_CUST -p udp -s 203.0.113.9 --dport snmp -j ACCEPT\n"
	    "PREROUTING_CUST -i eth0 -p tcp --dport 3389 -j DNAT --to 10.0.0.5\n"
	    "POSTROUTING_CUST -o eth0 -s 10.0.0.0/24 -j MASQUERADE\n"
	    "MACRO_CUST -j COPY --from tun0 --to 198.51.100.7 --bidirectional\n";
	struct fw_ruleset *rs;
	const struct fw_chain *c;
	char got[FW_RULE_TEXT_MAX];

	(void)state;
	assert_int_equal(parse(text, 0, FW_SYNTAX_ONE_LINE, &rs), 0);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "FORWARD_CUST");
	assert_int_equal(c->n_rules, 1);
	assert_int_equal(c->rules[0].line, 2);
	fw_rule_format(&c->rules[0], got, sizeof(got));
	assert_string_equal(got, "-s 10.0.1.0/24 -p tcp -m tcp --dport 22 -j ACCEPT");
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT_CUST");
	assert_int_equal(c->rules[0].line, 4);
	fw_rule_format(&c->rules[0], got, sizeof(got));
	assert_string_equal(got, "-s 203.0.113.9/32 -p udp -m udp --dport 161 -j ACCEPT");
	c = fw_ruleset_chain(rs, FW_TABLE_NAT, "PREROUTING_CUST");
	assert_int_equal(c->n_rules, 1);
	assert_int_equal(c->rules[0].target.kind, FW_T_DNAT);
	c = fw_ruleset_chain(rs, FW_TABLE_NAT, "POSTROUTING_CUST");
	assert_int_equal(c->rules[0].target.kind, FW_T_MASQUERADE);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "MACRO_CUST");
	assert_int_equal(c->rules[0].target.kind, FW_T_COPY);
	assert_true(c->rules[0].target.copy_bidirectional);
	fw_ruleset_free(rs);

	/* "-A" is the restore form, not this one. */
	assert_int_equal(parse("-A FORWARD_CUST -j DROP\n", 0,
	    FW_SYNTAX_ONE_LINE, &rs), -22);
	assert_non_null(strstr(first_err(), "starts with the chain name"));
}

static void
test_multiple_errors(void **state)
{
	static const char text[] =
	    "*filter\n"
	    "-A INPUT -p tcp --dport 22 -j ACCEPT\n"
	    "-A INPUT -p tcp --dport 99999 -j ACCEPT\n"	/* 3 */
	    "-A INPUT -j ACCEPT\n"
	    "-A INPUTT -j ACCEPT\n"				/* 5 */
	    "-A INPUT -m frobnicate -j ACCEPT\n"		/* 6 */
	    "COMMIT\n";
	struct fw_ruleset *rs = (void *)1;

	(void)state;
	assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_null(rs);
	assert_int_equal(errs.n, 3);
	assert_int_equal(errs.e[0].line, 3);
	assert_int_equal(errs.e[0].col_first, 25);
	assert_int_equal(errs.e[0].col_last, 29);
	assert_int_equal(errs.e[1].line, 5);
	assert_non_null(strstr(errs.e[1].msg, "did you mean \"INPUT\""));
	assert_int_equal(errs.e[2].line, 6);
}

static void
test_error_cap(void **state)
{
	char *text = malloc(80 * 64);
	struct fw_ruleset *rs;
	size_t off = 0;

	(void)state;
	off += (size_t)sprintf(text + off, "*filter\n");
	for (int i = 0; i < 60; i++)
		off += (size_t)sprintf(text + off, "-A INPUT -p nope\n");
	sprintf(text + off, "COMMIT\n");
	assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_int_equal(errs.n, 60);		/* counted ... */
	assert_int_equal(errs.e[FW_ERR_MAX - 1].line, FW_ERR_MAX + 1); /* ... 50 kept */
	free(text);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
big_rule_set(int bad_line)
{
	char *text = malloc(10002 * 100);
	size_t off = 0;

	off += (size_t)sprintf(text + off, "*filter\n");
	for (int i = 0; i < 10000; i++) {
		if (i + 2 == bad_line)
			off += (size_t)sprintf(text + off,
			    "-A FORWARD_CUST -s 10.%d.%d.0/24 -p tcp --dport 7o -j ACCEPT\n",
			    i / 256, i % 256);
		else
			off += (size_t)sprintf(text + off,
			    "-A FORWARD_CUST -s 10.%d.%d.0/24 -p tcp --dport %d -j ACCEPT\n",
			    i / 256, i % 256, 1 + i % 60000);
	}
	sprintf(text + off, "COMMIT\n");
	return text;
}

static void
test_ten_thousand(void **state)
{
	struct fw_ruleset *rs;
	char *text;
	double t0, dt;

	(void)state;
	text = big_rule_set(-1);
	t0 = now_s();
	assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &rs), 0);
	dt = now_s() - t0;
	assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "FORWARD_CUST")->n_rules, 10000);
	print_message("10,000 rules parsed in %.3f s\n", dt);
	assert_true(dt < 0.5);
	fw_ruleset_free(rs);
	free(text);

	text = big_rule_set(7777);
	assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_null(rs);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, 7777);
	assert_non_null(strstr(errs.e[0].msg, "bad port \"7o\""));
	free(text);
}

static void
test_commands(void **state)
{
	static const char text[] =
	    "*filter\n"
	    ":INPUT DROP [3:4]\n"
	    ":MINE - [0:0]\n"
	    "-N OTHER\n"
	    "-A INPUT -p tcp -j ACCEPT\n"
	    "-A INPUT -p udp -j ACCEPT\n"
	    "-I INPUT -p icmp -j ACCEPT\n"
	    "-I INPUT 3 -p esp -j ACCEPT\n"
	    "-D INPUT -p udp -j ACCEPT\n"
	    "-D INPUT 1\n"
	    "-R INPUT 1 -p ah -j MINE\n"
	    "-A OTHER -j DROP\n"
	    "-F OTHER\n"
	    "-X OTHER\n"
	    "-P FORWARD DROP\n"
	    "COMMIT\n";
	struct fw_ruleset *rs;
	const struct fw_chain *c;
	char got[FW_RULE_TEXT_MAX];

	(void)state;
	assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &rs), 0);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT");
	assert_int_equal(c->policy, FW_POLICY_DROP);
	assert_int_equal(c->pkts, 3);
	assert_int_equal(c->n_rules, 2);
	fw_rule_format(&c->rules[0], got, sizeof(got));
	assert_string_equal(got, "-p ah -j MINE");
	fw_rule_format(&c->rules[1], got, sizeof(got));
	assert_string_equal(got, "-p esp -j ACCEPT");
	assert_null(fw_ruleset_chain(rs, FW_TABLE_FILTER, "OTHER"));
	assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER, "FORWARD")->policy,
	    FW_POLICY_DROP);
	fw_ruleset_free(rs);

	/* Errors only the line level can see. */
	assert_int_equal(parse("*filter\n-A INPUT -j ACCEPT\n", 0,
	    FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "has no COMMIT"));
	assert_int_equal(parse("*mangle\nCOMMIT\n", 0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "not supported (filter, nat)"));
	assert_int_equal(parse("*filter\n-N A\n-N B\n-A A -j B\n-A B -j A\nCOMMIT\n",
	    0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "jump loop"));
	assert_int_equal(parse("*filter\n-N A\n-A INPUT -j A\n-X A\nCOMMIT\n",
	    0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "still jumped to"));
	assert_int_equal(parse("*filter\n-P INPUT_CUST DROP\nCOMMIT\n",
	    0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "only built-in chains have a policy"));
	assert_int_equal(parse("*filter\n-D INPUT -j ACCEPT\nCOMMIT\n",
	    0, FW_SYNTAX_RESTORE, &rs), -22);
	assert_non_null(strstr(first_err(), "no such rule"));
}

static void
test_round_trip(void **state)
{
	static const char *const texts[2] = {
	    "*filter\n"
	    ":INPUT DROP [0:0]\n"
	    ":LOGDROP - [0:0]\n"
	    "-A INPUT -i lo -j ACCEPT\n"
	    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	    "-A INPUT -p tcp -m multiport --dports 22,443,8000:8080 -j ACCEPT\n"
	    "-A INPUT -p icmp --icmp-type echo-request -m limit --limit 10/minute -j ACCEPT\n"
	    "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.50 -m mac --mac-source aa:bb:cc:dd:ee:ff -j LOGDROP\n"
	    "-A INPUT -s 10.1.0.0/16,192.168.1.7 ! -d 10.2.0.0/255.255.0.255 -p tcp --syn "
	    "-m comment --comment \"it's \\\"quoted\\\"\" -j REJECT --reject-with tcp-reset\n"
	    "-A INPUT -m set --match-set office src -m state ! --state INVALID -j ACCEPT\n"
	    "-A INPUT -m conntrack --ctexpire 5:10 --ctdir REPLY --ctstatus ASSURED,CONFIRMED -j RETURN\n"
	    "-A LOGDROP -j LOG --log-prefix \"drop: \" --log-level info --log-tcp-options\n"
	    "-A LOGDROP -j DROP\n"
	    "-A FORWARD_CUST -f -j DROP\n"
	    "-A FORWARD_CUST -p tcp --tcp-flags ALL NONE -g LOGDROP\n"
	    "-A MACRO_CUST -j COPY --from tun0 --to 172.17.0.2\n"
	    "-A MACRO_CUST -p udp -j COPY --from tun0 --to tap:hgm0 --snaplen 64\n"
	    "-A MACRO_CUST -j COPY --from tun0 --to pcap:/tmp/t.pcap --bidirectional\n"
	    "COMMIT\n"
	    "*nat\n"
	    "-A PREROUTING_CUST -p tcp --dport 80 -j REDIRECT --to-ports 8080-8090 --random\n"
	    "-A PREROUTING_CUST -p tcp -j DNAT --to-destination 1.1.1.1-1.1.1.9:1000-2000/3000\n"
	    "-A POSTROUTING_CUST -o eth0 -j SNAT --to-source 1.2.3.4 --persistent --random-fully\n"
	    "-A POSTROUTING_CUST -j NETMAP --to 10.0.0.0/8\n"
	    "COMMIT\n",
	    "*filter\n"
	    "-A INPUT -s 2001:db8::/32 -p ipv6-icmp --icmpv6-type 1/3 -j ACCEPT\n"
	    "-A INPUT -p tcp -j REJECT --reject-with icmp6-addr-unreachable\n"
	    "COMMIT\n"
	    "*nat\n"
	    "-A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::5]-[2001:db8::9]:80-90\n"
	    "-A POSTROUTING -j NETMAP --to 2001:db8::/48\n"
	    "COMMIT\n",
	};

	(void)state;
	for (int i = 0; i < 2; i++) {
		uint8_t fam = i ? FW_IPV6 : FW_IPV4;
		struct fw_ruleset *a, *b;
		char *pa, *pb;

		assert_int_equal(parse(texts[i], fam, FW_SYNTAX_RESTORE, &a), 0);
		pa = fw_ruleset_print(a, FW_PRINT_COUNTERS);
		assert_non_null(pa);
		if (parse(pa, fam, FW_SYNTAX_RESTORE, &b) != 0)
			fail_msg("printed form does not parse:\n%s\n%s", pa,
			    first_err());
		pb = fw_ruleset_print(b, FW_PRINT_COUNTERS);
		assert_true(fw_ruleset_equal(a, b));
		assert_string_equal(pa, pb);
		free(pa);
		free(pb);
		fw_ruleset_free(a);
		fw_ruleset_free(b);
	}
}

/* fw_rule_equal() tells COPY rules apart by every option, so a reload
 * that changes only --snaplen or the destination replaces the rule. */
struct copy_eq_case {
	const char *what;
	const char *a, *b;
	bool equal;
};

static const struct copy_eq_case copy_eq_cases[] = {
	{ "same text", "--to 10.9.0.2 --snaplen 64",
	  "--snaplen 64 --to 10.9.0.2", true },
	{ "snap length differs", "--to 10.9.0.2 --snaplen 64",
	  "--to 10.9.0.2 --snaplen 65", false },
	{ "snap length or none", "--to 10.9.0.2", "--to 10.9.0.2 --snaplen "
	  "65535", false },
	{ "tap names differ", "--to tap:m0", "--to tap:m1", false },
	{ "tap or pcap of the same name", "--to tap:m0", "--to pcap:/m0",
	  false },
	{ "same pcap", "--to pcap:/tmp/a.pcap", "--to pcap:/tmp/a.pcap", true },
};

static void
test_copy_equal(void **state)
{
	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(copy_eq_cases); i++) {
		const struct copy_eq_case *c = &copy_eq_cases[i];
		const struct fw_chain *ca, *cb;
		struct fw_ruleset *a, *b;
		char text[512];

		print_message("case: %s\n", c->what);
		snprintf(text, sizeof(text), "*filter\n-A MACRO_CUST -j COPY "
		    "--from lan %s\nCOMMIT\n", c->a);
		assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &a), 0);
		snprintf(text, sizeof(text), "*filter\n-A MACRO_CUST -j COPY "
		    "--from lan %s\nCOMMIT\n", c->b);
		assert_int_equal(parse(text, 0, FW_SYNTAX_RESTORE, &b), 0);
		ca = fw_ruleset_chain(a, FW_TABLE_FILTER, "MACRO_CUST");
		cb = fw_ruleset_chain(b, FW_TABLE_FILTER, "MACRO_CUST");
		assert_int_equal(fw_rule_equal(&ca->rules[0], &cb->rules[0]),
		    c->equal);
		fw_ruleset_free(a);
		fw_ruleset_free(b);
	}
}

static void
test_keyword_tables_sorted(void **state)
{
	(void)state;
	assert_true(fw_kw_tables_sorted());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyword_tables_sorted),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_caret_format),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_ten_thousand),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_copy_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
