/*
 * src/rt/addr.c: the addresses of a host device: add one (RTM_NEWADDR)
 * and flush all but the IPv6 link-local ones (a dump, then one
 * RTM_DELADDR each).  The device must exist; see rt.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "rt_priv.h"

static struct nlmsghdr *
rt_addr_msg(char *req, uint16_t type, int family, uint32_t ifindex,
    uint8_t prefix_len_bits, const void *addr)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ifaddrmsg *ifa;
	size_t len = rt_addr_len(family);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix_len_bits;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	/*
	 * IPv4 keys an address by IFA_LOCAL (IFA_ADDRESS is the peer or the
	 * subnet, and a delete that names it must match it), IPv6 by either.
	 */
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	if (type == RTM_NEWADDR)
		mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	return nlh;
}

int
rt_addr_add(const char *ifname, int family, const void *addr,
    uint8_t prefix_len_bits, char *err, size_t err_len)
{
	char req[RT_NL_REQ_BYTES], why[RT_NL_WHY_BYTES], text[64];
	struct nlmsghdr *nlh;
	struct rt_nl nl;
	uint32_t ifindex;
	int rc;

	if (rt_addr_len(family) == 0)
		return rt_errx(err, err_len, -EAFNOSUPPORT,
		    "%s: cannot add an address of family %d (not IPv4 or "
		    "IPv6)", ifname, family);
	rt_prefix_text(family, addr, prefix_len_bits, text, sizeof(text));
	if (prefix_len_bits > rt_addr_len(family) * 8)
		return rt_errx(err, err_len, -EINVAL,
		    "%s: cannot add address %s: the prefix length is at most "
		    "%zu", ifname, text, rt_addr_len(family) * 8);
	if ((rc = rt_ifindex(ifname, &ifindex, err, err_len)) < 0)
		return rc;
	nlh = rt_addr_msg(req, RTM_NEWADDR, family, ifindex,
	    prefix_len_bits, addr);
	/* REPLACE: configuring the same address again is not an error. */
	nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	if (family == AF_INET6) {
		/* The address is the port's own, in use the moment it is
		 * set; DAD would hold it tentative and could disable it. */
		struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}

	if ((rc = rt_nl_open(&nl, ifname, err, err_len)) < 0)
		return rc;
	rc = rt_nl_ack(&nl, nlh, why, sizeof(why));
	rt_nl_close(&nl);
	if (rc < 0)
		return rt_err(err, err_len, rc, why,
		    "%s: cannot add address %s", ifname, text);
	return 0;
}

/* One address the flush will delete. */
struct rt_addr_item {
	int family;
	uint8_t prefix_len_bits;
	uint8_t addr[16];	/* IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6 */
};

struct rt_addr_list {
	uint32_t ifindex;
	struct rt_addr_item *items;
	size_t n, cap;
};

static int
rt_addr_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* Whether the flush removes this one: IPv4 all, IPv6 all but fe80::/10. */
static bool
rt_addr_is_flushed(int family, const uint8_t *addr)
{
	if (family == AF_INET)
		return true;
	return !(addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80);
}

static int
rt_addr_collect(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	struct rt_addr_list *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct rt_addr_item *it;
	size_t len = rt_addr_len(ifa->ifa_family);

	if (ifa->ifa_index != l->ifindex || len == 0)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), rt_addr_attr, tb) < 0)
		return MNL_CB_OK;
	a = ifa->ifa_family == AF_INET && tb[IFA_LOCAL] != NULL ?
	    tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a == NULL || mnl_attr_get_payload_len(a) != len ||
	    !rt_addr_is_flushed(ifa->ifa_family, mnl_attr_get_payload(a)))
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 8 : l->cap * 2;
		void *p = realloc(l->items, cap * sizeof(*l->items));

		if (p == NULL) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		l->items = p;
		l->cap = cap;
	}
	it = &l->items[l->n++];
	it->family = ifa->ifa_family;
	it->prefix_len_bits = ifa->ifa_prefixlen;
	memcpy(it->addr, mnl_attr_get_payload(a), len);
	return MNL_CB_OK;
}

static int
rt_addr_del_one(struct rt_nl *nl, const char *ifname, uint32_t ifindex,
    const struct rt_addr_item *it, char *err, size_t err_len)
{
	char req[RT_NL_REQ_BYTES], why[RT_NL_WHY_BYTES], text[64];
	struct nlmsghdr *nlh;
	int rc;

	nlh = rt_addr_msg(req, RTM_DELADDR, it->family, ifindex,
	    it->prefix_len_bits, it->addr);
	rc = rt_nl_ack(nl, nlh, why, sizeof(why));
	/* Deleting a primary IPv4 address takes its secondaries with it. */
	if (rc == -EADDRNOTAVAIL)
		rc = 0;
	if (rc < 0) {
		rt_prefix_text(it->family, it->addr, it->prefix_len_bits, text,
		    sizeof(text));
		return rt_err(err, err_len, rc, why,
		    "%s: cannot remove address %s", ifname, text);
	}
	return 0;
}

int
rt_addr_flush(const char *ifname, char *err, size_t err_len)
{
	char req[RT_NL_REQ_BYTES];
	struct rt_addr_list l = { 0 };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct rt_nl nl;
	int rc;

	if ((rc = rt_ifindex(ifname, &l.ifindex, err, err_len)) < 0)
		return rc;
	if ((rc = rt_nl_open(&nl, ifname, err, err_len)) < 0)
		return rc;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	/* The whole table; rt_addr_collect() keeps this device's. */
	rc = rt_nl_dump(&nl, nlh, rt_addr_collect, &l);
	if (rc < 0) {
		(void)rt_err(err, err_len, rc, NULL, "%s: cannot list addresses",
		    ifname);
		goto out;
	}
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = rt_addr_del_one(&nl, ifname, l.ifindex, &l.items[i], err,
		    err_len);
out:
	rt_nl_close(&nl);
	free(l.items);
	return rc;
}
