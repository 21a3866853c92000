/*
 * tests/unit/fw/test_classify.c: the classifier gives what the linear
 * walk gives.  Random rule sets (IPv4 and IPv6, chains long enough to be
 * classified, every address form, ports, protocols, modules, -m limit,
 * interfaces, sets, jumps, gotos, RETURN, LOG) are compiled twice; one
 * program runs fw_eval() or fw_eval_batch(), the other fw_eval_linear(),
 * on the same random packets, most of them drawn inside a rule so rules
 * meet their packets.  Every verdict, every rule's counters and every
 * verdict count must agree.
 *
 * `fw_test_classify` runs a bounded number of packets (make check);
 * `fw_test_classify --long` or HG_CLASSIFY_PACKETS=N runs more (make
 * bench).  HG_CLASSIFY_SEED=N replays one seed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/fw/fw.h"
#include "../../../src/fw/fw_priv.h"
#include "../../../src/fw/set.h"
#include "../../../src/lib/log.h"
#include "../../../src/pkt/pkt.h"

#define N_WORKERS	1
#define R_USER		4	/* user chains u0..u3 */

static struct pkt_pool *pool;
static struct fw_sets *sets;
static unsigned long n_packets = 300000;
static uint64_t seed = 0xc1a55f1e5eedull;

static const char if_names[][FW_IFNAME_MAX] = {
	"eth0", "eth1", "wan0", "vlan7", "tun0",
};

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
pick(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

/* --- random addresses ---------------------------------------------------- */

/* Few bases, so prefixes nest and collide; host bits random. */
static void
rand_addr(uint64_t *s, bool v6, uint8_t a[16])
{
	memset(a, 0, 16);
	if (!v6) {
		a[0] = pick(s, 8) == 0 ? 192 : 10;
		a[1] = (uint8_t)pick(s, 16);
		a[2] = (uint8_t)pick(s, 32);
		a[3] = (uint8_t)pick(s, 64);
		return;
	}
	a[0] = 0xfd;
	a[1] = (uint8_t)pick(s, 2);
	a[3] = (uint8_t)pick(s, 16);
	a[5] = (uint8_t)pick(s, 32);
	a[7] = (uint8_t)pick(s, 8);
	a[15] = (uint8_t)pick(s, 64);
}

/* Short prefixes are rare, or the first rules would take every packet. */
static const unsigned lens4[] = {
	0, 8, 12, 16, 20, 24, 24, 27, 30, 31, 32, 32, 32, 32, 32, 32,
};
static const unsigned lens6[] = {
	0, 16, 24, 32, 40, 48, 56, 64, 64, 96, 120, 128, 128, 128, 128, 128,
};

static void
fmt_addr(bool v6, const uint8_t a[16], char *buf, size_t size)
{
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)size);
}

/* "ADDR/LEN", or now and then a non-contiguous IPv4 mask. */
static void
rand_prefix(uint64_t *s, bool v6, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t b[16];

	rand_addr(s, v6, b);
	fmt_addr(v6, b, a, sizeof(a));
	if (!v6 && pick(s, 16) == 0)
		snprintf(buf, size, "%s/255.%u.255.0", a, pick(s, 2) ? 0u : 255u);
	else
		snprintf(buf, size, "%s/%u", a, v6 ? lens6[pick(s, 16)] :
		    lens4[pick(s, 16)]);
}

/* --- random rule sets ---------------------------------------------------- */

struct tbuf {
	char *s;
	size_t len, cap;
};

static void HG_PRINTF(2, 3)
tb(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->s == NULL) {
		b->cap = 256;
		b->s = malloc(b->cap);
		assert_non_null(b->s);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	b->len += (size_t)n;
}

static const char *
neg(uint64_t *s)
{
	return pick(s, 24) == 0 ? "! " : "";
}

static void
rand_ports(uint64_t *s, struct tbuf *b, const char *opt)
{
	unsigned lo = pick(s, 4) == 0 ? pick(s, 65536) : 20 + pick(s, 12) * 10;

	unsigned hi = lo + pick(s, 200);
	const char *n = neg(s);

	if (pick(s, 2))
		tb(b, " %s%s %u", n, opt, lo);
	else
		tb(b, " %s%s %u:%u", n, opt, lo, HG_MIN(hi, 65535u));
}

