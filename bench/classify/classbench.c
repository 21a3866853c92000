/*
 * bench/classify/classbench.c: ClassBench files in and out, the translation
 * both classifiers share, larger sets and traces (classbench.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classbench.h"

const struct cb_rule cb_rule_added = {
	.src = 0xc0000201, .src_len = 32,	/* 192.0.2.1 */
	.dst = 0xc6336401, .dst_len = 32,	/* 198.51.100.1 */
	.proto = CB_PROTO_TCP,
	.sp_lo = 0, .sp_hi = 65535, .dp_lo = 4242, .dp_hi = 4242,
};

static uint32_t
prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

void
cb_set_free(struct cb_set *s)
{
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
}

static int
cb_push(struct cb_set *s, const struct cb_rule *r)
{
	struct cb_rule *n;
	uint32_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 1024;
		n = realloc(s->r, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return -1;
		s->r = n;
		s->cap = cap;
	}
	s->r[s->n++] = *r;
	return 0;
}

/* "a.b.c.d/len" */
static int
parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	unsigned a, b, c, d, l;
	int used = 0;

	if (sscanf(s, "%u.%u.%u.%u/%u%n", &a, &b, &c, &d, &l, &used) != 5 ||
	    s[used] != '\0' || a > 255 || b > 255 || c > 255 || d > 255 ||
	    l > 32)
		return -1;
	*len = (uint8_t)l;
	*addr = ((uint32_t)a << 24 | b << 16 | c << 8 | d) & prefix_mask(*len);
	return 0;
}

/* "lo : hi" */
static int
parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;
	int used = 0;

	if (sscanf(s, "%u : %u%n", &a, &b, &used) != 2 || s[used] != '\0' ||
	    a > b || b > 65535)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int
parse_line(char *line, struct cb_rule *r, const char **why)
{
	char *f[6], *save = NULL, *tok;
	unsigned proto, mask;
	int n = 0, used = 0;

	if (line[0] != '@') {
		*why = "a rule starts with '@'";
		return -1;
	}
	for (tok = strtok_r(line + 1, "\t\r\n", &save); tok != NULL && n < 6;
	    tok = strtok_r(NULL, "\t\r\n", &save))
		f[n++] = tok;
	if (n < 5) {
		*why = "want SRC, DST, SPORTS, DPORTS, PROTO separated by tabs";
		return -1;
	}
	memset(r, 0, sizeof(*r));
	if (parse_prefix(f[0], &r->src, &r->src_len) != 0 ||
	    parse_prefix(f[1], &r->dst, &r->dst_len) != 0) {
		*why = "bad prefix (want a.b.c.d/len)";
		return -1;
	}
	if (parse_range(f[2], &r->sp_lo, &r->sp_hi) != 0 ||
	    parse_range(f[3], &r->dp_lo, &r->dp_hi) != 0) {
		*why = "bad port range (want LO : HI, LO <= HI <= 65535)";
		return -1;
	}
	if (sscanf(f[4], "%x/%x%n", &proto, &mask, &used) != 2 ||
	    f[4][used] != '\0' || proto > 255) {
		*why = "bad protocol (want 0xPP/0xMM)";
		return -1;
	}
	if (mask == 0) {
		r->proto_any = true;
	} else if (mask == 0xff) {
		r->proto = (uint8_t)proto;
	} else {
		*why = "protocol mask other than 0x00 or 0xFF";
		return -1;
	}
	return 0;
}

int
cb_load(const char *path, struct cb_set *out, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	uint32_t lineno = 0;
	const char *why = NULL;
	struct cb_rule r;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (parse_line(line, &r, &why) != 0)
			goto bad;
		r.orig = out->n;
		if (cb_push(out, &r) != 0) {
			why = "out of memory";
			goto bad;
		}
	}
	free(line);
	fclose(f);
	if (out->n == 0) {
		snprintf(err, err_size, "%s: no rules", path);
		return -1;
	}
	return 0;
bad:
	snprintf(err, err_size, "%s:%" PRIu32 ": %s", path, lineno, why);
	free(line);
	fclose(f);
	cb_set_free(out);
	return -1;
}

