/*
 * af_xdp.c - the zc:/dna:/xdp: backend: one AF_XDP socket per RX queue of
 * the ring (zc:eth0@3: one; zc:eth0@0,zc:eth0@1 or zc:eth0@0,1: two;
 * zc:eth0: every queue of eth0), all on one UMEM, fed by one XDP program of
 * our own (kernel/xdp/pfring_xdp.bpf.c) that sits in libxdp's dispatcher
 * beside other programs of the interface.
 *
 * Life of a handle
 *   activate  check the queues, sweep programs of dead owners off the
 *             interface, map the UMEM (packet buffers: num_frames per
 *             socket, then the TX frames), create the sockets and bind each
 *             to DEV/queue (zero-copy if the driver can, else copy;
 *             PF_RING_ZC_MODE; the first owns the UMEM, the others share it
 *             with XDP_SHARED_UMEM, each with its own fill ring holding its
 *             own frames), open the skeleton and attach the program through
 *             libxdp (native XDP only), start the reaper.  The sockets are
 *             not in the program's map yet, so the queues' traffic still
 *             passes to the stack.
 *   enable    put the sockets in the map: from here on the program redirects
 *             the queues' packets into them (and away from the stack).
 *   disable   take them out again.
 *   close     detach our program by its id (the dispatcher goes with the
 *             last program), close the sockets, tell the reaper; unmap the
 *             UMEM, or leave that to the last pfring_release_packet_memory
 *             of a caller that keeps it.
 *
 * The reaper (kernel/xdp/reaper.c, pfring-xdp-reaper beside libpfring.so)
 * is a process of its own, started with a pipe as its stdin.  When the pipe
 * reaches end of file (closed here, or the process died, even by SIGKILL)
 * it detaches the program by id if it is still attached.  A ring opened
 * later on the interface also sweeps: a program of ours whose owner (pid
 * and start time, in its config map) is gone is detached by id.
 *
 * Clusters (pfring_set_cluster on a ring of one queue; the layout and the
 * steps are in kernel/xdp/pfring_xdp_cluster.h)
 *   The first ring of the cluster on the queue makes it: its memfd's first
 *   page becomes the shared header, its program gets the type's hash and
 *   redirects to xsks[hash % members].  A ring of another process opened on
 *   that queue cannot bind at activate (EBUSY): it finds the cluster's
 *   program there and stays pending, with no socket, until its
 *   set_cluster takes a member's socket and memfd (pidfd_getfd) and binds
 *   its own socket with XDP_SHARED_UMEM.  Enable takes the next member
 *   slot, disable and close leave it (the last member moves in); the fill
 *   ring is written under the header's lock.  A member's reaper holds its
 *   socket and does the leaving of a member that died, its frames given
 *   back; the last one out detaches the program.
 *
 * Receive path (no system call, allocation or copy per packet)
 *   Descriptors are peeked from an RX ring in batches; packets are handed
 *   out as pointers into the UMEM.  What was handed out is given back
 *   (its frames to its socket's fill ring, its slots to the RX ring) at a
 *   later receive call, so the last pointer stays valid until the next
 *   call.  With several sockets the reader takes a batch of one, then of
 *   the next one with packets (round robin; each queue's order is kept).
 *   The kernel writes no timestamp: a batch takes the time it was peeked at
 *   (clock_gettime, a vDSO call).  poll() only when every RX ring is empty;
 *   the selectable fd of a ring of several sockets is an epoll fd over
 *   them.
 *
 * Transmit path (through the first socket, the ring's lowest queue)
 *   The UMEM has AFX_TX_FRAMES frames more than the fill rings get; they
 *   are the TX frames, kept on a free stack.  pfring_send reaps the
 *   completion ring (completed frames back on the stack), copies the packet
 *   into a free frame and puts its descriptor on the TX ring.  The kernel
 *   is kicked (sendto MSG_DONTWAIT) when pfring_send is asked to flush,
 *   when AFX_TX_KICK_AT descriptors are waiting, and by
 *   pfring_flush_tx_packets, which then also waits, up to AFX_FLUSH_MS,
 *   until every frame sent is completed.  No free frame or TX slot (the
 *   kernel is behind): PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, try again.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <linux/if_xdp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "pfring_int.h"
#include "pfring_xdp.h"
#include "pfring_xdp_cluster.h"
#include "pfring_xdp.skel.h"

#define AFX_PROG_NAME    "pfring_xdp_rx"     /* with the BPF filter */
#define AFX_PROG_NAME_NF "pfring_xdp_rxnf"   /* without it (no CAP_PERFMON) */
/* A held batch is let go once it fills this part of the RX ring, as a
 * TPACKET_V3 block (one of eight) goes to the reader when it is full. */
#define AFX_BATCH_PART 8
#define AFX_FRAME_SIZE   XSK_UMEM__DEFAULT_FRAME_SIZE    /* 4096 */
#define AFX_MIN_FRAMES   64
#define AFX_MAX_FRAMES   65536
#define AFX_BATCH        64          /* descriptors peeked at once */
#define AFX_RELEASE_AT   32          /* recv(): give back this many at once */
#define AFX_REAPER       "pfring-xdp-reaper"
#define AFX_BUSY_TRIES   100         /* x 10 ms: a queue just given up */
#define AFX_TX_FRAMES    512         /* TX frames = TX ring = completion ring */
#define AFX_TX_KICK_AT   32          /* queued descriptors that kick the kernel */
#define AFX_FLUSH_MS     1000        /* pfring_flush_tx_packets waits this long at most */

enum afx_mode { AFX_AUTO, AFX_ZEROCOPY, AFX_COPY };

/* One AF_XDP socket: one RX queue of the ring.  A ring has one per queue
 * it serves (PRIV(r)->q[0..nq-1]), all on the one UMEM (XDP_SHARED_UMEM:
 * each socket has its own fill and completion rings and its own
 * num_frames frames); the first one also has the TX ring. */
struct afx_q {
  struct xsk_ring_cons rx;
  struct xsk_ring_prod fill;
  u_int32_t next_idx;            /* next peeked descriptor to hand out */
  u_int32_t avail;               /* peeked, not yet handed out */
  u_int32_t held_idx;            /* first handed-out descriptor not given back */
  u_int32_t held;                /* handed out, not given back */
  struct timespec batch_ts;      /* when the current batch was peeked */
  /* The last filter swap of an enabled ring: the RX ring's producer index
   * and the time right after it.  Descriptors before that index passed the
   * old filter; they are stamped swap_ts (they arrived before it), so the
   * core's check of the queued packets (PFRING_BPF_FILTER_QUEUED) sees
   * them.  swap_pending: some of them may still be unread. */
  u_int32_t swap_prod;
  struct timespec swap_ts;
  u_int8_t swap_pending;
  u_int8_t in_map;               /* the socket is in pfring_xsks */
  u_int32_t released;            /* the RX producer index when the last batch was let go */
  u_int32_t queue;
  int fd;
  struct xsk_socket *xsk;
  struct xsk_ring_cons comp;     /* the first socket's serves the TX ring */
  struct pfxc *cl;               /* a cluster member: the fill ring is shared (pfxc.lock) */
};

struct afx_priv {
  /* --- read path --- */
  struct afx_q *cur;             /* the socket being read (round robin, a batch each) */
  struct afx_q *q;               /* nq sockets, by rising queue */
  u_int32_t nq;
  u_int8_t swap_any;             /* a socket may hold unread frames of the old filter */
  u_int8_t *umem_area;
  struct pfringint_mem *umem_mem;  /* umem_area's references (keep.c) */
  int ifindex;
  int efd;                       /* eventfd that wakes poll() */
  int promisc_fd;                /* a packet socket for PACKET_MR_PROMISC (afx_set_promisc) */
  u_int32_t batch_ms;            /* pfring_set_batching: hold a wake-up up to this; <= 1: none */
  struct timespec batch_t0;      /* when the held batch's first packet was seen; 0: none */
  u_int32_t batch_seen;          /* packets queued at the held batch's last look */
  u_int32_t batch_step;          /* its last sleep (ms), see hold_step */

  /* --- transmit path --- */
  struct xsk_ring_prod tx;
  u_int64_t *tx_free;            /* AFX_TX_FRAMES frame addresses */
  u_int32_t tx_nfree;            /* on the stack */
  u_int32_t tx_queued;           /* on the TX ring since the last kick */
  u_int32_t max_tx_len;          /* MTU + Ethernet header at open */

  /* --- kernel objects --- */
  struct xsk_umem *umem;
  size_t umem_len;
  u_int32_t num_frames;          /* per socket (its fill and RX rings' size) */
  u_int64_t queue_mask;          /* the queues of q[] */
  int epfd;                      /* with several sockets: the selectable fd (epoll over them) */
  u_int8_t zerocopy;
  struct pfring_xdp *skel;
  struct xdp_program *prog;
  u_int32_t prog_id;
  int xsks_fd, stats_fd, cfg_fd, sampler_fd, filters_fd;
  u_int8_t has_filter;           /* pfring_filters' slot holds a program */
  u_int8_t filter_in_xdp;        /* AFX_PROG_NAME is attached (not AFX_PROG_NAME_NF) */
  u_int64_t *percpu;             /* one counter per possible CPU */
  int ncpus;
  pid_t reaper_pid;
  int reaper_fd;                 /* write end of the reaper's stdin */

  /* --- a zc: cluster (pfring_xdp_cluster.h) --- */
  int memfd;                     /* the UMEM's file: the header page, then the UMEM */
  struct pfxc *cl;               /* the header, mapped; NULL: not a member */
  u_int8_t pending;              /* the queue is a cluster's: no socket until set_cluster */
  u_int8_t joiner;               /* joined another process's UMEM (no TX ring) */
  u_int8_t in_cluster_map;       /* has a slot of xsks */
  u_int32_t pending_cluster;     /* that cluster's id */
  int pending_sock;              /* the AF_XDP socket it will bind at the join */
  u_int32_t pending_prog;        /* the program of the cluster holding the queue */
  void *rx_map;                  /* a joiner's RX ring mapping */
  size_t rx_map_len;
  void *fill_map;                /* a joiner's mapping of the shared fill ring */
  size_t fill_map_len;
};

#define PRIV(r) ((struct afx_priv *)(r)->priv)

/* ------------------------------------------------------------------------ */
/* libbpf and libxdp diagnostics: through pfring_set_print, at debug level
 * (a verifier log included), set once per process.                         */

static int afx_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
  if (level != LIBXDP_DEBUG)
    pfringint_log_library_line("libxdp", fmt, ap);
  return 0;
}

static pthread_once_t print_once = PTHREAD_ONCE_INIT;

static void set_prints(void)
{
  pfringint_libbpf_logs();
  libxdp_set_print(afx_libxdp_print);
}

/* ------------------------------------------------------------------------ */
/* Owners: pid and start time, so that a reused pid is not taken for the
 * ring's process.                                                           */

static u_int64_t start_time_of(pid_t pid)
{
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  int field;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (pfringint_read_small(path, buf, sizeof(buf)) < 0)
    return 0;
  p = strrchr(buf, ')');        /* the command name may hold blanks */
  if (!p)
    return 0;
  for (field = 2; *p && field < 22; p++)
    if (*p == ' ')
      field++;
  if (sscanf(p, "%llu", &start) != 1)
    return 0;
  return start;
}

/* 1 if the owner recorded in a program's config is still running. */
static int owner_alive(const struct pfring_xdp_cfg *cfg)
{
  if (cfg->owner_pid == 0)
    return 1;                   /* not ours to judge */
  if (cfg->cluster_id && cfg->loc_pid > 0 && kill((pid_t)cfg->loc_pid, 0) == 0)
    return 1;                   /* a zc: cluster's: one of its processes lives */
  if (kill((pid_t)cfg->owner_pid, 0) < 0 && errno == ESRCH)
    return 0;
  return start_time_of((pid_t)cfg->owner_pid) == cfg->owner_start;
}

