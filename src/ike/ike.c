/*
 * src/ike/ike.c: the IKEv2 engine's SA table, what comes in, the timers
 * and the API (ike.h).  The exchanges themselves are exchange.c's.
 *
 * Every datagram is taken in three steps, each refusing what it cannot
 * place before the next looks further: the header (parsed whole, every
 * payload bounded), the SA it belongs to (by SPIs, and for a first
 * IKE_SA_INIT by nothing: then the half-open bounds), and the message ID
 * (a request we answered already gets the same answer again, from the
 * copy kept; one out of the window is dropped).  Only then is anything
 * decrypted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "frag.h"
#include "ike_priv.h"

static void conns_start(struct ike *ike, uint64_t now_ms);

void
ike_logf(struct ike *ike, bool warn, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (ike->env.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ike->env.log(ike->env.ctx, warn, line);
}

const char *
ike_sa_conn_name(const struct ike *ike, const struct ike_sa *sa)
{
	return sa->conn >= 0 ? ike->conns[sa->conn].cfg.name : "(unknown)";
}

int
ike_create(struct ike **out, const struct ike_env *env)
{
	struct ike *ike = calloc(1, sizeof(*ike));

	if (ike == NULL)
		return -ENOMEM;
	ike->env = *env;
	*out = ike;
	return 0;
}

struct ike_sa *
ike_sa_new(struct ike *ike, int conn, bool initiator,
    const struct ike_addr *local, const struct ike_addr *remote,
    uint64_t now_ms)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	if (sa == NULL)
		return NULL;
	sa->conn = conn;
	sa->initiator = initiator;
	sa->serial = ++ike->serial;
	sa->local = *local;
	sa->remote = *remote;
	sa->created_ms = now_ms;
	sa->last_rx_ms = now_ms;
	sa->next = ike->sas;
	ike->sas = sa;
	if (!initiator)
		ike->n_half_open++;
	return sa;
}

static void
sa_free(struct ike *ike, struct ike_sa *sa)
{
	struct ike_sa **pp;

	for (pp = &ike->sas; *pp != NULL; pp = &(*pp)->next)
		if (*pp == sa) {
			*pp = sa->next;
			break;
		}
	ike_dh_free(sa->dh);
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++)
		ike_dh_free(sa->ch[k].rk_dh);
	ike_dh_free(sa->ike_rk_dh);
	ike_keys_wipe(&sa->keys);
	free(sa->init_i);
	free(sa->init_r);
	free(sa->req);
	free(sa->resp);
	ike_frag_free(sa);
	free(sa);
}

/* The SA goes: its child leaves the data plane now, the rest at the next
 * tick (a caller up the stack may still hold it). */
void
ike_sa_kill(struct ike *ike, struct ike_sa *sa, const char *why)
{
	if (sa->state == IKE_S_DEAD)
		return;
	ike_child_down(ike, sa);
	if (sa->state == IKE_S_INIT_DONE && ike->n_half_open > 0)
		ike->n_half_open--;
	if (why != NULL)
		ike_logf(ike, false, "[IKE] IKE_SA %s[%u] %s",
		    ike_sa_conn_name(ike, sa), sa->serial, why);
	sa->state = IKE_S_DEAD;
}

static void
sa_reap(struct ike *ike)
{
	struct ike_sa *sa = ike->sas, *next;

	for (; sa != NULL; sa = next) {
		next = sa->next;
		if (sa->state == IKE_S_DEAD)
			sa_free(ike, sa);
	}
}

/* A connection's certificates, parsed from its configuration's DER
 * (hexgated checked them before with the same function). */
static int
creds_make(struct ike_conn *c)
{
	const struct ike_conn_cfg *k = &c->cfg;
	bool sign = k->local_auth == IKE_AUTHBY_PUBKEY;
	bool trust = k->remote_auth == IKE_AUTHBY_PUBKEY;
	char why[256];

	c->creds = NULL;
	if (!sign && !trust)
		return 0;
	return ike_creds_new(&c->creds, k->certs, sign ? k->certs_len : 0,
	    k->key, sign ? k->key_len : 0, k->cacerts,
	    trust ? k->cacerts_len : 0, why, sizeof(why));
}

/* Frees n connections, their keys wiped. */
static void
conns_free(struct ike_conn *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		explicit_bzero(c[i].cfg.psk, sizeof(c[i].cfg.psk));
		explicit_bzero(c[i].cfg.key, sizeof(c[i].cfg.key));
		ike_creds_free(c[i].creds);
	}
	free(c);
}

