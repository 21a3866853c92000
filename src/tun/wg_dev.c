/*
 * src/tun/wg_dev.c: the WireGuard device engine.  See wg_dev.h.
 *
 * One struct wg_dev holds our identity, WG_DEV_PEERS_MAX peer slots and
 * the table of our receiver indices (each peer's initiation in flight
 * and its keypairs), so a response or a cookie reply finds its peer.
 * The protocol's timers (the whitepaper §6; wireguard-go's timers.go
 * arms and stops one Go timer per event) are marks compared with the
 * clock at each tick: the data plane cannot call back per packet, so
 * what it saw arrives as the newest times in struct wg_peer_obs, and the
 * engine keeps what it saw at the last tick to tell a new event from an
 * old one.
 *
 * The handshake's cryptography is wg_noise.c's; the keypairs are
 * wg_data.c's, made here and handed to the data plane, which holds them
 * until env->retire says the engine is done with one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../lib/bytes.h"
#include "wg_data.h"
#include "wg_dev.h"

/* Every local index the engine holds: per peer one initiation and three
 * keypairs, at most; twice that, so probes stay short. */
#define IDX_TABLE_BITS	13
#define IDX_TABLE_SIZE	(1u << IDX_TABLE_BITS)
_Static_assert(IDX_TABLE_SIZE >= 2 * 4 * WG_DEV_PEERS_MAX, "index table");

/* A keypair as the engine keeps it: the data plane's object and what
 * the timers need. */
struct dev_kp {
	struct wg_keypair *kp;		/* NULL: none */
	uint64_t birth_ms;
	uint32_t local_index;
	bool initiator;			/* we sent the initiation */
	bool late_rekey_sent;		/* the handshake before
					   REJECT_AFTER_TIME was started */
};

struct dev_peer {
	bool used;
	bool dirty;			/* changed() owed */
	uint16_t slot;
	struct wg_dev_peer_cfg cfg;
	struct wg_peer np;		/* wg_noise's: keys, timestamp,
					   cookie; np.ctx is this */
	struct wg_handshake hs;		/* our initiation in flight */
	struct dev_kp cur, prev, next;
	struct wg_endpoint ep;

	/* Our own handshakes. */
	bool handshaking;		/* retransmitting until answered */
	uint32_t attempts;		/* initiations of this try */
	uint64_t try_start_ms;		/* first initiation of this try */
	uint64_t init_sent_ms;		/* last initiation sent */
	uint64_t retry_ms;		/* next retransmission */
	uint64_t zero_ms;		/* wipe everything then; 0: not armed */
	uint64_t consumed_ms;		/* last initiation taken from it */
	uint64_t last_hs_wall_ns;

	/* What the engine sent and received itself. */
	uint64_t our_tx_ms;		/* handshake messages, keepalives */
	uint64_t our_rx_ms;		/* handshake messages */

	/* Marks against the observations (struct wg_peer_obs). */
	uint64_t want_seen_ms;
	uint64_t tx_data_seen_ms, rx_data_seen_ms;
	struct wg_endpoint rx_from_seen;
	uint64_t unanswered_ms;		/* first data sent since anything
					   was received; 0: none */
	uint64_t unsent_ms;		/* first data received since anything
					   was sent; 0: none */
};

struct idx_ent {
	uint32_t index;
	uint16_t slot;
	bool used;
};

/* Why peer_lookup() refused a peer wg_noise asked for. */
enum refusal { REFUSED_NONE, REFUSED_DISABLED, REFUSED_RATE };

struct wg_dev {
	struct wg_dev_env env;
	struct wg_static me;
	struct wg_cookie_checker cc;
	struct wg_worker *w;		/* for keepalives */
	struct wg_dev_stats stats;
	/* peer_lookup()'s inputs and verdict, for one initiation. */
	uint64_t lookup_now_ms;
	enum refusal refused;
	struct idx_ent idx[IDX_TABLE_SIZE];
	struct dev_peer peers[WG_DEV_PEERS_MAX];
};

static void HG_PRINTF(4, 5)
dev_log(struct wg_dev *dev, const struct dev_peer *p, bool warn,
    const char *fmt, ...)
{
	char line[256], a[INET6_ADDRSTRLEN] = "?";
	va_list ap;
	int n;

	if (dev->env.log == NULL)
		return;
	if (p->ep.family != 0)
		inet_ntop(p->ep.family, p->ep.addr, a, sizeof(a));
	n = snprintf(line, sizeof(line), "wg: peer %u (%s port %u): ",
	    p->slot, a, p->ep.port);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	dev->env.log(dev->env.ctx, warn, line);
}

static uint32_t
rand32(void)
{
	uint32_t r = 0;

	/* The DRBG does not fail once seeded; zero is a usable value. */
	(void)RAND_bytes((uint8_t *)&r, sizeof(r));
	return r;
}

