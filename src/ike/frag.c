/*
 * src/ike/frag.c: IKE fragmentation (RFC 7383; frag.h).
 *
 * Sending: the plain payload chain is cut into pieces that each fill a
 * datagram of the fragment size once sealed, and every piece is sealed
 * as its own SKF message with the whole message's header.  All of them
 * go out as one train, so that a retransmission (ours, or our answer
 * sent again for a repeated request) resends them all.
 *
 * Receiving: a fragment is checked (its ICV, with sa's keys) before
 * anything of it is kept, so only a peer holding the keys can make us
 * keep state; then its plaintext waits in the SA's one slot for
 * requests or one for answers until every fragment of the message is
 * in.  A slot holds one message of at most IKE_FRAG_MAX fragments and
 * IKE_MSG_MAX bytes, allocated at its first fragment and freed once the
 * message is whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "frag.h"

struct ike_frag_rx {
	uint32_t msg_id;
	uint16_t total;			/* Total Fragments */
	uint16_t n;			/* of them in */
	uint32_t have;			/* bit num - 1: fragment num is in */
	uint8_t hdr[IKE_HDR_LEN];	/* the message's header */
	uint8_t first;			/* fragment 1's next payload */
	size_t used;
	uint16_t off[IKE_FRAG_MAX], len[IKE_FRAG_MAX];
	uint8_t data[IKE_MSG_MAX - IKE_HDR_LEN];	/* as they came */
};

bool
ike_frag_announced(const struct ike *ike, int conn)
{
	return conn >= 0 &&
	    ike->conns[conn].cfg.fragmentation != IKE_FRAG_NO;
}

void
ike_frag_negotiate(struct ike *ike, struct ike_sa *sa,
    const struct ike_msg *m)
{
	for (unsigned i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].type == IKE_PL_NOTIFY &&
		    m->payloads[i].u.notify.type ==
		    IKE_N_IKEV2_FRAGMENTATION_SUPPORTED)
			sa->frag = ike_frag_announced(ike, sa->conn);
}

/* ---- sending ---------------------------------------------------------- */

static size_t
frag_size(const struct ike *ike)
{
	size_t n = ike->env.fragment_size;

	if (n == 0)
		return IKE_FRAG_SIZE_DEFAULT;
	return n < IKE_FRAG_SIZE_MIN ? IKE_FRAG_SIZE_MIN : n;
}

/* What a datagram of sa costs before its SK or SKF payload's plaintext:
 * IP and UDP headers, the marker, the IKE header, the payload header,
 * skf bytes of fragment fields, the IV and the ICV. */
static size_t
overhead(const struct ike_sa *sa, size_t skf)
{
	const struct ike_suite *s = &sa->keys.suite;
	size_t icv = ike_encr_is_aead(s->encr) ? ike_encr_icv_len(s->encr) :
	    ike_integ_icv_len(s->integ);

	return (sa->remote.family == AF_INET6 ? 40 : 20) + 8 +
	    (sa->natt ? IKE_NON_ESP_MARKER_LEN : 0) + IKE_HDR_LEN +
	    IKE_GEN_HDR_LEN + skf + ike_encr_iv_len(s->encr) + icv;
}

/* CBC pads the plaintext (and its Pad Length byte) to 16 bytes. */
static size_t
block(const struct ike_sa *sa)
{
	return ike_encr_is_aead(sa->keys.suite.encr) ? 1 : 16;
}

bool
ike_frag_wanted(const struct ike *ike, const struct ike_sa *sa, size_t len)
{
	size_t b = block(sa), pt = (len + 1 + b - 1) / b * b;

	if (!sa->frag || sa->conn < 0 ||
	    ike->conns[sa->conn].cfg.fragmentation == IKE_FRAG_ACCEPT)
		return false;
	return overhead(sa, 0) + pt > frag_size(ike);
}

int
ike_frag_send(struct ike *ike, struct ike_sa *sa, const struct ike_hdr *h,
    uint8_t first, const uint8_t *plain, size_t len, enum ike_req_kind kind,
    uint64_t now_ms)
{
	const bool response = (h->flags & IKE_F_RESPONSE) != 0;
	size_t b = block(sa), room, total, off, used = 0;
	uint8_t *train;
	unsigned i;

	/* The plaintext a fragment takes: what fits, in whole blocks, less
	 * the Pad Length byte. */
	room = (frag_size(ike) - overhead(sa, 4)) / b * b - 1;
	total = (len + room - 1) / room;
	if (total > IKE_FRAG_MAX) {
		ike_logf(ike, true, "[ENC] IKE_SA %s[%u]: message ID %u "
		    "(%zu bytes) would take %zu fragments, more than %d",
		    ike_sa_conn_name(ike, sa), sa->serial, h->msg_id, len,
		    total, IKE_FRAG_MAX);
		return -EMSGSIZE;
	}
	if ((train = malloc(total * (IKE_TRAIN_HDR + frag_size(ike)))) ==
	    NULL)
		return -ENOMEM;
	for (i = 1, off = 0; off < len; i++, off += room) {
		size_t n = HG_MIN(room, len - off);
		long sealed = ike_skf_seal(&sa->keys, sa->initiator, h,
		    i == 1 ? first : IKE_PL_NONE, (uint16_t)i,
		    (uint16_t)total, plain + off, n, ike->out,
		    sizeof(ike->out));

		if (sealed < 0) {
			ike_logf(ike, true, "[ENC] IKE_SA %s[%u]: encrypting "
			    "fragment %u of message ID %u failed (%s)",
			    ike_sa_conn_name(ike, sa), sa->serial, i,
			    h->msg_id, strerror((int)-sealed));
			free(train);
			return (int)sealed;
		}
		used += ike_train_put(train + used, sa->natt, ike->out,
		    (size_t)sealed);
	}
	ike_logf(ike, false, "[ENC] splitting IKE message (%zu bytes) into %zu "
	    "fragments", IKE_HDR_LEN + len, total);
	if (!response)
		sa->next_req_id = h->msg_id + 1;
	ike_send_train(ike, sa, response, kind, train, used, now_ms);
	return 0;
}

