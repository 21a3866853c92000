/*
 * src/ike/cert.h: X.509 certificates and signatures for IKEv2's AUTH
 * (RFC 7296 §2.15, §3.6-3.8; RFC 7427), over OpenSSL 3.
 *
 * Pure as the rest of src/ike: certificates and keys come in as bytes
 * (PEM text or DER, never a file name), the time as a number; nothing
 * here opens a file or reads a clock.  hexgated reads the files and
 * hands their text over; a unit test makes its certificates in memory.
 *
 * A connection's credentials (struct ike_creds) are our certificate with
 * any intermediates and its private key (when we authenticate with one),
 * and the CAs we trust for the peer's (when it does).  The peer's
 * certificate (struct ike_cert) is checked against them in three steps,
 * each with its own outcome so the log can say exactly why a peer was
 * refused: the chain and the time (ike_cert_verify), the identity
 * (ike_cert_has_id), the AUTH signature (ike_sig_verify).
 */
#ifndef IKE_CERT_H
#define IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "ike.h"

#define IKE_CERT_X509_SIG	4	/* CERT/CERTREQ encoding (§3.6) */
#define IKE_KEYID_LEN		20	/* CERTREQ: SHA-1 of a CA's SPKI */
#define IKE_CERTS_MAX		4	/* ours or the peer's: one end
					   entity and intermediates */
#define IKE_SIG_MAX		1100	/* AUTH data: RSA-8192 and the
					   AlgorithmIdentifier */

/* RFC 7427 §7: SIGNATURE_HASH_ALGORITHMS' values, as bits of a set. */
#define IKE_HASH_SHA1		1
#define IKE_HASH_SHA2_256	2
#define IKE_HASH_SHA2_384	3
#define IKE_HASH_SHA2_512	4
#define IKE_HASH_BIT(h)		(1u << (h))
/* What we announce and take: SHA-2 only. */
#define IKE_HASHES_OURS		(IKE_HASH_BIT(IKE_HASH_SHA2_256) | \
    IKE_HASH_BIT(IKE_HASH_SHA2_384) | IKE_HASH_BIT(IKE_HASH_SHA2_512))

/* The classic ECDSA methods (RFC 4754). */
#define IKE_AUTH_ECDSA_256	9
#define IKE_AUTH_ECDSA_384	10
#define IKE_AUTH_ECDSA_521	11

/* Why a peer's certificate or signature was refused. */
#define IKE_CERT_ERRS(X)						\
	X(OK,		"ok")						\
	X(NONE,		"no certificate (CERT payload) sent")		\
	X(BAD,		"certificate not parsable")			\
	X(UNTRUSTED,	"untrusted: not issued by a configured CA")	\
	X(EXPIRED,	"certificate expired")				\
	X(NOT_YET_VALID, "certificate not yet valid")			\
	X(CHAIN,	"certificate chain refused")			\
	X(ID_MISMATCH,	"identity mismatch")				\
	X(METHOD,	"AUTH method or signature algorithm not taken")	\
	X(BAD_SIG,	"bad signature")

enum ike_cert_err {
#define IKE_CERT_ERR_ENUM(e, text) IKE_CERT_E_##e,
	IKE_CERT_ERRS(IKE_CERT_ERR_ENUM)
#undef IKE_CERT_ERR_ENUM
	IKE_CERT_E_COUNT
};

const char *ike_cert_err_str(enum ike_cert_err e);

/* ---- Loading: PEM text to DER (what ike_conn_cfg carries) ----------- */

/*
 * Every certificate in PEM text (len bytes) appended to out as DER, one
 * after another (DER is self-delimiting).  0 and *out_len (what out
 * holds now, from its start), *n (how many were added); -EINVAL with
 * why (no certificate, not PEM, out full).
 */
int ike_pem_certs(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *out_len, unsigned *n, char *why, size_t why_len) HG_MUST_CHECK;
/* A private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted) from PEM
 * text into out as PKCS#8 DER.  0 and *out_len, or -EINVAL with why. */
int ike_pem_key(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *out_len, char *why, size_t why_len) HG_MUST_CHECK;

/* ---- A connection's credentials ------------------------------------- */

struct ike_creds;
struct ike_cert;

/*
 * From DER: certs (ours, the end entity first, then intermediates; none
 * when we do not sign), key (its private key, PKCS#8; with certs only),
 * cas (the CAs trusted for the peer's certificate; none when the peer
 * does not sign).  The key must be the certificate's and of a kind we
 * sign with (RSA, ECDSA P-256/384/521).  0, or -EINVAL/-ENOMEM with why.
 */
