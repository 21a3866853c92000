/*
 * src/lib/log.c: the logger behind log.h. One mutex-free global level; lines
 * are formatted into a stack buffer and written with one write() so lines
 * from several threads do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
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

static void
log_vemit(enum hg_log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char line[1024];
	size_t off = 0;
	int n;

	if (!hg_log_enabled(level))
		return;
	if (!log_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s: ",
		    ts.tv_nsec / 1000000L, level_names[level]);
		off += n > 0 ? (size_t)n : 0;
	}
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n > 0)
		off = HG_MIN(off + (size_t)n, sizeof(line) - 1);
	if (suffix != NULL && off < sizeof(line) - 1) {
		n = snprintf(line + off, sizeof(line) - off, ": %s", suffix);
		if (n > 0)
			off = HG_MIN(off + (size_t)n, sizeof(line) - 1);
	}
	if (log_syslog) {
		syslog(level_prio[level], "%s", line);
		return;
	}
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
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
