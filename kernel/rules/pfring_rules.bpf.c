// SPDX-License-Identifier: GPL-2.0
/*
 * pfring_rules.bpf.c - the socket filter of a ring with filtering rules
 * (BPF_PROG_TYPE_SOCKET_FILTER, attached with SO_ATTACH_BPF).  Maps and the
 * rule encoding: pfring_rules.h.  Built with clang -target bpf -g; loaded
 * by libpfring/src/rules.c through the skeleton bpftool writes.
 *
 * In PF_RING's order:
 *   1. the ring's classic filter (kernel/filter.c: direction, devices, VLAN,
 *      channels, then the user's BPF program), run by the interpreter
 *      below; 0 drops, anything else is the snap length
 *   2. the default policy (pfring_toggle_filtering_policy), from the rule
 *      set in pfring_rules_sets' slot, looked up once per packet
 *   3. the hash rules: one lookup of the flow (both directions give one
 *      key, pfring_rules_hkey_make); a match counts in the rule and
 *      decides (forward, don't forward; execute actions: the policy), and
 *      the wildcard rules do not run
 *   4. the wildcard rules in ascending rule_id order (a rule with a
 *      balance_pool matches only the packets whose flow hash modulo the
 *      pool is its balance_id; one with a payload_pattern only the
 *      packets whose payload holds it, see payload_has): a match counts
 *      in the rule's stats; forward/don't forward decide and stop,
 *      execute-and-continue goes on to the next rule, execute-and-stop
 *      stops (the policy decides: there are no plugins to act), and
 *      forward-and-add-rule forwards, stops and adds the packet's flow to
 *      the hash rules (auto_add); forward-and-delete-rule forwards, stops
 *      and removes the flow's hash rule (auto_del)
 *   3b. when a hash rule decided and the set has delete-rule rules, those
 *      rules (and no others) run in order: the first that matches removes
 *      the flow's hash rule and forwards the packet (the hash rule's own
 *      verdict is replaced); the reflector skips this step
 *   reflect and bounce (either form) keep the packet out of the ring, as
 *   PF_RING does; the stop forms stop, the continue forms go on (a later
 *   rule's verdict replaces theirs)
 * Sampling stays in libpfring's receive path, after this verdict.
 *
 * pfring_rules_reflect, the instance's tc program (a tcx link at the
 * ingress of each of the ring's devices while the ring has reflect or
 * bounce rules): the same steps on the same maps, with nothing counted
 * (the socket filter counts) and nothing added, and for each reflect or
 * bounce rule that matches, a copy of the packet sent with
 * bpf_clone_redirect: out of the rule's reflector device (reflect), or
 * back out of the device it came in on with the source and destination
 * MACs swapped (bounce; the packet the stack goes on with keeps its own
 * MACs).  It returns TCX_NEXT: the stack, and the tc programs after it,
 * get every packet as they would without it.
 *
 * The interpreter (kernel/common/cbpf_interp.h, shared with the XDP
 * program): classic BPF as the kernel runs it (sk_run_filter), one
 * instruction per bpf_loop step.  A load past the end of the packet, a
 * division by zero, a jump out of the program or an unknown opcode end the
 * program with 0.  Ancillary loads (SKF_AD_*) read __sk_buff; the device
 * type (SKF_AD_HATYPE), which __sk_buff does not carry, is ARPHRD_LOOPBACK
 * on the loopback device (ifindex 1 in every namespace) and ARPHRD_ETHER
 * elsewhere: the generated programs test it only against loopback.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "pfring_rules.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_rules_cfg);
} pfring_rules_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PFRING_RULES_CBPF_MAX);
  __type(key, __u32);
  __type(value, struct pfring_rules_insn);
} pfring_rules_cbpf SEC(".maps");

/* Sizes, not BTF types: clang writes the value type of an inner map
 * template only as a forward declaration. */
struct pfring_rules_set_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct pfring_rules_set));
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct pfring_rules_set_map);
} pfring_rules_sets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PFRING_RULES_MAX);
  __type(key, __u32);
  __type(value, struct pfring_rules_stat);
} pfring_rule_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, PFRING_RULES_HASH_MAX);
  __type(key, struct pfring_rules_hkey);
  __type(value, struct pfring_rules_hval);
} pfring_hash_rules SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_rules_auto);
} pfring_rules_auto SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_rules_scratch);
} pfring_rules_scratch SEC(".maps");

/* The reflector's own payload window: the copies it sends run the socket
 * filters of the device they leave by on this CPU, inside it, and one of
 * them may be this ring's. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_rules_scratch);
} pfring_rules_scratch_tc SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pfring_rules_refl);
} pfring_rules_refl SEC(".maps");

/* ------------------------------------------------------------------------ */
/* The classic BPF interpreter                                              */

