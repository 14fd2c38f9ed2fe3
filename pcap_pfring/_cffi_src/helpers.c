/*
 * helpers.c - C loops of the Python extension.  Everything that runs once per
 * packet for the Python API and the CLI tools lives here, so that Python code
 * runs per batch or per callback only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pcap/pcap.h>     /* types only: the calls go through pp_pcap below */
#include "pfring.h"

/* The system libpcap's functions that the file tools use, from libpfring's
 * one loader (the extension does not link libpcap: under pfring-run that
 * name is the drop-in). */
#define PP_PCAP_FUNCS(X)                                                   \
  X(pcap_open_offline_with_tstamp_precision) X(pcap_datalink)               \
  X(pcap_datalink_val_to_name) X(pcap_next_ex) X(pcap_geterr) X(pcap_close) \
  X(pcap_open_dead) X(pcap_dump_open) X(pcap_dump) X(pcap_dump_close)

static struct {
#define X(name) __typeof__(name) *name;
  PP_PCAP_FUNCS(X)
#undef X
} pp_pcap;

/* 0, or -1 with errbuf set. */
static int pp_pcap_load(char *errbuf, size_t errlen)
{
  void *h;

  if (pp_pcap.pcap_dump_close)
    return 0;
  if (!(h = pfring_open_system_libpcap(errbuf, errlen)))
    return -1;
#define X(name)                                                                     \
  if (!(pp_pcap.name = (__typeof__(pp_pcap.name))dlsym(h, #name))) {                \
    snprintf(errbuf, errlen, "the system libpcap '%s' has no %s", pfring_system_libpcap(), \
             #name);                                                                \
    return -1;                                                                      \
  }
  PP_PCAP_FUNCS(X)
#undef X
  return 0;
}

struct pp_pkt {
  uint32_t offset;
  uint32_t caplen;
  uint32_t len;
  int32_t if_index;
  uint64_t ts_ns;
  uint8_t rx;
};

struct pp_counters {
  uint64_t pkts;
  uint64_t bytes;
  uint64_t limit;
  pfring *ring;
  int active_wait;      /* pfring_loop without blocking (busy polling) */
  int verbose;          /* pp_count_loop: one line per packet on stdout */
};

static int pp_python_packet(void *user, const struct pfring_pkthdr *h, const u_char *p);

static long pp_ms_since(const struct timespec *t0)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits for a packet up to timeout_ms; returns 1 if one is there, 0 or <0. */
static int pp_wait(pfring *ring, int timeout_ms)
{
  struct timespec t0;
  int rc;

  if (timeout_ms <= 0)
    return pfring_is_pkt_available(ring);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    long left = timeout_ms - pp_ms_since(&t0);
    if (left <= 0)
      return 0;
    rc = pfring_poll(ring, (u_int)left);
    if (rc != 0)
      return rc;
    /* 0: a timeout, or a breakloop that the poll consumed. */
    return pfring_is_pkt_available(ring);
  }
}

/* One record of pp_burst, unpacked in Python with struct format "IIIiQBB6x". */
struct pp_rec {
  uint32_t offset;      /* from the burst's first packet */
  uint32_t caplen;
  uint32_t len;
  int32_t if_index;
  uint64_t ts_ns;
  uint8_t rx;
  uint8_t flags;
  uint8_t pad[6];
};

/* One pfring_recv_burst, in place in the ring, after waiting up to
 * timeout_ms for a packet (0: no wait).  recs[i] describes packet i; its
 * bytes are at *base + offset, and *span bytes from *base cover them all
 * (one kernel block).  Returns the count, 0, or <0. */
static int pp_burst(pfring *ring, struct pfring_burst_pkt *b, int max, int timeout_ms,
                    struct pp_rec *recs, const u_char **base, size_t *span)
{
  struct timespec t0;
  int n, i, rc;

  if (max <= 0)
    return 0;
  n = pfring_recv_burst(ring, b, (u_int)max, 0);
  if (n == 0 && timeout_ms > 0) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      rc = pp_wait(ring, timeout_ms - (int)pp_ms_since(&t0));
      if (rc <= 0)
        return rc;
      n = pfring_recv_burst(ring, b, (u_int)max, 0);
    } while (n == 0 && pp_ms_since(&t0) < timeout_ms);   /* all filtered out */
  }
  if (n <= 0)
    return n;
  for (i = 0; i < n; i++) {
    recs[i].offset = (uint32_t)(b[i].data - b[0].data);
    recs[i].caplen = b[i].caplen;
    recs[i].len = b[i].len;
    recs[i].if_index = b[i].if_index;
    recs[i].ts_ns = b[i].ts_sec * 1000000000ull + b[i].ts_nsec;
    recs[i].rx = b[i].rx_direction;
    recs[i].flags = b[i].flags;
  }
  *base = b[0].data;
  *span = (size_t)(b[n - 1].data + b[n - 1].caplen - b[0].data);
  return n;
}

