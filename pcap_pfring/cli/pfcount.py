"""pfcount: count the packets of a ring and print PF_RING's statistics.

The per-packet loop is C (``pp_count_loop``: pfring_loop with a counting
callback, which with -v also prints PF_RING's packet line) in a worker
thread; the main thread prints the statistics every second on stderr,
refreshes the application stats and stops the loop with pfring_breakloop on
SIGINT/SIGTERM, -N or -d.

Output, as PF_RING's pfcount: startup lines and the statistics blocks on
stderr; with -v one line per packet on stdout; with --json the final
statistics as one JSON object on stdout (stderr unchanged).
"""
import json
import sys

from .._ffi import ffi, lib
from ..errors import check
from ..ring import ClusterType, Direction, Flags, Ring, SocketMode
from . import _common

TOOL = "pfcount"


def build_parser():
    p = _common.make_parser(TOOL, "Count the packets of a PF_RING ring (PF_RING's pfcount).")
    _common.add_options(p, "device", "caplen", "bpf", "direction", "cluster", "count",
                        "active", "verbose", "duration", "quiet", "json")
    p.add_argument("-H", dest="cluster_type", type=int, choices=range(0, 14), metavar="TYPE",
                   help="cluster type 0..13 for -c (default 4: per flow, 5-tuple)")
    p.add_argument("-w", dest="watermark", type=_common.positive_int, metavar="N",
                   help="poll watermark (packets)")
    p.add_argument("-p", dest="poll", type=_common.positive_int, metavar="MS",
                   help="poll duration (ms)")
    p.add_argument("-J", dest="no_promisc", action="store_true",
                   help="do not set promiscuous mode")
    return p


class Stats:
    """The counters of one run and PF_RING's text for them."""

    def __init__(self, ring, counters, clock):
        self.ring = ring
        self.c = counters
        self.clock = clock           # seconds since start
        self.last = (0.0, 0, 0)      # time, pkts, bytes of the previous block
        self.ticks = 0

    def snapshot(self):
        return self.c.pkts, self.c.bytes, self.ring.stats().drop

    def block(self):
        now = self.clock()
        pkts, nbytes, drop = self.snapshot()
        text = stats_block(pkts, nbytes, drop, now, self.last, self.ticks > 0)
        self.last = (now, pkts, nbytes)
        self.ticks += 1
        return text

    def appl_stats(self):
        pkts, nbytes, drop = self.snapshot()
        return appl_stats_text(self.clock(), pkts, drop, nbytes)

    def final(self, device):
        pkts, nbytes, drop = self.snapshot()
        dur = self.clock()
        return {"device": device, "recv": pkts, "drop": drop, "bytes": nbytes,
                "duration_s": round(dur, 3), "pps": round(pkts / dur, 1) if dur > 0 else 0.0,
                "mbps": round(nbytes * 8 / dur / 1e6, 3) if dur > 0 else 0.0}


def stats_block(pkts, nbytes, drop, now, last, rates):
    """PF_RING's statistics block.  ``last`` is (time, pkts, bytes) of the
    previous block; ``rates`` adds the average rates (from the 2nd block)."""
    fmt = _common.fmt
    total = pkts + drop
    pct = 100.0 * drop / total if total else 0.0
    lines = ["=========================",
             f"Absolute Stats: [{fmt(total)} pkts total][{fmt(drop)} pkts dropped]"
             f"[{pct:.1f}% dropped]"]
    rcvd = f"[{fmt(pkts)} pkts rcvd][{fmt(nbytes)} bytes rcvd]"
    if rates and now > 0:
        rcvd += f"[{fmt(pkts / now, True)} pkt/sec][{fmt(nbytes * 8 / now / 1e6, True)} Mbit/sec]"
    lines.append(rcvd)
    t0, p0, b0 = last
    secs = now - t0
    dp, db = pkts - p0, nbytes - b0
    pps = dp / secs if secs > 0 else 0.0
    gbps = db * 8 / secs / 1e9 if secs > 0 else 0.0
    lines.append(f"Actual Stats: [{fmt(dp)} pkts rcvd][{fmt(secs * 1000, True)} ms]"
                 f"[{fmt(pps, True)} pps][{fmt(gbps, True)} Gbps]")
    lines.append("=========================")
    return "\n".join(lines) + "\n"


def appl_stats_text(seconds, pkts, drop, nbytes):
    """What pfcount writes with pfring_set_application_stats."""
    return (f"Duration: {_common.duration_text(seconds)}\nPackets:  {pkts}\n"
            f"Dropped:  {drop}\nBytes:    {nbytes}\n")


def _startup(ring, args, out):
    print(f"Using PF_RING v.{ring.version}", file=out)
    name = ring.appl_stats_file_name
    if name:
        print(f"Dumping statistics on {name}", file=out)
    try:
        where = f" [mac: {ring.bound_device_address.upper()}][if_index: {ring.bound_device_ifindex}]"
    except OSError:          # several devices or 'any': no single address
        where = ""
    print(f"Capturing from {args.device}{where}", file=out)
    print(f"# Device RX channels: {ring.num_rx_channels}", file=out)
    print("# Polling threads:    1", file=out, flush=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.json:
        parser.error("-v and --json both write to stdout; use one")
    if args.cluster_type is not None and args.cluster is None:
        parser.error("-H needs -c")
    if args.cluster_type is None:
        args.cluster_type = int(ClusterType.PER_FLOW_5_TUPLE)
    err = sys.stderr
    flags = Flags.LONG_HEADER if args.verbose else Flags.NONE
    with Ring(args.device, caplen=args.caplen, flags=flags, promisc=not args.no_promisc) as ring:
        ring.set_application_name(TOOL)
        ring.set_socket_mode(SocketMode.RECV_ONLY)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType(args.cluster_type))
        if args.watermark:
            ring.set_poll_watermark(args.watermark)
        if args.poll:
            ring.set_poll_duration(args.poll)
        ring.enable()
        if not args.quiet:
            _startup(ring, args, err)

        counters = ffi.new("struct pp_counters *")
        counters.limit = args.count
        counters.active_wait = int(args.active)
        counters.verbose = int(args.verbose)
        handle = ring._h()

        def tick():
            ring.set_application_stats(stats.appl_stats())
            if not args.quiet:
                print(stats.block(), file=err, flush=True)

        runner = _common.Runner(lambda: lib.pp_count_loop(handle, counters), ring.breakloop,
                                period=1.0, duration=args.duration, tick=tick)
        stats = Stats(ring, counters, lambda: runner.elapsed)
        rc = runner.run()
        check(rc, handle)
        ring.set_application_stats(stats.appl_stats())
        print("Leaving...", file=err)
        print(stats.block(), file=err, flush=True)
        if args.json:
            print(json.dumps(stats.final(args.device)), flush=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
