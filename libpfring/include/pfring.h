/*
 * pfring.h - the public C API of libpfring (pcap-pfring).
 *
 * This is the PF_RING 5.6.2 user-space API implemented on a stock Linux
 * kernel: AF_PACKET TPACKET_V3 rings, PACKET_FANOUT clusters and classic BPF
 * programs take the place of the pf_ring kernel module.  Function names,
 * argument order, flags, struct layouts and return codes follow PF_RING so
 * that PF_RING programs build against this header unchanged.
 *
 * Conventions
 *  - Functions returning int return 0 (or a positive count) on success and a
 *    negative PF_RING_ERROR_* code on failure.  errno is set as well, and the
 *    text of the failure is available from pfring_last_error(ring).
 *  - pfring_open() returns NULL on failure with errno set; the text is in
 *    pfring_last_open_error() (per thread).
 *  - The library never prints.  Diagnostics (bad configuration values, ...)
 *    go through the callback installed with pfring_set_print().
 */
#ifndef PFRING_H
#define PFRING_H

#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCAP_PFRING_VERSION       "0.1.0"
/* The PF_RING API level implemented, as pfring_version() reports it. */
#define RING_VERSION              "5.6.2"
#define RING_VERSION_NUM          0x050602

/* ------------------------------------------------------------------------ */
/* Constants                                                                 */

#define MAX_CAPLEN                65600
#define DEFAULT_POLL_DURATION     500
#define MAX_NUM_RX_CHANNELS       64
#define MAX_NUM_DEVICES           32
#define RING_ANY_CHANNEL          ((u_int64_t)-1)
#define RING_ANY_VLAN             0xFFFF
#define RING_NO_VLAN              0
#define MIN_NUM_SLOTS             512
#define DEFAULT_NUM_SLOTS         4096
#define DEFAULT_MIN_PKT_QUEUED    128
#define NO_TUNNEL_ID              0xFFFFFFFF
#define PFRING_ERRBUF_SIZE        256
#define PF_RING_APPNAME_LEN       32   /* longest application name kept */
#define PF_RING_APPL_STATS_LEN    1023 /* longest pfring_set_application_stats text */

/* pfring_open() flags (PF_RING's bit numbering).  ZC_SYMMETRIC_RSS writes
 * PF_RING's symmetric RSS key (0x6d5a repeated, the device's key length)
 * into each device of the ring with ETHTOOL_SRSSH; a device that does not
 * take it (veth, no RSS key, no CAP_NET_ADMIN) is a warning, logged and left
 * in pfring_last_error(ring), and the ring opens all the same. */
#define PF_RING_ZC_SYMMETRIC_RSS     (1u << 0)
#define PF_RING_DNA_SYMMETRIC_RSS    PF_RING_ZC_SYMMETRIC_RSS
#define PF_RING_REENTRANT            (1u << 1)
#define PF_RING_LONG_HEADER          (1u << 2)
#define PF_RING_PROMISC              (1u << 3)
#define PF_RING_TIMESTAMP            (1u << 4)
#define PF_RING_HW_TIMESTAMP         (1u << 5)
#define PF_RING_RX_PACKET_BOUNCE     (1u << 6)
#define PF_RING_ZC_FIXED_RSS_Q_0     (1u << 7)
#define PF_RING_DNA_FIXED_RSS_Q_0    PF_RING_ZC_FIXED_RSS_Q_0
#define PF_RING_STRIP_HW_TIMESTAMP   (1u << 8)
#define PF_RING_DO_NOT_PARSE         (1u << 9)
#define PF_RING_DO_NOT_TIMESTAMP     (1u << 10)
#define PF_RING_CHUNK_MODE           (1u << 11)
#define PF_RING_IXIA_TIMESTAMP       (1u << 12)
#define PF_RING_USERSPACE_BPF        (1u << 13)
#define PF_RING_ZC_NOT_REPROGRAM_RSS (1u << 14)
#define PF_RING_VSS_APCON_TIMESTAMP  (1u << 15)
#define PF_RING_ZC_IPONLY_RSS        (1u << 16)
#define PF_RING_KEEP_CRC             (1u << 19)
#define PF_RING_DO_NOT_STRIP_FCS     (1u << 21)
#define PF_RING_TX_BPF               (1u << 22)
#define PF_RING_DISCARD_INJECTED_PKTS (1u << 24)

/* Return codes */
#define PF_RING_ERROR_GENERIC              -1
#define PF_RING_ERROR_INVALID_ARGUMENT     -2
#define PF_RING_ERROR_NO_PKT_AVAILABLE     -3
#define PF_RING_ERROR_NO_TX_SLOT_AVAILABLE -4
#define PF_RING_ERROR_WRONG_CONFIGURATION  -5
#define PF_RING_ERROR_END_OF_DEMO_MODE     -6
#define PF_RING_ERROR_NOT_SUPPORTED        -7
#define PF_RING_ERROR_INVALID_LIB_VERSION  -8
#define PF_RING_ERROR_UNKNOWN_ADAPTER      -9
#define PF_RING_ERROR_NOT_ENOUGH_MEMORY    -10
#define PF_RING_ERROR_INVALID_STATUS       -11
#define PF_RING_ERROR_RING_NOT_ENABLED     -12
#define PF_RING_ERROR_BAD_IFNAME           -13
#define PF_RING_ERROR_MOD_NOT_LOADED       -14
#define PF_RING_ERROR_UNABLE_TO_MAP        -15
#define PF_RING_ERROR_UNABLE_TO_GET_INFO   -16
#define PF_RING_ERROR_MMAP_FAILURE         -17
#define PF_RING_ERROR_INIT_FAILURE         -18
/* pcap-pfring addition: the caller lacks a capability (CAP_NET_RAW...). */
#define PF_RING_ERROR_PERMISSION_DENIED    -19

/* Extended header flags */
#define PKT_FLAGS_CHECKSUM_OFFLOAD  (1u << 0)
#define PKT_FLAGS_CHECKSUM_OK       (1u << 1)
#define PKT_FLAGS_IP_MORE_FRAG      (1u << 2)
#define PKT_FLAGS_IP_FRAG_OFFSET    (1u << 3)
#define PKT_FLAGS_VLAN_HWACCEL      (1u << 4)

/* ------------------------------------------------------------------------ */
/* Enums                                                                     */

typedef enum {
  rx_and_tx_direction = 0,
  rx_only_direction,
  tx_only_direction
} packet_direction;

typedef enum {
  send_and_recv_mode = 0,
  send_only_mode,
  recv_only_mode,
  management_only_mode
} socket_mode;

typedef enum {
  cluster_per_flow = 0,
  cluster_round_robin,
  cluster_per_flow_2_tuple,
  cluster_per_flow_4_tuple,
  cluster_per_flow_5_tuple,
  cluster_per_flow_tcp_5_tuple,
  cluster_per_inner_flow,
  cluster_per_inner_flow_2_tuple,
  cluster_per_inner_flow_4_tuple,
  cluster_per_inner_flow_5_tuple,
  cluster_per_inner_flow_tcp_5_tuple,
  cluster_per_flow_ip_5_tuple,
  cluster_per_inner_flow_ip_5_tuple,
  cluster_per_flow_ip_with_dup_tuple
} cluster_type;

/* ------------------------------------------------------------------------ */
/* Structs.  All packed, as in PF_RING.                                      */

typedef union {
  struct in6_addr v6;
  u_int32_t v4;          /* host byte order */
} __attribute__((packed)) ip_addr;

struct pkt_offset {
  int16_t eth_offset;    /* always 0 here; kept for PF_RING layouts */
  int16_t vlan_offset;   /* offset of the first VLAN tag, 0 if none */
  int16_t l3_offset;
  int16_t l4_offset;
  int16_t payload_offset;
} __attribute__((packed));

struct tunnel_info {
  u_int32_t tunnel_id;   /* GTP TEID, GRE key, VXLAN VNI; NO_TUNNEL_ID if none */
  u_int8_t tunneled_ip_version;
  u_int8_t tunneled_proto;
  ip_addr tunneled_ip_src, tunneled_ip_dst;
  u_int16_t tunneled_l4_src_port, tunneled_l4_dst_port;
} __attribute__((packed));

struct pkt_parsing_info {
  u_int8_t dmac[6], smac[6];
  u_int16_t eth_type;       /* ethertype after VLAN/MPLS headers */
  u_int16_t vlan_id;        /* outer VLAN id, 0 if none */
  u_int16_t qinq_vlan_id;   /* inner VLAN id of a QinQ frame, 0 if none */
  u_int8_t ip_version;      /* 4, 6 or 0 */
  u_int8_t l3_proto;        /* IP protocol (after IPv6 extension headers) */
  u_int8_t ip_tos;
  ip_addr ip_src, ip_dst;
  u_int16_t l4_src_port, l4_dst_port;
  u_int8_t icmp_type, icmp_code;
  struct pkt_parsing_tcp {
    u_int8_t flags;
    u_int32_t seq_num, ack_num;
  } __attribute__((packed)) tcp;
  struct tunnel_info tunnel;
  int32_t last_matched_rule_id;
  struct pkt_offset offset;
} __attribute__((packed));

struct pfring_extended_pkthdr {
  u_int64_t timestamp_ns;   /* nanoseconds since the epoch */
  u_int32_t flags;          /* PKT_FLAGS_* */
  u_int8_t rx_direction;    /* 1 = received, 0 = transmitted */
  u_int8_t port_id;
  u_int16_t device_id;
  int32_t if_index;
  u_int32_t pkt_hash;       /* symmetric flow hash, when computed */
  /* --- the short (48 byte) header ends here --- */
  struct pfring_extended_tx {
    int32_t bounce_interface;
    u_int32_t reserved_pad;
    u_int64_t reserved;
  } __attribute__((packed)) tx;
  struct pfring_extended_process {
    u_int32_t pid;
  } __attribute__((packed)) process;
  struct pkt_parsing_info parsed_pkt;  /* filled with PF_RING_LONG_HEADER */
} __attribute__((packed));

