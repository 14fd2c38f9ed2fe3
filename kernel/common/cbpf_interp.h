/*
 * cbpf_interp.h - the classic BPF interpreter of our eBPF programs, in C:
 * one classic instruction per bpf_loop step, as the kernel runs classic
 * BPF (sk_run_filter).  A load past the end of the packet, a division by
 * zero, a jump out of the program or an unknown opcode end the program
 * with 0.  Used by the rules program (kernel/rules/pfring_rules.bpf.c, on
 * an __sk_buff) and by the XDP program of zc: rings
 * (kernel/xdp/pfring_xdp.bpf.c, on an xdp_md).
 *
 * The including program defines, before the #include:
 *   CBPF_CTX                the context type (struct __sk_buff, struct xdp_md)
 *   CBPF_INSN               the type of one instruction (code, jt, jf, k,
 *                           laid out as struct sock_filter)
 *   CBPF_FETCH(s, pc)       a pointer to instruction pc (a variable), or NULL
 *                           past the program; s is the struct cbpf
 *   CBPF_LOAD(ctx, k, size, abs)  a classic load of size (1, 2, 4) bytes at k:
 *                           absolute, SKF_NET_OFF or SKF_LL_OFF relative, or
 *                           ancillary (SKF_AD_*, abs only); the value, or -1,
 *                           which ends the program with 0
 *   CBPF_LEN(ctx)           the packet's length (BPF_LEN)
 * and may define
 *   CBPF_M(s, i)            a pointer to scratch memory word i (0..15), or NULL;
 *                           by default s->M, on the stack.  A program that must
 *                           load without CAP_PERFMON keeps them in a map value
 *                           (the verifier refuses a variable stack offset)
 *
 * Use: a struct cbpf zeroed, ctx set (and prog, for a CBPF_FETCH that reads
 * it), then bpf_loop(number of instructions, cbpf_step, &s, 0); s.ret is
 * the program's result (0: the program ended without a return).  Classic
 * jumps go forward only, so as many steps as instructions always reach
 * the end.
 */
#ifndef PFRING_CBPF_INTERP_H
#define PFRING_CBPF_INTERP_H

#include <linux/bpf.h>
#include <linux/filter.h>
#include <bpf/bpf_helpers.h>

#ifndef CBPF_M
#define CBPF_M(s, i) (&(s)->M[(i) & (BPF_MEMWORDS - 1)])
#endif

struct cbpf {
  CBPF_CTX *ctx;
  __u32 A, X;
  __u32 M[BPF_MEMWORDS];
  __u32 pc;
  __u32 ret;
  const void *prog;       /* the program's own: where CBPF_FETCH finds the instructions */
};

static __always_inline __u32 size_of(__u16 code)
{
  switch (BPF_SIZE(code)) {
  case BPF_W: return 4;
  case BPF_H: return 2;
  }
  return 1;
}

/* One instruction.  Returns 1 to stop (s->ret is the program's result). */
static long cbpf_step(__u32 i, void *ctx)
{
  struct cbpf *s = ctx;
  CBPF_CTX *skb = s->ctx;
  const CBPF_INSN *in;
  __u32 pc = s->pc, k, src, jt, jf, *m;
  __u16 code;
  __s64 v;
  int taken;

  in = CBPF_FETCH(s, pc);
  if (!in)
    goto fail;
  code = in->code;
  k = in->k;
  s->pc = pc + 1;

  switch (BPF_CLASS(code)) {
  case BPF_LD:
    switch (BPF_MODE(code)) {
    case BPF_IMM: s->A = k; return 0;
    case BPF_MEM: if (!(m = CBPF_M(s, k))) goto fail; s->A = *m; return 0;
    case BPF_LEN: s->A = CBPF_LEN(skb); return 0;
    case BPF_ABS: v = CBPF_LOAD(skb, k, size_of(code), 1); break;
    case BPF_IND: v = CBPF_LOAD(skb, s->X + k, size_of(code), 0); break;
    default: goto fail;
    }
    if (v < 0)
      goto fail;
    s->A = (__u32)v;
    return 0;
  case BPF_LDX:
    switch (BPF_MODE(code)) {
    case BPF_IMM: s->X = k; return 0;
    case BPF_MEM: if (!(m = CBPF_M(s, k))) goto fail; s->X = *m; return 0;
    case BPF_LEN: s->X = CBPF_LEN(skb); return 0;
    case BPF_MSH:
      v = CBPF_LOAD(skb, k, 1, 1);
      if (v < 0)
        goto fail;
      s->X = ((__u32)v & 0xf) << 2;
      return 0;
    }
    goto fail;
  case BPF_ST:
    if (!(m = CBPF_M(s, k)))
      goto fail;
    *m = s->A;
    return 0;
  case BPF_STX:
    if (!(m = CBPF_M(s, k)))
      goto fail;
    *m = s->X;
    return 0;
  case BPF_ALU:
    src = BPF_SRC(code) == BPF_X ? s->X : k;
    switch (BPF_OP(code)) {
    case BPF_ADD: s->A += src; return 0;
    case BPF_SUB: s->A -= src; return 0;
    case BPF_MUL: s->A *= src; return 0;
    case BPF_DIV: if (!src) goto fail; s->A /= src; return 0;
    case BPF_MOD: if (!src) goto fail; s->A %= src; return 0;
    case BPF_OR:  s->A |= src; return 0;
    case BPF_AND: s->A &= src; return 0;
    case BPF_XOR: s->A ^= src; return 0;
    case BPF_LSH: s->A = src < 32 ? s->A << src : 0; return 0;
    case BPF_RSH: s->A = src < 32 ? s->A >> src : 0; return 0;
    case BPF_NEG: s->A = -s->A; return 0;
    }
    goto fail;
  case BPF_JMP:
    if (BPF_OP(code) == BPF_JA) {
      s->pc = pc + 1 + k;
      return 0;
    }
    src = BPF_SRC(code) == BPF_X ? s->X : k;
    switch (BPF_OP(code)) {
    case BPF_JEQ:  taken = s->A == src; break;
    case BPF_JGT:  taken = s->A > src; break;
    case BPF_JGE:  taken = s->A >= src; break;
    case BPF_JSET: taken = (s->A & src) != 0; break;
    default: goto fail;
    }
    /* Both offsets loaded first: a load from `in` plus a chosen constant
     * is pointer arithmetic the verifier refuses without CAP_PERFMON. */
    jt = in->jt;
    jf = in->jf;
    barrier_var(jt);
    barrier_var(jf);
    s->pc = pc + 1 + (taken ? jt : jf);
    return 0;
  case BPF_RET:
    s->ret = BPF_RVAL(code) == BPF_A ? s->A : k;
    return 1;
  case BPF_MISC:
    if (BPF_MISCOP(code) == BPF_TAX)
      s->X = s->A;
    else
      s->A = s->X;
    return 0;
  }
fail:
  s->ret = 0;
  return 1;
}

#endif /* PFRING_CBPF_INTERP_H */
