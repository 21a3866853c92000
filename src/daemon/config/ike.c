/*
 * src/daemon/config/ike.c: hexgated's side of the IKEv2 engine.
 *
 * The engine (src/ike) is pure; this file is its world.  Datagrams to
 * UDP 500 and 4500 that INPUT accepted come from the data plane's
 * control queue (dp_ctl_recv) and go to ike_input(); what the engine
 * sends goes back through dp_ctl_send(), entering at OUTPUT like the
 * host's own packets.  All of it runs on hexgated's IKE thread, hg-ike
 * (the loop below), which also gives the engine the time.  A child SA
 * the engine installs becomes the two ESP SAs of its connection's tunnel
 * interface, published to the workers with the other tunnels (RCU,
 * dp_tunnels_swap); the old pair is freed once no worker can hold it.
 *
 * The pre-shared keys are read from the configuration's secrets, held
 * in the engine's connections only, and wiped with them.  Certificates
 * (auth pubkey) are PEM files beside the configuration, read here and
 * handed to the engine as DER; a private key's file must be its
 * owner's only, as a tunnel's key_file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../../lib/text.h"
#include "../../ike/cert.h"
#include "../../ike/ike.h"
#include "../../lib/hg_time.h"
#include "../../lib/log.h"
#include "../../mgmt/secret.h"
#include "../../tun/esp.h"
#include "../daemon.h"
#include "ike.h"
#include "overlay.h"
#include "tunnels.h"
#include "versions.h"

#define IKE_TICK_MS	100

/* Child k of a connection is slot k of its tunnel interface. */
_Static_assert(IKE_CHILDREN_MAX == DP_TUNNEL_SLOTS &&
    HG_CFG_IKE_CHILDREN_MAX == DP_TUNNEL_SLOTS,
    "a connection's children are its interface's slots");

#define IKE_BATCH	32	/* datagrams between looks at the clock */

/*
 * The engine runs on a thread of its own, hg-ike, so that what peers
 * make it do (Diffie-Hellman for each IKE_SA_INIT, signatures and their
 * checks at IKE_AUTH) never holds up the control thread: the API, hexctl,
 * reloads.  lock serialises everything the engine touches: the engine
 * itself, the IKE slots of d->tunnels and their publication
 * (dp_tunnels_swap), held_out, and d->cfg, which its callbacks read and
 * a reload replaces.  hg-ike holds it for one datagram or one tick at a
 * time; turn is taken before lock by both sides and let go once lock is
 * held, so a control thread waiting for lock holds turn, and hg-ike,
 * done with its datagram, cannot take lock again before it: the API
 * waits for at most one datagram's work, never for a flood.
 */
struct hg_ike {
	struct hg_daemon *d;
	struct ike *ike;
	/* A rekey the peer began: our new outbound SA of each slot, held
	 * back until the peer deletes the old pair (switch_out). */
	struct esp_sa *held_out[IP_IF_MAX][DP_TUNNEL_SLOTS];
	uint32_t held_spi[IP_IF_MAX][DP_TUNNEL_SLOTS];
	pthread_mutex_t lock, turn;
	pthread_t thread;
	bool started;
	int stop;			/* atomic: hg-ike returns */
	int wake_fd;			/* eventfd: wakes hg-ike (stop) */
	uint64_t send_lost;		/* datagrams not queued, not yet said */
	uint64_t send_lost_logged_ms;
	uint8_t buf[IKE_MSG_MAX + 64];	/* hg-ike's */
};

static uint64_t
now_ms(void)
{
	return hg_now_ns() / HG_NS_PER_MS;
}

/* ---- the configuration ------------------------------------------------ */

/* A secret as swanctl writes it: "0x" hex, "0s" base64, or the text. */
static int
psk_decode(const char *s, uint8_t *out, uint16_t *len, const char **why)
{
	size_t n = strlen(s);

	if (strcmp(s, HG_SECRET_REDACTED) == 0) {
		*why = "redacted (an export or GET /api/config shows stars, "
		    "never the key): give the secret again";
		return -EINVAL;
	}
	if (strncmp(s, HG_SECRET_PREFIX, HG_SECRET_PREFIX_LEN) == 0) {
		*why = "sealed secrets (hgsec1:) are not taken here yet: give "
		    "the key as text, 0x hex or 0s base64";
		return -EINVAL;
	}
	if (strncmp(s, "0x", 2) == 0) {
		size_t k = 0;

		for (s += 2; *s != '\0'; s += 2) {
			int hi = hg_hex_digit(s[0]), lo = s[1] ? hg_hex_digit(s[1]) : -1;

			if (hi < 0 || lo < 0 || k == IKE_PSK_MAX) {
				*why = "0x: not an even number of hex digits";
				return -EINVAL;
			}
			out[k++] = (uint8_t)(hi << 4 | lo);
		}
		*len = (uint16_t)k;
	} else if (strncmp(s, "0s", 2) == 0) {
		uint8_t tmp[IKE_PSK_MAX + 4];
		int k;

		n -= 2;
		if (n % 4 != 0 || n / 4 * 3 > sizeof(tmp) ||
		    (k = EVP_DecodeBlock(tmp, (const unsigned char *)s + 2,
		    (int)n)) < 0) {
			*why = "0s: not base64";
			return -EINVAL;
		}
		/* EVP_DecodeBlock keeps the padding's zero bytes. */
		if (n >= 1 && s[2 + n - 1] == '=')
			k--;
		if (n >= 2 && s[2 + n - 2] == '=')
			k--;
		if (k > IKE_PSK_MAX) {
			OPENSSL_cleanse(tmp, sizeof(tmp));
			*why = "longer than 256 bytes";
			return -EINVAL;
		}
		memcpy(out, tmp, (size_t)k);
		OPENSSL_cleanse(tmp, sizeof(tmp));
		*len = (uint16_t)k;
	} else {
		if (n > IKE_PSK_MAX) {
			*why = "longer than 256 bytes";
			return -EINVAL;
		}
		memcpy(out, s, n);
		*len = (uint16_t)n;
	}
	if (*len == 0) {
		*why = "empty";
		return -EINVAL;
	}
	return 0;
}

