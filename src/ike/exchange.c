/*
 * src/ike/exchange.c: what each IKEv2 exchange sends and takes (RFC 7296
 * §1.2-1.4): IKE_SA_INIT and IKE_AUTH with a pre-shared key, as
 * initiator and responder, with NAT detection (§2.23) and the move to
 * UDP 4500; the child SA the IKE_AUTH carries, its selectors narrowed
 * (§2.9) and its keys (§2.17) handed to the data plane; INFORMATIONAL
 * (delete, liveness).  CREATE_CHILD_SA is answered NO_ADDITIONAL_SAS
 * for now.
 *
 * Every handler takes a message ike.c has parsed whole (and decrypted,
 * for the protected exchanges), finds the payloads it needs, and refuses
 * the message when one is missing; nothing it reads is outside a payload
 * the parser bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../lib/bytes.h"
#include "cert.h"
#include "frag.h"
#include "ike_priv.h"

/* ---- small things ----------------------------------------------------- */

static uint64_t
rand64(void)
{
	uint64_t v = 0;

	while (v == 0)
		if (ike_random(&v, sizeof(v)) != 0)
			return 0;
	return v;
}

static uint32_t
rand_spi(void)
{
	uint32_t v = 0;

	while (v < 256)
		if (ike_random(&v, sizeof(v)) != 0)
			return 0;
	return v;
}

/* An ESP SPI (4 bytes) or IKE SPI (8) in network order; back with
 * hg_rd32be() and hg_rd64be(). */
static void
spi_put(uint32_t spi, uint8_t out[4])
{
	out[0] = spi >> 24;
	out[1] = (spi >> 16) & 0xff;
	out[2] = (spi >> 8) & 0xff;
	out[3] = spi & 0xff;
}


static void
spi64_put(uint64_t spi, uint8_t out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(spi >> (56 - 8 * i));
}

static size_t
alen(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static void
addr_str(const struct ike_addr *a, char *buf, size_t len)
{
	if (a->family == 0 || inet_ntop(a->family, a->addr, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "%%any");
}

/* An inner payload chain is built with a writer whose header is thrown
 * away: the chain is what follows it. */
static void
inner_begin(struct ike *ike, struct ike_writer *w)
{
	struct ike_hdr h;

	memset(&h, 0, sizeof(h));
	ike_w_init(w, ike->plain, sizeof(ike->plain), &h);
}

static int
inner_send(struct ike *ike, struct ike_sa *sa, struct ike_writer *w,
    uint8_t exchange, bool response, uint32_t msg_id, enum ike_req_kind kind,
    uint64_t now_ms)
{
	long n = ike_w_finish(w);

	if (n < 0)
		return -ENOSPC;
	return ike_send_protected(ike, sa, exchange, response, msg_id,
	    w->buf[16], w->buf + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN, kind,
	    now_ms);
}

int
ike_send_protected(struct ike *ike, struct ike_sa *sa, uint8_t exchange,
    bool response, uint32_t msg_id, uint8_t first, const uint8_t *plain,
    size_t len, enum ike_req_kind kind, uint64_t now_ms)
{
	struct ike_hdr h;
	long n;

	memset(&h, 0, sizeof(h));
	h.ispi = sa->spi_i;
	h.rspi = sa->spi_r;
	h.exchange = exchange;
	h.flags = (sa->initiator ? IKE_F_INITIATOR : 0) |
	    (response ? IKE_F_RESPONSE : 0);
	h.msg_id = msg_id;
	/* Bigger than a datagram to a peer that takes fragments. */
	if (ike_frag_wanted(ike, sa, len))
		return ike_frag_send(ike, sa, &h, first, plain, len, kind,
		    now_ms);
	n = ike_sk_seal(&sa->keys, sa->initiator, &h, first, plain, len,
	    ike->out, sizeof(ike->out));
	if (n < 0) {
		ike_logf(ike, true, "[ENC] IKE_SA %s[%u]: encrypting message "
		    "ID %u failed (%s)", ike_sa_conn_name(ike, sa), sa->serial,
		    msg_id, strerror((int)-n));
		return (int)n;
	}
	if (response)
		ike_send_resp(ike, sa, ike->out, (size_t)n);
	else {
		sa->next_req_id = msg_id + 1;
		ike_send_req(ike, sa, kind, ike->out, (size_t)n, now_ms);
	}
	return 0;
}

/* ---- traffic selectors ------------------------------------------------ */

/* A range [lo, hi] of addresses of one family, 4 or 16 bytes each. */
struct range {
	uint8_t family;
	uint8_t lo[16], hi[16];
};

static void
prefix_range(const struct ike_prefix *p, struct range *r)
{
	size_t n = alen(p->family);

	r->family = p->family;
	for (size_t i = 0; i < n; i++) {
		unsigned bits = p->plen > i * 8 ? p->plen - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		r->lo[i] = p->addr[i] & mask;
		r->hi[i] = p->addr[i] | (uint8_t)~mask;
	}
}

/* Splits [lo, hi] into the fewest prefixes, appended to out[*n]. */
static void
range_prefixes(const struct range *r, struct ike_prefix *out, uint8_t *n,
    uint8_t max)
{
	size_t len = alen(r->family), bits = len * 8;
	uint8_t cur[16];

	memcpy(cur, r->lo, len);
	while (*n < max && memcmp(cur, r->hi, len) <= 0) {
		size_t host;
		uint8_t last[16];

		/* The most host bits that leave cur aligned and the block
		 * inside the range. */
		for (host = bits; host > 0; host--) {
			bool aligned = true;

			for (size_t b = 0; b < host && aligned; b++)
				if (cur[len - 1 - b / 8] & (1u << (b % 8)))
					aligned = false;
			if (!aligned)
				continue;
			memcpy(last, cur, len);
			for (size_t b = 0; b < host; b++)
				last[len - 1 - b / 8] |= (uint8_t)(1u << (b % 8));
			if (memcmp(last, r->hi, len) <= 0)
				break;
		}
		if (host == 0)
			memcpy(last, cur, len);
		out[*n].family = r->family;
		memset(out[*n].addr, 0, 16);
		memcpy(out[*n].addr, cur, len);
		out[*n].plen = (uint8_t)(bits - host);
		(*n)++;
		/* cur = last + 1; done when that wraps. */
		memcpy(cur, last, len);
		for (size_t i = len; i-- > 0;) {
			if (++cur[i] != 0)
				break;
			if (i == 0)
				return;
		}
	}
}

/*
 * The part of the peer's selectors (payload tsp of m) inside ours, as
 * prefixes (§2.9: the responder narrows).  Selectors for one protocol or
 * fewer than all ports are left out: the data plane's selectors are
 * addresses only.
 */
static void
ts_narrow(const struct ike_msg *m, const struct ike_payload *tsp,
    const struct ike_prefix *ours, uint8_t n_ours, struct ike_prefix *out,
    uint8_t *n_out)
{
	*n_out = 0;
	for (uint8_t i = 0; i < tsp->u.ts.count; i++) {
		const struct ike_ts *t = &m->ts[tsp->u.ts.first + i];
		uint8_t family = t->type == IKE_TS_IPV4_RANGE ? AF_INET :
		    t->type == IKE_TS_IPV6_RANGE ? AF_INET6 : 0;

		if (family == 0 || t->ip_proto != 0 || t->start_port != 0 ||
		    t->end_port != 0xffff)
			continue;
		for (uint8_t k = 0; k < n_ours; k++) {
			struct range o, x;
			size_t len = alen(family);

			if (ours[k].family != family)
				continue;
			prefix_range(&ours[k], &o);
			x.family = family;
			memcpy(x.lo, memcmp(t->start, o.lo, len) > 0 ?
			    t->start : o.lo, len);
			memcpy(x.hi, memcmp(t->end, o.hi, len) < 0 ?
			    t->end : o.hi, len);
			if (memcmp(x.lo, x.hi, len) <= 0)
				range_prefixes(&x, out, n_out,
				    IKE_CONN_TS_MAX);
		}
	}
}

/* Whether each selector of the answer is inside one of ours (the
 * initiator's check of what the responder narrowed to). */
static bool
ts_within(const struct ike_prefix *got, uint8_t n_got,
    const struct ike_prefix *ours, uint8_t n_ours)
{
	for (uint8_t i = 0; i < n_got; i++) {
		struct range g, o;
		bool in = false;

		prefix_range(&got[i], &g);
		for (uint8_t k = 0; k < n_ours && !in; k++) {
			if (ours[k].family != got[i].family)
				continue;
			prefix_range(&ours[k], &o);
			in = memcmp(g.lo, o.lo, alen(g.family)) >= 0 &&
			    memcmp(g.hi, o.hi, alen(g.family)) <= 0;
		}
		if (!in)
			return false;
	}
	return true;
}

/* The TS payload of prefixes; the ranges' bytes live in store. */
static int
w_ts(struct ike_writer *w, uint8_t payload, const struct ike_prefix *p,
    uint8_t n)
{
	struct ike_ts ts[IKE_CONN_TS_MAX];
	struct range r[IKE_CONN_TS_MAX];

	for (uint8_t i = 0; i < n; i++) {
		prefix_range(&p[i], &r[i]);
		ts[i].type = p[i].family == AF_INET ? IKE_TS_IPV4_RANGE :
		    IKE_TS_IPV6_RANGE;
		ts[i].ip_proto = 0;
		ts[i].start_port = 0;
		ts[i].end_port = 0xffff;
		ts[i].addr_len = (uint8_t)alen(p[i].family);
		ts[i].start = r[i].lo;
		ts[i].end = r[i].hi;
	}
	return ike_w_ts(w, payload, ts, n);
}

/* Every selector from a TS payload (an initiator taking the answer). */
static void
ts_take(const struct ike_msg *m, const struct ike_payload *tsp,
    struct ike_prefix *out, uint8_t *n)
{
	*n = 0;
	for (uint8_t i = 0; i < tsp->u.ts.count; i++) {
		const struct ike_ts *t = &m->ts[tsp->u.ts.first + i];
		struct range r;

		if (t->type != IKE_TS_IPV4_RANGE &&
		    t->type != IKE_TS_IPV6_RANGE)
			continue;
		r.family = t->type == IKE_TS_IPV4_RANGE ? AF_INET : AF_INET6;
		memcpy(r.lo, t->start, t->addr_len);
		memcpy(r.hi, t->end, t->addr_len);
		range_prefixes(&r, out, n, IKE_CONN_TS_MAX);
	}
}

static int
ts_str(const struct ike_prefix *p, uint8_t n, char *buf, size_t len)
{
	int w = 0;

	buf[0] = '\0';
	for (uint8_t i = 0; i < n && (size_t)w < len; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(p[i].family, p[i].addr, a, sizeof(a));
		w += snprintf(buf + w, len - (size_t)w, "%s%s/%u", i ? " " :
		    "", a, p[i].plen);
	}
	return w;
}

/* ---- NAT detection (§2.23) -------------------------------------------- */

static int
w_nat_d(struct ike_writer *w, uint16_t type, uint64_t spi_i, uint64_t spi_r,
    const struct ike_addr *a, bool fake)
{
	uint8_t h[IKE_NAT_HASH_LEN];

	if (fake) {
		/* encap forced: a hash nothing matches, as strongSwan
		 * sends, so both ends take UDP 4500. */
		if (ike_random(h, sizeof(h)) != 0)
			return -1;
	} else
		ike_nat_hash(spi_i, spi_r, a->addr, alen(a->family), a->port,
		    h);
	return ike_w_notify(w, 0, NULL, 0, type, h, sizeof(h));
}

/* What the NAT_DETECTION notifies of m say, against the addresses the
 * message came with.  No notifies: the peer does no NAT-T, no NAT. */
static void
nat_d_check(const struct ike_msg *m, const struct ike_addr *local,
    const struct ike_addr *remote, bool *nat_local, bool *nat_remote)
{
	uint8_t mine[IKE_NAT_HASH_LEN], theirs[IKE_NAT_HASH_LEN];
	bool saw_src = false, src_ok = false;

	*nat_local = *nat_remote = false;
	ike_nat_hash(m->hdr.ispi, m->hdr.rspi, local->addr,
	    alen(local->family), local->port, mine);
	ike_nat_hash(m->hdr.ispi, m->hdr.rspi, remote->addr,
	    alen(remote->family), remote->port, theirs);
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];

		if (p->type != IKE_PL_NOTIFY)
			continue;
		if (p->u.notify.type == IKE_N_NAT_DETECTION_DESTINATION_IP)
			*nat_local = p->data_len != IKE_NAT_HASH_LEN ||
			    memcmp(p->data, mine, IKE_NAT_HASH_LEN) != 0;
		else if (p->u.notify.type == IKE_N_NAT_DETECTION_SOURCE_IP) {
			saw_src = true;
			if (p->data_len == IKE_NAT_HASH_LEN &&
			    memcmp(p->data, theirs, IKE_NAT_HASH_LEN) == 0)
				src_ok = true;
		}
	}
	*nat_remote = saw_src && !src_ok;
}