/* ---- the index table: open addressing, linear probing ---- */

static uint32_t
idx_home(uint32_t index)
{
	return (index * 0x9e3779b1u) >> (32 - IDX_TABLE_BITS);
}

static struct idx_ent *
idx_find(struct wg_dev *dev, uint32_t index)
{
	uint32_t i = idx_home(index);

	while (dev->idx[i].used) {
		if (dev->idx[i].index == index)
			return &dev->idx[i];
		i = (i + 1) & (IDX_TABLE_SIZE - 1);
	}
	return NULL;
}

/* Never full: the table has room for twice what the peers can hold. */
static void
idx_add(struct wg_dev *dev, uint32_t index, uint16_t slot)
{
	uint32_t i = idx_home(index);

	while (dev->idx[i].used)
		i = (i + 1) & (IDX_TABLE_SIZE - 1);
	dev->idx[i] = (struct idx_ent){ index, slot, true };
}

/* Deletion shifts back the entries after the hole that probed past it,
 * so lookups need no tombstones. */
static void
idx_del(struct wg_dev *dev, uint32_t index)
{
	struct idx_ent *e = idx_find(dev, index);
	uint32_t hole, i, home;

	if (e == NULL)
		return;
	hole = (uint32_t)(e - dev->idx);
	dev->idx[hole].used = false;
	for (i = (hole + 1) & (IDX_TABLE_SIZE - 1); dev->idx[i].used;
	    i = (i + 1) & (IDX_TABLE_SIZE - 1)) {
		home = idx_home(dev->idx[i].index);
		/* Stays if its home lies cyclically in (hole, i]. */
		if (((i - home) & (IDX_TABLE_SIZE - 1)) <
		    ((i - hole) & (IDX_TABLE_SIZE - 1)))
			continue;
		dev->idx[hole] = dev->idx[i];
		dev->idx[i].used = false;
		hole = i;
	}
}

/* A fresh local index for a handshake with ep, or -EAGAIN. */
static int
idx_new(struct wg_dev *dev, const struct wg_endpoint *ep, uint32_t *out)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t r = rand32();

		if (dev->env.pick_index != NULL)
			r = dev->env.pick_index(dev->env.ctx, ep, r);
		if (idx_find(dev, r) == NULL) {
			*out = r;
			return 0;
		}
	}
	return -EAGAIN;
}

/* ---- endpoints ---- */

static size_t
addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static bool
ep_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	    a->local_port == b->local_port &&
	    memcmp(a->addr, b->addr, addr_len(a->family)) == 0 &&
	    memcmp(a->local, b->local, addr_len(a->family)) == 0;
}

static void
ep_set(struct dev_peer *p, const struct wg_endpoint *ep)
{
	if (ep->family == 0 || ep_equal(&p->ep, ep))
		return;
	p->ep = *ep;
	p->dirty = true;
}

/*
 * Our source for the peer is forgotten when it stops answering (as
 * wireguard-go does): the address it once reached may be the trouble,
 * and the daemon then lets its routes choose.
 */
static void
ep_clear_local(struct dev_peer *p)
{
	static const uint8_t any[16];

	if (memcmp(p->ep.local, any, sizeof(any)) == 0 &&
	    p->ep.local_port == 0)
		return;
	memset(p->ep.local, 0, sizeof(p->ep.local));
	p->ep.local_port = 0;
	p->dirty = true;
}

/* What the cookie of a source is made from: its address and port. */
static size_t
ep_src_bytes(const struct wg_endpoint *ep, uint8_t out[18])
{
	size_t n = addr_len(ep->family);

	memcpy(out, ep->addr, n);
	out[n] = (uint8_t)(ep->port >> 8);
	out[n + 1] = (uint8_t)ep->port;
	return n + 2;
}

/* ---- keypairs ---- */

static void
kp_retire(struct wg_dev *dev, struct dev_peer *p, struct dev_kp *k)
{
	if (k->kp == NULL)
		return;
	idx_del(dev, k->local_index);
	dev->env.retire(dev->env.ctx, k->kp);
	memset(k, 0, sizeof(*k));
	p->dirty = true;
}

static void
kp_retire_all(struct wg_dev *dev, struct dev_peer *p)
{
	kp_retire(dev, p, &p->cur);
	kp_retire(dev, p, &p->prev);
	kp_retire(dev, p, &p->next);
}

static struct dev_kp
kp_of(struct wg_keypair *kp, const struct wg_session_keys *sk,
    uint64_t now_ms)
{
	return (struct dev_kp){ .kp = kp, .birth_ms = now_ms,
	    .local_index = sk->local_index, .initiator = sk->initiator };
}

