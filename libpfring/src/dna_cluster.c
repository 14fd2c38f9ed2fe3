/*
 * dna_cluster.c - the master of a DNA Cluster (libzero, the 5.6.2 guide's
 * §9.1 Master API): one thread receives bursts from the registered rings,
 * asks the distribution function which apps get each packet, copies the
 * packet once into the shared pool and queues its index for every app.
 * The layout of the shared memory and the protocol between master and
 * slaves are described in dna_cluster_shm.h; the slave side is
 * drivers/dna_cluster.c.
 *
 * Everything the master changes in the shared memory is written by its
 * thread only (head, the counters, the flushing of a queue), except at
 * create and destroy.  The reference counts and the free list are private.
 * The receive path (distribute) makes no system call and no allocation;
 * it publishes each queue's head once per burst (publish), not per packet.
 * The master's thread sleeps in pfring_poll when its rings are idle, drains
 * up to DRAIN_BURSTS bursts of each ring, then wakes a sleeping slave (one
 * that set its waiting flag) with one FUTEX_WAKE per loop turn, and
 * checks every TICK_MS which queues lost their slave (one F_OFD_GETLK per
 * queue with an owner).
 *
 * dna_cluster_set_cpu_affinity: the one thread does the receiving work
 * (rx_core) and the transmitting work (tx_core) both, so it is bound to
 * the cores of the work its mode gives it (thread_cores).
 *
 * In send_only_mode and send_and_recv_mode each app also has a TX queue:
 * each loop turn the thread drains up to TX_BURST descriptors of every
 * queue with an owner, sends each frame on its egress ring (the registered
 * ring whose interface has the descriptor's if_index; the first registered
 * ring for if_index 0) and flushes the rings it sent on.  In send_only_mode
 * the thread does not receive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
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

#define APP(c, a) (&(c)->apps[a])
#define QUEUE(c, a) ((c)->queues + (size_t)(a) * (c)->slots)
#define BURST 64
#define DRAIN_BURSTS 4            /* bursts per ring and loop turn before the slaves are woken */
#define TX_BURST 64               /* TX descriptors drained per app and loop turn */
#define TICK_MS 100
#define IDLE_POLL_MS 10
#define TX_IDLE_MS 1              /* the idle wait when slaves may transmit */

struct pfring_dna_cluster {
  u_int32_t id, num_apps;
  int fd;
  void *base;
  struct dnacl_hdr *hdr;
  char path[64];

  pfring *rings[DNA_CLUSTER_MAX_RINGS];
  u_int32_t num_rings;
  u_int32_t active_wait;
  pfring_dna_cluster_distribution_func func;
  pfring_dna_cluster_slaves_info info;   /* the thread's, refreshed per burst */

  pthread_t thread;
  u_int8_t thread_started;
  u_int8_t stop;                    /* atomic: the thread leaves */

  /* the thread's, private: nothing a slave writes in the shared memory is
   * trusted but its queue's tail, which is clamped to what was queued */
  u_int32_t slots, num_bufs, buf_size;  /* the geometry, as created */
  size_t size;
  struct dnacl_app *apps;
  struct dnacl_desc *queues;
  u_char *bufs;
  u_int32_t *shadow;                /* per queue slot: the buffer queued there */
  u_int32_t *refcnt;                /* per buffer: queues it is in */
  u_int32_t *free_stack;
  u_int32_t free_top;
  u_int64_t head[DNA_CLUSTER_MAX_APPS];  /* per queue: what was queued */
  u_int64_t published[DNA_CLUSTER_MAX_APPS];  /* per queue: what app.head says */
  u_int64_t seen[DNA_CLUSTER_MAX_APPS];  /* per queue: references dropped up to */
  u_int64_t tail_cache[DNA_CLUSTER_MAX_APPS];
  struct timespec last_tick;

  /* transmission: the geometry of the TX part (tx_slots 0: none), and per
   * TX queue the position drained up to */
  socket_mode mode;
  u_int32_t tx_slots, tx_bufs;
  struct dnacl_desc *txq;
  u_char *txbufs;
  u_int64_t tx_tail[DNA_CLUSTER_MAX_APPS];

  /* dna_cluster_set_app_groups: instances per group (0 = no groups) */
  u_int32_t num_groups;
  u_int32_t group_size[DNA_CLUSTER_MAX_APPS];

  /* counters (written by the thread, read by dna_cluster_stats) */
  u_int64_t rx_packets, rx_processed, tx_packets;

