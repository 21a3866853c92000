/*
 * tests/conformance/iptables_t.c: the iptables-t runner. Reads every
 * .t file (iptables' own extension tests, format in
 * ../shared/conformance/iptables/README.md) in the directories it is
 * given, feeds each test line to fw_parse() in each chain the file names,
 * and checks the verdict (OK/FAIL) and, for OK lines, the rule printed
 * back by fw_rule_format(). Ends with the line
 * "N passed, N failed, N skipped"; exits 1 if anything failed.
 *
 *   iptables-t [-v] DIR...
 *
 * -v also prints the lines that pass. Files named libip6t_* are parsed
 * as ip6tables rules, the others as iptables (IPv4) rules. "@ipset
 * create NAME ..." set-up lines create the set; any other set-up command
 * makes the rest of its file skipped, with the command as the reason.
 *
 * A ":CHAIN" header naming a chain that Linux does not build into the
 * table its tests run in names a user-defined chain. Every such chain of
 * a file exists, empty, in each test's rule set, as "iptables -N" would
 * have made it, so rules in a tool's own chains load, and a jump to a
 * chain that a later header names resolves too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw/fw.h"

#define MAX_CHAINS	8
#define MAX_SETS	64
#define MAX_USER_CHAINS	256

/* A user-defined chain the file's headers name, and the table it is in. */
struct user_chain {
	char table[16];
	char name[FW_CHAIN_NAME_MAX];
};

struct file_state {
	const char *path;
	enum fw_family family;
	char table[16];
	int n_chains;
	char chains[MAX_CHAINS][FW_CHAIN_NAME_MAX];
	int n_sets;
	char sets[MAX_SETS][FW_SET_NAME_MAX];
	char skip_reason[256];		/* non-empty: skip every test */
	int n_user;
	struct user_chain user[MAX_USER_CHAINS];
};

static unsigned n_pass, n_fail, n_skip;
static int verbose;

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/*
 * The chains Linux builds into each table. The runner asks Linux's list,
 * not hexgate's, so that a table hexgate lacks still has its built-in
 * chains told apart from user chains (and its tests fail on the table,
 * not on a chain).
 */
static const struct {
	const char *table;
	const char *chains[6];
} linux_tables[] = {
	{ "filter", { "INPUT", "FORWARD", "OUTPUT" } },
	{ "nat", { "PREROUTING", "INPUT", "OUTPUT", "POSTROUTING" } },
	{ "mangle", { "PREROUTING", "INPUT", "FORWARD", "OUTPUT",
	    "POSTROUTING" } },
	{ "raw", { "PREROUTING", "OUTPUT" } },
	{ "security", { "INPUT", "FORWARD", "OUTPUT" } },
};

static bool
is_builtin_chain(const char *table, const char *chain)
{
	for (size_t i = 0; i < sizeof(linux_tables) / sizeof(linux_tables[0]);
	    i++) {
		if (strcmp(linux_tables[i].table, table) != 0)
			continue;
		for (int j = 0; j < 6 && linux_tables[i].chains[j]; j++)
			if (strcmp(linux_tables[i].chains[j], chain) == 0)
				return true;
	}
	return false;
}

/* Remember chain as a user chain of table, once. */
static void
add_user_chain(struct file_state *fs, const char *table, const char *chain)
{
	if (is_builtin_chain(table, chain))
		return;
	for (int i = 0; i < fs->n_user; i++)
		if (strcmp(fs->user[i].table, table) == 0 &&
		    strcmp(fs->user[i].name, chain) == 0)
			return;
	if (fs->n_user == MAX_USER_CHAINS) {
		fprintf(stderr, "iptables-t: %s: more than %d user chains\n",
		    fs->path, MAX_USER_CHAINS);
		exit(2);
	}
	snprintf(fs->user[fs->n_user].table, sizeof(fs->user[0].table), "%s",
	    table);
	snprintf(fs->user[fs->n_user].name, FW_CHAIN_NAME_MAX, "%s", chain);
	fs->n_user++;
}

/*
 * Split a ":A,B,C" header into chains[]; returns how many. A name too
 * long for a chain is kept cut short, so the parser refuses it by name.
 */
static int
split_header(char *line, char chains[MAX_CHAINS][FW_CHAIN_NAME_MAX])
{
	char *save = NULL;
	int n = 0;

	for (char *c = strtok_r(line + 1, ",", &save);
	    c != NULL && n < MAX_CHAINS; c = strtok_r(NULL, ",", &save))
		snprintf(chains[n++], FW_CHAIN_NAME_MAX, "%s", c);
	return n;
}

