/*
 * src/ip/reass.c: bounded reassembly of IP datagrams (reass.h).
 *
 * The table is a fixed array of datagram slots, looked through in full:
 * it holds a few tens of datagrams (an ESP peer's path fragments after
 * encryption, two or three pieces a packet), where a scan costs less than
 * keeping a hash.  A slot holds its fragments' packets and, for each, where
 * its payload lies in the datagram; nothing is copied until the last byte
 * is in.
 *
 * Overlap: a fragment that overlaps one held, other than an exact
 * duplicate, drops the whole datagram, for IPv6 as RFC 5722 says and for
 * IPv4 alike: no sender that fragments an ESP packet once makes pieces
 * that overlap, and an overlap is how a fragment would rewrite bytes an
 * earlier check has seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reass.h"

struct reass_frag {
	struct pkt *p;
	uint16_t off;		/* of its payload in the datagram's */
	uint16_t len;		/* payload bytes */
	uint16_t pay;		/* where its payload starts in p->data */
};

struct reass_dgram {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint32_t id;		/* IPv4's 16 bits or IPv6's 32 */
	uint8_t  l3;		/* enum pkt_l3; PKT_L3_NONE: slot free */
	uint8_t  proto;		/* IPv4: part of the key */
	uint8_t  n;		/* fragments held */
	bool     last_in;	/* the final fragment came: total is known */
	uint32_t total;		/* payload bytes of the whole datagram */
	uint32_t have;		/* payload bytes held */
	uint64_t expires_ns;
	struct reass_frag frag[IP_REASS_FRAGS_MAX];
};

struct ip_reass {
	struct pkt_pool *pool;
	ip_reass_drop_fn *drop;
	void *arg;
	uint16_t max_dgrams;
	uint16_t max_frags;
	uint16_t used;
	uint64_t timeout_ns;
	struct ip_reass_stats st;
	struct reass_dgram d[];
};

/* What a fragment says of itself. */
struct reass_info {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint32_t id;
	uint8_t  proto;
	bool     more;
	uint16_t off;		/* payload offset in the datagram */
	uint16_t len;		/* payload bytes */
	uint16_t pay;		/* payload's offset in p->data */
	uint16_t hdr;		/* the whole datagram's IP header length */
};

int
ip_reass_create(struct ip_reass **out, const struct ip_reass_params *prm,
    struct pkt_pool *pool, ip_reass_drop_fn *drop, void *arg)
{
	uint16_t n = prm->max_dgrams != 0 ? prm->max_dgrams :
	    IP_REASS_DGRAMS_DEFAULT;
	struct ip_reass *r;

	r = calloc(1, sizeof(*r) + (size_t)n * sizeof(r->d[0]));
	if (r == NULL)
		return -ENOMEM;
	r->pool = pool;
	r->drop = drop;
	r->arg = arg;
	r->max_dgrams = n;
	r->max_frags = prm->max_frags != 0 &&
	    prm->max_frags < IP_REASS_FRAGS_MAX ? prm->max_frags :
	    IP_REASS_FRAGS_MAX;
	r->timeout_ns = prm->timeout_ns != 0 ? prm->timeout_ns :
	    IP_REASS_TIMEOUT_NS;
	*out = r;
	return 0;
}

static void
reass_free_slot(struct ip_reass *r, struct reass_dgram *d,
    enum pkt_drop why)
{
	for (uint8_t i = 0; i < d->n; i++) {
		if (why == PKT_DROP_NONE)
			pkt_free(r->pool, d->frag[i].p);
		else
			r->drop(r->arg, d->frag[i].p, why);
	}
	d->n = 0;
	d->l3 = PKT_L3_NONE;
	r->used--;
}

void
ip_reass_destroy(struct ip_reass *r)
{
	if (r == NULL)
		return;
	for (uint16_t i = 0; i < r->max_dgrams; i++)
		if (r->d[i].l3 != PKT_L3_NONE)
			reass_free_slot(r, &r->d[i], PKT_DROP_NONE);
	free(r);
}

