/*
 * src/fw/rule.c: parses the words of one rule (everything after
 * "-A CHAIN") into a struct fw_rule, the way iptables' option parser
 * does: standard options, -m modules with their options, a protocol's
 * module loaded implicitly by -p tcp --dport ..., then the target and its
 * options; then checks the whole rule (a module's protocol, options that
 * must be given, targets allowed in this table and chain). The first
 * problem on a line is reported and the rest of the line skipped.
 * Line-level commands (-A, -I, -N ...) are in parse.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

enum std_opt {
	O_SRC, O_DST, O_IN, O_OUT, O_PROTO, O_FRAG, O_JUMP, O_GOTO, O_MATCH,
	O_COUNTERS, O_V4, O_V6,
};

static const struct fw_kw std_opts[] = {
	{ "--destination", O_DST },
	{ "--dst", O_DST },
	{ "--fragment", O_FRAG },
	{ "--goto", O_GOTO },
	{ "--in-interface", O_IN },
	{ "--ipv4", O_V4 },
	{ "--ipv6", O_V6 },
	{ "--jump", O_JUMP },
	{ "--match", O_MATCH },
	{ "--out-interface", O_OUT },
	{ "--protocol", O_PROTO },
	{ "--set-counters", O_COUNTERS },
	{ "--source", O_SRC },
	{ "--src", O_SRC },
	{ "-4", O_V4 },
	{ "-6", O_V6 },
	{ "-c", O_COUNTERS },
	{ "-d", O_DST },
	{ "-f", O_FRAG },
	{ "-g", O_GOTO },
	{ "-i", O_IN },
	{ "-j", O_JUMP },
	{ "-m", O_MATCH },
	{ "-o", O_OUT },
	{ "-p", O_PROTO },
	{ "-s", O_SRC },
};

enum port_opt { P_SPORT, P_DPORT, P_SYN, P_FLAGS };

static const struct fw_kw tcp_opts[] = {
	{ "--destination-port", P_DPORT },
	{ "--dport", P_DPORT },
	{ "--source-port", P_SPORT },
	{ "--sport", P_SPORT },
	{ "--syn", P_SYN },
	{ "--tcp-flags", P_FLAGS },
};
static const struct fw_kw udp_opts[] = {
	{ "--destination-port", P_DPORT },
	{ "--dport", P_DPORT },
	{ "--source-port", P_SPORT },
	{ "--sport", P_SPORT },
};
static const struct fw_kw icmp_opts[] = { { "--icmp-type", 0 } };
static const struct fw_kw icmp6_opts[] = { { "--icmpv6-type", 0 } };
static const struct fw_kw multiport_opts[] = {
	{ "--destination-ports", FW_MP_DST },
	{ "--dports", FW_MP_DST },
	{ "--ports", FW_MP_BOTH },
	{ "--source-ports", FW_MP_SRC },
	{ "--sports", FW_MP_SRC },
};
static const struct fw_kw conntrack_opts[] = {
	{ "--ctdir", FW_CTO_DIR },
	{ "--ctexpire", FW_CTO_EXPIRE },
	{ "--ctorigdst", FW_CTO_ORIGDST },
	{ "--ctorigdstport", FW_CTO_ORIGDSTPORT },
	{ "--ctorigsrc", FW_CTO_ORIGSRC },
	{ "--ctorigsrcport", FW_CTO_ORIGSRCPORT },
	{ "--ctproto", FW_CTO_PROTO },
	{ "--ctrepldst", FW_CTO_REPLDST },
	{ "--ctrepldstport", FW_CTO_REPLDSTPORT },
	{ "--ctreplsrc", FW_CTO_REPLSRC },
	{ "--ctreplsrcport", FW_CTO_REPLSRCPORT },
	{ "--ctstate", FW_CTO_STATE },
	{ "--ctstatus", FW_CTO_STATUS },
};
static const struct fw_kw state_opts[] = { { "--state", 0 } };
static const struct fw_kw iprange_opts[] = {
	{ "--dst-range", 1 },
	{ "--src-range", 0 },
};
static const struct fw_kw comment_opts[] = { { "--comment", 0 } };
static const struct fw_kw limit_opts[] = {
	{ "--limit", 0 },
	{ "--limit-burst", 1 },
};
static const struct fw_kw mac_opts[] = { { "--mac-source", 0 } };
static const struct fw_kw set_opts[] = { { "--match-set", 0 } };
static const struct fw_kw length_opts[] = { { "--length", 0 } };
static const struct fw_kw ttl_opts[] = {
	{ "--ttl-eq", FW_TTL_EQ },
	{ "--ttl-gt", FW_TTL_GT },
	{ "--ttl-lt", FW_TTL_LT },
};
static const struct fw_kw pkttype_opts[] = { { "--pkt-type", 0 } };
static const struct fw_kw tcpmss_opts[] = { { "--mss", 0 } };
static const struct fw_kw hl_opts[] = {
	{ "--hl-eq", FW_TTL_EQ },
	{ "--hl-gt", FW_TTL_GT },
	{ "--hl-lt", FW_TTL_LT },
};

struct opt_tab {
	const struct fw_kw *kw;
	size_t n;
};
#define OPT_TAB(t)	{ t, HG_ARRAY_SIZE(t) }

static const struct opt_tab match_opts[FW_M_COUNT] = {
	[FW_M_TCP] = OPT_TAB(tcp_opts),
	[FW_M_UDP] = OPT_TAB(udp_opts),
	[FW_M_ICMP] = OPT_TAB(icmp_opts),
	[FW_M_ICMP6] = OPT_TAB(icmp6_opts),
	[FW_M_MULTIPORT] = OPT_TAB(multiport_opts),
	[FW_M_CONNTRACK] = OPT_TAB(conntrack_opts),
	[FW_M_STATE] = OPT_TAB(state_opts),
	[FW_M_IPRANGE] = OPT_TAB(iprange_opts),
	[FW_M_COMMENT] = OPT_TAB(comment_opts),
	[FW_M_LIMIT] = OPT_TAB(limit_opts),
	[FW_M_MAC] = OPT_TAB(mac_opts),
	[FW_M_SET] = OPT_TAB(set_opts),
	[FW_M_LENGTH] = OPT_TAB(length_opts),
	[FW_M_TTL] = OPT_TAB(ttl_opts),
	[FW_M_HL] = OPT_TAB(hl_opts),
	[FW_M_PKTTYPE] = OPT_TAB(pkttype_opts),
	[FW_M_TCPMSS] = OPT_TAB(tcpmss_opts),
};

enum tgt_opt {
	T_REJECT_WITH, T_LOG_PREFIX, T_LOG_LEVEL, T_LOG_TCP_SEQ, T_LOG_TCP_OPT,
	T_LOG_IP_OPT, T_LOG_UID, T_TO_SOURCE, T_TO_DEST, T_TO_PORTS, T_TO,
	T_RANDOM, T_RANDOM_FULLY, T_PERSISTENT, T_FROM, T_BIDIR, T_SNAPLEN,
};

static const struct fw_kw reject_opts[] = { { "--reject-with", T_REJECT_WITH } };
static const struct fw_kw log_opts[] = {
	{ "--log-ip-options", T_LOG_IP_OPT },
	{ "--log-level", T_LOG_LEVEL },
	{ "--log-prefix", T_LOG_PREFIX },
	{ "--log-tcp-options", T_LOG_TCP_OPT },
	{ "--log-tcp-sequence", T_LOG_TCP_SEQ },
	{ "--log-uid", T_LOG_UID },
};
static const struct fw_kw snat_opts[] = {
	{ "--persistent", T_PERSISTENT },
	{ "--random", T_RANDOM },
	{ "--random-fully", T_RANDOM_FULLY },
	{ "--to-source", T_TO_SOURCE },
};
static const struct fw_kw dnat_opts[] = {
	{ "--persistent", T_PERSISTENT },
	{ "--random", T_RANDOM },
	{ "--to-destination", T_TO_DEST },
};
static const struct fw_kw masq_opts[] = {
	{ "--random", T_RANDOM },
	{ "--random-fully", T_RANDOM_FULLY },
	{ "--to-ports", T_TO_PORTS },
};
static const struct fw_kw redirect_opts[] = {
	{ "--random", T_RANDOM },
	{ "--to-ports", T_TO_PORTS },
};
static const struct fw_kw netmap_opts[] = { { "--to", T_TO } };
static const struct fw_kw copy_opts[] = {
	{ "--bidirectional", T_BIDIR },
	{ "--from", T_FROM },
	{ "--snaplen", T_SNAPLEN },
	{ "--to", T_TO },
};

static const struct opt_tab target_opts[FW_T_COUNT] = {
	[FW_T_REJECT] = OPT_TAB(reject_opts),
	[FW_T_LOG] = OPT_TAB(log_opts),
	[FW_T_SNAT] = OPT_TAB(snat_opts),
	[FW_T_DNAT] = OPT_TAB(dnat_opts),
	[FW_T_MASQUERADE] = OPT_TAB(masq_opts),
	[FW_T_REDIRECT] = OPT_TAB(redirect_opts),
	[FW_T_NETMAP] = OPT_TAB(netmap_opts),
	[FW_T_COPY] = OPT_TAB(copy_opts),
};

/* Hooks a chain runs in, for the checks iptables' kernel side makes. */
#define H_PRE	0x01
#define H_IN	0x02
#define H_FWD	0x04
#define H_OUT	0x08
#define H_POST	0x10

