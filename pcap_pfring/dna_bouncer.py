"""The DNA Bouncer (libzero, the 5.6.2 guide's chapter 9.2) in Python.

A :class:`DnaBouncer` bridges two :class:`~pcap_pfring.Ring` objects: every
packet received on the ingress ring goes to a decision function, and the
ones it keeps are sent on the egress ring (both ways in two-way mode)::

    def keep(packet, direction):          # packet: a memoryview into the ring
        return packet[12:14] == b"\\x08\\x00"

    with DnaBouncer(Ring("eth0", caplen=2048, promisc=True),
                    Ring("eth1", caplen=2048, promisc=True),
                    BouncerMode.TWO_WAY) as bouncer:
        bouncer.loop(keep)                # until breakloop() or Ctrl-C
        print(bouncer.stats(0), bouncer.stats(1))

The bouncer is libpfring's (``pfring_dna_bouncer_*`` in pfring.h): its
loop receives, sends and counts; this module is a thin adapter.  The
default and faster path is a decision function in C; here the decision
function is Python, called through a cffi callback (``extern "Python"``).

The decision protocol: ``decide(packet, direction)`` gets a writable
memoryview of the packet where it lies in the receiving ring (it may
rewrite it in place) and the direction (0: received on the ingress ring,
1: on the egress ring).  It returns a truth value (true forwards the packet,
false drops it) or an int (not a bool): forward that many bytes (0 drops;
more than the packet is cut back).  The view is released when the function
returns; a slice kept longer never faults but reads whatever the ring holds
later.  An exception raised by the function drops the packet, ends the loop,
and is raised again by :meth:`DnaBouncer.loop`.

:meth:`DnaBouncer.loop` runs the C loop in a thread of its own and waits
for it, so that the calling thread keeps handling signals: a
KeyboardInterrupt breaks the loop and is raised once the loop ended.  The
loop enables the rings it receives on; open them with ``enable=True`` to
queue what arrives before it starts.
"""
from __future__ import annotations

import enum
import threading
import typing

from ._ffi import ffi, lib
from ._owner import RingOwner
from .errors import make_error
from .ring import Ring

__all__ = ["PASS", "DROP", "BouncerMode", "BouncerStats", "DnaBouncer"]

PASS: int = lib.DNA_BOUNCER_PASS
DROP: int = lib.DNA_BOUNCER_DROP


class BouncerMode(enum.IntEnum):
    ONE_WAY = lib.one_way_mode
    TWO_WAY = lib.two_way_mode


class BouncerStats(typing.NamedTuple):
    """``pfring_dna_bouncer_stats`` of one direction: packets handed to the
    decision function, forwarded, dropped by it, passed but not sent."""
    received: int
    forwarded: int
    dropped: int
    tx_failed: int


def _error(code=None):
    if code is None:
        code = lib.pfring_dna_bouncer_last_error_code() or lib.PF_RING_ERROR_GENERIC
    text = ffi.string(lib.pfring_dna_bouncer_last_error()).decode("utf-8", "replace")
    return make_error(code, text)


def _check(rc):
    if rc < 0:
        raise _error(rc)
    return rc


@ffi.def_extern(error=lib.DNA_BOUNCER_DROP)
def pp_bouncer_decide(pkt_len, pkt, user, direction):
    self = ffi.from_handle(ffi.cast("void *", user))
    try:
        view = self._owned[direction & 1]._block_view(pkt, pkt_len[0])
        try:
            verdict = self._decide(view, direction)
        finally:
            view.release()
        if isinstance(verdict, int) and not isinstance(verdict, bool):
            if verdict <= 0:
                return DROP
            pkt_len[0] = min(verdict, pkt_len[0])
            return PASS
        return PASS if verdict else DROP
    except BaseException as e:          # noqa: BLE001 - raised again by loop()
        if self._exc is None:
            self._exc = e
        lib.pfring_dna_bouncer_breakloop(self._b)
        return DROP


