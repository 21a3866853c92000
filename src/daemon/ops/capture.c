/*
 * src/daemon/ops/capture.c: the capture operations (/api/packet_monitor):
 * packet captures started and stopped on request.  A monitor is one COPY
 * rule,
 *
 *   -A MACRO_CUST FILTER -j COPY --from IF --to pcap:STATE/monitor/monitor-N.pcap
 *
 * added and deleted as firewall.add and firewall.delete do it, so a bad filter is refused with its place and
 * nothing changes, and the mirror's pcap writer thread (src/dp/mirror.c)
 * does the capture.  The live rules are the truth: a monitor runs while a
 * MACRO_CUST rule writes to its file, whoever removed the rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../daemon.h"
#include "../config/apply.h"
#include "../config/versions.h"
#include "../firewall/firewall.h"
#include "ops.h"

#define MON_RUNNING_MAX	4	/* running at once: each is a writer thread */
#define MON_KEPT_MAX	8	/* monitors (and files) kept, running or not */
#define MON_PCAP_MAX_BYTES	(256u << 20)	/* served whole from memory */
#define MON_CHAIN	"MACRO_CUST"
#define MON_RULE_MAX	1024

struct mon {
	uint64_t id;
	char iface[HG_CFG_NAME_MAX];
	char filter[512];
	char path[FW_COPY_LOCAL_MAX];
	char rule[MON_RULE_MAX];	/* as the firewall prints it, no counters */
	uint16_t snaplen;
	bool both;
	uint64_t started_ns;
	uint64_t stopped_ns;		/* 0: not stopped through the API */
};

static struct mon mon_list[MON_KEPT_MAX];
static unsigned mon_n;
static uint64_t mon_next_id = 1;

static uint64_t
mon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* STATE/monitor, made 0700 when missing: the captures are traffic. */
static int
mon_dir(const struct hg_daemon *d, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/monitor", d->cfg->api.state_dir);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The live IPv4 rules as iptables-save text with counters (malloc'd). */
static char *
mon_rules_text(struct hg_daemon *d)
{
	json_t *r = hg_fw_save(d, FW_IPV4);
	const char *t = json_string_value(json_object_get(r, "text"));
	char *s = t != NULL ? strdup(t) : NULL;

	json_decref(r);
	return s;
}

/*
 * Finds rule in text's MACRO_CUST rules (compared without their
 * counters): its number from 1, or 0.  With rule NULL, the first one
 * that contains needle, copied to out.
 */
static long
mon_find(const char *text, const char *rule, const char *needle, char *out,
    size_t out_len)
{
	const char *p = text, *nl, *l;
	size_t len;
	long n = 0;

	for (; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		l = p;
		if (*l == '[' && (l = memchr(p, ']', len)) != NULL)
			l += 2;
		else
			l = p;
		if (l >= p + len || strncmp(l, "-A " MON_CHAIN " ",
		    sizeof("-A " MON_CHAIN " ") - 1) != 0)
			continue;
		n++;
		len -= (size_t)(l - p);
		if (rule != NULL && strlen(rule) == len &&
		    strncmp(l, rule, len) == 0)
			return n;
		if (rule == NULL && len < out_len &&
		    memmem(l, len, needle, strlen(needle)) != NULL) {
			memcpy(out, l, len);
			out[len] = '\0';
			return n;
		}
	}
	return 0;
}

static bool
mon_running(const struct mon *m, const char *text)
{
	return text != NULL && mon_find(text, m->rule, NULL, NULL, 0) > 0;
}

static json_t *
mon_json(const struct mon *m, const char *text)
{
	struct stat st;
	json_t *o;

	o = json_pack("{s:I,s:s,s:s,s:i,s:s,s:I,s:b,s:s,s:s}",
	    "id", (json_int_t)m->id, "interface", m->iface,
	    "filter", m->filter, "snaplen", m->snaplen,
	    "direction", m->both ? "both" : "in",
	    "started_ns", (json_int_t)m->started_ns,
	    "running", mon_running(m, text), "rule", m->rule,
	    "file", m->path);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "bytes", json_integer(stat(m->path, &st) == 0 ?
	    (json_int_t)st.st_size : 0));
	json_object_set_new(o, "stopped_ns", m->stopped_ns != 0 ?
	    json_integer((json_int_t)m->stopped_ns) : json_null());
	return o;
}

static struct mon *
mon_get(uint64_t id)
{
	for (unsigned i = 0; i < mon_n; i++)
		if (mon_list[i].id == id)
			return &mon_list[i];
	return NULL;
}

static void
mon_forget(struct mon *m)
{
	if (unlink(m->path) != 0 && errno != ENOENT)
		hg_log_warn("api: packet monitor %llu: %s",
		    (unsigned long long)m->id, m->path);
	mon_n--;
	memmove(m, m + 1, (size_t)(&mon_list[mon_n] - m) * sizeof(*m));
}

