/*
 * src/pkt/mss.c: TCP MSS clamping, as iptables' TCPMSS target does it,
 * for links whose MTU is below what the hosts assume (ESP tunnels: the
 * encapsulation takes 50 to 90 bytes).  A SYN's MSS option above the
 * limit is lowered and the TCP checksum updated incrementally (RFC 1624),
 * so nothing is recomputed over the segment.
 */
#include <string.h>

#include "pkt.h"

/* The 16-bit word at b as the checksum sums it: words start at even
 * offsets of the header, so one at an odd offset counts byte-swapped
 * (RFC 1071 §2(B)). */
static uint16_t
csum_word(const uint8_t *b, bool odd)
{
	uint8_t w[2] = { b[odd], b[!odd] };
	uint16_t v;

	memcpy(&v, w, 2);
	return v;
}

bool
pkt_tcp_clamp_mss(uint8_t *l3, size_t len, uint16_t mss)
{
	uint8_t *tcp;
	size_t tcp_len, doff, i;
	uint16_t csum;

	if (len < 1 || mss == 0)
		return false;
	if (l3[0] >> 4 == 4) {
		size_t ihl = (size_t)(l3[0] & 15) * 4, tot;

		if (len < IP4_HDR_LEN || ihl < IP4_HDR_LEN || len < ihl ||
		    l3[9] != IPPROTO_TCP_ ||
		    ((l3[6] << 8 | l3[7]) & 0x3fff) != 0)	/* a fragment */
			return false;
		tot = (size_t)(l3[2] << 8 | l3[3]);
		if (tot < len)
			len = tot;
		if (len < ihl)
			return false;
		tcp = l3 + ihl;
		tcp_len = len - ihl;
	} else if (l3[0] >> 4 == 6) {
		/* TCP straight after the fixed header; extension headers
		 * in front of a SYN are not clamped. */
		if (len < IP6_HDR_LEN || l3[6] != IPPROTO_TCP_)
			return false;
		if ((size_t)(IP6_HDR_LEN + (l3[4] << 8 | l3[5])) < len)
			len = (size_t)(IP6_HDR_LEN + (l3[4] << 8 | l3[5]));
		tcp = l3 + IP6_HDR_LEN;
		tcp_len = len - IP6_HDR_LEN;
	} else
		return false;
	if (tcp_len < 20 || (tcp[13] & 0x02) == 0)	/* not a SYN */
		return false;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || doff > tcp_len)
		return false;
	for (i = 20; i < doff;) {
		uint8_t kind = tcp[i], olen;
		uint16_t old_w, new_w;

		if (kind == 0)			/* end of options */
			break;
		if (kind == 1) {		/* no-op */
			i++;
			continue;
		}
		if (i + 1 >= doff)
			break;
		olen = tcp[i + 1];
		if (olen < 2 || i + olen > doff)
			break;
		if (kind != 2 || olen != 4) {
			i += olen;
			continue;
		}
		if ((tcp[i + 2] << 8 | tcp[i + 3]) <= mss)
			return false;
		old_w = csum_word(tcp + i + 2, (i & 1) != 0);
		tcp[i + 2] = (uint8_t)(mss >> 8);
		tcp[i + 3] = (uint8_t)mss;
		new_w = csum_word(tcp + i + 2, (i & 1) != 0);
		memcpy(&csum, tcp + 16, 2);
		csum = pkt_csum_update16(csum, old_w, new_w);
		memcpy(tcp + 16, &csum, 2);
		return true;
	}
	return false;
}
