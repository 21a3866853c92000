/*
 * src/daemon/firewall/publish.c: the firewall's control side.  Reads the
 * rule and set texts the configuration names, compiles a program per
 * family beside the running one and publishes both in one swap (src/dp),
 * and makes the changes the rule and set operations ask for.
 *
 * Every change is whole or nothing: a restore, an added rule or a reload
 * is parsed and compiled in full before anything is published, and a
 * refused change leaves the running rules as they were.  A change made
 * over the socket is written back to the configured rule (or set) file
 * before it is acknowledged (write, fsync, rename), so a restart comes
 * back with it; with a store (config/versions.c) it is also committed as a new
 * version before it goes live, and at start the rules and sets come
 * from the store's texts instead of the files.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../fw/set.h"
#include "../../lib/hg_time.h"
#include "../../lib/log.h"
#include "../config/versions.h"
#include "../daemon.h"
#include "firewall.h"

static void
fw_errs_json(json_t *reply, const struct fw_errs *errs, const char *src,
    const char *text)
{
	json_t *list = json_array();
	char buf[1024];
	unsigned shown = errs->n < FW_ERR_MAX ? errs->n : FW_ERR_MAX;

	for (unsigned i = 0; i < shown; i++) {
		fw_err_format(&errs->e[i], src, buf, sizeof(buf));
		json_array_append_new(list, json_string(buf));
	}
	if (errs->n > shown) {
		snprintf(buf, sizeof(buf), "%s: %u more errors not shown", src,
		    errs->n - shown);
		json_array_append_new(list, json_string(buf));
	}
	(void)text;
	json_object_set_new(reply, "errors", list);
}

static void
fw_errs_log(const struct fw_errs *errs, const char *src)
{
	char buf[1024];
	unsigned shown = errs->n < FW_ERR_MAX ? errs->n : FW_ERR_MAX;

	for (unsigned i = 0; i < shown; i++) {
		fw_err_format(&errs->e[i], src, buf, sizeof(buf));
		hg_log_warnx("%s", buf);
	}
}

/* Room for every known network: the configured ones, the tunnels'
 * remote subnets, the overlay's subnets and its site peers' allowed IPs
 * (the last are cut at this many: they are a prefix or a few each). */
#define FW_KNOWN_CAP	(HG_CFG_KNOWN_MAX + HG_CFG_TUNNEL_MAX * \
	HG_CFG_ADDR_MAX + HG_CFG_ADDR_MAX + 4096)

/* One prefix as the compiler wants it, if it is of family. */
static bool
fw_prefix(const struct hg_prefix *p, uint8_t family, struct fw_addr *out)
{
	uint8_t bits = p->len_bits;

	if ((p->a.family == AF_INET6) != (family == FW_IPV6))
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, p->a.addr, family == FW_IPV6 ? 16 : 4);
	for (int b = 0; b < 16 && bits > 0; b++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		out->mask[b] = m;
		out->addr[b] &= m;
		bits = bits >= 8 ? (uint8_t)(bits - 8) : 0;
	}
	return true;
}

/*
 * The known networks of one family, as the compiler wants them: the
 * configured ones, known through any interface, then every tunnel's
 * remote subnets, known only through that tunnel (what its SA
 * decrypted), so the same source in clear elsewhere is not known.
 */
static uint32_t
fw_known(const struct hg_config *cfg, uint8_t family, struct fw_addr *out,
    uint16_t *out_if)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < cfg->fw.n_known; i++)
		if (fw_prefix(&cfg->fw.known[i], family, &out[n]))
			out_if[n++] = FW_IF_NONE;
	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_cfg_tunnel *tn = &cfg->tunnels[k];

		for (uint8_t j = 0; j < tn->n_remote; j++)
			if (fw_prefix(&tn->remote_subnets[j], family, &out[n]))
				out_if[n++] = tn->if_idx;
	}
	/* The overlay's subnets and its site peers' allowed IPs, known for
	 * what came through the overlay: its data plane let in only what
	 * the peer whose allowed IPs hold the source sent (cryptokey
	 * routing).  Clients' addresses are inside the subnets. */
	if (cfg->overlay.enabled) {
		const struct hg_cfg_overlay *ov = &cfg->overlay;
		const struct hg_cfg_if *ifc = &cfg->ifs[ov->if_idx];

		for (uint8_t j = 0; j < ifc->n_addrs; j++)
			if (fw_prefix(&ifc->addrs[j], family, &out[n]))
				out_if[n++] = ov->if_idx;
		for (uint16_t k = 0; k < ov->n_peers; k++) {
			const struct hg_cfg_wg_peer *wp = &ov->peers[k];

			if (wp->client)
				continue;
			for (uint8_t j = 0; j < wp->n_allowed; j++)
				if (n < FW_KNOWN_CAP &&
				    fw_prefix(&wp->allowed[j], family, &out[n]))
					out_if[n++] = ov->if_idx;
		}
	}
	return n;
}

