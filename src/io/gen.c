/*
 * src/io/gen.c: the in-memory ports for benchmarks and tests.
 *
 * "gen:KEY=VAL,..." produces IPv4/UDP frames without touching the kernel:
 *   size=64               frame bytes without FCS, 60..PKT_DATA_ROOM
 *   dmac=02:00:00:00:00:01, smac=02:00:00:00:00:02
 *   src=198.18.0.1        IPv4 source
 *   dst=10.0.0.0          first destination address
 *   span=16777216         how many addresses from dst destinations are
 *                         drawn from; a power of two.  Default 2^24, or
 *                         the largest power of two that fits when dst is
 *                         so high that dst + 2^24 would pass 255.255.255.255
 *   flows=1               distinct destinations, 1..2^20 and <= span
 *   count=N               frames per queue before rx returns 0 (default:
 *                         no end)
 * Destination i is dst + x_i, where x_0 = 0 and x_{i+1} = a*x_i + c mod
 * span, an LCG with a = 1 mod 4 and c odd: by Hull-Dobell it visits every
 * value of [0, span) once per period, so the first `flows` are distinct, the
 * spread is deterministic, and flows=1 means exactly dst.  Frames cycle
 * through the flows in that order; queue q starts at flow q, so workers do
 * not all send the same flow at the same time.  UDP 1024 -> 9 (discard),
 * TTL 64, IPv4 header checksum valid, UDP checksum 0 (none, RFC 768).
 *
 * Every rx call returns max frames until count runs out.  Per flow only the
 * destination and header checksum differ, so a frame is one memcpy of the
 * template plus two stores.  Frames sent to a gen port are counted and
 * dropped, as on null.
 *
 * "null" receives nothing and counts and drops everything sent to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "io_priv.h"

#define GEN_SIZE_MIN	60
#define GEN_FLOWS_MAX	(1u << 20)	/* 8 MiB of flow table */
#define GEN_SPAN_DEFAULT (1ull << 24)
#define GEN_LCG_A	1664525ull	/* = 1 mod 4 */
#define GEN_LCG_C	1013904223ull	/* odd */
#define GEN_SPORT	1024
#define GEN_DPORT	9
#define GEN_IP_OFF	ETH_HDR_LEN
#define GEN_UDP_OFF	(ETH_HDR_LEN + IP4_HDR_LEN)

struct io_gen_cfg {
	uint16_t size_bytes;
	uint8_t dmac[ETH_ALEN];
	uint8_t smac[ETH_ALEN];
	uint32_t src_be;
	uint32_t dst;			/* host order: it is added to */
	uint64_t span;
	uint32_t flows;
	uint64_t count;
	bool span_given;
};

struct io_gen_flow {
	uint32_t dst_be;
	uint16_t csum_be;
};

struct io_gen_queue {
	uint64_t left;			/* frames before the end */
	uint32_t next_flow;
} HG_ALIGNED(HG_CACHE_LINE);

struct io_gen {
	struct io_gen_cfg cfg;
	uint8_t frame[PKT_DATA_ROOM];	/* the template */
	struct io_gen_flow *flows;
	struct io_gen_queue *queues;	/* n_queues */
};

enum io_gen_key {
	GEN_KEY_SIZE,
	GEN_KEY_DMAC,
	GEN_KEY_SMAC,
	GEN_KEY_SRC,
	GEN_KEY_DST,
	GEN_KEY_SPAN,
	GEN_KEY_FLOWS,
	GEN_KEY_COUNT,
	GEN_KEY_COUNT_,		/* number of keys */
};

static const char *const gen_key_names[GEN_KEY_COUNT_] = {
	[GEN_KEY_SIZE] = "size",
	[GEN_KEY_DMAC] = "dmac",
	[GEN_KEY_SMAC] = "smac",
	[GEN_KEY_SRC] = "src",
	[GEN_KEY_DST] = "dst",
	[GEN_KEY_SPAN] = "span",
	[GEN_KEY_FLOWS] = "flows",
	[GEN_KEY_COUNT] = "count",
};

