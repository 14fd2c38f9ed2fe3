/*
 * read_semantics.c - what one read call does with a read timeout, in
 * non-blocking mode and under pcap_breakloop, for the compatibility tests;
 * linked with -lpcap.
 *
 *   read_semantics [-t TO_MS] [-i] [-n] [-b signal|thread] -f FUNC DEVICE
 *
 * FUNC is next_ex, next, dispatch (cnt -1) or loop (cnt 1).  Opens DEVICE
 * (pcap_create, snaplen 2048, timeout TO_MS, default 100; -i immediate
 * mode), sets non-blocking mode with -n, prints "ready", then calls FUNC
 * once; -b arranges a pcap_breakloop 300 ms later from a SIGALRM handler
 * or from another thread.  When the call returns it prints
 * "returned rc=R got=G ms=M": R its return value (next: 1 for a packet, 0
 * for NULL), G the packets it handed over, M the milliseconds it took.
 * Exit status 0, 1 on a libpcap error (on stderr), 2 on usage.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

static pcap_t *handle;

static void die(const char *what, const char *msg)
{
  fprintf(stderr, "read_semantics: %s: %s\n", what, msg);
  exit(1);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  (void)h;
  (void)data;
  (*(int *)user)++;
}

static void on_alarm(int sig)
{
  (void)sig;
  pcap_breakloop(handle);
}

static void *break_later(void *arg)
{
  (void)arg;
  usleep(300000);
  pcap_breakloop(handle);
  return NULL;
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE];
  const char *func = NULL, *brk = NULL;
  int to_ms = 100, immediate = 0, nonblock = 0, opt, rc = 0, got = 0;
  struct pcap_pkthdr *h, hdr;
  const u_char *data;
  pthread_t thread;
  double start;

  while ((opt = getopt(argc, argv, "t:inb:f:")) != -1) {
    switch (opt) {
    case 't': to_ms = atoi(optarg); break;
    case 'i': immediate = 1; break;
    case 'n': nonblock = 1; break;
    case 'b': brk = optarg; break;
    case 'f': func = optarg; break;
    default: return 2;
    }
  }
  if (!func || argc - optind != 1 ||
      (brk && strcmp(brk, "signal") != 0 && strcmp(brk, "thread") != 0)) {
    fprintf(stderr, "usage: read_semantics [-t TO_MS] [-i] [-n] [-b signal|thread] "
                    "-f next_ex|next|dispatch|loop DEVICE\n");
    return 2;
  }
  handle = pcap_create(argv[optind], errbuf);
  if (!handle)
    die("pcap_create", errbuf);
  if (pcap_set_snaplen(handle, 2048) || pcap_set_timeout(handle, to_ms) ||
      pcap_set_immediate_mode(handle, immediate))
    die("options", pcap_geterr(handle));
  if (pcap_activate(handle) < 0)
    die("pcap_activate", pcap_geterr(handle));
  if (nonblock && pcap_setnonblock(handle, 1, errbuf) < 0)
    die("pcap_setnonblock", errbuf);

  printf("ready\n");
  fflush(stdout);
  if (brk && strcmp(brk, "signal") == 0) {
    struct sigaction sa;
    struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 300000 } };
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
  } else if (brk && pthread_create(&thread, NULL, break_later, NULL) != 0) {
    die("pthread_create", "failed");
  }
  start = now_ms();
  if (strcmp(func, "next_ex") == 0) {
    rc = pcap_next_ex(handle, &h, &data);
    got = rc == 1;
  } else if (strcmp(func, "next") == 0) {
    rc = pcap_next(handle, &hdr) != NULL;
    got = rc;
  } else if (strcmp(func, "dispatch") == 0) {
    rc = pcap_dispatch(handle, -1, count, (u_char *)&got);
  } else if (strcmp(func, "loop") == 0) {
    rc = pcap_loop(handle, 1, count, (u_char *)&got);
  } else {
    die("-f", "unknown function");
  }
  printf("returned rc=%d got=%d ms=%.0f\n", rc, got, now_ms() - start);
  fflush(stdout);
  if (rc == PCAP_ERROR)
    die(func, pcap_geterr(handle));
  if (brk && strcmp(brk, "thread") == 0)
    pthread_join(thread, NULL);
  pcap_close(handle);
  return 0;
}
