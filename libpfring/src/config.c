/*
 * config.c - PF_RING's module parameters, without a module.
 *
 * The names and defaults are pf_ring.ko's, plus block_timeout_ms, status_dir,
 * system_libpcap and zc_mode of our own.  Values come from, in this order:
 *   1. the defaults below;
 *   2. the configuration file: $PF_RING_CONFIG, else /etc/pf_ring/pf_ring.conf
 *      (a missing file is fine).  Lines are "name = value", '#' starts a
 *      comment (at the start of a line or after white space), and PF_RING's
 *      modprobe style "options pf_ring name=value name2=value2" works too;
 *      "options" lines of other modules are skipped.  As with modprobe, '-'
 *      and '_' are the same in names.  Only a regular file of at most
 *      1 MiB is read (opened O_NONBLOCK, then checked with fstat): a
 *      directory, a device (/dev/zero, /dev/urandom), a FIFO or a larger
 *      file is ignored with one warning, and the defaults stay;
 *   3. PF_RING_<NAME> environment variables (PF_RING_MIN_NUM_SLOTS, ...).
 * In a process that gained privileges at exec time (set-uid, file
 * capabilities: AT_SECURE), PF_RING_CONFIG and the variables that name a
 * path (PF_RING_STATUS_DIR, PF_RING_SYSTEM_LIBPCAP) are ignored, as
 * secure_getenv() does.
 * A bad value keeps the previous one and gives one warning line that names
 * the variable (or file:line), the value and the value kept.
 *
 * Loaded once per process.  Warnings are collected while the lock is held
 * and logged after it is released, so a print callback may itself ask for a
 * parameter.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pfring_int.h"

#ifndef PFRING_API
#define PFRING_API __attribute__((visibility("default")))
#endif

#define DEFAULT_CONFIG "/etc/pf_ring/pf_ring.conf"
#define MAX_NUM_SLOTS 1048576
#define MAX_WARNINGS 16
#define WARNING_LEN 512
#define SHOW_MAX 80             /* longest value copied into a warning */
#define SHOW_PATH_MAX 200       /* longest file name copied into a warning */
#define MAX_CONFIG_SIZE (1024 * 1024)  /* a larger configuration file is ignored */

enum kind { BOOL, INT, STR };

struct param {
  const char *name;
  enum kind kind;
  size_t off;                   /* in struct pfringint_params */
  long lo, hi;                  /* BOOL, INT: the range; STR: hi = field size */
};

#define FIELD(n) offsetof(struct pfringint_params, n)
#define P_BOOL(n) { #n, BOOL, FIELD(n), 0, 1 }
#define P_INT(n, lo, hi) { #n, INT, FIELD(n), lo, hi }
#define P_STR(n) { #n, STR, FIELD(n), 1, sizeof(((struct pfringint_params *)0)->n) }
/* lo = 0: the empty value is allowed and means the default */
#define P_STR0(n) { #n, STR, FIELD(n), 0, sizeof(((struct pfringint_params *)0)->n) }

static const struct param params[] = {
  P_INT(min_num_slots, MIN_NUM_SLOTS, MAX_NUM_SLOTS),
  P_INT(perfect_rules_hash_size, 1, 1048576),
  P_BOOL(enable_tx_capture),
  P_BOOL(enable_frag_coherence),
  P_BOOL(enable_ip_defrag),
  P_BOOL(quick_mode),
  P_BOOL(force_ring_lock),
  P_INT(enable_debug, 0, 2),          /* pf_ring.ko: 1 = trace, 2 = more */
  P_INT(transparent_mode, 0, 2),      /* pf_ring.ko 5.x accepts 0, 1, 2 */
  P_BOOL(keep_vlan_offload),
  P_INT(block_timeout_ms, 1, 1000),
  P_STR(status_dir),
  P_STR0(system_libpcap),     /* "": found at run time */
  P_STR(zc_mode),             /* auto, zerocopy, copy: checked at open (af_xdp.c) */
};
#define NUM_PARAMS (sizeof(params) / sizeof(params[0]))