static int
io_gen_parse_u64(const char *key, const char *val, uint64_t min,
    uint64_t max, uint64_t *out, char *err, size_t err_len)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0)
		return io_err(err, err_len, "gen: %s \"%s\" is not a number",
		    key, val);
	if (v < min || v > max)
		return io_err(err, err_len, "gen: %s %llu is out of range "
		    "%llu..%llu", key, v, (unsigned long long)min,
		    (unsigned long long)max);
	*out = v;
	return 0;
}

static int
io_gen_parse_ip(const char *key, const char *val, uint32_t *out_be,
    char *err, size_t err_len)
{
	struct in_addr a;

	if (inet_pton(AF_INET, val, &a) != 1)
		return io_err(err, err_len, "gen: %s \"%s\" is not an IPv4 "
		    "address", key, val);
	*out_be = a.s_addr;
	return 0;
}

static int
io_gen_parse_mac(const char *key, const char *val, uint8_t mac[ETH_ALEN],
    char *err, size_t err_len)
{
	if (pkt_mac_parse(val, mac) < 0)
		return io_err(err, err_len, "gen: %s \"%s\" is not a MAC "
		    "address", key, val);
	return 0;
}

/* Applies one "key=val" to cfg. */
static int
io_gen_parse_item(struct io_gen_cfg *cfg, enum io_gen_key k, const char *val,
    char *err, size_t err_len)
{
	const char *key = gen_key_names[k];
	uint64_t v = 0;
	uint32_t dst_be = 0;
	int rc = 0;

	switch (k) {
	case GEN_KEY_SIZE:
		rc = io_gen_parse_u64(key, val, GEN_SIZE_MIN, PKT_DATA_ROOM,
		    &v, err, err_len);
		cfg->size_bytes = (uint16_t)v;
		break;
	case GEN_KEY_DMAC:
		rc = io_gen_parse_mac(key, val, cfg->dmac, err, err_len);
		break;
	case GEN_KEY_SMAC:
		rc = io_gen_parse_mac(key, val, cfg->smac, err, err_len);
		break;
	case GEN_KEY_SRC:
		rc = io_gen_parse_ip(key, val, &cfg->src_be, err, err_len);
		break;
	case GEN_KEY_DST:
		rc = io_gen_parse_ip(key, val, &dst_be, err, err_len);
		cfg->dst = ntohl(dst_be);
		break;
	case GEN_KEY_SPAN:
		rc = io_gen_parse_u64(key, val, 1, 1ull << 32, &cfg->span,
		    err, err_len);
		if (rc == 0 && (cfg->span & (cfg->span - 1)) != 0)
			rc = io_err(err, err_len, "gen: span %s is not a "
			    "power of two", val);
		cfg->span_given = true;
		break;
	case GEN_KEY_FLOWS:
		rc = io_gen_parse_u64(key, val, 1, GEN_FLOWS_MAX, &v, err,
		    err_len);
		cfg->flows = (uint32_t)v;
		break;
	case GEN_KEY_COUNT:
		rc = io_gen_parse_u64(key, val, 0, UINT64_MAX, &cfg->count,
		    err, err_len);
		break;
	case GEN_KEY_COUNT_:
		hg_fatalx("io: gen key %d", k);
	}
	return rc;
}

static int
io_gen_key_find(const char *key, enum io_gen_key *out)
{
	for (int k = 0; k < GEN_KEY_COUNT_; k++) {
		if (strcmp(key, gen_key_names[k]) == 0) {
			*out = (enum io_gen_key)k;
			return 0;
		}
	}
	return -ENOENT;
}

/* Checks what only makes sense with all keys known. */
static int
io_gen_check_cfg(struct io_gen_cfg *cfg, char *err, size_t err_len)
{
	uint64_t room = (1ull << 32) - cfg->dst;
	char dst[INET_ADDRSTRLEN];
	uint32_t dst_be = htonl(cfg->dst);

	if (!cfg->span_given) {
		while (cfg->span > room)
			cfg->span >>= 1;
	}
	inet_ntop(AF_INET, &dst_be, dst, sizeof(dst));
	if (cfg->span > room)
		return io_err(err, err_len, "gen: dst %s + span %llu runs past "
		    "255.255.255.255", dst, (unsigned long long)cfg->span);
	if (cfg->flows > cfg->span)
		return io_err(err, err_len, "gen: flows %u is more than span "
		    "%llu", cfg->flows, (unsigned long long)cfg->span);
	return 0;
}

