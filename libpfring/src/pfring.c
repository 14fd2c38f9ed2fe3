/*
 * pfring.c - the public wrappers of libpfring.
 *
 * Every public function validates its arguments and the ring's state, then
 * dispatches to the backend's op.  A NULL op gives
 * PF_RING_ERROR_NOT_SUPPORTED.  Work that is the same for every backend lives
 * here: locking for PF_RING_REENTRANT, sampling, header parsing, the copy for
 * buffer_len > 0, error text and the status tree bookkeeping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if_arp.h>
#include <pcap/dlt.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                               */

/* The printer installed by default (pfring.h): "pfring: <level>: <msg>". */
PFRING_API void pfring_default_print(int level, const char *msg, void *user)
{
  static const char *names[] = { "error", "warning", "info", "debug" };

  (void)user;
  fprintf(stderr, "pfring: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

static pfring_print_fn print_fn = pfring_default_print;
static void *print_user;
static int print_max_level = 1;

PFRING_API void pfring_set_print(pfring_print_fn fn, void *user, int max_level)
{
  print_fn = fn ? fn : pfring_default_print;
  print_user = user;
  print_max_level = max_level;
}

static void vlog(int level, const char *fmt, va_list ap)
{
  char msg[512];

  if (level > print_max_level)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  print_fn(level, msg, print_user);
}

void pfringint_log(int level, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

/* The same for libraries built on libpfring (pfring.h). */
PFRING_API void pfring_log(int level, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static __thread char open_errbuf[PFRING_ERRBUF_SIZE];
static __thread int open_rc;

PFRING_API const char *pfring_last_open_error(void) { return open_errbuf; }
PFRING_API int pfring_last_open_error_code(void) { return open_rc; }

PFRING_API const char *pfring_last_error(pfring *ring)
{
  return ring ? ring->errbuf : open_errbuf;
}

/* The one table of PF_RING_ERROR_* codes: the errno each sets and its text.
 * pfring_strerror and pfring_error_errno read it, so does the Python
 * binding (pcap_pfring.errors).  The errno is what the failure means to a
 * POSIX program; a failing system call may still leave its own errno (the
 * text then carries strerror of it), but every code maps to one value here:
 *   GENERIC, END_OF_DEMO_MODE, INVALID_LIB_VERSION, UNABLE_TO_MAP,
 *   UNABLE_TO_GET_INFO, INIT_FAILURE           EIO (no better POSIX meaning)
 *   INVALID_ARGUMENT                            EINVAL
 *   NO_PKT_AVAILABLE                            EAGAIN (try again later)
 *   NO_TX_SLOT_AVAILABLE                        ENOBUFS (a full transmit queue)
 *   WRONG_CONFIGURATION                         ENETDOWN: every use here is an
 *                                               interface that is down (and
 *                                               ENETDOWN from the kernel maps back
 *                                               to this code)
 *   NOT_SUPPORTED                               EOPNOTSUPP
 *   UNKNOWN_ADAPTER, BAD_IFNAME                 ENODEV
 *   NOT_ENOUGH_MEMORY, MMAP_FAILURE             ENOMEM
 *   INVALID_STATUS                              EBADF (a closed ring, a call in
 *                                               the wrong state)
 *   RING_NOT_ENABLED                            ENETDOWN (the ring is not up)
 *   MOD_NOT_LOADED                              ENOSYS (no such facility)
 *   PERMISSION_DENIED                           EPERM
 * Unknown codes: EIO and "unknown error". */
static const struct {
  int err;
  const char *text;
} error_table[] = {
  [0]                                      = { 0, "success" },
  [-PF_RING_ERROR_GENERIC]                 = { EIO, "generic error" },
  [-PF_RING_ERROR_INVALID_ARGUMENT]        = { EINVAL, "invalid argument" },
  [-PF_RING_ERROR_NO_PKT_AVAILABLE]        = { EAGAIN, "no packet available" },
  [-PF_RING_ERROR_NO_TX_SLOT_AVAILABLE]    = { ENOBUFS, "no TX slot available" },
  [-PF_RING_ERROR_WRONG_CONFIGURATION]     = { ENETDOWN, "wrong configuration" },
  [-PF_RING_ERROR_END_OF_DEMO_MODE]        = { EIO, "end of demo mode" },
  [-PF_RING_ERROR_NOT_SUPPORTED]           = { EOPNOTSUPP, "not supported" },
  [-PF_RING_ERROR_INVALID_LIB_VERSION]     = { EIO, "invalid library version" },
  [-PF_RING_ERROR_UNKNOWN_ADAPTER]         = { ENODEV, "unknown adapter" },
  [-PF_RING_ERROR_NOT_ENOUGH_MEMORY]       = { ENOMEM, "not enough memory" },
  [-PF_RING_ERROR_INVALID_STATUS]          = { EBADF, "invalid status" },
  [-PF_RING_ERROR_RING_NOT_ENABLED]        = { ENETDOWN, "ring not enabled" },
  [-PF_RING_ERROR_BAD_IFNAME]              = { ENODEV, "bad interface name" },
  [-PF_RING_ERROR_MOD_NOT_LOADED]          = { ENOSYS, "module not loaded" },
  [-PF_RING_ERROR_UNABLE_TO_MAP]           = { EIO, "unable to map" },
  [-PF_RING_ERROR_UNABLE_TO_GET_INFO]      = { EIO, "unable to get information" },
  [-PF_RING_ERROR_MMAP_FAILURE]            = { ENOMEM, "mmap failure" },
  [-PF_RING_ERROR_INIT_FAILURE]            = { EIO, "initialisation failure" },
  [-PF_RING_ERROR_PERMISSION_DENIED]       = { EPERM, "permission denied" },
};

#define NUM_ERRORS ((int)(sizeof(error_table) / sizeof(error_table[0])))

PFRING_API const char *pfring_strerror(int rc)
{
  return rc <= 0 && rc > -NUM_ERRORS ? error_table[-rc].text : "unknown error";
}

PFRING_API int pfring_error_errno(int rc)
{
  return rc <= 0 && rc > -NUM_ERRORS ? error_table[-rc].err : EIO;
}

static int vseterr(pfring *ring, int rc, int err, const char *suffix,
                   const char *fmt, va_list ap)
{
  char *buf = ring ? ring->errbuf : open_errbuf;
  size_t n;

  vsnprintf(buf, PFRING_ERRBUF_SIZE, fmt, ap);
  n = strlen(buf);
  if (suffix && n < PFRING_ERRBUF_SIZE - 1)
    snprintf(buf + n, PFRING_ERRBUF_SIZE - n, ": %s", suffix);
  if (ring)
    ring->last_rc = rc;
  else
    open_rc = rc;
  errno = err ? err : pfring_error_errno(rc);
  return rc;
}

int pfringint_seterr(pfring *ring, int rc, int err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rc = vseterr(ring, rc, err, NULL, fmt, ap);
  va_end(ap);
  return rc;
}

int pfringint_seterr_errno(pfring *ring, int rc, int err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rc = vseterr(ring, rc, err, strerror(err), fmt, ap);
  va_end(ap);
  return rc;
}

int pfringint_errno_to_rc(int err)
{
  switch (err) {
  case EPERM: case EACCES: return PF_RING_ERROR_PERMISSION_DENIED;
  case ENOMEM: case ENOBUFS: return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  case ENODEV: case ENXIO: return PF_RING_ERROR_BAD_IFNAME;
  case EINVAL: case EMSGSIZE: return PF_RING_ERROR_INVALID_ARGUMENT;
  case EOPNOTSUPP: case EAFNOSUPPORT: case EPROTONOSUPPORT:
    return PF_RING_ERROR_NOT_SUPPORTED;
  case ENETDOWN: return PF_RING_ERROR_WRONG_CONFIGURATION;
  default: return PF_RING_ERROR_GENERIC;
  }
}

/* ------------------------------------------------------------------------ */
/* Calls in flight and closing (the protocol is at the top of pfring_int.h)   */

static void release_ring(pfring *ring);

static inline int is_closed(pfring *ring)
{
  return __atomic_load_n(&ring->closed, __ATOMIC_SEQ_CST) != 0;
}

/* Counts the caller in; 0 (and not counted) if the ring is closed. */
static inline int ring_enter(pfring *ring)
{
  __atomic_add_fetch(&ring->inflight, 1, __ATOMIC_SEQ_CST);
  if (!is_closed(ring))
    return 1;
  if (__atomic_sub_fetch(&ring->inflight, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&ring->release_deferred, __ATOMIC_SEQ_CST))
    release_ring(ring);
  return 0;
}

struct ring_guard {
  pfring *ring;                     /* NULL: not counted */
};

/* Runs when a wrapper's guard goes out of scope (every return). */
static inline void ring_leave(struct ring_guard *g)
{
  pfring *ring = g->ring;

  if (ring && __atomic_sub_fetch(&ring->inflight, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&ring->release_deferred, __ATOMIC_SEQ_CST))
    release_ring(ring);
}

/* The first statement of a wrapper: a NULL ring is an invalid argument, a
 * closed one an invalid status; otherwise the call is counted in until it
 * returns, so pfring_close waits for it before freeing anything. */
#define CHECK_RING(r)                                                        \
  struct ring_guard ring_guard_ __attribute__((cleanup(ring_leave))) = { NULL }; \
  do {                                                                       \
    if (!(r)) { errno = EINVAL; return PF_RING_ERROR_INVALID_ARGUMENT; }     \
    if (!ring_enter(r))                                                      \
      return pfringint_seterr((r), PF_RING_ERROR_INVALID_STATUS, EBADF,      \
                              "ring used after pfring_close");               \
    ring_guard_.ring = (r);                                                  \
  } while (0)

/* The same for wrappers without an error code: fail is returned. */
#define ENTER_RING(r, fail)                                                  \
  struct ring_guard ring_guard_ __attribute__((cleanup(ring_leave))) = { NULL }; \
  do {                                                                       \
    if (!(r) || !ring_enter(r))                                              \
      return fail;                                                           \
    ring_guard_.ring = (r);                                                  \
  } while (0)

/* CHECK_RING for the wrappers of other files (pfring_int.h). */
int pfringint_ring_enter(pfring *ring)
{
  if (!ring) {
    errno = EINVAL;
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  if (!ring_enter(ring))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, EBADF,
                            "ring used after pfring_close");
  return 0;
}

void pfringint_ring_leave(pfring **ring)
{
  struct ring_guard g = { *ring };
  ring_leave(&g);
}

/* A blocked call woken by pfring_close. */
static int closed_while_waiting(pfring *ring, const char *what)
{
  return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, EBADF,
                          "%s: the ring was closed by pfring_close", what);
}

/* pfring_breakloop's break is consumed by the receive call it stopped;
 * pfring_close's (PFRINGINT_BREAK_CLOSED) never is. */
static inline void consume_break(pfring *ring)
{
  u_int8_t one = 1;
  __atomic_compare_exchange_n(&ring->break_recv_loop, &one, 0, 0, __ATOMIC_SEQ_CST,
                              __ATOMIC_RELAXED);
}

/* Around a loop or dispatch callback, so that pfring_close called from it
 * knows not to wait for its own caller. */
static inline void callback_enter(pfring *ring, pthread_t self)
{
  ring->cb_thread = self;
  __atomic_add_fetch(&ring->cb_depth, 1, __ATOMIC_SEQ_CST);
}

static inline void callback_leave(pfring *ring)
{
  __atomic_sub_fetch(&ring->cb_depth, 1, __ATOMIC_SEQ_CST);
}

#define NEED_OP(r, op, what) do {                                            \
    if (!(r)->ops.op)                                                        \
      return pfringint_seterr((r), PF_RING_ERROR_NOT_SUPPORTED, 0,           \
                              "%s is not supported by this ring", what);     \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                       */

static const struct pfringint_backend *find_backend(const char *module)
{
  if (module[0] == '\0')
    return &pfringint_af_packet_backend;
  if (strcmp(module, "zc") == 0 || strcmp(module, "xdp") == 0)
    return &pfringint_af_xdp_backend;
  if (strcmp(module, "dnacluster") == 0)
    return &pfringint_dna_cluster_backend;
  return NULL;
}

static int resolve_devices(pfring *ring)
{
  struct pfringint_devspec *s = &ring->spec;
  u_int32_t i;

  ring->arphrd = ARPHRD_ETHER;
  ring->dlt = DLT_EN10MB;
  if (s->any || s->none) {
    snprintf(ring->bound_name, sizeof(ring->bound_name), "%s", s->any ? "any" : "none");
    return 0;
  }
  for (i = 0; i < s->num_devices; i++) {
    int flags = 0, arphrd;
    ring->if_index[i] = pfringint_ifindex(-1, s->devices[i]);
    if (ring->if_index[i] <= 0)
      return pfringint_seterr(ring, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                              "no such interface '%s'", s->devices[i]);
    if (pfringint_if_flags(-1, s->devices[i], &flags) == 0 && !(flags & IFF_UP))
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, ENETDOWN,
                              "interface '%s' is down", s->devices[i]);
    arphrd = pfringint_if_arphrd(-1, s->devices[i]);
    if (arphrd < 0)
      arphrd = ARPHRD_ETHER;
    if (i == 0) {
      ring->arphrd = (u_int16_t)arphrd;
      ring->dlt = pfringint_arphrd_dlt(arphrd);
    } else if (pfringint_arphrd_dlt(arphrd) != ring->dlt) {
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                              "'%s' and '%s' have different link-layer headers (link "
                              "types %u and %d): a ring's packets all have one",
                              s->devices[0], s->devices[i], ring->arphrd, arphrd);
    }
  }
  snprintf(ring->bound_name, sizeof(ring->bound_name), "%s", s->devices[0]);
  ring->num_rx_queues = pfringint_if_num_rx_queues(ring->if_index[0]);
  return 0;
}

static pfring *open_fail(pfring *ring, int rc)
{
  int err = errno;

  if (ring) {
    memcpy(open_errbuf, ring->errbuf, sizeof(open_errbuf));
    open_rc = rc;
    if (ring->ops.close)
      ring->ops.close(ring);
    pthread_mutex_destroy(&ring->rx_lock);
    pthread_mutex_destroy(&ring->tx_lock);
    free(ring);
  }
  errno = err;
  return NULL;
}

/* PF_RING_ZC_SYMMETRIC_RSS: PF_RING's symmetric key on every device of the
 * ring, through the ring's socket (so in the ring's namespace).  A device
 * that does not take it is a warning, as in PF_RING: the ring opens, and the
 * one-line text is logged and left in pfring_last_error(ring). */
static void symmetric_rss(pfring *ring)
{
  u_int32_t i;
  int err;

  for (i = 0; i < ring->spec.num_devices; i++) {
    if (pfringint_if_set_symmetric_rss(pfringint_dev_fd(ring), ring->spec.devices[i]) == 0)
      continue;
    err = errno;
    if (err == EOPNOTSUPP)
      snprintf(ring->errbuf, sizeof(ring->errbuf), "%s: the NIC does not support a symmetric "
               "RSS key (%s); RSS is left as it is", ring->spec.devices[i], strerror(err));
    else
      snprintf(ring->errbuf, sizeof(ring->errbuf), "%s: cannot set a symmetric RSS key (%s); "
               "RSS is left as it is", ring->spec.devices[i], strerror(err));
    pfringint_log(1, "%s", ring->errbuf);
  }
}

PFRING_API pfring *pfring_open(const char *device_name, u_int32_t caplen, u_int32_t flags)
{
  struct pfringint_devspec spec;
  const struct pfringint_backend *be;
  pfring *ring;
  int rc;

  open_errbuf[0] = '\0';
  open_rc = 0;
  rc = pfringint_parse_device_name(device_name, &spec, open_errbuf, sizeof(open_errbuf));
  if (rc < 0) {
    open_rc = rc;
    errno = pfring_error_errno(rc);
    return NULL;
  }
  if (caplen == 0 || caplen > MAX_CAPLEN) {
    pfringint_seterr(NULL, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                     "caplen %u is out of range (1..%u)", caplen, MAX_CAPLEN);
    return NULL;
  }
  if (flags & PF_RING_HW_TIMESTAMP) {
    pfringint_seterr(NULL, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                     "hardware timestamps are not supported on '%s'", device_name);
    return NULL;
  }
  be = find_backend(spec.module);
  if (!be) {
    pfringint_seterr(NULL, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                     "bad device name '%s': module '%s' is not available",
                     device_name, spec.module);
    return NULL;
  }

  /* One allocation: common handle, then the backend's private state. */
  ring = calloc(1, sizeof(*ring) + be->priv_size);
  if (!ring) {
    pfringint_seterr(NULL, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
    return NULL;
  }
  ring->priv = be->priv_size ? (void *)(ring + 1) : NULL;
  ring->fd = ring->dev_fd = -1;
  ring->spec = spec;
  ring->caplen = caplen;
  ring->flags = flags;
  ring->reentrant = !!(flags & PF_RING_REENTRANT);
  ring->promisc = !!(flags & PF_RING_PROMISC);
  ring->sampling_rate = 1;
  pfringint_filter_init(ring);
  ring->mode = send_and_recv_mode;
  ring->poll_watermark = 1;
  ring->poll_duration = DEFAULT_POLL_DURATION;
  pthread_mutex_init(&ring->rx_lock, NULL);
  pthread_mutex_init(&ring->tx_lock, NULL);

  rc = resolve_devices(ring);
  if (rc < 0)
    return open_fail(ring, rc);
  rc = be->activate(ring);
  if (rc < 0)
    return open_fail(ring, rc);
  if (flags & PF_RING_ZC_SYMMETRIC_RSS)
    symmetric_rss(ring);
  ring->ring_id = pfringint_next_ring_id();
  pfringint_status_register(ring);
  return ring;
}

PFRING_API u_int8_t pfring_open_multichannel(const char *device_name, u_int32_t caplen,
                                             u_int32_t flags,
                                             pfring *ring[MAX_NUM_RX_CHANNELS])
{
  struct pfringint_devspec spec;
  char name[IFNAMSIZ + 12];   /* "dev@N", N up to MAX_NUM_RX_CHANNELS */
  int i, n, ifindex;

  if (!ring) {
    pfringint_seterr(NULL, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "ring array is NULL");
    return 0;
  }
  if (pfringint_parse_device_name(device_name, &spec, open_errbuf, sizeof(open_errbuf)) < 0)
    return 0;
  if (spec.num_devices != 1 || spec.channel_mask != RING_ANY_CHANNEL || spec.module[0]) {
    pfringint_seterr(NULL, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                     "bad device name '%s': multichannel needs one plain interface name",
                     device_name);
    return 0;
  }
  ifindex = pfringint_ifindex(-1, spec.devices[0]);
  if (ifindex <= 0) {
    pfringint_seterr(NULL, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                     "no such interface '%s'", spec.devices[0]);
    return 0;
  }
  n = pfringint_if_num_rx_queues(ifindex);
  if (n > MAX_NUM_RX_CHANNELS)
    n = MAX_NUM_RX_CHANNELS;
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "%s@%d", spec.devices[0], i);
    ring[i] = pfring_open(name, caplen, flags);
    if (!ring[i])
      break;
  }
  return (u_int8_t)i;
}

