"""What pfcount, pfsend and pfdump share: the options (defined once, in
``OPTIONS``), error handling, PF_RING's number format and the thread
protocol of their C loops.

Thread protocol (``Runner``):

1. The tool's per-packet loop is a C function (helpers.c) run in a worker
   thread; cffi releases the GIL for the call, so the loop never waits for
   Python.
2. The main thread waits on an event and wakes every ``period`` seconds to
   call ``tick()`` (the statistics).
3. SIGINT, SIGTERM, the ``-d`` deadline or the worker returning (``-N``/
   ``-n`` reached, an error) end the wait.
4. The main thread then calls ``interrupt()`` (``pfring_breakloop`` or the
   sender's stop flag) until the worker has returned.  It repeats the call
   because ``pfring_loop`` clears a break that arrived before it started.
5. A second SIGINT/SIGTERM while stopping ends the process at once (exit
   status 130), as PF_RING's tools do.
"""
import argparse
import os
import signal
import sys
import threading
import time

from .._ffi import ffi, lib
from ..errors import PFRingError


def nonneg_int(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_int(text):
    value = nonneg_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number '{text}'") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


# The options of more than one tool: name -> (flags, add_argument keywords).
# A tool may override the flags (pfsend's count is -n, pfcount's -N) or any
# keyword, e.g. add_options(p, "count", count={"flags": ("-n",)}).
OPTIONS = {
    "device": (("-i",), dict(dest="device", default="eth0", metavar="DEV",
                             help="device (PF_RING syntax: eth0, eth0@1, eth0,eth1, any); "
                                  "default eth0")),
    "bpf": (("-f",), dict(dest="bpf", metavar="BPF", help="BPF filter (tcpdump syntax)")),
    "direction": (("-e",), dict(dest="direction", type=int, choices=(0, 1, 2), default=0,
                                metavar="DIR",
                                help="direction: 0 RX+TX (default), 1 RX only, 2 TX only")),
    "caplen": (("-l",), dict(dest="caplen", type=positive_int, default=1536, metavar="LEN",
                             help="capture length (default 1536)")),
    "cluster": (("-c",), dict(dest="cluster", type=nonneg_int, metavar="ID",
                              help="join cluster ID")),
    "count": (("-N",), dict(dest="count", type=nonneg_int, default=0, metavar="N",
                            help="stop after N packets (0: no limit)")),
    "active": (("-a",), dict(dest="active", action="store_true",
                             help="active wait: poll the ring without sleeping")),
    "verbose": (("-v",), dict(dest="verbose", action="store_true",
                              help="print one line per packet")),
    "duration": (("-d",), dict(dest="duration", type=positive_float, metavar="SEC",
                               help="stop after SEC seconds")),
    "quiet": (("-q",), dict(dest="quiet", action="store_true",
                            help="no startup lines and no periodic statistics")),
    "json": (("--json",), dict(dest="json", action="store_true",
                               help="print the final statistics as one JSON object on stdout "
                                    "(and nothing else there)")),
}


def add_options(parser, *names, **overrides):
    """Add the shared options ``names``; ``overrides[name]`` changes keywords
    (or ``flags``) of one option."""
    for name in names:
        flags, kw = OPTIONS[name]
        kw = dict(kw)
        extra = dict(overrides.get(name, {}))
        flags = extra.pop("flags", flags)
        kw.update(extra)
        parser.add_argument(*flags, **kw)


def make_parser(prog, description):
    return argparse.ArgumentParser(prog=prog, description=description)


def fmt(value, decimals=False):
    """PF_RING's number format (pfring_format_numbers): 1'234'567, 2'764.36."""
    buf = ffi.new("char[]", 128)
    return ffi.string(lib.pfring_format_numbers(float(value), buf, 128,
                                                1 if decimals else 0)).decode()


def duration_text(seconds):
    """PF_RING's application-stats duration: d:hh:mm:ss:mmm."""
    ms = int(seconds * 1000)
    d, ms = divmod(ms, 86_400_000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{d}:{h:02}:{m:02}:{s:02}:{ms:03}"


def error_text(exc):
    """One line for an exception: the library's message, or 'file: reason'."""
    if isinstance(exc, PFRingError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def run_main(tool, main):
    """Wrap ``main(argv)``: a PFRingError, OSError or ValueError becomes one
    line ``<tool>: <message>`` on stderr and exit status 1."""
    def wrapped(argv=None):
        try:
            return main(argv)
        except (PFRingError, OSError, ValueError) as exc:
            print(f"{tool}: {error_text(exc)}", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:      # a signal before the handlers were set
            return 130
    wrapped.__doc__ = main.__doc__
    wrapped.__wrapped__ = main
    return wrapped


class Runner:
    """Runs ``work()`` in a worker thread and ticks in this one (see the
    module docstring).  ``run()`` returns what ``work`` returned and
    re-raises what it raised."""

    def __init__(self, work, interrupt, period=1.0, duration=None, tick=None):
        self.work = work
        self.interrupt = interrupt
        self.period = period
        self.duration = duration
        self.tick = tick
        self.done = threading.Event()
        self.signalled = None
        self._result = None
        self._exc = None
        self.started = None

    def _worker(self):
        try:
            self._result = self.work()
        except BaseException as exc:      # re-raised by run()
            self._exc = exc
        finally:
            self.done.set()

    def _on_signal(self, signum, frame):
        if self.signalled is not None:    # the second one: leave now
            os._exit(130)
        self.signalled = signum
        self.done.set()
        self.interrupt()

    def run(self):
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.started = time.monotonic()
            deadline = None if self.duration is None else self.started + self.duration
            thread = threading.Thread(target=self._worker, name="pfring-loop", daemon=True)
            thread.start()
            next_tick = self.started + self.period
            while not self.done.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                wake = next_tick if deadline is None else min(next_tick, deadline)
                if self.done.wait(max(0.0, wake - now)):
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break            # the final statistics follow at once
                if now >= next_tick:
                    next_tick += self.period
                    if self.tick is not None:
                        self.tick()
            while thread.is_alive():
                self.interrupt()
                thread.join(0.05)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
        if self._exc is not None:
            raise self._exc
        return self._result

    @property
    def elapsed(self):
        return time.monotonic() - self.started
