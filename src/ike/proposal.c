/*
 * src/ike/proposal.c: IKE and ESP proposals in strongSwan's syntax, their
 * transforms, and the choice between ours and a peer's (RFC 7296 §2.7,
 * §3.3).  Pure: text and parsed messages (msg.c) in, transforms and
 * choices out.  What hexgate will not run (SHA-1, MD5, small or
 * doubtful groups, 64-bit block ciphers, ciphers without an
 * implementation here) is known by name, so that a configuration or a
 * peer's offer is refused with the reason and not as "unknown".
 *
 * The key derivation and the ESP layer that use a choice are in
 * crypto.h and src/tun/esp.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proposal.h"

/* IANA IKEv2 transform IDs hexgate only names (to refuse or to log). */
#define ENCR_DES		2
#define ENCR_3DES		3
#define ENCR_CAST		6
#define ENCR_BLOWFISH		7
#define ENCR_NULL		11
#define ENCR_AES_CTR		13
#define ENCR_AES_CCM_8		14
#define ENCR_AES_CCM_12		15
#define ENCR_AES_CCM_16		16
#define ENCR_AES_GCM_8		18
#define ENCR_AES_GCM_12		19
#define ENCR_NULL_AUTH_AES_GMAC	21
#define ENCR_CAMELLIA_CBC	23
#define PRF_HMAC_MD5		1
#define PRF_HMAC_SHA1		2
#define PRF_AES128_XCBC		4
#define PRF_AES128_CMAC		8
#define INTEG_NONE		0
#define INTEG_HMAC_MD5_96	1
#define INTEG_HMAC_SHA1_96	2
#define INTEG_AES_XCBC_96	5
#define INTEG_HMAC_MD5_128	6
#define INTEG_HMAC_SHA1_160	7
#define INTEG_AES_CMAC_96	8
#define DH_NONE			0
#define DH_MODP_768		1
#define DH_MODP_1024		2
#define DH_MODP_1536		5
#define DH_MODP_6144		17
#define DH_MODP_8192		18
#define DH_MODP_1024_160	22
#define DH_MODP_2048_224	23
#define DH_MODP_2048_256	24
#define DH_ECP_192		25
#define DH_ECP_224		26
#define DH_ECP_224_BP		27
#define DH_ECP_256_BP		28
#define DH_ECP_384_BP		29
#define DH_ECP_512_BP		30

#define WORD_MAX		32	/* longer is no keyword */
#define TF_BIT(type)		(1u << (type))

/*
 * The keywords other than AES's, which are "aes" BITS SUFFIX (below).
 * why: NULL for what hexgate runs, else the reason it refuses.  A name
 * ending in '*' matches by prefix (blowfish128, camellia256ctr, ...).
 * The first entry of a (type, id) is the name printed for it; log is
 * charon's name of it, for ike_chosen_format.
 */
