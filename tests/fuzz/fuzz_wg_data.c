/*
 * tests/fuzz/fuzz_wg_data.c: libFuzzer target for WireGuard transport
 * data decapsulation (src/tun/wg_data.c) with a fixed keypair (receiver
 * index 1).  The first input byte picks the mode:
 *   even  the rest is a message as it arrives (the UDP payload): nearly
 *         always dropped before or at the tag, which is the point:
 *         nothing before it may read out of bounds (the seeds' genuine
 *         messages, sealed with this key, get through).
 *   odd   the rest is a plaintext that is sealed first under a valid
 *         header (counter from the byte), so the checks after the tag
 *         (keepalive, inner header, padding) see arbitrary bytes; what
 *         comes out must lie inside what went in.
 * A fresh keypair per input, so the window starts empty each time.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "pkt/pkt.h"
#include "tun/wg_data.h"

static const uint8_t key[WG_KEY_LEN] = { 0x42, 0x17 };
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pkt_pool *pool;
static struct wg_worker *worker;

static struct wg_keypair *
lookup(void *ctx, uint32_t idx)
{
	return idx == 1 ? ctx : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_keypair *kp;
	struct pkt *p;
	uint8_t res, msg[PKT_DATA_ROOM];
	size_t len;

	if (pool == NULL && (pkt_pool_create(&pool, 4) != 0 ||
	    wg_worker_create(&worker) != 0))
		abort();
	if (size < 1)
		return 0;
	if (wg_keypair_create(&kp, key, key, 1, 1) != 0)
		abort();
	if ((data[0] & 1) == 0) {
		len = size - 1 > PKT_DATA_ROOM ? PKT_DATA_ROOM : size - 1;
		memcpy(msg, data + 1, len);
	} else {
		uint8_t nonce[12] = { 0 };
		uint64_t ctr = htole64(data[0] >> 1);
		uint32_t idx = htole32(1);
		size_t pt = size - 1;

		if (pt > PKT_DATA_ROOM - WG_DATA_MIN_LEN)
			pt = PKT_DATA_ROOM - WG_DATA_MIN_LEN;
		memset(msg, 0, WG_DATA_HDR_LEN);
		msg[0] = WG_MSG_DATA;
		memcpy(msg + 4, &idx, 4);
		memcpy(msg + 8, &ctr, 8);
		memcpy(nonce + 4, &ctr, 8);
		memcpy(msg + WG_DATA_HDR_LEN, data + 1, pt);
		if (wg_aead_seal(worker, key, nonce, NULL, 0,
		    msg + WG_DATA_HDR_LEN, pt, msg + WG_DATA_HDR_LEN + pt) != 0)
			abort();
		len = pt + WG_DATA_MIN_LEN;
	}
	p = pkt_alloc(pool);
	if (pkt_set_frame(p, msg, (uint16_t)len) != 0)
		abort();
	wg_decap_burst(worker, lookup, kp, &p, 1, &res);
	if (res == WG_R_OK) {
		/* What comes out lies inside the ciphertext it came from,
		 * and a sealed plaintext comes back as a prefix of itself. */
		if (p->len > len - WG_DATA_MIN_LEN ||
		    ((data[0] & 1) != 0 &&
		    memcmp(p->data, data + 1, p->len) != 0))
			abort();
	}
	if ((data[0] & 1) != 0 && size - 1 == 0 && res != WG_R_KEEPALIVE)
		abort();
	pkt_free(pool, p);
	wg_keypair_free(kp);
	return 0;
}
