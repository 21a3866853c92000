/*
 * src/ike/msg.c: IKEv2 message parsing and building (RFC 7296 §3).
 *
 * Every read is preceded by a check that the bytes are there: each
 * payload is first bounded by the message (its generic header), then each
 * of its fields by the payload, then each substructure (proposal,
 * transform, attribute, selector) by its parent.  Nothing is copied; the
 * parsed message points into the caller's buffer.
 */
#include <string.h>

#include "../lib/bytes.h"
#include "msg.h"

static const char *const err_text[IKE_E_COUNT] = {
#define IKE_ERR_TEXT(e, text) [IKE_E_##e] = text,
	IKE_ERRS(IKE_ERR_TEXT)
#undef IKE_ERR_TEXT
};

const char *
ike_err_str(enum ike_err_code code)
{
	if ((unsigned)code >= IKE_E_COUNT)
		return "unknown error";
	return err_text[code];
}

static int
fail(struct ike_err *err, enum ike_err_code code, uint32_t off,
    uint8_t payload)
{
	err->code = code;
	err->off = off;
	err->payload = payload;
	return -1;
}

/* The payload types this codec gives meaning to; the rest are skipped. */
static bool
known_payload(uint8_t type)
{
	return (type >= IKE_PL_SA && type <= IKE_PL_EAP) ||
	    type == IKE_PL_SKF;
}

/*
 * Transform attributes (§3.3.5): with the AF bit a 2-byte value follows
 * the type (TV), without it a 2-byte length and that many bytes (TLV).
 * Key Length is defined as TV only; a TLV one is refused rather than
 * guessed at.  p, len: the attributes; off: p's offset in the message.
 */
static int
parse_attrs(const uint8_t *p, uint16_t len, uint32_t off,
    struct ike_transform *t, struct ike_err *err)
{
	uint16_t i = 0;

	while (i < len) {
		uint16_t type, alen;

		if (len - i < 4)
			return fail(err, IKE_E_ATTR, off + i, IKE_PL_SA);
		type = hg_rd16be(p + i);
		if (type & IKE_ATTR_TV) {
			if ((type & ~IKE_ATTR_TV) == IKE_ATTR_KEY_LENGTH)
				t->key_len = hg_rd16be(p + i + 2);
			i += 4;
			continue;
		}
		if (type == IKE_ATTR_KEY_LENGTH)
			return fail(err, IKE_E_ATTR_FORMAT, off + i, IKE_PL_SA);
		alen = hg_rd16be(p + i + 2);
		if (alen > len - i - 4)
			return fail(err, IKE_E_ATTR, off + i + 2, IKE_PL_SA);
		i += 4 + alen;
	}
	return 0;
}

/*
 * Transforms of one proposal: count of them in p[0..len), each headed by
 * last (3 = more follow, 0 = last), reserved, length, type, reserved, ID.
 */
static int
parse_transforms(struct ike_msg *m, struct ike_proposal *prop,
    const uint8_t *p, uint16_t len, uint8_t count, uint32_t off,
    struct ike_err *err)
{
	uint16_t i = 0;

	prop->first = m->n_transforms;
	prop->count = 0;
	while (i < len) {
		struct ike_transform *t;
		uint16_t tlen;
		uint8_t last;

		if (len - i < 8)
			return fail(err, IKE_E_TRANSFORM, off + i, IKE_PL_SA);
		last = p[i];
		tlen = hg_rd16be(p + i + 2);
		if (tlen < 8 || tlen > len - i)
			return fail(err, IKE_E_TRANSFORM, off + i + 2,
			    IKE_PL_SA);
		if ((last != 0 && last != 3) ||
		    (last == 0) != (i + tlen == len))
			return fail(err, IKE_E_TRANSFORM, off + i, IKE_PL_SA);
		if (m->n_transforms == IKE_MAX_TRANSFORMS)
			return fail(err, IKE_E_TOO_MANY_TRANSFORMS, off + i,
			    IKE_PL_SA);
		t = &m->transforms[m->n_transforms++];
		memset(t, 0, sizeof(*t));
		t->type = p[i + 4];
		t->id = hg_rd16be(p + i + 6);
		t->attrs = p + i + 8;
		t->attrs_len = tlen - 8;
		if (parse_attrs(t->attrs, t->attrs_len, off + i + 8, t,
		    err) == -1)
			return -1;
		prop->count++;
		i += tlen;
	}
	if (prop->count != count)
		return fail(err, IKE_E_TRANSFORM, off, IKE_PL_SA);
	return 0;
}

