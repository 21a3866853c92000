/*
 * src/cli/hexctl.c: hexctl, the command line client of hexgated's
 * operations (src/daemon/ops/ops.c).  The command words name an operation and
 * give its arguments; hexctl sends {"op": NAME, "args": {...}} on one line
 * to the control socket, reads one JSON answer, and prints it as a table
 * (render.c) or, with --json, as it came.  With --url (or $HEXCTL_URL) the
 * same request goes to hexgated's HTTPS API as POST /api/ops/NAME
 * (remote.c): one request, two transports, the same answers.
 *
 * "firewall" and "sets" are parsed by hand: rule text is full of options
 * (-p, -j, --dport) that are the rule's and not hexctl's.  Every other
 * command is a line of the table below, and "hexctl call OP [JSON]" runs
 * any operation, so a new operation is reachable before it has words.
 * "ipsec import" alone asks hexgated nothing: it converts a strongSwan
 * swanctl.conf into hexgate's JSON here (src/mgmt/swanctl.c).
 *
 * Exit status: 0 success, 1 the server answered with an error (or with
 * something that is not JSON), or a file ipsec import cannot convert, 2
 * usage errors and a socket or server that cannot be reached.
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
#include "../lib/text.h"
#include "../mgmt/config.h"	/* HG_CFG_DEFAULT_SOCKET only */
#include "../mgmt/swanctl.h"
#include "qr.h"
#include "remote.h"
#include "render.h"

#define EXIT_SERVER	1
#define EXIT_USAGE	2

/* A reload parses and applies a whole configuration; give it time. */
#define CTL_TIMEOUT_S		30
#define CTL_ANSWER_MAX_BYTES	(160u << 20)
/* A restore file; 10,000 rules are about 1 MB. */
#define CTL_BODY_MAX_BYTES	(64u << 20)
/* ipsec import: what its warnings may fill, a line each. */
#define IMPORT_WARNINGS_BYTES	(256u << 10)
/* Usage lines longer than this put their help on the next line. */
#define USAGE_CMD_WIDTH		26

/* One request: an operation, its arguments, and the words that asked
 * for it (which pick the renderer). */
struct request {
	char cmd[64];		/* "firewall save", "show routes" */
	const char *op;
	json_t *args;
	bool raw_out;		/* a binary answer goes to stdout as it is */
	bool qr;		/* --qr: the answer's wg-quick file as a QR
				   code on stderr */
};

/* How a command's words after its own become arguments. */
enum arg_kind {
	ARG_INT,		/* a number */
	ARG_STR,		/* one word */
	ARG_REST,		/* the rest of the words, as rule text */
	ARG_FILE_JSON,		/* a JSON document file: its members */
	ARG_FLAG,		/* "--NAME": true */
};

struct arg {
	const char *name;
	enum arg_kind kind;
	bool optional;
};

