/*
 * src/daemon/config/tunnels.h: the configured ESP tunnels' SAs, made at
 * start for the data plane (manual keying; IKEv2 will make them later
 * through the same dp_tunnel).  Builds on config/versions.h.
 */
#ifndef HG_DAEMON_TUNNELS_H
#define HG_DAEMON_TUNNELS_H

#include "../daemon.h"

/* out[i] for each tunnel's interface i: its SAs from the key files;
 * 0, or -errno with err naming the tunnel and nothing made. */
int hg_tunnels_open(struct hg_daemon *d, struct dp_tunnel *out, char *err,
    size_t err_len);
/* Frees every SA of t (IP_IF_MAX of them), their keys wiped. */
void hg_tunnels_close(struct dp_tunnel *t);

#endif /* HG_DAEMON_TUNNELS_H */
