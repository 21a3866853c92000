/*
 * src/mgmt/store_diff.c: the text diff behind hg_store_diff(), in unified
 * format with three lines of context, line by line.  The config is
 * pretty-printed with sorted keys first so that key order and spacing,
 * which mean nothing, never show.  The store itself is store.c.
 *
 * The edit script is a longest-common-subsequence table over the lines
 * left once the common head and tail are cut off, which for a config
 * change is a handful.  Above STORE_DIFF_CELLS_MAX cells (two whole
 * different rule sets) the middle is shown as removed then added: still a
 * correct diff, only not the shortest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store.h"

#define STORE_DIFF_CONTEXT	3
#define STORE_DIFF_CELLS_MAX	(16u << 20)	/* 64 MiB of uint32_t */

struct sd_lines {
	const char **p;		/* start of each line, into the text */
	size_t *len;		/* without its '\n' */
	size_t n;
};

struct sd_op {
	char op;		/* ' ', '-' or '+' */
	size_t ai, bi;		/* a's and b's line index where it applies */
};

/* A final line without '\n' counts as a line; a final '\n' adds none. */
static int
sd_split(const char *text, struct sd_lines *l)
{
	const char *p, *nl;
	size_t n = 0, cap = 0;

	memset(l, 0, sizeof(*l));
	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p = nl != NULL ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (n == cap) {
			const char **np;
			size_t *nlen;

			cap = cap != 0 ? cap * 2 : 64;
			np = realloc(l->p, cap * sizeof(*np));
			if (np != NULL)
				l->p = np;
			nlen = realloc(l->len, cap * sizeof(*nlen));
			if (nlen != NULL)
				l->len = nlen;
			if (np == NULL || nlen == NULL)
				return -ENOMEM;
		}
		l->p[n] = p;
		l->len[n] = nl != NULL ? (size_t)(nl - p) : strlen(p);
		n++;
		l->n = n;
	}
	return 0;
}

static void
sd_lines_free(struct sd_lines *l)
{
	free(l->p);
	free(l->len);
}

