/*
 * src/cli/render.h: hexctl's text view of hexgated's JSON answers.  Pure:
 * an answer and a stream in, aligned text out; the socket lives in
 * hexctl.c, so tests feed canned answers here.
 */
#ifndef CLI_RENDER_H
#define CLI_RENDER_H

#include <stdio.h>

#include <jansson.h>

#include "../lib/hg.h"

/*
 * Writes resp, the server's answer to the request line cmd ("show routes",
 * no newline), to out: a table for the commands hexctl knows (by their
 * first words: "firewall save -6" is "firewall save"), the text itself for
 * the save commands, nothing for a rule or element change that worked,
 * indented JSON for any other command or an answer of a shape it does not
 * expect.  The caller has already handled {"error": ...}.  0, or -EIO when
 * out failed.
 */
int cli_render(const char *cmd, const json_t *resp, FILE *out) HG_MUST_CHECK;

#endif /* CLI_RENDER_H */
