/*
 * hw_rules.c - PF_RING's hardware rules (pfring_add_hw_rule,
 * pfring_remove_hw_rule) and the filtering mode (pfring_set_filtering_mode).
 *
 * A hardware rule is a rule of the NIC, not of the ring: it is handed to the
 * driver with ethtool's n-tuple interface (SIOCETHTOOL on the ring's own
 * socket, so it reaches the device in the ring's network namespace):
 *
 *   add     ETHTOOL_SRXCLSRLINS, one ethtool_rx_flow_spec at location
 *           rule_id: the flow type from the protocol (TCP, UDP, SCTP over
 *           IPv4, or any IPv4 protocol), a full mask on each non-zero field,
 *           the VLAN id in the extension of a perfect filter, and the action
 *           in ring_cookie (the RX queue, or RX_CLS_FLOW_DISC to drop);
 *           the checks and this encoding are hw_encode.c's
 *   remove  ETHTOOL_SRXCLSRLDEL at that location
 *   probe   ETHTOOL_GRXCLSRLCNT: whether the device has n-tuple filters at
 *           all (veth and most virtual devices answer EOPNOTSUPP)
 *
 * The ring keeps the ids of the rules it added (struct pfringint_hw_rules,
 * allocated at the first call that needs it, with the mode), removes only
 * those, and removes them all when it is closed, as PF_RING's module does
 * with the rules of a socket.  A process-wide lock orders the calls on the
 * table (the status thread reads its count).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

struct pfringint_hw_rules {
  filtering_mode mode;
  u_int32_t num;
  u_int16_t ids[PFRING_MAX_HW_FILTERING_RULES];   /* in the order added */
};

static pthread_mutex_t hw_lock = PTHREAD_MUTEX_INITIALIZER;

static void unlock_hw(pthread_mutex_t **m)
{
  if (*m)
    pthread_mutex_unlock(*m);
}

/* Holds hw_lock until the end of the calling block. */
#define LOCK_HW()                                                            \
  pthread_mutex_t *hw_locked_ __attribute__((cleanup(unlock_hw))) = &hw_lock; \
  pthread_mutex_lock(hw_locked_)

/* SIOCETHTOOL on the ring's socket; 0, or -1 with errno. */
static int ring_ethtool(pfring *ring, const char *dev, void *data)
{
  struct ifreq ifr;
  int fd = pfringint_dev_fd(ring);

  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  ifr.ifr_data = data;
  return ioctl(fd, SIOCETHTOOL, &ifr);
}

/* The ring's one device, or PF_RING_ERROR_NOT_SUPPORTED with a message. */
static int hw_device(pfring *ring, const char **dev)
{
  const struct pfringint_devspec *spec = &ring->spec;

  if (spec->any || spec->none || spec->num_devices == 0)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "hardware rules need a ring on a network device; '%s' is not one",
                            ring->bound_name);
  if (spec->num_devices > 1)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "hardware rules are set on one device, and this ring is on %u "
                            "('%s' and more): open a ring per device for its rules",
                            spec->num_devices, spec->devices[0]);
  *dev = spec->devices[0];
  return 0;
}

/* Whether dev has n-tuple filters: 0, or an error naming the device. */
static int hw_probe(pfring *ring, const char *dev)
{
  struct ethtool_rxnfc cnt;
  int err;

  memset(&cnt, 0, sizeof(cnt));
  cnt.cmd = ETHTOOL_GRXCLSRLCNT;
  if (ring_ethtool(ring, dev, &cnt) == 0)
    return 0;
  err = errno;
  if (err == EOPNOTSUPP || err == ENOTSUP)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, err,
                            "hardware rules are not supported by '%s' (ethtool n-tuple: %s)",
                            dev, strerror(err));
  return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                          "'%s': cannot read its n-tuple filters (ethtool n-tuple: %s)",
                          dev, strerror(err));
}

/* The ring's table, allocated if need be (under hw_lock). */
static struct pfringint_hw_rules *hw_table(pfring *ring)
{
  if (!ring->hw_rules) {
    ring->hw_rules = calloc(1, sizeof(*ring->hw_rules));
    if (ring->hw_rules)
      ring->hw_rules->mode = software_only;
  }
  return ring->hw_rules;
}

static int hw_find(const struct pfringint_hw_rules *t, u_int16_t id)
{
  u_int32_t i;

  for (i = 0; t && i < t->num; i++)
    if (t->ids[i] == id)
      return (int)i;
  return -1;
}

/* The driver refused an n-tuple request. */
static int hw_refused(pfring *ring, const char *dev, const char *what, u_int16_t id, int err)
{
  if (err == EOPNOTSUPP || err == ENOTSUP)
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_SUPPORTED, err,
                            "hardware rules are not supported by '%s' (ethtool n-tuple: %s)",
                            dev, strerror(err));
  return pfringint_seterr(ring, pfringint_errno_to_rc(err), err,
                          "'%s' refused to %s hardware rule %u (ethtool n-tuple: %s)",
                          dev, what, id, strerror(err));
}

