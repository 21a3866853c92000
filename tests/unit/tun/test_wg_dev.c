/*
 * tests/unit/tun/test_wg_dev.c: the WireGuard device engine
 * (src/tun/wg_dev.c).
 *
 * Two engines, A and B, each with the other as its peer in slot 0, are
 * wired back to back: what one sends goes into an outbox, and the test
 * delivers it to the other (or loses it).  Handshake messages go to
 * wg_dev_input(); keepalives and data go through the real data-plane
 * code (wg_data.c's wg_encap_burst and wg_decap_burst) with the keypairs
 * the receiving engine reports, and what that "data plane" saw becomes
 * the receiver's struct wg_peer_obs for the next tick.  The clock is set
 * by hand and advanced in 100 ms ticks, as the daemon calls the engine.
 * Nothing is mocked: the handshakes are wg_noise.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pkt/pkt.h"
#include "tun/wg_data.h"
#include "tun/wg_dev.h"

#define T0_MS	1000000ULL	/* the engines' clock when a test starts */
#define OUTBOX	64

struct msg {
	uint8_t b[WG_INITIATION_LEN];
	size_t len;
	uint64_t at_ms;
	struct wg_endpoint to;
};

struct side {
	struct net *net;
	struct wg_dev *dev;
	uint8_t priv[32], pub[32];
	struct wg_endpoint addr;	/* where its datagrams come from */
	struct msg out[OUTBOX];
	unsigned n_out;
	struct msg sent[OUTBOX];	/* everything it sent, the first */
	unsigned n_sent;
	struct wg_peer_obs obs;		/* its data plane's, of slot 0 */
	unsigned changed, retired;
};

struct net {
	uint64_t now_ms;
	struct side a, b;
	struct pkt_pool *pool;
	struct wg_worker *w;		/* the test's data plane */
	bool lose_a, lose_b;		/* drop what a (b) sends */
	bool b_under_load;
};

/* ---- the engines' environment ---- */

static void
env_send(void *ctx, const struct wg_endpoint *ep, const uint8_t *msg,
    size_t len)
{
	struct side *s = ctx;

	assert_true(ep->family == AF_INET);
	assert_true(len <= sizeof(s->out[0].b));
	assert_true(s->n_out < OUTBOX);
	memcpy(s->out[s->n_out].b, msg, len);
	s->out[s->n_out].len = len;
	s->out[s->n_out].at_ms = s->net->now_ms;
	s->out[s->n_out].to = *ep;
	if (s->n_sent < OUTBOX)
		s->sent[s->n_sent] = s->out[s->n_out];
	s->n_sent++;
	s->n_out++;
}

static void
env_changed(void *ctx, uint16_t peer)
{
	struct side *s = ctx;

	assert_int_equal(peer, 0);
	s->changed++;
}

/* No data plane holds it past the call here: freed at once (ASan sees
 * any later use). */
static void
env_retire(void *ctx, struct wg_keypair *kp)
{
	struct side *s = ctx;

	s->retired++;
	wg_keypair_free(kp);
}

static uint64_t
env_wall_ns(void *ctx)
{
	struct side *s = ctx;

	return 1700000000ULL * 1000000000ULL + s->net->now_ms * 1000000ULL;
}

static void
side_init(struct net *n, struct side *s, uint8_t seed, uint8_t last_octet)
{
	struct wg_dev_env env = {
		.ctx = s, .send = env_send, .changed = env_changed,
		.retire = env_retire, .wall_ns = env_wall_ns,
	};

	memset(s, 0, sizeof(*s));
	s->net = n;
	for (int i = 0; i < 32; i++)
		s->priv[i] = (uint8_t)(seed + i * 13);
	assert_int_equal(wg_pubkey(s->pub, s->priv), 0);
	assert_int_equal(wg_dev_create(&s->dev, &env, s->priv), 0);
	s->addr.family = AF_INET;
	s->addr.addr[0] = 192;
	s->addr.addr[1] = 0;
	s->addr.addr[2] = 2;
	s->addr.addr[3] = last_octet;
	s->addr.port = 51820;
}

