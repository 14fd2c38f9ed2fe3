"""Shared pieces of the CLI tools: options defined once, error handling,
number formatting and signal handling."""
import argparse
import signal
import sys
import threading

from .._ffi import ffi, lib
from ..errors import PFRingError

# name -> (flags, keyword arguments of add_argument)
OPTIONS = {
    "device": (("-i",), dict(dest="device", default="eth0", metavar="DEV",
                             help="device name (PF_RING syntax: eth0, eth0@1, eth0,eth1, any)")),
    "bpf": (("-f",), dict(dest="bpf", metavar="BPF", help="BPF filter (tcpdump syntax)")),
    "direction": (("-e",), dict(dest="direction", type=int, choices=(0, 1, 2), default=0,
                                help="direction: 0 RX+TX, 1 RX only, 2 TX only")),
    "caplen": (("-l",), dict(dest="caplen", type=int, default=1536, help="capture length")),
    "cluster": (("-c",), dict(dest="cluster", type=int, metavar="ID", help="cluster id")),
    "verbose": (("-v",), dict(dest="verbose", action="store_true", help="print every packet")),
    "json": (("--json",), dict(dest="json", action="store_true",
                               help="final statistics as one JSON object on stdout")),
    "duration": (("-d",), dict(dest="duration", type=float, metavar="SEC",
                               help="stop after SEC seconds")),
    "quiet": (("-q",), dict(dest="quiet", action="store_true", help="no periodic output")),
}


def add_options(parser, *names, **overrides):
    for name in names:
        flags, kw = OPTIONS[name]
        kw = dict(kw, **overrides.get(name, {}))
        parser.add_argument(*flags, **kw)


def fmt(value, decimals=False):
    """PF_RING's number format: 1'234'567, 2'764.36."""
    buf = ffi.new("char[]", 64)
    return ffi.string(lib.pfring_format_numbers(float(value), buf, 64, 1 if decimals else 0)).decode()


def fail(tool, exc):
    print(f"{tool}: {exc}", file=sys.stderr)
    return 1


def run_main(tool, main):
    """Wrap main(): a PFRingError or OSError becomes one line and exit 1."""
    def wrapped(argv=None):
        try:
            return main(argv)
        except (PFRingError, OSError, ValueError) as exc:
            return fail(tool, exc)
    return wrapped


class Stopper:
    """SIGINT/SIGTERM (and a duration) set an event and call ``on_stop``."""

    def __init__(self, on_stop):
        self.event = threading.Event()
        self.on_stop = on_stop
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handler)

    def _handler(self, signum, frame):
        self.stop()

    def stop(self):
        if not self.event.is_set():
            self.event.set()
            self.on_stop()


def make_parser(prog, description):
    return argparse.ArgumentParser(prog=prog, description=description)
