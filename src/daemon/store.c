/*
 * src/daemon/store.c: hexgated's configuration in the versioned store
 * (src/mgmt/store.h), when the config file names one ("store").  The
 * daemon starts from the newest version; every change that succeeds (a
 * rule, a set, a reload, PUT /api/config, a rollback) is committed as a
 * new version before it is acknowledged.  A version is the config JSON
 * text, the rules printed from the compiled programs (no counters) and
 * the sets in ipset save form.
 *
 * Without "store" none of this runs and the files are the configuration,
 * as they always were.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/set.h"
#include "../lib/log.h"
#include "daemon.h"

/* The store's check: the rules of a version must parse and compile for
 * its config, so a version the firewall cannot take is never written. */
static int
store_check(void *arg, const struct hg_store_doc *doc,
    const struct hg_config *cfg, char *err, size_t err_len)
{
	struct hg_daemon *d = arg;

	if (d->sets == NULL)
		return 0;	/* before the firewall starts: boot checks */
	return hg_fw_check_texts(d, cfg, doc, err, err_len);
}

static void
store_who(const struct hg_daemon *d, struct hg_store_who *who,
    const char *comment)
{
	who->author = d->who.author != NULL ? d->who.author : "hexgated";
	who->source = d->who.source != NULL ? d->who.source : "";
	who->comment = comment;
}

/* One family's rules, printed without counters; "" without a program. */
static char *
store_rules_text(const struct fw_prog *prog)
{
	if (prog == NULL)
		return strdup("");
	return fw_prog_print(prog, 0);
}

/* hg_store_record(), pending until deadline_ns when that is not 0. */
static int
store_record_at(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, uint64_t deadline_ns,
    char *err, size_t err_len)
{
	struct hg_store_doc doc;
	struct hg_store_who who;
	uint64_t version;
	int rc = -ENOMEM;

	if (d->store == NULL)
		return 0;
	memset(&doc, 0, sizeof(doc));
	doc.config = (char *)cfg_text;
	doc.rules = store_rules_text(fw != NULL ? fw->prog4 : NULL);
	doc.rules6 = store_rules_text(fw != NULL ? fw->prog6 : NULL);
	doc.sets = d->sets != NULL ? fw_sets_save(d->sets) : strdup("");
	store_who(d, &who, comment);
	if (doc.rules == NULL || doc.rules6 == NULL || doc.sets == NULL)
		snprintf(err, err_len, "out of memory");
	else if (deadline_ns != 0)
		rc = hg_store_commit_pending(d->store, &doc, &who, deadline_ns,
		    &version, err, err_len);
	else
		rc = hg_store_commit(d->store, &doc, &who, &version, err,
		    err_len);
	if (rc == 0) {
		d->store_version = version;
		hg_log_info("store: version %llu by %s: %s%s",
		    (unsigned long long)version, who.author, comment,
		    deadline_ns != 0 ? " (pending confirmation)" : "");
	} else if (rc != -ENOMEM) {
		size_t n = strlen(err);

		snprintf(err + n, err_len - n, " (store: not committed)");
	}
	free(doc.rules);
	free(doc.rules6);
	free(doc.sets);
	return rc;
}

int
hg_store_record(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, char *err, size_t err_len)
{
	return store_record_at(d, cfg_text, fw, comment, 0, err, err_len);
}