  /* dna_cluster_create's flags, dna_cluster_low_level_settings,
   * dna_cluster_set_cpu_affinity */
  u_int32_t flags;
  u_int8_t huge;                    /* the memory is madvised MADV_HUGEPAGE */
  u_int8_t was_enabled;             /* dna_cluster_enable succeeded once */
  u_int32_t fwd_used;               /* the thread's: rings forwarded on in this burst */
  u_int32_t owned;                  /* the thread's: apps with an owner, read per burst */
  u_int64_t fwd_failed;             /* direct forwarding: sends that failed */
  u_int8_t huge_warned;             /* the no-huge-pages warning was logged */
  u_int32_t tx_queue_len, extra_bufs;
  u_int32_t rx_core, tx_core;       /* DNA_CLUSTER_NO_CORE: no affinity */
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static __thread char cluster_err[PFRING_ERRBUF_SIZE];
static __thread int cluster_rc;

static int vseterr(int rc, int err, int sys, const char *fmt, va_list ap)
{
  size_t n;

  vsnprintf(cluster_err, sizeof(cluster_err), fmt, ap);
  n = strlen(cluster_err);
  if (sys && n < sizeof(cluster_err))
    snprintf(cluster_err + n, sizeof(cluster_err) - n, ": %s", strerror(err));
  errno = err ? err : pfring_error_errno(rc);
  cluster_rc = rc;
  return rc;
}

/* The message, errno = err. */
static int seterr(int rc, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, for a failed system call: ": strerror(err)" appended. */
static int syserr(int rc, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int seterr(int rc, int err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rc = vseterr(rc, err, 0, fmt, ap);
  va_end(ap);
  return rc;
}

static int syserr(int rc, int err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rc = vseterr(rc, err, 1, fmt, ap);
  va_end(ap);
  return rc;
}

PFRING_API const char *dna_cluster_last_error(void)
{
  return cluster_err;
}

PFRING_API int dna_cluster_last_error_code(void)
{
  return cluster_rc;
}

#define CHECK_CLUSTER(c, what) do {                                            \
    if (!(c))                                                                 \
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: cluster is NULL", what); \
  } while (0)

#define CHECK_STOPPED(c, what) do {                                            \
    if ((c)->thread_started)                                                  \
      return seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,                      \
                    "%s: cluster %u is enabled; disable it first", what, (c)->id); \
  } while (0)

/* ------------------------------------------------------------------------ */
/* The default distribution                                                  */

static inline u_int32_t fmix32(u_int32_t h)
{
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* The default hash of a packet; 0 for non-IP packets.  The symmetric sum
 * of pfring_parse_pkt, mixed; untagged IPv4 is summed without the full
 * parse (pfringint_ipv4_hash_sum, parse.c), which is most of the master's
 * work per packet otherwise. */
static u_int32_t flow_hash(const u_char *pkt, u_int32_t caplen, u_int32_t len)
{
  struct pfring_pkthdr h;
  u_int32_t sum;

  if (pfringint_ipv4_hash_sum(pkt, caplen, &sum))
    return fmix32(sum);
  h.caplen = caplen;
  h.len = len;
  h.ts.tv_sec = 0;
  h.ts.tv_usec = 0;
  h.extended_hdr.flags = 0;
  h.extended_hdr.pkt_hash = 0;
  pfring_parse_pkt((u_char *)pkt, &h, 4, 0, 1);
  if (h.extended_hdr.parsed_pkt.ip_version != 4 && h.extended_hdr.parsed_pkt.ip_version != 6)
    return 0;
  return fmix32(h.extended_hdr.pkt_hash);
}

PFRING_API int dna_cluster_default_distribution(const u_char *buffer, const u_int16_t buffer_len,
                                                const pfring_dna_cluster_slaves_info *slaves_info,
                                                u_int32_t *id_mask, u_int32_t *hash)
{
  u_int32_t n = slaves_info && slaves_info->num_slaves ? slaves_info->num_slaves : 1;

  *hash = flow_hash(buffer, buffer_len, buffer_len);
  *id_mask = 1u << (*hash % n);
  return DNA_CLUSTER_PASS;
}

/* ------------------------------------------------------------------------ */
/* Creating                                                                  */

static void shm_path(char *out, size_t len, u_int32_t id)
{
  snprintf(out, len, "%s/%s%u", DNACL_SHM_DIR, DNACL_SHM_PREFIX, id);
}

/* An existing file for the id: refused if a live master holds it or it is
 * not ours; removed if its master died.  0 (removed) or an error code. */
static int take_over_stale(const char *path, u_int32_t id)
{
  struct dnacl_hdr h;
  struct stat st;
  int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return errno == ENOENT ? 0
                           : syserr(PF_RING_ERROR_PERMISSION_DENIED, errno,
                                    "dna_cluster_create: cannot open %s", path);
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    close(fd);
    return seterr(PF_RING_ERROR_PERMISSION_DENIED, EPERM,
                  "dna_cluster_create: %s is not a regular file of this user; "
                  "refusing to use or remove it", path);
  }
  if (dnacl_locked(fd, DNACL_LOCK_MASTER)) {
    memset(&h, 0, sizeof(h));
    if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
      h.master_pid = 0;
    close(fd);
    return seterr(PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                  "dna_cluster_create: DNA cluster %u already has a master (pid %u)",
                  id, h.master_pid);
  }
  close(fd);
  if (unlink(path) < 0 && errno != ENOENT)
    return syserr(PF_RING_ERROR_PERMISSION_DENIED, errno,
                  "dna_cluster_create: cannot remove the memory of a dead master (%s)", path);
  return 0;
}

static int open_new(const char *path, u_int32_t id)
{
  int attempt, fd, rc;

  for (attempt = 0; attempt < 2; attempt++) {
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      /* Locked before anything else: another creator sees a live master. */
      if (dnacl_lock(fd, DNACL_LOCK_MASTER) < 0) {
        rc = syserr(PF_RING_ERROR_GENERIC, errno, "dna_cluster_create: cannot lock %s", path);
        close(fd);
        unlink(path);
        return rc;
      }
      return fd;
    }
    if (errno != EEXIST)
      return syserr(pfringint_errno_to_rc(errno), errno,
                    "dna_cluster_create: cannot create %s", path);
    if ((rc = take_over_stale(path, id)) < 0)
      return rc;
  }
  return seterr(PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                "dna_cluster_create: DNA cluster %u is being created by another process", id);
}

/* Whether the machine gives shared memory (tmpfs) transparent huge pages on
 * madvise: transparent_hugepage/shmem_enabled is one of always,
 * within_size, advise or force.  what names the setting when it does not. */
static int shmem_hugepages(char *what, size_t len)
{
  char buf[128], *open_b, *close_b;

  snprintf(what, len, "transparent_hugepage/shmem_enabled cannot be read");
  if (pfringint_read_small("/sys/kernel/mm/transparent_hugepage/shmem_enabled", buf,
                           sizeof(buf)) < 0)
    return 0;
  if (!(open_b = strchr(buf, '[')) || !(close_b = strchr(open_b, ']')))
    return 0;
  *close_b = '\0';
  snprintf(what, len, "transparent_hugepage/shmem_enabled is [%s]", open_b + 1);
  return strcmp(open_b + 1, "always") == 0 || strcmp(open_b + 1, "within_size") == 0 ||
         strcmp(open_b + 1, "advise") == 0 || strcmp(open_b + 1, "force") == 0;
}

/* (Re)builds the cluster's memory for queues of slots descriptors: the
 * file sized and mapped, the header written, the master's private arrays
 * made.  On failure the cluster keeps what it had (what names the call). */
static int build_memory(pfring_dna_cluster *c, u_int32_t slots, socket_mode mode,
                        u_int32_t tx_len, u_int32_t extra, const char *what)
{
  struct dnacl_hdr h;
  u_int32_t *shadow, *refcnt, *free_stack, i;
  void *base;

  memset(&h, 0, sizeof(h));
  h.magic = DNACL_MAGIC;
  h.version = DNACL_VERSION;
  h.cluster_id = c->id;
  h.num_apps = c->num_apps;
  h.queue_slots = slots;
  h.num_bufs = c->num_apps * slots + 1;
  h.buf_size = DNACL_BUF_SIZE;
  h.state = DNACL_CREATING;
  h.master_pid = (u_int32_t)getpid();
  h.active_wait = c->active_wait;
  if (mode != recv_only_mode) {
    h.tx_slots = tx_len;
    h.tx_bufs = tx_len + extra;
  }
  dnacl_layout(&h);

  shadow = calloc((size_t)c->num_apps * slots, sizeof(*shadow));
  refcnt = calloc(h.num_bufs, sizeof(*refcnt));
  free_stack = malloc((size_t)h.num_bufs * sizeof(*free_stack));
  if (!shadow || !refcnt || !free_stack) {
    free(shadow);
    free(refcnt);
    free(free_stack);
    return seterr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "%s: out of memory", what);
  }
  if (c->base != MAP_FAILED)    /* slaves that look now see "being created" */
    __atomic_store_n(&c->hdr->state, DNACL_CREATING, __ATOMIC_RELEASE);
  if (ftruncate(c->fd, (off_t)h.total_size) < 0) {
    free(shadow);
    free(refcnt);
    free(free_stack);
    if (c->base != MAP_FAILED)
      __atomic_store_n(&c->hdr->state, DNACL_READY, __ATOMIC_RELEASE);
    return syserr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno, "%s: cannot size %s to %llu bytes",
                  what, c->path, (unsigned long long)h.total_size);
  }
  base = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    free(shadow);
    free(refcnt);
    free(free_stack);
    if (c->base != MAP_FAILED) {   /* the old size back, for the old mapping */
      if (ftruncate(c->fd, (off_t)c->size) == 0)
        __atomic_store_n(&c->hdr->state, DNACL_READY, __ATOMIC_RELEASE);
    }
    return syserr(PF_RING_ERROR_MMAP_FAILURE, err, "%s: cannot map %s", what, c->path);
  }
  if (c->base != MAP_FAILED)
    munmap(c->base, c->size);
  free(c->shadow);
  free(c->refcnt);
  free(c->free_stack);
  c->huge = 0;
  if (c->flags & DNA_CLUSTER_HUGEPAGES) {
    char why[96];
    if (!shmem_hugepages(why, sizeof(why))) {
      if (!c->huge_warned++)
        pfringint_log(1, "DNA cluster %u: DNA_CLUSTER_HUGEPAGES: the machine gives shared "
                      "memory no huge pages (%s); using normal pages", c->id, why);
    } else if (madvise(base, h.total_size, MADV_HUGEPAGE) < 0)
      pfringint_log(1, "DNA cluster %u: DNA_CLUSTER_HUGEPAGES: madvise: %s; using normal "
                    "pages", c->id, strerror(errno));
    else
      c->huge = 1;
  }
  memset(base, 0, h.apps_off + ((size_t)c->num_apps * sizeof(struct dnacl_app)));
  memcpy(base, &h, sizeof(h));
  c->base = base;
  c->hdr = (struct dnacl_hdr *)base;
  c->size = h.total_size;
  c->slots = h.queue_slots;
  c->num_bufs = h.num_bufs;
  c->buf_size = h.buf_size;
  c->apps = (struct dnacl_app *)((char *)base + h.apps_off);
  c->queues = (struct dnacl_desc *)((char *)base + h.queues_off);
  c->bufs = (u_char *)base + h.bufs_off;
  c->mode = mode;
  c->tx_slots = h.tx_slots;
  c->tx_bufs = h.tx_bufs;
  c->txq = (struct dnacl_desc *)((char *)base + h.txq_off);
  c->txbufs = (u_char *)base + h.txbufs_off;
  memset(c->tx_tail, 0, sizeof(c->tx_tail));
  c->tx_queue_len = tx_len;
  c->extra_bufs = extra;
  c->shadow = shadow;
  c->refcnt = refcnt;
  c->free_stack = free_stack;
  for (i = 0; i < h.num_bufs; i++)
    free_stack[i] = h.num_bufs - 1 - i;
  c->free_top = h.num_bufs;
  memset(c->head, 0, sizeof(c->head));
  memset(c->published, 0, sizeof(c->published));
  memset(c->seen, 0, sizeof(c->seen));
  memset(c->tail_cache, 0, sizeof(c->tail_cache));
  __atomic_store_n(&c->hdr->state, DNACL_READY, __ATOMIC_RELEASE);
  return 0;
}

