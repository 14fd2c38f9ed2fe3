/*
 * cluster.c - the PACKET_FANOUT_CBPF program of each PF_RING cluster type.
 *
 * A cluster is one PACKET_FANOUT group; the kernel gives each packet to
 * member (program return value % number of members).  The program returns
 * a symmetric hash of the type's fields, so both directions of a flow go to
 * the same member.
 *
 * The hash
 * --------
 *   sum  = the 32-bit wrapping SUM of the selected fields, as PF_RING sums
 *          them; every source field has its destination twin, so swapping
 *          the directions leaves the sum unchanged:
 *            addresses  IPv4: saddr + daddr (32-bit words as loaded, i.e.
 *                       network byte order read big endian);
 *                       IPv6: the 4 words of saddr + the 4 words of daddr
 *            ports      sport + dport (TCP, UDP and SCTP only)
 *            protocol   IPv4 protocol / IPv6 upper-layer next header
 *            VLAN id    12 bits (type 0 only)
 *            MAC pair   dmac[0..3] + dmac[4..5] + smac[0..3] + smac[4..5]
 *                       (words/halfwords big endian; types 11/12, non-IP)
 *   hash = fmix32(sum): h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13;
 *          h *= 0xc2b2ae35; h ^= h >> 16 (MurmurHash3's finalizer), so the
 *          high bits of the sum reach the low bits that "% members" uses.
 *          A function of a symmetric value is symmetric.
 *
 *   type                              IP packets                   non-IP
 *   0  cluster_per_flow               proto+IPs+ports+VLAN id      0
 *   2  cluster_per_flow_2_tuple       IPs                          0
 *   3  cluster_per_flow_4_tuple       IPs+ports                    0
 *   4  cluster_per_flow_5_tuple       proto+IPs+ports              0
 *   5  cluster_per_flow_tcp_5_tuple   TCP: proto+IPs+ports; else IPs  0
 *   11 cluster_per_flow_ip_5_tuple    proto+IPs+ports              MAC pair
 *   6  cluster_per_inner_flow         as 9 (the VLAN id counts only in 0)
 *   7, 8, 9, 10, 12                   as 2, 3, 4, 5, 11 on the inner headers
 *                                     of a tunnel, else the outer ones
 *   A hash of 0 (non-IP in types 0-10) is member 0.
 *
 * Parsing
 * -------
 * A fanout program runs before AF_PACKET pushes the MAC header back: on
 * ingress absolute offset 0 is the network header, on egress the MAC
 * header.  Every load here is relative to the MAC header (SKF_LL_OFF),
 * which is the same in both directions; offsets computed at run time go in
 * X and use indexed loads "ld [x + SKF_LL_OFF + k]" (the kernel resolves a
 * negative X + k like a negative absolute offset; verified on Linux 6.18 by
 * tests/live/test_cluster_kernel.py, which loads every program into a real
 * fanout group).  LDX MSH is not used: it reads an absolute offset.
 * SKF_NET_OFF is not used either: the network header the kernel records is
 * the IP header for plain frames, but the inner tag of a received QinQ
 * frame.
 *
 * VLAN: the outer tag of a received frame is in skb metadata and gone from
 * the data (SKF_AD_VLAN_TAG / SKF_AD_VLAN_TAG_PRESENT); tags still in the
 * data (0x8100 or 0x88a8 at ll+12: QinQ inner tags, transmitted frames) are
 * skipped, up to 3 (so 4 tags on a received frame, 3 on a transmitted
 * one; a deeper stack counts as non-IP).  The ethertype after the tags
 * decides IPv4/IPv6 (the version nibble is not checked).  The VLAN id of
 * type 0 is the metadata tag's VID when there is one, else the first
 * in-data tag's: the same tag in both directions.
 *
 * IPv4: the IHL nibble gives the L4 offset.  A fragment (MF set or a
 * non-zero offset) hashes without ports, so all fragments of a datagram go
 * to one member; that member in general differs from the member of the
 * unfragmented packets of the same flow (PF_RING keeps them together with a
 * fragment cache; enable_ip_defrag=1 makes the kernel reassemble first).
 *
 * IPv6: up to 3 extension headers are walked: hop-by-hop (0), routing (43),
 * destination options (60) and fragment (44).  A fragment header with a
 * non-zero offset or M set ends the walk with the fragment's next header as
 * protocol and no ports (as IPv4 fragments); an atomic fragment is skipped.
 * A longer chain, or any other header (AH, ESP, ...), ends the walk: that
 * next header value is the protocol and there are no ports.
 *
 * Tunnels (inner types only), one level, on a non-fragment outer packet:
 *   GTP-U  UDP port 2152 (either port): GTPv1 with PT=1 and message type
 *          G-PDU (0xff); 8-byte header, +4 when any of E/S/PN is set; up to
 *          2 extension headers (length octet in 4-byte units, next type in
 *          the last octet) are skipped; inner IPv4/IPv6 from its version.
 *   VXLAN  UDP port 4789 (either port) with the I flag: 8-byte header, inner
 *          Ethernet with at most one tag, inner ethertype 0x0800/0x86dd.
 *   GRE    IP protocol 47, version 0, no routing; checksum, key and
 *          sequence fields skipped; protocol type 0x0800/0x86dd.
 * GTP-U is tried before VXLAN, so a port pair holding both numbers is read
 * the same way in both directions.  Anything else (another tunnel such as
 * GRE version 1, GTP-U signalling, VXLAN without the I flag, an inner
 * payload that is not IP, a longer GTP extension chain, GRE with routing or
 * transparent Ethernet bridging 0x6558) hashes the outer headers; only one
 * level is opened (a tunnel in a tunnel hashes the middle headers).  Type 10 tests the inner protocol for TCP (PF_RING 8 tests the
 * outer one, which makes it a 2-tuple on every tunnel).
 *
 * Loads past the end of the packet end the program with 0 (member 0), as
 * the kernel does for any classic BPF program.  The programs have 175 to
 * 438 instructions (BPF_MAXINSNS is 4096); conditional jumps stay within
 * their 8-bit offsets, longer transfers use "ja" (checked when assembling).
 *
 * Not supported (PF_RING_ERROR_NOT_SUPPORTED): round robin (1) needs no
 * program, the caller uses PACKET_FANOUT_LB; 13 duplicates packets to a
 * second member, which a fanout group cannot do.
 *
 * The same hash inline
 * --------------------
 * pfringint_build_flow_hash() generates the same instructions as a fragment
 * for the front of a socket filter (kernel/filter.c, RSS rehash): no
 * "ret a" at the end and no "ret #0" for non-IP traffic (it jumps to the
 * mixing with the sum still 0, and fmix32(0) is 0), so every path leaves
 * the hash in A and falls through past the last instruction.  It uses X
 * and scratch words 0..6, and a socket filter reads from the MAC header
 * too, so the loads are the same.  A load past the end of the packet still
 * ends the whole program with 0, which for a socket filter means "drop".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define MAX_INSNS   1024
#define MAX_LABELS  256
#define IN_DATA_TAGS 3          /* VLAN tags skipped in the data */
#define IPV6_EXT_HDRS 3         /* IPv6 extension headers walked */
#define GTP_EXT_HDRS 2          /* GTP-U extension headers skipped */