/* The secret of connection ic: the first naming its remote identity
 * (or address), else its local one, else one naming none. */
static const struct hg_cfg_ike_secret *
secret_for(const struct hg_config *cfg, const struct hg_cfg_ike_conn *ic)
{
	const struct hg_cfg_tunnel *tn = &cfg->tunnels[ic->tunnel];
	char ra[INET6_ADDRSTRLEN], la[INET6_ADDRSTRLEN];
	const char *want[4];

	if (tn->remote.family == 0)
		snprintf(ra, sizeof(ra), "%%any");
	else
		hg_addr_fmt(&tn->remote, ra, sizeof(ra));
	hg_addr_fmt(&tn->local, la, sizeof(la));
	want[0] = ic->remote_id[0] ? ic->remote_id : ra;
	want[1] = ra;
	want[2] = ic->local_id[0] ? ic->local_id : la;
	want[3] = la;
	for (int w = 0; w < 4; w++)
		for (uint16_t k = 0; k < cfg->n_ike_secrets; k++)
			for (uint8_t j = 0; j < cfg->ike_secrets[k].n_ids; j++)
				if (strcmp(cfg->ike_secrets[k].ids[j],
				    want[w]) == 0)
					return &cfg->ike_secrets[k];
	for (uint16_t k = 0; k < cfg->n_ike_secrets; k++)
		if (cfg->ike_secrets[k].n_ids == 0)
			return &cfg->ike_secrets[k];
	return NULL;
}

static void
prefixes(const struct hg_prefix *p, uint8_t n, struct ike_prefix *out)
{
	for (uint8_t i = 0; i < n; i++) {
		out[i].family = p[i].a.family;
		memcpy(out[i].addr, p[i].a.addr, 16);
		out[i].plen = p[i].len_bits;
	}
}

static int
props(const char (*text)[HG_CFG_IKE_PROP_LEN], uint8_t n, uint8_t proto,
    struct ike_props *out, const char *where, char *err, size_t err_len)
{
	char why[256];

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		ike_props_default(proto, out);
		return 0;
	}
	for (uint8_t i = 0; i < n; i++)
		if (ike_props_add(out, text[i], proto, why, sizeof(why)) != 0) {
			snprintf(err, err_len, "%s/%u: %s: %s", where, i,
			    text[i], why);
			return -EINVAL;
		}
	return 0;
}

#define PEM_FILE_MAX	65536

/*
 * The text of PEM file `file` (relative to the configuration's folder),
 * malloc'd, NUL-terminated; NULL with err naming where.  A secret (a
 * private key) must be a regular file readable by its owner only.
 */
static char *
pem_read(const struct hg_daemon *d, const char *file, const char *where,
    bool secret, size_t *len, char *err, size_t err_len)
{
	char path[HG_CFG_PATH_MAX * 2];
	struct stat st;
	char *text;
	ssize_t got;
	int fd;

	hg_cfg_rel_path(d, file, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, err_len, "%s: %s: %s", where, path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > PEM_FILE_MAX) {
		close(fd);
		snprintf(err, err_len, "%s: %s: not a regular file of at most "
		    "%d bytes", where, path, PEM_FILE_MAX);
		return NULL;
	}
	if (secret && (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, err_len, "%s: %s holds a private key: it must be "
		    "readable by its owner only (chmod 600), it is %03o",
		    where, path, (unsigned)(st.st_mode & 0777));
		return NULL;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, err_len, "%s: out of memory", where);
		return NULL;
	}
	got = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (got < 0) {
		snprintf(err, err_len, "%s: %s: %s", where, path,
		    strerror(errno));
		free(text);
		return NULL;
	}
	text[got] = '\0';
	*len = (size_t)got;
	return text;
}

