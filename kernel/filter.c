/*
 * filter.c - the socket filter of a ring, as one classic BPF program.
 *
 * The program runs on an AF_PACKET SOCK_RAW socket, so absolute offset 0 is
 * the Ethernet header.  It is a prefix of checks, each ending in a local
 * `ret #0` taken when the check fails, followed by the user's compiled
 * program unchanged (cBPF jumps are relative and forward only, so appending
 * keeps them valid; after a check, `ld #0; ldx #0` first, so that it starts
 * with A and X as it would alone) or, without one, by `ret #snaplen`.  In order, each
 * emitted only when it can drop something:
 *
 *   direction  ld pkttype: PACKET_OUTGOING (4) is TX, anything else RX
 *   loopback   drop outgoing packets of ARPHRD_LOOPBACK devices: the looped
 *              back RX copy is the one delivered, so there is no duplicate
 *              (not emitted for RX-only rings: the direction check did it)
 *   devices    ld ifidx, accept one of the listed interface indexes
 *   VLAN       the outer tag: from skb metadata (where the kernel puts it
 *              on receive), else from the frame when the ethertype at 12 is
 *              a VLAN TPID (0x8100, 0x88A8, or 0x9100 as the packet parser
 *              counts it; transmitted frames keep their tags in the data)
 *   channels   ld queue: received packets carry RX queue q as q + 1 and 0
 *              when the driver records none (taken as queue 0); transmitted
 *              packets carry the TX queue as is.  Queues >= 64 never match.
 *              With RSS rehash the channel of a packet, received or
 *              transmitted, is instead PF_RING's symmetric flow hash
 *              (kernel/cluster.c, inline) modulo the device's number of RX
 *              queues, so both directions of a flow have one channel; not
 *              emitted when the mask holds every queue of the device.  A
 *              frame cut inside the headers the hash reads is dropped (the
 *              load past its end ends the program with 0).
 *
 * Sets (devices, channels) are JEQ chains; cBPF jt/jf are 8 bits, so a chain
 * longer than 255 is cut into runs joined by a JA past the final `ret #0`.
 *
 * The builder runs twice over the same code: once counting, to reject a
 * program over BPF_MAXINSNS before allocating, once writing.
 */
#include <stdlib.h>
#include <linux/if_packet.h>

#include "pfring_int.h"

#define ARPHRD_LOOPBACK_  772           /* <net/if_arp.h> */
#define DEFAULT_SNAPLEN   0x40000
#define MAX_RUN           255           /* the longest jump of jt/jf */

/* Opcodes */
#define LDW_ABS  (BPF_LD | BPF_W | BPF_ABS)
#define LDH_ABS  (BPF_LD | BPF_H | BPF_ABS)
#define JEQ_K    (BPF_JMP | BPF_JEQ | BPF_K)
#define JA       (BPF_JMP | BPF_JA)
#define AND_K    (BPF_ALU | BPF_AND | BPF_K)
#define SUB_K    (BPF_ALU | BPF_SUB | BPF_K)
#define MOD_K    (BPF_ALU | BPF_MOD | BPF_K)
#define RET_K    (BPF_RET | BPF_K)
#define AD(n)    ((u_int32_t)(SKF_AD_OFF + (n)))

struct prog {
  struct sock_filter *insn;     /* NULL while counting */
  u_int32_t n;
  struct sock_fprog hash;       /* the flow hash fragment of RSS rehash */
};

static void emit(struct prog *p, u_int16_t code, u_int8_t jt, u_int8_t jf, u_int32_t k)
{
  if (p->insn)
    p->insn[p->n] = (struct sock_filter){ code, jt, jf, k };
  p->n++;
}

/* Accepts A in v[0..n-1]: jumps past a final `ret #0` on a match. */
static void member_of(struct prog *p, const int *v, u_int32_t n)
{
  u_int32_t i, left = n, runs = (n + MAX_RUN - 1) / MAX_RUN;

  for (; runs > 1; runs--, v += MAX_RUN, left -= MAX_RUN) {
    for (i = 0; i + 1 < MAX_RUN; i++)
      emit(p, JEQ_K, (u_int8_t)(MAX_RUN - 1 - i), 0, (u_int32_t)v[i]);  /* jeq #v jt the ja */
    emit(p, JEQ_K, 0, 1, (u_int32_t)v[i]);           /* jeq #v jt the ja jf the next run */
    /* past the later runs (their jeqs and jas) and the ret */
    emit(p, JA, 0, 0, left - MAX_RUN + runs - 1);    /* ja accept */
  }
  for (i = 0; i < left; i++)
    emit(p, JEQ_K, (u_int8_t)(left - i), 0, (u_int32_t)v[i]);  /* jeq #v jt past the ret */
  emit(p, RET_K, 0, 0, 0);                           /* none matched: ret #0 */
}