/* Packets are received straight into buf (copy mode), which also works on
 * PF_RING_REENTRANT rings. */
static int pp_recv_batch(pfring *ring, int max, int timeout_ms, struct pp_pkt *out,
                         u_char *buf, size_t bufsize)
{
  struct pfring_pkthdr h;
  size_t used = 0;
  int n = 0, rc;

  rc = pp_wait(ring, timeout_ms);
  if (rc <= 0)
    return rc;
  while (n < max && used < bufsize) {
    u_char *p = buf + used;
    rc = pfring_recv(ring, &p, (u_int)(bufsize - used), &h, 0);
    if (rc < 0)
      return n ? n : rc;
    if (rc == 0)
      break;
    out[n].offset = (uint32_t)used;
    out[n].caplen = h.caplen;
    out[n].len = h.len;
    out[n].if_index = h.extended_hdr.if_index;
    out[n].ts_ns = h.extended_hdr.timestamp_ns;
    out[n].rx = h.extended_hdr.rx_direction;
    used += h.caplen;
    n++;
  }
  return n;
}

/* copybuf/copylen: for PF_RING_REENTRANT rings, which cannot hand out
 * pointers into the ring; NULL/0 for zero copy. */
static int pp_dispatch(pfring *ring, void *user, int max_pkts, int timeout_ms,
                       u_char *copybuf, u_int copylen)
{
  struct pfring_pkthdr h;
  int n = 0, rc;

  while (n < max_pkts) {
    u_char *p = copybuf;
    rc = pfring_recv(ring, &p, copylen, &h, 0);
    if (rc < 0)
      return rc;
    if (rc == 0) {
      if (n > 0)
        return n;
      rc = pp_wait(ring, timeout_ms);
      if (rc <= 0)
        return rc;
      continue;
    }
    n++;
    if (pp_python_packet(user, &h, p))
      break;
  }
  return n;
}

static void pp_count_cb(const struct pfring_pkthdr *h, const u_char *p, const u_char *user)
{
  struct pp_counters *c = (struct pp_counters *)user;
  (void)p;
  c->pkts++;
  c->bytes += h->len;
  if (c->limit && c->pkts >= c->limit)
    pfring_breakloop(c->ring);
}

/* pfcount -v: PF_RING's packet line, "HH:MM:SS.nnnnnnnnn [RX][if_index=N][hash=N]"
 * and pfring_print_parsed_pkt's text (the ring has PF_RING_LONG_HEADER). */
static void pp_print_cb(const struct pfring_pkthdr *h, const u_char *p, const u_char *user)
{
  char text[1024];
  struct tm tm;
  uint64_t ts = h->extended_hdr.timestamp_ns;
  time_t sec;
  unsigned ns;

  if (ts) {
    sec = (time_t)(ts / 1000000000ull);
    ns = (unsigned)(ts % 1000000000ull);
  } else {
    sec = h->ts.tv_sec;
    ns = (unsigned)h->ts.tv_usec * 1000u;
  }
  localtime_r(&sec, &tm);
  pfring_print_parsed_pkt(text, sizeof(text), p, h);
  printf("%02d:%02d:%02d.%09u [%s][if_index=%d][hash=%u]%s\n", tm.tm_hour, tm.tm_min,
         tm.tm_sec, ns, h->extended_hdr.rx_direction ? "RX" : "TX",
         h->extended_hdr.if_index, h->extended_hdr.pkt_hash, text);
  pp_count_cb(h, p, user);
}

static int pp_count_loop(pfring *ring, struct pp_counters *c)
{
  int rc;

  c->ring = ring;
  rc = pfring_loop(ring, c->verbose ? pp_print_cb : pp_count_cb, (const u_char *)c,
                   c->active_wait ? 0 : 1);
  if (c->verbose)
    fflush(stdout);
  return rc;
}

static void pp_sleep_until(const struct timespec *t)
{
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
    ;
}

/* Waits until t0 + offset_ns (when that is more than 50 us ahead), in steps
 * of at most 100 ms so that *stop is noticed. */
