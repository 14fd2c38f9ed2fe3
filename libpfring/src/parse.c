/*
 * parse.c - pfring_parse_pkt and the printing helpers.
 *
 * The parser reads at most hdr->caplen bytes and stops at the last layer
 * that is complete: it never reads past the capture.  Layers: Ethernet with
 * up to 4 VLAN tags (0x8100, 0x88A8, 0x9100) and MPLS, IPv4 (options,
 * fragments), IPv6 (hop-by-hop, routing, fragment, destination options and
 * AH extension headers), TCP/UDP/SCTP ports, ICMP types, and at level 5 the
 * GTP-U/GTP-C, GRE and VXLAN tunnels.  The hash is PF_RING's symmetric sum.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <time.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

#define MAX_VLAN_TAGS  4
#define MAX_MPLS       10
#define MAX_IPV6_EXT   8

struct cursor {
  const u_char *p;
  u_int32_t len;
};

static inline int has(const struct cursor *c, u_int32_t off, u_int32_t n)
{
  return off <= c->len && n <= c->len - off;
}

static inline u_int16_t rd16(const u_char *p) { return (u_int16_t)(p[0] << 8 | p[1]); }
static inline u_int32_t rd32(const u_char *p)
{
  return (u_int32_t)p[0] << 24 | (u_int32_t)p[1] << 16 | (u_int32_t)p[2] << 8 | p[3];
}

struct l3 {            /* what one IP layer gives */
  u_int8_t version, proto, tos;
  ip_addr src, dst;
  u_int16_t sport, dport;
  u_int32_t l4_off, payload_off;
  int frag_later;      /* a non-first fragment: no L4 header */
  int more_frag;
  int has_l4;
  u_int8_t icmp_type, icmp_code, tcp_flags;
  u_int32_t seq, ack;
};

static int parse_ipv4(const struct cursor *c, u_int32_t off, struct l3 *r)
{
  u_int32_t ihl, frag;

  if (!has(c, off, 20) || (c->p[off] >> 4) != 4)
    return -1;
  ihl = (u_int32_t)(c->p[off] & 0x0f) * 4;
  if (ihl < 20 || !has(c, off, ihl))
    return -1;
  r->version = 4;
  r->tos = c->p[off + 1];
  r->proto = c->p[off + 9];
  r->src.v4 = rd32(c->p + off + 12);
  r->dst.v4 = rd32(c->p + off + 16);
  frag = rd16(c->p + off + 6);
  r->more_frag = (frag & 0x2000) != 0;
  r->frag_later = (frag & 0x1fff) != 0;
  r->l4_off = off + ihl;
  return 0;
}

static int parse_ipv6(const struct cursor *c, u_int32_t off, struct l3 *r)
{
  u_int8_t next;
  int i;

  if (!has(c, off, 40) || (c->p[off] >> 4) != 6)
    return -1;
  r->version = 6;
  r->tos = (u_int8_t)(rd16(c->p + off) >> 4);
  memcpy(&r->src.v6, c->p + off + 8, 16);
  memcpy(&r->dst.v6, c->p + off + 24, 16);
  next = c->p[off + 6];
  off += 40;
  for (i = 0; i < MAX_IPV6_EXT; i++) {
    u_int32_t hlen;
    if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51)
      break;
    if (!has(c, off, 8))
      return -1;
    if (next == 44) {
      u_int16_t fo = rd16(c->p + off + 2);
      r->frag_later = (fo & 0xfff8) != 0;
      r->more_frag = (fo & 1) != 0;
      hlen = 8;
    } else if (next == 51) {
      hlen = ((u_int32_t)c->p[off + 1] + 2) * 4;
    } else {
      hlen = ((u_int32_t)c->p[off + 1] + 1) * 8;
    }
    if (!has(c, off, hlen))
      return -1;
    next = c->p[off];
    off += hlen;
  }
  r->proto = next;
  r->l4_off = off;
  return 0;
}

static void parse_l4(const struct cursor *c, struct l3 *r)
{
  u_int32_t off = r->l4_off;

  r->payload_off = off;
  if (r->frag_later)
    return;
  switch (r->proto) {
  case 6:                                      /* TCP */
    if (!has(c, off, 20))
      return;
    r->sport = rd16(c->p + off);
    r->dport = rd16(c->p + off + 2);
    r->seq = rd32(c->p + off + 4);
    r->ack = rd32(c->p + off + 8);
    r->tcp_flags = c->p[off + 13];
    r->payload_off = off + (u_int32_t)(c->p[off + 12] >> 4) * 4;
    r->has_l4 = 1;
    break;
  case 17: case 132:                           /* UDP, SCTP */
    if (!has(c, off, r->proto == 17 ? 8 : 12))
      return;
    r->sport = rd16(c->p + off);
    r->dport = rd16(c->p + off + 2);
    r->payload_off = off + (r->proto == 17 ? 8 : 12);
    r->has_l4 = 1;
    break;
  case 1: case 58:                             /* ICMP, ICMPv6 */
    if (!has(c, off, 4))
      return;
    r->icmp_type = c->p[off];
    r->icmp_code = c->p[off + 1];
    r->payload_off = off + 8;
    r->has_l4 = 1;
    break;
  }
}

