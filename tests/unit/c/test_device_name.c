/*
 * test_device_name.c - table tests of pfringint_parse_device_name(), the
 * grammar above pfring_open() in pfring.h.  Every row checks the return
 * code and then either every field of the spec or the message (which must
 * start with the quoted input) and that the spec was left empty.
 * Prints one line per failed case and "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "pfring_int.h"

#define ANYCH RING_ANY_CHANNEL
#define ANYV RING_ANY_VLAN
#define BAD PF_RING_ERROR_BAD_IFNAME
#define INVAL PF_RING_ERROR_INVALID_ARGUMENT
#define NOSUP PF_RING_ERROR_NOT_SUPPORTED

struct row {
  const char *name;
  int rc;
  const char *devs;             /* success: devices joined with '|' */
  u_int64_t mask;
  u_int16_t vlan;
  const char *module;
  int any, none;
  const char *msg;              /* failure: expected part of the message */
};

#define OK(n, d, m, v) { n, 0, d, m, v, "", 0, 0, NULL }
#define OK_MOD(n, d, m, v, mod) { n, 0, d, m, v, mod, 0, 0, NULL }
#define ERR(n, rc, text) { n, rc, NULL, 0, 0, NULL, 0, 0, text }

static const struct row rows[] = {
  /* the examples of the grammar comment */
  OK("eth0", "eth0", ANYCH, ANYV),
  OK("eth0@2", "eth0", 1ull << 2, ANYV),
  OK("eth0@1-3,5", "eth0", 0x2e, ANYV),
  OK("eth0,eth1", "eth0|eth1", ANYCH, ANYV),
  OK("eth0.100", "eth0", ANYCH, 100),
  OK("(eth0.100)", "eth0.100", ANYCH, ANYV),
  { "any", 0, "", ANYCH, ANYV, "", 1, 0, NULL },
  { "none", 0, "", ANYCH, ANYV, "", 0, 1, NULL },
  OK("default:eth0", "eth0", ANYCH, ANYV),
  OK_MOD("xdp:eth0@0", "eth0", 1, ANYV, "xdp"),
  OK_MOD("zc:eth0", "eth0", ANYCH, ANYV, "zc"),
  OK_MOD("zc:eth0@3", "eth0", 1ull << 3, ANYV, "zc"),
  OK_MOD("dna:eth0", "eth0", ANYCH, ANYV, "zc"),
  /* channels */
  OK("eth0@0", "eth0", 1, ANYV),
  OK("eth0@63", "eth0", 1ull << 63, ANYV),
  OK("eth0@0-63", "eth0", ~0ull, ANYV),
  OK("eth0@1-1", "eth0", 2, ANYV),
  OK("eth0@5,1-2,5", "eth0", 0x26, ANYV),
  OK("eth0@007", "eth0", 1ull << 7, ANYV),
  OK("eth0,eth1@1", "eth0|eth1", 2, ANYV),
  /* VLANs */
  OK("eth0.0", "eth0", ANYCH, 0),
  OK("eth0.4095", "eth0", ANYCH, 4095),
  OK("eth0.0100", "eth0", ANYCH, 100),
  OK("eth0.100@3", "eth0", 8, 100),
  OK("eth0.100,eth1.100", "eth0|eth1", ANYCH, 100),
  OK("eth0.100.200", "eth0.100", ANYCH, 200),
  OK("br.lan", "br.lan", ANYCH, ANYV),
  OK("eth0.a1", "eth0.a1", ANYCH, ANYV),
  OK("abcdefghijklmno.7", "abcdefghijklmno", ANYCH, 7),
  /* names and literals */
  OK("abcdefghijklmno", "abcdefghijklmno", ANYCH, ANYV),
  OK("br-lan", "br-lan", ANYCH, ANYV),
  OK("(a,b)", "a,b", ANYCH, ANYV),
  OK("(a@b)@1", "a@b", 2, ANYV),
  OK("(any)", "any", ANYCH, ANYV),
  OK("(eth0.100),eth1", "eth0.100|eth1", ANYCH, ANYV),
  OK("(eth0.100),(eth0.200)", "eth0.100|eth0.200", ANYCH, ANYV),
  { "default:any", 0, "", ANYCH, ANYV, "", 1, 0, NULL },
  OK_MOD("xdp:eth1", "eth1", ANYCH, ANYV, "xdp"),
  ERR("xdp:eth0.5@1-2", NOSUP, "a xdp: ring takes no VLAN id"),

  /* empty names and elements */
  ERR("", BAD, "empty device name"),
  ERR("eth0,,eth1", BAD, "empty interface name in the list"),
  ERR(",eth0", BAD, "empty interface name in the list"),
  ERR("eth0,", BAD, "empty interface name in the list"),
  ERR("@1", BAD, "empty interface name"),
  ERR("xdp:", BAD, "empty interface name"),
  ERR("default:@1", BAD, "empty interface name"),
  ERR(".100", BAD, "empty interface name"),
  ERR("eth0.", BAD, "nothing after the '.'"),
  ERR("..", BAD, "nothing after the '.'"),
  /* bad names */
  ERR("abcdefghijklmnop", BAD, "interface name too long (max 15 characters): 'abcdefghijklmnop'"),
  ERR("abcdefghijklmnop.5", BAD, "too long"),
  ERR("(abcdefghijklmnop)", BAD, "too long"),
  ERR("eth 0", BAD, "not allowed"),
  ERR(" eth0", BAD, "not allowed"),
  ERR("a/b", BAD, "character '/'"),
  ERR("(a:b)", BAD, "character ':'"),
  ERR("(a b)", BAD, "not allowed"),
  ERR("(.)", BAD, "'.' is not an interface name"),
  ERR("xdp:zc:eth0", BAD, "character ':'"),
  /* parentheses */
  ERR("(eth0", BAD, "unbalanced parentheses"),
  ERR("eth0)", BAD, "unbalanced parentheses"),
  ERR("eth0@1)", INVAL, "expected ',' at ')'"),
  ERR("()", BAD, "empty name in parentheses"),
  ERR("((eth0))", BAD, "nested parentheses"),
  ERR("(eth0).5", BAD, "nothing may follow ')'"),
  ERR("a(b)c", BAD, "parentheses must enclose"),
  /* channel lists */
  ERR("eth0@", INVAL, "empty channel list"),
  ERR("eth0@x", INVAL, "bad channel list 'x': expected a channel number at 'x'"),
  ERR("eth0@1,", INVAL, "bad channel list '1,': a channel number is missing at the end"),
  ERR("eth0@,1", INVAL, "at ',1'"),
  ERR("eth0@1,,2", INVAL, "at ',2'"),
  ERR("eth0@1-", INVAL, "missing at the end"),
  ERR("eth0@-1", INVAL, "at '-1'"),
  ERR("eth0@1--2", INVAL, "at '-2'"),
  ERR("eth0@1-2-3", INVAL, "expected ',' at '-3'"),
  ERR("eth0@1x", INVAL, "expected ',' at 'x'"),
  ERR("eth0@1 ", INVAL, "expected ',' at ' '"),
  ERR("eth0@1,eth1", INVAL, "at 'eth1'"),
  ERR("eth0@@1", INVAL, "at '@1'"),
  ERR("eth0@1@2", INVAL, "expected ',' at '@2'"),
  ERR("eth0@3-1", INVAL, "channel range 3-1 is reversed"),
  ERR("eth0@64", INVAL, "channel 64 is out of range (0..63)"),
  ERR("eth0@0-64", INVAL, "channel 64 is out of range"),
  ERR("eth0@99999999999999999999", INVAL, "channel 99999999999999999999 is out of range"),
  ERR("any@1", INVAL, "an RX queue needs a real device, not 'any'"),
  ERR("none@0", INVAL, "not 'none'"),
  /* VLAN ids */
  ERR("eth0.4096", INVAL, "VLAN id 4096 is out of range (0..4095)"),
  ERR("eth0.99999999999999999999", INVAL, "VLAN id 99999999999999999999 is out of range"),
  ERR("eth0.10,eth1.20", INVAL, "conflicting VLAN ids: 'eth0' has VLAN 10, 'eth1' has VLAN 20"),
  ERR("eth0.10,eth1", INVAL, "conflicting VLAN ids"),
  ERR("eth0,eth1.10", INVAL, "conflicting VLAN ids"),
  ERR("(eth0.10),eth1.10", INVAL, "conflicting VLAN ids"),
  /* lists */
  ERR("eth0,eth0", INVAL, "device 'eth0' is listed twice"),
  ERR("eth0.5,eth0.5", INVAL, "listed twice"),
  ERR("eth0,(eth0)", INVAL, "listed twice"),
  ERR("any,eth0", INVAL, "'any' stands alone"),
  ERR("eth0,none", INVAL, "'none' stands alone"),
  ERR("any.100", INVAL, "'any' stands alone"),
  /* modules */
  /* zc:, dna:, xdp: (AF_XDP): one interface, one queue, no VLAN id */
  OK_MOD("zc:eth0@63", "eth0", 1ull << 63, ANYV, "zc"),
  OK_MOD("dna:eth1@007", "eth1", 1ull << 7, ANYV, "zc"),
  OK_MOD("zc:(eth0.100)", "eth0.100", ANYCH, ANYV, "zc"),
  OK_MOD("zc:default", "default", ANYCH, ANYV, "zc"),
  /* several queues of one interface: a channel list, or a list of zc: elements */
  OK_MOD("zc:eth0@1,2", "eth0", 6, ANYV, "zc"),
  OK_MOD("zc:eth0@0-63", "eth0", ANYCH, ANYV, "zc"),
  OK_MOD("dna:eth0@1-2", "eth0", 6, ANYV, "zc"),
  OK_MOD("zc:eth0@0,zc:eth0@1", "eth0", 3, ANYV, "zc"),
  OK_MOD("zc:eth0@0,dna:eth0@2-3,xdp:eth0@5", "eth0", 0x2d, ANYV, "zc"),
  OK_MOD("zc:eth0@0,1,zc:eth0@7", "eth0", 0x83, ANYV, "zc"),
  OK_MOD("xdp:(e.1)@1,xdp:(e.1)@0", "e.1", 3, ANYV, "xdp"),
  ERR("zc:eth0@0,zc:eth0@0", INVAL, "queue 0 of 'eth0' is listed twice"),
  ERR("zc:eth0@0-2,1", INVAL, "queue 1 of 'eth0' is listed twice"),
  ERR("zc:eth0@0,zc:eth1@1", INVAL,
      "a zc: ring opens on one interface: 'eth0' and 'eth1' differ (open one ring per interface)"),
  ERR("zc:eth0@0,eth0@1", INVAL, "'eth0@1' is not a zc: device: a zc: ring opens on one interface"),
  ERR("zc:eth0@0,eth0@1", INVAL, "(a ring cannot mix zc: and standard devices)"),
  ERR("zc:eth0@0,default:eth0@1", INVAL, "a ring cannot mix zc: and other modules"),
  ERR("zc:eth0,eth1", INVAL, "'eth1' is not a zc: device: a zc: ring opens on one interface"),
  ERR("zc:eth0,eth1@1", INVAL, "a zc: ring opens on one interface"),
  ERR("zc:eth0,zc:eth0@1", INVAL, "'eth0' without '@' takes every RX queue; in a list"),
  ERR("zc:eth0@1,zc:eth0", INVAL, "without '@' takes every RX queue"),
  ERR("zc:eth0@1,", BAD, "empty interface name in the list"),
  ERR("zc:eth0@1,zc:", BAD, "empty interface name"),
  ERR("zc:eth0@1,zc:eth0@", INVAL, "empty channel list after '@'"),
  ERR("zc:eth0@1@2", INVAL, "expected ',' at '@2'"),
  ERR("zc:any", INVAL, "a zc: ring opens on one interface, not 'any'"),
  ERR("dna:none", INVAL, "not 'none'"),
  ERR("zc:eth0.100", NOSUP, "a zc: ring takes no VLAN id (use a BPF filter such as 'vlan 100')"),
  ERR("zc:eth0@64", INVAL, "channel 64 is out of range"),
  ERR("zc:", BAD, "empty interface name"),
  ERR("zc:dna:eth0", BAD, "character ':'"),
  ERR("DNA:eth0", NOSUP, "unknown module 'DNA' (modules: default, zc, dna, xdp;"),
  OK_MOD("dnacl:1@0", "", ANYCH, ANYV, "dnacluster"),
  OK_MOD("dnacluster:65535@31", "", ANYCH, ANYV, "dnacluster"),
  ERR("dnacluster:0@0", INVAL, "cluster id 0 is out of range (1..65535)"),
  ERR("dnacluster:65536@0", INVAL, "cluster id 65536 is out of range"),
  ERR("dnacluster:99999999999999999999@0", INVAL, "cluster id 1000000000000 is out of range"),
  ERR("dnacluster:1@99999999999999999999", INVAL, "app id 1000000000000 is out of range"),
  ERR("dnacluster:x@0", INVAL, "the cluster id is not a number"),
  ERR("dnacluster:@0", INVAL, "the cluster id is not a number"),
  ERR("dnacluster:10", INVAL, "the app id (@APP) is missing"),
  ERR("dnacluster:10@", INVAL, "the app id is not a number"),
  ERR("dnacluster:10@32", INVAL, "app id 32 is out of range (0..31)"),
  ERR("dnacluster:10@1,2", INVAL, "unexpected ',2' after the app id"),
  ERR("dnacl:10@1@2", INVAL, "unexpected '@2' after the app id"),
  ERR("pcap:file.pcap", NOSUP, "module 'pcap' is not supported"),
  ERR("stack:eth0", NOSUP, "module 'stack' is not supported"),
  ERR("sysdig:", NOSUP, "module 'sysdig' is not supported"),
  ERR("timeline:/storage", NOSUP, "module 'timeline' is not supported"),
  ERR("fbcard:0", NOSUP, "module 'fbcard' is not supported"),
  ERR("nt:0", NOSUP, "module 'nt' is not supported"),
  ERR("mlx:mlx5_0", NOSUP, "module 'mlx' is not supported"),
  ERR("multi:eth0;eth1", NOSUP, "module 'multi' is not supported: use a device list"),
  ERR("userspace:eth0", NOSUP, "module 'userspace' is not supported"),
  ERR("foo:eth0", NOSUP, "unknown module 'foo'"),
  ERR("ZC:eth0", NOSUP, "unknown module 'ZC'"),
  ERR("eth0:1", NOSUP, "unknown module 'eth0'"),
  ERR(":eth0", NOSUP, "empty module name"),
};

