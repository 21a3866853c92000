/*
 * src/tun/wg_data.c: WireGuard transport data messages.  See wg_data.h.
 * As esp.c: a burst is prepared packet by packet (checks, header,
 * padding, one intel-ipsec-mb job each), the library runs the jobs
 * several buffers at a time, and the results are finished in packet
 * order so the replay window sees the packets in the order they came.
 * The window is ESP's (replay.c) without ESN, fed counter + 1 because
 * it keeps 0 for "nothing seen" while WireGuard's first counter is 0.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include "../lib/bytes.h"
#include "replay.h"
#include "wg_data.h"

struct wg_slot {
	uint8_t nonce[12] HG_ALIGNED(16);
	uint8_t tag[WG_TAG_LEN];
	struct wg_keypair *kp;
	uint8_t *ct;			/* after the header */
	uint32_t ct_len;		/* without the tag */
	uint64_t counter;
	uint8_t res;
	bool crypto_ok;
};

struct wg_worker {
	IMB_MGR *mgr;
	uint64_t drops[WG_R_COUNT];	/* before a keypair was found */
	struct wg_slot slot[PKT_BATCH_MAX];
};

struct wg_keypair {
	/* Read by every packet, written only at creation. */
	uint8_t send_key[WG_KEY_LEN] HG_ALIGNED(16);
	uint8_t recv_key[WG_KEY_LEN] HG_ALIGNED(16);
	uint32_t local_index, remote_index;

	/* Every sending worker writes this one; its own line. */
	_Alignas(HG_CACHE_LINE) _Atomic uint64_t send_next;
	_Atomic uint64_t tx_pkts, tx_bytes, tx_drops[WG_R_COUNT];
	/* The receiving worker's alone (single writer: its counters are
	 * stored, not added atomically, and read by the control thread). */
	_Alignas(HG_CACHE_LINE) struct esp_replay replay;
	_Atomic uint64_t rx_pkts, rx_bytes, keepalives, rx_drops[WG_R_COUNT];
};

static const char *const result_names[] = {
#define WG_NAME(e, name, text) name,
	WG_RESULTS(WG_NAME)
#undef WG_NAME
};
static const char *const result_texts[] = {
#define WG_TEXT(e, name, text) text,
	WG_RESULTS(WG_TEXT)
#undef WG_TEXT
};
_Static_assert(HG_ARRAY_SIZE(result_names) == WG_R_COUNT, "names");

const char *
wg_result_name(enum wg_result r)
{
	return (unsigned)r < WG_R_COUNT ? result_names[r] : "?";
}

const char *
wg_result_text(enum wg_result r)
{
	return (unsigned)r < WG_R_COUNT ? result_texts[r] : "?";
}

/* ---- keypairs and workers (control thread) ---- */

int
wg_keypair_create(struct wg_keypair **out, const uint8_t send_key[WG_KEY_LEN],
    const uint8_t recv_key[WG_KEY_LEN], uint32_t local_index,
    uint32_t remote_index)
{
	struct wg_keypair *kp;
	size_t sz = (sizeof(*kp) + HG_CACHE_LINE - 1) & ~(size_t)(HG_CACHE_LINE - 1);

	if ((kp = aligned_alloc(HG_CACHE_LINE, sz)) == NULL)
		return -ENOMEM;
	memset(kp, 0, sizeof(*kp));
	memcpy(kp->send_key, send_key, WG_KEY_LEN);
	memcpy(kp->recv_key, recv_key, WG_KEY_LEN);
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	if (esp_replay_init(&kp->replay, WG_REPLAY_WINDOW, false) != 0) {
		free(kp);
		return -EINVAL;		/* WG_REPLAY_WINDOW too large */
	}
	*out = kp;
	return 0;
}

void
wg_keypair_free(struct wg_keypair *kp)
{
	if (kp == NULL)
		return;
	OPENSSL_cleanse(kp, sizeof(*kp));
	free(kp);
}

uint32_t
wg_keypair_local_index(const struct wg_keypair *kp)
{
	return kp->local_index;
}

void
wg_keypair_test_set_send(struct wg_keypair *kp, uint64_t next)
{
	atomic_store(&kp->send_next, next);
}

void
wg_keypair_stats(const struct wg_keypair *kp, struct wg_keypair_stats *st)
{
	struct wg_keypair *k = (struct wg_keypair *)kp;

	memset(st, 0, sizeof(*st));
	st->tx_pkts = atomic_load(&k->tx_pkts);
	st->tx_bytes = atomic_load(&k->tx_bytes);
	st->rx_pkts = atomic_load(&k->rx_pkts);
	st->rx_bytes = atomic_load(&k->rx_bytes);
	st->keepalives = atomic_load(&k->keepalives);
	for (int r = 0; r < WG_R_COUNT; r++)
		st->drops[r] = atomic_load(&k->tx_drops[r]) +
		    atomic_load(&k->rx_drops[r]);
	st->send_next = atomic_load(&k->send_next);
}