int
hg_store_boot(struct hg_daemon *d, char *err, size_t err_len)
{
	char path[HG_CFG_PATH_MAX * 2];
	struct hg_cfg_errs errs;
	struct hg_store_doc *doc;
	struct hg_config *cfg;
	uint64_t version, pend, deadline_ns, expired;
	size_t len;
	int rc;

	if (d->cfg->store[0] == '\0')
		return 0;
	hg_cfg_rel_path(d, d->cfg->store, path, sizeof(path));
	rc = hg_store_open(&d->store, path, err, err_len);
	if (rc != 0)
		return rc;
	hg_store_set_check(d->store, store_check, d);
	if (hg_store_pending(d->store, &pend, &deadline_ns) == 0) {
		hg_log_info("store: version %llu awaits confirmation",
		    (unsigned long long)pend);
		if (hg_store_expire(d->store, hg_store_now_ns(), &expired) ==
		    0 && expired != 0)
			hg_log_warnx("store: version %llu was not confirmed in "
			    "time: rolled back as version %llu",
			    (unsigned long long)pend,
			    (unsigned long long)expired);
	}
	if (hg_store_current(d->store, &version) != 0) {
		/* Empty: the files are version 1 once the firewall runs. */
		d->cfg_text = hg_read_file(d->config_path, &len, err, err_len);
		return d->cfg_text == NULL ? -EIO : 0;
	}
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		return -ENOMEM;
	rc = hg_store_get(d->store, version, doc);
	if (rc != 0) {
		free(doc);
		snprintf(err, err_len, "%s: version %llu: %s", path,
		    (unsigned long long)version, strerror(-rc));
		return rc;
	}
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(doc->config, strlen(doc->config), &errs);
	if (cfg == NULL) {
		snprintf(err, err_len, "%s: version %llu: %s: %s", path,
		    (unsigned long long)version, errs.n ? errs.e[0].where : "?",
		    errs.n ? errs.e[0].msg : "unreadable");
		hg_store_doc_free(doc);
		free(doc);
		return -EINVAL;
	}
	/* The store is where this configuration lives, whatever the
	 * version says. */
	snprintf(cfg->store, sizeof(cfg->store), "%s", d->cfg->store);
	hg_config_free(d->cfg);
	d->cfg = cfg;
	d->cfg_text = strdup(doc->config);
	d->boot = doc;
	d->store_version = version;
	hg_log_info("store: %s: starting from version %llu", path,
	    (unsigned long long)version);
	return d->cfg_text == NULL ? -ENOMEM : 0;
}

int
hg_store_started(struct hg_daemon *d, char *err, size_t err_len)
{
	int rc = 0;

	if (d->store == NULL)
		return 0;
	if (d->boot != NULL) {
		hg_store_doc_free(d->boot);
		free(d->boot);
		d->boot = NULL;
	} else {
		rc = hg_store_record(d, d->cfg_text, dp_fw(d->dp), "initial",
		    err, err_len);
	}
	return rc;
}

void
hg_store_stop(struct hg_daemon *d)
{
	if (d->boot != NULL) {
		hg_store_doc_free(d->boot);
		free(d->boot);
		d->boot = NULL;
	}
	hg_store_close(d->store);
	d->store = NULL;
	free(d->cfg_text);
	d->cfg_text = NULL;
}

json_t *
hg_store_doc_json(struct hg_daemon *d, uint64_t version, char *err,
    size_t err_len)
{
	struct hg_store_doc doc;
	json_error_t jerr;
	json_t *o, *cfg;
	int rc;

	if (version == 0)
		version = d->store_version;
	rc = hg_store_get(d->store, version, &doc);
	if (rc != 0) {
		snprintf(err, err_len, "no version %llu",
		    (unsigned long long)version);
		return NULL;
	}
	cfg = json_loads(doc.config, 0, &jerr);
	o = json_pack("{s:I,s:o,s:s,s:s,s:s}", "version", (json_int_t)version,
	    "config", cfg != NULL ? cfg : json_null(),
	    "rules", doc.rules != NULL ? doc.rules : "",
	    "rules6", doc.rules6 != NULL ? doc.rules6 : "",
	    "sets", doc.sets != NULL ? doc.sets : "");
	hg_store_doc_free(&doc);
	if (o == NULL)
		snprintf(err, err_len, "out of memory");
	return o;
}

