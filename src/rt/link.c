/*
 * src/rt/link.c: the link of a host device, RTM_NEWLINK on an existing
 * index: MAC, MTU and the NOARP and UP flags in one request.  The kernel
 * applies the address and the MTU before the flags, so a device comes up
 * already carrying the port's MAC.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "rt_priv.h"

/* "mac 02:00:00:00:00:01 mtu 1500 noarp up", for the error sentence. */
static void
rt_link_text(const uint8_t mac[6], uint16_t mtu_bytes, bool noarp, bool up,
    char *buf, size_t buf_len)
{
	size_t n = 0;

	if (mac != NULL)
		n += (size_t)snprintf(buf + n, buf_len - n,
		    "mac %02x:%02x:%02x:%02x:%02x:%02x ", mac[0], mac[1],
		    mac[2], mac[3], mac[4], mac[5]);
	if (mtu_bytes != 0 && n < buf_len)
		n += (size_t)snprintf(buf + n, buf_len - n, "mtu %u ",
		    mtu_bytes);
	if (n < buf_len)
		snprintf(buf + n, buf_len - n, "%s %s", noarp ? "noarp" : "arp",
		    up ? "up" : "down");
}

int
rt_link_set(const char *ifname, const uint8_t mac[6], uint16_t mtu_bytes,
    bool noarp, bool up, char *err, size_t err_len)
{
	char req[RT_NL_REQ_BYTES], why[RT_NL_WHY_BYTES], what[64];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rt_nl nl;
	uint32_t ifindex;
	int rc;

	if ((rc = rt_ifindex(ifname, &ifindex, err, err_len)) < 0)
		return rc;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	/* ifi_change says which flags to touch; the rest stay as they are. */
	ifi->ifi_change = IFF_NOARP | IFF_UP;
	ifi->ifi_flags = (noarp ? IFF_NOARP : 0) | (up ? IFF_UP : 0);
	if (mac != NULL)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (mtu_bytes != 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu_bytes);

	if ((rc = rt_nl_open(&nl, ifname, err, err_len)) < 0)
		return rc;
	rc = rt_nl_ack(&nl, nlh, why, sizeof(why));
	rt_nl_close(&nl);
	if (rc < 0) {
		rt_link_text(mac, mtu_bytes, noarp, up, what, sizeof(what));
		return rt_err(err, err_len, rc, why, "%s: cannot set link %s",
		    ifname, what);
	}
	return 0;
}
