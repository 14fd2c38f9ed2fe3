/*
 * filter_state.c - a ring's filter state on a real ring: where a BPF program
 * runs, the packets queued before a filter, and that every bad input and
 * every failing change leaves the ring's filter exactly as it was.
 *
 *   filter_state IFNAME NETNS_PATH PEER_IFNAME
 *
 * Run as root in the namespace of IFNAME, one end of a veth pair whose other
 * end PEER_IFNAME is in the namespace NETNS_PATH (/run/netns/NAME): the
 * program sends its own frames from the peer (a packet socket opened in that
 * namespace), so they reach IFNAME as received frames, VLAN tags moved into
 * the packet's metadata by the kernel.  Frames are broadcast, of EtherType
 * TYPE_A or TYPE_B, and carry a serial number; each check compares the exact
 * serials received.  Built from the library's sources.  Prints one line per failed check and "N passed, N failed";
 * exits 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

#include "pfring.h"

#define TYPE_A 0x88B5
#define TYPE_B 0x88B6
#define SNAP 1536
#define MAX_GOT 256

static int passed, failed;
static const char *ifname;
static u_int64_t a_delivered;       /* TYPE_A frames expect_only_a saw arrive */
static int peer_fd = -1;
static u_int32_t next_serial = 1;

#define CHECK(cond, ...) do {                                              \
    if (cond) { passed++; } else {                                         \
      failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__);                \
      printf(__VA_ARGS__); printf("\n"); }                                 \
  } while (0)

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */
/* Traffic                                                                   */

