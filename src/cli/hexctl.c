/*
 * src/cli/hexctl.c: hexctl, the command line client of hexgated's control
 * socket.  It sends one request line (the command words joined by single
 * spaces), reads one JSON answer until the server closes, and prints it as
 * a table (render.c) or, with --json, as it came.  Commands it does not
 * know are sent all the same, so a new server command needs no change here.
 *
 * "firewall" and "sets" are parsed here: rule text is full of options
 * (-p, -j, --dport) that are the rule's and not hexctl's, the family flag
 * is always spelled out in the request, and restore sends a file after
 * the line ("firewall restore -4 LEN NAME\n" and LEN bytes).
 *
 * With --url (or $HEXCTL_URL) the same request line goes to hexgated's
 * HTTPS API instead (remote.c), which answers with the same objects.
 *
 * Exit status: 0 success, 1 the server answered with an error (or with
 * something that is not JSON), 2 usage errors and a socket or server that
 * cannot be reached.  The server side is in src/daemon.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
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
#include "remote.h"
#include "render.h"

#define EXIT_SERVER	1
#define EXIT_USAGE	2

/* A reload parses and applies a whole configuration; give it time. */
#define CTL_TIMEOUT_S		30
#define CTL_ANSWER_MAX_BYTES	(64u << 20)
/* A restore file; 10,000 rules are about 1 MB. */
#define CTL_BODY_MAX_BYTES	(64u << 20)
/* Usage lines longer than this put their help on the next line. */
#define USAGE_CMD_WIDTH		24

/* One request: a line and, for restore, the file sent after it. */
struct request {
	char *line;		/* without its newline */
	char *body;		/* NULL, or body_len bytes */
	size_t body_len;
};

static const struct {
	const char *line;
	const char *help;
} cmds[] = {
	{ "show interfaces", "interfaces with their ports, counters and drops" },
	{ "show neighbors", "the neighbour (ARP and ND) table" },
	{ "show routes", "the routing table" },
	{ "show version", "version, worker threads and uptime" },
	{ "status", "the same as show version" },
	{ "show firewall", "rule count, verdict counters, conntrack totals" },
	{ "show conntrack", "the connection tracking table, a flow a line" },
	{ "nat show", "active NAT translations: flows whose reply is translated" },
	{ "reload", "read the configuration file again (as SIGHUP does)" },
	{ "firewall save [-4|-6]",
	  "print the rules as iptables-save does, with counters" },
	{ "firewall restore [-4|-6] FILE",
	  "replace all rules with FILE (- is stdin), atomically" },
	{ "firewall add [-4|-6] CHAIN RULE...",
	  "append a rule to CHAIN (iptables -A)" },
	{ "firewall insert [-4|-6] CHAIN [N] RULE...",
	  "insert a rule at position N, default 1 (iptables -I)" },
	{ "firewall delete [-4|-6] CHAIN N|RULE...",
	  "delete a rule by position or by text (iptables -D)" },
	{ "sets save", "print the named sets as ipset save does" },
	{ "sets restore FILE",
	  "replace all sets with FILE (- is stdin), atomically" },
	{ "sets add SET ELEM...", "add an element to SET (ipset add)" },
	{ "sets del SET ELEM...", "remove an element from SET (ipset del)" },
	{ "config show [N]",
	  "the running configuration, or version N (API only)" },
	{ "config versions", "the stored versions, newest first (API only)" },
	{ "config diff [A B]",
	  "diff from version A to B, default the last change (API only)" },
	{ "config rollback N",
	  "apply version N again as a new version (API only)" },
};

