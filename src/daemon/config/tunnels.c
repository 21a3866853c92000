/*
 * src/daemon/config/tunnels.c: the configured ESP tunnels' SAs (issue
 * 14, manual keying), made for the data plane at start and at each
 * reload.  An SA's key is in a file of its own, hex, readable by root
 * only: it is read here, handed to the ESP layer and wiped, so no key is
 * ever in the configuration text, a version in the store, a log or an
 * answer; only its SHA-256 is kept, to see at a reload whether the file
 * changed.
 *
 * A tunnel keeps its interface index (its slot) for as long as it is
 * configured: a reload that adds or removes tunnels moves no other one,
 * so their routes, counters, SAs and anti-replay state carry on.  A
 * tunnel whose entry or key files are unchanged keeps its SAs; a changed
 * one gets new SAs in the same slot; a new one takes a free slot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../../lib/text.h"
#include "../../lib/log.h"
#include "../../tun/esp.h"
#include "../daemon.h"
#include "tunnels.h"
#include "versions.h"

#define KEY_FILE_MAX	512	/* hex text of the longest keys, and some */

/* The ESP layer's algorithm and key lengths of a configured name. */
static const struct {
	const char *name;
	enum esp_alg alg;
	size_t enc_len, auth_len;	/* bytes; AEAD: key and salt */
} algs[] = {
	{ "aes128gcm", ESP_ALG_AES_GCM_16, 20, 0 },
	{ "aes256gcm", ESP_ALG_AES_GCM_16, 36, 0 },
	{ "chacha20poly1305", ESP_ALG_CHACHA20_POLY1305, 36, 0 },
	{ "aes128cbc-sha256", ESP_ALG_AES_CBC_HMAC_SHA256, 16, 32 },
	{ "aes256cbc-sha256", ESP_ALG_AES_CBC_HMAC_SHA256, 32, 32 },
	{ "aes256cbc-sha384", ESP_ALG_AES_CBC_HMAC_SHA384, 32, 48 },
	{ "aes256cbc-sha512", ESP_ALG_AES_CBC_HMAC_SHA512, 32, 64 },
};

/* Hex digits (blanks and one ':' between the cipher and the HMAC key
 * allowed) to bytes; the count, or -1. */