/* One of our two programs, by its name. */
static int is_ours(const char *name)
{
  return name && (strcmp(name, AFX_PROG_NAME) == 0 || strcmp(name, AFX_PROG_NAME_NF) == 0);
}

/* The config of a loaded program of ours (by its map ids); 0 or -1. */
static int read_owner(int prog_fd, struct pfring_xdp_cfg *cfg)
{
  struct bpf_prog_info info;
  struct bpf_map_info minfo;
  u_int32_t ids[8], len = sizeof(info), mlen, i, zero = 0;
  int rc = -1;

  memset(&info, 0, sizeof(info));
  info.nr_map_ids = 8;
  info.map_ids = (u_int64_t)(unsigned long)ids;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
    return -1;
  for (i = 0; i < info.nr_map_ids && i < 8 && rc < 0; i++) {
    int fd = bpf_map_get_fd_by_id(ids[i]);
    if (fd < 0)
      continue;
    memset(&minfo, 0, sizeof(minfo));
    mlen = sizeof(minfo);
    if (bpf_obj_get_info_by_fd(fd, &minfo, &mlen) == 0 &&
        strcmp(minfo.name, "pfring_config") == 0 &&
        minfo.value_size == sizeof(*cfg) &&
        bpf_map_lookup_elem(fd, &zero, cfg) == 0)
      rc = 0;
    close(fd);
  }
  return rc;
}

/* The sweep: detach, by id, every program of ours on ifindex whose owner
 * is gone.  Programs of others are never touched. */
static void sweep(int ifindex)
{
  struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
  struct xdp_program *p = NULL;
  u_int32_t dead[16];
  int n = 0, i;

  if (libxdp_get_error(mp) || !mp)
    return;
  if (xdp_multiprog__is_legacy(mp))
    p = xdp_multiprog__main_prog(mp);
  else
    p = xdp_multiprog__next_prog(NULL, mp);
  for (; p && n < 16; p = xdp_multiprog__is_legacy(mp) ? NULL : xdp_multiprog__next_prog(p, mp)) {
    struct pfring_xdp_cfg cfg;
    if (!is_ours(xdp_program__name(p)))
      continue;
    if (read_owner(xdp_program__fd(p), &cfg) == 0 && !owner_alive(&cfg))
      dead[n++] = xdp_program__id(p);
  }
  xdp_multiprog__close(mp);
  for (i = 0; i < n; i++) {
    struct xdp_program *d = xdp_program__from_id(dead[i]);
    if (libxdp_get_error(d))
      continue;
    if (xdp_program__detach(d, ifindex, XDP_MODE_UNSPEC, 0) == 0)
      pfringint_log(2, "zc: removed XDP program %u of a process that is gone from "
                    "ifindex %d", dead[i], ifindex);
    xdp_program__close(d);
  }
}

/* ------------------------------------------------------------------------ */
/* The reaper                                                                */

static int reaper_path(char *out, size_t len)
{
  Dl_info info;
  const char *slash;

  if (!dladdr((void *)reaper_path, &info) || !info.dli_fname)
    return -1;
  slash = strrchr(info.dli_fname, '/');
  if (!slash)
    return snprintf(out, len, "./%s", AFX_REAPER) < (int)len ? 0 : -1;
  return snprintf(out, len, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
                  AFX_REAPER) < (int)len ? 0 : -1;
}

extern char **environ;

/* Starts the reaper of this ring's program: in a session of its own (so a
 * terminal's Ctrl-C does not reach it), in the caller's namespaces. */
static void start_reaper(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  char path[PATH_MAX], ifx[16], id[16], pid[16], xsk[16];
  char *argv[] = { path, ifx, id, pid, NULL, NULL, NULL };
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, dfl;
  int pfd[2], rc;

  if (reaper_path(path, sizeof(path)) < 0 || access(path, X_OK) < 0) {
    pfringint_log(1, "zc: %s not found beside libpfring; the XDP program of '%s' stays "
                  "attached if this process dies (the next ring on it removes it)",
                  AFX_REAPER, ring->bound_name);
    return;
  }
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return;
  snprintf(ifx, sizeof(ifx), "%d", p->ifindex);
  snprintf(id, sizeof(id), "%u", p->prog_id);
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
  if (p->cl) {
    /* A cluster member's reaper does the member's leaving if it dies
     * (pfring_xdp_cluster.h): it holds a duplicate of the socket (its
     * frames stay reachable), the memfd and the two maps. */
    snprintf(id, sizeof(id), "%u", p->cl->prog_id);
    snprintf(xsk, sizeof(xsk), "%d", p->q[0].fd);
    argv[4] = "cluster";
    argv[5] = xsk;
    posix_spawn_file_actions_adddup2(&fa, p->q[0].fd, 3);
    posix_spawn_file_actions_adddup2(&fa, p->memfd, 4);
    posix_spawn_file_actions_adddup2(&fa, p->xsks_fd, 5);
    posix_spawn_file_actions_adddup2(&fa, p->cfg_fd, 6);
  }
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dfl);
  rc = posix_spawn(&p->reaper_pid, path, &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(pfd[0]);
  if (rc != 0) {
    close(pfd[1]);
    p->reaper_pid = 0;
    pfringint_log(1, "zc: cannot start %s: %s", path, strerror(rc));
    return;
  }
  p->reaper_fd = pfd[1];
}

static void stop_reaper(struct afx_priv *p)
{
  if (p->reaper_fd >= 0)
    close(p->reaper_fd);        /* end of file: it looks, finds nothing, exits */
  p->reaper_fd = -1;
  if (p->reaper_pid > 0)
    while (waitpid(p->reaper_pid, NULL, 0) < 0 && errno == EINTR)
      ;
  p->reaper_pid = 0;
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */

/* Gives back what was handed out before this call: the frames to the fill
 * ring (it has room for every frame), the slots to the RX ring. */
static inline void give_back(struct afx_q *p)
{
  u_int32_t i, idx = 0, n = p->held;

  if (!n)
    return;
  if (p->cl) {                  /* other processes write the fill ring too */
    pfxc_lock(p->cl);
    p->fill.cached_prod = *p->fill.producer;
    p->fill.cached_cons = __atomic_load_n(p->fill.consumer, __ATOMIC_ACQUIRE) + p->fill.size;
  }
  if (xsk_ring_prod__reserve(&p->fill, n, &idx) == n) {
    for (i = 0; i < n; i++)
      *xsk_ring_prod__fill_addr(&p->fill, idx + i) =
        xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&p->rx, p->held_idx + i)->addr);
    if (p->cl) {                /* for the reaper, should we die in between */
      p->cl->gb_fill_prod = idx + n;
      p->cl->gb_rx_cons = *p->rx.consumer + n;
      p->cl->gb_xsk_fd = p->fd;
      __atomic_store_n(&p->cl->gb_pid, (int32_t)getpid(), __ATOMIC_RELEASE);
    }
    xsk_ring_prod__submit(&p->fill, n);
  }
  xsk_ring_cons__release(&p->rx, n);
  if (p->cl) {
    p->cl->gb_pid = 0;
    pfxc_unlock(p->cl);
  }
  p->held_idx += n;
  p->held = 0;
}

static inline void give_back_all(struct afx_priv *p)
{
  u_int32_t i;

  for (i = 0; i < p->nq; i++)
    give_back(&p->q[i]);
}

/* Peeks the next batch of one socket if its current one is used up: 1 if
 * a packet is ready. */
static inline int peek_q(struct afx_q *p)
{
  u_int32_t idx = 0, want = AFX_BATCH, before = 0;
  int old = 0;

  if (p->avail)
    return 1;
  give_back(p);
  if (__builtin_expect(__atomic_load_n(&p->swap_pending, __ATOMIC_ACQUIRE), 0)) {
    before = p->swap_prod - p->rx.cached_cons;
    if ((int32_t)before > 0) {
      old = 1;                    /* a batch of the old filter's packets only */
      if (before < want)
        want = before;
    } else {
      __atomic_store_n(&p->swap_pending, 0, __ATOMIC_RELAXED);
    }
  }
  p->avail = xsk_ring_cons__peek(&p->rx, want, &idx);
  if (!p->avail)
    return 0;
  p->next_idx = idx;
  if (old)
    p->batch_ts = p->swap_ts;
  else
    clock_gettime(CLOCK_REALTIME, &p->batch_ts);
  return 1;
}

/* Several sockets: the current one's batch is used up, so everything
 * handed out goes back, and the next socket with packets after it (round
 * robin, one batch each; each socket's packets stay in their order)
 * becomes the current one.  After a filter swap, the frames the old filter
 * kept on every socket come before any frame of the new one: the core
 * checks queued frames until the first one stamped after the swap. */
static int peek_next(struct afx_priv *p)
{
  u_int32_t i, c = (u_int32_t)(p->cur - p->q);

  give_back_all(p);
  if (__builtin_expect(__atomic_load_n(&p->swap_any, __ATOMIC_ACQUIRE), 0)) {
    for (i = 0; i < p->nq; i++) {
      struct afx_q *q = &p->q[i];
      if (__atomic_load_n(&q->swap_pending, __ATOMIC_ACQUIRE) &&
          (int32_t)(q->swap_prod - q->rx.cached_cons) > 0 && peek_q(q)) {
        p->cur = q;
        return 1;
      }
    }
    __atomic_store_n(&p->swap_any, 0, __ATOMIC_RELAXED);
  }
  for (i = 1; i <= p->nq; i++) {
    struct afx_q *q = &p->q[(c + i) % p->nq];
    if (peek_q(q)) {
      p->cur = q;
      return 1;
    }
  }
  return 0;
}

/* 1 if a packet is ready in the current socket (a new batch peeked if
 * need be). */
static inline int peek(struct afx_priv *p)
{
  if (p->cur->avail)
    return 1;
  if (p->nq == 1)
    return peek_q(p->cur);
  return peek_next(p);
}

static void drain_eventfd(struct afx_priv *p)
{
  u_int64_t v;
  while (read(p->efd, &v, sizeof(v)) > 0)
    ;
}

/* One poll() on the sockets and the wake-up eventfd: 0, WAIT_SIGNALLED, or
 * <0 on error. */
static int wait_readable(pfring *ring, int timeout_ms)
{
  struct afx_priv *p = PRIV(ring);
  struct pollfd pfd[1 + PFRING_XDP_MAX_QUEUES];
  u_int32_t i;
  int rc, err = 0;

  pfd[0].fd = p->efd;
  pfd[0].events = POLLIN;
  for (i = 0; i < p->nq; i++) {
    pfd[1 + i].fd = p->q[i].fd;
    pfd[1 + i].events = POLLIN;
  }
  rc = poll(pfd, 1 + p->nq, timeout_ms);
  if (rc < 0)
    return errno == EINTR ? WAIT_SIGNALLED
                          : pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "poll failed");
  if (rc > 0 && (pfd[0].revents & POLLIN))
    drain_eventfd(p);
  for (i = 0; rc > 0 && i < p->nq; i++)
    err |= pfd[1 + i].revents & (POLLERR | POLLHUP | POLLNVAL);
  if (err) {
    if (pfringint_ifindex(-1, ring->spec.devices[0]) != p->ifindex)
      return pfringint_seterr(ring, PF_RING_ERROR_BAD_IFNAME, ENODEV,
                              "interface '%s' disappeared", ring->spec.devices[0]);
    poll(NULL, 0, timeout_ms >= 0 && timeout_ms < 10 ? timeout_ms : 10);
  }
  return 0;
}