#define EEXIST_           17
#define PACKET_OUTGOING_  4
#define ARPHRD_ETHER_     1
#define ARPHRD_LOOPBACK_  772
#define LOOPBACK_IFINDEX_ 1

/* An ancillary load (SKF_AD_*): its value, or -1 for one this does not know. */
static __always_inline __s64 ancillary(struct __sk_buff *skb, __u32 k)
{
  switch (k - (__u32)SKF_AD_OFF) {
  case SKF_AD_PROTOCOL:         return bpf_ntohs((__u16)skb->protocol);
  case SKF_AD_PKTTYPE:          return skb->pkt_type;
  case SKF_AD_IFINDEX:          return skb->ifindex;
  case SKF_AD_MARK:             return skb->mark;
  case SKF_AD_QUEUE:            return skb->queue_mapping;
  case SKF_AD_HATYPE:
    return skb->ifindex == LOOPBACK_IFINDEX_ ? ARPHRD_LOOPBACK_ : ARPHRD_ETHER_;
  case SKF_AD_RXHASH:           return skb->hash;
  case SKF_AD_CPU:              return bpf_get_smp_processor_id();
  case SKF_AD_VLAN_TAG:         return skb->vlan_tci;
  case SKF_AD_VLAN_TAG_PRESENT: return skb->vlan_present;
  case SKF_AD_RANDOM:           return bpf_get_prandom_u32();
  case SKF_AD_VLAN_TPID:        return bpf_ntohs((__u16)skb->vlan_proto);
  }
  return -1;
}

/* A classic load of 1, 2 or 4 bytes at k: absolute, SKF_NET_OFF or
 * SKF_LL_OFF relative, or ancillary (abs only).  Returns the value, or -1,
 * which ends the program.  Global, so the verifier checks it once. */
__attribute__((noinline)) __s64 cbpf_load(struct __sk_buff *skb, __u32 k, __u32 size, __u32 abs)
{
  __u32 base = BPF_HDR_START_MAC, off = k;
  __u8 b[4] = {};
  long rc;

  if (!skb)
    return -1;
  if (k >= (__u32)SKF_AD_OFF)
    return abs ? ancillary(skb, k) : -1;
  if (k >= (__u32)SKF_NET_OFF) {
    base = BPF_HDR_START_NET;
    off = k - (__u32)SKF_NET_OFF;
  } else if (k >= (__u32)SKF_LL_OFF) {
    off = k - (__u32)SKF_LL_OFF;
  }
  if (off > 0xffff)
    return -1;
  if (size == 4)
    rc = bpf_skb_load_bytes_relative(skb, off, b, 4, base);
  else if (size == 2)
    rc = bpf_skb_load_bytes_relative(skb, off, b, 2, base);
  else
    rc = bpf_skb_load_bytes_relative(skb, off, b, 1, base);
  if (rc < 0)
    return -1;
  if (size == 4)
    return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
  if (size == 2)
    return (__u32)b[0] << 8 | b[1];
  return b[0];
}

#define CBPF_CTX                     struct __sk_buff
#define CBPF_INSN                    struct pfring_rules_insn
#define CBPF_FETCH(s, pc)            bpf_map_lookup_elem(&pfring_rules_cbpf, &(pc))
#define CBPF_LOAD(ctx, k, size, abs) cbpf_load(ctx, k, size, abs)
#define CBPF_LEN(ctx)                ((ctx)->len)
#include "cbpf_interp.h"

/* ------------------------------------------------------------------------ */
/* The packet's fields, as PF_RING's parser gives them to the rules         */

struct pkt {
  __u8 dmac[6], smac[6];
  __u16 vlan_id;          /* the outer VLAN id, 0 when untagged */
  __u16 eth_type;         /* after the VLAN tags */
  __u8 ip_version;        /* 4, 6 or 0 */
  __u8 proto;
  __u8 tcp_flags;
  __u8 frag;              /* an IP fragment (IPv4 MF or offset; IPv6 M or offset) */
  __u32 src[4], dst[4];   /* network order; IPv4 in word 0 */
  __u16 sport, dport;     /* 0 without ports (or in a later IP fragment) */
  __s32 ifindex;
  __u32 payload_off;      /* TCP and UDP: where the payload starts; 0: no payload */
  __u32 l4_off;           /* where the IP payload starts (not in a later fragment); 0: none */
};

static __always_inline int is_vlan_tpid(__u16 t)
{
  return t == ETH_P_8021Q || t == ETH_P_8021AD || t == 0x9100;
}

