/*
 * bench/ipsec/bench_esp.c: ESP encapsulation and decapsulation in memory,
 * one thread, bursts of 64 packets (src/tun/esp.c), beside the raw AEAD
 * of the same library (intel-ipsec-mb's job API, same key size, same
 * payload, 8-byte AAD, bursts of 64) on the same sizes.  Only the burst
 * calls are timed: restoring the inner packets between rounds is not.
 * Sizes are inner IP packet bytes; Gbit/s counts those bytes.
 * run (beside this file) adds `openssl speed` and the medians.
 *
 * usage: bench_esp [-s seconds-per-case]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <intel-ipsec-mb.h>

#include "lib/hg_time.h"
#include "pkt/pkt.h"
#include "tun/esp.h"

#define BURST	64

static const uint8_t key[36] = { 0x10, 0x11, 0x12, 0x13, 0x14 };

static struct esp_sa *
sa_make(enum esp_alg alg, bool inbound)
{
	struct esp_sa_config c;
	struct esp_sa *sa;
	const char *why;

	memset(&c, 0, sizeof(c));
	c.spi = 0x1234;
	c.alg = alg;
	c.inbound = inbound;
	c.enc_key = key;
	c.enc_key_len = 36;
	c.family = 4;
	c.src[0] = 192;
	c.dst[0] = 198;
	if (esp_sa_create(&sa, &c, &why) != 0) {
		fprintf(stderr, "bench_esp: %s\n", why);
		exit(1);
	}
	return sa;
}

/* Ethernet + IPv4 UDP packet of ip_len bytes. */
static void
frame(uint8_t *f, uint16_t ip_len)
{
	struct ip4_hdr *ip = (struct ip4_hdr *)(void *)(f + ETH_HDR_LEN);

	memset(f, 0x61, ETH_HDR_LEN + ip_len);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, IP4_HDR_LEN);
	ip->ver_ihl = 0x45;
	ip->tot_len_be = htons(ip_len);
	ip->ttl = 64;
	ip->proto = IPPROTO_UDP_;
	ip->src_be = htonl(0x0a000001);
	ip->dst_be = htonl(0x0a000002);
	pkt_ip4_set_csum(ip);
}

static double
now_s(void)
{
	return (double)hg_now_ns() / 1e9;
}

static void
report(const char *what, const char *alg, uint16_t size, double pkts,
    double secs)
{
	double mpps = pkts / secs / 1e6;

	printf("%s %s %uB: %.3f Mpps %.3f Gbit/s\n", what, alg, size, mpps,
	    mpps * size * 8 / 1e3);
}

static void
bench_esp(struct pkt_pool *pool, struct esp_worker *w, enum esp_alg alg,
    const char *name, uint16_t size, double secs)
{
	struct esp_sa *out = sa_make(alg, false), *in = sa_make(alg, true);
	struct pkt *p[BURST];
	uint8_t f[PKT_DATA_ROOM], res[BURST];
	double t_enc = 0, t_dec = 0, n = 0, t0, t1, t2;

	frame(f, size);
	for (int i = 0; i < BURST; i++)
		p[i] = pkt_alloc(pool);
	while (t_enc + t_dec < secs) {
		for (int i = 0; i < BURST; i++) {
			p[i]->data = p[i]->head + PKT_HEADROOM;
			p[i]->len = (uint16_t)(ETH_HDR_LEN + size);
			memcpy(p[i]->data, f, ETH_HDR_LEN + size);
			p[i]->l3 = PKT_L3_IP4;
			p[i]->l3_off = ETH_HDR_LEN;
			p[i]->l3_len = size;
		}
		t0 = now_s();
		esp_encap_burst(w, out, p, BURST, res);
		t1 = now_s();
		esp_decap_burst(w, in, p, BURST, res);
		t2 = now_s();
		for (int i = 0; i < BURST; i++)
			if (res[i] != ESP_R_OK) {
				fprintf(stderr, "bench_esp: %s\n",
				    esp_result_name(res[i]));
				exit(1);
			}
		t_enc += t1 - t0;
		t_dec += t2 - t1;
		n += BURST;
	}
	report("esp encap", name, size, n, t_enc);
	report("esp decap", name, size, n, t_dec);
	for (int i = 0; i < BURST; i++)
		pkt_free(pool, p[i]);
	esp_sa_free(out);
	esp_sa_free(in);
}

