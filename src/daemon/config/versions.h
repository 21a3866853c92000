/*
 * src/daemon/config/versions.h: the configuration's files (files.c) and,
 * when the config file names a store, its versions (versions.c): the
 * daemon starts from the newest version, and every change that succeeds
 * (a rule, a set, a reload, a configuration put, a rollback) is committed
 * as a new version before it is acknowledged.  Builds on daemon.h only.
 */
#ifndef HG_DAEMON_VERSIONS_H
#define HG_DAEMON_VERSIONS_H

#include "../daemon.h"

/* A rule, set or config file: 10,000 rules are about 1 MB. */
#define HG_FILE_MAX_BYTES	(64u << 20)

/* files.c */
/* A locally administered MAC derived from an interface's name, for ports
 * that have none (pcap, gen) and for tunnels. */
void hg_mac_from_name(const char *name, uint8_t mac[ETH_ALEN]);
/* p made absolute against the config file's folder (rule files, store). */
void hg_cfg_rel_path(const struct hg_daemon *d, const char *p, char *out,
    size_t len);
/* A whole file, NUL-terminated (malloc'd); NULL with err. */
char *hg_read_file(const char *path, size_t *len, char *err, size_t err_len);
/* The same, but a missing file is an empty text with *missing set. */
char *hg_read_file_opt(const char *path, size_t *len, bool *missing,
    char *err, size_t err_len);
/* Replaces path with text atomically; 0, or -errno with err. */
int hg_write_file(const char *path, const char *text, char *err,
    size_t err_len);

/* versions.c */
/* Before the ports open: opens the store and, when it has a version,
 * replaces d->cfg with it and sets d->boot.  check vets every version
 * before the store writes it (config/apply.c's hg_config_check_doc). */
int hg_versions_boot(struct hg_daemon *d, hg_store_check_fn check,
    char *err, size_t err_len);
/* Once the firewall runs: an empty store gets the running configuration
 * as version 1; d->boot is released. */
int hg_versions_started(struct hg_daemon *d, char *err, size_t err_len);
void hg_versions_stop(struct hg_daemon *d);
/* Commits cfg_text, fw's rules (without counters) and the live sets as a
 * new version by d->who, with comment; sets d->store_version. */
int hg_versions_record(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, char *err,
    size_t err_len);
/* The same, pending until deadline_ns when that is not 0. */
int hg_versions_record_at(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, uint64_t deadline_ns,
    char *err, size_t err_len);
/* Version N (0: the running one) as {"version", "config", "rules",
 * "rules6", "sets"}; NULL with err. */
json_t *hg_versions_doc_json(struct hg_daemon *d, uint64_t version,
    char *err, size_t err_len);

#endif /* HG_DAEMON_VERSIONS_H */