int
wg_worker_create(struct wg_worker **out)
{
	struct wg_worker *w;
	size_t sz = (sizeof(*w) + HG_CACHE_LINE - 1) & ~(size_t)(HG_CACHE_LINE - 1);

	if ((w = aligned_alloc(HG_CACHE_LINE, sz)) == NULL)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	if ((w->mgr = alloc_mb_mgr(0)) == NULL) {
		free(w);
		return -ENOMEM;
	}
	init_mb_mgr_auto(w->mgr, NULL);
	if (imb_get_errno(w->mgr) != 0) {
		free_mb_mgr(w->mgr);
		free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

void
wg_worker_free(struct wg_worker *w)
{
	if (w == NULL)
		return;
	free_mb_mgr(w->mgr);
	OPENSSL_cleanse(w, sizeof(*w));	/* nonces and tags of live traffic */
	free(w);
}

uint64_t
wg_worker_drops(const struct wg_worker *w, enum wg_result r)
{
	return (unsigned)r < WG_R_COUNT ? w->drops[r] : 0;
}

/* ---- the AEAD job ---- */

static void
fill_job(IMB_JOB *job, const uint8_t *key, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
    uint8_t *tag, bool enc, void *user)
{
	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = enc ? IMB_ORDER_CIPHER_HASH :
	    IMB_ORDER_HASH_CIPHER;
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->enc_keys = key;
	job->dec_keys = key;
	job->key_len_in_bytes = 32;
	job->src = buf;
	job->dst = buf;
	job->cipher_start_src_offset_in_bytes = 0;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->msg_len_to_hash_in_bytes = len;
	job->iv = nonce;
	job->iv_len_in_bytes = 12;
	job->u.CHACHA20_POLY1305.aad = aad;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = aad_len;
	/* On decryption the library writes the tag it computed here; we
	 * compare it ourselves, in constant time. */
	job->auth_tag_output = tag;
	job->auth_tag_output_len_in_bytes = WG_TAG_LEN;
	job->user_data = user;
}

static inline void
job_done(IMB_JOB *job)
{
	struct wg_slot *s = job->user_data;

	s->crypto_ok = job->status == IMB_STATUS_COMPLETED;
}

static void
flush(struct wg_worker *w)
{
	IMB_JOB *job;

	while ((job = IMB_FLUSH_JOB(w->mgr)) != NULL)
		job_done(job);
}

static int
aead_one(struct wg_worker *w, const uint8_t key[WG_KEY_LEN],
    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len, uint8_t tag[WG_TAG_LEN], bool enc)
{
	struct wg_slot *s = &w->slot[0];
	IMB_JOB *job;

	s->crypto_ok = false;
	job = IMB_GET_NEXT_JOB(w->mgr);
	fill_job(job, key, nonce, aad, aad_len, buf, len, s->tag, enc, s);
	if ((job = IMB_SUBMIT_JOB(w->mgr)) != NULL)
		job_done(job);
	flush(w);
	if (!s->crypto_ok)
		return -EIO;
	if (enc) {
		memcpy(tag, s->tag, WG_TAG_LEN);
		return 0;
	}
	return CRYPTO_memcmp(tag, s->tag, WG_TAG_LEN) == 0 ? 0 : -EBADMSG;
}

int
wg_aead_seal(struct wg_worker *w, const uint8_t key[WG_KEY_LEN],
    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len, uint8_t tag[WG_TAG_LEN])
{
	return aead_one(w, key, nonce, aad, aad_len, buf, len, tag, true);
}

int
wg_aead_open(struct wg_worker *w, const uint8_t key[WG_KEY_LEN],
    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len, const uint8_t tag[WG_TAG_LEN])
{
	return aead_one(w, key, nonce, aad, aad_len, buf, len, (uint8_t *)tag,
	    false);
}

static inline void
make_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	hg_wr64le(nonce + 4, counter);
}

static inline void
submit(struct wg_worker *w, struct wg_slot *s, const uint8_t *key, bool enc)
{
	IMB_JOB *job = IMB_GET_NEXT_JOB(w->mgr);

	s->crypto_ok = false;
	fill_job(job, key, s->nonce, NULL, 0, s->ct, s->ct_len, s->tag, enc,
	    s);
	if ((job = IMB_SUBMIT_JOB(w->mgr)) != NULL)
		job_done(job);
}

/* ---- encapsulation ---- */

/* The next counter, never one another worker got, never at the limit. */
static bool
counter_take(struct wg_keypair *kp, uint64_t *counter)
{
	uint64_t next = atomic_load_explicit(&kp->send_next,
	    memory_order_relaxed);

	do {
		if (next >= WG_REJECT_AFTER_MESSAGES)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&kp->send_next,
	    &next, next + 1, memory_order_relaxed, memory_order_relaxed));
	*counter = next;
	return true;
}

