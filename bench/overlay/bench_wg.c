/*
 * bench/overlay/bench_wg.c: WireGuard transport data in memory, one
 * thread, bursts of 64 packets (src/tun/wg_data.c), beside the raw
 * ChaCha20-Poly1305 of the two libraries it could use, each per packet
 * with a fresh nonce and tag as the data plane does it, no AAD, on the
 * same sizes: intel-ipsec-mb's job API (bursts of 64, the one wg_data.c
 * uses) and OpenSSL's EVP (one packet at a time, a new nonce on a
 * context keyed once).  Only the burst calls are timed: restoring the
 * inner packets between rounds is not.  Sizes are inner IP packet bytes
 * (the message pads them to 16); Gbit/s counts those bytes.  run (beside
 * this file) adds `openssl speed` and the medians.
 *
 * usage: bench_wg [-s seconds-per-case]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>

#include "lib/hg_time.h"
#include "pkt/pkt.h"
#include "tun/wg_data.h"

#define BURST	64

static const uint8_t key[32] = { 0x10, 0x11, 0x12, 0x13, 0x14 };

static double
now_s(void)
{
	return (double)hg_now_ns() / 1e9;
}

static void
report(const char *what, uint16_t size, double pkts, double secs)
{
	double mpps = pkts / secs / 1e6;

	printf("%s %uB: %.3f Mpps %.3f Gbit/s\n", what, size, mpps,
	    mpps * size * 8 / 1e3);
}

static struct wg_keypair *
lookup(void *ctx, uint32_t idx)
{
	return idx == 2 ? ctx : NULL;
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
	pkt_ip4_set_csum(ip);
}

static void
bench_wg(struct pkt_pool *pool, struct wg_worker *w, uint16_t size,
    double secs)
{
	struct wg_keypair *out, *in;
	struct pkt *p[BURST];
	uint8_t f[PKT_DATA_ROOM], res[BURST];
	double t_enc = 0, t_dec = 0, n = 0, t0, t1, t2;

	if (wg_keypair_create(&out, key, key, 1, 2) != 0 ||
	    wg_keypair_create(&in, key, key, 2, 1) != 0)
		exit(1);
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
		wg_encap_burst(w, out, p, BURST, 0, res);
		t1 = now_s();
		wg_decap_burst(w, lookup, in, p, BURST, res);
		t2 = now_s();
		for (int i = 0; i < BURST; i++)
			if (res[i] != WG_R_OK) {
				fprintf(stderr, "bench_wg: %s\n",
				    wg_result_name(res[i]));
				exit(1);
			}
		t_enc += t1 - t0;
		t_dec += t2 - t1;
		n += BURST;
	}
	report("wg encap", size, n, t_enc);
	report("wg decap", size, n, t_dec);
	for (int i = 0; i < BURST; i++)
		pkt_free(pool, p[i]);
	wg_keypair_free(out);
	wg_keypair_free(in);
}

/* intel-ipsec-mb alone: one job per packet, a nonce of its own each,
 * submitted in bursts. */
static void
bench_imb(IMB_MGR *m, uint16_t size, double secs)
{
	static uint8_t buf[BURST][2048], tag[BURST][16], nonce[BURST][12];
	double t[2] = { 0, 0 }, n = 0;
	uint64_t ctr = 0;

	while (t[0] + t[1] < secs) {
		for (int dir = 0; dir < 2; dir++) {
			double t0 = now_s();

			for (int i = 0; i < BURST; i++) {
				IMB_JOB *j = IMB_GET_NEXT_JOB(m);
				uint64_t c = ctr + (uint64_t)i;

				memcpy(nonce[i] + 4, &c, 8);
				j->cipher_direction = dir == 0 ?
				    IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
				j->chain_order = dir == 0 ?
				    IMB_ORDER_CIPHER_HASH :
				    IMB_ORDER_HASH_CIPHER;
				j->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
				j->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
				j->enc_keys = key;
				j->dec_keys = key;
				j->key_len_in_bytes = 32;
				j->src = buf[i];
				j->dst = buf[i];
				j->cipher_start_src_offset_in_bytes = 0;
				j->hash_start_src_offset_in_bytes = 0;
				j->msg_len_to_cipher_in_bytes = size;
				j->msg_len_to_hash_in_bytes = size;
				j->iv = nonce[i];
				j->iv_len_in_bytes = 12;
				j->u.CHACHA20_POLY1305.aad = NULL;
				j->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
				j->auth_tag_output = tag[i];
				j->auth_tag_output_len_in_bytes = 16;
				IMB_SUBMIT_JOB(m);
			}
			while (IMB_FLUSH_JOB(m) != NULL)
				;
			t[dir] += now_s() - t0;
		}
		ctr += BURST;
		n += BURST;
	}
	report("imb encrypt", size, n, t[0]);
	report("imb decrypt", size, n, t[1]);
}