void
ike_destroy(struct ike *ike, uint64_t now_ms)
{
	struct ike_sa *sa;

	if (ike == NULL)
		return;
	for (sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED) {
			ike_send_delete(ike, sa, now_ms);
			ike_sa_kill(ike, sa, "deleted: hexgated stops");
		} else
			ike_sa_kill(ike, sa, NULL);
	sa_reap(ike);
	conns_free(ike->conns, ike->n_conns);
	explicit_bzero(ike, sizeof(*ike));	/* the cookie secrets too */
	free(ike);
}

/* ---- sending ---------------------------------------------------------- */

/* msg with a non-ESP marker in front when sa talks on 4500: a train
 * (frag.h) of one made into *out (malloc'd), its length. */
static size_t
framed(const struct ike_sa *sa, const uint8_t *msg, size_t len,
    uint8_t **out)
{
	uint8_t *p = malloc(IKE_TRAIN_HDR + IKE_NON_ESP_MARKER_LEN + len);

	*out = p;
	if (p == NULL)
		return 0;
	return ike_train_put(p, sa->natt, msg, len);
}

/* Every datagram of a train: one message, whole or in fragments (more
 * than one datagram). */
static void
env_send(struct ike *ike, const struct ike_sa *sa, const uint8_t *t,
    size_t len)
{
	const uint8_t *p;
	size_t off = 0, n;
	unsigned k = 0;

	while (ike_train_next(t, len, &off, &p, &n)) {
		ike->st.tx++;
		k++;
		ike->env.send(ike->env.ctx, &sa->local, &sa->remote, p, n);
	}
	if (k > 1)
		ike->st.frags_sent += k;
}

void
ike_send_train(struct ike *ike, struct ike_sa *sa, bool response,
    enum ike_req_kind kind, uint8_t *train, size_t len, uint64_t now_ms)
{
	if (response) {
		free(sa->resp);
		sa->resp = train;
		sa->resp_len = len;
		env_send(ike, sa, sa->resp, sa->resp_len);
		return;
	}
	free(sa->req);
	sa->req = train;
	sa->req_len = len;
	sa->req_kind = kind;
	sa->tries = 1;
	sa->retry_at_ms = now_ms + IKE_RETRANSMIT_MS;
	env_send(ike, sa, sa->req, sa->req_len);
}

void
ike_send_req(struct ike *ike, struct ike_sa *sa, enum ike_req_kind kind,
    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t *t;
	size_t n = framed(sa, msg, len, &t);

	if (t != NULL)
		ike_send_train(ike, sa, false, kind, t, n, now_ms);
}

void
ike_send_resp(struct ike *ike, struct ike_sa *sa, const uint8_t *msg,
    size_t len)
{
	uint8_t *t;
	size_t n = framed(sa, msg, len, &t);

	if (t != NULL)
		ike_send_train(ike, sa, true, IKE_REQ_NONE, t, n, 0);
}

void
ike_send_raw(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, const uint8_t *msg, size_t len)
{
	uint8_t buf[IKE_NON_ESP_MARKER_LEN + 512];
	size_t m = local->port == IKE_NATT_PORT ? IKE_NON_ESP_MARKER_LEN : 0;

	if (len + m > sizeof(buf))
		return;
	memset(buf, 0, m);
	memcpy(buf + m, msg, len);
	ike->st.tx++;
	ike->env.send(ike->env.ctx, local, remote, buf, len + m);
}

/* ---- what comes in ---------------------------------------------------- */

static bool
addr_eq(const struct ike_addr *a, const struct ike_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* The SA a message with these SPIs is for.  An IKE_SA_INIT answer comes
 * with the responder's SPI we do not know yet. */
static struct ike_sa *
sa_find(struct ike *ike, const struct ike_hdr *h, const struct ike_addr *from)
{
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		if (sa->state == IKE_S_DEAD || sa->spi_i != h->ispi)
			continue;
		if (sa->spi_r == h->rspi)
			return sa;
		if (sa->state == IKE_S_INIT_SENT && sa->spi_r == 0)
			return sa;
		/* A repeated IKE_SA_INIT: the same initiator's SPI from
		 * the same peer. */
		if (h->rspi == 0 && !sa->initiator && addr_eq(&sa->remote,
		    from))
			return sa;
	}
	return NULL;
}

