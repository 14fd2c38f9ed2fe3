/*
 * syspcap.c - the one loader of the system libpcap.
 *
 * Three users need the distribution's libpcap: libpfring's BPF compiler
 * (bpf.c), the libpcap drop-in's forwarders (libpcap-pfring/src/syslib.c)
 * and the Python binding's file tools.  None of them links it: the drop-in
 * has libpcap's sonames, so a link-time dependency, or a dlopen() by soname,
 * can resolve to the drop-in itself (under pfring-run, or when the
 * drop-in's directory comes first in ld.so.conf).  They all call
 * pfring_open_system_libpcap(), which finds the library at run time:
 *
 *   1. the system_libpcap parameter (PF_RING_SYSTEM_LIBPCAP or the
 *      configuration file), when it is set: a path, or a soname searched
 *      as in 2;
 *   2. otherwise libpcap.so.0.8, then libpcap.so.1, looked up in the dynamic
 *      linker's cache (/etc/ld.so.cache, read now, so a libpcap upgrade that
 *      renames the real file is followed), then in the directory of the C
 *      library and the usual library directories.
 *
 * A candidate is opened by the path of its soname link, never by the real
 * file name, and only after its program headers have been read: a file that
 * carries the drop-in's ELF note (PFRING_PCAP_DROPIN_NOTE, read by dropin_note.h) is
 * ours and is skipped.  Nothing about the system libpcap is known at build
 * time.
 *
 * The library is opened privately (RTLD_LOCAL | RTLD_DEEPBIND) and kept for
 * the life of the process.  A failed lookup is not remembered: the next call
 * searches again (the package may have been installed meanwhile).
 *
 * RTLD_DEEPBIND matters when another libpcap, the drop-in, is in the global
 * scope: the system libpcap calls its own exported functions through its
 * PLT, and without the flag those calls would reach the drop-in.  The
 * sanitizer runtimes (AddressSanitizer, ThreadSanitizer; also when libasan
 * is preloaded into a program that is not instrumented) end the process on
 * a dlopen() with RTLD_DEEPBIND.  Under one of them, the flag is left out
 * when no libpcap is in the global scope (a Python process, a program that
 * links no libpcap), where it changes nothing for the library's own calls;
 * with one there, the library goes into a link-map namespace of its own
 * (dlmopen), which is only for testing: it has a C library, and so a heap
 * and stdio buffers, of its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropin_note.h"
#include "pfring_int.h"

#ifndef PFRING_API
#define PFRING_API __attribute__((visibility("default")))
#endif

#define LD_SO_CACHE "/etc/ld.so.cache"
#define CACHE_MAGIC "glibc-ld.so.cache1.1"
#define MAX_TRIED 32

static const char *const default_names[] = { "libpcap.so.0.8", "libpcap.so.1", NULL };
static const char *const fallback_dirs[] = { "/usr/lib64", "/lib64", "/usr/lib", "/lib", NULL };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *handle;
static char loaded_path[PATH_MAX];

/* One search: what was tried, and why each candidate was not taken. */
struct search {
  dev_t dev[MAX_TRIED];
  ino_t ino[MAX_TRIED];
  int tried;
  int ours;                         /* candidates skipped as the drop-in */
  char last_error[256];
  void *h;
  char path[PATH_MAX];
};

/* ------------------------------------------------------------------------ */
/* Is this file the drop-in?  Reads the ELF program headers for our note.    */

/* 1 if the file at fd carries the drop-in's note, 0 if not (or if it is
 * not an ELF object of this process's class: dlopen() then says why). */
static int file_is_ours(int fd, off_t size)
{
  const ElfW(Ehdr) *eh;
  unsigned char *map;
  int ours = 0, i;

  if (size < (off_t)sizeof(ElfW(Ehdr)))
    return 0;
  map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return 0;
  eh = (const ElfW(Ehdr) *)map;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
      eh->e_ident[EI_CLASS] == (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) &&
      eh->e_phentsize == sizeof(ElfW(Phdr)) && eh->e_phoff < (uint64_t)size &&
      (uint64_t)eh->e_phnum * sizeof(ElfW(Phdr)) <= (uint64_t)size - eh->e_phoff) {
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(map + eh->e_phoff);
    for (i = 0; i < eh->e_phnum && !ours; i++)
      if (ph[i].p_type == PT_NOTE && ph[i].p_offset < (uint64_t)size &&
          ph[i].p_filesz <= (uint64_t)size - ph[i].p_offset)
        ours = pfringint_notes_have_dropin(map + ph[i].p_offset, ph[i].p_filesz);
  }
  munmap(map, (size_t)size);
  return ours;
}

