/*
 * src/tun/wg_data.h: WireGuard transport data messages (type 4, the
 * WireGuard paper §5.4.6) as the data plane sees them.  Pure: packets and
 * keypairs in, packets, results and counters out.  The handshake that
 * makes keypairs (src/tun/wg_noise.c), peer lookup, timers and routing
 * are elsewhere.
 *
 * Message: type 4, three zero bytes, the receiver's index (LE32), the
 * counter (LE64), then the inner IP packet padded with zeros to a
 * multiple of 16 bytes, sealed with ChaCha20-Poly1305 (nonce: four zero
 * bytes then the counter LE64, no AAD) and its 16-byte tag.  The crypto
 * is intel-ipsec-mb's job API, as ESP's (esp.c): measured per packet
 * with a fresh nonce and tag it beat OpenSSL's EVP on this machine (see
 * docs/PERFORMANCE.md, "WireGuard transport data").
 *
 * Outer headers are the caller's: encapsulation leaves the packet holding
 * the WireGuard message alone (the UDP payload), with headroom for the
 * caller to prepend Ethernet, IP and UDP; decapsulation takes the packet
 * with data at the UDP payload.
 *
 * Threads: a struct wg_worker belongs to one worker.  A keypair may be
 * sent on by any number of workers at once: its send counter is taken
 * with a compare-and-swap, never twice and never past the limit (as
 * ESP's sequence number, esp.c seq_take()).  It is received on by one
 * worker at a time, since the replay window is updated without a lock
 * (src/dp steers by receiver index).  Nothing per packet allocates or
 * locks.
 */
#ifndef TUN_WG_DATA_H
#define TUN_WG_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../pkt/pkt.h"

#define WG_MSG_DATA		4
#define WG_DATA_HDR_LEN		16	/* type, reserved, index, counter */
#define WG_TAG_LEN		16
#define WG_DATA_MIN_LEN		(WG_DATA_HDR_LEN + WG_TAG_LEN)
#define WG_KEY_LEN		32
/* The paper's Reject-After-Messages, 2^64 - 2^13 - 1: no counter at or
 * above it is sent or accepted. */
#define WG_REJECT_AFTER_MESSAGES	(UINT64_MAX - (1ULL << 13))
/* Counters accepted behind the highest seen (RFC 6479 bitmap). */
#define WG_REPLAY_WINDOW	4032

/* What happened to one packet.  Every value but OK is a drop (KEEPALIVE:
 * consumed, nothing to deliver); the caller frees the packet. */
#define WG_RESULTS(X)							\
	X(OK,		"ok",		"processed")			\
	X(TRUNCATED,	"truncated",	"shorter than header and tag")	\
	X(TYPE,		"bad_type",	"not a transport data message "	\
	    "(type 4, reserved bytes zero)")				\
	X(NO_KEYPAIR,	"unknown_index", "no keypair has this "		\
	    "receiver index")						\
	X(REPLAY,	"replay",	"counter replayed or left of "	\
	    "the window")						\
	X(COUNTER,	"counter_limit", "counter at or past "		\
	    "Reject-After-Messages")					\
	X(AUTH,		"auth",		"Poly1305 tag did not verify")	\
	X(INNER,	"bad_inner",	"inner IP header does not fit "	\
	    "the plaintext")						\
	X(KEEPALIVE,	"keepalive",	"keepalive (empty plaintext), "	\
	    "consumed")							\
	X(NOT_IP,	"not_ip",	"not an IP packet")		\
	X(NO_ROOM,	"no_room",	"no headroom or tailroom for "	\
	    "the message")						\
	X(EXHAUSTED,	"exhausted",	"send counter used up; the "	\
	    "keypair must be replaced")					\
	X(CRYPTO,	"crypto_error",	"the crypto library refused "	\
	    "the job")

enum wg_result {
#define WG_ENUM(e, name, text) WG_R_##e,
	WG_RESULTS(WG_ENUM)
#undef WG_ENUM
	WG_R_COUNT
};

struct wg_keypair;		/* opaque */
struct wg_worker;		/* opaque; one per worker */

/*
 * Control thread: a keypair from the handshake's two transport keys
 * (copied; the caller wipes its own), our receiver index (the one peers
 * put in what they send us) and the peer's.  -ENOMEM.
 */
