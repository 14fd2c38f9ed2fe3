"""An AsyncSniffer in the background while the main thread waits.

usage: async_sniffer.py IFACE FILTER COUNT TIMEOUT OUT.pcap

Prints "sniffing" once capturing, stops after COUNT packets or TIMEOUT
seconds (stop()), writes OUT.pcap and prints "captured N".
"""
import sys
import time

from scapy.all import AsyncSniffer, wrpcap


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    iface, flt, count, timeout, out = argv[0], argv[1], int(argv[2]), float(argv[3]), argv[4]
    sniffer = AsyncSniffer(iface=iface, filter=flt, count=count,
                           started_callback=lambda: print("sniffing", flush=True))
    sniffer.start()
    deadline = time.monotonic() + timeout
    while sniffer.running and time.monotonic() < deadline:
        time.sleep(0.05)
    if sniffer.running:
        sniffer.stop()
    else:
        sniffer.join()
    wrpcap(out, sniffer.results)
    print("captured", len(sniffer.results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
