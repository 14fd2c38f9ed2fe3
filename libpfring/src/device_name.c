/*
 * device_name.c - the parser of PF_RING device names.
 *
 * The grammar is written down once, above pfring_open() in pfring.h:
 *
 *   device   := [ module ":" ] devices [ "@" channels ]
 *   devices  := "any" | "none" | dev { "," dev }
 *   dev      := ifname [ "." vlan ] | "(" literal ")"
 *
 * Decisions this file makes where the grammar leaves room:
 *  - A module prefix is a run of letters, digits, '_' or '-' followed by
 *    ':' at the very start, so a ':' inside "(...)" or after '@' is never one.
 *  - The channel list starts at the first '@' outside parentheses; another
 *    '@' after it ("eth0@@1", "eth0@1@2") is a malformed channel list.
 *  - Parentheses enclose a whole list element and do not nest.
 *  - Names follow the kernel's dev_valid_name(): 1..15 characters, no '/',
 *    ':' or white space, not "." or "..".  This holds for literals too.
 *  - One VLAN id applies to the whole ring, so in a list either every
 *    device gives the same id or none gives one.
 *  - "zc:" and "dna:" are one module (spec.module "zc"), "xdp:" another
 *    name for the same backend; such a ring is one interface and one or
 *    more of its RX queues, every queue when no '@' is given (as PF_RING
 *    ZC's zc:eth0), no VLAN id.  "zc:eth0@0,1" and "zc:eth0@0,zc:eth0@1"
 *    are the same two queues (parse_xdp).
 *  - "dnacluster:ID@APP" and "dnacl:ID@APP" (spec.module "dnacluster") are
 *    a slave of DNA cluster ID (1..DNA_CLUSTER_MAX_ID), app APP
 *    (0..DNA_CLUSTER_MAX_APPS-1), both decimal, both required; no devices.
 *
 * Every message is one line: "bad device name '<input>': <what is wrong>".
 * On failure the spec is left in its initial state (no devices).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pfring_int.h"

#define MAX_VLAN_ID 4095
#define MAX_CHANNEL (MAX_NUM_RX_CHANNELS - 1)
#define QUOTE_MAX 96            /* longest input copied into a message */
#define PART_MAX 40             /* longest piece of it quoted again after ':' */

/* Module prefixes PF_RING users may type that need closed or kernel parts. */
static const struct {
  const char *module;
  const char *why;
} unsupported[] = {
  { "pcap", "pcap file replay is not available; use libpcap's pcap_open_offline()" },
  { "stack", "stack injection needs the pf_ring kernel module; "
             "use the interface name and pfring_send()" },
  { "sysdig", "system call capture needs the sysdig kernel module; use sysdig itself" },
  { "timeline", "n2disk timelines need the closed n2disk tools; "
                "use the pcap files with libpcap" },
  { "fbcard", "Silicom/Fiberblaze cards need their closed library; "
              "use the card's kernel interface (eth0)" },
  { "nt", "Napatech cards need the closed NTAPI library; "
          "use the card's kernel interface (eth0)" },
  { "mlx", "the native NVIDIA/Mellanox module needs the closed ZC library; "
           "use xdp:eth0@0 or the kernel interface" },
  { "multi", "use a device list such as eth0,eth1" },
  { "userspace", "userspace rings need the pf_ring kernel module; use an interface name" },
};

/* One parse: the input for messages, where messages go, the result. */
struct ctx {
  const char *name;
  char *errbuf;
  size_t errlen;
  struct pfringint_devspec *spec;
  size_t num_elements;          /* list elements in the device part */
  int first_vlan;               /* VLAN of the first element, -1 = none */
  char first_dev[IFNAMSIZ];
};

/* Copies len bytes of s for a message: printable, at most QUOTE_MAX and
 * what fits in outlen with "...". */
static const char *show(const char *s, size_t len, char *out, size_t outlen)
{
  size_t i, n = len > QUOTE_MAX ? QUOTE_MAX : len;

  if (n > outlen - 4)
    n = outlen - 4;
  for (i = 0; i < n; i++)
    out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
  out[n] = '\0';
  if (n < len)
    strcpy(out + n, "...");
  return out;
}

