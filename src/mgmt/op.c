/*
 * src/mgmt/op.c: decoding an operation's request against its fields, the
 * replies and errors both transports send, and the schema text the
 * OpenAPI document is made from (op.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/text.h"
#include "op.h"

#define STRING_MAX_DEFAULT	256

const struct hg_op *
hg_op_find(const struct hg_op *ops, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

const struct hg_op_field *
hg_op_field(const struct hg_op *op, const char *name)
{
	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name != NULL;
	    i++)
		if (strcmp(op->fields[i].name, name) == 0)
			return &op->fields[i];
	return NULL;
}

/* Whether word is one of the space-separated words of list. */
static bool
word_in(const char *list, const char *word, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, word, n) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* A name of lower-case letters, digits, '_' and '.'. */
static bool
name_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '.'))
			return false;
	return true;
}

static int HG_PRINTF(3, 4)
check_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Each ":name" segment of path is a PATH field of op, and back. */
static int
rest_check(const struct hg_op *op, const struct hg_op_rest *rt, char *err,
    size_t err_len)
{
	const char *p = rt->path;
	unsigned n_path = 0, n_fields = 0;

	if (strncmp(p, "/api/", 5) != 0 && strcmp(p, "/metrics") != 0)
		return check_err(err, err_len, "op %s: path %s is not under "
		    "/api/", op->name, p);
	while ((p = strchr(p, ':')) != NULL) {
		const struct hg_op_field *f;
		char name[64];
		size_t len = strcspn(p + 1, "/");

		if (len == 0 || len >= sizeof(name))
			return check_err(err, err_len, "op %s: bad path %s",
			    op->name, rt->path);
		memcpy(name, p + 1, len);
		name[len] = '\0';
		f = hg_op_field(op, name);
		if (f == NULL || f->in != HG_OPIN_PATH)
			return check_err(err, err_len, "op %s: path %s: :%s "
			    "is not a path field", op->name, rt->path, name);
		n_path++;
		p += 1 + len;
	}
	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++)
		n_fields += op->fields[i].in == HG_OPIN_PATH;
	/* A second route may leave a path field to the body. */
	if (n_path > n_fields)
		return check_err(err, err_len, "op %s: path %s names a field "
		    "twice", op->name, rt->path);
	return 0;
}

