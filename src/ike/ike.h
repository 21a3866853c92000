/*
 * src/ike/ike.h: the IKEv2 engine (RFC 7296): connections in, datagrams
 * and time in; datagrams, child SA installs and log lines out.  Pure as
 * ../shared/DESIGN.md asks: the engine opens no socket, reads no clock
 * and touches no data plane, and it is not thread-safe: one thread at a
 * time.  The caller (hexgated's IKE thread and, under its lock, the
 * control thread: src/daemon/config/ike.c; a unit test) feeds it what
 * arrived and the time, and gets its effects through the callbacks of
 * struct ike_env, called synchronously from ike_input(), ike_tick(),
 * ike_up(), ike_down() and ike_acquire().
 *
 * One struct ike holds every connection and every IKE SA.  An IKE SA
 * belongs to one connection; it carries the connection's child SAs (one
 * per configured child: the first with IKE_AUTH, the others each with a
 * CREATE_CHILD_SA), whose keys go to the data plane through
 * env->install.
 */
#ifndef IKE_IKE_H
#define IKE_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "../tun/esp.h"
#include "msg.h"
#include "proposal.h"

#define IKE_NAME_MAX		64
#define IKE_ID_MAX		256	/* bytes of an identity's data */
#define IKE_PSK_MAX		256
#define IKE_CONN_TS_MAX		16
#define IKE_CHILDREN_MAX	4	/* child SAs of one connection */
#define IKE_MSG_MAX		8192	/* largest message built or taken */
#define IKE_CERTS_DER_MAX	6144	/* our certificate and intermediates */
#define IKE_KEY_DER_MAX		4096	/* its private key (RSA-4096 fits) */
#define IKE_CACERTS_DER_MAX	8192	/* the CAs trusted for the peer's */

/* An address and UDP port. */
struct ike_addr {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;			/* host order */
};

/* An identity as the ID payload carries it (§3.5). */
struct ike_id {
	uint8_t type;			/* IKE_ID_*; 0: any (remote only) */
	uint16_t len;
	uint8_t data[IKE_ID_MAX];
};

/* A traffic selector as configured: a prefix, all protocols and ports. */
struct ike_prefix {
	uint8_t family;
	uint8_t addr[16];
	uint8_t plen;
};

enum ike_start_action { IKE_START_NONE, IKE_START_TRAP, IKE_START_START };
/* How a side authenticates (swanctl's auth): a pre-shared key, or a
 * signature with its certificate's key (pubkey). */
enum ike_authby { IKE_AUTHBY_PSK, IKE_AUTHBY_PUBKEY };
enum ike_dpd_action { IKE_DPD_NONE, IKE_DPD_CLEAR, IKE_DPD_RESTART };
/*
 * IKE fragmentation (RFC 7383), swanctl's fragmentation: yes (announce
 * it, and send fragments when the peer announced it too), accept
 * (announce, send whole messages), force (IKEv1's in strongSwan: here
 * as yes), no (do not announce).  Fragments that come are taken
 * whatever this says, as charon does.
 */
enum ike_frag_mode {
	IKE_FRAG_YES, IKE_FRAG_ACCEPT, IKE_FRAG_FORCE, IKE_FRAG_NO
};

/* A child SA as configured (swanctl's children.NAME). */
struct ike_child_cfg {
	char name[IKE_NAME_MAX];
	struct ike_props esp_proposals;
	uint8_t n_local_ts, n_remote_ts;
	struct ike_prefix local_ts[IKE_CONN_TS_MAX];
	struct ike_prefix remote_ts[IKE_CONN_TS_MAX];
	uint32_t rekey_time_s;		/* 0: never */
	uint32_t life_time_s;		/* its hard end; 0: none */
};

