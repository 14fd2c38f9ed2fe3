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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xdp/libxdp.h>

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

int main(int argc, char **argv)
{
  char buf[64];
  unsigned long ifindex, id;
  struct xdp_program *prog;
  int rc;

  if (argc != 4) {
    fprintf(stderr, "usage: pfring-xdp-reaper IFINDEX PROG_ID OWNER_PID\n");
    return 2;
  }
  ifindex = strtoul(argv[1], NULL, 10);
  id = strtoul(argv[2], NULL, 10);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  /* Nothing else of the ring's process stays open here. */
  close_range(3, ~0u, 0);
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR))
      break;
  }
  libxdp_set_print(quiet);
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
