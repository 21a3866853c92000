/*
 * bench/classify/acl_dpdk.c: the rte_acl anchor (acl_anchor.h) over DPDK
 * 22.11.  The EAL runs without hugepages, PCI or shared config, on one
 * lcore; rte_acl takes its memory from the EAL's heap, which is how its
 * size is measured.
 *
 * The field layout is DPDK's usual IPv4 5-tuple: the 1-byte protocol
 * first (rte_acl wants its first field 1 byte wide), then source and
 * destination in 4-byte input groups, then both ports in one.  Rule values
 * are in host order; the packet bytes are read in network order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "acl_anchor.h"

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_COUNT };

RTE_ACL_RULE_DEF(acl4_rule, F_COUNT);

struct acl_anchor {
	struct rte_acl_ctx *ctx;
};

/* Offsets from the protocol byte (IPv4 header offset 9). */
static const struct rte_acl_field_def defs[F_COUNT] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
	  .field_index = F_PROTO, .input_index = 0, .offset = 0 },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
	  .field_index = F_SRC, .input_index = 1, .offset = 12 - 9 },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
	  .field_index = F_DST, .input_index = 2, .offset = 16 - 9 },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
	  .field_index = F_SPORT, .input_index = 3, .offset = 20 - 9 },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
	  .field_index = F_DPORT, .input_index = 3, .offset = 22 - 9 },
};

static const struct {
	const char *name;
	enum rte_acl_classify_alg alg;
} algs[] = {
	{ "SCALAR", RTE_ACL_CLASSIFY_SCALAR },
	{ "SSE", RTE_ACL_CLASSIFY_SSE },
	{ "AVX2", RTE_ACL_CLASSIFY_AVX2 },
	{ "AVX512X16", RTE_ACL_CLASSIFY_AVX512X16 },
	{ "AVX512X32", RTE_ACL_CLASSIFY_AVX512X32 },
};

static bool eal_up;
static unsigned n_ctx;

int
acl_init(char *err, size_t err_size)
{
	/* --force-max-simd-bitwidth: else the EAL caps rte_acl at 256-bit
	 * vectors and the AVX512 algorithms refuse. */
	char *argv[] = {
		"bench_classify", "--no-huge", "--no-pci", "--no-shconf",
		"-m", "2048", "-l", "0", "--log-level=error",
		"--force-max-simd-bitwidth=512", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (eal_up)
		return 0;
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, err_size, "rte_eal_init: %s",
		    rte_strerror(rte_errno));
		return -1;
	}
	eal_up = true;
	return 0;
}

void
acl_fini(void)
{
	if (eal_up)
		rte_eal_cleanup();
	eal_up = false;
}

static size_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;

	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
		    &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static void
to_acl(const struct cb_rule *r, uint32_t i, uint32_t n, struct acl4_rule *a)
{
	memset(a, 0, sizeof(*a));
	a->data.category_mask = 1;
	/* First match: earlier rules win, so they rank higher. */
	a->data.priority = (int32_t)(n - i);
	a->data.userdata = i + 1;
	a->field[F_PROTO].value.u8 = r->proto_any ? 0 : r->proto;
	a->field[F_PROTO].mask_range.u8 = r->proto_any ? 0 : 0xff;
	a->field[F_SRC].value.u32 = r->src;
	a->field[F_SRC].mask_range.u32 = r->src_len;
	a->field[F_DST].value.u32 = r->dst;
	a->field[F_DST].mask_range.u32 = r->dst_len;
	a->field[F_SPORT].value.u16 = r->sp_lo;
	a->field[F_SPORT].mask_range.u16 = r->sp_hi;
	a->field[F_DPORT].value.u16 = r->dp_lo;
	a->field[F_DPORT].mask_range.u16 = r->dp_hi;
}

int
acl_build(const struct cb_set *x, struct acl_anchor **out,
    size_t *mem_bytes, char *err, size_t err_size)
{
	struct rte_acl_config cfg;
	struct rte_acl_param prm;
	struct acl_anchor *a;
	struct acl4_rule *rules;
	size_t before = heap_bytes();
	char name[RTE_ACL_NAMESIZE];
	int rc;

	if (x->n >= (uint32_t)RTE_ACL_MAX_PRIORITY) {
		snprintf(err, err_size, "too many rules for rte_acl");
		return -1;
	}
	rules = calloc(x->n, sizeof(*rules));
	a = calloc(1, sizeof(*a));
	if (rules == NULL || a == NULL) {
		free(rules);
		free(a);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < x->n; i++)
		to_acl(&x->r[i], i, x->n, &rules[i]);
	/* A new name each time: rte_acl_create() hands back an existing
	 * context of the same name. */
	snprintf(name, sizeof(name), "hgbench%u", n_ctx++);
	memset(&prm, 0, sizeof(prm));
	prm.name = name;
	prm.socket_id = SOCKET_ID_ANY;
	prm.rule_size = RTE_ACL_RULE_SZ(F_COUNT);
	prm.max_rule_num = x->n;
	a->ctx = rte_acl_create(&prm);
	if (a->ctx == NULL) {
		snprintf(err, err_size, "rte_acl_create: %s",
		    rte_strerror(rte_errno));
		goto fail;
	}
	rc = rte_acl_add_rules(a->ctx, (const struct rte_acl_rule *)rules,
	    x->n);
	if (rc != 0) {
		snprintf(err, err_size, "rte_acl_add_rules: %s",
		    strerror(-rc));
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.num_categories = 1;
	cfg.num_fields = F_COUNT;
	memcpy(cfg.defs, defs, sizeof(defs));
	rc = rte_acl_build(a->ctx, &cfg);
	if (rc != 0) {
		snprintf(err, err_size, "rte_acl_build: %s", strerror(-rc));
		goto fail;
	}
	*mem_bytes = heap_bytes() - before;
	free(rules);
	*out = a;
	return 0;
fail:
	free(rules);
	acl_free(a);
	return -1;
}

void
acl_free(struct acl_anchor *a)
{
	if (a == NULL)
		return;
	rte_acl_free(a->ctx);
	free(a);
}

unsigned
acl_n_algs(void)
{
	return (unsigned)(sizeof(algs) / sizeof(algs[0]));
}

const char *
acl_alg_name(unsigned i)
{
	return i < acl_n_algs() ? algs[i].name : "?";
}

int
acl_set_alg(struct acl_anchor *a, unsigned i)
{
	if (i >= acl_n_algs())
		return -1;
	return rte_acl_set_ctx_classify(a->ctx, algs[i].alg) == 0 ? 0 : -1;
}

void
acl_classify(const struct acl_anchor *a, const uint8_t **data,
    uint32_t *results, uint32_t n)
{
	(void)rte_acl_classify(a->ctx, data, results, n, 1);
}
