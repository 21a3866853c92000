/*
 * src/daemon/transport/socket.c: the local control socket hexctl talks to, one of the
 * two transports of the operations (ops.h).  One request in, a JSON
 * object on one line,
 *
 *   {"op": "firewall.add", "args": {"chain": "FORWARD_CUST", "rule": "-j DROP"}}
 *
 * one JSON object out on one line (the API's reply body: the answer, or
 * {"error": {"status", "code", "message", "field", "errors"}}), then the
 * connection closes.  The socket is root's (0600): who may connect may do
 * everything, and is the author "ctl" of what it changes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "../../lib/log.h"
#include "../daemon.h"
#include "../ops/ops.h"
#include "transport.h"

/* A request: a rule file of 64 MiB, escaped in JSON, fits. */
#define CTL_REQUEST_MAX		(160u << 20)
/* The whole request must arrive within this. */
#define CTL_READ_TIMEOUT_S	30

/* An error before any operation runs, in the reply's shape. */
static json_t *
ctl_refuse(int status, const char *field, const char *fmt, ...)
    HG_PRINTF(3, 4);

static json_t *
ctl_refuse(int status, const char *field, const char *fmt, ...)
{
	struct hg_op_req r;
	va_list ap;
	json_t *o;

	memset(&r, 0, sizeof(r));
	r.status = status;
	va_start(ap, fmt);
	vsnprintf(r.message, sizeof(r.message), fmt, ap);
	va_end(ap);
	if (field != NULL)
		snprintf(r.field, sizeof(r.field), "%s", field);
	o = hg_op_error_json(&r);
	return o;
}

/* Decodes and runs one request; the reply to send. */
static json_t *
ctl_serve(struct hg_daemon *d, const char *text, size_t len)
{
	const struct hg_op *op;
	const json_t *name, *args;
	struct hg_op_req r;
	json_error_t jerr;
	json_t *req, *reply;

	req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return ctl_refuse(400, NULL, "the request is not JSON: column "
		    "%d: %s (send {\"op\": NAME, \"args\": {...}} on one "
		    "line)", jerr.column, jerr.text);
	name = json_object_get(req, "op");
	args = json_object_get(req, "args");
	if (!json_is_string(name)) {
		json_decref(req);
		return ctl_refuse(400, "/op", "op: the operation's name is "
		    "required (GET /api/ops or \"ops.list\" lists them)");
	}
	if ((op = hg_op_find(hg_ops, hg_n_ops, json_string_value(name))) ==
	    NULL) {
		reply = ctl_refuse(404, "/op", "no operation \"%.80s\" (the "
		    "\"ops.list\" operation lists them)",
		    json_string_value(name));
		json_decref(req);
		return reply;
	}
	if (json_object_size(req) != (args != NULL ? 2u : 1u)) {
		json_decref(req);
		return ctl_refuse(400, NULL, "a request has \"op\" and "
		    "\"args\", nothing else");
	}
	hg_op_req_init(&r, op);
	r.author = "ctl";
	r.source = "unix";
	if (hg_op_decode_json(&r, args, -1) == 0 &&
	    hg_op_decode_finish(&r) == 0)
		hg_op_run(d, &r);
	reply = hg_op_answer(&r);
	hg_op_req_done(&r);
	json_decref(req);
	return reply;
}

/* One client connection: its request, up to a newline. */
struct ctl_conn {
	struct hg_daemon *d;
	size_t scanned;		/* bytes seen without a newline */
};

static void
ctl_conn_free(struct bufferevent *bev, struct ctl_conn *c)
{
	bufferevent_free(bev);
	free(c);
}

static void
ctl_written(struct bufferevent *bev, void *arg)
{
	ctl_conn_free(bev, arg);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		ctl_conn_free(bev, arg);
}

