/*
 * src/mgmt/op.h: the control plane's operations.  Everything hexgated
 * offers to manage it (show the interfaces, add a rule, roll back, start
 * a capture) is one struct hg_op: a name, a typed request (fields with a
 * type, a place in an HTTP request, bounds and a description), a handler,
 * a reply, whether it changes the configuration, and its documentation.
 *
 * Transports carry operations; they do not know them.  The control socket
 * reads {"op": NAME, "args": {...}} and answers with the reply's JSON; the
 * HTTPS API serves each operation at its documented REST route(s) and at
 * POST /api/ops/NAME with the socket's arguments; both decode the request
 * here, against the same fields, with the same field-level errors, before
 * any handler runs.  The OpenAPI document is made from the same table.
 * docs/operations.md shows how to add one.
 *
 * Pure: no I/O, no daemon; tests/unit/mgmt/test_op.c drives it.
 */
#ifndef HG_OP_H
#define HG_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/hg.h"

#define HG_OP_FIELDS_MAX	8
#define HG_OP_RESTS_MAX		2
#define HG_OP_MESSAGE_MAX	512

enum hg_op_type {
	HG_OPT_STRING,		/* a UTF-8 string of at most max bytes */
	HG_OPT_INT,		/* an integer in [min, max] */
	HG_OPT_BOOL,
	HG_OPT_TEXT,		/* a document (rules, sets): the body over REST */
	HG_OPT_OBJECT,		/* any JSON object (a configuration) */
};

/* Where a field travels in an HTTP request (the socket: always in args). */
enum hg_op_in {
	HG_OPIN_BODY,		/* a member of the JSON body */
	HG_OPIN_QUERY,		/* ?name=value */
	HG_OPIN_PATH,		/* a :name segment of the route */
};

#define HG_OPF_REQUIRED		0x1
#define HG_OPF_SECRET		0x2	/* never logged */

struct hg_op_field {
	const char *name;
	enum hg_op_type type;
	enum hg_op_in in;
	unsigned flags;			/* HG_OPF_* */
	int64_t min, max;		/* INT: bounds; STRING: max bytes (0: 256) */
	const char *choices;		/* STRING: "json text" (one of them) */
	int64_t def;			/* INT: the value when absent */
	const char *doc;
};

/* The REST route(s) of an operation. */
enum hg_op_method { HG_OPM_GET, HG_OPM_POST, HG_OPM_PUT, HG_OPM_DELETE };

#define HG_OPR_TEXT		0x1	/* reply: the "text" member, as text */
#define HG_OPR_FORMAT		0x2	/* ?format=text|json picks that */
#define HG_OPR_NOBODY		0x4	/* the path says it all: no body */

struct hg_op_rest {
	enum hg_op_method method;
	const char *path;		/* "/api/firewall/rules/:chain/:position" */
	int ok_status;			/* 0: 200 */
	unsigned flags;			/* HG_OPR_* */
	const char *response_type;	/* a raw reply's type (pcap, metrics) */
};

struct hg_op_req;
/* Fills the reply with hg_op_reply*() or hg_op_error*(); returns what
 * they return (the status). */
typedef int (*hg_op_fn)(void *ctx, struct hg_op_req *r);

#define HG_OP_CHANGES		0x1	/* changes configuration (a version) */
#define HG_OP_NO_SOCKET		0x2	/* API only (its own credentials) */

struct hg_op {
	const char *name;		/* "firewall.add" */
	hg_op_fn fn;
	unsigned flags;			/* HG_OP_* */
	const char *summary;		/* one line */
	const char *cli;		/* hexctl's words for it, or NULL */
	struct hg_op_field fields[HG_OP_FIELDS_MAX];	/* name NULL: end */
	struct hg_op_rest rest[HG_OP_RESTS_MAX];	/* path NULL: end */
	const char *reply_schema;	/* JSON text; NULL: an object */
};

/* One request being served: its decoded arguments and, once the handler
 * has run, its reply. */
