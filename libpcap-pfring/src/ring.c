/*
 * ring.c - live capture on a libpfring ring, behind libpcap's API.
 *
 * Activation is libpfring's pfring_open_pcap_env(), PF_RING's libpcap rules
 * under the PCAP_PF_RING_* variables (flags, promisc unless the device is
 * `any`, poll watermark 1, recv-only mode, cluster, application name, RSS
 * re-hash); this file adds what is pcap's: snaplen, batching, rfmon, the
 * enable and the dead handle that answers compile and dump calls.  Without
 * immediate mode the kernel batches packets as stock libpcap does, in
 * bigger blocks (1 MiB where stock libpcap has 256 KiB: a quarter of the
 * wake-ups), handed over when full or after the pcap timeout; immediate
 * mode is libpfring's (pfring_set_batching with 1 ms): a TPACKET_V2 ring
 * that hands each packet over as it lands, as stock libpcap's immediate
 * mode does.  The data link is the device's, as stock libpcap gives it:
 * Ethernet (the loopback device and `any` included), or LINUX_SLL for the
 * devices stock libpcap reads cooked (ip6tnl, gre, ip6gre, PPP, raw IP).
 * Unlike PF_RING, the ring is enabled at activation, as
 * stock libpcap captures from then on, and a cluster that cannot be joined
 * is an error rather than a silent unclustered capture.  A handle that asks
 * for monitor mode (pcap_set_rfmon) goes to the system libpcap, which sets
 * it or answers PCAP_ERROR_RFMON_NOTSUP as it would without PF_RING.
 *
 * The read loop hands out pointers into the ring (no copy): a packet stays
 * valid until the next read, which is what pcap_next_ex promises.  It makes
 * no system call while packets are queued; when the ring is empty it waits
 * in pfring_poll until a packet comes, whatever the pcap timeout (as stock
 * libpcap on TPACKET_V3, whose kernel retires no empty block), which
 * pcap_breakloop cuts short; non-blocking mode returns at once.
 *
 * Filters are libpfring's (pfring_set_bpf_program_ex with libpcap's rules,
 * PFRING_BPF_LIBPCAP): packets already queued are filtered too, as stock
 * libpcap filters the blocks still in its ring; a program the kernel refuses
 * runs in user space.  libpfring decides where a program runs (under
 * PCAP_PF_RING_USERSPACE_BPF, which the ring was opened with, and for an
 * expression that tests VLAN tags: in user space); pcap_setfilter passes the
 * expression pcap_compile made the program from.  The packets libpfring's
 * user-space filter rejects never reach this file, nor its recv count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if_arp.h>

#include "pcap_pfring_int.h"

#define READ_BATCH_MAX 65536   /* packets per pcap_dispatch(-1) */
#define BATCH_BLOCK (1024 * 1024) /* kernel block size without immediate mode */

static int ring_error(pcap_t *p, const char *what)
{
  snprintf(p->errbuf, sizeof(p->errbuf), "%s: %s", what, pfring_last_error(p->ring));
  return PCAP_ERROR;
}

/* ------------------------------------------------------------------------ */
/* Activation                                                                */

/* Of the devices whose packets start with the network header (a ring's
 * DLT_RAW), the types stock libpcap reads as DLT_RAW.  It reads the others
 * (ip6tnl, gre, ip6gre, PPP, raw IP, and types it does not know) in cooked
 * mode, DLT_LINUX_SLL and nothing else, and so does the drop-in: the same
 * packets behind the header stock makes. */
static int stock_reads_raw(u_int16_t arphrd)
{
  switch (arphrd) {
  case ARPHRD_NONE:
  case ARPHRD_TUNNEL:
  case ARPHRD_SIT:
  case ARPHRD_SLIP:
  case ARPHRD_CSLIP:
  case ARPHRD_SLIP6:
  case ARPHRD_CSLIP6:
  case ARPHRD_ADAPT:
  case ARPHRD_RAWHDLC:
  case ARPHRD_DLCI:
    return 1;
  default:
    return 0;
  }
}

/* libpfring's warnings about this activation are the drop-in's to show. */
static void activation_warning(int level, const char *msg, void *user)
{
  (void)user;
  pcappf_log(level, "%s", msg);
}