/* The notify of type in m, or NULL. */
static const struct ike_payload *
notify_find(const struct ike_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].type == IKE_PL_NOTIFY &&
		    m->payloads[i].u.notify.type == type)
			return &m->payloads[i];
	return NULL;
}

/* The first error notify of m (type below 16384), or 0. */
static uint16_t
notify_error(const struct ike_msg *m)
{
	for (unsigned i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].type == IKE_PL_NOTIFY &&
		    m->payloads[i].u.notify.type < 16384)
			return m->payloads[i].u.notify.type;
	return 0;
}

static const char *
notify_name(uint16_t type)
{
	switch (type) {
	case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD:
		return "UNSUPPORTED_CRITICAL_PAYLOAD";
	case IKE_N_INVALID_SYNTAX:		return "INVALID_SYNTAX";
	case IKE_N_NO_PROPOSAL_CHOSEN:		return "NO_PROPOSAL_CHOSEN";
	case IKE_N_INVALID_KE_PAYLOAD:		return "INVALID_KE_PAYLOAD";
	case IKE_N_AUTHENTICATION_FAILED:	return "AUTHENTICATION_FAILED";
	case IKE_N_TS_UNACCEPTABLE:		return "TS_UNACCEPTABLE";
	case IKE_N_NO_ADDITIONAL_SAS:		return "NO_ADDITIONAL_SAS";
	case IKE_N_TEMPORARY_FAILURE:		return "TEMPORARY_FAILURE";
	case IKE_N_CHILD_SA_NOT_FOUND:		return "CHILD_SA_NOT_FOUND";
	case IKE_N_INTERNAL_ADDRESS_FAILURE:	return "INTERNAL_ADDRESS_FAILURE";
	case IKE_N_FAILED_CP_REQUIRED:		return "FAILED_CP_REQUIRED";
	case IKE_N_SINGLE_PAIR_REQUIRED:	return "SINGLE_PAIR_REQUIRED";
	default:				return "error notify";
	}
}

/* ---- IKE_SA_INIT ------------------------------------------------------ */

/* With the IKE_AUTH helpers below: what IKE_SA_INIT carries for them. */
static void w_sig_hashes(struct ike_writer *w);
static void w_certreq(struct ike *ike, struct ike_writer *w, int first,
    const struct ike_addr *local, const struct ike_addr *remote, bool all);

static void
suite_of(const struct ike_chosen *c, struct ike_suite *s)
{
	s->encr = c->encr;
	s->encr_bits = c->encr_bits;
	s->prf = c->prf;
	s->integ = c->integ;
	s->dh = c->dh;
}

/* Our IKE_SA_INIT request, built and sent again from the start (a new
 * KE group or a cookie restarts it). */
static int
send_init(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	struct ike_w_proposal wp[IKE_PROPS_MAX];
	struct ike_w_transform tf[IKE_PROPS_MAX * 5 * IKE_PROP_ALGS_MAX];
	uint8_t ke[IKE_DH_PUB_MAX];
	struct ike_writer w;
	struct ike_hdr h;
	size_t ke_len;
	unsigned np;
	long n;

	if (ike_dh_public(sa->dh, ke, sizeof(ke), &ke_len) != 0)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.ispi = sa->spi_i;
	h.exchange = IKE_SA_INIT;
	h.flags = IKE_F_INITIATOR;
	ike_w_init(&w, ike->out, sizeof(ike->out), &h);
	if (sa->cookie_len != 0)
		(void)ike_w_notify(&w, 0, NULL, 0, IKE_N_COOKIE, sa->cookie,
		    sa->cookie_len);
	np = ike_props_to_w(&c->proposals, NULL, 0, wp, tf);
	(void)ike_w_sa(&w, wp, np);
	(void)ike_w_ke(&w, sa->dh_group, ke, ke_len);
	(void)ike_w_nonce(&w, sa->ni, sa->ni_len);
	w_sig_hashes(&w);
	(void)w_nat_d(&w, IKE_N_NAT_DETECTION_SOURCE_IP, sa->spi_i, 0,
	    &sa->local, c->encap);
	(void)w_nat_d(&w, IKE_N_NAT_DETECTION_DESTINATION_IP, sa->spi_i, 0,
	    &sa->remote, false);
	if (ike_frag_announced(ike, sa->conn))
		(void)ike_w_notify(&w, 0, NULL, 0,
		    IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if ((n = ike_w_finish(&w)) < 0)
		return -ENOSPC;
	free(sa->init_i);
	if ((sa->init_i = malloc((size_t)n)) == NULL)
		return -ENOMEM;
	memcpy(sa->init_i, ike->out, (size_t)n);
	sa->init_i_len = (size_t)n;
	sa->next_req_id = 1;
	ike_send_req(ike, sa, IKE_REQ_INIT, ike->out, (size_t)n, now_ms);
	return 0;
}

int
ike_initiate(struct ike *ike, int conn, unsigned replaces, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[conn].cfg;
	struct ike_sa *sa;
	char a[INET6_ADDRSTRLEN];
	int rc;

	if (c->remote.family == 0) {
		ike_logf(ike, true, "[IKE] %s: cannot initiate: remote_addrs "
		    "is %%any", c->name);
		return -EINVAL;
	}
	if (c->proposals.n == 0 || c->proposals.p[0].n_dh == 0)
		return -EINVAL;
	if ((sa = ike_sa_new(ike, conn, true, &c->local, &c->remote,
	    now_ms)) == NULL)
		return -ENOMEM;
	sa->state = IKE_S_INIT_SENT;
	sa->replaces = replaces;
	sa->children_ours = true;
	sa->spi_i = rand64();
	sa->dh_group = c->proposals.p[0].dh[0];
	sa->ni_len = IKE_NONCE_LEN;
	if (sa->spi_i == 0 || ike_random(sa->ni, sa->ni_len) != 0 ||
	    ike_dh_new(&sa->dh, sa->dh_group) != 0 ||
	    (rc = send_init(ike, sa, now_ms)) != 0) {
		ike_sa_kill(ike, sa, "could not be started");
		return -EIO;
	}
	addr_str(&sa->remote, a, sizeof(a));
	ike_logf(ike, false, "[IKE] initiating IKE_SA %s[%u] to %s",
	    c->name, sa->serial, a);
	return 0;
}

/* An IKE_SA_INIT error answer outside any SA (§2.6, §3.10.1). */
static void
init_error(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, const struct ike_hdr *req, uint16_t type,
    const void *data, size_t len)
{
	uint8_t buf[256];
	struct ike_writer w;
	struct ike_hdr h;
	long n;

	memset(&h, 0, sizeof(h));
	h.ispi = req->ispi;
	h.exchange = IKE_SA_INIT;
	h.flags = IKE_F_RESPONSE;
	ike_w_init(&w, buf, sizeof(buf), &h);
	(void)ike_w_notify(&w, 0, NULL, 0, type, data, len);
	if ((n = ike_w_finish(&w)) > 0)
		ike_send_raw(ike, local, remote, buf, (size_t)n);
}

static bool
addr_match(const struct ike_addr *cfg, const struct ike_addr *a)
{
	return cfg->family == 0 || (cfg->family == a->family &&
	    memcmp(cfg->addr, a->addr, alen(a->family)) == 0);
}

/* The first connection for a peer at remote talking to local, from
 * index from on; -1. */
static int
conn_for(const struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, int from)
{
	for (unsigned i = (unsigned)from; i < ike->n_conns; i++)
		if (addr_match(&ike->conns[i].cfg.local, local) &&
		    addr_match(&ike->conns[i].cfg.remote, remote))
			return (int)i;
	return -1;
}

/* The COOKIE for an IKE_SA_INIT (§2.6): the secret's version, then
 * HMAC-SHA-256(secret, Ni | IPi | port | SPIi), cut to 16 bytes. */
static int
cookie_make(struct ike *ike, uint8_t ver, const struct ike_payload *np,
    const struct ike_addr *remote, uint64_t spi_i, uint8_t out[IKE_COOKIE_LEN])
{
	uint8_t mac[IKE_PRF_MAX], port[2] = { remote->port >> 8,
	    remote->port & 0xff }, spi[8];
	struct ike_buf in[4] = {
		{ np->data, np->data_len },
		{ remote->addr, alen(remote->family) },
		{ port, 2 }, { spi, 8 },
	};

	spi64_put(spi_i, spi);
	if (ike_prf(IKE_PRF_HMAC_SHA2_256, ike->cookie_secret[ver & 1],
	    sizeof(ike->cookie_secret[0]), in, 4, mac) != 0)
		return -EIO;
	out[0] = ver;
	memcpy(out + 1, mac, IKE_COOKIE_LEN - 1);
	return 0;
}

/*
 * Over IKE_COOKIE_THRESHOLD half-open SAs, an IKE_SA_INIT must bring
 * the COOKIE we gave its sender, which proves it receives at its
 * address; without it the answer is a COOKIE and nothing is kept.
 * True when the request may go on.
 */
static bool
cookie_ok(struct ike *ike, const struct ike_msg *m,
    const struct ike_payload *np, const struct ike_addr *local,
    const struct ike_addr *remote, uint64_t now_ms)
{
	const struct ike_payload *cp;
	uint8_t want[IKE_COOKIE_LEN];

	if (ike->n_half_open < IKE_COOKIE_THRESHOLD)
		return true;
	if (!ike->cookie_keyed || now_ms - ike->cookie_rotated_ms >=
	    IKE_COOKIE_ROTATE_MS) {
		uint8_t next = ike->cookie_keyed ? ike->cookie_ver + 1 : 0;

		if (ike_random(ike->cookie_secret[next & 1],
		    sizeof(ike->cookie_secret[0])) != 0)
			return false;
		ike->cookie_ver = next;
		ike->cookie_keyed = true;
		ike->cookie_rotated_ms = now_ms;
	}
	cp = notify_find(m, IKE_N_COOKIE);
	if (cp != NULL && cp->data_len == IKE_COOKIE_LEN &&
	    (cp->data[0] == ike->cookie_ver ||
	    cp->data[0] == (uint8_t)(ike->cookie_ver - 1)) &&
	    cookie_make(ike, cp->data[0], np, remote, m->hdr.ispi, want) == 0 &&
	    CRYPTO_memcmp(want, cp->data, IKE_COOKIE_LEN) == 0)
		return true;
	if (cookie_make(ike, ike->cookie_ver, np, remote, m->hdr.ispi,
	    want) == 0) {
		ike->st.cookies_sent++;
		init_error(ike, local, remote, &m->hdr, IKE_N_COOKIE, want,
		    sizeof(want));
	}
	return false;
}

/*
 * Both ends initiated the same connection at once (both with
 * start_action start): two IKE SAs would come up, each end keeping a
 * different child.  One initiation goes, the same at both ends: the one
 * with the lower nonce (both ends see both).  True when the peer's
 * request goes on (ours, if any, is given up); false when ours wins and
 * the request is dropped (the peer drops its own likewise).
 */
static bool
crossing_ours_loses(struct ike *ike, int conn, const struct ike_payload *np,
    uint64_t now_ms)
{
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		size_t n;
		int cmp;

		if (sa->conn != conn || !sa->initiator || sa->replaces != 0 ||
		    (sa->state != IKE_S_INIT_SENT &&
		    sa->state != IKE_S_AUTH_SENT))
			continue;
		n = HG_MIN((size_t)sa->ni_len, (size_t)np->data_len);
		cmp = memcmp(sa->ni, np->data, n);
		if (cmp == 0)
			cmp = sa->ni_len < np->data_len ? -1 : 1;
		if (cmp > 0) {
			ike_logf(ike, false, "[IKE] %s: both ends initiated; "
			    "ours (IKE_SA %s[%u]) goes on, the peer's is "
			    "dropped (the lower nonce gives way)",
			    ike->conns[conn].cfg.name,
			    ike->conns[conn].cfg.name, sa->serial);
			return false;
		}
		ike_sa_kill(ike, sa, "given up: both ends initiated, the "
		    "peer's goes on (the lower nonce gives way)");
		(void)now_ms;
	}
	return true;
}

static unsigned
half_open_of(const struct ike *ike, const struct ike_addr *remote)
{
	unsigned n = 0;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->state == IKE_S_INIT_DONE &&
		    sa->remote.family == remote->family &&
		    memcmp(sa->remote.addr, remote->addr,
		    alen(remote->family)) == 0)
			n++;
	return n;
}

