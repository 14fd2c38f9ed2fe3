/*
 * dna_bouncer.c - the DNA Bouncer (libzero, the 5.6.2 guide's §9.2): a
 * bridge between two rings with a decision function in the middle.
 *
 * One loop, in the caller's thread, polls both rings (two-way mode) or the
 * ingress ring (one-way mode): a burst is received in place, the decision
 * function sees each packet where it lies in the ring (it may rewrite it),
 * and the passed packets are sent on the other ring, the last one of the
 * burst with a flush (one kick of a queueing backend per burst).  Only the
 * send copies: AF_PACKET's sendto into a socket buffer, zc: into a frame of
 * its TX ring.  One thread doing both directions means no ring is ever
 * used by two threads at once, and a received burst is finished before
 * the next receive call on its ring (which releases it).
 *
 * The receive path makes no system call and no allocation per packet; the
 * loop sleeps in poll (IDLE_POLL_MS at most) when both rings are idle, so
 * a break is seen within that time.  The break is a flag: setting it is
 * async-signal-safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

#define BURST 64
#define IDLE_POLL_MS 10

struct pfring_dna_bouncer {
  pfring *rings[2];                 /* [0] ingress, [1] egress */
  dna_bouncer_mode mode;
  u_int8_t looping;                 /* atomic: a loop runs */
  u_int8_t stop;                    /* atomic: set by breakloop, consumed by the loop */
  pthread_t loop_thread;            /* valid while looping */
  pfring_dna_bouncer_stat stats[2]; /* per direction; written by the loop only */
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static __thread char bouncer_err[PFRING_ERRBUF_SIZE];
static __thread int bouncer_rc;

static int seterr(int rc, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int seterr(int rc, int err, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(bouncer_err, sizeof(bouncer_err), fmt, ap);
  va_end(ap);
  errno = err ? err : pfring_error_errno(rc);
  bouncer_rc = rc;
  return rc;
}

PFRING_API const char *pfring_dna_bouncer_last_error(void)
{
  return bouncer_err;
}

PFRING_API int pfring_dna_bouncer_last_error_code(void)
{
  return bouncer_rc;
}

#define CHECK_BOUNCER(b, what) do {                                            \
    if (!(b))                                                                 \
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: handle is NULL", what); \
  } while (0)

static int is_looping(const pfring_dna_bouncer *b)
{
  return __atomic_load_n(&b->looping, __ATOMIC_ACQUIRE);
}

static const char *const ring_name[2] = { "ingress_ring", "egress_ring" };

/* 0 if ring can receive (want_rx) or send (!want_rx) for the bouncer. */
static int check_ring(pfring *ring, int which, int want_rx, const char *what)
{
  const char *name = ring_name[which];

  if (!ring)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: %s is NULL", what, name);
  if (__atomic_load_n(&ring->closed, __ATOMIC_SEQ_CST))
    return seterr(PF_RING_ERROR_INVALID_STATUS, EBADF, "%s: %s was closed by pfring_close",
                  what, name);
  if (ring->mode == management_only_mode)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "%s: %s is in management_only_mode; it can neither receive nor send",
                  what, name);
  if (want_rx) {
    if (ring->mode == send_only_mode)
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                    "%s: %s is in send_only_mode; the bouncer receives on it", what, name);
    if (!ring->ops.recv_burst)
      return seterr(PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                    "%s: %s cannot receive in place (no burst receiving)", what, name);
    if (ring->reentrant)
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                    "%s: %s is PF_RING_REENTRANT; the bouncer reads in place, which such "
                    "a ring does not allow", what, name);
  } else {
    if (ring->mode == recv_only_mode)
      return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                    "%s: %s is in recv_only_mode; the bouncer sends on it", what, name);
    if (!ring->ops.send)
      return seterr(PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                    "%s: %s cannot send", what, name);
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Creating, settings                                                        */