/* Compiles rs for cfg; on success the program owns rs (fw_compile_take),
 * on failure the caller still does. */
/* The tunnels' peers of one family: what INPUT's defaults admit IKE and
 * ESP from. */
static uint32_t
fw_peers(const struct hg_config *cfg, uint8_t family, struct fw_addr *out)
{
	uint32_t n = 0;

	bool any = false;

	for (uint16_t k = 0; k < cfg->n_tunnels; k++) {
		const struct hg_addr *a = &cfg->tunnels[k].remote;

		/* An IPsec connection to %any: its peers come from
		 * anywhere (the IKE exchange authenticates them, an SPI
		 * no tunnel has is dropped). */
		if (a->family == 0 && cfg->tunnels[k].ike && !any) {
			any = true;
			memset(&out[n], 0, sizeof(out[n]));
			n++;
			continue;
		}
		if ((a->family == AF_INET6) != (family == FW_IPV6))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].addr, a->addr, 16);
		memset(out[n].mask, 0xff, family == FW_IPV6 ? 16 : 4);
		n++;
	}
	return n;
}

static int
fw_compile_one(struct hg_daemon *d, const struct hg_config *cfg,
    struct fw_ruleset *rs, struct fw_prog **out, struct fw_errs *errs)
{
	static struct fw_addr known[FW_KNOWN_CAP];
	static uint16_t known_if[HG_ARRAY_SIZE(known)];
	static struct fw_addr peers[HG_CFG_TUNNEL_MAX];
	char names[IP_IF_MAX][FW_IFNAME_MAX];
	struct fw_compile_env env;

	memset(&env, 0, sizeof(env));
	memset(names, 0, sizeof(names));
	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		snprintf(names[i], sizeof(names[i]), "%s", cfg->ifs[i].name);
	env.n_if = cfg->n_ifs;
	env.if_names = (const char (*)[FW_IFNAME_MAX])names;
	env.sets = d->sets;
	env.n_known = fw_known(cfg, rs->family, known, known_if);
	env.known = known;
	env.known_if = known_if;
	env.n_peers = fw_peers(cfg, rs->family, peers);
	env.peers = peers;
	env.overlay_port = cfg->overlay.enabled ? cfg->overlay.port : 0;
	env.n_workers = d->n_workers;
	return fw_compile_take(rs, &env, out, errs);
}

static int
fw_parse_text(struct hg_daemon *d, const char *text, size_t len,
    uint8_t family, struct fw_ruleset **out, struct fw_errs *errs)
{
	const char *names[FW_SETS_MAX];
	struct fw_parse_opts opts = {
		.family = family,
		.syntax = FW_SYNTAX_RESTORE,
		.sets = names,
	};

	opts.n_sets = fw_sets_names(d->sets, names, FW_SETS_MAX);
	if (opts.n_sets > FW_SETS_MAX)
		opts.n_sets = FW_SETS_MAX;
	return fw_parse(text, len, &opts, out, errs);
}

/*
 * One family's rule text: the configured file's, or texts' when the
 * configuration comes from the store.  *src names it in errors.  NULL
 * with err set when a file cannot be read.
 */