/* One connection, as the configuration gives it (swanctl's words). */
struct ike_conn_cfg {
	char name[IKE_NAME_MAX];
	uint16_t if_idx;		/* its tunnel interface */
	struct ike_addr local, remote;	/* ports: 500 unless given */
	bool encap;			/* ESP in UDP even without a NAT */
	struct ike_props proposals;	/* IKE */
	struct ike_id local_id, remote_id;
	uint8_t psk[IKE_PSK_MAX];
	uint16_t psk_len;
	/*
	 * Certificates, DER one after another (cert.h turns PEM into DER;
	 * the engine opens no file).  local_auth pubkey: certs (ours, the
	 * end entity first, then intermediates sent with it) and key (its
	 * private key, PKCS#8); remote_auth pubkey: cacerts, the CAs the
	 * peer's certificate must chain to.  Kept as bytes so that a
	 * reload can compare connections whole.
	 */
	enum ike_authby local_auth, remote_auth;
	uint16_t certs_len, key_len, cacerts_len;
	uint8_t certs[IKE_CERTS_DER_MAX];
	uint8_t key[IKE_KEY_DER_MAX];
	uint8_t cacerts[IKE_CACERTS_DER_MAX];
	/* The children, at least one.  Their order is the data plane's:
	 * child k of every IKE SA of the connection is its tunnel
	 * interface's SA slot k. */
	uint8_t n_children;
	struct ike_child_cfg children[IKE_CHILDREN_MAX];
	enum ike_start_action start_action;
	enum ike_dpd_action dpd_action;
	uint32_t dpd_delay_s;		/* 0: no liveness checks */
	uint32_t rekey_time_s;		/* IKE SA; 0: never */
	uint32_t reauth_time_s;		/* a new IKE SA, make before break;
					   0: never */
	enum ike_frag_mode fragmentation;	/* 0: yes */
};

/* A child SA for the data plane: both directions, with their keys. */
struct ike_child_sa {
	const char *conn;		/* the connection's name, and */
	const char *name;		/* the child's: for the call only */
	uint16_t if_idx;
	uint8_t child;			/* its index in the connection's
					   children: the interface's slot */
	uint32_t spi_in, spi_out;	/* host order */
	enum esp_alg alg;
	bool esn;
	const uint8_t *key_in, *key_out;	/* encryption key (+ salt) */
	size_t key_len;
	const uint8_t *auth_in, *auth_out;	/* CBC only */
	size_t auth_len;
	struct ike_addr local, remote;	/* outer ends, ports as IKE uses */
	bool udp_encap;			/* a NAT between, or forced */
	uint16_t keepalive_s;		/* NAT keepalives: we are behind
					   the NAT (RFC 3948 §2.3); 0 none */
	/* The selectors both sides agreed on. */
	uint8_t n_local_ts, n_remote_ts;
	struct ike_prefix local_ts[IKE_CONN_TS_MAX];
	struct ike_prefix remote_ts[IKE_CONN_TS_MAX];
};

#define IKE_INSTALL_NEW		0
#define IKE_INSTALL_REKEY	1
#define IKE_INSTALL_REKEY_IN	2

/* The engine's effects.  ctx is passed back to each. */
struct ike_env {
	void *ctx;
	/* A datagram to send from local to remote (a non-ESP marker is
	 * already in front when the ports are 4500). */
	void (*send)(void *ctx, const struct ike_addr *local,
	    const struct ike_addr *remote, const uint8_t *buf, size_t len);
	/*
	 * A child SA is up.  IKE_INSTALL_NEW: it is the connection's SA
	 * now (what was there goes).  A rekey is make-before-break:
	 * IKE_INSTALL_REKEY (we rekeyed): both new SAs at once, the
	 * inbound SA they replace still decrypting until retire_in();
	 * IKE_INSTALL_REKEY_IN (the peer rekeyed): the new inbound SA,
	 * the old one kept as above, and the new outbound SA made but
	 * held back until switch_out() (the peer deletes the old pair
	 * once it takes the new).  0, or the data plane could not take
	 * it: the engine deletes it.
	 */
	int (*install)(void *ctx, const struct ike_child_sa *sa, int how);
	/* The outbound SA held back by IKE_INSTALL_REKEY_IN goes live. */
	void (*switch_out)(void *ctx, uint16_t if_idx, uint8_t child,
	    const char *conn, uint32_t spi_out);
	/* The inbound SA a rekey replaced (spi_in) is deleted. */
	void (*retire_in)(void *ctx, uint16_t if_idx, uint8_t child,
	    const char *conn, uint32_t spi_in);
	/* The connection's child SA child (inbound SPI spi_in) is gone:
	 * its slot of the interface carries nothing until the next
	 * install. */
	void (*uninstall)(void *ctx, uint16_t if_idx, uint8_t child,
	    const char *conn, uint32_t spi_in);
	/* The peer's NAT gave it another address or port: the child SAs'
	 * outbound packets go there from now on (NULL: not followed). */
	void (*moved)(void *ctx, uint16_t if_idx,
	    const struct ike_addr *remote);
	/* A line for the log, charon's words ("[IKE] ..."); warn: a
	 * failure worth a warning. */
	void (*log)(void *ctx, bool warn, const char *line);
	/* The wall clock, seconds since the epoch: what a peer's
	 * certificate's validity is checked against.  NULL: no clock, and
	 * so no certificate is taken. */
	int64_t (*wall_s)(void *ctx);
	/* The largest IP datagram (IP and UDP headers included) a
	 * fragment may take, as charon's fragment_size; 0: 1280 (its
	 * default), at least 576. */
	uint16_t fragment_size;
};

