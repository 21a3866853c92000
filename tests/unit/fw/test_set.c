/*
 * tests/unit/fw/test_set.c: named sets (src/fw/set.h). Each type's
 * lookups against a deliberately simple reference on random data
 * (hash:net against a linear "inside any prefix" scan, hash:ip,port
 * against a list), the ipset restore language and its save form round
 * trip, every error with its line and columns, a bad line among many
 * refusing the whole file, replace handing back the old version while
 * lookups through the registry see the new one, list:set cycles and
 * maxelem.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fw/fw.h"
#include "fw/set.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Random address from a small space so that lookups often hit. */
static void
rnd_addr(uint8_t family, uint8_t a[16])
{
	memset(a, 0, 16);
	if (family == FW_IPV4) {
		a[0] = 10;
		a[1] = (uint8_t)(rnd() % 2);
		a[2] = (uint8_t)(rnd() % 4);
		a[3] = (uint8_t)rnd();
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[5] = (uint8_t)(rnd() % 2);
		a[14] = (uint8_t)(rnd() % 4);
		a[15] = (uint8_t)rnd();
	}
}

static struct fw_set_key
key_of(uint8_t family, const uint8_t a[16], uint8_t proto, int port)
{
	struct fw_set_key k;

	memset(&k, 0, sizeof(k));
	k.family = family;
	memcpy(k.addr, a, 16);
	k.proto = proto;
	k.has_port = port >= 0;
	k.port = port >= 0 ? (uint16_t)port : 0;
	return k;
}

static bool
in_prefix(const uint8_t *net, uint8_t len, const uint8_t *a)
{
	for (unsigned i = 0; i < 16 && len > 0; i++) {
		unsigned bits = len >= 8 ? 8 : len;
		uint8_t m = (uint8_t)(0xff00 >> bits);

		if ((net[i] & m) != (a[i] & m))
			return false;
		len = (uint8_t)(len - bits);
	}
	return true;
}

#define REF_MAX 4000

/* hash:ip, hash:net and hash:ip,port against a list scanned linearly,
 * with adds and deletes mixed. */
static void
random_hash(enum fw_set_type type, uint8_t family)
{
	static struct fw_set_elem ref[REF_MAX];
	uint8_t full = family == FW_IPV6 ? 128 : 32;
	struct fw_set *s = fw_set_new(type, family, 0, 0, 0);
	struct fw_set_elem e;
	unsigned n = 0, hits = 0;

	assert_non_null(s);
	for (int round = 0; round < 6000; round++) {
		bool del = n > 0 && rnd() % 4 == 0;
		unsigned at = 0;
		bool there = false;

		memset(&e, 0, sizeof(e));
		if (del) {
			e = ref[rnd() % n];
		} else {
			rnd_addr(family, e.addr);
			e.prefix = full;
			if (type == FW_SET_HASH_NET) {
				/* Lengths that overlap the random space. */
				e.prefix = (uint8_t)(full - rnd() % 12);
				for (unsigned i = 0; i < 16; i++) {
					unsigned keep = e.prefix > i * 8 ?
					    (e.prefix - i * 8 >= 8 ? 8 :
					    e.prefix - i * 8) : 0;
					e.addr[i] &= (uint8_t)(0xff00 >> keep);
				}
			}
			if (type == FW_SET_HASH_IP_PORT) {
				e.proto = rnd() % 2 ? 6 : 17;
				e.port = (uint16_t)(rnd() % 4 + 80);
			}
		}
		for (unsigned i = 0; i < n; i++)
			if (memcmp(&ref[i], &e, sizeof(e)) == 0) {
				there = true;
				at = i;
			}
		if (del) {
			assert_int_equal(fw_set_del(s, &e), 0);
			ref[at] = ref[--n];
		} else if (n < REF_MAX) {
			assert_int_equal(fw_set_add(s, &e), 0);
			if (!there)
				ref[n++] = e;
		}
		assert_int_equal(fw_set_count(s), n);
		/* A few random lookups after each change. */
		for (int q = 0; q < 4; q++) {
			uint8_t a[16];
			uint8_t proto = rnd() % 2 ? 6 : 17;
			int port = (int)(rnd() % 5 + 80);
			bool want = false;
			struct fw_set_key k;

			rnd_addr(family, a);
			k = key_of(family, a, proto, port);
			for (unsigned i = 0; i < n && !want; i++) {
				if (type == FW_SET_HASH_NET)
					want = in_prefix(ref[i].addr,
					    ref[i].prefix, a);
				else if (type == FW_SET_HASH_IP)
					want = memcmp(ref[i].addr, a, 16) == 0;
				else
					want = memcmp(ref[i].addr, a, 16) == 0 &&
					    ref[i].proto == proto &&
					    ref[i].port == port;
			}
			if (fw_set_test(NULL, s, &k) != want)
				fail_msg("%s family %u round %d: lookup says %d, "
				    "reference %d", fw_set_type_name(type),
				    family, round, !want, want);
			hits += want;
			/* The other family never matches. */
			k.family = family == FW_IPV4 ? FW_IPV6 : FW_IPV4;
			assert_false(fw_set_test(NULL, s, &k));
		}
	}
	assert_true(hits > 100);	/* the test exercised matches */
	fw_set_free(s);
}

