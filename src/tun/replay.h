/*
 * src/tun/replay.h: the ESP anti-replay window (RFC 4303 §3.4.3) as an
 * RFC 6479 bitmap, with extended sequence numbers (RFC 4303 appendix A).
 * Pure state: esp.c calls it; nothing here knows about packets.
 *
 * The bitmap is n_blocks 64-bit words used as a ring indexed by the
 * sequence number itself, so moving the window right only clears the
 * words it passes over (RFC 6479 §2).  One block more than the window
 * needs is kept so the block holding the top never aliases one still in
 * the window.
 *
 * Not thread-safe: an inbound SA's window belongs to the one worker that
 * decapsulates for it (src/dp steers by SPI).
 */
#ifndef TUN_REPLAY_H
#define TUN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define ESP_REPLAY_DEFAULT_PKTS	1024
#define ESP_REPLAY_MAX_BLOCKS	64	/* ring words; window <= 63 * 64 */
#define ESP_REPLAY_MAX_PKTS	((ESP_REPLAY_MAX_BLOCKS - 1) * 64)

struct esp_replay {
	uint64_t top;		/* highest sequence number accepted; 0: none */
	uint32_t window_pkts;	/* W: accepted when seq > top - W */
	uint32_t n_blocks;	/* power of two, >= W / 64 + 1 */
	bool esn;		/* 64-bit sequence numbers, high half inferred */
	uint64_t bitmap[ESP_REPLAY_MAX_BLOCKS];
};

/* window_pkts 0 means ESP_REPLAY_DEFAULT_PKTS; -EINVAL above
 * ESP_REPLAY_MAX_PKTS. */
int esp_replay_init(struct esp_replay *r, uint32_t window_pkts, bool esn)
    __attribute__((warn_unused_result));

/*
 * The full sequence number of a packet carrying seq_lo: itself without
 * ESN, else the high half inferred from the window (RFC 4303 A2.2).
 * false when it can only be one from before the SA began (the inferred
 * high half would be -1) or is 0, which no sender uses.
 */
bool esp_replay_seq(const struct esp_replay *r, uint32_t seq_lo,
    uint64_t *seq);

/* Whether seq would be accepted now: right of the window, or inside it
 * and not yet seen.  Changes nothing; call before the ICV check. */
bool esp_replay_check(const struct esp_replay *r, uint64_t seq);

/* Checks again and, when accepted, records seq (moving the window when it
 * is a new top).  Call only after the ICV verified (§3.4.3: a forged
 * packet must not move the window).  false: replayed or too old. */
bool esp_replay_update(struct esp_replay *r, uint64_t seq);

#endif /* TUN_REPLAY_H */
