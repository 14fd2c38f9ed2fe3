// SPDX-License-Identifier: GPL-2.0
/*
 * pfring_xdp.bpf.c - the XDP program of a zc:/dna: ring: packets of the
 * ring's RX queues (cfg.queue_mask) go to their AF_XDP sockets (xsks[queue],
 * one per queue), everything else passes on (to the next program of
 * libxdp's dispatcher, then the stack).  Layout and counters: pfring_xdp.h.  Built with clang -target bpf -g; loaded and
 * attached by drivers/af_xdp.c through libbpf and libxdp.
 *
 * The ring's classic BPF filter runs here, by the interpreter the rules
 * program uses (kernel/common/cbpf_interp.h), on the frame as the driver
 * gives it: VLAN tags that the NIC did not strip are in the data, as the
 * ring's reader sees them.  Loads read the frame with bpf_xdp_load_bytes.
 * Ancillary loads (SKF_AD_*) give what the socket filter's would where XDP
 * knows it: the protocol (the ethertype after one VLAN tag, as the kernel
 * sets skb->protocol; ETH_P_802_3 or ETH_P_802_2 for a length), the packet
 * type (from the destination address and the device's, in the config),
 * the ifindex, the device type (ARPHRD_ETHER: XDP runs natively only on
 * such devices here), the CPU and a random number.  The others (mark,
 * queue, rx hash, VLAN metadata, ...) have no value before the kernel makes
 * a socket buffer: user space refuses a program with them (drivers/af_xdp.c)
 * and this returns -1 (the program ends with 0) should one come.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>

#include "pfring_xdp.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, PFRING_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} pfring_xsks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_xdp_cfg);
} pfring_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PFRING_XDP_NUM_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} pfring_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_xdp_sampler);
} pfring_sampler SEC(".maps");

/* Sizes, not BTF types: clang writes the value type of an inner map
 * template only as a forward declaration. */
struct pfring_xdp_filter_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PFRING_XDP_FILTER_ENTRIES);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct pfring_xdp_insn));
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct pfring_xdp_filter_map);
} pfring_filters SEC(".maps");

/* The classic program's scratch memory (M[]), per CPU: a packet's program
 * runs to its end on one CPU.  (The kernel's classic checker, run at set
 * time, refuses a program that reads a word before writing it.) */
struct pfring_xdp_mem {
  __u32 M[BPF_MEMWORDS];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_xdp_mem);
} pfring_cbpf_mem SEC(".maps");

/* ------------------------------------------------------------------------ */
/* The classic BPF filter                                                   */

#define ARPHRD_ETHER_ 1

static __always_inline int is_vlan_tpid(__u16 t)
{
  return t == ETH_P_8021Q || t == ETH_P_8021AD;
}

static __always_inline __s64 be16_at(struct xdp_md *ctx, __u32 off)
{
  __u8 b[2];

  if (bpf_xdp_load_bytes(ctx, off, b, 2) < 0)
    return -1;
  return (__u32)b[0] << 8 | b[1];
}

/* Where the network header is: after the Ethernet header and the one VLAN
 * tag the kernel would take out of the data. */
static __always_inline __s64 net_off(struct xdp_md *ctx)
{
  __s64 t = be16_at(ctx, 12);

  if (t < 0)
    return -1;
  return is_vlan_tpid((__u16)t) ? 18 : 14;
}

