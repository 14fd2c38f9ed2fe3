/*
 * fuzz_filter.c - the socket filter generator (kernel/filter.c,
 * pfringint_build_socket_filter): a ring's direction, loopback rule,
 * interfaces, VLAN id, channels (or RSS rehash) and the user's program in
 * one classic BPF program.
 *
 * Input, from the front (bytes past the end read as 0):
 *   u8   flags: bits 0-1 direction (modulo 3), 2 drop_loopback_outgoing,
 *        3 rss_rehash, 4 every channel, 5 a user program, 6 drop_all (with
 *        bit 7 of the next byte), 7 snaplen 0 (the default)
 *   u8   bits 0-1 VLAN: any, none, an id (1..4095), 0 (untagged, as none);
 *        bit 2 a long interface list; bit 7 see drop_all
 *   u16  VLAN id       u64 channel mask       u8 RX queues (0..255)
 *   u16  interfaces: up to 299, or up to 8191 with bit 2 above (past the
 *        kernel's 4096 instructions); u32 first ifindex, u8 step
 *   u32  snaplen
 *   u8   user program length (1..64, or x64 with bit 7), then 8 bytes per
 *        instruction, mapped onto the opcodes the kernel loads (ancillary
 *        loads among those the interpreter has) with jumps inside the
 *        program and a return last.  The program starts by loading A and
 *        X: see the README (a program that reads A or X before it sets them
 *        sees the checks' values, not 0).
 *   u8   pkttype (modulo 8), u8 the packet's ifindex: with a list, 0 is
 *        this value and any other value picks one of the list
 *   u8   bit 0 hatype loopback, bit 1 an outer VLAN tag in metadata,
 *   u16  that tag's TCI, u16 queue (modulo 80)
 *   the frame: the rest.
 *
 * Checks:
 *   - the builder returns 0, or INVALID_ARGUMENT only for a program that
 *     may really be over BPF_MAXINSNS; the program is at most BPF_MAXINSNS
 *     long and ends with the user's program unchanged, or "ret #snaplen";
 *   - the kernel loads it (SO_ATTACH_FILTER) whenever it loads the user's
 *     program alone: a generated program the kernel refuses is a finding
 *     (ENOMEM aside: a program whose translation is over net.core.optmem_max,
 *     see common.h);
 *   - in the interpreter (cbpf.h), with the metadata above: it returns 0
 *     exactly when one of the ring's rules drops the packet, and otherwise
 *     what the user's program returns alone (or snaplen).  RSS rehash:
 *     the channel is the per-flow cluster hash (kernel/cluster.c) modulo the
 *     queues; a frame whose hash cannot be computed may be dropped.
 */
#include "common.h"

#include "cbpf.h"
#include "pfring_int.h"

#define DEFAULT_SNAPLEN 0x40000
#define MAX_USER 4096

static const uint16_t opcodes[] = {
  BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS,
  BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND,
  BPF_LD | BPF_IMM, BPF_LD | BPF_LEN, BPF_LD | BPF_MEM,
  BPF_LDX | BPF_IMM, BPF_LDX | BPF_LEN, BPF_LDX | BPF_MEM, BPF_LDX | BPF_B | BPF_MSH,
  BPF_ST, BPF_STX, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
  BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_SUB | BPF_K, BPF_ALU | BPF_MUL | BPF_K,
  BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_MOD | BPF_K, BPF_ALU | BPF_OR | BPF_K,
  BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_LSH | BPF_K,
  BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_NEG,
  BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_SUB | BPF_X, BPF_ALU | BPF_MUL | BPF_X,
  BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_MOD | BPF_X, BPF_ALU | BPF_AND | BPF_X,
  BPF_ALU | BPF_RSH | BPF_X, BPF_ALU | BPF_XOR | BPF_X,
  BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_K,
  BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JEQ | BPF_X,
  BPF_JMP | BPF_JGT | BPF_X, BPF_RET | BPF_K, BPF_RET | BPF_A,
};
#define NUM_OPCODES (sizeof(opcodes) / sizeof(opcodes[0]))