static void
test_random_hash_ip(void **state)
{
	(void)state;
	random_hash(FW_SET_HASH_IP, FW_IPV4);
	random_hash(FW_SET_HASH_IP, FW_IPV6);
}

static void
test_random_hash_net(void **state)
{
	(void)state;
	random_hash(FW_SET_HASH_NET, FW_IPV4);
	random_hash(FW_SET_HASH_NET, FW_IPV6);
}

static void
test_random_hash_ip_port(void **state)
{
	(void)state;
	random_hash(FW_SET_HASH_IP_PORT, FW_IPV4);
	random_hash(FW_SET_HASH_IP_PORT, FW_IPV6);
}

static void
test_random_bitmap(void **state)
{
	static bool ref[65536];
	struct fw_set *s = fw_set_new(FW_SET_BITMAP_PORT, 0, 0, 1000, 3000);
	struct fw_set_elem e;
	uint8_t a[16] = { 0 };
	unsigned n = 0;

	(void)state;
	assert_non_null(s);
	memset(ref, 0, sizeof(ref));
	memset(&e, 0, sizeof(e));
	e.port = 999;
	assert_int_equal(fw_set_add(s, &e), -ERANGE);
	e.port = 3001;
	assert_int_equal(fw_set_add(s, &e), -ERANGE);
	for (int round = 0; round < 20000; round++) {
		e.port = (uint16_t)(1000 + rnd() % 2001);
		if (rnd() % 3 == 0) {
			assert_int_equal(fw_set_del(s, &e),
			    ref[e.port] ? 0 : -ENOENT);
			n -= ref[e.port];
			ref[e.port] = false;
		} else {
			assert_int_equal(fw_set_add(s, &e), 0);
			n += !ref[e.port];
			ref[e.port] = true;
		}
		assert_int_equal(fw_set_count(s), n);
	}
	for (uint32_t p = 0; p < 65536; p++) {
		struct fw_set_key k = key_of(FW_IPV4, a, 6, (int)p);

		if (fw_set_test(NULL, s, &k) != ref[p])
			fail_msg("bitmap:port port %u: lookup %d, reference %d",
			    p, !ref[p], ref[p]);
	}
	/* No port, no match. */
	{
		struct fw_set_key k = key_of(FW_IPV4, a, 1, -1);

		assert_false(fw_set_test(NULL, s, &k));
	}
	fw_set_free(s);
}

static int
restore(struct fw_sets *reg, const char *text, struct fw_errs *errs)
{
	struct fw_set **old;
	size_t n_old;
	int error;

	error = fw_sets_restore(reg, text, strlen(text), &old, &n_old, errs);
	for (size_t i = 0; i < n_old; i++)
		fw_set_free(old[i]);
	free(old);
	return error;
}

static bool
test_addr(struct fw_sets *reg, const char *set, const char *addr, uint8_t proto,
    int port)
{
	uint8_t a[16] = { 0 };
	uint8_t family = strchr(addr, ':') ? FW_IPV6 : FW_IPV4;
	struct fw_set_key k;

	assert_int_equal(inet_pton(family == FW_IPV6 ? AF_INET6 : AF_INET,
	    addr, a), 1);
	k = key_of(family, a, proto, port);
	return fw_sets_test(reg, fw_sets_find(reg, set), &k);
}

