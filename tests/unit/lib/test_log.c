/*
 * tests/unit/lib/test_log.c: what the log says about text it did not
 * write (rule text, names, whatever a peer sent): no byte a terminal or a
 * log reader would act on, one log line a message (a newline in it only
 * continues the line, indented), UTF-8 kept, and a long message cut and
 * marked so.  stderr is a temporary file the test reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"

/* Logs msg with hg_log_warnx("%s") and returns what reached stderr,
 * the time stamp and level taken off. */
static char *
logged(const char *msg)
{
	static char buf[8192];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;
	char *at;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	hg_log_warnx("%s", msg);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	at = strstr(buf, " warn: ");
	assert_non_null(at);
	return at + 7;
}

static bool
has_raw_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') ||
		    (unsigned char)*s == 0x7f)
			return true;
	return false;
}

struct esc_case {
	const char *what, *in, *want;
};

static const struct esc_case cases[] = {
	{ "plain text as it is", "firewall: 3 rules live",
	  "firewall: 3 rules live\n" },
	{ "a terminal escape", "rule \x1b[2J\x07x", "rule \\x1b[2J\\x07x\n" },
	{ "DEL and a carriage return", "a\x7f\rb", "a\\x7f\\x0db\n" },
	{ "UTF-8 kept", "Zürich → Genève", "Zürich → Genève\n" },
	{ "bytes that are not UTF-8", "\xff\xfe\xc3(\xe2\x80", "\\xff\\xfe\\xc3("
	  "\\xe2\\x80\n" },
	{ "C1 control and a bidirectional override",
	  "a\xc2\x9b" "b\xe2\x80\xae" "c", "a\\xc2\\x9bb\\xe2\\x80\\xaec\n" },
	{ "a newline continues the line, indented",
	  "rules:2:4: error: x\n-A FOO\n   ^~~\n",
	  "rules:2:4: error: x\n    -A FOO\n       ^~~\n" },
	{ "a forged line stays a continuation",
	  "bad name\n2030-01-01T00:00:00.000Z info: all good",
	  "bad name\n    2030-01-01T00:00:00.000Z info: all good\n" },
	{ "a tab stays", "a\tb", "a\tb\n" },
};

static void
test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = logged(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].what,
			    got, cases[i].want);
	}
}

/* 6 KB of binary (what a binary rules file made the log carry): cut,
 * marked, and not one raw control byte. */
static void
test_binary_cut(void **state)
{
	char in[6144 + 1];
	const char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		in[i] = (char)(1 + (i * 7919) % 255);
	in[sizeof(in) - 1] = '\0';
	got = logged(in);
	assert_false(has_raw_controls(got));
	/* The message is at most 1024 bytes. */
	assert_true(strlen(got) <= 1024 + 1);
	assert_non_null(strstr(got, " bytes cut]\n"));
	/* Newlines in it only continue the one line. */
	for (const char *nl = strchr(got, '\n'); nl[1] != '\0';
	    nl = strchr(nl + 1, '\n'))
		assert_memory_equal(nl + 1, "    ", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_binary_cut),
	};

	hg_log_init("test", HG_LOG_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