static void
usage_line(FILE *out, const char *indent, const char *line, const char *help)
{
	if (strlen(line) <= USAGE_CMD_WIDTH)
		fprintf(out, "%s%-*s %s\n", indent, USAGE_CMD_WIDTH, line, help);
	else
		fprintf(out, "%s%s\n%s%-*s %s\n", indent, line, indent,
		    USAGE_CMD_WIDTH, "", help);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: hexctl [-s SOCKET | --url URL [API OPTIONS]] [--json] "
	    "COMMAND...\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < HG_ARRAY_SIZE(cmds); i++)
		usage_line(out, "  ", cmds[i].line, cmds[i].help);
	fprintf(out,
	    "Any other command is sent to hexgated as it is.\n"
	    "\n"
	    "Options:\n"
	    "  -s, --socket PATH  control socket (default: $HEXGATE_SOCKET, "
	    "else %s)\n"
	    "  -j, --json         print hexgated's JSON answer\n"
	    "  -h, --help         print this help; after a command, "
	    "that command's help\n"
	    "API options (the HTTPS API instead of the socket):\n"
	    "  -u, --url URL      https://HOST:PORT (default: $HEXCTL_URL)\n"
	    "  --cacert FILE      the API's CA: hexgated's STATE/ca.crt "
	    "(/var/lib/hexgate)\n"
	    "                     (default: $HEXCTL_CACERT, else the "
	    "system's CAs)\n"
	    "  --password-file F  the password of user api (default: "
	    "$HEXCTL_PASSWORD_FILE,\n"
	    "                     else $HEXCTL_PASSWORD)\n"
	    "  --token-file F     an Api-Token instead (default: "
	    "$HEXCTL_TOKEN)\n"
	    "  --insecure         do not check the certificate: anyone on the "
	    "path can read\n"
	    "                     the password and change the rules; tests "
	    "only\n"
	    "Options go anywhere, except that after \"firewall\" and "
	    "\"sets\" the words\nof a rule or an element are theirs, so "
	    "put hexctl's options first.\n", HG_CFG_DEFAULT_SOCKET);
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
		printf("  hexctl [OPTIONS] %s\n      %s\n",
		    cmds[i].line, cmds[i].help);
		any = true;
	}
	if (!any) {
		printf("hexctl: \"%s\" is not a command hexctl knows; "
		    "it is sent to hexgated as it is.\n\n", line);
		usage(stdout);
	}
}

static int
usage_err(const char *fmt, ...) HG_PRINTF(1, 2);

/* Says what is wrong with the command on stderr; returns -EINVAL. */
static int
usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("hexctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see hexctl --help)\n", stderr);
	return -EINVAL;
}

static bool
word_on_one_line(const char *w)
{
	return strpbrk(w, "\r\n") == NULL;
}

/* A name that travels as one word: a chain, a set, a source name. */
static bool
word_is_plain(const char *w)
{
	if (w[0] == '\0')
		return false;
	for (; *w != '\0'; w++)
		if (isspace((unsigned char)*w) || iscntrl((unsigned char)*w) ||
		    *w == '"' || *w == '\'')
			return false;
	return true;
}

/* The words as the request line; NULL after saying why on stderr. */
static char *
words_join(int argc, char **argv, bool quote)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < argc; i++) {
		if (!word_on_one_line(argv[i]) ||
		    (!quote && argv[i][0] == '\0')) {
			(void)usage_err("command words must be non-empty and "
			    "on one line");
			return NULL;
		}
	}
	if ((f = open_memstream(&line, &len)) == NULL) {
		fprintf(stderr, "hexctl: out of memory\n");
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];

		if (i > 0)
			fputc(' ', f);
		/*
		 * Rule and element words go back in double quotes when the
		 * shell's quotes held them together ("--comment 'allow
		 * ssh'"), as iptables-save prints them; the parser
		 * (src/fw/lex.c) takes \" and \\ inside.
		 */
		if (!quote || (w[0] != '\0' && strpbrk(w, " \t\v\f\"'") == NULL)) {
			fputs(w, f);
			continue;
		}
		fputc('"', f);
		for (; *w != '\0'; w++) {
			if (*w == '"' || *w == '\\')
				fputc('\\', f);
			fputc(*w, f);
		}
		fputc('"', f);
	}
	if (fclose(f) != 0 || line == NULL) {
		free(line);
		fprintf(stderr, "hexctl: out of memory\n");
		return NULL;
	}
	return line;
}

/* "firewall add -4 INPUT_CUST" and the rule words after it. */
static int
request_words(struct request *rq, const char *head, int argc, char **argv)
{
	char *tail = NULL;

	if (argc > 0 && (tail = words_join(argc, argv, true)) == NULL)
		return -EINVAL;
	if (asprintf(&rq->line, "%s%s%s", head, tail != NULL ? " " : "",
	    tail != NULL ? tail : "") < 0) {
		rq->line = NULL;
		fprintf(stderr, "hexctl: out of memory\n");
	}
	free(tail);
	return rq->line != NULL ? 0 : -ENOMEM;
}

