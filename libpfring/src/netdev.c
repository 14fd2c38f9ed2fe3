/*
 * netdev.c - questions about network interfaces.  Each helper takes the fd of
 * a socket whose network namespace is asked: a ring passes its own packet
 * socket, so the answers stay right after the caller's thread has moved to
 * another namespace; -1 asks the caller's current namespace through a
 * throwaway socket.  (sysfs is avoided: it shows the namespace of whoever
 * mounted it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <pcap/dlt.h>

#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif
#include <stdlib.h>

#include "pfring_int.h"

#define PFRING_API __attribute__((visibility("default")))

static int ifreq_ioctl(int fd, const char *name, unsigned long req, struct ifreq *ifr)
{
  int own = -1, rc, err;

  if (!name || strlen(name) >= IFNAMSIZ) {
    errno = ENODEV;
    return -1;
  }
  if (fd < 0) {
    own = fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return -1;
  }
  memset(ifr, 0, sizeof(*ifr));
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
  rc = ioctl(fd, req, ifr);
  err = errno;
  if (own >= 0)
    close(own);
  errno = err;
  return rc;
}

int pfringint_ifindex(int fd, const char *name)
{
  struct ifreq ifr;

  if (ifreq_ioctl(fd, name, SIOCGIFINDEX, &ifr) < 0)
    return 0;
  return ifr.ifr_ifindex;
}

int pfringint_if_name(int fd, int ifindex, char name[IFNAMSIZ])
{
  struct ifreq ifr;
  int own = -1, rc;

  if (fd < 0 && (own = fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
    return -1;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_ifindex = ifindex;
  rc = ioctl(fd, SIOCGIFNAME, &ifr);
  if (own >= 0)
    close(own);
  if (rc < 0)
    return -1;
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  name[IFNAMSIZ - 1] = '\0';
  return 0;
}

int pfringint_if_flags(int fd, const char *name, int *flags)
{
  struct ifreq ifr;

  if (ifreq_ioctl(fd, name, SIOCGIFFLAGS, &ifr) < 0)
    return -1;
  *flags = ifr.ifr_flags;
  return 0;
}

int pfringint_if_mtu(int fd, const char *name)
{
  struct ifreq ifr;

  if (ifreq_ioctl(fd, name, SIOCGIFMTU, &ifr) < 0)
    return -1;
  return ifr.ifr_mtu;
}

int pfringint_if_hwaddr(int fd, const char *name, u_char mac[6])
{
  struct ifreq ifr;

  if (ifreq_ioctl(fd, name, SIOCGIFHWADDR, &ifr) < 0)
    return -1;
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return 0;
}

int pfringint_if_arphrd(int fd, const char *name)
{
  struct ifreq ifr;

  if (ifreq_ioctl(fd, name, SIOCGIFHWADDR, &ifr) < 0)
    return -1;
  return ifr.ifr_hwaddr.sa_family;
}

int pfringint_arphrd_dlt(int arphrd)
{
  switch (arphrd) {
  case ARPHRD_ETHER:
  case ARPHRD_LOOPBACK:
  case ARPHRD_IEEE802:
  case ARPHRD_METRICOM:
    return DLT_EN10MB;
  case ARPHRD_NONE:        /* tun, wireguard */
  case ARPHRD_TUNNEL:      /* ipip */
  case ARPHRD_TUNNEL6:
  case ARPHRD_SIT:
  case ARPHRD_IPGRE:
  case ARPHRD_IP6GRE:
  case ARPHRD_PPP:
  case ARPHRD_RAWIP:
  case ARPHRD_SLIP:
  case ARPHRD_CSLIP:
  case ARPHRD_SLIP6:
  case ARPHRD_CSLIP6:
  case ARPHRD_ADAPT:
  case ARPHRD_RAWHDLC:
  case ARPHRD_DLCI:
    /* No link-layer header: a packet socket gets the network header
     * first.  (Stock libpcap reads some of these types, PPP and GRE among
     * them, in cooked mode, DLT_LINUX_SLL: the same packets behind a
     * header it makes; the drop-in does as stock.) */
    return DLT_RAW;
  default:
    return -1;
  }
}

/* IFLA_NUM_RX_QUEUES of one link, from an RTM_GETLINK request in the
 * caller's current namespace (a ring caches the answer at open). */
int pfringint_if_num_rx_queues(int ifindex)
{
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  char buf[16384];
  struct nlmsghdr *nh;
  int fd, len, n = 1;

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return 1;
  memset(&req, 0, sizeof(req));
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  if (send(fd, &req, sizeof(req), 0) < 0)
    goto out;
  len = (int)recv(fd, buf, sizeof(buf), 0);
  for (nh = (struct nlmsghdr *)buf; len > 0 && NLMSG_OK(nh, (unsigned)len);
       nh = NLMSG_NEXT(nh, len)) {
    struct ifinfomsg *ifi;
    struct rtattr *rta;
    int alen;

    if (nh->nlmsg_type != RTM_NEWLINK)
      continue;
    ifi = NLMSG_DATA(nh);
    alen = (int)IFLA_PAYLOAD(nh);
    for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
      if (rta->rta_type == IFLA_NUM_RX_QUEUES && RTA_PAYLOAD(rta) >= sizeof(u_int32_t)) {
        u_int32_t q;
        memcpy(&q, RTA_DATA(rta), sizeof(q));
        n = q > 0 ? (int)q : 1;
      }
    }
  }