/* PEM files' certificates appended to out (DER) at *at. */
static int
certs_load(const struct hg_daemon *d, const char (*files)[HG_CFG_IKE_PROP_LEN],
    uint8_t n, const char *where, uint8_t *out, size_t cap, uint16_t *at,
    char *err, size_t err_len)
{
	size_t len = 0, have = 0;
	char place[256], why[256];
	unsigned k;

	for (uint8_t i = 0; i < n; i++) {
		char *text;

		snprintf(place, sizeof(place), "%s/%u", where, i);
		if ((text = pem_read(d, files[i], place, false, &len, err,
		    err_len)) == NULL)
			return -EINVAL;
		if (ike_pem_certs(text, len, out, cap, &have, &k, why,
		    sizeof(why)) != 0) {
			snprintf(err, err_len, "%s: %s: %s", place, files[i],
			    why);
			free(text);
			return -EINVAL;
		}
		free(text);
	}
	*at = (uint16_t)have;
	return 0;
}

/* A connection's certificates and key (auth pubkey) into c, checked as
 * the engine will take them: the key is the certificate's, our id in
 * it, the CAs parsable. */
static int
conn_certs(const struct hg_daemon *d, const struct hg_cfg_ike_conn *ic,
    struct ike_conn_cfg *c, char *err, size_t err_len)
{
	char where[HG_CFG_IKE_NAME_LEN + 64], why[256];
	struct ike_creds *cr;
	size_t len, klen;
	char *text;
	int rc;

	c->local_auth = ic->local_pubkey ? IKE_AUTHBY_PUBKEY :
	    IKE_AUTHBY_PSK;
	c->remote_auth = ic->remote_pubkey ? IKE_AUTHBY_PUBKEY :
	    IKE_AUTHBY_PSK;
	if (ic->local_pubkey) {
		snprintf(where, sizeof(where), "/ipsec/connections/%s/local/"
		    "certs", ic->name);
		if (certs_load(d, ic->certs, ic->n_certs, where, c->certs,
		    sizeof(c->certs), &c->certs_len, err, err_len) != 0)
			return -EINVAL;
		snprintf(where, sizeof(where), "/ipsec/connections/%s/local/"
		    "key", ic->name);
		if ((text = pem_read(d, ic->key, where, true, &len, err,
		    err_len)) == NULL)
			return -EINVAL;
		rc = ike_pem_key(text, len, c->key, sizeof(c->key), &klen,
		    why, sizeof(why));
		OPENSSL_cleanse(text, len);
		free(text);
		if (rc != 0) {
			snprintf(err, err_len, "%s: %s: %s", where, ic->key,
			    why);
			return -EINVAL;
		}
		c->key_len = (uint16_t)klen;
	}
	if (ic->remote_pubkey) {
		snprintf(where, sizeof(where), "/ipsec/connections/%s/remote/"
		    "cacerts", ic->name);
		if (certs_load(d, ic->cacerts, ic->n_cacerts, where,
		    c->cacerts, sizeof(c->cacerts), &c->cacerts_len, err,
		    err_len) != 0)
			return -EINVAL;
	}
	if (!ic->local_pubkey && !ic->remote_pubkey)
		return 0;
	if (ike_creds_new(&cr, c->certs, c->certs_len, c->key, c->key_len,
	    c->cacerts, c->cacerts_len, why, sizeof(why)) != 0) {
		snprintf(err, err_len, "/ipsec/connections/%s/%s: %s",
		    ic->name, strncmp(why, "cacerts", 7) == 0 ?
		    "remote/cacerts" : strncmp(why, "certs", 5) == 0 ?
		    "local/certs" : "local/key", why);
		return -EINVAL;
	}
	rc = 0;
	if (ic->local_pubkey && c->local_id.type != 0 &&
	    !ike_creds_has_id(cr, &c->local_id)) {
		struct ike_id subj;
		char s[256];

		if (ike_creds_subject(cr, &subj) != 0 ||
		    ike_id_format(&subj, s, sizeof(s)) < 0)
			snprintf(s, sizeof(s), "?");
		snprintf(err, err_len, "/ipsec/connections/%s/local/id: %s is "
		    "not in our certificate (its subject \"%s\" or a "
		    "subjectAltName: DNS, email or IP)", ic->name,
		    ic->local_id, s);
		rc = -EINVAL;
	}
	ike_creds_free(cr);
	return rc;
}

