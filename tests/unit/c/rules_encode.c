/*
 * rules_encode.c - kernel/rules/encode.c on its own: reads filtering_rule
 * structs (hex, one per line on stdin) and prints, per line, either
 * "ok <the pfring_rules_wild in hex>" or "err <code> <message>".  A line
 * "h <hash_filtering_rule in hex>" is a hash rule: "ok <the
 * pfring_rules_hkey in hex> <action>" or the error.  A line "c <sock_filter
 * array in hex>" is a classic filter: "native <form> <snap>"
 * (pfringint_rules_native).  Used by
 * tests/unit/test_rules_encoding.py.
 */
#include <stdio.h>
#include <string.h>

#include "pfring_int.h"
#include "pfring_rules.h"

static int unhex(const char *line, void *out, size_t n)
{
  size_t i;
  unsigned v;

  if (strlen(line) < 2 * n)
    return -1;
  for (i = 0; i < n; i++) {
    if (sscanf(line + 2 * i, "%2x", &v) != 1)
      return -1;
    ((unsigned char *)out)[i] = (unsigned char)v;
  }
  return 0;
}

static int hash_line(const char *line)
{
  hash_filtering_rule h;
  struct pfring_rules_hkey k;
  char err[256];
  u_int8_t action;
  size_t i;
  int rc;

  if (unhex(line, &h, sizeof(h)) < 0)
    return 2;
  rc = pfringint_hash_rule_encode(&h, &k, &action, err, sizeof(err));
  if (rc < 0) {
    printf("err %d %s\n", rc, err);
    return 0;
  }
  printf("ok ");
  for (i = 0; i < sizeof(k); i++)
    printf("%02x", ((unsigned char *)&k)[i]);
  printf(" %u\n", action);
  return 0;
}

static int classic_line(const char *line)
{
  struct sock_filter f[64];
  size_t n = strspn(line, "0123456789abcdefABCDEF") / (2 * sizeof(f[0]));
  u_int32_t snap;
  int form;

  if (n == 0 || n > 64 || unhex(line, f, n * sizeof(f[0])) < 0)
    return 2;
  form = pfringint_rules_native(f, (u_int32_t)n, &snap);
  printf("native %d %u\n", form, snap);
  return 0;
}

int main(void)
{
  char line[2048], err[256];
  filtering_rule r;
  struct pfring_rules_wild w;
  size_t i;
  unsigned v;
  int rc;

  while (fgets(line, sizeof(line), stdin)) {
    if (line[0] == 'h' && line[1] == ' ') {
      if (hash_line(line + 2))
        return 2;
      continue;
    }
    if (line[0] == 'c' && line[1] == ' ') {
      if (classic_line(line + 2))
        return 2;
      continue;
    }
    if (strlen(line) < 2 * sizeof(r))
      return 2;
    for (i = 0; i < sizeof(r); i++) {
      if (sscanf(line + 2 * i, "%2x", &v) != 1)
        return 2;
      ((unsigned char *)&r)[i] = (unsigned char)v;
    }
    rc = pfringint_rule_encode(&r, &w, err, sizeof(err));
    if (rc < 0) {
      printf("err %d %s\n", rc, err);
      continue;
    }
    printf("ok ");
    for (i = 0; i < sizeof(w); i++)
      printf("%02x", ((unsigned char *)&w)[i]);
    printf("\n");
  }
  return 0;
}
