/*
 * pfring_rules.h - what the rules program of a ring (pfring_rules.bpf.c) and
 * libpfring (libpfring/src/rules.c) share: the maps' layouts, the encoding
 * of a wildcard rule and the version checked after load.  Included by both
 * sides.
 *
 * One program instance per ring, attached to its packet socket with
 * SO_ATTACH_BPF in place of the classic filter (a socket holds one filter):
 *
 *   packet ──▶ the ring's classic filter, interpreted (pfring_rules_cbpf)
 *              │ returns 0                                   ──▶ drop
 *              │ returns snap: ──▶ policy, then the hash rules (one
 *              │                   lookup; a match decides), then the
 *              │                   wildcard rules in ascending rule_id
 *              │                   order (the rule set)
 *              └ forward ──▶ snap (the ring gets the packet) / else 0
 *
 *   map                 type              key        value                     written by
 *   pfring_rules_cfg    ARRAY [1]         0          struct pfring_rules_cfg   user space, before attach
 *   pfring_rules_cbpf   ARRAY [4096]      insn no.   struct pfring_rules_insn  user space, before attach
 *   pfring_rules_sets   ARRAY_OF_MAPS [1] 0          an ARRAY [1] map holding  user space: a new inner
 *                                                    struct pfring_rules_set   map per rule change
 *   pfring_rule_stats   PERCPU_ARRAY      stat_slot  struct pfring_rules_stat  the program (user space
 *                       [256]             of a rule                            zeroes a slot before a
 *                                                                              rule takes it)
 *   pfring_hash_rules   PERCPU_HASH       struct     struct pfring_rules_hval  user space adds and removes
 *                       [16384]           pfring_                              rules; the program counts
 *                                         rules_hkey                           matches in them and adds
 *                                                                              the rules of the add-rule
 *                                                                              action
 *   pfring_rules_auto   PERCPU_ARRAY [1]  0          struct pfring_rules_auto  the program: the hash rules
 *                                                                              it added (user space reads)
 *   pfring_rules_scratch PERCPU_ARRAY [1] 0          struct pfring_rules_      the program: the payload
 *                                                    scratch                   window of the packet
 *   pfring_rules_scratch_tc                                                    the same, for the reflector
 *   pfring_rules_refl   PERCPU_ARRAY [1]  0          struct pfring_rules_refl  the reflector: what it sent
 *
 * Reflect and bounce: a socket filter cannot transmit, so an instance has
 * a second program, pfring_rules_reflect (BPF_PROG_TYPE_SCHED_CLS, loaded
 * only while the ring has rules with those actions), attached with a tcx
 * link at the ingress of each of the ring's devices.  It runs the same
 * steps on the same maps (the classic filter, the policy, the hash rules,
 * the wildcard rules) without counting, and sends out the packets whose
 * rules say reflect or bounce; it always returns TCX_NEXT, so the stack
 * and other tc programs see every packet as before.  The socket filter
 * (which runs first: the packet taps run before tc ingress) counts the
 * match and keeps the packet out of the ring.  The link belongs to the
 * ring's file descriptors: closing the ring, or the death of its process,
 * removes it.
 *
 * cfg and cbpf belong to one instance and never change once it is
 * attached: a new classic filter is a new instance (rules.c).  A change of
 * the rules or the policy is not: user space fills a new inner map with the
 * whole rule set and swaps it into slot 0 of pfring_rules_sets in one map
 * update.  The program looks the slot up once per packet, so a packet runs
 * either the old set or the new one, never a mix; an inner map, once in the
 * slot, is never written again (the kernel frees the old one when the last
 * packet that runs it is done).  The stats map is created by user space
 * once per ring and shared by its instances, so the counters of a rule
 * survive the change of the rule set around it.  So is the hash rules map:
 * adding or removing a hash rule is one insert or delete in it, seen by
 * the next packet, with no new set and no new program.  So is the auto
 * map: the hash rules the program added and removed itself, so that user
 * space knows how many rules the hash map holds (what it added, minus what
 * it removed, plus what the program added, minus what the program
 * removed); the scratch map is the instance's own.
 *
 * The add-rule action (forward_packet_add_rule_and_stop_rule_evaluation):
 * the program inserts the packet's flow (the key hash_rule() looks up)
 * with the action forward, as PF_RING does, BPF_NOEXIST.  A per-CPU hash
 * map written from a program holds the value in the adding CPU's copy;
 * the others are zero, which is the forward action too, and user space
 * takes added_ns as the latest of the copies.
 *
 * The delete-rule action (forward_packet_del_rule_and_stop_rule_evaluation):
 * the program removes the packet's flow from pfring_hash_rules and
 * forwards.  A hash rule decides before the wildcard rules run, so a
 * packet whose hash rule decided is checked once more, against the
 * delete-rule rules only (set->deletes says there are some): one that
 * matches removes the flow's rule, counts, and forwards the packet.
 */