/* The first three fields are laid out exactly like struct pcap_pkthdr. */
struct pfring_pkthdr {
  struct timeval ts;
  u_int32_t caplen;
  u_int32_t len;
  struct pfring_extended_pkthdr extended_hdr;
} __attribute__((packed));

typedef struct {
  u_int64_t recv;   /* packets handed to the application */
  u_int64_t drop;   /* packets lost because the ring was full */
  u_int64_t shunt;
} __attribute__((packed)) pfring_stat;

typedef struct __pfring pfring;

/* pcap-pfring: one packet of pfring_recv_burst().  data points into the
 * ring and stays valid until the next receive call on the ring. */
struct pfring_burst_pkt {
  const u_char *data;
  u_int64_t ts_sec;         /* 0 with PF_RING_DO_NOT_TIMESTAMP */
  u_int32_t ts_nsec;
  u_int32_t caplen;
  u_int32_t len;            /* on the wire (a re-inserted VLAN tag included) */
  int32_t if_index;
  u_int8_t rx_direction;    /* 1 received, 0 sent by this host */
  u_int8_t flags;           /* PKT_FLAGS_VLAN_HWACCEL: tag put back in place */
};

typedef void (*pfringProcesssPacket)(const struct pfring_pkthdr *h,
                                     const u_char *p, const u_char *user_bytes);

/* ------------------------------------------------------------------------ */
/* Opening a ring                                                            */

/*
 * Device names.  This is the one place the grammar is written down; the
 * parser (libpfring/src/device_name.c) and pcap_pfring.Ring follow it.
 *
 *   device   := [ module ":" ] devices [ "@" channels ]
 *   devices  := "any" | "none" | dev { "," dev }
 *   dev      := ifname [ "." vlan ] | "(" literal ")"
 *   channels := range { "," range }      range := N | N "-" M    (0 <= N <= M < 64)
 *
 *   eth0            all RX queues of eth0
 *   eth0@2          RX queue 2 only            eth0@1-3,5   queues 1, 2, 3 and 5
 *   eth0,eth1       one ring on both devices (the channel list applies to all)
 *   eth0.100        eth0, packets of VLAN 100 only (digits only after the dot)
 *   (eth0.100)      the interface literally named "eth0.100"
 *   any             every interface of the caller's network namespace
 *   none            an unbound ring (for sending with pfring_send_ifindex)
 *   default:eth0    the standard module, named explicitly
 *   zc:eth0         every RX queue of eth0 on AF_XDP, one socket per queue
 *                   (zero-copy where the driver can, else copy mode;
 *                   PF_RING_ZC_MODE=zerocopy requires it)
 *   zc:eth0@3       RX queue 3 on AF_XDP      dna:eth0, xdp:eth0   the same as zc:
 *   zc:eth0@0,1     RX queues 0 and 1, one ring; the same as zc:eth0@0,zc:eth0@1
 *                   (a list of zc:, dna: or xdp: elements, each with its
 *                   queues, all on one interface, no queue twice, no VLAN id;
 *                   packets the ring takes do not reach the host's stack:
 *                   drivers/README.md)
 *
 * An interface name is 1..15 characters.  Errors: an empty name, an empty
 * list element, an over-long or unbalanced name give PF_RING_ERROR_BAD_IFNAME;
 * a malformed channel list or VLAN id gives PF_RING_ERROR_INVALID_ARGUMENT;
 * an unknown module prefix gives PF_RING_ERROR_NOT_SUPPORTED.  The message in
 * pfring_last_open_error() says what is wrong.
 *
 * caplen is 1..MAX_CAPLEN bytes.  The ring receives nothing until
 * pfring_enable_ring(); nothing that arrived before that is ever delivered.
 */
pfring *pfring_open(const char *device_name, u_int32_t caplen, u_int32_t flags);
u_int8_t pfring_open_multichannel(const char *device_name, u_int32_t caplen,
                                  u_int32_t flags, pfring *ring[MAX_NUM_RX_CHANNELS]);
/* Closing.  pfring_close may be called while other threads are inside calls
 * on the ring: it wakes every call blocked in pfring_recv (with wait),
 * pfring_loop, pfring_recv_burst or pfring_poll, which then return
 * PF_RING_ERROR_INVALID_STATUS, and it waits until every call has left the
 * ring before it frees anything they use; then it returns.  Called from a
 * pfring_loop or pfring_dispatch callback of the same ring, it returns at
 * once, and the ring is freed when that loop returns (with
 * PF_RING_ERROR_INVALID_STATUS).  Packets handed out by the ring are
 * invalid once pfring_close has returned (their memory stays mapped only
 * while pfring_keep_packet_memory holds it).
 * After pfring_close, every call on the handle is safe and fails with
 * PF_RING_ERROR_INVALID_STATUS (errno EBADF) or returns its "no ring" value
 * (0, NULL); pfring_last_error still gives text, and a second pfring_close
 * does nothing.  (The handle's memory, under 2 KiB, is never reused for that
 * reason; the ring, sockets and programs are freed.)  pfring_close is not
 * async-signal-safe: a signal handler calls pfring_breakloop. */
void pfring_close(pfring *ring);
void pfring_shutdown(pfring *ring);
int pfring_enable_ring(pfring *ring);
int pfring_disable_ring(pfring *ring);

/* Text and code of the last pfring_open() failure in this thread. */
const char *pfring_last_open_error(void);
int pfring_last_open_error_code(void);
/* Text of the last failure on this ring (never NULL). */
const char *pfring_last_error(pfring *ring);
/* A short constant description of a PF_RING_ERROR_* code. */
const char *pfring_strerror(int rc);
/* pcap-pfring: the errno that a PF_RING_ERROR_* code sets (0 for 0, EIO for
 * an unknown code); one table with pfring_strerror's text. */
int pfring_error_errno(int rc);

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */

/* Returns 1 with a packet, 0 when none is ready (or after pfring_breakloop),
 * <0 on error.  buffer_len == 0: *buffer points into the ring and stays valid
 * until the next receive call on this ring (not allowed with
 * PF_RING_REENTRANT).  buffer_len > 0: up to buffer_len bytes are copied. */
int pfring_recv(pfring *ring, u_char **buffer, u_int buffer_len,
                struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet);
int pfring_recv_parsed(pfring *ring, u_char **buffer, u_int buffer_len,
                       struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet,
                       u_int8_t level, u_int8_t add_timestamp, u_int8_t add_hash);
/* Calls looper for every packet until pfring_breakloop(); returns 0 then,
 * <0 on error. */
int pfring_loop(pfring *ring, pfringProcesssPacket looper,
                const u_char *user_bytes, u_int8_t wait_for_packet);
/* pcap-pfring: hands the packets already in the ring to looper, up to
 * max_pkts (<= 0: all of them), without waiting; returns how many, or <0.
 * pfring_breakloop() stops it after the current packet.  One call per batch
 * instead of one pfring_recv per packet. */
int pfring_dispatch(pfring *ring, int max_pkts, pfringProcesssPacket looper,
                    const u_char *user_bytes);
/* pcap-pfring: up to max_pkts packets at once, as pointers into the ring (no
 * copy): the packets of one kernel block, so that every pointer stays valid
 * until the next receive call.  Returns how many, 0 when none is ready (with
 * wait_for_incoming_packet: after pfring_breakloop or poll_duration), <0 on
 * error.  Sampling, user-space filters and the counters apply as for
 * pfring_recv.  One call per batch; not on PF_RING_REENTRANT rings. */
int pfring_recv_burst(pfring *ring, struct pfring_burst_pkt *pkts, u_int max_pkts,
                      u_int8_t wait_for_incoming_packet);
/* pcap-pfring: consumes packets and only counts them, up to max_pkts (0: no
 * limit): those already in the ring, then, for up to duration_ms (0: none),
 * those that arrive.  A pfring_breakloop or a signal during the wait ends
 * the call (as poll(2) does, so that the caller's handlers run).  Returns how
 * many (at most INT_MAX; 0 when none came), <0 on error; *bytes (if not
 * NULL) gets the sum of their lengths on the wire.  Sampling, user-space
 * filters and the counters apply as for pfring_recv.  Nothing is done per
 * packet beyond reading its header, and every wake-up inside the call is
 * handled in C: a counting loop makes one call per tick of its own.  Not on
 * PF_RING_REENTRANT rings. */
int pfring_recv_count(pfring *ring, u_int max_pkts, u_int64_t *bytes, u_int duration_ms);
/* pcap-pfring: packet memory that outlives the receive call and the ring,
 * for callers that hand the ring's packets to code they do not control
 * (Python's zero-copy memoryviews).  pfring_keep_packet_memory returns the
 * start of the one mapping that every packet pfring_recv (buffer_len 0),
 * pfring_recv_burst and pfring_loop hand out lies in, until the ring moves
 * (pfring_remove_from_cluster puts it on a new mapping), with its length
 * in *len, and takes a reference on it; NULL with the reason in
 * pfring_last_error when the ring is closed or has no such mapping.  While
 * a reference is held the mapping stays readable and writable at the same
 * addresses, also after pfring_close or a move: then it is private memory
 * holding the bytes of the last packets handed out (the socket, the UMEM
 * registration and everything else of the ring are freed at once), and the
 * last pfring_release_packet_memory(start) unmaps it.  The content is the
 * ring's while the ring uses the mapping: a packet's bytes are its own only
 * until the next receive call.  Release returns 0, or
 * PF_RING_ERROR_INVALID_ARGUMENT for an address without a reference. */
void *pfring_keep_packet_memory(pfring *ring, size_t *len);
int pfring_release_packet_memory(void *start);
void pfring_breakloop(pfring *ring);
/* pcap-pfring: gives the kernel block that the last receive call read from
 * back to the kernel now, if every packet in it has been handed out (the
 * next receive call would do it first thing).  The packets handed out from
 * it are invalid from then on.  While the application holds such a block
 * the ring's fd stays readable with nothing to read; a front end that
 * polls the fd (libpcap's pcap_dispatch, whose packets are only valid in
 * the callback) gives it back when it is done.  Returns 1 if a block was
 * given back, 0 if none was held or packets of it are still to be handed
 * out (or the backend holds none: zc:), <0 on error. */
