/*
 * dna_cluster.c - the slave side of a DNA Cluster (libzero):
 * pfring_open("dnacluster:ID@APP") maps the cluster's shared memory and
 * receives app APP's queue.  The layout and the protocol are in
 * libpfring/src/dna_cluster_shm.h; the master is libpfring/src/dna_cluster.c.
 *
 * A packet handed out points into the shared pool (no copy) and stays valid
 * until the next receive call, which publishes the queue's tail: from then
 * on the master may reuse the buffer.  Receiving reads descriptors and
 * makes no system call while packets are queued; an empty queue sleeps on
 * the app's futex word (FUTEX_WAIT, woken by the master), or yields the CPU
 * in a loop when the master set active waiting.  While waiting, and at most
 * every CHECK_MS in a non-blocking caller, the slave checks that its master
 * is alive (the master's lock byte): a dead or destroyed master makes the
 * next receive call fail with a message, once the queue is empty.
 *
 * Sending (the master in send_only_mode or send_and_recv_mode): pfring_send
 * copies the frame into a free TX buffer of the app (the free list is
 * private), writes a descriptor at the private TX head, and publishes the
 * head on a flush (or when the queue is full).  Buffers come back to the
 * free list once the master's tx_tail passed their descriptors.
 *
 * Keeping packets aside (the pkt_buff API at the end of this file):
 * pfring_recv_pkt_buff hands the handle the packet where the master put it,
 * in the pool, and pins its queue position; pfring_send_pkt_buff of such a
 * handle queues a TX descriptor that names the RX slot, and the pin moves
 * to that TX slot until the master's tx_tail passed it.  The tail
 * published is then the oldest pin (min_pin) when it is older than what
 * the receive calls let go (free_upto); no packet's bytes are copied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pfring_int.h"
#include "dna_cluster_shm.h"

#define PFRING_API __attribute__((visibility("default")))
#define PRIV(r) ((struct dcl_priv *)(r)->priv)
#define PKT_BUFF_MAGIC 0x504b4246u       /* "PKBF" */
#define CHECK_MS 100              /* master liveness checks, at most this often */
#define SLEEP_MS 100              /* longest single futex wait */
#define JOIN_WAIT_MS 1000         /* how long a join waits for a flush to end */
#define DRAIN_WAIT_MS 1000        /* how long a flush or close waits for the master to send */

struct dcl_priv {
  int fd;
  void *base;
  size_t size;
  struct dnacl_hdr *hdr;
  struct dnacl_app *app;
  struct dnacl_desc *q;
  u_int32_t mask, token;
  u_int64_t read;                 /* next descriptor to hand out */
  u_int64_t released;             /* the tail published */
  u_int64_t free_upto;            /* what the receive calls let go: read at the last one */
  u_int32_t num_pins;             /* positions held by handles and TX slots */
  u_int8_t reentrant;             /* the ring's PF_RING_REENTRANT: TX state is tx_lock's */
  u_int64_t min_pin;              /* the oldest of them (num_pins > 0) */
  u_int64_t dropped_base, delivered_base;
  struct pfringint_mem *mem;      /* the mapping, as keep.c hands it out */
  /* the geometry, read once at open: descriptors are checked against it */
  struct dnacl_hdr geo;
  u_char *bufs;
  struct timespec last_check;
  /* transmission (tx_slots 0: the cluster is in recv_only_mode) */
  struct dnacl_desc *txq;
  u_char *txbufs;                 /* the app's TX buffers */
  u_int32_t tx_slots, tx_mask, tx_nbufs;
  u_int64_t tx_next;              /* next descriptor written */
  u_int64_t tx_pub;               /* the tx_head published */
  u_int64_t tx_done;              /* buffers given back up to here */
  u_int32_t *tx_shadow;           /* per TX slot: its buffer, or TX_PINNED */
  u_int64_t *tx_pin;              /* per TX slot of TX_PINNED: the RX position it sends */
  u_int32_t *tx_free;             /* free TX buffers */
  u_int32_t tx_free_top;
  /* pkt_buff handles: tx_nbufs - tx_slots of them, made at join */
  struct pfring_pkt_buff *handles;
  u_int32_t num_handles, handles_held;
};

#define TX_PINNED 0xffffffffu     /* tx_shadow: the slot sends a pinned RX packet */

/* A pkt_buff handle: one TX buffer of the app, held by the slave; after
 * pfring_recv_pkt_buff (pinned) the handle's frame is the received packet
 * in the pool instead, at RX position pos, and buf waits for the handle's
 * next frame. */
struct pfring_pkt_buff {
  u_int32_t magic;
  u_int32_t in_use;
  pfring *ring;
  u_int32_t buf;
  u_int32_t len;
  int32_t if_index;
  u_int32_t pinned;
  u_int32_t pool_buf;             /* pinned: the packet's buffer in the pool */
  u_int64_t pos;                  /* pinned: its position in the RX queue */
};

static long ms_since(const struct timespec *t)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* 0 while the master lives; an error (set on the ring) once it is gone.
 * force: check the lock now, not at most every CHECK_MS. */
static int check_master(pfring *ring, int force)
{
  struct dcl_priv *p = PRIV(ring);

  if (__atomic_load_n(&p->hdr->state, __ATOMIC_ACQUIRE) == DNACL_GONE)
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, ENOTCONN,
                            "%s: the master of DNA cluster %u (pid %u) destroyed the cluster",
                            ring->bound_name, p->hdr->cluster_id, p->hdr->master_pid);
  if (!force && ms_since(&p->last_check) < CHECK_MS)
    return 0;
  clock_gettime(CLOCK_MONOTONIC, &p->last_check);
  if (!dnacl_locked(p->fd, DNACL_LOCK_MASTER))
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, ENOTCONN,
                            "%s: the master of DNA cluster %u (pid %u) died",
                            ring->bound_name, p->hdr->cluster_id, p->hdr->master_pid);
  return 0;
}

