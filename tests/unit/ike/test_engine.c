/*
 * tests/unit/ike/test_engine.c: the IKEv2 engine (src/ike/ike.c,
 * exchange.c) as two engines talking over an in-memory network: what
 * each message sequence leaves each side with.
 *
 * Each test starts an initiator and a responder, runs the network until
 * it is quiet (with time moved on where a timer matters), and checks
 * what the data plane was given: the same keys and SPIs crossed over at
 * both ends, the selectors narrowed, ESP in UDP only through a NAT; and
 * what a lost message, a repeated request, a wrong key, a proposal or
 * group the other does not take, a delete and a dead peer do.
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

#include "certgen.h"
#include "ike/cert.h"
#include "ike/ike.h"

#define NET_MAX		64
#define SIDE_A		0
#define SIDE_B		1

struct dgram {
	int to;			/* SIDE_* */
	struct ike_addr from, dst;
	uint8_t buf[IKE_MSG_MAX];
	size_t len;
};

/* What one side's data plane holds: the SA sending, the SAs
 * receiving (a rekey's old one too), an outbound SA held back. */
struct installed {
	struct ike_child_sa sa;
	uint8_t key_in[64], key_out[64];
	bool up;
	int n_install, n_uninstall, n_rekey, n_retired_by_uninstall;
	uint32_t out_spi, in_spi, prev_in_spi, held_out_spi;
	uint8_t out_key[64], in_key[64], prev_in_key[64], held_key[64];
};

struct side {
	int id;
	struct ike *ike;
	struct installed child;		/* slot 0: the first child */
	struct installed more[IKE_CHILDREN_MAX - 1];	/* the others */
	char log[64][512];
	int n_log;
};

static struct {
	struct side s[2];
	struct dgram q[NET_MAX];
	int n;
	uint64_t now;
	int sent[2];
	size_t max_len[2];	/* the longest datagram each sent */
	/* The network's choices: drop what matches; a NAT in front of A. */
	int drop_to[2];		/* drop the next N datagrams to that side */
	bool blackhole_b;	/* B gone: everything to it is lost */
	bool nat_a;
	struct ike_addr last_to_b;
	int64_t wall;		/* the engines' wall clock (certificates) */
	bool tamper_init;	/* change A's IKE_SA_INIT on the way */
	uint16_t frag_size;	/* the engines' fragment size; 0: 1280 */
	enum ike_frag_mode frag_mode[2];	/* each side's connection's */
	bool a_sends_ca;	/* A sends the CA's certificate after its own */
} net;

static const uint8_t ADDR_A[4] = { 192, 0, 2, 1 };
static const uint8_t ADDR_B[4] = { 192, 0, 2, 2 };
static const uint8_t PRIV_A[4] = { 10, 0, 0, 5 };	/* behind the NAT */
static const uint8_t NAT_PUB[4] = { 203, 0, 113, 1 };

static void
addr4(struct ike_addr *a, const uint8_t ip[4], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->addr, ip, 4);
	a->port = port;
}

static void
on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
    const uint8_t *buf, size_t len)
{
	struct side *sd = ctx;
	struct dgram *d;

	net.sent[sd->id]++;
	if (len > net.max_len[sd->id])
		net.max_len[sd->id] = len;
	assert_true(net.n < NET_MAX);
	assert_true(len <= sizeof(d->buf));
	d = &net.q[net.n++];
	d->to = sd->id == SIDE_A ? SIDE_B : SIDE_A;
	d->from = *local;
	d->dst = *remote;
	memcpy(d->buf, buf, len);
	d->len = len;
	/* A NAT in front of A: its private address and ports become the
	 * NAT's, 500 -> 40000 and 4500 -> 40001, and back. */
	if (net.nat_a && sd->id == SIDE_A) {
		addr4(&d->from, NAT_PUB, local->port == 500 ? 40000 : 40001);
	}
}

/* What sd's data plane holds in slot k. */
static struct installed *
slot(struct side *sd, uint8_t k)
{
	assert_true(k < IKE_CHILDREN_MAX);
	return k == 0 ? &sd->child : &sd->more[k - 1];
}

static int
on_install(void *ctx, const struct ike_child_sa *sa, int how)
{
	struct side *sd = ctx;
	struct installed *c = slot(sd, sa->child);

	c->sa = *sa;
	assert_true(sa->key_len <= sizeof(c->key_in));
	memcpy(c->key_in, sa->key_in, sa->key_len);
	memcpy(c->key_out, sa->key_out, sa->key_len);
	c->sa.key_in = c->sa.key_out = NULL;
	c->up = true;
	if (how == IKE_INSTALL_NEW) {
		c->n_install++;
		c->prev_in_spi = 0;
	} else {
		c->n_rekey++;
		c->prev_in_spi = c->in_spi;
		memcpy(c->prev_in_key, c->in_key, sizeof(c->in_key));
	}
	c->in_spi = sa->spi_in;
	memcpy(c->in_key, sa->key_in, sa->key_len);
	if (how == IKE_INSTALL_REKEY_IN) {
		c->held_out_spi = sa->spi_out;
		memcpy(c->held_key, sa->key_out, sa->key_len);
	} else {
		c->out_spi = sa->spi_out;
		memcpy(c->out_key, sa->key_out, sa->key_len);
	}
	return 0;
}

static void
on_switch_out(void *ctx, uint16_t if_idx, uint8_t k, const char *conn,
    uint32_t spi)
{
	struct side *sd = ctx;
	struct installed *c = slot(sd, k);

	assert_int_equal(spi, c->held_out_spi);
	c->out_spi = spi;
	memcpy(c->out_key, c->held_key, sizeof(c->out_key));
	c->held_out_spi = 0;
}

static void
on_retire_in(void *ctx, uint16_t if_idx, uint8_t k, const char *conn,
    uint32_t spi)
{
	struct installed *c = slot(ctx, k);

	assert_int_equal(spi, c->prev_in_spi);
	c->prev_in_spi = 0;
}

static void
on_uninstall(void *ctx, uint16_t if_idx, uint8_t k, const char *conn,
    uint32_t spi_in)
{
	struct installed *c = slot(ctx, k);

	assert_int_equal(if_idx, c->sa.if_idx);
	assert_true(strcmp(conn, "to-b") == 0 || strcmp(conn, "to-a") == 0);
	if (spi_in != 0 && spi_in == c->prev_in_spi) {
		/* A reauthenticated IKE SA's child: only its inbound SA. */
		c->prev_in_spi = 0;
		c->n_retired_by_uninstall++;
		return;
	}
	assert_int_equal(spi_in, c->sa.spi_in);
	c->up = false;
	c->in_spi = c->prev_in_spi = c->out_spi = 0;
	c->n_uninstall++;
}

/*
 * Make before break: whenever both ends have a child, what each sends
 * through is an SA the other decrypts, with the same key: no packet is
 * lost at any step of a rekey.
 */
static bool check_mbb;

static void
mbb_ok(void)
{
	for (int i = 0; i < 2 && check_mbb; i++)
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++) {
		const struct installed *tx = slot(&net.s[i], k);
		const struct installed *rx = slot(&net.s[!i], k);
		size_t n = tx->sa.key_len;

		if (!tx->up || !rx->up)
			continue;
		if (tx->out_spi == rx->in_spi)
			assert_memory_equal(tx->out_key, rx->in_key, n);
		else if (tx->out_spi == rx->prev_in_spi)
			assert_memory_equal(tx->out_key, rx->prev_in_key, n);
		else
			fail_msg("side %d child %u sends on %08x, side %d "
			    "takes %08x and %08x", i, k, tx->out_spi, !i,
			    rx->in_spi, rx->prev_in_spi);
	}
}

static void
on_log(void *ctx, bool warn, const char *line)
{
	struct side *sd = ctx;

	(void)warn;
	if (sd->n_log < 64)
		snprintf(sd->log[sd->n_log++], sizeof(sd->log[0]), "%s", line);
}

static int64_t
on_wall(void *ctx)
{
	(void)ctx;
	return net.wall;
}

