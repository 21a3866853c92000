/*
 * src/mgmt/swanctl.c: swanctl.conf into hexgate's JSON.  Two steps, as
 * the header says: the text is read whole into a tree of sections and
 * keys (strongSwan's settings syntax, merged as strongSwan merges), then
 * the connections and secrets sections are converted by tables of the
 * keys hexgate takes.  Nothing is output unless both steps succeed.
 *
 * Proposals are checked by src/ike/proposal.c, the parser the IKE daemon
 * uses, so an import does not produce a configuration hexgated refuses
 * later without saying which line of the file is at fault.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ike/proposal.h"
#include "swanctl.h"

#define NAME_MAX_BYTES		256	/* a key or section name */
#define VALUE_MAX_BYTES		(1u << 20)
#define LIST_ITEM_MAX_BYTES	1024

/* One key or section, where its name starts; a value's own place too. */
struct node {
	char *name;
	char *value;		/* NULL: a section */
	unsigned line, col;
	unsigned vline, vcol;	/* of the value's first byte */
	bool quoted;		/* the value had quotes: no column inside */
	struct node *child, *last, *next;
};

struct ctx {
	const char *name;	/* the file, in messages */
	char *err;
	size_t err_len;
	bool failed;
	char *warn;
	size_t wlen, woff;
	int n_warn, n_unshown;
	bool nomem;
};

struct lex {
	const char *p, *end;
	unsigned line, col;
};

static int __attribute__((format(printf, 4, 5)))
fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return -EINVAL;
	c->failed = true;
	if (c->err_len == 0)
		return -EINVAL;
	n = snprintf(c->err, c->err_len, "%s:%u:%u: ", c->name, line, col);
	if (n >= 0 && (size_t)n < c->err_len) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A warning line, if it fits whole; those that do not are counted. */
static void __attribute__((format(printf, 4, 5)))
warn_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, m;

	c->n_warn++;
	n = snprintf(buf, sizeof(buf), "%s:%u:%u: warning: ", c->name, line,
	    col);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n = (int)strlen(buf);
	/* Room for this line, its newline and the NUL; the last 64 bytes
	 * are kept for the line that counts the rest. */
	if (c->n_unshown == 0 && c->woff + (size_t)n + 2 + 64 <= c->wlen) {
		memcpy(c->warn + c->woff, buf, (size_t)n);
		c->woff += (size_t)n;
		c->warn[c->woff++] = '\n';
		c->warn[c->woff] = '\0';
	} else
		c->n_unshown++;
}

/*
 * The tree.
 */

