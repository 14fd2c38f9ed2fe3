/*
 * fuzz_pcap_env.c - the PCAP_* environment parser (pfring_parse_pcap_env,
 * libpfring/src/pcap_env.c) and the plan made from it
 * (pfring_pcap_env_plan, libpfring/src/pcap_open.c).
 *
 * Input:
 *   byte 0      options: bit 0 promisc, bit 1 listen, bit 2 a plan from
 *               the parsed env (else env NULL: the plan parses it itself),
 *               bits 3-4 the device (NULL, "any", "eth0", "zc:eth0@0"),
 *               bit 5 a default_appname (the last record's value), bits 6-7
 *               opts->size (the whole struct, 0, up to promisc, up to listen:
 *               an older caller's smaller struct)
 *   then records, until the input ends: one byte picks a variable from
 *   vars[] below (PF_RING's names and a few near misses), one byte is the
 *   value's length, then the value (a NUL in it ends it, as in a real
 *   environment).  A variable given twice keeps its last value.
 * Every PCAP_* variable is removed at start-up, and the ones set are removed
 * again after each input.
 *
 * Checks: the parse returns 0; every field has one of its values
 * (booleans 0/1, flags among the four, cluster id 0 or 1..254 and then a
 * valid type, else type 0); a strict decimal PCAP_PF_RING_CLUSTER_ID in
 * 1..254 is the cluster id; PCAP_PF_RING_APPNAME of 1..32 characters is the
 * application name, otherwise it is empty; each message is one line
 * (fuzz_print).  The plan: PF_RING_TIMESTAMP and the env's flags, promisc
 * except on "any", the HW_TIMESTAMP retry exactly when HW_TIMESTAMP is
 * asked, the listening steps only for a listening ring, and an application
 * name of 1..32 characters: the env's, else default_appname's, else the
 * program's.  A second parse gives the same result.
 */
#include "common.h"

#include "pfring_int.h"

static const char *const vars[] = {
  "PCAP_NO_PF_RING", "PCAP_PF_RING_ACTIVE_POLL", "PCAP_PF_RING_DNA_RSS",
  "PCAP_PF_RING_ZC_RSS", "PCAP_PF_RING_STRIP_HW_TIMESTAMP", "PCAP_PF_RING_HW_TIMESTAMP",
  "PCAP_PF_RING_USERSPACE_BPF", "PCAP_PF_RING_RECV_ONLY", "PCAP_PF_RING_RSS_REHASH",
  "PCAP_PF_RING_ALWAYS_SYNC_FD", "PCAP_PF_RING_CLUSTER_ID", "PCAP_PF_RING_APPNAME",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW", "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_2_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_4_TUPLE", "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_TCP_5_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_5_TUPLE", "PCAP_PF_RING_USE_CLUSTER_ROUNDROBIN",
  "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW", "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW_2_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW_4_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW_5_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW_TCP_5_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_IP_5_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_INNER_FLOW_IP_5_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_IP_WITH_DUP_TUPLE",
  "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_3_TUPLE", "PCAP_PF_RING_CLUSTERID", "PCAP_PF_RING",
};
#define NUM_VARS (sizeof(vars) / sizeof(vars[0]))
#define APPNAME 11
#define CLUSTER_ID 10

#define ENV_FLAGS (PF_RING_ZC_SYMMETRIC_RSS | PF_RING_STRIP_HW_TIMESTAMP | \
                   PF_RING_HW_TIMESTAMP | PF_RING_USERSPACE_BPF)

static int started;

static void start(void)
{
  extern char **environ;
  char **e;

  for (e = environ; e && *e;) {
    if (strncmp(*e, "PCAP_", 5) == 0) {
      char name[256];
      snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
      unsetenv(name);
      e = environ;
    } else {
      e++;
    }
  }
  fuzz_quiet();
  started = 1;
}

static int bool_ok(int v) { return v == 0 || v == 1; }

/* A strict decimal in 1..254. */
static long cluster_id_of(const char *v)
{
  long n = 0;
  size_t i;

  if (!v || !*v || strlen(v) > 3)
    return 0;
  for (i = 0; v[i]; i++) {
    if (v[i] < '0' || v[i] > '9')
      return 0;
    n = n * 10 + (v[i] - '0');
  }
  return n >= 1 && n <= 254 ? n : 0;
}

static void check_env(const struct pfring_pcap_env *env)
{
  const char *app = getenv(vars[APPNAME]), *id = getenv(vars[CLUSTER_ID]);
  long want = cluster_id_of(id);

  FUZZ_CHECK(bool_ok(env->no_pf_ring) && bool_ok(env->active_poll) &&
             bool_ok(env->recv_only) && bool_ok(env->rss_rehash) &&
             bool_ok(env->always_sync_fd), "a boolean that is neither 0 nor 1");
  FUZZ_CHECK(env->no_pf_ring == (getenv(vars[0]) != NULL), "no_pf_ring %d", env->no_pf_ring);
  FUZZ_CHECK((env->open_flags & ~ENV_FLAGS) == 0, "open_flags %#x", env->open_flags);
  FUZZ_CHECK(env->cluster_id <= 254, "cluster id %u", env->cluster_id);
  if (env->cluster_id)
    FUZZ_CHECK((int)env->cluster_type >= 0 && env->cluster_type <= PFRINGINT_LAST_CLUSTER_TYPE,
               "cluster type %d", (int)env->cluster_type);
  else
    FUZZ_CHECK(env->cluster_type == 0, "cluster type %d without a cluster",
               (int)env->cluster_type);
  if (want)
    FUZZ_CHECK(env->cluster_id == (u_int32_t)want, "%s='%s' gave cluster %u", vars[CLUSTER_ID],
               id, env->cluster_id);
  FUZZ_CHECK(strnlen(env->appname, sizeof(env->appname)) < sizeof(env->appname),
             "an unterminated appname");
  if (app && strlen(app) >= 1 && strlen(app) <= PF_RING_APPNAME_LEN)
    FUZZ_CHECK(strcmp(env->appname, app) == 0, "appname '%s' for '%s'", env->appname, app);
  else
    FUZZ_CHECK(env->appname[0] == '\0', "appname '%s'", env->appname);
}

