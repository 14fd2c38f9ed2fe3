"""pfdump: write the packets of a ring to a pcap file, like PF_RING's pfdump.

One loop (``dump()``) over ``Ring.recv_batch``: each batch's packets are
written in place from the ring to the file (``pcapfile.PcapWriter``: a
little-endian microsecond pcap, as libpcap's pcap_dump writes it).
Between batches ``_common.Run`` prints one statistics line per period;
SIGINT/SIGTERM, -d and -n end the loop.

Output: the statistics lines on stdout (on stderr with --json or -w -).
"""
import json
import sys

from ..pcapfile import PcapWriter
from ..ring import ClusterType, Direction, Ring
from . import _common

TOOL = "pfdump"
BATCH = 4096                 # packets per recv_batch at most


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


class Counters:
    __slots__ = ("pkts", "bytes")

    def __init__(self):
        self.pkts = 0
        self.bytes = 0


def dump(ring, run, writer, counters, limit=0, active=False):
    """Write what the ring receives to ``writer`` until ``run`` stops or
    ``limit`` packets (0: none)."""
    write = writer.write
    while not run.stopped:
        want = BATCH if not limit else min(BATCH, limit - counters.pkts)
        batch = ring.recv_batch(want, timeout=0 if active else run.left())
        if batch:
            for hdr, data in batch.views():
                write(hdr.ts_ns, hdr.len, data)
            counters.pkts += len(batch)
            counters.bytes += batch.bytes
            if limit and counters.pkts >= limit:
                break
        run.service()


def main(argv=None):
    args = build_parser().parse_args(argv)
    human = sys.stderr if args.json or args.file == "-" else sys.stdout
    with Ring(args.device, caplen=args.snaplen, promisc=True) as ring:
        ring.set_application_name(TOOL)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType.PER_FLOW_2_TUPLE)
        ring.enable()
        with PcapWriter(args.file, args.snaplen) as writer:
            if not args.quiet:
                print(f"Capturing from {args.device} into {args.file} [snaplen: {args.snaplen}]",
                      file=sys.stderr, flush=True)
            counters = Counters()
            last = [0, 0, 0]

            def tick():
                pkts, nbytes, drop = counters.pkts, counters.bytes, ring.stats().drop
                writer.flush()
                if not args.quiet:
                    print(stats_line(int(run.elapsed + 0.5), pkts, nbytes, drop, last),
                          file=human, flush=True)
                last[:] = [pkts, nbytes, drop]

            run = _common.Run(ring.breakloop, period=args.period, duration=args.duration,
                              tick=tick)
            with run:
                dump(ring, run, writer, counters, args.count, args.active)
        dur = run.elapsed
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