static void pp_pace(const struct timespec *t0, uint64_t offset_ns, volatile int *stop)
{
  struct timespec due, now, step;
  int64_t ahead;

  due.tv_sec = t0->tv_sec + (time_t)(offset_ns / 1000000000ull);
  due.tv_nsec = t0->tv_nsec + (long)(offset_ns % 1000000000ull);
  if (due.tv_nsec >= 1000000000L) {
    due.tv_sec++;
    due.tv_nsec -= 1000000000L;
  }
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    ahead = (int64_t)(due.tv_sec - now.tv_sec) * 1000000000LL + (due.tv_nsec - now.tv_nsec);
    if (ahead <= 50000 || *stop)
      return;
    if (ahead <= 100000000LL) {
      pp_sleep_until(&due);
      return;
    }
    step = now;
    step.tv_nsec += 100000000L;
    if (step.tv_nsec >= 1000000000L) {
      step.tv_sec++;
      step.tv_nsec -= 1000000000L;
    }
    pp_sleep_until(&step);
  }
}

static int pp_send_loop(pfring *ring, const u_char *frames, uint32_t frame_len,
                        uint32_t nframes, uint64_t count, double pps,
                        struct pp_counters *c, volatile int *stop)
{
  struct timespec start;
  uint32_t i = 0;
  int rc;

  if (nframes == 0)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!*stop && (count == 0 || c->pkts < count)) {
    if (pps > 0) {
      pp_pace(&start, (uint64_t)((double)c->pkts * 1e9 / pps), stop);
      if (*stop)
        break;
    }
    rc = pfring_send(ring, (char *)(frames + (size_t)i * frame_len), frame_len, 1);
    if (rc == PF_RING_ERROR_NO_TX_SLOT_AVAILABLE)
      continue;
    if (rc < 0)
      return rc;
    c->pkts++;
    c->bytes += frame_len;
    if (++i == nframes)
      i = 0;
  }
  return 0;
}

/* Frames of different lengths (a pcap file for pfsend -f), in one buffer. */
struct pp_frames {
  u_char *data;
  uint32_t *off;
  uint32_t *len;
  uint64_t *ts_ns;      /* capture time of each frame */
  uint32_t n;
  uint32_t max_len;
  uint64_t bytes;       /* sum of len[] */
  size_t data_cap;
  uint32_t n_cap;
};

static void pp_frames_free(struct pp_frames *f)
{
  if (!f)
    return;
  free(f->data);
  free(f->off);
  free(f->len);
  free(f->ts_ns);
  free(f);
}

static int pp_frames_add(struct pp_frames *f, const u_char *p, uint32_t len, uint64_t ts_ns)
{
  size_t used = f->n ? (size_t)f->off[f->n - 1] + f->len[f->n - 1] : 0;

  if (used + len > UINT32_MAX)
    return -1;
  if (f->n == f->n_cap) {
    uint32_t cap = f->n_cap ? f->n_cap * 2 : 1024;
    uint32_t *off = realloc(f->off, cap * sizeof(*off));
    uint32_t *lens = off ? realloc(f->len, cap * sizeof(*lens)) : NULL;
    uint64_t *ts = lens ? realloc(f->ts_ns, cap * sizeof(*ts)) : NULL;
    if (off)
      f->off = off;
    if (lens)
      f->len = lens;
    if (!ts)
      return -1;
    f->ts_ns = ts;
    f->n_cap = cap;
  }
  if (used + len > f->data_cap) {
    size_t cap = f->data_cap ? f->data_cap * 2 : 65536;
    u_char *data;
    while (cap < used + len)
      cap *= 2;
    data = realloc(f->data, cap);
    if (!data)
      return -1;
    f->data = data;
    f->data_cap = cap;
  }
  memcpy(f->data + used, p, len);
  f->off[f->n] = (uint32_t)used;
  f->len[f->n] = len;
  f->ts_ns[f->n] = ts_ns;
  f->n++;
  f->bytes += len;
  if (len > f->max_len)
    f->max_len = len;
  return 0;
}

/* Reads every frame of an Ethernet pcap or pcapng file with the system
 * libpcap.  Returns 0 and *out (free it with pp_frames_free), or -1 with
 * errbuf set. */
