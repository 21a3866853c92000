/*
 * src/daemon/transport/transport.h: the two transports of the operations
 * (ops/ops.h): the control socket (socket.c) and the HTTPS API
 * (rest.c, over the server in src/mgmt/api.c).  Neither knows an
 * operation by name.
 */
#ifndef HG_DAEMON_TRANSPORT_H
#define HG_DAEMON_TRANSPORT_H

#include "../daemon.h"

/* socket.c: the control socket at path (0600, root's). */
int hg_ctl_open(struct hg_daemon *d, const char *path);
void hg_ctl_close(struct hg_daemon *d, const char *path);
/* rest.c: the HTTPS API on d->base when the configuration asks for it. */
int hg_rest_start(struct hg_daemon *d, char *err, size_t err_len);
void hg_rest_stop(struct hg_daemon *d);

#endif /* HG_DAEMON_TRANSPORT_H */