/*
 * Our initiation was answered: the new keypair is sent on at once.  An
 * unconfirmed next (the peer's handshake, which it may be sending on)
 * stays receivable as prev, and the old cur goes, as wireguard-go's
 * BeginSymmetricSession does; otherwise cur becomes prev.
 */
static void
kp_install_initiator(struct wg_dev *dev, struct dev_peer *p,
    struct dev_kp k)
{
	kp_retire(dev, p, &p->prev);
	if (p->next.kp != NULL) {
		kp_retire(dev, p, &p->cur);
		p->prev = p->next;
		memset(&p->next, 0, sizeof(p->next));
	} else {
		p->prev = p->cur;
	}
	p->cur = k;
	p->dirty = true;
}

/* We answered: the keypair waits as next, receive only, until the
 * peer's first data on it shows the peer has it (the paper §5.4.6:
 * the responder must not send first). */
static void
kp_install_responder(struct wg_dev *dev, struct dev_peer *p,
    struct dev_kp k)
{
	kp_retire(dev, p, &p->next);
	p->next = k;
	p->dirty = true;
}

static void
kp_confirm(struct wg_dev *dev, struct dev_peer *p)
{
	kp_retire(dev, p, &p->prev);
	p->prev = p->cur;
	p->cur = p->next;
	memset(&p->next, 0, sizeof(p->next));
	p->dirty = true;
	p->last_hs_wall_ns = dev->env.wall_ns(dev->env.ctx);
	dev->stats.handshakes_completed++;
	dev_log(dev, p, false, "handshake completed (the peer initiated), "
	    "keypair %08x confirmed by its data", p->cur.local_index);
}

static void
kp_expire(struct wg_dev *dev, struct dev_peer *p, struct dev_kp *k,
    uint64_t now_ms)
{
	if (k->kp == NULL || now_ms - k->birth_ms < WG_REJECT_AFTER_TIME_MS)
		return;
	dev->stats.keypairs_expired++;
	kp_retire(dev, p, k);
}

/* ---- sending ---- */

static void
send_msg(struct wg_dev *dev, struct dev_peer *p, const uint8_t *msg,
    size_t len, uint64_t now_ms)
{
	dev->env.send(dev->env.ctx, &p->ep, msg, len);
	p->our_tx_ms = now_ms;
}

static void
flush_changed(struct wg_dev *dev, struct dev_peer *p)
{
	if (!p->dirty)
		return;
	p->dirty = false;
	dev->env.changed(dev->env.ctx, p->slot);
}

static void
send_keepalive(struct wg_dev *dev, struct dev_peer *p, uint64_t now_ms)
{
	uint8_t m[WG_DATA_MIN_LEN];

	if (p->cur.kp == NULL || p->ep.family == 0)
		return;
	/* Used up: the rekey on REKEY_AFTER_MESSAGES replaces it. */
	if (wg_keepalive_make(dev->w, p->cur.kp, m) < 0)
		return;
	send_msg(dev, p, m, sizeof(m), now_ms);
	dev->stats.keepalives_sent++;
}

/* The initiation in flight, if any, is forgotten. */
static void
hs_drop(struct wg_dev *dev, struct dev_peer *p)
{
	if (p->hs.state == WG_HS_INITIATION_SENT)
		idx_del(dev, p->hs.local_index);
	wg_handshake_wipe(&p->hs);
}

/*
 * Sends an initiation: a new try (retry false), refused within
 * REKEY_TIMEOUT of the last one, or the next initiation of the try in
 * progress.  Each has a new ephemeral key and index, as the paper asks
 * (§6.4), and the peer's cookie's MAC2 when one is held.
 */
static int
hs_start(struct wg_dev *dev, struct dev_peer *p, bool retry,
    uint64_t now_ms)
{
	uint8_t msg[WG_INITIATION_LEN];
	struct wg_err err;
	uint32_t idx;

	if (!p->cfg.enabled)
		return -ENOENT;
	if (p->ep.family == 0)
		return -EDESTADDRREQ;
	if (!retry && p->init_sent_ms != 0 &&
	    now_ms - p->init_sent_ms < WG_REKEY_TIMEOUT_MS)
		return -EAGAIN;
	hs_drop(dev, p);
	if (idx_new(dev, &p->ep, &idx) < 0) {
		dev_log(dev, p, true, "no free receiver index; initiation "
		    "not sent");
		return -EAGAIN;
	}
	if (wg_initiation_create(&p->hs, &dev->me, &p->np, idx,
	    dev->env.wall_ns(dev->env.ctx), now_ms / 1000, msg, &err) < 0) {
		dev_log(dev, p, true, "initiation not made: %s",
		    wg_err_str(err.code));
		return -EIO;
	}
	idx_add(dev, idx, p->slot);
	if (!retry) {
		p->try_start_ms = now_ms;
		p->attempts = 0;
	} else {
		dev->stats.retransmissions++;
	}
	p->attempts++;
	p->handshaking = true;
	p->init_sent_ms = now_ms;
	p->retry_ms = now_ms + WG_REKEY_TIMEOUT_MS +
	    rand32() % WG_REKEY_JITTER_MS;
	dev->stats.initiations_sent++;
	send_msg(dev, p, msg, sizeof(msg), now_ms);
	return 0;
}

