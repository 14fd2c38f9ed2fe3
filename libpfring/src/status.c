/*
 * status.c - the status tree: PF_RING's /proc/net/pf_ring as plain files.
 *
 *   <dir>/info                        global settings ("Label : value")
 *   <dir>/<pid>-<dev>.<ring_id>       one file per ring, PF_RING's labels
 *   <dir>/stats/<pid>-<dev>.<ring_id> the text of pfring_set_application_stats
 *   <dir>/dev/<ifname>/info           every interface of the caller's namespace
 *   <dir>/.ring_id                    the machine-wide ring id counter (flock)
 *
 * <dir> is the status_dir parameter (/run/pf_ring, PF_RING_STATUS_DIR).
 *
 * Files are replaced atomically: a temp file ".tmp.<pid>.<n>" in the same
 * directory, then rename().  A per-process worker thread, running while the
 * process has rings, rewrites their files once a second so the counters are
 * live.  The registry of rings is a list under one mutex; update and
 * unregister take it too, so once unregister returns the worker never
 * touches that ring again.  Every pass (worker tick, register, refresh)
 * deletes the ring, stats and temp files of processes that no longer exist.
 *
 * After fork() the child keeps the list but not the thread: its inherited
 * entries stay the parent's (the child writes nothing for them) until the
 * child configures such a ring; it then adopts it, writes it under its own
 * pid and starts its own worker.
 *
 * The tree is best effort: when it cannot be written ring operations still
 * succeed; the first failure is logged once at debug level, never printed.
 *
 * pfring_status_inline(1) (the libpcap drop-in: single-threaded programs
 * whose stdio must stay lock-free) replaces the worker thread: pfring_dispatch
 * and pfring_poll refresh the entries once a second while the program reads.
 *
 * Exported (pfring.h):
 *   int pfring_status_refresh(void);
 *   void pfring_status_inline(int on);
 *   const char *pfring_status_dir(void);
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

#define PATH_LEN 640
#define DIR_LEN (sizeof(((struct pfringint_params *)0)->status_dir) + 16)
#define TEXT_LEN 4096
#define LOCAL_ID_BASE 1000000   /* ring ids when .ring_id cannot be used */
#define TMP_PREFIX ".tmp."

static const char *status_dir(void) { return pfringint_params()->status_dir; }

/* ------------------------------------------------------------------------ */
/* The registry and its lock                                                 */

struct entry {
  pfring *ring;
  pid_t pid;                  /* the process that writes its files */
  char path[PATH_LEN];        /* its ring file as last written, "" if none */
  int fd;                     /* that file, open, or -1 (see write_ring_locked) */
  struct entry *next;
};

