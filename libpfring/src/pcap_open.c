/*
 * pcap_open.c - a ring opened as PF_RING's libpcap opens it under the
 * PCAP_PF_RING_* variables (pfring.h, above pfring_open_pcap_env), for the
 * libpcap drop-in and the Python shim.
 *
 * pfring_pcap_env_plan() holds every decision (flags, the HW_TIMESTAMP
 * retry, which steps apply, the application name); pfring_open_pcap_env()
 * carries the plan out on a new ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Opening a ring under the PCAP_* variables                                 */

static const struct pfring_pcap_open default_opts = {
  .size = sizeof(struct pfring_pcap_open),
  .listen = 1,
};

/* The caller's options, or the defaults for the fields an older (smaller)
 * struct does not have. */
static void get_opts(const struct pfring_pcap_open *in, struct pfring_pcap_open *out)
{
  *out = default_opts;
  if (in && in->size)
    memcpy(out, in, in->size < sizeof(*out) ? in->size : sizeof(*out));
  out->size = sizeof(*out);
}

static const char *program_name(void)
{
  return program_invocation_short_name && *program_invocation_short_name
           ? program_invocation_short_name : "pcap";
}

PFRING_API int pfring_pcap_env_plan(const char *device, const struct pfring_pcap_env *env,
                                    const struct pfring_pcap_open *opts,
                                    struct pfring_pcap_ring_plan *plan)
{
  struct pfring_pcap_env parsed;
  struct pfring_pcap_open o;
  const char *app;

  if (!plan)
    return PF_RING_ERROR_INVALID_ARGUMENT;
  if (!env) {
    pfring_parse_pcap_env(&parsed);
    env = &parsed;
  }
  get_opts(opts, &o);
  memset(plan, 0, sizeof(*plan));
  plan->flags = PF_RING_TIMESTAMP | env->open_flags;
  if (o.promisc && !(device && strcmp(device, "any") == 0))
    plan->flags |= PF_RING_PROMISC;
  /* A ring with the kernel's time stamps beats no ring at all. */
  if (plan->flags & PF_RING_HW_TIMESTAMP)
    plan->retry_flags = plan->flags & ~(u_int32_t)PF_RING_HW_TIMESTAMP;
  plan->poll_watermark = 1;
  if (o.listen) {
    plan->recv_only = env->recv_only;
    plan->cluster_id = env->cluster_id;
    plan->cluster_type = env->cluster_type;
    plan->rss_rehash = env->rss_rehash;
  }
  app = env->appname[0] ? env->appname
        : o.default_appname && *o.default_appname ? o.default_appname : program_name();
  snprintf(plan->appname, sizeof(plan->appname), "%s", app);
  return 0;
}

static void warn(const struct pfring_pcap_open *o, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void warn(const struct pfring_pcap_open *o, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (o->print)
    o->print(1, msg, o->print_user);
  else
    pfringint_log(1, "%s", msg);
}

static pfring *failed(struct pfring_pcap_open_result *res, pfring *ring, int rc,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static pfring *failed(struct pfring_pcap_open_result *res, pfring *ring, int rc,
                      const char *fmt, ...)
{
  va_list ap;

  res->rc = rc < 0 ? rc : PF_RING_ERROR_GENERIC;
  res->set_up = ring != NULL;
  va_start(ap, fmt);
  vsnprintf(res->errbuf, sizeof(res->errbuf), fmt, ap);
  va_end(ap);
  if (ring)
    pfring_close(ring);
  return NULL;
}

PFRING_API pfring *pfring_open_pcap_env(const char *device, u_int32_t caplen,
                                        const struct pfring_pcap_env *env,
                                        const struct pfring_pcap_open *opts,
                                        struct pfring_pcap_open_result *res)
{
  struct pfring_pcap_open_result scratch;
  struct pfring_pcap_ring_plan plan;
  struct pfring_pcap_open o;
  pfring *ring;
  int rc;

  if (!res)
    res = &scratch;
  memset(res, 0, sizeof(*res));
  get_opts(opts, &o);
  if ((rc = pfring_pcap_env_plan(device, env, &o, &plan)) < 0)
    return failed(res, NULL, rc, "%s", pfring_strerror(rc));

  ring = pfring_open(device, caplen, plan.flags);
  if (!ring && plan.retry_flags &&
      pfring_last_open_error_code() == PF_RING_ERROR_NOT_SUPPORTED) {
    warn(&o, "PCAP_PF_RING_HW_TIMESTAMP: %s; using software time stamps",
         pfring_last_open_error());
    plan.flags = plan.retry_flags;
    ring = pfring_open(device, caplen, plan.flags);
  }
  if (!ring)
    return failed(res, NULL, pfring_last_open_error_code(), "%s", pfring_last_open_error());
  res->flags = plan.flags;

  if (o.batching && pfring_set_batching(ring, o.batch_timeout_ms, o.batch_block_bytes) < 0)
    pfringint_log(2, "%s: no batching: %s", device, pfring_last_error(ring));
  pfring_set_poll_watermark(ring, plan.poll_watermark);
  if (plan.recv_only && (rc = pfring_set_socket_mode(ring, recv_only_mode)) < 0)
    return failed(res, ring, rc, "%s", pfring_last_error(ring));
  if (plan.cluster_id && (rc = pfring_set_cluster(ring, plan.cluster_id, plan.cluster_type)) < 0)
    return failed(res, ring, rc, "PCAP_PF_RING_CLUSTER_ID=%u: %s", plan.cluster_id,
                  pfring_last_error(ring));
  pfring_set_application_name(ring, plan.appname);
  if (plan.rss_rehash && pfring_enable_rss_rehash(ring) < 0)
    warn(&o, "PCAP_PF_RING_RSS_REHASH: %s", pfring_last_error(ring));
  return ring;
}
