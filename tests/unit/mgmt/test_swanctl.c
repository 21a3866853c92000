/*
 * tests/unit/mgmt/test_swanctl.c: swanctl.conf into hexgate's JSON
 * (src/mgmt/swanctl.c) and "hexctl ipsec import".
 *
 * The swanctl.conf the shared strongSwan interop script generates, and a
 * richer hand-written one (strongSwan 5.9.8 loads both), convert into
 * the JSON written by hand beside them (tests/unit/mgmt/swanctl/), with
 * the warnings listed there; every syntax and value error is refused
 * with its line and column and no output; merging, empty values, CRLF
 * and a small warnings buffer behave as the header says; hexctl prints
 * the document, the warnings and the errors as a user sees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mgmt/swanctl.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static char warnings[8192], err[512];

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static char *
fixture(const char *name, size_t *len)
{
	const char *dir = getenv("HG_SWANCTL_DIR");
	char path[1024];

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return slurp(path, len);
}

static json_t *
import_ok(const char *name, const char *text, size_t len, int n_warn)
{
	json_t *out = NULL;
	int rc;

	rc = hg_swanctl_import(name, text, len, &out, warnings,
	    sizeof(warnings), err, sizeof(err));
	if (rc < 0)
		fail_msg("import: %d: %s", rc, err);
	if (n_warn >= 0 && rc != n_warn)
		fail_msg("%d warnings, not %d:\n%s", rc, n_warn, warnings);
	assert_non_null(out);
	return out;
}

static void
assert_json_equal(json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS);

		fail_msg("got:\n%s\nwant:\n%s", g, w);
	}
}

/* NAME.conf converts into NAME.json with the warnings of NAME.warn. */
static void
check_fixture(const char *base)
{
	char conf[64], js[64], warn[64];
	json_error_t jerr;
	json_t *want, *got;
	char *text, *w, *path;
	size_t len;

	snprintf(conf, sizeof(conf), "%s.conf", base);
	snprintf(js, sizeof(js), "%s.json", base);
	snprintf(warn, sizeof(warn), "%s.warn", base);
	text = fixture(conf, &len);
	w = fixture(warn, NULL);
	path = fixture(js, NULL);
	want = json_loads(path, 0, &jerr);
	if (want == NULL)
		fail_msg("%s:%d: %s", js, jerr.line, jerr.text);
	got = import_ok(conf, text, len, -1);
	assert_json_equal(got, want);
	assert_string_equal(warnings, w);
	json_decref(got);
	json_decref(want);
	free(text);
	free(w);
	free(path);
}

static void
test_interop_script(void **state)
{
	check_fixture("interop");
}

static void
test_rich(void **state)
{
	check_fixture("rich");
}

/*
 * Errors: each with its place, and nothing out.
 */
