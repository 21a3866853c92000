/*
 * src/fw/set.h: named sets (FWSets, like Linux ipset) that rules refer
 * to with -m set --match-set NAME src|dst and -s ${NAME}.
 *
 * Two layers. A struct fw_set is one version of a set's contents: built
 * and changed by the control thread only, then published and never
 * written again, so any thread may look it up without a lock and without
 * allocating. A struct fw_sets is the registry: it maps each name to a
 * stable slot id that compiled rules keep, and each slot holds a pointer
 * to the slot's current version. Changing members never touches rules:
 * the control thread copies the current version (fw_set_clone), edits
 * the copy, and swaps it in with fw_sets_replace(), one atomic exchange.
 *
 * Reclamation: a version taken out of a slot may still be read by a
 * worker that loaded the pointer just before the exchange. Whoever gets
 * it back (fw_sets_replace(), fw_sets_destroy(), fw_sets_restore()) must
 * free it with fw_set_free() only after an RCU grace period; the data
 * plane does that (call_rcu / synchronize_rcu). Nothing here waits.
 *
 * What each type stores and what a lookup uses from struct fw_set_key:
 *   hash:ip       addresses of one family          addr
 *   hash:net      prefixes /1../32 or /1../128     addr, longest prefix
 *   hash:ip,port  address, protocol and port       addr, proto, port
 *   bitmap:port   ports inside range lo-hi         port (has_port)
 *   list:set      other sets, in order             whatever each uses
 * A key of the other family never matches a hash set; a key without a
 * port never matches hash:ip,port or bitmap:port.
 *
 * Layout choices. hash:ip and hash:ip,port are one open-addressing
 * table (linear probing, load at most 1/2) over a packed element array.
 * hash:net follows ipset: the set remembers which prefix lengths it
 * holds and a lookup masks the address to each, longest first, probing
 * the same table keyed by (masked address, length); at most 33 or 129
 * probes, in practice a handful. It answers "is the address inside any
 * member", which is all --match-set asks. bitmap:port is 65536 bits.
 */
#ifndef FW_SET_H
#define FW_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hg.h"
#include "fw.h"

#define FW_SETS_MAX		1024	/* slots in a registry */
#define FW_SET_MAXELEM_DEFAULT	65536
#define FW_SET_LIST_SIZE_DEFAULT 8	/* list:set "size", like ipset */
#define FW_SET_DEPTH_MAX	8	/* list:set nesting a lookup follows */
#define FW_SET_NONE		UINT32_MAX

enum fw_set_type {
	FW_SET_HASH_IP,
	FW_SET_HASH_NET,
	FW_SET_HASH_IP_PORT,
	FW_SET_BITMAP_PORT,
	FW_SET_LIST_SET,
	FW_SET_TYPE_COUNT
};

/* One member, as added and printed. The set ignores the fields its
 * type does not use, gives hosts the full length and masks networks
 * (hash:net prefix 0 or past the family's length means a host). */
struct fw_set_elem {
	uint8_t addr[16];	/* network order, masked; IPv4 in [0..3] */
	uint8_t prefix;		/* hash:net */
	uint8_t proto;		/* hash:ip,port */
	uint16_t port;		/* hash:ip,port, bitmap:port; host order */
	uint32_t id;		/* list:set: the member's slot */
};

/* What the classifier takes from a packet for one --match-set
 * dimension (src or dst). */
struct fw_set_key {
	uint8_t family;		/* enum fw_family */
	uint8_t proto;		/* IP protocol */
	bool has_port;		/* TCP, UDP, SCTP, UDP-Lite */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* network order; IPv4 in [0..3] */
};

struct fw_set;
struct fw_sets;

/* A new, empty version. family is FW_IPV4 or FW_IPV6 for hash types and
 * ignored for the others; range_lo/hi only for bitmap:port. maxelem 0
 * means the type's default. NULL on bad arguments or no memory. */
struct fw_set *fw_set_new(enum fw_set_type type, uint8_t family,
    uint32_t maxelem, uint16_t range_lo, uint16_t range_hi) HG_MUST_CHECK;
/* A private copy to change and publish (copy-on-write). */
struct fw_set *fw_set_clone(const struct fw_set *) HG_MUST_CHECK;
void fw_set_free(struct fw_set *);

/* Control thread, on a version not yet published. add: 0 (also when
 * already there), -ENOSPC past maxelem, -ERANGE outside a bitmap's
 * range, -ENOMEM. del: 0 or -ENOENT. flush empties. list:set members
 * are only stored here; fw_sets_replace() checks they exist and form no
 * cycle. */
int fw_set_add(struct fw_set *, const struct fw_set_elem *) HG_MUST_CHECK;
int fw_set_del(struct fw_set *, const struct fw_set_elem *) HG_MUST_CHECK;
void fw_set_flush(struct fw_set *);

enum fw_set_type fw_set_type(const struct fw_set *);
uint8_t fw_set_family(const struct fw_set *);
uint32_t fw_set_count(const struct fw_set *);
uint32_t fw_set_maxelem(const struct fw_set *);
/* bitmap:port's range; 0-0 for other types. */
void fw_set_range(const struct fw_set *, uint16_t *lo, uint16_t *hi);
const char *fw_set_type_name(enum fw_set_type);
/* Whether e is stored exactly (not: whether it would match). */
bool fw_set_has(const struct fw_set *, const struct fw_set_elem *e);