static const struct cmd {
	const char *line;	/* usage */
	const char *op;		/* NULL: parsed by hand */
	const char *help;
	struct arg args[3];
} cmds[] = {
	{ "show interfaces", "show.interfaces",
	  .help = "interfaces with their ports, counters and drops" },
	{ "show neighbors", "show.neighbors",
	  .help = "the neighbour (ARP and ND) table" },
	{ "show routes", "show.routes", .help = "the routing table" },
	{ "show version", "show.version",
	  .help = "version, worker threads, uptime, configuration version" },
	{ "status", "show.version", .help = "the same as show version" },
	{ "show firewall", "show.firewall",
	  .help = "rule count, verdict counters, conntrack totals" },
	{ "show conntrack", "show.conntrack",
	  .help = "the connection tracking table, a flow a line" },
	{ "nat show", "nat.show",
	  .help = "active NAT translations: flows whose reply is translated" },
	{ "reload", "reload",
	  .help = "read the configuration file again (as SIGHUP does)" },
	{ "firewall save [-4|-6]", NULL,
	  .help = "print the rules as iptables-save does, with counters" },
	{ "firewall restore [-4|-6] FILE", NULL,
	  .help = "replace the rules of the tables FILE names (- is stdin), "
	  "atomically" },
	{ "firewall add [-4|-6] CHAIN RULE...", NULL,
	  .help = "append a rule to CHAIN (iptables -A)" },
	{ "firewall insert [-4|-6] CHAIN [N] RULE...", NULL,
	  .help = "insert a rule at position N, default 1 (iptables -I)" },
	{ "firewall delete [-4|-6] CHAIN N|RULE...", NULL,
	  .help = "delete a rule by position or by text (iptables -D)" },
	{ "sets save", NULL, .help = "print the named sets as ipset save does" },
	{ "sets restore FILE", NULL,
	  .help = "replace all sets with FILE (- is stdin), atomically" },
	{ "sets add SET ELEM...", NULL, .help = "add an element to SET (ipset add)" },
	{ "sets del SET ELEM...", NULL,
	  .help = "remove an element from SET (ipset del)" },
	{ "config show [N]", "config.show",
	  .help = "the running configuration, or version N",
	  .args = { { "version", ARG_INT, true } } },
	{ "config versions [LIMIT]", "config.versions",
	  .help = "the stored versions, newest first",
	  .args = { { "limit", ARG_INT, true } } },
	{ "config diff [A B]", "config.diff",
	  .help = "diff from version A to B, default the last change",
	  .args = { { "a", ARG_INT, true }, { "b", ARG_INT, false } } },
	{ "config rollback N", "config.rollback",
	  .help = "apply version N again as a new version",
	  .args = { { "version", ARG_INT, false } } },
	{ "config put FILE [CONFIRM_S]", "config.put",
	  .help = "apply a whole configuration document ({config, rules, rules6, "
	  "sets}); with CONFIRM_S, rolled back unless confirmed in time",
	  .args = { { NULL, ARG_FILE_JSON, false }, { "confirm_s", ARG_INT, true } } },
	{ "config confirm N", "config.confirm",
	  .help = "keep version N, which awaits confirmation",
	  .args = { { "version", ARG_INT, false } } },
	{ "snapshot export", "snapshot.export",
	  .help = "the running version as one document" },
	{ "snapshot import FILE", "snapshot.import",
	  .help = "apply a document from snapshot export",
	  .args = { { NULL, ARG_FILE_JSON, false } } },
	{ "token create NAME [EXPIRES_S]", "token.create",
	  .help = "make an API token; its secret is printed this once",
	  .args = { { "name", ARG_STR, false }, { "expires_s", ARG_INT, true } } },
	{ "token list", "token.list", .help = "the API tokens, without secrets" },
	{ "token revoke ID", "token.revoke", .help = "revoke an API token",
	  .args = { { "id", ARG_INT, false } } },
	{ "audit [LIMIT]", "audit.show",
	  .help = "the audit log, newest first (default 100 rows)",
	  .args = { { "limit", ARG_INT, true } } },
	{ "capture start IF [FILTER...]", "capture.start",
	  .help = "capture IF's traffic (iptables matches) to a pcap file",
	  .args = { { "interface", ARG_STR, false }, { "filter", ARG_REST, true } } },
	{ "capture list", "capture.list", .help = "the captures, running or not" },
	{ "capture stop ID [--remove]", "capture.stop",
	  .help = "stop a capture; --remove also deletes its file",
	  .args = { { "id", ARG_INT, false }, { "remove", ARG_FLAG, true } } },
	{ "capture pcap ID", "capture.pcap",
	  .help = "write a capture's pcap file to stdout",
	  .args = { { "id", ARG_INT, false } } },
	{ "ipsec sas", "ipsec.sas",
	  .help = "the ESP tunnels' SAs: SPI, algorithm, counters (no keys)" },
	{ "ipsec import FILE", NULL,
	  .help = "print a strongSwan swanctl.conf (- is stdin) as hexgate's "
	  "JSON, offline" },
	{ "ipsec connections", "ipsec.connections",
	  .help = "the IPsec connections and secrets (secrets as stars)" },
	{ "ipsec put FILE", "ipsec.connections.put",
	  .help = "replace the IPsec connections from a JSON file "
	  "({\"ipsec\": ...}, as ipsec import writes it)",
	  .args = { { NULL, ARG_FILE_JSON, false } } },
	{ "ipsec status", "ipsec.status",
	  .help = "the IKE SAs: state, peer, algorithms, SPIs, selectors" },
	{ "ipsec up NAME", "ipsec.up",
	  .help = "initiate an IPsec connection and keep it up",
	  .args = { { "name", ARG_STR, false } } },
	{ "ipsec down NAME", "ipsec.down",
	  .help = "delete a connection's IKE SA (peer told) until ipsec up",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay status", "overlay.status",
	  .help = "the overlay's peers as wg show shows them, with names" },
	{ "overlay handshake NAME", "overlay.handshake",
	  .help = "start a handshake with an overlay peer now",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay clientpack add NAME [--psk] [--qr]", "overlay.clientpack.add",
	  .help = "add an overlay client; prints its wg-quick file (its private "
	  "key is shown this once), and a QR code of it on stderr with --qr or "
	  "on a terminal",
	  .args = { { "name", ARG_STR, false }, { "psk", ARG_FLAG, true } } },
	{ "overlay clientpack list", "overlay.clientpack.list",
	  .help = "the overlay's clients: addresses, public key, enabled, PSK" },
	{ "overlay clientpack show NAME", "overlay.clientpack.show",
	  .help = "one client and its wg-quick file, without its keys",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay clientpack disable NAME", "overlay.clientpack.disable",
	  .help = "cut an overlay client off; it keeps its address",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay clientpack enable NAME", "overlay.clientpack.enable",
	  .help = "let a disabled overlay client in again",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay clientpack rekey NAME [--qr]", "overlay.clientpack.rekey",
	  .help = "new keys for an overlay client, its address kept; prints the "
	  "new wg-quick file as add does",
	  .args = { { "name", ARG_STR, false } } },
	{ "overlay clientpack revoke NAME", "overlay.clientpack.revoke",
	  .help = "remove an overlay client; its address returns to the pool",
	  .args = { { "name", ARG_STR, false } } },
	{ "metrics", "metrics", .help = "the counters in the Prometheus format" },
	{ "ops", "ops.list", .help = "the operations hexgated offers" },
	{ "call OP [JSON]", NULL,
	  .help = "run any operation with JSON arguments ('{\"limit\": 5}')" },
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
	    "Every command works over the socket and over the API alike; "
	    "ipsec import\nworks alone.\n"
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
		printf("hexctl: \"%s\" is not a command hexctl knows "
		    "(\"hexctl call OP\" runs any operation).\n\n", line);
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

/* A file's bytes ("-": stdin). */
struct body {
	char *body;
	size_t body_len;
};

/* Reads all of file ("-": stdin) into rq->body. */
static int
body_read(struct body *rq, const char *file)
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

static int
oom(void)
{
	fprintf(stderr, "hexctl: out of memory\n");
	return -ENOMEM;
}

/* The command's own words of a usage line: "config show [N]" is
 * "config show". */
static void
cmd_words(const char *line, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = line; *p != '\0';) {
		size_t w = strcspn(p, " ");

		if (!islower((unsigned char)*p))
			break;
		if (n + w + 2 > len)
			break;
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, p, w);
		n += w;
		p += w;
		p += strspn(p, " ");
	}
	out[n] = '\0';
}

