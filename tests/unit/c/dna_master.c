/*
 * dna_master.c - a DNA Cluster master for the live tests
 * (tests/live/test_dna_cluster.py), on libpfring's master API.
 *
 *   dna_master DEV[,DEV...] CLUSTER_ID NUM_APPS MODE [active] [send|sendrecv] [txlen=N]
 *   dna_master --bad-input CLUSTER_ID
 *
 * MODE: hash    the default distribution
 *       fanout  apps 0..N-2 share the traffic by the default hash, app N-1
 *               gets every packet
 *       custom  IPv4 UDP to app (src[3] + dst[3]) % 2, everything else dropped
 *       frwd    direct forwarding (DNA_CLUSTER_DIRECT_FORWARDING): IPv4 UDP to an
 *               even port out of the second ring (DNA_CLUSTER_FRWD, mask 2), to
 *               an odd port out of every ring (mask 0x80000003: one bit of no
 *               ring), everything else to app 0
 * "active": active waiting; "send": send_only_mode, "sendrecv":
 * send_and_recv_mode (recv_only_mode otherwise); "txlen=N": TX queues of N
 * slots (dna_cluster_low_level_settings(4096, N, 0)).  One ring per DEV,
 * registered in order.  Prints "ready" once enabled.  Commands on
 * stdin, one a line: "stats" prints
 *   stats rx=R processed=P tx=T app0=DELIVERED/DROPPED app1=... tx0=SENT/DROPPED tx1=...
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

/* Apps 0..n-2 split by the default hash, app n-1 gets everything. */
static int fanout(const u_char *buf, const u_int16_t len, const pfring_dna_cluster_slaves_info *info,
                  u_int32_t *id_mask, u_int32_t *hash)
{
  pfring_dna_cluster_slaves_info fewer = *info;

  fewer.num_slaves = info->num_slaves - 1;
  dna_cluster_default_distribution(buf, len, &fewer, id_mask, hash);
  *id_mask |= 1u << (info->num_slaves - 1);
  return DNA_CLUSTER_PASS;
}

/* IPv4 UDP to app (src[3] + dst[3]) % 2, with that sum as the hash; the
 * rest dropped. */
static int custom(const u_char *pkt, const u_int16_t caplen,
                  const pfring_dna_cluster_slaves_info *info, u_int32_t *id_mask,
                  u_int32_t *hash)
{
  if (caplen < 34 || pkt[12] != 0x08 || pkt[13] != 0x00 || pkt[23] != 17)
    return DNA_CLUSTER_DROP;
  *hash = (u_int32_t)pkt[29] + pkt[33];
  *id_mask = 1u << (*hash % 2);
  return DNA_CLUSTER_PASS;
}

static int frwd(const u_char *pkt, const u_int16_t caplen,
                const pfring_dna_cluster_slaves_info *info, u_int32_t *id_mask, u_int32_t *hash)
{
  if (caplen < 42 || pkt[12] != 0x08 || pkt[13] != 0x00 || pkt[23] != 17) {
    *id_mask = 1;
    return DNA_CLUSTER_PASS;
  }
  *id_mask = pkt[37] % 2 == 0 ? 2u : 0x80000003u;   /* the UDP destination port's low byte */
  return DNA_CLUSTER_FRWD;
}

