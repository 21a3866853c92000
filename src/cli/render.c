/*
 * src/cli/render.c: turns hexgated's JSON answers into the tables hexctl
 * prints.  Each known command has one function that picks columns out of
 * the answer; table_print() does the alignment for all of them.  A field
 * the answer lacks prints as "-", so an older or newer daemon still gives
 * a readable table; an answer without the expected array prints as JSON.
 * A command is known by its first words, so "firewall save -6" and
 * "show routes -6" find their renderer too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"

struct col {
	const char *head;
	const char *key;	/* field of each element */
	bool right;		/* numbers align right */
};

struct table {
	const struct col *cols;
	size_t ncols;
	size_t nrows;
	char **cells;		/* nrows * ncols, owned */
	char **trailers;	/* nrows, lines printed under a row, or NULL */
};

/* A field as text: strings as they are, numbers in decimal, "-" if absent. */
static char *
field_text(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	char *s = NULL;

	if (v == NULL || json_is_null(v))
		s = strdup("-");
	else if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_integer(v)) {
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) < 0)
			s = NULL;
	} else
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return s != NULL ? s : strdup("?");
}

static int
table_fill(struct table *t, const json_t *arr)
{
	size_t i;
	json_t *row;

	t->nrows = json_array_size(arr);
	t->cells = calloc(t->nrows * t->ncols + 1, sizeof(*t->cells));
	t->trailers = calloc(t->nrows + 1, sizeof(*t->trailers));
	if (t->cells == NULL || t->trailers == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, row) {
		for (size_t c = 0; c < t->ncols; c++) {
			t->cells[i * t->ncols + c] = field_text(row, t->cols[c].key);
			if (t->cells[i * t->ncols + c] == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; t->cells != NULL && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (size_t i = 0; t->trailers != NULL && i < t->nrows; i++)
		free(t->trailers[i]);
	free(t->cells);
	free(t->trailers);
}

static void
row_print(const struct table *t, const size_t *width, const char *const *cell,
    FILE *out)
{
	for (size_t c = 0; c < t->ncols; c++) {
		bool last = c + 1 == t->ncols;
		int pad = (int)(width[c] - strlen(cell[c]));

		if (t->cols[c].right)
			fprintf(out, "%*s%s", pad, "", cell[c]);
		else if (last)
			fputs(cell[c], out);	/* no trailing blanks */
		else
			fprintf(out, "%s%*s", cell[c], pad, "");
		fputs(last ? "\n" : "  ", out);
	}
}

static void
table_print(const struct table *t, FILE *out)
{
	const char *heads[16];
	size_t width[16];

	for (size_t c = 0; c < t->ncols; c++) {
		heads[c] = t->cols[c].head;
		width[c] = strlen(heads[c]);
		for (size_t r = 0; r < t->nrows; r++)
			width[c] = HG_MAX(width[c],
			    strlen(t->cells[r * t->ncols + c]));
	}
	row_print(t, width, heads, out);
	for (size_t r = 0; r < t->nrows; r++) {
		row_print(t, width, (const char *const *)&t->cells[r * t->ncols],
		    out);
		if (t->trailers[r] != NULL)
			fputs(t->trailers[r], out);
	}
}

/* "  drop no_route: 12" lines for each nonzero reason, as the server lists them. */
static char *
drops_text(const json_t *ifc)
{
	const json_t *drops = json_object_get(ifc, "drops");
	const char *reason;
	json_t *n;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!json_is_object(drops) || json_object_size(drops) == 0)
		return NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	json_object_foreach((json_t *)drops, reason, n) {
		char *count = field_text(drops, reason);

		fprintf(f, "  drop %s: %s\n", reason, count != NULL ? count : "?");
		free(count);
	}
	fclose(f);
	return buf;
}

static const struct col if_cols[] = {
	{ "NAME", "name", false },
	{ "PORT", "port", false },
	{ "MTU", "mtu", true },
	{ "RX-PKTS", "rx_packets", true },
	{ "RX-BYTES", "rx_bytes", true },
	{ "TX-PKTS", "tx_packets", true },
	{ "TX-BYTES", "tx_bytes", true },
	{ "DROPS", "drops_total", true },
};

static const struct col neigh_cols[] = {
	{ "INTERFACE", "interface", false },
	{ "IP", "ip", false },
	{ "MAC", "mac", false },
	{ "STATE", "state", false },
};

static const struct col route_cols[] = {
	{ "PREFIX", "prefix", false },
	{ "VIA", "via", false },
	{ "INTERFACE", "interface", false },
	{ "TYPE", "type", false },
};

/* 1 when resp has no array under key (the caller falls back to JSON). */
static int
render_table(const json_t *resp, const char *key, const struct col *cols,
    size_t ncols, bool drops, FILE *out)
{
	const json_t *arr = json_object_get(resp, key);
	struct table t = { .cols = cols, .ncols = ncols };
	int rc;

	if (!json_is_array(arr))
		return 1;
	if ((rc = table_fill(&t, arr)) == 0) {
		for (size_t i = 0; drops && i < t.nrows; i++)
			t.trailers[i] = drops_text(json_array_get(arr, i));
		table_print(&t, out);
	}
	table_free(&t);
	return rc;
}

static int
render_interfaces(const json_t *resp, FILE *out)
{
	return render_table(resp, "interfaces", if_cols,
	    HG_ARRAY_SIZE(if_cols), true, out);
}

static int
render_neighbors(const json_t *resp, FILE *out)
{
	return render_table(resp, "neighbors", neigh_cols,
	    HG_ARRAY_SIZE(neigh_cols), false, out);
}

static int
render_routes(const json_t *resp, FILE *out)
{
	return render_table(resp, "routes", route_cols,
	    HG_ARRAY_SIZE(route_cols), false, out);
}

/* "key: value" lines, values aligned, in the server's order; an object
 * is a section of its own lines, indented under its key. */
static void
keys_print(const json_t *obj, int indent, FILE *out)
{
	const char *key;
	json_t *v;
	size_t width = 0;

	json_object_foreach((json_t *)obj, key, v)
		if (!json_is_object(v))
			width = HG_MAX(width, strlen(key));
	json_object_foreach((json_t *)obj, key, v) {
		char *s;

		if (json_is_object(v)) {
			fprintf(out, "%*s%s:\n", indent, "", key);
			keys_print(v, indent + 2, out);
			continue;
		}
		s = field_text(obj, key);
		fprintf(out, "%*s%s:%*s %s\n", indent, "", key,
		    (int)(width - strlen(key)), "", s != NULL ? s : "?");
		free(s);
	}
}

static int
render_keys(const json_t *resp, FILE *out)
{
	if (json_object_size(resp) == 0)
		return 1;
	keys_print(resp, 0, out);
	return 0;
}

static int
render_reload(const json_t *resp, FILE *out)
{
	const json_t *version = json_object_get(resp, "version");

	if (!json_is_true(json_object_get(resp, "ok")))
		return 1;
	if (json_is_integer(version))
		fprintf(out, "configuration reloaded: version %" JSON_INTEGER_FORMAT
		    "\n", json_integer_value(version));
	else
		fprintf(out, "configuration reloaded\n");
	return 0;
}

/* firewall save, sets save: the text as the server made it. */
static int
render_text(const json_t *resp, FILE *out)
{
	const json_t *text = json_object_get(resp, "text");

	if (!json_is_string(text))
		return 1;
	fwrite(json_string_value(text), 1, json_string_length(text), out);
	return 0;
}

/* Rule and element changes say nothing when they worked, as iptables. */
static int
render_ok(const json_t *resp, FILE *out)
{
	return json_is_true(json_object_get(resp, "ok")) ? 0 : 1;
}

/* ", 12 rules" for each count the answer has, "" when it has none. */
static void
counts_print(const json_t *resp, const char *const *keys, size_t n,
    FILE *out)
{
	const char *sep = " ";

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(resp, keys[i]);
		json_int_t c;

		if (!json_is_integer(v))
			continue;
		c = json_integer_value(v);
		/* "1 rule", "2 rules": drop the key's plural s for one. */
		fprintf(out, "%s%" JSON_INTEGER_FORMAT " %.*s", sep, c,
		    (int)strlen(keys[i]) - (c == 1), keys[i]);
		sep = ", ";
	}
}

/* "restored" and the counts a restore reply carries. */
static int
render_restored(const json_t *resp, const char *const *keys, size_t n_keys,
    FILE *out)
{
	const json_t *msg = json_object_get(resp, "message");

	if (!json_is_true(json_object_get(resp, "ok")))
		return 1;
	/* A restore that names no table changes nothing, and says so. */
	if (json_is_false(json_object_get(resp, "changed")) &&
	    json_is_string(msg)) {
		fprintf(out, "%s\n", json_string_value(msg));
		return 0;
	}
	fputs("restored", out);
	counts_print(resp, keys, n_keys, out);
	fputc('\n', out);
	return 0;
}

static int
render_fw_restore(const json_t *resp, FILE *out)
{
	static const char *const keys[] = { "rules" };

	return render_restored(resp, keys, HG_ARRAY_SIZE(keys), out);
}

static int
render_sets_restore(const json_t *resp, FILE *out)
{
	static const char *const keys[] = { "sets", "elements" };

	return render_restored(resp, keys, HG_ARRAY_SIZE(keys), out);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Nested objects as indented "key: value" lines, keys sorted at each
 * level and the values of one level aligned; an object inside starts a
 * block of its own, and an empty one reads "none".
 */
static int
tree_print(const json_t *obj, int indent, FILE *out)
{
	size_t n = json_object_size(obj), i = 0, width = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *key;
	json_t *v;

	if (keys == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, key, v) {
		keys[i++] = key;
		if (!json_is_object(v) || json_object_size(v) == 0)
			width = HG_MAX(width, strlen(key));
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++) {
		char *s;

		v = json_object_get(obj, keys[i]);
		if (json_is_object(v) && json_object_size(v) > 0) {
			fprintf(out, "%*s%s:\n", indent, "", keys[i]);
			if (tree_print(v, indent + 2, out) < 0)
				break;
			continue;
		}
		s = json_is_object(v) ? strdup("none") : field_text(obj, keys[i]);
		fprintf(out, "%*s%s:%*s %s\n", indent, "", keys[i],
		    (int)(width - strlen(keys[i])), "", s != NULL ? s : "?");
		free(s);
	}
	free(keys);
	return i == n ? 0 : -ENOMEM;
}

static const struct col known_cols[] = {
	{ "PREFIX", "prefix", false },
	{ "FROM", "from", false },
	{ "THROUGH", "through", false },
};

/* show firewall: the counters as a tree, the known networks a table. */
static int
render_firewall(const json_t *resp, FILE *out)
{
	json_t *rest;
	int rc;

	if (json_object_size(resp) == 0)
		return 1;
	if ((rest = json_deep_copy(resp)) == NULL)
		return 1;
	json_object_del(rest, "known_networks");
	rc = tree_print(rest, 0, out);
	json_decref(rest);
	if (rc == 0 && json_is_array(json_object_get(resp, "known_networks"))) {
		fputs("known networks:\n", out);
		rc = render_table(resp, "known_networks", known_cols,
		    HG_ARRAY_SIZE(known_cols), false, out);
	}
	return rc;
}

static const struct col sa_cols[] = {
	{ "TUNNEL", "tunnel", false },
	{ "DIR", "direction", false },
	{ "SPI", "spi", false },
	{ "ALGORITHM", "algorithm", false },
	{ "ENCAP", "encap", false },
	{ "SRC", "src", false },
	{ "DST", "dst", false },
	{ "PACKETS", "packets", true },
	{ "BYTES", "bytes", true },
	{ "REPLAY", "replay", true },
	{ "INTEGRITY", "integrity", true },
	{ "STATE", "state", false },
};

/* A tunnel's selectors, "a, b" or "any". */
static void
subnets_print(const json_t *arr, FILE *out)
{
	const json_t *v;
	size_t i;

	if (json_array_size(arr) == 0)
		fputs("any", out);
	json_array_foreach(arr, i, v)
		fprintf(out, "%s%s", i ? ", " : "", json_string_value(v) ?
		    json_string_value(v) : "?");
}

/* ipsec sas: one row an SA, its state in words; each tunnel's selectors
 * under its last SA; the SAs due a rekey and expired, ever. */
static int
render_sas(const json_t *resp, FILE *out)
{
	const json_t *tunnels = json_object_get(resp, "tunnels"), *tn, *sa;
	json_t *rows = json_array();
	struct table t = { .cols = sa_cols, .ncols = HG_ARRAY_SIZE(sa_cols) };
	size_t i, j, r = 0;
	int rc;

	if (!json_is_array(tunnels) || rows == NULL) {
		json_decref(rows);
		return 1;
	}
	json_array_foreach(tunnels, i, tn)
		json_array_foreach(json_object_get(tn, "sas"), j, sa) {
			json_t *row = json_deep_copy(sa);

			json_object_set(row, "tunnel",
			    json_object_get(tn, "tunnel"));
			json_object_set_new(row, "state", json_string(
			    json_is_true(json_object_get(sa, "dead")) ?
			    "expired" : json_is_true(json_object_get(sa,
			    "soft_expired")) ? "rekey-due" : "active"));
			json_array_append_new(rows, row);
		}
	if ((rc = table_fill(&t, rows)) == 0) {
		json_array_foreach(tunnels, i, tn) {
			char *buf = NULL;
			size_t len = 0, n = json_array_size(json_object_get(tn,
			    "sas"));
			FILE *f;

			if (n == 0 || (f = open_memstream(&buf, &len)) == NULL)
				continue;
			fputs("  selectors: local ", f);
			subnets_print(json_object_get(tn, "local_subnets"), f);
			fputs(" <-> remote ", f);
			subnets_print(json_object_get(tn, "remote_subnets"), f);
			fputc('\n', f);
			fclose(f);
			r += n;
			t.trailers[r - 1] = buf;
		}
		table_print(&t, out);
		fprintf(out, "SAs due a rekey: %" JSON_INTEGER_FORMAT
		    ", expired: %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(json_object_get(resp, "rekeys_due")),
		    json_integer_value(json_object_get(resp, "expired")));
	}
	table_free(&t);
	json_decref(rows);
	return rc;
}

/* A string field, or "-". */
static const char *
str_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && s[0] != '\0' ? s : "-";
}

/* ipsec status: the IKE SAs as swanctl --list-sas shows them, an SA a
 * block (the initiator's SPI starred), its children under it, and which end
 * IKE found behind a NAT. */
static int
render_ike_status(const json_t *resp, FILE *out)
{
	const json_t *sas = json_object_get(resp, "ike_sas"), *sa, *c, *v;
	size_t i, k;

	if (!json_is_array(sas))
		return 1;
	if (json_array_size(sas) == 0)
		fputs("no IKE SAs\n", out);
	json_array_foreach(sas, i, sa) {
		bool init = json_is_true(json_object_get(sa, "initiator"));

		fprintf(out, "%s: #%" JSON_INTEGER_FORMAT ", %s, IKEv2, "
		    "%s_i%s %s_r%s\n", str_of(sa, "name"),
		    json_integer_value(json_object_get(sa, "uniqueid")),
		    str_of(sa, "state"), str_of(sa, "initiator_spi"),
		    init ? "*" : "", str_of(sa, "responder_spi"),
		    init ? "" : "*");
		fprintf(out, "  local  %s[%" JSON_INTEGER_FORMAT "]%s\n",
		    str_of(sa, "local"),
		    json_integer_value(json_object_get(sa, "local_port")),
		    json_is_true(json_object_get(sa, "nat_local")) ?
		    ", behind a NAT" : "");
		/* The peer's identity once it authenticated. */
		if (strcmp(str_of(sa, "remote_id"), "-") != 0)
			fprintf(out, "  remote '%s' @", str_of(sa,
			    "remote_id"));
		else
			fputs("  remote", out);
		fprintf(out, " %s[%" JSON_INTEGER_FORMAT "]%s\n",
		    str_of(sa, "remote"),
		    json_integer_value(json_object_get(sa, "remote_port")),
		    json_is_true(json_object_get(sa, "nat_remote")) ?
		    ", behind a NAT" : "");
		if (strcmp(str_of(sa, "algorithms"), "-") != 0)
			fprintf(out, "  %s\n", str_of(sa, "algorithms"));
		if (strcmp(str_of(sa, "state"), "ESTABLISHED") == 0)
			fprintf(out, "  established %" JSON_INTEGER_FORMAT
			    "s ago\n", json_integer_value(json_object_get(sa,
			    "established_s")));
		json_array_foreach(json_object_get(sa, "children"), k, c) {
			fprintf(out, "  %s: %s, %s, ESP:%s\n", str_of(c, "name"),
			    str_of(c, "state"), json_is_true(json_object_get(c,
			    "encap")) ? "TUNNEL-in-UDP" : "TUNNEL",
			    str_of(c, "algorithms"));
			fprintf(out, "    in  %s, out %s", str_of(c, "spi_in"),
			    str_of(c, "spi_out"));
			v = json_object_get(c, "rekey_in_s");
			if (json_is_integer(v) && json_integer_value(v) >= 0)
				fprintf(out, ", rekeying in %"
				    JSON_INTEGER_FORMAT "s",
				    json_integer_value(v));
			fputs("\n    local  ", out);
			subnets_print(json_object_get(c, "local_ts"), out);
			fputs("\n    remote ", out);
			subnets_print(json_object_get(c, "remote_ts"), out);
			fputc('\n', out);
		}
	}
	json_array_foreach(json_object_get(resp, "traps"), i, v)
		fprintf(out, "%s: TRAPPED (start_action trap): the first "
		    "packet to its tunnel brings it up\n",
		    json_string_value(v) != NULL ? json_string_value(v) : "-");
	return 0;
}

static const struct col flow_cols[] = {
	{ "PROTO", "proto", false },
	{ "STATE", "state", false },
	{ "TCP", "tcp_state", false },
	{ "EXPIRES", "expires_s", true },
	{ "ORIGINAL", "orig", false },
	{ "REPLY", "reply", false },
	{ "PACKETS", "packets", true },
	{ "BYTES", "bytes", true },
};

/* [original, reply] counters as "12/10", in place in a flow's copy. */
static int
pair_to_text(json_t *flow, const char *key)
{
	const json_t *v = json_object_get(flow, key);
	char *s;
	int rc;

	if (!json_is_array(v) || json_array_size(v) != 2 ||
	    !json_is_integer(json_array_get(v, 0)) ||
	    !json_is_integer(json_array_get(v, 1)))
		return 0;
	if (asprintf(&s, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_array_get(v, 0)),
	    json_integer_value(json_array_get(v, 1))) < 0)
		return -ENOMEM;
	rc = json_object_set_new(flow, key, json_string(s)) == 0 ? 0 : -ENOMEM;
	free(s);
	return rc;
}

