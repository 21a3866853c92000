/*
 * src/fw/text.c: the rule text as characters, not bytes.  Columns in
 * errors count UTF-8 characters so that carets line up under a comment in
 * any script; what an error echoes back (the source line, a quoted word)
 * is made safe to print on a terminal, in JSON and in a log; and the
 * look-alikes a web page or a word processor puts in pasted rules
 * (typographic dashes and quotes, no-break spaces) are recognised so the
 * error can say what was meant.  Lexing is in lex.c, the errors' format
 * too.
 */
#include <stdio.h>
#include <string.h>

#include "fw_priv.h"

size_t
fw_utf8_next(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t c;

	*cp = FW_UTF8_BAD;
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	/* RFC 3629 §4: no overlong forms, no surrogates, nothing past
	 * U+10FFFF; each bad byte is a character of its own. */
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 1;
	if (n < need + 1)
		return 1;
	for (size_t i = 1; i <= need; i++) {
		if (s[i] < lo || s[i] > hi)
			return 1;
		lo = 0x80;
		hi = 0xbf;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return need + 1;
}

size_t
fw_utf8_cols(const char *s, size_t n)
{
	size_t cols = 0, i = 0;
	uint32_t cp;

	while (i < n) {
		i += fw_utf8_next(s + i, n - i, &cp);
		cols++;
	}
	return cols;
}

/* Characters that would move the cursor or reorder the line when
 * printed: C0 and C1 controls, DEL, and the bidirectional overrides. */
static bool
cp_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
fw_text_escape(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0, i = 0, k;
	uint32_t cp;

	if (size == 0)
		return 0;
	while (i < n) {
		k = fw_utf8_next(s + i, n - i, &cp);
		if (cp == FW_UTF8_BAD || cp_is_control(cp)) {
			/* Every byte of it as \xNN. */
			if (o + 4 * k >= size)
				break;
			for (size_t j = 0; j < k; j++)
				o += (size_t)snprintf(out + o, size - o, "\\x%02x",
				    (unsigned char)s[i + j]);
		} else {
			if (o + k >= size)
				break;
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
	return i;
}

void
fw_text_display(char *out, size_t size, const char *s, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	size_t o = 0, i = 0, k;
	uint32_t cp;

	if (size == 0)
		return;
	while (i < n) {
		k = fw_utf8_next(s + i, n - i, &cp);
		/* One replacement per character, so columns still count
		 * the same; a tab stays, the carets copy it. */
		if (cp == FW_UTF8_BAD || (cp_is_control(cp) && cp != '\t')) {
			if (o + 3 >= size)
				break;
			memcpy(out + o, repl, 3);
			o += 3;
		} else {
			if (o + k >= size)
				break;
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
}

/* Dashes that are not '-': what "smart" punctuation makes of it. */
static bool
cp_is_dash(uint32_t cp)
{
	return (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 ||
	    cp == 0xfe58 || cp == 0xfe63 || cp == 0xff0d;
}

static bool
cp_is_quote(uint32_t cp)
{
	return (cp >= 0x2018 && cp <= 0x201f) || cp == 0x00ab || cp == 0x00bb ||
	    cp == 0x2039 || cp == 0x203a;
}

bool
fw_is_nbsp(uint32_t cp)
{
	return cp == 0x00a0 || cp == 0x2007 || cp == 0x202f || cp == 0x3000 ||
	    (cp >= 0x2000 && cp <= 0x200a);
}

/*
 * An option or command written with typographic dashes ("—from",
 * "–j", "−A"): the leading run of dashes, '-' or not, is what the user
 * meant as one or two '-'.  One letter after it is a short option ("-j"),
 * more is a long one ("--from"), whatever the number of dashes: a word
 * processor turns "--" into one dash.
 */
bool
fw_typo_dash(const char *s, char *fixed, size_t size, uint32_t *cp_out)
{
	size_t i = 0, n = strlen(s), k, rest;
	uint32_t cp, first = 0;

	while (i < n) {
		k = fw_utf8_next(s + i, n - i, &cp);
		if (cp != '-' && !cp_is_dash(cp))
			break;
		if (cp != '-' && first == 0)
			first = cp;
		i += k;
	}
	if (first == 0 || i == n)
		return false;
	rest = fw_utf8_cols(s + i, n - i);
	snprintf(fixed, size, "%s%s", rest == 1 ? "-" : "--", s + i);
	*cp_out = first;
	return true;
}

bool
fw_typo_quote(const char *s, uint32_t *cp_out)
{
	size_t i = 0, n = strlen(s);
	uint32_t cp;

	while (i < n) {
		i += fw_utf8_next(s + i, n - i, &cp);
		if (cp_is_quote(cp)) {
			*cp_out = cp;
			return true;
		}
	}
	return false;
}