/* The peer config of `of` as `s` holds it. */
static struct wg_dev_peer_cfg
cfg_of(const struct side *of, bool with_endpoint)
{
	struct wg_dev_peer_cfg pc = { .enabled = true };

	memcpy(pc.pub, of->pub, 32);
	if (with_endpoint)
		pc.endpoint = of->addr;
	return pc;
}

static int
setup(void **state)
{
	struct net *n = calloc(1, sizeof(*n));
	struct wg_dev_peer_cfg pc;

	assert_non_null(n);
	n->now_ms = T0_MS;
	side_init(n, &n->a, 1, 1);
	side_init(n, &n->b, 101, 2);
	assert_int_equal(pkt_pool_create(&n->pool, 64), 0);
	assert_int_equal(wg_worker_create(&n->w), 0);
	/* A knows where B is (a site peer); B learns A (a roaming client). */
	pc = cfg_of(&n->b, true);
	assert_int_equal(wg_dev_peer_set(n->a.dev, 0, &pc, n->now_ms), 0);
	pc = cfg_of(&n->a, false);
	assert_int_equal(wg_dev_peer_set(n->b.dev, 0, &pc, n->now_ms), 0);
	*state = n;
	return 0;
}

static int
teardown(void **state)
{
	struct net *n = *state;

	wg_dev_destroy(n->a.dev);
	wg_dev_destroy(n->b.dev);
	wg_worker_free(n->w);
	pkt_pool_destroy(n->pool);
	free(n);
	return 0;
}

/* ---- the wire and the data plane ---- */

static struct wg_keypair *
lookup_keys(void *ctx, uint32_t idx)
{
	struct side *s = ctx;
	struct wg_dev_keys k;
	struct wg_keypair *all[3];

	wg_dev_keys_of(s->dev, 0, &k);
	all[0] = k.cur;
	all[1] = k.prev;
	all[2] = k.next;
	for (int i = 0; i < 3; i++)
		if (all[i] != NULL && wg_keypair_local_index(all[i]) == idx)
			return all[i];
	return NULL;
}

/* A transport message into to's data plane: its result's name. */
static const char *
dp_receive(struct net *n, struct side *from, struct side *to,
    const uint8_t *m, size_t len)
{
	struct pkt *p = pkt_alloc(n->pool);
	uint8_t res;

	assert_non_null(p);
	assert_int_equal(pkt_set_frame(p, m, (uint16_t)len), 0);
	wg_decap_burst(n->w, lookup_keys, to, &p, 1, &res);
	if (res == WG_R_OK || res == WG_R_KEEPALIVE) {
		to->obs.last_rx_ms = n->now_ms;
		if (res == WG_R_OK)
			to->obs.last_rx_data_ms = n->now_ms;
		to->obs.rx_index = m[4] | m[5] << 8 | m[6] << 16 |
		    (uint32_t)m[7] << 24;
		to->obs.rx_from = from->addr;
	}
	pkt_free(n->pool, p);
	return wg_result_name(res);
}

/* One IPv4 packet from `from`'s data plane to `to`'s, on from's
 * current keypair; lost on the way when deliver is false.  The name of
 * the result at the sender ("no keypair" as want), else the receiver. */
static const char *
send_data(struct net *n, struct side *from, struct side *to, bool deliver)
{
	struct pkt *p = pkt_alloc(n->pool);
	struct wg_dev_keys k;
	struct wg_keypair_stats st;
	uint8_t res, m[128];
	size_t len;

	assert_non_null(p);
	wg_dev_keys_of(from->dev, 0, &k);
	if (k.cur == NULL) {
		from->obs.want_ms = n->now_ms;
		pkt_free(n->pool, p);
		return "want";
	}
	memset(p->data, 0, 40);
	p->data[0] = 0x45;
	p->data[3] = 40;
	p->len = 40;
	p->l3 = PKT_L3_IP4;
	p->l3_off = 0;
	p->l3_len = 40;
	wg_encap_burst(n->w, k.cur, &p, 1, 0, &res);
	assert_string_equal(wg_result_name(res), "ok");
	from->obs.last_tx_ms = from->obs.last_tx_data_ms = n->now_ms;
	wg_keypair_stats(k.cur, &st);
	from->obs.send_next = st.send_next;
	len = p->len;
	memcpy(m, p->data, len);
	pkt_free(n->pool, p);
	return deliver ? dp_receive(n, from, to, m, len) : "lost";
}