static void
node_free(struct node *n)
{
	while (n != NULL) {
		struct node *next = n->next;

		node_free(n->child);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

static struct node *
node_find(const struct node *parent, const char *name, bool section)
{
	for (struct node *n = parent->child; n != NULL; n = n->next)
		if ((n->value == NULL) == section && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static struct node *
node_add(struct ctx *c, struct node *parent, char *name, unsigned line,
    unsigned col)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		c->nomem = true;
		free(name);
		return NULL;
	}
	n->name = name;
	n->line = line;
	n->col = col;
	if (parent->last != NULL)
		parent->last->next = n;
	else
		parent->child = n;
	parent->last = n;
	return n;
}

/*
 * Reading: strongSwan's settings syntax.
 */

static int
lx_peek(const struct lex *l)
{
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

static void
lx_adv(struct lex *l)
{
	if (*l->p == '\n') {
		l->line++;
		l->col = 1;
	} else
		l->col++;
	l->p++;
}

/* Blanks and comments; newlines too when nl. */
static void
lx_skip(struct lex *l, bool nl)
{
	int ch;

	while ((ch = lx_peek(l)) != -1) {
		if (ch == ' ' || ch == '\t' || ch == '\r' || (nl && ch == '\n'))
			lx_adv(l);
		else if (ch == '#')
			while ((ch = lx_peek(l)) != -1 && ch != '\n')
				lx_adv(l);
		else
			break;
	}
}

/* strongSwan's names: printable, but not . , : { } = " # or blank. */
static bool
is_name_char(int ch)
{
	return ch > ' ' && ch < 0x7f && strchr(".,:{}=\"#", ch) == NULL;
}

/* A growing string. */
struct str {
	char *s;
	size_t len, cap;
};

static int
str_add(struct ctx *c, struct str *b, char ch)
{
	if (b->len + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *s = realloc(b->s, cap);

		if (s == NULL) {
			c->nomem = true;
			return -ENOMEM;
		}
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = ch;
	b->s[b->len] = '\0';
	return 0;
}

static const char *
char_text(int ch, char buf[8])
{
	if (ch == -1)
		return "the end of the file";
	if (ch == '\n')
		return "the end of the line";
	if (ch > ' ' && ch < 0x7f)
		snprintf(buf, 8, "'%c'", ch);
	else
		snprintf(buf, 8, "0x%02x", (unsigned)ch);
	return buf;
}

/* A quoted string after its opening quote; appended to b. */
static int
read_quoted(struct ctx *c, struct lex *l, struct str *b, unsigned line,
    unsigned col)
{
	static const char esc_in[] = "nrt\"\\", esc_out[] = "\n\r\t\"\\";
	int ch;

	for (;;) {
		unsigned eline = l->line, ecol = l->col;
		const char *e;

		if ((ch = lx_peek(l)) == -1)
			return fail_at(c, line, col, "quoted string not closed");
		if (ch == '\0')
			return fail_at(c, l->line, l->col, "NUL byte");
		lx_adv(l);
		if (ch == '"')
			return 0;
		if (ch == '\\') {
			ch = lx_peek(l);
			if (ch == '\n') {	/* a line continued */
				lx_adv(l);
				continue;
			}
			if (ch == -1 || ch == '\0' ||
			    (e = strchr(esc_in, ch)) == NULL) {
				char t[8];

				return fail_at(c, eline, ecol, "unknown escape "
				    "'\\' then %s (known: \\\" \\\\ \\n \\t "
				    "\\r)", char_text(ch, t));
			}
			lx_adv(l);
			ch = esc_out[e - esc_in];
		}
		if (str_add(c, b, (char)ch) < 0)
			return -ENOMEM;
	}
}

/* A value after '=': to the end of the line, a '#' or a '}'. */
static int
read_value(struct ctx *c, struct lex *l, struct node *n)
{
	struct str b = { 0 };
	size_t keep = 0;
	int ch, rc = 0;

	lx_skip(l, false);
	n->quoted = false;
	n->vline = l->line;
	n->vcol = l->col;
	while ((ch = lx_peek(l)) != -1 && ch != '\n' && ch != '#' &&
	    ch != '}') {
		if (ch == '\0') {
			rc = fail_at(c, l->line, l->col, "NUL byte");
			break;
		}
		if (b.len > VALUE_MAX_BYTES) {
			rc = fail_at(c, n->vline, n->vcol, "value longer than "
			    "%u bytes", VALUE_MAX_BYTES);
			break;
		}
		if (ch == '"') {
			unsigned line = l->line, col = l->col;

			lx_adv(l);
			n->quoted = true;
			if ((rc = read_quoted(c, l, &b, line, col)) < 0)
				break;
			keep = b.len;
			continue;
		}
		lx_adv(l);
		if (ch == '\r')
			continue;
		if ((rc = str_add(c, &b, (char)ch)) < 0)
			break;
		if (ch != ' ' && ch != '\t')
			keep = b.len;
	}
	if (rc == 0 && b.s == NULL && (b.s = strdup("")) == NULL) {
		c->nomem = true;
		rc = -ENOMEM;
	}
	if (rc < 0) {
		free(b.s);
		return rc;
	}
	b.s[keep] = '\0';	/* blanks before a comment or the line's end */
	free(n->value);
	n->value = b.s;
	return 0;
}

static int
read_name(struct ctx *c, struct lex *l, char **out)
{
	const char *s = l->p;
	unsigned line = l->line, col = l->col;

	while (is_name_char(lx_peek(l)))
		lx_adv(l);
	if ((size_t)(l->p - s) > NAME_MAX_BYTES)
		return fail_at(c, line, col, "name longer than %d bytes",
		    NAME_MAX_BYTES);
	if ((*out = strndup(s, (size_t)(l->p - s))) == NULL) {
		c->nomem = true;
		return -ENOMEM;
	}
	return 0;
}

/*
 * The keys and sections of parent until its '}' (or the end of the file
 * at depth 0).  A section named again extends the first; a key given
 * again replaces its value (strongSwan does both), with a warning.
 */
static int
read_body(struct ctx *c, struct lex *l, struct node *parent, unsigned depth)
{
	for (;;) {
		unsigned line, col;
		struct node *n;
		char *name = NULL, t[8];
		int ch, rc;

		lx_skip(l, true);
		line = l->line;
		col = l->col;
		ch = lx_peek(l);
		if (ch == -1) {
			if (depth == 0)
				return 0;
			return fail_at(c, parent->line, parent->col, "section "
			    "'%s' is not closed: '}' missing", parent->name);
		}
		if (ch == '}') {
			if (depth == 0)
				return fail_at(c, line, col, "'}' closes no "
				    "section");
			lx_adv(l);
			return 0;
		}
		if (!is_name_char(ch))
			return fail_at(c, line, col, "expected a key or a "
			    "section name, found %s", char_text(ch, t));
		if ((rc = read_name(c, l, &name)) < 0)
			return rc;
		lx_skip(l, true);
		ch = lx_peek(l);
		if (strcmp(name, "include") == 0 && ch != '=' && ch != '{') {
			free(name);
			return fail_at(c, line, col, "include is not "
			    "supported: put the included file's text here");
		}
		switch (ch) {
		case '{':
			lx_adv(l);
			if (depth + 1 >= HG_SWANCTL_DEPTH_MAX) {
				free(name);
				return fail_at(c, line, col, "sections nested "
				    "deeper than %d", HG_SWANCTL_DEPTH_MAX);
			}
			if ((n = node_find(parent, name, true)) != NULL)
				free(name);
			else if ((n = node_add(c, parent, name, line,
			    col)) == NULL)
				return -ENOMEM;
			if ((rc = read_body(c, l, n, depth + 1)) < 0)
				return rc;
			break;
		case '=':
			lx_adv(l);
			if ((n = node_find(parent, name, false)) != NULL) {
				warn_at(c, line, col, "'%s' set again: this "
				    "value replaces line %u's", name, n->line);
				free(name);
				n->line = line;
				n->col = col;
			} else if ((n = node_add(c, parent, name, line,
			    col)) == NULL)
				return -ENOMEM;
			if ((rc = read_value(c, l, n)) < 0)
				return rc;
			break;
		case ':':
			rc = fail_at(c, l->line, l->col, "section references "
			    "(\"%s : other\") are not supported: write the "
			    "settings out", name);
			free(name);
			return rc;
		default:
			rc = fail_at(c, line, col, "expected '=' or '{' after "
			    "'%s', found %s", name, char_text(ch, t));
			free(name);
			return rc;
		}
	}
}

/*
 * Converting.
 */

enum kind {
	K_STR,		/* as written */
	K_LIST,		/* comma-separated: an array of strings */
	K_PORT,		/* 1..65535 */
	K_VERSION,	/* 0 (any) or 2; 1 is IKEv1 */
	K_BOOL,
	K_DURATION,	/* digits and s, m, h or d: kept as written */
	K_IKE_PROPOSALS,
	K_ESP_PROPOSALS,
};

struct key_rule {
	const char *name;
	enum kind kind;
};

static const struct key_rule conn_keys[] = {
	{ "version", K_VERSION },
	{ "local_addrs", K_LIST },
	{ "remote_addrs", K_LIST },
	{ "local_port", K_PORT },
	{ "remote_port", K_PORT },
	{ "proposals", K_IKE_PROPOSALS },
	{ "encap", K_BOOL },
	{ "dpd_delay", K_DURATION },
	{ "rekey_time", K_DURATION },
	{ "reauth_time", K_DURATION },
	{ "fragmentation", K_STR },
	{ NULL, K_STR },
};

static const struct key_rule local_keys[] = {
	{ "auth", K_STR },
	{ "id", K_STR },
	{ "certs", K_LIST },
	{ NULL, K_STR },
};

static const struct key_rule remote_keys[] = {
	{ "auth", K_STR },
	{ "id", K_STR },
	{ "cacerts", K_LIST },
	{ NULL, K_STR },
};

static const struct key_rule child_keys[] = {
	{ "local_ts", K_LIST },
	{ "remote_ts", K_LIST },
	{ "esp_proposals", K_ESP_PROPOSALS },
	{ "start_action", K_STR },
	{ "dpd_action", K_STR },
	{ "close_action", K_STR },
	{ "rekey_time", K_DURATION },
	{ "life_time", K_DURATION },
	{ "mode", K_STR },
	{ NULL, K_STR },
};

/* A value's column at byte off of it, where the text says it. */
static unsigned
value_col(const struct node *n, size_t off)
{
	return n->quoted ? n->vcol : n->vcol + (unsigned)off;
}

static void
ignored(struct ctx *c, const struct node *n, const char *path)
{
	warn_at(c, n->line, n->col, "%s%s%s: not taken by hexgate; ignored",
	    path, *path ? "." : "", n->name);
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Each comma-separated item of n's value, trimmed, to fn; 0 or the
 * first error. */
static int
list_each(struct ctx *c, const struct node *n,
    int (*fn)(struct ctx *, const struct node *, const char *, size_t,
    void *), void *arg)
{
	const char *s = n->value;

	for (;;) {
		size_t len = strcspn(s, ","), lead = 0;
		char item[LIST_ITEM_MAX_BYTES];
		int rc;

		while (lead < len && (s[lead] == ' ' || s[lead] == '\t'))
			lead++;
		while (len > lead && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == lead)
			return fail_at(c, n->vline,
			    value_col(n, (size_t)(s - n->value)),
			    "%s: empty item in the list", n->name);
		if (len - lead >= sizeof(item))
			return fail_at(c, n->vline,
			    value_col(n, (size_t)(s - n->value) + lead),
			    "%s: item longer than %zu bytes", n->name,
			    sizeof(item) - 1);
		memcpy(item, s + lead, len - lead);
		item[len - lead] = '\0';
		if ((rc = fn(c, n, item, (size_t)(s - n->value) + lead,
		    arg)) < 0)
			return rc;
		s += strcspn(s, ",");
		if (*s == '\0')
			return 0;
		s++;
	}
}

static int
item_to_array(struct ctx *c, const struct node *n, const char *item,
    size_t off, void *arg)
{
	if (json_array_append_new(arg, json_string(item)) < 0) {
		c->nomem = true;
		return -ENOMEM;
	}
	return 0;
}

struct props_arg {
	json_t *array;
	struct ike_props list;
	uint8_t protocol;
};

static int
item_to_proposal(struct ctx *c, const struct node *n, const char *item,
    size_t off, void *arg)
{
	struct props_arg *p = arg;
	char err[160];

	if (ike_props_add(&p->list, item, p->protocol, err, sizeof(err)) < 0)
		return fail_at(c, n->vline, value_col(n, off),
		    "%s: proposal '%s': %s", n->name, item, err);
	return item_to_array(c, n, item, off, p->array);
}

static bool
parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "yes", "true", "enabled", "1" };
	static const char *const no[] = { "no", "false", "disabled", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return true;
		}
	}
	return false;
}

/* strongSwan's time values: a number of seconds, or with s, m, h, d. */
static bool
is_duration(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 9 && (s[n] == '\0' ||
	    (strchr("smhd", s[n]) != NULL && s[n + 1] == '\0'));
}

/* The JSON of one key's value by its rule; NULL and an error or ENOMEM. */
static json_t *
convert(struct ctx *c, const struct node *n, enum kind kind)
{
	struct props_arg pa;
	unsigned long v;
	json_t *j = NULL;
	bool b;

	switch (kind) {
	case K_STR:
		j = json_string(n->value);
		break;
	case K_LIST:
		if ((j = json_array()) != NULL &&
		    list_each(c, n, item_to_array, j) < 0) {
			json_decref(j);
			return NULL;
		}
		break;
	case K_IKE_PROPOSALS:
	case K_ESP_PROPOSALS:
		memset(&pa, 0, sizeof(pa));
		pa.protocol = kind == K_IKE_PROPOSALS ? IKE_PROTO_IKE :
		    IKE_PROTO_ESP;
		if ((pa.array = json_array()) != NULL &&
		    list_each(c, n, item_to_proposal, &pa) < 0) {
			json_decref(pa.array);
			return NULL;
		}
		j = pa.array;
		break;
	case K_PORT:
		v = all_digits(n->value) && strlen(n->value) <= 5 ?
		    strtoul(n->value, NULL, 10) : 0;
		if (v < 1 || v > 65535) {
			fail_at(c, n->vline, n->vcol, "%s: expected a port "
			    "(1 to 65535), found '%s'", n->name, n->value);
			return NULL;
		}
		j = json_integer((json_int_t)v);
		break;
	case K_VERSION:
		if (strcmp(n->value, "1") == 0) {
			fail_at(c, n->vline, n->vcol, "version: IKEv1 is not "
			    "supported (hexgate speaks IKEv2: version = 2)");
			return NULL;
		}
		if (strcmp(n->value, "0") != 0 && strcmp(n->value, "2") != 0) {
			fail_at(c, n->vline, n->vcol, "version: expected 0 "
			    "(any) or 2, found '%s'", n->value);
			return NULL;
		}
		j = json_integer(n->value[0] - '0');
		break;
	case K_BOOL:
		if (!parse_bool(n->value, &b)) {
			fail_at(c, n->vline, n->vcol, "%s: expected yes or no, "
			    "found '%s'", n->name, n->value);
			return NULL;
		}
		j = json_boolean(b);
		break;
	case K_DURATION:
		if (!is_duration(n->value)) {
			fail_at(c, n->vline, n->vcol, "%s: expected a time "
			    "(3600, 30s, 5m, 4h, 1d), found '%s'", n->name,
			    n->value);
			return NULL;
		}
		j = json_string(n->value);
		break;
	}
	if (j == NULL)
		c->nomem = true;
	return j;
}

/*
 * The keys of section s that rules name, into obj; the others are
 * warnings, and so are subsections unless sub takes them (returns 1).
 * path: s's, for the warnings.
 */
static int
convert_keys(struct ctx *c, const struct node *s, const char *path,
    const struct key_rule *rules, json_t *obj,
    int (*sub)(struct ctx *, const struct node *, const char *, void *),
    void *arg)
{
	for (const struct node *n = s->child; n != NULL; n = n->next) {
		const struct key_rule *r;
		json_t *j;
		int rc;

		if (n->value == NULL) {
			if (sub != NULL && (rc = sub(c, n, path, arg)) != 0) {
				if (rc < 0)
					return rc;
				continue;
			}
			ignored(c, n, path);
			continue;
		}
		for (r = rules; r->name != NULL; r++)
			if (strcmp(r->name, n->name) == 0)
				break;
		if (r->name == NULL) {
			ignored(c, n, path);
			continue;
		}
		/* strongSwan: an empty value is the default's */
		if (n->value[0] == '\0')
			continue;
		if ((j = convert(c, n, r->kind)) == NULL)
			return c->nomem ? -ENOMEM : -EINVAL;
		if (json_object_set_new(obj, n->name, j) < 0) {
			c->nomem = true;
			return -ENOMEM;
		}
	}
	return 0;
}

static json_t *
object_add(struct ctx *c, json_t *parent, const char *key)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(parent, key, o) < 0) {
		c->nomem = true;
		return NULL;
	}
	return o;
}