/* Reads p's fragment fields; false when p is no fragment this takes. */
static bool
reass_info(const struct pkt *p, struct reass_info *fi)
{
	const uint8_t *l3 = p->data + p->l3_off;

	memset(fi, 0, sizeof(*fi));
	if (!(p->flags & PKT_F_FRAG))
		return false;
	if (p->l3 == PKT_L3_IP4) {
		const struct ip4_hdr *ip = (const void *)l3;
		uint16_t hlen = (uint16_t)((ip->ver_ihl & 0xf) * 4);
		uint16_t frag = ntohs(ip->frag_be);

		if (p->l3_len < hlen)
			return false;
		memcpy(fi->src, &ip->src_be, 4);
		memcpy(fi->dst, &ip->dst_be, 4);
		fi->id = ntohs(ip->id_be);
		fi->proto = ip->proto;
		fi->more = (frag & IP4_MF) != 0;
		fi->off = (uint16_t)((frag & IP4_OFFMASK) * 8);
		fi->hdr = hlen;
		fi->pay = (uint16_t)(p->l3_off + hlen);
		fi->len = (uint16_t)(p->l3_len - hlen);
		return true;
	}
	if (p->l3 == PKT_L3_IP6) {
		const struct ip6_hdr *ip = (const void *)l3;
		const struct ip6_frag *fh = (const void *)(l3 + IP6_HDR_LEN);
		uint16_t off_m;

		if (ip->nxt != IPPROTO_FRAGMENT_ ||
		    p->l3_len < IP6_HDR_LEN + sizeof(*fh))
			return false;
		off_m = ntohs(fh->off_be);
		memcpy(fi->src, ip->src, 16);
		memcpy(fi->dst, ip->dst, 16);
		fi->id = ntohl(fh->id_be);
		fi->proto = fh->nxt;
		fi->more = (off_m & 1) != 0;
		fi->off = (uint16_t)(off_m & ~7u);
		fi->hdr = IP6_HDR_LEN;
		fi->pay = (uint16_t)(p->l3_off + IP6_HDR_LEN + sizeof(*fh));
		fi->len = (uint16_t)(p->l3_len - IP6_HDR_LEN - sizeof(*fh));
		return true;
	}
	return false;
}

static bool
reass_match(const struct reass_dgram *d, const struct pkt *p,
    const struct reass_info *fi)
{
	return d->l3 == p->l3 && d->id == fi->id &&
	    memcmp(d->src, fi->src, 16) == 0 &&
	    memcmp(d->dst, fi->dst, 16) == 0 &&
	    (p->l3 == PKT_L3_IP6 || d->proto == fi->proto);
}

/* The slot of p's datagram, a new one, or NULL when the table is full. */
static struct reass_dgram *
reass_slot(struct ip_reass *r, const struct pkt *p,
    const struct reass_info *fi, uint64_t now_ns)
{
	struct reass_dgram *free_d = NULL;

	for (uint16_t i = 0; i < r->max_dgrams; i++) {
		struct reass_dgram *d = &r->d[i];

		if (d->l3 == PKT_L3_NONE) {
			if (free_d == NULL)
				free_d = d;
		} else if (reass_match(d, p, fi))
			return d;
	}
	if (free_d == NULL)
		return NULL;
	memset(free_d, 0, offsetof(struct reass_dgram, frag));
	memcpy(free_d->src, fi->src, 16);
	memcpy(free_d->dst, fi->dst, 16);
	free_d->id = fi->id;
	free_d->proto = fi->proto;
	free_d->l3 = p->l3;
	free_d->expires_ns = now_ns + r->timeout_ns;
	r->used++;
	return free_d;
}

/* Copies the datagram into its first fragment's buffer; NULL (and the
 * slot dropped) when it does not fit. */
static struct pkt *
reass_join(struct ip_reass *r, struct reass_dgram *d)
{
	struct reass_frag *first = NULL;
	struct pkt *p;
	uint8_t *l3;
	size_t room, hdr;
	enum pkt_drop why;

	for (uint8_t i = 0; i < d->n; i++)
		if (d->frag[i].off == 0)
			first = &d->frag[i];
	if (first == NULL) {		/* cannot be: have == total */
		r->st.bad++;
		reass_free_slot(r, d, PKT_DROP_REASS_BAD);
		return NULL;
	}
	p = first->p;
	l3 = p->data + p->l3_off;
	hdr = d->l3 == PKT_L3_IP4 ? (size_t)(l3[0] & 0xf) * 4 : IP6_HDR_LEN;
	room = PKT_BUF_SIZE - (size_t)(p->data - p->head);
	if (p->l3_off + hdr + d->total > room ||
	    hdr + d->total > UINT16_MAX) {
		r->st.bad++;
		reass_free_slot(r, d, PKT_DROP_REASS_BAD);
		return NULL;
	}
	if (d->l3 == PKT_L3_IP4) {
		struct ip4_hdr *ip = (void *)l3;

		ip->tot_len_be = htons((uint16_t)(hdr + d->total));
		ip->frag_be &= htons(IP4_DF);
		pkt_ip4_set_csum(ip);
	} else {
		struct ip6_hdr *ip = (void *)l3;

		/* the fragment header goes: its next header is the
		 * datagram's */
		ip->nxt = l3[IP6_HDR_LEN];
		ip->plen_be = htons((uint16_t)d->total);
		memmove(l3 + hdr, p->data + first->pay, first->len);
	}
	for (uint8_t i = 0; i < d->n; i++) {
		struct reass_frag *f = &d->frag[i];

		if (f == first)
			continue;
		memcpy(l3 + hdr + f->off, f->p->data + f->pay, f->len);
		pkt_free(r->pool, f->p);
	}
	p->len = (uint16_t)(p->l3_off + hdr + d->total);
	d->n = 0;
	d->l3 = PKT_L3_NONE;
	r->used--;
	why = pkt_parse(p, NULL);
	if (why != PKT_DROP_NONE) {
		r->st.bad++;
		r->drop(r->arg, p, why);
		return NULL;
	}
	r->st.reassembled++;
	return p;
}

