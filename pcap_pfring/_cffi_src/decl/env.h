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

/* The system libpcap, from libpfring's one loader (syspcap.c). */
void *pfring_open_system_libpcap(char *errbuf, size_t errlen);
const char *pfring_system_libpcap(void);
