/*
 * status.c - the status tree: PF_RING's /proc/net/pf_ring as plain files.
 *
 *   <dir>/info                        global settings, "Label : value"
 *   <dir>/<pid>-<dev>.<ring_id>       one file per ring, PF_RING's labels
 *   <dir>/stats/<pid>-<dev>.<ring_id> the text of pfring_set_application_stats
 *   <dir>/dev/<ifname>/info           every interface of the namespace
 *   <dir>/.ring_id                    the machine-wide ring id counter (flock)
 *
 * <dir> is the status_dir parameter (/run/pf_ring).  Files are replaced
 * atomically (temp file + rename).  A per-process thread rewrites the files
 * of this process's rings once a second, so the counters are live; every
 * pass also deletes the files of processes that no longer exist, so dead
 * entries do not show.  The tree is best effort: when it cannot be written,
 * rings work anyway.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <time.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

struct entry {
  pfring *ring;
  pid_t pid;               /* the pid its file is named after */
  struct entry *next;
};

static struct entry *entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static int thread_running, thread_stop;
static u_int32_t local_id;

static const char *dir(void) { return pfringint_params()->status_dir; }

static void mkdirs(const char *path)
{
  char tmp[512], *p;

  snprintf(tmp, sizeof(tmp), "%s", path);
  for (p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(tmp, 0755);
      *p = '/';
    }
  mkdir(tmp, 0755);
}

