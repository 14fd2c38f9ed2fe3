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
 * the master's thread sleeps in pfring_poll when its rings are idle, wakes
 * a sleeping slave with FUTEX_WAKE once per burst, and checks every
 * TICK_MS which queues lost their slave (one F_OFD_GETLK per queue with an
 * owner).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
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
#define TICK_MS 100
#define IDLE_POLL_MS 10

struct pfring_dna_cluster {
  u_int32_t id, num_apps;
  int fd;
  void *base;
  struct dnacl_hdr *hdr;
  char path[64];

  pfring *rings[DNA_CLUSTER_MAX_RINGS];
  u_int32_t num_rings;
  u_int32_t active_wait;
  dna_cluster_distribution_func func;
  void *user;

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
  u_int64_t head[DNA_CLUSTER_MAX_APPS];  /* per queue: what app.head says */
  u_int64_t seen[DNA_CLUSTER_MAX_APPS];  /* per queue: references dropped up to */
  u_int64_t tail_cache[DNA_CLUSTER_MAX_APPS];
  struct timespec last_tick;

  /* dna_cluster_set_app_groups: instances per group (0 = no groups) */
  u_int32_t num_groups;
  u_int32_t group_size[DNA_CLUSTER_MAX_APPS];

  /* counters (written by the thread, read by dna_cluster_stats) */
  u_int64_t rx_packets, rx_processed;
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

/* The default hash of a packet; 0 for non-IP packets. */
static u_int32_t flow_hash(const u_char *pkt, u_int32_t caplen, u_int32_t len)
{
  struct pfring_pkthdr h;

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

PFRING_API u_int32_t dna_cluster_default_distribution(const u_char *pkt, u_int32_t caplen,
                                                      u_int32_t len, u_int32_t num_apps,
                                                      void *user)
{
  if (num_apps <= 1)
    return 1u;
  return 1u << (flow_hash(pkt, caplen, len) % num_apps);
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

PFRING_API pfring_dna_cluster *dna_cluster_create(u_int32_t cluster_id, u_int32_t num_apps,
                                                  u_int32_t flags)
{
  pfring_dna_cluster *c;
  struct dnacl_hdr h;
  u_int32_t i;

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
  if (flags != 0) {
    seterr(PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
           "dna_cluster_create: flags 0x%x are not supported (only 0)", flags);
    return NULL;
  }
  c = calloc(1, sizeof(*c));
  if (!c) {
    seterr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "dna_cluster_create: out of memory");
    return NULL;
  }
  c->id = cluster_id;
  c->num_apps = num_apps;
  c->fd = -1;
  c->base = MAP_FAILED;
  shm_path(c->path, sizeof(c->path), cluster_id);

  memset(&h, 0, sizeof(h));
  h.magic = DNACL_MAGIC;
  h.version = DNACL_VERSION;
  h.cluster_id = cluster_id;
  h.num_apps = num_apps;
  h.queue_slots = DNACL_QUEUE_SLOTS;
  h.num_bufs = num_apps * DNACL_QUEUE_SLOTS + 1;
  h.buf_size = DNACL_BUF_SIZE;
  h.state = DNACL_CREATING;
  h.master_pid = (u_int32_t)getpid();
  dnacl_layout(&h);

  c->slots = h.queue_slots;
  c->num_bufs = h.num_bufs;
  c->buf_size = h.buf_size;
  c->shadow = calloc((size_t)num_apps * h.queue_slots, sizeof(*c->shadow));
  c->refcnt = calloc(h.num_bufs, sizeof(*c->refcnt));
  c->free_stack = malloc((size_t)h.num_bufs * sizeof(*c->free_stack));
  if (!c->shadow || !c->refcnt || !c->free_stack) {
    seterr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "dna_cluster_create: out of memory");
    goto fail;
  }
  for (i = 0; i < h.num_bufs; i++)
    c->free_stack[i] = h.num_bufs - 1 - i;
  c->free_top = h.num_bufs;

  c->fd = open_new(c->path, cluster_id);
  if (c->fd < 0)
    goto fail;
  if (ftruncate(c->fd, (off_t)h.total_size) < 0) {
    syserr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno,
           "dna_cluster_create: cannot size %s to %llu bytes", c->path,
           (unsigned long long)h.total_size);
    goto fail_unlink;
  }
  c->base = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
  if (c->base == MAP_FAILED) {
    syserr(PF_RING_ERROR_MMAP_FAILURE, errno, "dna_cluster_create: cannot map %s", c->path);
    goto fail_unlink;
  }
  c->hdr = (struct dnacl_hdr *)c->base;
  memcpy(c->hdr, &h, sizeof(h));
  c->size = h.total_size;
  c->apps = (struct dnacl_app *)((char *)c->base + h.apps_off);
  c->queues = (struct dnacl_desc *)((char *)c->base + h.queues_off);
  c->bufs = (u_char *)c->base + h.bufs_off;
  __atomic_store_n(&c->hdr->state, DNACL_READY, __ATOMIC_RELEASE);
  c->func = dna_cluster_default_distribution;
  return c;

fail_unlink:
  unlink(c->path);
fail:
  if (c->base != MAP_FAILED)
    munmap(c->base, h.total_size);
  if (c->fd >= 0)
    close(c->fd);
  free(c->shadow);
  free(c->refcnt);
  free(c->free_stack);
  free(c);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */

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
  return 0;
}