void
ike_rx_init_req(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, const uint8_t *buf, size_t len,
    uint64_t now_ms)
{
	const struct ike_msg *m = &ike->m;
	const struct ike_payload *sap, *kep, *np;
	struct ike_w_proposal wp;
	struct ike_w_transform tf[5];
	struct ike_chosen ch;
	struct ike_suite suite;
	struct ike_sa *sa;
	struct ike_writer w;
	struct ike_hdr h;
	uint8_t ke[IKE_DH_PUB_MAX], g_ir[IKE_DH_SECRET_MAX];
	char refused[512], a[INET6_ADDRSTRLEN];
	size_t ke_len, g_len;
	int conn;
	long n;

	addr_str(remote, a, sizeof(a));
	if ((conn = conn_for(ike, local, remote, 0)) < 0) {
		ike->st.rx_invalid++;
		/* Once a second at most: anyone can send these. */
		if (now_ms - ike->noconn_logged_ms >= 1000) {
			ike->noconn_logged_ms = now_ms;
			ike_logf(ike, false, "[IKE] IKE_SA_INIT from %s[%u]: "
			    "no connection for this peer", a, remote->port);
		}
		return;
	}
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	if (np != NULL && !cookie_ok(ike, m, np, local, remote, now_ms))
		return;
	if (ike->n_half_open >= IKE_HALF_OPEN_MAX ||
	    half_open_of(ike, remote) >= IKE_HALF_OPEN_PER_PEER) {
		ike->st.half_open_refused++;
		return;
	}
	if (np != NULL && !crossing_ours_loses(ike, conn, np, now_ms))
		return;
	if (sap == NULL || kep == NULL || np == NULL) {
		ike->st.rx_invalid++;
		init_error(ike, local, remote, &m->hdr, IKE_N_INVALID_SYNTAX,
		    NULL, 0);
		return;
	}
	if (ike_prop_select(&ike->conns[conn].cfg.proposals, m, sap, &ch,
	    refused, sizeof(refused)) != 0) {
		ike->st.no_proposal++;
		ike_logf(ike, true, "[CFG] %s: received proposals "
		    "unacceptable: %s (ours: connection %s's proposals)", a,
		    refused, ike->conns[conn].cfg.name);
		init_error(ike, local, remote, &m->hdr,
		    IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (kep->u.ke.group != ch.dh) {
		uint8_t g[2] = { ch.dh >> 8, ch.dh & 0xff };

		ike_logf(ike, false, "[IKE] %s: KE of group %u, we chose %u: "
		    "INVALID_KE_PAYLOAD", a, kep->u.ke.group, ch.dh);
		init_error(ike, local, remote, &m->hdr,
		    IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		return;
	}
	if ((sa = ike_sa_new(ike, conn, false, local, remote, now_ms)) ==
	    NULL)
		return;
	sa->state = IKE_S_INIT_DONE;
	/* A peer that knows of a NAT may start on 4500 (§2.23): answer
	 * there, behind the marker. */
	sa->natt = local->port == IKE_NATT_PORT;
	sa->alg = ch;
	sa->spi_i = m->hdr.ispi;
	sa->spi_r = rand64();
	sa->dh_group = ch.dh;
	sa->ni_len = np->data_len;
	memcpy(sa->ni, np->data, np->data_len);
	sa->nr_len = IKE_NONCE_LEN;
	suite_of(&ch, &suite);
	if (sa->spi_r == 0 || ike_random(sa->nr, sa->nr_len) != 0 ||
	    ike_dh_new(&sa->dh, ch.dh) != 0 ||
	    ike_dh_public(sa->dh, ke, sizeof(ke), &ke_len) != 0) {
		ike_sa_kill(ike, sa, NULL);
		return;
	}
	if (ike_dh_shared(sa->dh, kep->data + 0, kep->data_len, g_ir,
	    sizeof(g_ir), &g_len) != 0) {
		ike->st.rx_invalid++;
		ike_logf(ike, true, "[IKE] %s: invalid KE public value", a);
		init_error(ike, local, remote, &m->hdr, IKE_N_INVALID_SYNTAX,
		    NULL, 0);
		ike_sa_kill(ike, sa, NULL);
		return;
	}
	if (ike_keys_derive(&suite, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
	    g_ir, g_len, sa->spi_i, sa->spi_r, &sa->keys) != 0) {
		explicit_bzero(g_ir, sizeof(g_ir));
		ike_sa_kill(ike, sa, "key derivation failed");
		return;
	}
	explicit_bzero(g_ir, sizeof(g_ir));
	sa->keyed = true;
	nat_d_check(m, local, remote, &sa->nat_local, &sa->nat_remote);

	memset(&h, 0, sizeof(h));
	h.ispi = sa->spi_i;
	h.rspi = sa->spi_r;
	h.exchange = IKE_SA_INIT;
	h.flags = IKE_F_RESPONSE;
	ike_w_init(&w, ike->out, sizeof(ike->out), &h);
	ike_chosen_to_w(&ch, NULL, 0, &wp, tf);
	(void)ike_w_sa(&w, &wp, 1);
	(void)ike_w_ke(&w, ch.dh, ke, ke_len);
	(void)ike_w_nonce(&w, sa->nr, sa->nr_len);
	w_certreq(ike, &w, conn, local, remote, true);
	if (notify_find(m, IKE_N_SIGNATURE_HASH_ALGORITHMS) != NULL)
		w_sig_hashes(&w);
	if (notify_find(m, IKE_N_NAT_DETECTION_SOURCE_IP) != NULL) {
		(void)w_nat_d(&w, IKE_N_NAT_DETECTION_SOURCE_IP, sa->spi_i,
		    sa->spi_r, local, ike->conns[conn].cfg.encap);
		(void)w_nat_d(&w, IKE_N_NAT_DETECTION_DESTINATION_IP,
		    sa->spi_i, sa->spi_r, remote, false);
	}
	/* §2.3 of RFC 7383: only to an initiator that announced it. */
	ike_frag_negotiate(ike, sa, m);
	if (sa->frag)
		(void)ike_w_notify(&w, 0, NULL, 0,
		    IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if ((n = ike_w_finish(&w)) < 0 ||
	    (sa->init_i = malloc(len)) == NULL ||
	    (sa->init_r = malloc((size_t)n)) == NULL) {
		ike_sa_kill(ike, sa, NULL);
		return;
	}
	memcpy(sa->init_i, buf, len);
	sa->init_i_len = len;
	memcpy(sa->init_r, ike->out, (size_t)n);
	sa->init_r_len = (size_t)n;
	sa->peer_next_id = 1;
	ike_send_resp(ike, sa, ike->out, (size_t)n);
	ike_logf(ike, false, "[IKE] %s[%u] is initiating an IKE_SA (%s)%s", a,
	    remote->port, ike->conns[conn].cfg.name, sa->nat_remote ?
	    "; the peer is behind a NAT" : "");
}

static int send_auth(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);

void
ike_rx_init_resp(struct ike *ike, struct ike_sa *sa, const uint8_t *buf,
    size_t len, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_msg *m = &ike->m;
	const struct ike_payload *sap, *kep, *np, *p;
	uint8_t g_ir[IKE_DH_SECRET_MAX];
	struct ike_suite suite;
	struct ike_chosen ch;
	uint16_t err;
	size_t g_len;

	if ((p = notify_find(m, IKE_N_COOKIE)) != NULL) {
		if (p->data_len == 0 || p->data_len > sizeof(sa->cookie) ||
		    sa->cookie_len != 0)
			return;
		memcpy(sa->cookie, p->data, p->data_len);
		sa->cookie_len = (uint8_t)p->data_len;
		(void)send_init(ike, sa, now_ms);
		return;
	}
	if ((p = notify_find(m, IKE_N_INVALID_KE_PAYLOAD)) != NULL) {
		uint16_t g = p->data_len == 2 ?
		    (uint16_t)(p->data[0] << 8 | p->data[1]) : 0;
		bool ours = false;

		for (uint8_t i = 0; i < c->proposals.n; i++)
			for (uint8_t k = 0; k < c->proposals.p[i].n_dh; k++)
				ours |= c->proposals.p[i].dh[k] == g;
		if (!ours || g == sa->dh_group) {
			ike_sa_kill(ike, sa, "peer wants a DH group we do "
			    "not offer");
			return;
		}
		ike_logf(ike, false, "[IKE] peer prefers DH group %u: "
		    "initiating again with it", g);
		ike_dh_free(sa->dh);
		sa->dh = NULL;
		sa->dh_group = g;
		if (ike_dh_new(&sa->dh, g) != 0 ||
		    send_init(ike, sa, now_ms) != 0)
			ike_sa_kill(ike, sa, "could not restart");
		return;
	}
	if ((err = notify_error(m)) != 0) {
		if (err == IKE_N_NO_PROPOSAL_CHOSEN)
			ike->st.no_proposal++;
		ike->st.failed++;
		ike_logf(ike, true, "[IKE] %s: peer answered IKE_SA_INIT with "
		    "%s", c->name, notify_name(err));
		ike_sa_kill(ike, sa, "failed");
		return;
	}
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	if (sap == NULL || kep == NULL || np == NULL || m->hdr.rspi == 0 ||
	    ike_prop_accept(&c->proposals, m, sap, &ch) != 0 ||
	    ch.dh != sa->dh_group || kep->u.ke.group != sa->dh_group) {
		ike->st.rx_invalid++;
		ike_logf(ike, true, "[IKE] %s: invalid IKE_SA_INIT answer "
		    "(missing payloads, or a proposal we did not offer)",
		    c->name);
		return;
	}
	sa->req_kind = IKE_REQ_NONE;
	sa->spi_r = m->hdr.rspi;
	sa->alg = ch;
	sa->nr_len = np->data_len;
	memcpy(sa->nr, np->data, np->data_len);
	suite_of(&ch, &suite);
	if (ike_dh_shared(sa->dh, kep->data, kep->data_len, g_ir,
	    sizeof(g_ir), &g_len) != 0 ||
	    ike_keys_derive(&suite, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
	    g_ir, g_len, sa->spi_i, sa->spi_r, &sa->keys) != 0) {
		explicit_bzero(g_ir, sizeof(g_ir));
		ike->st.failed++;
		ike_sa_kill(ike, sa, "invalid KE or key derivation failed");
		return;
	}
	explicit_bzero(g_ir, sizeof(g_ir));
	sa->keyed = true;
	if ((sa->init_r = malloc(len)) == NULL) {
		ike_sa_kill(ike, sa, NULL);
		return;
	}
	memcpy(sa->init_r, buf, len);
	sa->init_r_len = len;
	nat_d_check(m, &sa->local, &sa->remote, &sa->nat_local,
	    &sa->nat_remote);
	ike_frag_negotiate(ike, sa, m);
	if (sa->nat_local || sa->nat_remote || c->encap) {
		/* §2.23: with a NAT, everything from IKE_AUTH on goes
		 * from and to port 4500. */
		sa->natt = true;
		sa->local.port = IKE_NATT_PORT;
		sa->remote.port = IKE_NATT_PORT;
	}
	if (send_auth(ike, sa, now_ms) != 0)
		ike_sa_kill(ike, sa, "could not build IKE_AUTH");
	else
		sa->state = IKE_S_AUTH_SENT;
}

/* ---- IKE_AUTH --------------------------------------------------------- */

/* Our identity's ID payload body (type, reserved, data) into body: the
 * configured one, else our certificate's subject (as strongSwan), else
 * our address. */
static size_t
our_id(const struct ike_sa *sa, const struct ike_conn *cn, uint8_t *body)
{
	const struct ike_conn_cfg *c = &cn->cfg;
	struct ike_id subj;

	memset(body, 0, 4);
	if (c->local_id.type != 0) {
		body[0] = c->local_id.type;
		memcpy(body + 4, c->local_id.data, c->local_id.len);
		return 4 + c->local_id.len;
	}
	if (c->local_auth == IKE_AUTHBY_PUBKEY &&
	    ike_creds_subject(cn->creds, &subj) == 0) {
		body[0] = subj.type;
		memcpy(body + 4, subj.data, subj.len);
		return 4 + subj.len;
	}
	body[0] = sa->local.family == AF_INET ? IKE_ID_IPV4_ADDR :
	    IKE_ID_IPV6_ADDR;
	memcpy(body + 4, sa->local.addr, alen(sa->local.family));
	return 4 + alen(sa->local.family);
}

/* The ESP proposals an IKE_AUTH carries: without DH (no KE there). */
static unsigned
esp_props_w(const struct ike_child_cfg *cc, uint32_t spi, struct ike_props *p,
    struct ike_w_proposal *wp, struct ike_w_transform *tf, uint8_t spi_be[4])
{
	ike_props_without_dh(&cc->esp_proposals, p);
	spi_put(spi, spi_be);
	return ike_props_to_w(p, spi_be, 4, wp, tf);
}

/* Whether another IKE SA of sa's connection is up. */
static bool
conn_established(const struct ike *ike, const struct ike_sa *sa)
{
	for (const struct ike_sa *o = ike->sas; o != NULL; o = o->next)
		if (o != sa && o->conn == sa->conn &&
		    o->state == IKE_S_ESTABLISHED)
			return true;
	return false;
}

/*
 * The octets an AUTH covers (§2.15), from the point of view of its
 * sender: the initiator's IKE_SA_INIT, the responder's nonce and
 * prf(SK_pi, IDi), or the other way round.  Malloc'd; NULL.
 */
static uint8_t *
auth_octets(const struct ike_sa *sa, bool by_initiator, const uint8_t *id,
    size_t id_len, size_t *len)
{
	const uint8_t *msg = by_initiator ? sa->init_i : sa->init_r;
	size_t msg_len = by_initiator ? sa->init_i_len : sa->init_r_len;
	size_t cap = msg_len + IKE_NONCE_MAX + IKE_PRF_MAX;
	uint8_t *o = malloc(cap);
	long n;

	if (o == NULL)
		return NULL;
	n = ike_auth_octets(sa->alg.prf, msg, msg_len, by_initiator ? sa->nr :
	    sa->ni, by_initiator ? sa->nr_len : sa->ni_len, by_initiator ?
	    sa->keys.sk_pi : sa->keys.sk_pr, sa->keys.prf_len, id, id_len, o,
	    cap);
	if (n < 0) {
		free(o);
		return NULL;
	}
	*len = (size_t)n;
	return o;
}

/* The hashes the peer's IKE_SA_INIT offered for signatures (RFC 7427
 * §4, SIGNATURE_HASH_ALGORITHMS), as IKE_HASH_BIT()s; 0: none. */
static unsigned
peer_hashes(const struct ike_sa *sa)
{
	const uint8_t *msg = sa->initiator ? sa->init_r : sa->init_i;
	size_t len = sa->initiator ? sa->init_r_len : sa->init_i_len;
	struct ike_msg *m = malloc(sizeof(*m));
	const struct ike_payload *p;
	struct ike_err err;
	unsigned set = 0;

	if (m == NULL)
		return 0;
	if (msg != NULL && ike_msg_parse(msg, len, m, &err) == 0 &&
	    (p = notify_find(m, IKE_N_SIGNATURE_HASH_ALGORITHMS)) != NULL)
		for (uint16_t i = 0; i + 1 < p->data_len; i += 2) {
			uint16_t h = (uint16_t)(p->data[i] << 8 | p->data[i + 1]);

			if (h < 32)
				set |= IKE_HASH_BIT(h);
		}
	free(m);
	return set;
}

/* Our AUTH payload's method and data into out (IKE_SIG_MAX bytes): the
 * PSK's prf, or our key's signature.  Its length, or -errno. */
static long
auth_make(const struct ike_sa *sa, const struct ike_conn *cn,
    const uint8_t *id, size_t id_len, uint8_t *method, uint8_t *out)
{
	const struct ike_conn_cfg *c = &cn->cfg;
	uint8_t *octets;
	size_t len;
	long n;

	if (c->local_auth != IKE_AUTHBY_PUBKEY) {
		*method = IKE_AUTH_PSK;
		if (ike_auth_psk(sa->alg.prf, c->psk, c->psk_len,
		    sa->initiator ? sa->init_i : sa->init_r, sa->initiator ?
		    sa->init_i_len : sa->init_r_len, sa->initiator ? sa->nr :
		    sa->ni, sa->initiator ? sa->nr_len : sa->ni_len,
		    sa->initiator ? sa->keys.sk_pi : sa->keys.sk_pr,
		    sa->keys.prf_len, id, id_len, out) != 0)
			return -EINVAL;
		return sa->keys.prf_len;
	}
	if ((octets = auth_octets(sa, sa->initiator, id, id_len, &len)) ==
	    NULL)
		return -ENOMEM;
	n = ike_sign(cn->creds, peer_hashes(sa), false, octets, len, method,
	    out, IKE_SIG_MAX);
	free(octets);
	return n;
}

/* CERT (ours and our intermediates) when we sign. */
static void
w_certs(struct ike_writer *w, const struct ike_conn *cn)
{
	const uint8_t *der;
	size_t len;

	if (cn->cfg.local_auth != IKE_AUTHBY_PUBKEY)
		return;
	for (unsigned i = 0; ike_creds_cert(cn->creds, i, &der, &len); i++)
		(void)ike_w_cert(w, IKE_PL_CERT, IKE_CERT_X509_SIG, der, len);
}

/* CERTREQ (§3.7) naming the CAs of the connections from first on for
 * these addresses whose peer signs (strongSwan sends its certificate
 * only when asked); nothing when none does. */
static void
w_certreq(struct ike *ike, struct ike_writer *w, int first,
    const struct ike_addr *local, const struct ike_addr *remote, bool all)
{
	uint8_t ids[16 * IKE_KEYID_LEN];
	size_t n = 0;

	for (int i = first; i >= 0; i = all ? conn_for(ike, local, remote,
	    i + 1) : -1)
		if (ike->conns[i].cfg.remote_auth == IKE_AUTHBY_PUBKEY)
			n += ike_creds_certreq(ike->conns[i].creds, ids + n,
			    sizeof(ids) - n);
	if (n != 0)
		(void)ike_w_cert(w, IKE_PL_CERTREQ, IKE_CERT_X509_SIG, ids, n);
}

/* SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4): the SHA-2 hashes we sign and
 * verify with, so a peer signs with method 14. */
static void
w_sig_hashes(struct ike_writer *w)
{
	static const uint8_t h[] = { 0, IKE_HASH_SHA2_256, 0,
	    IKE_HASH_SHA2_384, 0, IKE_HASH_SHA2_512 };

	(void)ike_w_notify(w, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, h,
	    sizeof(h));
}

static int
send_auth(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn *cn = &ike->conns[sa->conn];
	const struct ike_conn_cfg *c = &cn->cfg;
	struct ike_w_proposal wp[IKE_PROPS_MAX];
	struct ike_w_transform tf[IKE_PROPS_MAX * 5 * IKE_PROP_ALGS_MAX];
	uint8_t id[4 + IKE_ID_MAX], auth[IKE_SIG_MAX], spi_be[4], method;
	struct ike_writer w;
	struct ike_props props;
	size_t id_len = our_id(sa, cn, id);
	unsigned np;
	long auth_len;

	if ((auth_len = auth_make(sa, cn, id, id_len, &method, auth)) < 0)
		return -EINVAL;
	if ((sa->ch[0].spi_in = rand_spi()) == 0)
		return -EIO;
	sa->ch[0].asked = true;
	sa->req_child = 0;
	inner_begin(ike, &w);
	(void)ike_w_id(&w, IKE_PL_IDI, id[0], id + 4, id_len - 4);
	w_certs(&w, cn);
	w_certreq(ike, &w, sa->conn, NULL, NULL, false);
	/* INITIAL_CONTACT (§2.4) only when no other IKE SA with the peer
	 * is up: a reauth keeps the old one till it is done. */
	if (sa->replaces == 0 && !conn_established(ike, sa))
		(void)ike_w_notify(&w, 0, NULL, 0, IKE_N_INITIAL_CONTACT,
		    NULL, 0);
	(void)ike_w_auth(&w, method, auth, (size_t)auth_len);
	np = esp_props_w(&c->children[0], sa->ch[0].spi_in, &props, wp, tf,
	    spi_be);
	(void)ike_w_sa(&w, wp, np);
	(void)w_ts(&w, IKE_PL_TSI, c->children[0].local_ts,
	    c->children[0].n_local_ts);
	(void)w_ts(&w, IKE_PL_TSR, c->children[0].remote_ts,
	    c->children[0].n_remote_ts);
	explicit_bzero(auth, sizeof(auth));
	return inner_send(ike, sa, &w, IKE_AUTH, false, 1, IKE_REQ_AUTH,
	    now_ms);
}

static void
id_take(struct ike_id *id, const struct ike_payload *idp)
{
	id->type = idp->u.id.type;
	id->len = (uint16_t)HG_MIN((size_t)idp->body_len - 4, sizeof(id->data));
	memcpy(id->data, idp->body + 4, id->len);
}

/* Whether the peer's ID payload idp (its body: type, reserved, data)
 * is the identity c expects (any, when none is configured); DNs are
 * compared as X.500 compares them. */
static bool
id_ok(const struct ike_conn_cfg *c, const struct ike_payload *idp)
{
	struct ike_id got;

	if (c->remote_id.type == 0)
		return true;
	if (idp->body_len - 4u > sizeof(got.data))
		return false;
	id_take(&got, idp);
	return ike_id_equal(&got, &c->remote_id);
}

/* Whether the peer's AUTH (ap) is right for the PSK of c: the peer
 * signed its IKE_SA_INIT message, our nonce and its ID. */
static bool
psk_ok(const struct ike_sa *sa, const struct ike_conn_cfg *c,
    const struct ike_payload *idp, const struct ike_payload *ap)
{
	uint8_t want[IKE_PRF_MAX];
	bool ok;

	if (ap->data_len != sa->keys.prf_len || c->psk_len == 0)
		return false;
	if (sa->initiator) {
		if (ike_auth_psk(sa->alg.prf, c->psk, c->psk_len, sa->init_r,
		    sa->init_r_len, sa->ni, sa->ni_len, sa->keys.sk_pr,
		    sa->keys.prf_len, idp->body, idp->body_len, want) != 0)
			return false;
	} else if (ike_auth_psk(sa->alg.prf, c->psk, c->psk_len, sa->init_i,
	    sa->init_i_len, sa->nr, sa->nr_len, sa->keys.sk_pi,
	    sa->keys.prf_len, idp->body, idp->body_len, want) != 0)
		return false;
	ok = CRYPTO_memcmp(want, ap->data, sa->keys.prf_len) == 0;
	explicit_bzero(want, sizeof(want));
	return ok;
}

/*
 * Whether the peer authenticated as connection cn wants (its remote
 * auth): the PSK, or a certificate (CERT payloads of ike->inner) that
 * chains to one of cn's CAs now, holds the identity of idp, and whose
 * key made the AUTH signature.  false with why: the exact reason.
 */
static bool
auth_ok(struct ike *ike, const struct ike_sa *sa, const struct ike_conn *cn,
    const struct ike_payload *idp, const struct ike_payload *ap, char *why,
    size_t why_len)
{
	const struct ike_msg *m = &ike->inner;
	struct ike_buf der[IKE_CERTS_MAX];
	struct ike_cert *cert = NULL;
	enum ike_cert_err e;
	struct ike_id id;
	uint8_t *octets;
	size_t len;
	unsigned n = 0;
	char t[IKE_ID_MAX + 8];

	if (cn->cfg.remote_auth != IKE_AUTHBY_PUBKEY) {
		if (ap->u.auth.method != IKE_AUTH_PSK) {
			snprintf(why, why_len, "AUTH method %u, a pre-shared "
			    "key expected", ap->u.auth.method);
			return false;
		}
		snprintf(why, why_len, "wrong pre-shared key");
		return psk_ok(sa, &cn->cfg, idp, ap);
	}
	if (ap->u.auth.method == IKE_AUTH_PSK) {
		snprintf(why, why_len, "a pre-shared key, a certificate "
		    "expected (remote auth pubkey)");
		return false;
	}
	for (unsigned i = 0; i < m->n_payloads && n < IKE_CERTS_MAX; i++)
		if (m->payloads[i].type == IKE_PL_CERT &&
		    m->payloads[i].u.cert.encoding == IKE_CERT_X509_SIG &&
		    m->payloads[i].body_len > 1)
			der[n++] = (struct ike_buf){ m->payloads[i].body + 1,
			    m->payloads[i].body_len - 1u };
	if (ike->env.wall_s == NULL) {
		snprintf(why, why_len, "no clock to check its certificate's "
		    "validity against");
		return false;
	}
	e = ike_cert_verify(cn->creds, der, n, ike->env.wall_s(ike->env.ctx),
	    &cert, why, why_len);
	if (e != IKE_CERT_E_OK)
		return false;
	id_take(&id, idp);
	if (!ike_cert_has_id(cert, &id)) {
		char subj[256];

		ike_id_format(&id, t, sizeof(t));
		ike_cert_subject(cert, subj, sizeof(subj));
		snprintf(why, why_len, "%s: its identity %s is not in its "
		    "certificate \"%s\"", ike_cert_err_str(
		    IKE_CERT_E_ID_MISMATCH), t, subj);
		ike_cert_free(cert);
		return false;
	}
	if ((octets = auth_octets(sa, !sa->initiator, idp->body,
	    idp->body_len, &len)) == NULL) {
		ike_cert_free(cert);
		snprintf(why, why_len, "out of memory");
		return false;
	}
	e = ike_sig_verify(cert, ap->u.auth.method, ap->data, ap->data_len,
	    octets, len, why, why_len);
	free(octets);
	ike_cert_free(cert);
	return e == IKE_CERT_E_OK;
}

/* The nonces and DH secret a child's keys come from (§2.17): those of
 * the exchange that made it, whose initiator takes the first keys. */
struct keymat_in {
	bool we_init;
	const uint8_t *g_ir, *ni, *nr;
	size_t g_len, ni_len, nr_len;
};

/* Child k's keys from KEYMAT into the data plane, as how says
 * (IKE_INSTALL_*). */
static int
child_install(struct ike *ike, struct ike_sa *sa, uint8_t k, int how,
    const struct keymat_in *kin, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_child_cfg *cc = &c->children[k];
	struct ike_child *chs = &sa->ch[k];
	struct ike_child_sa *ch = &chs->sa;
	uint8_t km[2 * (IKE_ENCR_KEY_MAX + IKE_INTEG_KEY_MAX)];
	size_t ek, ak;
	const uint8_t *i2r, *r2i;
	char l[256], r[256];
	int rc;

	if (ike_chosen_esp(&chs->alg, &ch->alg, &ek, &ak) != 0)
		return -ENOTSUP;
	if (ike_child_keymat(&sa->keys, kin->g_ir, kin->g_len, kin->ni,
	    kin->ni_len, kin->nr, kin->nr_len, km, 2 * (ek + ak)) != 0)
		return -EIO;
	i2r = km;
	r2i = km + ek + ak;
	ch->conn = c->name;
	ch->name = cc->name;
	ch->if_idx = c->if_idx;
	ch->child = k;
	ch->spi_in = chs->spi_in;
	ch->spi_out = chs->spi_out;
	ch->esn = chs->alg.esn != 0;
	ch->key_len = ek;
	ch->auth_len = ak;
	ch->key_out = kin->we_init ? i2r : r2i;
	ch->key_in = kin->we_init ? r2i : i2r;
	ch->auth_out = ak ? ch->key_out + ek : NULL;
	ch->auth_in = ak ? ch->key_in + ek : NULL;
	ch->local = sa->local;
	ch->remote = sa->remote;
	ch->udp_encap = sa->natt;
	ch->keepalive_s = sa->nat_local ? IKE_NAT_KEEPALIVE_S : 0;
	rc = ike->env.install(ike->env.ctx, ch, how);
	explicit_bzero(km, sizeof(km));
	ch->key_in = ch->key_out = ch->auth_in = ch->auth_out = NULL;
	if (rc != 0) {
		ike_logf(ike, true, "[IKE] CHILD_SA %s{%u}: the data plane "
		    "refused it (%s)", cc->name, sa->serial, strerror(-rc));
		return rc;
	}
	chs->up = true;
	chs->rekey_due_ms = cc->rekey_time_s ?
	    now_ms + cc->rekey_time_s * 1000ull : 0;
	chs->expires_ms = cc->life_time_s ?
	    now_ms + cc->life_time_s * 1000ull : 0;
	ts_str(ch->local_ts, ch->n_local_ts, l, sizeof(l));
	ts_str(ch->remote_ts, ch->n_remote_ts, r, sizeof(r));
	if (how == IKE_INSTALL_NEW || chs->old_spi_in == 0) {
		ike->st.child_installed++;
		ike_logf(ike, false, "[IKE] CHILD_SA %s{%u} established with "
		    "SPIs %08x_i %08x_o and TS %s === %s%s%s", cc->name,
		    sa->serial, ch->spi_in, ch->spi_out, l, r,
		    ch->udp_encap ? " (ESP in UDP 4500)" : " (ESP)",
		    how == IKE_INSTALL_NEW ? "" : "; the SAs it replaces "
		    "decrypt until their IKE SA goes");
	} else {
		ike->st.child_rekeyed++;
		ike_logf(ike, false, "[IKE] CHILD_SA %s{%u} rekeyed: SPIs "
		    "%08x_i %08x_o replace %08x_i %08x_o (TS %s === %s)",
		    cc->name, sa->serial, ch->spi_in, ch->spi_out,
		    chs->old_spi_in, chs->old_spi_out, l, r);
	}
	return 0;
}

/* The first PFS group of a child's ESP proposals, 0 for none. */
static uint16_t
pfs_group(const struct ike_child_cfg *cc)
{
	for (uint8_t i = 0; i < cc->esp_proposals.n; i++)
		if (cc->esp_proposals.p[i].n_dh > 0)
			return cc->esp_proposals.p[i].dh[0];
	return 0;
}

/*
 * A CREATE_CHILD_SA of ours for child k: a rekey of it (REKEY_SA with
 * its inbound SPI, its selectors as agreed) or, rekey false, the child
 * asked for anew (its selectors as configured).
 */
static int
child_request(struct ike *ike, struct ike_sa *sa, uint8_t k, bool rekey,
    uint64_t now_ms)
{
	const struct ike_child_cfg *cc = &ike->conns[sa->conn].cfg.children[k];
	struct ike_child *ch = &sa->ch[k];
	struct ike_w_proposal wp[IKE_PROPS_MAX];
	struct ike_w_transform tf[IKE_PROPS_MAX * 5 * IKE_PROP_ALGS_MAX];
	uint8_t old[4], spi[4], ke[IKE_DH_PUB_MAX];
	uint16_t group = pfs_group(cc);
	struct ike_writer w;
	size_t ke_len = 0;
	unsigned np;

	if ((ch->rk_spi_in = rand_spi()) == 0 ||
	    ike_random(ch->rk_ni, sizeof(ch->rk_ni)) != 0)
		return -EIO;
	ike_dh_free(ch->rk_dh);
	ch->rk_dh = NULL;
	if (group != 0 && (ike_dh_new(&ch->rk_dh, group) != 0 ||
	    ike_dh_public(ch->rk_dh, ke, sizeof(ke), &ke_len) != 0))
		return -EIO;
	spi_put(ch->spi_in, old);
	spi_put(ch->rk_spi_in, spi);
	inner_begin(ike, &w);
	if (rekey)
		(void)ike_w_notify(&w, IKE_PROTO_ESP, old, 4, IKE_N_REKEY_SA,
		    NULL, 0);
	np = ike_props_to_w(&cc->esp_proposals, spi, 4, wp, tf);
	(void)ike_w_sa(&w, wp, np);
	(void)ike_w_nonce(&w, ch->rk_ni, sizeof(ch->rk_ni));
	if (group != 0)
		(void)ike_w_ke(&w, group, ke, ke_len);
	if (rekey) {
		(void)w_ts(&w, IKE_PL_TSI, ch->sa.local_ts,
		    ch->sa.n_local_ts);
		(void)w_ts(&w, IKE_PL_TSR, ch->sa.remote_ts,
		    ch->sa.n_remote_ts);
		ike_logf(ike, false, "[IKE] rekeying CHILD_SA %s{%u} (SPIs "
		    "%08x_i %08x_o)%s", cc->name, sa->serial, ch->spi_in,
		    ch->spi_out, group ? " with PFS" : "");
	} else {
		(void)w_ts(&w, IKE_PL_TSI, cc->local_ts, cc->n_local_ts);
		(void)w_ts(&w, IKE_PL_TSR, cc->remote_ts, cc->n_remote_ts);
		ike_logf(ike, false, "[IKE] establishing CHILD_SA %s{%u}%s",
		    cc->name, sa->serial, group ? " with PFS" : "");
	}
	sa->req_child = k;
	return inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, false,
	    sa->next_req_id, rekey ? IKE_REQ_REKEY_CHILD : IKE_REQ_NEW_CHILD,
	    now_ms);
}

int
ike_rekey_child(struct ike *ike, struct ike_sa *sa, uint8_t k,
    uint64_t now_ms)
{
	return child_request(ike, sa, k, true, now_ms);
}

int
ike_new_child(struct ike *ike, struct ike_sa *sa, uint8_t k, uint64_t now_ms)
{
	return child_request(ike, sa, k, false, now_ms);
}

/* How child k of sa goes in when it is new to sa: while another IKE SA
 * of the connection still has that child (a reauthentication, ours or
 * the peer's), make before break: the old inbound SA keeps decrypting
 * until that child goes (uninstall retires it). */
static int
child_how(const struct ike *ike, const struct ike_sa *sa, uint8_t k)
{
	for (const struct ike_sa *o = ike->sas; o != NULL; o = o->next)
		if (o != sa && o->conn == sa->conn && o->ch[k].up &&
		    o->state != IKE_S_DEAD)
			return IKE_INSTALL_REKEY;
	return IKE_INSTALL_NEW;
}

/* Our CREATE_CHILD_SA for child k was answered: a rekey's new pair in
 * and the old pair's delete out; a new child in. */
static void
rx_child_resp(struct ike *ike, struct ike_sa *sa, uint8_t k, bool rekey,
    uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_child_cfg *cc = &c->children[k];
	struct ike_child *chs = &sa->ch[k];
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *sap, *np, *kep, *tsi, *tsr;
	const char *what = rekey ? "rekeying" : "establishing";
	uint8_t g_ir[IKE_DH_SECRET_MAX], old[4];
	struct ike_prefix lts[IKE_CONN_TS_MAX], rts[IKE_CONN_TS_MAX];
	uint8_t n_lts = 0, n_rts = 0;
	struct keymat_in kin;
	struct ike_props nodh;
	struct ike_chosen ch;
	struct ike_writer w;
	size_t g_len = 0;
	uint16_t err;

	if ((err = notify_error(m)) != 0) {
		ike_logf(ike, err == IKE_N_TEMPORARY_FAILURE ? false : true,
		    "[IKE] %s CHILD_SA %s{%u}: the peer said %s%s", what,
		    cc->name, sa->serial, notify_name(err), rekey ?
		    "; trying again later" : "");
		return;
	}
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	tsi = ike_msg_find(m, IKE_PL_TSI, 0);
	tsr = ike_msg_find(m, IKE_PL_TSR, 0);
	if (chs->rk_dh == NULL)
		ike_props_without_dh(&cc->esp_proposals, &nodh);
	else
		nodh = cc->esp_proposals;
	if (!rekey && tsi != NULL && tsr != NULL) {
		ts_take(m, tsi, lts, &n_lts);
		ts_take(m, tsr, rts, &n_rts);
	}
	if (sap == NULL || np == NULL ||
	    ike_prop_accept(&nodh, m, sap, &ch) != 0 || ch.spi_size != 4 ||
	    (chs->rk_dh != NULL && (kep == NULL || ch.dh !=
	    ike_dh_group(chs->rk_dh) || ike_dh_shared(chs->rk_dh, kep->data,
	    kep->data_len, g_ir, sizeof(g_ir), &g_len) != 0)) ||
	    (!rekey && (n_lts == 0 || n_rts == 0 ||
	    !ts_within(lts, n_lts, cc->local_ts, cc->n_local_ts) ||
	    !ts_within(rts, n_rts, cc->remote_ts, cc->n_remote_ts)))) {
		ike_logf(ike, true, "[IKE] %s CHILD_SA %s{%u}: invalid "
		    "answer%s", what, cc->name, sa->serial, rekey ?
		    "; the old SA stays" : "");
		explicit_bzero(g_ir, sizeof(g_ir));
		return;
	}
	if (rekey) {
		chs->old_spi_in = chs->spi_in;
		chs->old_spi_out = chs->spi_out;
	} else {
		memcpy(chs->sa.local_ts, lts, sizeof(lts));
		memcpy(chs->sa.remote_ts, rts, sizeof(rts));
		chs->sa.n_local_ts = n_lts;
		chs->sa.n_remote_ts = n_rts;
	}
	chs->spi_in = chs->rk_spi_in;
	chs->spi_out = hg_rd32be(ch.spi);
	chs->alg = ch;
	kin = (struct keymat_in){ .we_init = true, .g_ir = g_len ? g_ir :
	    NULL, .g_len = g_len, .ni = chs->rk_ni, .ni_len =
	    sizeof(chs->rk_ni), .nr = np->data, .nr_len = np->data_len };
	if (child_install(ike, sa, k, rekey ? IKE_INSTALL_REKEY :
	    child_how(ike, sa, k), &kin, now_ms) != 0) {
		explicit_bzero(g_ir, sizeof(g_ir));
		ike_send_delete(ike, sa, now_ms);
		return;
	}
	explicit_bzero(g_ir, sizeof(g_ir));
	ike_dh_free(chs->rk_dh);
	chs->rk_dh = NULL;
	if (!rekey)
		return;
	/* The old pair: deleted at the peer once it has the new. */
	spi_put(chs->old_spi_in, old);
	inner_begin(ike, &w);
	(void)ike_w_delete(&w, IKE_PROTO_ESP, 4, old, 1);
	sa->req_child = k;
	(void)inner_send(ike, sa, &w, IKE_INFORMATIONAL, false,
	    sa->next_req_id, IKE_REQ_DELETE_CHILD, now_ms);
}

/* ---- rekeying the IKE SA (§1.3.2, §2.18) ------------------------------ */

/*
 * The IKE SA that replaces old: new SPIs and keys (derived from old's
 * SK_d), the same peer, ports and identity, and old's child, which
 * moves over whole (its ESP SAs stay as they are in the data plane).
 * we_init: we began the rekey, and are the new SA's initiator.
 */
static struct ike_sa *
ike_sa_successor(struct ike *ike, struct ike_sa *old, bool we_init,
    uint64_t spi_i, uint64_t spi_r, const struct ike_chosen *alg,
    const struct ike_keys *keys, uint64_t now_ms)
{
	struct ike_sa *sa;

	if ((sa = ike_sa_new(ike, old->conn, true, &old->local, &old->remote,
	    now_ms)) == NULL)
		return NULL;
	sa->initiator = we_init;
	sa->state = IKE_S_ESTABLISHED;
	sa->spi_i = spi_i;
	sa->spi_r = spi_r;
	sa->alg = *alg;
	sa->keys = *keys;
	sa->keyed = true;
	sa->natt = old->natt;
	sa->frag = old->frag;
	sa->nat_local = old->nat_local;
	sa->nat_remote = old->nat_remote;
	sa->peer_id = old->peer_id;
	sa->established_ms = now_ms;
	sa->ike_rekey_due_ms = ike->conns[old->conn].cfg.rekey_time_s ?
	    now_ms + ike->conns[old->conn].cfg.rekey_time_s * 1000ull : 0;
	/* The children, as they stand (a rekey of one under way stays
	 * with the old SA's exchange: none is, both sides see to that). */
	sa->children_ours = old->children_ours;
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++) {
		sa->ch[k] = old->ch[k];
		sa->ch[k].rk_dh = NULL;
		old->ch[k].up = false;
	}
	old->rekeyed = true;
	old->ike_rekey_due_ms = 0;
	return sa;
}

int
ike_rekey_ike(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	struct ike_w_proposal wp[IKE_PROPS_MAX];
	struct ike_w_transform tf[IKE_PROPS_MAX * 5 * IKE_PROP_ALGS_MAX];
	uint8_t spi[8], ke[IKE_DH_PUB_MAX];
	struct ike_writer w;
	size_t ke_len;
	unsigned np;

	/* The group the SA has: the peer took it once already. */
	ike_dh_free(sa->ike_rk_dh);
	sa->ike_rk_dh = NULL;
	if ((sa->ike_rk_spi = rand64()) == 0 ||
	    ike_random(sa->ike_rk_ni, sizeof(sa->ike_rk_ni)) != 0 ||
	    ike_dh_new(&sa->ike_rk_dh, sa->alg.dh) != 0 ||
	    ike_dh_public(sa->ike_rk_dh, ke, sizeof(ke), &ke_len) != 0)
		return -EIO;
	spi64_put(sa->ike_rk_spi, spi);
	inner_begin(ike, &w);
	np = ike_props_to_w(&c->proposals, spi, 8, wp, tf);
	(void)ike_w_sa(&w, wp, np);
	(void)ike_w_nonce(&w, sa->ike_rk_ni, sizeof(sa->ike_rk_ni));
	(void)ike_w_ke(&w, sa->alg.dh, ke, ke_len);
	ike_logf(ike, false, "[IKE] rekeying IKE_SA %s[%u]", c->name,
	    sa->serial);
	return inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, false,
	    sa->next_req_id, IKE_REQ_REKEY_IKE, now_ms);
}


static void
rekeyed_log(struct ike *ike, const struct ike_sa *old, const struct ike_sa *sa)
{
	ike_logf(ike, false, "[IKE] IKE_SA %s[%u] rekeyed: IKE_SA %s[%u] "
	    "with SPIs %016llx_i %016llx_r takes its place and its child",
	    ike_sa_conn_name(ike, old), old->serial,
	    ike_sa_conn_name(ike, sa), sa->serial,
	    (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
}

/* Our IKE SA rekey was answered: the new SA takes over, the old is
 * deleted. */
static void
rx_rekey_ike_resp(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *sap, *np, *kep;
	uint8_t g_ir[IKE_DH_SECRET_MAX];
	struct ike_suite suite;
	struct ike_keys keys;
	struct ike_chosen ch;
	struct ike_sa *nsa;
	size_t g_len;
	uint16_t err;

	if ((err = notify_error(m)) != 0) {
		ike_logf(ike, err == IKE_N_TEMPORARY_FAILURE ? false : true,
		    "[IKE] rekeying IKE_SA %s[%u]: the peer said %s; trying "
		    "again later", c->name, sa->serial, notify_name(err));
		return;
	}
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	if (sap == NULL || np == NULL || kep == NULL || sa->ike_rk_dh == NULL ||
	    ike_prop_accept(&c->proposals, m, sap, &ch) != 0 ||
	    ch.spi_size != 8 || ch.dh != ike_dh_group(sa->ike_rk_dh) ||
	    ike_dh_shared(sa->ike_rk_dh, kep->data, kep->data_len, g_ir,
	    sizeof(g_ir), &g_len) != 0) {
		ike_logf(ike, true, "[IKE] rekeying IKE_SA %s[%u]: invalid "
		    "answer; the old SA stays", c->name, sa->serial);
		return;
	}
	suite_of(&ch, &suite);
	if (ike_keys_derive_rekey(&sa->keys, &suite, sa->ike_rk_ni,
	    sizeof(sa->ike_rk_ni), np->data, np->data_len, g_ir, g_len,
	    sa->ike_rk_spi, hg_rd64be(ch.spi), &keys) != 0 ||
	    (nsa = ike_sa_successor(ike, sa, true, sa->ike_rk_spi,
	    hg_rd64be(ch.spi), &ch, &keys, now_ms)) == NULL) {
		explicit_bzero(g_ir, sizeof(g_ir));
		ike_keys_wipe(&keys);
		return;
	}
	explicit_bzero(g_ir, sizeof(g_ir));
	ike_keys_wipe(&keys);
	ike_dh_free(sa->ike_rk_dh);
	sa->ike_rk_dh = NULL;
	rekeyed_log(ike, sa, nsa);
	/* The old SA goes; its delete says so to the peer. */
	ike_send_delete(ike, sa, now_ms);
}

/* The peer rekeys the IKE SA: we answer on the old one, and the new
 * takes over; the old waits for the peer's delete. */
static void
rx_rekey_ike_req(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *sap, *np, *kep;
	struct ike_w_proposal wp;
	struct ike_w_transform tf[5];
	uint8_t g_ir[IKE_DH_SECRET_MAX], nr[IKE_NONCE_LEN], spi[8];
	uint8_t ke[IKE_DH_PUB_MAX];
	struct ike_dh *dh = NULL;
	struct ike_suite suite;
	struct ike_keys keys;
	struct ike_chosen ch;
	struct ike_writer w;
	struct ike_sa *nsa;
	char refused[512];
	size_t g_len = 0, ke_len = 0;
	uint64_t spi_r;
	uint16_t err = 0;

	sap = ike_msg_find(m, IKE_PL_SA, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	inner_begin(ike, &w);
	memset(&keys, 0, sizeof(keys));
	if (sa->req_kind != IKE_REQ_NONE || ike_sa_busy(sa) || sa->rekeyed)
		err = IKE_N_TEMPORARY_FAILURE;	/* ours is under way */
	else if (np == NULL || kep == NULL)
		err = IKE_N_INVALID_SYNTAX;
	else if (ike_prop_select(&c->proposals, m, sap, &ch, refused,
	    sizeof(refused)) != 0 || ch.spi_size != 8) {
		ike->st.no_proposal++;
		ike_logf(ike, true, "[CFG] %s: received proposals for the IKE "
		    "rekey unacceptable: %s", c->name, refused);
		err = IKE_N_NO_PROPOSAL_CHOSEN;
	} else if (kep->u.ke.group != ch.dh) {
		uint8_t g[2] = { ch.dh >> 8, ch.dh & 0xff };

		(void)ike_w_notify(&w, 0, NULL, 0, IKE_N_INVALID_KE_PAYLOAD, g,
		    sizeof(g));
		(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true,
		    m->hdr.msg_id, IKE_REQ_NONE, now_ms);
		return;
	} else {
		suite_of(&ch, &suite);
		if ((spi_r = rand64()) == 0 || ike_random(nr, sizeof(nr)) != 0 ||
		    ike_dh_new(&dh, ch.dh) != 0 ||
		    ike_dh_public(dh, ke, sizeof(ke), &ke_len) != 0 ||
		    ike_dh_shared(dh, kep->data, kep->data_len, g_ir,
		    sizeof(g_ir), &g_len) != 0 ||
		    ike_keys_derive_rekey(&sa->keys, &suite, np->data,
		    np->data_len, nr, sizeof(nr), g_ir, g_len,
		    hg_rd64be(ch.spi), spi_r, &keys) != 0)
			err = IKE_N_INVALID_SYNTAX;
	}
	ike_dh_free(dh);
	explicit_bzero(g_ir, sizeof(g_ir));
	if (err != 0) {
		ike_keys_wipe(&keys);
		(void)ike_w_notify(&w, 0, NULL, 0, err, NULL, 0);
		(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true,
		    m->hdr.msg_id, IKE_REQ_NONE, now_ms);
		return;
	}
	spi64_put(spi_r, spi);
	ike_chosen_to_w(&ch, spi, 8, &wp, tf);
	(void)ike_w_sa(&w, &wp, 1);
	(void)ike_w_nonce(&w, nr, sizeof(nr));
	(void)ike_w_ke(&w, ch.dh, ke, ke_len);
	if (inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true, m->hdr.msg_id,
	    IKE_REQ_NONE, now_ms) != 0 ||
	    (nsa = ike_sa_successor(ike, sa, false, hg_rd64be(ch.spi), spi_r,
	    &ch, &keys, now_ms)) == NULL) {
		ike_keys_wipe(&keys);
		return;
	}
	ike_keys_wipe(&keys);
	rekeyed_log(ike, sa, nsa);
	sa->state = IKE_S_DELETING;	/* until the peer deletes it */
}

/*
 * The child of sa a CREATE_CHILD_SA without REKEY_SA asks for: the first
 * configured child not up whose selectors the peer's narrow to something
 * (lts, rts: what they narrow to); -1 for none, *taken when one that
 * would have was up already.
 */
static int
child_for_ts(const struct ike *ike, const struct ike_sa *sa,
    const struct ike_msg *m, const struct ike_payload *tsi,
    const struct ike_payload *tsr, struct ike_prefix *lts, uint8_t *n_lts,
    struct ike_prefix *rts, uint8_t *n_rts, bool *taken)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;

	*taken = false;
	for (uint8_t k = 0; k < c->n_children; k++) {
		const struct ike_child_cfg *cc = &c->children[k];

		ts_narrow(m, tsi, cc->remote_ts, cc->n_remote_ts, rts, n_rts);
		ts_narrow(m, tsr, cc->local_ts, cc->n_local_ts, lts, n_lts);
		if (*n_rts == 0 || *n_lts == 0)
			continue;
		if (!sa->ch[k].up)
			return k;
		*taken = true;
	}
	return -1;
}

/* The child of sa whose outbound SPI is spi; -1 for none. */
static int
child_by_spi_out(const struct ike_sa *sa, uint32_t spi)
{
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++)
		if (sa->ch[k].up && sa->ch[k].spi_out == spi)
			return k;
	return -1;
}

/* The peer's CREATE_CHILD_SA: a rekey of the IKE SA or of a child, or a
 * child of the connection not up yet. */
static void
rx_create_child_req(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_child_cfg *cc = NULL;
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *rk, *sap, *np, *kep, *tsi, *tsr;
	struct ike_w_proposal wp;
	struct ike_w_transform tf[5];
	uint8_t g_ir[IKE_DH_SECRET_MAX], nr[IKE_NONCE_LEN], spi[4];
	uint8_t ke[IKE_DH_PUB_MAX];
	struct ike_dh *dh = NULL;
	struct ike_prefix lts[IKE_CONN_TS_MAX], rts[IKE_CONN_TS_MAX];
	uint8_t n_lts = 0, n_rts = 0;
	struct ike_child *chs = NULL;
	struct keymat_in kin;
	struct ike_props props;
	struct ike_chosen ch;
	struct ike_writer w;
	char refused[512];
	size_t g_len = 0, ke_len = 0;
	uint16_t err = 0;
	bool taken = false;
	int k = -1;

	rk = notify_find(m, IKE_N_REKEY_SA);
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	np = ike_msg_find(m, IKE_PL_NONCE, 0);
	kep = ike_msg_find(m, IKE_PL_KE, 0);
	tsi = ike_msg_find(m, IKE_PL_TSI, 0);
	tsr = ike_msg_find(m, IKE_PL_TSR, 0);
	inner_begin(ike, &w);
	if (sap != NULL && sap->u.sa.count > 0 &&
	    m->proposals[sap->u.sa.first].protocol == IKE_PROTO_IKE) {
		rx_rekey_ike_req(ike, sa, now_ms);
		return;
	}
	if (np == NULL || tsi == NULL || tsr == NULL || sap == NULL) {
		err = IKE_N_INVALID_SYNTAX;
	} else if (rk != NULL) {
		if (rk->u.notify.spi_size != 4 || (k = child_by_spi_out(sa,
		    hg_rd32be(rk->u.notify.spi))) < 0)
			err = IKE_N_CHILD_SA_NOT_FOUND;
		else if ((sa->req_kind == IKE_REQ_REKEY_CHILD &&
		    sa->req_child == k) || sa->ch[k].old_spi_in != 0)
			err = IKE_N_TEMPORARY_FAILURE;	/* ours is under way */
	} else if ((k = child_for_ts(ike, sa, m, tsi, tsr, lts, &n_lts, rts,
	    &n_rts, &taken)) < 0) {
		if (taken)
			err = IKE_N_NO_ADDITIONAL_SAS;	/* one SA a child */
		else {
			ike_logf(ike, true, "[CFG] %s: the peer's traffic "
			    "selectors are outside every child's: "
			    "TS_UNACCEPTABLE", c->name);
			err = IKE_N_TS_UNACCEPTABLE;
		}
	} else if (sa->req_kind == IKE_REQ_NEW_CHILD && sa->req_child == k)
		err = IKE_N_TEMPORARY_FAILURE;	/* ours crosses it */
	if (err == 0 && (sa->req_kind == IKE_REQ_REKEY_IKE || sa->rekeyed))
		err = IKE_N_TEMPORARY_FAILURE;
	if (err == 0) {
		cc = &c->children[k];
		chs = &sa->ch[k];
		if (kep == NULL)
			ike_props_without_dh(&cc->esp_proposals, &props);
		else
			props = cc->esp_proposals;
		if (ike_prop_select(&props, m, sap, &ch, refused,
		    sizeof(refused)) != 0 || ch.spi_size != 4) {
			ike->st.no_proposal++;
			ike_logf(ike, true, "[CFG] %s: received ESP proposals "
			    "for CHILD_SA %s unacceptable: %s", c->name,
			    cc->name, refused);
			err = IKE_N_NO_PROPOSAL_CHOSEN;
		} else if (ch.dh != 0 && (kep == NULL ||
		    kep->u.ke.group != ch.dh)) {
			uint8_t g[2] = { ch.dh >> 8, ch.dh & 0xff };

			(void)ike_w_notify(&w, 0, NULL, 0,
			    IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
			(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA,
			    true, m->hdr.msg_id, IKE_REQ_NONE, now_ms);
			return;
		} else if (ch.dh != 0 && (ike_dh_new(&dh, ch.dh) != 0 ||
		    ike_dh_public(dh, ke, sizeof(ke), &ke_len) != 0 ||
		    ike_dh_shared(dh, kep->data, kep->data_len, g_ir,
		    sizeof(g_ir), &g_len) != 0)) {
			err = IKE_N_INVALID_SYNTAX;
		} else {
			if (rk != NULL) {
				ts_narrow(m, tsi, cc->remote_ts,
				    cc->n_remote_ts, rts, &n_rts);
				ts_narrow(m, tsr, cc->local_ts,
				    cc->n_local_ts, lts, &n_lts);
			}
			if (n_rts == 0 || n_lts == 0)
				err = IKE_N_TS_UNACCEPTABLE;
			else if (ike_random(nr, sizeof(nr)) != 0 ||
			    (chs->rk_spi_in = rand_spi()) == 0)
				err = IKE_N_TEMPORARY_FAILURE;
		}
	}
	if (err != 0) {
		ike_dh_free(dh);
		explicit_bzero(g_ir, sizeof(g_ir));
		(void)ike_w_notify(&w, 0, NULL, 0, err, NULL, 0);
		(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true,
		    m->hdr.msg_id, IKE_REQ_NONE, now_ms);
		return;
	}
	spi_put(chs->rk_spi_in, spi);
	ike_chosen_to_w(&ch, spi, 4, &wp, tf);
	(void)ike_w_sa(&w, &wp, 1);
	(void)ike_w_nonce(&w, nr, sizeof(nr));
	if (dh != NULL)
		(void)ike_w_ke(&w, ch.dh, ke, ke_len);
	(void)w_ts(&w, IKE_PL_TSI, rts, n_rts);
	(void)w_ts(&w, IKE_PL_TSR, lts, n_lts);
	ike_dh_free(dh);
	/* Make before break: the new inbound SA is in before the answer
	 * leaves; our new outbound waits for the peer's delete of the old
	 * pair, which says it has the new.  Without REKEY_SA the child is
	 * new to this SA (another of the connection's, or the peer makes
	 * one again after its own expired). */
	chs->old_spi_in = rk != NULL ? chs->spi_in : 0;
	chs->old_spi_out = rk != NULL ? chs->spi_out : 0;
	chs->spi_in = chs->rk_spi_in;
	chs->spi_out = hg_rd32be(ch.spi);
	chs->alg = ch;
	memcpy(chs->sa.local_ts, lts, sizeof(lts));
	memcpy(chs->sa.remote_ts, rts, sizeof(rts));
	chs->sa.n_local_ts = n_lts;
	chs->sa.n_remote_ts = n_rts;
	kin = (struct keymat_in){ .we_init = false, .g_ir = g_len ? g_ir :
	    NULL, .g_len = g_len, .ni = np->data, .ni_len = np->data_len,
	    .nr = nr, .nr_len = sizeof(nr) };
	if (child_install(ike, sa, (uint8_t)k, rk != NULL ?
	    IKE_INSTALL_REKEY_IN : child_how(ike, sa, (uint8_t)k), &kin,
	    now_ms) != 0) {
		explicit_bzero(g_ir, sizeof(g_ir));
		chs->spi_in = chs->old_spi_in;
		chs->spi_out = chs->old_spi_out;
		chs->old_spi_in = chs->old_spi_out = 0;
		inner_begin(ike, &w);
		(void)ike_w_notify(&w, 0, NULL, 0, IKE_N_TEMPORARY_FAILURE,
		    NULL, 0);
		(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true,
		    m->hdr.msg_id, IKE_REQ_NONE, now_ms);
		return;
	}
	explicit_bzero(g_ir, sizeof(g_ir));
	chs->out_held = rk != NULL;
	/* The rekey is the peer's now: ours waits a whole period. */
	(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA, true,
	    m->hdr.msg_id, IKE_REQ_NONE, now_ms);
}

void
ike_child_down_one(struct ike *ike, struct ike_sa *sa, uint8_t k)
{
	struct ike_child *ch = &sa->ch[k];
	const struct ike_conn_cfg *c;

	if (!ch->up || sa->conn < 0)
		return;
	/* Names from the connection as it is now: a reload replaces the
	 * connections, and what install was given points into the old. */
	c = &ike->conns[sa->conn].cfg;
	ch->up = false;
	ike->st.child_deleted++;
	ike->env.uninstall(ike->env.ctx, c->if_idx, k, c->name, ch->spi_in);
	ike_logf(ike, false, "[IKE] CHILD_SA %s{%u} with SPIs %08x_i %08x_o "
	    "deleted", c->children[k].name, sa->serial, ch->spi_in,
	    ch->spi_out);
	ch->old_spi_in = ch->old_spi_out = 0;
	ch->out_held = false;
}

void
ike_child_down(struct ike *ike, struct ike_sa *sa)
{
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++)
		ike_child_down_one(ike, sa, k);
}

void
ike_close_child(struct ike *ike, struct ike_sa *sa, uint8_t k,
    uint64_t now_ms)
{
	struct ike_writer w;
	uint8_t spi[4];

	spi_put(sa->ch[k].spi_in, spi);
	ike_child_down_one(ike, sa, k);
	sa->ch[k].asked = false;	/* ours: asked for again, fresh */
	inner_begin(ike, &w);
	(void)ike_w_delete(&w, IKE_PROTO_ESP, 4, spi, 1);
	sa->req_child = k;
	(void)inner_send(ike, sa, &w, IKE_INFORMATIONAL, false,
	    sa->next_req_id, IKE_REQ_CLOSE_CHILD, now_ms);
}

static void
established(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], id[IKE_ID_MAX + 8];
	char alg[128];

	if (!sa->initiator && ike->n_half_open > 0)
		ike->n_half_open--;
	sa->state = IKE_S_ESTABLISHED;
	sa->established_ms = now_ms;
	ike->st.established++;
	addr_str(&sa->local, l, sizeof(l));
	addr_str(&sa->remote, r, sizeof(r));
	ike_id_format(&sa->peer_id, id, sizeof(id));
	ike_chosen_format(&sa->alg, alg, sizeof(alg));
	ike_logf(ike, false, "[IKE] IKE_SA %s[%u] established between "
	    "%s[%u]...%s[%u] (peer %s, %s%s)", ike_sa_conn_name(ike, sa),
	    sa->serial, l, sa->local.port, r, sa->remote.port, id, alg,
	    sa->natt ? ", NAT-T" : "");
	/* A connection that is up is kept up: a later loss restarts it
	 * only through dpd_action or the peer. */
	ike->conns[sa->conn].retry_at_ms = now_ms + IKE_RETRY_MS;
	sa->ike_rekey_due_ms = ike->conns[sa->conn].cfg.rekey_time_s ?
	    now_ms + ike->conns[sa->conn].cfg.rekey_time_s * 1000ull : 0;
	sa->reauth_due_ms = ike->conns[sa->conn].cfg.reauth_time_s ?
	    now_ms + ike->conns[sa->conn].cfg.reauth_time_s * 1000ull : 0;
}