static int pp_frames_load_pcap(const char *path, struct pp_frames **out, char *errbuf,
                               size_t errlen)
{
  char perr[PCAP_ERRBUF_SIZE];
  struct pcap_pkthdr *h;
  const u_char *p;
  struct pp_frames *f;
  pcap_t *pc;
  int rc, link;

  *out = NULL;
  perr[0] = '\0';
  if (pp_pcap_load(errbuf, errlen) < 0)
    return -1;
  pc = pp_pcap.pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
  if (!pc) {
    snprintf(errbuf, errlen, "%s", perr);
    return -1;
  }
  link = pp_pcap.pcap_datalink(pc);
  if (link != DLT_EN10MB) {
    const char *name = pp_pcap.pcap_datalink_val_to_name(link);
    snprintf(errbuf, errlen, "%s: link type %s, only Ethernet (EN10MB) can be sent", path,
             name ? name : "unknown");
    pp_pcap.pcap_close(pc);
    return -1;
  }
  f = calloc(1, sizeof(*f));
  if (!f) {
    snprintf(errbuf, errlen, "%s: out of memory", path);
    pp_pcap.pcap_close(pc);
    return -1;
  }
  while ((rc = pp_pcap.pcap_next_ex(pc, &h, &p)) == 1) {
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
    if (pp_frames_add(f, p, h->caplen, ts) < 0) {
      snprintf(errbuf, errlen, "%s: out of memory", path);
      pp_frames_free(f);
      pp_pcap.pcap_close(pc);
      return -1;
    }
  }
  if (rc == PCAP_ERROR) {
    snprintf(errbuf, errlen, "%s: %s", path, pp_pcap.pcap_geterr(pc));
    pp_frames_free(f);
    pp_pcap.pcap_close(pc);
    return -1;
  }
  pp_pcap.pcap_close(pc);
  if (f->n == 0) {
    snprintf(errbuf, errlen, "%s: no packets", path);
    pp_frames_free(f);
    return -1;
  }
  *out = f;
  return 0;
}

/* pfsend -f: sends f's frames in order, round robin, until count packets
 * (0 = forever) or *stop; paced at pps, or at the capture times of the
 * frames when pcap_timing (each pass starts when the previous one ended). */
static int pp_send_frames(pfring *ring, const struct pp_frames *f, uint64_t count, double pps,
                          int pcap_timing, struct pp_counters *c, volatile int *stop)
{
  struct timespec start, pass;
  uint32_t i = 0;
  int rc;

  if (!f || f->n == 0)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pass = start;
  while (!*stop && (count == 0 || c->pkts < count)) {
    if (pcap_timing) {
      uint64_t t0 = f->ts_ns[0], t = f->ts_ns[i];
      pp_pace(&pass, t > t0 ? t - t0 : 0, stop);
    } else if (pps > 0) {
      pp_pace(&start, (uint64_t)((double)c->pkts * 1e9 / pps), stop);
    }
    if (*stop)
      break;
    rc = pfring_send(ring, (char *)(f->data + f->off[i]), f->len[i], 1);
    if (rc == PF_RING_ERROR_NO_TX_SLOT_AVAILABLE)
      continue;
    if (rc < 0)
      return rc;
    c->pkts++;
    c->bytes += f->len[i];
    if (++i == f->n) {
      i = 0;
      clock_gettime(CLOCK_MONOTONIC, &pass);
    }
  }
  return 0;
}

/* pfdump: packets written to a pcap file by the system libpcap. */
struct pp_dump {
  pcap_t *dead;
  pcap_dumper_t *dumper;
  struct pp_counters *c;
};

static void pp_dump_cb(const struct pfring_pkthdr *h, const u_char *p, const u_char *user)
{
  struct pp_dump *d = (struct pp_dump *)user;
  struct pcap_pkthdr ph;

  ph.ts = h->ts;
  ph.caplen = h->caplen;
  ph.len = h->len;
  pp_pcap.pcap_dump((u_char *)d->dumper, &ph, p);
  d->c->pkts++;
  d->c->bytes += h->len;
  if (d->c->limit && d->c->pkts >= d->c->limit)
    pfring_breakloop(d->c->ring);
}

/* Returns 0, <0 from pfring_loop, or -1000 with errbuf set when the file
 * cannot be written. */
static int pp_dump_loop(pfring *ring, const char *path, int snaplen, struct pp_counters *c,
                        char *errbuf, size_t errlen)
{
  struct pp_dump d;
  int rc;

  d.c = c;
  c->ring = ring;
  if (pp_pcap_load(errbuf, errlen) < 0)
    return -1000;
  d.dead = pp_pcap.pcap_open_dead(DLT_EN10MB, snaplen);
  if (!d.dead) {
    snprintf(errbuf, errlen, "pcap_open_dead failed");
    return -1000;
  }
  d.dumper = pp_pcap.pcap_dump_open(d.dead, path);
  if (!d.dumper) {
    snprintf(errbuf, errlen, "%s", pp_pcap.pcap_geterr(d.dead));
    pp_pcap.pcap_close(d.dead);
    return -1000;
  }
  rc = pfring_loop(ring, pp_dump_cb, (const u_char *)&d, c->active_wait ? 0 : 1);
  pp_pcap.pcap_dump_close(d.dumper);
  pp_pcap.pcap_close(d.dead);
  return rc;
}