/* Closed handles: never freed (a call on one must read valid memory), kept
 * on a list so that they stay reachable. */
static pfring *closed_rings;
static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;

/* Frees what the ring holds once no call is inside it: the status entry, the
 * cluster membership, the backend's kernel objects, the programs.  Runs once,
 * in pfring_close or in the last call to leave. */
static void release_ring(pfring *ring)
{
  u_int8_t no = 0;

  if (!__atomic_compare_exchange_n(&ring->released, &no, 1, 0, __ATOMIC_SEQ_CST,
                                   __ATOMIC_SEQ_CST))
    return;
  pfringint_status_unregister(ring);
  if (ring->cluster_id)
    pfringint_cluster_release(ring);
  pfringint_hw_rules_release(ring);
  if (ring->ops.close)
    ring->ops.close(ring);
  memset(&ring->ops, 0, sizeof(ring->ops));
  pfringint_rules_release(ring);
  free(ring->filter.bpf.filter);
  free(ring->cluster_prog.filter);
  free(ring->appl_stats);
  memset(&ring->filter.bpf, 0, sizeof(ring->filter.bpf));
  ring->filter.bpf_where = PFRINGINT_BPF_NONE;
  ring->filter.recheck_until_ns = 0;
  ring->uf_check = 0;
  memset(&ring->cluster_prog, 0, sizeof(ring->cluster_prog));
  ring->appl_stats = NULL;
  ring->last_pkt = NULL;
  ring->fd = -1;
  /* rx_lock and tx_lock stay: a deferred caller may still unlock them. */
  pthread_mutex_lock(&closed_lock);
  ring->next_closed = closed_rings;
  closed_rings = ring;
  pthread_mutex_unlock(&closed_lock);
}