static int
req_start(struct request *rq, const char *cmd, const char *op)
{
	snprintf(rq->cmd, sizeof(rq->cmd), "%s", cmd);
	rq->op = op;
	json_decref(rq->args);
	rq->args = json_object();
	return rq->args != NULL ? 0 : oom();
}

/* args[name] = v (taken). */
static int
arg_set(struct request *rq, const char *name, json_t *v)
{
	if (v == NULL || json_object_set_new(rq->args, name, v) != 0)
		return oom();
	return 0;
}

/* The offset of the first byte that is not UTF-8 text (a NUL counts),
 * or len. */
static size_t
utf8_bad(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 :
		    (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
		uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ?
		    c & 0x0f : c & 0x07;

		if (c == 0 || n == 4 || c == 0xc0 || c == 0xc1)
			return i;
		for (unsigned k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* A file's text as the "text" argument, and its name as "name" for the
 * server's errors. */
static int
arg_file_text(struct request *rq, const char *file)
{
	struct body b = { 0 };
	const char *name = strcmp(file, "-") == 0 ? "stdin" : file;
	size_t bad;
	int rc;

	if (file[0] == '\0')
		return usage_err("%s: empty file name", rq->cmd);
	if ((rc = body_read(&b, file)) < 0) {
		free(b.body);
		return rc;
	}
	bad = utf8_bad((const unsigned char *)b.body, b.body_len);
	if (bad < b.body_len) {
		/* Located as the server locates errors; the request is
		 * JSON, which carries UTF-8 text only. */
		size_t line = 1, col = 1;

		for (size_t i = 0; i < bad; i++) {
			if (b.body[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)b.body[i] & 0xc0) != 0x80)
				col++;
		}
		fprintf(stderr, "%s:%zu:%zu: error: byte 0x%02x is not UTF-8 "
		    "text%s: rule and set files are text\n", name, line, col,
		    (unsigned char)b.body[bad], b.body[bad] == '\0' ?
		    " (a NUL)" : "");
		free(b.body);
		return -EINVAL;
	}
	rc = arg_set(rq, "text", json_stringn(b.body != NULL ? b.body : "",
	    b.body_len));
	free(b.body);
	if (rc == 0 && strlen(name) > 200)
		name = strrchr(name, '/') != NULL ? strrchr(name, '/') + 1 : "file";
	return rc != 0 ? rc : arg_set(rq, "name", json_stringn(name,
	    strnlen(name, 200)));
}

/* A JSON document file's members as arguments. */
static int
arg_file_json(struct request *rq, const char *file)
{
	struct body b = { 0 };
	json_error_t jerr;
	json_t *doc;
	int rc;

	if ((rc = body_read(&b, file)) < 0) {
		free(b.body);
		return rc;
	}
	doc = json_loadb(b.body != NULL ? b.body : "", b.body_len, 0, &jerr);
	free(b.body);
	if (!json_is_object(doc)) {
		fprintf(stderr, "hexctl: %s: line %d column %d: %s\n", file,
		    jerr.line, jerr.column, doc == NULL ? jerr.text :
		    "expected a JSON object");
		json_decref(doc);
		return -EINVAL;
	}
	rc = json_object_update(rq->args, doc) == 0 ? 0 : oom();
	json_decref(doc);
	return rc;
}

static int
arg_family(struct request *rq, const char *family)
{
	return arg_set(rq, "family", json_integer(family[1] == '6' ? 6 : 4));
}

/* A rule number from 1. */
static int
arg_number(const char *cmd, const char *w, json_int_t *n)
{
	errno = 0;
	*n = is_number(w) ? strtoll(w, NULL, 10) : 0;
	if (errno != 0 || *n == 0 || *n > INT_MAX)
		return usage_err("%s: \"%s\" is not a number from 1 to %d", cmd,
		    w, INT_MAX);
	return 0;
}

/* add, insert and delete: CHAIN, a position or not, the rule words. */
static int
request_fw_rule(struct request *rq, const char *sub, const char *family,
    int argc, char **argv)
{
	char cmd[32];
	const char *pos = NULL;
	json_int_t n = 0;
	char *rule = NULL;
	int rc, first = 1;

	snprintf(cmd, sizeof(cmd), "firewall %s", sub);
	if ((rc = check_name(cmd, "chain", argc, argv)) < 0)
		return rc;
	if (strcmp(sub, "insert") == 0) {
		/* iptables -I CHAIN [N]: a bare number is the position. */
		pos = "1";
		if (argc > 1 && is_number(argv[1])) {
			pos = argv[1];
			first = 2;
		}
	} else if (strcmp(sub, "delete") == 0 && argc == 2 &&
	    is_number(argv[1])) {
		pos = argv[1];
		first = 2;
	}
	if (pos != NULL && (rc = arg_number(cmd, pos, &n)) < 0)
		return rc;
	if (first == argc && !(strcmp(sub, "delete") == 0 && pos != NULL))
		return usage_err("%s: missing the rule after %s", cmd,
		    argv[first - 1]);
	if (strlen(argv[0]) > 64)
		return usage_err("%s: chain name longer than 64 bytes", cmd);
	if ((rc = req_start(rq, cmd, strcmp(sub, "delete") == 0 ?
	    "firewall.delete" : "firewall.add")) < 0 ||
	    (rc = arg_family(rq, family)) < 0 ||
	    (rc = arg_set(rq, "chain", json_string(argv[0]))) < 0)
		return rc;
	if (pos != NULL && (rc = arg_set(rq, "position", json_integer(n))) < 0)
		return rc;
	if (first == argc)
		return 0;
	if ((rule = words_join(argc - first, argv + first, true)) == NULL)
		return -EINVAL;
	rc = arg_set(rq, "rule", json_string(rule));
	free(rule);
	return rc;
}

/* firewall [-4|-6] SUB [-4|-6] ...; -4 unless told. */
static int
request_firewall(struct request *rq, int argc, char **argv, bool *json_out)
{
	const char *family = "-4", *sub, *pos[1];
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
		if ((rc = req_start(rq, save ? "firewall save" :
		    "firewall restore", save ? "firewall.save" :
		    "firewall.restore")) < 0 || (rc = arg_family(rq,
		    family)) < 0 || save)
			return rc;
		if (npos == 0)
			return usage_err("firewall restore: missing FILE "
			    "(- for stdin)");
		return arg_file_text(rq, pos[0]);
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "insert") == 0 ||
	    strcmp(sub, "delete") == 0)
		return request_fw_rule(rq, sub, family, argc - i, argv + i);
	return usage_err("firewall: no sub-command \"%s\" (save, restore, "
	    "add, insert or delete)", sub);
}