static const struct alg {
	const char *kw;
	uint8_t type;
	uint16_t id;
	const char *log;
	const char *why;
} algs[] = {
	{ "chacha20poly1305", IKE_TF_ENCR, IKE_ENCR_CHACHA20_POLY1305,
	    "CHACHA20_POLY1305", NULL },
	{ "3des", IKE_TF_ENCR, ENCR_3DES, NULL,
	    "3DES has a 64-bit block and is refused" },
	{ "des", IKE_TF_ENCR, ENCR_DES, NULL, "DES is broken and refused" },
	{ "blowfish*", IKE_TF_ENCR, ENCR_BLOWFISH, NULL,
	    "Blowfish has a 64-bit block and is refused" },
	{ "cast*", IKE_TF_ENCR, ENCR_CAST, NULL,
	    "CAST has a 64-bit block and is refused" },
	{ "null", IKE_TF_ENCR, ENCR_NULL, NULL,
	    "ENCR_NULL encrypts nothing and is refused" },
	{ "camellia*", IKE_TF_ENCR, ENCR_CAMELLIA_CBC, NULL,
	    "Camellia is not supported" },
	{ "serpent*", IKE_TF_ENCR, 0, NULL, "Serpent is not supported" },
	{ "twofish*", IKE_TF_ENCR, 0, NULL, "Twofish is not supported" },

	{ "sha256", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_256_128,
	    "HMAC_SHA2_256_128", NULL },
	{ "sha2_256", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, NULL, NULL },
	{ "sha384", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_384_192,
	    "HMAC_SHA2_384_192", NULL },
	{ "sha2_384", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_384_192, NULL, NULL },
	{ "sha512", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_512_256,
	    "HMAC_SHA2_512_256", NULL },
	{ "sha2_512", IKE_TF_INTEG, IKE_INTEG_HMAC_SHA2_512_256, NULL, NULL },
	{ "sha1", IKE_TF_INTEG, INTEG_HMAC_SHA1_96, NULL,
	    "SHA-1 is weak and refused" },
	{ "sha", IKE_TF_INTEG, INTEG_HMAC_SHA1_96, NULL,
	    "SHA-1 is weak and refused" },
	{ "sha1_160", IKE_TF_INTEG, INTEG_HMAC_SHA1_160, NULL,
	    "SHA-1 is weak and refused" },
	{ "md5", IKE_TF_INTEG, INTEG_HMAC_MD5_96, NULL,
	    "MD5 is broken and refused" },
	{ "md5_128", IKE_TF_INTEG, INTEG_HMAC_MD5_128, NULL,
	    "MD5 is broken and refused" },
	{ "aesxcbc", IKE_TF_INTEG, INTEG_AES_XCBC_96, NULL,
	    "AES-XCBC is not supported" },
	{ "aescmac", IKE_TF_INTEG, INTEG_AES_CMAC_96, NULL,
	    "AES-CMAC is not supported" },
	{ "sha256_96", IKE_TF_INTEG, 0, NULL,
	    "SHA-256 truncated to 96 bits is non-standard and refused" },

	{ "prfsha256", IKE_TF_PRF, IKE_PRF_HMAC_SHA2_256,
	    "PRF_HMAC_SHA2_256", NULL },
	{ "prfsha384", IKE_TF_PRF, IKE_PRF_HMAC_SHA2_384,
	    "PRF_HMAC_SHA2_384", NULL },
	{ "prfsha512", IKE_TF_PRF, IKE_PRF_HMAC_SHA2_512,
	    "PRF_HMAC_SHA2_512", NULL },
	{ "prfsha1", IKE_TF_PRF, PRF_HMAC_SHA1, NULL,
	    "SHA-1 is weak and refused" },
	{ "prfmd5", IKE_TF_PRF, PRF_HMAC_MD5, NULL,
	    "MD5 is broken and refused" },
	{ "prfaesxcbc", IKE_TF_PRF, PRF_AES128_XCBC, NULL,
	    "AES-XCBC is not supported" },
	{ "prfaescmac", IKE_TF_PRF, PRF_AES128_CMAC, NULL,
	    "AES-CMAC is not supported" },

	{ "x25519", IKE_TF_DH, IKE_DH_CURVE25519, "CURVE_25519", NULL },
	{ "curve25519", IKE_TF_DH, IKE_DH_CURVE25519, NULL, NULL },
	{ "x448", IKE_TF_DH, IKE_DH_CURVE448, "CURVE_448", NULL },
	{ "curve448", IKE_TF_DH, IKE_DH_CURVE448, NULL, NULL },
	{ "ecp256", IKE_TF_DH, IKE_DH_ECP_256, "ECP_256", NULL },
	{ "ecp384", IKE_TF_DH, IKE_DH_ECP_384, "ECP_384", NULL },
	{ "ecp521", IKE_TF_DH, IKE_DH_ECP_521, "ECP_521", NULL },
	{ "modp2048", IKE_TF_DH, IKE_DH_MODP_2048, "MODP_2048", NULL },
	{ "modp3072", IKE_TF_DH, IKE_DH_MODP_3072, "MODP_3072", NULL },
	{ "modp4096", IKE_TF_DH, IKE_DH_MODP_4096, "MODP_4096", NULL },
	{ "modp768", IKE_TF_DH, DH_MODP_768, NULL,
	    "group 1 (768 bits) is too small and refused" },
	{ "modp1024", IKE_TF_DH, DH_MODP_1024, NULL,
	    "group 2 (1024 bits) is too small and refused" },
	{ "modp1536", IKE_TF_DH, DH_MODP_1536, NULL,
	    "group 5 (1536 bits) is too small and refused" },
	{ "modp6144", IKE_TF_DH, DH_MODP_6144, NULL,
	    "modp6144 is not supported (use modp4096 or an ECP group)" },
	{ "modp8192", IKE_TF_DH, DH_MODP_8192, NULL,
	    "modp8192 is not supported (use modp4096 or an ECP group)" },
	{ "modp1024s160", IKE_TF_DH, DH_MODP_1024_160, NULL,
	    "the RFC 5114 groups are refused" },
	{ "modp2048s224", IKE_TF_DH, DH_MODP_2048_224, NULL,
	    "the RFC 5114 groups are refused" },
	{ "modp2048s256", IKE_TF_DH, DH_MODP_2048_256, NULL,
	    "the RFC 5114 groups are refused" },
	{ "ecp192", IKE_TF_DH, DH_ECP_192, NULL,
	    "ecp192 is too small and refused" },
	{ "ecp224", IKE_TF_DH, DH_ECP_224, NULL, "ecp224 is not supported" },
	{ "ecp224bp", IKE_TF_DH, DH_ECP_224_BP, NULL,
	    "the Brainpool curves are not supported" },
	{ "ecp256bp", IKE_TF_DH, DH_ECP_256_BP, NULL,
	    "the Brainpool curves are not supported" },
	{ "ecp384bp", IKE_TF_DH, DH_ECP_384_BP, NULL,
	    "the Brainpool curves are not supported" },
	{ "ecp512bp", IKE_TF_DH, DH_ECP_512_BP, NULL,
	    "the Brainpool curves are not supported" },

	{ "noesn", IKE_TF_ESN, IKE_ESN_NO, "NO_EXT_SEQ", NULL },
	{ "esn", IKE_TF_ESN, IKE_ESN_YES, "EXT_SEQ", NULL },
};

/*
 * AES comes as "aes" BITS SUFFIX: aes256, aes128gcm16, aes192ccm8.  The
 * first suffix of an ID is the one printed; "gcm128" is strongSwan's
 * other name of "gcm16" (the ICV in bits), and so on.
 */
