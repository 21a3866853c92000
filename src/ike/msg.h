/*
 * src/ike/msg.h: the IKEv2 message codec (RFC 7296 §3).  Pure: bytes in,
 * a parsed view of them out, or a message built into the caller's buffer.
 * Nothing here allocates, keeps state between calls, logs or looks at a
 * clock; the IKE state machine (the later steps of issue 15) decides what
 * a message means.
 *
 * A parsed message is a set of views into the caller's buffer: the buffer
 * must outlive the struct ike_msg.  The counts of payloads, proposals,
 * transforms and traffic selectors are bounded (IKE_MAX_*), so a message
 * from an unauthenticated peer costs a fixed amount of memory; more than
 * that is an error, not a truncation.
 *
 * Parsing follows OpenIKED's split: each payload's bounds are checked
 * before any of its fields are taken, and an error names the byte offset
 * (from the first byte of the IKE header) and the reason.
 */
#ifndef IKE_MSG_H
#define IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_UDP_PORT		500
#define IKE_NATT_PORT		4500
#define IKE_HDR_LEN		28	/* SPIs, next payload, version, ... */
#define IKE_GEN_HDR_LEN		4	/* next payload, C, length */
#define IKE_NON_ESP_MARKER_LEN	4	/* RFC 3948 §2.2 */

#define IKE_MAX_PAYLOADS	32
#define IKE_MAX_PROPOSALS	16
#define IKE_MAX_TRANSFORMS	128	/* strongSwan's default offer has 70 */
#define IKE_MAX_TS		16
#define IKE_NONCE_MIN		16	/* RFC 7296 §3.9 */
#define IKE_NONCE_MAX		256

/* Exchange types (§3.1). */
#define IKE_SA_INIT		34
#define IKE_AUTH		35
#define IKE_CREATE_CHILD_SA	36
#define IKE_INFORMATIONAL	37

/* Header flags (§3.1). */
#define IKE_F_INITIATOR		0x08
#define IKE_F_VERSION		0x10
#define IKE_F_RESPONSE		0x20

/* Payload types (§3.2; SKF from RFC 7383). */
#define IKE_PL_NONE		0
#define IKE_PL_SA		33
#define IKE_PL_KE		34
#define IKE_PL_IDI		35
#define IKE_PL_IDR		36
#define IKE_PL_CERT		37
#define IKE_PL_CERTREQ		38
#define IKE_PL_AUTH		39
#define IKE_PL_NONCE		40
#define IKE_PL_NOTIFY		41
#define IKE_PL_DELETE		42
#define IKE_PL_VENDOR		43
#define IKE_PL_TSI		44
#define IKE_PL_TSR		45
#define IKE_PL_SK		46
#define IKE_PL_CP		47
#define IKE_PL_EAP		48
#define IKE_PL_SKF		53

#define IKE_PL_CRITICAL		0x80	/* the C bit of the second byte */

/* Security protocol IDs (§3.3.1). */
#define IKE_PROTO_IKE		1
#define IKE_PROTO_AH		2
#define IKE_PROTO_ESP		3

/* Transform types (§3.3.2) and the IDs issue 15 proposes. */
#define IKE_TF_ENCR		1
#define IKE_TF_PRF		2
#define IKE_TF_INTEG		3
#define IKE_TF_DH		4
#define IKE_TF_ESN		5

#define IKE_ENCR_AES_CBC	12
#define IKE_ENCR_AES_GCM_16	20
#define IKE_ENCR_CHACHA20_POLY1305 28
#define IKE_PRF_HMAC_SHA2_256	5
#define IKE_PRF_HMAC_SHA2_384	6
#define IKE_PRF_HMAC_SHA2_512	7
#define IKE_INTEG_HMAC_SHA2_256_128 12
#define IKE_INTEG_HMAC_SHA2_384_192 13
#define IKE_INTEG_HMAC_SHA2_512_256 14
#define IKE_DH_MODP_2048	14
#define IKE_DH_MODP_3072	15
#define IKE_DH_MODP_4096	16
#define IKE_DH_ECP_256		19
#define IKE_DH_ECP_384		20
#define IKE_DH_ECP_521		21
#define IKE_DH_CURVE25519	31
#define IKE_DH_CURVE448		32
#define IKE_ESN_NO		0
#define IKE_ESN_YES		1

