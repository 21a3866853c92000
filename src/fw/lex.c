/*
 * src/fw/lex.c: cuts one line of rule text into tokens the way
 * iptables-restore does (blanks separate, "double" and 'single' quotes
 * group, a backslash escapes inside double quotes), keeping each token's
 * column span for error messages; and records and formats those errors.
 * Columns count characters (UTF-8, text.c), not bytes, so the carets
 * stand under the word they mean after a comment in any script.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fw_priv.h"

static void
err_vrecord(struct fw_parser *p, const struct fw_line *l, uint16_t first,
    uint16_t last, const char *fmt, va_list ap)
{
	char raw[FW_ERR_MSG_MAX];
	struct fw_err *e;
	int n;

	if (p->errs->n++ >= FW_ERR_MAX)
		return;
	e = &p->errs->e[p->errs->n - 1];
	memset(e, 0, sizeof(*e));
	/* Messages quote what the user wrote, which may be any bytes: they
	 * are echoed to terminals, JSON and logs, so controls and bytes
	 * that are not UTF-8 come out as \xNN, and a message cut short is
	 * cut at a character. */
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		n = 0;
	(void)fw_text_escape(e->msg, sizeof(e->msg), raw,
	    HG_MIN((size_t)n, sizeof(raw) - 1));
	if (l == NULL)
		return;
	e->line = l->lineno;
	e->col_first = first;
	e->col_last = last < first ? first : last;
	fw_text_display(e->text, sizeof(e->text), l->text, l->len);
}

void
fw_err_at(struct fw_parser *p, const struct fw_line *l, uint16_t first,
    uint16_t last, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vrecord(p, l, first, last, fmt, ap);
	va_end(ap);
}

