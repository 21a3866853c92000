/*
 * src/tun/esp.c: ESP tunnel mode (RFC 4303) and ESP-in-UDP (RFC 3948).
 * Every cipher and MAC comes from intel-ipsec-mb's job API: a burst is
 * prepared packet by packet (checks, headers, trailer, one job each), the
 * library runs the jobs several buffers at a time, and the results are
 * finished in packet order, so the replay window sees packets in the
 * order they came.  The window itself is replay.c; SA lookup, routing and
 * ICMP errors are src/dp's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <endian.h>

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include "../lib/bytes.h"
#include "esp.h"
#include "replay.h"

#define ESP_ICV_MAX	32	/* HMAC-SHA-512-256 */
#define ESP_NH_IPV4	4
#define ESP_NH_IPV6	41
#define ESP_NH_DUMMY	59	/* RFC 4303 §2.6 */

/* Per packet of a burst: what the job reads and writes besides the
 * packet, and what finishing needs. */
struct esp_slot {
	uint8_t iv[16] HG_ALIGNED(16);	/* AEAD nonce, or CBC's zero IV */
	uint8_t aad[12];
	uint8_t tag[64];		/* ICV the library computed */
	uint8_t icv[ESP_ICV_MAX];	/* ICV received, saved before an ESN's
					   high half is written over it */
	uint8_t *esp;
	uint32_t ct_len;		/* encrypted bytes */
	uint64_t seq;
	uint8_t res;			/* enum esp_result so far */
	bool crypto_ok;
};

struct esp_worker {
	IMB_MGR *mgr;
	struct esp_slot slot[PKT_BATCH_MAX];
};

struct esp_sa {
	/* Read by every packet, written only at creation. */
	uint32_t spi;
	uint8_t alg, family, iv_len, icv_len, align, ttl;
	bool inbound, esn, udp_encap, aead;
	uint16_t udp_sport, udp_dport, mtu_bytes;
	uint8_t salt[4];
	IMB_KEY_SIZE_BYTES aes_key_len;
	IMB_HASH_ALG hash_alg;
	uint64_t soft_bytes, hard_bytes, soft_pkts, hard_pkts;
	uint8_t src[16], dst[16];
	uint32_t replay_window_pkts;
	/* Keys, as the library wants them (aligned, expanded). */
	struct gcm_key_data gcm HG_ALIGNED(64);
	uint8_t chacha_key[32] HG_ALIGNED(16);
	uint32_t cbc_enc[60] HG_ALIGNED(16), cbc_dec[60] HG_ALIGNED(16);
	uint8_t ipad[64] HG_ALIGNED(16), opad[64] HG_ALIGNED(16);

	/* Outbound: the one field every sending worker writes, on its own
	 * cache line so the read-mostly fields above stay shared. */
	_Alignas(HG_CACHE_LINE) _Atomic uint64_t seq_last;
	/* Inbound: the decapsulating worker's alone. */
	_Alignas(HG_CACHE_LINE) struct esp_replay replay;
	/* Added to once per burst. */
	_Alignas(HG_CACHE_LINE) _Atomic uint64_t pkts;
	_Atomic uint64_t bytes;
	_Atomic uint64_t drops[ESP_R_COUNT];
	_Atomic bool soft_expired, dead;
};

static const char *const result_names[] = {
#define ESP_NAME(e, name, text) name,
	ESP_RESULTS(ESP_NAME)
#undef ESP_NAME
};
static const char *const result_texts[] = {
#define ESP_TEXT(e, name, text) text,
	ESP_RESULTS(ESP_TEXT)
#undef ESP_TEXT
};
_Static_assert(HG_ARRAY_SIZE(result_names) == ESP_R_COUNT, "names");

static const char *const alg_names[] = {
	[ESP_ALG_AES_GCM_16] = "aes-gcm-16",
	[ESP_ALG_CHACHA20_POLY1305] = "chacha20-poly1305",
	[ESP_ALG_AES_CBC_HMAC_SHA256] = "aes-cbc-hmac-sha256-128",
	[ESP_ALG_AES_CBC_HMAC_SHA384] = "aes-cbc-hmac-sha384-192",
	[ESP_ALG_AES_CBC_HMAC_SHA512] = "aes-cbc-hmac-sha512-256",
};
_Static_assert(HG_ARRAY_SIZE(alg_names) == ESP_ALG_COUNT, "alg names");

const char *
esp_alg_name(enum esp_alg alg)
{
	return (unsigned)alg < ESP_ALG_COUNT ? alg_names[alg] : "?";
}

const char *
esp_result_name(enum esp_result r)
{
	return (unsigned)r < ESP_R_COUNT ? result_names[r] : "?";
}

const char *
esp_result_text(enum esp_result r)
{
	return (unsigned)r < ESP_R_COUNT ? result_texts[r] : "?";
}

/* ---- workers and SAs (control thread) ---- */

static IMB_MGR *
mgr_new(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);

	if (m == NULL)
		return NULL;
	init_mb_mgr_auto(m, NULL);
	if (imb_get_errno(m) != 0) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