/* Our reauthentication is through: the SA it replaces goes, the peer
 * told; its child is the new one's already. */
void
ike_reauth_done(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	for (struct ike_sa *o = ike->sas; o != NULL; o = o->next)
		if (sa->replaces != 0 && o->serial == sa->replaces &&
		    o->conn == sa->conn && o->state == IKE_S_ESTABLISHED) {
			ike_logf(ike, false, "[IKE] IKE_SA %s[%u] "
			    "reauthenticated as [%u]: deleting the old one",
			    ike_sa_conn_name(ike, o), o->serial, sa->serial);
			ike_send_delete(ike, o, now_ms);
		}
	sa->replaces = 0;
}

static void
auth_failed(struct ike *ike, struct ike_sa *sa, const char *why)
{
	char a[INET6_ADDRSTRLEN];

	ike->st.auth_failed++;
	ike->st.failed++;
	addr_str(&sa->remote, a, sizeof(a));
	ike_logf(ike, true, "[IKE] authentication of %s[%u] failed: %s "
	    "(AUTHENTICATION_FAILED)", a, sa->remote.port, why);
}

/* Responder: the peer's IKE_AUTH. */
static void
rx_auth_req(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *idp, *ap, *sap, *tsi, *tsr;
	struct ike_w_proposal wp;
	struct ike_w_transform tf[5];
	uint8_t id[4 + IKE_ID_MAX], auth[IKE_SIG_MAX], spi_be[4], method;
	const struct ike_conn_cfg *c;
	struct ike_props nodh;
	struct ike_writer w;
	struct ike_chosen ch;
	char refused[512], why[1024];
	size_t id_len;
	long auth_len;
	struct ike_prefix lts[IKE_CONN_TS_MAX], rts[IKE_CONN_TS_MAX];
	uint8_t n_lts = 0, n_rts = 0;
	struct ike_child *chs = NULL;
	uint16_t child_err = 0;
	bool taken;
	int conn, k = -1;

	idp = ike_msg_find(m, IKE_PL_IDI, 0);
	ap = ike_msg_find(m, IKE_PL_AUTH, 0);
	if (idp == NULL || ap == NULL || idp->body_len < 4 ||
	    ap->body_len < 4) {
		ike->st.rx_invalid++;
		ike_sa_kill(ike, sa, "IKE_AUTH without IDi or AUTH");
		return;
	}
	/* The connection: the first for these addresses whose remote
	 * identity the peer's is. */
	for (conn = sa->conn; conn >= 0; conn = conn_for(ike, &sa->local,
	    &sa->remote, conn + 1))
		if (id_ok(&ike->conns[conn].cfg, idp))
			break;
	id_take(&sa->peer_id, idp);
	inner_begin(ike, &w);
	if (conn < 0)
		snprintf(why, sizeof(why), "identity mismatch: no connection "
		    "for its identity (remote id)");
	if (conn < 0 || !auth_ok(ike, sa, &ike->conns[conn], idp, ap, why,
	    sizeof(why))) {
		char pid[IKE_ID_MAX + 8];

		ike_id_format(&sa->peer_id, pid, sizeof(pid));
		auth_failed(ike, sa, why);
		ike_logf(ike, true, "[IKE] peer identity %s", pid);
		(void)ike_w_notify(&w, 0, NULL, 0,
		    IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		(void)inner_send(ike, sa, &w, IKE_AUTH, true, m->hdr.msg_id,
		    IKE_REQ_NONE, now_ms);
		ike_sa_kill(ike, sa, NULL);
		return;
	}
	sa->conn = conn;
	c = &ike->conns[conn].cfg;
	id_len = our_id(sa, &ike->conns[conn], id);
	if ((auth_len = auth_make(sa, &ike->conns[conn], id, id_len, &method,
	    auth)) < 0) {
		ike_sa_kill(ike, sa, "AUTH could not be computed");
		return;
	}
	(void)ike_w_id(&w, IKE_PL_IDR, id[0], id + 4, id_len - 4);
	w_certs(&w, &ike->conns[conn]);
	(void)ike_w_auth(&w, method, auth, (size_t)auth_len);
	explicit_bzero(auth, sizeof(auth));

	/* The child SA: the first of the connection's children whose
	 * selectors the peer's narrow to something. */
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	tsi = ike_msg_find(m, IKE_PL_TSI, 0);
	tsr = ike_msg_find(m, IKE_PL_TSR, 0);
	if (sap == NULL || tsi == NULL || tsr == NULL)
		child_err = IKE_N_INVALID_SYNTAX;
	else if ((k = child_for_ts(ike, sa, m, tsi, tsr, lts, &n_lts, rts,
	    &n_rts, &taken)) < 0) {
		ike_logf(ike, true, "[CFG] %s: the peer's traffic selectors "
		    "are outside every child's: TS_UNACCEPTABLE", c->name);
		child_err = IKE_N_TS_UNACCEPTABLE;
	} else if ((ike_props_without_dh(&c->children[k].esp_proposals,
	    &nodh), ike_prop_select(&nodh, m, sap, &ch, refused,
	    sizeof(refused))) != 0 || ch.spi_size != 4) {
		ike->st.no_proposal++;
		ike_logf(ike, true, "[CFG] %s: received ESP proposals for "
		    "CHILD_SA %s unacceptable: %s", c->name,
		    c->children[k].name, refused);
		child_err = IKE_N_NO_PROPOSAL_CHOSEN;
	}
	if (child_err == 0) {
		chs = &sa->ch[k];
		chs->alg = ch;
		chs->spi_out = hg_rd32be(ch.spi);
		memcpy(chs->sa.local_ts, lts, sizeof(lts));
		memcpy(chs->sa.remote_ts, rts, sizeof(rts));
		chs->sa.n_local_ts = n_lts;
		chs->sa.n_remote_ts = n_rts;
		if ((chs->spi_in = rand_spi()) == 0)
			child_err = IKE_N_TEMPORARY_FAILURE;
	}
	if (child_err == 0) {
		spi_put(chs->spi_in, spi_be);
		ike_chosen_to_w(&ch, spi_be, 4, &wp, tf);
		(void)ike_w_sa(&w, &wp, 1);
		(void)w_ts(&w, IKE_PL_TSI, rts, n_rts);
		(void)w_ts(&w, IKE_PL_TSR, lts, n_lts);
	} else
		(void)ike_w_notify(&w, 0, NULL, 0, child_err, NULL, 0);
	if (inner_send(ike, sa, &w, IKE_AUTH, true, m->hdr.msg_id,
	    IKE_REQ_NONE, now_ms) != 0) {
		ike_sa_kill(ike, sa, "could not answer IKE_AUTH");
		return;
	}
	/* INITIAL_CONTACT (§2.4): the peer kept nothing of earlier SAs of
	 * this connection (it restarted): they go, before the new child
	 * takes the tunnel. */
	if (notify_find(m, IKE_N_INITIAL_CONTACT) != NULL)
		for (struct ike_sa *o = ike->sas; o != NULL; o = o->next)
			if (o != sa && o->conn == conn &&
			    o->state == IKE_S_ESTABLISHED)
				ike_sa_kill(ike, o, "replaced: the peer "
				    "made contact again (INITIAL_CONTACT)");
	established(ike, sa, now_ms);
	if (child_err == 0) {
		struct keymat_in kin = { .we_init = false, .ni = sa->ni,
		    .ni_len = sa->ni_len, .nr = sa->nr, .nr_len = sa->nr_len };

		if (child_install(ike, sa, (uint8_t)k, child_how(ike, sa,
		    (uint8_t)k), &kin, now_ms) != 0)
			ike_send_delete(ike, sa, now_ms);
	}
}

/* Initiator: the answer to our IKE_AUTH. */
static void
rx_auth_resp(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	const struct ike_child_cfg *cc = &c->children[0];
	struct ike_child *chs = &sa->ch[0];
	const struct ike_msg *m = &ike->inner;
	const struct ike_payload *idp, *ap, *sap, *tsi, *tsr;
	struct ike_props nodh;
	struct ike_chosen ch;
	char why[1024];
	uint16_t err;

	idp = ike_msg_find(m, IKE_PL_IDR, 0);
	ap = ike_msg_find(m, IKE_PL_AUTH, 0);
	if (idp == NULL || ap == NULL || idp->body_len < 4) {
		err = notify_error(m);
		if (err == IKE_N_AUTHENTICATION_FAILED) {
			auth_failed(ike, sa, "the peer refused our "
			    "authentication");
		} else {
			ike->st.failed++;
			ike_logf(ike, true, "[IKE] %s: IKE_AUTH answered "
			    "with %s", c->name, err ? notify_name(err) :
			    "no IDr or AUTH");
		}
		ike_sa_kill(ike, sa, "failed");
		return;
	}
	id_take(&sa->peer_id, idp);
	if (!id_ok(c, idp))
		snprintf(why, sizeof(why), "identity mismatch: not the "
		    "identity expected (remote id)");
	if (!id_ok(c, idp) || !auth_ok(ike, sa, &ike->conns[sa->conn], idp,
	    ap, why, sizeof(why))) {
		auth_failed(ike, sa, why);
		ike_sa_kill(ike, sa, "failed");
		return;
	}
	established(ike, sa, now_ms);
	if ((err = notify_error(m)) != 0) {
		ike_logf(ike, true, "[IKE] %s: no CHILD_SA: the peer said %s",
		    c->name, notify_name(err));
		return;
	}
	sap = ike_msg_find(m, IKE_PL_SA, 0);
	tsi = ike_msg_find(m, IKE_PL_TSI, 0);
	tsr = ike_msg_find(m, IKE_PL_TSR, 0);
	ike_props_without_dh(&cc->esp_proposals, &nodh);
	if (sap == NULL || tsi == NULL || tsr == NULL ||
	    ike_prop_accept(&nodh, m, sap, &ch) != 0 ||
	    ch.spi_size != 4) {
		ike_logf(ike, true, "[IKE] %s: no CHILD_SA: the answer's SA "
		    "or selectors are missing or not what we offered",
		    c->name);
		ike_send_delete(ike, sa, now_ms);
		return;
	}
	ts_take(m, tsi, chs->sa.local_ts, &chs->sa.n_local_ts);
	ts_take(m, tsr, chs->sa.remote_ts, &chs->sa.n_remote_ts);
	if (chs->sa.n_local_ts == 0 || chs->sa.n_remote_ts == 0 ||
	    !ts_within(chs->sa.local_ts, chs->sa.n_local_ts, cc->local_ts,
	    cc->n_local_ts) || !ts_within(chs->sa.remote_ts,
	    chs->sa.n_remote_ts, cc->remote_ts, cc->n_remote_ts)) {
		ike_logf(ike, true, "[IKE] %s: no CHILD_SA: the peer's "
		    "selectors are not inside ours", c->name);
		ike_send_delete(ike, sa, now_ms);
		return;
	}
	chs->alg = ch;
	chs->spi_out = hg_rd32be(ch.spi);
	{
		struct keymat_in kin = { .we_init = true, .ni = sa->ni,
		    .ni_len = sa->ni_len, .nr = sa->nr, .nr_len = sa->nr_len };

		if (child_install(ike, sa, 0, child_how(ike, sa, 0), &kin,
		    now_ms) != 0)
			ike_send_delete(ike, sa, now_ms);
		else if (sa->replaces != 0 && c->n_children == 1)
			ike_reauth_done(ike, sa, now_ms);
	}
}

/* ---- INFORMATIONAL and the rest --------------------------------------- */

void
ike_send_delete(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	struct ike_writer w;

	inner_begin(ike, &w);
	(void)ike_w_delete(&w, IKE_PROTO_IKE, 0, NULL, 0);
	if (inner_send(ike, sa, &w, IKE_INFORMATIONAL, false,
	    sa->next_req_id, IKE_REQ_DELETE, now_ms) == 0)
		sa->state = IKE_S_DELETING;
	else
		ike_sa_kill(ike, sa, "deleted");
	ike_child_down(ike, sa);
}

void
ike_send_dpd(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	struct ike_writer w;

	inner_begin(ike, &w);
	(void)inner_send(ike, sa, &w, IKE_INFORMATIONAL, false,
	    sa->next_req_id, IKE_REQ_DPD, now_ms);
}

/* The pair a rekey of child k replaced is deleted at both ends: a held
 * outbound SA goes live, the old inbound one goes. */
static void
old_pair_gone(struct ike *ike, struct ike_sa *sa, uint8_t k)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;
	struct ike_child *ch = &sa->ch[k];

	if (ch->out_held) {
		ch->out_held = false;
		ike->env.switch_out(ike->env.ctx, c->if_idx, k, c->name,
		    ch->spi_out);
	}
	ike->env.retire_in(ike->env.ctx, c->if_idx, k, c->name,
	    ch->old_spi_in);
	ike_logf(ike, false, "[IKE] CHILD_SA %s{%u}: old SPIs %08x_i %08x_o "
	    "deleted after the rekey", c->children[k].name, sa->serial,
	    ch->old_spi_in, ch->old_spi_out);
	ch->old_spi_in = ch->old_spi_out = 0;
}

