/*
 * tests/fuzz/fuzz_ike_frag.c: libFuzzer target for IKE fragmentation
 * (src/ike/frag.c, RFC 7383) behind the ICV: what fuzz_ike_engine cannot
 * reach, as a fragment it makes up never verifies with keys it cannot
 * know.
 *
 * Two engines, A (initiator) and B (responder), talk in memory with
 * certificates (ECDSA, each sending the CA's certificate after its own)
 * and a fragment size of 576, so that each IKE_AUTH goes in fragments
 * both ways.  The input is a script of one byte per step, applied to
 * the network's queue: bits 0-1 the action on the datagram at position
 * (bits 2-5) of the queue: 0 deliver it, 1 drop it, 2 deliver it and
 * keep a copy at the end, 3 flip the bit of it that the next byte
 * names (in its second half, where ciphertext and ICV lie) and deliver
 * it; bits 6-7 move the clock on by that many seconds (retransmissions).
 * So fragments come in every order, repeated, lost and tampered with,
 * and both slots of reassembly, the answer kept for a repeated request
 * and the retransmission of a whole train are exercised with fragments
 * that verify.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/ike.h"
#include "../unit/ike/certgen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define Q_MAX	32

struct dgram {
	int to;
	struct ike_addr from, dst;
	size_t len;
	uint8_t buf[IKE_MSG_MAX];
};

static struct dgram q[Q_MAX];
static int n_q;
static int ids[2] = { 0, 1 };

static void
on_send(void *ctx, const struct ike_addr *l, const struct ike_addr *r,
    const uint8_t *buf, size_t len)
{
	struct dgram *d;

	if (n_q == Q_MAX || len > sizeof(q[0].buf))
		return;
	d = &q[n_q++];
	d->to = !*(int *)ctx;
	d->from = *l;
	d->dst = *r;
	d->len = len;
	memcpy(d->buf, buf, len);
}

static int
on_install(void *ctx, const struct ike_child_sa *sa, int how)
{
	(void)ctx;
	(void)sa;
	(void)how;
	return 0;
}

static void
on_child_sa(void *ctx, uint16_t if_idx, uint8_t child, const char *conn,
    uint32_t spi)
{
	(void)ctx;
	(void)if_idx;
	(void)child;
	(void)conn;
	(void)spi;
}

/* FUZZ_IKE_LOG=1: the engines' lines on stderr, to see what a seed
 * reaches. */
static void
on_log(void *ctx, bool warn, const char *line)
{
	static int show = -1;

	(void)warn;
	if (show < 0)
		show = getenv("FUZZ_IKE_LOG") != NULL;
	if (show)
		fprintf(stderr, "%c: %s\n", *(int *)ctx ? 'B' : 'A', line);
}

static int64_t
on_wall(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

/* The certificates, made once. */
static struct ike_conn_cfg conf[2];

static void
conn_make(struct ike_conn_cfg *c, int side, EVP_PKEY *key, X509 *x,
    X509 *ca)
{
	const char *me = side ? "192.0.2.2" : "192.0.2.1";
	const char *peer = side ? "192.0.2.1" : "192.0.2.2";
	char err[128];
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "fuzz");
	c->n_children = 1;
	snprintf(c->children[0].name, sizeof(c->children[0].name), "net");
	c->local.family = c->remote.family = AF_INET;
	inet_pton(AF_INET, me, c->local.addr);
	inet_pton(AF_INET, peer, c->remote.addr);
	c->local.port = c->remote.port = 500;
	(void)ike_props_add(&c->proposals, "aes256gcm16-prfsha256-x25519",
	    IKE_PROTO_IKE, err, sizeof(err));
	(void)ike_props_add(&c->children[0].esp_proposals, "aes256gcm16",
	    IKE_PROTO_ESP, err, sizeof(err));
	c->local_auth = c->remote_auth = IKE_AUTHBY_PUBKEY;
	tc_der(x, c->certs, &n);
	tc_der(ca, c->certs, &n);	/* big enough for two fragments */
	c->certs_len = (uint16_t)n;
	c->key_len = (uint16_t)tc_key_der(key, c->key);
	n = 0;
	tc_der(ca, c->cacerts, &n);
	c->cacerts_len = (uint16_t)n;
	c->children[0].n_local_ts = c->children[0].n_remote_ts = 1;
	c->children[0].local_ts[0].family = AF_INET;
	c->children[0].remote_ts[0].family = AF_INET;
	if (side == 0)
		c->start_action = IKE_START_START;
}

static void
pki_once(void)
{
	static bool done;
	const int64_t t0 = 1700000000, day = 86400;
	EVP_PKEY *ca_key, *ka, *kb;
	X509 *ca, *xa, *xb;

	if (done)
		return;
	done = true;
	ca_key = tc_key("P-256");
	ka = tc_key("P-256");
	kb = tc_key("P-256");
	ca = tc_cert(ca_key, "CN=Fuzz CA", NULL, NULL, t0, -day, 30 * day,
	    NULL, true);
	xa = tc_cert(ka, "CN=a", ca, ca_key, t0, -day, 30 * day, NULL,
	    false);
	xb = tc_cert(kb, "CN=b", ca, ca_key, t0, -day, 30 * day, NULL,
	    false);
	conn_make(&conf[0], 0, ka, xa, ca);
	conn_make(&conf[1], 1, kb, xb, ca);
	X509_free(ca);
	X509_free(xa);
	X509_free(xb);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike *e[2] = { NULL, NULL };
	uint64_t now = 1000000;
	int i;

	pki_once();
	n_q = 0;
	for (i = 0; i < 2; i++) {
		struct ike_env env = {
			.ctx = &ids[i], .send = on_send,
			.install = on_install, .uninstall = on_child_sa,
			.switch_out = on_child_sa, .retire_in = on_child_sa,
			.log = on_log, .wall_s = on_wall, .fragment_size = 576,
		};

		if (ike_create(&e[i], &env) != 0)
			goto out;
	}
	if (ike_set_conns(e[1], &conf[1], 1, now) != 0 ||
	    ike_set_conns(e[0], &conf[0], 1, now) != 0)
		goto out;
	for (size_t k = 0; k < size; k++) {
		uint8_t op = data[k], act = op & 3;
		int at = (op >> 2) & 15;
		struct dgram d;

		if (op >> 6) {
			now += (uint64_t)(op >> 6) * 1000;
			ike_tick(e[0], now);
			ike_tick(e[1], now);
		}
		if (n_q == 0)
			continue;
		at %= n_q;
		d = q[at];
		memmove(&q[at], &q[at + 1], sizeof(q[0]) *
		    (size_t)(n_q - at - 1));
		n_q--;
		if (act == 1)
			continue;
		if (act == 2 && n_q < Q_MAX)
			q[n_q++] = d;
		if (act == 3 && k + 1 < size && d.len > 1) {
			size_t bit = data[++k] % (d.len / 2 * 8);

			d.buf[d.len / 2 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		ike_input(e[d.to], &d.dst, &d.from, d.buf, d.len, now);
	}
out:
	ike_destroy(e[0], now);
	ike_destroy(e[1], now);
	return 0;
}