static void
put_prefix(FILE *f, uint32_t a, uint8_t len)
{
	fprintf(f, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
	    a & 255, len);
}

void
cb_write(FILE *f, const struct cb_set *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct cb_rule *r = &s->r[i];

		fputc('@', f);
		put_prefix(f, r->src, r->src_len);
		fputc('\t', f);
		put_prefix(f, r->dst, r->dst_len);
		fprintf(f, "\t%u : %u\t%u : %u\t0x%02x/0x%s\t0x0000/0x0000\t\n",
		    r->sp_lo, r->sp_hi, r->dp_lo, r->dp_hi,
		    r->proto_any ? 0 : r->proto, r->proto_any ? "00" : "FF");
	}
}

static bool
ports_full(const struct cb_rule *r)
{
	return r->sp_lo == 0 && r->sp_hi == 65535 && r->dp_lo == 0 &&
	    r->dp_hi == 65535;
}

int
cb_expand(const struct cb_set *raw, struct cb_set *out,
    struct cb_expand_report *rep)
{
	struct cb_rule r;

	memset(out, 0, sizeof(*out));
	memset(rep, 0, sizeof(*rep));
	for (uint32_t i = 0; i < raw->n; i++) {
		r = raw->r[i];
		if (r.proto_any && !ports_full(&r)) {
			/* Ports exist for tcp and udp only: one rule each,
			 * side by side, so the first match stays the same
			 * rule of the file. */
			rep->any_split++;
			r.proto_any = false;
			r.proto = CB_PROTO_TCP;
			if (cb_push(out, &r) != 0)
				goto nomem;
			r.proto = CB_PROTO_UDP;
		} else if (!r.proto_any && !cb_has_ports(&r) &&
		    !ports_full(&r)) {
			rep->ports_dropped++;
			r.sp_lo = r.dp_lo = 0;
			r.sp_hi = r.dp_hi = 65535;
		}
		if (cb_push(out, &r) != 0)
			goto nomem;
	}
	return 0;
nomem:
	cb_set_free(out);
	return -1;
}

static int
fmt_prefix(char *buf, size_t size, const char *opt, uint32_t a, uint8_t len)
{
	return snprintf(buf, size, "%s%u.%u.%u.%u/%u", opt, a >> 24,
	    (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case CB_PROTO_ICMP:
		return "icmp";
	case CB_PROTO_TCP:
		return "tcp";
	case CB_PROTO_UDP:
		return "udp";
	default:
		return NULL;
	}
}

/* Appends to buf at *n like snprintf, never past size. */
#define CB_APPEND(buf, size, n, ...) do {				\
	int w_ = snprintf((buf) + ((n) < (size) ? (n) : (size)),	\
	    (n) < (size) ? (size) - (n) : 0, __VA_ARGS__);		\
	(n) += (size_t)(w_ > 0 ? w_ : 0);				\
} while (0)

static void
fmt_range(char *buf, size_t size, size_t *n, const char *opt, char sep,
    uint16_t lo, uint16_t hi)
{
	if (lo == 0 && hi == 65535)
		return;
	if (lo == hi)
		CB_APPEND(buf, size, *n, " %s %u", opt, lo);
	else
		CB_APPEND(buf, size, *n, " %s %u%c%u", opt, lo, sep, hi);
}

int
cb_format_ipt(const struct cb_rule *r, char *buf, size_t size)
{
	const char *pn = r->proto_any ? NULL : proto_name(r->proto);
	size_t n = 0;
	char tmp[40];

	buf[0] = '\0';
	if (r->src_len) {
		fmt_prefix(tmp, sizeof(tmp), " -s ", r->src, r->src_len);
		CB_APPEND(buf, size, n, "%s", tmp);
	}
	if (r->dst_len) {
		fmt_prefix(tmp, sizeof(tmp), " -d ", r->dst, r->dst_len);
		CB_APPEND(buf, size, n, "%s", tmp);
	}
	if (!r->proto_any) {
		if (pn != NULL)
			CB_APPEND(buf, size, n, " -p %s", pn);
		else
			CB_APPEND(buf, size, n, " -p %u", r->proto);
	}
	if (cb_has_ports(r) && !ports_full(r)) {
		CB_APPEND(buf, size, n, " -m %s", pn);
		fmt_range(buf, size, &n, "--sport", ':', r->sp_lo, r->sp_hi);
		fmt_range(buf, size, &n, "--dport", ':', r->dp_lo, r->dp_hi);
	}
	CB_APPEND(buf, size, n, " -j ACCEPT");
	/* Without the leading blank. */
	memmove(buf, buf + 1, strlen(buf));
	return (int)n - 1;
}