/* Everything in from's outbox to `to`, unless lost. */
static void
deliver(struct net *n, struct side *from, struct side *to, bool lose,
    bool under_load)
{
	unsigned count = from->n_out;
	struct msg box[OUTBOX];

	memcpy(box, from->out, sizeof(box[0]) * count);
	from->n_out = 0;
	if (lose)
		return;
	for (unsigned i = 0; i < count; i++) {
		if (box[i].b[0] == WG_MSG_TRANSPORT)
			(void)dp_receive(n, from, to, box[i].b, box[i].len);
		else
			wg_dev_input(to->dev, &from->addr, box[i].b,
			    box[i].len, under_load, n->now_ms);
	}
}

static void
pump(struct net *n)
{
	while (n->a.n_out != 0 || n->b.n_out != 0) {
		deliver(n, &n->a, &n->b, n->lose_a, n->b_under_load);
		deliver(n, &n->b, &n->a, n->lose_b, false);
	}
}

/* ms of 100 ms ticks, messages delivered after each. */
static void
run(struct net *n, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 100) {
		n->now_ms += 100;
		wg_dev_tick(n->a.dev, &n->a.obs, 1, n->now_ms);
		wg_dev_tick(n->b.dev, &n->b.obs, 1, n->now_ms);
		pump(n);
	}
}

static struct wg_dev_stats
stats(const struct side *s)
{
	struct wg_dev_stats st;

	wg_dev_stats(s->dev, &st);
	return st;
}

static struct wg_dev_keys
keys(const struct side *s)
{
	struct wg_dev_keys k;

	wg_dev_keys_of(s->dev, 0, &k);
	return k;
}

/* A handshakes with B and B's next is confirmed: both have a session. */
static void
handshake(struct net *n)
{
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	pump(n);
	run(n, 100);
	assert_non_null(keys(&n->a).cur);
	assert_non_null(keys(&n->b).cur);
}

/* ---- the cases ---- */

/* A handshake completes; the keypairs both derive interoperate through
 * the data plane both ways; B (responder) holds its keypair as next,
 * receive only, until A's first packet on it (the keepalive A sends at
 * completion) confirms it. */
static void
test_handshake_interop(void **state)
{
	struct net *n = *state;
	struct wg_dev_peer_status ps;
	struct wg_dev_keys ka, kb;
	struct wg_endpoint ep;

	assert_int_equal(wg_dev_initiate(n->b.dev, 0, n->now_ms),
	    -EDESTADDRREQ);
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms + 4999),
	    -EAGAIN);
	assert_int_equal(n->a.n_out, 1);
	assert_int_equal(n->a.out[0].b[0], WG_MSG_INITIATION);
	deliver(n, &n->a, &n->b, false, false);
	/* B answered and holds the keypair as next only. */
	assert_int_equal(n->b.n_out, 1);
	assert_int_equal(n->b.out[0].b[0], WG_MSG_RESPONSE);
	kb = keys(&n->b);
	assert_null(kb.cur);
	assert_non_null(kb.next);
	assert_true(n->b.changed >= 1);
	wg_dev_endpoint_of(n->b.dev, 0, &ep);
	assert_memory_equal(ep.addr, n->a.addr.addr, 4);
	assert_int_equal(ep.port, n->a.addr.port);

	deliver(n, &n->b, &n->a, false, false);
	ka = keys(&n->a);
	assert_non_null(ka.cur);
	assert_null(ka.next);
	/* A's keepalive, on the new keypair, reaches B's data plane. */
	assert_int_equal(n->a.n_out, 1);
	assert_int_equal(n->a.out[0].len, WG_DATA_MIN_LEN);
	assert_string_equal(dp_receive(n, &n->a, &n->b, n->a.out[0].b,
	    n->a.out[0].len), "keepalive");
	n->a.n_out = 0;
	assert_int_equal(n->b.obs.rx_index, wg_keypair_local_index(kb.next));
	run(n, 100);
	kb = keys(&n->b);
	assert_non_null(kb.cur);
	assert_null(kb.next);

	assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
	assert_int_equal(stats(&n->a).handshakes_completed, 1);
	assert_int_equal(stats(&n->b).handshakes_completed, 1);
	assert_int_equal(stats(&n->b).responses_sent, 1);
	wg_dev_peer_status(n->b.dev, 0, &ps);
	assert_true(ps.has_session);
	assert_int_equal(ps.last_handshake_wall_ns, env_wall_ns(&n->b));
}