/* sets save | restore FILE | add SET ELEM... | del SET ELEM... */
static int
request_sets(struct request *rq, int argc, char **argv, bool *json_out)
{
	const char *sub = argc > 1 ? argv[1] : "", *pos[1];
	char head[32], *entry;
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
		if ((rc = req_start(rq, save ? "sets save" : "sets restore",
		    save ? "sets.save" : "sets.restore")) < 0 || save)
			return rc;
		if (npos == 0)
			return usage_err("sets restore: missing FILE "
			    "(- for stdin)");
		return arg_file_text(rq, pos[0]);
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0)
		return usage_err("sets: no sub-command \"%s\" (save, restore, "
		    "add or del)", sub);
	snprintf(head, sizeof(head), "sets %s", sub);
	if ((rc = check_name(head, "set", argc - 2, argv + 2)) < 0)
		return rc;
	if (argc == 3)
		return usage_err("sets %s: missing the element after %s", sub,
		    argv[2]);
	if (strlen(argv[2]) > 64)
		return usage_err("sets %s: set name longer than 64 bytes", sub);
	if ((rc = req_start(rq, head, sub[0] == 'a' ? "sets.add" :
	    "sets.del")) < 0 ||
	    (rc = arg_set(rq, "name", json_string(argv[2]))) < 0)
		return rc;
	if ((entry = words_join(argc - 3, argv + 3, true)) == NULL)
		return -EINVAL;
	rc = arg_set(rq, "entry", json_string(entry));
	free(entry);
	return rc;
}