static const struct aes_mode {
	const char *suffix;
	uint16_t id;
	const char *log;		/* charon's, before the key size */
	const char *why;
} aes_modes[] = {
	{ "", IKE_ENCR_AES_CBC, "AES_CBC", NULL },
	{ "gcm16", IKE_ENCR_AES_GCM_16, "AES_GCM_16", NULL },
	{ "gcm128", IKE_ENCR_AES_GCM_16, NULL, NULL },
	{ "gcm8", ENCR_AES_GCM_8, NULL,
	    "AES-GCM with an 8-byte ICV is refused (use a gcm16)" },
	{ "gcm64", ENCR_AES_GCM_8, NULL,
	    "AES-GCM with an 8-byte ICV is refused (use a gcm16)" },
	{ "gcm12", ENCR_AES_GCM_12, NULL,
	    "AES-GCM with a 12-byte ICV is refused (use a gcm16)" },
	{ "gcm96", ENCR_AES_GCM_12, NULL,
	    "AES-GCM with a 12-byte ICV is refused (use a gcm16)" },
	{ "ccm8", ENCR_AES_CCM_8, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ccm64", ENCR_AES_CCM_8, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ccm12", ENCR_AES_CCM_12, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ccm96", ENCR_AES_CCM_12, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ccm16", ENCR_AES_CCM_16, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ccm128", ENCR_AES_CCM_16, NULL,
	    "AES-CCM is not supported (use a gcm16)" },
	{ "ctr", ENCR_AES_CTR, NULL, "AES-CTR is not supported" },
	{ "gmac", ENCR_NULL_AUTH_AES_GMAC, NULL,
	    "AES-GMAC encrypts nothing and is refused" },
};

/* What the defaults are: modern only, and each accepted by a stock
 * strongSwan 5.9.8 whose proposals are "default". */
static const char *const default_ike[] = {
	"aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-"
	    "prfsha512-x25519-ecp256-ecp384-modp3072",
	"aes256-aes128-sha256-sha384-sha512-x25519-ecp256-ecp384-modp3072",
};
static const char *const default_esp[] = {
	"aes256gcm16-aes128gcm16-chacha20poly1305",
	"aes256-aes128-sha256-sha384-sha512",
};

static bool
encr_is_aead(uint16_t id)
{
	return id == IKE_ENCR_AES_GCM_16 ||
	    id == IKE_ENCR_CHACHA20_POLY1305 || id == ENCR_AES_GCM_8 ||
	    id == ENCR_AES_GCM_12 || id == ENCR_AES_CCM_8 ||
	    id == ENCR_AES_CCM_12 || id == ENCR_AES_CCM_16;
}

/* Does the cipher take a Key Length attribute (RFC 7296 §3.3.5)? */
static bool
encr_has_bits(uint16_t id)
{
	return id == IKE_ENCR_AES_CBC || id == ENCR_AES_CTR ||
	    (id >= ENCR_AES_CCM_8 && id <= ENCR_NULL_AUTH_AES_GMAC) ||
	    id == ENCR_CAMELLIA_CBC;
}

/* The PRF of the same hash as an integrity algorithm, or 0. */
static uint16_t
prf_of_integ(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128:
		return IKE_PRF_HMAC_SHA2_256;
	case IKE_INTEG_HMAC_SHA2_384_192:
		return IKE_PRF_HMAC_SHA2_384;
	case IKE_INTEG_HMAC_SHA2_512_256:
		return IKE_PRF_HMAC_SHA2_512;
	}
	return 0;
}

/* snprintf that appends at *off and keeps *off at most len - 1 while
 * counting what did not fit in *want (snprintf's return). */
struct out {
	char *buf;
	size_t len, off;
	int want;
};

static void __attribute__((format(printf, 2, 3)))
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len > o->off ? o->buf + o->off : NULL,
	    o->len > o->off ? o->len - o->off : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->want += n;
	o->off += (size_t)n;
	if (o->off >= o->len)
		o->off = o->len > 0 ? o->len - 1 : 0;
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && err_len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * Naming.
 */

/* The keyword of a transform, as a peer's offer is logged; unknown IDs
 * get their number. */
static void
name_transform(struct out *o, uint8_t type, uint16_t id, uint16_t bits)
{
	size_t i;

	if (type == IKE_TF_ENCR)
		for (i = 0; i < sizeof(aes_modes) / sizeof(aes_modes[0]); i++)
			if (aes_modes[i].id == id) {
				out_add(o, "aes%u%s", bits,
				    aes_modes[i].suffix);
				return;
			}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].type == type && algs[i].id == id &&
		    (algs[i].id != 0 || type == IKE_TF_ESN)) {
			size_t n = strcspn(algs[i].kw, "*");

			/* a family's keyword has its key size, others
			 * do not take one */
			out_add(o, "%.*s", (int)n, algs[i].kw);
			if (type == IKE_TF_ENCR && bits != 0)
				out_add(o, algs[i].kw[n] == '*' ? "%u" : "_%u",
				    bits);
			return;
		}
	switch (type) {
	case IKE_TF_ENCR:
		out_add(o, "encr%u", id);
		if (bits != 0)
			out_add(o, "_%u", bits);
		break;
	case IKE_TF_PRF:
		out_add(o, "prf%u", id);
		break;
	case IKE_TF_INTEG:
		out_add(o, id == INTEG_NONE ? "integnone" : "integ%u", id);
		break;
	case IKE_TF_DH:
		out_add(o, id == DH_NONE ? "dhnone" : "dh%u", id);
		break;
	default:
		out_add(o, "type%u:%u", type, id);
		break;
	}
}

