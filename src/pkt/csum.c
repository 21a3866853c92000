/*
 * src/pkt/csum.c: the Internet checksum (RFC 1071), its incremental update
 * (RFC 1624) and the transport pseudo-headers.  Parsing, which verifies the
 * IPv4 header checksum, is in parse.c.
 *
 * Byte order: the running sum adds the data as native-endian 16-bit words,
 * never swapping them.  The ones'-complement sum is byte-order independent
 * (RFC 1071 §2 (B)), so the folded result, stored natively into a _be
 * field, is already the right pair of wire bytes.  Values added to a sum by
 * hand must therefore be network-order (_be) too, as pkt_pseudo4() does.
 *
 * A sum may be built from several pkt_csum_add() calls, but only the last
 * chunk may have an odd length: an odd chunk shifts every later byte into
 * the other half of its word.
 */
#include <arpa/inet.h>
#include <string.h>

#include "pkt.h"

/* Adds 32-bit words into a 64-bit accumulator: 2^16 words of 2^32 - 1
 * cannot overflow it, so the carries are folded once at the end. */
uint32_t
pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	uint64_t acc = sum;
	uint32_t w32;
	uint16_t w16;

	while (len >= 8) {
		uint64_t w64;

		memcpy(&w64, b, 8);
		acc += (w64 & 0xffffffffu) + (w64 >> 32);
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, b, 4);
		acc += w32;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, b, 2);
		acc += w16;
		b += 2;
		len -= 2;
	}
	if (len == 1) {
		/* The odd byte is the first of a word whose second is 0. */
		w16 = 0;
		memcpy(&w16, b, 1);
		acc += w16;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t
pkt_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').  Unlike eqn. 2 it never turns a
 * sum into +0 (0x0000) where a full recompute gives -0 (0xffff), so the
 * result always equals recomputing from scratch.
 */
uint16_t
pkt_csum_update16(uint16_t csum_be, uint16_t old_be, uint16_t new_be)
{
	uint32_t sum;

	sum = (uint16_t)~csum_be;
	sum += (uint16_t)~old_be;
	sum += new_be;
	return pkt_csum_fold(sum);
}

uint16_t
pkt_csum_update32(uint16_t csum_be, uint32_t old_be, uint32_t new_be)
{
	uint32_t sum;

	sum = (uint16_t)~csum_be;
	sum += (uint16_t)~(old_be & 0xffff);
	sum += (uint16_t)~(old_be >> 16);
	sum += new_be & 0xffff;
	sum += new_be >> 16;
	return pkt_csum_fold(sum);
}

/* RFC 793 §3.1 / RFC 768: source, destination, zero, protocol, length. */
uint32_t
pkt_pseudo4(uint32_t src_be, uint32_t dst_be, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum;

	sum = (src_be & 0xffff) + (src_be >> 16);
	sum += (dst_be & 0xffff) + (dst_be >> 16);
	sum += htons(proto);
	sum += htons(l4_len);
	return sum;
}

/* RFC 8200 §8.1: source, destination, 32-bit length, 24 zero bits, next
 * header. */
uint32_t
pkt_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
    uint32_t l4_len)
{
	uint32_t sum, len_be = htonl(l4_len);

	sum = pkt_csum_add(0, src, 16);
	sum = pkt_csum_add(sum, dst, 16);
	/* fold once so that adding the last three words cannot overflow */
	sum = (sum & 0xffff) + (sum >> 16);
	sum += (len_be & 0xffff) + (len_be >> 16);
	sum += htons(proto);
	return sum;
}

uint16_t
pkt_l4_csum4(const struct ip4_hdr *ip, const void *l4, uint16_t l4_len,
    uint8_t proto)
{
	uint32_t sum = 0;

	/* ICMP (RFC 792) covers only its own message. */
	if (proto != IPPROTO_ICMP_)
		sum = pkt_pseudo4(ip->src_be, ip->dst_be, proto, l4_len);
	return pkt_csum_fold(pkt_csum_add(sum, l4, l4_len));
}

uint16_t
pkt_l4_csum6(const struct ip6_hdr *ip, const void *l4, uint32_t l4_len,
    uint8_t proto)
{
	uint32_t sum;

	sum = pkt_pseudo6(ip->src, ip->dst, proto, l4_len);
	return pkt_csum_fold(pkt_csum_add(sum, l4, l4_len));
}

void
pkt_ip4_set_csum(struct ip4_hdr *ip)
{
	ip->csum_be = 0;
	ip->csum_be = pkt_csum(ip, (size_t)(ip->ver_ihl & 0x0f) * 4);
}
