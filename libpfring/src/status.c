/*
 * status.c - the status tree: PF_RING's /proc/net/pf_ring as plain files.
 *
 *   <dir>/info                        global settings ("Label : value")
 *   <dir>/<pid>-<dev>.<ring_id>       one file per ring, PF_RING's labels
 *   <dir>/stats/<pid>-<dev>.<ring_id> the text of pfring_set_application_stats
 *   <dir>/dev/<ifname>/info           every interface of the caller's namespace
 *   <dir>/.ring_id                    the machine-wide ring id counter (flock)
 *   <dir>/clusters/<netns>-<id>       cluster members (cluster_registry.c)
 *
 * <dir> is the status_dir parameter (/run/pf_ring, PF_RING_STATUS_DIR).
 * Every value is written on one line: control characters, DEL and '\' are
 * escaped (\n \r \t \\ \xNN), so an application name cannot add lines.
 *
 * Trust.  Set-uid programs write the tree too, so every file is reached
 * through a directory fd opened O_DIRECTORY|O_NOFOLLOW and checked (fstat):
 * a directory of the tree, and .ring_id and the cluster files, must belong
 * to root or to the process's own user (the real user unless the program
 * is set-uid) and be writable by nobody else.  A tree that fails is not
 * used at all, for the rest of the process: ring ids are process-local,
 * nothing is written, and one debug message goes through pfringint_log.
 * Files are made O_CREAT|O_EXCL|O_NOFOLLOW under a temp name
 * ".tmp.<pid>.<n>" and renamed into place, so a symlink in the tree is
 * replaced, never followed.  A ring's own files, kept open, are then
 * rewritten in place (pwrite) while their name stays theirs: the fd is
 * the file made here, so no name is followed either.
 *
 * Liveness.  A ring file is alive while its writer holds flock(LOCK_EX) on
 * it: the writer locks the temp file before it is renamed into place, keeps
 * that fd and closes it only after the name points elsewhere (a newer file,
 * or nothing), so the kernel releases the lock when the process dies,
 * whatever PID namespace it lives in (a pid means nothing across them).
 * Every pass (worker tick, register, refresh) deletes what it can lock:
 * ring and temp files whose lock is free and that are still at their name,
 * the stats files of rings without a live ring file, and dead members of
 * the cluster files.  It deletes only names of the forms written here, and
 * only regular files that belong to the tree's owner.  flock locks belong
 * to the open file description: a forked child closes its inherited copies
 * (they are the parent's), so that they die with the parent.
 *
 * A per-process worker thread, running while the process has rings,
 * rewrites their files once a second so the counters are live.  The
 * registry of rings is a list under one mutex; update and unregister take
 * it too, so once unregister returns the worker never touches that ring
 * again.
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
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

#define PATH_LEN 640
#define NAME_LEN 128            /* "<pid>-<dev>.<ring_id>", ".tmp.<pid>.<n>" */
#define TEXT_LEN 8192   /* a ring file; a DNA master's lists up to 32 apps */
#define LOCAL_ID_BASE 1000000   /* ring ids when .ring_id cannot be used */
#define TMP_PREFIX ".tmp."
#define TRIES 4                 /* attempts when a file changes under us */

static const char *status_dir(void) { return pfringint_params()->status_dir; }

/* ------------------------------------------------------------------------ */
/* The registry and its lock                                                 */

struct entry {
  pfring *ring;
  pid_t pid;                  /* the process that writes its files */
  char name[NAME_LEN];        /* its ring file as last written, "" if none */
  int fd;                     /* that file, open and locked, or -1 */
  int stats_fd;               /* its stats file as last written, open, or -1 */
  struct entry *next;
};