void
ike_input(struct ike *ike, const struct ike_addr *local,
    const struct ike_addr *remote, uint8_t *buf, size_t len,
    uint64_t now_ms)
{
	const uint8_t *msg = buf;
	size_t msg_len = len, plain_len;
	struct ike_err err;
	struct ike_sa *sa;
	const struct ike_hdr *h;
	const struct ike_payload *skf;
	bool response;

	if (local->port == IKE_NATT_PORT) {
		if (ike_nonesp_strip(buf, len, &msg, &msg_len) != 0) {
			ike->st.rx_invalid++;
			return;		/* ESP or a keepalive: not ours */
		}
	}
	ike->st.rx++;
	if (ike_msg_parse(msg, msg_len, &ike->m, &err) != 0) {
		char a[INET6_ADDRSTRLEN];

		ike->st.rx_invalid++;
		inet_ntop(remote->family, remote->addr, a, sizeof(a));
		ike_logf(ike, false, "[NET] message from %s[%u] refused: %s "
		    "at byte %u", a, remote->port, ike_err_str(err.code),
		    err.off);
		return;
	}
	h = &ike->m.hdr;
	response = (h->flags & IKE_F_RESPONSE) != 0;
	sa = sa_find(ike, h, remote);
	if (h->exchange == IKE_SA_INIT && !response) {
		if (h->msg_id != 0 || h->rspi != 0) {
			ike->st.rx_invalid++;
			return;
		}
		if (sa != NULL) {
			/* The peer did not get our answer: the same again. */
			if (sa->resp != NULL && sa->state == IKE_S_INIT_DONE)
				env_send(ike, sa, sa->resp, sa->resp_len);
			return;
		}
		ike_rx_init_req(ike, local, remote, msg, msg_len, now_ms);
		return;
	}
	if (sa == NULL) {
		ike->st.rx_invalid++;
		return;		/* no such SA (INVALID_IKE_SPI not sent: §2.21.4
				   allows silence, and it feeds no reflector) */
	}
	if (h->exchange == IKE_SA_INIT) {
		if (sa->state == IKE_S_INIT_SENT && h->msg_id == 0 &&
		    !(h->flags & IKE_F_INITIATOR))
			ike_rx_init_resp(ike, sa, msg, msg_len, now_ms);
		return;
	}
	skf = ike_msg_find(&ike->m, IKE_PL_SKF, 0);
	if (!sa->keyed || (skf == NULL &&
	    ike_msg_find(&ike->m, IKE_PL_SK, 0) == NULL)) {
		ike->st.rx_invalid++;
		return;
	}
	/* The window: a request we answered gets its answer again (all of
	 * its fragments; a request in fragments, for its first only, RFC
	 * 7383 §2.6.1); a response must be to the request we have out. */
	if (!response) {
		if (sa->resp != NULL && h->msg_id + 1 == sa->peer_next_id) {
			if (skf == NULL || skf->u.skf.num == 1)
				env_send(ike, sa, sa->resp, sa->resp_len);
			return;
		}
		if (h->msg_id != sa->peer_next_id) {
			ike->st.rx_invalid++;
			return;
		}
	} else if (sa->req_kind == IKE_REQ_NONE ||
	    h->msg_id + 1 != sa->next_req_id) {
		ike->st.rx_invalid++;
		return;
	}
	/* Only the original initiator sends with the I flag. */
	if (((h->flags & IKE_F_INITIATOR) != 0) == sa->initiator) {
		ike->st.rx_invalid++;
		return;
	}
	if (skf != NULL) {
		/* A fragment: kept until the message is whole, then that
		 * goes on from here as an SK message would. */
		if (ike_frag_input(ike, sa, (uint8_t *)msg, msg_len, &msg,
		    &plain_len) != 0)
			return;
	} else if (ike_sk_open(&sa->keys, !sa->initiator, (uint8_t *)msg,
	    msg_len, &ike->m, &plain_len) != 0) {
		ike->st.rx_invalid++;
		ike_logf(ike, false, "[ENC] message ID %u of IKE_SA %s[%u] "
		    "does not decrypt: dropped", h->msg_id,
		    ike_sa_conn_name(ike, sa), sa->serial);
		return;
	}
	if (ike_msg_parse(msg, plain_len, &ike->inner, &err) != 0) {
		ike->st.rx_invalid++;
		ike_logf(ike, false, "[ENC] message ID %u of IKE_SA %s[%u]: "
		    "%s at byte %u", h->msg_id, ike_sa_conn_name(ike, sa),
		    sa->serial, ike_err_str(err.code), err.off);
		return;
	}
	sa->last_rx_ms = now_ms;
	/* The peer's NAT may have given it a new port (§2.23): follow an
	 * authenticated message. */
	if (sa->natt && (sa->remote.port != remote->port ||
	    !addr_eq(&sa->remote, remote)) && local->port == IKE_NATT_PORT &&
	    sa->state == IKE_S_ESTABLISHED) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(remote->family, remote->addr, a, sizeof(a));
		ike_logf(ike, false, "[IKE] IKE_SA %s[%u]: peer moved to "
		    "%s[%u]", ike_sa_conn_name(ike, sa), sa->serial, a,
		    remote->port);
		sa->remote = *remote;
		for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++)
			if (sa->ch[k].up)
				sa->ch[k].sa.remote = *remote;
		if (sa->conn >= 0 && ike->env.moved != NULL)
			ike->env.moved(ike->env.ctx,
			    ike->conns[sa->conn].cfg.if_idx, remote);
	}
	/* The initiator moved to 4500 after IKE_SA_INIT (§2.23): the
	 * responder follows once a message there decrypts. */
	if (local->port == IKE_NATT_PORT && !sa->natt) {
		sa->natt = true;
		sa->local = *local;
		sa->remote = *remote;
	}
	if (!response)
		sa->peer_next_id++;
	ike_rx_protected(ike, sa, now_ms);
	sa_reap(ike);
	if (response)
		conns_start(ike, now_ms);	/* one answered: the next */
}

