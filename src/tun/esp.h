/*
 * src/tun/esp.h: IPsec ESP (RFC 4303) in tunnel mode, with ESP-in-UDP
 * (RFC 3948), as the rest of hexgate sees it.  Pure: packets and SA state
 * in, packets, results and counters out.  Nothing here looks an SA up,
 * routes, sends an ICMP error or logs; src/dp does (the next step of
 * issue 14), IKE (src/ike) creates the SAs.
 *
 * Algorithms (crypto from intel-ipsec-mb, see esp.c):
 *   AES-GCM with a 16-byte ICV, 128/192/256-bit keys   RFC 4106
 *   ChaCha20-Poly1305                                 RFC 7634
 *   AES-CBC with HMAC-SHA-256-128/384-192/512-256      RFC 3602, RFC 4868
 *
 * Threads: a struct esp_worker belongs to one worker.  An outbound SA may
 * be used by any number of workers at once (its sequence number is taken
 * atomically, never twice); an inbound SA by one worker at a time, since
 * its replay window is updated without a lock.  Counters are atomics
 * added once per burst.  Nothing on the per-packet path allocates.
 */
#ifndef TUN_ESP_H
#define TUN_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../pkt/pkt.h"

#define ESP_UDP_PORT		4500	/* RFC 3948 §2.1 */
#define ESP_HDR_LEN		8	/* SPI, sequence number */

enum esp_alg {
	ESP_ALG_AES_GCM_16,		/* key + 4-byte salt: 20, 28, 36 bytes */
	ESP_ALG_CHACHA20_POLY1305,	/* key + 4-byte salt: 36 bytes */
	ESP_ALG_AES_CBC_HMAC_SHA256,	/* AES key 16/24/32, HMAC key 32 */
	ESP_ALG_AES_CBC_HMAC_SHA384,	/* ... HMAC key 48 */
	ESP_ALG_AES_CBC_HMAC_SHA512,	/* ... HMAC key 64 */
	ESP_ALG_COUNT
};

/*
 * What happened to one packet, and the SA's counter of it.  Every value
 * but OK is a drop with that reason; the caller frees the packet.
 */
#define ESP_RESULTS(X)							\
	X(OK,		"ok",		"processed")			\
	X(TRUNCATED,	"truncated",	"shorter than ESP header, IV, "	\
	    "trailer and ICV")						\
	X(MALFORMED,	"malformed",	"ciphertext not whole blocks "	\
	    "or words, or an outer fragment")				\
	X(SPI,		"wrong_spi",	"SPI is not this SA's")		\
	X(REPLAY,	"replay",	"sequence number replayed or "	\
	    "left of the window")					\
	X(ICV,		"integrity",	"integrity check failed")	\
	X(PAD,		"bad_padding",	"padding not 1, 2, 3, ...")	\
	X(NEXT_HDR,	"bad_next_header", "next header neither IPv4, "	\
	    "IPv6 nor 59")						\
	X(INNER,	"bad_inner",	"inner IP header does not fit "	\
	    "the payload")						\
	X(DUMMY,	"dummy",	"dummy packet (next header 59)")\
	X(SEQ_WRAP,	"seq_wrap",	"sequence number would wrap; "	\
	    "rekey")							\
	X(HARD_LIFETIME, "hard_lifetime", "hard lifetime reached")	\
	X(NOT_IP,	"not_ip",	"not an IP packet")		\
	X(NO_ROOM,	"no_room",	"no headroom or tailroom for "	\
	    "the encapsulation")					\
	X(TOO_BIG,	"too_big",	"larger than the tunnel MTU")	\
	X(CRYPTO,	"crypto_error",	"the crypto library refused "	\
	    "the job")

enum esp_result {
#define ESP_ENUM(e, name, text) ESP_R_##e,
	ESP_RESULTS(ESP_ENUM)
#undef ESP_ENUM
	ESP_R_COUNT
};

