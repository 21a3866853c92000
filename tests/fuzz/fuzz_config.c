/*
 * tests/fuzz/fuzz_config.c: libFuzzer target for the configuration parser
 * (src/mgmt/config.c).  Arbitrary bytes go to hg_config_parse(); whatever
 * it returns must be freed cleanly, and an error list must be well formed:
 * every stored message terminated and non-empty.  Seeds are in
 * corpus/config/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	cfg = hg_config_parse((const char *)data, size, &errs);
	if (cfg != NULL) {
		if (errs.n != 0 || cfg->n_ifs > HG_CFG_IF_MAX)
			abort();
		for (uint32_t i = 0; i < cfg->n_routes; i++)
			if (cfg->routes[i].if_idx >= (int)cfg->n_ifs)
				abort();
		hg_config_free(cfg);
		return 0;
	}
	if (errs.n == 0)
		abort();
	for (unsigned i = 0; i < errs.n && i < HG_CFG_ERR_MAX; i++)
		if (memchr(errs.e[i].where, '\0', sizeof(errs.e[i].where)) == NULL ||
		    errs.e[i].msg[0] == '\0')
			abort();
	return 0;
}