/* One load: the values being built and the warnings to log afterwards. */
struct loader {
  struct pfringint_params p;
  char warnings[MAX_WARNINGS][WARNING_LEN];
  int num_warnings;
  int dropped;
};

static struct pfringint_params current;
static int loaded;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static void warn(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct loader *l, const char *fmt, ...)
{
  va_list ap;

  if (l->num_warnings == MAX_WARNINGS) {
    l->dropped++;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(l->warnings[l->num_warnings++], WARNING_LEN, fmt, ap);
  va_end(ap);
}

const char *pfringint_printable(const char *s, char *out, size_t max)
{
  size_t i;

  for (i = 0; s[i] && i < max; i++)
    out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
  out[i] = '\0';
  if (s[i])
    strcpy(out + i, "...");
  return out;
}

static const char *show(const char *s, char out[SHOW_MAX + 4])
{
  return pfringint_printable(s, out, SHOW_MAX);
}

static long *int_field(struct pfringint_params *p, const struct param *par)
{
  return (long *)((char *)p + par->off);
}

static char *str_field(struct pfringint_params *p, const struct param *par)
{
  return (char *)p + par->off;
}

/* Strict decimal: optional '-', digits, nothing else.  0, -1 (not a
 * number) or -2 (does not fit in a long). */
static int parse_long(const char *s, long *out)
{
  char *end;

  if (!isdigit((unsigned char)s[s[0] == '-']))
    return -1;
  errno = 0;
  *out = strtol(s, &end, 10);
  if (*end)
    return -1;
  return errno == ERANGE ? -2 : 0;
}

/* Names compare as modprobe compares them: '-' and '_' are the same. */
static const struct param *find_param(const char *name)
{
  size_t i, j;

  for (i = 0; i < NUM_PARAMS; i++) {
    const char *a = params[i].name;
    for (j = 0; a[j] && (name[j] == a[j] || (name[j] == '-' && a[j] == '_')); j++)
      ;
    if (!a[j] && !name[j])
      return &params[i];
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Applying one value                                                        */

static void set_string(struct loader *l, const struct param *par, const char *value,
                       const char *where)
{
  char shown[SHOW_MAX + 4], kept[SHOW_MAX + 4], *field = str_field(&l->p, par);
  size_t len = strlen(value);

  if (len == 0 && par->lo == 0)
    field[0] = '\0';
  else if (len == 0)
    warn(l, "%s='' is empty; using '%s'", where, show(field, kept));
  else if (len >= (size_t)par->hi)
    warn(l, "%s='%s' is too long (max %zu characters); using '%s'", where,
         show(value, shown), (size_t)par->hi - 1, show(field, kept));
  else
    memcpy(field, value, len + 1);
}

static void set_number(struct loader *l, const struct param *par, const char *value,
                       const char *where)
{
  char shown[SHOW_MAX + 4];
  long *field = int_field(&l->p, par), v = 0;
  int rc = parse_long(value, &v);

  show(value, shown);
  if (par->kind == BOOL && (rc < 0 || (v != 0 && v != 1)))
    warn(l, "%s='%s' must be 0 or 1; using %ld", where, shown, *field);
  else if (rc == -1)
    warn(l, "%s='%s' is not a number; using %ld", where, shown, *field);
  else if (par->off == FIELD(min_num_slots) && rc == 0 && v >= 0 && v < MIN_NUM_SLOTS) {
    warn(l, "%s='%s' is below the minimum of %d slots; using %d", where, shown,
         MIN_NUM_SLOTS, MIN_NUM_SLOTS);
    *field = MIN_NUM_SLOTS;
  } else if (rc == -2 || v < par->lo || v > par->hi)
    warn(l, "%s='%s' is out of range (%ld..%ld); using %ld", where, shown, par->lo,
         par->hi, *field);
  else
    *field = v;
}

static void set_param(struct loader *l, const struct param *par, const char *value,
                      const char *where)
{
  if (par->kind == STR)
    set_string(l, par, value, where);
  else
    set_number(l, par, value, where);
}

/* ------------------------------------------------------------------------ */
/* The configuration file                                                    */

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

/* Removes a comment: '#' at the start or after white space. */
static void strip_comment(char *line)
{
  char *p;

  for (p = line; *p; p++)
    if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
      *p = '\0';
      return;
    }
}

/* Removes one pair of double quotes around a value, as modprobe does. */
static char *unquote(char *v)
{
  size_t n = strlen(v);

  if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
    v[n - 1] = '\0';
    return v + 1;
  }
  return v;
}

/* One "name=value" of the file (line lineno). */
static void file_assignment(struct loader *l, char *item, const char *path, int lineno)
{
  char where[WARNING_LEN / 2], shown[SHOW_MAX + 4], *eq = strchr(item, '=');
  const struct param *par;
  char *name;

  if (!eq || eq == item) {
    warn(l, "%s:%d: expected name=value, got '%s'; line ignored", path, lineno,
         show(item, shown));
    return;
  }
  *eq = '\0';
  name = trim(item);
  if (!(par = find_param(name))) {
    warn(l, "%s:%d: unknown parameter '%s'; ignored", path, lineno, show(name, shown));
    return;
  }
  snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, par->name);
  set_param(l, par, unquote(trim(eq + 1)), where);
}

