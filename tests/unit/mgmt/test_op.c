/*
 * tests/unit/mgmt/test_op.c: proves src/mgmt/op.c, the decoding of an
 * operation's request against its fields: types, bounds, choices,
 * required fields and defaults, unknown fields, the place each error
 * names for the socket ("/name") and for the API ("query:x", "path:x"),
 * the error reply's shape, the table checks and the schema text the
 * OpenAPI document is made from.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mgmt/op.h"

static int
echo(void *ctx, struct hg_op_req *r)
{
	(void)ctx;
	return hg_op_reply(r, 200, json_incref(r->args));
}

static const struct hg_op ops[] = {
	{ "rule.add", echo, HG_OP_CHANGES, "add a rule", "rule add",
	  .fields = {
	  { "family", HG_OPT_INT, HG_OPIN_QUERY, 0, 4, 6, "4 6", 4, "family" },
	  { "chain", HG_OPT_STRING, HG_OPIN_PATH, HG_OPF_REQUIRED, 1, 8, NULL,
	    0, "the chain" },
	  { "rule", HG_OPT_STRING, HG_OPIN_BODY, HG_OPF_REQUIRED, 1, 64, NULL,
	    0, "the rule" },
	  { "position", HG_OPT_INT, HG_OPIN_BODY, 0, 1, 100, NULL, 0, "pos" },
	  { "mode", HG_OPT_STRING, HG_OPIN_BODY, 0, 1, 8, "in both", 0,
	    "direction" },
	  { "force", HG_OPT_BOOL, HG_OPIN_QUERY, 0, 0, 0, NULL, 0, "force" } },
	  .rest = { { HG_OPM_POST, "/api/rules/:chain", 201, 0, NULL } } },
	{ "doc.put", echo, 0, "a document", NULL, .fields = {
	  { "text", HG_OPT_TEXT, HG_OPIN_BODY, HG_OPF_REQUIRED, 0, 0, NULL, 0,
	    "the text" } } },
};

static json_t *
args(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	assert_non_null(j);
	return j;
}

/* Decodes text as the socket does; the status. */
static int
socket_decode(struct hg_op_req *r, const struct hg_op *op, const char *text)
{
	json_t *a = args(text);
	int rc;

	hg_op_req_init(r, op);
	rc = hg_op_decode_json(r, a, -1);
	if (rc == 0)
		rc = hg_op_decode_finish(r);
	json_decref(a);
	return rc;
}

static void
test_good_request(void **state)
{
	struct hg_op_req r;

	(void)state;
	assert_int_equal(socket_decode(&r, &ops[0], "{\"chain\": \"FWD\", "
	    "\"rule\": \"-j DROP\", \"position\": 3}"), 0);
	assert_string_equal(hg_op_str(&r, "chain"), "FWD");
	assert_int_equal(hg_op_int(&r, "position"), 3);
	/* Absent: the default, and not "has". */
	assert_int_equal(hg_op_int(&r, "family"), 4);
	assert_false(hg_op_has(&r, "family"));
	assert_false(hg_op_bool(&r, "force"));
	hg_op_req_done(&r);
}

static const struct {
	const char *args;
	const char *field;		/* the error's place */
	const char *msg;		/* a fragment of its message */
} bad[] = {
	{ "{\"rule\": \"-j DROP\"}", "/chain", "required" },
	{ "{\"chain\": 7, \"rule\": \"x\"}", "/chain", "expected a string" },
	{ "{\"chain\": \"TOO_LONG_NAME\", \"rule\": \"x\"}", "/chain",
	  "longer than 8" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"position\": 0}", "/position",
	  "out of range (1 to 100)" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"position\": \"2\"}",
	  "/position", "expected an integer" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"family\": 5}", "/family",
	  "not one of: 4 6" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"mode\": \"out\"}", "/mode",
	  "not one of: in both" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"force\": 1}", "/force",
	  "true or false" },
	{ "{\"chain\": \"A\", \"rule\": \"x\", \"colour\": 1}", "/colour",
	  "unknown field of rule.add (it takes: family, chain, rule" },
};

static void
test_bad_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hg_op_req r;
		json_t *e;

		assert_int_equal(socket_decode(&r, &ops[0], bad[i].args), 400);
		if (strstr(r.message, bad[i].msg) == NULL ||
		    strcmp(r.field, bad[i].field) != 0)
			fail_msg("%s: field %s message \"%s\"", bad[i].args,
			    r.field, r.message);
		e = hg_op_error_json(&r);
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(e, "error"), "status")), 400);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(e, "error"), "code")), "bad_request");
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(e, "error"), "field")), bad[i].field);
		json_decref(e);
		hg_op_req_done(&r);
	}
}

/* The API's pieces: path and query values are text, typed by the field;
 * errors name where the client put them. */
