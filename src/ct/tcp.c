/*
 * src/ct/tcp.c: the TCP part of conntrack: the connection state machine
 * (states named as in Linux's nf_conntrack_proto_tcp) and window tracking
 * after Guido van Rooij, "Real Stateful TCP Packet Filtering in IP Filter"
 * (2000).  Each end keeps the highest sequence it sent (end), the highest it
 * may send given the peer's acks and windows (maxend), and its largest
 * window (maxwin); a segment whose sequence or ack falls outside those
 * bounds is INVALID and changes nothing.
 *
 * The closing states come from two flags per end, "sent a FIN" and "that
 * FIN was acked", rather than from a transition table: one FIN is FIN_WAIT
 * until acked, then CLOSE_WAIT; two FINs are LAST_ACK until both are acked,
 * then TIME_WAIT.  An in-window RST goes to CLOSE.
 *
 * Not supported, on purpose: mid-stream pickup (a flow must begin with a
 * SYN), simultaneous open (a SYN answered by a SYN is INVALID), and
 * Linux's "ignore a SYN on an open connection and watch for its answer":
 * such a SYN is INVALID here.  A real peer answers it with a challenge ACK
 * (RFC 5961 §4), which is in window and passes; the client's RST then
 * closes the entry and its next SYN starts over.
 */
#include <arpa/inet.h>

#include "ct_priv.h"

#define TCP_WSCALE_MAX		14	/* RFC 7323 §2.3 */
#define TCP_OPT_EOL		0
#define TCP_OPT_NOP		1
#define TCP_OPT_WSCALE		3
#define CT_NO_WSCALE		0xff
/* Slack for acks below what the peer sent, as Linux's MAXACKWINCONST:
 * acks for old data arrive late and are harmless. */
#define CT_ACK_SLACK		66000u

/* The fields of one segment that the tracker reads, host order. */
struct ct_seg {
	uint32_t seq;
	uint32_t end;		/* seq + data + SYN + FIN */
	uint32_t ack;
	uint32_t win;		/* as on the wire, not yet scaled */
	uint8_t  flags;
	uint8_t  wscale;	/* SYN option, or CT_NO_WSCALE */
};

static inline bool
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool
seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/*
 * RFC 793 flag combinations worth tracking, ignoring PSH, URG, ECE and
 * CWR: everything else (SYN+FIN, FIN without ACK, no flags) is never sent
 * by a real stack and is a scan or an attack.
 */
bool
ct_tcp_flags_ok(uint8_t flags)
{
	switch (flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK)) {
	case TCP_SYN:
	case TCP_SYN | TCP_ACK:
	case TCP_RST:
	case TCP_RST | TCP_ACK:
	case TCP_FIN | TCP_ACK:
	case TCP_ACK:
		return true;
	default:
		return false;
	}
}

/* The window scale option of a SYN (RFC 7323 §2), read within the
 * header's own length: parse checked doff against the packet. */