/* Reads all of file ("-": stdin) into rq->body. */
static int
body_read(struct request *rq, const char *file)
{
	bool is_stdin = strcmp(file, "-") == 0;
	size_t cap = 65536;
	char *nbuf;
	int fd = is_stdin ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		fprintf(stderr, "hexctl: %s: %s\n", file, strerror(errno));
		return -errno;
	}
	rq->body_len = 0;
	rq->body = malloc(cap);
	for (;;) {
		ssize_t n;

		if (rq->body == NULL) {
			fprintf(stderr, "hexctl: out of memory\n");
			rc = -ENOMEM;
			break;
		}
		if (rq->body_len == cap) {
			if (cap >= CTL_BODY_MAX_BYTES) {
				fprintf(stderr, "hexctl: %s: larger than %u "
				    "bytes\n", file, CTL_BODY_MAX_BYTES);
				rc = -EFBIG;
				break;
			}
			nbuf = realloc(rq->body, cap * 2);
			if (nbuf == NULL) {
				free(rq->body);
				rq->body = NULL;
				continue;
			}
			rq->body = nbuf;
			cap *= 2;
		}
		n = read(fd, rq->body + rq->body_len, cap - rq->body_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			fprintf(stderr, "hexctl: %s: read: %s\n",
			    is_stdin ? "stdin" : file, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		rq->body_len += (size_t)n;
	}
	if (!is_stdin)
		close(fd);
	return rc;
}

/*
 * "HEAD LEN NAME" and the file: NAME is the file as given, for the
 * server's error messages; "-" is "stdin", and a character that would
 * split the word (a blank, a quote) travels as '?'.
 */
static int
request_restore(struct request *rq, const char *head, const char *file)
{
	char *name;
	int rc;

	if (file[0] == '\0')
		return usage_err("%s: empty file name", head);
	if ((rc = body_read(rq, file)) < 0)
		return rc;
	if ((name = strdup(strcmp(file, "-") == 0 ? "stdin" : file)) == NULL) {
		fprintf(stderr, "hexctl: out of memory\n");
		return -ENOMEM;
	}
	for (char *c = name; *c != '\0'; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) ||
		    *c == '"' || *c == '\'')
			*c = '?';
	if (asprintf(&rq->line, "%s %zu %s", head, rq->body_len, name) < 0) {
		rq->line = NULL;
		fprintf(stderr, "hexctl: out of memory\n");
		rc = -ENOMEM;
	}
	free(name);
	return rc;
}

static bool
is_family(const char *w)
{
	return strcmp(w, "-4") == 0 || strcmp(w, "-6") == 0;
}

static bool
is_number(const char *w)
{
	if (w[0] == '\0')
		return false;
	for (; *w != '\0'; w++)
		if (!isdigit((unsigned char)*w))
			return false;
	return true;
}

/*
 * The words after save or restore, which hold no rule text: the family
 * flag and --json may be among them.  The rest are returned in pos.
 */
static int
file_words(int argc, char **argv, const char **family, bool *json_out,
    const char **pos, int *npos, int max_pos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];

		if (family != NULL && is_family(w))
			*family = w;
		else if (strcmp(w, "--json") == 0 || strcmp(w, "-j") == 0)
			*json_out = true;
		else if (w[0] == '-' && w[1] != '\0')
			return usage_err("unknown option \"%s\"", w);
		else if (*npos == max_pos)
			return usage_err("unexpected \"%s\"", w);
		else
			pos[(*npos)++] = w;
	}
	return 0;
}

/* A chain or set name in front of rule words, checked. */
static int
check_name(const char *cmd, const char *what, int argc, char **argv)
{
	if (argc == 0)
		return usage_err("%s: missing %s", cmd, what);
	if (argv[0][0] == '-' || !word_is_plain(argv[0]))
		return usage_err("%s: \"%s\" is not a %s name (the %s comes "
		    "first)", cmd, argv[0], what, what);
	return 0;
}