static int
conn_make(const struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_cfg_ike_conn *ic, struct ike_conn_cfg *c, char *err,
    size_t err_len)
{
	const struct hg_cfg_tunnel *tn = &cfg->tunnels[ic->tunnel];
	const struct hg_cfg_ike_secret *sec;
	char where[HG_CFG_IKE_NAME_LEN * 2 + 64];
	const char *why = NULL;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", ic->name);
	c->if_idx = tn->if_idx;
	c->local.family = tn->local.family;
	memcpy(c->local.addr, tn->local.addr, 16);
	c->local.port = ic->local_port;
	c->remote.family = tn->remote.family;
	memcpy(c->remote.addr, tn->remote.addr, 16);
	c->remote.port = ic->remote_port;
	c->encap = ic->encap;
	snprintf(where, sizeof(where), "/ipsec/connections/%s/proposals",
	    ic->name);
	if (props(ic->props, ic->n_props, IKE_PROTO_IKE, &c->proposals, where,
	    err, err_len) != 0)
		return -EINVAL;
	c->n_children = ic->n_children;
	for (uint8_t k = 0; k < ic->n_children; k++) {
		const struct hg_cfg_ike_child *ch = &ic->children[k];
		struct ike_child_cfg *cc = &c->children[k];

		snprintf(cc->name, sizeof(cc->name), "%s", ch->name);
		snprintf(where, sizeof(where), "/ipsec/connections/%s/"
		    "children/%s/esp_proposals", ic->name, ch->name);
		if (props(ch->esp_props, ch->n_esp_props, IKE_PROTO_ESP,
		    &cc->esp_proposals, where, err, err_len) != 0)
			return -EINVAL;
		cc->n_local_ts = ch->n_local;
		cc->n_remote_ts = ch->n_remote;
		prefixes(ch->local_ts, ch->n_local, cc->local_ts);
		prefixes(ch->remote_ts, ch->n_remote, cc->remote_ts);
		cc->rekey_time_s = ch->rekey_time_s;
		cc->life_time_s = ch->life_time_s;
	}
	if (ike_id_parse(ic->local_id, &c->local_id) != 0 ||
	    ike_id_parse(ic->remote_id, &c->remote_id) != 0) {
		snprintf(err, err_len, "/ipsec/connections/%s/%s/id: %s is "
		    "not an identity hexgate takes (an address, an FQDN, "
		    "user@FQDN or a DN such as \"CN=gw, O=Example\")",
		    ic->name, ike_id_parse(ic->local_id,
		    &c->local_id) != 0 ? "local" : "remote",
		    ike_id_parse(ic->local_id, &c->local_id) != 0 ?
		    ic->local_id : ic->remote_id);
		return -EINVAL;
	}
	if (conn_certs(d, ic, c, err, err_len) != 0)
		return -EINVAL;
	if (ic->local_pubkey && ic->remote_pubkey)
		;			/* no PSK wanted */
	else if ((sec = secret_for(cfg, ic)) == NULL) {
		snprintf(err, err_len, "/ipsec/connections/%s: no secret for "
		    "it: add /ipsec/secrets/ike-%s with \"id\" its remote "
		    "identity and \"secret\"", ic->name, ic->name);
		return -EINVAL;
	}
	else if (psk_decode(sec->secret, c->psk, &c->psk_len, &why) != 0) {
		snprintf(err, err_len, "/ipsec/secrets/%s/secret: %s",
		    sec->name, why);
		return -EINVAL;
	}
	c->start_action = ic->start_action == HG_CFG_START_START ?
	    IKE_START_START : ic->start_action == HG_CFG_START_TRAP ?
	    IKE_START_TRAP : IKE_START_NONE;
	c->dpd_action = ic->dpd_action == HG_CFG_DPD_RESTART ?
	    IKE_DPD_RESTART : ic->dpd_action == HG_CFG_DPD_CLEAR ?
	    IKE_DPD_CLEAR : IKE_DPD_NONE;
	c->dpd_delay_s = ic->dpd_delay_s;
	c->rekey_time_s = ic->rekey_time_s;
	c->reauth_time_s = ic->reauth_time_s;
	c->fragmentation = ic->fragmentation == HG_CFG_FRAG_NO ? IKE_FRAG_NO :
	    ic->fragmentation == HG_CFG_FRAG_ACCEPT ? IKE_FRAG_ACCEPT :
	    ic->fragmentation == HG_CFG_FRAG_FORCE ? IKE_FRAG_FORCE :
	    IKE_FRAG_YES;
	return 0;
}

int
hg_ike_conns(const struct hg_daemon *d, const struct hg_config *cfg,
    struct ike_conn_cfg **out, unsigned *n, char *err, size_t err_len)
{
	struct ike_conn_cfg *c = calloc(cfg->n_ike ? cfg->n_ike : 1,
	    sizeof(*c));

	if (c == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (uint16_t k = 0; k < cfg->n_ike; k++)
		if (conn_make(d, cfg, &cfg->ike[k], &c[k], err, err_len) != 0) {
			OPENSSL_cleanse(c, sizeof(*c) * cfg->n_ike);
			free(c);
			return -EINVAL;
		}
	if (out == NULL) {
		OPENSSL_cleanse(c, sizeof(*c) * (cfg->n_ike ? cfg->n_ike : 1));
		free(c);
	} else {
		*out = c;
		*n = cfg->n_ike;
	}
	return 0;
}

/* ---- the engine's effects --------------------------------------------- */

static void
on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
    const uint8_t *buf, size_t len)
{
	struct hg_ike *hi = ctx;
	struct dp_dgram g;

	memset(&g, 0, sizeof(g));
	g.family = local->family;
	memcpy(g.src, local->addr, 16);
	memcpy(g.dst, remote->addr, 16);
	g.sport = local->port;
	g.dport = remote->port;
	if (dp_ctl_send(hi->d->dp, &g, buf, len))
		return;
	/* Under a flood the worker's ring fills: said once a second. */
	hi->send_lost++;
	if (now_ms() - hi->send_lost_logged_ms >= 1000) {
		hg_log_warnx("ipsec: %llu datagram%s could not be queued to the "
		    "data plane (its ring full)", (unsigned long long)
		    hi->send_lost, hi->send_lost == 1 ? "" : "s");
		hi->send_lost = 0;
		hi->send_lost_logged_ms = now_ms();
	}
}

