/*
 * src/tun/replay.c: ESP anti-replay, RFC 6479's bitmap with RFC 4303
 * appendix A's sequence number inference.  See replay.h.
 */
#include <errno.h>
#include <string.h>

#include "replay.h"

int
esp_replay_init(struct esp_replay *r, uint32_t window_pkts, bool esn)
{
	uint32_t need;

	if (window_pkts == 0)
		window_pkts = ESP_REPLAY_DEFAULT_PKTS;
	if (window_pkts > ESP_REPLAY_MAX_PKTS)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->window_pkts = window_pkts;
	r->esn = esn;
	/* W bits behind the top plus the top's own word. */
	need = (window_pkts + 63) / 64 + 1;
	r->n_blocks = 1;
	while (r->n_blocks < need)
		r->n_blocks <<= 1;
	return 0;
}

bool
esp_replay_seq(const struct esp_replay *r, uint32_t seq_lo, uint64_t *seq)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t w = r->window_pkts, sh;

	if (!r->esn) {
		*seq = seq_lo;
		return seq_lo != 0;
	}
	/*
	 * A2.2: the window [tl - W + 1, tl] either lies inside one 2^32
	 * subspace (case A) or straddles the boundary below tl (case B).
	 */
	if (tl >= w - 1) {
		sh = seq_lo >= tl - w + 1 ? th : th + 1;
		if (seq_lo < tl - w + 1 && th == UINT32_MAX)
			return false;	/* past 2^64: no sender gets there */
	} else {
		if (seq_lo >= tl - w + 1) {	/* mod 2^32: the top of the
						   previous subspace */
			if (th == 0)
				return false;
			sh = th - 1;
		} else {
			sh = th;
		}
	}
	*seq = (uint64_t)sh << 32 | seq_lo;
	return *seq != 0;
}

static inline uint64_t
bit_of(const struct esp_replay *r, uint64_t seq, uint32_t *block)
{
	*block = (uint32_t)(seq >> 6) & (r->n_blocks - 1);
	return 1ULL << (seq & 63);
}

bool
esp_replay_check(const struct esp_replay *r, uint64_t seq)
{
	uint32_t block;
	uint64_t bit;

	if (seq == 0)
		return false;
	if (seq > r->top)
		return true;
	if (r->top - seq >= r->window_pkts)
		return false;
	bit = bit_of(r, seq, &block);
	return (r->bitmap[block] & bit) == 0;
}

bool
esp_replay_update(struct esp_replay *r, uint64_t seq)
{
	uint32_t block;
	uint64_t bit;

	if (!esp_replay_check(r, seq))
		return false;
	if (seq > r->top) {
		uint64_t cur = r->top >> 6, next = seq >> 6;
		uint64_t diff = next - cur;

		/* Clear the words the top moves into (RFC 6479 §2); past
		 * a whole ring's worth everything is stale. */
		if (diff > r->n_blocks)
			diff = r->n_blocks;
		for (uint64_t i = 1; i <= diff; i++)
			r->bitmap[(cur + i) & (r->n_blocks - 1)] = 0;
		r->top = seq;
	}
	bit = bit_of(r, seq, &block);
	r->bitmap[block] |= bit;
	return true;
}