/* ---- receiving -------------------------------------------------------- */

void
ike_frag_free(struct ike_sa *sa)
{
	for (int i = 0; i < 2; i++) {
		free(sa->frag_rx[i]);
		sa->frag_rx[i] = NULL;
	}
}

/* The whole message, fragment 1 first, into ike->whole. */
static size_t
frag_join(struct ike *ike, const struct ike_frag_rx *r)
{
	size_t len = IKE_HDR_LEN;

	memcpy(ike->whole, r->hdr, IKE_HDR_LEN);
	ike->whole[16] = r->first;
	for (unsigned i = 0; i < r->total; i++) {
		memcpy(ike->whole + len, r->data + r->off[i], r->len[i]);
		len += r->len[i];
	}
	ike->whole[24] = (uint8_t)(len >> 24);
	ike->whole[25] = (uint8_t)(len >> 16);
	ike->whole[26] = (uint8_t)(len >> 8);
	ike->whole[27] = (uint8_t)len;
	return len;
}

int
ike_frag_input(struct ike *ike, struct ike_sa *sa, uint8_t *msg,
    size_t len, const uint8_t **out, size_t *out_len)
{
	const struct ike_hdr *h = &ike->m.hdr;
	const struct ike_payload *pl = ike_msg_find(&ike->m, IKE_PL_SKF, 0);
	const int slot = (h->flags & IKE_F_RESPONSE) != 0;
	struct ike_frag_rx *r = sa->frag_rx[slot];
	uint16_t num, total;
	size_t plain_len, n;

	if (pl == NULL)
		return -1;
	num = pl->u.skf.num;
	total = pl->u.skf.total;
	if (num == 0 || num > total || total > IKE_FRAG_MAX) {
		ike->st.rx_invalid++;
		return -1;
	}
	/*
	 * §2.6: a fragment of a message we hold more fragments of is a
	 * duplicate, or from before the sender's fragment size went down
	 * (fewer Total Fragments: stale); neither needs its ICV checked.
	 */
	if (r != NULL && r->msg_id == h->msg_id &&
	    (total < r->total || (total == r->total &&
	    (r->have & 1u << (num - 1)) != 0))) {
		ike->st.rx_invalid++;
		return -1;
	}
	if (ike_sk_open(&sa->keys, !sa->initiator, msg, len, &ike->m,
	    &plain_len) != 0) {
		ike->st.rx_invalid++;
		ike_logf(ike, false, "[ENC] fragment %u of %u of message ID %u "
		    "of IKE_SA %s[%u] does not decrypt: dropped", num, total,
		    h->msg_id, ike_sa_conn_name(ike, sa), sa->serial);
		return -1;
	}
	ike->st.frags_received++;
	/* Another message, or this one cut anew into more fragments: what
	 * was kept goes. */
	if (r != NULL && (r->msg_id != h->msg_id || total != r->total)) {
		free(r);
		r = sa->frag_rx[slot] = NULL;
	}
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		sa->frag_rx[slot] = r;
		r->msg_id = h->msg_id;
		r->total = total;
		memcpy(r->hdr, msg, IKE_HDR_LEN);
	}
	n = plain_len - IKE_HDR_LEN;
	if (n > sizeof(r->data) - r->used) {
		ike_logf(ike, true, "[ENC] fragments of message ID %u of "
		    "IKE_SA %s[%u] exceed %d bytes: dropped", h->msg_id,
		    ike_sa_conn_name(ike, sa), sa->serial, IKE_MSG_MAX);
		free(r);
		sa->frag_rx[slot] = NULL;
		return -1;
	}
	if (num == 1)
		r->first = msg[16];	/* the SKF's next payload */
	memcpy(r->data + r->used, msg + IKE_HDR_LEN, n);
	r->off[num - 1] = (uint16_t)r->used;
	r->len[num - 1] = (uint16_t)n;
	r->used += n;
	r->have |= 1u << (num - 1);
	if (++r->n < r->total) {
		ike_logf(ike, false, "[ENC] received fragment #%u of %u, "
		    "waiting for complete IKE message", num, total);
		return 1;
	}
	*out_len = frag_join(ike, r);
	*out = ike->whole;
	ike->st.frags_reassembled++;
	ike_logf(ike, false, "[ENC] received fragment #%u of %u, reassembled "
	    "fragmented IKE message (%zu bytes)", num, total, *out_len);
	free(r);
	sa->frag_rx[slot] = NULL;
	return 0;
}
