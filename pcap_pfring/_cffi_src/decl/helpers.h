/* The extension's own C helpers (helpers.c): per-packet loops that must not
 * run in Python. */
struct pp_pkt {
  uint32_t offset;      /* into the batch buffer */
  uint32_t caplen;
  uint32_t len;
  int32_t if_index;
  uint64_t ts_ns;
  uint8_t rx;
  ...;
};

/* The package version this extension was built for. */
const char *pp_build_version(void);

/* Up to max packets copied into buf; waits up to timeout_ms for the first
 * one (0: no wait).  Returns the count or <0. */
int pp_recv_batch(pfring *ring, int max, int timeout_ms, struct pp_pkt *out,
                  u_char *buf, size_t bufsize);

/* Ring.recv_batch() and Ring.loop(): one burst in place in the ring. */
struct pp_rec {
  uint32_t offset;
  uint32_t caplen;
  uint32_t len;
  int32_t if_index;
  uint64_t ts_ns;
  uint8_t rx;
  uint8_t flags;
  ...;
};
int pp_burst(pfring *ring, struct pfring_burst_pkt *b, int max, int timeout_ms,
             struct pp_rec *recs, const u_char **base, size_t *span);

/* Ring.loop(): packets are handed to the Python callback (zero-copy unless
 * copybuf is given, as REENTRANT rings need) until
 * max_pkts were delivered, timeout_ms passed without a packet, or the
 * callback returned non-zero.  Returns the count or <0. */
extern "Python" int pp_python_packet(void *user, const struct pfring_pkthdr *h,
                                     const u_char *p);
int pp_dispatch(pfring *ring, void *user, int max_pkts, int timeout_ms,
                u_char *copybuf, u_int copylen);

/* pfcount: count in C; runs pfring_loop until pfring_breakloop or count.
 * verbose: also print PF_RING's line for every packet on stdout (the ring
 * needs PF_RING_LONG_HEADER); active_wait: pfring_loop without blocking. */
struct pp_counters {
  uint64_t pkts;
  uint64_t bytes;
  uint64_t limit;       /* stop after this many packets, 0 = never */
  int active_wait;
  int verbose;
  ...;
};
int pp_count_loop(pfring *ring, struct pp_counters *c);

/* pfsend: send frames[] round robin until count packets (0 = forever) or
 * *stop; paced at pps (0 = full speed). */
int pp_send_loop(pfring *ring, const u_char *frames, uint32_t frame_len, uint32_t nframes,
                 uint64_t count, double pps, struct pp_counters *c, volatile int *stop);

/* pfsend -f: the frames of a pcap/pcapng file (Ethernet), read by the
 * system libpcap.  pp_frames_load_pcap returns 0 and *out (free with
 * pp_frames_free) or -1 with errbuf set.  pp_send_frames sends them in order,
 * round robin, like pp_send_loop; pcap_timing: at the captured intervals. */
struct pp_frames {
  uint32_t n;
  uint32_t max_len;
  uint64_t bytes;
  ...;
};
int pp_frames_load_pcap(const char *path, struct pp_frames **out, char *errbuf, size_t errlen);
void pp_frames_free(struct pp_frames *f);
int pp_send_frames(pfring *ring, const struct pp_frames *f, uint64_t count, double pps,
                   int pcap_timing, struct pp_counters *c, volatile int *stop);

/* pfdump: write the packets to a pcap file until breakloop or the limit.
 * Returns 0, <0 from pfring_loop, or -1000 with errbuf set (file error). */
int pp_dump_loop(pfring *ring, const char *path, int snaplen, struct pp_counters *c,
                 char *errbuf, size_t errlen);
