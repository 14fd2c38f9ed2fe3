"""pcapy's API for live captures on PF_RING rings.

Code written for pcapy (or pcapy-ng) switches by changing its import::

    from pcap_pfring import pcapy          # was: import pcapy

    reader = pcapy.open_live("eth0", 65535, True, 100)
    reader.setfilter("udp port 53")
    reader.loop(10, lambda hdr, data: print(hdr.getts(), hdr.getlen()))

``open_live(device, snaplen, promisc, to_ms)`` opens a ``Ring`` the way
the libpcap drop-in opens one for ``pcap_open_live`` (the PCAP_PF_RING_*
variables apply, through ``pcap_pfring.env.open_ring``) and returns a
``Reader``.  The data link is always Ethernet.  Timeouts follow libpcap:
``next()`` and ``dispatch()`` wait up to ``to_ms`` (0: until a packet
comes), ``loop()`` goes on until its count.  Waiting is the ring's own
(``Ring.recv(wait=..., timeout=...)``), so Ctrl-C works while it waits.
Packets are read in place in the ring and copied once, into the ``bytes``
handed to the caller.

Not here: offline files (``open_offline``), dumpers, ``compile`` and
``BPFProgram``; use pcapy-ng or scapy's pcap reader and writer for files.
"""
import fcntl
import socket
import struct

from . import env as _env
from .errors import PFRingError
from .ring import MAX_CAPLEN, Direction

__all__ = ["open_live", "findalldevs", "lookupdev", "PcapError", "Pkthdr", "Reader",
           "DLT_EN10MB", "PCAP_D_INOUT", "PCAP_D_IN", "PCAP_D_OUT"]

DLT_EN10MB = 1
PCAP_D_INOUT, PCAP_D_IN, PCAP_D_OUT = 0, 1, 2
_DIRECTIONS = {PCAP_D_INOUT: Direction.RX_AND_TX, PCAP_D_IN: Direction.RX_ONLY,
               PCAP_D_OUT: Direction.TX_ONLY}
_SIOCGIFFLAGS, _SIOCGIFADDR, _SIOCGIFNETMASK = 0x8913, 0x8915, 0x891B
_IFF_UP, _IFF_LOOPBACK = 0x1, 0x8


class PcapError(Exception):
    """A capture call failed; the message is the library's."""


class Pkthdr:
    """A packet's header: ``getts()`` (seconds, microseconds), ``getcaplen()``,
    ``getlen()``; ``getts_ns()`` gives the nanoseconds the ring has."""

    __slots__ = ("_ts_ns", "_caplen", "_len")

    def __init__(self, ts_ns, caplen, length):
        self._ts_ns = ts_ns
        self._caplen = caplen
        self._len = length

    def getts(self):
        sec, ns = divmod(self._ts_ns, 1_000_000_000)
        return sec, ns // 1000

    def getts_ns(self):
        return self._ts_ns

    def getcaplen(self):
        return self._caplen

    def getlen(self):
        return self._len

    def __repr__(self):
        return f"Pkthdr(ts={self.getts()}, caplen={self._caplen}, len={self._len})"


def _closed():
    return ValueError("pcap is closed")


