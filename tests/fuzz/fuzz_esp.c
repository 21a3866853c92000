/*
 * tests/fuzz/fuzz_esp.c: libFuzzer target for ESP decapsulation
 * (src/tun/esp.c, replay.c) with fixed SAs.  The first input byte picks
 * the SA (low two bits: AES-256-GCM, ChaCha20-Poly1305 with ESN over
 * UDP, AES-CBC with HMAC-SHA-256 and ESN) and the mode (next two bits):
 *   0  the rest is an ESP packet as it arrives (after the outer IPv4 and
 *      UDP headers): nearly always dropped at the ICV, which is the
 *      point: nothing before it may read out of bounds.
 *   1  the rest is a plaintext (payload, padding, trailer) that is sealed
 *      with the SA's key first, so the trailer and inner-header checks
 *      after the ICV see arbitrary bytes.
 *   2  the rest is an inner IP packet: encapsulated, then decapsulated;
 *      it must come back byte for byte.
 * Headroom and tailroom outside the frame are poisoned under ASan.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt/pkt.h"
#include "tun/esp.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_ASAN 1
#endif
#endif
#ifndef FUZZ_ASAN
#define ASAN_POISON_MEMORY_REGION(a, n)		((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)	((void)(a), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

#define N_ALG	3

static struct pkt_pool *pool;
static struct esp_worker *w;
/* Per algorithm: outbound, and one inbound SA per mode, so each mode's
 * sequence numbers only ever grow in its own window. */
static struct esp_sa *sa_out[N_ALG], *sa_in[N_ALG][3];
static uint64_t sealed_seq[N_ALG];

static void
make_sas(void)
{
	static const uint8_t key[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const struct { enum esp_alg alg; size_t ek, ak; bool esn, udp; }
	    spec[N_ALG] = {
		{ ESP_ALG_AES_GCM_16, 36, 0, false, false },
		{ ESP_ALG_CHACHA20_POLY1305, 36, 0, true, true },
		{ ESP_ALG_AES_CBC_HMAC_SHA256, 32, 32, true, false },
	};

	for (int a = 0; a < N_ALG; a++)
		for (int k = 0; k < 4; k++) {
			struct esp_sa_config c;
			struct esp_sa *sa;
			const char *why;

			memset(&c, 0, sizeof(c));
			c.spi = 0x1000 + (uint32_t)a;
			c.alg = spec[a].alg;
			c.inbound = k > 0;
			c.esn = spec[a].esn;
			c.enc_key = key;
			c.enc_key_len = spec[a].ek;
			c.auth_key = spec[a].ak ? key : NULL;
			c.auth_key_len = spec[a].ak;
			c.family = 4;
			c.src[0] = 192;
			c.dst[0] = 198;
			c.udp_encap = spec[a].udp;
			if (esp_sa_create(&sa, &c, &why) != 0)
				abort();
			if (k == 0)
				sa_out[a] = sa;
			else
				sa_in[a][k - 1] = sa;
		}
}

/* Ethernet + IPv4 (+ UDP 4500) + esp in a pool packet, parsed. */
static struct pkt *
outer(const uint8_t *esp, size_t len, bool udp)
{
	uint8_t f[PKT_DATA_ROOM];
	size_t hl = 14 + 20 + (udp ? 8 : 0);
	struct pkt *p;

	if (len + hl > sizeof(f))
		return NULL;
	memset(f, 0, hl);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len + hl - 14) >> 8);
	f[17] = (uint8_t)(len + hl - 14);
	f[22] = 64;
	f[23] = udp ? IPPROTO_UDP_ : IPPROTO_ESP_;
	f[26] = 198;
	f[30] = 192;
	pkt_ip4_set_csum((struct ip4_hdr *)(void *)(f + 14));
	if (udp) {
		f[34] = f[36] = 0x11;
		f[35] = f[37] = 0x94;
		f[38] = (uint8_t)((len + 8) >> 8);
		f[39] = (uint8_t)(len + 8);
	}
	memcpy(f + hl, esp, len);
	p = pkt_alloc(pool);
	if (pkt_set_frame(p, f, (uint16_t)(len + hl)) != 0 ||
	    pkt_parse(p, NULL) != PKT_DROP_NONE) {
		pkt_free(pool, p);
		return NULL;
	}
	return p;
}

static void
poison(struct pkt *p)
{
	ASAN_POISON_MEMORY_REGION(p->head, p->data - p->head);
	ASAN_POISON_MEMORY_REGION(p->data + p->len, pkt_tailroom(p));
}