#define IKE_ATTR_KEY_LENGTH	14	/* §3.3.5, always TV */
#define IKE_ATTR_TV		0x8000	/* AF bit: 2-byte value, no length */

/* Traffic selector types (§3.13.1). */
#define IKE_TS_IPV4_RANGE	7
#define IKE_TS_IPV6_RANGE	8

/* ID types (§3.5). */
#define IKE_ID_IPV4_ADDR	1
#define IKE_ID_FQDN		2
#define IKE_ID_RFC822_ADDR	3
#define IKE_ID_IPV6_ADDR	5
#define IKE_ID_DER_ASN1_DN	9
#define IKE_ID_KEY_ID		11

/* Authentication methods (§3.8; RFC 7427). */
#define IKE_AUTH_RSA_SIG	1
#define IKE_AUTH_PSK		2
#define IKE_AUTH_DSS_SIG	3
#define IKE_AUTH_DIGITAL_SIG	14

/* Notify message types (§3.10.1; error types below 16384). */
#define IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD 1
#define IKE_N_INVALID_IKE_SPI		4
#define IKE_N_INVALID_MAJOR_VERSION	5
#define IKE_N_INVALID_SYNTAX		7
#define IKE_N_INVALID_MESSAGE_ID	9
#define IKE_N_INVALID_SPI		11
#define IKE_N_NO_PROPOSAL_CHOSEN	14
#define IKE_N_INVALID_KE_PAYLOAD	17
#define IKE_N_AUTHENTICATION_FAILED	24
#define IKE_N_SINGLE_PAIR_REQUIRED	34
#define IKE_N_NO_ADDITIONAL_SAS		35
#define IKE_N_INTERNAL_ADDRESS_FAILURE	36
#define IKE_N_FAILED_CP_REQUIRED	37
#define IKE_N_TS_UNACCEPTABLE		38
#define IKE_N_INVALID_SELECTORS		39
#define IKE_N_TEMPORARY_FAILURE		43
#define IKE_N_CHILD_SA_NOT_FOUND	44
#define IKE_N_INITIAL_CONTACT		16384
#define IKE_N_SET_WINDOW_SIZE		16385
#define IKE_N_ADDITIONAL_TS_POSSIBLE	16386
#define IKE_N_IPCOMP_SUPPORTED		16387
#define IKE_N_NAT_DETECTION_SOURCE_IP	16388
#define IKE_N_NAT_DETECTION_DESTINATION_IP 16389
#define IKE_N_COOKIE			16390
#define IKE_N_USE_TRANSPORT_MODE	16391
#define IKE_N_REKEY_SA			16393
#define IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED 16394
#define IKE_N_NON_FIRST_FRAGMENTS_ALSO	16395
#define IKE_N_MOBIKE_SUPPORTED		16396
#define IKE_N_IKEV2_FRAGMENTATION_SUPPORTED 16430
#define IKE_N_SIGNATURE_HASH_ALGORITHMS	16431

/*
 * Why a message was refused.  The X-macro gives the enum and the text
 * that ike_err_str() returns.
 */
