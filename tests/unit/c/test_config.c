/*
 * test_config.c - tests of config.c: defaults, the configuration file
 * (name=value and modprobe style), PF_RING_<NAME> variables, bad values in
 * both sources (value kept, exactly one warning naming the source), reload.
 * Usage: test_config [scratch directory].  Prints one line per failed case
 * and "N passed, N failed".
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfring_int.h"

/* The default: empty, the system libpcap is found at run time (syspcap.c). */
#define PFRING_SYSTEM_LIBPCAP ""

/* stubs.c */
extern char stub_log[];
extern int stub_log_count, stub_log_level;
extern void (*stub_log_hook)(void);
void stub_log_reset(void);

extern char **environ;

static int passed, failed;
static char conf[512], scratch[256];

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int cond, const char *fmt, ...)
{
  va_list ap;
  size_t i;

  if (cond) {
    passed++;
    return;
  }
  failed++;
  printf("FAIL ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf(" [log:");
  for (i = 0; stub_log[i]; i++)
    putchar(stub_log[i] == '\n' ? '|' : stub_log[i]);
  printf("]\n");
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* Unsets every PF_RING_* variable so the caller's environment cannot leak in. */
static void clear_env(void)
{
  char name[256];
  size_t i;

  for (i = 0; environ[i]; ) {
    const char *eq = strchr(environ[i], '=');
    if (strncmp(environ[i], "PF_RING_", 8) == 0 && eq && (size_t)(eq - environ[i]) < sizeof(name)) {
      snprintf(name, sizeof(name), "%.*s", (int)(eq - environ[i]), environ[i]);
      unsetenv(name);
      i = 0;                    /* environ changed: start over */
    } else {
      i++;
    }
  }
}

static void write_file(const char *text)
{
  FILE *f = fopen(conf, "w");

  if (!f) {
    perror(conf);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

static const struct pfringint_params *fresh(void)
{
  stub_log_reset();
  pfringint_reload_params();
  return pfringint_params();
}

static void env_name(const char *param, char *out, size_t len)
{
  size_t i;

  snprintf(out, len, "PF_RING_%s", param);
  for (i = 8; out[i]; i++)
    if (out[i] >= 'a' && out[i] <= 'z')
      out[i] = (char)(out[i] - 'a' + 'A');
}

/* The value of any parameter as text, as the tests compare it. */
static void value_of(const char *param, char *out, size_t len)
{
  const struct pfringint_params *p = pfringint_params();

  if (strcmp(param, "status_dir") == 0)
    snprintf(out, len, "%s", p->status_dir);
  else if (strcmp(param, "system_libpcap") == 0)
    snprintf(out, len, "%s", p->system_libpcap);
  else
    snprintf(out, len, "%ld", pfring_get_module_param(param));
}

/* ------------------------------------------------------------------------ */
/* Defaults, the file, the environment                                       */

static const struct {
  const char *param, *def, *other;   /* default and some other valid value */
} all[] = {
  { "min_num_slots", "4096", "8192" },
  { "perfect_rules_hash_size", "4096", "1024" },
  { "enable_tx_capture", "1", "0" },
  { "enable_frag_coherence", "1", "0" },
  { "enable_ip_defrag", "0", "1" },
  { "quick_mode", "0", "1" },
  { "force_ring_lock", "0", "1" },
  { "enable_debug", "0", "1" },
  { "transparent_mode", "0", "2" },
  { "keep_vlan_offload", "0", "1" },
  { "block_timeout_ms", "8", "250" },
  { "status_dir", "/run/pf_ring", "/tmp/pf ring status" },
  { "system_libpcap", PFRING_SYSTEM_LIBPCAP, "/usr/lib/libpcap.so.1" },
};
#define NUM_ALL (sizeof(all) / sizeof(all[0]))

static void expect_all(const char *what, int use_other)
{
  char got[512];
  size_t i;

  for (i = 0; i < NUM_ALL; i++) {
    const char *want = use_other ? all[i].other : all[i].def;
    value_of(all[i].param, got, sizeof(got));
    check(strcmp(got, want) == 0, "%s: %s is '%s', want '%s'", what, all[i].param, got, want);
  }
}

static void test_defaults(void)
{
  char missing[600];

  snprintf(missing, sizeof(missing), "%s/no/such/pf_ring.conf", scratch);
  setenv("PF_RING_CONFIG", missing, 1);
  fresh();
  expect_all("defaults", 0);
  check(stub_log_count == 0, "a missing PF_RING_CONFIG file is silent");
  check(pfring_get_module_param("min_num_slots") == DEFAULT_NUM_SLOTS, "DEFAULT_NUM_SLOTS");

  if (access("/etc/pf_ring/pf_ring.conf", F_OK) != 0) {
    unsetenv("PF_RING_CONFIG");
    fresh();
    expect_all("defaults without PF_RING_CONFIG", 0);
    check(stub_log_count == 0, "missing /etc/pf_ring/pf_ring.conf is silent");
  }
  setenv("PF_RING_CONFIG", "", 1);
  if (access("/etc/pf_ring/pf_ring.conf", F_OK) != 0) {
    fresh();
    check(stub_log_count == 0, "empty PF_RING_CONFIG means the default file");
  }
  setenv("PF_RING_CONFIG", conf, 1);
}

static void test_file_values(void)
{
  char text[4096] = "# pf_ring configuration\n\n";
  size_t i;

  for (i = 0; i < NUM_ALL; i++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s%s%s\n",
             i % 2 ? "  " : "", all[i].param, i % 3 ? " = " : "=", all[i].other);
  write_file(text);
  fresh();
  expect_all("file values", 1);
  check(stub_log_count == 0, "a good file gives no warning");

  write_file("min_num_slots=8192   # a comment after white space\r\n"
             "\t# an indented comment\n"
             "status_dir=/tmp/a#b\n"
             "system_libpcap = \"/opt/lib/libpcap.so\"\n"
             "block-timeout-ms=7\r\n"
             "enable_tx_capture=0\nenable_tx_capture=1\n");
  fresh();
  check(pfring_get_module_param("min_num_slots") == 8192, "trailing comment and CRLF");
  check(strcmp(pfringint_params()->status_dir, "/tmp/a#b") == 0, "'#' inside a value: %s",
        pfringint_params()->status_dir);
  check(strcmp(pfringint_params()->system_libpcap, "/opt/lib/libpcap.so") == 0,
        "quoted value: %s", pfringint_params()->system_libpcap);
  check(pfring_get_module_param("block_timeout_ms") == 7, "'-' for '_' in names");
  check(pfring_get_module_param("enable_tx_capture") == 1, "the last line wins");
  check(stub_log_count == 0, "no warnings");
}

static void test_modprobe_style(void)
{
  write_file("# /etc/modprobe.d style\n"
             "options pf_ring enable_ip_defrag=1 keep_vlan_offload=1\tmin_num_slots=65536\n"
             "options  ixgbe RSS=1,1 bogus=2\n"
             "options pf_ring transparent_mode=1\n"
             "options pf_ring enable_tx_capture=7 quick_mode=1\n");
  fresh();
  check(pfring_get_module_param("enable_ip_defrag") == 1 &&
        pfring_get_module_param("keep_vlan_offload") == 1 &&
        pfring_get_module_param("min_num_slots") == 65536, "modprobe style values");
  check(pfring_get_module_param("transparent_mode") == 1, "second options line");
  check(pfring_get_module_param("quick_mode") == 1 &&
        pfring_get_module_param("enable_tx_capture") == 1, "bad value on an options line");
  check(stub_log_count == 1 && strstr(stub_log, "pf_ring.conf:5: enable_tx_capture='7' "
                                                "must be 0 or 1; using 1"),
        "one warning for the options line, none for ixgbe");
}

static void test_env_overrides(void)
{
  char text[4096] = "", var[64], got[512];
  size_t i;

  for (i = 0; i < NUM_ALL; i++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s=%s\n", all[i].param,
             all[i].other);
  write_file(text);
  for (i = 0; i < NUM_ALL; i++) {
    env_name(all[i].param, var, sizeof(var));
    setenv(var, all[i].def, 1);
  }
  setenv("PF_RING_SOMETHING_ELSE", "x", 1);   /* other PF_RING variables exist */
  fresh();
  expect_all("environment beats file", 0);
  check(stub_log_count == 0, "unknown PF_RING_* variables are silent");
  for (i = 0; i < NUM_ALL; i++) {
    env_name(all[i].param, var, sizeof(var));
    unsetenv(var);
  }
  unsetenv("PF_RING_SOMETHING_ELSE");

  setenv("PF_RING_STATUS_DIR", "/tmp/st", 1);
  fresh();
  value_of("status_dir", got, sizeof(got));
  check(strcmp(got, "/tmp/st") == 0, "environment string");
  check(pfring_get_module_param("min_num_slots") == 8192, "file value without a variable");
  unsetenv("PF_RING_STATUS_DIR");
}

/* ------------------------------------------------------------------------ */
/* Bad values: each row is tried in the environment alone, in the file
 * alone and in the environment over a good file value.                      */

static char long_value[400];

static const struct bad {
  const char *param, *value;
  const char *why;              /* the text after "<source>='<value>' " */
  int env_only;                 /* the file trims white space */
} bad[] = {
  { "min_num_slots", "abc", "is not a number", 0 },
  { "min_num_slots", "12x", "is not a number", 0 },
  { "min_num_slots", "", "is not a number", 0 },
  { "min_num_slots", "0x1000", "is not a number", 0 },
  { "min_num_slots", "4096.0", "is not a number", 0 },
  { "min_num_slots", "+4096", "is not a number", 0 },
  { "min_num_slots", " 4096", "is not a number", 1 },
  { "min_num_slots", "4096 ", "is not a number", 1 },
  { "min_num_slots", "99999999999999999999", "is out of range (512..1048576)", 0 },
  { "min_num_slots", "-99999999999999999999", "is out of range (512..1048576)", 0 },
  { "min_num_slots", "1048577", "is out of range (512..1048576)", 0 },
  { "min_num_slots", "-1", "is out of range (512..1048576)", 0 },
  { "perfect_rules_hash_size", "0", "is out of range (1..1048576)", 0 },
  { "enable_tx_capture", "2", "must be 0 or 1", 0 },
  { "enable_tx_capture", "-1", "must be 0 or 1", 0 },
  { "enable_tx_capture", "yes", "must be 0 or 1", 0 },
  { "enable_tx_capture", "99999999999999999999", "must be 0 or 1", 0 },
  { "enable_frag_coherence", "2", "must be 0 or 1", 0 },
  { "enable_ip_defrag", "true", "must be 0 or 1", 0 },
  { "quick_mode", "2", "must be 0 or 1", 0 },
  { "force_ring_lock", "10", "must be 0 or 1", 0 },
  { "keep_vlan_offload", "1x", "must be 0 or 1", 0 },
  { "enable_debug", "3", "is out of range (0..2)", 0 },
  { "transparent_mode", "3", "is out of range (0..2)", 0 },
  { "block_timeout_ms", "0", "is out of range (1..1000)", 0 },
  { "block_timeout_ms", "1001", "is out of range (1..1000)", 0 },
  { "block_timeout_ms", "1e3", "is not a number", 0 },
  { "status_dir", "", "is empty", 0 },
  { "status_dir", long_value, "is too long (max 255 characters)", 0 },
};
#define NUM_BAD (sizeof(bad) / sizeof(bad[0]))

static const char *default_of(const char *param, int other)
{
  size_t i;

  for (i = 0; i < NUM_ALL; i++)
    if (strcmp(all[i].param, param) == 0)
      return other ? all[i].other : all[i].def;
  return "?";
}

/* Exactly one warning, at level 1, with "<where>='<value>' <why>; using <kept>". */
static void expect_warning(const struct bad *b, const char *where, const char *kept,
                           const char *how)
{
  char want[1024], got[512], quote[8];
  int is_str = strcmp(b->param, "status_dir") == 0 || strcmp(b->param, "system_libpcap") == 0;

  snprintf(quote, sizeof(quote), "%s", is_str ? "'" : "");
  value_of(b->param, got, sizeof(got));
  check(strcmp(got, kept) == 0, "%s %s='%.20s': value %s, want %s", how, b->param, b->value,
        got, kept);
  snprintf(want, sizeof(want), "%s='%.80s%s' %s; using %s%s%s\n", where, b->value,
           strlen(b->value) > 80 ? "..." : "", b->why, quote, kept, quote);
  check(stub_log_count == 1 && stub_log_level == 1 && strcmp(stub_log, want) == 0,
        "%s %s='%.20s': want exactly one warning '%s'", how, b->param, b->value, want);
}

static void test_bad_value(const struct bad *b)
{
  char var[64], where[600], text[1024];

  env_name(b->param, var, sizeof(var));
  /* the environment alone */
  write_file("");
  setenv(var, b->value, 1);
  fresh();
  expect_warning(b, var, default_of(b->param, 0), "env");
  /* the environment over a good file value */
  snprintf(text, sizeof(text), "%s=%s\n", b->param, default_of(b->param, 1));
  write_file(text);
  fresh();
  expect_warning(b, var, default_of(b->param, 1), "env over file");
  unsetenv(var);
  if (b->env_only)
    return;
  /* the file alone, on line 2 */
  snprintf(text, sizeof(text), "# line 1\n%s=%s\n", b->param, b->value);
  write_file(text);
  fresh();
  snprintf(where, sizeof(where), "%s:2: %s", conf, b->param);
  expect_warning(b, where, default_of(b->param, 0), "file");
}

static void test_min_num_slots_raised(void)
{
  static const char *values[] = { "100", "0", "511" };
  char text[256];
  size_t i;

  for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    write_file("");
    setenv("PF_RING_MIN_NUM_SLOTS", values[i], 1);
    fresh();
    snprintf(text, sizeof(text), "PF_RING_MIN_NUM_SLOTS='%s' is below the minimum of 512 "
             "slots; using 512\n", values[i]);
    check(pfring_get_module_param("min_num_slots") == MIN_NUM_SLOTS &&
          stub_log_count == 1 && strcmp(stub_log, text) == 0,
          "min_num_slots=%s raised to 512 with one warning", values[i]);
    unsetenv("PF_RING_MIN_NUM_SLOTS");
    snprintf(text, sizeof(text), "min_num_slots = %s\n", values[i]);
    write_file(text);
    fresh();
    check(pfring_get_module_param("min_num_slots") == MIN_NUM_SLOTS && stub_log_count == 1 &&
          strstr(stub_log, ":1: min_num_slots=") && strstr(stub_log, "using 512"),
          "file min_num_slots=%s raised to 512", values[i]);
  }
  write_file("");
  setenv("PF_RING_MIN_NUM_SLOTS", "512", 1);
  fresh();
  check(pfring_get_module_param("min_num_slots") == 512 && stub_log_count == 0, "512 is fine");
  unsetenv("PF_RING_MIN_NUM_SLOTS");
}

/* ------------------------------------------------------------------------ */
/* The file's own problems, reload, the public getter                        */

static void test_file_problems(void)
{
  char big[8192], dir[600];

  write_file("bogus_param=1\nno equals sign here\n=5\nmin_num_slots=1024\n");
  fresh();
  check(pfring_get_module_param("min_num_slots") == 1024, "lines after bad ones still count");
  check(stub_log_count == 3, "three warnings, got %d", stub_log_count);
  check(strstr(stub_log, "pf_ring.conf:1: unknown parameter 'bogus_param'") != NULL,
        "unknown parameter warning names file:line");
  check(strstr(stub_log, "pf_ring.conf:2: expected name=value") != NULL, "line without '='");
  check(strstr(stub_log, "pf_ring.conf:3: expected name=value") != NULL, "line without a name");

  memset(big, 'x', sizeof(big) - 1);
  big[0] = '#';
  big[sizeof(big) - 1] = '\0';
  write_file(big);
  {
    FILE *f = fopen(conf, "a");
    fputs("\nmin_num_slots=2048\n", f);
    fclose(f);
  }
  fresh();
  check(pfring_get_module_param("min_num_slots") == 2048 && stub_log_count == 0,
        "a very long comment line");

  snprintf(dir, sizeof(dir), "%s", scratch);
  setenv("PF_RING_CONFIG", dir, 1);
  fresh();
  check(stub_log_count == 1 && strstr(stub_log, "cannot read the configuration file") &&
        pfring_get_module_param("min_num_slots") == 4096, "a directory as the file");
  setenv("PF_RING_CONFIG", conf, 1);
}

static void test_reload(void)
{
  const struct pfringint_params *a, *b;

  write_file("min_num_slots=8192\nenable_tx_capture=2\n");
  a = fresh();
  check(a->min_num_slots == 8192 && stub_log_count == 1, "first load");
  write_file("min_num_slots=16384\n");
  stub_log_reset();
  b = pfringint_params();
  check(b == a && b->min_num_slots == 8192 && stub_log_count == 0,
        "loaded once: no re-read and no repeated warning");
  pfringint_reload_params();
  b = pfringint_params();
  check(b->min_num_slots == 16384 && pfring_get_module_param("enable_tx_capture") == 1,
        "reload reads the file again");
  setenv("PF_RING_MIN_NUM_SLOTS", "32768", 1);
  check(pfring_get_module_param("min_num_slots") == 16384, "no reload, no new environment");
  pfringint_reload_params();
  check(pfring_get_module_param("min_num_slots") == 32768, "reload reads the environment");
  unsetenv("PF_RING_MIN_NUM_SLOTS");
}

/* A print callback that asks for parameters and even reloads them: it
 * deadlocks if warnings are logged with the lock held. */
static void call_back_in(void)
{
  stub_log_hook = NULL;
  (void)pfring_get_module_param("min_num_slots");
  pfringint_reload_params();
  (void)pfring_get_module_param("min_num_slots");
}

static void test_getter(void)
{
  write_file("enable_tx_capture=5\n");
  stub_log_hook = call_back_in;
  fresh();
  check(stub_log_hook == NULL && stub_log_count == 2,
        "a callback may ask for parameters while warnings are logged");
  check(pfring_get_module_param("nope") == -1, "unknown name");
  check(pfring_get_module_param(NULL) == -1, "NULL name");
  check(pfring_get_module_param("") == -1, "empty name");
  check(pfring_get_module_param("status_dir") == -1, "a string parameter");
  check(pfring_get_module_param("MIN_NUM_SLOTS") == -1, "names are lower case");
  check(pfring_get_module_param("min-num-slots") == 4096, "'-' for '_'");
  check(pfring_get_module_param("enable_frag_coherence") == 1, "a boolean");
}

int main(int argc, char **argv)
{
  size_t i;

  snprintf(scratch, sizeof(scratch), "%s", argc > 1 ? argv[1] : "/tmp");
  snprintf(conf, sizeof(conf), "%s/pf_ring.conf", scratch);
  memset(long_value, 'd', sizeof(long_value) - 1);
  clear_env();

  test_defaults();
  test_file_values();
  test_modprobe_style();
  test_env_overrides();
  for (i = 0; i < NUM_BAD; i++)
    test_bad_value(&bad[i]);
  test_min_num_slots_raised();
  test_file_problems();
  test_reload();
  test_getter();

  unlink(conf);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