static int passed, failed;

static void join_devices(const struct pfringint_devspec *s, char *out, size_t len)
{
  u_int32_t d;

  out[0] = '\0';
  for (d = 0; d < s->num_devices && d < MAX_NUM_DEVICES; d++) {
    if (d)
      strncat(out, "|", len - strlen(out) - 1);
    strncat(out, s->devices[d], len - strlen(out) - 1);
  }
}

static int spec_is_empty(const struct pfringint_devspec *s)
{
  return s->num_devices == 0 && !s->any && !s->none && s->module[0] == '\0' &&
         s->channel_mask == ANYCH && s->vlan_id == ANYV;
}

static int check_success(const struct row *r, const struct pfringint_devspec *s,
                         const char *err)
{
  char devs[MAX_NUM_DEVICES * (IFNAMSIZ + 1) + 1];

  join_devices(s, devs, sizeof(devs));
  return strcmp(devs, r->devs) == 0 && s->channel_mask == r->mask && s->vlan_id == r->vlan &&
         s->any == r->any && s->none == r->none && strcmp(s->module, r->module) == 0 &&
         err[0] == '\0';
}

static int check_failure(const struct row *r, const struct pfringint_devspec *s,
                         const char *err)
{
  char prefix[256];

  snprintf(prefix, sizeof(prefix), "bad device name '%s': ", r->name);
  return strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, r->msg) != NULL &&
         strchr(err, '\n') == NULL && spec_is_empty(s);
}

