"""pfcount: count packets on a ring and print PF_RING's statistics.

The per-packet loop is C (``pp_count_loop``: pfring_loop with a counting
callback) in a worker thread; this thread prints the stats every second and
handles SIGINT/SIGTERM with ``pfring_breakloop``.
"""
import json
import sys
import threading
import time

from .._ffi import ffi, lib
from ..errors import check
from ..ring import ClusterType, Direction, Ring
from . import _common

TOOL = "pfcount"


def build_parser():
    p = _common.make_parser(TOOL, "Count the packets of a PF_RING ring.")
    _common.add_options(p, "device", "bpf", "direction", "caplen", "cluster", "verbose",
                        "json", "duration", "quiet")
    p.add_argument("-H", dest="cluster_type", type=int, default=int(ClusterType.PER_FLOW_5_TUPLE),
                   choices=range(0, 14), metavar="TYPE", help="cluster type 0..13 (default 4)")
    p.add_argument("-N", dest="count", type=int, default=0, help="exit after N packets")
    p.add_argument("-w", dest="watermark", type=int, default=0, help="poll watermark")
    p.add_argument("-p", dest="poll", type=int, default=0, help="poll duration (ms)")
    p.add_argument("-J", dest="no_promisc", action="store_true", help="no promiscuous mode")
    return p


class Stats:
    def __init__(self, ring, counters):
        self.ring = ring
        self.c = counters
        self.start = time.monotonic()
        self.last = (self.start, 0, 0)
        self.ticks = 0

    def snapshot(self):
        st = self.ring.stats()
        return self.c.pkts, self.c.bytes, st.drop

    def block(self):
        now = time.monotonic()
        pkts, nbytes, drop = self.snapshot()
        total = pkts + drop
        pct = 100.0 * drop / total if total else 0.0
        lines = ["=========================",
                 f"Absolute Stats: [{_common.fmt(total)} pkts total][{_common.fmt(drop)} pkts dropped]"
                 f"[{pct:.1f}% dropped]"]
        rcvd = f"[{_common.fmt(pkts)} pkts rcvd][{_common.fmt(nbytes)} bytes rcvd]"
        elapsed = now - self.start
        if self.ticks and elapsed > 0:
            rcvd += (f"[{_common.fmt(pkts / elapsed, True)} pkt/sec]"
                     f"[{_common.fmt(nbytes * 8 / elapsed / 1e6, True)} Mbit/sec]")
        lines.append(rcvd)
        t0, p0, b0 = self.last
        ms = (now - t0) * 1000
        dp, db = pkts - p0, nbytes - b0
        pps = dp / (ms / 1000) if ms else 0
        gbps = db * 8 / (ms / 1000) / 1e9 if ms else 0
        lines.append(f"Actual Stats: [{_common.fmt(dp)} pkts rcvd][{_common.fmt(ms, True)} ms]"
                     f"[{_common.fmt(pps, True)} pps][{_common.fmt(gbps, True)} Gbps]")
        lines.append("=========================")
        self.last = (now, pkts, nbytes)
        self.ticks += 1
        return "\n".join(lines)

    def appl_stats(self):
        ms = int((time.monotonic() - self.start) * 1000)
        d, rem = divmod(ms, 86400000)
        h, rem = divmod(rem, 3600000)
        m, rem = divmod(rem, 60000)
        s, ms = divmod(rem, 1000)
        pkts, nbytes, drop = self.snapshot()
        return (f"Duration: {d}:{h:02}:{m:02}:{s:02}:{ms:03}\nPackets: {pkts}\n"
                f"Dropped: {drop}\nBytes: {nbytes}")

    def final(self):
        pkts, nbytes, drop = self.snapshot()
        dur = time.monotonic() - self.start
        return {"recv": pkts, "drop": drop, "bytes": nbytes, "duration_s": round(dur, 3),
                "pps": round(pkts / dur, 1) if dur else 0.0}


def _print_packet(h, view):
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.caplen, hdr.len = h.caplen, h.len
    buf = ffi.new("char[]", 512)
    data = bytes(view)
    lib.pfring_print_pkt(buf, 512, data, h.len, h.caplen)
    t = time.localtime(h.ts_ns // 1_000_000_000)
    print(f"{time.strftime('%H:%M:%S', t)}.{h.ts_ns % 1_000_000_000:09d} "
          f"[{h.direction}][if_index={h.if_index}] {ffi.string(buf).decode()}", flush=True)


def main(argv=None):
    args = build_parser().parse_args(argv)
    out = sys.stderr
    ring = Ring(args.device, caplen=args.caplen, promisc=not args.no_promisc)
    with ring:
        ring.set_application_name(TOOL)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType(args.cluster_type))
        if args.watermark:
            ring.set_poll_watermark(args.watermark)
        if args.poll:
            ring.set_poll_duration(args.poll)
        if not args.quiet and not args.json:
            print(f"Using PF_RING v.{ring.version}", file=out)
            if ring.appl_stats_file_name:
                print(f"Dumping statistics on {ring.appl_stats_file_name}", file=out)
            try:
                where = f"[mac: {ring.bound_device_address}][if_index: {ring.bound_device_ifindex}]"
            except Exception:
                where = ""
            print(f"Capturing from {args.device} {where}", file=out)
            print(f"# Device RX channels: {ring.num_rx_channels}", file=out)
            print("# Polling threads:    1", file=out)
        ring.enable()
        counters = ffi.new("struct pp_counters *")
        counters.limit = args.count
        stats = Stats(ring, counters)
        stopper = _common.Stopper(ring.breakloop)
        result = {}

        def worker():
            try:
                if args.verbose:
                    result["n"] = ring.loop(lambda h, v: (_print_packet(h, v), _count(counters, h)),
                                            count=args.count or -1)
                else:
                    result["rc"] = lib.pp_count_loop(ring._ring, counters)
            except BaseException as exc:   # reported by the main thread
                result["exc"] = exc
            finally:
                stopper.event.set()

        t = threading.Thread(target=worker, daemon=True)
        t.start()
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stopper.event.wait(1 if deadline is None else max(0, min(1, deadline - time.monotonic()))):
            if deadline is not None and time.monotonic() >= deadline:
                stopper.stop()
                break
            ring.set_application_stats(stats.appl_stats())
            if not args.quiet and not args.json:
                print(stats.block(), file=out, flush=True)
        ring.breakloop()
        t.join()
        if "exc" in result:
            raise result["exc"]
        if result.get("rc", 0) < 0:
            check(result["rc"], ring._ring)
        if args.json:
            print(json.dumps(stats.final()), flush=True)
        else:
            print("Leaving...", file=out)
            print(stats.block(), file=out, flush=True)
    return 0


def _count(counters, h):
    counters.pkts += 1
    counters.bytes += h.len


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