#define IKE_ERRS(X)							\
	X(OK,		"ok")						\
	X(SHORT,	"shorter than the IKE header")			\
	X(VERSION,	"major version is not 2")			\
	X(LENGTH,	"header length differs from the datagram")	\
	X(PAYLOAD_SHORT, "generic payload header runs past the end")	\
	X(PAYLOAD_LEN,	"payload length below 4 or past the end")	\
	X(TRAILING,	"bytes after the last payload")			\
	X(TOO_MANY_PAYLOADS, "more payloads than IKE_MAX_PAYLOADS")	\
	X(UNSUPPORTED_CRITICAL_PAYLOAD, "unknown payload with the "	\
	    "critical bit set")						\
	X(BODY,		"payload body too short for its fields")	\
	X(NONCE_LEN,	"nonce not 16 to 256 bytes")			\
	X(PROPOSAL,	"proposal length, number or last flag wrong")	\
	X(TOO_MANY_PROPOSALS, "more proposals than IKE_MAX_PROPOSALS")	\
	X(TRANSFORM,	"transform length, count or last flag wrong")	\
	X(TOO_MANY_TRANSFORMS, "more transforms than IKE_MAX_TRANSFORMS") \
	X(ATTR,		"transform attribute runs past its transform")	\
	X(ATTR_FORMAT,	"key length attribute not in TV format")	\
	X(TS,		"traffic selector length wrong for its type")	\
	X(TOO_MANY_TS,	"more traffic selectors than IKE_MAX_TS")	\
	X(DELETE,	"delete SPI list does not match its count")	\
	X(SK_NOT_LAST,	"encrypted payload is not the last")

enum ike_err_code {
#define IKE_ERR_ENUM(e, text) IKE_E_##e,
	IKE_ERRS(IKE_ERR_ENUM)
#undef IKE_ERR_ENUM
	IKE_E_COUNT
};

struct ike_err {
	enum ike_err_code code;
	uint32_t off;		/* byte offset from the IKE header's first */
	uint8_t payload;	/* payload type being read; 0 for the header */
};

const char *ike_err_str(enum ike_err_code code);

struct ike_hdr {
	uint64_t ispi;		/* host order */
	uint64_t rspi;
	uint8_t next;		/* first payload */
	uint8_t version;	/* major << 4 | minor */
	uint8_t exchange;
	uint8_t flags;		/* IKE_F_* */
	uint32_t msg_id;
	uint32_t length;
};

/* A transform and its attributes (§3.3.2, §3.3.5). */
struct ike_transform {
	uint8_t type;		/* IKE_TF_* */
	uint16_t id;
	uint16_t key_len;	/* bits, from the Key Length attribute; 0: none */
	const uint8_t *attrs;	/* all attributes, raw */
	uint16_t attrs_len;
};

struct ike_proposal {
	uint8_t num;
	uint8_t protocol;	/* IKE_PROTO_* */
	uint8_t spi_size;
	const uint8_t *spi;
	uint8_t first;		/* index into ike_msg.transforms */
	uint8_t count;
};

struct ike_ts {
	uint8_t type;		/* IKE_TS_*; others are kept, addr_len 0 */
	uint8_t ip_proto;	/* 0: any */
	uint16_t start_port;
	uint16_t end_port;
	uint8_t addr_len;	/* 4 or 16 */
	const uint8_t *start;	/* addr_len bytes each, network order */
	const uint8_t *end;
};

/*
 * One payload.  body is what follows the generic header; the union holds
 * the fields of the known types, their data pointing into body.
 */
struct ike_payload {
	uint8_t type;
	uint8_t next;		/* for SK and SKF: the first inner payload */
	bool critical;
	uint32_t off;		/* of the generic header */
	const uint8_t *body;
	uint16_t body_len;
	union {
		struct { uint8_t first, count; } sa;	/* into proposals */
		struct { uint16_t group; } ke;		/* data: body + 4 */
		struct { uint8_t type; } id;		/* data: body + 4 */
		struct { uint8_t encoding; } cert;	/* data: body + 1 */
		struct { uint8_t method; } auth;	/* data: body + 4 */
		struct {
			uint8_t protocol, spi_size;
			uint16_t type;
			const uint8_t *spi;
		} notify;
		struct {
			uint8_t protocol, spi_size;
			uint16_t count;
			const uint8_t *spis;
		} del;
		struct { uint8_t first, count; } ts;	/* into ts */
		struct { uint16_t num, total; } skf;
	} u;
	const uint8_t *data;	/* the type's variable part (all of body if
				 * the type has no fixed fields) */
	uint16_t data_len;
};

