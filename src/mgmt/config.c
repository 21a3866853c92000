/*
 * src/mgmt/config.c: the JSON configuration model behind config.h.  Text
 * goes in, a struct hg_config comes out, or every problem found, each with
 * a JSON pointer to its place and a message that quotes the bad value and
 * says what is allowed.  Nothing here opens a port or touches the data
 * plane: port lines are only checked for syntax (io_port_check_spec()), and
 * hexgated turns the result into tables.
 *
 * The walk is two passes over the tree jansson builds: interfaces first
 * (routes and neighbours name them), then everything else.  A bad field is
 * reported and skipped, never fatal, so one run reports every mistake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <jansson.h>

#include "../lib/text.h"
#include "config.h"
#include "../pkt/pkt.h"
#ifdef HG_HAVE_IO
#include "../io/io.h"
#endif

/* The largest frame a buffer holds, less an Ethernet header and one VLAN tag. */
#define CFG_MTU_MIN	68	/* RFC 791: every IPv4 host takes 68 bytes */
#define CFG_MTU_MAX	(PKT_DATA_ROOM - 14 - 4)
#define CFG_MTU_DEFAULT	1500

/* A config file larger than this is a mistake, not a route table. */
#define CFG_FILE_MAX_BYTES	(64u << 20)

/* How much of a bad value a message quotes. */
#define CFG_QUOTE_MAX	80

/* if_json_idx of the overlay's interface. */
#define CFG_IF_OVERLAY	INT_MIN

struct cfg_ctx {
	struct hg_cfg_errs *errs;
	struct hg_config *cfg;
	/* Where each interface was declared, to name the first of a duplicate. */
	int if_json_idx[HG_CFG_IF_MAX];
};

static void cfg_err(struct cfg_ctx *, const char *, const char *, ...)
    HG_PRINTF(3, 4);

static void
cfg_err(struct cfg_ctx *c, const char *where, const char *fmt, ...)
{
	struct hg_cfg_errs *errs = c->errs;
	struct hg_cfg_err *e;
	va_list ap;

	/* Count past the cap so the caller can say how many were left out. */
	if (errs->n++ >= HG_CFG_ERR_MAX)
		return;
	e = &errs->e[errs->n - 1];
	snprintf(e->where, sizeof(e->where), "%s", where);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* Appends to the string in dst, truncating; dst is always terminated. */
static void
str_append(char *dst, size_t len, const char *s)
{
	size_t n = strlen(dst);

	while (*s != '\0' && n + 1 < len)
		dst[n++] = *s++;
	dst[n] = '\0';
}

/* dst = base + "/" + key, with key escaped as RFC 6901 §3 says. */
static void
ptr_key(char *dst, size_t len, const char *base, const char *key)
{
	snprintf(dst, len, "%s/", base);
	for (; *key != '\0'; key++) {
		if (*key == '~')
			str_append(dst, len, "~0");
		else if (*key == '/')
			str_append(dst, len, "~1");
		else {
			char one[2] = { *key, '\0' };

			str_append(dst, len, one);
		}
	}
}

static void
ptr_idx(char *dst, size_t len, const char *base, size_t idx)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", idx);
	ptr_key(dst, len, base, num);
}

/*
 * The value as JSON text, cut to CFG_QUOTE_MAX bytes on a UTF-8 boundary,
 * so a message can quote what the user wrote: "lan0", 70000, [1, 2].
 */
static const char *
json_quote(const json_t *v, char *buf, size_t len)
{
	char *s;
	size_t n, max = HG_MIN(len - 1, (size_t)CFG_QUOTE_MAX);

	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s == NULL) {
		snprintf(buf, len, "(value)");
		return buf;
	}
	n = strlen(s);
	if (n > max) {
		n = max - 3;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(buf, s, n);
		memcpy(buf + n, "...", 4);
	} else
		memcpy(buf, s, n + 1);
	free(s);
	return buf;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:	return "a boolean";
	case JSON_NULL:		return "null";
	}
	return "a value";
}

static bool
cfg_expect(struct cfg_ctx *c, const char *where, const json_t *v,
    json_type type, const char *type_name)
{
	char q[CFG_QUOTE_MAX + 1];

	if (json_typeof(v) == type ||
	    (type == JSON_TRUE && json_typeof(v) == JSON_FALSE))
		return true;
	if (json_is_object(v) || json_is_array(v))
		cfg_err(c, where, "expected %s, got %s", type_name,
		    json_type_name(v));
	else
		cfg_err(c, where, "%s is %s, expected %s",
		    json_quote(v, q, sizeof(q)), json_type_name(v), type_name);
	return false;
}

/*
 * Reports every key of obj not in allowed (NULL-terminated).  Returns
 * false when obj is not an object at all.
 */
static bool
cfg_check_object(struct cfg_ctx *c, const char *where, const json_t *obj,
    const char *const *allowed)
{
	const char *key;
	json_t *v;
	char list[256], p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];

	if (!cfg_expect(c, where, obj, JSON_OBJECT, "an object"))
		return false;
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		list[0] = '\0';
		for (i = 0; allowed[i] != NULL; i++) {
			if (i > 0)
				str_append(list, sizeof(list), ", ");
			str_append(list, sizeof(list), allowed[i]);
		}
		ptr_key(p, sizeof(p), where, key);
		{
			json_t *k = json_string(key);

			cfg_err(c, p, "unknown key %s (allowed: %s)",
			    k != NULL ? json_quote(k, q, sizeof(q)) : "?", list);
			json_decref(k);
		}
	}
	return true;
}

/* Integer in lo..hi; false (with an error) on anything else. */
static bool
cfg_int(struct cfg_ctx *c, const char *where, const json_t *v, long long lo,
    long long hi, long long *out)
{
	char q[CFG_QUOTE_MAX + 1];

	if (!cfg_expect(c, where, v, JSON_INTEGER, "an integer"))
		return false;
	if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
		cfg_err(c, where, "%s is out of range %lld..%lld",
		    json_quote(v, q, sizeof(q)), lo, hi);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

/* A string of 1..max_len bytes; NULL (with an error) otherwise. */
static const char *
cfg_str(struct cfg_ctx *c, const char *where, const json_t *v, size_t max_len)
{
	char q[CFG_QUOTE_MAX + 1];

	if (!cfg_expect(c, where, v, JSON_STRING, "a string"))
		return NULL;
	if (json_string_length(v) == 0) {
		cfg_err(c, where, "must not be empty");
		return NULL;
	}
	if (json_string_length(v) > max_len) {
		cfg_err(c, where, "%s is longer than %zu bytes",
		    json_quote(v, q, sizeof(q)), max_len);
		return NULL;
	}
	return json_string_value(v);
}

static const json_t *
cfg_required(struct cfg_ctx *c, const char *where, const json_t *obj,
    const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		cfg_err(c, where, "missing required key \"%s\"", key);
	return v;
}

/* --- addresses ---------------------------------------------------------- */

int
hg_addr_parse(const char *s, struct hg_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, out->addr) != 1)
			return -EINVAL;
		out->family = AF_INET6;
	} else {
		/* inet_pton, unlike inet_aton, takes only a full dotted quad. */
		if (inet_pton(AF_INET, s, out->addr) != 1)
			return -EINVAL;
		out->family = AF_INET;
	}
	return 0;
}

static unsigned
addr_max_len_bits(const struct hg_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/*
 * "A/len".  -EINVAL when A is no address or the length is not a decimal
 * number, -ERANGE when the length is larger than the family allows.
 */
int
hg_prefix_parse(const char *s, struct hg_prefix *out)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/'), *d;
	unsigned len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	rc = hg_addr_parse(buf, &out->a);
	if (rc < 0)
		return rc;
	d = slash + 1;
	/* One to three digits, no sign, no leading zero: "/024" is a typo. */
	if (*d == '\0' || strlen(d) > 3 || (d[0] == '0' && d[1] != '\0'))
		return -EINVAL;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		len = len * 10 + (unsigned)(*d - '0');
	}
	if (len > addr_max_len_bits(&out->a))
		return -ERANGE;
	out->len_bits = (uint8_t)len;
	return 0;
}

const char *
hg_addr_fmt(const struct hg_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->addr, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

static const char *
prefix_fmt(const struct hg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", hg_addr_fmt(&p->a, a, sizeof(a)),
	    p->len_bits);
	return buf;
}

static const char *
family_name(const struct hg_addr *a)
{
	return a->family == AF_INET ? "IPv4" : "IPv6";
}

/* Clears the bits past len_bits; returns whether any was set. */
static bool
prefix_clear_host_bits(struct hg_prefix *p)
{
	unsigned nbytes = addr_max_len_bits(&p->a) / 8;
	bool had = false;

	for (unsigned i = 0; i < nbytes; i++) {
		unsigned first_bit = i * 8;
		uint8_t keep;

		if (first_bit >= p->len_bits)
			keep = 0;
		else if (first_bit + 8 <= p->len_bits)
			keep = 0xff;
		else
			keep = (uint8_t)(0xff << (8 - (p->len_bits - first_bit)));
		if (p->a.addr[i] & ~keep)
			had = true;
		p->a.addr[i] &= keep;
	}
	return had;
}

/* Why a an address cannot be an interface's, a next hop or a neighbour's. */
static const char *
addr_why_not_unicast(const struct hg_addr *a)
{
	static const uint8_t zero[16];

	if (memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16) == 0)
		return "the unspecified address";
	if (a->family == AF_INET) {
		if ((a->addr[0] & 0xf0) == 0xe0)
			return "a multicast address";
		if (memcmp(a->addr, "\xff\xff\xff\xff", 4) == 0)
			return "the broadcast address";
	} else if (a->addr[0] == 0xff)
		return "a multicast address";
	return NULL;
}

/* A unicast address, for next hops and neighbours. */
static bool
cfg_unicast_addr(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_addr *out)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s, *why;

	if ((s = cfg_str(c, where, v, 128)) == NULL)
		return false;
	if (hg_addr_parse(s, out) < 0) {
		cfg_err(c, where, "%s is not an IPv4 or IPv6 address",
		    json_quote(v, q, sizeof(q)));
		return false;
	}
	if ((why = addr_why_not_unicast(out)) != NULL) {
		cfg_err(c, where, "%s is %s; a unicast address is needed",
		    json_quote(v, q, sizeof(q)), why);
		return false;
	}
	return true;
}

static bool
cfg_prefix(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_prefix *out)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;
	int rc;

	if ((s = cfg_str(c, where, v, 128)) == NULL)
		return false;
	rc = hg_prefix_parse(s, out);
	if (rc == -ERANGE) {
		cfg_err(c, where, "%s: prefix length is out of range 0..%u",
		    json_quote(v, q, sizeof(q)), addr_max_len_bits(&out->a));
		return false;
	}
	if (rc < 0) {
		cfg_err(c, where, "%s is not an IPv4 or IPv6 prefix "
		    "(expected ADDRESS/LENGTH such as 10.0.0.0/8 or 2001:db8::/32)",
		    json_quote(v, q, sizeof(q)));
		return false;
	}
	return true;
}

/* --- MAC addresses ------------------------------------------------------- */

/* Exactly "xx:xx:xx:xx:xx:xx", either case. */
static int
mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hg_hex_digit(s[0]), lo = hi < 0 ? -1 : hg_hex_digit(s[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		s += i == 5 ? 0 : 1;
	}
	return 0;
}

static bool
cfg_mac(struct cfg_ctx *c, const char *where, const json_t *v, uint8_t mac[6])
{
	static const uint8_t zero[6];
	char q[CFG_QUOTE_MAX + 1];
	const char *s;

	if ((s = cfg_str(c, where, v, 64)) == NULL)
		return false;
	if (mac_parse(s, mac) < 0) {
		cfg_err(c, where, "%s is not a MAC address "
		    "(expected six hex pairs such as 02:00:00:00:00:01)",
		    json_quote(v, q, sizeof(q)));
		return false;
	}
	if (memcmp(mac, zero, 6) == 0) {
		cfg_err(c, where, "%s is the all-zero MAC address; "
		    "a unicast address is needed", json_quote(v, q, sizeof(q)));
		return false;
	}
	if (mac[0] & 0x01) {
		cfg_err(c, where, "%s is a %s MAC address; "
		    "a unicast address is needed", json_quote(v, q, sizeof(q)),
		    memcmp(mac, "\xff\xff\xff\xff\xff\xff", 6) == 0 ?
		    "broadcast" : "multicast");
		return false;
	}
	return true;
}