static inline int ready_or_wait(pfring *ring, u_int8_t wait)
{
  struct afx_priv *p = PRIV(ring);
  int rc;

  while (!peek(p)) {
    if (!wait || ring->break_recv_loop)
      return 0;
    if ((rc = wait_readable(ring, (int)ring->poll_duration)) < 0)
      return rc;
    if (ring->break_recv_loop)
      return 0;
  }
  return 1;
}

static int afx_recv(pfring *ring, u_char **buffer, struct pfring_pkthdr *hdr, u_int8_t wait)
{
  struct afx_priv *pr = PRIV(ring);
  struct afx_q *p = pr->cur;
  const struct xdp_desc *d;
  int rc;

  if (p->held >= AFX_RELEASE_AT)
    give_back(p);
  if ((rc = ready_or_wait(ring, wait)) <= 0)
    return rc;
  p = pr->cur;
  d = xsk_ring_cons__rx_desc(&p->rx, p->next_idx);
  p->next_idx++;
  p->avail--;
  p->held++;
  hdr->ts.tv_sec = p->batch_ts.tv_sec;
  hdr->ts.tv_usec = p->batch_ts.tv_nsec / 1000;
  hdr->len = d->len;
  hdr->caplen = d->len < ring->caplen ? d->len : ring->caplen;
  hdr->extended_hdr.timestamp_ns = (u_int64_t)p->batch_ts.tv_sec * 1000000000ull +
                                   (u_int64_t)p->batch_ts.tv_nsec;
  hdr->extended_hdr.flags = 0;
  hdr->extended_hdr.rx_direction = 1;
  hdr->extended_hdr.port_id = 0;
  hdr->extended_hdr.device_id = 0;
  hdr->extended_hdr.if_index = pr->ifindex;
  hdr->extended_hdr.pkt_hash = 0;
  *buffer = xsk_umem__get_data(pr->umem_area, d->addr);
  return 1;
}

static int afx_recv_burst(pfring *ring, struct pfring_burst_pkt *out, u_int max, u_int8_t wait)
{
  struct afx_priv *pr = PRIV(ring);
  struct afx_q *p;
  u_int32_t i, n, caplen = ring->caplen;
  int rc;

  give_back_all(pr);             /* everything the last calls handed out */
  if ((rc = ready_or_wait(ring, wait)) <= 0)
    return rc;
  p = pr->cur;                   /* a burst is of one socket */
  n = p->avail < max ? p->avail : max;
  for (i = 0; i < n; i++) {
    const struct xdp_desc *d = xsk_ring_cons__rx_desc(&p->rx, p->next_idx + i);
    struct pfring_burst_pkt *o = &out[i];

    o->data = xsk_umem__get_data(pr->umem_area, d->addr);
    o->ts_sec = (u_int64_t)p->batch_ts.tv_sec;
    o->ts_nsec = (u_int32_t)p->batch_ts.tv_nsec;
    o->len = d->len;
    o->caplen = d->len < caplen ? d->len : caplen;
    o->if_index = pr->ifindex;
    o->rx_direction = 1;
    o->flags = 0;
  }
  p->next_idx += n;
  p->avail -= n;
  p->held += n;
  return (int)n;
}

static u_int32_t queued(struct afx_priv *pr)
{
  u_int32_t i, n = 0;

  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  for (i = 0; i < pr->nq; i++) {
    struct afx_q *p = &pr->q[i];
    n += p->avail + (__atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE) - p->rx.cached_cons);
  }
  return n;
}

/* 1 if a socket holds packets of a batch that was let go already (those
 * are not held again). */
static int released_unread(struct afx_priv *pr)
{
  u_int32_t i;

  for (i = 0; i < pr->nq; i++) {
    struct afx_q *p = &pr->q[i];
    if ((int32_t)(p->rx.cached_cons - p->avail - p->released) < 0)
      return 1;
  }
  return 0;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
  return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Waits for the eventfd alone (pfring_breakloop) up to ms: the RX ring is
 * readable already while a batch is held.  WAIT_SIGNALLED on a signal. */
static int wait_wake(pfring *ring, int ms)
{
  struct afx_priv *p = PRIV(ring);
  struct pollfd pfd = { .fd = p->efd, .events = POLLIN };
  int rc = poll(&pfd, 1, ms);

  if (rc < 0)
    return errno == EINTR ? WAIT_SIGNALLED
                          : pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "poll failed");
  if (rc > 0)
    drain_eventfd(p);
  return 0;
}

/* How long a held batch sleeps before it looks again (ms): the kernel gives
 * no wake-up when part of an AF_XDP RX ring is filled, so it looks every
 * 1 ms while packets come, and backs off (2, 4, then every AFX_HOLD_MAX_MS)
 * while none do, so that a slow stream costs a few wake-ups per batch and a
 * burst after a pause cannot overrun the ring; never past the batch time
 * or the caller's timeout. */
#define AFX_HOLD_MAX_MS 8
static long hold_step(struct afx_priv *p, u_int32_t ready, long held, long left)
{
  long step, rest = (long)p->batch_ms - held;

  if (held <= 0 || ready > p->batch_seen)
    step = 1;
  else
    step = p->batch_step * 2 > AFX_HOLD_MAX_MS ? AFX_HOLD_MAX_MS : p->batch_step * 2;
  p->batch_step = (u_int32_t)step;
  p->batch_seen = ready;
  if (step > rest)
    step = rest;
  if (step > left)
    step = left;
  return step < 1 ? 1 : step;
}

/* Ready once the watermark is reached; with batching (pfring_set_batching
 * above 1 ms), once an eighth of the RX ring is filled or batch_ms after the first
 * packet, as a TPACKET_V3 block retires, so a slow stream wakes the reader
 * once per batch instead of once per packet. */
static int afx_poll(pfring *ring, u_int wait_ms)
{
  struct afx_priv *p = PRIV(ring);
  struct timespec start, now;
  long left, held;
  u_int32_t i;
  int rc;

  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    u_int32_t ready = queued(p);

    clock_gettime(CLOCK_MONOTONIC, &now);
    left = (long)wait_ms - ms_between(&start, &now);
    if (ready >= ring->poll_watermark) {
      /* packets of a batch let go already are not held again */
      if (p->batch_ms <= 1 || ready >= p->q[0].rx.size / AFX_BATCH_PART || left <= 0 ||
          released_unread(p))
        goto ready;
      if (!p->batch_t0.tv_sec && !p->batch_t0.tv_nsec) {
        p->batch_t0 = now;
        p->batch_seen = ready;
        p->batch_step = 1;
      }
      held = ms_between(&p->batch_t0, &now);
      if (held >= (long)p->batch_ms)
        goto ready;
      if (ring->break_recv_loop)
        return 0;
      rc = wait_wake(ring, (int)hold_step(p, ready, held, left));
      if (rc < 0)
        return rc;
      if (rc == WAIT_SIGNALLED)
        return 0;
      continue;
    }
    if (ring->break_recv_loop)
      return 0;
    if (left <= 0)
      return 0;
    if ((rc = wait_readable(ring, ready ? 1 : (int)left)) < 0)
      return rc;
    if (rc == WAIT_SIGNALLED)
      return 0;                  /* as poll(2): the caller's signal handlers run now */
  }
ready:
  p->batch_t0.tv_sec = p->batch_t0.tv_nsec = 0;
  for (i = 0; i < p->nq; i++)
    p->q[i].released = __atomic_load_n(p->q[i].rx.producer, __ATOMIC_ACQUIRE);
  return 1;
}

static int afx_set_batching(pfring *ring, u_int timeout_ms, u_int block_bytes)
{
  /* 0: the block_timeout_ms parameter, as on AF_PACKET rings; block_bytes
   * is not used (a batch ends at an eighth of the RX ring) */
  PRIV(ring)->batch_ms = timeout_ms ? timeout_ms : (u_int32_t)pfringint_params()->block_timeout_ms;
  return 0;
}

static int afx_is_pkt_available(pfring *ring)
{
  return peek(PRIV(ring));
}

static u_int32_t afx_num_queued(pfring *ring)
{
  return queued(PRIV(ring));
}

static int afx_next_pkt_time(pfring *ring, struct timespec *ts)
{
  struct afx_priv *p = PRIV(ring);

  if (!peek(p))
    return PF_RING_ERROR_NO_PKT_AVAILABLE;
  *ts = p->cur->batch_ts;
  return 0;
}

static void afx_wake(pfring *ring)
{
  u_int64_t one = 1;
  if (write(PRIV(ring)->efd, &one, sizeof(one)) < 0) {
    /* The counter is full: a wake-up is already pending. */
  }
}

/* ------------------------------------------------------------------------ */
/* Transmitting                                                              */

/* Completed TX frames back on the free stack. */
static void reap(struct afx_priv *p)
{
  struct xsk_ring_cons *comp = &p->q[0].comp;
  u_int32_t i, idx = 0, n = xsk_ring_cons__peek(comp, AFX_TX_FRAMES, &idx);

  for (i = 0; i < n && p->tx_nfree < AFX_TX_FRAMES; i++)
    p->tx_free[p->tx_nfree++] = *xsk_ring_cons__comp_addr(comp, idx + i);
  if (n)
    xsk_ring_cons__release(comp, n);
}

/* The kernel takes what the TX ring holds (copy mode: in this call, up to
 * its budget; zero-copy: the driver is woken). */
static int kick(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);

  p->tx_queued = 0;
  if (sendto(p->q[0].fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
    return 0;
  switch (errno) {
  case EAGAIN: case EBUSY: case ENOBUFS: case EINTR:
    return 0;                   /* in progress, or busy: the next kick goes on */
  case ENETDOWN:
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, ENETDOWN,
                            "cannot send on '%s': interface is down", ring->bound_name);
  default:
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot send on '%s'", ring->bound_name);
  }
}

static int afx_send(pfring *ring, const u_char *pkt, u_int len, int if_index)
{
  struct afx_priv *p = PRIV(ring);
  struct xdp_desc *d;
  u_int32_t idx = 0;
  u_int64_t addr;
  int rc;

  if (if_index && if_index != p->ifindex) {
    char name[IFNAMSIZ] = "?";
    pfringint_if_name(-1, if_index, name);
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "if_index %d ('%s'): a zc: ring sends on its own interface "
                            "only ('%s', if_index %d)", if_index, name,
                            ring->spec.devices[0], p->ifindex);
  }
  if (len > p->max_tx_len)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EMSGSIZE,
                            "packet of %u bytes is longer than '%s' allows (%u bytes: "
                            "the MTU + 14-byte Ethernet header)", len,
                            ring->spec.devices[0], p->max_tx_len);
  reap(p);
  if (!p->tx_nfree || xsk_ring_prod__reserve(&p->tx, 1, &idx) != 1) {
    if ((rc = kick(ring)) < 0)
      return rc;
    reap(p);
    if (!p->tx_nfree || xsk_ring_prod__reserve(&p->tx, 1, &idx) != 1)
      return pfringint_seterr(ring, PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, ENOBUFS,
                              "the TX ring of '%s' is full (%u frames in flight): "
                              "try again", ring->bound_name, AFX_TX_FRAMES - p->tx_nfree);
  }
  addr = p->tx_free[--p->tx_nfree];
  memcpy(xsk_umem__get_data(p->umem_area, addr), pkt, len);
  d = xsk_ring_prod__tx_desc(&p->tx, idx);
  d->addr = addr;
  d->len = len;
  d->options = 0;
  xsk_ring_prod__submit(&p->tx, 1);
  if (++p->tx_queued >= AFX_TX_KICK_AT && (rc = kick(ring)) < 0)
    return rc;
  return (int)len;
}

