/*
 * bpf.c - tcpdump expressions compiled by the system libpcap.
 *
 * libpcap is never linked: the libpcap drop-in of this project has
 * libpcap's soname and loads libpfring, so a link-time dependency would
 * resolve to the drop-in itself.  The first compile asks the one loader
 * (syspcap.c) for the system library; a failed load is retried on the next
 * call.
 *
 * Expressions are compiled for the ring's link type (DLT_EN10MB, or DLT_RAW
 * on devices without a link-layer header) with pcap_open_dead(),
 * optimised, with an unknown netmask.  Such a handle has no live socket, so
 * libpcap tests VLAN tags in the frame data (`vlan 100` looks at offset 12),
 * not in the skb metadata where the kernel puts a received frame's tag.
 *
 * pcap_compile() is not thread safe in every libpcap version: one mutex
 * serialises the load and every compile.  bpf_filter() (for programs run in
 * user space) is a pure function and needs no lock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>       /* types only: every call goes through lib below */

#include "pfring_int.h"

#define MAX_SNAPLEN 262144   /* libpcap's MAXIMUM_SNAPLEN */

_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter) &&
               offsetof(struct bpf_insn, jt) == offsetof(struct sock_filter, jt) &&
               offsetof(struct bpf_insn, jf) == offsetof(struct sock_filter, jf) &&
               offsetof(struct bpf_insn, k) == offsetof(struct sock_filter, k),
               "struct bpf_insn and struct sock_filter differ");

static struct {
  void *handle;
  pcap_t *(*open_dead)(int linktype, int snaplen);
  int (*compile)(pcap_t *p, struct bpf_program *fp, const char *expr, int optimize,
                 bpf_u_int32 netmask);
  char *(*geterr)(pcap_t *p);
  void (*freecode)(struct bpf_program *fp);
  void (*close)(pcap_t *p);
  u_int (*filter)(const struct bpf_insn *insns, const u_char *pkt, u_int len, u_int caplen);
  int (*validate)(const struct bpf_insn *insns, int len);
} lib;
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

#define RESOLVE(field, name)                               \
  do {                                                     \
    lib.field = (typeof(lib.field))dlsym(lib.handle, name); \
    if (!lib.field && !missing)                            \
      missing = name;                                      \
  } while (0)

/* Called with lib_lock held. */
static int load_libpcap(char *errbuf, size_t errlen)
{
  const char *missing = NULL;

  if (lib.handle)
    return 0;
  lib.handle = pfring_open_system_libpcap(errbuf, errlen);
  if (!lib.handle)
    return PF_RING_ERROR_NOT_SUPPORTED;
  RESOLVE(open_dead, "pcap_open_dead");
  RESOLVE(compile, "pcap_compile");
  RESOLVE(geterr, "pcap_geterr");
  RESOLVE(freecode, "pcap_freecode");
  RESOLVE(close, "pcap_close");
  RESOLVE(filter, "bpf_filter");
  RESOLVE(validate, "bpf_validate");
  if (missing) {
    snprintf(errbuf, errlen, "the system libpcap '%s' has no %s", pfring_system_libpcap(),
             missing);
    memset(&lib, 0, sizeof(lib));
    return PF_RING_ERROR_NOT_SUPPORTED;
  }
  return 0;
}

/* Copies libpcap's program into a malloc'ed kernel program. */
static int copy_program(const char *expr, const struct bpf_program *prog,
                        struct sock_fprog *out, char *errbuf, size_t errlen)
{
  if (prog->bf_len > BPF_MAXINSNS) {
    snprintf(errbuf, errlen, "bad BPF filter '%s': %u instructions, the kernel takes at most %d",
             expr, prog->bf_len, BPF_MAXINSNS);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  out->filter = malloc((prog->bf_len ? prog->bf_len : 1) * sizeof(*out->filter));
  if (!out->filter) {
    snprintf(errbuf, errlen, "out of memory for a BPF program of %u instructions",
             prog->bf_len);
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(out->filter, prog->bf_insns, prog->bf_len * sizeof(*out->filter));
  out->len = (unsigned short)prog->bf_len;
  return 0;
}

/* Called with lib_lock held and libpcap loaded. */
static int compile(const char *expr, int dlt, u_int32_t snaplen, struct sock_fprog *out,
                   char *errbuf, size_t errlen)
{
  struct bpf_program prog;
  pcap_t *p;
  int rc;

  if (snaplen == 0 || snaplen > MAX_SNAPLEN)
    snaplen = MAX_SNAPLEN;
  p = lib.open_dead(dlt, (int)snaplen);
  if (!p) {
    snprintf(errbuf, errlen, "pcap_open_dead failed");
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  if (lib.compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
    snprintf(errbuf, errlen, "bad BPF filter '%s': %s", expr, lib.geterr(p));
    rc = PF_RING_ERROR_INVALID_ARGUMENT;
  } else {
    rc = copy_program(expr, &prog, out, errbuf, errlen);
    lib.freecode(&prog);
  }
  lib.close(p);
  return rc;
}

int pfringint_compile_bpf(const char *expr, int dlt, u_int32_t snaplen, struct sock_fprog *out,
                          char *errbuf, size_t errlen)
{
  int rc;

  if (!expr)
    expr = "";
  pthread_mutex_lock(&lib_lock);
  rc = load_libpcap(errbuf, errlen);
  if (rc == 0)
    rc = compile(expr, dlt, snaplen, out, errbuf, errlen);
  pthread_mutex_unlock(&lib_lock);
  return rc;
}

/* A program for the interpreter below: libpcap's bpf_validate refuses jumps
 * out of the program, bad opcodes and scratch words, and a program that does
 * not end in a return, which the interpreter does not check per packet. */
int pfringint_bpf_userspace_ready(const struct sock_fprog *prog, char *errbuf, size_t errlen)
{
  int rc;

  pthread_mutex_lock(&lib_lock);
  rc = load_libpcap(errbuf, errlen);
  pthread_mutex_unlock(&lib_lock);
  if (rc < 0)
    return rc;
  if (!lib.validate((const struct bpf_insn *)prog->filter, prog->len)) {
    snprintf(errbuf, errlen, "bad BPF program of %u instructions: the user-space "
             "interpreter refuses it (bpf_validate)", prog->len);
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  return 0;
}

/* Programs that run in user space: the system libpcap's interpreter, on the
 * frame as the application gets it (VLAN tag back in place).  The library
 * was loaded by pfringint_bpf_userspace_ready for the program. */
u_int pfringint_bpf_match(const struct sock_fprog *prog, const u_char *pkt, u_int len,
                          u_int caplen)
{
  return lib.filter((const struct bpf_insn *)prog->filter, pkt, len, caplen);
}
