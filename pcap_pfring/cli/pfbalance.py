"""pfbalance: a DNA Cluster master, as PF_RING ZC's zbalance_ipc is used.

    pfbalance -i DEV -c ID -n 2,1 [-a] [-d SEC] [-q] [--json]

Receives from DEV (PF_RING syntax: eth0, eth0,eth1, eth0@1) and hands the
packets to the slaves of DNA cluster ID, which open ``dnacluster:ID@APP``.
``-n 2,1`` makes groups of apps: apps 0 and 1 share the traffic per flow,
app 2 gets all of it (every group gets every packet).  A thin adapter on
libpfring's master API (``dna_cluster_*``, ``dna_cluster_set_app_groups``):
the distribution runs in the library's thread, never in Python.

Every second: one line per app on stderr (``-q``: none), or with --json one
JSON object per second on stdout.  SIGINT/SIGTERM or -d end it; the cluster
is destroyed (its slaves get an error) and the final statistics follow.
"""
import argparse
import json
import sys
import time

from .._ffi import ffi, lib
from ..errors import make_error
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
    if sum(sizes) > lib.DNA_CLUSTER_MAX_APPS:
        raise argparse.ArgumentTypeError(
            f"'{text}' makes {sum(sizes)} apps; a cluster has at most {lib.DNA_CLUSTER_MAX_APPS}")
    return sizes


def cluster_id(text):
    value = _common.nonneg_int(text)
    if not 1 <= value <= lib.DNA_CLUSTER_MAX_ID:
        raise argparse.ArgumentTypeError(
            f"cluster id {value} is out of range (1..{lib.DNA_CLUSTER_MAX_ID})")
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


def _cluster_error(code):
    return make_error(code, ffi.string(lib.dna_cluster_last_error()).decode())


def _check(rc):
    if rc < 0:
        raise _cluster_error(rc)
    return rc


def snapshot(cluster, sizes):
    rx, tx, done, txd = (ffi.new("u_int64_t *") for _ in range(4))
    _check(lib.dna_cluster_stats(cluster, rx, tx, done, txd))
    apps, app = [], 0
    for g, n in enumerate(sizes):
        for i in range(n):
            delivered, dropped = ffi.new("u_int64_t *"), ffi.new("u_int64_t *")
            _check(lib.dna_cluster_app_stats(cluster, app, delivered, dropped))
            apps.append({"app": app, "group": g, "instance": i,
                         "delivered": delivered[0], "dropped": dropped[0]})
            app += 1
    return {"rx": rx[0], "processed": done[0], "apps": apps}


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
    ring = lib.pfring_open(args.device.encode(), CAPLEN, lib.PF_RING_PROMISC)
    if ring == ffi.NULL:
        raise make_error(lib.pfring_last_open_error_code(),
                         ffi.string(lib.pfring_last_open_error()).decode())
    cluster = ffi.NULL
    try:
        cluster = lib.dna_cluster_create(args.cluster, num_apps, 0)
        if cluster == ffi.NULL:
            raise _cluster_error(lib.dna_cluster_last_error_code())
        _check(lib.dna_cluster_register_ring(cluster, ring))
        _check(lib.dna_cluster_set_mode(cluster, lib.recv_only_mode))
        _check(lib.dna_cluster_set_wait_mode(cluster, 1 if args.active else 0))
        _check(lib.dna_cluster_set_app_groups(cluster, ffi.new("u_int32_t[]", sizes),
                                              len(sizes)))
        _check(lib.dna_cluster_enable(cluster))
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
        _check(lib.dna_cluster_disable(cluster))
        snap = snapshot(cluster, sizes)
        print("Leaving...", file=err)
        print(text_block(args.cluster, snap), file=err, flush=True)
        if args.json:
            print(json.dumps({"cluster": args.cluster, "final": True, **snap}), flush=True)
    finally:
        if cluster != ffi.NULL:
            lib.dna_cluster_destroy(cluster)
        lib.pfring_close(ring)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