static const char round_trip_text[] =
    "# every type\n"
    "create office hash:ip family inet hashsize 1024 maxelem 100\n"
    "create nets hash:net family inet\n"
    "create nets6 hash:net family inet6\n"
    "create svc hash:ip,port family inet\n"
    "create ports bitmap:port range 0-1023\n"
    "create both list:set size 4\n"
    "add office 10.0.0.1\n"
    "add office 10.0.0.2/32\n"
    "add nets 10.1.0.0/16\n"
    "add nets 192.168.7.9/24\n"
    "add nets 172.16.0.1\n"
    "add nets6 2001:db8::/32\n"
    "add svc 10.0.0.1,tcp:80\n"
    "add svc 10.0.0.1,udp:53\n"
    "add svc 10.0.0.2,22\n"
    "add svc 10.0.0.3,sctp:5000-5001\n"
    "add ports 22\n"
    "add ports 100-102\n"
    "add ports https\n"
    "add both office\n"
    "add both ports\n"
    "del office 10.0.0.2\n"
    "\n";

static const char round_trip_want[] =
    "create office hash:ip family inet maxelem 100\n"
    "create nets hash:net family inet maxelem 65536\n"
    "create nets6 hash:net family inet6 maxelem 65536\n"
    "create svc hash:ip,port family inet maxelem 65536\n"
    "create ports bitmap:port range 0-1023\n"
    "create both list:set size 4\n"
    "add office 10.0.0.1\n"
    "add nets 10.1.0.0/16\n"
    "add nets 192.168.7.0/24\n"
    "add nets 172.16.0.1\n"
    "add nets6 2001:db8::/32\n"
    "add svc 10.0.0.1,tcp:80\n"
    "add svc 10.0.0.1,udp:53\n"
    "add svc 10.0.0.2,tcp:22\n"
    "add svc 10.0.0.3,sctp:5000\n"
    "add svc 10.0.0.3,sctp:5001\n"
    "add ports 22\n"
    "add ports 100\n"
    "add ports 101\n"
    "add ports 102\n"
    "add ports 443\n"
    "add both office\n"
    "add both ports\n";

static void
test_round_trip(void **state)
{
	struct fw_sets *reg = fw_sets_new(), *again = fw_sets_new();
	static struct fw_errs errs;
	char *text, *text2;

	(void)state;
	assert_int_equal(restore(reg, round_trip_text, &errs), 0);
	text = fw_sets_save(reg);
	assert_non_null(text);
	assert_string_equal(text, round_trip_want);
	/* The saved form restores to the same sets... */
	assert_int_equal(restore(again, text, &errs), 0);
	text2 = fw_sets_save(again);
	assert_string_equal(text2, text);
	/* ... and restoring it onto itself changes nothing (-exist). */
	assert_int_equal(restore(again, text, &errs), 0);
	free(text2);
	text2 = fw_sets_save(again);
	assert_string_equal(text2, text);

	/* Lookups see what was restored. */
	assert_true(test_addr(reg, "office", "10.0.0.1", 6, 1));
	assert_false(test_addr(reg, "office", "10.0.0.2", 6, 1));
	assert_true(test_addr(reg, "nets", "10.1.255.3", 6, -1));
	assert_true(test_addr(reg, "nets", "192.168.7.200", 6, -1));
	assert_true(test_addr(reg, "nets", "172.16.0.1", 6, -1));
	assert_false(test_addr(reg, "nets", "172.16.0.2", 6, -1));
	assert_true(test_addr(reg, "nets6", "2001:db8:1::5", 6, -1));
	assert_false(test_addr(reg, "nets6", "2001:db9::5", 6, -1));
	assert_true(test_addr(reg, "svc", "10.0.0.1", 6, 80));
	assert_false(test_addr(reg, "svc", "10.0.0.1", 17, 80));
	assert_true(test_addr(reg, "svc", "10.0.0.3", 132, 5001));
	assert_true(test_addr(reg, "ports", "1.2.3.4", 6, 443));
	assert_false(test_addr(reg, "ports", "1.2.3.4", 6, 444));
	/* list:set: any member, each with its own key part. */
	assert_true(test_addr(reg, "both", "10.0.0.1", 1, -1));
	assert_true(test_addr(reg, "both", "9.9.9.9", 6, 101));
	assert_false(test_addr(reg, "both", "9.9.9.9", 6, 103));
	free(text);
	free(text2);
	fw_sets_free(reg);
	fw_sets_free(again);
}

