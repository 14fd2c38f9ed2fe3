/*
 * pfring_xdp.h - what the XDP program of a zc:/dna: ring (pfring_xdp.bpf.c)
 * and libpfring (drivers/af_xdp.c) share: the maps' layouts, the counter
 * slots and the version checked at attach time.  Included by both sides.
 *
 *   NIC RX queue q ──▶ dispatcher (libxdp) ──▶ pfring_xdp_rx
 *                                               │ q != config.queue_id   ──▶ XDP_PASS
 *                                               │ no socket in xsks[q]   ──▶ XDP_PASS
 *                                               └ bpf_redirect_map(xsks, q) ──▶ AF_XDP RX ring
 *
 * One program instance per ring: it owns one queue of one device, so rings
 * on other queues of the same device are further programs in the same
 * dispatcher, each passing what is not its own.
 *
 *   map            type           key          value                 written by
 *   pfring_xsks    XSKMAP         queue id     the ring's socket     user space (enable/disable)
 *   pfring_config  ARRAY [1]      0            struct pfring_xdp_cfg user space, before attach
 *   pfring_stats   PERCPU_ARRAY   PFRING_XDP_* u64 packet counter    the program
 *   pfring_sampler ARRAY [1]      0            struct pfring_xdp_sampler the program (under its lock)
 *
 * Sampling (cfg.sample_rate > 1): of the queue's packets, the 1st, the
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

#define PFRING_XDP_ABI_VERSION 2
#define PFRING_XDP_MAX_QUEUES 64        /* MAX_NUM_RX_CHANNELS */

struct pfring_xdp_cfg {
  __u32 version;        /* PFRING_XDP_ABI_VERSION */
  __u32 queue_id;       /* the one RX queue this instance serves */
  __u32 owner_pid;      /* the process of the ring (the sweep's key) */
  __u32 sample_rate;    /* 0 or 1: every packet; N: 1 in N (see above) */
  __u64 owner_start;    /* its start time (/proc/PID/stat field 22) */
};

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
  PFRING_XDP_NUM_COUNTERS
};

#endif /* PFRING_XDP_H */
