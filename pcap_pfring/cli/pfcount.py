"""pfcount: count the packets of a ring and print PF_RING's statistics.

One loop (``count()``), one call per turn: without -v ``Ring.recv_count``
(waits and counts in C until the next tick: packets and bytes, nothing per
packet or per wake-up in Python); with -v ``Ring.recv_batch`` and PF_RING's
line per packet (``packet_line``).  Between
turns ``_common.Run`` prints the statistics every second on stderr and
refreshes the application stats; SIGINT/SIGTERM, -N and -d end the loop.

Output, as PF_RING's pfcount: startup lines and the statistics blocks on
stderr; with -v one line per packet on stdout; with --json the final
statistics as one JSON object on stdout (stderr unchanged).
"""
import json
import sys
import time

from ..ring import ClusterType, Direction, Ring, SocketMode, parsed_packet_text
from ..rules import Rule
from . import _common

TOOL = "pfcount"
BATCH = 4096                 # packets per recv_batch at most


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
    p.add_argument("--rule", dest="rules", action="append", default=[], metavar="SPEC",
                   help="add a filtering rule, in the kernel (repeatable): comma-separated "
                        "field=value items of pcap_pfring.rules.Rule, e.g. "
                        "'rule_id=1,proto=17,dport=53,rule_action=DONT_FORWARD_AND_STOP'; "
                        "each rule's matches follow every statistics block")
    p.add_argument("--policy", choices=("accept", "drop"),
                   help="what the rules do with a packet no rule decides (default accept)")
    return p


class Counters:
    __slots__ = ("pkts", "bytes")

    def __init__(self):
        self.pkts = 0
        self.bytes = 0


class Stats:
    """The counters of one run and PF_RING's text for them."""

    def __init__(self, ring, counters, clock, rule_ids=()):
        self.ring = ring
        self.rule_ids = list(rule_ids)
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
        text += "".join(f"Rule {rid}: [{_common.fmt(st.match)} pkts matched]"
                        f"[{_common.fmt(st.match_bytes)} bytes]\n" for rid, st in self.rule_stats())
        self.last = (now, pkts, nbytes)
        self.ticks += 1
        return text

    def rule_stats(self):
        return [(rid, self.ring.rule_stats(rid)) for rid in self.rule_ids]

    def appl_stats(self):
        pkts, nbytes, drop = self.snapshot()
        return appl_stats_text(self.clock(), pkts, drop, nbytes)

    def final(self, device):
        pkts, nbytes, drop = self.snapshot()
        dur = self.clock()
        out = {"device": device, "recv": pkts, "drop": drop, "bytes": nbytes,
               "duration_s": round(dur, 3), "pps": round(pkts / dur, 1) if dur > 0 else 0.0,
               "mbps": round(nbytes * 8 / dur / 1e6, 3) if dur > 0 else 0.0}
        if self.rule_ids:
            out["rules"] = [{"rule_id": rid, "match": st.match, "bytes": st.match_bytes}
                            for rid, st in self.rule_stats()]
        return out


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


def packet_line(hdr, data):
    """PF_RING's pfcount -v line of a packet: "HH:MM:SS.nnnnnnnnn
    [RX][if_index=N][hash=N]" (local time) and pfring_print_parsed_pkt's
    text, with PF_RING's symmetric flow hash."""
    text, pkt_hash = parsed_packet_text(data, hdr.len)
    sec, ns = divmod(hdr.ts_ns, 1_000_000_000)
    tm = time.localtime(sec)
    return (f"{tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02}.{ns:09} [{hdr.direction}]"
            f"[if_index={hdr.if_index}][hash={pkt_hash}]{text}")


def count(ring, run, counters, limit=0, active=False, out=None):
    """Receive until ``run`` stops or ``limit`` packets (0: none), counting
    into ``counters``; with ``out``, PF_RING's line of every packet is
    written there.  ``active``: never sleep, look at the ring again at once.
    Each turn takes what comes until the next tick (``run.left()``), then
    lets ``run`` print and check its signals and deadline."""
    take = ring.recv_count if out is None else _printer(ring, out)
    while not run.stopped:
        n, nbytes = take(limit - counters.pkts if limit else 0, 0 if active else run.left())
        counters.pkts += n
        counters.bytes += nbytes
        if limit and counters.pkts >= limit:
            break
        run.service()


def _printer(ring, out):
    """With -v: a batch at a time (waiting up to the tick for the first
    packet), PF_RING's line per packet."""
    def take(want, timeout):
        batch = ring.recv_batch(min(BATCH, want) if want else BATCH, timeout=timeout)
        if batch:
            out.write("".join(packet_line(h, v) + "\n" for h, v in batch.views()))
            out.flush()
        return len(batch), batch.bytes
    return take


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
    with Ring(args.device, caplen=args.caplen, promisc=not args.no_promisc) as ring:
        ring.set_application_name(TOOL)
        ring.set_socket_mode(SocketMode.RECV_ONLY)
        ring.set_direction(Direction(args.direction))
        if args.bpf:
            ring.set_bpf_filter(args.bpf)
        rule_ids = [ring.add_rule(Rule.parse(spec)) for spec in args.rules]
        if args.policy:
            ring.set_policy(args.policy == "accept")
        if args.cluster is not None:
            ring.set_cluster(args.cluster, ClusterType(args.cluster_type))
        if args.watermark:
            ring.set_poll_watermark(args.watermark)
        if args.poll:
            ring.set_poll_duration(args.poll)
        ring.enable()
        if not args.quiet:
            _startup(ring, args, err)

        counters = Counters()

        def tick():
            ring.set_application_stats(stats.appl_stats())
            if not args.quiet:
                print(stats.block(), file=err, flush=True)

        run = _common.Run(ring.breakloop, period=1.0, duration=args.duration, tick=tick)
        stats = Stats(ring, counters, lambda: run.elapsed, rule_ids)
        with run:
            count(ring, run, counters, args.count, args.active,
                  sys.stdout if args.verbose else None)
            # as soon as the loop ends, as PF_RING's pfcount says it (a
            # drain ends here: the rest is the exit's work)
            print("Leaving...", file=err, flush=True)
        ring.set_application_stats(stats.appl_stats())
        print(stats.block(), file=err, flush=True)
        if args.json:
            print(json.dumps(stats.final(args.device)), flush=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