/* Scratch memory words */
#define M_VLAN   0              /* the VLAN id (type 0) */
#define M_L3     1              /* offset of the IP header from the MAC header */
#define M_SUM    2              /* the running sum */
#define M_PROTO  3              /* L4 protocol */
#define M_L4     4              /* offset of the L4 header, 0 = no ports */
#define M_TMP    5              /* a temporary */
#define M_IN     6              /* offset of a tunnel's inner IP header */
#define M_WORDS  7

#define LL(off)  ((u_int32_t)(SKF_LL_OFF + (off)))
#define AD(n)    ((u_int32_t)(SKF_AD_OFF + (n)))

/* Instruction codes */
#define LD_IMM   (BPF_LD | BPF_IMM)
#define LD_MEM   (BPF_LD | BPF_MEM)
#define LDX_IMM  (BPF_LDX | BPF_IMM)
#define LDX_MEM  (BPF_LDX | BPF_MEM)
#define LD_W     (BPF_LD | BPF_W | BPF_ABS)
#define LD_H     (BPF_LD | BPF_H | BPF_ABS)
#define LD_W_X   (BPF_LD | BPF_W | BPF_IND)
#define LD_H_X   (BPF_LD | BPF_H | BPF_IND)
#define LD_B_X   (BPF_LD | BPF_B | BPF_IND)
#define ST       (BPF_ST)
#define STX      (BPF_STX)
#define ADD_K    (BPF_ALU | BPF_ADD | BPF_K)
#define ADD_X    (BPF_ALU | BPF_ADD | BPF_X)
#define AND_K    (BPF_ALU | BPF_AND | BPF_K)
#define LSH_K    (BPF_ALU | BPF_LSH | BPF_K)
#define RSH_K    (BPF_ALU | BPF_RSH | BPF_K)
#define MUL_K    (BPF_ALU | BPF_MUL | BPF_K)
#define XOR_X    (BPF_ALU | BPF_XOR | BPF_X)
#define TAX      (BPF_MISC | BPF_TAX)
#define TXA      (BPF_MISC | BPF_TXA)
#define JA       (BPF_JMP | BPF_JA)
#define JEQ      (BPF_JMP | BPF_JEQ | BPF_K)
#define JSET     (BPF_JMP | BPF_JSET | BPF_K)
#define RET_K    (BPF_RET | BPF_K)
#define RET_A    (BPF_RET | BPF_A)

#define NEXT 0                  /* jump target: the next instruction */

/* What is generated: a whole fanout program, or a fragment for the front
 * of a socket filter (every path ends after its last instruction with the
 * hash in A). */
enum form { HASH_PROGRAM, HASH_INLINE };

struct prog {
  enum form form;
  struct sock_filter insn[MAX_INSNS];
  int jt[MAX_INSNS], jf[MAX_INSNS];   /* label ids; the JA target is in jt */
  int at[MAX_LABELS];                 /* instruction index of each label */
  int n, labels;
  const char *error;
};