/* Without wait: one kick if anything is queued.  With wait: kicks until
 * every frame sent has come back on the completion ring, AFX_FLUSH_MS at
 * most. */
static int afx_flush_tx(pfring *ring, u_int8_t wait)
{
  struct afx_priv *p = PRIV(ring);
  const struct timespec pause = { 0, 100 * 1000 };
  struct timespec start, now;
  int rc;

  if (!p->tx_free)
    return 0;
  if (!wait)
    return p->tx_queued ? kick(ring) : 0;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    reap(p);
    if (p->tx_nfree == AFX_TX_FRAMES)
      return 0;
    if ((rc = kick(ring)) < 0)
      return rc;
    reap(p);
    if (p->tx_nfree == AFX_TX_FRAMES)
      return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ms_between(&start, &now) >= AFX_FLUSH_MS)
      return pfringint_seterr(ring, PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, EAGAIN,
                              "'%s': %u frames sent are not completed after %d ms",
                              ring->bound_name, AFX_TX_FRAMES - p->tx_nfree, AFX_FLUSH_MS);
    nanosleep(&pause, NULL);
  }
}

/* ------------------------------------------------------------------------ */
/* Sampling, direction, clusters                                             */

/* The rate goes into the program's config, and the sampler's count starts
 * again, so the next packet is the first of N. */
static int afx_set_sampling(pfring *ring, u_int32_t rate)
{
  struct afx_priv *p = PRIV(ring);
  struct pfring_xdp_sampler zero_smp;
  struct pfring_xdp_cfg cfg;
  u_int32_t zero = 0;

  if ((p->cl || p->pending) && rate > 1)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "sampling on '%s': a zc: cluster member does not sample (one XDP "
                            "program serves every member of the queue)", ring->bound_name);
  memset(&zero_smp, 0, sizeof(zero_smp));
  if (bpf_map_lookup_elem(p->cfg_fd, &zero, &cfg) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot read the XDP program's config of '%s'",
                                  ring->bound_name);
  cfg.sample_rate = rate;
  if (bpf_map_update_elem(p->sampler_fd, &zero, &zero_smp, BPF_ANY) < 0 ||
      bpf_map_update_elem(p->cfg_fd, &zero, &cfg, BPF_ANY) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot set the sampling rate of '%s' in its XDP program",
                                  ring->bound_name);
  return 0;
}

/* The name of an ancillary load (SKF_AD_* offset) the XDP program cannot
 * give, with the reason; NULL for one it gives. */
static const char *xdp_unknown_ancillary(u_int32_t ad, const char **why)
{
  static const char *const no_skb = "a frame has no socket buffer yet where XDP runs";
  static const char *const tag_in_data = "XDP sees a VLAN tag in the frame's data, not as "
                                         "metadata: test it in the data (libpcap's 'vlan' does)";

  switch (ad) {
  case SKF_AD_PROTOCOL: case SKF_AD_PKTTYPE: case SKF_AD_IFINDEX: case SKF_AD_HATYPE:
  case SKF_AD_CPU: case SKF_AD_RANDOM:
    return NULL;
  case SKF_AD_MARK:             *why = no_skb; return "mark";
  case SKF_AD_RXHASH:           *why = no_skb; return "rxhash";
  case SKF_AD_QUEUE:            *why = "the ring's sockets are bound to their RX queues; a "
                                       "socket filter reads the queue + 1 or 0, as the "
                                       "driver records it";
                                return "queue";
  case SKF_AD_VLAN_TAG:         *why = tag_in_data; return "vlan_tci";
  case SKF_AD_VLAN_TAG_PRESENT: *why = tag_in_data; return "vlan_avail";
  case SKF_AD_VLAN_TPID:        *why = tag_in_data; return "vlan_tpid";
  case SKF_AD_NLATTR:           *why = "netlink only"; return "nla";
  case SKF_AD_NLATTR_NEST:      *why = "netlink only"; return "nlan";
  case SKF_AD_PAY_OFFSET:       *why = no_skb; return "poff";
  case SKF_AD_ALU_XOR_X:        *why = "an operation, not a load: the interpreter has none";
                                return "alu_xor_x";
  }
  *why = "the kernel's socket filter does not know it either";
  return "unknown";
}

/* Checks the ring's classic program for the XDP program: the kernel's own
 * classic BPF checker (a socket filter attached to a scratch socket, once
 * per filter change), then the ancillary loads XDP has no value for. */
static int check_classic(pfring *ring, const struct sock_fprog *prog)
{
  const char *name, *why = "";
  u_int32_t i;
  int fd, rc, err;

  if (prog->len > PFRING_XDP_CBPF_MAX)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, E2BIG,
                            "BPF program of %u instructions for the XDP program of '%s'; "
                            "it takes at most %d", prog->len, ring->bound_name,
                            PFRING_XDP_CBPF_MAX);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot check the BPF program of '%s'", ring->bound_name);
  rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog));
  err = errno;
  close(fd);
  if (rc < 0)
    return pfringint_seterr(ring, err == EINVAL ? PF_RING_ERROR_INVALID_ARGUMENT
                                                : pfringint_errno_to_rc(err), err,
                            "the kernel's classic BPF checker refuses the BPF program of "
                            "'%s' (%u instructions): %s%s", ring->bound_name, prog->len,
                            strerror(err), err == ENOMEM ? " (raise net.core.optmem_max)" : "");
  for (i = 0; i < prog->len; i++) {
    const struct sock_filter *in = &prog->filter[i];
    if (BPF_CLASS(in->code) != BPF_LD || BPF_MODE(in->code) != BPF_ABS ||
        in->k < (u_int32_t)SKF_AD_OFF)
      continue;
    if ((name = xdp_unknown_ancillary(in->k - (u_int32_t)SKF_AD_OFF, &why)))
      return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                              "the BPF program of '%s' loads the ancillary field '%s' "
                              "(SKF_AD_OFF + %u, instruction %u), which the XDP program of a "
                              "zc: ring cannot give (%s); run it in user space "
                              "(PFRING_BPF_FALLBACK, PF_RING_USERSPACE_BPF)",
                              ring->bound_name, name, in->k - (u_int32_t)SKF_AD_OFF, i, why);
  }
  return 0;
}

/* After a swap: the update of an array of maps returns once the XDP
 * programs that ran the old filter are done, so every frame it kept is on
 * the RX ring now, before the producer index read here. */
static void mark_swap(struct afx_priv *pr)
{
  u_int32_t i;

  for (i = 0; i < pr->nq; i++) {
    struct afx_q *p = &pr->q[i];
    if (!p->xsk)
      continue;                  /* (disabled: what it kept before may be unread) */
    p->swap_prod = __atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE);
    clock_gettime(CLOCK_REALTIME, &p->swap_ts);
    __atomic_store_n(&p->swap_pending, 1, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&pr->swap_any, 1, __ATOMIC_RELEASE);
}

/* A classic program into a fresh inner map (entry 0: the length; entry
 * i + 1: instruction i), put in pfring_filters' slot; 0 or -errno. */
static int put_program(int filters_fd, u_int32_t slot, const struct sock_fprog *prog)
{
  u_int32_t i;
  int fd, rc = 0, err = 0;

  fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pfring_xdp_filt", sizeof(u_int32_t),
                      sizeof(struct pfring_xdp_insn), PFRING_XDP_FILTER_ENTRIES, NULL);
  if (fd < 0)
    return -errno;
  for (i = 0; rc == 0 && i <= prog->len; i++) {
    struct pfring_xdp_insn in = { 0, 0, 0, prog->len };
    if (i > 0) {
      in.code = prog->filter[i - 1].code;
      in.jt = prog->filter[i - 1].jt;
      in.jf = prog->filter[i - 1].jf;
      in.k = prog->filter[i - 1].k;
    }
    if (bpf_map_update_elem(fd, &i, &in, BPF_ANY) < 0) {
      rc = -1;
      err = errno;
    }
  }
  if (rc == 0 && bpf_map_update_elem(filters_fd, &slot, &fd, BPF_ANY) < 0) {
    rc = -1;
    err = errno;
  }
  close(fd);
  return rc < 0 ? -err : 0;
}

/* The ring's program into a fresh inner map, swapped into pfring_filters'
 * slot with one update; len 0 empties the slot.  On failure the old
 * program stays in the slot. */
static int swap_filter(pfring *ring, const struct sock_fprog *prog)
{
  struct afx_priv *p = PRIV(ring);
  struct pfring_xdp_cfg cfg;
  u_int32_t zero = 0;
  int rc, err;

  if (!prog->len) {
    if (p->has_filter && bpf_map_delete_elem(p->filters_fd, &zero) < 0 && errno != ENOENT)
      return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                    "cannot take the BPF filter of '%s' out of its XDP program",
                                    ring->bound_name);
    p->has_filter = 0;
    return 0;
  }
  /* The device's address, for SKF_AD_PKTTYPE, as it is now. */
  if (bpf_map_lookup_elem(p->cfg_fd, &zero, &cfg) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot read the XDP program's config of '%s'",
                                  ring->bound_name);
  if (pfringint_if_hwaddr(pfringint_dev_fd(ring), ring->spec.devices[0], cfg.dev_mac) < 0)
    memset(cfg.dev_mac, 0, sizeof(cfg.dev_mac));
  if (bpf_map_update_elem(p->cfg_fd, &zero, &cfg, BPF_ANY) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot write the XDP program's config of '%s'",
                                  ring->bound_name);
  if ((rc = put_program(p->filters_fd, zero, prog)) < 0) {
    err = -rc;
    return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                            "cannot put the BPF filter of '%s' in its XDP program: %s%s",
                            ring->bound_name, strerror(err),
                            err == EPERM ? " (raise the locked-memory limit, or grant "
                                           "CAP_BPF)" : "");
  }
  p->has_filter = 1;
  mark_swap(p);
  return 0;
}

/* The XDP program sees received packets only: a zc: ring receives its
 * queue's received packets with rx_only and with rx_and_tx (there is no
 * transmitted traffic to add), and refuses tx_only.  RSS rehash needs the
 * channel of a packet to be its flow hash, which the NIC's queue is not.
 * A BPF program that runs in the kernel runs in the XDP program: checked,
 * then swapped in (the program stays attached); one that runs in user
 * space leaves the XDP program without a filter. */
static int afx_update_filter(pfring *ring)
{
  struct sock_fprog none = { 0, NULL };
  const struct sock_fprog *prog = &none;
  int rc;

  if (ring->filter.direction == tx_only_direction)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "direction tx_only on '%s': a zc: ring sees only the packets "
                            "its queue receives (XDP runs on receive); use rx_only, or the "
                            "standard ring '%s' for transmitted packets",
                            ring->bound_name, ring->spec.devices[0]);
  if (ring->filter.rss_rehash)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "RSS rehash on '%s': a zc: ring is one queue of the NIC, "
                            "filled by the NIC's own RSS", ring->bound_name);
  if (ring->filter.bpf_where == PFRINGINT_BPF_KERNEL && ring->filter.bpf.len) {
    prog = &ring->filter.bpf;
    if ((rc = check_classic(ring, prog)) < 0)
      return rc;
  }
  return swap_filter(ring, prog);
}

/* ------------------------------------------------------------------------ */
/* Clusters of zc: rings over one queue (pfring_xdp_cluster.h)               */

