/*
 * src/daemon/config/ike.h: hexgated's side of the IKEv2 engine (src/ike):
 * the configuration's ipsec connections turned into the engine's, the
 * datagrams of UDP 500/4500 between the data plane and the engine, and
 * the child SAs the engine negotiates put into the tunnels the data plane
 * runs (config/tunnels.h).  Builds on config/tunnels.h.
 */
#ifndef HG_DAEMON_IKE_H
#define HG_DAEMON_IKE_H

#include "../../ike/ike.h"
#include "../daemon.h"

struct hg_ike;

/*
 * The engine's connections of cfg (placed: its tunnels in their slots),
 * checked: proposals, identities, a secret for each (its certificates
 * and key, read from their files relative to d's configuration, with
 * auth pubkey).  0, or -EINVAL with err naming the place
 * (/ipsec/connections/NAME/...).  A stage calls it
 * with out NULL to check only.
 */
int hg_ike_conns(const struct hg_daemon *d, const struct hg_config *cfg,
    struct ike_conn_cfg **out, unsigned *n, char *err, size_t err_len);

/* Start, once the data plane is there: the engine's connections, then
 * its thread (hg-ike), which takes the data plane's IKE datagrams and
 * runs the timers from then on. */
int hg_ike_start(struct hg_daemon *d, char *err, size_t err_len);
/*
 * The lock hg-ike holds while it handles one datagram or one tick.  The
 * control thread holds it to read or change what hg-ike's callbacks
 * touch: the IKE tunnels' slots of d->tunnels and their publication
 * (dp_tunnels_swap), d->cfg; it waits for at most one datagram's work.
 * The functions below take it themselves.  Nothing without IKE.
 */
void hg_ike_lock(struct hg_daemon *d);
void hg_ike_unlock(struct hg_daemon *d);
/* After a reload was published, the lock held (hg_stage_publish): the
 * connections of d->cfg. */
void hg_ike_reload(struct hg_daemon *d);
/* Stop: hg-ike joined, every IKE SA deleted (peers told), the engine
 * freed. */
void hg_ike_stop(struct hg_daemon *d);

/* hexctl ipsec status: a JSON object's text (malloc'd), or NULL:
 * "ike_sas", the IKE SAs, and "traps", the connections of start_action
 * trap waiting for a packet to their tunnel. */
char *hg_ike_status(struct hg_daemon *d);
/* hexctl ipsec up|down NAME: 0, -ENOENT. */
int hg_ike_updown(struct hg_daemon *d, const char *name, bool up);
/* Counters for /metrics; false when IKE does not run. */
bool hg_ike_stats(struct hg_daemon *d, struct ike_stats *out);

#endif /* HG_DAEMON_IKE_H */
