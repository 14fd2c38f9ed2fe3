/*
 * af_packet.c - the standard backend: one AF_PACKET socket with a TPACKET_V3
 * mmap'd RX ring per handle.
 *
 * Life of a handle
 *   activate  socket(AF_PACKET, SOCK_RAW, protocol 0): a protocol-0 socket
 *             has no packet hook, so nothing is queued yet.  The ring is
 *             created and mapped, the socket is bound to the device (or to
 *             no device for "any" and device lists) still with protocol 0,
 *             and the kernel filter is attached.
 *   enable    the first time, re-bind with ETH_P_ALL: from here on packets
 *             are queued.  Nothing that arrived before can be in the ring.
 *             Later, re-attach the ring's filter.
 *   disable   attach a drop-everything filter.  (Re-binding cannot undo the
 *             hook: the kernel reads protocol 0 in bind() as "unchanged".)
 *   close     unmap the ring, or, while pfring_keep_packet_memory holds
 *             it, make it anonymous memory (retire_map) that the last
 *             release unmaps: the socket is freed either way.
 *
 * Receive path (no system call, allocation or copy per packet)
 *   Batched mode (TPACKET_V3, the default):
 *   The ring is block_nr blocks.  A block belongs to user space once the
 *   kernel sets TP_STATUS_USER (full, or retired by the block timer).  We
 *   walk its packets in place and hand out pointers into it; the block is
 *   given back (TP_STATUS_KERNEL, release store) at the *next* receive call
 *   after its last packet, so the last pointer handed out stays valid until
 *   then.  poll() is called only when the next block is still the kernel's.
 *   Immediate mode (TPACKET_V2, chosen by pfring_set_batching with a 1 ms
 *   timeout, before the ring is enabled): the same memory is cut into
 *   frames of one packet each, frames_per_block to a block.  A frame
 *   belongs to user space as soon as the kernel has written its packet
 *   (TP_STATUS_USER), so the reader wakes per packet, as stock libpcap's
 *   immediate mode does.  The frames a receive call hands out (`handed`,
 *   the ones before cur) are given back at the next receive call, as a
 *   block is in batched mode; a burst is the run of user-owned frames from
 *   cur, up to max.  The two modes share every op and differ only in the
 *   walk (v2 below).
 *   VLAN tags the kernel moved into metadata are written back into the frame
 *   in the 4 bytes of headroom that PACKET_RESERVE keeps before each frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <linux/sockios.h>

#include <pcap/dlt.h>
#include "pfring_int.h"

#define AFP_RESERVE        4          /* headroom for VLAN re-insertion */
#define AFP_MIN_BLOCK      (256 * 1024)
#define AFP_MIN_BLOCKS     8
#define AFP_NO_BLOCK       0xFFFFFFFFu
#define AFP_PREFETCH       1024       /* bytes ahead of the header being read */

/* What belongs to one packet socket: its ring and where reading is.  A ring
 * that leaves its cluster moves to a new socket (afp_remove_from_cluster), so
 * this is what is set up again; the rest of afp_priv is kept. */
struct afp_sock {
  u_int8_t *map;
  size_t map_len;
  struct pfringint_mem *mem;    /* map's references (keep.c) */
  u_int32_t block_size, block_nr;
  u_int32_t cur;                /* block being read (or to be read next); v2: frame */
  u_int8_t cur_open;            /* cur is user-owned and being walked */
  u_int8_t release_cur;         /* give cur back at the next call */
  u_int32_t pkts_left;          /* packets not yet handed out in cur */
  struct tpacket3_hdr *next;    /* next packet in cur */
  u_int8_t hooked;              /* bound with ETH_P_ALL (enabled once) */
  u_int8_t in_fanout;
  u_int8_t tx_ready;            /* send path configured */
  /* TPACKET_V2 (immediate mode): frames of frame_size bytes, frames_per_block
   * at the start of each block; `handed` frames before cur were handed out
   * by the last receive call and go back to the kernel at the next one. */
  u_int8_t v2;
  u_int32_t frame_size, frames_per_block, frame_nr;
  u_int32_t handed;
};

struct afp_priv {
  struct afp_sock sk;
  /* The ring of the socket left by afp_remove_from_cluster, made anonymous
   * memory (retire_map): packets handed out from it stay readable until the
   * next receive call, as usual, and as long as a caller keeps it. */
  struct pfringint_mem *retired_mem;
  int efd;                      /* eventfd that wakes poll() */
  int bind_ifindex;             /* 0 for any and device lists */
  u_int8_t keep_vlan;
  pthread_mutex_t stats_lock;   /* kern_* and the socket they are read from */
  u_int64_t kern_seen, kern_drops;
  u_int32_t min_block;          /* 0: AFP_MIN_BLOCK (pfring_set_batching) */
  u_int32_t block_tov_ms;       /* 0: the block_timeout_ms parameter */
  u_int8_t immediate;           /* TPACKET_V2 rings (pfring_set_batching, 1 ms) */
  /* afp_pkt_link's place in the current block: the header it found last,
   * its index, and the block's sequence number then (a block given back and
   * handed over again has a new one). */
  struct tpacket3_hdr *link_hint;
  u_int32_t link_hint_idx;
  u_int64_t link_hint_seq;
  u_int64_t ring_bytes;         /* 0: min_num_slots slots (pfring_set_buffer_size) */
};

#define PRIV(r) ((struct afp_priv *)(r)->priv)

static void afp_close(pfring *ring);
static int afp_enable(pfring *ring);
static int join_cluster(pfring *ring);
static int afp_set_promisc(pfring *ring, int on);
static int bind_proto(pfring *ring, u_int16_t proto);

static inline struct tpacket_block_desc *block_at(struct afp_priv *p, u_int32_t i)
{
  return (struct tpacket_block_desc *)(p->sk.map + (size_t)i * p->sk.block_size);
}

