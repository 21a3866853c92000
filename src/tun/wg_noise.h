/*
 * src/tun/wg_noise.h: WireGuard's handshake (the whitepaper §5.4,
 * wireguard.com/protocol): Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, MAC1
 * and MAC2, and the cookie reply, as pure code.  Bytes, keys and the time
 * in; bytes, keys and named outcomes out.  No I/O, no clock: the caller
 * passes the time; random bytes come from OpenSSL's DRBG.
 *
 * The primitives are OpenSSL 3's (X25519, BLAKE2s, HMAC, ChaCha20-
 * Poly1305) and libsodium's (XChaCha20-Poly1305, the cookie reply's).
 * The transport data itself is not here: a handshake ends in a struct
 * wg_session_keys, from which the data plane makes its keypair
 * (wg_data.h).
 */
#ifndef TUN_WG_NOISE_H
#define TUN_WG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"

#define WG_KEY_LEN		32
#define WG_HASH_LEN		32
#define WG_MAC_LEN		16	/* keyed BLAKE2s-128 */
#define WG_AEAD_TAG_LEN		16
#define WG_TAI64N_LEN		12
#define WG_COOKIE_LEN		16
#define WG_COOKIE_NONCE_LEN	24

/* Message types: the first byte; the next three are zero. */
enum wg_msg_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE_REPLY = 3,
	WG_MSG_TRANSPORT = 4,
};

/* Exact sizes of the handshake messages; transport is header + AEAD. */
#define WG_INITIATION_LEN	148
#define WG_RESPONSE_LEN		92
#define WG_COOKIE_REPLY_LEN	64
#define WG_TRANSPORT_HDR_LEN	16
#define WG_TRANSPORT_MIN_LEN	(WG_TRANSPORT_HDR_LEN + WG_AEAD_TAG_LEN)

/* Where mac1 and mac2 sit: each covers every byte before it. */
#define WG_INITIATION_MAC1_OFF	116
#define WG_RESPONSE_MAC1_OFF	60

/* Lifetimes (the whitepaper's constants), in seconds. */
#define WG_COOKIE_SECRET_MAX_AGE_S	120
#define WG_COOKIE_SECRET_LATENCY_S	5

#define WG_ERRS(X)							\
	X(OK,		"ok")						\
	X(SHORT,	"shorter than the message type's size")		\
	X(LONG,		"longer than the message type's size")		\
	X(TYPE,		"unknown message type")				\
	X(RESERVED,	"reserved byte not zero")			\
	X(MAC1,		"mac1 does not match")				\
	X(MAC2,		"mac2 does not match the cookie")		\
	X(DECRYPT,	"AEAD authentication failed")			\
	X(UNKNOWN_PEER,	"initiator's static key is not a known peer")	\
	X(REPLAY,	"timestamp not newer than the last one seen")	\
	X(DH,		"Diffie-Hellman result is zero (low-order point)") \
	X(INDEX,	"receiver index is not ours")			\
	X(STATE,	"no handshake in the state this message needs")	\
	X(NO_MAC1,	"no message sent whose mac1 a cookie could answer") \
	X(CRYPTO,	"the crypto library failed")

enum wg_err_code {
#define WG_ERR_ENUM(e, text) WG_E_##e,
	WG_ERRS(WG_ERR_ENUM)
#undef WG_ERR_ENUM
	WG_E_COUNT
};

struct wg_err {
	enum wg_err_code code;
	uint32_t off;		/* byte offset in the message of the field */
};

const char *wg_err_str(enum wg_err_code code);

/* ---- Codec: bounds first, then meaning ------------------------------ */