static void wake_for_close(pfring *ring)
{
  __atomic_store_n(&ring->break_recv_loop, PFRINGINT_BREAK_CLOSED, __ATOMIC_SEQ_CST);
  if (ring->ops.wake)
    ring->ops.wake(ring);
}

PFRING_API void pfring_close(pfring *ring)
{
  const struct timespec tick = { 0, 1000000 };
  u_int8_t no = 0;

  if (!ring || !__atomic_compare_exchange_n(&ring->closed, &no, 1, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
    return;
  /* From a callback of this ring's pfring_loop/pfring_dispatch: that call
   * is below us on this thread, so the last call out frees. */
  if (__atomic_load_n(&ring->cb_depth, __ATOMIC_SEQ_CST) &&
      pthread_equal(ring->cb_thread, pthread_self())) {
    __atomic_store_n(&ring->release_deferred, 1, __ATOMIC_SEQ_CST);
    wake_for_close(ring);
    return;
  }
  /* Wake blocked callers (again every millisecond: a caller about to block
   * may have drained the first wake-up) and wait for every call to leave. */
  while (__atomic_load_n(&ring->inflight, __ATOMIC_SEQ_CST) > 0) {
    wake_for_close(ring);
    nanosleep(&tick, NULL);
  }
  release_ring(ring);
}

PFRING_API void pfring_shutdown(pfring *ring)
{
  pfring_breakloop(ring);
}

PFRING_API int pfring_enable_ring(pfring *ring)
{
  int rc;

  CHECK_RING(ring);
  if (ring->enabled)
    return 0;
  if (ring->mode == send_only_mode || ring->mode == management_only_mode ||
      ring->spec.none) {
    ring->enabled = 1;
    pfringint_status_update(ring);
    return 0;
  }
  NEED_OP(ring, enable, "enable");
  rc = ring->ops.enable(ring);
  if (rc == 0) {
    ring->enabled = 1;
    /* reflect and bounce rules act from now on */
    if ((rc = pfringint_rules_reflector_sync(ring)) < 0) {
      if (ring->ops.disable)
        ring->ops.disable(ring);
      ring->enabled = 0;
      return rc;
    }
    consume_break(ring);
    pfringint_status_update(ring);
  }
  return rc;
}

PFRING_API int pfring_disable_ring(pfring *ring)
{
  int rc = 0;

  CHECK_RING(ring);
  if (!ring->enabled)
    return 0;
  if (ring->mode != send_only_mode && ring->mode != management_only_mode &&
      !ring->spec.none) {
    NEED_OP(ring, disable, "disable");
    rc = ring->ops.disable(ring);
  }
  if (rc == 0) {
    ring->enabled = 0;
    pfringint_rules_reflector_sync(ring);   /* closes the reflector's links */
    pfringint_status_update(ring);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */

static void fill_long_header(pfring *ring, u_char *pkt, struct pfring_pkthdr *hdr)
{
  if (ring->flags & PF_RING_DO_NOT_PARSE)
    return;
  if (ring->flags & PF_RING_LONG_HEADER)
    pfring_parse_pkt(pkt, hdr, 5, 0, 1);
}

/* The user-space filter (filter_state.c) and the sampler: 1 if the packet
 * is handed out.  ts_ns: its time stamp. */
static inline int keep_packet(pfring *ring, const u_char *pkt, u_int len, u_int caplen,
                              u_int64_t ts_ns)
{
  if (__builtin_expect(ring->uf_check, 0) &&
      !pfringint_filter_accepts(ring, pkt, len, caplen, ts_ns))
    return 0;
  return ring->sampling_rate <= 1 || ring->sampling_in_backend ||
         (ring->sampling_counter++ % ring->sampling_rate) == 0;
}

/* The receive loop shared by pfring_recv and pfring_loop: one packet that
 * passed the sampler, or 0/<0.  Called with rx_lock held when reentrant. */
static int recv_one(pfring *ring, u_char **pkt, struct pfring_pkthdr *hdr, u_int8_t wait)
{
  int rc;

  for (;;) {
    rc = ring->ops.recv(ring, pkt, hdr, wait);
    if (rc <= 0)
      return rc;
    if (!keep_packet(ring, *pkt, hdr->len, hdr->caplen, hdr->extended_hdr.timestamp_ns))
      continue;
    ring->tot_read++;
    ring->tot_bytes += hdr->len;
    ring->last_pkt = *pkt;
    ring->last_pkt_len = hdr->caplen;
    if (ring->flags & PF_RING_DO_NOT_TIMESTAMP) {
      hdr->ts.tv_sec = hdr->ts.tv_usec = 0;
      hdr->extended_hdr.timestamp_ns = 0;
    }
    fill_long_header(ring, *pkt, hdr);
    return 1;
  }
}

/* The state checks of the receive calls (after CHECK_RING). */
static int check_recv(pfring *ring)
{
  if (!ring->enabled)
    return pfringint_seterr(ring, PF_RING_ERROR_RING_NOT_ENABLED, 0,
                            "ring is not enabled (call pfring_enable_ring first)");
  if (ring->mode == send_only_mode || ring->mode == management_only_mode)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "ring is in send-only mode");
  NEED_OP(ring, recv, "receiving");
  return 0;
}

PFRING_API int pfring_recv(pfring *ring, u_char **buffer, u_int buffer_len,
                           struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet)
{
  u_char *pkt = NULL;
  int rc;

  CHECK_RING(ring);
  if ((rc = check_recv(ring)) < 0)
    return rc;
  if (!buffer || !hdr)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "buffer and hdr must not be NULL");
  if (buffer_len == 0 && ring->reentrant)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "zero-copy receive (buffer_len 0) is not allowed on a "
                            "PF_RING_REENTRANT ring");
  if (buffer_len > 0 && !*buffer)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "buffer_len > 0 needs a buffer");
  if (ring->reentrant) {
    pthread_mutex_lock(&ring->rx_lock);
    if (is_closed(ring)) {           /* closed while this call waited for the lock */
      pthread_mutex_unlock(&ring->rx_lock);
      return closed_while_waiting(ring, "pfring_recv");
    }
  }
  rc = recv_one(ring, &pkt, hdr, wait_for_incoming_packet);
  if (rc == 1) {
    if (buffer_len == 0) {
      *buffer = pkt;
    } else {
      u_int n = hdr->caplen < buffer_len ? hdr->caplen : buffer_len;
      memcpy(*buffer, pkt, n);
      hdr->caplen = n;
    }
  }
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->rx_lock);
  if (rc == 0 && is_closed(ring))
    return closed_while_waiting(ring, "pfring_recv");
  if (rc == 0 && wait_for_incoming_packet)
    consume_break(ring);         /* a blocking receive consumes the break */
  return rc;
}