/* A sanitizer runtime is in the process (see the top of this file). */
static int under_sanitizer(void)
{
  return dlsym(RTLD_DEFAULT, "__asan_init") || dlsym(RTLD_DEFAULT, "__tsan_init");
}

/* A libpcap (the drop-in) is in the global scope, where the system libpcap's
 * calls to its own functions would bind without RTLD_DEEPBIND.  The main
 * program's handle searches exactly that scope (RTLD_DEFAULT would also
 * search the caller's own dlopen() group, where the drop-in that loaded this
 * library is even when it is private to a Python module). */
static int libpcap_in_global_scope(void)
{
  void *global = dlopen(NULL, RTLD_NOW);
  int found;

  if (!global)
    return 0;
  found = dlsym(global, "pcap_open_dead") != NULL;
  dlclose(global);
  return found;
}

/* Under a sanitizer, with the drop-in in the global scope: the library in
 * a link-map namespace of its own, with its own C library, where no lookup
 * reaches the drop-in either.  That C library's stdout is unbuffered, so
 * what the system libpcap prints (bpf_dump) is not left in a buffer that
 * the program's exit() never flushes. */
static void *open_in_namespace(const char *path)
{
  int (*set_buffer)(FILE *, char *, int, size_t);
  FILE **out;
  void *h;

  h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return NULL;
  out = dlsym(h, "stdout");
  *(void **)&set_buffer = dlsym(h, "setvbuf");
  if (out && *out && set_buffer)
    set_buffer(*out, NULL, _IONBF, 0);
  return h;
}

/* ------------------------------------------------------------------------ */
/* Candidates                                                                */

/* Tries one path.  Returns 1 when it was opened (s->h set), 0 otherwise. */
static int try_path(struct search *s, const char *path)
{
  struct stat st;
  int fd, i, ours;
  void *h;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      snprintf(s->last_error, sizeof(s->last_error), "%s: %s", path, strerror(errno));
    return 0;
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return 0;
  }
  for (i = 0; i < s->tried; i++)
    if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino) {
      close(fd);
      return 0;
    }
  if (s->tried < MAX_TRIED) {
    s->dev[s->tried] = st.st_dev;
    s->ino[s->tried++] = st.st_ino;
  }
  ours = file_is_ours(fd, st.st_size);
  close(fd);
  if (ours) {
    s->ours++;
    return 0;
  }
  if (!under_sanitizer())
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  else if (libpcap_in_global_scope())
    h = open_in_namespace(path);
  else
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(s->last_error, sizeof(s->last_error), "%s", dlerror());
    return 0;
  }
  s->h = h;
  snprintf(s->path, sizeof(s->path), "%s", path);
  return 1;
}

/* The dynamic linker's cache, new format (glibc 2.32 and later write only
 * this one; older ones append it to the old table, so it is searched for). */
struct cache_header {
  char magic[sizeof(CACHE_MAGIC) - 1];
  uint32_t nlibs;
  uint32_t len_strings;
  uint8_t flags;
  uint8_t pad[3];
  uint32_t extension_offset;
  uint32_t unused[3];
};

struct cache_entry {
  int32_t flags;
  uint32_t key, value;              /* offsets of NUL-terminated strings */
  uint32_t osversion;
  uint64_t hwcap;
};

static const char *cache_string(const char *base, size_t len, uint32_t off)
{
  if (off >= len || !memchr(base + off, '\0', len - off))
    return NULL;
  return base + off;
}

static int search_cache(struct search *s, const char *name)
{
  const struct cache_header *hdr;
  const struct cache_entry *e;
  const char *base, *key, *value;
  struct stat st;
  size_t len, size;
  void *map;
  uint32_t i;
  int fd, found = 0;

  fd = open(LD_SO_CACHE, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(*hdr)) {
    close(fd);
    return 0;
  }
  size = (size_t)st.st_size;
  map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return 0;
  base = memmem(map, size, CACHE_MAGIC, sizeof(CACHE_MAGIC) - 1);
  if (base) {
    len = size - (size_t)(base - (const char *)map);
    hdr = (const struct cache_header *)base;
    e = (const struct cache_entry *)(hdr + 1);
    if (len >= sizeof(*hdr) &&
        hdr->nlibs <= (len - sizeof(*hdr)) / sizeof(*e)) {
      for (i = 0; i < hdr->nlibs && !found; i++) {
        key = cache_string(base, len, e[i].key);
        value = cache_string(base, len, e[i].value);
        if (key && value && strcmp(key, name) == 0)
          found = try_path(s, value);
      }
    }
  }
  munmap(map, size);
  return found;
}