struct worker {
  pthread_t tid;
  pthread_cond_t wake;
  int stop;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init_once(void);    /* the fork handlers */
static __thread int holding;    /* this thread holds lock */
static struct entry *entries;
static struct worker *worker;   /* this process's, NULL if none */
static int failure_seen;        /* the one debug message was issued */
static char pending_log[PATH_LEN + 128];  /* logged once the lock is dropped */

/* The refusal of the tree: set once, for the life of the process.  Its
 * message waits under its own small lock until no registry lock is held. */
static int refused;
static pthread_mutex_t refusal_lock = PTHREAD_MUTEX_INITIALIZER;
static char refusal_log[PATH_LEN + 256];

static int tree_refused(void) { return __atomic_load_n(&refused, __ATOMIC_ACQUIRE); }

static void log_refusal(void)
{
  char msg[sizeof(refusal_log)];

  pthread_mutex_lock(&refusal_lock);
  memcpy(msg, refusal_log, sizeof(msg));
  refusal_log[0] = '\0';
  pthread_mutex_unlock(&refusal_lock);
  if (msg[0])
    pfringint_log(3, "%s", msg);
}

static void lock_registry(void)
{
  pthread_mutex_lock(&lock);
  holding = 1;
}

/* Releases the lock, then logs what was noted under it (so a print
 * callback never runs with the registry locked). */
static void unlock(void)
{
  char msg[sizeof(pending_log)];

  memcpy(msg, pending_log, sizeof(msg));
  pending_log[0] = '\0';
  holding = 0;
  pthread_mutex_unlock(&lock);
  if (msg[0])
    pfringint_log(3, "%s", msg);
  log_refusal();
}

static int first_failure(void)
{
  return !__atomic_exchange_n(&failure_seen, 1, __ATOMIC_RELAXED);
}

/* Notes the first failure to write the tree (lock held); rel is the file's
 * name inside the tree. */
static void note_failure(const char *rel, int err)
{
  if (!tree_refused() && first_failure())
    snprintf(pending_log, sizeof(pending_log),
             "status tree: cannot write %s/%s: %s (the tree is best effort; "
             "further failures are not reported)", status_dir(), rel, strerror(err));
}

/* Refuses the tree for good: rel (NULL: the tree's directory) failed a check. */
static void refuse(const char *rel, const char *why)
{
  pthread_mutex_lock(&refusal_lock);
  if (!__atomic_load_n(&refused, __ATOMIC_RELAXED)) {
    snprintf(refusal_log, sizeof(refusal_log),
             "status tree: %s is not used: %s%s%s (ring ids are process-local and "
             "nothing is written)", status_dir(), rel ? rel : "", rel ? ": " : "", why);
    __atomic_store_n(&refused, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&refusal_lock);
  if (!holding)
    log_refusal();
}

/* ------------------------------------------------------------------------ */
/* Trust                                                                     */

/* The user besides root who may own the tree: the real user, or the
 * effective one of a program that gained privileges at exec (set-uid, file
 * capabilities), whose real user is the one it must not trust. */
static uid_t own_uid(void)
{
  return getauxval(AT_SECURE) ? geteuid() : getuid();
}

/* Why st (a directory of the tree if dir, else a file of it) may not be
 * used, or NULL if it may. */
static const char *distrust(const struct stat *st, int dir, char *why, size_t len)
{
  uid_t own = own_uid();

  if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
    return dir ? "it is not a directory" : "it is not a regular file";
  if (st->st_uid != 0 && st->st_uid != own) {
    snprintf(why, len, "it belongs to uid %u, neither root nor uid %u",
             (unsigned)st->st_uid, (unsigned)own);
    return why;
  }
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(why, len, "it is writable by %s (mode %04o)",
             (st->st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st->st_mode & 07777));
    return why;
  }
  return NULL;
}

static const char *open_failure(int err)
{
  switch (err) {
  case ELOOP: return "it is a symbolic link";
  case ENOTDIR: return "it is not a directory";
  case EISDIR: return "it is a directory";
  case ENXIO: return "it is not a regular file";
  default: return NULL;
  }
}

/* Opens name under dfd (AT_FDCWD: a path) as a directory of the tree and
 * checks it; rel names it in messages (NULL: the tree itself).  With
 * create it is made first (mode 0755).  -1 with errno set; with strict, a
 * directory that fails the checks refuses the tree. */
static int open_dir_at(int dfd, const char *name, const char *rel, int create, int strict)
{
  const char *bad = NULL;
  char why[96];
  struct stat st;
  int fd, err;

  if (tree_refused()) {
    errno = EPERM;
    return -1;
  }
  fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create && (mkdirat(dfd, name, 0755) == 0 || errno == EEXIST))
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    if (strict && (err == ELOOP || err == ENOTDIR)) {
      struct stat lst;
      int link = fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode);
      refuse(rel, open_failure(link ? ELOOP : err));
    }
    errno = err;
    return -1;
  }
  if (fstat(fd, &st) < 0 || (bad = distrust(&st, 1, why, sizeof(why)))) {
    err = errno;
    close(fd);
    if (bad && strict)
      refuse(rel, bad);
    errno = bad ? EPERM : err;
    return -1;
  }
  return fd;
}

/* Makes the directories of path (mkdir -p), for a tree that is missing. */
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

/* The subdirectories of the tree, checked whenever the tree is opened:
 * one that is there and fails refuses the tree before anything is written. */
static const char *const subdirs[] = { "stats", "dev", "clusters" };

static int subdirs_trusted(int fd)
{
  char why[96];
  const char *bad = NULL;
  struct stat st;
  size_t i;

  for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
    if (fstatat(fd, subdirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (bad = S_ISLNK(st.st_mode) ? "it is a symbolic link" : distrust(&st, 1, why, sizeof(why)))) {
      refuse(subdirs[i], bad);
      return 0;
    }
  return 1;
}

int pfringint_status_tree(int create)
{
  int fd;

  fd = open_dir_at(AT_FDCWD, status_dir(), NULL, 0, 1);
  if (fd < 0 && errno == ENOENT && create) {
    mkdirs(status_dir());
    fd = open_dir_at(AT_FDCWD, status_dir(), NULL, 0, 1);
  }
  if (fd >= 0 && !subdirs_trusted(fd)) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return fd;
}

int pfringint_status_subdir(int tree, const char *name, int create)
{
  return open_dir_at(tree, name, name, create, 1);
}

int pfringint_status_open_shared(int dfd, const char *name, const char *rel, int create)
{
  const char *bad = NULL;
  char why[96];
  struct stat st;
  int fd, err, tries;

  for (tries = 0; tries < TRIES; tries++) {
    if (tree_refused()) {
      errno = EPERM;
      return -1;
    }
    fd = openat(dfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0644);
      if (fd < 0 && errno == EEXIST)
        continue;                 /* made meanwhile: open that one */
    }
    if (fd < 0) {
      err = errno;
      if ((bad = open_failure(err)))
        refuse(rel, bad);
      errno = err;
      return -1;
    }
    if (fstat(fd, &st) < 0 || (bad = distrust(&st, 0, why, sizeof(why)))) {
      err = errno;
      close(fd);
      if (bad)
        refuse(rel, bad);
      errno = bad ? EPERM : err;
      return -1;
    }
    return fd;
  }
  errno = EEXIST;
  return -1;
}