static void
unpoison(struct pkt *p)
{
	ASAN_UNPOISON_MEMORY_REGION(p->head, PKT_BUF_SIZE);
}

static void
check_decapped(const struct pkt *p)
{
	const uint8_t *ip = p->data + ETH_HDR_LEN;

	CHECK(p->data >= p->head);
	CHECK(p->l3_off == ETH_HDR_LEN);
	CHECK(p->len == ETH_HDR_LEN + p->l3_len);
	CHECK(p->data + p->len <= p->head + PKT_BUF_SIZE);
	if (p->l3 == PKT_L3_IP4)
		CHECK((ip[0] >> 4) == 4 && ((ip[2] << 8) | ip[3]) == p->l3_len);
	else
		CHECK(p->l3 == PKT_L3_IP6 && (ip[0] >> 4) == 6 &&
		    ((ip[4] << 8) | ip[5]) + 40 == p->l3_len);
}

static void
decap_check(struct esp_sa *sa, struct pkt *p)
{
	uint8_t r;

	poison(p);
	esp_decap_burst(w, sa, &p, 1, &r);
	CHECK(r < ESP_R_COUNT);
	if (r == ESP_R_OK)
		check_decapped(p);
	unpoison(p);
}

static void
mode_sealed(int a, const uint8_t *pt, size_t len)
{
	uint8_t buf[PKT_DATA_ROOM];
	uint8_t iv[16] = { 0 };
	struct pkt *p;
	int n;

	len &= ~(size_t)15;	/* whole blocks for every algorithm */
	if (len == 0 || len + 64 > sizeof(buf) - 100)
		return;
	memcpy(buf + 8 + 16, pt, len);
	if (a != 2)	/* AEAD: 8-byte IV, payload right after */
		memmove(buf + 16, buf + 24, len);
	n = esp_seal(w, sa_in[a][1], ++sealed_seq[a], iv, buf, (uint32_t)len);
	CHECK(n > 0);
	if ((p = outer(buf, (size_t)n, a == 1)) == NULL)
		return;
	decap_check(sa_in[a][1], p);
	pkt_free(pool, p);
}

static void
mode_round_trip(int a, const uint8_t *ip, size_t len)
{
	uint8_t f[PKT_DATA_ROOM], saved[PKT_DATA_ROOM], r;
	struct pkt *p;
	uint16_t l3_len;

	if (len == 0 || len + 14 > 1700)
		return;
	memset(f, 0, 14);
	f[12] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
	f[13] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
	memcpy(f + 14, ip, len);
	p = pkt_alloc(pool);
	if (pkt_set_frame(p, f, (uint16_t)(len + 14)) != 0 ||
	    pkt_parse(p, NULL) != PKT_DROP_NONE) {
		pkt_free(pool, p);
		return;
	}
	l3_len = p->l3_len;
	memcpy(saved, p->data + p->l3_off, l3_len);
	esp_encap_burst(w, sa_out[a], &p, 1, &r);
	if (r != ESP_R_OK) {
		CHECK(r == ESP_R_NOT_IP || r == ESP_R_NO_ROOM ||
		    r == ESP_R_TOO_BIG);
		pkt_free(pool, p);
		return;
	}
	CHECK(pkt_parse(p, NULL) == PKT_DROP_NONE);
	esp_decap_burst(w, sa_in[a][2], &p, 1, &r);
	CHECK(r == ESP_R_OK || r == ESP_R_INNER);
	if (r == ESP_R_OK) {
		CHECK(p->l3_len == l3_len);
		CHECK(memcmp(p->data + ETH_HDR_LEN, saved, l3_len) == 0);
	}
	pkt_free(pool, p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt *p;
	int a, mode;

	if (pool == NULL) {
		if (pkt_pool_create(&pool, 8) != 0 ||
		    esp_worker_create(&w) != 0)
			abort();
		make_sas();
	}
	if (size < 1)
		return 0;
	a = (data[0] & 3) % N_ALG;
	mode = (data[0] >> 2) & 3;
	data++;
	size--;
	switch (mode) {
	case 0:
		if ((p = outer(data, size, a == 1)) != NULL) {
			decap_check(sa_in[a][0], p);
			pkt_free(pool, p);
		}
		break;
	case 1:
		mode_sealed(a, data, size);
		break;
	default:
		mode_round_trip(a, data, size);
		break;
	}
	return 0;
}