static const uint32_t ancillary[] = {
  SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, SKF_AD_QUEUE, SKF_AD_HATYPE,
  SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TPID, SKF_AD_MARK,
};

static struct sock_filter user[MAX_USER];
static int ifx[8192];
static struct sock_fprog rehash_prog;   /* the per-flow cluster program */

/* The user's program: n instructions from the input, made loadable. */
static uint32_t make_user(struct input *in, uint32_t n)
{
  uint32_t i;

  user[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, take32(in));
  user[1] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, take32(in));
  n += 2;
  for (i = 2; i < n; i++) {
    uint16_t code = opcodes[take8(in) % NUM_OPCODES];
    uint8_t jt = take8(in), jf = take8(in), sel = take8(in);
    uint32_t k = take32(in), after = n - 1 - i;   /* instructions after i */

    if (i == n - 1)
      code = (sel & 1) ? (BPF_RET | BPF_A) : (BPF_RET | BPF_K);
    switch (BPF_CLASS(code)) {
    case BPF_LD:
    case BPF_LDX:
      if (BPF_MODE(code) == BPF_MEM)
        k %= BPF_MEMWORDS;
      else if (BPF_MODE(code) == BPF_ABS && (sel & 3) == 0)
        k = (uint32_t)SKF_AD_OFF + ancillary[(sel >> 2) % (sizeof(ancillary) / sizeof(ancillary[0]))];
      else if (BPF_MODE(code) == BPF_ABS || BPF_MODE(code) == BPF_IND || BPF_MODE(code) == BPF_MSH)
        k %= 96;
      break;
    case BPF_ST:
    case BPF_STX:
      k %= BPF_MEMWORDS;
      break;
    case BPF_ALU:
      if ((BPF_OP(code) == BPF_DIV || BPF_OP(code) == BPF_MOD) && BPF_SRC(code) == BPF_K && !k)
        k = 1;
      if ((BPF_OP(code) == BPF_LSH || BPF_OP(code) == BPF_RSH) && BPF_SRC(code) == BPF_K)
        k %= 32;
      break;
    case BPF_JMP:
      if (BPF_OP(code) == BPF_JA) {
        k = after ? k % after : 0;
      } else {
        jt = after ? (uint8_t)(jt % (after < 256 ? after : 256)) : 0;
        jf = after ? (uint8_t)(jf % (after < 256 ? after : 256)) : 0;
      }
      break;
    case BPF_RET:
      if (sel & 2)
        k %= 0x10000;
      break;
    default:
      break;
    }
    if (BPF_CLASS(code) != BPF_JMP)
      jt = jf = 0;
    user[i] = (struct sock_filter){ code, jt, jf, k };
  }
  return n;
}

static int in_list(const int *v, uint32_t n, uint32_t x)
{
  uint32_t i;

  for (i = 0; i < n; i++)
    if ((uint32_t)v[i] == x)
      return 1;
  return 0;
}

static uint32_t run_checked(const struct sock_filter *p, uint32_t n, const struct cbpf_skb *s)
{
  uint32_t ret = 0;
  int rc = cbpf_run(p, n, s, &ret);

  FUZZ_CHECK(rc == CBPF_OK, "a program that does not run to a return (%d)", rc);
  return ret;
}