int
cb_format_nft(const struct cb_rule *r, char *buf, size_t size)
{
	const char *pn = r->proto_any ? NULL : proto_name(r->proto);
	size_t n = 0;
	char tmp[40], opt[16];

	buf[0] = '\0';
	if (r->src_len) {
		fmt_prefix(tmp, sizeof(tmp), " ip saddr ", r->src, r->src_len);
		CB_APPEND(buf, size, n, "%s", tmp);
	}
	if (r->dst_len) {
		fmt_prefix(tmp, sizeof(tmp), " ip daddr ", r->dst, r->dst_len);
		CB_APPEND(buf, size, n, "%s", tmp);
	}
	/* "tcp dport 80" implies the protocol; nft writes it so. */
	if (!r->proto_any && !(cb_has_ports(r) && !ports_full(r))) {
		if (pn != NULL)
			CB_APPEND(buf, size, n, " ip protocol %s", pn);
		else
			CB_APPEND(buf, size, n, " ip protocol %u", r->proto);
	}
	if (cb_has_ports(r)) {
		snprintf(opt, sizeof(opt), "%s sport", pn);
		fmt_range(buf, size, &n, opt, '-', r->sp_lo, r->sp_hi);
		snprintf(opt, sizeof(opt), "%s dport", pn);
		fmt_range(buf, size, &n, opt, '-', r->dp_lo, r->dp_hi);
	}
	CB_APPEND(buf, size, n, " accept");
	/* Without the leading blank. */
	memmove(buf, buf + 1, strlen(buf));
	return (int)n - 1;
}

char *
cb_text(const struct cb_set *x, enum cb_text kind, size_t *len)
{
	size_t cap = 256 + (size_t)x->n * 160, n = 0;
	char *text = malloc(cap), line[256];

	if (text == NULL)
		return NULL;
	switch (kind) {
	case CB_TEXT_HEXGATE:
		CB_APPEND(text, cap, n, "*filter\n");
		break;
	case CB_TEXT_KERNEL:
		CB_APPEND(text, cap, n, "*filter\n:INPUT ACCEPT [0:0]\n"
		    ":FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		    ":FORWARD_CUST - [0:0]\n-A FORWARD -j FORWARD_CUST\n");
		break;
	case CB_TEXT_NFT:
		CB_APPEND(text, cap, n, "table ip hgbench {\n"
		    "\tchain forward {\n"
		    "\t\ttype filter hook forward priority filter; "
		    "policy accept;\n");
		break;
	}
	for (uint32_t i = 0; i < x->n; i++) {
		if (kind == CB_TEXT_NFT) {
			cb_format_nft(&x->r[i], line, sizeof(line));
			CB_APPEND(text, cap, n, "\t\t%s\n", line);
		} else {
			cb_format_ipt(&x->r[i], line, sizeof(line));
			CB_APPEND(text, cap, n, "-A FORWARD_CUST %s\n", line);
		}
	}
	CB_APPEND(text, cap, n, kind == CB_TEXT_NFT ? "\t}\n}\n" : "COMMIT\n");
	if (n >= cap) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}

/* A sibling of the prefix: some of its last (up to 8) bits changed. */
static uint32_t
sibling(uint32_t a, uint8_t len, uint64_t *rng)
{
	uint8_t k = len < 8 ? len : 8;
	uint32_t bits, low;

	if (k == 0)
		return a;
	low = 1u << (32 - len);			/* lowest bit of the prefix */
	bits = ((uint32_t)cb_rand(rng) & ((1u << k) - 1)) * low;
	if (bits == 0)
		bits = low;
	return (a ^ bits) & prefix_mask(len);
}

int
cb_grow(const struct cb_set *raw, uint32_t n, uint64_t seed,
    struct cb_set *out)
{
	uint64_t rng = seed, extra = n > raw->n ? n - raw->n : 0;
	struct cb_rule r;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < raw->n; i++) {
		uint64_t k = extra * (i + 1) / raw->n - extra * i / raw->n;

		r = raw->r[i];
		r.orig = out->n;
		if (cb_push(out, &r) != 0)
			goto nomem;
		while (k-- > 0) {
			r = raw->r[i];
			r.orig = out->n;
			r.src = sibling(r.src, r.src_len, &rng);
			if (cb_rand(&rng) & 1)
				r.dst = sibling(r.dst, r.dst_len, &rng);
			if (cb_has_ports(&r) && r.dp_lo == r.dp_hi &&
			    cb_rand(&rng) % 4 == 0)
				r.dp_lo = r.dp_hi =
				    (uint16_t)(1 + cb_rand(&rng) % 65535);
			if (cb_push(out, &r) != 0)
				goto nomem;
		}
	}
	return 0;
nomem:
	cb_set_free(out);
	return -1;
}

