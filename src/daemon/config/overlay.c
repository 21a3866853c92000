/*
 * src/daemon/config/overlay.c: see overlay.h.
 *
 * Slots.  The engine, the data plane's keypairs, its endpoints and its
 * per-peer counters all number peers by slot.  A slot is a public key's
 * for as long as the configuration has that key: a reload that removes a
 * client (revoke) or reorders the list moves nobody else, so no other
 * peer loses its session.  A removed key's slot is cleared and may be
 * taken by a later key.
 *
 * Publishing.  The engine says a peer's keypairs or endpoint changed
 * (changed()); the whole overlay (every slot's keypairs, the receiver
 * index table) is published once after the datagram or tick that
 * changed it, so a burst of handshakes is one swap.  A keypair the
 * engine retires is freed only after the next swap has returned: by
 * then no worker holds it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../lib/log.h"
#include "../../lib/hg_time.h"
#include "../../lib/text.h"
#include "../../tun/wg_data.h"
#include "../../tun/wg_dev.h"
#include "versions.h"
#include "overlay.h"

/* The queue is "under load" (the protocol's word) past this many
 * datagrams waiting: then initiations must carry a cookie (MAC2). */
#define OV_LOAD_BACKLOG		128
#define KEY_FILE_MAX		128	/* "wg genkey": 44 characters */

struct ov_slot {
	bool used;
	uint16_t cfg_idx;		/* in d->cfg->overlay.peers */
	uint8_t pub[32];
	struct dp_wg_endpoint ep;	/* what the data plane was last told
					   or was last seen to hold */
};

struct hg_overlay {
	struct hg_daemon *d;
	struct wg_dev *dev;
	uint8_t priv[32], pub[32];
	uint16_t port, if_idx;
	uint16_t n_slots;		/* the highest used slot + 1 */
	struct ov_slot slot[WG_DEV_PEERS_MAX];
	struct dp_wg_routes *routes;	/* the published overlay's */
	bool dirty;			/* keypairs to publish */
	/* Retired keypairs, freed after the next publish. */
	struct wg_keypair **retired;
	size_t n_retired, cap_retired;
	uint64_t send_lost, send_lost_logged_ms;
};

/* ---- keys -------------------------------------------------------------- */

static int
x25519_pub(uint8_t pub[32], const uint8_t priv[32])
{
	EVP_PKEY *pk;
	size_t len = 32;
	int ok;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    32);
	if (pk == NULL)
		return -EIO;
	ok = EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 &&
	    len == 32;
	EVP_PKEY_free(pk);
	return ok ? 0 : -EIO;
}

/* A fresh key pair; the private key clamped as wg genkey writes it, so
 * the file reads the same as one wg made. */
int
hg_overlay_keypair(uint8_t priv[32], uint8_t pub[32])
{
	if (RAND_priv_bytes(priv, 32) != 1)
		return -EIO;
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
	if (x25519_pub(pub, priv) != 0) {
		OPENSSL_cleanse(priv, 32);
		return -EIO;
	}
	return 0;
}

/* base64 of a key into out (at least 45 bytes); the heap copy wiped. */
int
hg_overlay_key_b64(const uint8_t key[32], char *out, size_t len)
{
	char *s = hg_base64_encode(key, 32);
	int rc = 0;

	if (s == NULL)
		return -ENOMEM;
	if (snprintf(out, len, "%s", s) >= (int)len)
		rc = -ENOSPC;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return rc;
}

/*
 * A fresh key written beside path and linked into place: no one ever
 * reads a half-written key, and of two makers racing the first wins
 * (the other's link fails with EEXIST and it reads the winner's).
 */