static inline int block_is_user(struct tpacket_block_desc *b)
{
  return (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

/* TPACKET_V2: frame i of the ring. */
static inline struct tpacket2_hdr *frame_at(const struct afp_sock *sk, u_int32_t i)
{
  return (struct tpacket2_hdr *)(sk->map + (size_t)(i / sk->frames_per_block) * sk->block_size +
                                 (size_t)(i % sk->frames_per_block) * sk->frame_size);
}

static inline int frame_is_user(const struct tpacket2_hdr *h)
{
  return (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

static inline u_int32_t frame_next(const struct afp_sock *sk, u_int32_t i)
{
  return i + 1 == sk->frame_nr ? 0 : i + 1;
}

/* Give the frames the last call handed out back, in the kernel's order. */
static inline void v2_release(struct afp_sock *sk)
{
  u_int32_t i = (sk->cur + sk->frame_nr - sk->handed) % sk->frame_nr;

  for (; sk->handed; sk->handed--, i = frame_next(sk, i))
    __atomic_store_n(&frame_at(sk, i)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* Give the current block back if its last packet has been consumed (v2: the
 * frames handed out). */
static inline void release_pending(struct afp_priv *p)
{
  if (p->sk.v2) {
    v2_release(&p->sk);
    return;
  }
  if (p->sk.release_cur) {
    __atomic_store_n(&block_at(p, p->sk.cur)->hdr.bh1.block_status, TP_STATUS_KERNEL,
                     __ATOMIC_RELEASE);
    p->sk.cur = (p->sk.cur + 1) % p->sk.block_nr;
    p->sk.release_cur = 0;
    p->sk.cur_open = 0;
  }
}

/* Opens cur if the kernel has handed it over; returns 1 if a packet is ready
 * (v2: the frame at cur is user space's). */
static inline int open_block(struct afp_priv *p)
{
  struct tpacket_block_desc *b;

  release_pending(p);
  if (p->sk.v2)
    return frame_is_user(frame_at(&p->sk, p->sk.cur));
  if (p->sk.cur_open)
    return p->sk.pkts_left > 0;
  for (;;) {
    b = block_at(p, p->sk.cur);
    if (!block_is_user(b))
      return 0;
    if (b->hdr.bh1.num_pkts > 0)
      break;
    /* An empty block (should not happen): give it straight back. */
    p->sk.release_cur = 1;
    release_pending(p);
  }
  p->sk.cur_open = 1;
  p->sk.pkts_left = b->hdr.bh1.num_pkts;
  p->sk.next = (struct tpacket3_hdr *)((u_int8_t *)b + b->hdr.bh1.offset_to_first_pkt);
  return 1;
}

/* Packets ready now: the rest of cur plus the following user-owned blocks
 * (v2: the user-owned frames from cur, up to limit). */
static u_int32_t count_ready(struct afp_priv *p, u_int32_t limit)
{
  u_int32_t n = 0, i, idx;

  if (!open_block(p))
    return 0;
  if (p->sk.v2) {
    for (n = 1, idx = frame_next(&p->sk, p->sk.cur);
         n < limit && n < p->sk.frame_nr && frame_is_user(frame_at(&p->sk, idx));
         n++, idx = frame_next(&p->sk, idx))
      ;
    return n;
  }
  n = p->sk.pkts_left;
  for (i = 1; i < p->sk.block_nr; i++) {
    struct tpacket_block_desc *b;
    idx = (p->sk.cur + i) % p->sk.block_nr;
    b = block_at(p, idx);
    if (!block_is_user(b))
      break;
    n += b->hdr.bh1.num_pkts;
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Waiting                                                                   */

static void drain_eventfd(struct afp_priv *p)
{
  u_int64_t v;
  while (read(p->efd, &v, sizeof(v)) > 0)
    ;
}

/* One poll() on the socket (and the wake-up eventfd).  Returns 0,
 * WAIT_SIGNALLED, or <0 with the error set when the interface went away. */
static int wait_readable(pfring *ring, int timeout_ms, int socket_too)
{
  struct afp_priv *p = PRIV(ring);
  struct pollfd pfd[2] = {
    { .fd = p->efd, .events = POLLIN },
    { .fd = ring->fd, .events = POLLIN },
  };
  int rc = poll(pfd, socket_too ? 2 : 1, timeout_ms);

  if (rc < 0)
    return errno == EINTR ? WAIT_SIGNALLED
                          : pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "poll failed");
  if (rc == 0)
    return 0;
  if (pfd[0].revents & POLLIN)
    drain_eventfd(p);
  if (socket_too && (pfd[1].revents & (POLLERR | POLLHUP))) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(ring->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (p->bind_ifindex && pfringint_ifindex(ring->fd, ring->spec.devices[0]) != p->bind_ifindex)
      return pfringint_seterr(ring, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                              "interface '%s' disappeared", ring->spec.devices[0]);
    if (pfd[1].revents & POLLHUP)
      return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, EPIPE,
                              "hangup on the packet socket of '%s'", ring->bound_name);
    /* ENETDOWN on a device that still exists: keep waiting, a little. */
    poll(NULL, 0, timeout_ms < 10 && timeout_ms >= 0 ? timeout_ms : 10);
  }
  return 0;
}

static long elapsed_ms(const struct timespec *start)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int afp_poll(pfring *ring, u_int wait_ms)
{
  struct afp_priv *p = PRIV(ring);
  struct timespec start;
  u_int32_t ready;
  int rc;

  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    ready = count_ready(p, ring->poll_watermark);
    if (ready >= ring->poll_watermark)
      return 1;
    if (ring->break_recv_loop)
      return 0;
    long left = (long)wait_ms - elapsed_ms(&start);
    if (left <= 0)
      return 0;
    /* With part of the watermark already here the socket is readable, so
     * sleep on the wake-up fd alone for a millisecond at a time. */
    rc = wait_readable(ring, ready ? 1 : (int)left, ready == 0);
    if (rc < 0)
      return rc;
    if (rc == WAIT_SIGNALLED)
      return 0;                  /* as poll(2): the caller's signal handlers run now */
  }
}

static int afp_is_pkt_available(pfring *ring)
{
  return open_block(PRIV(ring));
}

static u_int32_t afp_num_queued(pfring *ring)
{
  return count_ready(PRIV(ring), 0xFFFFFFFFu);
}

static void afp_wake(pfring *ring)
{
  u_int64_t one = 1;
  if (write(PRIV(ring)->efd, &one, sizeof(one)) < 0) {
    /* The counter is full: a wake-up is already pending. */
  }
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */

/* What the receive ops read of a packet's kernel header, in either version
 * (built inline from the header: no copy of the packet). */
struct afp_pkt {
  u_char *mac;                  /* the frame as the kernel wrote it */
  const struct sockaddr_ll *sll;
  u_int32_t sec, nsec, snaplen, len, status;
  u_int16_t tci, tpid;
  u_int32_t net_off;            /* network header's offset from mac */
};

static inline struct afp_pkt pkt_v3(struct tpacket3_hdr *h)
{
  struct afp_pkt k = {
    .mac = (u_char *)h + h->tp_mac,
    .sll = (const struct sockaddr_ll *)((u_int8_t *)h + TPACKET_ALIGN(sizeof(*h))),
    .sec = h->tp_sec, .nsec = h->tp_nsec, .snaplen = h->tp_snaplen, .len = h->tp_len,
    .status = h->tp_status, .tci = (u_int16_t)h->hv1.tp_vlan_tci, .tpid = h->hv1.tp_vlan_tpid,
    .net_off = (u_int32_t)h->tp_net - h->tp_mac,
  };
  return k;
}

static inline struct afp_pkt pkt_v2(struct tpacket2_hdr *h)
{
  struct afp_pkt k = {
    .mac = (u_char *)h + h->tp_mac,
    .sll = (const struct sockaddr_ll *)((u_int8_t *)h + TPACKET_ALIGN(sizeof(*h))),
    .sec = h->tp_sec, .nsec = h->tp_nsec, .snaplen = h->tp_snaplen, .len = h->tp_len,
    .status = h->tp_status, .tci = h->tp_vlan_tci, .tpid = h->tp_vlan_tpid,
    .net_off = (u_int32_t)h->tp_net - h->tp_mac,
  };
  return k;
}

static inline u_int16_t vlan_tpid(const struct afp_pkt *k)
{
  return (k->tpid || (k->status & TP_STATUS_VLAN_TPID_VALID)) ? k->tpid : ETH_P_8021Q;
}

/* The kernel moved the frame's VLAN tag into metadata: write it back in
 * front of the EtherType, in the headroom PACKET_RESERVE keeps.  Returns the
 * frame's new start (4 bytes earlier). */
static inline u_char *reinsert_vlan(const struct afp_pkt *k)
{
  u_int16_t tpid = htons(vlan_tpid(k)), tci = htons(k->tci);
  u_char *pkt = k->mac - 4;

  memmove(pkt, pkt + 4, 12);
  memcpy(pkt + 12, &tpid, 2);
  memcpy(pkt + 14, &tci, 2);
  return pkt;
}

static inline int has_vlan_meta(const struct afp_priv *p, const struct afp_pkt *k)
{
  return !p->keep_vlan && (k->tci || (k->status & TP_STATUS_VLAN_VALID)) && k->snaplen >= 12;
}

/* Opens the next block, waiting for one if asked: 1 a packet is ready, 0
 * none (or a break), <0 the interface went away. */
static inline int ready_or_wait(pfring *ring, u_int8_t wait)
{
  struct afp_priv *p = PRIV(ring);
  int rc;

  if (__builtin_expect(p->retired_mem != NULL, 0)) {
    pfringint_mem_put(p->retired_mem, NULL, NULL);   /* its packets were the last call's */
    p->retired_mem = NULL;
  }
  while (!open_block(p)) {
    if (!wait || ring->break_recv_loop)
      return 0;
    rc = wait_readable(ring, (int)ring->poll_duration, 1);
    if (rc < 0)
      return rc;
    if (ring->break_recv_loop)
      return 0;
  }
  return 1;
}

/* The packet at the read position, and the position moved past it (v3: the
 * block is given back at the next call after its last packet; v2: the frame,
 * counted in `handed` by the caller). */
static inline struct afp_pkt take_pkt(struct afp_priv *p)
{
  if (p->sk.v2) {
    struct tpacket2_hdr *f = frame_at(&p->sk, p->sk.cur);
    p->sk.cur = frame_next(&p->sk, p->sk.cur);
    return pkt_v2(f);
  } else {
    struct tpacket3_hdr *h = p->sk.next;
    if (--p->sk.pkts_left)
      p->sk.next = (struct tpacket3_hdr *)((u_int8_t *)h + h->tp_next_offset);
    else
      p->sk.release_cur = 1;     /* given back at the next call */
    return pkt_v3(h);
  }
}

static int afp_recv(pfring *ring, u_char **buffer, struct pfring_pkthdr *hdr, u_int8_t wait)
{
  struct afp_priv *p = PRIV(ring);
  struct afp_pkt k;
  u_char *pkt;
  int rc = ready_or_wait(ring, wait);

  if (rc <= 0)
    return rc;
  k = take_pkt(p);
  if (p->sk.v2)
    p->sk.handed = 1;            /* given back at the next call */
  pkt = k.mac;
  hdr->ts.tv_sec = k.sec;
  hdr->ts.tv_usec = k.nsec / 1000;
  hdr->caplen = k.snaplen;
  hdr->len = k.len;
  hdr->extended_hdr.timestamp_ns = (u_int64_t)k.sec * 1000000000ull + k.nsec;
  hdr->extended_hdr.flags = 0;
  hdr->extended_hdr.rx_direction = k.sll->sll_pkttype != PACKET_OUTGOING;
  hdr->extended_hdr.port_id = 0;
  hdr->extended_hdr.device_id = 0;
  hdr->extended_hdr.if_index = k.sll->sll_ifindex;
  hdr->extended_hdr.pkt_hash = 0;
  if (has_vlan_meta(p, &k)) {
    pkt = reinsert_vlan(&k);
    hdr->caplen += 4;
    hdr->len += 4;
    hdr->extended_hdr.flags |= PKT_FLAGS_VLAN_HWACCEL;
  }
  if (hdr->caplen > ring->caplen)
    hdr->caplen = ring->caplen;
  *buffer = pkt;
  return 1;
}

static inline void burst_one(const struct afp_priv *p, struct pfring_burst_pkt *o,
                             const struct afp_pkt *k, u_int32_t caplen)
{
  u_char *pkt = k->mac;
  u_int32_t snap = k->snaplen, len = k->len;

  o->ts_sec = k->sec;
  o->ts_nsec = k->nsec;
  o->if_index = k->sll->sll_ifindex;
  o->rx_direction = k->sll->sll_pkttype != PACKET_OUTGOING;
  o->flags = 0;
  if (__builtin_expect(has_vlan_meta(p, k), 0)) {
    pkt = reinsert_vlan(k);
    snap += 4;
    len += 4;
    o->flags = PKT_FLAGS_VLAN_HWACCEL;
  }
  o->data = pkt;
  o->caplen = snap < caplen ? snap : caplen;
  o->len = len;
}

/* v3: the rest of the current block, up to max packets, in one pass over the
 * kernel's headers, nothing else touched.  v2: the run of user-owned frames
 * from cur, up to max (the first one is known to be ready). */
static int afp_recv_burst(pfring *ring, struct pfring_burst_pkt *out, u_int max, u_int8_t wait)
{
  struct afp_priv *p = PRIV(ring);
  struct tpacket3_hdr *h;
  struct afp_pkt k;
  u_int32_t n, i, caplen = ring->caplen;
  int rc = ready_or_wait(ring, wait);

  if (rc <= 0)
    return rc;
  if (p->sk.v2) {
    if (max > p->sk.frame_nr)
      max = p->sk.frame_nr;
    for (n = 0; n < max && (n == 0 || frame_is_user(frame_at(&p->sk, p->sk.cur))); n++) {
      k = take_pkt(p);
      burst_one(p, &out[n], &k, caplen);
    }
    p->sk.handed = n;            /* given back at the next call */
    return (int)n;
  }
  n = p->sk.pkts_left < max ? p->sk.pkts_left : max;
  h = p->sk.next;
  for (i = 0; i < AFP_PREFETCH; i += 64)      /* the first packets' lines at once */
    __builtin_prefetch((const u_int8_t *)h + i, 0, 3);
  for (i = 0; i < n; i++) {
    /* The headers are a pointer chase through memory another CPU wrote:
     * fetch the lines ahead while this one is read. */
    __builtin_prefetch((const u_int8_t *)h + AFP_PREFETCH, 0, 3);
    __builtin_prefetch((const u_int8_t *)h + AFP_PREFETCH + 64, 0, 3);
    /* and the entries ahead, for writing: after a sleep they are not in
     * the cache either (a prefetch past the array's end does nothing) */
    __builtin_prefetch((const void *)((uintptr_t)out + (i + 16) * sizeof(*out)), 1, 3);
    k = pkt_v3(h);
    burst_one(p, &out[i], &k, caplen);
    h = (struct tpacket3_hdr *)((u_int8_t *)h + h->tp_next_offset);
  }
  p->sk.pkts_left -= n;
  if (p->sk.pkts_left)
    p->sk.next = h;
  else
    p->sk.release_cur = 1;       /* given back at the next call */
  return (int)n;
}

/* The last packet a count walk passed: where its frame starts once its tag
 * is back, and its capture length. */
static inline void count_last(const struct afp_priv *p, pfring *ring, const struct afp_pkt *k,
                              u_char **last, u_int32_t *last_len)
{
  u_int32_t snap = k->snaplen;

  *last = k->mac;
  if (has_vlan_meta(p, k)) {
    *last = reinsert_vlan(k);
    snap += 4;
  }
  *last_len = snap < ring->caplen ? snap : ring->caplen;
}

/* recv_burst's walk, only adding up the lengths. */
static int afp_count(pfring *ring, u_int max, u_int64_t *bytes, u_char **last,
                     u_int32_t *last_len)
{
  struct afp_priv *p = PRIV(ring);
  struct tpacket3_hdr *h, *prev = NULL;
  struct afp_pkt k;
  u_int64_t sum = 0, tagged = 0;
  u_int32_t n, i;
  int rc = ready_or_wait(ring, 0);

  if (rc <= 0)
    return rc;
  if (p->sk.v2) {
    if (max > p->sk.frame_nr)
      max = p->sk.frame_nr;
    for (n = 0; n < max && (n == 0 || frame_is_user(frame_at(&p->sk, p->sk.cur))); n++) {
      k = take_pkt(p);
      sum += k.len + (__builtin_expect(has_vlan_meta(p, &k), 0) ? 4 : 0);
    }
    p->sk.handed = n;            /* given back at the next call */
    *bytes += sum;
    count_last(p, ring, &k, last, last_len);
    return (int)n;
  }
  n = p->sk.pkts_left < max ? p->sk.pkts_left : max;
  h = p->sk.next;
  for (i = 0; i < AFP_PREFETCH; i += 64)
    __builtin_prefetch((const u_int8_t *)h + i, 0, 3);
  /* has_vlan_meta without a branch: a packet whose tag the kernel took out
   * counts 4 bytes more (the tag is put back when it is handed out). */
  for (i = 0; i < n; i++) {
    __builtin_prefetch((const u_int8_t *)h + AFP_PREFETCH, 0, 3);
    __builtin_prefetch((const u_int8_t *)h + AFP_PREFETCH + 64, 0, 3);
    sum += h->tp_len;
    tagged += ((h->tp_status & TP_STATUS_VLAN_VALID) | (u_int16_t)h->hv1.tp_vlan_tci) != 0 &&
              h->tp_snaplen >= 12;
    prev = h;
    h = (struct tpacket3_hdr *)((u_int8_t *)h + h->tp_next_offset);
  }
  if (!p->keep_vlan)
    sum += 4 * tagged;
  *bytes += sum;
  k = pkt_v3(prev);
  count_last(p, ring, &k, last, last_len);
  p->sk.pkts_left -= n;
  if (p->sk.pkts_left)
    p->sk.next = h;
  else
    p->sk.release_cur = 1;       /* given back at the next call */
  return (int)n;
}

static int afp_next_pkt_time(pfring *ring, struct timespec *ts)
{
  struct afp_priv *p = PRIV(ring);

  if (!open_block(p))
    return PF_RING_ERROR_NO_PKT_AVAILABLE;
  if (p->sk.v2) {
    const struct tpacket2_hdr *f = frame_at(&p->sk, p->sk.cur);
    ts->tv_sec = f->tp_sec;
    ts->tv_nsec = f->tp_nsec;
    return 0;
  }
  ts->tv_sec = p->sk.next->tp_sec;
  ts->tv_nsec = p->sk.next->tp_nsec;
  return 0;
}

/* pfring_release_consumed: what the next receive call would do first. */
static int afp_release_consumed(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);

  if (p->sk.v2 ? !p->sk.handed : !p->sk.release_cur)
    return 0;
  release_pending(p);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Link-layer metadata of a packet handed out (pfring_get_pkt_link)          */

/* out for the packet k, whose kernel metadata ends at meta_end, if data is
 * where a receive call put its frame: 1 if so, 0 if not. */
static int link_of(const struct afp_priv *p, const struct afp_pkt *k, const u_int8_t *meta_end,
                   const u_char *data, struct pfring_pkt_link *out)
{
  const struct sockaddr_ll *sll = k->sll;

  if (data != k->mac && !(has_vlan_meta(p, k) && data == k->mac - 4))
    return 0;
  out->if_index = sll->sll_ifindex;
  out->protocol = ntohs(sll->sll_protocol);
  out->hatype = sll->sll_hatype;
  out->pkttype = sll->sll_pkttype;
  out->halen = sll->sll_halen;
  memcpy(out->addr, sll->sll_addr, sizeof(out->addr));
  out->net_offset = (u_int16_t)(k->net_off + (data == k->mac ? 0 : 4));
  out->headroom = (u_int16_t)(data - meta_end);
  if (data != k->mac) {
    out->vlan_tpid = vlan_tpid(k);
    out->vlan_tci = k->tci;
  }
  return 1;
}

/* v3: the packets the last receive call handed out are all in the current
 * block, still open (it is given back at the next call).  Their headers are
 * found by walking the block from its first packet, or from the last one
 * found when data lies after it, so that asking for every packet of a
 * block in order reads each header once.  v2: they are the `handed` frames
 * before cur, and data's frame is found from its offset in the ring.  What
 * a caller may overwrite starts after the kernel's sockaddr_ll, which is
 * read here: the frame's headers before it are left alone, so the walk
 * stays possible. */
static int afp_pkt_link(pfring *ring, const u_char *data, struct pfring_pkt_link *out)
{
  struct afp_priv *p = PRIV(ring);
  const size_t sll_len = sizeof(struct sockaddr_ll);
  struct tpacket_block_desc *b;
  struct tpacket3_hdr *h;
  struct afp_pkt k;
  const u_int8_t *start;
  u_int32_t i, n;

  if (p->sk.v2) {
    size_t off, in_block;
    u_int32_t fi, back;

    if (!p->sk.handed || data < p->sk.map || data >= p->sk.map + p->sk.map_len)
      goto not_ours;
    off = (size_t)(data - p->sk.map);
    in_block = off % p->sk.block_size;
    if (in_block / p->sk.frame_size >= p->sk.frames_per_block)
      goto not_ours;
    fi = (u_int32_t)(off / p->sk.block_size) * p->sk.frames_per_block +
         (u_int32_t)(in_block / p->sk.frame_size);
    back = (p->sk.cur + p->sk.frame_nr - fi) % p->sk.frame_nr;   /* 1: the last one */
    if (back == 0 || back > p->sk.handed)
      goto not_ours;
    struct tpacket2_hdr *f = frame_at(&p->sk, fi);
    k = pkt_v2(f);
    if (link_of(p, &k, (const u_int8_t *)f + TPACKET_ALIGN(sizeof(*f)) + sll_len, data, out))
      return 0;
    goto not_ours;
  }
  if (!p->sk.cur_open)
    goto not_ours;
  b = block_at(p, p->sk.cur);
  start = (const u_int8_t *)b;
  if (data < start || data >= start + p->sk.block_size)
    goto not_ours;
  n = b->hdr.bh1.num_pkts;
  h = (struct tpacket3_hdr *)((u_int8_t *)b + b->hdr.bh1.offset_to_first_pkt);
  i = 0;
  if (p->link_hint && p->link_hint_seq == b->hdr.bh1.seq_num &&
      (const u_int8_t *)p->link_hint >= start && (const u_int8_t *)p->link_hint < data &&
      (const u_int8_t *)p->link_hint < start + p->sk.block_size) {
    h = p->link_hint;
    i = p->link_hint_idx;
  }
  for (; i < n && (const u_int8_t *)h < data; i++) {
    k = pkt_v3(h);
    if (link_of(p, &k, (const u_int8_t *)h + TPACKET_ALIGN(sizeof(*h)) + sll_len, data, out)) {
      p->link_hint = h;
      p->link_hint_idx = i;
      p->link_hint_seq = b->hdr.bh1.seq_num;
      return 0;
    }
    h = (struct tpacket3_hdr *)((u_int8_t *)h + h->tp_next_offset);
  }
not_ours:
  return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                          "pfring_get_pkt_link: data is not a packet that the last receive "
                          "call on '%s' handed out", ring->bound_name);
}

/* ------------------------------------------------------------------------ */
/* Kernel filter, enable/disable                                             */

static int attach_filter(pfring *ring, int drop_all)
{
  struct pfringint_filter_spec fs;
  struct sock_fprog prog;
  int rc;

  memset(&fs, 0, sizeof(fs));
  fs.direction = ring->filter.direction;
  fs.drop_loopback_outgoing = 1;
  if (ring->spec.num_devices > 1) {
    fs.num_ifindex = ring->spec.num_devices;
    fs.ifindex = ring->if_index;
  }
  fs.vlan_id = ring->filter.vlan_id;
  fs.channel_mask = ring->filter.channel_mask;
  fs.rss_rehash = ring->filter.rss_rehash;
  fs.num_rx_queues = (u_int32_t)ring->num_rx_queues;
  fs.drop_all = (u_int8_t)drop_all;
  if (ring->filter.bpf_where == PFRINGINT_BPF_KERNEL) {
    fs.user = ring->filter.bpf.filter;
    fs.user_len = ring->filter.bpf.len;
  }
  fs.snaplen = ring->caplen;
  rc = pfringint_build_socket_filter(&fs, &prog);
  if (rc == PF_RING_ERROR_INVALID_ARGUMENT)
    return pfringint_seterr(ring, rc, 0, "the kernel filter for '%s' is too long",
                            ring->bound_name);
  if (rc < 0)
    return pfringint_seterr(ring, rc, 0, "cannot build the kernel filter for '%s': %s",
                            ring->bound_name, pfring_strerror(rc));
  if (!drop_all && ring->filter.rules) {
    /* Filtering rules: the rules program runs this classic filter first. */
    rc = pfringint_rules_attach(ring, &prog);
    free(prog.filter);
    return rc;
  }
  rc = setsockopt(ring->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
  free(prog.filter);
  if (rc < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot attach the kernel filter to '%s'%s",
                                  ring->bound_name,
                                  errno == ENOMEM ? " (raise net.core.optmem_max)" : "");
  pfringint_rules_detached(ring);
  return 0;
}

/* The rules program (rules.c) in place of the classic filter. */
static int afp_attach_rules_prog(pfring *ring, int prog_fd)
{
  if (setsockopt(ring->fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)) < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot attach the filtering rules program to '%s'",
                                  ring->bound_name);
  return 0;
}

static int afp_update_filter(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  return attach_filter(ring, p->sk.hooked && !ring->enabled);
}

static int bind_proto(pfring *ring, u_int16_t proto)
{
  struct afp_priv *p = PRIV(ring);
  struct sockaddr_ll sll;

  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(proto);
  sll.sll_ifindex = p->bind_ifindex;
  if (bind(ring->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
    int err = errno;
    if (err == ENETDOWN)
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, err,
                              "interface '%s' is down", ring->bound_name);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot bind to '%s'", ring->bound_name);
  }
  return 0;
}

static int afp_enable(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  int rc;

  if (p->sk.hooked)
    return attach_filter(ring, 0);
  if (ring->cluster_id && (rc = attach_filter(ring, 1)) < 0)
    return rc;
  rc = bind_proto(ring, ETH_P_ALL);
  if (rc < 0)
    return rc;
  p->sk.hooked = 1;
  if (ring->cluster_id) {
    if ((rc = join_cluster(ring)) < 0)
      return rc;                      /* stays behind the drop-everything filter */
    return attach_filter(ring, 0);
  }
  return 0;
}

static int afp_disable(pfring *ring)
{
  return attach_filter(ring, 1);
}

/* ------------------------------------------------------------------------ */
/* Clusters: one PACKET_FANOUT group per cluster id.  Round robin is
 * FANOUT_LB; the per-flow and inner-flow types are FANOUT_CBPF with the hash
 * program that pfring_set_cluster built (ring->cluster_prog).  The wrapper
 * owns the rules (ids, types, the registry); this joins and leaves.  A
 * socket can join only once it is bound with ETH_P_ALL, so a ring joins at
 * enable (or at once if it is already enabled), behind a drop-everything
 * filter until it is a member.                                             */

#define AFP_MAX_CLUSTER_MEMBERS 64

static int join_cluster(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  struct fanout_args fa;
  int err;

  memset(&fa, 0, sizeof(fa));
  fa.id = (u_int16_t)ring->cluster_id;
  fa.max_num_members = AFP_MAX_CLUSTER_MEMBERS;
  fa.type_flags = ring->cluster_type == cluster_round_robin ? PACKET_FANOUT_LB
                                                            : PACKET_FANOUT_CBPF;
  if (pfringint_params()->enable_ip_defrag)
    fa.type_flags |= PACKET_FANOUT_FLAG_DEFRAG;
  if (setsockopt(ring->fd, SOL_PACKET, PACKET_FANOUT, &fa, sizeof(fa)) < 0) {
    err = errno;
    if (err == ENOSPC)
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, err,
                              "cannot join cluster %u: it is full (%d members)",
                              ring->cluster_id, AFP_MAX_CLUSTER_MEMBERS);
    if (err == EINVAL)
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, err,
                              "cannot join cluster %u on '%s': the cluster exists with "
                              "another type or on another device", ring->cluster_id,
                              ring->bound_name);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot join cluster %u", ring->cluster_id);
  }
  p->sk.in_fanout = 1;
  if (ring->cluster_prog.len &&
      setsockopt(ring->fd, SOL_PACKET, PACKET_FANOUT_DATA, &ring->cluster_prog,
                 sizeof(ring->cluster_prog)) < 0) {
    err = errno;
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot load the hash program of cluster %u",
                                  ring->cluster_id);
  }
  return 0;
}

static int afp_set_cluster(pfring *ring)
{
  if (!PRIV(ring)->sk.hooked)
    return 0;                        /* joins at enable */
  return join_cluster(ring);
}

static int new_packet_socket(void *unused)
{
  (void)unused;
  return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
}

/* A new packet socket (protocol 0) in the network namespace of fd's socket;
 * <0 with errno set on failure. */
static int packet_socket_beside(int fd)
{
  return pfringint_in_netns_of(fd, new_packet_socket, NULL);
}

static int setup_socket(pfring *ring);

/* A socket's mapping would keep the socket, and so its place in the group
 * and its ring, alive: it becomes anonymous memory at the same address, with
 * a copy of the block being read (zeros if there is no memory for the
 * copy), so the packets handed out stay readable without the socket.  If
 * the kernel cannot remap, the mapping stays as it is (and the socket with
 * it, until the mapping goes): it is never unmapped here, since packets of
 * it may still be read.  sk: the struct afp_sock (void * for
 * pfringint_mem_put's callback). */
static void retire_map(void *sk)
{
  const struct afp_sock *old = sk;
  size_t off = (size_t)old->cur * old->block_size;
  u_int32_t i, first = 0;
  u_int8_t *keep = NULL;

  if (!old->map)
    return;
  if (old->v2) {
    /* the frames the last call handed out, one after the other */
    first = (old->cur + old->frame_nr - old->handed) % old->frame_nr;
    if (old->handed && (keep = malloc((size_t)old->handed * old->frame_size)))
      for (i = 0; i < old->handed; i++)
        memcpy(keep + (size_t)i * old->frame_size, frame_at(old, (first + i) % old->frame_nr),
               old->frame_size);
  } else if ((old->cur_open || old->release_cur) && (keep = malloc(old->block_size))) {
    memcpy(keep, old->map + off, old->block_size);
  }
  if (mmap(old->map, old->map_len, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED && keep) {
    if (!old->v2)
      memcpy(old->map + off, keep, old->block_size);
    else
      for (i = 0; i < old->handed; i++)
        memcpy(frame_at(old, (first + i) % old->frame_nr), keep + (size_t)i * old->frame_size,
               old->frame_size);
  }
  free(keep);
}

/* The ring lets go of sk's mapping: unmapped now, or, while a caller keeps
 * it (pfring_keep_packet_memory), made anonymous first (retire_map) and
 * unmapped by the last release. */
static void drop_map(pfring *ring, struct afp_sock *sk)
{
  if (sk->mem) {
    if (ring->rx_mem == sk->mem)
      pfringint_mem_swap(ring, NULL);
    pfringint_mem_put(sk->mem, retire_map, sk);
  } else if (sk->map && sk->map != MAP_FAILED) {
    munmap(sk->map, sk->map_len);
  }
  sk->mem = NULL;
  sk->map = NULL;
}

/* A socket cannot leave a fanout group (there is no such option, and a
 * member cannot be re-bound), so the ring moves to a new socket in the same
 * namespace, set up from the handle as the old one was: filter, direction,
 * promiscuous mode, batching, bound with ETH_P_ALL if enabled.  The kernel
 * counters of the old socket are added to the ring's before it closes, and
 * the packets handed out from its ring stay readable until the next receive
 * call (retire_map).  Packets the old ring still held are dropped with it.
 * On failure the ring is left as it was, still a member. */
static int afp_remove_from_cluster(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  struct afp_sock old = p->sk;
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof(st);
  int old_fd = ring->fd, fd, rc;
  u_int8_t promisc = ring->promisc;

  if (!p->sk.in_fanout)
    return 0;                        /* not joined yet: nothing in the kernel */
  fd = packet_socket_beside(old_fd);
  if (fd < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot leave cluster %u: no new packet socket",
                                  ring->cluster_id);
  pthread_mutex_lock(&p->stats_lock);
  memset(&p->sk, 0, sizeof(p->sk));
  ring->fd = fd;
  ring->promisc = 0;
  rc = setup_socket(ring);
  if (rc == 0 && promisc)
    rc = afp_set_promisc(ring, 1);
  if (rc == 0 && ring->enabled) {
    rc = bind_proto(ring, ETH_P_ALL);
    p->sk.hooked = rc == 0;
  }
  if (rc < 0) {
    drop_map(ring, &p->sk);
    pfringint_mem_swap(ring, old.mem);
    close(fd);
    ring->fd = old_fd;
    ring->promisc = promisc;
    p->sk = old;
    pthread_mutex_unlock(&p->stats_lock);
    return rc;
  }
  memset(&st, 0, sizeof(st));
  if (getsockopt(old_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
    p->kern_seen += st.tp_packets;
    p->kern_drops += st.tp_drops;
  }
  close(old_fd);
  pthread_mutex_unlock(&p->stats_lock);
  pfringint_mem_put(p->retired_mem, NULL, NULL);
  retire_map(&old);
  p->retired_mem = old.mem;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

static int afp_kernel_counters(pfring *ring, u_int64_t *seen, u_int64_t *dropped)
{
  struct afp_priv *p = PRIV(ring);
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof(st);

  pthread_mutex_lock(&p->stats_lock);
  memset(&st, 0, sizeof(st));
  if (getsockopt(ring->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
    p->kern_seen += st.tp_packets;   /* includes the drops */
    p->kern_drops += st.tp_drops;
  }
  *seen = p->kern_seen;
  *dropped = p->kern_drops;
  pthread_mutex_unlock(&p->stats_lock);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

static int afp_send(pfring *ring, const u_char *pkt, u_int len, int if_index)
{
  struct afp_priv *p = PRIV(ring);
  struct sockaddr_ll sll;
  ssize_t n;
  int ifx = if_index ? if_index : p->bind_ifindex;

  /* A send-only ring (pfsend) goes straight to the driver, past the qdisc.
   * Other packet sockets then do not see these frames on the way out. */
  if (!p->sk.tx_ready) {
    int one = 1;
    if (ring->mode == send_only_mode)
      setsockopt(ring->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    p->sk.tx_ready = 1;
  }

  if (ifx == 0 && ring->spec.num_devices > 0)
    ifx = ring->if_index[0];
  if (ifx == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "ring '%s' has no device to send on "
                            "(use pfring_send_ifindex)", ring->bound_name);
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifx;
  sll.sll_halen = ETH_ALEN;
  if (len >= ETH_ALEN)
    memcpy(sll.sll_addr, pkt, ETH_ALEN);
  n = sendto(ring->fd, pkt, len, 0, (struct sockaddr *)&sll, sizeof(sll));
  if (n >= 0)
    return (int)n;
  switch (errno) {
  case EMSGSIZE: {
    char name[IFNAMSIZ] = "?";
    pfringint_if_name(ring->fd, ifx, name);
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EMSGSIZE,
                            "packet of %u bytes is longer than '%s' allows "
                            "(MTU %d + 14-byte Ethernet header)",
                            len, name, pfringint_if_mtu(ring->fd, name));
  }
  case EAGAIN: case ENOBUFS:
    return pfringint_seterr(ring, PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, errno,
                            "transmit queue of '%s' is full", ring->bound_name);
  case ENETDOWN:
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, errno,
                            "cannot send: interface is down");
  default:
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot send on '%s'", ring->bound_name);
  }
}

/* ------------------------------------------------------------------------ */
/* Promiscuous mode: PACKET_MR_PROMISC memberships, counted by the kernel and
 * dropped when the socket closes.                                           */

static int afp_set_promisc(pfring *ring, int on)
{
  u_int32_t i;

  if (ring->spec.any || ring->spec.none) {
    if (on)
      return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                              "promiscuous mode is not supported on '%s'", ring->bound_name);
    return 0;
  }
  if (!!on == !!ring->promisc && ring->enabled)
    return 0;
  for (i = 0; i < ring->spec.num_devices; i++) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = ring->if_index[i];
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(ring->fd, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
                   &mr, sizeof(mr)) < 0 && on)
      return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                    "cannot set promiscuous mode on '%s'",
                                    ring->spec.devices[i]);
  }
  ring->promisc = (u_int8_t)!!on;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                            */

static void afp_close(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);

  drop_map(ring, &p->sk);
  pfringint_mem_put(p->retired_mem, NULL, NULL);
  p->retired_mem = NULL;
  if (ring->fd >= 0)
    close(ring->fd);
  ring->fd = -1;
  if (p->efd >= 0)
    close(p->efd);
  p->efd = -1;
  pthread_mutex_destroy(&p->stats_lock);
}

static u_int32_t round_up(u_int32_t v, u_int32_t to)
{
  return (v + to - 1) / to * to;
}

/* pfring_set_buffer_size's rounding: whole blocks, at least one.  The
 * kernel wants the ring's bytes (block size x count) to fit in 32 bits. */
#define AFP_MAX_RING_BYTES 0xFFFFFFFFull

static u_int32_t buffer_blocks(u_int64_t bytes, u_int32_t block_size)
{
  u_int64_t n = (bytes + block_size - 1) / block_size;

  return n ? (u_int32_t)n : 1;
}

/* An explicit size the kernel refused: no smaller ring in its place. */
static int buffer_size_error(pfring *ring, int err)
{
  struct afp_priv *p = PRIV(ring);

  return pfringint_seterr_errno(ring, err == ENOMEM ? PF_RING_ERROR_NOT_ENOUGH_MEMORY
                                                    : pfringint_errno_to_rc(err), err,
                                "cannot create a ring of %u x %u bytes for a buffer size of "
                                "%llu bytes", p->sk.block_nr, p->sk.block_size,
                                (unsigned long long)p->ring_bytes);
}

/* PF_RING sizes a ring as min_num_slots slots of caplen bytes, counting
 * buckets over 1600 bytes as 1600 (so big caplens get fewer slots, at least
 * MIN_NUM_SLOTS).  The memory is cut into blocks big enough for one slot. */
static int create_ring(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  const struct pfringint_params *params = pfringint_params();
  struct tpacket_req3 req;
  u_int32_t slot_len, slots, page = (u_int32_t)sysconf(_SC_PAGESIZE);
  u_int64_t total;
  int version = p->immediate ? TPACKET_V2 : TPACKET_V3, reserve = AFP_RESERVE;

  /* The version can change only while the socket has no ring. */
  if (setsockopt(ring->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_NOT_SUPPORTED, errno,
                                  "this kernel has no TPACKET_V%d", p->immediate ? 2 : 3);
  if (setsockopt(ring->fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof(reserve)) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "PACKET_RESERVE");

  /* A slot (v2: a frame) holds the kernel's header, the MAC header padded
   * to 16 bytes, the reserve and caplen bytes. */
  slot_len = round_up(ring->caplen + (p->immediate ? TPACKET2_HDRLEN : TPACKET3_HDRLEN) + 32 +
                      AFP_RESERVE, TPACKET_ALIGNMENT);
  p->sk.v2 = p->immediate;
  p->sk.handed = 0;
  slots = (u_int32_t)params->min_num_slots;
  if (ring->caplen > 1600) {
    slots = (u_int32_t)((u_int64_t)slots * 1600 / ring->caplen);
    if (slots < MIN_NUM_SLOTS)
      slots = MIN_NUM_SLOTS;
  }
  total = (u_int64_t)slots * slot_len;

  p->sk.block_size = p->min_block ? p->min_block : AFP_MIN_BLOCK;
  while (p->sk.block_size < slot_len + 64)
    p->sk.block_size <<= 1;
  p->sk.block_size = round_up(p->sk.block_size, page);
  p->sk.block_nr = (u_int32_t)((total + p->sk.block_size - 1) / p->sk.block_size);
  if (p->sk.block_nr < AFP_MIN_BLOCKS)
    p->sk.block_nr = AFP_MIN_BLOCKS;
  if (p->ring_bytes)
    p->sk.block_nr = buffer_blocks(p->ring_bytes, p->sk.block_size);

  for (;;) {
    memset(&req, 0, sizeof(req));
    req.tp_block_size = p->sk.block_size;
    req.tp_block_nr = p->sk.block_nr;
    if (p->sk.v2) {
      /* struct tpacket_req: the first four fields; the kernel reads no more */
      req.tp_frame_size = slot_len;
      p->sk.frame_size = slot_len;
      p->sk.frames_per_block = p->sk.block_size / slot_len;
      p->sk.frame_nr = p->sk.frames_per_block * p->sk.block_nr;
      req.tp_frame_nr = p->sk.frame_nr;
    } else {
      req.tp_frame_size = 2048;
      req.tp_frame_nr = (p->sk.block_size / req.tp_frame_size) * p->sk.block_nr;
      req.tp_retire_blk_tov = p->block_tov_ms ? p->block_tov_ms
                                              : (unsigned)params->block_timeout_ms;
    }
    if (setsockopt(ring->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) == 0)
      break;
    if (p->ring_bytes)
      return buffer_size_error(ring, errno);
    if (errno != ENOMEM || p->sk.block_nr <= AFP_MIN_BLOCKS)
      return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                    "cannot create a ring of %u x %u bytes",
                                    p->sk.block_nr, p->sk.block_size);
    p->sk.block_nr = p->sk.block_nr * 3 / 4;   /* ask for less, as libpcap does */
    if (p->sk.block_nr < AFP_MIN_BLOCKS)
      p->sk.block_nr = AFP_MIN_BLOCKS;
  }
  p->sk.map_len = (size_t)p->sk.block_size * p->sk.block_nr;
  p->sk.map = mmap(NULL, p->sk.map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                ring->fd, 0);
  if (p->sk.map == MAP_FAILED) {
    p->sk.map = NULL;
    return pfringint_seterr_errno(ring, PF_RING_ERROR_MMAP_FAILURE, errno,
                                  "cannot map the ring (%zu bytes)", p->sk.map_len);
  }
  if (!(p->sk.mem = pfringint_mem_new(p->sk.map, p->sk.map_len))) {
    munmap(p->sk.map, p->sk.map_len);
    p->sk.map = NULL;
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  }
  pfringint_mem_swap(ring, p->sk.mem);   /* the one before, if any, is the caller's */
  return 0;
}

/* pfring_set_batching: the ring is made again with other blocks, or, for a
 * timeout of 1 ms, as TPACKET_V2 frames (immediate mode; the blocks are then
 * only the units the kernel allocates).  Only while the socket has never
 * been hooked (no packet can be in the ring). */
static int afp_set_batching(pfring *ring, u_int timeout_ms, u_int block_bytes)
{
  struct afp_priv *p = PRIV(ring);
  struct tpacket_req3 none;

  if (p->sk.hooked || p->sk.in_fanout)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "batching must be set before the ring is enabled or joins a cluster");
  if (block_bytes > (64u << 20))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "block size %u is over 64 MiB", block_bytes);
  drop_map(ring, &p->sk);
  memset(&none, 0, sizeof(none));
  if (setsockopt(ring->fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof(none)) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "cannot free the ring");
  p->block_tov_ms = timeout_ms;
  p->min_block = block_bytes;
  p->immediate = timeout_ms == 1;
  p->sk.cur = 0;
  p->sk.cur_open = p->sk.release_cur = 0;
  p->sk.pkts_left = 0;
  return create_ring(ring);
}

