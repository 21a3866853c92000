/*
 * src/daemon/ops/overlay.c: the overlay's clientpacks (issue 16,
 * docs/overlay.md).  A clientpack is a client of the overlay (one entry
 * of the configuration's overlay.clients) and the wg-quick file that
 * joins it: add allocates the next free overlay address, makes the
 * client's key pair and, when asked, a preshared key, commits the client
 * as a new version and answers the file; list, show, disable, enable,
 * rekey and revoke work on the same entries, each change a new version.
 *
 * The server keeps only the client's public key.  Its private key is
 * made here, written into the answer once (add, rekey) and wiped: it is
 * never in the configuration, the store, a log or a later answer.  A
 * preshared key is symmetric, so the server must keep it: it goes into
 * the configuration as base64 ("preshared_key", which every reply and
 * diff stars, src/mgmt/secret.h).  hexgated holds no sealing key yet;
 * once it does, the PSK is to be stored as an hgsec1: token instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../lib/log.h"
#include "../../lib/text.h"
#include "../daemon.h"
#include "../config/overlay.h"
#include "../config/versions.h"
#include "ops.h"

#define KEY_FILE_MAX		128	/* "wg genkey": 44 characters */
#define CP_KEEPALIVE_S		25	/* clients are behind NATs */

/* --- the address pool ------------------------------------------------- */