/* What an SA is; the key bytes are copied, the caller wipes its own. */
struct esp_sa_config {
	uint32_t spi;			/* host order; 0..255 reserved */
	enum esp_alg alg;
	bool inbound;			/* decapsulates; else encapsulates */
	bool esn;			/* 64-bit sequence numbers (RFC 4304) */
	const uint8_t *enc_key;		/* AEAD: key then salt (RFC 4106 §8.1) */
	size_t enc_key_len;
	const uint8_t *auth_key;	/* CBC algorithms only */
	size_t auth_key_len;
	/* Outer header: src is this end, dst the peer.  Inbound SAs keep
	 * them for printing only; the SPI chose the SA. */
	uint8_t family;			/* 4 or 6 */
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	bool udp_encap;			/* ESP-in-UDP (NAT traversal) */
	uint16_t udp_sport, udp_dport;	/* host order; 0: 4500 */
	uint16_t mtu_bytes;		/* largest outer L3 packet; 0: no limit */
	uint8_t ttl;			/* outer TTL / hop limit; 0: 64 */
	uint32_t replay_window_pkts;	/* inbound; 0: 1024 */
	/* Lifetimes (RFC 4301 §4.4.2.1) in inner bytes and packets; 0: none.
	 * Soft raises a flag for the control plane, hard refuses. */
	uint64_t soft_bytes, hard_bytes, soft_pkts, hard_pkts;
};

struct esp_sa;			/* opaque */
struct esp_worker;		/* opaque; one per worker */

/* Control thread.  -EINVAL (*why says which field), -ENOMEM. */
int esp_sa_create(struct esp_sa **out, const struct esp_sa_config *c,
    const char **why) HG_MUST_CHECK;
/*
 * Control thread: a copy of the outbound SA old toward another peer
 * address (same family) and, for ESP in UDP, port (0: the same): the
 * peer moved behind a NAT, or its NAT changed the mapping.  Keys,
 * counters and lifetimes carry over, and the sequence numbers go on:
 * old takes none from here (what is still sent through it is refused),
 * so none is used twice.  Publish the copy, then free old after the
 * grace period.  -EINVAL for an inbound SA, -ENOMEM.
 */
int esp_sa_move(struct esp_sa **out, struct esp_sa *old,
    const uint8_t dst[16], uint16_t udp_dport) HG_MUST_CHECK;
/* Control thread: the peer address an inbound SA shows (its SPI chose it,
 * the address is for esp_sa_format_json() only), after a move. */
void esp_sa_set_peer_shown(struct esp_sa *sa, const uint8_t peer[16]);
/* Wipes the keys and frees.  Control thread, once no worker holds sa
 * (after an RCU grace period). */
void esp_sa_free(struct esp_sa *sa);

/* One per worker, created at start-up: holds the crypto library's
 * manager and per-packet scratch for a burst. */
int esp_worker_create(struct esp_worker **out) HG_MUST_CHECK;
void esp_worker_free(struct esp_worker *w);

/*
 * Encapsulates n packets (n <= PKT_BATCH_MAX) through the outbound SA,
 * in place.  Each packet is parsed (l3, l3_off, l3_len: its inner IP
 * packet); on ESP_R_OK it holds a zeroed Ethernet header (ip_output()
 * fills it), the outer IPv4/IPv6 header, UDP when sa encapsulates so,
 * then ESP, and is left parsed as far as l4.  res[i] gets each result.
 */
void esp_encap_burst(struct esp_worker *w, struct esp_sa *sa,
    struct pkt **pkts, uint16_t n, uint8_t res[]);

/*
 * Decapsulates n packets of the inbound SA, in place.  Each is parsed
 * (pkt_parse()): l4 is ESP, or the UDP header in front of it.  On
 * ESP_R_OK it holds its original Ethernet addresses, the type of the
 * inner packet, then the inner packet without TFC padding, with l3,
 * l3_off and l3_len set; the caller parses it again (ip input).  The
 * high half of an ESN is inferred from the window as it stood when the
 * burst began.
 */
