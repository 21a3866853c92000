/*
 * src/rt/rt.h: the host side of hexgate's interfaces, configured over
 * rtnetlink.  The punt path hands traffic for the appliance to a host TAP
 * (the port "tap:NAME", src/io/tap.c, creates it and moves its frames);
 * these calls give that kernel device the MAC, MTU, addresses and routes
 * of the port it mirrors, so the kernel's stack and ordinary daemons serve
 * what the INPUT chain let through.  Route sync from the kernel into
 * hexgate's FIB will live here too.
 *
 * Control thread only: every call opens its own NETLINK_ROUTE socket,
 * sends one request, waits for the kernel's answer and closes it.  Each
 * returns 0 or a negative errno and, on failure, writes one sentence that
 * names the device (and the address or prefix) into err, with the
 * kernel's own explanation when it gives one.  A device that does not
 * exist is -ENODEV.  Needs CAP_NET_ADMIN in the device's namespace.
 */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"

/*
 * Sets the link: mac (NULL keeps it), mtu_bytes (0 keeps it), and the
 * flags IFF_NOARP and IFF_UP to exactly noarp and up.  The punt TAP runs
 * with NOARP: the host then neither ARPs nor solicits on it and addresses
 * every frame to the device's own MAC, and hexgated routes what it reads
 * with its own FIB and neighbour table.  Changing the MAC of a running
 * device works for TAPs (they allow live address changes); other devices
 * may answer -EBUSY.  The kernel applies MAC, MTU and flags in that
 * order and stops at the first it refuses, so after an error the earlier
 * ones may have taken effect; set them again once the cause is fixed.
 */
int rt_link_set(const char *ifname, const uint8_t mac[6], uint16_t mtu_bytes,
    bool noarp, bool up, char *err, size_t err_len) HG_MUST_CHECK;

/*
 * Adds addr/prefix_len_bits (family AF_INET: 4 bytes, AF_INET6: 16 bytes,
 * network byte order) to ifname.  IPv6 addresses skip duplicate address
 * detection (IFA_F_NODAD): the address is the port's own and usable at
 * once.  An address already present is replaced, which is success.  The
 * kernel adds its usual prefix route for the address.
 */
int rt_addr_add(const char *ifname, int family, const void *addr,
    uint8_t prefix_len_bits, char *err, size_t err_len) HG_MUST_CHECK;

/*
 * Removes every IPv4 address and every IPv6 address that is not
 * link-local from ifname, before it is configured again.  Link-local IPv6
 * addresses stay: the kernel made them and they carry ND and BGP's
 * link-local sessions.
 */
int rt_addr_flush(const char *ifname, char *err, size_t err_len)
    HG_MUST_CHECK;

/*
 * Adds or replaces the device route prefix/prefix_len_bits via ifname (no
 * gateway, scope link) in the main table, protocol static.  Host bits of
 * prefix beyond prefix_len_bits are ignored.
 */
int rt_route_replace(const char *ifname, int family, const void *prefix,
    uint8_t prefix_len_bits, char *err, size_t err_len) HG_MUST_CHECK;

/*
 * Deletes the route rt_route_replace() made: same prefix, same device,
 * protocol static.  A route that is not there is -ESRCH.
 */
int rt_route_del(const char *ifname, int family, const void *prefix,
    uint8_t prefix_len_bits, char *err, size_t err_len) HG_MUST_CHECK;

#endif /* RT_H */
