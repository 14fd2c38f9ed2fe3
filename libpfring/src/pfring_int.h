/*
 * pfring_int.h - libpfring internals: the handle, the backend ops table and
 * the cross-file helpers.  Nothing here is part of the ABI.
 *
 * Life cycle (two phases, as libpcap's pcap_create/pcap_activate):
 *   pfring_open() parses the device name, allocates the handle and the
 *   backend's private state in one block, then calls the backend's
 *   activate(), which fills the ops it supports.  A NULL op means "not
 *   supported": the public wrapper returns PF_RING_ERROR_NOT_SUPPORTED.
 *
 * The public wrappers (pfring.c) validate arguments and state before they
 * dispatch, so backends never see bad input, a closed ring or a disabled ring
 * on the receive path.
 *
 * Closing (pfring.c): every wrapper that reaches the backend counts itself in
 * `inflight` for the length of the call and checks `closed` after counting
 * (both sequentially consistent, so a closer and a caller cannot both miss
 * each other).  pfring_close sets `closed`, sets break_recv_loop to
 * PFRINGINT_BREAK_CLOSED (which no receive call clears), wakes blocked
 * callers through ops.wake and waits for `inflight` to drop to zero before
 * ops.close and the frees.  Called from a pfring_loop/pfring_dispatch
 * callback of the same ring, it cannot wait for its own caller: the last
 * call to leave does the freeing instead (`release_deferred`).  The handle
 * itself is never freed once handed out: it stays as a tombstone (its error
 * buffer, counters and flags), so a call on a closed ring reads valid memory
 * and fails with PF_RING_ERROR_INVALID_STATUS.
 */
#ifndef PFRING_INT_H
#define PFRING_INT_H

#include <stdarg.h>
#include <net/if.h>
#include <pthread.h>
#include <linux/filter.h>
#include "pfring.h"

#define PFRINGINT_HIDDEN __attribute__((visibility("hidden")))

/* ------------------------------------------------------------------------ */
/* Device names (device_name.c)                                              */

struct pfringint_devspec {
  char module[16];                  /* "" for the standard module */
  u_int8_t any;                     /* "any" */
  u_int8_t none;                    /* "none" */
  u_int32_t num_devices;
  char devices[MAX_NUM_DEVICES][IFNAMSIZ];
  u_int64_t channel_mask;           /* RING_ANY_CHANNEL unless @list */
  u_int16_t vlan_id;                /* RING_ANY_VLAN unless .N */
  u_int32_t dna_cluster_id;         /* module "dnacluster": ID of ID@APP */
  u_int32_t dna_app_id;             /* and APP */
};