/*
 * First pass over a file: collect the user chains its headers name. A
 * header belongs to the table its tests run in, which is the table in
 * force at its first test: iptables' own files write ":PREROUTING"
 * before "*nat". A header with no test under it (a chain only jumped
 * to) belongs to the table in force where the next header starts.
 */
static void
collect_user_chains(struct file_state *fs, FILE *fp)
{
	char chains[MAX_CHAINS][FW_CHAIN_NAME_MAX];
	char table[16] = "filter", *line = NULL;
	size_t cap = 0;
	int n = 0;
	bool used = true;

	while (getline(&line, &cap, fp) >= 0) {
		chomp(line);
		if (line[0] == '\0' || line[0] == '#' || line[0] == '@' ||
		    line[0] == '%')
			continue;
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			continue;
		}
		if (line[0] == ':' && !used)
			for (int i = 0; i < n; i++)
				add_user_chain(fs, table, chains[i]);
		if (line[0] == ':') {
			n = split_header(line, chains);
			used = false;
			continue;
		}
		for (int i = 0; i < n; i++)
			add_user_chain(fs, table, chains[i]);
		used = true;
	}
	for (int i = 0; !used && i < n; i++)
		add_user_chain(fs, table, chains[i]);
	free(line);
}

/* "@ipset create NAME TYPE", "%ipset -N NAME TYPE", "ipset destroy NAME" */
static void
setup_command(struct file_state *fs, const char *cmd, unsigned lineno)
{
	char buf[512], *w[8], *save = NULL;
	int n = 0, i = 1;

	snprintf(buf, sizeof(buf), "%s", cmd);
	for (char *t = strtok_r(buf, " \t", &save); t && n < 8;
	    t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n >= 3 && strcmp(w[0], "ipset") == 0) {
		if (strcmp(w[i], "-exist") == 0 || strcmp(w[i], "-!") == 0)
			i++;
		if (i + 1 < n && (strcmp(w[i], "create") == 0 ||
		    strcmp(w[i], "-N") == 0 || strcmp(w[i], "n") == 0) &&
		    fs->n_sets < MAX_SETS) {
			snprintf(fs->sets[fs->n_sets++], FW_SET_NAME_MAX, "%s",
			    w[i + 1]);
			return;
		}
		if (i + 1 < n && (strcmp(w[i], "destroy") == 0 ||
		    strcmp(w[i], "-X") == 0)) {
			for (int s = 0; s < fs->n_sets; s++)
				if (strcmp(fs->sets[s], w[i + 1]) == 0)
					fs->sets[s][0] = '\0';
			return;
		}
	}
	snprintf(fs->skip_reason, sizeof(fs->skip_reason),
	    "after unsupported set-up command on line %u: %s", lineno, cmd);
}

static void
report(const char *verdict, const struct file_state *fs, unsigned lineno,
    const char *chain, const char *rule, const char *why)
{
	printf("%s %s:%u [%s] %s", verdict, fs->path, lineno, chain, rule);
	if (why != NULL && why[0] != '\0')
		printf("\n    %s", why);
	printf("\n");
}

static void
run_one(struct file_state *fs, unsigned lineno, const char *chain,
    const char *rule, const char *expected, bool want_ok)
{
	const char *sets[MAX_SETS];
	struct fw_parse_opts opts = {
		.family = fs->family, .syntax = FW_SYNTAX_RESTORE, .sets = sets,
	};
	struct fw_ruleset *rs = NULL;
	struct fw_errs *errs;
	const struct fw_chain *c;
	char *text, why[FW_RULE_TEXT_MAX + 512], got[FW_RULE_TEXT_MAX];
	enum fw_table_id t;
	size_t len, off;
	int rc;

	for (int i = 0; i < fs->n_sets; i++)
		if (fs->sets[i][0] != '\0')
			sets[opts.n_sets++] = fs->sets[i];
	t = strcmp(fs->table, "nat") == 0 ? FW_TABLE_NAT : FW_TABLE_FILTER;
	len = strlen(fs->table) + strlen(chain) + strlen(rule) + 32 +
	    (size_t)fs->n_user * (FW_CHAIN_NAME_MAX + 8);
	text = malloc(len);
	errs = malloc(sizeof(*errs));
	if (text == NULL || errs == NULL) {
		fprintf(stderr, "iptables-t: out of memory\n");
		exit(2);
	}
	/* "iptables -N" for each user chain of the table, then the rule. */
	off = (size_t)snprintf(text, len, "*%s\n", fs->table);
	for (int i = 0; i < fs->n_user; i++)
		if (strcmp(fs->user[i].table, fs->table) == 0)
			off += (size_t)snprintf(text + off, len - off,
			    ":%s - [0:0]\n", fs->user[i].name);
	snprintf(text + off, len - off, "-A %s %s\nCOMMIT\n", chain, rule);
	rc = fw_parse(text, strlen(text), &opts, &rs, errs);
	why[0] = '\0';
	if (rc != 0 && errs->n > 0)
		fw_err_format(&errs->e[0], "rule", why, sizeof(why));
	if (!want_ok) {
		if (rc != 0) {
			n_pass++;
			if (verbose)
				report("PASS", fs, lineno, chain, rule, why);
		} else {
			n_fail++;
			report("FAIL", fs, lineno, chain, rule,
			    "accepted, but iptables refuses it");
		}
		goto out;
	}
	if (rc != 0) {
		n_fail++;
		report("FAIL", fs, lineno, chain, rule, why[0] ? why :
		    "refused (out of memory?)");
		goto out;
	}
	c = fw_ruleset_chain(rs, t, chain);
	if (c == NULL || c->n_rules == 0) {
		n_skip++;
		report("SKIP", fs, lineno, chain, rule,
		    "the rule is for the other address family (-4/-6)");
		goto out;
	}
	fw_rule_format(&c->rules[0], got, sizeof(got));
	if (strcmp(got, expected) == 0) {
		n_pass++;
		if (verbose)
			report("PASS", fs, lineno, chain, rule, NULL);
	} else {
		n_fail++;
		snprintf(why, sizeof(why), "printed \"%s\", expected \"%s\"",
		    got, expected);
		report("FAIL", fs, lineno, chain, rule, why);
	}
out:
	fw_ruleset_free(rs);
	free(errs);
	free(text);
}