int
hg_op_table_check(const struct hg_op *ops, size_t n, char *err,
    size_t err_len)
{
	for (size_t i = 0; i < n; i++) {
		const struct hg_op *op = &ops[i];
		unsigned texts = 0;

		if (!name_ok(op->name) || op->fn == NULL || op->summary == NULL)
			return check_err(err, err_len, "op %zu (%s): a name, a "
			    "handler and a summary are required", i,
			    op->name != NULL ? op->name : "?");
		if (hg_op_find(ops, i, op->name) != NULL)
			return check_err(err, err_len, "op %s: twice",
			    op->name);
		for (size_t j = 0; j < HG_OP_FIELDS_MAX && op->fields[j].name;
		    j++) {
			const struct hg_op_field *f = &op->fields[j];

			if (!name_ok(f->name) || f->doc == NULL)
				return check_err(err, err_len, "op %s: field "
				    "%zu needs a name and a doc", op->name, j);
			if (hg_op_field(op, f->name) != f)
				return check_err(err, err_len, "op %s: field "
				    "%s twice", op->name, f->name);
			texts += f->type == HG_OPT_TEXT;
			if (f->type == HG_OPT_INT && f->min > f->max)
				return check_err(err, err_len, "op %s: field "
				    "%s: min > max", op->name, f->name);
		}
		if (texts > 1)
			return check_err(err, err_len, "op %s: at most one "
			    "text field", op->name);
		for (size_t j = 0; j < HG_OP_RESTS_MAX && op->rest[j].path;
		    j++) {
			int rc = rest_check(op, &op->rest[j], err, err_len);

			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* --- decoding --------------------------------------------------------- */

void
hg_op_req_init(struct hg_op_req *r, const struct hg_op *op)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->args = json_object();
}

void
hg_op_req_done(struct hg_op_req *r)
{
	json_decref(r->args);
	json_decref(r->reply);
	json_decref(r->errors);
	free(r->raw);
	r->args = r->reply = r->errors = NULL;
	r->raw = NULL;
}

/* The place a field's error names: where the client put it. */
static void
field_place(struct hg_op_req *r, const char *name, enum hg_op_in in)
{
	if (!r->http)
		snprintf(r->field, sizeof(r->field), "/%s", name);
	else if (in == HG_OPIN_QUERY)
		snprintf(r->field, sizeof(r->field), "query:%s", name);
	else if (in == HG_OPIN_PATH)
		snprintf(r->field, sizeof(r->field), "path:%s", name);
	else
		snprintf(r->field, sizeof(r->field), "/%s", name);
}

static int HG_PRINTF(4, 5)
field_error(struct hg_op_req *r, const char *name, enum hg_op_in in,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	field_place(r, name, in);
	r->code = NULL;
	r->status = 400;
	return 400;
}

static const char *
type_name(enum hg_op_type t)
{
	switch (t) {
	case HG_OPT_STRING: return "a string";
	case HG_OPT_INT: return "an integer";
	case HG_OPT_BOOL: return "true or false";
	case HG_OPT_TEXT: return "a string (a document)";
	case HG_OPT_OBJECT: return "an object";
	}
	return "?";
}

static size_t
string_max(const struct hg_op_field *f)
{
	return f->max > 0 ? (size_t)f->max : STRING_MAX_DEFAULT;
}

/* v, of field f, checked and kept in r->args. */
static int
field_set(struct hg_op_req *r, const struct hg_op_field *f, json_t *v,
    enum hg_op_in in)
{
	char num[24];

	switch (f->type) {
	case HG_OPT_STRING:
	case HG_OPT_TEXT:
		if (!json_is_string(v))
			goto type;
		if (f->type == HG_OPT_STRING &&
		    json_string_length(v) > string_max(f))
			return field_error(r, f->name, in, "%s: longer than %zu "
			    "bytes", f->name, string_max(f));
		if (memchr(json_string_value(v), '\0',
		    json_string_length(v)) != NULL)
			return field_error(r, f->name, in, "%s: holds a NUL "
			    "character", f->name);
		if (f->choices != NULL && !word_in(f->choices,
		    json_string_value(v), json_string_length(v)))
			return field_error(r, f->name, in, "%s: \"%.40s\" is "
			    "not one of: %s", f->name, json_string_value(v),
			    f->choices);
		if (f->type == HG_OPT_TEXT) {
			r->text = json_string_value(v);
			r->text_len = json_string_length(v);
		}
		break;
	case HG_OPT_INT:
		if (!json_is_integer(v))
			goto type;
		if (json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return field_error(r, f->name, in, "%s: %" PRId64 " is "
			    "out of range (%" PRId64 " to %" PRId64 ")", f->name,
			    (int64_t)json_integer_value(v), f->min, f->max);
		snprintf(num, sizeof(num), "%" PRId64,
		    (int64_t)json_integer_value(v));
		if (f->choices != NULL && !word_in(f->choices, num,
		    strlen(num)))
			return field_error(r, f->name, in, "%s: %s is not one "
			    "of: %s", f->name, num, f->choices);
		break;
	case HG_OPT_BOOL:
		if (!json_is_boolean(v))
			goto type;
		break;
	case HG_OPT_OBJECT:
		if (!json_is_object(v))
			goto type;
		break;
	}
	if (in == HG_OPIN_BODY)
		r->in_json |= 1u << (f - r->op->fields);
	if (json_object_set(r->args, f->name, v) != 0) {
		r->status = 500;
		snprintf(r->message, sizeof(r->message), "out of memory");
		return 500;
	}
	return 0;
type:
	return field_error(r, f->name, in, "%s: expected %s", f->name,
	    type_name(f->type));
}

/* "chain, rule, position": the names a client may send, for errors. */
static void
field_names(const struct hg_op *op, int only_in, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++) {
		const struct hg_op_field *f = &op->fields[i];
		int n;

		if (only_in >= 0 && ((int)f->in != only_in ||
		    f->type == HG_OPT_TEXT))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
		    f->name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, len, "none");
}

int
hg_op_decode_json(struct hg_op_req *r, const json_t *args, int only_in)
{
	const char *key;
	json_t *v;

	if (r->args == NULL) {
		r->status = 500;
		snprintf(r->message, sizeof(r->message), "out of memory");
		return 500;
	}
	if (args == NULL)
		return 0;
	if (!json_is_object(args))
		return field_error(r, "", HG_OPIN_BODY, "the arguments must be "
		    "a JSON object");
	json_object_foreach((json_t *)args, key, v) {
		const struct hg_op_field *f = hg_op_field(r->op, key);
		int rc;

		if (f == NULL || (only_in >= 0 && ((int)f->in != only_in ||
		    f->type == HG_OPT_TEXT))) {
			char names[256];

			field_names(r->op, only_in, names, sizeof(names));
			return field_error(r, key, HG_OPIN_BODY, "%.60s: "
			    "unknown field of %s (it takes: %s)", key,
			    r->op->name, names);
		}
		if ((rc = field_set(r, f, v, only_in >= 0 ? f->in :
		    HG_OPIN_BODY)) != 0)
			return rc;
	}
	return 0;
}

int
hg_op_set_string(struct hg_op_req *r, const char *name, const char *value,
    enum hg_op_in in)
{
	const struct hg_op_field *f = hg_op_field(r->op, name);
	json_t *v;
	int rc;

	if (f == NULL)
		return field_error(r, name, in, "%s: not a field of %s", name,
		    r->op->name);
	if (f->type == HG_OPT_INT) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno != 0 ||
		    value[0] == ' ' || value[0] == '+')
			return field_error(r, name, in, "%s: \"%.40s\" is not "
			    "an integer", name, value);
		v = json_integer(n);
	} else if (f->type == HG_OPT_BOOL) {
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
			v = json_true();
		else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
			v = json_false();
		else
			return field_error(r, name, in, "%s: \"%.40s\" is not "
			    "true, false, 1 or 0", name, value);
	} else if (f->type == HG_OPT_STRING) {
		v = json_string(value);
		if (v == NULL)
			return field_error(r, name, in, "%s: not valid UTF-8",
			    name);
	} else
		return field_error(r, name, in, "%s: expected %s", name,
		    type_name(f->type));
	rc = field_set(r, f, v, in);
	json_decref(v);
	return rc;
}

