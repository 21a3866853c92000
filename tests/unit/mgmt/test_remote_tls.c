/*
 * tests/unit/mgmt/test_remote_tls.c: proves remote_tls_names() in
 * src/cli/remote_tls.c, what hexctl makes of the subjectAltName libcurl
 * reads from a server it does not trust: the names as the user reads
 * them, and whether one is the host of --url.  The live messages are
 * tests/integration/netns_api_tls.sh's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/remote_tls.h"
#include "lib/hg.h"

struct names_case {
	const char *what;
	const char *san;		/* as libcurl's certinfo spells it */
	const char *host;
	const char *out;
	bool named;
};

static const struct names_case cases[] = {
	{ "hexgate's, asked by an address it has",
	  "DNS:hexgate, DNS:localhost, IP Address:10.1.0.1, "
	  "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1", "10.1.0.1",
	  "DNS:hexgate, DNS:localhost, IP:10.1.0.1, IP:127.0.0.1, IP:::1",
	  true },
	{ "an address it does not have",
	  "DNS:hexgate, IP Address:10.1.0.1", "10.2.0.1",
	  "DNS:hexgate, IP:10.1.0.1", false },
	{ "an address is not a prefix of another",
	  "IP Address:10.1.0.10", "10.1.0.1", "IP:10.1.0.10", false },
	{ "IPv6 spelt whole, asked short",
	  "IP Address:2001:DB8:0:0:0:0:0:1", "2001:db8::1",
	  "IP:2001:db8::1", true },
	{ "a DNS name, another case", "DNS:GW.Example", "gw.example",
	  "DNS:GW.Example", true },
	{ "a DNS name is no address", "DNS:10.1.0.1", "10.1.0.1",
	  "DNS:10.1.0.1", false },
	{ "a wildcard: one label", "DNS:*.example.org", "gw.example.org",
	  "DNS:*.example.org", true },
	{ "a wildcard: not two labels", "DNS:*.example.org",
	  "a.gw.example.org", "DNS:*.example.org", false },
	{ "a wildcard: not the bare domain", "DNS:*.example.org",
	  "example.org", "DNS:*.example.org", false },
	{ "other kinds are shown, never matched",
	  "email:a@b, URI:https://10.1.0.1/", "10.1.0.1",
	  "email:a@b, URI:https://10.1.0.1/", false },
	{ "control bytes shown as ?", "DNS:a\033[2Jb", "x", "DNS:a?[2Jb",
	  false },
	{ "a bad address shown as sent", "IP Address:<invalid>", "x",
	  "IP:<invalid>", false },
	{ "nothing", "", "10.1.0.1", "", false },
};

static void
test_names(void **state)
{
	char out[256];

	for (size_t i = 0; i < HG_ARRAY_SIZE(cases); i++) {
		const struct names_case *c = &cases[i];
		bool named = remote_tls_names(c->san, c->host, out,
		    sizeof(out));

		if (named != c->named || strcmp(out, c->out) != 0)
			fail_msg("%s: got \"%s\" (%s), want \"%s\" (%s)",
			    c->what, out, named ? "named" : "not named",
			    c->out, c->named ? "named" : "not named");
	}
}

/* A long list is cut with "...", in bounds; the verdict still counts
 * the names past the cut. */
static void
test_names_cut(void **state)
{
	char out[24];
	bool named;

	memset(out, 'x', sizeof(out));
	named = remote_tls_names("DNS:hexgate, DNS:localhost, "
	    "IP Address:10.9.9.9", "10.9.9.9", out, sizeof(out));
	assert_true(named);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_string_equal(out + sizeof(out) - 4, "...");
	/* no room at all: nothing written, the same verdict */
	assert_true(remote_tls_names("DNS:a", "a", out, 0));
	assert_false(remote_tls_names("DNS:a", "b", out, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
