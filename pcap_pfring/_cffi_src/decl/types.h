/* Types, structs and constants of pfring.h that Python sees.  Layouts come
 * from the compiler ("...;"), so the packed structs need no care here. */
typedef unsigned char u_char;
typedef unsigned int u_int;
typedef uint8_t u_int8_t;
typedef uint16_t u_int16_t;
typedef uint32_t u_int32_t;
typedef uint64_t u_int64_t;

struct timeval { long tv_sec; long tv_usec; ...; };
struct timespec { long tv_sec; long tv_nsec; ...; };

#define MAX_CAPLEN ...
#define DEFAULT_POLL_DURATION ...
#define MAX_NUM_RX_CHANNELS ...
#define RING_ANY_VLAN ...
#define RING_NO_VLAN ...
#define RING_VERSION_NUM ...
#define NO_TUNNEL_ID ...
#define PFRING_ERRBUF_SIZE ...

#define PF_RING_ZC_SYMMETRIC_RSS ...
#define PF_RING_REENTRANT ...
#define PF_RING_LONG_HEADER ...
#define PF_RING_PROMISC ...
#define PF_RING_TIMESTAMP ...
#define PF_RING_HW_TIMESTAMP ...
#define PF_RING_RX_PACKET_BOUNCE ...
#define PF_RING_STRIP_HW_TIMESTAMP ...
#define PF_RING_DO_NOT_PARSE ...
#define PF_RING_DO_NOT_TIMESTAMP ...
#define PF_RING_USERSPACE_BPF ...

#define PKT_FLAGS_IP_MORE_FRAG ...
#define PKT_FLAGS_IP_FRAG_OFFSET ...
#define PKT_FLAGS_VLAN_HWACCEL ...

typedef enum { rx_and_tx_direction, rx_only_direction, tx_only_direction } packet_direction;
typedef enum { send_and_recv_mode, send_only_mode, recv_only_mode,
               management_only_mode } socket_mode;
typedef enum {
  cluster_per_flow, cluster_round_robin, cluster_per_flow_2_tuple,
  cluster_per_flow_4_tuple, cluster_per_flow_5_tuple, cluster_per_flow_tcp_5_tuple,
  cluster_per_inner_flow, cluster_per_inner_flow_2_tuple, cluster_per_inner_flow_4_tuple,
  cluster_per_inner_flow_5_tuple, cluster_per_inner_flow_tcp_5_tuple,
  cluster_per_flow_ip_5_tuple, cluster_per_inner_flow_ip_5_tuple,
  cluster_per_flow_ip_with_dup_tuple
} cluster_type;

struct in6_addr { ...; };
typedef union { struct in6_addr v6; u_int32_t v4; ...; } ip_addr;

struct pkt_offset {
  int16_t eth_offset; int16_t vlan_offset; int16_t l3_offset;
  int16_t l4_offset; int16_t payload_offset; ...;
};

struct tunnel_info {
  u_int32_t tunnel_id;
  u_int8_t tunneled_ip_version;
  u_int8_t tunneled_proto;
  ip_addr tunneled_ip_src, tunneled_ip_dst;
  u_int16_t tunneled_l4_src_port, tunneled_l4_dst_port;
  ...;
};


struct pkt_parsing_info {
  u_int8_t dmac[6], smac[6];
  u_int16_t eth_type, vlan_id, qinq_vlan_id;
  u_int8_t ip_version, l3_proto, ip_tos;
  ip_addr ip_src, ip_dst;
  u_int16_t l4_src_port, l4_dst_port;
  u_int8_t icmp_type, icmp_code;
  struct tunnel_info tunnel;
  int32_t last_matched_rule_id;
  struct pkt_offset offset;
  ...;
};

struct pfring_extended_pkthdr {
  u_int64_t timestamp_ns;
  u_int32_t flags;
  u_int8_t rx_direction;
  u_int8_t port_id;
  u_int16_t device_id;
  int32_t if_index;
  u_int32_t pkt_hash;
  struct pkt_parsing_info parsed_pkt;
  ...;
};

struct pfring_pkthdr {
  struct timeval ts;
  u_int32_t caplen;
  u_int32_t len;
  struct pfring_extended_pkthdr extended_hdr;
  ...;
};

typedef struct { u_int64_t recv; u_int64_t drop; u_int64_t shunt; ...; } pfring_stat;
typedef struct { u_int64_t recv; u_int64_t drop; u_int64_t if_drop; } pfring_kernel_stat;
struct pfring_pkt_link {
  int32_t if_index; u_int16_t protocol; u_int16_t hatype; u_int8_t pkttype; u_int8_t halen;
  u_int8_t addr[8]; u_int16_t net_offset; u_int16_t headroom; u_int16_t vlan_tpid;
  u_int16_t vlan_tci;
};

typedef struct __pfring pfring;

struct pfring_burst_pkt {
  const u_char *data;
  u_int64_t ts_sec;
  u_int32_t ts_nsec;
  u_int32_t caplen;
  u_int32_t len;
  int32_t if_index;
  u_int8_t rx_direction;
  u_int8_t flags;
  ...;
};
typedef void (*pfringProcesssPacket)(const struct pfring_pkthdr *h,
                                     const u_char *p, const u_char *user_bytes);
typedef void (*pfring_print_fn)(int level, const char *msg, void *user);
