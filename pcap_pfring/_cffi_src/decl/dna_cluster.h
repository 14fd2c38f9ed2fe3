/* libzero: the DNA Cluster master (libpfring/src/dna_cluster.c). */
#define DNA_CLUSTER_MAX_APPS 32
#define DNA_CLUSTER_MAX_ID 65535
#define DNA_CLUSTER_MAX_RINGS 8
typedef struct pfring_dna_cluster pfring_dna_cluster;
typedef u_int32_t (*dna_cluster_distribution_func)(const u_char *pkt, u_int32_t caplen,
                                                     u_int32_t len, u_int32_t num_apps,
                                                     void *user);
u_int32_t dna_cluster_default_distribution(const u_char *pkt, u_int32_t caplen, u_int32_t len,
                                           u_int32_t num_apps, void *user);
pfring_dna_cluster *dna_cluster_create(u_int32_t cluster_id, u_int32_t num_apps,
                                       u_int32_t flags);
int dna_cluster_register_ring(pfring_dna_cluster *cluster, pfring *ring);
int dna_cluster_set_mode(pfring_dna_cluster *cluster, socket_mode mode);
int dna_cluster_set_wait_mode(pfring_dna_cluster *cluster, u_int32_t active_wait);
int dna_cluster_set_distribution_function(pfring_dna_cluster *cluster,
                                          dna_cluster_distribution_func func, void *user);
int dna_cluster_set_app_groups(pfring_dna_cluster *cluster, const u_int32_t *instances,
                               u_int32_t num_groups);
int dna_cluster_enable(pfring_dna_cluster *cluster);
int dna_cluster_disable(pfring_dna_cluster *cluster);
int dna_cluster_stats(pfring_dna_cluster *cluster, u_int64_t *tot_rx_packets,
                      u_int64_t *tot_tx_packets, u_int64_t *tot_rx_processed,
                      u_int64_t *tot_tx_processed);
int dna_cluster_app_stats(pfring_dna_cluster *cluster, u_int32_t app, u_int64_t *delivered,
                          u_int64_t *dropped);
void dna_cluster_destroy(pfring_dna_cluster *cluster);
const char *dna_cluster_last_error(void);
int dna_cluster_last_error_code(void);
