/*
 * hw_encode.c - libpfring/src/hw_encode.c on its own: reads lines
 * "<num_queues> <hw_filtering_rule in hex>" on stdin and prints, per line,
 * either "ok <cmd> <flow_type> <location> <ring_cookie> <h_u> <m_u>
 * <h_ext vlan_tci> <m_ext vlan_tci>" (numbers in hex, h_u and m_u the
 * first 16 bytes of the unions in hex, the VLAN fields as the bytes in
 * memory) or "err <code> <message>".  Used by
 * tests/unit/test_hw_rules_encoding.py.
 */
#include <stdio.h>
#include <string.h>
#include <linux/ethtool.h>

#include "pfring_int.h"

static int unhex(const char *s, void *out, size_t n)
{
  size_t i;
  unsigned v;

  if (strlen(s) < 2 * n)
    return -1;
  for (i = 0; i < n; i++) {
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      return -1;
    ((unsigned char *)out)[i] = (unsigned char)v;
  }
  return 0;
}

static void hex(const void *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    printf("%02x", ((const unsigned char *)p)[i]);
}

int main(void)
{
  char line[1024], err[256];
  hw_filtering_rule r;
  struct ethtool_rxnfc cmd;
  int queues, off, rc;

  while (fgets(line, sizeof(line), stdin)) {
    if (sscanf(line, "%d %n", &queues, &off) != 1 || unhex(line + off, &r, sizeof(r)) < 0) {
      fprintf(stderr, "bad input line: %s", line);
      return 2;
    }
    memset(&cmd, 0xAA, sizeof(cmd));             /* every byte the encoder leaves shows */
    rc = pfringint_hw_rule_encode(&r, queues, &cmd, err, sizeof(err));
    if (rc < 0) {
      printf("err %d %s\n", rc, err);
      continue;
    }
    printf("ok %x %x %x %llx ", cmd.cmd, cmd.fs.flow_type, cmd.fs.location,
           (unsigned long long)cmd.fs.ring_cookie);
    hex(&cmd.fs.h_u, 16);
    printf(" ");
    hex(&cmd.fs.m_u, 16);
    printf(" ");
    hex(&cmd.fs.h_ext.vlan_tci, 2);
    printf(" ");
    hex(&cmd.fs.m_ext.vlan_tci, 2);
    printf("\n");
  }
  return 0;
}