/* Returns 0 or a PF_RING_ERROR_* code with a message in errbuf. */
PFRINGINT_HIDDEN int pfringint_parse_device_name(const char *name,
                                                 struct pfringint_devspec *spec,
                                                 char *errbuf, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Module parameters (config.c)                                              */

struct pfringint_params {
  long min_num_slots;          /* 4096 */
  long perfect_rules_hash_size;/* 4096 */
  long enable_tx_capture;      /* 1 */
  long enable_frag_coherence;  /* 1 */
  long enable_ip_defrag;       /* 0 */
  long quick_mode;             /* 0 */
  long force_ring_lock;        /* 0 */
  long enable_debug;           /* 0 */
  long transparent_mode;       /* 0 */
  long keep_vlan_offload;      /* 0 */
  long block_timeout_ms;       /* 1: TPACKET_V3 block retire timeout */
  char status_dir[256];        /* /run/pf_ring */
  char system_libpcap[256];    /* "": found at run time (syspcap.c) */
  char zc_mode[16];            /* "auto": AF_XDP zero-copy if possible (af_xdp.c) */
};

/* Loads the configuration once per process (thread safe) and returns it. */
PFRINGINT_HIDDEN const struct pfringint_params *pfringint_params(void);
/* For tests: forget the cached configuration so the next call re-reads it. */
void pfringint_reload_params(void);

/* ------------------------------------------------------------------------ */
/* Diagnostics (pfring.c)                                                    */

PFRINGINT_HIDDEN void pfringint_log(int level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* The filter state (filter_state.c)                                        */

/* Everything that decides which packets of the ring's devices reach the
 * application, in one object.  The backend builds the kernel program from
 * all of it: direction, channel mask, VLAN id, RSS rehash and, when it runs
 * in the kernel, the user's BPF program.  The receive path runs the BPF
 * program in user space on every packet (bpf_where USERSPACE) or on the
 * packets time-stamped up to recheck_until_ns (those the kernel may have
 * queued under the previous program).
 *
 *   who changes it   pfringint_filter_apply(), nothing else; the receive
 *                    path only clears recheck_until_ns once it is past
 *   who decides      pfringint_filter_set_bpf() decides where a program
 *                    runs (one place: the ring's flags, the expression, the
 *                    backend, the kernel's answer)
 *   who checks       the public wrappers (pfring.c) check each value before
 *                    they build a next state; backends never check */
struct pfringint_ruleset;
struct pfringint_rules_rt;

enum pfringint_bpf_where {
  PFRINGINT_BPF_NONE = 0,           /* no program: every packet passes */
  PFRINGINT_BPF_KERNEL = 1,         /* in the kernel program */
  PFRINGINT_BPF_USERSPACE = 2,      /* in the receive path */
};

struct pfringint_filter {
  packet_direction direction;
  u_int64_t channel_mask;           /* RING_ANY_CHANNEL or a queue mask */
  u_int16_t vlan_id;                /* RING_ANY_VLAN, RING_NO_VLAN or 1..4095 */
  u_int8_t rss_rehash;
  u_int8_t bpf_where;               /* enum pfringint_bpf_where */
  struct sock_fprog bpf;            /* the user's program, malloc'ed; len 0 = none */
  /* Non-zero: packets time-stamped (CLOCK_REALTIME, ns) up to this also run
   * bpf in user space.  PFRINGINT_RECHECK_NOW in a next state: from the
   * moment the new kernel program is attached. */
  u_int64_t recheck_until_ns;
  /* The filtering rules and the policy (rules.c), malloc'ed, owned as bpf
   * is: NULL = none and the default policy (accept), so the classic filter
   * alone runs.  Otherwise the backend attaches the rules program. */
  struct pfringint_ruleset *rules;
};

#define PFRINGINT_RECHECK_NOW (~(u_int64_t)0)
/* The longest program: sock_fprog's length is 16 bits.  Only user space
 * runs one over BPF_MAXINSNS. */
#define PFRINGINT_MAX_BPF_LEN 0xFFFF

/* The state of a new ring: no program, every packet of the device name's
 * channels and VLAN, in the direction the module parameters give. */
PFRINGINT_HIDDEN void pfringint_filter_init(pfring *ring);

/* Makes *next the ring's filter state, in steps: (1) a program that will
 * run in user space is made ready (the system libpcap's interpreter loaded,
 * the program validated), (2) the backend attaches the kernel program built
 * from next (ops.update_filter; a backend without it has no kernel program
 * and takes the state as is), (3) the receive path switches over and the
 * status entry is rewritten.  A failing step leaves the ring exactly as it
 * was, with the error in ring->errbuf; next's program then still belongs to
 * the caller.  On success next's program belongs to the ring, and the old
 * one is freed unless next shares it.  Returns 0 or a PF_RING_ERROR_* code. */
PFRINGINT_HIDDEN int pfringint_filter_apply(pfring *ring, struct pfringint_filter *next);

/* Installs prog (malloc'ed, owned from here on; len 0: removes the program)
 * as the ring's BPF program: the one place that decides where it runs.  In
 * user space under PF_RING_USERSPACE_BPF, for an expression that tests VLAN
 * tags (pfring_bpf_expr_needs_userspace; expr may be NULL) and on a backend
 * without a kernel program; in the kernel otherwise, or in user space after
 * all if flags has PFRING_BPF_FALLBACK and the program is over BPF_MAXINSNS
 * or the kernel refuses it.
 * PFRING_BPF_FILTER_QUEUED: the packets already queued are checked too.  On
 * failure the old program stays. */
PFRINGINT_HIDDEN int pfringint_filter_set_bpf(pfring *ring, struct sock_fprog prog,
                                              const char *expr, u_int32_t flags);

/* The receive path's user-space check (only while ring->uf_check is set):
 * 1 if the packet is kept.  ts_ns: its time stamp (CLOCK_REALTIME). */
PFRINGINT_HIDDEN int pfringint_filter_accepts(pfring *ring, const u_char *pkt, u_int len,
                                              u_int caplen, u_int64_t ts_ns);

/* ------------------------------------------------------------------------ */
/* The handle                                                                */

struct pfringint_ops {
  /* Receive one packet.  Same contract as pfring_recv except that the
   * wrapper has handled locking, sampling and parsing; buffer is always set
   * to a pointer into the ring (zero copy) and stays valid until the next
   * call.  Must fill hdr->ts, caplen, len and the short extended header. */
  int (*recv)(pfring *ring, u_char **buffer, struct pfring_pkthdr *hdr,
              u_int8_t wait);
  /* Up to max packets of the current kernel block (waiting for one as
   * recv does): pointers stay valid until the next receive call.  Fills
   * every field of pfring_burst_pkt. */
  int (*recv_burst)(pfring *ring, struct pfring_burst_pkt *pkts, u_int max,
                    u_int8_t wait);
  /* recv_burst without waiting that only counts: up to max packets of the
   * current kernel block, their wire lengths added to *bytes, *last (and
   * *last_len) the last one.  Optional (pfring_recv_count falls back to
   * recv_burst); never used with a user-space filter or sampling. */
  int (*count)(pfring *ring, u_int max, u_int64_t *bytes, u_char **last, u_int32_t *last_len);
  /* Wait up to wait_ms for the watermark; >0 ready, 0 timeout, a break or
   * a signal (as poll(2), so that the caller's handlers can run), <0 error. */
  int (*poll)(pfring *ring, u_int wait_ms);
  int (*is_pkt_available)(pfring *ring);
  int (*next_pkt_time)(pfring *ring, struct timespec *ts);
  u_int32_t (*num_queued)(pfring *ring);
  void (*wake)(pfring *ring);          /* wake a blocked recv/poll */
  int (*enable)(pfring *ring);
  int (*disable)(pfring *ring);
  /* Build and attach the kernel program of ring->filter (the public
   * wrappers have checked every field).  Either the new program is attached
   * or, on failure, the kernel keeps the program it had: the core's rollback
   * (pfringint_filter_apply) relies on it. */
  int (*update_filter)(pfring *ring);
  /* Kernel counters since open: packets that reached the ring and drops. */
  int (*kernel_counters)(pfring *ring, u_int64_t *seen, u_int64_t *dropped);
  int (*send)(pfring *ring, const u_char *pkt, u_int len, int if_index);
  /* Hand what send queued to the kernel now; with wait, also wait (bounded)
   * until the kernel has completed it.  Optional: a backend whose send
   * already transmits has nothing to flush.  pfring_send with flush_packet
   * calls it without wait, pfring_flush_tx_packets with wait. */
  int (*flush_tx)(pfring *ring, u_int8_t wait);
  /* Sample 1 in rate packets in the kernel (rate >= 1; 1: every packet).
   * Optional: without it the receive path samples.  With it, the receive
   * path does not sample again (ring->sampling_in_backend). */
  int (*set_sampling)(pfring *ring, u_int32_t rate);
  /* Join the kernel group of ring->cluster_id, type ring->cluster_type with
   * ring->cluster_prog (the hash program; len 0 for round robin), now or
   * when the ring is enabled.  The wrapper has validated the id and type,
   * built the program and claimed the registry entry. */
  int (*set_cluster)(pfring *ring);
  /* Leave the group; called with ring->cluster_id still set.  Afterwards the
   * ring receives as if it had never joined, with its other settings (filter,
   * direction, batching, promiscuous mode) and counters kept.  Must not
   * change the calling thread's namespace or other per-thread state. */
  int (*remove_from_cluster)(pfring *ring);
  int (*set_promisc)(pfring *ring, int on);
  int (*set_batching)(pfring *ring, u_int timeout_ms, u_int block_bytes);
  /* pfring_set_buffer_size (bytes > 0, the ring never enabled); and the
   * bytes of the ring's kernel memory, for the status "Tot Memory". */
  int (*set_buffer_size)(pfring *ring, u_int64_t bytes);
  u_int64_t (*memory)(pfring *ring);
  void (*close)(pfring *ring);
  /* The link-layer metadata of a packet the last receive call handed out
   * (pfring_get_pkt_link); PF_RING_ERROR_INVALID_ARGUMENT if data is not
   * one of them. */
  int (*pkt_link)(pfring *ring, const u_char *data, struct pfring_pkt_link *link);
  /* Give back the current block if all its packets were handed out: 1 if
   * it did, 0 if not (pfring_release_consumed). */
  int (*release_consumed)(pfring *ring);
  /* Attach the loaded rules program prog_fd as the ring's socket filter in
   * place of the classic one (rules.c calls it from the backend's filter
   * update).  NULL: the backend takes no filtering rules. */
  int (*attach_rules_prog)(pfring *ring, int prog_fd);
};

struct __pfring {
  /* --- read path first --- */
  struct pfringint_ops ops;
  void *priv;                       /* backend state, allocated with the handle */
  int fd;                           /* the selectable fd, -1 if none */
  int dev_fd;                       /* for device ioctls if fd takes none (zc:), else -1 */
  u_int32_t flags;                  /* pfring_open flags */
  u_int32_t caplen;
  u_int8_t enabled;
  volatile u_int8_t break_recv_loop;  /* 0, 1 (pfring_breakloop) or PFRINGINT_BREAK_CLOSED */
  u_int8_t reentrant;
  u_int8_t closed;                  /* atomic: set once by pfring_close */
  u_int32_t inflight;               /* atomic: wrapper calls inside the ring */
  u_int8_t uf_check;                /* run filter.bpf on received packets (filter_state.c) */
  u_int32_t sampling_rate;          /* 1 = every packet */
  u_int32_t sampling_counter;
  u_int8_t sampling_in_backend;     /* ops.set_sampling took the rate */
  u_int64_t uf_rejected;            /* packets the user-space filter dropped */
  u_int64_t tot_read;               /* packets delivered to the application */
  u_int64_t tot_bytes;
  u_char *last_pkt;                 /* last packet delivered (for send_last_rx) */
  u_int32_t last_pkt_len;

  /* --- configuration --- */
  struct pfringint_filter filter;   /* changed by pfringint_filter_apply only */
  socket_mode mode;
  u_int16_t poll_watermark;
  u_int poll_duration;
  u_int8_t promisc;
  u_int32_t cluster_id;             /* 0 = none */
  cluster_type cluster_type;
  struct sock_fprog cluster_prog;   /* the type's hash program, len 0 = none */

  /* --- identity --- */
  struct pfringint_devspec spec;
  int if_index[MAX_NUM_DEVICES];    /* resolved at open; 0 for any/none */
  int num_rx_queues;                /* of the first device, read at open */
  u_int16_t arphrd;                 /* the devices' ARPHRD_* (ARPHRD_ETHER for any/none) */
  int dlt;                          /* libpcap's DLT_* for it (-1: no DLT for that type) */
  char bound_name[IFNAMSIZ * 2 + 16];  /* first device, "any" or "none" */
  u_int32_t ring_id;
  char appname[PF_RING_APPNAME_LEN + 1];
  char *appl_stats;                 /* text given to set_application_stats */
  u_int8_t status_registered;
  const char *breed;                /* status "Breed": NULL = "Standard" */
  /* More lines of the ring's status file, from the part that uses the ring
   * (a DNA cluster master: the cluster and its apps): set and cleared with
   * pfringint_status_set_extra only, called by the status writer under its
   * lock. */
  void (*status_extra)(void *arg, void *text);
  void *status_extra_arg;
  char zc_mode[16];                 /* status "ZC Mode" ("zero-copy", "copy"); "" = none */

  pthread_mutex_t rx_lock, tx_lock; /* used with PF_RING_REENTRANT */
  int last_rc;
  char errbuf[PFRING_ERRBUF_SIZE];

  /* --- closing (see the top of this file) --- */
  pthread_t cb_thread;              /* the thread inside a loop callback */
  u_int32_t cb_depth;               /* its loop/dispatch frames in a callback */
  u_int8_t release_deferred;        /* atomic: the last call out frees */
  u_int8_t released;                /* atomic: the resources are (being) freed */
  struct __pfring *next_closed;     /* the list of tombstones */

  /* --- filtering rules (rules.c) --- */
  struct pfringint_rules_rt *rules_rt;  /* the loaded program and the stats map; NULL = none yet */
  /* --- hardware rules and the filtering mode (hw_rules.c) --- */
  struct pfringint_hw_rules *hw_rules;  /* NULL = software_only, no rules */
  /* --- packet memory (keep.c) --- */
  struct pfringint_mem *rx_mem;     /* what packets point into now; under keep.c's lock */
};

/* The socket that device ioctls (netdev.c) go through: of the ring's
 * namespace. */
static inline int pfringint_dev_fd(const pfring *ring)
{
  return ring->dev_fd >= 0 ? ring->dev_fd : ring->fd;
}

/* What a backend's one poll() returns when a signal interrupted it. */
#define WAIT_SIGNALLED 1

/* break_recv_loop after pfring_close: a break that receive calls never
 * consume, so a blocked caller that wakes leaves for good. */
#define PFRINGINT_BREAK_CLOSED 2

/* The highest cluster_type value (cluster types are 0..this). */
#define PFRINGINT_LAST_CLUSTER_TYPE cluster_per_flow_ip_with_dup_tuple

/* s as it may appear in a one-line message (config.c): printable (others
 * become '?'), at most max characters, then "..." if cut.  out has room for
 * max + 4.  Returns out. */
PFRINGINT_HIDDEN const char *pfringint_printable(const char *s, char *out, size_t max);

/* libbpf's and libxdp's messages through pfring_set_print (bpf_log.c):
 * one line of a library's message at debug level, and libbpf's print
 * function installed once per process. */
PFRINGINT_HIDDEN void pfringint_log_library_line(const char *library, const char *fmt, va_list ap);
PFRINGINT_HIDDEN void pfringint_libbpf_logs(void);

/* Fills ring->errbuf (and errno) and returns rc. */
PFRINGINT_HIDDEN int pfringint_seterr(pfring *ring, int rc, int err,
                                      const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* Same, appending ": strerror(err)". */
PFRINGINT_HIDDEN int pfringint_seterr_errno(pfring *ring, int rc, int err,
                                            const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* Maps an errno from a failing system call to a PF_RING_ERROR_* code. */
PFRINGINT_HIDDEN int pfringint_errno_to_rc(int err);

/* ------------------------------------------------------------------------ */
/* Backends (drivers/)                                                       */

struct pfringint_backend {
  const char *module;   /* device-name prefix without ':'; "" = standard */
  size_t priv_size;
  /* Fill ring->ops and open the kernel objects; the handle's spec, caplen,
   * flags and if_index[] are set.  Returns 0 or a PF_RING_ERROR_* code with
   * ring->errbuf set. */
  int (*activate)(pfring *ring);
};

PFRINGINT_HIDDEN extern const struct pfringint_backend pfringint_af_packet_backend;
PFRINGINT_HIDDEN extern const struct pfringint_backend pfringint_af_xdp_backend;  /* zc:, xdp: */
PFRINGINT_HIDDEN extern const struct pfringint_backend pfringint_dna_cluster_backend; /* dnacluster: */

/* ------------------------------------------------------------------------ */
/* Packet memory (keep.c): the mapping packets point into, which callers of
 * pfring_keep_packet_memory keep mapped after the ring lets go of it.      */

struct pfringint_mem;
/* A mapping the ring holds (start, len: as given to munmap); NULL when out
 * of memory.  Not yet the ring's rx_mem: see pfringint_mem_swap. */
PFRINGINT_HIDDEN struct pfringint_mem *pfringint_mem_new(void *start, size_t len);
/* Makes m (or NULL) the mapping pfring_keep_packet_memory gives; returns
 * the one before. */
PFRINGINT_HIDDEN struct pfringint_mem *pfringint_mem_swap(pfring *ring, struct pfringint_mem *m);
/* The ring lets go of m.  Nobody keeps it: unmapped now, returns 0.
 * Otherwise retire(ctx) (if not NULL) runs first, under keep.c's lock, so
 * that the mapping can stay without what it maps (a socket), and the last
 * pfring_release_packet_memory unmaps it; returns 1. */
PFRINGINT_HIDDEN int pfringint_mem_put(struct pfringint_mem *m, void (*retire)(void *ctx),
                                       void *ctx);

/* pfring_parse_pkt's symmetric sum (the level-4 pkt_hash) of an untagged
 * IPv4 frame, without the parse (parse.c): 1 with *sum, or 0 for any other
 * frame (parse it). */
PFRINGINT_HIDDEN int pfringint_ipv4_hash_sum(const u_char *pkt, u_int32_t caplen,
                                             u_int32_t *sum);

/* The text of a small file (/proc, /sys) in buf, nul-terminated: its length
 * (> 0), or -1 when it cannot be opened, cannot be read or is empty
 * (pfring.c). */
PFRINGINT_HIDDEN ssize_t pfringint_read_small(const char *path, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Netdevice helpers (netdev.c).  fd: a socket of the namespace to ask (the
 * ring's own), or -1 for the caller's current namespace. */

PFRINGINT_HIDDEN int pfringint_ifindex(int fd, const char *name);    /* 0 if missing */
PFRINGINT_HIDDEN int pfringint_if_flags(int fd, const char *name, int *flags);
PFRINGINT_HIDDEN int pfringint_if_mtu(int fd, const char *name);     /* <0 on error */
PFRINGINT_HIDDEN int pfringint_if_hwaddr(int fd, const char *name, u_char mac[6]);
/* The device's ARPHRD_* type, or -1 with errno. */
PFRINGINT_HIDDEN int pfringint_if_arphrd(int fd, const char *name);
/* The DLT_* of a packet socket's (SOCK_RAW) packets on a device of that
 * ARPHRD_* type: DLT_EN10MB where they start with an Ethernet header
 * (Ethernet, loopback), DLT_RAW where they start with the IP header (no
 * link-layer header: tun, ipip, sit, wireguard and the like); -1 for the
 * other types. */
PFRINGINT_HIDDEN int pfringint_arphrd_dlt(int arphrd);
PFRINGINT_HIDDEN int pfringint_if_name(int fd, int ifindex, char name[IFNAMSIZ]);
PFRINGINT_HIDDEN int pfringint_if_num_rx_queues(int ifindex);        /* >=1, current netns */
/* Runs fn(arg) in the network namespace of the socket fd (in a thread of
 * its own when that is not the caller's): its return value, with its
 * errno; -1 with errno if the namespace could not be entered. */
PFRINGINT_HIDDEN int pfringint_in_netns_of(int fd, int (*fn)(void *arg), void *arg);
/* Sets PF_RING's symmetric RSS key (0x6d5a...); 0, or -1 with errno. */
PFRINGINT_HIDDEN int pfringint_if_set_symmetric_rss(int fd, const char *name);

/* ------------------------------------------------------------------------ */
/* Kernel programs (kernel/filter.c)                                         */

struct pfringint_filter_spec {
  packet_direction direction;
  u_int8_t drop_loopback_outgoing;  /* drop the TX copy of loopback traffic */
  u_int32_t num_ifindex;            /* >0: accept only these interfaces */
  const int *ifindex;
  u_int16_t vlan_id;                /* RING_ANY_VLAN, RING_NO_VLAN or 1..4095 */
  u_int64_t channel_mask;           /* RING_ANY_CHANNEL or a queue mask */
  u_int8_t rss_rehash;              /* channel = flow hash % num_rx_queues */
  u_int32_t num_rx_queues;          /* of the device, for rss_rehash (0 = 1) */
  u_int8_t drop_all;                /* a disabled clustered ring */
  const struct sock_filter *user;   /* the compiled BPF filter or NULL */
  u_int32_t user_len;
  u_int32_t snaplen;                /* accept length */
};

/* Builds one classic BPF socket filter; out->filter is malloc'ed.  Returns
 * 0, PF_RING_ERROR_INVALID_ARGUMENT if the program would be too long,
 * PF_RING_ERROR_NOT_ENOUGH_MEMORY, or PF_RING_ERROR_GENERIC if the flow hash
 * of rss_rehash could not be generated (an internal error). */
PFRINGINT_HIDDEN int pfringint_build_socket_filter(const struct pfringint_filter_spec *spec,
                                                   struct sock_fprog *out);

/* The PACKET_FANOUT_CBPF program of a per-flow cluster type (kernel/cluster.c):
 * it returns a symmetric hash of the type's fields and the kernel picks
 * member hash % members.  The program runs before the MAC header is pushed,
 * so it reads the frame through SKF_LL_OFF / SKF_NET_OFF relative loads.
 * Returns 0, PF_RING_ERROR_NOT_SUPPORTED for types without a program
 * (round robin uses FANOUT_LB) with a message in errbuf. */
PFRINGINT_HIDDEN int pfringint_build_cluster_program(cluster_type type, struct sock_fprog *out,
                                                     char *errbuf, size_t errlen);

/* The same hash as a fragment for the front of a socket filter: every path
 * ends after its last instruction with the hash in A (non-IP traffic of the
 * types without a MAC pair hashes to 0).  Uses X and scratch words 0..6.
 * The RSS rehash of a ring uses PFRINGINT_RSS_REHASH_TYPE. */
PFRINGINT_HIDDEN int pfringint_build_flow_hash(cluster_type type, struct sock_fprog *out,
                                               char *errbuf, size_t errlen);
/* PF_RING's rehash: VLAN id, protocol, addresses and ports (as per_flow). */
#define PFRINGINT_RSS_REHASH_TYPE cluster_per_flow

/* The cluster registry (cluster_registry.c), used by pfring.c only: claim
 * refuses a ring whose cluster type differs from the live members' (error
 * set on the ring) and records the ring; release drops the ring's entry. */
PFRINGINT_HIDDEN int pfringint_cluster_claim(pfring *ring);
PFRINGINT_HIDDEN void pfringint_cluster_release(pfring *ring);
/* Drops the dead members of every cluster file in clusters (the sweep). */
PFRINGINT_HIDDEN void pfringint_cluster_sweep(int tree, int clusters);

/* Compiles a BPF expression with the system libpcap (bpf.c). */
PFRINGINT_HIDDEN int pfringint_compile_bpf(const char *expr, int dlt, u_int32_t snaplen,
                                           struct sock_fprog *out,
                                           char *errbuf, size_t errlen);

/* Makes a program ready to run in user space (bpf.c): loads the system
 * libpcap if need be and checks the program with its bpf_validate.  Returns
 * 0, PF_RING_ERROR_INVALID_ARGUMENT for a program the interpreter refuses,
 * PF_RING_ERROR_NOT_SUPPORTED without a system libpcap; text in errbuf. */
PFRINGINT_HIDDEN int pfringint_bpf_userspace_ready(const struct sock_fprog *prog,
                                                   char *errbuf, size_t errlen);

/* Runs a compiled program on a packet with the system libpcap's bpf_filter
 * (bpf.c): non-zero if it accepts.  Only after pfringint_bpf_userspace_ready
 * accepted the program. */
PFRINGINT_HIDDEN u_int pfringint_bpf_match(const struct sock_fprog *prog, const u_char *pkt,
                                           u_int len, u_int caplen);

/* ------------------------------------------------------------------------ */
/* Filtering rules (rules.c, kernel/rules/)                                  */

struct pfring_rules_wild;
struct pfring_rules_hkey;

/* The ring's wildcard and hash rules, for the status tree (rules.c). */
PFRINGINT_HIDDEN void pfringint_rules_counts(pfring *ring, u_int32_t *wildcard, u_int32_t *hash);

/* Checks a rule and encodes it for the rules program (kernel/rules/encode.c):
 * 0, or a PF_RING_ERROR_* code with a message naming the field in err. */
PFRINGINT_HIDDEN int pfringint_rule_encode(const filtering_rule *rule,
                                           struct pfring_rules_wild *out,
                                           char *err, size_t errlen);
/* Checks a hash rule and makes its key (both directions in one) and the
 * action the program reads (kernel/rules/encode.c): 0 or an error code with
 * a message naming the field. */
PFRINGINT_HIDDEN int pfringint_hash_rule_encode(const hash_filtering_rule *rule,
                                                struct pfring_rules_hkey *key,
                                                u_int8_t *action, char *err, size_t errlen);
/* The form of a classic filter the rules program runs without its
 * interpreter (PFRING_RULES_NATIVE_*, kernel/rules/encode.c), and its
 * accept length in *snap. */
PFRINGINT_HIDDEN int pfringint_rules_native(const struct sock_filter *f, u_int32_t len,
                                            u_int32_t *snap);
/* The name of a rule_action_behaviour value, NULL if it is none. */
PFRINGINT_HIDDEN const char *pfringint_rule_action_name(int action);

/* From the backend's filter update (ops.update_filter), when
 * ring->filter.rules is set: a new instance of the rules program around
 * classic (the ring's classic filter, as filter.c built it) is loaded and
 * handed to ops.attach_rules_prog; once attached it replaces the ring's old
 * instance.  On failure nothing changed (the old program stays attached).
 * Returns 0 or a PF_RING_ERROR_* code with the ring's error set. */
PFRINGINT_HIDDEN int pfringint_rules_attach(pfring *ring, const struct sock_fprog *classic);
/* The classic filter was attached in place of the rules program: the
 * ring's instance is freed (its stats stay). */
/* What reflect and bounce rules sent and failed to send (the status tree's
 * "Reflect: Fwd Ok" / "Fwd Errors"). */
PFRINGINT_HIDDEN void pfringint_rules_reflected(pfring *ring, u_int64_t *sent, u_int64_t *failed);
/* The reflector acts while the ring is enabled: after an enable or a
 * disable, opens or closes its links (0, or an error code after a failed
 * open). */
PFRINGINT_HIDDEN int pfringint_rules_reflector_sync(pfring *ring);
/* The ring has a rule (wildcard or hash) that reflects or bounces. */
PFRINGINT_HIDDEN int pfringint_rules_reflect(const pfring *ring);
PFRINGINT_HIDDEN void pfringint_rules_detached(pfring *ring);
/* Frees a rule set (NULL is fine). */
PFRINGINT_HIDDEN void pfringint_ruleset_free(struct pfringint_ruleset *set);
/* At close: the rule set, the program and the maps. */
PFRINGINT_HIDDEN void pfringint_rules_release(pfring *ring);

/* Hardware rules (hw_rules.c).  At close, before the backend closes its
 * socket: the NIC rules the ring added are removed and the table freed. */
struct pfringint_hw_rules;
PFRINGINT_HIDDEN void pfringint_hw_rules_release(pfring *ring);
/* Checks a hardware rule and writes its ETHTOOL_SRXCLSRLINS request
 * (hw_encode.c): 0, or a PF_RING_ERROR_* code with a message naming the
 * field in err.  num_queues: the device's RX queues (0: not checked). */
struct ethtool_rxnfc;
PFRINGINT_HIDDEN int pfringint_hw_rule_encode(const hw_filtering_rule *rule, int num_queues,
                                              struct ethtool_rxnfc *cmd, char *err,
                                              size_t errlen);
/* The ring's hardware rules, for the status tree. */
PFRINGINT_HIDDEN u_int32_t pfringint_hw_rules_count(pfring *ring);

/* CHECK_RING (pfring.c) for the public wrappers of other files: 0 and the
 * call counted in, or an error code (a NULL or closed ring) with the
 * ring's error set; pfringint_ring_leave ends the call. */
PFRINGINT_HIDDEN int pfringint_ring_enter(pfring *ring);
PFRINGINT_HIDDEN void pfringint_ring_leave(pfring **ring);
#define PFRINGINT_CHECK_RING(r)                                               \
  pfring *pfringint_guard_ __attribute__((cleanup(pfringint_ring_leave))) = NULL; \
  do {                                                                        \
    int rc_ = pfringint_ring_enter(r);                                        \
    if (rc_ < 0)                                                              \
      return rc_;                                                             \
    pfringint_guard_ = (r);                                                   \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Status tree (status.c)                                                    */

PFRINGINT_HIDDEN void pfringint_status_register(pfring *ring);   /* at open */
PFRINGINT_HIDDEN void pfringint_status_tick(void);
PFRINGINT_HIDDEN void pfringint_status_update(pfring *ring);     /* rewrite the ring file */
PFRINGINT_HIDDEN void pfringint_status_unregister(pfring *ring); /* at close */
PFRINGINT_HIDDEN int pfringint_status_write_appl_stats(pfring *ring, const char *text);
PFRINGINT_HIDDEN void pfringint_status_path(pfring *ring, const char *sub,
                                            char *path, size_t len);
PFRINGINT_HIDDEN u_int32_t pfringint_next_ring_id(void);
/* Sets (fn non-NULL) or clears the ring's extra status lines; once a clear
 * returns, the writer never calls the old fn again.  fn writes its lines
 * with pfringint_status_field(text, ...), and rewrites the file at once. */
PFRINGINT_HIDDEN void pfringint_status_set_extra(pfring *ring, void (*fn)(void *arg, void *text),
                                                 void *arg);
PFRINGINT_HIDDEN void pfringint_status_field(void *text, const char *label, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
/* The tree for cluster_registry.c.  Directories are opened O_DIRECTORY|
 * O_NOFOLLOW and checked; shared files (locked in place) O_NOFOLLOW and
 * checked; one that fails refuses the whole tree.  Each returns an fd or -1
 * (errno set).  ring_alive: whether the ring file of (pid, ring_id) is
 * locked by its writer (1, also when it cannot be told) or not (0). */
PFRINGINT_HIDDEN int pfringint_status_tree(int create);
PFRINGINT_HIDDEN int pfringint_status_subdir(int tree, const char *name, int create);
PFRINGINT_HIDDEN int pfringint_status_open_shared(int dir, const char *name, const char *rel,
                                                  int create);
PFRINGINT_HIDDEN int pfringint_status_ring_alive(int tree, long pid, unsigned long ring_id);

#endif /* PFRING_INT_H */