/* The tree as one pass uses it: its directory and owner, or why not. */
struct tree {
  int fd;
  uid_t owner;
  int err;
};

static void open_tree(struct tree *tr, int create)
{
  struct stat st;

  tr->fd = pfringint_status_tree(create);
  tr->err = tr->fd < 0 ? errno : 0;
  tr->owner = (uid_t)-1;
  if (tr->fd >= 0 && fstat(tr->fd, &st) == 0)
    tr->owner = st.st_uid;
}

static void close_tree(struct tree *tr)
{
  if (tr->fd >= 0)
    close(tr->fd);
  tr->fd = -1;
}

/* A second, independent listing of directory dfd (its own file offset). */
static DIR *listing(int dfd)
{
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

  if (fd >= 0 && !d)
    close(fd);
  return d;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

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

static int lock_fd(int fd, int how)
{
  int rc;

  while ((rc = flock(fd, how)) < 0 && errno == EINTR)
    ;
  return rc;
}

/* A new temp file in dfd, locked: its fd (name in tmp), or -1.  A sweep may
 * delete it between its creation and the lock: then another name is made. */
static int make_temp(int dfd, char *tmp, size_t len)
{
  static u_int32_t seq;
  struct stat st;
  int fd, tries;

  for (tries = 0; tries < 2 * TRIES; tries++) {
    snprintf(tmp, len, TMP_PREFIX "%d.%u", (int)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST)
        continue;               /* a process of the same pid in another namespace */
      return -1;
    }
    if (lock_fd(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink == 0) {
      close(fd);
      continue;
    }
    return fd;
  }
  errno = EEXIST;
  return -1;
}

/* Replaces name in dfd with len bytes of text: a locked temp file, written,
 * renamed over name.  With keep, the new file stays open (and locked) and
 * *keep receives its fd.  0, or -1 with errno set. */
static int replace_file(int dfd, const char *name, const char *text, size_t len, int *keep)
{
  char tmp[NAME_LEN];
  int fd, err;

  if (tree_refused()) {
    errno = EPERM;
    return -1;
  }
  if ((fd = make_temp(dfd, tmp, sizeof(tmp))) < 0)
    return -1;
  if (write_all(fd, text, len) == 0 && renameat(dfd, tmp, dfd, name) == 0) {
    if (keep)
      *keep = fd;
    else
      close(fd);
    return 0;
  }
  err = errno;
  unlinkat(dfd, tmp, 0);
  close(fd);
  errno = err;
  return -1;
}

/* Rewrites fd, a file this process wrote, with len bytes of text, where it
 * is: 0, or -1 when it has no name any more or the write failed.  The
 * refreshes of a file whose name is unchanged: no new inode and no rename,
 * which on ext4 (auto_da_alloc) writes the file out to the disk at every
 * refresh.  A reader that races it can see a mix of the two versions; the
 * readers of changing fields read until two reads agree. */
static int rewrite_in_place(int fd, const char *text, size_t len)
{
  struct stat st;

  if (fd < 0 || tree_refused() || fstat(fd, &st) < 0 || st.st_nlink == 0)
    return -1;
  if (pwrite(fd, text, len, 0) != (ssize_t)len)
    return -1;
  if (st.st_size > (off_t)len && ftruncate(fd, (off_t)len) < 0)
    return -1;
  return 0;
}

enum { FILE_GONE = -1, FILE_DEAD = 0, FILE_LIVE = 1 };

/* Whether the writer of name in dfd is alive.  FILE_LIVE while someone
 * holds its lock (or it cannot be told); FILE_DEAD when the lock was free
 * and the file is still at its name: its writer is gone, and *locked holds
 * it, locked, for the caller to delete and close; FILE_GONE when there is no
 * such file, or it is not a regular file of owner (not one the tree made). */
static int file_state(int dfd, const char *name, uid_t owner, int *locked)
{
  struct stat st, now;
  int fd, tries;

  for (tries = 0; tries < TRIES && !tree_refused(); tries++) {
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != owner)
      return FILE_GONE;
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      return errno == ENOENT ? FILE_GONE : FILE_LIVE;
    if (lock_fd(fd, LOCK_EX | LOCK_NB) < 0) {
      close(fd);
      return FILE_LIVE;
    }
    /* Locked: the file is dead unless its writer replaced it meanwhile
     * (the writer holds the new file's lock before it drops the old). */
    if (fstat(fd, &st) == 0 && fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_ino == now.st_ino && st.st_dev == now.st_dev && S_ISREG(st.st_mode) &&
        st.st_uid == owner) {
      *locked = fd;
      return FILE_DEAD;
    }
    close(fd);
  }
  return FILE_LIVE;
}