static int search_dir(struct search *s, const char *dir, const char *name)
{
  char path[PATH_MAX];

  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
    return 0;
  return try_path(s, path);
}

/* The directory the C library was loaded from (Debian: the multiarch one). */
static void libc_dir(char out[PATH_MAX])
{
  Dl_info info;
  char *slash;

  out[0] = '\0';
  if (!dladdr((void *)gnu_get_libc_version, &info) || !info.dli_fname ||
      !realpath(info.dli_fname, out))
    return;
  if ((slash = strrchr(out, '/')))
    *slash = '\0';
}

static int search_name(struct search *s, const char *name)
{
  char dir[PATH_MAX];
  int i;

  if (search_cache(s, name))
    return 1;
  libc_dir(dir);
  if (dir[0] && search_dir(s, dir, name))
    return 1;
  for (i = 0; fallback_dirs[i]; i++)
    if (search_dir(s, fallback_dirs[i], name))
      return 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The public call                                                           */

/* Called with the lock held. */
static int load(char *errbuf, size_t errlen)
{
  const char *configured = pfringint_params()->system_libpcap;
  struct search *s;
  int i, rc = 0;

  s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(errbuf, errlen, "out of memory looking for the system libpcap");
    return PF_RING_ERROR_NOT_ENOUGH_MEMORY;
  }
  if (configured[0] && strchr(configured, '/')) {
    if (!try_path(s, configured)) {
      if (s->ours)
        snprintf(errbuf, errlen,
                 "the system libpcap '%s' is this PF_RING libpcap itself; set "
                 "PF_RING_SYSTEM_LIBPCAP to the distribution's libpcap", configured);
      else
        snprintf(errbuf, errlen, "cannot load the system libpcap '%s': %s", configured,
                 s->last_error[0] ? s->last_error : strerror(ENOENT));
      rc = PF_RING_ERROR_NOT_SUPPORTED;
    }
  } else if (configured[0]) {
    if (!search_name(s, configured)) {
      snprintf(errbuf, errlen, "cannot load the system libpcap '%s': %s", configured,
               s->last_error[0] ? s->last_error
               : s->ours ? "only this PF_RING libpcap has that name"
                         : "not in the dynamic linker's cache or the library directories");
      rc = PF_RING_ERROR_NOT_SUPPORTED;
    }
  } else {
    for (i = 0; default_names[i] && !s->h; i++)
      search_name(s, default_names[i]);
    if (!s->h) {
      snprintf(errbuf, errlen,
               "cannot find the system libpcap (libpcap.so.0.8 or libpcap.so.1%s%s%s): install "
               "the distribution's libpcap (Debian: libpcap0.8) or set PF_RING_SYSTEM_LIBPCAP",
               s->ours ? "; only this PF_RING libpcap has those names" : "",
               s->last_error[0] ? "; " : "", s->last_error);
      rc = PF_RING_ERROR_NOT_SUPPORTED;
    }
  }
  if (s->h) {
    snprintf(loaded_path, sizeof(loaded_path), "%s", s->path);
    __atomic_store_n(&handle, s->h, __ATOMIC_RELEASE);
  }
  free(s);
  return rc;
}

PFRING_API void *pfring_open_system_libpcap(char *errbuf, size_t errlen)
{
  char local[PFRING_ERRBUF_SIZE];
  void *h;

  if (!errbuf || errlen == 0) {
    errbuf = local;
    errlen = sizeof(local);
  }
  errbuf[0] = '\0';
  if ((h = __atomic_load_n(&handle, __ATOMIC_ACQUIRE)))
    return h;
  pthread_mutex_lock(&lock);
  if (!handle)
    load(errbuf, errlen);
  h = handle;
  pthread_mutex_unlock(&lock);
  return h;
}

PFRING_API const char *pfring_system_libpcap(void)
{
  return __atomic_load_n(&handle, __ATOMIC_ACQUIRE) ? loaded_path : NULL;
}