static __always_inline __s64 ancillary(struct xdp_md *ctx, __u32 k)
{
  struct pfring_xdp_cfg *cfg;
  __u32 zero = 0;
  __u8 d[6];
  __s64 t;

  switch (k - (__u32)SKF_AD_OFF) {
  case SKF_AD_PROTOCOL:
    t = be16_at(ctx, 12);
    if (t >= 0 && is_vlan_tpid((__u16)t))
      t = be16_at(ctx, 16);
    if (t < 0 || t >= ETH_P_802_3_MIN)
      return t;
    t = be16_at(ctx, 14);           /* a length: raw 802.3 (IPX) or 802.2 LLC */
    return t == 0xffff ? ETH_P_802_3 : ETH_P_802_2;
  case SKF_AD_PKTTYPE:
    if (bpf_xdp_load_bytes(ctx, 0, d, 6) < 0)
      return -1;
    if ((d[0] & d[1] & d[2] & d[3] & d[4] & d[5]) == 0xff)
      return PACKET_BROADCAST;
    if (d[0] & 1)
      return PACKET_MULTICAST;
    cfg = bpf_map_lookup_elem(&pfring_config, &zero);
    if (!cfg)
      return -1;
    return d[0] == cfg->dev_mac[0] && d[1] == cfg->dev_mac[1] && d[2] == cfg->dev_mac[2] &&
           d[3] == cfg->dev_mac[3] && d[4] == cfg->dev_mac[4] && d[5] == cfg->dev_mac[5]
           ? PACKET_HOST : PACKET_OTHERHOST;
  case SKF_AD_IFINDEX:          return ctx->ingress_ifindex;
  /* No tag is metadata before the stack: tags are in the data (the
   * cluster hash reads them there, as the sending side's fanout program
   * does).  User filters with these are refused in user space. */
  case SKF_AD_VLAN_TAG:         return 0;
  case SKF_AD_VLAN_TAG_PRESENT: return 0;
  case SKF_AD_HATYPE:           return ARPHRD_ETHER_;
  case SKF_AD_CPU:              return bpf_get_smp_processor_id();
  case SKF_AD_RANDOM:           return bpf_get_prandom_u32();
  }
  return -1;
}

/* A classic load of 1, 2 or 4 bytes at k (CBPF_LOAD of cbpf_interp.h).
 * Global, so the verifier checks it once. */
__attribute__((noinline)) __s64 xdp_cbpf_load(struct xdp_md *ctx, __u32 k, __u32 size, __u32 abs)
{
  __u32 off = k;
  __u8 b[4] = {};
  __s64 n;
  long rc;

  if (!ctx)
    return -1;
  if (k >= (__u32)SKF_AD_OFF)
    return abs ? ancillary(ctx, k) : -1;
  if (k >= (__u32)SKF_NET_OFF) {
    n = net_off(ctx);
    if (n < 0)
      return -1;
    off = k - (__u32)SKF_NET_OFF + (__u32)n;
  } else if (k >= (__u32)SKF_LL_OFF) {
    off = k - (__u32)SKF_LL_OFF;
  }
  if (off > 0xffff)
    return -1;
  if (size == 4)
    rc = bpf_xdp_load_bytes(ctx, off, b, 4);
  else if (size == 2)
    rc = bpf_xdp_load_bytes(ctx, off, b, 2);
  else
    rc = bpf_xdp_load_bytes(ctx, off, b, 1);
  if (rc < 0)
    return -1;
  if (size == 4)
    return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
  if (size == 2)
    return (__u32)b[0] << 8 | b[1];
  return b[0];
}

static __always_inline const struct pfring_xdp_insn *insn_at(const void *map, __u32 pc)
{
  __u32 key = pc + 1;

  return bpf_map_lookup_elem((void *)map, &key);
}

static __always_inline __u32 *mem_at(__u32 i)
{
  __u32 zero = 0;
  struct pfring_xdp_mem *m = bpf_map_lookup_elem(&pfring_cbpf_mem, &zero);

  return m ? &m->M[i & (BPF_MEMWORDS - 1)] : (__u32 *)0;
}

#define CBPF_CTX                     struct xdp_md
#define CBPF_INSN                    struct pfring_xdp_insn
/* Instruction pc is entry pc + 1 of the inner map (s->prog); a helper
 * lookup, not pointer arithmetic, which the verifier refuses without
 * CAP_PERFMON once pc is no longer the constant of the first step. */
#define CBPF_FETCH(s, pc)            insn_at((s)->prog, pc)
#define CBPF_LOAD(ctx, k, size, abs) xdp_cbpf_load(ctx, k, size, abs)
#define CBPF_LEN(ctx)                ((__u32)bpf_xdp_get_buff_len(ctx))
#define CBPF_M(s, i)                 mem_at(i)
#include "cbpf_interp.h"