/* "options pf_ring a=1 b=2": 1 if the line has that form (of any module). */
static int modprobe_line(struct loader *l, char *s, const char *path, int lineno)
{
  char *tok, *save = NULL;

  if (strncmp(s, "options", 7) != 0 || !isspace((unsigned char)s[7]))
    return 0;
  tok = strtok_r(s + 7, " \t", &save);
  if (!tok || strcmp(tok, "pf_ring") != 0)
    return 1;                   /* another module's options */
  while ((tok = strtok_r(NULL, " \t", &save)))
    file_assignment(l, tok, path, lineno);
  return 1;
}

static void file_line(struct loader *l, char *line, const char *path, int lineno)
{
  char *s;

  strip_comment(line);
  s = trim(line);
  if (*s && !modprobe_line(l, s, path, lineno))
    file_assignment(l, s, path, lineno);
}

static const char *file_kind(mode_t mode)
{
  switch (mode & S_IFMT) {
  case S_IFDIR: return "a directory";
  case S_IFCHR: return "a character device";
  case S_IFBLK: return "a block device";
  case S_IFIFO: return "a FIFO";
  case S_IFSOCK: return "a socket";
  default: return "not a regular file";
  }
}

/* The file's text (malloc'ed, NUL-terminated, *len bytes), or NULL after a
 * warning.  Only a regular file of at most MAX_CONFIG_SIZE bytes is read:
 * it is opened O_NONBLOCK, so a FIFO or a device never blocks, and read
 * with that bound, so /dev/zero or a growing file cannot exhaust memory. */
