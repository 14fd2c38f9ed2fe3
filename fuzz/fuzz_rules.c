/*
 * fuzz_rules.c - the checks and encodings of the filtering rules
 * (kernel/rules/encode.c): pfringint_rule_encode, pfringint_hash_rule_encode
 * and pfringint_rules_native.
 *
 * Input: one byte picks the target (0: a wildcard rule, 1: a hash rule, 2: a
 * classic program; the others take the next one), one byte the size of the
 * error buffer (0..255, a heap block of exactly that size), then the bytes of
 * a filtering_rule, a hash_filtering_rule or up to 64 sock_filter
 * instructions (a short input reads as zeros).
 *
 * Checks:
 *   - a rule: the result is 0, PF_RING_ERROR_INVALID_ARGUMENT or
 *     PF_RING_ERROR_NOT_SUPPORTED; on failure a message of one printable
 *     line (cut to the buffer); on success the encoding says what the rule
 *     says: the action its rule_action, its rule_id, flags only of known
 *     bits, a VLAN id up to 4095, port ranges low <= high, each host inside
 *     its mask, a pattern of at most PFRING_RULES_PATTERN_MAX bytes, the
 *     tunnel flag exactly with FILTER_TUNNEL_ID_FLAG, reflect_ifindex and
 *     stat_slot left to the caller (0); the same result twice;
 *   - a hash rule: the same codes and message; on success an action up to
 *     bounce and not the add-rule one, and the key in its canonical order
 *     (the rule with peers a and b swapped gives the same key);
 *   - a classic program: the form is one of the four, a native form only
 *     for a program of 1 or 4 instructions ending with "ret #k", and its
 *     snap that k.
 */
#include "common.h"

#include <ctype.h>

#include "pfring_int.h"
#include "pfring_rules.h"

#define KNOWN_FLAGS ((PFRING_RULE_TUNNEL << 1) - 1)

static char *err_block(size_t n)
{
  char *err = malloc(n ? n : 1);

  FUZZ_CHECK(err != NULL, "out of memory");
  return err;
}

static void check_message(int rc, const char *err, size_t errlen)
{
  size_t i, n;

  FUZZ_CHECK(rc == 0 || rc == PF_RING_ERROR_INVALID_ARGUMENT || rc == PF_RING_ERROR_NOT_SUPPORTED,
             "result %d", rc);
  if (rc == 0 || errlen == 0)
    return;
  n = strnlen(err, errlen);
  FUZZ_CHECK(n < errlen, "a message without its NUL in %zu bytes", errlen);
  FUZZ_CHECK(n > 0 || errlen == 1, "an empty message");
  for (i = 0; i < n; i++)
    FUZZ_CHECK(isprint((unsigned char)err[i]), "byte 0x%02x in the message",
               (unsigned char)err[i]);
}

static void check_wild(const filtering_rule *r, const struct pfring_rules_wild *w)
{
  int i;

  FUZZ_CHECK(w->action == (u_int8_t)r->rule_action && w->action <= PFRING_RULE_ACTION_MAX,
             "action %u for rule_action %d", w->action, (int)r->rule_action);
  FUZZ_CHECK(w->rule_id == r->rule_id, "rule_id %u for %u", w->rule_id, r->rule_id);
  FUZZ_CHECK((w->flags & ~(u_int32_t)KNOWN_FLAGS) == 0, "flags %#x", w->flags);
  FUZZ_CHECK(w->vlan_id <= 4095, "VLAN id %u", w->vlan_id);
  if (w->flags & PFRING_RULE_SPORT)
    FUZZ_CHECK(w->sport_low <= w->sport_high, "sport %u..%u", w->sport_low, w->sport_high);
  if (w->flags & PFRING_RULE_DPORT)
    FUZZ_CHECK(w->dport_low <= w->dport_high, "dport %u..%u", w->dport_low, w->dport_high);
  for (i = 0; i < 4; i++) {
    FUZZ_CHECK((w->shost[i] & ~w->shost_mask[i]) == 0, "shost outside its mask");
    FUZZ_CHECK((w->dhost[i] & ~w->dhost_mask[i]) == 0, "dhost outside its mask");
  }
  FUZZ_CHECK(w->pattern_len <= PFRING_RULES_PATTERN_MAX, "pattern of %u bytes", w->pattern_len);
  FUZZ_CHECK(!(w->flags & PFRING_RULE_PATTERN) == (w->pattern_len == 0),
             "pattern flag and length %u", w->pattern_len);
  FUZZ_CHECK(!(w->flags & PFRING_RULE_TUNNEL) ==
               !(r->extended_fields.optional_fields & FILTER_TUNNEL_ID_FLAG),
             "tunnel flag");
  if (w->flags & PFRING_RULE_TUNNEL)
    FUZZ_CHECK(w->tunnel_id == r->extended_fields.tunnel.tunnel_id, "tunnel id");
  FUZZ_CHECK(w->reflect_ifindex == 0 && w->stat_slot == 0, "fields of the caller set");
  if (w->balance_pool)
    FUZZ_CHECK(w->balance_id < w->balance_pool, "balance %u of %u", w->balance_id,
               w->balance_pool);
}