static int64_t
on_wall(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void
on_log(void *ctx, bool warn, const char *line)
{
	(void)ctx;
	if (warn)
		hg_log_warnx("%s", line);
	else
		hg_log_info("%s", line);
}

/* The tunnel of connection conn at slot if_idx, or NULL (a reload
 * took it away). */
static const struct hg_cfg_tunnel *
slot_tunnel(const struct hg_daemon *d, uint16_t if_idx, const char *conn)
{
	const struct hg_config *cfg = d->cfg;

	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];

		if (tn->ike && tn->if_idx == if_idx &&
		    strcmp(cfg->ike[tn->ike_conn].name, conn) == 0)
			return tn;
	}
	return NULL;
}

static bool
holds(const struct dp_tunnel *t, const struct esp_sa *sa)
{
	return sa == t->out || sa == t->in || sa == t->in_prev;
}

/* Publishes d's tunnels with slot k of interface i as t, then (no worker
 * can hold them once the swap returns) frees the SAs the slot had that t
 * has not. */
static int
slot_publish(struct hg_daemon *d, uint16_t i, uint8_t k,
    const struct dp_tunnel *t)
{
	struct dp_tunnels *dpt = malloc(sizeof(*dpt));
	struct dp_tunnel *s = dp_tunnel_slot_rw(&d->tunnels->dp, i, k), old = *s;

	if (dpt == NULL)
		return -ENOMEM;
	*s = *t;
	*dpt = d->tunnels->dp;
	dp_tunnels_swap(d->dp, dpt);
	if (old.out != NULL && !holds(t, old.out))
		esp_sa_free(old.out);
	if (old.in != NULL && !holds(t, old.in))
		esp_sa_free(old.in);
	if (old.in_prev != NULL && !holds(t, old.in_prev))
		esp_sa_free(old.in_prev);
	return 0;
}

static void
held_drop(struct hg_ike *hi, uint16_t i, uint8_t k)
{
	esp_sa_free(hi->held_out[i][k]);
	hi->held_out[i][k] = NULL;
	hi->held_spi[i][k] = 0;
}

static void
ts_dp(const struct ike_prefix *p, uint8_t n, struct dp_ts *out, uint8_t *n_out)
{
	*n_out = (uint8_t)HG_MIN(n, DP_TUNNEL_TS_MAX);
	for (uint8_t i = 0; i < *n_out; i++) {
		out[i].family = p[i].family;
		out[i].plen = p[i].plen;
		memcpy(out[i].addr, p[i].addr, 16);
	}
}

static int
on_install(void *ctx, const struct ike_child_sa *ch, int how)
{
	struct hg_ike *hi = ctx;
	struct hg_daemon *d = hi->d;
	uint16_t i = ch->if_idx;
	uint8_t k = ch->child;
	struct esp_sa_config c;
	struct esp_sa *out = NULL, *in = NULL;
	struct dp_tunnel t;
	const char *why = NULL;
	int rc;

	if (slot_tunnel(d, i, ch->conn) == NULL || k >= DP_TUNNEL_SLOTS)
		return -ENOENT;
	memset(&c, 0, sizeof(c));
	c.alg = ch->alg;
	c.esn = ch->esn;
	c.family = ch->local.family == AF_INET6 ? 6 : 4;
	c.udp_encap = ch->udp_encap;
	c.enc_key_len = ch->key_len;
	c.auth_key_len = ch->auth_len;
	/* Outbound: from us to the peer, its NAT's port when there is one. */
	c.spi = ch->spi_out;
	c.enc_key = ch->key_out;
	c.auth_key = ch->auth_out;
	memcpy(c.src, ch->local.addr, 16);
	memcpy(c.dst, ch->remote.addr, 16);
	c.udp_sport = ch->local.port;
	c.udp_dport = ch->remote.port;
	rc = esp_sa_create(&out, &c, &why);
	if (rc == 0) {
		c.spi = ch->spi_in;
		c.inbound = true;
		c.enc_key = ch->key_in;
		c.auth_key = ch->auth_in;
		memcpy(c.src, ch->remote.addr, 16);
		memcpy(c.dst, ch->local.addr, 16);
		c.udp_sport = ch->remote.port;
		c.udp_dport = ch->local.port;
		rc = esp_sa_create(&in, &c, &why);
	}
	if (rc != 0) {
		hg_log_warnx("ipsec: %s: ESP SA refused: %s", ch->conn,
		    why != NULL ? why : strerror(-rc));
		esp_sa_free(out);
		return rc;
	}
	t = *dp_tunnel_slot_rw(&d->tunnels->dp, i, k);
	held_drop(hi, i, k);
	if (how == IKE_INSTALL_NEW || t.in == NULL) {
		t.in_prev = NULL;
		t.spi_in_prev = 0;
	} else {
		/* Make before break: the old inbound SA still decrypts. */
		t.in_prev = t.in;
		t.spi_in_prev = t.spi_in;
	}
	if (how == IKE_INSTALL_REKEY_IN && t.out != NULL) {
		hi->held_out[i][k] = out;
		hi->held_spi[i][k] = ch->spi_out;
	} else
		t.out = out;
	t.in = in;
	t.spi_in = ch->spi_in;
	t.family = ch->remote.family;
	memcpy(t.remote, ch->remote.addr, 16);
	t.keepalive_s = ch->udp_encap ? ch->keepalive_s : 0;
	/* The MSS clamp is the interface's (slot 0 has it from the
	 * configuration). */
	t.mss4 = d->tunnels->dp.t[i].mss4;
	t.mss6 = d->tunnels->dp.t[i].mss6;
	ts_dp(ch->local_ts, ch->n_local_ts, t.local_ts, &t.n_local);
	ts_dp(ch->remote_ts, ch->n_remote_ts, t.remote_ts, &t.n_remote);
	if ((rc = slot_publish(d, i, k, &t)) != 0) {
		if (hi->held_out[i][k] == out)
			hi->held_out[i][k] = NULL;
		esp_sa_free(out);
		esp_sa_free(in);
	}
	return rc;
}

