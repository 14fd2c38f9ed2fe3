/*
 * keep.c - packet memory that outlives the receive call and the ring.
 *
 * A backend hands out pointers into one mapping (af_packet: the TPACKET_V3
 * ring; af_xdp: the UMEM).  They are valid until the next receive call, and
 * a C caller keeps to that.  A caller that gives such pointers to code it
 * does not control (Python's memoryviews, which can be sliced, cast and
 * kept) cannot, so it takes a reference on the mapping with
 * pfring_keep_packet_memory and drops it with pfring_release_packet_memory.
 *
 *   one struct pfringint_mem per mapping, held by the ring (`owned`, from
 *     the mapping's creation until the backend lets it go: pfring_close, a
 *     ring moved to a new socket, new batching) and by each
 *     pfring_keep_packet_memory not yet released (`keeps`)
 *   the ring lets go (pfringint_mem_put): with no keeps it unmaps at
 *     once; otherwise the backend's retire callback runs first, under the
 *     lock, so that what stays mapped holds no kernel object (af_packet
 *     replaces its socket mapping by anonymous memory with a copy of the
 *     block being read), and the last release unmaps
 *
 * ring->rx_mem is the mapping the ring reads from now; it is set and read
 * under keep_lock only, so pfring_keep_packet_memory never races the
 * backend's swap or pfring_close.  Kept mappings are found again by their
 * start address (a short list: one entry per live ring mapping, plus those
 * still held after their ring let go).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

struct pfringint_mem {
  void *start;
  size_t len;
  u_int8_t owned;               /* the ring still reads from it */
  u_int32_t keeps;              /* pfring_keep_packet_memory not yet released */
  struct pfringint_mem *next;
};

static struct pfringint_mem *mems;
static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;

PFRINGINT_HIDDEN struct pfringint_mem *pfringint_mem_new(void *start, size_t len)
{
  struct pfringint_mem *m = calloc(1, sizeof(*m));

  if (!m)
    return NULL;
  m->start = start;
  m->len = len;
  m->owned = 1;
  pthread_mutex_lock(&keep_lock);
  m->next = mems;
  mems = m;
  pthread_mutex_unlock(&keep_lock);
  return m;
}

PFRINGINT_HIDDEN struct pfringint_mem *pfringint_mem_swap(pfring *ring, struct pfringint_mem *m)
{
  struct pfringint_mem *old;

  pthread_mutex_lock(&keep_lock);
  old = ring->rx_mem;
  ring->rx_mem = m;
  pthread_mutex_unlock(&keep_lock);
  return old;
}

/* Called with keep_lock held, once nobody holds m. */
static void unmap_locked(struct pfringint_mem *m)
{
  struct pfringint_mem **pp;

  for (pp = &mems; *pp; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  munmap(m->start, m->len);
  free(m);
}

PFRINGINT_HIDDEN int pfringint_mem_put(struct pfringint_mem *m, void (*retire)(void *ctx),
                                       void *ctx)
{
  int kept = 0;

  if (!m)
    return 0;
  pthread_mutex_lock(&keep_lock);
  if (m->keeps == 0) {
    unmap_locked(m);
  } else {
    if (retire)
      retire(ctx);
    m->owned = 0;
    kept = 1;
  }
  pthread_mutex_unlock(&keep_lock);
  return kept;
}

PFRING_API void *pfring_keep_packet_memory(pfring *ring, size_t *len)
{
  struct pfringint_mem *m = NULL;

  if (!ring || !len) {
    errno = EINVAL;
    return NULL;
  }
  pthread_mutex_lock(&keep_lock);
  if (!__atomic_load_n(&ring->closed, __ATOMIC_SEQ_CST) && (m = ring->rx_mem))
    m->keeps++;
  pthread_mutex_unlock(&keep_lock);
  if (!m) {
    if (__atomic_load_n(&ring->closed, __ATOMIC_SEQ_CST))
      pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, EBADF,
                       "ring used after pfring_close");
    else
      pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, ENOTSUP,
                       "this ring hands out no packet memory");
    return NULL;
  }
  *len = m->len;
  return m->start;
}

PFRING_API int pfring_release_packet_memory(void *start)
{
  struct pfringint_mem *m;

  pthread_mutex_lock(&keep_lock);
  for (m = mems; m; m = m->next)
    if (m->start == start && m->keeps)
      break;
  if (m && --m->keeps == 0 && !m->owned)
    unmap_locked(m);
  pthread_mutex_unlock(&keep_lock);
  if (!m) {
    errno = EINVAL;
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  return 0;
}