/* The maps of a loaded program of ours, by name: fds (or -1). */
static void program_maps(int prog_fd, int *xsks, int *cfg, int *stats)
{
  struct bpf_prog_info info;
  struct bpf_map_info minfo;
  u_int32_t ids[8], len = sizeof(info), mlen, i;

  *xsks = *cfg = *stats = -1;
  memset(&info, 0, sizeof(info));
  info.nr_map_ids = 8;
  info.map_ids = (u_int64_t)(unsigned long)ids;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
    return;
  for (i = 0; i < info.nr_map_ids && i < 8; i++) {
    int fd = bpf_map_get_fd_by_id(ids[i]), *to = NULL;
    if (fd < 0)
      continue;
    memset(&minfo, 0, sizeof(minfo));
    mlen = sizeof(minfo);
    if (bpf_obj_get_info_by_fd(fd, &minfo, &mlen) == 0) {
      if (strcmp(minfo.name, "pfring_xsks") == 0)
        to = xsks;
      else if (strcmp(minfo.name, "pfring_config") == 0)
        to = cfg;
      else if (strcmp(minfo.name, "pfring_stats") == 0)
        to = stats;
    }
    if (to && *to < 0)
      *to = fd;
    else
      close(fd);
  }
}

/* The id of a program of ours on ifindex that serves a zc: cluster on
 * exactly the queues of mask (its config in *cfg), or 0. */
static u_int32_t cluster_program(int ifindex, u_int64_t mask, struct pfring_xdp_cfg *cfg)
{
  struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
  struct xdp_program *p = NULL;
  u_int32_t id = 0;

  if (libxdp_get_error(mp) || !mp)
    return 0;
  if (xdp_multiprog__is_legacy(mp))
    p = xdp_multiprog__main_prog(mp);
  else
    p = xdp_multiprog__next_prog(NULL, mp);
  for (; p && !id; p = xdp_multiprog__is_legacy(mp) ? NULL : xdp_multiprog__next_prog(p, mp))
    if (is_ours(xdp_program__name(p)) && read_owner(xdp_program__fd(p), cfg) == 0 &&
        cfg->cluster_id && cfg->queue_mask == mask && cfg->loc_pid > 0)
      id = xdp_program__id(p);
  xdp_multiprog__close(mp);
  return id;
}

/* The checks every member's set_cluster makes. */
static int cluster_checks(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);

  if (p->nq != 1)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "'%s' cannot join cluster %u: a zc: cluster splits one RX queue "
                            "(open zc:%s@N), and this ring has %u queues", ring->bound_name,
                            ring->cluster_id, ring->spec.devices[0], p->nq);
  if (!ring->cluster_prog.len)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "'%s' cannot join cluster %u: cluster type %d (round robin) is "
                            "not supported on zc: rings; their XDP program splits per flow "
                            "(use a per-flow type)", ring->bound_name, ring->cluster_id,
                            (int)ring->cluster_type);
  return 0;
}

static int join_error(pfring *ring, int err, const char *what, int pid)
{
  if (err == EPERM || err == EACCES)
    return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, err,
                            "'%s' cannot join zc: cluster %u: taking %s of its member %d "
                            "(pidfd_getfd) needs ptrace rights over that process "
                            "(CAP_SYS_PTRACE, or the same user and no capabilities it lacks)",
                            ring->bound_name, ring->cluster_id, what, pid);
  return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                          "'%s' cannot join zc: cluster %u: %s of member %d: %s",
                          ring->bound_name, ring->cluster_id, what, pid, strerror(err));
}

static int map_ring(int fd, u_int64_t pgoff, const struct xdp_ring_offset *o, size_t esz,
                    u_int32_t n, void **map, size_t *len, u_int32_t **prod, u_int32_t **cons,
                    void **desc, u_int32_t **flags)
{
  *len = o->desc + (size_t)n * esz;
  *map = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)pgoff);
  if (*map == MAP_FAILED) {
    *map = NULL;
    return -1;
  }
  *prod = (u_int32_t *)((u_int8_t *)*map + o->producer);
  *cons = (u_int32_t *)((u_int8_t *)*map + o->consumer);
  *desc = (u_int8_t *)*map + o->desc;
  *flags = (u_int32_t *)((u_int8_t *)*map + o->flags);
  return 0;
}

/* A ring whose queue a cluster's program holds joins it: its own socket
 * on the cluster's UMEM, taken from a process of the cluster. */
static int join_cluster(pfring *ring, struct pfring_xdp_cfg *cfg)
{
  struct afx_priv *p = PRIV(ring);
  struct afx_q *q = &p->q[0];
  struct xdp_mmap_offsets off;
  struct sockaddr_xdp sa;
  struct pfxc *c;
  socklen_t len = sizeof(off);
  struct pfringint_mem *mem;
  u_int8_t *area;
  int via, memfd, sock, n, err;

  if (cfg->cluster_id != ring->cluster_id)
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                            "'%s' cannot join cluster %u: queue %u of '%s' is held by zc: "
                            "cluster %u", ring->bound_name, ring->cluster_id, q->queue,
                            ring->spec.devices[0], cfg->cluster_id);
  if ((via = pfxc_take_fd(cfg->loc_pid, cfg->loc_xsk_fd)) < 0)
    return join_error(ring, errno, "the socket", cfg->loc_pid);
  if ((memfd = pfxc_take_fd(cfg->loc_pid, cfg->loc_memfd)) < 0) {
    err = errno;
    close(via);
    return join_error(ring, err, "the packet memory", cfg->loc_pid);
  }
  c = mmap(NULL, PFXC_HDR, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (c == MAP_FAILED || c->version != PFXC_VERSION || c->cluster_id != ring->cluster_id ||
      c->queue != q->queue || c->ifindex != p->ifindex) {
    if (c != MAP_FAILED)
      munmap(c, PFXC_HDR);
    close(via);
    close(memfd);
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, EINVAL,
                            "'%s' cannot join zc: cluster %u: its shared memory is not a "
                            "cluster of this queue (version %u expected)", ring->bound_name,
                            ring->cluster_id, PFXC_VERSION);
  }
  if (c->type != (u_int32_t)ring->cluster_type) {
    u_int32_t t = c->type;
    munmap(c, PFXC_HDR);
    close(via);
    close(memfd);
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "'%s' cannot join zc: cluster %u as type %d: its members use %u",
                            ring->bound_name, ring->cluster_id, (int)ring->cluster_type, t);
  }
  area = mmap(NULL, c->umem_len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, PFXC_HDR);
  sock = p->pending_sock;       /* made at open, in the ring's namespace */
  p->pending_sock = -1;
  n = (int)c->num_frames;
  memset(&sa, 0, sizeof(sa));
  sa.sxdp_family = AF_XDP;
  sa.sxdp_ifindex = (u_int32_t)p->ifindex;
  sa.sxdp_queue_id = q->queue;
  sa.sxdp_flags = XDP_SHARED_UMEM;
  sa.sxdp_shared_umem_fd = (u_int32_t)via;
  if (area == MAP_FAILED || sock < 0 ||
      setsockopt(sock, SOL_XDP, XDP_RX_RING, &n, sizeof(n)) < 0 ||
      getsockopt(sock, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) < 0 ||
      map_ring(sock, XDP_PGOFF_RX_RING, &off.rx, sizeof(struct xdp_desc), c->num_frames,
               &p->rx_map, &p->rx_map_len, &q->rx.producer, &q->rx.consumer, &q->rx.ring,
               &q->rx.flags) < 0 ||
      bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      map_ring(sock, XDP_UMEM_PGOFF_FILL_RING, &off.fr, sizeof(u_int64_t), c->num_frames,
               &p->fill_map, &p->fill_map_len, &q->fill.producer, &q->fill.consumer,
               &q->fill.ring, &q->fill.flags) < 0) {
    err = errno;
    if (area != MAP_FAILED)
      munmap(area, c->umem_len);
    if (sock >= 0)
      close(sock);
    munmap(c, PFXC_HDR);
    close(via);
    close(memfd);
    return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                            "'%s' cannot join zc: cluster %u: its socket on the shared "
                            "packet memory: %s", ring->bound_name, ring->cluster_id,
                            strerror(err));
  }
  close(via);                   /* the UMEM is the socket's from here on */
  q->rx.mask = q->fill.mask = c->num_frames - 1;
  q->rx.size = q->fill.size = c->num_frames;
  q->rx.cached_prod = *q->rx.producer;
  q->rx.cached_cons = *q->rx.consumer;
  q->held_idx = q->next_idx = q->rx.cached_cons;
  q->fill.cached_prod = *q->fill.producer;
  q->fill.cached_cons = *q->fill.consumer + c->num_frames;
  q->fd = ring->fd = sock;
  p->joiner = 1;                /* close closes the socket and the mappings */
  /* The ring's memory is the cluster's UMEM from here on. */
  if (p->umem_mem) {
    pfringint_mem_swap(ring, NULL);
    pfringint_mem_put(p->umem_mem, NULL, NULL);
    p->umem_mem = NULL;
  }
  if (p->memfd >= 0)
    close(p->memfd);
  p->memfd = memfd;
  p->umem_area = area;
  p->umem_len = c->umem_len;
  p->num_frames = c->num_frames;
  if ((mem = pfringint_mem_new(area, c->umem_len)))
    pfringint_mem_swap(ring, mem);
  p->umem_mem = mem;
  {
    struct xdp_program *prog = xdp_program__from_id(p->pending_prog);
    if (!libxdp_get_error(prog)) {
      program_maps(xdp_program__fd(prog), &p->xsks_fd, &p->cfg_fd, &p->stats_fd);
      xdp_program__close(prog);
    }
  }
  if (p->xsks_fd < 0 || p->cfg_fd < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, ENOENT,
                            "'%s' cannot join zc: cluster %u: its XDP program's maps are gone",
                            ring->bound_name, ring->cluster_id);
  p->cl = q->cl = c;
  p->pending = 0;
  pfxc_lock(c);
  pfxc_hold(c, p->cfg_fd, (int)getpid(), sock, memfd, 1);
  pfxc_unlock(c);
  {
    struct xdp_options opts;
    socklen_t olen = sizeof(opts);
    memset(&opts, 0, sizeof(opts));
    if (getsockopt(sock, SOL_XDP, XDP_OPTIONS, &opts, &olen) == 0)
      p->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    snprintf(ring->zc_mode, sizeof(ring->zc_mode), "%s", p->zerocopy ? "zero-copy" : "copy");
  }
  /* No TX ring: the completion ring is the first member's. */
  ring->ops.send = NULL;
  ring->ops.flush_tx = NULL;
  start_reaper(ring);
  return 0;
}

/* The first ring of the cluster on its queue: its UMEM (a memfd already)
 * becomes the cluster's, its program redirects by the type's hash. */