/* charon's name of a transform hexgate runs (AES_GCM_16_256, MODP_3072). */
static void
log_transform(struct out *o, uint8_t type, uint16_t id, uint16_t bits)
{
	size_t i;

	if (type == IKE_TF_ENCR)
		for (i = 0; i < sizeof(aes_modes) / sizeof(aes_modes[0]); i++)
			if (aes_modes[i].id == id && aes_modes[i].log) {
				out_add(o, "%s_%u", aes_modes[i].log, bits);
				return;
			}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].type == type && algs[i].id == id &&
		    algs[i].log != NULL) {
			out_add(o, "%s", algs[i].log);
			return;
		}
	name_transform(o, type, id, bits);
}

/*
 * Parsing strongSwan's text.
 */

/* One word: its type and ID (and AES key bits), or -EINVAL and why. */
static int
word_lookup(const char *w, uint8_t *type, uint16_t *id, uint16_t *bits,
    const char **why)
{
	size_t i;

	*why = NULL;
	*bits = 0;
	if (strncasecmp(w, "aes", 3) == 0) {
		const char *s = w + 3;
		unsigned b = 128;	/* "aes" alone is AES-128-CBC */

		if (strncmp(s, "128", 3) == 0 || strncmp(s, "192", 3) == 0 ||
		    strncmp(s, "256", 3) == 0) {
			b = (unsigned)atoi(s);
			s += 3;
		} else if (*s != '\0' && strcasecmp(s, "xcbc") != 0 &&
		    strcasecmp(s, "cmac") != 0)
			return -EINVAL;
		for (i = 0; i < sizeof(aes_modes) / sizeof(aes_modes[0]); i++)
			if (strcasecmp(s, aes_modes[i].suffix) == 0) {
				*type = IKE_TF_ENCR;
				*id = aes_modes[i].id;
				*bits = (uint16_t)b;
				*why = aes_modes[i].why;
				return 0;
			}
		if (strcasecmp(s, "xcbc") != 0 && strcasecmp(s, "cmac") != 0)
			return -EINVAL;
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const char *kw = algs[i].kw;
		size_t n = strcspn(kw, "*");

		if (kw[n] == '*' ? strncasecmp(w, kw, n) == 0 :
		    strcasecmp(w, kw) == 0) {
			*type = algs[i].type;
			*id = algs[i].id;
			*why = algs[i].why;
			return 0;
		}
	}
	return -EINVAL;
}

/* Appends v to a list of n, unless it is there: 0, or -EEXIST/-ENOSPC. */
static int
list_add16(uint16_t *list, uint8_t *n, uint16_t v)
{
	for (unsigned i = 0; i < *n; i++)
		if (list[i] == v)
			return -EEXIST;
	if (*n == IKE_PROP_ALGS_MAX)
		return -ENOSPC;
	list[(*n)++] = v;
	return 0;
}

static int
prop_add_word(struct ike_prop *p, uint8_t type, uint16_t id, uint16_t bits,
    const char *w, unsigned pos, char *err, size_t err_len)
{
	int rc = 0;

	switch (type) {
	case IKE_TF_ENCR:
		for (unsigned i = 0; i < p->n_encr; i++)
			if (p->encr[i].id == id && p->encr[i].bits == bits)
				rc = -EEXIST;
		if (rc == 0 && p->n_encr == IKE_PROP_ALGS_MAX)
			rc = -ENOSPC;
		if (rc == 0) {
			p->encr[p->n_encr].id = id;
			p->encr[p->n_encr++].bits = bits;
		}
		break;
	case IKE_TF_PRF:
		if (p->protocol != IKE_PROTO_IKE)
			return fail(err, err_len, "'%s' (word %u): a PRF "
			    "belongs in IKE proposals, not ESP", w, pos);
		rc = list_add16(p->prf, &p->n_prf, id);
		break;
	case IKE_TF_INTEG:
		rc = list_add16(p->integ, &p->n_integ, id);
		break;
	case IKE_TF_DH:
		rc = list_add16(p->dh, &p->n_dh, id);
		break;
	case IKE_TF_ESN:
		if (p->protocol != IKE_PROTO_ESP)
			return fail(err, err_len, "'%s' (word %u): esn and "
			    "noesn belong in ESP proposals", w, pos);
		for (unsigned i = 0; i < p->n_esn; i++)
			if (p->esn[i] == id)
				rc = -EEXIST;
		if (rc == 0)
			p->esn[p->n_esn++] = (uint8_t)id;
		break;
	}
	if (rc == -EEXIST)
		return fail(err, err_len, "'%s' (word %u): given twice", w,
		    pos);
	if (rc == -ENOSPC)
		return fail(err, err_len, "'%s' (word %u): more than %d "
		    "algorithms of one kind", w, pos, IKE_PROP_ALGS_MAX);
	return 0;
}