static inline u_int64_t head_of(struct dcl_priv *p)
{
  return __atomic_load_n(&p->app->head, __ATOMIC_ACQUIRE);
}

/* The packet of a descriptor; NULL for one that does not describe a buffer
 * of the pool (the memory was written by something else than the master). */
static inline u_char *pkt_of(struct dcl_priv *p, const struct dnacl_desc *d, u_int32_t *caplen)
{
  if (__builtin_expect(d->buf >= p->geo.num_bufs || d->caplen > p->geo.buf_size, 0))
    return NULL;
  *caplen = d->caplen;
  return p->bufs + (size_t)d->buf * p->geo.buf_size;
}

static int corrupt(pfring *ring)
{
  return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, EPROTO,
                          "%s: a descriptor of the queue points outside the packet pool; "
                          "the cluster's memory is corrupt", ring->bound_name);
}

static void tx_reclaim(struct dcl_priv *p);

/* The tail: what the receive calls let go, up to the oldest pin. */
static void publish_tail(struct dcl_priv *p)
{
  u_int64_t t = p->free_upto;

  if (p->num_pins && p->min_pin < t)
    t = p->min_pin;
  if (t > p->released) {
    __atomic_store_n(&p->app->tail, t, __ATOMIC_RELEASE);
    p->released = t;
  }
}

/* The packets of the last call go back to the master (but the pinned:
 * those of TX slots the master consumed are let go first, where this
 * thread may touch the TX state). */
static inline void release_last(struct dcl_priv *p)
{
  p->free_upto = p->read;
  if (__builtin_expect(p->num_pins == 0, 1)) {
    if (p->released != p->read) {
      __atomic_store_n(&p->app->tail, p->read, __ATOMIC_RELEASE);
      p->released = p->read;
    }
    return;
  }
  if (p->tx_slots && !p->reentrant)
    tx_reclaim(p);
  publish_tail(p);
}

static void pin(struct dcl_priv *p, u_int64_t pos)
{
  if (p->num_pins++ == 0 || pos < p->min_pin)
    p->min_pin = pos;
}

/* The oldest pin, counted anew (the handles and the TX slots in flight). */
static u_int64_t oldest_pin(struct dcl_priv *p)
{
  u_int64_t m = UINT64_MAX, t;
  u_int32_t i;

  for (i = 0; i < p->num_handles; i++)
    if (p->handles[i].in_use && p->handles[i].pinned && p->handles[i].pos < m)
      m = p->handles[i].pos;
  for (t = p->tx_done; t != p->tx_next; t++)
    if (p->tx_shadow[t & p->tx_mask] == TX_PINNED && p->tx_pin[t & p->tx_mask] < m)
      m = p->tx_pin[t & p->tx_mask];
  return m;
}

/* Position pos is held no more (its holder forgot it already); 1 when it
 * was the oldest pin, so that min_pin must be counted anew. */
static inline int drop_pin(struct dcl_priv *p, u_int64_t pos)
{
  return --p->num_pins && pos == p->min_pin;
}

/* After drop_pin: min_pin counted anew if stale, and the tail published. */
static void pins_changed(struct dcl_priv *p, int stale)
{
  if (stale)
    p->min_pin = oldest_pin(p);
  publish_tail(p);
}

static void unpin(struct dcl_priv *p, u_int64_t pos)
{
  pins_changed(p, drop_pin(p, pos));
}

/* Waits up to ms for a descriptor: 0 (look again), WAIT_SIGNALLED, <0 error. */
static int wait_queue(pfring *ring, int ms)
{
  struct dcl_priv *p = PRIV(ring);
  struct timespec ts;
  u_int32_t seq;
  int rc = 0;

  if ((rc = check_master(ring, 0)) < 0)
    return rc;
  if (ms <= 0)
    return 0;
  if (ms > SLEEP_MS)
    ms = SLEEP_MS;
  if (__atomic_load_n(&p->hdr->active_wait, __ATOMIC_RELAXED)) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (head_of(p) == p->read && !ring->break_recv_loop && ms_since(&start) < ms)
      sched_yield();
    return 0;
  }
  seq = __atomic_load_n(&p->app->seq, __ATOMIC_SEQ_CST);
  __atomic_store_n(&p->app->waiting, 1, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (head_of(p) == p->read && !ring->break_recv_loop &&
      __atomic_load_n(&p->hdr->state, __ATOMIC_ACQUIRE) != DNACL_GONE) {
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    if (syscall(SYS_futex, &p->app->seq, FUTEX_WAIT, seq, &ts, NULL, 0) < 0 && errno == EINTR)
      rc = WAIT_SIGNALLED;
  }
  __atomic_store_n(&p->app->waiting, 0, __ATOMIC_RELAXED);
  return rc;
}

/* 1 a descriptor is ready, 0 none (no wait, or a break), <0 error. */
static int ready_or_wait(pfring *ring, u_int8_t wait)
{
  struct dcl_priv *p = PRIV(ring);
  int rc;

  release_last(p);
  while (head_of(p) == p->read) {
    if (!wait || ring->break_recv_loop)
      return (rc = check_master(ring, 0)) < 0 ? rc : 0;
    rc = wait_queue(ring, (int)ring->poll_duration);
    if (rc < 0)
      return rc;
    if (ring->break_recv_loop)
      return 0;
  }
  return 1;
}