static int
join_path(struct ctx *c, char *buf, size_t len, const char *path,
    const char *name)
{
	if ((size_t)snprintf(buf, len, "%s.%s", path, name) >= len)
		return fail_at(c, 1, 1, "names too long");
	return 0;
}

/* A connection's children section: each a child. */
static int
convert_children(struct ctx *c, const struct node *s, const char *path,
    json_t *children)
{
	char cpath[1024];

	for (const struct node *n = s->child; n != NULL; n = n->next) {
		json_t *o;
		int rc;

		if (n->value != NULL) {
			ignored(c, n, path);
			continue;
		}
		if ((o = object_add(c, children, n->name)) == NULL)
			return -ENOMEM;
		if ((rc = join_path(c, cpath, sizeof(cpath), path,
		    n->name)) < 0 ||
		    (rc = convert_keys(c, n, cpath, child_keys, o, NULL,
		    NULL)) < 0)
			return rc;
	}
	return 0;
}

/* What a connection's subsections become. */
struct conn_arg {
	json_t *conn;
	const struct node *local, *remote;	/* the one of each taken */
};

static int
conn_sub(struct ctx *c, const struct node *n, const char *path, void *arg)
{
	struct conn_arg *a = arg;
	const struct node **seen;
	const struct key_rule *rules;
	const char *side;
	char spath[1024];
	json_t *o;
	int rc;

	if ((rc = join_path(c, spath, sizeof(spath), path, n->name)) < 0)
		return rc;
	if (strcmp(n->name, "children") == 0) {
		if ((o = json_object_get(a->conn, "children")) == NULL &&
		    (o = object_add(c, a->conn, "children")) == NULL)
			return -ENOMEM;
		return (rc = convert_children(c, n, spath, o)) < 0 ? rc : 1;
	}
	/* local<suffix>, remote<suffix>: one authentication round each */
	if (strncmp(n->name, "local", 5) == 0) {
		side = "local";
		seen = &a->local;
		rules = local_keys;
	} else if (strncmp(n->name, "remote", 6) == 0) {
		side = "remote";
		seen = &a->remote;
		rules = remote_keys;
	} else
		return 0;
	if (*seen != NULL)
		return fail_at(c, n->line, n->col, "%s: a second %s section "
		    "('%s' is at line %u): hexgate takes one authentication "
		    "round", spath, side, (*seen)->name, (*seen)->line);
	*seen = n;
	if ((o = object_add(c, a->conn, side)) == NULL)
		return -ENOMEM;
	return (rc = convert_keys(c, n, spath, rules, o, NULL, NULL)) < 0 ?
	    rc : 1;
}

