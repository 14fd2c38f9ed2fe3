/*
 * rules.c - PF_RING's filtering rules: the public calls, the ring's rule
 * set, and the rules program of kernel/rules/ that runs them in the kernel.
 *
 * The rule set (struct pfringint_ruleset) is part of the ring's filter
 * state (ring->filter.rules) and changes only through
 * pfringint_filter_apply (filter_state.c), as every other filter setting
 * does: a call here builds the next set, and the apply step either attaches
 * it or leaves the ring exactly as it was.  Attaching (from the backend's
 * filter update, pfringint_rules_attach) is
 *
 *   prepare  a new instance of the rules program: its own cfg, classic
 *            and rule maps filled from the set, the ring's stats map
 *            shared (nothing on the socket touched yet)
 *   attach   ops.attach_rules_prog: SO_ATTACH_BPF replaces the socket's
 *            filter in one step (on failure the old one stays)
 *   switch   the old instance is freed; the old set (filter_state.c)
 *
 * A rule's counters live in the stats map under its rule_id from the add
 * (a zero entry, written before the attach and removed again if the add
 * fails) to its removal; the map is shared by the ring's instances, so the
 * counters go on across changes of the other rules.
 *
 * Hash rules live in the kernel only (the per-ring hash map, shared by the
 * instances): user space keeps no copy, only hash_delta, what it inserted
 * minus what it removed.  The program inserts rules too (the add-rule
 * action) and removes them (the delete-rule action, its own or the
 * user's), and counts both in the per-ring pfring_rules_auto map, so the
 * number of rules in the map (hash_count) is hash_delta plus what it
 * added minus what it removed, with no walk of the map; removal and purge work by key on every rule,
 * whoever added it.  The set's has_hash (the program looks the map up) is
 * on while the map may hold rules: from the first add, or a wildcard rule
 * with the add-rule action, until the map is empty with no such rule.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if_arp.h>

#include "pfring_int.h"
#include "pfring_rules.h"
#include "pfring_rules.skel.h"

#define PFRING_API __attribute__((visibility("default")))

struct pfringint_rule {
  filtering_rule rule;              /* as added (rule_id filled in) */
  struct pfring_rules_wild enc;     /* what the program reads */
  u_int64_t added_ns;               /* CLOCK_MONOTONIC of the add */
};

struct pfringint_ruleset {
  u_int8_t default_accept;          /* the policy */
  u_int8_t has_hash;                /* the ring has had hash rules: the program looks them up */
  u_int8_t hash_reflects;           /* ... and one of them reflects or bounces (until the map
                                     * is empty again) */
  u_int32_t num;                    /* rules, ascending rule_id */
  struct pfringint_rule r[];
};

struct pfringint_rules_rt {
  int stats_fd;                     /* pfring_rule_stats, shared by the instances */
  struct pfring_rules_bpf *cur;     /* the attached instance, NULL = classic filter */
  struct sock_filter *classic;      /* the classic filter cur runs (malloc'ed) */
  u_int32_t classic_len;
  u_int64_t loads;                  /* instances loaded into the kernel */
  int hash_fd;                      /* pfring_hash_rules, shared by the instances */
  int auto_fd;                      /* pfring_rules_auto, shared by the instances */
  int64_t hash_delta;               /* hash rules user space inserted, minus every one it
                                     * deleted (the program's own adds included) */
  int refl_fd;                      /* pfring_rules_refl, shared by the instances */
  /* The reflector (reflect and bounce): cur's pfring_rules_reflect, loaded
   * while the set has such rules, in a tcx link at the ingress of each of
   * the ring's devices. */
  u_int8_t cur_reflects;            /* cur has the reflector program loaded */
  u_int32_t num_links;
  int links[MAX_NUM_DEVICES];
};

/* A zeroed array of one value of size bytes per possible CPU (a per-CPU
 * map's value as the map calls read and write it), its length in *n; NULL
 * with the ring's error set (ring NULL: no error set, for the status
 * writer's thread). */
static void *percpu_values(pfring *ring, size_t size, int *n)
{
  void *v;

  *n = libbpf_num_possible_cpus();
  if (*n <= 0) {
    if (ring)
      pfringint_seterr(ring, PF_RING_ERROR_GENERIC, -*n, "cannot count the CPUs");
    return NULL;
  }
  v = calloc((size_t)*n, size);
  if (!v && ring)
    pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  return v;
}

/* The hash rules in the map: what user space inserted, plus what the
 * program added (the add-rule action, counted in pfring_rules_auto),
 * minus what user space and the program (the delete-rule action)
 * removed.  No scan of the map. */
static u_int32_t hash_count(pfring *ring)
{
  struct pfringint_rules_rt *rt = ring->rules_rt;
  struct pfring_rules_auto *a;
  u_int32_t zero = 0;
  int64_t total;
  int n, i;

  if (!rt)
    return 0;
  total = rt->hash_delta;
  if ((a = percpu_values(NULL, sizeof(*a), &n)) != NULL) {
    if (bpf_map_lookup_elem(rt->auto_fd, &zero, a) == 0)
      for (i = 0; i < n; i++)
        total += (int64_t)a[i].added - (int64_t)a[i].removed;
    free(a);
  }
  if (total < 0)
    return 0;
  return total > PFRING_RULES_HASH_MAX ? PFRING_RULES_HASH_MAX : (u_int32_t)total;
}

void pfringint_rules_counts(pfring *ring, u_int32_t *wildcard, u_int32_t *hash)
{
  *wildcard = ring->filter.rules ? ring->filter.rules->num : 0;
  *hash = hash_count(ring);
}

/* The copies the reflector sent and failed to send; 0 when the map cannot
 * be read (no error set: the status writer calls it too). */
static void reflection_read(pfring *ring, pfring_reflection_stat *stats)
{
  struct pfring_rules_refl *v;
  u_int32_t zero = 0;
  int n, i;

  memset(stats, 0, sizeof(*stats));
  if (!ring->rules_rt || !(v = percpu_values(NULL, sizeof(*v), &n)))
    return;
  if (bpf_map_lookup_elem(ring->rules_rt->refl_fd, &zero, v) == 0)
    for (i = 0; i < n; i++) {
      stats->sent += v[i].sent;
      stats->failed += v[i].failed;
    }
  free(v);
}