int pfring_release_consumed(pfring *ring);
/* pcap-pfring: what the kernel knows of the link layer of a packet that the
 * last receive call on the ring handed out (data: its pointer, as that
 * call gave it): what a Linux cooked header (libpcap's LINUX_SLL and
 * LINUX_SLL2) is made of, on any device, "any" included.  The caller may
 * overwrite the headroom bytes in front of data (and the packet itself)
 * until the next receive call, e.g. to put a header of its own in front
 * of the network header.  Returns 0, PF_RING_ERROR_INVALID_ARGUMENT for a
 * pointer that is not one the last receive call handed out (copies made by
 * PF_RING_REENTRANT rings included), PF_RING_ERROR_NOT_SUPPORTED on a ring
 * whose backend has no such metadata (zc:). */
struct pfring_pkt_link {
  int32_t if_index;        /* the device it was received on or sent from */
  u_int16_t protocol;      /* its protocol (the kernel's sll_protocol), host byte order */
  u_int16_t hatype;        /* ARPHRD_* of that device */
  u_int8_t pkttype;        /* PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST, _OUTGOING */
  u_int8_t halen;          /* bytes of addr that hold its link-layer address */
  u_int8_t addr[8];        /* the kernel's sll_addr, all 8 bytes */
  u_int16_t net_offset;    /* where its network header starts in the data */
  u_int16_t headroom;      /* bytes in front of data the caller may overwrite */
  u_int16_t vlan_tpid;     /* the VLAN tag the receive call put back into the */
  u_int16_t vlan_tci;      /*   frame (PKT_FLAGS_VLAN_HWACCEL), or 0 and 0 */
};
int pfring_get_pkt_link(pfring *ring, const u_char *data, struct pfring_pkt_link *link);
/* >0 when at least the watermark of packets is queued, 0 on timeout. */
int pfring_poll(pfring *ring, u_int wait_duration);
int pfring_is_pkt_available(pfring *ring);
int pfring_next_pkt_time(pfring *ring, struct timespec *ts);
int pfring_get_selectable_fd(pfring *ring);
int pfring_set_poll_watermark(pfring *ring, u_int16_t watermark);
/* pcap-pfring: how the kernel batches received packets for this ring.  A
 * TPACKET_V3 block goes to the reader when it is full (blocks of at least
 * block_bytes; 0: 256 KiB) or timeout_ms after its first packet (0: the
 * block_timeout_ms parameter, 8 ms by default, the kernel's own default on
 * links of unknown speed; 1 ms is the shortest).  Bigger batches cost fewer
 * wake-ups per packet and add up to timeout_ms of latency (libpcap's timeout
 * without immediate mode).  A timeout_ms of 1 asks for immediate mode, the
 * lowest latency: the AF_PACKET ring becomes a TPACKET_V2 ring of one frame
 * per packet, each handed to the reader as soon as it lands (stock
 * libpcap's immediate mode; block_bytes then only sizes the units the
 * kernel allocates), and receive calls, bursts, counts and stats behave as
 * on a batched ring.  Only before the ring is enabled or joins a
 * cluster.  zc: rings batch too: they hold a waiting reader's wake-up for
 * timeout_ms after a batch's first packet or until an eighth of the RX
 * ring is filled, and 1 ms wakes it at the first packet (drivers/README.md). */
int pfring_set_batching(pfring *ring, u_int timeout_ms, u_int block_bytes);
/* pcap-pfring: the ring's memory, libpcap's pcap_set_buffer_size (tcpdump
 * -B): bytes rounded up to a whole number of the ring's kernel blocks (at
 * least one), instead of the size min_num_slots gives.  The ring is made
 * again at that size (no packet can be in it yet); a later
 * pfring_set_batching keeps the size and rounds it to the new blocks.  The
 * status tree shows the result as "Tot Memory".  Errors: bytes 0 and a size
 * over the backend's limit (AF_PACKET: 4 GiB - 1, the kernel's, rounded
 * down to whole blocks) are PF_RING_ERROR_INVALID_ARGUMENT; memory the
 * kernel cannot give is PF_RING_ERROR_NOT_ENOUGH_MEMORY (the ring keeps
 * its previous size); after pfring_enable_ring or pfring_set_cluster it is
 * PF_RING_ERROR_INVALID_STATUS and the ring is left as it is; zc: rings
 * answer PF_RING_ERROR_NOT_SUPPORTED (their memory is min_num_slots
 * frames). */
int pfring_set_buffer_size(pfring *ring, u_int64_t bytes);
int pfring_set_poll_duration(pfring *ring, u_int duration);

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

/* Returns the bytes sent or <0.  A frame longer than the device allows gives
 * PF_RING_ERROR_INVALID_ARGUMENT. */
int pfring_send(pfring *ring, char *pkt, u_int pkt_len, u_int8_t flush_packet);
int pfring_send_ifindex(pfring *ring, char *pkt, u_int pkt_len,
                        u_int8_t flush_packet, int if_index);
int pfring_send_last_rx_packet(pfring *ring, int tx_interface_id);
int pfring_flush_tx_packets(pfring *ring);

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

int pfring_set_direction(pfring *ring, packet_direction direction);
int pfring_set_socket_mode(pfring *ring, socket_mode mode);
int pfring_set_sampling_rate(pfring *ring, u_int32_t rate);
int pfring_set_bpf_filter(pfring *ring, char *filter_buffer);
int pfring_remove_bpf_filter(pfring *ring);
/* pcap-pfring: attaches an already compiled classic BPF program (count
 * instructions laid out as struct bpf_insn / struct sock_filter, 8 bytes
 * each) as the ring's filter, in the kernel; count 0 removes the filter. */
int pfring_set_bpf_program(pfring *ring, const void *insns, u_int count);
/* pcap-pfring: pfring_set_bpf_program with the rules a front end asks for.
 * libpfring alone decides where the program runs: in user space under
 * PF_RING_USERSPACE_BPF, when expr (the expression the program was compiled
 * from, or NULL if unknown) tests VLAN tags (pfring_bpf_expr_needs_userspace:
 * the kernel filter sees a received frame with its tag taken out), or on a
 * ring without a kernel program; in the kernel otherwise (on a zc: ring,
 * in its XDP program: a frame the program rejects goes on to the host
 * stack).  flags:
 *   PFRING_BPF_FILTER_QUEUED  packets already in the ring, which passed the
 *                             previous filter, are checked in user space
 *                             too (libpcap's pcap_setfilter)
 *   PFRING_BPF_FALLBACK       a program the kernel refuses, or one over
 *                             the kernel's 4096 instructions (up to 65535),
 *                             runs in user space instead of failing
 * A program that runs in user space must pass the system libpcap's
 * bpf_validate.  On any failure (bad flags, a NULL or too long program, one
 * that is refused) the ring keeps its previous filter, exactly. */
#define PFRING_BPF_FILTER_QUEUED  (1u << 0)
#define PFRING_BPF_FALLBACK       (1u << 1)
#define PFRING_BPF_LIBPCAP        (PFRING_BPF_FILTER_QUEUED | PFRING_BPF_FALLBACK)
int pfring_set_bpf_program_ex(pfring *ring, const void *insns, u_int count,
                              const char *expr, u_int32_t flags);
/* pcap-pfring: where the ring's BPF filter runs and what it did. */
#define PFRING_BPF_NONE       0      /* no filter */
#define PFRING_BPF_KERNEL     1      /* in the kernel */
#define PFRING_BPF_USERSPACE  2      /* in the receive calls of this library */
struct pfring_bpf_info {
  int where;                 /* PFRING_BPF_NONE, _KERNEL or _USERSPACE */
  u_int32_t len;             /* instructions of the program, 0 without one */
  int checking_queued;       /* 1 while packets queued before it are checked in user space */
  u_int64_t rejected;        /* packets dropped in user space since the ring opened
                              * (already left out of pfring_stats' recv) */
};
int pfring_get_bpf_info(pfring *ring, struct pfring_bpf_info *info);
int pfring_set_application_name(pfring *ring, char *name);
int pfring_set_application_stats(pfring *ring, char *stats);
char *pfring_get_appl_stats_file_name(pfring *ring, char *path, u_int path_len);
int pfring_set_channel_id(pfring *ring, u_int32_t channel_id);
int pfring_set_channel_mask(pfring *ring, u_int64_t channel_mask);
int pfring_set_vlan_id(pfring *ring, u_int16_t vlan_id);
/* From now on the channel of a packet (received or transmitted) is its
 * symmetric per_flow hash (VLAN id, protocol, addresses, ports; the hash of
 * cluster_per_flow) modulo the device's RX queues, instead of its queue: a
 * ring on ethX@Y gets both directions of its flows, and the rings of
 * pfring_open_multichannel share the traffic, each packet in one of them.
 * Without @Y nothing changes.  It cannot be turned off. */
int pfring_enable_rss_rehash(pfring *ring);
int pfring_enable_hw_timestamp(pfring *ring, char *device_name,
                               u_int8_t enable_rx, u_int8_t enable_tx);
int pfring_set_if_promisc(const char *device, int set_promisc);
int pfring_set_promisc(pfring *ring, int set_promisc);

/* Clusters (see the clusters documentation). */
int pfring_set_cluster(pfring *ring, u_int clusterId, cluster_type the_type);
int pfring_remove_from_cluster(pfring *ring);

/* ------------------------------------------------------------------------ */
/* Information                                                               */

int pfring_stats(pfring *ring, pfring_stat *stats);
/* pcap-pfring: the kernel's view of a ring, as libpcap's pcap_stats gives
 * it (pfring_stats counts what the application has read).  recv: the
 * packets the kernel queued for the ring since it was opened, read or still
 * waiting in the ring, the drops included, less those that libpfring's
 * user-space BPF filter rejected; drop: of those, the packets lost because
 * the ring was full (pfring_stats' drop).  The kernel's counters reset on
 * every read: libpfring adds them up, so this and pfring_stats may be
 * called in any order, as often as wanted.  if_drop: what the ring's
 * devices dropped themselves (rx_missed_errors + rx_fifo_errors under
 * /sys/class/net, as libpcap reads them), totals since each device came
 * up; 0 for "any" and "none".  On zc: rings (AF_XDP) recv is the packets
 * the XDP program redirected to the socket or failed to, drop those it
 * could not redirect and the socket's own drops. */
