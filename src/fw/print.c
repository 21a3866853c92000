/*
 * src/fw/print.c: writes rules and rule sets back in the canonical form
 * iptables-save prints: -s, -d, -i, -o, -p, -f first, then the modules
 * in the order they were loaded (with the implied "-m tcp"), then the
 * target; addresses with their /LEN, ports and ICMP types as numbers.
 * Printing then parsing gives back the same rule (tests/unit/fw).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

void
fw_sbuf_printf(struct fw_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (b->nomem)
		return;
	room = b->cap > b->len ? b->cap - b->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->want += (size_t)n;
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return;
	}
	if (b->fixed) {
		b->len = b->cap ? b->cap - 1 : 0;
		return;
	}
	room = HG_MAX(b->cap * 2, b->len + (size_t)n + 256);
	char *s = realloc(b->s, room);
	if (s == NULL) {
		b->nomem = true;
		return;
	}
	b->s = s;
	b->cap = room;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, room - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static const char *
neg(bool n)
{
	return n ? "! " : "";
}

/* Prefix length of a contiguous mask, or -1. */
static int
mask_len(const uint8_t *mask, size_t n)
{
	int bits = 0;
	size_t i = 0;

	for (; i < n && mask[i] == 0xff; i++)
		bits += 8;
	if (i < n) {
		uint8_t m = mask[i];

		while (m & 0x80) {
			bits++;
			m = (uint8_t)(m << 1);
		}
		if (m != 0)
			return -1;
		for (i++; i < n; i++)
			if (mask[i] != 0)
				return -1;
	}
	return bits;
}

static void
put_host(struct fw_sbuf *b, uint8_t family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == FW_IPV6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	fw_sbuf_printf(b, "%s", s);
}

static void
put_prefix(struct fw_sbuf *b, uint8_t family, const struct fw_addr *a,
    bool host_bare)
{
	size_t n = family == FW_IPV6 ? 16 : 4;
	int len = mask_len(a->mask, n);

	put_host(b, family, a->addr);
	if (host_bare && len == (int)n * 8)
		return;
	if (len >= 0) {
		fw_sbuf_printf(b, "/%d", len);
	} else {
		fw_sbuf_printf(b, "/");
		put_host(b, family, a->mask);
	}
}

static void
put_addrs(struct fw_sbuf *b, const char *opt, const struct fw_rule *r,
    const struct fw_addr_list *al)
{
	if (al->n == 0 && al->set[0] == '\0')
		return;
	fw_sbuf_printf(b, " %s%s ", neg(al->neg), opt);
	if (al->set[0] != '\0') {
		fw_sbuf_printf(b, "${%s}", al->set);
		return;
	}
	for (unsigned i = 0; i < al->n; i++) {
		if (i)
			fw_sbuf_printf(b, ",");
		put_prefix(b, r->family, &al->a[i], false);
	}
}

/* iptables' xtables_save_string(): bare when it is safe, else quoted. */
static void
put_string(struct fw_sbuf *b, const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-");

	if (n > 0 && s[n] == '\0') {
		fw_sbuf_printf(b, " %s", s);
		return;
	}
	fw_sbuf_printf(b, " \"");
	for (; *s; s++)
		fw_sbuf_printf(b, "%s%c", strchr("\"\\'", *s) ? "\\" : "", *s);
	fw_sbuf_printf(b, "\"");
}

static void
put_range(struct fw_sbuf *b, const struct fw_port_range *p, char sep)
{
	if (p->lo == p->hi)
		fw_sbuf_printf(b, "%u", p->lo);
	else
		fw_sbuf_printf(b, "%u%c%u", p->lo, sep, p->hi);
}

static void
put_ports(struct fw_sbuf *b, const char *name, const struct fw_match_ports *m)
{
	fw_sbuf_printf(b, " -m %s", name);
	if (m->has_sport) {
		fw_sbuf_printf(b, " %s--sport ", neg(m->sport_neg));
		put_range(b, &m->sport, ':');
	}
	if (m->has_dport) {
		fw_sbuf_printf(b, " %s--dport ", neg(m->dport_neg));
		put_range(b, &m->dport, ':');
	}
	if (m->has_flags) {
		static const char *const names[] = {
			"FIN", "SYN", "RST", "PSH", "ACK", "URG",
		};
		const uint8_t v[2] = { m->flags_mask, m->flags_cmp };

		fw_sbuf_printf(b, " %s--tcp-flags", neg(m->flags_neg));
		for (int k = 0; k < 2; k++) {
			bool any = false;

			fw_sbuf_printf(b, " ");
			for (int i = 0; i < 6; i++)
				if (v[k] & (1 << i)) {
					fw_sbuf_printf(b, "%s%s", any ? "," : "",
					    names[i]);
					any = true;
				}
			if (!any)
				fw_sbuf_printf(b, "NONE");
		}
	}
}