static void run_row(const struct row *r)
{
  struct pfringint_devspec s;
  char err[PFRING_ERRBUF_SIZE] = "junk", devs[MAX_NUM_DEVICES * (IFNAMSIZ + 1) + 1];
  int rc = pfringint_parse_device_name(r->name, &s, err, sizeof(err));
  int ok = rc == r->rc && (rc == 0 ? check_success(r, &s, err) : check_failure(r, &s, err));

  if (ok) {
    passed++;
    return;
  }
  failed++;
  join_devices(&s, devs, sizeof(devs));
  printf("FAIL '%s': rc %d (want %d) devs '%s' mask %llx vlan %u module '%s' any %u none %u "
         "err '%s'\n", r->name, rc, r->rc, devs, (unsigned long long)s.channel_mask,
         s.vlan_id, s.module, s.any, s.none, err);
}

static void check(int cond, const char *what, const char *err)
{
  if (cond) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s: err '%s'\n", what, err);
  }
}

/* Cases a table row cannot express. */
static void run_extra(void)
{
  struct pfringint_devspec s;
  char err[PFRING_ERRBUF_SIZE], name[1024], small[32];
  int i, rc;

  rc = pfringint_parse_device_name(NULL, &s, err, sizeof(err));
  check(rc == INVAL && strstr(err, "NULL") && spec_is_empty(&s), "NULL name", err);

  /* MAX_NUM_DEVICES devices are fine, one more is not. */
  name[0] = '\0';
  for (i = 0; i < MAX_NUM_DEVICES; i++)
    snprintf(name + strlen(name), sizeof(name) - strlen(name), "%sd%d", i ? "," : "", i);
  rc = pfringint_parse_device_name(name, &s, err, sizeof(err));
  check(rc == 0 && s.num_devices == MAX_NUM_DEVICES && strcmp(s.devices[31], "d31") == 0,
        "32 devices", err);
  strcat(name, ",d32");
  rc = pfringint_parse_device_name(name, &s, err, sizeof(err));
  check(rc == INVAL && strstr(err, "more than 32 devices") && spec_is_empty(&s),
        "33 devices", err);

  /* A long input is shortened in the message; the reason still shows. */
  memset(name, 'a', 400);
  name[400] = '\0';
  rc = pfringint_parse_device_name(name, &s, err, sizeof(err));
  check(rc == BAD && strstr(err, "aaa...'") && strstr(err, "too long") &&
        strlen(err) < sizeof(err) - 1, "long input", err);

  /* Control characters never reach the message. */
  rc = pfringint_parse_device_name("eth\n0", &s, err, sizeof(err));
  check(rc == BAD && !strchr(err, '\n') && strstr(err, "'eth?0'"), "newline in name", err);
  rc = pfringint_parse_device_name("eth0@1\n", &s, err, sizeof(err));
  check(rc == INVAL && !strchr(err, '\n'), "newline in channels", err);

  /* The message never goes past errlen. */
  memset(small, 'X', sizeof(small));
  rc = pfringint_parse_device_name("eth0,,eth1", &s, small, 10);
  check(rc == BAD && strlen(small) == 9 && small[10] == 'X' && small[31] == 'X',
        "errlen 10", small);
  memset(small, 'X', sizeof(small));
  rc = pfringint_parse_device_name("eth0,,eth1", &s, small, 1);
  check(rc == BAD && small[0] == '\0' && small[1] == 'X', "errlen 1", small);
  rc = pfringint_parse_device_name("eth0,,eth1", &s, NULL, 0);
  check(rc == BAD, "errbuf NULL", "");
  rc = pfringint_parse_device_name(NULL, &s, NULL, 0);
  check(rc == INVAL, "NULL name and errbuf", "");

  /* The ids of a DNA cluster slave. */
  rc = pfringint_parse_device_name("dnacluster:10@3", &s, err, sizeof(err));
  check(rc == 0 && s.dna_cluster_id == 10 && s.dna_app_id == 3 && s.num_devices == 0,
        "dnacluster ids", err);

  /* A spec used before is reset. */
  pfringint_parse_device_name("zc:eth0@1", &s, err, sizeof(err));
  rc = pfringint_parse_device_name("eth1", &s, err, sizeof(err));
  check(rc == 0 && s.num_devices == 1 && s.module[0] == '\0' && s.vlan_id == ANYV &&
        s.channel_mask == ANYCH, "spec reset", err);
}

int main(void)
{
  size_t i;

  for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    run_row(&rows[i]);
  run_extra();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