int wg_keypair_create(struct wg_keypair **out,
    const uint8_t send_key[WG_KEY_LEN], const uint8_t recv_key[WG_KEY_LEN],
    uint32_t local_index, uint32_t remote_index) HG_MUST_CHECK;
/* Wipes the keys and frees.  Control thread, once no worker holds kp. */
void wg_keypair_free(struct wg_keypair *kp);
uint32_t wg_keypair_local_index(const struct wg_keypair *kp);

int wg_worker_create(struct wg_worker **out) HG_MUST_CHECK;
void wg_worker_free(struct wg_worker *w);

/*
 * Encapsulates n packets (n <= PKT_BATCH_MAX) through kp, in place.  Each
 * is parsed (l3 IPv4 or IPv6, l3_off, l3_len).  On WG_R_OK p->data is
 * the message (header, ciphertext, tag), p->len its length, l3 is
 * PKT_L3_NONE and l3_off 0: the caller prepends its outer headers.
 * A packet with l3_len 0 makes a keepalive.  The plaintext is padded to
 * a multiple of 16 bytes, but never past mtu (the interface's; 0: no
 * cap), as the paper says (§5.4.6).
 */
void wg_encap_burst(struct wg_worker *w, struct wg_keypair *kp,
    struct pkt **pkts, uint16_t n, uint16_t mtu, uint8_t res[]);

/*
 * A keepalive (the paper §6.5: a transport message with an empty
 * payload, header and tag alone) through kp, with its next send counter,
 * written to out.  For the control thread's own worker (the device
 * engine, wg_dev.c, sends keepalives from its timers); the counter is
 * taken as a burst takes it, so the data plane may be sending on kp at
 * the same time.  0, -EKEYEXPIRED (send counter used up) or -EIO.
 */
int wg_keepalive_make(struct wg_worker *w, struct wg_keypair *kp,
    uint8_t out[WG_DATA_MIN_LEN]) HG_MUST_CHECK;

/*
 * Finds the keypair of a receiver index (host order), or NULL.  Called
 * once per packet on the worker: no allocation, no lock.
 */
typedef struct wg_keypair *(*wg_lookup_fn)(void *ctx, uint32_t index);

/*
 * Decapsulates n packets in place; p->data is a message, p->len its
 * length (the UDP payload).  On WG_R_OK p->data is the inner IP packet
 * without padding, p->len and l3_len its length, l3 its family, l3_off 0.
 * Counters are checked against each keypair's window as it stood when
 * the burst began and recorded in packet order after the tags verify.
 */
void wg_decap_burst(struct wg_worker *w, wg_lookup_fn lookup, void *ctx,
    struct pkt **pkts, uint16_t n, uint8_t res[]);

/*
 * The AEAD alone, through the same job the bursts use, for tests and
 * tools: ChaCha20-Poly1305 (RFC 8439 §2.8) in place over len bytes.
 * wg_aead_open(): 0, or -EBADMSG when the tag does not verify.
 */
int wg_aead_seal(struct wg_worker *w, const uint8_t key[WG_KEY_LEN],
    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len, uint8_t tag[WG_TAG_LEN]) HG_MUST_CHECK;
int wg_aead_open(struct wg_worker *w, const uint8_t key[WG_KEY_LEN],
    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len, const uint8_t tag[WG_TAG_LEN]) HG_MUST_CHECK;

struct wg_keypair_stats {
	uint64_t tx_pkts, tx_bytes;	/* sent, inner bytes */
	uint64_t rx_pkts, rx_bytes;	/* delivered, inner bytes */
	uint64_t keepalives;		/* received */
	uint64_t drops[WG_R_COUNT];	/* [OK], [KEEPALIVE] unused */
	uint64_t send_next;		/* next counter to send */
};
void wg_keypair_stats(const struct wg_keypair *kp, struct wg_keypair_stats *st);
/* Drops before a keypair was found (truncated, bad type, unknown index),
 * this worker's. */
uint64_t wg_worker_drops(const struct wg_worker *w, enum wg_result r);

const char *wg_result_name(enum wg_result r);
const char *wg_result_text(enum wg_result r);

/* For tests: the next counter sent is next. */
void wg_keypair_test_set_send(struct wg_keypair *kp, uint64_t next);

#endif /* TUN_WG_DATA_H */
