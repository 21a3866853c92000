/*
 * src/pkt/pool.c: the per-worker packet pool.  One aligned allocation holds
 * every struct pkt with its buffer right behind it, so a packet's metadata
 * and its first bytes of data are near each other; allocation and freeing
 * are the inline stack pops and pushes in pkt.h.  Nothing here runs per
 * packet except the bounds-checked grow helpers at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

/* The buffer ends at the end of its stride, so it starts this far in. */
#define PKT_HEAD_OFF	(PKT_POOL_STRIDE - PKT_BUF_SIZE)

_Static_assert(PKT_HEAD_OFF >= sizeof(struct pkt),
    "struct pkt overlaps its buffer");
_Static_assert(PKT_HEAD_OFF % HG_CACHE_LINE == 0,
    "packet buffer is not cache-line aligned");
_Static_assert(PKT_DATA_ROOM < UINT16_MAX, "frame length must fit len");

int
pkt_pool_create(struct pkt_pool **out, uint32_t n_bufs)
{
	struct pkt_pool *pool;
	void *mem;
	uint64_t mem_bytes = (uint64_t)n_bufs * PKT_POOL_STRIDE;
	uint32_t i;

	*out = NULL;
	if (n_bufs == 0 || mem_bytes > SIZE_MAX)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return -ENOMEM;
	pool->free_idx = calloc(n_bufs, sizeof(*pool->free_idx));
	if (pool->free_idx == NULL)
		goto nomem;
	if (posix_memalign(&mem, HG_CACHE_LINE, (size_t)mem_bytes) != 0)
		goto nomem;
	pool->mem = mem;
	pool->n_bufs = n_bufs;

	for (i = 0; i < n_bufs; i++) {
		struct pkt *p = pkt_pool_get(pool, i);

		memset(p, 0, sizeof(*p));
		p->pool_idx = i;
		p->head = (uint8_t *)p + PKT_HEAD_OFF;
		p->data = p->head + PKT_HEADROOM;
		/* Lowest index on top: a fresh pool hands out 0, 1, 2... */
		pool->free_idx[i] = n_bufs - 1 - i;
	}
	pool->n_free = n_bufs;
	*out = pool;
	return 0;

nomem:
	free(pool->free_idx);
	free(pool);
	return -ENOMEM;
}

void
pkt_pool_destroy(struct pkt_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->mem);
	free(pool->free_idx);
	free(pool);
}

void *
pkt_prepend(struct pkt *p, uint16_t n_bytes)
{
	if (n_bytes > pkt_headroom(p))
		return NULL;
	p->data -= n_bytes;
	p->len += n_bytes;
	return p->data;
}

void *
pkt_append(struct pkt *p, uint16_t n_bytes)
{
	uint8_t *tail;

	if (n_bytes > pkt_tailroom(p))
		return NULL;
	tail = p->data + p->len;
	p->len += n_bytes;
	return tail;
}

/* Puts data back after the standard headroom: a packet reused for a new
 * frame may have been prepended to or pulled before. */
int
pkt_set_frame(struct pkt *p, const void *frame, uint16_t len)
{
	if (len > PKT_DATA_ROOM)
		return -EMSGSIZE;
	p->data = p->head + PKT_HEADROOM;
	memcpy(p->data, frame, len);
	p->len = len;
	return 0;
}
