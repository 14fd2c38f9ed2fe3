/*
 * cbpf.h - a classic BPF interpreter with the Linux kernel's semantics, for
 * the harnesses that check what a generated program returns.  The same
 * packet model as pcap_pfring/testing/cbpf.py (the unit tests' interpreter):
 *
 *   data      the frame from the MAC header on, as a socket filter of an
 *             AF_PACKET SOCK_RAW socket sees it: absolute loads read
 *             data[k]; SKF_LL_OFF + k reads data[k]; SKF_NET_OFF + k reads
 *             data[net + k].  A load past the end, or at a negative offset
 *             below SKF_LL_OFF, ends the program with 0, as does a division
 *             or modulo by X == 0.
 *   metadata  the ancillary loads (SKF_AD_OFF + n with ld/ldh/ldb abs):
 *             PROTOCOL, PKTTYPE, IFINDEX, MARK, QUEUE, HATYPE, VLAN_TAG,
 *             VLAN_TAG_PRESENT, VLAN_TPID, ALU_XOR_X; RXHASH, CPU,
 *             PAY_OFFSET, NLATTR, NLATTR_NEST and RANDOM are not emulated
 *             (CBPF_UNSUPPORTED): the harnesses do not generate them.
 *
 * A program that runs off its end, or has an opcode the kernel does not
 * load, gives CBPF_INVALID: after the kernel accepted it, that is a finding.
 * Jumps are forward only, so every run ends within len steps.
 */
#ifndef FUZZ_CBPF_H
#define FUZZ_CBPF_H

#include <stdint.h>
#include <linux/filter.h>

#define CBPF_OK          0
#define CBPF_INVALID     1
#define CBPF_UNSUPPORTED 2

struct cbpf_skb {
  const uint8_t *data;
  uint32_t len;                 /* bytes in data */
  uint32_t wirelen;             /* ld len */
  uint32_t net;                 /* the network header's offset in data */
  uint32_t protocol, pkttype, ifindex, mark, queue, hatype;
  int vlan_present;
  uint32_t vlan_tci, vlan_tpid;
};

/* A packet load at a signed offset; 0 when out of bounds. */
static int cbpf_load(const struct cbpf_skb *s, int32_t off, uint32_t size, uint32_t *v)
{
  int64_t base;
  uint32_t i;

  if (off >= 0)
    base = off;
  else if (off >= SKF_NET_OFF)
    base = (int64_t)s->net + off - SKF_NET_OFF;
  else if (off >= SKF_LL_OFF)
    base = (int64_t)off - SKF_LL_OFF;
  else
    return 0;
  if (base < 0 || base + size > s->len)
    return 0;
  *v = 0;
  for (i = 0; i < size; i++)
    *v = *v << 8 | s->data[base + i];
  return 1;
}

static int cbpf_ancillary(const struct cbpf_skb *s, uint32_t n, uint32_t *v)
{
  switch (n) {
  case SKF_AD_PROTOCOL: *v = s->protocol; return CBPF_OK;
  case SKF_AD_PKTTYPE: *v = s->pkttype; return CBPF_OK;
  case SKF_AD_IFINDEX: *v = s->ifindex; return CBPF_OK;
  case SKF_AD_MARK: *v = s->mark; return CBPF_OK;
  case SKF_AD_QUEUE: *v = s->queue; return CBPF_OK;
  case SKF_AD_HATYPE: *v = s->hatype; return CBPF_OK;
  case SKF_AD_VLAN_TAG: *v = s->vlan_present ? s->vlan_tci : 0; return CBPF_OK;
  case SKF_AD_VLAN_TAG_PRESENT: *v = s->vlan_present ? 1 : 0; return CBPF_OK;
  case SKF_AD_VLAN_TPID: *v = s->vlan_present ? s->vlan_tpid : 0; return CBPF_OK;
  default: return CBPF_UNSUPPORTED;
  }
}

/* Runs prog over s; *ret is the program's value.  Returns CBPF_OK,
 * CBPF_INVALID or CBPF_UNSUPPORTED. */
