/*
 * src/pkt/drop.c: names and sentences for the drop reasons of drop.h, for
 * counters in the API, the CLI and the metrics.  Not on the fast path.
 */
#include <ctype.h>
#include <pthread.h>

#include "drop.h"

#define PKT_DROP_NAME_MAX	24

#define PKT_DROP_TEXT(name, text) text,
static const char *const drop_text[PKT_DROP_COUNT] = {
	PKT_DROP_REASONS(PKT_DROP_TEXT)
};
#undef PKT_DROP_TEXT

#define PKT_DROP_UPPER(name, text) #name,
static const char *const drop_upper[PKT_DROP_COUNT] = {
	PKT_DROP_REASONS(PKT_DROP_UPPER)
};
#undef PKT_DROP_UPPER

/*
 * The preprocessor cannot lowercase, so the snake_case names are made once
 * from the enum spellings, under pthread_once because any thread may ask
 * first.
 */
static char drop_name[PKT_DROP_COUNT][PKT_DROP_NAME_MAX];
static pthread_once_t drop_name_once = PTHREAD_ONCE_INIT;

static void
drop_name_init(void)
{
	for (int r = 0; r < PKT_DROP_COUNT; r++) {
		const char *s = drop_upper[r];
		size_t i;

		for (i = 0; s[i] != '\0' && i < PKT_DROP_NAME_MAX - 1; i++)
			drop_name[r][i] = (char)tolower((unsigned char)s[i]);
		drop_name[r][i] = '\0';
	}
}

const char *
pkt_drop_name(enum pkt_drop reason)
{
	if ((unsigned)reason >= PKT_DROP_COUNT)
		return "unknown";
	(void)pthread_once(&drop_name_once, drop_name_init);	/* cannot fail */
	return drop_name[reason];
}

const char *
pkt_drop_text(enum pkt_drop reason)
{
	if ((unsigned)reason >= PKT_DROP_COUNT)
		return "unknown drop reason";
	return drop_text[reason];
}
