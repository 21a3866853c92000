/*
 * src/mgmt/api_auth.c: who may use the API.  One password, for the user
 * "api" over HTTP Basic, made at first start and kept as an argon2id hash
 * (libsodium's crypto_pwhash_str); and Api-Token headers, which the
 * caller's callback checks (the config store owns tokens).  Sources that
 * keep failing are refused with a 429 for a while, and so is everyone's
 * password while all sources together fail too often.  The hash runs on
 * a checker thread of its own (api_checker_*), so the control thread
 * never waits behind a guesser.  The HTTP side is api.c; none of this
 * knows about evhttp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
 * CPUs).  That is the point against an offline attack on api.passwd, and
 * the reason a verified Authorization header is cached (keyed hash,
 * API_CACHE_TTL_S) rather than hashed again on every request: a web UI
 * makes several requests per page.  It is also why the check runs on a
 * thread of its own, behind a bounded queue and a budget of failures:
 * on the control thread 400 wrong passwords from 100 sources took 35 s
 * of its time, and the control socket waited behind them.
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
	unsigned per_min = p->login_fails_per_min != 0 ?
	    p->login_fails_per_min : HG_API_LOGIN_FAILS_MIN_DEFAULT;

	if (sodium_init() < 0) {
		snprintf(err, err_len, "libsodium failed to initialise");
		return -EIO;
	}
	a->token_ok = p->token_ok;
	a->token_arg = p->token_arg;
	a->budget_interval_ns = 60 * HG_NS_PER_S / per_min;
	a->budget_burst = p->login_fail_burst != 0 ? p->login_fail_burst :
	    HG_API_LOGIN_FAIL_BURST_DEFAULT;
	a->max_checks = p->max_login_checks != 0 ? p->max_login_checks :
	    HG_API_MAX_LOGIN_CHECKS_DEFAULT;
	randombytes_buf(a->cache_key, sizeof(a->cache_key));
	/* fails != NULL: the rest is set up too (see api_auth_free()). */
	a->fails = calloc(API_FAIL_SLOTS, sizeof(*a->fails));
	if (a->fails == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	TAILQ_INIT(&a->queue);
	TAILQ_INIT(&a->done);
	a->done_fd = -1;
	pthread_mutex_init(&a->mu, NULL);	/* cannot fail on Linux */
	pthread_cond_init(&a->cv, NULL);
	return password_load(a, p, err, err_len);
}

