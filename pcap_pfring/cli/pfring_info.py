"""pfring-info: print the status tree (PF_RING's /proc/net/pf_ring)."""
import json
import os
import sys

from .. import status
from . import _common

TOOL = "pfring-info"


def build_parser():
    p = _common.make_parser(TOOL, "Show PF_RING rings: the status tree under "
                                  "PF_RING_STATUS_DIR (default /run/pf_ring).")
    p.add_argument("ring", nargs="?", help="one ring: its id or its file name")
    p.add_argument("--dev", action="store_true", help="also print dev/*/info")
    _common.add_options(p, "json")
    return p


def _devices(directory):
    out = {}
    base = os.path.join(directory, "dev")
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        text = status._read(os.path.join(base, name, "info"))
        if text is not None:
            out[name] = text
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    status.refresh()
    directory = status.status_dir()
    rings = status.list_rings(directory)
    if args.ring is not None:
        rings = [r for r in rings if args.ring in (str(r.ring_id), r.name)]
        if not rings:
            raise ValueError(f"no ring '{args.ring}' in {directory}")
    info = status.read_info(directory) or ""
    devices = _devices(directory) if args.dev else {}
    if args.json:
        print(json.dumps({"dir": directory, "info": status.parse_fields(info),
                          "rings": [r.as_dict() for r in rings],
                          "devices": {k: status.parse_fields(v) for k, v in devices.items()}}))
        return 0
    if args.ring is None:
        print(info, end="")
    for r in rings:
        print(f"\n--- {r.name}")
        print(r.text, end="")
        if r.stats_text:
            print(f"--- stats/{r.name}\n{r.stats_text}", end="")
    for name, text in devices.items():
        print(f"\n--- dev/{name}/info\n{text}", end="")
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
