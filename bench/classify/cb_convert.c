/*
 * bench/classify/cb_convert.c: the rule files the driver (run) needs,
 * from a ClassBench file, with the benchmark's own translation
 * (classbench.h), written to stdout:
 *
 *   cb_convert grow N SEED FILE     a ClassBench set of N rules grown
 *                                   from FILE (cb_grow)
 *   cb_convert hexgate FILE         iptables-restore text for hexgate
 *   cb_convert kernel FILE          the same for iptables-restore
 *   cb_convert nft FILE             the same rules for nft -f
 *   cb_convert added ipt|nft        the rule the one-rule figures add
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classbench.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cb_convert grow N SEED FILE\n"
	    "       cb_convert hexgate|kernel|nft FILE\n"
	    "       cb_convert added ipt|nft\n");
	return 2;
}

static int
load(const char *path, struct cb_set *s)
{
	char err[512];

	if (cb_load(path, s, err, sizeof(err)) != 0) {
		fprintf(stderr, "cb_convert: %s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cb_expand_report rep;
	struct cb_set raw, out;
	enum cb_text kind;
	char line[256], *text;
	size_t len;

	if (argc == 3 && strcmp(argv[1], "added") == 0) {
		if (strcmp(argv[2], "ipt") == 0)
			cb_format_ipt(&cb_rule_added, line, sizeof(line));
		else if (strcmp(argv[2], "nft") == 0)
			cb_format_nft(&cb_rule_added, line, sizeof(line));
		else
			return usage();
		printf("%s\n", line);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "grow") == 0) {
		if (load(argv[4], &raw) != 0)
			return 1;
		if (cb_grow(&raw, (uint32_t)strtoul(argv[2], NULL, 10),
		    strtoull(argv[3], NULL, 10), &out) != 0) {
			fprintf(stderr, "cb_convert: out of memory\n");
			return 1;
		}
		cb_write(stdout, &out);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc != 3)
		return usage();
	if (strcmp(argv[1], "hexgate") == 0)
		kind = CB_TEXT_HEXGATE;
	else if (strcmp(argv[1], "kernel") == 0)
		kind = CB_TEXT_KERNEL;
	else if (strcmp(argv[1], "nft") == 0)
		kind = CB_TEXT_NFT;
	else
		return usage();
	if (load(argv[2], &raw) != 0)
		return 1;
	if (cb_expand(&raw, &out, &rep) != 0 ||
	    (text = cb_text(&out, kind, &len)) == NULL) {
		fprintf(stderr, "cb_convert: out of memory\n");
		return 1;
	}
	fwrite(text, 1, len, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