struct rp {
	struct fw_parser *p;
	const struct fw_line *l;
	unsigned i;
	enum fw_table_id table;
	const struct fw_chain *chain;
	struct fw_rule *r;
	bool neg;
	const struct fw_tok *neg_tok;
	struct fw_tok opt;		/* the option being handled */
	struct fw_tok arg;		/* its value */
	bool has_attached;
	const struct fw_tok *match_tok[FW_M_COUNT];
	const struct fw_tok *target_tok;
	struct fw_tok in_opt, out_opt;	/* where -i and -o were given */
	uint32_t std_seen;		/* 1 << enum std_opt */
	uint32_t opt_seen[FW_M_COUNT];	/* 1 << option value */
	uint32_t tgt_seen;		/* 1 << enum tgt_opt */
	bool other_family;
	char optname[FW_TOKEN_MAX];	/* split_option()'s copy */
};

#define FAIL(rp, tok, ...) do {					\
	fw_err_tok((rp)->p, (rp)->l, (tok), __VA_ARGS__);	\
	return -EINVAL;						\
} while (0)

static bool
is_number(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A decimal number in [0, max]; false for anything else. */
static bool
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!is_number(s) || strlen(s) > 20)
		return false;
	for (; *s; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* The option's value: attached (--opt=v, -pv) or the next word. */
static int
need_arg(struct rp *rp, const char *what)
{
	if (rp->has_attached) {
		rp->has_attached = false;
		return 0;
	}
	if (rp->i >= rp->l->n)
		FAIL(rp, &rp->opt, "option \"%s\" needs a value (%s)",
		    rp->opt.s, what);
	rp->arg = rp->l->t[rp->i++];
	return 0;
}

static bool
take_neg(struct rp *rp)
{
	bool n = rp->neg;

	rp->neg = false;
	return n;
}

/* --- addresses ------------------------------------------------------ */

static int
af(const struct rp *rp)
{
	return rp->r->family == FW_IPV6 ? AF_INET6 : AF_INET;
}

static size_t
alen(const struct rp *rp)
{
	return rp->r->family == FW_IPV6 ? 16 : 4;
}

static int
parse_host(struct rp *rp, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(af(rp), s, out) == 1)
		return 0;
	FAIL(rp, &rp->arg, "\"%s\" is not an %s address%s", s,
	    rp->r->family == FW_IPV6 ? "IPv6" : "IPv4",
	    isalpha((unsigned char)s[0]) ? " (host names are not resolved)" : "");
}

