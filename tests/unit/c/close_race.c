/*
 * close_race.c - pfring_close against calls in flight, on a real ring.
 *
 *   close_race IFNAME
 *
 * Run as root on a quiet interface (the live test gives it one end of a
 * veth pair in a fresh network namespace), built with -fsanitize=address
 * from the library's sources, so that any read of freed memory aborts.
 *
 * For each receive call that blocks (pfring_recv with wait, on a plain and
 * on a PF_RING_REENTRANT ring, pfring_loop, pfring_recv_burst, pfring_poll)
 * a thread blocks in it, the main thread closes the ring, and the blocked
 * call must return PF_RING_ERROR_INVALID_STATUS within a second.  Then every
 * kind of call on the closed handle must fail safely with that code and
 * errno EBADF.  Also: several threads blocked at once, a thread hammering
 * non-blocking calls while the ring closes, and pfring_close from inside a
 * pfring_loop callback.  Prints one line per failed check and
 * "N passed, N failed"; exits 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfring.h"

static int passed, failed;
static const char *ifname;

#define CHECK(cond, ...) do {                                              \
    if (cond) { passed++; } else {                                         \
      failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__);                \
      printf(__VA_ARGS__); printf("\n"); }                                 \
  } while (0)

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static pfring *open_ring(u_int32_t flags)
{
  pfring *r = pfring_open(ifname, 1536, flags);

  if (!r) {
    printf("FAIL cannot open %s: %s\n", ifname, pfring_last_open_error());
    exit(1);
  }
  if (pfring_enable_ring(r) != 0) {
    printf("FAIL cannot enable %s: %s\n", ifname, pfring_last_error(r));
    exit(1);
  }
  return r;
}

/* ------------------------------------------------------------------------ */
/* One blocked call per thread                                               */

enum call { RECV, RECV_COPY, LOOP, BURST, POLL };
static const char *call_names[] = { "pfring_recv", "pfring_recv (reentrant, copy)",
                                    "pfring_loop", "pfring_recv_burst", "pfring_poll" };

struct blocked {
  pfring *ring;
  enum call call;
  int rc;
  int err;
  volatile int done;
};

static void count_packet(const struct pfring_pkthdr *h, const u_char *p, const u_char *user)
{
  (void)h; (void)p; (void)user;
}

static void *block_in(void *arg)
{
  struct blocked *b = arg;
  struct pfring_pkthdr hdr;
  struct pfring_burst_pkt pkts[64];
  u_char copy[2048], *buf = copy, *zc = NULL;

  /* Nothing arrives on the quiet interface: each call waits until closed. */
  for (;;) {
    switch (b->call) {
    case RECV: b->rc = pfring_recv(b->ring, &zc, 0, &hdr, 1); break;
    case RECV_COPY: b->rc = pfring_recv(b->ring, &buf, sizeof(copy), &hdr, 1); break;
    case LOOP: b->rc = pfring_loop(b->ring, count_packet, NULL, 1); break;
    case BURST: b->rc = pfring_recv_burst(b->ring, pkts, 64, 1); break;
    case POLL: b->rc = pfring_poll(b->ring, 60000); break;
    }
    if (b->rc < 0)                     /* else a stray packet or a timeout */
      break;
  }
  b->err = errno;
  b->done = 1;
  return NULL;
}

static int join_within(pthread_t t, double seconds)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)seconds;
  ts.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

/* Every kind of call on a closed handle fails safely. */
static void use_after_close(pfring *r, const char *what)
{
  struct pfring_pkthdr hdr;
  struct pfring_burst_pkt pkts[4];
  pfring_stat st;
  u_char *buf = NULL;
  char path[256];
  u_int32_t version;
  int rc;

#define CLOSED(expr) do {                                                  \
    errno = 0;                                                             \
    rc = (expr);                                                           \
    CHECK(rc == PF_RING_ERROR_INVALID_STATUS && errno == EBADF,            \
          "%s: %s after close gave %d (errno %d)", what, #expr, rc, errno);\
  } while (0)

  CLOSED(pfring_recv(r, &buf, 0, &hdr, 0));
  CLOSED(pfring_recv(r, &buf, 0, &hdr, 1));
  CLOSED(pfring_recv_burst(r, pkts, 4, 1));
  CLOSED(pfring_loop(r, count_packet, NULL, 1));
  CLOSED(pfring_dispatch(r, 10, count_packet, NULL));
  CLOSED(pfring_poll(r, 10));
  CLOSED(pfring_is_pkt_available(r));
  CLOSED(pfring_enable_ring(r));
  CLOSED(pfring_disable_ring(r));
  CLOSED(pfring_stats(r, &st));
  CLOSED(pfring_version(r, &version));
  CLOSED(pfring_get_selectable_fd(r));
  CLOSED(pfring_set_cluster(r, 5, cluster_round_robin));
  CLOSED(pfring_remove_from_cluster(r));
  CLOSED(pfring_set_bpf_filter(r, "udp"));
  CLOSED(pfring_set_direction(r, rx_only_direction));
  CLOSED(pfring_set_batching(r, 1, 0));
  CLOSED(pfring_send(r, "0123456789abcdef", 16, 1));
  CLOSED(pfring_set_application_name(r, "x"));
  CHECK(pfring_get_num_queued_pkts(r) == 0, "%s: num_queued after close", what);
  CHECK(pfring_get_caplen(r) == 0, "%s: caplen after close", what);
  CHECK(pfring_get_ring_id(r) == 0, "%s: ring id after close", what);
  CHECK(pfring_get_appl_stats_file_name(r, path, sizeof(path)) == NULL,
        "%s: stats file name after close", what);
  CHECK(strstr(pfring_last_error(r), "pfring_close") != NULL,
        "%s: last error after close is '%s'", what, pfring_last_error(r));
  pfring_breakloop(r);
  pfring_shutdown(r);
  pfring_close(r);                     /* twice: nothing happens */
#undef CLOSED
}

