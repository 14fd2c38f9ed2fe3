/*
 * pcap.c - the libpcap functions that take or make a pcap_t.
 *
 * Live handles come from pcap_create() (or pcap_open_live(), which is
 * create + options + activate).  pcap_activate() opens a libpfring ring
 * (ring.c); when that is not possible, or PCAP_NO_PF_RING is set, the
 * handle falls back to the system libpcap with the same options.  Handles
 * of offline files and pcap_open_dead() are the system's, wrapped.
 *
 * For a ring handle, the questions a pcap_open_dead(DLT_EN10MB) handle
 * answers the same way (data link, snaplen, compile, dump files, version)
 * go to such a handle; the capture itself is in ring.c.
 */
#define _GNU_SOURCE
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_pfring_int.h"

#define SYS_OR(fail) \
  const struct pcappf_sys *sys = pcappf_sys(); \
  if (!sys) { return fail; }

static void set_sys_error(char *errbuf)
{
  if (errbuf)
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcappf_sys_error());
}

pcap_t *pcappf_wrap(pcap_t *sys)
{
  pcap_t *p;

  if (!sys)
    return NULL;
  p = calloc(1, sizeof(*p));
  if (!p) {
    SYS_CALL_VOID(pcap_close, sys);
    return NULL;
  }
  p->sys = sys;
  p->activated = 1;
  return p;
}

/* Copies the system handle's last error into ours, for a ring handle whose
 * dead helper failed. */
static int keep_error(pcap_t *p, int rc)
{
  const struct pcappf_sys *sys = pcappf_sys();

  if (p->ring && sys && rc < 0)
    snprintf(p->errbuf, sizeof(p->errbuf), "%s", sys->pcap_geterr(p->dead));
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Creating, activating, closing                                             */

API pcap_t *pcap_create(const char *device, char *errbuf)
{
  pcap_t *shadow, *p;
  SYS_OR((set_sys_error(errbuf), NULL));

  if (!device)
    device = "any";
  shadow = sys->pcap_create(device, errbuf);
  if (!shadow)
    return NULL;
  p = pcappf_wrap(shadow);
  if (!p || !(p->device = strdup(device))) {
    if (p)
      pcap_close(p);
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory for a capture handle");
    return NULL;
  }
  p->activated = 0;
  p->live = 1;
  p->snaplen = PCAPPF_MAX_SNAPLEN;
  p->tstamp_precision = PCAP_TSTAMP_PRECISION_MICRO;
  return p;
}

API int pcap_activate(pcap_t *p)
{
  char why[PCAP_ERRBUF_SIZE];
  int rc;
  SYS_OR(PCAP_ERROR);

  if (p->activated)
    return PCAP_ERROR_ACTIVATED;
  if (!p->live)
    return sys->pcap_activate(p->sys);
  rc = pcappf_ring_activate(p, why, sizeof(why));
  p->ring_error = rc < 0;
  if (rc == 0) {
    sys->pcap_close(p->sys);
    p->sys = NULL;
    p->activated = 1;
    pcappf_debug("%s: capturing on a PF_RING ring", p->device);
    pcappf_note_activation(p->device, NULL);
    return 0;
  }
  if (rc < 0)
    return PCAP_ERROR;
  pcappf_debug("%s: falling back to the system libpcap: %s", p->device, why);
  pcappf_note_activation(p->device, why);
  rc = sys->pcap_activate(p->sys);
  if (rc >= 0)
    p->activated = 1;
  return rc;
}

API pcap_t *pcap_open_live(const char *device, int snaplen, int promisc, int to_ms,
                           char *errbuf)
{
  pcap_t *p = pcap_create(device, errbuf);
  int rc;

  if (!p)
    return NULL;
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc);
  pcap_set_timeout(p, to_ms);
  rc = pcap_activate(p);
  if (rc < 0) {
    /* libpcap's own wording: the message, or the status with the message */
    const char *msg = pcap_geterr(p);
    if (rc == PCAP_ERROR)
      snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %.*s", p->device, PCAP_ERRBUF_SIZE - 3, msg);
    else if ((rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_NO_SUCH_DEVICE ||
              rc == PCAP_ERROR_PROMISC_PERM_DENIED) && msg[0])
      snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s (%.*s)", p->device, pcap_statustostr(rc),
               PCAP_ERRBUF_SIZE - 6, msg);
    else
      snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", p->device, pcap_statustostr(rc));
    pcap_close(p);
    return NULL;
  }
  if (rc > 0)
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(p));
  else if (errbuf)
    errbuf[0] = '\0';
  return p;
}

API pcap_t *pcap_open_dead(int linktype, int snaplen)
{
  SYS_OR(NULL);
  return pcappf_wrap(sys->pcap_open_dead(linktype, snaplen));
}

API pcap_t *pcap_open_dead_with_tstamp_precision(int linktype, int snaplen, u_int precision)
{
  SYS_OR(NULL);
  return pcappf_wrap(sys->pcap_open_dead_with_tstamp_precision(linktype, snaplen, precision));
}