/* Room for one more: the oldest stopped monitor (and its file) goes. */
static bool
mon_make_room(const char *text)
{
	if (mon_n < MON_KEPT_MAX)
		return true;
	for (unsigned i = 0; i < mon_n; i++)
		if (!mon_running(&mon_list[i], text)) {
			mon_forget(&mon_list[i]);
			return true;
		}
	return false;
}

/* The control request's located errors, their columns moved from the
 * rule line ("MACRO_CUST FILTER ...") onto the filter as sent. */
static void
mon_errors_to_filter(json_t *r)
{
	json_t *errs = json_object_get(r, "errors"), *e;
	const size_t skip = sizeof(MON_CHAIN " ") - 1;
	unsigned a, b;
	size_t i;
	int used;

	json_array_foreach(errs, i, e) {
		const char *s = json_string_value(e);
		char buf[1200];

		if (s == NULL || sscanf(s, "rule:1:%u-%u:%n", &a, &b,
		    &used) != 2 || a <= skip || b <= skip)
			continue;
		snprintf(buf, sizeof(buf), "filter:1:%u-%u:%s",
		    a - (unsigned)skip, b - (unsigned)skip, s + used);
		json_array_set_new(errs, i, json_string(buf));
	}
}

/* The reply of a refused change: 400 with the located errors. */
static int
mon_refused(struct hg_op_req *r, json_t *reply, const char *field)
{
	int status = hg_op_relay(r, reply, 200);

	if (field != NULL)
		snprintf(r->field, sizeof(r->field), "%s", field);
	return status;
}

static bool
mon_iface_known(const struct hg_daemon *d, const char *name)
{
	for (uint16_t i = 0; i < d->cfg->n_ifs; i++)
		if (strcmp(d->cfg->ifs[i].name, name) == 0)
			return true;
	return false;
}

/* capture.start {"interface", "filter", "snaplen", "direction"}: 201
 * {monitor}. */
int
op_capture_start(void *ctx, struct hg_op_req *req)
{
	struct hg_daemon *d = ctx;
	const char *iface = hg_op_str(req, "interface");
	const char *filter = hg_op_str(req, "filter");
	const char *dir = hg_op_str(req, "direction");
	char mdir[HG_CFG_PATH_MAX + 16], rule[MON_RULE_MAX + 64];
	char *text;
	json_t *r;
	struct mon m;
	unsigned running = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (!mon_iface_known(d, iface))
		return hg_op_error(req, 400, "interface", "interface: one of "
		    "the configuration's interface names");
	if (filter == NULL)
		filter = "";
	if (strpbrk(filter, "\r\n") != NULL)
		return hg_op_error(req, 400, "filter", "filter: iptables "
		    "matches on one line");
	if ((rc = mon_dir(d, mdir, sizeof(mdir))) != 0 ||
	    strpbrk(mdir, " \t\"'") != NULL)
		return hg_op_error(req, 500, NULL, "no folder for captures "
		    "in the API's state_dir (%s)", rc != 0 ? strerror(-rc) :
		    "it has blanks or quotes");
	if ((text = mon_rules_text(d)) == NULL)
		return hg_op_error(req, 503, NULL, "no firewall is running");
	for (unsigned i = 0; i < mon_n; i++)
		running += mon_running(&mon_list[i], text);
	if (running >= MON_RUNNING_MAX) {
		free(text);
		return hg_op_error(req, 409, NULL, "%u packet monitors run "
		    "already (at most %u): stop one first", running,
		    MON_RUNNING_MAX);
	}
	free(text);
	snprintf(m.iface, sizeof(m.iface), "%s", iface);
	snprintf(m.filter, sizeof(m.filter), "%s", filter);
	m.snaplen = (uint16_t)hg_op_int(req, "snaplen");
	m.both = dir == NULL || strcmp(dir, "both") == 0;
	/* A file left by an earlier hexgated keeps its number. */
	for (;;) {
		rc = snprintf(m.path, sizeof(m.path), "%s/monitor-%llu.pcap",
		    mdir, (unsigned long long)mon_next_id);
		if (rc < 0 || (size_t)rc >= sizeof(m.path))
			return hg_op_error(req, 500, NULL, "the API's "
			    "state_dir is too long for a capture's path (%d "
			    "characters at most)", FW_COPY_LOCAL_MAX - 32);
		if (access(m.path, F_OK) != 0)
			break;
		mon_next_id++;
	}
	m.id = mon_next_id++;
	rc = snprintf(rule, sizeof(rule), "%s%s-j COPY --from %s --to "
	    "pcap:%s", filter, filter[0] ? " " : "", iface, m.path);
	if (m.snaplen != 0)
		rc = snprintf(rule + rc, sizeof(rule) - (size_t)rc,
		    " --snaplen %u", m.snaplen) + rc;
	if (m.both)
		rc = snprintf(rule + rc, sizeof(rule) - (size_t)rc,
		    " --bidirectional") + rc;
	if (rc < 0 || (size_t)rc >= sizeof(rule))
		return hg_op_error(req, 400, "filter", "filter too long");
	r = hg_fw_edit(d, FW_IPV4, 'A', MON_CHAIN, 0, rule);
	if (r == NULL)
		return hg_op_error(req, 500, NULL, "out of memory");
	if (json_object_get(r, "error") != NULL) {
		mon_errors_to_filter(r);
		return mon_refused(req, r, "/filter");
	}
	json_decref(r);
	/* Remember the rule as the firewall prints it: that is what a
	 * stop looks for (the file's name is in it, so it is unique). */
	text = mon_rules_text(d);
	if (text == NULL || mon_find(text, NULL, m.path, m.rule,
	    sizeof(m.rule)) == 0) {
		free(text);
		return hg_op_error(req, 500, NULL, "the monitor's rule was "
		    "added but is not in the live rules");
	}
	m.started_ns = mon_now_ns();
	/* Fewer running than kept: a stopped one can always go. */
	(void)mon_make_room(text);
	mon_list[mon_n++] = m;
	hg_log_info("api: packet monitor %llu on %s: %s",
	    (unsigned long long)m.id, m.iface, m.rule);
	r = mon_json(&mon_list[mon_n - 1], text);
	free(text);
	return hg_op_reply(req, 201, r);
}