static void print_stats(pfring_dna_cluster *c, u_int32_t num_apps)
{
  pfring_dna_cluster_stat st = { 0, 0, 0 };
  u_int64_t d, x;
  u_int32_t a;

  dna_cluster_stats(c, &st);
  printf("stats rx=%llu processed=%llu tx=%llu", (unsigned long long)st.tot_rx_packets,
         (unsigned long long)st.tot_rx_processed, (unsigned long long)st.tot_tx_packets);
  for (a = 0; a < num_apps; a++) {
    dna_cluster_app_stats(c, a, &d, &x);
    printf(" app%u=%llu/%llu", a, (unsigned long long)d, (unsigned long long)x);
  }
  for (a = 0; a < num_apps; a++) {
    dna_cluster_app_tx_stats(c, a, &d, &x);
    printf(" tx%u=%llu/%llu", a, (unsigned long long)d, (unsigned long long)x);
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
  if (!dna_cluster_create(id, 2, 1u << 5))
    printf("create flags 0x20: %s\n", dna_cluster_last_error());
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
  TRY(dna_cluster_low_level_settings(c, 4096, 100, 0));
  TRY(dna_cluster_low_level_settings(c, 4096, 32, 0));
  TRY(dna_cluster_set_mode(c, send_only_mode));
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
  TRY(dna_cluster_app_tx_stats(c, 2, NULL, NULL));
  TRY(dna_cluster_app_tx_stats(NULL, 0, NULL, NULL));
  TRY(dna_cluster_stats(NULL, NULL));
  TRY(dna_cluster_stats(c, NULL));
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
  u_int32_t id, num_apps, txlen = 0;
  socket_mode smode = recv_only_mode;
  int active = 0, i;
  const char *mode;
  char line[64], devs[256], *dev, *save = NULL;
  time_t deadline = time(NULL) + 60;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "--bad-input") == 0)
    return bad_input((u_int32_t)strtoul(argv[2], NULL, 10));
  if (argc < 5) {
    fprintf(stderr, "usage: dna_master DEV[,DEV...] CLUSTER_ID NUM_APPS hash|fanout|custom "
            "[active] [send|sendrecv] [txlen=N]\n");
    return 2;
  }
  for (i = 5; i < argc; i++) {
    if (strcmp(argv[i], "active") == 0)
      active = 1;
    else if (strcmp(argv[i], "send") == 0)
      smode = send_only_mode;
    else if (strcmp(argv[i], "sendrecv") == 0)
      smode = send_and_recv_mode;
    else if (strncmp(argv[i], "txlen=", 6) == 0)
      txlen = (u_int32_t)strtoul(argv[i] + 6, NULL, 10);
    else {
      fprintf(stderr, "dna_master: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  id = (u_int32_t)strtoul(argv[2], NULL, 10);
  num_apps = (u_int32_t)strtoul(argv[3], NULL, 10);
  mode = argv[4];
  c = dna_cluster_create(id, num_apps,
                         strcmp(mode, "frwd") == 0 ? DNA_CLUSTER_DIRECT_FORWARDING : 0);
  if (!c) {
    printf("error: %s\n", dna_cluster_last_error());
    return 1;
  }
  snprintf(devs, sizeof(devs), "%s", argv[1]);
  for (dev = strtok_r(devs, ",", &save); dev; dev = strtok_r(NULL, ",", &save)) {
    ring = pfring_open(dev, 2048, PF_RING_PROMISC);
    if (!ring) {
      printf("error: %s\n", pfring_last_open_error());
      dna_cluster_destroy(c);
      return 1;
    }
    if ((rc = dna_cluster_register_ring(c, ring)) < 0) {
      printf("error: %s\n", dna_cluster_last_error());
      pfring_close(ring);
      dna_cluster_destroy(c);
      return 1;
    }
  }
  if ((rc = dna_cluster_set_mode(c, smode)) < 0 ||
      (txlen && (rc = dna_cluster_low_level_settings(c, 4096, txlen, 0)) < 0) ||
      (rc = dna_cluster_set_wait_mode(c, (u_int32_t)active)) < 0 ||
      (strcmp(mode, "fanout") == 0 &&
       (rc = dna_cluster_set_distribution_function(c, fanout)) < 0) ||
      (strcmp(mode, "custom") == 0 &&
       (rc = dna_cluster_set_distribution_function(c, custom)) < 0) ||
      (strcmp(mode, "frwd") == 0 &&
       (rc = dna_cluster_set_distribution_function(c, frwd)) < 0) ||
      (rc = dna_cluster_enable(c)) < 0) {
    printf("error: %s\n", dna_cluster_last_error());
    dna_cluster_destroy(c);               /* closes the ring */
    return 1;
  }
  printf("ready\n");
  for (;;) {
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    if (time(NULL) > deadline) {
      fprintf(stderr, "dna_master: lifetime over\n");
      dna_cluster_destroy(c);
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
  dna_cluster_destroy(c);               /* and the ring with it, as PF_RING's does */
  printf("done\n");
  return 0;
}
