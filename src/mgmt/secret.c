/*
 * src/mgmt/secret.c: the sealing of secrets behind secret.h: the key file
 * (made, checked, loaded), XChaCha20-Poly1305 through libsodium, the token
 * text, and the redaction of JSON.  Which configuration members are
 * secrets, and where their tokens are kept, is up to the modules that own
 * them; docs/security.md is the user's side of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "secret.h"

#define SECRET_AD_TAG		"hgsec1"
#define SECRET_AD_TAG_LEN	6
#define SECRET_B64		sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(HG_SECRET_KEY_BYTES ==
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(HG_SECRET_NONCE_BYTES ==
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(HG_SECRET_TAG_BYTES ==
    crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(sizeof(HG_SECRET_PREFIX) - 1 == HG_SECRET_PREFIX_LEN,
    "prefix length");

/* Lives in sodium_malloc()ed memory: guard pages, locked, wiped on free. */
struct hg_keyring {
	uint8_t key[HG_SECRET_KEY_BYTES];
	uint8_t id[HG_SECRET_KEY_ID_BYTES];
};

const char *const hg_secret_json_keys[] = {
	"auth_key", "auth_password", "community", "password", "preshared_key",
	"priv_key", "priv_password", "private_key", "psk", "secret", NULL
};

static int
secret_err(char *err, size_t err_len, int rc, const char *fmt, ...)
    HG_PRINTF(4, 5);