/* A packet socket on the peer, opened inside the peer's namespace. */
static void open_peer(const char *netns_path, const char *peer)
{
  struct sockaddr_ll sll;
  int own = open("/proc/self/ns/net", O_RDONLY), other = open(netns_path, O_RDONLY);

  if (own < 0 || other < 0 || setns(other, CLONE_NEWNET) < 0) {
    printf("FAIL cannot enter %s: %s\n", netns_path, strerror(errno));
    exit(1);
  }
  peer_fd = socket(AF_PACKET, SOCK_RAW, 0);
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(peer);
  if (peer_fd < 0 || sll.sll_ifindex == 0 ||
      bind(peer_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
    printf("FAIL cannot open a packet socket on %s: %s\n", peer, strerror(errno));
    exit(1);
  }
  if (setns(own, CLONE_NEWNET) < 0) {
    printf("FAIL cannot come back to the own namespace: %s\n", strerror(errno));
    exit(1);
  }
  close(own);
  close(other);
}

/* The serials (and types) of frames sent, in order. */
struct sent {
  u_int32_t serial[MAX_GOT];
  u_int16_t type[MAX_GOT];
  int n;
};

/* One frame of type, with an 802.1Q tag if vlan > 0, logged in log. */
static void send_one(u_int16_t type, int vlan, struct sent *log)
{
  u_char f[64];
  u_int32_t serial = next_serial++;
  size_t off = 12;

  memset(f, 0, sizeof(f));
  memset(f, 0xff, 6);                               /* broadcast */
  f[6] = 0x02; f[11] = 0x01;                        /* a local source address */
  if (vlan > 0) {
    f[12] = 0x81; f[13] = 0x00;
    f[14] = (u_char)(vlan >> 8); f[15] = (u_char)vlan;
    off = 16;
  }
  f[off] = (u_char)(type >> 8); f[off + 1] = (u_char)type;
  serial = htonl(serial);
  memcpy(f + off + 2, &serial, 4);
  if (send(peer_fd, f, 60, 0) != 60) {
    printf("FAIL send: %s\n", strerror(errno));
    exit(1);
  }
  if (log && log->n < MAX_GOT) {
    log->serial[log->n] = next_serial - 1;
    log->type[log->n++] = type;
  }
}

/* n frames of TYPE_A and n of TYPE_B, interleaved; the TYPE_A ones are
 * logged in a (if given), the TYPE_B ones in b. */
static void send_mixed(int n, int vlan, struct sent *a, struct sent *b)
{
  int i;

  for (i = 0; i < n; i++) {
    send_one(TYPE_A, vlan, a);
    send_one(TYPE_B, vlan, b);
  }
  sleep_ms(100);                 /* delivered to the other end's rings */
}

/* The serial numbers received until the ring stays empty for 300 ms. */
static int drain(pfring *r, u_int32_t *got, int max)
{
  struct pfring_pkthdr hdr;
  u_char *pkt;
  int n = 0, rc, idle = 0;

  while (idle < 30) {
    rc = pfring_recv(r, &pkt, 0, &hdr, 0);
    if (rc < 0) {
      printf("FAIL pfring_recv: %s\n", pfring_last_error(r));
      return -1;
    }
    if (rc == 0) {
      idle++;
      sleep_ms(10);
      continue;
    }
    idle = 0;
    if (hdr.caplen >= 20 && n < max) {
      size_t off = (pkt[12] == 0x81 && pkt[13] == 0x00) ? 16 : 12;
      u_int16_t type = (u_int16_t)(pkt[off] << 8 | pkt[off + 1]);
      u_int32_t s;
      memcpy(&s, pkt + off + 2, 4);
      got[n++] = type == TYPE_A || type == TYPE_B ? ntohl(s) : 0;   /* 0: not ours */
    }
  }
  return n;
}

static int same(const u_int32_t *got, int n, const struct sent *want)
{
  int i;

  if (n != want->n)
    return 0;
  for (i = 0; i < n; i++)
    if (got[i] != want->serial[i])
      return 0;
  return 1;
}

/* Sends TYPE_A and TYPE_B frames; only the TYPE_A ones must arrive. */
static void expect_only_a(pfring *r, const char *what)
{
  struct sent a = { .n = 0 };
  u_int32_t got[MAX_GOT];
  int n;

  send_mixed(3, 0, &a, NULL);
  n = drain(r, got, MAX_GOT);
  CHECK(same(got, n, &a), "%s: %d packets, not the %d TYPE_A frames", what, n, a.n);
  if (n > 0)
    a_delivered += (u_int64_t)n;
}

/* ------------------------------------------------------------------------ */
/* Programs                                                                  */

/* pad instructions `ld #0`, then: accept EtherType type, drop the rest. */
static struct sock_filter *ether_prog(u_int16_t type, u_int pad, u_int *len)
{
  struct sock_filter *p = calloc(pad + 4, sizeof(*p));
  u_int i;

  for (i = 0; i < pad; i++)
    p[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
  p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12);
  p[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, type, 0, 1);
  p[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x40000);
  p[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
  *len = i;
  return p;
}

static pfring *open_ring(u_int32_t flags, packet_direction dir)
{
  pfring *r = pfring_open(ifname, SNAP, flags);

  if (!r) {
    printf("FAIL cannot open %s: %s\n", ifname, pfring_last_open_error());
    exit(1);
  }
  a_delivered = 0;
  if (pfring_set_direction(r, dir) != 0) {
    printf("FAIL set_direction: %s\n", pfring_last_error(r));
    exit(1);
  }
  return r;
}

static void enable(pfring *r)
{
  if (pfring_enable_ring(r) != 0) {
    printf("FAIL cannot enable %s: %s\n", ifname, pfring_last_error(r));
    exit(1);
  }
}

static void info_is(pfring *r, int where, u_int32_t len, int queued, u_int64_t rejected,
                    const char *what)
{
  struct pfring_bpf_info info;
  int rc = pfring_get_bpf_info(r, &info);

  CHECK(rc == 0 && info.where == where && info.len == len &&
        info.checking_queued == queued && info.rejected == rejected,
        "%s: rc %d, where %d len %u queued %d rejected %llu; expected %d %u %d %llu", what,
        rc, info.where, info.len, info.checking_queued, (unsigned long long)info.rejected,
        where, len, queued, (unsigned long long)rejected);
}

static void recv_count_is(pfring *r, u_int64_t n, const char *what)
{
  pfring_stat st;
  int rc = pfring_stats(r, &st);

  CHECK(rc == 0 && st.recv == n, "%s: pfring_stats rc %d recv %llu, expected %llu", what, rc,
        (unsigned long long)st.recv, (unsigned long long)n);
}

/* ------------------------------------------------------------------------ */
/* Bad input: a clear error, and the ring keeps its filter                   */

#define FAILS_WITH(call, code, text) do {                                  \
    errno = 0;                                                             \
    int rc_ = (call);                                                      \
    int err_ = errno;                                                      \
    CHECK(rc_ == (code) && err_ == pfring_error_errno(code) &&             \
          (!(text)[0] || strstr(pfring_last_error(r), (text)) != NULL),   \
          "%s: rc %d errno %d '%s', expected %d and '%s'", #call, rc_,     \
          err_, pfring_last_error(r), (code), (text));                     \
    info_is(r, PFRING_BPF_KERNEL, len, 0, 0, #call);                       \
    expect_only_a(r, #call);                                               \
  } while (0)

static void bad_input(void)
{
  struct sock_filter bad_jump[2] = {
    BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),            /* past the end */
    BPF_STMT(BPF_RET | BPF_K, 0x40000),
  };
  struct pfring_bpf_info info;
  struct sock_filter *prog;
  pfring *r = open_ring(0, rx_only_direction);
  u_int len;
  int rc;

  prog = ether_prog(TYPE_A, 0, &len);
  rc = pfring_set_bpf_program_ex(r, prog, len, NULL, PFRING_BPF_LIBPCAP);
  CHECK(rc == 0, "a TYPE_A program: %d %s", rc, pfring_last_error(r));
  enable(r);
  info_is(r, PFRING_BPF_KERNEL, len, 1, 0, "the first program");
  expect_only_a(r, "the first program");

  errno = 0;
  CHECK(pfring_set_bpf_program_ex(NULL, prog, len, NULL, 0) == PF_RING_ERROR_INVALID_ARGUMENT &&
        errno == EINVAL, "a NULL ring");
  CHECK(pfring_get_bpf_info(NULL, &info) == PF_RING_ERROR_INVALID_ARGUMENT, "info, NULL ring");
  FAILS_WITH(pfring_set_bpf_program_ex(r, prog, len, NULL, 0x80),
             PF_RING_ERROR_INVALID_ARGUMENT, "unknown BPF flags 0x80");
  FAILS_WITH(pfring_set_bpf_program_ex(r, NULL, 4, NULL, PFRING_BPF_LIBPCAP),
             PF_RING_ERROR_INVALID_ARGUMENT, "program is NULL");
  FAILS_WITH(pfring_set_bpf_program_ex(r, prog, BPF_MAXINSNS + 1, NULL,
                                       PFRING_BPF_FILTER_QUEUED),
             PF_RING_ERROR_INVALID_ARGUMENT, "the kernel takes at most 4096");
  FAILS_WITH(pfring_set_bpf_program_ex(r, prog, 0x10000, NULL, PFRING_BPF_LIBPCAP),
             PF_RING_ERROR_INVALID_ARGUMENT, "at most 65535 run in user space");
  FAILS_WITH(pfring_set_bpf_program(r, bad_jump, 2), PF_RING_ERROR_INVALID_ARGUMENT,
             "cannot attach the kernel filter");
  FAILS_WITH(pfring_set_bpf_program_ex(r, bad_jump, 2, NULL, PFRING_BPF_LIBPCAP),
             PF_RING_ERROR_INVALID_ARGUMENT, "bpf_validate");
  FAILS_WITH(pfring_set_bpf_program_ex(r, bad_jump, 2, "vlan", 0),
             PF_RING_ERROR_INVALID_ARGUMENT, "bpf_validate");
  FAILS_WITH(pfring_set_bpf_filter(r, NULL), PF_RING_ERROR_INVALID_ARGUMENT, "filter is NULL");
  FAILS_WITH(pfring_set_bpf_filter(r, "ether proto"), PF_RING_ERROR_INVALID_ARGUMENT,
             "bad BPF filter 'ether proto'");
  FAILS_WITH(pfring_set_direction(r, (packet_direction)7), PF_RING_ERROR_INVALID_ARGUMENT,
             "bad direction 7");
  FAILS_WITH(pfring_set_vlan_id(r, 5000), PF_RING_ERROR_INVALID_ARGUMENT,
             "VLAN id 5000 is out of range");
  FAILS_WITH(pfring_set_channel_mask(r, 0), PF_RING_ERROR_INVALID_ARGUMENT,
             "channel mask must not be empty");
  FAILS_WITH(pfring_get_bpf_info(r, NULL), PF_RING_ERROR_INVALID_ARGUMENT, "info is NULL");
  recv_count_is(r, a_delivered, "after the bad inputs");
  CHECK(a_delivered == 3 * 14, "%llu TYPE_A frames arrived", (unsigned long long)a_delivered);
  free(prog);
  pfring_close(r);
}

/* ------------------------------------------------------------------------ */
/* A change the kernel cannot take: the ring stays exactly as it was         */

static void rollback(void)
{
  struct sock_filter *fits, *too_long;
  u_int fits_len, long_len;
  int rc;
  /* RX+TX on one device puts 7 instructions before the user's program (the
   * loopback check, then ld #0; ldx #0): 4089 fit, 4090 do not.  A VLAN id
   * adds 12, TX only 1. */
  pfring *r = open_ring(0, rx_and_tx_direction);
  fits = ether_prog(TYPE_A, BPF_MAXINSNS - 7 - 4, &fits_len);
  too_long = ether_prog(TYPE_A, BPF_MAXINSNS - 7 - 3, &long_len);
  rc = pfring_set_bpf_program(r, fits, fits_len);
  CHECK(rc == 0, "a program of %u instructions: %d %s", fits_len, rc, pfring_last_error(r));
  enable(r);
  info_is(r, PFRING_BPF_KERNEL, fits_len, 0, 0, "the longest program");
  expect_only_a(r, "the longest program");

  rc = pfring_set_vlan_id(r, 10);
  CHECK(rc == PF_RING_ERROR_INVALID_ARGUMENT && strstr(pfring_last_error(r), "too long"),
        "set_vlan_id on a full program: %d %s", rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_KERNEL, fits_len, 0, 0, "after set_vlan_id failed");
  expect_only_a(r, "after set_vlan_id failed (untagged frames still pass)");

  rc = pfring_set_direction(r, tx_only_direction);
  CHECK(rc == PF_RING_ERROR_INVALID_ARGUMENT && strstr(pfring_last_error(r), "too long"),
        "set_direction on a full program: %d %s", rc, pfring_last_error(r));
  expect_only_a(r, "after set_direction failed (received frames still pass)");

  rc = pfring_set_bpf_program(r, too_long, long_len);
  CHECK(rc == PF_RING_ERROR_INVALID_ARGUMENT && strstr(pfring_last_error(r), "too long"),
        "a program of %u instructions: %d %s", long_len, rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_KERNEL, fits_len, 0, 0, "after a program too long");
  expect_only_a(r, "after a program too long");
  recv_count_is(r, 3 * 4, "the kernel filtered");

  /* With PFRING_BPF_FALLBACK the program the kernel refuses runs in user
   * space: every frame reaches the ring, the TYPE_B ones are rejected there
   * and never counted as received. */
  rc = pfring_set_bpf_program_ex(r, too_long, long_len, NULL, PFRING_BPF_FALLBACK);
  CHECK(rc == 0, "the fallback: %d %s", rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_USERSPACE, long_len, 0, 0, "the fallback");
  expect_only_a(r, "the fallback");
  info_is(r, PFRING_BPF_USERSPACE, long_len, 0, 3, "the fallback rejected the TYPE_B frames");
  recv_count_is(r, 3 * 5, "the fallback");
  /* Over the kernel's BPF_MAXINSNS: straight to user space. */
  free(too_long);
  too_long = ether_prog(TYPE_A, BPF_MAXINSNS + 1 - 4, &long_len);
  rc = pfring_set_bpf_program_ex(r, too_long, long_len, NULL, PFRING_BPF_LIBPCAP);
  CHECK(rc == 0, "%u instructions: %d %s", long_len, rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_USERSPACE, BPF_MAXINSNS + 1, 0, 3, "over BPF_MAXINSNS");
  expect_only_a(r, "over BPF_MAXINSNS");
  info_is(r, PFRING_BPF_USERSPACE, BPF_MAXINSNS + 1, 0, 6, "over BPF_MAXINSNS rejected");
  recv_count_is(r, 3 * 6, "over BPF_MAXINSNS");

  rc = pfring_remove_bpf_filter(r);
  CHECK(rc == 0, "remove: %d", rc);
  info_is(r, PFRING_BPF_NONE, 0, 0, 6, "removed");
  {
    struct sent all = { .n = 0 };
    u_int32_t got[MAX_GOT];
    int n;
    send_mixed(2, 0, &all, &all);
    n = drain(r, got, MAX_GOT);
    CHECK(n == 4, "no filter: %d packets, expected 4", n);
  }
  free(fits);
  free(too_long);
  pfring_close(r);
}

/* ------------------------------------------------------------------------ */
/* Where a program runs: one decision in libpfring                           */

static void where(void)
{
  struct sock_filter *prog;
  struct sent v10 = { .n = 0 };
  u_int32_t got[MAX_GOT];
  u_int len;
  int n;
  pfring *r = open_ring(0, rx_only_direction);
  pfring *u = open_ring(PF_RING_USERSPACE_BPF, rx_only_direction);
  struct pfring_bpf_info info;

  prog = ether_prog(TYPE_A, 0, &len);
  CHECK(pfring_set_bpf_program_ex(r, prog, len, NULL, 0) == 0, "no expression");
  info_is(r, PFRING_BPF_KERNEL, len, 0, 0, "no expression: kernel");
  CHECK(pfring_set_bpf_program_ex(r, prog, len, "vlan 10", 0) == 0, "vlan 10");
  info_is(r, PFRING_BPF_USERSPACE, len, 0, 0, "an expression about VLAN tags: user space");
  CHECK(pfring_set_bpf_program_ex(r, prog, len, "ether proto 0x88b5", PFRING_BPF_LIBPCAP) == 0,
        "ether proto");
  info_is(r, PFRING_BPF_KERNEL, len, 1, 0, "any other expression: kernel");
  CHECK(pfring_set_bpf_program(r, NULL, 0) == 0, "count 0");
  info_is(r, PFRING_BPF_NONE, 0, 0, 0, "count 0 removes the program");
  CHECK(pfring_set_bpf_program(r, NULL, 0) == 0, "count 0 without a program");
  CHECK(pfring_remove_bpf_filter(r) == 0, "remove without a program");

  CHECK(pfring_set_bpf_program_ex(u, prog, len, NULL, PFRING_BPF_LIBPCAP) == 0,
        "PF_RING_USERSPACE_BPF");
  info_is(u, PFRING_BPF_USERSPACE, len, 0, 0, "PF_RING_USERSPACE_BPF: user space");
  CHECK(pfring_set_bpf_filter(u, "udp") == 0 && pfring_get_bpf_info(u, &info) == 0 &&
        info.where == PFRING_BPF_USERSPACE && info.len > 0,
        "PF_RING_USERSPACE_BPF, udp: user space");
  CHECK(pfring_set_bpf_filter(r, "udp") == 0 && pfring_get_bpf_info(r, &info) == 0 &&
        info.where == PFRING_BPF_KERNEL && info.len > 0, "udp: kernel");

  /* The tag is in the metadata for the kernel, back in the frame for the
   * user-space program. */
  CHECK(pfring_set_bpf_filter(r, "vlan 10") == 0, "set_bpf_filter vlan 10: %s",
        pfring_last_error(r));
  enable(r);
  CHECK(pfring_get_bpf_info(r, &info) == 0 && info.where == PFRING_BPF_USERSPACE &&
        info.len > 0, "vlan 10 runs in user space");
  send_mixed(2, 10, &v10, &v10);
  send_mixed(2, 20, NULL, NULL);
  send_mixed(2, 0, NULL, NULL);
  n = drain(r, got, MAX_GOT);
  CHECK(same(got, n, &v10), "vlan 10: %d packets, expected the %d of VLAN 10", n, v10.n);
  recv_count_is(r, 4, "vlan 10");
  CHECK(pfring_get_bpf_info(r, &info) == 0 && info.rejected == 8,
        "vlan 10 rejected %llu, expected 8", (unsigned long long)info.rejected);
  free(prog);
  pfring_close(r);
  pfring_close(u);
}

/* ------------------------------------------------------------------------ */
/* Packets queued before the filter                                          */

static void queued(void)
{
  struct sock_filter *prog;
  struct sent a = { .n = 0 }, all = { .n = 0 };
  u_int32_t got[MAX_GOT];
  u_int len;
  int n, rc;
  pfring *r = open_ring(0, rx_only_direction);

  /* PFRING_BPF_FILTER_QUEUED: the TYPE_B frames queued under no filter are
   * rejected in user space, the rest by the kernel. */
  prog = ether_prog(TYPE_A, 0, &len);
  enable(r);
  send_mixed(4, 0, &a, NULL);
  rc = pfring_set_bpf_program_ex(r, prog, len, NULL, PFRING_BPF_FILTER_QUEUED);
  CHECK(rc == 0, "FILTER_QUEUED: %d %s", rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_KERNEL, len, 1, 0, "checking the queued packets");
  send_mixed(4, 0, &a, NULL);
  n = drain(r, got, MAX_GOT);
  CHECK(same(got, n, &a), "FILTER_QUEUED: %d packets, expected the %d TYPE_A frames", n, a.n);
  info_is(r, PFRING_BPF_KERNEL, len, 0, 4, "the queued TYPE_B frames were rejected");
  recv_count_is(r, 8, "FILTER_QUEUED");
  pfring_close(r);

  /* Without it (PF_RING's pfring_set_bpf_program): what was queued stays. */
  r = open_ring(0, rx_only_direction);
  enable(r);
  send_mixed(4, 0, &all, &all);
  rc = pfring_set_bpf_program(r, prog, len);
  CHECK(rc == 0, "set_bpf_program: %d %s", rc, pfring_last_error(r));
  info_is(r, PFRING_BPF_KERNEL, len, 0, 0, "queued packets are not checked");
  send_mixed(4, 0, &all, NULL);
  n = drain(r, got, MAX_GOT);
  /* all logged the first 8 frames in send order, then the 4 TYPE_A ones */
  CHECK(same(got, n, &all), "no FILTER_QUEUED: %d packets, expected %d", n, all.n);
  recv_count_is(r, 12, "no FILTER_QUEUED");
  free(prog);
  pfring_close(r);
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFNAME NETNS_PATH PEER_IFNAME\n", argv[0]);
    return 2;
  }
  ifname = argv[1];
  open_peer(argv[2], argv[3]);
  bad_input();
  rollback();
  where();
  queued();
  close(peer_fd);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