/* The result of the classic program in pfring_filters' slot (0: the
 * ring's filter, 1: the cluster hash), or none when the slot is empty.  A
 * function of its own (its own stack frame): the interpreter's state holds
 * pointers, which the caller's later stack slots must not overlap (the
 * verifier refuses a partial overwrite of a spilled pointer without
 * CAP_PERFMON). */
static __attribute__((noinline)) __u32 run_slot(struct xdp_md *ctx, __u32 slot, __u32 none)
{
  const struct pfring_xdp_insn *hdr;
  struct cbpf s = {};
  __u32 zero = 0, len, key = slot & 1;
  void *inner;

  inner = bpf_map_lookup_elem(&pfring_filters, &key);
  if (!inner)
    return none;
  hdr = bpf_map_lookup_elem(inner, &zero);
  if (!hdr)
    return none;
  len = hdr->k < PFRING_XDP_CBPF_MAX ? hdr->k : PFRING_XDP_CBPF_MAX;
  if (!len)
    return none;
  s.ctx = ctx;
  s.prog = inner;
  bpf_loop(len, cbpf_step, &s, 0);
  return s.ret;
}

/* ------------------------------------------------------------------------ */

static __always_inline void count(__u32 slot)
{
  __u64 *v = bpf_map_lookup_elem(&pfring_stats, &slot);

  if (v)
    *v += 1;
}

/* The two programs below: with the classic filter (pfring_xdp_rx), and
 * without it (pfring_xdp_rxnf) for a process whose capabilities cannot
 * load the interpreter (without CAP_PERFMON the verifier refuses it: it
 * explores the speculative paths of every instruction), whose filters
 * then run in user space.  User space loads one of them. */
static __always_inline int rx(struct xdp_md *ctx, int with_filter)
{
  __u32 zero = 0, queue = ctx->rx_queue_index;
  struct pfring_xdp_cfg *cfg = bpf_map_lookup_elem(&pfring_config, &zero);
  struct pfring_xdp_sampler *smp;
  __u32 rate;
  __u64 n = 0;
  long action;

  if (!cfg || cfg->version != PFRING_XDP_ABI_VERSION || queue >= PFRING_XDP_MAX_QUEUES ||
      !((cfg->queue_mask >> queue) & 1))
    return XDP_PASS;
  count(PFRING_XDP_SEEN);
  if (cfg->cluster_members && with_filter) {
    __u32 n = cfg->cluster_members, member;

    member = run_slot(ctx, 1, 0) % n;
    action = bpf_redirect_map(&pfring_xsks, member, XDP_DROP);
    count(action == XDP_REDIRECT ? PFRING_XDP_REDIRECTED : PFRING_XDP_MEMBER_GONE);
    return (int)action;
  }
  if (!bpf_map_lookup_elem(&pfring_xsks, &queue)) {
    count(PFRING_XDP_NO_SOCKET);
    return XDP_PASS;
  }
  if (with_filter && !run_slot(ctx, 0, 1)) {
    count(PFRING_XDP_FILTERED);
    return XDP_PASS;
  }
  rate = cfg->sample_rate;
  if (rate > 1 && (smp = bpf_map_lookup_elem(&pfring_sampler, &zero))) {
    bpf_spin_lock(&smp->lock);
    n = smp->count++;
    bpf_spin_unlock(&smp->lock);
    if (n % rate) {
      count(PFRING_XDP_SAMPLED_OUT);
      return XDP_DROP;
    }
  }
  action = bpf_redirect_map(&pfring_xsks, queue, XDP_DROP);
  count(action == XDP_REDIRECT ? PFRING_XDP_REDIRECTED : PFRING_XDP_REDIRECT_FAILED);
  return (int)action;
}

SEC("xdp")
int pfring_xdp_rx(struct xdp_md *ctx)
{
  return rx(ctx, 1);
}

SEC("xdp")
int pfring_xdp_rxnf(struct xdp_md *ctx)
{
  return rx(ctx, 0);
}

char LICENSE[] SEC("license") = "GPL";