static int
hex_decode(const char *s, uint8_t *out, size_t max, size_t *split)
{
	size_t n = 0;
	int hi = -1;

	*split = 0;
	for (; *s != '\0'; s++) {
		int v;

		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
			continue;
		if (*s == ':' && hi < 0 && *split == 0) {
			*split = n;
			continue;
		}
		if ((v = hg_hex_digit(*s)) < 0 || (hi < 0 && n == max))
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? (int)n : -1;
}

/* Reads one SA's key: a regular file, not readable by group or others. */
static int
key_read(struct hg_daemon *d, const struct hg_cfg_sa *sa, const char *where,
    uint8_t *key, size_t max, size_t *len, size_t *split, char *err,
    size_t err_len)
{
	char path[HG_CFG_PATH_MAX * 2], text[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t got;
	int fd, n;

	hg_cfg_rel_path(d, sa->key_file, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, err_len, "%s: key_file %s: %s", where, path,
		    strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, err_len, "%s: key_file %s must be a regular file "
		    "readable by its owner only (chmod 600)", where, path);
		return -EPERM;
	}
	got = read(fd, text, KEY_FILE_MAX);
	close(fd);
	if (got < 0) {
		snprintf(err, err_len, "%s: key_file %s: %s", where, path,
		    strerror(errno));
		return -EIO;
	}
	text[got] = '\0';
	n = hex_decode(text, key, max, split);
	OPENSSL_cleanse(text, sizeof(text));
	if (n < 0) {
		snprintf(err, err_len, "%s: key_file %s: not hex digits (the "
		    "cipher key, then for CBC ':' and the HMAC key)", where,
		    path);
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

/* One SA of tunnel tn, inbound or not; *out set, or -errno with err. */
static int
sa_make(struct hg_daemon *d, const struct hg_cfg_tunnel *tn, bool inbound,
    struct esp_sa **out, uint8_t digest[HG_TUNNEL_DIGEST_LEN], char *err,
    size_t err_len)
{
	const struct hg_cfg_sa *sa = inbound ? &tn->sa_in : &tn->sa_out;
	struct esp_sa_config c;
	uint8_t key[128];
	char where[64];
	size_t len = 0, split = 0, a;
	const char *why = NULL;
	int rc;

	snprintf(where, sizeof(where), "tunnel %s %s", tn->name,
	    inbound ? "sa_in" : "sa_out");
	for (a = 0; a < HG_ARRAY_SIZE(algs); a++)
		if (strcmp(algs[a].name, sa->alg) == 0)
			break;
	if (a == HG_ARRAY_SIZE(algs)) {
		snprintf(err, err_len, "%s: no algorithm %s", where, sa->alg);
		return -EINVAL;
	}
	rc = key_read(d, sa, where, key, sizeof(key), &len, &split, err,
	    err_len);
	if (rc != 0)
		return rc;
	if (split == 0)
		split = len;
	if (EVP_Digest(key, len, digest, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(err, err_len, "%s: SHA-256 failed", where);
		return -EIO;
	}
	if (out == NULL) {		/* only the digest wanted */
		OPENSSL_cleanse(key, sizeof(key));
		return 0;
	}
	if (split != algs[a].enc_len || len - split != algs[a].auth_len) {
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(err, err_len, "%s: %s takes a key of %zu bytes%s "
		    "(key_file has %zu, then %zu after ':')", where, sa->alg,
		    algs[a].enc_len, algs[a].auth_len ? ", ':' and an HMAC "
		    "key" : " (AEAD: the key, then the 4-byte salt)", split,
		    len - split);
		return -EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.spi = sa->spi;
	c.alg = algs[a].alg;
	c.inbound = inbound;
	c.esn = tn->esn;
	c.soft_bytes = tn->rekey_bytes;
	c.soft_pkts = tn->rekey_packets;
	c.hard_bytes = tn->life_bytes;
	c.hard_pkts = tn->life_packets;
	c.enc_key = key;
	c.enc_key_len = split;
	c.auth_key = algs[a].auth_len ? key + split : NULL;
	c.auth_key_len = algs[a].auth_len;
	c.family = tn->local.family == AF_INET6 ? 6 : 4;
	memcpy(c.src, inbound ? tn->remote.addr : tn->local.addr, 16);
	memcpy(c.dst, inbound ? tn->local.addr : tn->remote.addr, 16);
	c.udp_encap = tn->udp;
	c.udp_sport = ESP_UDP_PORT;
	c.udp_dport = tn->remote_port;
	/* The outer packet: the inner one, ESP and the outer headers, on
	 * the physical MTU (the tunnel's own MTU keeps inner ones below). */
	c.mtu_bytes = 0;
	rc = esp_sa_create(out, &c, &why);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		snprintf(err, err_len, "%s: %s", where, why != NULL ? why :
		    strerror(-rc));
		return rc;
	}
	return 0;
}

/* The configured prefixes as selectors. */
static uint8_t
ts_of(const struct hg_prefix *p, uint8_t n, struct dp_ts *out)
{
	for (uint8_t i = 0; i < n; i++) {
		out[i].family = p[i].a.family;
		out[i].plen = p[i].len_bits;
		memcpy(out[i].addr, p[i].a.addr, 16);
	}
	return n;
}

/* What the data plane needs of tn besides its SAs: its outer end, its
 * selectors, its MSS clamp (from the tunnel interface's MTU, which a
 * reload may change while the SAs stay). */
static void
tunnel_fill(const struct hg_config *cfg, const struct hg_cfg_tunnel *tn,
    struct dp_tunnel *t)
{
	uint16_t mtu = cfg->ifs[tn->if_idx].mtu_bytes;

	if (tn->mss_clamp == HG_CFG_MSS_AUTO) {
		t->mss4 = (uint16_t)(mtu - 40);		/* IPv4 + TCP */
		t->mss6 = (uint16_t)(mtu - 60);		/* IPv6 + TCP */
	} else
		t->mss4 = t->mss6 = tn->mss_clamp;
	/* IKE's tunnels: the rest is what was negotiated (config/ike.c),
	 * or nothing yet. */
	if (tn->ike && t->in != NULL)
		return;
	t->spi_in = tn->sa_in.spi;
	t->family = tn->remote.family;
	memcpy(t->remote, tn->remote.addr, 16);
	t->keepalive_s = tn->udp ? tn->keepalive_s : 0;
	t->n_local = ts_of(tn->local_subnets, tn->n_local, t->local_ts);
	t->n_remote = ts_of(tn->remote_subnets, tn->n_remote, t->remote_ts);
}

/* An IKE tunnel: tunnel_fill() for its slot 0, and the MSS clamp, the
 * interface's, for the slots of its other children. */
static void
ike_fill(const struct hg_config *cfg, const struct hg_cfg_tunnel *tn,
    struct dp_tunnels *tt)
{
	uint16_t i = tn->if_idx;

	tunnel_fill(cfg, tn, &tt->t[i]);
	for (uint8_t s = 0; s < DP_TUNNEL_SLOTS - 1; s++) {
		tt->more[i][s].mss4 = tt->t[i].mss4;
		tt->more[i][s].mss6 = tt->t[i].mss6;
	}
}

/* Tunnel tn's slot in out, with new SAs; -errno with err, nothing made. */
static int
tunnel_make(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_cfg_tunnel *tn, struct hg_tunnels *out, char *err,
    size_t err_len)
{
	struct dp_tunnel *t = &out->dp.t[tn->if_idx];
	int rc;

	memset(t, 0, sizeof(*t));
	if (tn->ike) {
		/* Keyed by IKE at run time (config/ike.c installs them). */
		tunnel_fill(cfg, tn, t);
		return 0;
	}
	if ((rc = sa_make(d, tn, false, &t->out, out->digest[tn->if_idx][0],
	    err, err_len)) != 0)
		return rc;
	if ((rc = sa_make(d, tn, true, &t->in, out->digest[tn->if_idx][1],
	    err, err_len)) != 0) {
		esp_sa_free(t->out);
		t->out = NULL;
		return rc;
	}
	tunnel_fill(cfg, tn, t);
	return 0;
}

static void
tunnel_log(const struct hg_cfg_tunnel *tn, const char *what)
{
	if (tn->ike)
		return;		/* IKE logs its SAs */
	hg_log_info("tunnel %s%s: ESP%s, SPI out %u in %u, %s", tn->name,
	    what, tn->udp ? "-in-UDP" : "", tn->sa_out.spi, tn->sa_in.spi,
	    tn->sa_out.alg);
}

int
hg_tunnels_open(struct hg_daemon *d, const struct hg_config *cfg,
    struct hg_tunnels *out, char *err, size_t err_len)
{
	int rc;

	memset(out, 0, sizeof(*out));
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		if ((rc = tunnel_make(d, cfg, &cfg->tunnels[k], out, err,
		    err_len)) != 0) {
			hg_tunnels_close(out);
			return rc;
		}
		tunnel_log(&cfg->tunnels[k], "");
	}
	return 0;
}

/* Old's tunnel named name, or NULL. */
static const struct hg_cfg_tunnel *
tunnel_named(const struct hg_config *old, const char *name)
{
	for (uint16_t k = 0; k < old->n_tunnels; k++)
		if (strcmp(old->tunnels[k].name, name) == 0)
			return &old->tunnels[k];
	return NULL;
}

int
hg_tunnels_place(const struct hg_config *old, struct hg_config *cfg,
    char *err, size_t err_len)
{
	static struct hg_cfg_if ifs[HG_CFG_IF_MAX];
	int16_t slot[HG_CFG_IF_MAX];
	bool used[HG_CFG_IF_MAX], was[HG_CFG_IF_MAX];
	uint16_t n_phys = 0, n = 0;

	while (n_phys < cfg->n_ifs && !cfg->ifs[n_phys].tunnel &&
	    !cfg->ifs[n_phys].overlay)
		n_phys++;
	memset(used, 0, sizeof(used));
	memset(was, 0, sizeof(was));
	for (uint16_t i = 0; i < n_phys; i++) {
		slot[i] = (int16_t)i;
		used[i] = true;
	}
	for (uint16_t k = 0; k < old->n_tunnels; k++)
		was[old->tunnels[k].if_idx] = true;
	/* The overlay's interface is placed as a tunnel's: it keeps its
	 * slot while it stays (the overlay's state is by interface). */
	if (old->overlay.enabled)
		was[old->overlay.if_idx] = true;
	if (cfg->overlay.enabled) {
		uint16_t i = cfg->overlay.if_idx;

		slot[i] = -1;
		if (old->overlay.enabled && !used[old->overlay.if_idx] &&
		    strcmp(old->ifs[old->overlay.if_idx].name,
		    cfg->ifs[i].name) == 0) {
			slot[i] = (int16_t)old->overlay.if_idx;
			used[old->overlay.if_idx] = true;
		}
	}
	/* A tunnel that stays keeps its slot. */
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *o = tunnel_named(old,
		    cfg->tunnels[k].name);
		uint16_t i = cfg->tunnels[k].if_idx;

		slot[i] = -1;
		if (o != NULL && !used[o->if_idx]) {
			slot[i] = (int16_t)o->if_idx;
			used[o->if_idx] = true;
		}
	}
	/* A new one takes the first slot no tunnel had (so a slot is not
	 * handed over within one reload), else the first free one; the
	 * overlay's last. */
	for (uint16_t k = 0; k <= cfg->n_tunnels; k++) {
		uint16_t i, s;

		if (k == cfg->n_tunnels && !cfg->overlay.enabled)
			break;
		i = k < cfg->n_tunnels ? cfg->tunnels[k].if_idx :
		    cfg->overlay.if_idx;
		if (slot[i] >= 0)
			continue;
		for (s = n_phys; s < HG_CFG_IF_MAX; s++)
			if (!used[s] && !was[s])
				break;
		if (s == HG_CFG_IF_MAX)
			for (s = n_phys; s < HG_CFG_IF_MAX; s++)
				if (!used[s])
					break;
		if (s == HG_CFG_IF_MAX) {
			snprintf(err, err_len, "%s: no free interface slot "
			    "(at most %d interfaces and tunnels)",
			    cfg->ifs[i].name, HG_CFG_IF_MAX);
			return -ENOSPC;
		}
		slot[i] = (int16_t)s;
		used[s] = true;
	}
	/* The interfaces in their slots; the slots between are holes: no
	 * name, no port, never up. */
	memset(ifs, 0, sizeof(ifs));
	for (uint16_t i = 0; i < cfg->n_ifs; i++) {
		ifs[slot[i]] = cfg->ifs[i];
		if ((uint16_t)slot[i] + 1 > n)
			n = (uint16_t)(slot[i] + 1);
	}
	for (uint16_t s = 0; s < n; s++)
		if (!used[s])
			snprintf(ifs[s].port, sizeof(ifs[s].port), "null");
	for (uint32_t r = 0; r < cfg->n_routes; r++)
		if (cfg->routes[r].if_idx >= 0)
			cfg->routes[r].if_idx = slot[cfg->routes[r].if_idx];
	for (uint32_t r = 0; r < cfg->n_neighs; r++)
		if (cfg->neighs[r].if_idx >= 0)
			cfg->neighs[r].if_idx = slot[cfg->neighs[r].if_idx];
	for (uint16_t k = 0; k < cfg->n_tunnels; k++)
		cfg->tunnels[k].if_idx = (uint16_t)slot[cfg->tunnels[k].if_idx];
	if (cfg->overlay.enabled)
		cfg->overlay.if_idx = (uint16_t)slot[cfg->overlay.if_idx];
	memcpy(cfg->ifs, ifs, sizeof(ifs));
	cfg->n_ifs = n;
	return 0;
}

/* Whether o and tn are the same tunnel but for the peer's address (of
 * the same family) and port: *moved then says whether those differ. */
static bool
same_but_peer(const struct hg_cfg_tunnel *o, const struct hg_cfg_tunnel *tn,
    bool *moved)
{
	struct hg_cfg_tunnel a = *o;

	*moved = false;
	if (a.remote.family != tn->remote.family)
		return false;
	a.remote = tn->remote;
	a.remote_port = tn->remote_port;
	if (memcmp(&a, tn, sizeof(a)) != 0)
		return false;
	*moved = memcmp(o, tn, sizeof(*o)) != 0;
	return true;
}

void
hg_tunnels_move(const struct hg_config *cfg, struct hg_tunnels *next,
    struct dp_tunnels *dpt)
{
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];
		uint16_t i = tn->if_idx;
		struct esp_sa *moved;
		char a[INET6_ADDRSTRLEN];

		if (!next->move[i])
			continue;
		next->move[i] = false;
		inet_ntop(tn->remote.family, tn->remote.addr, a, sizeof(a));
		if (esp_sa_move(&moved, next->dp.t[i].out, tn->remote.addr,
		    tn->udp ? tn->remote_port : 0) != 0) {
			hg_log_warnx("tunnel %s: out of memory moving its SA to "
			    "%s; it still sends to the old address", tn->name,
			    a);
			continue;
		}
		next->dp.t[i].out = moved;
		dpt->t[i].out = moved;
		esp_sa_set_peer_shown(next->dp.t[i].in, tn->remote.addr);
		hg_log_info("tunnel %s: peer moved to %s port %u; SAs kept, "
		    "sequence numbers go on", tn->name, a, tn->remote_port);
	}
}

