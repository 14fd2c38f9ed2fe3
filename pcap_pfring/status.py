"""Reading the status tree (PF_RING's /proc/net/pf_ring, here under
``PF_RING_STATUS_DIR`` or /run/pf_ring)."""
import os
import re

from ._ffi import lib

_RING_FILE = re.compile(r"^(\d+)-(.+)\.(\d+)$")


def status_dir():
    """The directory of the tree, as libpfring sees it."""
    return os.environ.get("PF_RING_STATUS_DIR") or "/run/pf_ring"


def refresh():
    """Rewrite info and dev/, drop entries of dead processes; the live ring count."""
    return lib.pfring_status_refresh()


def parse_fields(text):
    """``Label : value`` lines as a dict (other lines are ignored)."""
    fields = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip() and not line.startswith(" "):
            fields[label.strip()] = value.strip()
    return fields


class RingStatus:
    """One ring's file: ``pid``, ``device``, ``ring_id``, ``fields``, ``stats_text``."""

    def __init__(self, path, pid, device, ring_id, text, stats_text):
        self.path = path
        self.name = os.path.basename(path)
        self.pid = pid
        self.device = device
        self.ring_id = ring_id
        self.text = text
        self.fields = parse_fields(text)
        self.stats_text = stats_text

    def as_dict(self):
        return {"file": self.name, "pid": self.pid, "device": self.device,
                "ring_id": self.ring_id, "fields": self.fields, "stats": self.stats_text}


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_info(directory=None):
    return _read(os.path.join(directory or status_dir(), "info"))


def list_rings(directory=None):
    """The rings in the tree, ordered by ring id."""
    directory = directory or status_dir()
    rings = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return rings
    for name in names:
        m = _RING_FILE.match(name)
        if not m or ".tmp." in name:
            continue
        text = _read(os.path.join(directory, name))
        if text is None:
            continue
        stats = _read(os.path.join(directory, "stats", name))
        rings.append(RingStatus(os.path.join(directory, name), int(m.group(1)), m.group(2),
                                int(m.group(3)), text, stats))
    return sorted(rings, key=lambda r: r.ring_id)