void
fw_err_tok(struct fw_parser *p, const struct fw_line *l,
    const struct fw_tok *t, const char *fmt, ...)
{
	va_list ap;
	uint16_t first = 1, last = 1;

	if (t != NULL) {
		first = t->col_first;
		last = t->col_last;
	} else if (l != NULL) {
		/* Something is missing at the end of the line. */
		first = last = (uint16_t)HG_MIN((size_t)l->cols + 1, UINT16_MAX);
	}
	va_start(ap, fmt);
	err_vrecord(p, l, first, last, fmt, ap);
	va_end(ap);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Byte offsets of the line to 1-based character columns.  Tokens and
 * errors ask in increasing order, so the walk goes on from the last
 * answer instead of starting over.
 */
struct colmap {
	const char *s;
	size_t len, byte, cols;
};

static uint16_t
col_of(struct colmap *m, size_t byte)
{
	uint32_t cp;

	if (byte < m->byte) {
		m->byte = 0;
		m->cols = 0;
	}
	while (m->byte < byte && m->byte < m->len) {
		m->byte += fw_utf8_next(m->s + m->byte, m->len - m->byte, &cp);
		m->cols++;
	}
	return (uint16_t)HG_MIN(m->cols + 1, UINT16_MAX);
}

/* The column span of bytes [first, end). */
static void
lex_err(struct fw_parser *p, struct fw_line *l, struct colmap *m, size_t first,
    size_t end, const char *msg, int arg)
{
	uint16_t a = col_of(m, first), b = col_of(m, end) - 1;

	fw_err_at(p, l, a, b < a ? a : b, msg, arg);
}

/* A no-break space outside quotes, where a plain blank was meant (text
 * pasted from a web page): one word to us, two to the user. */
static bool
nbsp_at(const char *text, size_t len, size_t i, size_t *k, uint32_t *cp)
{
	if ((unsigned char)text[i] < 0x80)
		return false;
	*k = fw_utf8_next(text + i, len - i, cp);
	return fw_is_nbsp(*cp);
}

int
fw_lex_line(struct fw_parser *p, struct fw_line *l, uint32_t lineno,
    const char *text, size_t len)
{
	struct colmap m = { .s = text, .len = len };
	size_t i = 0, out = 0, start, k;
	struct fw_tok *t;
	uint32_t cp;
	char q;

	l->lineno = lineno;
	l->text = text;
	l->len = len;
	l->n = 0;
	l->cols = 0;
	if (len > FW_LINE_MAX_BYTES) {
		fw_err_at(p, l, 1, 1, "line is %zu bytes long; the limit is %d",
		    len, FW_LINE_MAX_BYTES);
		return -EINVAL;
	}
	l->cols = (uint16_t)fw_utf8_cols(text, len);
	for (;;) {
		while (i < len && is_blank(text[i]))
			i++;
		if (i >= len)
			break;
		if (text[i] == '\0') {
			lex_err(p, l, &m, i, i + 1, "NUL byte in rule text", 0);
			return -EINVAL;
		}
		if (l->n == FW_TOKENS_MAX) {
			lex_err(p, l, &m, i, len, "more than %d words on one line",
			    FW_TOKENS_MAX);
			return -EINVAL;
		}
		t = &l->t[l->n++];
		t->s = l->buf + out;
		t->col_first = col_of(&m, i);
		t->quoted = false;
		while (i < len && !is_blank(text[i])) {
			if (text[i] == '\0') {
				lex_err(p, l, &m, i, i + 1,
				    "NUL byte in rule text", 0);
				return -EINVAL;
			}
			if (nbsp_at(text, len, i, &k, &cp)) {
				lex_err(p, l, &m, i, i + k, "a no-break space "
				    "(U+%04X) is not a blank: separate words "
				    "with plain spaces", (int)cp);
				return -EINVAL;
			}
			if (text[i] != '"' && text[i] != '\'') {
				l->buf[out++] = text[i++];
				continue;
			}
			q = text[i];
			start = i++;
			t->quoted = true;
			while (i < len && text[i] != q) {
				if (q == '"' && text[i] == '\\' && i + 1 < len &&
				    strchr("\"\\'", text[i + 1]) != NULL)
					i++;
				l->buf[out++] = text[i++];
			}
			if (i >= len) {
				lex_err(p, l, &m, start, len,
				    "unterminated quote %c", q);
				return -EINVAL;
			}
			i++;
		}
		t->col_last = col_of(&m, i) - 1;
		l->buf[out++] = '\0';
		/* Rule code copies words into FW_TOKEN_MAX buffers; no valid
		 * word comes near it, so a longer one is refused, not cut. */
		if (strlen(t->s) >= FW_TOKEN_MAX) {
			fw_err_at(p, l, t->col_first, t->col_last, "word is %zu "
			    "bytes long; the limit is %d", strlen(t->s),
			    FW_TOKEN_MAX - 1);
			return -EINVAL;
		}
	}
	return 0;
}

int
fw_err_format(const struct fw_err *e, const char *src, char *buf, size_t size)
{
	struct fw_sbuf sb = { .s = buf, .cap = size, .fixed = true };
	size_t tlen, ntext, first, last;

	if (size > 0)
		buf[0] = '\0';
	if (e->line == 0) {
		fw_sbuf_printf(&sb, "%s: error: %s\n", src, e->msg);
		return (int)sb.want;
	}
	if (e->col_first == e->col_last)
		fw_sbuf_printf(&sb, "%s:%u:%u: error: %s\n", src, e->line,
		    e->col_first, e->msg);
	else
		fw_sbuf_printf(&sb, "%s:%u:%u-%u: error: %s\n", src, e->line,
		    e->col_first, e->col_last, e->msg);
	tlen = strnlen(e->text, sizeof(e->text));
	fw_sbuf_printf(&sb, "%.*s\n", (int)tlen, e->text);
	/* Carets under the span, one a character (columns count
	 * characters); tabs copied so they line up. */
	first = e->col_first ? (size_t)e->col_first - 1 : 0;
	last = e->col_last ? (size_t)e->col_last - 1 : first;
	ntext = fw_utf8_cols(e->text, tlen);
	/* At most one caret past the end (something missing there). */
	last = HG_MIN(last, ntext);
	for (size_t i = 0, col = 0, k; first <= ntext && col <= last;
	    col++, i += k) {
		uint32_t cp;

		k = fw_utf8_next(e->text + i, tlen - i, &cp);
		if (col < first)
			fw_sbuf_printf(&sb, "%c", cp == '\t' ? '\t' : ' ');
		else
			fw_sbuf_printf(&sb, "%c", col == first ? '^' : '~');
	}
	fw_sbuf_printf(&sb, "\n");
	return (int)sb.want;
}
