/*
 * cluster.c - the PACKET_FANOUT_CBPF programs of PF_RING's per-flow cluster
 * types.  The kernel gives each packet to member (return value % members).
 *
 * The hash is PF_RING's: a 32-bit wrapping SUM of the type's fields, where
 * every source field has its destination twin (addresses, ports), so A->B
 * and B->A give the same sum.  The sum is then mixed (multiply by an odd
 * constant, xor the high half into the low half) for an even spread over
 * few members; mixing a symmetric value keeps it symmetric.
 *
 *   type                       IP packets                         other
 *   0  per_flow                VLAN id + proto + IPs + ports       0
 *   2  per_flow_2_tuple        IPs                                 0
 *   3  per_flow_4_tuple        IPs + ports                         0
 *   4  per_flow_5_tuple        proto + IPs + ports                 0
 *   5  per_flow_tcp_5_tuple    TCP: proto + IPs + ports, else IPs  0
 *   11 per_flow_ip_5_tuple     proto + IPs + ports                 MAC pair
 *
 * Ports are those of TCP, UDP and SCTP.  IPv4 fragments (MF set or a
 * non-zero offset) hash without ports, so every fragment of a datagram goes
 * to the same member; that member is in general not the member of the
 * unfragmented packets of the same flow (PF_RING keeps them together with a
 * fragment cache; set enable_ip_defrag=1 to have the kernel reassemble
 * before balancing).  IPv6 packets whose next header is not directly TCP,
 * UDP or SCTP (extension headers, fragments) hash on proto + IPs.
 *
 * A fanout program runs before the MAC header is pushed, so every load is
 * relative to the MAC header (SKF_LL_OFF), which works in both directions.
 * A received frame's outer VLAN tag is in skb metadata, not in the data;
 * tags still in the data (QinQ inner tags, transmitted frames) are skipped.
 * The VLAN id of type 0 is the metadata tag, else the first in-data tag.
 *
 * Not supported (PF_RING_ERROR_NOT_SUPPORTED): round robin needs no program
 * (FANOUT_LB), the inner-flow types 6-10 and 12, and 13 (it duplicates
 * packets, which fanout cannot do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define LL(off)     ((u_int32_t)(SKF_LL_OFF + (off)))
#define AUX(n)      ((u_int32_t)(SKF_AD_OFF + (n)))
#define MAX_INSNS   256
#define MAX_LABELS  32
#define MIX         0x9E3779B1u

/* Scratch memory */
#define M_HASH      0   /* the running sum */
#define M_L3        1   /* offset of the IP header from the MAC header */
#define M_VLAN      2   /* the VLAN id */

struct asm_ {
  struct sock_filter insn[MAX_INSNS];
  int jt_label[MAX_INSNS], jf_label[MAX_INSNS];   /* -1: literal offset */
  int label_at[MAX_LABELS];
  unsigned n;
  int bad;
};

enum {
  L_IPV4 = 1, L_IPV6, L_NONIP, L_V4_PORTS, L_V6_PORTS, L_NO_PORTS, L_PROTO, L_MIX,
  L_TAG1, L_TAG2, L_L3, L_TCP_CHECK4, L_TCP_CHECK6, L_VLAN_DATA, L_VLAN_DONE,
  L_PORTS_ADD, L_AFTER_PORTS
};

static void op(struct asm_ *a, u_int16_t code, int jt, int jf, u_int32_t k)
{
  if (a->n >= MAX_INSNS) {
    a->bad = 1;
    return;
  }
  a->insn[a->n] = (struct sock_filter){ code, 0, 0, k };
  a->jt_label[a->n] = jt;
  a->jf_label[a->n] = jf;
  a->n++;
}

static void label(struct asm_ *a, int l) { a->label_at[l] = (int)a->n; }

