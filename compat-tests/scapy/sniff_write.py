"""Sniff an interface, print each packet, write them all to a pcap file.

usage: sniff_write.py IFACE COUNT TIMEOUT OUT.pcap [FILTER]

Stops after COUNT packets, TIMEOUT seconds or Ctrl-C, whichever comes
first; then writes OUT.pcap and prints "captured N".
"""
import sys

from scapy.all import sniff, wrpcap


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    iface, count, timeout, out = argv[0], int(argv[1]), float(argv[2]), argv[3]
    flt = argv[4] if len(argv) == 5 else None
    pkts = sniff(iface=iface, count=count, timeout=timeout, filter=flt,
                 started_callback=lambda: print("sniffing", flush=True),
                 prn=lambda p: print("packet", bytes(p).hex(), flush=True))
    wrpcap(out, pkts)
    print("captured", len(pkts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
