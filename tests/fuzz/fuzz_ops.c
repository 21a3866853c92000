/*
 * tests/fuzz/fuzz_ops.c: the control socket's request, as any local
 * client may send it, decoded against hexgated's real operation table
 * (src/daemon/ops.c, src/mgmt/op.c) the way ctl.c does before a handler
 * would run; and the same bytes as an HTTP path or query value of each
 * field.  Nothing may crash, leak or read out of bounds, and a refused
 * request must name its error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/ops/ops.h"

static void
check_refusal(const struct hg_op_req *r, int rc)
{
	json_t *e;

	if (rc == 0)
		return;
	if (r->message[0] == '\0')
		abort();	/* a refusal must say why */
	e = hg_op_error_json(r);
	json_decref(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hg_op *op;
	struct hg_op_req r;
	json_error_t jerr;
	json_t *req;
	char *text;
	int rc;

	req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (req != NULL) {
		const char *name = json_string_value(json_object_get(req, "op"));

		op = name != NULL ? hg_op_find(hg_ops, hg_n_ops, name) : NULL;
		if (op == NULL && hg_n_ops > 0)
			op = &hg_ops[json_object_size(req) % hg_n_ops];
		hg_op_req_init(&r, op);
		rc = hg_op_decode_json(&r, json_object_get(req, "args"), -1);
		if (rc == 0)
			rc = hg_op_decode_finish(&r);
		check_refusal(&r, rc);
		hg_op_req_done(&r);
		json_decref(req);
	}
	/* The bytes as one HTTP value of every field of one operation. */
	if (size == 0 || (text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	op = &hg_ops[data[0] % hg_n_ops];
	hg_op_req_init(&r, op);
	r.http = true;
	for (size_t i = 0; i < HG_OP_FIELDS_MAX && op->fields[i].name; i++) {
		rc = hg_op_set_string(&r, op->fields[i].name, text,
		    op->fields[i].in);
		check_refusal(&r, rc);
	}
	hg_op_req_done(&r);
	free(text);
	return 0;
}
