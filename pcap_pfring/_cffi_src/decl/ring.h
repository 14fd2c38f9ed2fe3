/* The ring: open, receive, send, configure, inspect. */
pfring *pfring_open(const char *device_name, u_int32_t caplen, u_int32_t flags);
u_int8_t pfring_open_multichannel(const char *device_name, u_int32_t caplen,
                                  u_int32_t flags, pfring *ring[]);
void pfring_close(pfring *ring);
int pfring_enable_ring(pfring *ring);
int pfring_disable_ring(pfring *ring);

int pfring_recv(pfring *ring, u_char **buffer, u_int buffer_len,
                struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet);
int pfring_recv_parsed(pfring *ring, u_char **buffer, u_int buffer_len,
                       struct pfring_pkthdr *hdr, u_int8_t wait_for_incoming_packet,
                       u_int8_t level, u_int8_t add_timestamp, u_int8_t add_hash);
int pfring_loop(pfring *ring, pfringProcesssPacket looper,
                const u_char *user_bytes, u_int8_t wait_for_packet);
int pfring_recv_burst(pfring *ring, struct pfring_burst_pkt *pkts, u_int max_pkts,
                      u_int8_t wait_for_incoming_packet);
int pfring_recv_count(pfring *ring, u_int max_pkts, uint64_t *bytes, u_int duration_ms);
void pfring_breakloop(pfring *ring);
int pfring_release_consumed(pfring *ring);
int pfring_get_pkt_link(pfring *ring, const u_char *data, struct pfring_pkt_link *link);
int pfring_poll(pfring *ring, u_int wait_duration);
int pfring_is_pkt_available(pfring *ring);
int pfring_next_pkt_time(pfring *ring, struct timespec *ts);
int pfring_get_selectable_fd(pfring *ring);
int pfring_set_poll_watermark(pfring *ring, u_int16_t watermark);
int pfring_set_poll_duration(pfring *ring, u_int duration);
int pfring_set_batching(pfring *ring, u_int timeout_ms, u_int block_bytes);
int pfring_set_buffer_size(pfring *ring, uint64_t bytes);
int pfring_dispatch(pfring *ring, int max_pkts, pfringProcesssPacket looper,
                    const u_char *user_bytes);

int pfring_send(pfring *ring, char *pkt, u_int pkt_len, u_int8_t flush_packet);
int pfring_send_ifindex(pfring *ring, char *pkt, u_int pkt_len,
                        u_int8_t flush_packet, int if_index);
int pfring_send_last_rx_packet(pfring *ring, int tx_interface_id);
int pfring_flush_tx_packets(pfring *ring);

int pfring_set_direction(pfring *ring, packet_direction direction);
int pfring_set_socket_mode(pfring *ring, socket_mode mode);
int pfring_set_sampling_rate(pfring *ring, u_int32_t rate);
int pfring_set_bpf_filter(pfring *ring, char *filter_buffer);
int pfring_remove_bpf_filter(pfring *ring);
int pfring_set_bpf_program(pfring *ring, const void *insns, u_int count);
int pfring_set_application_name(pfring *ring, char *name);
int pfring_set_application_stats(pfring *ring, char *stats);
char *pfring_get_appl_stats_file_name(pfring *ring, char *path, u_int path_len);
int pfring_set_channel_id(pfring *ring, u_int32_t channel_id);
int pfring_set_channel_mask(pfring *ring, u_int64_t channel_mask);
int pfring_set_vlan_id(pfring *ring, u_int16_t vlan_id);
int pfring_set_promisc(pfring *ring, int set_promisc);
int pfring_set_cluster(pfring *ring, u_int clusterId, cluster_type the_type);
int pfring_remove_from_cluster(pfring *ring);
int pfring_enable_rss_rehash(pfring *ring);

int pfring_stats(pfring *ring, pfring_stat *stats);
int pfring_stats_kernel(pfring *ring, pfring_kernel_stat *stats);
int pfring_version(pfring *ring, u_int32_t *version);
u_int32_t pfring_version_noring(void);
int pfring_get_bound_device_address(pfring *ring, u_char mac_address[6]);
int pfring_get_bound_device_ifindex(pfring *ring, int *if_index);
int pfring_get_link_type(pfring *ring, uint16_t *arphrd, int *dlt);
u_int8_t pfring_get_num_rx_channels(pfring *ring);
u_int32_t pfring_get_num_queued_pkts(pfring *ring);
u_int32_t pfring_get_caplen(pfring *ring);
int pfring_get_mtu_size(pfring *ring);
u_int32_t pfring_get_ring_id(pfring *ring);

int pfring_parse_pkt(u_char *pkt, struct pfring_pkthdr *hdr, u_int8_t level,
                     u_int8_t add_timestamp, u_int8_t add_hash);
int pfring_print_parsed_pkt(char *buff, u_int buff_len, const u_char *p,
                            const struct pfring_pkthdr *h);
int pfring_print_pkt(char *buff, u_int buff_len, const u_char *p,
                     u_int len, u_int caplen);
char *pfring_format_numbers(double val, char *buf, u_int buf_len, u_int8_t add_decimals);
long pfring_get_module_param(const char *name);

/* Diagnostics: the print callback (level 0 error, 1 warning, 2 info,
 * 3 debug) and the printer installed by default. */
void pfring_set_print(pfring_print_fn fn, void *user, int max_level);
void pfring_default_print(int level, const char *msg, void *user);

/* Packet memory kept mapped for zero-copy views (keep.c). */
void *pfring_keep_packet_memory(pfring *ring, size_t *len);
int pfring_release_packet_memory(void *start);
