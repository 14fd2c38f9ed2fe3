/*
 * audit.c - pfring-run's LD_AUDIT module: says when a program loads a
 * libpcap of its own, which the drop-in cannot replace.
 *
 * pfring-run puts the drop-in first on LD_LIBRARY_PATH, which works for
 * every program that asks the dynamic linker for libpcap.so.0.8 or
 * libpcap.so.1.  A program that brings its own copy (a Python wheel's
 * vendored pcapy_ng.libs/libpcap-<hash>.so.1.9.1, an RPATH to a private
 * build) loads that copy instead, and its captures never reach a ring.
 * The dynamic linker tells an audit module about every object it maps
 * (la_objopen), whatever asked for it: dlopen, NEEDED, a vendored RPATH.
 *
 * A loaded object counts as "a libpcap of its own" when its file name
 * starts with "libpcap" and it is neither
 *   - the drop-in (its program headers carry the PT_NOTE that
 *     libpcap-pfring's syslib.c emits, note name "pcap-pfring"), nor
 *   - a libpcap under one of the standard sonames (libpcap.so,
 *     libpcap.so.0.8, libpcap.so.1) in a system library directory
 *     (/lib..., /usr/lib...): that is the system libpcap, which the
 *     drop-in itself loads for offline files and BPF compilation.
 * The first such object gets one line on stderr, naming it; nothing else
 * changes (la_objopen asks for no symbol binding audit, so calls cost what
 * they cost without the module).  PFRING_RUN_AUDIT=quiet silences it (the
 * name is not a PCAP_PF_RING_* one: those switch Python programs to rings).
 *
 * The module is loaded in an audit namespace of its own, before the
 * program; it uses only libc and never calls into the program.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dropin_note.h"


static int warned;

unsigned int la_version(unsigned int version)
{
  return version < LAV_CURRENT ? version : LAV_CURRENT;
}

static int standard_soname(const char *base)
{
  return strcmp(base, "libpcap.so") == 0 || strcmp(base, "libpcap.so.0.8") == 0 ||
         strcmp(base, "libpcap.so.1") == 0;
}

/* path is in a system library directory, or a multiarch directory under
 * one (/usr/lib/x86_64-linux-gnu). */
static int system_dir(const char *path)
{
  static const char *const dirs[] = { "/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64",
                                      "/usr/lib32", "/usr/local/lib" };
  const char *slash = strrchr(path, '/');
  size_t i, n, dirlen;

  if (!slash)
    return 0;
  dirlen = (size_t)(slash - path);
  for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    n = strlen(dirs[i]);
    if (dirlen < n || strncmp(path, dirs[i], n) != 0)
      continue;
    if (dirlen == n)
      return 1;
    if (path[n] == '/' && memchr(path + n + 1, '/', dirlen - n - 1) == NULL && dirlen > n + 1)
      return 1;
  }
  return 0;
}

/* The object's PT_NOTE segments, mapped at l_addr: one named PFRING_PCAP_DROPIN_NOTE? */
static int is_dropin(struct link_map *map)
{
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)map->l_addr;
  const ElfW(Phdr) *ph;
  int i;

  /* A shared object's first page is mapped at l_addr (its first PT_LOAD
   * starts at offset 0 and address 0). */
  if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
    return 0;
  ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
  for (i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_NOTE)
      continue;
    if (pfringint_notes_have_dropin((const char *)map->l_addr + ph[i].p_vaddr, ph[i].p_memsz))
      return 1;
  }
  return 0;
}

unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
  const char *path = map->l_name, *base;
  const char *quiet;
  char line[1024], comm[64] = "the program";
  int n, fd;

  (void)lmid;
  (void)cookie;
  if (warned || !path || !*path)
    return 0;
  base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strncmp(base, "libpcap", 7) != 0)
    return 0;
  if ((standard_soname(base) && system_dir(path)) || is_dropin(map))
    return 0;
  warned = 1;
  quiet = getenv("PFRING_RUN_AUDIT");
  if (quiet && strcmp(quiet, "quiet") == 0)
    return 0;
  /* the audit namespace has a libc of its own: ask the kernel for the name */
  if ((fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC)) >= 0) {
    ssize_t got = read(fd, comm, sizeof(comm) - 1);
    if (got > 0) {
      comm[got] = 0;
      comm[strcspn(comm, "\n")] = 0;
    } else {
      strcpy(comm, "the program");
    }
    close(fd);
  }
  n = snprintf(line, sizeof(line),
               "pfring-run: %s loaded its own libpcap, %s: its captures do not go through "
               "PF_RING rings (for the pcapy-ng wheel: pip install --no-binary pcapy-ng "
               "pcapy-ng builds one that uses the system libpcap)\n",
               comm, path);
  if (n > 0)
    (void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
  return 0;
}
