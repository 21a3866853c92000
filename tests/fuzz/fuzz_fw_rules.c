/*
 * tests/fuzz/fuzz_fw_rules.c: libFuzzer target for the firewall rule
 * parser (src/fw). The first input byte picks the mode: bit 0 IPv6,
 * bit 1 the one-line customer form instead of iptables-restore text.
 * Whatever fw_parse() returns must be consistent: a rule set and no
 * errors, or errors and no rule set; every stored error has a message and
 * a terminated line. A rule set must print, and the printed form must
 * parse back to an equal rule set. Seeds are in corpus/fw_rules/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw/fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sets[] = { "office", "blocked" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fw_errs errs, errs2;
	struct fw_parse_opts o = { .sets = sets, .n_sets = 2 };
	struct fw_ruleset *rs = NULL, *again = NULL;
	char *text;
	char buf[1024];

	if (size == 0)
		return 0;
	o.family = (data[0] & 1) ? FW_IPV6 : FW_IPV4;
	o.syntax = (data[0] & 2) ? FW_SYNTAX_ONE_LINE : FW_SYNTAX_RESTORE;
	if (fw_parse((const char *)data + 1, size - 1, &o, &rs, &errs) != 0) {
		if (rs != NULL || errs.n == 0)
			abort();
		for (unsigned i = 0; i < errs.n && i < FW_ERR_MAX; i++) {
			if (errs.e[i].msg[0] == '\0' ||
			    memchr(errs.e[i].text, '\0', sizeof(errs.e[i].text)) == NULL)
				abort();
			(void)fw_err_format(&errs.e[i], "fuzz", buf, sizeof(buf));
		}
		return 0;
	}
	if (rs == NULL || errs.n != 0)
		abort();
	/* The printed form is restore text whatever the input's form was. */
	text = fw_ruleset_print(rs, FW_PRINT_COUNTERS);
	if (text == NULL)
		abort();
	o.syntax = FW_SYNTAX_RESTORE;
	if (fw_parse(text, strlen(text), &o, &again, &errs2) != 0 ||
	    !fw_ruleset_equal(rs, again))
		abort();
	free(text);
	fw_ruleset_free(again);
	fw_ruleset_free(rs);
	return 0;
}