static const struct err_case {
	const char *what;
	const char *text;
	const char *err;	/* after "t:" */
} err_cases[] = {
	{ "a section not closed", "connections {\n  a {\n    version = 2\n",
	    "2:3: section 'a' is not closed: '}' missing" },
	{ "a '}' too many", "connections {\n}\n}\n",
	    "3:1: '}' closes no section" },
	{ "include", "connections {\n}\ninclude conf.d/*.conf\n",
	    "3:1: include is not supported: put the included file's text "
	    "here" },
	{ "a section reference", "connections {\n  a : defaults {\n  }\n}\n",
	    "2:5: section references (\"a : other\") are not supported: write "
	    "the settings out" },
	{ "two words", "connections {\n  a b {\n  }\n}\n",
	    "2:3: expected '=' or '{' after 'a', found 'b'" },
	{ "a name alone at the end", "connections {\n  a",
	    "2:3: expected '=' or '{' after 'a', found the end of the file" },
	{ "a dotted key", "connections.a.version = 2\n",
	    "1:1: expected '=' or '{' after 'connections', found '.'" },
	{ "'=' without a key", "connections {\n  = 2\n}\n",
	    "2:3: expected a key or a section name, found '='" },
	{ "a quote where a name goes", "\"connections\" {\n}\n",
	    "1:1: expected a key or a section name, found '\"'" },
	{ "a control byte", "connections {\n\x01\n}\n",
	    "2:1: expected a key or a section name, found 0x01" },
	{ "a quoted string not closed", "secrets {\n  ike {\n    secret = "
	    "\"abc\n  }\n}\n",
	    "3:14: quoted string not closed" },
	{ "an unknown escape", "secrets {\n  ike {\n    secret = \"a\\qb\"\n"
	    "  }\n}\n",
	    "3:16: unknown escape '\\' then 'q' (known: \\\" \\\\ \\n \\t "
	    "\\r)" },
	{ "a NUL byte in a value", "connections {\n  a {\n    version = 2\0\n"
	    "  }\n}\n",
	    "3:16: NUL byte" },
	{ "IKEv1", "connections {\n  a {\n    version = 1\n  }\n}\n",
	    "3:15: version: IKEv1 is not supported (hexgate speaks IKEv2: "
	    "version = 2)" },
	{ "version 3", "connections {\n  a {\n    version = 3\n  }\n}\n",
	    "3:15: version: expected 0 (any) or 2, found '3'" },
	{ "a port too big", "connections {\n  a {\n    local_port = 70000\n"
	    "  }\n}\n",
	    "3:18: local_port: expected a port (1 to 65535), found '70000'" },
	{ "a port in words", "connections {\n  a {\n    remote_port = ike\n"
	    "  }\n}\n",
	    "3:19: remote_port: expected a port (1 to 65535), found 'ike'" },
	{ "port 0", "connections {\n  a {\n    remote_port = 0\n  }\n}\n",
	    "3:19: remote_port: expected a port (1 to 65535), found '0'" },
	{ "a boolean", "connections {\n  a {\n    encap = maybe\n  }\n}\n",
	    "3:13: encap: expected yes or no, found 'maybe'" },
	{ "a duration unit", "connections {\n  a {\n    dpd_delay = 30x\n"
	    "  }\n}\n",
	    "3:17: dpd_delay: expected a time (3600, 30s, 5m, 4h, 1d), found "
	    "'30x'" },
	{ "a duration with a blank", "connections {\n  a {\n    "
	    "rekey_time = 4 h\n  }\n}\n",
	    "3:18: rekey_time: expected a time (3600, 30s, 5m, 4h, 1d), found "
	    "'4 h'" },
	{ "a child's duration", "connections {\n  a {\n    children {\n"
	    "      c {\n        life_time = soon\n      }\n    }\n  }\n}\n",
	    "5:21: life_time: expected a time (3600, 30s, 5m, 4h, 1d), found "
	    "'soon'" },
	{ "a weak proposal", "connections {\n  a {\n    proposals = "
	    "aes256-sha1-modp2048\n  }\n}\n",
	    "3:17: proposals: proposal 'aes256-sha1-modp2048': 'sha1' (word "
	    "2): SHA-1 is weak and refused" },
	{ "the second proposal bad", "connections {\n  a {\n    proposals = "
	    "aes256gcm16-prfsha256-x25519,  aes128-md5-modp2048\n  }\n}\n",
	    "3:48: proposals: proposal 'aes128-md5-modp2048': 'md5' (word 2): "
	    "MD5 is broken and refused" },
	{ "an IKE proposal without a group", "connections {\n  a {\n    "
	    "proposals = aes256gcm16-prfsha256\n  }\n}\n",
	    "3:17: proposals: proposal 'aes256gcm16-prfsha256': no key "
	    "exchange group (x25519, ecp256, modp3072, ...)" },
	{ "a PRF in an ESP proposal", "connections {\n  a {\n    children {\n"
	    "      c {\n        esp_proposals = aes256gcm16-prfsha256\n"
	    "      }\n    }\n  }\n}\n",
	    "5:25: esp_proposals: proposal 'aes256gcm16-prfsha256': "
	    "'prfsha256' (word 2): a PRF belongs in IKE proposals, not ESP" },
	{ "an unknown ESP algorithm", "connections {\n  a {\n    children {\n"
	    "      c {\n        esp_proposals = aes256gcm16, twofish\n"
	    "      }\n    }\n  }\n}\n",
	    "5:38: esp_proposals: proposal 'twofish': 'twofish' (word 1): "
	    "Twofish is not supported" },
	{ "an empty list item", "connections {\n  a {\n    children {\n"
	    "      c {\n        local_ts = 10.0.0.0/8,,10.1.0.0/16\n"
	    "      }\n    }\n  }\n}\n",
	    "5:31: local_ts: empty item in the list" },
	{ "a list ending in a comma", "connections {\n  a {\n    "
	    "remote_addrs = 192.0.2.1,\n  }\n}\n",
	    "3:30: remote_addrs: empty item in the list" },
	{ "two local rounds", "connections {\n  a {\n    local-1 {\n"
	    "      auth = psk\n    }\n    local-2 {\n      auth = pubkey\n"
	    "    }\n  }\n}\n",
	    "6:5: connections.a.local-2: a second local section ('local-1' is "
	    "at line 3): hexgate takes one authentication round" },
	{ "two remote rounds", "connections {\n  a {\n    remote {\n    }\n"
	    "    remote2 {\n    }\n  }\n}\n",
	    "5:5: connections.a.remote2: a second remote section ('remote' is "
	    "at line 3): hexgate takes one authentication round" },
	{ "a secret without its secret", "secrets {\n  ike-a {\n"
	    "    id = a\n  }\n}\n",
	    "2:3: secrets.ike-a: no secret" },
	{ "an empty secret", "secrets {\n  ike-a {\n    secret =\n  }\n}\n",
	    "2:3: secrets.ike-a: no secret" },
	{ "too deep", "a{b{c{d{e{f{g{h{i{}}}}}}}}}\n",
	    "1:15: sections nested deeper than 8" },
};

