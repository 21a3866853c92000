/*
 * tests/unit/fw/test_ruleset.c: what a restore does to the tables it
 * does not name (iptables-restore leaves them as they are, so an empty or
 * comment-only text changes nothing and clearing takes "*filter" and
 * "COMMIT"), and the interfaces rules name that the appliance does not
 * have: where each is written and the name it was probably meant to be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fw/fw.h"

static struct fw_errs errs;

static struct fw_ruleset *
parse(const char *text, uint8_t family)
{
	struct fw_parse_opts o = { .family = family,
	    .syntax = FW_SYNTAX_RESTORE };
	struct fw_ruleset *rs = NULL;

	if (fw_parse(text, strlen(text), &o, &rs, &errs) != 0)
		fail_msg("does not parse: %s", errs.n ? errs.e[0].msg : "?");
	return rs;
}

static uint32_t
n_rules(const struct fw_ruleset *rs, enum fw_table_id t, const char *chain)
{
	return fw_ruleset_chain(rs, t, chain)->n_rules;
}

static const char live_text[] =
    "*filter\n"
    ":INPUT ACCEPT [0:0]\n"
    ":MINE - [0:0]\n"
    "[5:300] -A FORWARD_CUST -s 10.0.0.0/8 -j MINE\n"
    "-A MINE -j DROP\n"
    "COMMIT\n"
    "*nat\n"
    "-A POSTROUTING_CUST -o wan -j MASQUERADE\n"
    "COMMIT\n";

struct keep_case {
	const char *what;
	const char *text;
	uint8_t named;
	uint32_t forward, postrouting;	/* rules after the merge */
	bool same_as_live;
};

static const struct keep_case keep_cases[] = {
	{ "empty text: nothing named, nothing changes", "", 0, 1, 1, true },
	{ "comments only", "# just a note\n\n   # another\n", 0, 1, 1, true },
	{ "*filter and COMMIT clear filter, keep nat",
	  "*filter\nCOMMIT\n", 1u << FW_TABLE_FILTER, 0, 1, false },
	{ "*nat replaces nat, keeps filter",
	  "*nat\n-A POSTROUTING_CUST -o lan -j MASQUERADE\n"
	  "-A POSTROUTING_CUST -o wan -j MASQUERADE\nCOMMIT\n",
	  1u << FW_TABLE_NAT, 1, 2, false },
	{ "both named: the text is the rule set",
	  "*filter\nCOMMIT\n*nat\nCOMMIT\n", FW_TABLES_ALL, 0, 0, false },
};

static void
test_keep_unnamed(void **state)
{
	struct fw_ruleset *live = parse(live_text, FW_IPV4);

	(void)state;
	assert_int_equal(live->named, FW_TABLES_ALL);
	for (size_t i = 0; i < HG_ARRAY_SIZE(keep_cases); i++) {
		const struct keep_case *c = &keep_cases[i];
		struct fw_ruleset *rs = parse(c->text, FW_IPV4);
		const struct fw_chain *mine;

		print_message("case: %s\n", c->what);
		assert_int_equal(rs->named, c->named);
		assert_int_equal(fw_ruleset_keep_unnamed(rs, live), 0);
		assert_int_equal(n_rules(rs, FW_TABLE_FILTER, "FORWARD_CUST"),
		    c->forward);
		assert_int_equal(n_rules(rs, FW_TABLE_NAT, "POSTROUTING_CUST"),
		    c->postrouting);
		assert_int_equal(fw_ruleset_equal(rs, live), c->same_as_live);
		mine = fw_ruleset_chain(rs, FW_TABLE_FILTER, "MINE");
		if (!(c->named & (1u << FW_TABLE_FILTER))) {
			/* Kept whole: user chains, policies and counters. */
			assert_non_null(mine);
			assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER,
			    "INPUT")->policy, FW_POLICY_ACCEPT);
			assert_int_equal(fw_ruleset_chain(rs, FW_TABLE_FILTER,
			    "FORWARD_CUST")->rules[0].pkts, 5);
		} else
			assert_null(mine);
		fw_ruleset_free(rs);
	}
	fw_ruleset_free(live);
}

static void
test_keep_unnamed_family(void **state)
{
	struct fw_ruleset *live = parse(live_text, FW_IPV4);
	struct fw_ruleset *rs = parse("", FW_IPV6);

	(void)state;
	assert_int_equal(fw_ruleset_keep_unnamed(rs, live), -22);
	fw_ruleset_free(rs);
	fw_ruleset_free(live);
}

static const char *const known[] = { "lan", "srv", "wan" };

