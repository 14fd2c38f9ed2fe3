/*
 * capdump.c - a plain libpcap program for the compatibility tests, linked
 * with -lpcap: whichever libpcap.so.0.8 the loader finds runs it.
 *
 *   capdump [-C] [-n count] [-t ms] [-w file] [-f filter] [-N] DEVICE
 *       capture count packets (pcap_open_live, or -C: pcap_create +
 *       pcap_activate), the filter compiled and set, dumped to file; then
 *       print "stats recv=R drop=D ifdrop=I" and "version <pcap_lib_version>"
 *       on stdout.  -N: pcap_setnonblock before capturing.
 *   capdump -m MODE [...] DEVICE      one API behaviour (see the modes below)
 *
 * Every line the tests read goes to stdout, flushed; "ready" is printed when
 * the capture is open (and its filter set).  Exit status 0 on success, 1 on
 * a libpcap error (its message on stderr, prefixed "capdump: "), 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

static pcap_t *handle;

static void die(const char *what, const char *msg)
{
  fprintf(stderr, "capdump: %s: %s\n", what, msg);
  exit(1);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ready(void)
{
  printf("ready\n");
  fflush(stdout);
}

static void print_stats(void)
{
  struct pcap_stat ps;

  if (pcap_stats(handle, &ps) < 0)
    die("pcap_stats", pcap_geterr(handle));
  printf("stats recv=%u drop=%u ifdrop=%u\n", ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
}

static void on_alarm(int sig)
{
  (void)sig;
  pcap_breakloop(handle);
}

static void count_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  (void)h;
  (void)data;
  ++*(int *)user;
}

/* Prints each packet's bytes in hex on a line "pkt HEX". */
static void print_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  (void)user;
  printf("pkt ");
  for (u_int i = 0; i < h->caplen; i++)
    printf("%02x", data[i]);
  printf("\n");
}

/* print_one, then pcap_breakloop after *user packets. */
static void print_then_break(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  print_one(NULL, h, data);
  if (--*(int *)user == 0)
    pcap_breakloop(handle);
}

/* Reads hex frames, one per line, from stdin and sends each. */
static int send_stdin(int use_inject)
{
  char line[8192];
  u_char frame[4096];
  int sent = 0;

  while (fgets(line, sizeof(line), stdin)) {
    size_t n = 0;
    for (char *s = line; s[0] && s[1] && s[0] != '\n' && n < sizeof(frame); s += 2) {
      unsigned v;
      if (sscanf(s, "%2x", &v) != 1)
        break;
      frame[n++] = (u_char)v;
    }
    if (use_inject) {
      int rc = pcap_inject(handle, frame, n);
      if (rc != (int)n)
        die("pcap_inject", rc < 0 ? pcap_geterr(handle) : "short write");
    } else if (pcap_sendpacket(handle, frame, (int)n) != 0) {
      die("pcap_sendpacket", pcap_geterr(handle));
    }
    sent++;
  }
  printf("sent %d\n", sent);
  return 0;
}

