/*
 * src/lib/log.h: levelled logging to stderr or syslog. A line says what
 * happened, to which object, and what hexgate did about it; the module
 * prefix comes first ("ip: ...").  hg_log_warn() appends strerror(errno),
 * hg_log_warnx() does not.  Nothing here is for per-packet use: the data
 * plane counts instead of logging.
 */
#ifndef HG_LOG_H
#define HG_LOG_H

#include <stdbool.h>

#include "hg.h"

enum hg_log_level {
	HG_LOG_ERR,
	HG_LOG_WARN,
	HG_LOG_INFO,
	HG_LOG_DEBUG,
	HG_LOG_LEVEL_COUNT
};

/* Parse "error", "warn", "info", "debug"; -EINVAL on anything else. */
int hg_log_level_parse(const char *name, enum hg_log_level *out) HG_MUST_CHECK;
const char *hg_log_level_name(enum hg_log_level level);

/* Sends log lines to syslog (ident) when use_syslog, stderr otherwise. */
void hg_log_init(const char *ident, enum hg_log_level level, bool use_syslog);
void hg_log_set_level(enum hg_log_level level);
bool hg_log_enabled(enum hg_log_level level);

void hg_log(enum hg_log_level level, const char *fmt, ...) HG_PRINTF(2, 3);
void hg_log_warn(const char *fmt, ...) HG_PRINTF(1, 2);
void hg_log_warnx(const char *fmt, ...) HG_PRINTF(1, 2);
void hg_log_info(const char *fmt, ...) HG_PRINTF(1, 2);
void hg_log_debug(const char *fmt, ...) HG_PRINTF(1, 2);
/* For states that cannot happen; never for bad input. */
HG_NORETURN void hg_fatal(const char *fmt, ...) HG_PRINTF(1, 2);
HG_NORETURN void hg_fatalx(const char *fmt, ...) HG_PRINTF(1, 2);

#endif /* HG_LOG_H */