static char *
fw_rules_text(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, uint8_t family, size_t *len,
    char *src, size_t src_len, char *err, size_t err_len)
{
	const char *p = family == FW_IPV6 ? cfg->fw.rules6 : cfg->fw.rules;
	const char *t;
	bool missing = false;
	char *text;

	if (texts != NULL) {
		t = family == FW_IPV6 ? texts->rules6 : texts->rules;
		snprintf(src, src_len, "store:%s", family == FW_IPV6 ?
		    "rules6" : "rules");
		text = strdup(t != NULL ? t : "");
		*len = text != NULL ? strlen(text) : 0;
		if (text == NULL)
			snprintf(err, err_len, "out of memory");
		return text;
	}
	if (p[0] == '\0') {
		snprintf(src, src_len, "(no %s rules)", hg_fw_family_name(family));
		*len = 0;
		return strdup("");
	}
	hg_cfg_rel_path(d, p, src, src_len);
	text = hg_read_file_opt(src, len, &missing, err, err_len);
	if (text != NULL && missing)
		hg_log_info("firewall: %s does not exist yet: no %s rules", src,
		    hg_fw_family_name(family));
	return text;
}

/* The located errors of the last build that failed (a reload, a PUT of
 * a configuration), for the operation's reply to carry. */
static json_t *build_errors;

json_t *
hg_fw_take_errors(void)
{
	json_t *e = build_errors;

	build_errors = NULL;
	return e;
}

/* Parses and compiles one family's text; err says why not, naming the
 * first error's place. */
static int
fw_build_one(struct hg_daemon *d, const struct hg_config *cfg,
    const char *text, size_t len, uint8_t family, const char *src,
    struct fw_prog **out, char *err, size_t err_len)
{
	static struct fw_errs errs;
	struct fw_ruleset *rs = NULL;
	json_t *o;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = fw_parse_text(d, text, len, family, &rs, &errs);
	if (rc == 0)
		rc = fw_compile_one(d, cfg, rs, out, &errs);
	if (rc != 0) {
		fw_errs_log(&errs, src);
		if (errs.n > 0 && errs.e[0].line > 0)
			snprintf(err, err_len, "%s:%u:%u: %u error%s, first: %s",
			    src, errs.e[0].line, errs.e[0].col_first, errs.n,
			    errs.n == 1 ? "" : "s", errs.e[0].msg);
		else
			snprintf(err, err_len, "%s: %u error%s, first: %s", src,
			    errs.n, errs.n == 1 ? "" : "s",
			    errs.n ? errs.e[0].msg : strerror(-rc));
		json_decref(build_errors);
		build_errors = NULL;
		if ((o = json_object()) != NULL) {
			fw_errs_json(o, &errs, src, text);
			build_errors = json_incref(json_object_get(o, "errors"));
			json_decref(o);
		}
		fw_ruleset_free(rs);
	}
	return rc;
}

/*
 * Builds the programs for cfg from the rule files, or from texts (start
 * and reload from the store, PUT /api/config).  On success *out is a new
 * dp_fw; on failure err says why and the errors are logged with their
 * places.
 */
