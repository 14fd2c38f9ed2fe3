/*
 * fuzz_device_name.c - the device-name parser (libpfring/src/device_name.c,
 * the grammar above pfring_open in pfring.h).
 *
 * Input: one byte, the size of the error buffer (0..255: a heap block of
 * exactly that size, so a message written past it is an ASan report), then
 * the name.  The name is cut at its first NUL, as a C string is; the bytes
 * after it are parsed too, as a second name.
 *
 * Checks, for every name:
 *   - the result is 0 or one of the three codes the grammar names
 *     (BAD_IFNAME, INVALID_ARGUMENT, NOT_SUPPORTED);
 *   - on failure the message is one printable line starting "bad device
 *     name" (cut to the buffer), and the spec is the initial one;
 *   - on success the spec obeys the grammar: "any", "none" or 1..32
 *     devices, each a valid kernel interface name, none twice; module "",
 *     "zc" or "xdp", the latter two with one device (one or more of its RX
 *     queues) and no VLAN id; a VLAN id of 0..4095 or none; and the error buffer is empty;
 *   - a second parse gives the same spec and message.
 */
#include "common.h"

#include <ctype.h>

#include "pfring_int.h"

static void check_name(const char *dev)
{
  size_t len = strnlen(dev, IFNAMSIZ), i;

  FUZZ_CHECK(len >= 1 && len < IFNAMSIZ, "a device name of %zu characters", len);
  FUZZ_CHECK(strcmp(dev, ".") && strcmp(dev, ".."), "device '%s'", dev);
  for (i = 0; i < len; i++)
    FUZZ_CHECK(dev[i] != '/' && dev[i] != ':' && !isspace((unsigned char)dev[i]),
               "character 0x%02x in device '%s'", (unsigned char)dev[i], dev);
}

static void check_spec(const struct pfringint_devspec *s)
{
  u_int32_t i, j;

  if (!strcmp(s->module, "dnacluster")) {   /* dnacluster:ID@APP: a cluster, no device */
    FUZZ_CHECK(!s->any && !s->none && s->num_devices == 0,
               "a dnacluster: ring with any %u, none %u, %u devices", s->any, s->none,
               s->num_devices);
    FUZZ_CHECK(s->dna_cluster_id > 0, "dnacluster id %u", s->dna_cluster_id);
    return;
  }
  FUZZ_CHECK(s->any + s->none + (s->num_devices > 0) == 1,
             "any %u, none %u, %u devices", s->any, s->none, s->num_devices);
  FUZZ_CHECK(s->num_devices <= MAX_NUM_DEVICES, "%u devices", s->num_devices);
  FUZZ_CHECK(s->vlan_id == RING_ANY_VLAN || s->vlan_id <= 4095, "VLAN id %u", s->vlan_id);
  FUZZ_CHECK(s->channel_mask != 0, "an empty channel mask");
  for (i = 0; i < s->num_devices; i++) {
    check_name(s->devices[i]);
    for (j = 0; j < i; j++)
      FUZZ_CHECK(strcmp(s->devices[i], s->devices[j]), "device '%s' twice", s->devices[i]);
  }
  FUZZ_CHECK(!strcmp(s->module, "") || !strcmp(s->module, "zc") || !strcmp(s->module, "xdp"),
             "module '%.16s'", s->module);
  if (s->module[0]) {
    FUZZ_CHECK(s->num_devices == 1, "a %s: ring on %u devices", s->module, s->num_devices);
    FUZZ_CHECK(s->vlan_id == RING_ANY_VLAN, "a %s: ring with VLAN %u", s->module, s->vlan_id);
  }
  if (s->any || s->none)
    FUZZ_CHECK(s->channel_mask == RING_ANY_CHANNEL && s->vlan_id == RING_ANY_VLAN,
               "'%s' with queues %#llx, VLAN %u", s->any ? "any" : "none",
               (unsigned long long)s->channel_mask, s->vlan_id);
}

static void check_initial(const struct pfringint_devspec *s)
{
  struct pfringint_devspec init;

  memset(&init, 0, sizeof(init));
  init.channel_mask = RING_ANY_CHANNEL;
  init.vlan_id = RING_ANY_VLAN;
  FUZZ_CHECK(memcmp(s, &init, sizeof(init)) == 0, "a failed parse left a spec behind");
}

static void check_message(const char *buf, size_t size)
{
  static const char prefix[] = "bad device name";
  size_t n, i;

  if (!size)
    return;
  n = strnlen(buf, size);
  FUZZ_CHECK(n < size, "an unterminated message");
  FUZZ_CHECK(n == size - 1 || n >= sizeof(prefix) - 1, "message '%s' in %zu bytes", buf, size);
  FUZZ_CHECK(strncmp(buf, prefix, n < sizeof(prefix) - 1 ? n : sizeof(prefix) - 1) == 0,
             "message '%s'", buf);
  for (i = 0; i < n; i++)
    FUZZ_CHECK(isprint((unsigned char)buf[i]), "byte 0x%02x in message '%s'",
               (unsigned char)buf[i], buf);
}

static void parse_one(const char *name, size_t errlen)
{
  struct pfringint_devspec a, b;
  char *e1 = malloc(errlen ? errlen : 1), *e2 = malloc(errlen ? errlen : 1);
  int rc, rc2;

  FUZZ_CHECK(e1 && e2, "out of memory");
  memset(&a, 0x5A, sizeof(a));
  memset(&b, 0xA5, sizeof(b));
  rc = pfringint_parse_device_name(name, &a, errlen ? e1 : NULL, errlen);
  rc2 = pfringint_parse_device_name(name, &b, errlen ? e2 : NULL, errlen);
  FUZZ_CHECK(rc == rc2, "%d, then %d", rc, rc2);
  FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "two parses, two specs");
  if (rc == 0) {
    check_spec(&a);
    FUZZ_CHECK(!errlen || e1[0] == '\0', "success with message '%s'", e1);
  } else {
    FUZZ_CHECK(rc == PF_RING_ERROR_BAD_IFNAME || rc == PF_RING_ERROR_INVALID_ARGUMENT ||
               rc == PF_RING_ERROR_NOT_SUPPORTED, "code %d", rc);
    check_initial(&a);
    check_message(e1, errlen);
    FUZZ_CHECK(!errlen || errlen == 1 || e1[0], "no message for code %d", rc);
    FUZZ_CHECK(!errlen || strcmp(e1, e2) == 0, "messages '%s' and '%s'", e1, e2);
  }
  free(e1);
  free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *name;
  size_t errlen, len, first;

  if (size < 1)
    return 0;
  errlen = data[0];
  len = size - 1;
  name = malloc(len + 1);       /* exactly the name and its NUL */
  FUZZ_CHECK(name != NULL, "out of memory");
  memcpy(name, data + 1, len);
  name[len] = '\0';
  parse_one(name, errlen);
  first = strlen(name);
  if (first < len)
    parse_one(name + first + 1, errlen);
  free(name);
  return 0;
}
