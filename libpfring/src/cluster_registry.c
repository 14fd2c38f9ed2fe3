/*
 * cluster_registry.c - which cluster type each cluster id uses.
 *
 * The kernel refuses a fanout member of another mode (LB vs CBPF), but two
 * CBPF programs look alike to it: a ring joining with another per-flow type
 * would silently replace the group's program.  So members register in
 *   <status_dir>/clusters/<netns inode>-<id>
 * one line per member, "pid ring_id type", under flock(), with " 1" after
 * it for a zc: ring (whose cluster is an XDP program's, not a kernel fanout
 * group).  A join is refused while a live member
 * uses another type, or is of the other kind.
 *
 * A member is alive while its ring file (<pid>-<dev>.<ring_id> in the
 * status tree) is locked by its writer (status.c): the kernel drops that
 * lock when the process dies, in whatever PID namespace it lived, so
 * neither a pid of another namespace nor a reused pid is taken for a live
 * member.  Dead members' lines are dropped by every claim and release and
 * by the status tree's sweep, which deletes a file that has no member left.
 * The files are opened through the checked tree (status.c): O_NOFOLLOW,
 * made O_CREAT|O_EXCL, regular, owned by root or the process's own user and
 * writable by nobody else.  When the tree cannot be used the check is
 * skipped.
 *
 * pfring_set_cluster claims (a ring is a member from then on, joined in the
 * kernel at once or at enable); pfring_remove_from_cluster and pfring_close
 * release.  Backends never touch the registry.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#define TRIES 4

struct member {
  long pid;
  unsigned long ring_id;
  int type;
  int zc;
};

/* The registry of the ring's cluster: *tree and the clusters directory
 * (returned) opened, name set; -1 if the tree cannot be used. */
static int registry_dir(pfring *ring, int *tree, char *name, size_t len)
{
  struct stat st;
  int ns = ioctl(ring->fd, SIOCGSKNS), dir;

  if (ns < 0)
    return -1;
  if (fstat(ns, &st) < 0) {
    close(ns);
    return -1;
  }
  close(ns);
  if ((*tree = pfringint_status_tree(1)) < 0)
    return -1;
  if ((dir = pfringint_status_subdir(*tree, "clusters", 1)) < 0) {
    close(*tree);
    return -1;
  }
  snprintf(name, len, "%lu-%u", (unsigned long)st.st_ino, ring->cluster_id);
  return dir;
}

/* Opens the file name of dir and locks it (LOCK_EX, with nonblock
 * LOCK_EX|LOCK_NB): its fd or -1.  A file that a releasing member deleted
 * while we waited for its lock is not used: the one at the name is. */