#define DNA_CLUSTER_KNOWN_FLAGS (DNA_CLUSTER_DIRECT_FORWARDING |                  \
                                 DNA_CLUSTER_NO_ADDITIONAL_BUFFERS |              \
                                 DNA_CLUSTER_HUGEPAGES | DNA_CLUSTER_DCA |        \
                                 DNA_CLUSTER_TIME_PULSE_THREAD)

PFRING_API pfring_dna_cluster *dna_cluster_create(u_int32_t cluster_id, u_int32_t num_apps,
                                                  u_int32_t flags)
{
  pfring_dna_cluster *c;

  cluster_err[0] = '\0';
  cluster_rc = 0;
  if (cluster_id == 0 || cluster_id > DNA_CLUSTER_MAX_ID) {
    seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
           "dna_cluster_create: cluster_id %u is out of range (1..%u)", cluster_id,
           DNA_CLUSTER_MAX_ID);
    return NULL;
  }
  if (num_apps == 0 || num_apps > DNA_CLUSTER_MAX_APPS) {
    seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
           "dna_cluster_create: num_apps %u is out of range (1..%u)", num_apps,
           DNA_CLUSTER_MAX_APPS);
    return NULL;
  }
  if (flags & ~DNA_CLUSTER_KNOWN_FLAGS) {
    seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
           "dna_cluster_create: flags 0x%x has unknown bits 0x%x", flags,
           flags & ~DNA_CLUSTER_KNOWN_FLAGS);
    return NULL;
  }
  c = calloc(1, sizeof(*c));
  if (!c) {
    seterr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "dna_cluster_create: out of memory");
    return NULL;
  }
  c->id = cluster_id;
  c->num_apps = num_apps;
  c->flags = flags;
  c->fd = -1;
  c->base = MAP_FAILED;
  c->rx_core = c->tx_core = DNA_CLUSTER_NO_CORE;
  shm_path(c->path, sizeof(c->path), cluster_id);

  c->fd = open_new(c->path, cluster_id);
  if (c->fd < 0)
    goto fail;
  if (build_memory(c, DNACL_QUEUE_SLOTS, recv_only_mode, DNA_CLUSTER_QUEUE_SLOTS,
                   flags & DNA_CLUSTER_NO_ADDITIONAL_BUFFERS ? 0
                                                             : DNA_CLUSTER_ADDITIONAL_BUFFERS,
                   "dna_cluster_create") < 0) {
    unlink(c->path);
    goto fail;
  }
  c->func = dna_cluster_default_distribution;
  c->info.num_slaves = num_apps;
  return c;

fail:
  if (c->fd >= 0)
    close(c->fd);
  free(c);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */

static const char *mode_name(socket_mode mode)
{
  return mode == send_only_mode ? "send_only_mode"
         : mode == send_and_recv_mode ? "send_and_recv_mode" : "recv_only_mode";
}

/* The lines a registered ring's status file gets: the cluster, and each
 * app's slave, counters and queue fill (the status writer's thread). */
static void cluster_status(void *arg, void *text)
{
  static const char *const state[] = { "creating", "ready", "running", "gone" };
  pfring_dna_cluster *c = arg;
  u_int32_t st = __atomic_load_n(&c->hdr->state, __ATOMIC_ACQUIRE), i;

  pfringint_status_field(text, "DNA Cluster Id", "%u", c->id);
  pfringint_status_field(text, "DNA Cluster State", "%s",
                         st < sizeof(state) / sizeof(state[0]) ? state[st] : "?");
  pfringint_status_field(text, "DNA Cluster Apps", "%u", c->num_apps);
  pfringint_status_field(text, "DNA Cluster Memory", "%llu bytes, %s pages, %u slots per "
                         "queue", (unsigned long long)c->size, c->huge ? "huge" : "normal",
                         c->slots);
  if (c->rx_core != DNA_CLUSTER_NO_CORE && c->mode != send_only_mode)
    pfringint_status_field(text, "DNA Cluster Core", "%u", c->rx_core);
  if (c->tx_core != DNA_CLUSTER_NO_CORE && c->mode != recv_only_mode)
    pfringint_status_field(text, "DNA Cluster Tx Core", "%u", c->tx_core);
  pfringint_status_field(text, "DNA Cluster Rx", "%llu",
                         (unsigned long long)__atomic_load_n(&c->rx_packets, __ATOMIC_RELAXED));
  pfringint_status_field(text, "DNA Cluster Processed", "%llu",
                         (unsigned long long)__atomic_load_n(&c->rx_processed,
                                                             __ATOMIC_RELAXED));
  if (c->tx_slots)
    pfringint_status_field(text, "DNA Cluster Tx", "%llu (%s, %u TX slots and %u buffers "
                           "per app)",
                           (unsigned long long)__atomic_load_n(&c->tx_packets, __ATOMIC_RELAXED),
                           mode_name(c->mode), c->tx_slots, c->tx_bufs);
  if (c->flags & DNA_CLUSTER_DIRECT_FORWARDING)
    pfringint_status_field(text, "DNA Cluster Fwd Failed", "%llu",
                           (unsigned long long)__atomic_load_n(&c->fwd_failed, __ATOMIC_RELAXED));
  for (i = 0; i < c->num_apps; i++) {
    struct dnacl_app *a = APP(c, i);
    u_int64_t head = __atomic_load_n(&a->head, __ATOMIC_ACQUIRE);
    u_int64_t tail = __atomic_load_n(&a->tail, __ATOMIC_ACQUIRE);
    u_int32_t owner = __atomic_load_n(&a->owner, __ATOMIC_ACQUIRE);
    char label[32], slave[32];

    if (owner == 0 || owner == DNACL_OWNER_FLUSHING)
      snprintf(slave, sizeof(slave), "no slave");
    else
      snprintf(slave, sizeof(slave), "slave pid %u",
               __atomic_load_n(&a->owner_pid, __ATOMIC_RELAXED));
    snprintf(label, sizeof(label), "DNA App %u", i);
    pfringint_status_field(text, label, "%s, %llu delivered, %llu dropped, %llu/%u queued",
                           slave,
                           (unsigned long long)__atomic_load_n(&a->delivered, __ATOMIC_RELAXED),
                           (unsigned long long)__atomic_load_n(&a->dropped, __ATOMIC_RELAXED),
                           (unsigned long long)(head > tail && head - tail <= c->slots ?
                                                head - tail : 0), c->slots);
  }
}

