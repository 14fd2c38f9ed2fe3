/*
 * helpers.c - C loops of the Python extension.  Everything that runs once per
 * packet for the Python API and the CLI tools lives here, so that Python code
 * runs per batch or per callback only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pcap/pcap.h>
#include "pfring.h"

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

static int pp_count_loop(pfring *ring, struct pp_counters *c)
{
  c->ring = ring;
  return pfring_loop(ring, pp_count_cb, (const u_char *)c, 1);
}

static void pp_sleep_until(const struct timespec *t)
{
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
    ;
}

static int pp_send_loop(pfring *ring, const u_char *frames, uint32_t frame_len,
                        uint32_t nframes, uint64_t count, double pps,
                        struct pp_counters *c, volatile int *stop)
{
  struct timespec start, due;
  uint32_t i = 0;
  int rc;

  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!*stop && (count == 0 || c->pkts < count)) {
    if (pps > 0) {
      double t = (double)c->pkts / pps;
      due.tv_sec = start.tv_sec + (time_t)t;
      due.tv_nsec = start.tv_nsec + (long)((t - (double)(time_t)t) * 1e9);
      if (due.tv_nsec >= 1000000000L) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000L;
      }
      {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* Sleep only when ahead of schedule by more than 50 us. */
        if ((due.tv_sec - now.tv_sec) * 1000000000L + (due.tv_nsec - now.tv_nsec) > 50000)
          pp_sleep_until(&due);
      }
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
  pcap_dump((u_char *)d->dumper, &ph, p);
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
  d.dead = pcap_open_dead(DLT_EN10MB, snaplen);
  if (!d.dead) {
    snprintf(errbuf, errlen, "pcap_open_dead failed");
    return -1000;
  }
  d.dumper = pcap_dump_open(d.dead, path);
  if (!d.dumper) {
    snprintf(errbuf, errlen, "%s", pcap_geterr(d.dead));
    pcap_close(d.dead);
    return -1000;
  }
  rc = pfring_loop(ring, pp_dump_cb, (const u_char *)&d, 1);
  pcap_dump_close(d.dumper);
  pcap_close(d.dead);
  return rc;
}
