"""Reading the status tree: PF_RING's /proc/net/pf_ring, which libpfring
writes as plain files under ``PF_RING_STATUS_DIR`` (default /run/pf_ring).

The tree holds ``info`` (global settings), one ``<pid>-<dev>.<ring_id>`` file
per ring, ``stats/<the same name>`` (the text of ``set_application_stats``)
and ``dev/<ifname>/info``.  Every file is a list of ``Label : value`` lines;
:func:`parse_fields` turns one into a dict.
"""
import collections
import os
import re

from ._ffi import ffi, lib

DEFAULT_DIR = "/run/pf_ring"
RING_FILE = re.compile(r"(\d+)-(.+)\.(\d+)")
# Where a padded label ends: blanks, then ": " (or ":" at the end of the line).
_PADDED = re.compile(r"\s:(?: |$)")


def status_dir():
    """The directory of the tree: ``PF_RING_STATUS_DIR`` if set, else what
    libpfring's configuration says (/run/pf_ring unless configured)."""
    return os.environ.get("PF_RING_STATUS_DIR") or \
        ffi.string(lib.pfring_status_dir()).decode() or DEFAULT_DIR


def refresh():
    """Rewrite ``info`` and ``dev/`` (for the caller's network namespace) and
    delete the entries of processes that are gone.  Returns the number of
    live rings, or a negative number if the tree cannot be read."""
    return lib.pfring_status_refresh()


def _label_width(lines):
    """The column of the ``:`` after padded labels (the most common one), or None."""
    columns = collections.Counter(m.start() + 1 for m in map(_PADDED.search, lines) if m)
    return columns.most_common(1)[0][0] if columns else None


def _split(line, width):
    """(label, value) of one line, or None when it is not a field."""
    if width and line[width:width + 1] == ":" and line[width + 1:width + 2] in ("", " ") \
            and line[:width].strip():
        return line[:width], line[width + 1:]
    m = _PADDED.search(line)
    if m:
        return line[:m.start()], line[m.end():]
    label, sep, value = line.partition(":")
    return (label, value) if sep and label.strip() else None


def parse_fields(text):
    """The ``Label : value`` lines of a status file as a dict, in file order.

    Labels may themselves contain ``": "`` (``TX: Send Ok``) and values may
    contain colons (MAC addresses): the separator is found at the column
    where the file's padded labels end, then after padding, then at the
    first colon (``Name:    veth0`` in dev files).  Blank lines, headings
    and indented lines are not fields.
    """
    lines = [line for line in (text or "").splitlines() if line[:1].strip()]
    width = _label_width(lines)
    fields = {}
    for line in lines:
        pair = _split(line, width)
        if pair:
            fields[pair[0].strip()] = pair[1].strip()
    return fields


def _read(path):
    """The text of a file, or None if it is gone (files come and go).  A
    ring's files are rewritten in place every second, so a read that races
    a rewrite can mix the two versions: it is read until two reads agree."""
    try:
        with open(path) as f:
            text = f.read()
            for _ in range(4):
                f.seek(0)
                again = f.read()
                if again == text:
                    break
                text = again
            return text
    except (FileNotFoundError, NotADirectoryError):
        return None


class StatusFile:
    """One file of the tree: ``path``, ``name``, ``text`` and ``fields``."""

    def __init__(self, path, text):
        self.path = path
        self.name = os.path.basename(path)
        self.text = text
        self.fields = parse_fields(text)

    def __repr__(self):
        return f"<{type(self).__name__} {self.path!r}>"


class RingStatus(StatusFile):
    """A ring's file: ``pid``, ``device``, ``ring_id``, ``fields`` and
    ``stats_text`` (the application stats file, or None)."""

    def __init__(self, path, text, stats_text):
        super().__init__(path, text)
        pid, device, ring_id = RING_FILE.fullmatch(self.name).groups()
        self.pid = int(pid)
        self.device = device
        self.ring_id = int(ring_id)
        self.stats_text = stats_text

    def as_dict(self):
        """A JSON-ready view."""
        return {"file": self.name, "pid": self.pid, "device": self.device,
                "ring_id": self.ring_id, "fields": self.fields, "stats": self.stats_text}


class DeviceStatus(StatusFile):
    """``dev/<ifname>/info``; ``name`` is the interface name."""

    def __init__(self, path, text):
        super().__init__(path, text)
        self.name = os.path.basename(os.path.dirname(path))


def read_info(directory=None):
    """The ``info`` file as a :class:`StatusFile`, or None if there is none."""
    path = os.path.join(directory or status_dir(), "info")
    text = _read(path)
    return None if text is None else StatusFile(path, text)


def _listdir(path):
    """Sorted names in path; none if it does not exist."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def list_rings(directory=None):
    """The rings in the tree as :class:`RingStatus` objects, by ring id.

    A missing tree has no rings; an unreadable one raises OSError."""
    directory = directory or status_dir()
    rings = []
    for name in _listdir(directory):
        if not RING_FILE.fullmatch(name):
            continue
        text = _read(os.path.join(directory, name))
        if text is not None:
            stats = _read(os.path.join(directory, "stats", name))
            rings.append(RingStatus(os.path.join(directory, name), text, stats))
    return sorted(rings, key=lambda r: (r.ring_id, r.pid))


def list_devices(directory=None):
    """``dev/*/info`` as :class:`DeviceStatus` objects, by interface name."""
    base = os.path.join(directory or status_dir(), "dev")
    devices = []
    for name in _listdir(base):
        path = os.path.join(base, name, "info")
        text = _read(path)
        if text is not None:
            devices.append(DeviceStatus(path, text))
    return devices