static bool
logged(const struct side *sd, const char *what)
{
	for (int i = 0; i < sd->n_log; i++)
		if (strstr(sd->log[i], what) != NULL)
			return true;
	return false;
}

static void
prefix(struct ike_prefix *p, const char *a, uint8_t plen)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, p->addr), 1);
	p->plen = plen;
}

/* A's connection to B (or B's to A), start_action start on A. */
static void
conn(struct ike_conn_cfg *c, int side, const char *psk, const char *ike_prop,
    const char *esp_prop)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), side == SIDE_A ? "to-b" : "to-a");
	c->n_children = 1;
	snprintf(c->children[0].name, sizeof(c->children[0].name), "net");
	c->if_idx = side == SIDE_A ? 3 : 5;
	addr4(&c->local, side == SIDE_A ? (net.nat_a ? PRIV_A : ADDR_A) :
	    ADDR_B, 500);
	addr4(&c->remote, side == SIDE_A ? ADDR_B : ADDR_A, 500);
	if (side == SIDE_B && net.nat_a)
		addr4(&c->remote, NAT_PUB, 500);
	assert_int_equal(ike_props_add(&c->proposals, ike_prop, IKE_PROTO_IKE,
	    err, sizeof(err)), 0);
	assert_int_equal(ike_props_add(&c->children[0].esp_proposals,
	    esp_prop, IKE_PROTO_ESP, err, sizeof(err)), 0);
	c->psk_len = (uint16_t)strlen(psk);
	memcpy(c->psk, psk, c->psk_len);
	/* A offers wider selectors than B has: B narrows them. */
	c->children[0].n_local_ts = c->children[0].n_remote_ts = 1;
	if (side == SIDE_A) {
		prefix(&c->children[0].local_ts[0], "10.1.0.0", 24);
		prefix(&c->children[0].remote_ts[0], "10.2.0.0", 16);
		c->start_action = IKE_START_START;
	} else {
		prefix(&c->children[0].local_ts[0], "10.2.0.0", 24);
		prefix(&c->children[0].remote_ts[0], "10.1.0.0", 16);
	}
	c->dpd_action = IKE_DPD_CLEAR;
	c->fragmentation = net.frag_mode[side];
}

static void
engines(void)
{
	for (int i = 0; i < 2; i++) {
		struct ike_env env = {
			.ctx = &net.s[i], .send = on_send,
			.install = on_install, .uninstall = on_uninstall,
			.switch_out = on_switch_out, .retire_in = on_retire_in,
			.log = on_log, .wall_s = on_wall,
			.fragment_size = net.frag_size,
		};

		net.s[i].id = i;
		assert_int_equal(ike_create(&net.s[i].ike, &env), 0);
	}
}

static void
start(const char *psk_b, const char *ike_a, const char *ike_b)
{
	struct ike_conn_cfg ca, cb;

	engines();
	conn(&cb, SIDE_B, psk_b, ike_b, "aes128gcm16-aes256gcm16");
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", ike_a, "aes256gcm16");
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
}

/* A man in the middle changes SIGNATURE_HASH_ALGORITHMS of an
 * IKE_SA_INIT (SHA2-512 becomes Identity): harmless for the keys, but
 * the AUTH signature covers that message as its sender sent it. */
static void
tamper_sig_hashes(struct dgram *d)
{
	static const uint8_t pat[] = { 0x40, 0x2f, 0, 2, 0, 3, 0, 4 };

	for (size_t i = 0; i + sizeof(pat) <= d->len; i++)
		if (memcmp(d->buf + i, pat, sizeof(pat)) == 0) {
			d->buf[i + sizeof(pat) - 1] = 5;
			return;
		}
}

/* Delivers what is queued (and what that makes) until all is quiet. */
static void
run(void)
{
	for (int guard = 0; net.n > 0 && guard < 200; guard++) {
		struct dgram d = net.q[0];
		struct ike_addr local;

		memmove(&net.q[0], &net.q[1], sizeof(net.q[0]) *
		    (size_t)(net.n - 1));
		net.n--;
		if (net.drop_to[d.to] > 0) {
			net.drop_to[d.to]--;
			continue;
		}
		if (d.to == SIDE_B && net.blackhole_b)
			continue;
		if (d.to == SIDE_B && net.tamper_init)
			tamper_sig_hashes(&d);
		local = d.dst;
		if (d.to == SIDE_B)
			net.last_to_b = d.from;
		/* Through the NAT back to A: its private address, the port
		 * the mapping came from. */
		if (d.to == SIDE_A && net.nat_a)
			addr4(&local, PRIV_A, d.dst.port == 40000 ? 500 : 4500);
		ike_input(net.s[d.to].ike, &local, &d.from, d.buf, d.len,
		    net.now);
		mbb_ok();
	}
}

/* Time moves on by ms, ticking both engines every 100 ms. */
static void
advance(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 100) {
		net.now += 100;
		ike_tick(net.s[SIDE_A].ike, net.now);
		ike_tick(net.s[SIDE_B].ike, net.now);
		run();
	}
}

static void pki_make(void);

static int
setup(void **state)
{
	(void)state;
	memset(&net, 0, sizeof(net));
	net.now = 1000000;
	net.wall = 1700000000;
	check_mbb = false;
	pki_make();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ike_destroy(net.s[SIDE_A].ike, net.now);
	ike_destroy(net.s[SIDE_B].ike, net.now);
	return 0;
}

static void
assert_crossed(void)
{
	const struct installed *a = &net.s[SIDE_A].child;
	const struct installed *b = &net.s[SIDE_B].child;

	assert_true(a->up);
	assert_true(b->up);
	assert_int_equal(a->sa.spi_out, b->sa.spi_in);
	assert_int_equal(a->sa.spi_in, b->sa.spi_out);
	assert_int_equal(a->sa.key_len, b->sa.key_len);
	assert_int_equal(a->sa.alg, b->sa.alg);
	assert_memory_equal(a->key_out, b->key_in, a->sa.key_len);
	assert_memory_equal(a->key_in, b->key_out, a->sa.key_len);
	assert_memory_not_equal(a->key_in, a->key_out, a->sa.key_len);
}