PFRING_API int pfring_recv_parsed(pfring *ring, u_char **buffer, u_int buffer_len,
                                  struct pfring_pkthdr *hdr, u_int8_t wait,
                                  u_int8_t level, u_int8_t add_timestamp, u_int8_t add_hash)
{
  int rc = pfring_recv(ring, buffer, buffer_len, hdr, wait);

  if (rc > 0)
    pfring_parse_pkt(*buffer, hdr, level, add_timestamp, add_hash);
  return rc;
}

PFRING_API int pfring_loop(pfring *ring, pfringProcesssPacket looper,
                           const u_char *user_bytes, u_int8_t wait_for_packet)
{
  struct pfring_pkthdr hdr;
  pthread_t self = pthread_self();
  u_char *pkt;
  int rc;

  CHECK_RING(ring);
  if ((rc = check_recv(ring)) < 0)
    return rc;
  if (!looper)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "callback is NULL");
  consume_break(ring);
  while (!ring->break_recv_loop) {
    if (ring->reentrant) {
      pthread_mutex_lock(&ring->rx_lock);
      if (is_closed(ring)) {
        pthread_mutex_unlock(&ring->rx_lock);
        break;
      }
    }
    rc = recv_one(ring, &pkt, &hdr, wait_for_packet);
    if (rc > 0) {
      callback_enter(ring, self);
      looper(&hdr, pkt, user_bytes);
      callback_leave(ring);
    }
    if (ring->reentrant)
      pthread_mutex_unlock(&ring->rx_lock);
    if (rc < 0)
      return rc;
  }
  if (is_closed(ring))
    return closed_while_waiting(ring, "pfring_loop");
  consume_break(ring);
  return 0;
}

PFRING_API int pfring_dispatch(pfring *ring, int max_pkts, pfringProcesssPacket looper,
                               const u_char *user_bytes)
{
  struct pfring_pkthdr hdr;
  pthread_t self = pthread_self();
  u_char *pkt;
  int n = 0, rc;

  CHECK_RING(ring);
  if ((rc = check_recv(ring)) < 0)
    return rc;
  if (!looper)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "callback is NULL");
  pfringint_status_tick();
  if (ring->reentrant)
    pthread_mutex_lock(&ring->rx_lock);
  while (n < max_pkts || max_pkts <= 0) {
    if (ring->break_recv_loop) {
      consume_break(ring);
      break;
    }
    rc = recv_one(ring, &pkt, &hdr, 0);
    if (rc <= 0)
      break;
    callback_enter(ring, self);
    looper(&hdr, pkt, user_bytes);
    callback_leave(ring);
    n++;
  }
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->rx_lock);
  if (rc >= 0 && is_closed(ring))
    return closed_while_waiting(ring, "pfring_dispatch");
  return rc < 0 ? rc : n;
}