int pcappf_ring_activate(pcap_t *p, char *why, size_t whylen)
{
  const struct pfring_pcap_env *env = pcappf_env();
  const struct pcappf_sys *sys = pcappf_sys();
  struct pfring_pcap_open_result res;
  struct pfring_pcap_open opts = {
    .size = sizeof(opts),
    .promisc = p->promisc,
    .listen = 1,
    /* Without immediate mode, the kernel hands packets over in batches of
     * up to BATCH_BLOCK bytes or the pcap timeout (1 s for 0, which stock
     * libpcap reads as "until the block is full"), as stock libpcap's
     * TPACKET_V3 ring does: far fewer wake-ups per packet.  A wake-up costs
     * tens of microseconds, so the blocks are four times stock's (the ring
     * is at least 8 MiB, about PF_RING's size for its default caplen).
     * Immediate mode is a batching of 1 ms, which libpfring reads as
     * "no batching": one frame per packet, handed over as it lands.  The
     * reader then takes every packet there is (watermark 1, set by
     * libpfring). */
    .batching = 1,
    .batch_timeout_ms = p->immediate ? 1 : p->timeout > 0 ? (u_int)p->timeout : 1000,
    .batch_block_bytes = p->immediate ? 0 : BATCH_BLOCK,
    .print = activation_warning,
  };
  int snaplen = p->snaplen;
  u_int16_t arphrd = 0;
  pfring *ring;

  if (env->no_pf_ring) {
    snprintf(why, whylen, "PCAP_NO_PF_RING is set");
    return 1;
  }
  if (p->rfmon) {
    /* The system libpcap sets monitor mode, or says the device has none. */
    snprintf(why, whylen, "monitor mode was requested, which a ring does not set");
    return 1;
  }
  if (snaplen <= 0 || snaplen > PCAPPF_MAX_SNAPLEN)
    snaplen = PCAPPF_MAX_SNAPLEN;
  /* pcap programs are mostly single-threaded stdio users: keep them so. */
  pfring_status_inline(1);
  /* Flags, the HW_TIMESTAMP retry, watermark, recv-only mode, cluster,
   * application name and RSS re-hash are libpfring's rules. */
  ring = pfring_open_pcap_env(p->device, snaplen < MAX_CAPLEN ? (u_int32_t)snaplen : MAX_CAPLEN,
                              env, &opts, &res);
  if (!ring && !res.set_up) {
    snprintf(why, whylen, "%s", res.errbuf);
    return 1;
  }
  if (!ring) {
    /* recv-only mode or the cluster: an error of its own, not a fallback */
    snprintf(p->errbuf, sizeof(p->errbuf), "%s", res.errbuf);
    return -1;
  }
  p->ring = ring;
  p->snaplen = snaplen;
  p->active_poll = env->active_poll;
  if (p->buffer_size > 0 && pfring_set_buffer_size(ring, (u_int64_t)p->buffer_size) < 0) {
    ring_error(p, "buffer size");
    pcappf_ring_close(p);
    return -1;
  }
  if (pfring_enable_ring(ring) < 0) {
    /* e.g. the interface is down: the system libpcap says it its own way */
    snprintf(why, whylen, "%s", pfring_last_error(ring));
    pcappf_ring_close(p);
    return 1;
  }
  if (p->promisc) {
    pfring_kernel_stat st;
    if (pfring_stats_kernel(ring, &st) == 0) {
      p->count_ifdrop = 1;
      p->ifdrop_base = st.if_drop;
    }
  }
  /* the ring's link layer: Ethernet, or raw IP on devices without a
   * link-layer header; stock reads some of the latter cooked */
  if (pfring_get_link_type(ring, &arphrd, &p->native_dlt) < 0 || p->native_dlt < 0)
    p->native_dlt = DLT_EN10MB;
  p->cooked_only = p->native_dlt == DLT_RAW && !stock_reads_raw(arphrd);
  p->dlt = p->cooked_only ? DLT_LINUX_SLL : p->native_dlt;
  p->dead = sys->pcap_open_dead_with_tstamp_precision(p->dlt, snaplen,
                                                      (u_int)p->tstamp_precision);
  if (!p->dead) {
    snprintf(p->errbuf, sizeof(p->errbuf), "out of memory for a capture handle");
    pcappf_ring_close(p);
    return -1;
  }
  return 0;
}

