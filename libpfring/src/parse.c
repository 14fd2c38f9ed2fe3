/*
 * parse.c - the packet utilities of the public API: pfring_parse_pkt,
 * pfring_print_parsed_pkt, pfring_print_pkt and pfring_format_numbers.
 *
 * The parser reads at most hdr->caplen bytes (fewer when an IP header says
 * its packet is shorter, e.g. Ethernet padding) and stops at the last layer
 * that is complete; it never reads past the capture.  Layers:
 *   2  Ethernet, up to 4 VLAN tags (0x8100, 0x88A8, 0x9100), up to 10 MPLS
 *      labels (the payload is guessed from its first nibble)
 *   3  IPv4 (options, fragments), IPv6 with up to 8 extension headers
 *      (hop-by-hop, routing, fragment, destination options, AH)
 *   4  TCP, UDP and SCTP ports, TCP flags/seq/ack, ICMP/ICMPv6 type and code
 *   5  tunnels: GTP-U and GTP-C (UDP 2152/2123), GRE version 0 (key, IP or
 *      transparent Ethernet bridging inside), VXLAN (UDP 4789)
 * An IP layer counts once its fixed header is there; l4_offset is set only
 * when its options or extension headers are complete too.
 * pkt_hash is PF_RING's symmetric sum of VLAN id, addresses, protocol and
 * ports (of the tunneled packet when there is one).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "pfring_int.h"

#ifndef PFRING_API
#define PFRING_API __attribute__((visibility("default")))
#endif

#define MAX_VLAN_TAGS      4
#define MAX_MPLS_LABELS    10
#define MAX_IPV6_EXT_HDRS  8
#define MAX_GTP_EXT_HDRS   8

#define ETH_HDR_LEN        14
#define ET_IPV4            0x0800
#define ET_IPV6            0x86DD
#define ET_TEB             0x6558   /* transparent Ethernet bridging (GRE) */

#define PORT_GTP_C         2123
#define PORT_GTP_U         2152
#define PORT_VXLAN         4789
#define GTP_TPDU           0xFF     /* G-PDU: an encapsulated user packet */

#define GRE_CSUM           0x8000
#define GRE_ROUTING        0x4000
#define GRE_KEY            0x2000
#define GRE_SEQ            0x1000
#define GRE_VERSION        0x0007

/* ------------------------------------------------------------------------ */
/* Bounded reads                                                             */

/* The bytes that may be read: p[0 .. len - 1]. */
struct span {
  const u_char *p;
  u_int32_t len;
};

/* n bytes at off are readable (no overflow for any off, n). */
static inline int fits(const struct span *s, u_int32_t off, u_int32_t n)
{
  return off <= s->len && n <= s->len - off;
}

static inline u_int16_t rd16(const u_char *p)
{
  return (u_int16_t)(p[0] << 8 | p[1]);
}

static inline u_int32_t rd32(const u_char *p)
{
  return (u_int32_t)p[0] << 24 | (u_int32_t)p[1] << 16 | (u_int32_t)p[2] << 8 | p[3];
}

/* A header at base says n bytes follow it: never read beyond them.  n == 0
 * means unknown (IPv6 jumbograms, IPv4 TSO frames) and keeps the span. */
static void narrow(struct span *s, u_int32_t base, u_int32_t n)
{
  if (n != 0 && base + n < s->len)
    s->len = base + n;
}

/* ------------------------------------------------------------------------ */
/* Layer 2                                                                   */

struct l2 {
  u_int16_t eth_type, vlan_id, qinq_vlan_id;
  u_int32_t vlan_off, l3_off;
};

static int is_vlan_tpid(u_int16_t et)
{
  return et == 0x8100 || et == 0x88A8 || et == 0x9100;
}

/* The ethertype of an IP header at off, by its version nibble; fallback
 * if it is neither IPv4 nor IPv6 or is not captured. */