static enum wg_result
encap_one(struct wg_keypair *kp, struct pkt *p, uint16_t mtu,
    struct wg_slot *s)
{
	uint32_t inner = p->l3_len, padded = (inner + 15) & ~15u;
	uint8_t *hdr, *tail;

	/* Padding never takes the packet past the interface's MTU (the
	 * paper §5.4.6): 1420 bytes padded to 1424 would not fit an IPv6
	 * path of 1500 with the outer headers. */
	if (mtu != 0 && padded > mtu)
		padded = inner > mtu ? inner : mtu;

	if (inner != 0 && p->l3 != PKT_L3_IP4 && p->l3 != PKT_L3_IP6)
		return WG_R_NOT_IP;
	if ((uint32_t)p->l3_off + inner > p->len)
		return WG_R_NOT_IP;
	/* Keep only the inner packet, then grow it at both ends. */
	p->data += p->l3_off;
	p->len = (uint16_t)inner;
	p->l3_off = 0;
	if (pkt_tailroom(p) < padded - inner + WG_TAG_LEN ||
	    pkt_headroom(p) < WG_DATA_HDR_LEN)
		return WG_R_NO_ROOM;
	if (!counter_take(kp, &s->counter))
		return WG_R_EXHAUSTED;
	tail = pkt_append(p, (uint16_t)(padded - inner + WG_TAG_LEN));
	memset(tail, 0, padded - inner);
	hdr = pkt_prepend(p, WG_DATA_HDR_LEN);
	hdr[0] = WG_MSG_DATA;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hg_wr32le(hdr + 4, kp->remote_index);
	hg_wr64le(hdr + 8, s->counter);
	p->l3 = PKT_L3_NONE;
	p->l3_len = 0;
	p->l4_off = 0;
	s->ct = hdr + WG_DATA_HDR_LEN;
	s->ct_len = padded;
	make_nonce(s->nonce, s->counter);
	return WG_R_OK;
}

void
wg_encap_burst(struct wg_worker *w, struct wg_keypair *kp, struct pkt **pkts,
    uint16_t n, uint16_t mtu, uint8_t res[])
{
	uint64_t pkts_ok = 0, bytes = 0, drops[WG_R_COUNT] = { 0 };
	uint32_t inner[PKT_BATCH_MAX];
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct wg_slot *s = &w->slot[i];

		inner[i] = pkts[i]->l3_len;
		s->res = encap_one(kp, pkts[i], mtu, s);
		if (s->res == WG_R_OK)
			submit(w, s, kp->send_key, true);
	}
	flush(w);
	for (i = 0; i < n; i++) {
		struct wg_slot *s = &w->slot[i];

		if (s->res == WG_R_OK && !s->crypto_ok)
			s->res = WG_R_CRYPTO;
		if (s->res == WG_R_OK) {
			memcpy(s->ct + s->ct_len, s->tag, WG_TAG_LEN);
			pkts_ok++;
			bytes += inner[i];
		} else {
			drops[s->res]++;
		}
		res[i] = s->res;
	}
	atomic_fetch_add_explicit(&kp->tx_pkts, pkts_ok, memory_order_relaxed);
	atomic_fetch_add_explicit(&kp->tx_bytes, bytes, memory_order_relaxed);
	for (i = 0; i < WG_R_COUNT; i++)
		if (drops[i] != 0)
			atomic_fetch_add_explicit(&kp->tx_drops[i], drops[i],
			    memory_order_relaxed);
}

int
wg_keepalive_make(struct wg_worker *w, struct wg_keypair *kp,
    uint8_t out[WG_DATA_MIN_LEN])
{
	uint8_t nonce[12];
	uint64_t counter;

	if (!counter_take(kp, &counter)) {
		atomic_fetch_add_explicit(&kp->tx_drops[WG_R_EXHAUSTED], 1,
		    memory_order_relaxed);
		return -EKEYEXPIRED;
	}
	out[0] = WG_MSG_DATA;
	out[1] = out[2] = out[3] = 0;
	hg_wr32le(out + 4, kp->remote_index);
	hg_wr64le(out + 8, counter);
	make_nonce(nonce, counter);
	/* Nothing to encrypt: the tag alone authenticates the header's
	 * counter through the nonce. */
	if (aead_one(w, kp->send_key, nonce, NULL, 0, out + WG_DATA_HDR_LEN,
	    0, out + WG_DATA_HDR_LEN, true) < 0) {
		atomic_fetch_add_explicit(&kp->tx_drops[WG_R_CRYPTO], 1,
		    memory_order_relaxed);
		return -EIO;
	}
	atomic_fetch_add_explicit(&kp->tx_pkts, 1, memory_order_relaxed);
	return 0;
}