static void check_plan(const struct pfring_pcap_ring_plan *plan, const struct pfring_pcap_env *env,
                       const char *device, int promisc, int listen, const char *dflt)
{
  u_int32_t want = PF_RING_TIMESTAMP | env->open_flags;
  size_t n = strnlen(plan->appname, sizeof(plan->appname));

  if (promisc && !(device && strcmp(device, "any") == 0))
    want |= PF_RING_PROMISC;
  FUZZ_CHECK(plan->flags == want, "flags %#x, expected %#x", plan->flags, want);
  FUZZ_CHECK(plan->retry_flags == ((want & PF_RING_HW_TIMESTAMP) ? want & ~PF_RING_HW_TIMESTAMP
                                                                   : 0),
             "retry flags %#x for flags %#x", plan->retry_flags, want);
  FUZZ_CHECK(plan->poll_watermark == 1, "watermark %u", plan->poll_watermark);
  if (listen)
    FUZZ_CHECK(plan->recv_only == env->recv_only && plan->cluster_id == env->cluster_id &&
               plan->cluster_type == env->cluster_type && plan->rss_rehash == env->rss_rehash,
               "a listening plan that differs from its env");
  else
    FUZZ_CHECK(!plan->recv_only && !plan->cluster_id && !plan->cluster_type && !plan->rss_rehash,
               "a plan that does not listen with listening steps");
  FUZZ_CHECK(n >= 1 && n <= PF_RING_APPNAME_LEN, "an application name of %zu characters", n);
  if (env->appname[0])
    FUZZ_CHECK(strcmp(plan->appname, env->appname) == 0, "appname '%s', env '%s'",
               plan->appname, env->appname);
  else if (dflt && *dflt)
    FUZZ_CHECK(strncmp(plan->appname, dflt, PF_RING_APPNAME_LEN) == 0,
               "appname '%s', default '%s'", plan->appname, dflt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const devices[] = { NULL, "any", "eth0", "zc:eth0@0" };
  struct input in = { data, size };
  struct pfring_pcap_env env, again;
  struct pfring_pcap_open opts;
  struct pfring_pcap_ring_plan plan;
  char value[256], last[256] = "";
  int set[NUM_VARS] = { 0 };
  u_int8_t o;
  size_t i;
  int rc;

  if (!started)
    start();
  o = take8(&in);
  while (in.left) {
    size_t v = take8(&in) % NUM_VARS, len = take8(&in);
    for (i = 0; i < len && in.left; i++)
      value[i] = (char)take8(&in);
    value[i] = '\0';
    FUZZ_CHECK(setenv(vars[v], value, 1) == 0, "setenv: %s", strerror(errno));
    set[v] = 1;
    memcpy(last, value, sizeof(last));
  }

  memset(&env, 0x5A, sizeof(env));
  rc = pfring_parse_pcap_env(&env);
  FUZZ_CHECK(rc == 0, "pfring_parse_pcap_env returned %d", rc);
  check_env(&env);
  memset(&again, 0xA5, sizeof(again));
  pfring_parse_pcap_env(&again);
  FUZZ_CHECK(memcmp(&env, &again, sizeof(env)) == 0, "two parses differ");

  memset(&opts, 0, sizeof(opts));
  opts.promisc = o & 1;
  opts.listen = (o >> 1) & 1;
  opts.default_appname = (o & 0x20) ? last : NULL;
  switch (o >> 6) {
  case 0: opts.size = sizeof(opts); break;
  case 1: opts.size = 0; break;          /* 0: the defaults */
  case 2: opts.size = offsetof(struct pfring_pcap_open, listen); break;
  default: opts.size = offsetof(struct pfring_pcap_open, default_appname); break;
  }
  memset(&plan, 0x5A, sizeof(plan));
  rc = pfring_pcap_env_plan(devices[(o >> 3) & 3], (o & 4) ? &env : NULL, &opts, &plan);
  FUZZ_CHECK(rc == 0, "pfring_pcap_env_plan returned %d", rc);
  {
    /* What the callee may read of a smaller struct; the rest is default. */
    int promisc = opts.size > offsetof(struct pfring_pcap_open, promisc) ? opts.promisc : 0;
    int listen = opts.size > offsetof(struct pfring_pcap_open, listen) ? opts.listen : 1;
    const char *dflt = opts.size > offsetof(struct pfring_pcap_open, default_appname)
                         ? opts.default_appname : NULL;
    check_plan(&plan, &env, devices[(o >> 3) & 3], promisc, listen, dflt);
  }

  for (i = 0; i < NUM_VARS; i++)
    if (set[i])
      unsetenv(vars[i]);
  return 0;
}