static void
mask_from_len(uint8_t mask[16], unsigned bits)
{
	memset(mask, 0, 16);
	for (unsigned i = 0; i < bits; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* ADDR[/LEN] or IPv4 ADDR/DOTTED.MASK; the address comes back masked. */
static int
parse_prefix(struct rp *rp, const char *s, struct fw_addr *a)
{
	char buf[FW_TOKEN_MAX];
	char *slash;
	uint64_t bits;
	size_t n = alen(rp);

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (parse_host(rp, buf, a->addr) < 0)
		return -EINVAL;
	if (slash == NULL) {
		mask_from_len(a->mask, n * 8);
	} else if (parse_uint(slash, n * 8, &bits)) {
		mask_from_len(a->mask, bits);
	} else if (strchr(slash, rp->r->family == FW_IPV6 ? ':' : '.') != NULL &&
	    inet_pton(af(rp), slash, a->mask) == 1) {
		/* A mask written as an address may have holes; kept. */
	} else {
		FAIL(rp, &rp->arg, "bad mask \"/%s\" in \"%s\" (0..%zu or a "
		    "dotted mask)", slash, s, n * 8);
	}
	for (size_t i = 0; i < 16; i++)
		a->addr[i] &= a->mask[i];
	return 0;
}

static bool
set_known(const struct rp *rp, const char *name)
{
	const struct fw_parse_opts *o = rp->p->opts;

	for (size_t i = 0; o != NULL && i < o->n_sets; i++)
		if (o->sets[i] != NULL && strcmp(o->sets[i], name) == 0)
			return true;
	return false;
}

static int
parse_addr_list(struct rp *rp, struct fw_addr_list *al)
{
	char buf[FW_TOKEN_MAX], *save = NULL, *part;
	const char *s = rp->arg.s;
	size_t n = strlen(s);

	al->neg = take_neg(rp);
	if (n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}') {
		if (n - 3 >= FW_SET_NAME_MAX)
			FAIL(rp, &rp->arg, "set name longer than %d characters",
			    FW_SET_NAME_MAX - 1);
		memcpy(al->set, s + 2, n - 3);
		if (!set_known(rp, al->set))
			FAIL(rp, &rp->arg, "no set named \"%s\"", al->set);
		return 0;
	}
	if (n == 0 || s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,") != NULL)
		FAIL(rp, &rp->arg, "expected an address, a prefix or a "
		    "comma-separated list of them");
	snprintf(buf, sizeof(buf), "%s", s);
	for (part = strtok_r(buf, ",", &save); part != NULL;
	    part = strtok_r(NULL, ",", &save)) {
		if (al->n == FW_ADDRS_MAX)
			FAIL(rp, &rp->arg, "more than %d addresses in one list",
			    FW_ADDRS_MAX);
		if (parse_prefix(rp, part, &al->a[al->n]) < 0)
			return -EINVAL;
		al->n++;
	}
	return 0;
}

/* --- small values ----------------------------------------------------- */

static int
parse_iface(struct rp *rp, struct fw_iface *ifc)
{
	const char *s = rp->arg.s;
	size_t n = strlen(s);

	if (n == 0 || n >= FW_IFNAME_MAX)
		FAIL(rp, &rp->arg, "interface name must be 1 to %d characters",
		    FW_IFNAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || isspace((unsigned char)s[i]) ||
		    (s[i] == '+' && i != n - 1))
			FAIL(rp, &rp->arg, "bad interface name \"%s\"", s);
	ifc->neg = take_neg(rp);
	/* "-i +" is any interface: the same as no -i at all. */
	if (strcmp(s, "+") == 0 && !ifc->neg)
		return 0;
	memcpy(ifc->name, s, n);
	ifc->wildcard = s[n - 1] == '+';
	return 0;
}

static int
parse_proto_name(struct rp *rp, const char *s, uint8_t *proto)
{
	char low[32];
	const struct fw_kw *kw;
	uint64_t v;
	size_t i;

	if (parse_uint(s, 255, &v)) {
		*proto = (uint8_t)v;
		return 0;
	}
	for (i = 0; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	kw = fw_kw_find(FW_KW(fw_kw_protos), low);
	if (kw == NULL) {
		const char *sug = fw_kw_suggest(FW_KW(fw_kw_protos), low);
		char list[256];

		fw_kw_list(FW_KW(fw_kw_protos), list, sizeof(list));
		if (sug != NULL)
			FAIL(rp, &rp->arg, "unknown protocol \"%s\" (did you "
			    "mean \"%s\"?)", s, sug);
		FAIL(rp, &rp->arg, "unknown protocol \"%s\" (a number 0..255 "
		    "or one of: %s)", s, list);
	}
	*proto = (uint8_t)kw->val;
	return 0;
}

static int
parse_port(struct rp *rp, const char *s, bool names, uint16_t *port)
{
	const struct fw_kw *kw;
	uint64_t v;

	if (parse_uint(s, 65535, &v)) {
		*port = (uint16_t)v;
		return 0;
	}
	if (names && (kw = fw_kw_find(FW_KW(fw_kw_services), s)) != NULL) {
		*port = (uint16_t)kw->val;
		return 0;
	}
	FAIL(rp, &rp->arg, "bad port \"%s\" (0..65535%s)", s,
	    names ? " or a service name" : "");
}

/* P, P:Q, :Q, P: or ":" (0:65535); names allowed on either side. */
static int
parse_port_range(struct rp *rp, const char *s, struct fw_port_range *pr)
{
	char buf[FW_TOKEN_MAX];
	char *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	if (colon == NULL) {
		if (parse_port(rp, buf, true, &pr->lo) < 0)
			return -EINVAL;
		pr->hi = pr->lo;
		return 0;
	}
	*colon++ = '\0';
	pr->lo = 0;
	pr->hi = 65535;
	if (buf[0] != '\0' && parse_port(rp, buf, true, &pr->lo) < 0)
		return -EINVAL;
	if (*colon != '\0' && parse_port(rp, colon, true, &pr->hi) < 0)
		return -EINVAL;
	if (pr->lo > pr->hi)
		FAIL(rp, &rp->arg, "port range \"%s\" runs backwards", s);
	return 0;
}

/* NAT port ranges: P or P-Q, numbers only unless the whole is a
 * service name (so "ftp-data" is port 20 and "ftp-ssh" is an error). */
static int
parse_nat_ports(struct rp *rp, const char *s, struct fw_port_range *pr)
{
	char buf[FW_TOKEN_MAX], *dash;
	const struct fw_kw *kw;
	uint64_t lo, hi;

	kw = fw_kw_find(FW_KW(fw_kw_services), s);
	if (kw != NULL) {
		pr->lo = pr->hi = (uint16_t)kw->val;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash++ = '\0';
	if (!parse_uint(buf, 65535, &lo))
		goto bad;
	hi = lo;
	if (dash != NULL && !parse_uint(dash, 65535, &hi))
		goto bad;
	if (lo > hi)
		FAIL(rp, &rp->arg, "port range \"%s\" runs backwards", s);
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad port range \"%s\" (PORT or PORT-PORT, each "
	    "0..65535, or one service name)", s);
}

/* Comma-separated names from tab (upper-cased first), OR-ed together. */
static int
parse_flag_list(struct rp *rp, const struct fw_kw *tab, size_t n,
    bool upper, int allowed, int *out, const char *what)
{
	char buf[FW_TOKEN_MAX], *save = NULL, *part;
	const struct fw_kw *kw;
	char list[256];

	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	if (upper)
		for (char *c = buf; *c; c++)
			*c = (char)toupper((unsigned char)*c);
	*out = 0;
	if (buf[0] == '\0' || buf[0] == ',' || buf[strlen(buf) - 1] == ',')
		goto bad;
	for (part = strtok_r(buf, ",", &save); part != NULL;
	    part = strtok_r(NULL, ",", &save)) {
		kw = fw_kw_find(tab, n, part);
		if (kw == NULL || (kw->val & ~allowed) != 0)
			goto bad;
		*out |= kw->val;
	}
	return 0;
bad:
	fw_kw_list(tab, n, list, sizeof(list));
	FAIL(rp, &rp->arg, "bad %s \"%s\" (a comma-separated list of: %s)",
	    what, rp->arg.s, list);
}

/* --- matches ---------------------------------------------------------- */

static int
match_ports(struct rp *rp, struct fw_match_ports *m, int opt)
{
	int mask, cmp;

	switch (opt) {
	case P_SPORT:
	case P_DPORT: {
		struct fw_port_range pr;
		bool neg = take_neg(rp);

		if (need_arg(rp, "a port or a range P:Q") < 0 ||
		    parse_port_range(rp, rp->arg.s, &pr) < 0)
			return -EINVAL;
		/* iptables stores a bare ":" as "any port", printing nothing. */
		if (pr.lo == 0 && pr.hi == 65535 && !neg)
			return 0;
		if (opt == P_SPORT) {
			m->has_sport = true;
			m->sport_neg = neg;
			m->sport = pr;
		} else {
			m->has_dport = true;
			m->dport_neg = neg;
			m->dport = pr;
		}
		return 0;
	}
	case P_SYN:
		m->has_flags = true;
		m->flags_neg = take_neg(rp);
		m->flags_mask = FW_TCP_FIN | FW_TCP_SYN | FW_TCP_RST | FW_TCP_ACK;
		m->flags_cmp = FW_TCP_SYN;
		return 0;
	case P_FLAGS:
		m->flags_neg = take_neg(rp);
		if (need_arg(rp, "MASK COMP, e.g. SYN,ACK SYN") < 0 ||
		    parse_flag_list(rp, FW_KW(fw_kw_tcp_flags), true, 0x3f,
		    &mask, "TCP flag list") < 0)
			return -EINVAL;
		rp->has_attached = false;
		if (rp->i >= rp->l->n)
			FAIL(rp, &rp->arg, "--tcp-flags needs two lists: the "
			    "flags to look at and those that must be set");
		rp->arg = rp->l->t[rp->i++];
		if (parse_flag_list(rp, FW_KW(fw_kw_tcp_flags), true, 0x3f,
		    &cmp, "TCP flag list") < 0)
			return -EINVAL;
		m->has_flags = true;
		m->flags_mask = (uint8_t)mask;
		m->flags_cmp = (uint8_t)cmp;
		return 0;
	}
	return -EINVAL;
}

static int
match_icmp(struct rp *rp, struct fw_match_icmp *m, bool v6)
{
	char buf[FW_TOKEN_MAX], *slash, *colon;
	const struct fw_kw *kw;
	uint64_t t, lo, hi;

	m->neg = take_neg(rp);
	if (need_arg(rp, "a type name, TYPE or TYPE/CODE") < 0)
		return -EINVAL;
	kw = v6 ? fw_kw_find(FW_KW(fw_kw_icmp6), rp->arg.s) :
	    fw_kw_find(FW_KW(fw_kw_icmp), rp->arg.s);
	if (kw != NULL) {
		m->type = (uint8_t)(kw->val >> 16);
		m->code_lo = (uint8_t)(kw->val >> 8);
		m->code_hi = (uint8_t)kw->val;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	lo = 0;
	hi = 255;
	if (!parse_uint(buf, 255, &t))
		goto bad;
	if (slash != NULL) {
		colon = strchr(slash, ':');
		if (colon != NULL)
			*colon++ = '\0';
		if (!parse_uint(slash, 255, &lo))
			goto bad;
		hi = lo;
		if (colon != NULL && (!parse_uint(colon, 255, &hi) || hi < lo))
			goto bad;
	}
	m->type = (uint8_t)t;
	m->code_lo = (uint8_t)lo;
	m->code_hi = (uint8_t)hi;
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad ICMP%s type \"%s\" (a name, TYPE, TYPE/CODE "
	    "or TYPE/CODE:CODE, each 0..255)", v6 ? "v6" : "", rp->arg.s);
}

static int
match_multiport(struct rp *rp, struct fw_match_multiport *m, int dir)
{
	char buf[FW_TOKEN_MAX], *save = NULL, *part;
	unsigned used = 0;

	if (m->dir != 0)
		FAIL(rp, &rp->opt, "multiport takes one of --sports, --dports "
		    "and --ports");
	m->neg = take_neg(rp);
	m->dir = (uint8_t)dir;
	if (need_arg(rp, "a comma-separated list of ports and P:Q ranges") < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	if (buf[0] == '\0' || buf[0] == ',' || buf[strlen(buf) - 1] == ',' ||
	    strstr(buf, ",,") != NULL)
		FAIL(rp, &rp->arg, "expected a comma-separated list of ports");
	for (part = strtok_r(buf, ",", &save); part != NULL;
	    part = strtok_r(NULL, ",", &save)) {
		struct fw_port_range pr;

		if (parse_port_range(rp, part, &pr) < 0)
			return -EINVAL;
		used += pr.lo == pr.hi ? 1 : 2;
		if (used > FW_PORTS_MAX)
			FAIL(rp, &rp->arg, "more than %d ports (a range counts "
			    "as two)", FW_PORTS_MAX);
		m->p[m->n++] = pr;
	}
	return 0;
}

static int
match_conntrack(struct rp *rp, struct fw_match_conntrack *m, int opt)
{
	bool neg = take_neg(rp);
	int v;

	if (need_arg(rp, "see the firewall page") < 0)
		return -EINVAL;
	m->present |= (uint16_t)(1u << opt);
	if (neg)
		m->neg |= (uint16_t)(1u << opt);
	switch (opt) {
	case FW_CTO_STATE:
		if (parse_flag_list(rp, FW_KW(fw_kw_ctstates), true, 0x7f, &v,
		    "conntrack state") < 0)
			return -EINVAL;
		m->state = (uint8_t)v;
		return 0;
	case FW_CTO_PROTO:
		if (parse_proto_name(rp, rp->arg.s, &m->proto) < 0)
			return -EINVAL;
		if (m->proto == 0)
			FAIL(rp, &rp->arg, "--ctproto 0 would match every "
			    "protocol; leave it out");
		return 0;
	case FW_CTO_ORIGSRC:
	case FW_CTO_ORIGDST:
	case FW_CTO_REPLSRC:
	case FW_CTO_REPLDST:
		return parse_prefix(rp, rp->arg.s,
		    &m->addr[opt - FW_CTO_ORIGSRC]);
	case FW_CTO_ORIGSRCPORT:
	case FW_CTO_ORIGDSTPORT:
	case FW_CTO_REPLSRCPORT:
	case FW_CTO_REPLDSTPORT:
		return parse_port_range(rp, rp->arg.s,
		    &m->port[opt - FW_CTO_ORIGSRCPORT]);
	case FW_CTO_STATUS:
		if (parse_flag_list(rp, FW_KW(fw_kw_ctstatus), true, 0x0f, &v,
		    "conntrack status") < 0)
			return -EINVAL;
		m->status = (uint8_t)v;
		return 0;
	case FW_CTO_EXPIRE: {
		char buf[FW_TOKEN_MAX], *colon;
		uint64_t lo, hi;

		snprintf(buf, sizeof(buf), "%s", rp->arg.s);
		colon = strchr(buf, ':');
		if (colon != NULL)
			*colon++ = '\0';
		if (!parse_uint(buf, UINT32_MAX, &lo))
			goto bad_expire;
		hi = lo;
		if (colon != NULL && !parse_uint(colon, UINT32_MAX, &hi))
			goto bad_expire;
		if (lo > hi)
			goto bad_expire;
		m->expire_lo_s = (uint32_t)lo;
		m->expire_hi_s = (uint32_t)hi;
		return 0;
bad_expire:
		FAIL(rp, &rp->arg, "bad --ctexpire \"%s\" (seconds N or N:M, "
		    "0..4294967295)", rp->arg.s);
	}
	case FW_CTO_DIR:
		if (neg)
			FAIL(rp, rp->neg_tok, "--ctdir cannot be negated");
		if (strcasecmp(rp->arg.s, "ORIGINAL") == 0)
			m->dir_reply = false;
		else if (strcasecmp(rp->arg.s, "REPLY") == 0)
			m->dir_reply = true;
		else
			FAIL(rp, &rp->arg, "bad --ctdir \"%s\" (ORIGINAL or "
			    "REPLY)", rp->arg.s);
		return 0;
	}
	return -EINVAL;
}

static int
match_limit(struct rp *rp, struct fw_match_limit *m, int opt)
{
	static const char *const units[] = { "second", "minute", "hour", "day" };
	static const uint32_t unit_s[] = { 1, 60, 3600, 86400 };
	char buf[FW_TOKEN_MAX], *slash;
	uint64_t v;

	if (need_arg(rp, opt ? "a packet count" : "a rate N/unit") < 0)
		return -EINVAL;
	if (opt == 1) {
		if (!parse_uint(rp->arg.s, 10000, &v) || v == 0)
			FAIL(rp, &rp->arg, "bad --limit-burst \"%s\" (1..10000)",
			    rp->arg.s);
		m->burst = (uint32_t)v;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (!parse_uint(buf, UINT32_MAX, &v) || v == 0)
		goto bad;
	m->unit = FW_LIMIT_SEC;
	if (slash != NULL) {
		size_t n = strlen(slash), u;

		for (u = 0; u < HG_ARRAY_SIZE(units); u++)
			if (n > 0 && strncasecmp(slash, units[u], n) == 0)
				break;
		if (u == HG_ARRAY_SIZE(units))
			goto bad;
		m->unit = (uint8_t)u;
	}
	/* The kernel keeps the rate in 1/10000 s ticks (xt_limit). */
	if (v > 10000ull * unit_s[m->unit])
		FAIL(rp, &rp->arg, "rate \"%s\" is faster than 10000/second",
		    rp->arg.s);
	m->rate = (uint32_t)v;
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad rate \"%s\" (N/second, N/minute, N/hour or "
	    "N/day)", rp->arg.s);
}

static int
match_mac(struct rp *rp, struct fw_match_mac *m)
{
	const char *s;
	unsigned i, v;
	char *end;

	m->neg = take_neg(rp);
	if (need_arg(rp, "XX:XX:XX:XX:XX:XX") < 0)
		return -EINVAL;
	s = rp->arg.s;
	for (i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]))
			goto bad;
		v = (unsigned)strtoul(s, &end, 16);
		if (end - s > 2 || (i < 5 && *end != ':') || (i == 5 && *end))
			goto bad;
		m->src[i] = (uint8_t)v;
		s = end + (i < 5);
	}
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad MAC address \"%s\" (six hex bytes "
	    "XX:XX:XX:XX:XX:XX)", rp->arg.s);
}