/* Sessions and handshake gone: a peer disabled, cleared, or silent for
 * 3 * REJECT_AFTER_TIME. */
static void
peer_drop_session(struct wg_dev *dev, struct dev_peer *p)
{
	kp_retire_all(dev, p);
	hs_drop(dev, p);
	p->handshaking = false;
	p->attempts = 0;
	p->retry_ms = 0;
	p->zero_ms = 0;
	p->unanswered_ms = 0;
	p->unsent_ms = 0;
}

/* A new keypair exists: everything is wiped 3 * REJECT_AFTER_TIME from
 * now unless another comes (wireguard-go's zeroKeyMaterial timer). */
static void
session_derived(struct dev_peer *p, uint64_t now_ms)
{
	p->zero_ms = now_ms + 3 * (uint64_t)WG_REJECT_AFTER_TIME_MS;
}

/* ---- handshake input ---- */

static struct dev_peer *
peer_by_pub(struct wg_dev *dev, const uint8_t pub[WG_KEY_LEN])
{
	for (unsigned i = 0; i < WG_DEV_PEERS_MAX; i++)
		if (dev->peers[i].used && CRYPTO_memcmp(dev->peers[i].cfg.pub,
		    pub, WG_KEY_LEN) == 0)
			return &dev->peers[i];
	return NULL;
}

/*
 * wg_noise's lookup, called once the initiator's static key decrypted:
 * a disabled peer, or one whose last initiation was taken less than
 * WG_INITIATION_INTERVAL_MS ago, is refused here, before the second
 * Diffie-Hellman and without touching its timestamp.
 */
static struct wg_peer *
peer_lookup(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_dev *dev = arg;
	struct dev_peer *p = peer_by_pub(dev, pub);

	if (p == NULL)
		return NULL;
	if (!p->cfg.enabled) {
		dev->refused = REFUSED_DISABLED;
		return NULL;
	}
	if (p->consumed_ms != 0 &&
	    dev->lookup_now_ms - p->consumed_ms < WG_INITIATION_INTERVAL_MS) {
		dev->refused = REFUSED_RATE;
		return NULL;
	}
	return &p->np;
}

static void
drop(struct wg_dev *dev, enum wg_err_code code)
{
	dev->stats.drops[(unsigned)code < WG_E_COUNT ? code : WG_E_CRYPTO]++;
}

/*
 * Under load, only a message with a valid MAC2 (a cookie we gave its
 * source lately) costs us a Diffie-Hellman; one with a valid MAC1 alone
 * gets a cookie reply (the paper §5.4.7).
 */
static bool
cookie_gate(struct wg_dev *dev, const struct wg_endpoint *from,
    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t src[18], reply[WG_COOKIE_REPLY_LEN];
	size_t src_len = ep_src_bytes(from, src);
	struct wg_err err;

	switch (wg_cookie_check(&dev->cc, &dev->me, msg, len, src, src_len,
	    now_ms / 1000)) {
	case WG_MAC_VALID_COOKIE:
		return true;
	case WG_MAC_VALID_NO_COOKIE:
		if (wg_cookie_reply_create(&dev->cc, &dev->me, msg, len, src,
		    src_len, now_ms / 1000, reply, &err) < 0) {
			drop(dev, err.code);
			return false;
		}
		dev->env.send(dev->env.ctx, from, reply, sizeof(reply));
		dev->stats.cookie_replies_sent++;
		return false;
	case WG_MAC_INVALID:
	default:
		drop(dev, WG_E_MAC1);
		return false;
	}
}

