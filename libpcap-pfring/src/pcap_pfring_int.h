/*
 * pcap_pfring_int.h - internals of libpcap-pfring, the libpcap drop-in.
 *
 * Every pcap_t this library hands out is its own struct pcap (below).  A
 * handle is in one of three states:
 *
 *   created   pcap_create() made it: `sys` is an unactivated handle of the
 *             system libpcap (the "shadow") that answers the questions asked
 *             before activation and keeps the options for a fallback;
 *   ring      pcap_activate() opened a libpfring ring: `ring` is set, `sys`
 *             is NULL and `dead` is a pcap_open_dead() handle of the system
 *             libpcap (Ethernet, the snaplen and the time stamp precision)
 *             that compiles filters and opens dump files;
 *   system    everything else: offline files, pcap_open_dead() and live
 *             captures that fell back.  Every call is forwarded to `sys`.
 *
 * The system libpcap is opened by its real path, privately
 * (RTLD_LOCAL | RTLD_DEEPBIND), so its own calls stay inside it and no
 * lookup can come back to this library (syslib.c).
 */
#ifndef PCAP_PFRING_INT_H
#define PCAP_PFRING_INT_H

/* The drop-in forwards libpcap's deprecated functions on purpose. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <pthread.h>
#include <pcap/pcap.h>
#include <pcap/namedb.h>
#include <pfring.h>

#define HIDDEN __attribute__((visibility("hidden")))
#define API __attribute__((visibility("default")))

#define PCAPPF_MAX_SNAPLEN 262144   /* libpcap's MAXIMUM_SNAPLEN */

/* Every function of the system libpcap this library calls. */
#define SYS_FUNCS(X)                                                          \
  X(bpf_dump) X(bpf_filter) X(bpf_image) X(bpf_validate) X(pcap_activate)     \
  X(pcap_breakloop) X(pcap_bufsize) X(pcap_can_set_rfmon) X(pcap_close)       \
  X(pcap_compile) X(pcap_compile_nopcap) X(pcap_create) X(pcap_datalink)      \
  X(pcap_datalink_ext) X(pcap_datalink_name_to_val)                           \
  X(pcap_datalink_val_to_description)                                         \
  X(pcap_datalink_val_to_description_or_dlt) X(pcap_datalink_val_to_name)     \
  X(pcap_dispatch) X(pcap_dump) X(pcap_dump_close) X(pcap_dump_file)          \
  X(pcap_dump_flush) X(pcap_dump_fopen) X(pcap_dump_ftell)                    \
  X(pcap_dump_ftell64) X(pcap_dump_open) X(pcap_dump_open_append)             \
  X(pcap_ether_aton) X(pcap_ether_hostton) X(pcap_file) X(pcap_fileno)        \
  X(pcap_findalldevs) X(pcap_fopen_offline)                                   \
  X(pcap_fopen_offline_with_tstamp_precision) X(pcap_free_datalinks)          \
  X(pcap_free_tstamp_types) X(pcap_freealldevs) X(pcap_freecode)              \
  X(pcap_get_required_select_timeout) X(pcap_get_selectable_fd)               \
  X(pcap_get_tstamp_precision) X(pcap_geterr) X(pcap_getnonblock)             \
  X(pcap_init) X(pcap_inject) X(pcap_is_swapped) X(pcap_lib_version)          \
  X(pcap_list_datalinks) X(pcap_list_tstamp_types) X(pcap_lookupdev)          \
  X(pcap_lookupnet) X(pcap_loop) X(pcap_major_version) X(pcap_minor_version)  \
  X(pcap_nametoaddr) X(pcap_nametoaddrinfo) X(pcap_nametoeproto)              \
  X(pcap_nametollc) X(pcap_nametonetaddr) X(pcap_nametoport)                  \
  X(pcap_nametoportrange) X(pcap_nametoproto) X(pcap_next)                    \
  X(pcap_next_etherent) X(pcap_next_ex) X(pcap_offline_filter)                \
  X(pcap_open_dead) X(pcap_open_dead_with_tstamp_precision)                   \
  X(pcap_open_live) X(pcap_open_offline)                                      \
  X(pcap_open_offline_with_tstamp_precision) X(pcap_perror)                   \
  X(pcap_sendpacket) X(pcap_set_buffer_size) X(pcap_set_datalink)             \
  X(pcap_set_immediate_mode) X(pcap_set_promisc) X(pcap_set_protocol_linux)   \
  X(pcap_set_rfmon) X(pcap_set_snaplen) X(pcap_set_timeout)                   \
  X(pcap_set_tstamp_precision) X(pcap_set_tstamp_type) X(pcap_setdirection)   \
  X(pcap_setfilter) X(pcap_setnonblock) X(pcap_snapshot) X(pcap_stats)        \
  X(pcap_statustostr) X(pcap_strerror) X(pcap_tstamp_type_name_to_val)        \
  X(pcap_tstamp_type_val_to_description) X(pcap_tstamp_type_val_to_name)