/* Conditional jump to labels; 0 = fall through. */
#define J(a, cond, k, t, f) op(a, BPF_JMP | (cond) | BPF_K, (t), (f), (k))
#define GOTO(a, l)          op(a, BPF_JMP | BPF_JA, (l), 0, 0)
#define LDH_LL(a, off)      op(a, BPF_LD | BPF_H | BPF_ABS, 0, 0, LL(off))
#define LDB_LL(a, off)      op(a, BPF_LD | BPF_B | BPF_ABS, 0, 0, LL(off))
#define LDW_LL(a, off)      op(a, BPF_LD | BPF_W | BPF_ABS, 0, 0, LL(off))
#define LDX_MEM(a, m)       op(a, BPF_LDX | BPF_MEM, 0, 0, (m))
#define LD_MEM(a, m)        op(a, BPF_LD | BPF_MEM, 0, 0, (m))
#define ST(a, m)            op(a, BPF_ST, 0, 0, (m))
#define IND(a, size, off)   op(a, BPF_LD | (size) | BPF_IND, 0, 0, LL(off))
#define ALU(a, o, k)        op(a, BPF_ALU | (o) | BPF_K, 0, 0, (k))
#define ALUX(a, o)          op(a, BPF_ALU | (o) | BPF_X, 0, 0, 0)
#define TAX(a)              op(a, BPF_MISC | BPF_TAX, 0, 0, 0)
#define TXA(a)              op(a, BPF_MISC | BPF_TXA, 0, 0, 0)
#define LD_IMM(a, k)        op(a, BPF_LD | BPF_IMM, 0, 0, (k))
#define RET_A(a)            op(a, BPF_RET | BPF_A, 0, 0, 0)
#define RET_K(a, k)         op(a, BPF_RET | BPF_K, 0, 0, (k))

/* hash += A (clobbers X) */
static void add_to_hash(struct asm_ *a)
{
  LDX_MEM(a, M_HASH);                         /* ldx M[hash] */
  ALUX(a, BPF_ADD);                           /* add x */
  ST(a, M_HASH);                              /* st M[hash] */
}

/* Finds the IP header behind up to two in-data VLAN tags; leaves the
 * ethertype in A and its offset + 2 in M[l3]; records the VLAN id. */
static void layer2(struct asm_ *a)
{
  op(a, BPF_LD | BPF_W | BPF_ABS, 0, 0, AUX(SKF_AD_VLAN_TAG)); /* ld vlan_tci */
  ALU(a, BPF_AND, 0x0fff);                    /* and #0xfff */
  ST(a, M_VLAN);                              /* st M[vlan] */
  LD_IMM(a, 14);                              /* ld #14 */
  ST(a, M_L3);                                /* st M[l3] */
  LDH_LL(a, 12);                              /* ldh [ll+12] */
  J(a, BPF_JEQ, 0x8100, L_TAG1, 0);
  J(a, BPF_JEQ, 0x88A8, L_TAG1, L_L3);
  label(a, L_TAG1);
  LD_MEM(a, M_VLAN);                          /* first in-data tag gives the VLAN */
  J(a, BPF_JEQ, 0, 0, L_VLAN_DONE);           /* unless metadata had one */
  LDH_LL(a, 14);
  ALU(a, BPF_AND, 0x0fff);
  ST(a, M_VLAN);
  label(a, L_VLAN_DONE);
  LD_IMM(a, 18);
  ST(a, M_L3);
  LDH_LL(a, 16);                              /* ldh [ll+16] */
  J(a, BPF_JEQ, 0x8100, L_TAG2, 0);
  J(a, BPF_JEQ, 0x88A8, L_TAG2, L_L3);
  label(a, L_TAG2);
  LD_IMM(a, 22);
  ST(a, M_L3);
  LDH_LL(a, 20);                              /* ldh [ll+20] */
  label(a, L_L3);
}

static int use_ports(cluster_type t) { return t != cluster_per_flow_2_tuple; }
static int use_proto(cluster_type t) { return t != cluster_per_flow_2_tuple && t != cluster_per_flow_4_tuple; }

static void ports(struct asm_ *a, int v4)
{
  /* X = offset of the L4 header; A = sport + dport */
  if (v4) {
    LDX_MEM(a, M_L3);
    IND(a, BPF_B, 0);                         /* ldb [x+ll]: version/IHL */
    ALU(a, BPF_AND, 0x0f);
    ALU(a, BPF_LSH, 2);                       /* IHL * 4 */
    ALUX(a, BPF_ADD);                         /* + l3 offset */
    TAX(a);
  } else {
    LD_MEM(a, M_L3);
    ALU(a, BPF_ADD, 40);
    TAX(a);
  }
  IND(a, BPF_H, 0);                           /* ldh [x+ll]: sport */
  ST(a, 3);
  IND(a, BPF_H, 2);                           /* ldh [x+ll+2]: dport */
  LDX_MEM(a, 3);
  ALUX(a, BPF_ADD);                           /* sport + dport */
  add_to_hash(a);
}