static void
test_establish(void **state)
{
	const struct installed *a = &net.s[SIDE_A].child;
	const struct installed *b = &net.s[SIDE_B].child;
	struct ike_prefix want;
	struct ike_stats st;
	char json[4096];

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_crossed();
	/* AES-256-GCM (the only one A offered, B's second choice): the
	 * key and its 4-byte salt. */
	assert_int_equal(a->sa.alg, ESP_ALG_AES_GCM_16);
	assert_int_equal(a->sa.key_len, 36);
	/* No NAT: native ESP, port 500, no keepalives. */
	assert_false(a->sa.udp_encap);
	assert_false(b->sa.udp_encap);
	assert_int_equal(a->sa.remote.port, 500);
	assert_int_equal(a->sa.keepalive_s, 0);
	/* B narrowed A's 10.2.0.0/16 to its 10.2.0.0/24; both sides hold
	 * the same pair. */
	assert_int_equal(a->sa.n_remote_ts, 1);
	prefix(&want, "10.2.0.0", 24);
	assert_memory_equal(&a->sa.remote_ts[0], &want, sizeof(want));
	assert_memory_equal(&b->sa.local_ts[0], &want, sizeof(want));
	prefix(&want, "10.1.0.0", 24);
	assert_memory_equal(&a->sa.local_ts[0], &want, sizeof(want));
	assert_memory_equal(&b->sa.remote_ts[0], &want, sizeof(want));
	assert_int_equal(a->sa.if_idx, 3);
	assert_int_equal(b->sa.if_idx, 5);
	/* Four messages, two each. */
	assert_int_equal(net.sent[SIDE_A], 2);
	assert_int_equal(net.sent[SIDE_B], 2);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.established, 1);
	assert_int_equal(st.child_installed, 1);
	assert_true(logged(&net.s[SIDE_A], "IKE_SA to-b[1] established "
	    "between 192.0.2.1[500]...192.0.2.2[500]"));
	assert_true(logged(&net.s[SIDE_B], "CHILD_SA net{1} established"));
	assert_true(ike_format_json(net.s[SIDE_A].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	assert_non_null(strstr(json, "\"state\":\"ESTABLISHED\""));
	assert_non_null(strstr(json, "\"remote_ts\":[\"10.2.0.0/24\"]"));
	/* Quiet afterwards: nothing is retransmitted. */
	advance(5000);
	assert_int_equal(net.sent[SIDE_A], 2);
}

/* A second child "db" on c: 10.1.1.0/24 (A) with 10.3.0.0/16 (B); both
 * ends list it second unless b_first (B lists it first). */
static void
conn_add_db(struct ike_conn_cfg *c, int side, bool b_first)
{
	struct ike_child_cfg *db;
	char err[256];

	if (side == SIDE_B && b_first) {
		c->children[1] = c->children[0];
		db = &c->children[0];
	} else
		db = &c->children[1];
	memset(db, 0, sizeof(*db));
	c->n_children = 2;
	snprintf(db->name, sizeof(db->name), "db");
	assert_int_equal(ike_props_add(&db->esp_proposals,
	    "chacha20poly1305", IKE_PROTO_ESP, err, sizeof(err)), 0);
	db->n_local_ts = db->n_remote_ts = 1;
	prefix(&db->local_ts[0], side == SIDE_A ? "10.1.1.0" : "10.3.0.0",
	    side == SIDE_A ? 24 : 16);
	prefix(&db->remote_ts[0], side == SIDE_A ? "10.3.0.0" : "10.1.1.0",
	    side == SIDE_A ? 16 : 24);
}

/* Both ends with net and db; A's db rekeyed every db_rekey s and ended
 * at db_life s (0: never). */
static void
start_two(bool b_first, uint32_t db_rekey, uint32_t db_life)
{
	struct ike_conn_cfg ca, cb;

	engines();
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	conn_add_db(&cb, SIDE_B, b_first);
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	conn_add_db(&ca, SIDE_A, false);
	ca.children[1].rekey_time_s = db_rekey;
	ca.children[1].life_time_s = db_life;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
}

/* Two children of one IKE SA: the first with IKE_AUTH, the second with a
 * CREATE_CHILD_SA; each in its own slot with its own SPIs, keys,
 * algorithm and selectors; the second rekeyed alone. */
static void
test_two_children(void **state)
{
	const struct installed *a0 = &net.s[SIDE_A].child;
	const struct installed *a1 = &net.s[SIDE_A].more[0];
	const struct installed *b1 = &net.s[SIDE_B].more[0];
	struct ike_prefix want;
	uint32_t spi0, spi1;
	char json[8192];

	(void)state;
	start_two(false, 20, 0);
	check_mbb = true;
	run();
	advance(200);		/* the tick asks for the second */
	assert_crossed();
	assert_true(a1->up);
	assert_true(b1->up);
	assert_string_equal(a0->sa.name, "net");
	assert_string_equal(a1->sa.name, "db");
	assert_int_equal(a1->sa.child, 1);
	assert_int_equal(a1->sa.if_idx, a0->sa.if_idx);
	assert_int_equal(a1->sa.alg, ESP_ALG_CHACHA20_POLY1305);
	assert_int_equal(a1->sa.spi_out, b1->sa.spi_in);
	assert_memory_equal(a1->key_out, b1->key_in, a1->sa.key_len);
	assert_memory_equal(a1->key_in, b1->key_out, a1->sa.key_len);
	assert_memory_not_equal(a1->key_out, a0->key_out, 32);
	prefix(&want, "10.3.0.0", 16);
	assert_memory_equal(&a1->sa.remote_ts[0], &want, sizeof(want));
	prefix(&want, "10.1.1.0", 24);
	assert_memory_equal(&b1->sa.remote_ts[0], &want, sizeof(want));
	assert_true(logged(&net.s[SIDE_B], "CHILD_SA db{1} established"));
	assert_true(ike_format_json(net.s[SIDE_B].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	assert_non_null(strstr(json, "\"name\":\"net\""));
	assert_non_null(strstr(json, "\"name\":\"db\""));
	/* db's rekey_time (20 s): db rekeyed, net untouched. */
	spi0 = a0->out_spi;
	spi1 = a1->out_spi;
	advance(21000);
	assert_int_equal(a0->out_spi, spi0);
	assert_int_not_equal(a1->out_spi, spi1);
	assert_int_equal(a1->n_rekey, 1);
	assert_int_equal(a0->n_rekey, 0);
	assert_int_equal(a1->prev_in_spi, 0);	/* the old pair is gone */
	assert_int_equal(net.s[SIDE_B].more[0].prev_in_spi, 0);
	assert_int_equal(net.s[SIDE_B].more[0].held_out_spi, 0);
	/* A reload that changes nothing keeps both children, and their
	 * names come from the connections it gave (ASan: not the old). */
	{
		struct ike_conn_cfg ca;

		conn(&ca, SIDE_A, "the-shared-key",
		    "aes256gcm16-prfsha256-x25519", "aes256gcm16");
		conn_add_db(&ca, SIDE_A, false);
		ca.children[1].rekey_time_s = 20;
		assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1,
		    net.now), 0);
	}
	assert_true(a1->up);
	assert_true(ike_format_json(net.s[SIDE_A].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	assert_non_null(strstr(json, "\"name\":\"db\""));
	/* ipsec down: both children go, the IKE SA deleted. */
	assert_int_equal(ike_down(net.s[SIDE_A].ike, "to-b", net.now), 0);
	run();
	assert_false(a0->up);
	assert_false(a1->up);
	assert_false(b1->up);
}

/* The responder finds the child by its selectors, whatever the order of
 * its children: B lists db first, so db is its slot 0. */
static void
test_children_by_selectors(void **state)
{
	const struct installed *a1 = &net.s[SIDE_A].more[0];
	const struct installed *b0 = &net.s[SIDE_B].child;
	const struct installed *b1 = &net.s[SIDE_B].more[0];

	(void)state;
	start_two(true, 0, 0);
	run();
	advance(200);
	assert_true(a1->up);
	assert_string_equal(b0->sa.name, "db");
	assert_string_equal(b1->sa.name, "net");
	assert_int_equal(b0->sa.child, 0);
	assert_int_equal(a1->sa.spi_out, b0->sa.spi_in);
	assert_memory_equal(a1->key_out, b0->key_in, a1->sa.key_len);
	assert_int_equal(net.s[SIDE_A].child.sa.spi_out, b1->sa.spi_in);
}

/* A child whose selectors the peer has no child for is refused
 * (TS_UNACCEPTABLE) and not asked again; the IKE SA and the other child
 * stay up. */
static void
test_child_refused(void **state)
{
	struct ike_conn_cfg ca, cb;
	struct ike_stats st;

	(void)state;
	engines();
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	conn_add_db(&ca, SIDE_A, false);
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	run();
	advance(10000);
	assert_crossed();
	assert_false(net.s[SIDE_A].more[0].up);
	assert_false(net.s[SIDE_B].more[0].up);
	assert_true(logged(&net.s[SIDE_A], "establishing CHILD_SA db{1}: the "
	    "peer said TS_UNACCEPTABLE"));
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.established, 1);
	assert_int_equal(net.sent[SIDE_A], 3);	/* INIT, AUTH, one ask */
}

/* A child's life_time ends without a rekey: that child alone is
 * deleted at both ends and asked for again, fresh. */
static void
test_child_life_time(void **state)
{
	const struct installed *a0 = &net.s[SIDE_A].child;
	const struct installed *a1 = &net.s[SIDE_A].more[0];
	const struct installed *b1 = &net.s[SIDE_B].more[0];
	uint32_t spi0, spi1;

	(void)state;
	start_two(false, 0, 30);
	run();
	advance(200);
	assert_true(b1->up);
	spi0 = a0->out_spi;
	spi1 = a1->out_spi;
	advance(30500);
	assert_true(logged(&net.s[SIDE_A], "CHILD_SA db{1} reached its "
	    "life_time"));
	assert_int_equal(b1->n_uninstall, 1);
	assert_true(a1->up);
	assert_true(b1->up);
	assert_int_not_equal(a1->out_spi, spi1);
	assert_int_equal(a1->out_spi, b1->in_spi);
	assert_int_equal(a0->out_spi, spi0);
	assert_int_equal(a0->n_uninstall, 0);
}

/* A trap connection's IKE SA is up but the peer deleted one of its two
 * children (db's life_time at B, which began nothing): A leaves it
 * down until a packet for the tunnel, whose acquire asks for it again. */
static void
test_trap_missing_child(void **state)
{
	const struct installed *a1 = &net.s[SIDE_A].more[0];
	struct ike_conn_cfg ca, cb;

	(void)state;
	engines();
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	conn_add_db(&cb, SIDE_B, false);
	cb.children[1].life_time_s = 30;
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	conn_add_db(&ca, SIDE_A, false);
	ca.start_action = IKE_START_TRAP;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	assert_true(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	run();
	advance(200);
	assert_true(a1->up);
	advance(31000);
	assert_false(a1->up);		/* B deleted it */
	assert_true(net.s[SIDE_A].child.up);
	advance(10000);
	assert_false(a1->up);		/* and nobody asks */
	assert_true(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	assert_true(logged(&net.s[SIDE_A], "a child missing: asking for it"));
	advance(200);
	assert_true(a1->up);
	assert_int_equal(a1->out_spi, net.s[SIDE_B].more[0].in_spi);
	assert_int_equal(net.s[SIDE_A].child.n_install, 1);
}

static void
test_nat(void **state)
{
	const struct installed *a = &net.s[SIDE_A].child;
	const struct installed *b = &net.s[SIDE_B].child;

	(void)state;
	net.nat_a = true;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_crossed();
	/* A found itself behind a NAT: IKE_AUTH from 4500, ESP in UDP,
	 * keepalives from A (the end behind it) only. */
	assert_true(a->sa.udp_encap);
	assert_true(b->sa.udp_encap);
	assert_int_equal(a->sa.local.port, 4500);
	assert_int_equal(a->sa.remote.port, 4500);
	assert_int_equal(a->sa.keepalive_s, 20);
	assert_int_equal(b->sa.keepalive_s, 0);
	/* B sends to the NAT's port for A's 4500. */
	assert_int_equal(b->sa.remote.port, 40001);
	assert_memory_equal(b->sa.remote.addr, NAT_PUB, 4);
	assert_int_equal(net.last_to_b.port, 40001);
}

static void
test_wrong_psk(void **state)
{
	struct ike_stats sa, sb;

	(void)state;
	start("another-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_false(net.s[SIDE_A].child.up);
	assert_false(net.s[SIDE_B].child.up);
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sa.auth_failed, 1);
	assert_int_equal(sb.auth_failed, 1);
	assert_int_equal(sa.established + sb.established, 0);
	assert_true(logged(&net.s[SIDE_B], "authentication of "
	    "192.0.2.1[500] failed: wrong pre-shared key"));
	assert_true(logged(&net.s[SIDE_A], "the peer refused our "
	    "authentication"));
}

static void
test_retransmit(void **state)
{
	struct ike_stats st;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	/* IKE_SA_INIT through; A's IKE_AUTH lost once. */
	net.drop_to[SIDE_B] = 0;
	{
		struct dgram first = net.q[0];

		net.n = 0;
		ike_input(net.s[SIDE_B].ike, &first.dst, &first.from,
		    first.buf, first.len, net.now);
		/* B's answer to A, then A's IKE_AUTH: drop that one. */
		net.drop_to[SIDE_B] = 1;
		run();
	}
	assert_false(net.s[SIDE_A].child.up);
	advance(1100);			/* the first retransmission */
	assert_crossed();
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(net.s[SIDE_B].child.n_install, 1);
}

static void
test_duplicate_request(void **state)
{
	struct dgram auth;
	int before;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	/* Deliver IKE_SA_INIT, its answer; keep A's IKE_AUTH. */
	{
		struct dgram d = net.q[0];

		net.n = 0;
		ike_input(net.s[SIDE_B].ike, &d.dst, &d.from, d.buf, d.len,
		    net.now);
		d = net.q[0];
		net.n = 0;
		ike_input(net.s[SIDE_A].ike, &d.dst, &d.from, d.buf, d.len,
		    net.now);
	}
	assert_int_equal(net.n, 1);
	auth = net.q[0];
	run();
	assert_crossed();
	/* The same request again: the same answer, from the copy, and no
	 * second child. */
	before = net.sent[SIDE_B];
	ike_input(net.s[SIDE_B].ike, &auth.dst, &auth.from, auth.buf,
	    auth.len, net.now);
	assert_int_equal(net.sent[SIDE_B], before + 1);
	assert_int_equal(net.s[SIDE_B].child.n_install, 1);
	net.n = 0;
}

static void
test_delete(void **state)
{
	struct ike_stats st;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_crossed();
	assert_int_equal(ike_down(net.s[SIDE_A].ike, "to-b", net.now), 0);
	run();
	assert_false(net.s[SIDE_A].child.up);
	assert_false(net.s[SIDE_B].child.up);
	assert_int_equal(net.s[SIDE_B].child.n_uninstall, 1);
	assert_true(logged(&net.s[SIDE_B], "deleted by the peer"));
	/* Down stays down: nothing is started again. */
	advance(10000);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.established, 1);
	assert_int_equal(ike_down(net.s[SIDE_A].ike, "nope", net.now),
	    -ENOENT);
	/* And up brings it back. */
	assert_int_equal(ike_up(net.s[SIDE_A].ike, "to-b", net.now), 0);
	run();
	assert_crossed();
}

static void
test_dpd_restart(void **state)
{
	struct ike_conn_cfg ca;
	struct ike_stats st;
	int before;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_crossed();
	/* Now A checks liveness every 2 s and restarts on a dead peer (a
	 * changed connection: its SA is deleted and made again). */
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	ca.dpd_delay_s = 2;
	ca.dpd_action = IKE_DPD_RESTART;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	run();
	assert_crossed();
	/* A quiet peer that answers: DPD every 2 s, all answered. */
	advance(5000);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.dpd_dead, 0);
	assert_true(net.s[SIDE_A].child.up);
	/* B is gone: 2 s, then 1+2+4+8+16 s of retransmissions. */
	net.blackhole_b = true;
	before = net.s[SIDE_A].child.n_install;
	advance(40000);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.dpd_dead, 1);
	assert_false(net.s[SIDE_A].child.up);
	assert_true(logged(&net.s[SIDE_A], "dpd_action restart"));
	/* B is back: A's next attempt gets through. */
	net.blackhole_b = false;
	advance(40000);
	assert_int_equal(net.s[SIDE_A].child.n_install, before + 1);
	assert_true(net.s[SIDE_A].child.up);
}

static void
test_no_proposal(void **state)
{
	struct ike_stats sa, sb;

	(void)state;
	start("the-shared-key", "aes128-sha256-modp3072",
	    "aes256gcm16-prfsha256-x25519");
	run();
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sb.no_proposal, 1);
	assert_int_equal(sa.no_proposal, 1);
	assert_false(net.s[SIDE_A].child.up);
	assert_true(logged(&net.s[SIDE_B], "unacceptable"));
}

