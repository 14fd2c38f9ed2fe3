/*
 * ceiling.c - the kernel ceiling for the benchmarks: a minimal TPACKET_V3
 * reader that only counts, with the ring set up as the consumer it is
 * compared with (block size, block count, retire timeout).
 *
 * Usage: ceiling DEV COUNT TIMEOUT_S BLOCK_BYTES BLOCKS RETIRE_MS
 * Prints "ready" once the ring is bound, then "packets bytes drops" when
 * COUNT packets arrived, TIMEOUT_S passed or SIGINT came.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static unsigned long arg(const char *s, const char *name)
{
  char *end;
  unsigned long v = strtoul(s, &end, 10);

  if (!*s || *end || v == 0) {
    fprintf(stderr, "ceiling: %s must be a positive integer, not '%s'\n", name, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv)
{
  struct tpacket_req3 req;
  struct tpacket_stats_v3 st;
  socklen_t stlen = sizeof(st);
  struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
  unsigned long long want, pkts = 0, bytes = 0;
  unsigned block, nblocks, cur = 0;
  int fd, v = TPACKET_V3;
  time_t end;
  unsigned char *map;

  if (argc != 7) {
    fprintf(stderr, "usage: ceiling DEV COUNT TIMEOUT_S BLOCK_BYTES BLOCKS RETIRE_MS\n");
    return 2;
  }
  want = arg(argv[2], "COUNT");
  end = time(NULL) + (time_t)arg(argv[3], "TIMEOUT_S");
  block = (unsigned)arg(argv[4], "BLOCK_BYTES");
  nblocks = (unsigned)arg(argv[5], "BLOCKS");
  memset(&req, 0, sizeof(req));
  req.tp_block_size = block;
  req.tp_block_nr = nblocks;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = block / 2048 * nblocks;
  req.tp_retire_blk_tov = (unsigned)arg(argv[6], "RETIRE_MS");
  fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
    perror("ceiling");
    return 1;
  }
  /* populated at once, as libpfring maps its rings: no page fault while
   * reading */
  map = mmap(NULL, (size_t)block * nblocks, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
             fd, 0);
  sll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (map == MAP_FAILED || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
    perror("ceiling");
    return 1;
  }
  signal(SIGINT, on_signal);
  printf("ready\n");
  fflush(stdout);
  while (!stop && pkts < want && time(NULL) < end) {
    struct tpacket_block_desc *b = (struct tpacket_block_desc *)(map + (size_t)cur * block);
    struct tpacket3_hdr *h;
    unsigned i;
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      poll(&p, 1, 100);
      continue;
    }
    h = (struct tpacket3_hdr *)((unsigned char *)b + b->hdr.bh1.offset_to_first_pkt);
    for (i = 0; i < b->hdr.bh1.num_pkts; i++) {
      /* the headers ahead, as libpfring's reader fetches them: each one
       * is a cache miss otherwise */
      __builtin_prefetch((unsigned char *)h + 1024, 0, 3);
      __builtin_prefetch((unsigned char *)h + 1024 + 64, 0, 3);
      pkts++;
      bytes += h->tp_len;
      h = (struct tpacket3_hdr *)((unsigned char *)h + h->tp_next_offset);
    }
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % nblocks;
  }
  memset(&st, 0, sizeof(st));
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &stlen);
  printf("%llu %llu %u\n", pkts, bytes, st.tp_drops);
  return 0;
}