static void direction(struct prog *p, packet_direction dir)
{
  if (dir == rx_and_tx_direction)
    return;
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_PKTTYPE));        /* ld pkttype */
  if (dir == rx_only_direction)
    emit(p, JEQ_K, 0, 1, PACKET_OUTGOING);           /* jeq #4 jt drop jf keep */
  else
    emit(p, JEQ_K, 1, 0, PACKET_OUTGOING);           /* jeq #4 jt keep jf drop */
  emit(p, RET_K, 0, 0, 0);                           /* drop: ret #0 */
}

static void loopback(struct prog *p, packet_direction dir)
{
  if (dir == rx_only_direction)
    return;                                          /* outgoing already dropped */
  if (dir == rx_and_tx_direction) {
    emit(p, LDW_ABS, 0, 0, AD(SKF_AD_PKTTYPE));      /* ld pkttype */
    emit(p, JEQ_K, 0, 3, PACKET_OUTGOING);           /* jeq #4 jt next jf keep */
  }
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_HATYPE));         /* ld hatype */
  emit(p, JEQ_K, 0, 1, ARPHRD_LOOPBACK_);            /* jeq #772 jt drop jf keep */
  emit(p, RET_K, 0, 0, 0);                           /* TX copy on loopback: ret #0 */
}

static void devices(struct prog *p, const int *ifindex, u_int32_t n)
{
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_IFINDEX));        /* ld ifidx */
  member_of(p, ifindex, n);                          /* jeq #ifindex... ret #0 */
}

static void vlan(struct prog *p, u_int16_t vid)
{
  if (vid == RING_ANY_VLAN)
    return;
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_VLAN_TAG_PRESENT));  /* ld vlanp */
  if (vid == RING_NO_VLAN) {
    emit(p, JEQ_K, 4, 0, 1);                         /* jeq #1 jt drop: tag in metadata */
    emit(p, LDH_ABS, 0, 0, 12);                      /* ldh [12] */
    emit(p, JEQ_K, 2, 0, 0x8100);                    /* jeq #0x8100 jt drop */
    emit(p, JEQ_K, 1, 0, 0x88A8);                    /* jeq #0x88a8 jt drop */
    emit(p, JEQ_K, 0, 1, 0x9100);                    /* jeq #0x9100 jt drop jf keep */
    emit(p, RET_K, 0, 0, 0);                         /* tagged: ret #0 */
    return;
  }
  emit(p, JEQ_K, 6, 0, 1);                           /* jeq #1 jt the metadata tag */
  emit(p, LDH_ABS, 0, 0, 12);                        /* ldh [12] */
  emit(p, JEQ_K, 2, 0, 0x8100);                      /* jeq #0x8100 jt the TCI */
  emit(p, JEQ_K, 1, 0, 0x88A8);                      /* jeq #0x88a8 jt the TCI */
  emit(p, JEQ_K, 0, 5, 0x9100);                      /* jeq #0x9100 jf drop: untagged */
  emit(p, LDH_ABS, 0, 0, 14);                        /* ldh [14]: TCI in the data */
  emit(p, JA, 0, 0, 1);                              /* ja the VID test */
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_VLAN_TAG));       /* ld vlan_tci */
  emit(p, AND_K, 0, 0, 0x0fff);                      /* and #0xfff: the VID */
  emit(p, JEQ_K, 1, 0, vid);                         /* jeq #vid jt keep jf drop */
  emit(p, RET_K, 0, 0, 0);                           /* other VLAN or untagged: ret #0 */
}

