/*
 * src/cli/hexctl.c: hexctl, the command line client of hexgated's control
 * socket.  It sends one request line (the command words joined by single
 * spaces), reads one JSON answer until the server closes, and prints it as
 * a table (render.c) or, with --json, as it came.  Commands it does not
 * know are sent all the same, so a new server command needs no change here.
 *
 * Exit status: 0 success, 1 the server answered with an error (or with
 * something that is not JSON), 2 usage errors and a socket that cannot be
 * reached.  The server side is in src/daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/hg.h"
#include "../mgmt/config.h"	/* HG_CFG_DEFAULT_SOCKET only */
#include "render.h"

#define EXIT_SERVER	1
#define EXIT_USAGE	2

/* A reload parses and applies a whole configuration; give it time. */
#define CTL_TIMEOUT_S		30
#define CTL_ANSWER_MAX_BYTES	(64u << 20)

static const struct {
	const char *line;
	const char *help;
} cmds[] = {
	{ "show interfaces", "interfaces with their ports, counters and drops" },
	{ "show neighbors", "the neighbour (ARP and ND) table" },
	{ "show routes", "the routing table" },
	{ "show version", "version, worker threads and uptime" },
	{ "reload", "read the configuration file again (as SIGHUP does)" },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: hexctl [-s SOCKET] [--json] COMMAND...\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < HG_ARRAY_SIZE(cmds); i++)
		fprintf(out, "  %-17s %s\n", cmds[i].line, cmds[i].help);
	fprintf(out,
	    "Any other command is sent to hexgated as it is.\n"
	    "\n"
	    "Options:\n"
	    "  -s, --socket PATH  control socket (default: $HEXGATE_SOCKET, "
	    "else %s)\n"
	    "  -j, --json         print hexgated's JSON answer\n"
	    "  -h, --help         print this help; after a command, "
	    "that command's help\n", HG_CFG_DEFAULT_SOCKET);
}

/* "hexctl show --help": the commands that start with the words given. */
static void
usage_cmd(const char *line)
{
	size_t len = strlen(line);
	bool any = false;

	for (size_t i = 0; i < HG_ARRAY_SIZE(cmds); i++) {
		if (strncmp(cmds[i].line, line, len) != 0 ||
		    (cmds[i].line[len] != '\0' && cmds[i].line[len] != ' '))
			continue;
		if (!any)
			printf("usage:\n");
		printf("  hexctl [-s SOCKET] [--json] %s\n      %s\n",
		    cmds[i].line, cmds[i].help);
		any = true;
	}
	if (!any) {
		printf("hexctl: \"%s\" is not a command hexctl knows; "
		    "it is sent to hexgated as it is.\n\n", line);
		usage(stdout);
	}
}

/* The request line, words joined by single spaces; NULL if one is bad. */
static char *
request_line(int argc, char **argv)
{
	size_t len = 1;
	char *line;

	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '\0' || strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "hexctl: command words must be "
			    "non-empty and on one line\n");
			return NULL;
		}
		len += strlen(argv[i]) + 1;
	}
	if ((line = calloc(1, len)) == NULL) {
		fprintf(stderr, "hexctl: out of memory\n");
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(line, " ");
		strcat(line, argv[i]);
	}
	return line;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "hexctl: %s: socket path longer than %zu "
		    "bytes\n", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "hexctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "hexctl: %s: connect: %s (is hexgated "
		    "running?)\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* A wedged daemon must not wedge the shell that asked it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "hexctl: setsockopt: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
ctl_send(int fd, const char *path, const char *line)
{
	size_t len = strlen(line), off = 0;
	char *msg;
	int rc = 0;

	if (asprintf(&msg, "%s\n", line) < 0) {
		fprintf(stderr, "hexctl: out of memory\n");
		return -ENOMEM;
	}
	len++;
	while (off < len) {
		/* MSG_NOSIGNAL: a daemon that hung up is an error, not SIGPIPE. */
		ssize_t n = send(fd, msg + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			fprintf(stderr, "hexctl: %s: write: %s\n", path,
			    strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	free(msg);
	return rc;
}

/* Reads until the server closes; the answer in *out (NUL-terminated). */
static int
ctl_recv(int fd, const char *path, char **out, size_t *out_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;

	while (buf != NULL) {
		ssize_t n;

		if (len + 1 == cap) {
			if (cap >= CTL_ANSWER_MAX_BYTES) {
				fprintf(stderr, "hexctl: %s: answer larger than "
				    "%u bytes\n", path, CTL_ANSWER_MAX_BYTES);
				free(buf);
				return -EMSGSIZE;
			}
			if ((nbuf = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nbuf;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			fprintf(stderr, "hexctl: %s: read: %s\n", path,
			    err == EAGAIN || err == EWOULDBLOCK ?
			    "no answer from hexgated in time" : strerror(err));
			free(buf);
			return -err;
		}
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			*out_len = len;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	fprintf(stderr, "hexctl: out of memory\n");
	return -ENOMEM;
}

/* One exchange; returns the answer or NULL after saying why on stderr. */
static json_t *
ctl_ask(const char *path, const char *line, int *status)
{
	json_error_t jerr;
	json_t *resp = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd;

	*status = EXIT_USAGE;
	if ((fd = ctl_connect(path)) < 0)
		return NULL;
	if (ctl_send(fd, path, line) < 0 ||
	    ctl_recv(fd, path, &text, &len) < 0)
		goto out;
	*status = EXIT_SERVER;
	if (len == 0) {
		fprintf(stderr, "hexctl: %s: hexgated closed the connection "
		    "without an answer\n", path);
		goto out;
	}
	resp = json_loadb(text, len, 0, &jerr);
	if (resp == NULL) {
		fprintf(stderr, "hexctl: %s: answer is not JSON: line %d "
		    "column %d: %s\n", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(resp)) {
		fprintf(stderr, "hexctl: %s: answer is not a JSON object\n",
		    path);
		json_decref(resp);
		resp = NULL;
		goto out;
	}
	*status = 0;
out:
	free(text);
	close(fd);
	return resp;
}

static int
print_answer(const char *line, const json_t *resp, bool json_out)
{
	const json_t *err = json_object_get(resp, "error");
	int status = 0;

	if (json_out) {
		if (json_dumpf(resp, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
	}
	if (err != NULL) {
		char *s = json_is_string(err) ? strdup(json_string_value(err)) :
		    json_dumps(err, JSON_ENCODE_ANY | JSON_COMPACT);

		fprintf(stderr, "hexctl: %s\n", s != NULL ? s : "error");
		free(s);
		status = EXIT_SERVER;
	} else if (!json_out && cli_render(line, resp, stdout) < 0)
		status = EXIT_SERVER;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "hexctl: stdout: %s\n", strerror(errno));
		status = EXIT_SERVER;
	}
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("HEXGATE_SOCKET");
	bool json_out = false, help = false;
	json_t *resp;
	char *line;
	int ch, status;

	if (path == NULL || path[0] == '\0')
		path = HG_CFG_DEFAULT_SOCKET;
	/* Options may follow the command too: "hexctl show routes --json". */
	while ((ch = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			help = true;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (help && argc == 0) {
		usage(stdout);
		return 0;
	}
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((line = request_line(argc, argv)) == NULL)
		return EXIT_USAGE;
	if (help) {
		usage_cmd(line);
		free(line);
		return 0;
	}
	resp = ctl_ask(path, line, &status);
	if (resp != NULL) {
		status = print_answer(line, resp, json_out);
		json_decref(resp);
	}
	free(line);
	return status;
}
