/*
 * fuzz_parse_pkt.c - pfring_parse_pkt (libpfring/src/parse.c) over
 * arbitrary frames, and the printers that read its result.
 *
 * Input: one byte of options, then the frame.
 *   bits 0-2  level (0..7: below 2, 2..5 and above 5 all occur)
 *   bit 3     add_timestamp        bit 4  add_hash
 *   bits 5-7  how much longer than caplen hdr->len says the frame was on
 *             the wire (0..7 times 97 bytes: a truncated capture)
 * The frame is copied into a buffer of exactly caplen bytes (ASan sees any
 * read past the capture) and parsed twice, from a clean header and from a header
 * full of garbage: the results must be equal (nothing of a previous packet
 * survives), and every offset the parser reports must lie inside caplen.
 * The frame must be unchanged.  Then pfring_print_parsed_pkt and
 * pfring_print_pkt format it into buffers of every size from 0 to 200 bytes
 * (exact heap blocks) and must always leave a terminated string.
 */
#include "common.h"

#define FRAG_FLAGS (PKT_FLAGS_IP_MORE_FRAG | PKT_FLAGS_IP_FRAG_OFFSET)

/* What the parser promises (parse.c): level 0 exactly when there is no
 * Ethernet header, never above the level asked (2 at least) or 5; the
 * offsets of the headers it found inside the capture; the payload offset
 * "by the header lengths", so at most one maximal L4 header (60 bytes of
 * TCP) past l4_offset, which may be past a truncated capture. */
static void check_offsets(const struct pfring_pkthdr *h, u_int8_t asked, int level)
{
  const struct pkt_parsing_info *pi = &h->extended_hdr.parsed_pkt;
  int most = asked < 2 ? 2 : asked > 5 ? 5 : asked;

  FUZZ_CHECK((level == 0) == (h->caplen < 14), "level %d for a %u-byte capture", level,
             h->caplen);
  FUZZ_CHECK(level == 0 || (level >= 2 && level <= most), "level %d, asked %u", level, asked);
  if (level == 0)
    return;
  FUZZ_CHECK(pi->offset.eth_offset == 0, "eth_offset %d", pi->offset.eth_offset);
  FUZZ_CHECK(pi->offset.l3_offset >= 14 && (u_int32_t)pi->offset.l3_offset <= h->caplen,
             "l3_offset %d, caplen %u", pi->offset.l3_offset, h->caplen);
  FUZZ_CHECK(pi->offset.vlan_offset == 0 ||
             (pi->offset.vlan_offset >= 12 && pi->offset.vlan_offset + 4 <= pi->offset.l3_offset),
             "vlan_offset %d, l3_offset %d", pi->offset.vlan_offset, pi->offset.l3_offset);
  FUZZ_CHECK(pi->offset.l4_offset == 0 ||
             (pi->offset.l4_offset > pi->offset.l3_offset &&
              (u_int32_t)pi->offset.l4_offset <= h->caplen),
             "l4_offset %d, l3_offset %d, caplen %u", pi->offset.l4_offset,
             pi->offset.l3_offset, h->caplen);
  FUZZ_CHECK(pi->offset.payload_offset == 0 ||
             (pi->offset.l4_offset && pi->offset.payload_offset >= pi->offset.l4_offset &&
              pi->offset.payload_offset <= pi->offset.l4_offset + 60),
             "payload_offset %d, l4_offset %d", pi->offset.payload_offset,
             pi->offset.l4_offset);
  if (level >= 3)
    FUZZ_CHECK(pi->ip_version == 4 || pi->ip_version == 6, "level %d, IP version %u",
               level, pi->ip_version);
  else
    FUZZ_CHECK(pi->ip_version == 0 && pi->offset.l4_offset == 0, "level 2, IP version %u",
               pi->ip_version);
}

static void print_all_sizes(const u_char *pkt, const struct pfring_pkthdr *h)
{
  u_int size;
  int n;

  for (size = 0; size <= 200; size += size < 16 ? 1 : 23) {
    char *buf = malloc(size ? size : 1);

    FUZZ_CHECK(buf != NULL, "out of memory");
    n = pfring_print_parsed_pkt(size ? buf : NULL, size, pkt, h);
    FUZZ_CHECK(size ? n >= 0 : n == 0, "print_parsed_pkt returned %d", n);
    if (size) {
      n = pfring_print_parsed_pkt(buf, size, pkt, h);
      FUZZ_CHECK(n >= 0 && (u_int)n < size && strlen(buf) == (size_t)n,
                 "print_parsed_pkt returned %d for %u bytes", n, size);
      n = pfring_print_pkt(buf, size, pkt, h->len, h->caplen);
      FUZZ_CHECK(n >= 0 && (u_int)n < size && strlen(buf) == (size_t)n,
                 "print_pkt returned %d for %u bytes", n, size);
    }
    free(buf);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pfring_pkthdr clean, dirty;
  u_int8_t opts, level, add_ts, add_hash, longer;
  size_t len;
  u_char *pkt, *copy;
  int a, b;

  if (size < 1 || size > 65536 + 1)
    return 0;
  opts = data[0];
  level = opts & 7;
  add_ts = (opts >> 3) & 1;
  add_hash = (opts >> 4) & 1;
  longer = opts >> 5;
  len = size - 1;
  pkt = malloc(len ? len : 1);
  copy = malloc(len ? len : 1);
  FUZZ_CHECK(pkt && copy, "out of memory");
  memcpy(pkt, data + 1, len);
  memcpy(copy, data + 1, len);

  memset(&clean, 0, sizeof(clean));
  clean.caplen = (u_int32_t)len;
  clean.len = (u_int32_t)len + longer * 97u;
  memset(&dirty, 0xA5, sizeof(dirty));
  dirty.caplen = clean.caplen;
  dirty.len = clean.len;
  dirty.ts = clean.ts;

  a = pfring_parse_pkt(pkt, &clean, level, add_ts, add_hash);
  b = pfring_parse_pkt(pkt, &dirty, level, add_ts, add_hash);
  FUZZ_CHECK(memcmp(pkt, copy, len) == 0, "pfring_parse_pkt changed the frame");
  FUZZ_CHECK(a == b, "levels %d and %d for one frame", a, b);
  check_offsets(&clean, level, a);
  if (!add_ts) {
    /* Without a time stamp the whole header is a function of the frame. */
    dirty.ts = clean.ts;
    FUZZ_CHECK(memcmp(&clean.extended_hdr.parsed_pkt, &dirty.extended_hdr.parsed_pkt,
                      sizeof(clean.extended_hdr.parsed_pkt)) == 0,
               "a previous header's parsed_pkt survives the parse");
    FUZZ_CHECK((clean.extended_hdr.flags & FRAG_FLAGS) ==
               (dirty.extended_hdr.flags & FRAG_FLAGS),
               "fragment flags %#x and %#x", clean.extended_hdr.flags & FRAG_FLAGS,
               dirty.extended_hdr.flags & FRAG_FLAGS);
    if (add_hash)
      FUZZ_CHECK(clean.extended_hdr.pkt_hash == dirty.extended_hdr.pkt_hash,
                 "pkt_hash %u and %u", clean.extended_hdr.pkt_hash,
                 dirty.extended_hdr.pkt_hash);
  }
  if (level > 5)
    FUZZ_CHECK(a == pfring_parse_pkt(pkt, &clean, 5, 0, 0), "a level above 5 is not 5");
  print_all_sizes(pkt, &clean);
  FUZZ_CHECK(memcmp(pkt, copy, len) == 0, "printing changed the frame");
  free(pkt);
  free(copy);
  return 0;
}
