/*
 * tests/fuzz/fuzz_fw_rules.c: libFuzzer target for the firewall rule
 * parser (src/fw). The first input byte picks the mode: bit 0 IPv6,
 * bit 1 the one-line customer form instead of iptables-restore text.
 * Whatever fw_parse() returns must be consistent: a rule set and no
 * errors, or errors and no rule set; every stored error has a message and
 * a terminated line. A rule set must print, and the printed form must
 * parse back to an equal rule set. A rule set that parses is then
 * compiled (two interfaces, no sets, so a rule naming a set must fail
 * with an error) and two fixed packets, a TCP SYN and a later fragment,
 * run through every hook. What errors echo must hold no control byte;
 * a restore naming no table must keep a rule set whole
 * (fw_ruleset_keep_unnamed()), and the unknown interfaces of one must be
 * listed and worded safely. Seeds are in corpus/fw_rules/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw/fw.h"
#include "pkt/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sets[] = { "office", "blocked" };
static const char if_names[2][FW_IFNAME_MAX] = { "eth0", "tun0" };

/* Ethernet + IPv4 10.0.0.1 > 10.0.0.2 + TCP 1234 > 22 SYN; the second
 * is the same header as a fragment at offset 8 with 8 bytes of data. */
static const uint8_t frame4[] = {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x04, 0xd2, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
	0, 0, 0, 0,
};
static const uint8_t frame6[] = {
	2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd,
	0x60, 0, 0, 0, 0, 20, 6, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x04, 0xd2, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
	0, 0, 0, 0,
};

static void
fuzz_eval(const struct fw_ruleset *rs)
{
	static struct fw_errs errs;
	static uint8_t buf[2][PKT_BUF_SIZE];
	const struct fw_compile_env env = {
		.n_if = 2, .if_names = if_names, .n_workers = 1,
	};
	struct fw_ct_info ct = { .state = FW_CT_NEW, .proto = 6 };
	struct fw_prog *prog = NULL;
	struct pkt p[2];
	struct fw_verdict v;
	int error;

	error = fw_compile(rs, &env, &prog, &errs);
	if ((error == 0) != (prog != NULL) || (error == -EINVAL && errs.n == 0))
		abort();
	if (error != 0)
		return;
	for (int i = 0; i < 2; i++) {
		const uint8_t *f = rs->family == FW_IPV6 ? frame6 : frame4;
		size_t n = rs->family == FW_IPV6 ? sizeof(frame6) : sizeof(frame4);

		memset(&p[i], 0, sizeof(p[i]));
		p[i].data = buf[i];
		p[i].len = (uint16_t)n;
		memcpy(buf[i], f, n);
		if (i == 1 && rs->family == FW_IPV4) {
			buf[i][20] = 0x00;	/* offset 8 bytes */
			buf[i][21] = 0x01;
		}
		if (rs->family == FW_IPV4)
			pkt_ip4_set_csum((struct ip4_hdr *)(void *)
			    (buf[i] + ETH_HDR_LEN));
		if (pkt_parse(&p[i], NULL) != PKT_DROP_NONE)
			abort();
	}
	for (int h = 0; h < FW_HOOK_COUNT; h++)
		for (int i = 0; i < 2; i++) {
			struct fw_pkt fp = {
				.p = &p[i],
				.in_if = h == FW_HOOK_OUTPUT ? FW_IF_NONE : 0,
				.out_if = h == FW_HOOK_INPUT ? FW_IF_NONE : 1,
				.ct = i == 0 ? &ct : NULL,
			};

			fw_eval(prog, 0, (enum fw_hook)h, &fp, 1000, &v);
			if (v.kind > FW_VERDICT_REJECT || v.why >= FW_WHY_COUNT ||
			    (v.why == FW_WHY_RULE) != (v.rule != FW_RULE_NONE))
				abort();
		}
	fw_prog_free(prog);
}

/* C0 controls but tab, DEL, and bytes that start no UTF-8 character. */
static bool
has_controls(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; *u != '\0'; u++)
		if ((*u < 0x20 && *u != '\t') || *u == 0x7f || *u == 0xff ||
		    *u == 0xfe || *u == 0xc0 || *u == 0xc1)
			return true;
	return false;
}

/*
 * A restore that names no table keeps the live one whole; the unknown
 * interfaces of a rule set are listed and worded without a control byte.
 */
static void
fuzz_restore_extras(const struct fw_ruleset *rs, const struct fw_parse_opts *o)
{
	static struct fw_errs errs;
	const char *const known[] = { if_names[0], if_names[1] };
	struct fw_ruleset *empty = NULL;
	struct fw_iface_ref refs[4];
	char msg[512];
	size_t n;

	if (fw_parse("", 0, o, &empty, &errs) != 0 || empty->named != 0 ||
	    fw_ruleset_keep_unnamed(empty, rs) != 0 ||
	    !fw_ruleset_equal(empty, rs))
		abort();
	fw_ruleset_free(empty);
	n = fw_ruleset_unknown_ifaces(rs, known, 2, refs, 4);
	for (size_t i = 0; i < n && i < 4; i++) {
		(void)fw_iface_ref_format(&refs[i], known, 2, msg, sizeof(msg));
		if (has_controls(msg))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fw_errs errs, errs2;
	struct fw_parse_opts o = { .sets = sets, .n_sets = 2 };
	struct fw_ruleset *rs = NULL, *again = NULL;
	char *text;
	char buf[1024];

	if (size == 0)
		return 0;
	o.family = (data[0] & 1) ? FW_IPV6 : FW_IPV4;
	o.syntax = (data[0] & 2) ? FW_SYNTAX_ONE_LINE : FW_SYNTAX_RESTORE;
	if (fw_parse((const char *)data + 1, size - 1, &o, &rs, &errs) != 0) {
		if (rs != NULL || errs.n == 0)
			abort();
		for (unsigned i = 0; i < errs.n && i < FW_ERR_MAX; i++) {
			if (errs.e[i].msg[0] == '\0' ||
			    memchr(errs.e[i].text, '\0', sizeof(errs.e[i].text)) == NULL)
				abort();
			/* What errors echo is safe to print, whatever came in. */
			if (has_controls(errs.e[i].msg) ||
			    has_controls(errs.e[i].text))
				abort();
			(void)fw_err_format(&errs.e[i], "fuzz", buf, sizeof(buf));
		}
		return 0;
	}
	if (rs == NULL || errs.n != 0)
		abort();
	/* The printed form is restore text whatever the input's form was. */
	text = fw_ruleset_print(rs, FW_PRINT_COUNTERS);
	if (text == NULL)
		abort();
	o.syntax = FW_SYNTAX_RESTORE;
	if (fw_parse(text, strlen(text), &o, &again, &errs2) != 0 ||
	    !fw_ruleset_equal(rs, again))
		abort();
	free(text);
	fuzz_restore_extras(rs, &o);
	fuzz_eval(rs);
	fw_ruleset_free(again);
	fw_ruleset_free(rs);
	return 0;
}
