/* PF_RING's libpcap environment variables (pcap_env.c). */
struct pfring_pcap_env {
  int no_pf_ring;
  int active_poll;
  u_int32_t open_flags;
  int recv_only;
  int rss_rehash;
  int always_sync_fd;
  u_int32_t cluster_id;
  cluster_type cluster_type;
  char appname[...];
  ...;
};
int pfring_parse_pcap_env(struct pfring_pcap_env *env);

/* A ring opened as PF_RING's libpcap opens it under them (pcap_open.c). */
struct pfring_pcap_open {
  u_int32_t size;
  int promisc;
  int listen;
  const char *default_appname;
  int batching;
  u_int batch_timeout_ms;
  u_int batch_block_bytes;
  void (*print)(int level, const char *msg, void *user);
  void *print_user;
};
struct pfring_pcap_open_result {
  int rc;
  int set_up;
  u_int32_t flags;
  char errbuf[...];
};
pfring *pfring_open_pcap_env(const char *device, u_int32_t caplen,
                             const struct pfring_pcap_env *env,
                             const struct pfring_pcap_open *opts,
                             struct pfring_pcap_open_result *res);
struct pfring_pcap_ring_plan {
  u_int32_t flags;
  u_int32_t retry_flags;
  u_int16_t poll_watermark;
  int recv_only;
  u_int32_t cluster_id;
  cluster_type cluster_type;
  int rss_rehash;
  char appname[...];
};
int pfring_pcap_env_plan(const char *device, const struct pfring_pcap_env *env,
                         const struct pfring_pcap_open *opts,
                         struct pfring_pcap_ring_plan *plan);

/* pcap_pfring.env.open_ring(warn=...): the call's own print callback. */
extern "Python" void pp_env_warn(int level, const char *msg, void *user);

/* Diagnostics through the print callback; the expressions run in user space. */
void pfring_log(int level, const char *fmt, ...);
int pfring_bpf_expr_needs_userspace(const char *expr);

/* The system libpcap, from libpfring's one loader (syspcap.c). */
void *pfring_open_system_libpcap(char *errbuf, size_t errlen);
const char *pfring_system_libpcap(void);