/* A rekeys 120 s after its keypair was made, once it sends data; with
 * nothing sent it does not, and the keypairs are retired at 180 s. */
static void
test_rekey_after_time(void **state)
{
	struct net *n = *state;
	uint64_t born = n->now_ms;
	struct wg_keypair *first;

	handshake(n);
	first = keys(&n->a).cur;
	/* Data both ways every second (no keepalive or 15 s rule fires). */
	while (n->now_ms < born + WG_REKEY_AFTER_TIME_MS - 1000) {
		assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
		assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
		run(n, 1000);
	}
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	assert_ptr_equal(keys(&n->a).cur, first);
	run(n, 1500);
	assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
	run(n, 200);
	assert_int_equal(stats(&n->a).initiations_sent, 2);
	assert_int_equal(stats(&n->a).rekeys, 1);
	assert_true(keys(&n->a).cur != first);
	assert_ptr_equal(keys(&n->a).prev, first);
	assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
}

/* Sending with the counter at REKEY_AFTER_MESSAGES rekeys, whoever
 * made the keypair: here B, the responder. */
static void
test_rekey_after_messages(void **state)
{
	struct net *n = *state;
	struct wg_keypair *first;

	handshake(n);
	first = keys(&n->b).cur;
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
	run(n, 1000);
	assert_int_equal(stats(&n->b).initiations_sent, 0);
	wg_keypair_test_set_send(first, WG_REKEY_AFTER_MESSAGES);
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
	run(n, 200);
	assert_int_equal(stats(&n->b).initiations_sent, 1);
	assert_int_equal(stats(&n->b).rekeys, 1);
	assert_true(keys(&n->b).cur != first);
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
}

/* Receiving only, on a keypair we made: a handshake once it is
 * REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s) old, so
 * the peer, which sends on it, is not cut off at 180 s. */
static void
test_rekey_when_receiving_late(void **state)
{
	struct net *n = *state;
	uint64_t born = n->now_ms;

	handshake(n);
	while (n->now_ms < born + 164000) {
		assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
		run(n, 1000);
	}
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	while (n->now_ms < born + 166000) {
		assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
		run(n, 100);
	}
	assert_int_equal(stats(&n->a).initiations_sent, 2);
	assert_int_equal(stats(&n->a).rekeys, 1);
	assert_int_equal(stats(&n->a).handshakes_completed, 2);
}

static void
test_no_rekey_without_data(void **state)
{
	struct net *n = *state;
	uint64_t born = n->now_ms;
	unsigned changed_a;

	handshake(n);
	run(n, born + WG_REJECT_AFTER_TIME_MS - 100 - n->now_ms);
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	assert_non_null(keys(&n->a).cur);
	assert_non_null(keys(&n->b).cur);
	changed_a = n->a.changed;
	run(n, 200);
	/* 180 s: gone on both sides, and the data planes told. */
	assert_null(keys(&n->a).cur);
	assert_null(keys(&n->b).cur);
	assert_int_equal(stats(&n->a).keypairs_expired, 1);
	assert_int_equal(n->a.changed, changed_a + 1);
	assert_int_equal(n->a.retired, 1);
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	/* The next packet wants a keypair: a handshake. */
	assert_string_equal(send_data(n, &n->a, &n->b, true), "want");
	run(n, 200);
	assert_int_equal(stats(&n->a).initiations_sent, 2);
	assert_non_null(keys(&n->a).cur);
}

/* Unanswered, the initiation is sent again every REKEY_TIMEOUT plus
 * up to 333 ms of jitter, each with a new index, until
 * REKEY_ATTEMPT_TIME has passed; then nothing until a packet wants a
 * keypair. */
