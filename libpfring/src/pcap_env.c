/*
 * pcap_env.c - the PCAP_PF_RING_* environment variables of PF_RING's libpcap,
 * parsed in one place for the libpcap drop-in and the Python shim.
 *
 * PF_RING's rules: some variables count by presence (any value, even empty),
 * others are numbers; CLUSTER_ID is used only in 1..254, APPNAME only with
 * 1..32 characters; the USE_CLUSTER_* variables are tested in a fixed order,
 * the first present one wins.  Where PF_RING silently used atoi(), a value
 * that is not a number here gets one warning naming the variable and what
 * is used instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

/* First present wins, in PF_RING's order; with none, round robin (5.6.2). */
static const struct {
  const char *suffix;
  cluster_type type;
} cluster_vars[] = {
  { "PER_FLOW", cluster_per_flow },
  { "PER_FLOW_2_TUPLE", cluster_per_flow_2_tuple },
  { "PER_FLOW_4_TUPLE", cluster_per_flow_4_tuple },
  { "PER_FLOW_TCP_5_TUPLE", cluster_per_flow_tcp_5_tuple },
  { "PER_FLOW_5_TUPLE", cluster_per_flow_5_tuple },
  { "ROUNDROBIN", cluster_round_robin },
  { "PER_INNER_FLOW", cluster_per_inner_flow },
  { "PER_INNER_FLOW_2_TUPLE", cluster_per_inner_flow_2_tuple },
  { "PER_INNER_FLOW_4_TUPLE", cluster_per_inner_flow_4_tuple },
  { "PER_INNER_FLOW_5_TUPLE", cluster_per_inner_flow_5_tuple },
  { "PER_INNER_FLOW_TCP_5_TUPLE", cluster_per_inner_flow_tcp_5_tuple },
  { "PER_FLOW_IP_5_TUPLE", cluster_per_flow_ip_5_tuple },
  { "PER_INNER_FLOW_IP_5_TUPLE", cluster_per_inner_flow_ip_5_tuple },
  { "PER_FLOW_IP_WITH_DUP_TUPLE", cluster_per_flow_ip_with_dup_tuple },
};

static int present(const char *name) { return getenv(name) != NULL; }

#define SHOW_MAX 80             /* longest value copied into a warning */

static const char *show(const char *v, char out[SHOW_MAX + 4])
{
  return pfringint_printable(v, out, SHOW_MAX);
}

/* A number variable: its value, or `fallback` with a warning. */
static long number(const char *name, long fallback, const char *meaning)
{
  const char *v = getenv(name);
  char *end, shown[SHOW_MAX + 4];
  long n;

  if (!v)
    return fallback;
  errno = 0;
  n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || errno) {
    pfringint_log(1, "%s='%s' is not a number; %s", name, show(v, shown), meaning);
    return fallback;
  }
  return n;
}

/* The variable is set to a number that reads as 0 ("0", "00", "-0"). */
static int zero_given(const char *name)
{
  const char *v = getenv(name);
  char *end;

  return v && *v && strtol(v, &end, 10) == 0 && *end == '\0';
}

PFRING_API int pfring_parse_pcap_env(struct pfring_pcap_env *env)
{
  const char *app;
  char var[64];
  size_t i;
  long id;

  if (!env)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  memset(env, 0, sizeof(*env));
  env->no_pf_ring = present("PCAP_NO_PF_RING");
  env->active_poll = number("PCAP_PF_RING_ACTIVE_POLL", 0, "active polling stays off") != 0;
  if (present("PCAP_PF_RING_DNA_RSS") || present("PCAP_PF_RING_ZC_RSS"))
    env->open_flags |= PF_RING_ZC_SYMMETRIC_RSS;
  if (present("PCAP_PF_RING_STRIP_HW_TIMESTAMP"))
    env->open_flags |= PF_RING_STRIP_HW_TIMESTAMP;
  if (present("PCAP_PF_RING_HW_TIMESTAMP"))
    env->open_flags |= PF_RING_HW_TIMESTAMP;
  if (present("PCAP_PF_RING_USERSPACE_BPF"))
    env->open_flags |= PF_RING_USERSPACE_BPF;
  env->recv_only = present("PCAP_PF_RING_RECV_ONLY");
  env->rss_rehash = number("PCAP_PF_RING_RSS_REHASH", 0, "RSS re-hashing stays off") != 0;
  env->always_sync_fd = number("PCAP_PF_RING_ALWAYS_SYNC_FD", 0, "left off") != 0;

  id = number("PCAP_PF_RING_CLUSTER_ID", 0, "not clustering");
  if (id > 0 && id < 255) {
    env->cluster_id = (u_int32_t)id;
    env->cluster_type = cluster_round_robin;
    for (i = 0; i < sizeof(cluster_vars) / sizeof(cluster_vars[0]); i++) {
      snprintf(var, sizeof(var), "PCAP_PF_RING_USE_CLUSTER_%s", cluster_vars[i].suffix);
      if (present(var)) {
        env->cluster_type = cluster_vars[i].type;
        break;
      }
    }
  } else if (id != 0 || zero_given("PCAP_PF_RING_CLUSTER_ID")) {
    pfringint_log(1, "PCAP_PF_RING_CLUSTER_ID=%ld is out of range (1..254); not clustering", id);
  }

  app = getenv("PCAP_PF_RING_APPNAME");
  if (app && strlen(app) >= 1 && strlen(app) <= PF_RING_APPNAME_LEN)
    snprintf(env->appname, sizeof(env->appname), "%s", app);
  else if (app)
    pfringint_log(1, "PCAP_PF_RING_APPNAME must be 1..%d characters (got %zu); not set",
                  PF_RING_APPNAME_LEN, strlen(app));
  return 0;
}
