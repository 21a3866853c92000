/*
 * tests/unit/mgmt/test_secret.c: proves src/mgmt/secret.c.  Tables of
 * secrets that must come back byte for byte; every one-character change,
 * truncation and extension of a token, a wrong name and another machine's
 * key must fail to open (and leave the caller's buffer wiped); text that
 * is not a token is refused at its offset; the key file is made 0600 in a
 * 0700 directory, survives a reopen, is made once by racing processes,
 * and is refused (unchanged) when group or others can read it, when it is
 * a link or of the wrong size, or when others can write the directory;
 * redaction leaves no plaintext and no token in a document.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "mgmt/secret.h"

static const uint8_t key_a[HG_SECRET_KEY_BYTES] = { 1, 2, 3, 4, 5 };
static const uint8_t key_b[HG_SECRET_KEY_BYTES] = { 9, 8, 7, 6, 5 };

static char *
tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/hg-secret-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
rm_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static bool
all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* ------------------------------------------------------------ round trip */

static void
test_round_trip(void **state)
{
	static uint8_t big[HG_SECRET_PLAIN_MAX];
	static char long_name[HG_SECRET_NAME_MAX + 1];
	static const struct {
		const char *what;
		const char *name;
		const void *plain;
		size_t len;
	} cases[] = {
		{ "a PSK", "/ipsec/peers/0/psk", "correct horse battery", 21 },
		{ "empty", "/snmp/community", "", 0 },
		{ "binary with NULs", "k", "\0\xff\0\x01", 4 },
		{ "largest secret", "/overlay/key", big, sizeof(big) },
		{ "longest name", long_name, "x", 1 },
	};
	static char token[HG_SECRET_TOKEN_MAX], token2[HG_SECRET_TOKEN_MAX];
	static uint8_t out[HG_SECRET_PLAIN_MAX];
	struct hg_keyring *kr;
	char err[256];
	size_t n;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	memset(long_name, 'n', HG_SECRET_NAME_MAX);
	assert_int_equal(hg_keyring_from_key(&kr, key_a), 0);
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const char *what = cases[i].what;

		if (hg_secret_seal(kr, cases[i].name, cases[i].plain,
		    cases[i].len, token, HG_SECRET_TOKEN_SIZE(cases[i].len),
		    err, sizeof(err)) != 0)
			fail_msg("%s: seal: %s", what, err);
		if (!hg_secret_is_token(token) ||
		    strlen(token) + 1 > HG_SECRET_TOKEN_SIZE(cases[i].len))
			fail_msg("%s: token \"%.40s\" of %zu bytes", what,
			    token, strlen(token));
		if (cases[i].len > 3 && memmem(token, strlen(token),
		    cases[i].plain, cases[i].len) != NULL)
			fail_msg("%s: the plaintext shows in the token", what);
		if (hg_secret_open(kr, cases[i].name, token, strlen(token),
		    out, sizeof(out), &n, err, sizeof(err)) != 0)
			fail_msg("%s: open: %s", what, err);
		if (n != cases[i].len || memcmp(out, cases[i].plain, n) != 0)
			fail_msg("%s: %zu bytes back, not the %zu sealed",
			    what, n, cases[i].len);
		/* A fresh nonce each time: equal secrets do not show. */
		assert_int_equal(hg_secret_seal(kr, cases[i].name,
		    cases[i].plain, cases[i].len, token2, sizeof(token2), err,
		    sizeof(err)), 0);
		if (strcmp(token, token2) == 0)
			fail_msg("%s: sealed twice to the same token", what);
		sodium_memzero(out, sizeof(out));
	}
	hg_keyring_close(kr);
}