static int fail(struct ctx *c, int rc, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int rc, const char *fmt, ...)
{
  char why[PFRING_ERRBUF_SIZE], quoted[QUOTE_MAX + 4];
  va_list ap;

  if (!c->errbuf || c->errlen == 0)
    return rc;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  snprintf(c->errbuf, c->errlen, "bad device name '%s': %s",
           show(c->name, strlen(c->name), quoted, sizeof(quoted)), why);
  return rc;
}

static int is_word(const char *s, size_t len, const char *word)
{
  return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* ------------------------------------------------------------------------ */
/* Module prefix                                                             */

static int unsupported_module(struct ctx *c, const char *mod, size_t len)
{
  char shown[PART_MAX + 4];
  size_t i;

  for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
    if (is_word(mod, len, unsupported[i].module))
      return fail(c, PF_RING_ERROR_NOT_SUPPORTED, "module '%s' is not supported: %s",
                  unsupported[i].module, unsupported[i].why);
  if (len == 0)
    return fail(c, PF_RING_ERROR_NOT_SUPPORTED, "empty module name before ':'");
  return fail(c, PF_RING_ERROR_NOT_SUPPORTED,
              "unknown module '%s' (modules: default, zc, dna, xdp; "
              "interface names cannot contain ':')", show(mod, len, shown, sizeof(shown)));
}

/* Consumes "module:" at the start of *s, if there is one. */
static int parse_module(struct ctx *c, const char **s)
{
  const char *p = *s;
  size_t len = 0;

  while (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '-')
    len++;
  if (p[len] != ':')
    return 0;
  *s = p + len + 1;
  if (is_word(p, len, "default"))
    return 0;
  if (is_word(p, len, "zc") || is_word(p, len, "dna")) {
    memcpy(c->spec->module, "zc", 3);           /* dna: is zc: under the guide's name */
    return 0;
  }
  if (is_word(p, len, "xdp")) {
    memcpy(c->spec->module, "xdp", 4);
    return 0;
  }
  if (is_word(p, len, "dnacluster") || is_word(p, len, "dnacl")) {
    memcpy(c->spec->module, "dnacluster", 11);
    return 0;
  }
  return unsupported_module(c, p, len);
}

/* ------------------------------------------------------------------------ */
/* Channel list                                                              */

/* Reads N at *p (0..MAX_CHANNEL) and advances *p past it. */
static int channel_number(struct ctx *c, const char *list, const char **p, unsigned *out)
{
  char shown[PART_MAX + 4], at[20];
  const char *s = *p;
  unsigned long v = 0;

  if (!*s)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "bad channel list '%s': a channel number is missing at the end",
                show(list, strlen(list), shown, sizeof(shown)));
  if (!isdigit((unsigned char)*s))
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "bad channel list '%s': expected a channel number at '%s'",
                show(list, strlen(list), shown, sizeof(shown)), show(s, strlen(s), at, 20));
  while (isdigit((unsigned char)*s)) {
    if (v <= MAX_CHANNEL)       /* stays small: no overflow however long */
      v = v * 10 + (unsigned long)(*s - '0');
    s++;
  }
  if (v > MAX_CHANNEL)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "channel %s is out of range (0..%d)",
                show(*p, (size_t)(s - *p), shown, sizeof(shown)), MAX_CHANNEL);
  *out = (unsigned)v;
  *p = s;
  return 0;
}

/* list := range { "," range }, range := N | N "-" M */
static int parse_channels(struct ctx *c, const char *list)
{
  char shown[PART_MAX + 4], at[20];
  const char *p = list;
  u_int64_t mask = 0;
  unsigned a, b;
  int rc;

  if (!*list)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "empty channel list after '@'");
  for (;;) {
    if ((rc = channel_number(c, list, &p, &a)) < 0)
      return rc;
    b = a;
    if (*p == '-') {
      p++;
      if ((rc = channel_number(c, list, &p, &b)) < 0)
        return rc;
      if (a > b)
        return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                    "channel range %u-%u is reversed", a, b);
    }
    for (; a <= b; a++)
      mask |= (u_int64_t)1 << a;
    if (!*p)
      break;
    if (*p != ',')
      return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                  "bad channel list '%s': expected ',' at '%s'",
                  show(list, strlen(list), shown, sizeof(shown)), show(p, strlen(p), at, 20));
    p++;
  }
  c->spec->channel_mask = mask;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */

/* The kernel's rules for a name (dev_valid_name), with our messages. */
static int check_ifname(struct ctx *c, const char *s, size_t len)
{
  char shown[PART_MAX + 4];
  size_t i;

  if (len == 0)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "empty interface name%s",
                c->num_elements > 1 ? " in the list" : "");
  if (len >= IFNAMSIZ)
    return fail(c, PF_RING_ERROR_BAD_IFNAME,
                "interface name too long (max %d characters): '%s'", IFNAMSIZ - 1,
                show(s, len, shown, sizeof(shown)));
  if (is_word(s, len, ".") || is_word(s, len, ".."))
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "'%.*s' is not an interface name", (int)len, s);
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '/' || ch == ':' || isspace(ch)) {
      char what[8];
      snprintf(what, sizeof(what), isprint(ch) ? "'%c'" : "0x%02x", ch);
      return fail(c, PF_RING_ERROR_BAD_IFNAME,
                  "character %s is not allowed in interface name '%s'", what,
                  show(s, len, shown, sizeof(shown)));
    }
  }
  return 0;
}

/* "(literal)": the text between the parentheses, verbatim. */
static int parse_literal(struct ctx *c, const char *el, size_t len, char dev[IFNAMSIZ])
{
  char shown[PART_MAX + 4];
  const char *close = memchr(el, ')', len);
  int rc;

  if (!close)                   /* cannot happen: split_devices checked */
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "unbalanced parentheses");
  if ((size_t)(close - el) != len - 1)
    return fail(c, PF_RING_ERROR_BAD_IFNAME,
                "nothing may follow ')' in '%s' (a literal name takes no VLAN id)",
                show(el, len, shown, sizeof(shown)));
  if (len == 2)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "empty name in parentheses");
  if ((rc = check_ifname(c, el + 1, len - 2)) < 0)
    return rc;
  memcpy(dev, el + 1, len - 2);
  dev[len - 2] = '\0';
  return 0;
}

/* The VLAN id after the last '.', if all digits; -1 if there is none. */
static int parse_vlan(struct ctx *c, const char *el, size_t *len, int *vlan)
{
  char shown[PART_MAX + 4];
  const char *dot = memrchr(el, '.', *len);
  size_t i, n;
  unsigned long v = 0;

  *vlan = -1;
  if (!dot)
    return 0;
  n = *len - (size_t)(dot + 1 - el);
  if (n == 0)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "nothing after the '.' in '%s'",
                show(el, *len, shown, sizeof(shown)));
  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)dot[1 + i]))
      return 0;                 /* "br.lan": the dot is part of the name */
    if (v <= MAX_VLAN_ID)
      v = v * 10 + (unsigned long)(dot[1 + i] - '0');
  }
  if (v > MAX_VLAN_ID)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "VLAN id %s is out of range (0..%d)",
                show(dot + 1, n, shown, sizeof(shown)), MAX_VLAN_ID);
  *vlan = (int)v;
  *len = (size_t)(dot - el);
  return 0;
}

/* "ifname[.vlan]" */
static int parse_plain(struct ctx *c, const char *el, size_t len, char dev[IFNAMSIZ],
                       int *vlan)
{
  char shown[PART_MAX + 4];
  int rc;

  if (memchr(el, '(', len) || memchr(el, ')', len))
    return fail(c, PF_RING_ERROR_BAD_IFNAME,
                "parentheses must enclose a whole interface name: '%s'",
                show(el, len, shown, sizeof(shown)));
  if ((rc = parse_vlan(c, el, &len, vlan)) < 0)
    return rc;
  if ((rc = check_ifname(c, el, len)) < 0)
    return rc;
  memcpy(dev, el, len);
  dev[len] = '\0';
  if (strcmp(dev, "any") == 0 || strcmp(dev, "none") == 0)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "'%s' stands alone: no VLAN id and no other devices with it", dev);
  return 0;
}

/* One VLAN id per ring: every element gives the same one, or none does. */
static int check_vlan(struct ctx *c, const char *dev, int vlan)
{
  struct pfringint_devspec *spec = c->spec;

  if (spec->num_devices == 0) {
    c->first_vlan = vlan;
    snprintf(c->first_dev, sizeof(c->first_dev), "%s", dev);
  } else if (vlan != c->first_vlan) {
    char a[16], b[16], d1[IFNAMSIZ + 4], d2[IFNAMSIZ + 4];
    snprintf(a, sizeof(a), c->first_vlan < 0 ? "none" : "VLAN %d", c->first_vlan);
    snprintf(b, sizeof(b), vlan < 0 ? "none" : "VLAN %d", vlan);
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "conflicting VLAN ids: '%s' has %s, '%s' has %s "
                "(one VLAN id applies to the whole ring)",
                show(c->first_dev, strlen(c->first_dev), d1, sizeof(d1)), a,
                show(dev, strlen(dev), d2, sizeof(d2)), b);
  }
  if (vlan >= 0)
    spec->vlan_id = (u_int16_t)vlan;
  return 0;
}