void pfringint_rules_reflected(pfring *ring, u_int64_t *sent, u_int64_t *failed)
{
  pfring_reflection_stat st;

  reflection_read(ring, &st);
  *sent = st.sent;
  *failed = st.failed;
}

static u_int64_t mono_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (u_int64_t)ts.tv_sec * 1000000000ull + (u_int64_t)ts.tv_nsec;
}

static u_int64_t real_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (u_int64_t)ts.tv_sec * 1000000000ull + (u_int64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* The stats calls: a rule's time fields, and the copy into the caller's
 * buffer (as much of the struct as it holds).                              */

/* Seconds since the last match, or since the add if it never matched. */
static u_int32_t inactivity_of(u_int64_t now, u_int64_t last_ns, u_int64_t added_ns)
{
  u_int64_t last = last_ns > added_ns ? last_ns : added_ns;

  return (u_int32_t)(now > last ? (now - last) / 1000000000ull : 0);
}

/* The CLOCK_REALTIME of a match at CLOCK_MONOTONIC last_ns (0: none). */
static u_int64_t match_time_of(u_int64_t now, u_int64_t last_ns)
{
  return last_ns ? real_ns() - (now > last_ns ? now - last_ns : 0) : 0;
}

static int copy_stats(void *stats, u_int *stats_len, const void *out, size_t size)
{
  u_int n = *stats_len < size ? *stats_len : (u_int)size;

  memcpy(stats, out, n);
  *stats_len = n;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Rule sets                                                                 */

void pfringint_ruleset_free(struct pfringint_ruleset *set)
{
  free(set);
}

static struct pfringint_ruleset *set_alloc(u_int32_t num)
{
  return calloc(1, sizeof(struct pfringint_ruleset) + (size_t)num * sizeof(struct pfringint_rule));
}

/* A copy of the ring's set with room for extra more rules (policy accept
 * when the ring has none). */
static struct pfringint_ruleset *set_copy(const struct pfringint_ruleset *cur, u_int32_t extra)
{
  struct pfringint_ruleset *s = set_alloc((cur ? cur->num : 0) + extra);

  if (!s)
    return NULL;
  s->default_accept = 1;
  if (cur) {
    s->default_accept = cur->default_accept;
    s->has_hash = cur->has_hash;
    s->hash_reflects = cur->hash_reflects;
    s->num = cur->num;
    memcpy(s->r, cur->r, (size_t)cur->num * sizeof(cur->r[0]));
  }
  return s;
}

static int set_find(const struct pfringint_ruleset *s, u_int16_t id)
{
  u_int32_t i;

  for (i = 0; s && i < s->num; i++)
    if (s->r[i].rule.rule_id == id)
      return (int)i;
  return -1;
}

/* A wildcard rule of s has this action. */
static int set_has_action(const struct pfringint_ruleset *s, u_int8_t action)
{
  u_int32_t i;

  for (i = 0; s && i < s->num; i++)
    if (s->r[i].enc.action == action)
      return 1;
  return 0;
}

/* A rule of s adds hash rules (the add-rule action). */
static int set_adds_hash_rules(const struct pfringint_ruleset *s)
{
  return set_has_action(s, PFRING_RULE_FORWARD_ADD);
}

/* A rule of s (wildcard, or hash) reflects or bounces: the reflector runs. */
static int set_reflects(const struct pfringint_ruleset *s)
{
  u_int32_t i;

  if (s && s->hash_reflects)
    return 1;
  for (i = 0; s && i < s->num; i++)
    if (PFRING_RULE_ACTION_REFLECTS(s->r[i].enc.action))
      return 1;
  return 0;
}

static void set_remove_at(struct pfringint_ruleset *s, u_int32_t i)
{
  memmove(&s->r[i], &s->r[i + 1], (size_t)(s->num - i - 1) * sizeof(s->r[0]));
  s->num--;
}

/* A set that changes nothing (no rules, accept) is no set: the classic
 * filter alone runs.  Frees s in that case. */
static struct pfringint_ruleset *set_normal(struct pfringint_ruleset *s)
{
  if (s && s->num == 0 && s->default_accept && !s->has_hash) {
    free(s);
    return NULL;
  }
  return s;
}

/* ------------------------------------------------------------------------ */
/* The per-ring kernel objects                                               */

static int ensure_rt(pfring *ring)
{
  struct pfringint_rules_rt *rt;
  int fd, hfd, afd, rfd, err;

  if (ring->rules_rt)
    return 0;
  pfringint_libbpf_logs();
  fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pfring_rule_sta", sizeof(u_int32_t),
                      sizeof(struct pfring_rules_stat), PFRING_RULES_MAX, NULL);
  if (fd < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot create the rule counters of '%s' (filtering rules "
                                  "need CAP_BPF or root)", ring->bound_name);
  hfd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "pfring_hash_rul", sizeof(struct pfring_rules_hkey),
                       sizeof(struct pfring_rules_hval), PFRING_RULES_HASH_MAX, NULL);
  if (hfd < 0) {
    err = errno;
    close(fd);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot create the hash rules map of '%s'", ring->bound_name);
  }
  afd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pfring_rules_au", sizeof(u_int32_t),
                       sizeof(struct pfring_rules_auto), 1, NULL);
  if (afd < 0) {
    err = errno;
    close(fd);
    close(hfd);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot create the added hash rules counter of '%s'",
                                  ring->bound_name);
  }
  rfd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pfring_rules_re", sizeof(u_int32_t),
                       sizeof(struct pfring_rules_refl), 1, NULL);
  rt = rfd < 0 ? NULL : calloc(1, sizeof(*rt));
  if (!rt) {
    err = rfd < 0 ? errno : ENOMEM;
    close(fd);
    close(hfd);
    close(afd);
    if (rfd >= 0)
      close(rfd);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot create the reflection counters of '%s'",
                                  ring->bound_name);
  }
  rt->stats_fd = fd;
  rt->hash_fd = hfd;
  rt->auto_fd = afd;
  rt->refl_fd = rfd;
  ring->rules_rt = rt;
  return 0;
}

/* A rule's counters are its stat_slot's entry of the stats map: the lowest
 * slot no rule of s holds (s has fewer than PFRING_RULES_MAX rules). */
static u_int16_t free_slot(const struct pfringint_ruleset *s)
{
  u_int8_t used[PFRING_RULES_MAX];
  u_int32_t i;

  memset(used, 0, sizeof(used));
  for (i = 0; s && i < s->num; i++)
    used[s->r[i].enc.stat_slot % PFRING_RULES_MAX] = 1;
  for (i = 0; i < PFRING_RULES_MAX && used[i]; i++)
    ;
  return (u_int16_t)(i % PFRING_RULES_MAX);
}

