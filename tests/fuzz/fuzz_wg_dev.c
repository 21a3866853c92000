/*
 * tests/fuzz/fuzz_wg_dev.c: libFuzzer target for the WireGuard device
 * engine (src/tun/wg_dev.c) as the overlay runs it: handshake datagrams
 * from anyone, timers, and what the data plane says it saw.
 *
 * The engine holds the recorded wireguard-go handshake's responder key
 * (tests/unit/tun/data/wg_wggo_handshake.txt) with the initiator as its
 * peer (and its PSK), and a second peer with an endpoint it initiates to.
 * The input is a sequence of records: a flags byte, a 2-byte length and
 * the bytes.  Flags bit 0: under load; bit 1: MAC1 recomputed over the
 * bytes first (so the fuzzer reaches the Noise steps, as
 * fuzz_wg_handshake does); bit 2: the record is an observation instead
 * (its bytes fill a struct wg_peer_obs for one peer); bits 3-7: the clock
 * moves on by that many seconds first, so retransmissions, rekeys and
 * expiries run.  Each datagram is copied to an exact-size heap buffer so
 * ASan sees any read past it.  The engine frees nothing itself: every
 * keypair it makes comes back through retire(), which frees it, so a
 * keypair never retired is a leak LeakSanitizer reports, and one retired
 * twice a double free.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tun/wg_data.h"
#include "tun/wg_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

static const char ini_priv_b64[] =
    "2GCJ/o+Lygit54b3ZEwih8d+mJJ0s7ZjC2wjcgubtGE=";
static const char rsp_priv_b64[] =
    "gKPaZlNGurp/q4z00iXplwgRQppWTNRXr8v/fu2M0nk=";
static const char psk_b64[] = "A9ZJWZzkPI4VGHi2ZWEbNdvj0BsPEt2r8ZuNMKkuUK8=";

static uint8_t rsp_priv[32], ini_pub[32], psk[32], other_pub[32];
static uint8_t mac1_key[32];
static uint64_t clock_ms, wall_ns;

static void
key(uint8_t out[32], const char *b64)
{
	uint8_t buf[48];

	CHECK(EVP_DecodeBlock(buf, (const uint8_t *)b64, 44) == 33);
	memcpy(out, buf, 32);
}

static void
on_send(void *ctx, const struct wg_endpoint *ep, const uint8_t *msg,
    size_t len)
{
	(void)ctx;
	CHECK(ep->family == AF_INET || ep->family == AF_INET6);
	CHECK(len == WG_INITIATION_LEN || len == WG_RESPONSE_LEN ||
	    len == WG_COOKIE_REPLY_LEN || len == WG_DATA_MIN_LEN);
	CHECK(msg[0] >= 1 && msg[0] <= 4);
}

/* Every keypair published is one the engine made and has not retired. */
static struct wg_dev *dev_now;

static void
on_changed(void *ctx, uint16_t peer)
{
	struct wg_dev_keys k;

	(void)ctx;
	CHECK(peer < 2);
	wg_dev_keys_of(dev_now, peer, &k);
	CHECK(k.cur == NULL || (k.cur != k.prev && k.cur != k.next));
	CHECK(k.prev == NULL || k.prev != k.next);
}

static void
on_retire(void *ctx, struct wg_keypair *kp)
{
	(void)ctx;
	CHECK(kp != NULL);
	wg_keypair_free(kp);
}

static uint64_t
on_wall(void *ctx)
{
	(void)ctx;
	return wall_ns;
}

static uint32_t
on_pick(void *ctx, const struct wg_endpoint *ep, uint32_t rnd)
{
	(void)ctx;
	(void)ep;
	return rnd ^ 0x5a5a5a5a;
}

