/*
 * src/tun/wg_dev.h: the WireGuard device engine: our static identity,
 * the peers, their handshakes, keypairs and timers (the whitepaper §6),
 * as pure code.  Handshake datagrams, the data plane's observations and
 * the time in; handshake messages, keepalives, keypairs and log lines
 * out, through the callbacks of struct wg_dev_env, called synchronously
 * from the functions below.  The engine opens no socket, reads no clock
 * and starts no thread, and is not thread-safe: one thread at a time
 * (the daemon's control side; a unit test).
 *
 * The messages themselves are wg_noise.c's; the keypairs the engine
 * makes are wg_data.c's, which the data plane holds and sends and
 * receives on.  The engine never sees a data packet: the daemon tells it
 * what its workers saw each tick (struct wg_peer_obs) and publishes the
 * keypairs the engine reports (wg_dev_keys_of()).
 */
#ifndef TUN_WG_DEV_H
#define TUN_WG_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "wg_noise.h"

struct wg_keypair;

#define WG_DEV_PEERS_MAX	1024

/* The protocol's timers (the whitepaper §6.1), in milliseconds. */
#define WG_REKEY_AFTER_MESSAGES		(1ULL << 60)
#define WG_REKEY_AFTER_TIME_MS		120000
#define WG_REJECT_AFTER_TIME_MS		180000
#define WG_REKEY_ATTEMPT_TIME_MS	90000
#define WG_REKEY_TIMEOUT_MS		5000
#define WG_REKEY_JITTER_MS		334	/* 0..333 added */
#define WG_KEEPALIVE_TIMEOUT_MS		10000
/* Initiations consumed per peer: at most one per 20 ms (wireguard-go's
 * HandshakeInitationRate), on top of the timestamp's replay check. */
#define WG_INITIATION_INTERVAL_MS	20

/* An outer address: where a peer is (its endpoint) and which of our
 * addresses it reached (local, for our answers).  IPv4 in addr[0..3]. */
struct wg_endpoint {
	uint8_t family;		/* AF_INET, AF_INET6; 0: none known */
	uint8_t addr[16];
	uint16_t port;		/* host order */
	uint8_t local[16];	/* our address it was sent to; zeros: any */
	uint16_t local_port;
};

struct wg_dev_peer_cfg {
	uint8_t pub[32];
	bool has_psk;
	uint8_t psk[32];
	struct wg_endpoint endpoint;	/* family 0: none configured (a
					   roaming client) */
	uint16_t keepalive_s;		/* persistent keepalive; 0 off */
	bool enabled;			/* false: no handshake, keypairs
					   dropped */
	void *ctx;			/* the caller's */
};

/*
 * What the data plane saw of one peer, in the engine's clock (ms), 0 for
 * never.  The daemon takes the max over its workers each tick.  The
 * times are the newest ever, not since the last tick: the engine keeps
 * its own marks against them.
 */
struct wg_peer_obs {
	uint64_t last_tx_ms;		/* any authenticated packet sent
					   (data or keepalive) */
	uint64_t last_tx_data_ms;	/* a data packet (not a keepalive)
					   sent */
	uint64_t last_rx_ms;		/* any authenticated packet
					   received */
	uint64_t last_rx_data_ms;	/* a data packet received */
	uint64_t want_ms;		/* a packet for it found no keypair
					   to send on */
	uint32_t rx_index;		/* local index of the keypair last
					   received on: "next" confirmed */
	uint64_t send_next;		/* the current keypair's next send
					   counter */
	struct wg_endpoint rx_from;	/* where the last authenticated data
					   came from (roaming); family 0:
					   none */
};

/* A peer's keypairs as the data plane should hold them.  cur: send on
 * it, and receive; prev and next: receive only.  NULL: none.  Borrowed:
 * the engine owns them until it retires them through env->retire. */
struct wg_dev_keys {
	struct wg_keypair *cur, *prev, *next;
};

/*
 * The engine's effects.  ctx is passed back to each.  A callback may
 * read the engine (wg_dev_keys_of(), wg_dev_endpoint_of(),
 * wg_dev_peer_status(), wg_dev_stats()) but not change it.
 */
struct wg_dev_env {
	void *ctx;
	/* A handshake message (initiation, response, cookie reply) or a
	 * keepalive to ep. */
	void (*send)(void *ctx, const struct wg_endpoint *ep,
	    const uint8_t *msg, size_t len);
	/*
	 * Peer slot's keypairs or endpoint changed: the data plane must
	 * take wg_dev_keys_of()/wg_dev_endpoint_of() before the next tick.
	 * Called before the message that lets the peer use a new keypair
	 * (our response, the keepalive that confirms ours) is sent.
	 */
	void (*changed)(void *ctx, uint16_t peer);
	/*
	 * A keypair no longer referenced by the engine: the caller frees
	 * it (wg_keypair_free) once the data plane has stopped using it
	 * (after its next publish and a grace period).
	 */
	void (*retire)(void *ctx, struct wg_keypair *kp);
	/*
	 * Optional: our receiver index for a handshake with ep, given a
	 * random 32-bit value (the daemon makes index % n_workers name the
	 * worker that ep's packets reach).  NULL: the random value.  The
	 * engine retries with another random value while the result is in
	 * use.
	 */
	uint32_t (*pick_index)(void *ctx, const struct wg_endpoint *ep,
	    uint32_t rnd);
	/* Optional: a line for the log. */
	void (*log)(void *ctx, bool warn, const char *line);
	/* Wall clock in ns since 1970 for TAI64N timestamps (tests set
	 * it). */
	uint64_t (*wall_ns)(void *ctx);
};

