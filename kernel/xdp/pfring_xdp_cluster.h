/*
 * pfring_xdp_cluster.h - a cluster of zc: rings over one RX queue, whose
 * members are processes: the memory they share and the steps of joining
 * and leaving, used by drivers/af_xdp.c and by the reaper (reaper.c), which
 * does a dead member's leaving.
 *
 * AF_XDP gives a queue's packets only to sockets bound to that queue, and a
 * second socket binds there only as a sharer of the first one's UMEM and
 * fill ring (XDP_SHARED_UMEM).  So the UMEM is a memfd, shared:
 *
 *   memfd   [0, PFXC_HDR)                 struct pfxc (this header)
 *           [PFXC_HDR, PFXC_HDR + umem)   the UMEM: num_frames RX frames,
 *                                         then the first ring's TX frames
 *
 * The first ring of the cluster id on the queue (the one whose XDP program
 * holds the queue) fills the header at pfring_set_cluster.  A later ring
 * of another process finds the program on the interface (its config names
 * a process of the cluster, cfg.loc_*), takes that process's socket and
 * memfd with pidfd_open + pidfd_getfd (ptrace rights over it), maps the
 * memfd and binds its own socket (its own RX ring) with XDP_SHARED_UMEM.
 * The fill ring, mapped through any bound member's socket, is the one ring
 * of the UMEM: every write to it is under pfxc.lock (robust and
 * process-shared: a member that dies holding it leaves it to the next).
 *
 *   field           written by
 *   version..umem_len  the first ring, at set_cluster (read-only after)
 *   members, member[]  enable and disable of any member, the reaper; under lock
 *   holder[]           set_cluster and close of any member, the reaper; under lock
 *   returned           whoever gives back a dead member's frames; under lock
 *   gb_*               a member giving frames back, for the length of it; under lock
 *
 * member[i] is the socket in xsks[i]: the program sends a packet to
 * member hash % members.  A member leaving slot i moves the last member
 * into slot i (as the kernel's fanout groups do), so member indices match
 * an AF_PACKET cluster of the same joins and leaves.  The receive path
 * gives a frame back to the fill ring before it releases its RX slot, so a
 * dead member's frames are all in its RX ring between the consumer and
 * producer indices: the reaper, which holds a duplicate of the member's
 * socket, takes the slot out, gives them back, and only then lets the
 * socket go.  The last holder out detaches the XDP program.
 */
#ifndef PFRING_XDP_CLUSTER_H
#define PFRING_XDP_CLUSTER_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>

#include "pfring_xdp.h"

#define PFXC_VERSION 1
#define PFXC_MAX     PFRING_XDP_MAX_QUEUES   /* members: slots of xsks */
#define PFXC_HDR     4096

struct pfxc_proc {
  int32_t pid;          /* 0: an empty entry */
  int32_t xsk_fd;       /* its socket, as a number in that process */
  int32_t memfd;        /* its memfd of the UMEM, likewise */
  uint32_t pad;
};

struct pfxc {
  uint32_t version;     /* PFXC_VERSION */
  uint32_t cluster_id;
  uint32_t type;        /* cluster_type */
  uint32_t queue;
  int32_t ifindex;
  uint32_t num_frames;  /* RX frames: the fill and RX rings' size */
  uint64_t umem_len;
  uint32_t prog_id;     /* the XDP program holding the queue */
  uint32_t members;     /* in xsks[0..members-1] */
  uint64_t returned;    /* frames of dead members given back */
  pthread_mutex_t lock;
  /* The give-back under way (pfxc_journal): a member dying between its
   * fill ring's new producer index and its RX ring's new consumer index
   * leaves here which of the two it reached. */
  int32_t gb_pid, gb_xsk_fd;
  uint32_t gb_fill_prod, gb_rx_cons;
  struct pfxc_proc member[PFXC_MAX];
  struct pfxc_proc holder[PFXC_MAX];
};

_Static_assert(sizeof(struct pfxc) <= PFXC_HDR, "the cluster header fits its page");

static inline void pfxc_lock(struct pfxc *c)
{
  if (pthread_mutex_lock(&c->lock) == EOWNERDEAD)
    pthread_mutex_consistent(&c->lock);
}

static inline void pfxc_unlock(struct pfxc *c)
{
  pthread_mutex_unlock(&c->lock);
}

static inline int pfxc_init_lock(struct pfxc *c)
{
  pthread_mutexattr_t a;
  int rc;

  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  rc = pthread_mutex_init(&c->lock, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

/* fd number fd of process pid, duplicated here: an fd, or -1 (errno). */
static inline int pfxc_take_fd(int pid, int fd)
{
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), got, err;

  if (pidfd < 0)
    return -1;
  got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
  err = errno;
  close(pidfd);
  errno = err;
  return got;
}

/* The config's member count and locator from the header (under lock). */
static inline int pfxc_sync_cfg(struct pfxc *c, int cfg_fd)
{
  struct pfring_xdp_cfg cfg;
  uint32_t zero = 0, i;

  if (bpf_map_lookup_elem(cfg_fd, &zero, &cfg) < 0)
    return -1;
  cfg.cluster_members = c->members;
  cfg.cluster_id = c->cluster_id;
  cfg.loc_pid = 0;
  for (i = 0; i < PFXC_MAX; i++)
    if (c->holder[i].pid) {
      cfg.loc_pid = c->holder[i].pid;
      cfg.loc_xsk_fd = c->holder[i].xsk_fd;
      cfg.loc_memfd = c->holder[i].memfd;
      break;
    }
  return bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY);
}

/* Member (pid, xsk_fd) takes the next slot; sock is its socket here.
 * Under lock.  0 or -1 (errno). */
