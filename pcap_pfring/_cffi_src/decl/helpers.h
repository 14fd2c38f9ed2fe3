/* The extension's own C helpers (helpers.c): generic ring primitives, run
 * once per batch from pcap_pfring.Ring.  None of them waits. */

/* The package version this extension was built for. */
const char *pp_build_version(void);

/* One packet of a receive: offset of its bytes, lengths, interface, time
 * stamp, direction (struct format "IIIiQBB6x" in ring.py). */
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

/* Ring.recv_batch() and Ring.loop(): one burst in place in the ring, with
 * no system call, allocation or copy per packet; *nbytes is the sum of the
 * packets' lengths.  With none there, one pfring_poll of up to wait_ms
 * (0: none) and the burst again. */
int pp_burst(pfring *ring, struct pfring_burst_pkt *b, int max, struct pp_rec *recs,
             const u_char **base, size_t *span, uint64_t *nbytes, u_int wait_ms);

/* The same on PF_RING_REENTRANT rings: the packets there now, copied into
 * buf while a whole one (the ring's caplen) fits. */
int pp_recv_copied(pfring *ring, int max, struct pp_rec *out, u_char *buf, size_t bufsize,
                   uint64_t *nbytes);

/* Ring.send_many(): count frames of a table, round robin from start;
 * returns the frames sent (fewer when the TX ring fills) or <0. */
int64_t pp_send_many(pfring *ring, const u_char *data, const uint32_t *off,
                     const uint32_t *len, uint32_t nframes, uint32_t start, uint64_t count,
                     uint64_t *nbytes);

/* pcap_pfring._log: libpfring's diagnostics (pfring_set_print) into logging. */
extern "Python" void pp_log_print(int level, const char *msg, void *user);

/* pcap_pfring.env.open_ring(warn=...): the call's own print callback. */
extern "Python" void pp_env_warn(int level, const char *msg, void *user);

/* pcap_pfring.dna_bouncer's decision function (user_bytes: its handle). */
extern "Python" int pp_bouncer_decide(u_int32_t *pkt_len, u_char *pkt,
                                      const u_char *user_bytes, u_int8_t direction);