/*
 * SA payload (§3.3): proposals, each with last (2 = more, 0 = last),
 * reserved, length, number, protocol, SPI size, transform count, SPI.
 */
static int
parse_sa(struct ike_msg *m, struct ike_payload *pl, struct ike_err *err)
{
	const uint8_t *p = pl->body;
	uint32_t off = pl->off + IKE_GEN_HDR_LEN;
	uint16_t len = pl->body_len, i = 0;

	pl->u.sa.first = m->n_proposals;
	pl->u.sa.count = 0;
	while (i < len) {
		struct ike_proposal *prop;
		uint16_t plen, hlen;
		uint8_t last;

		if (len - i < 8)
			return fail(err, IKE_E_PROPOSAL, off + i, IKE_PL_SA);
		last = p[i];
		plen = hg_rd16be(p + i + 2);
		hlen = 8 + p[i + 6];
		if (plen < hlen || plen > len - i)
			return fail(err, IKE_E_PROPOSAL, off + i + 2,
			    IKE_PL_SA);
		if ((last != 0 && last != 2) ||
		    (last == 0) != (i + plen == len))
			return fail(err, IKE_E_PROPOSAL, off + i, IKE_PL_SA);
		if (m->n_proposals == IKE_MAX_PROPOSALS)
			return fail(err, IKE_E_TOO_MANY_PROPOSALS, off + i,
			    IKE_PL_SA);
		prop = &m->proposals[m->n_proposals++];
		prop->num = p[i + 4];
		prop->protocol = p[i + 5];
		prop->spi_size = p[i + 6];
		prop->spi = prop->spi_size ? p + i + 8 : NULL;
		if (parse_transforms(m, prop, p + i + hlen, plen - hlen,
		    p[i + 7], off + i + hlen, err) == -1)
			return -1;
		pl->u.sa.count++;
		i += plen;
	}
	if (pl->u.sa.count == 0)
		return fail(err, IKE_E_PROPOSAL, off, IKE_PL_SA);
	return 0;
}

/*
 * TSi/TSr (§3.13): a count, 3 reserved bytes, then selectors of type,
 * IP protocol, length, ports and a start and end address.
 */
static int
parse_ts(struct ike_msg *m, struct ike_payload *pl, struct ike_err *err)
{
	const uint8_t *p = pl->body;
	uint32_t off = pl->off + IKE_GEN_HDR_LEN;
	uint16_t len = pl->body_len, i = 4;
	uint8_t count, n;

	if (len < 4)
		return fail(err, IKE_E_BODY, off, pl->type);
	count = p[0];
	pl->u.ts.first = m->n_ts;
	pl->u.ts.count = 0;
	for (n = 0; n < count; n++) {
		struct ike_ts *ts;
		uint16_t slen;
		uint8_t alen;

		if (len - i < 8)
			return fail(err, IKE_E_TS, off + i, pl->type);
		slen = hg_rd16be(p + i + 2);
		if (slen < 8 || slen > len - i)
			return fail(err, IKE_E_TS, off + i + 2, pl->type);
		switch (p[i]) {
		case IKE_TS_IPV4_RANGE:
			alen = 4;
			break;
		case IKE_TS_IPV6_RANGE:
			alen = 16;
			break;
		default:
			alen = 0;	/* kept, not understood */
			break;
		}
		if (alen != 0 && slen != 8 + 2 * alen)
			return fail(err, IKE_E_TS, off + i + 2, pl->type);
		if (m->n_ts == IKE_MAX_TS)
			return fail(err, IKE_E_TOO_MANY_TS, off + i, pl->type);
		ts = &m->ts[m->n_ts++];
		ts->type = p[i];
		ts->ip_proto = p[i + 1];
		ts->start_port = hg_rd16be(p + i + 4);
		ts->end_port = hg_rd16be(p + i + 6);
		ts->addr_len = alen;
		ts->start = alen ? p + i + 8 : NULL;
		ts->end = alen ? p + i + 8 + alen : NULL;
		pl->u.ts.count++;
		i += slen;
	}
	if (i != len)
		return fail(err, IKE_E_TS, off + i, pl->type);
	return 0;
}