static bool
sd_same(const struct sd_lines *a, size_t i, const struct sd_lines *b,
    size_t j)
{
	return a->len[i] == b->len[j] &&
	    memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

static void
sd_push(struct sd_op *ops, size_t *n, char op, size_t ai, size_t bi)
{
	ops[*n].op = op;
	ops[*n].ai = ai;
	ops[*n].bi = bi;
	(*n)++;
}

/*
 * The middle a[lo..ahi) against b[lo..bhi): lcs[i][j] is the length of the
 * LCS of the suffixes a[lo+i..] and b[lo+j..], so the script is read off
 * walking forward, preferring deletions (as diff does, '-' before '+').
 */
static int
sd_middle(const struct sd_lines *a, const struct sd_lines *b, size_t lo,
    size_t ahi, size_t bhi, struct sd_op *ops, size_t *nops)
{
	size_t n = ahi - lo, m = bhi - lo, i, j, w = m + 1;
	uint32_t *lcs;

	if (n == 0 || m == 0 || (n + 1) > STORE_DIFF_CELLS_MAX / w) {
		for (i = lo; i < ahi; i++)
			sd_push(ops, nops, '-', i, lo);
		for (j = lo; j < bhi; j++)
			sd_push(ops, nops, '+', ahi, j);
		return 0;
	}
	if ((lcs = calloc((n + 1) * w, sizeof(*lcs))) == NULL)
		return -ENOMEM;
	for (i = n; i-- > 0;)
		for (j = m; j-- > 0;)
			lcs[i * w + j] = sd_same(a, lo + i, b, lo + j) ?
			    lcs[(i + 1) * w + j + 1] + 1 :
			    HG_MAX(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
	for (i = 0, j = 0; i < n || j < m;) {
		if (i < n && j < m && sd_same(a, lo + i, b, lo + j)) {
			sd_push(ops, nops, ' ', lo + i, lo + j);
			i++, j++;
		} else if (j == m || (i < n &&
		    lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
			sd_push(ops, nops, '-', lo + i, lo + j);
			i++;
		} else {
			sd_push(ops, nops, '+', lo + i, lo + j);
			j++;
		}
	}
	free(lcs);
	return 0;
}

static int
sd_script(const struct sd_lines *a, const struct sd_lines *b,
    struct sd_op **out, size_t *nout)
{
	size_t head = 0, tail = 0, i, n = 0;
	struct sd_op *ops;
	int rc;

	while (head < a->n && head < b->n && sd_same(a, head, b, head))
		head++;
	while (tail < a->n - head && tail < b->n - head &&
	    sd_same(a, a->n - 1 - tail, b, b->n - 1 - tail))
		tail++;
	if ((ops = calloc(a->n + b->n + 1, sizeof(*ops))) == NULL)
		return -ENOMEM;
	for (i = 0; i < head; i++)
		sd_push(ops, &n, ' ', i, i);
	if ((rc = sd_middle(a, b, head, a->n - tail, b->n - tail, ops,
	    &n)) != 0) {
		free(ops);
		return rc;
	}
	for (i = tail; i > 0; i--)
		sd_push(ops, &n, ' ', a->n - i, b->n - i);
	*out = ops;
	*nout = n;
	return 0;
}

/* "-3,2"; diff leaves out ",1", and names the line before an empty range. */
static void
sd_range(FILE *f, char sign, size_t first, size_t count)
{
	if (count == 1)
		fprintf(f, "%c%zu", sign, first + 1);
	else
		fprintf(f, "%c%zu,%zu", sign, count != 0 ? first + 1 : first,
		    count);
}

static void
sd_hunk(FILE *f, const struct sd_lines *a, const struct sd_lines *b,
    const struct sd_op *ops, size_t start, size_t end)
{
	size_t i, na = 0, nb = 0;

	for (i = start; i < end; i++) {
		na += ops[i].op != '+';
		nb += ops[i].op != '-';
	}
	fputs("@@ ", f);
	sd_range(f, '-', ops[start].ai, na);
	fputc(' ', f);
	sd_range(f, '+', ops[start].bi, nb);
	fputs(" @@\n", f);
	for (i = start; i < end; i++) {
		const struct sd_lines *l = ops[i].op == '+' ? b : a;
		size_t k = ops[i].op == '+' ? ops[i].bi : ops[i].ai;

		fputc(ops[i].op, f);
		fwrite(l->p[k], 1, l->len[k], f);
		fputc('\n', f);
	}
}

/* Groups changes less than two contexts apart into one hunk, as diff -u. */
static void
sd_hunks(FILE *f, const struct sd_lines *a, const struct sd_lines *b,
    const struct sd_op *ops, size_t n)
{
	size_t i = 0, j, last, start, end;

	while (i < n) {
		if (ops[i].op == ' ') {
			i++;
			continue;
		}
		start = i > STORE_DIFF_CONTEXT ? i - STORE_DIFF_CONTEXT : 0;
		for (last = j = i; j < n; j++) {
			if (ops[j].op != ' ')
				last = j;
			else if (j - last > 2 * STORE_DIFF_CONTEXT)
				break;
		}
		end = HG_MIN(n, last + 1 + STORE_DIFF_CONTEXT);
		sd_hunk(f, a, b, ops, start, end);
		i = end;
	}
}

static int
sd_file(FILE *f, const char *name, const char *ta, const char *a_label,
    const char *tb, const char *b_label)
{
	struct sd_lines a = { 0 }, b = { 0 };
	struct sd_op *ops = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = sd_split(ta, &a)) != 0 || (rc = sd_split(tb, &b)) != 0)
		goto out;
	if ((rc = sd_script(&a, &b, &ops, &n)) != 0)
		goto out;
	for (i = 0; i < n && ops[i].op == ' '; i++)
		;
	if (i == n)
		goto out;	/* same lines: say nothing */
	fprintf(f, "--- %s (%s)\n+++ %s (%s)\n", name, a_label, name,
	    b_label);
	sd_hunks(f, &a, &b, ops, n);
out:
	free(ops);
	sd_lines_free(&a);
	sd_lines_free(&b);
	return rc;
}

/* Sorted keys, two-space indent; the text as is if it is not JSON. */
static char *
sd_pretty(const char *config)
{
	json_t *root;
	char *text, *out;
	size_t len;

	if (config == NULL)
		return strdup("");
	root = json_loads(config, JSON_DECODE_ANY, NULL);
	if (root == NULL)
		return strdup(config);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY);
	json_decref(root);
	if (text == NULL)
		return NULL;
	len = strlen(text);
	if ((out = malloc(len + 2)) != NULL) {
		memcpy(out, text, len);
		memcpy(out + len, "\n", 2);
	}
	free(text);
	return out;
}

int
hg_store_diff_docs(const struct hg_store_doc *a, const char *a_label,
    const struct hg_store_doc *b, const char *b_label, char **out)
{
	char *pa, *pb, *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	pa = sd_pretty(a->config);
	pb = sd_pretty(b->config);
	if (pa == NULL || pb == NULL || (f = open_memstream(&buf, &len)) ==
	    NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = sd_file(f, "config.json", pa, a_label, pb, b_label)) == 0 &&
	    (rc = sd_file(f, "rules.v4", a->rules, a_label, b->rules,
	    b_label)) == 0 &&
	    (rc = sd_file(f, "rules.v6", a->rules6, a_label, b->rules6,
	    b_label)) == 0)
		rc = sd_file(f, "sets", a->sets, a_label, b->sets, b_label);
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0)
		*out = buf;
	else
		free(buf);
out:
	free(pa);
	free(pb);
	return rc;
}