/* RSS rehash: accept the packets whose flow hash % queues is in the mask. */
static void rehashed_channels(struct prog *p, u_int64_t mask, u_int32_t queues)
{
  int v[64], q;
  u_int32_t n = 0, i;

  for (q = 0; q < 64 && (u_int32_t)q < queues; q++)
    if (mask >> q & 1)
      v[n++] = q;
  if (n == queues)
    return;                                          /* every queue of the device */
  if (n == 0) {
    emit(p, RET_K, 0, 0, 0);                         /* no queue of the device: ret #0 */
    return;
  }
  for (i = 0; i < p->hash.len; i++)                  /* A = flow hash */
    emit(p, p->hash.filter[i].code, p->hash.filter[i].jt, p->hash.filter[i].jf,
         p->hash.filter[i].k);
  emit(p, MOD_K, 0, 0, queues);                      /* mod #queues */
  member_of(p, v, n);                                /* jeq #queue... ret #0 */
}

static void channels(struct prog *p, const struct pfringint_filter_spec *s)
{
  u_int64_t mask = s->channel_mask;
  int v[64], q;
  u_int32_t n = 0;

  if (mask == RING_ANY_CHANNEL)
    return;
  if (s->rss_rehash) {
    rehashed_channels(p, mask, s->num_rx_queues ? s->num_rx_queues : 1);
    return;
  }
  for (q = 0; q < 64; q++)
    if (mask >> q & 1)
      v[n++] = q;
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_PKTTYPE));        /* ld pkttype */
  emit(p, JEQ_K, 0, 2, PACKET_OUTGOING);             /* jeq #4 jt TX jf RX */
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_QUEUE));          /* ld queue: the TX queue as is */
  emit(p, JA, 0, 0, 3);                              /* ja the set */
  emit(p, LDW_ABS, 0, 0, AD(SKF_AD_QUEUE));          /* ld queue: RX queue + 1, or 0 */
  emit(p, JEQ_K, 1, 0, 0);                           /* jeq #0 jt the set: queue 0 */
  emit(p, SUB_K, 0, 0, 1);                           /* sub #1 */
  member_of(p, v, n);                                /* jeq #queue... ret #0 */
}

static void build(struct prog *p, const struct pfringint_filter_spec *s)
{
  u_int32_t i;

  if (s->drop_all) {
    emit(p, RET_K, 0, 0, 0);                         /* ret #0 */
    return;
  }
  direction(p, s->direction);
  if (s->drop_loopback_outgoing)
    loopback(p, s->direction);
  if (s->num_ifindex)
    devices(p, s->ifindex, s->num_ifindex);
  vlan(p, s->vlan_id);
  channels(p, s);
  if (s->user && s->user_len) {
    if (p->n) {            /* the user's program starts as alone: A = X = 0 */
      emit(p, BPF_LD | BPF_IMM, 0, 0, 0);            /* ld #0 */
      emit(p, BPF_LDX | BPF_IMM, 0, 0, 0);           /* ldx #0 */
    }
    for (i = 0; i < s->user_len; i++)               /* the user's program */
      emit(p, s->user[i].code, s->user[i].jt, s->user[i].jf, s->user[i].k);
    return;
  }
  emit(p, RET_K, 0, 0, s->snaplen ? s->snaplen : DEFAULT_SNAPLEN);  /* ret #snaplen */
}

int pfringint_build_socket_filter(const struct pfringint_filter_spec *spec,
                                  struct sock_fprog *out)
{
  struct prog p = { NULL, 0, { 0, NULL } };
  char msg[PFRING_ERRBUF_SIZE];
  int rc = 0;

  if (spec->num_ifindex > BPF_MAXINSNS || spec->user_len > BPF_MAXINSNS)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  if (spec->rss_rehash && spec->channel_mask != RING_ANY_CHANNEL && !spec->drop_all) {
    rc = pfringint_build_flow_hash(PFRINGINT_RSS_REHASH_TYPE, &p.hash, msg, sizeof(msg));
    if (rc < 0)
      return rc;
  }
  build(&p, spec);                                   /* count */
  if (p.n > BPF_MAXINSNS) {
    rc = PF_RING_ERROR_INVALID_ARGUMENT;
    goto out;
  }
  p.insn = malloc(p.n * sizeof(*p.insn));
  if (!p.insn) {
    rc = PF_RING_ERROR_NOT_ENOUGH_MEMORY;
    goto out;
  }
  p.n = 0;
  build(&p, spec);                                   /* write */
  out->len = (unsigned short)p.n;
  out->filter = p.insn;
out:
  free(p.hash.filter);
  return rc;
}