/* What recv_one does per packet, over a burst: the user-space filter and
 * the sampler drop packets (the rest move up), the counters count. */
static int sift_burst(pfring *ring, struct pfring_burst_pkt *b, int n)
{
  u_int64_t bytes = 0;
  int i, kept = 0;

  if (!ring->uf_check && (ring->sampling_rate <= 1 || ring->sampling_in_backend)) {
    for (i = 0; i < n; i++)
      bytes += b[i].len;
    kept = n;
  } else {
    for (i = 0; i < n; i++) {
      if (!keep_packet(ring, b[i].data, b[i].len, b[i].caplen,
                       b[i].ts_sec * 1000000000ull + b[i].ts_nsec))
        continue;
      bytes += b[i].len;
      if (kept != i)
        b[kept] = b[i];
      kept++;
    }
  }
  if (kept > 0) {
    ring->tot_read += (u_int64_t)kept;
    ring->tot_bytes += bytes;
    ring->last_pkt = (u_char *)b[kept - 1].data;
    ring->last_pkt_len = b[kept - 1].caplen;
    if (ring->flags & PF_RING_DO_NOT_TIMESTAMP)
      for (i = 0; i < kept; i++)
        b[i].ts_sec = b[i].ts_nsec = 0;
  }
  return kept;
}

/* The checks of the calls that read in place, after CHECK_RING: those of
 * every receive call, the burst op, and no PF_RING_REENTRANT ring. */
static int check_burst(pfring *ring, const char *call)
{
  int rc;

  if ((rc = check_recv(ring)) < 0)
    return rc;
  NEED_OP(ring, recv_burst, "burst receiving");
  if (ring->reentrant)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "%s reads in place in the ring, which a PF_RING_REENTRANT "
                            "ring does not allow (use pfring_recv with a buffer)", call);
  return 0;
}

PFRING_API int pfring_recv_burst(pfring *ring, struct pfring_burst_pkt *pkts, u_int max_pkts,
                                 u_int8_t wait_for_incoming_packet)
{
  int n, rc;

  CHECK_RING(ring);
  if ((rc = check_burst(ring, "pfring_recv_burst")) < 0)
    return rc;
  if (!pkts)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "pkts must not be NULL");
  if (max_pkts == 0)
    return 0;
  if (max_pkts > INT_MAX)
    max_pkts = INT_MAX;
  pfringint_status_tick();
  for (;;) {
    n = ring->ops.recv_burst(ring, pkts, max_pkts, wait_for_incoming_packet);
    if (n < 0)
      return n;
    if (n == 0) {
      if (is_closed(ring))
        return closed_while_waiting(ring, "pfring_recv_burst");
      if (wait_for_incoming_packet)
        consume_break(ring);         /* a blocking receive consumes the break */
      return 0;
    }
    n = sift_burst(ring, pkts, n);
    if (n > 0)
      return n;
    /* Everything filtered out in user space: look again. */
  }
}

/* Consumes and counts what the ring holds now, up to max packets: the
 * count (>= 0, its lengths added to *bytes) or <0 when the first burst
 * failed. */
static int count_queued(pfring *ring, u_int max, u_int64_t *bytes)
{
  struct pfring_burst_pkt b[256];
  u_int want, done = 0;
  int n = 0, i;

  if (ring->ops.count && !ring->uf_check &&
      (ring->sampling_rate <= 1 || ring->sampling_in_backend)) {
    u_int64_t sum = 0;
    u_char *last = NULL;
    u_int32_t last_len = 0;

    while (done < max && (n = ring->ops.count(ring, max - done, &sum, &last, &last_len)) > 0)
      done += (u_int)n;
    if (done == 0)
      return n < 0 ? n : 0;
    ring->tot_read += done;
    ring->tot_bytes += sum;
    ring->last_pkt = last;
    ring->last_pkt_len = last_len;
    *bytes += sum;
    return (int)done;      /* an error after some packets: they are kept */
  }
  while (done < max) {
    want = max - done;
    if (want > sizeof(b) / sizeof(b[0]))
      want = sizeof(b) / sizeof(b[0]);
    n = ring->ops.recv_burst(ring, b, want, 0);
    if (n < 0)
      return done ? (int)done : n;   /* the packets counted so far are kept */
    if (n == 0)
      break;
    n = sift_burst(ring, b, n);
    for (i = 0; i < n; i++)
      *bytes += b[i].len;
    done += (u_int)n;
  }
  return (int)done;
}

static long ms_since(const struct timespec *t0)
{
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

PFRING_API int pfring_recv_count(pfring *ring, u_int max_pkts, u_int64_t *bytes,
                                 u_int duration_ms)
{
  struct timespec t0;
  u_int64_t total = 0;
  u_int done = 0;
  long left;
  int n, rc;

  if (bytes)
    *bytes = 0;
  CHECK_RING(ring);
  if ((rc = check_burst(ring, "pfring_recv_count")) < 0)
    return rc;
  if (duration_ms)
    NEED_OP(ring, poll, "waiting");
  if (max_pkts == 0 || max_pkts > INT_MAX)
    max_pkts = INT_MAX;
  if (duration_ms)
    clock_gettime(CLOCK_MONOTONIC, &t0);
  pfringint_status_tick();
  for (;;) {
    n = count_queued(ring, max_pkts - done, &total);
    if (n < 0) {
      if (done)
        break;
      return n;
    }
    done += (u_int)n;
    if (done >= max_pkts || !duration_ms || is_closed(ring))
      break;
    left = (long)duration_ms - ms_since(&t0);
    if (left <= 0)
      break;
    /* 0: the time passed, a break or a signal; all three end the call */
    rc = ring->ops.poll(ring, (u_int)left);
    if (rc < 0) {
      if (done)
        break;
      return rc;
    }
    if (rc == 0) {
      if (!is_closed(ring))
        consume_break(ring);       /* a wait cut short consumes the break */
      n = count_queued(ring, max_pkts - done, &total);
      if (n > 0)
        done += (u_int)n;
      break;
    }
  }
  if (done == 0 && is_closed(ring))
    return closed_while_waiting(ring, "pfring_recv_count");
  if (bytes)
    *bytes = total;
  return (int)done;
}

PFRING_API void pfring_breakloop(pfring *ring)
{
  u_int8_t zero = 0;

  ENTER_RING(ring, );
  __atomic_compare_exchange_n(&ring->break_recv_loop, &zero, 1, 0, __ATOMIC_SEQ_CST,
                              __ATOMIC_RELAXED);
  if (ring->ops.wake)
    ring->ops.wake(ring);
}

PFRING_API int pfring_get_pkt_link(pfring *ring, const u_char *data,
                                   struct pfring_pkt_link *link)
{
  CHECK_RING(ring);
  if (!data || !link)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "%s is NULL",
                            !data ? "data" : "link");
  if (!ring->ops.pkt_link)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "pfring_get_pkt_link: the backend of '%s' keeps no link-layer "
                            "metadata", ring->bound_name);
  if (ring->reentrant)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "pfring_get_pkt_link: a PF_RING_REENTRANT ring hands out "
                            "copies, which have no metadata");
  memset(link, 0, sizeof(*link));
  return ring->ops.pkt_link(ring, data, link);
}

PFRING_API int pfring_release_consumed(pfring *ring)
{
  int rc;

  CHECK_RING(ring);
  if (!ring->ops.release_consumed)
    return 0;
  if (ring->reentrant)
    pthread_mutex_lock(&ring->rx_lock);
  rc = ring->ops.release_consumed(ring);
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->rx_lock);
  return rc;
}