int
esp_worker_create(struct esp_worker **out)
{
	struct esp_worker *w;

	w = aligned_alloc(HG_CACHE_LINE, sizeof(*w) + HG_CACHE_LINE -
	    sizeof(*w) % HG_CACHE_LINE);
	if (w == NULL)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	if ((w->mgr = mgr_new()) == NULL) {
		free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

void
esp_worker_free(struct esp_worker *w)
{
	if (w == NULL)
		return;
	free_mb_mgr(w->mgr);
	/* The slots held nonces and tags of live traffic. */
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
}

/* HMAC's inner and outer states after the key block (RFC 2104), which
 * the library's HMAC jobs start from. */
static void
hmac_pads(IMB_MGR *m, struct esp_sa *sa, const uint8_t *key, size_t len)
{
	uint8_t ib[128], ob[128];
	size_t block = sa->hash_alg == IMB_AUTH_HMAC_SHA_256 ? 64 : 128;

	memset(ib, 0x36, block);
	memset(ob, 0x5c, block);
	for (size_t i = 0; i < len; i++) {
		ib[i] ^= key[i];
		ob[i] ^= key[i];
	}
	switch (sa->hash_alg) {
	case IMB_AUTH_HMAC_SHA_256:
		IMB_SHA256_ONE_BLOCK(m, ib, sa->ipad);
		IMB_SHA256_ONE_BLOCK(m, ob, sa->opad);
		break;
	case IMB_AUTH_HMAC_SHA_384:
		IMB_SHA384_ONE_BLOCK(m, ib, sa->ipad);
		IMB_SHA384_ONE_BLOCK(m, ob, sa->opad);
		break;
	default:
		IMB_SHA512_ONE_BLOCK(m, ib, sa->ipad);
		IMB_SHA512_ONE_BLOCK(m, ob, sa->opad);
		break;
	}
	OPENSSL_cleanse(ib, sizeof(ib));
	OPENSSL_cleanse(ob, sizeof(ob));
}

/* Validates c and fills the algorithm fields; no keys yet. */
static int
sa_check(struct esp_sa *sa, const struct esp_sa_config *c, const char **why)
{
	size_t ek = c->enc_key_len, want_auth = 0;

	*why = NULL;
	if (c->spi < 256) {
		*why = "spi: 0..255 are reserved (RFC 4303 §2.1)";
		return -EINVAL;
	}
	if (c->family != 4 && c->family != 6) {
		*why = "family: 4 or 6";
		return -EINVAL;
	}
	if (c->enc_key == NULL) {
		*why = "enc_key: missing";
		return -EINVAL;
	}
	switch (c->alg) {
	case ESP_ALG_AES_GCM_16:
	case ESP_ALG_CHACHA20_POLY1305:
		if ((c->alg == ESP_ALG_AES_GCM_16 && ek != 20 && ek != 28 &&
		    ek != 36) || (c->alg == ESP_ALG_CHACHA20_POLY1305 &&
		    ek != 36)) {
			*why = "enc_key: the key then a 4-byte salt "
			    "(20, 28 or 36 bytes; ChaCha20 36)";
			return -EINVAL;
		}
		sa->aead = true;
		sa->iv_len = 8;
		sa->icv_len = 16;
		sa->align = 4;
		sa->aes_key_len = (IMB_KEY_SIZE_BYTES)(ek - 4);
		memcpy(sa->salt, c->enc_key + ek - 4, 4);
		break;
	case ESP_ALG_AES_CBC_HMAC_SHA256:
	case ESP_ALG_AES_CBC_HMAC_SHA384:
	case ESP_ALG_AES_CBC_HMAC_SHA512:
		if (ek != 16 && ek != 24 && ek != 32) {
			*why = "enc_key: AES-CBC takes 16, 24 or 32 bytes";
			return -EINVAL;
		}
		sa->iv_len = 16;
		sa->align = 16;
		sa->aes_key_len = (IMB_KEY_SIZE_BYTES)ek;
		if (c->alg == ESP_ALG_AES_CBC_HMAC_SHA256) {
			sa->hash_alg = IMB_AUTH_HMAC_SHA_256;
			want_auth = 32;
		} else if (c->alg == ESP_ALG_AES_CBC_HMAC_SHA384) {
			sa->hash_alg = IMB_AUTH_HMAC_SHA_384;
			want_auth = 48;
		} else {
			sa->hash_alg = IMB_AUTH_HMAC_SHA_512;
			want_auth = 64;
		}
		/* RFC 4868 §2.1.1: key as long as the hash, ICV half. */
		sa->icv_len = (uint8_t)(want_auth / 2);
		if (c->auth_key == NULL || c->auth_key_len != want_auth) {
			*why = "auth_key: as long as the hash output "
			    "(RFC 4868 §2.1.1)";
			return -EINVAL;
		}
		break;
	default:
		*why = "alg: unknown";
		return -EINVAL;
	}
	return 0;
}

int
esp_sa_create(struct esp_sa **out, const struct esp_sa_config *c,
    const char **why)
{
	struct esp_sa *sa;
	IMB_MGR *m = NULL;
	const char *dummy;
	size_t size = (sizeof(*sa) + HG_CACHE_LINE - 1) &
	    ~(size_t)(HG_CACHE_LINE - 1);
	int rc;

	if (why == NULL)
		why = &dummy;
	if ((sa = aligned_alloc(HG_CACHE_LINE, size)) == NULL)
		return -ENOMEM;
	memset(sa, 0, size);
	if ((rc = sa_check(sa, c, why)) != 0)
		goto out;
	if (c->inbound && (rc = esp_replay_init(&sa->replay,
	    c->replay_window_pkts, c->esn)) != 0) {
		*why = "replay_window_pkts: at most 4032";
		goto out;
	}
	sa->spi = c->spi;
	sa->alg = (uint8_t)c->alg;
	sa->inbound = c->inbound;
	sa->esn = c->esn;
	sa->family = c->family;
	memcpy(sa->src, c->src, 16);
	memcpy(sa->dst, c->dst, 16);
	sa->udp_encap = c->udp_encap;
	sa->udp_sport = c->udp_sport != 0 ? c->udp_sport : ESP_UDP_PORT;
	sa->udp_dport = c->udp_dport != 0 ? c->udp_dport : ESP_UDP_PORT;
	sa->mtu_bytes = c->mtu_bytes;
	sa->ttl = c->ttl != 0 ? c->ttl : 64;
	sa->replay_window_pkts = c->inbound ? sa->replay.window_pkts : 0;
	sa->soft_bytes = c->soft_bytes;
	sa->hard_bytes = c->hard_bytes;
	sa->soft_pkts = c->soft_pkts;
	sa->hard_pkts = c->hard_pkts;

	/* Key schedules need a manager; this one lives for the call. */
	if ((m = mgr_new()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	switch (c->alg) {
	case ESP_ALG_AES_GCM_16:
		if (sa->aes_key_len == IMB_KEY_128_BYTES)
			IMB_AES128_GCM_PRE(m, c->enc_key, &sa->gcm);
		else if (sa->aes_key_len == IMB_KEY_192_BYTES)
			IMB_AES192_GCM_PRE(m, c->enc_key, &sa->gcm);
		else
			IMB_AES256_GCM_PRE(m, c->enc_key, &sa->gcm);
		break;
	case ESP_ALG_CHACHA20_POLY1305:
		memcpy(sa->chacha_key, c->enc_key, 32);
		break;
	default:
		if (sa->aes_key_len == IMB_KEY_128_BYTES)
			IMB_AES_KEYEXP_128(m, c->enc_key, sa->cbc_enc,
			    sa->cbc_dec);
		else if (sa->aes_key_len == IMB_KEY_192_BYTES)
			IMB_AES_KEYEXP_192(m, c->enc_key, sa->cbc_enc,
			    sa->cbc_dec);
		else
			IMB_AES_KEYEXP_256(m, c->enc_key, sa->cbc_enc,
			    sa->cbc_dec);
		hmac_pads(m, sa, c->auth_key, c->auth_key_len);
		break;
	}
	*out = sa;
	sa = NULL;
	rc = 0;
out:
	if (m != NULL)
		free_mb_mgr(m);
	if (sa != NULL) {
		OPENSSL_cleanse(sa, size);
		free(sa);
	}
	return rc;
}

int
esp_sa_move(struct esp_sa **out, struct esp_sa *old, const uint8_t dst[16],
    uint16_t udp_dport)
{
	size_t size = (sizeof(*old) + HG_CACHE_LINE - 1) &
	    ~(size_t)(HG_CACHE_LINE - 1);
	struct esp_sa *sa;
	uint64_t last;
	bool dead;

	if (old->inbound)
		return -EINVAL;
	dead = atomic_load_explicit(&old->dead, memory_order_relaxed);
	if ((sa = aligned_alloc(HG_CACHE_LINE, size)) == NULL)
		return -ENOMEM;
	/* The old one hands out no sequence number from here: what a worker
	 * still sends through it until the grace period ends is refused
	 * (seq_wrap), and the copy goes on from the last one it gave. */
	last = atomic_exchange_explicit(&old->seq_last, UINT64_MAX,
	    memory_order_relaxed);
	memcpy(sa, old, sizeof(*sa));
	atomic_store_explicit(&sa->seq_last, last, memory_order_relaxed);
	atomic_store_explicit(&sa->dead, dead, memory_order_relaxed);
	memcpy(sa->dst, dst, 16);
	if (udp_dport != 0)
		sa->udp_dport = udp_dport;
	*out = sa;
	return 0;
}

void
esp_sa_set_peer_shown(struct esp_sa *sa, const uint8_t peer[16])
{
	/* Only printing reads an inbound SA's outer addresses. */
	if (sa->inbound)
		memcpy(sa->src, peer, 16);
}

void
esp_sa_free(struct esp_sa *sa)
{
	if (sa == NULL)
		return;
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

void
esp_sa_test_set_seq(struct esp_sa *sa, uint64_t seq_last)
{
	atomic_store(&sa->seq_last, seq_last);
}

bool
esp_sa_is_soft_expired(const struct esp_sa *sa)
{
	return atomic_load_explicit(&sa->soft_expired, memory_order_relaxed);
}

bool
esp_sa_is_dead(const struct esp_sa *sa)
{
	return atomic_load_explicit(&sa->dead, memory_order_relaxed);
}

/* ---- the transform ---- */

/* RFC 4106 §5 / RFC 7634 §2.1: SPI, [high half,] low half. */
static void
make_aad(const struct esp_sa *sa, struct esp_slot *s, uint64_t seq)
{
	uint32_t v = htonl(sa->spi);

	memcpy(s->aad, &v, 4);
	if (sa->esn) {
		v = htonl((uint32_t)(seq >> 32));
		memcpy(s->aad + 4, &v, 4);
		v = htonl((uint32_t)seq);
		memcpy(s->aad + 8, &v, 4);
	} else {
		v = htonl((uint32_t)seq);
		memcpy(s->aad + 4, &v, 4);
	}
}

/*
 * Fills one job for the ESP packet at s->esp whose payload (after header
 * and IV) is s->ct_len bytes.  cbc_nonce: the IV bytes in the packet
 * hold a nonce block that the cipher turns into the IV (see encap_one).
 */
static void
fill_job(IMB_JOB *job, const struct esp_sa *sa, struct esp_slot *s,
    bool enc, bool cbc_nonce)
{
	uint8_t *payload = s->esp + ESP_HDR_LEN + sa->iv_len;

	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = enc ? IMB_ORDER_CIPHER_HASH :
	    IMB_ORDER_HASH_CIPHER;
	job->auth_tag_output = s->tag;
	job->user_data = s;
	if (sa->aead) {
		job->src = payload;
		job->dst = payload;
		job->cipher_start_src_offset_in_bytes = 0;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_cipher_in_bytes = s->ct_len;
		job->msg_len_to_hash_in_bytes = s->ct_len;
		job->iv = s->iv;
		job->iv_len_in_bytes = 12;
		job->auth_tag_output_len_in_bytes = 16;
		if (sa->alg == ESP_ALG_AES_GCM_16) {
			job->cipher_mode = IMB_CIPHER_GCM;
			job->hash_alg = IMB_AUTH_AES_GMAC;
			job->enc_keys = &sa->gcm;
			job->dec_keys = &sa->gcm;
			job->key_len_in_bytes = sa->aes_key_len;
			job->u.GCM.aad = s->aad;
			job->u.GCM.aad_len_in_bytes = sa->esn ? 12 : 8;
		} else {
			job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
			job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
			job->enc_keys = sa->chacha_key;
			job->dec_keys = sa->chacha_key;
			job->key_len_in_bytes = 32;
			job->u.CHACHA20_POLY1305.aad = s->aad;
			job->u.CHACHA20_POLY1305.aad_len_in_bytes =
			    sa->esn ? 12 : 8;
		}
		return;
	}
	job->cipher_mode = IMB_CIPHER_CBC;
	job->hash_alg = sa->hash_alg;
	job->enc_keys = sa->cbc_enc;
	job->dec_keys = sa->cbc_dec;
	job->key_len_in_bytes = sa->aes_key_len;
	job->src = s->esp;
	job->iv_len_in_bytes = 16;
	if (cbc_nonce) {
		/* Encrypting the nonce block with a zero IV makes the IV. */
		job->cipher_start_src_offset_in_bytes = ESP_HDR_LEN;
		job->msg_len_to_cipher_in_bytes = 16 + s->ct_len;
		job->dst = s->esp + ESP_HDR_LEN;
		job->iv = s->iv;
	} else {
		job->cipher_start_src_offset_in_bytes = ESP_HDR_LEN + 16;
		job->msg_len_to_cipher_in_bytes = s->ct_len;
		job->dst = payload;
		job->iv = s->esp + ESP_HDR_LEN;
	}
	/* RFC 4303 §2.2.1 / A3.3: with ESN the high half is hashed after
	 * the payload, from where the ICV goes. */
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = ESP_HDR_LEN + 16 + s->ct_len +
	    (sa->esn ? 4 : 0);
	job->auth_tag_output_len_in_bytes = sa->icv_len;
	job->u.HMAC._hashed_auth_key_xor_ipad = sa->ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = sa->opad;
}

static inline void
job_done(IMB_JOB *job)
{
	struct esp_slot *s = job->user_data;

	s->crypto_ok = job->status == IMB_STATUS_COMPLETED;
}

static inline void
submit(struct esp_worker *w, const struct esp_sa *sa, struct esp_slot *s,
    bool enc, bool cbc_nonce)
{
	IMB_JOB *job = IMB_GET_NEXT_JOB(w->mgr);

	s->crypto_ok = false;
	fill_job(job, sa, s, enc, cbc_nonce);
	if ((job = IMB_SUBMIT_JOB(w->mgr)) != NULL)
		job_done(job);
}

static void
flush(struct esp_worker *w)
{
	IMB_JOB *job;

	while ((job = IMB_FLUSH_JOB(w->mgr)) != NULL)
		job_done(job);
}

/* Writes the ESP header and, for AEAD, the nonce and AAD. */
static void
seal_setup(const struct esp_sa *sa, struct esp_slot *s, uint64_t seq,
    const uint8_t *iv)
{
	uint32_t v;

	v = htonl(sa->spi);
	memcpy(s->esp, &v, 4);
	v = htonl((uint32_t)seq);
	memcpy(s->esp + 4, &v, 4);
	s->seq = seq;
	if (sa->aead) {
		memcpy(s->iv, sa->salt, 4);
		memcpy(s->iv + 4, iv, 8);
		memcpy(s->esp + ESP_HDR_LEN, iv, 8);
		make_aad(sa, s, seq);
	}
	if (!sa->aead && sa->esn) {
		v = htonl((uint32_t)(seq >> 32));
		memcpy(s->esp + ESP_HDR_LEN + 16 + s->ct_len, &v, 4);
	}
}

static void
seal_finish(const struct esp_sa *sa, struct esp_slot *s)
{
	memcpy(s->esp + ESP_HDR_LEN + sa->iv_len + s->ct_len, s->tag,
	    sa->icv_len);
}

int
esp_seal(struct esp_worker *w, const struct esp_sa *sa, uint64_t seq,
    const uint8_t *iv, uint8_t *esp, uint32_t pt_len)
{
	struct esp_slot *s = &w->slot[0];

	if (pt_len % sa->align != 0)
		return -EINVAL;
	s->esp = esp;
	s->ct_len = pt_len;
	seal_setup(sa, s, seq, iv);
	if (!sa->aead)
		memcpy(esp + ESP_HDR_LEN, iv, 16);
	submit(w, sa, s, true, false);
	flush(w);
	if (!s->crypto_ok)
		return -EIO;
	seal_finish(sa, s);
	return (int)(ESP_HDR_LEN + sa->iv_len + pt_len + sa->icv_len);
}

/* Before the job of an inbound packet: nonce, AAD, the ICV saved. */
static void
open_setup(const struct esp_sa *sa, struct esp_slot *s, uint64_t seq)
{
	uint8_t *icv = s->esp + ESP_HDR_LEN + sa->iv_len + s->ct_len;

	s->seq = seq;
	memcpy(s->icv, icv, sa->icv_len);
	if (sa->aead) {
		memcpy(s->iv, sa->salt, 4);
		memcpy(s->iv + 4, s->esp + ESP_HDR_LEN, 8);
		make_aad(sa, s, seq);
	} else if (sa->esn) {
		uint32_t v = htonl((uint32_t)(seq >> 32));

		memcpy(icv, &v, 4);
	}
}

static inline bool
open_verified(const struct esp_sa *sa, const struct esp_slot *s)
{
	return s->crypto_ok && CRYPTO_memcmp(s->tag, s->icv,
	    sa->icv_len) == 0;
}

/* The bytes an ESP packet of esp_len holds for ciphertext; 0 when it
 * cannot be one (too short, or not whole blocks or words). */
static enum esp_result
ct_len_of(const struct esp_sa *sa, uint32_t esp_len, uint32_t *ct_len)
{
	uint32_t fixed = ESP_HDR_LEN + sa->iv_len + sa->icv_len;

	/* At least the pad length and next header bytes, rounded up. */
	if (esp_len < fixed + sa->align)
		return ESP_R_TRUNCATED;
	*ct_len = esp_len - fixed;
	if (*ct_len % sa->align != 0)
		return ESP_R_MALFORMED;
	return ESP_R_OK;
}

int
esp_open(struct esp_worker *w, const struct esp_sa *sa, uint64_t seq,
    uint8_t *esp, uint32_t esp_len)
{
	struct esp_slot *s = &w->slot[0];

	if (ct_len_of(sa, esp_len, &s->ct_len) != ESP_R_OK)
		return -EINVAL;
	s->esp = esp;
	open_setup(sa, s, seq);
	submit(w, sa, s, false, false);
	flush(w);
	return open_verified(sa, s) ? 0 : -EBADMSG;
}

/* ---- counters and lifetimes ---- */

struct burst_count {
	uint64_t pkts, bytes;
	uint32_t drops[ESP_R_COUNT];
};

static void
count_flush(struct esp_sa *sa, const struct burst_count *bc)
{
	uint64_t pkts = 0, bytes = 0;

	if (bc->pkts != 0) {
		pkts = atomic_fetch_add_explicit(&sa->pkts, bc->pkts,
		    memory_order_relaxed) + bc->pkts;
		bytes = atomic_fetch_add_explicit(&sa->bytes, bc->bytes,
		    memory_order_relaxed) + bc->bytes;
	}
	for (int r = 1; r < ESP_R_COUNT; r++)
		if (bc->drops[r] != 0)
			atomic_fetch_add_explicit(&sa->drops[r], bc->drops[r],
			    memory_order_relaxed);
	if (bc->pkts == 0)
		return;
	if ((sa->soft_pkts != 0 && pkts >= sa->soft_pkts) ||
	    (sa->soft_bytes != 0 && bytes >= sa->soft_bytes))
		atomic_store_explicit(&sa->soft_expired, true,
		    memory_order_relaxed);
	if ((sa->hard_pkts != 0 && pkts >= sa->hard_pkts) ||
	    (sa->hard_bytes != 0 && bytes >= sa->hard_bytes))
		atomic_store_explicit(&sa->dead, true, memory_order_relaxed);
}

/*
 * Whether one more packet of len inner bytes stays within the hard
 * lifetime, counting what this burst already took.  Across workers of
 * one outbound SA the bytes may overshoot by a burst each; packets
 * cannot (seq_take() counts them exactly).
 */
static inline bool
within_hard(const struct esp_sa *sa, const struct burst_count *bc,
    uint64_t base_pkts, uint64_t base_bytes, uint32_t len)
{
	if (sa->hard_pkts != 0 && base_pkts + bc->pkts + 1 > sa->hard_pkts)
		return false;
	if (sa->hard_bytes != 0 &&
	    base_bytes + bc->bytes + len > sa->hard_bytes)
		return false;
	return true;
}

void
esp_sa_stats(const struct esp_sa *sa, struct esp_sa_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->pkts = atomic_load_explicit(&sa->pkts, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&sa->bytes, memory_order_relaxed);
	for (int r = 1; r < ESP_R_COUNT; r++)
		st->drops[r] = atomic_load_explicit(&sa->drops[r],
		    memory_order_relaxed);
	st->decrypt_errors = st->drops[ESP_R_PAD] +
	    st->drops[ESP_R_NEXT_HDR] + st->drops[ESP_R_INNER] +
	    st->drops[ESP_R_MALFORMED] + st->drops[ESP_R_TRUNCATED] +
	    st->drops[ESP_R_CRYPTO];
	st->seq_next = atomic_load(&((struct esp_sa *)sa)->seq_last) + 1;
	st->soft_expired = esp_sa_is_soft_expired(sa);
	st->dead = esp_sa_is_dead(sa);
}

/* ---- encapsulation ---- */

/*
 * The next sequence number, never one used before by any worker.  A
 * compare-and-swap rather than a fetch-add so the counter itself never
 * passes the limit: a fetch-add at 2^64 - 1 would wrap it to 0 and hand
 * out old numbers.  The limit is the last number RFC 4303 §3.3.3 lets us
 * send, or the hard packet lifetime.
 */
static enum esp_result
seq_take(struct esp_sa *sa, uint64_t *seq)
{
	uint64_t last = atomic_load_explicit(&sa->seq_last,
	    memory_order_relaxed);
	uint64_t wrap = sa->esn ? UINT64_MAX : UINT32_MAX;

	do {
		if (sa->hard_pkts != 0 && last >= sa->hard_pkts)
			return ESP_R_HARD_LIFETIME;
		if (last >= wrap)
			return ESP_R_SEQ_WRAP;
	} while (!atomic_compare_exchange_weak_explicit(&sa->seq_last,
	    &last, last + 1, memory_order_relaxed, memory_order_relaxed));
	*seq = last + 1;
	return ESP_R_OK;
}

static void
write_outer(const struct esp_sa *sa, uint8_t *l3, uint16_t l3_len,
    uint8_t tos)
{
	uint8_t proto = sa->udp_encap ? IPPROTO_UDP_ : IPPROTO_ESP_;
	uint16_t ip_len;

	if (sa->family == 6) {
		struct ip6_hdr *ip = (struct ip6_hdr *)(void *)l3;

		ip->vtc_flow_be = htonl(0x60000000u | (uint32_t)tos << 20);
		ip->plen_be = htons((uint16_t)(l3_len - IP6_HDR_LEN));
		ip->nxt = proto;
		ip->hlim = sa->ttl;
		memcpy(ip->src, sa->src, 16);
		memcpy(ip->dst, sa->dst, 16);
		ip_len = IP6_HDR_LEN;
	} else {
		struct ip4_hdr *ip = (struct ip4_hdr *)(void *)l3;

		/* DF with ID 0 (RFC 6864 §4.1): the outer packet is never
		 * fragmented here; too big goes back as TOO_BIG. */
		ip->ver_ihl = 0x45;
		ip->tos = tos;
		ip->tot_len_be = htons(l3_len);
		ip->id_be = 0;
		ip->frag_be = htons(IP4_DF);
		ip->ttl = sa->ttl;
		ip->proto = proto;
		memcpy(&ip->src_be, sa->src, 4);
		memcpy(&ip->dst_be, sa->dst, 4);
		pkt_ip4_set_csum(ip);
		ip_len = IP4_HDR_LEN;
	}
	if (sa->udp_encap) {
		struct udp_hdr *udp = (struct udp_hdr *)(void *)(l3 + ip_len);

		udp->sport_be = htons(sa->udp_sport);
		udp->dport_be = htons(sa->udp_dport);
		udp->len_be = htons((uint16_t)(l3_len - ip_len));
		udp->csum_be = 0;	/* RFC 3948 §2.1 for IPv4; IPv6's is
					   computed once the ICV is in */
	}
}

int
esp_nat_keepalive(const struct esp_sa *sa, struct pkt *p)
{
	bool v6 = sa->family == 6;
	uint16_t ip_len = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint16_t l3_len = (uint16_t)(ip_len + sizeof(struct udp_hdr) + 1);
	uint8_t *l3 = p->data + ETH_HDR_LEN;
	struct udp_hdr *udp = (struct udp_hdr *)(void *)(l3 + ip_len);

	if (sa->inbound || !sa->udp_encap)
		return -EINVAL;
	memset(p->data, 0, ETH_HDR_LEN + l3_len);
	pkt_eth(p)->type_be = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	write_outer(sa, l3, l3_len, 0);
	*(uint8_t *)(udp + 1) = 0xff;
	udp->csum_be = v6 ? pkt_l4_csum6((const struct ip6_hdr *)(void *)l3,
	    udp, sizeof(*udp) + 1, IPPROTO_UDP_) :
	    pkt_l4_csum4((const struct ip4_hdr *)(void *)l3, udp,
	    sizeof(*udp) + 1, IPPROTO_UDP_);
	if (udp->csum_be == 0)
		udp->csum_be = 0xffff;	/* 0 would say "no checksum" */
	p->l3 = v6 ? PKT_L3_IP6 : PKT_L3_IP4;
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = l3_len;
	p->len = (uint16_t)(ETH_HDR_LEN + l3_len);
	p->l4_off = (uint16_t)(ETH_HDR_LEN + ip_len);
	p->l4_proto = IPPROTO_UDP_;
	return 0;
}

/* Checks, trailer, headers and the job's slot for one packet; the
 * sequence number is taken last, so a refused packet burns none. */
static enum esp_result
encap_one(struct esp_sa *sa, struct pkt *p, struct esp_slot *s,
    uint32_t *inner_bytes)
{
	uint8_t *inner = p->data + p->l3_off, *l3, *trailer;
	uint32_t inner_len = p->l3_len, ct_len, l3_len, hdr;
	uint32_t ip_len = sa->family == 6 ? IP6_HDR_LEN : IP4_HDR_LEN;
	uint8_t nh, tos, pad;
	enum esp_result r;
	uint64_t seq;

	if (p->l3 == PKT_L3_IP4 && inner_len >= IP4_HDR_LEN) {
		nh = ESP_NH_IPV4;
		tos = ((const struct ip4_hdr *)(const void *)inner)->tos;
	} else if (p->l3 == PKT_L3_IP6 && inner_len >= IP6_HDR_LEN) {
		nh = ESP_NH_IPV6;
		tos = (uint8_t)(ntohl(((const struct ip6_hdr *)(const void *)
		    inner)->vtc_flow_be) >> 20);
	} else {
		return ESP_R_NOT_IP;
	}
	/* RFC 4303 §2.4: pad so the ciphertext is whole blocks (CBC) or
	 * ends on a 4-byte boundary (AEAD); the pad length and next header
	 * bytes are part of it. */
	pad = (uint8_t)(-(inner_len + 2) & (sa->align - 1u));
	ct_len = inner_len + pad + 2;
	hdr = ip_len + (sa->udp_encap ? 8 : 0) + ESP_HDR_LEN + sa->iv_len;
	l3_len = hdr + ct_len + sa->icv_len;
	if (l3_len > UINT16_MAX || (sa->mtu_bytes != 0 &&
	    l3_len > sa->mtu_bytes))
		return ESP_R_TOO_BIG;
	if ((size_t)(inner - p->head) < ETH_HDR_LEN + hdr ||
	    (size_t)(inner - p->head) + ct_len + sa->icv_len > PKT_BUF_SIZE)
		return ESP_R_NO_ROOM;
	if ((r = seq_take(sa, &seq)) != ESP_R_OK)
		return r;

	trailer = inner + inner_len;
	for (uint8_t i = 0; i < pad; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[pad] = pad;
	trailer[pad + 1] = nh;

	l3 = inner - hdr;
	write_outer(sa, l3, (uint16_t)l3_len, tos);
	p->data = l3 - ETH_HDR_LEN;
	memset(p->data, 0, ETH_HDR_LEN);
	pkt_eth(p)->type_be = htons(sa->family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	p->len = (uint16_t)(ETH_HDR_LEN + l3_len);
	p->l3 = sa->family == 6 ? PKT_L3_IP6 : PKT_L3_IP4;
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = (uint16_t)l3_len;
	p->l4_off = (uint16_t)(ETH_HDR_LEN + ip_len);
	p->l4_proto = sa->udp_encap ? IPPROTO_UDP_ : IPPROTO_ESP_;
	p->flags = 0;

	s->esp = inner - sa->iv_len - ESP_HDR_LEN;
	s->ct_len = ct_len;
	if (sa->aead) {
		/* RFC 4106 §3.1: the explicit IV is the sequence number,
		 * unique per key by construction. */
		uint64_t iv_be = htobe64(seq);

		seal_setup(sa, s, seq, (const uint8_t *)&iv_be);
	} else {
		/*
		 * CBC wants an unpredictable IV (RFC 3602 §2.3): the
		 * encryption of a unique nonce under the SA's key (NIST SP
		 * 800-38A appendix C), done by the same job as the first
		 * block of a chain started from a zero IV.
		 */
		uint8_t *nonce = s->esp + ESP_HDR_LEN;
		uint64_t seq_be = htobe64(seq);
		uint32_t spi_be = htonl(sa->spi);

		memcpy(nonce, &seq_be, 8);
		memcpy(nonce + 8, &spi_be, 4);
		memset(nonce + 12, 0, 4);
		memset(s->iv, 0, 16);
		seal_setup(sa, s, seq, NULL);
	}
	*inner_bytes = inner_len;
	return ESP_R_OK;
}

static void
encap_finish(const struct esp_sa *sa, struct pkt *p, struct esp_slot *s)
{
	seal_finish(sa, s);
	if (sa->udp_encap && sa->family == 6) {
		struct ip6_hdr *ip = pkt_l3(p);
		struct udp_hdr *udp = pkt_l4(p);

		/* RFC 8200 §8.1: UDP over IPv6 carries a checksum. */
		udp->csum_be = pkt_l4_csum6(ip, udp, (uint32_t)(p->l3_len -
		    IP6_HDR_LEN), IPPROTO_UDP_);
		if (udp->csum_be == 0)
			udp->csum_be = 0xffff;
	}
}

void
esp_encap_burst(struct esp_worker *w, struct esp_sa *sa, struct pkt **pkts,
    uint16_t n, uint8_t res[])
{
	struct burst_count bc;
	uint64_t base_pkts, base_bytes;
	uint32_t len[PKT_BATCH_MAX];
	bool dead = esp_sa_is_dead(sa) || sa->inbound;
	uint16_t i;

	memset(&bc, 0, sizeof(bc));
	base_pkts = atomic_load_explicit(&sa->pkts, memory_order_relaxed);
	base_bytes = atomic_load_explicit(&sa->bytes, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		struct esp_slot *s = &w->slot[i];
		struct pkt *p = pkts[i];

		if (i + HG_PREFETCH_AHEAD < n)
			hg_prefetch(pkts[i + HG_PREFETCH_AHEAD]->data);
		if (hg_unlikely(dead)) {
			s->res = ESP_R_HARD_LIFETIME;
			continue;
		}
		if (!within_hard(sa, &bc, base_pkts, base_bytes,
		    p->l3_len)) {
			s->res = ESP_R_HARD_LIFETIME;
			continue;
		}
		s->res = encap_one(sa, p, s, &len[i]);
		if (s->res == ESP_R_OK) {
			bc.pkts++;
			bc.bytes += len[i];
			submit(w, sa, s, true, !sa->aead);
		} else if (s->res == ESP_R_SEQ_WRAP ||
		    s->res == ESP_R_HARD_LIFETIME) {
			atomic_store_explicit(&sa->dead, true,
			    memory_order_relaxed);
		}
	}
	flush(w);
	for (i = 0; i < n; i++) {
		struct esp_slot *s = &w->slot[i];

		if (s->res == ESP_R_OK && !s->crypto_ok) {
			s->res = ESP_R_CRYPTO;
			bc.pkts--;
			bc.bytes -= len[i];
		}
		if (s->res == ESP_R_OK)
			encap_finish(sa, pkts[i], s);
		else
			bc.drops[s->res]++;
		res[i] = s->res;
	}
	count_flush(sa, &bc);
}

/* ---- decapsulation ---- */

/* Up to the job: lengths, SPI, sequence number, replay pre-check. */
static enum esp_result
decap_one(struct esp_sa *sa, struct pkt *p, struct esp_slot *s)
{
	uint32_t off, end, esp_len, seq_lo;
	enum esp_result r;
	uint64_t seq;

	if (p->flags & PKT_F_FRAG)
		return ESP_R_MALFORMED;
	off = p->l4_off;
	end = (uint32_t)p->l3_off + p->l3_len;
	if (off == 0 || off > end)
		return ESP_R_TRUNCATED;
	if (p->l4_proto == IPPROTO_UDP_)
		off += 8;
	else if (p->l4_proto != IPPROTO_ESP_)
		return ESP_R_MALFORMED;
	if (off > end || end > p->len)
		return ESP_R_TRUNCATED;
	esp_len = end - off;
	if (esp_len < ESP_HDR_LEN)
		return ESP_R_TRUNCATED;
	s->esp = p->data + off;
	if ((r = ct_len_of(sa, esp_len, &s->ct_len)) != ESP_R_OK)
		return r;
	if (hg_rd32be(s->esp) != sa->spi)
		return ESP_R_SPI;
	seq_lo = hg_rd32be(s->esp + 4);
	if (!esp_replay_seq(&sa->replay, seq_lo, &seq) ||
	    !esp_replay_check(&sa->replay, seq))
		return ESP_R_REPLAY;
	open_setup(sa, s, seq);
	return ESP_R_OK;
}

/* RFC 4303 §2.4: the padding, when present, is 1, 2, 3, ... */
static bool
pad_ok(const uint8_t *pad, uint8_t n)
{
	uint8_t bad = 0;

	for (uint8_t i = 0; i < n; i++)
		bad |= (uint8_t)(pad[i] ^ (uint8_t)(i + 1));
	return bad == 0;
}

/* After the ICV and the window: the trailer and the inner header. */
static enum esp_result
decap_finish(const struct esp_sa *sa, struct pkt *p, struct esp_slot *s,
    uint32_t *inner_bytes)
{
	uint8_t *pt = s->esp + ESP_HDR_LEN + sa->iv_len;
	uint8_t pad_len = pt[s->ct_len - 2], nh = pt[s->ct_len - 1];
	uint32_t avail, inner_len;
	uint16_t type;
	uint8_t *eth;

	if ((uint32_t)pad_len + 2 > s->ct_len ||
	    !pad_ok(pt + s->ct_len - 2 - pad_len, pad_len))
		return ESP_R_PAD;
	avail = s->ct_len - 2 - pad_len;
	if (nh == ESP_NH_DUMMY)
		return ESP_R_DUMMY;
	/* TFC padding (§2.7) may follow the inner packet: its own length
	 * says where it ends. */
	if (nh == ESP_NH_IPV4) {
		const struct ip4_hdr *ip = (const void *)pt;

		if (avail < IP4_HDR_LEN || (ip->ver_ihl >> 4) != 4 ||
		    (ip->ver_ihl & 15) < 5)
			return ESP_R_INNER;
		inner_len = ntohs(ip->tot_len_be);
		if (inner_len < (uint32_t)(ip->ver_ihl & 15) * 4u)
			return ESP_R_INNER;
		type = ETH_P_IP;
		p->l3 = PKT_L3_IP4;
	} else if (nh == ESP_NH_IPV6) {
		const struct ip6_hdr *ip = (const void *)pt;

		if (avail < IP6_HDR_LEN || (pt[0] >> 4) != 6)
			return ESP_R_INNER;
		inner_len = IP6_HDR_LEN + (uint32_t)ntohs(ip->plen_be);
		type = ETH_P_IPV6;
		p->l3 = PKT_L3_IP6;
	} else {
		return ESP_R_NEXT_HDR;
	}
	if (inner_len > avail)
		return ESP_R_INNER;

	/* The original Ethernet addresses move in front of the inner
	 * packet; the ESP header and IV they overwrite are spent. */
	eth = pt - ETH_HDR_LEN;
	memmove(eth, p->data, 2 * ETH_ALEN);
	type = htons(type);
	memcpy(eth + 2 * ETH_ALEN, &type, 2);
	p->data = eth;
	p->len = (uint16_t)(ETH_HDR_LEN + inner_len);
	p->l3_off = ETH_HDR_LEN;
	p->l3_len = (uint16_t)inner_len;
	p->l4_off = 0;
	p->l4_proto = 0;
	p->flags = 0;
	*inner_bytes = inner_len;
	return ESP_R_OK;
}

void
esp_decap_burst(struct esp_worker *w, struct esp_sa *sa, struct pkt **pkts,
    uint16_t n, uint8_t res[])
{
	struct burst_count bc;
	uint64_t base_pkts, base_bytes;
	bool dead = esp_sa_is_dead(sa) || !sa->inbound;
	uint16_t i;

	memset(&bc, 0, sizeof(bc));
	base_pkts = atomic_load_explicit(&sa->pkts, memory_order_relaxed);
	base_bytes = atomic_load_explicit(&sa->bytes, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		struct esp_slot *s = &w->slot[i];

		if (i + HG_PREFETCH_AHEAD < n)
			hg_prefetch(pkts[i + HG_PREFETCH_AHEAD]->data);
		if (hg_unlikely(dead)) {
			s->res = ESP_R_HARD_LIFETIME;
			continue;
		}
		s->res = decap_one(sa, pkts[i], s);
		if (s->res == ESP_R_OK)
			submit(w, sa, s, false, false);
	}
	flush(w);
	/* In packet order, so the window moves as the packets came. */
	for (i = 0; i < n; i++) {
		struct esp_slot *s = &w->slot[i];
		uint32_t len = 0;

		if (s->res == ESP_R_OK) {
			if (!open_verified(sa, s))
				s->res = ESP_R_ICV;
			else if (!within_hard(sa, &bc, base_pkts, base_bytes,
			    0))
				s->res = ESP_R_HARD_LIFETIME;
			else if (!esp_replay_update(&sa->replay, s->seq))
				s->res = ESP_R_REPLAY;
			else
				s->res = decap_finish(sa, pkts[i], s, &len);
		}
		if (s->res == ESP_R_OK) {
			bc.pkts++;
			bc.bytes += len;
		} else {
			bc.drops[s->res]++;
		}
		res[i] = s->res;
	}
	count_flush(sa, &bc);
}

/* ---- printing ---- */

static void
fmt_addr(const struct esp_sa *sa, const uint8_t *a, char *buf, size_t len)
{
	if (inet_ntop(sa->family == 6 ? AF_INET6 : AF_INET, a, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

int
esp_sa_format_json(const struct esp_sa *sa, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct esp_sa_stats st;
	size_t off;
	int n;

	esp_sa_stats(sa, &st);
	fmt_addr(sa, sa->src, src, sizeof(src));
	fmt_addr(sa, sa->dst, dst, sizeof(dst));
	n = snprintf(buf, len, "{\"spi\":\"0x%08x\",\"direction\":\"%s\","
	    "\"algorithm\":\"%s\",\"key_bits\":%u,\"esn\":%s,"
	    "\"encap\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
	    "\"replay_window\":%u,\"seq_next\":%llu,"
	    "\"lifetime\":{\"soft_bytes\":%llu,\"hard_bytes\":%llu,"
	    "\"soft_packets\":%llu,\"hard_packets\":%llu},"
	    "\"soft_expired\":%s,\"dead\":%s,"
	    "\"packets\":%llu,\"bytes\":%llu,\"decrypt_errors\":%llu",
	    sa->spi, sa->inbound ? "in" : "out", esp_alg_name(sa->alg),
	    (unsigned)sa->aes_key_len * 8, sa->esn ? "true" : "false",
	    sa->udp_encap ? "udp" : "esp", src, dst,
	    sa->replay_window_pkts, (unsigned long long)st.seq_next,
	    (unsigned long long)sa->soft_bytes,
	    (unsigned long long)sa->hard_bytes,
	    (unsigned long long)sa->soft_pkts,
	    (unsigned long long)sa->hard_pkts,
	    st.soft_expired ? "true" : "false", st.dead ? "true" : "false",
	    (unsigned long long)st.pkts, (unsigned long long)st.bytes,
	    (unsigned long long)st.decrypt_errors);
	if (n < 0)
		return n;
	off = (size_t)n;
	for (int r = 1; r < ESP_R_COUNT; r++) {
		n = snprintf(off < len ? buf + off : NULL,
		    off < len ? len - off : 0, ",\"%s\":%llu",
		    result_names[r], (unsigned long long)st.drops[r]);
		off += (size_t)n;
	}
	n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0,
	    "}");
	return (int)(off + (size_t)n);
}

/* ---- ESP-in-UDP ---- */

enum esp_udp_kind
esp_udp_classify(const uint8_t *payload, size_t len, uint32_t *spi)
{
	uint32_t v;

	/* RFC 3948 §2.3: a keepalive is exactly one 0xff byte. */
	if (len == 1)
		return payload[0] == 0xff ? ESP_UDP_KEEPALIVE :
		    ESP_UDP_INVALID;
	if (len < 4)
		return ESP_UDP_INVALID;
	v = hg_rd32be(payload);
	if (v == 0)	/* §2.2: the non-ESP marker; IKE header after it */
		return len > 4 ? ESP_UDP_IKE : ESP_UDP_INVALID;
	/* An ESP header at least; SPIs 1..255 are reserved (RFC 4303
	 * §2.1) and never chosen by a peer. */
	if (len < ESP_HDR_LEN || v < 256)
		return ESP_UDP_INVALID;
	*spi = v;
	return ESP_UDP_ESP;
}