/* Zeroes a slot before a rule takes it: no rule of the set in force holds
 * it, so no packet writes it meanwhile (a removed rule's last packets are
 * done when the set without it is in: the slot update waits for them). */
static int stats_reset(pfring *ring, u_int32_t slot, u_int32_t id)
{
  struct pfring_rules_stat *zero;
  int n, rc;

  if (!(zero = percpu_values(ring, sizeof(*zero), &n)))
    return ring->last_rc;
  rc = bpf_map_update_elem(ring->rules_rt->stats_fd, &slot, zero, BPF_ANY);
  free(zero);
  if (rc < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(errno), errno,
                                  "cannot set up the counters of rule %u", id);
  return 0;
}

/* Sums the per-CPU counters of a rule's slot; last_ns is the latest. */
static int stats_read(pfring *ring, u_int32_t slot, struct pfring_rules_stat *sum)
{
  struct pfring_rules_stat *v;
  int n, i;

  memset(sum, 0, sizeof(*sum));
  if (!ring->rules_rt)
    return 0;
  if (!(v = percpu_values(ring, sizeof(*v), &n)))
    return ring->last_rc;
  if (bpf_map_lookup_elem(ring->rules_rt->stats_fd, &slot, v) == 0)
    for (i = 0; i < n; i++) {
      sum->packets += v[i].packets;
      sum->bytes += v[i].bytes;
      sum->hash_added += v[i].hash_added;
      sum->hash_refused += v[i].hash_refused;
      sum->hash_deleted += v[i].hash_deleted;
      if (v[i].last_ns > sum->last_ns)
        sum->last_ns = v[i].last_ns;
    }
  free(v);
  return 0;
}

/* The tail of the verifier's log, for the error message. */
static void verifier_tail(char *out, size_t len, int reflects)
{
  static char log[65536];
  struct pfring_rules_bpf *s;
  size_t n;

  out[0] = '\0';
  s = pfring_rules_bpf__open();
  if (!s)
    return;
  log[0] = '\0';
  bpf_program__set_autoload(s->progs.pfring_rules_reflect, reflects);
  bpf_program__set_log_buf(s->progs.pfring_rules_filter, log, sizeof(log));
  bpf_program__set_log_level(s->progs.pfring_rules_filter, 1);
  bpf_program__set_log_buf(s->progs.pfring_rules_reflect, log, sizeof(log));
  bpf_program__set_log_level(s->progs.pfring_rules_reflect, 1);
  if (pfring_rules_bpf__load(s) < 0) {
    n = strlen(log);
    while (n && log[n - 1] == '\n')
      log[--n] = '\0';
    snprintf(out, len, "; verifier: %.300s", n > 300 ? log + n - 300 : log);
  }
  pfring_rules_bpf__destroy(s);
}

/* Puts set into the slot of the instance s: a new inner map with the whole
 * set, then one update of the slot.  Returns 0, or -1 with errno and the
 * old set still in the slot. */
static int publish(struct pfring_rules_bpf *s, const struct pfringint_ruleset *set)
{
  struct pfring_rules_set *v;
  u_int32_t i, zero = 0;
  int fd, rc = -1, err;

  v = calloc(1, sizeof(*v));
  if (!v)
    return -1;
  v->num_rules = set->num;
  v->default_accept = set->default_accept;
  v->hash_rules = set->has_hash || set_adds_hash_rules(set);
  v->reflects = (u_int16_t)set_reflects(set);
  /* the delete-rule rules run for the packets a hash rule decided too */
  v->deletes = (u_int16_t)set_has_action(set, PFRING_RULE_FORWARD_DEL);
  for (i = 0; i < set->num && i < PFRING_RULES_MAX; i++)
    v->r[i] = set->r[i].enc;
  fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pfring_rule_set", sizeof(u_int32_t), sizeof(*v), 1,
                      NULL);
  if (fd >= 0) {
    if (bpf_map_update_elem(fd, &zero, v, BPF_ANY) == 0 &&
        bpf_map_update_elem(bpf_map__fd(s->maps.pfring_rules_sets), &zero, &fd, BPF_ANY) == 0)
      rc = 0;
    err = errno;
    close(fd);                      /* the slot holds the map from here on */
    errno = err;
  }
  err = errno;
  free(v);
  errno = err;
  return rc;
}

static int fill(pfring *ring, struct pfring_rules_bpf *s, const struct pfringint_ruleset *set,
                const struct sock_fprog *classic)
{
  struct pfring_rules_cfg cfg, back;
  struct pfring_rules_insn insn;
  u_int32_t i, zero = 0;
  int fd;

  fd = bpf_map__fd(s->maps.pfring_rules_cbpf);
  for (i = 0; i < classic->len; i++) {
    insn.code = classic->filter[i].code;
    insn.jt = classic->filter[i].jt;
    insn.jf = classic->filter[i].jf;
    insn.k = classic->filter[i].k;
    if (bpf_map_update_elem(fd, &i, &insn, BPF_ANY) < 0)
      return -1;
  }
  memset(&cfg, 0, sizeof(cfg));
  cfg.version = PFRING_RULES_ABI_VERSION;
  cfg.cbpf_len = classic->len;
  cfg.native = (u_int32_t)pfringint_rules_native(classic->filter, classic->len, &cfg.native_snap);
  fd = bpf_map__fd(s->maps.pfring_rules_cfg);
  if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) < 0 ||
      bpf_map_lookup_elem(fd, &zero, &back) < 0)
    return -1;
  if (back.version != PFRING_RULES_ABI_VERSION) {
    errno = EPROTO;
    return -1;
  }
  return publish(s, set);
}

/* ------------------------------------------------------------------------ */
/* The reflector's tcx links                                                 */

/* BPF_TCX_INGRESS of linux/bpf.h (kernels from 6.6; older headers lack it). */
#define PFRINGINT_TCX_INGRESS ((enum bpf_attach_type)46)

struct link_args {
  pfring *ring;
  int prog_fd;
  int links[MAX_NUM_DEVICES];
  u_int32_t n;
  int failed_ifindex;
};