static u_int16_t guess_ip(const struct span *s, u_int32_t off, u_int16_t fallback)
{
  if (!fits(s, off, 1))
    return fallback;
  switch (s->p[off] >> 4) {
  case 4: return ET_IPV4;
  case 6: return ET_IPV6;
  default: return fallback;
  }
}

/* Skips MPLS labels up to the bottom of the stack.  The payload type is a
 * guess; a stack that is cut short or too deep leaves et and *off alone. */
static u_int16_t skip_mpls(const struct span *s, u_int32_t *off, u_int16_t et)
{
  u_int32_t o = *off;
  int i;

  for (i = 0; i < MAX_MPLS_LABELS && fits(s, o, 4); i++) {
    int bottom = s->p[o + 2] & 0x01;
    o += 4;
    if (bottom) {
      *off = o;
      return guess_ip(s, o, et);
    }
  }
  return et;
}

/* Ethernet header at off with its VLAN tags and MPLS labels; -1 if the
 * 14 bytes are not there.  Tags beyond the first two are skipped. */
static int parse_eth(const struct span *s, u_int32_t off, struct l2 *e)
{
  u_int16_t et;
  int i;

  memset(e, 0, sizeof(*e));
  if (!fits(s, off, ETH_HDR_LEN))
    return -1;
  et = rd16(s->p + off + 12);
  off += ETH_HDR_LEN;
  for (i = 0; i < MAX_VLAN_TAGS && is_vlan_tpid(et) && fits(s, off, 4); i++) {
    u_int16_t vid = rd16(s->p + off) & 0x0fff;
    if (i == 0) {
      e->vlan_id = vid;
      e->vlan_off = off - 2;       /* where the tag (TPID, TCI) starts */
    } else if (i == 1) {
      e->qinq_vlan_id = vid;
    }
    et = rd16(s->p + off + 2);
    off += 4;
  }
  if (et == 0x8847 || et == 0x8848)
    et = skip_mpls(s, &off, et);
  e->eth_type = et;
  e->l3_off = off;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Layers 3 and 4                                                            */

struct layer {
  u_int8_t version, proto, tos;
  ip_addr src, dst;
  u_int8_t l4_known;     /* options/extension headers complete: l4_off valid */
  u_int8_t frag_later;   /* a fragment with offset != 0: no L4 header */
  u_int8_t more_frag;
  u_int8_t has_l4;       /* the L4 header was read */
  u_int32_t l4_off, payload_off;
  u_int16_t sport, dport;
  u_int8_t icmp_type, icmp_code, tcp_flags;
  u_int32_t seq, ack;
};

/* IPv4 at off; -1 if the fixed header is missing or malformed.  The span
 * is narrowed to the packet's total length. */
static int parse_ipv4(struct span *s, u_int32_t off, struct layer *r)
{
  const u_char *h;
  u_int32_t ihl, tot;
  u_int16_t frag;

  if (!fits(s, off, 20) || (s->p[off] >> 4) != 4)
    return -1;
  h = s->p + off;
  ihl = (h[0] & 0x0fu) * 4;
  tot = rd16(h + 2);
  if (ihl < 20 || (tot != 0 && tot < ihl))
    return -1;
  narrow(s, off, tot);
  r->version = 4;
  r->tos = h[1];
  r->proto = h[9];
  r->src.v4 = rd32(h + 12);
  r->dst.v4 = rd32(h + 16);
  frag = rd16(h + 6);
  r->more_frag = (frag & 0x2000) != 0;
  r->frag_later = (frag & 0x1fff) != 0;
  r->l4_off = off + ihl;
  r->l4_known = (u_int8_t)fits(s, off, ihl);
  return 0;
}

static int is_ipv6_ext(u_int8_t nh)
{
  return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
         nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

/* Length of the extension header at off; records fragment information. */
static u_int32_t ipv6_ext_len(const struct span *s, u_int32_t off, struct layer *r)
{
  if (r->proto == IPPROTO_FRAGMENT) {
    u_int16_t fo = rd16(s->p + off + 2);
    r->frag_later = (fo & 0xfff8) != 0;
    r->more_frag = (fo & 0x0001) != 0;
    return 8;
  }
  if (r->proto == IPPROTO_AH)
    return (s->p[off + 1] + 2u) * 4;
  return (s->p[off + 1] + 1u) * 8;
}

/* Follows the extension headers from r->proto at r->l4_off.  1 when the
 * chain ends at an upper-layer header (or the data of a non-first
 * fragment); 0 when it is cut short or too long, r->proto then being the
 * header that could not be passed. */
static int walk_ipv6_ext(const struct span *s, struct layer *r)
{
  int i;

  for (i = 0; i < MAX_IPV6_EXT_HDRS && is_ipv6_ext(r->proto); i++) {
    u_int32_t off = r->l4_off, len;
    if (!fits(s, off, 8))
      return 0;
    len = ipv6_ext_len(s, off, r);
    if (!fits(s, off, len))
      return 0;
    r->proto = s->p[off];
    r->l4_off = off + len;
    if (r->frag_later)
      return 1;
  }
  return !is_ipv6_ext(r->proto);
}

/* IPv6 at off; -1 if the fixed header is missing.  The span is narrowed
 * to the payload length. */
static int parse_ipv6(struct span *s, u_int32_t off, struct layer *r)
{
  const u_char *h;

  if (!fits(s, off, 40) || (s->p[off] >> 4) != 6)
    return -1;
  h = s->p + off;
  narrow(s, off + 40, rd16(h + 4));
  r->version = 6;
  r->tos = (u_int8_t)(rd16(h) >> 4);
  memcpy(&r->src, h + 8, 16);
  memcpy(&r->dst, h + 24, 16);
  r->proto = h[6];
  r->l4_off = off + 40;
  r->l4_known = (u_int8_t)walk_ipv6_ext(s, r);
  return 0;
}

/* The IP header of ethertype et at off. */
static int parse_ip(struct span *s, u_int32_t off, u_int16_t et, struct layer *r)
{
  memset(r, 0, sizeof(*r));
  if (et == ET_IPV4)
    return parse_ipv4(s, off, r);
  if (et == ET_IPV6)
    return parse_ipv6(s, off, r);
  return -1;
}

static void parse_tcp(const struct span *s, struct layer *r)
{
  const u_char *h = s->p + r->l4_off;
  u_int32_t hlen;

  r->sport = rd16(h);
  r->dport = rd16(h + 2);
  r->seq = rd32(h + 4);
  r->ack = rd32(h + 8);
  r->tcp_flags = h[13];
  hlen = (h[12] >> 4) * 4u;
  r->payload_off = r->l4_off + (hlen < 20 ? 20 : hlen);
}

/* The L4 header at r->l4_off (needs l4_known).  payload_off is where the
 * payload starts by the header lengths; 0 when a known header is cut. */
/* The bytes of a protocol's header that hold its ports (TCP, UDP, SCTP:
 * the whole fixed header); 0 for a protocol without ports. */
static u_int32_t ports_header(u_int8_t proto)
{
  switch (proto) {
  case IPPROTO_TCP: return 20;
  case IPPROTO_UDP: return 8;
  case IPPROTO_SCTP: return 12;
  }
  return 0;
}

static void parse_l4(const struct span *s, struct layer *r)
{
  u_int32_t off = r->l4_off, need;

  if (!r->l4_known)
    return;
  if (r->frag_later) {
    r->payload_off = off;
    return;
  }
  need = ports_header(r->proto);
  if (!need && (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6))
    need = 4;
  if (!need) {
    r->payload_off = off;         /* unknown protocol: all of it is payload */
    return;
  }
  if (!fits(s, off, need))
    return;
  r->has_l4 = 1;
  if (r->proto == IPPROTO_TCP) {
    parse_tcp(s, r);
  } else if (need == 4) {
    r->icmp_type = s->p[off];
    r->icmp_code = s->p[off + 1];
    r->payload_off = off + 8;
  } else {
    r->sport = rd16(s->p + off);
    r->dport = rd16(s->p + off + 2);
    r->payload_off = off + need;
  }
}

/* ------------------------------------------------------------------------ */
/* Tunnels                                                                   */

struct tunnel {
  u_int32_t id;          /* NO_TUNNEL_ID when the encapsulation has none */
  struct layer inner;    /* version 0 when no inner IP header was parsed */
};

/* The inner IP packet of ethertype et at off, in a copy of the span. */
static void parse_inner(struct span s, u_int32_t off, u_int16_t et, struct layer *in)
{
  if (parse_ip(&s, off, et, in) < 0) {
    memset(in, 0, sizeof(*in));
    return;
  }
  parse_l4(&s, in);
}

/* GTPv1 header at off: the offset after its optional fields and extension
 * headers, 0 if it is incomplete or not GTPv1. */
static u_int32_t gtpv1_end(const struct span *s, u_int32_t off, u_int32_t *teid)
{
  u_int8_t flags, next;
  int i;

  if (!fits(s, off, 8))
    return 0;
  flags = s->p[off];
  if ((flags >> 5) != 1 || !(flags & 0x10))       /* version 1, PT = GTP */
    return 0;
  *teid = rd32(s->p + off + 4);
  off += 8;
  if (!(flags & 0x07))                            /* no E, S or PN */
    return off;
  if (!fits(s, off, 4))
    return 0;
  next = (flags & 0x04) ? s->p[off + 3] : 0;
  off += 4;
  for (i = 0; next != 0; i++) {                   /* extension headers */
    u_int32_t len;
    if (i == MAX_GTP_EXT_HDRS || !fits(s, off, 1))
      return 0;
    len = s->p[off] * 4u;
    if (len == 0 || !fits(s, off, len))
      return 0;
    next = s->p[off + len - 1];
    off += len;
  }
  return off;
}

/* GTPv2-C: the TEID is there when the T flag is set. */
static int parse_gtpv2c(const struct span *s, u_int32_t off, struct tunnel *t)
{
  int has_teid = (s->p[off] & 0x08) != 0;

  if (!fits(s, off, has_teid ? 12 : 8))
    return 0;
  if (has_teid)
    t->id = rd32(s->p + off + 4);
  return 1;
}

/* GTP-U (user_plane) or GTP-C at off. */
static int parse_gtp(const struct span *s, u_int32_t off, int user_plane, struct tunnel *t)
{
  u_int32_t end, teid;

  if (!fits(s, off, 1))
    return 0;
  if (!user_plane && (s->p[off] >> 5) == 2)
    return parse_gtpv2c(s, off, t);
  end = gtpv1_end(s, off, &teid);
  if (!end)
    return 0;
  t->id = teid;
  if (user_plane && s->p[off + 1] == GTP_TPDU)
    parse_inner(*s, end, guess_ip(s, end, 0), &t->inner);
  return 1;
}

/* An inner Ethernet frame at off (VXLAN, GRE bridging), then its IP. */
static void parse_inner_eth(const struct span *s, u_int32_t off, struct tunnel *t)
{
  struct l2 e;

  if (parse_eth(s, off, &e) == 0)
    parse_inner(*s, e.l3_off, e.eth_type, &t->inner);
}

static int parse_vxlan(const struct span *s, u_int32_t off, struct tunnel *t)
{
  if (!fits(s, off, 8) || !(s->p[off] & 0x08))    /* I flag: the VNI is valid */
    return 0;
  t->id = rd32(s->p + off + 4) >> 8;
  parse_inner_eth(s, off + 8, t);
  return 1;
}

/* GRE version 0 (RFC 2784/2890) without source routing. */
static int parse_gre(const struct span *s, u_int32_t off, struct tunnel *t)
{
  u_int16_t flags, proto;

  if (!fits(s, off, 4))
    return 0;
  flags = rd16(s->p + off);
  proto = rd16(s->p + off + 2);
  if (flags & (GRE_VERSION | GRE_ROUTING))
    return 0;
  off += 4;
  if (flags & GRE_CSUM)
    off += 4;                                     /* checksum, reserved */
  if (flags & GRE_KEY) {
    if (!fits(s, off, 4))
      return 0;
    t->id = rd32(s->p + off);
    off += 4;
  }
  if (flags & GRE_SEQ)
    off += 4;
  if (!fits(s, off, 0))
    return 0;
  if (proto == ET_TEB)
    parse_inner_eth(s, off, t);
  else
    parse_inner(*s, off, proto, &t->inner);
  return 1;
}

/* 1 when the outer packet carries a tunnel whose header is complete. */
static int parse_tunnel(const struct span *s, const struct layer *outer, struct tunnel *t)
{
  t->id = NO_TUNNEL_ID;
  memset(&t->inner, 0, sizeof(t->inner));
  if (outer->proto == IPPROTO_UDP && outer->has_l4) {
    if (outer->sport == PORT_GTP_U || outer->dport == PORT_GTP_U)
      return parse_gtp(s, outer->payload_off, 1, t);
    if (outer->sport == PORT_GTP_C || outer->dport == PORT_GTP_C)
      return parse_gtp(s, outer->payload_off, 0, t);
    if (outer->dport == PORT_VXLAN)
      return parse_vxlan(s, outer->payload_off, t);
  } else if (outer->proto == IPPROTO_GRE && outer->l4_known && !outer->frag_later) {
    return parse_gre(s, outer->l4_off, t);
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The hash                                                                  */

/* PF_RING's symmetric flow hash: a plain (wrapping) sum, so swapping
 * source and destination gives the same value.  IPv6 words are summed as
 * stored (network byte order). */
static u_int32_t sum_hash(u_int16_t vlan_id, const struct layer *r)
{
  u_int32_t h = (u_int32_t)vlan_id + r->proto + r->sport + r->dport;
  int i;

  if (r->version == 4) {
    h += r->src.v4 + r->dst.v4;
  } else if (r->version == 6) {
    for (i = 0; i < 4; i++) {
      u_int32_t a, b;
      memcpy(&a, (const u_char *)&r->src + 4 * i, 4);
      memcpy(&b, (const u_char *)&r->dst + 4 * i, 4);
      h += a + b;
    }
  }
  return h;
}

/* The common case of sum_hash without the parse: an untagged Ethernet
 * frame with a well-formed IPv4 header.  *sum gets what pfring_parse_pkt
 * (level 4) sums for it: protocol, addresses and, of the first fragment of
 * TCP, UDP and SCTP whose ports were captured within the IP total length,
 * the ports.  0 for any other frame (pfring_parse_pkt then hashes it).
 * tests/unit/test_dna_hash.py holds the two to the same result. */
int pfringint_ipv4_hash_sum(const u_char *pkt, u_int32_t caplen, u_int32_t *sum)
{
  const u_char *ip = pkt + 14;
  u_int32_t ihl, tot, end = caplen, l4, need, ports = 0;

  if (caplen < 14 + 20 || rd16(pkt + 12) != ET_IPV4 || (ip[0] >> 4) != 4)
    return 0;
  ihl = (ip[0] & 0x0fu) * 4;
  tot = rd16(ip + 2);
  if (ihl < 20 || (tot != 0 && tot < ihl))
    return 0;
  if (tot != 0 && 14 + tot < end)
    end = 14 + tot;                  /* nothing past the IP total length */
  l4 = 14 + ihl;
  if (l4 <= end && (rd16(ip + 6) & 0x1fff) == 0) {
    need = ports_header(ip[9]);      /* ICMP and the rest: no ports */
    if (need && need <= end - l4)
      ports = (u_int32_t)rd16(pkt + l4) + rd16(pkt + l4 + 2);
  }
  *sum = ip[9] + ports + rd32(ip + 12) + rd32(ip + 16);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* pfring_parse_pkt                                                          */

static void reset_parsed(struct pfring_pkthdr *hdr)
{
  struct pkt_parsing_info *pi = &hdr->extended_hdr.parsed_pkt;

  memset(pi, 0, sizeof(*pi));
  pi->tunnel.tunnel_id = NO_TUNNEL_ID;
  pi->last_matched_rule_id = -1;
  hdr->extended_hdr.flags &= ~(PKT_FLAGS_IP_MORE_FRAG | PKT_FLAGS_IP_FRAG_OFFSET);
}

/* Wall-clock time for a header that has none. */
static void stamp(struct pfring_pkthdr *hdr)
{
  struct timespec ts;

  if (hdr->ts.tv_sec != 0 || hdr->ts.tv_usec != 0)
    return;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return;
  hdr->ts.tv_sec = ts.tv_sec;
  hdr->ts.tv_usec = ts.tv_nsec / 1000;
  hdr->extended_hdr.timestamp_ns = (u_int64_t)ts.tv_sec * 1000000000ull + (u_int64_t)ts.tv_nsec;
}

static void fill_l2(struct pkt_parsing_info *pi, const u_char *pkt, const struct l2 *e)
{
  memcpy(pi->dmac, pkt, 6);
  memcpy(pi->smac, pkt + 6, 6);
  pi->eth_type = e->eth_type;
  pi->vlan_id = e->vlan_id;
  pi->qinq_vlan_id = e->qinq_vlan_id;
  pi->offset.vlan_offset = (int16_t)e->vlan_off;
  pi->offset.l3_offset = (int16_t)e->l3_off;
}

static void fill_l3(struct pfring_pkthdr *hdr, const struct layer *r)
{
  struct pkt_parsing_info *pi = &hdr->extended_hdr.parsed_pkt;

  pi->ip_version = r->version;
  pi->l3_proto = r->proto;
  pi->ip_tos = r->tos;
  pi->ip_src = r->src;
  pi->ip_dst = r->dst;
  pi->offset.l4_offset = r->l4_known ? (int16_t)r->l4_off : 0;
  if (r->more_frag)
    hdr->extended_hdr.flags |= PKT_FLAGS_IP_MORE_FRAG;
  if (r->frag_later)
    hdr->extended_hdr.flags |= PKT_FLAGS_IP_FRAG_OFFSET;
}

static void fill_l4(struct pkt_parsing_info *pi, const struct layer *r)
{
  pi->l4_src_port = r->sport;
  pi->l4_dst_port = r->dport;
  pi->icmp_type = r->icmp_type;
  pi->icmp_code = r->icmp_code;
  pi->tcp.flags = r->tcp_flags;
  pi->tcp.seq_num = r->seq;
  pi->tcp.ack_num = r->ack;
  pi->offset.payload_offset = (int16_t)r->payload_off;
}

static void fill_tunnel(struct pkt_parsing_info *pi, const struct tunnel *t)
{
  pi->tunnel.tunnel_id = t->id;
  pi->tunnel.tunneled_ip_version = t->inner.version;
  pi->tunnel.tunneled_proto = t->inner.proto;
  pi->tunnel.tunneled_ip_src = t->inner.src;
  pi->tunnel.tunneled_ip_dst = t->inner.dst;
  pi->tunnel.tunneled_l4_src_port = t->inner.sport;
  pi->tunnel.tunneled_l4_dst_port = t->inner.dport;
}

/* Parses layer by layer; returns the highest level parsed.  *hashed is
 * the IP layer the hash is taken over (outer, or inner of a tunnel). */
static int parse_layers(const u_char *pkt, struct pfring_pkthdr *hdr, u_int8_t level,
                        struct layer *ip, struct tunnel *t, const struct layer **hashed)
{
  struct pkt_parsing_info *pi = &hdr->extended_hdr.parsed_pkt;
  struct span s = { pkt, hdr->caplen };
  struct l2 e;

  if (parse_eth(&s, 0, &e) < 0)
    return 0;
  fill_l2(pi, pkt, &e);
  if (level < 3 || parse_ip(&s, e.l3_off, e.eth_type, ip) < 0)
    return 2;
  fill_l3(hdr, ip);
  if (level < 4)
    return 3;
  parse_l4(&s, ip);
  fill_l4(pi, ip);
  if (level < 5 || !parse_tunnel(&s, ip, t))
    return ip->has_l4 ? 4 : 3;
  fill_tunnel(pi, t);
  if (t->inner.version)
    *hashed = &t->inner;
  return 5;
}

PFRING_API int pfring_parse_pkt(u_char *pkt, struct pfring_pkthdr *hdr, u_int8_t level,
                                u_int8_t add_timestamp, u_int8_t add_hash)
{
  struct layer ip;
  struct tunnel t;
  const struct layer *hashed = &ip;
  int done = 0;

  if (!hdr)
    return 0;
  reset_parsed(hdr);
  if (add_timestamp)
    stamp(hdr);
  memset(&ip, 0, sizeof(ip));
  if (pkt)
    done = parse_layers(pkt, hdr, level, &ip, &t, &hashed);
  if (add_hash)
    hdr->extended_hdr.pkt_hash = sum_hash(hdr->extended_hdr.parsed_pkt.vlan_id, hashed);
  return done;
}

/* ------------------------------------------------------------------------ */
/* Printing                                                                  */

/* Appends to buf (size bytes) at *n; *n counts what would have been
 * written, so a full buffer just stops growing. */
static void appendf(char *buf, u_int size, size_t *n, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void appendf(char *buf, u_int size, size_t *n, const char *fmt, ...)
{
  va_list ap;
  int w;

  if (*n >= size)
    return;
  va_start(ap, fmt);
  w = vsnprintf(buf + *n, size - *n, fmt, ap);
  va_end(ap);
  if (w > 0)
    *n += (size_t)w;
}

static const char *proto_name(u_int8_t proto, char *tmp, size_t len)
{
  switch (proto) {
  case IPPROTO_ICMP: return "ICMP";
  case IPPROTO_TCP: return "TCP";
  case IPPROTO_UDP: return "UDP";
  case IPPROTO_GRE: return "GRE";
  case IPPROTO_ICMPV6: return "ICMPv6";
  case IPPROTO_SCTP: return "SCTP";
  default:
    snprintf(tmp, len, "%u", proto);
    return tmp;
  }
}

static void ip_str(u_int8_t version, const ip_addr *a, char *out, size_t len)
{
  u_int32_t v4 = a->v4;

  if (version == 4)
    snprintf(out, len, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 0xff, (v4 >> 8) & 0xff, v4 & 0xff);
  else if (!inet_ntop(AF_INET6, a, out, (socklen_t)len))
    snprintf(out, len, "?");
}

#define MAC_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

static void print_ip(char *buff, u_int size, size_t *n, const struct pfring_pkthdr *h)
{
  const struct pkt_parsing_info *pi = &h->extended_hdr.parsed_pkt;
  char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], tmp[8];

  ip_str(pi->ip_version, &pi->ip_src, src, sizeof(src));
  ip_str(pi->ip_version, &pi->ip_dst, dst, sizeof(dst));
  if (pi->vlan_id)
    appendf(buff, size, n, "[vlan %u] ", pi->vlan_id);
  appendf(buff, size, n, "[IPv%u][%s:%u -> %s:%u] ", pi->ip_version, src, pi->l4_src_port,
          dst, pi->l4_dst_port);
  appendf(buff, size, n, "[l3_proto=%s][hash=%u][tos=%u][tcp_seq_num=%u] ",
          proto_name(pi->l3_proto, tmp, sizeof(tmp)), h->extended_hdr.pkt_hash, pi->ip_tos,
          pi->tcp.seq_num);
  appendf(buff, size, n, "[caplen=%u][len=%u][eth_offset=%d][l3_offset=%d][l4_offset=%d]"
          "[payload_offset=%d]", h->caplen, h->len, pi->offset.eth_offset,
          pi->offset.l3_offset, pi->offset.l4_offset, pi->offset.payload_offset);
}

PFRING_API int pfring_print_parsed_pkt(char *buff, u_int buff_len, const u_char *p,
                                       const struct pfring_pkthdr *h)
{
  const struct pkt_parsing_info *pi;
  size_t n = 0;

  (void)p;
  if (!buff || buff_len == 0)
    return 0;
  buff[0] = '\0';
  if (!h)
    return 0;
  pi = &h->extended_hdr.parsed_pkt;
  appendf(buff, buff_len, &n, "[" MAC_FMT " -> " MAC_FMT "]", MAC_ARGS(pi->smac),
          MAC_ARGS(pi->dmac));
  if (pi->ip_version == 4 || pi->ip_version == 6) {
    appendf(buff, buff_len, &n, " ");
    print_ip(buff, buff_len, &n, h);
  } else {
    appendf(buff, buff_len, &n, "[eth_type=0x%04X][caplen=%u][len=%u]", pi->eth_type,
            h->caplen, h->len);
  }
  return (int)(n < buff_len ? n : buff_len - 1);
}

PFRING_API int pfring_print_pkt(char *buff, u_int buff_len, const u_char *p, u_int len,
                                u_int caplen)
{
  struct pfring_pkthdr h;

  if (!buff || buff_len == 0)
    return 0;
  buff[0] = '\0';
  if (!p)
    return 0;
  memset(&h, 0, sizeof(h));
  h.len = len;
  h.caplen = caplen;
  pfring_parse_pkt((u_char *)p, &h, 5, 0, 1);    /* reads p, never writes it */
  return pfring_print_parsed_pkt(buff, buff_len, p, &h);
}

/* ------------------------------------------------------------------------ */
/* pfring_format_numbers                                                     */

/* Like strlcpy: as much of src as fits, always terminated. */
static void copy_str(char *dst, size_t size, const char *src)
{
  size_t n = strlen(src);

  if (n >= size)
    n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Copies digits ("1234567" or "2764.36") to out with a ' between groups
 * of three integer digits. */
static void group_thousands(const char *digits, char *out, int negative)
{
  size_t int_len = strcspn(digits, "."), i, o = 0;

  if (negative)
    out[o++] = '-';
  for (i = 0; digits[i]; i++) {
    if (i > 0 && i < int_len && (int_len - i) % 3 == 0)
      out[o++] = '\'';
    out[o++] = digits[i];
  }
  out[o] = '\0';
}

PFRING_API char *pfring_format_numbers(double val, char *buf, u_int buf_len,
                                       u_int8_t add_decimals)
{
  char digits[512], out[720];
  double mag;

  if (!buf || buf_len == 0)
    return buf;
  if (!isfinite(val)) {
    copy_str(buf, buf_len, isnan(val) ? "nan" : (val < 0 ? "-inf" : "inf"));
    return buf;
  }
  mag = val < 0 ? -val : val;
  if (!add_decimals && mag < 4503599627370496.0)   /* 2^52: larger ones are whole */
    mag = (double)(unsigned long long)mag;         /* no decimals: drop the fraction */
  snprintf(digits, sizeof(digits), add_decimals ? "%.2f" : "%.0f", mag);
  /* no "-0" or "-0.00" */
  group_thousands(digits, out, val < 0 && strspn(digits, "0.") != strlen(digits));
  copy_str(buf, buf_len, out);
  return buf;
}