void pcappf_ring_close(pcap_t *p)
{
  const struct pcappf_sys *sys = pcappf_sys();

  if (p->ring)
    pfring_close(p->ring);
  p->ring = NULL;
  p->burst_pos = p->burst_n = 0;
  free(p->keep_buf);
  p->keep_buf = NULL;
  if (p->dead && sys)
    sys->pcap_close(p->dead);
  p->dead = NULL;
  free(p->compiled_expr);
  p->compiled_expr = NULL;
  p->compiled_insns = NULL;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

/* Waits a while for packets: 0, or <0 on an error.  The caller looks at
 * the ring (and at a break) again either way.  As stock libpcap on
 * TPACKET_V3, a read waits until there is a packet, whatever the pcap
 * timeout: the kernel hands over no empty block, so stock's poll() only
 * returns for a packet, a pcap_breakloop or an error (see README.md). */
static int wait_packets(pcap_t *p)
{
  if (pfring_poll(p->ring, 1000) < 0)
    return ring_error(p, "poll");
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Data links: the ring's, and Linux cooked headers on `any` or as stock     */

static int ring_is_any(const pcap_t *p)
{
  return p->device && strcmp(p->device, "any") == 0;
}

static int dlt_offered(const pcap_t *p, int dlt)
{
  if (p->cooked_only)
    return dlt == DLT_LINUX_SLL;
  return dlt == p->native_dlt ||
         (ring_is_any(p) && (dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2));
}

/* The lists pcappf_ring_datalinks made and pcap_free_datalinks has not
 * freed yet: each library frees only what it allocated (the system libpcap
 * may have an allocator of its own, under a sanitizer). */
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;
static int **lists;
static size_t num_lists, lists_room;

int pcappf_ring_datalinks(pcap_t *p, int **dlts)
{
  const int offered[] = { p->cooked_only ? DLT_LINUX_SLL : p->native_dlt, DLT_LINUX_SLL,
                          DLT_LINUX_SLL2 };
  int n = ring_is_any(p) ? 3 : 1;
  int *list = malloc(sizeof(offered));

  pthread_mutex_lock(&lists_lock);
  if (list && num_lists == lists_room) {
    size_t room = lists_room ? lists_room * 2 : 8;
    int **grown = realloc(lists, room * sizeof(*lists));
    if (grown) {
      lists = grown;
      lists_room = room;
    }
  }
  if (list && num_lists < lists_room) {
    lists[num_lists++] = list;
  } else {
    free(list);
    list = NULL;
  }
  pthread_mutex_unlock(&lists_lock);
  if (!list) {
    snprintf(p->errbuf, sizeof(p->errbuf), "malloc: out of memory");
    return PCAP_ERROR;
  }
  memcpy(list, offered, sizeof(offered));
  *dlts = list;
  return n;
}

int pcappf_free_ring_datalinks(int *dlts)
{
  size_t i;
  int ours = 0;

  pthread_mutex_lock(&lists_lock);
  for (i = 0; i < num_lists; i++)
    if (lists[i] == dlts) {
      lists[i] = lists[--num_lists];
      ours = 1;
      break;
    }
  pthread_mutex_unlock(&lists_lock);
  if (ours)
    free(dlts);
  return ours;
}

/* As stock libpcap: a data link the device does not offer is refused with
 * its words; one it offers becomes pcap_datalink()'s, the dump files' and
 * pcap_compile's (the dead handle is made again for it). */
int pcappf_ring_set_datalink(pcap_t *p, int dlt)
{
  const struct pcappf_sys *sys = pcappf_sys();
  pcap_t *dead;

  if (!dlt_offered(p, dlt)) {
    const char *name = sys->pcap_datalink_val_to_name(dlt);
    if (name)
      snprintf(p->errbuf, sizeof(p->errbuf),
               "%s is not one of the DLTs supported by this device", name);
    else
      snprintf(p->errbuf, sizeof(p->errbuf),
               "DLT %d is not one of the DLTs supported by this device", dlt);
    return PCAP_ERROR;
  }
  if (dlt == p->dlt)
    return 0;
  dead = sys->pcap_open_dead_with_tstamp_precision(dlt, p->snaplen,
                                                   (u_int)p->tstamp_precision);
  if (!dead) {
    snprintf(p->errbuf, sizeof(p->errbuf), "out of memory for a capture handle");
    return PCAP_ERROR;
  }
  sys->pcap_close(p->dead);
  p->dead = dead;
  p->dlt = dlt;
  /* a program compiled for the old link is no longer this handle's */
  p->compiled_insns = NULL;
  return 0;
}

static inline void put16(u_char *at, u_int16_t v)
{
  at[0] = (u_char)(v >> 8);
  at[1] = (u_char)v;
}

/* The packets of the burst just read, as stock libpcap's cooked capture
 * gives them: the header LINUX_SLL (16 bytes; with the VLAN tag the kernel
 * took out, 20, as stock puts it back) or LINUX_SLL2 (20 bytes, no tag)
 * made from libpfring's metadata of each packet, in place in front of the
 * network header, over the Ethernet header and the headroom libpfring
 * leaves.  Lengths then count from the cooked header. */
static int to_cooked(pcap_t *p)
{
  const int sll2 = p->dlt == DLT_LINUX_SLL2;
  struct pfring_pkt_link l;
  int i;

  for (i = 0; i < p->burst_n; i++) {
    struct pfring_burst_pkt *b = &p->burst[i];
    u_int hlen;
    u_char *net, *h;

    if (pfring_get_pkt_link(p->ring, b->data, &l) < 0)
      return ring_error(p, "cooked header");
    hlen = sll2 ? 20 : l.vlan_tpid ? 20 : 16;
    if ((u_int)l.net_offset + l.headroom < hlen) {
      snprintf(p->errbuf, sizeof(p->errbuf),
               "cooked-mode frame doesn't have room for sll header");
      return PCAP_ERROR;
    }
    net = (u_char *)b->data + l.net_offset;
    h = net - hlen;
    if (sll2) {
      put16(h, l.protocol);
      put16(h + 2, 0);
      put16(h + 4, (u_int16_t)((u_int32_t)l.if_index >> 16));
      put16(h + 6, (u_int16_t)l.if_index);
      put16(h + 8, l.hatype);
      h[10] = l.pkttype;
      h[11] = l.halen;
      memcpy(h + 12, l.addr, 8);
    } else {
      put16(h, l.pkttype);
      put16(h + 2, l.hatype);
      put16(h + 4, l.halen);
      memcpy(h + 6, l.addr, 8);
      if (l.vlan_tpid) {
        put16(h + 14, l.vlan_tpid);
        put16(h + 16, l.vlan_tci);
      }
      put16(net - 2, l.protocol);
    }
    b->caplen = (b->caplen > l.net_offset ? b->caplen - l.net_offset : 0) + hlen;
    b->len = (b->len > l.net_offset ? b->len - l.net_offset : 0) + hlen;
    b->data = h;
  }
  return 0;
}

/* Up to cnt packets (<= 0: what is queued, at most READ_BATCH_MAX), read
 * from the ring a burst at a time; waits as libpcap does when there are
 * none.  The pcap_pkthdr is filled straight from the burst. */
static int read_packets(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
  const u_int32_t snaplen = (u_int32_t)p->snaplen;
  const int nano = p->tstamp_precision == PCAP_TSTAMP_PRECISION_NANO;
  int max = cnt > 0 ? cnt : READ_BATCH_MAX, delivered = 0, rc;
  struct pcap_pkthdr ph;

  for (;;) {
    if (p->break_loop) {
      p->break_loop = 0;
      return PCAP_ERROR_BREAK;
    }
    if (p->burst_pos >= p->burst_n) {
      p->burst_pos = p->burst_n = 0;
      rc = pfring_recv_burst(p->ring, p->burst, PCAPPF_BURST, 0);
      if (rc < 0)
        return ring_error(p, "receive");
      if (rc == 0) {
        if (delivered > 0 || p->nonblock || p->active_poll)
          return delivered;
        if ((rc = wait_packets(p)) < 0)
          return rc;
        continue;
      }
      p->burst_n = rc;
      if (p->dlt != p->native_dlt && to_cooked(p) < 0)
        return PCAP_ERROR;
    }
    while (p->burst_pos < p->burst_n) {
      const struct pfring_burst_pkt *b = &p->burst[p->burst_pos++];
      ph.ts.tv_sec = (time_t)b->ts_sec;
      ph.ts.tv_usec = (suseconds_t)(nano ? b->ts_nsec : b->ts_nsec / 1000);
      ph.caplen = b->caplen < snaplen ? b->caplen : snaplen;
      ph.len = b->len;
      delivered++;
      cb(user, &ph, b->data);
      if (p->break_loop) {
        p->break_loop = 0;
        return PCAP_ERROR_BREAK;
      }
      if (delivered >= max)
        return delivered;
    }
  }
}

/* read_packets, then, once the burst is used up, the kernel block it came
 * from goes back to the kernel if all its packets were handed out, as
 * stock libpcap gives back a block as soon as it has read it: otherwise the
 * ring's fd stays readable with nothing to read, and a program that polls
 * it (dumpcap, scapy) would then block in the read.  A callback's packets
 * are only valid during the callback (as with stock libpcap); the one that
 * pcap_next_ex keeps (keep) is copied first, into a buffer of the handle's
 * own, the one copy per block this costs. */
static int ring_read(pcap_t *p, int cnt, pcap_handler cb, u_char *user, int keep)
{
  int rc = read_packets(p, cnt, cb, user);

  if (p->burst_pos < p->burst_n)
    return rc;                        /* the block has packets still to give */
  if (keep && rc > 0) {
    if (!p->keep_buf && !(p->keep_buf = malloc(PCAPPF_KEEP_BYTES))) {
      snprintf(p->errbuf, sizeof(p->errbuf), "out of memory for a packet buffer");
      return PCAP_ERROR;
    }
    memcpy(p->keep_buf, p->next_data, p->next_hdr.caplen);
    p->next_data = p->keep_buf;
  }
  pfring_release_consumed(p->ring);
  return rc;
}

/* A read of p starts on this thread (see struct pcap's reading). */
static void read_begin(pcap_t *p)
{
  if (!__atomic_load_n(&p->reading, __ATOMIC_SEQ_CST))
    p->reader = pthread_self();
  __atomic_add_fetch(&p->reading, 1, __ATOMIC_SEQ_CST);
}

/* The read ends with rc: rc, or PCAP_ERROR_BREAK when p was closed during
 * it, by this thread, and is now freed (p must not be used after that). */
static int read_end(pcap_t *p, int rc)
{
  if (__atomic_sub_fetch(&p->reading, 1, __ATOMIC_SEQ_CST) == 0 && p->close_pending) {
    pcappf_free(p);
    return PCAP_ERROR_BREAK;
  }
  return rc;
}

int pcappf_ring_close_in_read(pcap_t *p)
{
  if (!__atomic_load_n(&p->reading, __ATOMIC_SEQ_CST) ||
      !pthread_equal(p->reader, pthread_self()))
    return 0;
  p->close_pending = 1;
  p->break_loop = 1;
  pfring_breakloop(p->ring);
  return 1;
}

API int pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_dispatch, p->sys, cnt, cb, user);
  read_begin(p);
  return read_end(p, p->close_pending ? PCAP_ERROR_BREAK : ring_read(p, cnt, cb, user, 0));
}