PFRING_API int dna_cluster_register_ring(pfring_dna_cluster *c, pfring *ring)
{
  u_int32_t i;

  CHECK_CLUSTER(c, "dna_cluster_register_ring");
  CHECK_STOPPED(c, "dna_cluster_register_ring");
  if (!ring)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "dna_cluster_register_ring: ring is NULL");
  if (ring->spec.module[0] && strcmp(ring->spec.module, "dnacluster") == 0)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_register_ring: ring is a DNA cluster slave; a master "
                  "receives from interfaces");
  for (i = 0; i < c->num_rings; i++)
    if (c->rings[i] == ring)
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                    "dna_cluster_register_ring: ring is registered already");
  if (c->num_rings == DNA_CLUSTER_MAX_RINGS)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, ENOSPC,
                  "dna_cluster_register_ring: cluster %u has %u rings already (the most)",
                  c->id, DNA_CLUSTER_MAX_RINGS);
  c->rings[c->num_rings++] = ring;
  pfringint_status_set_extra(ring, cluster_status, c);
  return 0;
}

/* Whether the memory may be made anew now (what names the call): before
 * the first dna_cluster_enable and before a slave joined. */
static int may_rebuild(pfring_dna_cluster *c, const char *what)
{
  u_int32_t a;

  CHECK_STOPPED(c, what);
  if (c->was_enabled)
    return seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,
                  "%s: cluster %u was enabled already; the settings come before "
                  "dna_cluster_enable", what, c->id);
  for (a = 0; a < c->num_apps; a++)
    if (__atomic_load_n(&APP(c, a)->owner, __ATOMIC_ACQUIRE) != 0)
      return seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,
                    "%s: app %u of cluster %u has a slave already; the settings come "
                    "before the slaves join", what, a, c->id);
  return 0;
}

PFRING_API int dna_cluster_set_mode(pfring_dna_cluster *c, socket_mode mode)
{
  int rc;

  CHECK_CLUSTER(c, "dna_cluster_set_mode");
  if (mode != recv_only_mode && mode != send_only_mode && mode != send_and_recv_mode)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_mode: mode %d is not a socket_mode of a cluster", (int)mode);
  if (mode == c->mode)
    return 0;
  /* With or without TX queues: the memory changes only between those two
   * (send_only_mode and send_and_recv_mode share the layout). */
  if ((mode == recv_only_mode) != (c->mode == recv_only_mode)) {
    if ((rc = may_rebuild(c, "dna_cluster_set_mode")) < 0)
      return rc;
    if (build_memory(c, c->slots, mode, c->tx_queue_len, c->extra_bufs,
                     "dna_cluster_set_mode") < 0)
      return cluster_rc;
    return 0;
  }
  CHECK_STOPPED(c, "dna_cluster_set_mode");
  c->mode = mode;
  return 0;
}

PFRING_API int dna_cluster_low_level_settings(pfring_dna_cluster *c, u_int32_t slave_rx_queue_len,
                                              u_int32_t slave_tx_queue_len,
                                              u_int32_t slave_additional_buffers)
{
  int rc;

  CHECK_CLUSTER(c, "dna_cluster_low_level_settings");
  CHECK_STOPPED(c, "dna_cluster_low_level_settings");
  if (slave_rx_queue_len < DNA_CLUSTER_MIN_QUEUE_LEN ||
      slave_rx_queue_len > DNA_CLUSTER_MAX_QUEUE_LEN ||
      (slave_rx_queue_len & (slave_rx_queue_len - 1)))
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_low_level_settings: slave_rx_queue_len %u is not a power of "
                  "two in %u..%u", slave_rx_queue_len, DNA_CLUSTER_MIN_QUEUE_LEN,
                  DNA_CLUSTER_MAX_QUEUE_LEN);
  if (slave_tx_queue_len > DNA_CLUSTER_MAX_QUEUE_LEN)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_low_level_settings: slave_tx_queue_len %u is above %u",
                  slave_tx_queue_len, DNA_CLUSTER_MAX_QUEUE_LEN);
  if (slave_tx_queue_len != 0 && (slave_tx_queue_len < DNA_CLUSTER_MIN_QUEUE_LEN ||
                                  (slave_tx_queue_len & (slave_tx_queue_len - 1))))
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_low_level_settings: slave_tx_queue_len %u is not 0 (the "
                  "default, %u) or a power of two in %u..%u", slave_tx_queue_len,
                  DNA_CLUSTER_QUEUE_SLOTS, DNA_CLUSTER_MIN_QUEUE_LEN, DNA_CLUSTER_MAX_QUEUE_LEN);
  if (slave_additional_buffers > DNA_CLUSTER_MAX_QUEUE_LEN)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_low_level_settings: slave_additional_buffers %u is above %u",
                  slave_additional_buffers, DNA_CLUSTER_MAX_QUEUE_LEN);
  if (!slave_tx_queue_len)
    slave_tx_queue_len = DNA_CLUSTER_QUEUE_SLOTS;
  if ((rc = may_rebuild(c, "dna_cluster_low_level_settings")) < 0)
    return rc;
  if (slave_rx_queue_len == c->slots && slave_tx_queue_len == c->tx_queue_len &&
      slave_additional_buffers == c->extra_bufs)
    return 0;
  if (build_memory(c, slave_rx_queue_len, c->mode, slave_tx_queue_len,
                   slave_additional_buffers, "dna_cluster_low_level_settings") < 0)
    return cluster_rc;
  return 0;
}

static int core_exists(u_int32_t core)
{
  long n = sysconf(_SC_NPROCESSORS_CONF);
  return core < CPU_SETSIZE && n > 0 && core < (u_int32_t)n;
}

/* The cores of the master's one thread: rx_core if it receives (every mode
 * but send_only_mode), tx_core if it transmits the slaves' frames
 * (send_only_mode, send_and_recv_mode); NO_CORE adds none.  0: unbound. */
