"""What pfcount, pfsend and pfdump share: the options (defined once, in
``OPTIONS``), error handling, PF_RING's number format and the run protocol
of their loops.

Run protocol (``Run``), one thread:

1. The tool's loop runs in the main thread on ``Ring``'s public methods:
   it receives with ``recv_batch(timeout=run.left())`` (the ring's one
   wait, which ends at a packet, the timeout or ``breakloop()``) or sends
   with ``send_many`` in chunks, sleeping with ``run.sleep_until()``.
2. After each batch or chunk it calls ``run.service()``, which calls
   ``tick()`` (the statistics) once a ``period`` has passed and notices the
   ``-d`` deadline.
3. SIGINT and SIGTERM set ``run.stopped`` and call ``interrupt()``
   (``Ring.breakloop``), so that a wait in progress returns; the loop then
   ends and the tool prints its final statistics.
4. A second SIGINT/SIGTERM ends the process at once (exit status 130), as
   PF_RING's tools do.
"""
import argparse
import os
import signal
import sys
import time

from ..errors import PFRingError
from ..ring import format_number


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


fmt = format_number     # PF_RING's number format: 1'234'567, 2'764.36


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


class Run:
    """The clock, the deadline and the signals of a tool's loop (see the
    module docstring).  Use it as a context manager around the loop."""

    SLEEP_SLICE = 0.1        # the longest sleep before the loop looks at a signal

    def __init__(self, interrupt=None, period=1.0, duration=None, tick=None):
        self.interrupt = interrupt
        self.period = period
        self.duration = duration
        self.tick = tick
        self.signalled = None
        self.stopped = False
        self.started = None
        self._deadline = None
        self._next_tick = None
        self._old = {}

    def _on_signal(self, signum, frame):
        if self.signalled is not None:    # the second one: leave now
            os._exit(130)
        self.signalled = signum
        self.stopped = True
        if self.interrupt is not None:
            self.interrupt()

    def __enter__(self):
        self._old = {sig: signal.signal(sig, self._on_signal)
                     for sig in (signal.SIGINT, signal.SIGTERM)}
        self.started = time.monotonic()
        self._deadline = None if self.duration is None else self.started + self.duration
        self._next_tick = self.started + self.period
        return self

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}

    def stop(self):
        self.stopped = True

    def _wake(self):
        """When service() next has something to do."""
        return self._next_tick if self._deadline is None else min(self._next_tick,
                                                                  self._deadline)

    def left(self):
        """Seconds until service() next has something to do (0 if now)."""
        return max(0.0, self._wake() - time.monotonic())

    def service(self):
        """The deadline (which stops the run, before any tick: the final
        statistics follow at once) and the ticks that are due."""
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            self.stopped = True
            return
        if now >= self._next_tick:
            while self._next_tick <= now:
                self._next_tick += self.period
            if self.tick is not None:
                self.tick()

    def sleep_until(self, when):
        """Sleep until the monotonic time ``when``, the next tick or the
        deadline, whichever comes first (in slices, so that a signal is
        seen), then service()."""
        end = min(when, self._wake())
        while not self.stopped:
            ahead = end - time.monotonic()
            if ahead <= 0:
                break
            time.sleep(min(ahead, self.SLEEP_SLICE))
        self.service()

    @property
    def elapsed(self):
        return time.monotonic() - self.started
