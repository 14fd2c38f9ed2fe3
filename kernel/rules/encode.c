/*
 * encode.c - a filtering_rule (pfring.h) checked and turned into the form
 * the rules program reads (struct pfring_rules_wild, pfring_rules.h).  No
 * system call: the unit tests build this file alone.
 *
 * Zero fields are "any", as PF_RING's guide says.  What is refused, each
 * with a message that names the field:
 *   an unknown action; tunnel hosts (only the tunnel id is matched); a
 *   balance_id without a balance_pool or not below it
 *   a payload_pattern without its NUL within the 32 bytes (so longer than
 *   PFRING_RULES_PATTERN_MAX)
 *   a VLAN id over 4095, a negative if_index
 *   a host without its mask, a mask that is not a contiguous prefix, host
 *   bits outside the mask
 *   sport_low/dport_low without a high end (high 0 means any port), and an
 *   inverted range (low > high)
 * IPv4 or IPv6: FILTER_IPV6_FLAG, or any byte past the first 4 of a host
 * or mask, makes the rule's hosts IPv6; otherwise they are IPv4 (.v4, host
 * order).  A rule with a host matches packets of its family only.
 * payload_pattern: its bytes up to the NUL, none = any (the program
 * searches the payload for them, pfring_rules.bpf.c).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pfring_int.h"
#include "pfring_rules.h"

static const char *const action_names[] = {
  "forward_packet_and_stop_rule_evaluation",
  "dont_forward_packet_and_stop_rule_evaluation",
  "execute_action_and_continue_rule_evaluation",
  "execute_action_and_stop_rule_evaluation",
  "forward_packet_add_rule_and_stop_rule_evaluation",
  "reflect_packet_and_stop_rule_evaluation",
  "reflect_packet_and_continue_rule_evaluation",
  "bounce_packet_and_stop_rule_evaluation",
  "bounce_packet_and_continue_rule_evaluation",
  "forward_packet_del_rule_and_stop_rule_evaluation",
};

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return rc;
}

static int nonzero(const u_int8_t *b, size_t from, size_t to)
{
  size_t i;

  for (i = from; i < to; i++)
    if (b[i])
      return 1;
  return 0;
}

/* A contiguous prefix: ones, then zeros, over n bytes. */
static int contiguous(const u_int8_t *m, size_t n)
{
  size_t i;
  int seen_zero = 0;
  u_int8_t bit;

  for (i = 0; i < n; i++)
    for (bit = 0x80; bit; bit >>= 1) {
      if (!(m[i] & bit))
        seen_zero = 1;
      else if (seen_zero)
        return 0;
    }
  return 1;
}

/* One host and its mask into network-order words; returns 0 or the error. */
static int host(const char *name, const ip_addr *h, const ip_addr *m, int v6, u_int32_t *out,
                u_int32_t *out_mask, int *used, char *err, size_t len)
{
  u_int8_t hb[16], mb[16];
  char text[INET6_ADDRSTRLEN], msg[160];
  size_t i, n = v6 ? 16 : 4;
  u_int32_t v;

  memset(hb, 0, sizeof(hb));
  memset(mb, 0, sizeof(mb));
  if (v6) {
    memcpy(hb, &h->v6, 16);
    memcpy(mb, &m->v6, 16);
  } else {
    v = htonl(h->v4);
    memcpy(hb, &v, 4);
    v = htonl(m->v4);
    memcpy(mb, &v, 4);
  }
  *used = nonzero(hb, 0, n) || nonzero(mb, 0, n);
  if (!*used)
    return 0;
  if (!nonzero(mb, 0, n)) {
    snprintf(msg, sizeof(msg), "core_fields.%s is set without core_fields.%s_mask", name, name);
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT, "%s", msg);
  }
  if (!contiguous(mb, n)) {
    inet_ntop(v6 ? AF_INET6 : AF_INET, mb, text, sizeof(text));
    snprintf(msg, sizeof(msg), "core_fields.%s_mask %s is not a contiguous mask", name, text);
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT, "%s", msg);
  }
  for (i = 0; i < n; i++)
    if (hb[i] & ~mb[i]) {
      inet_ntop(v6 ? AF_INET6 : AF_INET, hb, text, sizeof(text));
      snprintf(msg, sizeof(msg), "core_fields.%s %s has bits outside core_fields.%s_mask",
               name, text, name);
      return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT, "%s", msg);
    }
  memcpy(out, hb, 16);
  memcpy(out_mask, mb, 16);
  return 0;
}

static int ports(const char *name, u_int16_t low, u_int16_t high, int *used, char *err,
                 size_t len)
{
  char msg[160];

  *used = high != 0;
  if (high == 0 && low != 0) {
    snprintf(msg, sizeof(msg), "core_fields.%s_low %u without core_fields.%s_high "
             "(a high of 0 means any port)", name, low, name);
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT, "%s", msg);
  }
  if (high != 0 && low > high) {
    snprintf(msg, sizeof(msg), "inverted port range: core_fields.%s_low %u > "
             "core_fields.%s_high %u", name, low, name, high);
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT, "%s", msg);
  }
  return 0;
}