static void
put_icmp(struct fw_sbuf *b, const struct fw_rule *r, bool v6)
{
	const struct fw_match_icmp *m = &r->icmp;

	fw_sbuf_printf(b, " -m %s %s--%s-type ", v6 ? "icmp6" : "icmp",
	    neg(m->neg), v6 ? "icmpv6" : "icmp");
	if (!v6 && m->type == 255 && m->code_lo == 0 && m->code_hi == 255) {
		fw_sbuf_printf(b, "any");
		return;
	}
	fw_sbuf_printf(b, "%u", m->type);
	if (m->code_lo == 0 && m->code_hi == 255)
		return;
	fw_sbuf_printf(b, "/%u", m->code_lo);
	if (m->code_hi != m->code_lo)
		fw_sbuf_printf(b, ":%u", m->code_hi);
}

static void
put_flag_names(struct fw_sbuf *b, const struct fw_kw *tab, size_t n,
    const int *order, size_t n_order, int v)
{
	bool any = false;

	(void)tab;
	(void)n;
	for (size_t i = 0; i < n_order; i++)
		if (v & order[i]) {
			const char *name = "?";

			for (size_t j = 0; j < n; j++)
				if (tab[j].val == order[i])
					name = tab[j].name;
			fw_sbuf_printf(b, "%s%s", any ? "," : "", name);
			any = true;
		}
}

static void
put_states(struct fw_sbuf *b, uint8_t st)
{
	/* iptables' order, by bit value. */
	static const int order[] = {
		FW_CT_INVALID, FW_CT_NEW, FW_CT_RELATED, FW_CT_ESTABLISHED,
		FW_CT_UNTRACKED, FW_CT_SNAT, FW_CT_DNAT,
	};

	put_flag_names(b, FW_KW(fw_kw_ctstates), order, HG_ARRAY_SIZE(order), st);
}

static void
put_conntrack(struct fw_sbuf *b, const struct fw_rule *r)
{
	static const char *const addr_opts[] = {
		"ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst",
	};
	static const char *const port_opts[] = {
		"ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport",
	};
	const struct fw_match_conntrack *m = &r->ct;

#define CT_HAS(o)	(m->present & (1u << (o)))
#define CT_NEG(o)	neg(m->neg & (1u << (o)))
	fw_sbuf_printf(b, " -m conntrack");
	if (CT_HAS(FW_CTO_STATE)) {
		fw_sbuf_printf(b, " %s--ctstate ", CT_NEG(FW_CTO_STATE));
		put_states(b, m->state);
	}
	if (CT_HAS(FW_CTO_PROTO))
		fw_sbuf_printf(b, " %s--ctproto %u", CT_NEG(FW_CTO_PROTO),
		    m->proto);
	for (int i = 0; i < 4; i++)
		if (CT_HAS(FW_CTO_ORIGSRC + i)) {
			fw_sbuf_printf(b, " %s--%s ", CT_NEG(FW_CTO_ORIGSRC + i),
			    addr_opts[i]);
			put_prefix(b, r->family, &m->addr[i], true);
		}
	for (int i = 0; i < 4; i++)
		if (CT_HAS(FW_CTO_ORIGSRCPORT + i)) {
			fw_sbuf_printf(b, " %s--%s ",
			    CT_NEG(FW_CTO_ORIGSRCPORT + i), port_opts[i]);
			put_range(b, &m->port[i], ':');
		}
	if (CT_HAS(FW_CTO_STATUS)) {
		static const int order[] = {
			FW_CTS_EXPECTED, FW_CTS_SEEN_REPLY, FW_CTS_ASSURED,
			FW_CTS_CONFIRMED,
		};

		fw_sbuf_printf(b, " %s--ctstatus ", CT_NEG(FW_CTO_STATUS));
		if (m->status == 0)
			fw_sbuf_printf(b, "NONE");
		put_flag_names(b, FW_KW(fw_kw_ctstatus), order,
		    HG_ARRAY_SIZE(order), m->status);
	}
	if (CT_HAS(FW_CTO_EXPIRE)) {
		fw_sbuf_printf(b, " %s--ctexpire %u", CT_NEG(FW_CTO_EXPIRE),
		    m->expire_lo_s);
		if (m->expire_hi_s != m->expire_lo_s)
			fw_sbuf_printf(b, ":%u", m->expire_hi_s);
	}
	if (CT_HAS(FW_CTO_DIR))
		fw_sbuf_printf(b, " --ctdir %s", m->dir_reply ? "REPLY" :
		    "ORIGINAL");
#undef CT_HAS
#undef CT_NEG
}