static void
test_invalid_ke(void **state)
{
	(void)state;
	/* A guesses ECP-256; B takes only X25519: INVALID_KE_PAYLOAD, and
	 * A starts again with X25519. */
	start("the-shared-key", "aes256gcm16-prfsha256-ecp256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	run();
	assert_crossed();
	assert_true(logged(&net.s[SIDE_A], "peer prefers DH group 31"));
}

/* A's child rekeyed by A (rekey_time), with or without PFS: new SPIs
 * and keys crossed at both ends, the old pair gone at both, and at
 * no step a side sending where the other cannot decrypt. */
static void
rekey(const char *esp_a, const char *esp_b)
{
	struct installed *a = &net.s[SIDE_A].child;
	struct installed *b = &net.s[SIDE_B].child;
	struct ike_conn_cfg ca, cb;
	uint32_t old_in, old_out;
	uint8_t old_key[64];
	struct ike_stats st;

	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    esp_b);
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    esp_a);
	ca.children[0].rekey_time_s = 10;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	check_mbb = true;
	run();
	assert_crossed();
	old_in = a->in_spi;
	old_out = a->out_spi;
	memcpy(old_key, a->out_key, sizeof(old_key));
	advance(9000);
	assert_int_equal(a->n_rekey, 0);
	advance(2000);
	assert_int_equal(a->n_rekey, 1);
	assert_int_equal(b->n_rekey, 1);
	assert_int_equal(a->n_install, 1);
	assert_true(a->in_spi != old_in && a->out_spi != old_out);
	assert_memory_not_equal(a->out_key, old_key, a->sa.key_len);
	assert_crossed();
	assert_int_equal(a->out_spi, b->in_spi);
	assert_int_equal(b->out_spi, a->in_spi);
	/* The old pair is gone at both ends; nothing is held back. */
	assert_int_equal(a->prev_in_spi, 0);
	assert_int_equal(b->prev_in_spi, 0);
	assert_int_equal(b->held_out_spi, 0);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.child_rekeyed, 1);
	assert_true(logged(&net.s[SIDE_A], "rekeyed: SPIs"));
	assert_true(logged(&net.s[SIDE_B], "deleted after the rekey"));
	/* And again ten seconds on. */
	advance(11000);
	assert_int_equal(a->n_rekey, 2);
	assert_crossed();
}

