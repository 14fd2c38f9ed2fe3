"""``Ring``: a PF_RING capture ring, with PF_RING's verbs as methods.

Device names follow the grammar written above ``pfring_open`` in pfring.h::

    eth0            all RX queues          eth0@2, eth0@1-3,5   RX queues
    eth0,eth1       one ring, two devices  eth0.100             VLAN 100 only
    (eth0.100)      a literal name         any                  every interface

A ring receives nothing until :meth:`Ring.enable`.  ``recv()`` returns
``(PacketHeader, bytes)`` or ``None`` when no packet is ready;
``recv_batch(n)`` returns a :class:`Batch` of up to n packets from one C call,
in place in the ring; ``loop()`` hands a callback zero-copy memoryviews.

The receive path (``pp_burst`` in helpers.c over ``pfring_recv_burst``):
one C call takes up to a kernel block's worth of packets, with no system call,
allocation or copy per packet, and writes one fixed-size record per packet
(offset, lengths, interface, time stamp, direction) and the batch's byte
count.  Python unpacks the records with one ``struct.iter_unpack`` per batch
and slices the packets out of a memoryview over the block.  The block goes
back to the kernel at the next receive call on the ring, so a ``Batch`` is
readable until then; ``loop()`` keeps the packets a callback did not reach
(``breakloop()`` or an exception) and hands them out first on the next
receive call.  ``PF_RING_REENTRANT`` rings cannot hand out pointers into the
ring and copy instead, into buffers that each thread allocates once.

Zero-copy views live as long as their packets: the ring records the
memoryviews :meth:`Batch.views` hands out and releases them at the next
receive call and at ``close()``, and :meth:`Ring.loop` releases each
callback's view when the callback returns, so that reading one then raises
``ValueError: operation forbidden on released memoryview object``.
What cannot be released (a slice, ``cast`` or ``memoryview()`` of a view,
which are memoryviews of their own, or a view that something exports) can
never fault: every view is sliced from one memoryview over the ring's
mapping that libpfring keeps mapped while any of them lives
(``pfring_keep_packet_memory``; after ``close()`` as private memory holding
the last block), and reads what is there: the packet until its block goes
back to the kernel, later bytes after that.  Nothing is allocated per
packet beyond the view itself; a view costs one ``release()`` (and, from
``views()``, one list append), and the rest is per batch.

Waiting is libpfring's ``pfring_poll`` (up to a packet, the timeout, a
:meth:`Ring.breakloop` or a signal, whose handler then runs).  The receive
calls that expect packets wait in the same C call that takes them
(``pp_burst`` polls once when the ring is empty; ``pfring_recv_count``
waits and counts for its duration), so a wake-up costs one call from
Python.  A wait cut short without a packet goes on in :meth:`Ring.wait`'s
loop (``_wait``, which also checks for a breakloop made since the call
began) until the deadline.  ``recv``, ``recv_batch``, ``loop`` and the
front ends built on them (scapy, pcapy, the tools) wait this way.

A breakloop, as PF_RING's ``pfring_breakloop``, ends the calls in progress
and nothing else: each receive call (and each iteration over the ring, as a
whole) notes ``Ring._break_gen`` when it starts and stops when it changes.
A breakloop made while no call runs is forgotten, so it never cuts short a
later wait.  Timeouts are seconds, an int or a float >= 0; ``None`` (and
``math.inf``) mean no limit; NaN, negative numbers and other types are
refused (``InvalidArgumentError``, a ``ValueError``, or ``TypeError``).

Sending: :meth:`Ring.send` for one frame, :meth:`Ring.send_many` for many
(a :class:`Frames` table packed once, sent round robin in one C call).
"""
import enum
import math
import struct
import sys
import threading
import time
import typing

from . import hw_rules as _hw_rules
from . import rules as _rules
from ._ffi import ffi, lib
from .errors import check, make_error

DEFAULT_CAPLEN = 1536
MAX_CAPLEN = lib.MAX_CAPLEN
_BATCH_BUFSIZE = 4 * 1024 * 1024
_BURST_MAX = 4096        # packets per pp_burst call at most
_LOOP_BURST = 256
_REC = struct.Struct("IIIiQBB6x")   # struct pp_rec
_WAIT_FOREVER_MS = 2**31 - 1    # a wait in C without a limit (until a break or signal)
_WAIT_SLICE_MS = 200     # the longest pfring_poll of _wait
_VIEWS_COMPACT = 1 << 16  # views recorded in one receive call before the unheld are dropped
_monotonic = time.monotonic
_INF = math.inf


class Direction(enum.IntEnum):
    """Which packets a ring captures (``packet_direction``)."""
    RX_AND_TX = lib.rx_and_tx_direction
    RX_ONLY = lib.rx_only_direction
    TX_ONLY = lib.tx_only_direction


class SocketMode(enum.IntEnum):
    """What a ring is used for (``socket_mode``)."""
    SEND_AND_RECV = lib.send_and_recv_mode
    SEND_ONLY = lib.send_only_mode
    RECV_ONLY = lib.recv_only_mode
    MANAGEMENT_ONLY = lib.management_only_mode


class ClusterType(enum.IntEnum):
    """PF_RING's cluster types (``cluster_type``)."""
    PER_FLOW = lib.cluster_per_flow
    ROUND_ROBIN = lib.cluster_round_robin
    PER_FLOW_2_TUPLE = lib.cluster_per_flow_2_tuple
    PER_FLOW_4_TUPLE = lib.cluster_per_flow_4_tuple
    PER_FLOW_5_TUPLE = lib.cluster_per_flow_5_tuple
    PER_FLOW_TCP_5_TUPLE = lib.cluster_per_flow_tcp_5_tuple
    PER_INNER_FLOW = lib.cluster_per_inner_flow
    PER_INNER_FLOW_2_TUPLE = lib.cluster_per_inner_flow_2_tuple
    PER_INNER_FLOW_4_TUPLE = lib.cluster_per_inner_flow_4_tuple
    PER_INNER_FLOW_5_TUPLE = lib.cluster_per_inner_flow_5_tuple
    PER_INNER_FLOW_TCP_5_TUPLE = lib.cluster_per_inner_flow_tcp_5_tuple
    PER_FLOW_IP_5_TUPLE = lib.cluster_per_flow_ip_5_tuple
    PER_INNER_FLOW_IP_5_TUPLE = lib.cluster_per_inner_flow_ip_5_tuple
    PER_FLOW_IP_WITH_DUP_TUPLE = lib.cluster_per_flow_ip_with_dup_tuple


class Flags(enum.IntFlag):
    """``pfring_open`` flags."""
    NONE = 0
    ZC_SYMMETRIC_RSS = lib.PF_RING_ZC_SYMMETRIC_RSS
    REENTRANT = lib.PF_RING_REENTRANT
    LONG_HEADER = lib.PF_RING_LONG_HEADER
    PROMISC = lib.PF_RING_PROMISC
    TIMESTAMP = lib.PF_RING_TIMESTAMP
    HW_TIMESTAMP = lib.PF_RING_HW_TIMESTAMP
    DO_NOT_PARSE = lib.PF_RING_DO_NOT_PARSE
    DO_NOT_TIMESTAMP = lib.PF_RING_DO_NOT_TIMESTAMP
    USERSPACE_BPF = lib.PF_RING_USERSPACE_BPF
    STRIP_HW_TIMESTAMP = lib.PF_RING_STRIP_HW_TIMESTAMP