static uint8_t
opt_wscale(const uint8_t *th, unsigned doff_bytes)
{
	unsigned i = sizeof(struct tcp_hdr), len;

	while (i < doff_bytes) {
		if (th[i] == TCP_OPT_EOL)
			break;
		if (th[i] == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (doff_bytes - i < 2)
			break;
		len = th[i + 1];
		if (len < 2 || len > doff_bytes - i)
			break;
		if (th[i] == TCP_OPT_WSCALE && len == 3)
			return HG_MIN(th[i + 2], TCP_WSCALE_MAX);
		i += len;
	}
	return CT_NO_WSCALE;
}

static void
seg_read(const struct pkt *p, struct ct_seg *sg)
{
	const struct tcp_hdr *th = pkt_l4(p);
	unsigned doff_bytes = (th->doff_res >> 4) * 4u;
	uint32_t data_bytes = (uint32_t)(p->l3_off + p->l3_len - p->l4_off) -
	    doff_bytes;

	sg->flags = th->flags;
	sg->seq = ntohl(th->seq_be);
	sg->ack = ntohl(th->ack_be);
	sg->win = ntohs(th->win_be);
	sg->end = sg->seq + data_bytes + !!(sg->flags & TCP_SYN) +
	    !!(sg->flags & TCP_FIN);
	sg->wscale = (sg->flags & TCP_SYN) ?
	    opt_wscale((const uint8_t *)th, doff_bytes) : CT_NO_WSCALE;
}

enum ct_invalid
ct_tcp_check_new(const struct pkt *p, struct ct_pending *pd)
{
	struct ct_seg sg;

	seg_read(p, &sg);
	if ((sg.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN)
		return CT_INVALID_TCP_NO_SYN;
	pd->tcp_seq = sg.seq;
	pd->tcp_end = sg.end;
	pd->tcp_win = (uint16_t)sg.win;
	pd->tcp_wscale = sg.wscale;
	return CT_INVALID_NONE;
}

/* The first SYN of an end: it may send nothing more until acked. */
static void
end_init(struct ct_tcp_end *s, uint32_t end, uint32_t win, uint8_t wscale)
{
	memset(s, 0, sizeof(*s));
	s->end = s->maxend = end;
	s->maxwin = HG_MAX(win, 1u);
	s->flags = CT_TCP_F_INIT;
	if (wscale != CT_NO_WSCALE) {
		s->flags |= CT_TCP_F_WSCALE;
		s->wscale = wscale;
	}
}

void
ct_tcp_init(struct ct_entry *e, const struct ct_pending *pd)
{
	e->tcp_state = CT_TCP_SYN_SENT;
	end_init(&e->tcp[CT_DIR_ORIGINAL], pd->tcp_end, pd->tcp_win,
	    pd->tcp_wscale);
}

/* SYN_SENT: only a retransmitted SYN or RST from the client, and from the
 * server a SYN+ACK or RST+ACK that acks the client's SYN. */
static enum ct_invalid
syn_sent(struct ct_entry *e, const struct ct_seg *sg, enum ct_dir dir)
{
	struct ct_tcp_end *cli = &e->tcp[CT_DIR_ORIGINAL];
	struct ct_tcp_end *srv = &e->tcp[CT_DIR_REPLY];
	uint8_t f = sg->flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);

	if (dir == CT_DIR_ORIGINAL) {
		if (f == TCP_SYN) {
			/* a retransmission, or a retry with a new ISN */
			end_init(cli, sg->end, sg->win, sg->wscale);
			return CT_INVALID_NONE;
		}
		if (f & TCP_RST) {
			e->tcp_state = CT_TCP_CLOSE;
			return CT_INVALID_NONE;
		}
		return CT_INVALID_TCP_STATE;
	}
	if (f == (TCP_SYN | TCP_ACK)) {
		if (sg->ack != cli->end)
			return CT_INVALID_TCP_WINDOW;
		end_init(srv, sg->end, sg->win, sg->wscale);
		/* RFC 7323 §2.2: scaling only when both SYNs offered it */
		if (!(cli->flags & srv->flags & CT_TCP_F_WSCALE))
			cli->wscale = srv->wscale = 0;
		/* SYN segments' windows are never scaled */
		cli->maxend = sg->ack + HG_MAX(sg->win, 1u);
		e->tcp_state = CT_TCP_SYN_RECV;
		return CT_INVALID_NONE;
	}
	if (f == (TCP_RST | TCP_ACK)) {
		/* RFC 793 p.66: in SYN-SENT a RST counts only if it acks
		 * our SYN; "connection refused" */
		if (sg->ack != cli->end)
			return CT_INVALID_TCP_WINDOW;
		e->tcp_state = CT_TCP_CLOSE;
		return CT_INVALID_NONE;
	}
	return CT_INVALID_TCP_STATE;
}

/* van Rooij's four bounds; s sent the segment, r receives it. */
static enum ct_invalid
window_check(const struct ct_tcp_end *s, const struct ct_tcp_end *r,
    const struct ct_seg *sg)
{
	uint32_t ack = (sg->flags & TCP_ACK) ? sg->ack : r->end;
	uint32_t ack_slack = HG_MAX(s->maxwin, CT_ACK_SLACK);

	/* I: starts inside what the receiver has offered */
	if (seq_after(sg->seq, s->maxend))
		return CT_INVALID_TCP_WINDOW;
	/* II: not older than a receiver's window behind */
	if (seq_before(sg->end, s->end - r->maxwin))
		return CT_INVALID_TCP_WINDOW;
	/* III: acks nothing the receiver has not sent */
	if (seq_after(ack, r->end))
		return CT_INVALID_TCP_WINDOW;
	/* IV: and nothing absurdly old */
	if (seq_before(ack, r->end - ack_slack))
		return CT_INVALID_TCP_WINDOW;
	return CT_INVALID_NONE;
}

static void
window_update(struct ct_tcp_end *s, struct ct_tcp_end *r,
    const struct ct_seg *sg)
{
	uint32_t win = (sg->flags & TCP_SYN) ? sg->win : sg->win << s->wscale;

	if (s->maxwin < win)
		s->maxwin = win;
	if (seq_after(sg->end, s->end))
		s->end = sg->end;
	if ((sg->flags & TCP_ACK) && seq_after(sg->ack + win, r->maxend))
		r->maxend = sg->ack + win;
}

static void
fin_update(struct ct_tcp_end *s, struct ct_tcp_end *r,
    const struct ct_seg *sg)
{
	if ((sg->flags & TCP_FIN) && !(s->flags & CT_TCP_F_FIN)) {
		s->flags |= CT_TCP_F_FIN;
		s->fin_end = sg->end;
	}
	if ((sg->flags & TCP_ACK) && (r->flags & CT_TCP_F_FIN) &&
	    !seq_before(sg->ack, r->fin_end))
		r->flags |= CT_TCP_F_FIN_ACKED;
}

static enum ct_tcp_state
closing_state(const struct ct_entry *e)
{
	int n_fin = 0, n_acked = 0;

	for (int d = 0; d < CT_DIR_COUNT; d++) {
		n_fin += !!(e->tcp[d].flags & CT_TCP_F_FIN);
		n_acked += !!(e->tcp[d].flags & CT_TCP_F_FIN_ACKED);
	}
	if (n_fin == 0)
		return CT_TCP_ESTABLISHED;
	if (n_fin == 1)
		return n_acked ? CT_TCP_CLOSE_WAIT : CT_TCP_FIN_WAIT;
	return n_acked == 2 ? CT_TCP_TIME_WAIT : CT_TCP_LAST_ACK;
}

/* A segment carrying SYN on an entry past SYN_SENT. */
static enum ct_invalid
syn_again(const struct ct_entry *e, const struct ct_seg *sg, enum ct_dir dir,
    bool *reopen)
{
	const struct ct_tcp_end *s = &e->tcp[dir];

	if (!(sg->flags & TCP_ACK)) {
		/* a new connection on the ports of one that is over */
		if (e->tcp_state == CT_TCP_TIME_WAIT ||
		    e->tcp_state == CT_TCP_CLOSE) {
			*reopen = true;
			return CT_INVALID_NONE;
		}
		/* the client resending its SYN before the handshake ends */
		if (e->tcp_state == CT_TCP_SYN_RECV &&
		    dir == CT_DIR_ORIGINAL && sg->end == s->end)
			return CT_INVALID_NONE;
		return CT_INVALID_TCP_SYN_EST;
	}
	/* The server resending its SYN+ACK: the client's ACK was lost
	 * after us.  Old but in window; it changes nothing. */
	if (dir == CT_DIR_REPLY && (e->tcp_state == CT_TCP_SYN_RECV ||
	    e->tcp_state == CT_TCP_ESTABLISHED))
		return window_check(s, &e->tcp[!dir], sg);
	return CT_INVALID_TCP_STATE;
}

enum ct_invalid
ct_tcp_update(struct ct_entry *e, const struct pkt *p, enum ct_dir dir,
    bool *reopen)
{
	struct ct_tcp_end *s = &e->tcp[dir], *r = &e->tcp[!dir];
	enum ct_invalid why;
	struct ct_seg sg;

	*reopen = false;
	seg_read(p, &sg);
	if (e->tcp_state == CT_TCP_SYN_SENT)
		return syn_sent(e, &sg, dir);
	if (sg.flags & TCP_SYN)
		return syn_again(e, &sg, dir, reopen);
	/* the server may not speak before the client's ACK (RST aside) */
	if (e->tcp_state == CT_TCP_SYN_RECV && dir == CT_DIR_REPLY &&
	    !(sg.flags & TCP_RST))
		return CT_INVALID_TCP_STATE;

	why = window_check(s, r, &sg);
	if (why != CT_INVALID_NONE)
		return why;
	window_update(s, r, &sg);
	if (sg.flags & TCP_RST) {
		e->tcp_state = CT_TCP_CLOSE;
		return CT_INVALID_NONE;
	}
	if (e->tcp_state == CT_TCP_CLOSE)
		return CT_INVALID_NONE;
	/* SYN_RECV ends with the client's ACK (flags checked: it has one) */
	fin_update(s, r, &sg);
	e->tcp_state = closing_state(e);
	return CT_INVALID_NONE;
}