void
hg_op_set_text(struct hg_op_req *r, const char *text, size_t len)
{
	r->text = text;
	r->text_len = len;
}

int
hg_op_decode_finish(struct hg_op_req *r)
{
	for (size_t i = 0; i < HG_OP_FIELDS_MAX && r->op->fields[i].name;
	    i++) {
		const struct hg_op_field *f = &r->op->fields[i];

		if (f->type == HG_OPT_TEXT) {
			if (r->text == NULL && (f->flags & HG_OPF_REQUIRED))
				return field_error(r, f->name, HG_OPIN_BODY,
				    "%s: required (the document)", f->name);
			continue;
		}
		if (json_object_get(r->args, f->name) != NULL)
			continue;
		if (f->flags & HG_OPF_REQUIRED)
			return field_error(r, f->name, f->in, "%s: required "
			    "(%s)", f->name, f->doc);
	}
	return 0;
}

/* --- in a handler ----------------------------------------------------- */

const char *
hg_op_str(const struct hg_op_req *r, const char *name)
{
	return json_string_value(json_object_get(r->args, name));
}

int64_t
hg_op_int(const struct hg_op_req *r, const char *name)
{
	const json_t *v = json_object_get(r->args, name);
	const struct hg_op_field *f;

	if (v != NULL)
		return json_integer_value(v);
	f = hg_op_field(r->op, name);
	return f != NULL ? f->def : 0;
}

bool
hg_op_has(const struct hg_op_req *r, const char *name)
{
	return json_object_get(r->args, name) != NULL;
}

bool
hg_op_bool(const struct hg_op_req *r, const char *name)
{
	return json_is_true(json_object_get(r->args, name));
}

const json_t *
hg_op_json(const struct hg_op_req *r, const char *name)
{
	return json_object_get(r->args, name);
}

const char *
hg_op_text(const struct hg_op_req *r, size_t *len)
{
	*len = r->text_len;
	return r->text;
}

int
hg_op_reply(struct hg_op_req *r, int status, json_t *body)
{
	json_decref(r->reply);
	r->reply = body != NULL ? body : json_pack("{s:b}", "ok", 1);
	r->status = r->reply != NULL ? status : 500;
	if (r->reply == NULL)
		snprintf(r->message, sizeof(r->message), "out of memory");
	return r->status;
}

int
hg_op_reply_raw(struct hg_op_req *r, int status, const char *type,
    char *data, size_t len)
{
	free(r->raw);
	r->raw = data;
	r->raw_len = len;
	r->raw_type = type;
	r->status = status;
	return status;
}