struct err_case {
	const char *what;
	const char *text;
	uint32_t line;
	uint16_t col_first, col_last;
	const char *msg;	/* part of the message */
};

#define PRE "create a hash:ip\ncreate n hash:net family inet6\n" \
    "create p bitmap:port range 10-20\ncreate s hash:ip,port\n" \
    "create l list:set\n"

/* l8 holds l7 ... holds l1 holds a: eight lists deep, the limit. */
#define DEEP "create a hash:ip\nadd a 10.9.9.9\n" \
    "create l1 list:set\nadd l1 a\ncreate l2 list:set\nadd l2 l1\n" \
    "create l3 list:set\nadd l3 l2\ncreate l4 list:set\nadd l4 l3\n" \
    "create l5 list:set\nadd l5 l4\ncreate l6 list:set\nadd l6 l5\n" \
    "create l7 list:set\nadd l7 l6\ncreate l8 list:set\nadd l8 l7\n"

static const struct err_case err_cases[] = {
	{ "unknown command", "craete x hash:ip\n", 1, 1, 6,
	  "unknown command \"craete\" (did you mean \"create\"?)" },
	{ "unknown command, no guess", "frobnicate\n", 1, 1, 10,
	  "use create, add, del" },
	{ "create without name", "create\n", 1, 7, 7, "needs a set name" },
	{ "create without type", "create x\n", 1, 9, 9, "needs a set type" },
	{ "unknown type", "create x hash:ipp\n", 1, 10, 17,
	  "did you mean \"hash:ip\"" },
	{ "type not supported", "create x hash:mac\n", 1, 10, 17,
	  "hash:mac" },
	{ "name too long", "create abcdefghijabcdefghijabcdefghijXX hash:ip\n",
	  1, 8, 39, "longer than 31" },
	{ "bad name", "create a$b hash:ip\n", 1, 8, 10, "bad set name" },
	{ "bad family", "create x hash:ip family ipx\n", 1, 25, 27,
	  "family must be inet or inet6" },
	{ "family on bitmap", "create x bitmap:port family inet range 1-2\n",
	  1, 22, 27, "\"family\" is not supported for bitmap:port" },
	{ "maxelem zero", "create x hash:ip maxelem 0\n", 1, 26, 26,
	  "maxelem must be 1 to" },
	{ "maxelem missing", "create x hash:ip maxelem\n", 1, 25, 25,
	  "maxelem needs a number" },
	{ "unsupported option", "create x hash:ip timeout 5\n", 1, 18, 24,
	  "\"timeout\" is not supported" },
	{ "bitmap without range", "create x bitmap:port\n", 1, 10, 20,
	  "needs range" },
	{ "bitmap backwards range", "create x bitmap:port range 9-3\n", 1,
	  28, 30, "range must be PORT-PORT" },
	{ "create again, other type", PRE "create a hash:net\n", 6, 8, 8,
	  "already exists with other settings" },
	{ "add to unknown set", "add nope 1.2.3.4\n", 1, 5, 8,
	  "no set named \"nope\"" },
	{ "add without member", PRE "add a\n", 6, 6, 6, "needs a member" },
	{ "add extra word", PRE "add a 1.2.3.4 x\n", 6, 15, 15,
	  "unexpected \"x\"" },
	{ "bad address", PRE "add a 1.2.3.256\n", 6, 7, 15,
	  "bad address \"1.2.3.256\"" },
	{ "v6 in inet set", PRE "add a ::1\n", 6, 7, 9,
	  "IPv6 address in an inet set" },
	{ "v4 in inet6 set", PRE "add n 10.0.0.0/8\n", 6, 7, 14,
	  "IPv4 address in an inet6 set: \"10.0.0.0\"" },
	{ "network in hash:ip", PRE "add a 10.0.0.0/8\n", 6, 7, 16,
	  "hash:ip takes single addresses" },
	{ "bad prefix", PRE "add n 2001:db8::/129\n", 6, 17, 20,
	  "bad prefix length \"/129\"" },
	{ "prefix zero", PRE "add n ::/0\n", 6, 9, 10,
	  "bad prefix length \"/0\"" },
	{ "ip,port without port", PRE "add s 10.0.0.1\n", 6, 7, 14,
	  "ADDRESS,[PROTO:]PORT" },
	{ "ip,port bad proto", PRE "add s 10.0.0.1,icmp:8\n", 6, 16, 19,
	  "protocol must be tcp, udp, sctp or udplite, not \"icmp\"" },
	{ "ip,port bad port", PRE "add s 10.0.0.1,tcp:70000\n", 6, 20, 24,
	  "bad port \"70000\"" },
	{ "bitmap outside range", PRE "add p 21\n", 6, 7, 8,
	  "port 21 is outside the range of set \"p\"" },
	{ "bitmap bad port", PRE "add p x1\n", 6, 7, 8, "bad port \"x1\"" },
	{ "del absent", PRE "del a 1.2.3.4\n", 6, 7, 13,
	  "\"1.2.3.4\" is not in set \"a\"" },
	{ "list of unknown", PRE "add l zz\n", 6, 7, 8, "no set named \"zz\"" },
	{ "list of itself", PRE "add l l\n", 6, 7, 7, "makes a cycle" },
	{ "list cycle", PRE "create m list:set\nadd l m\nadd m l\n", 8, 7, 7,
	  "adding \"l\" to list:set \"m\" makes a cycle" },
	{ "re-create bitmap with other range", "create p bitmap:port range 0-9\n"
	  "create p bitmap:port range 10-19\n", 2, 8, 8,
	  "already exists with other settings" },
	{ "lists nested too deep", DEEP "create l9 list:set\nadd l9 l8\n", 20,
	  8, 9, "nests lists more than 8 deep" },
	{ "maxelem enforced", "create x hash:ip maxelem 2\nadd x 1.1.1.1\n"
	  "add x 1.1.1.2\nadd x 1.1.1.1\nadd x 1.1.1.3\n", 5, 7, 13,
	  "set \"x\" is full (maxelem 2)" },
	{ "list size enforced", PRE "create l2 list:set size 1\nadd l2 a\n"
	  "add l2 p\n", 8, 8, 8, "is full (maxelem 1)" },
	{ "swap type mismatch", PRE "swap a n\n", 6, 6, 8,
	  "cannot swap hash:ip inet and hash:net inet6" },
	{ "swap unknown", PRE "swap a b\n", 6, 8, 8, "no set named \"b\"" },
	{ "swap makes cycle", PRE "create m list:set\nadd l m\nswap l m\n",
	  8, 6, 8, "makes a list:set cycle" },
	{ "destroy used by list", PRE "add l a\ndestroy a\n", 7, 9, 9,
	  "in use by rules or a list:set" },
	{ "flush unknown", "flush x\n", 1, 7, 7, "no set named \"x\"" },
	{ "unterminated quote", "add \"x\n", 1, 5, 6, "unterminated quote" },
};