static int
key_file_make(const char *path, uint8_t priv[32], char *err,
    size_t err_len)
{
	char tmp[HG_CFG_PATH_MAX * 2 + 16], text[64];
	uint8_t pub[32];
	size_t len;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, err_len, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if ((rc = hg_overlay_keypair(priv, pub)) != 0 ||
	    (rc = hg_overlay_key_b64(priv, text, sizeof(text))) != 0) {
		snprintf(err, err_len, "%s: cannot make a key", path);
		return rc;
	}
	len = strlen(text);
	text[len++] = '\n';
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "private_key_file %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = -errno;
		snprintf(err, err_len, "private_key_file %s: %s", tmp,
		    strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	close(fd);
	rc = link(tmp, path) == 0 ? 0 : -errno;
	(void)unlink(tmp);
	if (rc != 0 && rc != -EEXIST)
		snprintf(err, err_len, "private_key_file %s: %s", path,
		    strerror(-rc));
	if (rc == 0)
		hg_log_info("overlay: made a new key in %s", path);
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (rc != 0)
		OPENSSL_cleanse(priv, 32);
	return rc;
}

/* Reads the key file: a regular file, its owner's only, one base64 key. */
static int
key_file_read(const char *path, uint8_t priv[32], char *err,
    size_t err_len)
{
	char text[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t got;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, err_len, "private_key_file %s: %s", path,
		    strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, err_len, "private_key_file %s must be a regular "
		    "file readable by its owner only (chmod 600)", path);
		return -EPERM;
	}
	got = read(fd, text, KEY_FILE_MAX);
	close(fd);
	if (got < 0) {
		snprintf(err, err_len, "private_key_file %s: %s", path,
		    strerror(errno));
		return -EIO;
	}
	/* wg genkey ends its line; an editor may add blanks. */
	while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r' ||
	    text[got - 1] == ' ' || text[got - 1] == '\t'))
		got--;
	text[got] = '\0';
	if (hg_base64_decode_exact(text, priv, 32) != 0) {
		snprintf(err, err_len, "private_key_file %s: not a WireGuard "
		    "private key (the 44 characters of base64 wg genkey "
		    "prints)", path);
		rc = -EINVAL;
	}
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int
hg_overlay_key_load(const struct hg_daemon *d, const struct hg_config *cfg,
    uint8_t priv[32], uint8_t pub[32], char *err,
    size_t err_len)
{
	char path[HG_CFG_PATH_MAX * 2];
	int rc;

	hg_cfg_rel_path(d, cfg->overlay.key_file, path, sizeof(path));
	rc = key_file_read(path, priv, err, err_len);
	if (rc == -ENOENT) {
		rc = key_file_make(path, priv, err, err_len);
		if (rc == -EEXIST)
			rc = key_file_read(path, priv, err, err_len);
	}
	if (rc == 0 && x25519_pub(pub, priv) != 0) {
		snprintf(err, err_len, "private_key_file %s: X25519 failed",
		    path);
		rc = -EIO;
	}
	if (rc != 0)
		OPENSSL_cleanse(priv, 32);
	return rc;
}

/* A peer's preshared key as configured: base64 (sealed ones are not
 * taken yet, as for IPsec).  0 or -EINVAL with why. */
static int
psk_decode(const char *s, uint8_t psk[32], const char **why)
{
	if (strncmp(s, "hgsec1:", 7) == 0) {
		*why = "sealed secrets (hgsec1:) are not taken here yet: give "
		    "the key as base64 (wg genpsk)";
		return -EINVAL;
	}
	if (hg_base64_decode_exact(s, psk, 32) != 0) {
		*why = "not 44 characters of base64 (wg genpsk)";
		return -EINVAL;
	}
	return 0;
}