static int thread_cores(const pfring_dna_cluster *c, cpu_set_t *set)
{
  int n = 0;

  CPU_ZERO(set);
  if (c->mode != send_only_mode && c->rx_core != DNA_CLUSTER_NO_CORE) {
    CPU_SET(c->rx_core, set);
    n++;
  }
  if (c->mode != recv_only_mode && c->tx_core != DNA_CLUSTER_NO_CORE) {
    CPU_SET(c->tx_core, set);
    n++;
  }
  return n;
}

/* Binds the running thread to its cores (thread_cores), or, with none, to
 * the cores of the calling thread (unbound again); 0 or an error. */
static int apply_affinity(pfring_dna_cluster *c, const char *what)
{
  cpu_set_t set;
  int rc;

  if (!c->thread_started)
    return 0;
  if (!thread_cores(c, &set) && sched_getaffinity(0, sizeof(set), &set) < 0)
    return 0;
  rc = pthread_setaffinity_np(c->thread, sizeof(set), &set);
  if (rc != 0)
    return syserr(PF_RING_ERROR_GENERIC, rc, "%s: cannot bind the thread of cluster %u to "
                  "its cores", what, c->id);
  return 0;
}

PFRING_API int dna_cluster_set_cpu_affinity(pfring_dna_cluster *c, u_int32_t rx_core_id,
                                            u_int32_t tx_core_id)
{
  CHECK_CLUSTER(c, "dna_cluster_set_cpu_affinity");
  if (rx_core_id != DNA_CLUSTER_NO_CORE && !core_exists(rx_core_id))
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_cpu_affinity: rx_core_id %u is not a core of this machine "
                  "(0..%ld)", rx_core_id, sysconf(_SC_NPROCESSORS_CONF) - 1);
  if (tx_core_id != DNA_CLUSTER_NO_CORE && !core_exists(tx_core_id))
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_cpu_affinity: tx_core_id %u is not a core of this machine "
                  "(0..%ld)", tx_core_id, sysconf(_SC_NPROCESSORS_CONF) - 1);
  c->rx_core = rx_core_id;
  c->tx_core = tx_core_id;
  return apply_affinity(c, "dna_cluster_set_cpu_affinity");
}

PFRING_API int dna_cluster_set_wait_mode(pfring_dna_cluster *c, u_int32_t active_wait)
{
  CHECK_CLUSTER(c, "dna_cluster_set_wait_mode");
  if (active_wait > 1)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_wait_mode: active_wait %u is not 0 (passive) or 1 (active)",
                  active_wait);
  CHECK_STOPPED(c, "dna_cluster_set_wait_mode");
  c->active_wait = active_wait;
  __atomic_store_n(&c->hdr->active_wait, active_wait, __ATOMIC_RELAXED);
  return 0;
}

PFRING_API int dna_cluster_set_distribution_function(pfring_dna_cluster *c,
                                                     pfring_dna_cluster_distribution_func func)
{
  CHECK_CLUSTER(c, "dna_cluster_set_distribution_function");
  CHECK_STOPPED(c, "dna_cluster_set_distribution_function");
  c->func = func ? func : dna_cluster_default_distribution;
  c->num_groups = 0;
  return 0;
}

/* Every group gets the packet: instance hash % its size of each. */
static u_int32_t group_distribution(const pfring_dna_cluster *c, const u_char *pkt,
                                    u_int32_t caplen, u_int32_t *hash)
{
  u_int32_t g, first = 0, mask = 0, hashed = 0;

  for (g = 0; g < c->num_groups; g++) {
    u_int32_t n = c->group_size[g];
    if (n > 1 && !hashed) {
      *hash = flow_hash(pkt, caplen, caplen);
      hashed = 1;
    }
    mask |= 1u << (first + (n > 1 ? *hash % n : 0));
    first += n;
  }
  return mask;
}

PFRING_API int dna_cluster_set_app_groups(pfring_dna_cluster *c, const u_int32_t *instances,
                                          u_int32_t num_groups)
{
  u_int64_t total = 0;
  u_int32_t g;

  CHECK_CLUSTER(c, "dna_cluster_set_app_groups");
  CHECK_STOPPED(c, "dna_cluster_set_app_groups");
  if (!instances || num_groups == 0)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_app_groups: instances must name at least one group");
  if (num_groups > c->num_apps)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_app_groups: %u groups, cluster %u has %u apps",
                  num_groups, c->id, c->num_apps);
  for (g = 0; g < num_groups; g++) {
    if (instances[g] == 0)
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                    "dna_cluster_set_app_groups: group %u has 0 instances", g);
    total += instances[g];
  }
  if (total != c->num_apps)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_set_app_groups: the groups have %llu instances, cluster %u "
                  "has %u apps", (unsigned long long)total, c->id, c->num_apps);
  c->num_groups = num_groups;
  memcpy(c->group_size, instances, num_groups * sizeof(*instances));
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The master's thread                                                       */

static inline void put_ref(pfring_dna_cluster *c, u_int32_t buf)
{
  if (--c->refcnt[buf] == 0)
    c->free_stack[c->free_top++] = buf;
}

/* Drops one reference of every buffer queued for app a up to `to`. */
static inline void release_to(pfring_dna_cluster *c, u_int32_t a, u_int64_t to)
{
  const u_int32_t *shadow = c->shadow + (size_t)a * c->slots;
  u_int32_t mask = c->slots - 1;

  while (c->seen[a] != to) {
    put_ref(c, shadow[c->seen[a] & mask]);
    c->seen[a]++;
  }
}

/* Drops the references of what app a's slave released (its tail, clamped
 * between what was released before and what was queued). */
static inline void reclaim(pfring_dna_cluster *c, u_int32_t a)
{
  struct dnacl_app *app = APP(c, a);
  u_int64_t t = __atomic_load_n(&app->tail, __ATOMIC_ACQUIRE);
  u_int64_t head = c->head[a];

  if (t - c->seen[a] > head - c->seen[a])
    t = c->seen[a];                  /* not a position of this queue: ignored */
  c->tail_cache[a] = t;
  release_to(c, a, t);
}