static void
test_line(struct file_state *fs, unsigned lineno, char *line)
{
	char *f[6] = { 0 };
	int n = 0;
	const char *result, *expected;
	char *p = line;

	/* RULE;EXPECTED;RESULT[;VARIANT;ALT_RESULT] */
	while (n < 6) {
		f[n++] = p;
		p = strchr(p, ';');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (n < 3) {
		n_fail++;
		report("FAIL", fs, lineno, "-", line, "malformed test line "
		    "(want RULE;EXPECTED;RESULT)");
		return;
	}
	result = f[2];
	if (n >= 5 && strcmp(f[3], "LEGACY") == 0)
		result = f[4];
	if (strcmp(result, "OK") != 0 && strcmp(result, "FAIL") != 0) {
		n_fail++;
		report("FAIL", fs, lineno, "-", f[0], "malformed result "
		    "(want OK or FAIL)");
		return;
	}
	expected = strcmp(f[1], "=") == 0 ? f[0] : f[1];
	if (fs->skip_reason[0] != '\0' || fs->n_chains == 0) {
		for (int i = 0; i < (fs->n_chains ? fs->n_chains : 1); i++) {
			n_skip++;
			report("SKIP", fs, lineno, fs->n_chains ?
			    fs->chains[i] : "-", f[0], fs->n_chains ?
			    fs->skip_reason : "no :CHAIN line before the test");
		}
		return;
	}
	for (int i = 0; i < fs->n_chains; i++)
		run_one(fs, lineno, fs->chains[i], f[0], expected,
		    strcmp(result, "OK") == 0);
}

static int
run_file(const char *path, const char *base)
{
	struct file_state *fs;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "iptables-t: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		fprintf(stderr, "iptables-t: out of memory\n");
		exit(2);
	}
	fs->path = path;
	fs->family = strncmp(base, "libip6t_", 8) == 0 ? FW_IPV6 : FW_IPV4;
	snprintf(fs->table, sizeof(fs->table), "filter");
	collect_user_chains(fs, fp);
	rewind(fp);
	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		chomp(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == ':')
			fs->n_chains = split_header(line, fs->chains);
		else if (line[0] == '*')
			snprintf(fs->table, sizeof(fs->table), "%s", line + 1);
		else if (line[0] == '@' || line[0] == '%')
			setup_command(fs, line + 1, lineno);
		else
			test_line(fs, lineno, line);
	}
	free(line);
	free(fs);
	fclose(fp);
	return 0;
}

static int
is_t_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 2 && strcmp(d->d_name + n - 2, ".t") == 0;
}

static int
run_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n, rc = 0;

	n = scandir(dir, &names, is_t_file, alphasort);
	if (n < 0) {
		fprintf(stderr, "iptables-t: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (run_file(path, names[i]->d_name) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int i = 1, rc = 0;

	if (i < argc && strcmp(argv[i], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: iptables-t [-v] DIR...\n");
		return 2;
	}
	for (; i < argc; i++)
		if (run_dir(argv[i]) < 0)
			rc = 1;
	/* An unreadable directory is a failure the count must show. */
	if (rc != 0)
		n_fail++;
	printf("%u passed, %u failed, %u skipped\n", n_pass, n_fail, n_skip);
	return n_fail > 0 ? 1 : 0;
}