struct pcappf_sys {
#define X(name) __typeof__(name) *name;
  SYS_FUNCS(X)
#undef X
};

/* The system libpcap's functions, or NULL if it cannot be loaded; the
 * reason is then in pcappf_sys_error() and printed once on stderr. */
HIDDEN const struct pcappf_sys *pcappf_sys(void);
HIDDEN const char *pcappf_sys_error(void);

/* Calls the system libpcap's fn, or returns fail when it cannot be loaded. */
#define SYS_CALL(fail, fn, ...)                                       \
  do {                                                                \
    const struct pcappf_sys *sys_ = pcappf_sys();                     \
    if (!sys_)                                                        \
      return fail;                                                    \
    return sys_->fn(__VA_ARGS__);                                     \
  } while (0)
#define SYS_CALL_VOID(fn, ...)                                        \
  do {                                                                \
    const struct pcappf_sys *sys_ = pcappf_sys();                     \
    if (sys_)                                                         \
      sys_->fn(__VA_ARGS__);                                          \
  } while (0)

/* PF_RING's libpcap variables, parsed once per process by libpfring. */
HIDDEN const struct pfring_pcap_env *pcappf_env(void);
/* Diagnostics of the drop-in, "pcap-pfring: <text>", through libpfring's
 * print callback (see syslib.c): pcappf_log at a level (0 error, 1
 * warning), pcappf_debug at level 2 (info), which the drop-in's callback
 * shows under PCAP_PF_RING_DEBUG (one line per activation). */
HIDDEN void pcappf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
HIDDEN void pcappf_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What the last live activation did, for pcap_lib_version(). */
HIDDEN void pcappf_note_activation(const char *device, const char *fallback_reason);

#define PCAPPF_BURST 32           /* packets per pfring_recv_burst */
/* The longest packet a ring hands over: MAX_CAPLEN, a VLAN tag put back,
 * a cooked header. */
#define PCAPPF_KEEP_BYTES (MAX_CAPLEN + 64)