API int pcap_loop(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
  int n = 0, rc;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_loop, p->sys, cnt, cb, user);
  read_begin(p);
  for (;;) {
    rc = p->close_pending ? PCAP_ERROR_BREAK
                          : ring_read(p, cnt > 0 ? cnt - n : -1, cb, user, 0);
    if (rc < 0)
      break;
    n += rc;
    if (cnt > 0 && n >= cnt) {
      rc = 0;
      break;
    }
  }
  return read_end(p, rc);
}

static void keep_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  pcap_t *p = (pcap_t *)user;
  p->next_hdr = *h;
  p->next_data = data;
}

API int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **data)
{
  int rc;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_next_ex, p->sys, h, data);
  read_begin(p);
  rc = read_end(p, p->close_pending ? PCAP_ERROR_BREAK
                                    : ring_read(p, 1, keep_one, (u_char *)p, 1));
  if (rc <= 0)
    return rc;
  *h = &p->next_hdr;
  *data = p->next_data;
  return 1;
}

API const u_char *pcap_next(pcap_t *p, struct pcap_pkthdr *h)
{
  struct pcap_pkthdr *hp;
  const u_char *data;

  if (!p->ring)
    SYS_CALL(NULL, pcap_next, p->sys, h);
  if (pcap_next_ex(p, &hp, &data) <= 0)
    return NULL;
  *h = *hp;
  return data;
}

