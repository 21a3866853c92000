/*
 * src/daemon/config/tunnels.c: the configured ESP tunnels' SAs (issue
 * 14, manual keying), made at start for the data plane.  An SA's key is
 * in a file of its own, hex, readable by root only: it is read here,
 * handed to the ESP layer and wiped, so no key is ever in the
 * configuration text, a version in the store, a log or an answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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
		if ((v = hexval(*s)) < 0 || (hi < 0 && n == max))
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
sa_make(struct hg_daemon *d, const struct hg_cfg_tunnel *tn,
    const struct hg_cfg_if *ifc, bool inbound, struct esp_sa **out,
    char *err, size_t err_len)
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
	(void)ifc;
	rc = esp_sa_create(out, &c, &why);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		snprintf(err, err_len, "%s: %s", where, why != NULL ? why :
		    strerror(-rc));
		return rc;
	}
	return 0;
}

int
hg_tunnels_open(struct hg_daemon *d, struct dp_tunnel *out, char *err,
    size_t err_len)
{
	int rc;

	for (uint16_t k = 0; k < d->cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &d->cfg->tunnels[k];
		const struct hg_cfg_if *ifc = &d->cfg->ifs[tn->if_idx];
		struct dp_tunnel *t = &out[tn->if_idx];

		if ((rc = sa_make(d, tn, ifc, false, &t->out, err,
		    err_len)) != 0 ||
		    (rc = sa_make(d, tn, ifc, true, &t->in, err,
		    err_len)) != 0) {
			hg_tunnels_close(out);
			return rc;
		}
		t->spi_in = tn->sa_in.spi;
		t->family = tn->remote.family;
		memcpy(t->remote, tn->remote.addr, 16);
		hg_log_info("tunnel %s: ESP%s, SPI out %u in %u, %s",
		    tn->name, tn->udp ? "-in-UDP" : "", tn->sa_out.spi,
		    tn->sa_in.spi, tn->sa_out.alg);
	}
	return 0;
}

void
hg_tunnels_close(struct dp_tunnel *t)
{
	for (uint16_t i = 0; i < IP_IF_MAX; i++) {
		esp_sa_free(t[i].out);
		esp_sa_free(t[i].in);
		memset(&t[i], 0, sizeof(t[i]));
	}
}