static int
match_set(struct rp *rp, struct fw_match_set *m)
{
	char buf[FW_TOKEN_MAX], *save = NULL, *part;
	struct fw_tok name;

	m->neg = take_neg(rp);
	if (need_arg(rp, "NAME src|dst[,...]") < 0)
		return -EINVAL;
	name = rp->arg;
	if (rp->i >= rp->l->n)
		FAIL(rp, &name, "--match-set needs a set name and its "
		    "directions (src, dst or a list like src,dst)");
	rp->arg = rp->l->t[rp->i++];
	if (strlen(name.s) == 0 || strlen(name.s) >= FW_SET_NAME_MAX)
		FAIL(rp, &name, "set name must be 1 to %d characters",
		    FW_SET_NAME_MAX - 1);
	if (!set_known(rp, name.s))
		FAIL(rp, &name, "no set named \"%s\"", name.s);
	snprintf(m->name, sizeof(m->name), "%s", name.s);
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	if (buf[0] == '\0' || buf[0] == ',' || buf[strlen(buf) - 1] == ',')
		goto bad;
	for (part = strtok_r(buf, ",", &save); part != NULL;
	    part = strtok_r(NULL, ",", &save)) {
		if (m->n_dims == FW_SET_DIMS_MAX)
			goto bad;
		if (strcmp(part, "src") == 0)
			m->dst[m->n_dims++] = false;
		else if (strcmp(part, "dst") == 0)
			m->dst[m->n_dims++] = true;
		else
			goto bad;
	}
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad set directions \"%s\" (up to %d of src and "
	    "dst, comma-separated)", rp->arg.s, FW_SET_DIMS_MAX);
}

/*
 * --length or --mss (what) N, N:M, :M or N: (iptables leaves out a
 * side as 0 or 65535). iptables refuses a backwards --mss range but
 * loads a backwards --length, which then matches nothing (everything
 * negated); so does hexgate, so that such a file still loads.
 */
static int
match_length(struct rp *rp, struct fw_match_length *m, const char *what)
{
	char buf[FW_TOKEN_MAX], *colon;
	uint64_t lo = 0, hi = UINT16_MAX;

	m->neg = take_neg(rp);
	if (need_arg(rp, "a number of bytes N or a range N:M") < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	colon = strchr(buf, ':');
	if (colon == NULL) {
		if (!parse_uint(buf, UINT16_MAX, &lo))
			goto bad;
		hi = lo;
	} else {
		*colon++ = '\0';
		if ((buf[0] != '\0' && !parse_uint(buf, UINT16_MAX, &lo)) ||
		    (*colon != '\0' && !parse_uint(colon, UINT16_MAX, &hi)))
			goto bad;
		if (lo > hi && strcmp(what, "length") != 0)
			FAIL(rp, &rp->arg, "%s range \"%s\" runs backwards",
			    what, rp->arg.s);
	}
	m->lo = (uint16_t)lo;
	m->hi = (uint16_t)hi;
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad --%s \"%s\" (bytes N or N:M, 0..65535)",
	    what, rp->arg.s);
}

/*
 * --ttl-eq/--ttl-lt/--ttl-gt N, or the --hl- ones: one comparison a
 * rule, and only equality negates, as xt_hl has no "not less than".
 */
static int
match_ttl(struct rp *rp, struct fw_match_ttl *m, enum fw_match_kind k,
    int op)
{
	const char *v = k == FW_M_TTL ? "ttl" : "hl";
	bool neg = take_neg(rp);
	uint64_t n;

	if (rp->opt_seen[k] != 1u << op)
		FAIL(rp, &rp->opt, "-m %s takes one of --%s-eq, --%s-lt and "
		    "--%s-gt", v, v, v, v);
	if (neg && op != FW_TTL_EQ)
		FAIL(rp, rp->neg_tok, "%s cannot be negated (only --%s-eq can)",
		    rp->opt.s, v);
	if (need_arg(rp, "a number 0..255") < 0)
		return -EINVAL;
	if (!parse_uint(rp->arg.s, UINT8_MAX, &n))
		FAIL(rp, &rp->arg, "bad %s \"%s\" (0..255)", rp->opt.s,
		    rp->arg.s);
	m->op = (uint8_t)(neg ? FW_TTL_NE : op);
	m->value = (uint8_t)n;
	return 0;
}

/*
 * --pkt-type: libxt_pkttype's names and aliases. otherhost and outgoing
 * are refused by name rather than kept as rules that never match:
 * hexgate drops frames for another host before PREROUTING, and has no
 * packet socket to see its own outgoing frames with.
 */
static int
match_pkttype(struct rp *rp, struct fw_match_pkttype *m)
{
	static const struct {
		const char *name;
		int type;		/* enum fw_pkttype; -1: refused */
	} types[] = {
		{ "unicast", FW_PKTTYPE_UNICAST },
		{ "host", FW_PKTTYPE_UNICAST },
		{ "broadcast", FW_PKTTYPE_BROADCAST },
		{ "bcast", FW_PKTTYPE_BROADCAST },
		{ "multicast", FW_PKTTYPE_MULTICAST },
		{ "mcast", FW_PKTTYPE_MULTICAST },
		{ "otherhost", -1 },
		{ "outgoing", -1 },
	};

	m->neg = take_neg(rp);
	if (need_arg(rp, "unicast, broadcast or multicast") < 0)
		return -EINVAL;
	for (size_t i = 0; i < HG_ARRAY_SIZE(types); i++) {
		if (strcasecmp(rp->arg.s, types[i].name) != 0)
			continue;
		if (types[i].type < 0)
			FAIL(rp, &rp->arg, "--pkt-type %s never matches in "
			    "hexgate (frames to other hosts are dropped before "
			    "PREROUTING; there are no outgoing frames to "
			    "capture); use unicast, broadcast or multicast",
			    rp->arg.s);
		m->type = (uint8_t)types[i].type;
		return 0;
	}
	FAIL(rp, &rp->arg, "bad --pkt-type \"%s\" (unicast, broadcast or "
	    "multicast)", rp->arg.s);
}

