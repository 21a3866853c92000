/*
 * tests/unit/daemon/test_overlay.c: the overlay's clientpacks
 * (src/daemon/ops/overlay.c) through the operation table, against a
 * real store and a real configuration apply: hexgated's start without
 * its ports' traffic (null ports, the data plane made but its workers
 * not started) and without its event loop.
 *
 * What a user checks: add gives the first free address and a wg-quick
 * file whose private key is the stored public key's; addresses differ
 * and come back when revoked; a name used twice, a full pool, no
 * endpoint are refused with the version unchanged; disable and enable
 * flip enabled in the configuration; rekey changes the key, not the
 * address; no version, diff, audit row or show holds the private key,
 * and config.show and config.diff star the preshared key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "daemon/daemon.h"
#include "daemon/config/apply.h"
#include "daemon/config/tunnels.h"
#include "daemon/config/versions.h"
#include "daemon/firewall/firewall.h"
#include "daemon/config/overlay.h"
#include "daemon/ops/ops.h"
#include "lib/text.h"

#define OVERLAY_DEFAULT \
	"{\"addresses\": [\"10.99.0.1/24\", \"fd99::1/64\"], " \
	"\"endpoint\": \"vpn.example.com:51820\", \"dns\": [\"10.99.0.1\"], " \
	"\"client_networks\": [\"10.1.0.0/24\"]}"

struct fx {
	char dir[64];
	char path[128];
	struct hg_daemon d;
};

/* hexgated's start as main.c's run() does it, up to the event loop. */
static void
fx_up(struct fx *f, const char *overlay, bool store)
{
	uint8_t macs[IP_IF_MAX][ETH_ALEN];
	struct dp_params params;
	struct dp_tunnels *dpt;
	struct hg_cfg_errs errs;
	struct ip_tables *t;
	char err[512];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/hg-test-overlay.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hexgated.json", f->dir);
	assert_non_null(fp = fopen(f->path, "w"));
	fprintf(fp, "{\"api\": false, \"workers\": 1, \"control_socket\": "
	    "\"%s/sock\",%s \"interfaces\": [{\"name\": \"lan\", \"port\": "
	    "\"null\", \"addresses\": [\"10.1.0.1/24\"]}]%s%s}", f->dir,
	    store ? " \"store\": \"config.db\"," : "",
	    overlay != NULL ? ", \"overlay\": " : "",
	    overlay != NULL ? overlay : "");
	fclose(fp);
	f->d.config_path = f->path;
	memset(&errs, 0, sizeof(errs));
	f->d.cfg = hg_config_load(f->path, &errs);
	if (f->d.cfg == NULL)
		fail_msg("config: %s: %s", errs.e[0].where, errs.e[0].msg);
	if (hg_versions_boot(&f->d, hg_config_check_doc, err,
	    sizeof(err)) != 0)
		fail_msg("store: %s", err);
	f->d.n_workers = 1;
	f->d.version = 1;
	memset(macs, 0, sizeof(macs));
	for (uint16_t i = 0; i < f->d.cfg->n_ifs; i++) {
		assert_int_equal(io_port_open(&f->d.ports[i],
		    f->d.cfg->ifs[i].port, 1, err, sizeof(err)), 0);
		hg_mac_from_name(f->d.cfg->ifs[i].name, macs[i]);
	}
	t = hg_build_tables(f->d.cfg, (const uint8_t (*)[ETH_ALEN])macs,
	    f->d.ports, err, sizeof(err));
	if (t == NULL)
		fail_msg("tables: %s", err);
	assert_int_equal(ip_neigh_table_create(&f->d.nt, 1024), 0);
	assert_non_null(f->d.tunnels = calloc(1, sizeof(*f->d.tunnels)));
	assert_non_null(dpt = malloc(sizeof(*dpt)));
	if (hg_tunnels_open(&f->d, f->d.cfg, f->d.tunnels, err,
	    sizeof(err)) != 0)
		fail_msg("tunnels: %s", err);
	memset(&params, 0, sizeof(params));
	params.n_workers = 1;
	params.n_if = f->d.cfg->n_ifs;
	params.pool_bufs = 1024;
	params.ct_entries = 1024;
	memcpy(params.ports, f->d.ports, sizeof(params.ports));
	assert_int_equal(dp_create(&f->d.dp, &params, t, f->d.nt), 0);
	*dpt = f->d.tunnels->dp;
	dp_tunnels_swap(f->d.dp, dpt);
	if (hg_fw_start(&f->d, err, sizeof(err)) != 0 ||
	    hg_versions_started(&f->d, err, sizeof(err)) != 0)
		fail_msg("start: %s", err);
}