/* Deletes name in dfd if it is a regular file of owner. */
static void unlink_owned(int dfd, const char *name, uid_t owner)
{
  struct stat st;

  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
      st.st_uid == owner)
    unlinkat(dfd, name, 0);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */

static int all_digits(const char *s, const char *end)
{
  if (s == end)
    return 0;
  for (; s < end; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

/* "<pid>-<dev>.<ring_id>" exactly: pid without leading zero, a device name
 * without '/', a ring id of digits.  *pid and *ring_id get the numbers. */
static int parse_ring_name(const char *name, long *pid, unsigned long *ring_id)
{
  const char *dash = strchr(name, '-'), *dot = strrchr(name, '.');
  char *end;
  long p;
  unsigned long id;

  if (!dash || !dot || dot <= dash + 1 || name[0] < '1' || name[0] > '9' ||
      dash - name > 10 || !all_digits(name, dash) || !all_digits(dot + 1, name + strlen(name)) ||
      strlen(dot + 1) > 10 || strchr(dash, '/'))
    return 0;
  p = strtol(name, &end, 10);
  id = strtoul(dot + 1, NULL, 10);
  if (p <= 0 || p > 0x3fffffffL || id > 0xffffffffUL)
    return 0;
  if (pid)
    *pid = p;
  if (ring_id)
    *ring_id = id;
  return 1;
}

/* ".tmp.<pid>.<n>" exactly. */
static int is_temp_name(const char *name)
{
  const char *p = name + strlen(TMP_PREFIX), *dot;

  if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 || !(dot = strchr(p, '.')))
    return 0;
  return all_digits(p, dot) && all_digits(dot + 1, dot + 1 + strlen(dot + 1));
}

static void ring_file_name(const pfring *ring, char *out, size_t len)
{
  snprintf(out, len, "%d-%s.%u", (int)getpid(), ring->bound_name, ring->ring_id);
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
  struct tree tr;
  u_int32_t id = 0;
  int fd = -1, err;

  pthread_once(&once, init_once);
  open_tree(&tr, 1);
  err = tr.err;
  if (tr.fd >= 0) {
    fd = pfringint_status_open_shared(tr.fd, ".ring_id", ".ring_id", 1);
    if (fd >= 0 && lock_fd(fd, LOCK_EX) == 0)
      id = bump_counter(fd);
    err = errno;
    if (fd >= 0)
      close(fd);     /* releases the lock */
  }
  close_tree(&tr);
  if (id)
    return id;
  if (!tree_refused() && first_failure())
    pfringint_log(3, "status tree: cannot use %s/.ring_id: %s (ring ids are process-local; "
                  "further failures are not reported)", status_dir(), strerror(err));
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

/* s as one line of a status file: control characters, DEL and '\' escaped
 * (\n \r \t \\ \xNN); other bytes (UTF-8 too) as they are.  out has room
 * for len bytes; an escape is never cut in two. */
static size_t escape(const char *s, char *out, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;

  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char e[4];
    size_t k = 2;

    e[0] = '\\';
    switch (c) {
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    case '\\': e[1] = '\\'; break;
    default:
      if (c < 0x20 || c == 0x7f) {
        e[1] = 'x';
        e[2] = hex[c >> 4];
        e[3] = hex[c & 15];
        k = 4;
      } else {
        e[0] = (char)c;
        k = 1;
      }
    }
    if (n + k >= len)
      break;
    memcpy(out + n, e, k);
    n += k;
  }
  if (len)
    out[n] = '\0';
  return n;
}

static void field(struct text *t, const struct layout *l, const char *label,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void field(struct text *t, const struct layout *l, const char *label,
                  const char *fmt, ...)
{
  int used = (int)strlen(label) + 1;
  char value[TEXT_LEN];
  va_list ap;

  if (l->colon_first)
    put(t, "%s:%*s", label, used < l->width ? l->width - used : 2, "");
  else
    put(t, "%-*s: ", l->width, label);
  va_start(ap, fmt);
  vsnprintf(value, sizeof(value), fmt, ap);
  va_end(ap);
  t->n += escape(value, t->buf + t->n, sizeof(t->buf) - t->n);
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
  u_int64_t seen = 0, lost = 0, inserted, fwd_ok, fwd_err;

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
  pfringint_rules_reflected(ring, &fwd_ok, &fwd_err);
  field(t, l, "Reflect: Fwd Ok", "%llu", (unsigned long long)fwd_ok);
  field(t, l, "Reflect: Fwd Errors", "%llu", (unsigned long long)fwd_err);
}

/* PF_RING's "Tot Memory": the bytes of the ring's kernel memory (the
 * AF_PACKET ring, or a zc: ring's UMEM). */
static void render_memory(pfring *ring, struct text *t)
{
  u_int64_t bytes = ring->ops.memory ? ring->ops.memory(ring) : 0;

  field(t, &ring_layout, "Tot Memory", "%llu", (unsigned long long)bytes);
}

static void render_ring(pfring *ring, struct text *t)
{
  const struct pfringint_params *pp = pfringint_params();
  const struct layout *l = &ring_layout;
  char devs[MAX_NUM_DEVICES * (IFNAMSIZ + 1)];
  u_int32_t wc_rules, hash_rules;

  bound_devices(ring, devs, sizeof(devs));
  field(t, l, "Bound Device(s)", "%s", devs);
  field(t, l, "Active", "%d", ring->enabled ? 1 : 0);
  field(t, l, "Breed", "%s", ring->breed ? ring->breed : "Standard");
  if (ring->zc_mode[0])
    field(t, l, "ZC Mode", "%s", ring->zc_mode);
  field(t, l, "Appl. Name", "%s", ring->appname[0] ? ring->appname : "<unknown>");
  field(t, l, "Socket Mode", "%s", mode_name(ring->mode));
  if (ring->mode != send_only_mode)
    field(t, l, "Capture Direction", "%s", direction_name(ring->filter.direction));
  field(t, l, "Sampling Rate", "%u", ring->sampling_rate);
  field(t, l, "Filtering Sampling Rate", "1");
  field(t, l, "IP Defragment", "%s", pp->enable_ip_defrag ? "Yes" : "No");
  field(t, l, "BPF Filtering", "%s", ring->filter.bpf_where != PFRINGINT_BPF_NONE ? "Enabled" : "Disabled");
  pfringint_rules_counts(ring, &wc_rules, &hash_rules);
  field(t, l, "Sw Filt Hash Rules", "%u", hash_rules);
  field(t, l, "Sw Filt WC Rules", "%u", wc_rules);
  field(t, l, "Sw Filt Hash Match", "0");
  field(t, l, "Sw Filt Hash Miss", "0");
  field(t, l, "Sw Filt Hash Filtered", "0");
  field(t, l, "Hw Filt Rules", "%u", pfringint_hw_rules_count(ring));
  field(t, l, "Poll Pkt Watermark", "%u", ring->poll_watermark);
  field(t, l, "Num Poll Calls", "0");
  field(t, l, "Poll Watermark Timeout", "0");
  field(t, l, "Channel Id Mask", "0x%016llX", (unsigned long long)ring->filter.channel_mask);
  field(t, l, "VLAN Id", "%u", ring->filter.vlan_id);
  if (ring->cluster_id)
    field(t, l, "Cluster Id", "%u", ring->cluster_id);
  field(t, l, "Slot Version", "21 [%s]", RING_VERSION);
  field(t, l, "Min Num Slots", "%ld", pp->min_num_slots);
  field(t, l, "Bucket Len", "%u", ring->caplen);
  render_memory(ring, t);
  render_counters(ring, t);
  if (ring->status_extra)
    ring->status_extra(ring->status_extra_arg, t);
}

void pfringint_status_field(void *text, const char *label, const char *fmt, ...)
{
  char value[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(value, sizeof(value), fmt, ap);
  va_end(ap);
  field((struct text *)text, &ring_layout, label, "%s", value);
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
/* Liveness and the sweep of dead processes' entries                         */

int pfringint_status_ring_alive(int tree, long pid, unsigned long ring_id)
{
  struct stat st;
  struct dirent *de;
  unsigned long id;
  long p;
  int alive = 0, fd;
  DIR *d;

  if (fstat(tree, &st) < 0 || !(d = listing(tree)))
    return 1;                   /* cannot tell */
  while (!alive && (de = readdir(d)))
    if (parse_ring_name(de->d_name, &p, &id) && p == pid && id == ring_id) {
      switch (file_state(tree, de->d_name, st.st_uid, &fd)) {
      case FILE_LIVE: alive = 1; break;
      case FILE_DEAD: close(fd); break;
      }
    }
  closedir(d);
  return alive;
}

/* Deletes the temp files of dead writers in dfd. */
static void sweep_temps(int dfd, uid_t owner)
{
  DIR *d = listing(dfd);
  struct dirent *de;
  int fd;

  if (!d)
    return;
  while ((de = readdir(d)))
    if (is_temp_name(de->d_name) && file_state(dfd, de->d_name, owner, &fd) == FILE_DEAD) {
      unlinkat(dfd, de->d_name, 0);
      close(fd);
    }
  closedir(d);
}

/* Deletes the ring and temp files of dead processes at the top of the
 * tree; returns the number of live ring files, or -1. */
static int sweep_rings(const struct tree *tr)
{
  DIR *d = listing(tr->fd);
  struct dirent *de;
  int live = 0, is_ring, fd;

  if (!d)
    return -1;
  while ((de = readdir(d))) {
    is_ring = parse_ring_name(de->d_name, NULL, NULL);
    if (!is_ring && !is_temp_name(de->d_name))
      continue;
    switch (file_state(tr->fd, de->d_name, tr->owner, &fd)) {
    case FILE_LIVE:
      live += is_ring;
      break;
    case FILE_DEAD:
      unlinkat(tr->fd, de->d_name, 0);
      close(fd);
      break;
    }
  }
  closedir(d);
  return live;
}

/* Deletes the stats files whose ring has no live file, and dead temps. */
static void sweep_stats(const struct tree *tr)
{
  int dfd = open_dir_at(tr->fd, "stats", "stats", 0, 1), fd;
  struct dirent *de;
  DIR *d;

  if (dfd < 0)
    return;
  if ((d = listing(dfd))) {
    while ((de = readdir(d))) {
      if (!parse_ring_name(de->d_name, NULL, NULL))
        continue;
      switch (file_state(tr->fd, de->d_name, tr->owner, &fd)) {
      case FILE_LIVE:
        continue;
      case FILE_DEAD:
        unlinkat(tr->fd, de->d_name, 0);
        close(fd);
        break;
      }
      unlink_owned(dfd, de->d_name, tr->owner);
    }
    closedir(d);
  }
  sweep_temps(dfd, tr->owner);
  close(dfd);
}

/* Sweeps ring, stats and cluster files; the live ring count or -1. */
static int sweep_locked(const struct tree *tr)
{
  int live, dfd;

  if (tr->fd < 0)
    return -1;
  live = sweep_rings(tr);
  sweep_stats(tr);
  if ((dfd = open_dir_at(tr->fd, "clusters", "clusters", 0, 1)) >= 0) {
    pfringint_cluster_sweep(tr->fd, dfd);
    close(dfd);
  }
  return tree_refused() ? -1 : live;
}

/* ------------------------------------------------------------------------ */
/* info and dev/                                                             */

static void write_text(int dfd, const char *name, const char *rel, const struct text *t)
{
  if (dfd < 0 || replace_file(dfd, name, t->buf, t->n, NULL) < 0)
    note_failure(rel, dfd < 0 ? EBADF : errno);
}

static void write_info_locked(const struct tree *tr, int total)
{
  struct text t = { .n = 0 };

  if (tree_refused())
    return;
  render_info(total < 0 ? 0 : total, &t);
  if (tr->fd < 0)
    note_failure("info", tr->err);
  else
    write_text(tr->fd, "info", "info", &t);
}

static int is_interface(const struct if_nameindex *ifs, const char *name)
{
  for (; ifs->if_index; ifs++)
    if (strcmp(ifs->if_name, name) == 0)
      return 1;
  return 0;
}

/* Removes dev/<name>/ of interfaces the namespace does not have (any more). */
static void drop_stale_devices(int devs, const struct if_nameindex *ifs, uid_t owner)
{
  DIR *d = listing(devs);
  struct dirent *de;
  int fd;

  if (!d)
    return;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || is_interface(ifs, de->d_name))
      continue;
    fd = open_dir_at(devs, de->d_name, NULL, 0, 0);
    if (fd < 0)
      continue;                 /* not one of ours: left alone */
    sweep_temps(fd, owner);
    unlink_owned(fd, "info", owner);
    close(fd);
    unlinkat(devs, de->d_name, AT_REMOVEDIR);
  }
  closedir(d);
}

/* Appends ",<Bound Device(s) value>" of ring file name to *list. */
static void append_bound(int tree, const char *name, char **list, size_t *len)
{
  static const char label[] = "Bound Device(s)";
  char buf[MAX_NUM_DEVICES * (IFNAMSIZ + 1) * 4 + 64], *value, *end, *grown;
  int fd = openat(tree, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  ssize_t n = -1;

  if (fd < 0)
    return;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
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
static char *bound_devices_of_tree(int tree)
{
  DIR *d = listing(tree);
  struct dirent *de;
  char *list = NULL;
  size_t len = 0;

  if (!d)
    return NULL;
  while ((de = readdir(d)))
    if (parse_ring_name(de->d_name, NULL, NULL))
      append_bound(tree, de->d_name, &list, &len);
  closedir(d);
  if (list)
    strcpy(list + len, ",");
  return list;
}

/* Ring files of the tree bound to ifname: the rings of every process and
 * every namespace, matched by name (PF_RING's tree is per namespace). */
static int count_bound(const char *list, const char *ifname)
{
  char pattern[IFNAMSIZ * 4 + 3];
  const char *p = list;
  int n = 0;

  pattern[0] = ',';
  escape(ifname, pattern + 1, sizeof(pattern) - 2);
  strcat(pattern, ",");
  while (p && (p = strstr(p, pattern))) {
    n++;
    p += strlen(pattern) - 1;
  }
  return n;
}

static void write_devices_locked(const struct tree *tr)
{
  struct if_nameindex *ifs, *i;
  char rel[IFNAMSIZ + 16], *bound;
  int devs, fd;

  if (tr->fd < 0)
    return;
  if ((devs = open_dir_at(tr->fd, "dev", "dev", 1, 1)) < 0) {
    note_failure("dev", errno);
    return;
  }
  if (!(ifs = if_nameindex())) {
    close(devs);
    return;
  }
  bound = bound_devices_of_tree(tr->fd);
  for (i = ifs; i->if_index && !tree_refused(); i++) {
    struct text t = { .n = 0 };
    snprintf(rel, sizeof(rel), "dev/%s", i->if_name);
    if ((fd = open_dir_at(devs, i->if_name, rel, 1, 1)) < 0) {
      note_failure(rel, errno);
      continue;
    }
    sweep_temps(fd, tr->owner);
    render_dev(i, count_bound(bound, i->if_name), &t);
    snprintf(rel, sizeof(rel), "dev/%s/info", i->if_name);
    write_text(fd, "info", rel, &t);
    close(fd);
  }
  if (!tree_refused())
    drop_stale_devices(devs, ifs, tr->owner);
  close(devs);
  if_freenameindex(ifs);
  free(bound);
}

/* ------------------------------------------------------------------------ */
/* This process's ring files                                                 */

static void write_stats_locked(pfring *ring, const struct tree *tr, int *keep)
{
  char name[NAME_LEN], rel[NAME_LEN + 8], *buf;
  size_t len;
  int dfd, fd = -1;

  if (!ring->appl_stats || tree_refused())
    return;
  ring_file_name(ring, name, sizeof(name));
  snprintf(rel, sizeof(rel), "stats/%s", name);
  if (tr->fd < 0 || (dfd = open_dir_at(tr->fd, "stats", "stats", 1, 1)) < 0) {
    note_failure(rel, tr->fd < 0 ? tr->err : errno);
    return;
  }
  len = strlen(ring->appl_stats);
  if ((buf = malloc(len + 1))) {
    memcpy(buf, ring->appl_stats, len);
    buf[len] = '\n';
    if (replace_file(dfd, name, buf, len + 1, keep ? &fd : NULL) < 0)
      note_failure(rel, errno);
    else if (keep) {
      if (*keep >= 0)
        close(*keep);
      *keep = fd;
    }
    free(buf);
  }
  close(dfd);
}

/* Deletes this process's ring file name and its stats file. */
static void remove_names(const struct tree *tr, const char *name)
{
  int dfd;

  if (tr->fd < 0 || !name[0] || tree_refused())
    return;
  unlinkat(tr->fd, name, 0);
  if ((dfd = open_dir_at(tr->fd, "stats", "stats", 0, 1)) >= 0) {
    unlinkat(dfd, name, 0);
    close(dfd);
  }
}

/* The entry's ring file rewritten where it is, if this process wrote it
 * and its name is unchanged (also in a process that dropped its privileges,
 * tcpdump -Z, and can no longer make files in the tree): 1 if done. */
static int refresh_in_place_locked(struct entry *e)
{
  struct text t = { .n = 0 };
  char name[NAME_LEN];

  if (e->pid != getpid() || e->fd < 0)
    return 0;
  ring_file_name(e->ring, name, sizeof(name));
  if (strcmp(e->name, name) != 0)
    return 0;
  render_ring(e->ring, &t);
  return rewrite_in_place(e->fd, t.buf, t.n) == 0;
}

/* Writes the entry's ring file.  A new name (a fork, a new bound name) is
 * written before the old one goes, so the ring always has a locked file; a
 * parent's files stay its own. */
static void write_ring_locked(struct entry *e, const struct tree *tr)
{
  struct text t = { .n = 0 };
  char name[NAME_LEN];
  int moved, fd = -1, err;

  if (tree_refused() || refresh_in_place_locked(e))
    return;
  ring_file_name(e->ring, name, sizeof(name));
  moved = e->pid != getpid() || strcmp(e->name, name) != 0;
  render_ring(e->ring, &t);
  if (strchr(e->ring->bound_name, '/')) {
    note_failure(name, EINVAL);   /* not a file name */
    return;
  }
  if (tr->fd >= 0 && replace_file(tr->fd, name, t.buf, t.n, &fd) == 0) {
    if (moved) {
      if (e->pid == getpid())
        remove_names(tr, e->name);
      write_stats_locked(e->ring, tr, &e->stats_fd);
    }
    if (e->fd >= 0)
      close(e->fd);           /* its name points elsewhere now */
    e->fd = fd;
    e->pid = getpid();
    snprintf(e->name, sizeof(e->name), "%s", name);
    return;
  }
  err = tr->fd < 0 ? tr->err : errno;
  note_failure(name, err);
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

/* Every second: this process's ring entries, rewritten in place (the tree
 * is opened only for those that cannot be).  Every SWEEP_TICKS seconds: the
 * sweep of dead processes' entries and the info file (a directory scan and
 * a lock attempt per entry, which pfring-info and every open do anyway). */
#define SWEEP_TICKS 5

static void tick_locked(void)
{
  static unsigned ticks;
  struct entry *e;
  struct tree tr = { .fd = -1 };
  int opened = 0, sweep = ++ticks % SWEEP_TICKS == 0;

  if (tree_refused())
    return;
  for (e = entries; e; e = e->next) {
    if (e->pid != getpid() || refresh_in_place_locked(e))
      continue;
    if (!opened++)
      open_tree(&tr, 0);
    write_ring_locked(e, &tr);
  }
  if (sweep) {
    if (!opened++)
      open_tree(&tr, 0);
    if (tr.fd >= 0)
      write_info_locked(&tr, sweep_locked(&tr));
  }
  close_tree(&tr);
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
    lock_registry();
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

  if (__atomic_load_n(&inline_mode, __ATOMIC_RELAXED) || worker || tree_refused() ||
      !owns_rings_locked() || !(w = calloc(1, sizeof(*w))))
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
 * parent's thread (its worker struct is simply forgotten) and without the
 * parent's ring files: their locks are the parent's and must die with it. */
static void before_fork(void)
{
  pthread_mutex_lock(&lock);
  pthread_mutex_lock(&refusal_lock);
}

static void after_fork_parent(void)
{
  pthread_mutex_unlock(&refusal_lock);
  pthread_mutex_unlock(&lock);
}

static void after_fork_child(void)
{
  struct entry *e;

  for (e = entries; e; e = e->next) {
    if (e->fd >= 0) {
      close(e->fd);             /* no LOCK_UN: the parent still holds it */
      e->fd = -1;
    }
    if (e->stats_fd >= 0) {
      close(e->stats_fd);       /* the parent's file */
      e->stats_fd = -1;
    }
  }
  worker = NULL;
  pending_log[0] = '\0';
  holding = 0;
  pthread_mutex_init(&refusal_lock, NULL);
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
  lock_registry();
  tick_locked();
  unlock();
}

/* ------------------------------------------------------------------------ */
/* The hooks (pfring_int.h)                                                  */

void pfringint_status_register(pfring *ring)
{
  struct entry *e = calloc(1, sizeof(*e));
  struct tree tr;

  if (!e)
    return;
  e->fd = -1;
  e->stats_fd = -1;
  pthread_once(&once, init_once);
  e->ring = ring;
  e->pid = getpid();
  lock_registry();
  e->next = entries;
  entries = e;
  ring->status_registered = 1;
  if (!tree_refused()) {
    open_tree(&tr, 1);
    write_ring_locked(e, &tr);
    write_info_locked(&tr, sweep_locked(&tr));
    close_tree(&tr);
  }
  start_worker_locked();
  unlock();
}

void pfringint_status_update(pfring *ring)
{
  struct entry *e;
  struct tree tr;

  if (!ring->status_registered)
    return;
  lock_registry();
  if ((e = find_locked(ring)) && !tree_refused()) {
    open_tree(&tr, 0);
    write_ring_locked(e, &tr);    /* adopts an entry inherited through fork */
    close_tree(&tr);
    start_worker_locked();
  }
  unlock();
}

void pfringint_status_set_extra(pfring *ring, void (*fn)(void *arg, void *text), void *arg)
{
  lock_registry();
  ring->status_extra = fn;
  ring->status_extra_arg = arg;
  unlock();
  pfringint_status_update(ring);
}

void pfringint_status_unregister(pfring *ring)
{
  struct worker *w = NULL;
  struct entry *e;
  struct tree tr;

  if (!ring->status_registered)
    return;
  lock_registry();
  e = remove_locked(ring);
  ring->status_registered = 0;
  if (!owns_rings_locked())
    w = detach_worker_locked();
  if (!tree_refused()) {
    open_tree(&tr, 0);
    if (e && e->pid == getpid())
      remove_names(&tr, e->name);
    if (tr.fd >= 0)
      write_info_locked(&tr, sweep_locked(&tr));
    close_tree(&tr);
  }
  unlock();
  join_worker(w);
  if (e && e->stats_fd >= 0)
    close(e->stats_fd);
  if (e && e->fd >= 0)
    close(e->fd);             /* the lock goes after the names */
  free(e);
}

/* The entry's stats file rewritten where it is, as its ring file is
 * (refresh_in_place_locked): 1 if done. */
static int stats_in_place_locked(struct entry *e)
{
  char name[NAME_LEN], buf[PF_RING_APPL_STATS_LEN + 2];
  size_t len = strlen(e->ring->appl_stats);

  if (e->pid != getpid() || e->stats_fd < 0 || len > PF_RING_APPL_STATS_LEN)
    return 0;
  ring_file_name(e->ring, name, sizeof(name));
  if (strcmp(e->name, name) != 0)
    return 0;
  memcpy(buf, e->ring->appl_stats, len);
  buf[len] = '\n';
  return rewrite_in_place(e->stats_fd, buf, len + 1) == 0;
}

int pfringint_status_write_appl_stats(pfring *ring, const char *text)
{
  size_t len = strlen(text);
  struct entry *e;
  struct tree tr;
  char *copy;

  if (len > PF_RING_APPL_STATS_LEN)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "application stats are %zu bytes long (max %d)", len,
                            PF_RING_APPL_STATS_LEN);
  if (!(copy = strdup(text)))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  lock_registry();
  free(ring->appl_stats);
  ring->appl_stats = copy;
  e = ring->status_registered ? find_locked(ring) : NULL;
  if (!tree_refused() && !(e && stats_in_place_locked(e))) {
    open_tree(&tr, 0);
    if (e && e->pid != getpid())
      write_ring_locked(e, &tr);  /* adopting it writes the stats file too */
    else
      write_stats_locked(ring, &tr, e ? &e->stats_fd : NULL);
    close_tree(&tr);
  }
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
 * Returns the number of live ring files, or -1 if the tree cannot be read
 * (or is refused). */
PFRING_API int pfring_status_refresh(void)
{
  struct tree tr;
  int live = -1;

  lock_registry();
  if (!tree_refused()) {
    open_tree(&tr, 1);
    live = sweep_locked(&tr);
    if (live >= 0) {
      write_info_locked(&tr, live);
      write_devices_locked(&tr);
    }
    close_tree(&tr);
  }
  unlock();
  return tree_refused() ? -1 : live;
}