/* The one emit helper: appends "code k" with jumps to labels jt/jf. */
static void emit(struct prog *p, u_int16_t code, u_int32_t k, int jt, int jf)
{
  if (p->n == MAX_INSNS) {
    p->error = "too many instructions";
    return;
  }
  p->insn[p->n] = (struct sock_filter){ code, 0, 0, k };
  p->jt[p->n] = jt;
  p->jf[p->n] = jf;
  p->n++;
}

static int new_label(struct prog *p)
{
  if (p->labels + 1 == MAX_LABELS) {
    p->error = "too many labels";
    return NEXT;
  }
  p->at[++p->labels] = -1;
  return p->labels;
}

static void place(struct prog *p, int label)
{
  p->at[label] = p->n;
}

/* Resolves the labels into relative jumps. */
static void resolve(struct prog *p)
{
  int i, k;

  for (i = 0; i < p->n && !p->error; i++) {
    int ids[2] = { p->jt[i], p->jf[i] };
    for (k = 0; k < 2; k++) {
      int delta;
      if (ids[k] == NEXT)
        continue;                   /* offset 0 */
      delta = p->at[ids[k]] - i - 1;
      if (p->at[ids[k]] < 0)
        p->error = "jump to a label never placed";
      else if (delta < 0)
        p->error = "backward jump";
      else if (p->insn[i].code == JA)
        p->insn[i].k = (u_int32_t)delta;
      else if (delta > 255)
        p->error = "conditional jump too far";
      else if (k == 0)
        p->insn[i].jt = (u_int8_t)delta;
      else
        p->insn[i].jf = (u_int8_t)delta;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* The cluster types                                                         */

/* The per-flow type whose fields an inner type uses. */
static cluster_type fields_of(cluster_type t)
{
  switch (t) {
  case cluster_per_inner_flow:             return cluster_per_flow_5_tuple;
  case cluster_per_inner_flow_2_tuple:     return cluster_per_flow_2_tuple;
  case cluster_per_inner_flow_4_tuple:     return cluster_per_flow_4_tuple;
  case cluster_per_inner_flow_5_tuple:     return cluster_per_flow_5_tuple;
  case cluster_per_inner_flow_tcp_5_tuple: return cluster_per_flow_tcp_5_tuple;
  case cluster_per_inner_flow_ip_5_tuple:  return cluster_per_flow_ip_5_tuple;
  default:                                 return t;
  }
}

static int is_inner(cluster_type t) { return fields_of(t) != t; }
static int with_ports(cluster_type f) { return f != cluster_per_flow_2_tuple; }
static int tcp_only(cluster_type f) { return f == cluster_per_flow_tcp_5_tuple; }
static int with_mac_pair(cluster_type f) { return f == cluster_per_flow_ip_5_tuple; }
static int with_vlan(cluster_type f) { return f == cluster_per_flow; }

static int with_proto(cluster_type f)
{
  return f == cluster_per_flow || f == cluster_per_flow_5_tuple ||
         f == cluster_per_flow_ip_5_tuple;
}

/* ------------------------------------------------------------------------ */
/* Program pieces                                                            */

/* The kernel rejects a load of a scratch word not stored on every path. */
static void prologue(struct prog *p)
{
  u_int32_t m;

  emit(p, LD_IMM, 0, NEXT, NEXT);                           /* ld #0 */
  for (m = 0; m < M_WORDS; m++)
    emit(p, ST, m, NEXT, NEXT);                             /* st M[m]: 0 */
}

/* M[vlan] = VID of the first in-data tag (at ll+14), unless the frame has
 * a metadata tag; called at the first in-data tag. */
static void vlan_from_data(struct prog *p)
{
  int done = new_label(p);

  emit(p, LD_W, AD(SKF_AD_VLAN_TAG_PRESENT), NEXT, NEXT);  /* ld vlanp */
  emit(p, JEQ, 1, done, NEXT);                              /* metadata tag wins */
  emit(p, LD_H, LL(14), NEXT, NEXT);                        /* ldh [ll+14]: TCI */
  emit(p, AND_K, 0x0fff, NEXT, NEXT);                       /* and #0xfff: VID */
  emit(p, ST, M_VLAN, NEXT, NEXT);                          /* st M[vlan] */
  place(p, done);
}

static void vlan_from_metadata(struct prog *p)
{
  emit(p, LD_W, AD(SKF_AD_VLAN_TAG), NEXT, NEXT);           /* ld vlan_tci (0 if none) */
  emit(p, AND_K, 0x0fff, NEXT, NEXT);                       /* and #0xfff: VID */
  emit(p, ST, M_VLAN, NEXT, NEXT);                          /* st M[vlan] */
}

/* Skips in-data VLAN tags; leaves the ethertype in A and the IP header
 * offset in M[l3], then dispatches. */
static void link_layer(struct prog *p, cluster_type f, int ipv4, int ipv6, int non_ip)
{
  int tag[IN_DATA_TAGS], l3_set = new_label(p), i;

  if (with_vlan(f))
    vlan_from_metadata(p);
  for (i = 0; i < IN_DATA_TAGS; i++)
    tag[i] = new_label(p);
  emit(p, LD_H, LL(12), NEXT, NEXT);                        /* ldh [ll+12]: ethertype */
  for (i = 0; i < IN_DATA_TAGS; i++) {
    emit(p, JEQ, 0x8100, tag[i], NEXT);                     /* jeq #0x8100: 802.1Q tag */
    emit(p, JEQ, 0x88a8, tag[i], NEXT);                     /* jeq #0x88a8: 802.1ad tag */
    emit(p, LDX_IMM, 14 + 4 * (u_int32_t)i, NEXT, NEXT);   /* ldx #l3 */
    emit(p, JA, 0, l3_set, NEXT);                           /* ja l3_set */
    place(p, tag[i]);
    if (i == 0 && with_vlan(f))
      vlan_from_data(p);
    emit(p, LD_H, LL(16 + 4 * (u_int32_t)i), NEXT, NEXT);  /* ldh [ll+12+4(i+1)]: next type */
  }
  emit(p, LDX_IMM, 14 + 4 * IN_DATA_TAGS, NEXT, NEXT);      /* ldx #l3 after the last tag */
  place(p, l3_set);
  emit(p, STX, M_L3, NEXT, NEXT);                           /* stx M[l3] */
  emit(p, JEQ, 0x0800, ipv4, NEXT);                         /* jeq #0x800: IPv4 */
  emit(p, JEQ, 0x86dd, ipv6, non_ip);                       /* jeq #0x86dd: IPv6, else non-IP */
}

/* M[sum] += A (clobbers X) */
static void add_to_sum(struct prog *p)
{
  emit(p, LDX_MEM, M_SUM, NEXT, NEXT);                      /* ldx M[sum] */
  emit(p, ADD_X, 0, NEXT, NEXT);                            /* add x */
  emit(p, ST, M_SUM, NEXT, NEXT);                           /* st M[sum] */
}

/* Non-IP: member 0, or the MAC pair for the ip_5_tuple types.  Inline,
 * the hash of a sum of 0 (still 0) is left in A instead of returned. */
static void non_ip(struct prog *p, cluster_type f, int mix)
{
  if (!with_mac_pair(f)) {
    if (p->form == HASH_INLINE)
      emit(p, JA, 0, mix, NEXT);                            /* ja mix: M[sum] is 0 */
    else
      emit(p, RET_K, 0, NEXT, NEXT);                        /* ret #0 */
    return;
  }
  emit(p, LD_W, LL(0), NEXT, NEXT);                         /* ld [ll+0]: dmac[0..3] */
  emit(p, ST, M_SUM, NEXT, NEXT);                           /* st M[sum] */
  emit(p, LD_H, LL(4), NEXT, NEXT);                         /* ldh [ll+4]: dmac[4..5] */
  add_to_sum(p);                                            /* M[sum] += A */
  emit(p, LD_W, LL(6), NEXT, NEXT);                         /* ld [ll+6]: smac[0..3] */
  add_to_sum(p);                                            /* M[sum] += A */
  emit(p, LD_H, LL(10), NEXT, NEXT);                        /* ldh [ll+10]: smac[4..5] */
  add_to_sum(p);                                            /* M[sum] += A */
  emit(p, JA, 0, mix, NEXT);                                /* ja mix */
}

/* IPv4 at M[l3]: M[sum] = saddr + daddr, M[proto], M[l4] (0 if fragment). */
static void parse_ipv4(struct prog *p, int done)
{
  int frag = new_label(p);

  emit(p, LDX_MEM, M_L3, NEXT, NEXT);                       /* ldx M[l3] */
  emit(p, LD_W_X, LL(12), NEXT, NEXT);                      /* ld [x+ll+12]: saddr */
  emit(p, ST, M_TMP, NEXT, NEXT);                           /* st M[tmp] */
  emit(p, LD_W_X, LL(16), NEXT, NEXT);                      /* ld [x+ll+16]: daddr */
  emit(p, LDX_MEM, M_TMP, NEXT, NEXT);                      /* ldx M[tmp] */
  emit(p, ADD_X, 0, NEXT, NEXT);                            /* add x: saddr + daddr */
  emit(p, ST, M_SUM, NEXT, NEXT);                           /* st M[sum] */
  emit(p, LDX_MEM, M_L3, NEXT, NEXT);                       /* ldx M[l3] */
  emit(p, LD_B_X, LL(9), NEXT, NEXT);                       /* ldb [x+ll+9]: protocol */
  emit(p, ST, M_PROTO, NEXT, NEXT);                         /* st M[proto] */
  emit(p, LD_IMM, 0, NEXT, NEXT);                           /* ld #0 */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4]: no ports yet */
  emit(p, LD_H_X, LL(6), NEXT, NEXT);                       /* ldh [x+ll+6]: flags, offset */
  emit(p, JSET, 0x3fff, frag, NEXT);                        /* jset #0x3fff: MF or offset */
  emit(p, LD_B_X, LL(0), NEXT, NEXT);                       /* ldb [x+ll+0]: version, IHL */
  emit(p, AND_K, 0x0f, NEXT, NEXT);                         /* and #0xf: IHL */
  emit(p, LSH_K, 2, NEXT, NEXT);                            /* lsh #2: header length */
  emit(p, ADD_X, 0, NEXT, NEXT);                            /* add x: l3 + length */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4] */
  place(p, frag);
  emit(p, JA, 0, done, NEXT);                               /* ja done */
}

/* IPv6 addresses: M[sum] = the 8 words of saddr and daddr. */
static void ipv6_addresses(struct prog *p)
{
  u_int32_t w;

  emit(p, LDX_MEM, M_L3, NEXT, NEXT);                       /* ldx M[l3] */
  emit(p, LD_W_X, LL(8), NEXT, NEXT);                       /* ld [x+ll+8]: saddr word 0 */
  emit(p, ST, M_SUM, NEXT, NEXT);                           /* st M[sum] */
  for (w = 1; w < 8; w++) {
    emit(p, LD_W_X, LL(8 + 4 * w), NEXT, NEXT);             /* ld [x+ll+8+4w]: address word */
    add_to_sum(p);                                          /* M[sum] += A */
    emit(p, LDX_MEM, M_L3, NEXT, NEXT);                     /* ldx M[l3] */
  }
}

/* One step of the extension header walk: M[proto] is the next header,
 * M[l4] its offset. */
static void ipv6_ext_step(struct prog *p, int done, int fragment)
{
  int ext = new_label(p), frag = new_label(p), next = new_label(p);

  emit(p, LD_MEM, M_PROTO, NEXT, NEXT);                     /* ld M[proto] */
  emit(p, JEQ, 0, ext, NEXT);                               /* jeq #0: hop-by-hop */
  emit(p, JEQ, 43, ext, NEXT);                              /* jeq #43: routing */
  emit(p, JEQ, 60, ext, NEXT);                              /* jeq #60: destination options */
  emit(p, JEQ, 44, frag, done);                             /* jeq #44: fragment, else done */
  place(p, ext);
  emit(p, LDX_MEM, M_L4, NEXT, NEXT);                       /* ldx M[l4] */
  emit(p, LD_B_X, LL(0), NEXT, NEXT);                       /* ldb [x+ll+0]: next header */
  emit(p, ST, M_PROTO, NEXT, NEXT);                         /* st M[proto] */
  emit(p, LD_B_X, LL(1), NEXT, NEXT);                       /* ldb [x+ll+1]: length - 1 (8-octet units) */
  emit(p, ADD_K, 1, NEXT, NEXT);                            /* add #1 */
  emit(p, LSH_K, 3, NEXT, NEXT);                            /* lsh #3: bytes */
  emit(p, ADD_X, 0, NEXT, NEXT);                            /* add x */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4]: past the header */
  emit(p, JA, 0, next, NEXT);                               /* ja next step */
  place(p, frag);
  emit(p, LDX_MEM, M_L4, NEXT, NEXT);                       /* ldx M[l4] */
  emit(p, LD_B_X, LL(0), NEXT, NEXT);                       /* ldb [x+ll+0]: next header */
  emit(p, ST, M_PROTO, NEXT, NEXT);                         /* st M[proto] */
  emit(p, LD_H_X, LL(2), NEXT, NEXT);                       /* ldh [x+ll+2]: offset, M flag */
  emit(p, JSET, 0xfff9, fragment, NEXT);                    /* jset #0xfff9: a real fragment */
  emit(p, TXA, 0, NEXT, NEXT);                              /* txa: atomic fragment */
  emit(p, ADD_K, 8, NEXT, NEXT);                            /* add #8 */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4]: past the header */
  place(p, next);
}