static void wildcard(struct input *in, size_t errlen)
{
  filtering_rule r;
  struct pfring_rules_wild w, w2;
  char *err = err_block(errlen), *err2 = err_block(errlen);
  size_t i;
  int rc, rc2;

  for (i = 0; i < sizeof(r); i++)
    ((u_int8_t *)&r)[i] = take8(in);
  rc = pfringint_rule_encode(&r, &w, err, errlen);
  check_message(rc, err, errlen);
  if (rc == 0)
    check_wild(&r, &w);
  rc2 = pfringint_rule_encode(&r, &w2, err2, errlen);
  FUZZ_CHECK(rc2 == rc, "a second encoding gave %d, then %d", rc, rc2);
  FUZZ_CHECK(rc != 0 || memcmp(&w, &w2, sizeof(w)) == 0, "two encodings differ");
  FUZZ_CHECK(rc == 0 || errlen == 0 || strcmp(err, err2) == 0, "two messages differ");
  free(err);
  free(err2);
}

static void hash(struct input *in, size_t errlen)
{
  hash_filtering_rule r, swapped;
  struct pfring_rules_hkey k, k2;
  char *err = err_block(errlen);
  u_int8_t action, action2;
  size_t i;
  int rc, rc2;

  for (i = 0; i < sizeof(r); i++)
    ((u_int8_t *)&r)[i] = take8(in);
  rc = pfringint_hash_rule_encode(&r, &k, &action, err, errlen);
  check_message(rc, err, errlen);
  if (rc == 0) {
    FUZZ_CHECK(action <= PFRING_RULE_BOUNCE_CONT && action != PFRING_RULE_FORWARD_ADD &&
                   action != PFRING_RULE_FORWARD_DEL,
               "hash action %u", action);
    FUZZ_CHECK(k.ip_version == 4 || k.ip_version == 6, "IP version %u", k.ip_version);
    FUZZ_CHECK(k.vlan_id <= 4095, "VLAN id %u", k.vlan_id);
    swapped = r;
    swapped.host_peer_a = r.host_peer_b;
    swapped.host_peer_b = r.host_peer_a;
    swapped.port_peer_a = r.port_peer_b;
    swapped.port_peer_b = r.port_peer_a;
    rc2 = pfringint_hash_rule_encode(&swapped, &k2, &action2, err, errlen);
    FUZZ_CHECK(rc2 == 0 && action2 == action, "the swapped rule gave %d", rc2);
    FUZZ_CHECK(memcmp(&k, &k2, sizeof(k)) == 0, "the two directions give two keys");
  }
  free(err);
}

static void classic(struct input *in)
{
  struct sock_filter f[64];
  u_int32_t n = take8(in) % 65, i, snap = 12345;
  int form;

  if (n == 0)
    n = 1;
  for (i = 0; i < n; i++) {
    f[i].code = take16(in);
    f[i].jt = take8(in);
    f[i].jf = take8(in);
    f[i].k = take32(in);
  }
  form = pfringint_rules_native(f, n, &snap);
  FUZZ_CHECK(form >= PFRING_RULES_NATIVE_NONE && form <= PFRING_RULES_NATIVE_TX, "form %d", form);
  if (form == PFRING_RULES_NATIVE_NONE) {
    FUZZ_CHECK(snap == 0, "snap %u without a native form", snap);
    return;
  }
  FUZZ_CHECK(n == 1 || n == 4, "a native form of %u instructions", n);
  FUZZ_CHECK(f[n - 1].code == (BPF_RET | BPF_K) && snap == f[n - 1].k, "snap %u", snap);
  FUZZ_CHECK((form == PFRING_RULES_NATIVE_ALL) == (n == 1), "form %d of %u instructions", form, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size };
  u_int8_t which = take8(&in) % 3;
  size_t errlen = take8(&in);

  if (which == 0)
    wildcard(&in, errlen);
  else if (which == 1)
    hash(&in, errlen);
  else
    classic(&in);
  return 0;
}
