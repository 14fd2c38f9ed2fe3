// SPDX-License-Identifier: GPL-2.0
/*
 * pfring_xdp.bpf.c - the XDP program of a zc:/dna: ring: packets of the
 * ring's RX queue go to its AF_XDP socket, everything else passes on (to
 * the next program of libxdp's dispatcher, then the stack).  Layout and
 * counters: pfring_xdp.h.  Built with clang -target bpf -g; loaded and
 * attached by drivers/af_xdp.c through libbpf and libxdp.
 */
#include <linux/bpf.h>
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

static __always_inline void count(__u32 slot)
{
  __u64 *v = bpf_map_lookup_elem(&pfring_stats, &slot);

  if (v)
    *v += 1;
}

SEC("xdp")
int pfring_xdp_rx(struct xdp_md *ctx)
{
  __u32 zero = 0, queue = ctx->rx_queue_index;
  struct pfring_xdp_cfg *cfg = bpf_map_lookup_elem(&pfring_config, &zero);
  struct pfring_xdp_sampler *smp;
  __u32 rate;
  __u64 n = 0;
  long action;

  if (!cfg || cfg->version != PFRING_XDP_ABI_VERSION || queue != cfg->queue_id)
    return XDP_PASS;
  count(PFRING_XDP_SEEN);
  if (!bpf_map_lookup_elem(&pfring_xsks, &queue)) {
    count(PFRING_XDP_NO_SOCKET);
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

char LICENSE[] SEC("license") = "GPL";