API void pcap_breakloop(pcap_t *p)
{
  if (!p->ring) {
    SYS_CALL_VOID(pcap_breakloop, p->sys);
    return;
  }
  p->break_loop = 1;
  pfring_breakloop(p->ring);
}

/* Set before activation, the mode is kept for the ring too (as libpcap
 * keeps it for the capture it activates). */
API int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
  if (!p->ring) {
    const struct pcappf_sys *sys = pcappf_sys();
    int rc;
    if (!sys)
      return PCAP_ERROR;
    rc = sys->pcap_setnonblock(p->sys, nonblock, errbuf);
    if (rc == 0 && !p->activated)
      p->nonblock = nonblock != 0;
    return rc;
  }
  p->nonblock = nonblock != 0;
  return 0;
}

API int pcap_getnonblock(pcap_t *p, char *errbuf)
{
  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_getnonblock, p->sys, errbuf);
  return p->nonblock;
}

API int pcap_get_selectable_fd(pcap_t *p)
{
  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_get_selectable_fd, p->sys);
  return pfring_get_selectable_fd(p->ring);
}

API int pcap_fileno(pcap_t *p)
{
  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_fileno, p->sys);
  return pfring_get_selectable_fd(p->ring);
}

API const struct timeval *pcap_get_required_select_timeout(pcap_t *p)
{
  if (!p->ring)
    SYS_CALL(NULL, pcap_get_required_select_timeout, p->sys);
  return NULL;   /* the ring fd is readable whenever packets wait */
}