int ike_creds_new(struct ike_creds **out, const uint8_t *certs,
    size_t certs_len, const uint8_t *key, size_t key_len, const uint8_t *cas,
    size_t cas_len, char *why, size_t why_len) HG_MUST_CHECK;
void ike_creds_free(struct ike_creds *c);

/* Our certificate's subject as an ID (ID_DER_ASN1_DN); -ENOENT without
 * one. */
int ike_creds_subject(const struct ike_creds *c, struct ike_id *out);
/* Whether id is our certificate's subject or one of its SANs. */
bool ike_creds_has_id(const struct ike_creds *c, const struct ike_id *id);
/* Our i-th certificate's DER (0: the end entity); false past the last. */
bool ike_creds_cert(const struct ike_creds *c, unsigned i,
    const uint8_t **der, size_t *len);
/* CERTREQ's data: the SHA-1 of each trusted CA's SubjectPublicKeyInfo,
 * IKE_KEYID_LEN bytes each; the bytes written (0: no CA). */
size_t ike_creds_certreq(const struct ike_creds *c, uint8_t *out,
    size_t cap);

/*
 * Signs octets (ike_auth_octets()) with our key.  When the peer announced
 * SIGNATURE_HASH_ALGORITHMS (peer_hashes, IKE_HASH_BIT()s; 0: it did not)
 * with a hash we take: RFC 7427's Digital Signature (14), ECDSA with the
 * curve's hash or RSA PKCS#1 v1.5 (pss: RSASSA-PSS, salt the hash's
 * length) with SHA-256 if offered; else the classic method of the key:
 * RSA (1, PKCS#1 v1.5 with SHA-1 as RFC 7296 has it), ECDSA 9/10/11.
 * *method and out (AUTH's data: for 14 the AlgorithmIdentifier's length
 * and DER, then the signature); its length, or -errno.
 */
long ike_sign(const struct ike_creds *c, unsigned peer_hashes, bool pss,
    const uint8_t *octets, size_t len, uint8_t *method, uint8_t *out,
    size_t cap) HG_MUST_CHECK;

/* ---- The peer's certificate ----------------------------------------- */

/*
 * The peer's certificate (der[0], the end entity) and its intermediates
 * (der[1..n)) checked against c's CAs at the time now_s (seconds since
 * the epoch): *out the end entity on IKE_CERT_E_OK, else NULL, and why
 * says which certificate and what (its subject, the dates).
 */
enum ike_cert_err ike_cert_verify(const struct ike_creds *c,
    const struct ike_buf *der, unsigned n, int64_t now_s,
    struct ike_cert **out, char *why, size_t why_len);
void ike_cert_free(struct ike_cert *cert);
/* Whether id (an ID payload's type and data) is cert's subject (a DN
 * compared as X.500 says, not byte for byte) or a SAN of its type
 * (FQDN, RFC822, IPv4, IPv6). */
bool ike_cert_has_id(const struct ike_cert *cert, const struct ike_id *id);
/* The subject, as ike_dn_format() writes it. */
int ike_cert_subject(const struct ike_cert *cert, char *buf, size_t len);
/*
 * Verifies the peer's AUTH (method, data) over octets with cert's public
 * key.  Digital Signature (14): RSA PKCS#1 v1.5 and RSASSA-PSS, ECDSA,
 * each with SHA-256/384/512; classic: RSA (1, SHA-1) and ECDSA 9/10/11
 * (the curve must be the method's).  IKE_CERT_E_OK, _METHOD or _BAD_SIG.
 */
enum ike_cert_err ike_sig_verify(const struct ike_cert *cert, uint8_t method,
    const uint8_t *data, size_t len, const uint8_t *octets,
    size_t octets_len, char *why, size_t why_len);

/* ---- Identities ----------------------------------------------------- */

/* A DN as swanctl writes it ("CN=gw1, O=Example": RDNs in the order of
 * the certificate's subject, ',' or '/' between them) into out as
 * ID_DER_ASN1_DN.  0 or -EINVAL. */
int ike_dn_parse(const char *text, struct ike_id *out);
/* An ID_DER_ASN1_DN's data as text, the same way; what snprintf()
 * returns, or -1 when it is no DN. */
int ike_dn_format(const uint8_t *der, size_t len, char *buf, size_t buf_len);
/* Whether two identities are the same: DNs as X.500 compares them
 * (case and string type aside), FQDNs and emails without regard to
 * case, addresses byte for byte. */
bool ike_id_equal(const struct ike_id *a, const struct ike_id *b);

#endif /* IKE_CERT_H */
