/*
 * tests/unit/rt/test_rt.c: proves src/rt against the kernel.  The process
 * moves itself into a fresh network namespace (unshare(CLONE_NEWNET)),
 * makes a TAP there the way the port tap:NAME does (TUNSETIFF on
 * /dev/net/tun) and keeps its fd open, then checks each call by reading
 * the device back: flags, MAC and MTU by ioctl, addresses by getifaddrs(),
 * routes by an RTM_GETROUTE dump.  Nothing is visible outside the
 * namespace, and it all goes when the process exits.
 *
 *     [ test process ] --rtnetlink--> hgrt0 (TAP, fd held by the test)
 *
 * Without root (or without /dev/net/tun) every case skips and says why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "rt/rt.h"

#define TAP	"hgrt0"
#define NOPE	"hgnope0"

static char skip_reason[160];
static int tap_fd = -1;

static int
setup(void **state)
{
	struct ifreq ifr;

	(void)state;
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(skip_reason, sizeof(skip_reason),
		    "unshare(CLONE_NEWNET): %s", strerror(errno));
		return 0;
	}
	tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tap_fd < 0) {
		snprintf(skip_reason, sizeof(skip_reason),
		    "open /dev/net/tun: %s", strerror(errno));
		return 0;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0) {
		snprintf(skip_reason, sizeof(skip_reason), "TUNSETIFF %s: %s",
		    TAP, strerror(errno));
		return 0;
	}
	skip_reason[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (tap_fd >= 0)
		close(tap_fd);	/* the TAP goes with its last fd */
	return 0;
}

#define NEED_NETNS() do {						\
	if (skip_reason[0] != '\0') {					\
		print_message("skipped: %s\n", skip_reason);		\
		skip();							\
	}								\
} while (0)

/* --- reading the device back ------------------------------------------ */

static void
if_req(unsigned long op, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", TAP);
	assert_int_equal(ioctl(s, op, ifr), 0);
	close(s);
}

static short
if_flags(void)
{
	struct ifreq ifr;

	if_req(SIOCGIFFLAGS, &ifr);
	return ifr.ifr_flags;
}

static int
if_mtu(void)
{
	struct ifreq ifr;

	if_req(SIOCGIFMTU, &ifr);
	return ifr.ifr_mtu;
}

static void
if_mac(uint8_t mac[6])
{
	struct ifreq ifr;

	if_req(SIOCGIFHWADDR, &ifr);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

static int
mask_len(const struct sockaddr *sa)
{
	const uint8_t *b;
	size_t n;
	int bits = 0;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		bits += __builtin_popcount(b[i]);
	return bits;
}

/* Whether TAP carries text/plen, per getifaddrs(). */
static bool
has_addr(const char *text, int plen)
{
	struct ifaddrs *all, *ifa;
	uint8_t want[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	bool found = false;

	assert_int_equal(inet_pton(family, text, want), 1);
	assert_int_equal(getifaddrs(&all), 0);
	for (ifa = all; ifa != NULL && !found; ifa = ifa->ifa_next) {
		const void *a;

		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != family ||
		    strcmp(ifa->ifa_name, TAP) != 0)
			continue;
		a = family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
		found = memcmp(a, want, family == AF_INET ? 4 : 16) == 0 &&
		    mask_len(ifa->ifa_netmask) == plen;
	}
	freeifaddrs(all);
	return found;
}

struct route_query {
	int family;
	uint8_t dst[16];
	uint8_t plen;
	uint32_t oif;
	int matches;		/* main table, protocol static, via oif */
	uint8_t scope;
};

static int
route_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, RTA_MAX) >= 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int
route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_query *q = data;
	size_t len = q->family == AF_INET ? 4 : 16;
	uint32_t table = rtm->rtm_table;

	if (rtm->rtm_family != q->family || rtm->rtm_dst_len != q->plen)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb) < 0)
		return MNL_CB_ERROR;
	if (tb[RTA_TABLE] != NULL)
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN || rtm->rtm_protocol != RTPROT_STATIC ||
	    tb[RTA_OIF] == NULL || mnl_attr_get_u32(tb[RTA_OIF]) != q->oif ||
	    tb[RTA_GATEWAY] != NULL)
		return MNL_CB_OK;
	if (q->plen > 0 && (tb[RTA_DST] == NULL ||
	    memcmp(mnl_attr_get_payload(tb[RTA_DST]), q->dst, len) != 0))
		return MNL_CB_OK;
	q->matches++;
	q->scope = rtm->rtm_scope;
	return MNL_CB_OK;
}

