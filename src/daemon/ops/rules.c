/*
 * src/daemon/ops/rules.c: the operations on the rules and the sets.
 * The fields arrive typed (ops.c); the rule and set texts are the
 * firewall's language and go to its parser once (firewall/publish.c), which
 * checks and compiles a change whole or refuses it with every error,
 * located, and nothing applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/set.h"
#include "../daemon.h"
#include "../config/apply.h"
#include "../config/versions.h"
#include "../firewall/firewall.h"
#include "ops.h"

static uint8_t
op_family(const struct hg_op_req *r)
{
	return hg_op_int(r, "family") == 6 ? FW_IPV6 : FW_IPV4;
}

/* Text for one line of a rule or set file: no line break, not blank. */
static int
one_line(struct hg_op_req *r, const char *field, const char *s)
{
	if (strpbrk(s, "\r\n") != NULL)
		return hg_op_error(r, 400, field, "%s: one line, without line "
		    "breaks", field);
	if (s[strspn(s, " \t")] == '\0')
		return hg_op_error(r, 400, field, "%s: empty", field);
	return 0;
}

/* A chain or set name: one word of printable characters (the firewall
 * says whether there is one). */
static int
one_word(struct hg_op_req *r, const char *field, const char *s)
{
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return hg_op_error(r, 400, field, "%s: a name without "
			    "spaces or control characters", field);
	return 0;
}

int
op_firewall_save(void *ctx, struct hg_op_req *r)
{
	return hg_op_relay(r, hg_fw_save(ctx, op_family(r)), 200);
}

int
op_firewall_restore(void *ctx, struct hg_op_req *r)
{
	const char *name = hg_op_str(r, "name");
	size_t len;
	const char *text = hg_op_text(r, &len);

	return hg_op_relay(r, hg_fw_restore(ctx, op_family(r), name != NULL ?
	    name : "api", text, len), 200);
}

int
op_firewall_add(void *ctx, struct hg_op_req *r)
{
	const char *chain = hg_op_str(r, "chain"), *rule = hg_op_str(r, "rule");
	bool insert = hg_op_has(r, "position");
	int rc;

	if ((rc = one_word(r, "chain", chain)) != 0 ||
	    (rc = one_line(r, "rule", rule)) != 0)
		return rc;
	return hg_op_relay(r, hg_fw_edit(ctx, op_family(r), insert ? 'I' : 'A',
	    chain, insert ? (uint32_t)hg_op_int(r, "position") : 0, rule), 200);
}

int
op_firewall_delete(void *ctx, struct hg_op_req *r)
{
	const char *chain = hg_op_str(r, "chain"), *rule = hg_op_str(r, "rule");
	bool by_pos = hg_op_has(r, "position");
	int rc;

	if ((rc = one_word(r, "chain", chain)) != 0)
		return rc;
	if (by_pos == (rule != NULL))
		return hg_op_error(r, 400, "rule", "a position or the rule's "
		    "text, one of them");
	if (rule != NULL) {
		if ((rc = one_line(r, "rule", rule)) != 0)
			return rc;
		/* A bare number would read as a position. */
		if (rule[strspn(rule, " 0123456789")] == '\0')
			return hg_op_error(r, 400, "rule", "rule: the rule's "
			    "text; a position is deleted with DELETE "
			    "/api/firewall/rules/CHAIN/N (\"position\")");
	}
	return hg_op_relay(r, hg_fw_edit(ctx, op_family(r), 'D', chain,
	    by_pos ? (uint32_t)hg_op_int(r, "position") : 0, rule), 200);
}

int
op_sets_save(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	char *text = fw_sets_save(d->sets);
	json_t *o;

	if (text == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	o = json_pack("{s:s}", "text", text);
	free(text);
	return hg_op_reply(r, 200, o);
}

int
op_sets_restore(void *ctx, struct hg_op_req *r)
{
	const char *name = hg_op_str(r, "name");
	size_t len;
	const char *text = hg_op_text(r, &len);

	return hg_op_relay(r, hg_sets_restore(ctx, name != NULL ? name : "api",
	    text, len), 200);
}

/* One ipset command, checked and applied like a restore of one line. */
static int
set_entry(struct hg_daemon *d, struct hg_op_req *r, const char *cmd)
{
	const char *name = hg_op_str(r, "name"), *entry = hg_op_str(r, "entry");
	char *text;
	int rc;

	if ((rc = one_word(r, "name", name)) != 0 ||
	    (rc = one_line(r, "entry", entry)) != 0)
		return rc;
	if (asprintf(&text, "%s %s %s\n", cmd, name, entry) < 0)
		return hg_op_error(r, 500, NULL, "out of memory");
	rc = hg_op_relay(r, hg_sets_restore(d, "element", text, strlen(text)),
	    200);
	free(text);
	return rc;
}

int
op_sets_add(void *ctx, struct hg_op_req *r)
{
	return set_entry(ctx, r, "add");
}

int
op_sets_del(void *ctx, struct hg_op_req *r)
{
	return set_entry(ctx, r, "del");
}
