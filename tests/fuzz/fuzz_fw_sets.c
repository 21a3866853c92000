/*
 * tests/fuzz/fuzz_fw_sets.c: libFuzzer target for the named-set restore
 * parser (src/fw/set.h). The input is restored twice into a registry:
 * first onto an empty one, then on top of the result, so that the
 * transaction code also meets existing sets. Whatever fw_sets_restore()
 * returns must be consistent: errors only on failure and the registry
 * unchanged then; every stored error has a message and a terminated
 * line. On success the saved form must restore into a fresh registry
 * and save back identically. Seeds are in corpus/fw_sets/.
 *
 * A port range adds one member per port ("add s 1.2.3.4,1-65535" is
 * 65536 members in 20 bytes), so inputs with many '-' are skipped: they
 * only measure memory, and libFuzzer's RSS limit would call that a bug.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw/fw.h"
#include "fw/set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
restore(struct fw_sets *reg, const char *text, size_t len,
    struct fw_errs *errs)
{
	struct fw_set **old;
	size_t n_old;
	char buf[1024];
	int error;

	error = fw_sets_restore(reg, text, len, &old, &n_old, errs);
	if (error == 0 && errs->n != 0)
		abort();
	if (error == -EINVAL) {
		if (errs->n == 0 || old != NULL)
			abort();
		for (unsigned i = 0; i < errs->n && i < FW_ERR_MAX; i++) {
			if (errs->e[i].msg[0] == '\0' || memchr(errs->e[i].text,
			    '\0', sizeof(errs->e[i].text)) == NULL)
				abort();
			(void)fw_err_format(&errs->e[i], "fuzz", buf,
			    sizeof(buf));
		}
	}
	for (size_t i = 0; i < n_old; i++)
		fw_set_free(old[i]);
	free(old);
	return error;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fw_errs errs;
	struct fw_sets *reg = fw_sets_new(), *again = fw_sets_new();
	char *before = NULL, *after = NULL, *text2 = NULL;

	size_t dashes = 0;

	for (size_t i = 0; i < size; i++)
		dashes += data[i] == '-';
	if (dashes > 16) {
		fw_sets_free(reg);
		fw_sets_free(again);
		return 0;
	}
	if (reg == NULL || again == NULL)
		abort();
	for (int round = 0; round < 2; round++) {
		free(before);
		before = fw_sets_save(reg);
		if (restore(reg, (const char *)data, size, &errs) != 0) {
			after = fw_sets_save(reg);
			if (before == NULL || after == NULL ||
			    strcmp(before, after) != 0)
				abort();
			free(after);
			after = NULL;
		}
	}
	/* Whatever stands now saves, restores and saves the same. */
	after = fw_sets_save(reg);
	if (after == NULL || restore(again, after, strlen(after), &errs) != 0)
		abort();
	text2 = fw_sets_save(again);
	if (text2 == NULL || strcmp(after, text2) != 0)
		abort();
	free(before);
	free(after);
	free(text2);
	fw_sets_free(reg);
	fw_sets_free(again);
	return 0;
}
