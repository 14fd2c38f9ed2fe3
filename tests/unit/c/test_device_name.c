/* Table tests of pfringint_parse_device_name (the grammar in pfring.h). */
#include <stdio.h>
#include <string.h>
#include "pfring_int.h"

#define ANYCH RING_ANY_CHANNEL
#define ANYV RING_ANY_VLAN

struct row {
  const char *name;
  int rc;
  const char *devs;        /* comma-joined devices, "" for any/none */
  u_int64_t mask;
  u_int16_t vlan;
  int any, none;
  const char *module;
  const char *msg;         /* expected substring of the error */
};

static const struct row rows[] = {
  { "eth0", 0, "eth0", ANYCH, ANYV, 0, 0, "", NULL },
  { "eth0@2", 0, "eth0", 1ull << 2, ANYV, 0, 0, "", NULL },
  { "eth0@1-3,5", 0, "eth0", 0x2e, ANYV, 0, 0, "", NULL },
  { "eth0@0-63", 0, "eth0", ~0ull, ANYV, 0, 0, "", NULL },
  { "eth0@63", 0, "eth0", 1ull << 63, ANYV, 0, 0, "", NULL },
  { "eth0,eth1", 0, "eth0,eth1", ANYCH, ANYV, 0, 0, "", NULL },
  { "eth0,eth1@1", 0, "eth0,eth1", 2, ANYV, 0, 0, "", NULL },
  { "eth0.100", 0, "eth0", ANYCH, 100, 0, 0, "", NULL },
  { "eth0.0", 0, "eth0", ANYCH, 0, 0, 0, "", NULL },
  { "eth0.4095", 0, "eth0", ANYCH, 4095, 0, 0, "", NULL },
  { "eth0.100@3", 0, "eth0", 8, 100, 0, 0, "", NULL },
  { "eth0.100,eth1.100", 0, "eth0,eth1", ANYCH, 100, 0, 0, "", NULL },
  { "(eth0.100)", 0, "eth0.100", ANYCH, ANYV, 0, 0, "", NULL },
  { "(eth0.100)@1", 0, "eth0.100", 2, ANYV, 0, 0, "", NULL },
  { "(a:b)", 0, "a:b", ANYCH, ANYV, 0, 0, "", NULL },
  { "br.lan", 0, "br.lan", ANYCH, ANYV, 0, 0, "", NULL },
  { "any", 0, "", ANYCH, ANYV, 1, 0, "", NULL },
  { "none", 0, "", ANYCH, ANYV, 0, 1, "", NULL },
  { "default:eth0", 0, "eth0", ANYCH, ANYV, 0, 0, "", NULL },
  { "xdp:eth0@0", 0, "eth0", 1, ANYV, 0, 0, "xdp", NULL },
  { "abcdefghijklmno", 0, "abcdefghijklmno", ANYCH, ANYV, 0, 0, "", NULL },
  /* errors */
  { "", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "empty name" },
  { "abcdefghijklmnop", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "too long" },
  { "eth0,,eth1", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "empty interface name" },
  { ",eth0", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "empty interface name" },
  { "eth0,", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "empty interface name" },
  { "eth0.", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "nothing after" },
  { "(eth0", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "unbalanced" },
  { "eth0)", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "unbalanced" },
  { "()", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "empty name in parentheses" },
  { "eth 0", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "not allowed" },
  { "a/b", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "not allowed" },
  { "eth0@", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "empty channel list" },
  { "eth0@x", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "bad channel list" },
  { "eth0@1,", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "bad channel list" },
  { "eth0@3-1", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "reversed" },
  { "eth0@64", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "out of range" },
  { "eth0@1-", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "bad channel range" },
  { "eth0@99999999999", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "bad channel list" },
  { "eth0@@1", PF_RING_ERROR_BAD_IFNAME, 0, 0, 0, 0, 0, 0, "not allowed" },
  { "eth0.4096", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "out of range" },
  { "eth0.10,eth1.20", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "conflicting VLAN" },
  { "eth0,eth0", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "listed twice" },
  { "any@1", PF_RING_ERROR_INVALID_ARGUMENT, 0, 0, 0, 0, 0, 0, "real device" },
  { "zc:eth0", PF_RING_ERROR_NOT_SUPPORTED, 0, 0, 0, 0, 0, 0, "ZC library" },
  { "dna:eth0", PF_RING_ERROR_NOT_SUPPORTED, 0, 0, 0, 0, 0, 0, "'dna:'" },
  { "foo:eth0", PF_RING_ERROR_NOT_SUPPORTED, 0, 0, 0, 0, 0, 0, "unknown module 'foo'" },
};

int main(void)
{
  int passed = 0, failed = 0;
  size_t i;

  for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const struct row *r = &rows[i];
    struct pfringint_devspec s;
    char err[256] = "", devs[1024] = "";
    int rc = pfringint_parse_device_name(r->name, &s, err, sizeof(err)), ok = rc == r->rc;
    u_int32_t d;

    if (ok && rc == 0) {
      for (d = 0; d < s.num_devices; d++) {
        if (d)
          strcat(devs, ",");
        strcat(devs, s.devices[d]);
      }
      ok = strcmp(devs, r->devs) == 0 && s.channel_mask == r->mask && s.vlan_id == r->vlan &&
           s.any == r->any && s.none == r->none && strcmp(s.module, r->module) == 0;
    } else if (ok) {
      ok = strstr(err, r->msg) != NULL && strstr(err, r->name) != NULL;
    }
    if (ok) {
      passed++;
    } else {
      failed++;
      printf("FAIL '%s': rc %d (want %d) devs '%s' mask %llx vlan %u err '%s'\n", r->name, rc,
             r->rc, devs, (unsigned long long)s.channel_mask, s.vlan_id, err);
    }
  }
  {
    struct pfringint_devspec s;
    char err[256];
    if (pfringint_parse_device_name(NULL, &s, err, sizeof(err)) == PF_RING_ERROR_INVALID_ARGUMENT)
      passed++;
    else {
      failed++;
      printf("FAIL NULL name\n");
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