static void
on_switch_out(void *ctx, uint16_t i, uint8_t k, const char *conn,
    uint32_t spi_out)
{
	struct hg_ike *hi = ctx;
	struct dp_tunnel t;

	if (slot_tunnel(hi->d, i, conn) == NULL || k >= DP_TUNNEL_SLOTS ||
	    hi->held_out[i][k] == NULL || hi->held_spi[i][k] != spi_out)
		return;
	t = *dp_tunnel_slot_rw(&hi->d->tunnels->dp, i, k);
	t.out = hi->held_out[i][k];
	if (slot_publish(hi->d, i, k, &t) != 0) {
		hg_log_warnx("ipsec: %s: out of memory switching to the new "
		    "SA; the old one still sends", conn);
		return;
	}
	hi->held_out[i][k] = NULL;
	hi->held_spi[i][k] = 0;
}

static void
on_retire_in(void *ctx, uint16_t i, uint8_t k, const char *conn,
    uint32_t spi_in)
{
	struct hg_ike *hi = ctx;
	struct dp_tunnel t;

	if (slot_tunnel(hi->d, i, conn) == NULL || k >= DP_TUNNEL_SLOTS)
		return;
	t = *dp_tunnel_slot_rw(&hi->d->tunnels->dp, i, k);
	if (t.in_prev == NULL || t.spi_in_prev != spi_in)
		return;
	t.in_prev = NULL;
	t.spi_in_prev = 0;
	if (slot_publish(hi->d, i, k, &t) != 0)
		hg_log_warnx("ipsec: %s: out of memory retiring SA %08x",
		    conn, spi_in);
}

static void
on_uninstall(void *ctx, uint16_t i, uint8_t k, const char *conn,
    uint32_t spi_in)
{
	struct hg_ike *hi = ctx;
	struct hg_daemon *d = hi->d;
	struct dp_tunnel t;

	if (slot_tunnel(d, i, conn) == NULL || k >= DP_TUNNEL_SLOTS)
		return;		/* a reload took it already */
	t = *dp_tunnel_slot_rw(&d->tunnels->dp, i, k);
	/* The child of an IKE SA that another replaced (a reauth): only
	 * its inbound SA was left, decrypting until now. */
	if (t.in_prev != NULL && t.spi_in_prev == spi_in) {
		on_retire_in(ctx, i, k, conn, spi_in);
		return;
	}
	if (t.in == NULL || t.spi_in != spi_in)
		return;		/* replaced already */
	held_drop(hi, i, k);
	t.out = NULL;
	t.in = NULL;
	t.spi_in = 0;
	t.in_prev = NULL;
	t.spi_in_prev = 0;
	if (slot_publish(d, i, k, &t) != 0)
		hg_log_warnx("ipsec: %s: out of memory removing its SAs",
		    conn);
}

/* Every slot of interface i that sends follows the peer. */
static void
on_moved(void *ctx, uint16_t i, const struct ike_addr *remote)
{
	struct hg_ike *hi = ctx;
	struct hg_daemon *d = hi->d;

	for (uint8_t k = 0; k < DP_TUNNEL_SLOTS; k++) {
		struct dp_tunnel t = *dp_tunnel_slot_rw(&d->tunnels->dp, i, k);
		struct esp_sa *moved;

		if (t.out == NULL || esp_sa_move(&moved, t.out, remote->addr,
		    remote->port) != 0)
			continue;
		esp_sa_set_peer_shown(t.in, remote->addr);
		t.out = moved;
		memcpy(t.remote, remote->addr, 16);
		if (slot_publish(d, i, k, &t) != 0)
			esp_sa_free(moved);
	}
}