/* IPv6 at M[l3]: M[sum], M[proto] (upper layer), M[l4] (0 if fragment). */
static void parse_ipv6(struct prog *p, int done)
{
  int walked = new_label(p), fragment = new_label(p), i;

  ipv6_addresses(p);
  emit(p, LD_B_X, LL(6), NEXT, NEXT);                       /* ldb [x+ll+6]: next header */
  emit(p, ST, M_PROTO, NEXT, NEXT);                         /* st M[proto] */
  emit(p, TXA, 0, NEXT, NEXT);                              /* txa: l3 */
  emit(p, ADD_K, 40, NEXT, NEXT);                           /* add #40 */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4]: after the fixed header */
  for (i = 0; i < IPV6_EXT_HDRS; i++)
    ipv6_ext_step(p, walked, fragment);
  place(p, walked);
  emit(p, JA, 0, done, NEXT);                               /* ja done */
  place(p, fragment);
  emit(p, LD_IMM, 0, NEXT, NEXT);                           /* ld #0 */
  emit(p, ST, M_L4, NEXT, NEXT);                            /* st M[l4]: no ports */
  emit(p, JA, 0, done, NEXT);                               /* ja done */
}

/* M[in] = offset of the inner IP header; commit jumps there. */
static void inner_at(struct prog *p, u_int32_t add)
{
  emit(p, LD_MEM, M_L4, NEXT, NEXT);                        /* ld M[l4] */
  emit(p, ADD_K, add, NEXT, NEXT);                          /* add #header bytes */
  emit(p, ST, M_IN, NEXT, NEXT);                            /* st M[in] */
}