out:
  close(fd);
  return n;
}

/* SIOCETHTOOL with cmd at data, on fd's namespace (or the caller's). */
static int ethtool(int fd, const char *name, void *data)
{
  struct ifreq ifr;
  int own = -1, rc, err;

  if (!name || strlen(name) >= IFNAMSIZ) {
    errno = ENODEV;
    return -1;
  }
  if (fd < 0 && (own = fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
    return -1;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_data = data;
  rc = ioctl(fd, SIOCETHTOOL, &ifr);
  err = errno;
  if (own >= 0)
    close(own);
  errno = err;
  return rc;
}

/* PF_RING's symmetric RSS key: the Toeplitz key 0x6d5a repeated.  With a
 * 16-bit period, swapping the source and destination (addresses, ports)
 * leaves the Toeplitz hash unchanged, so both directions of a flow land on
 * one RX queue.  The key length is the device's (ETHTOOL_GRSSH); the
 * indirection table and hash function are left alone.  A device whose key
 * is already this one is not written to.  Returns 0 or -1 with errno
 * (EOPNOTSUPP: the driver has no RSS key). */
int pfringint_if_set_symmetric_rss(int fd, const char *name)
{
  struct ethtool_rxfh head, *rxfh;
  u_int8_t *key, xfrm;
  u_int32_t i, len;
  int rc = -1, err;

  memset(&head, 0, sizeof(head));
  head.cmd = ETHTOOL_GRSSH;                 /* sizes only */
  if (ethtool(fd, name, &head) < 0)
    return -1;
  if (head.key_size == 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  len = head.key_size;
  rxfh = calloc(1, sizeof(*rxfh) + len);
  if (!rxfh)
    return -1;
  key = (u_int8_t *)rxfh->rss_config;       /* no indirection table: the key */
  rxfh->cmd = ETHTOOL_GRSSH;
  rxfh->key_size = len;
  if (ethtool(fd, name, rxfh) < 0)
    goto out;
  for (i = 0; i < len && key[i] == ((i & 1) ? 0x5a : 0x6d); i++)
    ;
  if (i == len) {
    rc = 0;                                 /* already symmetric */
    goto out;
  }
  /* rsvd8[0] is the input transformation on kernels that have one:
   * written back as read, so it stays as it is (0 on older kernels). */
  xfrm = rxfh->rsvd8[0];
  memset(rxfh, 0, sizeof(*rxfh));
  rxfh->cmd = ETHTOOL_SRSSH;
  rxfh->indir_size = ETH_RXFH_INDIR_NO_CHANGE;
  rxfh->key_size = len;
  rxfh->hfunc = 0;                          /* the hash function: no change */
  rxfh->rsvd8[0] = xfrm;
  for (i = 0; i < len; i++)
    key[i] = (i & 1) ? 0x5a : 0x6d;
  rc = ethtool(fd, name, rxfh);
out:
  err = errno;
  free(rxfh);
  errno = err;
  return rc;
}

PFRING_API int pfring_set_if_promisc(const char *device, int set_promisc)
{
  struct ifreq ifr;
  int fd, rc;

  if (ifreq_ioctl(-1, device, SIOCGIFFLAGS, &ifr) < 0)
    return PF_RING_ERROR_BAD_IFNAME;
  if (set_promisc)
    ifr.ifr_flags |= IFF_PROMISC;
  else
    ifr.ifr_flags &= ~IFF_PROMISC;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return PF_RING_ERROR_GENERIC;
  rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  close(fd);
  return rc < 0 ? pfringint_errno_to_rc(errno) : 0;
}

/* ------------------------------------------------------------------------ */
/* The namespace of a socket                                                 */

struct in_netns {
  int nsfd;
  int (*fn)(void *arg);
  void *arg;
  int rc;
  int err;
};

static void *in_netns_thread(void *p)
{
  struct in_netns *a = p;

  if (setns(a->nsfd, CLONE_NEWNET) < 0) {
    a->err = errno;
    return NULL;
  }
  a->rc = a->fn(a->arg);
  a->err = errno;
  return NULL;
}

/* setns() changes the namespace of the calling thread only: a thread of our
 * own runs fn there, so the caller's thread never moves, and no signal
 * handler runs in the helper thread (every signal is blocked in it). */
int pfringint_in_netns_of(int fd, int (*fn)(void *arg), void *arg)
{
  struct in_netns a = { -1, fn, arg, -1, 0 };
  struct stat ns, own;
  sigset_t all, old;
  pthread_t t;
  int rc;

  a.nsfd = ioctl(fd, SIOCGSKNS);
  if (a.nsfd < 0 || (fstat(a.nsfd, &ns) == 0 && stat("/proc/thread-self/ns/net", &own) == 0 &&
                     ns.st_ino == own.st_ino && ns.st_dev == own.st_dev)) {
    if (a.nsfd >= 0)                 /* the caller's own namespace */
      close(a.nsfd);
    return fn(arg);
  }
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&t, NULL, in_netns_thread, &a);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc == 0)
    pthread_join(t, NULL);
  else
    a.err = rc;
  close(a.nsfd);
  errno = a.err;
  return a.rc;
}