static void
test_rekey_child(void **state)
{
	(void)state;
	rekey("aes256gcm16", "aes128gcm16-aes256gcm16");
}

static void
test_rekey_child_pfs(void **state)
{
	(void)state;
	rekey("aes256gcm16-x25519", "aes256gcm16-ecp256-x25519");
	assert_true(logged(&net.s[SIDE_A], "with PFS"));
}

/* The IKE SA rekeyed by A (rekey_time): a new IKE SA at both ends
 * with the child carried over untouched (no install, no uninstall),
 * the old IKE SA deleted at both, and the new one working: DPD, a
 * delete. */
static void
test_rekey_ike(void **state)
{
	struct installed *a = &net.s[SIDE_A].child;
	struct installed *b = &net.s[SIDE_B].child;
	struct ike_conn_cfg ca;
	struct ike_stats st;
	char json[8192];
	uint32_t in = 0;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	ca.rekey_time_s = 10;
	ca.dpd_delay_s = 3;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	check_mbb = true;
	run();
	assert_crossed();
	in = a->in_spi;
	advance(11000);
	assert_true(logged(&net.s[SIDE_A], "rekeyed: IKE_SA to-b[3]"));
	assert_true(logged(&net.s[SIDE_B], "deleted after its rekey"));
	/* The child did not move in the data plane. */
	assert_int_equal(a->n_install, 1);
	assert_int_equal(a->n_uninstall, 0);
	assert_int_equal(b->n_uninstall, 0);
	assert_int_equal(a->in_spi, in);
	assert_crossed();
	/* One IKE SA a side, the new one, carrying the child. */
	assert_true(ike_format_json(net.s[SIDE_B].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	{
		int n = 0;

		/* (B also has a half-open SA from A's first IKE_SA_INIT,
		 * which the connection change above left unanswered.) */
		for (const char *p = json; (p = strstr(p,
		    "\"state\":\"ESTABLISHED\"")) != NULL; p++)
			n++;
		if (n != 1 || strstr(json, "DELETING") != NULL)
			fail_msg("%d IKE SAs established: %s", n, json);
	}
	assert_non_null(strstr(json, "\"INSTALLED\""));
	/* The new SA talks: DPD every 3 s answered, and a rekey again. */
	advance(12000);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.dpd_dead, 0);
	assert_int_equal(st.failed, 0);
	assert_true(logged(&net.s[SIDE_A], "rekeyed: IKE_SA to-b[4]"));
	assert_int_equal(a->n_uninstall, 0);
	/* And a delete on it takes the child down at both ends. */
	assert_int_equal(ike_down(net.s[SIDE_A].ike, "to-b", net.now), 0);
	run();
	assert_false(a->up);
	assert_false(b->up);
}

/* Over 30 half-open SAs a responder answers IKE_SA_INIT with a COOKIE
 * and keeps nothing; an initiator that sends it back gets in. */
static void
test_cookie(void **state)
{
	struct ike_conn_cfg cb;
	struct ike_stats st;
	struct dgram init;
	int half_open;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	/* B takes any peer; A's first IKE_SA_INIT is replayed to it from
	 * 40 other addresses: 30 make half-open SAs, 10 get COOKIEs. */
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	cb.remote.family = 0;
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	assert_int_equal(net.n, 1);
	init = net.q[0];
	net.n = 0;
	for (int i = 0; i < 40; i++) {
		struct ike_addr from = init.from;

		from.addr[2] = 99;
		from.addr[3] = (uint8_t)(10 + i);
		ike_input(net.s[SIDE_B].ike, &init.dst, &from, init.buf,
		    init.len, net.now);
	}
	ike_get_stats(net.s[SIDE_B].ike, &st);
	half_open = (int)st.half_open;
	assert_int_equal(half_open, 30);
	assert_int_equal(st.cookies_sent, 10);
	/* Those answers went to the 40 addresses, not to A. */
	net.n = 0;
	/* A starts over (up): a COOKIE, then its IKE_SA_INIT again with
	 * the COOKIE first, then the rest. */
	assert_int_equal(ike_down(net.s[SIDE_A].ike, "to-b", net.now), 0);
	assert_int_equal(ike_up(net.s[SIDE_A].ike, "to-b", net.now), 0);
	run();
	assert_crossed();
	ike_get_stats(net.s[SIDE_B].ike, &st);
	assert_int_equal(st.cookies_sent, 11);
	/* The half-open ones time out. */
	advance(31000);
	ike_get_stats(net.s[SIDE_B].ike, &st);
	assert_int_equal(st.half_open, 0);
}

/* start_action trap: nothing until the data plane's acquire for the
 * connection's interface, then one IKE SA however often it asks; once
 * that SA is gone the trap is armed again.  none and start connections
 * ignore acquires. */
static void
test_trap(void **state)
{
	struct ike_conn_cfg ca, cb;
	char json[256];

	(void)state;
	engines();
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	ca.start_action = IKE_START_NONE;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	/* none: an acquire does nothing. */
	assert_false(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	advance(1000);
	assert_int_equal(net.sent[SIDE_A], 0);
	ike_format_traps_json(net.s[SIDE_A].ike, json, sizeof(json));
	assert_string_equal(json, "[]");

	/* trap: armed, quiet until the acquire for its interface. */
	ca.start_action = IKE_START_TRAP;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	advance(10000);
	assert_int_equal(net.sent[SIDE_A], 0);
	ike_format_traps_json(net.s[SIDE_A].ike, json, sizeof(json));
	assert_string_equal(json, "[\"to-b\"]");
	assert_false(ike_acquire(net.s[SIDE_A].ike, 4, net.now));
	assert_int_equal(net.n, 0);
	assert_true(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	assert_int_equal(net.n, 1);
	assert_true(logged(&net.s[SIDE_A], "acquire for to-b{net}"));
	/* Asked again while it is being made, and once up: nothing more. */
	assert_false(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	assert_int_equal(net.n, 1);
	run();
	assert_crossed();
	assert_int_equal(net.sent[SIDE_A], 2);
	advance(6000);
	assert_false(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	assert_int_equal(net.sent[SIDE_A], 2);
	ike_format_traps_json(net.s[SIDE_A].ike, json, sizeof(json));
	assert_string_equal(json, "[]");

	/* The peer deletes it: A does not start it again by itself... */
	assert_int_equal(ike_down(net.s[SIDE_B].ike, "to-a", net.now), 0);
	run();
	assert_false(net.s[SIDE_A].child.up);
	advance(10000);
	assert_false(net.s[SIDE_A].child.up);
	ike_format_traps_json(net.s[SIDE_A].ike, json, sizeof(json));
	assert_string_equal(json, "[\"to-b\"]");
	/* ... but the next packet does. */
	assert_true(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
	run();
	assert_crossed();

	/* start: up by itself, and an acquire adds nothing. */
	ca.start_action = IKE_START_START;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	run();
	assert_crossed();
	advance(6000);
	assert_false(ike_acquire(net.s[SIDE_A].ike, 3, net.now));
}

/* Reauthentication by A (reauth_time): a new IKE SA from scratch, its
 * child in make before break, the old IKE SA deleted at both ends and
 * its inbound SAs retired; no side ever sends where the other cannot
 * decrypt once the new child is in at both. */
static void
test_reauth(void **state)
{
	struct installed *a = &net.s[SIDE_A].child;
	struct installed *b = &net.s[SIDE_B].child;
	struct ike_conn_cfg ca;
	struct ike_stats st;
	uint32_t old_in;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	conn(&ca, SIDE_A, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	ca.reauth_time_s = 10;
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, &ca, 1, net.now), 0);
	run();
	assert_crossed();
	old_in = a->in_spi;
	advance(11000);
	assert_true(logged(&net.s[SIDE_A], "reauthenticating IKE_SA to-b"));
	assert_true(logged(&net.s[SIDE_A], "reauthenticated as"));
	assert_true(logged(&net.s[SIDE_B], "deleted by the peer") ||
	    logged(&net.s[SIDE_B], "IKE_SA to-a"));
	assert_crossed();
	assert_true(a->in_spi != old_in);
	/* Both retired the old inbound SA when the old IKE SA went. */
	assert_int_equal(a->prev_in_spi, 0);
	assert_int_equal(b->prev_in_spi, 0);
	assert_int_equal(a->n_retired_by_uninstall, 1);
	assert_int_equal(b->n_retired_by_uninstall, 1);
	ike_get_stats(net.s[SIDE_A].ike, &st);
	assert_int_equal(st.established, 2);	/* the first, its successor */
	/* Not a peer's delete: A keeps its connection up afterwards. */
	advance(11000);
	assert_true(a->up && b->up);
	assert_crossed();
}

/* Both ends start the connection at once: one initiation gives way
 * (the lower nonce), the same at both ends, so each keeps the same one
 * IKE SA and its child, crossed. */
static void
test_crossing(void **state)
{
	struct ike_conn_cfg cb;
	struct ike_stats sa, sb;
	char json[8192];
	int n = 0;

	(void)state;
	start("the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16-prfsha256-x25519");
	conn(&cb, SIDE_B, "the-shared-key", "aes256gcm16-prfsha256-x25519",
	    "aes256gcm16");
	cb.start_action = IKE_START_START;
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, &cb, 1, net.now), 0);
	assert_int_equal(net.n, 2);		/* both IKE_SA_INITs out */
	check_mbb = true;
	run();
	assert_crossed();
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sa.established, 1);
	assert_int_equal(sb.established, 1);
	assert_true(logged(&net.s[SIDE_A], "the lower nonce gives way") &&
	    logged(&net.s[SIDE_B], "the lower nonce gives way"));
	assert_true(ike_format_json(net.s[SIDE_A].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	for (const char *p = json; (p = strstr(p, "\"uniqueid\"")) != NULL;
	    p++)
		n++;
	assert_int_equal(n, 1);
	/* And it stays that way: quiet, carrying, no retransmission. */
	advance(40000);
	assert_crossed();
}

/* Ten connections to one peer start four at a time (its half-open
 * bound would drop more), the rest as those are answered. */
static void
test_init_paced(void **state)
{
	struct ike_conn_cfg ca[10];
	struct ike_env env = {
		.ctx = &net.s[SIDE_A], .send = on_send, .install = on_install,
		.uninstall = on_uninstall, .switch_out = on_switch_out,
		.retire_in = on_retire_in, .log = on_log,
	};

	(void)state;
	net.s[SIDE_A].id = SIDE_A;
	assert_int_equal(ike_create(&net.s[SIDE_A].ike, &env), 0);
	net.s[SIDE_B].ike = NULL;
	for (int i = 0; i < 10; i++) {
		conn(&ca[i], SIDE_A, "k", "aes256gcm16-prfsha256-x25519",
		    "aes256gcm16");
		snprintf(ca[i].name, sizeof(ca[i].name), "to-b-%d", i);
	}
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, ca, 10, net.now), 0);
	assert_int_equal(net.sent[SIDE_A], 4);
	/* Unanswered: retransmissions, no new IKE SAs meanwhile. */
	net.blackhole_b = true;
	net.n = 0;
	for (int t = 0; t < 35; t++) {
		net.now += 100;
		ike_tick(net.s[SIDE_A].ike, net.now);
	}
	assert_int_equal(net.sent[SIDE_A], 4 + 2 * 4);	/* at 1 s and 3 s */
	net.n = 0;
}

/* ---- certificates ------------------------------------------------------ */

#define T0	((time_t)1700000000)
#define DAY	86400L

/* Made once (an RSA key takes a while), freed after the run. */
static struct {
	EVP_PKEY *ca_key, *ca2_key, *rsa_key, *ec_key;
	X509 *ca, *ca2;
} pki;

static void
pki_make(void)
{
	if (pki.ca != NULL)
		return;
	pki.ca_key = tc_key("P-256");
	pki.ca2_key = tc_key("P-256");
	pki.rsa_key = tc_key("RSA");
	pki.ec_key = tc_key("P-256");
	pki.ca = tc_cert(pki.ca_key, "CN=Test CA,O=Example", NULL, NULL, T0,
	    -365 * DAY, 3650 * DAY, NULL, true);
	pki.ca2 = tc_cert(pki.ca2_key, "CN=Rogue CA,O=Example", NULL, NULL,
	    T0, -365 * DAY, 3650 * DAY, NULL, true);
}

static void
pki_free(void)
{
	X509_free(pki.ca);
	X509_free(pki.ca2);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.ca2_key);
	EVP_PKEY_free(pki.rsa_key);
	EVP_PKEY_free(pki.ec_key);
}

/* c signs with x and key (x NULL: PSK) and trusts cacert for the peer
 * (NULL: PSK); local and remote ids as swanctl writes them ("": none). */
static void
cert_conn(struct ike_conn_cfg *c, X509 *x, EVP_PKEY *key, X509 *cacert,
    const char *local_id, const char *remote_id)
{
	size_t n = 0;

	if (x != NULL) {
		c->local_auth = IKE_AUTHBY_PUBKEY;
		tc_der(x, c->certs, &n);
		c->certs_len = (uint16_t)n;
		c->key_len = (uint16_t)tc_key_der(key, c->key);
	}
	if (cacert != NULL) {
		n = 0;
		c->remote_auth = IKE_AUTHBY_PUBKEY;
		tc_der(cacert, c->cacerts, &n);
		c->cacerts_len = (uint16_t)n;
	}
	assert_int_equal(ike_id_parse(local_id, &c->local_id), 0);
	assert_int_equal(ike_id_parse(remote_id, &c->remote_id), 0);
}

/*
 * A (initiator) with an RSA certificate "CN=gw-a, O=Example", issued
 * by issuer (valid from a_from to a_to days around T0), its id its
 * subject; B (responder) with an ECDSA one that holds gw-b.example.com.
 * Both trust the test CA; B expects b_remote_id, A gw-b.example.com.
 */
static void
start_certs(X509 *issuer, EVP_PKEY *issuer_key, long a_from, long a_to,
    const char *a_local_id, const char *b_remote_id)
{
	struct ike_conn_cfg *ca = calloc(1, sizeof(*ca));
	struct ike_conn_cfg *cb = calloc(1, sizeof(*cb));
	X509 *xa, *xb;

	pki_make();
	xa = tc_cert(pki.rsa_key, "CN=gw-a,O=Example", issuer, issuer_key,
	    T0, a_from * DAY, a_to * DAY, NULL, false);
	xb = tc_cert(pki.ec_key, "CN=gw-b,O=Example", pki.ca, pki.ca_key, T0,
	    -DAY, 30 * DAY, "DNS:gw-b.example.com", false);
	engines();
	conn(cb, SIDE_B, "", "aes256gcm16-prfsha256-x25519",
	    "aes128gcm16-aes256gcm16");
	cert_conn(cb, xb, pki.ec_key, pki.ca, "gw-b.example.com",
	    b_remote_id);
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, cb, 1, net.now), 0);
	conn(ca, SIDE_A, "", "aes256gcm16-prfsha256-x25519", "aes256gcm16");
	cert_conn(ca, xa, pki.rsa_key, pki.ca, a_local_id,
	    "gw-b.example.com");
	if (net.a_sends_ca) {
		size_t n = ca->certs_len;

		tc_der(pki.ca, ca->certs, &n);
		ca->certs_len = (uint16_t)n;
	}
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, ca, 1, net.now), 0);
	X509_free(xa);
	X509_free(xb);
	free(ca);
	free(cb);
}