/* ---- timers ----------------------------------------------------------- */

static bool
conn_has_sa(const struct ike *ike, int conn)
{
	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->conn == conn && sa->state != IKE_S_DEAD)
			return true;
	return false;
}

/* Our IKE SAs being opened to the peer at a (not yet authenticated). */
static unsigned
opening_to(const struct ike *ike, const struct ike_addr *a)
{
	unsigned n = 0;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->initiator && (sa->state == IKE_S_INIT_SENT ||
		    sa->state == IKE_S_AUTH_SENT) && addr_eq(&sa->remote, a))
			n++;
	return n;
}

/*
 * The connections that want an IKE SA and have none get one, at most
 * IKE_INIT_PER_PEER of ours unanswered to one peer (its half-open bound
 * would drop the rest, and they would wait for their retransmissions):
 * the rest when those are answered (ike_input) or at the next tick.
 */
static void
conns_start(struct ike *ike, uint64_t now_ms)
{
	for (unsigned i = 0; i < ike->n_conns; i++) {
		struct ike_conn *c = &ike->conns[i];

		if (c->wanted && now_ms >= c->retry_at_ms &&
		    !conn_has_sa(ike, (int)i) &&
		    opening_to(ike, &c->cfg.remote) < IKE_INIT_PER_PEER) {
			c->retry_at_ms = now_ms + IKE_RETRY_MS;
			(void)ike_initiate(ike, (int)i, 0, now_ms);
		}
	}
}

/* The request of sa went unanswered once more. */
static void
sa_retransmit(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	if (sa->tries >= IKE_RETRANSMIT_TRIES) {
		struct ike_conn *c = sa->conn >= 0 ? &ike->conns[sa->conn] :
		    NULL;
		enum ike_req_kind kind = sa->req_kind;

		sa->req_kind = IKE_REQ_NONE;
		if (kind == IKE_REQ_DELETE) {
			ike_sa_kill(ike, sa, "deleted (the peer did not "
			    "answer the delete)");
			return;
		}
		ike->st.failed++;
		if (kind == IKE_REQ_DPD) {
			ike->st.dpd_dead++;
			ike_sa_kill(ike, sa, "peer did not answer DPD: "
			    "closed");
			if (c != NULL && c->cfg.dpd_action == IKE_DPD_RESTART) {
				c->wanted = true;
				c->retry_at_ms = now_ms;
				ike_logf(ike, false, "[IKE] %s: dpd_action "
				    "restart: initiating again", c->cfg.name);
			}
			return;
		}
		ike_sa_kill(ike, sa, "giving up after 4 retransmits");
		if (c != NULL)
			c->retry_at_ms = now_ms + IKE_RETRY_MS;
		return;
	}
	ike->st.retransmits++;
	ike_logf(ike, false, "[IKE] retransmit %u of request with message "
	    "ID %u of IKE_SA %s[%u]", sa->tries, sa->next_req_id - 1,
	    ike_sa_conn_name(ike, sa), sa->serial);
	sa->retry_at_ms = now_ms + ((uint64_t)IKE_RETRANSMIT_MS << sa->tries);
	sa->tries++;
	env_send(ike, sa, sa->req, sa->req_len);
}