/* ---- decapsulation ---- */

/* The receiving worker is the only writer: a plain load and store. */
static inline void
rx_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + v, memory_order_relaxed);
}

static enum wg_result
decap_one(struct wg_worker *w, wg_lookup_fn lookup, void *ctx,
    struct pkt *p, struct wg_slot *s)
{
	const uint8_t *m = p->data;

	s->kp = NULL;
	if (p->len < WG_DATA_MIN_LEN)
		return WG_R_TRUNCATED;
	if (m[0] != WG_MSG_DATA || m[1] != 0 || m[2] != 0 || m[3] != 0)
		return WG_R_TYPE;
	if ((s->kp = lookup(ctx, hg_rd32le(m + 4))) == NULL)
		return WG_R_NO_KEYPAIR;
	s->counter = hg_rd64le(m + 8);
	if (s->counter >= WG_REJECT_AFTER_MESSAGES)
		return WG_R_COUNTER;
	if (!esp_replay_check(&s->kp->replay, s->counter + 1))
		return WG_R_REPLAY;
	s->ct = p->data + WG_DATA_HDR_LEN;
	s->ct_len = p->len - WG_DATA_MIN_LEN;
	make_nonce(s->nonce, s->counter);
	submit(w, s, s->kp->recv_key, false);
	return WG_R_OK;
}

/* After the tag verified: the inner packet's own length, which drops the
 * padding.  Keepalive when there is no plaintext at all. */
static enum wg_result
decap_finish(struct pkt *p, struct wg_slot *s)
{
	const uint8_t *ip = s->ct;
	uint32_t len;

	if (s->ct_len == 0)
		return WG_R_KEEPALIVE;
	switch (ip[0] >> 4) {
	case 4:
		if (s->ct_len < IP4_HDR_LEN)
			return WG_R_INNER;
		len = hg_rd16be(ip + 2);
		if (len < IP4_HDR_LEN || (ip[0] & 0xf) < 5 ||
		    (uint32_t)(ip[0] & 0xf) * 4 > len)
			return WG_R_INNER;
		p->l3 = PKT_L3_IP4;
		break;
	case 6:
		if (s->ct_len < IP6_HDR_LEN)
			return WG_R_INNER;
		len = IP6_HDR_LEN + (uint32_t)hg_rd16be(ip + 4);
		p->l3 = PKT_L3_IP6;
		break;
	default:
		return WG_R_NOT_IP;
	}
	if (len > s->ct_len)
		return WG_R_INNER;
	p->data = s->ct;
	p->len = (uint16_t)len;
	p->l3_off = 0;
	p->l3_len = (uint16_t)len;
	p->l4_off = 0;
	return WG_R_OK;
}

void
wg_decap_burst(struct wg_worker *w, wg_lookup_fn lookup, void *ctx,
    struct pkt **pkts, uint16_t n, uint8_t res[])
{
	uint16_t i;

	for (i = 0; i < n; i++)
		w->slot[i].res = decap_one(w, lookup, ctx, pkts[i],
		    &w->slot[i]);
	flush(w);
	for (i = 0; i < n; i++) {
		struct wg_slot *s = &w->slot[i];
		struct wg_keypair *kp = s->kp;

		if (s->res == WG_R_OK) {
			if (!s->crypto_ok)
				s->res = WG_R_CRYPTO;
			else if (CRYPTO_memcmp(s->tag, s->ct + s->ct_len,
			    WG_TAG_LEN) != 0)
				s->res = WG_R_AUTH;
			/* Only now may the window move (a forged packet
			 * must not), and a second copy in this burst of a
			 * counter is refused here. */
			else if (!esp_replay_update(&kp->replay,
			    s->counter + 1))
				s->res = WG_R_REPLAY;
			else
				s->res = decap_finish(pkts[i], s);
		}
		if (kp == NULL)
			w->drops[s->res]++;
		else if (s->res == WG_R_OK) {
			rx_add(&kp->rx_pkts, 1);
			rx_add(&kp->rx_bytes, pkts[i]->l3_len);
		} else if (s->res == WG_R_KEEPALIVE)
			rx_add(&kp->keepalives, 1);
		else
			rx_add(&kp->rx_drops[s->res], 1);
		res[i] = s->res;
	}
}