/* chain: user chain index, or -1 for a built-in one (may call any);
 * input: INPUT_CUST, where -o is refused. */
static void
rand_rule(uint64_t *s, struct tbuf *b, bool v6, int chain, bool input)
{
	char p[96];
	unsigned proto = pick(s, 10);	/* 0-3 none, 4-6 tcp, 7-8 udp, 9 icmp */
	bool has_ports = false, has_src = false;
	bool limit_first = pick(s, 40) == 0;

	if (pick(s, 4) != 0) {
		has_src = true;
		rand_prefix(s, v6, p, sizeof(p));
		tb(b, " %s-s %s", neg(s), p);
		if (pick(s, 12) == 0) {
			rand_prefix(s, v6, p, sizeof(p));
			tb(b, ",%s", p);
		}
	} else if (pick(s, 30) == 0) {
		tb(b, " %s-s ${%s}", neg(s), v6 ? "nets6" : "nets4");
	}
	/* Few rules match everything, or long chains would end early. */
	if (pick(s, 3) != 0 || (!has_src && pick(s, 8) != 0)) {
		rand_prefix(s, v6, p, sizeof(p));
		tb(b, " %s-d %s", neg(s), p);
	}
	if (pick(s, 10) == 0)
		tb(b, " %s-i %s", neg(s), pick(s, 2) ? "eth+" : if_names[pick(s,
		    HG_ARRAY_SIZE(if_names))]);
	if (!input && pick(s, 15) == 0)
		tb(b, " %s-o %s", neg(s), if_names[pick(s,
		    HG_ARRAY_SIZE(if_names))]);
	if (!v6 && pick(s, 40) == 0)
		tb(b, " %s-f", neg(s));
	if (limit_first)
		tb(b, " -m limit --limit %u/sec --limit-burst 2", 1 + pick(s, 5));
	if (proto >= 4 && proto <= 8) {
		const char *name = proto <= 6 ? "tcp" : "udp";
		bool pneg = pick(s, 20) == 0;

		tb(b, " %s-p %s", pneg ? "! " : "", name);
		if (!pneg && pick(s, 4) != 0) {
			has_ports = true;
			tb(b, " -m %s", name);
			if (pick(s, 4) == 0)
				rand_ports(s, b, "--sport");
			if (pick(s, 5) != 0)
				rand_ports(s, b, "--dport");
			if (proto <= 6 && pick(s, 10) == 0)
				tb(b, " --tcp-flags SYN,ACK SYN");
		}
		if (!pneg && !has_ports && pick(s, 8) == 0)
			tb(b, " -m multiport --dports %u,%u:%u", 20 + pick(s, 12) * 10,
			    60 + pick(s, 4), 80 + pick(s, 30));
	} else if (proto == 9) {
		tb(b, " -p %s", v6 ? "ipv6-icmp" : "icmp");
	} else if (proto == 3) {
		tb(b, " %s-p %u", neg(s), 47u);
	}
	if (pick(s, 10) == 0) {
		const char *n = pick(s, 5) == 0 ? "! " : "";

		tb(b, " -m conntrack %s--ctstate %s", n, pick(s, 2) ? "NEW" :
		    "NEW,ESTABLISHED");
	}
	if (pick(s, 25) == 0)
		tb(b, " -m state %s--state RELATED", neg(s));
	if (!limit_first && pick(s, 40) == 0)
		tb(b, " -m limit --limit %u/sec --limit-burst 3", 1 + pick(s, 5));
	switch (pick(s, 20)) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		tb(b, " -j ACCEPT");
		break;
	case 5:
	case 6:
	case 7:
	case 8:
		tb(b, " -j DROP");
		break;
	case 9:
		tb(b, " -j REJECT");
		break;
	case 10:
		tb(b, " -j RETURN");
		break;
	case 11:
		if (chain + 1 < R_USER)
			tb(b, " -%c u%d", pick(s, 4) == 0 ? 'g' : 'j', chain + 1 +
			    (int)pick(s, (unsigned)(R_USER - chain - 1)));
		break;
	case 12:
		tb(b, " -j LOG --log-level debug");
		break;
	default:
		break;	/* count only */
	}
	tb(b, "\n");
}