/* Give a bounded payload its meaning, by type. */
static int
parse_body(struct ike_msg *m, struct ike_payload *pl, struct ike_err *err)
{
	const uint8_t *p = pl->body;
	uint16_t len = pl->body_len;
	uint32_t off = pl->off + IKE_GEN_HDR_LEN;
	uint16_t fixed = 0;

	switch (pl->type) {
	case IKE_PL_SA:
		return parse_sa(m, pl, err);
	case IKE_PL_TSI:
	case IKE_PL_TSR:
		return parse_ts(m, pl, err);
	case IKE_PL_KE:
		if (len < 4)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.ke.group = hg_rd16be(p);
		fixed = 4;
		break;
	case IKE_PL_IDI:
	case IKE_PL_IDR:
		if (len < 4)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.id.type = p[0];
		fixed = 4;
		break;
	case IKE_PL_CERT:
	case IKE_PL_CERTREQ:
		if (len < 1)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.cert.encoding = p[0];
		fixed = 1;
		break;
	case IKE_PL_AUTH:
		if (len < 4)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.auth.method = p[0];
		fixed = 4;
		break;
	case IKE_PL_NONCE:
		if (len < IKE_NONCE_MIN || len > IKE_NONCE_MAX)
			return fail(err, IKE_E_NONCE_LEN, pl->off + 2,
			    pl->type);
		break;
	case IKE_PL_NOTIFY:
		if (len < 4 || len - 4 < p[1])
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.notify.protocol = p[0];
		pl->u.notify.spi_size = p[1];
		pl->u.notify.type = hg_rd16be(p + 2);
		pl->u.notify.spi = p[1] ? p + 4 : NULL;
		fixed = 4 + p[1];
		break;
	case IKE_PL_DELETE:
		if (len < 4)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.del.protocol = p[0];
		pl->u.del.spi_size = p[1];
		pl->u.del.count = hg_rd16be(p + 2);
		pl->u.del.spis = p + 4;
		if ((uint32_t)p[1] * pl->u.del.count != (uint32_t)len - 4)
			return fail(err, IKE_E_DELETE, off + 2, pl->type);
		fixed = 4;
		break;
	case IKE_PL_SKF:
		if (len < 4)
			return fail(err, IKE_E_BODY, off, pl->type);
		pl->u.skf.num = hg_rd16be(p);
		pl->u.skf.total = hg_rd16be(p + 2);
		fixed = 4;
		break;
	default:		/* V, SK, CP, EAP: the body is the data */
		break;
	}
	pl->data = p + fixed;
	pl->data_len = len - fixed;
	return 0;
}

int
ike_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m,
    struct ike_err *err)
{
	uint32_t off;
	uint8_t next;