static void
io_gen_cfg_defaults(struct io_gen_cfg *cfg)
{
	static const uint8_t dmac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t smac[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->size_bytes = 64;
	memcpy(cfg->dmac, dmac, ETH_ALEN);
	memcpy(cfg->smac, smac, ETH_ALEN);
	cfg->src_be = htonl(0xc6120001);	/* 198.18.0.1, RFC 2544 */
	cfg->dst = 0x0a000000;			/* 10.0.0.0 */
	cfg->span = GEN_SPAN_DEFAULT;
	cfg->flows = 1;
	cfg->count = UINT64_MAX;
}

static int
io_gen_parse(const char *args, struct io_gen_cfg *cfg, char *err,
    size_t err_len)
{
	char *buf, *item, *next;
	unsigned seen = 0;
	int rc = 0;

	io_gen_cfg_defaults(cfg);
	if (args[0] == '\0')
		return io_gen_check_cfg(cfg, err, err_len);

	buf = strdup(args);
	if (buf == NULL)
		return io_err_nomem(err, err_len, "gen");
	/* strtok_r() would skip empty items silently; walk by hand. */
	for (item = buf; item != NULL; item = next) {
		enum io_gen_key k;
		char *eq;

		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		eq = strchr(item, '=');
		if (item[0] == '\0') {
			rc = io_err(err, err_len, "gen: empty item in \"%s\"",
			    args);
			break;
		}
		if (eq == NULL || eq == item) {
			rc = io_err(err, err_len, "gen: \"%s\" is not "
			    "KEY=VALUE", item);
			break;
		}
		*eq = '\0';
		if (io_gen_key_find(item, &k) < 0) {
			rc = io_err(err, err_len, "gen: unknown key \"%s\" "
			    "(expected size, dmac, smac, src, dst, span, "
			    "flows, count)", item);
			break;
		}
		/* A repeated key is most likely a typo for another one. */
		if (seen & (1u << k)) {
			rc = io_err(err, err_len, "gen: key \"%s\" given "
			    "twice", item);
			break;
		}
		seen |= 1u << k;
		rc = io_gen_parse_item(cfg, k, eq + 1, err, err_len);
		if (rc < 0)
			break;
	}
	free(buf);
	if (rc < 0)
		return rc;
	return io_gen_check_cfg(cfg, err, err_len);
}

static int
io_gen_check(const char *args, char *err, size_t err_len)
{
	struct io_gen_cfg cfg;

	return io_gen_parse(args, &cfg, err, err_len);
}

/* The frame every flow shares; destination and checksum are per flow. */
static void
io_gen_build_template(struct io_gen *g)
{
	const struct io_gen_cfg *cfg = &g->cfg;
	struct eth_hdr *eth = (struct eth_hdr *)(void *)g->frame;
	struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(g->frame + GEN_IP_OFF);
	struct udp_hdr *udp =
	    (struct udp_hdr *)(void *)(g->frame + GEN_UDP_OFF);

	memset(g->frame, 0, sizeof(g->frame));
	memcpy(eth->dst, cfg->dmac, ETH_ALEN);
	memcpy(eth->src, cfg->smac, ETH_ALEN);
	eth->type_be = htons(ETH_P_IP);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons((uint16_t)(cfg->size_bytes - ETH_HDR_LEN));
	ip->ttl = 64;
	ip->proto = IPPROTO_UDP_;
	ip->src_be = cfg->src_be;
	udp->sport_be = htons(GEN_SPORT);
	udp->dport_be = htons(GEN_DPORT);
	udp->len_be = htons((uint16_t)(cfg->size_bytes - GEN_UDP_OFF));
}

static void
io_gen_build_flows(struct io_gen *g)
{
	struct ip4_hdr ip;
	uint64_t x = 0, mask = g->cfg.span - 1;

	memcpy(&ip, g->frame + GEN_IP_OFF, sizeof(ip));
	for (uint32_t i = 0; i < g->cfg.flows; i++) {
		ip.dst_be = htonl((uint32_t)(g->cfg.dst + x));
		ip.csum_be = 0;
		g->flows[i].dst_be = ip.dst_be;
		g->flows[i].csum_be = pkt_csum(&ip, sizeof(ip));
		x = (GEN_LCG_A * x + GEN_LCG_C) & mask;
	}
}

static void
io_gen_free(struct io_gen *g)
{
	free(g->flows);
	free(g->queues);
	free(g);
}

static int
io_gen_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	struct io_gen *g;
	int rc;

	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return io_err_nomem(err, err_len, port->spec);
	rc = io_gen_parse(args, &g->cfg, err, err_len);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	g->flows = calloc(g->cfg.flows, sizeof(*g->flows));
	g->queues = io_zalloc_lines(port->n_queues * sizeof(*g->queues));
	if (g->flows == NULL || g->queues == NULL)
		goto nomem;
	for (uint16_t q = 0; q < port->n_queues; q++) {
		g->queues[q].left = g->cfg.count;
		g->queues[q].next_flow = q % g->cfg.flows;
	}
	io_gen_build_template(g);
	io_gen_build_flows(g);
	port->priv = g;
	port->n_rx_queues = port->n_queues;
	return 0;
nomem:
	rc = io_err_nomem(err, err_len, port->spec);
out:
	io_gen_free(g);
	return rc;
}