/* What a whole proposal must hold, checked once all its words are in. */
static int
prop_check(struct ike_prop *p, char *err, size_t err_len)
{
	unsigned n_aead = 0;

	if (p->n_encr == 0)
		return fail(err, err_len, "no encryption algorithm (aes256, "
		    "aes256gcm16, chacha20poly1305, ...)");
	for (unsigned i = 0; i < p->n_encr; i++)
		n_aead += encr_is_aead(p->encr[i].id);
	if (n_aead != 0 && n_aead != p->n_encr)
		return fail(err, err_len, "AEAD and non-AEAD ciphers in one "
		    "proposal: write them as two proposals");
	if (n_aead != 0 && p->n_integ != 0)
		return fail(err, err_len, "an AEAD cipher takes no integrity "
		    "algorithm");
	if (n_aead == 0 && p->n_integ == 0)
		return fail(err, err_len, "no integrity algorithm (sha256, "
		    "sha384, sha512)");
	if (p->protocol == IKE_PROTO_ESP)
		return 0;
	if (p->n_prf == 0 && n_aead != 0)
		return fail(err, err_len, "an AEAD cipher needs a PRF "
		    "(prfsha256, prfsha384, prfsha512)");
	/* As strongSwan does: a CBC proposal without a prf* word takes the
	 * PRFs of its integrity algorithms' hashes. */
	if (p->n_prf == 0)
		for (unsigned i = 0; i < p->n_integ; i++)
			(void)list_add16(p->prf, &p->n_prf,
			    prf_of_integ(p->integ[i]));
	if (p->n_dh == 0)
		return fail(err, err_len, "no key exchange group (x25519, "
		    "ecp256, modp3072, ...)");
	return 0;
}

int
ike_prop_parse(const char *text, uint8_t protocol, struct ike_prop *out,
    char *err, size_t err_len)
{
	const char *s = text;
	unsigned pos = 0;

	if (protocol != IKE_PROTO_IKE && protocol != IKE_PROTO_ESP)
		return fail(err, err_len, "protocol %u: neither IKE nor ESP",
		    protocol);
	memset(out, 0, sizeof(*out));
	out->protocol = protocol;
	if (*s == '\0')
		return fail(err, err_len, "empty proposal");
	for (;;) {
		size_t n = strcspn(s, "-");
		char w[WORD_MAX];
		const char *why;
		uint16_t id, bits;
		uint8_t type;
		int rc;

		pos++;
		if (n == 0)
			return fail(err, err_len, "empty word %u (two '-' in a "
			    "row, or one at an end)", pos);
		if (n >= sizeof(w))
			return fail(err, err_len, "unknown algorithm '%.*s...' "
			    "(word %u)", (int)(sizeof(w) - 1), s, pos);
		memcpy(w, s, n);
		w[n] = '\0';
		if (word_lookup(w, &type, &id, &bits, &why) < 0)
			return fail(err, err_len, "unknown algorithm '%s' "
			    "(word %u)", w, pos);
		if (why != NULL)
			return fail(err, err_len, "'%s' (word %u): %s", w, pos,
			    why);
		if ((rc = prop_add_word(out, type, id, bits, w, pos, err,
		    err_len)) < 0)
			return rc;
		s += n;
		if (*s == '\0')
			break;
		s++;
	}
	return prop_check(out, err, err_len);
}

int
ike_props_add(struct ike_props *list, const char *text, uint8_t protocol,
    char *err, size_t err_len)
{
	struct ike_props def;
	struct ike_prop p;
	int rc;

	if (strcasecmp(text, "default") == 0) {
		ike_props_default(protocol, &def);
		if (list->n + def.n > IKE_PROPS_MAX)
			return fail(err, err_len, "more than %d proposals",
			    IKE_PROPS_MAX);
		memcpy(&list->p[list->n], def.p, def.n * sizeof(def.p[0]));
		list->n += def.n;
		return 0;
	}
	if ((rc = ike_prop_parse(text, protocol, &p, err, err_len)) < 0)
		return rc;
	if (list->n == IKE_PROPS_MAX)
		return fail(err, err_len, "more than %d proposals",
		    IKE_PROPS_MAX);
	list->p[list->n++] = p;
	return 0;
}

void
ike_props_default(uint8_t protocol, struct ike_props *out)
{
	const char *const *texts = protocol == IKE_PROTO_IKE ? default_ike :
	    default_esp;
	size_t n = protocol == IKE_PROTO_IKE ?
	    sizeof(default_ike) / sizeof(default_ike[0]) :
	    sizeof(default_esp) / sizeof(default_esp[0]);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		/* The texts are ours and tests/unit/ike parses them: a
		 * failure here is a bug in this file, not bad input. */
		if (ike_prop_parse(texts[i], protocol, &out->p[out->n++], NULL,
		    0) < 0)
			abort();
}

void
ike_props_without_dh(const struct ike_props *in, struct ike_props *out)
{
	*out = *in;
	for (unsigned i = 0; i < out->n; i++)
		out->p[i].n_dh = 0;
}

int
ike_prop_format(const struct ike_prop *p, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };
	const char *sep = "";
	unsigned i;

	if (len > 0)
		buf[0] = '\0';
#define WORD(type, id, bits) do {					\
		out_add(&o, "%s", sep);					\
		name_transform(&o, type, id, bits);			\
		sep = "-";						\
	} while (0)
	for (i = 0; i < p->n_encr; i++)
		WORD(IKE_TF_ENCR, p->encr[i].id, p->encr[i].bits);
	for (i = 0; i < p->n_integ; i++)
		WORD(IKE_TF_INTEG, p->integ[i], 0);
	for (i = 0; i < p->n_prf; i++)
		WORD(IKE_TF_PRF, p->prf[i], 0);
	for (i = 0; i < p->n_dh; i++)
		WORD(IKE_TF_DH, p->dh[i], 0);
	for (i = 0; i < p->n_esn; i++)
		WORD(IKE_TF_ESN, p->esn[i], 0);