/* call OP [JSON]: any operation, its arguments as JSON. */
static int
request_call(struct request *rq, int argc, char **argv)
{
	json_error_t jerr;
	json_t *args;
	int rc;

	if (argc < 2 || argc > 3)
		return usage_err("call: usage: call OP [JSON] (hexctl ops "
		    "lists the operations)");
	/* The renderer of the words that name the same operation. */
	snprintf(rq->cmd, sizeof(rq->cmd), "call");
	for (size_t i = 0; i < HG_ARRAY_SIZE(cmds); i++)
		if (cmds[i].op != NULL && strcmp(cmds[i].op, argv[1]) == 0) {
			cmd_words(cmds[i].line, rq->cmd, sizeof(rq->cmd));
			break;
		}
	rq->op = argv[1];
	if ((rc = req_start(rq, rq->cmd, argv[1])) < 0 || argc == 2)
		return rc;
	args = json_loads(argv[2], 0, &jerr);
	if (!json_is_object(args)) {
		json_decref(args);
		return usage_err("call %s: the arguments are a JSON object: "
		    "column %d: %s", argv[1], jerr.column, args == NULL ?
		    jerr.text : "not an object");
	}
	json_decref(rq->args);
	rq->args = args;
	return 0;
}

/* A command of the table: its arguments by their specs. */
static int
request_table(struct request *rq, const struct cmd *c, int argc, char **argv)
{
	char words[64];
	int i = 0, rc;

	cmd_words(c->line, words, sizeof(words));
	if ((rc = req_start(rq, words, c->op)) < 0)
		return rc;
	rq->raw_out = strcmp(c->op, "capture.pcap") == 0;
	for (size_t k = 0; k < HG_ARRAY_SIZE(c->args) && (c->args[k].name ||
	    c->args[k].kind == ARG_FILE_JSON); k++) {
		const struct arg *a = &c->args[k];
		json_int_t n;
		char *s;

		if (i == argc) {
			if (a->optional)
				break;
			return usage_err("%s: missing %s", c->line,
			    a->name != NULL ? a->name : "FILE");
		}
		switch (a->kind) {
		case ARG_INT:
			if ((rc = arg_number(c->line, argv[i], &n)) < 0 ||
			    (rc = arg_set(rq, a->name, json_integer(n))) < 0)
				return rc;
			break;
		case ARG_STR:
			if ((rc = arg_set(rq, a->name,
			    json_string(argv[i]))) < 0)
				return rc;
			break;
		case ARG_REST:
			if ((s = words_join(argc - i, argv + i, true)) == NULL)
				return -EINVAL;
			rc = arg_set(rq, a->name, json_string(s));
			free(s);
			if (rc < 0)
				return rc;
			i = argc - 1;
			break;
		case ARG_FILE_JSON:
			if ((rc = arg_file_json(rq, argv[i])) < 0)
				return rc;
			break;
		case ARG_FLAG:
			if (strncmp(argv[i], "--", 2) != 0 ||
			    strcmp(argv[i] + 2, a->name) != 0)
				return usage_err("%s: unexpected \"%s\"",
				    c->line, argv[i]);
			if ((rc = arg_set(rq, a->name, json_true())) < 0)
				return rc;
			break;
		}
		i++;
	}
	if (i < argc)
		return usage_err("%s: unexpected \"%s\"", c->line, argv[i]);
	return 0;
}