static void close_while_blocked(enum call call)
{
  struct blocked b = { .call = call };
  const char *name = call_names[call];
  pthread_t t;
  double t0, closed_in;

  b.ring = open_ring(call == RECV_COPY ? PF_RING_REENTRANT : 0);
  pthread_create(&t, NULL, block_in, &b);
  sleep_ms(200);
  CHECK(!b.done, "%s returned before the close (rc %d)", name, b.rc);
  t0 = now_s();
  pfring_close(b.ring);
  closed_in = now_s() - t0;
  CHECK(closed_in < 1.0, "pfring_close took %.3f s with %s blocked", closed_in, name);
  CHECK(join_within(t, 1.0), "%s still blocked 1 s after pfring_close", name);
  CHECK(b.rc == PF_RING_ERROR_INVALID_STATUS && b.err == EBADF,
        "%s woken by pfring_close returned %d (errno %d), not INVALID_STATUS/EBADF",
        name, b.rc, b.err);
  use_after_close(b.ring, name);
}

/* Several threads blocked on one ring at once. */
static void close_with_many_blocked(void)
{
  enum call calls[] = { RECV_COPY, RECV_COPY, RECV_COPY, POLL, POLL };
  struct blocked b[5];
  pthread_t t[5];
  pfring *r = open_ring(PF_RING_REENTRANT);
  int i;

  for (i = 0; i < 5; i++) {
    memset(&b[i], 0, sizeof(b[i]));
    b[i].ring = r;
    b[i].call = calls[i];
    pthread_create(&t[i], NULL, block_in, &b[i]);
  }
  sleep_ms(200);
  pfring_close(r);
  for (i = 0; i < 5; i++) {
    CHECK(join_within(t[i], 1.0), "many: %s (thread %d) still blocked", call_names[calls[i]], i);
    CHECK(b[i].rc == PF_RING_ERROR_INVALID_STATUS,
          "many: %s (thread %d) returned %d", call_names[calls[i]], i, b[i].rc);
  }
  use_after_close(r, "many blocked");
}

/* A thread making non-blocking calls as fast as it can while the ring closes. */
struct hammer {
  pfring *ring;
  volatile int stop;
  long calls, closed_seen, bad;
};

static void *hammer(void *arg)
{
  struct hammer *h = arg;
  struct pfring_pkthdr hdr;
  struct pfring_burst_pkt pkts[8];
  u_char *buf;
  pfring_stat st;
  int rc;

  while (!h->stop) {
    int rcs[5];
    rcs[0] = pfring_recv(h->ring, &buf, 0, &hdr, 0);
    rcs[1] = pfring_recv_burst(h->ring, pkts, 8, 0);
    rcs[2] = pfring_stats(h->ring, &st);
    rcs[3] = pfring_poll(h->ring, 0);
    rcs[4] = pfring_set_poll_watermark(h->ring, 1);
    (void)pfring_get_num_queued_pkts(h->ring);
    pfring_breakloop(h->ring);
    for (rc = 0; rc < 5; rc++) {
      if (rcs[rc] == PF_RING_ERROR_INVALID_STATUS)
        h->closed_seen++;
      else if (rcs[rc] < 0)
        h->bad++;
    }
    h->calls++;
  }
  return NULL;
}

static void close_while_hammered(void)
{
  struct hammer h = { 0 };
  pthread_t t;

  h.ring = open_ring(0);
  pthread_create(&t, NULL, hammer, &h);
  sleep_ms(100);
  pfring_close(h.ring);
  sleep_ms(50);
  h.stop = 1;
  pthread_join(t, NULL);
  CHECK(h.calls > 0 && h.closed_seen > 0 && h.bad == 0,
        "hammer: %ld rounds, %ld closed errors, %ld other errors", h.calls, h.closed_seen,
        h.bad);
}

/* pfring_close from inside a pfring_loop callback of the same ring. */
static pfring *loop_ring;
static int callbacks;

static void close_in_callback(const struct pfring_pkthdr *h, const u_char *p,
                              const u_char *user)
{
  (void)h; (void)p; (void)user;
  callbacks++;
  pfring_close(loop_ring);             /* returns at once: our caller is below us */
}

static void close_from_callback(void)
{
  static const u_char frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0x02, 0, 0, 0, 0, 1, 0x88, 0xb5 };
  pfring *tx = pfring_open(ifname, 1536, 0);
  int rc, i;

  loop_ring = open_ring(0);
  CHECK(tx != NULL, "cannot open the sending ring: %s", pfring_last_open_error());
  if (!tx)
    return;
  /* Not send-only: that mode bypasses the qdisc, and other packet sockets
   * would not see the frames. */
  pfring_enable_ring(tx);
  for (i = 0; i < 3; i++)              /* the ring sees them going out */
    pfring_send(tx, (char *)frame, sizeof(frame), 1);
  rc = pfring_loop(loop_ring, close_in_callback, NULL, 1);
  CHECK(rc == PF_RING_ERROR_INVALID_STATUS, "pfring_loop closed by its callback returned %d",
        rc);
  CHECK(callbacks == 1, "%d callbacks after the one that closed the ring", callbacks);
  use_after_close(loop_ring, "closed in a callback");
  pfring_close(tx);
}

int main(int argc, char **argv)
{
  enum call c;

  if (argc != 2) {
    fprintf(stderr, "usage: close_race IFNAME\n");
    return 2;
  }
  ifname = argv[1];
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (c = RECV; c <= POLL; c++)
    close_while_blocked(c);
  close_with_many_blocked();
  close_while_hammered();
  close_from_callback();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
