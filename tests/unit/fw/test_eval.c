/*
 * tests/unit/fw/test_eval.c: the compiler and the linear evaluator
 * (src/fw/compile.c, eval.c). Rule files go through the real parser,
 * packets are real frames parsed by pkt_parse(), and each case names
 * the verdict it wants the way a user reads it: "ACCEPT INPUT_CUST#0"
 * (the rule at position 0 of INPUT_CUST decided), "DROP policy",
 * "ACCEPT established". Then counters, -m limit over time, the errors
 * fw_compile() reports, and fw_eval() against a small independent
 * reference walker over thousands of random rule sets and packets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fw/fw.h"
#include "fw/fw_priv.h"
#include "fw/set.h"
#include "lib/hg_time.h"
#include "lib/log.h"
#include "pkt/pkt.h"

#include "../pkt/pkt_test.h"

#define CT_NULL		0xff	/* no conntrack facts: fp.ct is NULL */
#define IF_NONE		""	/* no interface */

static struct pkt_pool *pool;
static struct fw_sets *sets;

static const char if_names[][FW_IFNAME_MAX] = {
	"eth0", "eth1", "tun0", "wg0",
};

/* --- packets ---------------------------------------------------------------- */

struct pspec {
	bool v6;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;		/* TCP flags, or ICMP type */
	uint8_t code;		/* ICMP code */
	uint16_t frag;		/* IPv4 flags and offset (IP4_MF | 8-byte units) */
	const char *mac;	/* source MAC; NULL: 02:00:00:00:00:99 */
	uint8_t ttl;		/* TTL or hop limit; 0: 64 */
	const char *dmac;	/* destination MAC; NULL: 02:00:00:00:00:01 */
	uint16_t mss;		/* TCP: an MSS option after a NOP; 0: none */
};

#define TCP4(s, d, sp, dp, fl) \
	{ .src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp, .flags = fl }
#define UDP4(s, d, sp, dp) \
	{ .src = s, .dst = d, .proto = 17, .sport = sp, .dport = dp }
#define ICMP4(s, d, ty, co) \
	{ .src = s, .dst = d, .proto = 1, .flags = ty, .code = co }
#define TCP6(s, d, sp, dp, fl) \
	{ .v6 = true, .src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp, \
	  .flags = fl }
#define ICMP6(s, d, ty, co) \
	{ .v6 = true, .src = s, .dst = d, .proto = 58, .flags = ty, .code = co }

#define A	"10.1.1.1"
#define B	"10.2.2.2"
#define SYN	TCP_SYN
#define ACK	TCP_ACK

static void
put16(uint8_t *b, uint16_t v)
{
	v = htons(v);
	memcpy(b, &v, 2);
}

static uint16_t
put_l4(uint8_t *b, const struct pspec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP_:
		memset(b, 0, 20);
		put16(b, s->sport);
		put16(b + 2, s->dport);
		b[7] = 1;		/* seq */
		b[12] = 0x50;		/* 5 words */
		b[13] = s->flags;
		put16(b + 14, 8192);
		if (s->mss == 0)
			return 20;
		/* NOP, then MSS: the option walk must step over the NOP;
		 * two more NOPs pad to 28 bytes (7 words). */
		b[12] = 0x70;
		b[20] = 1;
		b[21] = 2;
		b[22] = 4;
		put16(b + 23, s->mss);
		b[25] = 1;
		b[26] = 1;
		b[27] = 1;
		return 28;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		memset(b, 0, 8);
		b[0] = s->flags;
		b[1] = s->code;
		return 8;
	default:
		/* UDP and the rest: ports first, as UDP, SCTP, DCCP do. */
		memset(b, 0, 8);
		put16(b, s->sport);
		put16(b + 2, s->dport);
		put16(b + 4, 8);
		return 8;
	}
}

static struct pkt *
make_pkt(const struct pspec *s)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *b, l4[64];
	uint16_t l4_len, off = ETH_HDR_LEN;
	uint8_t mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 0x99 };
	uint8_t dmac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };

	assert_non_null(p);
	b = p->data;
	if (s->mac != NULL)
		assert_int_equal(pkt_mac_parse(s->mac, mac), 0);
	if (s->dmac != NULL)
		assert_int_equal(pkt_mac_parse(s->dmac, dmac), 0);
	memcpy(b, dmac, 6);
	memcpy(b + 6, mac, 6);
	put16(b + 12, s->v6 ? ETH_P_IPV6 : ETH_P_IP);
	/* A later IPv4 fragment carries payload bytes, not a header. */
	if (!s->v6 && (s->frag & IP4_OFFMASK)) {
		memset(l4, 0xab, 8);
		l4_len = 8;
	} else {
		l4_len = put_l4(l4, s);
	}
	if (s->v6) {
		struct ip6_hdr *ip = (void *)(b + off);

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow_be = htonl(6u << 28);
		ip->plen_be = htons(l4_len);
		ip->nxt = s->proto;
		ip->hlim = s->ttl ? s->ttl : 64;
		assert_int_equal(inet_pton(AF_INET6, s->src, ip->src), 1);
		assert_int_equal(inet_pton(AF_INET6, s->dst, ip->dst), 1);
		off += IP6_HDR_LEN;
	} else {
		struct ip4_hdr *ip = (void *)(b + off);

		memset(ip, 0, sizeof(*ip));
		ip->ver_ihl = 0x45;
		ip->tot_len_be = htons(IP4_HDR_LEN + l4_len);
		ip->id_be = htons(7);
		ip->frag_be = htons(s->frag);
		ip->ttl = s->ttl ? s->ttl : 64;
		ip->proto = s->proto;
		assert_int_equal(inet_pton(AF_INET, s->src, &ip->src_be), 1);
		assert_int_equal(inet_pton(AF_INET, s->dst, &ip->dst_be), 1);
		pkt_ip4_set_csum(ip);
		off += IP4_HDR_LEN;
	}
	memcpy(b + off, l4, l4_len);
	p->len = off + l4_len;
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	return p;
}

static void
addr16(bool v6, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, s, out), 1);
}

/* Conntrack facts as src/ct would give them for this packet. */
static void
make_ct(struct fw_ct_info *ct, const struct pspec *s, uint8_t state,
    bool reply, const char *repl_src)
{
	uint8_t src[16], dst[16];

	memset(ct, 0, sizeof(*ct));
	addr16(s->v6, s->src, src);
	addr16(s->v6, s->dst, dst);
	ct->state = state ? state : FW_CT_NEW;
	ct->proto = s->proto;
	ct->reply = reply;
	memcpy(ct->orig_src, reply ? dst : src, 16);
	memcpy(ct->orig_dst, reply ? src : dst, 16);
	ct->orig_sport = reply ? s->dport : s->sport;
	ct->orig_dport = reply ? s->sport : s->dport;
	memcpy(ct->repl_src, ct->orig_dst, 16);
	memcpy(ct->repl_dst, ct->orig_src, 16);
	ct->repl_sport = ct->orig_dport;
	ct->repl_dport = ct->orig_sport;
	if (repl_src != NULL)
		addr16(s->v6, repl_src, ct->repl_src);
	ct->status = FW_CTS_CONFIRMED | (reply ? FW_CTS_SEEN_REPLY : 0);
	ct->expire_s = 120;
}

static uint16_t
if_index(const char *name)
{
	if (name[0] == '\0')
		return FW_IF_NONE;
	for (uint16_t i = 0; i < HG_ARRAY_SIZE(if_names); i++)
		if (strcmp(if_names[i], name) == 0)
			return i;
	fail_msg("no interface %s in the test", name);
	return FW_IF_NONE;
}

/* --- rule sets ---------------------------------------------------------------- */

/* 10.99/16 is known through any interface, 10.98/16 only through tun0
 * (a tunnel's remote subnet). */
static struct fw_addr known4[2], known6, peer4;
static const uint16_t known4_if[2] = { FW_IF_NONE, 2 /* tun0 */ };

static void
env_init(struct fw_compile_env *env, bool v6)
{
	memset(env, 0, sizeof(*env));
	env->n_if = HG_ARRAY_SIZE(if_names);
	env->if_names = if_names;
	env->sets = sets;
	env->n_known = v6 ? 1 : 2;
	env->known = v6 ? &known6 : known4;
	env->known_if = v6 ? NULL : known4_if;
	env->n_peers = v6 ? 0 : 1;
	env->peers = &peer4;
	env->n_workers = 2;
}

static struct fw_ruleset *
parse_rules(const char *text, bool v6)
{
	const char *names[16];
	struct fw_parse_opts o = {
		.family = v6 ? FW_IPV6 : FW_IPV4,
		.sets = names,
		.n_sets = fw_sets_names(sets, names, HG_ARRAY_SIZE(names)),
	};
	static struct fw_errs errs;
	struct fw_ruleset *rs = NULL;
	char buf[512];

	if (fw_parse(text, strlen(text), &o, &rs, &errs) != 0) {
		(void)fw_err_format(&errs.e[0], "rules", buf, sizeof(buf));
		fail_msg("rules do not parse:\n%s%s", text, buf);
	}
	return rs;
}

/* "*filter\n" body "COMMIT\n", compiled. */
static struct fw_prog *
compile_filter(const char *body, bool v6)
{
	static struct fw_errs errs;
	struct fw_compile_env env;
	struct fw_ruleset *rs;
	struct fw_prog *prog = NULL;
	char text[4096];
	int error;

	snprintf(text, sizeof(text), "*filter\n%sCOMMIT\n", body);
	rs = parse_rules(text, v6);
	env_init(&env, v6);
	error = fw_compile(rs, &env, &prog, &errs);
	if (error != 0)
		fail_msg("compile: %d %s", error, errs.n ? errs.e[0].msg : "");
	fw_ruleset_free(rs);
	return prog;
}

/* The verdict as the case tables write it. */
static void
verdict_str(const struct fw_prog *prog, const struct fw_verdict *v, char *buf,
    size_t size)
{
	static const char *const kinds[] = { "ACCEPT", "DROP", "REJECT" };
	static const char *const whys[] = {
		"rule", "established", "invalid", "untracked", "dnat",
		"ipsec_peer", "known", "policy", "overlay",
	};
	enum fw_table_id t;
	const char *chain;
	uint32_t pos;
	size_t n;

	n = (size_t)snprintf(buf, size, "%s", v->kind < 3 ? kinds[v->kind] : "?");
	if (v->kind == FW_VERDICT_REJECT)
		n += (size_t)snprintf(buf + n, size - n, "/%s",
		    fw_reject_name(v->reject_with));
	if (v->why != FW_WHY_RULE) {
		snprintf(buf + n, size - n, " %s",
		    v->why < FW_WHY_COUNT ? whys[v->why] : "?");
		return;
	}
	fw_prog_rule_at(prog, v->rule, &t, &chain, &pos);
	snprintf(buf + n, size - n, " %s%s#%u", t == FW_TABLE_NAT ? "nat:" : "",
	    chain ? chain : "?", pos);
}

/* --- the case table ------------------------------------------------------------- */

struct eval_case {
	const char *what;
	const char *rules;	/* body of *filter */
	uint8_t hook;		/* enum fw_hook */
	struct pspec pkt;
	const char *in, *out;	/* NULL: the hook's usual; IF_NONE */
	uint8_t ct;		/* FW_CT_* state; 0: NEW; CT_NULL */
	bool reply;
	const char *repl_src;	/* the reply comes from elsewhere: DNAT */
	uint16_t repl_sport;	/* ... or from another port: DNAT */
	uint16_t repl_dport;	/* ... or goes to another port: SNAT */
	const char *want;
};

#define IN	FW_HOOK_INPUT
#define FWD	FW_HOOK_FORWARD
#define OUT	FW_HOOK_OUTPUT