/* pfring_set_buffer_size: the ring is made again, bytes rounded up to whole
 * blocks of its block size.  Only while the socket has never been hooked
 * (no packet can be in the ring).  If the kernel refuses the new size, the
 * ring is made again at the size it had. */
static int afp_set_buffer_size(pfring *ring, u_int64_t bytes)
{
  struct afp_priv *p = PRIV(ring);
  struct tpacket_req3 none;
  u_int64_t old = p->ring_bytes, largest;
  int rc;

  if (p->sk.hooked || p->sk.in_fanout)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_STATUS, 0,
                            "the buffer size must be set before the ring is enabled or joins "
                            "a cluster");
  largest = AFP_MAX_RING_BYTES / p->sk.block_size * p->sk.block_size;
  if (bytes > largest)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "buffer size %llu is over the largest ring of %u-byte blocks, "
                            "%llu bytes (the kernel's limit: 4 GiB - 1)",
                            (unsigned long long)bytes, p->sk.block_size,
                            (unsigned long long)largest);
  munmap(p->sk.map, p->sk.map_len);
  p->sk.map = NULL;
  memset(&none, 0, sizeof(none));
  if (setsockopt(ring->fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof(none)) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "cannot free the ring");
  p->sk.cur = 0;
  p->sk.cur_open = p->sk.release_cur = 0;
  p->sk.pkts_left = 0;
  p->ring_bytes = bytes;
  rc = create_ring(ring);
  if (rc < 0) {
    char why[PFRING_ERRBUF_SIZE];
    int err = errno;
    snprintf(why, sizeof(why), "%s", ring->errbuf);
    p->ring_bytes = old;
    if (create_ring(ring) == 0)
      pfringint_seterr(ring, rc, err, "%s", why);
  }
  return rc;
}