static int usage(void)
{
  fprintf(stderr, "usage: capdump [-C] [-N] [-n count] [-t ms] [-w file] [-f filter] "
                  "[-m mode] DEVICE\n");
  return 2;
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  const char *file = NULL, *filter = NULL, *mode = "capture";
  int create = 0, nonblock = 0, count = 1, timeout = 100, op;

  while ((op = getopt(argc, argv, "CNn:t:w:f:m:")) != -1) {
    switch (op) {
    case 'C': create = 1; break;
    case 'N': nonblock = 1; break;
    case 'n': count = atoi(optarg); break;
    case 't': timeout = atoi(optarg); break;
    case 'w': file = optarg; break;
    case 'f': filter = optarg; break;
    case 'm': mode = optarg; break;
    default: return usage();
    }
  }
  if (optind != argc - 1)
    return usage();

  if (strcmp(mode, "version") == 0) {
    printf("version %s\n", pcap_lib_version());
    return 0;
  }

  if (create) {
    int rc;
    handle = pcap_create(argv[optind], errbuf);
    if (!handle)
      die("pcap_create", errbuf);
    pcap_set_snaplen(handle, 65535);
    pcap_set_promisc(handle, 1);
    pcap_set_timeout(handle, timeout);
    rc = pcap_activate(handle);
    if (rc < 0)
      die("pcap_activate", rc == PCAP_ERROR ? pcap_geterr(handle) : pcap_statustostr(rc));
  } else {
    handle = pcap_open_live(argv[optind], 65535, 1, timeout, errbuf);
    if (!handle)
      die("pcap_open_live", errbuf);
  }
  if (pcap_datalink(handle) != DLT_EN10MB)
    die("pcap_datalink", "not Ethernet");
  if (filter) {
    struct bpf_program prog;
    if (pcap_compile(handle, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
      die("pcap_compile", pcap_geterr(handle));
    if (pcap_setfilter(handle, &prog) < 0)
      die("pcap_setfilter", pcap_geterr(handle));
    pcap_freecode(&prog);
  }
  if (nonblock && pcap_setnonblock(handle, 1, errbuf) < 0)
    die("pcap_setnonblock", errbuf);

  if (strcmp(mode, "capture") == 0) {
    /* count packets to file (or printed), then stats and version */
    pcap_dumper_t *d = NULL;
    int rc;
    if (file && !(d = pcap_dump_open(handle, file)))
      die("pcap_dump_open", pcap_geterr(handle));
    ready();
    rc = pcap_loop(handle, count, d ? pcap_dump : print_one, (u_char *)d);
    if (rc < 0)
      die("pcap_loop", rc == PCAP_ERROR_BREAK ? "broken" : pcap_geterr(handle));
    if (d)
      pcap_dump_close(d);
    print_stats();
    printf("version %s\n", pcap_lib_version());
  } else if (strcmp(mode, "breakloop") == 0) {
    /* pcap_loop blocked on a quiet interface; SIGALRM's handler breaks it */
    struct sigaction sa;
    double t0;
    int n = 0, rc;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    ready();
    alarm(1);
    t0 = now();
    rc = pcap_loop(handle, -1, count_one, (u_char *)&n);
    printf("loop %d after %.1f s, %d packets\n", rc, now() - t0, n);
  } else if (strcmp(mode, "pieces") == 0) {
    /* count packets queued while the program sleeps, read by one API after
     * another: pcap_dispatch(3), pcap_next_ex twice, pcap_loop broken from
     * its callback after 4, then pcap_loop for the rest */
    struct pcap_pkthdr *h;
    const u_char *data;
    int left = 4, rc, i;
    ready();
    sleep(2);
    printf("dispatch %d\n", pcap_dispatch(handle, 3, print_one, NULL));
    for (i = 0; i < 2; i++) {
      rc = pcap_next_ex(handle, &h, &data);
      printf("next_ex %d\n", rc);
      if (rc == 1)
        print_one(NULL, h, data);
    }
    printf("loop %d\n", pcap_loop(handle, -1, print_then_break, (u_char *)&left));
    printf("loop %d\n", pcap_loop(handle, count - 9, print_one, NULL));
  } else if (strcmp(mode, "nonblock") == 0) {
    /* pcap_dispatch returns 0 at once while nothing waits, then the packets */
    double t0 = now(), t;
    int n = 0, rc;
    rc = pcap_dispatch(handle, -1, count_one, (u_char *)&n);
    t = now() - t0;
    printf("getnonblock %d\n", pcap_getnonblock(handle, errbuf));
    printf("empty dispatch %d in %s\n", rc, t < 0.05 ? "no time" : "too long");
    ready();
    t0 = now();
    while (n < count && now() - t0 < 10) {
      rc = pcap_dispatch(handle, -1, count_one, (u_char *)&n);
      if (rc < 0)
        die("pcap_dispatch", pcap_geterr(handle));
      if (rc == 0)
        usleep(1000);
    }
    printf("got %d packets\n", n);
  } else if (strcmp(mode, "poll") == 0) {
    /* the selectable fd: not readable while quiet, readable once packets wait */
    struct pollfd pfd = { pcap_get_selectable_fd(handle), POLLIN, 0 };
    int n = 0, rc;
    if (pfd.fd < 0)
      die("pcap_get_selectable_fd", "no selectable fd");
    rc = poll(&pfd, 1, 200);
    printf("quiet poll %d\n", rc);
    ready();
    rc = poll(&pfd, 1, 10000);
    printf("poll %d revents%s\n", rc, (pfd.revents & POLLIN) ? " POLLIN" : "");
    while (n < count) {
      rc = poll(&pfd, 1, 5000);
      if (rc <= 0)
        break;
      rc = pcap_dispatch(handle, count - n, count_one, (u_char *)&n);
      if (rc < 0)
        die("pcap_dispatch", pcap_geterr(handle));
    }
    printf("got %d packets\n", n);
  } else if (strcmp(mode, "send") == 0 || strcmp(mode, "inject") == 0) {
    ready();
    send_stdin(strcmp(mode, "inject") == 0);
  } else {
    return usage();
  }
  fflush(stdout);
  pcap_close(handle);
  return 0;
}