static void
test_cert_establish(void **state)
{
	struct ike_stats st;
	char json[4096];

	(void)state;
	start_certs(pki.ca, pki.ca_key, -1, 30, "",
	    "CN=gw-a, O=Example");
	run();
	assert_crossed();
	ike_get_stats(net.s[SIDE_B].ike, &st);
	assert_int_equal(st.established, 1);
	assert_int_equal(st.auth_failed, 0);
	/* A's identity: its certificate's subject (none configured), which
	 * B's remote id names in swanctl's words; B's a SAN. */
	assert_true(logged(&net.s[SIDE_B], "(peer CN=gw-a, O=Example, "));
	assert_true(logged(&net.s[SIDE_A], "(peer gw-b.example.com, "));
	assert_true(ike_format_json(net.s[SIDE_B].ike, net.now, json,
	    sizeof(json)) < (int)sizeof(json));
	assert_non_null(strstr(json, "\"remote_id\":\"CN=gw-a, O=Example\""));
	/* Two messages each, as with a PSK.  hexgated's own datagrams are
	 * not cut into IP fragments: A's IKE_AUTH, an RSA-2048 certificate
	 * and signature, fits a 1500-byte MTU (IPv4 and UDP headers). */
	assert_int_equal(net.sent[SIDE_A], 2);
	assert_int_equal(net.sent[SIDE_B], 2);
	print_message("longest datagram: A (RSA) %zu, B (ECDSA) %zu bytes\n",
	    net.max_len[SIDE_A], net.max_len[SIDE_B]);
	assert_true(net.max_len[SIDE_A] <= 1500 - 20 - 8);
}

