/*
 * src/dp/mirror.h: COPY sessions (mirror.c, MACRO_CUST -j COPY): every
 * frame received on, and with --bidirectional sent on, an interface goes
 * in a VXLAN copy to a collector, or unencapsulated to a TAP or a pcap
 * file (docs/firewall.md "Mirroring traffic").  The session table and the
 * copying are here; the VXLAN headers are src/tun's (tun_vxlan_build()),
 * a pcap file is written by src/io's pcap writer.
 *
 * Private to src/dp: dp_priv.h includes it last, after the worker and
 * data plane structs it uses.
 */
#ifndef DP_MIRROR_H
#define DP_MIRROR_H

#define DP_COPY_HELD_MAX	8	/* copies per session and worker that may
					   wait for the collector's neighbour */
#define DP_COPY_GIVE_UP_NS	((IP_NEIGH_PROBES + 1) * IP_NEIGH_RETRANS_NS)

struct dp_copy_sink;	/* a tap:NAME or pcap:/PATH destination */

/* A copy carries this in pkt->user: bits 63..48 the magic, 47..32 the
 * table's generation, bit 8 "held for the neighbour", 7..0 the session. */
#define DP_COPY_MAGIC		0x4d52ULL	/* "MR" */
#define DP_COPY_HELD		0x100ULL

struct dp_copy_sess {
	const struct fw_prog *prog;	/* whose rule it is */
	uint32_t rule;			/* in prog */
	uint32_t pos;			/* in MACRO_CUST, 1-based */
	uint32_t vni;
	uint16_t from_if;		/* FW_IF_NONE: no such interface */
	uint8_t family;			/* FW_IPV4 / FW_IPV6 */
	bool bidirectional;
	bool match_all;			/* copies frames the parser refused */
	uint8_t to_kind;		/* enum fw_copy_to */
	uint16_t snaplen;		/* bytes of each frame kept; 0: all */
	char from[FW_IFNAME_MAX];
	uint8_t to[16];
	char local[FW_COPY_LOCAL_MAX];	/* TAP name or pcap path */
	struct dp_copy_sink *sink;	/* TAP, pcap; NULL: did not open */
};

/* One worker's counters of one session; only that worker writes. */
struct dp_copy_ctr {
	uint64_t sent, dropped, truncated;
	uint64_t held;			/* copies in the router's queue */
	uint64_t held_ns;		/* the queue last moved */
};

/* Built per firewall (dp_fw_swap), read-only for workers but counters. */
struct dp_mirror {
	uint16_t gen;
	uint16_t n_workers;
	uint32_t n;
	uint32_t rx[IP_IF_MAX];		/* sessions copying what i receives */
	uint32_t tx[IP_IF_MAX];		/* ... and what hexgate sends on i */
	struct dp_copy_sess s[DP_COPY_MAX];
	uint64_t base_sent[DP_COPY_MAX];	/* carried from older tables */
	uint64_t base_dropped[DP_COPY_MAX];
	uint64_t base_truncated[DP_COPY_MAX];
	struct dp_copy_ctr ctr[];	/* [worker * DP_COPY_MAX + session] */
};

/* Control thread, dp_fw_swap(): builds fw->mirror from the programs
 * (NULL when there is no COPY rule), opening the TAPs and pcap files it
 * names or sharing those the old table has open, then after the grace
 * period carries the old table's counters over.  dp_mirror_free() closes
 * what no table uses any more, after the last frame was written. */
void dp_mirror_attach(struct dp *dp, struct dp_fw *fw);
void dp_mirror_carry(struct dp_fw *fw, const struct dp_fw *old);
void dp_mirror_free(struct dp_mirror *m);

/* Data plane, slow path: copies p for each session in the bit set. */
void dp_mirror_frame(struct dp_worker *w, const struct dp_mirror *m,
    uint32_t sessions, const struct pkt *p, bool rx, bool parsed,
    uint64_t now_ns);
/* A copy reached the port: count it. */
void dp_mirror_sent(struct dp_worker *w, const struct dp_mirror *m,
    const struct pkt *c, uint64_t now_ns);

static inline const struct dp_mirror *
dp_mirror_of(const struct dp_worker *w)
{
	return w->fw != NULL ? w->fw->mirror : NULL;
}

/* Port RX, right after pkt_parse(): one load and one test per frame
 * when the interface has no session. */
static inline void
dp_mirror_rx(struct dp_worker *w, const struct pkt *p, bool parsed,
    uint64_t now_ns)
{
	const struct dp_mirror *m = dp_mirror_of(w);

	if (hg_unlikely(m != NULL && m->rx[p->in_if] != 0))
		dp_mirror_frame(w, m, m->rx[p->in_if], p, true, parsed, now_ns);
}

/* A packet a tunnel or the overlay decrypted, with its Ethernet header
 * and in_if the tunnel's interface: copied as that interface's received
 * frames are.  Parsed here only when a session wants it (re-entry
 * parses it again). */
static inline void
dp_mirror_reentry(struct dp_worker *w, struct pkt *p, uint64_t now_ns)
{
	const struct dp_mirror *m = dp_mirror_of(w);

	if (hg_likely(m == NULL || m->rx[p->in_if] == 0))
		return;
	dp_mirror_rx(w, p, pkt_parse(p, NULL) == PKT_DROP_NONE, now_ns);
}

/* TX flush, for each frame about to be handed to the port p->out_if.
 * Copies themselves are counted, never copied again: a collector behind
 * the mirrored interface does not loop. */
static inline void
dp_mirror_tx(struct dp_worker *w, const struct pkt *p, uint64_t now_ns)
{
	const struct dp_mirror *m = dp_mirror_of(w);

	if (hg_likely(m == NULL))
		return;
	if (hg_unlikely((p->user >> 48) == DP_COPY_MAGIC))
		dp_mirror_sent(w, m, p, now_ns);
	else if (hg_unlikely(m->tx[p->out_if] != 0))
		dp_mirror_frame(w, m, m->tx[p->out_if], p, false, true, now_ns);
}

#endif /* DP_MIRROR_H */