static int
match_iprange(struct rp *rp, struct fw_match_iprange *m, int dst)
{
	char buf[FW_TOKEN_MAX], *dash;
	uint8_t *lo = dst ? m->dst_lo : m->src_lo;
	uint8_t *hi = dst ? m->dst_hi : m->src_hi;
	bool neg = take_neg(rp);

	if (need_arg(rp, "FROM-TO") < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash++ = '\0';
	if (parse_host(rp, buf, lo) < 0)
		return -EINVAL;
	if (dash == NULL)
		memcpy(hi, lo, 16);
	else if (parse_host(rp, dash, hi) < 0)
		return -EINVAL;
	if (memcmp(lo, hi, 16) > 0)
		FAIL(rp, &rp->arg, "address range \"%s\" runs backwards",
		    rp->arg.s);
	if (dst) {
		m->has_dst = true;
		m->dst_neg = neg;
	} else {
		m->has_src = true;
		m->src_neg = neg;
	}
	return 0;
}

static int
match_option(struct rp *rp, enum fw_match_kind k, int opt)
{
	struct fw_rule *r = rp->r;

	if (rp->opt_seen[k] & (1u << opt))
		FAIL(rp, &rp->opt, "option \"%s\" given twice", rp->opt.s);
	rp->opt_seen[k] |= 1u << opt;
	switch (k) {
	case FW_M_TCP:
		return match_ports(rp, &r->tcp, opt);
	case FW_M_UDP:
		return match_ports(rp, &r->udp, opt);
	case FW_M_ICMP:
	case FW_M_ICMP6:
		return match_icmp(rp, &r->icmp, k == FW_M_ICMP6);
	case FW_M_MULTIPORT:
		return match_multiport(rp, &r->multiport, opt);
	case FW_M_CONNTRACK:
		return match_conntrack(rp, &r->ct, opt);
	case FW_M_STATE: {
		int v;

		r->state.neg = take_neg(rp);
		if (need_arg(rp, "a list of states") < 0 ||
		    parse_flag_list(rp, FW_KW(fw_kw_ctstates), true, 0x1f, &v,
		    "state") < 0)
			return -EINVAL;
		r->state.state = (uint8_t)v;
		return 0;
	}
	case FW_M_IPRANGE:
		return match_iprange(rp, &r->iprange, opt);
	case FW_M_COMMENT:
		if (need_arg(rp, "text") < 0)
			return -EINVAL;
		if (strlen(rp->arg.s) >= FW_COMMENT_MAX)
			FAIL(rp, &rp->arg, "comment is %zu characters long; the "
			    "limit is %d", strlen(rp->arg.s), FW_COMMENT_MAX - 1);
		snprintf(r->comment, sizeof(r->comment), "%s", rp->arg.s);
		return 0;
	case FW_M_LIMIT:
		return match_limit(rp, &r->limit, opt);
	case FW_M_MAC:
		return match_mac(rp, &r->mac);
	case FW_M_SET:
		return match_set(rp, &r->set);
	case FW_M_LENGTH:
		return match_length(rp, &r->length, "length");
	case FW_M_TTL:
	case FW_M_HL:
		return match_ttl(rp, &r->ttl, k, opt);
	case FW_M_PKTTYPE:
		return match_pkttype(rp, &r->pkttype);
	case FW_M_TCPMSS:
		return match_length(rp, &r->tcpmss, "mss");
	case FW_M_COUNT:
		break;
	}
	return -EINVAL;
}

static bool
match_loaded(const struct fw_rule *r, enum fw_match_kind k)
{
	for (unsigned i = 0; i < r->n_matches; i++)
		if (r->match_order[i] == k)
			return true;
	return false;
}

static void
match_load(struct rp *rp, enum fw_match_kind k, const struct fw_tok *where)
{
	rp->r->match_order[rp->r->n_matches++] = (uint8_t)k;
	rp->match_tok[k] = where;
	if (k == FW_M_LIMIT) {
		rp->r->limit.rate = 3;		/* iptables' default */
		rp->r->limit.unit = FW_LIMIT_HOUR;
		rp->r->limit.burst = 5;
	}
}

/* --- targets ---------------------------------------------------------- */

/* A[-B][:P[-Q][/BASE]] for SNAT and DNAT; IPv6 addresses in brackets
 * when ports follow. */
static int
parse_nat_to(struct rp *rp, struct fw_target_nat *n, bool base_ok)
{
	char buf[FW_TOKEN_MAX], *addr = buf, *ports = NULL, *dash, *slash;
	bool v6 = rp->r->family == FW_IPV6;

	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	if (v6 && buf[0] == '[') {
		/* [A]:P or [A]-[B]:P; the brackets are dropped in place. */
		char *close = strchr(buf, ']');

		if (close == NULL)
			goto bad;
		*close = '\0';
		addr = buf + 1;
		if (close[1] == '-' && close[2] == '[') {
			/* "[A]-[B]..." becomes "A-B" + "\0" + "..." */
			char *b = close + 3, *close2 = strchr(b, ']');
			size_t blen;

			if (close2 == NULL)
				goto bad;
			blen = (size_t)(close2 - b);
			close[0] = '-';
			memmove(close + 1, b, blen);
			close[1 + blen] = '\0';
			/* The rest (":P") stays where it was, after close2. */
			if (close2[1] == ':')
				ports = close2 + 2;
			else if (close2[1] != '\0')
				goto bad;
			close = NULL;
		}
		if (close != NULL && close[1] == ':')
			ports = close + 2;
		else if (close != NULL && close[1] != '\0')
			goto bad;
	} else if (!v6) {
		ports = strchr(buf, ':');
		if (ports != NULL)
			*ports++ = '\0';
	}
	dash = strchr(addr, '-');
	if (dash != NULL)
		*dash++ = '\0';
	if (addr[0] == '\0')
		goto bad;
	if (parse_host(rp, addr, n->addr_lo) < 0)
		return -EINVAL;
	memcpy(n->addr_hi, n->addr_lo, 16);
	if (dash != NULL && parse_host(rp, dash, n->addr_hi) < 0)
		return -EINVAL;
	if (memcmp(n->addr_lo, n->addr_hi, 16) > 0)
		FAIL(rp, &rp->arg, "address range in \"%s\" runs backwards",
		    rp->arg.s);
	n->has_addr = true;
	if (ports == NULL)
		return 0;
	slash = strchr(ports, '/');
	if (slash != NULL) {
		uint16_t base;

		*slash++ = '\0';
		if (!base_ok)
			goto bad;
		if (parse_port(rp, slash, true, &base) < 0)
			return -EINVAL;
		if (base == 0)
			FAIL(rp, &rp->arg, "base port in \"%s\" must be 1..65535",
			    rp->arg.s);
		n->base_port = base;
	}
	if (parse_nat_ports(rp, ports, &n->ports) < 0)
		return -EINVAL;
	n->has_ports = true;
	return 0;
bad:
	FAIL(rp, &rp->arg, "bad address \"%s\" (ADDR[-ADDR][:PORT[-PORT]%s]%s)",
	    rp->arg.s, base_ok ? "[/BASE]" : "",
	    v6 ? "; IPv6 with ports as [ADDR]:PORT" : "");
}

/* A word a file name may be without quoting in iptables-save's form. */
static bool
plain_word(const char *s)
{
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || *s == '"' || *s == '\'' ||
		    *s == '\\')
			return false;
	return true;
}

/*
 * COPY --to: the collector's address (VXLAN), tap:NAME (a TAP device
 * hexgated creates) or pcap:/PATH (a capture file it writes).  Names are
 * checked here, so a bad one fails the load instead of the session.
 */
static int
parse_copy_to(struct rp *rp, struct fw_target *t)
{
	const char *s = rp->arg.s;
	size_t n;

	if (strncmp(s, "tap:", 4) == 0) {
		s += 4;
		n = strlen(s);
		/* The kernel's rules for a device name (dev_valid_name). */
		if (n == 0 || n >= FW_IFNAME_MAX || strcmp(s, ".") == 0 ||
		    strcmp(s, "..") == 0 || strpbrk(s, "/:") != NULL ||
		    !plain_word(s))
			FAIL(rp, &rp->arg, "bad COPY --to \"%s\" (tap:NAME, "
			    "NAME 1 to %d characters, no '/', ':' or blanks)",
			    rp->arg.s, FW_IFNAME_MAX - 1);
		t->copy_to_kind = FW_COPY_TO_TAP;
	} else if (strncmp(s, "pcap:", 5) == 0) {
		s += 5;
		n = strlen(s);
		if (s[0] != '/' || n >= FW_COPY_LOCAL_MAX || s[n - 1] == '/' ||
		    !plain_word(s))
			FAIL(rp, &rp->arg, "bad COPY --to \"%s\" (pcap:/PATH, "
			    "an absolute file name of at most %d characters, "
			    "no blanks or quotes)", rp->arg.s,
			    FW_COPY_LOCAL_MAX - 1);
		t->copy_to_kind = FW_COPY_TO_PCAP;
	} else {
		return parse_host(rp, s, t->copy_to);
	}
	memcpy(t->copy_local, s, n + 1);
	return 0;
}