static void
test_retransmit_give_up(void **state)
{
	struct net *n = *state;
	struct wg_dev_peer_status ps;
	uint64_t start = n->now_ms;
	const struct msg *m = n->a.sent;
	unsigned k;

	n->lose_a = true;
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	run(n, 120000);
	k = n->a.n_sent;
	/* 0, ~5.2, ... < 90 s: 17 or 18 sent, the jitter decides. */
	assert_true(k >= 17 && k <= 18);
	for (unsigned i = 1; i < k; i++) {
		assert_int_equal(m[i].b[0], WG_MSG_INITIATION);
		assert_true(m[i].at_ms - m[i - 1].at_ms >= WG_REKEY_TIMEOUT_MS);
		assert_true(m[i].at_ms - m[i - 1].at_ms <=
		    WG_REKEY_TIMEOUT_MS + 333 + 100);
		assert_true(memcmp(m[i].b + 4, m[i - 1].b + 4, 4) != 0);
	}
	assert_true(m[k - 1].at_ms - start < WG_REKEY_ATTEMPT_TIME_MS);
	/* Jitter: not every interval is REKEY_TIMEOUT to the tick (all
	 * 16 or more draws of 0 ms out of 334: never). */
	assert_true(m[k - 1].at_ms - m[0].at_ms >
	    (k - 1) * (uint64_t)WG_REKEY_TIMEOUT_MS);
	wg_dev_peer_status(n->a.dev, 0, &ps);
	assert_false(ps.handshaking);
	assert_int_equal(ps.handshake_attempts, k);
	assert_int_equal(stats(&n->a).handshakes_given_up, 1);
	assert_int_equal(stats(&n->a).initiations_sent, k);
	assert_int_equal(stats(&n->b).responses_sent, 0);
	/* Data wants a keypair: a new try, which B now answers. */
	n->lose_a = false;
	assert_string_equal(send_data(n, &n->a, &n->b, true), "want");
	run(n, 200);
	assert_int_equal(stats(&n->a).initiations_sent, k + 1);
	assert_int_equal(stats(&n->a).handshakes_completed, 1);
}

/* Data received and nothing sent for KEEPALIVE_TIMEOUT: one keepalive,
 * which the peer's data plane takes as one. */
static void
test_keepalive_after_data(void **state)
{
	struct net *n = *state;
	uint64_t got;

	handshake(n);
	run(n, 1000);
	got = n->now_ms;
	assert_string_equal(send_data(n, &n->b, &n->a, true), "ok");
	n->lose_a = true;	/* look at what A sends */
	run(n, WG_KEEPALIVE_TIMEOUT_MS - 200);
	assert_int_equal(stats(&n->a).keepalives_sent, 1);	/* at setup */
	n->lose_a = false;
	run(n, 300);
	assert_int_equal(stats(&n->a).keepalives_sent, 2);
	assert_int_equal(n->b.obs.last_rx_ms - got, WG_KEEPALIVE_TIMEOUT_MS);
	assert_true(n->b.obs.last_rx_data_ms < n->b.obs.last_rx_ms);
	/* Once answered, no more. */
	run(n, 30000);
	assert_int_equal(stats(&n->a).keepalives_sent, 2);
	assert_int_equal(stats(&n->b).keepalives_sent, 0);
}

/* Persistent keepalive: a handshake right when the peer is set (it has
 * no session yet), then a keepalive whenever keepalive_s pass with
 * nothing sent. */
static void
test_persistent_keepalive(void **state)
{
	struct net *n = *state;
	struct wg_dev_peer_cfg pc = cfg_of(&n->b, true);
	uint64_t start;

	pc.keepalive_s = 25;
	assert_int_equal(wg_dev_peer_set(n->a.dev, 0, &pc, n->now_ms), 0);
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	pump(n);
	run(n, 100);
	start = n->now_ms;
	assert_non_null(keys(&n->b).cur);
	assert_int_equal(stats(&n->a).keepalives_sent, 1);	/* confirms */
	run(n, 24000);
	assert_int_equal(stats(&n->a).keepalives_sent, 1);
	run(n, 1000);
	assert_int_equal(stats(&n->a).keepalives_sent, 2);
	/* Data sent postpones it. */
	run(n, 20000);
	assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
	run(n, 20000);
	assert_int_equal(stats(&n->a).keepalives_sent, 2);
	run(n, 5100);
	assert_int_equal(stats(&n->a).keepalives_sent, 3);
	/* Keepalives, not handshakes. */
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	(void)start;
}