PFRING_API pfring_dna_bouncer *pfring_dna_bouncer_create(pfring *ingress_ring,
                                                         pfring *egress_ring)
{
  static const char what[] = "pfring_dna_bouncer_create";
  pfring_dna_bouncer *b;

  bouncer_err[0] = '\0';
  bouncer_rc = 0;
  if (check_ring(ingress_ring, 0, 1, what) < 0 || check_ring(egress_ring, 1, 0, what) < 0)
    return NULL;
  if (ingress_ring == egress_ring) {
    seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
           "%s: ingress_ring and egress_ring are the same ring; a bouncer bridges two", what);
    return NULL;
  }
  b = calloc(1, sizeof(*b));
  if (!b) {
    seterr(PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "%s: out of memory", what);
    return NULL;
  }
  b->rings[0] = ingress_ring;
  b->rings[1] = egress_ring;
  b->mode = one_way_mode;
  return b;
}

PFRING_API int pfring_dna_bouncer_set_mode(pfring_dna_bouncer *b, dna_bouncer_mode mode)
{
  static const char what[] = "pfring_dna_bouncer_set_mode";
  int rc;

  CHECK_BOUNCER(b, what);
  if (mode != one_way_mode && mode != two_way_mode)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "%s: mode %d is not one_way_mode (0) or two_way_mode (1)", what, (int)mode);
  if (is_looping(b))
    return seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,
                  "%s: the bouncer is looping; break the loop first", what);
  if (mode == two_way_mode &&
      ((rc = check_ring(b->rings[0], 0, 0, what)) < 0 ||
       (rc = check_ring(b->rings[1], 1, 1, what)) < 0))
    return rc;
  b->mode = mode;
  return 0;
}

PFRING_API int pfring_dna_bouncer_stats(pfring_dna_bouncer *b, u_int8_t direction,
                                        pfring_dna_bouncer_stat *stats)
{
  static const char what[] = "pfring_dna_bouncer_stats";
  const pfring_dna_bouncer_stat *s;

  CHECK_BOUNCER(b, what);
  if (direction > 1)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                  "%s: direction %u is not 0 (ingress -> egress) or 1 (egress -> ingress)",
                  what, direction);
  if (!stats)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: stats is NULL", what);
  s = &b->stats[direction];
  stats->received = __atomic_load_n(&s->received, __ATOMIC_RELAXED);
  stats->forwarded = __atomic_load_n(&s->forwarded, __ATOMIC_RELAXED);
  stats->dropped = __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
  stats->tx_failed = __atomic_load_n(&s->tx_failed, __ATOMIC_RELAXED);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */

static inline void bump(u_int64_t *counter, u_int64_t n)
{
  if (n)
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* One burst of direction dir: received on rings[dir], the passed packets
 * sent on rings[!dir].  The number received, or an error. */
static int bounce_burst(pfring_dna_bouncer *b, u_int8_t dir,
                        pfring_dna_bouncer_decision_func func, const u_char *user)
{
  struct pfring_burst_pkt pkts[BURST];
  u_int32_t lens[BURST];
  pfring *in = b->rings[dir], *out = b->rings[!dir];
  pfring_dna_bouncer_stat *st = &b->stats[dir];
  u_int64_t received = 0, dropped = 0, forwarded = 0, failed = 0;
  int n, k, last = -1, rc;

  n = pfring_recv_burst(in, pkts, BURST, 0);
  if (n < 0)
    return seterr(n, 0, "pfring_dna_bouncer_loop: receiving on %s: %s", ring_name[dir],
                  pfring_last_error(in));
  for (k = 0; k < n; k++) {
    lens[k] = 0;
    if (!pkts[k].rx_direction)
      continue;                      /* sent by this host: not bridged */
    received++;
    lens[k] = pkts[k].caplen;
    if (func(&lens[k], (u_char *)pkts[k].data, user, dir) != DNA_BOUNCER_PASS)
      lens[k] = 0;
    else if (lens[k] > pkts[k].caplen)
      lens[k] = pkts[k].caplen;
    if (lens[k])
      last = k;
    else
      dropped++;
  }
  for (k = 0; k <= last; k++) {
    if (!lens[k])
      continue;
    rc = pfring_send(out, (char *)pkts[k].data, lens[k], k == last);
    if (rc >= 0) {
      forwarded++;
    } else if (rc == PF_RING_ERROR_INVALID_STATUS) {   /* the ring was closed */
      bump(&st->received, received);
      bump(&st->dropped, dropped);
      bump(&st->forwarded, forwarded);
      bump(&st->tx_failed, failed);
      return seterr(rc, 0, "pfring_dna_bouncer_loop: sending on %s: %s", ring_name[!dir],
                    pfring_last_error(out));
    } else {
      failed++;
      if (failed == 1)
        pfringint_log(2, "DNA bouncer: sending on %s failed: %s", ring_name[!dir],
                      pfring_last_error(out));
    }
  }
  bump(&st->received, received);
  bump(&st->dropped, dropped);
  bump(&st->forwarded, forwarded);
  bump(&st->tx_failed, failed);
  return n;
}

static void idle_wait(pfring_dna_bouncer *b, u_int32_t num_dirs, u_int8_t wait_for_packet)
{
  struct pollfd pfd[2];
  u_int32_t i, n = 0;

  if (!wait_for_packet) {
    sched_yield();
    return;
  }
  if (num_dirs == 1) {
    pfring_poll(b->rings[0], IDLE_POLL_MS);
    return;
  }
  for (i = 0; i < num_dirs; i++) {
    int fd = pfring_get_selectable_fd(b->rings[i]);
    if (fd >= 0) {
      pfd[n].fd = fd;
      pfd[n].events = POLLIN;
      n++;
    }
  }
  poll(pfd, n, IDLE_POLL_MS);
}

PFRING_API int pfring_dna_bouncer_loop(pfring_dna_bouncer *b,
                                       pfring_dna_bouncer_decision_func func,
                                       const u_char *user_bytes, u_int8_t wait_for_packet)
{
  static const char what[] = "pfring_dna_bouncer_loop";
  u_int8_t no = 0;
  u_int32_t d, num_dirs;
  int rc = 0, n, got;

  CHECK_BOUNCER(b, what);
  if (!func)
    return seterr(PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "%s: func is NULL", what);
  if (!__atomic_compare_exchange_n(&b->looping, &no, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,
                  "%s: the bouncer is looping already (one loop at a time)", what);
  b->loop_thread = pthread_self();
  num_dirs = b->mode == two_way_mode ? 2 : 1;
  for (d = 0; d < num_dirs; d++) {
    if ((rc = check_ring(b->rings[d], (int)d, 1, what)) < 0 ||
        (rc = check_ring(b->rings[!d], (int)!d, 0, what)) < 0)
      goto out;
    rc = pfring_enable_ring(b->rings[d]);
    if (rc < 0) {
      seterr(rc, 0, "%s: cannot enable %s: %s", what, ring_name[d],
             pfring_last_error(b->rings[d]));
      goto out;
    }
  }
  rc = 0;
  while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
    got = 0;
    for (d = 0; d < num_dirs; d++) {
      n = bounce_burst(b, (u_int8_t)d, func, user_bytes);
      if (n < 0) {
        rc = n;
        goto out;
      }
      got += n;
    }
    if (!got)
      idle_wait(b, num_dirs, wait_for_packet);
  }
out:
  __atomic_store_n(&b->stop, 0, __ATOMIC_RELEASE);     /* the break is consumed */
  __atomic_store_n(&b->looping, 0, __ATOMIC_RELEASE);
  return rc;
}

PFRING_API void pfring_dna_bouncer_breakloop(pfring_dna_bouncer *b)
{
  if (b)
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
}

PFRING_API void pfring_dna_bouncer_destroy(pfring_dna_bouncer *b)
{
  if (!b)
    return;
  if (is_looping(b)) {
    seterr(PF_RING_ERROR_INVALID_STATUS, EBUSY,
           "pfring_dna_bouncer_destroy: the bouncer is looping%s; nothing was freed: call "
           "pfring_dna_bouncer_breakloop and destroy it once pfring_dna_bouncer_loop has "
           "returned",
           pthread_equal(b->loop_thread, pthread_self()) ? " (called from its decision function)"
                                                         : "");
    pfringint_log(1, "%s", bouncer_err);
    return;
  }
  pfring_close(b->rings[0]);
  pfring_close(b->rings[1]);
  free(b);
}
