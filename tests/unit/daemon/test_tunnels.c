/*
 * tests/unit/daemon/test_tunnels.c: a reload's tunnels keep their
 * interface slots (src/daemon/config/tunnels.c, hg_tunnels_place()): a
 * tunnel that stays keeps its index whatever its place in the list, a
 * new one takes a slot no tunnel had, the slots between are holes, and
 * routes and neighbours follow their interfaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config/tunnels.h"

/* A configuration with ports lan, wan and the named tunnels (in that
 * order), each with a route to 10.N.0.0/16 through it. */
static bool with_overlay;	/* cfg_with() adds an overlay (tun0) */

static struct hg_config *
cfg_with(const char *const *tunnels, size_t n)
{
	char text[8192], routes[2048];
	size_t len, rlen = 0;
	struct hg_cfg_errs errs;
	struct hg_config *cfg;

	len = (size_t)snprintf(text, sizeof(text),
	    "{\"api\": false, %s\"interfaces\": ["
	    "{\"name\": \"lan\", \"port\": \"null\", \"addresses\": [\"10.0.1.1/24\"]},"
	    "{\"name\": \"wan\", \"port\": \"null\", \"addresses\": [\"192.0.2.1/24\"]}],"
	    "\"tunnels\": [", with_overlay ?
	    "\"overlay\": {\"addresses\": [\"10.99.0.1/24\"]}, " : "");
	routes[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int net = tunnels[i][strlen(tunnels[i]) - 1] - '0' + 100;

		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s{\"name\": \"%s\", \"local\": \"192.0.2.1\", "
		    "\"remote\": \"192.0.2.%d\", "
		    "\"sa_out\": {\"spi\": %d, \"alg\": \"aes256gcm\", "
		    "\"key_file\": \"k\"}, \"sa_in\": {\"spi\": %d, \"alg\": "
		    "\"aes256gcm\", \"key_file\": \"k\"}}", i ? "," : "",
		    tunnels[i], net, 1000 + net, 2000 + net);
		rlen += (size_t)snprintf(routes + rlen, sizeof(routes) - rlen,
		    ",{\"prefix\": \"10.%d.0.0/16\", \"interface\": \"%s\"}",
		    net, tunnels[i]);
	}
	snprintf(text + len, sizeof(text) - len, "], \"routes\": ["
	    "{\"prefix\": \"0.0.0.0/0\", \"via\": \"192.0.2.254\"}%s],"
	    "\"neighbors\": [{\"interface\": \"wan\", \"ip\": \"192.0.2.254\","
	    " \"mac\": \"02:00:00:00:00:fe\"}]}", routes);
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(text, strlen(text), &errs);
	if (cfg == NULL)
		fail_msg("config: %s: %s", errs.n ? errs.e[0].where : "?",
		    errs.n ? errs.e[0].msg : "?");
	return cfg;
}

static int
if_named(const struct hg_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_ifs; i++)
		if (strcmp(cfg->ifs[i].name, name) == 0)
			return i;
	return -1;
}

/* Every route to 10.N.0.0/16 names the interface of tunnel tunN, the
 * tunnels' if_idx are their interfaces, the default route is wan's. */
static void
assert_consistent(const struct hg_config *cfg)
{
	for (uint32_t r = 0; r < cfg->n_routes; r++) {
		const struct hg_cfg_route *cr = &cfg->routes[r];
		char name[16];

		if (cr->dst.len_bits == 0) {
			assert_int_equal(cr->if_idx, -1);
			continue;
		}
		snprintf(name, sizeof(name), "tun%d", cr->dst.a.addr[1] - 100);
		assert_int_equal(cr->if_idx, if_named(cfg, name));
	}
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		assert_int_equal(cfg->tunnels[k].if_idx,
		    if_named(cfg, cfg->tunnels[k].name));
		assert_true(cfg->ifs[cfg->tunnels[k].if_idx].tunnel);
	}
	assert_int_equal(cfg->neighs[0].if_idx, if_named(cfg, "wan"));
}

