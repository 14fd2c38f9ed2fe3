/*
 * fuzz_config.c - the configuration file parser (libpfring/src/config.c).
 *
 * Input: one byte of options, then the file.
 *   bit 0  append a last line "min_num_slots = 777" after a newline: it must
 *          be the value loaded, whatever came before (no line can break the
 *          lines after it)
 *   bit 1  also set PF_RING_ENABLE_DEBUG=2 (the environment wins over the
 *          file) and PF_RING_BLOCK_TIMEOUT_MS=x (not a number: the file's
 *          value or the default stays, with a warning)
 * The file is a memfd that PF_RING_CONFIG names as /proc/self/fd/N: a
 * regular file, as the parser wants, that vanishes with the process.  Every
 * other PF_RING_* variable is removed at start-up.
 *
 * Checks: every number parameter is in its range (booleans 0 or 1), every
 * string parameter is terminated inside its field and the ones that need a
 * value have one; each warning is one non-empty line (fuzz_print); at most
 * 16 warnings and one line counting the rest; a second load gives the same
 * parameters.
 */
#include "common.h"

#include <sys/mman.h>

#include "pfring_int.h"

static int memfd = -1;

static const struct {
  const char *name;
  long lo, hi;
} ranges[] = {
  { "min_num_slots", MIN_NUM_SLOTS, 1048576 },
  { "perfect_rules_hash_size", 1, 1048576 },
  { "enable_tx_capture", 0, 1 },
  { "enable_frag_coherence", 0, 1 },
  { "enable_ip_defrag", 0, 1 },
  { "quick_mode", 0, 1 },
  { "force_ring_lock", 0, 1 },
  { "enable_debug", 0, 2 },
  { "transparent_mode", 0, 2 },
  { "keep_vlan_offload", 0, 1 },
  { "block_timeout_ms", 1, 1000 },
};

static void start(void)
{
  extern char **environ;
  char path[64], **e;

  memfd = memfd_create("pf_ring.conf", MFD_CLOEXEC);
  FUZZ_CHECK(memfd >= 0, "memfd_create: %s", strerror(errno));
  /* unsetenv changes environ: start again after each removal */
  for (e = environ; e && *e;) {
    if (strncmp(*e, "PF_RING_", 8) == 0) {
      char name[256];
      size_t n = strcspn(*e, "=");
      snprintf(name, sizeof(name), "%.*s", (int)n, *e);
      unsetenv(name);
      e = environ;
    } else {
      e++;
    }
  }
  snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
  setenv("PF_RING_CONFIG", path, 1);
  fuzz_quiet();
}

static void write_file(const uint8_t *data, size_t len, int sentinel)
{
  static const char last[] = "\nmin_num_slots = 777\n";

  FUZZ_CHECK(ftruncate(memfd, 0) == 0, "ftruncate: %s", strerror(errno));
  FUZZ_CHECK(pwrite(memfd, data, len, 0) == (ssize_t)len, "pwrite: %s", strerror(errno));
  if (sentinel)
    FUZZ_CHECK(pwrite(memfd, last, sizeof(last) - 1, (off_t)len) == (ssize_t)sizeof(last) - 1,
               "pwrite: %s", strerror(errno));
}

static void check_str(const char *field, size_t size, int need, const char *name)
{
  size_t n = strnlen(field, size);

  FUZZ_CHECK(n < size, "%s is not terminated", name);
  FUZZ_CHECK(!need || n > 0, "%s is empty", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pfringint_params first;
  const struct pfringint_params *p;
  unsigned long before;
  size_t i;

  if (size < 1)
    return 0;
  if (memfd < 0)
    start();
  write_file(data + 1, size - 1, data[0] & 1);
  if (data[0] & 2) {
    setenv("PF_RING_ENABLE_DEBUG", "2", 1);
    setenv("PF_RING_BLOCK_TIMEOUT_MS", "x", 1);
  }

  before = fuzz_messages;
  pfringint_reload_params();
  p = pfringint_params();
  first = *p;
  FUZZ_CHECK(fuzz_messages - before <= 17, "%lu warnings", fuzz_messages - before);
  for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    long v = pfring_get_module_param(ranges[i].name);
    FUZZ_CHECK(v >= ranges[i].lo && v <= ranges[i].hi, "%s = %ld", ranges[i].name, v);
  }
  check_str(p->status_dir, sizeof(p->status_dir), 1, "status_dir");
  check_str(p->system_libpcap, sizeof(p->system_libpcap), 0, "system_libpcap");
  check_str(p->zc_mode, sizeof(p->zc_mode), 1, "zc_mode");
  if (data[0] & 1)
    FUZZ_CHECK(p->min_num_slots == 777, "min_num_slots = %ld after the last line says 777",
               p->min_num_slots);
  if (data[0] & 2) {
    FUZZ_CHECK(p->enable_debug == 2, "enable_debug = %ld under PF_RING_ENABLE_DEBUG=2",
               p->enable_debug);
    FUZZ_CHECK(fuzz_messages > before, "no warning for PF_RING_BLOCK_TIMEOUT_MS=x");
  }

  pfringint_reload_params();
  p = pfringint_params();
  FUZZ_CHECK(memcmp(p, &first, sizeof(first)) == 0, "two loads of one file differ");

  if (data[0] & 2) {
    unsetenv("PF_RING_ENABLE_DEBUG");
    unsetenv("PF_RING_BLOCK_TIMEOUT_MS");
  }
  return 0;
}