typedef struct {
  u_int64_t recv;
  u_int64_t drop;
  u_int64_t if_drop;
} pfring_kernel_stat;
int pfring_stats_kernel(pfring *ring, pfring_kernel_stat *stats);
int pfring_version(pfring *ring, u_int32_t *version);
u_int32_t pfring_version_noring(void);
int pfring_get_bound_device_address(pfring *ring, u_char mac_address[6]);
int pfring_get_bound_device_ifindex(pfring *ring, int *if_index);
int pfring_get_bound_device_id(pfring *ring, int *device_id);
/* pcap-pfring: the link layer of the ring's packets.  *arphrd (if not NULL)
 * gets the devices' ARPHRD_* type (ARPHRD_ETHER for "any"), *dlt (if not
 * NULL) the DLT_* of a packet socket's packets there: DLT_EN10MB (an
 * Ethernet header first: Ethernet, loopback, "any"), DLT_RAW (the IP header
 * first: tun, ipip, sit, wireguard...), or -1 for a type with no DLT (BPF
 * filters are then refused).  BPF expressions are compiled for that DLT.
 * A ring on several devices needs one DLT for all (pfring_open fails
 * otherwise).  0, or <0 for a bad ring. */
int pfring_get_link_type(pfring *ring, u_int16_t *arphrd, int *dlt);
int pfring_get_device_ifindex(pfring *ring, char *device_name, int *if_index);
u_int8_t pfring_get_num_rx_channels(pfring *ring);
u_int32_t pfring_get_num_queued_pkts(pfring *ring);
u_int16_t pfring_get_slot_header_len(pfring *ring);
u_int32_t pfring_get_caplen(pfring *ring);
int pfring_get_mtu_size(pfring *ring);
int pfring_get_link_status(pfring *ring);
u_int32_t pfring_get_ring_id(pfring *ring);

/* ------------------------------------------------------------------------ */
/* Utilities                                                                 */

/* Parses pkt up to level (2 = L2, 3 = L3, 4 = L4, 5 = tunnels) into
 * hdr->extended_hdr.parsed_pkt.  Uses hdr->caplen as the bytes available;
 * never reads past them.  Returns the highest level parsed (0 if the frame is
 * too short for an Ethernet header). */
int pfring_parse_pkt(u_char *pkt, struct pfring_pkthdr *hdr, u_int8_t level,
                     u_int8_t add_timestamp, u_int8_t add_hash);
int pfring_print_parsed_pkt(char *buff, u_int buff_len, const u_char *p,
                            const struct pfring_pkthdr *h);
int pfring_print_pkt(char *buff, u_int buff_len, const u_char *p,
                     u_int len, u_int caplen);
/* PF_RING's number formatting: 1'234'567 and 2'764.36 */
char *pfring_format_numbers(double val, char *buf, u_int buf_len, u_int8_t add_decimals);

/* Where the library's diagnostics go (default: stderr, warnings and errors).
 * level: 0 error, 1 warning, 2 info, 3 debug. */
typedef void (*pfring_print_fn)(int level, const char *msg, void *user);
void pfring_set_print(pfring_print_fn fn, void *user, int max_level);

/* pcap-pfring: rewrites the status tree's info and dev/ files and deletes
 * the entries of processes that are gone.  Returns the number of live rings
 * or <0. */
int pfring_status_refresh(void);
/* pcap-pfring: the status tree's directory (PF_RING_STATUS_DIR, the
 * configuration file, or /run/pf_ring). */
const char *pfring_status_dir(void);
/* pcap-pfring: with on, no status thread: pfring_dispatch and pfring_poll
 * refresh this process's entries about once a second while it reads (the
 * libpcap drop-in does this, so single-threaded tools keep glibc's lock-free
 * stdio).  Call it before the first ring is opened. */
void pfring_status_inline(int on);
/* pcap-pfring: the system libpcap, for libpfring's pcap_compile, the libpcap
 * drop-in's forwarders and the Python binding: the one loader.  It is found
 * at run time, never from a path known at build time: PF_RING_SYSTEM_LIBPCAP
 * or the configuration file's system_libpcap (a path, or a soname looked up
 * as below) when set; otherwise libpcap.so.0.8, then libpcap.so.1, in the
 * dynamic linker's cache, then in the C library's directory and the usual
 * library directories.  A library that carries the ELF note
 * PFRING_PCAP_DROPIN_NOTE (the libpcap drop-in) is never taken.  Opened with
 * RTLD_LOCAL | RTLD_DEEPBIND and kept for the life of the process.
 * Returns the dlopen() handle (never dlclose it), or NULL with the reason in
 * errbuf (errbuf may be NULL); a failed search is retried on the next call. */
void *pfring_open_system_libpcap(char *errbuf, size_t errlen);
/* pcap-pfring: the path pfring_open_system_libpcap() opened, or NULL when it
 * has not (yet) succeeded. */
const char *pfring_system_libpcap(void);
/* The name of the ELF note (type 1) that marks a PF_RING libpcap drop-in. */
#define PFRING_PCAP_DROPIN_NOTE "pcap-pfring"

/* pcap-pfring: PF_RING's libpcap environment variables (PCAP_NO_PF_RING,
 * PCAP_PF_RING_*), parsed with PF_RING's rules in one place for the libpcap
 * drop-in and the Python shim.  Malformed values are reported through the
 * print callback and replaced by PF_RING's fallback. */
struct pfring_pcap_env {
  int no_pf_ring;              /* PCAP_NO_PF_RING present */
  int active_poll;             /* PCAP_PF_RING_ACTIVE_POLL non-zero */
  u_int32_t open_flags;        /* ZC_SYMMETRIC_RSS, STRIP_HW_TIMESTAMP, HW_TIMESTAMP, USERSPACE_BPF */
  int recv_only;               /* PCAP_PF_RING_RECV_ONLY present */
  int rss_rehash;              /* PCAP_PF_RING_RSS_REHASH non-zero */
  int always_sync_fd;          /* PCAP_PF_RING_ALWAYS_SYNC_FD non-zero */
  u_int32_t cluster_id;        /* PCAP_PF_RING_CLUSTER_ID if 1..254, else 0 */
  cluster_type cluster_type;   /* first PCAP_PF_RING_USE_CLUSTER_* present; round robin */
  char appname[PF_RING_APPNAME_LEN + 1];  /* PCAP_PF_RING_APPNAME if 1..32 characters */
};
int pfring_parse_pcap_env(struct pfring_pcap_env *env);

/* pcap-pfring: a ring opened as PF_RING's libpcap opens it under those
 * variables, in one place for the libpcap drop-in and the Python shim:
 *   - pfring_open(device, caplen, PF_RING_TIMESTAMP | env->open_flags, plus
 *     PF_RING_PROMISC when promisc is asked and the device is not "any");
 *     where the NIC has no hardware time stamps (PF_RING_ERROR_NOT_SUPPORTED
 *     under PCAP_PF_RING_HW_TIMESTAMP), a warning and the same open without
 *     PF_RING_HW_TIMESTAMP;
 *   - the batching of opts, if asked (before the cluster: it must be);
 *   - poll watermark 1;
 *   - for a listening ring: recv-only mode (PCAP_PF_RING_RECV_ONLY) and the
 *     cluster of PCAP_PF_RING_CLUSTER_ID (a failure is an error,
 *     "PCAP_PF_RING_CLUSTER_ID=N: <reason>": PF_RING would capture
 *     unclustered, which no one asking for a cluster wants);
 *   - the application name: PCAP_PF_RING_APPNAME, else default_appname,
 *     else the program's name;
 *   - for a listening ring: RSS re-hash (PCAP_PF_RING_RSS_REHASH; a ring
 *     that cannot is a warning).
 * The ring is not enabled.  Warnings go to opts->print, or else through the
 * print callback (pfring_set_print). */
struct pfring_pcap_open {
  u_int32_t size;              /* sizeof(struct pfring_pcap_open) */
  int promisc;                 /* PF_RING_PROMISC, except on "any" (as libpcap) */
  int listen;                  /* a capture: recv-only mode, cluster, RSS re-hash */
  const char *default_appname; /* without PCAP_PF_RING_APPNAME; NULL: the program's name */
  int batching;                /* non-zero: pfring_set_batching(batch_timeout_ms, */
  u_int batch_timeout_ms;      /*   batch_block_bytes); a failure is an info */
  u_int batch_block_bytes;     /*   message */
  pfring_print_fn print;       /* this call's warnings; NULL: the print callback */
  void *print_user;
};
struct pfring_pcap_open_result {
  int rc;                      /* 0, or the PF_RING_ERROR_* code of the failure */
  int set_up;                  /* on failure: 0 the open failed, 1 the set-up after it */
  u_int32_t flags;             /* the flags the ring was opened with */
  char errbuf[PFRING_ERRBUF_SIZE];  /* on failure: why */
};
/* opts NULL: defaults (listen, no promisc); env NULL: parsed now; res may be
 * NULL.  Returns the ring, or NULL with res filled in. */
pfring *pfring_open_pcap_env(const char *device, u_int32_t caplen,
                             const struct pfring_pcap_env *env,
                             const struct pfring_pcap_open *opts,
                             struct pfring_pcap_open_result *res);
/* The decisions of pfring_open_pcap_env, without opening anything: for a
 * front end that opens and sets up a ring with its own wrapper. */