int
hg_overlay_check(const struct hg_daemon *d, const struct hg_config *cfg,
    bool make_key, char *err, size_t err_len)
{
	const struct hg_cfg_overlay *ov = &cfg->overlay;
	uint8_t priv[32], pub[32], psk[32];
	char path[HG_CFG_PATH_MAX * 2];
	uint16_t n_clients = 0;
	bool have_pub = true;
	const char *why;
	int rc;

	if (!ov->enabled)
		return 0;
	if (make_key) {
		rc = hg_overlay_key_load(d, cfg, priv, pub, err, err_len);
	} else {
		/* --check makes nothing: a missing key is one a start
		 * makes. */
		hg_cfg_rel_path(d, ov->key_file, path, sizeof(path));
		rc = key_file_read(path, priv, err, err_len);
		if (rc == -ENOENT) {
			hg_log_info("overlay: %s does not exist yet: a start "
			    "makes it (0600, a fresh key)", path);
			have_pub = false;
			rc = 0;
		} else if (rc == 0 && x25519_pub(pub, priv) != 0) {
			snprintf(err, err_len, "overlay: X25519 failed");
			rc = -EIO;
		}
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	if (rc != 0)
		return rc;
	for (uint16_t k = 0; k < ov->n_peers; k++) {
		const struct hg_cfg_wg_peer *wp = &ov->peers[k];
		unsigned idx = wp->client ? k : (unsigned)(k - n_clients);

		n_clients += wp->client;
		if (have_pub && memcmp(wp->pub, pub, 32) == 0) {
			snprintf(err, err_len, "/overlay/%s/%u/public_key: the "
			    "appliance's own public key", wp->client ?
			    "clients" : "peers", idx);
			return -EINVAL;
		}
		if (wp->psk[0] != '\0' && psk_decode(wp->psk, psk, &why) != 0) {
			snprintf(err, err_len, "/overlay/%s/%u/preshared_key "
			    "(%s): %s", wp->client ? "clients" : "peers", idx,
			    wp->name, why);
			return -EINVAL;
		}
	}
	OPENSSL_cleanse(psk, sizeof(psk));
	return 0;
}

/* ---- endpoints ------------------------------------------------------- */

static void
ep_to_dp(const struct wg_endpoint *e, struct dp_wg_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->family = e->family;
	out->port = e->port;
	memcpy(out->addr, e->addr, 16);
	memcpy(out->local, e->local, 16);
}

static void
ep_from_dp(const struct dp_wg_endpoint *e, uint16_t our_port,
    struct wg_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->family = e->family;
	out->port = e->port;
	memcpy(out->addr, e->addr, 16);
	memcpy(out->local, e->local, 16);
	out->local_port = our_port;
}

/* Which of our addresses answers toward addr: the first of its family on
 * the interface the route to it leaves by.  False for none. */
static bool
local_for(struct hg_overlay *o, uint8_t family, const uint8_t *addr,
    uint8_t local[16])
{
	const struct ip_tables *t = dp_tables(o->d->dp);
	const struct ip_if *ifp;
	uint32_t nh, a;

	memset(local, 0, 16);
	if (family == AF_INET) {
		memcpy(&a, addr, 4);
		nh = ip_fib4_lookup(t->fib4, a);
	} else
		nh = ip_fib6_lookup(t->fib6, addr);
	if (nh == IP_FIB_MISS || t->nh[nh].type == IP_NH_BLACKHOLE ||
	    t->nh[nh].type == IP_NH_LOCAL)
		return false;
	ifp = &t->ifs[t->nh[nh].if_idx];
	if (family == AF_INET && ifp->n_addr4 > 0)
		memcpy(local, &ifp->addr4[0].addr_be, 4);
	else if (family == AF_INET6 && ifp->n_addr6 > 0)
		memcpy(local, ifp->addr6[0].addr, 16);
	else
		return false;
	return true;
}

static bool
addr_zero(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static void publish(struct hg_overlay *o);

/* ---- the engine's callbacks ------------------------------------------ */

static void
on_send(void *ctx, const struct wg_endpoint *ep, const uint8_t *msg,
    size_t len)
{
	struct hg_overlay *o = ctx;
	struct dp_dgram g;
	uint64_t now;

	/* What changed goes to the data plane before the message that lets
	 * the peer use it (our response: its next data is on the new
	 * keypair, and may be back before this datagram's caller would
	 * have published). */
	if (o->dirty)
		publish(o);
	memset(&g, 0, sizeof(g));
	g.family = ep->family;
	memcpy(g.dst, ep->addr, 16);
	if (!addr_zero(ep->local))
		memcpy(g.src, ep->local, 16);
	else if (!local_for(o, ep->family, ep->addr, g.src))
		return;		/* no route to the peer: nothing to send */
	g.sport = o->port;
	g.dport = ep->port;
	if (dp_ctl_send(o->d->dp, &g, msg, len))
		return;
	o->send_lost++;
	now = hg_now_ns() / HG_NS_PER_MS;
	if (now - o->send_lost_logged_ms >= 1000) {
		hg_log_warnx("overlay: %llu datagram%s could not be queued to "
		    "the data plane (its ring full)", (unsigned long long)
		    o->send_lost, o->send_lost == 1 ? "" : "s");
		o->send_lost = 0;
		o->send_lost_logged_ms = now;
	}
}

static void
on_changed(void *ctx, uint16_t peer)
{
	struct hg_overlay *o = ctx;
	struct wg_endpoint e;
	struct dp_wg_endpoint de;

	o->dirty = true;
	if (peer >= WG_DEV_PEERS_MAX || !o->slot[peer].used)
		return;
	wg_dev_endpoint_of(o->dev, peer, &e);
	ep_to_dp(&e, &de);
	if (de.family != 0 && addr_zero(de.local))
		(void)local_for(o, de.family, de.addr, de.local);
	if (memcmp(&de, &o->slot[peer].ep, sizeof(de)) != 0) {
		o->slot[peer].ep = de;
		dp_wg_endpoint_set(o->d->dp, peer, &de);
	}
}

static void
on_retire(void *ctx, struct wg_keypair *kp)
{
	struct hg_overlay *o = ctx;

	if (o->n_retired == o->cap_retired) {
		size_t cap = o->cap_retired ? 2 * o->cap_retired : 64;
		struct wg_keypair **r = realloc(o->retired, cap * sizeof(*r));

		if (r == NULL) {
			/* Leaked rather than freed under a worker. */
			hg_log_warnx("overlay: out of memory: a keypair is "
			    "not freed");
			return;
		}
		o->retired = r;
		o->cap_retired = cap;
	}
	o->retired[o->n_retired++] = kp;
	o->dirty = true;
}

/* A receiver index that names the worker the peer's datagrams reach: the
 * one that receives on it without a handoff (src/dp/overlay.c). */
static uint32_t
on_pick_index(void *ctx, const struct wg_endpoint *ep, uint32_t rnd)
{
	struct hg_overlay *o = ctx;
	uint16_t nw = dp_n_workers(o->d->dp);
	struct dp_wg_endpoint de;
	uint64_t idx;

	if (nw <= 1 || ep == NULL || ep->family == 0)
		return rnd;
	ep_to_dp(ep, &de);
	if (addr_zero(de.local))
		(void)local_for(o, de.family, de.addr, de.local);
	idx = (uint64_t)(rnd / nw) * nw + dp_wg_worker_of(o->d->dp, &de,
	    o->port);
	if (idx > UINT32_MAX)
		idx -= nw;
	return (uint32_t)idx;
}

static void
on_log(void *ctx, bool warn, const char *line)
{
	(void)ctx;
	if (warn)
		hg_log_warnx("overlay: %s", line);
	else
		hg_log_info("overlay: %s", line);
}

static uint64_t
on_wall_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- publishing -------------------------------------------------------- */

/* The overlay with every slot's keypairs to the data plane; then the
 * keypairs retired before it are freed. */
static void
publish(struct hg_overlay *o)
{
	const struct hg_cfg_if *ifc = &o->d->cfg->ifs[o->if_idx];
	struct dp_overlay *ov = calloc(1, sizeof(*ov));
	size_t n_free = o->n_retired;

	if (ov == NULL) {
		hg_log_warnx("overlay: out of memory: keypairs not published");
		return;
	}
	ov->if_idx = o->if_idx;
	ov->port = o->port;
	ov->n_peers = o->n_slots;
	ov->mss4 = (uint16_t)(ifc->mtu_bytes - 40);
	ov->mss6 = (uint16_t)(ifc->mtu_bytes - 60);
	ov->routes = o->routes;
	for (uint16_t s = 0; s < o->n_slots; s++) {
		struct wg_dev_keys k;

		if (!o->slot[s].used)
			continue;
		wg_dev_keys_of(o->dev, s, &k);
		ov->peers[s].cur = k.cur;
		ov->peers[s].prev = k.prev;
		ov->peers[s].next = k.next;
	}
	dp_overlay_index(ov);
	dp_overlay_swap(o->d->dp, ov);
	for (size_t i = 0; i < n_free; i++)
		wg_keypair_free(o->retired[i]);
	if (o->n_retired > n_free)	/* retired during the swap */
		memmove(o->retired, o->retired + n_free,
		    (o->n_retired - n_free) * sizeof(*o->retired));
	o->n_retired -= n_free;
	o->dirty = false;
}

/* The allowed IPs of cfg's peers by slot. */
static struct dp_wg_routes *
routes_build(struct hg_overlay *o, const struct hg_config *cfg)
{
	const struct hg_cfg_overlay *ov = &cfg->overlay;
	struct dp_wg_prefix *p;
	struct dp_wg_routes *r = NULL;
	uint32_t n = 0;

	p = calloc((size_t)ov->n_peers * HG_CFG_WG_ALLOWED_MAX + 1,
	    sizeof(*p));
	if (p == NULL)
		return NULL;
	for (uint16_t s = 0; s < o->n_slots; s++) {
		const struct hg_cfg_wg_peer *wp;

		if (!o->slot[s].used)
			continue;
		wp = &ov->peers[o->slot[s].cfg_idx];
		for (uint8_t j = 0; j < wp->n_allowed; j++) {
			p[n].family = wp->allowed[j].a.family;
			p[n].plen = wp->allowed[j].len_bits;
			memcpy(p[n].addr, wp->allowed[j].a.addr, 16);
			p[n].peer = s;
			n++;
		}
	}
	if (dp_wg_routes_create(&r, p, n) != 0)
		r = NULL;
	free(p);
	return r;
}

/* ---- peers from the configuration ------------------------------------ */

static void
peer_cfg(const struct hg_cfg_wg_peer *wp, struct wg_dev_peer_cfg *pc)
{
	const char *why;

	memset(pc, 0, sizeof(*pc));
	memcpy(pc->pub, wp->pub, 32);
	if (wp->psk[0] != '\0' && psk_decode(wp->psk, pc->psk, &why) == 0)
		pc->has_psk = true;
	if (wp->endpoint.family != 0) {
		pc->endpoint.family = wp->endpoint.family;
		memcpy(pc->endpoint.addr, wp->endpoint.addr, 16);
		pc->endpoint.port = wp->endpoint_port;
	}
	pc->keepalive_s = wp->keepalive_s;
	pc->enabled = wp->enabled;
}

/*
 * The peers of cfg into the engine, each keeping the slot of its public
 * key; the slots of keys gone cleared.  Then the routes and a publish.
 */
static void
peers_apply(struct hg_overlay *o, const struct hg_config *cfg)
{
	const struct hg_cfg_overlay *ov = &cfg->overlay;
	bool keep[WG_DEV_PEERS_MAX] = { false };
	uint16_t slot_of[HG_CFG_WG_PEERS_MAX];
	struct dp_wg_routes *old = o->routes;
	uint64_t now = hg_now_ns() / HG_NS_PER_MS;

	for (uint16_t k = 0; k < ov->n_peers; k++) {
		slot_of[k] = WG_DEV_PEERS_MAX;
		for (uint16_t s = 0; s < o->n_slots; s++)
			if (o->slot[s].used && !keep[s] &&
			    memcmp(o->slot[s].pub, ov->peers[k].pub, 32) == 0) {
				slot_of[k] = s;
				keep[s] = true;
				break;
			}
	}
	/* Keys gone first: their slots are free for the new ones. */
	for (uint16_t s = 0; s < o->n_slots; s++)
		if (o->slot[s].used && !keep[s]) {
			struct dp_wg_endpoint none;

			wg_dev_peer_clear(o->dev, s);
			memset(&o->slot[s], 0, sizeof(o->slot[s]));
			memset(&none, 0, sizeof(none));
			dp_wg_endpoint_set(o->d->dp, s, &none);
		}
	for (uint16_t k = 0; k < ov->n_peers; k++) {
		struct wg_dev_peer_cfg pc;
		uint16_t s = slot_of[k];
		int rc;

		if (s == WG_DEV_PEERS_MAX)
			for (s = 0; s < WG_DEV_PEERS_MAX && o->slot[s].used;
			    s++)
				;
		if (s == WG_DEV_PEERS_MAX)
			break;	/* the parser bounds peers below slots */
		o->slot[s].used = true;
		o->slot[s].cfg_idx = k;
		memcpy(o->slot[s].pub, ov->peers[k].pub, 32);
		if (s >= o->n_slots)
			o->n_slots = (uint16_t)(s + 1);
		peer_cfg(&ov->peers[k], &pc);
		rc = wg_dev_peer_set(o->dev, s, &pc, now);
		OPENSSL_cleanse(&pc, sizeof(pc));
		if (rc != 0)
			hg_log_warnx("overlay: peer %s: %s", ov->peers[k].name,
			    strerror(-rc));
		on_changed(o, s);	/* its endpoint, as configured */
	}
	while (o->n_slots > 0 && !o->slot[o->n_slots - 1].used)
		o->n_slots--;
	o->routes = routes_build(o, cfg);
	if (o->routes == NULL)
		hg_log_warnx("overlay: out of memory: no allowed IPs");
	publish(o);
	dp_wg_routes_free(old);		/* the swap's grace period passed */
}

/* ---- start, datagrams, ticks, stop ----------------------------------- */

static int
engine_create(struct hg_overlay *o, char *err, size_t err_len)
{
	struct wg_dev_env env = {
		.ctx = o, .send = on_send, .changed = on_changed,
		.retire = on_retire, .pick_index = on_pick_index,
		.log = on_log, .wall_ns = on_wall_ns,
	};
	int rc = wg_dev_create(&o->dev, &env, o->priv);

	if (rc != 0)
		snprintf(err, err_len, "overlay: engine: %s", strerror(-rc));
	return rc;
}

static void
overlay_free(struct hg_overlay *o)
{
	if (o->dev != NULL)
		wg_dev_destroy(o->dev);	/* retires every keypair */
	o->dev = NULL;
	dp_overlay_swap(o->d->dp, NULL);
	for (size_t i = 0; i < o->n_retired; i++)
		wg_keypair_free(o->retired[i]);
	free(o->retired);
	dp_wg_routes_free(o->routes);
	OPENSSL_cleanse(o->priv, sizeof(o->priv));
	free(o);
}

int
hg_overlay_start(struct hg_daemon *d, char *err, size_t err_len)
{
	const struct hg_cfg_overlay *ov = &d->cfg->overlay;
	struct hg_overlay *o;
	int rc;

	if (!ov->enabled)
		return 0;
	if ((rc = hg_overlay_check(d, d->cfg, true, err, err_len)) != 0)
		return rc;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, err_len, "overlay: out of memory");
		return -ENOMEM;
	}
	o->d = d;
	o->port = ov->port;
	o->if_idx = ov->if_idx;
	rc = hg_overlay_key_load(d, d->cfg, o->priv, o->pub, err, err_len);
	if (rc == 0)
		rc = engine_create(o, err, err_len);
	if (rc != 0) {
		OPENSSL_cleanse(o->priv, sizeof(o->priv));
		free(o);
		return rc;
	}
	d->overlay = o;
	peers_apply(o, d->cfg);
	{
		char *pub = hg_base64_encode(o->pub, 32);

		hg_log_info("overlay: %s, UDP port %u, %u peer%s, public key "
		    "%s", d->cfg->ifs[o->if_idx].name, o->port, ov->n_peers,
		    ov->n_peers == 1 ? "" : "s", pub != NULL ? pub : "?");
		free(pub);
	}
	return 0;
}