static int add_device(struct ctx *c, const char *dev)
{
  char shown[IFNAMSIZ + 4];
  struct pfringint_devspec *spec = c->spec;
  u_int32_t i;

  if (spec->num_devices >= MAX_NUM_DEVICES)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "more than %d devices", MAX_NUM_DEVICES);
  for (i = 0; i < spec->num_devices; i++)
    if (strcmp(spec->devices[i], dev) == 0)
      return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "device '%s' is listed twice",
                  show(dev, strlen(dev), shown, sizeof(shown)));
  memcpy(spec->devices[spec->num_devices++], dev, strlen(dev) + 1);
  return 0;
}

static int parse_element(struct ctx *c, const char *el, size_t len)
{
  char dev[IFNAMSIZ];
  int vlan = -1, rc;

  if (len > 0 && el[0] == '(')
    rc = parse_literal(c, el, len, dev);
  else
    rc = parse_plain(c, el, len, dev, &vlan);
  if (rc < 0 || (rc = check_vlan(c, dev, vlan)) < 0)
    return rc;
  return add_device(c, dev);
}

/* Checks the parentheses of s and returns where the device part ends: at
 * the first '@' outside parentheses, or at the end of s. */
static int split_devices(struct ctx *c, const char *s, const char **end)
{
  int open = 0;

  for (*end = s; **end && (open || **end != '@'); (*end)++) {
    if (**end == '(' && open++)
      return fail(c, PF_RING_ERROR_BAD_IFNAME, "nested parentheses");
    if (**end == ')' && !open--)
      return fail(c, PF_RING_ERROR_BAD_IFNAME, "unbalanced parentheses: ')' without '('");
    if (!open && **end == ',')
      c->num_elements++;
  }
  if (open)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "unbalanced parentheses: '(' without ')'");
  c->num_elements++;
  return 0;
}

/* devices := "any" | "none" | dev { "," dev }, the text in [s, end). */
static int parse_devices(struct ctx *c, const char *s, const char *end)
{
  const char *el;
  int open = 0, rc;

  if (is_word(s, (size_t)(end - s), "any")) {
    c->spec->any = 1;
    return 0;
  }
  if (is_word(s, (size_t)(end - s), "none")) {
    c->spec->none = 1;
    return 0;
  }
  for (el = s; ; s++) {
    if (s < end && (open || *s != ',')) {
      open += (*s == '(') - (*s == ')');
      continue;
    }
    if ((rc = parse_element(c, el, (size_t)(s - el))) < 0)
      return rc;
    if (s == end)
      return 0;
    el = s + 1;
  }
}

/* ------------------------------------------------------------------------ */
/* zc:, dna: and xdp: rings (AF_XDP)                                         */

/* Where the device part of a zc: list element ends: the first '@' or ','
 * outside parentheses, or the end of s. */
static int xdp_device_end(struct ctx *c, const char *s, const char **end)
{
  int open = 0;

  for (*end = s; **end && (open || (**end != '@' && **end != ',')); (*end)++) {
    if (**end == '(' && open++)
      return fail(c, PF_RING_ERROR_BAD_IFNAME, "nested parentheses");
    if (**end == ')' && !open--)
      return fail(c, PF_RING_ERROR_BAD_IFNAME, "unbalanced parentheses: ')' without '('");
  }
  if (open)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "unbalanced parentheses: '(' without ')'");
  return 0;
}

/* The queues after '@' of one element: N or N-M, separated by ','; a ','
 * followed by anything but a digit ends them (the next element follows).
 * A queue given twice, in this element or an earlier one, is an error. */
