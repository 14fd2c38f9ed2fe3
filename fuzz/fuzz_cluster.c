/*
 * fuzz_cluster.c - the cluster hash programs (kernel/cluster.c): the
 * PACKET_FANOUT_CBPF program of each cluster type and the same hash as an
 * inline fragment (the RSS rehash of a socket filter).
 *
 * Input: one byte, the cluster type (its value modulo 16: every type, and
 * 14 and 15, which are none), then a frame.
 *
 * Checks:
 *   - round robin and cluster_per_flow_ip_with_dup_tuple have no program
 *     (NOT_SUPPORTED), 14 and 15 are refused (INVALID_ARGUMENT), every
 *     other type has one; a message for each refusal; the program is the
 *     same on every call;
 *   - the kernel loads each program as the fanout group's program
 *     (PACKET_FANOUT_DATA), and the fragment followed by "ret a" as a
 *     socket filter (SO_ATTACH_FILTER): once per type and process, since
 *     the program of a type is fixed;
 *   - in the interpreter (cbpf.h), over the frame: the program ends with
 *     a value (no invalid step), the fragment gives the same value, the
 *     frame as received (an outer 0x8100/0x88a8 tag moved to metadata, as
 *     the kernel does) gives the same value as the frame as sent (every tag
 *     in the data) - both directions of a flow reach one member - except
 *     for 4 tags or more (a sent frame's program skips 3: documented in
 *     cluster.c), and the frame with its MAC addresses, IP addresses and
 *     TCP/UDP/SCTP ports swapped (for frames simple enough to swap: at
 *     most one tag, an IPv4 header of 20 bytes or more or an IPv6 header)
 *     gives the same value: the hash is symmetric.
 */
#include "common.h"

#include "cbpf.h"
#include "pfring_int.h"

#define NUM_TYPES 16

struct built {
  int done;
  int rc;
  struct sock_fprog prog, inline_prog;  /* inline_prog ends with "ret a" */
};

static struct built cache[NUM_TYPES];

static int is_tpid(const uint8_t *p) { return (p[0] == 0x81 && p[1] == 0x00) ||
                                              (p[0] == 0x88 && p[1] == 0xA8); }

/* Tags in the data from offset 12 on, counting a last one cut after its
 * TPID. */
static unsigned tag_depth(const uint8_t *f, size_t len)
{
  unsigned n = 0;

  while (12 + 4 * n + 2 <= len && is_tpid(f + 12 + 4 * n))
    n++;
  return n;
}

static void build(cluster_type t, struct built *b)
{
  char msg[PFRING_ERRBUF_SIZE] = "";
  struct sock_fprog frag = { 0, NULL };
  int rc2, err;

  b->rc = pfringint_build_cluster_program(t, &b->prog, msg, sizeof(msg));
  rc2 = pfringint_build_flow_hash(t, &frag, msg, sizeof(msg));
  FUZZ_CHECK(b->rc == rc2, "type %d: program %d, fragment %d", (int)t, b->rc, rc2);
  if (t == cluster_round_robin || t == cluster_per_flow_ip_with_dup_tuple)
    FUZZ_CHECK(b->rc == PF_RING_ERROR_NOT_SUPPORTED, "type %d: %d", (int)t, b->rc);
  else if ((int)t > PFRINGINT_LAST_CLUSTER_TYPE)
    FUZZ_CHECK(b->rc == PF_RING_ERROR_INVALID_ARGUMENT, "type %d: %d", (int)t, b->rc);
  else
    FUZZ_CHECK(b->rc == 0, "type %d: %d (%s)", (int)t, b->rc, msg);
  if (b->rc < 0) {
    FUZZ_CHECK(msg[0], "type %d: code %d without a message", (int)t, b->rc);
    b->done = 1;
    return;
  }
  FUZZ_CHECK(b->prog.len > 0 && b->prog.len <= BPF_MAXINSNS, "type %d: %u instructions",
             (int)t, b->prog.len);
  FUZZ_CHECK(frag.len > 0 && frag.len < BPF_MAXINSNS, "type %d: a fragment of %u",
             (int)t, frag.len);
  b->inline_prog.len = (unsigned short)(frag.len + 1);
  b->inline_prog.filter = malloc(b->inline_prog.len * sizeof(struct sock_filter));
  FUZZ_CHECK(b->inline_prog.filter != NULL, "out of memory");
  memcpy(b->inline_prog.filter, frag.filter, frag.len * sizeof(struct sock_filter));
  b->inline_prog.filter[frag.len] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
  free(frag.filter);

  err = kernel_fanout_program(&b->prog);
  FUZZ_CHECK(err == 0, "type %d: the kernel refuses the fanout program (%u instructions): %s",
             (int)t, b->prog.len, strerror(err));
  err = kernel_socket_filter(&b->inline_prog);
  FUZZ_CHECK(err == 0, "type %d: the kernel refuses the inline hash (%u instructions): %s",
             (int)t, b->inline_prog.len, strerror(err));
  b->done = 1;
}