/* --- interfaces ---------------------------------------------------------- */

static int
cfg_if_find(const struct hg_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_ifs; i++)
		if (strcmp(cfg->ifs[i].name, name) == 0)
			return i;
	return -1;
}

static bool
if_name_is_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		    *s == '-')
			continue;
		return false;
	}
	return true;
}

static bool
cfg_if_name(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_if *ifc)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;
	int dup;

	if ((s = cfg_str(c, where, v, HG_CFG_NAME_MAX - 1)) == NULL)
		return false;
	if (!if_name_is_valid(s)) {
		cfg_err(c, where, "%s is not a valid interface name "
		    "(allowed: 1..%d of A-Z a-z 0-9 _ . -)",
		    json_quote(v, q, sizeof(q)), HG_CFG_NAME_MAX - 1);
		return false;
	}
	if ((dup = cfg_if_find(c->cfg, s)) >= 0) {
		if (c->if_json_idx[dup] == CFG_IF_OVERLAY)
			cfg_err(c, where, "%s is already the overlay's "
			    "interface (/overlay/interface)",
			    json_quote(v, q, sizeof(q)));
		else if (c->if_json_idx[dup] < 0)
			cfg_err(c, where, "%s is already the name of "
			    "/tunnels/%d", json_quote(v, q, sizeof(q)),
			    -1 - c->if_json_idx[dup]);
		else
			cfg_err(c, where, "%s is already the name of "
			    "/interfaces/%d", json_quote(v, q, sizeof(q)),
			    c->if_json_idx[dup]);
		return false;
	}
	snprintf(ifc->name, sizeof(ifc->name), "%s", s);
	return true;
}

/*
 * Ports that stand for nothing outside hexgate (null, gen) may repeat; any
 * other port line names a host resource (an interface, a TAP, a capture
 * file) that two interfaces cannot share.
 */
static bool
port_may_repeat(const char *spec)
{
	return strcmp(spec, "null") == 0 || strncmp(spec, "gen:", 4) == 0;
}

static bool
cfg_if_port(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_if *ifc)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;

	if ((s = cfg_str(c, where, v, HG_CFG_PORT_MAX - 1)) == NULL)
		return false;
#ifdef HG_HAVE_IO
	{
		char why[160] = "";

		if (io_port_check_spec(s, why, sizeof(why)) < 0) {
			cfg_err(c, where, "%s is not a valid port line: %s",
			    json_quote(v, q, sizeof(q)),
			    why[0] != '\0' ? why : "rejected");
			return false;
		}
	}
#endif
	if (!port_may_repeat(s)) {
		for (int i = 0; i < c->cfg->n_ifs; i++) {
			if (strcmp(c->cfg->ifs[i].port, s) != 0)
				continue;
			cfg_err(c, where, "%s is already the port of "
			    "/interfaces/%d (%s)", json_quote(v, q, sizeof(q)),
			    c->if_json_idx[i], c->cfg->ifs[i].name);
			return false;
		}
	}
	snprintf(ifc->port, sizeof(ifc->port), "%s", s);
	return true;
}

static bool
cfg_if_addr(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_if *ifc)
{
	char q[CFG_QUOTE_MAX + 1], pf[INET6_ADDRSTRLEN + 4];
	struct hg_prefix p;
	const char *why;

	if (!cfg_prefix(c, where, v, &p))
		return false;
	if (p.len_bits == 0) {
		cfg_err(c, where, "%s: an interface address needs a prefix "
		    "length of 1..%u", json_quote(v, q, sizeof(q)),
		    addr_max_len_bits(&p.a));
		return false;
	}
	if ((why = addr_why_not_unicast(&p.a)) != NULL) {
		cfg_err(c, where, "%s is %s; an interface address must be "
		    "unicast", json_quote(v, q, sizeof(q)), why);
		return false;
	}
	for (unsigned i = 0; i < ifc->n_addrs; i++) {
		if (memcmp(&ifc->addrs[i].a, &p.a, sizeof(p.a)) != 0)
			continue;
		cfg_err(c, where, "%s repeats address %s of this interface",
		    json_quote(v, q, sizeof(q)),
		    prefix_fmt(&ifc->addrs[i], pf, sizeof(pf)));
		return false;
	}
	ifc->addrs[ifc->n_addrs++] = p;
	return true;
}

static void
cfg_if_addrs(struct cfg_ctx *c, const char *where, const json_t *arr,
    struct hg_cfg_if *ifc)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, where, arr, JSON_ARRAY, "an array of prefixes"))
		return;
	if (json_array_size(arr) > HG_CFG_ADDR_MAX) {
		cfg_err(c, where, "%zu addresses; an interface has at most %d",
		    json_array_size(arr), HG_CFG_ADDR_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), where, i);
		(void)cfg_if_addr(c, p, v, ifc);
	}
}

static const char *const if_keys[] = {
	"name", "port", "mtu", "mac", "addresses", "host_tap", NULL
};

/* "host_tap": true (a TAP named like the interface), false, or a name. */
static void
cfg_if_host_tap(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_if *ifc)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;

	if (json_is_boolean(v)) {
		if (json_is_true(v))
			memcpy(ifc->host_tap, ifc->name, sizeof(ifc->host_tap));
		return;
	}
	if (!json_is_string(v)) {
		cfg_err(c, where, "expected true, false or an interface name, "
		    "not %s", json_type_name(v));
		return;
	}
	s = json_string_value(v);
	if (!if_name_is_valid(s)) {
		cfg_err(c, where, "%s is not a valid interface name (1 to %d "
		    "characters, no '/', ':' or space)",
		    json_quote(v, q, sizeof(q)), HG_CFG_NAME_MAX - 1);
		return;
	}
	snprintf(ifc->host_tap, sizeof(ifc->host_tap), "%s", s);
}

/*
 * One interface.  It joins cfg->ifs even with errors in other fields once
 * its name is good, so that routes naming it do not add a second,
 * misleading error.
 */
static void
cfg_if(struct cfg_ctx *c, const char *where, const json_t *obj, int json_idx)
{
	struct hg_cfg_if *ifc = &c->cfg->ifs[c->cfg->n_ifs];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v;
	long long n;
	bool name_ok = false;

	memset(ifc, 0, sizeof(*ifc));
	ifc->mtu_bytes = CFG_MTU_DEFAULT;
	if (!cfg_check_object(c, where, obj, if_keys))
		return;
	if ((v = cfg_required(c, where, obj, "name")) != NULL) {
		ptr_key(p, sizeof(p), where, "name");
		name_ok = cfg_if_name(c, p, v, ifc);
	}
	if ((v = cfg_required(c, where, obj, "port")) != NULL) {
		ptr_key(p, sizeof(p), where, "port");
		(void)cfg_if_port(c, p, v, ifc);
	}
	if ((v = json_object_get(obj, "mtu")) != NULL) {
		ptr_key(p, sizeof(p), where, "mtu");
		if (cfg_int(c, p, v, CFG_MTU_MIN, CFG_MTU_MAX, &n))
			ifc->mtu_bytes = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "mac")) != NULL) {
		ptr_key(p, sizeof(p), where, "mac");
		ifc->has_mac = cfg_mac(c, p, v, ifc->mac);
	}
	if ((v = json_object_get(obj, "addresses")) != NULL) {
		ptr_key(p, sizeof(p), where, "addresses");
		cfg_if_addrs(c, p, v, ifc);
	}
	if ((v = json_object_get(obj, "host_tap")) != NULL) {
		ptr_key(p, sizeof(p), where, "host_tap");
		cfg_if_host_tap(c, p, v, ifc);
	}
	if (name_ok) {
		c->if_json_idx[c->cfg->n_ifs] = json_idx;
		c->cfg->n_ifs++;
	}
}

static void
cfg_ifs(struct cfg_ctx *c, const json_t *arr)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, "/interfaces", arr, JSON_ARRAY,
	    "an array of interfaces"))
		return;
	if (json_array_size(arr) > HG_CFG_IF_MAX) {
		cfg_err(c, "/interfaces", "%zu interfaces; at most %d are "
		    "supported", json_array_size(arr), HG_CFG_IF_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), "/interfaces", i);
		cfg_if(c, p, v, (int)i);
	}
}

/* --- tunnels (ESP, manual SAs) --------------------------------------- */

/* The algorithms the data plane has (src/tun/esp.h), as configured. */
static const char *const esp_algs[] = {
	"aes128gcm", "aes256gcm", "chacha20poly1305", "aes128cbc-sha256",
	"aes256cbc-sha256", "aes256cbc-sha384", "aes256cbc-sha512", NULL
};
static const char *const sa_keys[] = { "spi", "alg", "key_file", NULL };
static const char *const tunnel_keys[] = {
	"name", "type", "local", "remote", "encap", "remote_port", "mtu",
	"addresses", "remote_subnets", "local_subnets", "esn", "mss_clamp",
	"rekey_bytes", "rekey_packets", "life_bytes", "life_packets",
	"host_tap", "nat_keepalive", "policy", "sa_out", "sa_in", NULL
};

/* The ESP overhead a tunnel's MTU leaves room for by default: outer
 * IPv6 (40), UDP (8), ESP header and IV (16), the longest ICV (32), pad
 * and trailer (17). */
#define CFG_TUNNEL_MTU_DEFAULT	1400

static void
cfg_sa(struct cfg_ctx *c, const char *where, const json_t *obj,
    struct hg_cfg_sa *sa)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;
	long long n;
	size_t i;

	if (!cfg_check_object(c, where, obj, sa_keys))
		return;
	if ((v = cfg_required(c, where, obj, "spi")) != NULL) {
		ptr_key(p, sizeof(p), where, "spi");
		if (cfg_int(c, p, v, 256, 0xffffffffLL, &n))
			sa->spi = (uint32_t)n;
	}
	if ((v = cfg_required(c, where, obj, "alg")) != NULL) {
		ptr_key(p, sizeof(p), where, "alg");
		if ((s = cfg_str(c, p, v, HG_CFG_ALG_MAX - 1)) != NULL) {
			for (i = 0; esp_algs[i] != NULL; i++)
				if (strcmp(esp_algs[i], s) == 0)
					break;
			if (esp_algs[i] == NULL)
				cfg_err(c, p, "%s is not an ESP algorithm "
				    "(allowed: aes128gcm, aes256gcm, "
				    "chacha20poly1305, aes128cbc-sha256, "
				    "aes256cbc-sha256, aes256cbc-sha384, "
				    "aes256cbc-sha512)",
				    json_quote(v, q, sizeof(q)));
			else
				snprintf(sa->alg, sizeof(sa->alg), "%s", s);
		}
	}
	if ((v = cfg_required(c, where, obj, "key_file")) != NULL) {
		ptr_key(p, sizeof(p), where, "key_file");
		if ((s = cfg_str(c, p, v, sizeof(sa->key_file) - 1)) != NULL)
			snprintf(sa->key_file, sizeof(sa->key_file), "%s", s);
	}
}

static void
cfg_tunnel_subnets(struct cfg_ctx *c, const char *where, const json_t *arr,
    struct hg_prefix *out, uint8_t *n)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, where, arr, JSON_ARRAY, "an array of prefixes"))
		return;
	if (json_array_size(arr) > HG_CFG_ADDR_MAX) {
		cfg_err(c, where, "%zu subnets; a tunnel has at most %d",
		    json_array_size(arr), HG_CFG_ADDR_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), where, i);
		if (cfg_prefix(c, p, v, &out[*n]))
			(*n)++;
	}
}

/*
 * One tunnel: its own fields, and an interface of the same name (port
 * "null": nothing outside hexgate), so that routes, rules and COPY name
 * it as they name any interface.
 */
