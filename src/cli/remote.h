/*
 * src/cli/remote.h: hexctl over hexgated's HTTPS REST API (docs/api.md)
 * instead of the control socket.  hexctl.c builds the same request line
 * for both; this file maps the line onto a route, sends it with libcurl
 * and prints the answer with render.c, as the socket path does.
 */
#ifndef CLI_REMOTE_H
#define CLI_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/hg.h"

struct cli_remote {
	const char *url;		/* https://HOST:PORT */
	const char *cacert;		/* NULL: the system's CAs */
	const char *password_file;	/* NULL: $HEXCTL_PASSWORD */
	const char *token_file;		/* NULL: $HEXCTL_TOKEN */
	bool insecure;			/* no certificate check (loud) */
};

/*
 * Carries out line ("firewall add -4 CHAIN -j DROP", as hexctl.c builds
 * it for the socket) with body (a restore's file, or NULL) on the API and
 * prints the answer.  Returns hexctl's exit status: 0, 1 when the server
 * refused (its message on stderr), 2 for a usage error, a command the API
 * has no route for, or a server that cannot be reached or trusted.
 */
int cli_remote_run(const struct cli_remote *r, const char *line,
    const char *body, size_t body_len, bool json_out) HG_MUST_CHECK;

#endif /* CLI_REMOTE_H */