/* The same program again: generation depends on nothing but the type. */
static void check_same(cluster_type t, const struct built *b)
{
  char msg[PFRING_ERRBUF_SIZE];
  struct sock_fprog p = { 0, NULL };
  int rc = pfringint_build_cluster_program(t, &p, msg, sizeof(msg));

  FUZZ_CHECK(rc == b->rc, "type %d: %d, then %d", (int)t, b->rc, rc);
  if (rc == 0) {
    FUZZ_CHECK(p.len == b->prog.len &&
               memcmp(p.filter, b->prog.filter, p.len * sizeof(*p.filter)) == 0,
               "type %d: two programs", (int)t);
    free(p.filter);
  }
}

static uint32_t run(const struct sock_fprog *prog, const uint8_t *data, size_t len,
                    int received, int vlan_present, uint32_t tci, uint32_t tpid)
{
  struct cbpf_skb s;
  uint32_t ret = 0;
  int rc;

  memset(&s, 0, sizeof(s));
  s.data = data;
  s.len = s.wirelen = (uint32_t)len;
  s.net = 14;
  s.protocol = len >= 14 ? (uint32_t)(data[12] << 8 | data[13]) : 0;
  s.pkttype = received ? PACKET_HOST : PACKET_OUTGOING;
  s.ifindex = 1;
  s.hatype = 1;
  s.vlan_present = vlan_present;
  s.vlan_tci = tci;
  s.vlan_tpid = tpid;
  rc = cbpf_run(prog->filter, prog->len, &s, &ret);
  FUZZ_CHECK(rc == CBPF_OK, "the program does not run to a return (%d)", rc);
  return ret;
}

static void swap(uint8_t *f, size_t a, size_t b, size_t n)
{
  uint8_t t[16];

  memcpy(t, f + a, n);
  memmove(f + a, f + b, n);
  memcpy(f + b, t, n);
}

/* The frame of the other direction; 0 if it is not simple enough. */
static int mirror(uint8_t *f, size_t len)
{
  unsigned depth = tag_depth(f, len);
  size_t l3 = depth ? 18 : 14;
  uint16_t et;

  if (depth > 1 || len < l3)
    return 0;
  swap(f, 0, 6, 6);
  et = (uint16_t)(f[l3 - 2] << 8 | f[l3 - 1]);
  if (et == 0x0800 && len >= l3 + 20) {
    size_t ihl = (f[l3] & 0x0f) * 4u;
    uint8_t proto = f[l3 + 9];
    if (ihl < 20)
      return 0;
    swap(f, l3 + 12, l3 + 16, 4);
    if ((proto == 6 || proto == 17 || proto == 132) && len >= l3 + ihl + 4 &&
        !(f[l3 + 6] & 0x3f) && !f[l3 + 7])          /* not a fragment */
      swap(f, l3 + ihl, l3 + ihl + 2, 2);
  } else if (et == 0x86DD && len >= l3 + 40) {
    uint8_t nh = f[l3 + 6];
    swap(f, l3 + 8, l3 + 24, 16);
    if ((nh == 6 || nh == 17 || nh == 132) && len >= l3 + 44)
      swap(f, l3 + 40, l3 + 42, 2);
  } else if (et == 0x0800 || et == 0x86DD) {
    return 0;                   /* cut inside the addresses */
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cluster_type t;
  struct built *b;
  uint8_t *frame, *rx;
  size_t len;
  uint32_t tx_hash, h;

  if (size < 1)
    return 0;
  t = (cluster_type)(data[0] % NUM_TYPES);
  b = &cache[t];
  if (!b->done)
    build(t, b);
  check_same(t, b);
  if (b->rc < 0)
    return 0;

  len = size - 1;
  frame = malloc(len ? len : 1);
  rx = malloc(len ? len : 1);
  FUZZ_CHECK(frame && rx, "out of memory");
  memcpy(frame, data + 1, len);

  /* As sent: every tag in the data. */
  tx_hash = run(&b->prog, frame, len, 0, 0, 0, 0);
  h = run(&b->inline_prog, frame, len, 0, 0, 0, 0);
  FUZZ_CHECK(h == tx_hash, "type %d: program %#x, inline hash %#x", (int)t, tx_hash, h);

  /* As received: the outer tag in metadata. */
  if (len >= 16 && is_tpid(frame + 12)) {
    size_t rlen = len - 4;
    memcpy(rx, frame, 12);
    memcpy(rx + 12, frame + 16, len - 16);
    h = run(&b->prog, rx, rlen, 1, 1, (uint32_t)(frame[14] << 8 | frame[15]),
            (uint32_t)(frame[12] << 8 | frame[13]));
  } else {
    h = run(&b->prog, frame, len, 1, 0, 0, 0);
  }
  if (tag_depth(frame, len) < 4)
    FUZZ_CHECK(h == tx_hash, "type %d: received %#x, sent %#x", (int)t, h, tx_hash);

  /* The other direction. */
  if (mirror(frame, len)) {
    h = run(&b->prog, frame, len, 0, 0, 0, 0);
    FUZZ_CHECK(h == tx_hash, "type %d: one direction %#x, the other %#x", (int)t, tx_hash, h);
  }
  free(frame);
  free(rx);
  return 0;
}