	memset(m, 0, offsetof(struct ike_msg, payloads));
	err->code = IKE_E_OK;
	err->off = 0;
	err->payload = 0;
	if (len < IKE_HDR_LEN)
		return fail(err, IKE_E_SHORT, (uint32_t)len, 0);
	m->buf = buf;
	m->hdr.ispi = hg_rd64be(buf);
	m->hdr.rspi = hg_rd64be(buf + 8);
	m->hdr.next = buf[16];
	m->hdr.version = buf[17];
	m->hdr.exchange = buf[18];
	m->hdr.flags = buf[19];
	m->hdr.msg_id = hg_rd32be(buf + 20);
	m->hdr.length = hg_rd32be(buf + 24);
	/* §3.1: only the major version must match; a higher minor is fine. */
	if (m->hdr.version >> 4 != 2)
		return fail(err, IKE_E_VERSION, 17, 0);
	if (len > UINT16_MAX || m->hdr.length != len)
		return fail(err, IKE_E_LENGTH, 24, 0);
	m->len = (uint32_t)len;

	off = IKE_HDR_LEN;
	next = m->hdr.next;
	while (next != IKE_PL_NONE) {
		struct ike_payload *pl;
		uint8_t type = next;
		uint16_t plen;
		bool critical;

		if (len - off < IKE_GEN_HDR_LEN)
			return fail(err, IKE_E_PAYLOAD_SHORT, off, type);
		next = buf[off];
		critical = buf[off + 1] & IKE_PL_CRITICAL;
		plen = hg_rd16be(buf + off + 2);
		if (plen < IKE_GEN_HDR_LEN || plen > len - off)
			return fail(err, IKE_E_PAYLOAD_LEN, off + 2, type);
		if (!known_payload(type)) {
			/* §2.5: skip what we do not know, unless told not to. */
			if (critical)
				return fail(err,
				    IKE_E_UNSUPPORTED_CRITICAL_PAYLOAD, off,
				    type);
			off += plen;
			continue;
		}
		if (m->n_payloads == IKE_MAX_PAYLOADS)
			return fail(err, IKE_E_TOO_MANY_PAYLOADS, off, type);
		pl = &m->payloads[m->n_payloads++];
		memset(pl, 0, sizeof(*pl));
		pl->type = type;
		pl->next = next;
		pl->critical = critical;
		pl->off = off;
		pl->body = buf + off + IKE_GEN_HDR_LEN;
		pl->body_len = plen - IKE_GEN_HDR_LEN;
		if (parse_body(m, pl, err) == -1)
			return -1;
		off += plen;
		/*
		 * The encrypted payload's next-payload field names the first
		 * payload inside it (§3.14): the chain in clear ends here.
		 */
		if (type == IKE_PL_SK || type == IKE_PL_SKF) {
			if (off != len)
				return fail(err, IKE_E_SK_NOT_LAST, pl->off,
				    type);
			break;
		}
	}
	if (off != len)
		return fail(err, IKE_E_TRAILING, off, 0);
	return 0;
}

const struct ike_payload *
ike_msg_find(const struct ike_msg *m, uint8_t type, unsigned from)
{
	unsigned i;

	for (i = from; i < m->n_payloads; i++)
		if (m->payloads[i].type == type)
			return &m->payloads[i];
	return NULL;
}

int
ike_nonesp_strip(const uint8_t *p, size_t len, const uint8_t **ike,
    size_t *ike_len)
{
	if (len < IKE_NON_ESP_MARKER_LEN || hg_rd32be(p) != 0)
		return -1;
	*ike = p + IKE_NON_ESP_MARKER_LEN;
	*ike_len = len - IKE_NON_ESP_MARKER_LEN;
	return 0;
}

size_t
ike_nonesp_marker(uint8_t *buf, size_t cap)
{
	if (cap < IKE_NON_ESP_MARKER_LEN)
		return 0;
	memset(buf, 0, IKE_NON_ESP_MARKER_LEN);
	return IKE_NON_ESP_MARKER_LEN;
}

/* Building. */

static inline void
set16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void
set32(uint8_t *p, uint32_t v)
{
	set16(p, v >> 16);
	set16(p + 2, v & 0xffff);
}

