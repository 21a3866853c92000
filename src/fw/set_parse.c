/*
 * src/fw/set_parse.c: the ipset restore language for named sets (set.h):
 * create, add, del, flush, destroy and swap, one per line, '#' comments.
 *
 * The whole text is applied to a private copy of the registry (a
 * transaction), line by line, so that a line is checked against what
 * the lines before it made (an add after its create, a swap after both).
 * The first time a set is changed its version is cloned and the clone
 * is edited in place; nothing is published until every line is good.
 * Errors use src/fw's lexer and error records, so they read like rule
 * errors: line, column span, message, the line with carets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"
#include "set.h"

#define SET_MAXELEM_MAX	(1U << 24)
#define SET_KW(tab)	tab, HG_ARRAY_SIZE(tab)
#define SET_STR_(x)	#x
#define SET_STR(x)	SET_STR_(x)

enum set_cmd {
	CMD_CREATE,
	CMD_ADD,
	CMD_DEL,
	CMD_FLUSH,
	CMD_DESTROY,
	CMD_SWAP,
};

/* Sorted for bsearch (fw_kw_find). */
static const struct fw_kw set_cmds[] = {
	{ "add", CMD_ADD },
	{ "create", CMD_CREATE },
	{ "del", CMD_DEL },
	{ "destroy", CMD_DESTROY },
	{ "flush", CMD_FLUSH },
	{ "swap", CMD_SWAP },
};

static const struct fw_kw set_types[] = {
	{ "bitmap:port", FW_SET_BITMAP_PORT },
	{ "hash:ip", FW_SET_HASH_IP },
	{ "hash:ip,port", FW_SET_HASH_IP_PORT },
	{ "hash:net", FW_SET_HASH_NET },
	{ "list:set", FW_SET_LIST_SET },
};

static const struct fw_kw port_protos[] = {
	{ "sctp", 132 },
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "udplite", 136 },
};

struct set_tx {
	struct fw_parser p;		/* only its errs are used */
	struct fw_sets *w;		/* the private copy */
	bool owned[FW_SETS_MAX];	/* w's version was made here */
	bool nomem;
};

static const struct fw_tok *
tok(const struct fw_line *l, unsigned i)
{
	return i < l->n ? &l->t[i] : NULL;
}

/* An error about part of a token: bytes [off, off + len) of it. */
static void
err_part(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    size_t off, size_t len, const char *msg)
{
	uint16_t first = t->col_first, last = t->col_last;

	/* Quotes move the bytes; then the whole token is marked. */
	if (!t->quoted && len > 0 && off + len <= strlen(t->s)) {
		/* Columns count characters. */
		first = (uint16_t)(t->col_first + fw_utf8_cols(t->s, off));
		last = (uint16_t)(first + fw_utf8_cols(t->s + off, len) - 1);
	}
	fw_err_at(&tx->p, l, first, last, "%s \"%.*s\"", msg, (int)len,
	    t->s + off);
}

/* Decimal, no sign, at most max. */
static bool
parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
parse_port(const char *s, size_t len, uint16_t *port)
{
	const struct fw_kw *k;
	char name[32];
	uint32_t v;

	if (parse_uint(s, len, 65535, &v)) {
		*port = (uint16_t)v;
		return true;
	}
	if (len >= sizeof(name))
		return false;
	memcpy(name, s, len);
	name[len] = '\0';
	if ((k = fw_kw_find(FW_KW(fw_kw_services), name)) == NULL)
		return false;
	*port = (uint16_t)k->val;
	return true;
}

/* "P" or "P-Q" (a service name may itself hold a '-'). */
static bool
parse_port_range(const char *s, size_t len, uint16_t *lo, uint16_t *hi)
{
	const char *dash;

	if (parse_port(s, len, lo)) {
		*hi = *lo;
		return true;
	}
	dash = memchr(s, '-', len);
	if (dash == NULL || !parse_port(s, (size_t)(dash - s), lo) ||
	    !parse_port(dash + 1, len - (size_t)(dash - s) - 1, hi))
		return false;
	return *lo <= *hi;
}

static const char *
family_name(uint8_t f)
{
	return f == FW_IPV6 ? "inet6" : "inet";
}

/* An address of the set's family; on error records it and returns
 * false. */