#undef WORD
	return o.want;
}

/*
 * Writing an offer and an answer.
 */

static void
tf_put(struct ike_w_transform *tf, unsigned *n, uint8_t type, uint16_t id,
    uint16_t bits)
{
	tf[*n].type = type;
	tf[*n].id = id;
	tf[*n].key_len = bits;
	(*n)++;
}

unsigned
ike_props_to_w(const struct ike_props *list, const uint8_t *spi,
    uint8_t spi_size, struct ike_w_proposal *wp, struct ike_w_transform *tf)
{
	unsigned n = 0;

	for (unsigned i = 0; i < list->n && i < IKE_PROPS_MAX; i++) {
		const struct ike_prop *p = &list->p[i];
		unsigned first = n, k;

		for (k = 0; k < p->n_encr; k++)
			tf_put(tf, &n, IKE_TF_ENCR, p->encr[k].id,
			    encr_has_bits(p->encr[k].id) ? p->encr[k].bits : 0);
		for (k = 0; k < p->n_prf; k++)
			tf_put(tf, &n, IKE_TF_PRF, p->prf[k], 0);
		for (k = 0; k < p->n_integ; k++)
			tf_put(tf, &n, IKE_TF_INTEG, p->integ[k], 0);
		for (k = 0; k < p->n_dh; k++)
			tf_put(tf, &n, IKE_TF_DH, p->dh[k], 0);
		/* ESN is a mandatory type of ESP (RFC 7296 §3.3.3): no esn
		 * word is an offer of no ESN, said explicitly. */
		for (k = 0; k < p->n_esn; k++)
			tf_put(tf, &n, IKE_TF_ESN, p->esn[k], 0);
		if (p->protocol == IKE_PROTO_ESP && p->n_esn == 0)
			tf_put(tf, &n, IKE_TF_ESN, IKE_ESN_NO, 0);
		wp[i] = (struct ike_w_proposal){
			.num = (uint8_t)(i + 1),
			.protocol = p->protocol,
			.spi_size = spi_size,
			.spi = spi,
			.transforms = tf + first,
			.count = n - first,
		};
	}
	return list->n < IKE_PROPS_MAX ? list->n : IKE_PROPS_MAX;
}

void
ike_chosen_to_w(const struct ike_chosen *c, const uint8_t *spi,
    uint8_t spi_size, struct ike_w_proposal *wp, struct ike_w_transform *tf)
{
	/* types: what the peer's proposal carried; 0 when the caller made
	 * c by hand: then what c names, and ESN for ESP. */
	unsigned types = c->types;
	unsigned n = 0;

	if (types == 0)
		types = TF_BIT(IKE_TF_ENCR) |
		    (c->prf ? TF_BIT(IKE_TF_PRF) : 0) |
		    (c->integ ? TF_BIT(IKE_TF_INTEG) : 0) |
		    (c->dh ? TF_BIT(IKE_TF_DH) : 0) |
		    (c->protocol == IKE_PROTO_ESP ? TF_BIT(IKE_TF_ESN) : 0);
	tf_put(tf, &n, IKE_TF_ENCR, c->encr,
	    encr_has_bits(c->encr) ? c->encr_bits : 0);
	if (types & TF_BIT(IKE_TF_PRF))
		tf_put(tf, &n, IKE_TF_PRF, c->prf, 0);
	if (types & TF_BIT(IKE_TF_INTEG))
		tf_put(tf, &n, IKE_TF_INTEG, c->integ, 0);
	if (types & TF_BIT(IKE_TF_DH))
		tf_put(tf, &n, IKE_TF_DH, c->dh, 0);
	if (types & TF_BIT(IKE_TF_ESN))
		tf_put(tf, &n, IKE_TF_ESN, c->esn, 0);
	*wp = (struct ike_w_proposal){
		.num = c->num,
		.protocol = c->protocol,
		.spi_size = spi_size,
		.spi = spi,
		.transforms = tf,
		.count = n,
	};
}

/*
 * Choosing.
 */

/*
 * A transform we may take: its only attribute, if any, is the Key
 * Length, and only a cipher that has one may carry it.  §3.3.6: a
 * transform with an attribute we do not understand is unacceptable.
 */
static bool
tf_attrs_ok(const struct ike_transform *t)
{
	uint16_t i = 0;

	while (i + 4 <= t->attrs_len) {
		uint16_t type = (uint16_t)(t->attrs[i] << 8 | t->attrs[i + 1]);

		if (type != (IKE_ATTR_TV | IKE_ATTR_KEY_LENGTH))
			return false;
		i += 4;
	}
	if (i != t->attrs_len)
		return false;
	if (t->key_len != 0 && !(t->type == IKE_TF_ENCR &&
	    encr_has_bits(t->id)))
		return false;
	return true;
}

/* Does the peer's proposal offer (type, id[, bits])? */
static bool
peer_offers(const struct ike_msg *m, const struct ike_proposal *pp,
    uint8_t type, uint16_t id, uint16_t bits)
{
	for (unsigned i = 0; i < pp->count; i++) {
		const struct ike_transform *t = &m->transforms[pp->first + i];

		if (t->type != type || t->id != id || !tf_attrs_ok(t))
			continue;
		if (type == IKE_TF_ENCR && encr_has_bits(id) ?
		    t->key_len != bits : t->key_len != 0)
			continue;
		return true;
	}
	return false;
}