/* Data sent and nothing received for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT:
 * a new handshake. */
static void
test_new_handshake_after_silence(void **state)
{
	struct net *n = *state;
	uint64_t first;

	handshake(n);
	run(n, 1000);
	first = n->now_ms;
	/* A keeps sending into the void for 14.8 s. */
	while (n->now_ms < first + 14800) {
		assert_string_equal(send_data(n, &n->a, &n->b, false),
		    "lost");
		run(n, 100);
	}
	assert_int_equal(stats(&n->a).initiations_sent, 1);
	run(n, 300);
	assert_int_equal(stats(&n->a).initiations_sent, 2);
	assert_int_equal(stats(&n->a).handshakes_completed, 2);
}

/* Under load an initiation without MAC2 gets a cookie reply and no
 * work; A takes the cookie and its retransmission, with MAC2, gets the
 * response. */
static void
test_cookie_under_load(void **state)
{
	struct net *n = *state;
	static const uint8_t zero[16];

	n->b_under_load = true;
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	assert_memory_equal(n->a.out[0].b + WG_INITIATION_MAC1_OFF + 16, zero,
	    16);
	deliver(n, &n->a, &n->b, false, true);
	assert_int_equal(n->b.n_out, 1);
	assert_int_equal(n->b.out[0].b[0], WG_MSG_COOKIE_REPLY);
	assert_int_equal(stats(&n->b).cookie_replies_sent, 1);
	assert_int_equal(stats(&n->b).responses_sent, 0);
	deliver(n, &n->b, &n->a, false, false);
	assert_int_equal(stats(&n->a).cookie_replies_received, 1);
	assert_null(keys(&n->a).cur);
	/* The retransmission at ~5 s carries MAC2 and is answered. */
	run(n, 5500);
	assert_int_equal(n->a.n_sent, 3);	/* and the keepalive */
	assert_int_equal(n->a.sent[1].b[0], WG_MSG_INITIATION);
	assert_true(memcmp(n->a.sent[1].b + WG_INITIATION_MAC1_OFF + 16, zero,
	    16) != 0);
	assert_int_equal(stats(&n->b).responses_sent, 1);
	assert_int_equal(stats(&n->b).cookie_replies_sent, 1);
	assert_non_null(keys(&n->a).cur);
}

/* An initiation replayed is refused (its timestamp is not newer), and
 * initiations closer than 20 ms are rate limited. */
static void
test_replay_and_flood(void **state)
{
	struct net *n = *state;
	struct wg_static me;
	struct wg_peer pb;
	struct wg_handshake hs;
	struct wg_err err;
	uint8_t m[4][WG_INITIATION_LEN];
	uint64_t wall = env_wall_ns(&n->a);

	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	memcpy(m[0], n->a.out[0].b, WG_INITIATION_LEN);
	pump(n);
	assert_int_equal(stats(&n->b).responses_sent, 1);
	n->now_ms += 1000;
	wg_dev_input(n->b.dev, &n->a.addr, m[0], WG_INITIATION_LEN, false,
	    n->now_ms);
	assert_int_equal(stats(&n->b).drops[WG_E_REPLAY], 1);
	assert_int_equal(stats(&n->b).responses_sent, 1);
	assert_int_equal(n->b.n_out, 0);

	/* Three fresh initiations from A's key, timestamps 50 ms apart:
	 * the second 10 ms after the first is refused, the third, 20 ms
	 * after the first, taken. */
	assert_int_equal(wg_static_init(&me, n->a.priv), 0);
	assert_int_equal(wg_peer_init(&pb, n->b.pub, NULL), 0);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(wg_initiation_create(&hs, &me, &pb, 100 + i,
		    wall + (uint64_t)i * 50000000, n->now_ms / 1000, m[i],
		    &err), 0);
		wg_handshake_wipe(&hs);
	}
	wg_dev_input(n->b.dev, &n->a.addr, m[1], WG_INITIATION_LEN, false,
	    n->now_ms);
	wg_dev_input(n->b.dev, &n->a.addr, m[2], WG_INITIATION_LEN, false,
	    n->now_ms + 10);
	assert_int_equal(stats(&n->b).rate_limited, 1);
	assert_int_equal(stats(&n->b).responses_sent, 2);
	wg_dev_input(n->b.dev, &n->a.addr, m[3], WG_INITIATION_LEN, false,
	    n->now_ms + 20);
	assert_int_equal(stats(&n->b).rate_limited, 1);
	assert_int_equal(stats(&n->b).responses_sent, 3);
	memset(&me, 0, sizeof(me));
}

