/*
 * cluster_registry.c - which cluster type each cluster id uses.
 *
 * The kernel refuses a fanout member of another mode (LB vs CBPF), but two
 * CBPF programs look alike to it: a ring joining with another per-flow type
 * would silently replace the group's program.  So members register in
 *   <status_dir>/clusters/<netns inode>-<id>
 * one line per member, "pid ring_id type", under flock().  A join is refused
 * while a live member uses another type; lines of dead processes are dropped.
 * When the directory cannot be written the check is skipped.
 *
 * pfring_set_cluster claims (a ring is a member from then on, joined in the
 * kernel at once or at enable); pfring_remove_from_cluster and pfring_close
 * release.  Backends never touch the registry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "pfring_int.h"

#define MAX_MEMBERS 256

struct member {
  long pid;
  unsigned long ring_id;
  int type;
};

static int registry_path(pfring *ring, char *path, size_t len)
{
  struct stat st;
  int ns = ioctl(ring->fd, SIOCGSKNS);

  if (ns < 0)
    return -1;
  if (fstat(ns, &st) < 0) {
    close(ns);
    return -1;
  }
  close(ns);
  snprintf(path, len, "%s/clusters", pfringint_params()->status_dir);
  mkdir(pfringint_params()->status_dir, 0755);
  mkdir(path, 0755);
  snprintf(path + strlen(path), len - strlen(path), "/%lu-%u",
           (unsigned long)st.st_ino, ring->cluster_id);
  return 0;
}

/* Reads the live members; returns their number, the file stays locked. */
static int load(int fd, struct member *m)
{
  char buf[MAX_MEMBERS * 48], *line, *save = NULL;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  int count = 0;

  buf[n > 0 ? n : 0] = '\0';
  for (line = strtok_r(buf, "\n", &save); line && count < MAX_MEMBERS;
       line = strtok_r(NULL, "\n", &save)) {
    struct member x;
    if (sscanf(line, "%ld %lu %d", &x.pid, &x.ring_id, &x.type) != 3)
      continue;
    if (kill((pid_t)x.pid, 0) < 0 && errno == ESRCH)
      continue;
    m[count++] = x;
  }
  return count;
}

static void store(int fd, const struct member *m, int count)
{
  char buf[MAX_MEMBERS * 48];
  size_t len = 0;
  int i;

  for (i = 0; i < count; i++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%ld %lu %d\n", m[i].pid,
                            m[i].ring_id, m[i].type);
  if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, len, 0) < 0)
    pfringint_log(3, "cluster registry: write failed: %s", strerror(errno));
}

static const char *type_name(int t)
{
  static const char *names[] = {
    "per_flow", "round_robin", "per_flow_2_tuple", "per_flow_4_tuple", "per_flow_5_tuple",
    "per_flow_tcp_5_tuple", "per_inner_flow", "per_inner_flow_2_tuple",
    "per_inner_flow_4_tuple", "per_inner_flow_5_tuple", "per_inner_flow_tcp_5_tuple",
    "per_flow_ip_5_tuple", "per_inner_flow_ip_5_tuple", "per_flow_ip_with_dup_tuple",
  };
  return t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])) ? names[t] : "unknown";
}

int pfringint_cluster_claim(pfring *ring)
{
  struct member m[MAX_MEMBERS + 1];
  char path[512];
  int fd, n, i;

  if (registry_path(ring, path, sizeof(path)) < 0)
    return 0;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || flock(fd, LOCK_EX) < 0) {
    if (fd >= 0)
      close(fd);
    return 0;                        /* no registry: the kernel's checks only */
  }
  n = load(fd, m);
  for (i = 0; i < n; i++)
    if (m[i].type != (int)ring->cluster_type) {
      int other = m[i].type;
      close(fd);
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                              "cannot join cluster %u as %s: its members use %s",
                              ring->cluster_id, type_name((int)ring->cluster_type),
                              type_name(other));
    }
  m[n].pid = (long)getpid();
  m[n].ring_id = ring->ring_id;
  m[n].type = (int)ring->cluster_type;
  store(fd, m, n + 1);
  close(fd);
  return 0;
}

void pfringint_cluster_release(pfring *ring)
{
  struct member m[MAX_MEMBERS];
  char path[512];
  int fd, n, i, k = 0;

  if (!ring->cluster_id || registry_path(ring, path, sizeof(path)) < 0)
    return;
  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;
  if (flock(fd, LOCK_EX) == 0) {
    n = load(fd, m);
    for (i = 0; i < n; i++)
      if (!(m[i].pid == (long)getpid() && m[i].ring_id == ring->ring_id))
        m[k++] = m[i];
    if (k == 0)
      unlink(path);
    else
      store(fd, m, k);
  }
  close(fd);
}