/* As libpcap on TPACKET_V3: ps_recv is what the kernel queued for the ring,
 * read or not, the drops included (libpfring leaves out what its user-space
 * filter rejected); ps_drop the ring-full drops; ps_ifdrop, in promiscuous
 * mode only, what the device dropped since activation. */
API int pcap_stats(pcap_t *p, struct pcap_stat *ps)
{
  pfring_kernel_stat st;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_stats, p->sys, ps);
  if (!ps) {
    snprintf(p->errbuf, sizeof(p->errbuf), "pcap_stats: ps is NULL");
    return PCAP_ERROR;
  }
  if (pfring_stats_kernel(p->ring, &st) < 0)
    return ring_error(p, "stats");
  ps->ps_recv = (u_int)st.recv;
  ps->ps_drop = (u_int)st.drop;
  ps->ps_ifdrop = p->count_ifdrop ? (u_int)(st.if_drop - p->ifdrop_base) : 0;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Filter and direction                                                      */

/* With cooked headers the program the caller has is for them, and the ring
 * filters its own packets (Ethernet frames, or raw IP): the expression it
 * was compiled from is compiled again for the ring's link type (same
 * optimisation and netmask), and that program goes to libpfring.  A
 * program without its expression cannot be translated. */
static int set_cooked_filter(pcap_t *p, struct bpf_program *fp, const char *expr)
{
  const struct pcappf_sys *sys = pcappf_sys();
  struct bpf_program eth;
  pcap_t *dead;
  int rc;

  if (fp->bf_len == 0 || !fp->bf_insns) {
    snprintf(p->errbuf, sizeof(p->errbuf), "setfilter: an empty program");
    return PCAP_ERROR;
  }
  if (!expr) {
    snprintf(p->errbuf, sizeof(p->errbuf),
             "setfilter: with %s headers a PF_RING ring takes only the program that "
             "pcap_compile made last on this handle (it filters %s packets)",
             sys->pcap_datalink_val_to_name(p->dlt),
             sys->pcap_datalink_val_to_name(p->native_dlt));
    return PCAP_ERROR;
  }
  dead = sys->pcap_open_dead(p->native_dlt, p->snaplen);
  if (!dead) {
    snprintf(p->errbuf, sizeof(p->errbuf), "out of memory for a capture handle");
    return PCAP_ERROR;
  }
  if (sys->pcap_compile(dead, &eth, expr, p->compiled_optimize, p->compiled_mask) < 0) {
    snprintf(p->errbuf, sizeof(p->errbuf),
             "setfilter: a PF_RING ring filters %s packets, for which \"%s\" does not "
             "compile: %s", sys->pcap_datalink_val_to_name(p->native_dlt), expr,
             sys->pcap_geterr(dead));
    sys->pcap_close(dead);
    return PCAP_ERROR;
  }
  rc = pfring_set_bpf_program_ex(p->ring, eth.bf_insns, eth.bf_len, expr, PFRING_BPF_LIBPCAP);
  sys->pcap_freecode(&eth);
  sys->pcap_close(dead);
  if (rc < 0)
    return ring_error(p, "setfilter");
  return 0;
}