int
hg_tunnels_stage(struct hg_daemon *d, const struct hg_config *old,
    const struct hg_config *cfg, const struct hg_tunnels *cur,
    struct hg_tunnels *next, char *err, size_t err_len)
{
	int rc;

	memset(next, 0, sizeof(*next));
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];
		const struct hg_cfg_tunnel *o = tunnel_named(old, tn->name);
		uint16_t i = tn->if_idx;
		uint8_t dg[2][HG_TUNNEL_DIGEST_LEN];

		/* Kept: the same entry in the same slot (but for where the
		 * peer is: then the outbound SA moves, at the publish), and
		 * key files that still hold the same keys. */
		/* IKE's: empty here; what IKE installed is taken at the
		 * publish (hg_tunnels_take_ike), under hg-ike's lock. */
		if (tn->ike) {
			memset(&next->dp.t[i], 0, sizeof(next->dp.t[i]));
			memset(next->dp.more[i], 0, sizeof(next->dp.more[i]));
			next->move[i] = false;
			ike_fill(cfg, tn, &next->dp);
			continue;
		}
		if (o != NULL && same_but_peer(o, tn, &next->move[i]) &&
		    sa_make(d, tn, false, NULL, dg[0], err, err_len) == 0 &&
		    sa_make(d, tn, true, NULL, dg[1], err, err_len) == 0 &&
		    memcmp(dg, cur->digest[i], sizeof(dg)) == 0) {
			next->dp.t[i] = cur->dp.t[i];
			tunnel_fill(cfg, tn, &next->dp.t[i]);
			memcpy(next->digest[i], cur->digest[i], sizeof(dg));
			memcpy(next->told[i], cur->told[i],
			    sizeof(next->told[i]));
			continue;
		}
		next->move[i] = false;		/* new SAs, made for where it is */
		if ((rc = tunnel_make(d, cfg, tn, next, err, err_len)) != 0) {
			hg_tunnels_unstage(next, cur);
			return rc;
		}
	}
	return 0;
}

