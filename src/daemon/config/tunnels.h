/*
 * src/daemon/config/tunnels.h: the configured ESP tunnels' SAs, made at
 * start for the data plane (manual keying; IKEv2 will make them later
 * through the same dp_tunnel).  Builds on config/versions.h.
 */
#ifndef HG_DAEMON_TUNNELS_H
#define HG_DAEMON_TUNNELS_H

#include "../daemon.h"

/* The tunnels the data plane runs, by interface index, and the SHA-256
 * of each SA's key (never the key) to see a key file change. */
#define HG_TUNNEL_DIGEST_LEN	32

#define HG_TUNNEL_TOLD_SOFT	0x1	/* the rekey limit was reported */
#define HG_TUNNEL_TOLD_DEAD	0x2	/* the end of life was */

struct hg_tunnels {
	struct dp_tunnels dp;
	uint8_t digest[IP_IF_MAX][2][HG_TUNNEL_DIGEST_LEN];	/* out, in */
	uint8_t told[IP_IF_MAX][2];	/* HG_TUNNEL_TOLD_*, out and in */
	bool move[IP_IF_MAX];		/* staged: the peer moved */
	uint64_t rekeys_due, expired;	/* SAs reported so, ever */
};

/* Start: every tunnel of cfg, its SAs from the key files; 0, or -errno
 * with err naming the tunnel and nothing made. */
int hg_tunnels_open(struct hg_daemon *d, const struct hg_config *cfg,
    struct hg_tunnels *out, char *err, size_t err_len);

/*
 * A reload: gives cfg's tunnel interfaces their slots beside old's (a
 * tunnel of the same name keeps its index, a new one takes a free one;
 * slots between are holes with no name and port "null") and renumbers
 * cfg's routes, neighbours and tunnels to match.  -ENOSPC with err.
 */
int hg_tunnels_place(const struct hg_config *old, struct hg_config *cfg,
    char *err, size_t err_len);
/* The tunnels of a placed cfg: cur's SAs where old had the same entry
 * and the key files still hold the same keys, new ones elsewhere.  0, or
 * -errno with err and nothing made. */
int hg_tunnels_stage(struct hg_daemon *d, const struct hg_config *old,
    const struct hg_config *cfg, const struct hg_tunnels *cur,
    struct hg_tunnels *next, char *err, size_t err_len);
/* At the publish, hg-ike's lock held (config/ike.h): IKE's tunnels in
 * next whose entry is the same in old and cfg take what IKE installed in
 * cur (hg_tunnels_stage() leaves them empty). */
void hg_tunnels_take_ike(const struct hg_config *old,
    const struct hg_config *cfg, const struct hg_tunnels *cur,
    struct hg_tunnels *next);
/* At the publish, before next goes to the data plane (dpt, its copy):
 * the outbound SA of a tunnel whose peer moved is moved with it
 * (esp_sa_move), sequence numbers going on; the old one is freed by
 * hg_tunnels_commit(). */
void hg_tunnels_move(const struct hg_config *cfg, struct hg_tunnels *next,
    struct dp_tunnels *dpt);
/* Once the data plane runs next (dp_tunnels_swap() returned): frees the
 * SAs of cur that next dropped, logs what changed from old to cfg, and
 * next becomes cur. */
void hg_tunnels_commit(const struct hg_config *old, const struct hg_config *cfg,
    struct hg_tunnels *cur, struct hg_tunnels *next);
/* A staged next given up: frees the SAs it made (not cur's). */
void hg_tunnels_unstage(struct hg_tunnels *next, const struct hg_tunnels *cur);
/* The control plane's look at the SAs (each second): an SA past its
 * rekey limit, or at its end of life, is logged once and counted. */
void hg_tunnels_watch(struct hg_daemon *d);
/* Frees every SA of t, their keys wiped. */
void hg_tunnels_close(struct hg_tunnels *t);

#endif /* HG_DAEMON_TUNNELS_H */
