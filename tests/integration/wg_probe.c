/*
 * tests/integration/wg_probe.c: the initiator side of WireGuard's
 * handshake (src/tun/wg_noise.c) against a live peer, for
 * netns_wg_handshake.sh.  Sends an initiation over UDP, takes the
 * response (answering a cookie reply once), then proves the transport
 * keys are the peer's: an ICMP echo request sealed with the send key
 * must come back as an echo reply that opens with the receive key.
 * The transport sealing here is the test's own few lines of OpenSSL, not
 * the data plane's.
 *
 * Usage: wg_probe OUR_PRIVATE PEER_PUBLIC PSK|- PEER_IP PORT INNER_SRC INNER_DST
 *        (keys base64 as wg(8) writes them; exit 0 when all is proven)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tun/wg_noise.h"

static int
b64key(uint8_t out[WG_KEY_LEN], const char *b64)
{
	uint8_t buf[48];

	if (strlen(b64) != 44 ||
	    EVP_DecodeBlock(buf, (const uint8_t *)b64, 44) != 33)
		return -1;
	memcpy(out, buf, WG_KEY_LEN);
	return 0;
}

static uint64_t
now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ChaCha20-Poly1305 with the transport nonce: 0 or -1 (bad tag). */
static int
seal(bool enc, const uint8_t key[32], uint64_t counter, const uint8_t *in,
    size_t in_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12] = { 0 };
	size_t text = enc ? in_len : in_len - 16;
	int n, ok, i;

	for (i = 0; i < 8; i++)
		nonce[4 + i] = counter >> (8 * i);
	ok = ctx != NULL && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(),
	    NULL, key, nonce, enc) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
		    (void *)(in + text)) == 1;
	ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)text) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + text, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
		    out + text) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static uint16_t
csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += p[i] << 8 | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* Waits up to 3 s for a datagram: its length, or -1. */
static ssize_t
recv_wait(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 3000) != 1)
		return -1;
	return recv(fd, buf, cap, 0);
}

int
main(int argc, char **argv)
{
	struct wg_static me;
	struct wg_peer peer;
	struct wg_handshake hs;
	struct wg_session_keys kp;
	struct wg_err err;
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t k[WG_KEY_LEN], psk[WG_KEY_LEN], ini[WG_INITIATION_LEN];
	uint8_t buf[2048], pkt[64], out[128];
	uint32_t src, dst;
	uint16_t c;
	ssize_t n;
	int fd, tries, i;

	if (argc != 8) {
		fprintf(stderr, "usage: wg_probe OUR_PRIVATE PEER_PUBLIC "
		    "PSK|- PEER_IP PORT INNER_SRC INNER_DST\n");
		return 2;
	}
	if (b64key(k, argv[1]) < 0 || wg_static_init(&me, k) < 0 ||
	    b64key(k, argv[2]) < 0 ||
	    (strcmp(argv[3], "-") != 0 && b64key(psk, argv[3]) < 0) ||
	    wg_peer_init(&peer, k, strcmp(argv[3], "-") ? psk : NULL) < 0 ||
	    inet_pton(AF_INET, argv[4], &to.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[6], &src) != 1 ||
	    inet_pton(AF_INET, argv[7], &dst) != 1) {
		fprintf(stderr, "wg_probe: bad key or address\n");
		return 2;
	}
	to.sin_port = htons(atoi(argv[5]));
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("wg_probe: socket");
		return 1;
	}

	/* The handshake; a cookie reply (peer under load) is taken once. */
	for (tries = 0; tries < 2; tries++) {
		if (wg_initiation_create(&hs, &me, &peer, 0x5eed0001,
		    now_ns(CLOCK_REALTIME), now_ns(CLOCK_MONOTONIC) /
		    1000000000, ini, &err) < 0 ||
		    send(fd, ini, sizeof(ini), 0) != sizeof(ini)) {
			fprintf(stderr, "wg_probe: initiation: %s\n",
			    wg_err_str(err.code));
			return 1;
		}
		if ((n = recv_wait(fd, buf, sizeof(buf))) < 0) {
			fprintf(stderr, "wg_probe: no answer to the "
			    "initiation\n");
			return 1;
		}
		if (n > 0 && buf[0] == WG_MSG_COOKIE_REPLY) {
			if (wg_cookie_reply_consume(&peer, buf, n,
			    now_ns(CLOCK_MONOTONIC) / 1000000000, &err) < 0) {
				fprintf(stderr, "wg_probe: cookie reply: %s "
				    "at %u\n", wg_err_str(err.code), err.off);
				return 1;
			}
			printf("cookie reply taken\n");
			continue;
		}
		break;
	}
	if (wg_response_consume(&hs, &me, buf, n, &kp, &err) < 0) {
		fprintf(stderr, "wg_probe: response: %s at offset %u\n",
		    wg_err_str(err.code), err.off);
		return 1;
	}
	printf("response taken: local index %08x, remote index %08x\n",
	    kp.local_index, kp.remote_index);

	/* An echo request, 20 + 8 + 4 bytes, padded to 32 as WireGuard
	 * pads, sealed with the send key at counter 0. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[3] = 32;
	pkt[8] = 64;
	pkt[9] = 1;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	c = csum(pkt, 20);
	pkt[10] = c >> 8;
	pkt[11] = c;
	pkt[20] = 8;
	pkt[24] = 0x12;
	pkt[26] = 0x00;
	pkt[27] = 0x01;
	memcpy(pkt + 28, "hgwg", 4);
	c = csum(pkt + 20, 12);
	pkt[22] = c >> 8;
	pkt[23] = c;
	wg_transport_hdr_encode(kp.remote_index, 0, out);
	if (seal(true, kp.send, 0, pkt, 32, out + WG_TRANSPORT_HDR_LEN) < 0 ||
	    send(fd, out, WG_TRANSPORT_HDR_LEN + 32 + 16, 0) < 0) {
		fprintf(stderr, "wg_probe: sending the echo request failed\n");
		return 1;
	}
	for (i = 0; i < 5; i++) {
		struct wg_transport_hdr th;

		if ((n = recv_wait(fd, buf, sizeof(buf))) < 0)
			break;
		if (wg_transport_hdr_parse(buf, n, &th, &err) < 0 ||
		    th.receiver != kp.local_index || th.data_len == 16)
			continue;	/* a keepalive or something else */
		if (seal(false, kp.recv, th.counter, buf +
		    WG_TRANSPORT_HDR_LEN, th.data_len, pkt) < 0) {
			fprintf(stderr, "wg_probe: transport data from the "
			    "peer does not open with the receive key\n");
			return 1;
		}
		if (th.data_len - 16 >= 32 && pkt[9] == 1 && pkt[20] == 0 &&
		    memcmp(pkt + 28, "hgwg", 4) == 0) {
			printf("echo reply opened with the receive key "
			    "(counter %llu)\n", (unsigned long long)th.counter);
			return 0;
		}
	}
	fprintf(stderr, "wg_probe: no echo reply\n");
	return 1;
}