static uint16_t
in_range(uint16_t lo, uint16_t hi, uint64_t *rng)
{
	return (uint16_t)(lo + cb_rand(rng) % ((uint32_t)hi - lo + 1));
}

static uint32_t
in_prefix(uint32_t a, uint8_t len, uint64_t *rng)
{
	return a | ((uint32_t)cb_rand(rng) & ~prefix_mask(len));
}

/* Protocols of headers that a rule does not pin. */
static uint8_t
any_proto(uint64_t *rng)
{
	static const uint8_t protos[10] = { 6, 6, 6, 6, 17, 17, 17, 17, 1, 47 };

	return protos[cb_rand(rng) % 10];
}

void
cb_trace(const struct cb_set *x, uint32_t n, unsigned random_pct,
    uint64_t seed, struct cb_hdr *out)
{
	uint64_t rng = seed;

	for (uint32_t i = 0; i < n; i++) {
		struct cb_hdr *h = &out[i];
		const struct cb_rule *r;

		if (cb_rand(&rng) % 100 < random_pct || x->n == 0) {
			h->src = (uint32_t)cb_rand(&rng);
			h->dst = (uint32_t)cb_rand(&rng);
			h->proto = any_proto(&rng);
			h->sport = (uint16_t)cb_rand(&rng);
			h->dport = (uint16_t)cb_rand(&rng);
			continue;
		}
		r = &x->r[cb_rand(&rng) % x->n];
		h->src = in_prefix(r->src, r->src_len, &rng);
		h->dst = in_prefix(r->dst, r->dst_len, &rng);
		h->proto = r->proto_any ? any_proto(&rng) : r->proto;
		h->sport = in_range(r->sp_lo, r->sp_hi, &rng);
		h->dport = in_range(r->dp_lo, r->dp_hi, &rng);
	}
}

uint32_t
cb_first_match(const struct cb_set *x, const struct cb_hdr *h)
{
	bool ports = h->proto == CB_PROTO_TCP || h->proto == CB_PROTO_UDP;

	for (uint32_t i = 0; i < x->n; i++) {
		const struct cb_rule *r = &x->r[i];

		if (((h->src ^ r->src) & prefix_mask(r->src_len)) != 0 ||
		    ((h->dst ^ r->dst) & prefix_mask(r->dst_len)) != 0 ||
		    (!r->proto_any && r->proto != h->proto))
			continue;
		/* Expanded rules carry ports only with tcp or udp. */
		if (cb_has_ports(r) && ports &&
		    (h->sport < r->sp_lo || h->sport > r->sp_hi ||
		    h->dport < r->dp_lo || h->dport > r->dp_hi))
			continue;
		return i;
	}
	return UINT32_MAX;
}