/* One flow a line, as conntrack -L: both directions and their counters. */
static int
render_conntrack(const json_t *resp, FILE *out)
{
	const json_t *flows = json_object_get(resp, "flows");
	json_t *rows, *flow;
	size_t i;
	int rc = 0;

	if (!json_is_array(flows))
		return 1;
	if ((rows = json_array()) == NULL)
		return -ENOMEM;
	json_array_foreach(flows, i, flow) {
		json_t *row = json_is_object(flow) ? json_copy(flow) :
		    json_object();

		if (row == NULL || json_array_append_new(rows, row) != 0 ||
		    pair_to_text(row, "packets") < 0 ||
		    pair_to_text(row, "bytes") < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc == 0) {
		json_t *wrap = json_pack("{sO}", "flows", rows);

		rc = wrap == NULL ? -ENOMEM : render_table(wrap, "flows",
		    flow_cols, HG_ARRAY_SIZE(flow_cols), false, out);
		json_decref(wrap);
	}
	json_decref(rows);
	return rc;
}

static const struct col version_cols[] = {
	{ "", "current", false },
	{ "VERSION", "version", true },
	{ "CREATED", "created", false },
	{ "AUTHOR", "author", false },
	{ "SOURCE", "source", false },
	{ "STATE", "state", false },
	{ "COMMENT", "comment", false },
};

/* created_ns as UTC time (the same on every machine that reads it). */
static int
created_to_text(json_t *row)
{
	const json_t *v = json_object_get(row, "created_ns");
	time_t t;
	struct tm tm;
	char buf[32];

	if (!json_is_integer(v))
		return 0;
	t = (time_t)(json_integer_value(v) / 1000000000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		return 0;
	return json_object_set_new(row, "created", json_string(buf)) == 0 ?
	    0 : -ENOMEM;
}

/* config versions: newest first, "*" at the running one. */
static int
render_versions(const json_t *resp, FILE *out)
{
	const json_t *versions = json_object_get(resp, "versions");
	const json_t *cur = json_object_get(resp, "current");
	json_t *rows, *v, *wrap;
	size_t i;
	int rc = 0;

	if (!json_is_array(versions))
		return 1;
	if ((rows = json_array()) == NULL)
		return -ENOMEM;
	json_array_foreach(versions, i, v) {
		json_t *row = json_is_object(v) ? json_copy(v) : json_object();
		bool is_cur = json_is_integer(cur) && json_equal(cur,
		    json_object_get(v, "version"));

		if (row == NULL || json_array_append_new(rows, row) != 0 ||
		    json_object_set_new(row, "current",
		    json_string(is_cur ? "*" : "")) != 0 ||
		    created_to_text(row) < 0 ||
		    /* "-", as an absent field: no blank at the line's end. */
		    (json_string_length(json_object_get(row, "comment")) == 0 &&
		    json_object_set_new(row, "comment", json_string("-")) != 0)) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc == 0) {
		wrap = json_pack("{sO}", "versions", rows);
		rc = wrap == NULL ? -ENOMEM : render_table(wrap, "versions",
		    version_cols, HG_ARRAY_SIZE(version_cols), false, out);
		json_decref(wrap);
	}
	json_decref(rows);
	return rc;
}

/* config rollback: the version the old content became. */
static int
render_rollback(const json_t *resp, FILE *out)
{
	const json_t *v = json_object_get(resp, "version");

	if (!json_is_integer(v))
		return 1;
	fprintf(out, "applied as version %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(v));
	return 0;
}

/* How long ago, as wg show says it ("1 minute, 5 seconds ago"). */
static void
ago(FILE *out, long long s)
{
	static const struct { long long n; const char *unit; } u[] = {
		{ 86400, "day" }, { 3600, "hour" }, { 60, "minute" },
		{ 1, "second" },
	};
	bool first = true;

	if (s <= 0) {
		fputs("now", out);
		return;
	}
	for (size_t i = 0; i < HG_ARRAY_SIZE(u); i++) {
		long long k = s / u[i].n;

		if (k == 0)
			continue;
		fprintf(out, "%s%lld %s%s", first ? "" : ", ", k, u[i].unit,
		    k == 1 ? "" : "s");
		first = false;
		s -= k * u[i].n;
	}
	fputs(" ago", out);
}

static void
bytes_human(FILE *out, long long b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t i = 0;

	while (v >= 1024 && i + 1 < HG_ARRAY_SIZE(unit)) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		fprintf(out, "%lld B", b);
	else
		fprintf(out, "%.2f %s", v, unit[i]);
}

/* overlay status: wg show's layout, each peer named. */
static int
render_overlay(const json_t *resp, FILE *out)
{
	const json_t *peers = json_object_get(resp, "peers"), *p, *a;
	long long now = (long long)time(NULL);
	size_t i, k;

	if (!json_is_array(peers))
		return 1;
	if (json_is_false(json_object_get(resp, "enabled"))) {
		fputs("no overlay configured\n", out);
		return 0;
	}
	fprintf(out, "interface: %s\n  public key: %s\n  listening port: %"
	    JSON_INTEGER_FORMAT "\n", str_of(resp, "interface"),
	    str_of(resp, "public_key"), json_integer_value(
	    json_object_get(resp, "listen_port")));
	json_array_foreach(peers, i, p) {
		long long hs = json_integer_value(json_object_get(p,
		    "latest_handshake"));
		long long ka = json_integer_value(json_object_get(p,
		    "persistent_keepalive"));

		fprintf(out, "\npeer: %s (%s %s%s)\n", str_of(p, "public_key"),
		    str_of(p, "kind"), str_of(p, "name"),
		    json_is_false(json_object_get(p, "enabled")) ?
		    ", disabled" : "");
		if (json_is_string(json_object_get(p, "endpoint")))
			fprintf(out, "  endpoint: %s\n", str_of(p, "endpoint"));
		fputs("  allowed ips: ", out);
		json_array_foreach(json_object_get(p, "allowed_ips"), k, a)
			fprintf(out, "%s%s", k > 0 ? ", " : "",
			    json_string_value(a));
		fputs(k == 0 ? "(none)\n" : "\n", out);
		if (hs > 0) {
			fputs("  latest handshake: ", out);
			ago(out, now - hs);
			fputc('\n', out);
		}
		fputs("  transfer: ", out);
		bytes_human(out, json_integer_value(json_object_get(p,
		    "transfer_rx")));
		fputs(" received, ", out);
		bytes_human(out, json_integer_value(json_object_get(p,
		    "transfer_tx")));
		fputs(" sent\n", out);
		if (ka > 0)
			fprintf(out, "  persistent keepalive: every %lld "
			    "seconds\n", ka);
	}
	return 0;
}

/* --- overlay clientpacks --------------------------------------------- */

static const struct col cp_cols[] = {
	{ "NAME", "name", false },
	{ "ADDRESSES", "addresses", false },
	{ "PUBLIC-KEY", "public_key", false },
	{ "ENABLED", "enabled", false },
	{ "PSK", "psk", false },
};

/* A client's row: addresses joined with ",", booleans as yes/no. */
static json_t *
cp_row(const json_t *c)
{
	json_t *row = json_is_object(c) ? json_copy((json_t *)c) :
	    json_object();
	const char *const flags[] = { "enabled", "psk" };
	const json_t *a;
	char *buf = NULL;
	size_t i, len = 0;
	FILE *f;

	if (row == NULL || (f = open_memstream(&buf, &len)) == NULL) {
		json_decref(row);
		return NULL;
	}
	json_array_foreach(json_object_get(c, "addresses"), i, a)
		fprintf(f, "%s%s", i ? "," : "", json_string_value(a) != NULL ?
		    json_string_value(a) : "?");
	fclose(f);
	if (json_object_set_new(row, "addresses", json_string(buf)) != 0) {
		json_decref(row);
		row = NULL;
	}
	free(buf);
	for (size_t k = 0; row != NULL && k < HG_ARRAY_SIZE(flags); k++) {
		const json_t *v = json_object_get(row, flags[k]);

		if (json_is_boolean(v))
			json_object_set_new(row, flags[k],
			    json_string(json_is_true(v) ? "yes" : "no"));
	}
	return row;
}

static int
render_cp_list(const json_t *resp, FILE *out)
{
	const json_t *clients = json_object_get(resp, "clients"), *c;
	json_t *rows, *wrap;
	size_t i;
	int rc = 0;

	if (!json_is_array(clients))
		return 1;
	if ((rows = json_array()) == NULL)
		return -ENOMEM;
	json_array_foreach(clients, i, c)
		if (json_array_append_new(rows, cp_row(c)) != 0) {
			rc = -ENOMEM;
			break;
		}
	if (rc == 0) {
		wrap = json_pack("{sO}", "clients", rows);
		rc = wrap == NULL ? -ENOMEM : render_table(wrap, "clients",
		    cp_cols, HG_ARRAY_SIZE(cp_cols), false, out);
		json_decref(wrap);
	}
	json_decref(rows);
	return rc;
}

/* add, rekey: the wg-quick file alone, ready for wg-quick up. */
static int
render_cp_file(const json_t *resp, FILE *out)
{
	const json_t *text = json_object_get(resp, "config");

	if (!json_is_string(text))
		return 1;
	fwrite(json_string_value(text), 1, json_string_length(text), out);
	return 0;
}

/* show: the client as list shows it, then its file (without keys). */
static int
render_cp_show(const json_t *resp, FILE *out)
{
	json_t *row;

	if (!json_is_string(json_object_get(resp, "config")))
		return 1;
	if ((row = cp_row(resp)) == NULL)
		return -ENOMEM;
	json_object_del(row, "config");
	keys_print(row, 0, out);
	json_decref(row);
	fputc('\n', out);
	return render_cp_file(resp, out);
}

/* disable, enable, revoke: what happened, and the version it made. */
static int
render_cp_change(const json_t *resp, FILE *out)
{
	const json_t *name = json_object_get(resp, "name");
	const json_t *version = json_object_get(resp, "version");
	const json_t *enabled = json_object_get(resp, "enabled");

	if (!json_is_string(name) || !json_is_integer(version))
		return 1;
	fprintf(out, "%s: %s (version %" JSON_INTEGER_FORMAT ")\n",
	    json_string_value(name), json_is_true(json_object_get(resp,
	    "revoked")) ? "revoked" : json_is_true(enabled) ? "enabled" :
	    "disabled", json_integer_value(version));
	return 0;
}

static const struct {
	const char *cmd;
	int (*render)(const json_t *, FILE *);
} renderers[] = {
	{ "overlay status", render_overlay },
	{ "overlay handshake", render_ok },
	{ "show interfaces", render_interfaces },
	{ "show neighbors", render_neighbors },
	{ "show routes", render_routes },
	{ "show version", render_keys },
	{ "status", render_keys },
	{ "metrics", render_text },
	{ "token create", render_keys },
	{ "show firewall", render_firewall },
	{ "ipsec sas", render_sas },
	{ "ipsec status", render_ike_status },
	{ "show conntrack", render_conntrack },
	{ "nat show", render_conntrack },
	{ "reload", render_reload },
	{ "firewall save", render_text },
	{ "firewall restore", render_fw_restore },
	{ "firewall add", render_ok },
	{ "firewall insert", render_ok },
	{ "firewall delete", render_ok },
	{ "sets save", render_text },
	{ "sets restore", render_sets_restore },
	{ "sets add", render_ok },
	{ "sets del", render_ok },
	{ "config versions", render_versions },
	{ "config diff", render_text },
	{ "config rollback", render_rollback },
	{ "overlay clientpack add", render_cp_file },
	{ "overlay clientpack rekey", render_cp_file },
	{ "overlay clientpack show", render_cp_show },
	{ "overlay clientpack list", render_cp_list },
	{ "overlay clientpack disable", render_cp_change },
	{ "overlay clientpack enable", render_cp_change },
	{ "overlay clientpack revoke", render_cp_change },
};

/* Whether cmd is words, or starts with them and a space. */
static bool
cmd_is(const char *cmd, const char *words)
{
	size_t len = strlen(words);

	return strncmp(cmd, words, len) == 0 &&
	    (cmd[len] == '\0' || cmd[len] == ' ');
}

/* "warnings": [{line, column, message}] of an accepted change, on
 * stderr like the errors of a refused one. */
static void
warnings_print(const json_t *resp)
{
	const json_t *w;
	size_t i;

	json_array_foreach(json_object_get(resp, "warnings"), i, w) {
		const char *msg = json_string_value(json_object_get(w, "message"));
		json_int_t line = json_integer_value(json_object_get(w, "line"));
		json_int_t col = json_integer_value(json_object_get(w, "column"));

		if (msg == NULL)
			continue;
		if (line > 0)
			fprintf(stderr, "warning: line %" JSON_INTEGER_FORMAT
			    ", column %" JSON_INTEGER_FORMAT ": %s\n", line, col,
			    msg);
		else
			fprintf(stderr, "warning: %s\n", msg);
	}
}

int
cli_render(const char *cmd, const json_t *resp, FILE *out)
{
	int rc = 1;

	if (json_is_object(resp))
		warnings_print(resp);

	for (size_t i = 0; i < HG_ARRAY_SIZE(renderers); i++) {
		if (cmd_is(cmd, renderers[i].cmd)) {
			rc = json_is_object(resp) ?
			    renderers[i].render(resp, out) : 1;
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (rc > 0) {
		/* Unknown command or unexpected shape: show it all. */
		if (json_dumpf(resp, out, JSON_INDENT(2) | JSON_ENCODE_ANY) == 0)
			fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}