/* Rules for one pair of prefixes, one port each, as a service list has
 * them: more than a table entry holds, so the classifier keys some of
 * them on protocol and port as well. */
static void
rand_cluster(uint64_t *s, struct tbuf *b, bool v6, const char *chain,
    int user)
{
	char sp[96], dp[96];
	unsigned n = 10 + pick(s, 20);

	rand_prefix(s, v6, sp, sizeof(sp));
	rand_prefix(s, v6, dp, sizeof(dp));
	for (unsigned i = 0; i < n; i++) {
		const char *proto = pick(s, 3) ? "tcp" : "udp";

		if (chain != NULL)
			tb(b, "-A %s", chain);
		else
			tb(b, "-A u%d", user);
		tb(b, " -s %s -d %s -p %s -m %s --dport %u -j %s\n", sp, dp,
		    proto, proto, 20 + pick(s, 12) * 10 + pick(s, 3),
		    pick(s, 2) ? "ACCEPT" : "DROP");
	}
}

static char *
rand_ruleset(uint64_t *s, bool v6)
{
	struct tbuf b = { 0 };
	unsigned big = pick(s, 4) == 0 ? 1500 : 300;
	/* The long chain is FORWARD or FORWARD_CUST: the first chain a
	 * hook walks is the one fw_eval_batch() looks up in a batch. */
	bool cust_big = pick(s, 2) == 0;

	tb(&b, "*filter\n:FORWARD %s [0:0]\n:INPUT %s [0:0]\n",
	    pick(s, 2) ? "ACCEPT" : "DROP", pick(s, 2) ? "ACCEPT" : "DROP");
	for (int i = 0; i < R_USER; i++)
		tb(&b, ":u%d - [0:0]\n", i);
	for (int c = -3; c < R_USER; c++) {
		static const char *const builtin[] = {
			"INPUT_CUST", "FORWARD", "FORWARD_CUST",
		};
		unsigned n = c == -1 ? pick(s, cust_big ? big : 12) :
		    c == -2 ? pick(s, cust_big ? 12 : big) : pick(s, 60);

		for (unsigned i = 0; i < n; i++) {
			if (pick(s, 60) == 0) {
				rand_cluster(s, &b, v6, c < 0 ? builtin[c + 3] :
				    NULL, c);
				continue;
			}
			if (c < 0)
				tb(&b, "-A %s", builtin[c + 3]);
			else
				tb(&b, "-A u%d", c);
			rand_rule(s, &b, v6, c < 0 ? -1 : c, c == -3);
		}
	}
	tb(&b, "COMMIT\n");
	return b.s;
}

/* --- packets ------------------------------------------------------------- */

static void
put16(uint8_t *b, uint16_t v)
{
	v = htons(v);
	memcpy(b, &v, 2);
}

struct rpkt {
	bool v6;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport, frag;
	uint8_t flags;
};