API pcap_t *pcap_open_offline(const char *fname, char *errbuf)
{
  SYS_OR((set_sys_error(errbuf), NULL));
  return pcappf_wrap(sys->pcap_open_offline(fname, errbuf));
}

API pcap_t *pcap_open_offline_with_tstamp_precision(const char *fname, u_int precision,
                                                    char *errbuf)
{
  SYS_OR((set_sys_error(errbuf), NULL));
  return pcappf_wrap(sys->pcap_open_offline_with_tstamp_precision(fname, precision, errbuf));
}

API pcap_t *pcap_fopen_offline(FILE *fp, char *errbuf)
{
  SYS_OR((set_sys_error(errbuf), NULL));
  return pcappf_wrap(sys->pcap_fopen_offline(fp, errbuf));
}

API pcap_t *pcap_fopen_offline_with_tstamp_precision(FILE *fp, u_int precision, char *errbuf)
{
  SYS_OR((set_sys_error(errbuf), NULL));
  return pcappf_wrap(sys->pcap_fopen_offline_with_tstamp_precision(fp, precision, errbuf));
}

void pcappf_free(pcap_t *p)
{
  const struct pcappf_sys *sys = pcappf_sys();

  if (p->ring)
    pcappf_ring_close(p);
  if (p->sys && sys)
    sys->pcap_close(p->sys);
  free(p->device);
  free(p);
}

API void pcap_close(pcap_t *p)
{
  if (!p || (p->ring && pcappf_ring_close_in_read(p)))
    return;
  pcappf_free(p);
}

/* ------------------------------------------------------------------------ */
/* Options: kept for the ring, and set on the shadow, which checks them and
 * keeps them for a fallback.  After activation the dead handle of a ring
 * answers PCAP_ERROR_ACTIVATED as a live one would. */

#define OPTION(name, field, type)                                  \
  API int name(pcap_t *p, type value)                              \
  {                                                                \
    int rc;                                                        \
    SYS_OR(PCAP_ERROR);                                            \
    rc = sys->name(pcappf_target(p), value);                       \
    if (rc == 0 && !p->activated)                                  \
      field;                                                       \
    return rc;                                                     \
  }

OPTION(pcap_set_snaplen, p->snaplen = value, int)
OPTION(pcap_set_promisc, p->promisc = value, int)
OPTION(pcap_set_timeout, p->timeout = value, int)
OPTION(pcap_set_tstamp_precision, p->tstamp_precision = value, int)
OPTION(pcap_set_immediate_mode, p->immediate = value, int)
/* libpcap ignores a size <= 0 (the default stays); the ring is sized at
 * activation by pfring_set_buffer_size, in whole kernel blocks. */
OPTION(pcap_set_buffer_size, p->buffer_size = value > 0 ? value : p->buffer_size, int)
OPTION(pcap_set_tstamp_type, (void)value, int)
OPTION(pcap_set_rfmon, p->rfmon = value, int)
OPTION(pcap_set_protocol_linux, (void)value, int)

API int pcap_can_set_rfmon(pcap_t *p)
{
  SYS_OR(PCAP_ERROR);
  if (p->ring)
    return 0;
  return sys->pcap_can_set_rfmon(p->sys);
}

/* ------------------------------------------------------------------------ */
/* Questions a ring's dead Ethernet handle answers                           */

#define ASK(ret, fail, name)                     \
  API ret name(pcap_t *p)                        \
  {                                              \
    SYS_OR(fail);                                \
    return sys->name(pcappf_target(p));          \
  }

ASK(int, PCAP_ERROR, pcap_datalink)
ASK(int, PCAP_ERROR, pcap_datalink_ext)
ASK(int, PCAP_ERROR, pcap_snapshot)
ASK(int, PCAP_ERROR, pcap_is_swapped)
ASK(int, PCAP_ERROR, pcap_major_version)
ASK(int, PCAP_ERROR, pcap_minor_version)
ASK(int, PCAP_ERROR, pcap_bufsize)
ASK(int, PCAP_ERROR, pcap_get_tstamp_precision)
ASK(FILE *, NULL, pcap_file)

API int pcap_list_datalinks(pcap_t *p, int **dlts)
{
  SYS_OR(PCAP_ERROR);
  if (p->ring)
    return pcappf_ring_datalinks(p, dlts);
  return keep_error(p, sys->pcap_list_datalinks(pcappf_target(p), dlts));
}

API int pcap_list_tstamp_types(pcap_t *p, int **types)
{
  SYS_OR(PCAP_ERROR);
  return keep_error(p, sys->pcap_list_tstamp_types(pcappf_target(p), types));
}

/* A ring's data link is Ethernet, `any` included (as with PF_RING); on
 * `any` the Linux cooked headers of stock libpcap can be asked for
 * (ring.c). */
API int pcap_set_datalink(pcap_t *p, int dlt)
{
  SYS_OR(PCAP_ERROR);
  if (!p->ring)
    return sys->pcap_set_datalink(p->sys, dlt);
  return pcappf_ring_set_datalink(p, dlt);
}