/* In the ring's namespace: one link per device of the ring; all or none. */
static int links_create_here(void *p)
{
  struct link_args *a = p;
  u_int32_t i;
  int fd, err;

  for (i = 0; i < a->ring->spec.num_devices && i < MAX_NUM_DEVICES; i++) {
    fd = bpf_link_create(a->prog_fd, a->ring->if_index[i], PFRINGINT_TCX_INGRESS, NULL);
    if (fd < 0) {
      err = errno;
      a->failed_ifindex = a->ring->if_index[i];
      while (a->n)
        close(a->links[--a->n]);
      errno = err;
      return -1;
    }
    a->links[a->n++] = fd;
  }
  return 0;
}

static int links_open(pfring *ring, int prog_fd)
{
  struct pfringint_rules_rt *rt = ring->rules_rt;
  struct link_args a;
  char name[sizeof(ring->bound_name)];
  int err;

  memset(&a, 0, sizeof(a));
  a.ring = ring;
  a.prog_fd = prog_fd;
  if (pfringint_in_netns_of(pfringint_dev_fd(ring), links_create_here, &a) < 0) {
    err = errno;
    if (!a.failed_ifindex || pfringint_if_name(pfringint_dev_fd(ring), a.failed_ifindex, name) < 0)
      snprintf(name, sizeof(name), "%s", ring->bound_name);
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot attach the reflector program at the tc ingress of "
                                  "'%s' (reflect and bounce rules need tcx, Linux 6.6 or "
                                  "later, and CAP_NET_ADMIN)", name);
  }
  memcpy(rt->links, a.links, sizeof(a.links));
  rt->num_links = a.n;
  return 0;
}

static void links_close(struct pfringint_rules_rt *rt)
{
  while (rt->num_links)
    close(rt->links[--rt->num_links]);
}

/* Every link runs prog_fd from now on; on failure the ones changed go back
 * to old_fd.  0, or -1 with errno. */
static int links_update(struct pfringint_rules_rt *rt, int prog_fd, int old_fd)
{
  u_int32_t i, j;
  int err;

  for (i = 0; i < rt->num_links; i++)
    if (bpf_link_update(rt->links[i], prog_fd, NULL) < 0) {
      err = errno;
      for (j = 0; j < i; j++)
        bpf_link_update(rt->links[j], old_fd, NULL);
      errno = err;
      return -1;
    }
  return 0;
}

static int same_classic(const struct pfringint_rules_rt *rt, const struct sock_fprog *classic)
{
  return rt->cur && rt->classic && rt->classic_len == classic->len &&
         memcmp(rt->classic, classic->filter, classic->len * sizeof(struct sock_filter)) == 0;
}

int pfringint_rules_attach(pfring *ring, const struct sock_fprog *classic)
{
  const struct pfringint_ruleset *set = ring->filter.rules;
  struct pfringint_rules_rt *rt;
  struct pfring_rules_bpf *s;
  struct sock_filter *copy;
  char tail[400];
  int rc, err, opened = 0, reflects = set_reflects(set), tc_fd;
  int links = reflects && ring->enabled;      /* the reflector acts on an enabled ring */

  if (classic->len > PFRING_RULES_CBPF_MAX)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "the kernel filter for '%s' is too long for the rules program",
                            ring->bound_name);
  if ((rc = ensure_rt(ring)) < 0)
    return rc;
  rt = ring->rules_rt;
  if (same_classic(rt, classic) && (!reflects || rt->cur_reflects)) {
    /* Only the rules or the policy changed: the attached instance stays
     * (its reflector links too, while a rule reflects). */
    opened = links && !rt->num_links;
    if (opened && (rc = links_open(ring, bpf_program__fd(rt->cur->progs.pfring_rules_reflect))) < 0)
      return rc;
    if (publish(rt->cur, set) < 0) {
      err = errno;
      if (opened)
        links_close(rt);
      return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                    "cannot install the new filtering rules of '%s' (the old "
                                    "ones stay)", ring->bound_name);
    }
    if (!links)
      links_close(rt);
    return 0;
  }
  copy = malloc((size_t)classic->len * sizeof(struct sock_filter) + 1);
  if (!copy)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  memcpy(copy, classic->filter, (size_t)classic->len * sizeof(struct sock_filter));
  /* 1. prepare */
  s = pfring_rules_bpf__open();
  if (!s) {
    err = errno;
    free(copy);
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, err,
                                  "cannot open the filtering rules program");
  }
  {
    /* the ring's maps, which every instance shares */
    const struct { struct bpf_map *map; int fd; const char *what; } shared[] = {
      { s->maps.pfring_rule_stats, rt->stats_fd, "the rule counters" },
      { s->maps.pfring_hash_rules, rt->hash_fd, "the hash rules map" },
      { s->maps.pfring_rules_auto, rt->auto_fd, "the added hash rules counter" },
      { s->maps.pfring_rules_refl, rt->refl_fd, "the reflection counters" },
    };
    size_t i;

    for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
      if (bpf_map__reuse_fd(shared[i].map, shared[i].fd) < 0) {
        err = errno;
        rc = pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, err, "cannot share %s",
                                    shared[i].what);
        goto fail;
      }
  }
  bpf_program__set_autoload(s->progs.pfring_rules_reflect, reflects);
  ring->rules_rt->loads++;
  if (pfring_rules_bpf__load(s) < 0) {
    err = errno;
    verifier_tail(tail, sizeof(tail), reflects);
    rc = pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                          "the kernel refused the filtering rules program: %s%s",
                          strerror(err), tail);
    goto fail;
  }
  if (fill(ring, s, set, classic) < 0) {
    err = errno;
    rc = pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, err,
                                "cannot fill the maps of the filtering rules program");
    goto fail;
  }
  /* 2. attach: the reflector first (its links, or the new program in
   * them), then the socket filter (the backend; on failure the old program
   * stays, and so do the links' old programs) */
  if (links) {
    tc_fd = bpf_program__fd(s->progs.pfring_rules_reflect);
    if (rt->num_links) {
      if (links_update(rt, tc_fd, bpf_program__fd(rt->cur->progs.pfring_rules_reflect)) < 0) {
        err = errno;
        rc = pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                    "cannot update the reflector program of '%s'",
                                    ring->bound_name);
        goto fail;
      }
    } else {
      if ((rc = links_open(ring, tc_fd)) < 0)
        goto fail;
      opened = 1;
    }
  }
  rc = ring->ops.attach_rules_prog(ring, bpf_program__fd(s->progs.pfring_rules_filter));
  if (rc < 0) {
    if (opened)
      links_close(rt);
    else if (links)
      links_update(rt, bpf_program__fd(rt->cur->progs.pfring_rules_reflect), -1);
    goto fail;
  }
  if (!links)
    links_close(rt);
  /* 3. switch */
  if (rt->cur)
    pfring_rules_bpf__destroy(rt->cur);
  free(rt->classic);
  rt->cur = s;
  rt->cur_reflects = (u_int8_t)reflects;
  rt->classic = copy;
  rt->classic_len = classic->len;
  return 0;