/* The library alone: one AEAD job per packet, submitted in bursts. */
static void
bench_raw(IMB_MGR *m, bool chacha, const char *name, uint16_t size,
    double secs)
{
	static struct gcm_key_data gk HG_ALIGNED(64);
	static uint8_t buf[BURST][2048], tag[BURST][16];
	uint8_t iv[12] = { 1 }, aad[8] = { 2 };
	double t[2] = { 0, 0 }, n = 0;

	IMB_AES256_GCM_PRE(m, key, &gk);
	while (t[0] + t[1] < secs) {
		for (int dir = 0; dir < 2; dir++) {
			double t0 = now_s();

			for (int i = 0; i < BURST; i++) {
				IMB_JOB *j = IMB_GET_NEXT_JOB(m);

				j->cipher_direction = dir == 0 ?
				    IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
				j->chain_order = dir == 0 ?
				    IMB_ORDER_CIPHER_HASH :
				    IMB_ORDER_HASH_CIPHER;
				j->src = buf[i];
				j->dst = buf[i];
				j->cipher_start_src_offset_in_bytes = 0;
				j->hash_start_src_offset_in_bytes = 0;
				j->msg_len_to_cipher_in_bytes = size;
				j->msg_len_to_hash_in_bytes = size;
				j->iv = iv;
				j->iv_len_in_bytes = 12;
				j->auth_tag_output = tag[i];
				j->auth_tag_output_len_in_bytes = 16;
				if (chacha) {
					j->cipher_mode =
					    IMB_CIPHER_CHACHA20_POLY1305;
					j->hash_alg =
					    IMB_AUTH_CHACHA20_POLY1305;
					j->enc_keys = key;
					j->dec_keys = key;
					j->key_len_in_bytes = 32;
					j->u.CHACHA20_POLY1305.aad = aad;
					j->u.CHACHA20_POLY1305
					    .aad_len_in_bytes = 8;
				} else {
					j->cipher_mode = IMB_CIPHER_GCM;
					j->hash_alg = IMB_AUTH_AES_GMAC;
					j->enc_keys = &gk;
					j->dec_keys = &gk;
					j->key_len_in_bytes = 32;
					j->u.GCM.aad = aad;
					j->u.GCM.aad_len_in_bytes = 8;
				}
				IMB_SUBMIT_JOB(m);
			}
			while (IMB_FLUSH_JOB(m) != NULL)
				;
			t[dir] += now_s() - t0;
		}
		n += BURST;
	}
	report("raw encrypt", name, size, n, t[0]);
	report("raw decrypt", name, size, n, t[1]);
}

int
main(int argc, char **argv)
{
	static const uint16_t sizes[] = { 64, 512, 1400 };
	struct pkt_pool *pool;
	struct esp_worker *w;
	double secs = 0.5;
	IMB_MGR *m;
	int ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		if (ch != 's') {
			fprintf(stderr, "usage: bench_esp [-s seconds]\n");
			return 2;
		}
		secs = atof(optarg);
	}
	if (pkt_pool_create(&pool, BURST * 2) != 0 ||
	    esp_worker_create(&w) != 0 || (m = alloc_mb_mgr(0)) == NULL)
		return 1;
	init_mb_mgr_auto(m, NULL);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		bench_esp(pool, w, ESP_ALG_AES_GCM_16, "aes-256-gcm",
		    sizes[k], secs);
		bench_raw(m, false, "aes-256-gcm", sizes[k], secs);
		bench_esp(pool, w, ESP_ALG_CHACHA20_POLY1305,
		    "chacha20-poly1305", sizes[k], secs);
		bench_raw(m, true, "chacha20-poly1305", sizes[k], secs);
	}
	free_mb_mgr(m);
	esp_worker_free(w);
	pkt_pool_destroy(pool);
	return 0;
}
