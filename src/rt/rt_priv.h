/*
 * src/rt/rt_priv.h: what the files of src/rt share and nobody else sees:
 * one rtnetlink conversation (nl.c) and the error sentences.
 */
#ifndef RT_PRIV_H
#define RT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "../lib/hg.h"
#include "rt.h"

/* Room for one request, and for the kernel's answers to a dump. */
#define RT_NL_REQ_BYTES		1024
#define RT_NL_RECV_BYTES	16384
/* The kernel's own reason (extended ACK), when it gives one. */
#define RT_NL_WHY_BYTES		160

struct rt_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* Opens a NETLINK_ROUTE socket; on failure says so in err, naming ifname. */
int rt_nl_open(struct rt_nl *nl, const char *ifname, char *err,
    size_t err_len) HG_MUST_CHECK;
void rt_nl_close(struct rt_nl *nl);

/*
 * Sends nlh (a request built with mnl_nlmsg_put_header(); its sequence
 * number and NLM_F_ACK are set here) and waits for the kernel's answer:
 * 0, or the negative errno it refused with and, in why, its explanation
 * ("" when it gives none).
 */
int rt_nl_ack(struct rt_nl *nl, struct nlmsghdr *nlh, char *why,
    size_t why_len) HG_MUST_CHECK;

/* Sends nlh with NLM_F_DUMP and calls cb(message, data) for each answer. */
int rt_nl_dump(struct rt_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
    void *data) HG_MUST_CHECK;

/* The index of ifname, or -ENODEV / -EINVAL with err naming it. */
int rt_ifindex(const char *ifname, uint32_t *ifindex, char *err,
    size_t err_len) HG_MUST_CHECK;

/*
 * Writes "WHAT: strerror(-rc)" and " (why)" when why is not empty into
 * err, WHAT formatted from fmt; returns rc.
 */
int rt_err(char *err, size_t err_len, int rc, const char *why,
    const char *fmt, ...) HG_PRINTF(5, 6);

/* The same without strerror, for errors found here, not by the kernel. */
int rt_errx(char *err, size_t err_len, int rc, const char *fmt, ...)
    HG_PRINTF(4, 5);

/* The length of an address of family (4 or 16), or 0 for another family. */
size_t rt_addr_len(int family);

/* addr/prefix_len_bits as text, for messages. */
void rt_prefix_text(int family, const void *addr, uint8_t prefix_len_bits,
    char *buf, size_t buf_len);

#endif /* RT_PRIV_H */
