/* Tests of config.c: defaults, the file, the environment, bad values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pfring_int.h"

extern char stub_log[];
extern int stub_log_count;
static int passed, failed;

#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const struct pfringint_params *fresh(void)
{
  stub_log[0] = '\0';
  stub_log_count = 0;
  pfringint_reload_params();
  return pfringint_params();
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

int main(int argc, char **argv)
{
  const struct pfringint_params *p;
  char path[512];

  snprintf(path, sizeof(path), "%s/pf_ring.conf", argc > 1 ? argv[1] : "/tmp");
  unsetenv("PF_RING_STATUS_DIR");
  setenv("PF_RING_CONFIG", "/nonexistent/pf_ring.conf", 1);
  p = fresh();
  CHECK(p->min_num_slots == 4096 && p->enable_tx_capture == 1 && p->enable_ip_defrag == 0 &&
        p->keep_vlan_offload == 0 && p->block_timeout_ms == 1, "defaults");
  CHECK(strcmp(p->status_dir, "/run/pf_ring") == 0, "status_dir default %s", p->status_dir);
  CHECK(stub_log_count == 1 && strstr(stub_log, "PF_RING_CONFIG"), "missing explicit file warns: %s", stub_log);

  write_file(path, "# comment\nmin_num_slots = 8192\n\nenable_tx_capture=0  # trailing\n"
                   "options pf_ring enable_ip_defrag=1 keep_vlan_offload=1\n");
  setenv("PF_RING_CONFIG", path, 1);
  p = fresh();
  CHECK(p->min_num_slots == 8192 && p->enable_tx_capture == 0, "file values");
  CHECK(p->enable_ip_defrag == 1 && p->keep_vlan_offload == 1, "modprobe style");
  CHECK(stub_log_count == 0, "no warnings: %s", stub_log);
  CHECK(pfring_get_module_param("min_num_slots") == 8192, "get_module_param");
  CHECK(pfring_get_module_param("nope") == -1, "unknown get_module_param");
  CHECK(pfring_get_module_param("status_dir") == -1, "string param is not a number");

  setenv("PF_RING_MIN_NUM_SLOTS", "16384", 1);
  setenv("PF_RING_STATUS_DIR", "/tmp/st", 1);
  p = fresh();
  CHECK(p->min_num_slots == 16384, "env beats file");
  CHECK(strcmp(p->status_dir, "/tmp/st") == 0, "env string");

  setenv("PF_RING_MIN_NUM_SLOTS", "abc", 1);
  p = fresh();
  CHECK(p->min_num_slots == 8192 && stub_log_count == 1 &&
        strstr(stub_log, "PF_RING_MIN_NUM_SLOTS='abc' is not a number; using 8192"),
        "bad env keeps the file value: %s", stub_log);
  setenv("PF_RING_MIN_NUM_SLOTS", "12x", 1);
  p = fresh();
  CHECK(p->min_num_slots == 8192 && stub_log_count == 1, "trailing junk");
  setenv("PF_RING_MIN_NUM_SLOTS", "99999999999999999999999", 1);
  p = fresh();
  CHECK(p->min_num_slots == 8192 && stub_log_count == 1, "overflow");
  setenv("PF_RING_MIN_NUM_SLOTS", "100", 1);
  p = fresh();
  CHECK(p->min_num_slots == 512 && strstr(stub_log, "below the minimum"), "raised to 512: %s", stub_log);
  unsetenv("PF_RING_MIN_NUM_SLOTS");
  setenv("PF_RING_ENABLE_TX_CAPTURE", "2", 1);
  p = fresh();
  CHECK(p->enable_tx_capture == 0 && stub_log_count == 1 && strstr(stub_log, "must be 0 or 1"),
        "bool out of range: %s", stub_log);
  unsetenv("PF_RING_ENABLE_TX_CAPTURE");
  setenv("PF_RING_BLOCK_TIMEOUT_MS", "0", 1);
  p = fresh();
  CHECK(p->block_timeout_ms == 1 && strstr(stub_log, "out of range"), "range: %s", stub_log);
  unsetenv("PF_RING_BLOCK_TIMEOUT_MS");
  setenv("PF_RING_STATUS_DIR", "", 1);
  p = fresh();
  CHECK(strcmp(p->status_dir, "/run/pf_ring") == 0 && stub_log_count == 1, "empty string");
  unsetenv("PF_RING_STATUS_DIR");

  write_file(path, "min_num_slots=lots\nbogus_param=1\nno equals sign\n");
  p = fresh();
  CHECK(p->min_num_slots == 4096, "bad file value keeps the default");
  CHECK(stub_log_count == 3 && strstr(stub_log, ":1: min_num_slots='lots' is not a number") &&
        strstr(stub_log, ":2: unknown parameter 'bogus_param'") && strstr(stub_log, ":3: expected name=value"),
        "file warnings: %s", stub_log);

  unsetenv("PF_RING_CONFIG");
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