struct wg_dev;

/*
 * An engine with our private key (X25519 clamps it).  send, changed,
 * retire and wall_ns are required.  0, -EINVAL or -ENOMEM.
 */
int wg_dev_create(struct wg_dev **out, const struct wg_dev_env *env,
    const uint8_t priv[32]) HG_MUST_CHECK;
/* Retires every keypair through env, wipes every key, frees. */
void wg_dev_destroy(struct wg_dev *dev);

/*
 * Peers are slots 0..WG_DEV_PEERS_MAX-1.  Set replaces: a reload with
 * the same public key keeps its sessions and handshake state (and its
 * endpoint, unless the configured one changed); a new key starts clean.
 * Disabling retires the keypairs at once.  A peer set with a persistent
 * keepalive sends one now (a handshake if it has no session).  0,
 * -EINVAL (slot out of range, our own key) or -EEXIST (another slot
 * has that key).
 */
int wg_dev_peer_set(struct wg_dev *dev, uint16_t slot,
    const struct wg_dev_peer_cfg *pc, uint64_t now_ms) HG_MUST_CHECK;
/* Removes a peer; its keypairs are retired and changed() called. */
void wg_dev_peer_clear(struct wg_dev *dev, uint16_t slot);

/*
 * A handshake datagram (types 1, 2, 3; anything else is dropped and
 * counted) from `from` (its local: which of our addresses it reached).
 * under_load: the daemon's queue is deep (the protocol's "under load"):
 * initiations and responses without a valid MAC2 get a cookie reply
 * instead.
 */
void wg_dev_input(struct wg_dev *dev, const struct wg_endpoint *from,
    const uint8_t *msg, size_t len, bool under_load, uint64_t now_ms);

/*
 * Timers (call every 100 ms or so) with what the data plane observed:
 * obs[slot] for slots below n_obs (obs NULL, or a slot at or past n_obs:
 * nothing observed).
 */
void wg_dev_tick(struct wg_dev *dev, const struct wg_peer_obs *obs,
    uint16_t n_obs, uint64_t now_ms);

/*
 * Start a handshake now (hexctl, a site peer at start): 0, -ENOENT (no
 * such peer, or disabled), -EDESTADDRREQ (no endpoint known) or -EAGAIN
 * (one sent within REKEY_TIMEOUT).
 */
int wg_dev_initiate(struct wg_dev *dev, uint16_t slot, uint64_t now_ms);

void wg_dev_keys_of(const struct wg_dev *dev, uint16_t slot,
    struct wg_dev_keys *out);
void wg_dev_endpoint_of(const struct wg_dev *dev, uint16_t slot,
    struct wg_endpoint *out);

/* For status. */
struct wg_dev_peer_status {
	uint64_t last_handshake_wall_ns;	/* 0: never */
	struct wg_endpoint endpoint;
	bool handshaking;		/* an initiation awaits its response */
	uint32_t handshake_attempts;	/* initiations of the current try */
	bool has_session;		/* a keypair to send on */
};
void wg_dev_peer_status(const struct wg_dev *dev, uint16_t slot,
    struct wg_dev_peer_status *out);

/* Counters, ever. */
struct wg_dev_stats {
	uint64_t initiations_sent;	/* first tries and retransmissions */
	uint64_t retransmissions;
	uint64_t handshakes_given_up;	/* REKEY_ATTEMPT_TIME passed */
	uint64_t responses_sent;	/* initiations answered */
	uint64_t handshakes_completed;	/* our initiation answered, or the
					   peer's confirmed by its data */
	uint64_t cookie_replies_sent;
	uint64_t cookie_replies_received;
	uint64_t keepalives_sent;
	uint64_t rekeys;		/* initiations the rekey timers
					   started */
	uint64_t keypairs_expired;	/* REJECT_AFTER_TIME reached */
	uint64_t rate_limited;		/* initiations within
					   WG_INITIATION_INTERVAL_MS */
	uint64_t peer_disabled;		/* initiations from a disabled peer */
	uint64_t drops[WG_E_COUNT];	/* by wg_noise's reason; [OK] unused */
};
void wg_dev_stats(const struct wg_dev *dev, struct wg_dev_stats *out);

#endif /* TUN_WG_DEV_H */