PFRING_API int pfring_poll(pfring *ring, u_int wait_duration)
{
  int rc;

  CHECK_RING(ring);
  NEED_OP(ring, poll, "poll");
  pfringint_status_tick();
  rc = ring->ops.poll(ring, wait_duration);
  if (rc == 0 && is_closed(ring))
    return closed_while_waiting(ring, "pfring_poll");
  if (rc == 0)
    consume_break(ring);         /* a poll cut short consumes the break */
  return rc;
}

PFRING_API int pfring_is_pkt_available(pfring *ring)
{
  CHECK_RING(ring);
  NEED_OP(ring, is_pkt_available, "is_pkt_available");
  return ring->ops.is_pkt_available(ring);
}

PFRING_API int pfring_next_pkt_time(pfring *ring, struct timespec *ts)
{
  CHECK_RING(ring);
  if (!ts)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "ts is NULL");
  if (!ring->enabled)
    return pfringint_seterr(ring, PF_RING_ERROR_RING_NOT_ENABLED, 0, "ring is not enabled");
  NEED_OP(ring, next_pkt_time, "next_pkt_time");
  return ring->ops.next_pkt_time(ring, ts);
}

PFRING_API int pfring_get_selectable_fd(pfring *ring)
{
  CHECK_RING(ring);
  return ring->fd >= 0 ? ring->fd : PF_RING_ERROR_NOT_SUPPORTED;
}

PFRING_API int pfring_set_batching(pfring *ring, u_int timeout_ms, u_int block_bytes)
{
  CHECK_RING(ring);
  if (ring->enabled)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "batching must be set before pfring_enable_ring");
  NEED_OP(ring, set_batching, "batching");
  return ring->ops.set_batching(ring, timeout_ms, block_bytes);
}

PFRING_API int pfring_set_buffer_size(pfring *ring, u_int64_t bytes)
{
  int rc;

  CHECK_RING(ring);
  if (bytes == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "buffer size must be at least 1 byte, not 0");
  if (ring->enabled)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "the buffer size must be set before pfring_enable_ring");
  NEED_OP(ring, set_buffer_size, "setting the buffer size");
  rc = ring->ops.set_buffer_size(ring, bytes);
  if (rc == 0)
    pfringint_status_update(ring);
  return rc;
}

PFRING_API int pfring_set_poll_watermark(pfring *ring, u_int16_t watermark)
{
  CHECK_RING(ring);
  ring->poll_watermark = watermark ? watermark : 1;
  pfringint_status_update(ring);
  return 0;
}

PFRING_API int pfring_set_poll_duration(pfring *ring, u_int duration)
{
  CHECK_RING(ring);
  ring->poll_duration = duration;
  return 0;
}

PFRING_API u_int32_t pfring_get_num_queued_pkts(pfring *ring)
{
  ENTER_RING(ring, 0);
  if (!ring->ops.num_queued)
    return 0;
  return ring->ops.num_queued(ring);
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

static int do_send(pfring *ring, const u_char *pkt, u_int len, int if_index)
{
  int rc;

  CHECK_RING(ring);
  if (!pkt || len == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "empty packet");
  if (ring->mode == recv_only_mode || ring->mode == management_only_mode)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "ring is in receive-only mode");
  NEED_OP(ring, send, "sending");
  if (ring->reentrant)
    pthread_mutex_lock(&ring->tx_lock);
  rc = ring->ops.send(ring, pkt, len, if_index);
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->tx_lock);
  return rc;
}

/* flush_packet: a backend that queues (ops.flush_tx) hands the packet to
 * the kernel now rather than with a later batch. */
static int send_and_flush(pfring *ring, const u_char *pkt, u_int len, int if_index,
                          u_int8_t flush_packet)
{
  int rc, frc;

  CHECK_RING(ring);
  rc = do_send(ring, pkt, len, if_index);
  if (rc >= 0 && flush_packet && ring->ops.flush_tx) {
    if (ring->reentrant)
      pthread_mutex_lock(&ring->tx_lock);
    frc = ring->ops.flush_tx(ring, 0);
    if (ring->reentrant)
      pthread_mutex_unlock(&ring->tx_lock);
    if (frc < 0)
      return frc;
  }
  return rc;
}

PFRING_API int pfring_send(pfring *ring, char *pkt, u_int pkt_len, u_int8_t flush_packet)
{
  return send_and_flush(ring, (const u_char *)pkt, pkt_len, 0, flush_packet);
}

PFRING_API int pfring_send_ifindex(pfring *ring, char *pkt, u_int pkt_len,
                                   u_int8_t flush_packet, int if_index)
{
  if (ring && if_index <= 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "bad interface index %d", if_index);
  return send_and_flush(ring, (const u_char *)pkt, pkt_len, if_index, flush_packet);
}

PFRING_API int pfring_send_last_rx_packet(pfring *ring, int tx_interface_id)
{
  CHECK_RING(ring);
  if (!ring->last_pkt)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "no packet has been received yet");
  if (tx_interface_id <= 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "bad interface index %d", tx_interface_id);
  return send_and_flush(ring, ring->last_pkt, ring->last_pkt_len, tx_interface_id, 1);
}

/* Everything sent so far goes to the kernel, and (where the backend
 * queues: zc:) the call returns once the kernel has completed it. */
PFRING_API int pfring_flush_tx_packets(pfring *ring)
{
  int rc;

  CHECK_RING(ring);
  if (!ring->ops.flush_tx || ring->mode == recv_only_mode ||
      ring->mode == management_only_mode)
    return 0;
  if (ring->reentrant)
    pthread_mutex_lock(&ring->tx_lock);
  rc = ring->ops.flush_tx(ring, 1);
  if (ring->reentrant)
    pthread_mutex_unlock(&ring->tx_lock);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/* The filter wrappers check their value, then hand a copy of the ring's
 * filter state with that one field changed to pfringint_filter_apply(),
 * which attaches it or leaves the ring as it was (filter_state.c). */
PFRING_API int pfring_set_direction(pfring *ring, packet_direction direction)
{
  struct pfringint_filter next;

  CHECK_RING(ring);
  if (direction != rx_and_tx_direction && direction != rx_only_direction &&
      direction != tx_only_direction)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "bad direction %d (0 rx+tx, 1 rx only, 2 tx only)", (int)direction);
  next = ring->filter;
  next.direction = direction;
  return pfringint_filter_apply(ring, &next);
}

PFRING_API int pfring_set_socket_mode(pfring *ring, socket_mode mode)
{
  CHECK_RING(ring);
  if ((int)mode < send_and_recv_mode || mode > management_only_mode)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "bad socket mode %d", (int)mode);
  if (ring->enabled)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "the socket mode must be set before pfring_enable_ring");
  ring->mode = mode;
  pfringint_status_update(ring);
  return 0;
}

PFRING_API int pfring_set_sampling_rate(pfring *ring, u_int32_t rate)
{
  CHECK_RING(ring);
  if (rate == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "sampling rate must be at least 1");
  if (ring->ops.set_sampling) {
    int rc = ring->ops.set_sampling(ring, rate);
    if (rc < 0)
      return rc;
    ring->sampling_in_backend = 1;
  }
  ring->sampling_rate = rate;
  ring->sampling_counter = 0;
  pfringint_status_update(ring);
  return 0;
}

PFRING_API int pfring_set_bpf_filter(pfring *ring, char *filter_buffer)
{
  struct sock_fprog prog;
  char msg[PFRING_ERRBUF_SIZE];
  int rc;

  CHECK_RING(ring);
  if (!filter_buffer)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "filter is NULL");
  if (ring->dlt < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "no BPF filter on '%s': libpcap has no link type for its "
                            "packets (ARPHRD %u)", ring->bound_name, ring->arphrd);
  rc = pfringint_compile_bpf(filter_buffer, ring->dlt, ring->caplen, &prog, msg, sizeof(msg));
  if (rc < 0)
    return pfringint_seterr(ring, rc, 0, "%s", msg);
  return pfringint_filter_set_bpf(ring, prog, filter_buffer, 0);
}

