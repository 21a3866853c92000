/*
 * tests/unit/daemon/test_ops.c: hexgated's operation table (ops.c)
 * without a process.  The table passes its own checks; every operation is
 * documented (a summary, each field's doc), has hexctl words and a REST
 * route, and no two routes collide; requests are decoded against the
 * real table with field-level errors before any handler runs; and the
 * handlers that need no data plane answer through hg_op_run.
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

#include "daemon/daemon.h"
#include "daemon/ops/ops.h"

static void
test_table_checks(void **state)
{
	char err[256] = "";

	(void)state;
	if (hg_op_table_check(hg_ops, hg_n_ops, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
test_every_op_documented(void **state)
{
	(void)state;
	for (size_t i = 0; i < hg_n_ops; i++) {
		const struct hg_op *op = &hg_ops[i];

		if (op->summary == NULL || strlen(op->summary) < 10)
			fail_msg("%s: no summary", op->name);
		if (op->cli == NULL)
			fail_msg("%s: no hexctl words", op->name);
		if (op->rest[0].path == NULL)
			fail_msg("%s: no REST route", op->name);
		/* A JSON reply says what it holds (the text and binary
		 * ones are documented by their type). */
		if (op->reply_schema == NULL &&
		    op->rest[0].response_type == NULL &&
		    !(op->rest[0].flags & HG_OPR_TEXT))
			fail_msg("%s: no reply schema", op->name);
		for (size_t j = 0; j < HG_OP_FIELDS_MAX && op->fields[j].name;
		    j++)
			if (op->fields[j].doc == NULL ||
			    strlen(op->fields[j].doc) < 3)
				fail_msg("%s: field %s has no doc", op->name,
				    op->fields[j].name);
	}
}

/* Two routes with the same method and path: the second is dead. */
static void
test_routes_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < hg_n_ops; i++)
		for (size_t a = 0; a < HG_OP_RESTS_MAX && hg_ops[i].rest[a].path;
		    a++)
			for (size_t j = i; j < hg_n_ops; j++)
				for (size_t b = j == i ? a + 1 : 0;
				    b < HG_OP_RESTS_MAX && hg_ops[j].rest[b].path;
				    b++)
					if (hg_ops[i].rest[a].method ==
					    hg_ops[j].rest[b].method &&
					    strcmp(hg_ops[i].rest[a].path,
					    hg_ops[j].rest[b].path) == 0)
						fail_msg("%s and %s: the same "
						    "route %s", hg_ops[i].name,
						    hg_ops[j].name,
						    hg_ops[i].rest[a].path);
}

/* Decodes text against the real op name; the status, r left for checks. */
static int
decode(struct hg_op_req *r, const char *name, const char *text)
{
	const struct hg_op *op = hg_op_find(hg_ops, hg_n_ops, name);
	json_error_t jerr;
	json_t *a = json_loads(text, 0, &jerr);
	int rc;

	assert_non_null(op);
	assert_non_null(a);
	hg_op_req_init(r, op);
	rc = hg_op_decode_json(r, a, -1);
	if (rc == 0)
		rc = hg_op_decode_finish(r);
	json_decref(a);
	return rc;
}

static const struct {
	const char *op, *args, *field, *msg;
} refused[] = {
	{ "firewall.add", "{\"rule\": \"-j DROP\"}", "/chain", "required" },
	{ "firewall.add", "{\"chain\": \"FORWARD_CUST\"}", "/rule",
	  "required" },
	{ "firewall.add", "{\"chain\": \"X\", \"rule\": \"-j DROP\", "
	  "\"family\": 5}", "/family", "not one of: 4 6" },
	{ "firewall.add", "{\"chain\": \"X\", \"rule\": \"-j DROP\", "
	  "\"position\": 0}", "/position", "out of range" },
	{ "firewall.add", "{\"chain\": \"X\", \"rule\": \"-j DROP\", "
	  "\"positon\": 2}", "/positon", "unknown field" },
	{ "config.rollback", "{}", "/version", "required" },
	{ "config.put", "{\"config\": []}", "/config", "expected an object" },
	{ "capture.start", "{\"interface\": \"lan\", \"direction\": "
	  "\"out\"}", "/direction", "not one of: in both" },
	{ "token.create", "{\"name\": \"ci\", \"expires_s\": -1}",
	  "/expires_s", "out of range" },
};

static void
test_refused_before_handlers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct hg_op_req r;

		assert_int_equal(decode(&r, refused[i].op, refused[i].args),
		    400);
		if (strcmp(r.field, refused[i].field) != 0 ||
		    strstr(r.message, refused[i].msg) == NULL)
			fail_msg("%s %s: field %s, \"%s\"", refused[i].op,
			    refused[i].args, r.field, r.message);
		hg_op_req_done(&r);
	}
}

/* Handlers that need no data plane, through hg_op_run as a transport
 * calls them. */
static void
test_run_without_dataplane(void **state)
{
	struct hg_daemon d;
	struct hg_op_req r;
	json_t *a;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(decode(&r, "ops.list", "{}"), 0);
	r.author = "test";
	assert_int_equal(hg_op_run(&d, &r), 200);
	a = json_object_get(r.reply, "ops");
	assert_int_equal(json_array_size(a), hg_n_ops);
	assert_null(d.who.author);	/* cleared after the call */
	hg_op_req_done(&r);

	/* No store: a 404 that says so, for every store operation. */
	assert_int_equal(decode(&r, "config.versions", "{}"), 0);
	assert_int_equal(hg_op_run(&d, &r), 404);
	assert_non_null(strstr(r.message, "no configuration store"));
	a = hg_op_answer(&r);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a,
	    "error"), "status")), 404);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    a, "error"), "code")), "not_found");
	json_decref(a);
	hg_op_req_done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_checks),
		cmocka_unit_test(test_every_op_documented),
		cmocka_unit_test(test_routes_unique),
		cmocka_unit_test(test_refused_before_handlers),
		cmocka_unit_test(test_run_without_dataplane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
