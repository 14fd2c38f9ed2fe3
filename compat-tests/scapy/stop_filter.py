"""Sniff until a packet carrying a marker arrives.

usage: stop_filter.py IFACE MARKER TIMEOUT OUT.pcap

Stops at the first packet whose raw payload holds MARKER (that packet is
kept), or after TIMEOUT seconds; writes OUT.pcap, prints "captured N".
"""
import sys

from scapy.all import Raw, sniff, wrpcap


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    iface, marker, timeout, out = argv[0], argv[1].encode(), float(argv[2]), argv[3]
    pkts = sniff(iface=iface, timeout=timeout,
                 stop_filter=lambda p: Raw in p and marker in p[Raw].load,
                 started_callback=lambda: print("sniffing", flush=True))
    wrpcap(out, pkts)
    print("captured", len(pkts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
