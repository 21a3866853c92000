/*
 * src/ike/frag.h: IKE fragmentation (RFC 7383), frag.c.
 *
 * A protected message bigger than one datagram of the fragment size is
 * sent as several, each an SKF payload encrypted and integrity-protected
 * on its own, so that a path that drops IP fragments (many firewalls and
 * NATs do) still carries an IKE_AUTH with certificates.  Both ends must
 * have announced IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT.
 *
 * What the engine keeps of a message it sent, for resending it whole, is
 * a train: its datagrams one after another, each behind its length.
 */
#ifndef IKE_FRAG_H
#define IKE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ike_priv.h"

#define IKE_FRAG_SIZE_DEFAULT	1280	/* a whole IP datagram: charon's
					   fragment_size default */
#define IKE_FRAG_SIZE_MIN	576	/* IPv4's least reassembly buffer */
#define IKE_FRAG_MAX		32	/* fragments of one message, either
					   way: IKE_MSG_MAX at the least
					   fragment size takes 18 */

/* A train's datagram: its length (2 bytes, host order), then itself. */
#define IKE_TRAIN_HDR		2

/* Puts msg into a train at t, behind a non-ESP marker when natt; the
 * bytes it took there. */
static inline size_t
ike_train_put(uint8_t *t, bool natt, const uint8_t *msg, size_t len)
{
	size_t m = natt ? IKE_NON_ESP_MARKER_LEN : 0;
	uint16_t n = (uint16_t)(len + m);

	memcpy(t, &n, IKE_TRAIN_HDR);
	memset(t + IKE_TRAIN_HDR, 0, m);
	memcpy(t + IKE_TRAIN_HDR + m, msg, len);
	return IKE_TRAIN_HDR + m + len;
}

/* The train's datagram at *off: its bytes and length; *off moves past
 * it.  false at the end. */
static inline bool
ike_train_next(const uint8_t *t, size_t len, size_t *off, const uint8_t **p,
    size_t *n)
{
	uint16_t l;

	if (*off + IKE_TRAIN_HDR > len)
		return false;
	memcpy(&l, t + *off, IKE_TRAIN_HDR);
	*p = t + *off + IKE_TRAIN_HDR;
	*n = l;
	*off += IKE_TRAIN_HDR + l;
	return true;
}

/* Whether conn announces IKEV2_FRAGMENTATION_SUPPORTED (all but
 * fragmentation no). */
bool ike_frag_announced(const struct ike *ike, int conn);
/* IKE_SA_INIT's answer (or request, on the responder) m had the notify:
 * sa uses fragments from now on when its connection announces them. */
void ike_frag_negotiate(struct ike *ike, struct ike_sa *sa,
    const struct ike_msg *m);

/*
 * Whether the protected message of len plain bytes goes as fragments:
 * both ends announced them, sa's connection sends them (not "accept"),
 * and its datagram would be bigger than the fragment size.
 */
bool ike_frag_wanted(const struct ike *ike, const struct ike_sa *sa,
    size_t len);
/* Sends it so, as ike_send_protected() does a whole one: each fragment
 * sealed, all kept for resending.  0 or -errno (too many fragments). */
int ike_frag_send(struct ike *ike, struct ike_sa *sa,
    const struct ike_hdr *h, uint8_t first, const uint8_t *plain,
    size_t len, enum ike_req_kind kind, uint64_t now_ms);

/*
 * A datagram of sa with an SKF payload, ike->m parsed from msg (len
 * bytes), its message ID already checked: the fragment is verified and
 * kept.  0 when it was the last one missing: *out (ike->whole) and
 * *out_len are the whole message in clear, as ike_sk_open() leaves an
 * SK message; 1 when more must come; -1 when it was dropped (counted,
 * and logged when it did not verify).
 */
int ike_frag_input(struct ike *ike, struct ike_sa *sa, uint8_t *msg,
    size_t len, const uint8_t **out, size_t *out_len);
/* Frees what sa holds of messages being put together. */
void ike_frag_free(struct ike_sa *sa);

#endif /* IKE_FRAG_H */