static void
cfg_tunnel(struct cfg_ctx *c, const char *where, const json_t *obj)
{
	struct hg_cfg_tunnel *tn = &c->cfg->tunnels[c->cfg->n_tunnels];
	struct hg_cfg_if *ifc = &c->cfg->ifs[c->cfg->n_ifs];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;
	long long n;
	bool name_ok = false;

	memset(tn, 0, sizeof(*tn));
	memset(ifc, 0, sizeof(*ifc));
	tn->remote_port = 4500;
	tn->mss_clamp = HG_CFG_MSS_AUTO;
	ifc->mtu_bytes = CFG_TUNNEL_MTU_DEFAULT;
	ifc->tunnel = true;
	snprintf(ifc->port, sizeof(ifc->port), "null");
	if (!cfg_check_object(c, where, obj, tunnel_keys))
		return;
	if (c->cfg->n_ifs == HG_CFG_IF_MAX) {
		cfg_err(c, where, "no room for its interface: at most %d "
		    "interfaces and tunnels together", HG_CFG_IF_MAX);
		return;
	}
	if ((v = cfg_required(c, where, obj, "name")) != NULL) {
		ptr_key(p, sizeof(p), where, "name");
		name_ok = cfg_if_name(c, p, v, ifc);
	}
	if ((v = json_object_get(obj, "type")) != NULL) {
		ptr_key(p, sizeof(p), where, "type");
		if ((s = cfg_str(c, p, v, 8)) != NULL && strcmp(s, "esp") != 0)
			cfg_err(c, p, "%s: the only tunnel type is \"esp\"",
			    json_quote(v, q, sizeof(q)));
	}
	if ((v = cfg_required(c, where, obj, "local")) != NULL) {
		ptr_key(p, sizeof(p), where, "local");
		(void)cfg_unicast_addr(c, p, v, &tn->local);
	}
	if ((v = cfg_required(c, where, obj, "remote")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote");
		if (cfg_unicast_addr(c, p, v, &tn->remote) &&
		    tn->local.family != 0 &&
		    tn->remote.family != tn->local.family)
			cfg_err(c, p, "local and remote must be of one family");
	}
	if ((v = json_object_get(obj, "encap")) != NULL) {
		ptr_key(p, sizeof(p), where, "encap");
		if ((s = cfg_str(c, p, v, 8)) != NULL) {
			if (strcmp(s, "udp") == 0)
				tn->udp = true;
			else if (strcmp(s, "esp") != 0)
				cfg_err(c, p, "%s: \"esp\" (IP protocol 50) or "
				    "\"udp\" (ESP-in-UDP, port 4500)",
				    json_quote(v, q, sizeof(q)));
		}
	}
	if ((v = json_object_get(obj, "remote_port")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote_port");
		if (cfg_int(c, p, v, 1, 65535, &n))
			tn->remote_port = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "mtu")) != NULL) {
		ptr_key(p, sizeof(p), where, "mtu");
		if (cfg_int(c, p, v, 576, CFG_MTU_MAX - 100, &n))
			ifc->mtu_bytes = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "addresses")) != NULL) {
		ptr_key(p, sizeof(p), where, "addresses");
		cfg_if_addrs(c, p, v, ifc);
	}
	if ((v = json_object_get(obj, "host_tap")) != NULL && name_ok) {
		ptr_key(p, sizeof(p), where, "host_tap");
		cfg_if_host_tap(c, p, v, ifc);
	}
	if ((v = json_object_get(obj, "remote_subnets")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote_subnets");
		cfg_tunnel_subnets(c, p, v, tn->remote_subnets,
		    &tn->n_remote);
	}
	if ((v = json_object_get(obj, "local_subnets")) != NULL) {
		ptr_key(p, sizeof(p), where, "local_subnets");
		cfg_tunnel_subnets(c, p, v, tn->local_subnets, &tn->n_local);
	}
	if ((v = json_object_get(obj, "mss_clamp")) != NULL) {
		ptr_key(p, sizeof(p), where, "mss_clamp");
		if (json_is_boolean(v))
			tn->mss_clamp = json_is_true(v) ? HG_CFG_MSS_AUTO : 0;
		else if (json_is_integer(v) && cfg_int(c, p, v, 536, 9000, &n))
			tn->mss_clamp = (uint16_t)n;
		else if (!json_is_integer(v))
			cfg_err(c, p, "true (the tunnel's MTU less the IP and "
			    "TCP headers), false, or an MSS of 536 to 9000");
	}
	{
		static const char *const keys[] = { "rekey_bytes",
		    "rekey_packets", "life_bytes", "life_packets" };
		uint64_t *dst[] = { &tn->rekey_bytes, &tn->rekey_packets,
		    &tn->life_bytes, &tn->life_packets };

		for (size_t k = 0; k < 4; k++)
			if ((v = json_object_get(obj, keys[k])) != NULL) {
				ptr_key(p, sizeof(p), where, keys[k]);
				if (cfg_int(c, p, v, 1, (1LL << 62), &n))
					*dst[k] = (uint64_t)n;
			}
		for (size_t k = 0; k < 2; k++)
			if (*dst[k] != 0 && *dst[k + 2] != 0 &&
			    *dst[k] >= *dst[k + 2]) {
				ptr_key(p, sizeof(p), where, keys[k]);
				cfg_err(c, p, "%llu is not below %s (%llu): the "
				    "rekey comes before the end of life",
				    (unsigned long long)*dst[k], keys[k + 2],
				    (unsigned long long)*dst[k + 2]);
			}
	}
	if ((v = json_object_get(obj, "nat_keepalive")) != NULL) {
		ptr_key(p, sizeof(p), where, "nat_keepalive");
		if (cfg_int(c, p, v, 0, 3600, &n))
			tn->keepalive_s = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "policy")) != NULL) {
		ptr_key(p, sizeof(p), where, "policy");
		if (json_is_boolean(v))
			tn->policy = json_is_true(v);
		else
			cfg_err(c, p, "expected true or false, not %s",
			    json_type_name(v));
	}
	if ((v = json_object_get(obj, "esn")) != NULL) {
		ptr_key(p, sizeof(p), where, "esn");
		if (cfg_expect(c, p, v, JSON_TRUE, "a boolean"))
			tn->esn = json_is_true(v);
	}
	if ((v = cfg_required(c, where, obj, "sa_out")) != NULL) {
		ptr_key(p, sizeof(p), where, "sa_out");
		cfg_sa(c, p, v, &tn->sa_out);
	}
	if ((v = cfg_required(c, where, obj, "sa_in")) != NULL) {
		ptr_key(p, sizeof(p), where, "sa_in");
		cfg_sa(c, p, v, &tn->sa_in);
	}
	for (uint16_t k = 0; k < c->cfg->n_tunnels; k++)
		if (tn->sa_in.spi != 0 &&
		    c->cfg->tunnels[k].sa_in.spi == tn->sa_in.spi) {
			ptr_key(p, sizeof(p), where, "sa_in");
			cfg_err(c, p, "SPI %u is already tunnel %s's inbound "
			    "SPI", tn->sa_in.spi, c->cfg->tunnels[k].name);
		}
	if (!name_ok)
		return;
	memcpy(tn->name, ifc->name, sizeof(tn->name));
	tn->if_idx = c->cfg->n_ifs;
	c->if_json_idx[c->cfg->n_ifs] = -1 - (int)c->cfg->n_tunnels;
	c->cfg->n_ifs++;
	c->cfg->n_tunnels++;
}

static void
cfg_tunnels(struct cfg_ctx *c, const json_t *arr)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, "/tunnels", arr, JSON_ARRAY, "an array of tunnels"))
		return;
	if (json_array_size(arr) > HG_CFG_TUNNEL_MAX) {
		cfg_err(c, "/tunnels", "%zu tunnels; at most %d are supported",
		    json_array_size(arr), HG_CFG_TUNNEL_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), "/tunnels", i);
		cfg_tunnel(c, p, v);
	}
}

/* A configured interface's index; -1 with an error naming the choices. */
static int
cfg_if_ref(struct cfg_ctx *c, const char *where, const json_t *v)
{
	char q[CFG_QUOTE_MAX + 1], list[160] = "";
	const char *s;
	int idx;

	if ((s = cfg_str(c, where, v, 255)) == NULL)
		return -1;
	if ((idx = cfg_if_find(c->cfg, s)) >= 0)
		return idx;
	for (int i = 0; i < c->cfg->n_ifs; i++) {
		if (i > 0)
			str_append(list, sizeof(list), ", ");
		str_append(list, sizeof(list), c->cfg->ifs[i].name);
	}
	cfg_err(c, where, "%s is not a configured interface (configured: %s)",
	    json_quote(v, q, sizeof(q)), c->cfg->n_ifs > 0 ? list : "none");
	return -1;
}

/* --- ipsec: IKEv2 connections in swanctl's words ------------------------ */

static const char *const ipsec_keys[] = { "connections", "secrets", NULL };
static const char *const conn_keys[] = {
	"version", "local_addrs", "remote_addrs", "local_port", "remote_port",
	"proposals", "encap", "dpd_delay", "rekey_time", "reauth_time",
	"fragmentation", "if_name", "mtu", "local", "remote", "children", NULL
};
static const char *const end_keys[] = {
	"auth", "id", "certs", "cacerts", "key", NULL
};
static const char *const child_keys[] = {
	"local_ts", "remote_ts", "esp_proposals", "start_action",
	"dpd_action", "close_action", "rekey_time", "life_time", "mode", NULL
};

/*
 * A duration as swanctl writes it: seconds, or a number with s, m, h or
 * d ("30s", "4h", "1d"), a string or a JSON integer (seconds).
 */
static bool
cfg_duration(struct cfg_ctx *c, const char *where, const json_t *v,
    uint32_t *out)
{
	char q[CFG_QUOTE_MAX + 1];
	unsigned long long n = 0, mult = 1;
	const char *s;
	size_t i = 0;

	if (json_is_integer(v)) {
		long long x;

		if (!cfg_int(c, where, v, 0, 0x7fffffff, &x))
			return false;
		*out = (uint32_t)x;
		return true;
	}
	if ((s = cfg_str(c, where, v, 24)) == NULL)
		return false;
	for (; s[i] >= '0' && s[i] <= '9' && n < 0xffffffffull; i++)
		n = n * 10 + (unsigned long long)(s[i] - '0');
	if (i > 0 && s[i] != '\0' && s[i + 1] == '\0')
		switch (s[i]) {
		case 's': mult = 1; i++; break;
		case 'm': mult = 60; i++; break;
		case 'h': mult = 3600; i++; break;
		case 'd': mult = 86400; i++; break;
		default: break;
		}
	if (i == 0 || s[i] != '\0' || n * mult > 0x7fffffffull) {
		cfg_err(c, where, "%s is not a duration (seconds, or a number "
		    "and s, m, h or d: \"30s\", \"4h\")",
		    json_quote(v, q, sizeof(q)));
		return false;
	}
	*out = (uint32_t)(n * mult);
	return true;
}

/* swanctl lists: a JSON array of strings, or one string (commas split it
 * as swanctl.conf would). */
static unsigned
cfg_str_list(struct cfg_ctx *c, const char *where, const json_t *v,
    char (*out)[HG_CFG_IKE_PROP_LEN], unsigned max)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	unsigned n = 0;
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		while (*s != '\0') {
			size_t len = strcspn(s, ",");
			const char *t = s;

			while (len > 0 && (*t == ' ' || *t == '\t')) {
				t++;
				len--;
			}
			while (len > 0 && (t[len - 1] == ' ' ||
			    t[len - 1] == '\t'))
				len--;
			if (len == 0 || len >= HG_CFG_IKE_PROP_LEN ||
			    n == max) {
				cfg_err(c, where, "%s", len == 0 ? "an empty "
				    "item in the list" : n == max ?
				    "too many items in the list" : "an item "
				    "is too long");
				return n;
			}
			memcpy(out[n], t, len);
			out[n++][len] = '\0';
			s += strcspn(s, ",");
			if (*s == ',')
				s++;
		}
		return n;
	}
	if (!cfg_expect(c, where, v, JSON_ARRAY, "an array of strings"))
		return 0;
	if (json_array_size(v) > max) {
		cfg_err(c, where, "%zu items; at most %u", json_array_size(v),
		    max);
		return 0;
	}
	json_array_foreach(v, i, e) {
		const char *s;

		ptr_idx(p, sizeof(p), where, i);
		if ((s = cfg_str(c, p, e, HG_CFG_IKE_PROP_LEN - 1)) != NULL)
			snprintf(out[n++], HG_CFG_IKE_PROP_LEN, "%s", s);
	}
	return n;
}

