/*
 * bpf.c - BPF expressions compiled by the system libpcap.
 *
 * libpcap is loaded at run time, privately (RTLD_LOCAL | RTLD_DEEPBIND), by
 * the path in the system_libpcap parameter: the libpcap drop-in of this
 * project loads libpfring and has libpcap's soname, so a link-time
 * dependency would resolve to the drop-in itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfring_int.h"

struct pcap_prog {            /* struct bpf_program */
  unsigned int bf_len;
  struct sock_filter *bf_insns;
};

static struct {
  void *handle;
  void *(*open_dead)(int linktype, int snaplen);
  int (*compile)(void *p, struct pcap_prog *fp, const char *expr, int optimize,
                 unsigned int netmask);
  char *(*geterr)(void *p);
  void (*freecode)(struct pcap_prog *fp);
  void (*close)(void *p);
} pcap;
static pthread_mutex_t pcap_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_libpcap(char *errbuf, size_t errlen)
{
  const char *path = pfringint_params()->system_libpcap;

  if (pcap.handle)
    return 0;
  pcap.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!pcap.handle) {
    snprintf(errbuf, errlen, "cannot load the system libpcap (%s): %s", path, dlerror());
    return PF_RING_ERROR_NOT_SUPPORTED;
  }
  pcap.open_dead = (void *(*)(int, int))dlsym(pcap.handle, "pcap_open_dead");
  pcap.compile = (int (*)(void *, struct pcap_prog *, const char *, int, unsigned int))
                   dlsym(pcap.handle, "pcap_compile");
  pcap.geterr = (char *(*)(void *))dlsym(pcap.handle, "pcap_geterr");
  pcap.freecode = (void (*)(struct pcap_prog *))dlsym(pcap.handle, "pcap_freecode");
  pcap.close = (void (*)(void *))dlsym(pcap.handle, "pcap_close");
  if (!pcap.open_dead || !pcap.compile || !pcap.geterr || !pcap.freecode || !pcap.close) {
    snprintf(errbuf, errlen, "%s lacks pcap_compile and friends", path);
    dlclose(pcap.handle);
    pcap.handle = NULL;
    return PF_RING_ERROR_NOT_SUPPORTED;
  }
  return 0;
}

int pfringint_compile_bpf(const char *expr, u_int32_t snaplen, struct sock_fprog *out,
                          char *errbuf, size_t errlen)
{
  struct pcap_prog prog;
  void *p;
  int rc;

  pthread_mutex_lock(&pcap_lock);   /* pcap_compile is not thread safe everywhere */
  rc = load_libpcap(errbuf, errlen);
  if (rc < 0)
    goto out;
  p = pcap.open_dead(1 /* DLT_EN10MB */, (int)snaplen);
  if (!p) {
    snprintf(errbuf, errlen, "pcap_open_dead failed");
    rc = PF_RING_ERROR_NOT_ENOUGH_MEMORY;
    goto out;
  }
  if (pcap.compile(p, &prog, expr, 1, 0xffffffffu /* PCAP_NETMASK_UNKNOWN */) < 0) {
    snprintf(errbuf, errlen, "bad BPF filter '%s': %s", expr, pcap.geterr(p));
    rc = PF_RING_ERROR_INVALID_ARGUMENT;
  } else {
    out->filter = malloc(prog.bf_len * sizeof(struct sock_filter));
    if (!out->filter) {
      rc = PF_RING_ERROR_NOT_ENOUGH_MEMORY;
      snprintf(errbuf, errlen, "out of memory");
    } else {
      memcpy(out->filter, prog.bf_insns, prog.bf_len * sizeof(struct sock_filter));
      out->len = (unsigned short)prog.bf_len;
    }
    pcap.freecode(&prog);
  }
  pcap.close(p);
out:
  pthread_mutex_unlock(&pcap_lock);
  return rc;
}