/* ---- the loop: hg-ike ------------------------------------------------ */

static void
ike_enter(struct hg_ike *hi)
{
	pthread_mutex_lock(&hi->turn);
	pthread_mutex_lock(&hi->lock);
	pthread_mutex_unlock(&hi->turn);
}

static void
ike_leave(struct hg_ike *hi)
{
	pthread_mutex_unlock(&hi->lock);
}

/* Up to IKE_BATCH datagrams from the data plane's queue, each to the
 * engine under the lock on its own.  How many there were. */
static unsigned
ike_rx(struct hg_ike *hi)
{
	unsigned n;

	for (n = 0; n < IKE_BATCH; n++) {
		struct ike_addr local, remote;
		struct dp_dgram g;
		size_t len;

		ike_enter(hi);
		len = dp_ctl_recv(hi->d->dp, &g, hi->buf, sizeof(hi->buf));
		if (len == 0) {
			ike_leave(hi);
			break;
		}
		if (len <= sizeof(hi->buf) && g.dport != 0 &&
		    g.dport == hg_overlay_port(hi->d)) {
			/* The overlay's handshakes share the queue. */
			hg_overlay_input(hi->d, &g, hi->buf, len, now_ms());
		} else if (len <= sizeof(hi->buf)) {	/* longer: cut */
			memset(&local, 0, sizeof(local));
			memset(&remote, 0, sizeof(remote));
			local.family = remote.family = g.family;
			memcpy(local.addr, g.dst, 16);
			memcpy(remote.addr, g.src, 16);
			local.port = g.dport;
			remote.port = g.sport;
			ike_input(hi->ike, &local, &remote, hi->buf, len,
			    now_ms());
		}
		ike_leave(hi);
	}
	return n;
}

static void
ike_tick_once(struct hg_ike *hi)
{
	uint64_t now, acq;

	ike_enter(hi);
	now = now_ms();
	/* Packets routed into tunnels with no SA: start_action trap. */
	acq = dp_ctl_acquires(hi->d->dp);
	for (uint16_t i = 0; acq != 0; i++, acq >>= 1)
		if (acq & 1)
			(void)ike_acquire(hi->ike, i, now);
	ike_tick(hi->ike, now);
	hg_overlay_tick(hi->d, now);
	ike_leave(hi);
}

/*
 * hg-ike: the queue's datagrams as they come, the timers every
 * IKE_TICK_MS.  A flood fills the bounded queue (the workers drop and
 * count what does not fit, ike_queue_full) and the engine's half-open
 * bounds and COOKIEs bound the rest; the clock is looked at every
 * IKE_BATCH datagrams so that retransmissions go on under it.
 */
