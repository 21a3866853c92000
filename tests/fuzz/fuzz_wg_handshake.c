/*
 * tests/fuzz/fuzz_wg_handshake.c: libFuzzer target for WireGuard's
 * handshake consumers (src/tun/wg_noise.c), which take bytes from anyone
 * who can send a UDP datagram.  The first input byte picks what the rest
 * goes to, as wireguard-tools' fuzzers do:
 *
 *   bits 0-1  0: the responder's wg_initiation_consume
 *             1: the initiator's wg_response_consume (a handshake in
 *                flight whose sender index is the recorded one's)
 *             2: wg_cookie_reply_consume
 *             3: wg_msg_check and wg_transport_hdr_parse
 *   bit 2     MAC1 is recomputed over the input first, so the fuzzer gets
 *             past it to the Noise steps (nobody else can be kept out by
 *             MAC1: it is keyed with a public key).
 *
 * The keys are those of the recorded wireguard-go handshake
 * (tests/unit/tun/data/wg_wggo_handshake.txt), whose two messages seed
 * the corpus.  The input is copied to an exact-size heap buffer so ASan
 * sees any read past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tun/wg_noise.h"

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
/* The recorded initiation's sender index, which its response answers. */
#define RECORDED_SENDER	0x882b70e8u

static struct wg_static ini, rsp;
static struct wg_peer ini_view, rsp_view;	/* of rsp, of ini */
static struct wg_handshake in_flight;
static bool ready;

static void
key(uint8_t out[WG_KEY_LEN], const char *b64)
{
	uint8_t buf[48];

	CHECK(EVP_DecodeBlock(buf, (const uint8_t *)b64, 44) == 33);
	memcpy(out, buf, WG_KEY_LEN);
}

static void
setup(void)
{
	uint8_t k[WG_KEY_LEN], psk[WG_KEY_LEN], msg[WG_INITIATION_LEN];
	struct wg_err err;

	key(psk, psk_b64);
	key(k, ini_priv_b64);
	CHECK(wg_static_init(&ini, k) == 0);
	key(k, rsp_priv_b64);
	CHECK(wg_static_init(&rsp, k) == 0);
	CHECK(wg_peer_init(&ini_view, rsp.pub, psk) == 0);
	CHECK(wg_peer_init(&rsp_view, ini.pub, psk) == 0);
	CHECK(wg_initiation_create(&in_flight, &ini, &ini_view,
	    RECORDED_SENDER, 0, 0, msg, &err) == 0);
	ready = true;
}

static struct wg_peer *
lookup(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	return memcmp(pub, rsp_view.pub, WG_KEY_LEN) == 0 ? &rsp_view : NULL;
}

static void
fix_mac1(uint8_t *msg, size_t len, const uint8_t mac1_key[WG_HASH_LEN])
{
	size_t off, n, size = WG_MAC_LEN;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};

	if (len == WG_INITIATION_LEN)
		off = WG_INITIATION_MAC1_OFF;
	else if (len == WG_RESPONSE_LEN)
		off = WG_RESPONSE_MAC1_OFF;
	else
		return;
	CHECK(EVP_Q_mac(NULL, "BLAKE2SMAC", NULL, NULL, params, mac1_key,
	    WG_HASH_LEN, msg, off, msg + off, WG_MAC_LEN, &n) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_handshake hs;
	struct wg_transport_hdr th;
	struct wg_session_keys kp, kr;
	struct wg_err err;
	uint8_t resp[WG_RESPONSE_LEN];
	uint8_t *msg;
	uint8_t mode;
	int t;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	mode = data[0];
	size--;
	if ((msg = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(msg, data + 1, size);

	switch (mode & 3) {
	case 0:
		if (mode & 4)
			fix_mac1(msg, size, rsp.mac1_key);
		/* Every input may be the first: no replay state carries. */
		memset(rsp_view.last_timestamp, 0, WG_TAI64N_LEN);
		if (wg_initiation_consume(&hs, &rsp, lookup, NULL, msg, size,
		    &err) == 0) {
			CHECK(size == WG_INITIATION_LEN);
			CHECK(hs.peer == &rsp_view);
			CHECK(wg_response_create(&hs, 1, 0, resp, &kr,
			    &err) == 0);
		} else
			CHECK(err.code > WG_E_OK && err.code < WG_E_COUNT &&
			    err.off <= size);
		break;
	case 1:
		if (mode & 4)
			fix_mac1(msg, size, ini.mac1_key);
		hs = in_flight;
		if (wg_response_consume(&hs, &ini, msg, size, &kp, &err) == 0)
			CHECK(kp.local_index == RECORDED_SENDER);
		else
			CHECK(err.code > WG_E_OK && err.code < WG_E_COUNT &&
			    err.off <= size);
		wg_handshake_wipe(&hs);
		break;
	case 2:
		ini_view.last_mac1_valid = true;
		if (wg_cookie_reply_consume(&ini_view, msg, size, 0, &err) == 0)
			CHECK(size == WG_COOKIE_REPLY_LEN &&
			    ini_view.cookie_valid);
		ini_view.cookie_valid = false;
		break;
	case 3:
		t = wg_msg_check(msg, size, &err);
		CHECK(t == -1 || (t >= WG_MSG_INITIATION &&
		    t <= WG_MSG_TRANSPORT));
		if (t == WG_MSG_TRANSPORT) {
			CHECK(wg_transport_hdr_parse(msg, size, &th, &err)
			    == 0);
			CHECK(th.data_len == size - WG_TRANSPORT_HDR_LEN);
		}
		break;
	}
	free(msg);
	return 0;
}