/* Commands whose words are theirs, options included: hexctl's options
 * go before them. */
static bool
is_parsed_cmd(const char *w)
{
	return strcmp(w, "firewall") == 0 || strcmp(w, "sets") == 0 ||
	    strcmp(w, "capture") == 0 || strcmp(w, "call") == 0 ||
	    strcmp(w, "overlay") == 0;
}

/* The table's command that argv starts with, the longest; *n its words. */
static const struct cmd *
cmd_find(int argc, char **argv, int *n_words)
{
	const struct cmd *best = NULL;
	int best_n = 0;

	for (size_t i = 0; i < HG_ARRAY_SIZE(cmds); i++) {
		char words[64], *w, *save = NULL;
		int n = 0;
		bool match = true;

		if (cmds[i].op == NULL)
			continue;
		cmd_words(cmds[i].line, words, sizeof(words));
		for (w = strtok_r(words, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save), n++)
			if (n >= argc || strcmp(argv[n], w) != 0) {
				match = false;
				break;
			}
		if (match && n > best_n) {
			best = &cmds[i];
			best_n = n;
		}
	}
	*n_words = best_n;
	return best;
}

static int
request_build(struct request *rq, int argc, char **argv, bool *json_out)
{
	const struct cmd *c;
	int n;

	if (strcmp(argv[0], "firewall") == 0)
		return request_firewall(rq, argc, argv, json_out);
	if (strcmp(argv[0], "sets") == 0)
		return request_sets(rq, argc, argv, json_out);
	if (strcmp(argv[0], "call") == 0)
		return request_call(rq, argc, argv);
	/* "show neighbours", as people spell it too. */
	if (argc == 2 && strcmp(argv[0], "show") == 0 &&
	    strcmp(argv[1], "neighbours") == 0)
		argv[1] = "neighbors";
	if ((c = cmd_find(argc, argv, &n)) == NULL)
		return usage_err("\"%s%s%s\": no such command", argv[0],
		    argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	return request_table(rq, c, argc - n, argv + n);
}

/*
 * "hexctl ipsec import FILE": {"ipsec": ...} on stdout, the warnings on
 * stderr; the first fault of the file on stderr and exit 1, with nothing
 * on stdout.  Offline: hexgated is not asked.
 */
static int
ipsec_import(int argc, char **argv)
{
	struct body b = { 0 };
	char err[512], *warnings = NULL;
	json_t *ipsec = NULL, *doc = NULL;
	int n, status = EXIT_USAGE;

	if (argc != 1) {
		(void)usage_err("ipsec import FILE: %s",
		    argc == 0 ? "missing FILE" : "one FILE only");
		return EXIT_USAGE;
	}
	if (body_read(&b, argv[0]) < 0)
		goto out;
	if ((warnings = malloc(IMPORT_WARNINGS_BYTES)) == NULL) {
		(void)oom();
		goto out;
	}
	n = hg_swanctl_import(strcmp(argv[0], "-") == 0 ? "stdin" : argv[0],
	    b.body, b.body_len, &ipsec, warnings, IMPORT_WARNINGS_BYTES, err,
	    sizeof(err));
	if (n < 0) {
		fprintf(stderr, "%s\n", err);
		status = n == -ENOMEM ? EXIT_USAGE : EXIT_SERVER;
		goto out;
	}
	fputs(warnings, stderr);
	if ((doc = json_pack("{s:O}", "ipsec", ipsec)) == NULL ||
	    json_dumpf(doc, stdout, JSON_INDENT(2)) < 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "hexctl: ipsec import: cannot write the "
		    "result\n");
		goto out;
	}
	status = 0;
out:
	json_decref(doc);
	json_decref(ipsec);
	free(warnings);
	free(b.body);
	return status;
}