/* The peer deleted its outbound SA spi of one of sa's children: a
 * rekey's old pair (the peer took the new) or the child itself; our
 * half goes with it, and the answer (w) says so. */
static void
child_deleted(struct ike *ike, struct ike_sa *sa, struct ike_writer *w,
    uint32_t spi)
{
	uint8_t ours[4];

	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++) {
		struct ike_child *ch = &sa->ch[k];

		if (!ch->up)
			continue;
		if (ch->old_spi_out != 0 && spi == ch->old_spi_out) {
			spi_put(ch->old_spi_in, ours);
			(void)ike_w_delete(w, IKE_PROTO_ESP, 4, ours, 1);
			old_pair_gone(ike, sa, k);
			return;
		}
		if (spi == ch->spi_out) {
			spi_put(ch->spi_in, ours);
			(void)ike_w_delete(w, IKE_PROTO_ESP, 4, ours, 1);
			ike_child_down_one(ike, sa, k);
			return;
		}
	}
}

static void
rx_info_req(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_msg *m = &ike->inner;
	struct ike_writer w;
	bool delete_ike = false;

	inner_begin(ike, &w);
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];

		if (p->type != IKE_PL_DELETE)
			continue;
		if (p->u.del.protocol == IKE_PROTO_IKE)
			delete_ike = true;
		else if (p->u.del.protocol == IKE_PROTO_ESP &&
		    p->u.del.spi_size == 4)
			for (uint16_t d = 0; d < p->u.del.count; d++)
				child_deleted(ike, sa, &w,
				    hg_rd32be(p->u.del.spis + 4 * d));
	}
	(void)inner_send(ike, sa, &w, IKE_INFORMATIONAL, true, m->hdr.msg_id,
	    IKE_REQ_NONE, now_ms);
	if (delete_ike && sa->rekeyed) {
		ike_sa_kill(ike, sa, "deleted after its rekey");
	} else if (delete_ike) {
		if (sa->conn >= 0)
			ike->conns[sa->conn].wanted = false;
		ike_sa_kill(ike, sa, "deleted by the peer");
	}
}

