"""pfdump: write the packets of a ring to a pcap file.

The per-packet loop is C (``pp_dump_loop``: pfring_loop + the system
libpcap's pcap_dump) in a worker thread; this thread prints one stats line
per period and stops the loop on SIGINT/SIGTERM, -d or -n.
"""
import sys
import threading
import time

from .._ffi import ffi, lib
from ..errors import check
from ..ring import ClusterType, Direction, Flags, Ring
from . import _common

TOOL = "pfdump"


def build_parser():
    p = _common.make_parser(TOOL, "Write the packets of a PF_RING ring to a pcap file.")
    _common.add_options(p, "device", "bpf", "direction", "cluster", "duration", "quiet")
    p.add_argument("-w", dest="file", required=True, help="pcap file to write")
    p.add_argument("-s", dest="snaplen", type=int, default=128, help="snaplen (default 128)")
    p.add_argument("-t", dest="period", type=float, default=1.0, help="stats period (s)")
    p.add_argument("-n", dest="count", type=int, default=0, help="stop after N packets")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    with Ring(args.device, caplen=args.snaplen, flags=Flags.REENTRANT, promisc=True) as ring:
        ring.set_application_name(TOOL)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType.PER_FLOW_2_TUPLE)
        ring.enable()
        counters = ffi.new("struct pp_counters *")
        counters.limit = args.count
        errbuf = ffi.new("char[]", 256)
        stopper = _common.Stopper(ring.breakloop)
        result = {}

        def worker():
            try:
                result["rc"] = lib.pp_dump_loop(ring._ring, args.file.encode(), args.snaplen,
                                                counters, errbuf, 256)
            finally:
                stopper.event.set()

        start = time.monotonic()
        t = threading.Thread(target=worker, daemon=True)
        t.start()
        deadline = start + args.duration if args.duration else None
        last = (0, 0, 0)
        while not stopper.event.wait(args.period if deadline is None
                                     else max(0, min(args.period, deadline - time.monotonic()))):
            if deadline is not None and time.monotonic() >= deadline:
                stopper.stop()
                break
            if not args.quiet:
                pkts, nbytes, drop = counters.pkts, counters.bytes, ring.stats().drop
                print(f"{int(time.monotonic() - start)} sec pkts {pkts - last[0]} drop "
                      f"{drop - last[2]} bytes {nbytes - last[1]} | pkts {pkts} bytes {nbytes} "
                      f"drop {drop}", flush=True)
                last = (pkts, nbytes, drop)
        ring.breakloop()
        t.join()
        rc = result.get("rc", 0)
        if rc == -1000:
            raise OSError(f"cannot write {args.file}: {ffi.string(errbuf).decode()}")
        check(rc, ring._ring)
        if not args.quiet:
            print(f"Saved {counters.pkts} packets on {args.file}", flush=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