class Reader:
    """A live capture (what ``open_live`` returns)."""

    def __init__(self, ring, snaplen, to_ms, promisc=False):
        self._ring = ring
        # ps_ifdrop as libpcap's: in promiscuous mode, the device's drops
        # since the capture opened; 0 otherwise.
        self._ifdrop_base = ring.kernel_stats().if_drop if promisc else None
        self._net, self._mask = _ipv4(ring.device)      # as pcapy: looked up at open
        self._snaplen = snaplen
        self._to_ms = to_ms
        self._nonblock = False
        self.device = ring.device

    # -- receiving ---------------------------------------------------------

    def _live(self):
        if self._ring is None:
            raise _closed()
        return self._ring

    def _recv(self, wait):
        """(Pkthdr, bytes) of the next packet, or None.  ``wait``: up to
        to_ms (for ever if 0), unless non-blocking."""
        ring = self._live()
        try:
            if not wait or self._nonblock:
                got = ring.recv()
            elif self._to_ms > 0:
                got = ring.recv(timeout=self._to_ms / 1000)
            else:
                got = ring.recv(wait=True)
        except PFRingError as exc:
            raise PcapError(str(exc)) from None
        if got is None:
            return None
        hdr, data = got
        if len(data) > self._snaplen:
            data = data[:self._snaplen]
        return Pkthdr(hdr.ts_ns, len(data), hdr.len), data

    def next(self):
        """The next packet as ``(Pkthdr, bytes)``; ``(None, b'')`` when the
        timeout passed (or none is ready in non-blocking mode)."""
        got = self._recv(True)
        return got if got is not None else (None, b"")

    __next__ = next

    def dispatch(self, maxcant, callback):
        """``callback(hdr, data)`` for the packets that are there (at most
        ``maxcant`` if > 0), waiting up to the timeout for the first; returns
        how many were handled."""
        n = 0
        while maxcant <= 0 or n < maxcant:
            got = self._recv(n == 0)
            if got is None:
                break
            n += 1
            callback(*got)
        return n

    def loop(self, maxcant, callback):
        """``callback(hdr, data)`` for ``maxcant`` packets (for ever if <= 0);
        timeouts do not end it.  An exception from the callback ends it."""
        n = 0
        while maxcant <= 0 or n < maxcant:
            got = self._recv(True)
            if got is None:
                if self._nonblock:
                    return
                continue
            n += 1
            callback(*got)

    # -- settings ----------------------------------------------------------

    def setfilter(self, expression):
        """Compile ``expression`` (libpcap) and attach it in the kernel."""
        self._live()
        try:
            self._ring.set_bpf_filter(expression)
        except PFRingError as exc:
            raise PcapError(str(exc)) from None

    def setdirection(self, direction):
        self._live()
        if direction not in _DIRECTIONS:
            raise PcapError(f"invalid direction {direction!r}")
        self._ring.set_direction(_DIRECTIONS[direction])

    def setnonblock(self, state):
        self._live()
        self._nonblock = bool(state)

    def getnonblock(self):
        self._live()
        return int(self._nonblock)

    def datalink(self):
        self._live()
        return DLT_EN10MB

    def getnet(self):
        """The device's IPv4 network address (dotted), 0.0.0.0 if it has none."""
        self._live()
        return socket.inet_ntoa(struct.pack("!I", self._net & self._mask))

    def getmask(self):
        """The device's IPv4 netmask (dotted), 0.0.0.0 if it has none."""
        self._live()
        return socket.inet_ntoa(struct.pack("!I", self._mask))

    def stats(self):
        """``(received, dropped, dropped by the interface)`` as pcapy gives
        libpcap's ``pcap_stats``: received is what the kernel queued for the
        capture, read or still waiting, the dropped ones included; dropped
        by the interface only in promiscuous mode."""
        self._live()
        try:
            st = self._ring.kernel_stats()
        except PFRingError as exc:
            raise PcapError(str(exc)) from None
        ifdrop = 0 if self._ifdrop_base is None else st.if_drop - self._ifdrop_base
        mask = 0xFFFFFFFF                 # libpcap's counters are u_int
        return st.recv & mask, st.drop & mask, ifdrop & mask

    def sendpacket(self, data):
        """Transmit one frame on the device."""
        self._live()
        try:
            self._ring.send(bytes(data))
        except PFRingError as exc:
            raise PcapError(str(exc)) from None

    def getfd(self):
        """The selectable descriptor: readable while packets wait."""
        self._live()
        return self._ring.fileno()

    fileno = getfd

    def close(self):
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.close()

    def __enter__(self):
        self._live()
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ring", None) is not None:
            self.close()


def _ipv4(device):
    """(address, netmask) of ``device`` as integers, (0, 0) without IPv4."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("256s", device.encode()[:15])
        try:
            addr = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)[20:24]
            mask = fcntl.ioctl(s.fileno(), _SIOCGIFNETMASK, req)[20:24]
        except OSError:
            return 0, 0
    finally:
        s.close()
    return struct.unpack("!I", addr)[0], struct.unpack("!I", mask)[0]


def open_live(device, snaplen, promisc, to_ms):
    """A live capture on ``device`` (see the module docstring)."""
    if not isinstance(device, str):
        raise TypeError("device must be a str")
    snaplen = int(snaplen)
    if snaplen <= 0 or snaplen > 262144:
        snaplen = 262144
    try:
        ring = _env.open_ring(device, min(snaplen, MAX_CAPLEN), bool(promisc))
        try:
            ring.enable()
        except BaseException:
            ring.close()
            raise
    except PFRingError as exc:
        raise PcapError(f"{device}: {exc}") from None
    return Reader(ring, snaplen, int(to_ms), promisc=bool(promisc))


def findalldevs():
    """The names of the interfaces of this network namespace, and ``any``."""
    return [name for _, name in socket.if_nameindex()] + ["any"]


def _flags(s, name):
    req = struct.pack("256s", name.encode()[:15])
    return struct.unpack_from("H", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req), 16)[0]


def lookupdev():
    """The first interface that is up and not loopback, as libpcap picks."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            try:
                flags = _flags(s, name)
            except OSError:
                continue
            if flags & _IFF_UP and not flags & _IFF_LOOPBACK:
                return name
    finally:
        s.close()
    raise PcapError("no suitable device found")