PFRING_API int pfring_set_filtering_mode(pfring *ring, filtering_mode mode)
{
  struct pfringint_hw_rules *t;
  const char *dev;
  int rc, m = (int)mode;

  PFRINGINT_CHECK_RING(ring);
  if (m < hardware_and_software || m > software_only)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL,
                            "mode %d is not a filtering_mode (0 hardware_and_software, "
                            "1 hardware_only, 2 software_only)", m);
  if (mode == hardware_only) {
    if ((rc = hw_device(ring, &dev)) < 0 || (rc = hw_probe(ring, dev)) < 0)
      return rc;
  }
  LOCK_HW();
  if (!(t = hw_table(ring)))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  t->mode = mode;
  return 0;
}

PFRING_API int pfring_get_filtering_mode(pfring *ring)
{
  PFRINGINT_CHECK_RING(ring);
  LOCK_HW();
  return ring->hw_rules ? (int)ring->hw_rules->mode : (int)software_only;
}

PFRING_API int pfring_add_hw_rule(pfring *ring, hw_filtering_rule *rule)
{
  struct pfringint_hw_rules *t;
  struct ethtool_rxnfc cmd;
  char msg[PFRING_ERRBUF_SIZE];
  const char *dev;
  int rc;

  PFRINGINT_CHECK_RING(ring);
  if (!rule)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EINVAL, "rule is NULL");
  /* The rule first (it is wrong anywhere), with the queues checked below. */
  if ((rc = pfringint_hw_rule_encode(rule, 0, &cmd, msg, sizeof(msg))) < 0)
    return pfringint_seterr(ring, rc, rc == PF_RING_ERROR_NOT_SUPPORTED ? EOPNOTSUPP : EINVAL,
                            "hardware rule %u: %s", rule->rule_id, msg);
  if ((rc = hw_device(ring, &dev)) < 0 || (rc = hw_probe(ring, dev)) < 0)
    return rc;
  if ((rc = pfringint_hw_rule_encode(rule, ring->num_rx_queues, &cmd, msg, sizeof(msg))) < 0)
    return pfringint_seterr(ring, rc, EINVAL, "hardware rule %u on '%s': %s", rule->rule_id,
                            dev, msg);
  LOCK_HW();
  if (!(t = hw_table(ring)))
    return pfringint_seterr(ring, PF_RING_ERROR_NOT_ENOUGH_MEMORY, ENOMEM, "out of memory");
  if (hw_find(t, rule->rule_id) >= 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, EEXIST,
                            "rule_id %u is already a hardware rule of '%s'", rule->rule_id, dev);
  if (t->num >= PFRING_MAX_HW_FILTERING_RULES)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOSPC,
                            "'%s' already has %d hardware rules from this ring, the most "
                            "a ring holds", dev, PFRING_MAX_HW_FILTERING_RULES);
  if (ring_ethtool(ring, dev, &cmd) < 0)
    return hw_refused(ring, dev, "add", rule->rule_id, errno);
  t->ids[t->num++] = rule->rule_id;
  return 0;
}

/* ETHTOOL_SRXCLSRLDEL of location id; 0, or -1 with errno. */
static int hw_delete(pfring *ring, const char *dev, u_int16_t id)
{
  struct ethtool_rxnfc cmd;

  memset(&cmd, 0, sizeof(cmd));
  cmd.cmd = ETHTOOL_SRXCLSRLDEL;
  cmd.fs.location = id;
  return ring_ethtool(ring, dev, &cmd);
}

PFRING_API int pfring_remove_hw_rule(pfring *ring, u_int16_t rule_id)
{
  struct pfringint_hw_rules *t;
  const char *dev;
  int rc, i;

  PFRINGINT_CHECK_RING(ring);
  if ((rc = hw_device(ring, &dev)) < 0 || (rc = hw_probe(ring, dev)) < 0)
    return rc;
  LOCK_HW();
  t = ring->hw_rules;
  if ((i = hw_find(t, rule_id)) < 0)
    return pfringint_seterr(ring, PF_RING_ERROR_INVALID_ARGUMENT, ENOENT,
                            "rule_id %u is not a hardware rule of this ring on '%s'",
                            rule_id, dev);
  if (hw_delete(ring, dev, rule_id) < 0 && errno != ENOENT)
    return hw_refused(ring, dev, "remove", rule_id, errno);
  memmove(&t->ids[i], &t->ids[i + 1], (t->num - (u_int32_t)i - 1) * sizeof(t->ids[0]));
  t->num--;
  return 0;
}

u_int32_t pfringint_hw_rules_count(pfring *ring)
{
  LOCK_HW();
  return ring->hw_rules ? ring->hw_rules->num : 0;
}

void pfringint_hw_rules_release(pfring *ring)
{
  struct pfringint_hw_rules *t;
  u_int32_t i;

  {
    LOCK_HW();
    t = ring->hw_rules;
    ring->hw_rules = NULL;
  }
  if (!t)
    return;
  /* The device of a ring with rules is its one device (hw_device). */
  for (i = 0; i < t->num; i++)
    if (hw_delete(ring, ring->spec.devices[0], t->ids[i]) < 0)
      pfringint_log(3, "%s: hardware rule %u not removed at close: %s",
                    ring->spec.devices[0], t->ids[i], strerror(errno));
  free(t);
}
