/*
 * stats_queued.c - pcap_stats before and after reading, for the
 * compatibility tests; linked with -lpcap.
 *
 *   stats_queued [-p] -k COUNT DEVICE
 *
 * Opens DEVICE (pcap_create, immediate mode, promiscuous with -p), prints
 * "ready" and waits for a line on stdin (the test has sent its frames, which
 * wait in the capture unread); prints "queued recv=R drop=D ifdrop=I"; reads
 * COUNT packets (at most 10 s); prints "read N recv=R drop=D ifdrop=I".
 * libpcap's ps_recv counts what the kernel queued for the capture, read or
 * not.  Exit status 0, 1 on a libpcap error (on stderr), 2 on usage.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

static void die(const char *what, const char *msg)
{
  fprintf(stderr, "stats_queued: %s: %s\n", what, msg);
  exit(1);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_stats(pcap_t *p, const char *label)
{
  struct pcap_stat ps;

  if (pcap_stats(p, &ps) < 0)
    die("pcap_stats", pcap_geterr(p));
  printf("%s recv=%u drop=%u ifdrop=%u\n", label, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
  fflush(stdout);
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE], label[32], line[64];
  struct pcap_pkthdr *h;
  const u_char *data;
  int count = -1, promisc = 0, opt, got = 0, rc;
  double start;
  pcap_t *p;

  while ((opt = getopt(argc, argv, "pk:")) != -1) {
    if (opt == 'p')
      promisc = 1;
    else if (opt == 'k')
      count = atoi(optarg);
    else
      return 2;
  }
  if (count < 0 || argc - optind != 1) {
    fprintf(stderr, "usage: stats_queued [-p] -k COUNT DEVICE\n");
    return 2;
  }
  p = pcap_create(argv[optind], errbuf);
  if (!p)
    die("pcap_create", errbuf);
  if (pcap_set_snaplen(p, 2048) || pcap_set_immediate_mode(p, 1) ||
      pcap_set_promisc(p, promisc) || pcap_set_timeout(p, 100))
    die("options", pcap_geterr(p));
  if (pcap_activate(p) < 0)
    die("pcap_activate", pcap_geterr(p));
  if (pcap_setnonblock(p, 1, errbuf) < 0)
    die("pcap_setnonblock", errbuf);

  printf("ready\n");
  fflush(stdout);
  if (!fgets(line, sizeof(line), stdin))
    die("stdin", "closed");
  print_stats(p, "queued");
  start = now();
  while (got < count && now() - start < 10) {
    rc = pcap_next_ex(p, &h, &data);
    if (rc < 0)
      die("pcap_next_ex", pcap_geterr(p));
    if (rc == 1)
      got++;
    else
      usleep(5000);
  }
  snprintf(label, sizeof(label), "read %d", got);
  print_stats(p, label);
  pcap_close(p);
  return 0;
}