/* Room for n more bytes at w->len, or the overflow is recorded. */
static uint8_t *
w_take(struct ike_writer *w, size_t n)
{
	uint8_t *p;

	if (w->overflow || w->closed || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

static void
w_put(struct ike_writer *w, const void *data, size_t n)
{
	uint8_t *p = w_take(w, n);

	if (p != NULL && n != 0)
		memcpy(p, data, n);
}

static void
w_u8(struct ike_writer *w, uint8_t v)
{
	w_put(w, &v, 1);
}

static void
w_u16(struct ike_writer *w, uint16_t v)
{
	uint8_t b[2];

	set16(b, v);
	w_put(w, b, 2);
}

/* Open a payload: chain it to the previous one, leave its length open. */
static size_t
w_begin(struct ike_writer *w, uint8_t type, bool critical)
{
	size_t start = w->len;
	uint8_t *p = w_take(w, IKE_GEN_HDR_LEN);

	if (p == NULL)
		return 0;
	w->buf[w->np_off] = type;
	p[0] = IKE_PL_NONE;
	p[1] = critical ? IKE_PL_CRITICAL : 0;
	w->np_off = start;
	return start;
}

/* Close the payload (or substructure) at start: fill in its length. */
static int
w_end(struct ike_writer *w, size_t start, size_t len_off)
{
	size_t n = w->len - start;

	if (w->overflow)
		return -1;
	if (n > UINT16_MAX) {
		w->overflow = true;
		return -1;
	}
	set16(w->buf + start + len_off, (uint16_t)n);
	return 0;
}

void
ike_w_init(struct ike_writer *w, uint8_t *buf, size_t cap,
    const struct ike_hdr *h)
{
	uint8_t *p;

	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->np_off = 16;
	w->closed = false;
	w->overflow = false;
	if ((p = w_take(w, IKE_HDR_LEN)) == NULL)
		return;
	set32(p, h->ispi >> 32);
	set32(p + 4, h->ispi & 0xffffffff);
	set32(p + 8, h->rspi >> 32);
	set32(p + 12, h->rspi & 0xffffffff);
	p[16] = IKE_PL_NONE;
	p[17] = h->version ? h->version : 0x20;
	p[18] = h->exchange;
	p[19] = h->flags;
	set32(p + 20, h->msg_id);
	set32(p + 24, 0);
}

int
ike_w_payload(struct ike_writer *w, uint8_t type, bool critical,
    const void *body, size_t len)
{
	size_t start = w_begin(w, type, critical);

	w_put(w, body, len);
	return w_end(w, start, 2);
}

int
ike_w_sa(struct ike_writer *w, const struct ike_w_proposal *p,
    unsigned count)
{
	size_t start = w_begin(w, IKE_PL_SA, false);
	unsigned i, j;

	for (i = 0; i < count; i++) {
		size_t ps = w->len;

		w_u8(w, i + 1 < count ? 2 : 0);
		w_u8(w, 0);
		w_u16(w, 0);
		w_u8(w, p[i].num);
		w_u8(w, p[i].protocol);
		w_u8(w, p[i].spi_size);
		w_u8(w, (uint8_t)p[i].count);
		w_put(w, p[i].spi, p[i].spi_size);
		for (j = 0; j < p[i].count; j++) {
			const struct ike_w_transform *t = &p[i].transforms[j];
			size_t ts = w->len;

			w_u8(w, j + 1 < p[i].count ? 3 : 0);
			w_u8(w, 0);
			w_u16(w, 0);
			w_u8(w, t->type);
			w_u8(w, 0);
			w_u16(w, t->id);
			if (t->key_len != 0) {
				w_u16(w, IKE_ATTR_TV | IKE_ATTR_KEY_LENGTH);
				w_u16(w, t->key_len);
			}
			if (w_end(w, ts, 2) == -1)
				return -1;
		}
		if (p[i].count > UINT8_MAX || w_end(w, ps, 2) == -1) {
			w->overflow = true;
			return -1;
		}
	}
	return w_end(w, start, 2);
}

/* A payload of a few fixed bytes and a variable part. */
static int
w_fixed(struct ike_writer *w, uint8_t type, const uint8_t *fixed,
    size_t flen, const void *data, size_t len)
{
	size_t start = w_begin(w, type, false);

	w_put(w, fixed, flen);
	w_put(w, data, len);
	return w_end(w, start, 2);
}

int
ike_w_ke(struct ike_writer *w, uint16_t group, const void *data, size_t len)
{
	uint8_t f[4] = { group >> 8, group & 0xff, 0, 0 };

	return w_fixed(w, IKE_PL_KE, f, sizeof(f), data, len);
}

int
ike_w_nonce(struct ike_writer *w, const void *data, size_t len)
{
	return w_fixed(w, IKE_PL_NONCE, NULL, 0, data, len);
}

int
ike_w_notify(struct ike_writer *w, uint8_t protocol, const void *spi,
    uint8_t spi_size, uint16_t type, const void *data, size_t len)
{
	size_t start = w_begin(w, IKE_PL_NOTIFY, false);

	w_u8(w, protocol);
	w_u8(w, spi_size);
	w_u16(w, type);
	w_put(w, spi, spi_size);
	w_put(w, data, len);
	return w_end(w, start, 2);
}

int
ike_w_id(struct ike_writer *w, uint8_t payload, uint8_t id_type,
    const void *data, size_t len)
{
	uint8_t f[4] = { id_type, 0, 0, 0 };

	return w_fixed(w, payload, f, sizeof(f), data, len);
}

int
ike_w_cert(struct ike_writer *w, uint8_t payload, uint8_t encoding,
    const void *data, size_t len)
{
	return w_fixed(w, payload, &encoding, 1, data, len);
}

int
ike_w_auth(struct ike_writer *w, uint8_t method, const void *data,
    size_t len)
{
	uint8_t f[4] = { method, 0, 0, 0 };

	return w_fixed(w, IKE_PL_AUTH, f, sizeof(f), data, len);
}

int
ike_w_delete(struct ike_writer *w, uint8_t protocol, uint8_t spi_size,
    const void *spis, uint16_t count)
{
	uint8_t f[4] = { protocol, spi_size, count >> 8, count & 0xff };

	return w_fixed(w, IKE_PL_DELETE, f, sizeof(f), spis,
	    (size_t)spi_size * count);
}

int
ike_w_ts(struct ike_writer *w, uint8_t payload, const struct ike_ts *ts,
    unsigned count)
{
	size_t start = w_begin(w, payload, false);
	unsigned i;

	if (count > UINT8_MAX) {
		w->overflow = true;
		return -1;
	}
	w_u8(w, (uint8_t)count);
	w_put(w, "\0\0\0", 3);
	for (i = 0; i < count; i++) {
		w_u8(w, ts[i].type);
		w_u8(w, ts[i].ip_proto);
		w_u16(w, 8 + 2 * ts[i].addr_len);
		w_u16(w, ts[i].start_port);
		w_u16(w, ts[i].end_port);
		w_put(w, ts[i].start, ts[i].addr_len);
		w_put(w, ts[i].end, ts[i].addr_len);
	}
	return w_end(w, start, 2);
}

int
ike_w_sk(struct ike_writer *w, uint8_t first_inner, const void *body,
    size_t len)
{
	size_t start = w_begin(w, IKE_PL_SK, false);

	w_put(w, body, len);
	if (w_end(w, start, 2) == -1)
		return -1;
	w->buf[start] = first_inner;
	w->closed = true;
	return 0;
}

long
ike_w_finish(struct ike_writer *w)
{
	if (w->overflow)
		return -1;
	set32(w->buf + 24, (uint32_t)w->len);
	return (long)w->len;
}