static int dcl_recv(pfring *ring, u_char **buffer, struct pfring_pkthdr *hdr, u_int8_t wait)
{
  struct dcl_priv *p = PRIV(ring);
  const struct dnacl_desc *d;
  u_char *pkt;
  u_int32_t caplen;
  int rc = ready_or_wait(ring, wait);

  if (rc <= 0)
    return rc;
  d = &p->q[p->read & p->mask];
  if (!(pkt = pkt_of(p, d, &caplen)))
    return corrupt(ring);
  p->read++;
  hdr->ts.tv_sec = (time_t)(d->ts_ns / 1000000000ull);
  hdr->ts.tv_usec = (suseconds_t)(d->ts_ns % 1000000000ull / 1000);
  hdr->caplen = caplen < ring->caplen ? caplen : ring->caplen;
  hdr->len = d->len;
  hdr->extended_hdr.timestamp_ns = d->ts_ns;
  hdr->extended_hdr.flags = 0;
  hdr->extended_hdr.rx_direction = d->rx_direction;
  hdr->extended_hdr.port_id = 0;
  hdr->extended_hdr.device_id = 0;
  hdr->extended_hdr.if_index = d->if_index;
  hdr->extended_hdr.pkt_hash = d->hash;
  *buffer = pkt;
  return 1;
}

static int dcl_recv_burst(pfring *ring, struct pfring_burst_pkt *out, u_int max, u_int8_t wait)
{
  struct dcl_priv *p = PRIV(ring);
  u_int64_t head;
  u_int n = 0;
  int rc = ready_or_wait(ring, wait);

  if (rc <= 0)
    return rc;
  head = head_of(p);
  while (n < max && p->read != head) {
    const struct dnacl_desc *d = &p->q[p->read & p->mask];
    struct pfring_burst_pkt *o = &out[n];
    u_int32_t caplen;
    u_char *pkt = pkt_of(p, d, &caplen);

    if (!pkt)
      return n ? (int)n : corrupt(ring);
    n++;
    p->read++;
    o->data = pkt;
    o->ts_sec = d->ts_ns / 1000000000ull;
    o->ts_nsec = (u_int32_t)(d->ts_ns % 1000000000ull);
    o->caplen = caplen < ring->caplen ? caplen : ring->caplen;
    o->len = d->len;
    o->if_index = d->if_index;
    o->rx_direction = d->rx_direction;
    o->flags = 0;
  }
  return (int)n;
}

static int dcl_count(pfring *ring, u_int max, u_int64_t *bytes, u_char **last,
                     u_int32_t *last_len)
{
  struct dcl_priv *p = PRIV(ring);
  u_int64_t head;
  u_int n = 0;
  int rc = ready_or_wait(ring, 0);

  if (rc <= 0)
    return rc;
  head = head_of(p);
  while (n < max && p->read != head) {
    const struct dnacl_desc *d = &p->q[p->read & p->mask];
    u_int32_t caplen;
    u_char *pkt = pkt_of(p, d, &caplen);

    if (!pkt)
      return n ? (int)n : corrupt(ring);
    p->read++;
    n++;
    *bytes += d->len;
    *last = pkt;
    *last_len = caplen;
  }
  return (int)n;
}

static u_int32_t dcl_num_queued(pfring *ring)
{
  struct dcl_priv *p = PRIV(ring);
  return (u_int32_t)(head_of(p) - p->read);
}

static int dcl_is_pkt_available(pfring *ring)
{
  return dcl_num_queued(ring) > 0;
}

static int dcl_poll(pfring *ring, u_int wait_ms)
{
  struct timespec start;
  long left;
  int rc;

  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (dcl_num_queued(ring) >= ring->poll_watermark)
      return 1;
    if (ring->break_recv_loop)
      return 0;
    left = (long)wait_ms - ms_since(&start);
    if (left <= 0)
      return (rc = check_master(ring, 0)) < 0 ? rc : 0;
    rc = wait_queue(ring, (int)left);
    if (rc < 0)
      return rc;
    if (rc == WAIT_SIGNALLED)
      return 0;
  }
}