static int
secret_err(char *err, size_t err_len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && err_len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ------------------------------------------------------------ the key */

/*
 * The key id is a keyed hash of a constant, not of anything secret-
 * dependent that could help an attacker: it only lets a token sealed under
 * another key (another machine's, a replaced key file) fail with that
 * reason instead of looking tampered with.
 */
static int
keyring_make(struct hg_keyring **out, const uint8_t key[HG_SECRET_KEY_BYTES])
{
	static const char label[] = "hexgate secret key id";
	uint8_t h[crypto_generichash_BYTES_MIN];
	struct hg_keyring *kr;

	if (sodium_init() < 0)
		return -EIO;
	kr = sodium_malloc(sizeof(*kr));
	if (kr == NULL)
		return -ENOMEM;
	memcpy(kr->key, key, HG_SECRET_KEY_BYTES);
	if (crypto_generichash(h, sizeof(h), (const uint8_t *)label,
	    sizeof(label) - 1, kr->key, sizeof(kr->key)) != 0) {
		sodium_free(kr);
		return -EIO;
	}
	memcpy(kr->id, h, sizeof(kr->id));
	(void)sodium_mprotect_readonly(kr);	/* best effort: a guard */
	*out = kr;
	return 0;
}

int
hg_keyring_from_key(struct hg_keyring **out,
    const uint8_t key[HG_SECRET_KEY_BYTES])
{
	return keyring_make(out, key);
}

void
hg_keyring_close(struct hg_keyring *kr)
{
	if (kr != NULL)
		sodium_free(kr);	/* wipes before it unmaps */
}

/*
 * The state directory: made 0700 when missing; never owned or writable by
 * another user, who could otherwise swap the key file under us.  It may be
 * a link (to another disk): only its owner can change where it points.
 */
static int
state_dir_check(const char *dir, char *err, size_t err_len)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return secret_err(err, err_len, -errno, "%s: mkdir: %s", dir,
		    strerror(errno));
	if (stat(dir, &st) != 0)
		return secret_err(err, err_len, -errno, "%s: %s", dir,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return secret_err(err, err_len, -ENOTDIR, "%s: not a "
		    "directory", dir);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return secret_err(err, err_len, -EPERM, "%s: owned by uid %u, "
		    "who could replace the secret key; chown it to uid %u",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 022) != 0)
		return secret_err(err, err_len, -EPERM, "%s: mode %04o lets "
		    "other users replace the secret key; chmod 700 it", dir,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Checks the open key file before a byte of it is trusted. */
static int
key_file_check(int fd, const char *path, char *err, size_t err_len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return secret_err(err, err_len, -errno, "%s: fstat: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return secret_err(err, err_len, -EPERM, "%s: not a regular "
		    "file", path);
	if (st.st_uid != geteuid())
		return secret_err(err, err_len, -EPERM, "%s: owned by uid %u, "
		    "not by this user (uid %u); refusing the key", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 077) != 0)
		return secret_err(err, err_len, -EPERM, "%s: mode %04o lets "
		    "other users read the secret key; refusing it (chmod 600 "
		    "it if nobody else could have read it, else see "
		    "docs/security.md on replacing the key)", path,
		    (unsigned)(st.st_mode & 07777));
	if (st.st_size != HG_SECRET_KEY_BYTES)
		return secret_err(err, err_len, -EINVAL, "%s: %lld bytes, a "
		    "key is %d", path, (long long)st.st_size,
		    HG_SECRET_KEY_BYTES);
	return 0;
}

static int
key_read(int fd, const char *path, uint8_t key[HG_SECRET_KEY_BYTES],
    char *err, size_t err_len)
{
	size_t off = 0;
	ssize_t n;

	while (off < HG_SECRET_KEY_BYTES) {
		n = read(fd, key + off, HG_SECRET_KEY_BYTES - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return secret_err(err, err_len, -errno, "%s: read: %s",
			    path, strerror(errno));
		if (n == 0)
			return secret_err(err, err_len, -EINVAL, "%s: short "
			    "read", path);
		off += (size_t)n;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A new key: written to a temporary file, synced, then link()ed to its
 * name.  link() fails when the name exists, so of two processes making a
 * key at once one wins and the other reads the winner's; and nobody ever
 * opens a half-written key.  Returns -EEXIST when another won.
 */
static int
key_create(const char *dir, const char *path, char *err, size_t err_len)
{
	uint8_t key[HG_SECRET_KEY_BYTES];
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
	    HG_SECRET_KEY_FILE) >= (int)sizeof(tmp))
		return secret_err(err, err_len, -ENAMETOOLONG, "%s: path too "
		    "long", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)	/* mode 0600 */
		return secret_err(err, err_len, -errno, "%s: mkstemp: %s",
		    tmp, strerror(errno));
	randombytes_buf(key, sizeof(key));
	rc = write_all(fd, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc != 0) {
		(void)secret_err(err, err_len, rc, "%s: write: %s", tmp,
		    strerror(-rc));
		goto out;
	}
	if (link(tmp, path) != 0) {
		rc = -errno;
		if (rc != -EEXIST)
			(void)secret_err(err, err_len, rc, "%s: link: %s",
			    path, strerror(-rc));
	}
out:
	close(fd);
	(void)unlink(tmp);	/* the key lives on under its name */
	return rc;
}

int
hg_keyring_open(struct hg_keyring **out, const char *state_dir, char *err,
    size_t err_len)
{
	uint8_t key[HG_SECRET_KEY_BYTES];
	char path[PATH_MAX];
	int fd = -1, rc;

	*out = NULL;
	if (sodium_init() < 0)
		return secret_err(err, err_len, -EIO, "libsodium failed to "
		    "initialise");
	if (snprintf(path, sizeof(path), "%s/%s", state_dir,
	    HG_SECRET_KEY_FILE) >= (int)sizeof(path))
		return secret_err(err, err_len, -ENAMETOOLONG, "%s: path too "
		    "long", state_dir);
	if ((rc = state_dir_check(state_dir, err, err_len)) != 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		rc = key_create(state_dir, path, err, err_len);
		if (rc != 0 && rc != -EEXIST)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return secret_err(err, err_len, -errno, "%s: open: %s%s", path,
		    strerror(errno), errno == ELOOP ? " (a symbolic link; "
		    "refusing it)" : "");
	rc = key_file_check(fd, path, err, err_len);
	if (rc == 0)
		rc = key_read(fd, path, key, err, err_len);
	if (rc == 0 && (rc = keyring_make(out, key)) != 0)
		(void)secret_err(err, err_len, rc, "%s: %s", path,
		    strerror(-rc));
	sodium_memzero(key, sizeof(key));
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ tokens */

static int
name_check(const char *name, size_t *len, char *err, size_t err_len)
{
	*len = name != NULL ? strnlen(name, HG_SECRET_NAME_MAX + 1) : 0;
	if (*len == 0 || *len > HG_SECRET_NAME_MAX)
		return secret_err(err, err_len, -EINVAL, "a secret's name is "
		    "1 to %d bytes", HG_SECRET_NAME_MAX);
	return 0;
}

/* "hgsec1" | key id | name: what the tag covers besides the ciphertext. */
static size_t
secret_ad(uint8_t *ad, const uint8_t id[HG_SECRET_KEY_ID_BYTES],
    const char *name, size_t name_len)
{
	memcpy(ad, SECRET_AD_TAG, SECRET_AD_TAG_LEN);
	memcpy(ad + SECRET_AD_TAG_LEN, id, HG_SECRET_KEY_ID_BYTES);
	memcpy(ad + SECRET_AD_TAG_LEN + HG_SECRET_KEY_ID_BYTES, name,
	    name_len);
	return SECRET_AD_TAG_LEN + HG_SECRET_KEY_ID_BYTES + name_len;
}

bool
hg_secret_is_token(const char *s)
{
	return s != NULL &&
	    strncmp(s, HG_SECRET_PREFIX, HG_SECRET_PREFIX_LEN) == 0;
}

int
hg_secret_seal(const struct hg_keyring *kr, const char *name,
    const void *plain, size_t plain_len, char *token, size_t token_len,
    char *err, size_t err_len)
{
	uint8_t ad[SECRET_AD_TAG_LEN + HG_SECRET_KEY_ID_BYTES +
	    HG_SECRET_NAME_MAX];
	uint8_t *raw = NULL, *nonce, *ct;
	size_t name_len, ad_len, raw_len;
	int rc;

	if ((rc = name_check(name, &name_len, err, err_len)) != 0)
		return rc;
	if (plain_len > HG_SECRET_PLAIN_MAX)
		return secret_err(err, err_len, -EINVAL, "a secret is at most "
		    "%d bytes, not %zu", HG_SECRET_PLAIN_MAX, plain_len);
	if (token_len < HG_SECRET_TOKEN_SIZE(plain_len))
		return secret_err(err, err_len, -ENOSPC, "token buffer of %zu "
		    "bytes, %zu needed", token_len,
		    (size_t)HG_SECRET_TOKEN_SIZE(plain_len));
	raw_len = HG_SECRET_RAW_LEN(plain_len);
	if ((raw = malloc(raw_len)) == NULL)
		return secret_err(err, err_len, -ENOMEM, "out of memory");
	memcpy(raw, kr->id, HG_SECRET_KEY_ID_BYTES);
	nonce = raw + HG_SECRET_KEY_ID_BYTES;
	ct = nonce + HG_SECRET_NONCE_BYTES;
	/* 192 random bits: no counter to keep, no reuse to fear. */
	randombytes_buf(nonce, HG_SECRET_NONCE_BYTES);
	ad_len = secret_ad(ad, kr->id, name, name_len);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, plain,
	    plain_len, ad, ad_len, NULL, nonce, kr->key);
	memcpy(token, HG_SECRET_PREFIX, HG_SECRET_PREFIX_LEN);
	sodium_bin2base64(token + HG_SECRET_PREFIX_LEN,
	    token_len - HG_SECRET_PREFIX_LEN, raw, raw_len, SECRET_B64);
	free(raw);	/* ciphertext only: nothing to wipe */
	return 0;
}

int
hg_secret_token_decode(const char *token, size_t token_len, uint8_t *raw,
    size_t raw_cap, size_t *raw_len, char *err, size_t err_len)
{
	const char *b64, *end;
	size_t b64_len, n = 0;

	*raw_len = 0;
	if (token_len < HG_SECRET_PREFIX_LEN ||
	    memcmp(token, HG_SECRET_PREFIX, HG_SECRET_PREFIX_LEN) != 0)
		return secret_err(err, err_len, -EINVAL, "offset 0: not a "
		    "sealed secret (no \"%s\" prefix)", HG_SECRET_PREFIX);
	b64 = token + HG_SECRET_PREFIX_LEN;
	b64_len = token_len - HG_SECRET_PREFIX_LEN;
	/* Longer than the largest token: refused before it is decoded. */
	if (b64_len > HG_SECRET_TOKEN_MAX - 1 - HG_SECRET_PREFIX_LEN)
		return secret_err(err, err_len, -EINVAL, "offset %d: %zu "
		    "bytes of base64, more than any secret's", HG_SECRET_PREFIX_LEN,
		    b64_len);
	if (sodium_base642bin(raw, raw_cap, b64, b64_len, NULL, &n, &end,
	    SECRET_B64) != 0 || end != b64 + b64_len)
		return secret_err(err, err_len, -EINVAL, "offset %zu: not "
		    "URL-safe base64 without padding", (size_t)(HG_SECRET_PREFIX_LEN
		    + (end != NULL ? (size_t)(end - b64) : 0)));
	if (n < HG_SECRET_RAW_LEN(0))
		return secret_err(err, err_len, -EINVAL, "offset %d: %zu bytes "
		    "sealed, at least %d expected", HG_SECRET_PREFIX_LEN, n,
		    HG_SECRET_RAW_LEN(0));
	*raw_len = n;
	return 0;
}

int
hg_secret_open(const struct hg_keyring *kr, const char *name,
    const char *token, size_t token_len, void *plain, size_t plain_cap,
    size_t *plain_len, char *err, size_t err_len)
{
	uint8_t ad[SECRET_AD_TAG_LEN + HG_SECRET_KEY_ID_BYTES +
	    HG_SECRET_NAME_MAX];
	uint8_t *raw = NULL;
	const uint8_t *nonce, *ct;
	size_t name_len, ad_len, raw_len, ct_len;
	unsigned long long n;
	int rc;

	*plain_len = 0;
	if ((rc = name_check(name, &name_len, err, err_len)) != 0)
		goto out;
	if ((raw = malloc(HG_SECRET_RAW_LEN(HG_SECRET_PLAIN_MAX))) == NULL) {
		rc = secret_err(err, err_len, -ENOMEM, "out of memory");
		goto out;
	}
	rc = hg_secret_token_decode(token, token_len, raw,
	    HG_SECRET_RAW_LEN(HG_SECRET_PLAIN_MAX), &raw_len, err, err_len);
	if (rc != 0)
		goto out;
	if (sodium_memcmp(raw, kr->id, HG_SECRET_KEY_ID_BYTES) != 0) {
		rc = secret_err(err, err_len, -EKEYREJECTED, "secret \"%s\" "
		    "was sealed under another key than this state "
		    "directory's", name);
		goto out;
	}
	nonce = raw + HG_SECRET_KEY_ID_BYTES;
	ct = nonce + HG_SECRET_NONCE_BYTES;
	ct_len = raw_len - HG_SECRET_KEY_ID_BYTES - HG_SECRET_NONCE_BYTES;
	if (ct_len - HG_SECRET_TAG_BYTES > plain_cap) {
		rc = secret_err(err, err_len, -ENOSPC, "secret \"%s\": %zu "
		    "bytes, the buffer holds %zu", name,
		    ct_len - HG_SECRET_TAG_BYTES, plain_cap);
		goto out;
	}
	ad_len = secret_ad(ad, kr->id, name, name_len);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, ct,
	    ct_len, ad, ad_len, nonce, kr->key) != 0) {
		rc = secret_err(err, err_len, -EBADMSG, "secret \"%s\" does "
		    "not open: changed, or sealed for another name", name);
		goto out;
	}
	*plain_len = (size_t)n;
out:
	if (rc != 0 && plain != NULL)
		sodium_memzero(plain, plain_cap);
	free(raw);	/* ciphertext only */
	return rc;
}

/* ---------------------------------------------------------- redaction */

static bool
key_is_secret(const char *key, const char *const keys[])
{
	for (size_t i = 0; keys[i] != NULL; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static bool
value_is_token(const json_t *v)
{
	return json_is_string(v) && hg_secret_is_token(json_string_value(v));
}

static int redact(json_t *v, const char *const keys[]);

/*
 * A member that cannot be replaced (out of memory) is deleted instead:
 * the document may then lack a member, but never shows a secret.
 */
static int
redact_object(json_t *obj, const char *const keys[])
{
	const char *key;
	json_t *v, *stars;
	void *it;
	int n = 0, rc, failed = 0;

	for (it = json_object_iter(obj); it != NULL; ) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (key_is_secret(key, keys) || value_is_token(v)) {
			stars = json_string(HG_SECRET_REDACTED);
			if (stars == NULL ||
			    json_object_iter_set_new(obj, it, stars) != 0) {
				/* Deleting invalidates the iterator. */
				it = json_object_iter_next(obj, it);
				json_object_del(obj, key);
				failed = 1;
				continue;
			}
			n++;
		} else if ((rc = redact(v, keys)) < 0)
			failed = 1;
		else
			n += rc;
		it = json_object_iter_next(obj, it);
	}
	return failed ? -ENOMEM : n;
}

static int
redact_array(json_t *arr, const char *const keys[])
{
	json_t *v, *stars;
	size_t i = 0;
	int n = 0, rc, failed = 0;

	while (i < json_array_size(arr)) {
		v = json_array_get(arr, i);
		if (value_is_token(v)) {
			stars = json_string(HG_SECRET_REDACTED);
			if (stars == NULL ||
			    json_array_set_new(arr, i, stars) != 0) {
				(void)json_array_remove(arr, i);
				failed = 1;
				continue;
			}
			n++;
		} else if ((rc = redact(v, keys)) < 0)
			failed = 1;
		else
			n += rc;
		i++;
	}
	return failed ? -ENOMEM : n;
}

static int
redact(json_t *v, const char *const keys[])
{
	if (json_is_object(v))
		return redact_object(v, keys);
	if (json_is_array(v))
		return redact_array(v, keys);
	return 0;
}

int
hg_secret_redact_json(json_t *doc, const char *const keys[])
{
	if (value_is_token(doc))
		return json_string_set(doc, HG_SECRET_REDACTED) == 0 ? 1 :
		    -ENOMEM;
	return redact(doc, keys != NULL ? keys : hg_secret_json_keys);
}