class PacketHeader:
    """The header of one received packet (``struct pfring_pkthdr``)."""

    __slots__ = ("ts_ns", "caplen", "len", "if_index", "rx", "hash")

    def __init__(self, ts_ns, caplen, length, if_index, rx, pkt_hash=0):
        self.ts_ns = ts_ns
        self.caplen = caplen
        self.len = length
        self.if_index = if_index
        self.rx = rx
        self.hash = pkt_hash

    @property
    def ts(self):
        """The timestamp in seconds, as a float."""
        return self.ts_ns / 1e9

    @property
    def direction(self):
        return "RX" if self.rx else "TX"

    @classmethod
    def _from_c(cls, h):
        e = h.extended_hdr
        return cls(e.timestamp_ns, h.caplen, h.len, e.if_index, bool(e.rx_direction), e.pkt_hash)

    def __repr__(self):
        return (f"PacketHeader(ts_ns={self.ts_ns}, caplen={self.caplen}, len={self.len}, "
                f"if_index={self.if_index}, {self.direction})")


class Stats:
    """``pfring_stat``: packets delivered and packets dropped (ring full)."""

    __slots__ = ("recv", "drop")

    def __init__(self, recv, drop):
        self.recv = recv
        self.drop = drop

    def __repr__(self):
        return f"Stats(recv={self.recv}, drop={self.drop})"

    def __eq__(self, other):
        return isinstance(other, Stats) and (self.recv, self.drop) == (other.recv, other.drop)


class KernelStats:
    """``pfring_kernel_stat``: the kernel's view of a ring, as libpcap's
    ``pcap_stats`` gives it.  ``recv``: packets queued for the ring since it
    opened, read or not, drops included (less those the user-space filter
    rejected); ``drop``: of those, lost because the ring was full;
    ``if_drop``: the devices' own receive drops (totals)."""

    __slots__ = ("recv", "drop", "if_drop")

    def __init__(self, recv, drop, if_drop):
        self.recv = recv
        self.drop = drop
        self.if_drop = if_drop

    def __repr__(self):
        return f"KernelStats(recv={self.recv}, drop={self.drop}, if_drop={self.if_drop})"

    def __eq__(self, other):
        return isinstance(other, KernelStats) and \
            (self.recv, self.drop, self.if_drop) == (other.recv, other.drop, other.if_drop)


class LinkType(typing.NamedTuple):
    """``Ring.link_type``: the devices' ARPHRD_* type and libpcap's DLT_*
    for the ring's packets (None: libpcap has none for that type)."""
    arphrd: int
    dlt: typing.Optional[int]


class _Burst:
    """The arrays ``pp_burst`` fills, one set per ring, reused by every
    burst: the driver's packets, one ``struct pp_rec`` per packet, the
    block's start and span, and the byte count."""

    __slots__ = ("size", "pkts", "recs", "base", "span", "nbytes")

    def __init__(self, size):
        self.size = size
        self.pkts = ffi.new("struct pfring_burst_pkt[]", size)
        # the records are written over the driver's entries (helpers.c)
        self.recs = ffi.cast("struct pp_rec *", self.pkts)
        self.base = ffi.new("u_char **")
        self.span = ffi.new("size_t *")
        self.nbytes = ffi.new("uint64_t *")


class _CopyBuffers:
    """What a thread receives into on a ``PF_RING_REENTRANT`` ring (copy
    mode), allocated once per thread and ring: one packet's header and
    buffer for ``recv``, records and a 4 MiB buffer for ``recv_batch``."""

    __slots__ = ("hdr", "pkt", "buf", "recs", "nrecs", "data", "nbytes")

    def __init__(self, caplen):
        self.hdr = ffi.new("struct pfring_pkthdr *")
        self.buf = ffi.new("u_char[]", caplen)
        self.pkt = ffi.new("u_char **")
        self.recs = None
        self.nrecs = 0
        self.data = None
        self.nbytes = ffi.new("uint64_t *")

    def batch(self, n):
        """The records (at least n) and the data buffer of a copied batch."""
        if self.nrecs < n:
            self.recs = ffi.new("struct pp_rec[]", n)
            self.nrecs = n
        if self.data is None:
            self.data = ffi.new("u_char[]", _BATCH_BUFSIZE)
        return self.recs, self.data


class CopiedBatch(list):
    """``recv_batch()`` on a ``Flags.REENTRANT`` ring: a list of copied
    ``(PacketHeader, bytes)``, readable for ever, with the same summary as a
    :class:`Batch` (``len()`` and ``bytes``)."""

    __slots__ = ("bytes",)

    def __init__(self, packets=(), nbytes=0):
        super().__init__(packets)
        self.bytes = nbytes

    def views(self):
        for hdr, data in self:
            yield hdr, memoryview(data)

    def headers(self):
        return [hdr for hdr, _ in self]

    def __repr__(self):
        return f"<CopiedBatch of {len(self)} packets, {self.bytes} bytes>"


class Batch:
    """The packets of one receive call, in place in the ring (no copy).

    A sequence of ``(PacketHeader, bytes)``: ``len()``, indexing and
    iteration copy a packet's bytes out of the ring when they reach it.
    :meth:`views` yields ``(PacketHeader, memoryview)`` without a copy (the
    views are released, and raise ``ValueError``, once the packets go back
    to the kernel), and :meth:`headers` the headers alone.  ``len(batch)`` and ``batch.bytes``
    (the sum of the packets' lengths on the wire, counted in C) are the
    batch's summary and stay readable for ever.  The packets are readable
    until the next receive call on the batch's ring (``recv``,
    ``recv_batch``, ``loop``, iteration) or ``close()``, when the kernel gets
    their block back; reading them after that raises ``InvalidStatusError``
    (``list(batch)`` keeps a copy).  Nothing is built until it is read:
    ``len()`` and ``bytes`` cost nothing per packet."""

    __slots__ = ("_ring", "_burst", "_epoch", "_start", "_stop", "bytes")

    def __init__(self, ring, burst, epoch, start, stop, nbytes):
        self._ring = ring
        self._burst = burst      # the _Burst whose records describe it
        self._epoch = epoch      # the ring's receive call that made it
        self._start = start      # its packets in the burst's records
        self._stop = stop
        self.bytes = nbytes

    def __len__(self):
        return self._stop - self._start

    def __repr__(self):
        return f"<Batch of {len(self)} packets, {self.bytes} bytes>"

    def _check(self):
        if self._ring._epoch != self._epoch:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS,
                             "batch read after the next receive call on its ring (the packets "
                             "went back to the kernel); keep a copy with list(batch)")

    def _records(self):
        """An iterator over the records of the batch's packets."""
        b = self._burst
        raw = ffi.buffer(b.recs, self._stop * _REC.size)[self._start * _REC.size:]
        return _REC.iter_unpack(raw)

    def _unpacked(self):
        """(records iterator, memoryview over the packets): a slice of the
        ring's kept packet memory (``Ring._block_view``), so that views
        made from it never point into unmapped memory."""
        self._check()
        if self._stop == self._start:
            return iter(()), None
        b = self._burst
        return self._records(), self._ring._block_view(b.base[0], b.span[0])

    def headers(self):
        """The ``PacketHeader`` of every packet."""
        records, _ = self._unpacked()
        return [PacketHeader(ts, cap, ln, ifx, rx == 1) for _, cap, ln, ifx, ts, rx, _ in records]

    def views(self):
        """``(PacketHeader, memoryview)`` per packet, pointing into the ring.
        The views are released at the ring's next receive call or
        ``close()`` (then reading one raises ``ValueError``); keep
        ``bytes(view)`` to read a packet later."""
        records, mem = self._unpacked()
        ring, epoch = self._ring, self._epoch
        if len(ring._views) > _VIEWS_COMPACT:
            ring._compact_views()
        keep = ring._views.append
        for off, cap, ln, ifx, ts, rx, _ in records:
            if ring._epoch != epoch:
                self._check()
            view = mem[off:off + cap]
            keep(view)
            yield PacketHeader(ts, cap, ln, ifx, rx == 1), view

    def __iter__(self):
        records, mem = self._unpacked()
        ring, epoch = self._ring, self._epoch
        for off, cap, ln, ifx, ts, rx, _ in records:
            if ring._epoch != epoch:
                self._check()
            yield PacketHeader(ts, cap, ln, ifx, rx == 1), bytes(mem[off:off + cap])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("batch index out of range")
        self._check()
        b = self._burst
        k = self._start + i
        off, cap, ln, ifx, ts, rx, _ = _REC.unpack_from(ffi.buffer(b.recs, (k + 1) * _REC.size),
                                                        k * _REC.size)
        # read through the kept packet memory: a close() from another
        # thread after the check cannot unmap it
        return (PacketHeader(ts, cap, ln, ifx, rx == 1),
                self._ring._block_view(b.base[0] + off, cap).tobytes())

    def _rest(self, start, stop):
        """Packets start..stop of this batch, as a batch of the same receive
        (made while the records are this batch's)."""
        part = Batch(self._ring, self._burst, self._epoch, self._start + start,
                     self._start + stop, 0)
        part.bytes = sum(rec[2] for rec in part._records())
        return part