bool
ike_sa_busy(const struct ike_sa *sa)
{
	for (uint8_t k = 0; k < IKE_CHILDREN_MAX; k++)
		if (sa->ch[k].old_spi_in != 0)
			return true;
	return false;
}

/*
 * An established SA's children, one request at a time: hard ends and
 * rekeys due, and (when the IKE SA is ours) the children IKE_AUTH did not
 * carry asked for.  A reauthentication's new SA deletes the one it
 * replaces once it has asked for them all.
 */
static void
children_tick(struct ike *ike, struct ike_sa *sa, uint64_t now_ms)
{
	const struct ike_conn_cfg *c = &ike->conns[sa->conn].cfg;

	for (uint8_t k = 0; k < c->n_children; k++) {
		struct ike_child *ch = &sa->ch[k];

		if (sa->req_kind != IKE_REQ_NONE || sa->rekeyed)
			return;
		if (ch->up && ch->expires_ms != 0 && now_ms >= ch->expires_ms) {
			ike_logf(ike, true, "[IKE] CHILD_SA %s{%u} reached "
			    "its life_time without a rekey: deleted",
			    c->children[k].name, sa->serial);
			ike_close_child(ike, sa, k, now_ms);
		} else if (ch->up && ch->rekey_due_ms != 0 &&
		    now_ms >= ch->rekey_due_ms && ch->old_spi_in == 0) {
			/* Tried again in a while if the peer is busy. */
			ch->rekey_due_ms = now_ms + IKE_RETRY_MS;
			(void)ike_rekey_child(ike, sa, k, now_ms);
		} else if (!ch->up && !ch->asked && sa->children_ours) {
			ch->asked = true;
			(void)ike_new_child(ike, sa, k, now_ms);
		}
	}
	if (sa->replaces != 0 && sa->req_kind == IKE_REQ_NONE)
		ike_reauth_done(ike, sa, now_ms);
}

void
ike_tick(struct ike *ike, uint64_t now_ms)
{
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		const struct ike_conn *c = sa->conn >= 0 ?
		    &ike->conns[sa->conn] : NULL;

		if (sa->state == IKE_S_DEAD)
			continue;
		if (sa->state == IKE_S_INIT_DONE &&
		    now_ms - sa->created_ms >= IKE_HALF_OPEN_MS) {
			ike_sa_kill(ike, sa, "half-open: no IKE_AUTH came");
			continue;
		}
		if (sa->req_kind != IKE_REQ_NONE && now_ms >= sa->retry_at_ms) {
			sa_retransmit(ike, sa, now_ms);
			continue;
		}
		if (sa->state != IKE_S_ESTABLISHED || c == NULL)
			continue;
		if (c->cfg.dpd_delay_s != 0 && sa->req_kind == IKE_REQ_NONE &&
		    now_ms - sa->last_rx_ms >= c->cfg.dpd_delay_s * 1000ull)
			ike_send_dpd(ike, sa, now_ms);
		if (sa->reauth_due_ms != 0 && now_ms >= sa->reauth_due_ms &&
		    !sa->rekeyed) {
			sa->reauth_due_ms = 0;
			ike_logf(ike, false, "[IKE] reauthenticating IKE_SA "
			    "%s[%u] (reauth_time)", c->cfg.name, sa->serial);
			(void)ike_initiate(ike, sa->conn, sa->serial, now_ms);
			continue;
		}
		if (sa->ike_rekey_due_ms != 0 && now_ms >= sa->ike_rekey_due_ms &&
		    sa->req_kind == IKE_REQ_NONE && !ike_sa_busy(sa) &&
		    !sa->rekeyed) {
			sa->ike_rekey_due_ms = now_ms + IKE_RETRY_MS;
			(void)ike_rekey_ike(ike, sa, now_ms);
			continue;
		}
		children_tick(ike, sa, now_ms);
	}
	conns_start(ike, now_ms);
	sa_reap(ike);
}

uint64_t
ike_next_ms(const struct ike *ike, uint64_t now_ms)
{
	uint64_t next = 1000;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		if (sa->req_kind != IKE_REQ_NONE) {
			if (sa->retry_at_ms <= now_ms)
				return 0;
			next = HG_MIN(next, sa->retry_at_ms - now_ms);
		}
	return next;
}

/* ---- connections ------------------------------------------------------ */

static int
conn_index(const struct ike *ike, const char *name)
{
	for (unsigned i = 0; i < ike->n_conns; i++)
		if (strcmp(ike->conns[i].cfg.name, name) == 0)
			return (int)i;
	return -1;
}