/* How many static device routes text/plen via TAP the main table holds. */
static int
count_routes(const char *text, uint8_t plen)
{
	struct route_query q = { .plen = plen };
	char buf[16384];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t seq = 77, portid;
	ssize_t n;
	int rc;

	q.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(q.family, text, q.dst), 1);
	q.oif = if_nametoindex(TAP);
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)q.family;
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		assert_true(n > 0);
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, route_cb, &q);
	} while (rc > MNL_CB_STOP);
	assert_int_equal(rc, MNL_CB_STOP);
	mnl_socket_close(nl);
	return q.matches;
}

/* The line of "ip -6 -o addr show dev TAP" that lists prefix, or NULL. */
static char *
ip_addr_line(const char *prefix)
{
	char line[512], *found = NULL;
	FILE *p = popen("ip -6 -o addr show dev " TAP " 2>/dev/null", "r");

	assert_non_null(p);
	while (found == NULL && fgets(line, sizeof(line), p) != NULL)
		if (strstr(line, prefix) != NULL)
			found = strdup(line);
	pclose(p);
	return found;
}

static void
pton(const char *text, uint8_t *out)
{
	assert_int_equal(inet_pton(strchr(text, ':') != NULL ? AF_INET6 :
	    AF_INET, text, out), 1);
}

static int
family_of(const char *text)
{
	return strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
}

/* --- the cases --------------------------------------------------------- */

struct link_case {
	const char *what;
	const uint8_t *mac;
	uint16_t mtu;
	bool noarp, up;
	int want_rc;
	const uint8_t *want_mac;	/* after the call */
	int want_mtu;
};

static const uint8_t mac_port[6] = { 0x02, 0x48, 0x47, 0x00, 0x00, 0x01 };
static const uint8_t mac_other[6] = { 0x02, 0x48, 0x47, 0x00, 0x00, 0x02 };

static const struct link_case link_cases[] = {
	{ "port's MAC and MTU, noarp, up", mac_port, 1400, true, true, 0,
	  mac_port, 1400 },
	{ "keep MAC and MTU, arp, down", NULL, 0, false, false, 0,
	  mac_port, 1400 },
	{ "new MAC on a running TAP, noarp, up", mac_other, 9000, true, true,
	  0, mac_other, 9000 },
	{ "MTU past the device maximum is refused, flags stay",
	  NULL, 65535, false, false, -EINVAL, mac_other, 9000 },
	{ "MTU under the IPv4 minimum is refused", NULL, 10, true, true,
	  -EINVAL, mac_other, 9000 },
	{ "back to the port's MAC, 1500, noarp, up", mac_port, 1500, true,
	  true, 0, mac_port, 1500 },
};

static void
test_link(void **state)
{
	(void)state;
	NEED_NETNS();
	for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		const struct link_case *t = &link_cases[i];
		short before = if_flags(), flags;
		char err[256] = "";
		uint8_t mac[6];
		int rc;

		rc = rt_link_set(TAP, t->mac, t->mtu, t->noarp, t->up, err,
		    sizeof(err));
		print_message("%s: rc %d %s\n", t->what, rc, err);
		if (rc != t->want_rc)
			fail_msg("%s: rc %d, want %d (%s)", t->what, rc,
			    t->want_rc, err);
		flags = if_flags();
		if (rc == 0) {
			if (((flags & IFF_NOARP) != 0) != t->noarp ||
			    ((flags & IFF_UP) != 0) != t->up)
				fail_msg("%s: flags %#x", t->what, flags);
		} else {
			if (strstr(err, TAP) == NULL)
				fail_msg("%s: error \"%s\" does not name %s",
				    t->what, err, TAP);
			if (flags != before)
				fail_msg("%s: flags changed on error", t->what);
		}
		if_mac(mac);
		if (memcmp(mac, t->want_mac, 6) != 0)
			fail_msg("%s: MAC is %02x:..:%02x", t->what, mac[0],
			    mac[5]);
		if (if_mtu() != t->want_mtu)
			fail_msg("%s: MTU %d, want %d", t->what, if_mtu(),
			    t->want_mtu);
	}
}