class Frames:
    """Frames packed once into one C buffer, to be sent again and again with
    :meth:`Ring.send_many`.  ``len()`` is the number of frames, ``bytes``
    their total length, ``max_len`` the longest; ``frames[i]`` is frame i
    as ``bytes``."""

    __slots__ = ("_data", "_off", "_len", "_n", "bytes", "max_len")

    def __init__(self, frames):
        frames = [bytes(f) for f in frames]
        if not frames:
            raise ValueError("no frames")
        if any(not f for f in frames):
            raise ValueError("a frame is empty")
        lens = [len(f) for f in frames]
        offs, at = [], 0
        for n in lens:
            offs.append(at)
            at += n
        if at > 0xFFFFFFFF:
            raise ValueError("frames of more than 4 GiB")
        self._data = ffi.new("u_char[]", b"".join(frames))
        self._off = ffi.new("uint32_t[]", offs)
        self._len = ffi.new("uint32_t[]", lens)
        self._n = len(frames)
        self.bytes = at
        self.max_len = max(lens)

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if not -self._n <= i < self._n:
            raise IndexError("frame index out of range")
        i %= self._n
        return ffi.buffer(self._data + self._off[i], self._len[i])[:]

    def __repr__(self):
        return f"<Frames: {self._n} frames, {self.bytes} bytes>"