#define BPF_FLAGS (PFRING_BPF_FILTER_QUEUED | PFRING_BPF_FALLBACK)

PFRING_API int pfring_set_bpf_program_ex(pfring *ring, const void *insns, u_int count,
                                         const char *expr, u_int32_t flags)
{
  struct sock_fprog prog = { 0, NULL };

  CHECK_RING(ring);
  if (flags & ~BPF_FLAGS)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "unknown BPF flags 0x%x (known: 0x%x)", flags & ~BPF_FLAGS,
                            BPF_FLAGS);
  if (count > 0 && !insns)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "program is NULL");
  if (count > BPF_MAXINSNS && !(flags & PFRING_BPF_FALLBACK))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "BPF program of %u instructions; the kernel takes at most %d",
                            count, BPF_MAXINSNS);
  if (count > PFRINGINT_MAX_BPF_LEN)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "BPF program of %u instructions; at most %d run in user space",
                            count, PFRINGINT_MAX_BPF_LEN);
  if (count == 0)    /* removes the program, if there is one */
    return ring->filter.bpf_where == PFRINGINT_BPF_NONE
             ? 0 : pfringint_filter_set_bpf(ring, prog, NULL, flags);
  prog.len = (unsigned short)count;
  prog.filter = malloc(count * sizeof(*prog.filter));
  if (!prog.filter)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM,
                            "out of memory for a BPF program of %u instructions", count);
  memcpy(prog.filter, insns, count * sizeof(*prog.filter));
  return pfringint_filter_set_bpf(ring, prog, expr, flags);
}

PFRING_API int pfring_set_bpf_program(pfring *ring, const void *insns, u_int count)
{
  return pfring_set_bpf_program_ex(ring, insns, count, NULL, 0);
}

PFRING_API int pfring_remove_bpf_filter(pfring *ring)
{
  struct sock_fprog none = { 0, NULL };

  CHECK_RING(ring);
  if (ring->filter.bpf_where == PFRINGINT_BPF_NONE)
    return 0;
  return pfringint_filter_set_bpf(ring, none, NULL, 0);
}

PFRING_API int pfring_get_bpf_info(pfring *ring, struct pfring_bpf_info *info)
{
  CHECK_RING(ring);
  if (!info)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "info is NULL");
  memset(info, 0, sizeof(*info));
  info->where = ring->filter.bpf_where == PFRINGINT_BPF_USERSPACE ? PFRING_BPF_USERSPACE
                : ring->filter.bpf_where == PFRINGINT_BPF_KERNEL ? PFRING_BPF_KERNEL
                : PFRING_BPF_NONE;
  info->len = ring->filter.bpf.len;
  info->checking_queued = ring->filter.bpf_where == PFRINGINT_BPF_KERNEL &&
                          ring->filter.recheck_until_ns != 0;
  info->rejected = ring->uf_rejected;
  return 0;
}

PFRING_API int pfring_set_application_name(pfring *ring, char *name)
{
  CHECK_RING(ring);
  if (!name || !name[0])
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "application name must not be empty");
  snprintf(ring->appname, sizeof(ring->appname), "%s", name);
  pfringint_status_update(ring);
  return 0;
}

PFRING_API int pfring_set_application_stats(pfring *ring, char *stats)
{
  CHECK_RING(ring);
  if (!stats)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "stats is NULL");
  return pfringint_status_write_appl_stats(ring, stats);
}

PFRING_API char *pfring_get_appl_stats_file_name(pfring *ring, char *path, u_int path_len)
{
  ENTER_RING(ring, NULL);
  if (!path || path_len == 0)
    return NULL;
  pfringint_status_path(ring, "stats", path, path_len);
  return path;
}

PFRING_API int pfring_set_channel_id(pfring *ring, u_int32_t channel_id)
{
  CHECK_RING(ring);
  if (channel_id >= MAX_NUM_RX_CHANNELS)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "channel %u is out of range (0..%d)", channel_id,
                            MAX_NUM_RX_CHANNELS - 1);
  return pfring_set_channel_mask(ring, (u_int64_t)1 << channel_id);
}

PFRING_API int pfring_set_channel_mask(pfring *ring, u_int64_t channel_mask)
{
  struct pfringint_filter next;

  CHECK_RING(ring);
  if (channel_mask == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "channel mask must not be empty");
  next = ring->filter;
  next.channel_mask = channel_mask;
  return pfringint_filter_apply(ring, &next);
}

PFRING_API int pfring_set_vlan_id(pfring *ring, u_int16_t vlan_id)
{
  struct pfringint_filter next;

  CHECK_RING(ring);
  if (vlan_id > 4095 && vlan_id != RING_ANY_VLAN)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "VLAN id %u is out of range (0..4095)", vlan_id);
  next = ring->filter;
  next.vlan_id = vlan_id;
  return pfringint_filter_apply(ring, &next);
}

/* From now on the channel of a packet is its symmetric flow hash modulo the
 * device's RX queues (kernel/filter.c), so an ethX@Y ring gets both
 * directions of its flows.  Without @Y nothing changes.  There is no way
 * back, as in PF_RING. */
PFRING_API int pfring_enable_rss_rehash(pfring *ring)
{
  struct pfringint_filter next;

  CHECK_RING(ring);
  if (ring->filter.rss_rehash)
    return 0;
  next = ring->filter;
  next.rss_rehash = 1;
  return pfringint_filter_apply(ring, &next);
}

PFRING_API int pfring_enable_hw_timestamp(pfring *ring, char *device_name,
                                          u_int8_t enable_rx, u_int8_t enable_tx)
{
  (void)device_name;
  CHECK_RING(ring);
  if (!enable_rx && !enable_tx)
    return 0;
  return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                          "hardware timestamps are not supported on '%s'",
                          ring->bound_name);
}

PFRING_API int pfring_set_promisc(pfring *ring, int set_promisc)
{
  CHECK_RING(ring);
  NEED_OP(ring, set_promisc, "promiscuous mode");
  return ring->ops.set_promisc(ring, set_promisc);
}

/* Clusters.  The rules live here: the id and type ranges, one cluster per
 * ring, the types that can be served (each per-flow type is a hash program,
 * built once, here, and kept until the ring leaves; round robin needs none;
 * a type without a program is refused before anything changes), and the
 * registry of member types.  The backend only joins and leaves the kernel
 * group. */
static void forget_cluster(pfring *ring)
{
  free(ring->cluster_prog.filter);
  memset(&ring->cluster_prog, 0, sizeof(ring->cluster_prog));
  ring->cluster_id = 0;
}

PFRING_API int pfring_set_cluster(pfring *ring, u_int clusterId, cluster_type the_type)
{
  struct sock_fprog prog = { 0, NULL };
  char msg[PFRING_ERRBUF_SIZE];
  int rc;

  CHECK_RING(ring);
  NEED_OP(ring, set_cluster, "clustering");
  if (clusterId == 0 || clusterId > 0xFFFF)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "cluster id %u is out of range (1..65535)", clusterId);
  if ((int)the_type < cluster_per_flow || (int)the_type > PFRINGINT_LAST_CLUSTER_TYPE)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "cluster type %d is out of range (%d..%d)", (int)the_type,
                            (int)cluster_per_flow, (int)PFRINGINT_LAST_CLUSTER_TYPE);
  if (ring->cluster_id)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "ring is already in cluster %u", ring->cluster_id);
  if (ring->spec.none)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "an unbound ring cannot join a cluster");
  if (pfringint_rules_reflect(ring))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "a ring with reflect or bounce rules cannot join a cluster (the "
                            "kernel picks the member after the hook that sends)");
  if (the_type != cluster_round_robin) {
    rc = pfringint_build_cluster_program(the_type, &prog, msg, sizeof(msg));
    if (rc < 0)
      return pfringint_seterr(ring, rc, 0, "%s", msg);
  }
  ring->cluster_id = clusterId;
  ring->cluster_type = the_type;
  ring->cluster_prog = prog;
  rc = pfringint_cluster_claim(ring);
  if (rc == 0) {
    rc = ring->ops.set_cluster(ring);
    if (rc < 0)
      pfringint_cluster_release(ring);
  }
  if (rc < 0) {
    forget_cluster(ring);
    return rc;
  }
  pfringint_status_update(ring);
  return 0;
}