static void
test_errors(void **state)
{
	static struct fw_errs errs;
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct fw_sets *reg = fw_sets_new();
		char *before = fw_sets_save(reg);
		char *after;

		if (restore(reg, c->text, &errs) != -EINVAL)
			fail_msg("%s: accepted", c->what);
		if (errs.n != 1 || errs.e[0].line != c->line ||
		    errs.e[0].col_first != c->col_first ||
		    errs.e[0].col_last != c->col_last ||
		    strstr(errs.e[0].msg, c->msg) == NULL) {
			(void)fw_err_format(&errs.e[0], "sets", buf, sizeof(buf));
			fail_msg("%s: want 1 error at %u:%u-%u \"%s\", got %u:\n%s",
			    c->what, c->line, c->col_first, c->col_last,
			    c->msg, errs.n, buf);
		}
		/* Nothing of the file was applied. */
		after = fw_sets_save(reg);
		if (strcmp(before, after) != 0)
			fail_msg("%s: registry changed", c->what);
		free(before);
		free(after);
		fw_sets_free(reg);
	}
}

static void
test_caret_format(void **state)
{
	static struct fw_errs errs;
	struct fw_sets *reg = fw_sets_new();
	char buf[512];

	(void)state;
	assert_int_equal(restore(reg, "create a hash:ip\nadd a 10.0.0.300\n",
	    &errs), -EINVAL);
	(void)fw_err_format(&errs.e[0], "sets", buf, sizeof(buf));
	assert_string_equal(buf,
	    "sets:2:7-16: error: bad address \"10.0.0.300\"\n"
	    "add a 10.0.0.300\n"
	    "      ^~~~~~~~~~\n");
	fw_sets_free(reg);
}

