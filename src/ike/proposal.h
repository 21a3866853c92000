/*
 * src/ike/proposal.h: IKE and ESP proposals written as strongSwan writes
 * them ("aes256gcm16-prfsha256-x25519", "aes256-sha256-modp3072",
 * ESP "aes128gcm16-esn"), turned into IKEv2 transforms for the SA
 * payload, and the choice between ours and a peer's (RFC 7296 §2.7,
 * §3.3).  Pure: text and parsed messages in, transforms out.
 *
 * A proposal holds one or more algorithms of each transform type; a
 * connection offers a list of proposals, best first.  Choosing takes our
 * order of preference (as strongSwan does by default): the first of our
 * proposals that one of the peer's proposals covers, with the first of
 * our algorithms of each type the peer also offers.
 */
#ifndef IKE_PROPOSAL_H
#define IKE_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../tun/esp.h"
#include "msg.h"

#define IKE_PROP_ALGS_MAX	8	/* of one type in one proposal */
#define IKE_PROPS_MAX		8	/* proposals of one connection */

/* One proposal: algorithms of each type, best first. */
struct ike_prop {
	uint8_t protocol;		/* IKE_PROTO_IKE or IKE_PROTO_ESP */
	uint8_t n_encr, n_prf, n_integ, n_dh, n_esn;
	struct {
		uint16_t id;		/* IKE_ENCR_* */
		uint16_t bits;		/* key length; 0: the cipher has one */
	} encr[IKE_PROP_ALGS_MAX];
	uint16_t prf[IKE_PROP_ALGS_MAX];	/* IKE only */
	uint16_t integ[IKE_PROP_ALGS_MAX];	/* none with AEAD */
	uint16_t dh[IKE_PROP_ALGS_MAX];		/* ESP: PFS groups; none:
						   no PFS */
	uint8_t esn[2];				/* ESP: 0 (no), 1 (yes);
						   none: no ESN */
};

struct ike_props {
	uint8_t n;
	struct ike_prop p[IKE_PROPS_MAX];
};

/*
 * One proposal in strongSwan's syntax, '-' between the algorithms, for
 * protocol (IKE_PROTO_IKE or IKE_PROTO_ESP).  IKE: an AEAD cipher needs
 * a PRF (prfsha256) and no integrity; a CBC cipher takes its integrity
 * algorithm (sha256) and, unless a prf* is given, the PRF of the same
 * hash; at least one DH group.  ESP: DH groups are PFS; esn / noesn.
 * Known but refused here (SHA-1, MD5, modp1024 and smaller, 3DES, ...)
 * is an error that says so.  0, or -EINVAL with err naming the word (by
 * its position) and why.
 */
int ike_prop_parse(const char *text, uint8_t protocol, struct ike_prop *out,
    char *err, size_t err_len);
/* Appends one parsed proposal to list (or the defaults for "default"). */
int ike_props_add(struct ike_props *list, const char *text, uint8_t protocol,
    char *err, size_t err_len);
/* The default proposals: modern only (AEAD first, X25519 and ECP, no
 * SHA-1, no modp1024). */
void ike_props_default(uint8_t protocol, struct ike_props *out);
/*
 * A copy of in without DH groups.  The first CHILD_SA comes with
 * IKE_AUTH, whose keys come from the IKE SA's: strongSwan offers it no
 * groups, so a responder chooses it from ours without them (RFC 7296
 * §1.2); the groups are PFS for CREATE_CHILD_SA.
 */
void ike_props_without_dh(const struct ike_props *in, struct ike_props *out);
/* Back to strongSwan's text; what snprintf() returns. */
int ike_prop_format(const struct ike_prop *p, char *buf, size_t len);

/* The single algorithm of each type one side chose. */
struct ike_chosen {
	uint8_t num;			/* the peer's proposal number */
	uint8_t protocol;
	uint8_t spi_size;
	uint8_t spi[8];			/* the proposer's SPI */
	uint16_t encr, encr_bits, prf, integ, dh;
	uint8_t esn;			/* 0 or 1 */
	uint8_t types;			/* bit 1 << IKE_TF_*: the types the
					   chosen proposal carried, which
					   the answer repeats; 0: those
					   named above (and ESN for ESP) */
};

/*
 * Writer input for an SA payload offering list, each proposal with spi
 * (IKE_SA_INIT: none; ESP: our 4-byte inbound SPI; IKE rekey: 8 bytes).
 * tf[] must hold IKE_PROPS_MAX * 5 * IKE_PROP_ALGS_MAX transforms; wp[]
 * IKE_PROPS_MAX proposals.  Returns the number of proposals.
 */
unsigned ike_props_to_w(const struct ike_props *list, const uint8_t *spi,
    uint8_t spi_size, struct ike_w_proposal *wp, struct ike_w_transform *tf);
/* The same for a chosen set: the one proposal an answer carries. */
void ike_chosen_to_w(const struct ike_chosen *c, const uint8_t *spi,
    uint8_t spi_size, struct ike_w_proposal *wp, struct ike_w_transform *tf);

/*
 * Responder: chooses from the peer's SA payload sa (in m) what ours
 * allows, in our order.  0 and *out; -ENOENT when nothing matches, with
 * refused holding the peer's proposals in strongSwan's text
 * ("aes128-sha1-modp1024, ...") for the log.  A transform type we do not
 * know makes its proposal unacceptable (§3.3.6).
 */
int ike_prop_select(const struct ike_props *ours, const struct ike_msg *m,
    const struct ike_payload *sa, struct ike_chosen *out, char *refused,
    size_t refused_len);
/*
 * Initiator: checks that the responder's answer sa is one proposal with
 * one algorithm of each type, all inside ours.  0 and *out, or -EINVAL.
 */
int ike_prop_accept(const struct ike_props *ours, const struct ike_msg *m,
    const struct ike_payload *sa, struct ike_chosen *out);

/* A chosen ESP set as the ESP layer names it, with its key lengths
 * (encryption key with the AEAD salt; integrity).  0 or -ENOTSUP. */
int ike_chosen_esp(const struct ike_chosen *c, enum esp_alg *alg,
    size_t *enc_key_len, size_t *auth_key_len);
/* A chosen set in strongSwan's text ("AES_GCM_16_256/PRF_HMAC_SHA2_256/
 * CURVE_25519", as charon logs it); what snprintf() returns. */
int ike_chosen_format(const struct ike_chosen *c, char *buf, size_t len);

#endif /* IKE_PROPOSAL_H */
