/*
 * src/daemon/config/versions.c: hexgated's configuration in the versioned store
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
#include <sys/stat.h>

#include "../../fw/set.h"
#include "../../lib/log.h"
#include "../daemon.h"
#include "versions.h"

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

/* hg_versions_record(), pending until deadline_ns when that is not 0. */
int
hg_versions_record_at(struct hg_daemon *d, const char *cfg_text,
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
hg_versions_record(struct hg_daemon *d, const char *cfg_text,
    const struct dp_fw *fw, const char *comment, char *err, size_t err_len)
{
	return hg_versions_record_at(d, cfg_text, fw, comment, 0, err, err_len);
}

int
hg_versions_boot(struct hg_daemon *d, hg_store_check_fn check,
    char *err, size_t err_len)
{
	char path[HG_CFG_PATH_MAX * 2];
	struct hg_cfg_errs errs;
	struct hg_store_doc *doc;
	struct hg_config *cfg;
	uint64_t version, pend, deadline_ns, expired;
	char *slash;
	size_t len;
	int rc;

	if (d->cfg->store[0] == '\0')
		return 0;
	hg_cfg_rel_path(d, d->cfg->store, path, sizeof(path));
	/* A first start: the store's folder (the state directory, often)
	 * is made root's only, as the store itself is. */
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (mkdir(path, 0700) == 0)
			hg_log_info("store: made %s (0700)", path);
		*slash = '/';
	}
	rc = hg_store_open(&d->store, path, err, err_len);
	if (rc != 0)
		return rc;
	hg_store_set_check(d->store, check, d);
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
hg_versions_started(struct hg_daemon *d, char *err, size_t err_len)
{
	int rc = 0;

	if (d->store == NULL)
		return 0;
	if (d->boot != NULL) {
		hg_store_doc_free(d->boot);
		free(d->boot);
		d->boot = NULL;
	} else {
		rc = hg_versions_record(d, d->cfg_text, dp_fw(d->dp), "initial",
		    err, err_len);
	}
	return rc;
}

void
hg_versions_stop(struct hg_daemon *d)
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
hg_versions_doc_json(struct hg_daemon *d, uint64_t version, char *err,
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