API int pcap_compile(pcap_t *p, struct bpf_program *prog, const char *expr, int optimize,
                     bpf_u_int32 mask)
{
  int rc;
  SYS_OR(PCAP_ERROR);

  rc = keep_error(p, sys->pcap_compile(pcappf_target(p), prog, expr, optimize, mask));
  if (rc == 0 && p->ring) {
    free(p->compiled_expr);
    /* NULL compiles as "" (every packet) */
    p->compiled_expr = strdup(expr ? expr : "");     /* without it: just no hint */
    p->compiled_insns = prog->bf_insns;
    p->compiled_optimize = optimize;
    p->compiled_mask = mask;
  }
  return rc;
}

static pcap_dumper_t *keep_dump_error(pcap_t *p, pcap_dumper_t *d)
{
  if (!d)
    keep_error(p, PCAP_ERROR);
  return d;
}

API pcap_dumper_t *pcap_dump_open(pcap_t *p, const char *fname)
{
  SYS_OR(NULL);
  return keep_dump_error(p, sys->pcap_dump_open(pcappf_target(p), fname));
}

API pcap_dumper_t *pcap_dump_open_append(pcap_t *p, const char *fname)
{
  SYS_OR(NULL);
  return keep_dump_error(p, sys->pcap_dump_open_append(pcappf_target(p), fname));
}

API pcap_dumper_t *pcap_dump_fopen(pcap_t *p, FILE *fp)
{
  SYS_OR(NULL);
  return keep_dump_error(p, sys->pcap_dump_fopen(pcappf_target(p), fp));
}

API char *pcap_geterr(pcap_t *p)
{
  SYS_OR(p->errbuf);
  if (p->ring || !p->sys || p->ring_error)
    return p->errbuf;
  return sys->pcap_geterr(p->sys);
}

API void pcap_perror(pcap_t *p, const char *prefix)
{
  fprintf(stderr, "%s: %s\n", prefix, pcap_geterr(p));
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */

/* Interfaces a ring can open say so in their description, as with PF_RING.
 * The list is the system libpcap's, and pcap_freealldevs hands it back to
 * that library, which frees what it allocated: so each description put in
 * here is remembered with the one it replaced, and put back (ours freed)
 * before the list goes back.  Each library frees only its own memory, even
 * where the two do not share a heap. */
struct swapped_desc {
  pcap_if_t *dev;
  char *orig;
  struct swapped_desc *next;
};

static struct swapped_desc *swapped;
static pthread_mutex_t swapped_lock = PTHREAD_MUTEX_INITIALIZER;

API int pcap_findalldevs(pcap_if_t **devs, char *errbuf)
{
  pcap_if_t *d;
  int rc;
  SYS_OR((set_sys_error(errbuf), PCAP_ERROR));

  rc = sys->pcap_findalldevs(devs, errbuf);
  if (rc < 0 || pcappf_env()->no_pf_ring)
    return rc;
  pthread_mutex_lock(&swapped_lock);
  for (d = *devs; d; d = d->next) {
    struct swapped_desc *s;
    char *desc;
    if (strcmp(d->name, "any") != 0 && if_nametoindex(d->name) == 0)
      continue;
    if (!(s = malloc(sizeof(*s))))
      break;
    if (!(desc = strdup("PF_RING"))) {
      free(s);
      break;
    }
    s->dev = d;
    s->orig = d->description;
    s->next = swapped;
    swapped = s;
    d->description = desc;
  }
  pthread_mutex_unlock(&swapped_lock);
  return rc;
}

API void pcap_freealldevs(pcap_if_t *devs)
{
  const struct pcappf_sys *sys = pcappf_sys();
  pcap_if_t *d;

  if (!sys)
    return;

  pthread_mutex_lock(&swapped_lock);
  for (d = devs; d && swapped; d = d->next) {
    struct swapped_desc **pp = &swapped, *s;
    while ((s = *pp) && s->dev != d)
      pp = &s->next;
    if (!s)
      continue;
    *pp = s->next;
    free(d->description);
    d->description = s->orig;
    free(s);
  }
  pthread_mutex_unlock(&swapped_lock);
  sys->pcap_freealldevs(devs);
}

/* PF_RING device names (eth0@2, eth0,eth1, eth0.100) name a device too. */
API int pcap_lookupnet(const char *device, bpf_u_int32 *net, bpf_u_int32 *mask, char *errbuf)
{
  char name[IFNAMSIZ];
  size_t n;
  int rc;
  SYS_OR((set_sys_error(errbuf), PCAP_ERROR));

  rc = sys->pcap_lookupnet(device, net, mask, errbuf);
  if (rc == 0 || !device)
    return rc;
  n = strcspn(device, ",@");
  if (device[n] == '\0' || n == 0 || n >= sizeof(name))
    return rc;
  memcpy(name, device, n);
  name[n] = '\0';
  return sys->pcap_lookupnet(name, net, mask, errbuf);
}