struct hg_op_req {
	const struct hg_op *op;
	json_t *args;			/* decoded: every field typed */
	const char *text;		/* the TEXT field, not copied */
	size_t text_len;
	const char *author;		/* who asks: "ctl", "api", "token:x" */
	const char *source;		/* from where: "unix", an address */
	bool http;			/* fields named as the API places them */
	uint32_t in_json;		/* fields (by index) from a JSON object */
	/* The reply: */
	int status;
	json_t *reply;			/* JSON, or NULL with raw */
	char *raw;			/* a text or binary reply (malloc'd) */
	size_t raw_len;
	const char *raw_type;
	char filename[64];		/* a raw reply's name for a download */
	/* An error: code, field (JSON pointer or "query:x"), message and the
	 * located errors of a document ({line, column, message} objects or
	 * strings). */
	const char *code;
	char field[80];
	char message[HG_OP_MESSAGE_MAX];
	json_t *errors;
};

/* --- the table -------------------------------------------------------- */

const struct hg_op *hg_op_find(const struct hg_op *ops, size_t n,
    const char *name);
const struct hg_op_field *hg_op_field(const struct hg_op *op,
    const char *name);
/* Checks a table once at start: names unique and well formed, fields
 * sane, REST paths naming only PATH fields.  0 or -EINVAL with err. */
int hg_op_table_check(const struct hg_op *ops, size_t n, char *err,
    size_t err_len) HG_MUST_CHECK;

/* --- decoding --------------------------------------------------------- */

/*
 * Starts r for op.  The arguments come from the socket's "args" object
 * (hg_op_decode_json) or, piece by piece, from an HTTP request (path,
 * query and body: hg_op_set_string, hg_op_decode_json on the body, then
 * hg_op_decode_finish).  Each returns 0, or the error status (400) with
 * r's error filled, naming the field.
 */
void hg_op_req_init(struct hg_op_req *r, const struct hg_op *op);
void hg_op_req_done(struct hg_op_req *r);
/* args: a JSON object whose members are fields of op (in is ignored for
 * the socket; with only_in >= 0, only fields that travel there).
 * field_prefix names the errors' place: "/" for a JSON pointer. */
int hg_op_decode_json(struct hg_op_req *r, const json_t *args,
    int only_in);
/* A path or query value, typed by its field. */
int hg_op_set_string(struct hg_op_req *r, const char *name,
    const char *value, enum hg_op_in in);
/* The TEXT field as bytes, not copied. */
void hg_op_set_text(struct hg_op_req *r, const char *text, size_t len);
/* Required fields present, defaults filled. */
int hg_op_decode_finish(struct hg_op_req *r);

/* --- in a handler ----------------------------------------------------- */

const char *hg_op_str(const struct hg_op_req *r, const char *name);
int64_t hg_op_int(const struct hg_op_req *r, const char *name);
bool hg_op_has(const struct hg_op_req *r, const char *name);
bool hg_op_bool(const struct hg_op_req *r, const char *name);
const json_t *hg_op_json(const struct hg_op_req *r, const char *name);
const char *hg_op_text(const struct hg_op_req *r, size_t *len);

/* Replies (body stolen; NULL: {"ok": true}).  Return status. */
int hg_op_reply(struct hg_op_req *r, int status, json_t *body);
/* A raw reply of len bytes, taken (malloc'd). */
int hg_op_reply_raw(struct hg_op_req *r, int status, const char *type,
    char *data, size_t len);
/* An error: status 4xx/5xx, code NULL for the status's own, field NULL
 * or a field's name (made a pointer or "query:x" by the transport). */
int hg_op_error(struct hg_op_req *r, int status, const char *field,
    const char *fmt, ...) HG_PRINTF(4, 5);
int hg_op_error_code(struct hg_op_req *r, int status, const char *code,
    const char *field, const char *fmt, ...) HG_PRINTF(5, 6);
/*
 * A reply of the older shape, {"error": "...", "errors": [...]} or an
 * answer: the error becomes a 400 (its located errors kept), anything
 * else ok_status.  reply is taken; NULL is out of memory (500).
 */
int hg_op_relay(struct hg_op_req *r, json_t *reply, int ok_status);

/* The error as the API and the socket send it:
 * {"error": {"status", "code", "message", "field", "errors"?}}. */
json_t *hg_op_error_json(const struct hg_op_req *r);

/* --- documentation ---------------------------------------------------- */

/* The JSON schema of the fields that travel in `in` (body: an object
 * schema; NULL when none do), as JSON text to free. */
char *hg_op_schema_text(const struct hg_op *op, enum hg_op_in in);
/* "family format": the query fields' names, to free; NULL if none. */
char *hg_op_query_names(const struct hg_op *op);

#endif /* HG_OP_H */
