/*
 * ceiling.c - the kernel ceiling for the benchmarks: a minimal TPACKET_V3
 * reader that only counts.  Usage: ceiling DEV COUNT TIMEOUT_S
 * Prints "packets bytes" when COUNT packets arrived, TIMEOUT_S passed or
 * SIGINT came.
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

#define BLOCK (1u << 20)

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }
#define NBLOCKS 16

int main(int argc, char **argv)
{
  struct tpacket_req3 req = { BLOCK, NBLOCKS, 2048, BLOCK / 2048 * NBLOCKS, 1, 0, 0 };
  struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
  unsigned long long want, pkts = 0, bytes = 0;
  int fd, v = TPACKET_V3, cur = 0;
  time_t end;
  unsigned char *map;

  if (argc != 4)
    return 2;
  want = strtoull(argv[2], NULL, 10);
  end = time(NULL) + atoi(argv[3]);
  fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
    perror("ceiling");
    return 1;
  }
  map = mmap(NULL, (size_t)BLOCK * NBLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  sll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (map == MAP_FAILED || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
    perror("ceiling");
    return 1;
  }
  signal(SIGINT, on_signal);
  printf("ready\n");
  fflush(stdout);
  while (!stop && pkts < want && time(NULL) < end) {
    struct tpacket_block_desc *b = (struct tpacket_block_desc *)(map + (size_t)cur * BLOCK);
    struct tpacket3_hdr *h;
    unsigned i;
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      poll(&p, 1, 100);
      continue;
    }
    h = (struct tpacket3_hdr *)((unsigned char *)b + b->hdr.bh1.offset_to_first_pkt);
    for (i = 0; i < b->hdr.bh1.num_pkts; i++) {
      pkts++;
      bytes += h->tp_len;
      h = (struct tpacket3_hdr *)((unsigned char *)h + h->tp_next_offset);
    }
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % NBLOCKS;
  }
  printf("%llu %llu\n", pkts, bytes);
  return 0;
}