static int open_locked(int dir, const char *name, int create, int nonblock)
{
  char rel[96];
  struct stat a, b;
  int fd, tries, rc;

  snprintf(rel, sizeof(rel), "clusters/%s", name);
  for (tries = 0; tries < TRIES; tries++) {
    if ((fd = pfringint_status_open_shared(dir, name, rel, create)) < 0)
      return -1;
    while ((rc = flock(fd, nonblock ? LOCK_EX | LOCK_NB : LOCK_EX)) < 0 && errno == EINTR)
      ;
    if (rc < 0) {
      close(fd);
      return -1;
    }
    if (fstat(fd, &a) == 0 && fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return fd;
    close(fd);
  }
  return -1;
}

/* Reads the live members (the file is locked); returns their number and
 * sets *lines to the number of members the file had. */
static int load(int fd, int tree, struct member *m, int *lines)
{
  char buf[MAX_MEMBERS * 48], *line, *save = NULL;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  int count = 0;

  *lines = 0;
  buf[n > 0 ? n : 0] = '\0';
  for (line = strtok_r(buf, "\n", &save); line && count < MAX_MEMBERS;
       line = strtok_r(NULL, "\n", &save)) {
    struct member x = { 0, 0, 0, 0 };
    if (sscanf(line, "%ld %lu %d %d", &x.pid, &x.ring_id, &x.type, &x.zc) < 3)
      continue;
    ++*lines;
    if (!pfringint_status_ring_alive(tree, x.pid, x.ring_id))
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
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, m[i].zc ? "%ld %lu %d 1\n"
                            : "%ld %lu %d\n", m[i].pid, m[i].ring_id, m[i].type);
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
  char name[64];
  int tree, dir, fd, n, lines, i, zc = ring->breed && strcmp(ring->breed, "ZC") == 0;

  if ((dir = registry_dir(ring, &tree, name, sizeof(name))) < 0)
    return 0;
  fd = open_locked(dir, name, 1, 0);
  close(dir);
  if (fd < 0) {
    close(tree);
    return 0;                        /* no registry: the kernel's checks only */
  }
  n = load(fd, tree, m, &lines);
  close(tree);
  for (i = 0; i < n; i++)
    if (m[i].zc != zc) {
      if (n < lines)
        store(fd, m, n);
      close(fd);
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                              "cannot join cluster %u with %s ring: its members are %s rings "
                              "(a cluster is all zc: rings, split by their XDP program, or "
                              "all standard rings, split by a kernel fanout group)",
                              ring->cluster_id, zc ? "a zc:" : "a standard",
                              zc ? "standard" : "zc:");
    }
  for (i = 0; i < n; i++)
    if (m[i].type != (int)ring->cluster_type) {
      int other = m[i].type;
      if (n < lines)
        store(fd, m, n);
      close(fd);
      return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                              "cannot join cluster %u as %s: its members use %s",
                              ring->cluster_id, type_name((int)ring->cluster_type),
                              type_name(other));
    }
  m[n].pid = (long)getpid();
  m[n].ring_id = ring->ring_id;
  m[n].type = (int)ring->cluster_type;
  m[n].zc = zc;
  store(fd, m, n + 1);
  close(fd);
  return 0;
}

void pfringint_cluster_release(pfring *ring)
{
  struct member m[MAX_MEMBERS];
  char name[64];
  int tree, dir, fd, n, lines, i, k = 0;

  if (!ring->cluster_id || (dir = registry_dir(ring, &tree, name, sizeof(name))) < 0)
    return;
  if ((fd = open_locked(dir, name, 0, 0)) >= 0) {
    n = load(fd, tree, m, &lines);
    for (i = 0; i < n; i++)
      if (!(m[i].pid == (long)getpid() && m[i].ring_id == ring->ring_id))
        m[k++] = m[i];
    if (k == 0)
      unlinkat(dir, name, 0);        /* still locked: a waiting joiner sees it gone */
    else
      store(fd, m, k);
    close(fd);
  }
  close(dir);
  close(tree);
}

/* "<digits>-<digits>": the names of cluster files. */
static int is_registry_name(const char *s)
{
  const char *dash = strchr(s, '-');
  size_t i;

  if (!dash || dash == s || !dash[1])
    return 0;
  for (i = 0; s[i]; i++)
    if (s + i != dash && (s[i] < '0' || s[i] > '9'))
      return 0;
  return 1;
}

void pfringint_cluster_sweep(int tree, int dir)
{
  struct member m[MAX_MEMBERS];
  struct dirent *de;
  struct stat st, top;
  int fd, n, lines, lfd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;

  if (!d) {
    if (lfd >= 0)
      close(lfd);
    return;
  }
  if (fstat(tree, &top) < 0) {
    closedir(d);
    return;
  }
  while ((de = readdir(d))) {
    if (!is_registry_name(de->d_name))
      continue;
    /* A member busy with the file drops the dead lines itself. */
    if ((fd = open_locked(dir, de->d_name, 0, 1)) < 0)
      continue;
    if (fstat(fd, &st) == 0 && st.st_uid == top.st_uid) {
      n = load(fd, tree, m, &lines);
      if (n == 0)
        unlinkat(dir, de->d_name, 0);
      else if (n < lines)
        store(fd, m, n);
    }
    close(fd);
  }
  closedir(d);
}