fail:
  pfring_rules_bpf__destroy(s);
  free(copy);
  return rc;
}

void pfringint_rules_detached(pfring *ring)
{
  if (ring->rules_rt)
    links_close(ring->rules_rt);
  if (ring->rules_rt && ring->rules_rt->cur) {
    pfring_rules_bpf__destroy(ring->rules_rt->cur);
    ring->rules_rt->cur = NULL;
    ring->rules_rt->cur_reflects = 0;
    free(ring->rules_rt->classic);
    ring->rules_rt->classic = NULL;
    ring->rules_rt->classic_len = 0;
  }
}

void pfringint_rules_release(pfring *ring)
{
  pfringint_rules_detached(ring);
  if (ring->rules_rt) {
    close(ring->rules_rt->stats_fd);
    close(ring->rules_rt->hash_fd);
    close(ring->rules_rt->auto_fd);
    close(ring->rules_rt->refl_fd);
    free(ring->rules_rt);
    ring->rules_rt = NULL;
  }
  pfringint_ruleset_free(ring->filter.rules);
  ring->filter.rules = NULL;
}

/* ------------------------------------------------------------------------ */
/* The public calls                                                          */

int pfringint_rules_reflector_sync(pfring *ring)
{
  struct pfringint_rules_rt *rt = ring->rules_rt;

  if (!rt)
    return 0;
  if (ring->enabled && rt->cur && rt->cur_reflects && set_reflects(ring->filter.rules)) {
    if (rt->num_links)
      return 0;
    return links_open(ring, bpf_program__fd(rt->cur->progs.pfring_rules_reflect));
  }
  links_close(rt);
  return 0;
}

int pfringint_rules_reflect(const pfring *ring)
{
  return set_reflects(ring->filter.rules);
}

PFRING_API int pfring_get_reflection_stats(pfring *ring, pfring_reflection_stat *stats)
{
  PFRINGINT_CHECK_RING(ring);
  if (!stats)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "stats is NULL");
  reflection_read(ring, stats);
  return 0;
}

PFRING_API int pfring_rules_program_loads(pfring *ring)
{
  PFRINGINT_CHECK_RING(ring);
  if (!ring->rules_rt)
    return 0;
  return ring->rules_rt->loads > 0x7fffffff ? 0x7fffffff : (int)ring->rules_rt->loads;
}

static int rules_supported(pfring *ring)
{
  if (!ring->ops.attach_rules_prog || !ring->ops.update_filter)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "filtering rules are not supported on '%s' (zc:/xdp: rings and "
                            "unbound rings take none yet)", ring->bound_name);
  return 0;
}

static int hash_mark(pfring *ring, int reflects);

/* Makes next the ring's rule set (NULL: none); frees it on failure. */
static int apply_set(pfring *ring, struct pfringint_ruleset *next_set)
{
  struct pfringint_filter next = ring->filter;
  int rc;

  next.rules = set_normal(next_set);
  if (next.rules == ring->filter.rules)
    return 0;
  rc = pfringint_filter_apply(ring, &next);
  if (rc < 0)
    pfringint_ruleset_free(next.rules);
  return rc;
}

/* The device a reflect action sends out of, checked (bounce sends back
 * out of the device the packet came in on: 0).  what: "filtering rule 5"
 * or "hash rule", for the messages. */
static int reflect_target(pfring *ring, u_int8_t action, const char *field, const char *what,
                          u_int32_t *ifindex)
{
  char name[REFLECTOR_NAME_LEN + 1];
  u_int32_t i;
  int idx, type;

  *ifindex = 0;
  if (!PFRING_RULE_ACTION_REFLECTS(action))
    return 0;
  if (ring->spec.any || ring->spec.none || ring->spec.num_devices == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: reflect and bounce need a ring bound to devices, not '%s'",
                            what, ring->bound_name);
  if (ring->cluster_id)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: reflect and bounce are not supported on a ring in a cluster "
                            "('%s' is in cluster %u: the kernel picks the member after the "
                            "hook that sends)", what, ring->bound_name, ring->cluster_id);
  if (ring->arphrd != ARPHRD_ETHER)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: reflect and bounce need an Ethernet device ('%s' is of "
                            "ARPHRD type %u)", what, ring->bound_name, ring->arphrd);
  if (action == PFRING_RULE_BOUNCE_STOP || action == PFRING_RULE_BOUNCE_CONT)
    return 0;
  if (!memchr(field, 0, REFLECTOR_NAME_LEN))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s: reflector_device_name is not NUL-terminated within its %d "
                            "bytes", what, REFLECTOR_NAME_LEN);
  memcpy(name, field, REFLECTOR_NAME_LEN);
  name[REFLECTOR_NAME_LEN] = '\0';
  if (!name[0])
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s: a reflect action needs a reflector_device_name", what);
  idx = pfringint_ifindex(pfringint_dev_fd(ring), name);
  if (idx <= 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENODEV,
                            "%s: reflector device '%s' does not exist (in the ring's network "
                            "namespace)", what, name);
  for (i = 0; i < ring->spec.num_devices && i < MAX_NUM_DEVICES; i++)
    if (ring->if_index[i] == idx)
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                              "%s: reflector device '%s' is a capture device of the ring: "
                              "reflecting onto it would loop (bounce sends packets back out of "
                              "the device they came in on)", what, name);
  type = pfringint_if_arphrd(pfringint_dev_fd(ring), name);
  if (type != ARPHRD_ETHER)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "%s: reflector device '%s' is not an Ethernet device (ARPHRD type "
                            "%d)", what, name, type);
  *ifindex = (u_int32_t)idx;
  return 0;
}