static struct pkt *
make_pkt(const struct rpkt *r)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *b;
	uint16_t off = ETH_HDR_LEN, l4_len;

	assert_non_null(p);
	b = p->data;
	memcpy(b, (uint8_t[]){ 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 }, 12);
	put16(b + 12, r->v6 ? ETH_P_IPV6 : ETH_P_IP);
	l4_len = r->proto == IPPROTO_TCP_ ? 20 : 8;
	if (r->v6) {
		struct ip6_hdr *ip = (void *)(b + off);

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow_be = htonl(6u << 28);
		ip->plen_be = htons(l4_len);
		ip->nxt = r->proto;
		ip->hlim = 64;
		memcpy(ip->src, r->src, 16);
		memcpy(ip->dst, r->dst, 16);
		off += IP6_HDR_LEN;
	} else {
		struct ip4_hdr *ip = (void *)(b + off);

		memset(ip, 0, sizeof(*ip));
		ip->ver_ihl = 0x45;
		ip->tot_len_be = htons(IP4_HDR_LEN + l4_len);
		ip->frag_be = htons(r->frag);
		ip->ttl = 64;
		ip->proto = r->proto;
		memcpy(&ip->src_be, r->src, 4);
		memcpy(&ip->dst_be, r->dst, 4);
		pkt_ip4_set_csum(ip);
		off += IP4_HDR_LEN;
	}
	memset(b + off, 0, l4_len);
	if (r->proto == IPPROTO_ICMP_ || r->proto == IPPROTO_ICMPV6_) {
		b[off] = (uint8_t)r->sport;
	} else {
		put16(b + off, r->sport);
		put16(b + off + 2, r->dport);
		if (r->proto == IPPROTO_TCP_) {
			b[off + 12] = 0x50;
			b[off + 13] = r->flags;
		}
	}
	p->len = off + l4_len;
	assert_int_equal(pkt_parse(p, NULL), PKT_DROP_NONE);
	return p;
}

/* Half the packets start from a rule's own addresses, so the deep
 * prefixes are met; the rest from the address pool. */
static void
rand_pkt(uint64_t *s, bool v6, const struct fw_ruleset *rs, struct rpkt *r)
{
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1, 58, 47 };
	const struct fw_chain *c = fw_ruleset_chain(rs, FW_TABLE_FILTER,
	    "FORWARD_CUST");

	memset(r, 0, sizeof(*r));
	r->v6 = v6;
	rand_addr(s, v6, r->src);
	rand_addr(s, v6, r->dst);
	if (c->n_rules > 0 && pick(s, 2)) {
		const struct fw_rule *ru = &c->rules[pick(s, c->n_rules)];

		for (int i = 0; i < 16; i++) {
			if (ru->src.n > 0)
				r->src[i] = (uint8_t)((ru->src.a[0].addr[i] &
				    ru->src.a[0].mask[i]) |
				    (r->src[i] & ~ru->src.a[0].mask[i]));
			if (ru->dst.n > 0)
				r->dst[i] = (uint8_t)((ru->dst.a[0].addr[i] &
				    ru->dst.a[0].mask[i]) |
				    (r->dst[i] & ~ru->dst.a[0].mask[i]));
		}
		if (!v6)
			memset(r->src + 4, 0, 12), memset(r->dst + 4, 0, 12);
		/* Often its protocol and ports too. */
		if (ru->has_proto && !ru->proto_neg && pick(s, 2)) {
			const struct fw_match_ports *m = ru->proto == 6 ?
			    &ru->tcp : &ru->udp;

			r->proto = ru->proto;
			r->dport = m->has_dport ? (uint16_t)(m->dport.lo +
			    pick(s, m->dport.hi - m->dport.lo + 1u)) :
			    (uint16_t)pick(s, 65536);
			r->sport = m->has_sport ? (uint16_t)(m->sport.lo +
			    pick(s, m->sport.hi - m->sport.lo + 1u)) :
			    (uint16_t)pick(s, 65536);
			r->flags = pick(s, 2) ? 0x02 : 0x10;
			return;
		}
	}
	r->proto = protos[pick(s, HG_ARRAY_SIZE(protos))];
	if (r->proto == 1 && v6)
		r->proto = 58;
	if (r->proto == 58 && !v6)
		r->proto = 1;
	r->sport = (uint16_t)(pick(s, 3) ? 20 + pick(s, 12) * 10 + pick(s, 3) :
	    pick(s, 65536));
	r->dport = (uint16_t)(pick(s, 3) ? 20 + pick(s, 12) * 10 + pick(s, 3) :
	    pick(s, 65536));
	r->flags = pick(s, 2) ? 0x02 : 0x10;
	if (!v6 && pick(s, 30) == 0)
		r->frag = pick(s, 2) ? 0x2000 : 0x0010;
}

/* --- the check ----------------------------------------------------------- */