static void
test_slots_kept(void **state)
{
	static const char *const a[] = { "tun1", "tun2", "tun3" };
	static const char *const b[] = { "tun4", "tun3", "tun1" };
	static const char *const c[] = { "tun5", "tun1", "tun3", "tun4" };
	struct hg_config *old, *cfg, *cfg2;
	char err[256];

	(void)state;
	old = cfg_with(a, 3);		/* lan 0, wan 1, tun1 2, tun2 3, tun3 4 */
	assert_int_equal(if_named(old, "tun2"), 3);

	/* tun2 goes, tun4 comes first in the list: tun1 and tun3 stay
	 * where they were, tun4 takes a slot no tunnel had (5, not 3). */
	cfg = cfg_with(b, 3);
	assert_int_equal(hg_tunnels_place(old, cfg, err, sizeof(err)), 0);
	assert_int_equal(if_named(cfg, "lan"), 0);
	assert_int_equal(if_named(cfg, "wan"), 1);
	assert_int_equal(if_named(cfg, "tun1"), 2);
	assert_int_equal(if_named(cfg, "tun3"), 4);
	assert_int_equal(if_named(cfg, "tun4"), 5);
	assert_int_equal(cfg->n_ifs, 6);
	/* tun2's old slot is a hole: no name, no port to open. */
	assert_string_equal(cfg->ifs[3].name, "");
	assert_false(cfg->ifs[3].tunnel);
	assert_string_equal(cfg->ifs[3].port, "null");
	assert_consistent(cfg);

	/* Next reload: the hole is taken again by a new one (tun5), the
	 * others keep theirs. */
	cfg2 = cfg_with(c, 4);
	assert_int_equal(hg_tunnels_place(cfg, cfg2, err, sizeof(err)), 0);
	assert_int_equal(if_named(cfg2, "tun1"), 2);
	assert_int_equal(if_named(cfg2, "tun5"), 3);
	assert_int_equal(if_named(cfg2, "tun3"), 4);
	assert_int_equal(if_named(cfg2, "tun4"), 5);
	assert_consistent(cfg2);
	hg_config_free(old);
	hg_config_free(cfg);
	hg_config_free(cfg2);
}

/* The overlay's interface is placed as a tunnel's: it keeps its slot
 * when a tunnel comes before it in the parsed order, and never lands on
 * a port's. */
static void
test_overlay_kept(void **state)
{
	static const char *const a[] = { "tun1" };
	static const char *const b[] = { "tun1", "tun2" };
	struct hg_config *old, *cfg, *cfg2;
	char err[256];

	(void)state;
	with_overlay = true;
	old = cfg_with(a, 1);		/* lan 0, wan 1, tun1 2, tun0 3 */
	assert_int_equal(if_named(old, "tun0"), 3);
	cfg = cfg_with(b, 2);		/* parsed: ..., tun2 3, tun0 4 */
	assert_int_equal(hg_tunnels_place(old, cfg, err, sizeof(err)), 0);
	assert_int_equal(if_named(cfg, "lan"), 0);
	assert_int_equal(if_named(cfg, "wan"), 1);
	assert_int_equal(if_named(cfg, "tun1"), 2);
	assert_int_equal(if_named(cfg, "tun0"), 3);
	assert_int_equal(cfg->overlay.if_idx, 3);
	assert_true(cfg->ifs[3].overlay);
	assert_int_equal(if_named(cfg, "tun2"), 4);
	assert_consistent(cfg);
	/* The overlay removed: its slot is a hole. */
	with_overlay = false;
	cfg2 = cfg_with(b, 2);
	assert_int_equal(hg_tunnels_place(cfg, cfg2, err, sizeof(err)), 0);
	assert_int_equal(if_named(cfg2, "tun2"), 4);
	assert_string_equal(cfg2->ifs[3].name, "");
	assert_consistent(cfg2);
	hg_config_free(old);
	hg_config_free(cfg);
	hg_config_free(cfg2);
}

/* All tunnels gone: the interfaces end with the ports. */
static void
test_all_removed(void **state)
{
	static const char *const a[] = { "tun1", "tun2" };
	struct hg_config *old, *cfg;
	char err[256];

	(void)state;
	old = cfg_with(a, 2);
	cfg = cfg_with(NULL, 0);
	assert_int_equal(hg_tunnels_place(old, cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->n_ifs, 2);
	assert_consistent(cfg);
	hg_config_free(old);
	hg_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_kept),
		cmocka_unit_test(test_all_removed),
		cmocka_unit_test(test_overlay_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