static void grow_inner(struct prog *p, u_int32_t add)
{
  emit(p, LD_MEM, M_IN, NEXT, NEXT);                        /* ld M[in] */
  emit(p, ADD_K, add, NEXT, NEXT);                          /* add #optional bytes */
  emit(p, ST, M_IN, NEXT, NEXT);                            /* st M[in] */
}

/* GTP-U (X = l4, the UDP header): inner IP after the GTP headers. */
static void gtp_u(struct prog *p, int inner4, int inner6, int none)
{
  int found = new_label(p), i;

  emit(p, LD_B_X, LL(8), NEXT, NEXT);                       /* ldb [x+ll+8]: GTP flags */
  emit(p, AND_K, 0xf0, NEXT, NEXT);                         /* and #0xf0: version, PT */
  emit(p, JEQ, 0x30, NEXT, none);                           /* jeq #0x30: GTPv1, PT=1 */
  emit(p, LD_B_X, LL(9), NEXT, NEXT);                       /* ldb [x+ll+9]: message type */
  emit(p, JEQ, 0xff, NEXT, none);                           /* jeq #0xff: G-PDU */
  inner_at(p, 16);                                          /* UDP 8 + GTP 8 */
  emit(p, LD_B_X, LL(8), NEXT, NEXT);                       /* ldb [x+ll+8]: GTP flags */
  emit(p, JSET, 0x07, NEXT, found);                         /* jset #7: E, S or PN */
  grow_inner(p, 4);                                         /* sequence, N-PDU, next ext */
  emit(p, LD_B_X, LL(8), NEXT, NEXT);                       /* ldb [x+ll+8]: GTP flags */
  emit(p, JSET, 0x04, NEXT, found);                         /* jset #4: E */
  emit(p, LD_B_X, LL(19), NEXT, NEXT);                      /* ldb [x+ll+19]: next ext type */
  for (i = 0; i < GTP_EXT_HDRS; i++) {
    emit(p, JEQ, 0, found, NEXT);                           /* jeq #0: no more */
    emit(p, LDX_MEM, M_IN, NEXT, NEXT);                     /* ldx M[in] */
    emit(p, LD_B_X, LL(0), NEXT, NEXT);                     /* ldb [x+ll+0]: ext length (4-octet units) */
    emit(p, JEQ, 0, none, NEXT);                            /* jeq #0: malformed */
    emit(p, LSH_K, 2, NEXT, NEXT);                          /* lsh #2: bytes */
    emit(p, ADD_X, 0, NEXT, NEXT);                          /* add x */
    emit(p, ST, M_IN, NEXT, NEXT);                          /* st M[in]: past the ext header */
    emit(p, TAX, 0, NEXT, NEXT);                            /* tax */
    emit(p, LD_B_X, LL(-1), NEXT, NEXT);                    /* ldb [x+ll-1]: next ext type */
  }
  emit(p, JEQ, 0, found, none);                             /* jeq #0, else too many */
  place(p, found);
  emit(p, LDX_MEM, M_IN, NEXT, NEXT);                       /* ldx M[in] */
  emit(p, LD_B_X, LL(0), NEXT, NEXT);                       /* ldb [x+ll+0]: inner version */
  emit(p, AND_K, 0xf0, NEXT, NEXT);                         /* and #0xf0 */
  emit(p, JEQ, 0x40, inner4, NEXT);                         /* jeq #0x40: IPv4 */
  emit(p, JEQ, 0x60, inner6, none);                         /* jeq #0x60: IPv6 */
}