/* add, insert and delete: CHAIN, a position or not, the rule words. */
static int
request_fw_rule(struct request *rq, const char *sub, const char *family,
    int argc, char **argv)
{
	char head[256], cmd[32], num[24];
	const char *pos = NULL;
	unsigned long n = 1;
	int rc, rule = 1;

	snprintf(cmd, sizeof(cmd), "firewall %s", sub);
	if ((rc = check_name(cmd, "chain", argc, argv)) < 0)
		return rc;
	if (strcmp(sub, "insert") == 0) {
		/* iptables -I CHAIN [N]: a bare number is the position. */
		pos = "1";
		if (argc > 1 && is_number(argv[1])) {
			pos = argv[1];
			rule = 2;
		}
	} else if (strcmp(sub, "delete") == 0 && argc == 2 &&
	    is_number(argv[1])) {
		pos = argv[1];
		rule = 2;
	}
	if (pos != NULL) {
		errno = 0;
		n = strtoul(pos, NULL, 10);
		if (errno != 0 || n == 0 || n > INT_MAX)
			return usage_err("%s: rule number %s out of range "
			    "(1 to %d)", cmd, pos, INT_MAX);
	}
	/* As a number again: "007" travels as 7. */
	snprintf(num, sizeof(num), "%lu", n);
	if (rule == argc && !(strcmp(sub, "delete") == 0 && pos != NULL))
		return usage_err("%s: missing the rule after %s", cmd,
		    argv[rule - 1]);
	if (strlen(argv[0]) > 64)
		return usage_err("%s: chain name longer than 64 bytes", cmd);
	if (strcmp(sub, "insert") == 0 ||
	    (strcmp(sub, "delete") == 0 && pos != NULL)) {
		snprintf(head, sizeof(head), "firewall %s %s %s %s", sub,
		    family, argv[0], num);
	} else
		snprintf(head, sizeof(head), "firewall %s %s %s", sub, family,
		    argv[0]);
	return request_words(rq, head, argc - rule, argv + rule);
}

/* firewall [-4|-6] SUB [-4|-6] ...; -4 unless told. */
static int
request_firewall(struct request *rq, int argc, char **argv, bool *json_out)
{
	const char *family = "-4", *sub, *pos[1];
	char head[64];
	int i = 1, npos, rc;

	if (i < argc && is_family(argv[i]))
		family = argv[i++];
	if (i == argc)
		return usage_err("firewall: missing sub-command (save, "
		    "restore, add, insert or delete)");
	sub = argv[i++];
	if (i < argc && is_family(argv[i]))
		family = argv[i++];
	if (strcmp(sub, "save") == 0 || strcmp(sub, "restore") == 0) {
		bool save = sub[0] == 's';

		rc = file_words(argc - i, argv + i, &family, json_out, pos,
		    &npos, save ? 0 : 1);
		if (rc < 0)
			return rc;
		snprintf(head, sizeof(head), "firewall %s %s", sub, family);
		if (save)
			return request_words(rq, head, 0, NULL);
		if (npos == 0)
			return usage_err("firewall restore: missing FILE "
			    "(- for stdin)");
		return request_restore(rq, head, pos[0]);
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "insert") == 0 ||
	    strcmp(sub, "delete") == 0)
		return request_fw_rule(rq, sub, family, argc - i, argv + i);
	/* A sub-command of a newer hexgated: as typed. */
	rq->line = words_join(argc, argv, false);
	return rq->line != NULL ? 0 : -EINVAL;
}

/* sets save | restore FILE | add SET ELEM... | del SET ELEM... */
static int
request_sets(struct request *rq, int argc, char **argv, bool *json_out)
{
	const char *sub = argc > 1 ? argv[1] : "", *pos[1];
	char head[128];
	int npos, rc;

	if (argc < 2)
		return usage_err("sets: missing sub-command (save, restore, "
		    "add or del)");
	if (strcmp(sub, "save") == 0 || strcmp(sub, "restore") == 0) {
		bool save = sub[0] == 's';

		rc = file_words(argc - 2, argv + 2, NULL, json_out, pos, &npos,
		    save ? 0 : 1);
		if (rc < 0)
			return rc;
		if (save)
			return request_words(rq, "sets save", 0, NULL);
		if (npos == 0)
			return usage_err("sets restore: missing FILE "
			    "(- for stdin)");
		return request_restore(rq, "sets restore", pos[0]);
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0) {
		snprintf(head, sizeof(head), "sets %s", sub);
		if ((rc = check_name(head, "set", argc - 2, argv + 2)) < 0)
			return rc;
		if (argc == 3)
			return usage_err("sets %s: missing the element after "
			    "%s", sub, argv[2]);
		if (strlen(argv[2]) > 64)
			return usage_err("sets %s: set name longer than 64 "
			    "bytes", sub);
		snprintf(head, sizeof(head), "sets %s %s", sub, argv[2]);
		return request_words(rq, head, argc - 3, argv + 3);
	}
	rq->line = words_join(argc, argv, false);
	return rq->line != NULL ? 0 : -EINVAL;
}

