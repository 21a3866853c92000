/*
 * src/mgmt/api_openapi.c: the OpenAPI 3.0 document served at
 * /api/openapi.json, made from the route table at start, so it describes
 * exactly the routes, parameters and bodies the server accepts (api.c
 * refuses undeclared query parameters for the same reason).  The test in
 * tests/unit/mgmt/test_api.c checks it against the server both ways.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api_priv.h"

static const char error_schema[] =
    "{\"type\": \"object\", \"required\": [\"error\"], \"properties\": {"
    " \"error\": {\"type\": \"object\","
    "  \"required\": [\"status\", \"code\", \"message\"], \"properties\": {"
    "   \"status\": {\"type\": \"integer\"},"
    "   \"code\": {\"type\": \"string\", \"example\": \"bad_request\"},"
    "   \"message\": {\"type\": \"string\"},"
    "   \"field\": {\"type\": \"string\", \"description\": \"JSON pointer "
    "into the request body, or query:NAME / path:NAME\"},"
    "   \"line\": {\"type\": \"integer\"},"
    "   \"column\": {\"type\": \"integer\"}}}}}";

/* A schema snippet of the route table, checked to be a JSON object. */
static int
schema_parse(const char *text, const char *fallback, size_t idx,
    const char *what, json_t **out, char *err, size_t err_len)
{
	json_error_t je;
	json_t *j;

	j = json_loads(text != NULL ? text : fallback, 0, &je);
	if (j != NULL && json_is_object(j)) {
		*out = j;
		return 0;
	}
	if (j == NULL)
		snprintf(err, err_len, "route %zu: %s: line %d column %d: %s",
		    idx, what, je.line, je.column, je.text);
	else
		snprintf(err, err_len, "route %zu: %s: not a JSON object",
		    idx, what);
	json_decref(j);
	return -EINVAL;
}

static json_t *
param_json(const char *name, const char *in)
{
	return json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", in,
	    "required", strcmp(in, "path") == 0, "schema", "type", "string");
}

/* "/api/items/:id" -> "/api/items/{id}"; operationId "get_api_items_id". */
static void
route_names(const struct api_route *ar, char *tmpl, size_t tlen, char *opid,
    size_t olen)
{
	size_t t = 0, o;

	o = (size_t)snprintf(opid, olen, "%s",
	    hg_api_method_name(ar->r->method));
	for (size_t i = 0; i < olen && opid[i] != '\0'; i++)
		opid[i] = (char)(opid[i] | 0x20);	/* ASCII lower case */
	tmpl[0] = '\0';
	for (size_t i = 0; i < ar->n_segs; i++) {
		const char *s = ar->segs[i];
		bool param = s[0] == ':';

		t += (size_t)snprintf(tmpl + t, tlen - HG_MIN(t, tlen),
		    param ? "/{%s}" : "/%s", param ? s + 1 : s);
		o += (size_t)snprintf(opid + o, olen - HG_MIN(o, olen), "_%s",
		    param ? s + 1 : s);
	}
	for (char *c = opid; *c != '\0'; c++)
		if (*c == '.' || *c == '-')
			*c = '_';
}

static int
op_body(json_t *op, const struct hg_api_route *r, size_t idx, char *err,
    size_t err_len)
{
	json_t *schema;
	int rc;

	if (r->body == HG_API_BODY_JSON) {
		rc = schema_parse(r->request_schema, "{\"type\": \"object\"}",
		    idx, "request_schema", &schema, err, err_len);
		if (rc != 0)
			return rc;
		json_object_set_new(op, "requestBody", json_pack(
		    "{s:b,s:{s:{s:o}}}", "required", 1, "content",
		    "application/json", "schema", schema));
	} else if (r->body == HG_API_BODY_TEXT)
		json_object_set_new(op, "requestBody", json_pack(
		    "{s:b,s:{s:{s:{s:s}}}}", "required", 1, "content",
		    "text/plain", "schema", "type", "string"));
	return 0;
}