/* One address of local_addrs or remote_addrs (one only, for now). */
static void
cfg_ike_addrs(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_addr *out, bool any_ok)
{
	char list[2][HG_CFG_IKE_PROP_LEN];
	unsigned n = cfg_str_list(c, where, v, list, 2);
	json_t *s;

	if (n == 0)
		return;
	if (n == 1 && strcmp(list[0], "%any") == 0 && any_ok) {
		memset(out, 0, sizeof(*out));	/* family 0: any */
		return;
	}
	if (n > 1 || strcmp(list[0], "%any") == 0) {
		cfg_err(c, where, "one address, please%s: several addresses "
		    "are not supported yet", any_ok ? " (or %any)" : "");
		return;
	}
	s = json_string(list[0]);
	if (s != NULL)
		(void)cfg_unicast_addr(c, where, s, out);
	json_decref(s);
}

/*
 * local or remote: auth (psk, or pubkey: certificates), an identity, and
 * for pubkey the files: local certs and key, remote cacerts.
 */
static void
cfg_ike_end(struct cfg_ctx *c, const char *where, const json_t *obj,
    bool local, struct hg_cfg_ike_conn *ic)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;
	bool pubkey = false;

	if (!cfg_check_object(c, where, obj, end_keys))
		return;
	if ((v = json_object_get(obj, "auth")) != NULL) {
		ptr_key(p, sizeof(p), where, "auth");
		if ((s = cfg_str(c, p, v, 16)) == NULL)
			;
		else if (strcmp(s, "pubkey") == 0)
			pubkey = true;
		else if (strcmp(s, "psk") != 0)
			cfg_err(c, p, "%s: psk or pubkey (EAP and XAUTH are "
			    "not supported)", json_quote(v, q, sizeof(q)));
	}
	if ((v = json_object_get(obj, "id")) != NULL) {
		ptr_key(p, sizeof(p), where, "id");
		if ((s = cfg_str(c, p, v, HG_CFG_IKE_ID_LEN - 1)) != NULL)
			snprintf(local ? ic->local_id : ic->remote_id,
			    HG_CFG_IKE_ID_LEN, "%s", s);
	}
	/* Each file on its side, as in swanctl. */
	for (int k = 0; k < 3; k++) {
		static const char *const key[] = { "cacerts", "certs", "key" };

		if ((k == 0) != local || json_object_get(obj, key[k]) == NULL)
			continue;
		ptr_key(p, sizeof(p), where, key[k]);
		cfg_err(c, p, "%s", local ? "cacerts go in remote: the CAs "
		    "the peer's certificate must chain to" : "our certificate "
		    "and its key go in local");
		return;
	}
	if (local) {
		if ((v = json_object_get(obj, "certs")) != NULL) {
			ptr_key(p, sizeof(p), where, "certs");
			ic->n_certs = (uint8_t)cfg_str_list(c, p, v, ic->certs,
			    HG_CFG_IKE_CERTS_MAX);
		}
		if ((v = json_object_get(obj, "key")) != NULL) {
			ptr_key(p, sizeof(p), where, "key");
			if ((s = cfg_str(c, p, v, HG_CFG_IKE_PROP_LEN - 1)) !=
			    NULL)
				snprintf(ic->key, sizeof(ic->key), "%s", s);
		}
		ic->local_pubkey = pubkey;
		if (pubkey && ic->n_certs == 0)
			cfg_err(c, where, "auth pubkey needs certs: our "
			    "certificate's PEM file");
		else if (pubkey && ic->key[0] == '\0')
			cfg_err(c, where, "auth pubkey needs key: the PEM file "
			    "of our certificate's private key");
		else if (!pubkey && (ic->n_certs != 0 || ic->key[0] != '\0'))
			cfg_err(c, where, "certs and key are for auth pubkey");
	} else {
		if ((v = json_object_get(obj, "cacerts")) != NULL) {
			ptr_key(p, sizeof(p), where, "cacerts");
			ic->n_cacerts = (uint8_t)cfg_str_list(c, p, v,
			    ic->cacerts, HG_CFG_IKE_CERTS_MAX);
		}
		ic->remote_pubkey = pubkey;
		if (pubkey && ic->n_cacerts == 0)
			cfg_err(c, where, "auth pubkey needs cacerts: the CAs "
			    "the peer's certificate must chain to");
		else if (!pubkey && ic->n_cacerts != 0)
			cfg_err(c, where, "cacerts are for auth pubkey");
	}
}

static void
cfg_ike_child(struct cfg_ctx *c, const char *where, const json_t *obj,
    struct hg_cfg_ike_conn *ic, struct hg_cfg_ike_child *ch)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	enum hg_cfg_dpd_action dpd = HG_CFG_DPD_CLEAR;	/* swanctl's */
	const json_t *v;
	const char *s;

	ch->rekey_time_s = 3600;		/* swanctl's default */
	if (!cfg_check_object(c, where, obj, child_keys))
		return;
	if ((v = cfg_required(c, where, obj, "local_ts")) != NULL) {
		ptr_key(p, sizeof(p), where, "local_ts");
		cfg_tunnel_subnets(c, p, v, ch->local_ts, &ch->n_local);
	}
	if ((v = cfg_required(c, where, obj, "remote_ts")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote_ts");
		cfg_tunnel_subnets(c, p, v, ch->remote_ts, &ch->n_remote);
	}
	if ((v = json_object_get(obj, "esp_proposals")) != NULL) {
		ptr_key(p, sizeof(p), where, "esp_proposals");
		ch->n_esp_props = (uint8_t)cfg_str_list(c, p, v, ch->esp_props,
		    HG_CFG_IKE_PROPS_MAX);
	}
	if ((v = json_object_get(obj, "start_action")) != NULL) {
		ptr_key(p, sizeof(p), where, "start_action");
		if ((s = cfg_str(c, p, v, 16)) == NULL)
			;
		else if (strcmp(s, "none") == 0)
			;
		else if (strcmp(s, "trap") == 0)
			ic->start_action = HG_MAX(ic->start_action,
			    HG_CFG_START_TRAP);
		else if (strcmp(s, "start") == 0)
			ic->start_action = HG_CFG_START_START;
		else
			cfg_err(c, p, "%s: none, trap or start",
			    json_quote(v, q, sizeof(q)));
	}
	if ((v = json_object_get(obj, "dpd_action")) != NULL) {
		ptr_key(p, sizeof(p), where, "dpd_action");
		if ((s = cfg_str(c, p, v, 16)) == NULL)
			;
		else if (strcmp(s, "none") == 0)
			dpd = HG_CFG_DPD_NONE;
		else if (strcmp(s, "clear") == 0)
			dpd = HG_CFG_DPD_CLEAR;
		else if (strcmp(s, "restart") == 0)
			dpd = HG_CFG_DPD_RESTART;
		else
			cfg_err(c, p, "%s: none, clear or restart (trap is "
			    "not supported yet)", json_quote(v, q, sizeof(q)));
	}
	if ((v = json_object_get(obj, "close_action")) != NULL) {
		ptr_key(p, sizeof(p), where, "close_action");
		if ((s = cfg_str(c, p, v, 16)) != NULL && strcmp(s, "none") != 0)
			cfg_err(c, p, "%s: only none is supported yet",
			    json_quote(v, q, sizeof(q)));
	}
	if ((v = json_object_get(obj, "mode")) != NULL) {
		ptr_key(p, sizeof(p), where, "mode");
		if ((s = cfg_str(c, p, v, 16)) != NULL &&
		    strcmp(s, "tunnel") != 0)
			cfg_err(c, p, "%s: hexgate's child SAs are tunnel mode",
			    json_quote(v, q, sizeof(q)));
	}
	if ((v = json_object_get(obj, "rekey_time")) != NULL) {
		ptr_key(p, sizeof(p), where, "rekey_time");
		(void)cfg_duration(c, p, v, &ch->rekey_time_s);
	}
	if ((v = json_object_get(obj, "life_time")) != NULL) {
		ptr_key(p, sizeof(p), where, "life_time");
		(void)cfg_duration(c, p, v, &ch->life_time_s);
	}
	ic->dpd_action = HG_MAX(ic->dpd_action, dpd);
}

/* p appended to set[*n] unless it is there; false when there is no
 * room. */
static bool
prefix_join(struct hg_prefix *set, uint8_t *n, const struct hg_prefix *p)
{
	for (uint8_t i = 0; i < *n; i++)
		if (memcmp(&set[i], p, sizeof(*p)) == 0)
			return true;
	if (*n == HG_CFG_ADDR_MAX)
		return false;
	set[(*n)++] = *p;
	return true;
}

/* The tunnel's selectors: its children's together (what is routed to
 * it and what may pass at all; each child SA keeps to its own). */
static void
ike_children_join(struct cfg_ctx *c, const char *where,
    const struct hg_cfg_ike_conn *ic, struct hg_cfg_tunnel *tn)
{
	bool room = true;

	for (uint8_t k = 0; k < ic->n_children; k++) {
		const struct hg_cfg_ike_child *ch = &ic->children[k];

		for (uint8_t i = 0; i < ch->n_local; i++)
			room &= prefix_join(tn->local_subnets, &tn->n_local,
			    &ch->local_ts[i]);
		for (uint8_t i = 0; i < ch->n_remote; i++)
			room &= prefix_join(tn->remote_subnets, &tn->n_remote,
			    &ch->remote_ts[i]);
	}
	if (!room)
		cfg_err(c, where, "the children's selectors together are "
		    "more than %d subnets a side", HG_CFG_ADDR_MAX);
}

/* The first name ipsecN no interface has. */
static void
ike_if_name(struct cfg_ctx *c, char *name, size_t len)
{
	for (unsigned n = 0;; n++) {
		snprintf(name, len, "ipsec%u", n);
		if (cfg_if_find(c->cfg, name) < 0)
			return;
	}
}