static bool
parse_addr(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    size_t off, size_t len, uint8_t family, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t other[16];

	memset(addr, 0, 16);
	if (len >= sizeof(buf))
		goto bad;
	memcpy(buf, t->s + off, len);
	buf[len] = '\0';
	if (inet_pton(family == FW_IPV6 ? AF_INET6 : AF_INET, buf, addr) == 1)
		return true;
	if (inet_pton(family == FW_IPV6 ? AF_INET : AF_INET6, buf, other) == 1) {
		err_part(tx, l, t, off, len, family == FW_IPV6 ?
		    "IPv4 address in an inet6 set:" :
		    "IPv6 address in an inet set:");
		return false;
	}
bad:
	err_part(tx, l, t, off, len, "bad address");
	return false;
}

/* The set's clone to edit, made on first use. */
static struct fw_set *
mutable_set(struct set_tx *tx, uint32_t id)
{
	struct fw_set *c, *old;

	if (tx->owned[id])
		return (struct fw_set *)fw_sets_get(tx->w, id);
	if ((c = fw_set_clone(fw_sets_get(tx->w, id))) == NULL) {
		tx->nomem = true;
		return NULL;
	}
	if (fw_sets_replace(tx->w, id, c, &old) != 0) {
		/* Same type, members already checked: cannot happen. */
		fw_set_free(c);
		tx->nomem = true;
		return NULL;
	}
	tx->owned[id] = true;
	return c;
}

/* Looks up the set named by token i; records an error when absent. */
static uint32_t
need_set(struct set_tx *tx, const struct fw_line *l, unsigned i,
    const char *cmd)
{
	const struct fw_tok *t = tok(l, i);
	uint32_t id;

	if (t == NULL) {
		fw_err_tok(&tx->p, l, NULL, "%s needs a set name", cmd);
		return FW_SET_NONE;
	}
	if ((id = fw_sets_find(tx->w, t->s)) == FW_SET_NONE)
		fw_err_tok(&tx->p, l, t, "no set named \"%s\"", t->s);
	return id;
}

static bool
no_more(struct set_tx *tx, const struct fw_line *l, unsigned i)
{
	if (i >= l->n)
		return true;
	fw_err_tok(&tx->p, l, &l->t[i], "unexpected \"%s\"", l->t[i].s);
	return false;
}

static bool
good_name(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return false;
	return true;
}

/* The numeric option value after token i, or false with an error. */
static bool
opt_uint(struct set_tx *tx, const struct fw_line *l, unsigned i,
    uint32_t min, uint32_t max, uint32_t *out)
{
	const struct fw_tok *t = tok(l, i + 1);

	if (t == NULL) {
		fw_err_tok(&tx->p, l, NULL, "%s needs a number", l->t[i].s);
		return false;
	}
	if (!parse_uint(t->s, strlen(t->s), max, out) || *out < min) {
		fw_err_tok(&tx->p, l, t, "%s must be %u to %u, not \"%s\"",
		    l->t[i].s, min, max, t->s);
		return false;
	}
	return true;
}