static struct fw_prog *
compile(const struct fw_ruleset *rs)
{
	struct fw_compile_env env = {
		.n_if = HG_ARRAY_SIZE(if_names),
		.if_names = if_names,
		.sets = sets,
		.n_workers = N_WORKERS,
	};
	struct fw_prog *prog;
	struct fw_errs errs;

	if (fw_compile(rs, &env, &prog, &errs) != 0)
		fail_msg("compile: %s", errs.n ? errs.e[0].msg : "?");
	return prog;
}

static void
check_counters(const struct fw_prog *a, const struct fw_prog *b,
    const char *text, uint64_t round_seed)
{
	struct fw_ruleset *ra = fw_prog_ruleset(a), *rb = fw_prog_ruleset(b);
	struct fw_prog_stats sa, sb;

	assert_non_null(ra);
	assert_non_null(rb);
	for (int t = 0; t < FW_TABLE_COUNT; t++)
		for (uint32_t i = 0; i < ra->tables[t].n_chains; i++) {
			const struct fw_chain *ca = &ra->tables[t].chains[i];
			const struct fw_chain *cb = &rb->tables[t].chains[i];

			for (uint32_t j = 0; j < ca->n_rules; j++)
				if (ca->rules[j].pkts != cb->rules[j].pkts ||
				    ca->rules[j].bytes != cb->rules[j].bytes)
					fail_msg("seed %llu: %s rule %u counted "
					    "%llu, linear %llu\n%s",
					    (unsigned long long)round_seed,
					    ca->name, j + 1,
					    (unsigned long long)ca->rules[j].pkts,
					    (unsigned long long)cb->rules[j].pkts,
					    text);
		}
	fw_prog_stats(a, &sa);
	fw_prog_stats(b, &sb);
	assert_memory_equal(sa.verdicts, sb.verdicts, sizeof(sa.verdicts));
	fw_ruleset_free(ra);
	fw_ruleset_free(rb);
}

struct totals {
	unsigned long packets, by_rule, deep, rounds, classified;
};