static inline void bump(u_int64_t *counter, u_int64_t n)
{
  __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* Direct forwarding (DNA_CLUSTER_FRWD): the packet out of the registered
 * rings in rings, a bitmask of registration indexes; no app gets it.  The
 * send copies it (AF_PACKET: into the kernel); the rings are flushed once
 * per burst (fwd_used). */
static void forward(pfring_dna_cluster *c, const struct pfring_burst_pkt *p, u_int32_t rings)
{
  u_int32_t valid = c->num_rings == 32 ? ~0u : (1u << c->num_rings) - 1, m, i;
  u_int64_t sent = 0, failed = 0;

  if (rings & ~valid)
    failed++;                       /* a bit of no registered ring */
  for (m = rings & valid; m; m &= m - 1) {
    i = (u_int32_t)__builtin_ctz(m);
    if (pfring_send(c->rings[i], (char *)p->data, p->caplen, 0) < 0) {
      failed++;
    } else {
      sent++;
      c->fwd_used |= 1u << i;
    }
  }
  if (sent) {
    bump(&c->tx_packets, sent);
    bump(&c->rx_processed, 1);
  }
  if (failed)
    bump(&c->fwd_failed, failed);
}

/* One packet: returns the apps it was queued for. */
static inline u_int32_t distribute(pfring_dna_cluster *c, const struct pfring_burst_pkt *p)
{
  u_int32_t valid = c->num_apps == 32 ? ~0u : (1u << c->num_apps) - 1;
  u_int32_t slots = c->slots, qmask = slots - 1;
  u_int32_t want, targets = 0, n = 0, a, buf, caplen, m;
  u_int64_t ts_ns;

  u_int32_t hash = 0;

  if (c->num_groups) {
    want = group_distribution(c, p->data, p->caplen, &hash);
  } else {
    int rc;

    want = 0;
    rc = c->func(p->data, (u_int16_t)(p->caplen < c->buf_size ? p->caplen : c->buf_size),
                 &c->info, &want, &hash);
    if (rc == DNA_CLUSTER_FRWD && (c->flags & DNA_CLUSTER_DIRECT_FORWARDING)) {
      bump(&c->rx_packets, 1);
      forward(c, p, want);
      return 0;
    }
    if (rc != DNA_CLUSTER_PASS)
      want = 0;             /* DROP, and FRWD without direct forwarding */
  }
  want &= valid;
  bump(&c->rx_packets, 1);
  if (!want)
    return 0;
  bump(&c->rx_processed, 1);
  for (m = want; m; m &= m - 1) {
    struct dnacl_app *app;

    a = (u_int32_t)__builtin_ctz(m);
    app = APP(c, a);
    if (!(c->owned & (1u << a))) {
      bump(&app->dropped, 1);
      continue;
    }
    if (c->head[a] - c->tail_cache[a] >= slots) {
      reclaim(c, a);
      if (c->head[a] - c->tail_cache[a] >= slots) {
        bump(&app->dropped, 1);
        continue;
      }
    }
    targets |= 1u << a;
    n++;
  }
  if (!targets)
    return 0;
  if (c->free_top == 0) {            /* cannot happen: the pool outnumbers the queues */
    for (m = targets; m; m &= m - 1)
      bump(&APP(c, (u_int32_t)__builtin_ctz(m))->dropped, 1);
    return 0;
  }
  buf = c->free_stack[--c->free_top];
  caplen = p->caplen < c->buf_size ? p->caplen : c->buf_size;
  memcpy((c->bufs + (size_t)buf * c->buf_size), p->data, caplen);   /* the one copy */
  c->refcnt[buf] = n;
  ts_ns = p->ts_sec * 1000000000ull + p->ts_nsec;
  for (m = targets; m; m &= m - 1) {
    struct dnacl_desc *d;
    u_int32_t slot;

    a = (u_int32_t)__builtin_ctz(m);
    slot = (u_int32_t)c->head[a] & qmask;
    d = &QUEUE(c, a)[slot];
    c->shadow[(size_t)a * slots + slot] = buf;
    d->buf = buf;
    d->caplen = caplen;
    d->len = p->len;
    d->if_index = p->if_index;
    d->ts_ns = ts_ns;
    d->rx_direction = p->rx_direction;
    d->hash = hash;
    c->head[a]++;                   /* published once per burst (publish) */
  }
  return targets;
}

/* The queues of apps after a burst: head (release: the descriptors before
 * it) and delivered, one store each per queue and burst, not per packet. */
static void publish(pfring_dna_cluster *c, u_int32_t apps)
{
  u_int32_t m, a;

  for (m = apps; m; m &= m - 1) {
    struct dnacl_app *app;

    a = (u_int32_t)__builtin_ctz(m);
    app = APP(c, a);
    bump(&app->delivered, c->head[a] - c->published[a]);
    c->published[a] = c->head[a];
    __atomic_store_n(&app->head, c->head[a], __ATOMIC_RELEASE);
  }
}

/* Wakes the slaves of apps that sleep (they set waiting first): once per
 * loop turn, after every ring was drained, not per packet or burst. */
static void wake_apps(pfring_dna_cluster *c, u_int32_t apps)
{
  u_int32_t m;

  __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* head before waiting (the slave: the reverse) */
  for (m = apps; m; m &= m - 1) {
    struct dnacl_app *app = APP(c, (u_int32_t)__builtin_ctz(m));
    if (__atomic_load_n(&app->waiting, __ATOMIC_SEQ_CST)) {
      __atomic_add_fetch(&app->seq, 1, __ATOMIC_SEQ_CST);
      syscall(SYS_futex, &app->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
  }
}

/* The egress ring of a TX descriptor: the registered ring one of whose
 * interfaces has if_index, the first registered ring for if_index <= 0;
 * NULL when no ring has it.  *ri: the ring's position. */
static pfring *egress_ring(pfring_dna_cluster *c, int32_t if_index, u_int32_t *ri)
{
  u_int32_t i, d;

  if (if_index <= 0) {
    *ri = 0;
    return c->rings[0];
  }
  for (i = 0; i < c->num_rings; i++) {
    pfring *r = c->rings[i];
    u_int32_t n = r->spec.num_devices ? r->spec.num_devices : 1;
    for (d = 0; d < n && d < MAX_NUM_DEVICES; d++)
      if (r->if_index[d] == if_index) {
        *ri = i;
        return r;
      }
  }
  return NULL;
}

/* The TX queue of app a whose published head lies within tx_slots of what
 * was drained: the number of descriptors pending, 0 for a head that is not
 * a position of this queue (ignored). */
static inline u_int64_t tx_pending(pfring_dna_cluster *c, u_int32_t a, u_int64_t *head)
{
  *head = __atomic_load_n(&APP(c, a)->tx_head, __ATOMIC_ACQUIRE);
  if (*head - c->tx_tail[a] > c->tx_slots)
    return 0;
  return *head - c->tx_tail[a];
}

/* The bytes a TX descriptor of app a names (buf, see dna_cluster_shm.h):
 * one of the app's TX buffers, or the pool buffer of a slot of its RX
 * queue whose position is queued and not released (the slave keeps it; the
 * buffer is the master's own record of the slot); NULL for anything else. */
static char *tx_frame(pfring_dna_cluster *c, u_int32_t a, u_int32_t buf)
{
  u_int32_t slot = buf & ~DNACL_TX_RX_SLOT;
  u_int64_t pos;

  if (!(buf & DNACL_TX_RX_SLOT))
    return buf < c->tx_bufs ? (char *)c->txbufs + ((size_t)a * c->tx_bufs + buf) * c->buf_size
                            : NULL;
  if (slot >= c->slots)
    return NULL;
  pos = c->seen[a] + ((slot - c->seen[a]) & (c->slots - 1));   /* the one in [seen, seen + slots) */
  if (pos - c->seen[a] >= c->head[a] - c->seen[a])
    return NULL;                      /* not queued, or released already */
  return (char *)c->bufs + (size_t)c->shadow[(size_t)a * c->slots + slot] * c->buf_size;
}

/* Sends up to TX_BURST frames of app a's TX queue; *used gets the bits of
 * the egress rings sent on.  A full egress ring leaves the frame for the
 * next turn; anything else that cannot be sent is dropped (counted). */
static void drain_tx(pfring_dna_cluster *c, u_int32_t a, u_int32_t *used)
{
  struct dnacl_app *app = APP(c, a);
  const struct dnacl_desc *q = c->txq + (size_t)a * c->tx_slots;
  u_int32_t mask = c->tx_slots - 1, ri, k;
  u_int64_t head, t = c->tx_tail[a], sent = 0, dropped = 0;
  u_int64_t n = tx_pending(c, a, &head);

  if (n > TX_BURST)
    n = TX_BURST;
  for (k = 0; k < n; k++) {
    struct dnacl_desc d;
    char *frame;
    pfring *r;
    int rc;

    memcpy(&d, &q[t & mask], sizeof(d));       /* read once: the slave may change it */
    if (d.caplen == 0 || d.caplen > c->buf_size || !(frame = tx_frame(c, a, d.buf)) ||
        !(r = egress_ring(c, d.if_index, &ri))) {
      dropped++;
      t++;
      continue;
    }
    rc = d.if_index > 0 ? pfring_send_ifindex(r, frame, d.caplen, 0, d.if_index)
                        : pfring_send(r, frame, d.caplen, 0);
    if (rc == PF_RING_ERROR_NO_TX_SLOT_AVAILABLE) {
      *used |= 1u << ri;            /* flushed, and tried again next turn */
      break;
    }
    if (rc < 0) {
      if (!app->tx_dropped && !dropped)
        pfringint_log(1, "DNA cluster %u: app %u: sending failed: %s", c->id, a,
                      pfring_last_error(r));
      dropped++;
    } else {
      sent++;
      *used |= 1u << ri;
    }
    t++;
  }
  if (t == c->tx_tail[a])
    return;
  c->tx_tail[a] = t;
  __atomic_store_n(&app->tx_tail, t, __ATOMIC_RELEASE);
  if (sent) {
    bump(&app->tx_sent, sent);
    bump(&c->tx_packets, sent);
  }
  if (dropped)
    bump(&app->tx_dropped, dropped);
}

/* Every TX queue with a slave, then the egress rings flushed. */
static u_int32_t drain_all_tx(pfring_dna_cluster *c)
{
  u_int32_t a, used = 0, m;
  u_int64_t head;

  for (a = 0; a < c->num_apps; a++) {
    u_int32_t owner = __atomic_load_n(&APP(c, a)->owner, __ATOMIC_ACQUIRE);
    if (owner != 0 && owner != DNACL_OWNER_FLUSHING && tx_pending(c, a, &head))
      drain_tx(c, a, &used);
  }
  for (m = used; m; m &= m - 1)
    pfring_flush_tx_packets(c->rings[__builtin_ctz(m)]);
  return used;
}

/* Empties the queues whose slave died or left (see dna_cluster_shm.h). */
static void flush_orphans(pfring_dna_cluster *c)
{
  u_int32_t a;

  for (a = 0; a < c->num_apps; a++) {
    struct dnacl_app *app = APP(c, a);
    u_int32_t owner = __atomic_load_n(&app->owner, __ATOMIC_ACQUIRE);

    u_int64_t tx_head = 0, tx_left = 0;

    if (owner == DNACL_OWNER_FLUSHING)
      continue;
    reclaim(c, a);
    if (c->tx_slots)
      tx_left = tx_pending(c, a, &tx_head);
    if (owner == 0 && c->seen[a] == c->head[a] && !tx_left)
      continue;
    if (dnacl_locked(c->fd, DNACL_LOCK_APP(a)))
      continue;
    if (!__atomic_compare_exchange_n(&app->owner, &owner, DNACL_OWNER_FLUSHING, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue;
    reclaim(c, a);
    bump(&app->dropped, c->head[a] - c->seen[a]);    /* queued, never released */
    release_to(c, a, c->head[a]);
    __atomic_store_n(&app->tail, c->head[a], __ATOMIC_RELEASE);
    c->tail_cache[a] = c->head[a];
    if (c->tx_slots && (tx_left = tx_pending(c, a, &tx_head))) {
      bump(&app->tx_dropped, tx_left);          /* published, never sent */
      c->tx_tail[a] = tx_head;
      __atomic_store_n(&app->tx_tail, tx_head, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&app->owner, 0, __ATOMIC_RELEASE);
  }
}

static long ms_since(const struct timespec *t)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void idle_wait(pfring_dna_cluster *c)
{
  struct pollfd pfd[DNA_CLUSTER_MAX_RINGS];
  u_int32_t i, n = 0;

  int ms = c->tx_slots ? TX_IDLE_MS : IDLE_POLL_MS;

  if (c->active_wait) {
    sched_yield();
    return;
  }
  if (c->mode == send_only_mode) {
    poll(NULL, 0, TX_IDLE_MS);
    return;
  }
  if (c->num_rings == 1) {
    pfring_poll(c->rings[0], (u_int)ms);
    return;
  }
  for (i = 0; i < c->num_rings; i++) {
    int fd = pfring_get_selectable_fd(c->rings[i]);
    if (fd >= 0) {
      pfd[n].fd = fd;
      pfd[n].events = POLLIN;
      n++;
    }
  }
  poll(pfd, n, n ? ms : 1);
}

/* The apps whose queue has a slave (owner neither 0 nor FLUSHING): read
 * once per burst, not per packet, from the cache lines the slaves write.
 * Only this thread moves an owner to FLUSHING, between bursts; a slave
 * joining or leaving during a burst is seen at the next one, as it would
 * be a packet later. */
static u_int32_t owned_apps(pfring_dna_cluster *c)
{
  u_int32_t a, mask = 0;

  for (a = 0; a < c->num_apps; a++) {
    u_int32_t owner = __atomic_load_n(&APP(c, a)->owner, __ATOMIC_ACQUIRE);
    if (owner != 0 && owner != DNACL_OWNER_FLUSHING)
      mask |= 1u << a;
  }
  return mask;
}

/* One ring: bursts until it has no full one left (at most DRAIN_BURSTS);
 * returns the packets received, or -1 when receiving failed.  *woke gets
 * the apps something was queued for. */
static int drain_ring(pfring_dna_cluster *c, u_int32_t i, struct pfring_burst_pkt *pkts,
                      u_int32_t *woke)
{
  u_int32_t a, m, apps;
  int n, k, got = 0, b;

  for (b = 0; b < DRAIN_BURSTS; b++) {
    n = pfring_recv_burst(c->rings[i], pkts, BURST, 0);
    if (n < 0) {
      pfringint_log(1, "DNA cluster %u: receiving failed: %s", c->id,
                    pfring_last_error(c->rings[i]));
      return got ? got : -1;
    }
    if (n > 0)
      c->owned = owned_apps(c);
    if (n > 0 && !c->num_groups)
      for (a = 0; a < c->num_apps; a++)
        c->info.approximate_stats[a].rx_queued = (u_int32_t)(c->head[a] - c->tail_cache[a]);
    apps = 0;
    for (k = 0; k < n; k++)
      apps |= distribute(c, &pkts[k]);
    if (apps)
      publish(c, apps);
    *woke |= apps;
    for (m = c->fwd_used; m; m &= m - 1)
      pfring_flush_tx_packets(c->rings[__builtin_ctz(m)]);
    c->fwd_used = 0;
    got += n;
    if (n < BURST)
      break;
  }
  return got;
}

static void *master_thread(void *arg)
{
  pfring_dna_cluster *c = arg;
  struct pfring_burst_pkt pkts[BURST];
  u_int32_t i, a, woke;
  int n, got;

  /* Slaves that died while the thread was stopped: their queues are
   * emptied before anything of theirs is sent. */
  flush_orphans(c);
  clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
    got = 0;
    woke = 0;
    for (a = 0; a < c->num_apps; a++)
      reclaim(c, a);
    if (c->tx_slots && drain_all_tx(c))
      got++;
    for (i = 0; i < c->num_rings && c->mode != send_only_mode; i++) {
      n = drain_ring(c, i, pkts, &woke);
      if (n < 0) {
        poll(NULL, 0, IDLE_POLL_MS);
        continue;
      }
      got += n;
    }
    if (woke)
      wake_apps(c, woke);
    if (ms_since(&c->last_tick) >= TICK_MS) {
      flush_orphans(c);
      clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
    }
    if (!got)
      idle_wait(c);
  }
  return NULL;
}

PFRING_API int dna_cluster_enable(pfring_dna_cluster *c)
{
  u_int32_t i;
  int rc;

  CHECK_CLUSTER(c, "dna_cluster_enable");
  if (c->thread_started)
    return 0;
  if (c->num_rings == 0)
    return seterr(PF_RING_ERROR_WRONG_CONFIGURATION, EINVAL,
                  "dna_cluster_enable: cluster %u has no ring (dna_cluster_register_ring)",
                  c->id);
  for (i = 0; (c->mode != recv_only_mode || (c->flags & DNA_CLUSTER_DIRECT_FORWARDING)) &&
              i < c->num_rings; i++)
    if (c->rings[i]->mode == recv_only_mode || c->rings[i]->mode == management_only_mode)
      return seterr(PF_RING_ERROR_WRONG_CONFIGURATION, EINVAL,
                    "dna_cluster_enable: ring %u (%s) cannot send, and cluster %u is in %s: "
                    "open it in send_and_recv_mode or send_only_mode", i,
                    c->rings[i]->bound_name, c->id,
                    c->mode == recv_only_mode ? "direct forwarding" : mode_name(c->mode));
  /* What the cluster forwards leaves through its own rings: they must not
   * take it again (the guide's DNA rings see received packets only). */
  for (i = 0; (c->flags & DNA_CLUSTER_DIRECT_FORWARDING) && i < c->num_rings; i++)
    if ((rc = pfring_set_direction(c->rings[i], rx_only_direction)) < 0)
      return seterr(rc, 0, "dna_cluster_enable: ring %u: %s", i, pfring_last_error(c->rings[i]));
  for (i = 0; i < c->num_rings; i++) {
    rc = pfring_enable_ring(c->rings[i]);
    if (rc < 0)
      return seterr(rc, 0, "dna_cluster_enable: ring %u: %s", i, pfring_last_error(c->rings[i]));
  }
  __atomic_store_n(&c->stop, 0, __ATOMIC_RELEASE);
  rc = pthread_create(&c->thread, NULL, master_thread, c);
  if (rc != 0)
    return syserr(PF_RING_ERROR_GENERIC, rc, "dna_cluster_enable: cannot start the thread");
  c->thread_started = 1;
  c->was_enabled = 1;
  pthread_setname_np(c->thread, "pfring-dnacl");
  if ((rc = apply_affinity(c, "dna_cluster_enable")) < 0) {
    dna_cluster_disable(c);
    return rc;
  }
  __atomic_store_n(&c->hdr->state, DNACL_RUNNING, __ATOMIC_RELEASE);
  return 0;
}

PFRING_API int dna_cluster_disable(pfring_dna_cluster *c)
{
  CHECK_CLUSTER(c, "dna_cluster_disable");
  if (!c->thread_started)
    return 0;
  __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);   /* seen within IDLE_POLL_MS */
  pthread_join(c->thread, NULL);
  c->thread_started = 0;
  __atomic_store_n(&c->hdr->state, DNACL_READY, __ATOMIC_RELEASE);
  return 0;
}

PFRING_API int dna_cluster_stats(pfring_dna_cluster *c, pfring_dna_cluster_stat *stats)
{
  CHECK_CLUSTER(c, "dna_cluster_stats");
  if (!stats)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "dna_cluster_stats: stats is NULL");
  stats->tot_rx_packets = __atomic_load_n(&c->rx_packets, __ATOMIC_RELAXED);
  stats->tot_tx_packets = __atomic_load_n(&c->tx_packets, __ATOMIC_RELAXED);
  stats->tot_rx_processed = __atomic_load_n(&c->rx_processed, __ATOMIC_RELAXED);
  return 0;
}

/* Two counters of app's queue (offsets in struct dnacl_app) into *x and
 * *y, either of which may be NULL. */
static int app_counters(pfring_dna_cluster *c, const char *fn, u_int32_t app, size_t x_off,
                        size_t y_off, u_int64_t *x, u_int64_t *y)
{
  char *a;

  CHECK_CLUSTER(c, fn);
  if (app >= c->num_apps)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: app %u is out of range (0..%u)",
                  fn, app, c->num_apps - 1);
  a = (char *)APP(c, app);
  if (x)
    *x = __atomic_load_n((u_int64_t *)(a + x_off), __ATOMIC_RELAXED);
  if (y)
    *y = __atomic_load_n((u_int64_t *)(a + y_off), __ATOMIC_RELAXED);
  return 0;
}

PFRING_API int dna_cluster_app_stats(pfring_dna_cluster *c, u_int32_t app, u_int64_t *delivered,
                                     u_int64_t *dropped)
{
  return app_counters(c, "dna_cluster_app_stats", app, offsetof(struct dnacl_app, delivered),
                      offsetof(struct dnacl_app, dropped), delivered, dropped);
}

PFRING_API int dna_cluster_app_tx_stats(pfring_dna_cluster *c, u_int32_t app, u_int64_t *sent,
                                        u_int64_t *dropped)
{
  return app_counters(c, "dna_cluster_app_tx_stats", app, offsetof(struct dnacl_app, tx_sent),
                      offsetof(struct dnacl_app, tx_dropped), sent, dropped);
}

PFRING_API void dna_cluster_destroy(pfring_dna_cluster *c)
{
  struct stat a, b;
  size_t size;
  u_int32_t i;

  if (!c)
    return;
  dna_cluster_disable(c);
  for (i = 0; i < c->num_rings; i++)
    pfringint_status_set_extra(c->rings[i], NULL, NULL);   /* the writer is done with c */
  size = c->size;
  __atomic_store_n(&c->hdr->state, DNACL_GONE, __ATOMIC_SEQ_CST);
  for (i = 0; i < c->num_apps; i++) {
    struct dnacl_app *app = APP(c, i);
    __atomic_add_fetch(&app->seq, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &app->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
  /* Removed only while the name is still this cluster's file. */
  if (fstat(c->fd, &a) == 0 && lstat(c->path, &b) == 0 && a.st_ino == b.st_ino &&
      a.st_dev == b.st_dev)
    unlink(c->path);
  munmap(c->base, size);
  close(c->fd);
  for (i = 0; i < c->num_rings; i++)
    pfring_close(c->rings[i]);            /* the cluster's since dna_cluster_register_ring */
  free(c->shadow);
  free(c->refcnt);
  free(c->free_stack);
  free(c);
}
