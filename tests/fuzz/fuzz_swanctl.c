/*
 * tests/fuzz/fuzz_swanctl.c: libFuzzer target for hg_swanctl_import()
 * (src/mgmt/swanctl.c), which reads a swanctl.conf a user brings from
 * elsewhere.  The input is copied to an exact-size heap buffer so ASan
 * sees any read past it.  A success is a JSON object that dumps and loads
 * again; a failure has a message with its place and no object; the
 * warnings buffer is small, so that running out of it is tried too, and
 * is always a terminated string inside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/swanctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s\n", #cond);	\
		abort();						\
	}								\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char warnings[300], err[256], *text = malloc(size ? size : 1), *s;
	json_t *out = (json_t *)1, *again;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	rc = hg_swanctl_import(NULL, text, size, &out, warnings,
	    sizeof(warnings), err, sizeof(err));
	CHECK(memchr(warnings, '\0', sizeof(warnings)) != NULL);
	if (rc < 0) {
		CHECK(out == NULL);
		CHECK(strncmp(err, "swanctl.conf:", 13) == 0);
		free(text);
		return 0;
	}
	CHECK(json_is_object(out));
	CHECK(json_is_object(json_object_get(out, "connections")));
	CHECK(json_is_object(json_object_get(out, "secrets")));
	s = json_dumps(out, JSON_COMPACT);
	CHECK(s != NULL);
	again = json_loads(s, 0, NULL);
	CHECK(again != NULL && json_equal(again, out));
	json_decref(again);
	free(s);
	json_decref(out);
	free(text);
	return 0;
}