static void
input_initiation(struct wg_dev *dev, const struct wg_endpoint *from,
    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t out[WG_RESPONSE_LEN];
	struct wg_handshake hs;
	struct wg_session_keys sk;
	struct wg_keypair *kp;
	struct dev_peer *p;
	struct wg_err err;
	uint32_t idx;

	/* Our own initiation to the same peer, if one is in flight, stays:
	 * its response still completes it. */
	dev->lookup_now_ms = now_ms;
	dev->refused = REFUSED_NONE;
	if (wg_initiation_consume(&hs, &dev->me, peer_lookup, dev, msg, len,
	    &err) < 0) {
		if (dev->refused == REFUSED_RATE)
			dev->stats.rate_limited++;
		else if (dev->refused == REFUSED_DISABLED)
			dev->stats.peer_disabled++;
		else
			drop(dev, err.code);
		return;
	}
	p = hs.peer->ctx;
	p->consumed_ms = now_ms;
	p->our_rx_ms = now_ms;
	ep_set(p, from);
	if (idx_new(dev, from, &idx) < 0) {
		wg_handshake_wipe(&hs);
		dev_log(dev, p, true, "no free receiver index; initiation "
		    "not answered");
		goto out;
	}
	if (wg_response_create(&hs, idx, now_ms / 1000, out, &sk, &err) < 0) {
		drop(dev, err.code);
		goto out;
	}
	if (wg_keypair_create(&kp, sk.send, sk.recv, sk.local_index,
	    sk.remote_index) < 0) {
		OPENSSL_cleanse(&sk, sizeof(sk));
		dev_log(dev, p, true, "no memory for a keypair; initiation "
		    "not answered");
		goto out;
	}
	idx_add(dev, sk.local_index, p->slot);
	kp_install_responder(dev, p, kp_of(kp, &sk, now_ms));
	OPENSSL_cleanse(&sk, sizeof(sk));
	session_derived(p, now_ms);
	/* The data plane holds next before the peer can send on it. */
	flush_changed(dev, p);
	send_msg(dev, p, out, sizeof(out), now_ms);
	dev->stats.responses_sent++;
out:
	flush_changed(dev, p);
}

static void
input_response(struct wg_dev *dev, const struct wg_endpoint *from,
    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct wg_session_keys sk;
	struct wg_keypair *kp;
	struct idx_ent *e;
	struct dev_peer *p;
	struct wg_err err;

	/* receiver: after type and sender */
	if ((e = idx_find(dev, hg_rd32le(msg + 8))) == NULL) {
		drop(dev, WG_E_INDEX);
		return;
	}
	p = &dev->peers[e->slot];
	if (wg_response_consume(&p->hs, &dev->me, msg, len, &sk, &err) < 0) {
		drop(dev, err.code);
		return;
	}
	/* The initiation's index is the keypair's now: it stays. */
	if (wg_keypair_create(&kp, sk.send, sk.recv, sk.local_index,
	    sk.remote_index) < 0) {
		OPENSSL_cleanse(&sk, sizeof(sk));
		idx_del(dev, sk.local_index);
		dev_log(dev, p, true, "no memory for a keypair; response "
		    "dropped");
		return;
	}
	kp_install_initiator(dev, p, kp_of(kp, &sk, now_ms));
	OPENSSL_cleanse(&sk, sizeof(sk));
	p->handshaking = false;
	p->retry_ms = 0;
	p->our_rx_ms = now_ms;
	p->last_hs_wall_ns = dev->env.wall_ns(dev->env.ctx);
	ep_set(p, from);
	session_derived(p, now_ms);
	dev->stats.handshakes_completed++;
	dev_log(dev, p, false, "handshake completed (we initiated, "
	    "%u initiations), keypair %08x", p->attempts, p->cur.local_index);
	p->attempts = 0;
	/* Published first; then a keepalive, so the peer confirms its next
	 * without waiting for our data. */
	flush_changed(dev, p);
	send_keepalive(dev, p, now_ms);
}

static void
input_cookie_reply(struct wg_dev *dev, const uint8_t *msg, size_t len,
    uint64_t now_ms)
{
	struct idx_ent *e;
	struct wg_err err;

	/* A reply to our initiation or to our response: either index. */
	if ((e = idx_find(dev, hg_rd32le(msg + 4))) == NULL) {
		drop(dev, WG_E_INDEX);
		return;
	}
	if (wg_cookie_reply_consume(&dev->peers[e->slot].np, msg, len,
	    now_ms / 1000, &err) < 0) {
		drop(dev, err.code);
		return;
	}
	/* Taken; the next retransmission carries MAC2. */
	dev->stats.cookie_replies_received++;
}

void
wg_dev_input(struct wg_dev *dev, const struct wg_endpoint *from,
    const uint8_t *msg, size_t len, bool under_load, uint64_t now_ms)
{
	struct wg_err err;
	int type = wg_msg_check(msg, len, &err);

	if (type < 0) {
		drop(dev, err.code);
		return;
	}
	if ((type == WG_MSG_INITIATION || type == WG_MSG_RESPONSE) &&
	    under_load && !cookie_gate(dev, from, msg, len, now_ms))
		return;
	switch (type) {
	case WG_MSG_INITIATION:
		input_initiation(dev, from, msg, len, now_ms);
		break;
	case WG_MSG_RESPONSE:
		input_response(dev, from, msg, len, now_ms);
		break;
	case WG_MSG_COOKIE_REPLY:
		input_cookie_reply(dev, msg, len, now_ms);
		break;
	default:
		/* Transport data is the data plane's. */
		drop(dev, WG_E_TYPE);
		break;
	}
}

