/*
 * dna_master.c - a DNA Cluster master for the live tests
 * (tests/live/test_dna_cluster.py), on libpfring's master API.
 *
 *   dna_master DEV CLUSTER_ID NUM_APPS MODE [active]
 *   dna_master --bad-input CLUSTER_ID
 *
 * MODE: hash    the default distribution
 *       fanout  apps 0..N-2 share the traffic by the default hash, app N-1
 *               gets every packet
 *       custom  IPv4 UDP to app (src[3] + dst[3]) % 2, everything else dropped
 * "active": active waiting.  Prints "ready" once enabled.  Commands on
 * stdin, one a line: "stats" prints
 *   stats rx=R processed=P app0=DELIVERED/DROPPED app1=...
 * and "quit" (or the end of stdin) destroys the cluster, prints the stats
 * line and "done", exit 0.  Failures print "error: <message>", exit 1.
 * Whatever happens the program exits (status 3) after 60 s.
 *
 * --bad-input tries every bad argument of the master API and prints one
 * line "<call>: <rc> <message>" for each, then "done".
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfring.h"

static u_int32_t fanout(const u_char *pkt, u_int32_t caplen, u_int32_t len, u_int32_t num_apps,
                        void *user)
{
  return dna_cluster_default_distribution(pkt, caplen, len, num_apps - 1, NULL) |
         (1u << (num_apps - 1));
}

static u_int32_t custom(const u_char *pkt, u_int32_t caplen, u_int32_t len, u_int32_t num_apps,
                        void *user)
{
  if (caplen < 34 || pkt[12] != 0x08 || pkt[13] != 0x00 || pkt[23] != 17)
    return DNA_CLUSTER_DROP;
  return 1u << ((pkt[29] + pkt[33]) % 2);
}

static void print_stats(pfring_dna_cluster *c, u_int32_t num_apps)
{
  u_int64_t rx = 0, processed = 0, d, x;
  u_int32_t a;

  dna_cluster_stats(c, &rx, NULL, &processed, NULL);
  printf("stats rx=%llu processed=%llu", (unsigned long long)rx, (unsigned long long)processed);
  for (a = 0; a < num_apps; a++) {
    dna_cluster_app_stats(c, a, &d, &x);
    printf(" app%u=%llu/%llu", a, (unsigned long long)d, (unsigned long long)x);
  }
  printf("\n");
  fflush(stdout);
}

#define TRY(call) do {                                                         \
    int rc_ = (call);                                                         \
    printf("%s: %d %s\n", #call, rc_, rc_ < 0 ? dna_cluster_last_error() : ""); \
  } while (0)

static int bad_input(u_int32_t id)
{
  pfring_dna_cluster *c;
  char path[64];

  if (!dna_cluster_create(0, 2, 0))
    printf("create id 0: %s\n", dna_cluster_last_error());
  if (!dna_cluster_create(DNA_CLUSTER_MAX_ID + 1, 2, 0))
    printf("create id max+1: %s\n", dna_cluster_last_error());
  if (!dna_cluster_create(id, 0, 0))
    printf("create apps 0: %s\n", dna_cluster_last_error());
  if (!dna_cluster_create(id, DNA_CLUSTER_MAX_APPS + 1, 0))
    printf("create apps max+1: %s\n", dna_cluster_last_error());
  if (!dna_cluster_create(id, 2, 1))
    printf("create flags 1: %s\n", dna_cluster_last_error());
  c = dna_cluster_create(id, 2, 0);
  if (!c) {
    printf("error: %s\n", dna_cluster_last_error());
    return 1;
  }
  if (!dna_cluster_create(id, 2, 0))
    printf("create twice: %s\n", dna_cluster_last_error());
  TRY(dna_cluster_register_ring(NULL, NULL));
  TRY(dna_cluster_register_ring(c, NULL));
  TRY(dna_cluster_set_mode(c, send_and_recv_mode));
  TRY(dna_cluster_set_mode(c, (socket_mode)77));
  TRY(dna_cluster_set_mode(c, recv_only_mode));
  TRY(dna_cluster_set_wait_mode(c, 2));
  {
    static const u_int32_t zero[] = { 1, 0 }, three[] = { 1, 2 }, one[] = { 1 }, ok[] = { 1, 1 };
    TRY(dna_cluster_set_app_groups(c, NULL, 0));
    TRY(dna_cluster_set_app_groups(c, zero, 2));
    TRY(dna_cluster_set_app_groups(c, three, 2));
    TRY(dna_cluster_set_app_groups(c, one, 1));
    TRY(dna_cluster_set_app_groups(c, ok, 2));
  }
  TRY(dna_cluster_enable(c));
  TRY(dna_cluster_app_stats(c, 2, NULL, NULL));
  TRY(dna_cluster_stats(NULL, NULL, NULL, NULL, NULL));
  dna_cluster_destroy(c);
  snprintf(path, sizeof(path), "/dev/shm/pfring-dnacluster-%u", id);
  printf("memory left after destroy: %s\n", access(path, F_OK) == 0 ? "yes" : "no");
  printf("done\n");
  return 0;
}

int main(int argc, char **argv)
{
  pfring_dna_cluster *c;
  pfring *ring;
  u_int32_t id, num_apps;
  const char *mode;
  char line[64];
  time_t deadline = time(NULL) + 60;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "--bad-input") == 0)
    return bad_input((u_int32_t)strtoul(argv[2], NULL, 10));
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: dna_master DEV CLUSTER_ID NUM_APPS hash|fanout|custom [active]\n");
    return 2;
  }
  id = (u_int32_t)strtoul(argv[2], NULL, 10);
  num_apps = (u_int32_t)strtoul(argv[3], NULL, 10);
  mode = argv[4];
  c = dna_cluster_create(id, num_apps, 0);
  if (!c) {
    printf("error: %s\n", dna_cluster_last_error());
    return 1;
  }
  ring = pfring_open(argv[1], 2048, PF_RING_PROMISC);
  if (!ring) {
    printf("error: %s\n", pfring_last_open_error());
    dna_cluster_destroy(c);
    return 1;
  }
  if ((rc = dna_cluster_register_ring(c, ring)) < 0 ||
      (rc = dna_cluster_set_mode(c, recv_only_mode)) < 0 ||
      (rc = dna_cluster_set_wait_mode(c, argc == 6 && strcmp(argv[5], "active") == 0)) < 0 ||
      (strcmp(mode, "fanout") == 0 &&
       (rc = dna_cluster_set_distribution_function(c, fanout, NULL)) < 0) ||
      (strcmp(mode, "custom") == 0 &&
       (rc = dna_cluster_set_distribution_function(c, custom, NULL)) < 0) ||
      (rc = dna_cluster_enable(c)) < 0) {
    printf("error: %s\n", dna_cluster_last_error());
    dna_cluster_destroy(c);
    pfring_close(ring);
    return 1;
  }
  printf("ready\n");
  for (;;) {
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    if (time(NULL) > deadline) {
      fprintf(stderr, "dna_master: lifetime over\n");
      dna_cluster_destroy(c);
      pfring_close(ring);
      return 3;
    }
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    if (!fgets(line, sizeof(line), stdin) || strncmp(line, "quit", 4) == 0)
      break;
    if (strncmp(line, "stats", 5) == 0)
      print_stats(c, num_apps);
  }
  dna_cluster_disable(c);
  print_stats(c, num_apps);
  dna_cluster_destroy(c);
  pfring_close(ring);
  printf("done\n");
  return 0;
}
