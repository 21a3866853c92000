/*
 * tests/unit/io/test_spec.c: port lines (src/io/port.c and each back end's
 * check).  A user types these into the config; the message must name the
 * part that is wrong.  Also the open errors that need no privileges.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/io.h"

static const struct {
	const char *what;
	const char *spec;
	const char *msg;	/* NULL: the spec is valid */
} cases[] = {
	{ "null", "null", NULL },
	{ "bare gen", "gen", NULL },
	{ "gen with empty args", "gen:", NULL },
	{ "gen all keys", "gen:size=2048,dmac=02:00:00:00:00:09,"
	  "smac=0a:0b:0c:0d:0e:0f,src=10.0.0.1,dst=10.2.0.0,span=65536,"
	  "flows=65536,count=0", NULL },
	{ "gen span 2^32 from 0", "gen:dst=0.0.0.0,span=4294967296", NULL },
	{ "gen default span clamps", "gen:dst=255.255.255.0", NULL },
	{ "pcap both", "pcap:in.pcap:out.pcap", NULL },
	{ "pcap input only", "pcap:in.pcap:", NULL },
	{ "pcap input, no second colon", "pcap:in.pcap", NULL },
	{ "pcap output only", "pcap::out.pcap", NULL },
	{ "afpacket", "afpacket:eth0", NULL },
	{ "afpacket 15 chars", "afpacket:abcdefghijklmno", NULL },
	{ "tap", "tap:hg0", NULL },

	{ "empty line", "", "empty port kind" },
	{ "no kind", ":eth0", "empty port kind" },
	{ "unknown kind", "afxdp:eth0", "unknown port kind \"afxdp\"" },
	{ "kind is case-sensitive", "PCAP:a:b", "unknown port kind \"PCAP\"" },
	{ "null takes nothing", "null:x", "null: takes no arguments" },
	{ "afpacket without name", "afpacket", "afpacket: missing interface "
	  "name" },
	{ "afpacket empty name", "afpacket:", "afpacket: missing interface "
	  "name" },
	{ "afpacket 16 chars", "afpacket:abcdefghijklmnop", "afpacket: "
	  "interface name \"abcdefghijklmnop\" is longer than 15" },
	{ "afpacket slash", "afpacket:a/b", "afpacket: \"a/b\" is not a "
	  "valid interface name" },
	{ "afpacket colon", "afpacket:eth0:1", "is not a valid interface" },
	{ "tap without name", "tap:", "tap: missing interface name" },
	{ "tap dot", "tap:.", "tap: \".\" is not a valid interface name" },
	{ "pcap nothing", "pcap", "pcap: needs an input or an output file" },
	{ "pcap two empties", "pcap::", "pcap: needs an input or an output" },
	{ "gen unknown key", "gen:sise=64", "gen: unknown key \"sise\" "
	  "(expected size, dmac" },
	{ "gen size too small", "gen:size=59", "gen: size 59 is out of "
	  "range 60..2048" },
	{ "gen size too big", "gen:size=2049", "gen: size 2049 is out of "
	  "range" },
	{ "gen size junk", "gen:size=6x4", "gen: size \"6x4\" is not a "
	  "number" },
	{ "gen size empty", "gen:size=", "gen: size \"\" is not a number" },
	{ "gen count negative", "gen:count=-1", "gen: count \"-1\" is not a "
	  "number" },
	{ "gen count overflow", "gen:count=99999999999999999999",
	  "gen: count \"99999999999999999999\" is not a number" },
	{ "gen dst short", "gen:dst=10.0.0", "gen: dst \"10.0.0\" is not an "
	  "IPv4 address" },
	{ "gen src v6", "gen:src=::1", "gen: src \"::1\" is not an IPv4" },
	{ "gen dmac short", "gen:dmac=02:00:00:00:00", "gen: dmac "
	  "\"02:00:00:00:00\" is not a MAC address" },
	{ "gen span not a power of two", "gen:span=100", "gen: span 100 is "
	  "not a power of two" },
	{ "gen span zero", "gen:span=0", "gen: span 0 is out of range" },
	{ "gen flows above span", "gen:span=4,flows=5", "gen: flows 5 is more "
	  "than span 4" },
	{ "gen flows above max", "gen:flows=1048577", "gen: flows 1048577 is "
	  "out of range 1..1048576" },
	{ "gen span past the top", "gen:dst=255.255.255.0,span=512",
	  "gen: dst 255.255.255.0 + span 512 runs past 255.255.255.255" },
	{ "gen key without value", "gen:size", "gen: \"size\" is not "
	  "KEY=VALUE" },
	{ "gen value without key", "gen:=64", "gen: \"=64\" is not "
	  "KEY=VALUE" },
	{ "gen empty item", "gen:size=64,,flows=2", "gen: empty item in" },
	{ "gen trailing comma", "gen:size=64,", "gen: empty item in" },
	{ "gen key twice", "gen:size=64,flows=2,size=65", "gen: key \"size\" "
	  "given twice" },
};

static void
test_check_spec(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "untouched";
		int rc = io_port_check_spec(cases[i].spec, err, sizeof(err));

		if (cases[i].msg == NULL) {
			if (rc != 0 || strcmp(err, "untouched") != 0)
				fail_msg("%s: \"%s\" rejected (%d): %s",
				    cases[i].what, cases[i].spec, rc, err);
			continue;
		}
		if (rc != -EINVAL || strstr(err, cases[i].msg) == NULL)
			fail_msg("%s: \"%s\": rc %d, err \"%s\"; want -EINVAL "
			    "and \"%s\"", cases[i].what, cases[i].spec, rc,
			    err, cases[i].msg);
	}
}

/* A short buffer is cut, never overrun, and still NUL-terminated. */
static void
test_short_err_buffer(void **state)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	assert_int_equal(io_port_check_spec("bogus:x", err, 5), -EINVAL);
	assert_string_equal(err, "unkn");
	assert_int_equal(err[5], 'x');
	assert_int_equal(io_port_check_spec("bogus:x", NULL, 0), -EINVAL);
}

/* Open failures: -errno, and a message naming the port and the call. */
static void
test_open_errors(void **state)
{
	static const struct {
		const char *what;
		const char *spec;
		uint16_t n_queues;
		int rc;
		const char *msg;
	} open_cases[] = {
		{ "no such interface", "afpacket:hgnosuch0", 1, -ENODEV,
		  "afpacket:hgnosuch0: SIOCGIFINDEX: No such device" },
		{ "no queues", "null", 0, -EINVAL,
		  "null: needs at least one queue" },
		{ "bad spec", "gen:size=1", 1, -EINVAL,
		  "gen: size 1 is out of range" },
		{ "pcap file missing", "pcap:/nonexistent/in.pcap:", 1,
		  -ENOENT, "pcap:/nonexistent/in.pcap:: fopen: No such file" },
		{ "pcap output directory missing", "pcap::/nonexistent/o.pcap",
		  1, -ENOENT, "pcap::/nonexistent/o.pcap: open: No such" },
	};

	for (size_t i = 0; i < sizeof(open_cases) / sizeof(open_cases[0]);
	    i++) {
		struct io_port *port = (struct io_port *)1;
		char err[256] = "";
		int rc;

		rc = io_port_open(&port, open_cases[i].spec,
		    open_cases[i].n_queues, err, sizeof(err));
		if (rc != open_cases[i].rc ||
		    strstr(err, open_cases[i].msg) == NULL)
			fail_msg("%s: rc %d err \"%s\"; want %d and \"%s\"",
			    open_cases[i].what, rc, err, open_cases[i].rc,
			    open_cases[i].msg);
		assert_null(port);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_spec),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
