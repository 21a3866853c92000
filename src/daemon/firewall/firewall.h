/*
 * src/daemon/firewall/firewall.h: the firewall's control side.  publish.c
 * parses and compiles the rule texts beside the running programs and
 * publishes them in one swap, and makes the changes the rule and set
 * operations ask for, each whole or refused with every error located;
 * render.c gives the firewall's state as JSON.  Builds on
 * config/versions.h (a change is a version before it goes live).
 */
#ifndef HG_DAEMON_FIREWALL_H
#define HG_DAEMON_FIREWALL_H

#include "../daemon.h"

static inline const char *
hg_fw_family_name(uint8_t family)
{
	return family == FW_IPV6 ? "IPv6" : "IPv4";
}

/* publish.c: control thread. */
/* The running program of family, or NULL. */
struct fw_prog *hg_fw_live(const struct hg_daemon *d, uint8_t family);
/* Reads the sets and rule files of d->cfg and publishes the firewall. */
int hg_fw_start(struct hg_daemon *d, char *err, size_t err_len);
/* A new firewall from cfg's rule files, or from texts' rules and rules6
 * when not NULL, for a reload to publish. */
int hg_fw_prepare(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, struct dp_fw **out, char *err,
    size_t err_len);
/* Parses and compiles texts' rules for cfg, keeping nothing. */
int hg_fw_check_texts(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, char *err, size_t err_len);
void hg_fw_stop(struct hg_daemon *d);
/*
 * The firewall's changes, as the operations make them.  Each returns the
 * answer, or {"error": "...", "errors": [located...]} with nothing
 * changed (hg_op_relay() turns it into the operation's reply).
 */
/* cmd 'A' appends (pos 0), 'I' inserts at pos (0: 1), 'D' deletes the
 * rule at pos or, with pos 0, the first one with rule's text. */
json_t *hg_fw_edit(struct hg_daemon *d, uint8_t family, char cmd,
    const char *chain, uint32_t pos, const char *rule);
/* Replaces family's rules with iptables-restore text; src names it in
 * errors. */
json_t *hg_fw_restore(struct hg_daemon *d, uint8_t family, const char *src,
    const char *body, size_t len);
/* {"text": iptables-save text with counters}. */
json_t *hg_fw_save(struct hg_daemon *d, uint8_t family);
/* The located errors of the last firewall build that failed (a reload,
 * a configuration put), as a JSON array, taken; NULL if none. */
json_t *hg_fw_take_errors(void);
/* Replaces or edits the sets with ipset restore text. */
json_t *hg_sets_restore(struct hg_daemon *d, const char *src,
    const char *body, size_t len);

/* render.c */
/* Verdict counters, conntrack totals, the COPY sessions. */
json_t *hg_fw_show(struct hg_daemon *d);
/* Flows, or with nat_only the translated ones ("nat show"). */
json_t *hg_ct_show(struct hg_daemon *d, bool nat_only);

#endif /* HG_DAEMON_FIREWALL_H */