/* VXLAN (X = l4): inner Ethernet, at most one tag, inner IP. */
static void vxlan(struct prog *p, int inner4, int inner6, int none)
{
  int tagged = new_label(p), type = new_label(p);

  emit(p, LD_B_X, LL(8), NEXT, NEXT);                       /* ldb [x+ll+8]: VXLAN flags */
  emit(p, JSET, 0x08, NEXT, none);                          /* jset #8: I (VNI valid) */
  inner_at(p, 30);                                          /* UDP 8 + VXLAN 8 + Ethernet 14 */
  emit(p, LD_H_X, LL(28), NEXT, NEXT);                      /* ldh [x+ll+28]: inner ethertype */
  emit(p, JEQ, 0x8100, tagged, NEXT);                       /* jeq #0x8100: inner tag */
  emit(p, JEQ, 0x88a8, tagged, type);                       /* jeq #0x88a8: inner tag */
  place(p, tagged);
  grow_inner(p, 4);                                         /* past the tag */
  emit(p, LD_H_X, LL(32), NEXT, NEXT);                      /* ldh [x+ll+32]: ethertype */
  place(p, type);
  emit(p, JEQ, 0x0800, inner4, NEXT);                       /* jeq #0x800: IPv4 */
  emit(p, JEQ, 0x86dd, inner6, none);                       /* jeq #0x86dd: IPv6 */
}

/* GRE (X = l4): version 0 without routing; optional fields skipped. */
static void gre(struct prog *p, int inner4, int inner6, int none)
{
  static const u_int32_t optional[] = { 0x8000, 0x2000, 0x1000 };  /* C, K, S */
  unsigned i;

  emit(p, LD_H_X, LL(0), NEXT, NEXT);                       /* ldh [x+ll+0]: flags, version */
  emit(p, JSET, 0x4007, none, NEXT);                        /* jset #0x4007: routing or version */
  emit(p, ST, M_TMP, NEXT, NEXT);                           /* st M[tmp]: flags */
  inner_at(p, 4);                                           /* the base header */
  for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
    int absent = new_label(p);
    emit(p, LD_MEM, M_TMP, NEXT, NEXT);                     /* ld M[tmp]: flags */
    emit(p, JSET, optional[i], NEXT, absent);               /* jset #field present */
    grow_inner(p, 4);                                       /* 4 bytes */
    place(p, absent);
  }
  emit(p, LD_H_X, LL(2), NEXT, NEXT);                       /* ldh [x+ll+2]: protocol type */
  emit(p, JEQ, 0x0800, inner4, NEXT);                       /* jeq #0x800: IPv4 */
  emit(p, JEQ, 0x86dd, inner6, none);                       /* jeq #0x86dd: IPv6 */
}

