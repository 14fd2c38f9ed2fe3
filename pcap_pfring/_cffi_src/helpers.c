/*
 * helpers.c - the extension's generic ring primitives: what must run once
 * per packet runs here, so that Python runs once per batch.
 *
 * Nothing here waits: waiting (pfring_poll in slices, breakloop, signals)
 * has one owner, pcap_pfring.Ring.  Nothing here is a tool's: the CLI
 * tools' printing, pacing and file formats live in pcap_pfring/cli/ and
 * pcap_pfring/pcapfile.py, on top of Ring's public methods.
 */
#include <stdint.h>
#include <string.h>
#include "pfring.h"

/* One packet of pp_burst, unpacked in Python with struct format "IIIiQBB6x". */
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

/* One pfring_recv_burst in place in the ring; when none is there and
 * wait_ms > 0, one pfring_poll of up to wait_ms and, if it found packets, the
 * burst again (a wake-up costs the caller one call).  recs[i]
 * describes packet i; its bytes are at *base + offset, and *span bytes from
 * *base cover them all (one kernel block, so the span is small; the bounds
 * are taken over all the packets, not assumed to grow).  *nbytes is the sum
 * of the packets' (wire) lengths.  No system call, allocation or copy per
 * packet.  Returns the count, 0, or <0.
 *
 * recs may be b itself (Ring does so): each record is written over the
 * driver's entry it comes from, once that entry is read, and never reaches
 * a later one (a record is smaller).  The burst then touches half the
 * memory, and after a sleep every line it writes is a cache miss. */
_Static_assert(sizeof(struct pp_rec) <= sizeof(struct pfring_burst_pkt),
               "a record fits in the entry it is written over");

static int pp_burst(pfring *ring, struct pfring_burst_pkt *b, int max, struct pp_rec *recs,
                    const u_char **base, size_t *span, uint64_t *nbytes, u_int wait_ms)
{
  const u_char *lo, *hi;
  uint64_t total = 0;
  int n, i;

  *nbytes = 0;
  if (max <= 0)
    return 0;
  n = pfring_recv_burst(ring, b, (u_int)max, 0);
  if (n == 0 && wait_ms > 0 && (n = pfring_poll(ring, wait_ms)) > 0)
    n = pfring_recv_burst(ring, b, (u_int)max, 0);
  if (n <= 0)
    return n;
  lo = b[0].data;
  hi = b[0].data + b[0].caplen;
  for (i = 1; i < n; i++) {
    if (b[i].data < lo)
      lo = b[i].data;
    if (b[i].data + b[i].caplen > hi)
      hi = b[i].data + b[i].caplen;
  }
  for (i = 0; i < n; i++) {
    struct pfring_burst_pkt k;
    struct pp_rec r;
    memcpy(&k, &b[i], sizeof(k));      /* read whole before recs[i] may cover it */
    r.offset = (uint32_t)(k.data - lo);
    r.caplen = k.caplen;
    r.len = k.len;
    r.if_index = k.if_index;
    r.ts_ns = k.ts_sec * 1000000000ull + k.ts_nsec;
    r.rx = k.rx_direction;
    r.flags = k.flags;
    memset(r.pad, 0, sizeof(r.pad));
    memcpy(&recs[i], &r, sizeof(r));
    total += k.len;
  }
  *base = lo;
  *span = (size_t)(hi - lo);
  *nbytes = total;
  return n;
}

/* Up to max packets that are there now, copied one after the other into
 * buf (copy mode: PF_RING_REENTRANT rings cannot hand out pointers into
 * the ring); out[i] says where packet i is.  A packet is only taken while
 * a whole one (the ring's caplen) fits, so none is cut short.  Returns the
 * count, 0, or <0. */
static int pp_recv_copied(pfring *ring, int max, struct pp_rec *out, u_char *buf,
                          size_t bufsize, uint64_t *nbytes)
{
  struct pfring_pkthdr h;
  size_t room = pfring_get_caplen(ring), used = 0;
  uint64_t total = 0;
  int n = 0, rc;

  *nbytes = 0;
  if (room == 0 || room > bufsize)
    room = bufsize;
  while (n < max && bufsize - used >= room) {
    u_char *p = buf + used;
    rc = pfring_recv(ring, &p, (u_int)room, &h, 0);
    if (rc < 0) {
      if (n)
        break;          /* the error comes back on the next call */
      return rc;
    }
    if (rc == 0)
      break;
    memset(&out[n], 0, sizeof(out[n]));
    out[n].offset = (uint32_t)used;
    out[n].caplen = h.caplen;
    out[n].len = h.len;
    out[n].if_index = h.extended_hdr.if_index;
    out[n].ts_ns = h.extended_hdr.timestamp_ns;
    out[n].rx = h.extended_hdr.rx_direction;
    used += h.caplen;
    total += h.len;
    n++;
  }
  *nbytes = total;
  return n;
}

/* Sends count frames of a table of nframes (frame i: len[i] bytes at
 * data + off[i]), from frame start on and round robin, each flushed as
 * pfring_send(..., 1) does.  Stops early when the TX ring is full
 * (PF_RING_ERROR_NO_TX_SLOT_AVAILABLE) and at an error after the first
 * frame (the error comes back on the next call).  *nbytes is the bytes
 * sent.  Returns the frames sent (0 when the TX ring was full at once), or
 * <0. */
static int64_t pp_send_many(pfring *ring, const u_char *data, const uint32_t *off,
                            const uint32_t *len, uint32_t nframes, uint32_t start,
                            uint64_t count, uint64_t *nbytes)
{
  uint64_t sent = 0, total = 0;
  uint32_t i = start;
  int rc;

  *nbytes = 0;
  if (nframes == 0 || start >= nframes)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  while (sent < count) {
    rc = pfring_send(ring, (char *)(data + off[i]), len[i], 1);
    if (rc < 0) {
      if (rc == PF_RING_ERROR_NO_TX_SLOT_AVAILABLE || sent)
        break;
      return rc;
    }
    total += len[i];
    sent++;
    if (++i == nframes)
      i = 0;
  }
  *nbytes = total;
  return (int64_t)sent;
}