struct pfring_pcap_ring_plan {
  u_int32_t flags;             /* pfring_open flags */
  u_int32_t retry_flags;       /* after PF_RING_ERROR_NOT_SUPPORTED: these; 0: no retry */
  u_int16_t poll_watermark;
  int recv_only;
  u_int32_t cluster_id;        /* 0: none */
  cluster_type cluster_type;
  int rss_rehash;
  char appname[PF_RING_APPNAME_LEN + 1];
};
int pfring_pcap_env_plan(const char *device, const struct pfring_pcap_env *env,
                         const struct pfring_pcap_open *opts,
                         struct pfring_pcap_ring_plan *plan);

/* pcap-pfring: a message through the print callback (pfring_set_print),
 * if level is at most its max_level: 0 error, 1 warning, 2 info, 3 debug.
 * For libraries built on libpfring, which never print themselves. */
void pfring_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The print callback that is installed by default: "pfring: <level>: <msg>"
 * on stderr; callbacks of other libraries can hand messages on to it. */
void pfring_default_print(int level, const char *msg, void *user);
/* An expression that libpfring runs in user space whatever the flags: one
 * that tests VLAN tags (the kernel filter sees a received frame with its tag
 * taken out).  expr may be NULL (0). */
int pfring_bpf_expr_needs_userspace(const char *expr);

/* The value of a PF_RING module parameter (min_num_slots, enable_tx_capture,
 * ...) after the configuration file and PF_RING_<NAME> variables; -1 if the
 * name is unknown. */
long pfring_get_module_param(const char *name);

/* ------------------------------------------------------------------------ */
/* Filtering rules (PF_RING 5.6.2's guide, sections 8.8 to 8.12; rules.c).
 *
 * A ring's rules run in the kernel, in its socket filter (kernel/rules/), in
 * PF_RING's order: the ring's classic filter (channels, VLAN, direction, a
 * BPF expression that runs in the kernel) -> the default policy -> the
 * hash rules -> the wildcard rules in ascending rule_id order -> sampling
 * (in the receive calls).  A packet a rule drops is never copied into the
 * ring; other rings and the host stack do not see the rules.  A ring without rules keeps the
 * classic filter alone.  Limits and the design: libpfring/README.md.     */

#define FILTERING_RULE_AUTO_RULE_ID 0xFFFF
#define REFLECTOR_NAME_LEN          8
/* pcap-pfring: the most wildcard rules one ring holds. */
#define PFRING_MAX_FILTERING_RULES  256

typedef enum {
  forward_packet_and_stop_rule_evaluation = 0,
  dont_forward_packet_and_stop_rule_evaluation,
  execute_action_and_continue_rule_evaluation,
  execute_action_and_stop_rule_evaluation,
  forward_packet_add_rule_and_stop_rule_evaluation,
  reflect_packet_and_stop_rule_evaluation,
  reflect_packet_and_continue_rule_evaluation,
  bounce_packet_and_stop_rule_evaluation,
  bounce_packet_and_continue_rule_evaluation,
  /* pcap-pfring: the delete-rule form (other PF_RING releases number it
   * 5, for plugins); here it comes after the guide's nine, whose numbers
   * stay the guide's. */
  forward_packet_del_rule_and_stop_rule_evaluation
} rule_action_behaviour;

/* Zero is "any" in every field.  IPv4 hosts and masks are in host byte
 * order in .v4, IPv6 ones in network order; a host needs its mask (a
 * contiguous prefix), and its bits outside the mask must be zero.  Ports:
 * low..high inclusive, high 0 = any port. */
typedef struct {
  int32_t if_index;                 /* the interface the packet is on */
  u_int8_t smac[6], dmac[6];
  u_int16_t vlan_id;                /* the outer VLAN id */
  u_int16_t eth_type;               /* the ethertype after VLAN tags */
  u_int8_t proto;                   /* the IP protocol */
  ip_addr shost, dhost;
  ip_addr shost_mask, dhost_mask;
  u_int16_t sport_low, sport_high;
  u_int16_t dport_low, dport_high;
  struct filtering_rule_tcp {
    u_int8_t flags;                 /* TCP: all of these flags set */
  } __attribute__((packed)) tcp;
} __attribute__((packed)) filtering_rule_core_fields;

#define FILTER_TUNNEL_ID_FLAG 0x01
/* pcap-pfring: the hosts of core_fields are IPv6 (without it, a host whose
 * address and mask have nothing past their first 4 bytes is IPv4). */
#define FILTER_IPV6_FLAG      0x8000

typedef struct {
  u_int16_t optional_fields;        /* FILTER_* flags */
  /* With FILTER_TUNNEL_ID_FLAG: the packet's tunnel id (as
   * parsed_pkt.tunnel.tunnel_id) is tunnel_id; NO_TUNNEL_ID: it has none.
   * The hosts must be zero (not supported). */
  struct filtering_rule_tunnel {
    u_int32_t tunnel_id;
    ip_addr shost, dhost, shost_mask, dhost_mask;
  } __attribute__((packed)) tunnel;
  /* A NUL-terminated string of 1..31 bytes ("" = any): the rule matches
   * TCP and UDP packets whose payload (after the TCP or UDP header, up to
   * the snap length) holds these bytes, in the payload's first
   * PFRING_RULES_PAYLOAD_WINDOW (16384) bytes (exact bytes, case counts). */
  char payload_pattern[32];
} __attribute__((packed)) filtering_rule_extended_fields;

typedef struct {
  unsigned long jiffies_last_match; /* unused here: see the rule's stats */
  void *reflector_dev;
} __attribute__((packed)) filtering_internals;

typedef struct {
  u_int16_t rule_id;                /* lower ids are evaluated first */
  rule_action_behaviour rule_action;
  u_int8_t balance_id, balance_pool;
  u_int8_t locked;                  /* never removed by pfring_purge_idle_rules */
  u_int8_t bidirectional;           /* also matches with source and destination swapped */
  filtering_rule_core_fields core_fields;
  filtering_rule_extended_fields extended_fields;
  char reflector_device_name[REFLECTOR_NAME_LEN];
  filtering_internals internals;
} __attribute__((packed)) filtering_rule;

/* What pfring_get_filtering_rule_stats returns (as many bytes as the
 * caller's buffer takes, at least the first 8). */
typedef struct {
  u_int64_t match;                  /* packets that matched the rule */
  u_int64_t filtered;               /* of those, dropped by the rule */
  u_int64_t match_forward;          /* of those, forwarded by the rule */
  u_int32_t inactivity;             /* seconds since the last match (or the add) */
  /* pcap-pfring: */
  u_int64_t match_bytes;            /* bytes of the matching frames */
  u_int64_t last_match_ns;          /* CLOCK_REALTIME of the last match, 0 = never */
  /* forward_packet_add_rule_and_stop_rule_evaluation: the hash rules the
   * rule added (one per new flow), and the flows it could not add because
   * the ring had PFRING_MAX_HASH_FILTERING_RULES hash rules already (those
   * packets are forwarded all the same). */
  u_int64_t hash_rules_added;
  u_int64_t hash_rules_refused;
  /* forward_packet_del_rule_and_stop_rule_evaluation: the hash rules the
   * rule removed. */
  u_int64_t hash_rules_deleted;
} __attribute__((packed)) filtering_rule_stats;

/* Adds a wildcard rule; rule_id FILTERING_RULE_AUTO_RULE_ID takes the
 * lowest free id (written back into rule).  Fails, leaving the ring's
 * rules as they were, for a duplicate id, a bad field, or more than
 * PFRING_MAX_FILTERING_RULES rules.
 * reflect_packet_and_*: the packet is sent, unmodified, out of
 * reflector_device_name (a device of the ring's namespace, not one the
 * ring captures on); bounce_packet_and_*: back out of the device it came
 * in on, with its source and destination MACs swapped.  Either way the
 * packet does not reach the ring (as PF_RING); the stop forms stop, the
 * continue forms go on to the next rules (a later verdict replaces theirs,
 * and each matching reflect rule sends a copy).  They act on received
 * packets, in the kernel (a tc program at the ingress of each of the
 * ring's devices), and the host stack still gets the packet.  They need a
 * ring bound to Ethernet devices and not in a cluster.
 * forward_packet_add_rule_and_stop_rule_evaluation
 * forwards the packet and, in the kernel, adds its flow as a hash rule
 * that forwards (vlan_id, IP version, proto, hosts, ports: the later
 * packets of the flow, either direction, hit that hash rule); a packet
 * that is not IP adds none.  The added rules are hash rules as any other:
 * pfring_get_hash_filtering_rule_stats, removal and
 * pfring_purge_idle_hash_rules (idle counted from the add) see them, and
 * they stay when the wildcard rule goes.
 * forward_packet_del_rule_and_stop_rule_evaluation forwards the packet
 * and, in the kernel, removes its flow's hash rule if there is one
 * (added by the add-rule action or by the user).  Such a rule also runs
 * for the packets a hash rule decided, which would otherwise never reach
 * the wildcard rules: a packet of a flow with a hash rule is checked
 * against the delete-rule rules, and one that matches removes the flow's
 * rule and is forwarded.
 * Returns 0, or PF_RING_ERROR_INVALID_ARGUMENT (a bad field, a duplicate
 * rule_id, too many rules, a bad reflector device), PF_RING_ERROR_NOT_SUPPORTED
 * (tunnel hosts) or PF_RING_ERROR_NOT_ENOUGH_MEMORY, with the ring's rules
 * left as they were and the reason in pfring_last_error(ring). */
int pfring_add_filtering_rule(pfring *ring, filtering_rule *rule_to_add);
/* Returns 0, or PF_RING_ERROR_INVALID_ARGUMENT when rule_id is not a rule
 * of the ring. */
int pfring_remove_filtering_rule(pfring *ring, u_int16_t rule_id);
/* stats: a filtering_rule_stats; *stats_len: its size in, the bytes
 * written out (a shorter buffer gets the struct's first bytes).
 * PF_RING_ERROR_INVALID_ARGUMENT: stats or stats_len NULL, *stats_len
 * under 8, or rule_id not a rule of the ring. */
int pfring_get_filtering_rule_stats(pfring *ring, u_int16_t rule_id, char *stats,
                                    u_int *stats_len);
