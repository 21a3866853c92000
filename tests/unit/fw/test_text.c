/*
 * tests/unit/fw/test_text.c: what a user pasting rules runs into (hexgate
 * issue 13), as the errors show it: typographic dashes and quotes and
 * no-break spaces named with the ASCII that was meant; columns that count
 * characters, so the carets stand under the word after UTF-8 text; what
 * errors echo is printable UTF-8 whatever the input; "did you mean" for a
 * chain or target typo; -o in PREROUTING marked where it stands; and the
 * length limits, comment lines included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fw/fw.h"
#include "fw/fw_priv.h"

static struct fw_errs errs;

static int
parse_as(const char *text, size_t len, enum fw_syntax syntax)
{
	struct fw_parse_opts o = { .family = FW_IPV4, .syntax = syntax };
	struct fw_ruleset *rs = NULL;
	int rc;

	rc = fw_parse(text, len, &o, &rs, &errs);
	fw_ruleset_free(rs);
	return rc;
}

static const char *
first_err(void)
{
	static char buf[2048];

	if (errs.n == 0)
		return "";
	fw_err_format(&errs.e[0], "rules", buf, sizeof(buf));
	return buf;
}

/* The column, in characters, of the first byte of needle in line. */
static unsigned
col_of(const char *line, const char *needle)
{
	const char *at = strstr(line, needle);

	assert_non_null(at);
	return (unsigned)fw_utf8_cols(line, (size_t)(at - line)) + 1;
}

struct err_case {
	const char *what;
	const char *text;	/* restore text; NULL: line is one-line form */
	const char *line;	/* the line the error is on */
	const char *at;		/* the word the carets must start under */
	const char *want;	/* part of the message */
};

#define FILTER(l)	"*filter\n" l "\nCOMMIT\n"
#define NAT(l)		"*nat\n" l "\nCOMMIT\n"

static const struct err_case err_cases[] = {
	/* 1: typographic dashes, quotes, no-break spaces */
	{ "em dash before a long option",
	  FILTER("-A MACRO_CUST -j COPY \xe2\x80\x94" "from tun0 --to 10.0.0.9"),
	  NULL, "\xe2\x80\x94" "from",
	  "U+2014 is a typographic dash, not \"-\" (did you mean \"--from\"?)" },
	{ "en dash before a short option",
	  FILTER("-A INPUT -p tcp \xe2\x80\x93j ACCEPT"),
	  NULL, "\xe2\x80\x93j", "U+2013 is a typographic dash, not \"-\" "
	  "(did you mean \"-j\"?)" },
	{ "minus sign", FILTER("-A INPUT \xe2\x88\x92p tcp"), NULL,
	  "\xe2\x88\x92p", "U+2212 is a typographic dash" },
	{ "two hyphens (U+2010)",
	  FILTER("-A INPUT -p tcp \xe2\x80\x90\xe2\x80\x90" "dport 22"), NULL,
	  "\xe2\x80\x90", "(did you mean \"--dport\"?)" },
	{ "ASCII dash then an en dash",
	  FILTER("-A INPUT -p tcp -\xe2\x80\x93" "dport 22"), NULL,
	  "-\xe2\x80\x93", "(did you mean \"--dport\"?)" },
	{ "em dash as the command", FILTER("\xe2\x80\x94" "A INPUT -j ACCEPT"),
	  NULL, "\xe2\x80\x94" "A", "(did you mean \"-A\"?)" },
	{ "typographic quotes",
	  FILTER("-A INPUT -m comment --comment \xe2\x80\x9ctwo words\xe2\x80\x9d"),
	  NULL, "words", "U+201D is a typographic quote" },
	{ "no-break space between words",
	  FILTER("-A INPUT -p tcp -j\xc2\xa0" "ACCEPT"), NULL, "\xc2\xa0",
	  "a no-break space (U+00A0) is not a blank" },
	/* 2: columns count characters after multi-byte text */
	{ "column after a UTF-8 comment",
	  FILTER("-A INPUT -m comment --comment \"Zürich → Genève ✓\" -p tpc"),
	  NULL, "tpc", "unknown protocol \"tpc\"" },
	{ "span of a word with UTF-8 in it",
	  FILTER("-A INPUT -m comment --comment \"ü\" -j LÖGDROP"), NULL,
	  "LÖGDROP", "unknown target or chain \"LÖGDROP\"" },
	{ "attached value after UTF-8 text",
	  FILTER("-A INPUT -m comment --comment é --source=10.0.0.0/99"), NULL,
	  "10.0.0.0/99", "bad mask \"/99\"" },
	/* 3: chain and target typos */
	{ "jump to a customer chain, letters swapped",
	  FILTER("-A INPUT -j FORWARD_CUTS"), NULL, "FORWARD_CUTS",
	  "(did you mean \"FORWARD_CUST\"?)" },
	{ "jump to a declared chain",
	  FILTER(":LOGDROP - [0:0]\n-A INPUT -j LOGDORP"), NULL, "LOGDORP",
	  "(did you mean \"LOGDROP\"?)" },
	{ "target in lower case", FILTER("-A INPUT -p tcp -j accept"), NULL,
	  "accept", "(did you mean \"ACCEPT\"?)" },
	{ "target typo", FILTER("-A INPUT -j DORP"), NULL, "DORP",
	  "(did you mean \"DROP\"?)" },
	{ "goto typo", FILTER("-A INPUT -g INPUT_CSUT"), NULL, "INPUT_CSUT",
	  "(did you mean \"INPUT_CUST\"?)" },
	{ "chain of the other table",
	  NAT("-A FORWARD_CUST -j ACCEPT"), NULL, "FORWARD_CUST",
	  "it is a chain of table filter" },
	{ "one-line form: a nat chain typo", NULL,
	  "PREROUTING_CSUT -p tcp --dport 80 -j REDIRECT --to-ports 8080",
	  "PREROUTING_CSUT", "(did you mean \"PREROUTING_CUST\"?)" },
	/* 4: -o where packets have no output interface yet */
	{ "-o in PREROUTING",
	  NAT("-A PREROUTING -p tcp -o eth0 -j REDIRECT --to-ports 8080"),
	  NULL, "-o", "-o cannot be used in chain PREROUTING" },
	{ "-o in PREROUTING_CUST, attached",
	  NAT("-A PREROUTING_CUST -p tcp -oeth0 -j REDIRECT --to-ports 8080"),
	  NULL, "-oeth0", "-o cannot be used in chain PREROUTING_CUST" },
	{ "-i in POSTROUTING",
	  NAT("-A POSTROUTING -i eth0 -s 10.0.0.0/8 -j MASQUERADE"), NULL,
	  "-i", "-i cannot be used in chain POSTROUTING" },
};