struct wg_initiation {
	uint32_t sender;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t enc_static[WG_KEY_LEN + WG_AEAD_TAG_LEN];
	uint8_t enc_timestamp[WG_TAI64N_LEN + WG_AEAD_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct wg_response {
	uint32_t sender;
	uint32_t receiver;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t enc_empty[WG_AEAD_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct wg_cookie_reply {
	uint32_t receiver;
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t enc_cookie[WG_COOKIE_LEN + WG_AEAD_TAG_LEN];
};

struct wg_transport_hdr {
	uint32_t receiver;
	uint64_t counter;
	size_t data_len;	/* encrypted payload and tag, after the header */
};

/*
 * The message's type after checking its header: the type byte is known,
 * the reserved bytes are zero and the length is the type's (at least the
 * header and a tag for transport).  The type, or -1 with err set.
 */
int wg_msg_check(const uint8_t *msg, size_t len, struct wg_err *err)
    HG_MUST_CHECK;
int wg_initiation_parse(const uint8_t *msg, size_t len,
    struct wg_initiation *out, struct wg_err *err) HG_MUST_CHECK;
int wg_response_parse(const uint8_t *msg, size_t len,
    struct wg_response *out, struct wg_err *err) HG_MUST_CHECK;
int wg_cookie_reply_parse(const uint8_t *msg, size_t len,
    struct wg_cookie_reply *out, struct wg_err *err) HG_MUST_CHECK;
int wg_transport_hdr_parse(const uint8_t *msg, size_t len,
    struct wg_transport_hdr *out, struct wg_err *err) HG_MUST_CHECK;
/* The wire forms; each writes exactly its message's size. */
void wg_initiation_encode(const struct wg_initiation *m,
    uint8_t out[WG_INITIATION_LEN]);
void wg_response_encode(const struct wg_response *m,
    uint8_t out[WG_RESPONSE_LEN]);
void wg_cookie_reply_encode(const struct wg_cookie_reply *m,
    uint8_t out[WG_COOKIE_REPLY_LEN]);
void wg_transport_hdr_encode(uint32_t receiver, uint64_t counter,
    uint8_t out[WG_TRANSPORT_HDR_LEN]);

/* ---- Keys ----------------------------------------------------------- */

/* Our identity, with the two keys derived from our public key. */
struct wg_static {
	uint8_t priv[WG_KEY_LEN];
	uint8_t pub[WG_KEY_LEN];
	uint8_t mac1_key[WG_HASH_LEN];	/* HASH(LABEL_MAC1 || pub) */
	uint8_t cookie_key[WG_HASH_LEN]; /* HASH(LABEL_COOKIE || pub) */
};

/*
 * One peer: its keys, the newest timestamp it sent us (replay), and the
 * cookie it gave us, if any.
 */
struct wg_peer {
	uint8_t pub[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN];	/* zeros when none is configured */
	uint8_t mac1_key[WG_HASH_LEN];
	uint8_t cookie_key[WG_HASH_LEN];
	uint8_t last_timestamp[WG_TAI64N_LEN];
	/* What MAC2 needs: the cookie and when it arrived. */
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t cookie_birth_s;
	bool cookie_valid;
	/* The mac1 of the last handshake message we sent this peer: a
	 * cookie reply is encrypted against it. */
	uint8_t last_mac1[WG_MAC_LEN];
	bool last_mac1_valid;
	void *ctx;			/* the caller's */
};

/* Private key in (any 32 bytes; X25519 clamps): 0 or -1 (CRYPTO). */
int wg_static_init(struct wg_static *s, const uint8_t priv[WG_KEY_LEN])
    HG_MUST_CHECK;
/* A peer by its public key, with a PSK or NULL: 0 or -1. */
int wg_peer_init(struct wg_peer *p, const uint8_t pub[WG_KEY_LEN],
    const uint8_t *psk) HG_MUST_CHECK;
/* X25519 public key of a private one: 0 or -1. */
int wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
    HG_MUST_CHECK;

/* ---- The handshake -------------------------------------------------- */

/* What a handshake ends in: the data plane's keys and indices. */
struct wg_session_keys {
	uint8_t send[WG_KEY_LEN];
	uint8_t recv[WG_KEY_LEN];
	uint32_t local_index;	/* what the peer puts in receiver */
	uint32_t remote_index;	/* what we put in receiver */
	bool initiator;
};

enum wg_hs_state {
	WG_HS_NONE = 0,
	WG_HS_INITIATION_SENT,		/* initiator, waiting for response */
	WG_HS_INITIATION_CONSUMED,	/* responder, about to respond */
};

/* One handshake in flight, either side.  Wiped when it ends. */
struct wg_handshake {
	enum wg_hs_state state;
	struct wg_peer *peer;
	uint8_t chain[WG_HASH_LEN];	/* C */
	uint8_t hash[WG_HASH_LEN];	/* H */
	uint8_t e_priv[WG_KEY_LEN];	/* our ephemeral */
	uint8_t remote_e[WG_KEY_LEN];	/* theirs (responder) */
	uint32_t local_index;
	uint32_t remote_index;
};

void wg_handshake_wipe(struct wg_handshake *hs);

/*
 * Initiator, step 1: the initiation to peer, from us, with sender_index,
 * its timestamp from now_unix_ns (wall clock, nanoseconds since 1970),
 * MAC2 filled when a cookie younger than 115 s (now_s, any monotonic
 * seconds) is held.  hs is ready for the response.  0 or -1.
 */
int wg_initiation_create(struct wg_handshake *hs, const struct wg_static *me,
    struct wg_peer *peer, uint32_t sender_index, uint64_t now_unix_ns,
    uint64_t now_s, uint8_t out[WG_INITIATION_LEN], struct wg_err *err)
    HG_MUST_CHECK;

/* Initiator, step 2: the response in; kp out and hs wiped.  0 or -1. */
int wg_response_consume(struct wg_handshake *hs, const struct wg_static *me,
    const uint8_t *msg, size_t len, struct wg_session_keys *kp,
    struct wg_err *err) HG_MUST_CHECK;

/* Finds the peer with this static public key, or NULL. */
typedef struct wg_peer *(*wg_peer_lookup_fn)(void *arg,
    const uint8_t pub[WG_KEY_LEN]);

/*
 * Responder, step 1: checks MAC1 (not MAC2: see wg_cookie_check),
 * decrypts the initiator's static key and finds its peer with lookup,
 * decrypts the timestamp and refuses one not newer than the peer's last
 * (which it then becomes).  hs is ready for wg_response_create.  0 or -1.
 */
int wg_initiation_consume(struct wg_handshake *hs, const struct wg_static *me,
    wg_peer_lookup_fn lookup, void *arg, const uint8_t *msg, size_t len,
    struct wg_err *err) HG_MUST_CHECK;

/* Responder, step 2: the response with sender_index; kp out, hs wiped. */
int wg_response_create(struct wg_handshake *hs, uint32_t sender_index,
    uint64_t now_s, uint8_t out[WG_RESPONSE_LEN], struct wg_session_keys *kp,
    struct wg_err *err) HG_MUST_CHECK;

/* ---- Cookies (under load) ------------------------------------------- */

/* The side under load: a secret that changes every two minutes. */
struct wg_cookie_checker {
	uint8_t secret[WG_HASH_LEN];
	uint64_t secret_birth_s;
	bool secret_valid;
};

enum wg_mac_state {
	WG_MAC_INVALID,			/* drop */
	WG_MAC_VALID_NO_COOKIE,		/* MAC1 good, MAC2 absent/bad */
	WG_MAC_VALID_COOKIE,		/* both good: process under load */
};

/*
 * The MACs of a received initiation or response (len its exact size)
 * sent to me from src (the caller's bytes for the source address and
 * port).  Under load, only WG_MAC_VALID_COOKIE is processed; the rest
 * with a valid MAC1 get a cookie reply.
 */
enum wg_mac_state wg_cookie_check(struct wg_cookie_checker *cc,
    const struct wg_static *me, const uint8_t *msg, size_t len,
    const uint8_t *src, size_t src_len, uint64_t now_s);

/* The cookie reply to msg (an initiation or response): 0 or -1. */
int wg_cookie_reply_create(struct wg_cookie_checker *cc,
    const struct wg_static *me, const uint8_t *msg, size_t len,
    const uint8_t *src, size_t src_len, uint64_t now_s,
    uint8_t out[WG_COOKIE_REPLY_LEN], struct wg_err *err) HG_MUST_CHECK;

/*
 * A cookie reply from peer (found by its receiver index, which the
 * caller checked is one of ours): the cookie is stored for MAC2.  0 or -1.
 */
int wg_cookie_reply_consume(struct wg_peer *peer, const uint8_t *msg,
    size_t len, uint64_t now_s, struct wg_err *err) HG_MUST_CHECK;

#endif /* TUN_WG_NOISE_H */