/* A disabled peer loses its keypairs at once (the data plane told) and
 * gets no answer; enabled again, it handshakes. */
static void
test_disabled_peer(void **state)
{
	struct net *n = *state;
	struct wg_dev_peer_cfg pc = cfg_of(&n->a, false);
	unsigned changed, sent;

	handshake(n);
	changed = n->b.changed;
	sent = n->b.n_sent;
	pc.enabled = false;
	assert_int_equal(wg_dev_peer_set(n->b.dev, 0, &pc, n->now_ms), 0);
	assert_null(keys(&n->b).cur);
	assert_null(keys(&n->b).prev);
	assert_null(keys(&n->b).next);
	assert_int_equal(n->b.changed, changed + 1);
	assert_int_equal(n->b.retired, 1);
	assert_int_equal(wg_dev_initiate(n->b.dev, 0, n->now_ms), -ENOENT);
	assert_string_equal(send_data(n, &n->a, &n->b, true), "unknown_index");
	run(n, 6000);
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	pump(n);
	assert_int_equal(stats(&n->b).peer_disabled, 1);
	run(n, 30000);
	assert_true(stats(&n->b).peer_disabled > 1);	/* A retries */
	assert_int_equal(stats(&n->b).responses_sent, 1);
	assert_int_equal(n->b.n_sent, sent);
	assert_null(keys(&n->b).cur);

	/* A's next retransmission is answered. */
	pc.enabled = true;
	assert_int_equal(wg_dev_peer_set(n->b.dev, 0, &pc, n->now_ms), 0);
	run(n, 6000);
	assert_int_equal(stats(&n->b).responses_sent, 2);
	assert_non_null(keys(&n->b).cur);
}

/* Roaming: authenticated data from a new address and port moves the
 * endpoint (the data plane told), so does a handshake; a reload with
 * the same configuration keeps the session and the roamed endpoint. */
static void
test_roaming(void **state)
{
	struct net *n = *state;
	struct wg_dev_peer_cfg pc = cfg_of(&n->a, false);
	struct wg_endpoint ep;
	struct wg_keypair *cur;
	unsigned changed;

	handshake(n);
	changed = n->b.changed;
	n->a.addr.addr[3] = 77;
	n->a.addr.port = 40000;
	assert_string_equal(send_data(n, &n->a, &n->b, true), "ok");
	run(n, 100);
	wg_dev_endpoint_of(n->b.dev, 0, &ep);
	assert_int_equal(ep.addr[3], 77);
	assert_int_equal(ep.port, 40000);
	assert_int_equal(n->b.changed, changed + 1);
	/* B's keepalive (10 s on) goes to A's new address. */
	run(n, 11000);
	assert_int_equal(stats(&n->b).keepalives_sent, 1);
	assert_int_equal(n->b.sent[n->b.n_sent - 1].to.addr[3], 77);
	assert_int_equal(n->b.sent[n->b.n_sent - 1].to.port, 40000);

	cur = keys(&n->b).cur;
	assert_int_equal(wg_dev_peer_set(n->b.dev, 0, &pc, n->now_ms), 0);
	assert_ptr_equal(keys(&n->b).cur, cur);
	wg_dev_endpoint_of(n->b.dev, 0, &ep);
	assert_int_equal(ep.addr[3], 77);

	n->a.addr.addr[3] = 88;
	assert_int_equal(wg_dev_initiate(n->a.dev, 0, n->now_ms), 0);
	pump(n);
	wg_dev_endpoint_of(n->b.dev, 0, &ep);
	assert_int_equal(ep.addr[3], 88);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_interop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_after_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_after_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_when_receiving_late,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rekey_without_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_give_up,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_after_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistent_keepalive,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_new_handshake_after_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_under_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replay_and_flood, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disabled_peer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_roaming, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