struct pcap {
  /* --- the ring's read path first --- */
  pfring *ring;
  volatile int break_loop;
  int nonblock;
  int timeout;                   /* ms: the kernel block timeout (0: 1 s) */
  int snaplen;
  int tstamp_precision;          /* PCAP_TSTAMP_PRECISION_MICRO or _NANO */
  int active_poll;               /* PCAP_PF_RING_ACTIVE_POLL */
  struct pcap_pkthdr next_hdr;   /* pcap_next/pcap_next_ex */
  const u_char *next_data;
  u_char *keep_buf;              /* PCAPPF_KEEP_BYTES: next_data when its block went back */
  /* The last pfring_recv_burst and how far the reader is in it: packets
   * not yet delivered (after a count or a break) are delivered first, before
   * the ring is read again (their pointers are valid until then). */
  int burst_pos, burst_n;
  struct pfring_burst_pkt burst[PCAPPF_BURST];
  /* The last program pcap_compile made for this ring and its expression
   * (malloc'ed): pcap_setfilter hands the expression to libpfring with that
   * program, and libpfring decides where it runs. */
  const struct bpf_insn *compiled_insns;
  char *compiled_expr;
  int compiled_optimize;
  bpf_u_int32 compiled_mask;
  /* The ring's data link: native_dlt (DLT_EN10MB, PF_RING's framing, or DLT_RAW
   * on devices without a link-layer header), or Linux cooked headers made
   * in place from libpfring's packet metadata (to_cooked): on `any` when
   * pcap_set_datalink asks for them, and always (cooked_only) on the
   * devices stock libpcap reads only in cooked mode.  Filters then run on
   * the ring's own packets, compiled again from their expression. */
  int dlt;
  int native_dlt;                  /* the ring's own: DLT_EN10MB, or DLT_RAW (pfring_get_link_type) */
  int cooked_only;                 /* DLT_LINUX_SLL is the one data link offered */
  /* ps_ifdrop as libpcap gives it: with promisc only, the devices' drops
   * since activation. */
  int count_ifdrop;
  u_int64_t ifdrop_base;
  /* The reads under way (pcap_loop, pcap_dispatch, pcap_next_ex) and the
   * thread they run on.  A pcap_close on that thread during a read (from a
   * signal handler, as ngrep's SIGINT handler does, or from a callback)
   * cannot wait for the read below it on its own stack: it breaks the read
   * and leaves the freeing to the read's return (close_pending). */
  int reading;
  pthread_t reader;
  volatile int close_pending;

  /* --- the other states --- */
  pcap_t *sys;                   /* created: the shadow; system: the handle */
  pcap_t *dead;                  /* ring: Ethernet handle for compile/dump */
  int live;                      /* made by pcap_create() */
  int activated;
  char *device;
  int promisc;
  int immediate;
  int rfmon;                     /* monitor mode asked for: not on a ring */
  int buffer_size;               /* pcap_set_buffer_size bytes; 0: the ring's default */
  int ring_error;                /* activation failed on the ring: errbuf says why */
  char errbuf[PCAP_ERRBUF_SIZE];
};

/* The system handle that answers for p: the shadow or the handle itself,
 * or the dead Ethernet handle of a ring. */
static inline pcap_t *pcappf_target(pcap_t *p)
{
  return p->ring ? p->dead : p->sys;
}

/* A handle of ours around a handle of the system libpcap (NULL stays NULL). */
HIDDEN pcap_t *pcappf_wrap(pcap_t *sys);
/* Opens p's ring.  0: done; 1: fall back (reason in why); <0: a hard error
 * in p->errbuf (PCAP_ERROR). */
HIDDEN int pcappf_ring_activate(pcap_t *p, char *why, size_t whylen);
HIDDEN void pcappf_ring_close(pcap_t *p);
/* pcap_close(p) from inside a read of p on this thread: 1 when the close
 * is left to that read (see struct pcap's reading), else 0. */
HIDDEN int pcappf_ring_close_in_read(pcap_t *p);
/* Frees p, whatever its state (pcap_close's work). */
HIDDEN void pcappf_free(pcap_t *p);
/* The data links a ring offers (pcap_list_datalinks) and switching to one
 * (pcap_set_datalink): 0, or PCAP_ERROR with stock libpcap's text. */
HIDDEN int pcappf_ring_datalinks(pcap_t *p, int **dlts);
/* Frees a list pcappf_ring_datalinks made: 1, or 0 if dlts is not one. */
HIDDEN int pcappf_free_ring_datalinks(int *dlts);
HIDDEN int pcappf_ring_set_datalink(pcap_t *p, int dlt);

#endif /* PCAP_PFRING_INT_H */