static bool
is_parsed_cmd(const char *w)
{
	return strcmp(w, "firewall") == 0 || strcmp(w, "sets") == 0;
}

static int
request_build(struct request *rq, int argc, char **argv, bool *json_out)
{
	if (strcmp(argv[0], "firewall") == 0)
		return request_firewall(rq, argc, argv, json_out);
	if (strcmp(argv[0], "sets") == 0)
		return request_sets(rq, argc, argv, json_out);
	rq->line = words_join(argc, argv, false);
	return rq->line != NULL ? 0 : -EINVAL;
}

static void
request_free(struct request *rq)
{
	free(rq->line);
	free(rq->body);
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

/* All len bytes, however many writes the socket wants; 0 or -errno. */
static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon that hung up is an error, not SIGPIPE. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The line, its newline, then the body if any; 0 or -errno. */
static int
ctl_send(int fd, const struct request *rq)
{
	int rc;

	if ((rc = send_all(fd, rq->line, strlen(rq->line))) < 0 ||
	    (rc = send_all(fd, "\n", 1)) < 0)
		return rc;
	if (rq->body != NULL)
		rc = send_all(fd, rq->body, rq->body_len);
	return rc;
}

/*
 * Reads until the server closes; the answer in *out (NUL-terminated).
 * 0 or -errno; says nothing, the caller does.
 */
static int
ctl_recv(int fd, char **out, size_t *out_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;

	while (buf != NULL) {
		ssize_t n;

		if (len + 1 == cap) {
			if (cap >= CTL_ANSWER_MAX_BYTES) {
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
	return -ENOMEM;
}

static void
ctl_recv_error(const char *path, int rc)
{
	if (rc == -EMSGSIZE)
		fprintf(stderr, "hexctl: %s: answer larger than %u bytes\n",
		    path, CTL_ANSWER_MAX_BYTES);
	else if (rc == -ENOMEM)
		fprintf(stderr, "hexctl: out of memory\n");
	else
		fprintf(stderr, "hexctl: %s: read: %s\n", path,
		    rc == -EAGAIN || rc == -EWOULDBLOCK ?
		    "no answer from hexgated in time" : strerror(-rc));
}

/* One exchange; returns the answer or NULL after saying why on stderr. */
static json_t *
ctl_ask(const char *path, const struct request *rq, int *status)
{
	json_error_t jerr;
	json_t *resp = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd, send_rc, rc;

	*status = EXIT_USAGE;
	if ((fd = ctl_connect(path)) < 0)
		return NULL;
	/*
	 * A daemon that refuses a request early (a body too large) answers
	 * and closes before reading it all: the write fails, and the
	 * answer still waits to be read.
	 */
	send_rc = ctl_send(fd, rq);
	if (send_rc < 0 && send_rc != -EPIPE && send_rc != -ECONNRESET) {
		fprintf(stderr, "hexctl: %s: write: %s\n", path,
		    strerror(-send_rc));
		goto out;
	}
	rc = ctl_recv(fd, &text, &len);
	if (send_rc < 0 && (rc < 0 || len == 0)) {
		fprintf(stderr, "hexctl: %s: write: %s (hexgated closed the "
		    "connection)\n", path, strerror(-send_rc));
		goto out;
	}
	if (rc < 0) {
		ctl_recv_error(path, rc);
		goto out;
	}
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

/* The located messages of a failed restore or rule, each as it came. */
static void
print_errors(const json_t *resp)
{
	const json_t *errs = json_object_get(resp, "errors"), *e;
	size_t i;

	json_array_foreach(errs, i, e) {
		const char *s = json_string_value(e);
		size_t n;

		if (s == NULL)
			continue;
		n = strlen(s);
		fputs(s, stderr);
		if (n == 0 || s[n - 1] != '\n')
			fputc('\n', stderr);
	}
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

		/* Details first, so the summary is the last line seen. */
		fflush(stdout);
		print_errors(resp);
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

/*
 * "hexctl firewall -6 add --help": the command and its sub-command, the
 * family flags and a trailing --help left out.  Rule words may hold
 * -j and -h, so --help counts only as the last word.
 */
static bool
parsed_cmd_help(int *argc, char **argv)
{
	int n = 0;

	if (*argc < 2 || (strcmp(argv[*argc - 1], "--help") != 0 &&
	    strcmp(argv[*argc - 1], "-h") != 0))
		return false;
	for (int i = 0; i < *argc - 1 && n < 2; i++)
		if (!is_family(argv[i]))
			argv[n++] = argv[i];
	*argc = n;
	return true;
}

/* An environment variable, NULL when unset or empty. */
static const char *
env_get(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Long options without a short one. */
enum {
	OPT_CACERT = 256,
	OPT_PASSWORD_FILE,
	OPT_TOKEN_FILE,
	OPT_INSECURE,
};

/* The request over the socket: an exit status. */
static int
socket_run(const char *path, const struct request *rq, bool json_out)
{
	json_t *resp;
	int status;

	resp = ctl_ask(path, rq, &status);
	if (resp != NULL) {
		status = print_answer(rq->line, resp, json_out);
		json_decref(resp);
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
		{ "url", required_argument, NULL, 'u' },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ NULL, 0, NULL, 0 },
	};
	static char *status_words[] = { "show", "version", NULL };
	const char *path = env_get("HEXGATE_SOCKET");
	/* '+': stop at the command, whose words are looked at below. */
	const char *optstring = "+s:jhu:";
	struct cli_remote remote = {
		.cacert = env_get("HEXCTL_CACERT"),
	};
	bool json_out = false, help = false, socket_opt = false;
	struct request rq = { 0 };
	int ch, status;

	if (path == NULL)
		path = HG_CFG_DEFAULT_SOCKET;
	for (;;) {
		ch = getopt_long(argc, argv, optstring, longopts, NULL);
		if (ch == -1 && optstring[0] == '+' && optind < argc &&
		    !is_parsed_cmd(argv[optind])) {
			/*
			 * Not firewall or sets: options may follow the
			 * command too ("hexctl show routes --json").  The
			 * words start again from the command, which GNU
			 * getopt moves behind any options it finds;
			 * optind 0 makes it read the new optstring (no
			 * '+': permute) and skip argv[0].
			 */
			argc -= optind - 1;
			argv += optind - 1;
			optind = 0;
			optstring = "s:jhu:";
			continue;
		}
		if (ch == -1)
			break;
		switch (ch) {
		case 's':
			path = optarg;
			socket_opt = true;
			break;
		case 'u':
			remote.url = optarg;
			break;
		case OPT_CACERT:
			remote.cacert = optarg;
			break;
		case OPT_PASSWORD_FILE:
			remote.password_file = optarg;
			break;
		case OPT_TOKEN_FILE:
			remote.token_file = optarg;
			break;
		case OPT_INSECURE:
			remote.insecure = true;
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
	if (socket_opt && remote.url != NULL) {
		(void)usage_err("-s and --url: a socket or the API, not both");
		return EXIT_USAGE;
	}
	/* -s on the command line beats $HEXCTL_URL. */
	if (remote.url == NULL && !socket_opt)
		remote.url = env_get("HEXCTL_URL");
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		argc = 2;
		argv = status_words;
	}
	if (is_parsed_cmd(argv[0]) && parsed_cmd_help(&argc, argv))
		help = true;
	if (help) {
		char *line = words_join(argc, argv, false);

		if (line == NULL)
			return EXIT_USAGE;
		usage_cmd(line);
		free(line);
		return 0;
	}
	if (request_build(&rq, argc, argv, &json_out) < 0) {
		request_free(&rq);
		return EXIT_USAGE;
	}
	if (remote.url != NULL)
		status = cli_remote_run(&remote, rq.line, rq.body, rq.body_len,
		    json_out);
	else
		status = socket_run(path, &rq, json_out);
	request_free(&rq);
	return status;
}