/* Frees the SAs of slot a that slot b (NULL: none) does not hold. */
static void
slot_free_unless(struct dp_tunnel *a, const struct dp_tunnel *b)
{
	if (a->out != NULL && (b == NULL || a->out != b->out))
		esp_sa_free(a->out);
	if (a->in != NULL && (b == NULL || a->in != b->in))
		esp_sa_free(a->in);
	if (a->in_prev != NULL && (b == NULL || a->in_prev != b->in_prev))
		esp_sa_free(a->in_prev);
}

void
hg_tunnels_take_ike(const struct hg_config *old, const struct hg_config *cfg,
    const struct hg_tunnels *cur, struct hg_tunnels *next)
{
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];
		const struct hg_cfg_tunnel *o = tunnel_named(old, tn->name);
		uint16_t i = tn->if_idx;

		/* Kept, with what IKE installed, while the entry is the
		 * same (a changed connection is deleted by IKE). */
		if (!tn->ike || o == NULL || memcmp(o, tn, sizeof(*o)) != 0)
			continue;
		next->dp.t[i] = cur->dp.t[i];
		memcpy(next->dp.more[i], cur->dp.more[i],
		    sizeof(next->dp.more[i]));
		ike_fill(cfg, tn, &next->dp);
	}
}

void
hg_tunnels_commit(const struct hg_config *old, const struct hg_config *cfg,
    struct hg_tunnels *cur, struct hg_tunnels *next)
{
	for (uint16_t k = 0; k < old->n_tunnels; k++)
		if (tunnel_named(cfg, old->tunnels[k].name) == NULL)
			hg_log_info("tunnel %s removed", old->tunnels[k].name);
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		for (uint8_t s = 0; s < DP_TUNNEL_SLOTS; s++)
			slot_free_unless(dp_tunnel_slot_rw(&cur->dp, i, s),
			    dp_tunnel_slot_rw(&next->dp, i, s));
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct dp_tunnel *o = &cur->dp.t[cfg->tunnels[k].if_idx];
		const struct dp_tunnel *n = &next->dp.t[cfg->tunnels[k].if_idx];

