/*
 * src/daemon/config/overlay.h: hexgated's side of the overlay (issue 16,
 * docs/overlay.md): the configuration's overlay section turned into the
 * WireGuard engine's peers (src/tun/wg_dev.h), the handshake datagrams
 * between the data plane's control queue and the engine, and the
 * keypairs and endpoints the engine reports published to the data plane
 * (dp_overlay_swap(), dp_wg_endpoint_set()).  Builds on
 * config/tunnels.h.
 *
 * The engine runs on hg-ike, the thread that reads the data plane's
 * control queue (config/ike.c), under its lock: every function below but
 * hg_overlay_key_load() and hg_overlay_check() is called with hg_ike_lock
 * held (hg-ike holds it for its datagrams and ticks).
 */
#ifndef HG_DAEMON_OVERLAY_H
#define HG_DAEMON_OVERLAY_H

#include "../daemon.h"

struct hg_overlay;

/*
 * The appliance's overlay key pair from cfg's private_key_file (relative
 * to the configuration's folder; base64, as wg genkey writes it; a
 * regular file readable by its owner only).  A missing file is made
 * (0600) with a fresh key, written beside it and linked into place.  0,
 * or -errno with err naming the file.
 */
int hg_overlay_key_load(const struct hg_daemon *d, const struct hg_config *cfg,
    uint8_t priv[32], uint8_t pub[32], char *err, size_t err_len);
/* A fresh X25519 key pair, the private key clamped as wg genkey writes
 * it: 0 or -EIO. */
int hg_overlay_keypair(uint8_t priv[32], uint8_t pub[32]);
/* base64 of a key into out (at least 45 bytes): 0 or -ENOSPC/-ENOMEM. */
int hg_overlay_key_b64(const uint8_t key[32], char *out, size_t len);

/* What a start or reload of cfg needs that the parser could not check:
 * the key file (made when missing with make_key, else said to be made
 * at start), no peer with the appliance's own key, the preshared keys.
 * 0, or -errno with err naming the place. */
int hg_overlay_check(const struct hg_daemon *d, const struct hg_config *cfg,
    bool make_key, char *err, size_t err_len);

/* Start, after the data plane is created and before hg-ike runs: the
 * engine with d->cfg's overlay (nothing without one). */
int hg_overlay_start(struct hg_daemon *d, char *err, size_t err_len);
/* The overlay's UDP port, 0 without an overlay. */
uint16_t hg_overlay_port(const struct hg_daemon *d);
/* hg-ike: a datagram to the overlay's port (g, payload msg). */
void hg_overlay_input(struct hg_daemon *d, const struct dp_dgram *g,
    const uint8_t *msg, size_t len, uint64_t now_ms);
/* hg-ike: the engine's timers with what the workers saw. */
void hg_overlay_tick(struct hg_daemon *d, uint64_t now_ms);
/* After a reload was published (hg_stage_publish): the peers of d->cfg;
 * an overlay added or removed starts or stops. */
void hg_overlay_reload(struct hg_daemon *d);
/* Stop: keypairs wiped and freed, the data plane's overlay removed. */
void hg_overlay_stop(struct hg_daemon *d);

/* hexctl overlay handshake NAME: a handshake with that peer now (as a
 * rekey would start one).  0, -ENOENT (no such peer, or disabled),
 * -EDESTADDRREQ (no endpoint known yet), -EAGAIN (one went within
 * REKEY_TIMEOUT). */
int hg_overlay_initiate(struct hg_daemon *d, const char *name);

/* hexctl overlay status: a JSON object's text (malloc'd), or NULL
 * without an overlay. */
char *hg_overlay_status(struct hg_daemon *d);

/* Counters for /metrics: false without an overlay. */
struct hg_overlay_stats {
	uint64_t peers, peers_up;	/* configured; with a session */
	uint64_t handshakes, initiations, responses, cookie_replies_sent;
	uint64_t keepalives, rekeys, expired, rate_limited, refused;
	uint64_t rx_bytes, tx_bytes;
};
bool hg_overlay_stats(struct hg_daemon *d, struct hg_overlay_stats *out);

#endif /* HG_DAEMON_OVERLAY_H */