static void dcl_wake(pfring *ring)
{
  struct dcl_priv *p = PRIV(ring);
  __atomic_add_fetch(&p->app->seq, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &p->app->seq, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

static int dcl_enable(pfring *ring)
{
  return 0;
}

static int dcl_disable(pfring *ring)
{
  return 0;
}

static int dcl_set_promisc(pfring *ring, int on)
{
  return 0;                       /* the master's rings decide */
}

static int dcl_kernel_counters(pfring *ring, u_int64_t *seen, u_int64_t *dropped)
{
  struct dcl_priv *p = PRIV(ring);
  *seen = __atomic_load_n(&p->app->delivered, __ATOMIC_RELAXED) - p->delivered_base;
  *dropped = __atomic_load_n(&p->app->dropped, __ATOMIC_RELAXED) - p->dropped_base;
  return 0;
}

static u_int64_t dcl_memory(pfring *ring)
{
  return PRIV(ring)->size;
}

/* The status file's lines of a slave (the writer's thread; the ring is
 * unregistered before dcl_close unmaps the memory). */
static void dcl_status(void *arg, void *text)
{
  struct dcl_priv *p = arg;
  u_int64_t head = __atomic_load_n(&p->app->head, __ATOMIC_ACQUIRE);
  u_int64_t tail = __atomic_load_n(&p->app->tail, __ATOMIC_ACQUIRE);

  pfringint_status_field(text, "DNA Cluster Master", "pid %u",
                         __atomic_load_n(&p->hdr->master_pid, __ATOMIC_RELAXED));
  pfringint_status_field(text, "DNA Queue Fill", "%llu/%u",
                         (unsigned long long)(head > tail ? head - tail : 0),
                         p->geo.queue_slots);
}

/* The buffers of what the master sent (or dropped) go back to the free
 * list: its tx_tail, clamped to what was written. */
static void tx_reclaim(struct dcl_priv *p)
{
  u_int64_t t = __atomic_load_n(&p->app->tx_tail, __ATOMIC_ACQUIRE);
  int pinned = 0, stale = 0;

  if (t - p->tx_done > p->tx_next - p->tx_done)
    return;                       /* not a position of this queue: ignored */
  while (p->tx_done != t) {
    u_int32_t slot = (u_int32_t)(p->tx_done & p->tx_mask);
    p->tx_done++;
    if (p->tx_shadow[slot] == TX_PINNED) {   /* the master sent it (or dropped it) */
      stale |= drop_pin(p, p->tx_pin[slot]);
      pinned = 1;
    } else {
      p->tx_free[p->tx_free_top++] = p->tx_shadow[slot];
    }
  }
  if (pinned)
    pins_changed(p, stale);
}

static inline void tx_publish(struct dcl_priv *p)
{
  if (p->tx_pub != p->tx_next) {
    __atomic_store_n(&p->app->tx_head, p->tx_next, __ATOMIC_RELEASE);
    p->tx_pub = p->tx_next;
  }
}

static int no_tx(pfring *ring)
{
  struct dcl_priv *p = PRIV(ring);
  return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                          "%s: DNA cluster %u is in recv_only_mode: its slaves cannot send "
                          "(the master chooses send_only_mode or send_and_recv_mode with "
                          "dna_cluster_set_mode)", ring->bound_name, p->geo.cluster_id);
}

static void queue_buf(struct dcl_priv *p, u_int32_t buf, u_int len, int if_index);
static void queue_pinned(struct dcl_priv *p, u_int64_t pos, u_int len, int if_index);

/* 0 when a TX slot and (need_buf) a free buffer are there, else an error. */
static int tx_room(pfring *ring, int need_buf)
{
  struct dcl_priv *p = PRIV(ring);
  int rc;

  if (p->tx_next - p->tx_done >= p->tx_slots || (need_buf && p->tx_free_top == 0)) {
    tx_reclaim(p);
    if (p->tx_next - p->tx_done >= p->tx_slots || (need_buf && p->tx_free_top == 0)) {
      tx_publish(p);              /* so that the master makes room */
      if ((rc = check_master(ring, 0)) < 0)
        return rc;
      return pfringint_seterr(ring, PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, ENOBUFS,
                              "%s: the TX queue of app %u is full (%u frames)",
                              ring->bound_name, ring->spec.dna_app_id, p->tx_slots);
    }
  }
  return 0;
}

static int dcl_send(pfring *ring, const u_char *pkt, u_int len, int if_index)
{
  struct dcl_priv *p = PRIV(ring);
  u_int32_t buf;
  int rc;

  if (!p->tx_slots)
    return no_tx(ring);
  if (len > p->geo.buf_size)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EMSGSIZE,
                            "%s: packet of %u bytes is longer than the buffers of DNA "
                            "cluster %u (%u bytes)", ring->bound_name, len,
                            p->geo.cluster_id, p->geo.buf_size);
  if ((rc = tx_room(ring, 1)) < 0)
    return rc;
  buf = p->tx_free[--p->tx_free_top];
  memcpy(p->txbufs + (size_t)buf * p->geo.buf_size, pkt, len);   /* the one copy */
  queue_buf(p, buf, len, if_index);
  return (int)len;
}

/* Descriptor tx_next for TX buffer buf (the caller made sure of a slot). */
static void queue_buf(struct dcl_priv *p, u_int32_t buf, u_int len, int if_index)
{
  struct dnacl_desc *d = &p->txq[p->tx_next & p->tx_mask];

  d->buf = buf;
  d->caplen = len;
  d->len = len;
  d->if_index = if_index;
  d->ts_ns = 0;
  d->rx_direction = 0;
  d->hash = 0;
  p->tx_shadow[p->tx_next & p->tx_mask] = buf;
  p->tx_next++;
}

/* Descriptor tx_next for the pinned RX packet at pos (the caller made sure
 * of a slot, and hands its pin over to the TX slot). */
static void queue_pinned(struct dcl_priv *p, u_int64_t pos, u_int len, int if_index)
{
  queue_buf(p, DNACL_TX_RX_SLOT | (u_int32_t)(pos & p->mask), len, if_index);
  p->tx_shadow[(p->tx_next - 1) & p->tx_mask] = TX_PINNED;
  p->tx_pin[(p->tx_next - 1) & p->tx_mask] = pos;
}

/* Waits (bounded) until the master consumed everything published, while
 * the cluster runs. */
static void tx_wait_drained(struct dcl_priv *p)
{
  struct timespec start;

  u_int64_t left;

  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    left = p->tx_pub - __atomic_load_n(&p->app->tx_tail, __ATOMIC_ACQUIRE);
    if (left == 0 || left > p->tx_slots ||      /* done, or not a position of ours */
        __atomic_load_n(&p->hdr->state, __ATOMIC_ACQUIRE) != DNACL_RUNNING ||
        ms_since(&start) >= DRAIN_WAIT_MS)
      return;
    poll(NULL, 0, 1);
  }
}