static int
convert_connections(struct ctx *c, const struct node *s, json_t *out)
{
	char path[1024];

	for (const struct node *n = s->child; n != NULL; n = n->next) {
		struct conn_arg a = { 0 };
		int rc;

		if (n->value != NULL) {
			ignored(c, n, "connections");
			continue;
		}
		if ((a.conn = object_add(c, out, n->name)) == NULL)
			return -ENOMEM;
		if ((rc = join_path(c, path, sizeof(path), "connections",
		    n->name)) < 0 ||
		    (rc = convert_keys(c, n, path, conn_keys, a.conn,
		    conn_sub, &a)) < 0)
			return rc;
	}
	return 0;
}

/* secrets.ike<suffix>: the first id<suffix> and the secret, verbatim. */
static int
convert_ike_secret(struct ctx *c, const struct node *s, json_t *secrets)
{
	const struct node *id = NULL, *secret = NULL;
	char path[1024];
	json_t *o;
	int rc;

	if ((rc = join_path(c, path, sizeof(path), "secrets", s->name)) < 0)
		return rc;
	for (const struct node *n = s->child; n != NULL; n = n->next) {
		if (n->value != NULL && strncmp(n->name, "id", 2) == 0 &&
		    id == NULL) {
			id = n;
		} else if (n->value != NULL && strncmp(n->name, "id", 2) == 0) {
			warn_at(c, n->line, n->col, "%s.%s: hexgate takes one "
			    "id a secret (the first, '%s' at line %u); this "
			    "one is ignored", path, n->name, id->name,
			    id->line);
		} else if (n->value != NULL && strcmp(n->name, "secret") == 0)
			secret = n;
		else
			ignored(c, n, path);
	}
	if (secret == NULL || secret->value[0] == '\0')
		return fail_at(c, s->line, s->col, "%s: no secret", path);
	if ((o = object_add(c, secrets, s->name)) == NULL)
		return -ENOMEM;
	if ((id != NULL && id->value[0] != '\0' &&
	    json_object_set_new(o, "id", json_string(id->value)) < 0) ||
	    json_object_set_new(o, "secret", json_string(secret->value)) < 0) {
		c->nomem = true;
		return -ENOMEM;
	}
	return 0;
}