/* An IP header at off, by its version nibble. */
static int parse_ip(const struct cursor *c, u_int32_t off, struct l3 *r)
{
  if (!has(c, off, 1))
    return -1;
  if ((c->p[off] >> 4) == 4)
    return parse_ipv4(c, off, r);
  if ((c->p[off] >> 4) == 6)
    return parse_ipv6(c, off, r);
  return -1;
}

/* Tunnels: returns 1 and fills inner/tunnel_id when one was parsed. */
static int parse_tunnel(const struct cursor *c, const struct l3 *outer, struct l3 *inner,
                        u_int32_t *tunnel_id)
{
  u_int32_t off = outer->payload_off;

  memset(inner, 0, sizeof(*inner));
  if (outer->proto == 17 && outer->has_l4 && (outer->dport == 2152 || outer->sport == 2152 ||
                                               outer->dport == 2123 || outer->sport == 2123)) {
    u_int8_t flags;
    if (!has(c, off, 8))
      return 0;
    flags = c->p[off];
    if ((flags >> 5) != 1 || c->p[off + 1] != 0xff)   /* GTPv1, G-PDU only */
      return 0;
    *tunnel_id = rd32(c->p + off + 4);
    off += 8;
    if (flags & 0x07) {                               /* E, S or PN: 4 more bytes */
      u_int8_t next;
      int i;
      if (!has(c, off, 4))
        return 0;
      next = c->p[off + 3];
      off += 4;
      for (i = 0; next && i < 4; i++) {               /* extension headers */
        u_int32_t elen;
        if (!has(c, off, 1))
          return 0;
        elen = (u_int32_t)c->p[off] * 4;
        if (elen == 0 || !has(c, off, elen))
          return 0;
        next = c->p[off + elen - 1];
        off += elen;
      }
    }
    if (parse_ip(c, off, inner) < 0)
      return 0;
  } else if (outer->proto == 17 && outer->has_l4 && outer->dport == 4789) {
    u_int16_t et;
    if (!has(c, off, 8 + 14))
      return 0;
    *tunnel_id = rd32(c->p + off + 4) >> 8;
    off += 8 + 14;
    et = rd16(c->p + off - 2);
    if ((et != 0x0800 && et != 0x86DD) || parse_ip(c, off, inner) < 0)
      return 0;
  } else if (outer->proto == 47 && !outer->frag_later) {
    u_int16_t gflags, proto;
    if (!has(c, off, 4))
      return 0;
    gflags = rd16(c->p + off);
    proto = rd16(c->p + off + 2);
    if (gflags & 0x0007)                              /* version 0 only */
      return 0;
    off += 4;
    if (gflags & 0x8000)
      off += 4;                                       /* checksum */
    *tunnel_id = NO_TUNNEL_ID;
    if (gflags & 0x2000) {
      if (!has(c, off, 4))
        return 0;
      *tunnel_id = rd32(c->p + off);
      off += 4;
    }
    if (gflags & 0x1000)
      off += 4;                                       /* sequence */
    if (proto == 0x6558) {                            /* transparent Ethernet */
      if (!has(c, off, 14))
        return 0;
      proto = rd16(c->p + off + 12);
      off += 14;
    }
    if ((proto != 0x0800 && proto != 0x86DD) || parse_ip(c, off, inner) < 0)
      return 0;
  } else {
    return 0;
  }
  parse_l4(c, inner);
  return 1;
}

static u_int32_t sum_hash(u_int16_t vlan, const struct l3 *r)
{
  u_int32_t h = vlan + r->proto + r->sport + r->dport;
  int i;

  if (r->version == 4) {
    h += r->src.v4 + r->dst.v4;
  } else if (r->version == 6) {
    for (i = 0; i < 4; i++) {
      u_int32_t a, b;
      memcpy(&a, (const u_char *)&r->src.v6 + 4 * i, 4);
      memcpy(&b, (const u_char *)&r->dst.v6 + 4 * i, 4);
      h += a + b;
    }
  }
  return h;
}