/* One rule set, packets through both programs. */
static void
one_round(uint64_t round_seed, unsigned long packets, struct totals *tot)
{
	static const uint8_t cts[] = {
		0, FW_CT_NEW, FW_CT_NEW, FW_CT_NEW, FW_CT_ESTABLISHED,
		FW_CT_RELATED, FW_CT_INVALID, FW_CT_UNTRACKED,
	};
	uint64_t s = round_seed;
	bool v6 = pick(&s, 3) == 0, batch = pick(&s, 2) == 0;
	char *text = rand_ruleset(&s, v6);
	struct fw_parse_opts opts = {
		.family = v6 ? FW_IPV6 : FW_IPV4,
		.sets = (const char *const[]){ "nets4", "nets6" },
		.n_sets = 2,
	};
	struct fw_ruleset *rs;
	struct fw_prog *a, *b;
	struct fw_errs errs;
	uint64_t now = 1000000000ull;

	if (fw_parse(text, strlen(text), &opts, &rs, &errs) != 0)
		fail_msg("parse: line %u: %s\n%s", errs.e[0].line,
		    errs.e[0].msg, text);
	a = compile(rs);
	b = compile(rs);
	while (packets > 0) {
		unsigned n = batch ? 1 + pick(&s, FW_BATCH_MAX) : 1;
		struct fw_pkt fps[FW_BATCH_MAX];
		struct fw_ct_info ct[FW_BATCH_MAX];
		struct fw_verdict va[FW_BATCH_MAX], vb;
		struct rpkt rp[FW_BATCH_MAX];
		enum fw_hook hook = pick(&s, 5) == 0 ? FW_HOOK_INPUT :
		    FW_HOOK_FORWARD;

		n = (unsigned)HG_MIN((unsigned long)n, packets);
		for (unsigned i = 0; i < n; i++) {
			rand_pkt(&s, v6, rs, &rp[i]);
			memset(&ct[i], 0, sizeof(ct[i]));
			ct[i].state = cts[pick(&s, HG_ARRAY_SIZE(cts))];
			fps[i] = (struct fw_pkt){
				.p = make_pkt(&rp[i]),
				.in_if = (uint16_t)pick(&s, 6),
				.out_if = hook == FW_HOOK_INPUT ? FW_IF_NONE :
				    (uint16_t)pick(&s, 5),
				.ct = ct[i].state ? &ct[i] : NULL,
			};
			if (fps[i].in_if == 5)
				fps[i].in_if = FW_IF_NONE;
		}
		if (n > 1)
			fw_eval_batch(a, 0, hook, fps, n, now, va);
		else
			fw_eval(a, 0, hook, &fps[0], now, &va[0]);
		for (unsigned i = 0; i < n; i++) {
			fw_eval_linear(b, 0, hook, &fps[i], now, &vb);
			if (va[i].kind != vb.kind || va[i].why != vb.why ||
			    (vb.why == FW_WHY_RULE && va[i].rule != vb.rule)) {
				char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

				fmt_addr(v6, rp[i].src, sa, sizeof(sa));
				fmt_addr(v6, rp[i].dst, da, sizeof(da));
				fail_msg("seed %llu: %s > %s proto %u %u > %u: "
				    "classifier %d/%d rule %u, linear %d/%d "
				    "rule %u\n%s", (unsigned long long)round_seed,
				    sa, da, rp[i].proto, rp[i].sport,
				    rp[i].dport, va[i].kind, va[i].why,
				    va[i].rule, vb.kind, vb.why, vb.rule, text);
			}
			if (vb.why == FW_WHY_RULE) {
				enum fw_table_id t;
				const char *chain;
				uint32_t pos;

				fw_prog_rule_at(b, vb.rule, &t, &chain, &pos);
				tot->by_rule++;
				tot->deep += pos >= 100;
			}
			pkt_free(pool, (struct pkt *)(uintptr_t)fps[i].p);
		}
		/* -m limit refills with time: both see the same clock. */
		now += pick(&s, 4) == 0 ? 300000000ull : 1000;
		packets -= n;
		tot->packets += n;
	}
	check_counters(a, b, text, round_seed);
	{
		struct fw_prog_stats st;

		fw_prog_stats(a, &st);
		tot->classified += st.mem_bytes > 0;
	}
	fw_prog_free(a);
	fw_prog_free(b);
	fw_ruleset_free(rs);
	free(text);
	tot->rounds++;
}

static void
test_equivalence(void **state)
{
	struct totals tot = { 0 };
	uint64_t s = seed;

	(void)state;
	hg_log_set_level(HG_LOG_INFO);
	if (getenv("HG_CLASSIFY_SEED") != NULL) {
		one_round(strtoull(getenv("HG_CLASSIFY_SEED"), NULL, 0), 20000,
		    &tot);
		return;
	}
	while (tot.packets < n_packets)
		one_round(rnd(&s), 2000 + pick(&s, 20000), &tot);
	printf("equivalence: %lu packets, %lu rule sets, %lu decided by a "
	    "rule (%lu past the 100th of its chain), 0 differences\n",
	    tot.packets, tot.rounds, tot.by_rule, tot.deep);
	/* The rule sets must exercise the rules, not only the defaults. */
	assert_true(tot.by_rule > tot.packets / 4);
	assert_true(tot.deep > tot.packets / 100);
}

/* --- edits ---------------------------------------------------------------- */

/* One random rule for chain, parsed alone; NULL when the parser refuses
 * it (a few random rules are nonsense there). */
static struct fw_ruleset *
parse_one(uint64_t *s, bool v6, const char *chain)
{
	struct fw_parse_opts opts = {
		.family = v6 ? FW_IPV6 : FW_IPV4,
		.sets = (const char *const[]){ "nets4", "nets6" },
		.n_sets = 2,
	};
	struct tbuf b = { 0 };
	struct fw_ruleset *rs;
	struct fw_errs errs;

	tb(&b, "*filter\n");
	for (int i = 0; i < R_USER; i++)
		tb(&b, ":u%d - [0:0]\n", i);
	tb(&b, "-A %s", chain);
	rand_rule(s, &b, v6, -1, strcmp(chain, "INPUT_CUST") == 0);
	tb(&b, "COMMIT\n");
	if (fw_parse(b.s, b.len, &opts, &rs, &errs) != 0)
		rs = NULL;
	free(b.s);
	return rs;
}