/* pcap-pfring: the copies that reflect and bounce rules sent (wildcard and
 * hash), and the ones the kernel could not send (the device down or gone,
 * no memory), since the ring's first rule. */
typedef struct {
  u_int64_t sent;
  u_int64_t failed;
} pfring_reflection_stat;

int pfring_get_reflection_stats(pfring *ring, pfring_reflection_stat *stats);
/* What happens to a packet no rule decides: 1 forward (the default), 0 drop. */
int pfring_toggle_filtering_policy(pfring *ring, u_int8_t rules_default_accept_policy);
/* Removes the rules without a match for inactivity_sec seconds (counted
 * from the add for a rule that never matched), except locked ones; returns
 * how many it removed. */
int pfring_purge_idle_rules(pfring *ring, u_int16_t inactivity_sec);
/* ---- Hash rules: exact matches on one flow, in both directions ---------
 * Evaluated before the wildcard rules, as one hash lookup of the packet's
 * (vlan_id, ip_version, proto, hosts, ports); a match decides and the
 * wildcard rules do not run.  vlan_id 0 matches untagged packets, proto
 * and ports are exact (ports 0 for a protocol without ports), and peer a
 * and b match either the source or the destination.  IPv4 hosts in .v4
 * (host order), IPv6 ones in .v6.  At most PFRING_MAX_HASH_FILTERING_RULES
 * per ring; rule_id is kept but not used to find the rule (the flow is). */
#define PFRING_MAX_HASH_FILTERING_RULES 16384

typedef struct {
  u_int16_t rule_id;
  u_int16_t vlan_id;
  u_int8_t ip_version;              /* 4 or 6 */
  u_int8_t proto;
  ip_addr host_peer_a, host_peer_b;
  u_int16_t port_peer_a, port_peer_b;
  rule_action_behaviour rule_action;
  char reflector_device_name[REFLECTOR_NAME_LEN];
  filtering_internals internals;
} __attribute__((packed)) hash_filtering_rule;

typedef struct {
  u_int64_t match;                  /* packets that matched the rule */
  u_int64_t filtered;               /* of those, dropped by the rule */
  u_int32_t inactivity;             /* seconds since the last match (or the add) */
  /* pcap-pfring: */
  u_int64_t match_forward;          /* of those, forwarded by the rule */
  u_int64_t match_bytes;
  u_int64_t last_match_ns;          /* CLOCK_REALTIME of the last match, 0 = never */
} __attribute__((packed)) hash_filtering_rule_stats;

/* add_rule 1 adds rule_to_add (a flow that has a hash rule already is an
 * error), 0 removes the hash rule of its flow (the action and rule_id are
 * not compared; a flow without one is an error). */
int pfring_handle_hash_filtering_rule(pfring *ring, hash_filtering_rule *rule_to_add,
                                      u_char add_rule);
/* stats: a hash_filtering_rule_stats; *stats_len: its size in, the bytes
 * written out. */
int pfring_get_hash_filtering_rule_stats(pfring *ring, hash_filtering_rule *rule,
                                         char *stats, u_int *stats_len);
/* Removes the hash rules without a match for inactivity_sec seconds
 * (counted from the add); returns how many. */
int pfring_purge_idle_hash_rules(pfring *ring, u_int16_t inactivity_sec);

/* pcap-pfring: how many times the ring's rules program was loaded into the
 * kernel (the verifier ran).  A rule or policy change does not load it; a
 * new classic filter (BPF expression, direction, enable) does.  For tests
 * and diagnostics; >= 0, or a negative error. */
int pfring_rules_program_loads(pfring *ring);

/* ------------------------------------------------------------------------ */
/* Hardware rules and the filtering mode (PF_RING 5.6.2's guide, section 8;
 * hw_rules.c).
 *
 * A hardware rule lives in the NIC: libpfring hands it to the driver with
 * ethtool's n-tuple interface (SIOCETHTOOL, ETHTOOL_SRXCLSRLINS and
 * ETHTOOL_SRXCLSRLDEL), on the ring's one device and in the ring's network
 * namespace.  A matching packet goes to RX queue queue_id, or is dropped by
 * the NIC for queue_id 0xFFFF (-1, as PF_RING writes it).  rule_id is the
 * rule's location in the NIC's table.  Fields of value zero are wildcards.
 * IPv4 addresses and ports are in host byte order.  A device without
 * n-tuple filters (veth, most virtual devices) answers
 * PF_RING_ERROR_NOT_SUPPORTED with a message that names it; the software
 * rules above are not affected.  A ring removes its hardware rules when it
 * is closed.  Limits and the design: libpfring/README.md.                 */

typedef enum {
  hardware_and_software = 0,
  hardware_only,
  software_only                     /* the default */
} filtering_mode;

/* The queue_id of a rule that drops what it matches. */
#define PFRING_HW_RULE_DROP_QUEUE   0xFFFF
/* pcap-pfring: the most hardware rules one ring holds. */
#define PFRING_MAX_HW_FILTERING_RULES 1024

/* Intel 82599 five-tuple filter. */
typedef struct {
  u_int8_t  proto;                  /* 6 TCP, 17 UDP, 132 SCTP, other IP protocol, 0 any */
  u_int32_t s_addr, d_addr;         /* IPv4, host order */
  u_int16_t s_port, d_port;         /* host order; need proto 6, 17 or 132 */
  u_int16_t queue_id;               /* RX queue, or PFRING_HW_RULE_DROP_QUEUE */
} __attribute__((packed)) intel_82599_five_tuple_filter_hw_rule;

/* Intel 82599 perfect (flow director) filter: the five tuple and a VLAN. */
typedef struct {
  u_int16_t vlan_id;                /* 1..4095, 0 any */
  u_int8_t  proto;
  u_int32_t s_addr, d_addr;
  u_int16_t s_port, d_port;
  u_int16_t queue_id;
} __attribute__((packed)) intel_82599_perfect_filter_hw_rule;

typedef enum {
  drop_rule,
  redirect_rule,
  mirror_rule
} silicom_redirector_rule_type;

/* Silicom redirector switch rule: declared for PF_RING's layout only;
 * libpfring answers PF_RING_ERROR_NOT_SUPPORTED. */
typedef struct {
  silicom_redirector_rule_type rule_type;
  u_int8_t rule_port;
  u_int8_t rule_target_port;
  u_int16_t vlan_id_low, vlan_id_high;
  u_int8_t l3_proto;
  ip_addr src_addr, dst_addr;
  u_int32_t src_mask, dst_mask;
  u_int16_t src_port_low, src_port_high;
  u_int16_t dst_port_low, dst_port_high;
} __attribute__((packed)) silicom_redirector_hw_rule;

typedef enum {
  intel_82599_five_tuple_rule,
  intel_82599_perfect_filter_rule,
  silicom_redirector_rule
} hw_filtering_rule_type;

typedef struct {
  hw_filtering_rule_type rule_family_type;
  u_int16_t rule_id;                /* the location in the NIC's rule table */
  union hw_filtering_rule_family {  /* (the tag is pcap-pfring's, for bindings) */
    intel_82599_five_tuple_filter_hw_rule five_tuple_rule;
    intel_82599_perfect_filter_hw_rule perfect_rule;
    silicom_redirector_hw_rule redirector_rule;
  } __attribute__((packed)) rule_family;
} __attribute__((packed)) hw_filtering_rule;

/* Records the mode.  hardware_only is refused (PF_RING_ERROR_NOT_SUPPORTED,
 * naming the device) on a device without n-tuple filters; the other modes
 * are accepted on every ring.  The software rules run in every mode. */
int pfring_set_filtering_mode(pfring *ring, filtering_mode mode);
/* pcap-pfring: the ring's filtering_mode (software_only until set), or a
 * negative error. */
int pfring_get_filtering_mode(pfring *ring);
/* Installs rule in the NIC of the ring's device.  Bad input (a NULL rule,
 * an unknown rule_family_type, ports without TCP, UDP or SCTP, a VLAN id
 * over 4095, a queue the device does not have, a rule_id the ring has
 * already) is PF_RING_ERROR_INVALID_ARGUMENT naming the field; a device
 * without n-tuple filters, a ring on several devices, "any" or none is
 * PF_RING_ERROR_NOT_SUPPORTED. */
int pfring_add_hw_rule(pfring *ring, hw_filtering_rule *rule);
/* Removes a hardware rule this ring added. */
int pfring_remove_hw_rule(pfring *ring, u_int16_t rule_id);

/* ------------------------------------------------------------------------ */
/* libzero: the DNA Cluster (the 5.6.2 guide, chapter 9.1)                   */

/* A master receives from one or more rings (of any backend), and hands
 * each packet to one or more applications ("apps", 0..num_apps-1).  A
 * slave is any program that opens "dnacluster:ID@APP" (or "dnacl:ID@APP")
 * with pfring_open and receives as from any ring.  The master writes each
 * packet once into a pool of buffers that the slaves map (that is the one
 * copy: from the master's ring into the pool); a slave receives
 * descriptors of those buffers, so fan-out to several apps copies nothing
 * more.  Each app has a queue of DNA_CLUSTER_QUEUE_SLOTS packets; a full
 * queue, or an app without a slave, drops for that app only (counted).
 *
 * Transmission (dna_cluster_set_mode send_only_mode or send_and_recv_mode):
 * each app also has a TX queue (slave_tx_queue_len descriptors) and TX
 * buffers of its own in the shared memory.  pfring_send on a slave copies
 * the frame into one of them (the one copy) and queues it; the queue is
 * published to the master by pfring_flush_tx_packets, by pfring_send with
 * flush_packet 1, and when it is full.  The master's thread drains every TX
 * queue (up to 64 frames per app and loop turn) and sends each frame on an
 * egress ring: the registered ring one of whose interfaces has the frame's
 * if_index (pfring_send_ifindex on the slave), or the first registered ring
 * for if_index 0 (pfring_send); it flushes those rings after each drained
 * batch.  A frame of an if_index no registered ring has, or that its ring
 * refuses, is dropped and counted (dna_cluster_app_tx_stats).  A full TX
 * queue: pfring_send returns PF_RING_ERROR_NO_TX_SLOT_AVAILABLE.  The
 * slave's pfring_stats count only what it receives.  What a slave that
 * dies had published is dropped (counted) when the master empties its
 * queues (within 100 ms, and at once when the thread starts); pfring_close on a slave first waits (up to 1 s) for the master to
 * send what it published, and so does pfring_flush_tx_packets.
 * In recv_only_mode (the default) there is no TX part: pfring_send on a
 * slave returns PF_RING_ERROR_NOT_SUPPORTED.
 *
 * Errors: functions returning int give 0 or a PF_RING_ERROR_* code;
 * dna_cluster_create gives NULL.  Either way dna_cluster_last_error() (per
 * thread) says what was wrong, naming the argument. */