/* Writes text to path atomically; 0 or -1. */
static int write_file(const char *path, const char *text)
{
  char tmp[600];
  int fd;
  size_t len = strlen(text);

  snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  if (write(fd, text, len) != (ssize_t)len) {
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

u_int32_t pfringint_next_ring_id(void)
{
  char path[512], buf[32] = "";
  u_int32_t id;
  int fd;
  ssize_t n;

  mkdirs(dir());
  snprintf(path, sizeof(path), "%s/.ring_id", dir());
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || flock(fd, LOCK_EX) < 0) {
    if (fd >= 0)
      close(fd);
    return 1000000 + __atomic_add_fetch(&local_id, 1, __ATOMIC_RELAXED);
  }
  n = pread(fd, buf, sizeof(buf) - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  id = (u_int32_t)strtoul(buf, NULL, 10) + 1;
  n = snprintf(buf, sizeof(buf), "%u\n", id);
  if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
    id = 1000000 + __atomic_add_fetch(&local_id, 1, __ATOMIC_RELAXED);
  close(fd);   /* releases the lock */
  return id;
}

static void ring_file_name(const pfring *ring, pid_t pid, char *out, size_t len)
{
  snprintf(out, len, "%d-%s.%u", (int)pid, ring->bound_name, ring->ring_id);
}

void pfringint_status_path(pfring *ring, const char *sub, char *path, size_t len)
{
  char name[128];

  ring_file_name(ring, getpid(), name, sizeof(name));
  if (sub)
    snprintf(path, len, "%s/%s/%s", dir(), sub, name);
  else
    snprintf(path, len, "%s/%s", dir(), name);
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */

struct text {
  char buf[4096];
  size_t n;
};

static void add(struct text *t, int width, const char *label, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void add(struct text *t, int width, const char *label, const char *fmt, ...)
{
  va_list ap;

  if (t->n >= sizeof(t->buf))
    return;
  t->n += (size_t)snprintf(t->buf + t->n, sizeof(t->buf) - t->n, "%-*s: ", width, label);
  if (t->n >= sizeof(t->buf))
    return;
  va_start(ap, fmt);
  t->n += (size_t)vsnprintf(t->buf + t->n, sizeof(t->buf) - t->n, fmt, ap);
  va_end(ap);
  if (t->n < sizeof(t->buf) - 1)
    t->buf[t->n++] = '\n';
  t->buf[t->n < sizeof(t->buf) ? t->n : sizeof(t->buf) - 1] = '\0';
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
  return d == rx_only_direction ? "RX only" : d == tx_only_direction ? "TX only" : "RX+TX";
}

static void render_ring(pfring *ring, struct text *t)
{
  const struct pfringint_params *pp = pfringint_params();
  char devs[MAX_NUM_DEVICES * IFNAMSIZ] = "";
  u_int64_t seen = 0, lost = 0;
  u_int32_t i;

  if (ring->spec.any || ring->spec.none)
    snprintf(devs, sizeof(devs), "%s", ring->bound_name);
  for (i = 0; i < ring->spec.num_devices; i++) {
    if (i)
      strcat(devs, ",");
    strcat(devs, ring->spec.devices[i]);
  }
  if (ring->ops.kernel_counters)
    ring->ops.kernel_counters(ring, &seen, &lost);
  t->n = 0;
  t->buf[0] = '\0';
  add(t, 23, "Bound Device(s)", "%s", devs);
  add(t, 23, "Active", "%d", ring->enabled ? 1 : 0);
  add(t, 23, "Breed", "Standard");
  add(t, 23, "Appl. Name", "%s", ring->appname[0] ? ring->appname : "<unknown>");
  add(t, 23, "Socket Mode", "%s", mode_name(ring->mode));
  if (ring->mode != send_only_mode)
    add(t, 23, "Capture Direction", "%s", direction_name(ring->direction));
  add(t, 23, "Sampling Rate", "%u", ring->sampling_rate);
  add(t, 23, "Filtering Sampling Rate", "1");
  add(t, 23, "IP Defragment", "%s", pp->enable_ip_defrag ? "Yes" : "No");
  add(t, 23, "BPF Filtering", "%s", ring->bpf_enabled ? "Enabled" : "Disabled");
  add(t, 23, "Sw Filt Hash Rules", "0");
  add(t, 23, "Sw Filt WC Rules", "0");
  add(t, 23, "Sw Filt Hash Match", "0");
  add(t, 23, "Sw Filt Hash Miss", "0");
  add(t, 23, "Sw Filt Hash Filtered", "0");
  add(t, 23, "Hw Filt Rules", "0");
  add(t, 23, "Poll Pkt Watermark", "%u", ring->poll_watermark);
  add(t, 23, "Num Poll Calls", "0");
  add(t, 23, "Poll Watermark Timeout", "0");
  add(t, 23, "Channel Id Mask", "0x%016llX", (unsigned long long)ring->channel_mask);
  add(t, 23, "VLAN Id", "%u", ring->vlan_id);
  if (ring->cluster_id)
    add(t, 23, "Cluster Id", "%u", ring->cluster_id);
  add(t, 23, "Slot Version", "21 [%s]", RING_VERSION);
  add(t, 23, "Min Num Slots", "%ld", pp->min_num_slots);
  add(t, 23, "Bucket Len", "%u", ring->caplen);
  add(t, 23, "Tot Packets", "%llu", (unsigned long long)seen);
  add(t, 23, "Tot Pkt Lost", "%llu", (unsigned long long)lost);
  add(t, 23, "Tot Insert", "%llu", (unsigned long long)(seen - lost));
  add(t, 23, "Tot Read", "%llu", (unsigned long long)ring->tot_read);
  add(t, 23, "TX: Send Ok", "0");
  add(t, 23, "TX: Send Errors", "0");
  add(t, 23, "Reflect: Fwd Ok", "0");
  add(t, 23, "Reflect: Fwd Errors", "0");
}

/* ------------------------------------------------------------------------ */
/* Dead entries, info, dev/                                                  */

static int pid_alive(pid_t pid)
{
  return kill(pid, 0) == 0 || errno != ESRCH;
}

/* Deletes ring and stats files of processes that are gone; returns the
 * number of live ring files. */
static int sweep_dir(const char *path)
{
  DIR *d = opendir(path);
  struct dirent *de;
  int live = 0;

  if (!d)
    return 0;
  while ((de = readdir(d))) {
    char *dash, full[768];
    long pid;
    if (de->d_name[0] < '0' || de->d_name[0] > '9' || strstr(de->d_name, ".tmp."))
      continue;
    pid = strtol(de->d_name, &dash, 10);
    if (*dash != '-')
      continue;
    if (pid_alive((pid_t)pid)) {
      live++;
      continue;
    }
    snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
    unlink(full);
  }
  closedir(d);
  return live;
}

static int sweep(void)
{
  char path[512];
  int live = sweep_dir(dir());

  snprintf(path, sizeof(path), "%s/stats", dir());
  sweep_dir(path);
  return live;
}

static void write_info(int total)
{
  const struct pfringint_params *pp = pfringint_params();
  struct text t = { .n = 0 };
  char path[512];

  add(&t, 25, "PF_RING Version", "%s (pcap-pfring %s)", RING_VERSION, PCAP_PFRING_VERSION);
  add(&t, 25, "Total rings", "%d", total);
  t.n += (size_t)snprintf(t.buf + t.n, sizeof(t.buf) - t.n, "\nStandard (non ZC) Options\n");
  add(&t, 25, "Ring slots", "%ld", pp->min_num_slots);
  add(&t, 25, "Slot version", "21");
  add(&t, 25, "Capture TX", "%s", pp->enable_tx_capture ? "Yes [RX+TX]" : "No [RX only]");
  add(&t, 25, "IP Defragment", "%s", pp->enable_ip_defrag ? "Yes" : "No");
  add(&t, 25, "Socket Mode", "%s", pp->quick_mode ? "Quick" : "Standard");
  if (pp->enable_frag_coherence) {
    add(&t, 25, "Cluster Fragment Queue", "0");
    add(&t, 25, "Cluster Fragment Discard", "0");
  }
  snprintf(path, sizeof(path), "%s/info", dir());
  write_file(path, t.buf);
}

static int bound_sockets(const char *ifname)
{
  struct entry *e;
  int n = 0;
  u_int32_t i;

  for (e = entries; e; e = e->next)
    for (i = 0; i < e->ring->spec.num_devices; i++)
      n += strcmp(e->ring->spec.devices[i], ifname) == 0;
  return n;
}

static void write_devices(void)
{
  struct if_nameindex *ifs = if_nameindex(), *i;
  char path[512];

  if (!ifs)
    return;
  for (i = ifs; i->if_index; i++) {
    struct text t = { .n = 0 };
    u_char mac[6] = { 0 };
    int flags = 0, q = pfringint_if_num_rx_queues((int)i->if_index);
    pfringint_if_hwaddr(-1, i->if_name, mac);
    pfringint_if_flags(-1, i->if_name, &flags);
    add(&t, 16, "Name", "%s", i->if_name);
    add(&t, 16, "Index", "%u", i->if_index);
    add(&t, 16, "Address", "%02X:%02X:%02X:%02X:%02X:%02X", mac[0], mac[1], mac[2], mac[3],
        mac[4], mac[5]);
    add(&t, 16, "Polling Mode", "NAPI");
    add(&t, 16, "Promisc", "%s", (flags & IFF_PROMISC) ? "Enabled" : "Disabled");
    add(&t, 16, "Type", "%s", (flags & IFF_LOOPBACK) ? "Loopback" : "Ethernet");
    add(&t, 16, "Family", "Standard NIC");
    add(&t, 16, "# Bound Sockets", "%d", bound_sockets(i->if_name));
    add(&t, 16, "TX Queues", "%d", q);
    add(&t, 16, "RX Queues", "%d", q);
    snprintf(path, sizeof(path), "%s/dev/%s", dir(), i->if_name);
    mkdirs(path);
    strncat(path, "/info", sizeof(path) - strlen(path) - 1);
    write_file(path, t.buf);
  }
  if_freenameindex(ifs);
}

/* ------------------------------------------------------------------------ */
/* This process's rings                                                      */

static void write_ring_locked(struct entry *e)
{
  struct text t;
  char name[128], path[640];

  if (e->pid != getpid()) {          /* forked: the file moves to our pid */
    ring_file_name(e->ring, e->pid, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", dir(), name);
    unlink(path);
    e->pid = getpid();
  }
  render_ring(e->ring, &t);
  ring_file_name(e->ring, e->pid, name, sizeof(name));
  snprintf(path, sizeof(path), "%s/%s", dir(), name);
  if (write_file(path, t.buf) < 0)
    pfringint_log(3, "status tree: cannot write %s: %s", path, strerror(errno));
}

static void *status_thread(void *arg)
{
  struct timespec until;
  struct entry *e;

  (void)arg;
  pthread_mutex_lock(&lock);
  while (!thread_stop) {
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&wake, &lock, &until);
    if (thread_stop)
      break;
    for (e = entries; e; e = e->next)
      write_ring_locked(e);
    sweep();
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void after_fork_child(void)
{
  /* The thread does not exist in the child; start it again lazily. */
  pthread_mutex_init(&lock, NULL);
  pthread_cond_init(&wake, NULL);
  thread_running = 0;
  thread_stop = 0;
}

static void start_thread_locked(void)
{
  static int atfork;
  sigset_t all, old;

  if (thread_running)
    return;
  if (!atfork) {
    pthread_atfork(NULL, NULL, after_fork_child);
    atfork = 1;
  }
  thread_stop = 0;
  sigfillset(&all);                  /* signals go to the application's threads */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (pthread_create(&thread, NULL, status_thread, NULL) == 0)
    thread_running = 1;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pfringint_status_register(pfring *ring)
{
  struct entry *e = calloc(1, sizeof(*e));
  int live;

  if (!e)
    return;
  e->ring = ring;
  e->pid = getpid();
  mkdirs(dir());
  pthread_mutex_lock(&lock);
  e->next = entries;
  entries = e;
  ring->status_registered = 1;
  write_ring_locked(e);
  live = sweep();
  write_info(live);
  start_thread_locked();
  pthread_mutex_unlock(&lock);
}

void pfringint_status_update(pfring *ring)
{
  struct entry *e;

  if (!ring->status_registered)
    return;
  pthread_mutex_lock(&lock);
  for (e = entries; e; e = e->next)
    if (e->ring == ring)
      write_ring_locked(e);
  pthread_mutex_unlock(&lock);
}

void pfringint_status_unregister(pfring *ring)
{
  struct entry **pe, *e = NULL;
  char path[640];
  int join = 0;

  if (!ring->status_registered)
    return;
  pthread_mutex_lock(&lock);
  for (pe = &entries; *pe; pe = &(*pe)->next)
    if ((*pe)->ring == ring) {
      e = *pe;
      *pe = e->next;
      break;
    }
  ring->status_registered = 0;
  if (!entries && thread_running) {
    thread_stop = 1;
    pthread_cond_signal(&wake);
    join = 1;
  }
  pthread_mutex_unlock(&lock);
  if (join) {
    pthread_join(thread, NULL);
    pthread_mutex_lock(&lock);
    thread_running = 0;
    pthread_mutex_unlock(&lock);
  }
  pfringint_status_path(ring, NULL, path, sizeof(path));
  unlink(path);
  pfringint_status_path(ring, "stats", path, sizeof(path));
  unlink(path);
  free(e);
  pthread_mutex_lock(&lock);
  write_info(sweep());
  pthread_mutex_unlock(&lock);
}

int pfringint_status_write_appl_stats(pfring *ring, const char *text)
{
  char path[640], sdir[512], *buf;
  size_t len = strlen(text);
  int rc;

  if (len > PF_RING_APPL_STATS_LEN)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, 0,
                            "application stats are %zu bytes (max %d)", len,
                            PF_RING_APPL_STATS_LEN);
  snprintf(sdir, sizeof(sdir), "%s/stats", dir());
  mkdirs(sdir);
  pfringint_status_path(ring, "stats", path, sizeof(path));
  buf = malloc(len + 2);
  if (!buf)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  memcpy(buf, text, len);
  buf[len] = '\n';
  buf[len + 1] = '\0';
  rc = write_file(path, buf);
  free(buf);
  if (rc < 0)
    return pfringint_seterr_errno(ring, PF_RING_ERROR_GENERIC, errno, "cannot write %s", path);
  return 0;
}

/* Rewrites info and dev/ and removes dead entries; returns the number of
 * live rings or <0. */
PFRING_API int pfring_status_refresh(void)
{
  int live;

  mkdirs(dir());
  pthread_mutex_lock(&lock);
  live = sweep();
  write_info(live);
  write_devices();
  pthread_mutex_unlock(&lock);
  return live;
}