static void
cfg_ike_conn(struct cfg_ctx *c, const char *where, const char *name,
    const json_t *obj)
{
	struct hg_cfg_ike_conn *ic = &c->cfg->ike[c->cfg->n_ike];
	struct hg_cfg_tunnel *tn = &c->cfg->tunnels[c->cfg->n_tunnels];
	struct hg_cfg_if *ifc = &c->cfg->ifs[c->cfg->n_ifs];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *key;
	json_t *ch;
	long long n;
	bool name_ok = true;

	if (!cfg_check_object(c, where, obj, conn_keys))
		return;
	if (strlen(name) >= HG_CFG_IKE_NAME_LEN || name[0] == '\0') {
		cfg_err(c, where, "a connection's name is 1 to %d bytes",
		    HG_CFG_IKE_NAME_LEN - 1);
		return;
	}
	if (c->cfg->n_tunnels == HG_CFG_TUNNEL_MAX ||
	    c->cfg->n_ifs == HG_CFG_IF_MAX) {
		cfg_err(c, where, "no room for its tunnel interface: at most "
		    "%d tunnels and %d interfaces", HG_CFG_TUNNEL_MAX,
		    HG_CFG_IF_MAX);
		return;
	}
	memset(ic, 0, sizeof(*ic));
	memset(tn, 0, sizeof(*tn));
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ic->name, sizeof(ic->name), "%s", name);
	ic->local_port = ic->remote_port = 500;
	ic->rekey_time_s = 4 * 3600;		/* swanctl's default */
	ic->dpd_action = HG_CFG_DPD_NONE;	/* the children's */
	tn->mss_clamp = HG_CFG_MSS_AUTO;
	tn->policy = true;
	tn->remote_port = 4500;
	tn->ike = true;
	tn->ike_conn = c->cfg->n_ike;
	ifc->mtu_bytes = CFG_TUNNEL_MTU_DEFAULT;
	ifc->tunnel = true;
	snprintf(ifc->port, sizeof(ifc->port), "null");
	if ((v = json_object_get(obj, "version")) != NULL) {
		ptr_key(p, sizeof(p), where, "version");
		if (cfg_int(c, p, v, 0, 2, &n) && n == 1)
			cfg_err(c, p, "IKEv1 is not supported: version 2 (or "
			    "0, any, which is 2 here)");
	}
	if ((v = json_object_get(obj, "if_name")) != NULL) {
		ptr_key(p, sizeof(p), where, "if_name");
		name_ok = cfg_if_name(c, p, v, ifc);
	} else
		ike_if_name(c, ifc->name, sizeof(ifc->name));
	if ((v = cfg_required(c, where, obj, "local_addrs")) != NULL) {
		ptr_key(p, sizeof(p), where, "local_addrs");
		cfg_ike_addrs(c, p, v, &tn->local, false);
	}
	if ((v = cfg_required(c, where, obj, "remote_addrs")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote_addrs");
		cfg_ike_addrs(c, p, v, &tn->remote, true);
		if (tn->local.family != 0 && tn->remote.family != 0 &&
		    tn->local.family != tn->remote.family)
			cfg_err(c, p, "local_addrs and remote_addrs must be of "
			    "one family");
	}
	if ((v = json_object_get(obj, "local_port")) != NULL) {
		ptr_key(p, sizeof(p), where, "local_port");
		if (cfg_int(c, p, v, 1, 65535, &n)) {
			if (n != 500)
				cfg_err(c, p, "only 500 is supported yet");
			ic->local_port = (uint16_t)n;
		}
	}
	if ((v = json_object_get(obj, "remote_port")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote_port");
		if (cfg_int(c, p, v, 1, 65535, &n))
			ic->remote_port = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "proposals")) != NULL) {
		ptr_key(p, sizeof(p), where, "proposals");
		ic->n_props = (uint8_t)cfg_str_list(c, p, v, ic->props,
		    HG_CFG_IKE_PROPS_MAX);
	}
	if ((v = json_object_get(obj, "encap")) != NULL) {
		ptr_key(p, sizeof(p), where, "encap");
		if (cfg_expect(c, p, v, JSON_TRUE, "a boolean"))
			ic->encap = json_is_true(v);
	}
	if ((v = json_object_get(obj, "dpd_delay")) != NULL) {
		ptr_key(p, sizeof(p), where, "dpd_delay");
		(void)cfg_duration(c, p, v, &ic->dpd_delay_s);
	}
	if ((v = json_object_get(obj, "rekey_time")) != NULL) {
		ptr_key(p, sizeof(p), where, "rekey_time");
		(void)cfg_duration(c, p, v, &ic->rekey_time_s);
	}
	if ((v = json_object_get(obj, "reauth_time")) != NULL) {
		ptr_key(p, sizeof(p), where, "reauth_time");
		(void)cfg_duration(c, p, v, &ic->reauth_time_s);
	}
	if ((v = json_object_get(obj, "fragmentation")) != NULL) {
		static const char *const modes[] = {
			[HG_CFG_FRAG_YES] = "yes", [HG_CFG_FRAG_ACCEPT] = "accept",
			[HG_CFG_FRAG_FORCE] = "force", [HG_CFG_FRAG_NO] = "no",
		};
		const char *s;
		unsigned i;

		ptr_key(p, sizeof(p), where, "fragmentation");
		if ((s = cfg_str(c, p, v, 16)) != NULL) {
			for (i = 0; i < HG_ARRAY_SIZE(modes); i++)
				if (strcmp(s, modes[i]) == 0)
					break;
			if (i < HG_ARRAY_SIZE(modes))
				ic->fragmentation = (enum hg_cfg_frag)i;
			else
				cfg_err(c, p, "%s: yes, accept, force or no",
				    json_quote(v, q, sizeof(q)));
		}
	}
	if ((v = json_object_get(obj, "mtu")) != NULL) {
		ptr_key(p, sizeof(p), where, "mtu");
		if (cfg_int(c, p, v, 576, CFG_MTU_MAX - 100, &n))
			ifc->mtu_bytes = (uint16_t)n;
	}
	if ((v = json_object_get(obj, "local")) != NULL) {
		ptr_key(p, sizeof(p), where, "local");
		cfg_ike_end(c, p, v, true, ic);
	}
	if ((v = json_object_get(obj, "remote")) != NULL) {
		ptr_key(p, sizeof(p), where, "remote");
		cfg_ike_end(c, p, v, false, ic);
	}
	if ((v = cfg_required(c, where, obj, "children")) != NULL) {
		ptr_key(p, sizeof(p), where, "children");
		if (!cfg_expect(c, p, v, JSON_OBJECT, "an object of children"))
			;
		else if (json_object_size(v) == 0 ||
		    json_object_size(v) > HG_CFG_IKE_CHILDREN_MAX)
			cfg_err(c, p, "%zu children; a connection has 1 to %d",
			    json_object_size(v), HG_CFG_IKE_CHILDREN_MAX);
		else {
			json_object_foreach((json_t *)v, key, ch) {
				struct hg_cfg_ike_child *chc =
				    &ic->children[ic->n_children++];
				char cp[sizeof(p)];

				ptr_key(cp, sizeof(cp), p, key);
				if (strlen(key) >= HG_CFG_IKE_NAME_LEN)
					cfg_err(c, cp, "a child's name is at "
					    "most %d bytes",
					    HG_CFG_IKE_NAME_LEN - 1);
				else
					snprintf(chc->name, sizeof(chc->name),
					    "%s", key);
				cfg_ike_child(c, cp, ch, ic, chc);
			}
			ike_children_join(c, p, ic, tn);
		}
	}
	(void)q;
	if (tn->remote.family == 0 && ic->start_action == HG_CFG_START_START &&
	    json_object_get(obj, "remote_addrs") != NULL)
		cfg_err(c, where, "start_action start with remote_addrs "
		    "%%any: there is no address to initiate to (a connection "
		    "to %%any only responds)");
	if (!name_ok)
		return;
	ic->tunnel = c->cfg->n_tunnels;
	memcpy(tn->name, ifc->name, sizeof(tn->name));
	tn->if_idx = c->cfg->n_ifs;
	c->if_json_idx[c->cfg->n_ifs] = -1 - (int)c->cfg->n_tunnels;
	c->cfg->n_ifs++;
	c->cfg->n_tunnels++;
	c->cfg->n_ike++;
}

static void
cfg_ike_secret(struct cfg_ctx *c, const char *where, const char *name,
    const json_t *obj)
{
	struct hg_cfg_ike_secret *s = &c->cfg->ike_secrets[c->cfg->n_ike_secrets];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const char *key, *t;
	json_t *v;

	if (!cfg_expect(c, where, obj, JSON_OBJECT, "an object"))
		return;
	memset(s, 0, sizeof(*s));
	if (strncmp(name, "ike", 3) != 0 || strlen(name) >= sizeof(s->name)) {
		cfg_err(c, where, "secrets are named ike or ike-NAME (IKE "
		    "pre-shared keys), at most %zu bytes", sizeof(s->name) - 1);
		return;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	json_object_foreach((json_t *)obj, key, v) {
		ptr_key(p, sizeof(p), where, key);
		if (strcmp(key, "secret") == 0) {
			if ((t = cfg_str(c, p, v, sizeof(s->secret) - 1)) !=
			    NULL)
				snprintf(s->secret, sizeof(s->secret), "%s", t);
		} else if (strcmp(key, "id") == 0 ||
		    strncmp(key, "id-", 3) == 0) {
			if (s->n_ids == HG_CFG_IKE_SECRET_IDS) {
				cfg_err(c, p, "at most %d identities per "
				    "secret", HG_CFG_IKE_SECRET_IDS);
				continue;
			}
			if ((t = cfg_str(c, p, v, HG_CFG_IKE_ID_LEN - 1)) !=
			    NULL)
				snprintf(s->ids[s->n_ids++], HG_CFG_IKE_ID_LEN,
				    "%s", t);
		} else
			cfg_err(c, p, "unknown key (allowed: id, id-SUFFIX, "
			    "secret)");
	}
	if (s->secret[0] == '\0') {
		cfg_err(c, where, "missing required key \"secret\"");
		return;
	}
	c->cfg->n_ike_secrets++;
}

static void
cfg_ipsec(struct cfg_ctx *c, const json_t *obj)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v;
	const char *key;
	json_t *e;

	if (!cfg_check_object(c, "/ipsec", obj, ipsec_keys))
		return;
	if ((v = json_object_get(obj, "connections")) != NULL &&
	    cfg_expect(c, "/ipsec/connections", v, JSON_OBJECT,
	    "an object of connections")) {
		if (json_object_size(v) > HG_CFG_IKE_MAX)
			cfg_err(c, "/ipsec/connections", "%zu connections; at "
			    "most %d", json_object_size(v), HG_CFG_IKE_MAX);
		else
			json_object_foreach((json_t *)v, key, e) {
				ptr_key(p, sizeof(p), "/ipsec/connections",
				    key);
				cfg_ike_conn(c, p, key, e);
			}
	}
	if ((v = json_object_get(obj, "secrets")) != NULL &&
	    cfg_expect(c, "/ipsec/secrets", v, JSON_OBJECT,
	    "an object of secrets")) {
		if (json_object_size(v) > HG_CFG_IKE_MAX)
			cfg_err(c, "/ipsec/secrets", "%zu secrets; at most %d",
			    json_object_size(v), HG_CFG_IKE_MAX);
		else
			json_object_foreach((json_t *)v, key, e) {
				ptr_key(p, sizeof(p), "/ipsec/secrets", key);
				cfg_ike_secret(c, p, key, e);
			}
	}
}

/* --- overlay: WireGuard's protocol (issue 16) ----------------------- */

static const char *const overlay_keys[] = {
	"interface", "listen_port", "private_key_file", "addresses", "mtu",
	"endpoint", "dns", "client_networks", "clients", "peers", NULL
};
static const char *const wg_client_keys[] = {
	"name", "public_key", "addresses", "preshared_key", "enabled", NULL
};
static const char *const wg_peer_keys[] = {
	"name", "public_key", "endpoint", "allowed_ips",
	"persistent_keepalive", "preshared_key", NULL
};

int
hg_endpoint_parse(const char *s, struct hg_addr *a, uint16_t *port)
{
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    strchr(s, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || n < 1 ||
	    n > 65535)
		return -EINVAL;
	if (hg_addr_parse(host, a) < 0 || (s[0] == '[') !=
	    (a->family == AF_INET6))
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

/* A peer's name: 1 to 63 of letters, digits, '.', '_' and '-'. */
static bool
cfg_wg_name(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_wg_peer *wp)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;

	if ((s = cfg_str(c, where, v, HG_CFG_IKE_NAME_LEN - 1)) == NULL)
		return false;
	for (const char *t = s; *t != '\0'; t++)
		if (!(*t >= 'a' && *t <= 'z') && !(*t >= 'A' && *t <= 'Z') &&
		    !(*t >= '0' && *t <= '9') && *t != '.' && *t != '_' &&
		    *t != '-') {
			cfg_err(c, where, "%s: a name is letters, digits, "
			    "'.', '_' and '-'", json_quote(v, q, sizeof(q)));
			return false;
		}
	for (uint16_t k = 0; k < c->cfg->overlay.n_peers; k++)
		if (strcmp(c->cfg->overlay.peers[k].name, s) == 0) {
			cfg_err(c, where, "%s is already the name of another "
			    "%s", json_quote(v, q, sizeof(q)),
			    c->cfg->overlay.peers[k].client ? "client" :
			    "peer");
			return false;
		}
	snprintf(wp->name, sizeof(wp->name), "%s", s);
	return true;
}

