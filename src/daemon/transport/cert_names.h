/*
 * src/daemon/transport/cert_names.h: what the API's server certificate names from
 * the configuration: the interfaces' addresses, given at start
 * (hg_rest_start() in rest.c) and again after each reload
 * (hg_stage_publish() in config/apply.c).  The certificate itself, and when it is
 * issued again, is src/mgmt/api_tls.c's business.
 */
#ifndef HG_DAEMON_CERT_NAMES_H
#define HG_DAEMON_CERT_NAMES_H

#include <stddef.h>

struct hg_config;
struct hg_daemon;

/*
 * cfg's interface addresses as text ("10.0.1.1", "2001:db8:1::1"), in one
 * allocation with the strings: free() it.  NULL when out of memory.
 */
char **hg_cert_names_of(const struct hg_config *cfg, size_t *n);

/*
 * The running API's certificate names d->cfg's addresses: the API issues
 * a new one only when they changed.  A failure is logged and the old
 * certificate goes on serving.  Control thread; no API is fine.
 */
void hg_cert_names_update(struct hg_daemon *d);

#endif /* HG_DAEMON_CERT_NAMES_H */
