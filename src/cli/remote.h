/*
 * src/cli/remote.h: hexctl over hexgated's HTTPS REST API (docs/api.md)
 * instead of the control socket.  hexctl.c builds the same request for
 * both and prints the same answers.
 */
#ifndef CLI_REMOTE_H
#define CLI_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../lib/hg.h"

struct cli_remote {
	const char *url;		/* https://HOST:PORT */
	const char *cacert;		/* NULL: the system's CAs */
	const char *password_file;	/* NULL: $HEXCTL_PASSWORD */
	const char *token_file;		/* NULL: $HEXCTL_TOKEN */
	bool insecure;			/* no certificate check (loud) */
};

/*
 * Runs operation op with body ({"args": {...}}, JSON text) on the API:
 * POST /api/ops/OP.  Returns 0 with the answer in *resp (the operation's
 * reply, or {"error": {...}} when it refused), or hexctl's exit status
 * after saying why on stderr: 2 for a server that cannot be reached or
 * trusted, 1 for an answer that is not the API's.
 */
int cli_remote_call(const struct cli_remote *r, const char *op,
    const char *body, json_t **resp) HG_MUST_CHECK;

#endif /* CLI_REMOTE_H */