def check_open_args(device, caplen=DEFAULT_CAPLEN):
    """The checks of a ring's device name and caplen, before libpfring's:
    TypeError for a wrong type, BadInterfaceNameError for a name with a NUL
    character (C would cut the name there), InvalidArgumentError for a
    caplen out of range."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a str, not {type(device).__name__}")
    if "\0" in device:
        raise make_error(lib.PF_RING_ERROR_BAD_IFNAME,
                         f"device name {device!r} contains a NUL character")
    if not isinstance(caplen, int) or isinstance(caplen, bool):
        raise TypeError(f"caplen must be an int, not {type(caplen).__name__}")
    if not 0 < caplen <= lib.MAX_CAPLEN:
        raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                         f"caplen {caplen} is out of range (1..{lib.MAX_CAPLEN})")


class Ring:
    """A capture ring on ``device`` (see the module docstring for names).

    ``caplen`` bytes of each packet are kept.  ``flags`` are ``Flags`` values;
    ``promisc=True`` adds ``Flags.PROMISC``.  The ring is not enabled: call
    :meth:`enable` (or pass ``enable=True``).
    """

    def __init__(self, device, caplen=DEFAULT_CAPLEN, flags=Flags.NONE, promisc=False,
                 *, enable=False, appname=None):
        check_open_args(device, caplen)
        flags = int(flags) | (lib.PF_RING_PROMISC if promisc else 0)
        self._ring = ffi.NULL
        self._init_state()
        self.device = device
        self.caplen = caplen
        self.flags = flags
        ring = lib.pfring_open(device.encode("utf-8", "surrogateescape"), caplen, flags)
        if ring == ffi.NULL:
            check(lib.pfring_last_open_error_code() or lib.PF_RING_ERROR_GENERIC, None)
        self._ring = ring
        self._reentrant = bool(flags & lib.PF_RING_REENTRANT)
        if appname is not None:
            self.set_application_name(appname)
        if enable:
            self.enable()

    @classmethod
    def _adopt(cls, handle, device, caplen, flags):
        """A Ring that owns ``handle``, a ``pfring *`` that libpfring opened
        for the package (``pfring_open_pcap_env``, see ``env.open_ring``):
        closing the Ring closes it."""
        ring = cls.__new__(cls)
        ring._ring = ffi.NULL
        ring._init_state()
        ring.device = device
        ring.caplen = caplen
        ring.flags = int(flags)
        ring._ring = handle
        ring._reentrant = bool(flags & lib.PF_RING_REENTRANT)
        return ring

    # -- life cycle -----------------------------------------------------------

    def _init_state(self):
        self._break_gen = 0       # breakloop() calls so far (see the module docstring)
        self._local = threading.local()   # copy-mode buffers, per thread (REENTRANT)
        self._burst = None       # pp_burst's arrays, made on first use
        self._count_bytes = None  # recv_count's byte counter, made on first use
        self._epoch = 0          # receive calls so far: a Batch is live while equal
        self._stamp = 0          # receive calls and breakloop() calls: loop() stops on a change
        self._pending = None     # (Batch, index): packets a loop() did not reach
        self._views = []         # the memoryviews views() handed out since the last receive call
        self._loop_view = None   # the view of the loop() callback running
        self._mem = None         # (start, length, memoryview): the kept packet memory
        self._hdr = ffi.new("struct pfring_pkthdr *")
        self._pkt = ffi.new("u_char **")
        self._recv_buf = None    # recv()'s copy of one packet, made on first use
        self._send_bytes = ffi.new("uint64_t *")
        self._holders = []       # who reads this ring besides us (a DnaCluster): close() waits

    def _h(self):
        if self._ring == ffi.NULL:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS, "ring used after close()")
        return self._ring

    def close(self):
        """Close the ring.  Closing twice is harmless.  The zero-copy views
        handed out are released (reading one raises ``ValueError``).  A ring
        registered with a :class:`~pcap_pfring.dna_cluster.DnaCluster` is
        refused until the cluster is destroyed."""
        if self._holders:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS,
                             f"the ring is registered with {self._holders[0]}; "
                             "destroy it first")
        ring = self._forget()
        if ring != ffi.NULL:
            lib.pfring_close(ring)

    def _closed_elsewhere(self):
        """The C handle was closed by its owner (a DnaCluster): the Ring
        becomes closed without closing it again."""
        self._forget()

    def _forget(self):
        """Takes the handle away and releases what points into the ring;
        returns the handle."""
        ring, self._ring = self._ring, ffi.NULL
        self._new_epoch()
        view, self._loop_view = self._loop_view, None
        if view is not None:
            try:
                view.release()
            except BufferError:
                pass
        self._pending = None
        self._mem = None
        return ring

    # -- zero-copy views (see the module docstring) ---------------------------

    def _new_epoch(self):
        """A receive call (or close) starts: the packets handed out so far go
        back to the kernel, so the Batches of before go stale and the views
        handed out are released."""
        self._epoch += 1
        self._stamp += 1
        if self._views:
            self._release_views()

    def _release_views(self, _release=memoryview.release):
        views = self._views
        try:
            any(map(_release, views))          # release() returns None: all of them
        except BufferError:
            # a view that something still exports (a buffer held in C, a
            # numpy array) cannot be released; its memory stays mapped
            for view in views:
                try:
                    view.release()
                except BufferError:
                    pass
        views.clear()

    def _compact_views(self):
        """Forget the recorded views that nobody else holds any more (views()
        called again and again on one batch)."""
        views = self._views
        views[:] = [v for v in views if sys.getrefcount(v) > 3]   # list, v, argument

    def _block_view(self, base, span):
        """A memoryview of the span bytes at base (a ``u_char *`` that a
        receive call gave), sliced from the one memoryview over the ring's
        packet memory, which libpfring keeps mapped as long as it or any
        view made from it lives (``pfring_keep_packet_memory``)."""
        addr = int(ffi.cast("uintptr_t", base))
        mem = self._mem
        if mem is None or not 0 <= addr - mem[0] <= mem[1] - span:
            mem = self._keep_memory(addr, span)
        off = addr - mem[0]
        return mem[2][off:off + span]

    def _keep_memory(self, addr, span):
        """Takes a reference on the mapping the ring's packets are in now
        (at open, and again after the ring moved to another one), released
        when the last view of it goes."""
        ring = self._h()
        size = ffi.new("size_t *")
        start = lib.pfring_keep_packet_memory(ring, size)
        if start == ffi.NULL:
            check(lib.PF_RING_ERROR_INVALID_STATUS if self._ring == ffi.NULL
                  else lib.PF_RING_ERROR_NOT_SUPPORTED, ring)
        owner = ffi.gc(ffi.cast("u_char *", start), lib.pfring_release_packet_memory)
        first = int(ffi.cast("uintptr_t", start))
        if not 0 <= addr - first <= size[0] - span:
            raise make_error(lib.PF_RING_ERROR_GENERIC,
                             "received packets outside the ring's packet memory")
        self._mem = mem = (first, size[0], memoryview(ffi.buffer(owner, size[0])))
        return mem

    @property
    def closed(self):
        return self._ring == ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ring", ffi.NULL) != ffi.NULL:
            self.close()

    def __repr__(self):
        state = "closed" if self.closed else f"id={self.ring_id}"
        return f"<Ring {self.device!r} {state}>"

    def set_batching(self, timeout_ms, block_bytes=0):
        """How the kernel batches packets for this ring (``pfring_set_batching``):
        blocks of at least ``block_bytes`` (0: 256 KiB), handed over when full
        or ``timeout_ms`` after their first packet (0: the block_timeout_ms
        parameter, 8 ms by default; 1 for the lowest latency).  Only before
        ``enable()`` and ``set_cluster()``."""
        check(lib.pfring_set_batching(self._h(), _u32(timeout_ms, "timeout_ms"),
                                      _u32(block_bytes, "block_bytes")), self._ring)

    def set_buffer_size(self, nbytes):
        """The ring's kernel memory (``pfring_set_buffer_size``, libpcap's
        ``pcap_set_buffer_size``): ``nbytes`` rounded up to whole kernel
        blocks, at least one.  Only before ``enable()`` and
        ``set_cluster()``; the status file shows the size as "Tot Memory"."""
        check(lib.pfring_set_buffer_size(self._h(), _bounded(nbytes, "nbytes", 2**64 - 1)),
              self._ring)

    def enable(self):
        """Start receiving (``pfring_enable_ring``)."""
        check(lib.pfring_enable_ring(self._h()), self._ring)

    def disable(self):
        """Stop receiving (``pfring_disable_ring``)."""
        check(lib.pfring_disable_ring(self._h()), self._ring)

    # -- waiting ----------------------------------------------------------------

    def _wait(self, timeout, gen):
        """The wait of wait() and recv(), and of the other receive calls once
        their own wait in C was cut short: True once a packet can be read, False after ``timeout``
        seconds (None: no limit) or once a breakloop() has been made since
        the caller started (``_break_gen`` is no longer ``gen``).
        pfring_poll runs in slices of at most _WAIT_SLICE_MS; a signal ends
        one, and its handler runs before the next."""
        ring = self._h()
        deadline = None if timeout is None else _monotonic() + timeout
        while True:
            if self._break_gen != gen:
                return False
            if deadline is None:
                ms = _WAIT_SLICE_MS
            else:
                left = deadline - _monotonic()
                if left <= 0:
                    return check(lib.pfring_is_pkt_available(ring), ring) > 0
                ms = min(_WAIT_SLICE_MS, max(1, math.ceil(left * 1000)))
            rc = lib.pfring_poll(ring, ms)
            if rc > 0:
                return True
            if rc < 0:
                check(rc, ring)
            # 0: the slice passed, or a breakloop (the poll consumed the C
            # library's flag; a stale one only ends one slice early); with a
            # watermark above 1 some packets may be there all the same
            if check(lib.pfring_is_pkt_available(ring), ring) > 0:
                return True

    def wait(self, timeout=None):
        """Wait until a packet can be received: True once one can, False
        after ``timeout`` seconds (0: just look; None or ``math.inf``: no
        limit) or when :meth:`breakloop` is called during the wait.  Signal
        handlers (Ctrl-C) run while it waits."""
        gen = self._break_gen
        timeout = _timeout(timeout, "timeout")
        self._h()
        if self._pending is not None:
            return True
        if timeout == 0:
            return check(lib.pfring_is_pkt_available(self._ring), self._ring) > 0
        return self._wait(timeout, gen)

    @staticmethod
    def _deadline(timeout):
        return None if timeout is None else _monotonic() + timeout

    @staticmethod
    def _left(deadline):
        """Seconds left to the deadline: None for no limit, 0 once past it."""
        return None if deadline is None else max(0.0, deadline - _monotonic())

    # -- receiving ------------------------------------------------------------

    def recv(self, wait=False, timeout=None):
        """One packet as ``(PacketHeader, bytes)``, or ``None`` if none came.

        Without ``wait`` or ``timeout`` it does not wait.  ``timeout``
        seconds: waits up to that long; ``wait=True`` without a timeout
        (or with ``timeout=math.inf``): until a packet arrives.
        :meth:`breakloop` during the wait ends it (then ``None``); one made
        before the call does not.  Signals (Ctrl-C) are handled while
        waiting."""
        gen = self._break_gen
        timeout = _timeout(timeout, "timeout")
        return self._recv(bool(wait), timeout, gen)

    def _recv(self, wait, timeout, gen):
        ring = self._h()
        if self._pending is not None:
            return self._take_pending(1)[0]
        got = self._recv_one(ring)
        if got is not None or not (wait or timeout):
            return got
        deadline = self._deadline(timeout)
        while got is None:
            left = self._left(deadline)
            if left == 0 or not self._wait(left, gen):
                return None
            got = self._recv_one(ring)
        return got

    def _copy_buffers(self):
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = _CopyBuffers(self.caplen)
        return bufs

    def _recv_one(self, ring):
        """pfring_recv without waiting: (PacketHeader, bytes) or None.  The
        packet is copied inside the C call (copy mode, buffer_len > 0), so a
        close() from another thread, which waits for calls inside the ring
        but not for this method's own copy, never unmaps it under us."""
        self._new_epoch()
        if self._reentrant:      # several threads: each its own buffer, copy mode
            bufs = self._copy_buffers()
            hdr, pkt = bufs.hdr, bufs.pkt
            pkt[0] = bufs.buf
        else:
            hdr, pkt = self._hdr, self._pkt
            buf = self._recv_buf
            if buf is None:
                buf = self._recv_buf = ffi.new("u_char[]", self.caplen)
            pkt[0] = buf
        rc = lib.pfring_recv(ring, pkt, self.caplen, hdr, 0)
        if rc == 0:
            return None
        check(rc, ring)
        return PacketHeader._from_c(hdr), ffi.buffer(pkt[0], hdr.caplen)[:]

    def _take_pending(self, n):
        """Up to n of the packets a loop() left, as a Batch (no C call: their
        block is still the reader's)."""
        batch, i = self._pending
        stop = min(len(batch), i + n)
        self._pending = (batch, stop) if stop < len(batch) else None
        return batch._rest(i, stop)

    def _empty_batch(self):
        """A batch of no packets, made without a receive call."""
        return Batch(self, self._burst, self._epoch, 0, 0, 0)

    def _next_burst(self, n, wait_ms=0):
        """One pp_burst of up to n packets as a Batch (empty when none is
        there), waiting in C up to wait_ms for the first."""
        b = self._burst
        if b is None or b.size < n:
            self._h()
            b = self._burst = _Burst(max(n, _LOOP_BURST))
        self._new_epoch()
        rc = lib.pp_burst(self._ring, b.pkts, n, b.recs, b.base, b.span, b.nbytes, wait_ms)
        if rc > 0:
            return Batch(self, b, self._epoch, 0, rc, b.nbytes[0])
        if rc < 0:
            check(rc, self._h())
        return Batch(self, b, self._epoch, 0, 0, 0)

    def _burst_waiting(self, n, timeout, gen):
        """One pp_burst of up to n packets, waiting up to ``timeout`` seconds
        (None: no limit) for the first in the same C call, so that a
        wake-up costs one call.  A wait cut short (a stale breakloop, a
        signal, packets the user-space filter dropped) goes on in _wait
        until the deadline; empty after the timeout or a breakloop."""
        deadline = None if timeout is None else _monotonic() + timeout
        batch = self._next_burst(n, _wait_ms(timeout))
        while not batch:
            left = self._left(deadline)
            if left == 0 or not self._wait(left, gen):
                break
            batch = self._next_burst(n)
        return batch

    def recv_batch(self, n=256, timeout=0):
        """Up to ``n`` packets of one kernel block, as a :class:`Batch` of
        ``(PacketHeader, bytes)`` that points into the ring until the next
        receive call (``list(batch)`` keeps a copy); ``len(batch)`` and
        ``batch.bytes`` sum it up.  Waits up to ``timeout`` seconds for the
        first packet (0: don't wait; None or ``math.inf``: until one comes
        or :meth:`breakloop`).  ``n`` is an int; 0 or less gives an empty
        batch at once.  On a ``Flags.REENTRANT`` ring the packets are
        copied and the result is a :class:`CopiedBatch`, a list."""
        gen = self._break_gen
        if type(n) is not int:
            raise TypeError(f"n must be an int, not {type(n).__name__}")
        if type(timeout) is not float or not 0.0 < timeout < _INF:   # else checked already
            timeout = _timeout(timeout, "timeout")
        if self._ring == ffi.NULL:
            self._h()
        if n <= 0:
            return CopiedBatch() if self._reentrant else self._empty_batch()
        if self._pending is not None:
            return self._take_pending(n)
        if n > _BURST_MAX:
            n = _BURST_MAX
        if not self._reentrant:
            return self._next_burst(n) if timeout == 0 else self._burst_waiting(n, timeout, gen)
        batch = self._recv_copied(n)
        if batch or timeout == 0:
            return batch
        deadline = self._deadline(timeout)
        while not batch:       # a wait, then packets the user-space filter may drop
            left = self._left(deadline)
            if left == 0 or not self._wait(left, gen):
                break
            batch = self._recv_copied(n)
        return batch

    def recv_count(self, max_packets=0, duration=0):
        """Consume packets and only count them (``pfring_recv_count``): those
        in the ring now and, for ``duration`` seconds (0: none; None or
        ``math.inf``: no limit), those that arrive, up to ``max_packets``
        (an int; 0: no limit).  Returns ``(packets, bytes)``, the bytes being
        their lengths on the wire.  It returns early once ``max_packets``
        were counted, or when :meth:`breakloop` or a signal (whose handler
        runs as the call returns) cuts the wait short after a packet came.
        Every wake-up inside the call is handled in C, with nothing per
        packet in Python: a counting loop is one call per tick of its own.
        The packets a :meth:`loop` left are counted first, by a call of
        their own that does not wait.  Not on ``Flags.REENTRANT`` rings
        (``InvalidArgumentError``)."""
        gen = self._break_gen
        max_packets = _u32(max_packets, "max_packets")
        duration = _timeout(duration, "duration")
        ring = self._h()
        if self._pending is not None:
            part = self._take_pending(max_packets or _BURST_MAX)
            return len(part), part.bytes
        out = self._count_bytes
        if out is None:
            out = self._count_bytes = ffi.new("uint64_t *")
        deadline = self._deadline(duration)
        while True:
            ms = _wait_ms(self._left(deadline))
            self._new_epoch()
            rc = lib.pfring_recv_count(ring, max_packets, out, ms)
            if rc > 0 or not ms:
                return check(rc, ring), out[0]
            check(rc, ring)
            # none came: the time passed, or a breakloop or signal cut it short
            if self._break_gen != gen or self._left(deadline) == 0:
                return 0, 0

    def _recv_copied(self, n):
        ring = self._h()
        bufs = self._copy_buffers()
        recs, data = bufs.batch(n)
        self._new_epoch()
        rc = check(lib.pp_recv_copied(ring, n, recs, data, _BATCH_BUFSIZE, bufs.nbytes), ring)
        if rc == 0:
            return CopiedBatch()
        mem = ffi.buffer(data)
        return CopiedBatch([(PacketHeader(ts, cap, ln, ifx, rx == 1), mem[off:off + cap])
                            for off, cap, ln, ifx, ts, rx, _
                            in _REC.iter_unpack(ffi.buffer(recs, rc * _REC.size))],
                           bufs.nbytes[0])

    def loop(self, callback, count=-1, timeout=None):
        """Call ``callback(header, memoryview)`` for each packet.

        The memoryview points into the ring and is valid only during the
        call: it is released when the callback returns (or raises), so that
        reading it later raises ``ValueError``; keep ``bytes(view)``.  (A
        view that the callback left exported, such as a buffer numpy holds,
        cannot be released; it never faults, see the module docstring.)
        Runs until :meth:`breakloop` (from the callback or another thread,
        while the loop runs), ``count`` packets (an int; if >= 0) or
        ``timeout`` seconds without a packet (if given; None or
        ``math.inf``: no limit).  An exception raised
        by the callback stops the loop and is re-raised; the packets after
        the one it was given stay for the next receive call.  Returns the
        number of packets delivered."""
        gen = self._break_gen
        if not callable(callback):
            raise TypeError("callback must be callable")
        if type(count) is not int:
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        timeout = _timeout(timeout, "timeout")
        self._h()
        if self._reentrant:
            return self._loop_copied(callback, count, timeout, gen)
        done = 0
        while self._break_gen == gen:
            want = _LOOP_BURST if count < 0 else min(_LOOP_BURST, count - done)
            if want <= 0:
                break
            if self._pending is not None:
                batch = self._take_pending(want)
            else:
                batch = self._burst_waiting(want, timeout, gen)
                if not batch:
                    break
            records, mem = batch._unpacked()
            epoch = self._epoch
            stamp = self._stamp
            i = 0
            view = None
            try:
                for off, cap, ln, ifx, ts, rx, _ in records:
                    i += 1
                    view = self._loop_view = mem[off:off + cap]   # close() releases it
                    callback(PacketHeader(ts, cap, ln, ifx, rx == 1), view)
                    try:
                        view.release()
                    except BufferError:      # exported: it stays (mapped)
                        pass
                    if self._stamp != stamp:   # breakloop() or a receive call
                        break
            finally:
                if view is not None:
                    self._loop_view = None
                    try:
                        view.release()       # the callback raised
                    except BufferError:
                        pass
                done += i
                # the rest waits for the next receive call, unless the
                # callback made one (then the block went back to the kernel)
                if i < len(batch) and self._epoch == epoch:
                    self._pending = (batch, i)
        return done

    def _loop_copied(self, callback, count, timeout, gen):
        """loop() on a REENTRANT ring: one copied packet at a time, so that
        the packets after a callback's exception stay in the ring."""
        ring = self._h()
        done = 0
        while self._break_gen == gen and (count < 0 or done < count):
            got = self._recv_one(ring)
            if got is None:
                if not self._wait(timeout, gen):
                    break
                continue
            done += 1
            hdr, data = got
            callback(hdr, memoryview(data))
        return done

    def __iter__(self):
        """Iterate over ``(PacketHeader, bytes)``, waiting for packets, until
        :meth:`breakloop`: one made after the iteration started (its first
        ``next()``), while the consumer handles a packet or while the
        iterator waits, ends it."""
        gen = self._break_gen
        while self._break_gen == gen:
            pkt = self._recv(True, None, gen)
            if pkt is None:      # breakloop()
                return
            yield pkt

    def breakloop(self):
        """End the :meth:`loop`, iteration or waiting :meth:`recv`,
        :meth:`recv_batch` or :meth:`wait` in progress (from any thread, a
        callback or a signal handler).  As ``pfring_breakloop``, it has no
        effect on the calls made after it."""
        self._break_gen += 1
        self._stamp += 1
        if self._ring != ffi.NULL:
            lib.pfring_breakloop(self._ring)

    def poll(self, timeout_ms):
        """``pfring_poll``: True once the watermark of packets is queued
        within ``timeout_ms`` milliseconds (an int, 0..2**32-1)."""
        ms = _u32(timeout_ms, "timeout_ms")
        return check(lib.pfring_poll(self._h(), ms), self._ring) > 0

    def fileno(self):
        """The selectable file descriptor."""
        return check(lib.pfring_get_selectable_fd(self._h()), self._ring)

    def next_pkt_time(self):
        """Timestamp (ns) of the next packet, or None if none is queued."""
        ts = ffi.new("struct timespec *")
        rc = lib.pfring_next_pkt_time(self._h(), ts)
        if rc == lib.PF_RING_ERROR_NO_PKT_AVAILABLE:
            return None
        check(rc, self._ring)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec

    @property
    def num_queued(self):
        return lib.pfring_get_num_queued_pkts(self._h())

    # -- sending --------------------------------------------------------------

    def send(self, frame, if_index=None):
        """Transmit one Ethernet frame; returns the bytes sent."""
        ring = self._h()
        frame = bytes(frame)
        if if_index is None:
            rc = lib.pfring_send(ring, frame, len(frame), 1)
        else:
            rc = lib.pfring_send_ifindex(ring, frame, len(frame), 1, int(if_index))
        return check(rc, ring)

    def send_many(self, frames, start=0, count=None):
        """Transmit ``count`` frames (default: one pass) of ``frames``, a
        :class:`Frames` (any other sequence of frames is packed first), from
        frame ``start`` on and round robin, in one C call that releases the
        GIL.  Each frame is flushed as :meth:`send` flushes it.  Returns
        ``(frames sent, bytes sent)``; fewer than ``count`` were sent when the
        TX ring filled up (then maybe 0: send the rest again later)."""
        ring = self._h()
        if not isinstance(frames, Frames):
            frames = Frames(frames)
        n = len(frames)
        if count is None:
            count = n
        if type(start) is not int or not 0 <= start < n:
            raise ValueError(f"start {start!r} is not a frame index (0..{n - 1})")
        if type(count) is not int or count < 0:
            raise ValueError(f"count {count!r} must be an int >= 0")
        if count == 0:
            return 0, 0
        nbytes = self._send_bytes
        sent = lib.pp_send_many(ring, frames._data, frames._off, frames._len, n, start, count,
                                nbytes)
        check(sent, ring)
        return sent, nbytes[0]

    def send_last_rx_packet(self, if_index):
        return check(lib.pfring_send_last_rx_packet(self._h(), int(if_index)), self._ring)

    def flush_tx_packets(self):
        """Hand every frame sent so far to the kernel and wait until it is
        sent (``pfring_flush_tx_packets``)."""
        check(lib.pfring_flush_tx_packets(self._h()), self._ring)

    # -- configuration ----------------------------------------------------------

    def set_direction(self, direction):
        check(lib.pfring_set_direction(self._h(), int(Direction(direction))), self._ring)

    def set_socket_mode(self, mode):
        check(lib.pfring_set_socket_mode(self._h(), int(SocketMode(mode))), self._ring)

    def set_sampling_rate(self, rate):
        check(lib.pfring_set_sampling_rate(self._h(), _u32(rate, "rate")), self._ring)

    def set_bpf_filter(self, expression):
        """Compile ``expression`` (tcpdump syntax) and attach it in the kernel."""
        if not isinstance(expression, str):
            raise TypeError("filter must be a str")
        check(lib.pfring_set_bpf_filter(self._h(), expression.encode()), self._ring)

    def remove_bpf_filter(self):
        check(lib.pfring_remove_bpf_filter(self._h()), self._ring)

    def set_application_name(self, name):
        check(lib.pfring_set_application_name(self._h(), str(name).encode()), self._ring)

    def set_application_stats(self, text):
        check(lib.pfring_set_application_stats(self._h(), str(text).encode()), self._ring)

    @property
    def appl_stats_file_name(self):
        buf = ffi.new("char[]", 4096)
        p = lib.pfring_get_appl_stats_file_name(self._h(), buf, 4096)
        return ffi.string(p).decode() if p != ffi.NULL else None

    def set_poll_watermark(self, watermark):
        check(lib.pfring_set_poll_watermark(self._h(), _u16(watermark, "watermark")), self._ring)

    def set_poll_duration(self, duration_ms):
        check(lib.pfring_set_poll_duration(self._h(), _u32(duration_ms, "duration")), self._ring)

    def set_channel_id(self, channel):
        check(lib.pfring_set_channel_id(self._h(), _u32(channel, "channel")), self._ring)

    def set_vlan_id(self, vlan_id):
        check(lib.pfring_set_vlan_id(self._h(), _u16(vlan_id, "vlan_id")), self._ring)

    def set_promisc(self, on):
        check(lib.pfring_set_promisc(self._h(), 1 if on else 0), self._ring)

    def set_cluster(self, cluster_id, cluster_type=ClusterType.PER_FLOW_5_TUPLE):
        check(lib.pfring_set_cluster(self._h(), _u32(cluster_id, "cluster_id"),
                                     int(ClusterType(cluster_type))), self._ring)

    def remove_from_cluster(self):
        check(lib.pfring_remove_from_cluster(self._h()), self._ring)

    def enable_rss_rehash(self):
        """Channels by flow, not by RX queue (``pfring_enable_rss_rehash``): a
        ring on ``eth0@Y`` gets the packets, received or sent, whose symmetric
        flow hash modulo the device's RX queues is Y, so both directions of a
        flow.  Without ``@Y`` nothing changes.  It cannot be turned off."""
        check(lib.pfring_enable_rss_rehash(self._h()), self._ring)

    # -- filtering rules (pcap_pfring.rules) --------------------------------------

    def add_rule(self, rule: "_rules.Rule") -> int:
        """Add a wildcard filtering rule (``pfring_add_filtering_rule``); it runs
        in the kernel, in ascending ``rule_id`` order after the ring's BPF
        filter.  Returns the rule's id (the one chosen for ``AUTO_RULE_ID``).
        A refused rule (a duplicate id, a bad field, too many rules) raises and
        leaves the ring's rules as they were."""
        if not isinstance(rule, _rules.Rule):
            raise TypeError(f"rule must be a pcap_pfring.rules.Rule, not {type(rule).__name__}")
        c = rule.to_c()
        check(lib.pfring_add_filtering_rule(self._h(), c), self._ring)
        return c.rule_id

    def remove_rule(self, rule_id: int) -> None:
        """Remove the wildcard rule ``rule_id`` (``pfring_remove_filtering_rule``)."""
        check(lib.pfring_remove_filtering_rule(self._h(), _u16(rule_id, "rule_id")), self._ring)

    def rule_stats(self, rule_id: int) -> "_rules.RuleStats":
        """What matched rule ``rule_id`` so far (``pfring_get_filtering_rule_stats``)."""
        st = ffi.new("filtering_rule_stats *")
        n = ffi.new("u_int *", ffi.sizeof("filtering_rule_stats"))
        check(lib.pfring_get_filtering_rule_stats(self._h(), _u16(rule_id, "rule_id"),
                                                  ffi.cast("char *", st), n), self._ring)
        return _rules.stats_from_c(st)

    def set_policy(self, accept: bool) -> None:
        """What happens to a packet that no rule decides
        (``pfring_toggle_filtering_policy``): forwarded if ``accept``, else dropped."""
        if not isinstance(accept, bool):
            raise TypeError(f"accept must be a bool, not {type(accept).__name__}")
        check(lib.pfring_toggle_filtering_policy(self._h(), 1 if accept else 0), self._ring)

    def purge_idle_rules(self, seconds: int) -> int:
        """Remove the rules that matched nothing for ``seconds`` (locked ones
        stay; ``pfring_purge_idle_rules``).  Returns how many went."""
        return check(lib.pfring_purge_idle_rules(self._h(), _u16(seconds, "seconds")), self._ring)

    def add_hash_rule(self, rule: "_rules.HashRule") -> None:
        """Add a hash rule (``pfring_handle_hash_filtering_rule``): one flow,
        both directions, looked up before the wildcard rules; a match
        decides.  A flow with a hash rule already, a bad field or too many
        rules raises and leaves the ring's rules as they were."""
        self._hash_rule_call(rule, 1)

    def remove_hash_rule(self, rule: "_rules.HashRule") -> None:
        """Remove the hash rule of ``rule``'s flow (the action is not compared)."""
        self._hash_rule_call(rule, 0)

    def _hash_rule_call(self, rule, add: int) -> None:
        if not isinstance(rule, _rules.HashRule):
            raise TypeError(f"rule must be a pcap_pfring.rules.HashRule, not {type(rule).__name__}")
        check(lib.pfring_handle_hash_filtering_rule(self._h(), rule.to_c(), add), self._ring)

    def hash_rule_stats(self, rule: "_rules.HashRule") -> "_rules.HashRuleStats":
        """What matched the hash rule of ``rule``'s flow so far
        (``pfring_get_hash_filtering_rule_stats``)."""
        if not isinstance(rule, _rules.HashRule):
            raise TypeError(f"rule must be a pcap_pfring.rules.HashRule, not {type(rule).__name__}")
        st = ffi.new("hash_filtering_rule_stats *")
        n = ffi.new("u_int *", ffi.sizeof("hash_filtering_rule_stats"))
        check(lib.pfring_get_hash_filtering_rule_stats(self._h(), rule.to_c(),
                                                       ffi.cast("char *", st), n), self._ring)
        return _rules.hash_stats_from_c(st)

    def purge_idle_hash_rules(self, seconds: int) -> int:
        """Remove the hash rules that matched nothing for ``seconds``
        (``pfring_purge_idle_hash_rules``).  Returns how many went."""
        return check(lib.pfring_purge_idle_hash_rules(self._h(), _u16(seconds, "seconds")),
                     self._ring)

    def reflection_stats(self) -> "_rules.ReflectionStats":
        """The copies that reflect and bounce rules sent, and those the
        kernel could not send (``pfring_get_reflection_stats``)."""
        st = ffi.new("pfring_reflection_stat *")
        check(lib.pfring_get_reflection_stats(self._h(), st), self._ring)
        return _rules.ReflectionStats(st.sent, st.failed)

    def rules_program_loads(self) -> int:
        """How many times the ring's rules program was loaded into the kernel
        (``pfring_rules_program_loads``): rule and policy changes do not load
        it, a new BPF filter, direction or enable does.  For diagnostics."""
        return check(lib.pfring_rules_program_loads(self._h()), self._ring)

    # -- hardware rules and the filtering mode (pcap_pfring.hw_rules) ----------

    def add_hw_rule(self, rule: "_hw_rules.HwRule") -> None:
        """Install a rule in the NIC of the ring's device
        (``pfring_add_hw_rule``, through ethtool's n-tuple interface).  A
        device without n-tuple filters raises ``NotSupportedError`` naming
        it; a bad field raises ``InvalidArgumentError``.  The ring's
        software rules are not affected either way."""
        if not isinstance(rule, _hw_rules.HwRule):
            raise TypeError(f"rule must be a pcap_pfring.hw_rules.HwRule, not {type(rule).__name__}")
        check(lib.pfring_add_hw_rule(self._h(), rule.to_c()), self._ring)

    def remove_hw_rule(self, rule_id: int) -> None:
        """Remove the hardware rule ``rule_id`` this ring added
        (``pfring_remove_hw_rule``)."""
        check(lib.pfring_remove_hw_rule(self._h(), _u16(rule_id, "rule_id")), self._ring)

    def set_filtering_mode(self, mode: "_hw_rules.FilteringMode") -> None:
        """Where the ring's rules are meant to run (``pfring_set_filtering_mode``):
        ``HARDWARE_ONLY`` raises ``NotSupportedError`` on a device without
        n-tuple filters; the software rules run in every mode."""
        check(lib.pfring_set_filtering_mode(self._h(), _u32(mode, "mode")), self._ring)

    @property
    def filtering_mode(self) -> "_hw_rules.FilteringMode":
        """The mode :meth:`set_filtering_mode` set (``SOFTWARE_ONLY`` until then)."""
        return _hw_rules.FilteringMode(check(lib.pfring_get_filtering_mode(self._h()), self._ring))

    # -- information ------------------------------------------------------------

    def stats(self):
        st = ffi.new("pfring_stat *")
        check(lib.pfring_stats(self._h(), st), self._ring)
        return Stats(st.recv, st.drop)

    def kernel_stats(self):
        """The kernel's counters (``pfring_stats_kernel``) as a
        :class:`KernelStats`: unlike :meth:`stats`, ``recv`` counts the
        packets still waiting in the ring too."""
        st = ffi.new("pfring_kernel_stat *")
        check(lib.pfring_stats_kernel(self._h(), st), self._ring)
        return KernelStats(st.recv, st.drop, st.if_drop)

    @property
    def version(self):
        v = ffi.new("u_int32_t *")
        check(lib.pfring_version(self._h(), v), self._ring)
        return f"{v[0] >> 16}.{(v[0] >> 8) & 0xff}.{v[0] & 0xff}"

    @property
    def bound_device_address(self):
        mac = ffi.new("u_char[6]")
        check(lib.pfring_get_bound_device_address(self._h(), mac), self._ring)
        return ":".join(f"{b:02x}" for b in bytes(ffi.buffer(mac)))

    @property
    def bound_device_ifindex(self):
        v = ffi.new("int *")
        check(lib.pfring_get_bound_device_ifindex(self._h(), v), self._ring)
        return v[0]

    @property
    def link_type(self):
        """The link layer of the ring's packets (``pfring_get_link_type``):
        a :class:`LinkType` of the devices' ARPHRD_* number and libpcap's
        DLT_* for what the packets start with (1 Ethernet, 12 raw IP; None
        for a type libpcap has no DLT for)."""
        arphrd, dlt = ffi.new("uint16_t *"), ffi.new("int *")
        check(lib.pfring_get_link_type(self._h(), arphrd, dlt), self._ring)
        return LinkType(arphrd[0], dlt[0] if dlt[0] >= 0 else None)

    @property
    def num_rx_channels(self):
        return lib.pfring_get_num_rx_channels(self._h())

    @property
    def mtu(self):
        return check(lib.pfring_get_mtu_size(self._h()), self._ring)

    @property
    def ring_id(self):
        return lib.pfring_get_ring_id(self._h())

    @property
    def last_error(self):
        """The text of the last error (``pfring_last_error``), or of a warning
        given at open, such as a symmetric RSS key the NIC does not take."""
        return ffi.string(lib.pfring_last_error(self._h())).decode("utf-8", "replace")