const char *pfringint_rule_action_name(int action)
{
  if (action < 0 || action >= (int)(sizeof(action_names) / sizeof(action_names[0])))
    return NULL;
  return action_names[action];
}

int pfringint_rule_encode(const filtering_rule *r, struct pfring_rules_wild *w, char *err,
                          size_t len)
{
  const filtering_rule_core_fields *c = &r->core_fields;
  const filtering_rule_extended_fields *x = &r->extended_fields;
  static const u_int8_t zero_mac[6];
  int v6, used, rc;
  size_t n;

  memset(w, 0, sizeof(*w));
  w->rule_id = r->rule_id;
  if ((int)r->rule_action < 0 || (int)r->rule_action > forward_packet_del_rule_and_stop_rule_evaluation)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "rule_action %u is not a rule_action_behaviour (0..%u)",
                (unsigned)r->rule_action,
                (unsigned)forward_packet_del_rule_and_stop_rule_evaluation);
  /* The program's action numbers are rule_action_behaviour's; the
   * reflector device of reflect is resolved and checked by the caller
   * (rules.c), in the ring's namespace. */
  w->action = (u_int8_t)r->rule_action;
  if (r->balance_id && !r->balance_pool)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "balance_id %u without a balance_pool", r->balance_id);
  if (r->balance_pool && r->balance_id >= r->balance_pool)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "balance_id %u is not below balance_pool %u (members 0..%u)", r->balance_id,
                r->balance_pool, r->balance_pool - 1);
  w->balance_id = r->balance_id;
  w->balance_pool = r->balance_pool;
  n = strnlen(x->payload_pattern, sizeof(x->payload_pattern));
  if (n > PFRING_RULES_PATTERN_MAX)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "extended_fields.payload_pattern is not NUL-terminated within its %zu bytes "
                "(a pattern has at most %d)", sizeof(x->payload_pattern),
                PFRING_RULES_PATTERN_MAX);
  if (n) {
    w->flags |= PFRING_RULE_PATTERN;
    w->pattern_len = (u_int8_t)n;
    memcpy(w->pattern, x->payload_pattern, n);
  }
  if (nonzero((const u_int8_t *)&x->tunnel.shost, 0, sizeof(x->tunnel.shost)) ||
      nonzero((const u_int8_t *)&x->tunnel.dhost, 0, sizeof(x->tunnel.dhost)) ||
      nonzero((const u_int8_t *)&x->tunnel.shost_mask, 0, sizeof(x->tunnel.shost_mask)) ||
      nonzero((const u_int8_t *)&x->tunnel.dhost_mask, 0, sizeof(x->tunnel.dhost_mask)))
    return fail(err, len, PF_RING_ERROR_NOT_SUPPORTED,
                "extended_fields.tunnel hosts are not supported (a rule matches the tunnel "
                "id, with FILTER_TUNNEL_ID_FLAG)");
  if (x->optional_fields & FILTER_TUNNEL_ID_FLAG) {
    w->flags |= PFRING_RULE_TUNNEL;
    w->tunnel_id = x->tunnel.tunnel_id;
  }
  if (x->optional_fields & ~(FILTER_TUNNEL_ID_FLAG | FILTER_IPV6_FLAG))
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "extended_fields.optional_fields 0x%x has unknown flags",
                x->optional_fields);
  if (r->bidirectional > 1)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "bidirectional %u is not 0 or 1", r->bidirectional);
  if (r->bidirectional)
    w->flags |= PFRING_RULE_BIDIR;

  if (c->if_index < 0)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "core_fields.if_index %d is negative", c->if_index);
  if (c->if_index) {
    w->flags |= PFRING_RULE_IFINDEX;
    w->ifindex = c->if_index;
  }
  if (memcmp(c->smac, zero_mac, 6)) {
    w->flags |= PFRING_RULE_SMAC;
    memcpy(w->smac, c->smac, 6);
  }
  if (memcmp(c->dmac, zero_mac, 6)) {
    w->flags |= PFRING_RULE_DMAC;
    memcpy(w->dmac, c->dmac, 6);
  }
  if (c->vlan_id > 4095)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "core_fields.vlan_id %u is out of range (1..4095, 0 = any)", c->vlan_id);
  if (c->vlan_id) {
    w->flags |= PFRING_RULE_VLAN;
    w->vlan_id = c->vlan_id;
  }
  if (c->eth_type) {
    w->flags |= PFRING_RULE_ETH_TYPE;
    w->eth_type = c->eth_type;
  }
  if (c->proto) {
    w->flags |= PFRING_RULE_PROTO;
    w->proto = c->proto;
  }
  if (c->tcp.flags) {
    w->flags |= PFRING_RULE_TCP_FLAGS;
    w->tcp_flags = c->tcp.flags;
  }

  v6 = (x->optional_fields & FILTER_IPV6_FLAG) != 0;
  v6 = v6 || nonzero((const u_int8_t *)&c->shost, 4, 16) ||
       nonzero((const u_int8_t *)&c->dhost, 4, 16) ||
       nonzero((const u_int8_t *)&c->shost_mask, 4, 16) ||
       nonzero((const u_int8_t *)&c->dhost_mask, 4, 16);
  if ((rc = host("shost", &c->shost, &c->shost_mask, v6, w->shost, w->shost_mask, &used,
                 err, len)) < 0)
    return rc;
  if (used)
    w->flags |= PFRING_RULE_SHOST;
  if ((rc = host("dhost", &c->dhost, &c->dhost_mask, v6, w->dhost, w->dhost_mask, &used,
                 err, len)) < 0)
    return rc;
  if (used)
    w->flags |= PFRING_RULE_DHOST;
  if (w->flags & (PFRING_RULE_SHOST | PFRING_RULE_DHOST))
    w->flags |= v6 ? PFRING_RULE_IPV6 : PFRING_RULE_IPV4;

  if ((rc = ports("sport", c->sport_low, c->sport_high, &used, err, len)) < 0)
    return rc;
  if (used) {
    w->flags |= PFRING_RULE_SPORT;
    w->sport_low = c->sport_low;
    w->sport_high = c->sport_high;
  }
  if ((rc = ports("dport", c->dport_low, c->dport_high, &used, err, len)) < 0)
    return rc;
  if (used) {
    w->flags |= PFRING_RULE_DPORT;
    w->dport_low = c->dport_low;
    w->dport_high = c->dport_high;
  }
  return 0;
}