static inline int pfxc_enter(struct pfxc *c, int xsks_fd, int cfg_fd, int pid, int xsk_fd,
                             int sock)
{
  uint32_t i = c->members;

  if (i >= PFXC_MAX) {
    errno = ENOSPC;
    return -1;
  }
  if (bpf_map_update_elem(xsks_fd, &i, &sock, BPF_ANY) < 0)
    return -1;
  c->member[i].pid = pid;
  c->member[i].xsk_fd = xsk_fd;
  c->members = i + 1;
  return pfxc_sync_cfg(c, cfg_fd);
}

/* Member (pid, xsk_fd) leaves its slot, if it has one: the last member
 * moves into it (its socket taken from its process, unless that is this
 * one with sock_here), then the count shrinks.  Under lock. */
static inline void pfxc_leave(struct pfxc *c, int xsks_fd, int cfg_fd, int pid, int xsk_fd)
{
  uint32_t i, last;
  int fd;

  for (i = 0; i < c->members; i++)
    if (c->member[i].pid == pid && c->member[i].xsk_fd == xsk_fd)
      break;
  if (i == c->members)
    return;
  last = c->members - 1;
  if (i != last) {
    fd = c->member[last].pid == (int32_t)getpid() ? dup(c->member[last].xsk_fd)
                                                   : pfxc_take_fd(c->member[last].pid,
                                                                  c->member[last].xsk_fd);
    if (fd >= 0 && bpf_map_update_elem(xsks_fd, &i, &fd, BPF_ANY) == 0) {
      c->member[i] = c->member[last];
    } else {
      /* The last one cannot be moved: the slot stays, empty (its flows
       * are dropped and counted), and the count stays. */
      bpf_map_delete_elem(xsks_fd, &i);
      memset(&c->member[i], 0, sizeof(c->member[i]));
      if (fd >= 0)
        close(fd);
      return;
    }
    close(fd);
  }
  c->members = last;
  pfxc_sync_cfg(c, cfg_fd);
  bpf_map_delete_elem(xsks_fd, &last);
  memset(&c->member[last], 0, sizeof(c->member[last]));
}

/* Adds or drops a holder (pid, xsk_fd, memfd).  Under lock.  The holders
 * left. */
static inline int pfxc_hold(struct pfxc *c, int cfg_fd, int pid, int xsk_fd, int memfd, int add)
{
  int i, n = 0, done = 0;

  for (i = 0; i < PFXC_MAX; i++) {
    struct pfxc_proc *h = &c->holder[i];
    if (!done && add && !h->pid) {
      h->pid = pid;
      h->xsk_fd = xsk_fd;
      h->memfd = memfd;
      done = 1;
    } else if (!done && !add && h->pid == pid && h->xsk_fd == xsk_fd) {
      memset(h, 0, sizeof(*h));
      done = 1;
    }
    n += h->pid != 0;
  }
  pfxc_sync_cfg(c, cfg_fd);
  return n;
}

/* Gives every frame in the RX ring of sock (member (pid, xsk_fd)'s socket)
 * back to the UMEM's fill ring, mapped through the same socket.  Under
 * lock.  The number given back, or -1. */
static inline long pfxc_return_rx(struct pfxc *c, int sock, int pid, int xsk_fd)
{
  struct xdp_mmap_offsets off;
  socklen_t len = sizeof(off);
  size_t rx_len, fr_len;
  uint32_t n = c->num_frames, cons, prod, fprod, fcons;
  uint8_t *rx, *fr;
  long moved = 0;

  if (getsockopt(sock, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) < 0)
    return -1;
  rx_len = off.rx.desc + (size_t)n * sizeof(struct xdp_desc);
  fr_len = off.fr.desc + (size_t)n * sizeof(uint64_t);
  rx = mmap(NULL, rx_len, PROT_READ | PROT_WRITE, MAP_SHARED, sock, XDP_PGOFF_RX_RING);
  if (rx == MAP_FAILED)
    return -1;
  fr = mmap(NULL, fr_len, PROT_READ | PROT_WRITE, MAP_SHARED, sock, XDP_UMEM_PGOFF_FILL_RING);
  if (fr == MAP_FAILED) {
    munmap(rx, rx_len);
    return -1;
  }
  cons = *(uint32_t *)(rx + off.rx.consumer);
  prod = __atomic_load_n((uint32_t *)(rx + off.rx.producer), __ATOMIC_ACQUIRE);
  fprod = *(uint32_t *)(fr + off.fr.producer);
  if (c->gb_pid == pid && c->gb_xsk_fd == xsk_fd) {
    /* Its owner died giving frames back: if they reached the fill ring,
     * their RX slots are released here, not given back twice. */
    if (fprod == c->gb_fill_prod)
      cons = c->gb_rx_cons;
    c->gb_pid = 0;
  }
  fcons = __atomic_load_n((uint32_t *)(fr + off.fr.consumer), __ATOMIC_ACQUIRE);
  for (; cons != prod && fprod - fcons < n; cons++, fprod++, moved++) {
    const struct xdp_desc *d = (const struct xdp_desc *)(rx + off.rx.desc) + (cons & (n - 1));
    ((uint64_t *)(fr + off.fr.desc))[fprod & (n - 1)] =
      d->addr & ~(uint64_t)(4096 - 1);
  }
  __atomic_store_n((uint32_t *)(fr + off.fr.producer), fprod, __ATOMIC_RELEASE);
  __atomic_store_n((uint32_t *)(rx + off.rx.consumer), cons, __ATOMIC_RELEASE);
  munmap(rx, rx_len);
  munmap(fr, fr_len);
  return moved;
}

#endif /* PFRING_XDP_CLUSTER_H */