static void
test_errors(void **state)
{
	for (size_t i = 0; i < N_OF(err_cases); i++) {
		const struct err_case *e = &err_cases[i];
		/* strlen stops at the NUL of one case: sizeof does not */
		size_t len = strlen(e->text);
		char want[512];
		json_t *out = (json_t *)1;

		if (strstr(e->what, "NUL") != NULL)
			len += 1 + strlen(e->text + len + 1);
		print_message("case: %s\n", e->what);
		snprintf(want, sizeof(want), "t:%s", e->err);
		assert_int_equal(hg_swanctl_import("t", e->text, len, &out,
		    warnings, sizeof(warnings), err, sizeof(err)), -EINVAL);
		assert_null(out);
		assert_string_equal(err, want);
	}
}

/* The name defaults to swanctl.conf; a long error is cut, not run over. */
static void
test_error_name_and_size(void **state)
{
	json_t *out;
	char small[16];

	assert_int_equal(hg_swanctl_import(NULL, "}", 1, &out, NULL, 0, err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "swanctl.conf:1:1: '}' closes no section");
	assert_int_equal(hg_swanctl_import(NULL, "}", 1, &out, NULL, 0,
	    small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "swanctl.conf:1:");
}

/*
 * What the header promises beyond the fixtures.
 */

/* A key given again replaces the value (with a warning); a section
 * given again extends the first, as strongSwan merges them. */
static void
test_merge(void **state)
{
	static const char text[] =
	    "connections {\n"
	    "  a {\n"
	    "    version = 0\n"
	    "    remote_addrs = 192.0.2.1\n"
	    "  }\n"
	    "}\n"
	    "connections {\n"
	    "  a {\n"
	    "    remote_addrs = 192.0.2.9\n"
	    "    children { c { mode = tunnel } }\n"
	    "  }\n"
	    "  b { version = 2 }\n"
	    "}\n";
	json_t *out, *want;

	out = import_ok("m", text, strlen(text), 1);
	assert_string_equal(warnings, "m:9:5: warning: 'remote_addrs' set "
	    "again: this value replaces line 4's\n");
	want = json_pack("{s:{s:{s:i,s:[s],s:{s:{s:s}}},s:{s:i}},s:{}}",
	    "connections", "a", "version", 0, "remote_addrs", "192.0.2.9",
	    "children", "c", "mode", "tunnel", "b", "version", 2, "secrets");
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
}

/* An empty value is strongSwan's default: no key; CRLF lines; no
 * sections at all. */
static void
test_empty_crlf(void **state)
{
	static const char text[] =
	    "connections {\r\n"
	    "  a {\r\n"
	    "    remote_addrs =\r\n"
	    "    local_addrs = 192.0.2.1 \r\n"
	    "    encap = no\r\n"
	    "  }\r\n"
	    "}\r\n";
	json_t *out, *want;

	out = import_ok("e", text, strlen(text), 0);
	want = json_pack("{s:{s:{s:[s],s:b}},s:{}}", "connections", "a",
	    "local_addrs", "192.0.2.1", "encap", 0, "secrets");
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);

	out = import_ok("e", "# nothing\n", 10, 0);
	want = json_pack("{s:{},s:{}}", "connections", "secrets");
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
}

/* Booleans in each of strongSwan's spellings. */
static void
test_booleans(void **state)
{
	static const struct {
		const char *v;
		bool b;
	} cases[] = {
		{ "yes", true }, { "true", true }, { "enabled", true },
		{ "1", true }, { "YES", true }, { "no", false },
		{ "false", false }, { "disabled", false }, { "0", false },
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		char text[128];
		json_t *out, *v;

		snprintf(text, sizeof(text), "connections { a { encap = %s\n"
		    "} }\n", cases[i].v);
		out = import_ok("b", text, strlen(text), 0);
		v = json_object_get(json_object_get(json_object_get(
		    out, "connections"), "a"), "encap");
		assert_true(json_is_boolean(v));
		assert_int_equal(json_is_true(v), cases[i].b);
		json_decref(out);
	}
}

/* More warnings than the buffer holds: each counted, the last line
 * says how many were not shown. */
static void
test_warnings_overflow(void **state)
{
	char text[4096], small[256];
	size_t off = 0;
	json_t *out = NULL;
	int rc;

	off += (size_t)snprintf(text + off, sizeof(text) - off,
	    "connections {\n  a {\n");
	for (int i = 0; i < 20; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "    unknown%d = x\n", i);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "  }\n}\n");
	rc = hg_swanctl_import("w", text, off, &out, small, sizeof(small),
	    err, sizeof(err));
	assert_int_equal(rc, 20);
	assert_non_null(out);
	assert_true(strlen(small) < sizeof(small));
	assert_non_null(strstr(small, "w:3:5: warning: connections.a.unknown0"
	    ": not taken by hexgate; ignored\n"));
	assert_non_null(strstr(small, " more warnings not shown\n"));
	json_decref(out);
}