static uint64_t
total_pkts(const struct fw_prog *prog)
{
	struct fw_ruleset *rs = fw_prog_ruleset(prog);
	uint64_t n = 0;

	assert_non_null(rs);
	for (uint32_t i = 0; i < rs->tables[FW_TABLE_FILTER].n_chains; i++) {
		const struct fw_chain *c = &rs->tables[FW_TABLE_FILTER].chains[i];

		for (uint32_t j = 0; j < c->n_rules; j++)
			n += c->rules[j].pkts;
	}
	fw_ruleset_free(rs);
	return n;
}

/* Packets through the edited program (classifier) and a fresh compile
 * of the same rules (linear walk) must agree. */
static void
check_same(const struct fw_prog *edited, bool v6, uint64_t *s,
    uint64_t round_seed, int step)
{
	struct fw_ruleset *rs = fw_prog_ruleset(edited);
	struct fw_prog *ref = compile(rs);
	static uint64_t now = 1000000000ull;
	struct rpkt rp;

	for (int k = 0; k < 200; k++) {
		struct fw_ct_info ct = { .state = FW_CT_NEW };
		struct fw_verdict va, vb;
		struct fw_pkt fp;

		rand_pkt(s, v6, rs, &rp);
		fp = (struct fw_pkt){ .p = make_pkt(&rp), .in_if = 0,
		    .out_if = 1, .ct = &ct };
		/* -m limit buckets go on from the live program's: let them
		 * refill between packets, as a fresh one is full. */
		fw_eval(edited, 0, FW_HOOK_FORWARD, &fp, now, &va);
		fw_eval_linear(ref, 0, FW_HOOK_FORWARD, &fp, now, &vb);
		now += 100000000000ull;
		pkt_free(pool, (struct pkt *)(uintptr_t)fp.p);
		if (va.kind != vb.kind || va.why != vb.why ||
		    (vb.why == FW_WHY_RULE && va.rule != vb.rule))
			fail_msg("seed %llu edit %d: edited %d/%d rule %u, "
			    "compiled %d/%d rule %u",
			    (unsigned long long)round_seed, step, va.kind,
			    va.why, va.rule, vb.kind, vb.why, vb.rule);
	}
	fw_prog_free(ref);
	fw_ruleset_free(rs);
}

/*
 * Random edits one after another, each either kept or cancelled; after
 * each, the program must hold exactly the rule set the edits describe
 * (a copy edited the plain way) and classify as a fresh compile of it.
 */