		/* A moved peer's tunnel has a new outbound SA only (and
		 * said so); new SAs both ways are a new or changed one. */
		if (n->in != o->in)
			tunnel_log(&cfg->tunnels[k], tunnel_named(old,
			    cfg->tunnels[k].name) == NULL ? " added" :
			    " changed, new SAs");
	}
	next->rekeys_due = cur->rekeys_due;
	next->expired = cur->expired;
	*cur = *next;
	memset(next, 0, sizeof(*next));
}

void
hg_tunnels_unstage(struct hg_tunnels *next, const struct hg_tunnels *cur)
{
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		for (uint8_t s = 0; s < DP_TUNNEL_SLOTS; s++)
			slot_free_unless(dp_tunnel_slot_rw(&next->dp, i, s),
			    dp_tunnel_slot(&cur->dp, i, s));
	memset(next, 0, sizeof(*next));
}

void
hg_tunnels_close(struct hg_tunnels *t)
{
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		for (uint8_t s = 0; s < DP_TUNNEL_SLOTS; s++)
			slot_free_unless(dp_tunnel_slot_rw(&t->dp, i, s), NULL);
	OPENSSL_cleanse(t, sizeof(*t));
}

void
hg_tunnels_watch(struct hg_daemon *d)
{
	static const char *const dirs[2] = { "out", "in" };
	const struct hg_config *cfg = d->cfg;

	if (d->tunnels == NULL)
		return;
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];
		const struct dp_tunnel *t = &d->tunnels->dp.t[tn->if_idx];
		uint8_t *told = d->tunnels->told[tn->if_idx];

		if (tn->ike)
			continue;	/* IKE rekeys its own */

		for (int dir = 0; dir < 2; dir++) {
			const struct esp_sa *sa = dir ? t->in : t->out;
			uint32_t spi = dir ? tn->sa_in.spi : tn->sa_out.spi;

			if (sa == NULL)
				continue;
			if (esp_sa_is_soft_expired(sa) &&
			    !(told[dir] & HG_TUNNEL_TOLD_SOFT)) {
				told[dir] |= HG_TUNNEL_TOLD_SOFT;
				d->tunnels->rekeys_due++;
				hg_log_warnx("tunnel %s: SA %s (SPI %u) passed "
				    "its rekey limit (rekey_bytes or "
				    "rekey_packets): rekey it (new key files and "
				    "a reload)", tn->name, dirs[dir], spi);
			}
			if (esp_sa_is_dead(sa) &&
			    !(told[dir] & HG_TUNNEL_TOLD_DEAD)) {
				told[dir] |= HG_TUNNEL_TOLD_DEAD;
				d->tunnels->expired++;
				hg_log_warnx("tunnel %s: SA %s (SPI %u) expired "
				    "(life_bytes, life_packets or its sequence "
				    "numbers): it carries nothing until new keys "
				    "come (new key files and a reload)", tn->name,
				    dirs[dir], spi);
			}
		}
	}
}