/* One bad line among thousands refuses the file and names the line;
 * the sets that were there stay as they were. */
static void
test_bad_line_refuses_all(void **state)
{
	static struct fw_errs errs;
	struct fw_sets *reg = fw_sets_new();
	size_t cap = 64 * 5000, len = 0;
	char *text = malloc(cap), *before, *after;

	(void)state;
	assert_int_equal(restore(reg, "create big hash:net\nadd big 1.0.0.0/8\n",
	    &errs), 0);
	before = fw_sets_save(reg);
	len += (size_t)snprintf(text + len, cap - len, "create other hash:ip\n");
	for (int i = 0; i < 4000; i++) {
		if (i == 2500)
			len += (size_t)snprintf(text + len, cap - len,
			    "add big 10.%d.0.0/3x\n", i % 256);
		else
			len += (size_t)snprintf(text + len, cap - len,
			    "add big 10.%d.%d.0/24\n", i / 256, i % 256);
	}
	len += (size_t)snprintf(text + len, cap - len, "add other 1.2.3.4\n");
	assert_int_equal(restore(reg, text, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.e[0].line, 2502);
	assert_non_null(strstr(errs.e[0].msg, "bad prefix length \"/3x\""));
	after = fw_sets_save(reg);
	assert_string_equal(before, after);
	assert_int_equal(fw_sets_find(reg, "other"), FW_SET_NONE);
	assert_false(test_addr(reg, "big", "10.0.1.1", 6, -1));
	free(after);
	/* Without the bad line it all goes in. */
	text[0] = '\0';
	len = 0;
	for (int i = 0; i < 4000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "add big 10.%d.%d.0/24\n", i / 256, i % 256);
	assert_int_equal(restore(reg, text, &errs), 0);
	assert_int_equal(fw_set_count(fw_sets_get(reg, fw_sets_find(reg, "big"))),
	    4001);
	assert_true(test_addr(reg, "big", "10.15.159.1", 6, -1));
	assert_false(test_addr(reg, "big", "10.15.160.1", 6, -1));
	free(before);
	free(text);
	fw_sets_free(reg);
}

static void
test_replace(void **state)
{
	static struct fw_errs errs;
	struct fw_sets *reg = fw_sets_new();
	const struct fw_set *cur;
	struct fw_set *next, *old, *wrong;
	struct fw_set_elem e;
	struct fw_set **retired;
	size_t n_retired;
	uint32_t id;

	(void)state;
	assert_int_equal(restore(reg, "create a hash:ip\nadd a 10.0.0.1\n",
	    &errs), 0);
	id = fw_sets_find(reg, "a");
	assert_int_not_equal(id, FW_SET_NONE);
	cur = fw_sets_get(reg, id);
	assert_true(test_addr(reg, "a", "10.0.0.1", 0, -1));
	assert_false(test_addr(reg, "a", "10.0.0.2", 0, -1));

	/* Copy-on-write: the published version does not change. */
	next = fw_set_clone(cur);
	assert_non_null(next);
	memset(&e, 0, sizeof(e));
	inet_pton(AF_INET, "10.0.0.2", e.addr);
	e.prefix = 7;		/* ignored: hash:ip holds hosts */
	assert_int_equal(fw_set_add(next, &e), 0);
	assert_false(test_addr(reg, "a", "10.0.0.2", 0, -1));
	assert_int_equal(fw_sets_replace(reg, id, next, &old), 0);
	assert_ptr_equal(old, cur);
	assert_ptr_equal(fw_sets_get(reg, id), next);
	assert_true(test_addr(reg, "a", "10.0.0.2", 0, -1));
	assert_true(test_addr(reg, "a", "10.0.0.1", 0, -1));
	/* The old version still answers as before until it is freed. */
	{
		struct fw_set_key k = key_of(FW_IPV4, e.addr, 0, -1);

		assert_false(fw_set_test(reg, old, &k));
	}
	fw_set_free(old);

	/* Another type or family is refused and nothing changes. */
	wrong = fw_set_new(FW_SET_HASH_NET, FW_IPV4, 0, 0, 0);
	assert_int_equal(fw_sets_replace(reg, id, wrong, &old), -EINVAL);
	assert_null(old);
	fw_set_free(wrong);
	wrong = fw_set_new(FW_SET_HASH_IP, FW_IPV6, 0, 0, 0);
	assert_int_equal(fw_sets_replace(reg, id, wrong, &old), -EINVAL);
	fw_set_free(wrong);
	assert_ptr_equal(fw_sets_get(reg, id), next);

	/* A restore keeps the slot id, swaps in a new version and retires
	 * the old one for the caller. */
	assert_int_equal(fw_sets_restore(reg, "add a 10.0.0.3\n", 15, &retired,
	    &n_retired, &errs), 0);
	assert_int_equal(fw_sets_find(reg, "a"), id);
	assert_int_equal(n_retired, 1);
	assert_ptr_equal(retired[0], next);
	assert_ptr_not_equal(fw_sets_get(reg, id), next);
	assert_true(test_addr(reg, "a", "10.0.0.3", 0, -1));
	fw_set_free(retired[0]);
	free(retired);

	/* Rules hold sets: destroy refused until they let go. */
	fw_sets_ref(reg, id);
	assert_int_equal(restore(reg, "destroy a\n", &errs), -EINVAL);
	assert_int_equal(fw_sets_destroy(reg, id, &old), -EBUSY);
	fw_sets_unref(reg, id);
	assert_int_equal(restore(reg, "destroy\n", &errs), 0);
	assert_int_equal(fw_sets_find(reg, "a"), FW_SET_NONE);
	assert_false(test_addr(reg, "a", "10.0.0.3", 0, -1));
	fw_sets_free(reg);
}

static void
test_list_cycle_api(void **state)
{
	static struct fw_errs errs;
	struct fw_sets *reg = fw_sets_new();
	struct fw_set *v, *old;
	struct fw_set_elem e;
	uint32_t l1, l2;

	(void)state;
	assert_int_equal(restore(reg, "create l1 list:set\ncreate l2 list:set\n"
	    "add l1 l2\n", &errs), 0);
	l1 = fw_sets_find(reg, "l1");
	l2 = fw_sets_find(reg, "l2");
	v = fw_set_clone(fw_sets_get(reg, l2));
	memset(&e, 0, sizeof(e));
	e.id = l1;
	assert_int_equal(fw_set_add(v, &e), 0);
	assert_int_equal(fw_sets_replace(reg, l2, v, &old), -ELOOP);
	assert_null(old);
	e.id = 777;	/* no such slot */
	assert_int_equal(fw_set_del(v, &(struct fw_set_elem){ .id = l1 }), 0);
	assert_int_equal(fw_set_add(v, &e), 0);
	assert_int_equal(fw_sets_replace(reg, l2, v, &old), -ENOENT);
	fw_set_free(v);
	/* The members of a list cannot be destroyed under it. */
	assert_int_equal(fw_sets_destroy(reg, l2, &old), -EBUSY);
	fw_sets_free(reg);

	/* Eight lists deep still matches; a ninth on top is refused, and
	 * so is a list put under the bottom one. */
	reg = fw_sets_new();
	assert_int_equal(restore(reg, DEEP, &errs), 0);
	assert_true(test_addr(reg, "l8", "10.9.9.9", 0, -1));
	assert_false(test_addr(reg, "l8", "10.9.9.8", 0, -1));
	assert_int_equal(restore(reg, "create z list:set\nadd l1 z\n", &errs),
	    -EINVAL);
	assert_int_equal(errs.e[0].line, 2);
	assert_non_null(strstr(errs.e[0].msg, "more than 8 deep"));
	fw_sets_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_hash_ip),
		cmocka_unit_test(test_random_hash_net),
		cmocka_unit_test(test_random_hash_ip_port),
		cmocka_unit_test(test_random_bitmap),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_caret_format),
		cmocka_unit_test(test_bad_line_refuses_all),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_list_cycle_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