static int dcl_flush_tx(pfring *ring, u_int8_t wait)
{
  struct dcl_priv *p = PRIV(ring);

  if (!p->tx_slots)
    return 0;
  tx_publish(p);
  if (wait)
    tx_wait_drained(p);
  return 0;
}

static void dcl_close(pfring *ring)
{
  struct dcl_priv *p = PRIV(ring);
  u_int32_t token = p->token;

  if (p->base && p->tx_slots && p->token) {
    tx_publish(p);
    tx_wait_drained(p);
  }
  free(p->tx_shadow);
  free(p->tx_pin);
  free(p->tx_free);
  free(p->handles);
  p->handles = NULL;
  p->num_handles = p->handles_held = 0;
  p->tx_shadow = p->tx_free = NULL;
  p->tx_pin = NULL;
  p->num_pins = 0;
  p->tx_slots = 0;
  if (p->base) {
    __atomic_store_n(&p->app->tail, p->read, __ATOMIC_RELEASE);
    __atomic_compare_exchange_n(&p->app->owner, &token, 0, 0, __ATOMIC_ACQ_REL,
                                __ATOMIC_RELAXED);
    /* Unmapped now, or by the last pfring_release_packet_memory of a caller
     * that keeps it (the master may reuse the buffers from now on). */
    pfringint_mem_swap(ring, NULL);
    pfringint_mem_put(p->mem, NULL, NULL);
    p->mem = NULL;
    p->base = NULL;
  }
  if (p->fd >= 0) {
    close(p->fd);                 /* drops the app's lock */
    p->fd = -1;
  }
}

/* ------------------------------------------------------------------------ */
/* Joining                                                                   */

static int map_cluster(pfring *ring, u_int32_t id)
{
  struct dcl_priv *p = PRIV(ring);
  struct dnacl_hdr h;
  struct stat st;
  char path[64];

  snprintf(path, sizeof(path), "%s/%s%u", DNACL_SHM_DIR, DNACL_SHM_PREFIX, id);
  p->fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (p->fd < 0) {
    if (errno == ENOENT)
      return pfringint_seterr(ring, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                              "%s: there is no DNA cluster %u (its master is not running: "
                              "start it first)", ring->bound_name, id);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "%s: cannot open %s", ring->bound_name, path);
  }
  if (fstat(p->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 077))
    return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, EPERM,
                            "%s: %s is not a private file of this user; refusing it",
                            ring->bound_name, path);
  if ((size_t)st.st_size < sizeof(h) || pread(p->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
      __atomic_load_n(&h.state, __ATOMIC_RELAXED) == DNACL_CREATING)
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EAGAIN,
                            "%s: DNA cluster %u is being created; try again",
                            ring->bound_name, id);
  if (h.magic != DNACL_MAGIC || h.version != DNACL_VERSION || h.cluster_id != id ||
      h.num_apps == 0 || h.num_apps > DNA_CLUSTER_MAX_APPS || h.queue_slots == 0 ||
      (h.queue_slots & (h.queue_slots - 1)) || h.buf_size == 0 || h.num_bufs == 0 ||
      (h.tx_slots & (h.tx_slots - 1)) || h.tx_bufs < h.tx_slots || (!h.tx_slots && h.tx_bufs))
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EPROTO,
                            "%s: %s is not the memory of a DNA cluster of this version",
                            ring->bound_name, path);
  {
    struct dnacl_hdr check = h;
    dnacl_layout(&check);
    if (check.total_size != h.total_size || check.bufs_off != h.bufs_off ||
        check.txq_off != h.txq_off || check.txbufs_off != h.txbufs_off ||
        (u_int64_t)st.st_size != h.total_size)
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EPROTO,
                              "%s: the memory of DNA cluster %u has a bad size",
                              ring->bound_name, id);
  }
  p->size = h.total_size;
  p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
  if (p->base == MAP_FAILED) {
    p->base = NULL;
    return pfringint_seterr_errno(ring, PF_RING_ERROR_MMAP_FAILURE, errno,
                                  "%s: cannot map DNA cluster %u", ring->bound_name, id);
  }
  p->hdr = (struct dnacl_hdr *)p->base;
  p->geo = h;
  p->bufs = (u_char *)p->base + h.bufs_off;
  return 0;
}