/* Ours first: the first of our list the peer offers, or -1. */
static int
pick16(const struct ike_msg *m, const struct ike_proposal *pp, uint8_t type,
    const uint16_t *ours, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (peer_offers(m, pp, type, ours[i], 0))
			return ours[i];
	return -1;
}

/* Does each of the peer's transforms of type have this ID? */
static bool
peer_only(const struct ike_msg *m, const struct ike_proposal *pp,
    uint8_t type, uint16_t id)
{
	for (unsigned i = 0; i < pp->count; i++) {
		const struct ike_transform *t = &m->transforms[pp->first + i];

		if (t->type == type && t->id != id)
			return false;
	}
	return true;
}

/*
 * One of our proposals against one of the peer's (§2.7, §3.3.6): each
 * type the peer's carries must give one of our algorithms, and it must
 * carry each type the protocol needs.  0 and *c, or -1.
 */
static int
prop_match(const struct ike_prop *ours, const struct ike_msg *m,
    const struct ike_proposal *pp, struct ike_chosen *c)
{
	static const uint16_t no_esn[1] = { IKE_ESN_NO };
	uint16_t esn16[2];
	unsigned types = 0, i;
	bool ike = ours->protocol == IKE_PROTO_IKE, aead;
	int v;

	if (pp->protocol != ours->protocol)
		return -1;
	if (ike ? pp->spi_size != 0 && pp->spi_size != 8 :
	    pp->spi_size != 4)
		return -1;
	for (i = 0; i < pp->count; i++) {
		uint8_t type = m->transforms[pp->first + i].type;

		if (type < IKE_TF_ENCR || type > IKE_TF_ESN)
			return -1;	/* a type we do not know */
		types |= TF_BIT(type);
	}
	memset(c, 0, sizeof(*c));
	c->num = pp->num;
	c->protocol = pp->protocol;
	c->spi_size = pp->spi_size;
	if (pp->spi_size != 0)	/* IKE_SA_INIT: no SPI, no pointer */
		memcpy(c->spi, pp->spi, pp->spi_size);
	c->types = (uint8_t)types;

	for (i = 0; i < ours->n_encr; i++)
		if (peer_offers(m, pp, IKE_TF_ENCR, ours->encr[i].id,
		    ours->encr[i].bits))
			break;
	if (i == ours->n_encr)
		return -1;
	c->encr = ours->encr[i].id;
	c->encr_bits = encr_has_bits(c->encr) ? ours->encr[i].bits : 0;
	aead = encr_is_aead(c->encr);

	/* §3.3: an AEAD cipher comes with no integrity transform or with
	 * NONE alone. */
	if (aead) {
		if (!peer_only(m, pp, IKE_TF_INTEG, INTEG_NONE))
			return -1;
	} else {
		if ((v = pick16(m, pp, IKE_TF_INTEG, ours->integ,
		    ours->n_integ)) < 0)
			return -1;
		c->integ = (uint16_t)v;
	}

	if (ike) {
		if ((v = pick16(m, pp, IKE_TF_PRF, ours->prf,
		    ours->n_prf)) < 0)
			return -1;
		c->prf = (uint16_t)v;
	} else if (types & TF_BIT(IKE_TF_PRF))
		return -1;

	/* DH: in IKE one of ours; in ESP a group is PFS, which both must
	 * want.  A peer's NONE among its groups makes PFS its option. */
	if (types & TF_BIT(IKE_TF_DH)) {
		if (ours->n_dh == 0 && !ike) {
			if (!peer_offers(m, pp, IKE_TF_DH, DH_NONE, 0))
				return -1;
			c->dh = DH_NONE;
		} else {
			if ((v = pick16(m, pp, IKE_TF_DH, ours->dh,
			    ours->n_dh)) < 0)
				return -1;
			c->dh = (uint16_t)v;
		}
	} else if (ike || ours->n_dh != 0)
		return -1;

	/* ESN: ours, or no ESN when we named none; a peer that sends no
	 * ESN transform offers none. */
	if (ike) {
		if (types & TF_BIT(IKE_TF_ESN))
			return -1;
		return 0;
	}
	for (i = 0; i < ours->n_esn; i++)
		esn16[i] = ours->esn[i];
	if (types & TF_BIT(IKE_TF_ESN)) {
		v = ours->n_esn ? pick16(m, pp, IKE_TF_ESN, esn16, ours->n_esn) :
		    pick16(m, pp, IKE_TF_ESN, no_esn, 1);
		if (v < 0)
			return -1;
		c->esn = (uint8_t)v;
	} else {
		for (i = 0; i < ours->n_esn; i++)
			if (ours->esn[i] == IKE_ESN_NO)
				break;
		if (ours->n_esn != 0 && i == ours->n_esn)
			return -1;
		c->esn = IKE_ESN_NO;
	}
	return 0;
}

