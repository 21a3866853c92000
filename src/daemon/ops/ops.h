/*
 * src/daemon/ops/ops.h: hexgated's operations (src/mgmt/op.h): the table
 * in ops.c, a handler each in the file of its area (show.c, rules.c,
 * config.c, capture.c, overlay.c).  The control
 * socket (transport/socket.c) and the HTTPS API (transport/rest.c) are the transports; neither
 * knows an operation by name.  docs/operations.md: adding one.
 */
#ifndef HG_DAEMON_OPS_H
#define HG_DAEMON_OPS_H

#include "../../mgmt/op.h"

struct hg_daemon;
struct hg_store_doc;

extern const struct hg_op hg_ops[];
extern const size_t hg_n_ops;

/*
 * Runs r (decoded) on behalf of r->author from r->source: the author of
 * the version a change commits and of its audit row.  Returns r->status.
 * A change is logged with its outcome.
 */
int hg_op_run(struct hg_daemon *d, struct hg_op_req *r);
/* The operation's reply as the socket sends it, and as the API does for
 * a JSON reply: the answer, or {"error": {...}}; a raw reply as
 * {"content_type", "text"} or, when not UTF-8, {"content_type",
 * "base64"}. */
json_t *hg_op_answer(const struct hg_op_req *r);

/* config.c: the 404 every store operation gives without a store. */
int hg_ops_no_store(struct hg_op_req *r);
/* config.c: doc applied and committed as a new version (comment), as a
 * configuration put does: 0, or r's error status (409 while a version
 * awaits confirmation, 400 with the reason and nothing changed). */
int hg_ops_apply(struct hg_daemon *d, struct hg_op_req *r,
    const struct hg_store_doc *doc, const char *comment,
    uint64_t deadline_ns);

/* config.c: an API token's SHA-256, as the store keeps it. */
int hg_token_hash(const char *token, char hex[65]);
/* metrics.c: the counters as Prometheus text (format 0.0.4); malloc'd,
 * *len bytes, or NULL when out of memory. */
char *hg_metrics_text(struct hg_daemon *d, size_t *len);

/* show.c */
int op_show_version(void *ctx, struct hg_op_req *r);
int op_show_interfaces(void *ctx, struct hg_op_req *r);
int op_show_routes(void *ctx, struct hg_op_req *r);
int op_show_neighbors(void *ctx, struct hg_op_req *r);
int op_show_firewall(void *ctx, struct hg_op_req *r);
int op_show_conntrack(void *ctx, struct hg_op_req *r);
int op_nat_show(void *ctx, struct hg_op_req *r);
int op_metrics(void *ctx, struct hg_op_req *r);
int op_ops_list(void *ctx, struct hg_op_req *r);
int op_ipsec_sas(void *ctx, struct hg_op_req *r);
int op_ipsec_status(void *ctx, struct hg_op_req *r);
int op_overlay_status(void *ctx, struct hg_op_req *r);
int op_overlay_handshake(void *ctx, struct hg_op_req *r);
int op_ipsec_up(void *ctx, struct hg_op_req *r);
int op_ipsec_down(void *ctx, struct hg_op_req *r);
int op_ipsec_conns_show(void *ctx, struct hg_op_req *r);
int op_ipsec_conns_put(void *ctx, struct hg_op_req *r);

/* rules.c */
int op_firewall_save(void *ctx, struct hg_op_req *r);
int op_firewall_restore(void *ctx, struct hg_op_req *r);
int op_firewall_add(void *ctx, struct hg_op_req *r);
int op_firewall_delete(void *ctx, struct hg_op_req *r);
int op_sets_save(void *ctx, struct hg_op_req *r);
int op_sets_restore(void *ctx, struct hg_op_req *r);
int op_sets_add(void *ctx, struct hg_op_req *r);
int op_sets_del(void *ctx, struct hg_op_req *r);

/* config.c */
int op_reload(void *ctx, struct hg_op_req *r);
int op_config_show(void *ctx, struct hg_op_req *r);
int op_config_put(void *ctx, struct hg_op_req *r);
int op_config_versions(void *ctx, struct hg_op_req *r);
int op_config_diff(void *ctx, struct hg_op_req *r);
int op_config_rollback(void *ctx, struct hg_op_req *r);
int op_config_confirm(void *ctx, struct hg_op_req *r);
int op_snapshot_export(void *ctx, struct hg_op_req *r);
int op_snapshot_import(void *ctx, struct hg_op_req *r);
int op_token_create(void *ctx, struct hg_op_req *r);
int op_token_list(void *ctx, struct hg_op_req *r);
int op_token_revoke(void *ctx, struct hg_op_req *r);
int op_audit_show(void *ctx, struct hg_op_req *r);

/* overlay.c: the overlay's clientpacks (docs/overlay.md) */
#define HG_WG_KEY_BYTES	32
int op_overlay_cp_add(void *ctx, struct hg_op_req *r);
int op_overlay_cp_list(void *ctx, struct hg_op_req *r);
int op_overlay_cp_show(void *ctx, struct hg_op_req *r);
int op_overlay_cp_disable(void *ctx, struct hg_op_req *r);
int op_overlay_cp_enable(void *ctx, struct hg_op_req *r);
int op_overlay_cp_rekey(void *ctx, struct hg_op_req *r);
int op_overlay_cp_revoke(void *ctx, struct hg_op_req *r);

/* capture.c */
int op_capture_start(void *ctx, struct hg_op_req *r);
int op_capture_list(void *ctx, struct hg_op_req *r);
int op_capture_stop(void *ctx, struct hg_op_req *r);
int op_capture_pcap(void *ctx, struct hg_op_req *r);

#endif /* HG_DAEMON_OPS_H */
