/*
 * src/ike/ike_priv.h: the engine's insides, shared by ike.c (the SA
 * table, dispatch, timers, the API) and exchange.c (what each exchange
 * sends and takes).
 */
#ifndef IKE_PRIV_H
#define IKE_PRIV_H

#include "crypto.h"
#include "ike.h"

#define IKE_HALF_OPEN_MAX	256	/* responder SAs not yet authenticated */
#define IKE_HALF_OPEN_PER_PEER	8
#define IKE_INIT_PER_PEER	4	/* ours unanswered to one peer: under
					   strongSwan's half-open limit (5) */
#define IKE_HALF_OPEN_MS	30000	/* an IKE_AUTH must come by then */
#define IKE_COOKIE_THRESHOLD	30	/* half-open SAs: then COOKIEs
					   (§2.6; strongSwan's default) */
#define IKE_COOKIE_LEN		17	/* secret's version, 16 of HMAC */
#define IKE_COOKIE_ROTATE_MS	120000	/* a new secret; the last one
					   still takes what it made */
#define IKE_RETRANSMIT_MS	1000	/* the first wait for an answer */
#define IKE_RETRANSMIT_TRIES	5	/* then 2, 4, 8, 16 s: 31 s in all */
#define IKE_RETRY_MS		5000	/* start_action start: the next try */
#define IKE_NONCE_LEN		32
#define IKE_NAT_KEEPALIVE_S	20	/* charon's keep_alive default */

enum ike_state {
	IKE_S_INIT_SENT,	/* initiator: IKE_SA_INIT out */
	IKE_S_INIT_DONE,	/* responder: IKE_SA_INIT answered */
	IKE_S_AUTH_SENT,	/* initiator: IKE_AUTH out */
	IKE_S_ESTABLISHED,
	IKE_S_DELETING,		/* our delete is out */
	IKE_S_DEAD,		/* to be freed at the next tick */
};

/* A request of ours waiting for its answer. */
enum ike_req_kind {
	IKE_REQ_NONE,
	IKE_REQ_INIT,
	IKE_REQ_AUTH,
	IKE_REQ_DPD,
	IKE_REQ_DELETE,
	IKE_REQ_REKEY_CHILD,		/* CREATE_CHILD_SA with REKEY_SA */
	IKE_REQ_REKEY_IKE,		/* CREATE_CHILD_SA of an IKE SA */
	IKE_REQ_DELETE_CHILD,		/* the rekeyed child's old pair */
	IKE_REQ_NEW_CHILD,		/* CREATE_CHILD_SA of another child */
	IKE_REQ_CLOSE_CHILD,		/* a child's delete (its life_time) */
};

/* One child SA of an IKE SA: slot k of the SA is the connection's child
 * k (cfg.children[k]) and its tunnel interface's SA slot k. */
struct ike_child {
	bool up;
	bool asked;			/* we asked for it on this IKE SA
					   (CREATE_CHILD_SA): not again
					   unless we closed it ourselves */
	struct ike_chosen alg;
	uint32_t spi_in, spi_out;
	struct ike_child_sa sa;		/* as installed, keys cleared */

	/* A rekey (§1.3.3, §2.8) or a creation under way: our nonce, DH
	 * and new inbound SPI; a rekey's old pair's SPIs until the old SA
	 * is deleted. */
	uint8_t rk_ni[IKE_NONCE_LEN];
	struct ike_dh *rk_dh;
	uint32_t rk_spi_in;
	uint32_t old_spi_in, old_spi_out;	/* 0: no old pair */
	bool out_held;			/* responder: the new outbound SA
					   waits for the peer's delete */
	uint64_t rekey_due_ms, expires_ms;
};

struct ike_creds;

struct ike_conn {
	struct ike_conn_cfg cfg;
	struct ike_creds *creds;	/* cfg's certificates, parsed; NULL
					   when neither side uses them */
	uint64_t retry_at_ms;		/* start: when to try again; 0: now */
	bool wanted;			/* start, trap or ike_up(): keep up */
};

struct ike_sa {
	struct ike_sa *next;
	int conn;			/* index into ike->conns; -1: none yet
					   (a responder before IKE_AUTH) */
	unsigned serial;		/* charon's [N] */
	enum ike_state state;
	bool initiator;			/* we began it */
	uint64_t spi_i, spi_r;
	struct ike_addr local, remote;
	bool natt;			/* on port 4500, with the marker */
	bool nat_local, nat_remote;	/* a NAT before us / before the peer */
	bool frag;			/* both announced IKE fragmentation */
	struct ike_chosen alg;
	struct ike_keys keys;
	bool keyed;
	struct ike_dh *dh;
	uint16_t dh_group;		/* what our KE carries */
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	uint16_t ni_len, nr_len;
	uint8_t *init_i, *init_r;	/* the IKE_SA_INIT messages, for AUTH */
	size_t init_i_len, init_r_len;
	uint8_t cookie[64];		/* the responder's COOKIE, echoed */
	uint8_t cookie_len;
	struct ike_id peer_id;

	/* Our requests: one at a time (window of one). */
	uint32_t next_req_id;
	enum ike_req_kind req_kind;
	uint8_t *req;			/* as sent, marker included: a
					   train (frag.h) of its datagrams */
	size_t req_len;
	unsigned tries;
	uint64_t retry_at_ms;

	/* The peer's requests. */
	uint32_t peer_next_id;		/* the ID its next request takes */
	uint8_t *resp;			/* our answer to its last, as sent
					   (a train too) */
	size_t resp_len;
	/* Its request and its answer to ours being put together from
	 * fragments (RFC 7383), each NULL but meanwhile: frag.c's. */
	struct ike_frag_rx *frag_rx[2];

	/* The children; req_child: the one our request is about. */
	struct ike_child ch[IKE_CHILDREN_MAX];
	uint8_t req_child;
	bool children_ours;		/* we began the first IKE SA of this
					   line (rekeys keep it): we ask for
					   the children IKE_AUTH did not
					   carry */

	/* A rekey of the IKE SA itself (§1.3.2, §2.18): our new SPI,
	 * nonce and DH until the answer; rekeyed: a new IKE SA has taken
	 * the child, this one only waits for its delete. */
	uint64_t ike_rk_spi;
	uint8_t ike_rk_ni[IKE_NONCE_LEN];
	struct ike_dh *ike_rk_dh;
	bool rekeyed;
	uint64_t ike_rekey_due_ms;

	/* Reauthentication (§2.8.3): a new IKE SA from scratch takes this
	 * one's place, which is deleted once the new child is in. */
	uint64_t reauth_due_ms;
	unsigned replaces;		/* the new one: the serial of the SA
					   it reauthenticates; 0: none */

	uint64_t created_ms, established_ms, last_rx_ms;
};

struct ike {
	struct ike_env env;
	struct ike_conn *conns;
	unsigned n_conns;
	struct ike_sa *sas;
	unsigned n_half_open;
	unsigned serial;
	struct ike_stats st;
	/* COOKIEs (§2.6): two secrets, the current by cookie_ver's low bit;
	 * made at first use, rotated every IKE_COOKIE_ROTATE_MS. */
	uint8_t cookie_secret[2][32];
	uint8_t cookie_ver;
	bool cookie_keyed;
	uint64_t cookie_rotated_ms;
	uint64_t noconn_logged_ms;	/* "no connection": once a second */
	/* Scratch: one message in, one out, one plain payload chain, one
	 * put together from fragments. */
	struct ike_msg m, inner;
	uint8_t out[IKE_MSG_MAX], plain[IKE_MSG_MAX], whole[IKE_MSG_MAX];
};

/* ike.c */
void ike_logf(struct ike *ike, bool warn, const char *fmt, ...)
    HG_PRINTF(3, 4);
struct ike_sa *ike_sa_new(struct ike *ike, int conn, bool initiator,
    const struct ike_addr *local, const struct ike_addr *remote,
    uint64_t now_ms);
void ike_sa_kill(struct ike *ike, struct ike_sa *sa, const char *why);
/* Sends a request of sa (kept for retransmission) or an answer (kept for
 * the peer's retransmission), a marker put in front on 4500. */
void ike_send_req(struct ike *ike, struct ike_sa *sa, enum ike_req_kind kind,
    const uint8_t *msg, size_t len, uint64_t now_ms);
void ike_send_resp(struct ike *ike, struct ike_sa *sa, const uint8_t *msg,
    size_t len);
/* The same for a train (frag.h) of datagrams, malloc'd: sa keeps it. */
void ike_send_train(struct ike *ike, struct ike_sa *sa, bool response,
    enum ike_req_kind kind, uint8_t *train, size_t len, uint64_t now_ms);
/* A message outside any SA (an error to an IKE_SA_INIT). */
void ike_send_raw(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, const uint8_t *msg, size_t len);
const char *ike_sa_conn_name(const struct ike *ike, const struct ike_sa *sa);

/* exchange.c */
/* A new IKE SA for conn; replaces: the serial of the SA it
 * reauthenticates, 0 for none. */
int ike_initiate(struct ike *ike, int conn, unsigned replaces,
    uint64_t now_ms);
void ike_rx_init_req(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, const uint8_t *buf, size_t len,
    uint64_t now_ms);
void ike_rx_init_resp(struct ike *ike, struct ike_sa *sa, const uint8_t *buf,
    size_t len, uint64_t now_ms);
/* A protected message (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) of sa,
 * its message ID already checked, decrypted into ike->inner. */
void ike_rx_protected(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);
/* Encrypts the payload chain plain[0..len) (first payload first) as a
 * request or an answer of sa and sends it. */
int ike_send_protected(struct ike *ike, struct ike_sa *sa, uint8_t exchange,
    bool response, uint32_t msg_id, uint8_t first, const uint8_t *plain,
    size_t len, enum ike_req_kind kind, uint64_t now_ms);
void ike_send_delete(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);
void ike_send_dpd(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);
/* Starts the rekey of sa's child k (CREATE_CHILD_SA); 0 or -errno. */
int ike_rekey_child(struct ike *ike, struct ike_sa *sa, uint8_t k,
    uint64_t now_ms);
/* Asks for sa's child k, not up (CREATE_CHILD_SA); 0 or -errno. */
int ike_new_child(struct ike *ike, struct ike_sa *sa, uint8_t k,
    uint64_t now_ms);
/* Deletes sa's child k alone (INFORMATIONAL): its life_time is out. */
void ike_close_child(struct ike *ike, struct ike_sa *sa, uint8_t k,
    uint64_t now_ms);
/* Starts the rekey of the IKE SA sa itself; 0 or -errno. */
int ike_rekey_ike(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);
/* sa's children leave the data plane: all, or child k alone. */
void ike_child_down(struct ike *ike, struct ike_sa *sa);
void ike_child_down_one(struct ike *ike, struct ike_sa *sa, uint8_t k);
/* Our reauthentication's new SA sa has its children: the SA it
 * replaces is deleted. */
void ike_reauth_done(struct ike *ike, struct ike_sa *sa, uint64_t now_ms);
/* Whether a rekey of sa or any of its children is under way. */
bool ike_sa_busy(const struct ike_sa *sa);

#endif /* IKE_PRIV_H */