static void
request_free(struct request *rq)
{
	json_decref(rq->args);
	rq->args = NULL;
}

/* {"op", "args"} as one line of JSON (malloc'd). */
static char *
request_text(const struct request *rq)
{
	json_t *o = json_pack("{s:s,s:O}", "op", rq->op, "args", rq->args);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s == NULL)
		(void)oom();
	return s;
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

/* The request on one line, and its newline; 0 or -errno. */
static int
ctl_send(int fd, const struct request *rq)
{
	char *text = request_text(rq);
	int rc;

	if (text == NULL)
		return -ENOMEM;
	if ((rc = send_all(fd, text, strlen(text))) == 0)
		rc = send_all(fd, "\n", 1);
	free(text);
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

/* The located errors of a refused document or rule, each as it came:
 * "src:line:col-col: error: ..." strings, or {line, column, message}. */
static void
print_errors(const json_t *errs)
{
	const json_t *e;
	size_t i;

	json_array_foreach(errs, i, e) {
		const char *s = json_string_value(e);
		size_t n;

		if (s == NULL) {
			const char *m = json_string_value(json_object_get(e,
			    "message"));

			if (m != NULL)
				fprintf(stderr, "%lld:%lld: %s\n", (long long)
				    json_integer_value(json_object_get(e,
				    "line")), (long long)json_integer_value(
				    json_object_get(e, "column")), m);
			continue;
		}
		n = strlen(s);
		fputs(s, stderr);
		if (n == 0 || s[n - 1] != '\n')
			fputc('\n', stderr);
	}
}

/*
 * A clientpack's file (add, rekey) as a QR code for a phone to scan, on
 * stderr so that "hexctl overlay clientpack add x >wg0.conf" writes the
 * file alone: with --qr, or when stdout is a terminal (a person reads
 * it, and may hold a phone).  An exit status.
 */
static int
qr_print(const struct request *rq, const json_t *resp)
{
	const char *text = json_string_value(json_object_get(resp, "config"));
	int rc;

	if (text == NULL || (strcmp(rq->op, "overlay.clientpack.add") != 0 &&
	    strcmp(rq->op, "overlay.clientpack.rekey") != 0) ||
	    (!rq->qr && !isatty(STDOUT_FILENO)))
		return 0;
	fputc('\n', stderr);
	if ((rc = cli_qr_print(text, stderr)) != 0) {
		fprintf(stderr, "hexctl: QR code: %s\n", rc == -EINVAL ?
		    "the file is too long for one" : strerror(-rc));
		return EXIT_SERVER;
	}
	return 0;
}

/*
 * Prints the answer: an error's located errors and message on stderr (1),
 * a binary answer to stdout as it is, the JSON with --json, else what
 * render.c makes of it.  An exit status.
 */
static int
print_answer(const struct request *rq, const json_t *resp, bool json_out)
{
	const json_t *err = json_object_get(resp, "error");
	int status = 0;

	if (err != NULL) {
		const char *msg = json_string_value(json_object_get(err,
		    "message"));
		const char *code = json_string_value(json_object_get(err,
		    "code"));

		if (json_out && json_dumpf(resp, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
		/* Details first, so the summary is the last line seen. */
		fflush(stdout);
		print_errors(json_object_get(err, "errors"));
		fprintf(stderr, "hexctl: %s (%lld%s%s)\n", msg != NULL ? msg :
		    "the request was refused", (long long)json_integer_value(
		    json_object_get(err, "status")), code != NULL ? " " : "",
		    code != NULL ? code : "");
		status = EXIT_SERVER;
	} else if (rq->raw_out && json_is_string(json_object_get(resp,
	    "base64"))) {
		if (hg_base64_write(json_string_value(json_object_get(resp,
		    "base64")), stdout) != 0) {
			fprintf(stderr, "hexctl: the answer's base64 is "
			    "damaged\n");
			status = EXIT_SERVER;
		}
	} else if (json_out) {
		if (json_dumpf(resp, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
	} else if (cli_render(rq->cmd, resp, stdout) < 0)
		status = EXIT_SERVER;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "hexctl: stdout: %s\n", strerror(errno));
		status = EXIT_SERVER;
	}
	if (err == NULL && status == 0)
		status = qr_print(rq, resp);
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
		status = print_answer(rq, resp, json_out);
		json_decref(resp);
	}
	return status;
}

/* The request over the API: an exit status. */
static int
remote_run(const struct cli_remote *remote, const struct request *rq,
    bool json_out)
{
	char *text;
	json_t *body, *resp = NULL;
	int status;

	body = json_pack("{s:O}", "args", rq->args);
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return oom(), EXIT_USAGE;
	status = cli_remote_call(remote, rq->op, text, &resp);
	free(text);
	if (status == 0) {
		status = print_answer(rq, resp, json_out);
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
	if (argc >= 2 && strcmp(argv[0], "ipsec") == 0 &&
	    strcmp(argv[1], "import") == 0)
		return ipsec_import(argc - 2, argv + 2);
	/* --qr is hexctl's, not the operation's: taken out here. */
	if (strcmp(argv[0], "overlay") == 0)
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--qr") == 0) {
				rq.qr = true;
				memmove(&argv[i], &argv[i + 1],
				    (size_t)(argc - i) * sizeof(*argv));
				argc--;
				i--;
			}
	if (request_build(&rq, argc, argv, &json_out) < 0) {
		request_free(&rq);
		return EXIT_USAGE;
	}
	if (remote.url != NULL)
		status = remote_run(&remote, &rq, json_out);
	else
		status = socket_run(path, &rq, json_out);
	request_free(&rq);
	return status;
}