static int assemble(struct asm_ *a, struct sock_fprog *out, char *errbuf, size_t errlen)
{
  unsigned i;

  for (i = 0; i < a->n && !a->bad; i++) {
    struct sock_filter *f = &a->insn[i];
    int labels[2] = { a->jt_label[i], a->jf_label[i] }, k;
    for (k = 0; k < 2; k++) {
      int target, delta;
      if (labels[k] <= 0)
        continue;
      target = a->label_at[labels[k]];
      delta = target - (int)i - 1;
      if (target < 0 || delta < 0 || (delta > 255 && BPF_OP(f->code) != BPF_JA))
        a->bad = 1;
      if (BPF_OP(f->code) == BPF_JA && BPF_CLASS(f->code) == BPF_JMP && k == 0)
        f->k = (u_int32_t)delta;
      else if (k == 0)
        f->jt = (u_int8_t)delta;
      else
        f->jf = (u_int8_t)delta;
    }
  }
  if (a->bad) {
    snprintf(errbuf, errlen, "internal error: cluster program does not assemble");
    return PF_RING_ERROR_GENERIC;
  }
  out->filter = malloc(a->n * sizeof(struct sock_filter));
  if (!out->filter) {
    snprintf(errbuf, errlen, "out of memory");
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(out->filter, a->insn, a->n * sizeof(struct sock_filter));
  out->len = (unsigned short)a->n;
  return 0;
}

int pfringint_build_cluster_program(cluster_type type, struct sock_fprog *out,
                                    char *errbuf, size_t errlen)
{
  struct asm_ a;
  int i;

  switch ((int)type) {
  case cluster_per_flow: case cluster_per_flow_2_tuple: case cluster_per_flow_4_tuple:
  case cluster_per_flow_5_tuple: case cluster_per_flow_tcp_5_tuple:
  case cluster_per_flow_ip_5_tuple:
    break;
  case cluster_round_robin:
    snprintf(errbuf, errlen, "round robin needs no program");
    return PF_RING_ERROR_NOT_SUPPORTED;
  case cluster_per_flow_ip_with_dup_tuple:
    snprintf(errbuf, errlen, "cluster type %d (per flow with duplication) is not supported: "
             "a kernel fanout delivers each packet to one member only", (int)type);
    return PF_RING_ERROR_NOT_SUPPORTED;
  default:
    if ((int)type >= cluster_per_inner_flow && (int)type <= cluster_per_inner_flow_ip_5_tuple) {
      snprintf(errbuf, errlen, "cluster type %d (inner flow of tunnels) is not supported yet",
               (int)type);
      return PF_RING_ERROR_NOT_SUPPORTED;
    }
    snprintf(errbuf, errlen, "cluster type %d is out of range (0..13)", (int)type);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }

  memset(&a, 0, sizeof(a));
  for (i = 0; i < MAX_LABELS; i++)
    a.label_at[i] = -1;
  LD_IMM(&a, 0);                              /* the kernel refuses loads of scratch */
  for (i = 0; i < 5; i++)                     /* words not stored on every path */
    ST(&a, (u_int32_t)i);                     /* st M[i]: hash = 0 and the rest */
  layer2(&a);                                 /* A = ethertype */
  J(&a, BPF_JEQ, 0x0800, L_IPV4, 0);
  J(&a, BPF_JEQ, 0x86DD, L_IPV6, L_NONIP);

  /* IPv4: saddr + daddr */
  label(&a, L_IPV4);
  LDX_MEM(&a, M_L3);
  IND(&a, BPF_W, 12);                         /* ld [x+ll+12]: saddr */
  ST(&a, 3);
  IND(&a, BPF_W, 16);                         /* ld [x+ll+16]: daddr */
  LDX_MEM(&a, 3);
  ALUX(&a, BPF_ADD);
  add_to_hash(&a);
  LDX_MEM(&a, M_L3);
  IND(&a, BPF_B, 9);                          /* ldb [x+ll+9]: protocol */
  ST(&a, 4);                                  /* M[4] = protocol */
  if (use_ports(type)) {
    LDX_MEM(&a, M_L3);
    IND(&a, BPF_H, 6);                        /* ldh [x+ll+6]: flags, offset */
    J(&a, BPF_JSET, 0x3fff, L_NO_PORTS, L_V4_PORTS);
    label(&a, L_V4_PORTS);
    LD_MEM(&a, 4);
    if (type == cluster_per_flow_tcp_5_tuple) {
      J(&a, BPF_JEQ, 6, 0, L_MIX);            /* not TCP: 2-tuple */
    } else {
      J(&a, BPF_JEQ, 6, L_TCP_CHECK4, 0);
      J(&a, BPF_JEQ, 17, L_TCP_CHECK4, 0);
      J(&a, BPF_JEQ, 132, L_TCP_CHECK4, L_NO_PORTS);
    }
    label(&a, L_TCP_CHECK4);
    ports(&a, 1);
    GOTO(&a, L_NO_PORTS);
  } else {
    GOTO(&a, L_NO_PORTS);
  }

  /* IPv6: the 4 words of each address */
  label(&a, L_IPV6);
  LDX_MEM(&a, M_L3);
  for (i = 0; i < 8; i++) {
    IND(&a, BPF_W, 8 + 4 * (u_int32_t)i);     /* ld [x+ll+8+4i] */
    add_to_hash(&a);
    LDX_MEM(&a, M_L3);
  }
  IND(&a, BPF_B, 6);                          /* ldb [x+ll+6]: next header */
  ST(&a, 4);
  if (use_ports(type)) {
    if (type == cluster_per_flow_tcp_5_tuple) {
      J(&a, BPF_JEQ, 6, L_TCP_CHECK6, L_MIX);
    } else {
      J(&a, BPF_JEQ, 6, L_TCP_CHECK6, 0);
      J(&a, BPF_JEQ, 17, L_TCP_CHECK6, 0);
      J(&a, BPF_JEQ, 132, L_TCP_CHECK6, L_NO_PORTS);
    }
    label(&a, L_TCP_CHECK6);
    ports(&a, 0);
  }
  GOTO(&a, L_NO_PORTS);

  /* Non-IP: the MAC pair for ip_5_tuple, member 0 otherwise */
  label(&a, L_NONIP);
  if (type == cluster_per_flow_ip_5_tuple) {
    LDW_LL(&a, 0);                            /* ld [ll+0]: dmac[0..3] */
    add_to_hash(&a);
    LDH_LL(&a, 4);                            /* ldh [ll+4]: dmac[4..5] */
    add_to_hash(&a);
    LDW_LL(&a, 6);                            /* ld [ll+6]: smac[0..3] */
    add_to_hash(&a);
    LDH_LL(&a, 10);                           /* ldh [ll+10]: smac[4..5] */
    add_to_hash(&a);
    GOTO(&a, L_MIX);
  } else {
    RET_K(&a, 0);
  }

  /* proto and VLAN, then mix */
  label(&a, L_NO_PORTS);
  if (use_proto(type) && type != cluster_per_flow_tcp_5_tuple) {
    LD_MEM(&a, 4);
    add_to_hash(&a);
  } else if (type == cluster_per_flow_tcp_5_tuple) {
    LD_MEM(&a, 4);                            /* TCP reached here with ports */
    J(&a, BPF_JEQ, 6, 0, L_MIX);
    add_to_hash(&a);
  }
  if (type == cluster_per_flow) {
    LD_MEM(&a, M_VLAN);
    add_to_hash(&a);
  }
  label(&a, L_MIX);
  LD_MEM(&a, M_HASH);
  ALU(&a, BPF_MUL, MIX);                      /* mul #golden */
  TAX(&a);
  ALU(&a, BPF_RSH, 16);                       /* rsh #16 */
  ALUX(&a, BPF_XOR);                          /* xor x */
  RET_A(&a);
  return assemble(&a, out, errbuf, errlen);
}
