/*
 * setfilter_queued.c - pcap_setfilter on a capture that already holds
 * packets, for the compatibility tests; linked with -lpcap.
 *
 *   setfilter_queued -w FILE -n COUNT FILTER DEVICE
 *
 * Opens DEVICE (pcap_create, immediate mode, non-blocking), prints
 * "ready" and waits for a line on stdin (the test has sent the first
 * frames, which are queued unfiltered); sets FILTER, prints "filtered" and
 * waits for a line (the second frames are sent); then dumps to FILE what it
 * reads until it has COUNT packets and nothing more arrives for 300 ms (at
 * most 10 s), and prints "stats recv=R drop=D".  libpcap filters the packets
 * queued before pcap_setfilter as well: FILE holds exactly the frames of
 * both sends that FILTER selects.  Exit status 0, 1 on a libpcap error (on
 * stderr), 2 on usage.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

static pcap_t *handle;

static void die(const char *what, const char *msg)
{
  fprintf(stderr, "setfilter_queued: %s: %s\n", what, msg);
  exit(1);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say_and_wait(const char *word)
{
  char line[64];

  printf("%s\n", word);
  fflush(stdout);
  if (!fgets(line, sizeof(line), stdin))
    die("stdin", "closed");
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE];
  const char *file = NULL;
  struct bpf_program prog;
  struct pcap_stat ps;
  pcap_dumper_t *dump;
  int count = -1, opt, got = 0, rc;
  double last, start;

  while ((opt = getopt(argc, argv, "w:n:")) != -1) {
    if (opt == 'w')
      file = optarg;
    else if (opt == 'n')
      count = atoi(optarg);
    else
      return 2;
  }
  if (!file || count < 0 || argc - optind != 2) {
    fprintf(stderr, "usage: setfilter_queued -w FILE -n COUNT FILTER DEVICE\n");
    return 2;
  }
  handle = pcap_create(argv[optind + 1], errbuf);
  if (!handle)
    die("pcap_create", errbuf);
  if (pcap_set_snaplen(handle, 2048) || pcap_set_immediate_mode(handle, 1) ||
      pcap_set_timeout(handle, 100))
    die("options", pcap_geterr(handle));
  if (pcap_activate(handle) < 0)
    die("pcap_activate", pcap_geterr(handle));
  if (pcap_setnonblock(handle, 1, errbuf) < 0)
    die("pcap_setnonblock", errbuf);
  dump = pcap_dump_open(handle, file);
  if (!dump)
    die("pcap_dump_open", pcap_geterr(handle));

  say_and_wait("ready");
  if (pcap_compile(handle, &prog, argv[optind], 1, PCAP_NETMASK_UNKNOWN) < 0)
    die("pcap_compile", pcap_geterr(handle));
  if (pcap_setfilter(handle, &prog) < 0)
    die("pcap_setfilter", pcap_geterr(handle));
  pcap_freecode(&prog);
  say_and_wait("filtered");

  start = last = now();
  while (now() - start < 10 && (got < count || now() - last < 0.3)) {
    rc = pcap_dispatch(handle, -1, pcap_dump, (u_char *)dump);
    if (rc < 0)
      die("pcap_dispatch", pcap_geterr(handle));
    if (rc > 0) {
      got += rc;
      last = now();
    } else {
      usleep(10000);
    }
  }
  pcap_dump_close(dump);
  if (pcap_stats(handle, &ps) < 0)
    die("pcap_stats", pcap_geterr(handle));
  printf("stats recv=%u drop=%u\n", ps.ps_recv, ps.ps_drop);
  fflush(stdout);
  pcap_close(handle);
  return 0;
}