int
hg_store_apply(struct hg_daemon *d, const struct hg_store_doc *doc,
    const char *comment, uint64_t deadline_ns, char *err, size_t err_len)
{
	struct hg_cfg_errs errs;
	struct hg_staged st;
	struct hg_config *cfg;
	char *text, *live_sets;
	int rc;

	/* Sets change through restores, which add to the live sets; a
	 * document whose sets differ is refused rather than half done. */
	live_sets = fw_sets_save(d->sets);
	if (live_sets == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (doc->sets != NULL && strcmp(doc->sets, live_sets) != 0) {
		free(live_sets);
		snprintf(err, err_len, "/sets: differs from the live sets; "
		    "change sets with PUT /api/firewall/fwsets");
		return -EINVAL;
	}
	free(live_sets);
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(doc->config, strlen(doc->config), &errs);
	if (cfg == NULL) {
		snprintf(err, err_len, "/config%s: %s (%u error%s)",
		    errs.n ? errs.e[0].where : "", errs.n ? errs.e[0].msg :
		    "unreadable", errs.n, errs.n == 1 ? "" : "s");
		return -EINVAL;
	}
	snprintf(cfg->store, sizeof(cfg->store), "%s", d->cfg->store);
	text = strdup(doc->config);
	if (text == NULL) {
		hg_config_free(cfg);
		return -ENOMEM;
	}
	rc = hg_stage(d, cfg, text, doc, &st, err, err_len);
	if (rc != 0)
		return rc;
	rc = store_record_at(d, st.text, st.fw, comment, deadline_ns, err,
	    err_len);
	if (rc != 0) {
		hg_stage_free(&st);
		return rc;
	}
	hg_stage_publish(d, &st);
	if (deadline_ns != 0)
		hg_store_confirm_arm(d);
	return 0;
}

/* --- commit-confirm ---------------------------------------------------- */

/*
 * The store already appended the rolled-back-to version; this makes the
 * running configuration match it, as a rollback would (the live sets
 * stay), without committing anything.
 */
static int
store_run_version(struct hg_daemon *d, uint64_t version, char *err,
    size_t err_len)
{
	struct hg_store_doc doc;
	struct hg_cfg_errs errs;
	struct hg_staged st;
	struct hg_config *cfg;
	char *text;
	int rc;

	rc = hg_store_get(d->store, version, &doc);
	if (rc != 0) {
		snprintf(err, err_len, "version %llu: %s",
		    (unsigned long long)version, strerror(-rc));
		return rc;
	}
	free(doc.sets);
	doc.sets = NULL;
	memset(&errs, 0, sizeof(errs));
	cfg = hg_config_parse(doc.config, strlen(doc.config), &errs);
	text = cfg != NULL ? strdup(doc.config) : NULL;
	if (cfg == NULL || text == NULL) {
		snprintf(err, err_len, "version %llu: %s",
		    (unsigned long long)version, errs.n ? errs.e[0].msg :
		    "out of memory");
		hg_config_free(cfg);
		hg_store_doc_free(&doc);
		return -EINVAL;
	}
	snprintf(cfg->store, sizeof(cfg->store), "%s", d->cfg->store);
	rc = hg_stage(d, cfg, text, &doc, &st, err, err_len);
	hg_store_doc_free(&doc);
	if (rc != 0)
		return rc;
	hg_stage_publish(d, &st);
	d->store_version = version;
	return 0;
}

static void
store_confirm_due(evutil_socket_t fd, short what, void *arg)
{
	struct hg_daemon *d = arg;
	uint64_t pend, deadline_ns, restored;
	char err[1024];
	int rc;

	(void)fd;
	(void)what;
	if (hg_store_pending(d->store, &pend, &deadline_ns) != 0)
		return;		/* confirmed or rolled back meanwhile */
	rc = hg_store_expire(d->store, hg_store_now_ns(), &restored);
	if (rc != 0) {
		hg_log_warnx("store: version %llu: expiry failed: %s",
		    (unsigned long long)pend, strerror(-rc));
		return;
	}
	if (restored == 0) {
		/* The wall clock went back: wait for the deadline again. */
		hg_store_confirm_arm(d);
		return;
	}
	/* The store logged the rollback; what is left is to run it. */
	if (store_run_version(d, restored, err, sizeof(err)) != 0)
		hg_log_warnx("store: version %llu cannot be applied, the "
		    "unconfirmed configuration still runs: %s",
		    (unsigned long long)restored, err);
}

void
hg_store_confirm_arm(struct hg_daemon *d)
{
	uint64_t pend, deadline_ns, now_ns, wait_ns;
	struct timeval tv;

	if (d->store == NULL || d->base == NULL)
		return;
	if (d->confirm_ev == NULL) {
		d->confirm_ev = evtimer_new(d->base, store_confirm_due, d);
		if (d->confirm_ev == NULL) {
			hg_log_warnx("store: no timer for commit-confirm");
			return;
		}
	}
	evtimer_del(d->confirm_ev);
	if (hg_store_pending(d->store, &pend, &deadline_ns) != 0)
		return;
	now_ns = hg_store_now_ns();
	/* A millisecond late rather than early: expire compares with now. */
	wait_ns = deadline_ns > now_ns ? deadline_ns - now_ns + 1000000 : 0;
	tv.tv_sec = (time_t)(wait_ns / 1000000000u);
	tv.tv_usec = (suseconds_t)(wait_ns % 1000000000u / 1000u);
	evtimer_add(d->confirm_ev, &tv);
}

void
hg_store_confirm_stop(struct hg_daemon *d)
{
	if (d->confirm_ev != NULL)
		event_free(d->confirm_ev);
	d->confirm_ev = NULL;
}
