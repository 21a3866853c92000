/*
 * tests/fuzz/fuzz_mss.c: TCP MSS clamping (src/pkt/mss.c) over any bytes
 * as an IPv4 or IPv6 packet: it reads and writes only inside them, and
 * what it changes is only ever an MSS lowered (a second pass finds
 * nothing to do).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b;
	uint16_t mss;

	if (size < 2)
		return 0;
	mss = (uint16_t)(data[0] << 8 | data[1]);
	size -= 2;
	b = malloc(size ? size : 1);	/* exact size: ASan sees overruns */
	if (b == NULL)
		return 0;
	memcpy(b, data + 2, size);
	if (pkt_tcp_clamp_mss(b, size, mss) &&
	    pkt_tcp_clamp_mss(b, size, mss))
		abort();		/* lowered twice: not to mss */
	free(b);
	return 0;
}
