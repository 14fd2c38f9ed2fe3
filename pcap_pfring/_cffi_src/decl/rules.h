/* Filtering rules (pfring.h, "Filtering rules"; pcap_pfring/rules.py). */
#define FILTERING_RULE_AUTO_RULE_ID ...
#define REFLECTOR_NAME_LEN ...
#define PFRING_MAX_FILTERING_RULES ...
#define FILTER_TUNNEL_ID_FLAG ...
#define FILTER_IPV6_FLAG ...

typedef enum {
  forward_packet_and_stop_rule_evaluation,
  dont_forward_packet_and_stop_rule_evaluation,
  execute_action_and_continue_rule_evaluation,
  execute_action_and_stop_rule_evaluation,
  forward_packet_add_rule_and_stop_rule_evaluation,
  reflect_packet_and_stop_rule_evaluation,
  reflect_packet_and_continue_rule_evaluation,
  bounce_packet_and_stop_rule_evaluation,
  bounce_packet_and_continue_rule_evaluation
} rule_action_behaviour;

typedef struct {
  int32_t if_index;
  u_int8_t smac[6], dmac[6];
  u_int16_t vlan_id;
  u_int16_t eth_type;
  u_int8_t proto;
  ip_addr shost, dhost;
  ip_addr shost_mask, dhost_mask;
  u_int16_t sport_low, sport_high;
  u_int16_t dport_low, dport_high;
  struct { u_int8_t flags; } tcp;
  ...;
} filtering_rule_core_fields;

typedef struct {
  u_int16_t optional_fields;
  char payload_pattern[32];
  ...;
} filtering_rule_extended_fields;

typedef struct {
  u_int16_t rule_id;
  rule_action_behaviour rule_action;
  u_int8_t balance_id, balance_pool;
  u_int8_t locked;
  u_int8_t bidirectional;
  filtering_rule_core_fields core_fields;
  filtering_rule_extended_fields extended_fields;
  char reflector_device_name[8];
  ...;
} filtering_rule;

typedef struct {
  u_int64_t match;
  u_int64_t filtered;
  u_int64_t match_forward;
  u_int32_t inactivity;
  u_int64_t match_bytes;
  u_int64_t last_match_ns;
  ...;
} filtering_rule_stats;

int pfring_add_filtering_rule(pfring *ring, filtering_rule *rule_to_add);
int pfring_remove_filtering_rule(pfring *ring, u_int16_t rule_id);
int pfring_get_filtering_rule_stats(pfring *ring, u_int16_t rule_id, char *stats,
                                    u_int *stats_len);
int pfring_toggle_filtering_policy(pfring *ring, u_int8_t rules_default_accept_policy);
int pfring_purge_idle_rules(pfring *ring, u_int16_t inactivity_sec);
int pfring_rules_program_loads(pfring *ring);

#define PFRING_MAX_HASH_FILTERING_RULES ...

typedef struct {
  u_int16_t rule_id;
  u_int16_t vlan_id;
  u_int8_t ip_version;
  u_int8_t proto;
  ip_addr host_peer_a, host_peer_b;
  u_int16_t port_peer_a, port_peer_b;
  rule_action_behaviour rule_action;
  char reflector_device_name[8];
  ...;
} hash_filtering_rule;

typedef struct {
  u_int64_t match;
  u_int64_t filtered;
  u_int32_t inactivity;
  u_int64_t match_forward;
  u_int64_t match_bytes;
  u_int64_t last_match_ns;
  ...;
} hash_filtering_rule_stats;

int pfring_handle_hash_filtering_rule(pfring *ring, hash_filtering_rule *rule_to_add,
                                      u_char add_rule);
int pfring_get_hash_filtering_rule_stats(pfring *ring, hash_filtering_rule *rule,
                                         char *stats, u_int *stats_len);
int pfring_purge_idle_hash_rules(pfring *ring, u_int16_t inactivity_sec);