struct worker {
  pthread_t tid;
  pthread_cond_t wake;
  int stop;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct entry *entries;
static struct worker *worker;   /* this process's, NULL if none */
static int failure_seen;        /* the one debug message was issued */
static char pending_log[PATH_LEN + 128];  /* logged once the lock is dropped */

/* Releases the lock, then logs what was noted under it (so a print
 * callback never runs with the registry locked). */
static void unlock(void)
{
  char msg[sizeof(pending_log)];

  memcpy(msg, pending_log, sizeof(msg));
  pending_log[0] = '\0';
  pthread_mutex_unlock(&lock);
  if (msg[0])
    pfringint_log(3, "%s", msg);
}

static int first_failure(void)
{
  return !__atomic_exchange_n(&failure_seen, 1, __ATOMIC_RELAXED);
}

/* Notes the first failure to write the tree (lock held). */
static void note_failure(const char *path, int err)
{
  if (first_failure())
    snprintf(pending_log, sizeof(pending_log),
             "status tree: cannot write %s: %s (the tree is best effort; "
             "further failures are not reported)", path, strerror(err));
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static void mkdirs(const char *path)
{
  char tmp[PATH_LEN], *p;

  snprintf(tmp, sizeof(tmp), "%s", path);
  for (p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(tmp, 0755);
      *p = '/';
    }
  mkdir(tmp, 0755);
}

static int write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Replaces path with len bytes of text through a temp file in the same
 * directory and rename().  0, or -1 with errno set. */
/* Replaces path atomically (temp file + rename).  With keep, the new file
 * stays open and *keep holds its fd (the previous one is closed). */
static int write_file_keep(const char *path, const char *text, size_t len, int *keep)
{
  static u_int32_t seq;
  const char *slash = strrchr(path, '/');
  char tmp[PATH_LEN];
  int fd, rc, err;

  snprintf(tmp, sizeof(tmp), "%.*s/" TMP_PREFIX "%d.%u", slash ? (int)(slash - path) : 1,
           slash ? path : ".", (int)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  rc = write_all(fd, text, len);
  err = errno;
  if (rc == 0 && rename(tmp, path) == 0) {
    if (keep) {
      if (*keep >= 0)
        close(*keep);
      *keep = fd;
    } else {
      close(fd);
    }
    return 0;
  }
  if (rc == 0)
    err = errno;
  close(fd);
  unlink(tmp);
  errno = err;
  return -1;
}

static int write_file(const char *path, const char *text, size_t len)
{
  return write_file_keep(path, text, len, NULL);
}

/* The stats file that goes with a ring file: <dir>/stats/<name>. */
static void stats_path_of(const char *ring_path, char *out, size_t len)
{
  const char *slash = strrchr(ring_path, '/');

  snprintf(out, len, "%.*s/stats%s", (int)(slash - ring_path), ring_path, slash);
}

/* ------------------------------------------------------------------------ */
/* Ring ids and names                                                        */

static u_int32_t local_ring_id(void)
{
  static u_int32_t local_id;

  return LOCAL_ID_BASE + __atomic_add_fetch(&local_id, 1, __ATOMIC_RELAXED);
}

/* Increments the counter in fd (locked); the new id or 0. */
static u_int32_t bump_counter(int fd)
{
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  u_int32_t id;

  buf[n > 0 ? n : 0] = '\0';
  id = (u_int32_t)strtoul(buf, NULL, 10) + 1;
  if (id == 0)
    id = 1;
  n = snprintf(buf, sizeof(buf), "%u\n", id);
  if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
    return 0;
  return id;
}

u_int32_t pfringint_next_ring_id(void)
{
  char path[PATH_LEN];
  u_int32_t id = 0;
  int fd, err;

  mkdirs(status_dir());
  snprintf(path, sizeof(path), "%s/.ring_id", status_dir());
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0 && flock(fd, LOCK_EX) == 0)
    id = bump_counter(fd);
  err = errno;
  if (fd >= 0)
    close(fd);       /* releases the lock */
  if (id)
    return id;
  if (first_failure())
    pfringint_log(3, "status tree: cannot use %s: %s (ring ids are process-local; "
                  "further failures are not reported)", path, strerror(err));
  return local_ring_id();
}

void pfringint_status_path(pfring *ring, const char *sub, char *path, size_t len)
{
  if (sub)
    snprintf(path, len, "%s/%s/%d-%s.%u", status_dir(), sub, (int)getpid(),
             ring->bound_name, ring->ring_id);
  else
    snprintf(path, len, "%s/%d-%s.%u", status_dir(), (int)getpid(), ring->bound_name,
             ring->ring_id);
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */

struct text {
  char buf[TEXT_LEN];
  size_t n;
};

/* How a file lays out "label value": info and ring files pad the label to
 * width and add ": "; dev files pad "label:" to width (at least 2 blanks). */
struct layout {
  int width;
  int colon_first;
};

static const struct layout info_layout = { 25, 0 };
static const struct layout ring_layout = { 23, 0 };
static const struct layout dev_layout = { 14, 1 };

static void vput(struct text *t, const char *fmt, va_list ap)
{
  int n = vsnprintf(t->buf + t->n, sizeof(t->buf) - t->n, fmt, ap);

  if (n > 0)
    t->n += (size_t)n;
  if (t->n >= sizeof(t->buf))
    t->n = sizeof(t->buf) - 1;
}

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vput(t, fmt, ap);
  va_end(ap);
}

static void field(struct text *t, const struct layout *l, const char *label,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void field(struct text *t, const struct layout *l, const char *label,
                  const char *fmt, ...)
{
  int used = (int)strlen(label) + 1;
  va_list ap;

  if (l->colon_first)
    put(t, "%s:%*s", label, used < l->width ? l->width - used : 2, "");
  else
    put(t, "%-*s: ", l->width, label);
  va_start(ap, fmt);
  vput(t, fmt, ap);
  va_end(ap);
  put(t, "\n");
}

static const char *mode_name(socket_mode m)
{
  switch (m) {
  case send_only_mode: return "TX only";
  case recv_only_mode: return "RX only";
  case management_only_mode: return "Management only";
  default: return "RX+TX";
  }
}

static const char *direction_name(packet_direction d)
{
  switch (d) {
  case rx_only_direction: return "RX only";
  case tx_only_direction: return "TX only";
  default: return "RX+TX";
  }
}

static void bound_devices(const pfring *ring, char *out, size_t len)
{
  size_t n = 0;
  u_int32_t i;

  out[0] = '\0';
  if (ring->spec.any || ring->spec.none || ring->spec.num_devices == 0) {
    snprintf(out, len, "%s", ring->spec.any ? "any" : "none");
    return;
  }
  for (i = 0; i < ring->spec.num_devices && n < len; i++)
    n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," : "", ring->spec.devices[i]);
}

/* Slots holding packets nobody has read yet, as far as the counters tell:
 * inserted minus consumed (the sampler consumes the packets it skips). */
static u_int64_t free_slots(const pfring *ring, u_int64_t inserted)
{
  u_int64_t slots = (u_int64_t)pfringint_params()->min_num_slots;
  u_int64_t consumed = ring->tot_read;
  u_int64_t queued;

  if (ring->sampling_rate > 1 && ring->sampling_counter > consumed)
    consumed = ring->sampling_counter;
  queued = inserted > consumed ? inserted - consumed : 0;
  return queued < slots ? slots - queued : 0;
}

static void render_counters(pfring *ring, struct text *t)
{
  const struct layout *l = &ring_layout;
  u_int64_t seen = 0, lost = 0, inserted;

  if (ring->ops.kernel_counters)
    ring->ops.kernel_counters(ring, &seen, &lost);
  inserted = seen > lost ? seen - lost : 0;
  field(t, l, "Tot Packets", "%llu", (unsigned long long)seen);
  field(t, l, "Tot Pkt Lost", "%llu", (unsigned long long)lost);
  field(t, l, "Tot Insert", "%llu", (unsigned long long)inserted);
  field(t, l, "Tot Read", "%llu", (unsigned long long)ring->tot_read);
  field(t, l, "Num Free Slots", "%llu", (unsigned long long)free_slots(ring, inserted));
  field(t, l, "TX: Send Ok", "0");
  field(t, l, "TX: Send Errors", "0");
  field(t, l, "Reflect: Fwd Ok", "0");
  field(t, l, "Reflect: Fwd Errors", "0");
}

static void render_ring(pfring *ring, struct text *t)
{
  const struct pfringint_params *pp = pfringint_params();
  const struct layout *l = &ring_layout;
  char devs[MAX_NUM_DEVICES * (IFNAMSIZ + 1)];

  bound_devices(ring, devs, sizeof(devs));
  field(t, l, "Bound Device(s)", "%s", devs);
  field(t, l, "Active", "%d", ring->enabled ? 1 : 0);
  field(t, l, "Breed", "Standard");
  field(t, l, "Appl. Name", "%s", ring->appname[0] ? ring->appname : "<unknown>");
  field(t, l, "Socket Mode", "%s", mode_name(ring->mode));
  if (ring->mode != send_only_mode)
    field(t, l, "Capture Direction", "%s", direction_name(ring->direction));
  field(t, l, "Sampling Rate", "%u", ring->sampling_rate);
  field(t, l, "Filtering Sampling Rate", "1");
  field(t, l, "IP Defragment", "%s", pp->enable_ip_defrag ? "Yes" : "No");
  field(t, l, "BPF Filtering", "%s", ring->bpf_enabled ? "Enabled" : "Disabled");
  field(t, l, "Sw Filt Hash Rules", "0");
  field(t, l, "Sw Filt WC Rules", "0");
  field(t, l, "Sw Filt Hash Match", "0");
  field(t, l, "Sw Filt Hash Miss", "0");
  field(t, l, "Sw Filt Hash Filtered", "0");
  field(t, l, "Hw Filt Rules", "0");
  field(t, l, "Poll Pkt Watermark", "%u", ring->poll_watermark);
  field(t, l, "Num Poll Calls", "0");
  field(t, l, "Poll Watermark Timeout", "0");
  field(t, l, "Channel Id Mask", "0x%016llX", (unsigned long long)ring->channel_mask);
  field(t, l, "VLAN Id", "%u", ring->vlan_id);
  if (ring->cluster_id)
    field(t, l, "Cluster Id", "%u", ring->cluster_id);
  field(t, l, "Slot Version", "21 [%s]", RING_VERSION);
  field(t, l, "Min Num Slots", "%ld", pp->min_num_slots);
  field(t, l, "Bucket Len", "%u", ring->caplen);
  render_counters(ring, t);
}

static void render_info(int total, struct text *t)
{
  const struct pfringint_params *pp = pfringint_params();
  const struct layout *l = &info_layout;

  field(t, l, "PF_RING Version", "%s (pcap-pfring %s)", RING_VERSION, PCAP_PFRING_VERSION);
  field(t, l, "Total rings", "%d", total);
  put(t, "\nStandard (non ZC) Options\n");
  field(t, l, "Ring slots", "%ld", pp->min_num_slots);
  field(t, l, "Slot version", "21");
  field(t, l, "Capture TX", "%s", pp->enable_tx_capture ? "Yes [RX+TX]" : "No [RX only]");
  field(t, l, "IP Defragment", "%s", pp->enable_ip_defrag ? "Yes" : "No");
  field(t, l, "Socket Mode", "Standard");
  if (pp->enable_frag_coherence) {
    field(t, l, "Cluster Fragment Queue", "0");
    field(t, l, "Cluster Fragment Discard", "0");
  }
}

static void render_dev(const struct if_nameindex *ifn, int bound, struct text *t)
{
  const struct layout *l = &dev_layout;
  u_char mac[6] = { 0 };
  int flags = 0, queues = pfringint_if_num_rx_queues((int)ifn->if_index);

  pfringint_if_hwaddr(-1, ifn->if_name, mac);
  pfringint_if_flags(-1, ifn->if_name, &flags);
  field(t, l, "Name", "%s", ifn->if_name);
  field(t, l, "Index", "%u", ifn->if_index);
  field(t, l, "Address", "%02X:%02X:%02X:%02X:%02X:%02X",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  field(t, l, "Polling Mode", "NAPI");
  field(t, l, "Promisc", "%s", (flags & IFF_PROMISC) ? "Enabled" : "Disabled");
  field(t, l, "Type", "%s", (flags & IFF_LOOPBACK) ? "Loopback" : "Ethernet");
  field(t, l, "Family", "Standard NIC");
  field(t, l, "# Bound Sockets", "%d", bound);
  field(t, l, "TX Queues", "%d", queues);
  field(t, l, "RX Queues", "%d", queues);
}

/* ------------------------------------------------------------------------ */
/* Sweeping the entries of dead processes                                    */

static int pid_alive(pid_t pid)
{
  return kill(pid, 0) == 0 || errno != ESRCH;
}

/* The pid a tree file belongs to, 0 if none: "<pid>-..." (*is_ring set) or
 * a temp file ".tmp.<pid>.<n>". */
static pid_t owner_of(const char *name, int *is_ring)
{
  const char *start = name;
  char *end;
  long pid;

  *is_ring = strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0;
  if (!*is_ring)
    start += strlen(TMP_PREFIX);
  if (*start < '1' || *start > '9')
    return 0;
  pid = strtol(start, &end, 10);
  if (*end != (*is_ring ? '-' : '.') || pid <= 0 || pid > (long)0x3fffffff)
    return 0;
  return (pid_t)pid;
}

/* Deletes the files of dead processes in one directory; returns the number
 * of ring files left, or -1 if it cannot be read. */
static int sweep_dir(const char *path)
{
  DIR *d = opendir(path);
  struct dirent *de;
  int live = 0, is_ring;
  pid_t pid;

  if (!d)
    return -1;
  while ((de = readdir(d))) {
    pid = owner_of(de->d_name, &is_ring);
    if (!pid)
      continue;
    if (pid_alive(pid))
      live += is_ring;
    else
      unlinkat(dirfd(d), de->d_name, 0);
  }
  closedir(d);
  return live;
}

/* Sweeps the ring and stats files; the live ring count or -1. */
static int sweep_locked(void)
{
  char path[PATH_LEN];
  int live = sweep_dir(status_dir());

  snprintf(path, sizeof(path), "%s/stats", status_dir());
  sweep_dir(path);
  return live;
}

/* ------------------------------------------------------------------------ */
/* info and dev/                                                             */

static void write_text(const char *path, const struct text *t)
{
  if (write_file(path, t->buf, t->n) < 0)
    note_failure(path, errno);
}

static void write_info_locked(int total)
{
  struct text t = { .n = 0 };
  char path[PATH_LEN];

  render_info(total < 0 ? 0 : total, &t);
  snprintf(path, sizeof(path), "%s/info", status_dir());
  write_text(path, &t);
}

static int is_interface(const struct if_nameindex *ifs, const char *name)
{
  for (; ifs->if_index; ifs++)
    if (strcmp(ifs->if_name, name) == 0)
      return 1;
  return 0;
}

/* Removes dev/<name>/ of interfaces the namespace does not have (any more). */
static void drop_stale_devices(const char *base, const struct if_nameindex *ifs)
{
  DIR *d = opendir(base);
  struct dirent *de;
  char path[PATH_LEN];

  if (!d)
    return;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || is_interface(ifs, de->d_name))
      continue;
    snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
    sweep_dir(path);
    snprintf(path, sizeof(path), "%s/%s/info", base, de->d_name);
    unlink(path);
    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
  }
  closedir(d);
}

/* Appends ",<Bound Device(s) value>" of the ring file name in d to *list. */
static void append_bound(DIR *d, const char *name, char **list, size_t *len)
{
  static const char label[] = "Bound Device(s)";
  char buf[MAX_NUM_DEVICES * (IFNAMSIZ + 1) + 64], *value, *end, *grown;
  int fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  if (strncmp(buf, label, strlen(label)) != 0 || !(value = strstr(buf, ": ")))
    return;
  value += 2;
  end = strchrnul(value, '\n');
  if (!(grown = realloc(*list, *len + (size_t)(end - value) + 3)))
    return;
  *list = grown;
  *len += (size_t)sprintf(grown + *len, ",%.*s", (int)(end - value), value);
}

/* ",dev,dev,...," from every ring file in the tree (malloc'ed), or NULL. */
static char *bound_devices_of_tree(void)
{
  DIR *d = opendir(status_dir());
  struct dirent *de;
  char *list = NULL;
  size_t len = 0;
  int is_ring;

  if (!d)
    return NULL;
  while ((de = readdir(d)))
    if (owner_of(de->d_name, &is_ring) && is_ring)
      append_bound(d, de->d_name, &list, &len);
  closedir(d);
  if (list)
    strcpy(list + len, ",");
  return list;
}

/* Ring files of the tree bound to ifname: the rings of every process and
 * every namespace, matched by name (PF_RING's tree is per namespace). */
static int count_bound(const char *list, const char *ifname)
{
  char pattern[IFNAMSIZ + 3];
  const char *p = list;
  int n = 0;

  snprintf(pattern, sizeof(pattern), ",%s,", ifname);
  while (p && (p = strstr(p, pattern))) {
    n++;
    p += strlen(pattern) - 1;
  }
  return n;
}

static void write_devices_locked(void)
{
  struct if_nameindex *ifs = if_nameindex(), *i;
  char base[DIR_LEN], path[PATH_LEN], *bound;

  if (!ifs)
    return;
  bound = bound_devices_of_tree();
  snprintf(base, sizeof(base), "%s/dev", status_dir());
  for (i = ifs; i->if_index; i++) {
    struct text t = { .n = 0 };
    render_dev(i, count_bound(bound, i->if_name), &t);
    snprintf(path, sizeof(path), "%s/%s", base, i->if_name);
    mkdirs(path);
    sweep_dir(path);
    snprintf(path, sizeof(path), "%s/%s/info", base, i->if_name);
    write_text(path, &t);
  }
  drop_stale_devices(base, ifs);
  if_freenameindex(ifs);
  free(bound);
}

/* ------------------------------------------------------------------------ */
/* This process's ring files                                                 */

static void write_stats_locked(pfring *ring)
{
  char path[PATH_LEN], *buf;
  size_t len;

  if (!ring->appl_stats)
    return;
  len = strlen(ring->appl_stats);
  buf = malloc(len + 1);
  if (!buf)
    return;
  memcpy(buf, ring->appl_stats, len);
  buf[len] = '\n';
  snprintf(path, sizeof(path), "%s/stats", status_dir());
  mkdirs(path);
  pfringint_status_path(ring, "stats", path, sizeof(path));
  if (write_file(path, buf, len + 1) < 0)
    note_failure(path, errno);
  free(buf);
}

/* The ring file name changed (a fork, a new bound name): drop our old
 * files; a parent's files stay its own. */
static void rename_entry_locked(struct entry *e)
{
  char old_stats[PATH_LEN];

  if (e->pid == getpid() && e->path[0]) {
    stats_path_of(e->path, old_stats, sizeof(old_stats));
    unlink(e->path);
    unlink(old_stats);
  }
  e->pid = getpid();
  write_stats_locked(e->ring);
}

static void write_ring_locked(struct entry *e)
{
  struct text t = { .n = 0 };
  char path[PATH_LEN];

  pfringint_status_path(e->ring, NULL, path, sizeof(path));
  if (e->pid != getpid() || strcmp(e->path, path) != 0)
    rename_entry_locked(e);
  render_ring(e->ring, &t);
  if (write_file_keep(path, t.buf, t.n, &e->fd) < 0) {
    /* A process that dropped its privileges (tcpdump -Z) can no longer make
     * files in the tree: it rewrites its own, still open, in place. */
    if ((errno == EACCES || errno == EPERM) && e->fd >= 0 && strcmp(e->path, path) == 0 &&
        pwrite(e->fd, t.buf, t.n, 0) == (ssize_t)t.n && ftruncate(e->fd, (off_t)t.n) == 0)
      return;
    note_failure(path, errno);
  }
  snprintf(e->path, sizeof(e->path), "%s", path);
}

static void remove_files_locked(const struct entry *e)
{
  char stats[PATH_LEN];

  if (e->pid != getpid() || !e->path[0])
    return;
  stats_path_of(e->path, stats, sizeof(stats));
  unlink(e->path);
  unlink(stats);
}

static struct entry *find_locked(const pfring *ring)
{
  struct entry *e;

  for (e = entries; e; e = e->next)
    if (e->ring == ring)
      return e;
  return NULL;
}

static struct entry *remove_locked(const pfring *ring)
{
  struct entry **pe, *e;

  for (pe = &entries; *pe; pe = &(*pe)->next)
    if ((*pe)->ring == ring) {
      e = *pe;
      *pe = e->next;
      return e;
    }
  return NULL;
}

static int owns_rings_locked(void)
{
  struct entry *e;

  for (e = entries; e; e = e->next)
    if (e->pid == getpid())
      return 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The worker thread                                                         */

/* Every second: this process's ring entries.  Every SWEEP_TICKS seconds:
 * the sweep of dead processes' entries and the info file (a directory scan
 * and a signal per entry, which pfring-info and every open do anyway). */
#define SWEEP_TICKS 5

static void tick_locked(void)
{
  static unsigned ticks;
  struct entry *e;

  for (e = entries; e; e = e->next)
    if (e->pid == getpid())
      write_ring_locked(e);
  if (++ticks % SWEEP_TICKS == 0)
    write_info_locked(sweep_locked());
}

/* Waits up to a second for stop; returns w->stop (lock held). */
static int wait_tick_locked(struct worker *w)
{
  struct timespec until;

  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += 1;
  while (!w->stop && pthread_cond_timedwait(&w->wake, &lock, &until) != ETIMEDOUT)
    ;
  return w->stop;
}

static void *worker_main(void *arg)
{
  struct worker *w = arg;

  for (;;) {
    pthread_mutex_lock(&lock);
    if (wait_tick_locked(w))
      break;
    tick_locked();
    unlock();
  }
  unlock();
  return NULL;
}

/* pfring_status_inline(1): no worker thread; the receive path refreshes the
 * entries instead (pfringint_status_tick). */
static int inline_mode;
static time_t last_inline_tick;

static void start_worker_locked(void)
{
  struct worker *w;
  pthread_condattr_t attr;
  sigset_t all, old;
  int rc;

  if (__atomic_load_n(&inline_mode, __ATOMIC_RELAXED) || worker || !owns_rings_locked() || !(w = calloc(1, sizeof(*w))))
    return;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->wake, &attr);
  pthread_condattr_destroy(&attr);
  sigfillset(&all);                  /* signals stay with the application's threads */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&w->tid, NULL, worker_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc == 0) {
    pthread_setname_np(w->tid, "pfring-status");
    worker = w;
    return;
  }
  pthread_cond_destroy(&w->wake);
  free(w);
  if (first_failure())
    snprintf(pending_log, sizeof(pending_log),
             "status tree: no worker thread (%s): counters are not refreshed", strerror(rc));
}

/* Asks the worker to stop; the caller joins it once the lock is dropped. */
static struct worker *detach_worker_locked(void)
{
  struct worker *w = worker;