static unsigned
addr_bits(const struct hg_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

static size_t
addr_bytes(const struct hg_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* Whether a lies in p (p's host bits ignored). */
static bool
prefix_has(const struct hg_prefix *p, const struct hg_addr *a)
{
	unsigned full = p->len_bits / 8, rest = p->len_bits % 8;

	if (p->a.family != a->family)
		return false;
	if (memcmp(p->a.addr, a->addr, full) != 0)
		return false;
	return rest == 0 || ((p->a.addr[full] ^ a->addr[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

/* p with its host bits cleared (a network) or set (broadcast). */
static void
prefix_edge(const struct hg_prefix *p, bool ones, struct hg_addr *out)
{
	*out = p->a;
	for (unsigned bit = p->len_bits; bit < addr_bits(&p->a); bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (ones)
			out->addr[bit / 8] |= m;
		else
			out->addr[bit / 8] &= (uint8_t)~m;
	}
}

/* a + 1, big-endian; false when it wrapped. */
static bool
addr_next(struct hg_addr *a)
{
	for (size_t i = addr_bytes(a); i-- > 0;)
		if (++a->addr[i] != 0)
			return true;
	return false;
}

/* Whether a is the appliance's own overlay address or in a peer's. */
static bool
addr_taken(const struct hg_cfg_overlay *ov, const struct hg_cfg_if *ifc,
    const struct hg_addr *a)
{
	for (unsigned k = 0; k < ifc->n_addrs; k++)
		if (ifc->addrs[k].a.family == a->family &&
		    memcmp(ifc->addrs[k].a.addr, a->addr, addr_bytes(a)) == 0)
			return true;
	for (uint16_t p = 0; p < ov->n_peers; p++)
		for (uint8_t j = 0; j < ov->peers[p].n_allowed; j++)
			if (prefix_has(&ov->peers[p].allowed[j], a))
				return true;
	return false;
}

/*
 * The first free host address of the overlay's first subnet of family:
 * not the network or broadcast address, not the appliance's, in no
 * peer's allowed IPs.  1 with *out set, 0 when the subnet is full, -1
 * when the overlay has no subnet of that family.  The walk ends after
 * as many taken addresses as there are peers and own addresses, so it is
 * short whatever the subnet's size.
 */
static int
pool_next(const struct hg_cfg_overlay *ov, const struct hg_cfg_if *ifc,
    int family, struct hg_prefix *subnet, struct hg_addr *out)
{
	const struct hg_prefix *net = NULL;
	struct hg_addr a, last;

	for (unsigned k = 0; k < ifc->n_addrs && net == NULL; k++)
		if (ifc->addrs[k].a.family == family)
			net = &ifc->addrs[k];
	if (net == NULL)
		return -1;
	*subnet = *net;
	prefix_edge(net, false, &subnet->a);
	prefix_edge(net, false, &a);
	prefix_edge(net, true, &last);
	while (addr_next(&a) && memcmp(a.addr, last.addr, addr_bytes(&a)) != 0)
		if (!addr_taken(ov, ifc, &a)) {
			*out = a;
			return 1;
		}
	return 0;
}

static void
prefix_text(const struct hg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", hg_addr_fmt(&p->a, a, sizeof(a)),
	    p->len_bits);
}

/* --- the wg-quick file ------------------------------------------------ */

/* What one clientpack's file says of the client. */
struct cp_client {
	const char *name;
	uint8_t n_addrs;
	struct hg_prefix addrs[2];	/* /32 and /128 */
	const char *priv_b64;		/* NULL: shown once, at creation */
	bool psk;
	const char *psk_b64;		/* with psk; NULL: not shown */
};

/* "10.99.0.2/32, fd99::2/128" */
static void
addrs_line(FILE *f, const struct hg_prefix *p, unsigned n)
{
	char buf[INET6_ADDRSTRLEN + 4];

	for (unsigned k = 0; k < n; k++) {
		prefix_text(&p[k], buf, sizeof(buf));
		fprintf(f, "%s%s", k ? ", " : "", buf);
	}
}

/*
 * The wg-quick file: the client's [Interface] and the appliance as its
 * one [Peer].  AllowedIPs is what the client sends through the overlay:
 * the overlay's subnets and the networks offered to clients, nothing
 * else (a client's default route stays its own unless 0.0.0.0/0 is
 * offered).  NULL when out of memory.
 */
static char *
cp_file(const struct hg_config *cfg, const struct cp_client *c,
    const uint8_t server_pub[HG_WG_KEY_BYTES])
{
	const struct hg_cfg_overlay *ov = &cfg->overlay;
	const struct hg_cfg_if *ifc = &cfg->ifs[ov->if_idx];
	struct hg_prefix nets[HG_CFG_ADDR_MAX + HG_CFG_WG_ALLOWED_MAX];
	char buf[INET6_ADDRSTRLEN], pub[64], *text = NULL;
	unsigned n = 0;
	size_t len = 0;
	FILE *f;

	if (hg_overlay_key_b64(server_pub, pub, sizeof(pub)) != 0)
		return NULL;
	/* The subnets once each (two addresses may share one). */
	for (unsigned k = 0; k < ifc->n_addrs; k++) {
		struct hg_prefix p = ifc->addrs[k];
		bool dup = false;

		prefix_edge(&ifc->addrs[k], false, &p.a);
		for (unsigned j = 0; j < n; j++)
			dup |= memcmp(&nets[j], &p, sizeof(p)) == 0;
		if (!dup)
			nets[n++] = p;
	}
	for (unsigned k = 0; k < ov->n_offer; k++)
		nets[n++] = ov->offer[k];
	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	fprintf(f, "# hexgate overlay clientpack \"%s\"\n[Interface]\n",
	    c->name);
	if (c->priv_b64 != NULL)
		fprintf(f, "PrivateKey = %s\n", c->priv_b64);
	else
		fprintf(f, "# PrivateKey = (shown once at creation)\n");
	fprintf(f, "Address = ");
	addrs_line(f, c->addrs, c->n_addrs);
	fputc('\n', f);
	if (ov->n_dns > 0) {
		fprintf(f, "DNS = ");
		for (unsigned k = 0; k < ov->n_dns; k++)
			fprintf(f, "%s%s", k ? ", " : "",
			    hg_addr_fmt(&ov->dns[k], buf, sizeof(buf)));
		fputc('\n', f);
	}
	fprintf(f, "\n[Peer]\nPublicKey = %s\n", pub);
	if (c->psk && c->psk_b64 != NULL)
		fprintf(f, "PresharedKey = %s\n", c->psk_b64);
	else if (c->psk)
		fprintf(f, "# PresharedKey = (shown once at creation)\n");
	if (ov->endpoint[0] != '\0')
		fprintf(f, "Endpoint = %s\n", ov->endpoint);
	else
		fprintf(f, "# Endpoint = (none configured: /overlay/endpoint)\n");
	fprintf(f, "AllowedIPs = ");
	addrs_line(f, nets, n);
	fprintf(f, "\nPersistentKeepalive = %d\n", CP_KEEPALIVE_S);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* --- the configuration's overlay section ------------------------------ */

/*
 * The running version's document, to change its overlay.clients and
 * commit it as a new version.  The parsed running configuration
 * (d->cfg) is the same version: the pool and the names are read there.
 */
struct cp_doc {
	json_t *o;		/* {"version", "config", "rules", ...} */
	json_t *overlay;	/* o.config.overlay */
	json_t *clients;	/* o.config.overlay.clients, made if absent */
};

static void
cp_doc_free(struct cp_doc *cd)
{
	json_decref(cd->o);
	memset(cd, 0, sizeof(*cd));
}

/* The store, the overlay section; 0 or r's error status. */
static int
cp_check(struct hg_daemon *d, struct hg_op_req *r)
{
	if (d->store == NULL)
		return hg_ops_no_store(r);
	if (!d->cfg->overlay.enabled)
		return hg_op_error_code(r, 409, "no_overlay", NULL, "/overlay: "
		    "the configuration has no overlay section (docs/overlay.md "
		    "says how to add one)");
	return 0;
}

static int
cp_doc_load(struct hg_daemon *d, struct hg_op_req *r, struct cp_doc *cd)
{
	char err[256];

	memset(cd, 0, sizeof(*cd));
	if ((cd->o = hg_versions_doc_json(d, 0, err, sizeof(err))) == NULL)
		return hg_op_error(r, 500, NULL, "%s", err);
	cd->overlay = json_object_get(json_object_get(cd->o, "config"),
	    "overlay");
	if (!json_is_object(cd->overlay)) {
		cp_doc_free(cd);
		return hg_op_error_code(r, 409, "no_overlay", NULL, "/overlay: "
		    "the running version has no overlay section");
	}
	cd->clients = json_object_get(cd->overlay, "clients");
	if (cd->clients == NULL) {
		cd->clients = json_array();
		if (json_object_set_new(cd->overlay, "clients",
		    cd->clients) != 0) {
			cp_doc_free(cd);
			return hg_op_error(r, 500, NULL, "out of memory");
		}
	}
	return 0;
}

/* The index of the client named name in cd's clients, or -1. */
static ssize_t
cp_doc_find(const struct cp_doc *cd, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(cd->clients, i, c)
		if (json_is_string(json_object_get(c, "name")) &&
		    strcmp(json_string_value(json_object_get(c, "name")),
		    name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Commits cd's configuration as a new version; 0 or r's error status.
 * The text may hold a preshared key: it is wiped once committed. */
static int
cp_doc_commit(struct hg_daemon *d, struct hg_op_req *r, struct cp_doc *cd,
    const char *comment)
{
	struct hg_store_doc doc;
	int rc;

	memset(&doc, 0, sizeof(doc));
	doc.config = json_dumps(json_object_get(cd->o, "config"),
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (doc.config == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	doc.rules = (char *)json_string_value(json_object_get(cd->o, "rules"));
	doc.rules6 = (char *)json_string_value(json_object_get(cd->o,
	    "rules6"));
	doc.sets = (char *)json_string_value(json_object_get(cd->o, "sets"));
	rc = hg_ops_apply(d, r, &doc, comment, 0);
	OPENSSL_cleanse(doc.config, strlen(doc.config));
	free(doc.config);
	return rc;
}

/* The running configuration's client named name, or NULL. */
static const struct hg_cfg_wg_peer *
cp_client_find(const struct hg_config *cfg, const char *name)
{
	for (uint16_t k = 0; k < cfg->overlay.n_peers; k++)
		if (cfg->overlay.peers[k].client &&
		    strcmp(cfg->overlay.peers[k].name, name) == 0)
			return &cfg->overlay.peers[k];
	return NULL;
}

static int
cp_not_found(struct hg_op_req *r, const char *name)
{
	return hg_op_error_code(r, 404, "not_found", "name", "no clientpack "
	    "named \"%s\" (/overlay/clients)", name);
}

/* {"name", "addresses", "public_key", "enabled", "psk"} of a client. */
static json_t *
cp_json(const struct hg_cfg_wg_peer *p)
{
	char pub[64], buf[INET6_ADDRSTRLEN + 4];
	json_t *a = json_array();

	for (uint8_t k = 0; a != NULL && k < p->n_allowed; k++) {
		prefix_text(&p->allowed[k], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	if (a == NULL || hg_overlay_key_b64(p->pub, pub, sizeof(pub)) != 0) {
		json_decref(a);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:s,s:b,s:b}", "name", p->name,
	    "addresses", a, "public_key", pub, "enabled", p->enabled,
	    "psk", p->psk[0] != '\0');
}

/* A client's name as the configuration takes it, checked here so the
 * error names the request's field. */
static int
cp_name_check(struct hg_op_req *r, const char *name)
{
	for (const char *c = name; *c != '\0'; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && *c != '.' && *c != '_' &&
		    *c != '-')
			return hg_op_error(r, 400, "name", "\"%s\": a "
			    "clientpack's name is letters, digits, '.', '_' "
			    "and '-'", name);
	return 0;
}

/*
 * New keys for a client: a key pair, and a PSK when psk; into the
 * client's JSON entry (public key, preshared_key) and into *c (the
 * private key and PSK for the answer, wiped by cp_keys_wipe()).
 */
struct cp_keys {
	char priv[64];
	char psk[64];
};

static void
cp_keys_wipe(struct cp_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

static int
cp_keys_make(json_t *entry, bool psk, struct cp_keys *k)
{
	uint8_t priv[HG_WG_KEY_BYTES], pub[HG_WG_KEY_BYTES];
	uint8_t sym[HG_WG_KEY_BYTES];
	char pub64[64];
	int rc;

	memset(k, 0, sizeof(*k));
	rc = hg_overlay_keypair(priv, pub);
	if (rc == 0)
		rc = hg_overlay_key_b64(priv, k->priv, sizeof(k->priv));
	if (rc == 0)
		rc = hg_overlay_key_b64(pub, pub64, sizeof(pub64));
	if (rc == 0 && psk) {
		rc = RAND_priv_bytes(sym, sizeof(sym)) == 1 ? 0 : -EIO;
		if (rc == 0)
			rc = hg_overlay_key_b64(sym, k->psk, sizeof(k->psk));
		OPENSSL_cleanse(sym, sizeof(sym));
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	if (rc == 0 && json_object_set_new(entry, "public_key",
	    json_string(pub64)) != 0)
		rc = -ENOMEM;
	if (rc == 0 && psk && json_object_set_new(entry, "preshared_key",
	    json_string(k->psk)) != 0)
		rc = -ENOMEM;
	if (rc != 0)
		cp_keys_wipe(k);
	return rc;
}

/*
 * The answer of add and rekey, from the configuration just committed:
 * the client as list shows it, the version, and the file with the keys
 * made for it (this is the only place they are ever shown).
 */
static int
cp_reply_file(struct hg_daemon *d, struct hg_op_req *r, const char *name,
    const struct cp_keys *k, int status)
{
	const struct hg_cfg_wg_peer *p = cp_client_find(d->cfg, name);
	uint8_t spriv[HG_WG_KEY_BYTES], spub[HG_WG_KEY_BYTES];
	struct cp_client c;
	char err[512], *text;
	json_t *o;

	if (p == NULL)
		return hg_op_error(r, 500, NULL, "the committed version has no "
		    "client \"%s\"", name);
	if (hg_overlay_key_load(d, d->cfg, spriv, spub, err,
	    sizeof(err)) != 0)
		return hg_op_error(r, 500, NULL, "%s", err);
	OPENSSL_cleanse(spriv, sizeof(spriv));
	memset(&c, 0, sizeof(c));
	c.name = p->name;
	c.n_addrs = (uint8_t)HG_MIN(p->n_allowed, 2);
	memcpy(c.addrs, p->allowed, c.n_addrs * sizeof(c.addrs[0]));
	c.priv_b64 = k->priv;
	c.psk = p->psk[0] != '\0';
	c.psk_b64 = k->psk;
	if ((text = cp_file(d->cfg, &c, spub)) == NULL ||
	    (o = cp_json(p)) == NULL) {
		if (text != NULL)
			OPENSSL_cleanse(text, strlen(text));
		free(text);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(o, "version",
	    json_integer((json_int_t)d->store_version));
	json_object_set_new(o, "config", json_string(text));
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return hg_op_reply(r, status, o);
}

/* --- the operations --------------------------------------------------- */

/* cd committed as "overlay clientpack VERB NAME"; then the client's new
 * file (with k's keys) as the answer.  k is wiped either way. */
static int
cp_commit_file(struct hg_daemon *d, struct hg_op_req *r, struct cp_doc *cd,
    const char *verb, const char *done, const char *name,
    struct cp_keys *k, int status)
{
	char comment[128];
	int rc;

	snprintf(comment, sizeof(comment), "overlay clientpack %s %s", verb,
	    name);
	rc = cp_doc_commit(d, r, cd, comment);
	cp_doc_free(cd);
	if (rc == 0) {
		hg_log_info("%s: overlay clientpack \"%s\" %s (version "
		    "%llu)", r->author, name, done,
		    (unsigned long long)d->store_version);
		rc = cp_reply_file(d, r, name, k, status);
	}
	cp_keys_wipe(k);
	return rc;
}

int
op_overlay_cp_add(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const struct hg_cfg_overlay *ov = &d->cfg->overlay;
	const char *name = hg_op_str(r, "name");
	bool psk = hg_op_has(r, "psk") && hg_op_bool(r, "psk");
	struct hg_prefix sub;
	struct hg_addr a;
	char buf[INET6_ADDRSTRLEN + 4];
	struct cp_keys k;
	struct cp_doc cd;
	json_t *entry, *addrs;
	int rc;

	if ((rc = cp_check(d, r)) != 0 || (rc = cp_name_check(r, name)) != 0)
		return rc;
	for (uint16_t p = 0; p < ov->n_peers; p++)
		if (strcmp(ov->peers[p].name, name) == 0)
			return hg_op_error_code(r, 409, "conflict", "name",
			    "\"%s\" is already the name of a%s", name,
			    ov->peers[p].client ? " clientpack" :
			    "n overlay peer (/overlay/peers)");
	if (ov->endpoint[0] == '\0')
		return hg_op_error_code(r, 409, "no_endpoint", NULL,
		    "/overlay/endpoint: not configured; a clientpack names the "
		    "HOST:PORT clients reach the overlay at");
	if ((entry = json_object()) == NULL || (addrs = json_array()) == NULL) {
		json_decref(entry);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(entry, "name", json_string(name));
	json_object_set_new(entry, "addresses", addrs);
	for (int fam = 0; fam < 2; fam++) {
		int got = pool_next(ov, &d->cfg->ifs[ov->if_idx],
		    fam ? AF_INET6 : AF_INET, &sub, &a);

		if (got == 0) {
			json_decref(entry);
			prefix_text(&sub, buf, sizeof(buf));
			return hg_op_error_code(r, 409, "pool_full", NULL,
			    "/overlay/addresses: no free address left in %s "
			    "(revoke a clientpack, or give the overlay a "
			    "larger subnet)", buf);
		}
		if (got < 0)
			continue;
		hg_addr_fmt(&a, buf, sizeof(buf));
		strcat(buf, fam ? "/128" : "/32");
		json_array_append_new(addrs, json_string(buf));
	}
	if (cp_keys_make(entry, psk, &k) != 0) {
		json_decref(entry);
		return hg_op_error(r, 500, NULL, "no random bytes or X25519");
	}
	if ((rc = cp_doc_load(d, r, &cd)) != 0) {
		cp_keys_wipe(&k);
		json_decref(entry);
		return rc;
	}
	json_array_append_new(cd.clients, entry);
	return cp_commit_file(d, r, &cd, "add", "added", name, &k, 201);
}

int
op_overlay_cp_list(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const struct hg_cfg_overlay *ov = &d->cfg->overlay;
	json_t *a;

	/* A read: without an overlay (or a store) there are no clients. */
	if ((a = json_array()) == NULL)
		return hg_op_error(r, 500, NULL, "out of memory");
	for (uint16_t p = 0; ov->enabled && p < ov->n_peers; p++)
		if (ov->peers[p].client &&
		    json_array_append_new(a, cp_json(&ov->peers[p])) != 0) {
			json_decref(a);
			return hg_op_error(r, 500, NULL, "out of memory");
		}
	return hg_op_reply(r, 200, json_pack("{s:I,s:o}", "version",
	    (json_int_t)hg_config_version(d), "clients", a));
}

int
op_overlay_cp_show(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const char *name = hg_op_str(r, "name");
	const struct hg_cfg_wg_peer *p;
	uint8_t spriv[HG_WG_KEY_BYTES], spub[HG_WG_KEY_BYTES];
	struct cp_client c;
	char err[512], *text;
	json_t *o;
	int rc;

	if ((rc = cp_check(d, r)) != 0)
		return rc;
	if ((p = cp_client_find(d->cfg, name)) == NULL)
		return cp_not_found(r, name);
	if (hg_overlay_key_load(d, d->cfg, spriv, spub, err,
	    sizeof(err)) != 0)
		return hg_op_error(r, 500, NULL, "%s", err);
	OPENSSL_cleanse(spriv, sizeof(spriv));
	memset(&c, 0, sizeof(c));
	c.name = p->name;
	c.n_addrs = (uint8_t)HG_MIN(p->n_allowed, 2);
	memcpy(c.addrs, p->allowed, c.n_addrs * sizeof(c.addrs[0]));
	c.psk = p->psk[0] != '\0';
	if ((text = cp_file(d->cfg, &c, spub)) == NULL ||
	    (o = cp_json(p)) == NULL) {
		free(text);
		return hg_op_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(o, "version",
	    json_integer((json_int_t)d->store_version));
	json_object_set_new(o, "config", json_string(text));
	free(text);
	return hg_op_reply(r, 200, o);
}

/* disable, enable: the client's "enabled" as a new version; the same
 * state again changes nothing and makes no version. */
static int
cp_enable(struct hg_daemon *d, struct hg_op_req *r, bool on)
{
	const char *name = hg_op_str(r, "name");
	const struct hg_cfg_wg_peer *p;
	char comment[128];
	struct cp_doc cd;
	ssize_t i;
	int rc;

	if ((rc = cp_check(d, r)) != 0)
		return rc;
	if ((p = cp_client_find(d->cfg, name)) == NULL)
		return cp_not_found(r, name);
	if (p->enabled != on) {
		if ((rc = cp_doc_load(d, r, &cd)) != 0)
			return rc;
		if ((i = cp_doc_find(&cd, name)) < 0) {
			cp_doc_free(&cd);
			return cp_not_found(r, name);
		}
		json_object_set_new(json_array_get(cd.clients, (size_t)i),
		    "enabled", json_boolean(on));
		snprintf(comment, sizeof(comment), "overlay clientpack %s %s",
		    on ? "enable" : "disable", name);
		rc = cp_doc_commit(d, r, &cd, comment);
		cp_doc_free(&cd);
		if (rc != 0)
			return rc;
		hg_log_info("%s: overlay clientpack \"%s\" %s (version %llu)",
		    r->author, name, on ? "enabled" : "disabled",
		    (unsigned long long)d->store_version);
	}
	return hg_op_reply(r, 200, json_pack("{s:s,s:b,s:I}", "name", name,
	    "enabled", on, "version", (json_int_t)d->store_version));
}

int
op_overlay_cp_disable(void *ctx, struct hg_op_req *r)
{
	return cp_enable(ctx, r, false);
}

int
op_overlay_cp_enable(void *ctx, struct hg_op_req *r)
{
	return cp_enable(ctx, r, true);
}

int
op_overlay_cp_rekey(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const char *name = hg_op_str(r, "name");
	const struct hg_cfg_wg_peer *p;
	struct cp_keys k;
	struct cp_doc cd;
	json_t *entry;
	ssize_t i;
	int rc;

	if ((rc = cp_check(d, r)) != 0)
		return rc;
	if ((p = cp_client_find(d->cfg, name)) == NULL)
		return cp_not_found(r, name);
	if (d->cfg->overlay.endpoint[0] == '\0')
		return hg_op_error_code(r, 409, "no_endpoint", NULL,
		    "/overlay/endpoint: not configured; a clientpack names the "
		    "HOST:PORT clients reach the overlay at");
	if ((rc = cp_doc_load(d, r, &cd)) != 0)
		return rc;
	if ((i = cp_doc_find(&cd, name)) < 0) {
		cp_doc_free(&cd);
		return cp_not_found(r, name);
	}
	entry = json_array_get(cd.clients, (size_t)i);
	if (cp_keys_make(entry, p->psk[0] != '\0', &k) != 0) {
		cp_doc_free(&cd);
		return hg_op_error(r, 500, NULL, "no random bytes or X25519");
	}
	return cp_commit_file(d, r, &cd, "rekey", "rekeyed", name, &k, 200);
}

int
op_overlay_cp_revoke(void *ctx, struct hg_op_req *r)
{
	struct hg_daemon *d = ctx;
	const char *name = hg_op_str(r, "name");
	char comment[128];
	struct cp_doc cd;
	ssize_t i;
	int rc;

	if ((rc = cp_check(d, r)) != 0)
		return rc;
	if (cp_client_find(d->cfg, name) == NULL)
		return cp_not_found(r, name);
	if ((rc = cp_doc_load(d, r, &cd)) != 0)
		return rc;
	if ((i = cp_doc_find(&cd, name)) < 0) {
		cp_doc_free(&cd);
		return cp_not_found(r, name);
	}
	json_array_remove(cd.clients, (size_t)i);
	snprintf(comment, sizeof(comment), "overlay clientpack revoke %s",
	    name);
	rc = cp_doc_commit(d, r, &cd, comment);
	cp_doc_free(&cd);
	if (rc != 0)
		return rc;
	hg_log_info("%s: overlay clientpack \"%s\" revoked (version %llu)",
	    r->author, name, (unsigned long long)d->store_version);
	return hg_op_reply(r, 200, json_pack("{s:s,s:b,s:I}", "name", name,
	    "revoked", 1, "version", (json_int_t)d->store_version));
}