/* B refuses A (why in B's log), A hears AUTHENTICATION_FAILED. */
static void
refused(const char *why)
{
	struct ike_stats sa, sb;

	run();
	assert_false(net.s[SIDE_A].child.up);
	assert_false(net.s[SIDE_B].child.up);
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sb.auth_failed, 1);
	assert_int_equal(sa.auth_failed, 1);
	assert_int_equal(sa.established + sb.established, 0);
	if (!logged(&net.s[SIDE_B], why)) {
		for (int i = 0; i < net.s[SIDE_B].n_log; i++)
			print_message("B: %s\n", net.s[SIDE_B].log[i]);
		fail_msg("B did not log \"%s\"", why);
	}
	assert_true(logged(&net.s[SIDE_B], "authentication of "
	    "192.0.2.1[500] failed: "));
	assert_true(logged(&net.s[SIDE_A], "the peer refused our "
	    "authentication"));
}

static void
test_cert_expired(void **state)
{
	(void)state;
	/* A's certificate ended a day before B's clock. */
	start_certs(pki.ca, pki.ca_key, -30, -1, "",
	    "CN=gw-a, O=Example");
	refused("failed: certificate expired: \"CN=gw-a, O=Example\" not "
	    "after ");
}

static void
test_cert_not_yet_valid(void **state)
{
	(void)state;
	start_certs(pki.ca, pki.ca_key, 1, 30, "",
	    "CN=gw-a, O=Example");
	refused("failed: certificate not yet valid: \"CN=gw-a, O=Example\"");
}

static void
test_cert_untrusted(void **state)
{
	(void)state;
	/* Its subject is right, its issuer is not B's CA. */
	start_certs(pki.ca2, pki.ca2_key, -1, 30, "",
	    "CN=gw-a, O=Example");
	refused("failed: untrusted: not issued by a configured CA: "
	    "\"CN=gw-a, O=Example\", issuer \"CN=Rogue CA, O=Example\"");
}

static void
test_cert_wrong_identity(void **state)
{
	(void)state;
	/* B expects another peer. */
	start_certs(pki.ca, pki.ca_key, -1, 30, "",
	    "CN=gw-c, O=Example");
	refused("failed: identity mismatch: no connection for its identity");
}

static void
test_cert_identity_not_in_cert(void **state)
{
	(void)state;
	/* A claims an identity its certificate does not hold, one B
	 * would take. */
	start_certs(pki.ca, pki.ca_key, -1, 30,
	    "gw-a.example.com", "");
	refused("failed: identity mismatch: its identity gw-a.example.com is "
	    "not in its certificate \"CN=gw-a, O=Example\"");
}

static void
test_cert_bad_signature(void **state)
{
	(void)state;
	/* A's IKE_SA_INIT is changed on the way: A's AUTH signature,
	 * over the message as A sent it, does not verify at B. */
	net.tamper_init = true;
	start_certs(pki.ca, pki.ca_key, -1, 30, "",
	    "CN=gw-a, O=Example");
	refused("failed: bad signature (RSA PKCS#1 v1.5, RFC 7427 with "
	    "SHA256)");
}

static void
test_cert_psk_for_cert(void **state)
{
	struct ike_conn_cfg *ca = calloc(1, sizeof(*ca));
	struct ike_conn_cfg *cb = calloc(1, sizeof(*cb));

	(void)state;
	/* B wants a certificate, A authenticates with a PSK. */
	pki_make();
	engines();
	conn(cb, SIDE_B, "k", "aes256gcm16-prfsha256-x25519", "aes256gcm16");
	cert_conn(cb, NULL, NULL, pki.ca, "", "");
	assert_int_equal(ike_set_conns(net.s[SIDE_B].ike, cb, 1, net.now), 0);
	conn(ca, SIDE_A, "k", "aes256gcm16-prfsha256-x25519", "aes256gcm16");
	assert_int_equal(ike_set_conns(net.s[SIDE_A].ike, ca, 1, net.now), 0);
	free(ca);
	free(cb);
	refused("failed: a pre-shared key, a certificate expected");
}

/* ---- IKE fragmentation (RFC 7383) ------------------------------------ */

/* The IKE message of a datagram of the network: its first payload. */
static uint8_t
first_payload(const struct dgram *d)
{
	size_t m = d->dst.port == 4500 ? 4 : 0;

	assert_true(d->len >= m + 28);
	return d->buf[m + 16];
}

/* Whether the IKE message of d carries the notify of type t (one of
 * IKE_SA_INIT's, in clear). */
static bool
has_notify(const struct dgram *d, uint16_t t)
{
	static struct ike_msg m;
	struct ike_err err;

	assert_int_equal(ike_msg_parse(d->buf, d->len, &m, &err), 0);
	for (unsigned i = 0; i < m.n_payloads; i++)
		if (m.payloads[i].type == IKE_PL_NOTIFY &&
		    m.payloads[i].u.notify.type == t)
			return true;
	return false;
}