  if (w) {
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    worker = NULL;
  }
  return w;
}

static void join_worker(struct worker *w)
{
  if (!w)
    return;
  pthread_join(w->tid, NULL);
  pthread_cond_destroy(&w->wake);
  free(w);
}

/* fork(): the child gets the registry in a consistent state, without the
 * parent's thread (its worker struct is simply forgotten). */
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }

static void after_fork_child(void)
{
  worker = NULL;
  pending_log[0] = '\0';
  pthread_mutex_init(&lock, NULL);
}

static void init_once(void)
{
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

PFRING_API void pfring_status_inline(int on)
{
  __atomic_store_n(&inline_mode, on != 0, __ATOMIC_RELAXED);
}

/* Called per batch and per wait: at most one refresh per second, from a
 * coarse clock read (no system call). */
void pfringint_status_tick(void)
{
  struct timespec now;
  time_t last;

  if (!__atomic_load_n(&inline_mode, __ATOMIC_RELAXED))
    return;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  last = __atomic_load_n(&last_inline_tick, __ATOMIC_RELAXED);
  if (now.tv_sec == last ||
      !__atomic_compare_exchange_n(&last_inline_tick, &last, now.tv_sec, 0, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return;
  pthread_mutex_lock(&lock);
  tick_locked();
  unlock();
}

/* ------------------------------------------------------------------------ */
/* The hooks (pfring_int.h)                                                  */

void pfringint_status_register(pfring *ring)
{
  struct entry *e = calloc(1, sizeof(*e));

  if (!e)
    return;
  e->fd = -1;
  pthread_once(&once, init_once);
  e->ring = ring;
  e->pid = getpid();
  pthread_mutex_lock(&lock);
  e->next = entries;
  entries = e;
  ring->status_registered = 1;
  mkdirs(status_dir());
  write_ring_locked(e);
  write_info_locked(sweep_locked());
  start_worker_locked();
  unlock();
}

void pfringint_status_update(pfring *ring)
{
  struct entry *e;

  if (!ring->status_registered)
    return;
  pthread_mutex_lock(&lock);
  if ((e = find_locked(ring))) {
    write_ring_locked(e);         /* adopts an entry inherited through fork */
    start_worker_locked();
  }
  unlock();
}

void pfringint_status_unregister(pfring *ring)
{
  struct worker *w = NULL;
  struct entry *e;

  if (!ring->status_registered)
    return;
  pthread_mutex_lock(&lock);
  e = remove_locked(ring);
  ring->status_registered = 0;
  if (e)
    remove_files_locked(e);
  if (!owns_rings_locked())
    w = detach_worker_locked();
  write_info_locked(sweep_locked());
  unlock();
  join_worker(w);
  if (e && e->fd >= 0)
    close(e->fd);
  free(e);
}

int pfringint_status_write_appl_stats(pfring *ring, const char *text)
{
  size_t len = strlen(text);
  struct entry *e;
  char *copy;

  if (len > PF_RING_APPL_STATS_LEN)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "application stats are %zu bytes long (max %d)", len,
                            PF_RING_APPL_STATS_LEN);
  if (!(copy = strdup(text)))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  pthread_mutex_lock(&lock);
  free(ring->appl_stats);
  ring->appl_stats = copy;
  e = ring->status_registered ? find_locked(ring) : NULL;
  if (e && e->pid != getpid())
    write_ring_locked(e);         /* adopting it writes the stats file too */
  else
    write_stats_locked(ring);
  start_worker_locked();
  unlock();
  return 0;
}

/* const char *pfring_status_dir(void): the directory of the tree, as the
 * configuration gives it (PF_RING_STATUS_DIR, the configuration file, or
 * /run/pf_ring). */
PFRING_API const char *pfring_status_dir(void)
{
  return status_dir();
}

/* int pfring_status_refresh(void): rewrites info and dev/ (the interfaces of
 * the caller's namespace) and deletes the entries of dead processes.
 * Returns the number of live ring files, or -1 if the tree cannot be read. */
PFRING_API int pfring_status_refresh(void)
{
  int live;

  pthread_mutex_lock(&lock);
  mkdirs(status_dir());
  live = sweep_locked();
  if (live >= 0) {
    write_info_locked(live);
    write_devices_locked();
  }
  unlock();
  return live;
}