#define DNA_CLUSTER_MAX_APPS 32
#define DNA_CLUSTER_MAX_ID 65535
#define DNA_CLUSTER_QUEUE_SLOTS 4096
#define DNA_CLUSTER_BUFFER_SIZE 2048   /* packets are cut to this caplen */
#define DNA_CLUSTER_MAX_RINGS 8
/* The TX buffers per app beyond its TX queue's (the pkt_buff handles a
 * slave may hold), unless DNA_CLUSTER_NO_ADDITIONAL_BUFFERS or
 * dna_cluster_low_level_settings say otherwise. */
#define DNA_CLUSTER_ADDITIONAL_BUFFERS 256
/* dna_cluster_create's flags (the guide's values).  NO_ADDITIONAL_BUFFERS:
 * no TX buffers beyond the TX queues' (slave_additional_buffers 0 instead
 * of DNA_CLUSTER_ADDITIONAL_BUFFERS); HUGEPAGES: the memory is madvised MADV_HUGEPAGE, which gives
 * transparent huge pages where transparent_hugepage/shmem_enabled allows
 * it, and otherwise a warning (pfring_log level 1) and normal pages; DCA
 * and TIME_PULSE_THREAD are accepted and change nothing (there is no
 * prefetch to disable; time stamps are the kernel's).  DIRECT_FORWARDING:
 * a distribution function may return DNA_CLUSTER_FRWD with *id_mask a
 * bitmask of registered rings (by registration order, up to
 * DNA_CLUSTER_MAX_RINGS): the master sends the packet out of those rings
 * (one pfring_send each, flushed per burst) and no app gets it; bits of no
 * ring and failed sends are counted ("DNA Cluster Fwd Failed" in the
 * status file), forwarded packets in tot_tx_packets.  The cluster's rings
 * are then set to rx_only_direction at dna_cluster_enable, so that what
 * they send does not come back, and must be able to send. */
#define DNA_CLUSTER_DIRECT_FORWARDING     (1u << 0)
#define DNA_CLUSTER_NO_ADDITIONAL_BUFFERS (1u << 1)
#define DNA_CLUSTER_HUGEPAGES             (1u << 2)
#define DNA_CLUSTER_DCA                   (1u << 3)
#define DNA_CLUSTER_TIME_PULSE_THREAD     (1u << 4)
/* dna_cluster_low_level_settings' bounds of a queue's slots */
#define DNA_CLUSTER_MIN_QUEUE_LEN 64
#define DNA_CLUSTER_MAX_QUEUE_LEN 65536
/* dna_cluster_set_cpu_affinity: no binding */
#define DNA_CLUSTER_NO_CORE 0xffffffffu
/* The distribution function's return values (the guide's). */
#define DNA_CLUSTER_DROP -1   /* no app gets the packet */
#define DNA_CLUSTER_PASS 0    /* the apps in *id_mask get it */
#define DNA_CLUSTER_FRWD 1    /* out of the rings in *id_mask (DNA_CLUSTER_DIRECT_FORWARDING) */
#define DNA_CLUSTER_MAX_NUM_SLAVES DNA_CLUSTER_MAX_APPS

typedef struct pfring_dna_cluster pfring_dna_cluster;

typedef struct {
  u_int64_t tot_rx_packets;      /* received from the rings */
  u_int64_t tot_tx_packets;      /* sent for the slaves on the egress rings */
  u_int64_t tot_rx_processed;    /* given to at least one app */
} pfring_dna_cluster_stat;

typedef struct {
  u_int32_t rx_queued;           /* packets in the app's queue */
} pfring_dna_cluster_slave_stat;

/* What the distribution function is told of the apps: num_slaves (the
 * cluster's num_apps) and each queue's fill, refreshed once per burst of
 * the master (approximate, as the name says). */
typedef struct {
  u_int32_t num_slaves;
  pfring_dna_cluster_slave_stat approximate_stats[DNA_CLUSTER_MAX_NUM_SLAVES];
} pfring_dna_cluster_slaves_info;

/* The distribution function (the guide's signature): called by the
 * master's thread for every packet (buffer: buffer_len bytes, cut at
 * DNA_CLUSTER_BUFFER_SIZE), it sets *id_mask to the apps that get the
 * packet (1u << app; several bits for fan-out; bits of apps >= num_slaves
 * are ignored) and returns DNA_CLUSTER_PASS, or returns DNA_CLUSTER_DROP.
 * *hash comes in 0; what the function leaves there is the packet's
 * pkt_hash for the slaves (pfring_pkthdr.extended_hdr.pkt_hash).  It must
 * not block. */
typedef int (*pfring_dna_cluster_distribution_func)(const u_char *buffer,
                                                   const u_int16_t buffer_len,
                                                   const pfring_dna_cluster_slaves_info *slaves_info,
                                                   u_int32_t *id_mask, u_int32_t *hash);

/* The default (pcap-pfring's name for it, callable from a custom function):
 * PF_RING's symmetric flow hash of pfring_parse_pkt (pkt_hash: VLAN id,
 * protocol, addresses and ports summed) mixed as the kernel clusters mix it
 * (MurmurHash3's finalizer) into *hash, and app hash % num_slaves in
 * *id_mask, so both directions of a flow go to one app, the same app as
 * member hash % num_apps of a cluster_per_flow_5_tuple cluster for
 * untagged IP traffic.  Non-IP traffic goes to app 0 (hash 0).  Returns
 * DNA_CLUSTER_PASS. */
int dna_cluster_default_distribution(const u_char *buffer, const u_int16_t buffer_len,
                                     const pfring_dna_cluster_slaves_info *slaves_info,
                                     u_int32_t *id_mask, u_int32_t *hash);

/* Creates cluster cluster_id (1..DNA_CLUSTER_MAX_ID) for num_apps apps
 * (1..DNA_CLUSTER_MAX_APPS) with flags (DNA_CLUSTER_*, above).  Fails if
 * another live master has the id; the memory of a master that died is
 * taken over. */
pfring_dna_cluster *dna_cluster_create(u_int32_t cluster_id, u_int32_t num_apps,
                                       u_int32_t flags);
/* Each app's queue holds slave_rx_queue_len descriptors (a power of two,
 * DNA_CLUSTER_MIN_QUEUE_LEN..DNA_CLUSTER_MAX_QUEUE_LEN; DNA_CLUSTER_QUEUE_SLOTS
 * by default), its TX queue slave_tx_queue_len (0: DNA_CLUSTER_QUEUE_SLOTS,
 * or a power of two in the same range), and it has
 * slave_additional_buffers TX buffers (up to DNA_CLUSTER_MAX_QUEUE_LEN)
 * beyond the TX queue's; the TX part exists only in send_only_mode and
 * send_and_recv_mode.  The memory is made anew.  Only before the first
 * dna_cluster_enable and before a slave joined. */
int dna_cluster_low_level_settings(pfring_dna_cluster *cluster, u_int32_t slave_rx_queue_len,
                                   u_int32_t slave_tx_queue_len,
                                   u_int32_t slave_additional_buffers);
/* Binds the master's thread (now, or when enabled).  The master has one
 * thread, which does the receiving work (distributing, direct forwarding)
 * and the transmitting work (sending the slaves' frames) both: it is bound
 * to rx_core_id if the cluster receives (every mode but send_only_mode)
 * and to tx_core_id if it transmits (send_only_mode, send_and_recv_mode),
 * so in send_and_recv_mode to both cores (it may run on either).
 * DNA_CLUSTER_NO_CORE adds no core; with none the thread is unbound.  A
 * core the machine does not have is an error.  (PF_RING's returns void;
 * this one returns 0 or an error, which callers may ignore.) */
int dna_cluster_set_cpu_affinity(pfring_dna_cluster *cluster, u_int32_t rx_core_id,
                                 u_int32_t tx_core_id);
/* Adds a ring the master receives from (before dna_cluster_enable; up to
 * DNA_CLUSTER_MAX_RINGS).  The cluster owns it from then on: it enables
 * it, and dna_cluster_destroy closes it (as PF_RING does). */
int dna_cluster_register_ring(pfring_dna_cluster *cluster, pfring *ring);
/* recv_only_mode (the default): the master receives, slaves cannot send;
 * send_and_recv_mode: also slave transmission (see above); send_only_mode:
 * slave transmission only, the master does not receive.  Going from
 * recv_only_mode to a sending mode or back makes the memory anew (with or
 * without TX queues): only before the first dna_cluster_enable and before
 * a slave joined; in a sending mode every registered ring must be able to
 * send (dna_cluster_enable checks). */
int dna_cluster_set_mode(pfring_dna_cluster *cluster, socket_mode mode);
/* 1: the master and the slaves poll without sleeping (yielding the CPU);
 * 0 (the default): they sleep until packets come. */
int dna_cluster_set_wait_mode(pfring_dna_cluster *cluster, u_int32_t active_wait);
/* func NULL: the default distribution.  (PF_RING's returns void; this one
 * returns 0, or an error while the cluster is enabled.) */
int dna_cluster_set_distribution_function(pfring_dna_cluster *cluster,
                                          pfring_dna_cluster_distribution_func func);
/* pcap-pfring: apps in groups, as zbalance_ipc's -n 2,1: instances[g] apps
 * per group, in order (apps 0..instances[0]-1 are group 0, and so on; the
 * sum must be num_apps).  Every group gets every packet; within a group of
 * more than one app the default hash picks the app.  Replaces the
 * distribution function (dna_cluster_set_distribution_function undoes it). */