static int
target_option(struct rp *rp, int opt)
{
	struct fw_target *t = &rp->r->target;
	const struct fw_kw *kw;
	uint64_t v;

	if (rp->tgt_seen & (1u << opt))
		FAIL(rp, &rp->opt, "option \"%s\" given twice", rp->opt.s);
	rp->tgt_seen |= 1u << opt;
	switch (opt) {
	case T_REJECT_WITH:
		if (need_arg(rp, "an ICMP error type or tcp-reset") < 0)
			return -EINVAL;
		kw = rp->r->family == FW_IPV6 ?
		    fw_kw_find(FW_KW(fw_kw_reject6), rp->arg.s) :
		    fw_kw_find(FW_KW(fw_kw_reject), rp->arg.s);
		if (kw == NULL) {
			char list[512];

			if (rp->r->family == FW_IPV6)
				fw_kw_list(FW_KW(fw_kw_reject6), list, sizeof(list));
			else
				fw_kw_list(FW_KW(fw_kw_reject), list, sizeof(list));
			FAIL(rp, &rp->arg, "unknown --reject-with \"%s\" (one "
			    "of: %s)", rp->arg.s, list);
		}
		t->reject_with = (uint8_t)kw->val;
		return 0;
	case T_LOG_PREFIX:
		if (need_arg(rp, "text") < 0)
			return -EINVAL;
		if (strlen(rp->arg.s) >= FW_LOG_PREFIX_MAX)
			FAIL(rp, &rp->arg, "log prefix is %zu characters long; "
			    "the limit is %d", strlen(rp->arg.s),
			    FW_LOG_PREFIX_MAX - 1);
		snprintf(t->log_prefix, sizeof(t->log_prefix), "%s", rp->arg.s);
		return 0;
	case T_LOG_LEVEL:
		if (need_arg(rp, "0..7 or a syslog level name") < 0)
			return -EINVAL;
		if (parse_uint(rp->arg.s, 7, &v)) {
			t->log_level = (uint8_t)v;
			return 0;
		}
		kw = fw_kw_find(FW_KW(fw_kw_log_levels), rp->arg.s);
		if (kw == NULL) {
			char list[256];

			fw_kw_list(FW_KW(fw_kw_log_levels), list, sizeof(list));
			FAIL(rp, &rp->arg, "bad --log-level \"%s\" (0..7 or one "
			    "of: %s)", rp->arg.s, list);
		}
		t->log_level = (uint8_t)kw->val;
		return 0;
	case T_LOG_TCP_SEQ:
		t->log_flags |= FW_LOG_TCP_SEQUENCE;
		return 0;
	case T_LOG_TCP_OPT:
		t->log_flags |= FW_LOG_TCP_OPTIONS;
		return 0;
	case T_LOG_IP_OPT:
		t->log_flags |= FW_LOG_IP_OPTIONS;
		return 0;
	case T_LOG_UID:
		t->log_flags |= FW_LOG_UID;
		return 0;
	case T_TO_SOURCE:
	case T_TO_DEST:
		if (need_arg(rp, "ADDR[-ADDR][:PORT[-PORT]]") < 0)
			return -EINVAL;
		return parse_nat_to(rp, &t->nat, opt == T_TO_DEST);
	case T_TO_PORTS:
		if (need_arg(rp, "PORT[-PORT]") < 0 ||
		    parse_nat_ports(rp, rp->arg.s, &t->nat.ports) < 0)
			return -EINVAL;
		t->nat.has_ports = true;
		return 0;
	case T_TO:
		if (need_arg(rp, t->kind == FW_T_COPY ?
		    "an address, tap:NAME or pcap:/PATH" :
		    "ADDR/MASK") < 0)
			return -EINVAL;
		if (t->kind == FW_T_COPY)
			return parse_copy_to(rp, t);
		return parse_prefix(rp, rp->arg.s, &t->nat.netmap);
	case T_RANDOM:
		t->nat.flags |= FW_NAT_RANDOM;
		return 0;
	case T_RANDOM_FULLY:
		t->nat.flags |= FW_NAT_RANDOM_FULLY;
		return 0;
	case T_PERSISTENT:
		t->nat.flags |= FW_NAT_PERSISTENT;
		return 0;
	case T_FROM: {
		struct fw_iface ifc;

		memset(&ifc, 0, sizeof(ifc));
		if (need_arg(rp, "an interface") < 0 ||
		    parse_iface(rp, &ifc) < 0)
			return -EINVAL;
		if (ifc.wildcard || ifc.name[0] == '\0')
			FAIL(rp, &rp->arg, "COPY --from takes one interface, "
			    "not a wildcard");
		memcpy(t->copy_from, ifc.name, sizeof(t->copy_from));
		rp->r->from_col = rp->arg.col_first;
		return 0;
	}
	case T_BIDIR:
		t->copy_bidirectional = true;
		return 0;
	case T_SNAPLEN:
		if (need_arg(rp, "a length in bytes") < 0)
			return -EINVAL;
		if (!parse_uint(rp->arg.s, 65535, &v) || v < FW_COPY_SNAPLEN_MIN)
			FAIL(rp, &rp->arg, "bad --snaplen \"%s\" (%u..65535 "
			    "bytes of each frame)", rp->arg.s, FW_COPY_SNAPLEN_MIN);
		t->copy_snaplen = (uint16_t)v;
		return 0;
	}
	return -EINVAL;
}

static int
valid_chain_name(struct rp *rp, const struct fw_tok *tok)
{
	size_t n = strlen(tok->s);

	if (n == 0 || n >= FW_CHAIN_NAME_MAX || tok->s[0] == '-' ||
	    tok->s[0] == '!')
		FAIL(rp, tok, "bad chain name \"%s\" (1 to %d characters, not "
		    "starting with - or !)", tok->s, FW_CHAIN_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)tok->s[i]))
			FAIL(rp, tok, "bad chain name \"%s\"", tok->s);
	return 0;
}

static int
set_target(struct rp *rp, bool is_goto)
{
	struct fw_target *t = &rp->r->target;
	const struct fw_kw *kw;

	if (take_neg(rp))
		FAIL(rp, rp->neg_tok, "a target cannot be negated");
	if (rp->target_tok != NULL)
		FAIL(rp, &rp->opt, "a rule has one target; -j or -g given twice");
	if (need_arg(rp, "a target or a chain") < 0)
		return -EINVAL;
	rp->target_tok = &rp->l->t[rp->i - 1];
	kw = is_goto ? NULL : fw_kw_find(FW_KW(fw_kw_targets), rp->arg.s);
	if (kw != NULL) {
		t->kind = (uint8_t)kw->val;
		t->reject_with = rp->r->family == FW_IPV6 ?
		    FW_REJ_ICMP6_PORT_UNREACHABLE : FW_REJ_ICMP_PORT_UNREACHABLE;
		t->log_level = 4;
	} else {
		if (valid_chain_name(rp, &rp->arg) < 0)
			return -EINVAL;
		t->kind = is_goto ? FW_T_GOTO : FW_T_JUMP;
		snprintf(t->chain, sizeof(t->chain), "%s", rp->arg.s);
	}
	return 0;
}

/* --- standard options --------------------------------------------------- */

static int
parse_counters(struct rp *rp)
{
	char buf[FW_TOKEN_MAX], *comma;
	uint64_t p, b;

	if (need_arg(rp, "PACKETS,BYTES") < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", rp->arg.s);
	comma = strchr(buf, ',');
	if (comma != NULL) {
		*comma++ = '\0';
		if (!parse_uint(buf, UINT64_MAX, &p) ||
		    !parse_uint(comma, UINT64_MAX, &b))
			FAIL(rp, &rp->arg, "bad counters \"%s\" (PACKETS,BYTES)",
			    rp->arg.s);
	} else {
		if (!parse_uint(buf, UINT64_MAX, &p))
			FAIL(rp, &rp->arg, "bad counters \"%s\" (PACKETS,BYTES)",
			    rp->arg.s);
		if (rp->i >= rp->l->n ||
		    !parse_uint(rp->l->t[rp->i].s, UINT64_MAX, &b))
			FAIL(rp, &rp->arg, "-c needs packets and bytes");
		rp->i++;
	}
	rp->r->pkts = p;
	rp->r->bytes = b;
	return 0;
}

static int
std_option(struct rp *rp, int opt)
{
	struct fw_rule *r = rp->r;
	const struct fw_kw *kw;

	if ((rp->std_seen & (1u << opt)) && opt != O_MATCH && opt != O_V4 &&
	    opt != O_V6 && opt != O_JUMP && opt != O_GOTO)
		FAIL(rp, &rp->opt, "option \"%s\" given twice", rp->opt.s);
	rp->std_seen |= 1u << opt;
	if (rp->neg && (opt == O_MATCH || opt == O_COUNTERS || opt == O_V4 ||
	    opt == O_V6))
		FAIL(rp, rp->neg_tok, "\"%s\" cannot be negated", rp->opt.s);
	switch (opt) {
	case O_SRC:
	case O_DST:
		if (need_arg(rp, "an address, ADDR/LEN, a list or ${SET}") < 0)
			return -EINVAL;
		return parse_addr_list(rp, opt == O_SRC ? &r->src : &r->dst);
	case O_IN:
	case O_OUT:
		if (opt == O_IN)
			rp->in_opt = rp->opt;
		else
			rp->out_opt = rp->opt;
		if (need_arg(rp, "an interface name, eth+ for a prefix") < 0)
			return -EINVAL;
		if (opt == O_IN)
			r->in_col = rp->arg.col_first;
		else
			r->out_col = rp->arg.col_first;
		return parse_iface(rp, opt == O_IN ? &r->in : &r->out);
	case O_PROTO: {
		bool neg = take_neg(rp);

		if (need_arg(rp, "a protocol name or number") < 0 ||
		    parse_proto_name(rp, rp->arg.s, &r->proto) < 0)
			return -EINVAL;
		if (r->proto == 0) {
			if (neg)
				FAIL(rp, &rp->arg, "\"! -p %s\" would never "
				    "match", rp->arg.s);
			return 0;
		}
		r->has_proto = true;
		r->proto_neg = neg;
		return 0;
	}
	case O_FRAG:
		if (r->family == FW_IPV6)
			FAIL(rp, &rp->opt, "-f is IPv4 only");
		r->frag = true;
		r->frag_neg = take_neg(rp);
		return 0;
	case O_JUMP:
	case O_GOTO:
		return set_target(rp, opt == O_GOTO);
	case O_MATCH: {
		struct fw_tok *mt;

		if (need_arg(rp, "a module name") < 0)
			return -EINVAL;
		mt = &rp->arg;
		kw = fw_kw_find(FW_KW(fw_kw_matches), mt->s);
		if (kw == NULL) {
			const char *sug = fw_kw_suggest(FW_KW(fw_kw_matches), mt->s);
			char list[256];

			if (sug != NULL)
				FAIL(rp, mt, "unknown match \"%s\" (did you mean "
				    "\"%s\"?)", mt->s, sug);
			fw_kw_list(FW_KW(fw_kw_matches), list, sizeof(list));
			FAIL(rp, mt, "unknown match \"%s\" (supported: %s)",
			    mt->s, list);
		}
		if (kw->val == FW_M_ICMP && r->family == FW_IPV6)
			FAIL(rp, mt, "-m icmp is IPv4 only; use -m icmp6");
		if (kw->val == FW_M_ICMP6 && r->family == FW_IPV4)
			FAIL(rp, mt, "-m icmp6 is IPv6 only; use -m icmp");
		if (kw->val == FW_M_TTL && r->family == FW_IPV6)
			FAIL(rp, mt, "-m ttl is IPv4 only; use -m hl");
		if (kw->val == FW_M_HL && r->family == FW_IPV4)
			FAIL(rp, mt, "-m hl is IPv6 only; use -m ttl");
		if (match_loaded(r, kw->val))
			FAIL(rp, mt, "match \"%s\" given twice (each module "
			    "once per rule)", mt->s);
		match_load(rp, kw->val, &rp->l->t[rp->i - 1]);
		return 0;
	}
	case O_COUNTERS:
		return parse_counters(rp);
	case O_V4:
	case O_V6:
		if ((opt == O_V4) != (r->family == FW_IPV4))
			rp->other_family = true;
		return 0;
	}
	return -EINVAL;
}

/* --- the option loop -------------------------------------------------- */

static int implicit_match(const struct fw_rule *r);

static void
unknown_option(struct rp *rp)
{
	const char *owners[FW_M_COUNT];
	unsigned n = 0;
	char hint[160] = "";

	for (int k = 0; k < FW_M_COUNT; k++)
		if (fw_kw_find(match_opts[k].kw, match_opts[k].n, rp->opt.s))
			owners[n++] = fw_match_name(k);
	if (n == 1)
		snprintf(hint, sizeof(hint), " (it belongs to -m %s%s)",
		    owners[0], n == 1 && (strcmp(owners[0], "tcp") == 0 ||
		    strcmp(owners[0], "udp") == 0) ? " or -p" : "");
	else if (n >= 2)
		snprintf(hint, sizeof(hint), " (it belongs to -m %s or -m %s; "
		    "load one first, or give -p %s)", owners[0], owners[1],
		    owners[0]);
	else {
		/* The closest name among every option in reach. */
		const struct opt_tab *tabs[FW_M_COUNT + 2];
		const struct opt_tab std = OPT_TAB(std_opts);
		const char *sug = NULL;
		unsigned nt = 0, best = 3, d;

		tabs[nt++] = &std;
		for (unsigned i = 0; i < rp->r->n_matches; i++)
			tabs[nt++] = &match_opts[rp->r->match_order[i]];
		if (target_opts[rp->r->target.kind].n)
			tabs[nt++] = &target_opts[rp->r->target.kind];
		if (implicit_match(rp->r) >= 0)
			tabs[nt++] = &match_opts[implicit_match(rp->r)];
		for (unsigned t = 0; t < nt; t++)
			for (size_t i = 0; i < tabs[t]->n; i++) {
				d = fw_edit_distance(rp->opt.s, tabs[t]->kw[i].name);
				if (d < best) {
					best = d;
					sug = tabs[t]->kw[i].name;
				}
			}
		if (sug != NULL)
			snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)",
			    sug);
	}
	fw_err_tok(rp->p, rp->l, &rp->opt, "unknown option \"%s\"%s",
	    rp->opt.s, hint);
}