static int join_app(pfring *ring, u_int32_t app_id)
{
  struct dcl_priv *p = PRIV(ring);
  struct timespec start;
  u_int32_t owner, token;

  if (app_id >= p->geo.num_apps)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s: app id %u is out of range: DNA cluster %u has %u apps "
                            "(0..%u)", ring->bound_name, app_id, p->geo.cluster_id,
                            p->geo.num_apps, p->geo.num_apps - 1);
  p->app = (struct dnacl_app *)((char *)p->base + p->geo.apps_off) + app_id;
  if (dnacl_lock(p->fd, DNACL_LOCK_APP(app_id)) < 0) {
    if (errno == EAGAIN || errno == EACCES)
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                              "%s: app %u of DNA cluster %u has a slave already (pid %u)",
                              ring->bound_name, app_id, p->hdr->cluster_id,
                              p->app->owner_pid);
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "%s: cannot lock app %u",
                                  ring->bound_name, app_id);
  }
  do
    token = __atomic_add_fetch(&p->hdr->join_seq, 1, __ATOMIC_RELAXED);
  while (token == 0 || token == DNACL_OWNER_FLUSHING);
  clock_gettime(CLOCK_MONOTONIC, &start);
  owner = __atomic_load_n(&p->app->owner, __ATOMIC_ACQUIRE);
  for (;;) {
    if (owner == DNACL_OWNER_FLUSHING) {
      if (ms_since(&start) > JOIN_WAIT_MS)
        return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                                "%s: the master of DNA cluster %u does not finish emptying "
                                "app %u's queue", ring->bound_name, p->hdr->cluster_id, app_id);
      poll(NULL, 0, 1);
      owner = __atomic_load_n(&p->app->owner, __ATOMIC_ACQUIRE);
      continue;
    }
    if (__atomic_compare_exchange_n(&p->app->owner, &owner, token, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      break;
  }
  p->token = token;
  __atomic_store_n(&p->app->owner_pid, (u_int32_t)getpid(), __ATOMIC_RELAXED);
  p->q = (struct dnacl_desc *)((char *)p->base + p->geo.queues_off) +
         (size_t)app_id * p->geo.queue_slots;
  p->mask = p->geo.queue_slots - 1;
  p->read = p->released = p->free_upto = __atomic_load_n(&p->app->tail, __ATOMIC_ACQUIRE);
  p->num_pins = 0;
  p->reentrant = ring->reentrant != 0;
  p->dropped_base = __atomic_load_n(&p->app->dropped, __ATOMIC_RELAXED);
  p->delivered_base = __atomic_load_n(&p->app->delivered, __ATOMIC_RELAXED);
  if (p->geo.tx_slots) {
    u_int32_t i;

    p->tx_slots = p->geo.tx_slots;
    p->tx_mask = p->tx_slots - 1;
    p->tx_nbufs = p->geo.tx_bufs;
    p->txq = (struct dnacl_desc *)((char *)p->base + p->geo.txq_off) +
             (size_t)app_id * p->tx_slots;
    p->txbufs = (u_char *)p->base + p->geo.txbufs_off +
                (size_t)app_id * p->tx_nbufs * p->geo.buf_size;
    p->tx_shadow = calloc(p->tx_slots, sizeof(*p->tx_shadow));
    p->tx_pin = calloc(p->tx_slots, sizeof(*p->tx_pin));
    p->tx_free = malloc((size_t)p->tx_nbufs * sizeof(*p->tx_free));
    if (!p->tx_shadow || !p->tx_pin || !p->tx_free)
      return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
    for (i = 0; i < p->tx_nbufs; i++)
      p->tx_free[i] = p->tx_nbufs - 1 - i;
    p->tx_free_top = p->tx_nbufs;
    p->num_handles = p->tx_nbufs - p->tx_slots;
    if (p->num_handles &&
        !(p->handles = calloc(p->num_handles, sizeof(*p->handles))))
      return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
    for (i = 0; i < p->num_handles; i++) {
      p->handles[i].magic = PKT_BUFF_MAGIC;
      p->handles[i].ring = ring;
    }
    /* What a previous slave published was sent or dropped by the master. */
    p->tx_next = p->tx_pub = p->tx_done = __atomic_load_n(&p->app->tx_tail, __ATOMIC_ACQUIRE);
    __atomic_store_n(&p->app->tx_head, p->tx_next, __ATOMIC_RELEASE);
  }
  return 0;
}

static int dcl_activate(pfring *ring)
{
  struct dcl_priv *p = PRIV(ring);
  u_int32_t id = ring->spec.dna_cluster_id;
  int rc;

  p->fd = -1;
  snprintf(ring->bound_name, sizeof(ring->bound_name), "dnacluster:%u@%u", id,
           ring->spec.dna_app_id);
  ring->breed = "DNA Cluster";
  if ((rc = map_cluster(ring, id)) < 0)
    goto fail;
  clock_gettime(CLOCK_MONOTONIC, &p->last_check);
  if (__atomic_load_n(&p->hdr->state, __ATOMIC_ACQUIRE) == DNACL_GONE ||
      !dnacl_locked(p->fd, DNACL_LOCK_MASTER)) {
    rc = pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, ENOTCONN,
                          "%s: the master of DNA cluster %u (pid %u) is not running: "
                          "start it first", ring->bound_name, id, p->hdr->master_pid);
    goto fail;
  }
  if (!(p->mem = pfringint_mem_new(p->base, p->size))) {
    rc = pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = join_app(ring, ring->spec.dna_app_id)) < 0)
    goto fail;
  pfringint_mem_swap(ring, p->mem);

  ring->ops.recv = dcl_recv;
  ring->ops.recv_burst = dcl_recv_burst;
  ring->ops.count = dcl_count;
  ring->ops.poll = dcl_poll;
  ring->ops.is_pkt_available = dcl_is_pkt_available;
  ring->ops.num_queued = dcl_num_queued;
  ring->ops.wake = dcl_wake;
  ring->ops.enable = dcl_enable;
  ring->ops.disable = dcl_disable;
  ring->ops.set_promisc = dcl_set_promisc;
  ring->ops.kernel_counters = dcl_kernel_counters;
  ring->ops.memory = dcl_memory;
  ring->ops.send = dcl_send;
  ring->ops.flush_tx = dcl_flush_tx;
  ring->ops.close = dcl_close;
  ring->status_extra = dcl_status;   /* not registered yet: no lock needed */
  ring->status_extra_arg = p;
  return 0;