/* OpenSSL's EVP alone: a context per direction keyed once, a new nonce
 * and tag per packet. */
static void
bench_evp(uint16_t size, double secs)
{
	static uint8_t buf[BURST][2048], tag[BURST][16];
	EVP_CIPHER_CTX *c[2];
	double t[2] = { 0, 0 }, n = 0;
	uint64_t ctr = 0;
	int ol;

	for (int dir = 0; dir < 2; dir++) {
		c[dir] = EVP_CIPHER_CTX_new();
		if (c[dir] == NULL || EVP_CipherInit_ex(c[dir],
		    EVP_chacha20_poly1305(), NULL, key, NULL, dir == 0) != 1)
			exit(1);
	}
	while (t[0] + t[1] < secs) {
		for (int dir = 0; dir < 2; dir++) {
			double t0 = now_s();

			for (int i = 0; i < BURST; i++) {
				uint8_t nonce[12] = { 0 };
				uint64_t v = ctr + (uint64_t)i;

				memcpy(nonce + 4, &v, 8);
				EVP_CipherInit_ex(c[dir], NULL, NULL, NULL,
				    nonce, -1);
				if (dir == 1)
					EVP_CIPHER_CTX_ctrl(c[dir],
					    EVP_CTRL_AEAD_SET_TAG, 16, tag[i]);
				EVP_CipherUpdate(c[dir], buf[i], &ol, buf[i],
				    size);
				/* Decryption fails its tag (the buffers are
				 * not restored); the work is the same. */
				EVP_CipherFinal_ex(c[dir], buf[i] + ol, &ol);
				if (dir == 0)
					EVP_CIPHER_CTX_ctrl(c[dir],
					    EVP_CTRL_AEAD_GET_TAG, 16, tag[i]);
			}
			t[dir] += now_s() - t0;
		}
		ctr += BURST;
		n += BURST;
	}
	report("evp encrypt", size, n, t[0]);
	report("evp decrypt", size, n, t[1]);
	EVP_CIPHER_CTX_free(c[0]);
	EVP_CIPHER_CTX_free(c[1]);
}

int
main(int argc, char **argv)
{
	static const uint16_t sizes[] = { 64, 1400, 1408 };
	struct pkt_pool *pool;
	struct wg_worker *w;
	double secs = 0.5;
	IMB_MGR *m;
	int ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		if (ch != 's') {
			fprintf(stderr, "usage: bench_wg [-s seconds]\n");
			return 2;
		}
		secs = atof(optarg);
	}
	if (pkt_pool_create(&pool, BURST * 2) != 0 ||
	    wg_worker_create(&w) != 0 || (m = alloc_mb_mgr(0)) == NULL)
		return 1;
	init_mb_mgr_auto(m, NULL);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		bench_wg(pool, w, sizes[k], secs);
		bench_imb(m, sizes[k], secs);
		bench_evp(sizes[k], secs);
	}
	free_mb_mgr(m);
	wg_worker_free(w);
	pkt_pool_destroy(pool);
	return 0;
}
