/*
 * hw_encode.c - a hardware rule (hw_filtering_rule) as the ethtool n-tuple
 * request that installs it (ETHTOOL_SRXCLSRLINS, struct ethtool_rxnfc):
 * the checks and the encoding, with no ring and no system call, so that
 * the unit tests build it alone (tests/unit/c/hw_encode.c).
 *
 *   flow_type    proto 6 TCP_V4_FLOW, 17 UDP_V4_FLOW, 132 SCTP_V4_FLOW
 *                (tcp_ip4_spec: addresses and ports); any other proto
 *                IP_USER_FLOW (usr_ip4_spec: addresses and the protocol,
 *                0 = any IPv4 packet); | FLOW_EXT with a VLAN id
 *   h_u / m_u    each non-zero field in network order with a full mask,
 *                zero fields with mask 0 (wildcards)
 *   h_ext/m_ext  a perfect filter's VLAN id, mask 0x0FFF (the priority
 *                bits are not compared)
 *   ring_cookie  the queue, or RX_CLS_FLOW_DISC for PFRING_HW_RULE_DROP_QUEUE
 *   location     rule_id
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>

#include "pfring_int.h"

static int has_ports(u_int8_t proto)
{
  return proto == 6 || proto == 17 || proto == 132;
}

int pfringint_hw_rule_encode(const hw_filtering_rule *rule, int num_queues,
                             struct ethtool_rxnfc *cmd, char *err, size_t errlen)
{
  struct ethtool_rx_flow_spec *fs = &cmd->fs;
  u_int32_t saddr, daddr;
  u_int16_t sport, dport, queue, vlan = 0;
  u_int8_t proto;
  int type = (int)rule->rule_family_type;

  switch (type) {
  case intel_82599_five_tuple_rule: {
    const intel_82599_five_tuple_filter_hw_rule *r = &rule->rule_family.five_tuple_rule;
    proto = r->proto, saddr = r->s_addr, daddr = r->d_addr;
    sport = r->s_port, dport = r->d_port, queue = r->queue_id;
    break;
  }
  case intel_82599_perfect_filter_rule: {
    const intel_82599_perfect_filter_hw_rule *r = &rule->rule_family.perfect_rule;
    proto = r->proto, saddr = r->s_addr, daddr = r->d_addr;
    sport = r->s_port, dport = r->d_port, queue = r->queue_id, vlan = r->vlan_id;
    if (vlan > 4095) {
      snprintf(err, errlen, "perfect_rule.vlan_id %u is over 4095", vlan);
      return PF_RING_ERROR_INVALID_ARGUMENT;
    }
    break;
  }
  case silicom_redirector_rule:
    snprintf(err, errlen, "silicom_redirector_rule needs a Silicom redirector switch, "
             "which libpfring does not drive");
    return PF_RING_ERROR_NOT_SUPPORTED;
  default:
    snprintf(err, errlen, "rule_family_type %d is not a hw_filtering_rule_type "
             "(0 intel_82599_five_tuple_rule, 1 intel_82599_perfect_filter_rule, "
             "2 silicom_redirector_rule)", type);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  if ((sport || dport) && !has_ports(proto)) {
    snprintf(err, errlen, "ports need proto 6 (TCP), 17 (UDP) or 132 (SCTP), not %u", proto);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  if (queue != PFRING_HW_RULE_DROP_QUEUE && num_queues > 0 && queue >= num_queues) {
    snprintf(err, errlen, "queue_id %u: the device has %d RX queue%s (0..%d, or 0xFFFF "
             "to drop)", queue, num_queues, num_queues == 1 ? "" : "s", num_queues - 1);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  memset(cmd, 0, sizeof(*cmd));
  cmd->cmd = ETHTOOL_SRXCLSRLINS;
  fs->location = rule->rule_id;
  fs->ring_cookie = queue == PFRING_HW_RULE_DROP_QUEUE ? RX_CLS_FLOW_DISC : queue;
  if (has_ports(proto)) {
    struct ethtool_tcpip4_spec *h = &fs->h_u.tcp_ip4_spec, *m = &fs->m_u.tcp_ip4_spec;
    fs->flow_type = proto == 6 ? TCP_V4_FLOW : proto == 17 ? UDP_V4_FLOW : SCTP_V4_FLOW;
    h->ip4src = htonl(saddr), m->ip4src = saddr ? 0xFFFFFFFFu : 0;
    h->ip4dst = htonl(daddr), m->ip4dst = daddr ? 0xFFFFFFFFu : 0;
    h->psrc = htons(sport), m->psrc = sport ? 0xFFFF : 0;
    h->pdst = htons(dport), m->pdst = dport ? 0xFFFF : 0;
  } else {
    struct ethtool_usrip4_spec *h = &fs->h_u.usr_ip4_spec, *m = &fs->m_u.usr_ip4_spec;
    fs->flow_type = IP_USER_FLOW;
    h->ip_ver = ETH_RX_NFC_IP4;
    h->ip4src = htonl(saddr), m->ip4src = saddr ? 0xFFFFFFFFu : 0;
    h->ip4dst = htonl(daddr), m->ip4dst = daddr ? 0xFFFFFFFFu : 0;
    h->proto = proto, m->proto = proto ? 0xFF : 0;
  }
  if (vlan) {
    fs->flow_type |= FLOW_EXT;
    fs->h_ext.vlan_tci = htons(vlan);
    fs->m_ext.vlan_tci = htons(0x0FFF);     /* the id; the priority is ignored */
  }
  return 0;
}