static int xdp_queues(struct ctx *c, const char *dev, const char **p, u_int64_t *mask)
{
  char shown[PART_MAX + 4], at[20];
  const char *list = *p, *s = *p;
  unsigned a, b;
  int rc;

  if (!*s || *s == ',')
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "empty channel list after '@'");
  for (;;) {
    if ((rc = channel_number(c, list, &s, &a)) < 0)
      return rc;
    b = a;
    if (*s == '-') {
      s++;
      if ((rc = channel_number(c, list, &s, &b)) < 0)
        return rc;
      if (a > b)
        return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "channel range %u-%u is reversed", a, b);
    }
    for (; a <= b; a++) {
      if (*mask & ((u_int64_t)1 << a))
        return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                    "queue %u of '%s' is listed twice (a queue is one AF_XDP socket)", a,
                    show(dev, strlen(dev), shown, sizeof(shown)));
      *mask |= (u_int64_t)1 << a;
    }
    if (*s != ',' || !isdigit((unsigned char)s[1]))
      break;
    s++;
  }
  if (*s && *s != ',')
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "bad channel list '%s': expected ',' at '%s'",
                show(list, strlen(list), shown, sizeof(shown)), show(s, strlen(s), at, 20));
  *p = s;
  return 0;
}

/* Consumes the "zc:", "dna:" or "xdp:" that starts every element after the
 * first one of a zc: list; anything else there is a standard device (or
 * another module), which a zc: ring cannot take. */
static int xdp_next_prefix(struct ctx *c, const char **s)
{
  char shown[PART_MAX + 4];
  const char *p = *s, *e;
  size_t len = 0;

  while (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '-')
    len++;
  if (p[len] == ':' && (is_word(p, len, "zc") || is_word(p, len, "dna") ||
                        is_word(p, len, "xdp"))) {
    *s = p + len + 1;
    return 0;
  }
  for (e = p; *e && *e != ','; e++)
    ;
  return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
              "'%s' is not a zc: device: a zc: ring opens on one interface and every "
              "element of its list is zc:DEV@QUEUES (a ring cannot mix zc: and %s)",
              show(p, (size_t)(e - p), shown, sizeof(shown)),
              p[len] == ':' ? "other modules" : "standard devices");
}

/* zc:, dna: and xdp: rings are AF_XDP sockets on the RX queues of one
 * interface, no VLAN id:
 *
 *   xdplist := xdpdev [ "@" queues ] { "," module ":" xdpdev "@" queues }
 *
 * s is what follows the first module prefix.  No '@' (a one-element list):
 * every RX queue of the device (channel_mask RING_ANY_CHANNEL, as PF_RING
 * ZC's zc:eth0); "zc:eth0@0,1" and "zc:eth0@0,zc:eth0@1" are queues 0 and 1;
 * a queue listed twice, another interface and an element without a zc:
 * prefix are errors. */
static int parse_xdp(struct ctx *c, const char *s)
{
  struct pfringint_devspec *spec = c->spec;
  const char *mod = strcmp(spec->module, "xdp") == 0 ? "xdp" : "zc";
  char dev[IFNAMSIZ], shown[IFNAMSIZ + 4], shown2[IFNAMSIZ + 4];
  const char *end;
  u_int64_t mask = 0;
  int vlan, rc, n, no_queue, more;

  for (n = 0;; n++) {
    if ((rc = xdp_device_end(c, s, &end)) < 0)
      return rc;
    if (n == 0 && (is_word(s, (size_t)(end - s), "any") || is_word(s, (size_t)(end - s), "none")))
      return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                  "a %s: ring opens on one interface, not '%.*s'", mod, (int)(end - s), s);
    vlan = -1;
    c->num_elements = (size_t)n + 1;
    if (end > s && s[0] == '(')
      rc = parse_literal(c, s, (size_t)(end - s), dev);
    else
      rc = parse_plain(c, s, (size_t)(end - s), dev, &vlan);
    if (rc < 0)
      return rc;
    if (vlan >= 0)
      return fail(c, PF_RING_ERROR_NOT_SUPPORTED,
                  "a %s: ring takes no VLAN id (use a BPF filter such as 'vlan %d')", mod, vlan);
    if (n == 0)
      memcpy(spec->devices[spec->num_devices++], dev, strlen(dev) + 1);
    else if (strcmp(dev, spec->devices[0]) != 0)
      return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                  "a %s: ring opens on one interface: '%s' and '%s' differ (open one ring "
                  "per interface)", mod, show(spec->devices[0], strlen(spec->devices[0]),
                                              shown, sizeof(shown)),
                  show(dev, strlen(dev), shown2, sizeof(shown2)));
    s = end;
    no_queue = *s != '@';
    if (!no_queue) {
      s++;
      if ((rc = xdp_queues(c, dev, &s, &mask)) < 0)
        return rc;
    }
    more = *s != '\0';
    if (more) {
      s++;                        /* the ',' before the next element */
      if (!*s)
        return fail(c, PF_RING_ERROR_BAD_IFNAME, "empty interface name in the list");
      if ((rc = xdp_next_prefix(c, &s)) < 0)
        return rc;
    }
    if (no_queue && (n > 0 || more))
      return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                  "'%s' without '@' takes every RX queue; in a list, give each element "
                  "its queues (%s:%s@0,%s:%s@1)", show(dev, strlen(dev), shown, sizeof(shown)),
                  mod, shown, mod, shown);
    if (!more)
      break;
  }
  spec->channel_mask = mask ? mask : RING_ANY_CHANNEL;
  return 0;
}