PFRING_API int pfring_add_filtering_rule(pfring *ring, filtering_rule *rule_to_add)
{
  const struct pfringint_ruleset *cur;
  struct pfringint_ruleset *next;
  struct pfringint_rule nr;
  char msg[PFRING_ERRBUF_SIZE];
  u_int32_t i, id;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if (!rule_to_add)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "rule_to_add is NULL");
  if ((rc = rules_supported(ring)) < 0)
    return rc;
  cur = ring->filter.rules;
  memset(&nr, 0, sizeof(nr));
  nr.rule = *rule_to_add;
  id = rule_to_add->rule_id;
  if (cur && cur->num >= PFRING_MAX_FILTERING_RULES)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOSPC,
                            "'%s' already has %d filtering rules, the most a ring holds",
                            ring->bound_name, PFRING_MAX_FILTERING_RULES);
  if (id == FILTERING_RULE_AUTO_RULE_ID) {
    for (id = 0; id < FILTERING_RULE_AUTO_RULE_ID && set_find(cur, (u_int16_t)id) >= 0; id++)
      ;
    nr.rule.rule_id = (u_int16_t)id;
  } else if (set_find(cur, (u_int16_t)id) >= 0) {
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EEXIST,
                            "rule_id %u is already a filtering rule of '%s'", id,
                            ring->bound_name);
  }
  rc = pfringint_rule_encode(&nr.rule, &nr.enc, msg, sizeof(msg));
  if (rc < 0)
    return pfringint_seterr(ring, rc, rc == PF_RING_ERROR_NOT_SUPPORTED ? EOPNOTSUPP : EINVAL,
                            "filtering rule %u: %s", id, msg);
  snprintf(msg, sizeof(msg), "filtering rule %u", id);
  if ((rc = reflect_target(ring, nr.enc.action, nr.rule.reflector_device_name, msg,
                           &nr.enc.reflect_ifindex)) < 0)
    return rc;
  nr.added_ns = mono_ns();
  if ((rc = ensure_rt(ring)) < 0)
    return rc;
  next = set_copy(cur, 1);
  if (!next)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  for (i = 0; i < next->num && next->r[i].rule.rule_id < id; i++)
    ;
  memmove(&next->r[i + 1], &next->r[i], (size_t)(next->num - i) * sizeof(next->r[0]));
  next->r[i] = nr;
  next->num++;
  next->r[i].enc.stat_slot = free_slot(cur);
  if ((rc = stats_reset(ring, next->r[i].enc.stat_slot, id)) < 0) {
    free(next);
    return rc;
  }
  if (nr.enc.action == PFRING_RULE_FORWARD_ADD)
    next->has_hash = 1;             /* the program looks up the rules it adds */
  rc = apply_set(ring, next);
  if (rc < 0)
    return rc;
  rule_to_add->rule_id = (u_int16_t)id;
  return 0;
}

/* Wildcard rules go: with no add-rule rule left and no hash rule in the
 * map, the program stops looking the hash rules up. */
static void hash_settle(pfring *ring, struct pfringint_ruleset *next)
{
  if (next->has_hash && !set_adds_hash_rules(next) && hash_count(ring) == 0)
    next->has_hash = 0;
  if (hash_count(ring) == 0)
    next->hash_reflects = 0;
}

/* ... and a packet of the old set may have added one meanwhile: the
 * program looks again.  The wildcard rules have changed already, so a
 * failure here is only logged. */
static void hash_recheck(pfring *ring)
{
  if (hash_count(ring) > 0 && hash_mark(ring, 0) < 0)
    pfringint_log(3, "%s: %s", ring->bound_name, ring->errbuf);
}

PFRING_API int pfring_remove_filtering_rule(pfring *ring, u_int16_t rule_id)
{
  struct pfringint_ruleset *next;
  int i, rc;

  PFRINGINT_CHECK_RING(ring);
  i = set_find(ring->filter.rules, rule_id);
  if (i < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOENT,
                            "rule_id %u is not a filtering rule of '%s'", rule_id,
                            ring->bound_name);
  next = set_copy(ring->filter.rules, 0);
  if (!next)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  set_remove_at(next, (u_int32_t)i);
  hash_settle(ring, next);
  if ((rc = apply_set(ring, next)) < 0)
    return rc;
  hash_recheck(ring);
  return 0;
}

PFRING_API int pfring_get_filtering_rule_stats(pfring *ring, u_int16_t rule_id, char *stats,
                                               u_int *stats_len)
{
  const struct pfringint_rule *r;
  struct pfring_rules_stat sum;
  filtering_rule_stats out;
  u_int64_t now = mono_ns();
  int i, rc;

  PFRINGINT_CHECK_RING(ring);
  if (!stats || !stats_len)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s is NULL", stats ? "stats_len" : "stats");
  if (*stats_len < sizeof(u_int64_t))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "stats_len %u is too small (a filtering_rule_stats is %zu bytes)",
                            *stats_len, sizeof(filtering_rule_stats));
  i = set_find(ring->filter.rules, rule_id);
  if (i < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOENT,
                            "rule_id %u is not a filtering rule of '%s'", rule_id,
                            ring->bound_name);
  r = &ring->filter.rules->r[i];
  if ((rc = stats_read(ring, r->enc.stat_slot, &sum)) < 0)
    return rc;
  memset(&out, 0, sizeof(out));
  out.match = sum.packets;
  if (r->rule.rule_action == forward_packet_and_stop_rule_evaluation ||
      r->rule.rule_action == forward_packet_add_rule_and_stop_rule_evaluation ||
      r->rule.rule_action == forward_packet_del_rule_and_stop_rule_evaluation)
    out.match_forward = sum.packets;
  else if (r->rule.rule_action == dont_forward_packet_and_stop_rule_evaluation ||
           r->rule.rule_action == reflect_packet_and_stop_rule_evaluation ||
           r->rule.rule_action == bounce_packet_and_stop_rule_evaluation)
    out.filtered = sum.packets;     /* kept out of the ring */
  out.match_bytes = sum.bytes;
  out.inactivity = inactivity_of(now, sum.last_ns, r->added_ns);
  out.last_match_ns = match_time_of(now, sum.last_ns);
  out.hash_rules_added = sum.hash_added;
  out.hash_rules_refused = sum.hash_refused;
  out.hash_rules_deleted = sum.hash_deleted;
  return copy_stats(stats, stats_len, &out, sizeof(out));
}