int
op_capture_list(void *ctx, struct hg_op_req *req)
{
	char *text = mon_rules_text(ctx);
	json_t *a = json_array();

	for (unsigned i = 0; i < mon_n; i++)
		json_array_append_new(a, mon_json(&mon_list[i], text));
	free(text);
	return hg_op_reply(req, 200, json_pack("{s:o,s:i,s:i}",
	    "monitors", a, "running_max", MON_RUNNING_MAX, "kept_max",
	    MON_KEPT_MAX));
}

/* DELETE: stops it (its rule deleted); ?remove=1 forgets it and its
 * file too. */
int
op_capture_stop(void *ctx, struct hg_op_req *req)
{
	struct hg_daemon *d = ctx;
	struct mon *m = mon_get((uint64_t)hg_op_int(req, "id"));
	char *text;
	json_t *r;
	long n;

	if (m == NULL)
		return hg_op_error(req, 404, "id", "no packet monitor %lld",
		    (long long)hg_op_int(req, "id"));
	if ((text = mon_rules_text(d)) == NULL)
		return hg_op_error(req, 503, NULL, "no firewall is running");
	n = mon_find(text, m->rule, NULL, NULL, 0);
	free(text);
	if (n > 0) {
		r = hg_fw_edit(d, FW_IPV4, 'D', MON_CHAIN, (uint32_t)n, NULL);
		if (r == NULL)
			return hg_op_error(req, 500, NULL, "out of memory");
		if (json_object_get(r, "error") != NULL)
			return mon_refused(req, r, NULL);
		json_decref(r);
		m->stopped_ns = mon_now_ns();
		hg_log_info("api: packet monitor %llu stopped",
		    (unsigned long long)m->id);
	}
	text = mon_rules_text(d);
	r = mon_json(m, text);
	free(text);
	if (hg_op_bool(req, "remove")) {
		json_object_set_new(r, "removed", json_true());
		mon_forget(m);
	}
	return hg_op_reply(req, 200, r);
}

/* The pcap file up to its last whole record: the writer may be halfway
 * through one while the monitor runs. */
static size_t
mon_pcap_whole(const unsigned char *p, size_t len)
{
	size_t off = 24;
	uint32_t incl;

	if (len < off)
		return 0;
	while (off + 16 <= len) {
		memcpy(&incl, p + off + 8, sizeof(incl));
		if (incl > len - off - 16)
			break;
		off += 16 + incl;
	}
	return off;
}

int
op_capture_pcap(void *ctx, struct hg_op_req *req)
{
	struct mon *m = mon_get((uint64_t)hg_op_int(req, "id"));
	char err[256];
	struct stat st;
	char *data;
	size_t len;

	(void)ctx;
	if (m == NULL)
		return hg_op_error(req, 404, "id", "no packet monitor %lld",
		    (long long)hg_op_int(req, "id"));
	if (stat(m->path, &st) != 0)
		return hg_op_error(req, 404, NULL, "no capture file yet");
	if ((uint64_t)st.st_size > MON_PCAP_MAX_BYTES)
		return hg_op_error(req, 409, NULL, "the capture is larger "
		    "than %u MiB: copy %s from the host", MON_PCAP_MAX_BYTES >> 20,
		    m->path);
	if ((data = hg_read_file(m->path, &len, err, sizeof(err))) == NULL)
		return hg_op_error(req, 500, NULL, "%s", err);
	snprintf(req->filename, sizeof(req->filename), "monitor-%llu.pcap",
	    (unsigned long long)m->id);
	return hg_op_reply_raw(req, 200, "application/vnd.tcpdump.pcap", data,
	    mon_pcap_whole((const unsigned char *)data, len));
}
