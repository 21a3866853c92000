/*
 * bench/classify/acl_none.c: the rte_acl anchor when Meson found no
 * libdpdk: nothing to compare with, and the reason for the benchmark to
 * print.
 */
#include <stdio.h>

#include "acl_anchor.h"

int
acl_init(char *err, size_t err_size)
{
	snprintf(err, err_size, "libdpdk-dev not installed");
	return -1;
}

void
acl_fini(void)
{
}

int
acl_build(const struct cb_set *x, struct acl_anchor **out,
    size_t *mem_bytes, char *err, size_t err_size)
{
	snprintf(err, err_size, "libdpdk-dev not installed");
	return -1;
}

void
acl_free(struct acl_anchor *a)
{
}

unsigned
acl_n_algs(void)
{
	return 0;
}

const char *
acl_alg_name(unsigned i)
{
	return "none";
}

int
acl_set_alg(struct acl_anchor *a, unsigned i)
{
	return -1;
}

void
acl_classify(const struct acl_anchor *a, const uint8_t **data,
    uint32_t *results, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		results[i] = 0;
}
