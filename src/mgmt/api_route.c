/*
 * src/mgmt/api_route.c: the API's route table: patterns split into
 * segments once at start, and request paths matched against them.  A
 * control API has tens of routes, so matching is a walk over the table in
 * order, which also gives "first match wins" and the Allow list of a 405
 * for free.  Dispatch is in api.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api_priv.h"

void
api_segs_free(char **segs, size_t n)
{
	if (segs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

/* Splits "/a/b" into "a", "b"; decode percent-decodes each segment. */
static int
split(const char *path, bool decode, char ***out, size_t *n_out)
{
	char **segs = NULL;
	size_t n = 0, cap = 0;
	const char *p, *slash;

	if (path[0] != '/')
		return -EINVAL;
	for (p = path + 1;; p = slash + 1) {
		size_t len, dlen;
		char *seg, *raw;

		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == cap) {
			char **grown;

			cap = cap != 0 ? cap * 2 : 8;
			grown = realloc(segs, cap * sizeof(*segs));
			if (grown == NULL)
				goto fail;
			segs = grown;
		}
		if ((raw = strndup(p, len)) == NULL)
			goto fail;
		seg = raw;
		if (decode) {
			seg = evhttp_uridecode(raw, 0, &dlen);
			free(raw);
			if (seg == NULL)
				goto fail;
			if (dlen != strlen(seg)) {	/* "%00" */
				free(seg);
				api_segs_free(segs, n);
				return -EINVAL;
			}
		}
		segs[n++] = seg;
		if (slash == NULL)
			break;
	}
	*out = segs;
	*n_out = n;
	return 0;
fail:
	api_segs_free(segs, n);
	return -ENOMEM;
}

int
api_path_split(const char *path, char ***segs, size_t *n)
{
	return split(path, true, segs, n);
}

static bool
name_is_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && *s != '-')
			return false;
	return true;
}

/* Same segments, a parameter matching any parameter name. */
static bool
same_pattern(const struct api_route *a, const struct api_route *b)
{
	if (a->n_segs != b->n_segs)
		return false;
	for (size_t i = 0; i < a->n_segs; i++) {
		bool pa = a->segs[i][0] == ':', pb = b->segs[i][0] == ':';

		if (pa != pb || (!pa && strcmp(a->segs[i], b->segs[i]) != 0))
			return false;
	}
	return true;
}

static int
query_compile(struct api_route *ar, size_t idx, char *err, size_t err_len)
{
	const char *q = ar->r->query_params, *p = q;

	while (q != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");
		char **grown;

		if (len == 0) {
			p++;
			continue;
		}
		grown = realloc(ar->query, (ar->n_query + 1) * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		ar->query = grown;
		if ((ar->query[ar->n_query] = strndup(p, len)) == NULL)
			return -ENOMEM;
		if (!name_is_valid(ar->query[ar->n_query++])) {
			snprintf(err, err_len, "route %zu (%s): bad query "
			    "parameter name in \"%s\"", idx, ar->r->path, q);
			return -EINVAL;
		}
		p += len;
	}
	return 0;
}

static int
route_compile(struct api_route *ar, size_t idx, char *err, size_t err_len)
{
	const struct hg_api_route *r = ar->r;
	int rc;

	if (r->path == NULL || r->handler == NULL ||
	    (unsigned)r->method >= HG_API_METHOD_COUNT ||
	    (unsigned)r->body >= HG_API_BODY_COUNT) {
		snprintf(err, err_len, "route %zu: needs a path, a handler, a "
		    "method and a body kind", idx);
		return -EINVAL;
	}
	/* api_openapi.c builds names from it in fixed buffers */
	if (strlen(r->path) > API_ROUTE_PATH_MAX) {
		snprintf(err, err_len, "route %zu: path longer than %d bytes",
		    idx, API_ROUTE_PATH_MAX);
		return -EINVAL;
	}
	rc = split(r->path, false, &ar->segs, &ar->n_segs);
	if (rc == -EINVAL)
		snprintf(err, err_len, "route %zu: path \"%s\" must start "
		    "with /", idx, r->path);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < ar->n_segs; i++) {
		if (ar->segs[i][0] != ':')
			continue;
		if (!name_is_valid(ar->segs[i] + 1))
			goto bad_param;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ar->segs[i], ar->segs[j]) == 0)
				goto bad_param;
	}
	return query_compile(ar, idx, err, err_len);
bad_param:
	snprintf(err, err_len, "route %zu: path \"%s\": parameters are "
	    "\":name\" with a unique name of [A-Za-z0-9_-]", idx, r->path);
	return -EINVAL;
}

int
api_routes_compile(struct hg_api *api, const struct hg_api_params *p,
    char *err, size_t err_len)
{
	size_t n = p->n_routes + 1;
	int rc;

	api->routes = calloc(n, sizeof(*api->routes));
	if (api->routes == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct api_route *ar = &api->routes[i];

		ar->r = i < p->n_routes ? &p->routes[i] : &api->openapi_route;
		api->n_routes = i + 1;
		if ((rc = route_compile(ar, i, err, err_len)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (ar->r->method != api->routes[j].r->method ||
			    !same_pattern(ar, &api->routes[j]))
				continue;
			snprintf(err, err_len, "route %zu: %s %s is route %zu "
			    "again", i, hg_api_method_name(ar->r->method),
			    ar->r->path, j);
			return -EINVAL;
		}
	}
	return 0;
}

void
api_routes_free(struct hg_api *api)
{
	for (size_t i = 0; i < api->n_routes; i++) {
		api_segs_free(api->routes[i].segs, api->routes[i].n_segs);
		api_segs_free(api->routes[i].query, api->routes[i].n_query);
	}
	free(api->routes);
	api->routes = NULL;
	api->n_routes = 0;
}

bool
api_route_match(const struct api_route *ar, char *const *segs, size_t n)
{
	if (ar->n_segs != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ar->segs[i][0] == ':') {
			if (segs[i][0] == '\0')
				return false;
		} else if (strcmp(ar->segs[i], segs[i]) != 0)
			return false;
	}
	return true;
}

bool
api_route_has_query(const struct api_route *ar, const char *name)
{
	for (size_t i = 0; i < ar->n_query; i++)
		if (strcmp(ar->query[i], name) == 0)
			return true;
	return false;
}