void
ike_rx_protected(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_hdr *h = &ike->inner.hdr;
	struct ike_writer w;

	if (h->flags & IKE_F_RESPONSE) {
		enum ike_req_kind kind = sa->req_kind;

		sa->req_kind = IKE_REQ_NONE;
		switch (kind) {
		case IKE_REQ_AUTH:
			if (h->exchange == IKE_AUTH &&
			    sa->state == IKE_S_AUTH_SENT)
				rx_auth_resp(ike, sa, now_ms);
			break;
		case IKE_REQ_DELETE:
			ike_sa_kill(ike, sa, "deleted");
			break;
		case IKE_REQ_REKEY_CHILD:
		case IKE_REQ_NEW_CHILD:
			if (h->exchange == IKE_CREATE_CHILD_SA &&
			    sa->state == IKE_S_ESTABLISHED &&
			    sa->ch[sa->req_child].up ==
			    (kind == IKE_REQ_REKEY_CHILD))
				rx_child_resp(ike, sa, sa->req_child,
				    kind == IKE_REQ_REKEY_CHILD, now_ms);
			break;
		case IKE_REQ_REKEY_IKE:
			if (h->exchange == IKE_CREATE_CHILD_SA &&
			    sa->state == IKE_S_ESTABLISHED)
				rx_rekey_ike_resp(ike, sa, now_ms);
			break;
		case IKE_REQ_DELETE_CHILD:
			if (sa->ch[sa->req_child].old_spi_in != 0)
				old_pair_gone(ike, sa, sa->req_child);
			break;
		default:
			break;		/* DPD: alive, last_rx_ms says so */
		}
		return;
	}
	switch (h->exchange) {
	case IKE_AUTH:
		if (!sa->initiator && sa->state == IKE_S_INIT_DONE)
			rx_auth_req(ike, sa, now_ms);
		break;
	case IKE_INFORMATIONAL:
		if (sa->state == IKE_S_ESTABLISHED ||
		    sa->state == IKE_S_DELETING)
			rx_info_req(ike, sa, now_ms);
		break;
	case IKE_CREATE_CHILD_SA:
		if (sa->state == IKE_S_ESTABLISHED && sa->conn >= 0)
			rx_create_child_req(ike, sa, now_ms);
		else {
			inner_begin(ike, &w);
			(void)ike_w_notify(&w, 0, NULL, 0,
			    IKE_N_TEMPORARY_FAILURE, NULL, 0);
			(void)inner_send(ike, sa, &w, IKE_CREATE_CHILD_SA,
			    true, h->msg_id, IKE_REQ_NONE, now_ms);
		}
		break;
	default:
		break;
	}
}