static void
put_match(struct fw_sbuf *b, const struct fw_rule *r, enum fw_match_kind k)
{
	static const char *const units[] = { "sec", "min", "hour", "day" };

	switch (k) {
	case FW_M_TCP:
		put_ports(b, "tcp", &r->tcp);
		break;
	case FW_M_UDP:
		put_ports(b, "udp", &r->udp);
		break;
	case FW_M_ICMP:
	case FW_M_ICMP6:
		put_icmp(b, r, k == FW_M_ICMP6);
		break;
	case FW_M_MULTIPORT:
		fw_sbuf_printf(b, " -m multiport %s--%s ", neg(r->multiport.neg),
		    r->multiport.dir == FW_MP_SRC ? "sports" :
		    r->multiport.dir == FW_MP_DST ? "dports" : "ports");
		for (unsigned i = 0; i < r->multiport.n; i++) {
			if (i)
				fw_sbuf_printf(b, ",");
			put_range(b, &r->multiport.p[i], ':');
		}
		break;
	case FW_M_CONNTRACK:
		put_conntrack(b, r);
		break;
	case FW_M_STATE:
		fw_sbuf_printf(b, " -m state %s--state ", neg(r->state.neg));
		put_states(b, r->state.state);
		break;
	case FW_M_IPRANGE:
		fw_sbuf_printf(b, " -m iprange");
		if (r->iprange.has_src) {
			fw_sbuf_printf(b, " %s--src-range ", neg(r->iprange.src_neg));
			put_host(b, r->family, r->iprange.src_lo);
			fw_sbuf_printf(b, "-");
			put_host(b, r->family, r->iprange.src_hi);
		}
		if (r->iprange.has_dst) {
			fw_sbuf_printf(b, " %s--dst-range ", neg(r->iprange.dst_neg));
			put_host(b, r->family, r->iprange.dst_lo);
			fw_sbuf_printf(b, "-");
			put_host(b, r->family, r->iprange.dst_hi);
		}
		break;
	case FW_M_COMMENT:
		fw_sbuf_printf(b, " -m comment --comment");
		put_string(b, r->comment);
		break;
	case FW_M_LIMIT:
		fw_sbuf_printf(b, " -m limit --limit %u/%s", r->limit.rate,
		    units[r->limit.unit & 3]);
		if (r->limit.burst != 5)
			fw_sbuf_printf(b, " --limit-burst %u", r->limit.burst);
		break;
	case FW_M_MAC:
		fw_sbuf_printf(b, " -m mac %s--mac-source "
		    "%02X:%02X:%02X:%02X:%02X:%02X", neg(r->mac.neg),
		    r->mac.src[0], r->mac.src[1], r->mac.src[2], r->mac.src[3],
		    r->mac.src[4], r->mac.src[5]);
		break;
	case FW_M_SET:
		fw_sbuf_printf(b, " -m set %s--match-set %s ", neg(r->set.neg),
		    r->set.name);
		for (unsigned i = 0; i < r->set.n_dims; i++)
			fw_sbuf_printf(b, "%s%s", i ? "," : "",
			    r->set.dst[i] ? "dst" : "src");
		break;
	case FW_M_LENGTH:
		fw_sbuf_printf(b, " -m length %s--length ", neg(r->length.neg));
		put_range(b, &(struct fw_port_range){ r->length.lo,
		    r->length.hi }, ':');
		break;
	case FW_M_TTL:
	case FW_M_HL: {
		static const char *const ops[] = { "eq", "eq", "lt", "gt" };
		const char *v = k == FW_M_TTL ? "ttl" : "hl";

		fw_sbuf_printf(b, " -m %s %s--%s-%s %u", v,
		    neg(r->ttl.op == FW_TTL_NE), v, ops[r->ttl.op & 3],
		    r->ttl.value);
		break;
	}
	case FW_M_PKTTYPE: {
		static const char *const types[] = {
			"unicast", "broadcast", "multicast",
		};

		fw_sbuf_printf(b, " -m pkttype %s--pkt-type %s",
		    neg(r->pkttype.neg), types[r->pkttype.type % 3]);
		break;
	}
	case FW_M_TCPMSS:
		fw_sbuf_printf(b, " -m tcpmss %s--mss ", neg(r->tcpmss.neg));
		put_range(b, &(struct fw_port_range){ r->tcpmss.lo,
		    r->tcpmss.hi }, ':');
		break;
	case FW_M_COUNT:
		break;
	}
}