def open_multichannel(device, caplen=DEFAULT_CAPLEN, flags=Flags.NONE):
    """One ring per RX queue of ``device`` (``pfring_open_multichannel``)."""
    check_open_args(device, caplen)
    arr = ffi.new("pfring *[]", lib.MAX_NUM_RX_CHANNELS)
    n = lib.pfring_open_multichannel(device.encode(), caplen, int(flags), arr)
    if n == 0:
        check(lib.pfring_last_open_error_code() or lib.PF_RING_ERROR_GENERIC, None)
    rings = []
    for i in range(n):
        r = Ring.__new__(Ring)
        r._ring = arr[i]
        r._init_state()
        r.device, r.caplen, r.flags = f"{device}@{i}", caplen, int(flags)
        r._reentrant = bool(int(flags) & lib.PF_RING_REENTRANT)
        rings.append(r)
    return rings


def format_number(value, decimals=False):
    """PF_RING's number format (``pfring_format_numbers``): 1'234'567, 2'764.36."""
    buf = ffi.new("char[]", 128)
    return ffi.string(lib.pfring_format_numbers(float(value), buf, 128,
                                                1 if decimals else 0)).decode()


def parsed_packet_text(data, length=None):
    """PF_RING's description of a frame (``pfring_parse_pkt`` up to the
    tunnels, then ``pfring_print_parsed_pkt``): ``(text, hash)``, where
    hash is PF_RING's symmetric flow hash of the packet, as rings opened
    with ``Flags.LONG_HEADER`` put in their headers.  ``data``: bytes or a
    memoryview (read in place, e.g. a view of :meth:`Batch.views`);
    ``length``: the packet's length on the wire (default: the bytes given)."""
    view = memoryview(data).cast("B")
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.caplen = view.nbytes
    hdr.len = view.nbytes if length is None else int(length)
    pkt = ffi.from_buffer("u_char[]", view) if view.nbytes else ffi.NULL
    lib.pfring_parse_pkt(pkt, hdr, 5, 0, 1)
    text = ffi.new("char[]", 1024)
    lib.pfring_print_parsed_pkt(text, 1024, pkt, hdr)
    return ffi.string(text).decode("utf-8", "replace"), hdr.extended_hdr.pkt_hash


