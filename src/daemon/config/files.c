/*
 * src/daemon/config/files.c: the files of a configuration: paths in the
 * config file made absolute against its folder, whole files read, and
 * files replaced atomically (a temporary file beside it, fsync, rename),
 * as the rule and set files are when a change is written back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../daemon.h"
#include "versions.h"

/* cfg's path made absolute against the configuration file's folder. */
void
hg_cfg_rel_path(const struct hg_daemon *d, const char *p, char *out,
    size_t len)
{
	char dir[HG_CFG_PATH_MAX];
	char *slash;

	if (p[0] == '\0' || p[0] == '/') {
		snprintf(out, len, "%s", p);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", d->config_path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(out, len, "%s", p);
	else {
		*slash = '\0';
		if (snprintf(out, len, "%s/%s", dir, p) >= (int)len)
			out[0] = '\0';	/* cannot be: paths are bounded */
	}
}

/* Reads a whole file; ENOENT gives an empty text with *missing set. */
char *
hg_read_file_opt(const char *path, size_t *len, bool *missing, char *err,
    size_t err_len)
{
	struct stat st;
	char *text;
	FILE *f;

	*missing = false;
	*len = 0;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT) {
			*missing = true;
			return strdup("");
		}
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > HG_FILE_MAX_BYTES) {
		snprintf(err, err_len, "%s: not a regular file of at most %u "
		    "bytes", path, HG_FILE_MAX_BYTES);
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		snprintf(err, err_len, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	*len = fread(text, 1, (size_t)st.st_size, f);
	text[*len] = '\0';
	fclose(f);
	return text;
}

char *
hg_read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	bool missing;
	char *text = hg_read_file_opt(path, len, &missing, err, err_len);

	if (text != NULL && missing) {
		free(text);
		snprintf(err, err_len, "%s: %s", path, strerror(ENOENT));
		return NULL;
	}
	return text;
}

/* Replaces path with text: a temporary file beside it, fsync, rename. */
int
hg_write_file(const char *path, const char *text, char *err, size_t err_len)
{
	char tmp[HG_CFG_PATH_MAX * 2 + 16];
	size_t len = strlen(text), off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, err_len, "%s: %s", path, strerror(errno));
	(void)unlink(tmp);
	return -errno;
}

/* A locally administered MAC derived from the interface name, for ports
 * that have none (pcap, gen). */
void
hg_mac_from_name(const char *name, uint8_t mac[ETH_ALEN])
{
	uint32_t h = 2166136261u;

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x68;	/* 'h' */
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