static void
cmd_create(struct set_tx *tx, const struct fw_line *l)
{
	const struct fw_tok *name = tok(l, 1), *type = tok(l, 2), *t;
	const struct fw_kw *k;
	const struct fw_set *cur;
	struct fw_set *s;
	uint8_t family = FW_IPV4;
	uint32_t maxelem = 0, v, id;
	uint32_t lo = 0, hi = 0;
	bool has_range = false;
	int error;

	if (name == NULL) {
		fw_err_tok(&tx->p, l, NULL, "create needs a set name");
		return;
	}
	if (strlen(name->s) >= FW_SET_NAME_MAX) {
		fw_err_tok(&tx->p, l, name, "set name \"%s\" is longer than "
		    "%d characters", name->s, FW_SET_NAME_MAX - 1);
		return;
	}
	if (!good_name(name->s)) {
		fw_err_tok(&tx->p, l, name, "bad set name \"%s\": use letters, "
		    "digits, '_', '-' and '.'", name->s);
		return;
	}
	if (type == NULL) {
		fw_err_tok(&tx->p, l, NULL, "create needs a set type");
		return;
	}
	if ((k = fw_kw_find(SET_KW(set_types), type->s)) == NULL) {
		const char *near = fw_kw_suggest(SET_KW(set_types), type->s);

		if (near != NULL)
			fw_err_tok(&tx->p, l, type, "unknown set type \"%s\" "
			    "(did you mean \"%s\"?)", type->s, near);
		else
			fw_err_tok(&tx->p, l, type, "unknown set type \"%s\"; "
			    "hexgate has hash:ip, hash:net, hash:ip,port, "
			    "bitmap:port and list:set", type->s);
		return;
	}
	for (unsigned i = 3; i < l->n; i += 2) {
		const char *o = l->t[i].s;
		bool hash = k->val <= FW_SET_HASH_IP_PORT;

		t = tok(l, i + 1);
		if (strcmp(o, "family") == 0 && hash) {
			if (t != NULL && strcmp(t->s, "inet") == 0)
				family = FW_IPV4;
			else if (t != NULL && strcmp(t->s, "inet6") == 0)
				family = FW_IPV6;
			else {
				fw_err_tok(&tx->p, l, t, "family must be inet "
				    "or inet6");
				return;
			}
		} else if (strcmp(o, "maxelem") == 0 && hash) {
			if (!opt_uint(tx, l, i, 1, SET_MAXELEM_MAX, &maxelem))
				return;
		} else if (strcmp(o, "hashsize") == 0 && hash) {
			/* ipset's sizing hint; tables here size themselves. */
			if (!opt_uint(tx, l, i, 1, UINT32_MAX, &v))
				return;
		} else if (strcmp(o, "size") == 0 &&
		    k->val == FW_SET_LIST_SET) {
			if (!opt_uint(tx, l, i, 1, FW_SETS_MAX, &maxelem))
				return;
		} else if (strcmp(o, "range") == 0 &&
		    k->val == FW_SET_BITMAP_PORT) {
			uint16_t a, b;

			if (t == NULL || !parse_port_range(t->s, strlen(t->s),
			    &a, &b)) {
				fw_err_tok(&tx->p, l, t, "range must be PORT-PORT");
				return;
			}
			lo = a;
			hi = b;
			has_range = true;
		} else {
			fw_err_tok(&tx->p, l, &l->t[i], "option \"%s\" is not "
			    "supported for %s", o, k->name);
			return;
		}
	}
	if (k->val == FW_SET_BITMAP_PORT && !has_range) {
		fw_err_tok(&tx->p, l, type, "bitmap:port needs range PORT-PORT");
		return;
	}
	if ((id = fw_sets_find(tx->w, name->s)) != FW_SET_NONE) {
		/* ipset -exist: the same create again changes nothing. */
		cur = fw_sets_get(tx->w, id);
		s = fw_set_new((enum fw_set_type)k->val, family, maxelem,
		    (uint16_t)lo, (uint16_t)hi);
		if (s == NULL) {
			tx->nomem = true;
			return;
		}
		uint16_t clo, chi, nlo, nhi;

		fw_set_range(cur, &clo, &chi);
		fw_set_range(s, &nlo, &nhi);
		if (fw_set_type(cur) != fw_set_type(s) ||
		    fw_set_family(cur) != fw_set_family(s) ||
		    fw_set_maxelem(cur) != fw_set_maxelem(s) ||
		    clo != nlo || chi != nhi)
			fw_err_tok(&tx->p, l, name, "set \"%s\" already exists "
			    "with other settings", name->s);
		fw_set_free(s);
		return;
	}
	s = fw_set_new((enum fw_set_type)k->val, family, maxelem, (uint16_t)lo,
	    (uint16_t)hi);
	if (s == NULL) {
		tx->nomem = true;
		return;
	}
	if ((error = fw_sets_create(tx->w, name->s, s, &id)) != 0) {
		fw_set_free(s);
		if (error == -ENOSPC)
			fw_err_tok(&tx->p, l, name, "too many sets: the limit "
			    "is %d", FW_SETS_MAX);
		else
			tx->nomem = true;
		return;
	}
	tx->owned[id] = true;
}