static void
mac1(uint8_t *msg, size_t len)
{
	size_t off = len == WG_INITIATION_LEN ? WG_INITIATION_MAC1_OFF :
	    WG_RESPONSE_MAC1_OFF;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	size_t out = 0;

	if (c != NULL && EVP_MAC_init(c, mac1_key, 32, NULL) == 1 &&
	    EVP_MAC_update(c, msg, off) == 1)
		(void)EVP_MAC_final(c, msg + off, &out, WG_MAC_LEN);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct wg_dev_env env = {
		.send = on_send, .changed = on_changed, .retire = on_retire,
		.pick_index = on_pick, .wall_ns = on_wall,
	};
	struct wg_dev_peer_cfg pc;
	struct wg_endpoint from;
	struct wg_dev *dev;

	if (!ready) {
		uint8_t rsp_pub[32], h[64];
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		unsigned int n = 0;

		key(rsp_priv, rsp_priv_b64);
		key(psk, psk_b64);
		key(ini_pub, ini_priv_b64);
		CHECK(wg_pubkey(ini_pub, ini_pub) == 0);
		CHECK(wg_pubkey(rsp_pub, rsp_priv) == 0);
		memset(other_pub, 9, 32);
		CHECK(wg_pubkey(other_pub, other_pub) == 0);
		/* mac1's key: HASH("mac1----" || our public key). */
		CHECK(c != NULL && EVP_DigestInit_ex(c, EVP_blake2s256(),
		    NULL) == 1 && EVP_DigestUpdate(c, "mac1----", 8) == 1 &&
		    EVP_DigestUpdate(c, rsp_pub, 32) == 1 &&
		    EVP_DigestFinal_ex(c, h, &n) == 1 && n == 32);
		memcpy(mac1_key, h, 32);
		EVP_MD_CTX_free(c);
		ready = true;
	}
	clock_ms = 1000000;
	wall_ns = 1700000000ull * 1000000000ull;
	CHECK(wg_dev_create(&dev, &env, rsp_priv) == 0);
	dev_now = dev;
	memset(&pc, 0, sizeof(pc));
	memcpy(pc.pub, ini_pub, 32);
	pc.has_psk = true;
	memcpy(pc.psk, psk, 32);
	pc.enabled = true;
	CHECK(wg_dev_peer_set(dev, 0, &pc, clock_ms) == 0);
	memset(&pc, 0, sizeof(pc));
	memcpy(pc.pub, other_pub, 32);
	pc.enabled = true;
	pc.keepalive_s = 25;
	pc.endpoint.family = AF_INET;
	memcpy(pc.endpoint.addr, "\xc6\x33\x64\x07", 4);
	pc.endpoint.port = 51820;
	CHECK(wg_dev_peer_set(dev, 1, &pc, clock_ms) == 0);
	memset(&from, 0, sizeof(from));
	from.family = AF_INET;
	memcpy(from.addr, "\xc0\x00\x02\x02", 4);
	from.port = 40000;

	while (size >= 3) {
		uint8_t flags = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		uint8_t *msg;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		clock_ms += (uint64_t)(flags >> 3) * 1000;
		wall_ns += (uint64_t)(flags >> 3) * 1000000000ull;
		if (flags & 4) {
			struct wg_peer_obs obs[2];

			memset(obs, 0, sizeof(obs));
			memcpy(&obs[len & 1], data, len < sizeof(obs[0]) ?
			    len : sizeof(obs[0]));
			/* Times are the engine's clock, never ahead of it. */
			for (int i = 0; i < 2; i++) {
				obs[i].last_tx_ms %= clock_ms + 1;
				obs[i].last_tx_data_ms %= clock_ms + 1;
				obs[i].last_rx_ms %= clock_ms + 1;
				obs[i].last_rx_data_ms %= clock_ms + 1;
				obs[i].want_ms %= clock_ms + 1;
				if (obs[i].rx_from.family != AF_INET6)
					obs[i].rx_from.family =
					    obs[i].rx_from.family & 1 ?
					    AF_INET : 0;
			}
			wg_dev_tick(dev, obs, 2, clock_ms);
		} else {
			msg = malloc(len ? len : 1);
			CHECK(msg != NULL);
			memcpy(msg, data, len);
			if ((flags & 2) && (len == WG_INITIATION_LEN ||
			    len == WG_RESPONSE_LEN))
				mac1(msg, len);
			wg_dev_input(dev, &from, msg, len, flags & 1, clock_ms);
			free(msg);
			wg_dev_tick(dev, NULL, 0, clock_ms);
		}
		data += len;
		size -= len;
	}
	wg_dev_destroy(dev);
	return 0;
}