PFRING_API int pfring_parse_pkt(u_char *pkt, struct pfring_pkthdr *hdr, u_int8_t level,
                                u_int8_t add_timestamp, u_int8_t add_hash)
{
  struct pkt_parsing_info *pi;
  struct cursor c;
  struct l3 r, inner;
  u_int32_t off = 14, tid = NO_TUNNEL_ID;
  u_int16_t et;
  int i, done = 0;

  if (!pkt || !hdr)
    return 0;
  pi = &hdr->extended_hdr.parsed_pkt;
  memset(pi, 0, sizeof(*pi));
  pi->tunnel.tunnel_id = NO_TUNNEL_ID;
  pi->last_matched_rule_id = -1;
  hdr->extended_hdr.flags &= ~(PKT_FLAGS_IP_MORE_FRAG | PKT_FLAGS_IP_FRAG_OFFSET);
  if (add_timestamp && hdr->ts.tv_sec == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hdr->ts.tv_sec = ts.tv_sec;
    hdr->ts.tv_usec = ts.tv_nsec / 1000;
    hdr->extended_hdr.timestamp_ns = (u_int64_t)ts.tv_sec * 1000000000ull + (u_int64_t)ts.tv_nsec;
  }
  c.p = pkt;
  c.len = hdr->caplen;
  if (!has(&c, 0, 14))
    return 0;
  memcpy(pi->dmac, pkt, 6);
  memcpy(pi->smac, pkt + 6, 6);
  et = rd16(pkt + 12);
  for (i = 0; i < MAX_VLAN_TAGS && (et == 0x8100 || et == 0x88A8 || et == 0x9100); i++) {
    if (!has(&c, off, 4))
      break;
    if (i == 0) {
      pi->vlan_id = rd16(pkt + off) & 0x0fff;
      pi->offset.vlan_offset = (int16_t)(off - 2);
    } else if (i == 1) {
      pi->qinq_vlan_id = rd16(pkt + off) & 0x0fff;
    }
    et = rd16(pkt + off + 2);
    off += 4;
  }
  if (et == 0x8847 || et == 0x8848) {             /* MPLS: skip to bottom of stack */
    for (i = 0; i < MAX_MPLS && has(&c, off, 4); i++) {
      int bottom = pkt[off + 2] & 1;
      off += 4;
      if (bottom)
        break;
    }
    et = (has(&c, off, 1) && (pkt[off] >> 4) == 6) ? 0x86DD : 0x0800;
  }
  pi->eth_type = et;
  pi->offset.l3_offset = (int16_t)off;
  done = 2;
  memset(&r, 0, sizeof(r));
  if (level < 3 || (et != 0x0800 && et != 0x86DD) || parse_ip(&c, off, &r) < 0)
    goto out;
  pi->ip_version = r.version;
  pi->l3_proto = r.proto;
  pi->ip_tos = r.tos;
  pi->ip_src = r.src;
  pi->ip_dst = r.dst;
  pi->offset.l4_offset = (int16_t)r.l4_off;
  if (r.more_frag)
    hdr->extended_hdr.flags |= PKT_FLAGS_IP_MORE_FRAG;
  if (r.frag_later)
    hdr->extended_hdr.flags |= PKT_FLAGS_IP_FRAG_OFFSET;
  done = 3;
  if (level < 4)
    goto out;
  parse_l4(&c, &r);
  pi->l4_src_port = r.sport;
  pi->l4_dst_port = r.dport;
  pi->icmp_type = r.icmp_type;
  pi->icmp_code = r.icmp_code;
  pi->tcp.flags = r.tcp_flags;
  pi->tcp.seq_num = r.seq;
  pi->tcp.ack_num = r.ack;
  pi->offset.payload_offset = (int16_t)r.payload_off;
  if (r.has_l4 || r.frag_later)
    done = 4;
  if (level >= 5 && parse_tunnel(&c, &r, &inner, &tid)) {
    pi->tunnel.tunnel_id = tid;
    pi->tunnel.tunneled_ip_version = inner.version;
    pi->tunnel.tunneled_proto = inner.proto;
    pi->tunnel.tunneled_ip_src = inner.src;
    pi->tunnel.tunneled_ip_dst = inner.dst;
    pi->tunnel.tunneled_l4_src_port = inner.sport;
    pi->tunnel.tunneled_l4_dst_port = inner.dport;
    done = 5;
  }
out:
  if (add_hash)
    hdr->extended_hdr.pkt_hash = sum_hash(pi->vlan_id, done == 5 ? &inner : &r);
  return done;
}

/* ------------------------------------------------------------------------ */
/* Printing                                                                  */

