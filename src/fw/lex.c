/*
 * src/fw/lex.c: cuts one line of rule text into tokens the way
 * iptables-restore does (blanks separate, "double" and 'single' quotes
 * group, a backslash escapes inside double quotes), keeping each token's
 * column span for error messages; and records and formats those errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fw_priv.h"

static void
err_vrecord(struct fw_parser *p, const struct fw_line *l, uint16_t first,
    uint16_t last, const char *fmt, va_list ap)
{
	struct fw_err *e;
	size_t n;

	if (p->errs->n++ >= FW_ERR_MAX)
		return;
	e = &p->errs->e[p->errs->n - 1];
	memset(e, 0, sizeof(*e));
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (l == NULL)
		return;
	e->line = l->lineno;
	e->col_first = first;
	e->col_last = last < first ? first : last;
	n = HG_MIN(l->len, sizeof(e->text) - 1);
	memcpy(e->text, l->text, n);
	e->text[n] = '\0';
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
		first = last = (uint16_t)HG_MIN(l->len + 1, UINT16_MAX);
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

int
fw_lex_line(struct fw_parser *p, struct fw_line *l, uint32_t lineno,
    const char *text, size_t len)
{
	size_t i = 0, out = 0, start;
	struct fw_tok *t;
	char q;

	l->lineno = lineno;
	l->text = text;
	l->len = len;
	l->n = 0;
	if (len > 4096) {
		fw_err_at(p, l, 1, 1, "line is %zu bytes long; the limit is 4096",
		    len);
		return -EINVAL;
	}
	for (;;) {
		while (i < len && is_blank(text[i]))
			i++;
		if (i >= len)
			break;
		if (text[i] == '\0') {
			fw_err_at(p, l, i + 1, i + 1, "NUL byte in rule text");
			return -EINVAL;
		}
		if (l->n == FW_TOKENS_MAX) {
			fw_err_at(p, l, i + 1, len, "more than %d words on one line",
			    FW_TOKENS_MAX);
			return -EINVAL;
		}
		t = &l->t[l->n++];
		t->s = l->buf + out;
		t->col_first = i + 1;
		t->quoted = false;
		while (i < len && !is_blank(text[i])) {
			if (text[i] == '\0') {
				fw_err_at(p, l, i + 1, i + 1,
				    "NUL byte in rule text");
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
				fw_err_at(p, l, start + 1, len,
				    "unterminated quote %c", q);
				return -EINVAL;
			}
			i++;
		}
		t->col_last = i;
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
	size_t tlen, first, last;

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
	/* Carets under the span; tabs copied so they line up. */
	first = e->col_first ? (size_t)e->col_first - 1 : 0;
	last = e->col_last ? (size_t)e->col_last - 1 : first;
	for (size_t i = 0; i < first; i++)
		fw_sbuf_printf(&sb, "%c", i < tlen && e->text[i] == '\t' ? '\t' : ' ');
	for (size_t i = first; i <= last && i <= tlen; i++)
		fw_sbuf_printf(&sb, "%c", i == first ? '^' : '~');
	fw_sbuf_printf(&sb, "\n");
	return (int)sb.want;
}