PFRING_API int pfring_toggle_filtering_policy(pfring *ring, u_int8_t rules_default_accept_policy)
{
  struct pfringint_ruleset *next;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = rules_supported(ring)) < 0)
    return rc;
  if (rules_default_accept_policy > 1)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "rules_default_accept_policy %u is not 0 (drop) or 1 (accept)",
                            rules_default_accept_policy);
  next = set_copy(ring->filter.rules, 0);
  if (!next)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  next->default_accept = rules_default_accept_policy;
  return apply_set(ring, next);
}

PFRING_API int pfring_purge_idle_rules(pfring *ring, u_int16_t inactivity_sec)
{
  const struct pfringint_ruleset *cur;
  struct pfringint_ruleset *next;
  struct pfring_rules_stat sum;
  u_int64_t now = mono_ns(), last, idle = (u_int64_t)inactivity_sec * 1000000000ull;
  u_int32_t i, n = 0;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  cur = ring->filter.rules;
  if (!cur || cur->num == 0)
    return 0;
  next = set_copy(cur, 0);
  if (!next)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  for (i = 0; i < next->num;) {
    if (next->r[i].rule.locked) {
      i++;
      continue;
    }
    if ((rc = stats_read(ring, next->r[i].enc.stat_slot, &sum)) < 0) {
      free(next);
      return rc;
    }
    last = sum.last_ns > next->r[i].added_ns ? sum.last_ns : next->r[i].added_ns;
    if (now >= last && now - last >= idle) {
      n++;
      set_remove_at(next, i);
    } else {
      i++;
    }
  }
  if (n == 0) {
    free(next);
    return 0;
  }
  hash_settle(ring, next);
  if ((rc = apply_set(ring, next)) < 0)
    return rc;
  hash_recheck(ring);
  return (int)n;
}

/* ------------------------------------------------------------------------ */
/* Hash rules: one insert or delete in the ring's pfring_hash_rules map     */

/* "IPv4 proto 17 10.1.0.1:1000 <-> 10.2.0.1:2000 vlan 0", for messages. */
static void hash_rule_text(const hash_filtering_rule *r, char *out, size_t len)
{
  char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
  u_int32_t v;

  if (r->ip_version == 6) {
    inet_ntop(AF_INET6, &r->host_peer_a.v6, a, sizeof(a));
    inet_ntop(AF_INET6, &r->host_peer_b.v6, b, sizeof(b));
  } else {
    v = htonl(r->host_peer_a.v4);
    inet_ntop(AF_INET, &v, a, sizeof(a));
    v = htonl(r->host_peer_b.v4);
    inet_ntop(AF_INET, &v, b, sizeof(b));
  }
  snprintf(out, len, "hash rule (vlan_id %u, proto %u, %s port %u <-> %s port %u)",
           r->vlan_id, r->proto, a, r->port_peer_a, b, r->port_peer_b);
}

static int hash_key(pfring *ring, const hash_filtering_rule *r, struct pfring_rules_hkey *k,
                    u_int8_t *action)
{
  char msg[PFRING_ERRBUF_SIZE];
  int rc;

  if (!r)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "rule is NULL");
  rc = pfringint_hash_rule_encode(r, k, action, msg, sizeof(msg));
  if (rc < 0)
    return pfringint_seterr(ring, rc, rc == PF_RING_ERROR_NOT_SUPPORTED ? EOPNOTSUPP : EINVAL,
                            "hash rule: %s", msg);
  return 0;
}

/* Sums a hash rule's per-CPU copies into sum (packets, bytes, last_ns;
 * added_ns the latest, and the action of that copy: a rule the program
 * added has its value in one CPU's copy only, the others zero).  Returns
 * 0, 1 when there is no such rule, or an error code. */
static int hash_read(pfring *ring, const struct pfring_rules_hkey *k, struct pfring_rules_hval *sum)
{
  struct pfring_rules_hval *v;
  int n, i, found;

  memset(sum, 0, sizeof(*sum));
  if (!ring->rules_rt)
    return 1;
  if (!(v = percpu_values(ring, sizeof(*v), &n)))
    return ring->last_rc;
  found = bpf_map_lookup_elem(ring->rules_rt->hash_fd, k, v) == 0;
  if (found) {
    *sum = v[0];
    sum->packets = sum->bytes = sum->last_ns = 0;
    for (i = 0; i < n; i++) {
      sum->packets += v[i].packets;
      sum->bytes += v[i].bytes;
      if (v[i].last_ns > sum->last_ns)
        sum->last_ns = v[i].last_ns;
      if (v[i].added_ns > sum->added_ns) {
        sum->added_ns = v[i].added_ns;
        sum->action = v[i].action;
        sum->rule_id = v[i].rule_id;
      }
    }
  }
  free(v);
  return found ? 0 : 1;
}

/* The ring's set marks that it has hash rules (the first add): the one
 * change of the set a hash rule makes. */
static int hash_mark(pfring *ring, int reflects)
{
  struct pfringint_ruleset *next;

  if (ring->filter.rules && ring->filter.rules->has_hash &&
      (!reflects || ring->filter.rules->hash_reflects))
    return 0;
  next = set_copy(ring->filter.rules, 0);
  if (!next)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  next->has_hash = 1;
  if (reflects)
    next->hash_reflects = 1;
  return apply_set(ring, next);
}

/* The last hash rule went: the program stops looking (and a ring with
 * nothing else goes back to its classic filter).  The rules are gone
 * already, so a failure here changes no verdict; it is only logged. */
static void hash_unmark(pfring *ring)
{
  struct pfringint_ruleset *next;

  if (!ring->filter.rules || !ring->filter.rules->has_hash ||
      (set_adds_hash_rules(ring->filter.rules) && !ring->filter.rules->hash_reflects))
    return;
  next = set_copy(ring->filter.rules, 0);
  if (!next)
    return;
  next->hash_reflects = 0;
  if (!set_adds_hash_rules(next))
    next->has_hash = 0;
  if (apply_set(ring, next) < 0)
    pfringint_log(3, "%s: %s", ring->bound_name, ring->errbuf);
}