static void
test_limits(void **state)
{
	static char name[HG_SECRET_NAME_MAX + 2];
	static uint8_t big[HG_SECRET_PLAIN_MAX + 1];
	char token[HG_SECRET_TOKEN_SIZE(8)], err[256];
	uint8_t out[8];
	struct hg_keyring *kr;
	size_t n;

	memset(name, 'n', HG_SECRET_NAME_MAX + 1);
	assert_int_equal(hg_keyring_from_key(&kr, key_a), 0);
	assert_int_equal(hg_secret_seal(kr, name, "x", 1, token,
	    sizeof(token), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "name"));
	assert_int_equal(hg_secret_seal(kr, "", "x", 1, token, sizeof(token),
	    err, sizeof(err)), -EINVAL);
	assert_int_equal(hg_secret_seal(kr, "k", big, sizeof(big), token,
	    sizeof(token), err, sizeof(err)), -EINVAL);
	assert_int_equal(hg_secret_seal(kr, "k", "123456789", 9, token,
	    sizeof(token), err, sizeof(err)), -ENOSPC);
	assert_int_equal(hg_secret_seal(kr, "k", "12345678", 8, token,
	    sizeof(token), err, sizeof(err)), 0);
	/* Too small a buffer: refused, and what was there is wiped. */
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(hg_secret_open(kr, "k", token, strlen(token), out,
	    7, &n, err, sizeof(err)), -ENOSPC);
	assert_true(all_zero(out, 7));
	assert_int_equal(n, 0);
	hg_keyring_close(kr);
}

/* ---------------------------------------------------------- tampering */

static void
expect_refused(const struct hg_keyring *kr, const char *what,
    const char *name, const char *token, size_t len)
{
	uint8_t out[64];
	char err[256];
	size_t n = 99;
	int rc;

	memset(out, 0xaa, sizeof(out));
	rc = hg_secret_open(kr, name, token, len, out, sizeof(out), &n, err,
	    sizeof(err));
	if (rc == 0)
		fail_msg("%s: opened (%zu bytes)", what, n);
	if (rc != -EBADMSG && rc != -EINVAL && rc != -EKEYREJECTED)
		fail_msg("%s: %d, not a refusal", what, rc);
	if (!all_zero(out, sizeof(out)) || n != 0)
		fail_msg("%s: the buffer was not wiped", what);
	if (err[0] == '\0')
		fail_msg("%s: no reason", what);
}

static void
test_tamper(void **state)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	static const char plain[] = "s3cret-psk";
	char token[HG_SECRET_TOKEN_MAX], t[HG_SECRET_TOKEN_MAX + 1];
	char what[64], err[256];
	struct hg_keyring *kr, *other;
	uint8_t out[64];
	size_t len, n;

	assert_int_equal(hg_keyring_from_key(&kr, key_a), 0);
	assert_int_equal(hg_keyring_from_key(&other, key_b), 0);
	assert_int_equal(hg_secret_seal(kr, "/ipsec/peers/0/psk", plain,
	    strlen(plain), token, sizeof(token), err, sizeof(err)), 0);
	len = strlen(token);
	/* Every position, changed to two other characters. */
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 1; k <= 2; k++) {
			const char *at = strchr(b64, token[i]);
			size_t j = at != NULL ? (size_t)(at - b64) : 0;

			memcpy(t, token, len + 1);
			t[i] = b64[(j + k * 17) % (sizeof(b64) - 1)];
			snprintf(what, sizeof(what), "byte %zu changed", i);
			expect_refused(kr, what, "/ipsec/peers/0/psk", t, len);
		}
	}
	for (size_t l = 0; l < len; l++) {
		snprintf(what, sizeof(what), "cut to %zu bytes", l);
		expect_refused(kr, what, "/ipsec/peers/0/psk", token, l);
	}
	memcpy(t, token, len);
	memcpy(t + len, "A", 2);
	expect_refused(kr, "one more character", "/ipsec/peers/0/psk", t,
	    len + 1);
	expect_refused(kr, "another name", "/ipsec/peers/1/psk", token, len);
	assert_int_equal(hg_secret_open(kr, "/ipsec/peers/1/psk", token, len,
	    out, sizeof(out), &n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "/ipsec/peers/1/psk"));
	/* The error never carries the secret. */
	assert_null(strstr(err, plain));
	assert_int_equal(hg_secret_open(other, "/ipsec/peers/0/psk", token,
	    len, out, sizeof(out), &n, err, sizeof(err)), -EKEYREJECTED);
	assert_non_null(strstr(err, "another key"));
	/* Untouched, it still opens. */
	assert_int_equal(hg_secret_open(kr, "/ipsec/peers/0/psk", token, len,
	    out, sizeof(out), &n, err, sizeof(err)), 0);
	assert_memory_equal(out, plain, strlen(plain));
	hg_keyring_close(kr);
	hg_keyring_close(other);
}

