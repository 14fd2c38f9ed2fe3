/*
 * device_name.c - the one parser of PF_RING device names.  The grammar is
 * written above pfring_open() in pfring.h; every error message starts with
 * the offending name in quotes and says what is wrong with it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pfring_int.h"

/* Modules PF_RING users may type, and what we tell them. */
static const struct {
  const char *module;
  const char *advice;
} unsupported[] = {
  { "zc", "zero-copy rings need the closed PF_RING ZC library" },
  { "dna", "DNA was replaced by ZC in PF_RING 6 and is not available" },
  { "dnacl", "DNA clusters are not available" },
  { "dnacluster", "DNA clusters are not available" },
  { "pcap", "use the interface name, or libpcap directly for files" },
  { "stack", "stack injection needs the pf_ring kernel module" },
  { "sysdig", "sysdig capture is not available" },
  { "timeline", "n2disk timelines are not available" },
  { "fbcard", "Fiberblaze cards are not supported" },
  { "nt", "Napatech cards are not supported" },
  { "mlx", "Mellanox/NVIDIA native capture is not supported" },
  { "multi", "use a device list such as eth0,eth1" },
  { "userspace", "userspace rings are not available" },
};

static int fail(char *errbuf, size_t errlen, int rc, const char *name, const char *fmt, ...)
{
  char why[160];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  snprintf(errbuf, errlen, "bad device name '%s': %s", name, why);
  return rc;
}

/* Parses "N", "N-M" lists into a 64-bit mask. */
static int parse_channels(const char *s, u_int64_t *mask, const char *name,
                          char *errbuf, size_t errlen)
{
  *mask = 0;
  if (!*s)
    return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "empty channel list after '@'");
  for (;;) {
    unsigned long a, b;
    int n;
    if (!isdigit((unsigned char)*s) || sscanf(s, "%lu%n", &a, &n) != 1 || n > 3)
      return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "bad channel list at '%s'", s);
    s += n;
    b = a;
    if (*s == '-') {
      s++;
      if (!isdigit((unsigned char)*s) || sscanf(s, "%lu%n", &b, &n) != 1 || n > 3)
        return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "bad channel range at '%s'", s);
      s += n;
    }
    if (a > b)
      return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "channel range %lu-%lu is reversed", a, b);
    if (b >= MAX_NUM_RX_CHANNELS)
      return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name,
                  "channel %lu is out of range (0..%d)", b, MAX_NUM_RX_CHANNELS - 1);
    for (; a <= b; a++)
      *mask |= (u_int64_t)1 << a;
    if (!*s)
      return 0;
    if (*s != ',' || !s[1])
      return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "bad channel list at '%s'", s);
    s++;
  }
}

/* Literal names (in parentheses) may hold any character but '/' and spaces. */
static int check_ifname(const char *dev, size_t len, int literal, const char *name,
                        char *errbuf, size_t errlen)
{
  const char *bad = literal ? "/" : "/:@()";
  size_t i;

  if (len == 0)
    return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "empty interface name in the list");
  if (len >= IFNAMSIZ)
    return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name,
                "interface name too long (max %d characters)", IFNAMSIZ - 1);
  for (i = 0; i < len; i++)
    if (strchr(bad, dev[i]) || isspace((unsigned char)dev[i]))
      return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name,
                  "character '%c' is not allowed in an interface name", dev[i]);
  return 0;
}

