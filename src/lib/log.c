/*
 * src/lib/log.c: the logger behind log.h. One mutex-free global level; lines
 * are formatted into a stack buffer and written with one write() so lines
 * from several threads do not interleave.
 *
 * Messages echo what users and peers sent (rule text, configuration,
 * names), which may be any bytes: every message is escaped here, once for
 * all callers, so a log never carries a byte a terminal or a log reader
 * acts on (controls, DEL, C1, bidirectional overrides, bytes that are not
 * UTF-8 become \xNN), and is cut at HG_LOG_MSG_MAX bytes, saying so.  A
 * newline in a message starts an indented continuation line, so a message
 * cannot forge a line of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[HG_LOG_LEVEL_COUNT] = {
	[HG_LOG_ERR] = "error",
	[HG_LOG_WARN] = "warn",
	[HG_LOG_INFO] = "info",
	[HG_LOG_DEBUG] = "debug",
};
static const int level_prio[HG_LOG_LEVEL_COUNT] = {
	[HG_LOG_ERR] = LOG_ERR,
	[HG_LOG_WARN] = LOG_WARNING,
	[HG_LOG_INFO] = LOG_INFO,
	[HG_LOG_DEBUG] = LOG_DEBUG,
};

#define HG_LOG_MSG_MAX	1024	/* bytes of one message as logged */
#define LOG_CONT	"    "	/* starts a continuation line */

static volatile int log_level = HG_LOG_INFO;
static bool log_syslog;

int
hg_log_level_parse(const char *name, enum hg_log_level *out)
{
	for (int i = 0; i < HG_LOG_LEVEL_COUNT; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum hg_log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		*out = HG_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *
hg_log_level_name(enum hg_log_level level)
{
	return (unsigned)level < HG_LOG_LEVEL_COUNT ? level_names[level] : "?";
}

void
hg_log_init(const char *ident, enum hg_log_level level, bool use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
hg_log_set_level(enum hg_log_level level)
{
	log_level = level;
}

bool
hg_log_enabled(enum hg_log_level level)
{
	return (int)level <= log_level;
}

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code
 * point, or 0 when s starts none (RFC 3629 §4). */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (n <= need)
		return 0;
	*cp = s[0] & (0x7f >> (need + 1));
	for (size_t i = 1; i <= need; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return need + 1;
}

/* C1 controls and the bidirectional overrides reorder or hide text. */
static bool
cp_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * raw[0..n) into out (size bytes, NUL-terminated) as log_vemit()'s header
 * comment says; trailing newlines dropped.  Returns the bytes of raw it
 * could not fit.
 */
static size_t
log_escape(char *out, size_t size, const char *raw, size_t n)
{
	const unsigned char *s = (const unsigned char *)raw;
	size_t o = 0, i = 0, k;
	uint32_t cp;
	char esc[sizeof(LOG_CONT) + 16];

	while (n > 0 && raw[n - 1] == '\n')
		n--;
	while (i < n) {
		k = 1;
		if (s[i] == '\n')
			snprintf(esc, sizeof(esc), "\n%s", LOG_CONT);
		else if (s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f))
			snprintf(esc, sizeof(esc), "%c", s[i]);
		else if (s[i] >= 0x80 && (k = utf8_seq(s + i, n - i, &cp)) > 0 &&
		    !cp_unsafe(cp)) {
			memcpy(esc, s + i, k);
			esc[k] = '\0';
		} else {
			size_t e = 0;

			k = HG_MAX(k, (size_t)1);
			for (size_t j = 0; j < k; j++)
				e += (size_t)snprintf(esc + e, sizeof(esc) - e,
				    "\\x%02x", s[i + j]);
		}
		if (o + strlen(esc) >= size)
			break;
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
		i += k;
	}
	out[o] = '\0';
	return n - i;
}

static void
log_vemit(enum hg_log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char raw[HG_LOG_MSG_MAX * 2], msg[HG_LOG_MSG_MAX], line[1280];
	char mark[48];
	size_t off = 0, cut;
	int n;

	if (!hg_log_enabled(level))
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		n = 0;
	if (suffix != NULL && (size_t)n < sizeof(raw))
		n += snprintf(raw + n, sizeof(raw) - (size_t)n, ": %s", suffix);
	/* Room kept for the mark that says the message was cut. */
	cut = log_escape(msg, sizeof(msg) - sizeof(mark), raw,
	    HG_MIN((size_t)n, sizeof(raw) - 1));
	cut += (size_t)n > sizeof(raw) - 1 ? (size_t)n - (sizeof(raw) - 1) : 0;
	if (cut > 0) {
		size_t m = strlen(msg);
		int k = snprintf(mark, sizeof(mark), " ... [%zu bytes cut]",
		    cut);

		if (k > 0 && m + (size_t)k < sizeof(msg))
			memcpy(msg + m, mark, (size_t)k + 1);
	}
	if (log_syslog) {
		/* One syslog line a line of the message. */
		for (char *at = msg, *nl; at != NULL; at = nl) {
			nl = strchr(at, '\n');
			if (nl != NULL)
				*nl++ = '\0';
			syslog(level_prio[level], "%s", at);
		}
		return;
	}
	{
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s: %s",
		    ts.tv_nsec / 1000000L, level_names[level], msg);
		off = HG_MIN(off + (n > 0 ? (size_t)n : 0), sizeof(line) - 2);
	}
	line[off++] = '\n';
	/* One write per line; a short write to stderr is not worth retrying. */
	(void)!write(STDERR_FILENO, line, off);
}

#define LOG_FN(name, level, with_errno)                                 \
	void name(const char *fmt, ...)                                 \
	{                                                               \
		int saved = errno;                                      \
		va_list ap;                                             \
		va_start(ap, fmt);                                      \
		log_vemit(level, with_errno ? strerror(saved) : NULL,   \
		    fmt, ap);                                           \
		va_end(ap);                                             \
		errno = saved;                                          \
	}

LOG_FN(hg_log_warn, HG_LOG_WARN, true)
LOG_FN(hg_log_warnx, HG_LOG_WARN, false)
LOG_FN(hg_log_info, HG_LOG_INFO, false)
LOG_FN(hg_log_debug, HG_LOG_DEBUG, false)

void
hg_log(enum hg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, NULL, fmt, ap);
	va_end(ap);
}

void
hg_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(HG_LOG_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	abort();
}

void
hg_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(HG_LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	abort();
}