/* Counters, ever. */
struct ike_stats {
	uint64_t rx, tx;			/* messages */
	uint64_t rx_invalid;			/* unparsable, wrong SPI, ... */
	uint64_t retransmits;
	uint64_t established, failed;		/* IKE SAs */
	uint64_t auth_failed;			/* AUTHENTICATION_FAILED,
						   either side */
	uint64_t no_proposal;			/* NO_PROPOSAL_CHOSEN */
	uint64_t half_open_refused;		/* over the half-open bound */
	uint64_t cookies_sent;			/* IKE_SA_INIT answered with a
						   COOKIE (§2.6) */
	uint64_t half_open;			/* now, not ever */
	uint64_t dpd_dead;			/* peers DPD gave up on */
	uint64_t child_installed, child_deleted;
	uint64_t child_rekeyed;			/* either side began it */
	uint64_t frags_sent, frags_received;	/* IKE fragments (RFC 7383),
						   verified ones in */
	uint64_t frags_reassembled;		/* messages put together */
};

struct ike;

int ike_create(struct ike **out, const struct ike_env *env) HG_MUST_CHECK;
/* Deletes every IKE SA (with an INFORMATIONAL delete to each peer that
 * has one up) and frees. */
void ike_destroy(struct ike *ike, uint64_t now_ms);

/*
 * The connections, whole (start and every reload).  A connection whose
 * configuration is unchanged keeps its SAs; a changed or removed one is
 * deleted (its peer told), and a new or changed one with start_action
 * start is initiated.  -ENOMEM or -EINVAL; nothing changed then.
 */
int ike_set_conns(struct ike *ike, const struct ike_conn_cfg *conns,
    unsigned n, uint64_t now_ms) HG_MUST_CHECK;

/*
 * A datagram to one of our IKE ports: local is where it came to, remote
 * where from (buf: the UDP payload, a non-ESP marker included on 4500).
 * buf is the caller's and may be changed (decrypted in place).
 */
void ike_input(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, uint8_t *buf, size_t len,
    uint64_t now_ms);

/* Timers: retransmissions, give-ups, starts, DPD, rekeys.  Call it at
 * least every ike_next_ms(). */
void ike_tick(struct ike *ike, uint64_t now_ms);
/* Milliseconds from now_ms to the next timer (at most 1000). */
uint64_t ike_next_ms(const struct ike *ike, uint64_t now_ms);

/* hexctl ipsec up|down NAME: -ENOENT for no such connection. */
int ike_up(struct ike *ike, const char *name, uint64_t now_ms) HG_MUST_CHECK;
int ike_down(struct ike *ike, const char *name, uint64_t now_ms)
    HG_MUST_CHECK;

/*
 * The data plane's acquire: a packet was routed into tunnel interface
 * if_idx while it had no SA (and was dropped).  The connection there
 * whose child has start_action trap is initiated, unless it has an IKE
 * SA already (up or being made) or was started less than IKE_RETRY_MS
 * ago; a trap stays armed, so once its SA goes the next packet brings it
 * up again.  True when it initiated.
 */
bool ike_acquire(struct ike *ike, uint16_t if_idx, uint64_t now_ms);

void ike_get_stats(const struct ike *ike, struct ike_stats *out);
/*
 * The IKE SAs as JSON text (an array of objects: connection, state,
 * role, local and remote address and port, identities, SPIs, algorithms,
 * NAT, established for, time to rekey, and the child SA with its SPIs,
 * algorithm and selectors; never a key).  What snprintf() returns.
 */
int ike_format_json(const struct ike *ike, uint64_t now_ms, char *buf,
    size_t len);
/* The connections waiting for traffic (start_action trap, no IKE SA) as
 * a JSON array of their names.  What snprintf() returns. */
int ike_format_traps_json(const struct ike *ike, char *buf, size_t len);

/* Parses an identity as swanctl writes it ("192.0.2.1", "2001:db8::1",
 * "gw.example.com", "@gw", "user@example.com", "CN=gw, O=Example": a
 * DN, ID_DER_ASN1_DN) into out.  0 or -EINVAL. */
int ike_id_parse(const char *text, struct ike_id *out);
/* And back, for logs: what snprintf() returns. */
int ike_id_format(const struct ike_id *id, char *buf, size_t len);

#endif /* IKE_IKE_H */