/*
 * Lookup, any thread, no lock, no allocation. reg resolves list:set
 * members (may be NULL for other types). The registry refuses nesting
 * deeper than FW_SET_DEPTH_MAX lists; a lookup stops there too and
 * answers false, so even a cycle seen while a restore publishes its
 * sets one by one cannot loop.
 */
bool fw_set_test(const struct fw_sets *reg, const struct fw_set *s,
    const struct fw_set_key *k);
/* The same through a slot: loads its version with acquire. */
bool fw_sets_test(const struct fw_sets *reg, uint32_t id,
    const struct fw_set_key *k);

/* Registry. Slot ids stay fixed for a set's life; a destroyed slot is
 * reused later only if no rule holds it (fw_sets_ref). */
struct fw_sets *fw_sets_new(void) HG_MUST_CHECK;
/* Frees the registry and every current version; no reader may run. */
void fw_sets_free(struct fw_sets *);
/* FW_SET_NONE when no such set. */
uint32_t fw_sets_find(const struct fw_sets *, const char *name);
const char *fw_sets_name(const struct fw_sets *, uint32_t id);
/* The current version (acquire load), or NULL. */
const struct fw_set *fw_sets_get(const struct fw_sets *, uint32_t id);
/* Fills names with up to max set names (for fw_parse_opts.sets, valid
 * until the next change) and returns how many sets exist. */
size_t fw_sets_names(const struct fw_sets *, const char **names, size_t max);
/* Rules that use a set hold it, so that it cannot be destroyed. */
void fw_sets_ref(struct fw_sets *, uint32_t id);
void fw_sets_unref(struct fw_sets *, uint32_t id);

/* A new named set with first as its version (ownership passes).
 * -EEXIST, -ENAMETOOLONG, -ENOSPC (no free slot), and for list:set
 * members -ENOENT, -ELOOP or -EMLINK as fw_sets_replace(). */
int fw_sets_create(struct fw_sets *, const char *name, struct fw_set *first,
    uint32_t *id) HG_MUST_CHECK;
/*
 * Publishes v as slot id's version with one atomic exchange and hands
 * back the version it replaces in *old (free it after a grace period).
 * v must have the slot's type and family (-EINVAL), list:set members
 * must exist (-ENOENT), form no cycle (-ELOOP) and nest no deeper than
 * FW_SET_DEPTH_MAX lists (-EMLINK), counting the lists that hold this
 * one; on error nothing changes and v stays the caller's.
 */
int fw_sets_replace(struct fw_sets *, uint32_t id, struct fw_set *v,
    struct fw_set **old) HG_MUST_CHECK;
/* Removes a set; -EBUSY while rules or a list:set use it. */
int fw_sets_destroy(struct fw_sets *, uint32_t id, struct fw_set **old) HG_MUST_CHECK;

/*
 * ipset restore text: create, add, del, flush, destroy, swap, comments
 * ('#') and blank lines. The whole text is checked against a private
 * copy of the registry first; only when every line is good is the
 * result published, set by set (each one atomically). On -EINVAL errs
 * holds every problem with its line and columns (fw_err_format() prints
 * them) and the registry is untouched. The versions it takes out are
 * returned in *retired (malloc'd array of *n_retired, maybe NULL);
 * free each after a grace period, then the array.
 */
int fw_sets_restore(struct fw_sets *, const char *text, size_t len,
    struct fw_set ***retired, size_t *n_retired,
    struct fw_errs *errs) HG_MUST_CHECK;

/* The registry in ipset save form (all creates, then all adds, so that
 * list:set members exist before they are added). malloc'd; NULL when
 * out of memory. */
char *fw_sets_save(const struct fw_sets *) HG_MUST_CHECK;

/* One member as ipset prints it ("10.0.0.0/24", "10.0.0.1,tcp:80").
 * reg names list:set members. Returns the length needed. */
int fw_set_elem_format(const struct fw_sets *reg, const struct fw_set *s,
    const struct fw_set_elem *e, char *buf, size_t size);

/*
 * Inside src/fw only (set.c and set_parse.c); other modules use the
 * functions above. A transaction is a private copy of the registry that
 * fw_sets_restore() edits with the calls above and publishes with
 * fw_sets_tx_commit(); versions it made and did not publish are its
 * caller's to free, and the copy itself is freed with free().
 */
struct fw_sets *fw_sets_tx_begin(const struct fw_sets *) HG_MUST_CHECK;
int fw_sets_tx_commit(struct fw_sets *reg, const struct fw_sets *tx,
    struct fw_set ***retired, size_t *n_retired) HG_MUST_CHECK;
/* Exchanges two sets' contents (ipset swap): same type and family
 * (-EINVAL); -ELOOP / -EMLINK as fw_sets_replace(). */
int fw_sets_swap(struct fw_sets *, uint32_t a, uint32_t b) HG_MUST_CHECK;
int fw_sets_check_members(const struct fw_sets *, uint32_t id,
    const struct fw_set *v) HG_MUST_CHECK;
uint32_t fw_sets_list_users(const struct fw_sets *, uint32_t id);

#endif /* FW_SET_H */
