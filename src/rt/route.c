/*
 * src/rt/route.c: device routes of the host, the ones that send a prefix
 * out of a punt TAP with no gateway ("ip route replace P dev tap0").
 * Marked protocol static, so a delete touches hexgate's route and not the
 * kernel's own prefix route for an address on the same device.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include "rt_priv.h"

/* prefix with the bits past prefix_len_bits cleared, as the kernel wants. */
static void
rt_prefix_mask(uint8_t *out, const void *prefix, size_t len,
    uint8_t prefix_len_bits)
{
	memcpy(out, prefix, len);
	for (size_t i = 0; i < len; i++) {
		unsigned keep = prefix_len_bits > i * 8 ?
		    HG_MIN(8u, prefix_len_bits - i * 8) : 0;

		out[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* The route request, type RTM_NEWROUTE or RTM_DELROUTE. */
static struct nlmsghdr *
rt_route_msg(char *req, uint16_t type, int family, uint32_t ifindex,
    const uint8_t *dst, uint8_t prefix_len_bits)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = prefix_len_bits;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	/* No gateway: the prefix is on the link.  A delete matches any
	 * scope, as ip(8) does. */
	rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK :
	    RT_SCOPE_NOWHERE;
	if (prefix_len_bits > 0)
		mnl_attr_put(nlh, RTA_DST, rt_addr_len(family), dst);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nlh;
}

static int
rt_route_change(uint16_t type, const char *ifname, int family,
    const void *prefix, uint8_t prefix_len_bits, char *err, size_t err_len)
{
	const char *verb = type == RTM_NEWROUTE ? "add" : "delete";
	char req[RT_NL_REQ_BYTES], why[RT_NL_WHY_BYTES], text[64];
	struct nlmsghdr *nlh;
	struct rt_nl nl;
	uint8_t dst[16];
	uint32_t ifindex;
	size_t len = rt_addr_len(family);
	int rc;

	if (len == 0)
		return rt_errx(err, err_len, -EAFNOSUPPORT,
		    "%s: cannot %s a route of family %d (not IPv4 or IPv6)",
		    ifname, verb, family);
	rt_prefix_text(family, prefix, prefix_len_bits, text, sizeof(text));
	if (prefix_len_bits > len * 8)
		return rt_errx(err, err_len, -EINVAL,
		    "%s: cannot %s route %s: the prefix length is at most %zu",
		    ifname, verb, text, len * 8);
	if ((rc = rt_ifindex(ifname, &ifindex, err, err_len)) < 0)
		return rc;
	rt_prefix_mask(dst, prefix, len, prefix_len_bits);
	nlh = rt_route_msg(req, type, family, ifindex, dst, prefix_len_bits);
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;

	if ((rc = rt_nl_open(&nl, ifname, err, err_len)) < 0)
		return rc;
	rc = rt_nl_ack(&nl, nlh, why, sizeof(why));
	rt_nl_close(&nl);
	/* The kernel's ESRCH reads "No such process" in strerror(). */
	if (rc == -ESRCH)
		return rt_errx(err, err_len, rc, "%s: cannot %s route %s: "
		    "no such route", ifname, verb, text);
	if (rc < 0)
		return rt_err(err, err_len, rc, why, "%s: cannot %s route %s",
		    ifname, verb, text);
	return 0;
}

int
rt_route_replace(const char *ifname, int family, const void *prefix,
    uint8_t prefix_len_bits, char *err, size_t err_len)
{
	return rt_route_change(RTM_NEWROUTE, ifname, family, prefix,
	    prefix_len_bits, err, err_len);
}

int
rt_route_del(const char *ifname, int family, const void *prefix,
    uint8_t prefix_len_bits, char *err, size_t err_len)
{
	return rt_route_change(RTM_DELROUTE, ifname, family, prefix,
	    prefix_len_bits, err, err_len);
}
