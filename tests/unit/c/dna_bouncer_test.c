/*
 * dna_bouncer_test.c - a DNA Bouncer for the live tests
 * (tests/live/test_dna_bouncer.py), on libpfring's bouncer API.
 *
 *   dna_bouncer_test IN_DEV OUT_DEV one|two even|edit|self [active]
 *   dna_bouncer_test --bad-input DEV1 DEV2
 *
 * The decision function passes IPv4 UDP packets with an even destination
 * port and drops everything else.  "edit" also rewrites the passed packets
 * in place: the IPv4 TTL lowered by one and the frame cut to 60 bytes.
 * "self" passes as "even", and on its first packet calls, from the decision
 * function, pfring_dna_bouncer_loop and pfring_dna_bouncer_destroy (both
 * refused, their messages printed after the loop) and then breaks the loop.
 * "active": the loop spins instead of sleeping.
 *
 * The rings are enabled before "ready" is printed, so what is sent after
 * it is queued for the loop.  Commands on stdin, one a line: "stats"
 * prints
 *   stats d0=RECEIVED/FORWARDED/DROPPED/TX_FAILED d1=... calls0=N calls1=M
 * (callsD: the decision function's calls with direction D), "break" calls
 * pfring_dna_bouncer_breakloop from the stdin thread; SIGUSR1 calls it from
 * a signal handler.  When the loop returns the program prints
 * "loop returned RC MESSAGE" and "break took MS ms" (from the break to the
 * loop's return), the stats line, destroys the bouncer and prints "done",
 * exit 0.  Failures print "error: <message>", exit 1.  Whatever happens
 * the program exits (status 3) after 60 s.
 *
 * --bad-input tries every bad argument and state of the API and prints one
 * line "<case>: <rc> <message>" for each, then "done".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfring.h"

static pfring_dna_bouncer *bouncer;
static int edit, self_check;
static u_int64_t calls[2];
static struct timespec break_at;
static volatile sig_atomic_t break_set;
static char self_loop[512], self_destroy[512];
static int self_loop_rc = 1;

static int decide(u_int32_t *pkt_len, u_char *pkt, const u_char *user, u_int8_t direction)
{
  u_int32_t len = *pkt_len;
  u_int32_t ihl;

  __atomic_add_fetch(&calls[direction & 1], 1, __ATOMIC_RELAXED);
  if (self_check && self_loop_rc == 1) {
    self_loop_rc = pfring_dna_bouncer_loop(bouncer, decide, NULL, 1);
    snprintf(self_loop, sizeof(self_loop), "%s", pfring_dna_bouncer_last_error());
    pfring_dna_bouncer_destroy(bouncer);
    snprintf(self_destroy, sizeof(self_destroy), "%s", pfring_dna_bouncer_last_error());
    clock_gettime(CLOCK_MONOTONIC, &break_at);
    break_set = 1;
    pfring_dna_bouncer_breakloop(bouncer);
  }
  if (len < 14 + 20 + 8 || pkt[12] != 0x08 || pkt[13] != 0x00 || (pkt[14] >> 4) != 4 ||
      pkt[14 + 9] != 17)
    return DNA_BOUNCER_DROP;
  ihl = (u_int32_t)(pkt[14] & 0x0f) * 4;
  if (len < 14 + ihl + 8 || (pkt[14 + ihl + 3] & 1))
    return DNA_BOUNCER_DROP;
  if (edit) {
    pkt[14 + 8]--;                         /* TTL */
    if (*pkt_len > 60)
      *pkt_len = 60;
  }
  return DNA_BOUNCER_PASS;
}

static void print_stats(void)
{
  pfring_dna_bouncer_stat s[2];
  int d;

  for (d = 0; d < 2; d++)
    if (pfring_dna_bouncer_stats(bouncer, (u_int8_t)d, &s[d]) < 0) {
      printf("error: %s\n", pfring_dna_bouncer_last_error());
      return;
    }
  printf("stats d0=%llu/%llu/%llu/%llu d1=%llu/%llu/%llu/%llu calls0=%llu calls1=%llu\n",
         (unsigned long long)s[0].received, (unsigned long long)s[0].forwarded,
         (unsigned long long)s[0].dropped, (unsigned long long)s[0].tx_failed,
         (unsigned long long)s[1].received, (unsigned long long)s[1].forwarded,
         (unsigned long long)s[1].dropped, (unsigned long long)s[1].tx_failed,
         (unsigned long long)__atomic_load_n(&calls[0], __ATOMIC_RELAXED),
         (unsigned long long)__atomic_load_n(&calls[1], __ATOMIC_RELAXED));
  fflush(stdout);
}

static void on_usr1(int sig)
{
  clock_gettime(CLOCK_MONOTONIC, &break_at);
  break_set = 1;
  pfring_dna_bouncer_breakloop(bouncer);
}

