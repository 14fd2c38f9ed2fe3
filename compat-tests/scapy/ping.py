"""Ping a host at layer 2 (srp, next hop found by ARP) and once at layer 3 (sr1).

usage: ping.py IFACE HOST COUNT

Prints "reply HOST SEQ" for each answered echo request, in order, then
"lost N" and "sr1 HOST SEQ" (or "sr1 none").
"""
import sys

from scapy.all import ICMP, IP, Ether, conf, getmacbyip, sr1, srp


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    iface, host, count = argv[0], argv[1], int(argv[2])
    conf.verb = 0
    mac = getmacbyip(host)
    ans, unans = srp(Ether(dst=mac) / IP(dst=host) / ICMP(id=0x4242, seq=(1, count)),
                     iface=iface, timeout=3)
    for _, reply in sorted(ans, key=lambda sr: sr[1][ICMP].seq):
        print("reply", reply[IP].src, reply[ICMP].seq)
    print("lost", len(unans))
    one = sr1(IP(dst=host) / ICMP(id=0x4343, seq=99), timeout=3)
    print("sr1", f"{one[IP].src} {one[ICMP].seq}" if one is not None else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