/* Applies one parsed member; false (error recorded) to stop. */
static bool
apply_elem(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    uint32_t id, struct fw_set *s, bool del, const struct fw_set_elem *e)
{
	const char *name = fw_sets_name(tx->w, id);
	int error;

	if (del) {
		if (fw_set_del(s, e) == 0)
			return true;
		fw_err_tok(&tx->p, l, t, "\"%s\" is not in set \"%s\"", t->s,
		    name);
		return false;
	}
	if ((error = fw_set_add(s, e)) == 0)
		return true;
	if (error == -ENOSPC)
		fw_err_tok(&tx->p, l, t, "set \"%s\" is full (maxelem %u)",
		    name, fw_set_maxelem(s));
	else if (error == -ERANGE)
		fw_err_tok(&tx->p, l, t, "port %u is outside the range of "
		    "set \"%s\"", e->port, name);
	else
		tx->nomem = true;
	return false;
}

static void
elem_ports(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    uint32_t id, struct fw_set *s, bool del, struct fw_set_elem *e,
    uint16_t lo, uint16_t hi)
{
	for (uint32_t p = lo; p <= hi; p++) {
		e->port = (uint16_t)p;
		if (!apply_elem(tx, l, t, id, s, del, e))
			return;
	}
}

static void
elem_list(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    uint32_t id, struct fw_set *s, bool del)
{
	struct fw_set_elem e = { .id = fw_sets_find(tx->w, t->s) };
	int error;

	if (e.id == FW_SET_NONE) {
		fw_err_tok(&tx->p, l, t, "no set named \"%s\"", t->s);
		return;
	}
	if (!apply_elem(tx, l, t, id, s, del, &e) || del)
		return;
	if ((error = fw_sets_check_members(tx->w, id, s)) != 0) {
		if (fw_set_del(s, &e) != 0)
			tx->nomem = true;	/* just added: cannot happen */
		fw_err_tok(&tx->p, l, t, "adding \"%s\" to list:set \"%s\" "
		    "%s", t->s, fw_sets_name(tx->w, id), error == -ELOOP ?
		    "makes a cycle" : "nests lists more than "
		    SET_STR(FW_SET_DEPTH_MAX) " deep");
	}
}

static void
elem_addr(struct set_tx *tx, const struct fw_line *l, const struct fw_tok *t,
    uint32_t id, struct fw_set *s, bool del)
{
	struct fw_set_elem e;
	uint8_t family = fw_set_family(s), full = family == FW_IPV6 ? 128 : 32;
	const char *str = t->s, *slash, *comma, *colon, *pstr;
	size_t len = strlen(str), alen;
	uint32_t plen = full;
	uint16_t lo, hi;

	memset(&e, 0, sizeof(e));
	comma = fw_set_type(s) == FW_SET_HASH_IP_PORT ? strchr(str, ',') : NULL;
	if (fw_set_type(s) == FW_SET_HASH_IP_PORT && comma == NULL) {
		fw_err_tok(&tx->p, l, t, "hash:ip,port members are "
		    "ADDRESS,[PROTO:]PORT, not \"%s\"", str);
		return;
	}
	alen = comma != NULL ? (size_t)(comma - str) : len;
	slash = memchr(str, '/', alen);
	if (slash != NULL) {
		size_t off = (size_t)(slash - str) + 1;

		if (!parse_uint(slash + 1, alen - off, full, &plen) ||
		    plen == 0) {
			err_part(tx, l, t, off - 1, alen - off + 1, "bad prefix "
			    "length");
			return;
		}
		if (fw_set_type(s) != FW_SET_HASH_NET && plen != full) {
			fw_err_tok(&tx->p, l, t, "%s takes single addresses; "
			    "\"%.*s\" is a network (use hash:net)",
			    fw_set_type_name(fw_set_type(s)), (int)alen, str);
			return;
		}
		alen = (size_t)(slash - str);
	}
	if (!parse_addr(tx, l, t, 0, alen, family, e.addr))
		return;
	e.prefix = (uint8_t)plen;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen > i * 8 ? HG_MIN(plen - i * 8, 8U) : 0;

		e.addr[i] &= (uint8_t)(0xff00 >> keep);
	}
	if (comma == NULL) {
		(void)apply_elem(tx, l, t, id, s, del, &e);
		return;
	}
	/* ,[PROTO:]PORT[-PORT] */
	pstr = comma + 1;
	e.proto = 6;
	if ((colon = strchr(pstr, ':')) != NULL) {
		char pname[16];
		const struct fw_kw *k;
		size_t n = (size_t)(colon - pstr);

		snprintf(pname, sizeof(pname), "%.*s", (int)HG_MIN(n, 15), pstr);
		if (n >= sizeof(pname) ||
		    (k = fw_kw_find(SET_KW(port_protos), pname)) == NULL) {
			err_part(tx, l, t, (size_t)(pstr - str), n, "protocol "
			    "must be tcp, udp, sctp or udplite, not");
			return;
		}
		e.proto = (uint8_t)k->val;
		pstr = colon + 1;
	}
	if (!parse_port_range(pstr, strlen(pstr), &lo, &hi)) {
		err_part(tx, l, t, (size_t)(pstr - str), strlen(pstr),
		    "bad port");
		return;
	}
	elem_ports(tx, l, t, id, s, del, &e, lo, hi);
}