static void
fx_down(struct fx *f)
{
	char cmd[128];

	hg_overlay_stop(&f->d);		/* a reload started it */
	dp_destroy(f->d.dp);
	hg_tunnels_close(f->d.tunnels);
	free(f->d.tunnels);
	hg_fw_stop(&f->d);
	for (uint16_t i = 0; i < IP_IF_MAX; i++)
		if (f->d.ports[i] != NULL)
			io_port_close(f->d.ports[i]);
	ip_neigh_table_destroy(f->d.nt);
	hg_versions_stop(&f->d);
	hg_config_free(f->d.cfg);
	free(f->d.cfg_text);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

/* Runs op with args (JSON text) as a transport does; the status. */
static int
run(struct fx *f, struct hg_op_req *r, const char *op, const char *args)
{
	const struct hg_op *o = hg_op_find(hg_ops, hg_n_ops, op);
	json_error_t jerr;
	json_t *a = json_loads(args, 0, &jerr);

	assert_non_null(o);
	if (a == NULL)
		fail_msg("%s: %s", args, jerr.text);
	hg_op_req_init(r, o);
	assert_int_equal(hg_op_decode_json(r, a, -1), 0);
	assert_int_equal(hg_op_decode_finish(r), 0);
	json_decref(a);
	r->author = "test";
	r->source = "unit";
	return hg_op_run(&f->d, r);
}

/* run() for a reply kept as JSON (r done). */
static json_t *
run_ok(struct fx *f, const char *op, const char *args, int status)
{
	struct hg_op_req r;
	json_t *o;

	if (run(f, &r, op, args) != status)
		fail_msg("%s %s: %d %s", op, args, r.status, r.message);
	o = hg_op_answer(&r);
	hg_op_req_done(&r);
	return o;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("no string \"%s\"", key);
	return s;
}

/* The value of "KEY = " in the file's text, into out; false if absent. */
static bool
file_value(const char *text, const char *key, char *out, size_t len)
{
	char want[64];
	const char *at, *end;

	snprintf(want, sizeof(want), "\n%s = ", key);
	if ((at = strstr(text, want)) == NULL)
		return false;
	at += strlen(want);
	end = strchr(at, '\n');
	snprintf(out, len, "%.*s", (int)(end != NULL ? end - at :
	    (long)strlen(at)), at);
	return true;
}

/* The X25519 public key (base64) of a base64 private key. */
static void
pub_of(const char *priv64, char *out, size_t len)
{
	uint8_t priv[32], pub[32];
	size_t n = sizeof(pub);
	EVP_PKEY *pk;
	char *s;

	assert_int_equal(hg_base64_decode_exact(priv64, priv, 32), 0);
	assert_non_null(pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,
	    NULL, priv, 32));
	assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &n), 1);
	EVP_PKEY_free(pk);
	assert_non_null(s = hg_base64_encode(pub, 32));
	snprintf(out, len, "%s", s);
	free(s);
}

/* The running version's overlay client named name, as stored. */
static json_t *
stored_client(struct fx *f, const char *name)
{
	char err[256];
	json_t *o = hg_versions_doc_json(&f->d, 0, err, sizeof(err)), *c, *r;
	size_t i;

	assert_non_null(o);
	r = NULL;
	json_array_foreach(json_object_get(json_object_get(json_object_get(o,
	    "config"), "overlay"), "clients"), i, c)
		if (strcmp(str(c, "name"), name) == 0)
			r = json_incref(c);
	json_decref(o);
	return r;
}