/* Reads a decimal number at *p (any length; values over 10^12 read as
 * 10^12, out of every range), advancing *p: 0, or -1 if there is none. */
static int read_decimal(const char **p, unsigned long long *out)
{
  const char *s = *p;
  unsigned long long v = 0;

  if (!isdigit((unsigned char)*s))
    return -1;
  for (; isdigit((unsigned char)*s); s++)
    if ((v = v * 10 + (unsigned long long)(*s - '0')) > 1000000000000ull)
      v = 1000000000000ull;
  *p = s;
  *out = v;
  return 0;
}

/* "dnacluster:ID@APP": s is what follows the ':'. */
static int parse_dnacluster(struct ctx *c, const char *s)
{
  char shown[PART_MAX + 4];
  unsigned long long id, app;

  if (read_decimal(&s, &id) < 0)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "a DNA cluster slave is dnacluster:ID@APP; the cluster id is not a number");
  if (id == 0 || id > DNA_CLUSTER_MAX_ID)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "cluster id %llu is out of range (1..%u)", id, DNA_CLUSTER_MAX_ID);
  if (*s != '@')
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "a DNA cluster slave is dnacluster:ID@APP; the app id (@APP) is missing");
  s++;
  if (read_decimal(&s, &app) < 0)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "a DNA cluster slave is dnacluster:ID@APP; the app id is not a number");
  if (app >= DNA_CLUSTER_MAX_APPS)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT,
                "app id %llu is out of range (0..%u)", app, DNA_CLUSTER_MAX_APPS - 1);
  if (*s)
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "unexpected '%s' after the app id",
                show(s, strlen(s), shown, sizeof(shown)));
  c->spec->dna_cluster_id = (u_int32_t)id;
  c->spec->dna_app_id = (u_int32_t)app;
  return 0;
}

static void init_spec(struct pfringint_devspec *spec)
{
  memset(spec, 0, sizeof(*spec));
  spec->channel_mask = RING_ANY_CHANNEL;
  spec->vlan_id = RING_ANY_VLAN;
}

static int parse(struct ctx *c)
{
  const char *s = c->name, *end;
  int rc;

  if (!*s)
    return fail(c, PF_RING_ERROR_BAD_IFNAME, "empty device name");
  if ((rc = parse_module(c, &s)) < 0)
    return rc;
  if (strcmp(c->spec->module, "dnacluster") == 0)
    return parse_dnacluster(c, s);
  if (c->spec->module[0])
    return parse_xdp(c, s);
  if ((rc = split_devices(c, s, &end)) < 0 ||
      (rc = parse_devices(c, s, end)) < 0)
    return rc;
  if (*end == '@' && (rc = parse_channels(c, end + 1)) < 0)
    return rc;
  if (*end == '@' && (c->spec->any || c->spec->none))
    return fail(c, PF_RING_ERROR_INVALID_ARGUMENT, "an RX queue needs a real device, not '%s'",
                c->spec->any ? "any" : "none");
  return 0;
}

int pfringint_parse_device_name(const char *name, struct pfringint_devspec *spec,
                                char *errbuf, size_t errlen)
{
  struct ctx c = { .name = name, .errbuf = errbuf, .errlen = errlen, .spec = spec,
                   .first_vlan = -1 };
  int rc;

  init_spec(spec);
  if (errbuf && errlen)
    errbuf[0] = '\0';
  if (!name) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "bad device name: no device name given (NULL)");
    return PF_RING_ERROR_INVALID_ARGUMENT;
  }
  rc = parse(&c);
  if (rc < 0)
    init_spec(spec);
  return rc;
}