/* The line of text the error is on: the second of a restore text. */
static void
error_line(const struct err_case *c, char *buf, size_t size)
{
	const char *s, *nl;

	if (c->text == NULL) {
		snprintf(buf, size, "%s", c->line);
		return;
	}
	s = c->text;
	/* The error is on the last line before COMMIT. */
	nl = strstr(s, "\nCOMMIT\n");
	assert_non_null(nl);
	for (s = nl; s > c->text && s[-1] != '\n'; s--)
		;
	snprintf(buf, size, "%.*s", (int)(nl - s), s);
}

static void
test_error_cases(void **state)
{
	char line[512];
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		const char *text = c->text ? c->text : c->line;
		int rc;
		unsigned want_col;

		rc = parse_as(text, strlen(text), c->text ? FW_SYNTAX_RESTORE :
		    FW_SYNTAX_ONE_LINE);
		error_line(c, line, sizeof(line));
		want_col = col_of(line, c->at);
		if (rc != -22 || errs.n == 0 ||
		    strstr(errs.e[0].msg, c->want) == NULL ||
		    errs.e[0].col_first != want_col) {
			print_error("%s: want error at column %u with \"%s\", "
			    "got rc %d:\n%s\n", c->what, want_col, c->want, rc,
			    first_err());
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The caret line as fw_err_format() draws it, and where its '^' is. */
static void
test_carets_under_utf8(void **state)
{
	static const char text[] = FILTER(
	    "-A INPUT -m comment --comment \"Zürich → Genève\" -p tpc");
	const char *out, *caret_line;
	size_t caret;

	(void)state;
	assert_int_equal(parse_as(text, strlen(text), FW_SYNTAX_RESTORE), -22);
	out = first_err();
	/* "-A INPUT -m comment --comment \"Zürich → Genève\" -p " is 51
	 * characters; the byte count (55) would put the carets off by 4. */
	assert_non_null(strstr(out, "rules:2:52-54: error: unknown protocol"));
	caret_line = strrchr(out, '^');
	assert_non_null(caret_line);
	for (caret = 0; caret_line - caret > out && caret_line[-1 - (long)caret]
	    != '\n'; caret++)
		;
	assert_int_equal(caret, 51);
	assert_string_equal(caret_line, "^~~\n");
}

static bool
printable_utf8(const char *s)
{
	size_t n = strlen(s), i = 0, k;
	uint32_t cp;

	while (i < n) {
		k = fw_utf8_next(s + i, n - i, &cp);
		if (cp == FW_UTF8_BAD || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += k;
	}
	return true;
}

/* Bytes a terminal or a JSON encoder would choke on never come back. */
static void
test_echo_is_printable(void **state)
{
	static const char text[] =
	    "*filter\n"
	    "-A INPUT -p \x1b[31mtcp\x07 -j ACCEPT\n"
	    "-A INPUT -j \xff\xfe\x01\x7f" "DROP\n"
	    "\x80\x81\x82\x83 \x1b]0;owned\x07\n"
	    "COMMIT\n";

	(void)state;
	assert_int_equal(parse_as(text, sizeof(text) - 1, FW_SYNTAX_RESTORE),
	    -22);
	assert_int_equal(errs.n, 3);
	for (unsigned i = 0; i < errs.n; i++) {
		if (!printable_utf8(errs.e[i].msg) ||
		    !printable_utf8(errs.e[i].text))
			fail_msg("error %u is not printable: %s | %s", i,
			    errs.e[i].msg, errs.e[i].text);
	}
	assert_non_null(strstr(errs.e[0].msg, "\"\\x1b[31mtcp\\x07\""));
	/* One U+FFFD for each byte, so the columns still hold. */
	assert_int_equal(errs.e[1].line, 4);
	assert_string_equal(errs.e[1].text, "\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd]0;owned\xef\xbf\xbd");
}

/* 5: a line is at most FW_LINE_MAX_BYTES, a text FW_TEXT_MAX_BYTES. */
static void
test_limits(void **state)
{
	size_t big = 1u << 20, huge = FW_TEXT_MAX_BYTES + 1;
	char *text = malloc(huge + 1);
	size_t off;

	(void)state;
	assert_non_null(text);
	/* A comment line of exactly the limit is fine. */
	off = (size_t)sprintf(text, "*filter\n");
	text[off] = '#';
	memset(text + off + 1, 'x', FW_LINE_MAX_BYTES - 1);
	off += FW_LINE_MAX_BYTES;
	off += (size_t)sprintf(text + off, "\nCOMMIT\n");
	assert_int_equal(parse_as(text, off, FW_SYNTAX_RESTORE), 0);

	/* A 1 MiB comment line is not. */
	off = (size_t)sprintf(text, "*filter\n");
	text[off] = '#';
	memset(text + off + 1, 'x', big - 1);
	off += big;
	off += (size_t)sprintf(text + off, "\nCOMMIT\n");
	assert_int_equal(parse_as(text, off, FW_SYNTAX_RESTORE), -22);
	assert_int_equal(errs.e[0].line, 2);
	assert_non_null(strstr(errs.e[0].msg, "line is 1048576 bytes long; "
	    "the limit is 4096"));
	/* Nor in the one-line form, nor blank-led. */
	text[8] = ' ';
	assert_int_equal(parse_as(text + 8, off - 8, FW_SYNTAX_ONE_LINE), -22);
	assert_int_equal(errs.e[0].line, 1);

	/* A comment-only text over the limit, in short lines. */
	for (off = 0; off + 64 <= huge; off += 64) {
		memset(text + off, '#', 63);
		text[off + 63] = '\n';
	}
	memset(text + off, '#', huge - off);
	assert_int_equal(parse_as(text, huge, FW_SYNTAX_RESTORE), -22);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, 0);
	assert_non_null(strstr(errs.e[0].msg, "bytes long; the limit is"));
	free(text);
}

/* fw_utf8_next() against RFC 3629's edge cases. */
static void
test_utf8_decode(void **state)
{
	static const struct {
		const char *what, *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{ "ASCII", "A", 1, 'A' },
		{ "two bytes", "\xc3\xa9", 2, 0xe9 },
		{ "three bytes", "\xe2\x80\x94", 3, 0x2014 },
		{ "four bytes", "\xf0\x9f\x98\x80", 4, 0x1f600 },
		{ "overlong '/'", "\xc0\xaf", 1, FW_UTF8_BAD },
		{ "overlong three", "\xe0\x80\xaf", 1, FW_UTF8_BAD },
		{ "surrogate", "\xed\xa0\x80", 1, FW_UTF8_BAD },
		{ "past U+10FFFF", "\xf4\x90\x80\x80", 1, FW_UTF8_BAD },
		{ "cut short", "\xe2\x80", 1, FW_UTF8_BAD },
		{ "lone continuation", "\x80", 1, FW_UTF8_BAD },
	};

	(void)state;
	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		uint32_t cp;
		size_t k = fw_utf8_next(cases[i].s, strlen(cases[i].s), &cp);

		if (k != cases[i].len || cp != cases[i].cp)
			fail_msg("%s: got %zu bytes, U+%04X", cases[i].what, k,
			    (unsigned)cp);
	}
	assert_int_equal(fw_utf8_cols("a\xc3\xa9\xe2\x80\x94\xff", 7), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_error_cases),
		cmocka_unit_test(test_carets_under_utf8),
		cmocka_unit_test(test_echo_is_printable),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