/* One list element: "(literal)" or "ifname[.vlan]". */
static int parse_device(const char *el, size_t len, struct pfringint_devspec *spec,
                        const char *name, char *errbuf, size_t errlen)
{
  char dev[IFNAMSIZ * 4];
  size_t i;
  int rc, literal = len > 0 && el[0] == '(';

  if (len >= sizeof(dev))
    return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name,
                "interface name too long (max %d characters)", IFNAMSIZ - 1);
  if (spec->num_devices >= MAX_NUM_DEVICES)
    return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name,
                "more than %d devices", MAX_NUM_DEVICES);
  if (literal) {
    if (len < 2 || el[len - 1] != ')')
      return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "unbalanced parentheses");
    el++;
    len -= 2;
    if (len == 0)
      return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "empty name in parentheses");
  } else {
    const char *dot = memrchr(el, '.', len);
    if (dot) {
      size_t vlen = len - (size_t)(dot - el) - 1;
      int digits = vlen > 0;
      for (i = 0; i < vlen; i++)
        digits = digits && isdigit((unsigned char)dot[1 + i]);
      if (vlen == 0)
        return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "nothing after the '.'");
      if (digits) {
        unsigned long vlan = 0;
        for (i = 0; i < vlen && vlan <= 4095; i++)
          vlan = vlan * 10 + (unsigned long)(dot[1 + i] - '0');
        if (vlan > 4095)
          return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name,
                      "VLAN id %.*s is out of range (0..4095)", (int)vlen, dot + 1);
        if (spec->vlan_id != RING_ANY_VLAN && spec->vlan_id != vlan)
          return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name, "conflicting VLAN ids");
        spec->vlan_id = (u_int16_t)vlan;
        len = (size_t)(dot - el);
      }
    }
  }
  if ((rc = check_ifname(el, len, literal, name, errbuf, errlen)) < 0)
    return rc;
  memcpy(dev, el, len);
  dev[len] = '\0';
  for (i = 0; i < spec->num_devices; i++)
    if (strcmp(spec->devices[i], dev) == 0)
      return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name,
                  "device '%s' is listed twice", dev);
  memcpy(spec->devices[spec->num_devices++], dev, len + 1);
  return 0;
}

/* Splits off "module:" (outside parentheses); returns the rest. */
static int parse_module(const char *name, const char **rest, struct pfringint_devspec *spec,
                        char *errbuf, size_t errlen)
{
  const char *colon = strchr(name, ':');
  const char *paren = strchr(name, '(');
  size_t len, i;

  *rest = name;
  if (!colon || (paren && paren < colon))
    return 0;
  len = (size_t)(colon - name);
  *rest = colon + 1;
  if (len == 7 && strncmp(name, "default", 7) == 0)
    return 0;
  if (len == 3 && strncmp(name, "xdp", 3) == 0) {
    memcpy(spec->module, "xdp", 4);
    return 0;
  }
  for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
    if (strlen(unsupported[i].module) == len && strncmp(name, unsupported[i].module, len) == 0)
      return fail(errbuf, errlen, PF_RING_ERROR_NOT_SUPPORTED, name,
                  "module '%s:' is not supported: %s", unsupported[i].module, unsupported[i].advice);
  return fail(errbuf, errlen, PF_RING_ERROR_NOT_SUPPORTED, name, "unknown module '%.*s'",
              (int)len, name);
}

int pfringint_parse_device_name(const char *name, struct pfringint_devspec *spec,
                                char *errbuf, size_t errlen)
{
  const char *s, *at, *end, *p;
  int depth = 0, rc;

  memset(spec, 0, sizeof(*spec));
  spec->channel_mask = RING_ANY_CHANNEL;
  spec->vlan_id = RING_ANY_VLAN;
  if (!name) {
    snprintf(errbuf, errlen, "device name is NULL");
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  if (!*name)
    return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "empty name");
  if ((rc = parse_module(name, &s, spec, errbuf, errlen)) < 0)
    return rc;

  /* The channel list: the last '@' outside parentheses. */
  at = NULL;
  for (p = s; *p; p++) {
    if (*p == '(')
      depth++;
    else if (*p == ')')
      depth--;
    else if (*p == '@' && depth == 0)
      at = p;
  }
  if (depth != 0)
    return fail(errbuf, errlen, PF_RING_ERROR_BAD_IFNAME, name, "unbalanced parentheses");
  end = at ? at : s + strlen(s);
  if (at && (rc = parse_channels(at + 1, &spec->channel_mask, name, errbuf, errlen)) < 0)
    return rc;

  if ((size_t)(end - s) == 3 && strncmp(s, "any", 3) == 0) {
    spec->any = 1;
  } else if ((size_t)(end - s) == 4 && strncmp(s, "none", 4) == 0) {
    spec->none = 1;
  } else {
    for (p = s; p <= end; ) {
      const char *comma = p;
      depth = 0;
      while (comma < end && (depth > 0 || *comma != ',')) {
        depth += (*comma == '(') - (*comma == ')');
        comma++;
      }
      if ((rc = parse_device(p, (size_t)(comma - p), spec, name, errbuf, errlen)) < 0)
        return rc;
      p = comma + 1;
    }
  }
  if ((spec->any || spec->none) && at)
    return fail(errbuf, errlen, PF_RING_ERROR_INVALID_ARGUMENT, name,
                "an RX queue needs a real device, not '%s'", spec->any ? "any" : "none");
  return 0;
}
