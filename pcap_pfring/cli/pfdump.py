"""pfdump: write the packets of a ring to a pcap file, like PF_RING's pfdump.

The per-packet loop is C (``pp_dump_loop``: pfring_loop and the system
libpcap's pcap_dump with a real ``struct pcap_pkthdr``) in a worker thread;
the main thread prints one statistics line per period and stops the loop
with pfring_breakloop on SIGINT/SIGTERM, -d or -n.

Output: the statistics lines on stdout (on stderr with --json or -w -).
"""
import json
import sys

from .._ffi import ffi, lib
from ..errors import check
from ..ring import ClusterType, Direction, Flags, Ring
from . import _common

TOOL = "pfdump"
FILE_ERROR = -1000          # pp_dump_loop: the file could not be opened


def build_parser():
    p = _common.make_parser(TOOL, "Write the packets of a PF_RING ring to a pcap file "
                                  "(PF_RING's pfdump).")
    _common.add_options(p, "device", "bpf", "direction", "cluster", "count", "active",
                        "duration", "quiet", "json",
                        count={"flags": ("-n",)},
                        cluster={"help": "join cluster ID (per flow, 2-tuple)"})
    p.add_argument("-w", dest="file", required=True, metavar="FILE",
                   help="pcap file to write ('-': stdout)")
    _common.add_options(p, "caplen", caplen={"flags": ("-s",), "dest": "snaplen", "default": 128,
                                             "help": "snaplen (default 128)"})
    p.add_argument("-t", dest="period", type=_common.positive_float, default=1.0, metavar="SEC",
                   help="statistics period in seconds (default 1)")
    return p


def stats_line(secs, pkts, nbytes, drop, last):
    """PF_RING's pfdump line; ``last`` is (pkts, bytes, drop) of the line before."""
    return (f"{secs} sec pkts {pkts - last[0]} drop {drop - last[2]} bytes {nbytes - last[1]}"
            f" | pkts {pkts} bytes {nbytes} drop {drop}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    human = sys.stderr if args.json or args.file == "-" else sys.stdout
    with Ring(args.device, caplen=args.snaplen, flags=Flags.REENTRANT, promisc=True) as ring:
        ring.set_application_name(TOOL)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType.PER_FLOW_2_TUPLE)
        ring.enable()
        if not args.quiet:
            print(f"Capturing from {args.device} into {args.file} [snaplen: {args.snaplen}]",
                  file=sys.stderr, flush=True)
        handle = ring._h()
        counters = ffi.new("struct pp_counters *")
        counters.limit = args.count
        counters.active_wait = int(args.active)
        errbuf = ffi.new("char[]", 512)
        last = [0, 0, 0]

        def tick():
            pkts, nbytes, drop = counters.pkts, counters.bytes, ring.stats().drop
            if not args.quiet:
                print(stats_line(int(runner.elapsed + 0.5), pkts, nbytes, drop, last),
                      file=human, flush=True)
            last[:] = [pkts, nbytes, drop]

        runner = _common.Runner(
            lambda: lib.pp_dump_loop(handle, args.file.encode(), args.snaplen, counters,
                                     errbuf, 512),
            ring.breakloop, period=args.period, duration=args.duration, tick=tick)
        rc = runner.run()
        if rc == FILE_ERROR:
            raise OSError(ffi.string(errbuf).decode("utf-8", "replace"))
        check(rc, handle)
        dur = runner.elapsed
        drop = ring.stats().drop
        if args.json:
            print(json.dumps({"device": args.device, "file": args.file, "pkts": counters.pkts,
                              "bytes": counters.bytes, "drop": drop,
                              "duration_s": round(dur, 3)}), flush=True)
        else:
            print(f"Saved {counters.pkts} packets on {args.file}", file=human, flush=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
