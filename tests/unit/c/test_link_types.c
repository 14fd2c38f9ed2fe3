/*
 * test_link_types.c - table tests of pfringint_arphrd_dlt() (netdev.c): the
 * link type a ring gives the packets of a device, by the device's ARPHRD_*
 * type.  Devices with an Ethernet header (Ethernet, loopback, and the
 * types that carry one) give DLT_EN10MB; devices whose packets start with
 * the network header (tun and wireguard, ARPHRD_NONE; ipip, sit, gre,
 * ip6gre and ip6tnl tunnels; PPP; raw IP; SLIP) give DLT_RAW, whose
 * packets scapy and libpcap read as IPv4 or IPv6 by the version nibble;
 * any other type is refused (-1).  The live tests cover veth, loopback,
 * 802.1Q and, as tun devices given the type with TUNSETLINK, tun, ipip,
 * ip6tnl, sit, gre, ip6gre, PPP and raw IP; every type is here.
 * Prints one line per failed case and "N passed, N failed".
 */
#include <stdio.h>
#include <net/if_arp.h>
#include <pcap/dlt.h>

#include "pfring_int.h"

#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif

/* netdev.c's one other need from the rest of the library */
int pfringint_errno_to_rc(int err)
{
  (void)err;
  return -1;
}

static const struct { const char *name; int arphrd, dlt; } rows[] = {
  { "ether", ARPHRD_ETHER, DLT_EN10MB },
  { "loopback", ARPHRD_LOOPBACK, DLT_EN10MB },
  { "ieee802", ARPHRD_IEEE802, DLT_EN10MB },
  { "metricom", ARPHRD_METRICOM, DLT_EN10MB },
  { "none (tun, wireguard)", ARPHRD_NONE, DLT_RAW },
  { "tunnel (ipip)", ARPHRD_TUNNEL, DLT_RAW },
  { "tunnel6 (ip6tnl)", ARPHRD_TUNNEL6, DLT_RAW },
  { "sit", ARPHRD_SIT, DLT_RAW },
  { "ipgre", ARPHRD_IPGRE, DLT_RAW },
  { "ip6gre", ARPHRD_IP6GRE, DLT_RAW },
  { "ppp", ARPHRD_PPP, DLT_RAW },
  { "rawip", ARPHRD_RAWIP, DLT_RAW },
  { "slip", ARPHRD_SLIP, DLT_RAW },
  { "cslip", ARPHRD_CSLIP, DLT_RAW },
  { "slip6", ARPHRD_SLIP6, DLT_RAW },
  { "cslip6", ARPHRD_CSLIP6, DLT_RAW },
  { "adapt", ARPHRD_ADAPT, DLT_RAW },
  { "rawhdlc", ARPHRD_RAWHDLC, DLT_RAW },
  { "dlci", ARPHRD_DLCI, DLT_RAW },
  /* refused: a framing a ring does not describe */
  { "ieee80211_radiotap", ARPHRD_IEEE80211_RADIOTAP, -1 },
  { "infiniband", ARPHRD_INFINIBAND, -1 },
  { "can", 280, -1 },
  { "fddi", ARPHRD_FDDI, -1 },
  { "void", ARPHRD_VOID, -1 },
  { "negative", -1, -1 },
  { "too large", 0x10000, -1 },
};

int main(void)
{
  int passed = 0, failed = 0;
  size_t i;

  for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    int got = pfringint_arphrd_dlt(rows[i].arphrd);
    if (got == rows[i].dlt) {
      passed++;
    } else {
      failed++;
      printf("FAIL %s (%d): got %d, want %d\n", rows[i].name, rows[i].arphrd, got, rows[i].dlt);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
