/*
 * common.h - helpers shared by the libFuzzer harnesses of fuzz/.
 *
 *   struct input   the fuzzer's bytes, taken from the front as numbers; an
 *                  exhausted input reads as zeros, so every harness accepts
 *                  every input
 *   fuzz_quiet()   installs a print callback that checks each message (a
 *                  NUL-terminated, non-empty line) and prints nothing
 *   FUZZ_CHECK     aborts with a message: a failed check is a finding
 *   kernel_*       the kernel's own checks of a classic BPF program: one
 *                  AF_PACKET socket per process, in a network namespace of
 *                  its own (no traffic reaches it), member of a
 *                  PACKET_FANOUT_CBPF group, for PACKET_FANOUT_DATA (how a
 *                  cluster's hash program is loaded), and a UDP socket for
 *                  SO_ATTACH_FILTER (how a ring's socket filter is attached,
 *                  drivers/af_packet.c; the checks are the same on any
 *                  socket).
 *                  Needs root (CAP_SYS_ADMIN for the namespace, CAP_NET_RAW
 *                  for the socket); without it the harness stops at once.
 *
 * Header only: each harness is one translation unit, which includes this
 * header first (it asks for the GNU extensions).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "pfring.h"

#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz check failed at %s:%d: %s\n  ", __FILE__,          \
              __LINE__, #cond);                                                \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Input                                                                     */

struct input {
  const uint8_t *p;
  size_t left;
};

static inline uint8_t take8(struct input *in)
{
  if (!in->left)
    return 0;
  in->left--;
  return *in->p++;
}

static inline uint16_t take16(struct input *in)
{
  uint16_t v = take8(in);
  return (uint16_t)(v << 8 | take8(in));
}

static inline uint32_t take32(struct input *in)
{
  uint32_t v = take16(in);
  return v << 16 | take16(in);
}

static inline uint64_t take64(struct input *in)
{
  uint64_t v = take32(in);
  return v << 32 | take32(in);
}

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                               */

static unsigned long fuzz_messages;

static void fuzz_print(int level, const char *msg, void *user)
{
  size_t n;

  (void)user;
  FUZZ_CHECK(level >= 0 && level <= 3, "level %d", level);
  FUZZ_CHECK(msg != NULL, "NULL message");
  n = strlen(msg);                  /* ASan: terminated, inside its buffer */
  FUZZ_CHECK(n > 0, "empty message at level %d", level);
  FUZZ_CHECK(memchr(msg, '\n', n) == NULL, "a message of more than one line: %s", msg);
  fuzz_messages++;
}

static inline void fuzz_quiet(void)
{
  pfring_set_print(fuzz_print, NULL, 3);
}

/* ------------------------------------------------------------------------ */
/* The kernel's checks                                                       */

static int kernel_fd = -1;

static int kernel_socket(void)
{
  struct fanout_args fa;

  if (kernel_fd >= 0)
    return kernel_fd;
  if (unshare(CLONE_NEWNET) < 0) {
    fprintf(stderr, "fuzz: cannot make a network namespace (%s): this harness needs root\n",
            strerror(errno));
    exit(1);
  }
  kernel_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (kernel_fd < 0) {
    fprintf(stderr, "fuzz: cannot open an AF_PACKET socket (%s): this harness needs root\n",
            strerror(errno));
    exit(1);
  }
  memset(&fa, 0, sizeof(fa));
  fa.id = (uint16_t)getpid();
  fa.type_flags = PACKET_FANOUT_CBPF;
  fa.max_num_members = 1;
  if (setsockopt(kernel_fd, SOL_PACKET, PACKET_FANOUT, &fa, sizeof(fa)) < 0) {
    fprintf(stderr, "fuzz: cannot join a PACKET_FANOUT_CBPF group: %s\n", strerror(errno));
    exit(1);
  }
  return kernel_fd;
}

/* 0 if the kernel loads prog as a socket filter, else errno.  The checks
 * of SO_ATTACH_FILTER are the same for every kind of socket; a UDP socket
 * is used since closing one is cheap (an AF_PACKET socket waits for an RCU
 * grace period).  A socket's option memory (net.core.optmem_max) keeps
 * counting a large program after it is replaced, so on ENOMEM the check is
 * repeated once on a new socket; ENOMEM again means the program's
 * translation is over optmem_max, a limit of the machine rather than of the
 * program (drivers/af_packet.c names the sysctl in its message). */
static int filter_fd = -1;

static inline int kernel_socket_filter(const struct sock_fprog *prog)
{
  int tries;

  kernel_socket();              /* the namespace */
  for (tries = 0; tries < 2; tries++) {
    if (filter_fd < 0 && (filter_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
      fprintf(stderr, "fuzz: cannot open a UDP socket: %s\n", strerror(errno));
      exit(1);
    }
    if (setsockopt(filter_fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) == 0)
      return 0;
    if (errno != ENOMEM)
      return errno;
    close(filter_fd);
    filter_fd = -1;
  }
  return ENOMEM;
}

/* 0 if the kernel loads prog as the fanout group's program, else errno. */
static inline int kernel_fanout_program(const struct sock_fprog *prog)
{
  int fd = kernel_socket();

  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, prog, sizeof(*prog)) < 0)
    return errno;
  return 0;
}

#endif /* FUZZ_COMMON_H */