static int make_cluster(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  struct pfring_xdp_cfg cfg;
  pid_t old_reaper;
  int old_fd, rc;
  u_int32_t zero = 0;
  struct pfxc *c;

  if (!p->filter_in_xdp)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "'%s' cannot make zc: cluster %u: its XDP program runs without "
                            "the BPF interpreter (it needs CAP_PERFMON), which runs the "
                            "cluster hash", ring->bound_name, ring->cluster_id);
  if (p->has_filter)
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, 0,
                            "'%s' cannot make zc: cluster %u after a BPF filter ran in its XDP "
                            "program: set the cluster first (a member's filter runs in user "
                            "space)", ring->bound_name, ring->cluster_id);
  if (bpf_map_lookup_elem(p->cfg_fd, &zero, &cfg) == 0 && cfg.sample_rate > 1)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                            "'%s' cannot make zc: cluster %u while sampling: a zc: cluster "
                            "member does not sample", ring->bound_name, ring->cluster_id);
  c = mmap(NULL, PFXC_HDR, PROT_READ | PROT_WRITE, MAP_SHARED, p->memfd, 0);
  if (c == MAP_FAILED)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno,
                                  "cannot map the cluster header of '%s'", ring->bound_name);
  memset(c, 0, sizeof(*c));
  c->cluster_id = ring->cluster_id;
  c->type = (u_int32_t)ring->cluster_type;
  c->queue = p->q[0].queue;
  c->ifindex = p->ifindex;
  c->num_frames = p->num_frames;
  c->umem_len = p->umem_len;
  c->prog_id = p->prog_id;
  if (pfxc_init_lock(c) != 0 || (rc = put_program(p->filters_fd, 1, &ring->cluster_prog)) < 0) {
    munmap(c, PFXC_HDR);
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, EINVAL,
                            "cannot put the cluster hash of '%s' in its XDP program",
                            ring->bound_name);
  }
  c->version = PFXC_VERSION;
  p->cl = p->q[0].cl = c;
  pfxc_lock(c);
  pfxc_hold(c, p->cfg_fd, (int)getpid(), p->q[0].fd, p->memfd, 1);
  pfxc_unlock(c);
  /* The reaper of a member: a new one, then the old one ended without
   * its look (SIGKILL), which would detach the program. */
  old_reaper = p->reaper_pid;
  old_fd = p->reaper_fd;
  p->reaper_pid = 0;
  p->reaper_fd = -1;
  start_reaper(ring);
  if (old_reaper > 0) {
    kill(old_reaper, SIGKILL);
    while (waitpid(old_reaper, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  if (old_fd >= 0)
    close(old_fd);
  return 0;
}

/* pfring_set_cluster: the core checked the type and claimed the id (no
 * member of another type or backend).  A ring whose queue a cluster holds
 * joins it; another ring makes the cluster of its queue. */
static int afx_set_cluster(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  struct pfring_xdp_cfg cfg;
  int rc;

  if ((rc = cluster_checks(ring)) < 0)
    return rc;
  if (p->cl)
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EALREADY,
                            "'%s' is in zc: cluster %u already", ring->bound_name,
                            p->cl->cluster_id);
  ring->flags |= PF_RING_USERSPACE_BPF;      /* the program serves every member */
  if (p->pending) {
    /* By the id found at open: the caller may be in another namespace. */
    int fd = bpf_prog_get_fd_by_id(p->pending_prog);
    rc = fd >= 0 ? read_owner(fd, &cfg) : -1;
    if (fd >= 0)
      close(fd);
    if (rc < 0 || !cfg.cluster_id || cfg.loc_pid <= 0)
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                              "'%s' cannot join cluster %u: the zc: cluster of its queue is "
                              "gone; open the ring again", ring->bound_name,
                              ring->cluster_id);
    return join_cluster(ring, &cfg);
  }
  return make_cluster(ring);
}

/* pfring_remove_from_cluster: a member's socket is on the cluster's
 * memory (a joiner's has no UMEM of its own), so it leaves by closing. */
static int afx_remove_from_cluster(pfring *ring)
{
  return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                          "'%s' cannot leave zc: cluster %u but by closing: its socket is "
                          "on the cluster's packet memory", ring->bound_name,
                          ring->cluster_id);
}

/* A member's close: out of its slot, its frames back, out of the holders;
 * the last one out detaches the program.  1 if others remain. */
static int leave_cluster(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  struct pfxc *c = p->cl;
  u_int32_t prog_id = c->prog_id;
  int left;

  give_back_all(p);
  pfxc_lock(c);
  pfxc_leave(c, p->xsks_fd, p->cfg_fd, (int)getpid(), p->q[0].fd);
  p->in_cluster_map = 0;
  pfxc_unlock(c);
  usleep(20 * 1000);            /* packets redirected before the leave: see the reaper */
  pfxc_lock(c);
  pfxc_return_rx(c, p->q[0].fd, (int)getpid(), p->q[0].fd);
  left = pfxc_hold(c, p->cfg_fd, (int)getpid(), p->q[0].fd, p->memfd, 0);
  pfxc_unlock(c);
  if (left == 0 && !p->prog) {
    struct xdp_program *prog = xdp_program__from_id(prog_id);
    if (!libxdp_get_error(prog)) {
      xdp_program__detach(prog, p->ifindex, XDP_MODE_UNSPEC, 0);
      xdp_program__close(prog);
    }
  }
  if (left > 0)
    p->prog_id = 0;             /* the program stays for the others */
  munmap(c, PFXC_HDR);
  p->cl = p->q[0].cl = NULL;
  return left > 0;
}

/* ------------------------------------------------------------------------ */
/* Enable, disable, counters                                                 */

static int afx_disable(pfring *ring);

/* Every socket into the map, or none (a failure takes out those put in). */
static int afx_enable(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  u_int32_t i;
  int rc;

  if (p->pending)
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                            "queue %u of '%s' is used by zc: cluster %u: join it with "
                            "pfring_set_cluster before enabling, or open another queue",
                            p->q[0].queue, ring->spec.devices[0], p->pending_cluster);
  if (p->cl) {                  /* the next member slot (pfring_xdp_cluster.h) */
    if (p->in_cluster_map)
      return 0;
    pfxc_lock(p->cl);
    rc = pfxc_enter(p->cl, p->xsks_fd, p->cfg_fd, (int)getpid(), p->q[0].fd, p->q[0].fd);
    pfxc_unlock(p->cl);
    if (rc < 0)
      return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                    "cannot put '%s' in a member slot of zc: cluster %u",
                                    ring->bound_name, p->cl->cluster_id);
    p->in_cluster_map = 1;
    return 0;
  }
  for (i = 0; i < p->nq; i++) {
    struct afx_q *q = &p->q[i];
    if (bpf_map_update_elem(p->xsks_fd, &q->queue, &q->fd, BPF_ANY) < 0) {
      int err = errno;
      pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                             "cannot put the AF_XDP socket of queue %u of '%s' in its XDP "
                             "program's map", q->queue, ring->bound_name);
      afx_disable(ring);
      errno = err;
      return pfringint_errno_to_rc(err);
    }
    q->in_map = 1;
  }
  return 0;
}

static int afx_disable(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  u_int32_t i;
  int rc = 0;

  if (p->cl) {
    if (p->in_cluster_map) {
      pfxc_lock(p->cl);
      pfxc_leave(p->cl, p->xsks_fd, p->cfg_fd, (int)getpid(), p->q[0].fd);
      pfxc_unlock(p->cl);
    }
    p->in_cluster_map = 0;
    return 0;
  }
  for (i = 0; i < p->nq; i++) {
    struct afx_q *q = &p->q[i];
    if (q->in_map && bpf_map_delete_elem(p->xsks_fd, &q->queue) < 0 && errno != ENOENT)
      rc = pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot take the AF_XDP socket of queue %u of '%s' out of "
                                  "the map", q->queue, ring->bound_name);
    else
      q->in_map = 0;
  }
  return rc;
}

static u_int64_t counter(struct afx_priv *p, u_int32_t slot)
{
  u_int64_t sum = 0;
  int i;

  if (bpf_map_lookup_elem(p->stats_fd, &slot, p->percpu) < 0)
    return 0;
  for (i = 0; i < p->ncpus; i++)
    sum += p->percpu[i];
  return sum;
}

/* seen: the packets the program took for the socket; dropped: those the
 * program could not redirect plus the socket's own drops (no fill frame,
 * RX ring full, bad descriptors). */