uint16_t
hg_overlay_port(const struct hg_daemon *d)
{
	return d->overlay != NULL ? d->overlay->port : 0;
}

void
hg_overlay_input(struct hg_daemon *d, const struct dp_dgram *g,
    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct hg_overlay *o = d->overlay;
	struct wg_endpoint from;

	if (o == NULL)
		return;
	memset(&from, 0, sizeof(from));
	from.family = g->family;
	memcpy(from.addr, g->src, 16);
	from.port = g->sport;
	memcpy(from.local, g->dst, 16);
	from.local_port = g->dport;
	wg_dev_input(o->dev, &from, msg, len,
	    dp_ctl_backlog(d->dp) > OV_LOAD_BACKLOG, now_ms);
	if (o->dirty)
		publish(o);
}

static uint64_t
ns_to_ms(uint64_t ns)
{
	return ns / HG_NS_PER_MS;
}

void
hg_overlay_tick(struct hg_daemon *d, uint64_t now_ms)
{
	struct hg_overlay *o = d->overlay;
	static struct wg_peer_obs obs[WG_DEV_PEERS_MAX];

	if (o == NULL)
		return;
	memset(obs, 0, sizeof(*obs) * o->n_slots);
	for (uint16_t s = 0; s < o->n_slots; s++) {
		struct dp_wg_peer_stats st;
		struct dp_wg_endpoint ep;
		struct wg_dev_keys k;

		if (!o->slot[s].used)
			continue;
		dp_wg_peer_stats(d->dp, s, &st);
		obs[s].last_tx_ms = ns_to_ms(st.last_tx_ns);
		obs[s].last_tx_data_ms = ns_to_ms(st.last_tx_data_ns);
		obs[s].last_rx_ms = ns_to_ms(st.last_rx_ns);
		obs[s].last_rx_data_ms = ns_to_ms(st.last_rx_data_ns);
		obs[s].want_ms = ns_to_ms(st.want_ns);
		obs[s].rx_index = st.confirmed_index;
		wg_dev_keys_of(o->dev, s, &k);
		if (k.cur != NULL) {
			struct wg_keypair_stats ks;

			wg_keypair_stats(k.cur, &ks);
			obs[s].send_next = ks.send_next;
		}
		/* A worker moved the endpoint (roaming): the engine's
		 * handshakes follow. */
		if (dp_wg_endpoint_get(d->dp, s, &ep) &&
		    memcmp(&ep, &o->slot[s].ep, sizeof(ep)) != 0) {
			o->slot[s].ep = ep;
			ep_from_dp(&ep, o->port, &obs[s].rx_from);
		}
	}
	wg_dev_tick(o->dev, obs, o->n_slots, now_ms);
	if (o->dirty)
		publish(o);
}