/* ---- timers ---- */

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Keypairs: confirmation, expiry, and the wipe after long silence. */
static void
tick_keys(struct wg_dev *dev, struct dev_peer *p,
    const struct wg_peer_obs *o, uint64_t now_ms)
{
	if (p->next.kp != NULL && o->rx_index == p->next.local_index)
		kp_confirm(dev, p);
	kp_expire(dev, p, &p->cur, now_ms);
	kp_expire(dev, p, &p->prev, now_ms);
	kp_expire(dev, p, &p->next, now_ms);
	if (p->zero_ms != 0 && now_ms >= p->zero_ms) {
		dev_log(dev, p, false, "no new handshake in %u s: keys and "
		    "handshake state wiped", 3 * WG_REJECT_AFTER_TIME_MS / 1000);
		peer_drop_session(dev, p);
		p->np.cookie_valid = false;
		p->np.last_mac1_valid = false;
		OPENSSL_cleanse(p->np.cookie, sizeof(p->np.cookie));
	}
}

/* Our initiation unanswered: again every REKEY_TIMEOUT (plus jitter)
 * until REKEY_ATTEMPT_TIME has passed. */
static void
tick_retransmit(struct wg_dev *dev, struct dev_peer *p, uint64_t now_ms)
{
	if (!p->handshaking || now_ms < p->retry_ms)
		return;
	if (now_ms - p->try_start_ms >= WG_REKEY_ATTEMPT_TIME_MS) {
		/* The state stays until the wipe: a late response may
		 * still complete it. */
		p->handshaking = false;
		p->retry_ms = 0;
		if (p->zero_ms == 0)
			p->zero_ms = now_ms +
			    3 * (uint64_t)WG_REJECT_AFTER_TIME_MS;
		dev->stats.handshakes_given_up++;
		dev_log(dev, p, true, "handshake did not complete after "
		    "%u initiations in %u s; giving up until there is data "
		    "to send", p->attempts, WG_REKEY_ATTEMPT_TIME_MS / 1000);
		return;
	}
	ep_clear_local(p);
	(void)hs_start(dev, p, true, now_ms);	/* failures are logged */
}

/* The events that start a new try (the paper §6.2, §6.5). */
static void
tick_rekey(struct wg_dev *dev, struct dev_peer *p,
    const struct wg_peer_obs *o, bool new_tx_data, uint64_t rx_ms,
    uint64_t now_ms)
{
	struct dev_kp *cur = &p->cur;

	/* A packet found no keypair to go out on.  Not while the peer's
	 * own handshake waits for its first data on our next keypair:
	 * that comes within moments (wireguard-go sends a keepalive at
	 * once), and a second handshake would only cross it.  Nor once
	 * there is a keypair to send on: the want is older than it. */
	if (o->want_ms > p->want_seen_ms) {
		p->want_seen_ms = o->want_ms;
		if (!p->handshaking && cur->kp == NULL && (p->next.kp == NULL ||
		    now_ms - p->next.birth_ms >= WG_REKEY_TIMEOUT_MS))
			(void)hs_start(dev, p, false, now_ms);
	}
	/* Sending on a keypair we made that is old or nearly used up. */
	if (cur->kp != NULL && new_tx_data && !p->handshaking &&
	    ((cur->initiator && o->last_tx_data_ms >= cur->birth_ms +
	    WG_REKEY_AFTER_TIME_MS) ||
	    o->send_next >= WG_REKEY_AFTER_MESSAGES) &&
	    hs_start(dev, p, false, now_ms) == 0)
		dev->stats.rekeys++;
	/* Receiving on one we made, shortly before it is rejected: once,
	 * so the peer, which must not initiate on our keypair's account,
	 * is not cut off (the paper §6.2). */
	if (cur->kp != NULL && cur->initiator && !cur->late_rekey_sent &&
	    !p->handshaking && o->last_rx_data_ms >= cur->birth_ms +
	    WG_REJECT_AFTER_TIME_MS - WG_KEEPALIVE_TIMEOUT_MS -
	    WG_REKEY_TIMEOUT_MS) {
		cur->late_rekey_sent = true;
		if (hs_start(dev, p, false, now_ms) == 0)
			dev->stats.rekeys++;
	}
	/* Data sent and nothing heard for KEEPALIVE_TIMEOUT +
	 * REKEY_TIMEOUT since the first of it: the session is dead. */
	if (new_tx_data && p->unanswered_ms == 0 &&
	    o->last_tx_data_ms > rx_ms)
		p->unanswered_ms = o->last_tx_data_ms;
	if (p->unanswered_ms != 0 && rx_ms >= p->unanswered_ms)
		p->unanswered_ms = 0;
	if (p->unanswered_ms != 0 && now_ms - p->unanswered_ms >=
	    WG_KEEPALIVE_TIMEOUT_MS + WG_REKEY_TIMEOUT_MS) {
		p->unanswered_ms = 0;
		dev_log(dev, p, false, "nothing heard for %u s after sending; "
		    "new handshake", (WG_KEEPALIVE_TIMEOUT_MS +
		    WG_REKEY_TIMEOUT_MS) / 1000);
		ep_clear_local(p);
		if (!p->handshaking)
			(void)hs_start(dev, p, false, now_ms);
	}
}