static int afx_kernel_counters(pfring *ring, u_int64_t *seen, u_int64_t *dropped)
{
  struct afx_priv *p = PRIV(ring);
  u_int64_t failed;
  u_int32_t i;

  if (p->pending || p->stats_fd < 0) {
    *seen = *dropped = 0;
    return 0;
  }
  /* A cluster member: the program's counters are the cluster's; the
   * member's are its socket's drops and what it read. */
  failed = p->cl ? 0 : counter(p, PFRING_XDP_REDIRECT_FAILED);
  *seen = p->cl ? ring->tot_read : counter(p, PFRING_XDP_REDIRECTED) + failed;
  *dropped = failed;
  for (i = 0; i < p->nq; i++) {         /* the sockets' drops add up */
    struct xdp_statistics st;
    socklen_t len = sizeof(st);
    memset(&st, 0, sizeof(st));
    if (getsockopt(p->q[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
      *dropped += st.rx_dropped + st.rx_ring_full + st.rx_invalid_descs;
      if (p->cl)
        *seen += st.rx_dropped + st.rx_ring_full + st.rx_invalid_descs;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                            */

static void afx_close(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  u_int32_t i;

  if (p->q && p->q[0].xsk && p->tx_free && p->tx_nfree < AFX_TX_FRAMES &&
      afx_flush_tx(ring, 1) < 0)
    pfringint_log(1, "zc: %s", ring->errbuf);
  if (p->cl)
    leave_cluster(ring);
  if (p->joiner) {              /* its socket and mappings are its own, not libxdp's */
    if (p->rx_map)
      munmap(p->rx_map, p->rx_map_len);
    if (p->fill_map)
      munmap(p->fill_map, p->fill_map_len);
    p->rx_map = p->fill_map = NULL;
    if (p->q && p->q[0].fd >= 0)
      close(p->q[0].fd);
    if (p->xsks_fd >= 0)
      close(p->xsks_fd);
    if (p->cfg_fd >= 0)
      close(p->cfg_fd);
    if (p->stats_fd >= 0)
      close(p->stats_fd);
    p->xsks_fd = p->cfg_fd = p->stats_fd = -1;
  }

  if (p->prog) {
    if (p->prog_id) {
      int rc = xdp_program__detach(p->prog, p->ifindex, XDP_MODE_NATIVE, 0);
      if (rc < 0 && rc != -ENOENT)
        pfringint_log(1, "zc: cannot detach XDP program %u from '%s': %s", p->prog_id,
                      ring->bound_name, strerror(-rc));
    }
    xdp_program__close(p->prog);
    p->prog = NULL;
  }
  stop_reaper(p);
  for (i = p->nq; p->q && i-- > 0;) {   /* the UMEM's own socket last */
    if (p->q[i].xsk)
      xsk_socket__delete(p->q[i].xsk);
    p->q[i].xsk = NULL;
  }
  free(p->q);
  p->q = p->cur = NULL;
  p->nq = 0;
  if (p->epfd >= 0)
    close(p->epfd);
  p->epfd = -1;
  ring->fd = -1;
  if (p->umem)
    xsk_umem__delete(p->umem);
  p->umem = NULL;
  /* Private memory, registered no more: unmapped now, or by the last
   * pfring_release_packet_memory of a caller that keeps it. */
  if (p->umem_mem) {
    pfringint_mem_swap(ring, NULL);
    pfringint_mem_put(p->umem_mem, NULL, NULL);
  } else if (p->umem_area) {
    munmap(p->umem_area, p->umem_len);
  }
  p->umem_mem = NULL;
  p->umem_area = NULL;
  if (p->skel)
    pfring_xdp__destroy(p->skel);
  p->skel = NULL;
  if (p->memfd >= 0)
    close(p->memfd);
  p->memfd = -1;
  if (p->pending_sock >= 0)
    close(p->pending_sock);
  p->pending_sock = -1;
  free(p->percpu);
  p->percpu = NULL;
  free(p->tx_free);
  p->tx_free = NULL;
  if (ring->dev_fd >= 0)
    close(ring->dev_fd);
  ring->dev_fd = -1;
  if (p->promisc_fd >= 0)
    close(p->promisc_fd);
  p->promisc_fd = -1;
  if (p->efd >= 0)
    close(p->efd);
  p->efd = -1;
}

/* PF_RING_ZC_MODE: auto (default), zerocopy or copy. */
static int zc_mode(pfring *ring, enum afx_mode *mode)
{
  const char *m = pfringint_params()->zc_mode;

  if (strcmp(m, "auto") == 0)
    *mode = AFX_AUTO;
  else if (strcmp(m, "zerocopy") == 0 || strcmp(m, "zero-copy") == 0)
    *mode = AFX_ZEROCOPY;
  else if (strcmp(m, "copy") == 0)
    *mode = AFX_COPY;
  else
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "PF_RING_ZC_MODE '%.32s' is not one of auto, zerocopy, copy", m);
  return 0;
}

static u_int32_t pow2_frames(void)
{
  long want = pfringint_params()->min_num_slots;
  u_int32_t n = AFX_MIN_FRAMES;

  while (n < want && n < AFX_MAX_FRAMES)
    n <<= 1;
  return n;
}

static int memlock_error(pfring *ring, int err)
{
  struct rlimit rl;
  char lim[32] = "unlimited";
  struct afx_priv *p = PRIV(ring);

  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    snprintf(lim, sizeof(lim), "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
  return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, err,
                          "cannot register %zu KiB of packet buffers for '%s': over the "
                          "locked-memory limit (RLIMIT_MEMLOCK %s); raise it (ulimit -l, "
                          "LimitMEMLOCK= in a systemd unit, memlock in limits.conf), grant "
                          "CAP_IPC_LOCK, or lower min_num_slots (%u frames of %u bytes)",
                          p->umem_len / 1024, ring->bound_name, lim, p->num_frames,
                          AFX_FRAME_SIZE);
}

static int make_umem(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  struct xsk_umem_config cfg = {
    .fill_size = p->num_frames,
    .comp_size = AFX_TX_FRAMES,
    .frame_size = AFX_FRAME_SIZE,
    .frame_headroom = 0,
    .flags = 0,
  };
  u_int32_t i;
  int rc;

  /* A memfd, so that other processes can share it in a cluster: the
   * cluster header's page, then the UMEM (pfring_xdp_cluster.h). */
  p->umem_len = ((size_t)p->num_frames * p->nq + AFX_TX_FRAMES) * AFX_FRAME_SIZE;
  p->memfd = memfd_create("pfring-zc", MFD_CLOEXEC);
  if (p->memfd < 0 || ftruncate(p->memfd, (off_t)(PFXC_HDR + p->umem_len)) < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno,
                                  "cannot make %zu KiB of packet buffers", p->umem_len / 1024);
  p->umem_area = mmap(NULL, p->umem_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->memfd,
                      PFXC_HDR);
  if (p->umem_area == MAP_FAILED) {
    p->umem_area = NULL;
    return pfringint_seterr_errno(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno,
                                  "cannot map %zu KiB of packet buffers", p->umem_len / 1024);
  }
  if (!(p->umem_mem = pfringint_mem_new(p->umem_area, p->umem_len)))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  pfringint_mem_swap(ring, p->umem_mem);
  rc = xsk_umem__create(&p->umem, p->umem_area, p->umem_len, &p->q[0].fill, &p->q[0].comp,
                        &cfg);
  if (rc < 0) {
    p->umem = NULL;
    if (rc == -ENOBUFS || rc == -ENOMEM)
      return memlock_error(ring, -rc);
    if (rc == -EPERM || rc == -EACCES)
      return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, -rc,
                              "cannot open an AF_XDP socket on '%s': permission denied "
                              "(zc: rings need CAP_NET_RAW, plus CAP_BPF and CAP_NET_ADMIN "
                              "for the XDP program)", ring->bound_name);
    if (rc == -EAFNOSUPPORT)
      return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, -rc,
                              "this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)");
    return pfringint_seterr(ring, pfringint_errno_to_rc(-rc), -rc,
                            "cannot create the AF_XDP packet buffers for '%s': %s",
                            ring->bound_name, strerror(-rc));
  }
  for (i = 0; i < AFX_TX_FRAMES; i++)
    p->tx_free[i] = ((u_int64_t)p->num_frames * p->nq + i) * AFX_FRAME_SIZE;
  p->tx_nfree = AFX_TX_FRAMES;
  return 0;
}

/* Socket i's frames (the i-th num_frames of the UMEM) to its fill ring. */
static int fill_frames(pfring *ring, u_int32_t qi)
{
  struct afx_priv *p = PRIV(ring);
  struct afx_q *q = &p->q[qi];
  u_int64_t base = (u_int64_t)qi * p->num_frames;
  u_int32_t i, idx = 0;

  if (xsk_ring_prod__reserve(&q->fill, p->num_frames, &idx) != p->num_frames)
    return pfringint_seterr(ring, PF_RING_ERROR_GENERIC, 0, "the fill ring is too small");
  for (i = 0; i < p->num_frames; i++)
    *xsk_ring_prod__fill_addr(&q->fill, idx + i) = (base + i) * AFX_FRAME_SIZE;
  xsk_ring_prod__submit(&q->fill, p->num_frames);
  return 0;
}

/* The socket of q[qi]: the first one is the UMEM's own and has the TX
 * ring; the others share the UMEM (XDP_SHARED_UMEM, bound in the first
 * one's mode), each with its own fill and completion rings. */
static int make_socket(pfring *ring, enum afx_mode mode, u_int32_t qi)
{
  struct afx_priv *p = PRIV(ring);
  struct afx_q *q = &p->q[qi];
  struct xsk_socket_config cfg = {
    .rx_size = p->num_frames,
    .tx_size = AFX_TX_FRAMES,
    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
    .xdp_flags = XDP_FLAGS_DRV_MODE,
    .bind_flags = mode == AFX_ZEROCOPY ? XDP_ZEROCOPY : mode == AFX_COPY ? XDP_COPY : 0,
  };
  const struct timespec busy_wait = { 0, 10 * 1000 * 1000 };
  struct xdp_options opts;
  socklen_t len = sizeof(opts);
  int rc, tries;

  /* The kernel frees a closed socket's hold on its queue from a work
   * queue, so a queue given up a moment ago can still be busy: try again
   * for up to a second before calling it taken. */
  if (qi > 0)
    cfg.tx_size = 0;
  for (tries = 0;; tries++) {
    rc = xsk_socket__create_shared(&q->xsk, ring->spec.devices[0], q->queue, p->umem, &q->rx,
                                   qi == 0 ? &p->tx : NULL, &q->fill, &q->comp, &cfg);
    if (rc != -EBUSY || tries >= AFX_BUSY_TRIES)
      break;
    nanosleep(&busy_wait, NULL);
  }
  if (rc < 0) {
    q->xsk = NULL;
    switch (-rc) {
    case EPERM: case EACCES:
      return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, -rc,
                              "cannot open an AF_XDP socket on '%s': permission denied "
                              "(zc: rings need CAP_NET_RAW)", ring->bound_name);
    case EBUSY:
      p->pending = 1;           /* maybe a cluster's queue: see afx_activate */
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, EBUSY,
                              "queue %u of '%s' is already used by another AF_XDP socket "
                              "(one zc: ring per queue)", q->queue, ring->spec.devices[0]);
    case EOPNOTSUPP: case EPROTONOSUPPORT:
      if (mode == AFX_ZEROCOPY)
        return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, -rc,
                                "'%s' cannot do zero-copy AF_XDP (its driver has no "
                                "zero-copy support) and PF_RING_ZC_MODE=zerocopy requires it; "
                                "unset it to run in copy mode", ring->spec.devices[0]);
      break;
    case ENOBUFS: case ENOMEM:
      return memlock_error(ring, -rc);
    case ENETDOWN:
      return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, ENETDOWN,
                              "interface '%s' is down", ring->spec.devices[0]);
    }
    return pfringint_seterr(ring, pfringint_errno_to_rc(-rc), -rc,
                            "cannot bind an AF_XDP socket to queue %u of '%s': %s", q->queue,
                            ring->spec.devices[0], strerror(-rc));
  }
  q->fd = xsk_socket__fd(q->xsk);
  fcntl(q->fd, F_SETFD, FD_CLOEXEC);      /* libxdp opens it without */
  if (qi > 0 && (rc = fill_frames(ring, qi)) < 0)
    return rc;
  if (qi > 0)
    return 0;
  memset(&opts, 0, sizeof(opts));
  if (getsockopt(q->fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0)
    p->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  return 0;
}

/* The ring's sockets, one per queue of queue_mask; with more than one, the
 * selectable fd is an epoll fd over them all (readable when one is). */
static int make_sockets(pfring *ring, enum afx_mode mode)
{
  struct afx_priv *p = PRIV(ring);
  u_int32_t i;
  int rc;

  if ((rc = fill_frames(ring, 0)) < 0)
    return rc;
  for (i = 0; i < p->nq; i++)
    if ((rc = make_socket(ring, mode, i)) < 0)
      return rc;
  if (p->nq == 1) {
    ring->fd = p->q[0].fd;
    return 0;
  }
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot make the selectable fd of '%s' (epoll)",
                                  ring->bound_name);
  for (i = 0; i < p->nq; i++) {
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->q[i].fd, &ev) < 0)
      return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                    "cannot make the selectable fd of '%s' (epoll)",
                                    ring->bound_name);
  }
  ring->fd = p->epfd;
  return 0;
}

/* The id of a program of ours attached alone (not in a dispatcher) on
 * ifindex, or 0. */
static u_int32_t lone_program_of_ours(int ifindex)
{
  struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
  struct xdp_program *main;
  u_int32_t id = 0;

  if (libxdp_get_error(mp) || !mp)
    return 0;
  main = xdp_multiprog__is_legacy(mp) ? xdp_multiprog__main_prog(mp) : NULL;
  if (main && is_ours(xdp_program__name(main))) {
    struct pfring_xdp_cfg cfg;
    /* Our object loaded by someone else has no owner: not a ring's. */
    if (read_owner(xdp_program__fd(main), &cfg) == 0 && cfg.owner_pid != 0)
      id = xdp_program__id(main);
  }
  xdp_multiprog__close(mp);
  return id;
}

/* What an attach failure means, as one line. */
static int attach_error(pfring *ring, int err)
{
  const char *dev = ring->spec.devices[0];
  u_int32_t ours;

  if ((err == EEXIST || err == EBUSY) && (ours = lone_program_of_ours(PRIV(ring)->ifindex)))
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, err,
                            "'%s' is held by the XDP program (id %u) of another zc: ring, "
                            "attached alone because libxdp's dispatcher is not usable here "
                            "(it needs a bpffs at /sys/fs/bpf and kernel support for "
                            "freplace programs): one zc: ring per interface", dev, ours);
  switch (err) {
  case EPERM: case EACCES:
    return pfringint_seterr(ring, PF_RING_ERROR_PERMISSION_DENIED, err,
                            "cannot load the XDP program for '%s': permission denied "
                            "(it needs CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN)", dev);
  case EOPNOTSUPP:
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, err,
                            "'%s' has no native XDP support (its driver cannot run XDP "
                            "programs), so zc: rings cannot open on it; use '%s' (the "
                            "standard ring) instead", dev, dev);
  case EEXIST: case EBUSY:
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, err,
                            "'%s' already has an XDP program that cannot share the "
                            "interface (one not attached through libxdp's dispatcher, or "
                            "attached in another mode); remove it or load it through libxdp "
                            "(xdp-loader) first", dev);
  case ENOSPC: case E2BIG:
    return pfringint_seterr(ring, PF_RING_ERROR_WRONG_CONFIGURATION, err,
                            "'%s': libxdp's dispatcher has no free slot for another "
                            "program", dev);
  default:
    return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                            "cannot attach the XDP program to '%s': %s (the log of "
                            "libbpf/libxdp goes through pfring_set_print at level 3)",
                            dev, strerror(err));
  }
}