#ifndef PFRING_RULES_H
#define PFRING_RULES_H

#include <linux/types.h>

#define PFRING_RULES_ABI_VERSION 8
#define PFRING_RULES_MAX         256    /* wildcard rules per ring */
#define PFRING_RULES_CBPF_MAX    4096   /* BPF_MAXINSNS */
#define PFRING_RULES_HASH_MAX    16384  /* hash rules per ring */
/* payload_pattern: at most 31 bytes, searched for in the first
 * PFRING_RULES_PAYLOAD_WINDOW bytes of the payload (a power of two; with
 * its tail, a per-CPU map value, which the kernel keeps under 32 KiB):
 * the whole payload of any frame up to a 9000-byte MTU. */
#define PFRING_RULES_PATTERN_MAX   31
#define PFRING_RULES_PAYLOAD_WINDOW 16384

struct pfring_rules_cfg {
  __u32 version;          /* PFRING_RULES_ABI_VERSION */
  __u32 cbpf_len;         /* instructions of the classic filter */
  __u32 native;           /* PFRING_RULES_NATIVE_*: the classic filter's form, when the
                           * program runs it without the interpreter */
  __u32 native_snap;      /* ... and what it returns for a packet it keeps */
};

/* The classic filters the program runs natively (pfringint_rules_native,
 * encode.c, recognises them): "ret #k", and kernel/filter.c's direction
 * check in front of it.  Anything else is interpreted. */
#define PFRING_RULES_NATIVE_NONE 0    /* interpret pfring_rules_cbpf */
#define PFRING_RULES_NATIVE_ALL  1    /* ret #k */
#define PFRING_RULES_NATIVE_RX   2    /* pkttype PACKET_OUTGOING: 0; else k */
#define PFRING_RULES_NATIVE_TX   3    /* pkttype PACKET_OUTGOING: k; else 0 */

/* A classic BPF instruction, as struct sock_filter. */
struct pfring_rules_insn {
  __u16 code;
  __u8 jt, jf;
  __u32 k;
};

/* Which fields of a wildcard rule are tested (zero fields are "any"). */
#define PFRING_RULE_IFINDEX   (1u << 0)
#define PFRING_RULE_SMAC      (1u << 1)
#define PFRING_RULE_DMAC      (1u << 2)
#define PFRING_RULE_VLAN      (1u << 3)
#define PFRING_RULE_ETH_TYPE  (1u << 4)
#define PFRING_RULE_PROTO     (1u << 5)
#define PFRING_RULE_SHOST     (1u << 6)
#define PFRING_RULE_DHOST     (1u << 7)
#define PFRING_RULE_SPORT     (1u << 8)
#define PFRING_RULE_DPORT     (1u << 9)
#define PFRING_RULE_TCP_FLAGS (1u << 10)
#define PFRING_RULE_IPV4      (1u << 11)  /* a host is set: IPv4 packets only */
#define PFRING_RULE_IPV6      (1u << 12)  /* a host is set: IPv6 packets only */
#define PFRING_RULE_BIDIR     (1u << 13)  /* also with source and destination swapped */
#define PFRING_RULE_PATTERN   (1u << 14)  /* the payload holds pattern[0..pattern_len-1] */
#define PFRING_RULE_TUNNEL    (1u << 15)  /* the packet's tunnel id is tunnel_id */