static int
fw_build(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, struct dp_fw **out, char *err,
    size_t err_len)
{
	struct fw_prog *progs[2] = { NULL, NULL };
	int rc = 0;

	for (int f = 0; f < 2 && rc == 0; f++) {
		uint8_t family = f ? FW_IPV6 : FW_IPV4;
		char src[HG_CFG_PATH_MAX * 2];
		size_t len = 0;
		char *text;

		text = fw_rules_text(d, cfg, texts, family, &len, src,
		    sizeof(src), err, err_len);
		if (text == NULL) {
			rc = -EIO;
			break;
		}
		rc = fw_build_one(d, cfg, text, len, family, src, &progs[f],
		    err, err_len);
		free(text);
	}
	if (rc != 0) {
		fw_prog_free(progs[0]);
		fw_prog_free(progs[1]);
		return rc;
	}
	*out = calloc(1, sizeof(**out));
	if (*out == NULL) {
		fw_prog_free(progs[0]);
		fw_prog_free(progs[1]);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	(*out)->prog4 = progs[0];
	(*out)->prog6 = progs[1];
	return 0;
}

int
hg_fw_check_texts(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, char *err, size_t err_len)
{
	struct dp_fw *fw;
	int rc;

	rc = fw_build(d, cfg, texts, &fw, err, err_len);
	if (rc == 0)
		dp_fw_free(fw);
	return rc;
}

static int
fw_load_sets(struct hg_daemon *d, char *err, size_t err_len)
{
	const struct hg_config *cfg = d->cfg;
	static struct fw_errs errs;
	char path[HG_CFG_PATH_MAX * 2];
	struct fw_set **retired = NULL;
	size_t n_retired = 0, len;
	bool missing;
	char *text;
	int rc;

	d->sets = fw_sets_new();
	if (d->sets == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (d->boot != NULL) {		/* from the store */
		snprintf(path, sizeof(path), "store:sets");
		text = strdup(d->boot->sets != NULL ? d->boot->sets : "");
		len = text != NULL ? strlen(text) : 0;
	} else if (cfg->fw.sets[0] == '\0') {
		return 0;
	} else {
		hg_cfg_rel_path(d, cfg->fw.sets, path, sizeof(path));
		text = hg_read_file_opt(path, &len, &missing, err, err_len);
	}
	if (text == NULL)
		return -EIO;
	memset(&errs, 0, sizeof(errs));
	rc = fw_sets_restore(d->sets, text, len, &retired, &n_retired, &errs);
	free(text);
	for (size_t i = 0; i < n_retired; i++)
		fw_set_free(retired[i]);	/* no worker runs yet */
	free(retired);
	if (rc != 0) {
		fw_errs_log(&errs, path);
		snprintf(err, err_len, "%s: %u error%s in the sets", path,
		    errs.n, errs.n == 1 ? "" : "s");
	}
	return rc;
}

int
hg_fw_start(struct hg_daemon *d, char *err, size_t err_len)
{
	struct dp_fw *fw;
	int rc;

	rc = fw_load_sets(d, err, err_len);
	if (rc == 0)
		rc = fw_build(d, d->cfg, d->boot, &fw, err, err_len);
	if (rc != 0)
		return rc;
	if (d->dp == NULL) {		/* --check */
		dp_fw_free(fw);
		return 0;
	}
	dp_fw_swap(d->dp, fw);
	return 0;
}

int
hg_fw_prepare(struct hg_daemon *d, const struct hg_config *cfg,
    const struct hg_store_doc *texts, struct dp_fw **out, char *err,
    size_t err_len)
{
	const struct dp_fw *live = d->dp != NULL ? dp_fw(d->dp) : NULL;
	int rc;

	rc = fw_build(d, cfg, texts, out, err, err_len);
	/* A reload: rule files carry no counters; the rules it did not
	 * change keep theirs.  Losing them is no reason to refuse it. */
	if (rc == 0 && live != NULL &&
	    (fw_prog_carry_rules((*out)->prog4, live->prog4) != 0 ||
	    fw_prog_carry_rules((*out)->prog6, live->prog6) != 0))
		hg_log_warnx("reload: out of memory: rule counters restart");
	return rc;
}

void
hg_fw_stop(struct hg_daemon *d)
{
	/* The data plane, and with it every program, is gone by now. */
	fw_sets_free(d->sets);
	d->sets = NULL;
}

/* --- changes ----------------------------------------------------------- */

static json_t *
ctl_error(const char *fmt, ...) HG_PRINTF(1, 2);

static json_t *
ctl_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", buf);
}

struct fw_prog *
hg_fw_live(const struct hg_daemon *d, uint8_t family)
{
	const struct dp_fw *fw = dp_fw(d->dp);

	if (fw == NULL)
		return NULL;
	return family == FW_IPV6 ? fw->prog6 : fw->prog4;
}

/*
 * Publishes prog as its family's program; the other family keeps its
 * own, shared by the old and the new rule set, counters and all.  The
 * change is versioned in the store first (refused whole if it cannot
 * be), then swapped in, then written to the configured file.  prog is
 * taken: freed on failure, or cancelled when it came from
 * fw_prog_edit() (edited).
 */
static json_t *
fw_publish(struct hg_daemon *d, uint8_t family, struct fw_prog *prog,
    bool edited, const char *what)
{
	const char *cfg_path = family == FW_IPV6 ? d->cfg->fw.rules6 :
	    d->cfg->fw.rules;
	struct fw_prog *other = hg_fw_live(d, family == FW_IPV6 ? FW_IPV4 :
	    FW_IPV6);
	struct fw_prog_stats st;
	struct dp_fw *fw;
	char err[512], path[HG_CFG_PATH_MAX * 2];
	char *text;
	json_t *reply;

	fw = calloc(1, sizeof(*fw));
	if (fw == NULL) {
		if (edited)
			fw_prog_edit_cancel(prog);
		else
			fw_prog_free(prog);
		return ctl_error("%s: out of memory; the running rules are "
		    "unchanged", what);
	}
	fw->prog4 = family == FW_IPV6 ? fw_prog_ref(other) : prog;
	fw->prog6 = family == FW_IPV6 ? prog : fw_prog_ref(other);
	/* Versioned before it is live: a change the store cannot record
	 * is refused whole, and one acknowledged is on disk. */
	if (d->store != NULL && hg_versions_record(d, d->cfg_text, fw, what,
	    err, sizeof(err)) != 0) {
		if (edited) {
			if (family == FW_IPV6)
				fw->prog6 = NULL;
			else
				fw->prog4 = NULL;
			fw_prog_edit_cancel(prog);
		}
		dp_fw_free(fw);
		return ctl_error("%s refused: %s; the running rules are "
		    "unchanged", what, err);
	}
	dp_fw_swap(d->dp, fw);
	fw_prog_stats(prog, &st);
	hg_log_info("firewall: %s: %u %s rules live", what, st.n_rules,
	    hg_fw_family_name(family));
	reply = json_pack("{s:b,s:I}", "ok", 1, "rules", (json_int_t)st.n_rules);
	if (d->store != NULL)
		json_object_set_new(reply, "version",
		    json_integer((json_int_t)d->store_version));
	if (cfg_path[0] == '\0') {
		json_object_set_new(reply, "warning", json_string("no rule "
		    "file is configured: the change lasts until hexgated "
		    "stops"));
		return reply;
	}
	hg_cfg_rel_path(d, cfg_path, path, sizeof(path));
	text = fw_prog_print(prog, 0);
	if (text == NULL || hg_write_file(path, text, err, sizeof(err)) != 0) {
		hg_log_warnx("firewall: rules are live but not saved: %s",
		    text == NULL ? "out of memory" : err);
		json_object_set_new(reply, "warning", json_string(text == NULL ?
		    "out of memory saving the rules" : err));
	}
	free(text);
	return reply;
}

/* Compiles rs and publishes it for its family; rs is taken.  Counters
 * go on from what rs carries. */
static json_t *
fw_apply(struct hg_daemon *d, struct fw_ruleset *rs, const char *what)
{
	static struct fw_errs errs;
	struct fw_prog *prog = NULL;
	uint8_t family = rs->family;
	json_t *reply;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = fw_compile_one(d, d->cfg, rs, &prog, &errs);
	if (rc != 0) {
		fw_ruleset_free(rs);
		reply = ctl_error("%s refused: %u error%s; the running rules "
		    "are unchanged", what, errs.n, errs.n == 1 ? "" : "s");
		fw_errs_json(reply, &errs, what, NULL);
		return reply;
	}
	return fw_publish(d, family, prog, false, what);
}

/*
 * Hook: names of the tunnel interfaces the configuration has that are
 * not up yet (GRE, ESP, the overlay: issues 14 and 16), which rules may
 * name before they exist.  The model has no tunnels yet: none.
 */
static size_t
fw_tunnel_ifnames(const struct hg_config *cfg, const char **names,
    size_t max)
{
	(void)cfg;
	(void)names;
	(void)max;
	return 0;
}

#define FW_WARNINGS_MAX	50

/*
 * The "warnings" of a reply: each -i, -o or COPY --from of rs that names
 * no interface hexgated has, as {line, column, message}.  Only the rules
 * of line only_line when it is not 0, moved to line 1 and col_shift
 * columns left (what the user typed of an add).  NULL when none.
 */
static json_t *
fw_iface_warnings(const struct hg_daemon *d, const struct fw_ruleset *rs,
    uint32_t only_line, int col_shift)
{
	const struct hg_config *cfg = d->cfg;
	const char *names[HG_CFG_IF_MAX + 64];
	struct fw_iface_ref *refs;
	size_t n_names = 0, n, max;
	json_t *list = NULL;
	char msg[512];

	for (uint16_t i = 0; i < cfg->n_ifs; i++)
		names[n_names++] = cfg->ifs[i].name;
	n_names += fw_tunnel_ifnames(cfg, names + n_names,
	    HG_ARRAY_SIZE(names) - n_names);
	refs = calloc(FW_WARNINGS_MAX, sizeof(*refs));
	if (refs == NULL)
		return NULL;
	n = max = fw_ruleset_unknown_ifaces(rs, names, n_names, refs,
	    FW_WARNINGS_MAX);
	/* One line of a long rule set: its rule may come after the 50. */
	if (only_line != 0 && n > FW_WARNINGS_MAX) {
		free(refs);
		if ((refs = calloc(n, sizeof(*refs))) == NULL)
			return NULL;
		n = fw_ruleset_unknown_ifaces(rs, names, n_names, refs, max);
	} else
		max = FW_WARNINGS_MAX;
	for (size_t i = 0; i < HG_MIN(n, max); i++) {
		const struct fw_iface_ref *r = &refs[i];
		int col = r->col;

		if (only_line != 0 && r->line != only_line)
			continue;
		if (only_line != 0)
			col = col > col_shift ? col - col_shift : 1;
		fw_iface_ref_format(r, names, n_names, msg, sizeof(msg));
		if (list == NULL)
			list = json_array();
		json_array_append_new(list, json_pack("{s:I,s:i,s:s}", "line",
		    (json_int_t)(only_line != 0 ? 1 : r->line), "column", col,
		    "message", msg));
	}
	if (n > max) {
		snprintf(msg, sizeof(msg), "%zu more names of interfaces "
		    "hexgated does not have, not shown", n - max);
		json_array_append_new(list, json_pack("{s:i,s:i,s:s}", "line",
		    0, "column", 0, "message", msg));
	}
	free(refs);
	return list;
}

/* Puts warnings (taken) into a reply that says "ok". */
static json_t *
fw_reply_warnings(json_t *reply, json_t *warnings)
{
	if (warnings != NULL && json_is_true(json_object_get(reply, "ok")))
		json_object_set_new(reply, "warnings", warnings);
	else
		json_decref(warnings);
	return reply;
}

/*
 * Like iptables-restore, a table the body does not name is left as it
 * is: an empty or comment-only body changes nothing, and clearing a
 * table takes "*filter" and "COMMIT".
 */
json_t *
hg_fw_restore(struct hg_daemon *d, uint8_t family, const char *src,
    const char *body, size_t len)
{
	static struct fw_errs errs;
	struct fw_ruleset *rs = NULL, *live;
	struct fw_prog_stats st;
	json_t *reply, *warnings;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = fw_parse_text(d, body, len, family, &rs, &errs);
	if (rc != 0) {
		reply = ctl_error("%s: %u error%s; nothing applied, the running "
		    "rules are unchanged", src, errs.n, errs.n == 1 ? "" : "s");
		fw_errs_json(reply, &errs, src, body);
		return reply;
	}
	if (rs->named == 0) {
		fw_ruleset_free(rs);
		memset(&st, 0, sizeof(st));
		if (hg_fw_live(d, family) != NULL)
			fw_prog_stats(hg_fw_live(d, family), &st);
		return json_pack("{s:b,s:b,s:I,s:s}", "ok", 1, "changed", 0,
		    "rules", (json_int_t)st.n_rules, "message", "no table "
		    "named (*filter, *nat); nothing changed");
	}
	/* About the body's own rules, before the kept tables join them. */
	warnings = fw_iface_warnings(d, rs, 0, 0);
	live = hg_fw_live(d, family) != NULL ?
	    fw_prog_ruleset(hg_fw_live(d, family)) : NULL;
	rc = live != NULL ? fw_ruleset_keep_unnamed(rs, live) : 0;
	fw_ruleset_free(live);
	if (rc != 0 || (live == NULL && hg_fw_live(d, family) != NULL)) {
		fw_ruleset_free(rs);
		json_decref(warnings);
		return ctl_error("%s: out of memory; the running rules are "
		    "unchanged", src);
	}
	reply = fw_apply(d, rs, src);
	return fw_reply_warnings(reply, warnings);
}

/* The name of an edit, for logs, replies and the store's comment. */
static const char *
edit_what(char cmd)
{
	return cmd == 'A' ? "firewall add" : cmd == 'I' ? "firewall insert" :
	    "firewall delete";
}

/*
 * add / insert / delete of one filter rule without a compile: the rule
 * is parsed alone and fw_prog_edit() derives the new program from the
 * live one.  NULL when the edit needs the whole path below (a nat or
 * user chain, a jump, a set, -m limit, a rule that does not parse alone,
 * no such rule): that path then also gives the errors.
 */
static json_t *
fw_edit_fast(struct hg_daemon *d, uint8_t family, char cmd,
    const char *chain, uint32_t pos, const char *rule)
{
	static struct fw_errs errs;
	struct fw_prog *live = hg_fw_live(d, family), *next = NULL;
	struct fw_ruleset *one = NULL;
	const struct fw_chain *c;
	enum fw_edit_op op = cmd == 'D' ? FW_EDIT_DELETE : FW_EDIT_INSERT;
	uint32_t at = FW_EDIT_APPEND;
	json_t *warnings;
	char *text;
	int numw = 0;
	int rc;

	if (live == NULL)
		return NULL;
	if (pos != 0)
		at = pos - 1;
	else if (cmd == 'I')
		at = 0;
	if (rule != NULL) {
		if (asprintf(&text, "*filter\n-A %s %s\nCOMMIT\n", chain,
		    rule) < 0)
			return NULL;
		memset(&errs, 0, sizeof(errs));
		rc = fw_parse_text(d, text, strlen(text), family, &one, &errs);
		free(text);
		if (rc != 0)
			return NULL;
		c = fw_ruleset_chain(one, FW_TABLE_FILTER, chain);
		if (c == NULL || c->n_rules != 1 ||
		    (op == FW_EDIT_DELETE && fw_prog_find_rule(live, chain,
		    &c->rules[0], &at) != 0)) {
			fw_ruleset_free(one);
			return NULL;
		}
	}
	rc = fw_prog_edit(live, op, chain, at, op == FW_EDIT_DELETE ? NULL :
	    &fw_ruleset_chain(one, FW_TABLE_FILTER, chain)->rules[0], &next,
	    &errs);
	/* The rule is line 2 of the text, after "-A CHAIN "; columns
	 * count in "CHAIN [N] RULE", as errors do. */
	if (pos != 0)
		numw = snprintf(NULL, 0, " %u", pos);
	warnings = one != NULL && op != FW_EDIT_DELETE ? fw_iface_warnings(d,
	    one, 2, 3 - numw) : NULL;
	fw_ruleset_free(one);
	if (rc != 0) {
		json_decref(warnings);
		return NULL;
	}
	return fw_reply_warnings(fw_publish(d, family, next, true,
	    edit_what(cmd)), warnings);
}

json_t *
hg_fw_edit(struct hg_daemon *d, uint8_t family, char cmd, const char *chain,
    uint32_t pos, const char *rule)
{
	static struct fw_errs errs;
	const struct fw_prog *prog = hg_fw_live(d, family);
	struct fw_ruleset *cur, *rs = NULL;
	char *text, *out, *at, num[16] = "";
	const char *table;
	size_t before;
	uint32_t line = 1;
	json_t *reply, *warnings;
	/* Errors and warnings count columns in "CHAIN [N] RULE", as
	 * hexctl's words and docs/api.md have them: "-A " taken off. */
	int rc, skip = 3;

	if ((reply = fw_edit_fast(d, family, cmd, chain, pos, rule)) != NULL)
		return reply;
	if (prog == NULL || (cur = fw_prog_ruleset(prog)) == NULL)
		return ctl_error("no firewall is running");
	if (fw_ruleset_chain(cur, FW_TABLE_FILTER, chain) != NULL)
		table = "*filter\n";
	else if (fw_ruleset_chain(cur, FW_TABLE_NAT, chain) != NULL)
		table = "*nat\n";
	else {
		fw_ruleset_free(cur);
		return ctl_error("no chain %s in the %s rules", chain,
		    hg_fw_family_name(family));
	}
	text = fw_ruleset_print(cur, FW_PRINT_COUNTERS);
	fw_ruleset_free(cur);
	if (text == NULL)
		return ctl_error("out of memory");
	at = strstr(text, table);
	at = at != NULL ? strstr(at, "\nCOMMIT\n") : NULL;
	if (at == NULL) {
		free(text);
		return ctl_error("internal error: printed rules have no %s",
		    table);
	}
	before = (size_t)(at - text) + 1;
	for (size_t i = 0; i < before; i++)
		line += text[i] == '\n';
	/* The command as iptables-restore has it: -A|-I|-D CHAIN [N] RULE;
	 * the errors' columns then count from the chain, as typed. */
	if (pos != 0)
		snprintf(num, sizeof(num), " %u", pos);
	out = malloc(strlen(text) + strlen(chain) + sizeof(num) +
	    (rule != NULL ? strlen(rule) : 0) + 8);
	if (out == NULL) {
		free(text);
		return ctl_error("out of memory");
	}
	memcpy(out, text, before);
	sprintf(out + before, "-%c %s%s%s%s\n%s", cmd, chain, num,
	    rule != NULL ? " " : "", rule != NULL ? rule : "", text + before);
	free(text);
	memset(&errs, 0, sizeof(errs));
	rc = fw_parse_text(d, out, strlen(out), family, &rs, &errs);
	free(out);
	if (rc != 0) {
		/* Point the errors at what the user typed: one line. */
		for (unsigned i = 0; i < errs.n && i < FW_ERR_MAX; i++) {
			struct fw_err *e = &errs.e[i];

			if (e->line != line)
				continue;
			e->line = 1;
			e->col_first = e->col_first > skip ?
			    e->col_first - skip : 1;
			e->col_last = e->col_last > skip ?
			    e->col_last - skip : 1;
			if (strlen(e->text) >= (size_t)skip)
				memmove(e->text, e->text + skip,
				    strlen(e->text + skip) + 1);
		}
		reply = ctl_error("rule refused; the running rules are "
		    "unchanged");
		fw_errs_json(reply, &errs, "rule", NULL);
		return reply;
	}
	/* Only the line the user typed, as its errors are shown. */
	warnings = cmd != 'D' ? fw_iface_warnings(d, rs, line, skip) : NULL;
	return fw_reply_warnings(fw_apply(d, rs, edit_what(cmd)), warnings);
}

json_t *
hg_fw_save(struct hg_daemon *d, uint8_t family)
{
	struct fw_ruleset *rs = fw_prog_ruleset(hg_fw_live(d, family));
	char *text;
	json_t *reply;

	if (rs == NULL)
		return ctl_error("no firewall is running");
	text = fw_ruleset_print(rs, FW_PRINT_COUNTERS);
	fw_ruleset_free(rs);
	if (text == NULL)
		return ctl_error("out of memory");
	reply = json_pack("{s:s}", "text", text);
	free(text);
	return reply;
}

/* ipset restore text, published set by set; old versions freed after a
 * grace period. */
json_t *
hg_sets_restore(struct hg_daemon *d, const char *src, const char *body,
    size_t len)
{
	static struct fw_errs errs;
	struct fw_set **retired = NULL;
	size_t n_retired = 0;
	char err[512], path[HG_CFG_PATH_MAX * 2];
	char *text;
	json_t *reply;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = fw_sets_restore(d->sets, body, len, &retired, &n_retired, &errs);
	if (rc != 0) {
		reply = ctl_error("%s: %u error%s; no set changed", src,
		    errs.n, errs.n == 1 ? "" : "s");
		fw_errs_json(reply, &errs, src, body);
		return reply;
	}
	dp_synchronize(d->dp);
	for (size_t i = 0; i < n_retired; i++)
		fw_set_free(retired[i]);
	free(retired);
	reply = json_pack("{s:b}", "ok", 1);
	/* The sets are live already (a restore publishes set by set), so
	 * a store that fails here is reported, not undone. */
	if (d->store != NULL) {
		if (hg_versions_record(d, d->cfg_text, dp_fw(d->dp), src, err,
		    sizeof(err)) != 0) {
			hg_log_warnx("sets: live but not versioned: %s", err);
			json_object_set_new(reply, "warning", json_string(err));
		} else
			json_object_set_new(reply, "version",
			    json_integer((json_int_t)d->store_version));
	}
	if (d->cfg->fw.sets[0] == '\0') {
		json_object_set_new(reply, "warning", json_string("no sets "
		    "file is configured: the change lasts until hexgated "
		    "stops"));
		return reply;
	}
	hg_cfg_rel_path(d, d->cfg->fw.sets, path, sizeof(path));
	text = fw_sets_save(d->sets);
	if (text == NULL || hg_write_file(path, text, err, sizeof(err)) != 0)
		json_object_set_new(reply, "warning", json_string(text == NULL ?
		    "out of memory saving the sets" : err));
	free(text);
	return reply;
}