/* The ring leaves its kernel group and the registry; everything else it
 * has (filters, batching, counters) stays.  The last packet received is no
 * longer available to pfring_send_last_rx_packet. */
PFRING_API int pfring_remove_from_cluster(pfring *ring)
{
  int rc;

  CHECK_RING(ring);
  NEED_OP(ring, remove_from_cluster, "clustering");
  if (!ring->cluster_id)
    return 0;
  rc = ring->ops.remove_from_cluster(ring);
  if (rc < 0)
    return rc;
  pfringint_cluster_release(ring);
  forget_cluster(ring);
  ring->last_pkt = NULL;
  pfringint_status_update(ring);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Information                                                               */

PFRING_API int pfring_stats(pfring *ring, pfring_stat *stats)
{
  u_int64_t seen = 0, dropped = 0;

  CHECK_RING(ring);
  if (!stats)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "stats is NULL");
  memset(stats, 0, sizeof(*stats));
  if (ring->ops.kernel_counters)
    ring->ops.kernel_counters(ring, &seen, &dropped);
  stats->recv = ring->tot_read;
  stats->drop = dropped;
  return 0;
}

ssize_t pfringint_read_small(const char *path, char *buf, size_t len)
{
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0 || len == 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  while ((n = read(fd, buf, len - 1)) < 0 && errno == EINTR)
    ;
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return n;
}

/* A counter of /sys/class/net/<dev>/statistics, 0 if it cannot be read. */
static u_int64_t device_counter(const char *dev, const char *name)
{
  char path[128], text[32];

  snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", dev, name);
  return pfringint_read_small(path, text, sizeof(text)) < 0 ? 0 : strtoull(text, NULL, 10);
}

PFRING_API int pfring_stats_kernel(pfring *ring, pfring_kernel_stat *stats)
{
  u_int64_t seen = 0, dropped = 0, rejected;
  u_int32_t i;

  CHECK_RING(ring);
  if (!stats)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "stats is NULL");
  memset(stats, 0, sizeof(*stats));
  if (!ring->ops.kernel_counters)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "pfring_stats_kernel: the backend of '%s' has no kernel "
                            "counters", ring->bound_name);
  /* The same accumulated counters as pfring_stats' drop. */
  ring->ops.kernel_counters(ring, &seen, &dropped);
  rejected = __atomic_load_n(&ring->uf_rejected, __ATOMIC_RELAXED);
  stats->recv = seen > rejected ? seen - rejected : 0;
  stats->drop = dropped;
  if (!ring->spec.any && !ring->spec.none)
    for (i = 0; i < ring->spec.num_devices; i++)
      stats->if_drop += device_counter(ring->spec.devices[i], "rx_missed_errors") +
                        device_counter(ring->spec.devices[i], "rx_fifo_errors");
  return 0;
}

PFRING_API u_int32_t pfring_version_noring(void)
{
  return RING_VERSION_NUM;
}

PFRING_API int pfring_version(pfring *ring, u_int32_t *version)
{
  CHECK_RING(ring);
  if (!version)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "version is NULL");
  *version = RING_VERSION_NUM;
  return 0;
}

static int single_device(pfring *ring, const char *what)
{
  if (ring->spec.any || ring->spec.none)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "%s: ring '%s' is not bound to one device", what,
                            ring->bound_name);
  return 0;
}

PFRING_API int pfring_get_bound_device_address(pfring *ring, u_char mac_address[6])
{
  int rc;

  CHECK_RING(ring);
  if (!mac_address)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "mac_address is NULL");
  if ((rc = single_device(ring, "device address")) < 0)
    return rc;
  if (pfringint_if_hwaddr(pfringint_dev_fd(ring), ring->spec.devices[0], mac_address) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_UNABLE_TO_GET_INFO, errno,
                                  "cannot read the address of '%s'", ring->spec.devices[0]);
  return 0;
}

PFRING_API int pfring_get_bound_device_ifindex(pfring *ring, int *if_index)
{
  int rc;

  CHECK_RING(ring);
  if (!if_index)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "if_index is NULL");
  if ((rc = single_device(ring, "device index")) < 0)
    return rc;
  *if_index = ring->if_index[0];
  return 0;
}

PFRING_API int pfring_get_link_type(pfring *ring, u_int16_t *arphrd, int *dlt)
{
  CHECK_RING(ring);
  if (arphrd)
    *arphrd = ring->arphrd;
  if (dlt)
    *dlt = ring->dlt;
  return 0;
}

PFRING_API int pfring_get_bound_device_id(pfring *ring, int *device_id)
{
  return pfring_get_bound_device_ifindex(ring, device_id);
}

PFRING_API int pfring_get_device_ifindex(pfring *ring, char *device_name, int *if_index)
{
  CHECK_RING(ring);
  if (!device_name || !if_index)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0, "NULL argument");
  *if_index = pfringint_ifindex(pfringint_dev_fd(ring), device_name);
  if (*if_index <= 0)
    return pfringint_seterr(ring, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                            "no such interface '%s'", device_name);
  return 0;
}

PFRING_API u_int8_t pfring_get_num_rx_channels(pfring *ring)
{
  int n;

  if (!ring || is_closed(ring) || ring->spec.any || ring->spec.none)
    return 1;
  n = ring->num_rx_queues;
  return (u_int8_t)(n > MAX_NUM_RX_CHANNELS ? MAX_NUM_RX_CHANNELS : n);
}

PFRING_API u_int16_t pfring_get_slot_header_len(pfring *ring)
{
  (void)ring;
  return (u_int16_t)sizeof(struct pfring_pkthdr);
}

PFRING_API u_int32_t pfring_get_caplen(pfring *ring)
{
  return (ring && !is_closed(ring)) ? ring->caplen : 0;
}

PFRING_API int pfring_get_mtu_size(pfring *ring)
{
  int rc;

  CHECK_RING(ring);
  if ((rc = single_device(ring, "MTU")) < 0)
    return rc;
  rc = pfringint_if_mtu(pfringint_dev_fd(ring), ring->spec.devices[0]);
  if (rc < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_UNABLE_TO_GET_INFO, errno,
                                  "cannot read the MTU of '%s'", ring->spec.devices[0]);
  return rc;
}

PFRING_API int pfring_get_link_status(pfring *ring)
{
  int flags = 0, rc;

  CHECK_RING(ring);
  if ((rc = single_device(ring, "link status")) < 0)
    return rc;
  if (pfringint_if_flags(pfringint_dev_fd(ring), ring->spec.devices[0], &flags) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_UNABLE_TO_GET_INFO, errno,
                                  "cannot read the flags of '%s'", ring->spec.devices[0]);
  return (flags & IFF_RUNNING) ? 1 : 0;
}

PFRING_API u_int32_t pfring_get_ring_id(pfring *ring)
{
  return (ring && !is_closed(ring)) ? ring->ring_id : 0;
}