int
ike_set_conns(struct ike *ike, const struct ike_conn_cfg *conns, unsigned n,
    uint64_t now_ms)
{
	struct ike_conn *next = calloc(n ? n : 1, sizeof(*next));
	int *map;

	if (next == NULL)
		return -ENOMEM;
	if ((map = calloc(ike->n_conns ? ike->n_conns : 1, sizeof(*map))) ==
	    NULL) {
		free(next);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < ike->n_conns; i++)
		map[i] = -1;
	for (unsigned i = 0; i < n; i++) {
		int o = conn_index(ike, conns[i].name);

		next[i].cfg = conns[i];
		if (creds_make(&next[i]) != 0) {
			conns_free(next, i);
			free(map);
			return -EINVAL;
		}
		next[i].wanted = conns[i].start_action == IKE_START_START;
		if (o >= 0 && memcmp(&ike->conns[o].cfg, &conns[i],
		    sizeof(conns[i])) == 0) {
			map[o] = (int)i;
			next[i].wanted = ike->conns[o].wanted;
			next[i].retry_at_ms = ike->conns[o].retry_at_ms;
		}
	}
	/* SAs of connections that changed or went are deleted. */
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		if (sa->conn < 0 || sa->state == IKE_S_DEAD)
			continue;
		if (map[sa->conn] < 0) {
			if (sa->state == IKE_S_ESTABLISHED)
				ike_send_delete(ike, sa, now_ms);
			ike_sa_kill(ike, sa, "deleted: its connection was "
			    "changed or removed");
			sa->conn = -1;
		} else
			sa->conn = map[sa->conn];
	}
	conns_free(ike->conns, ike->n_conns);
	free(map);
	ike->conns = next;
	ike->n_conns = n;
	ike_tick(ike, now_ms);
	return 0;
}

int
ike_up(struct ike *ike, const char *name, uint64_t now_ms)
{
	int i = conn_index(ike, name);

	if (i < 0)
		return -ENOENT;
	ike->conns[i].wanted = true;
	ike->conns[i].retry_at_ms = now_ms;
	ike_tick(ike, now_ms);
	return 0;
}

int
ike_down(struct ike *ike, const char *name, uint64_t now_ms)
{
	int i = conn_index(ike, name);

	if (i < 0)
		return -ENOENT;
	ike->conns[i].wanted = false;
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		if (sa->conn != i || sa->state == IKE_S_DEAD)
			continue;
		if (sa->state == IKE_S_ESTABLISHED) {
			ike_child_down(ike, sa);
			ike_send_delete(ike, sa, now_ms);
			ike_logf(ike, false, "[IKE] deleting IKE_SA %s[%u] "
			    "(hexctl ipsec down)", name, sa->serial);
		} else
			ike_sa_kill(ike, sa, "closed (hexctl ipsec down)");
	}
	sa_reap(ike);
	return 0;
}

bool
ike_acquire(struct ike *ike, uint16_t if_idx, uint64_t now_ms)
{
	for (unsigned i = 0; i < ike->n_conns; i++) {
		struct ike_conn *c = &ike->conns[i];

		if (c->cfg.if_idx != if_idx ||
		    c->cfg.start_action != IKE_START_TRAP)
			continue;
		/* Being made, up, or tried a moment ago (the data plane
		 * asks again every second while packets come): once.  An
		 * IKE SA that is up but lost a child (the peer deleted it)
		 * asks for that child again, whoever began the SA. */
		if (now_ms < c->retry_at_ms)
			return false;
		if (conn_has_sa(ike, (int)i)) {
			bool asked = false;

			for (struct ike_sa *sa = ike->sas; sa != NULL;
			    sa = sa->next) {
				if (sa->conn != (int)i ||
				    sa->state != IKE_S_ESTABLISHED || sa->rekeyed)
					continue;
				for (uint8_t k = 0; k < c->cfg.n_children; k++)
					if (!sa->ch[k].up && sa->ch[k].asked) {
						sa->ch[k].asked = false;
						sa->children_ours = true;
						asked = true;
					}
			}
			if (asked) {
				c->retry_at_ms = now_ms + IKE_RETRY_MS;
				ike_logf(ike, false, "[KNL] acquire for %s: a "
				    "packet to its tunnel, a child missing: "
				    "asking for it", c->cfg.name);
			}
			return asked;
		}
		if (opening_to(ike, &c->cfg.remote) >= IKE_INIT_PER_PEER)
			return false;
		c->retry_at_ms = now_ms + IKE_RETRY_MS;
		ike_logf(ike, false, "[KNL] acquire for %s{%s}: a packet to "
		    "its tunnel, no SA: initiating", c->cfg.name,
		    c->cfg.children[0].name);
		return ike_initiate(ike, (int)i, 0, now_ms) == 0;
	}
	return false;
}