static void *
ike_main(void *arg)
{
	struct hg_ike *hi = arg;
	struct pollfd pfd[2] = {
		{ .fd = dp_ctl_fd(hi->d->dp), .events = POLLIN },
		{ .fd = hi->wake_fd, .events = POLLIN },
	};
	uint64_t next_tick = now_ms() + IKE_TICK_MS;

	while (!__atomic_load_n(&hi->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = now_ms();
		bool more;

		if (now >= next_tick) {
			ike_tick_once(hi);
			next_tick = now + IKE_TICK_MS;
			continue;
		}
		/* The queue empty (dp_ctl_recv() said so and armed its
		 * eventfd): wait for it or for the next tick. */
		more = ike_rx(hi) == IKE_BATCH;
		if (!more && poll(pfd, 2, (int)(next_tick - now)) > 0 &&
		    (pfd[0].revents & POLLIN)) {
			uint64_t junk;

			(void)!read(pfd[0].fd, &junk, sizeof(junk));
		}
	}
	return NULL;
}

int
hg_ike_start(struct hg_daemon *d, char *err, size_t err_len)
{
	struct ike_env env = {
		.send = on_send, .install = on_install,
		.switch_out = on_switch_out, .retire_in = on_retire_in,
		.uninstall = on_uninstall, .moved = on_moved, .log = on_log,
		.wall_s = on_wall,
	};
	struct ike_conn_cfg *conns;
	struct hg_ike *hi;
	unsigned n;
	int rc;

	if ((hi = calloc(1, sizeof(*hi))) == NULL) {
		snprintf(err, err_len, "ipsec: out of memory");
		return -ENOMEM;
	}
	hi->d = d;
	hi->wake_fd = -1;
	env.ctx = hi;
	if ((rc = ike_create(&hi->ike, &env)) != 0) {
		free(hi);
		snprintf(err, err_len, "ipsec: out of memory");
		return rc;
	}
	pthread_mutex_init(&hi->lock, NULL);
	pthread_mutex_init(&hi->turn, NULL);
	d->ike = hi;
	if ((hi->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, err_len, "ipsec: eventfd: %s", strerror(-rc));
		hg_ike_stop(d);
		return rc;
	}
	if ((rc = hg_ike_conns(d, d->cfg, &conns, &n, err, err_len)) != 0) {
		hg_ike_stop(d);
		return rc;
	}
	rc = ike_set_conns(hi->ike, conns, n, now_ms());
	OPENSSL_cleanse(conns, sizeof(*conns) * (n ? n : 1));
	free(conns);
	if (rc != 0) {
		snprintf(err, err_len, "ipsec: %s", strerror(-rc));
		hg_ike_stop(d);
		return rc;
	}
	if ((rc = -pthread_create(&hi->thread, NULL, ike_main, hi)) != 0) {
		snprintf(err, err_len, "ipsec: thread: %s", strerror(-rc));
		hg_ike_stop(d);
		return rc;
	}
	hi->started = true;
	(void)pthread_setname_np(hi->thread, "hg-ike");
	if (n > 0)
		hg_log_info("ipsec: %u IKEv2 connection%s", n, n == 1 ? "" :
		    "s");
	return 0;
}

void
hg_ike_lock(struct hg_daemon *d)
{
	if (d->ike != NULL)
		ike_enter(d->ike);
}

void
hg_ike_unlock(struct hg_daemon *d)
{
	if (d->ike != NULL)
		ike_leave(d->ike);
}

void
hg_ike_reload(struct hg_daemon *d)
{
	struct ike_conn_cfg *conns;
	char err[512];
	unsigned n;

	if (d->ike == NULL)
		return;
	/* The stage checked them: this fails only for memory. */
	if (hg_ike_conns(d, d->cfg, &conns, &n, err, sizeof(err)) != 0) {
		hg_log_warnx("ipsec: reload: %s; connections unchanged", err);
		return;
	}
	if (ike_set_conns(d->ike->ike, conns, n, now_ms()) != 0)
		hg_log_warnx("ipsec: reload: out of memory; connections "
		    "unchanged");
	OPENSSL_cleanse(conns, sizeof(*conns) * (n ? n : 1));
	free(conns);
}

void
hg_ike_stop(struct hg_daemon *d)
{
	struct hg_ike *hi = d->ike;

	if (hi == NULL)
		return;
	/* hg-ike first: then the engine is the control thread's alone. */
	if (hi->started) {
		uint64_t one = 1;

		__atomic_store_n(&hi->stop, 1, __ATOMIC_RELEASE);
		(void)!write(hi->wake_fd, &one, sizeof(one));
		pthread_join(hi->thread, NULL);
		hi->started = false;
	}
	if (hi->ike != NULL)
		ike_destroy(hi->ike, now_ms());
	if (hi->wake_fd >= 0)
		close(hi->wake_fd);
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		for (uint8_t k = 0; k < DP_TUNNEL_SLOTS; k++)
			held_drop(hi, i, k);
	pthread_mutex_destroy(&hi->lock);
	pthread_mutex_destroy(&hi->turn);
	free(hi);
	d->ike = NULL;
}

/* The JSON object of hg_ike_status(): what snprintf() returns. */
static int
status_format(const struct ike *ike, char *buf, size_t len)
{
	int w = snprintf(buf, len, "{\"ike_sas\":"), n;

	if (ike == NULL)
		return snprintf(buf, len, "{\"ike_sas\":[],\"traps\":[]}");
	if ((n = ike_format_json(ike, now_ms(), buf + w, len - (size_t)w)) < 0)
		return n;
	w += n;
	n = snprintf(buf + HG_MIN((size_t)w, len), len - HG_MIN((size_t)w,
	    len), ",\"traps\":");
	w += n;
	if ((n = ike_format_traps_json(ike, buf + HG_MIN((size_t)w, len),
	    len - HG_MIN((size_t)w, len))) < 0)
		return n;
	w += n;
	n = snprintf(buf + HG_MIN((size_t)w, len), len - HG_MIN((size_t)w,
	    len), "}");
	return w + n;
}

char *
hg_ike_status(struct hg_daemon *d)
{
	size_t len = 4096;

	for (;;) {
		char *buf = malloc(len);
		int n;

		if (buf == NULL)
			return NULL;
		hg_ike_lock(d);
		n = status_format(d->ike != NULL ? d->ike->ike : NULL, buf,
		    len);
		hg_ike_unlock(d);
		if (n >= 0 && (size_t)n < len)
			return buf;
		free(buf);
		if (n < 0 || len > (16u << 20))
			return NULL;
		len = (size_t)n + 1;
	}
}

int
hg_ike_updown(struct hg_daemon *d, const char *name, bool up)
{
	int rc;

	if (d->ike == NULL)
		return -ENOENT;
	ike_enter(d->ike);
	rc = up ? ike_up(d->ike->ike, name, now_ms()) :
	    ike_down(d->ike->ike, name, now_ms());
	ike_leave(d->ike);
	return rc;
}

bool
hg_ike_stats(struct hg_daemon *d, struct ike_stats *out)
{
	if (d->ike == NULL)
		return false;
	ike_enter(d->ike);
	ike_get_stats(d->ike->ike, out);
	ike_leave(d->ike);
	return true;
}