struct ike_msg {
	struct ike_hdr hdr;
	const uint8_t *buf;
	uint32_t len;
	uint8_t n_payloads;
	uint8_t n_proposals;
	uint8_t n_transforms;
	uint8_t n_ts;
	struct ike_payload payloads[IKE_MAX_PAYLOADS];
	struct ike_proposal proposals[IKE_MAX_PROPOSALS];
	struct ike_transform transforms[IKE_MAX_TRANSFORMS];
	struct ike_ts ts[IKE_MAX_TS];
};

/*
 * Parse one IKE message of len bytes (the UDP payload, without a non-ESP
 * marker).  0 and *m filled, or -1 and *err says where and why.
 */
int ike_msg_parse(const uint8_t *buf, size_t len, struct ike_msg *m,
    struct ike_err *err);

/* The first payload of a type at or after index *from, or NULL. */
const struct ike_payload *ike_msg_find(const struct ike_msg *m, uint8_t type,
    unsigned from);

/*
 * UDP 4500 (RFC 3948 §2.2): an IKE message follows four zero bytes, the
 * non-ESP marker.  Telling IKE from ESP and keepalives is the data
 * plane's (esp_udp_classify() in src/tun/esp.h); this is the IKE side:
 * 0 and *ike, *ike_len the message after the marker, or -1 when the
 * datagram does not start with one.
 */
int ike_nonesp_strip(const uint8_t *p, size_t len, const uint8_t **ike,
    size_t *ike_len);

/* Writes the marker; 0 when cap is too small, else its length. */
size_t ike_nonesp_marker(uint8_t *buf, size_t cap);

/*
 * Building.  ike_w_init writes the header; each ike_w_* appends a payload,
 * filling in the previous payload's (or the header's) next-payload field;
 * ike_w_finish fills in the message length.  An overflow of the buffer (or
 * of a 16-bit length) sticks: every later call returns -1 too and
 * ike_w_finish reports it.
 */
struct ike_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t np_off;		/* the next-payload byte the next payload fills */
	bool closed;		/* an SK payload ended the chain */
	bool overflow;
};

struct ike_w_transform {
	uint8_t type;
	uint16_t id;
	uint16_t key_len;	/* bits; 0: no Key Length attribute */
};

struct ike_w_proposal {
	uint8_t num;
	uint8_t protocol;
	uint8_t spi_size;
	const uint8_t *spi;
	const struct ike_w_transform *transforms;
	unsigned count;
};

void ike_w_init(struct ike_writer *w, uint8_t *buf, size_t cap,
    const struct ike_hdr *h);
int ike_w_payload(struct ike_writer *w, uint8_t type, bool critical,
    const void *body, size_t len);
int ike_w_sa(struct ike_writer *w, const struct ike_w_proposal *p,
    unsigned count);
int ike_w_ke(struct ike_writer *w, uint16_t group, const void *data,
    size_t len);
int ike_w_nonce(struct ike_writer *w, const void *data, size_t len);
int ike_w_notify(struct ike_writer *w, uint8_t protocol, const void *spi,
    uint8_t spi_size, uint16_t type, const void *data, size_t len);
int ike_w_id(struct ike_writer *w, uint8_t payload, uint8_t id_type,
    const void *data, size_t len);
int ike_w_cert(struct ike_writer *w, uint8_t payload, uint8_t encoding,
    const void *data, size_t len);
int ike_w_auth(struct ike_writer *w, uint8_t method, const void *data,
    size_t len);
int ike_w_delete(struct ike_writer *w, uint8_t protocol, uint8_t spi_size,
    const void *spis, uint16_t count);
int ike_w_ts(struct ike_writer *w, uint8_t payload, const struct ike_ts *ts,
    unsigned count);
int ike_w_sk(struct ike_writer *w, uint8_t first_inner, const void *body,
    size_t len);
/* The message's length, or -1 after an overflow. */
long ike_w_finish(struct ike_writer *w);

#endif /* IKE_MSG_H */