static u_int64_t afp_memory(pfring *ring)
{
  return PRIV(ring)->sk.map_len;
}

/* The ring, the binding (protocol 0: no packets yet), the kernel filter. */
static int setup_socket(pfring *ring)
{
  int rc;

  if ((rc = create_ring(ring)) < 0)
    return rc;
  if ((rc = bind_proto(ring, 0)) < 0)
    return rc;
  return attach_filter(ring, 0);
}

static int afp_activate(pfring *ring)
{
  struct afp_priv *p = PRIV(ring);
  int rc;

  p->efd = -1;
  pthread_mutex_init(&p->stats_lock, NULL);
  /* a tag goes back into the frame only where there is an Ethernet header */
  p->keep_vlan = pfringint_params()->keep_vlan_offload != 0 || ring->dlt != DLT_EN10MB;
  p->bind_ifindex = ring->spec.num_devices == 1 ? ring->if_index[0] : 0;
  ring->ops.close = afp_close;
  ring->ops.send = afp_send;
  ring->ops.attach_rules_prog = afp_attach_rules_prog;

  ring->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (ring->fd < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES)
      return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, err,
                              "cannot open a packet socket on '%s': permission denied "
                              "(capturing needs CAP_NET_RAW; run as root or grant "
                              "cap_net_raw)", ring->bound_name);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot open a packet socket");
  }
  if (ring->spec.none)
    return 0;    /* an unbound ring: send_ifindex only */

  p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->efd < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "eventfd");
  if ((rc = setup_socket(ring)) < 0)
    return rc;
  if (ring->promisc && (ring->spec.any || ring->spec.none)) {
    ring->promisc = 0;    /* as libpcap: no promiscuous mode on "any" */
  } else if (ring->promisc) {
    ring->promisc = 0;
    if ((rc = afp_set_promisc(ring, 1)) < 0)
      return rc;
  }

  ring->ops.recv = afp_recv;
  ring->ops.recv_burst = afp_recv_burst;
  ring->ops.count = afp_count;
  ring->ops.poll = afp_poll;
  ring->ops.is_pkt_available = afp_is_pkt_available;
  ring->ops.next_pkt_time = afp_next_pkt_time;
  ring->ops.num_queued = afp_num_queued;
  ring->ops.wake = afp_wake;
  ring->ops.enable = afp_enable;
  ring->ops.disable = afp_disable;
  ring->ops.update_filter = afp_update_filter;
  ring->ops.kernel_counters = afp_kernel_counters;
  ring->ops.pkt_link = afp_pkt_link;
  ring->ops.release_consumed = afp_release_consumed;
  ring->ops.set_promisc = afp_set_promisc;
  ring->ops.set_batching = afp_set_batching;
  ring->ops.set_buffer_size = afp_set_buffer_size;
  ring->ops.memory = afp_memory;
  ring->ops.set_cluster = afp_set_cluster;
  ring->ops.remove_from_cluster = afp_remove_from_cluster;
  return 0;
}

const struct pfringint_backend pfringint_af_packet_backend = {
  .module = "",
  .priv_size = sizeof(struct afp_priv),
  .activate = afp_activate,
};