/* Global (verified once, on its own): fills p, which starts zeroed. */
__attribute__((noinline)) int parse(struct __sk_buff *skb, struct pkt *p)
{
  __u8 eth[14], tag[4], ip4[20], ip6[40], ports[4], ext[2];
  __u32 off = 14, l4 = 0, i;
  __u8 nh;

  if (!p)
    return 0;
  p->ifindex = (__s32)skb->ifindex;
  if (bpf_skb_load_bytes(skb, 0, eth, 14) < 0)
    return 0;
  __builtin_memcpy(p->dmac, eth, 6);
  __builtin_memcpy(p->smac, eth + 6, 6);
  p->eth_type = (__u16)(eth[12] << 8 | eth[13]);
  if (skb->vlan_present)
    p->vlan_id = skb->vlan_tci & 0x0fff;     /* the tag the kernel took out */
#pragma unroll
  for (i = 0; i < 2; i++) {                   /* tags in the data (QinQ: two) */
    if (!is_vlan_tpid(p->eth_type))
      break;
    if (bpf_skb_load_bytes(skb, off, tag, 4) < 0)
      return 0;
    if (!skb->vlan_present && i == 0)
      p->vlan_id = (__u16)((tag[0] & 0x0f) << 8 | tag[1]);
    p->eth_type = (__u16)(tag[2] << 8 | tag[3]);
    off += 4;
  }
  if (p->eth_type == ETH_P_IP) {
    if (bpf_skb_load_bytes(skb, off, ip4, 20) < 0)
      return 0;
    if ((ip4[0] >> 4) != 4)
      return 0;
    p->ip_version = 4;
    p->proto = ip4[9];
    __builtin_memcpy(&p->src[0], ip4 + 12, 4);
    __builtin_memcpy(&p->dst[0], ip4 + 16, 4);
    p->frag = ((ip4[6] & 0x3f) << 8 | ip4[7]) != 0;
    if (((ip4[6] & 0x1f) << 8 | ip4[7]) != 0)
      return 0;                                 /* a later fragment: no ports */
    l4 = off + (ip4[0] & 0x0f) * 4;
  } else if (p->eth_type == ETH_P_IPV6) {
    if (bpf_skb_load_bytes(skb, off, ip6, 40) < 0)
      return 0;
    p->ip_version = 6;
    __builtin_memcpy(p->src, ip6 + 8, 16);
    __builtin_memcpy(p->dst, ip6 + 24, 16);
    nh = ip6[6];
    l4 = off + 40;
#pragma unroll
    for (i = 0; i < 4; i++) {                 /* extension headers */
      if (nh == 44) {                         /* fragment */
        if (bpf_skb_load_bytes(skb, l4, ip4, 4) < 0)
          return 0;
        p->proto = ip4[0];
        if (((ip4[2] << 8 | ip4[3]) & 0xfff9) != 0)
          p->frag = 1;
        if (((ip4[2] << 8 | ip4[3]) & 0xfff8) != 0)
          return 0;                             /* a later fragment: no ports */
        nh = ip4[0];
        l4 += 8;
        continue;
      }
      if (nh != 0 && nh != 43 && nh != 60)
        break;
      if (bpf_skb_load_bytes(skb, l4, ext, 2) < 0)
        return 0;
      nh = ext[0];
      l4 += (ext[1] + 1) * 8;
    }
    p->proto = nh;
  } else {
    return 0;
  }
  p->l4_off = l4 & 0xffff;
  if (p->proto != 6 && p->proto != 17 && p->proto != 132)
    return 0;
  if (bpf_skb_load_bytes(skb, l4 & 0xffff, ports, 4) < 0)
    return 0;
  p->sport = (__u16)(ports[0] << 8 | ports[1]);
  p->dport = (__u16)(ports[2] << 8 | ports[3]);
  if (p->proto == 6 && bpf_skb_load_bytes(skb, (l4 + 12) & 0xffff, ext, 2) == 0) {
    p->tcp_flags = ext[1];
    p->payload_off = (l4 & 0xffff) + (ext[0] >> 4) * 4;   /* the data offset */
  } else if (p->proto == 17) {
    p->payload_off = (l4 & 0xffff) + 8;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The tunnel id (FILTER_TUNNEL_ID_FLAG), as libpfring's parser gives it to
 * the packet header (libpfring/src/parse.c, parse_tunnel): the TEID of
 * GTPv1-U and GTPv1-C (UDP port 2152 or 2123 either way; the header with
 * its optional fields and at most 8 extension headers complete), of GTPv2-C
 * with the T flag (port 2123), the VNI of VXLAN (destination port 4789, the
 * I flag set) and the key of GRE version 0 without routing (the header
 * complete); PFRING_RULES_NO_TUNNEL otherwise.  The outer ports decide, as
 * there; a later IP fragment has none.                                     */

#define GTP_MAX_EXT_ 8

static __always_inline __u32 be32_at(const __u8 *b)
{
  return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

/* GTP at off: the TEID, or PFRING_RULES_NO_TUNNEL. */
static __always_inline __u32 gtp_teid(struct __sk_buff *skb, __u32 off, int user_plane)
{
  __u8 h[12], b;
  __u32 teid, len, i, next;

  if (bpf_skb_load_bytes(skb, off & 0xffff, h, 1) < 0)
    return PFRING_RULES_NO_TUNNEL;
  if (!user_plane && (h[0] >> 5) == 2) {           /* GTPv2-C */
    if (!(h[0] & 0x08))
      return PFRING_RULES_NO_TUNNEL;              /* no TEID */
    if (bpf_skb_load_bytes(skb, off & 0xffff, h, 12) < 0)
      return PFRING_RULES_NO_TUNNEL;
    return be32_at(h + 4);
  }
  if (bpf_skb_load_bytes(skb, off & 0xffff, h, 8) < 0)
    return PFRING_RULES_NO_TUNNEL;
  if ((h[0] >> 5) != 1 || !(h[0] & 0x10))         /* version 1, PT = GTP */
    return PFRING_RULES_NO_TUNNEL;
  teid = be32_at(h + 4);
  if (!(h[0] & 0x07))                              /* no E, S or PN */
    return teid;
  off += 8;
  next = 0;
  if (bpf_skb_load_bytes(skb, off & 0xffff, h + 8, 4) < 0)
    return PFRING_RULES_NO_TUNNEL;
  if (h[0] & 0x04)
    next = h[11];
  off += 4;
  for (i = 0; i <= GTP_MAX_EXT_; i++) {            /* extension headers */
    if (!next)
      return teid;
    if (i == GTP_MAX_EXT_ || bpf_skb_load_bytes(skb, off & 0xffff, &b, 1) < 0)
      return PFRING_RULES_NO_TUNNEL;
    len = b * 4u;
    if (len == 0 || bpf_skb_load_bytes(skb, (off + len - 1) & 0xffff, &b, 1) < 0)
      return PFRING_RULES_NO_TUNNEL;
    next = b;
    off += len;
  }
  return PFRING_RULES_NO_TUNNEL;
}

/* Global (verified once, on its own). */
__attribute__((noinline)) __u32 tunnel_id_of(struct __sk_buff *skb, const struct pkt *p)
{
  __u8 h[8];
  __u32 off, id = PFRING_RULES_NO_TUNNEL;
  __u16 flags;

  if (!skb || !p)
    return PFRING_RULES_NO_TUNNEL;
  if (p->proto == 17 && p->payload_off) {
    if (p->sport == 2152 || p->dport == 2152)
      return gtp_teid(skb, p->payload_off, 1);
    if (p->sport == 2123 || p->dport == 2123)
      return gtp_teid(skb, p->payload_off, 0);
    if (p->dport == 4789) {
      if (bpf_skb_load_bytes(skb, p->payload_off & 0xffff, h, 8) < 0 || !(h[0] & 0x08))
        return PFRING_RULES_NO_TUNNEL;
      return be32_at(h + 4) >> 8;
    }
    return PFRING_RULES_NO_TUNNEL;
  }
  if (p->proto != 47 || !p->l4_off)
    return PFRING_RULES_NO_TUNNEL;
  off = p->l4_off;
  if (bpf_skb_load_bytes(skb, off & 0xffff, h, 4) < 0)
    return PFRING_RULES_NO_TUNNEL;
  flags = (__u16)(h[0] << 8 | h[1]);
  if (flags & (0x0007 | 0x4000))                   /* a version, or routing */
    return PFRING_RULES_NO_TUNNEL;
  off += 4;
  if (flags & 0x8000)                              /* checksum */
    off += 4;
  if (flags & 0x2000) {                            /* key */
    if (bpf_skb_load_bytes(skb, off & 0xffff, h, 4) < 0)
      return PFRING_RULES_NO_TUNNEL;
    id = be32_at(h);
    off += 4;
  }
  if (flags & 0x1000)                              /* sequence number */
    off += 4;
  return off <= skb->len ? id : PFRING_RULES_NO_TUNNEL;
}

/* ------------------------------------------------------------------------ */
/* The wildcard rules                                                       */

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
         a[5] == b[5];
}

static __always_inline int host_in(const __u32 *addr, const __u32 *host, const __u32 *mask)
{
  return (addr[0] & mask[0]) == host[0] && (addr[1] & mask[1]) == host[1] &&
         (addr[2] & mask[2]) == host[2] && (addr[3] & mask[3]) == host[3];
}

/* One direction: swap tests the rule with the packet's source and
 * destination (MACs, hosts, ports) exchanged. */
__attribute__((noinline)) int rule_matches(const struct pfring_rules_wild *r, const struct pkt *p,
                                           int swap)
{
  const __u8 *smac, *dmac;
  const __u32 *src, *dst;
  __u16 sport, dport;
  __u32 f;

  if (!r || !p)
    return 0;
  smac = swap ? p->dmac : p->smac;
  dmac = swap ? p->smac : p->dmac;
  src = swap ? p->dst : p->src;
  dst = swap ? p->src : p->dst;
  sport = swap ? p->dport : p->sport;
  dport = swap ? p->sport : p->dport;
  f = r->flags;
  if ((f & PFRING_RULE_IFINDEX) && p->ifindex != r->ifindex)
    return 0;
  if ((f & PFRING_RULE_SMAC) && !mac_eq(smac, r->smac))
    return 0;
  if ((f & PFRING_RULE_DMAC) && !mac_eq(dmac, r->dmac))
    return 0;
  if ((f & PFRING_RULE_VLAN) && p->vlan_id != r->vlan_id)
    return 0;
  if ((f & PFRING_RULE_ETH_TYPE) && p->eth_type != r->eth_type)
    return 0;
  if ((f & PFRING_RULE_PROTO) && p->proto != r->proto)
    return 0;
  if ((f & PFRING_RULE_IPV4) && p->ip_version != 4)
    return 0;
  if ((f & PFRING_RULE_IPV6) && p->ip_version != 6)
    return 0;
  if ((f & PFRING_RULE_SHOST) && !host_in(src, r->shost, r->shost_mask))
    return 0;
  if ((f & PFRING_RULE_DHOST) && !host_in(dst, r->dhost, r->dhost_mask))
    return 0;
  if ((f & PFRING_RULE_SPORT) && (sport < r->sport_low || sport > r->sport_high))
    return 0;
  if ((f & PFRING_RULE_DPORT) && (dport < r->dport_low || dport > r->dport_high))
    return 0;
  if ((f & PFRING_RULE_TCP_FLAGS) &&
      (p->proto != 6 || (p->tcp_flags & r->tcp_flags) != r->tcp_flags))
    return 0;
  return 1;
}

/* The balance pool's hash (balance_id/balance_pool): the one of the
 * cluster type cluster_per_flow (kernel/cluster.c, its header comment), as
 * PF_RING balances rules with its unmasked packet hash: the 32-bit sum of
 * the address words (read big endian), the ports (TCP, UDP and SCTP, not
 * in a fragment), the protocol and the VLAN id, then MurmurHash3's fmix32;
 * 0 for a packet that is not IP. */
static __always_inline __u32 balance_hash(const struct pkt *p)
{
  __u32 h, i;

  if (p->ip_version != 4 && p->ip_version != 6)
    return 0;
  h = p->proto + p->vlan_id;
#pragma unroll
  for (i = 0; i < 4; i++)
    h += bpf_ntohl(p->src[i]) + bpf_ntohl(p->dst[i]);
  if (!p->frag && (p->proto == 6 || p->proto == 17 || p->proto == 132))
    h += (__u32)p->sport + p->dport;
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

struct eval {
  struct pkt p;
  __u32 balance;          /* balance_hash(&p), once balance_known */
  __u32 balance_known;
  const struct pfring_rules_set *set;   /* the one set this packet runs */
  struct __sk_buff *skb;
  struct pfring_rules_scratch *payload; /* the payload window, once loaded */
  __u32 len;
  __u32 snap;             /* the classic filter's result: the bytes the ring keeps */
  __u32 num_rules;
  __u32 forward;
  __u32 payload_len;      /* bytes in payload->b */
  __u32 payload_state;    /* 0: not loaded yet, 1: loaded, 2: no payload */
  __u32 tunnel;           /* the tunnel id, once tunnel_known */
  __u32 tunnel_known;
  __u32 del_only;         /* step 3b: only the delete-rule rules run */
  __u64 now;
};

/* The match times are CLOCK_MONOTONIC at tick resolution, as PF_RING's
 * jiffies: what purge-idle and the stats need, at a fraction of the cost. */
static __always_inline struct pfring_rules_stat *count(__u32 slot, struct eval *e)
{
  struct pfring_rules_stat *st = bpf_map_lookup_elem(&pfring_rule_stats, &slot);

  if (!st)
    return NULL;
  st->packets += 1;                 /* per CPU: no other writer */
  st->bytes += e->len;
  if (!e->now)
    e->now = bpf_ktime_get_coarse_ns();
  st->last_ns = e->now;
  return st;
}

/* ------------------------------------------------------------------------ */
/* payload_pattern: as PF_RING, the pattern's bytes anywhere in the
 * payload of a TCP or UDP packet (after the TCP header, data offset
 * included, or the 8 bytes of UDP), up to the bytes the ring keeps (the
 * snap length); other packets, and a later IP fragment, have no payload
 * and never match.  Searched: the first PFRING_RULES_PAYLOAD_WINDOW bytes
 * of that payload, copied once per packet into the CPU's scratch map
 * (socket filters do not nest on a CPU), then one bpf_loop step per start
 * position, each comparing at most PFRING_RULES_PATTERN_MAX bytes.      */

/* Loads the payload window once; returns 1 when there is a payload. */
static __always_inline int payload_load(struct eval *e, const int tc)
{
  struct pfring_rules_scratch *buf;
  __u32 zero = 0, off = e->p.payload_off, end, n;

  if (e->payload_state)
    return e->payload_state == 1;
  e->payload_state = 2;
  end = e->len < e->snap ? e->len : e->snap;
  if (!off || !e->skb || end <= off)
    return 0;
  n = end - off;
  if (n > PFRING_RULES_PAYLOAD_WINDOW)
    n = PFRING_RULES_PAYLOAD_WINDOW;
  buf = bpf_map_lookup_elem(tc ? (void *)&pfring_rules_scratch_tc : (void *)&pfring_rules_scratch,
                            &zero);
  if (!buf)
    return 0;
  barrier_var(n);                   /* the bound below for the verifier */
  n = ((n - 1) & (PFRING_RULES_PAYLOAD_WINDOW - 1)) + 1;
  if (bpf_skb_load_bytes(e->skb, off, buf->b, n) < 0)
    return 0;
  e->payload = buf;
  e->payload_len = n;
  e->payload_state = 1;
  return 1;
}

struct pfind {
  const struct pfring_rules_scratch *buf;
  const struct pfring_rules_wild *r;
  __u32 found;
};

/* One start position i: does the pattern begin there? */
static long find_step(__u32 i, void *ctx)
{
  struct pfind *f = ctx;
  const struct pfring_rules_scratch *buf = f->buf;
  const struct pfring_rules_wild *r = f->r;
  __u32 at = i & (PFRING_RULES_PAYLOAD_WINDOW - 1), n, j;

  if (!buf || !r)
    return 1;
  n = r->pattern_len;
  if (buf->b[at] != r->pattern[0])
    return 0;
  for (j = 1; j < PFRING_RULES_PATTERN_MAX; j++) {   /* a bounded loop */
    if (j >= n)
      break;
    if (buf->b[at + j] != r->pattern[j])
      return 0;
  }
  f->found = 1;
  return 1;
}

/* Does buf[0..len-1] hold r's pattern?  Global, so the verifier checks
 * it (and its loop) once, on its own, and not again for every state of
 * the rules loop that calls it. */
__attribute__((noinline)) int payload_find(const struct pfring_rules_scratch *buf, __u32 len,
                                           const struct pfring_rules_wild *r)
{
  struct pfind f = {};
  __u32 n;

  if (!buf || !r)
    return 0;
  n = r->pattern_len;
  if (n == 0 || n > PFRING_RULES_PATTERN_MAX || len < n || len > PFRING_RULES_PAYLOAD_WINDOW)
    return 0;
  f.buf = buf;
  f.r = r;
  bpf_loop(len - n + 1, find_step, &f, 0);
  return f.found;
}

static __always_inline int payload_has(struct eval *e, const struct pfring_rules_wild *r,
                                       const int tc)
{
  return payload_load(e, tc) && payload_find(e->payload, e->payload_len, r);
}

/* Reflect and bounce (the reflector program only): a copy of the packet
 * out of ifindex, or for bounce back out of its own device with the MACs
 * swapped for the copy (swapped in the packet, copied, swapped back). */
static __always_inline void reflect_out(struct eval *e, __u8 action, __u32 ifindex)
{
  struct pfring_rules_refl *c;
  __u8 mac[12], swapped[12];
  __u32 zero = 0;
  long rc = -1;
  int bounce = action == PFRING_RULE_BOUNCE_STOP || action == PFRING_RULE_BOUNCE_CONT;

  if (!e->skb)
    return;
  if (bounce) {
    ifindex = e->skb->ifindex;
    if (bpf_skb_load_bytes(e->skb, 0, mac, 12) < 0)
      goto out;
    __builtin_memcpy(swapped, mac + 6, 6);
    __builtin_memcpy(swapped + 6, mac, 6);
    if (bpf_skb_store_bytes(e->skb, 0, swapped, 12, 0) < 0)
      goto out;
  }
  rc = bpf_clone_redirect(e->skb, ifindex, 0);
  if (bounce)
    bpf_skb_store_bytes(e->skb, 0, mac, 12, 0);
out:
  c = bpf_map_lookup_elem(&pfring_rules_refl, &zero);
  if (!c)
    return;
  if (rc == 0)
    c->sent += 1;                   /* per CPU: no other writer */
  else
    c->failed += 1;
}

/* The add-rule action: the packet's flow becomes a hash rule that
 * forwards (BPF_NOEXIST: a flow that is already one stays as it is).  A
 * packet that is not IP has no flow and adds nothing; a full hash rules
 * map refuses the rule, which is counted in the wildcard rule. */
static __always_inline void auto_add(struct eval *e, const struct pfring_rules_wild *r,
                                     struct pfring_rules_stat *st)
{
  struct pfring_rules_hkey k;
  struct pfring_rules_hval v;
  struct pfring_rules_auto *a;
  __u32 zero = 0;
  long rc;

  if (e->p.ip_version != 4 && e->p.ip_version != 6)
    return;
  __builtin_memset(&k, 0, sizeof(k));
  __builtin_memset(&v, 0, sizeof(v));
  pfring_rules_hkey_make(&k, e->p.vlan_id, e->p.ip_version, e->p.proto, e->p.src, e->p.sport,
                         e->p.dst, e->p.dport);
  v.rule_id = (__u16)r->rule_id;
  v.action = PFRING_RULE_FORWARD_STOP;
  if (!e->now)
    e->now = bpf_ktime_get_coarse_ns();
  v.added_ns = e->now;
  rc = bpf_map_update_elem(&pfring_hash_rules, &k, &v, BPF_NOEXIST);
  if (rc == 0) {
    a = bpf_map_lookup_elem(&pfring_rules_auto, &zero);
    if (a)
      a->added += 1;
    if (st)
      st->hash_added += 1;
  } else if (rc != -EEXIST_ && st) {
    st->hash_refused += 1;
  }
}

/* The delete-rule action: the packet's flow is no longer a hash rule
 * (whoever added it).  A packet that is not IP has no flow. */
static __always_inline void auto_del(struct eval *e, struct pfring_rules_stat *st)
{
  struct pfring_rules_hkey k;
  struct pfring_rules_auto *a;
  __u32 zero = 0;

  if (e->p.ip_version != 4 && e->p.ip_version != 6)
    return;
  __builtin_memset(&k, 0, sizeof(k));
  pfring_rules_hkey_make(&k, e->p.vlan_id, e->p.ip_version, e->p.proto, e->p.src, e->p.sport,
                         e->p.dst, e->p.dport);
  if (bpf_map_delete_elem(&pfring_hash_rules, &k) != 0)
    return;
  a = bpf_map_lookup_elem(&pfring_rules_auto, &zero);
  if (a)
    a->removed += 1;
  if (st)
    st->hash_deleted += 1;
}

/* One wildcard rule; tc: the reflector program (a constant: each program
 * gets its own copy, with only the helpers its type may call). */
static __always_inline long rule_step_in(__u32 i, void *ctx, const int tc)
{
  struct eval *e = ctx;
  const struct pfring_rules_set *set = e->set;
  const struct pfring_rules_wild *r;
  struct pfring_rules_stat *st = NULL;

  if (i >= e->num_rules || i >= PFRING_RULES_MAX || !set)
    return 1;
  r = &set->r[i & (PFRING_RULES_MAX - 1)];  /* the mask: a bound the verifier keeps */
  if (e->del_only && r->action != PFRING_RULE_FORWARD_DEL)
    return 0;
  if (r->balance_pool) {
    if (!e->balance_known) {
      e->balance = balance_hash(&e->p);
      e->balance_known = 1;
    }
    if (e->balance % r->balance_pool != r->balance_id)
      return 0;                     /* another member of the pool's flow */
  }
  /* the commonest misses first, without the call (one direction only) */
  if (!(r->flags & PFRING_RULE_BIDIR) &&
      (((r->flags & PFRING_RULE_PROTO) && e->p.proto != r->proto) ||
       ((r->flags & PFRING_RULE_DPORT) &&
        (e->p.dport < r->dport_low || e->p.dport > r->dport_high))))
    return 0;
  if (!rule_matches(r, &e->p, 0) && !((r->flags & PFRING_RULE_BIDIR) && rule_matches(r, &e->p, 1)))
    return 0;
  if (r->flags & PFRING_RULE_TUNNEL) {
    if (!e->tunnel_known) {
      e->tunnel = tunnel_id_of(e->skb, &e->p);
      e->tunnel_known = 1;
    }
    if (e->tunnel != r->tunnel_id)
      return 0;
  }
  if ((r->flags & PFRING_RULE_PATTERN) && !payload_has(e, r, tc))
    return 0;
  if (!tc)
    st = count(r->stat_slot, e);
  switch (r->action) {
  case PFRING_RULE_FORWARD_STOP:
    e->forward = 1;
    return 1;
  case PFRING_RULE_FORWARD_ADD:
    e->forward = 1;
    if (!tc)
      auto_add(e, r, st);
    return 1;
  case PFRING_RULE_FORWARD_DEL:
    e->forward = 1;
    if (!tc)
      auto_del(e, st);
    return 1;
  case PFRING_RULE_DROP_STOP:
    e->forward = 0;
    return 1;
  case PFRING_RULE_EXEC_STOP:
    return 1;
  case PFRING_RULE_REFLECT_STOP:
  case PFRING_RULE_REFLECT_CONT:
  case PFRING_RULE_BOUNCE_STOP:
  case PFRING_RULE_BOUNCE_CONT:
    e->forward = 0;
    if (tc)
      reflect_out(e, r->action, r->reflect_ifindex);
    return r->action == PFRING_RULE_REFLECT_STOP || r->action == PFRING_RULE_BOUNCE_STOP;
  }
  return 0;                         /* execute and continue */
}

static long rule_step(__u32 i, void *ctx)
{
  return rule_step_in(i, ctx, 0);
}

static long rule_step_tc(__u32 i, void *ctx)
{
  return rule_step_in(i, ctx, 1);
}

/* The hash rules: one lookup of the packet's flow.  Returns 1 when a rule
 * matched (it decides; the wildcard rules do not run). */
static __always_inline int hash_rule(struct eval *e, const int tc)
{
  struct pfring_rules_hkey k = {};
  struct pfring_rules_hval *v;

  if (e->p.ip_version != 4 && e->p.ip_version != 6)
    return 0;
  pfring_rules_hkey_make(&k, e->p.vlan_id, e->p.ip_version, e->p.proto, e->p.src, e->p.sport,
                         e->p.dst, e->p.dport);
  v = bpf_map_lookup_elem(&pfring_hash_rules, &k);
  if (!v)
    return 0;
  if (!tc) {
    v->packets += 1;                /* per CPU: no other writer */
    v->bytes += e->len;
    v->last_ns = bpf_ktime_get_coarse_ns();
  }
  if (v->action == PFRING_RULE_FORWARD_STOP)
    e->forward = 1;
  else if (v->action == PFRING_RULE_DROP_STOP)
    e->forward = 0;
  if (PFRING_RULE_ACTION_REFLECTS(v->action)) {
    e->forward = 0;
    if (tc)
      reflect_out(e, v->action, v->reflect_ifindex);
    /* the continue forms: the wildcard rules run too, as in PF_RING */
    return v->action == PFRING_RULE_REFLECT_STOP || v->action == PFRING_RULE_BOUNCE_STOP;
  }
  return 1;                         /* execute actions: the policy decides */
}

/* The steps of both programs: the snap length the ring keeps, or 0. */
static __always_inline int evaluate(struct __sk_buff *skb, const int tc)
{
  __u32 zero = 0, snap;
  struct pfring_rules_cfg *cfg = bpf_map_lookup_elem(&pfring_rules_cfg, &zero);
  const struct pfring_rules_set *set;
  struct eval e = {};
  void *inner;

  if (!cfg || cfg->version != PFRING_RULES_ABI_VERSION)
    return 0;
  if (tc) {
    /* the reflector: nothing to do without a rule that reflects */
    inner = bpf_map_lookup_elem(&pfring_rules_sets, &zero);
    set = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
    if (!set || !set->reflects)
      return 0;
  }
  /* 1. the classic filter: natively in the forms user space recognised,
   * else interpreted */
  if (cfg->native == PFRING_RULES_NATIVE_ALL ||
      (cfg->native == PFRING_RULES_NATIVE_RX && skb->pkt_type != PACKET_OUTGOING_) ||
      (cfg->native == PFRING_RULES_NATIVE_TX && skb->pkt_type == PACKET_OUTGOING_)) {
    snap = cfg->native_snap;
  } else if (cfg->native != PFRING_RULES_NATIVE_NONE) {
    return 0;                       /* the direction check drops it */
  } else {
    struct cbpf s = {};

    s.ctx = skb;
    bpf_loop(cfg->cbpf_len < PFRING_RULES_CBPF_MAX ? cfg->cbpf_len : PFRING_RULES_CBPF_MAX,
             cbpf_step, &s, 0);
    snap = s.ret;
  }
  if (!snap)
    return 0;
  /* 2. the policy, 3. the rules: the set in the slot now, read once */
  inner = bpf_map_lookup_elem(&pfring_rules_sets, &zero);
  if (!inner)
    return 0;                       /* never: user space fills the slot before attach */
  set = bpf_map_lookup_elem(inner, &zero);
  if (!set)
    return 0;
  e.set = set;
  e.forward = set->default_accept != 0;
  e.num_rules = set->num_rules < PFRING_RULES_MAX ? set->num_rules : PFRING_RULES_MAX;
  if (e.num_rules || set->hash_rules) {
    e.len = skb->len;
    e.snap = snap;
    e.skb = skb;
    parse(skb, &e.p);
    if (set->hash_rules && hash_rule(&e, tc)) {
      if (!tc && set->deletes && e.num_rules) {
        e.del_only = 1;             /* 3b */
        bpf_loop(e.num_rules, rule_step, &e, 0);
      }
      return e.forward ? (int)snap : 0;
    }
    if (e.num_rules)
      bpf_loop(e.num_rules, tc ? rule_step_tc : rule_step, &e, 0);
  }
  return e.forward ? (int)snap : 0;
}

SEC("socket")
int pfring_rules_filter(struct __sk_buff *skb)
{
  return evaluate(skb, 0);
}

#define TCX_NEXT_ (-1)

SEC("tc")
int pfring_rules_reflect(struct __sk_buff *skb)
{
  evaluate(skb, 1);
  return TCX_NEXT_;
}

char LICENSE[] SEC("license") = "GPL";
