/*
 * filter.c - the socket filter of a ring, as one classic BPF program.
 *
 * A ring's filter is a prefix of checks, each dropping the packet with
 * `ret #0` when it fails, followed by the user's compiled BPF program
 * unchanged (its jumps are relative, so appending keeps them valid) or by
 * `ret #snaplen`.  The checks, in order, each emitted only when needed:
 *
 *   direction   ld pkttype; outgoing (4) is TX, anything else RX
 *   loopback    drop outgoing packets on ARPHRD_LOOPBACK devices: the
 *               looped-back RX copy is the one delivered (no duplicates)
 *   devices     ld ifindex; jeq each listed index
 *   VLAN        the outer VID from skb metadata, or from the frame at offset
 *               14 when the tag is still in the data (transmitted frames)
 *   channels    ld queue: received packets carry RX queue q as q+1 (0 when
 *               the driver records none, taken as queue 0); transmitted
 *               packets carry the TX queue as is; jeq each queue in the mask
 */
#include <stdlib.h>
#include <linux/if_packet.h>

#include "pfring_int.h"

#define ARPHRD_LOOPBACK_ 772

struct prog {
  struct sock_filter *insn;
  unsigned n, cap;
  int oom;
};

static void emit(struct prog *p, u_int16_t code, u_int8_t jt, u_int8_t jf, u_int32_t k)
{
  if (p->n == p->cap) {
    unsigned cap = p->cap ? p->cap * 2 : 64;
    struct sock_filter *grown = realloc(p->insn, cap * sizeof(*grown));
    if (!grown) {
      p->oom = 1;
      return;
    }
    p->insn = grown;
    p->cap = cap;
  }
  p->insn[p->n++] = (struct sock_filter){ code, jt, jf, k };
}

#define LD_AUX(p, what)   emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (u_int32_t)(SKF_AD_OFF + (what)))
#define LD_H(p, off)      emit(p, BPF_LD | BPF_H | BPF_ABS, 0, 0, off)
#define JEQ(p, k, jt, jf) emit(p, BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k)
#define RET(p, k)         emit(p, BPF_RET | BPF_K, 0, 0, k)

static void direction(struct prog *p, packet_direction dir)
{
  if (dir == rx_and_tx_direction)
    return;
  LD_AUX(p, SKF_AD_PKTTYPE);                        /* ld pkttype */
  if (dir == rx_only_direction)
    JEQ(p, PACKET_OUTGOING, 0, 1);                  /* jeq #4 jt drop jf next */
  else
    JEQ(p, PACKET_OUTGOING, 1, 0);                  /* jeq #4 jt next jf drop */
  RET(p, 0);                                        /* drop: ret #0 */
}

static void loopback(struct prog *p)
{
  LD_AUX(p, SKF_AD_PKTTYPE);                        /* ld pkttype */
  JEQ(p, PACKET_OUTGOING, 0, 3);                    /* not outgoing: keep */
  LD_AUX(p, SKF_AD_HATYPE);                         /* ld hatype */
  JEQ(p, ARPHRD_LOOPBACK_, 0, 1);                   /* loopback? */
  RET(p, 0);                                        /* drop the TX copy */
}

static void devices(struct prog *p, const int *ifindex, u_int32_t n)
{
  u_int32_t i;

  LD_AUX(p, SKF_AD_IFINDEX);                        /* ld ifidx */
  for (i = 0; i < n; i++)
    JEQ(p, (u_int32_t)ifindex[i], (u_int8_t)(n - i), 0);  /* jeq #idx jt past drop */
  RET(p, 0);
}

static void vlan(struct prog *p, u_int16_t vlan_id)
{
  if (vlan_id == RING_ANY_VLAN)
    return;
  LD_AUX(p, SKF_AD_VLAN_TAG_PRESENT);               /* ld vlanp */
  JEQ(p, 1, 5, 0);                                  /* tag in metadata: go to its check */
  LD_H(p, 12);                                      /* ldh [12] */
  JEQ(p, 0x8100, 1, 0);                             /* 802.1Q in the data */
  JEQ(p, 0x88A8, 0, 5);                             /* 802.1ad in the data; else untagged */
  LD_H(p, 14);                                      /* ldh [14]: TCI */
  emit(p, BPF_JMP | BPF_JA, 0, 0, 1);               /* ja to the VID test */
  LD_AUX(p, SKF_AD_VLAN_TAG);                       /* ld vlan_tci */
  emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x0fff); /* and #0xfff */
  if (vlan_id == RING_NO_VLAN) {
    /* reached only by tagged packets */
    RET(p, 0);                                      /* tagged: drop */
    emit(p, BPF_JMP | BPF_JA, 0, 0, 0);             /* untagged lands here */
  } else {
    JEQ(p, vlan_id, 1, 0);                          /* jeq #vid */
    RET(p, 0);                                      /* other VLAN or untagged: drop */
  }
}

static void channels(struct prog *p, u_int64_t mask)
{
  u_int32_t q, n = 0, i = 0;

  if (mask == RING_ANY_CHANNEL)
    return;
  for (q = 0; q < 64; q++)
    n += (mask >> q) & 1;
  LD_AUX(p, SKF_AD_QUEUE);                          /* ld queue */
  emit(p, BPF_MISC | BPF_TAX, 0, 0, 0);             /* tax */
  LD_AUX(p, SKF_AD_PKTTYPE);                        /* ld pkttype */
  JEQ(p, PACKET_OUTGOING, 4, 0);                    /* TX queue: use as is */
  emit(p, BPF_MISC | BPF_TXA, 0, 0, 0);             /* txa */
  JEQ(p, 0, 2, 0);                                  /* 0: not recorded, queue 0 */
  emit(p, BPF_ALU | BPF_SUB | BPF_K, 0, 0, 1);      /* sub #1: RX queue q+1 -> q */
  emit(p, BPF_JMP | BPF_JA, 0, 0, 1);               /* ja chain */
  emit(p, BPF_MISC | BPF_TXA, 0, 0, 0);             /* txa */
  for (q = 0; q < 64; q++)
    if ((mask >> q) & 1)
      JEQ(p, q, (u_int8_t)(n - i++), 0);            /* jeq #q jt past drop */
  RET(p, 0);
}

int pfringint_build_socket_filter(const struct pfringint_filter_spec *spec,
                                  struct sock_fprog *out)
{
  struct prog p = { 0 };
  u_int32_t i;

  if (spec->drop_all) {
    RET(&p, 0);
  } else {
    direction(&p, spec->direction);
    if (spec->drop_loopback_outgoing)
      loopback(&p);
    if (spec->num_ifindex)
      devices(&p, spec->ifindex, spec->num_ifindex);
    vlan(&p, spec->vlan_id);
    channels(&p, spec->channel_mask);
    if (spec->user && spec->user_len)
      for (i = 0; i < spec->user_len; i++)
        emit(&p, spec->user[i].code, spec->user[i].jt, spec->user[i].jf, spec->user[i].k);
    else
      RET(&p, spec->snaplen ? spec->snaplen : 0x40000);
  }
  if (p.oom) {
    free(p.insn);
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  if (p.n > BPF_MAXINSNS) {
    free(p.insn);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  out->len = (unsigned short)p.n;
  out->filter = p.insn;
  return 0;
}