static void
cfg_wg_pubkey(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_wg_peer *wp)
{
	char q[CFG_QUOTE_MAX + 1];
	const char *s;

	if ((s = cfg_str(c, where, v, 64)) == NULL)
		return;
	if (hg_base64_decode_exact(s, wp->pub, sizeof(wp->pub)) != 0) {
		cfg_err(c, where, "%s is not a WireGuard public key (the 44 "
		    "characters of base64 that wg pubkey prints)",
		    json_quote(v, q, sizeof(q)));
		return;
	}
	for (uint16_t k = 0; k < c->cfg->overlay.n_peers; k++)
		if (memcmp(c->cfg->overlay.peers[k].pub, wp->pub, 32) == 0)
			cfg_err(c, where, "the same public key as %s %s: a "
			    "key is one peer", c->cfg->overlay.peers[k].client ?
			    "client" : "peer", c->cfg->overlay.peers[k].name);
}

static void
cfg_wg_psk(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_cfg_wg_peer *wp)
{
	uint8_t k[32];
	const char *s;

	if ((s = cfg_str(c, where, v, sizeof(wp->psk) - 1)) == NULL)
		return;
	if (strncmp(s, "hgsec1:", 7) != 0 &&
	    hg_base64_decode_exact(s, k, sizeof(k)) != 0) {
		cfg_err(c, where, "a preshared key is 44 characters of "
		    "base64 (wg genpsk) or an hgsec1: sealed token");
		return;
	}
	snprintf(wp->psk, sizeof(wp->psk), "%s", s);
}

/* Prefixes into wp->allowed; host_only: a client's addresses, each one
 * address (a bare address, or /32 and /128) inside the overlay's
 * subnets and not the appliance's own. */
static void
cfg_wg_allowed(struct cfg_ctx *c, const char *where, const json_t *arr,
    struct hg_cfg_wg_peer *wp, bool host_only)
{
	const struct hg_cfg_if *ifc = &c->cfg->ifs[c->cfg->overlay.if_idx];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1], pf[INET6_ADDRSTRLEN + 4];
	struct hg_prefix pr;
	size_t i;
	json_t *v;

	if (!cfg_expect(c, where, arr, JSON_ARRAY, "an array of prefixes"))
		return;
	if (json_array_size(arr) > HG_CFG_WG_ALLOWED_MAX) {
		cfg_err(c, where, "%zu prefixes; a peer has at most %d",
		    json_array_size(arr), HG_CFG_WG_ALLOWED_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		const char *s;

		ptr_idx(p, sizeof(p), where, i);
		if (host_only && (s = json_string_value(v)) != NULL &&
		    strchr(s, '/') == NULL) {
			if (!cfg_unicast_addr(c, p, v, &pr.a))
				continue;
			pr.len_bits = (uint8_t)addr_max_len_bits(&pr.a);
		} else if (!cfg_prefix(c, p, v, &pr))
			continue;
		if (host_only) {
			bool inside = false;

			if (pr.len_bits != addr_max_len_bits(&pr.a)) {
				cfg_err(c, p, "%s: a client has one address "
				    "of each family (/32, /128)",
				    json_quote(v, q, sizeof(q)));
				continue;
			}
			for (unsigned k = 0; k < ifc->n_addrs; k++) {
				struct hg_prefix net = ifc->addrs[k];
				struct hg_prefix a = pr;

				if (memcmp(&net.a, &pr.a, sizeof(pr.a)) == 0) {
					cfg_err(c, p, "%s is the appliance's "
					    "own overlay address",
					    json_quote(v, q, sizeof(q)));
					inside = true;
					break;
				}
				a.len_bits = net.len_bits;
				(void)prefix_clear_host_bits(&net);
				(void)prefix_clear_host_bits(&a);
				if (memcmp(&net, &a, sizeof(a)) == 0)
					inside = true;
			}
			if (!inside) {
				cfg_err(c, p, "%s is outside the overlay's "
				    "subnets (/overlay/addresses)",
				    json_quote(v, q, sizeof(q)));
				continue;
			}
		} else if (prefix_clear_host_bits(&pr)) {
			cfg_err(c, p, "%s has host bits set (did you mean "
			    "%s?)", json_quote(v, q, sizeof(q)),
			    prefix_fmt(&pr, pf, sizeof(pf)));
			continue;
		}
		/* The same prefix in two peers: which would it go to? */
		for (uint16_t k = 0; k <= c->cfg->overlay.n_peers; k++) {
			const struct hg_cfg_wg_peer *o =
			    k < c->cfg->overlay.n_peers ?
			    &c->cfg->overlay.peers[k] : wp;

			for (uint8_t j = 0; j < o->n_allowed; j++)
				if (memcmp(&o->allowed[j], &pr,
				    sizeof(pr)) == 0) {
					cfg_err(c, p, "%s is already %s's",
					    prefix_fmt(&pr, pf, sizeof(pf)),
					    o == wp ? "this peer" : o->name);
					goto next;
				}
		}
		wp->allowed[wp->n_allowed++] = pr;
next:		;
	}
}

static void
cfg_wg_peer(struct cfg_ctx *c, const char *where, const json_t *obj,
    bool client)
{
	struct hg_cfg_overlay *ov = &c->cfg->overlay;
	struct hg_cfg_wg_peer *wp = &ov->peers[ov->n_peers];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;
	long long n;
	bool ok;

	memset(wp, 0, sizeof(*wp));
	wp->client = client;
	wp->enabled = true;
	if (!cfg_check_object(c, where, obj, client ? wg_client_keys :
	    wg_peer_keys))
		return;
	ok = (v = cfg_required(c, where, obj, "name")) != NULL;
	if (ok) {
		ptr_key(p, sizeof(p), where, "name");
		ok = cfg_wg_name(c, p, v, wp);
	}
	if ((v = cfg_required(c, where, obj, "public_key")) != NULL) {
		ptr_key(p, sizeof(p), where, "public_key");
		cfg_wg_pubkey(c, p, v, wp);
	}
	if ((v = json_object_get(obj, "preshared_key")) != NULL) {
		ptr_key(p, sizeof(p), where, "preshared_key");
		cfg_wg_psk(c, p, v, wp);
	}
	if ((v = cfg_required(c, where, obj, client ? "addresses" :
	    "allowed_ips")) != NULL) {
		ptr_key(p, sizeof(p), where, client ? "addresses" :
		    "allowed_ips");
		cfg_wg_allowed(c, p, v, wp, client);
		if (client) {
			bool fam[2] = { false, false };

			for (uint8_t k = 0; k < wp->n_allowed; k++) {
				bool *f = &fam[wp->allowed[k].a.family ==
				    AF_INET6];

				if (*f)
					cfg_err(c, p, "a client has one "
					    "address of each family");
				*f = true;
			}
		}
	}
	if ((v = json_object_get(obj, "enabled")) != NULL) {
		ptr_key(p, sizeof(p), where, "enabled");
		if (cfg_expect(c, p, v, JSON_TRUE, "a boolean"))
			wp->enabled = json_is_true(v);
	}
	if ((v = json_object_get(obj, "endpoint")) != NULL) {
		ptr_key(p, sizeof(p), where, "endpoint");
		if ((s = cfg_str(c, p, v, 128)) != NULL &&
		    hg_endpoint_parse(s, &wp->endpoint,
		    &wp->endpoint_port) != 0) {
			memset(&wp->endpoint, 0, sizeof(wp->endpoint));
			cfg_err(c, p, "%s is not ADDRESS:PORT (an IPv6 "
			    "address in brackets: [2001:db8::1]:51820)",
			    json_quote(v, q, sizeof(q)));
		}
	}
	if ((v = json_object_get(obj, "persistent_keepalive")) != NULL) {
		ptr_key(p, sizeof(p), where, "persistent_keepalive");
		if (cfg_int(c, p, v, 0, 65535, &n))
			wp->keepalive_s = (uint16_t)n;
	}
	if (ok)
		ov->n_peers++;
}

static void
cfg_wg_peers(struct cfg_ctx *c, const char *where, const json_t *arr,
    bool client)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, where, arr, JSON_ARRAY, client ?
	    "an array of clients" : "an array of peers"))
		return;
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), where, i);
		if (c->cfg->overlay.n_peers == HG_CFG_WG_PEERS_MAX) {
			cfg_err(c, p, "at most %d clients and peers together",
			    HG_CFG_WG_PEERS_MAX);
			return;
		}
		cfg_wg_peer(c, p, v, client);
	}
}

/*
 * The overlay: its interface (tun0 unless named, port "null", the
 * overlay's addresses), the listen port, our key's file, what clientpacks
 * say, then its clients and site peers.
 */
static void
cfg_overlay(struct cfg_ctx *c, const json_t *obj)
{
	struct hg_cfg_overlay *ov = &c->cfg->overlay;
	struct hg_cfg_if *ifc = &c->cfg->ifs[c->cfg->n_ifs];
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;
	long long n;
	size_t i;
	json_t *e;

	if (!cfg_check_object(c, "/overlay", obj, overlay_keys))
		return;
	if (c->cfg->n_ifs == HG_CFG_IF_MAX) {
		cfg_err(c, "/overlay", "no room for its interface: at most %d "
		    "interfaces and tunnels together", HG_CFG_IF_MAX);
		return;
	}
	memset(ifc, 0, sizeof(*ifc));
	ifc->mtu_bytes = HG_CFG_WG_MTU_DEFAULT;
	ifc->overlay = true;
	snprintf(ifc->port, sizeof(ifc->port), "null");
	ov->port = HG_CFG_WG_PORT_DEFAULT;
	snprintf(ov->key_file, sizeof(ov->key_file), "overlay.key");
	if ((v = json_object_get(obj, "interface")) != NULL) {
		if (!cfg_if_name(c, "/overlay/interface", v, ifc))
			return;
	} else {
		json_t *t = json_string("tun0");

		if (t == NULL || !cfg_if_name(c, "/overlay/interface", t,
		    ifc)) {
			json_decref(t);
			return;
		}
		json_decref(t);
	}
	if ((v = json_object_get(obj, "mtu")) != NULL &&
	    cfg_int(c, "/overlay/mtu", v, 576, CFG_MTU_MAX - 80, &n))
		ifc->mtu_bytes = (uint16_t)n;
	if ((v = cfg_required(c, "/overlay", obj, "addresses")) != NULL) {
		cfg_if_addrs(c, "/overlay/addresses", v, ifc);
		if (json_is_array(v) && json_array_size(v) == 0)
			cfg_err(c, "/overlay/addresses", "the overlay needs "
			    "its subnet: the appliance's address in it, such "
			    "as 10.99.0.1/24");
	}
	ov->if_idx = c->cfg->n_ifs;
	c->if_json_idx[c->cfg->n_ifs] = CFG_IF_OVERLAY;
	c->cfg->n_ifs++;
	ov->enabled = true;
	if ((v = json_object_get(obj, "listen_port")) != NULL &&
	    cfg_int(c, "/overlay/listen_port", v, 1, 65535, &n)) {
		ov->port = (uint16_t)n;
		if (n == 500 || n == 4500)
			cfg_err(c, "/overlay/listen_port", "%lld is IKE's", n);
	}
	if ((v = json_object_get(obj, "private_key_file")) != NULL &&
	    (s = cfg_str(c, "/overlay/private_key_file", v,
	    sizeof(ov->key_file) - 1)) != NULL)
		snprintf(ov->key_file, sizeof(ov->key_file), "%s", s);
	if ((v = json_object_get(obj, "endpoint")) != NULL &&
	    (s = cfg_str(c, "/overlay/endpoint", v,
	    sizeof(ov->endpoint) - 1)) != NULL) {
		const char *colon = strrchr(s, ':');
		char *end;
		long port;

		port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
		if (colon == NULL || colon == s || colon[1] == '\0' ||
		    *end != '\0' || port < 1 || port > 65535 ||
		    strpbrk(s, " \t\n\"'") != NULL)
			cfg_err(c, "/overlay/endpoint", "%s: the HOST:PORT "
			    "clients reach the overlay at (a name, an IPv4 "
			    "address, or an IPv6 one in brackets)",
			    json_quote(v, q, sizeof(q)));
		else
			snprintf(ov->endpoint, sizeof(ov->endpoint), "%s", s);
	}
	if ((v = json_object_get(obj, "dns")) != NULL &&
	    cfg_expect(c, "/overlay/dns", v, JSON_ARRAY,
	    "an array of addresses")) {
		if (json_array_size(v) > HG_CFG_WG_DNS_MAX)
			cfg_err(c, "/overlay/dns", "at most %d servers",
			    HG_CFG_WG_DNS_MAX);
		else
			json_array_foreach(v, i, e) {
				ptr_idx(p, sizeof(p), "/overlay/dns", i);
				if (cfg_unicast_addr(c, p, e,
				    &ov->dns[ov->n_dns]))
					ov->n_dns++;
			}
	}
	if ((v = json_object_get(obj, "client_networks")) != NULL &&
	    cfg_expect(c, "/overlay/client_networks", v, JSON_ARRAY,
	    "an array of prefixes")) {
		if (json_array_size(v) > HG_CFG_WG_ALLOWED_MAX)
			cfg_err(c, "/overlay/client_networks", "at most %d "
			    "networks", HG_CFG_WG_ALLOWED_MAX);
		else
			json_array_foreach(v, i, e) {
				ptr_idx(p, sizeof(p),
				    "/overlay/client_networks", i);
				if (cfg_prefix(c, p, e, &ov->offer[ov->n_offer]))
				    ov->n_offer++;
			}
	}
	ov->peers = calloc(HG_CFG_WG_PEERS_MAX, sizeof(*ov->peers));
	if (ov->peers == NULL) {
		cfg_err(c, "/overlay", "out of memory");
		return;
	}
	if ((v = json_object_get(obj, "clients")) != NULL)
		cfg_wg_peers(c, "/overlay/clients", v, true);
	if ((v = json_object_get(obj, "peers")) != NULL)
		cfg_wg_peers(c, "/overlay/peers", v, false);
}