static void
test_not_a_token(void **state)
{
	static const struct {
		const char *what;
		const char *text;
		const char *where;
	} cases[] = {
		{ "empty", "", "offset 0" },
		{ "plain text", "my-psk", "offset 0" },
		{ "another version", "hgsec2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "offset 0" },
		{ "prefix only", "hgsec1:", "offset 7" },
		{ "standard base64", "hgsec1:AAAA+AAA", "offset 11" },
		{ "padding", "hgsec1:AAAAAA==", "offset 13" },
		{ "space", "hgsec1:AAAA AAAA", "offset 11" },
		{ "too short", "hgsec1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "48 expected" },
	};
	uint8_t raw[128];
	char err[256];
	size_t n;

	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		int rc = hg_secret_token_decode(cases[i].text,
		    strlen(cases[i].text), raw, sizeof(raw), &n, err,
		    sizeof(err));

		if (rc != -EINVAL)
			fail_msg("%s: %d, not -EINVAL", cases[i].what, rc);
		if (strstr(err, cases[i].where) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"",
			    cases[i].what, err, cases[i].where);
	}
}

/* ------------------------------------------------------------ key file */

static void
key_path(const char *state, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", state, HG_SECRET_KEY_FILE);
}

static void
test_key_file_made(void **state)
{
	char *dir = tmpdir(), sd[128], kp[160], err[256];
	char token[HG_SECRET_TOKEN_SIZE(4)];
	struct hg_keyring *kr;
	struct stat st;
	uint8_t out[4];
	size_t n;

	/* A state directory that does not exist yet, as at first start. */
	snprintf(sd, sizeof(sd), "%s/state", dir);
	key_path(sd, kp, sizeof(kp));
	if (hg_keyring_open(&kr, sd, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	assert_int_equal(stat(sd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(kp, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, HG_SECRET_KEY_BYTES);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(hg_secret_seal(kr, "k", "psk!", 4, token,
	    sizeof(token), err, sizeof(err)), 0);
	hg_keyring_close(kr);
	/* Only the key is left: no temporary file beside it. */
	snprintf(err, sizeof(err), "test $(ls -A '%s' | wc -l) -eq 1", sd);
	assert_int_equal(system(err), 0);
	/* The next start reads the same key. */
	if (hg_keyring_open(&kr, sd, err, sizeof(err)) != 0)
		fail_msg("reopen: %s", err);
	assert_int_equal(hg_secret_open(kr, "k", token, strlen(token), out,
	    sizeof(out), &n, err, sizeof(err)), 0);
	assert_memory_equal(out, "psk!", 4);
	hg_keyring_close(kr);
	rm_tree(dir);
}

static void
expect_open_refused(const char *what, const char *sd, const char *needle1,
    const char *needle2)
{
	struct hg_keyring *kr = (struct hg_keyring *)&kr;
	char err[256] = "";
	int rc;

	rc = hg_keyring_open(&kr, sd, err, sizeof(err));
	if (rc == 0)
		fail_msg("%s: the keyring opened", what);
	if (kr != NULL)
		fail_msg("%s: *out not cleared", what);
	if (strstr(err, needle1) == NULL ||
	    (needle2 != NULL && strstr(err, needle2) == NULL))
		fail_msg("%s: \"%s\" does not name \"%s\" and \"%s\"", what,
		    err, needle1, needle2 != NULL ? needle2 : "");
}

static void
test_key_file_refused(void **state)
{
	static const struct {
		const char *what;
		mode_t key_mode;
		mode_t dir_mode;
		const char *says;
	} modes[] = {
		{ "group-readable key", 0640, 0700, "0640" },
		{ "world-readable key", 0604, 0700, "0604" },
		{ "group-writable key", 0620, 0700, "0620" },
		{ "executable by others", 0601, 0700, "0601" },
		{ "group-writable directory", 0600, 0770, "0770" },
		{ "world-writable directory", 0600, 0703, "0703" },
	};
	char *dir = tmpdir(), kp[160], lp[160], err[256];
	uint8_t before[HG_SECRET_KEY_BYTES], after[HG_SECRET_KEY_BYTES];
	struct hg_keyring *kr;
	int fd;

	key_path(dir, kp, sizeof(kp));
	assert_int_equal(chmod(dir, 0700), 0);
	if (hg_keyring_open(&kr, dir, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	hg_keyring_close(kr);
	assert_true((fd = open(kp, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, before, sizeof(before)), sizeof(before));
	close(fd);
	for (size_t i = 0; i < HG_ARRAY_SIZE(modes); i++) {
		assert_int_equal(chmod(kp, modes[i].key_mode), 0);
		assert_int_equal(chmod(dir, modes[i].dir_mode), 0);
		expect_open_refused(modes[i].what, dir, modes[i].says,
		    modes[i].dir_mode != 0700 ? dir : kp);
	}
	assert_int_equal(chmod(dir, 0700), 0);
	/* Refusing changed nothing: the same key, still 0600 once fixed. */
	assert_int_equal(chmod(kp, 0600), 0);
	assert_true((fd = open(kp, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, after, sizeof(after)), sizeof(after));
	close(fd);
	assert_memory_equal(before, after, sizeof(before));
	/* Owner-read-only is fine. */
	assert_int_equal(chmod(kp, 0400), 0);
	if (hg_keyring_open(&kr, dir, err, sizeof(err)) != 0)
		fail_msg("0400: %s", err);
	hg_keyring_close(kr);
	/* A symbolic link is not followed. */
	snprintf(lp, sizeof(lp), "%s/real.key", dir);
	assert_int_equal(rename(kp, lp), 0);
	assert_int_equal(symlink(lp, kp), 0);
	expect_open_refused("symbolic link", dir, kp, "symbolic link");
	assert_int_equal(unlink(kp), 0);
	/* A key of the wrong size is not padded or cut. */
	assert_true((fd = open(kp, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	expect_open_refused("short key", dir, kp, "5 bytes");
	assert_int_equal(unlink(kp), 0);
	/* A directory another user owns, when we may give it away (root). */
	if (chown(dir, 65534, 65534) == 0) {
		expect_open_refused("directory of another user", dir, dir,
		    "uid 65534");
		assert_int_equal(access(kp, F_OK), -1);	/* no key made */
		assert_int_equal(chown(dir, geteuid(), getegid()), 0);
	} else
		print_message("skipped the other user's directory: not "
		    "root\n");
	rm_tree(dir);
}

/* Four processes open a fresh state directory at once: one key wins and
 * all of them seal under it. */
static void
test_key_file_race(void **state)
{
	enum { PROCS = 4 };
	char *dir = tmpdir(), sd[128], err[256];
	char token[PROCS][HG_SECRET_TOKEN_SIZE(1)];
	struct hg_keyring *kr;
	int fds[PROCS][2], status;
	pid_t pid[PROCS];
	uint8_t out[1];
	size_t n;

	snprintf(sd, sizeof(sd), "%s/state", dir);
	for (int i = 0; i < PROCS; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			char t[sizeof(token[0])], e[256];
			uint8_t c = (uint8_t)('a' + i);

			if (hg_keyring_open(&kr, sd, e, sizeof(e)) != 0 ||
			    hg_secret_seal(kr, "k", &c, 1, t, sizeof(t), e,
			    sizeof(e)) != 0) {
				fprintf(stderr, "child %d: %s\n", i, e);
				_exit(1);
			}
			if (write(fds[i][1], t, sizeof(t)) != sizeof(t))
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < PROCS; i++) {
		assert_int_equal(read(fds[i][0], token[i], sizeof(token[i])),
		    sizeof(token[i]));
		close(fds[i][0]);
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (hg_keyring_open(&kr, sd, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	for (int i = 0; i < PROCS; i++) {
		if (hg_secret_open(kr, "k", token[i], strlen(token[i]), out,
		    sizeof(out), &n, err, sizeof(err)) != 0)
			fail_msg("process %d sealed under another key: %s", i,
			    err);
		assert_int_equal(out[0], 'a' + i);
	}
	hg_keyring_close(kr);
	rm_tree(dir);
}

/* ------------------------------------------------------------ redaction */

static void
test_redact(void **state)
{
	static const char *const custom[] = { "token_value", NULL };
	static const struct {
		const char *what;
		const char *doc;
		const char *const *keys;
		int replaced;
		const char *kept;	/* a value that must stay */
	} cases[] = {
		{ "top-level psk", "{\"name\":\"p1\",\"psk\":\"PLAIN1\"}", NULL,
		  1, "p1" },
		{ "nested in arrays",
		  "{\"ipsec\":{\"peers\":[{\"addr\":\"192.0.2.1\","
		  "\"psk\":\"PLAIN1\"},{\"addr\":\"192.0.2.2\","
		  "\"private_key\":\"PLAIN2\"}]}}", NULL, 2, "192.0.2.2" },
		{ "a secret that is an object",
		  "{\"snmp\":{\"secret\":{\"auth\":\"PLAIN1\",\"priv\":"
		  "[\"PLAIN2\"]}}}", NULL, 1, NULL },
		{ "numbers and null are replaced too",
		  "{\"password\":12345,\"community\":null,\"port\":161}", NULL,
		  2, NULL },
		{ "a sealed token under any name",
		  "{\"comment\":\"hgsec1:PLAIN1\",\"list\":[\"hgsec1:PLAIN2\","
		  "\"keep\"]}", NULL, 2, "keep" },
		{ "a caller's own names",
		  "{\"token_value\":\"PLAIN1\",\"psk\":\"shown\"}", custom, 1,
		  "shown" },
		{ "nothing secret", "{\"key\":\"/etc/hexgate/api.key\"}", NULL,
		  0, "/etc/hexgate/api.key" },
	};

	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const char *what = cases[i].what;
		json_t *doc = json_loads(cases[i].doc, 0, NULL);
		char *text;
		int n;

		assert_non_null(doc);
		n = hg_secret_redact_json(doc, cases[i].keys);
		text = json_dumps(doc, JSON_COMPACT);
		assert_non_null(text);
		if (n != cases[i].replaced)
			fail_msg("%s: %d replaced, not %d: %s", what, n,
			    cases[i].replaced, text);
		if (strstr(text, "PLAIN") != NULL ||
		    strstr(text, "12345") != NULL ||
		    strstr(text, HG_SECRET_PREFIX) != NULL)
			fail_msg("%s: a secret is left: %s", what, text);
		if (cases[i].replaced > 0 &&
		    strstr(text, HG_SECRET_REDACTED) == NULL)
			fail_msg("%s: no placeholder: %s", what, text);
		if (cases[i].kept != NULL && strstr(text, cases[i].kept) == NULL)
			fail_msg("%s: lost \"%s\": %s", what, cases[i].kept,
			    text);
		free(text);
		json_decref(doc);
	}
}

/* A real token from a real seal, in a document, does not survive. */
static void
test_redact_sealed(void **state)
{
	char token[HG_SECRET_TOKEN_SIZE(6)], err[256], *text;
	struct hg_keyring *kr;
	json_t *doc;

	assert_int_equal(hg_keyring_from_key(&kr, key_a), 0);
	assert_int_equal(hg_secret_seal(kr, "/x/psk", "PLAIN!", 6, token,
	    sizeof(token), err, sizeof(err)), 0);
	doc = json_pack("{s:s, s:[s]}", "x", token, "y", token);
	assert_non_null(doc);
	assert_int_equal(hg_secret_redact_json(doc, NULL), 2);
	text = json_dumps(doc, JSON_COMPACT);
	assert_null(strstr(text, token + HG_SECRET_PREFIX_LEN));
	free(text);
	json_decref(doc);
	doc = json_string(token);
	assert_int_equal(hg_secret_redact_json(doc, NULL), 1);
	assert_string_equal(json_string_value(doc), HG_SECRET_REDACTED);
	json_decref(doc);
	hg_keyring_close(kr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_not_a_token),
		cmocka_unit_test(test_key_file_made),
		cmocka_unit_test(test_key_file_refused),
		cmocka_unit_test(test_key_file_race),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_redact_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