static void
cmd_add_del(struct set_tx *tx, const struct fw_line *l, bool del)
{
	const struct fw_tok *t;
	struct fw_set *s;
	struct fw_set_elem e;
	uint16_t lo, hi;
	uint32_t id;

	if ((id = need_set(tx, l, 1, l->t[0].s)) == FW_SET_NONE)
		return;
	if ((t = tok(l, 2)) == NULL) {
		fw_err_tok(&tx->p, l, NULL, "%s needs a member", l->t[0].s);
		return;
	}
	if (!no_more(tx, l, 3))
		return;
	if ((s = mutable_set(tx, id)) == NULL)
		return;
	switch (fw_set_type(s)) {
	case FW_SET_LIST_SET:
		elem_list(tx, l, t, id, s, del);
		break;
	case FW_SET_BITMAP_PORT:
		if (!parse_port_range(t->s, strlen(t->s), &lo, &hi)) {
			fw_err_tok(&tx->p, l, t, "bad port \"%s\"", t->s);
			return;
		}
		memset(&e, 0, sizeof(e));
		elem_ports(tx, l, t, id, s, del, &e, lo, hi);
		break;
	default:
		elem_addr(tx, l, t, id, s, del);
		break;
	}
}

static void
cmd_flush(struct set_tx *tx, const struct fw_line *l)
{
	struct fw_set *s;
	uint32_t id;

	if (l->n == 1) {
		for (id = 0; id < FW_SETS_MAX; id++)
			if (fw_sets_name(tx->w, id) != NULL &&
			    (s = mutable_set(tx, id)) != NULL)
				fw_set_flush(s);
		return;
	}
	if ((id = need_set(tx, l, 1, "flush")) == FW_SET_NONE ||
	    !no_more(tx, l, 2))
		return;
	if ((s = mutable_set(tx, id)) != NULL)
		fw_set_flush(s);
}

static int
destroy_one(struct set_tx *tx, uint32_t id)
{
	struct fw_set *old;
	int error;

	if ((error = fw_sets_destroy(tx->w, id, &old)) != 0)
		return error;
	if (tx->owned[id])
		fw_set_free(old);
	tx->owned[id] = false;
	return 0;
}

static void
cmd_destroy(struct set_tx *tx, const struct fw_line *l)
{
	const char *name;
	bool progress = true;
	uint32_t id;

	if (l->n == 1) {
		/* Lists first: their members are busy until they go. */
		while (progress) {
			progress = false;
			for (id = 0; id < FW_SETS_MAX; id++)
				if (fw_sets_name(tx->w, id) != NULL &&
				    destroy_one(tx, id) == 0)
					progress = true;
		}
		for (id = 0; id < FW_SETS_MAX; id++)
			if ((name = fw_sets_name(tx->w, id)) != NULL)
				fw_err_tok(&tx->p, l, &l->t[0], "set \"%s\" is in "
				    "use by rules and cannot be destroyed", name);
		return;
	}
	if ((id = need_set(tx, l, 1, "destroy")) == FW_SET_NONE ||
	    !no_more(tx, l, 2))
		return;
	if (destroy_one(tx, id) != 0)
		fw_err_tok(&tx->p, l, &l->t[1], "set \"%s\" is in use by rules "
		    "or a list:set and cannot be destroyed", l->t[1].s);
}