static void
put_nat_addr(struct fw_sbuf *b, const struct fw_rule *r, const uint8_t *a)
{
	bool br = r->family == FW_IPV6 && r->target.nat.has_ports;

	fw_sbuf_printf(b, "%s", br ? "[" : "");
	put_host(b, r->family, a);
	fw_sbuf_printf(b, "%s", br ? "]" : "");
}

static void
put_nat_flags(struct fw_sbuf *b, uint8_t flags)
{
	if (flags & FW_NAT_RANDOM)
		fw_sbuf_printf(b, " --random");
	if (flags & FW_NAT_RANDOM_FULLY)
		fw_sbuf_printf(b, " --random-fully");
	if (flags & FW_NAT_PERSISTENT)
		fw_sbuf_printf(b, " --persistent");
}

static void
put_target(struct fw_sbuf *b, const struct fw_rule *r)
{
	const struct fw_target *t = &r->target;
	const struct fw_target_nat *n = &t->nat;

	switch (t->kind) {
	case FW_T_NONE:
		return;
	case FW_T_JUMP:
	case FW_T_GOTO:
		fw_sbuf_printf(b, " -%c %s", t->kind == FW_T_GOTO ? 'g' : 'j',
		    t->chain);
		return;
	default:
		break;
	}
	fw_sbuf_printf(b, " -j %s", fw_target_name(t->kind));
	switch (t->kind) {
	case FW_T_REJECT:
		fw_sbuf_printf(b, " --reject-with %s",
		    fw_reject_name(t->reject_with));
		break;
	case FW_T_LOG:
		if (t->log_prefix[0] != '\0') {
			fw_sbuf_printf(b, " --log-prefix");
			put_string(b, t->log_prefix);
		}
		if (t->log_level != 4)
			fw_sbuf_printf(b, " --log-level %u", t->log_level);
		if (t->log_flags & FW_LOG_TCP_SEQUENCE)
			fw_sbuf_printf(b, " --log-tcp-sequence");
		if (t->log_flags & FW_LOG_TCP_OPTIONS)
			fw_sbuf_printf(b, " --log-tcp-options");
		if (t->log_flags & FW_LOG_IP_OPTIONS)
			fw_sbuf_printf(b, " --log-ip-options");
		if (t->log_flags & FW_LOG_UID)
			fw_sbuf_printf(b, " --log-uid");
		break;
	case FW_T_SNAT:
	case FW_T_DNAT:
		fw_sbuf_printf(b, " --to-%s ", t->kind == FW_T_SNAT ? "source" :
		    "destination");
		put_nat_addr(b, r, n->addr_lo);
		if (memcmp(n->addr_lo, n->addr_hi, 16) != 0) {
			fw_sbuf_printf(b, "-");
			put_nat_addr(b, r, n->addr_hi);
		}
		if (n->has_ports) {
			fw_sbuf_printf(b, ":");
			put_range(b, &n->ports, '-');
			if (n->base_port)
				fw_sbuf_printf(b, "/%u", n->base_port);
		}
		put_nat_flags(b, n->flags);
		break;
	case FW_T_MASQUERADE:
	case FW_T_REDIRECT:
		if (n->has_ports) {
			fw_sbuf_printf(b, " --to-ports ");
			put_range(b, &n->ports, '-');
		}
		put_nat_flags(b, n->flags);
		break;
	case FW_T_NETMAP:
		fw_sbuf_printf(b, " --to ");
		put_prefix(b, r->family, &n->netmap, false);
		break;
	case FW_T_COPY:
		fw_sbuf_printf(b, " --from %s --to ", t->copy_from);
		if (t->copy_to_kind == FW_COPY_TO_TAP)
			fw_sbuf_printf(b, "tap:%s", t->copy_local);
		else if (t->copy_to_kind == FW_COPY_TO_PCAP)
			fw_sbuf_printf(b, "pcap:%s", t->copy_local);
		else
			put_host(b, r->family, t->copy_to);
		if (t->copy_bidirectional)
			fw_sbuf_printf(b, " --bidirectional");
		if (t->copy_snaplen != 0)
			fw_sbuf_printf(b, " --snaplen %u", t->copy_snaplen);
		break;
	}
}