/* Keepalives: an answer to data after KEEPALIVE_TIMEOUT of our
 * silence (the paper §6.5), and the persistent one. */
static void
tick_keepalive(struct wg_dev *dev, struct dev_peer *p,
    const struct wg_peer_obs *o, bool new_rx_data, uint64_t now_ms)
{
	uint64_t tx_ms = max64(o->last_tx_ms, p->our_tx_ms);

	if (new_rx_data && p->unsent_ms == 0 && o->last_rx_data_ms > tx_ms)
		p->unsent_ms = o->last_rx_data_ms;
	if (p->unsent_ms != 0 && tx_ms >= p->unsent_ms)
		p->unsent_ms = 0;
	if (p->unsent_ms != 0 &&
	    now_ms - p->unsent_ms >= WG_KEEPALIVE_TIMEOUT_MS) {
		p->unsent_ms = 0;
		send_keepalive(dev, p, now_ms);
	}
	tx_ms = max64(o->last_tx_ms, p->our_tx_ms);
	if (p->cfg.keepalive_s == 0 ||
	    now_ms - tx_ms < (uint64_t)p->cfg.keepalive_s * 1000)
		return;
	/* With no session, the keepalive waits for a handshake, as
	 * wireguard-go's staged keepalive does. */
	if (p->cur.kp != NULL)
		send_keepalive(dev, p, now_ms);
	else if (!p->handshaking)
		(void)hs_start(dev, p, false, now_ms);
}

static void
tick_peer(struct wg_dev *dev, struct dev_peer *p,
    const struct wg_peer_obs *o, uint64_t now_ms)
{
	bool new_tx_data = o->last_tx_data_ms > p->tx_data_seen_ms;
	bool new_rx_data = o->last_rx_data_ms > p->rx_data_seen_ms;
	uint64_t rx_ms = max64(o->last_rx_ms, p->our_rx_ms);

	p->tx_data_seen_ms = max64(p->tx_data_seen_ms, o->last_tx_data_ms);
	p->rx_data_seen_ms = max64(p->rx_data_seen_ms, o->last_rx_data_ms);
	tick_keys(dev, p, o, now_ms);
	/* Roaming: authenticated data from a new place.  Only a change
	 * from what the last tick saw moves the endpoint, so that an old
	 * observation does not undo a handshake's newer move. */
	if (o->rx_from.family != 0 && !ep_equal(&o->rx_from,
	    &p->rx_from_seen)) {
		p->rx_from_seen = o->rx_from;
		ep_set(p, &o->rx_from);
	}
	if (p->cfg.enabled) {
		tick_retransmit(dev, p, now_ms);
		tick_rekey(dev, p, o, new_tx_data, rx_ms, now_ms);
		tick_keepalive(dev, p, o, new_rx_data, now_ms);
	}
	flush_changed(dev, p);
}

void
wg_dev_tick(struct wg_dev *dev, const struct wg_peer_obs *obs,
    uint16_t n_obs, uint64_t now_ms)
{
	static const struct wg_peer_obs none;

	for (uint16_t i = 0; i < WG_DEV_PEERS_MAX; i++)
		if (dev->peers[i].used)
			tick_peer(dev, &dev->peers[i],
			    obs != NULL && i < n_obs ? &obs[i] : &none,
			    now_ms);
}

int
wg_dev_initiate(struct wg_dev *dev, uint16_t slot, uint64_t now_ms)
{
	struct dev_peer *p;
	int rc;

	if (slot >= WG_DEV_PEERS_MAX || !dev->peers[slot].used)
		return -ENOENT;
	p = &dev->peers[slot];
	rc = hs_start(dev, p, false, now_ms);
	flush_changed(dev, p);
	return rc;
}

/* ---- peers ---- */

static void
peer_wipe(struct wg_dev *dev, struct dev_peer *p)
{
	uint16_t slot = p->slot;

	peer_drop_session(dev, p);
	flush_changed(dev, p);
	OPENSSL_cleanse(p, sizeof(*p));
	p->slot = slot;
}