/* --- routes -------------------------------------------------------------- */

static const char *const route_keys[] = {
	"prefix", "via", "interface", "blackhole", NULL
};

static bool
cfg_route_dst(struct cfg_ctx *c, const char *where, const json_t *v,
    struct hg_prefix *dst)
{
	char q[CFG_QUOTE_MAX + 1], pf[INET6_ADDRSTRLEN + 4];

	if (!cfg_prefix(c, where, v, dst))
		return false;
	if (prefix_clear_host_bits(dst)) {
		cfg_err(c, where, "%s has host bits set (did you mean %s?)",
		    json_quote(v, q, sizeof(q)), prefix_fmt(dst, pf, sizeof(pf)));
		return false;
	}
	return true;
}

/*
 * Exactly one of: via (optionally with interface), blackhole, or interface
 * alone for a directly attached prefix.
 */
static bool
cfg_route(struct cfg_ctx *c, const char *where, const json_t *obj,
    struct hg_cfg_route *r)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char a[INET6_ADDRSTRLEN], pf[INET6_ADDRSTRLEN + 4];
	const json_t *v, *via, *ifv, *bh;
	bool ok, dst_ok = false;

	memset(r, 0, sizeof(*r));
	r->if_idx = -1;
	if (!cfg_check_object(c, where, obj, route_keys))
		return false;
	if ((v = cfg_required(c, where, obj, "prefix")) != NULL) {
		ptr_key(p, sizeof(p), where, "prefix");
		dst_ok = cfg_route_dst(c, p, v, &r->dst);
	}
	ok = dst_ok;
	via = json_object_get(obj, "via");
	ifv = json_object_get(obj, "interface");
	bh = json_object_get(obj, "blackhole");
	if (bh != NULL) {
		ptr_key(p, sizeof(p), where, "blackhole");
		if (!cfg_expect(c, p, bh, JSON_TRUE, "a boolean"))
			return false;
		r->blackhole = json_is_true(bh);
	}
	if (r->blackhole && (via != NULL || ifv != NULL)) {
		cfg_err(c, where, "a blackhole route takes no \"%s\"",
		    via != NULL ? "via" : "interface");
		return false;
	}
	if (!r->blackhole && via == NULL && ifv == NULL) {
		cfg_err(c, where, "a route needs \"via\", \"interface\" or "
		    "\"blackhole\": true");
		return false;
	}
	if (ifv != NULL) {
		ptr_key(p, sizeof(p), where, "interface");
		if ((r->if_idx = (int16_t)cfg_if_ref(c, p, ifv)) < 0)
			ok = false;
	}
	if (via != NULL) {
		ptr_key(p, sizeof(p), where, "via");
		if (!cfg_unicast_addr(c, p, via, &r->via))
			return false;
		r->has_via = true;
		if (dst_ok && r->via.family != r->dst.a.family) {
			cfg_err(c, p, "%s is %s but prefix %s is %s",
			    hg_addr_fmt(&r->via, a, sizeof(a)),
			    family_name(&r->via),
			    prefix_fmt(&r->dst, pf, sizeof(pf)),
			    family_name(&r->dst.a));
			return false;
		}
	}
	return ok;
}

struct route_key {
	struct hg_prefix dst;
	uint32_t json_idx;
};

static int
route_key_cmp(const void *pa, const void *pb)
{
	const struct route_key *a = pa, *b = pb;
	int d;

	if (a->dst.a.family != b->dst.a.family)
		return a->dst.a.family - b->dst.a.family;
	if (a->dst.len_bits != b->dst.len_bits)
		return a->dst.len_bits - b->dst.len_bits;
	if ((d = memcmp(a->dst.a.addr, b->dst.a.addr, 16)) != 0)
		return d;
	return a->json_idx < b->json_idx ? -1 : a->json_idx > b->json_idx;
}

/*
 * A prefix routed twice is a mistake the FIB would hide (the later one
 * wins).  Sorting keeps this O(n log n) for tables of tens of thousands.
 */
static void
cfg_routes_dups(struct cfg_ctx *c, const uint32_t *json_idx)
{
	struct hg_config *cfg = c->cfg;
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	char pf[INET6_ADDRSTRLEN + 4];
	struct route_key *keys;

	if (cfg->n_routes < 2)
		return;
	keys = calloc(cfg->n_routes, sizeof(*keys));
	if (keys == NULL) {
		cfg_err(c, "/routes", "out of memory checking for duplicates");
		return;
	}
	for (uint32_t i = 0; i < cfg->n_routes; i++) {
		keys[i].dst = cfg->routes[i].dst;
		keys[i].json_idx = json_idx[i];
	}
	qsort(keys, cfg->n_routes, sizeof(*keys), route_key_cmp);
	for (uint32_t i = 1; i < cfg->n_routes; i++) {
		if (memcmp(&keys[i].dst, &keys[i - 1].dst, sizeof(keys[i].dst)))
			continue;
		snprintf(p, sizeof(p), "/routes/%u/prefix", keys[i].json_idx);
		cfg_err(c, p, "%s is already routed by /routes/%u",
		    prefix_fmt(&keys[i].dst, pf, sizeof(pf)),
		    keys[i - 1].json_idx);
	}
	free(keys);
}

static void
cfg_routes(struct cfg_ctx *c, const json_t *arr)
{
	struct hg_config *cfg = c->cfg;
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	uint32_t *json_idx;
	size_t i;
	json_t *v;

	if (!cfg_expect(c, "/routes", arr, JSON_ARRAY, "an array of routes"))
		return;
	if (json_array_size(arr) == 0)
		return;
	if (json_array_size(arr) > UINT32_MAX) {
		cfg_err(c, "/routes", "too many routes");
		return;
	}
	cfg->routes = calloc(json_array_size(arr), sizeof(*cfg->routes));
	json_idx = calloc(json_array_size(arr), sizeof(*json_idx));
	if (cfg->routes == NULL || json_idx == NULL) {
		cfg_err(c, "/routes", "out of memory for %zu routes",
		    json_array_size(arr));
		free(json_idx);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), "/routes", i);
		if (!cfg_route(c, p, v, &cfg->routes[cfg->n_routes]))
			continue;
		json_idx[cfg->n_routes++] = (uint32_t)i;
	}
	cfg_routes_dups(c, json_idx);
	free(json_idx);
}

/* --- neighbours ---------------------------------------------------------- */

static const char *const neigh_keys[] = { "interface", "ip", "mac", NULL };

static bool
cfg_neigh(struct cfg_ctx *c, const char *where, const json_t *obj,
    struct hg_cfg_neigh *n)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v;
	bool ok = true;

	memset(n, 0, sizeof(*n));
	n->if_idx = -1;
	if (!cfg_check_object(c, where, obj, neigh_keys))
		return false;
	if ((v = cfg_required(c, where, obj, "interface")) == NULL)
		ok = false;
	else {
		ptr_key(p, sizeof(p), where, "interface");
		if ((n->if_idx = (int16_t)cfg_if_ref(c, p, v)) < 0)
			ok = false;
	}
	if ((v = cfg_required(c, where, obj, "ip")) == NULL)
		ok = false;
	else {
		ptr_key(p, sizeof(p), where, "ip");
		ok = cfg_unicast_addr(c, p, v, &n->ip) && ok;
	}
	if ((v = cfg_required(c, where, obj, "mac")) == NULL)
		ok = false;
	else {
		ptr_key(p, sizeof(p), where, "mac");
		ok = cfg_mac(c, p, v, n->mac) && ok;
	}
	return ok;
}

static void
cfg_neighs(struct cfg_ctx *c, const json_t *arr)
{
	struct hg_config *cfg = c->cfg;
	char p[sizeof(((struct hg_cfg_err *)0)->where)], a[INET6_ADDRSTRLEN];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, "/neighbors", arr, JSON_ARRAY,
	    "an array of neighbours"))
		return;
	if (json_array_size(arr) == 0)
		return;
	cfg->neighs = calloc(json_array_size(arr), sizeof(*cfg->neighs));
	if (cfg->neighs == NULL) {
		cfg_err(c, "/neighbors", "out of memory");
		return;
	}
	json_array_foreach(arr, i, v) {
		struct hg_cfg_neigh *n = &cfg->neighs[cfg->n_neighs];
		uint32_t j;

		ptr_idx(p, sizeof(p), "/neighbors", i);
		if (!cfg_neigh(c, p, v, n))
			continue;
		/* Static neighbours are few; a linear check is enough. */
		for (j = 0; j < cfg->n_neighs; j++)
			if (cfg->neighs[j].if_idx == n->if_idx &&
			    memcmp(&cfg->neighs[j].ip, &n->ip, sizeof(n->ip)) == 0)
				break;
		if (j < cfg->n_neighs) {
			str_append(p, sizeof(p), "/ip");
			cfg_err(c, p, "%s on %s is already a static neighbour",
			    hg_addr_fmt(&n->ip, a, sizeof(a)),
			    cfg->ifs[n->if_idx].name);
			continue;
		}
		cfg->n_neighs++;
	}
}

/* --- firewall ------------------------------------------------------------ */

static const char *const fw_keys[] = {
	"known_networks", "rules", "rules6", "sets", "conntrack", NULL
};
static const char *const ct_keys[] = {
	"max_entries", "source_limit_percent", "timeouts", NULL
};

static void
cfg_fw_known(struct cfg_ctx *c, const json_t *arr)
{
	struct hg_cfg_firewall *fw = &c->cfg->fw;
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	size_t i;
	json_t *v;

	if (!cfg_expect(c, "/firewall/known_networks", arr, JSON_ARRAY,
	    "an array of prefixes"))
		return;
	if (json_array_size(arr) > HG_CFG_KNOWN_MAX) {
		cfg_err(c, "/firewall/known_networks", "%zu networks; at most "
		    "%d", json_array_size(arr), HG_CFG_KNOWN_MAX);
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_idx(p, sizeof(p), "/firewall/known_networks", i);
		if (cfg_route_dst(c, p, v, &fw->known[fw->n_known]))
			fw->n_known++;
	}
}

static void
cfg_fw_path(struct cfg_ctx *c, const json_t *obj, const char *key,
    char *dst, size_t len)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL)
		return;
	ptr_key(p, sizeof(p), "/firewall", key);
	if ((s = cfg_str(c, p, v, len - 1)) != NULL)
		snprintf(dst, len, "%s", s);
}