def _invalid(message):
    return make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT, message)


def _bounded(value, name, hi):
    """``value`` if it is an int (not a bool) in 0..hi; TypeError or
    InvalidArgumentError (a ValueError) naming the argument otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= hi:
        raise _invalid(f"{name} {value} is out of range (0..{hi})")
    return value


def _timeout(value, name):
    """A timeout in seconds for the waiting calls: None (and inf) for no
    limit, else a float >= 0.  Bools, strings, NaN and negative numbers
    are refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, "
                        f"not {type(value).__name__}")
    if isinstance(value, int):
        if value < 0:
            raise _invalid(f"{name} {value} is negative")
        value = float(value) if value < 2**53 else math.inf
    if math.isnan(value):
        raise _invalid(f"{name} is NaN")
    if value < 0:
        raise _invalid(f"{name} {value} is negative")
    return None if math.isinf(value) else value


def _wait_ms(timeout):
    """A checked timeout (None: no limit) as the milliseconds of one wait in
    C: 0 for 0, else at least 1."""
    if timeout is None:
        return _WAIT_FOREVER_MS
    return min(_WAIT_FOREVER_MS, math.ceil(timeout * 1000))


def _u16(value, name):
    return _bounded(value, name, 0xFFFF)


def _u32(value, name):
    return _bounded(value, name, 0xFFFFFFFF)