static void
cmd_swap(struct set_tx *tx, const struct fw_line *l)
{
	uint32_t a, b;
	bool o;
	int error;

	if ((a = need_set(tx, l, 1, "swap")) == FW_SET_NONE ||
	    (b = need_set(tx, l, 2, "swap")) == FW_SET_NONE ||
	    !no_more(tx, l, 3))
		return;
	if ((error = fw_sets_swap(tx->w, a, b)) != 0) {
		const struct fw_set *va = fw_sets_get(tx->w, a);
		const struct fw_set *vb = fw_sets_get(tx->w, b);

		if (error == -ELOOP || error == -EMLINK)
			fw_err_at(&tx->p, l, l->t[1].col_first, l->t[2].col_last,
			    "swapping \"%s\" and \"%s\" %s", l->t[1].s,
			    l->t[2].s, error == -ELOOP ? "makes a list:set cycle" :
			    "nests lists more than " SET_STR(FW_SET_DEPTH_MAX)
			    " deep");
		else
			fw_err_at(&tx->p, l, l->t[1].col_first, l->t[2].col_last,
			    "cannot swap %s %s and %s %s: type and family must "
			    "match", fw_set_type_name(fw_set_type(va)),
			    family_name(fw_set_family(va)),
			    fw_set_type_name(fw_set_type(vb)),
			    family_name(fw_set_family(vb)));
		return;
	}
	o = tx->owned[a];
	tx->owned[a] = tx->owned[b];
	tx->owned[b] = o;
}

static void
do_line(struct set_tx *tx, struct fw_line *l)
{
	const struct fw_kw *k;
	const char *near;

	if (l->n == 0 || l->t[0].s[0] == '#')
		return;
	if ((k = fw_kw_find(SET_KW(set_cmds), l->t[0].s)) == NULL) {
		near = fw_kw_suggest(SET_KW(set_cmds), l->t[0].s);
		if (near != NULL)
			fw_err_tok(&tx->p, l, &l->t[0], "unknown command \"%s\" "
			    "(did you mean \"%s\"?)", l->t[0].s, near);
		else
			fw_err_tok(&tx->p, l, &l->t[0], "unknown command \"%s\"; "
			    "use create, add, del, flush, destroy or swap",
			    l->t[0].s);
		return;
	}
	switch (k->val) {
	case CMD_CREATE:
		cmd_create(tx, l);
		break;
	case CMD_ADD:
	case CMD_DEL:
		cmd_add_del(tx, l, k->val == CMD_DEL);
		break;
	case CMD_FLUSH:
		cmd_flush(tx, l);
		break;
	case CMD_DESTROY:
		cmd_destroy(tx, l);
		break;
	case CMD_SWAP:
		cmd_swap(tx, l);
		break;
	}
}

static void
tx_abort(struct set_tx *tx)
{
	for (uint32_t id = 0; id < FW_SETS_MAX; id++)
		if (tx->owned[id])
			fw_set_free((struct fw_set *)fw_sets_get(tx->w, id));
	free(tx->w);
}

int
fw_sets_restore(struct fw_sets *reg, const char *text, size_t len,
    struct fw_set ***retired, size_t *n_retired, struct fw_errs *errs)
{
	struct set_tx *tx;
	struct fw_line *l;
	size_t pos = 0, end;
	uint32_t lineno = 0;
	int error;

	*retired = NULL;
	*n_retired = 0;
	memset(errs, 0, sizeof(*errs));
	tx = calloc(1, sizeof(*tx));
	l = malloc(sizeof(*l));
	if (tx == NULL || l == NULL || (tx->w = fw_sets_tx_begin(reg)) == NULL) {
		free(tx);
		free(l);
		return -ENOMEM;
	}
	tx->p.errs = errs;
	while (pos < len && !tx->nomem) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		end = nl != NULL ? (size_t)(nl - text) : len;
		lineno++;
		if (fw_lex_line(&tx->p, l, lineno, text + pos, end - pos) == 0)
			do_line(tx, l);
		pos = end + 1;
	}
	free(l);
	if (tx->nomem || errs->n > 0) {
		error = tx->nomem ? -ENOMEM : -EINVAL;
		tx_abort(tx);
		free(tx);
		return error;
	}
	if ((error = fw_sets_tx_commit(reg, tx->w, retired, n_retired)) != 0) {
		tx_abort(tx);
		free(tx);
		return error;
	}
	free(tx->w);
	free(tx);
	return 0;
}
