/*
 * src/rt/nl.c: one rtnetlink conversation at a time.  A request goes out
 * with NLM_F_ACK and the caller waits for its answer, so every call of
 * rt.h either happened or says why not.  Extended ACKs are asked for: the
 * kernel's "Invalid prefix for given prefix length" tells a user more than
 * EINVAL alone.  The requests themselves are built in link.c, addr.c and
 * route.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rt_priv.h"

int
rt_err(char *err, size_t err_len, int rc, const char *why, const char *fmt,
    ...)
{
	va_list ap;
	int n;

	if (err == NULL || err_len == 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= err_len)
		return rc;
	if (why != NULL && why[0] != '\0')
		snprintf(err + n, err_len - (size_t)n, ": %s (%s)",
		    strerror(-rc), why);
	else
		snprintf(err + n, err_len - (size_t)n, ": %s", strerror(-rc));
	return rc;
}

int
rt_errx(char *err, size_t err_len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return rc;
}

size_t
rt_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

void
rt_prefix_text(int family, const void *addr, uint8_t prefix_len_bits,
    char *buf, size_t buf_len)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, buf_len, "%s/%u", a, prefix_len_bits);
}

int
rt_ifindex(const char *ifname, uint32_t *ifindex, char *err, size_t err_len)
{
	unsigned idx;

	if (ifname == NULL || ifname[0] == '\0')
		return rt_errx(err, err_len, -EINVAL, "missing device name");
	if (strlen(ifname) >= IFNAMSIZ)
		return rt_errx(err, err_len, -EINVAL,
		    "device name \"%s\" is longer than %d bytes", ifname,
		    IFNAMSIZ - 1);
	if ((idx = if_nametoindex(ifname)) == 0)
		return rt_errx(err, err_len, -ENODEV, "%s: no such device",
		    ifname);
	*ifindex = idx;
	return 0;
}

int
rt_nl_open(struct rt_nl *nl, const char *ifname, char *err, size_t err_len)
{
	int one = 1, rc;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl->sock == NULL)
		return rt_err(err, err_len, -errno, NULL,
		    "%s: cannot open a netlink socket", ifname);
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = rt_err(err, err_len, -errno, NULL,
		    "%s: cannot bind a netlink socket", ifname);
		rt_nl_close(nl);
		return rc;
	}
	/* Both optional (Linux 4.12 / 4.3): without them errors are bare. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one,
	    sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one,
	    sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)getpid() << 16;
	return 0;
}

void
rt_nl_close(struct rt_nl *nl)
{
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

static int
rt_nl_ext_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, NLMSGERR_ATTR_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* The kernel's explanation in an error answer, if any, into why. */
static void
rt_nl_ext_msg(const struct nlmsghdr *nlh, const struct nlmsgerr *e,
    char *why, size_t why_len)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { NULL };
	size_t off = sizeof(*e);

	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0)
		return;
	/* Uncapped, the whole request is echoed between header and TLVs. */
	if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0)
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) <= off)
		return;
	if (mnl_attr_parse(nlh, (unsigned)off, rt_nl_ext_attr, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] != NULL &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
		snprintf(why, why_len, "%s",
		    mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
}

int
rt_nl_ack(struct rt_nl *nl, struct nlmsghdr *nlh, char *why, size_t why_len)
{
	char buf[RT_NL_RECV_BYTES];
	uint32_t seq = ++nl->seq;

	why[0] = '\0';
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			const struct nlmsgerr *e;

			if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR)
				continue;
			if (mnl_nlmsg_get_payload_len(m) < sizeof(*e))
				return -EBADMSG;
			e = mnl_nlmsg_get_payload(m);
			if (e->error != 0)
				rt_nl_ext_msg(m, e, why, why_len);
			return e->error;
		}
	}
}

int
rt_nl_dump(struct rt_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[RT_NL_RECV_BYTES];
	uint32_t seq = ++nl->seq;
	int rc;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_DUMP;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));

		if (n < 0 && errno == EINTR) {
			rc = MNL_CB_OK;
			continue;
		}
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (rc == MNL_CB_ERROR)
			return errno != 0 ? -errno : -EIO;
	} while (rc > MNL_CB_STOP);
	return 0;
}