void
ike_get_stats(const struct ike *ike, struct ike_stats *out)
{
	*out = ike->st;
	out->half_open = ike->n_half_open;
}

/* ---- status ----------------------------------------------------------- */

static const char *const state_names[] = {
	[IKE_S_INIT_SENT] = "CONNECTING",
	[IKE_S_INIT_DONE] = "CONNECTING",
	[IKE_S_AUTH_SENT] = "CONNECTING",
	[IKE_S_ESTABLISHED] = "ESTABLISHED",
	[IKE_S_DELETING] = "DELETING",
	[IKE_S_DEAD] = "DESTROYING",
};

static int
addr_json(char *buf, size_t len, const char *key, const struct ike_addr *a)
{
	char s[INET6_ADDRSTRLEN] = "";

	if (a->family != 0)
		inet_ntop(a->family, a->addr, s, sizeof(s));
	return snprintf(buf, len, "\"%s\":\"%s\",\"%s_port\":%u", key, s, key,
	    a->port);
}

static int
prefixes_json(char *buf, size_t len, const struct ike_prefix *p, unsigned n)
{
	int w = snprintf(buf, len, "[");

	for (unsigned i = 0; i < n; i++) {
		char s[INET6_ADDRSTRLEN];

		inet_ntop(p[i].family, p[i].addr, s, sizeof(s));
		w += snprintf(buf + HG_MIN((size_t)w, len), len -
		    HG_MIN((size_t)w, len), "%s\"%s/%u\"", i ? "," : "", s,
		    p[i].plen);
	}
	w += snprintf(buf + HG_MIN((size_t)w, len), len - HG_MIN((size_t)w,
	    len), "]");
	return w;
}

/* snprintf() into buf at *w, as far as it goes; *w counts on. */
#define JSON_AT(buf, len, w) (buf) + HG_MIN((size_t)(w), (len)), \
	(len) - HG_MIN((size_t)(w), (len))

int
ike_format_json(const struct ike *ike, uint64_t now_ms, char *buf, size_t len)
{
	int w = snprintf(buf, len, "[");
	bool first = true;

	for (const struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next) {
		char id[IKE_ID_MAX * 2], alg[128];

		if (sa->state == IKE_S_DEAD)
			continue;
		ike_id_format(&sa->peer_id, id, sizeof(id));
		ike_chosen_format(&sa->alg, alg, sizeof(alg));
		w += snprintf(JSON_AT(buf, len, w), "%s{\"name\":\"%s\","
		    "\"uniqueid\":%u,\"state\":\"%s\",\"initiator\":%s,"
		    "\"initiator_spi\":\"%016llx\",\"responder_spi\":"
		    "\"%016llx\",", first ? "" : ",",
		    ike_sa_conn_name(ike, sa), sa->serial,
		    state_names[sa->state], sa->initiator ? "true" : "false",
		    (unsigned long long)sa->spi_i,
		    (unsigned long long)sa->spi_r);
		first = false;
		w += addr_json(JSON_AT(buf, len, w), "local", &sa->local);
		w += snprintf(JSON_AT(buf, len, w), ",");
		w += addr_json(JSON_AT(buf, len, w), "remote", &sa->remote);
		w += snprintf(JSON_AT(buf, len, w), ",\"remote_id\":\"%s\","
		    "\"nat_local\":%s,\"nat_remote\":%s,\"encap\":%s,"
		    "\"algorithms\":\"%s\",\"established_s\":%llu",
		    sa->state == IKE_S_ESTABLISHED ? id : "",
		    sa->nat_local ? "true" : "false",
		    sa->nat_remote ? "true" : "false",
		    sa->natt ? "true" : "false", sa->keyed ? alg : "",
		    sa->state == IKE_S_ESTABLISHED ?
		    (unsigned long long)((now_ms - sa->established_ms) / 1000) :
		    0ull);
		w += snprintf(JSON_AT(buf, len, w), ",\"children\":[");
		for (uint8_t k = 0, n = 0; k < IKE_CHILDREN_MAX; k++) {
			const struct ike_child *ch = &sa->ch[k];

			if (!ch->up)
				continue;
			ike_chosen_format(&ch->alg, alg, sizeof(alg));
			w += snprintf(JSON_AT(buf, len, w), "%s{"
			    "\"name\":\"%s\",\"state\":\"INSTALLED\","
			    "\"spi_in\":\"%08x\",\"spi_out\":\"%08x\","
			    "\"encap\":%s,\"algorithms\":\"%s\","
			    "\"rekey_in_s\":%lld,\"local_ts\":", n++ ? "," : "",
			    sa->conn >= 0 ?
			    ike->conns[sa->conn].cfg.children[k].name : "",
			    ch->spi_in, ch->spi_out,
			    ch->sa.udp_encap ? "true" : "false", alg,
			    ch->rekey_due_ms == 0 ? -1ll :
			    (long long)(ch->rekey_due_ms - now_ms) / 1000);
			w += prefixes_json(JSON_AT(buf, len, w),
			    ch->sa.local_ts, ch->sa.n_local_ts);
			w += snprintf(JSON_AT(buf, len, w), ",\"remote_ts\":");
			w += prefixes_json(JSON_AT(buf, len, w),
			    ch->sa.remote_ts, ch->sa.n_remote_ts);
			w += snprintf(JSON_AT(buf, len, w), "}");
		}
		w += snprintf(JSON_AT(buf, len, w), "]");
		w += snprintf(JSON_AT(buf, len, w), "}");
	}
	w += snprintf(JSON_AT(buf, len, w), "]");
	return w;
}

