/*
 * config.c - PF_RING's module parameters, without a module.
 *
 * The names and defaults are pf_ring.ko's.  Values come from, in order:
 * the defaults, the configuration file (PF_RING_CONFIG, else
 * /etc/pf_ring/pf_ring.conf) and PF_RING_<NAME> environment variables.  The
 * file has "name=value" lines, '#' comments, and also PF_RING's modprobe
 * style "options pf_ring name=value ..." lines.  A bad value keeps the
 * previous one and logs one warning that names the source, the value and
 * what is used instead.  Loaded once per process.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))
#define DEFAULT_CONFIG "/etc/pf_ring/pf_ring.conf"
#ifndef PFRING_SYSTEM_LIBPCAP
#define PFRING_SYSTEM_LIBPCAP "libpcap.so.0.8"
#endif

enum kind { INT, BOOL, STR };

struct param {
  const char *name;
  enum kind kind;
  size_t off;          /* offset in struct pfringint_params */
  long lo, hi;         /* INT range; STR: field size in hi */
  long def;
};

#define P_INT(n, d, l, h) { #n, INT, offsetof(struct pfringint_params, n), l, h, d }
#define P_BOOL(n, d) { #n, BOOL, offsetof(struct pfringint_params, n), 0, 1, d }
#define P_STR(n) { #n, STR, offsetof(struct pfringint_params, n), 1, \
                   sizeof(((struct pfringint_params *)0)->n) - 1, 0 }

static const struct param params[] = {
  P_INT(min_num_slots, DEFAULT_NUM_SLOTS, MIN_NUM_SLOTS, 1048576),
  P_INT(perfect_rules_hash_size, 4096, 1, 1048576),
  P_BOOL(enable_tx_capture, 1),
  P_BOOL(enable_frag_coherence, 1),
  P_BOOL(enable_ip_defrag, 0),
  P_BOOL(quick_mode, 0),
  P_BOOL(force_ring_lock, 0),
  P_INT(enable_debug, 0, 0, 2),
  P_INT(transparent_mode, 0, 0, 2),
  P_BOOL(keep_vlan_offload, 0),
  P_INT(block_timeout_ms, 1, 1, 1000),
  P_STR(status_dir),
  P_STR(system_libpcap),
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

static struct pfringint_params current;
static int loaded;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long *int_field(const struct param *p) { return (long *)((char *)&current + p->off); }
static char *str_field(const struct param *p) { return (char *)&current + p->off; }

static int parse_long(const char *s, long *out)
{
  char *end;
  long v;

  if (!*s || isspace((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

/* Applies one value; `where` names its source in warnings. */
static void set_param(const struct param *p, const char *value, const char *where)
{
  long v;

  if (p->kind == STR) {
    if (!*value || strlen(value) > (size_t)p->hi)
      pfringint_log(1, "%s='%s' must be 1..%ld characters; using '%s'", where, value,
                    p->hi, str_field(p));
    else
      snprintf(str_field(p), (size_t)p->hi + 1, "%s", value);
    return;
  }
  if (parse_long(value, &v) < 0) {
    pfringint_log(1, "%s='%s' is not a number; using %ld", where, value, *int_field(p));
    return;
  }
  if (p->kind == BOOL && v != 0 && v != 1) {
    pfringint_log(1, "%s='%s' must be 0 or 1; using %ld", where, value, *int_field(p));
    return;
  }
  if (p == &params[0] && v < MIN_NUM_SLOTS && v > 0) {
    pfringint_log(1, "%s=%ld is below the minimum; using %d", where, v, MIN_NUM_SLOTS);
    v = MIN_NUM_SLOTS;
  }
  if (v < p->lo || v > p->hi) {
    pfringint_log(1, "%s=%ld is out of range (%ld..%ld); using %ld", where, v, p->lo, p->hi,
                  *int_field(p));
    return;
  }
  *int_field(p) = v;
}

static const struct param *find_param(const char *name, size_t len)
{
  size_t i;
  for (i = 0; i < NPARAMS; i++)
    if (strlen(params[i].name) == len && strncmp(params[i].name, name, len) == 0)
      return &params[i];
  return NULL;
}

static char *trim(char *s)
{
  char *e;
  while (isspace((unsigned char)*s))
    s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

/* One "name=value" assignment from the file. */
static void file_assignment(char *item, const char *path, int lineno)
{
  char where[PATH_MAX + 64], *eq = strchr(item, '=');
  const struct param *p;
  char *name;

  if (!eq) {
    pfringint_log(1, "%s:%d: expected name=value, got '%s'", path, lineno, item);
    return;
  }
  *eq = '\0';
  name = trim(item);
  p = find_param(name, strlen(name));
  snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, name);
  if (!p) {
    pfringint_log(1, "%s:%d: unknown parameter '%s'", path, lineno, name);
    return;
  }
  set_param(p, trim(eq + 1), where);
}

static void load_file(const char *path, int explicit)
{
  char line[1024];
  int lineno = 0;
  FILE *f = fopen(path, "re");

  if (!f) {
    if (explicit)
      pfringint_log(1, "cannot read PF_RING_CONFIG=%s: %s; using the defaults", path,
                    strerror(errno));
    return;
  }
  while (fgets(line, sizeof(line), f)) {
    char *s, *hash = strchr(line, '#'), *tok, *save = NULL;
    lineno++;
    if (hash)
      *hash = '\0';
    s = trim(line);
    if (!*s)
      continue;
    if (strncmp(s, "options", 7) == 0 && isspace((unsigned char)s[7])) {
      /* modprobe style: options pf_ring a=1 b=2 */
      tok = strtok_r(s + 7, " \t", &save);
      if (!tok || strcmp(tok, "pf_ring") != 0)
        continue;
      while ((tok = strtok_r(NULL, " \t", &save)))
        file_assignment(tok, path, lineno);
      continue;
    }
    file_assignment(s, path, lineno);
  }
  fclose(f);
}

static void load_env(void)
{
  char var[64];
  size_t i, j;

  for (i = 0; i < NPARAMS; i++) {
    const char *v;
    snprintf(var, sizeof(var), "PF_RING_%s", params[i].name);
    for (j = 8; var[j]; j++)
      var[j] = (char)toupper((unsigned char)var[j]);
    if ((v = getenv(var)))
      set_param(&params[i], v, var);
  }
}

static void load(void)
{
  const char *path = getenv("PF_RING_CONFIG");
  size_t i;

  memset(&current, 0, sizeof(current));
  for (i = 0; i < NPARAMS; i++)
    if (params[i].kind != STR)
      *int_field(&params[i]) = params[i].def;
  snprintf(current.status_dir, sizeof(current.status_dir), "/run/pf_ring");
  snprintf(current.system_libpcap, sizeof(current.system_libpcap), "%s", PFRING_SYSTEM_LIBPCAP);
  load_file(path && *path ? path : DEFAULT_CONFIG, path && *path);
  load_env();
}

const struct pfringint_params *pfringint_params(void)
{
  pthread_mutex_lock(&lock);
  if (!loaded) {
    load();
    loaded = 1;
  }
  pthread_mutex_unlock(&lock);
  return &current;
}

void pfringint_reload_params(void)
{
  pthread_mutex_lock(&lock);
  loaded = 0;
  pthread_mutex_unlock(&lock);
}

PFRING_API long pfring_get_module_param(const char *name)
{
  const struct param *p;

  if (!name)
    return -1;
  pfringint_params();
  p = find_param(name, strlen(name));
  if (!p || p->kind == STR)
    return -1;
  return *int_field(p);
}