/* A hash rule: ip_version 4 or 6, a VLAN id up to 4095, an action the
 * program knows (any but the add-rule one, which makes hash rules), both
 * hosts set. */
int pfringint_hash_rule_encode(const hash_filtering_rule *r, struct pfring_rules_hkey *k,
                               u_int8_t *action, char *err, size_t len)
{
  u_int32_t a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};

  memset(k, 0, sizeof(*k));
  if (r->ip_version != 4 && r->ip_version != 6)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "ip_version %u is not 4 or 6", r->ip_version);
  if (r->vlan_id > 4095)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "vlan_id %u is out of range (0..4095, 0 = untagged)", r->vlan_id);
  if ((int)r->rule_action < 0 || (int)r->rule_action > forward_packet_del_rule_and_stop_rule_evaluation)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "rule_action %u is not a rule_action_behaviour (0..%u)",
                (unsigned)r->rule_action,
                (unsigned)forward_packet_del_rule_and_stop_rule_evaluation);
  if (r->rule_action == forward_packet_add_rule_and_stop_rule_evaluation ||
      r->rule_action == forward_packet_del_rule_and_stop_rule_evaluation)
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "rule_action %s is for wildcard rules (it %s hash rules)",
                action_names[r->rule_action],
                r->rule_action == forward_packet_add_rule_and_stop_rule_evaluation ? "adds"
                                                                                    : "removes");
  if (r->ip_version == 4) {
    a[0] = htonl(r->host_peer_a.v4);
    b[0] = htonl(r->host_peer_b.v4);
  } else {
    memcpy(a, &r->host_peer_a.v6, 16);
    memcpy(b, &r->host_peer_b.v6, 16);
  }
  if (!nonzero((const u_int8_t *)a, 0, 16))
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "host_peer_a is not set (a hash rule matches one flow exactly)");
  if (!nonzero((const u_int8_t *)b, 0, 16))
    return fail(err, len, PF_RING_ERROR_INVALID_ARGUMENT,
                "host_peer_b is not set (a hash rule matches one flow exactly)");
  pfring_rules_hkey_make(k, r->vlan_id, r->ip_version, r->proto, a, r->port_peer_a, b,
                         r->port_peer_b);
  *action = (u_int8_t)r->rule_action;
  return 0;
}

/* The form of a classic filter that the rules program runs natively
 * (PFRING_RULES_NATIVE_*, pfring_rules.h), with what it returns for a kept
 * packet in *snap; PFRING_RULES_NATIVE_NONE for every other program. */
int pfringint_rules_native(const struct sock_filter *f, u_int32_t len, u_int32_t *snap)
{
  const u_int16_t ld_pkttype = BPF_LD | BPF_W | BPF_ABS, jeq = BPF_JMP | BPF_JEQ | BPF_K;
  const u_int16_t ret = BPF_RET | BPF_K;

  *snap = 0;
  if (len == 1 && f[0].code == ret) {
    *snap = f[0].k;
    return PFRING_RULES_NATIVE_ALL;
  }
  /* ld pkttype; jeq #PACKET_OUTGOING jt/jf the ret #0; ret #0; ret #k */
  if (len == 4 && f[0].code == ld_pkttype && f[0].k == (u_int32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE) &&
      f[1].code == jeq && f[1].k == 4 && f[2].code == ret && f[2].k == 0 && f[3].code == ret) {
    *snap = f[3].k;
    if (f[1].jt == 0 && f[1].jf == 1)
      return PFRING_RULES_NATIVE_RX;
    if (f[1].jt == 1 && f[1].jf == 0)
      return PFRING_RULES_NATIVE_TX;
  }
  *snap = 0;
  return PFRING_RULES_NATIVE_NONE;
}