static void
test_add(void **state)
{
	struct fx f;
	uint8_t spriv[32], spub[32];
	char err[256], priv[64], pub[64], v[128], *spub64;
	uint64_t v0;
	json_t *o, *c;
	const char *text;

	(void)state;
	fx_up(&f, OVERLAY_DEFAULT, true);
	v0 = f.d.store_version;
	o = run_ok(&f, "overlay.clientpack.add", "{\"name\": \"laptop\"}", 201);
	assert_int_equal(f.d.store_version, v0 + 1);
	assert_int_equal(json_integer_value(json_object_get(o, "version")),
	    v0 + 1);
	text = str(o, "config");
	/* The first free addresses: .1 and ::1 are the appliance's. */
	assert_true(file_value(text, "Address", v, sizeof(v)));
	assert_string_equal(v, "10.99.0.2/32, fd99::2/128");
	assert_true(file_value(text, "DNS", v, sizeof(v)));
	assert_string_equal(v, "10.99.0.1");
	assert_true(file_value(text, "Endpoint", v, sizeof(v)));
	assert_string_equal(v, "vpn.example.com:51820");
	assert_true(file_value(text, "AllowedIPs", v, sizeof(v)));
	assert_string_equal(v, "10.99.0.0/24, fd99::/64, 10.1.0.0/24");
	assert_true(file_value(text, "PersistentKeepalive", v, sizeof(v)));
	assert_string_equal(v, "25");
	assert_false(file_value(text, "PresharedKey", v, sizeof(v)));
	/* The appliance's key: made at first use in the config's folder. */
	assert_int_equal(hg_overlay_key_load(&f.d, f.d.cfg, spriv, spub, err,
	    sizeof(err)), 0);
	assert_non_null(spub64 = hg_base64_encode(spub, 32));
	assert_true(file_value(text, "PublicKey", v, sizeof(v)));
	assert_string_equal(v, spub64);
	free(spub64);
	/* The file's private key is the stored public key's. */
	assert_true(file_value(text, "PrivateKey", priv, sizeof(priv)));
	pub_of(priv, pub, sizeof(pub));
	assert_non_null(c = stored_client(&f, "laptop"));
	assert_string_equal(str(c, "public_key"), pub);
	assert_string_equal(str(o, "public_key"), pub);
	assert_null(json_object_get(c, "preshared_key"));
	json_decref(c);
	json_decref(o);
	fx_down(&f);
}

/* The key file made at first use is wg genkey's: 0600, one base64 line. */
static void
test_key_file(void **state)
{
	struct fx f;
	uint8_t a[32], b[32], pa[32], pb[32];
	char err[256], path[256];
	struct stat st;

	(void)state;
	fx_up(&f, OVERLAY_DEFAULT, true);
	snprintf(path, sizeof(path), "%s/overlay.key", f.dir);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(hg_overlay_key_load(&f.d, f.d.cfg, a, pa, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 45);
	/* Read again, not made again. */
	assert_int_equal(hg_overlay_key_load(&f.d, f.d.cfg, b, pb, err,
	    sizeof(err)), 0);
	assert_memory_equal(a, b, 32);
	assert_memory_equal(pa, pb, 32);
	/* Others may read it: refused, naming the file. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(hg_overlay_key_load(&f.d, f.d.cfg, b, pb, err,
	    sizeof(err)), -EPERM);
	assert_non_null(strstr(err, path));
	fx_down(&f);
}

static void
test_pool(void **state)
{
	struct fx f;
	json_t *o;

	(void)state;
	fx_up(&f, OVERLAY_DEFAULT, true);
	json_decref(run_ok(&f, "overlay.clientpack.add", "{\"name\": \"a\"}",
	    201));
	o = run_ok(&f, "overlay.clientpack.add", "{\"name\": \"b\"}", 201);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(o, "addresses"), 0)), "10.99.0.3/32");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(o, "addresses"), 1)), "fd99::3/128");
	json_decref(o);
	/* a's address returns to the pool when a is revoked. */
	o = run_ok(&f, "overlay.clientpack.revoke", "{\"name\": \"a\"}", 200);
	json_decref(o);
	assert_null(stored_client(&f, "a"));
	o = run_ok(&f, "overlay.clientpack.add", "{\"name\": \"c\"}", 201);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(o, "addresses"), 0)), "10.99.0.2/32");
	json_decref(o);
	o = run_ok(&f, "overlay.clientpack.list", "{}", 200);
	assert_int_equal(json_array_size(json_object_get(o, "clients")), 2);
	json_decref(o);
	fx_down(&f);
}

