/*
 * tests/fuzz/fuzz_esp_udp.c: libFuzzer target for esp_udp_classify()
 * (src/tun/esp.c), the UDP 4500 demultiplexer: the input is a datagram's
 * payload, copied to an exact-size heap buffer so ASan sees any read past
 * it.  Each answer is checked against RFC 3948's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tun/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	uint32_t spi = 0;
	enum esp_udp_kind k;

	if (b == NULL)
		return 0;
	memcpy(b, data, size);
	k = esp_udp_classify(b, size, &spi);
	switch (k) {
	case ESP_UDP_KEEPALIVE:
		CHECK(size == 1 && b[0] == 0xff);
		break;
	case ESP_UDP_IKE:
		CHECK(size > 4 && memcmp(b, "\0\0\0\0", 4) == 0);
		break;
	case ESP_UDP_ESP:
		CHECK(size >= 8 && spi >= 256);
		CHECK(spi == ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3]));
		break;
	case ESP_UDP_INVALID:
		CHECK(!(size == 1 && b[0] == 0xff));
		break;
	}
	free(b);
	return 0;
}
