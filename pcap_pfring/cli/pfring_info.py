"""pfring-info: print the status tree (PF_RING's /proc/net/pf_ring).

``pfring-info`` prints ``info`` and then every ring file, each under a
heading line that is its file name (and its application stats under
``stats/<name>``); ``pfring-info RING`` prints one ring (RING: a ring id or
a file name); ``--dev`` adds ``dev/<ifname>/info``; ``--json`` prints one
JSON object instead.  The tree is refreshed first, so the entries of dead
processes are gone.
"""
import json
import sys

from .. import status
from . import _common

TOOL = "pfring-info"


def build_parser():
    """pfring-info's options: ``[RING] [--dev] [--json]``."""
    p = _common.make_parser(TOOL, "Show PF_RING rings: the status tree under "
                                  "PF_RING_STATUS_DIR (default /run/pf_ring).")
    p.add_argument("ring", nargs="?", help="one ring: its id or its file name")
    p.add_argument("--dev", action="store_true", help="also print dev/*/info")
    _common.add_options(p, "json", json={"help": "print one JSON object"})
    return p


def _select(rings, key, directory):
    """The rings whose id or file name is key; ValueError when none is."""
    chosen = [r for r in rings if key in (str(r.ring_id), r.name)]
    if not chosen:
        raise ValueError(f"no ring '{key}' in {directory}")
    return chosen


def _as_json(directory, info, rings, devices):
    """The tree as one JSON document: dir, info fields, rings, devices."""
    return json.dumps({"dir": directory,
                       "info": info.fields if info else {},
                       "rings": [r.as_dict() for r in rings],
                       "devices": {d.name: d.fields for d in devices}})


def _print_text(info, rings, devices):
    """Each file's text under a heading line naming it, blank lines between."""
    blocks = [info.text] if info else []
    for r in rings:
        blocks.append(f"{r.name}\n{r.text}")
        if r.stats_text:
            blocks.append(f"stats/{r.name}\n{r.stats_text}")
    blocks += [f"dev/{d.name}/info\n{d.text}" for d in devices]
    print("\n".join(b if b.endswith("\n") else b + "\n" for b in blocks), end="")


def main(argv=None):
    """Refresh the tree (sweeping dead processes), then print it; 0, or 1
    with one line on stderr when the ring or the tree is missing."""
    args = build_parser().parse_args(argv)
    directory = status.status_dir()
    if status.refresh() < 0:
        raise OSError(f"cannot read the status tree {directory}")
    rings = status.list_rings(directory)
    if args.ring is not None:
        rings = _select(rings, args.ring, directory)
    info = status.read_info(directory) if args.ring is None or args.json else None
    devices = status.list_devices(directory) if args.dev else []
    if args.json:
        print(_as_json(directory, info, rings, devices))
    else:
        _print_text(info, rings, devices)
    return 0


main = _common.run_main(TOOL, main)


def run():
    """The console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()