/* After the outer parse: find a tunnel and move M[l3] to its inner IP
 * header, or go on with the outer fields. */
static void tunnel(struct prog *p, int parse4, int parse6, int none)
{
  int udp = new_label(p), gre_l = new_label(p), gtp = new_label(p), vx = new_label(p);
  int in4 = new_label(p), in6 = new_label(p);

  emit(p, LD_MEM, M_L4, NEXT, NEXT);                        /* ld M[l4] */
  emit(p, JEQ, 0, none, NEXT);                              /* jeq #0: fragment, no tunnel */
  emit(p, TAX, 0, NEXT, NEXT);                              /* tax: X = l4 */
  emit(p, LD_MEM, M_PROTO, NEXT, NEXT);                     /* ld M[proto] */
  emit(p, JEQ, 17, udp, NEXT);                              /* jeq #17: UDP */
  emit(p, JEQ, 47, gre_l, none);                            /* jeq #47: GRE */
  place(p, udp);
  emit(p, LD_H_X, LL(0), NEXT, NEXT);                       /* ldh [x+ll+0]: sport */
  emit(p, JEQ, 2152, gtp, NEXT);                            /* jeq #2152: GTP-U */
  emit(p, LD_H_X, LL(2), NEXT, NEXT);                       /* ldh [x+ll+2]: dport */
  emit(p, JEQ, 2152, gtp, NEXT);                            /* jeq #2152: GTP-U */
  emit(p, JEQ, 4789, vx, NEXT);                             /* jeq #4789: VXLAN */
  emit(p, LD_H_X, LL(0), NEXT, NEXT);                       /* ldh [x+ll+0]: sport */
  emit(p, JEQ, 4789, vx, none);                             /* jeq #4789: VXLAN */
  place(p, gtp);
  gtp_u(p, in4, in6, none);
  place(p, vx);
  vxlan(p, in4, in6, none);
  place(p, gre_l);
  gre(p, in4, in6, none);
  place(p, in4);
  emit(p, LD_MEM, M_IN, NEXT, NEXT);                        /* ld M[in] */
  emit(p, ST, M_L3, NEXT, NEXT);                            /* st M[l3]: inner IPv4 */
  emit(p, JA, 0, parse4, NEXT);                             /* ja inner IPv4 */
  place(p, in6);
  emit(p, LD_MEM, M_IN, NEXT, NEXT);                        /* ld M[in] */
  emit(p, ST, M_L3, NEXT, NEXT);                            /* st M[l3]: inner IPv6 */
  emit(p, JA, 0, parse6, NEXT);                             /* ja inner IPv6 */
}

/* sport + dport into the sum when the type and protocol have ports. */
static void ports(struct prog *p, cluster_type f)
{
  int yes = new_label(p), no = new_label(p);

  emit(p, LD_MEM, M_L4, NEXT, NEXT);                        /* ld M[l4] */
  emit(p, JEQ, 0, no, NEXT);                                /* jeq #0: fragment */
  emit(p, LD_MEM, M_PROTO, NEXT, NEXT);                     /* ld M[proto] */
  if (tcp_only(f)) {
    emit(p, JEQ, 6, yes, no);                               /* jeq #6: TCP */
  } else {
    emit(p, JEQ, 6, yes, NEXT);                             /* jeq #6: TCP */
    emit(p, JEQ, 17, yes, NEXT);                            /* jeq #17: UDP */
    emit(p, JEQ, 132, yes, no);                             /* jeq #132: SCTP */
  }
  place(p, yes);
  emit(p, LDX_MEM, M_L4, NEXT, NEXT);                       /* ldx M[l4] */
  emit(p, LD_H_X, LL(0), NEXT, NEXT);                       /* ldh [x+ll+0]: sport */
  emit(p, ST, M_TMP, NEXT, NEXT);                           /* st M[tmp] */
  emit(p, LD_H_X, LL(2), NEXT, NEXT);                       /* ldh [x+ll+2]: dport */
  emit(p, LDX_MEM, M_TMP, NEXT, NEXT);                      /* ldx M[tmp] */
  emit(p, ADD_X, 0, NEXT, NEXT);                            /* add x: sport + dport */
  add_to_sum(p);                                            /* M[sum] += A */
  place(p, no);
}

/* The type's fields after the addresses: ports, protocol, VLAN id. */
static void select_fields(struct prog *p, cluster_type f)
{
  int skip = new_label(p);

  if (with_ports(f))
    ports(p, f);
  if (with_proto(f) || tcp_only(f)) {
    emit(p, LD_MEM, M_PROTO, NEXT, NEXT);                   /* ld M[proto] */
    if (tcp_only(f))
      emit(p, JEQ, 6, NEXT, skip);                          /* jeq #6: only TCP's counts */
    add_to_sum(p);                                          /* M[sum] += A */
  }
  place(p, skip);
  if (with_vlan(f)) {
    emit(p, LD_MEM, M_VLAN, NEXT, NEXT);                    /* ld M[vlan] */
    add_to_sum(p);                                          /* M[sum] += A */
  }
}