void
fw_rule_format_sbuf(struct fw_sbuf *b, const struct fw_rule *r)
{
	put_addrs(b, "-s", r, &r->src);
	put_addrs(b, "-d", r, &r->dst);
	if (r->in.name[0])
		fw_sbuf_printf(b, " %s-i %s", neg(r->in.neg), r->in.name);
	if (r->out.name[0])
		fw_sbuf_printf(b, " %s-o %s", neg(r->out.neg), r->out.name);
	if (r->has_proto) {
		const char *name = fw_proto_name(r->proto);

		if (name != NULL)
			fw_sbuf_printf(b, " %s-p %s", neg(r->proto_neg), name);
		else
			fw_sbuf_printf(b, " %s-p %u", neg(r->proto_neg), r->proto);
	}
	if (r->frag)
		fw_sbuf_printf(b, " %s-f", neg(r->frag_neg));
	for (unsigned i = 0; i < r->n_matches && i < FW_M_COUNT; i++)
		put_match(b, r, r->match_order[i]);
	put_target(b, r);
}

int
fw_rule_format(const struct fw_rule *r, char *buf, size_t size)
{
	char tmp[FW_RULE_TEXT_MAX + 1];
	struct fw_sbuf b = { .s = tmp, .cap = sizeof(tmp), .fixed = true };

	tmp[0] = '\0';
	fw_rule_format_sbuf(&b, r);
	/* Every part above starts with a blank; drop the first. */
	return snprintf(buf, size, "%s", tmp[0] == ' ' ? tmp + 1 : tmp);
}

static const char *
policy_name(uint8_t p)
{
	return p == FW_POLICY_ACCEPT ? "ACCEPT" : p == FW_POLICY_DROP ?
	    "DROP" : "-";
}

char *
fw_ruleset_print(const struct fw_ruleset *rs, unsigned flags)
{
	struct fw_sbuf b = { 0 };
	bool counters = flags & FW_PRINT_COUNTERS;

	fw_sbuf_printf(&b, "# hexgate rule set (%s)\n",
	    rs->family == FW_IPV6 ? "IPv6" : "IPv4");
	for (int t = 0; t < FW_TABLE_COUNT; t++) {
		const struct fw_table *tab = &rs->tables[t];

		fw_sbuf_printf(&b, "*%s\n", fw_table_name(t));
		for (uint32_t i = 0; i < tab->n_chains; i++) {
			const struct fw_chain *c = &tab->chains[i];

			fw_sbuf_printf(&b, ":%s %s [%llu:%llu]\n", c->name,
			    policy_name(c->policy),
			    counters ? (unsigned long long)c->pkts : 0ull,
			    counters ? (unsigned long long)c->bytes : 0ull);
		}
		for (uint32_t i = 0; i < tab->n_chains; i++) {
			const struct fw_chain *c = &tab->chains[i];

			for (uint32_t j = 0; j < c->n_rules; j++) {
				const struct fw_rule *r = &c->rules[j];

				if (counters)
					fw_sbuf_printf(&b, "[%llu:%llu] ",
					    (unsigned long long)r->pkts,
					    (unsigned long long)r->bytes);
				fw_sbuf_printf(&b, "-A %s", c->name);
				fw_rule_format_sbuf(&b, r);
				fw_sbuf_printf(&b, "\n");
			}
		}
		fw_sbuf_printf(&b, "COMMIT\n");
	}
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
