/*
 * pfring_xdp.h - what the XDP program of a zc:/dna: ring (pfring_xdp.bpf.c)
 * and libpfring (drivers/af_xdp.c) share: the maps' layouts, the counter
 * slots and the version checked at attach time.  Included by both sides.
 *
 *   NIC RX queue q ──▶ dispatcher (libxdp) ──▶ pfring_xdp_rx
 *                                               │ q not in config.queue_mask ──▶ XDP_PASS
 *                                               │ no socket in xsks[q]       ──▶ XDP_PASS
 *                                               │ the ring's BPF filter
 *                                               │   returns 0                ──▶ XDP_PASS
 *                                               │ sampled out                ──▶ XDP_DROP
 *                                               └ bpf_redirect_map(xsks, q)  ──▶ queue q's
 *                                                                               AF_XDP RX ring
 *
 * One program instance per ring: it owns the ring's queues of one device
 * (one socket per queue, each in xsks[queue]: "zc:eth0@0,zc:eth0@1" and
 * "zc:eth0" on a multi-queue device are one instance over several queues),
 * so rings on other queues of the same device are further programs in the
 * same dispatcher, each passing what is not its own.
 *
 *   map            type           key          value                 written by
 *   pfring_xsks    XSKMAP         queue id     the socket of it      user space (enable/disable)
 *   pfring_config  ARRAY [1]      0            struct pfring_xdp_cfg user space, before attach
 *   pfring_stats   PERCPU_ARRAY   PFRING_XDP_* u64 packet counter    the program
 *   pfring_sampler ARRAY [1]      0            struct pfring_xdp_sampler the program (under its lock)
 *   pfring_filters ARRAY_OF_MAPS  0: filter    an ARRAY [4097] map of    user space: a new inner
 *                  [2]           1: cluster   struct pfring_xdp_insn:   map per filter change
 *                                   hash      0 the length, 1.. the program
 *
 * A zc: cluster (cfg.cluster_members > 0, one queue): the program runs the
 * cluster type's hash program (kernel/cluster.c, the one AF_PACKET fanout
 * groups run) from pfring_filters' slot 1, by the same interpreter, and
 * redirects to xsks[hash % members]: key = member index, not queue.  The
 * members (processes) share the UMEM; kernel/xdp/pfring_xdp_cluster.h has the
 * shared memory and the join/leave protocol.
 *
 * The BPF filter (pfring_set_bpf_filter and friends, when the program runs
 * in the kernel; pfring_xdp_rxnf is the same program without it, for a
 * process that cannot load the interpreter, whose filters run in user
 * space): the classic program, run by the interpreter of
 * kernel/common/cbpf_interp.h, from the inner map in pfring_filters' slot,
 * looked up once per packet (its entry 0 is a header whose k is the
 * program's length; instruction i is entry i + 1).  An empty slot: no filter.  A change writes
 * the whole program into a fresh inner map and swaps it into the slot with
 * one map update (the kernel waits for the programs running the old one
 * before the update returns), so a packet runs the old program or the new
 * one, never a mix, and nothing is loaded or attached again.  A frame the
 * program rejects (returns 0) goes on to the stack, as every frame the
 * ring does not take (PFRING_XDP_FILTERED, not a drop); a non-zero result
 * (the snap length) takes it, whole (the ring's caplen cuts it).  The
 * filter runs before the sampler, as PF_RING samples what its filter kept.
 *
 * Sampling (cfg.sample_rate > 1): of the ring's packets (all its queues), the 1st, the
 * (N+1)th, ... go on to the socket, the others are dropped in the program
 * (counted in PFRING_XDP_SAMPLED_OUT).  One counter for every CPU, taken
 * under a spin lock, so the count is exact whatever CPU a packet is on.
 * User space zeroes the counter when it sets a rate.
 *
 * The version: user space writes PFRING_XDP_ABI_VERSION into cfg.version
 * and reads it back from the loaded map at attach time; the program counts
 * nothing and passes everything when the two disagree.
 */
#ifndef PFRING_XDP_H
#define PFRING_XDP_H

#include <linux/types.h>
#include <linux/bpf.h>

#define PFRING_XDP_ABI_VERSION 5
#define PFRING_XDP_MAX_QUEUES 64        /* MAX_NUM_RX_CHANNELS */
#define PFRING_XDP_CBPF_MAX   4096      /* BPF_MAXINSNS */

struct pfring_xdp_cfg {
  __u32 version;        /* PFRING_XDP_ABI_VERSION */
  __u32 owner_pid;      /* the process of the ring (the sweep's key) */
  __u32 sample_rate;    /* 0 or 1: every packet; N: 1 in N (see above) */
  __u32 cluster_members; /* a zc: cluster: its members in xsks[0..n-1]; 0: none */
  __u32 cluster_id;     /* the cluster of this program (0: none) */
  __s32 loc_pid;        /* a process of the cluster: where a joiner takes the UMEM */
  __s32 loc_xsk_fd;     /* its socket on the queue */
  __s32 loc_memfd;      /* its file of the UMEM */
  __u64 owner_start;    /* its start time (/proc/PID/stat field 22) */
  __u64 queue_mask;     /* the RX queues this instance serves: bit q = queue q */
  __u8 dev_mac[6];      /* the device's address (SKF_AD_PKTTYPE: PACKET_HOST), at the last filter set */
  __u16 pad;
};

/* A classic BPF instruction, as struct sock_filter. */
struct pfring_xdp_insn {
  __u16 code;
  __u8 jt, jf;
  __u32 k;
};

/* The entries of an inner map of pfring_filters: the header (k: the
 * program's length, 1..PFRING_XDP_CBPF_MAX) and the instructions. */
#define PFRING_XDP_FILTER_ENTRIES (PFRING_XDP_CBPF_MAX + 1)

struct pfring_xdp_sampler {
  struct bpf_spin_lock lock;
  __u32 pad;
  __u64 count;          /* packets of the queue seen by the sampler */
};

enum pfring_xdp_counter {
  PFRING_XDP_SEEN = 0,      /* packets of the ring's queue */
  PFRING_XDP_REDIRECTED,    /* handed to the socket's RX path */
  PFRING_XDP_NO_SOCKET,     /* passed: the ring is disabled (no socket in the map) */
  PFRING_XDP_REDIRECT_FAILED, /* bpf_redirect_map refused: dropped by the program */
  PFRING_XDP_SAMPLED_OUT,   /* dropped by the sampler (not drops: PF_RING skips them) */
  PFRING_XDP_FILTERED,      /* passed: the BPF filter rejected them (not drops) */
  PFRING_XDP_MEMBER_GONE,   /* a cluster member's slot empty (it died): dropped */
  PFRING_XDP_NUM_COUNTERS
};

#endif /* PFRING_XDP_H */