void
hg_overlay_reload(struct hg_daemon *d)
{
	struct hg_overlay *o = d->overlay;
	uint8_t priv[32], pub[32];
	char err[256];

	if (o != NULL && !d->cfg->overlay.enabled) {
		hg_log_info("overlay: removed");
		hg_overlay_stop(d);
		return;
	}
	if (o == NULL) {
		if (d->cfg->overlay.enabled &&
		    hg_overlay_start(d, err, sizeof(err)) != 0)
			hg_log_warnx("%s", err);
		return;
	}
	if (hg_overlay_key_load(d, d->cfg, priv, pub, err, sizeof(err)) != 0) {
		hg_log_warnx("overlay: reload: %s; the key kept", err);
	} else if (memcmp(pub, o->pub, 32) != 0) {
		/* A new identity: every session starts again. */
		hg_log_info("overlay: a new private key: sessions restart");
		wg_dev_destroy(o->dev);
		o->dev = NULL;
		memset(o->slot, 0, sizeof(o->slot));
		o->n_slots = 0;
		memcpy(o->priv, priv, 32);
		memcpy(o->pub, pub, 32);
		if (engine_create(o, err, sizeof(err)) != 0) {
			hg_log_warnx("%s", err);
			OPENSSL_cleanse(priv, sizeof(priv));
			d->overlay = o;
			hg_overlay_stop(d);
			return;
		}
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	o->port = d->cfg->overlay.port;
	o->if_idx = d->cfg->overlay.if_idx;
	peers_apply(o, d->cfg);
}

void
hg_overlay_stop(struct hg_daemon *d)
{
	if (d->overlay == NULL)
		return;
	overlay_free(d->overlay);
	d->overlay = NULL;
}

int
hg_overlay_initiate(struct hg_daemon *d, const char *name)
{
	struct hg_overlay *o = d->overlay;
	int rc;

	if (o == NULL)
		return -ENOENT;
	for (uint16_t s = 0; s < o->n_slots; s++) {
		if (!o->slot[s].used || strcmp(d->cfg->overlay.peers[
		    o->slot[s].cfg_idx].name, name) != 0)
			continue;
		rc = wg_dev_initiate(o->dev, s, hg_now_ns() / HG_NS_PER_MS);
		if (o->dirty)
			publish(o);
		return rc;
	}
	return -ENOENT;
}

/* ---- status ------------------------------------------------------------ */

static json_t *
ep_json(const struct wg_endpoint *e)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 10];

	if (e->family == 0)
		return json_null();
	inet_ntop(e->family, e->addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), e->family == AF_INET6 ? "[%s]:%u" :
	    "%s:%u", a, e->port);
	return json_string(buf);
}