struct addr_case {
	const char *what;
	const char *addr;
	uint8_t plen;
	int family;		/* 0: from addr */
	int want_rc;
};

static const struct addr_case addr_cases[] = {
	{ "IPv4 primary", "10.1.0.1", 24, 0, 0 },
	{ "the same again is success", "10.1.0.1", 24, 0, 0 },
	{ "IPv4 secondary in the same subnet", "10.1.0.2", 24, 0, 0 },
	{ "IPv4 in another subnet", "192.0.2.1", 32, 0, 0 },
	{ "IPv6 global, no DAD", "2001:db8:1::1", 64, 0, 0 },
	{ "IPv6 global again", "2001:db8:1::1", 64, 0, 0 },
	{ "IPv6 link-local", "fe80::99", 64, 0, 0 },
	{ "IPv4 /33 is refused", "10.9.0.1", 33, 0, -EINVAL },
	{ "IPv6 /129 is refused", "2001:db8:9::1", 129, 0, -EINVAL },
	{ "family AF_UNIX is refused", "10.9.0.1", 24, AF_UNIX, -EAFNOSUPPORT },
};

static void
test_addr(void **state)
{
	(void)state;
	NEED_NETNS();
	{
		char err[256] = "";

		/* ARP on, so the kernel would run DAD were it not told. */
		assert_int_equal(rt_link_set(TAP, mac_port, 1500, false, true,
		    err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		const struct addr_case *t = &addr_cases[i];
		int family = t->family != 0 ? t->family : family_of(t->addr);
		char err[256] = "";
		uint8_t a[16];
		int rc;

		pton(t->addr, a);
		rc = rt_addr_add(TAP, family, a, t->plen, err, sizeof(err));
		print_message("%s: rc %d %s\n", t->what, rc, err);
		if (rc != t->want_rc)
			fail_msg("%s: rc %d, want %d (%s)", t->what, rc,
			    t->want_rc, err);
		if (rc == 0 && !has_addr(t->addr, t->plen))
			fail_msg("%s: %s/%u not on %s", t->what, t->addr,
			    t->plen, TAP);
		if (rc != 0 && (strstr(err, TAP) == NULL ||
		    (family != AF_UNIX && strstr(err, t->addr) == NULL)))
			fail_msg("%s: error \"%s\" names neither %s nor %s",
			    t->what, err, TAP, t->addr);
		if (rc != 0 && has_addr(t->addr, t->plen))
			fail_msg("%s: refused, yet present", t->what);
	}

	/* IFA_F_NODAD: usable at once, never tentative. */
	{
		char *flags = ip_addr_line("2001:db8:1::1/64");

		if (flags == NULL || strstr(flags, "nodad") == NULL ||
		    strstr(flags, "tentative") != NULL)
			fail_msg("2001:db8:1::1 flags: %s", flags != NULL ?
			    flags : "(not listed by ip -6 addr)");
		free(flags);
	}

	/* Flush: IPv4 all (secondaries included), IPv6 all but link-local. */
	{
		char err[256] = "";

		assert_int_equal(rt_addr_flush(TAP, err, sizeof(err)), 0);
		assert_false(has_addr("10.1.0.1", 24));
		assert_false(has_addr("10.1.0.2", 24));
		assert_false(has_addr("192.0.2.1", 32));
		assert_false(has_addr("2001:db8:1::1", 64));
		assert_true(has_addr("fe80::99", 64));
		/* Flushing a flushed device is a no-op, not an error. */
		assert_int_equal(rt_addr_flush(TAP, err, sizeof(err)), 0);
		assert_true(has_addr("fe80::99", 64));
		/* And the device takes addresses again. */
		uint8_t a[4];

		pton("10.1.0.1", a);
		assert_int_equal(rt_addr_add(TAP, AF_INET, a, 24, err,
		    sizeof(err)), 0);
		assert_true(has_addr("10.1.0.1", 24));
		assert_int_equal(rt_addr_flush(TAP, err, sizeof(err)), 0);
		assert_false(has_addr("10.1.0.1", 24));
	}
}

struct route_case {
	const char *what;
	bool del;
	const char *prefix;
	uint8_t plen;
	int want_rc;
	const char *check;	/* the route to count after the call */
	int want_count;
};

static const struct route_case route_cases[] = {
	{ "IPv4 device route", false, "10.2.0.0", 16, 0, "10.2.0.0", 1 },
	{ "the same again replaces it, one route", false, "10.2.0.0", 16, 0,
	  "10.2.0.0", 1 },
	{ "host bits past the prefix are ignored", false, "10.3.0.7", 16, 0,
	  "10.3.0.0", 1 },
	{ "IPv4 default route", false, "0.0.0.0", 0, 0, "0.0.0.0", 1 },
	{ "IPv6 device route", false, "2001:db8:5::", 48, 0, "2001:db8:5::",
	  1 },
	{ "IPv4 host route", false, "198.51.100.7", 32, 0, "198.51.100.7", 1 },
	{ "delete IPv4", true, "10.2.0.0", 16, 0, "10.2.0.0", 0 },
	{ "delete again: no such route", true, "10.2.0.0", 16, -ESRCH,
	  "10.2.0.0", 0 },
	{ "delete IPv6", true, "2001:db8:5::", 48, 0, "2001:db8:5::", 0 },
	{ "delete IPv6 again: no such route", true, "2001:db8:5::", 48,
	  -ESRCH, "2001:db8:5::", 0 },
	{ "delete with host bits", true, "10.3.255.255", 16, 0, "10.3.0.0",
	  0 },
	{ "delete the default route", true, "0.0.0.0", 0, 0, "0.0.0.0", 0 },
	{ "IPv4 /33 is refused", false, "10.4.0.0", 33, -EINVAL, "10.4.0.0",
	  0 },
};

static void
test_route(void **state)
{
	char err[256] = "";

	(void)state;
	NEED_NETNS();
	/* IPv4 refuses a route out of a device that is down. */
	assert_int_equal(rt_link_set(TAP, mac_port, 1500, true, true, err,
	    sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]);
	    i++) {
		const struct route_case *t = &route_cases[i];
		int family = family_of(t->prefix), n;
		uint8_t p[16];
		int rc;

		err[0] = '\0';
		pton(t->prefix, p);
		rc = t->del ?
		    rt_route_del(TAP, family, p, t->plen, err, sizeof(err)) :
		    rt_route_replace(TAP, family, p, t->plen, err, sizeof(err));
		print_message("%s: rc %d %s\n", t->what, rc, err);
		if (rc != t->want_rc)
			fail_msg("%s: rc %d, want %d (%s)", t->what, rc,
			    t->want_rc, err);
		if (rc != 0 && (strstr(err, TAP) == NULL ||
		    strstr(err, t->prefix) == NULL))
			fail_msg("%s: error \"%s\" does not name %s and %s",
			    t->what, err, TAP, t->prefix);
		n = count_routes(t->check, t->plen > 32 && family == AF_INET ?
		    32 : t->plen);
		if (n != t->want_count)
			fail_msg("%s: %d routes %s/%u, want %d", t->what, n,
			    t->check, t->plen, t->want_count);
	}
}

/* Every call on a device that does not exist: -ENODEV, naming it. */
static void
test_nodev(void **state)
{
	static const uint8_t a4[4] = { 10, 0, 0, 1 };
	char err[256];
	int rc;

	(void)state;
	NEED_NETNS();
	for (int i = 0; i < 5; i++) {
		static const char *what[] = { "rt_link_set", "rt_addr_add",
		    "rt_addr_flush", "rt_route_replace", "rt_route_del" };

		err[0] = '\0';
		switch (i) {
		case 0:
			rc = rt_link_set(NOPE, NULL, 1500, true, true, err,
			    sizeof(err));
			break;
		case 1:
			rc = rt_addr_add(NOPE, AF_INET, a4, 24, err,
			    sizeof(err));
			break;
		case 2:
			rc = rt_addr_flush(NOPE, err, sizeof(err));
			break;
		case 3:
			rc = rt_route_replace(NOPE, AF_INET, a4, 24, err,
			    sizeof(err));
			break;
		default:
			rc = rt_route_del(NOPE, AF_INET, a4, 24, err,
			    sizeof(err));
			break;
		}
		print_message("%s: rc %d %s\n", what[i], rc, err);
		if (rc != -ENODEV || strstr(err, NOPE) == NULL)
			fail_msg("%s on %s: rc %d \"%s\", want -ENODEV naming "
			    "the device", what[i], NOPE, rc, err);
	}
	rc = rt_link_set("this-name-is-far-too-long", NULL, 0, true, true,
	    err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "this-name-is-far-too-long"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_nodev),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