static void *stdin_thread(void *arg)
{
  time_t deadline = time(NULL) + 60;
  char line[64];

  for (;;) {
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    if (time(NULL) > deadline) {
      fprintf(stderr, "dna_bouncer_test: lifetime over\n");
      _exit(3);
    }
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    if (!fgets(line, sizeof(line), stdin)) {
      /* The end of stdin: stop, but keep the lifetime watch. */
      pfring_dna_bouncer_breakloop(bouncer);
      for (;;) {
        if (time(NULL) > deadline)
          _exit(3);
        sleep(1);
      }
    }
    if (strncmp(line, "stats", 5) == 0)
      print_stats();
    else if (strncmp(line, "break", 5) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &break_at);
      break_set = 1;
      pfring_dna_bouncer_breakloop(bouncer);
    }
  }
  return NULL;
}

static long ms_since(const struct timespec *t)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------------------ */
/* --bad-input                                                               */

#define TRY(name, call) do {                                                   \
    int rc_ = (call);                                                         \
    printf("%s: %d %s\n", name, rc_, rc_ < 0 ? pfring_dna_bouncer_last_error() : ""); \
  } while (0)

#define TRY_CREATE(name, in, out) do {                                         \
    pfring_dna_bouncer *b_ = pfring_dna_bouncer_create(in, out);              \
    printf("%s: %s %s\n", name, b_ ? "created" : "NULL",                      \
           b_ ? "" : pfring_dna_bouncer_last_error());                        \
    if (b_)                                                                   \
      free_later = b_;                                                        \
  } while (0)

static int never(u_int32_t *pkt_len, u_char *pkt, const u_char *user, u_int8_t direction)
{
  return DNA_BOUNCER_DROP;
}

struct looper {
  pfring_dna_bouncer *b;
  int rc;
};

static void *loop_thread(void *arg)
{
  struct looper *l = arg;
  l->rc = pfring_dna_bouncer_loop(l->b, never, NULL, 1);
  return NULL;
}

static pfring *open_mode(const char *dev, socket_mode mode)
{
  pfring *r = pfring_open(dev, 2048, PF_RING_PROMISC);
  if (!r) {
    printf("error: %s: %s\n", dev, pfring_last_open_error());
    exit(1);
  }
  if (pfring_set_socket_mode(r, mode) < 0) {
    printf("error: %s\n", pfring_last_error(r));
    exit(1);
  }
  return r;
}