/* Refusals change nothing: the version stays. */
static void
test_refused(void **state)
{
	struct hg_op_req r;
	struct fx f;
	uint64_t v;

	(void)state;
	/* A /30 has two hosts: the appliance's and one client's. */
	fx_up(&f, "{\"addresses\": [\"10.99.0.1/30\"], \"endpoint\": "
	    "\"192.0.2.1:51820\"}", true);
	json_decref(run_ok(&f, "overlay.clientpack.add", "{\"name\": \"a\"}",
	    201));
	v = f.d.store_version;
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"a\"}"), 409);
	assert_string_equal(r.field, "/name");
	assert_non_null(strstr(r.message, "already"));
	hg_op_req_done(&r);
	assert_int_equal(f.d.store_version, v);
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"b\"}"), 409);
	assert_string_equal(r.code, "pool_full");
	assert_non_null(strstr(r.message, "/overlay/addresses"));
	assert_non_null(strstr(r.message, "10.99.0.0/30"));
	hg_op_req_done(&r);
	assert_int_equal(f.d.store_version, v);
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"b c\"}"), 400);
	assert_string_equal(r.field, "/name");
	hg_op_req_done(&r);
	assert_int_equal(run(&f, &r, "overlay.clientpack.revoke",
	    "{\"name\": \"nobody\"}"), 404);
	hg_op_req_done(&r);
	assert_int_equal(f.d.store_version, v);
	fx_down(&f);

	/* No endpoint: nothing for the file to name. */
	fx_up(&f, "{\"addresses\": [\"10.99.0.1/24\"]}", true);
	v = f.d.store_version;
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"a\"}"), 409);
	assert_non_null(strstr(r.message, "/overlay/endpoint"));
	hg_op_req_done(&r);
	assert_int_equal(f.d.store_version, v);
	fx_down(&f);

	/* No overlay section. */
	fx_up(&f, NULL, true);
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"a\"}"), 409);
	assert_non_null(strstr(r.message, "/overlay"));
	hg_op_req_done(&r);
	fx_down(&f);

	/* No store: the store operations' own 404 for a change; list, a
	 * read, answers the configuration's clients (none here). */
	fx_up(&f, OVERLAY_DEFAULT, false);
	assert_int_equal(run(&f, &r, "overlay.clientpack.add",
	    "{\"name\": \"a\"}"), 404);
	assert_non_null(strstr(r.message, "no configuration store"));
	hg_op_req_done(&r);
	assert_int_equal(run(&f, &r, "overlay.clientpack.list", "{}"), 200);
	assert_int_equal(json_array_size(json_object_get(r.reply,
	    "clients")), 0);
	hg_op_req_done(&r);
	fx_down(&f);
}

static void
test_disable_enable(void **state)
{
	struct fx f;
	uint64_t v;
	json_t *c, *o;

	(void)state;
	fx_up(&f, OVERLAY_DEFAULT, true);
	json_decref(run_ok(&f, "overlay.clientpack.add", "{\"name\": \"a\"}",
	    201));
	v = f.d.store_version;
	json_decref(run_ok(&f, "overlay.clientpack.disable",
	    "{\"name\": \"a\"}", 200));
	assert_int_equal(f.d.store_version, v + 1);
	assert_non_null(c = stored_client(&f, "a"));
	assert_true(json_is_false(json_object_get(c, "enabled")));
	json_decref(c);
	assert_false(f.d.cfg->overlay.peers[0].enabled);
	o = run_ok(&f, "overlay.clientpack.list", "{}", 200);
	assert_true(json_is_false(json_object_get(json_array_get(
	    json_object_get(o, "clients"), 0), "enabled")));
	json_decref(o);
	json_decref(run_ok(&f, "overlay.clientpack.enable",
	    "{\"name\": \"a\"}", 200));
	assert_int_equal(f.d.store_version, v + 2);
	assert_non_null(c = stored_client(&f, "a"));
	assert_true(json_is_true(json_object_get(c, "enabled")));
	json_decref(c);
	assert_true(f.d.cfg->overlay.peers[0].enabled);
	fx_down(&f);
}

/* Every stored version, diff and audit row, as text, into one buffer. */
struct all_text {
	char *buf;
	size_t len;
	FILE *f;
};

