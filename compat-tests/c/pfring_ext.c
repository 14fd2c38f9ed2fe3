/*
 * pfring_ext.c - PF_RING's libpcap extensions, used as a PF_RING user would:
 * two handles on one device join one cluster with pcap_set_cluster (per
 * flow), get names and watermarks, and read for a while; each prints what
 * it received, one line per packet: "<handle> <ip src>-<ip dst> <len>".
 *
 *   pfring_ext DEV SECONDS
 *
 * Linked with -lpcap; the extensions are declared here, as PF_RING's pcap.h
 * would declare them.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pcap_set_cluster(pcap_t *p, u_int cluster_id);
int pcap_set_application_name(pcap_t *p, char *name);
int pcap_set_watermark(pcap_t *p, u_int watermark);
void *pcap_get_pfring_handle(pcap_t *p);
int pcap_get_pfring_id(pcap_t *p);

static void print_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *b)
{
  if (h->caplen >= 34 && b[12] == 0x08 && b[13] == 0x00)
    printf("%s %u.%u.%u.%u-%u.%u.%u.%u %u\n", (const char *)user, b[26], b[27], b[28], b[29],
           b[30], b[31], b[32], b[33], h->len);
}

int main(int argc, char **argv)
{
  char err[PCAP_ERRBUF_SIZE];
  char *names[2] = { "ext-0", "ext-1" };
  pcap_t *h[2];
  time_t end;
  int i;

  if (argc != 3) {
    fprintf(stderr, "usage: pfring_ext DEV SECONDS\n");
    return 2;
  }
  for (i = 0; i < 2; i++) {
    if (!(h[i] = pcap_open_live(argv[1], 256, 0, 50, err))) {
      fprintf(stderr, "open: %s\n", err);
      return 1;
    }
    printf("handle %d: ring %s, id %s\n", i, pcap_get_pfring_handle(h[i]) ? "yes" : "no",
           pcap_get_pfring_id(h[i]) > 0 ? "set" : "0");
    if (pcap_set_cluster(h[i], 9) < 0 || pcap_set_application_name(h[i], names[i]) < 0 ||
        pcap_set_watermark(h[i], 1) < 0) {
      printf("extension: %s\n", pcap_geterr(h[i]));
      return 3;
    }
    if (pcap_setnonblock(h[i], 1, err) < 0) {
      fprintf(stderr, "nonblock: %s\n", err);
      return 1;
    }
  }
  printf("ready\n");
  fflush(stdout);
  end = time(NULL) + atoi(argv[2]);
  while (time(NULL) < end) {
    int n = 0;
    for (i = 0; i < 2; i++)
      n += pcap_dispatch(h[i], -1, print_pkt, (u_char *)names[i]);
    if (n == 0) {
      struct timespec ts = { 0, 5 * 1000 * 1000 };
      nanosleep(&ts, NULL);
    }
  }
  for (i = 0; i < 2; i++)
    pcap_close(h[i]);
  return 0;
}