static const char *proto_name(u_int8_t p)
{
  switch (p) {
  case 1: return "ICMP";
  case 6: return "TCP";
  case 17: return "UDP";
  case 47: return "GRE";
  case 58: return "ICMPv6";
  case 132: return "SCTP";
  default: return NULL;
  }
}

static void ip_str(u_int8_t version, const ip_addr *a, char *out, size_t len)
{
  if (version == 4)
    snprintf(out, len, "%u.%u.%u.%u", a->v4 >> 24, (a->v4 >> 16) & 0xff, (a->v4 >> 8) & 0xff,
             a->v4 & 0xff);
  else
    inet_ntop(AF_INET6, &a->v6, out, (socklen_t)len);
}

#define MAC_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

PFRING_API int pfring_print_parsed_pkt(char *buff, u_int buff_len, const u_char *p,
                                       const struct pfring_pkthdr *h)
{
  const struct pkt_parsing_info *pi;
  char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], proto[16];
  size_t n = 0;

  (void)p;
  if (!buff || buff_len == 0 || !h)
    return 0;
  pi = &h->extended_hdr.parsed_pkt;
#define OUT(...) do { if (n < buff_len) n += (size_t)snprintf(buff + n, buff_len - n, __VA_ARGS__); } while (0)
  OUT("[" MAC_FMT " -> " MAC_FMT "] ", MAC_ARGS(pi->smac), MAC_ARGS(pi->dmac));
  if (pi->vlan_id)
    OUT("[vlan %u] ", pi->vlan_id);
  if (pi->ip_version == 4 || pi->ip_version == 6) {
    ip_str(pi->ip_version, &pi->ip_src, src, sizeof(src));
    ip_str(pi->ip_version, &pi->ip_dst, dst, sizeof(dst));
    if (proto_name(pi->l3_proto))
      snprintf(proto, sizeof(proto), "%s", proto_name(pi->l3_proto));
    else
      snprintf(proto, sizeof(proto), "%u", pi->l3_proto);
    OUT("[IPv%u][%s:%u -> %s:%u] [l3_proto=%s][hash=%u][tos=%u][tcp_seq_num=%u] ",
        pi->ip_version, src, pi->l4_src_port, dst, pi->l4_dst_port, proto,
        h->extended_hdr.pkt_hash, pi->ip_tos, pi->tcp.seq_num);
    OUT("[caplen=%u][len=%u][eth_offset=%d][l3_offset=%d][l4_offset=%d][payload_offset=%d]",
        h->caplen, h->len, pi->offset.eth_offset, pi->offset.l3_offset, pi->offset.l4_offset,
        pi->offset.payload_offset);
  } else {
    n = 0;
    OUT("[" MAC_FMT " -> " MAC_FMT "][eth_type=0x%04X][caplen=%u][len=%u]",
        MAC_ARGS(pi->smac), MAC_ARGS(pi->dmac), pi->eth_type, h->caplen, h->len);
  }
#undef OUT
  return (int)(n < buff_len ? n : buff_len - 1);
}

PFRING_API int pfring_print_pkt(char *buff, u_int buff_len, const u_char *p, u_int len,
                                u_int caplen)
{
  struct pfring_pkthdr h;

  if (!p)
    return 0;
  memset(&h, 0, sizeof(h));
  h.len = len;
  h.caplen = caplen;
  pfring_parse_pkt((u_char *)p, &h, 5, 0, 1);
  return pfring_print_parsed_pkt(buff, buff_len, p, &h);
}

PFRING_API char *pfring_format_numbers(double val, char *buf, u_int buf_len, u_int8_t add_decimals)
{
  char digits[64], out[96];
  unsigned long long whole;
  double v = val < 0 ? -val : val;
  size_t len, i, o = 0;

  if (!buf || buf_len == 0)
    return buf;
  if (add_decimals)
    v = (double)(unsigned long long)(v * 100 + 0.5) / 100;
  whole = (unsigned long long)v;
  len = (size_t)snprintf(digits, sizeof(digits), "%llu", whole);
  if (val < 0 && (whole || (add_decimals && v > 0)))
    out[o++] = '-';
  for (i = 0; i < len; i++) {
    if (i && (len - i) % 3 == 0)
      out[o++] = '\'';
    out[o++] = digits[i];
  }
  if (add_decimals)
    o += (size_t)snprintf(out + o, sizeof(out) - o, ".%02u",
                          (unsigned)((v - (double)whole) * 100 + 0.5) % 100);
  out[o] = '\0';
  snprintf(buf, buf_len, "%s", out);
  return buf;
}