static int
audit_one(void *arg, const struct hg_store_audit_row *row)
{
	struct all_text *t = arg;

	fprintf(t->f, "%s %s %s\n", row->action, row->detail, row->source);
	return 0;
}

static char *
store_text(struct fx *f)
{
	struct all_text t = { 0 };

	assert_non_null(t.f = open_memstream(&t.buf, &t.len));
	for (uint64_t v = 1; v <= f->d.store_version; v++) {
		struct hg_store_doc doc;
		char *diff = NULL;

		assert_int_equal(hg_store_get(f->d.store, v, &doc), 0);
		fprintf(t.f, "%s\n%s\n%s\n%s\n", doc.config, doc.rules ?
		    doc.rules : "", doc.rules6 ? doc.rules6 : "", doc.sets ?
		    doc.sets : "");
		hg_store_doc_free(&doc);
		if (v > 1 && hg_store_diff(f->d.store, v - 1, v, &diff) == 0)
			fputs(diff, t.f);
		free(diff);
	}
	assert_int_equal(hg_store_audit_list(f->d.store, 1000, audit_one, &t),
	    0);
	fclose(t.f);
	return t.buf;
}

static void
test_rekey_and_secrets(void **state)
{
	char priv1[64], priv2[64], psk1[64], psk2[64], pub[64];
	char *all, *show;
	struct fx f;
	json_t *o, *c;

	(void)state;
	fx_up(&f, OVERLAY_DEFAULT, true);
	o = run_ok(&f, "overlay.clientpack.add",
	    "{\"name\": \"a\", \"psk\": true}", 201);
	assert_true(json_is_true(json_object_get(o, "psk")));
	assert_true(file_value(str(o, "config"), "PrivateKey", priv1,
	    sizeof(priv1)));
	assert_true(file_value(str(o, "config"), "PresharedKey", psk1,
	    sizeof(psk1)));
	json_decref(o);
	/* The server keeps the PSK (it is symmetric). */
	assert_non_null(c = stored_client(&f, "a"));
	assert_string_equal(str(c, "preshared_key"), psk1);
	json_decref(c);

	o = run_ok(&f, "overlay.clientpack.rekey", "{\"name\": \"a\"}", 200);
	assert_true(file_value(str(o, "config"), "PrivateKey", priv2,
	    sizeof(priv2)));
	assert_true(file_value(str(o, "config"), "PresharedKey", psk2,
	    sizeof(psk2)));
	assert_string_not_equal(priv1, priv2);
	assert_string_not_equal(psk1, psk2);
	pub_of(priv2, pub, sizeof(pub));
	assert_string_equal(str(o, "public_key"), pub);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(o, "addresses"), 0)), "10.99.0.2/32");
	json_decref(o);
	assert_non_null(c = stored_client(&f, "a"));
	assert_string_equal(str(c, "public_key"), pub);
	assert_string_equal(str(c, "preshared_key"), psk2);
	json_decref(c);

	/* Show: the file without the keys, as comments. */
	o = run_ok(&f, "overlay.clientpack.show", "{\"name\": \"a\"}", 200);
	show = json_dumps(o, 0);
	assert_null(strstr(show, priv2));
	assert_null(strstr(show, psk2));
	assert_non_null(strstr(show, "# PrivateKey = (shown once at "
	    "creation)"));
	free(show);
	json_decref(o);

	/* The private keys: nowhere in what the server keeps. */
	all = store_text(&f);
	assert_null(strstr(all, priv1));
	assert_null(strstr(all, priv2));
	free(all);

	/* config.show and config.diff star the PSK. */
	o = run_ok(&f, "config.show", "{}", 200);
	show = json_dumps(o, 0);
	assert_null(strstr(show, psk2));
	assert_non_null(strstr(show, "\"preshared_key\": \"********\""));
	free(show);
	json_decref(o);
	o = run_ok(&f, "config.diff", "{}", 200);
	show = json_dumps(o, 0);
	assert_non_null(strstr(show, "preshared_key"));
	assert_null(strstr(show, psk1));
	assert_null(strstr(show, psk2));
	free(show);
	json_decref(o);
	fx_down(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_disable_enable),
		cmocka_unit_test(test_rekey_and_secrets),
	};

	hg_log_init("test_overlay", HG_LOG_WARN, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
