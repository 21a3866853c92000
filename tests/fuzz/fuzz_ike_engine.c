/*
 * tests/fuzz/fuzz_ike_engine.c: libFuzzer target for the IKEv2 engine as
 * a responder (src/ike/ike.c, exchange.c): everything an unauthenticated
 * peer can send before and after IKE_SA_INIT.
 *
 * The input is a sequence of datagrams, each a 2-byte length, a byte
 * whose low bit picks the port (500, or 4500 with what follows as is)
 * and whose next bits move the clock on, and the bytes.  One responder
 * takes them all in order, so a valid IKE_SA_INIT (the corpus holds
 * strongSwan's) makes a half-open SA the later datagrams then hit (its
 * SPI and a responder's SPI of 0 find it: sa-init-then-fragments has
 * IKE fragments, which get as far as their ICV); its answers, installs
 * and logs go nowhere.  Each datagram is copied to an
 * exact-size heap buffer so ASan sees any read past it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/ike.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sent;

static void
on_send(void *ctx, const struct ike_addr *l, const struct ike_addr *r,
    const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)l;
	(void)r;
	(void)buf;
	sent += len;
}

static int
on_install(void *ctx, const struct ike_child_sa *sa, int how)
{
	(void)ctx;
	(void)sa;
	(void)how;
	return 0;
}

/* switch_out, retire_in and uninstall: nothing to do here. */
static void
on_child_sa(void *ctx, uint16_t if_idx, uint8_t child, const char *conn,
    uint32_t spi)
{
	(void)ctx;
	(void)if_idx;
	(void)child;
	(void)conn;
	(void)spi;
}

/* FUZZ_IKE_LOG=1: the engine's lines on stderr, to see what a seed
 * reaches. */
static void
on_log(void *ctx, bool warn, const char *line)
{
	static int show = -1;

	(void)ctx;
	(void)warn;
	if (show < 0)
		show = getenv("FUZZ_IKE_LOG") != NULL;
	if (show)
		fprintf(stderr, "%s\n", line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_env env = {
		.send = on_send, .install = on_install,
		.uninstall = on_child_sa, .switch_out = on_child_sa,
		.retire_in = on_child_sa, .log = on_log,
	};
	static struct ike_conn_cfg c;
	struct ike_addr local, remote;
	char err[128];
	uint64_t now = 1000;
	struct ike *ike;

	if (ike_create(&ike, &env) != 0)
		return 0;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "fuzz");
	c.n_children = 1;
	snprintf(c.children[0].name, sizeof(c.children[0].name), "net");
	c.local.family = c.remote.family = AF_INET;
	c.remote.family = 0;		/* any peer */
	inet_pton(AF_INET, "192.0.2.1", c.local.addr);
	c.local.port = 500;
	ike_props_default(IKE_PROTO_IKE, &c.proposals);
	(void)ike_props_add(&c.proposals, "aes256gcm16-prfsha256-x25519",
	    IKE_PROTO_IKE, err, sizeof(err));
	ike_props_default(IKE_PROTO_ESP, &c.children[0].esp_proposals);
	memcpy(c.psk, "fuzz", 4);
	c.psk_len = 4;
	c.children[0].n_local_ts = c.children[0].n_remote_ts = 1;
	c.children[0].local_ts[0].family = AF_INET;
	c.children[0].remote_ts[0].family = AF_INET;
	if (ike_set_conns(ike, &c, 1, now) != 0) {
		ike_destroy(ike, now);
		return 0;
	}
	memset(&local, 0, sizeof(local));
	memset(&remote, 0, sizeof(remote));
	local.family = remote.family = AF_INET;
	memcpy(local.addr, c.local.addr, 4);
	inet_pton(AF_INET, "198.51.100.7", remote.addr);
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		uint8_t ctl = data[2];
		uint8_t *buf;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		local.port = ctl & 1 ? 4500 : 500;
		remote.port = local.port;
		now += (uint64_t)(ctl >> 1) * 500;
		if ((buf = malloc(len ? len : 1)) == NULL)
			break;
		memcpy(buf, data, len);
		ike_input(ike, &local, &remote, buf, len, now);
		free(buf);
		ike_tick(ike, now);
		data += len;
		size -= len;
	}
	ike_destroy(ike, now + 60000);
	return 0;
}
