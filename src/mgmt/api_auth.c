/*
 * src/mgmt/api_auth.c: who may use the API.  One password, for the user
 * "api" over HTTP Basic, made at first start and kept as an argon2id hash
 * (libsodium's crypto_pwhash_str); and Api-Token headers, which the
 * caller's callback checks (the config store owns tokens).  Sources that
 * keep failing are refused with a 429 for a while.  The HTTP side is
 * api.c; none of this knows about evhttp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/hg_time.h"
#include "../lib/log.h"
#include "api_priv.h"

/* Longest Authorization header we decode; a real one is under 100. */
#define BASIC_HEADER_MAX	1024

static const char password_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/*
 * argon2id with libsodium's "interactive" limits: 2 passes over 64 MiB,
 * some tens of milliseconds of one core per hash (up to 0.1 s on small
 * CPUs), on the control thread.  That is the point against an
 * offline attack on api.passwd, and the reason a verified Authorization
 * header is cached (keyed hash, API_CACHE_TTL_S) rather than hashed again
 * on every request: a web UI makes several requests per page.
 */
static int
password_make(struct api_auth *a, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	char pw[API_PASSWORD_LEN + 2], path[512];
	size_t i;
	int rc;

	for (i = 0; i < API_PASSWORD_LEN; i++)
		pw[i] = password_chars[randombytes_uniform(
		    sizeof(password_chars) - 1)];
	pw[i] = '\0';
	if (crypto_pwhash_str(a->hash, pw, API_PASSWORD_LEN,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, err_len, "argon2id: out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/*
	 * Two files, two jobs.  api.passwd holds the hash, the only thing the
	 * server reads back.  api.password holds the password in clear for
	 * root, because the log line below scrolls away or goes to a
	 * journal other users read less carefully; the operator may delete
	 * it once read.  The clear one is written first so that a crash
	 * between the two makes a new pair at the next start instead of a
	 * hash whose password nobody has.
	 */
	pw[API_PASSWORD_LEN] = '\n';
	rc = api_file_write(p->state_dir, HG_API_PASSWORD_FILE, pw,
	    API_PASSWORD_LEN + 1, err, err_len);
	pw[API_PASSWORD_LEN] = '\0';
	if (rc == 0) {
		size_t n = strlen(a->hash);

		a->hash[n] = '\n';
		rc = api_file_write(p->state_dir, HG_API_HASH_FILE, a->hash,
		    n + 1, err, err_len);
		a->hash[n] = '\0';
	}
	if (rc != 0)
		goto out;
	/* Shown once, by design: the only time the server knows it. */
	snprintf(path, sizeof(path), "%s/%s", p->state_dir,
	    HG_API_PASSWORD_FILE);
	hg_log_warnx("api: first start: the API password (user \"%s\") is "
	    "%s; it is shown only now and kept for root in %s", HG_API_USER,
	    pw, path);
out:
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

static int
password_load(struct api_auth *a, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	size_t len;
	int rc;

	rc = api_file_read(p->state_dir, HG_API_HASH_FILE, a->hash,
	    sizeof(a->hash), &len, err, err_len);
	if (rc == -ENOENT)
		return password_make(a, p, err, err_len);
	if (rc != 0)
		return rc;
	a->hash[strcspn(a->hash, "\r\n")] = '\0';
	if (strncmp(a->hash, "$argon2id$", 10) != 0) {
		snprintf(err, err_len, "%s/%s: not an argon2id hash (delete "
		    "it to make a new password)", p->state_dir,
		    HG_API_HASH_FILE);
		return -EINVAL;
	}
	return 0;
}

int
api_auth_init(struct api_auth *a, const struct hg_api_params *p, char *err,
    size_t err_len)
{
	if (sodium_init() < 0) {
		snprintf(err, err_len, "libsodium failed to initialise");
		return -EIO;
	}
	a->token_ok = p->token_ok;
	a->token_arg = p->token_arg;
	randombytes_buf(a->cache_key, sizeof(a->cache_key));
	a->fails = calloc(API_FAIL_SLOTS, sizeof(*a->fails));
	if (a->fails == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return password_load(a, p, err, err_len);
}

void
api_auth_free(struct api_auth *a)
{
	free(a->fails);
	a->fails = NULL;
	sodium_memzero(a->cache, sizeof(a->cache));
	sodium_memzero(a->cache_key, sizeof(a->cache_key));
}

void
api_auth_flush(struct api_auth *a)
{
	sodium_memzero(a->cache, sizeof(a->cache));
}

/*
 * The key failures are counted under: an IPv4 address, or the /64 of an
 * IPv6 one (a host usually has a whole /64 to pick addresses from).
 */
static void
source_key(const char *peer, uint8_t key[16])
{
	struct in6_addr a6;
	struct in_addr a4;

	memset(key, 0, 16);
	if (peer == NULL)
		return;
	if (inet_pton(AF_INET, peer, &a4) == 1) {
		key[10] = key[11] = 0xff;	/* v4-mapped */
		memcpy(key + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, peer, &a6) == 1) {
		memcpy(key, &a6, 16);
		if (!IN6_IS_ADDR_V4MAPPED(&a6))
			memset(key + 8, 0, 8);
	}
}

static struct api_fail *
fail_find(struct api_auth *a, const uint8_t key[16], bool create)
{
	struct api_fail *lru = &a->fails[0];

	for (size_t i = 0; i < API_FAIL_SLOTS; i++) {
		struct api_fail *f = &a->fails[i];

		if (f->used && memcmp(f->key, key, 16) == 0)
			return f;
		if (!f->used || (lru->used && f->seen_ns < lru->seen_ns))
			lru = f;
	}
	if (!create)
		return NULL;
	memset(lru, 0, sizeof(*lru));
	lru->used = true;
	memcpy(lru->key, key, 16);
	return lru;
}

/* Whole seconds until the oldest of the last API_FAIL_MAX ages out. */
static bool
fail_is_limited(const struct api_fail *f, uint64_t now_ns, unsigned *retry_s)
{
	uint64_t window_ns = API_FAIL_WINDOW_S * HG_NS_PER_S, oldest;

	if (f->n < API_FAIL_MAX)
		return false;
	oldest = f->fail_ns[f->head];
	if (now_ns - oldest >= window_ns)
		return false;
	*retry_s = (unsigned)((oldest + window_ns - now_ns + HG_NS_PER_S - 1) /
	    HG_NS_PER_S);
	return true;
}

static void
fail_record(struct api_auth *a, const char *peer, const uint8_t key[16],
    uint64_t now_ns)
{
	struct api_fail *f = fail_find(a, key, true);
	unsigned retry_s;

	f->seen_ns = now_ns;
	f->fail_ns[f->head] = now_ns;
	f->head = (uint8_t)((f->head + 1) % API_FAIL_MAX);
	if (f->n < API_FAIL_MAX)
		f->n++;
	if (fail_is_limited(f, now_ns, &retry_s))
		hg_log_warnx("api: %s: %d failed logins in %d s; refusing its "
		    "logins for %u s", peer, API_FAIL_MAX, API_FAIL_WINDOW_S,
		    retry_s);
	else
		hg_log_info("api: %s: failed login", peer);
}

static bool
cache_has(struct api_auth *a, const unsigned char h[], uint64_t now_ns)
{
	for (size_t i = 0; i < API_CACHE_SLOTS; i++)
		if (a->cache[i].expires_ns > now_ns &&
		    sodium_memcmp(a->cache[i].h, h, sizeof(a->cache[i].h)) == 0)
			return true;
	return false;
}

static void
cache_add(struct api_auth *a, const unsigned char h[], uint64_t now_ns)
{
	struct api_cache_slot *old = &a->cache[0];

	for (size_t i = 1; i < API_CACHE_SLOTS; i++)
		if (a->cache[i].expires_ns < old->expires_ns)
			old = &a->cache[i];
	memcpy(old->h, h, sizeof(old->h));
	old->expires_ns = now_ns + API_CACHE_TTL_S * HG_NS_PER_S;
}

/* "Basic base64(api:PASSWORD)" against the hash, or the cache. */
static bool
basic_ok(struct api_auth *a, const char *hdr, uint64_t now_ns)
{
	unsigned char h[crypto_generichash_BYTES], bin[BASIC_HEADER_MAX];
	size_t hdr_len = strlen(hdr), bin_len, user_len = strlen(HG_API_USER);
	const char *b64;
	bool ok = false;

	if (hdr_len > BASIC_HEADER_MAX || strncasecmp(hdr, "Basic ", 6) != 0)
		return false;
	/* The key is secret, so the cache holds nothing a reader of memory
	 * could replay, and equal headers still find each other. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)hdr, hdr_len,
	    a->cache_key, sizeof(a->cache_key));
	if (cache_has(a, h, now_ns))
		return true;
	for (b64 = hdr + 6; *b64 == ' '; b64++)
		;
	if (sodium_base642bin(bin, sizeof(bin) - 1, b64, strlen(b64), NULL,
	    &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (bin_len <= user_len || memcmp(bin, HG_API_USER, user_len) != 0 ||
	    bin[user_len] != ':')
		goto out;
	ok = crypto_pwhash_str_verify(a->hash,
	    (const char *)bin + user_len + 1, bin_len - user_len - 1) == 0;
	if (ok)
		cache_add(a, h, now_ns);
out:
	sodium_memzero(bin, sizeof(bin));
	return ok;
}

enum api_auth_result
api_auth_check(struct api_auth *a, const char *peer, const char *authorization,
    const char *token, uint64_t now_ns, unsigned *retry_after_s,
    const char **principal)
{
	struct api_fail *f;
	uint8_t key[16];
	bool ok;

	/* Before any hashing: a limited source costs us no argon2id. */
	source_key(peer, key);
	f = fail_find(a, key, false);
	if (f != NULL && fail_is_limited(f, now_ns, retry_after_s))
		return API_AUTH_LIMITED;
	if (token != NULL) {
		ok = a->token_ok != NULL && token[0] != '\0' &&
		    a->token_ok(token, a->token_arg);
		*principal = "token";
	} else if (authorization != NULL) {
		ok = basic_ok(a, authorization, now_ns);
		*principal = HG_API_USER;
	} else
		return API_AUTH_MISSING;
	if (ok)
		return API_AUTH_OK;
	fail_record(a, peer, key, now_ns);
	return API_AUTH_BAD;
}
