/*
 * src/tun/tun.h: tunnel encapsulations, as the rest of hexgate sees them.
 * Pure: bytes and state in, bytes out.  Nothing here routes, resolves a
 * neighbour, opens a socket or counts a drop; the caller (src/dp) does,
 * and hands the packet on to ip_output() like anything hexgate sends.
 *
 * Today: VXLAN (vxlan.c, RFC 7348), the outer headers of COPY's copies.
 * GRE, ESP (+NAT-T) and the overlay join it here.
 */
#ifndef TUN_H
#define TUN_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../pkt/pkt.h"

#define TUN_VXLAN_PORT		4789	/* RFC 7348 §5 */
#define TUN_VXLAN_HDR_LEN	8

/* What a VXLAN packet's outer headers say (tun_vxlan_build()). */
struct tun_vxlan {
	uint8_t family;			/* 4: IPv4 outer headers, 6: IPv6 */
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint32_t vni;			/* 24 bits */
	uint16_t sport;			/* host order */
	uint16_t mtu_bytes;		/* largest outer L3 packet */
	uint16_t snap_bytes;		/* most of the frame to keep; 0: all */
	uint8_t ttl;			/* outer TTL or hop limit */
};

/*
 * Writes into the empty packet c the VXLAN packet carrying p's frame:
 * Ethernet (addresses zero: ip_output() writes them), IPv4 (DF, UDP
 * checksum 0) or IPv6 (UDP checksum computed), UDP to TUN_VXLAN_PORT,
 * VXLAN with the I flag, then p's first v->snap_bytes bytes (all when 0),
 * cut further to what fits v->mtu_bytes.  c is left parsed for
 * ip_output().  p is only read.  Returns the bytes the MTU cut (0: all
 * that was asked for fits), or -EMSGSIZE when not even its Ethernet
 * header fits.
 */
int tun_vxlan_build(struct pkt *c, const struct pkt *p,
    const struct tun_vxlan *v) HG_MUST_CHECK;
/* RFC 7348 §5: a source port from 49152..65535 by the inner flow; parsed
 * says whether p's parse fields (l3, l4) may be read. */
uint16_t tun_vxlan_sport(const struct pkt *p, bool parsed);

#endif /* TUN_H */