/* The protocol's own module, loaded by "-p tcp --dport 22". */
static int
implicit_match(const struct fw_rule *r)
{
	if (!r->has_proto || r->proto_neg)
		return -1;
	switch (r->proto) {
	case 6:  return FW_M_TCP;
	case 17: return FW_M_UDP;
	case 1:  return r->family == FW_IPV4 ? FW_M_ICMP : -1;
	case 58: return r->family == FW_IPV6 ? FW_M_ICMP6 : -1;
	default: return -1;
	}
}

/*
 * getopt_long() takes any unambiguous prefix of a long option, and
 * iptables users rely on it ("-j DNAT --to 10.0.0.5"), so the options in
 * reach here (standard, target, loaded modules, the protocol's module)
 * are searched by prefix when no exact name matched.
 */
enum { W_STD = -1, W_TARGET = -2 };

static void
abbrev_scan(const struct fw_kw *kw, size_t n, int where, const char *opt,
    int *found_where, const struct fw_kw **found, unsigned *count)
{
	size_t len = strlen(opt);

	for (size_t i = 0; i < n; i++) {
		if (strncmp(kw[i].name, opt, len) != 0 || kw[i].name[1] != '-')
			continue;
		if (*count > 0 && *found_where == where &&
		    (*found)->val == kw[i].val)
			continue;	/* an alias of the same option */
		*found_where = where;
		*found = &kw[i];
		(*count)++;
	}
}

static int
dispatch_abbrev(struct rp *rp)
{
	const struct opt_tab *ot = &target_opts[rp->r->target.kind];
	const struct fw_kw *found = NULL;
	int where = 0, k;
	unsigned count = 0;

	if (strncmp(rp->opt.s, "--", 2) != 0 || strlen(rp->opt.s) < 3) {
		unknown_option(rp);
		return -EINVAL;
	}
	abbrev_scan(std_opts, HG_ARRAY_SIZE(std_opts), W_STD, rp->opt.s,
	    &where, &found, &count);
	if (ot->n)
		abbrev_scan(ot->kw, ot->n, W_TARGET, rp->opt.s, &where, &found,
		    &count);
	for (unsigned i = 0; i < rp->r->n_matches; i++) {
		k = rp->r->match_order[i];
		abbrev_scan(match_opts[k].kw, match_opts[k].n, k, rp->opt.s,
		    &where, &found, &count);
	}
	k = implicit_match(rp->r);
	if (k >= 0 && !match_loaded(rp->r, k))
		abbrev_scan(match_opts[k].kw, match_opts[k].n, k, rp->opt.s,
		    &where, &found, &count);
	if (count > 1) {
		fw_err_tok(rp->p, rp->l, &rp->opt, "option \"%s\" is ambiguous "
		    "(\"%s\" and others); write it out", rp->opt.s, found->name);
		return -EINVAL;
	}
	if (count == 0) {
		unknown_option(rp);
		return -EINVAL;
	}
	if (where == W_STD)
		return std_option(rp, found->val);
	if (where == W_TARGET)
		return target_option(rp, found->val);
	if (!match_loaded(rp->r, where))
		match_load(rp, where, &rp->l->t[rp->i - 1]);
	return match_option(rp, where, found->val);
}

static int
dispatch(struct rp *rp)
{
	const struct fw_kw *kw;
	const struct opt_tab *ot;
	int k;

	kw = fw_kw_find(std_opts, HG_ARRAY_SIZE(std_opts), rp->opt.s);
	if (kw != NULL)
		return std_option(rp, kw->val);
	ot = &target_opts[rp->r->target.kind];
	if (ot->n && (kw = fw_kw_find(ot->kw, ot->n, rp->opt.s)) != NULL)
		return target_option(rp, kw->val);
	for (unsigned i = 0; i < rp->r->n_matches; i++) {
		k = rp->r->match_order[i];
		kw = fw_kw_find(match_opts[k].kw, match_opts[k].n, rp->opt.s);
		if (kw != NULL)
			return match_option(rp, k, kw->val);
	}
	k = implicit_match(rp->r);
	if (k >= 0 && !match_loaded(rp->r, k) &&
	    (kw = fw_kw_find(match_opts[k].kw, match_opts[k].n, rp->opt.s))) {
		match_load(rp, k, &rp->l->t[rp->i - 1]);
		return match_option(rp, k, kw->val);
	}
	return dispatch_abbrev(rp);
}

/* Splits "--opt=value" and "-pvalue" the way getopt_long() does. */
static void
split_option(struct rp *rp, const struct fw_tok *tok)
{
	char *name = rp->optname;
	const char *s = tok->s, *eq;
	size_t n, cols;

	rp->opt = *tok;
	rp->has_attached = false;
	if (s[1] == '-') {
		eq = strchr(s, '=');
		if (eq == NULL)
			return;
		n = (size_t)(eq - s);
	} else {
		if (s[2] == '\0' || strchr("sdiopjgmc", s[1]) == NULL)
			return;
		n = 2;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	/* Columns count characters; the name may hold any. */
	cols = fw_utf8_cols(s, n);
	rp->opt.s = name;
	rp->opt.col_last = (uint16_t)(tok->col_first + cols - 1);
	rp->arg = *tok;
	rp->arg.s = (char *)s + n + (s[1] == '-');
	rp->arg.col_first = (uint16_t)(tok->col_first + cols + (s[1] == '-'));
	rp->has_attached = true;
}

/* --- whole-rule checks -------------------------------------------------- */

static unsigned
chain_hooks(const struct rp *rp)
{
	static const struct { const char *name; unsigned hook; } hooks[] = {
		{ "INPUT", H_IN }, { "FORWARD", H_FWD }, { "OUTPUT", H_OUT },
		{ "PREROUTING", H_PRE }, { "POSTROUTING", H_POST },
	};
	const char *name = rp->chain->name;
	size_t n = strlen(name);

	if (n > 5 && strcmp(name + n - 5, "_CUST") == 0)
		n -= 5;
	if (!rp->chain->builtin && !rp->chain->customer)
		return 0;	/* a user chain: its hooks are its callers' */
	for (size_t i = 0; i < HG_ARRAY_SIZE(hooks); i++)
		if (strlen(hooks[i].name) == n &&
		    strncmp(hooks[i].name, name, n) == 0)
			return hooks[i].hook;
	return 0;
}

static bool
proto_is(const struct fw_rule *r, const uint8_t *ok, size_t n)
{
	if (!r->has_proto || r->proto_neg)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->proto == ok[i])
			return true;
	return false;
}