static int cbpf_run(const struct sock_filter *prog, uint32_t n, const struct cbpf_skb *s,
                    uint32_t *ret)
{
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 }, pc = 0, v = 0, src;
  int rc;

  while (pc < n) {
    const struct sock_filter *f = &prog[pc++];
    uint16_t code = f->code;
    uint32_t k = f->k;

    switch (BPF_CLASS(code)) {
    case BPF_LD:
    case BPF_LDX:
      switch (BPF_MODE(code)) {
      case BPF_IMM: v = k; break;
      case BPF_LEN: v = s->wirelen; break;
      case BPF_MEM:
        if (k >= BPF_MEMWORDS)
          return CBPF_INVALID;
        v = mem[k];
        break;
      case BPF_MSH:
        if (BPF_CLASS(code) != BPF_LDX || BPF_SIZE(code) != BPF_B)
          return CBPF_INVALID;
        if (!cbpf_load(s, (int32_t)k, 1, &v))
          goto drop;
        v = (v & 0xf) << 2;
        break;
      case BPF_ABS:
      case BPF_IND: {
        uint32_t size = BPF_SIZE(code) == BPF_W ? 4 : BPF_SIZE(code) == BPF_H ? 2 : 1;
        if (BPF_CLASS(code) != BPF_LD || BPF_SIZE(code) == 0x18)
          return CBPF_INVALID;
        if (BPF_MODE(code) == BPF_ABS && k >= (uint32_t)SKF_AD_OFF) {
          if (k - (uint32_t)SKF_AD_OFF == SKF_AD_ALU_XOR_X) {
            a ^= x;
            continue;
          }
          if ((rc = cbpf_ancillary(s, k - (uint32_t)SKF_AD_OFF, &v)) != CBPF_OK)
            return rc;
        } else {
          uint32_t off = BPF_MODE(code) == BPF_ABS ? k : x + k;
          if (!cbpf_load(s, (int32_t)off, size, &v))
            goto drop;
        }
        break;
      }
      default:
        return CBPF_INVALID;
      }
      if (BPF_CLASS(code) == BPF_LD)
        a = v;
      else
        x = v;
      break;
    case BPF_ST:
    case BPF_STX:
      if (k >= BPF_MEMWORDS)
        return CBPF_INVALID;
      mem[k] = BPF_CLASS(code) == BPF_ST ? a : x;
      break;
    case BPF_ALU:
      src = BPF_SRC(code) == BPF_X ? x : k;
      switch (BPF_OP(code)) {
      case BPF_ADD: a += src; break;
      case BPF_SUB: a -= src; break;
      case BPF_MUL: a *= src; break;
      case BPF_DIV: if (!src) goto drop; a /= src; break;
      case BPF_MOD: if (!src) goto drop; a %= src; break;
      case BPF_OR: a |= src; break;
      case BPF_AND: a &= src; break;
      case BPF_XOR: a ^= src; break;
      case BPF_LSH:
        if (BPF_SRC(code) == BPF_K && src >= 32)
          return CBPF_INVALID;
        a <<= src & 31;
        break;
      case BPF_RSH:
        if (BPF_SRC(code) == BPF_K && src >= 32)
          return CBPF_INVALID;
        a >>= src & 31;
        break;
      case BPF_NEG: a = -a; break;
      default: return CBPF_INVALID;
      }
      break;
    case BPF_JMP:
      if (BPF_OP(code) == BPF_JA) {
        if (k >= n - pc)
          return CBPF_INVALID;
        pc += k;
        break;
      }
      src = BPF_SRC(code) == BPF_X ? x : k;
      switch (BPF_OP(code)) {
      case BPF_JEQ: rc = a == src; break;
      case BPF_JGT: rc = a > src; break;
      case BPF_JGE: rc = a >= src; break;
      case BPF_JSET: rc = (a & src) != 0; break;
      default: return CBPF_INVALID;
      }
      pc += rc ? f->jt : f->jf;
      if (pc >= n)
        return CBPF_INVALID;
      break;
    case BPF_RET:
      if (BPF_RVAL(code) == BPF_A)
        *ret = a;
      else if (BPF_RVAL(code) == BPF_K)
        *ret = k;
      else
        return CBPF_INVALID;
      return CBPF_OK;
    case BPF_MISC:
      if (BPF_MISCOP(code) == BPF_TAX)
        x = a;
      else if (BPF_MISCOP(code) == BPF_TXA)
        a = x;
      else
        return CBPF_INVALID;
      break;
    default:
      return CBPF_INVALID;
    }
  }
  return CBPF_INVALID;          /* ran off the end */
drop:
  *ret = 0;
  return CBPF_OK;
}

#endif /* FUZZ_CBPF_H */