/* A peer's proposal as strongSwan's text, for the log. */
static void
format_peer(struct out *o, const struct ike_msg *m,
    const struct ike_proposal *pp)
{
	static const uint8_t order[] = { IKE_TF_ENCR, IKE_TF_INTEG,
	    IKE_TF_PRF, IKE_TF_DH, IKE_TF_ESN, 0 };
	const char *sep = "";

	if (pp->protocol != IKE_PROTO_IKE && pp->protocol != IKE_PROTO_ESP)
		out_add(o, "protocol%u:", pp->protocol);
	for (size_t k = 0; k < sizeof(order); k++)
		for (unsigned i = 0; i < pp->count; i++) {
			const struct ike_transform *t =
			    &m->transforms[pp->first + i];
			bool known = t->type >= IKE_TF_ENCR &&
			    t->type <= IKE_TF_ESN;

			/* 0 in order[]: the types we do not know, last */
			if (order[k] != 0 ? t->type != order[k] : known)
				continue;
			out_add(o, "%s", sep);
			name_transform(o, t->type, t->id, t->key_len);
			sep = "-";
		}
}

static bool
sa_ok(const struct ike_msg *m, const struct ike_payload *sa)
{
	return sa != NULL && sa->type == IKE_PL_SA &&
	    sa->u.sa.first + sa->u.sa.count <= m->n_proposals;
}

int
ike_prop_select(const struct ike_props *ours, const struct ike_msg *m,
    const struct ike_payload *sa, struct ike_chosen *out, char *refused,
    size_t refused_len)
{
	struct out o = { refused, refused_len, 0, 0 };
	unsigned i, j;

	if (refused_len > 0)
		refused[0] = '\0';
	if (!sa_ok(m, sa))
		return -EINVAL;
	for (i = 0; i < ours->n; i++)
		for (j = 0; j < sa->u.sa.count; j++)
			if (prop_match(&ours->p[i], m,
			    &m->proposals[sa->u.sa.first + j], out) == 0)
				return 0;
	for (j = 0; j < sa->u.sa.count; j++) {
		out_add(&o, "%s", j > 0 ? ", " : "");
		format_peer(&o, m, &m->proposals[sa->u.sa.first + j]);
	}
	return -ENOENT;
}

int
ike_prop_accept(const struct ike_props *ours, const struct ike_msg *m,
    const struct ike_payload *sa, struct ike_chosen *out)
{
	const struct ike_proposal *pp;
	unsigned seen = 0;

	if (!sa_ok(m, sa) || sa->u.sa.count != 1)
		return -EINVAL;
	pp = &m->proposals[sa->u.sa.first];
	/* §3.3.6: an answer holds one transform of each type. */
	for (unsigned i = 0; i < pp->count; i++) {
		unsigned bit = TF_BIT(m->transforms[pp->first + i].type & 31);

		if (seen & bit)
			return -EINVAL;
		seen |= bit;
	}
	for (unsigned i = 0; i < ours->n; i++)
		if (prop_match(&ours->p[i], m, pp, out) == 0)
			return 0;
	return -EINVAL;
}

int
ike_chosen_esp(const struct ike_chosen *c, enum esp_alg *alg,
    size_t *enc_key_len, size_t *auth_key_len)
{
	size_t key = c->encr_bits / 8;

	if (c->protocol != IKE_PROTO_ESP)
		return -ENOTSUP;
	if (c->encr == IKE_ENCR_CHACHA20_POLY1305) {
		*alg = ESP_ALG_CHACHA20_POLY1305;
		*enc_key_len = 32 + 4;	/* RFC 7634 §2: key, then salt */
		*auth_key_len = 0;
		return 0;
	}
	if (c->encr_bits != 128 && c->encr_bits != 192 &&
	    c->encr_bits != 256)
		return -ENOTSUP;
	if (c->encr == IKE_ENCR_AES_GCM_16) {
		*alg = ESP_ALG_AES_GCM_16;
		*enc_key_len = key + 4;	/* RFC 4106 §8.1: key, then salt */
		*auth_key_len = 0;
		return 0;
	}
	if (c->encr != IKE_ENCR_AES_CBC)
		return -ENOTSUP;
	/* RFC 4868 §2.1.1: the HMAC key is as long as the hash. */
	switch (c->integ) {
	case IKE_INTEG_HMAC_SHA2_256_128:
		*alg = ESP_ALG_AES_CBC_HMAC_SHA256;
		*auth_key_len = 32;
		break;
	case IKE_INTEG_HMAC_SHA2_384_192:
		*alg = ESP_ALG_AES_CBC_HMAC_SHA384;
		*auth_key_len = 48;
		break;
	case IKE_INTEG_HMAC_SHA2_512_256:
		*alg = ESP_ALG_AES_CBC_HMAC_SHA512;
		*auth_key_len = 64;
		break;
	default:
		return -ENOTSUP;
	}
	*enc_key_len = key;
	return 0;
}

int
ike_chosen_format(const struct ike_chosen *c, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };

	if (len > 0)
		buf[0] = '\0';
	log_transform(&o, IKE_TF_ENCR, c->encr, c->encr_bits);
	if (c->integ != 0) {
		out_add(&o, "/");
		log_transform(&o, IKE_TF_INTEG, c->integ, 0);
	}
	if (c->prf != 0) {
		out_add(&o, "/");
		log_transform(&o, IKE_TF_PRF, c->prf, 0);
	}
	if (c->dh != 0) {
		out_add(&o, "/");
		log_transform(&o, IKE_TF_DH, c->dh, 0);
	}
	if (c->protocol == IKE_PROTO_ESP) {
		out_add(&o, "/");
		log_transform(&o, IKE_TF_ESN, c->esn, 0);
	}
	return o.want;
}