/* The tunnel id of a packet without one (PF_RING's NO_TUNNEL_ID). */
#define PFRING_RULES_NO_TUNNEL 0xFFFFFFFFu

/* The verdicts of a rule (rule_action_behaviour values the program knows). */
#define PFRING_RULE_FORWARD_STOP   0    /* forward_packet_and_stop_rule_evaluation */
#define PFRING_RULE_DROP_STOP      1    /* dont_forward_packet_and_stop_rule_evaluation */
#define PFRING_RULE_EXEC_CONTINUE  2    /* execute_action_and_continue_rule_evaluation */
#define PFRING_RULE_EXEC_STOP      3    /* execute_action_and_stop_rule_evaluation */
#define PFRING_RULE_FORWARD_ADD    4    /* forward_packet_add_rule_and_stop_rule_evaluation */
#define PFRING_RULE_REFLECT_STOP   5    /* reflect_packet_and_stop_rule_evaluation */
#define PFRING_RULE_REFLECT_CONT   6    /* reflect_packet_and_continue_rule_evaluation */
#define PFRING_RULE_BOUNCE_STOP    7    /* bounce_packet_and_stop_rule_evaluation */
#define PFRING_RULE_BOUNCE_CONT    8    /* bounce_packet_and_continue_rule_evaluation */
#define PFRING_RULE_FORWARD_DEL    9    /* forward_packet_del_rule_and_stop_rule_evaluation */
#define PFRING_RULE_ACTION_MAX     PFRING_RULE_FORWARD_DEL

/* A reflect or bounce action: the packet is not forwarded to the ring
 * (as PF_RING), and the ring's reflector program (pfring_rules_reflect,
 * the tc ingress side) sends it out of reflect_ifindex (reflect) or back
 * out of the device it came in on, source and destination MAC swapped
 * (bounce). */
#define PFRING_RULE_ACTION_REFLECTS(a) ((a) >= PFRING_RULE_REFLECT_STOP && (a) <= PFRING_RULE_BOUNCE_CONT)

/* A wildcard rule as the program reads it.  Addresses and masks are in
 * network byte order, an IPv4 address in word 0 (the rest zero); ports,
 * VLAN id and ethertype in host order. */
struct pfring_rules_wild {
  __u32 flags;            /* PFRING_RULE_* */
  __s32 ifindex;
  __u8 smac[6], dmac[6];
  __u16 vlan_id, eth_type;
  __u8 proto, tcp_flags;  /* tcp_flags: all of these must be set */
  __u8 action;            /* PFRING_RULE_FORWARD_STOP .. PFRING_RULE_ACTION_MAX */
  __u8 pad;
  __u32 shost[4], shost_mask[4];
  __u32 dhost[4], dhost_mask[4];
  __u16 sport_low, sport_high;
  __u16 dport_low, dport_high;
  __u32 rule_id;
  __u8 balance_id;        /* with balance_pool > 0: the flow hash % pool to match */
  __u8 balance_pool;      /* 0: no pool */
  __u16 stat_slot;        /* the rule's entry in pfring_rule_stats (user space picks it) */
  __u8 pattern_len;       /* PFRING_RULE_PATTERN: 1..PFRING_RULES_PATTERN_MAX */
  __u8 pad3[3];
  __u8 pattern[32];       /* the bytes to find (zero after pattern_len) */
  __u32 reflect_ifindex;  /* PFRING_RULE_REFLECT_*: the device to send the packet out of */
  __u32 tunnel_id;        /* PFRING_RULE_TUNNEL: GTP TEID, VXLAN VNI or GRE key */
};

/* A rule set: the value of the one entry of an inner map of
 * pfring_rules_sets. */
struct pfring_rules_set {
  __u32 num_rules;        /* wildcard rules in r[0..num_rules-1], ascending rule_id */
  __u16 default_accept;   /* the policy: 1 forward, 0 drop, when no rule decides */
  __u16 hash_rules;       /* 1: look the packet up in pfring_hash_rules */
  __u16 reflects;         /* 1: a rule (wildcard or hash) reflects or bounces */
  __u16 deletes;          /* 1: a wildcard rule has the delete-rule action */
  struct pfring_rules_wild r[PFRING_RULES_MAX];
};