struct pkt *
ip_reass_add(struct ip_reass *r, struct pkt *p, uint64_t now_ns)
{
	struct reass_info fi;
	struct reass_dgram *d;
	uint32_t end;

	if (!reass_info(p, &fi) || fi.len == 0 ||
	    (fi.more && fi.len % 8 != 0)) {
		r->st.bad++;
		r->drop(r->arg, p, PKT_DROP_REASS_BAD);
		return NULL;
	}
	d = reass_slot(r, p, &fi, now_ns);
	if (d == NULL) {
		ip_reass_expire(r, now_ns);
		d = reass_slot(r, p, &fi, now_ns);
	}
	if (d == NULL) {
		r->st.table_full++;
		r->drop(r->arg, p, PKT_DROP_REASS_FULL);
		return NULL;
	}
	end = (uint32_t)fi.off + fi.len;
	for (uint8_t i = 0; i < d->n; i++) {
		const struct reass_frag *f = &d->frag[i];

		if (f->off == fi.off && f->len == fi.len) {
			r->st.dups++;
			r->drop(r->arg, p, PKT_DROP_REASS_DUP);
			return NULL;
		}
		if (fi.off < f->off + f->len && f->off < end) {
			r->st.overlaps++;
			r->drop(r->arg, p, PKT_DROP_REASS_OVERLAP);
			reass_free_slot(r, d, PKT_DROP_REASS_OVERLAP);
			return NULL;
		}
	}
	/* The final fragment fixes the end: nothing may lie beyond it, and
	 * there is only one. */
	if ((!fi.more && (d->last_in || end < d->have)) ||
	    (d->last_in && end > d->total) || d->n == r->max_frags ||
	    end + fi.hdr > UINT16_MAX) {
		r->st.bad++;
		r->drop(r->arg, p, PKT_DROP_REASS_BAD);
		reass_free_slot(r, d, PKT_DROP_REASS_BAD);
		return NULL;
	}
	if (!fi.more) {
		for (uint8_t i = 0; i < d->n; i++)
			if ((uint32_t)d->frag[i].off + d->frag[i].len > end)
				goto bad;
		d->last_in = true;
		d->total = end;
	}
	d->frag[d->n].p = p;
	d->frag[d->n].off = fi.off;
	d->frag[d->n].len = fi.len;
	d->frag[d->n].pay = fi.pay;
	d->n++;
	d->have += fi.len;
	if (d->last_in && d->have == d->total)
		return reass_join(r, d);
	return NULL;
bad:
	r->st.bad++;
	r->drop(r->arg, p, PKT_DROP_REASS_BAD);
	reass_free_slot(r, d, PKT_DROP_REASS_BAD);
	return NULL;
}

void
ip_reass_expire(struct ip_reass *r, uint64_t now_ns)
{
	if (r->used == 0)
		return;
	for (uint16_t i = 0; i < r->max_dgrams; i++) {
		struct reass_dgram *d = &r->d[i];

		if (d->l3 != PKT_L3_NONE && d->expires_ns <= now_ns) {
			r->st.timeouts++;
			reass_free_slot(r, d, PKT_DROP_REASS_TIMEOUT);
		}
	}
}

unsigned
ip_reass_pending(const struct ip_reass *r)
{
	return r->used;
}

const struct ip_reass_stats *
ip_reass_stats(const struct ip_reass *r)
{
	return &r->st;
}