API int pcap_setfilter(pcap_t *p, struct bpf_program *fp)
{
  const char *expr;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_setfilter, p->sys, fp);
  if (!fp) {
    snprintf(p->errbuf, sizeof(p->errbuf), "No filter specified");
    return PCAP_ERROR;
  }
  /* The expression, when this is the program pcap_compile made from it. */
  expr = fp->bf_insns && fp->bf_insns == p->compiled_insns ? p->compiled_expr : NULL;
  if (p->dlt != p->native_dlt)
    return set_cooked_filter(p, fp, expr);
  if (pfring_set_bpf_program_ex(p->ring, fp->bf_insns, fp->bf_len, expr,
                                PFRING_BPF_LIBPCAP) < 0)
    return ring_error(p, "setfilter");
  return 0;
}

API int pcap_setdirection(pcap_t *p, pcap_direction_t d)
{
  packet_direction dir;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_setdirection, p->sys, d);
  switch (d) {
  case PCAP_D_INOUT: dir = rx_and_tx_direction; break;
  case PCAP_D_IN:    dir = rx_only_direction; break;
  case PCAP_D_OUT:   dir = tx_only_direction; break;
  default:
    snprintf(p->errbuf, sizeof(p->errbuf), "Invalid direction %d", (int)d);
    return PCAP_ERROR;
  }
  if (pfring_set_direction(p->ring, dir) < 0)
    return ring_error(p, "setdirection");
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

API int pcap_inject(pcap_t *p, const void *buf, size_t size)
{
  int rc;

  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_inject, p->sys, buf, size);
  if (pcappf_env()->recv_only) {
    snprintf(p->errbuf, sizeof(p->errbuf),
             "cannot send: PCAP_PF_RING_RECV_ONLY made this ring receive-only");
    return PCAP_ERROR;
  }
  if (size > MAX_CAPLEN) {
    snprintf(p->errbuf, sizeof(p->errbuf), "send: packet of %zu bytes is too long", size);
    return PCAP_ERROR;
  }
  rc = pfring_send(p->ring, (char *)buf, (u_int)size, 1);
  if (rc < 0)
    return ring_error(p, "send");
  return rc;
}

API int pcap_sendpacket(pcap_t *p, const u_char *buf, int size)
{
  if (!p->ring)
    SYS_CALL(PCAP_ERROR, pcap_sendpacket, p->sys, buf, size);
  if (size < 0) {
    snprintf(p->errbuf, sizeof(p->errbuf), "send: negative packet size %d", size);
    return PCAP_ERROR;
  }
  return pcap_inject(p, buf, (size_t)size) < 0 ? PCAP_ERROR : 0;
}

/* ------------------------------------------------------------------------ */
/* PF_RING's extensions                                                      */

static int need_ring(pcap_t *p, const char *what)
{
  if (p && p->ring)
    return 0;
  if (p) {
    /* pcap_geterr of a handle without a ring reads the system handle's text */
    const struct pcappf_sys *sys = pcappf_sys();
    char *buf = p->sys && sys ? sys->pcap_geterr(p->sys) : p->errbuf;
    snprintf(buf, PCAP_ERRBUF_SIZE, "%s: this handle has no PF_RING ring (%s)", what,
             p->activated ? "it fell back to the system libpcap" : "it is not activated");
  }
  return PCAP_ERROR;
}

API void *pcap_get_pfring_handle(pcap_t *p)
{
  return p ? p->ring : NULL;
}

API int pcap_get_pfring_id(pcap_t *p)
{
  return p && p->ring ? (int)pfring_get_ring_id(p->ring) : 0;
}

API int pcap_set_cluster(pcap_t *p, u_int cluster_id)
{
  if (need_ring(p, "pcap_set_cluster") < 0)
    return PCAP_ERROR;
  if (pfring_set_cluster(p->ring, cluster_id, cluster_per_flow) < 0)
    return ring_error(p, "pcap_set_cluster");
  return 0;
}

API int pcap_set_application_name(pcap_t *p, char *name)
{
  if (need_ring(p, "pcap_set_application_name") < 0)
    return PCAP_ERROR;
  if (pfring_set_application_name(p->ring, name) < 0)
    return ring_error(p, "pcap_set_application_name");
  return 0;
}

API int pcap_set_watermark(pcap_t *p, u_int watermark)
{
  if (need_ring(p, "pcap_set_watermark") < 0)
    return PCAP_ERROR;
  if (pfring_set_poll_watermark(p->ring, (u_int16_t)(watermark > 0xffff ? 0xffff : watermark)) < 0)
    return ring_error(p, "pcap_set_watermark");
  return 0;
}