static int
op_responses(json_t *op, const struct hg_api_route *r, size_t idx, char *err,
    size_t err_len)
{
	const char *type = r->response_type != NULL ? r->response_type :
	    "application/json";
	json_t *resp = json_object(), *ok, *schema;
	char status[8];
	int rc;

	snprintf(status, sizeof(status), "%d",
	    r->ok_status != 0 ? r->ok_status : 200);
	ok = json_pack("{s:s}", "description", r->summary != NULL ?
	    r->summary : "success");
	if (strcmp(status, "204") != 0) {
		if (strcmp(type, "application/json") == 0) {
			rc = schema_parse(r->response_schema, "{}", idx,
			    "response_schema", &schema, err, err_len);
			if (rc != 0) {
				json_decref(ok);
				json_decref(resp);
				return rc;
			}
		} else if (strncmp(type, "text/", 5) == 0)
			schema = json_pack("{s:s}", "type", "string");
		else
			schema = json_pack("{s:s,s:s}", "type", "string",
			    "format", "binary");
		json_object_set_new(ok, "content",
		    json_pack("{s:{s:o}}", type, "schema", schema));
	}
	json_object_set_new(resp, status, ok);
	json_object_set_new(resp, "default", json_pack("{s:s}", "$ref",
	    "#/components/responses/Error"));
	json_object_set_new(op, "responses", resp);
	return 0;
}

static int
op_add(json_t *paths, const struct api_route *ar, size_t idx, char *err,
    size_t err_len)
{
	const struct hg_api_route *r = ar->r;
	char tmpl[512], opid[512], method[16];
	json_t *op, *params = json_array(), *item;
	int rc;

	route_names(ar, tmpl, sizeof(tmpl), opid, sizeof(opid));
	for (size_t i = 0; i < ar->n_segs; i++)
		if (ar->segs[i][0] == ':')
			json_array_append_new(params,
			    param_json(ar->segs[i] + 1, "path"));
	for (size_t i = 0; i < ar->n_query; i++)
		json_array_append_new(params, param_json(ar->query[i], "query"));
	op = json_pack("{s:s,s:s,s:o}", "summary", r->summary != NULL ?
	    r->summary : "", "operationId", opid, "parameters", params);
	if (r->flags & HG_API_ROUTE_PUBLIC)
		json_object_set_new(op, "security", json_array());
	if ((rc = op_body(op, r, idx, err, err_len)) != 0 ||
	    (rc = op_responses(op, r, idx, err, err_len)) != 0) {
		json_decref(op);
		return rc;
	}
	if ((item = json_object_get(paths, tmpl)) == NULL) {
		item = json_object();
		json_object_set_new(paths, tmpl, item);
	}
	snprintf(method, sizeof(method), "%s", hg_api_method_name(r->method));
	for (char *c = method; *c != '\0'; c++)
		*c = (char)(*c | 0x20);		/* OpenAPI's keys are lower case */
	json_object_set_new(item, method, op);
	return 0;
}

static json_t *
components(void)
{
	json_t *err = json_loads(error_schema, 0, NULL);

	return json_pack("{s:{s:{s:s,s:s},s:{s:s,s:s,s:s}},s:{s:o},"
	    "s:{s:{s:s,s:{s:{s:{s:s}}}}}}",
	    "securitySchemes",
	    "basic", "type", "http", "scheme", "basic",
	    "token", "type", "apiKey", "in", "header", "name", "Api-Token",
	    "schemas", "Error", err,
	    "responses", "Error", "description", "an error",
	    "content", "application/json", "schema", "$ref",
	    "#/components/schemas/Error");
}

int
api_openapi_build(struct hg_api *api, const struct hg_api_params *p,
    char *err, size_t err_len)
{
	json_t *doc, *paths = json_object();
	int rc;

	for (size_t i = 0; i < api->n_routes; i++)
		if ((rc = op_add(paths, &api->routes[i], i, err, err_len)) != 0) {
			json_decref(paths);
			return rc;
		}
	doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:[{s:[]},{s:[]}],s:o}",
	    "openapi", "3.0.3",
	    "info", "title", "hexgate API", "version",
	    p->api_version != NULL ? p->api_version : "0",
	    "description", "The hexgate appliance's REST API. Every operation "
	    "needs HTTP Basic (user \"api\") or an Api-Token header unless it "
	    "says security: []. Errors are JSON (components/schemas/Error). "
	    "Five failed logins from one source within 60 s get 429 with "
	    "Retry-After.",
	    "components", components(),
	    "security", "basic", "token",
	    "paths", paths);
	if (doc == NULL)
		return -ENOMEM;
	api->openapi = doc;
	api->openapi_text = json_dumps(doc, JSON_INDENT(1));
	return api->openapi_text != NULL ? 0 : -ENOMEM;
}