static const char iface_text[] =
    "*filter\n"
    "-A FORWARD_CUST -i lan -o srv -j ACCEPT\n"			/* 2 */
    "-A FORWARD_CUST -i eth0 -j DROP\n"				/* 3 */
    "-A FORWARD_CUST -o wna -m comment --comment \"é\" -j DROP\n"	/* 4 */
    "-A FORWARD_CUST -i l+ ! -o eth+ -j ACCEPT\n"			/* 5 */
    "-A FORWARD_CUST ! -i srv -j ACCEPT\n"				/* 6 */
    "-A MACRO_CUST -j COPY --from tun0 --to 10.0.0.9\n"		/* 7 */
    "COMMIT\n"
    "*nat\n"
    "-A PREROUTING_CUST -m comment --comment \"Zürich\" -i wan0 "
    "-p tcp --dport 80 -j REDIRECT --to-ports 8080\n"		/* 10 */
    "COMMIT\n";

struct iface_want {
	uint32_t line;
	uint16_t col;
	const char *opt, *name, *suggest;
};

static const struct iface_want iface_wants[] = {
	{ 3, 20, "-i", "eth0", "" },
	{ 4, 20, "-o", "wna", "wan" },
	{ 5, 28, "-o", "eth+", "" },
	{ 7, 30, "--from", "tun0", "" },
	/* After "Zürich": characters, not bytes (54). */
	{ 10, 53, "-i", "wan0", "wan" },
};

static void
test_unknown_ifaces(void **state)
{
	struct fw_ruleset *rs = parse(iface_text, FW_IPV4);
	struct fw_iface_ref refs[8];
	size_t n;
	char msg[512];

	(void)state;
	n = fw_ruleset_unknown_ifaces(rs, known, HG_ARRAY_SIZE(known), refs,
	    HG_ARRAY_SIZE(refs));
	assert_int_equal(n, HG_ARRAY_SIZE(iface_wants));
	for (size_t i = 0; i < n; i++) {
		const struct iface_want *w = &iface_wants[i];

		print_message("want %s %s on line %u\n", w->opt, w->name,
		    w->line);
		assert_int_equal(refs[i].line, w->line);
		assert_int_equal(refs[i].col, w->col);
		assert_string_equal(refs[i].opt, w->opt);
		assert_string_equal(refs[i].name, w->name);
		assert_string_equal(refs[i].suggest, w->suggest);
	}
	/* Fewer slots than there are: counted all the same. */
	assert_int_equal(fw_ruleset_unknown_ifaces(rs, known,
	    HG_ARRAY_SIZE(known), refs, 2), n);

	fw_iface_ref_format(&refs[1], known, HG_ARRAY_SIZE(known), msg,
	    sizeof(msg));
	assert_string_equal(msg, "-o wna: no interface \"wna\" (did you mean "
	    "\"wan\"? interfaces: lan, srv, wan); the rule is kept");
	fw_iface_ref_format(&refs[2], known, HG_ARRAY_SIZE(known), msg,
	    sizeof(msg));
	assert_string_equal(msg, "-o eth+: no interface name starts with "
	    "\"eth\" (interfaces: lan, srv, wan); the rule is kept");

	/* With every name known there is nothing to say. */
	{
		static const char *const all[] = { "lan", "srv", "eth0",
		    "wna", "eth1", "tun0", "wan0" };

		assert_int_equal(fw_ruleset_unknown_ifaces(rs, all,
		    HG_ARRAY_SIZE(all), refs, HG_ARRAY_SIZE(refs)), 0);
	}
	fw_ruleset_free(rs);
}

/* A name with bytes a terminal would act on is echoed escaped. */
static void
test_iface_message_escaped(void **state)
{
	static const char text[] =
	    "*filter\n-A FORWARD_CUST -i \"\x1b[2J\" -j DROP\nCOMMIT\n";
	struct fw_ruleset *rs = parse(text, FW_IPV4);
	struct fw_iface_ref ref;
	char msg[512];

	(void)state;
	assert_int_equal(fw_ruleset_unknown_ifaces(rs, known, 3, &ref, 1), 1);
	fw_iface_ref_format(&ref, known, 3, msg, sizeof(msg));
	assert_non_null(strstr(msg, "-i \\x1b[2J: no interface"));
	assert_null(strchr(msg, '\x1b'));
	fw_ruleset_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_unnamed),
		cmocka_unit_test(test_keep_unnamed_family),
		cmocka_unit_test(test_unknown_ifaces),
		cmocka_unit_test(test_iface_message_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