static void
test_edits(void **state)
{
	static const char *const chains[] = {
		"FORWARD_CUST", "FORWARD_CUST", "FORWARD_CUST", "FORWARD",
		"INPUT_CUST",
	};
	uint64_t s = seed ^ 0xed17, total_edits = 0, fast = 0, cancelled = 0;

	(void)state;
	hg_log_set_level(HG_LOG_INFO);
	for (int round = 0; round < 12; round++) {
		uint64_t round_seed = rnd(&s), rs_ = round_seed;
		bool v6 = pick(&rs_, 3) == 0;
		char *text = rand_ruleset(&rs_, v6);
		struct fw_parse_opts opts = {
			.family = v6 ? FW_IPV6 : FW_IPV4,
			.sets = (const char *const[]){ "nets4", "nets6" },
			.n_sets = 2,
		};
		struct fw_ruleset *want;
		struct fw_prog *live;
		struct fw_errs errs;

		if (fw_parse(text, strlen(text), &opts, &want, &errs) != 0)
			fail_msg("parse: %s", errs.e[0].msg);
		live = compile(want);
		for (int step = 0; step < 60; step++) {
			const char *name = chains[pick(&rs_, 5)];
			struct fw_chain *c = fw_ruleset_chain(want,
			    FW_TABLE_FILTER, name);
			enum fw_edit_op op = (enum fw_edit_op)pick(&rs_, 3);
			struct fw_ruleset *one = NULL;
			const struct fw_rule *r = NULL;
			struct fw_prog *next;
			uint32_t pos;
			uint64_t before;
			int rc;

			if (c->n_rules == 0)
				op = FW_EDIT_INSERT;
			if (op != FW_EDIT_DELETE) {
				one = parse_one(&rs_, v6, name);
				if (one == NULL)
					continue;
				r = &fw_ruleset_chain(one, FW_TABLE_FILTER,
				    name)->rules[0];
			}
			pos = op == FW_EDIT_INSERT ?
			    (pick(&rs_, 2) ? c->n_rules :
			    pick(&rs_, c->n_rules + 1)) : pick(&rs_, c->n_rules);
			check_same(live, v6, &rs_, round_seed, step);
			before = total_pkts(live);
			rc = fw_prog_edit(live, op, name, pos, r, &next, &errs);
			total_edits++;
			if (rc == -ENOTSUP) {
				/* What the daemon does then: edit and compile. */
				struct fw_ruleset *cur = fw_prog_ruleset(live);
				struct fw_chain *cc = fw_ruleset_chain(cur,
				    FW_TABLE_FILTER, name);

				if (op != FW_EDIT_INSERT)
					fw_chain_delete_at(cc, pos);
				if (op != FW_EDIT_DELETE)
					assert_int_equal(fw_chain_insert(cc, pos,
					    r), 0);
				next = compile(cur);
				fw_ruleset_free(cur);
			} else {
				assert_int_equal(rc, 0);
				fast++;
				if (pick(&rs_, 5) == 0) {
					/* Dropped: live must be as it was. */
					fw_prog_edit_cancel(next);
					cancelled++;
					fw_ruleset_free(one);
					check_same(live, v6, &rs_, round_seed,
					    step);
					continue;
				}
			}
			/* A deleted rule takes its packets along. */
			if (op != FW_EDIT_INSERT)
				fw_chain_delete_at(c, pos);
			if (op != FW_EDIT_DELETE)
				assert_int_equal(fw_chain_insert(c, pos, r), 0);
			fw_ruleset_free(one);
			fw_prog_free(live);
			live = next;
			{
				struct fw_ruleset *got = fw_prog_ruleset(live);

				if (!fw_ruleset_equal(got, want))
					fail_msg("seed %llu edit %d: the program's "
					    "rules differ from the edited set",
					    (unsigned long long)round_seed, step);
				fw_ruleset_free(got);
			}
			/* Counters went on: no rule gained packets. */
			assert_true(total_pkts(live) <= before);
		}
		check_same(live, v6, &rs_, round_seed, 60);
		fw_prog_free(live);
		fw_ruleset_free(want);
		free(text);
	}
	printf("edits: %llu, %llu without a compile, %llu of them cancelled\n",
	    (unsigned long long)total_edits, (unsigned long long)fast,
	    (unsigned long long)cancelled);
	assert_true(fast > total_edits / 2);
	assert_true(cancelled > 0);
}

static int
setup(void **state)
{
	const char *text =
	    "create nets4 hash:net family inet\n"
	    "add nets4 10.1.0.0/16\n"
	    "add nets4 192.168.3.0/24\n"
	    "create nets6 hash:net family inet6\n"
	    "add nets6 fd00:0:0:1::/64\n";
	struct fw_set **retired = NULL;
	size_t n_retired = 0;
	struct fw_errs errs;

	(void)state;
	hg_log_init("test_classify", HG_LOG_INFO, false);
	if (pkt_pool_create(&pool, 64) != 0)
		return -1;
	sets = fw_sets_new();
	if (sets == NULL || fw_sets_restore(sets, text, strlen(text), &retired,
	    &n_retired, &errs) != 0)
		return -1;
	free(retired);
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
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equivalence),
		cmocka_unit_test(test_edits),
	};

	if (argc > 1 && strcmp(argv[1], "--long") == 0)
		n_packets = 10000000;
	if (getenv("HG_CLASSIFY_PACKETS") != NULL)
		n_packets = strtoul(getenv("HG_CLASSIFY_PACKETS"), NULL, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