static void
ctl_reply(struct bufferevent *bev, struct ctl_conn *c, json_t *reply)
{
	char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	bufferevent_setcb(bev, NULL, ctl_written, ctl_event, c);
	bufferevent_disable(bev, EV_READ);
	if (text == NULL)
		text = strdup("{\"error\":{\"status\":500,\"code\":"
		    "\"internal_error\",\"message\":\"out of memory\","
		    "\"field\":null}}");
	if (text != NULL) {
		bufferevent_write(bev, text, strlen(text));
		bufferevent_write(bev, "\n", 1);
		free(text);
	}
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr at;
	size_t len;
	char *text;

	/* Only what came since the last look is searched. */
	if (evbuffer_ptr_set(in, &at, c->scanned, EVBUFFER_PTR_SET) != 0)
		return;
	at = evbuffer_search_eol(in, &at, NULL, EVBUFFER_EOL_LF);
	if (at.pos < 0) {
		c->scanned = evbuffer_get_length(in);
		if (c->scanned > CTL_REQUEST_MAX)
			ctl_reply(bev, c, ctl_refuse(413, NULL, "request "
			    "larger than %u MiB", CTL_REQUEST_MAX >> 20));
		return;
	}
	len = (size_t)at.pos;
	if ((text = malloc(len + 1)) == NULL) {
		ctl_reply(bev, c, NULL);
		return;
	}
	evbuffer_remove(in, text, len);
	text[len] = '\0';
	ctl_reply(bev, c, ctl_serve(c->d, text, len));
	free(text);
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int len, void *arg)
{
	struct hg_daemon *d = arg;
	struct bufferevent *bev;
	struct ctl_conn *c = calloc(1, sizeof(*c));

	bev = c != NULL ? bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	bufferevent_set_timeouts(bev, &(struct timeval){ CTL_READ_TIMEOUT_S,
	    0 }, NULL);
	bufferevent_setcb(bev, ctl_read, NULL, ctl_event, c);
	bufferevent_enable(bev, EV_READ);
}

/*
 * accept() failed (EMFILE, ENFILE, ENOBUFS): the waiting connection stays
 * queued, so the listener would wake again at once and spin.  It rests
 * CTL_ACCEPT_PAUSE_MS instead, and the log says so once a second at most.
 */
#define CTL_ACCEPT_PAUSE_MS	200

static struct event *ctl_resume_ev;
static uint64_t ctl_last_log_s, ctl_unlogged;

static void
ctl_resume(evutil_socket_t fd, short what, void *arg)
{
	struct hg_daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->ctl != NULL)
		evconnlistener_enable(d->ctl);
}

static void
ctl_accept_error(struct evconnlistener *l, void *arg)
{
	struct hg_daemon *d = arg;
	struct timeval pause = { 0, CTL_ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();
	uint64_t now_s = (uint64_t)time(NULL);

	evconnlistener_disable(l);
	if (ctl_resume_ev == NULL)
		ctl_resume_ev = evtimer_new(d->base, ctl_resume, d);
	if (ctl_resume_ev != NULL)
		evtimer_add(ctl_resume_ev, &pause);
	else
		evconnlistener_enable(l);	/* no timer: as before */
	if (now_s == ctl_last_log_s) {
		ctl_unlogged++;
		return;
	}
	hg_log_warnx("ctl: accept: %s; pausing %d ms (%llu more like it "
	    "not logged)", evutil_socket_error_to_string(err),
	    CTL_ACCEPT_PAUSE_MS, (unsigned long long)ctl_unlogged);
	ctl_last_log_s = now_s;
	ctl_unlogged = 0;
}

int
hg_ctl_open(struct hg_daemon *d, const char *path)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)];
	char *slash;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		hg_log_warnx("ctl: socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0750);	/* may exist; bind says if not */
	}
	(void)unlink(path);	/* a stale socket of an earlier run */
	d->ctl = evconnlistener_new_bind(d->base, ctl_accept, d,
	    LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	if (d->ctl == NULL) {
		hg_log_warn("ctl: %s: bind", path);
		return -errno;
	}
	evconnlistener_set_error_cb(d->ctl, ctl_accept_error);
	if (chmod(path, 0600) != 0)
		hg_log_warn("ctl: %s: chmod", path);
	return 0;
}

void
hg_ctl_close(struct hg_daemon *d, const char *path)
{
	if (ctl_resume_ev != NULL) {
		event_free(ctl_resume_ev);
		ctl_resume_ev = NULL;
	}
	if (d->ctl == NULL)
		return;
	evconnlistener_free(d->ctl);
	d->ctl = NULL;
	(void)unlink(path);
}