/* fmix32 of the sum; the kernel takes it modulo the members.  Inline, the
 * hash stays in A and the fragment falls through. */
static void mix(struct prog *p)
{
  emit(p, LD_MEM, M_SUM, NEXT, NEXT);                       /* ld M[sum] */
  emit(p, TAX, 0, NEXT, NEXT);                              /* tax */
  emit(p, RSH_K, 16, NEXT, NEXT);                           /* rsh #16 */
  emit(p, XOR_X, 0, NEXT, NEXT);                            /* xor x: h ^= h >> 16 */
  emit(p, MUL_K, 0x85ebca6b, NEXT, NEXT);                   /* mul #0x85ebca6b */
  emit(p, TAX, 0, NEXT, NEXT);                              /* tax */
  emit(p, RSH_K, 13, NEXT, NEXT);                           /* rsh #13 */
  emit(p, XOR_X, 0, NEXT, NEXT);                            /* xor x: h ^= h >> 13 */
  emit(p, MUL_K, 0xc2b2ae35, NEXT, NEXT);                   /* mul #0xc2b2ae35 */
  emit(p, TAX, 0, NEXT, NEXT);                              /* tax */
  emit(p, RSH_K, 16, NEXT, NEXT);                           /* rsh #16 */
  emit(p, XOR_X, 0, NEXT, NEXT);                            /* xor x: h ^= h >> 16 */
  if (p->form == HASH_PROGRAM)
    emit(p, RET_A, 0, NEXT, NEXT);                          /* ret a */
}

static void generate(struct prog *p, cluster_type t)
{
  cluster_type f = fields_of(t);
  int v4 = new_label(p), v6 = new_label(p), other = new_label(p);
  int outer_done = new_label(p), fields = new_label(p), mixing = new_label(p);
  int in4 = new_label(p), in6 = new_label(p);

  prologue(p);
  link_layer(p, f, v4, v6, other);
  place(p, other);
  non_ip(p, f, mixing);
  place(p, v4);
  parse_ipv4(p, outer_done);
  place(p, v6);
  parse_ipv6(p, outer_done);
  place(p, outer_done);
  if (is_inner(t)) {
    tunnel(p, in4, in6, fields);
    place(p, in4);
    parse_ipv4(p, fields);
    place(p, in6);
    parse_ipv6(p, fields);
  }
  place(p, fields);
  select_fields(p, f);
  place(p, mixing);
  mix(p);
}

/* ------------------------------------------------------------------------ */

static int unsupported(cluster_type type, char *errbuf, size_t errlen)
{
  if (type == cluster_round_robin) {
    snprintf(errbuf, errlen, "round robin needs no program");
    return PF_RING_ERROR_NOT_SUPPORTED;
  }
  if (type == cluster_per_flow_ip_with_dup_tuple) {
    snprintf(errbuf, errlen, "cluster type 13 (cluster_per_flow_ip_with_dup_tuple, per flow "
             "with duplication) is not supported: it duplicates packets to a second member, "
             "and a kernel fanout group delivers each packet to one member only");
    return PF_RING_ERROR_NOT_SUPPORTED;
  }
  /* pfring_set_cluster checked the range; this only keeps a bad call from
   * a new caller from generating garbage. */
  if ((int)type < cluster_per_flow || (int)type > PFRINGINT_LAST_CLUSTER_TYPE) {
    snprintf(errbuf, errlen, "internal error: cluster type %d has no program", (int)type);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  return 0;
}

static int build(cluster_type type, enum form form, struct sock_fprog *out,
                 char *errbuf, size_t errlen)
{
  struct prog *p;
  int rc = unsupported(type, errbuf, errlen);

  if (rc < 0)
    return rc;
  p = calloc(1, sizeof(*p));
  if (!p) {
    snprintf(errbuf, errlen, "out of memory");
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  p->form = form;
  generate(p, type);
  resolve(p);
  if (p->error) {
    snprintf(errbuf, errlen, "internal error: the program of cluster type %d: %s",
             (int)type, p->error);
    free(p);
    return PF_RING_ERROR_GENERIC;
  }
  out->filter = malloc((size_t)p->n * sizeof(struct sock_filter));
  if (!out->filter) {
    free(p);
    snprintf(errbuf, errlen, "out of memory");
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(out->filter, p->insn, (size_t)p->n * sizeof(struct sock_filter));
  out->len = (unsigned short)p->n;
  free(p);
  return 0;
}

int pfringint_build_cluster_program(cluster_type type, struct sock_fprog *out,
                                    char *errbuf, size_t errlen)
{
  return build(type, HASH_PROGRAM, out, errbuf, errlen);
}

int pfringint_build_flow_hash(cluster_type type, struct sock_fprog *out,
                              char *errbuf, size_t errlen)
{
  return build(type, HASH_INLINE, out, errbuf, errlen);
}