static char *read_file(struct loader *l, const char *path, const char *shown, size_t *len)
{
  struct stat st;
  char *buf;
  size_t n = 0;
  ssize_t got = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

  if (fd < 0) {
    if (errno != ENOENT && errno != ENOTDIR)
      warn(l, "cannot open the configuration file %s: %s; ignored", shown, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) < 0) {
    warn(l, "cannot read the configuration file %s: %s; ignored", shown, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    warn(l, "cannot read the configuration file %s: it is %s, not a regular file; ignored",
         shown, file_kind(st.st_mode));
    close(fd);
    return NULL;
  }
  if (st.st_size > MAX_CONFIG_SIZE || !(buf = malloc(MAX_CONFIG_SIZE + 2))) {
    warn(l, "cannot read the configuration file %s: it is larger than %d MiB (%lld bytes); "
         "ignored", shown, MAX_CONFIG_SIZE >> 20, (long long)st.st_size);
    close(fd);
    return NULL;
  }
  while (n <= MAX_CONFIG_SIZE) {
    got = read(fd, buf + n, MAX_CONFIG_SIZE + 1 - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n += (size_t)got;
  }
  if (got < 0 || n > MAX_CONFIG_SIZE) {
    if (got < 0)
      warn(l, "cannot read the configuration file %s: %s; ignored", shown, strerror(errno));
    else
      warn(l, "cannot read the configuration file %s: it is larger than %d MiB; ignored",
           shown, MAX_CONFIG_SIZE >> 20);
    free(buf);
    close(fd);
    return NULL;
  }
  close(fd);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static void load_file(struct loader *l, const char *path)
{
  char shown[SHOW_PATH_MAX + 4], *text, *line, *end;
  size_t len = 0;
  int lineno = 0;

  pfringint_printable(path, shown, SHOW_PATH_MAX);
  if (!(text = read_file(l, path, shown, &len)))
    return;
  for (line = text; line < text + len; line = end + 1) {
    end = memchr(line, '\n', (size_t)(text + len - line));
    if (!end)
      end = text + len;
    *end = '\0';
    file_line(l, line, shown, ++lineno);
  }
  free(text);
}

/* ------------------------------------------------------------------------ */
/* The environment and the whole load                                        */

static void load_env(struct loader *l)
{
  char var[64];
  const char *value;
  size_t i, j;

  for (i = 0; i < NUM_PARAMS; i++) {
    snprintf(var, sizeof(var), "PF_RING_%s", params[i].name);
    for (j = 0; var[j]; j++)
      var[j] = (char)toupper((unsigned char)var[j]);
    /* The string parameters name a file or a directory: a process that
     * runs with privileges it got at exec time ignores them. */
    value = params[i].kind == STR ? secure_getenv(var) : getenv(var);
    if (value)
      set_param(l, &params[i], value, var);
  }
}

static void set_defaults(struct pfringint_params *p)
{
  memset(p, 0, sizeof(*p));
  p->min_num_slots = DEFAULT_NUM_SLOTS;
  p->perfect_rules_hash_size = 4096;
  p->enable_tx_capture = 1;
  p->enable_frag_coherence = 1;
  p->block_timeout_ms = 8;
  snprintf(p->status_dir, sizeof(p->status_dir), "%s", "/run/pf_ring");
  p->system_libpcap[0] = '\0';  /* found at run time (syspcap.c) */
  snprintf(p->zc_mode, sizeof(p->zc_mode), "%s", "auto");
}

static void load(struct loader *l)
{
  const char *path = secure_getenv("PF_RING_CONFIG");

  set_defaults(&l->p);
  load_file(l, path && *path ? path : DEFAULT_CONFIG);
  load_env(l);
}

static void log_warnings(const struct loader *l)
{
  int i;

  for (i = 0; i < l->num_warnings; i++)
    pfringint_log(1, "%s", l->warnings[i]);
  if (l->dropped)
    pfringint_log(1, "%d more configuration warnings not shown", l->dropped);
}

const struct pfringint_params *pfringint_params(void)
{
  struct loader *l = NULL;

  if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE))
    return &current;
  pthread_mutex_lock(&lock);
  if (!loaded && (l = calloc(1, sizeof(*l)))) {
    load(l);
    current = l->p;
    __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
  } else if (!loaded) {
    set_defaults(&current);     /* out of memory: defaults, retry next time */
  }
  pthread_mutex_unlock(&lock);
  if (l) {
    log_warnings(l);
    free(l);
  }
  return &current;
}

/* Not hidden: the unit tests call it. */
PFRING_API void pfringint_reload_params(void)
{
  pthread_mutex_lock(&lock);
  __atomic_store_n(&loaded, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&lock);
}

PFRING_API long pfring_get_module_param(const char *name)
{
  const struct pfringint_params *p = pfringint_params();
  const struct param *par = name ? find_param(name) : NULL;

  if (!par || par->kind == STR)
    return -1;
  return *(const long *)((const char *)p + par->off);
}