/* 1: the ring's VLAN rule keeps the packet. */
static int vlan_keeps(uint16_t vid, const struct cbpf_skb *s)
{
  int tagged;
  uint32_t tci = 0;

  if (vid == RING_ANY_VLAN)
    return 1;
  if (s->vlan_present) {
    tagged = 1;
    tci = s->vlan_tci;
  } else {
    uint16_t et;
    if (s->len < 14)
      return 0;                 /* ldh [12] past the end */
    et = (uint16_t)(s->data[12] << 8 | s->data[13]);
    tagged = et == 0x8100 || et == 0x88A8 || et == 0x9100;
    if (tagged && vid != RING_NO_VLAN) {
      if (s->len < 16)
        return 0;               /* ldh [14] past the end */
      tci = (uint32_t)(s->data[14] << 8 | s->data[15]);
    }
  }
  if (vid == RING_NO_VLAN)
    return !tagged;
  return tagged && (tci & 0x0fff) == vid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size };
  struct pfringint_filter_spec spec;
  struct sock_fprog prog = { 0, NULL }, alone;
  struct cbpf_skb s;
  uint8_t f0, f1, vmode, m0, which;
  uint32_t n_if, first, step, i, n_user = 0, bound, got, want, queues;
  uint16_t vid_raw;
  int rc, err, user_ok = 0, maybe_dropped = 0, keep;
  char msg[PFRING_ERRBUF_SIZE];

  if (!rehash_prog.len) {
    FUZZ_CHECK(pfringint_build_cluster_program(PFRINGINT_RSS_REHASH_TYPE, &rehash_prog, msg,
                                               sizeof(msg)) == 0, "%s", msg);
    fuzz_quiet();
  }
  memset(&spec, 0, sizeof(spec));
  f0 = take8(&in);
  f1 = take8(&in);
  spec.direction = (packet_direction)((f0 & 3) % 3);
  spec.drop_loopback_outgoing = (f0 >> 2) & 1;
  spec.rss_rehash = (f0 >> 3) & 1;
  spec.drop_all = (f0 >> 6) & (f1 >> 7) & 1;
  vid_raw = take16(&in);
  vmode = f1 & 3;
  spec.vlan_id = vmode == 0 ? RING_ANY_VLAN : vmode == 1 ? RING_NO_VLAN
                 : vmode == 2 ? (uint16_t)(1 + vid_raw % 4095) : 0;
  spec.channel_mask = take64(&in);
  if (f0 & 0x10)
    spec.channel_mask = RING_ANY_CHANNEL;
  spec.num_rx_queues = take8(&in);
  n_if = take16(&in);
  n_if = (f1 & 4) ? n_if % 8192 : n_if % 300;
  first = take32(&in);
  step = take8(&in) | 1;
  for (i = 0; i < n_if; i++)
    ifx[i] = (int)(first + i * step);
  spec.num_ifindex = n_if;
  spec.ifindex = ifx;
  spec.snaplen = (f0 & 0x80) ? 0 : take32(&in);
  if (f0 & 0x20) {
    uint8_t c = take8(&in);
    n_user = (c & 0x80) ? (uint32_t)(c & 0x3f) * 64 + 62 : (uint32_t)(c & 0x3f) + 1;
    if (n_user + 2 > MAX_USER)
      n_user = MAX_USER - 2;
    n_user = make_user(&in, n_user);
    alone.len = (unsigned short)n_user;
    alone.filter = user;
    user_ok = kernel_socket_filter(&alone) == 0;
    if (user_ok) {
      spec.user = user;
      spec.user_len = n_user;
    }
  }

  memset(&s, 0, sizeof(s));
  s.pkttype = take8(&in) % 8;
  which = take8(&in);
  s.ifindex = n_if && which ? (uint32_t)ifx[which % n_if] : which;
  m0 = take8(&in);
  s.hatype = (m0 & 1) ? 772 : 1;
  s.vlan_present = (m0 >> 1) & 1;
  s.vlan_tci = take16(&in);
  s.vlan_tpid = 0x8100;
  s.queue = take16(&in) % 80;
  s.data = in.p;
  s.len = s.wirelen = (uint32_t)in.left;
  s.net = 14;
  s.protocol = s.len >= 14 ? (uint32_t)(s.data[12] << 8 | s.data[13]) : 0;

  rc = pfringint_build_socket_filter(&spec, &prog);
  /* A generous bound on the checks' length (filter.c's pieces). */
  bound = 64 + n_if + n_if / 255 + 2 + 64 + 2 + rehash_prog.len + spec.user_len;
  if (rc == PF_RING_ERROR_INVALID_ARGUMENT) {
    FUZZ_CHECK(bound > BPF_MAXINSNS, "refused as too long: %u interfaces, %u user instructions",
               n_if, spec.user_len);
    return 0;
  }
  FUZZ_CHECK(rc == 0, "pfringint_build_socket_filter returned %d", rc);
  FUZZ_CHECK(prog.len >= 1 && prog.len <= BPF_MAXINSNS, "%u instructions", prog.len);
  if (spec.user && !spec.drop_all)
    FUZZ_CHECK(prog.len >= spec.user_len &&
               memcmp(prog.filter + prog.len - spec.user_len, spec.user,
                      spec.user_len * sizeof(*spec.user)) == 0,
               "the user's program is not the end of the filter");
  else
    FUZZ_CHECK(prog.filter[prog.len - 1].code == (BPF_RET | BPF_K) &&
               prog.filter[prog.len - 1].k ==
                 (spec.drop_all ? 0 : spec.snaplen ? spec.snaplen : DEFAULT_SNAPLEN),
               "the filter does not end with ret #snaplen");
  err = kernel_socket_filter(&prog);
  FUZZ_CHECK(err == 0 || err == ENOMEM, "the kernel refuses the filter (%u instructions; %u interfaces, user %u): %s",
             prog.len, n_if, spec.user_len, strerror(err));

  /* The ring's rules, one by one. */
  keep = !spec.drop_all;
  if (spec.direction == rx_only_direction && s.pkttype == PACKET_OUTGOING)
    keep = 0;
  if (spec.direction == tx_only_direction && s.pkttype != PACKET_OUTGOING)
    keep = 0;
  if (spec.drop_loopback_outgoing && spec.direction != rx_only_direction &&
      s.pkttype == PACKET_OUTGOING && s.hatype == 772)
    keep = 0;
  if (n_if && !in_list(ifx, n_if, s.ifindex))
    keep = 0;
  if (!vlan_keeps(spec.vlan_id, &s))
    keep = 0;
  if (spec.channel_mask != RING_ANY_CHANNEL) {
    queues = spec.num_rx_queues ? spec.num_rx_queues : 1;
    if (spec.rss_rehash) {
      uint64_t all = queues >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << queues) - 1);
      if ((spec.channel_mask & all) != all) {
        uint32_t h = run_checked(rehash_prog.filter, rehash_prog.len, &s);
        uint32_t q = h % queues;
        if (q >= 64 || !(spec.channel_mask >> q & 1))
          keep = 0;
        else if (h == 0)
          maybe_dropped = 1;   /* the hash may have stopped at a short frame */
      }
    } else {
      uint32_t q = s.pkttype == PACKET_OUTGOING ? s.queue : s.queue ? s.queue - 1 : 0;
      if (q >= 64 || !(spec.channel_mask >> q & 1))
        keep = 0;
    }
  }
  want = 0;
  if (keep)
    want = spec.user ? run_checked(spec.user, spec.user_len, &s)
                     : spec.snaplen ? spec.snaplen : DEFAULT_SNAPLEN;
  got = run_checked(prog.filter, prog.len, &s);
  FUZZ_CHECK(got == want || (maybe_dropped && got == 0),
             "the filter returns %u, the ring's rules say %u (direction %d, loopback %u, "
             "%u interfaces, VLAN %u, channels %#llx%s, user %u)", got, want,
             (int)spec.direction, spec.drop_loopback_outgoing, n_if, spec.vlan_id,
             (unsigned long long)spec.channel_mask, spec.rss_rehash ? " rehashed" : "",
             spec.user_len);
  free(prog.filter);
  return 0;
}