fail:
  free(p->tx_shadow);
  free(p->tx_pin);
  free(p->tx_free);
  free(p->handles);
  p->handles = NULL;
  p->num_handles = 0;
  p->tx_shadow = p->tx_free = NULL;
  p->tx_pin = NULL;
  p->num_pins = 0;
  p->tx_slots = 0;
  if (p->mem)
    pfringint_mem_put(p->mem, NULL, NULL);     /* unmaps: nobody keeps it yet */
  else if (p->base)
    munmap(p->base, p->size);
  p->mem = NULL;
  p->base = NULL;
  if (p->fd >= 0)
    close(p->fd);
  p->fd = -1;
  return rc;
}

const struct pfringint_backend pfringint_dna_cluster_backend = {
  .module = "dnacluster",
  .priv_size = sizeof(struct dcl_priv),
  .activate = dcl_activate,
};

/* ------------------------------------------------------------------------ */
/* The pkt_buff API (the 5.6.2 guide's §9.3): a handle is one TX buffer of
 * the app that the slave fills in place in the shared memory;
 * pfring_send_pkt_buff queues that buffer (no copy) and gives the handle a
 * fresh one.  Only DNA cluster slaves have them; other rings answer
 * PF_RING_ERROR_NOT_SUPPORTED. */

static void tx_lock(pfring *ring)
{
  if (ring->reentrant)
    pthread_mutex_lock(&ring->tx_lock);
}

static void tx_unlock(pfring *ring)
{
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->tx_lock);
}

/* 0 for a DNA cluster slave with TX buffers, else the error (what: the call). */
static int pkt_buff_ring(pfring *ring, const char *what)
{
  if (ring->ops.close != dcl_close)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: ring '%s' has no pkt_buff handles (only DNA cluster "
                            "slaves, dnacluster:ID@APP, do)", what, ring->bound_name);
  if (!PRIV(ring)->tx_slots)
    return no_tx(ring);
  return 0;
}

/* The handle h, if it is one of this ring's and held; NULL (error set) if not. */
static struct pfring_pkt_buff *handle_of(pfring *ring, pfring_pkt_buff *h, const char *what)
{
  struct dcl_priv *p = PRIV(ring);
  uintptr_t a = (uintptr_t)h, lo = (uintptr_t)p->handles;

  if (!h) {
    pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: pkt_handle is NULL",
                     what);
    return NULL;
  }
  if (!p->handles || a < lo || a >= lo + p->num_handles * sizeof(*p->handles) ||
      (a - lo) % sizeof(*p->handles)) {
    pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                     "%s: pkt_handle is not a handle of ring '%s' (pfring_alloc_pkt_buff "
                     "of this ring)", what, ring->bound_name);
    return NULL;
  }
  if (!h->in_use) {
    pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                     "%s: pkt_handle was released", what);
    return NULL;
  }
  return h;
}

PFRING_API pfring_pkt_buff *pfring_alloc_pkt_buff(pfring *ring)
{
  struct pfring_pkt_buff *h = NULL;
  struct dcl_priv *p;
  u_int32_t i;

  if (pfringint_ring_enter(ring) < 0)
    return NULL;
  if (pkt_buff_ring(ring, "pfring_alloc_pkt_buff") < 0)
    goto out;
  p = PRIV(ring);
  tx_lock(ring);
  if (p->handles_held == p->num_handles) {
    pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOBUFS,
                     "pfring_alloc_pkt_buff: ring '%s' holds all its %u pkt_buff handles "
                     "(the cluster's slave_additional_buffers); release or send one first",
                     ring->bound_name, p->num_handles);
    goto unlock;
  }
  if (p->tx_free_top == 0)
    tx_reclaim(p);
  if (p->tx_free_top == 0) {     /* cannot happen: the queue and the handles fit */
    pfringint_seterr(ring, PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, ENOBUFS,
                     "pfring_alloc_pkt_buff: ring '%s' has no free TX buffer",
                     ring->bound_name);
    goto unlock;
  }
  for (i = 0; i < p->num_handles && p->handles[i].in_use; i++)
    ;
  h = &p->handles[i];
  h->in_use = 1;
  h->buf = p->tx_free[--p->tx_free_top];
  h->len = 0;
  h->if_index = 0;
  h->pinned = 0;
  p->handles_held++;
unlock:
  tx_unlock(ring);
out:
  pfringint_ring_leave(&ring);
  return h;
}

PFRING_API void pfring_release_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle)
{
  struct pfring_pkt_buff *h;
  struct dcl_priv *p;

  if (pfringint_ring_enter(ring) < 0)
    return;
  if (pkt_buff_ring(ring, "pfring_release_pkt_buff") == 0) {
    p = PRIV(ring);
    tx_lock(ring);
    if ((h = handle_of(ring, pkt_handle, "pfring_release_pkt_buff"))) {
      p->tx_free[p->tx_free_top++] = h->buf;
      h->in_use = 0;
      p->handles_held--;
      if (h->pinned) {                /* the packet goes back to the master */
        h->pinned = 0;
        unpin(p, h->pos);
      }
    }
    tx_unlock(ring);
  }
  pfringint_ring_leave(&ring);
}

PFRING_API u_char *pfring_get_pkt_buff_data(pfring *ring, pfring_pkt_buff *pkt_handle)
{
  struct pfring_pkt_buff *h;
  u_char *data = NULL;

  if (pfringint_ring_enter(ring) < 0)
    return NULL;
  if (pkt_buff_ring(ring, "pfring_get_pkt_buff_data") == 0 &&
      (h = handle_of(ring, pkt_handle, "pfring_get_pkt_buff_data")))
    data = h->pinned ? PRIV(ring)->bufs + (size_t)h->pool_buf * PRIV(ring)->geo.buf_size
                     : PRIV(ring)->txbufs + (size_t)h->buf * PRIV(ring)->geo.buf_size;
  pfringint_ring_leave(&ring);
  return data;
}