int dna_cluster_set_app_groups(pfring_dna_cluster *cluster, const u_int32_t *instances,
                               u_int32_t num_groups);
/* Starts the master's thread; needs a registered ring. */
int dna_cluster_enable(pfring_dna_cluster *cluster);
/* Stops the thread (slaves stay attached and wait). */
int dna_cluster_disable(pfring_dna_cluster *cluster);
/* The cluster's counters into *stats. */
int dna_cluster_stats(pfring_dna_cluster *cluster, pfring_dna_cluster_stat *stats);
/* App app's counters: packets queued for it, packets dropped for it (its
 * queue full, or no slave attached); either may be NULL. */
int dna_cluster_app_stats(pfring_dna_cluster *cluster, u_int32_t app, u_int64_t *delivered,
                          u_int64_t *dropped);
/* pcap-pfring: app app's transmission: frames of its slave sent on an
 * egress ring, and dropped (a bad descriptor, no registered ring with the
 * frame's if_index, the ring refused it, or its slave died before they
 * were sent); either may be NULL. */
int dna_cluster_app_tx_stats(pfring_dna_cluster *cluster, u_int32_t app, u_int64_t *sent,
                             u_int64_t *dropped);
/* Stops the thread, tells the slaves (their next receive fails), removes
 * the shared memory, closes the registered rings (as PF_RING does) and
 * frees the handle (NULL is fine). */
void dna_cluster_destroy(pfring_dna_cluster *cluster);
/* The text of the last failure of a dna_cluster_* call in this thread, and
 * its PF_RING_ERROR_* code. */
const char *dna_cluster_last_error(void);
int dna_cluster_last_error_code(void);

/* The pkt_buff API (the 5.6.2 guide's §9.3), on DNA cluster slaves of a
 * cluster in send_only_mode or send_and_recv_mode; any other ring answers
 * PF_RING_ERROR_NOT_SUPPORTED naming it.  A handle is one of the app's TX
 * buffers, held by the slave: it writes the frame in place (in the shared
 * memory) and pfring_send_pkt_buff queues that very buffer, no copy.  A
 * slave holds at most the cluster's slave_additional_buffers handles
 * (DNA_CLUSTER_ADDITIONAL_BUFFERS by default, 0 with
 * DNA_CLUSTER_NO_ADDITIONAL_BUFFERS).  Errors are in pfring_last_error. */
typedef struct pfring_pkt_buff pfring_pkt_buff;
/* A handle with an empty frame; NULL when the ring holds all it may. */
pfring_pkt_buff *pfring_alloc_pkt_buff(pfring *ring);
/* Gives the handle's buffer back; the handle is no longer valid. */
void pfring_release_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle);
/* The handle's frame: DNA_CLUSTER_BUFFER_SIZE bytes to write; NULL for a
 * bad handle. */
u_char *pfring_get_pkt_buff_data(pfring *ring, pfring_pkt_buff *pkt_handle);
/* The frame's length, 1..DNA_CLUSTER_BUFFER_SIZE. */
int pfring_set_pkt_buff_len(pfring *ring, pfring_pkt_buff *pkt_handle, u_int32_t len);
/* The egress interface (0: the master's first ring), as pfring_send_ifindex. */
int pfring_set_pkt_buff_ifindex(pfring *ring, pfring_pkt_buff *pkt_handle, int if_index);
/* The same where none is set; a second, other interface is NOT_SUPPORTED
 * (a frame of a DNA cluster has one egress interface). */
int pfring_add_pkt_buff_ifindex(pfring *ring, pfring_pkt_buff *pkt_handle, int if_index);
/* Queues the handle's buffer as it is (no copy) and gives the handle a
 * fresh buffer with an empty frame and if_index 0 (the guide: the handle
 * is reset, and stays the caller's).  flush_packet: published at once.
 * The frame's length, or an error (a full TX queue:
 * PF_RING_ERROR_NO_TX_SLOT_AVAILABLE, the handle unchanged). */
int pfring_send_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle, u_int8_t flush_packet);
/* Receives one packet as pfring_recv into the handle, without a copy: the
 * handle's frame is then the packet where the master put it, in the shared
 * pool (pfring_get_pkt_buff_data points there; its length set, if_index
 * 0), and it stays there, past the next receive calls, until the handle
 * is released, receives again, or is sent (pfring_send_pkt_buff sends it
 * from the pool, and the handle gets its own TX buffer back for its next
 * frame).  A packet kept aside holds the app's queue: the master queues
 * at most slave_rx_queue_len packets past the oldest one kept, then drops
 * for this app (counted).  With fan-out the pool buffer is shared with
 * the other apps that got the packet: what is written into it, they see.
 * 1, 0 (nothing, no wait) or an error. */
int pfring_recv_pkt_buff(pfring *ring, pfring_pkt_buff *pkt_handle, struct pfring_pkthdr *hdr,
                         u_int8_t wait_for_incoming_packet);

/* ------------------------------------------------------------------------ */
/* libzero: the DNA Bouncer (the 5.6.2 guide, chapter 9.2)                   */

/* A bouncer bridges two rings (of any backend): every packet received on
 * the ingress ring is handed to a decision function, and the ones it
 * passes are sent on the egress ring; in two-way mode the egress ring's
 * packets go to the ingress ring as well.  pfring_dna_bouncer_loop runs in
 * the calling thread, one loop polling both rings: it receives bursts in
 * place (pfring_recv_burst: no copy, no system call per packet), asks the
 * function about each packet, then sends the passed ones (one kick per
 * burst).  The one copy is on transmission: an AF_PACKET ring's send copies
 * the frame into a kernel socket buffer, a zc: ring's into a frame of its
 * TX ring.  Frames the host sent (rx_direction 0: a packet socket also sees
 * what leaves its interface) are not bridged and not counted.
 *
 * Errors: functions returning int give 0 or a PF_RING_ERROR_* code;
 * pfring_dna_bouncer_create gives NULL.  Either way
 * pfring_dna_bouncer_last_error() (per thread, ours) says what was wrong,
 * naming the argument. */

/* What a decision function returns: forward the packet, or drop it (any
 * value other than DNA_BOUNCER_PASS drops). */
#define DNA_BOUNCER_DROP -1
#define DNA_BOUNCER_PASS 0

typedef struct pfring_dna_bouncer pfring_dna_bouncer;

typedef enum {
  one_way_mode = 0,    /* ingress -> egress (the default) */
  two_way_mode         /* and egress -> ingress */
} dna_bouncer_mode;

/* The decision function: called by the loop's thread for every packet
 * received, with pkt pointing into the receiving ring's memory and
 * *pkt_len its captured length.  It may rewrite the packet in place and
 * lower *pkt_len (a larger value is cut back to the captured length; 0
 * drops).  direction: 0 for a packet received on the ingress ring, 1 for
 * one received on the egress ring (two-way mode).  It must not block. */
typedef int (*pfring_dna_bouncer_decision_func)(u_int32_t *pkt_len, u_char *pkt,
                                                const u_char *user_bytes, u_int8_t direction);

/* A bouncer from ingress_ring to egress_ring: two different open rings,
 * the ingress one able to receive (not send_only_mode), the egress one
 * able to send (not recv_only_mode); neither PF_RING_REENTRANT (the loop
 * reads in place).  The rings become the bouncer's: destroying it closes
 * them (as the guide says).  NULL on failure (the rings stay open). */
pfring_dna_bouncer *pfring_dna_bouncer_create(pfring *ingress_ring, pfring *egress_ring);
/* one_way_mode (the default) or two_way_mode, which needs an ingress ring
 * that can send and an egress ring that can receive.  Not while looping. */
int pfring_dna_bouncer_set_mode(pfring_dna_bouncer *handle, dna_bouncer_mode mode);
/* Runs the bouncer in the calling thread until pfring_dna_bouncer_breakloop
 * (0), or a ring fails (its error).  It enables the rings that receive
 * (the ingress ring; both in two-way mode).  wait_for_packet: 1, idle, it
 * sleeps in poll (10 ms at most at a time); 0, it spins (yielding the
 * CPU).  One loop at a time per bouncer (PF_RING_ERROR_INVALID_STATUS). */
int pfring_dna_bouncer_loop(pfring_dna_bouncer *handle, pfring_dna_bouncer_decision_func func,
                            const u_char *user_bytes, u_int8_t wait_for_packet);
/* Ends the loop within 10 ms (after the burst in hand).  Safe from another
 * thread, a signal handler or the decision function; the break is
 * consumed by the loop it ends (a break with no loop running ends the next
 * one at once).  NULL is ignored. */
void pfring_dna_bouncer_breakloop(pfring_dna_bouncer *handle);
/* Closes both rings and frees the bouncer (NULL is fine).  Refused while a
 * loop runs (nothing freed; pfring_dna_bouncer_last_error says so): break
 * the loop and destroy once pfring_dna_bouncer_loop has returned. */
void pfring_dna_bouncer_destroy(pfring_dna_bouncer *handle);

/* pcap-pfring: the counters of one direction (0: ingress -> egress, 1:
 * egress -> ingress), written by the loop, readable at any time. */
typedef struct {
  u_int64_t received;    /* packets handed to the decision function */
  u_int64_t forwarded;   /* passed and sent */
  u_int64_t dropped;     /* dropped by the decision function */
  u_int64_t tx_failed;   /* passed, but the send failed (e.g. a full TX queue) */
} pfring_dna_bouncer_stat;
int pfring_dna_bouncer_stats(pfring_dna_bouncer *handle, u_int8_t direction,
                             pfring_dna_bouncer_stat *stats);
/* pcap-pfring: the text of the last failure of a pfring_dna_bouncer_* call
 * in this thread, and its PF_RING_ERROR_* code. */
const char *pfring_dna_bouncer_last_error(void);
int pfring_dna_bouncer_last_error_code(void);

#ifdef __cplusplus
}
#endif

#endif /* PFRING_H */