int
wg_dev_peer_set(struct wg_dev *dev, uint16_t slot,
    const struct wg_dev_peer_cfg *pc, uint64_t now_ms)
{
	static const uint8_t no_psk[WG_KEY_LEN];
	struct dev_peer *p, *other;
	bool same, keepalive_new;

	if (slot >= WG_DEV_PEERS_MAX ||
	    CRYPTO_memcmp(pc->pub, dev->me.pub, WG_KEY_LEN) == 0)
		return -EINVAL;
	other = peer_by_pub(dev, pc->pub);
	if (other != NULL && other->slot != slot)
		return -EEXIST;
	p = &dev->peers[slot];
	same = other != NULL;
	if (!same) {
		if (p->used)
			peer_wipe(dev, p);
		if (wg_peer_init(&p->np, pc->pub, pc->has_psk ? pc->psk :
		    NULL) < 0)
			return -EIO;
		p->np.ctx = p;
		p->used = true;
		p->slot = slot;
		p->ep = pc->endpoint;
		p->dirty = true;
	} else {
		/* For the next handshake; the sessions stay. */
		memcpy(p->np.psk, pc->has_psk ? pc->psk : no_psk, WG_KEY_LEN);
		/* The configured endpoint moves the peer only when it
		 * changed: a reload must not undo roaming. */
		if (!ep_equal(&pc->endpoint, &p->cfg.endpoint))
			ep_set(p, &pc->endpoint);
	}
	keepalive_new = pc->keepalive_s != 0 && (!same ||
	    !p->cfg.enabled || p->cfg.keepalive_s != pc->keepalive_s);
	p->cfg = *pc;
	if (!pc->enabled) {
		peer_drop_session(dev, p);
	} else if (keepalive_new) {
		/* As wireguard-go on up: the NAT mapping now. */
		if (p->cur.kp != NULL)
			send_keepalive(dev, p, now_ms);
		else
			(void)hs_start(dev, p, false, now_ms);
	}
	flush_changed(dev, p);
	return 0;
}

void
wg_dev_peer_clear(struct wg_dev *dev, uint16_t slot)
{
	if (slot < WG_DEV_PEERS_MAX && dev->peers[slot].used)
		peer_wipe(dev, &dev->peers[slot]);
}

void
wg_dev_keys_of(const struct wg_dev *dev, uint16_t slot,
    struct wg_dev_keys *out)
{
	const struct dev_peer *p;

	memset(out, 0, sizeof(*out));
	if (slot >= WG_DEV_PEERS_MAX || !dev->peers[slot].used)
		return;
	p = &dev->peers[slot];
	out->cur = p->cur.kp;
	out->prev = p->prev.kp;
	out->next = p->next.kp;
}

void
wg_dev_endpoint_of(const struct wg_dev *dev, uint16_t slot,
    struct wg_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (slot < WG_DEV_PEERS_MAX && dev->peers[slot].used)
		*out = dev->peers[slot].ep;
}

void
wg_dev_peer_status(const struct wg_dev *dev, uint16_t slot,
    struct wg_dev_peer_status *out)
{
	const struct dev_peer *p;

	memset(out, 0, sizeof(*out));
	if (slot >= WG_DEV_PEERS_MAX || !dev->peers[slot].used)
		return;
	p = &dev->peers[slot];
	out->last_handshake_wall_ns = p->last_hs_wall_ns;
	out->endpoint = p->ep;
	out->handshaking = p->handshaking;
	out->handshake_attempts = p->attempts;
	out->has_session = p->cur.kp != NULL;
}

void
wg_dev_stats(const struct wg_dev *dev, struct wg_dev_stats *out)
{
	*out = dev->stats;
}

/* ---- the engine ---- */

int
wg_dev_create(struct wg_dev **out, const struct wg_dev_env *env,
    const uint8_t priv[32])
{
	struct wg_dev *dev;

	if (env->send == NULL || env->changed == NULL ||
	    env->retire == NULL || env->wall_ns == NULL)
		return -EINVAL;
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return -ENOMEM;
	dev->env = *env;
	for (uint16_t i = 0; i < WG_DEV_PEERS_MAX; i++)
		dev->peers[i].slot = i;
	if (wg_static_init(&dev->me, priv) < 0) {
		free(dev);
		return -EINVAL;
	}
	if (wg_worker_create(&dev->w) < 0) {
		OPENSSL_cleanse(&dev->me, sizeof(dev->me));
		free(dev);
		return -ENOMEM;
	}
	*out = dev;
	return 0;
}

void
wg_dev_destroy(struct wg_dev *dev)
{
	if (dev == NULL)
		return;
	for (unsigned i = 0; i < WG_DEV_PEERS_MAX; i++) {
		struct dev_peer *p = &dev->peers[i];

		if (!p->used)
			continue;
		kp_retire_all(dev, p);
		wg_handshake_wipe(&p->hs);
	}
	wg_worker_free(dev->w);
	OPENSSL_cleanse(dev, sizeof(*dev));
	free(dev);
}