class DnaBouncer(RingOwner):
    """A bouncer from ``ingress`` to ``egress`` (two different open Rings),
    in ``mode``.  The bouncer owns the rings from then on: :meth:`destroy`
    closes them (as PF_RING's ``pfring_dna_bouncer_destroy`` does)."""

    _tag = "the DNA bouncer"

    def __init__(self, ingress: Ring, egress: Ring, mode: BouncerMode = BouncerMode.ONE_WAY):
        self._b = ffi.NULL
        for name, ring in (("ingress", ingress), ("egress", egress)):
            if not isinstance(ring, Ring):
                raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                                 f"{name} must be a Ring, not {type(ring).__name__}")
        handle = lib.pfring_dna_bouncer_create(ingress._h(), egress._h())
        if handle == ffi.NULL:
            raise _error()
        self._b = handle
        self._own(ingress)
        self._own(egress)
        self._decide = None
        self._exc = None
        self._thread = None
        if mode != BouncerMode.ONE_WAY:
            try:
                self.set_mode(mode)
            except BaseException:
                self.destroy()
                raise

    def _h(self):
        if self._b == ffi.NULL:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS, "DNA bouncer used after destroy()")
        return self._b

    def set_mode(self, mode: BouncerMode) -> None:
        """ONE_WAY (the default) or TWO_WAY; not while looping."""
        if not isinstance(mode, int) or isinstance(mode, bool):
            raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             f"mode must be a BouncerMode, not {mode!r}")
        _check(lib.pfring_dna_bouncer_set_mode(self._h(), int(mode)))

    def stats(self, direction: int = 0) -> BouncerStats:
        """The counters of direction 0 (ingress -> egress) or 1 (egress -> ingress)."""
        if not isinstance(direction, int) or not 0 <= direction <= 255:
            raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             f"direction must be 0 or 1, not {direction!r}")
        out = ffi.new("pfring_dna_bouncer_stat *")
        _check(lib.pfring_dna_bouncer_stats(self._h(), direction, out))
        return BouncerStats(out.received, out.forwarded, out.dropped, out.tx_failed)

    @property
    def looping(self) -> bool:
        return self._thread is not None

    def loop(self, decide: typing.Callable, wait_for_packet: bool = True) -> None:
        """Bridge until :meth:`breakloop` (from another thread, a signal
        handler or ``decide``), a ring's failure (raised), an exception of
        ``decide`` (raised again) or a KeyboardInterrupt (raised once the
        loop ended).  ``wait_for_packet`` False: the loop spins instead of
        sleeping when idle."""
        if not callable(decide):
            raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             f"decide must be callable, not {type(decide).__name__}")
        handle = self._h()
        if self._thread is not None:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS,
                             "pfring_dna_bouncer_loop: the bouncer is looping already "
                             "(one loop at a time)")
        result = []
        me = ffi.new_handle(self)           # alive for the loop: the callback's user_bytes

        def run():
            rc = lib.pfring_dna_bouncer_loop(handle, decide_c, ffi.cast("u_char *", me),
                                             1 if wait_for_packet else 0)
            result.append(_error(rc) if rc < 0 else None)   # the error is this thread's

        decide_c = lib.pp_bouncer_decide
        self._decide, self._exc = decide, None
        self._thread = threading.Thread(target=run, name="dna-bouncer", daemon=True)
        interrupted = None
        try:
            self._thread.start()
            while self._thread.is_alive():
                try:
                    self._thread.join(0.1)
                except KeyboardInterrupt as e:
                    interrupted = e
                    lib.pfring_dna_bouncer_breakloop(handle)
        finally:
            self._thread = None
            self._decide = None
        exc, self._exc = self._exc, None
        if exc is not None:
            raise exc
        if interrupted is not None:
            raise interrupted
        if result and result[0] is not None:
            raise result[0]

    def breakloop(self) -> None:
        """End the loop (after the burst in hand; within 10 ms when idle).
        A break while no loop runs ends the next loop at once."""
        lib.pfring_dna_bouncer_breakloop(self._h())

    # -- life cycle -----------------------------------------------------------

    @property
    def destroyed(self) -> bool:
        return self._b == ffi.NULL

    def destroy(self) -> None:
        """Close both rings and free the bouncer; refused while looping.
        Destroying twice is harmless."""
        if self._thread is not None:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS,
                             "pfring_dna_bouncer_destroy: the bouncer is looping; call "
                             "breakloop() and destroy it once loop() has returned")
        handle, self._b = self._b, ffi.NULL
        self._destroy_owned(lib.pfring_dna_bouncer_destroy, handle)

    def __del__(self):
        if getattr(self, "_b", ffi.NULL) != ffi.NULL and getattr(self, "_thread", None) is None:
            self.destroy()

    def __repr__(self):
        return f"<DnaBouncer {'destroyed' if self.destroyed else 'ready'}>"