static void
test_http_pieces(void **state)
{
	struct hg_op_req r;

	(void)state;
	hg_op_req_init(&r, &ops[0]);
	r.http = true;
	assert_int_equal(hg_op_set_string(&r, "family", "6", HG_OPIN_QUERY),
	    0);
	assert_int_equal(hg_op_set_string(&r, "force", "1", HG_OPIN_QUERY), 0);
	assert_int_equal(hg_op_set_string(&r, "chain", "FWD", HG_OPIN_PATH),
	    0);
	assert_int_equal(hg_op_int(&r, "family"), 6);
	assert_true(hg_op_bool(&r, "force"));
	/* rule is required and missing. */
	assert_int_equal(hg_op_decode_finish(&r), 400);
	assert_string_equal(r.field, "/rule");
	hg_op_req_done(&r);

	hg_op_req_init(&r, &ops[0]);
	r.http = true;
	assert_int_equal(hg_op_set_string(&r, "family", "4x", HG_OPIN_QUERY),
	    400);
	assert_string_equal(r.field, "query:family");
	assert_non_null(strstr(r.message, "not an integer"));
	hg_op_req_done(&r);

	hg_op_req_init(&r, &ops[0]);
	r.http = true;
	assert_int_equal(hg_op_set_string(&r, "force", "yes", HG_OPIN_QUERY),
	    400);
	assert_string_equal(r.field, "query:force");
	hg_op_req_done(&r);
}

static void
test_text_field(void **state)
{
	struct hg_op_req r;
	const char *t;
	size_t len;

	(void)state;
	assert_int_equal(socket_decode(&r, &ops[1], "{}"), 400);
	assert_string_equal(r.field, "/text");
	hg_op_req_done(&r);
	assert_int_equal(socket_decode(&r, &ops[1], "{\"text\": \"*filter\\n"
	    "COMMIT\\n\"}"), 0);
	t = hg_op_text(&r, &len);
	assert_int_equal(len, 15);
	assert_memory_equal(t, "*filter\nCOMMIT\n", 15);
	hg_op_req_done(&r);
}

/* The older reply shape of the firewall's functions, relayed. */
static void
test_relay(void **state)
{
	struct hg_op_req r;

	(void)state;
	hg_op_req_init(&r, &ops[0]);
	assert_int_equal(hg_op_relay(&r, json_pack("{s:s,s:[s]}", "error",
	    "rule refused", "errors", "rule:1:4-7: error: unknown protocol"),
	    200), 400);
	assert_string_equal(r.message, "rule refused");
	assert_int_equal(json_array_size(r.errors), 1);
	hg_op_req_done(&r);
	hg_op_req_init(&r, &ops[0]);
	assert_int_equal(hg_op_relay(&r, json_pack("{s:b}", "ok", 1), 201),
	    201);
	assert_true(json_is_true(json_object_get(r.reply, "ok")));
	hg_op_req_done(&r);
}

static void
test_table_check(void **state)
{
	struct hg_op bad_ops[2];
	char err[256];

	(void)state;
	assert_int_equal(hg_op_table_check(ops, 2, err, sizeof(err)), 0);
	/* Twice the same name. */
	bad_ops[0] = ops[0];
	bad_ops[1] = ops[0];
	assert_int_equal(hg_op_table_check(bad_ops, 2, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "twice"));
	/* A path parameter that is not a path field. */
	bad_ops[1] = ops[1];
	bad_ops[1].rest[0] = (struct hg_op_rest){ HG_OPM_GET,
	    "/api/doc/:colour", 0, 0, NULL };
	assert_int_equal(hg_op_table_check(bad_ops, 2, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, ":colour"));
	/* A field without its documentation. */
	bad_ops[1] = ops[1];
	bad_ops[1].fields[0].doc = NULL;
	assert_int_equal(hg_op_table_check(bad_ops, 2, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "doc"));
}

static void
test_schema(void **state)
{
	char *s = hg_op_schema_text(&ops[0], HG_OPIN_BODY), *q;
	json_t *j;

	(void)state;
	assert_non_null(s);
	j = args(s);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "object");
	assert_non_null(json_object_get(json_object_get(j, "properties"),
	    "rule"));
	assert_null(json_object_get(json_object_get(j, "properties"),
	    "chain"));	/* the path's */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(j, "properties"), "position"), "maximum")), 100);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    j, "required"), 0)), "rule");
	json_decref(j);
	free(s);
	q = hg_op_query_names(&ops[0]);
	assert_string_equal(q, "family force");
	free(q);
	assert_null(hg_op_schema_text(&ops[1], HG_OPIN_BODY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_request),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_http_pieces),
		cmocka_unit_test(test_text_field),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_table_check),
		cmocka_unit_test(test_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