static int
error_v(struct hg_op_req *r, int status, const char *code, const char *field,
    const char *fmt, va_list ap)
{
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	r->status = status;
	r->code = code;
	if (field == NULL)
		r->field[0] = '\0';
	else if (field[0] == '/' || strchr(field, ':') != NULL)
		snprintf(r->field, sizeof(r->field), "%s", field);
	else {
		const struct hg_op_field *f = hg_op_field(r->op, field);

		/* Where this request had it: a path field may come in a
		 * body on a route whose path lacks it. */
		field_place(r, field, f == NULL || (r->in_json & 1u <<
		    (f - r->op->fields)) ? HG_OPIN_BODY : f->in);
	}
	return status;
}

int
hg_op_error(struct hg_op_req *r, int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = error_v(r, status, NULL, field, fmt, ap);
	va_end(ap);
	return status;
}

int
hg_op_error_code(struct hg_op_req *r, int status, const char *code,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = error_v(r, status, code, field, fmt, ap);
	va_end(ap);
	return status;
}

int
hg_op_relay(struct hg_op_req *r, json_t *reply, int ok_status)
{
	const json_t *err;

	if (reply == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	err = json_object_get(reply, "error");
	if (err == NULL)
		return hg_op_reply(r, ok_status, reply);
	hg_op_error(r, 400, NULL, "%s", json_is_string(err) ?
	    json_string_value(err) : "refused");
	r->errors = json_incref(json_object_get(reply, "errors"));
	json_decref(reply);
	return r->status;
}

json_t *
hg_op_error_json(const struct hg_op_req *r)
{
	json_t *e = json_pack("{s:i,s:s,s:s,s:o}", "status", r->status,
	    "code", r->code != NULL ? r->code : hg_http_code(r->status),
	    "message", r->message, "field", r->field[0] != '\0' ?
	    json_string(r->field) : json_null());

	if (e != NULL && r->errors != NULL)
		json_object_set(e, "errors", r->errors);
	return e != NULL ? json_pack("{s:o}", "error", e) : NULL;
}

/* --- documentation ---------------------------------------------------- */

static json_t *
field_schema(const struct hg_op_field *f)
{
	json_t *s = json_object(), *en;

	if (s == NULL)
		return NULL;
	switch (f->type) {
	case HG_OPT_STRING:
	case HG_OPT_TEXT:
		json_object_set_new(s, "type", json_string("string"));
		if (f->type == HG_OPT_STRING)
			json_object_set_new(s, "maxLength",
			    json_integer((json_int_t)string_max(f)));
		break;
	case HG_OPT_INT:
		json_object_set_new(s, "type", json_string("integer"));
		json_object_set_new(s, "minimum", json_integer(f->min));
		json_object_set_new(s, "maximum", json_integer(f->max));
		if (!(f->flags & HG_OPF_REQUIRED))
			json_object_set_new(s, "default", json_integer(f->def));
		break;
	case HG_OPT_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case HG_OPT_OBJECT:
		json_object_set_new(s, "type", json_string("object"));
		break;
	}
	if (f->choices != NULL && (en = json_array()) != NULL) {
		for (const char *p = f->choices; *p != '\0';) {
			size_t n = strcspn(p, " ");

			json_array_append_new(en, f->type == HG_OPT_INT ?
			    json_integer(strtoll(p, NULL, 10)) :
			    json_stringn(p, n));
			p += n;
			p += strspn(p, " ");
		}
		json_object_set_new(s, "enum", en);
	}
	json_object_set_new(s, "description", json_string(f->doc));
	return s;
}

char *
hg_op_schema_text(const struct hg_op *op, enum hg_op_in in)
{
	json_t *props = json_object(), *req = json_array(), *s;
	char *text = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++) {
		const struct hg_op_field *f = &op->fields[i];

		if (f->in != in || f->type == HG_OPT_TEXT)
			continue;
		json_object_set_new(props, f->name, field_schema(f));
		if (f->flags & HG_OPF_REQUIRED)
			json_array_append_new(req, json_string(f->name));
		n++;
	}
	s = json_pack("{s:s,s:o}", "type", "object", "properties", props);
	props = NULL;
	if (s != NULL && json_array_size(req) > 0)
		json_object_set(s, "required", req);
	if (s != NULL && n > 0)
		text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s);
	json_decref(req);
	json_decref(props);
	return text;
}

char *
hg_op_query_names(const struct hg_op *op)
{
	char buf[256];
	size_t off = 0;

	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++) {
		int n;

		if (op->fields[i].in != HG_OPIN_QUERY)
			continue;
		n = snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    off ? " " : "", op->fields[i].name);
		if (n < 0 || (size_t)n >= sizeof(buf) - off)
			return NULL;
		off += (size_t)n;
	}
	return off > 0 ? strdup(buf) : NULL;
}