void
api_auth_free(struct api_auth *a)
{
	struct api_login_list left;
	struct api_login *l;

	if (a->fails != NULL) {
		api_checker_stop(a);
		TAILQ_INIT(&left);
		api_login_take(a, &left);
		while ((l = TAILQ_FIRST(&left)) != NULL) {
			TAILQ_REMOVE(&left, l, entry);
			api_login_free(l);
		}
		if (a->done_fd >= 0)
			close(a->done_fd);
		a->done_fd = -1;
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
	}
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

/* A host usually has a whole IPv6 /64 to pick addresses from. */
void
api_source_key(const char *peer, uint8_t key[16])
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

/* --- the failure budget of all sources --- */

/*
 * GCRA: each failed check moves tat one interval on; a check may start
 * while tat is less than burst intervals ahead of now.  The interval is
 * taken before the check (so that checks running at once cannot overdraw
 * it) and given back when the password was right.
 */
static bool
budget_take(struct api_auth *a, uint64_t now_ns, unsigned *retry_s)
{
	uint64_t tat = HG_MAX(a->budget_tat_ns, now_ns);
	uint64_t limit = now_ns + (uint64_t)a->budget_burst *
	    a->budget_interval_ns;

	if (tat + a->budget_interval_ns > limit) {
		*retry_s = (unsigned)((tat + a->budget_interval_ns - limit +
		    HG_NS_PER_S - 1) / HG_NS_PER_S);
		return false;
	}
	a->budget_tat_ns = tat + a->budget_interval_ns;
	return true;
}

static void
budget_give_back(struct api_auth *a)
{
	a->budget_tat_ns -= HG_MIN(a->budget_tat_ns, a->budget_interval_ns);
}

/* --- one request --- */

/*
 * "Basic base64(api:PASSWORD)": from the cache (API_AUTH_OK), refused on
 * its form (API_AUTH_BAD), or a login to check (API_AUTH_CHECK) unless
 * the budget or the queue says not now.
 */
static enum api_auth_result
basic_begin(struct api_auth *a, const char *peer, const uint8_t key[16],
    const char *hdr, uint64_t now_ns, unsigned *retry_s,
    struct api_login **login)
{
	unsigned char h[crypto_generichash_BYTES], bin[BASIC_HEADER_MAX];
	size_t hdr_len = strlen(hdr), bin_len, user_len = strlen(HG_API_USER);
	enum api_auth_result res = API_AUTH_BAD;
	struct api_login *l;
	const char *b64;

	if (hdr_len > BASIC_HEADER_MAX || strncasecmp(hdr, "Basic ", 6) != 0)
		return API_AUTH_BAD;
	/* The key is secret, so the cache holds nothing a reader of memory
	 * could replay, and equal headers still find each other. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)hdr, hdr_len,
	    a->cache_key, sizeof(a->cache_key));
	if (cache_has(a, h, now_ns))
		return API_AUTH_OK;
	for (b64 = hdr + 6; *b64 == ' '; b64++)
		;
	if (sodium_base642bin(bin, sizeof(bin) - 1, b64, strlen(b64), NULL,
	    &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (bin_len <= user_len || memcmp(bin, HG_API_USER, user_len) != 0 ||
	    bin[user_len] != ':')
		goto out;
	/* The queue first: a refusal for it costs no budget. */
	if (a->n_checks >= a->max_checks) {
		*retry_s = 1;
		res = API_AUTH_BUSY;
		goto out;
	}
	if (!budget_take(a, now_ns, retry_s)) {
		res = API_AUTH_LIMITED_ALL;
		goto out;
	}
	if ((l = calloc(1, sizeof(*l) + bin_len - user_len)) == NULL) {
		budget_give_back(a);
		*retry_s = 1;
		res = API_AUTH_BUSY;
		goto out;
	}
	memcpy(l->h, h, sizeof(l->h));
	memcpy(l->key, key, sizeof(l->key));
	snprintf(l->peer, sizeof(l->peer), "%s", peer != NULL ? peer : "?");
	l->pw_len = bin_len - user_len - 1;
	memcpy(l->pw, bin + user_len + 1, l->pw_len);
	a->n_checks++;
	*login = l;
	res = API_AUTH_CHECK;
out:
	sodium_memzero(bin, sizeof(bin));
	return res;
}

enum api_auth_result
api_auth_begin(struct api_auth *a, const char *peer, const char *authorization,
    const char *token, uint64_t now_ns, unsigned *retry_after_s,
    const char **principal, struct api_login **login)
{
	enum api_auth_result res;
	struct api_fail *f;
	uint8_t key[16];

	*login = NULL;
	/* Before any hashing: a limited source costs us no argon2id. */
	api_source_key(peer, key);
	f = fail_find(a, key, false);
	if (f != NULL && fail_is_limited(f, now_ns, retry_after_s))
		return API_AUTH_LIMITED;
	if (token != NULL) {
		*principal = "token";
		res = a->token_ok != NULL && token[0] != '\0' &&
		    a->token_ok(token, a->token_arg) ? API_AUTH_OK :
		    API_AUTH_BAD;
	} else if (authorization != NULL) {
		*principal = HG_API_USER;
		res = basic_begin(a, peer, key, authorization, now_ns,
		    retry_after_s, login);
	} else
		return API_AUTH_MISSING;
	if (res == API_AUTH_BAD)
		fail_record(a, peer, key, now_ns);
	return res;
}

void
api_login_check(const struct api_auth *a, struct api_login *l)
{
	l->ok = crypto_pwhash_str_verify(a->hash, l->pw, l->pw_len) == 0;
	sodium_memzero(l->pw, l->pw_len);
}

enum api_auth_result
api_auth_end(struct api_auth *a, struct api_login *l, uint64_t now_ns)
{
	a->n_checks--;
	if (l->ok) {
		budget_give_back(a);
		cache_add(a, l->h, now_ns);
		return API_AUTH_OK;
	}
	fail_record(a, l->peer, l->key, now_ns);
	return API_AUTH_BAD;
}

void
api_login_free(struct api_login *l)
{
	if (l == NULL)
		return;
	sodium_memzero(l->pw, l->pw_len);
	free(l);
}

enum api_auth_result
api_auth_check(struct api_auth *a, const char *peer, const char *authorization,
    const char *token, uint64_t now_ns, unsigned *retry_after_s,
    const char **principal)
{
	struct api_login *l;
	enum api_auth_result res;

	res = api_auth_begin(a, peer, authorization, token, now_ns,
	    retry_after_s, principal, &l);
	if (res != API_AUTH_CHECK)
		return res;
	api_login_check(a, l);
	res = api_auth_end(a, l, now_ns);
	api_login_free(l);
	return res;
}

/* --- the checker thread --- */

static void *
checker_main(void *arg)
{
	struct api_auth *a = arg;
	struct api_login *l;
	uint64_t one = 1;
	ssize_t wrote;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->stop && TAILQ_EMPTY(&a->queue))
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		l = TAILQ_FIRST(&a->queue);
		TAILQ_REMOVE(&a->queue, l, entry);
		pthread_mutex_unlock(&a->mu);
		api_login_check(a, l);
		pthread_mutex_lock(&a->mu);
		TAILQ_INSERT_TAIL(&a->done, l, entry);
		/* Cannot fail short of a counter at 2^64 - 2: the control
		 * thread reads it down on every wake-up. */
		wrote = write(a->done_fd, &one, sizeof(one));
		(void)wrote;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int
api_checker_start(struct api_auth *a, char *err, size_t err_len)
{
	sigset_t all, old;
	int rc;

	a->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->done_fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "eventfd: %s", strerror(-rc));
		return rc;
	}
	/* Signals stay with the control thread, whose loop handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&a->thread, NULL, checker_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, err_len, "cannot start the password checker: "
		    "%s", strerror(rc));
		return -rc;
	}
	a->started = true;
	return 0;
}

/* Waits for a check under way; the queued ones stay, for take(). */
void
api_checker_stop(struct api_auth *a)
{
	if (!a->started)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	a->started = false;
}

int
api_login_submit(struct api_auth *a, struct api_login *l)
{
	if (!a->started)
		return -ESRCH;
	pthread_mutex_lock(&a->mu);
	TAILQ_INSERT_TAIL(&a->queue, l, entry);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void
api_login_take(struct api_auth *a, struct api_login_list *out)
{
	ssize_t got = 0;
	uint64_t n;

	/* EAGAIN is fine: a wake-up already read, take what is there. */
	if (a->done_fd >= 0)
		got = read(a->done_fd, &n, sizeof(n));
	(void)got;
	pthread_mutex_lock(&a->mu);
	TAILQ_CONCAT(out, &a->done, entry);
	if (!a->started)
		TAILQ_CONCAT(out, &a->queue, entry);
	pthread_mutex_unlock(&a->mu);
}
