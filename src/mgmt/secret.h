/*
 * src/mgmt/secret.h: secrets the control plane keeps (IPsec PSKs, overlay
 * and SNMP keys), sealed under one key that only root reads.  A secret is
 * stored as a printable token, "hgsec1:" and the URL-safe base64 (no
 * padding) of
 *
 *	key id (8) | nonce (24) | XChaCha20-Poly1305 ciphertext and tag (n + 16)
 *
 * The associated data is "hgsec1", the key id and the secret's name, so a
 * token only opens under the name it was sealed for ("/ipsec/peers/3/psk"
 * cannot be pasted into "/snmp/community") and any changed byte fails.
 * The key is STATE_DIR/secret.key (32 random bytes, 0600, made at first
 * use in a 0700 directory).  Rotation is not implemented: docs/security.md.
 *
 * What this is not: storage.  Tokens live wherever the configuration that
 * names them lives (the store, a file); this only seals, opens, and keeps
 * values out of replies, logs and exports (hg_secret_redact_json()).
 */
#ifndef HG_MGMT_SECRET_H
#define HG_MGMT_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/hg.h"

#define HG_SECRET_KEY_FILE	"secret.key"
#define HG_SECRET_KEY_BYTES	32
#define HG_SECRET_PREFIX	"hgsec1:"
#define HG_SECRET_PREFIX_LEN	7
#define HG_SECRET_KEY_ID_BYTES	8
#define HG_SECRET_NONCE_BYTES	24
#define HG_SECRET_TAG_BYTES	16
#define HG_SECRET_NAME_MAX	255		/* bytes of a name */
#define HG_SECRET_PLAIN_MAX	8192		/* a PEM private key fits */
/* What replies, logs and exports show instead of a secret. */
#define HG_SECRET_REDACTED	"********"

/* Bytes under the base64: key id, nonce, ciphertext, tag. */
#define HG_SECRET_RAW_LEN(plain_len) \
	(HG_SECRET_KEY_ID_BYTES + HG_SECRET_NONCE_BYTES + (plain_len) + \
	 HG_SECRET_TAG_BYTES)
/* A token's length with its NUL, for a plaintext of plain_len bytes. */
#define HG_SECRET_TOKEN_SIZE(plain_len) \
	(HG_SECRET_PREFIX_LEN + (HG_SECRET_RAW_LEN(plain_len) * 4 + 2) / 3 + 1)
#define HG_SECRET_TOKEN_MAX	HG_SECRET_TOKEN_SIZE(HG_SECRET_PLAIN_MAX)

struct hg_keyring;	/* opaque: the key, in guarded memory */

/*
 * Opens STATE_DIR/secret.key, making the directory (0700) and the key
 * (32 random bytes, 0600, written beside and linked into place so no
 * half-written key is ever seen) when they are missing.  Refused, with a
 * sentence that names the file and what to do, when the directory is
 * owned by another user (root aside) or writable by group or others, or
 * the key is not a regular file (a link is not followed), is not
 * owned by this user, has any group or other permission bit, or is not 32
 * bytes long.  Close with hg_keyring_close().
 */
HG_MUST_CHECK int hg_keyring_open(struct hg_keyring **out,
    const char *state_dir, char *err, size_t err_len);

/* A keyring over the given key, for tests and the fuzz target. */
HG_MUST_CHECK int hg_keyring_from_key(struct hg_keyring **out,
    const uint8_t key[HG_SECRET_KEY_BYTES]);

/* Wipes the key and frees the keyring; NULL is fine. */
void hg_keyring_close(struct hg_keyring *);

/*
 * Seals plain[0..plain_len) for NAME (1..HG_SECRET_NAME_MAX bytes) into
 * TOKEN, a NUL-terminated "hgsec1:..." of at most
 * HG_SECRET_TOKEN_SIZE(plain_len) bytes.  Returns 0, -EINVAL (a name or
 * length out of range) or -ENOSPC (token_len too small).
 */
HG_MUST_CHECK int hg_secret_seal(const struct hg_keyring *,
    const char *name, const void *plain, size_t plain_len, char *token,
    size_t token_len, char *err, size_t err_len);

/*
 * Opens TOKEN (token_len bytes of untrusted text, no NUL needed) sealed
 * for NAME into plain[0..plain_cap), and sets *plain_len.  The caller
 * wipes PLAIN with sodium_memzero() once it has used it; on any failure
 * it is wiped here.  Returns 0; -EINVAL for text that is not a token
 * (err says where); -EKEYREJECTED for a token sealed under another key;
 * -EBADMSG for one that was changed or sealed for another name; -ENOSPC
 * when plain_cap is too small.
 */
HG_MUST_CHECK int hg_secret_open(const struct hg_keyring *,
    const char *name, const char *token, size_t token_len, void *plain,
    size_t plain_cap, size_t *plain_len, char *err, size_t err_len);

/*
 * The decoder alone (no key): checks the prefix, the base64 and the
 * length, and writes the raw bytes (key id, nonce, ciphertext and tag)
 * into raw[0..raw_cap).  Returns 0 or -EINVAL with the byte offset of the
 * problem in err.
 */
HG_MUST_CHECK int hg_secret_token_decode(const char *token,
    size_t token_len, uint8_t *raw, size_t raw_cap, size_t *raw_len,
    char *err, size_t err_len);

/* Whether S looks like a sealed token (its prefix only). */
bool hg_secret_is_token(const char *s);

/*
 * The member names whose values are secrets wherever they appear in a
 * JSON document, NULL-terminated: "psk", "private_key", "password", ...
 */
extern const char *const hg_secret_json_keys[];

/*
 * Replaces in DOC, in place and at any depth, the value of every member
 * named in KEYS (hg_secret_json_keys when NULL), whatever its type, and
 * every string that is a sealed token, with HG_SECRET_REDACTED.  Call it
 * on every reply, log line and export that may hold a secret, unless the
 * user asked for the secrets by name.  Returns the number of values
 * replaced, or -ENOMEM: then do not send DOC (members that could not be
 * replaced were deleted, and a DOC that is itself a token may be left).
 */
HG_MUST_CHECK int hg_secret_redact_json(json_t *doc,
    const char *const keys[]);

#endif /* HG_MGMT_SECRET_H */
