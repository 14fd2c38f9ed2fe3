"""pfbalance: a DNA Cluster master, as PF_RING ZC's zbalance_ipc is used.

    pfbalance -i DEV -c ID -n 2,1 [-a] [-d SEC] [-q] [--json]

Receives from DEV (PF_RING syntax: eth0, eth0,eth1, eth0@1) and hands the
packets to the slaves of DNA cluster ID, which open ``dnacluster:ID@APP``.
``-n 2,1`` makes groups of apps: apps 0 and 1 share the traffic per flow,
app 2 gets all of it (every group gets every packet).  A thin adapter on
libpfring's master API through :class:`~pcap_pfring.dna_cluster.DnaCluster`:
the distribution runs in the library's thread, never in Python.

Every second: one line per app on stderr (``-q``: none), or with --json one
JSON object per second on stdout.  SIGINT/SIGTERM or -d end it; the cluster
is destroyed (its slaves get an error) and the final statistics follow.
"""
import argparse
import json
import sys
import time

from .. import dna_cluster
from ..dna_cluster import DnaCluster
from ..ring import Flags, Ring, SocketMode
from . import _common

TOOL = "pfbalance"
CAPLEN = 2048                # DNA_CLUSTER_BUFFER_SIZE: longer packets are cut anyway


def groups(text):
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid group list '{text}' (comma-separated instance counts, e.g. 2,1)") from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"every group in '{text}' needs >= 1 instance")
    if sum(sizes) > dna_cluster.MAX_APPS:
        raise argparse.ArgumentTypeError(
            f"'{text}' makes {sum(sizes)} apps; a cluster has at most {dna_cluster.MAX_APPS}")
    return sizes


def cluster_id(text):
    value = _common.nonneg_int(text)
    if not 1 <= value <= dna_cluster.MAX_ID:
        raise argparse.ArgumentTypeError(
            f"cluster id {value} is out of range (1..{dna_cluster.MAX_ID})")
    return value


def build_parser():
    p = _common.make_parser(TOOL, "Distribute a device's packets to DNA cluster slaves "
                                  "(dnacluster:ID@APP).")
    _common.add_options(p, "device", "active", "duration", "quiet")
    p.add_argument("-c", dest="cluster", type=cluster_id, required=True, metavar="ID",
                   help="cluster id (1..65535)")
    p.add_argument("-n", dest="groups", type=groups, default=[1], metavar="N[,N...]",
                   help="instances per application: 2,1 = apps 0-1 share per flow, "
                        "app 2 gets everything (default 1)")
    p.add_argument("--json", dest="json", action="store_true",
                   help="the statistics as one JSON object per second on stdout")
    return p


def snapshot(cluster, sizes):
    total = cluster.stats()
    apps, app = [], 0
    for g, n in enumerate(sizes):
        for i in range(n):
            delivered, dropped = cluster.app_stats(app)
            apps.append({"app": app, "group": g, "instance": i,
                         "delivered": delivered, "dropped": dropped})
            app += 1
    return {"rx": total.rx, "processed": total.rx_processed, "apps": apps}


def text_block(cid, snap):
    fmt = _common.fmt
    lines = [f"[cluster {cid}][{fmt(snap['rx'])} pkts rcvd][{fmt(snap['processed'])} "
             f"pkts distributed]"]
    for a in snap["apps"]:
        lines.append(f"  dnacluster:{cid}@{a['app']} (group {a['group']}): "
                     f"[{fmt(a['delivered'])} pkts queued][{fmt(a['dropped'])} pkts dropped]")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    sizes = args.groups
    num_apps = sum(sizes)
    err = sys.stderr
    with Ring(args.device, CAPLEN, Flags.PROMISC) as ring, \
            DnaCluster(args.cluster, num_apps) as cluster:
        cluster.register_ring(ring)
        cluster.set_mode(SocketMode.RECV_ONLY)
        cluster.set_wait_mode(args.active)
        cluster.set_app_groups(sizes)
        cluster.enable()
        if not args.quiet:
            first = 0
            for g, n in enumerate(sizes):
                apps = f"{first}" if n == 1 else f"{first}-{first + n - 1}"
                how = "gets every packet" if n == 1 else "share the packets per flow"
                print(f"# group {g}: dnacluster:{args.cluster}@{apps} {how}", file=err)
                first += n
            print(f"Distributing {args.device} to DNA cluster {args.cluster} "
                  f"({num_apps} apps)", file=err, flush=True)

        def tick():
            snap = snapshot(cluster, sizes)
            if args.json:
                print(json.dumps({"cluster": args.cluster, "time": round(run.elapsed, 3),
                                  **snap}), flush=True)
            elif not args.quiet:
                print(text_block(args.cluster, snap), file=err, flush=True)

        run = _common.Run(None, period=1.0, duration=args.duration, tick=tick)
        with run:
            while not run.stopped:
                run.sleep_until(time.monotonic() + 1.0)
        cluster.disable()
        snap = snapshot(cluster, sizes)
        print("Leaving...", file=err)
        print(text_block(args.cluster, snap), file=err, flush=True)
        if args.json:
            print(json.dumps({"cluster": args.cluster, "final": True, **snap}), flush=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