static int hash_add(pfring *ring, hash_filtering_rule *r)
{
  struct pfring_rules_hkey k;
  struct pfring_rules_hval *v;
  char text[200];
  int n, i, rc, err;
  u_int32_t reflect_ifindex;
  u_int8_t action;

  if ((rc = hash_key(ring, r, &k, &action)) < 0)
    return rc;
  hash_rule_text(r, text, sizeof(text));
  if ((rc = reflect_target(ring, action, r->reflector_device_name, text, &reflect_ifindex)) < 0)
    return rc;
  if ((rc = ensure_rt(ring)) < 0)
    return rc;
  if (hash_count(ring) >= PFRING_MAX_HASH_FILTERING_RULES)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOSPC,
                            "'%s' already has %d hash filtering rules, the most a ring holds",
                            ring->bound_name, PFRING_MAX_HASH_FILTERING_RULES);
  if (!(v = percpu_values(ring, sizeof(*v), &n)))
    return ring->last_rc;
  for (i = 0; i < n; i++) {
    v[i].rule_id = r->rule_id;
    v[i].action = action;
    v[i].reflect_ifindex = reflect_ifindex;
    v[i].added_ns = mono_ns();
  }
  rc = bpf_map_update_elem(ring->rules_rt->hash_fd, &k, v, BPF_NOEXIST);
  err = errno;
  free(v);
  if (rc < 0 && err == EEXIST)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EEXIST,
                            "the %s is already a hash filtering rule of '%s'", text,
                            ring->bound_name);
  if (rc < 0 && err == E2BIG)        /* full: the program added the last ones */
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOSPC,
                            "'%s' already has %d hash filtering rules, the most a ring holds",
                            ring->bound_name, PFRING_MAX_HASH_FILTERING_RULES);
  if (rc < 0)
    return pfringint_seterr_errno(ring, pfringint_errno_to_rc(err), err,
                                  "cannot add the %s to '%s'", text, ring->bound_name);
  ring->rules_rt->hash_delta++;
  if ((rc = hash_mark(ring, PFRING_RULE_ACTION_REFLECTS(action))) < 0) {
    bpf_map_delete_elem(ring->rules_rt->hash_fd, &k);
    ring->rules_rt->hash_delta--;
    return rc;
  }
  return 0;
}

static int hash_remove(pfring *ring, hash_filtering_rule *r)
{
  struct pfring_rules_hkey k;
  char text[200];
  u_int8_t action;
  int rc;

  if ((rc = hash_key(ring, r, &k, &action)) < 0)
    return rc;
  hash_rule_text(r, text, sizeof(text));
  if (!ring->rules_rt || bpf_map_delete_elem(ring->rules_rt->hash_fd, &k) < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOENT,
                            "the %s is not a hash filtering rule of '%s'", text,
                            ring->bound_name);
  ring->rules_rt->hash_delta--;
  if (hash_count(ring) == 0)
    hash_unmark(ring);
  return 0;
}

PFRING_API int pfring_handle_hash_filtering_rule(pfring *ring, hash_filtering_rule *rule_to_add,
                                                 u_char add_rule)
{
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if (!rule_to_add)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "rule_to_add is NULL");
  if (add_rule > 1)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "add_rule %u is not 1 (add) or 0 (remove)", add_rule);
  if ((rc = rules_supported(ring)) < 0)
    return rc;
  return add_rule ? hash_add(ring, rule_to_add) : hash_remove(ring, rule_to_add);
}

PFRING_API int pfring_get_hash_filtering_rule_stats(pfring *ring, hash_filtering_rule *rule,
                                                    char *stats, u_int *stats_len)
{
  struct pfring_rules_hkey k;
  struct pfring_rules_hval sum;
  hash_filtering_rule_stats out;
  u_int64_t now = mono_ns();
  char text[200];
  u_int8_t action;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if (!stats || !stats_len)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "%s is NULL", stats ? "stats_len" : "stats");
  if (*stats_len < sizeof(u_int64_t))
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "stats_len %u is too small (a hash_filtering_rule_stats is %zu bytes)",
                            *stats_len, sizeof(hash_filtering_rule_stats));
  if ((rc = hash_key(ring, rule, &k, &action)) < 0)
    return rc;
  rc = hash_read(ring, &k, &sum);
  if (rc < 0)
    return rc;
  if (rc == 1) {
    hash_rule_text(rule, text, sizeof(text));
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOENT,
                            "the %s is not a hash filtering rule of '%s'", text,
                            ring->bound_name);
  }
  memset(&out, 0, sizeof(out));
  out.match = sum.packets;
  if (sum.action == PFRING_RULE_FORWARD_STOP)
    out.match_forward = sum.packets;
  else if (sum.action == PFRING_RULE_DROP_STOP || sum.action == PFRING_RULE_REFLECT_STOP ||
           sum.action == PFRING_RULE_BOUNCE_STOP)
    out.filtered = sum.packets;     /* kept out of the ring */
  out.match_bytes = sum.bytes;
  out.inactivity = inactivity_of(now, sum.last_ns, sum.added_ns);
  out.last_match_ns = match_time_of(now, sum.last_ns);
  return copy_stats(stats, stats_len, &out, sizeof(out));
}

PFRING_API int pfring_purge_idle_hash_rules(pfring *ring, u_int16_t inactivity_sec)
{
  u_int64_t now = mono_ns(), last, idle = (u_int64_t)inactivity_sec * 1000000000ull;
  struct pfring_rules_hkey *keys, cur, next;
  struct pfring_rules_hval sum;
  u_int32_t n = 0, i, gone = 0, steps = 0;
  int rc, have = 0;

  PFRINGINT_CHECK_RING(ring);
  if (!ring->rules_rt || hash_count(ring) == 0)
    return 0;
  keys = calloc(PFRING_RULES_HASH_MAX, sizeof(*keys));
  if (!keys)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  /* First the idle keys, then their deletes (no delete while walking). */
  while (n < PFRING_RULES_HASH_MAX && steps++ < PFRING_RULES_HASH_MAX &&
         bpf_map_get_next_key(ring->rules_rt->hash_fd, have ? &cur : NULL, &next) == 0) {
    cur = next;
    have = 1;
    rc = hash_read(ring, &cur, &sum);
    if (rc < 0) {
      free(keys);
      return rc;
    }
    last = sum.last_ns > sum.added_ns ? sum.last_ns : sum.added_ns;
    if (rc == 0 && now >= last && now - last >= idle)
      keys[n++] = cur;
  }
  for (i = 0; i < n; i++)
    if (bpf_map_delete_elem(ring->rules_rt->hash_fd, &keys[i]) == 0)
      gone++;
  free(keys);
  ring->rules_rt->hash_delta -= gone;
  if (gone && hash_count(ring) == 0)
    hash_unmark(ring);
  return (int)gone;
}