/*
 * Certificates (A's RSA IKE_AUTH with the CA's certificate too is about
 * 1450 bytes, B's ECDSA answer 616) and a fragment size of 576:
 * IKE_SA_INIT both ways, then A's IKE_AUTH waits in the network, its
 * datagrams returned in *n.
 */
static void
frag_start(int *n)
{
	struct dgram d;

	net.frag_size = 576;
	net.a_sends_ca = true;
	start_certs(pki.ca, pki.ca_key, -1, 30, "", "CN=gw-a, O=Example");
	assert_int_equal(net.n, 1);
	d = net.q[0];
	assert_true(has_notify(&d, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED) ==
	    (net.frag_mode[SIDE_A] != IKE_FRAG_NO));
	net.n = 0;
	ike_input(net.s[SIDE_B].ike, &d.dst, &d.from, d.buf, d.len, net.now);
	assert_int_equal(net.n, 1);
	d = net.q[0];
	assert_true(has_notify(&d, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED) ==
	    (net.frag_mode[SIDE_A] != IKE_FRAG_NO &&
	    net.frag_mode[SIDE_B] != IKE_FRAG_NO));
	net.n = 0;
	ike_input(net.s[SIDE_A].ike, &d.dst, &d.from, d.buf, d.len, net.now);
	*n = net.n;
}

/* Every datagram so far fits 576 bytes of IP, and the SAs are up. */
static void
frag_up(void)
{
	assert_crossed();
	assert_true(net.max_len[SIDE_A] <= 576 - 20 - 8);
	assert_true(net.max_len[SIDE_B] <= 576 - 20 - 8);
}

static void
test_frag_establish(void **state)
{
	struct ike_stats sa, sb;
	int n;

	(void)state;
	frag_start(&n);
	/* 1450 bytes of IKE_AUTH in 576-byte datagrams: three. */
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++)
		assert_int_equal(first_payload(&net.q[i]), IKE_PL_SKF);
	run();
	frag_up();
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sa.frags_sent, 3);
	assert_int_equal(sb.frags_received, 3);
	assert_int_equal(sb.frags_reassembled, 1);
	/* B's answer, in two. */
	assert_int_equal(sb.frags_sent, 2);
	assert_int_equal(sa.frags_reassembled, 1);
	assert_int_equal(net.sent[SIDE_A], 1 + 3);
	assert_int_equal(net.sent[SIDE_B], 1 + 2);
	assert_true(logged(&net.s[SIDE_A], "splitting IKE message ("));
	assert_true(logged(&net.s[SIDE_B], "received fragment #3 of 3, "
	    "reassembled fragmented IKE message ("));
	assert_int_equal(sa.rx_invalid + sb.rx_invalid, 0);
}

/* Fragments come in any order, some twice: the message is put together
 * once, the duplicates dropped before their ICV is even checked. */
static void
test_frag_reorder(void **state)
{
	struct dgram f[3];
	struct ike_stats sb;
	int n;

	(void)state;
	frag_start(&n);
	assert_int_equal(n, 3);
	memcpy(f, net.q, sizeof(f));
	net.n = 0;
	net.q[net.n++] = f[2];
	net.q[net.n++] = f[2];
	net.q[net.n++] = f[0];
	net.q[net.n++] = f[2];
	net.q[net.n++] = f[1];
	net.q[net.n++] = f[0];
	run();
	frag_up();
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sb.frags_received, 3);
	assert_int_equal(sb.frags_reassembled, 1);
	/* The two copies of fragment 3 that came before the message was
	 * whole; fragment 1 again after it is a retransmitted request,
	 * which gets B's answer again. */
	assert_int_equal(sb.rx_invalid, 2);
	assert_int_equal(sb.frags_sent, 2 + 2);
	assert_int_equal(net.s[SIDE_B].child.n_install, 1);
	assert_int_equal(net.s[SIDE_A].child.n_install, 1);
}

/*
 * One fragment lost: nothing happens until A retransmits, and then it
 * sends all three again.  B's answer lost too, later: A's request again
 * in fragments gets the answer B kept, all of it, once (for fragment 1),
 * and no second child.
 */
static void
test_frag_lost(void **state)
{
	struct dgram f[3];
	struct ike_stats sa;
	int n, before;

	(void)state;
	frag_start(&n);
	assert_int_equal(n, 3);
	memcpy(f, net.q, sizeof(f));
	memmove(&net.q[1], &net.q[2], sizeof(net.q[0]));
	net.n = 2;
	run();
	assert_false(net.s[SIDE_B].child.up);
	assert_int_equal(net.sent[SIDE_B], 1);	/* IKE_SA_INIT's answer */
	assert_true(logged(&net.s[SIDE_B], "received fragment #3 of 3, "
	    "waiting for complete IKE message"));
	advance(1100);
	frag_up();
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	assert_int_equal(sa.retransmits, 1);
	assert_int_equal(sa.frags_sent, 6);
	before = net.sent[SIDE_B];
	for (int i = 2; i >= 0; i--)
		ike_input(net.s[SIDE_B].ike, &f[i].dst, &f[i].from, f[i].buf,
		    f[i].len, net.now);
	assert_int_equal(net.sent[SIDE_B], before + 2);
	for (int i = 0; i < net.n; i++)
		assert_int_equal(first_payload(&net.q[i]), IKE_PL_SKF);
	run();
	assert_int_equal(net.s[SIDE_B].child.n_install, 1);
	assert_int_equal(net.s[SIDE_A].child.n_install, 1);
}

/* A fragment changed on the way does not verify and is not kept; the
 * retransmission brings the real one. */
static void
test_frag_tampered(void **state)
{
	struct ike_stats sb;
	int n;

	(void)state;
	frag_start(&n);
	assert_int_equal(n, 3);
	net.q[1].buf[net.q[1].len - 40] ^= 1;
	run();
	assert_false(net.s[SIDE_B].child.up);
	assert_true(logged(&net.s[SIDE_B], "fragment 2 of 3 of message ID "
	    "1 of IKE_SA to-a[1] does not decrypt: dropped"));
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sb.frags_received, 2);
	advance(1100);
	frag_up();
}

/* B does not announce fragmentation: A sends its IKE_AUTH whole, and
 * nothing either sends is a fragment. */
static void
test_frag_peer_without(void **state)
{
	struct ike_stats sa, sb;
	int n;

	(void)state;
	net.frag_mode[SIDE_B] = IKE_FRAG_NO;
	frag_start(&n);
	assert_int_equal(n, 1);
	assert_int_equal(first_payload(&net.q[0]), IKE_PL_SK);
	run();
	assert_crossed();
	assert_true(net.max_len[SIDE_A] > 1000);
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sa.frags_sent + sb.frags_sent, 0);
	assert_int_equal(net.sent[SIDE_A] + net.sent[SIDE_B], 4);
}

/* A accepts fragments but sends whole messages; B (yes) fragments its
 * answer to A. */
static void
test_frag_accept(void **state)
{
	struct ike_stats sa, sb;
	int n;

	(void)state;
	net.frag_mode[SIDE_A] = IKE_FRAG_ACCEPT;
	frag_start(&n);
	assert_int_equal(n, 1);
	assert_int_equal(first_payload(&net.q[0]), IKE_PL_SK);
	run();
	assert_crossed();
	ike_get_stats(net.s[SIDE_A].ike, &sa);
	ike_get_stats(net.s[SIDE_B].ike, &sb);
	assert_int_equal(sa.frags_sent, 0);
	assert_int_equal(sb.frags_sent, 2);
	assert_int_equal(sa.frags_reassembled, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_establish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_psk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retransmit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpd_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_proposal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_ke, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_child, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_child_pfs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_ike, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_paced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crossing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_establish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_expired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_not_yet_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_untrusted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_wrong_identity,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_identity_not_in_cert,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_bad_signature, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_children, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_children_by_selectors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_child_life_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_trap_missing_child, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_establish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_reorder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_tampered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_peer_without, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_frag_accept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_psk_for_cert, setup,
		    teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	pki_free();
	return rc;
}