static void
io_gen_close(struct io_port *port)
{
	io_gen_free(port->priv);
}

static uint16_t
io_gen_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	struct io_gen *g = port->priv;
	struct io_gen_queue *gq = &g->queues[q];
	uint16_t size = g->cfg.size_bytes, n;

	if ((uint64_t)max > gq->left)
		max = (uint16_t)gq->left;
	for (n = 0; n < max; n++) {
		const struct io_gen_flow *f = &g->flows[gq->next_flow];
		struct pkt *p = pkt_alloc(pool);
		struct ip4_hdr *ip;

		if (hg_unlikely(p == NULL))
			break;
		memcpy(p->data, g->frame, size);
		p->len = size;
		ip = (struct ip4_hdr *)(void *)(p->data + GEN_IP_OFF);
		ip->dst_be = f->dst_be;
		ip->csum_be = f->csum_be;
		pkts[n] = p;
		if (++gq->next_flow == g->cfg.flows)
			gq->next_flow = 0;
	}
	gq->left -= n;
	io_stat_add(&port->stats[q].rx_pkts, n);
	io_stat_add(&port->stats[q].rx_bytes, (uint64_t)n * size);
	return n;
}

/* gen and null: count and drop. */
static uint16_t
io_sink_tx(struct io_port *port, uint16_t q, struct pkt **pkts, uint16_t n,
    uint64_t now_ns)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->len;
	io_stat_add(&port->stats[q].tx_pkts, n);
	io_stat_add(&port->stats[q].tx_bytes, bytes);
	return n;
}

const struct io_ops io_gen_ops = {
	.kind = IO_PORT_GEN,
	.name = "gen",
	.has_args = true,
	.check = io_gen_check,
	.open = io_gen_open,
	.close = io_gen_close,
	.rx = io_gen_rx,
	.tx = io_sink_tx,
};

static int
io_null_check(const char *args, char *err, size_t err_len)
{
	return 0;
}

static int
io_null_open(struct io_port *port, const char *args, char *err,
    size_t err_len)
{
	/* Nothing ever arrives: no receive queue, so no worker polls it
	 * and an idle worker can sleep (a queue with no file descriptor
	 * made dp_idle_wait() spin). */
	port->n_rx_queues = 0;
	return 0;
}

static void
io_null_close(struct io_port *port)
{
}

static uint16_t
io_null_rx(struct io_port *port, uint16_t q, struct pkt_pool *pool,
    struct pkt **pkts, uint16_t max)
{
	return 0;
}

const struct io_ops io_null_ops = {
	.kind = IO_PORT_NULL,
	.name = "null",
	.has_args = false,
	.check = io_null_check,
	.open = io_null_open,
	.close = io_null_close,
	.rx = io_null_rx,
	.tx = io_sink_tx,
};