static int
convert_secrets(struct ctx *c, const struct node *s, json_t *out)
{
	for (const struct node *n = s->child; n != NULL; n = n->next) {
		int rc;

		if (n->value == NULL && strncmp(n->name, "ike", 3) == 0) {
			if ((rc = convert_ike_secret(c, n, out)) < 0)
				return rc;
		} else
			ignored(c, n, "secrets");
	}
	return 0;
}

static int
convert_root(struct ctx *c, const struct node *root, json_t *out)
{
	json_t *conns, *secrets;
	int rc;

	if ((conns = object_add(c, out, "connections")) == NULL ||
	    (secrets = object_add(c, out, "secrets")) == NULL)
		return -ENOMEM;
	for (const struct node *n = root->child; n != NULL; n = n->next) {
		if (n->value == NULL && strcmp(n->name, "connections") == 0)
			rc = convert_connections(c, n, conns);
		else if (n->value == NULL && strcmp(n->name, "secrets") == 0)
			rc = convert_secrets(c, n, secrets);
		else {
			ignored(c, n, "");
			rc = 0;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
hg_swanctl_import(const char *name, const char *text, size_t len,
    json_t **out, char *warnings, size_t wlen, char *err, size_t err_len)
{
	struct ctx c = {
		.name = name != NULL ? name : "swanctl.conf",
		.err = err, .err_len = err_len,
		.warn = warnings, .wlen = wlen,
	};
	struct lex l = { text, text + len, 1, 1 };
	struct node root = { 0 };
	json_t *o = NULL;
	int rc;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if (wlen > 0)
		warnings[0] = '\0';
	rc = read_body(&c, &l, &root, 0);
	if (rc == 0 && (o = json_object()) == NULL)
		c.nomem = true;
	if (rc == 0 && o != NULL)
		rc = convert_root(&c, &root, o);
	node_free(root.child);
	if (c.nomem || rc < 0) {
		json_decref(o);
		if (c.nomem) {
			if (!c.failed)
				snprintf(err, err_len, "%s: out of memory",
				    c.name);
			return -ENOMEM;
		}
		return -EINVAL;
	}
	if (c.n_unshown > 0 && c.woff + 64 <= c.wlen)
		snprintf(c.warn + c.woff, c.wlen - c.woff, "%s: %d more "
		    "warnings not shown\n", c.name, c.n_unshown);
	*out = o;
	return c.n_warn;
}