PFRING_API int dna_cluster_set_mode(pfring_dna_cluster *c, socket_mode mode)
{
  CHECK_CLUSTER(c, "dna_cluster_set_mode");
  if (mode == recv_only_mode)
    return 0;
  if (mode == send_only_mode || mode == send_and_recv_mode)
    return seterr(PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                  "dna_cluster_set_mode: mode %d needs transmission from slaves, which is "
                  "not implemented; use recv_only_mode", (int)mode);
  return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                "dna_cluster_set_mode: mode %d is not a socket_mode of a cluster", (int)mode);
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
                                                     dna_cluster_distribution_func func,
                                                     void *user)
{
  CHECK_CLUSTER(c, "dna_cluster_set_distribution_function");
  CHECK_STOPPED(c, "dna_cluster_set_distribution_function");
  c->func = func ? func : dna_cluster_default_distribution;
  c->user = func ? user : NULL;
  c->num_groups = 0;
  return 0;
}

/* Every group gets the packet: instance hash % its size of each. */
static u_int32_t group_distribution(const u_char *pkt, u_int32_t caplen, u_int32_t len,
                                    u_int32_t num_apps, void *user)
{
  const pfring_dna_cluster *c = user;
  u_int32_t g, first = 0, mask = 0, hash = 0, hashed = 0;

  for (g = 0; g < c->num_groups; g++) {
    u_int32_t n = c->group_size[g];
    if (n > 1 && !hashed) {
      hash = flow_hash(pkt, caplen, len);
      hashed = 1;
    }
    mask |= 1u << (first + (n > 1 ? hash % n : 0));
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
  c->func = group_distribution;
  c->user = c;
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

/* One packet: returns the apps it was queued for. */
static inline u_int32_t distribute(pfring_dna_cluster *c, const struct pfring_burst_pkt *p)
{
  u_int32_t valid = c->num_apps == 32 ? ~0u : (1u << c->num_apps) - 1;
  u_int32_t slots = c->slots, qmask = slots - 1;
  u_int32_t want, targets = 0, n = 0, a, buf, caplen, m;

  want = c->func(p->data, p->caplen, p->len, c->num_apps, c->user) & valid;
  bump(&c->rx_packets, 1);
  if (!want)
    return 0;
  bump(&c->rx_processed, 1);
  for (m = want; m; m &= m - 1) {
    struct dnacl_app *app;
    u_int32_t owner;

    a = (u_int32_t)__builtin_ctz(m);
    app = APP(c, a);
    owner = __atomic_load_n(&app->owner, __ATOMIC_ACQUIRE);
    if (owner == 0 || owner == DNACL_OWNER_FLUSHING) {
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
  for (m = targets; m; m &= m - 1) {
    struct dnacl_app *app;
    struct dnacl_desc *d;

    a = (u_int32_t)__builtin_ctz(m);
    app = APP(c, a);
    d = &QUEUE(c, a)[c->head[a] & qmask];
    c->shadow[(size_t)a * slots + (c->head[a] & qmask)] = buf;
    d->buf = buf;
    d->caplen = caplen;
    d->len = p->len;
    d->if_index = p->if_index;
    d->ts_ns = p->ts_sec * 1000000000ull + p->ts_nsec;
    d->rx_direction = p->rx_direction;
    __atomic_store_n(&app->head, ++c->head[a], __ATOMIC_RELEASE);
    bump(&app->delivered, 1);
  }
  return targets;
}

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

/* Empties the queues whose slave died or left (see dna_cluster_shm.h). */
static void flush_orphans(pfring_dna_cluster *c)
{
  u_int32_t a;

  for (a = 0; a < c->num_apps; a++) {
    struct dnacl_app *app = APP(c, a);
    u_int32_t owner = __atomic_load_n(&app->owner, __ATOMIC_ACQUIRE);

    if (owner == DNACL_OWNER_FLUSHING)
      continue;
    reclaim(c, a);
    if (owner == 0 && c->seen[a] == c->head[a])
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

  if (c->active_wait) {
    sched_yield();
    return;
  }
  if (c->num_rings == 1) {
    pfring_poll(c->rings[0], IDLE_POLL_MS);
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
  poll(pfd, n, n ? IDLE_POLL_MS : 1);
}

static void *master_thread(void *arg)
{
  pfring_dna_cluster *c = arg;
  struct pfring_burst_pkt pkts[BURST];
  u_int32_t i, a, woke;
  int n, k, got;

  clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
    got = 0;
    for (a = 0; a < c->num_apps; a++)
      reclaim(c, a);
    for (i = 0; i < c->num_rings; i++) {
      n = pfring_recv_burst(c->rings[i], pkts, BURST, 0);
      if (n < 0) {
        pfringint_log(1, "DNA cluster %u: receiving failed: %s", c->id,
                      pfring_last_error(c->rings[i]));
        poll(NULL, 0, IDLE_POLL_MS);
        continue;
      }
      woke = 0;
      for (k = 0; k < n; k++)
        woke |= distribute(c, &pkts[k]);
      if (woke)
        wake_apps(c, woke);
      got += n;
    }
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

PFRING_API int dna_cluster_stats(pfring_dna_cluster *c, u_int64_t *tot_rx_packets,
                                 u_int64_t *tot_tx_packets, u_int64_t *tot_rx_processed,
                                 u_int64_t *tot_tx_processed)
{
  CHECK_CLUSTER(c, "dna_cluster_stats");
  if (tot_rx_packets)
    *tot_rx_packets = __atomic_load_n(&c->rx_packets, __ATOMIC_RELAXED);
  if (tot_rx_processed)
    *tot_rx_processed = __atomic_load_n(&c->rx_processed, __ATOMIC_RELAXED);
  if (tot_tx_packets)
    *tot_tx_packets = 0;
  if (tot_tx_processed)
    *tot_tx_processed = 0;
  return 0;
}

PFRING_API int dna_cluster_app_stats(pfring_dna_cluster *c, u_int32_t app, u_int64_t *delivered,
                                     u_int64_t *dropped)
{
  struct dnacl_app *a;

  CHECK_CLUSTER(c, "dna_cluster_app_stats");
  if (app >= c->num_apps)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "dna_cluster_app_stats: app %u is out of range (0..%u)", app, c->num_apps - 1);
  a = APP(c, app);
  if (delivered)
    *delivered = __atomic_load_n(&a->delivered, __ATOMIC_RELAXED);
  if (dropped)
    *dropped = __atomic_load_n(&a->dropped, __ATOMIC_RELAXED);
  return 0;
}

PFRING_API void dna_cluster_destroy(pfring_dna_cluster *c)
{
  struct stat a, b;
  size_t size;
  u_int32_t i;

  if (!c)
    return;
  dna_cluster_disable(c);
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
  free(c->shadow);
  free(c->refcnt);
  free(c->free_stack);
  free(c);
}
