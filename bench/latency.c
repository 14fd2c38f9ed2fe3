/*
 * latency.c - the delivery delay of a libpcap capture in immediate mode, for
 * bench/run.py's latency part.  Linked with -lpcap, so that one binary runs
 * on the system libpcap and, through LD_LIBRARY_PATH, on libpcap-pfring.
 *
 *   latency DEV COUNT TIMEOUT_S
 *
 * Captures the bench's probe frames (EtherType 0x88b5) with
 * pcap_set_immediate_mode(1) and nanosecond time stamps, prints "ready" once
 * activated, and for each frame takes CLOCK_REALTIME as pcap_next_ex
 * returns it: the delay is that minus the kernel's time stamp of the frame.
 * It stops after COUNT frames or TIMEOUT_S seconds (SIGALRM breaks the
 * loop), then prints the delays in nanoseconds on one line.
 */
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pcap_t *handle;

static void on_alarm(int sig)
{
  (void)sig;
  pcap_breakloop(handle);
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE];
  struct bpf_program prog;
  struct pcap_pkthdr *h;
  const u_char *data;
  long long *delays;
  long count, n = 0, i;
  int rc;

  if (argc != 4 || (count = atol(argv[2])) <= 0 || count > 1000000 || atoi(argv[3]) <= 0) {
    fprintf(stderr, "usage: latency DEV COUNT(1..1000000) TIMEOUT_S\n");
    return 2;
  }
  if (!(delays = calloc((size_t)count, sizeof(*delays))))
    return 1;
  if (!(handle = pcap_create(argv[1], errbuf))) {
    fprintf(stderr, "latency: %s\n", errbuf);
    return 1;
  }
  pcap_set_snaplen(handle, 128);
  pcap_set_immediate_mode(handle, 1);
  pcap_set_timeout(handle, 1000);
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO);
  if (pcap_activate(handle) < 0 ||
      pcap_compile(handle, &prog, "ether proto 0x88b5", 1, PCAP_NETMASK_UNKNOWN) < 0 ||
      pcap_setfilter(handle, &prog) < 0) {
    fprintf(stderr, "latency: %s\n", pcap_geterr(handle));
    return 1;
  }
  pcap_freecode(&prog);
  signal(SIGALRM, on_alarm);
  alarm((unsigned)atoi(argv[3]));
  printf("ready\n");
  fflush(stdout);
  while (n < count && (rc = pcap_next_ex(handle, &h, &data)) >= 0) {
    struct timespec now;
    if (rc == 0)
      continue;                  /* the pcap timeout, nothing came */
    clock_gettime(CLOCK_REALTIME, &now);
    delays[n++] = (now.tv_sec - (long long)h->ts.tv_sec) * 1000000000LL +
                  (now.tv_nsec - (long long)h->ts.tv_usec);   /* nanoseconds here */
  }
  for (i = 0; i < n; i++)
    printf("%s%lld", i ? " " : "", delays[i]);
  printf("\n");
  pcap_close(handle);
  free(delays);
  return 0;
}