void esp_decap_burst(struct esp_worker *w, struct esp_sa *sa,
    struct pkt **pkts, uint16_t n, uint8_t res[]);

/*
 * Writes into the empty packet p a NAT keepalive (RFC 3948 §2.3: one
 * byte, 0xff, in UDP) from the ESP-in-UDP outbound SA's end to its peer,
 * with its outer addresses and ports, and leaves it parsed as far as l4.
 * -EINVAL for an inbound SA or one not in UDP.
 */
int esp_nat_keepalive(const struct esp_sa *sa, struct pkt *p) HG_MUST_CHECK;

/*
 * The ESP transform alone, for tests and tools (the burst functions use
 * the same code).  esp points at room for the ESP header; pt_len bytes of
 * payload, padding and trailer follow the header and IV.  esp_seal()
 * writes SPI, seq (low half), iv (8 bytes for AEAD, 16 for CBC), encrypts
 * in place and appends the ICV; returns the ESP length.  esp_open()
 * verifies and decrypts in place: 0, or -EBADMSG (ICV), -EINVAL (length).
 * seq is the full 64-bit number.  Neither touches counters or window.
 */
int esp_seal(struct esp_worker *w, const struct esp_sa *sa, uint64_t seq,
    const uint8_t *iv, uint8_t *esp, uint32_t pt_len) HG_MUST_CHECK;
int esp_open(struct esp_worker *w, const struct esp_sa *sa, uint64_t seq,
    uint8_t *esp, uint32_t esp_len) HG_MUST_CHECK;

/* Counters, summed as they stand. */
struct esp_sa_stats {
	uint64_t pkts, bytes;		/* processed, inner bytes */
	uint64_t drops[ESP_R_COUNT];	/* [ESP_R_OK] unused */
	uint64_t decrypt_errors;	/* PAD + NEXT_HDR + INNER + MALFORMED
					   + TRUNCATED + CRYPTO */
	uint64_t seq_next;		/* outbound: next to send */
	bool soft_expired, dead;
};
void esp_sa_stats(const struct esp_sa *sa, struct esp_sa_stats *st);

/* Soft lifetime passed: the control plane starts a rekey. */
bool esp_sa_is_soft_expired(const struct esp_sa *sa);
/* Hard lifetime passed or the sequence number ran out: the SA refuses
 * every packet and must be replaced. */
bool esp_sa_is_dead(const struct esp_sa *sa);

/* Writes the SA as one JSON object (SPI, algorithm, direction, endpoints,
 * counters, lifetimes; never a key).  Returns what snprintf() would. */
int esp_sa_format_json(const struct esp_sa *sa, char *buf, size_t len);

const char *esp_alg_name(enum esp_alg alg);
const char *esp_result_name(enum esp_result r);	/* "replay", ... */
const char *esp_result_text(enum esp_result r);	/* a sentence */

/* For tests: the next outbound sequence number is seq_last + 1. */
void esp_sa_test_set_seq(struct esp_sa *sa, uint64_t seq_last);

/*
 * ESP-in-UDP demultiplexing (RFC 3948 §2.2, RFC 7296 §3) of the payload
 * of a datagram to UDP 4500.
 */
enum esp_udp_kind {
	ESP_UDP_ESP,		/* SPI != 0: ESP, the SPI in *spi */
	ESP_UDP_IKE,		/* non-ESP marker (4 zero bytes) then IKE */
	ESP_UDP_KEEPALIVE,	/* NAT keepalive: one 0xff byte */
	ESP_UDP_INVALID,	/* none of these: drop */
};
enum esp_udp_kind esp_udp_classify(const uint8_t *payload, size_t len,
    uint32_t *spi);

#endif /* TUN_ESP_H */