static const uint8_t ports_protos[] = { 6, 17, 33, 132, 136 };
static const uint8_t nat_port_protos[] = { 6, 17, 33, 132, 136 };

static int
check_matches(struct rp *rp)
{
	const struct fw_rule *r = rp->r;
	uint8_t want;

	for (unsigned i = 0; i < r->n_matches; i++) {
		enum fw_match_kind k = r->match_order[i];
		const char *name = fw_match_name(k);
		const struct fw_tok *at = rp->match_tok[k];

		switch (k) {
		case FW_M_TCP:
		case FW_M_UDP:
		case FW_M_ICMP:
		case FW_M_ICMP6:
			want = k == FW_M_TCP ? 6 : k == FW_M_UDP ? 17 :
			    k == FW_M_ICMP ? 1 : 58;
			if (!proto_is(r, &want, 1))
				FAIL(rp, at, "-m %s needs \"-p %s\"", name,
				    fw_proto_name(want));
			if ((k == FW_M_ICMP || k == FW_M_ICMP6) &&
			    rp->opt_seen[k] == 0)
				FAIL(rp, at, "-m %s needs --%s-type", name,
				    k == FW_M_ICMP ? "icmp" : "icmpv6");
			break;
		case FW_M_MULTIPORT:
			if (!proto_is(r, ports_protos, sizeof(ports_protos)))
				FAIL(rp, at, "-m multiport needs -p tcp, udp, "
				    "udplite, sctp or dccp");
			if (r->multiport.dir == 0)
				FAIL(rp, at, "-m multiport needs --sports, "
				    "--dports or --ports");
			break;
		case FW_M_CONNTRACK:
			if (r->ct.present == 0)
				FAIL(rp, at, "-m conntrack needs at least one "
				    "--ct option");
			break;
		case FW_M_STATE:
		case FW_M_COMMENT:
		case FW_M_MAC:
		case FW_M_SET:
		case FW_M_LENGTH:
		case FW_M_PKTTYPE:
			if (rp->opt_seen[k] == 0)
				FAIL(rp, at, "-m %s needs %s", name,
				    match_opts[k].kw[0].name);
			if (k == FW_M_MAC && (chain_hooks(rp) &
			    (H_OUT | H_POST)))
				FAIL(rp, at, "-m mac works only in PREROUTING, "
				    "INPUT and FORWARD");
			break;
		case FW_M_IPRANGE:
			if (rp->opt_seen[k] == 0)
				FAIL(rp, at, "-m iprange needs --src-range or "
				    "--dst-range");
			break;
		case FW_M_TCPMSS:
			want = 6;
			if (!proto_is(r, &want, 1))
				FAIL(rp, at, "-m tcpmss needs \"-p tcp\"");
			if (rp->opt_seen[k] == 0)
				FAIL(rp, at, "-m tcpmss needs --mss");
			break;
		case FW_M_TTL:
		case FW_M_HL:
			if (rp->opt_seen[k] == 0)
				FAIL(rp, at, "-m %s needs --%s-eq, --%s-lt or "
				    "--%s-gt", name, name, name, name);
			break;
		case FW_M_LIMIT:
		case FW_M_COUNT:
			break;
		}
	}
	return 0;
}

static int
check_target(struct rp *rp)
{
	struct fw_target *t = &rp->r->target;
	unsigned hooks = chain_hooks(rp), allowed = 0;
	bool nat = t->kind >= FW_T_SNAT && t->kind <= FW_T_REDIRECT;
	const char *name = fw_target_name(t->kind);
	uint8_t tcp = 6;

	if (nat && rp->table != FW_TABLE_NAT)
		FAIL(rp, rp->target_tok, "-j %s works only in table nat", name);
	if (t->kind == FW_T_REJECT && rp->table != FW_TABLE_FILTER)
		FAIL(rp, rp->target_tok, "-j REJECT works only in table filter");
	if ((t->kind == FW_T_COPY) != (strcmp(rp->chain->name, "MACRO_CUST") == 0))
		FAIL(rp, rp->target_tok, t->kind == FW_T_COPY ?
		    "-j COPY works only in MACRO_CUST" :
		    "MACRO_CUST holds only appliance macros (-j COPY)");
	switch (t->kind) {
	case FW_T_REJECT:
		if (t->reject_with == FW_REJ_TCP_RESET && !proto_is(rp->r, &tcp, 1))
			FAIL(rp, rp->target_tok, "--reject-with tcp-reset needs -p tcp");
		allowed = H_IN | H_FWD | H_OUT;
		break;
	case FW_T_SNAT:
	case FW_T_DNAT:
		if (!t->nat.has_addr)
			FAIL(rp, rp->target_tok, "-j %s needs %s", name, t->kind == FW_T_SNAT ?
			    "--to-source" : "--to-destination");
		allowed = t->kind == FW_T_SNAT ? H_POST | H_IN : H_PRE | H_OUT;
		break;
	case FW_T_MASQUERADE:
		allowed = H_POST;
		break;
	case FW_T_REDIRECT:
		allowed = H_PRE | H_OUT;
		break;
	case FW_T_NETMAP:
		if (!(rp->tgt_seen & (1u << T_TO)))
			FAIL(rp, rp->target_tok, "-j NETMAP needs --to ADDR/MASK");
		break;
	case FW_T_COPY:
		if (t->copy_from[0] == '\0' || !(rp->tgt_seen & (1u << T_TO)))
			FAIL(rp, rp->target_tok, "-j COPY needs --from IFACE and "
			    "--to ADDR, tap:NAME or pcap:/PATH");
		break;
	}
	if (nat && t->nat.has_ports &&
	    !proto_is(rp->r, nat_port_protos, sizeof(nat_port_protos)))
		FAIL(rp, rp->target_tok, "-j %s with ports needs -p tcp, udp, udplite, "
		    "sctp or dccp", name);
	if (allowed != 0 && hooks != 0 && !(hooks & allowed))
		FAIL(rp, rp->target_tok, "-j %s cannot be used in chain %s", name,
		    rp->chain->name);
	return 0;
}

/*
 * Rules pasted from a web page or a document: "—from" and "–j" (a word
 * processor's dashes) and “quoted” words.  Refused, as iptables would,
 * but with the ASCII the user meant.
 */
static int
typographic(struct rp *rp, const struct fw_tok *tok)
{
	char fixed[FW_TOKEN_MAX + 2];
	uint32_t cp;

	if (fw_typo_dash(tok->s, fixed, sizeof(fixed), &cp))
		FAIL(rp, tok, "unexpected \"%.40s\": U+%04X is a typographic "
		    "dash, not \"-\" (did you mean \"%.40s\"?)", tok->s,
		    (unsigned)cp, fixed);
	if (fw_typo_quote(tok->s, &cp))
		FAIL(rp, tok, "unexpected \"%.40s\": U+%04X is a typographic "
		    "quote; quote with \" or '", tok->s, (unsigned)cp);
	return 0;
}

int
fw_rule_parse(struct fw_parser *p, const struct fw_line *l, unsigned first,
    enum fw_table_id t, const struct fw_chain *c, struct fw_rule *r)
{
	struct rp rp = {
		.p = p, .l = l, .i = first, .table = t, .chain = c, .r = r,
	};
	const struct fw_tok *tok;
	unsigned hooks;

	memset(r, 0, sizeof(*r));
	r->family = p->family;
	r->line = l->lineno;
	while (rp.i < l->n) {
		tok = &l->t[rp.i++];
		if (!tok->quoted && strcmp(tok->s, "!") == 0) {
			if (rp.neg)
				FAIL(&rp, tok, "\"!\" given twice");
			rp.neg = true;
			rp.neg_tok = tok;
			continue;
		}
		if (!tok->quoted && typographic(&rp, tok) < 0)
			return -EINVAL;
		if (tok->quoted || tok->s[0] != '-' || tok->s[1] == '\0')
			FAIL(&rp, tok, "unexpected \"%s\": expected an option",
			    tok->s);
		split_option(&rp, tok);
		if (dispatch(&rp) < 0)
			return -EINVAL;
		if (rp.has_attached)
			FAIL(&rp, tok, "option \"%s\" takes no value", rp.opt.s);
		if (rp.neg)
			FAIL(&rp, rp.neg_tok, "\"%s\" cannot be negated", rp.opt.s);
	}
	if (rp.neg)
		FAIL(&rp, rp.neg_tok, "\"!\" at the end of the rule");
	if (rp.other_family)
		return 1;
	hooks = chain_hooks(&rp);
	/* The carets go under the option (iptables names it too). */
	if (r->in.name[0] && (hooks & (H_OUT | H_POST)))
		FAIL(&rp, &rp.in_opt, "-i cannot be used in chain %s (packets "
		    "there have no input interface)", c->name);
	if (r->out.name[0] && (hooks & (H_PRE | H_IN)))
		FAIL(&rp, &rp.out_opt, "-o cannot be used in chain %s (packets "
		    "there have no output interface yet)", c->name);
	if (check_matches(&rp) < 0 || check_target(&rp) < 0)
		return -EINVAL;
	return 0;
}