PFRING_API int pfring_set_pkt_buff_len(pfring *ring, pfring_pkt_buff *pkt_handle, u_int32_t len)
{
  struct pfring_pkt_buff *h;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = pkt_buff_ring(ring, "pfring_set_pkt_buff_len")) < 0)
    return rc;
  if (!(h = handle_of(ring, pkt_handle, "pfring_set_pkt_buff_len")))
    return PF_RING_ERROR_INVALID_ARGUMENT;
  if (len == 0 || len > PRIV(ring)->geo.buf_size)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "pfring_set_pkt_buff_len: len %u is not in 1..%u (the cluster's "
                            "buffer size)", len, PRIV(ring)->geo.buf_size);
  h->len = len;
  return 0;
}

static int set_ifindex(pfring *ring, pfring_pkt_buff *pkt_handle, int if_index, int add,
                       const char *what)
{
  struct pfring_pkt_buff *h;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = pkt_buff_ring(ring, what)) < 0)
    return rc;
  if (!(h = handle_of(ring, pkt_handle, what)))
    return PF_RING_ERROR_INVALID_ARGUMENT;
  if (if_index < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s: if_index %d is negative", what, if_index);
  if (add && h->if_index > 0 && h->if_index != if_index)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: the frame goes out on if_index %d already; a DNA cluster "
                            "frame has one egress interface", what, h->if_index);
  h->if_index = if_index;
  return 0;
}

PFRING_API int pfring_set_pkt_buff_ifindex(pfring *ring, pfring_pkt_buff *pkt_handle,
                                           int if_index)
{
  return set_ifindex(ring, pkt_handle, if_index, 0, "pfring_set_pkt_buff_ifindex");
}

PFRING_API int pfring_add_pkt_buff_ifindex(pfring *ring, pfring_pkt_buff *pkt_handle,
                                           int if_index)
{
  return set_ifindex(ring, pkt_handle, if_index, 1, "pfring_add_pkt_buff_ifindex");
}

PFRING_API int pfring_send_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle,
                                    u_int8_t flush_packet)
{
  struct pfring_pkt_buff *h;
  struct dcl_priv *p;
  u_int32_t len;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = pkt_buff_ring(ring, "pfring_send_pkt_buff")) < 0)
    return rc;
  p = PRIV(ring);
  tx_lock(ring);
  if (!(h = handle_of(ring, pkt_handle, "pfring_send_pkt_buff"))) {
    rc = PF_RING_ERROR_INVALID_ARGUMENT;
    goto out;
  }
  if (h->len == 0) {
    rc = pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                          "pfring_send_pkt_buff: the frame is empty (pfring_set_pkt_buff_len "
                          "first)");
    goto out;
  }
  if (p->num_pins)
    tx_reclaim(p);                  /* sent pinned packets let go of the RX queue */
  if ((rc = tx_room(ring, !h->pinned)) < 0)
    goto out;
  len = h->len;
  if (h->pinned) {
    /* The packet is sent from the pool; its pin goes to the TX slot, and
     * the handle's own buffer is its next frame. */
    queue_pinned(p, h->pos, len, h->if_index);
    h->pinned = 0;
  } else {
    /* The handle's buffer goes in the queue; the handle takes a free one
     * (tx_room made sure of it) and starts empty, as the guide says. */
    queue_buf(p, h->buf, len, h->if_index);
    h->buf = p->tx_free[--p->tx_free_top];
  }
  h->len = 0;
  h->if_index = 0;
  if (flush_packet)
    tx_publish(p);
  rc = (int)len;
out:
  tx_unlock(ring);
  return rc;
}

PFRING_API int pfring_recv_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle,
                                    struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet)
{
  struct pfring_pkt_buff *h;
  struct dcl_priv *p;
  u_char *pkt;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = pkt_buff_ring(ring, "pfring_recv_pkt_buff")) < 0)
    return rc;
  if (!hdr)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "pfring_recv_pkt_buff: hdr is NULL");
  if (!(h = handle_of(ring, pkt_handle, "pfring_recv_pkt_buff")))
    return PF_RING_ERROR_INVALID_ARGUMENT;
  p = PRIV(ring);
  rc = pfring_recv(ring, &pkt, 0, hdr, wait_for_incoming_packet);
  if (rc > 0) {
    /* No copy: the handle takes the packet where it is (the descriptor
     * just read, position read - 1) and pins it, so that the next receive
     * calls do not give it back to the master; what the handle held
     * before goes back. */
    u_int64_t pos = p->read - 1;
    u_int64_t old = h->pos;
    u_int32_t was_pinned = h->pinned;

    if (p->q[pos & p->mask].buf >= p->geo.num_bufs ||
        pkt != p->bufs + (size_t)p->q[pos & p->mask].buf * p->geo.buf_size)
      return corrupt(ring);           /* cannot be: dcl_recv handed out that descriptor */
    tx_lock(ring);
    h->pinned = 1;
    h->pos = pos;
    h->pool_buf = (u_int32_t)((pkt - p->bufs) / p->geo.buf_size);
    h->len = hdr->caplen;
    h->if_index = 0;
    pin(p, pos);
    if (was_pinned)
      unpin(p, old);
    tx_unlock(ring);
  }
  return rc;
}
