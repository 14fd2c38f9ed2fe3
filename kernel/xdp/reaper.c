/*
 * reaper.c - pfring-xdp-reaper IFINDEX PROG_ID OWNER_PID: removes a zc:
 * ring's XDP program when the ring's process is gone.
 *
 * drivers/af_xdp.c starts it, in a session of its own and in the ring's
 * network and mount namespaces, with the read end of a pipe as stdin and
 * keeps the write end.  read() returns end of file when the ring closes the
 * pipe or its process dies (SIGKILL included); then the program PROG_ID is
 * detached from IFINDEX through libxdp if it is still attached there, by its
 * id only, and the reaper exits.  A closing ring has detached the program
 * already, so normally there is nothing to do.  Signals that a terminal or
 * a process group gets (SIGINT, SIGHUP, SIGTERM, SIGQUIT) are ignored: the
 * reaper must outlive the ring's process.  Prints nothing unless removing
 * fails.
 *
 * pfring-xdp-reaper IFINDEX PROG_ID OWNER_PID cluster XSK_FD: the reaper of a
 * zc: cluster member (pfring_xdp_cluster.h), started with the member's
 * socket as fd 3, the cluster's memfd as fd 4, and the program's xsks and
 * config maps as fds 5 and 6.  At end of file, if the member (OWNER_PID,
 * socket XSK_FD there) is still a holder of the cluster, it died: the
 * reaper does its leaving (its slot, its frames back to the fill ring, the
 * holder out) and detaches the program only if no holder is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xdp/libxdp.h>

#include "pfring_xdp_cluster.h"

static int quiet(enum libxdp_print_level level, const char *fmt, va_list ap)
{
  (void)level; (void)fmt; (void)ap;
  return 0;
}

static int attached(int ifindex, __u32 id)
{
  struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
  struct xdp_program *p;
  int found = 0;

  if (libxdp_get_error(mp) || !mp)
    return 0;
  if (xdp_multiprog__is_legacy(mp)) {
    p = xdp_multiprog__main_prog(mp);
    found = p && xdp_program__id(p) == id;
  } else {
    for (p = xdp_multiprog__next_prog(NULL, mp); p && !found;
         p = xdp_multiprog__next_prog(p, mp))
      found = xdp_program__id(p) == id;
  }
  xdp_multiprog__close(mp);
  return found;
}

/* A dead member's leaving; 1 if holders are left (the program stays). */
static int member_gone(int pid, int xsk_fd)
{
  struct pfxc *c = mmap(NULL, PFXC_HDR, PROT_READ | PROT_WRITE, MAP_SHARED, 4, 0);
  int i, held = 0, left;
  long back;

  if (c == MAP_FAILED || c->version != PFXC_VERSION)
    return 0;
  pfxc_lock(c);
  for (i = 0; i < PFXC_MAX; i++)
    held |= c->holder[i].pid == pid && c->holder[i].xsk_fd == xsk_fd;
  if (!held) {                  /* it closed: its close did all this */
    for (i = 0, left = 0; i < PFXC_MAX; i++)
      left += c->holder[i].pid != 0;
    pfxc_unlock(c);
    return left > 0;
  }
  pfxc_leave(c, 5, 6, pid, xsk_fd);
  /* Packets redirected before the slot changed may still be on their way
   * into the dead ring: a moment for them, then its frames back. */
  pfxc_unlock(c);
  usleep(20 * 1000);
  pfxc_lock(c);
  back = pfxc_return_rx(c, 3, pid, xsk_fd);
  if (back > 0)
    c->returned += (uint64_t)back;
  left = pfxc_hold(c, 6, pid, xsk_fd, -1, 0);
  pfxc_unlock(c);
  return left > 0;
}

int main(int argc, char **argv)
{
  char buf[64];
  unsigned long ifindex, id;
  struct xdp_program *prog;
  int rc, cluster = argc == 6 && strcmp(argv[4], "cluster") == 0;

  if (argc != 4 && !cluster) {
    fprintf(stderr, "usage: pfring-xdp-reaper IFINDEX PROG_ID OWNER_PID [cluster XSK_FD]\n");
    return 2;
  }
  ifindex = strtoul(argv[1], NULL, 10);
  id = strtoul(argv[2], NULL, 10);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  /* Nothing else of the ring's process stays open here. */
  close_range(cluster ? 7 : 3, ~0u, 0);
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR))
      break;
  }
  libxdp_set_print(quiet);
  if (cluster && member_gone(atoi(argv[3]), atoi(argv[5])))
    return 0;
  if (!attached((int)ifindex, (__u32)id))
    return 0;
  prog = xdp_program__from_id((__u32)id);
  if (libxdp_get_error(prog)) {
    fprintf(stderr, "pfring-xdp-reaper: XDP program %lu: %s\n", id, strerror(errno));
    return 1;
  }
  rc = xdp_program__detach(prog, (int)ifindex, XDP_MODE_UNSPEC, 0);
  xdp_program__close(prog);
  if (rc < 0 && rc != -ENOENT) {
    fprintf(stderr, "pfring-xdp-reaper: cannot detach XDP program %lu from ifindex %lu "
            "(owner %s): %s\n", id, ifindex, argv[3], strerror(-rc));
    return 1;
  }
  return 0;
}