/* Opens the skeleton with only program name to load (not other), and
 * attaches it: 0, or -errno with nothing attached and no skeleton
 * (AFX_NO_SKELETON, errno set: the skeleton did not open). */
#define AFX_NO_SKELETON INT_MIN
static int attach_one(pfring *ring, const char *name, const char *other)
{
  struct afx_priv *p = PRIV(ring);
  struct bpf_program *o;
  int rc;
  DECLARE_LIBXDP_OPTS(xdp_program_opts, opts);

  p->skel = pfring_xdp__open();
  if (!p->skel)
    return AFX_NO_SKELETON;
  o = bpf_object__find_program_by_name(p->skel->obj, other);
  if (o)
    bpf_program__set_autoload(o, false);
  opts.obj = p->skel->obj;
  opts.prog_name = name;
  p->prog = xdp_program__create(&opts);
  rc = (int)libxdp_get_error(p->prog);
  if (!rc) {
    rc = xdp_program__attach(p->prog, p->ifindex, XDP_MODE_NATIVE, 0);
    if (rc == 0)
      return 0;
    /* The program may have been loaded: close it, nothing is attached. */
    xdp_program__close(p->prog);
  }
  p->prog = NULL;
  pfring_xdp__destroy(p->skel);
  p->skel = NULL;
  return rc < 0 ? rc : -EINVAL;
}

static int attach_program(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  struct pfring_xdp_cfg cfg, back;
  u_int32_t zero = 0;
  int rc, cfg_fd;

  /* The program with the BPF filter; if it cannot be loaded or attached,
   * the one without (the filters then run in user space), whose failure,
   * if it fails too, is the one reported. */
  rc = attach_one(ring, AFX_PROG_NAME, AFX_PROG_NAME_NF);
  if (rc < 0 && rc != AFX_NO_SKELETON) {
    int first = -rc;
    if ((rc = attach_one(ring, AFX_PROG_NAME_NF, AFX_PROG_NAME)) < 0 && rc != AFX_NO_SKELETON)
      return attach_error(ring, -rc);
    pfringint_log(2, "zc: the XDP program of '%s' runs without its BPF interpreter (%s: "
                  "without CAP_PERFMON the verifier refuses it); BPF filters run in user "
                  "space", ring->bound_name, strerror(first));
  } else if (rc == 0) {
    p->filter_in_xdp = 1;
  }
  if (rc == AFX_NO_SKELETON)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot open the XDP program");
  p->prog_id = xdp_program__id(p->prog);
  p->xsks_fd = bpf_map__fd(p->skel->maps.pfring_xsks);
  p->stats_fd = bpf_map__fd(p->skel->maps.pfring_stats);
  cfg_fd = p->cfg_fd = bpf_map__fd(p->skel->maps.pfring_config);
  p->sampler_fd = bpf_map__fd(p->skel->maps.pfring_sampler);
  p->filters_fd = bpf_map__fd(p->skel->maps.pfring_filters);
  memset(&cfg, 0, sizeof(cfg));
  cfg.version = PFRING_XDP_ABI_VERSION;
  cfg.queue_mask = p->queue_mask;
  cfg.owner_pid = (u_int32_t)getpid();
  cfg.owner_start = start_time_of(getpid());
  if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY) < 0 ||
      bpf_map_lookup_elem(cfg_fd, &zero, &back) < 0 ||
      back.version != PFRING_XDP_ABI_VERSION)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno,
                                  "cannot configure the XDP program of '%s'", ring->bound_name);
  return 0;
}

/* pfring_set_buffer_size: the UMEM is min_num_slots frames of 4 KiB, mapped
 * and registered at open with the fill ring sized to it; it is not made
 * again. */
static int afx_set_buffer_size(pfring *ring, u_int64_t bytes)
{
  (void)bytes;
  return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, 0,
                          "'%s': a zc: ring's buffer size is not settable; its packet memory "
                          "is min_num_slots frames of %u bytes (PF_RING_MIN_NUM_SLOTS or "
                          "min_num_slots in pf_ring.conf)", ring->bound_name, AFX_FRAME_SIZE);
}

static u_int64_t afx_memory(pfring *ring)
{
  return PRIV(ring)->umem_len;
}

/* Promiscuous mode.  An AF_XDP socket takes no memberships, so a packet
 * socket of protocol 0 (it receives nothing), made at open in the ring's
 * network namespace, holds PACKET_MR_PROMISC for the ring: the kernel counts
 * it with the interface's other holders and drops it when the socket
 * closes, the process's death included. */
static int afx_set_promisc(pfring *ring, int on)
{
  struct afx_priv *p = PRIV(ring);
  struct packet_mreq mr;

  if (!!on == !!ring->promisc)
    return 0;
  memset(&mr, 0, sizeof(mr));
  mr.mr_ifindex = p->ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(p->promisc_fd, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
                 &mr, sizeof(mr)) < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot %s promiscuous mode on '%s'", on ? "set" : "clear",
                                  ring->spec.devices[0]);
  ring->promisc = (u_int8_t)!!on;
  return 0;
}

/* The queues of the name: every RX queue of the device for zc:DEV (or a
 * list of all 64), else those listed, each of which must exist.  The
 * status tree's "Channel Id Mask" shows them. */
static int take_queues(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  int nrx = ring->num_rx_queues > 0 ? ring->num_rx_queues : 1;
  u_int64_t mask = ring->spec.channel_mask;
  u_int32_t i, n = 0;

  if (nrx > PFRING_XDP_MAX_QUEUES)
    nrx = PFRING_XDP_MAX_QUEUES;
  if (mask == RING_ANY_CHANNEL)
    mask = nrx == 64 ? RING_ANY_CHANNEL : ((u_int64_t)1 << nrx) - 1;
  else if (nrx < 64 && (mask >> nrx))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "'%s' has %d RX queue%s (0..%d): there is no queue %d",
                            ring->spec.devices[0], nrx, nrx == 1 ? "" : "s", nrx - 1,
                            __builtin_ctzll(mask >> nrx) + nrx);
  p->nq = (u_int32_t)__builtin_popcountll(mask);
  p->q = calloc(p->nq, sizeof(*p->q));
  if (!p->q)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  for (i = 0; i < 64; i++)
    if (mask & ((u_int64_t)1 << i)) {
      p->q[n].fd = -1;
      p->q[n++].queue = i;
    }
  p->cur = &p->q[0];
  p->queue_mask = mask;
  ring->spec.channel_mask = ring->filter.channel_mask = mask;
  return 0;
}

static int afx_activate(pfring *ring)
{
  struct afx_priv *p = PRIV(ring);
  enum afx_mode mode = AFX_AUTO;
  int rc;

  p->efd = p->reaper_fd = p->xsks_fd = p->stats_fd = p->cfg_fd = p->sampler_fd = -1;
  p->filters_fd = p->promisc_fd = p->epfd = p->memfd = p->pending_sock = -1;
  ring->ops.close = afx_close;
  pthread_once(&print_once, set_prints);

  if (ring->spec.any || ring->spec.none || ring->spec.num_devices != 1)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "a zc: ring opens on one interface");
  if ((rc = zc_mode(ring, &mode)) < 0)
    return rc;
  p->ifindex = ring->if_index[0];
  if ((rc = take_queues(ring)) < 0)
    return rc;
  p->ncpus = libbpf_num_possible_cpus();
  if (p->ncpus <= 0)
    p->ncpus = 1;
  p->percpu = calloc((size_t)p->ncpus, sizeof(*p->percpu));
  p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  p->tx_free = calloc(AFX_TX_FRAMES, sizeof(*p->tx_free));
  /* An AF_XDP socket takes no device ioctls: the ring's MTU, flags and
   * address are asked through this one, of the same namespace. */
  ring->dev_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (!p->percpu || p->efd < 0 || !p->tx_free || ring->dev_fd < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, errno,
                                  "out of memory");
  rc = pfringint_if_mtu(-1, ring->spec.devices[0]);
  p->max_tx_len = rc > 0 ? (u_int32_t)rc + 14 : AFX_FRAME_SIZE;
  if (p->max_tx_len > AFX_FRAME_SIZE)
    p->max_tx_len = AFX_FRAME_SIZE;
  sweep(p->ifindex);
  p->num_frames = pow2_frames();
  if ((rc = make_umem(ring)) < 0)
    return rc;
  p->pending = 0;
  if ((rc = make_sockets(ring, mode)) < 0) {
    struct pfring_xdp_cfg cfg;
    /* A queue that a zc: cluster holds: the ring joins it at
     * pfring_set_cluster, on the cluster's memory; until then it has no
     * socket. */
    if (!p->pending || p->nq != 1 || !(p->pending_prog = cluster_program(p->ifindex,
                                                                          p->queue_mask, &cfg))) {
      p->pending = 0;
      return rc;
    }
    p->pending_cluster = cfg.cluster_id;
    if (p->umem)
      xsk_umem__delete(p->umem);
    p->umem = NULL;
    p->q[0].xsk = NULL;
    p->q[0].fd = -1;
    ring->fd = ring->dev_fd;    /* (a socket of the ring's namespace) */
    /* Its socket, bound at the join, is of the namespace of the open (the
     * caller of pfring_set_cluster may be in another). */
    p->pending_sock = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    ring->flags |= PF_RING_USERSPACE_BPF;
  } else if ((rc = attach_program(ring)) < 0) {
    return rc;
  }
  /* After the AF_XDP socket, whose failure names the capability missing. */
  p->promisc_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);   /* see afx_set_promisc */
  if (p->promisc_fd < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot open a packet socket for '%s' (promiscuous mode)",
                                  ring->spec.devices[0]);
  if (!p->pending)
    start_reaper(ring);
  /* BPF filters run in the XDP program (afx_update_filter), or in
   * pfring_recv where the core puts them in user space; always there when
   * the program is the one without the interpreter. */
  if (!p->filter_in_xdp)
    ring->flags |= PF_RING_USERSPACE_BPF;
  ring->breed = "ZC";
  snprintf(ring->zc_mode, sizeof(ring->zc_mode), "%s", p->zerocopy ? "zero-copy" : "copy");
  if (ring->promisc) {
    ring->promisc = 0;
    if ((rc = afx_set_promisc(ring, 1)) < 0)
      return rc;
  }

  ring->ops.recv = afx_recv;
  ring->ops.recv_burst = afx_recv_burst;
  ring->ops.poll = afx_poll;
  ring->ops.is_pkt_available = afx_is_pkt_available;
  ring->ops.next_pkt_time = afx_next_pkt_time;
  ring->ops.num_queued = afx_num_queued;
  ring->ops.wake = afx_wake;
  ring->ops.enable = afx_enable;
  ring->ops.disable = afx_disable;
  ring->ops.kernel_counters = afx_kernel_counters;
  ring->ops.set_buffer_size = afx_set_buffer_size;
  ring->ops.memory = afx_memory;
  ring->ops.send = afx_send;
  ring->ops.flush_tx = afx_flush_tx;
  ring->ops.set_sampling = afx_set_sampling;
  ring->ops.update_filter = afx_update_filter;
  ring->ops.set_cluster = afx_set_cluster;
  ring->ops.remove_from_cluster = afx_remove_from_cluster;
  ring->ops.set_promisc = afx_set_promisc;
  ring->ops.set_batching = afx_set_batching;
  afx_set_batching(ring, 0, 0);   /* batched by default, as AF_PACKET rings */
  return 0;
}

const struct pfringint_backend pfringint_af_xdp_backend = {
  .module = "zc",
  .priv_size = sizeof(struct afx_priv),
  .activate = afx_activate,
};