/*
 * hexctl ipsec import, as a user runs it.
 */

struct run {
	int status;
	char *out, *err;
};

static void
run_hexctl(struct run *r, const char *file)
{
	const char *hexctl = getenv("HEXCTL");
	char out_path[] = "/tmp/test_swanctl.out.XXXXXX";
	char err_path[] = "/tmp/test_swanctl.err.XXXXXX";
	int fo = mkstemp(out_path), fe = mkstemp(err_path);
	pid_t pid;

	if (hexctl == NULL)
		skip();
	assert_true(fo >= 0 && fe >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		/* nothing listens there: the import must not ask hexgated */
		setenv("HEXGATE_SOCKET", "/nonexistent/hexgated.sock", 1);
		unsetenv("HEXCTL_URL");
		execl(hexctl, "hexctl", "ipsec", "import", file, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
	assert_true(WIFEXITED(r->status));
	r->status = WEXITSTATUS(r->status);
	close(fo);
	close(fe);
	r->out = slurp(out_path, NULL);
	r->err = slurp(err_path, NULL);
	unlink(out_path);
	unlink(err_path);
}

static void
test_hexctl(void **state)
{
	const char *dir = getenv("HG_SWANCTL_DIR");
	char conf[1024], bad[] = "/tmp/test_swanctl.bad.XXXXXX";
	json_error_t jerr;
	json_t *got, *want;
	struct run r;
	char *w;
	int fd;

	assert_non_null(dir);
	snprintf(conf, sizeof(conf), "%s/interop.conf", dir);
	run_hexctl(&r, conf);
	assert_int_equal(r.status, 0);
	print_message("case: stdout is {\"ipsec\": the document}\n");
	got = json_loads(r.out, 0, &jerr);
	if (got == NULL)
		fail_msg("stdout: %d: %s", jerr.line, jerr.text);
	{
		char *js = fixture("interop.json", NULL);

		want = json_pack("{s:o}", "ipsec", json_loads(js, 0, &jerr));
		free(js);
	}
	assert_json_equal(got, want);
	print_message("case: pretty-printed\n");
	assert_non_null(strstr(r.out, "{\n  \"ipsec\": {\n    \"connections\""));
	print_message("case: the warnings on stderr, named by the file\n");
	w = fixture("interop.warn", NULL);
	assert_non_null(strstr(r.err, "/interop.conf:7:5: warning: "
	    "connections.net.mobike: not taken by hexgate; ignored\n"));
	assert_int_equal(strlen(r.err), strlen(w) + 2 * (strlen(dir) + 1));
	free(w);
	json_decref(got);
	json_decref(want);
	free(r.out);
	free(r.err);

	print_message("case: a bad file: exit 1, the error, no output\n");
	fd = mkstemp(bad);
	assert_true(fd >= 0);
	{
		static const char v1[] = "connections {\n  a {\n    "
		    "version = 1\n  }\n}\n";

		assert_int_equal(write(fd, v1, strlen(v1)),
		    (ssize_t)strlen(v1));
	}
	close(fd);
	run_hexctl(&r, bad);
	unlink(bad);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, ":3:15: version: IKEv1 is not "
	    "supported"));
	free(r.out);
	free(r.err);

	print_message("case: a missing file is a usage error\n");
	run_hexctl(&r, "/nonexistent/swanctl.conf");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "/nonexistent/swanctl.conf: No such "
	    "file"));
	free(r.out);
	free(r.err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interop_script),
		cmocka_unit_test(test_rich),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_name_and_size),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_empty_crlf),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_warnings_overflow),
		cmocka_unit_test(test_hexctl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