static void
cfg_fw_conntrack(struct cfg_ctx *c, const json_t *obj)
{
	static const char *const names[] = {
#define HG_CFG_CT_NAME(name, key) key,
		HG_CFG_CT_TIMEOUTS(HG_CFG_CT_NAME)
#undef HG_CFG_CT_NAME
		NULL
	};
	struct hg_cfg_firewall *fw = &c->cfg->fw;
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v, *to;
	long long n;

	if (!cfg_check_object(c, "/firewall/conntrack", obj, ct_keys))
		return;
	if ((v = json_object_get(obj, "max_entries")) != NULL &&
	    cfg_int(c, "/firewall/conntrack/max_entries", v, 1024, 1 << 24, &n))
		fw->ct_entries = (uint32_t)n;
	if ((v = json_object_get(obj, "source_limit_percent")) != NULL &&
	    cfg_int(c, "/firewall/conntrack/source_limit_percent", v, 1, 100,
	    &n))
		fw->ct_src_percent = (uint8_t)n;
	if ((to = json_object_get(obj, "timeouts")) == NULL ||
	    !cfg_check_object(c, "/firewall/conntrack/timeouts", to, names))
		return;
	for (int i = 0; i < HG_CFG_CT_TIMEOUT_COUNT; i++) {
		if ((v = json_object_get(to, names[i])) == NULL)
			continue;
		ptr_key(p, sizeof(p), "/firewall/conntrack/timeouts", names[i]);
		if (cfg_int(c, p, v, 1, 30 * 86400, &n))
			fw->ct_timeouts_s[i] = (uint32_t)n;
	}
}

static void
cfg_fw(struct cfg_ctx *c, const json_t *obj)
{
	struct hg_cfg_firewall *fw = &c->cfg->fw;
	const json_t *v;

	if (!cfg_check_object(c, "/firewall", obj, fw_keys))
		return;
	if ((v = json_object_get(obj, "known_networks")) != NULL)
		cfg_fw_known(c, v);
	cfg_fw_path(c, obj, "rules", fw->rules, sizeof(fw->rules));
	cfg_fw_path(c, obj, "rules6", fw->rules6, sizeof(fw->rules6));
	cfg_fw_path(c, obj, "sets", fw->sets, sizeof(fw->sets));
	if ((v = json_object_get(obj, "conntrack")) != NULL)
		cfg_fw_conntrack(c, v);
}

/* --- api ------------------------------------------------------------------ */

static const char *const api_keys[] = {
	"listen", "port", "state_dir", "cert", "key", NULL
};

static void
cfg_api_str(struct cfg_ctx *c, const json_t *obj, const char *key, char *dst,
    size_t len)
{
	char p[sizeof(((struct hg_cfg_err *)0)->where)];
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL)
		return;
	ptr_key(p, sizeof(p), "/api", key);
	if ((s = cfg_str(c, p, v, len - 1)) != NULL)
		snprintf(dst, len, "%s", s);
}

static void
cfg_api(struct cfg_ctx *c, const json_t *obj)
{
	struct hg_cfg_api *a = &c->cfg->api;
	struct hg_addr addr;
	const json_t *v;
	long long n;

	/* false turns the API off; true or an object keeps it on. */
	if (json_is_boolean(obj)) {
		a->enabled = json_is_true(obj);
		return;
	}
	if (!cfg_check_object(c, "/api", obj, api_keys))
		return;
	a->enabled = true;
	cfg_api_str(c, obj, "listen", a->listen, sizeof(a->listen));
	if (hg_addr_parse(a->listen, &addr) != 0)
		cfg_err(c, "/api/listen", "\"%s\" is not an IPv4 or IPv6 "
		    "address", a->listen);
	if ((v = json_object_get(obj, "port")) != NULL &&
	    cfg_int(c, "/api/port", v, 1, 65535, &n))
		a->port = (uint16_t)n;
	cfg_api_str(c, obj, "state_dir", a->state_dir, sizeof(a->state_dir));
	cfg_api_str(c, obj, "cert", a->cert, sizeof(a->cert));
	cfg_api_str(c, obj, "key", a->key, sizeof(a->key));
	if ((a->cert[0] == '\0') != (a->key[0] == '\0'))
		cfg_err(c, a->cert[0] ? "/api/key" : "/api/cert", "cert and "
		    "key go together: give both or neither");
}

/* --- top level ----------------------------------------------------------- */

static const char *const top_keys[] = {
	"workers", "log", "control_socket", "interfaces", "tunnels", "ipsec",
	"routes", "neighbors", "firewall", "api", "store", "overlay", NULL
};
static const char *const log_keys[] = { "level", "syslog", NULL };

static void
cfg_log(struct cfg_ctx *c, const json_t *obj)
{
	char q[CFG_QUOTE_MAX + 1];
	const json_t *v;
	const char *s;

	if (!cfg_check_object(c, "/log", obj, log_keys))
		return;
	if ((v = json_object_get(obj, "level")) != NULL &&
	    (s = cfg_str(c, "/log/level", v, 16)) != NULL &&
	    hg_log_level_parse(s, &c->cfg->log_level) < 0)
		cfg_err(c, "/log/level", "%s is not a log level "
		    "(allowed: error, warn, info, debug)",
		    json_quote(v, q, sizeof(q)));
	if ((v = json_object_get(obj, "syslog")) != NULL &&
	    cfg_expect(c, "/log/syslog", v, JSON_TRUE, "a boolean"))
		c->cfg->log_syslog = json_is_true(v);
}

static void
cfg_control_socket(struct cfg_ctx *c, const json_t *v)
{
	/* sun_path holds the path and its NUL. */
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	const char *s;

	if ((s = cfg_str(c, "/control_socket", v, max)) != NULL)
		snprintf(c->cfg->control_socket,
		    sizeof(c->cfg->control_socket), "%s", s);
}

static const char *const store_keys[] = { "path", "keep_versions", NULL };

/*
 * "store": "config.db", or {"path": "config.db", "keep_versions": 100}.
 * The object form exists for the retention setting; the string form
 * stays, so every config written before it still parses.
 */
static void
cfg_store(struct cfg_ctx *c, const json_t *v)
{
	const json_t *p, *keep;
	const char *s;
	long long n;

	if (json_is_string(v)) {
		p = v;
	} else if (json_is_object(v)) {
		(void)cfg_check_object(c, "/store", v, store_keys);
		if ((p = cfg_required(c, "/store", v, "path")) == NULL)
			return;
		if ((keep = json_object_get(v, "keep_versions")) != NULL &&
		    cfg_int(c, "/store/keep_versions", keep, 0,
		    HG_CFG_STORE_KEEP_MAX, &n))
			c->cfg->store_keep_versions = (uint32_t)n;
	} else {
		(void)cfg_expect(c, "/store", v, JSON_STRING,
		    "a string (the path) or an object");
		return;
	}
	if ((s = cfg_str(c, p != v ? "/store/path" : "/store", p,
	    sizeof(c->cfg->store) - 1)) != NULL)
		snprintf(c->cfg->store, sizeof(c->cfg->store), "%s", s);
}

static void
cfg_top(struct cfg_ctx *c, const json_t *root)
{
	const json_t *v;
	long long n;

	if (!json_is_object(root)) {
		cfg_err(c, "", "the configuration must be a JSON object, "
		    "not %s", json_type_name(root));
		return;
	}
	(void)cfg_check_object(c, "", root, top_keys);
	if ((v = json_object_get(root, "workers")) != NULL &&
	    cfg_int(c, "/workers", v, 0, HG_CFG_WORKERS_MAX, &n))
		c->cfg->workers = (uint16_t)n;
	if ((v = json_object_get(root, "log")) != NULL)
		cfg_log(c, v);
	if ((v = json_object_get(root, "control_socket")) != NULL)
		cfg_control_socket(c, v);
	/* Interfaces before routes and neighbours, which name them. */
	if ((v = json_object_get(root, "interfaces")) != NULL)
		cfg_ifs(c, v);
	if ((v = json_object_get(root, "tunnels")) != NULL)
		cfg_tunnels(c, v);
	if ((v = json_object_get(root, "ipsec")) != NULL)
		cfg_ipsec(c, v);
	if ((v = json_object_get(root, "overlay")) != NULL)
		cfg_overlay(c, v);
	if ((v = json_object_get(root, "routes")) != NULL)
		cfg_routes(c, v);
	if ((v = json_object_get(root, "neighbors")) != NULL)
		cfg_neighs(c, v);
	if ((v = json_object_get(root, "firewall")) != NULL)
		cfg_fw(c, v);
	if ((v = json_object_get(root, "api")) != NULL)
		cfg_api(c, v);
	if ((v = json_object_get(root, "store")) != NULL)
		cfg_store(c, v);
}

struct hg_config *
hg_config_parse(const char *text, size_t len, struct hg_cfg_errs *errs)
{
	struct hg_cfg_errs local;
	struct cfg_ctx c = { .errs = errs != NULL ? errs : &local };
	json_error_t jerr;
	json_t *root;
	char where[64];

	c.errs->n = 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(where, sizeof(where), "line %d column %d", jerr.line,
		    jerr.column);
		cfg_err(&c, where, "%s", jerr.text);
		return NULL;
	}
	c.cfg = calloc(1, sizeof(*c.cfg));
	if (c.cfg == NULL) {
		json_decref(root);
		cfg_err(&c, "", "out of memory");
		return NULL;
	}
	c.cfg->log_level = HG_LOG_INFO;
	snprintf(c.cfg->control_socket, sizeof(c.cfg->control_socket), "%s",
	    HG_CFG_DEFAULT_SOCKET);
	c.cfg->api.enabled = true;	/* on by default, closed by default */
	snprintf(c.cfg->api.listen, sizeof(c.cfg->api.listen), "0.0.0.0");
	c.cfg->api.port = 8000;
	snprintf(c.cfg->api.state_dir, sizeof(c.cfg->api.state_dir),
	    "/var/lib/hexgate");
	cfg_top(&c, root);
	json_decref(root);
	if (c.errs->n > 0) {
		hg_config_free(c.cfg);
		return NULL;
	}
	return c.cfg;
}

struct hg_config *
hg_config_load(const char *path, struct hg_cfg_errs *errs)
{
	struct hg_cfg_errs local;
	struct cfg_ctx c = { .errs = errs != NULL ? errs : &local };
	struct hg_config *cfg = NULL;
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	FILE *f;

	c.errs->n = 0;
	if ((f = fopen(path, "re")) == NULL) {
		cfg_err(&c, "", "open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0) {
		cfg_err(&c, "", "stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CFG_FILE_MAX_BYTES) {
		cfg_err(&c, "", "not a regular file of at most %u bytes",
		    CFG_FILE_MAX_BYTES);
		goto out;
	}
	/* One byte more than stat said, to notice a file that grew. */
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		cfg_err(&c, "", "out of memory");
		goto out;
	}
	got = fread(text, 1, (size_t)st.st_size + 1, f);
	if (ferror(f)) {
		cfg_err(&c, "", "read: %s", strerror(errno));
		goto out;
	}
	if (got != (size_t)st.st_size) {
		cfg_err(&c, "", "file changed while it was read");
		goto out;
	}
	cfg = hg_config_parse(text, got, c.errs);
out:
	free(text);
	fclose(f);
	return cfg;
}

void
hg_config_free(struct hg_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->routes);
	free(cfg->neighs);
	free(cfg->overlay.peers);
	free(cfg);
}

void
hg_config_errs_log(const char *src, const struct hg_cfg_errs *errs)
{
	unsigned shown = HG_MIN(errs->n, (unsigned)HG_CFG_ERR_MAX);

	for (unsigned i = 0; i < shown; i++) {
		const struct hg_cfg_err *e = &errs->e[i];

		if (e->where[0] != '\0')
			hg_log(HG_LOG_ERR, "%s: %s: %s", src, e->where, e->msg);
		else
			hg_log(HG_LOG_ERR, "%s: %s", src, e->msg);
	}
	if (errs->n > shown)
		hg_log(HG_LOG_ERR, "%s: %u more errors not shown", src,
		    errs->n - shown);
}