static json_t *
key_json(const uint8_t k[32])
{
	char *s = hg_base64_encode(k, 32);
	json_t *j = s != NULL ? json_string(s) : json_null();

	free(s);
	return j;
}

char *
hg_overlay_status(struct hg_daemon *d)
{
	struct hg_overlay *o = d->overlay;
	const struct hg_cfg_overlay *ov = &d->cfg->overlay;
	struct wg_dev_stats ds;
	json_t *root, *peers;
	char *text;

	if (o == NULL)
		return NULL;
	root = json_object();
	peers = json_array();
	json_object_set_new(root, "enabled", json_true());
	json_object_set_new(root, "interface",
	    json_string(d->cfg->ifs[o->if_idx].name));
	json_object_set_new(root, "public_key", key_json(o->pub));
	json_object_set_new(root, "listen_port", json_integer(o->port));
	for (uint16_t s = 0; s < o->n_slots; s++) {
		const struct hg_cfg_wg_peer *wp;
		struct wg_dev_peer_status ps;
		struct dp_wg_peer_stats st;
		json_t *p, *allowed;
		char pf[INET6_ADDRSTRLEN + 4], a[INET6_ADDRSTRLEN];

		if (!o->slot[s].used)
			continue;
		wp = &ov->peers[o->slot[s].cfg_idx];
		wg_dev_peer_status(o->dev, s, &ps);
		dp_wg_peer_stats(d->dp, s, &st);
		p = json_object();
		json_object_set_new(p, "name", json_string(wp->name));
		json_object_set_new(p, "kind", json_string(wp->client ?
		    "client" : "site"));
		json_object_set_new(p, "public_key", key_json(wp->pub));
		json_object_set_new(p, "enabled", json_boolean(wp->enabled));
		json_object_set_new(p, "preshared_key",
		    json_boolean(wp->psk[0] != '\0'));
		json_object_set_new(p, "endpoint", ep_json(&ps.endpoint));
		allowed = json_array();
		for (uint8_t j = 0; j < wp->n_allowed; j++) {
			inet_ntop(wp->allowed[j].a.family,
			    wp->allowed[j].a.addr, a, sizeof(a));
			snprintf(pf, sizeof(pf), "%s/%u", a,
			    wp->allowed[j].len_bits);
			json_array_append_new(allowed, json_string(pf));
		}
		json_object_set_new(p, "allowed_ips", allowed);
		json_object_set_new(p, "latest_handshake", json_integer(
		    (json_int_t)(ps.last_handshake_wall_ns / 1000000000ull)));
		json_object_set_new(p, "transfer_rx",
		    json_integer((json_int_t)st.rx_bytes));
		json_object_set_new(p, "transfer_tx",
		    json_integer((json_int_t)st.tx_bytes));
		json_object_set_new(p, "persistent_keepalive",
		    json_integer(wp->keepalive_s));
		json_object_set_new(p, "session", json_boolean(ps.has_session));
		json_object_set_new(p, "handshaking",
		    json_boolean(ps.handshaking));
		json_array_append_new(peers, p);
	}
	json_object_set_new(root, "peers", peers);
	wg_dev_stats(o->dev, &ds);
	json_object_set_new(root, "handshakes",
	    json_integer((json_int_t)ds.handshakes_completed));
	json_object_set_new(root, "cookie_replies_sent",
	    json_integer((json_int_t)ds.cookie_replies_sent));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

bool
hg_overlay_stats(struct hg_daemon *d, struct hg_overlay_stats *out)
{
	struct hg_overlay *o = d->overlay;
	struct wg_dev_stats ds;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return false;
	for (uint16_t s = 0; s < o->n_slots; s++) {
		struct wg_dev_peer_status ps;
		struct dp_wg_peer_stats st;

		if (!o->slot[s].used)
			continue;
		out->peers++;
		wg_dev_peer_status(o->dev, s, &ps);
		out->peers_up += ps.has_session;
		dp_wg_peer_stats(d->dp, s, &st);
		out->rx_bytes += st.rx_bytes;
		out->tx_bytes += st.tx_bytes;
	}
	wg_dev_stats(o->dev, &ds);
	out->handshakes = ds.handshakes_completed;
	out->initiations = ds.initiations_sent;
	out->responses = ds.responses_sent;
	out->cookie_replies_sent = ds.cookie_replies_sent;
	out->keepalives = ds.keepalives_sent;
	out->rekeys = ds.rekeys;
	out->expired = ds.keypairs_expired;
	out->rate_limited = ds.rate_limited;
	for (int e = 1; e < WG_E_COUNT; e++)
		out->refused += ds.drops[e];
	out->refused += ds.peer_disabled;
	return true;
}