static const struct eval_case cases[] = {
	/* -p tcp / udp */
	{ "tcp --dport accepts", "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n",
	  IN, TCP4(A, B, 40000, 22, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "tcp --dport: other port falls to the policy",
	  "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n",
	  IN, TCP4(A, B, 40000, 23, SYN), .want = "DROP policy" },
	{ "-p tcp does not match udp", "-A INPUT_CUST -p tcp -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 22), .want = "DROP policy" },
	{ "! -p tcp matches udp", "-A INPUT_CUST ! -p tcp -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 22), .want = "ACCEPT INPUT_CUST#0" },
	{ "-p by number", "-A INPUT_CUST -p 17 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 22), .want = "ACCEPT INPUT_CUST#0" },
	{ "dport range, inside", "-A INPUT_CUST -p tcp --dport 1000:2000 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 2000, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "dport range, outside", "-A INPUT_CUST -p tcp --dport 1000:2000 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 2001, SYN), .want = "DROP policy" },
	{ "! --dport, other port", "-A INPUT_CUST -p tcp ! --dport 22 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 80, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "! --dport, that port", "-A INPUT_CUST -p tcp ! --dport 22 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 22, SYN), .want = "DROP policy" },
	{ "--sport open range", "-A INPUT_CUST -p tcp --sport 1024: -j ACCEPT\n",
	  IN, TCP4(A, B, 40000, 22, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--sport open range, below", "-A INPUT_CUST -p tcp --sport 1024: -j ACCEPT\n",
	  IN, TCP4(A, B, 1023, 22, SYN), .want = "DROP policy" },
	{ "udp --dport", "-A INPUT_CUST -p udp --dport 53 -j ACCEPT\n",
	  IN, UDP4(A, B, 5353, 53), .want = "ACCEPT INPUT_CUST#0" },
	{ "udp --dport is not tcp", "-A INPUT_CUST -p udp --dport 53 -j ACCEPT\n",
	  IN, TCP4(A, B, 5353, 53, SYN), .want = "DROP policy" },
	{ "udp ! --sport", "-A INPUT_CUST -p udp ! --sport 53 -j ACCEPT\n",
	  IN, UDP4(A, B, 53, 53), .want = "DROP policy" },
	{ "--syn: SYN", "-A INPUT_CUST -p tcp --syn -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--syn: SYN+ACK is not", "-A INPUT_CUST -p tcp --syn -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN | ACK), .want = "DROP policy" },
	{ "! --syn: ACK", "-A INPUT_CUST -p tcp ! --syn -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, ACK), .want = "ACCEPT INPUT_CUST#0" },
	{ "--tcp-flags mask/comp", "-A INPUT_CUST -p tcp --tcp-flags SYN,RST,FIN RST -j DROP\n",
	  IN, TCP4(A, B, 1, 2, TCP_RST | ACK), .want = "DROP INPUT_CUST#0" },
	{ "--tcp-flags: flag outside the mask ignored",
	  "-A INPUT_CUST -p tcp --tcp-flags SYN,ACK ACK -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, ACK | TCP_PSH), .want = "ACCEPT INPUT_CUST#0" },
	{ "--tcp-flags ALL NONE (null scan)",
	  "-A INPUT_CUST -p tcp --tcp-flags ALL NONE -j DROP\n",
	  IN, TCP4(A, B, 1, 2, 0), .want = "DROP INPUT_CUST#0" },
	{ "! --tcp-flags", "-A INPUT_CUST -p tcp ! --tcp-flags ALL NONE -j DROP\n",
	  IN, TCP4(A, B, 1, 2, 0), .want = "DROP policy" },

	/* icmp / icmp6 */
	{ "icmp type by name", "-A INPUT_CUST -p icmp --icmp-type echo-request -j ACCEPT\n",
	  IN, ICMP4(A, B, 8, 0), .want = "ACCEPT INPUT_CUST#0" },
	{ "icmp type by number, other type", "-A INPUT_CUST -p icmp --icmp-type 8 -j ACCEPT\n",
	  IN, ICMP4(A, B, 0, 0), .want = "DROP policy" },
	{ "icmp type/code", "-A INPUT_CUST -p icmp --icmp-type 3/3 -j ACCEPT\n",
	  IN, ICMP4(A, B, 3, 3), .want = "ACCEPT INPUT_CUST#0" },
	{ "icmp type/code, other code", "-A INPUT_CUST -p icmp --icmp-type 3/3 -j ACCEPT\n",
	  IN, ICMP4(A, B, 3, 1), .want = "DROP policy" },
	{ "icmp type alone takes any code", "-A INPUT_CUST -p icmp --icmp-type 3 -j ACCEPT\n",
	  IN, ICMP4(A, B, 3, 13), .want = "ACCEPT INPUT_CUST#0" },
	{ "icmp type any (255)", "-A INPUT_CUST -p icmp --icmp-type any -j ACCEPT\n",
	  IN, ICMP4(A, B, 13, 0), .want = "ACCEPT INPUT_CUST#0" },
	{ "icmp ! type", "-A INPUT_CUST -p icmp ! --icmp-type 8 -j ACCEPT\n",
	  IN, ICMP4(A, B, 0, 0), .want = "ACCEPT INPUT_CUST#0" },
	/* multiport */
	{ "multiport --dports list", "-A INPUT_CUST -p tcp -m multiport --dports 22,80,1000:2000 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 80, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "multiport --dports range", "-A INPUT_CUST -p tcp -m multiport --dports 22,80,1000:2000 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 1500, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "multiport --dports miss", "-A INPUT_CUST -p tcp -m multiport --dports 22,80,1000:2000 -j ACCEPT\n",
	  IN, TCP4(A, B, 80, 443, SYN), .want = "DROP policy" },
	{ "multiport --sports", "-A INPUT_CUST -p udp -m multiport --sports 53,123 -j ACCEPT\n",
	  IN, UDP4(A, B, 123, 5), .want = "ACCEPT INPUT_CUST#0" },
	{ "multiport --ports either side", "-A INPUT_CUST -p tcp -m multiport --ports 25 -j ACCEPT\n",
	  IN, TCP4(A, B, 25, 40000, ACK), .want = "ACCEPT INPUT_CUST#0" },
	{ "multiport ! --dports", "-A INPUT_CUST -p tcp -m multiport ! --dports 22,80 -j ACCEPT\n",
	  IN, TCP4(A, B, 5, 80, SYN), .want = "DROP policy" },

	/* conntrack / state */
	{ "--ctstate NEW", "-A INPUT_CUST -m conntrack --ctstate NEW -j DROP\n",
	  IN, TCP4(A, B, 1, 2, SYN), .ct = FW_CT_NEW, .want = "DROP INPUT_CUST#0" },
	{ "--ctstate NEW, packet ESTABLISHED", "-A INPUT_CUST -m conntrack --ctstate NEW -j DROP\n",
	  IN, TCP4(A, B, 1, 2, ACK), .ct = FW_CT_ESTABLISHED, .want = "ACCEPT established" },
	{ "--ctstate INVALID: no entry", "-A INPUT_CUST -m conntrack --ctstate INVALID -j REJECT\n",
	  IN, TCP4(A, B, 1, 2, ACK), .ct = CT_NULL,
	  .want = "REJECT/icmp-port-unreachable INPUT_CUST#0" },
	{ "! --ctstate ESTABLISHED,RELATED", "-A INPUT_CUST -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP\n",
	  IN, TCP4(A, B, 1, 2, SYN), .ct = FW_CT_NEW, .want = "DROP INPUT_CUST#0" },
	{ "--ctstate DNAT", "-A FORWARD_CUST -m conntrack --ctstate DNAT -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9", .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctstate DNAT, not translated", "-A FORWARD_CUST -m conntrack --ctstate DNAT -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--ctstate DNAT of the port alone", "-A FORWARD_CUST -m conntrack --ctstate DNAT -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_sport = 8080, .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctstate SNAT of the port alone", "-A FORWARD_CUST -m conntrack --ctstate SNAT -j ACCEPT\n",
	  FWD, UDP4(A, B, 1, 2), .repl_dport = 40000, .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctstate SNAT: not DNAT", "-A FORWARD_CUST -m conntrack --ctstate DNAT -j DROP\n",
	  FWD, UDP4(A, B, 1, 2), .repl_dport = 40000, .want = "DROP policy" },
	/* The port forward default: a DNATed new flow goes on unless
	 * FORWARD's own chains refuse it first. */
	{ "DNAT: a port forward is accepted by default", "",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9", .want = "ACCEPT dnat" },
	{ "DNAT: FORWARD_CUST refuses it", "-A FORWARD_CUST -p tcp --dport 2 -j DROP\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9", .want = "DROP FORWARD_CUST#0" },
	{ "DNAT: FORWARD's own rule refuses it", "-A FORWARD -p tcp -j REJECT --reject-with tcp-reset\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9",
	  .want = "REJECT/tcp-reset FORWARD#0" },
	{ "DNAT: a RETURN from FORWARD_CUST reaches the default", "-A FORWARD_CUST -j RETURN\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9", .want = "ACCEPT dnat" },
	/* Default 5: IKE and ESP from a tunnel's peer (10.7.7.7 here). */
	{ "ESP from a tunnel's peer: accepted by default", "",
	  IN, { .src = "10.7.7.7", .dst = B, .proto = 50 },
	  .want = "ACCEPT ipsec_peer" },
	{ "IKE from a tunnel's peer", "", IN, UDP4("10.7.7.7", B, 500, 500),
	  .want = "ACCEPT ipsec_peer" },
	{ "ESP in UDP from a tunnel's peer", "", IN,
	  UDP4("10.7.7.7", B, 4500, 4500), .want = "ACCEPT ipsec_peer" },
	{ "the peer's other traffic is not admitted", "", IN,
	  TCP4("10.7.7.7", B, 1, 22, SYN), .want = "DROP policy" },
	{ "ESP from another address is not", "", IN,
	  { .src = "10.7.7.8", .dst = B, .proto = 50 }, .want = "DROP policy" },
	{ "INPUT_CUST can still refuse the peer's ESP",
	  "-A INPUT_CUST -s 10.7.7.7 -p esp -j DROP\n", IN,
	  { .src = "10.7.7.7", .dst = B, .proto = 50 },
	  .want = "DROP INPUT_CUST#0" },
	{ "not a default of FORWARD", "", FWD,
	  { .src = "10.7.7.7", .dst = B, .proto = 50 }, .want = "DROP policy" },
	{ "DNAT: not a default of INPUT", "",
	  IN, TCP4(A, B, 1, 2, SYN), .repl_src = "192.168.1.9", .want = "DROP policy" },
	{ "DNAT: an untranslated new flow meets the policy", "",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--ctorigsrc on a reply", "-A FORWARD_CUST -m conntrack --ctorigsrc 10.2.0.0/16 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .reply = true, .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctorigsrc on an original", "-A FORWARD_CUST -m conntrack --ctorigsrc 10.2.0.0/16 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .want = "DROP policy" },
	{ "! --ctorigdst", "-A FORWARD_CUST -m conntrack ! --ctorigdst 10.2.2.2 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .want = "DROP policy" },
	{ "--ctorigdst", "-A FORWARD_CUST -m conntrack --ctorigdst 10.2.2.2 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctproto", "-A FORWARD_CUST -m conntrack --ctproto udp -j ACCEPT\n",
	  FWD, UDP4(A, B, 1, 2), .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctproto other", "-A FORWARD_CUST -m conntrack --ctproto udp -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--ctdir REPLY", "-A FORWARD_CUST -m conntrack --ctdir REPLY -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .reply = true, .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ctdir ORIGINAL on a reply", "-A FORWARD_CUST -m conntrack --ctdir ORIGINAL -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .reply = true, .want = "DROP policy" },
	{ "--ctdir without an entry never matches", "-A FORWARD_CUST -m conntrack --ctdir ORIGINAL -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .ct = FW_CT_UNTRACKED, .want = "ACCEPT untracked" },
	{ "--ctorigdstport", "-A FORWARD_CUST -m conntrack --ctproto tcp --ctorigdstport 2 -j DROP\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .want = "DROP FORWARD_CUST#0" },
	{ "-m state --state NEW", "-A INPUT_CUST -m state --state NEW -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "-m state ! --state NEW", "-A INPUT_CUST -m state ! --state NEW -j REJECT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .ct = FW_CT_RELATED, .want = "REJECT/icmp-port-unreachable INPUT_CUST#0" },
	{ "-m state UNTRACKED", "-A INPUT_CUST -m state --state UNTRACKED -j DROP\n",
	  IN, TCP4(A, B, 1, 2, SYN), .ct = FW_CT_UNTRACKED, .want = "DROP INPUT_CUST#0" },

	/* iprange, mac */
	{ "--src-range inside", "-A INPUT_CUST -m iprange --src-range 10.1.1.0-10.1.1.9 -j ACCEPT\n",
	  IN, TCP4("10.1.1.9", B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--src-range outside", "-A INPUT_CUST -m iprange --src-range 10.1.1.0-10.1.1.9 -j ACCEPT\n",
	  IN, TCP4("10.1.1.10", B, 1, 2, SYN), .want = "DROP policy" },
	{ "! --dst-range", "-A INPUT_CUST -m iprange ! --dst-range 10.2.2.0-10.2.2.255 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--mac-source", "-A INPUT_CUST -m mac --mac-source 02:00:00:00:00:AA -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 17, .mac = "02:00:00:00:00:aa" },
	  .want = "ACCEPT INPUT_CUST#0" },
	{ "--mac-source other", "-A INPUT_CUST -m mac --mac-source 02:00:00:00:00:AA -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "! --mac-source", "-A INPUT_CUST -m mac ! --mac-source 02:00:00:00:00:AA -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },

	/* length: the IP packet, header included; TCP4 is 20 + 20 bytes,
	 * UDP4 20 + 8, TCP6 40 + 20. */
	{ "--length exact", "-A INPUT_CUST -m length --length 40 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--length one short", "-A INPUT_CUST -m length --length 41:1500 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--length range's upper end", "-A INPUT_CUST -m length --length :28 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "--length above the range", "-A INPUT_CUST -m length --length :39 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "! --length", "-A INPUT_CUST -m length ! --length 28 -j REJECT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "REJECT/icmp-port-unreachable INPUT_CUST#0" },
	{ "backwards --length matches nothing",
	  "-A INPUT_CUST -m length --length 100:10 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "! --length, equal", "-A INPUT_CUST -m length ! --length 28 -j REJECT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },

	/* ttl: the value on arrival in INPUT, one less in FORWARD (Linux
	 * decrements before its FORWARD hook) */
	{ "--ttl-eq", "-A INPUT_CUST -m ttl --ttl-eq 64 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--ttl-lt is strict", "-A INPUT_CUST -m ttl --ttl-lt 64 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "--ttl-lt below", "-A INPUT_CUST -m ttl --ttl-lt 65 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "--ttl-gt is strict", "-A INPUT_CUST -m ttl --ttl-gt 64 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "! --ttl-eq", "-A INPUT_CUST -m ttl ! --ttl-eq 64 -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 17, .ttl = 1 },
	  .want = "ACCEPT INPUT_CUST#0" },
	{ "! --ttl-eq, equal", "-A INPUT_CUST -m ttl ! --ttl-eq 64 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "--ttl-eq in FORWARD sees this hop taken off",
	  "-A FORWARD_CUST -m ttl --ttl-eq 63 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT FORWARD_CUST#0" },
	{ "--ttl-eq in FORWARD, the arrival value",
	  "-A FORWARD_CUST -m ttl --ttl-eq 64 -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },

	/* pkttype: from the destination MAC; OUTPUT sees unicast only */
	{ "--pkt-type unicast", "-A INPUT_CUST -m pkttype --pkt-type unicast -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "--pkt-type broadcast", "-A INPUT_CUST -m pkttype --pkt-type broadcast -j DROP\n",
	  IN, { .src = A, .dst = "10.2.2.255", .proto = 17, .sport = 1, .dport = 2,
	  .dmac = "ff:ff:ff:ff:ff:ff" }, .want = "DROP INPUT_CUST#0" },
	{ "--pkt-type broadcast, a unicast frame",
	  "-A INPUT_CUST -m pkttype --pkt-type broadcast -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "--pkt-type multicast", "-A INPUT_CUST -m pkttype --pkt-type multicast -j ACCEPT\n",
	  IN, { .src = A, .dst = "224.0.0.251", .proto = 17, .sport = 5353,
	  .dport = 5353, .dmac = "01:00:5e:00:00:fb" }, .want = "ACCEPT INPUT_CUST#0" },
	{ "--pkt-type multicast is not broadcast",
	  "-A INPUT_CUST -m pkttype --pkt-type broadcast -j ACCEPT\n",
	  IN, { .src = A, .dst = "224.0.0.251", .proto = 17, .sport = 5353,
	  .dport = 5353, .dmac = "01:00:5e:00:00:fb" }, .want = "DROP policy" },
	{ "! --pkt-type unicast", "-A INPUT_CUST -m pkttype ! --pkt-type unicast -j DROP\n",
	  IN, { .src = A, .dst = "10.2.2.255", .proto = 17, .sport = 1, .dport = 2,
	  .dmac = "ff:ff:ff:ff:ff:ff" }, .want = "DROP INPUT_CUST#0" },
	{ "--pkt-type in OUTPUT is unicast whatever the MAC",
	  ":OUTPUT DROP [0:0]\n-A OUTPUT_CUST -m pkttype --pkt-type unicast -j ACCEPT\n",
	  OUT, { .src = A, .dst = "10.2.2.255", .proto = 17, .sport = 1, .dport = 2,
	  .dmac = "ff:ff:ff:ff:ff:ff" }, .want = "ACCEPT OUTPUT_CUST#0" },

	/* tcpmss: the SYN's MSS option; none matches only the ! form */
	{ "--mss inside", "-A FORWARD_CUST -p tcp -m tcpmss --mss 1400:1536 -j DROP\n",
	  FWD, { .src = A, .dst = B, .proto = 6, .sport = 1, .dport = 2,
	  .flags = SYN, .mss = 1460 }, .want = "DROP FORWARD_CUST#0" },
	{ "--mss upper end", "-A FORWARD_CUST -p tcp -m tcpmss --mss 1400:1460 -j DROP\n",
	  FWD, { .src = A, .dst = B, .proto = 6, .sport = 1, .dport = 2,
	  .flags = SYN, .mss = 1460 }, .want = "DROP FORWARD_CUST#0" },
	{ "--mss one above", "-A FORWARD_CUST -p tcp -m tcpmss --mss 1400:1459 -j DROP\n",
	  FWD, { .src = A, .dst = B, .proto = 6, .sport = 1, .dport = 2,
	  .flags = SYN, .mss = 1460 }, .want = "DROP policy" },
	{ "--mss without the option", "-A FORWARD_CUST -p tcp -m tcpmss --mss 0:65535 -j DROP\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
	{ "! --mss without the option", "-A FORWARD_CUST -p tcp -m tcpmss ! --mss 536 -j DROP\n",
	  FWD, TCP4(A, B, 1, 2, SYN), .want = "DROP FORWARD_CUST#0" },
	{ "! --mss, equal", "-A FORWARD_CUST -p tcp -m tcpmss ! --mss 536 -j DROP\n",
	  FWD, { .src = A, .dst = B, .proto = 6, .sport = 1, .dport = 2,
	  .flags = SYN, .mss = 536 }, .want = "DROP policy" },

	/* sets */
	{ "set hash:ip src", "-A INPUT_CUST -m set --match-set office src -j ACCEPT\n",
	  IN, TCP4("10.0.0.1", B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "set hash:ip src, not a member", "-A INPUT_CUST -m set --match-set office src -j ACCEPT\n",
	  IN, TCP4("10.0.0.2", B, 1, 2, SYN), .want = "DROP policy" },
	{ "set hash:ip dst is not src", "-A INPUT_CUST -m set --match-set office dst -j ACCEPT\n",
	  IN, TCP4("10.0.0.1", B, 1, 2, SYN), .want = "DROP policy" },
	{ "set hash:net dst", "-A FORWARD_CUST -m set --match-set nets dst -j DROP\n",
	  FWD, UDP4(A, "192.168.7.200", 1, 2), .want = "DROP FORWARD_CUST#0" },
	{ "set ! hash:net dst", "-A FORWARD_CUST -m set ! --match-set nets dst -j ACCEPT\n",
	  FWD, UDP4(A, "192.168.8.1", 1, 2), .want = "ACCEPT FORWARD_CUST#0" },
	{ "set hash:ip,port dst,dst", "-A FORWARD_CUST -m set --match-set svc dst,dst -j ACCEPT\n",
	  FWD, TCP4(A, "10.0.0.5", 40000, 443, SYN), .want = "ACCEPT FORWARD_CUST#0" },
	{ "set hash:ip,port other port", "-A FORWARD_CUST -m set --match-set svc dst,dst -j ACCEPT\n",
	  FWD, TCP4(A, "10.0.0.5", 40000, 80, SYN), .want = "DROP policy" },
	{ "set hash:ip,port other protocol", "-A FORWARD_CUST -m set --match-set svc dst,dst -j ACCEPT\n",
	  FWD, UDP4(A, "10.0.0.5", 40000, 443), .want = "DROP policy" },
	{ "-s ${set}", "-A INPUT_CUST -s ${office} -j ACCEPT\n",
	  IN, TCP4("10.0.0.1", B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "! -s ${set}", "-A INPUT_CUST ! -s ${office} -j ACCEPT\n",
	  IN, TCP4("10.0.0.1", B, 1, 2, SYN), .want = "DROP policy" },
	{ "-d ${set} hash:net", "-A FORWARD_CUST -d ${nets} -j REJECT\n",
	  FWD, TCP4(A, "192.168.7.1", 1, 2, SYN), .want = "REJECT/icmp-port-unreachable FORWARD_CUST#0" },

	/* interfaces */
	{ "-i eth0", "-A INPUT_CUST -i eth0 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .in = "eth0", .want = "ACCEPT INPUT_CUST#0" },
	{ "-i eth0, from eth1", "-A INPUT_CUST -i eth0 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .in = "eth1", .want = "DROP policy" },
	{ "-i eth+ wildcard", "-A INPUT_CUST -i eth+ -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .in = "eth1", .want = "ACCEPT INPUT_CUST#0" },
	{ "-i eth+ wildcard, tun0", "-A INPUT_CUST -i eth+ -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .in = "tun0", .want = "DROP policy" },
	{ "! -i eth+", "-A INPUT_CUST ! -i eth+ -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .in = "wg0", .want = "ACCEPT INPUT_CUST#0" },
	{ "-o tun+ in FORWARD", "-A FORWARD_CUST -i eth0 -o tun+ -j ACCEPT\n",
	  FWD, UDP4(A, B, 1, 2), .in = "eth0", .out = "tun0", .want = "ACCEPT FORWARD_CUST#0" },
	{ "! -o tun0", "-A FORWARD_CUST ! -o tun0 -j ACCEPT\n",
	  FWD, UDP4(A, B, 1, 2), .out = "tun0", .want = "DROP policy" },
	{ "-i of a missing interface never matches", "-A INPUT_CUST -i nope0 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "! -i of a missing interface always matches", "-A INPUT_CUST ! -i nope0 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "! -i + never matches, not even without an interface",
	  ":u -\n-A OUTPUT_CUST -j u\n-A u ! -i + -j DROP\n",
	  OUT, UDP4(A, B, 1, 2), .want = "ACCEPT policy" },
	{ "-i in a user chain called from OUTPUT (no in interface)",
	  ":u -\n-A OUTPUT_CUST -j u\n-A u -i eth+ -j DROP\n-A u ! -i eth0 -j REJECT\n",
	  OUT, UDP4(A, B, 1, 2), .want = "REJECT/icmp-port-unreachable u#1" },

	/* -s / -d lists, -f */
	{ "-s list, second entry", "-A INPUT_CUST -s 10.9.0.0/16,10.1.0.0/16 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "-s list, no entry", "-A INPUT_CUST -s 10.9.0.0/16,10.3.0.0/16 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "! -s list", "-A INPUT_CUST ! -s 10.9.0.0/16,10.1.0.0/16 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "-d host", "-A INPUT_CUST -d 10.2.2.2 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "! -d prefix", "-A INPUT_CUST ! -d 10.2.0.0/16 -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "dotted mask with a hole", "-A INPUT_CUST -s 10.0.1.0/255.0.255.0 -j ACCEPT\n",
	  IN, UDP4("10.77.1.9", B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "-f matches a later fragment", "-A INPUT_CUST -f -j DROP\n",
	  IN, { .src = A, .dst = B, .proto = 6, .frag = 10 }, .want = "DROP INPUT_CUST#0" },
	{ "-f does not match the first fragment", "-A INPUT_CUST -f -j DROP\n",
	  IN, { .src = A, .dst = B, .proto = 6, .dport = 22, .frag = IP4_MF },
	  .want = "DROP policy" },
	{ "! -f matches an unfragmented packet", "-A INPUT_CUST ! -f -j ACCEPT\n",
	  IN, UDP4(A, B, 1, 2), .want = "ACCEPT INPUT_CUST#0" },
	{ "--dport never matches a later fragment", "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 6, .frag = 10 }, .want = "DROP policy" },
	{ "! --dport never matches a later fragment", "-A INPUT_CUST -p tcp ! --dport 22 -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 6, .frag = 10 }, .want = "DROP policy" },
	{ "-p tcp alone matches a later fragment", "-A INPUT_CUST -p tcp -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 6, .frag = 10 }, .want = "ACCEPT INPUT_CUST#0" },
	{ "--dport matches the first fragment", "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n",
	  IN, { .src = A, .dst = B, .proto = 6, .dport = 22, .frag = IP4_MF },
	  .want = "ACCEPT INPUT_CUST#0" },

	/* targets */
	{ "DROP", "-A INPUT_CUST -j DROP\n", IN, UDP4(A, B, 1, 2),
	  .ct = FW_CT_ESTABLISHED, .want = "DROP INPUT_CUST#0" },
	{ "REJECT --reject-with tcp-reset",
	  "-A INPUT_CUST -p tcp -j REJECT --reject-with tcp-reset\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "REJECT/tcp-reset INPUT_CUST#0" },
	{ "REJECT --reject-with icmp-host-prohibited",
	  "-A FORWARD_CUST -j REJECT --reject-with icmp-host-prohibited\n",
	  FWD, UDP4(A, B, 1, 2), .want = "REJECT/icmp-host-prohibited FORWARD_CUST#0" },
	{ "LOG goes on", "-A INPUT_CUST -j LOG --log-prefix \"in: \"\n-A INPUT_CUST -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#1" },
	{ "no -j counts and goes on", "-A INPUT_CUST -p udp\n-A INPUT_CUST -j DROP\n",
	  IN, UDP4(A, B, 1, 2), .want = "DROP INPUT_CUST#1" },
	{ "jump into a user chain that accepts",
	  ":web -\n-A INPUT_CUST -p tcp -j web\n-A web -p tcp --dport 80 -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "ACCEPT web#0" },
	{ "falling off a user chain returns to the caller",
	  ":web -\n-A INPUT_CUST -j web\n-A INPUT_CUST -j REJECT\n-A web -p udp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "REJECT/icmp-port-unreachable INPUT_CUST#1" },
	{ "RETURN from a user chain goes back to the caller",
	  ":u -\n-A INPUT_CUST -j u\n-A INPUT_CUST -j ACCEPT\n-A u -j RETURN\n-A u -j DROP\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "ACCEPT INPUT_CUST#1" },
	{ "RETURN from the customer chain goes on in the built-in chain",
	  "-A INPUT -j ACCEPT\n-A INPUT_CUST -j RETURN\n-A INPUT_CUST -j DROP\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "ACCEPT INPUT#0" },
	{ "RETURN in the built-in chain goes to the defaults",
	  ":INPUT ACCEPT [0:0]\n-A INPUT -j RETURN\n-A INPUT -j DROP\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "ACCEPT policy" },
	{ "nested jumps", ":a -\n:b -\n:c -\n-A INPUT_CUST -j a\n-A a -j b\n"
	  "-A b -j c\n-A b -j DROP\n-A c -p udp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "DROP b#1" },
	{ "goto: falling off returns past the chain that jumped",
	  ":u1 -\n:u2 -\n-A INPUT_CUST -j u1\n-A INPUT_CUST -j DROP\n"
	  "-A u1 -g u2\n-A u1 -j ACCEPT\n-A u2 -p udp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "DROP INPUT_CUST#1" },
	{ "goto from the customer chain comes back to the built-in chain",
	  ":u -\n-A INPUT_CUST -g u\n-A INPUT_CUST -j DROP\n-A INPUT -j REJECT\n"
	  "-A u -p udp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 80, SYN), .want = "REJECT/icmp-port-unreachable INPUT#0" },
	{ "goto from the built-in chain ends at the defaults",
	  ":OUTPUT DROP [0:0]\n:u -\n-A OUTPUT -g u\n-A OUTPUT -j ACCEPT\n-A u -p udp -j ACCEPT\n",
	  OUT, TCP4(A, B, 1, 80, SYN), .want = "DROP policy" },
	{ "goto into a deciding chain", ":u -\n-A FORWARD_CUST -g u\n-A u -j ACCEPT\n",
	  FWD, TCP4(A, B, 1, 80, SYN), .want = "ACCEPT u#0" },

	/* the defaults and the order of the hooks */
	{ "ESTABLISHED accepted at the end", "", IN, TCP4(A, B, 1, 2, ACK),
	  .ct = FW_CT_ESTABLISHED, .want = "ACCEPT established" },
	{ "RELATED accepted at the end", "", FWD, ICMP4(A, B, 3, 4),
	  .ct = FW_CT_RELATED, .want = "ACCEPT established" },
	{ "no conntrack entry is INVALID: dropped", "", IN, TCP4(A, B, 1, 2, ACK),
	  .ct = CT_NULL, .want = "DROP invalid" },
	{ "INVALID dropped even where the policy accepts", ":FORWARD ACCEPT [0:0]\n",
	  FWD, TCP4(A, B, 1, 2, ACK), .ct = FW_CT_INVALID, .want = "DROP invalid" },
	{ "UNTRACKED accepted", "", FWD, UDP4(A, B, 1, 2),
	  .ct = FW_CT_UNTRACKED, .want = "ACCEPT untracked" },
	{ "known network accepted", "", FWD, UDP4("10.99.7.7", B, 1, 2),
	  .want = "ACCEPT known" },
	{ "known network accepted on INPUT", "", IN, UDP4("10.99.7.7", B, 1, 2),
	  .want = "ACCEPT known" },
	{ "a tunnel's network is known through the tunnel", "", FWD,
	  UDP4("10.98.1.1", B, 1, 2), .in = "tun0", .out = "eth1",
	  .want = "ACCEPT known" },
	{ "a tunnel's network in clear elsewhere is not known", "", FWD,
	  UDP4("10.98.1.1", B, 1, 2), .in = "eth0", .out = "eth1",
	  .want = "DROP policy" },
	{ "... nor on INPUT", "", IN, UDP4("10.98.1.1", B, 1, 2), .in = "eth1",
	  .want = "DROP policy" },
	{ "a network known everywhere is known through the tunnel too", "",
	  FWD, UDP4("10.99.1.1", B, 1, 2), .in = "tun0", .out = "eth1",
	  .want = "ACCEPT known" },
	{ "known network is a source test", "", FWD, UDP4(B, "10.99.7.7", 1, 2),
	  .want = "DROP policy" },
	{ "known network does not apply to OUTPUT", ":OUTPUT DROP [0:0]\n",
	  OUT, UDP4("10.99.7.7", B, 1, 2), .want = "DROP policy" },
	{ "INPUT policy DROP by default", "", IN, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "FORWARD policy DROP by default", "", FWD, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "OUTPUT policy ACCEPT by default", "", OUT, UDP4(A, B, 1, 2), .want = "ACCEPT policy" },
	{ ":FORWARD ACCEPT in the file accepts", ":FORWARD ACCEPT [0:0]\n",
	  FWD, UDP4(A, B, 1, 2), .want = "ACCEPT policy" },
	{ "rules come before the defaults", "-A INPUT -j DROP\n",
	  IN, TCP4(A, B, 1, 2, ACK), .ct = FW_CT_ESTABLISHED, .want = "DROP INPUT#0" },
	{ "customer chain before the built-in chain's rules",
	  "-A INPUT -p tcp -j DROP\n-A INPUT_CUST -p tcp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "built-in chain's rules after an undecided customer chain",
	  "-A INPUT -p tcp -j DROP\n-A INPUT_CUST -p udp -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .ct = FW_CT_ESTABLISHED, .want = "DROP INPUT#0" },
	{ "INPUT_CUST does not see FORWARD", "-A INPUT_CUST -j ACCEPT\n",
	  FWD, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "OUTPUT_CUST for OUTPUT", "-A OUTPUT_CUST -p udp -j DROP\n",
	  OUT, UDP4(A, B, 1, 2), .want = "DROP OUTPUT_CUST#0" },
	{ "MACRO_CUST is not run", "-A MACRO_CUST -j COPY --from tun0 --to 10.5.5.5\n",
	  FWD, UDP4(A, B, 1, 2), .want = "DROP policy" },
	{ "packet of the other family matches no rule", "-A INPUT_CUST -j ACCEPT\n",
	  IN, TCP6("2001:db8::1", "2001:db8::2", 1, 2, SYN), .want = "DROP policy",
	  .ct = 0 },
};

/* IPv6 rule sets: the same walk over 16-byte addresses. */
static const struct eval_case cases6[] = {
	{ "v6 prefix and port", "-A INPUT_CUST -s 2001:db8:1::/48 -p tcp --dport 443 -j ACCEPT\n",
	  IN, TCP6("2001:db8:1::5", "2001:db8::2", 1, 443, SYN), .want = "ACCEPT INPUT_CUST#0" },
	{ "v6 prefix, outside", "-A INPUT_CUST -s 2001:db8:1::/48 -p tcp --dport 443 -j ACCEPT\n",
	  IN, TCP6("2001:db8:2::5", "2001:db8::2", 1, 443, SYN), .want = "DROP policy" },
	{ "v6 ! -d", "-A FORWARD_CUST ! -d 2001:db8::/32 -j REJECT\n",
	  FWD, TCP6("2001:db8::1", "2001:db9::2", 1, 443, SYN),
	  .want = "REJECT/icmp6-port-unreachable FORWARD_CUST#0" },
	{ "icmp6 type by number", "-A INPUT_CUST -p icmpv6 --icmpv6-type 128 -j ACCEPT\n",
	  IN, ICMP6("2001:db8::1", "2001:db8::2", 128, 0), .want = "ACCEPT INPUT_CUST#0" },
	{ "icmp6 type/code", "-A INPUT_CUST -p icmpv6 --icmpv6-type 1/4 -j ACCEPT\n",
	  IN, ICMP6("2001:db8::1", "2001:db8::2", 1, 3), .want = "DROP policy" },
	{ "icmp6 type 255 is not any", "-A INPUT_CUST -p icmpv6 --icmpv6-type 255 -j ACCEPT\n",
	  IN, ICMP6("2001:db8::1", "2001:db8::2", 128, 0), .want = "DROP policy" },

	{ "v6 icmp6 echo", "-A INPUT_CUST -p icmpv6 --icmpv6-type echo-request -j ACCEPT\n",
	  IN, ICMP6("fe80::1", "fe80::2", 128, 0), .want = "ACCEPT INPUT_CUST#0" },
	{ "v6 set", "-A INPUT_CUST -m set --match-set office6 src -j DROP\n",
	  IN, TCP6("2001:db8::7", "2001:db8::2", 1, 2, SYN), .want = "DROP INPUT_CUST#0" },
	{ "v6 iprange", "-A INPUT_CUST -m iprange --dst-range 2001:db8::1-2001:db8::ff -j DROP\n",
	  IN, TCP6("2001:db8::7", "2001:db8::2", 1, 2, SYN), .want = "DROP INPUT_CUST#0" },
	{ "v6 --length counts the fixed header",
	  "-A INPUT_CUST -m length --length 60 -j DROP\n",
	  IN, TCP6("2001:db8::7", "2001:db8::2", 1, 2, SYN), .want = "DROP INPUT_CUST#0" },
	{ "v6 --length, payload alone is not it",
	  "-A INPUT_CUST -m length --length 20 -j DROP\n",
	  IN, TCP6("2001:db8::7", "2001:db8::2", 1, 2, SYN), .want = "DROP policy" },
	{ "v6 --hl-eq", "-A INPUT_CUST -m hl --hl-eq 255 -j DROP\n",
	  IN, { .v6 = true, .src = "fe80::1", .dst = "fe80::2", .proto = 58,
	  .flags = 135, .ttl = 255 }, .want = "DROP INPUT_CUST#0" },
	{ "v6 --hl-eq, other", "-A INPUT_CUST -m hl --hl-eq 255 -j DROP\n",
	  IN, ICMP6("fe80::1", "fe80::2", 135, 0), .want = "DROP policy" },
	{ "v6 --hl-lt in FORWARD sees this hop taken off",
	  "-A FORWARD_CUST -m hl --hl-lt 2 -j DROP\n",
	  FWD, { .v6 = true, .src = "2001:db8::1", .dst = "2001:db9::2",
	  .proto = 17, .sport = 1, .dport = 2, .ttl = 2 },
	  .want = "DROP FORWARD_CUST#0" },
	{ "v6 --hl-gt", "-A INPUT_CUST -m hl --hl-gt 63 -j DROP\n",
	  IN, TCP6("2001:db8::7", "2001:db8::2", 1, 2, SYN), .want = "DROP INPUT_CUST#0" },
	{ "v6 --mss", "-A INPUT_CUST -p tcp -m tcpmss --mss 1220 -j DROP\n",
	  IN, { .v6 = true, .src = "2001:db8::7", .dst = "2001:db8::2",
	  .proto = 6, .sport = 1, .dport = 2, .flags = SYN, .mss = 1220 },
	  .want = "DROP INPUT_CUST#0" },
	{ "v6 known network", "", FWD, TCP6("fd99:1::1", "2001:db8::2", 1, 2, SYN),
	  .want = "ACCEPT known" },
	{ "v6 conntrack origsrc", "-A FORWARD_CUST -m conntrack --ctorigsrc 2001:db8::/64 --ctstate NEW -j ACCEPT\n",
	  FWD, TCP6("2001:db8::1", "2001:db9::2", 1, 2, SYN), .want = "ACCEPT FORWARD_CUST#0" },
	{ "v6 established", "", IN, TCP6("2001:db8::1", "2001:db8::2", 1, 2, ACK),
	  .ct = FW_CT_ESTABLISHED, .want = "ACCEPT established" },
	{ "v4 packet in a v6 program", "-A INPUT_CUST -j ACCEPT\n",
	  IN, TCP4(A, B, 1, 2, SYN), .want = "DROP policy" },
};

static bool
run_case(const struct eval_case *c, bool v6)
{
	const char *in = c->in, *out = c->out;
	struct fw_ct_info ct;
	struct fw_verdict v;
	struct fw_prog *prog;
	struct fw_pkt fp;
	struct pkt *p;
	char got[128];
	bool ok;

	prog = compile_filter(c->rules, v6);
	p = make_pkt(&c->pkt);
	if (in == NULL)
		in = c->hook == OUT ? IF_NONE : "eth0";
	if (out == NULL)
		out = c->hook == IN ? IF_NONE : c->hook == FWD ? "eth1" : "eth0";
	make_ct(&ct, &c->pkt, c->ct == CT_NULL ? 0 : c->ct, c->reply,
	    c->repl_src);
	if (c->repl_sport != 0)
		ct.repl_sport = c->repl_sport;
	if (c->repl_dport != 0)
		ct.repl_dport = c->repl_dport;
	fp = (struct fw_pkt){
		.p = p, .in_if = if_index(in), .out_if = if_index(out),
		.ct = c->ct == CT_NULL ? NULL : &ct,
	};
	memset(&v, 0xee, sizeof(v));
	fw_eval(prog, 1, c->hook, &fp, 0, &v);
	verdict_str(prog, &v, got, sizeof(got));
	ok = strcmp(got, c->want) == 0;
	if (!ok)
		print_error("case \"%s\": got \"%s\", want \"%s\"\n", c->what,
		    got, c->want);
	if (v.why != FW_WHY_RULE && v.rule != FW_RULE_NONE) {
		print_error("case \"%s\": default with a rule index\n", c->what);
		ok = false;
	}
	pkt_free(pool, p);
	fw_prog_free(prog);
	return ok;
}

static void
test_cases(void **state)
{
	unsigned bad = 0;

	(void)state;
	/* The LOG cases would print; what they print is test_log's. */
	hg_log_set_level(HG_LOG_ERR);
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++)
		bad += !run_case(&cases[i], false);
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases6); i++)
		bad += !run_case(&cases6[i], true);
	hg_log_set_level(HG_LOG_INFO);
	assert_int_equal(bad, 0);
}

/* --- counters ------------------------------------------------------------------- */

static void
eval_one(const struct fw_prog *prog, uint16_t worker, enum fw_hook hook,
    const struct pspec *s, uint8_t ct_state, uint64_t now_ns,
    struct fw_verdict *v)
{
	struct fw_ct_info ct;
	struct pkt *p = make_pkt(s);
	struct fw_pkt fp = {
		.p = p,
		.in_if = hook == OUT ? FW_IF_NONE : 0,
		.out_if = hook == IN ? FW_IF_NONE : 1,
		.ct = ct_state == CT_NULL ? NULL : &ct,
	};

	make_ct(&ct, s, ct_state == CT_NULL ? 0 : ct_state, false, NULL);
	fw_eval(prog, worker, hook, &fp, now_ns, v);
	pkt_free(pool, p);
}

static void
test_counters(void **state)
{
	const struct pspec ssh = TCP4(A, B, 40000, 22, SYN);	/* 40 bytes */
	const struct pspec web = TCP4(A, B, 40000, 80, SYN);
	struct fw_prog_stats st;
	struct fw_ruleset *rs;
	struct fw_verdict v;
	struct fw_prog *prog;
	struct fw_chain *c;
	char *text;

	(void)state;
	prog = compile_filter(
	    ":INPUT DROP [7:700]\n"
	    "-A INPUT_CUST -p tcp -j LOG --log-prefix \"seen: \"\n"
	    "-A INPUT_CUST -p tcp\n"
	    "[5:500] -A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
	    "-A INPUT -p udp -j DROP\n", false);
	/* Logging is not what this checks; keep stderr quiet. */
	hg_log_set_level(HG_LOG_ERR);
	for (int i = 0; i < 3; i++)
		eval_one(prog, (uint16_t)(i % 2), IN, &ssh, 0, 0, &v);
	for (int i = 0; i < 2; i++)
		eval_one(prog, 1, IN, &web, 0, 0, &v);
	eval_one(prog, 0, IN, &ssh, FW_CT_ESTABLISHED, 0, &v);
	eval_one(prog, 0, IN, &(struct pspec)TCP4(A, B, 1, 2, ACK), CT_NULL, 0, &v);

	fw_prog_stats(prog, &st);
	assert_int_equal(st.n_rules, 4);
	assert_int_equal(st.verdicts[IN][FW_WHY_RULE], 4);
	assert_int_equal(st.verdicts[IN][FW_WHY_POLICY], 2);
	assert_int_equal(st.verdicts[IN][FW_WHY_ESTABLISHED], 0);
	assert_int_equal(st.verdicts[FWD][FW_WHY_POLICY], 0);

	rs = fw_prog_ruleset(prog);
	assert_non_null(rs);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT_CUST");
	assert_non_null(c);
	assert_int_equal(c->n_rules, 3);
	/* 6 TCP packets reached the LOG and the count-only rule ... */
	assert_int_equal(c->rules[0].pkts, 7);
	assert_int_equal(c->rules[0].bytes, 7 * 40);
	assert_int_equal(c->rules[1].pkts, 7);
	/* ... 4 SSH ones the ACCEPT, on top of the 5 it came with. */
	assert_int_equal(c->rules[2].pkts, 5 + 4);
	assert_int_equal(c->rules[2].bytes, 500 + 4 * 40);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT");
	assert_int_equal(c->rules[0].pkts, 0);
	/* The policy decided 2 web packets, on top of [7:700]. */
	assert_int_equal(c->pkts, 7 + 2);
	assert_int_equal(c->bytes, 700 + 2 * 40);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "OUTPUT");
	assert_int_equal(c->pkts, 0);
	text = fw_ruleset_print(rs, FW_PRINT_COUNTERS);
	assert_non_null(text);
	assert_non_null(strstr(text, ":INPUT DROP [9:780]"));
	assert_non_null(strstr(text, "[9:660] -A INPUT_CUST -p tcp -m tcp --dport 22 -j ACCEPT"));
	free(text);

	/* The counters carry into the next program. */
	{
		struct fw_compile_env env;
		struct fw_errs errs;
		struct fw_prog *next = NULL;
		struct fw_ruleset *again;

		env_init(&env, false);
		assert_int_equal(fw_compile(rs, &env, &next, &errs), 0);
		eval_one(next, 0, IN, &ssh, 0, 0, &v);
		again = fw_prog_ruleset(next);
		c = fw_ruleset_chain(again, FW_TABLE_FILTER, "INPUT_CUST");
		assert_int_equal(c->rules[2].pkts, 10);
		fw_ruleset_free(again);
		fw_prog_free(next);
	}
	fw_ruleset_free(rs);
	fw_prog_free(prog);
	hg_log_set_level(HG_LOG_INFO);
}

static uint32_t nat_one(const struct fw_prog *prog, enum fw_nat_hook hook,
    const struct pspec *s);

/* rules (a whole restore text) compiled for IPv4. */
static struct fw_prog *
compile_text(const char *rules)
{
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs = parse_rules(rules, false);

	env_init(&env, false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	fw_ruleset_free(rs);
	return prog;
}

static uint64_t
verdicts(const struct fw_prog *prog, enum fw_hook hook, enum fw_why why)
{
	struct fw_prog_stats st;

	fw_prog_stats(prog, &st);
	return st.verdicts[hook][why];
}

/*
 * The verdict counters ("show firewall", /metrics) go on across every
 * kind of swap: a rule set compiled anew (a nat change, a restore, a
 * reload) takes over the totals of the program it replaced, a program
 * edited from the live one already has them, and a program kept by a
 * swap (the other family) is not counted twice.
 */
static void
test_counters_carry(void **state)
{
	const struct pspec ssh = TCP4(A, B, 40000, 22, SYN);
	const struct pspec web = TCP4(A, B, 40000, 80, SYN);
	static const char filter[] =
	    "*filter\n-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
	struct fw_ruleset *one;
	struct fw_prog *a, *b, *c, *d;
	struct fw_verdict v;
	struct fw_errs errs;

	(void)state;
	a = compile_text(filter);
	for (int i = 0; i < 3; i++)
		eval_one(a, (uint16_t)(i % 2), IN, &ssh, 0, 0, &v);
	eval_one(a, 0, IN, &web, 0, 0, &v);
	eval_one(a, 1, FWD, &web, FW_CT_ESTABLISHED, 0, &v);

	/* A nat rule added: the whole rule set compiled again. */
	b = compile_text("*filter\n-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
	    "COMMIT\n*nat\n-A PREROUTING_CUST -i eth0 -p tcp --dport 8080 "
	    "-j DNAT --to-destination 10.0.0.5:80\nCOMMIT\n");
	assert_int_equal(verdicts(b, IN, FW_WHY_RULE), 0);
	fw_prog_carry(b, a);
	assert_int_equal(verdicts(b, IN, FW_WHY_RULE), 3);
	assert_int_equal(verdicts(b, IN, FW_WHY_POLICY), 1);
	assert_int_equal(verdicts(b, FWD, FW_WHY_ESTABLISHED), 1);
	eval_one(b, 1, IN, &ssh, 0, 0, &v);
	assert_int_equal(verdicts(b, IN, FW_WHY_RULE), 4);
	/* Once only, and never from itself. */
	fw_prog_carry(b, a);
	fw_prog_carry(b, b);
	assert_int_equal(verdicts(b, IN, FW_WHY_RULE), 4);

	/* A filter rule added by editing the live program: the totals
	 * came with it; a carry must not add them again. */
	one = parse_rules("*filter\n-A INPUT_CUST -p udp -j ACCEPT\nCOMMIT\n",
	    false);
	assert_int_equal(fw_prog_edit(b, FW_EDIT_INSERT, "INPUT_CUST",
	    FW_EDIT_APPEND, &fw_ruleset_chain(one, FW_TABLE_FILTER,
	    "INPUT_CUST")->rules[0], &c, &errs), 0);
	fw_ruleset_free(one);
	fw_prog_carry(c, b);
	assert_int_equal(verdicts(c, IN, FW_WHY_RULE), 4);
	assert_int_equal(verdicts(c, IN, FW_WHY_POLICY), 1);
	eval_one(c, 0, IN, &web, 0, 0, &v);
	assert_int_equal(verdicts(c, IN, FW_WHY_POLICY), 2);

	/* Then a reload: compiled anew again, the sum of all three. */
	d = compile_text(filter);
	fw_prog_carry(d, c);
	assert_int_equal(verdicts(d, IN, FW_WHY_RULE), 4);
	assert_int_equal(verdicts(d, IN, FW_WHY_POLICY), 2);
	assert_int_equal(verdicts(d, FWD, FW_WHY_ESTABLISHED), 1);
	fw_prog_free(d);
	fw_prog_free(c);	/* b's rule set went to c */
	fw_prog_free(b);
	fw_prog_free(a);
}

/*
 * A reload reads rule files without counters: each rule that is still
 * there (same text, same chain, wherever it moved) keeps its counters,
 * nat rules included; a new or changed rule starts at zero, and a
 * rule the file gives counters keeps the file's.
 */
static void
test_ruleset_carry_counters(void **state)
{
	const struct pspec ssh = TCP4(A, B, 40000, 22, SYN);	/* 40 bytes */
	const struct pspec web = TCP4(A, B, 40000, 80, SYN);
	const struct pspec fwd = TCP4(A, "192.0.2.1", 40000, 8080, SYN);
	struct fw_ruleset *rs;
	const struct fw_chain *c;
	struct fw_verdict v;
	struct fw_prog *live;

	(void)state;
	live = compile_text("*filter\n"
	    "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
	    "-A INPUT_CUST -p tcp --dport 80 -j ACCEPT\n"
	    "-A INPUT_CUST -p tcp --dport 80 -j ACCEPT\n"
	    "COMMIT\n*nat\n"
	    "-A PREROUTING_CUST -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80\n"
	    "-A PREROUTING_CUST -p tcp --dport 8081 -j DNAT --to-destination 10.0.0.6:80\n"
	    "COMMIT\n");
	for (int i = 0; i < 3; i++)
		eval_one(live, 0, IN, &ssh, 0, 0, &v);
	for (int i = 0; i < 2; i++)
		eval_one(live, 1, IN, &web, 0, 0, &v);
	eval_one(live, 0, IN, &(struct pspec)UDP4(A, B, 1, 53), 0, 0, &v);
	assert_int_equal(nat_one(live, FW_NAT_PREROUTING, &fwd), 3);

	rs = parse_rules("*filter\n"
	    "-A INPUT_CUST -p udp -j ACCEPT\n"
	    "-A INPUT_CUST -p tcp --dport 80 -j ACCEPT\n"
	    "[1:2] -A INPUT_CUST -p tcp --dport 80 -j ACCEPT\n"
	    "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
	    "COMMIT\n*nat\n"
	    "-A PREROUTING_CUST -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80\n"
	    "-A PREROUTING_CUST -p tcp --dport 8081 -j DNAT --to-destination 10.0.0.7:80\n"
	    "COMMIT\n", false);
	assert_int_equal(fw_ruleset_carry_counters(rs, live), 0);
	c = fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT_CUST");
	assert_int_equal(c->rules[0].pkts, 0);		/* new */
	assert_int_equal(c->rules[1].pkts, 2);		/* the first :80 */
	assert_int_equal(c->rules[1].bytes, 2 * 40);
	assert_int_equal(c->rules[2].pkts, 1);		/* its own [1:2] */
	assert_int_equal(c->rules[2].bytes, 2);
	assert_int_equal(c->rules[3].pkts, 3);		/* :22, moved */
	assert_int_equal(c->rules[3].bytes, 3 * 40);
	/* The policy's packet (the UDP one), on the built-in chain. */
	assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER, "INPUT")->pkts, 1);
	c = fw_ruleset_chain(rs, FW_TABLE_NAT, "PREROUTING_CUST");
	assert_int_equal(c->rules[0].pkts, 1);
	assert_int_equal(c->rules[1].pkts, 0);		/* changed target */
	fw_ruleset_free(rs);

	/* The same for a program compiled from rule files, before it is
	 * published (a reload). */
	{
		struct fw_prog *next = compile_text("*filter\n"
		    "-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\nCOMMIT\n");
		struct fw_ruleset *back;

		assert_int_equal(fw_prog_carry_rules(next, live), 0);
		eval_one(next, 0, IN, &ssh, 0, 0, &v);
		back = fw_prog_ruleset(next);
		assert_non_null(back);
		assert_int_equal(fw_ruleset_chain(back, FW_TABLE_FILTER,
		    "INPUT_CUST")->rules[0].pkts, 3 + 1);
		fw_ruleset_free(back);
		fw_prog_free(next);
	}

	/* No live program, or one of the other family: nothing to carry. */
	rs = parse_rules("*filter\n-A INPUT_CUST -p tcp --dport 22 -j ACCEPT\n"
	    "COMMIT\n", true);
	assert_int_equal(fw_ruleset_carry_counters(rs, live), 0);
	assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "INPUT_CUST")->rules[0].pkts, 0);
	assert_int_equal(fw_ruleset_carry_counters(rs, NULL), 0);
	fw_ruleset_free(rs);
	fw_prog_free(live);
}

/* Runs fn with stderr (where hg_log writes) going to a file; returns
 * what was written, malloc'd. */
static char *
capture_stderr(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/test_eval_XXXXXX", *text;
	int fd, saved;
	off_t len;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn(arg);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	close(fd);
	return text;
}

static void
log_burst(void *arg)
{
	const struct fw_prog *prog = arg;
	const struct pspec ssh = TCP4(A, B, 40000, 22, SYN);
	struct fw_verdict v;

	for (int i = 0; i < 150; i++)
		eval_one(prog, 0, IN, &ssh, 0, 1000, &v);
	for (int i = 0; i < 150; i++)
		eval_one(prog, 1, IN, &ssh, 0, 1000, &v);
	/* A second later the window opens again. */
	for (int i = 0; i < 30; i++)
		eval_one(prog, 0, IN, &ssh, 0, 1000 + HG_NS_PER_S, &v);
}

static void
log_kinds(void *arg)
{
	const struct fw_prog *prog = arg;
	struct fw_verdict v;

	eval_one(prog, 0, FWD, &(struct pspec)UDP4(A, B, 5353, 53), 0, 0, &v);
	eval_one(prog, 0, FWD, &(struct pspec)ICMP4(A, B, 8, 0), 0, 0, &v);
	eval_one(prog, 0, FWD, &(struct pspec){ .src = A, .dst = B, .proto = 6,
	    .frag = 10 }, 0, 0, &v);
}

static void
log_v6(void *arg)
{
	struct fw_verdict v;

	eval_one(arg, 0, OUT, &(struct pspec)TCP6("2001:db8::1", "2001:db8::2",
	    1, 443, SYN | ACK), 0, 0, &v);
}

/* Fails naming what was there instead. */
static void
assert_has(const char *out, const char *needle)
{
	if (strstr(out, needle) == NULL)
		fail_msg("no \"%s\" in the log:\n%s", needle, out);
}

static unsigned
count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *at = s; (at = strstr(at, needle)) != NULL; at++)
		n++;
	return n;
}

static void
test_log(void **state)
{
	const struct pspec ssh = TCP4(A, B, 40000, 22, SYN);
	struct fw_prog_stats st;
	struct fw_verdict v;
	struct fw_prog *prog;
	char *out;

	(void)state;
	prog = compile_filter("-A INPUT_CUST -j LOG --log-level debug\n", false);
	/* Debug lines are not emitted at this level: nothing to limit. */
	hg_log_set_level(HG_LOG_INFO);
	for (int i = 0; i < 150; i++)
		eval_one(prog, 0, IN, &ssh, 0, 0, &v);
	fw_prog_stats(prog, &st);
	assert_int_equal(st.log_suppressed, 0);
	fw_prog_free(prog);

	/* 100 lines a second per worker, the rest counted. */
	prog = compile_filter("-A INPUT_CUST -j LOG --log-level info "
	    "--log-prefix \"t: \"\n", false);
	out = capture_stderr(log_burst, prog);
	assert_int_equal(count_lines(out, "fw: t: IN="), 100 + 100 + 30);
	assert_has(out, " info: fw: t: IN=eth0 OUT= "
	    "MAC=02:00:00:00:00:01:02:00:00:00:00:99:08:00 SRC=10.1.1.1 "
	    "DST=10.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=7 PROTO=TCP "
	    "SPT=40000 DPT=22 WINDOW=8192 RES=0x00 SYN URGP=0\n");
	free(out);
	fw_prog_stats(prog, &st);
	assert_int_equal(st.log_suppressed, 50 + 50);
	assert_int_equal(st.verdicts[IN][FW_WHY_POLICY], 330);
	fw_prog_free(prog);

	/* UDP, ICMP, a later fragment; the level maps warning to warn. */
	prog = compile_filter("-A FORWARD_CUST -j LOG --log-prefix \"f \"\n",
	    false);
	out = capture_stderr(log_kinds, prog);
	assert_has(out, "warn: fw: f IN=eth0 OUT=eth1 MAC=");
	assert_has(out, "PROTO=UDP SPT=5353 DPT=53 LEN=8\n");
	assert_has(out, "PROTO=ICMP TYPE=8 CODE=0\n");
	assert_has(out, "LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=7 "
	    "FRAG:10 PROTO=TCP\n");
	free(out);
	fw_prog_free(prog);

	/* IPv6, from the host side: no MAC, no IN. */
	prog = compile_filter("-A OUTPUT_CUST -j LOG --log-level err "
	    "--log-tcp-sequence\n", true);
	out = capture_stderr(log_v6, prog);
	assert_has(out, "error: fw: IN= OUT=eth1 SRC=2001:db8::1 "
	    "DST=2001:db8::2 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=1 "
	    "DPT=443 SEQ=1 ACK=0 WINDOW=8192 RES=0x00 ACK SYN URGP=0\n");
	free(out);
	fw_prog_free(prog);
}

/* --- limit -------------------------------------------------------------------------- */

static void
test_limit(void **state)
{
	const struct pspec ping = ICMP4(A, B, 8, 0);
	struct fw_verdict v;
	struct fw_prog *prog;
	uint64_t t0 = 5 * 1000000000ull;
	int acc = 0;

	(void)state;
	prog = compile_filter("-A INPUT_CUST -p icmp -m limit --limit 2/second "
	    "--limit-burst 3 -j ACCEPT\n", false);
	/* The burst first ... */
	for (int i = 0; i < 10; i++) {
		eval_one(prog, (uint16_t)(i % 2), IN, &ping, 0, t0, &v);
		acc += v.why == FW_WHY_RULE;
	}
	assert_int_equal(acc, 3);
	/* ... then one every half second ... */
	eval_one(prog, 0, IN, &ping, 0, t0 + 499999999ull, &v);
	assert_int_equal(v.why, FW_WHY_POLICY);
	eval_one(prog, 0, IN, &ping, 0, t0 + 500000000ull, &v);
	assert_int_equal(v.why, FW_WHY_RULE);
	eval_one(prog, 1, IN, &ping, 0, t0 + 500000000ull, &v);
	assert_int_equal(v.why, FW_WHY_POLICY);
	/* ... 10 packets over 5 seconds at 2/s all pass ... */
	acc = 0;
	for (int i = 1; i <= 10; i++) {
		eval_one(prog, 0, IN, &ping, 0, t0 + 500000000ull * (uint64_t)(i + 1), &v);
		acc += v.why == FW_WHY_RULE;
	}
	assert_int_equal(acc, 10);
	/* ... and an idle minute refills the burst, no more. */
	acc = 0;
	for (int i = 0; i < 10; i++) {
		eval_one(prog, 1, IN, &ping, 0, t0 + 70 * 1000000000ull, &v);
		acc += v.why == FW_WHY_RULE;
	}
	assert_int_equal(acc, 3);
	fw_prog_free(prog);

	/* iptables' default: 3/hour, burst 5; a packet the other matches
	 * refuse takes no token. */
	prog = compile_filter("-A INPUT_CUST -p icmp -m limit -j ACCEPT\n"
	    "-A INPUT_CUST -p udp -m limit -j ACCEPT\n", false);
	acc = 0;
	for (int i = 0; i < 8; i++) {
		eval_one(prog, 0, IN, &ping, 0, t0, &v);
		acc += v.why == FW_WHY_RULE;
	}
	assert_int_equal(acc, 5);
	eval_one(prog, 0, IN, &ping, 0, t0 + 1200ull * 1000000000ull, &v);
	assert_int_equal(v.why, FW_WHY_RULE);
	acc = 0;
	for (int i = 0; i < 6; i++) {
		eval_one(prog, 0, IN, &(struct pspec)UDP4(A, B, 1, 2), 0, t0, &v);
		acc += v.why == FW_WHY_RULE;
	}
	assert_int_equal(acc, 5);
	fw_prog_free(prog);
}

/* --- interfaces past 64 ---------------------------------------------------------------- */

static void
test_many_interfaces(void **state)
{
	static char names[80][FW_IFNAME_MAX];
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_ruleset *rs;
	struct fw_prog *prog = NULL;
	struct fw_verdict v;
	struct fw_ct_info ct;
	const struct pspec s = UDP4(A, B, 1, 2);
	struct pkt *p = make_pkt(&s);
	struct {
		uint16_t in;
		const char *want;
	} tries[] = {
		{ 3, "DROP policy" },			/* x3 */
		{ 7, "ACCEPT INPUT_CUST#2" },		/* x7 */
		{ 63, "ACCEPT INPUT_CUST#0" },		/* x63 */
		{ 70, "ACCEPT INPUT_CUST#2" },		/* x70, past the mask */
		{ 79, "REJECT/icmp-port-unreachable INPUT_CUST#1" },
		{ FW_IF_NONE, "DROP INPUT_CUST#3" },	/* no name */
		{ 200, "DROP INPUT_CUST#3" },		/* no such index */
	};
	char got[128];

	(void)state;
	for (int i = 0; i < 80; i++)
		snprintf(names[i], sizeof(names[i]), "x%d", i);
	rs = parse_rules("*filter\n-A INPUT_CUST -i x63 -j ACCEPT\n"
	    "-A INPUT_CUST -i x79 -j REJECT\n-A INPUT_CUST -i x7+ -j ACCEPT\n"
	    "-A INPUT_CUST ! -i x+ -j DROP\nCOMMIT\n", false);
	env_init(&env, false);
	env.n_if = 80;
	env.if_names = (const char (*)[FW_IFNAME_MAX])names;
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	make_ct(&ct, &s, 0, false, NULL);
	for (size_t i = 0; i < HG_ARRAY_SIZE(tries); i++) {
		struct fw_pkt fp = { .p = p, .in_if = tries[i].in,
		    .out_if = FW_IF_NONE, .ct = &ct };

		fw_eval(prog, 0, IN, &fp, 0, &v);
		verdict_str(prog, &v, got, sizeof(got));
		if (strcmp(got, tries[i].want) != 0)
			fail_msg("in_if %u: got %s, want %s", tries[i].in, got,
			    tries[i].want);
	}
	pkt_free(pool, p);
	fw_prog_free(prog);
	fw_ruleset_free(rs);
}

/* --- errors -------------------------------------------------------------------------------- */

static void
test_jump_loop(void **state)
{
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs;
	struct fw_rule r;
	struct fw_chain *b;
	char buf[1024];

	(void)state;
	/* The parser refuses loops; a rule set edited afterwards (or built
	 * by other code) reaches the compiler, which must refuse too. */
	rs = parse_rules("*filter\n:a -\n:b -\n-A INPUT_CUST -j a\n-A a -j b\n"
	    "-A b -p udp -j ACCEPT\nCOMMIT\n", false);
	b = fw_ruleset_chain(rs, FW_TABLE_FILTER, "b");
	memset(&r, 0, sizeof(r));
	r.family = FW_IPV4;
	r.target.kind = FW_T_JUMP;
	strcpy(r.target.chain, "a");
	r.line = 42;
	assert_int_equal(fw_chain_insert(b, 1, &r), 0);
	env_init(&env, false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_null(prog);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, 42);
	assert_non_null(strstr(errs.e[0].msg, "jump loop: a -> b -> a"));
	(void)fw_err_format(&errs.e[0], "rules", buf, sizeof(buf));
	assert_non_null(strstr(buf, "rules:42:"));
	assert_non_null(strstr(buf, "-A b -j a"));
	/* Refused the same without a place to put the errors. */
	assert_int_equal(fw_compile(rs, &env, &prog, NULL), -EINVAL);
	assert_null(prog);
	fw_ruleset_free(rs);

	/* A chain that jumps to itself, by goto. */
	rs = parse_rules("*filter\n:a -\nCOMMIT\n", false);
	r.target.kind = FW_T_GOTO;
	r.line = 7;
	assert_int_equal(fw_chain_insert(fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "a"), 0, &r), 0);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_int_equal(errs.e[0].line, 7);
	assert_non_null(strstr(errs.e[0].msg, "a -> a"));
	fw_ruleset_free(rs);

	/* A jump to a chain that is not there. */
	rs = parse_rules("*filter\nCOMMIT\n", false);
	r.target.kind = FW_T_JUMP;
	strcpy(r.target.chain, "gone");
	r.line = 3;
	assert_int_equal(fw_chain_insert(fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "INPUT_CUST"), 0, &r), 0);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_int_equal(errs.e[0].line, 3);
	assert_non_null(strstr(errs.e[0].msg, "no chain \"gone\""));
	fw_ruleset_free(rs);
}

/* INPUT_CUST -> c0 -> c1 -> ... -> c(n-1), which accepts. */
static char *
deep_rules(int n, int *jump_line)
{
	static char text[16384];
	size_t off = 0;
	int line = 1;

	off += (size_t)snprintf(text + off, sizeof(text) - off, "*filter\n");
	line++;
	for (int i = 0; i < n; i++, line++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, ":c%d -\n", i);
	*jump_line = line;
	off += (size_t)snprintf(text + off, sizeof(text) - off,
	    "-A INPUT_CUST -j c0\n");
	for (int i = 0; i + 1 < n; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "-A c%d -j c%d\n", i, i + 1);
	snprintf(text + off, sizeof(text) - off, "-A c%d -j ACCEPT\nCOMMIT\n",
	    n - 1);
	return text;
}

static void
test_jump_depth(void **state)
{
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs;
	struct fw_verdict v;
	char got[64];
	int line;

	(void)state;
	env_init(&env, false);
	/* 32 nested user chains below INPUT_CUST: the deepest allowed. */
	rs = parse_rules(deep_rules(FW_JUMP_DEPTH_MAX, &line), false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	eval_one(prog, 0, IN, &(struct pspec)UDP4(A, B, 1, 2), 0, 0, &v);
	verdict_str(prog, &v, got, sizeof(got));
	assert_string_equal(got, "ACCEPT c31#0");
	fw_prog_free(prog);
	fw_ruleset_free(rs);

	/* One more is refused, at the jump that goes too deep. */
	rs = parse_rules(deep_rules(FW_JUMP_DEPTH_MAX + 1, &line), false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_null(prog);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, line);
	assert_non_null(strstr(errs.e[0].msg, "INPUT_CUST -> c0"));
	assert_non_null(strstr(errs.e[0].msg, "limit is 32"));
	fw_ruleset_free(rs);

	/* Gotos replace the frame: a long goto chain is fine. */
	{
		char text[8192];
		size_t off = 0;

		off += (size_t)snprintf(text, sizeof(text), "*filter\n");
		for (int i = 0; i < 40; i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    ":g%d -\n", i);
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "-A INPUT_CUST -j g0\n");
		for (int i = 0; i < 39; i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "-A g%d -g g%d\n", i, i + 1);
		snprintf(text + off, sizeof(text) - off,
		    "-A g39 -j DROP\nCOMMIT\n");
		rs = parse_rules(text, false);
		assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
		eval_one(prog, 0, IN, &(struct pspec)UDP4(A, B, 1, 2), 0, 0, &v);
		verdict_str(prog, &v, got, sizeof(got));
		assert_string_equal(got, "DROP g39#0");
		fw_prog_free(prog);
		fw_ruleset_free(rs);
	}
}

static void
test_set_errors(void **state)
{
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs;
	struct fw_set *old;

	(void)state;
	rs = parse_rules("*filter\n-A INPUT_CUST -m set --match-set office src "
	    "-j ACCEPT\n-A INPUT_CUST -s ${nets} -j ACCEPT\n"
	    "-A INPUT_CUST -m set --match-set svc dst -j ACCEPT\n"
	    "-A INPUT_CUST -m set --match-set office6 src -j ACCEPT\nCOMMIT\n",
	    false);
	/* Without a registry no set exists. */
	env_init(&env, false);
	env.sets = NULL;
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_int_equal(errs.n, 4);
	assert_int_equal(errs.e[0].line, 2);
	assert_non_null(strstr(errs.e[0].msg, "no set named \"office\""));
	assert_non_null(strstr(errs.e[1].msg, "no set named \"nets\""));
	/* With it: a 2-dimensional set given one direction, and a set of
	 * the other family. */
	env.sets = sets;
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_int_equal(errs.n, 2);
	assert_int_equal(errs.e[0].line, 4);
	assert_non_null(strstr(errs.e[0].msg, "hash:ip,port"));
	assert_int_equal(errs.e[1].line, 5);
	assert_non_null(strstr(errs.e[1].msg, "IPv6"));
	fw_ruleset_free(rs);

	/* A compiled program holds its sets: they cannot be destroyed. */
	rs = parse_rules("*filter\n-A INPUT_CUST -s ${office} -j ACCEPT\nCOMMIT\n",
	    false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	assert_int_equal(fw_sets_destroy(sets, fw_sets_find(sets, "office"),
	    &old), -EBUSY);
	fw_prog_free(prog);
	fw_ruleset_free(rs);
	/* And the failed compiles above left no reference behind. */
	assert_int_equal(fw_sets_destroy(sets, fw_sets_find(sets, "nets"),
	    &old), 0);
	fw_set_free(old);
	/* Put it back for the other tests. */
	{
		struct fw_set **retired = NULL;
		size_t n_retired = 0;
		const char *t = "create nets hash:net family inet\n"
		    "add nets 192.168.7.0/24\n";

		assert_int_equal(fw_sets_restore(sets, t, strlen(t), &retired,
		    &n_retired, &errs), 0);
		for (size_t i = 0; i < n_retired; i++)
			fw_set_free(retired[i]);
		free(retired);
	}
}

static void
test_rule_at_and_nat(void **state)
{
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs, *back;
	enum fw_table_id t;
	const char *chain;
	uint32_t pos;

	(void)state;
	rs = parse_rules("*filter\n:u -\n-A INPUT_CUST -j u\n-A u -j DROP\n"
	    "-A u -j ACCEPT\nCOMMIT\n*nat\n"
	    "-A POSTROUTING_CUST -o eth0 -j MASQUERADE\n"
	    "-A PREROUTING_CUST -p tcp --dport 80 -j DNAT --to-destination 10.0.0.9\n"
	    "COMMIT\n", false);
	env_init(&env, false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	back = fw_prog_ruleset(prog);
	assert_true(fw_ruleset_equal(rs, back));
	fw_ruleset_free(back);
	/* Every rule of both tables has an index that names it back. */
	{
		struct fw_prog_stats st;
		unsigned seen_nat = 0;

		fw_prog_stats(prog, &st);
		assert_int_equal(st.n_rules, 5);
		for (uint32_t i = 0; i < st.n_rules; i++) {
			const struct fw_chain *c;

			fw_prog_rule_at(prog, i, &t, &chain, &pos);
			assert_non_null(chain);
			c = fw_ruleset_chain(rs, t, chain);
			assert_non_null(c);
			assert_true(pos < c->n_rules);
			seen_nat += t == FW_TABLE_NAT;
		}
		assert_int_equal(seen_nat, 2);
	}
	fw_prog_rule_at(prog, 1, &t, &chain, &pos);
	assert_int_equal(t, FW_TABLE_FILTER);
	fw_prog_free(prog);
	fw_ruleset_free(rs);
}

/* --- the nat table walk ---------------------------------------------------------------------- */

static uint32_t
nat_one(const struct fw_prog *prog, enum fw_nat_hook hook,
    const struct pspec *s)
{
	struct fw_ct_info ct;
	struct pkt *p = make_pkt(s);
	struct fw_pkt fp = {
		.p = p,
		.in_if = 0,
		.out_if = hook == FW_NAT_PREROUTING ? FW_IF_NONE : 1,
		.ct = &ct,
	};
	uint32_t rule;

	make_ct(&ct, s, FW_CT_NEW, false, NULL);
	rule = fw_eval_nat(prog, 0, hook, &fp, 0);
	pkt_free(pool, p);
	return rule;
}

/* The port forward and masquerade recipes; ACCEPT and RETURN in nat. */
static void
test_nat_walk(void **state)
{
	static const struct {
		const char *what;
		enum fw_nat_hook hook;
		struct pspec pkt;
		int want;	/* rule index, or -1: no translation; the
				   flat order is PREROUTING's own rules (0),
				   PREROUTING_CUST (1-3), POSTROUTING_CUST (4) */
	} nat_cases[] = {
		{ "port forward from the allowed source", FW_NAT_PREROUTING,
		  TCP4("198.51.100.7", "192.0.2.1", 40000, 3389, SYN), 2 },
		{ "port forward, other source", FW_NAT_PREROUTING,
		  TCP4("198.51.100.8", "192.0.2.1", 40000, 3389, SYN), -1 },
		{ "ACCEPT in nat stops the walk: no translation",
		  FW_NAT_PREROUTING,
		  TCP4("198.51.100.9", "192.0.2.1", 40000, 80, SYN), -1 },
		{ "RETURN from the customer chain reaches PREROUTING's own",
		  FW_NAT_PREROUTING,
		  TCP4("198.51.100.10", "192.0.2.1", 40000, 22, SYN), 0 },
		{ "masquerade out of if1", FW_NAT_POSTROUTING,
		  UDP4("10.0.1.5", "8.8.8.8", 5000, 53), 4 },
		{ "masquerade only from the VLAN", FW_NAT_POSTROUTING,
		  UDP4("10.9.1.5", "8.8.8.8", 5000, 53), -1 },
	};
	const struct fw_target *t;
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs;

	(void)state;
	rs = parse_rules("*nat\n"
	    "-A PREROUTING_CUST -s 198.51.100.9/32 -j ACCEPT\n"
	    "-A PREROUTING_CUST -s 198.51.100.7/32 -d 192.0.2.1/32 -p tcp "
	    "-m tcp --dport 3389 -j DNAT --to-destination 10.0.1.10\n"
	    "-A PREROUTING_CUST -s 198.51.100.10/32 -j RETURN\n"
	    "-A PREROUTING -p tcp -m tcp --dport 22 -j DNAT "
	    "--to-destination 10.0.1.22:2222\n"
	    "-A POSTROUTING_CUST -s 10.0.1.0/24 -o eth1 -j MASQUERADE\n"
	    "COMMIT\n", false);
	env_init(&env, false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
	assert_true(fw_prog_has_nat(prog));
	for (size_t i = 0; i < sizeof(nat_cases) / sizeof(nat_cases[0]); i++) {
		uint32_t got = nat_one(prog, nat_cases[i].hook, &nat_cases[i].pkt);
		uint32_t want = nat_cases[i].want < 0 ? FW_RULE_NONE :
		    (uint32_t)nat_cases[i].want;

		if (got != want)
			fail_msg("%s: rule %d, want %d", nat_cases[i].what,
			    got == FW_RULE_NONE ? -1 : (int)got, nat_cases[i].want);
	}
	t = fw_prog_target(prog, 2);
	assert_non_null(t);
	assert_int_equal(t->kind, FW_T_DNAT);
	assert_memory_equal(t->nat.addr_lo, ((uint8_t[]){ 10, 0, 1, 10 }), 4);
	t = fw_prog_target(prog, 0);
	assert_int_equal(t->nat.ports.lo, 2222);
	assert_int_equal(fw_prog_target(prog, 4)->kind, FW_T_MASQUERADE);
	assert_null(fw_prog_target(prog, 99));
	fw_prog_free(prog);
	fw_ruleset_free(rs);
	/* No nat rule: nothing to look at before the route lookup. */
	prog = compile_filter("-A FORWARD_CUST -j ACCEPT\n", false);
	assert_false(fw_prog_has_nat(prog));
	assert_int_equal(nat_one(prog, FW_NAT_PREROUTING,
	    &(struct pspec)TCP4(A, B, 1, 2, SYN)), FW_RULE_NONE);
	fw_prog_free(prog);
}

/* The data plane runs every COPY rule it gets: a 17th is refused, with
 * its line. */
static void
test_copy_limit(void **state)
{
	char text[4096];
	size_t len = 0;
	struct fw_compile_env env;
	struct fw_errs errs;
	struct fw_prog *prog = NULL;
	struct fw_ruleset *rs;

	(void)state;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "*filter\n");
	for (int i = 0; i <= FW_COPY_RULES_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "-A MACRO_CUST -j COPY --from eth0 --to 10.9.0.%d\n", i + 1);
	snprintf(text + len, sizeof(text) - len, "COMMIT\n");
	rs = parse_rules(text, false);
	env_init(&env, false);
	assert_int_equal(fw_compile(rs, &env, &prog, &errs), -EINVAL);
	assert_null(prog);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, FW_COPY_RULES_MAX + 2);
	assert_non_null(strstr(errs.e[0].msg, "more than 16 COPY rules"));
	fw_ruleset_free(rs);
}

/* --- against a reference walker ------------------------------------------------------------- */

/*
 * A deliberately simple walk over the IR itself, recursive, written
 * from the iptables rules and not from eval.c: a reduced vocabulary
 * (-s, -d with masks and !, -p, --dport with ranges and !) and every
 * control target. Rule sets are random text through the real parser.
 */
struct rpkt {
	uint32_t src, dst;	/* host order */
	uint8_t proto;
	uint16_t dport;
	uint8_t ct;		/* FW_CT_*, 0 for none */
};

struct rverdict {
	int kind;		/* FW_VERDICT_* */
	int why;
	const char *chain;
	uint32_t pos;
};

enum { R_DECIDED, R_RETURN };

static bool
ref_addr(const struct fw_addr_list *al, uint32_t a)
{
	bool hit = false;

	if (al->n == 0)
		return true;
	for (unsigned i = 0; i < al->n; i++) {
		uint32_t n, m;

		memcpy(&n, al->a[i].addr, 4);
		memcpy(&m, al->a[i].mask, 4);
		if ((a & ntohl(m)) == ntohl(n))
			hit = true;
	}
	return hit != al->neg;
}

static bool
ref_match(const struct fw_rule *r, const struct rpkt *p)
{
	if (!ref_addr(&r->src, p->src) || !ref_addr(&r->dst, p->dst))
		return false;
	if (r->has_proto && (p->proto == r->proto) == r->proto_neg)
		return false;
	if (r->tcp.has_dport || r->udp.has_dport) {
		const struct fw_match_ports *m = r->proto == 6 ? &r->tcp : &r->udp;
		bool in = p->dport >= m->dport.lo && p->dport <= m->dport.hi;

		if (in == m->dport_neg)
			return false;
	}
	return true;
}

static int
ref_chain(const struct fw_ruleset *rs, const char *name, const struct rpkt *p,
    struct rverdict *v, uint64_t *hits, int depth)
{
	const struct fw_chain *c = fw_ruleset_chain(rs, FW_TABLE_FILTER, name);
	int res;

	assert_true(depth < 64);
	for (uint32_t j = 0; j < c->n_rules; j++) {
		const struct fw_rule *r = &c->rules[j];

		if (!ref_match(r, p))
			continue;
		hits[r->line]++;
		switch (r->target.kind) {
		case FW_T_ACCEPT:
		case FW_T_DROP:
		case FW_T_REJECT:
			v->kind = r->target.kind == FW_T_ACCEPT ? FW_VERDICT_ACCEPT :
			    r->target.kind == FW_T_DROP ? FW_VERDICT_DROP :
			    FW_VERDICT_REJECT;
			v->why = FW_WHY_RULE;
			v->chain = c->name;
			v->pos = j;
			return R_DECIDED;
		case FW_T_RETURN:
			return R_RETURN;
		case FW_T_JUMP:
			res = ref_chain(rs, r->target.chain, p, v, hits, depth + 1);
			if (res == R_DECIDED)
				return R_DECIDED;
			break;
		case FW_T_GOTO:
			/* Whatever the target does is what this chain does. */
			return ref_chain(rs, r->target.chain, p, v, hits, depth + 1);
		default:
			break;
		}
	}
	return R_RETURN;
}

static void
ref_eval(const struct fw_ruleset *rs, const struct rpkt *p, uint64_t *hits,
    struct rverdict *v)
{
	memset(v, 0, sizeof(*v));
	if (ref_chain(rs, "FORWARD_CUST", p, v, hits, 0) == R_DECIDED ||
	    ref_chain(rs, "FORWARD", p, v, hits, 0) == R_DECIDED)
		return;
	v->chain = NULL;
	if (p->ct == FW_CT_ESTABLISHED || p->ct == FW_CT_RELATED) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_ESTABLISHED;
	} else if (p->ct == 0 || p->ct == FW_CT_INVALID) {
		v->kind = FW_VERDICT_DROP;
		v->why = FW_WHY_INVALID;
	} else if (p->ct == FW_CT_UNTRACKED) {
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_UNTRACKED;
	} else if ((p->src >> 16) == 0x0a63) {	/* 10.99.0.0/16 */
		v->kind = FW_VERDICT_ACCEPT;
		v->why = FW_WHY_KNOWN_NET;
	} else {
		v->kind = fw_ruleset_chain(rs, FW_TABLE_FILTER, "FORWARD")->policy ==
		    FW_POLICY_ACCEPT ? FW_VERDICT_ACCEPT : FW_VERDICT_DROP;
		v->why = FW_WHY_POLICY;
	}
}

/* Few values, so that rules and packets meet often. */
static const char *const r_nets[] = {
	"10.0.0.0/8", "10.1.0.0/16", "10.1.1.0/24", "10.1.1.1", "10.2.0.0/15",
	"10.99.0.0/16", "192.168.0.0/16", "0.0.0.0/0", "10.1.0.0/255.255.0.255",
};
static const uint32_t r_addrs[] = {
	0x0a010101, 0x0a010102, 0x0a010201, 0x0a020304, 0x0a030101,
	0x0a630001, 0xc0a80101, 0x08080808,
};
#define R_CHAINS	4

static size_t
rand_rule(uint64_t *rng, char *buf, size_t size, int chain)
{
	size_t off = 0;
	uint64_t r = test_rand(rng);
	int proto = (int)(r % 4);	/* none, tcp, udp, icmp */
	bool proto_neg = (r >> 30 & 7) == 0;

#define APPEND(...) off += (size_t)snprintf(buf + off, size - off, __VA_ARGS__)
	if (r >> 8 & 1)
		APPEND(" %s-s %s", (r >> 9 & 3) == 0 ? "! " : "",
		    r_nets[(r >> 11) % HG_ARRAY_SIZE(r_nets)]);
	if (r >> 16 & 1)
		APPEND(" %s-d %s%s%s", (r >> 17 & 3) == 0 ? "! " : "",
		    r_nets[(r >> 19) % HG_ARRAY_SIZE(r_nets)],
		    (r >> 23 & 3) == 0 ? "," : "",
		    (r >> 23 & 3) == 0 ? r_nets[(r >> 25) % HG_ARRAY_SIZE(r_nets)] : "");
	if (proto != 0)
		APPEND(" %s-p %s", proto_neg ? "! " : "",
		    proto == 1 ? "tcp" : proto == 2 ? "udp" : "icmp");
	/* --dport needs a protocol that is not negated. */
	if ((proto == 1 || proto == 2) && !proto_neg && (r >> 33 & 1)) {
		unsigned lo = (unsigned)((r >> 34) % 4) * 20 + 20;

		if (r >> 36 & 1)
			APPEND(" %s--dport %u:%u", (r >> 37 & 3) == 0 ? "! " : "",
			    lo, lo + (unsigned)(r >> 39 & 31));
		else
			APPEND(" %s--dport %u", (r >> 37 & 3) == 0 ? "! " : "", lo);
	}
	switch ((r >> 44) % 9) {
	case 0: APPEND(" -j ACCEPT"); break;
	case 1: APPEND(" -j DROP"); break;
	case 2: APPEND(" -j REJECT"); break;
	case 3: APPEND(" -j RETURN"); break;
	case 4:
	case 5:
		/* Only forward: no loops. */
		if (chain + 1 < R_CHAINS)
			APPEND(" -%c u%d", (r >> 48 & 3) == 0 ? 'g' : 'j',
			    chain + 1 + (int)((r >> 50) % (uint64_t)(R_CHAINS - chain - 1)));
		break;
	case 6: APPEND(" -j LOG --log-level debug"); break;
	default: break;	/* count only */
	}
#undef APPEND
	return off;
}

/* Chain -1 is FORWARD_CUST, -2 FORWARD, 0.. user chains u0.. */
static char *
rand_ruleset(uint64_t *rng)
{
	static char text[32768];
	size_t off = 0;
	int n;

	off += (size_t)snprintf(text, sizeof(text), "*filter\n:FORWARD %s [0:0]\n",
	    test_rand(rng) & 1 ? "ACCEPT" : "DROP");
	for (int i = 0; i < R_CHAINS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, ":u%d -\n", i);
	for (int c = -2; c < R_CHAINS; c++) {
		n = (int)(test_rand(rng) % 7);
		for (int i = 0; i < n; i++) {
			const char *name = c == -2 ? "FORWARD" :
			    c == -1 ? "FORWARD_CUST" : NULL;

			if (name != NULL)
				off += (size_t)snprintf(text + off, sizeof(text) - off,
				    "-A %s", name);
			else
				off += (size_t)snprintf(text + off, sizeof(text) - off,
				    "-A u%d", c);
			/* From a built-in chain any user chain may be called. */
			off += rand_rule(rng, text + off, sizeof(text) - off,
			    c < 0 ? -1 : c);
			off += (size_t)snprintf(text + off, sizeof(text) - off, "\n");
		}
	}
	snprintf(text + off, sizeof(text) - off, "COMMIT\n");
	return text;
}

static void
test_reference(void **state)
{
	static const uint8_t cts[] = {
		0, FW_CT_NEW, FW_CT_NEW, FW_CT_NEW, FW_CT_ESTABLISHED,
		FW_CT_RELATED, FW_CT_INVALID, FW_CT_UNTRACKED,
	};
	uint64_t rng = 0x5eed0f1e3a11ull;
	unsigned pairs = 0, decided_by_rule = 0;
	struct fw_compile_env env;

	(void)state;
	env_init(&env, false);
	env.n_workers = 1;
	hg_log_set_level(HG_LOG_INFO);
	for (int round = 0; round < 300; round++) {
		uint64_t hits[256] = { 0 };
		const char *text = rand_ruleset(&rng);
		struct fw_ruleset *rs = parse_rules(text, false), *back;
		struct fw_prog *prog = NULL;
		struct fw_errs errs;

		assert_int_equal(fw_compile(rs, &env, &prog, &errs), 0);
		for (int k = 0; k < 20; k++, pairs++) {
			uint64_t r = test_rand(&rng);
			struct rpkt rp = {
				.src = r_addrs[r % HG_ARRAY_SIZE(r_addrs)],
				.dst = r_addrs[(r >> 8) % HG_ARRAY_SIZE(r_addrs)],
				.proto = (uint8_t[]){ 6, 17, 1, 47 }[(r >> 16) % 4],
				.dport = (uint16_t)(20 + (r >> 20) % 100),
				.ct = cts[(r >> 30) % HG_ARRAY_SIZE(cts)],
			};
			char s[16], d[16];
			struct pspec ps;
			struct rverdict want;
			struct fw_verdict got;
			enum fw_table_id t;
			const char *chain = NULL;
			uint32_t pos = 0;

			snprintf(s, sizeof(s), "%u.%u.%u.%u", rp.src >> 24,
			    rp.src >> 16 & 255, rp.src >> 8 & 255, rp.src & 255);
			snprintf(d, sizeof(d), "%u.%u.%u.%u", rp.dst >> 24,
			    rp.dst >> 16 & 255, rp.dst >> 8 & 255, rp.dst & 255);
			ps = (struct pspec){ .src = s, .dst = d, .proto = rp.proto,
			    .sport = 999, .dport = rp.dport, .flags = SYN };
			ref_eval(rs, &rp, hits, &want);
			eval_one(prog, 0, FWD, &ps, rp.ct ? rp.ct : CT_NULL, 0, &got);
			if (got.why == FW_WHY_RULE)
				fw_prog_rule_at(prog, got.rule, &t, &chain, &pos);
			if (got.kind != want.kind || got.why != want.why ||
			    (want.why == FW_WHY_RULE && (chain == NULL ||
			    strcmp(chain, want.chain) != 0 || pos != want.pos)))
				fail_msg("round %d packet %d (%s > %s proto %u "
				    "dport %u ct %u): got %d/%d %s#%u, want "
				    "%d/%d %s#%u\nrules:\n%s", round, k, s, d,
				    rp.proto, rp.dport, rp.ct, got.kind, got.why,
				    chain ? chain : "-", pos, want.kind, want.why,
				    want.chain ? want.chain : "-", want.pos, text);
			decided_by_rule += got.why == FW_WHY_RULE;
		}
		/* Every rule counted the packets the reference saw it match. */
		back = fw_prog_ruleset(prog);
		for (uint32_t i = 0; i < back->tables[0].n_chains; i++) {
			const struct fw_chain *c = &back->tables[0].chains[i];

			for (uint32_t j = 0; j < c->n_rules; j++)
				if (c->rules[j].pkts != hits[c->rules[j].line])
					fail_msg("round %d: line %u counted %llu, "
					    "reference %llu\n%s", round,
					    c->rules[j].line,
					    (unsigned long long)c->rules[j].pkts,
					    (unsigned long long)hits[c->rules[j].line],
					    text);
		}
		fw_ruleset_free(back);
		fw_prog_free(prog);
		fw_ruleset_free(rs);
	}
	/* The random sets must exercise the rules, not only the defaults. */
	assert_true(pairs == 6000);
	assert_true(decided_by_rule > pairs / 5);
}

/* --- set-up --------------------------------------------------------------------------------- */

static int
setup(void **state)
{
	const char *text =
	    "create office hash:ip family inet\n"
	    "add office 10.0.0.1\n"
	    "create nets hash:net family inet\n"
	    "add nets 192.168.7.0/24\n"
	    "create svc hash:ip,port family inet\n"
	    "add svc 10.0.0.5,tcp:443\n"
	    "create office6 hash:ip family inet6\n"
	    "add office6 2001:db8::7\n";
	struct fw_set **retired = NULL;
	size_t n_retired = 0;
	struct fw_errs errs;

	(void)state;
	hg_log_init("test_eval", HG_LOG_INFO, false);
	if (pkt_pool_create(&pool, 64) != 0)
		return -1;
	sets = fw_sets_new();
	if (sets == NULL || fw_sets_restore(sets, text, strlen(text), &retired,
	    &n_retired, &errs) != 0)
		return -1;
	free(retired);
	memset(known4, 0, sizeof(known4));
	memcpy(peer4.addr, (uint8_t[]){ 10, 7, 7, 7 }, 4);
	memset(peer4.mask, 0xff, 4);
	memcpy(known4[0].addr, (uint8_t[]){ 10, 99, 0, 0 }, 4);
	memcpy(known4[0].mask, (uint8_t[]){ 255, 255, 0, 0 }, 4);
	memcpy(known4[1].addr, (uint8_t[]){ 10, 98, 0, 0 }, 4);
	memcpy(known4[1].mask, (uint8_t[]){ 255, 255, 0, 0 }, 4);
	memset(&known6, 0, sizeof(known6));
	memcpy(known6.addr, (uint8_t[]){ 0xfd, 0x99 }, 2);
	memcpy(known6.mask, (uint8_t[]){ 0xff, 0xff }, 2);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fw_sets_free(sets);
	pkt_pool_destroy(pool);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_counters_carry),
		cmocka_unit_test(test_ruleset_carry_counters),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_many_interfaces),
		cmocka_unit_test(test_jump_loop),
		cmocka_unit_test(test_jump_depth),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_rule_at_and_nat),
		cmocka_unit_test(test_nat_walk),
		cmocka_unit_test(test_copy_limit),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