static int bad_input(const char *dev1, const char *dev2)
{
  pfring *r1 = open_mode(dev1, send_and_recv_mode), *r2 = open_mode(dev2, send_and_recv_mode);
  pfring *send_only = open_mode(dev1, send_only_mode), *recv_only = open_mode(dev2, recv_only_mode);
  pfring *mgmt = open_mode(dev2, management_only_mode), *closed = open_mode(dev1, send_and_recv_mode);
  pfring *rx_only_in = open_mode(dev1, recv_only_mode), *tx_only_out = open_mode(dev2, send_only_mode);
  pfring_dna_bouncer *b, *b2, *free_later = NULL;
  pfring_dna_bouncer_stat st;
  struct looper l;
  pthread_t t;
  struct timespec t0;
  int i, rc;

  pfring_close(closed);
  TRY_CREATE("create NULL ingress", NULL, r2);
  TRY_CREATE("create NULL egress", r1, NULL);
  TRY_CREATE("create NULL both", NULL, NULL);
  TRY_CREATE("create same ring", r1, r1);
  TRY_CREATE("create send_only ingress", send_only, r2);
  TRY_CREATE("create recv_only egress", r1, recv_only);
  TRY_CREATE("create management egress", r1, mgmt);
  TRY_CREATE("create closed ingress", closed, r2);
  if (free_later) {
    printf("error: a bad create succeeded\n");
    return 1;
  }
  TRY("set_mode NULL", pfring_dna_bouncer_set_mode(NULL, two_way_mode));
  TRY("loop NULL", pfring_dna_bouncer_loop(NULL, never, NULL, 1));
  TRY("stats NULL", pfring_dna_bouncer_stats(NULL, 0, &st));
  pfring_dna_bouncer_breakloop(NULL);
  pfring_dna_bouncer_destroy(NULL);
  printf("breakloop NULL, destroy NULL: survived\n");

  /* two_way_mode needs an ingress ring that sends and an egress one that receives */
  b2 = pfring_dna_bouncer_create(rx_only_in, tx_only_out);
  if (!b2) {
    printf("error: %s\n", pfring_dna_bouncer_last_error());
    return 1;
  }
  TRY("set_mode two_way recv_only ingress", pfring_dna_bouncer_set_mode(b2, two_way_mode));
  TRY("set_mode one_way recv_only ingress", pfring_dna_bouncer_set_mode(b2, one_way_mode));
  pfring_dna_bouncer_destroy(b2);          /* closes rx_only_in and tx_only_out */

  b = pfring_dna_bouncer_create(r1, r2);
  if (!b) {
    printf("error: %s\n", pfring_dna_bouncer_last_error());
    return 1;
  }
  TRY("set_mode 7", pfring_dna_bouncer_set_mode(b, (dna_bouncer_mode)7));
  TRY("set_mode -1", pfring_dna_bouncer_set_mode(b, (dna_bouncer_mode)-1));
  TRY("set_mode two_way", pfring_dna_bouncer_set_mode(b, two_way_mode));
  TRY("loop NULL func", pfring_dna_bouncer_loop(b, NULL, NULL, 1));
  TRY("stats direction 2", pfring_dna_bouncer_stats(b, 2, &st));
  TRY("stats NULL stats", pfring_dna_bouncer_stats(b, 0, NULL));

  /* a break before the loop ends that loop at once, and only that one */
  pfring_dna_bouncer_breakloop(b);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  TRY("loop after a break", pfring_dna_bouncer_loop(b, never, NULL, 1));
  printf("loop after a break took %s\n", ms_since(&t0) < 1000 ? "under 1 s" : "too long");

  /* a second loop, a mode change and destroy while a loop runs */
  l.b = b;
  l.rc = 1;
  if (pthread_create(&t, NULL, loop_thread, &l) != 0) {
    printf("error: pthread_create\n");
    return 1;
  }
  for (i = 0; i < 500; i++) {                /* until the loop runs: 5 s at most */
    if (pfring_dna_bouncer_set_mode(b, two_way_mode) < 0)
      break;
    usleep(10000);
  }
  TRY("set_mode while looping", pfring_dna_bouncer_set_mode(b, one_way_mode));
  TRY("loop while looping", pfring_dna_bouncer_loop(b, never, NULL, 1));
  pfring_dna_bouncer_destroy(b);
  printf("destroy while looping: %s\n", pfring_dna_bouncer_last_error());
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pfring_dna_bouncer_breakloop(b);
  pthread_join(t, NULL);
  printf("looping thread: loop returned %d after the break, %s\n", l.rc,
         ms_since(&t0) < 1000 ? "under 1 s" : "too long");
  TRY("stats after the loop", pfring_dna_bouncer_stats(b, 1, &st));

  /* a ring closed under the bouncer */
  pfring_close(r2);
  rc = pfring_dna_bouncer_loop(b, never, NULL, 1);
  printf("loop with egress closed: %d %s\n", rc, pfring_dna_bouncer_last_error());
  pfring_dna_bouncer_destroy(b);
  pfring_close(send_only);
  pfring_close(recv_only);
  pfring_close(mgmt);
  printf("done\n");
  return 0;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
  pfring *in, *out;
  pthread_t t;
  int two, active, rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && strcmp(argv[1], "--bad-input") == 0)
    return bad_input(argv[2], argv[3]);
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: dna_bouncer_test IN_DEV OUT_DEV one|two even|edit|self [active]\n");
    return 2;
  }
  two = strcmp(argv[3], "two") == 0;
  edit = strcmp(argv[4], "edit") == 0;
  self_check = strcmp(argv[4], "self") == 0;
  active = argc == 6 && strcmp(argv[5], "active") == 0;
  in = pfring_open(argv[1], 2048, PF_RING_PROMISC);
  out = pfring_open(argv[2], 2048, PF_RING_PROMISC);
  if (!in || !out) {
    printf("error: %s\n", pfring_last_open_error());
    return 1;
  }
  bouncer = pfring_dna_bouncer_create(in, out);
  if (!bouncer) {
    printf("error: %s\n", pfring_dna_bouncer_last_error());
    return 1;
  }
  if (two && pfring_dna_bouncer_set_mode(bouncer, two_way_mode) < 0) {
    printf("error: %s\n", pfring_dna_bouncer_last_error());
    return 1;
  }
  if (pfring_enable_ring(in) < 0 || (two && pfring_enable_ring(out) < 0)) {
    printf("error: cannot enable: %s / %s\n", pfring_last_error(in), pfring_last_error(out));
    return 1;
  }
  signal(SIGUSR1, on_usr1);
  if (pthread_create(&t, NULL, stdin_thread, NULL) != 0) {
    printf("error: pthread_create\n");
    return 1;
  }
  printf("ready\n");
  rc = pfring_dna_bouncer_loop(bouncer, decide, NULL, !active);
  printf("loop returned %d %s\n", rc, rc < 0 ? pfring_dna_bouncer_last_error() : "");
  if (break_set)
    printf("break took %ld ms\n", ms_since(&break_at));
  if (self_check)
    printf("self loop: %d %s\nself destroy: %s\n", self_loop_rc, self_loop, self_destroy);
  print_stats();
  pfring_dna_bouncer_destroy(bouncer);       /* closes in and out */
  printf("done\n");
  return rc < 0;
}