/* Per rule, per CPU: what matched (bytes: the frame's length). */
struct pfring_rules_stat {
  __u64 packets;
  __u64 bytes;
  __u64 last_ns;          /* CLOCK_MONOTONIC of the last match, 0 = never */
  __u64 hash_added;       /* the add-rule action: hash rules this rule added */
  __u64 hash_refused;     /* ... and flows it could not add (the hash rules map was full) */
  __u64 hash_deleted;     /* the delete-rule action: hash rules this rule removed */
};

/* Per CPU: the hash rules the program added (the add-rule action) and
 * removed (the delete-rule action). */
struct pfring_rules_auto {
  __u64 added;
  __u64 removed;
};

/* Per CPU: what the reflector program sent (reflect and bounce), and
 * what the kernel refused to send (bpf_clone_redirect failed: the device
 * is down or gone, or out of memory). */
struct pfring_rules_refl {
  __u64 sent;
  __u64 failed;
};

/* Per CPU: the packet's payload window, for payload_pattern (the tail
 * past the window: room for the search's last compare). */
struct pfring_rules_scratch {
  __u8 b[PFRING_RULES_PAYLOAD_WINDOW + 32];
};

/* A hash rule's key: both peers in one canonical order (the lower
 * (host, port) first), so that the two directions of a flow give one key.
 * Hosts in network order, IPv4 in word 0 (the rest zero). */
struct pfring_rules_hkey {
  __u16 vlan_id;          /* 0: untagged */
  __u8 ip_version;        /* 4 or 6 */
  __u8 proto;
  __u32 host_lo[4], host_hi[4];
  __u16 port_lo, port_hi;
};

/* A hash rule, per CPU: the action (written by user space into every
 * CPU's copy) and what matched on that CPU. */
struct pfring_rules_hval {
  __u16 rule_id;          /* the caller's, for reference */
  __u8 action;            /* PFRING_RULE_FORWARD_STOP .. PFRING_RULE_BOUNCE_CONT */
  __u8 pad;
  __u32 reflect_ifindex;  /* PFRING_RULE_REFLECT_*: the device to send the packet out of */
  __u64 added_ns;         /* CLOCK_MONOTONIC of the add (user space or the program) */
  __u64 packets;
  __u64 bytes;
  __u64 last_ns;          /* CLOCK_MONOTONIC of the last match, 0 = never */
};

/* The one definition of the canonical key, for both sides: a and b are
 * the peers' hosts (network-order words) and ports. */
static inline __attribute__((always_inline)) int
pfring_rules_peer_before(const __u32 *a, __u16 pa, const __u32 *b, __u16 pb)
{
  if (a[0] != b[0]) return a[0] < b[0];
  if (a[1] != b[1]) return a[1] < b[1];
  if (a[2] != b[2]) return a[2] < b[2];
  if (a[3] != b[3]) return a[3] < b[3];
  return pa <= pb;
}

static inline __attribute__((always_inline)) void
pfring_rules_hkey_make(struct pfring_rules_hkey *k, __u16 vlan_id, __u8 ip_version, __u8 proto,
                       const __u32 *a, __u16 pa, const __u32 *b, __u16 pb)
{
  int ab = pfring_rules_peer_before(a, pa, b, pb);
  const __u32 *lo = ab ? a : b, *hi = ab ? b : a;

  k->vlan_id = vlan_id;
  k->ip_version = ip_version;
  k->proto = proto;
  k->host_lo[0] = lo[0]; k->host_lo[1] = lo[1]; k->host_lo[2] = lo[2]; k->host_lo[3] = lo[3];
  k->host_hi[0] = hi[0]; k->host_hi[1] = hi[1]; k->host_hi[2] = hi[2]; k->host_hi[3] = hi[3];
  k->port_lo = ab ? pa : pb;
  k->port_hi = ab ? pb : pa;
}

#endif /* PFRING_RULES_H */