int
ike_format_traps_json(const struct ike *ike, char *buf, size_t len)
{
	int w = snprintf(buf, len, "[");
	bool first = true;

	for (unsigned i = 0; i < ike->n_conns; i++) {
		if (ike->conns[i].cfg.start_action != IKE_START_TRAP ||
		    conn_has_sa(ike, (int)i))
			continue;
		w += snprintf(JSON_AT(buf, len, w), "%s\"%s\"", first ? "" :
		    ",", ike->conns[i].cfg.name);
		first = false;
	}
	w += snprintf(JSON_AT(buf, len, w), "]");
	return w;
}

/* ---- identities ------------------------------------------------------- */

int
ike_id_parse(const char *text, struct ike_id *out)
{
	size_t n = strlen(text);

	memset(out, 0, sizeof(*out));
	if (n == 0 || strcmp(text, "%any") == 0)
		return 0;		/* type 0: any */
	if (inet_pton(AF_INET, text, out->data) == 1) {
		out->type = IKE_ID_IPV4_ADDR;
		out->len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->data) == 1) {
		out->type = IKE_ID_IPV6_ADDR;
		out->len = 16;
		return 0;
	}
	if (text[0] == '@') {		/* swanctl: @x is an FQDN as is */
		text++;
		n--;
		out->type = IKE_ID_FQDN;
	} else if (strchr(text, '@') != NULL)
		out->type = IKE_ID_RFC822_ADDR;
	else if (strchr(text, '=') != NULL)
		return ike_dn_parse(text, out);	/* "CN=gw, O=Example" */
	else
		out->type = IKE_ID_FQDN;
	if (n == 0 || n > IKE_ID_MAX)
		return -EINVAL;
	memcpy(out->data, text, n);
	out->len = (uint16_t)n;
	return 0;
}

int
ike_id_format(const struct ike_id *id, char *buf, size_t len)
{
	switch (id->type) {
	case 0:
		return snprintf(buf, len, "%%any");
	case IKE_ID_IPV4_ADDR:
	case IKE_ID_IPV6_ADDR:
		if (id->len == (id->type == IKE_ID_IPV4_ADDR ? 4 : 16)) {
			char s[INET6_ADDRSTRLEN];

			inet_ntop(id->type == IKE_ID_IPV4_ADDR ? AF_INET :
			    AF_INET6, id->data, s, sizeof(s));
			return snprintf(buf, len, "%s", s);
		}
		break;
	case IKE_ID_DER_ASN1_DN: {
		int w = ike_dn_format(id->data, id->len, buf, len);

		if (w >= 0)
			return w;
		break;
	}
	case IKE_ID_FQDN:
	case IKE_ID_RFC822_ADDR: {
		int w = 0;

		for (uint16_t i = 0; i < id->len && (size_t)w + 1 < len; i++)
			w += snprintf(buf + w, len - (size_t)w, "%c",
			    id->data[i] >= 0x20 && id->data[i] < 0x7f &&
			    id->data[i] != '"' && id->data[i] != '\\' ?
			    id->data[i] : '?');
		if (len != 0)
			buf[HG_MIN((size_t)w, len - 1)] = '\0';
		return w;
	}
	default:
		break;
	}
	return snprintf(buf, len, "(ID type %u, %u bytes)", id->type,
	    id->len);
}
