"""scapy on PF_RING rings: sockets for ``conf.L2listen``, ``conf.L2socket``
and ``conf.L3socket``, and ``install()`` / ``uninstall()``.

>>> from pcap_pfring import scapy as pfscapy
>>> pfscapy.install()                   # sniff(), sendp(), srp(), sr1() use rings
>>> from scapy.all import sniff
>>> sniff(iface="eth0", filter="udp port 53", count=10)

The sockets are shaped like scapy's own libpcap sockets
(``scapy.arch.libpcap``): the same constructor arguments, the same filter
composition (``conf.except_filter``, ``type``, ``nofilter``), ``promisc``
defaulting to ``conf.sniff_promisc``.  What differs is underneath:

* each socket is one ``pcap_pfring.Ring`` (AF_PACKET TPACKET_V3): the
  filter is compiled by libpcap and runs in the kernel, VLAN tags are back in
  the frame, timestamps are the kernel's nanoseconds (``packet.time`` is an
  ``EDecimal``, exact to the nanosecond, as scapy's nanosecond pcap reader
  gives);
* receiving is ``Ring.recv``: the next packet from the ring's memory with no
  system call, copied once, into the ``bytes`` scapy parses; waiting is the
  ring's own (``Ring.recv(timeout=...)``, ``Ring.wait``);
* the layer class follows the device's link type as scapy's own sockets
  choose it (``conf.l2types`` by the ARPHRD type, else ``conf.l3types``):
  ``Ether`` on Ethernet and loopback, ``IPv46`` (IP or IPv6) on tun and the
  other devices without a link-layer header, where filters are compiled for
  raw IP (``Ring.link_type``);
* all the classes share one static ``select``: sockets that already hold a
  packet are returned at once, otherwise one ``select(2)`` waits on the ring
  descriptors (and on anything else sniff() passes, such as its control
  pipe).

Listening sockets follow the PCAP_PF_RING_* variables exactly as the libpcap
drop-in does, through the same parser (``pcap_pfring.env``, libpfring's
``pfring_parse_pcap_env``): cluster id and type, application name (default:
the script's file name), RSS re-hash, recv-only mode, the open flags.

Install protocol (how the sockets survive scapy's own configuration):

1. scapy chooses its sockets in ``scapy.config._set_conf_sockets``, called
   when ``scapy.arch`` is imported and whenever ``conf.use_pcap`` or
   ``conf.use_bpf`` is assigned.
2. ``install()`` replaces that function with a wrapper that calls scapy's
   function, then puts this module's classes back unless ``conf.use_pcap``
   is true (the user asked for libpcap: under ``pfring-run`` that is the
   project's libpcap drop-in, so still a ring).  Then it applies them now.
3. ``uninstall()`` puts scapy's function back and calls it, so the sockets
   are what scapy alone would choose.
4. Auto-activation (``pcap-pfring-autoload.pth``, see
   ``_pcap_pfring_autoload``) only wraps the function while ``scapy.config``
   is imported; the first call (from ``scapy.arch``) imports this module
   and calls ``install()``.
"""
import functools
import os
import select as _select
import sys
import time
from decimal import Decimal

from scapy.config import conf
from scapy.data import ETH_P_ALL, MTU
from scapy.error import Scapy_Exception, log_runtime
from scapy.interfaces import NetworkInterface, network_name
from scapy.supersocket import SuperSocket
from scapy.utils import EDecimal

from . import env as _env
from .env import default_appname
from .errors import InvalidStatusError, PFRingError
from .ring import MAX_CAPLEN, Direction

__all__ = ["PFRingListenSocket", "PFRingSocket", "PFRingL3Socket", "install", "uninstall",
           "installed", "default_appname"]

_RECV_WAIT = 0.1             # recv() waits this long, as scapy's libpcap sockets (to_ms=100)
_CAPLEN = min(MTU, MAX_CAPLEN)
_scaleb = Decimal.scaleb


def _device(iface):
    """The device name of ``iface`` (a name, a NetworkInterface, or None for
    conf.iface)."""
    if iface is None:
        iface = conf.iface
    if isinstance(iface, NetworkInterface):
        return iface.network_name
    if isinstance(iface, str):
        return iface
    return network_name(iface)


def _compose_filter(filter, type, nofilter, listen):
    """The BPF expression scapy's libpcap sockets would install."""
    if listen:
        if type != ETH_P_ALL:
            return filter
        nofilter = 0
    if nofilter:
        return f"ether proto {type}" if type != ETH_P_ALL else None
    if conf.except_filter:
        filter = f"({filter}) and not ({conf.except_filter})" if filter \
            else f"not ({conf.except_filter})"
    if type != ETH_P_ALL and not listen:
        filter = f"(ether proto {type}) and ({filter})" if filter else f"ether proto {type}"
    return filter


def _link_layer(arphrd, proto, device):
    """(layer class, level) of a socket's packets, chosen as scapy's own
    Linux sockets choose it: the device's ARPHRD_* type in conf.l2types
    (Ethernet, loopback: level 2), else the socket's protocol in
    conf.l3types (devices without a link-layer header, such as tun: IP or
    IPv6 by the version nibble, level 3), else conf.default_l2."""
    if arphrd in conf.l2types:
        return conf.l2types.num2layer[arphrd], 2
    if proto in conf.l3types:
        return conf.l3types.num2layer[proto], 3
    log_runtime.warning("Unable to guess type (interface=%s protocol=%#x family=%i). Using %s",
                        device, proto, arphrd, conf.default_l2.name)
    return conf.default_l2, 2


def _closed_error():
    return InvalidStatusError("socket used after close()")


class PFRingListenSocket(SuperSocket):
    """Receives at layer 2 from a PF_RING ring, both directions (like
    scapy's L2ListenSocket); cannot send."""

    desc = "read packets at layer 2 from a PF_RING ring (pcap_pfring)"
    _listen = True

    def __init__(self, iface=None, type=ETH_P_ALL, promisc=None, filter=None, nofilter=0,
                 monitor=None, **kwargs):
        self.closed = True          # until the ring is open: close() has nothing to do
        self.ring = None
        if monitor:
            raise Scapy_Exception("monitor mode is not supported on PF_RING rings")
        self.iface = iface if iface is not None else conf.iface
        self.type = type
        self.promisc = conf.sniff_promisc if promisc is None else bool(promisc)
        self.monitor = monitor
        self.outs = None
        device = _device(self.iface)
        self.filter = _compose_filter(filter, type, nofilter, self._listen)
        self.ring = self._open_ring(device)
        self.LL, self.lvl = _link_layer(self.ring.link_type.arphrd, type, device)
        self._fd = self.ring.fileno()
        self.closed = False

    # -- the ring ------------------------------------------------------------

    def _open_ring(self, device):
        ring = _env.open_ring(device, _CAPLEN, self.promisc, listen=self._listen,
                              warn=log_runtime.warning)
        try:
            if not self._listen:
                # scapy's L2Socket ignores what the host sends (PACKET_OUTGOING).
                ring.set_direction(Direction.RX_ONLY)
            if self.filter:
                try:
                    ring.set_bpf_filter(self.filter)
                except PFRingError as exc:
                    raise Scapy_Exception(f"Cannot set filter: {exc}") from None
            ring.enable()
        except BaseException:
            ring.close()
            raise
        return ring

    # -- receiving -------------------------------------------------------------

    def _next(self, timeout):
        """(bytes, EDecimal time) of the next packet, waiting up to
        ``timeout`` seconds (0: not), or None: the packet is read in place
        in the ring and copied once."""
        if self.closed:
            raise _closed_error()
        got = self.ring.recv(timeout=timeout)
        if got is None:
            return None
        hdr, data = got
        return data, EDecimal(_scaleb(Decimal(hdr.ts_ns), -9))

    def recv_raw(self, x=MTU):
        """(layer class, bytes, time) of the next packet, waiting up to 100 ms
        for one; (None, None, None) if none came."""
        got = self._next(_RECV_WAIT)
        if got is None:
            return None, None, None
        data, ts = got
        return self.LL, data[:x] if len(data) > x else data, ts

    def nonblock_recv(self, x=MTU):
        """The next packet, or None at once if none is ready."""
        got = self._next(0)
        if got is None:
            return None
        data, ts = got
        return self._dissect(data[:x] if len(data) > x else data, ts)

    def _dissect(self, data, ts):
        try:
            pkt = self.LL(data)
        except KeyboardInterrupt:
            raise
        except Exception:
            if conf.debug_dissector:
                raise
            pkt = conf.raw_layer(data)
        pkt.time = ts
        return pkt

    def _ready(self):
        """A packet can be read without waiting (or the socket is closed,
        so that recv() reports it)."""
        return self.closed or self.ring.wait(0)

    @staticmethod
    def select(sockets, remain=conf.recv_poll_rate):
        """The sockets that can be read: at once those holding a packet in
        their ring, else whatever select(2) finds within ``remain`` seconds
        (None: no limit).  Other objects with fileno() (sniff's control pipe)
        are waited on too."""
        deadline = None if remain is None else time.monotonic() + remain
        while True:
            waitable, ready, wakes = [], [], []
            for s in sockets:
                if isinstance(s, PFRingL3Socket):
                    subs = list(s.send_socks.values())
                    if s._wake_r is not None:
                        wakes.append(s._wake_r)
                else:
                    subs = [s]
                for sub in subs:
                    if isinstance(sub, PFRingListenSocket):
                        if sub._ready():
                            ready.append(sub)
                        else:
                            waitable.append(sub)
                    else:
                        waitable.append(sub)
            if ready:
                return ready
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if _ACTIVE_POLL[0] and left != 0:
                return _spin(waitable, left)
            try:
                readable, _, _ = _select.select(waitable + wakes, [], [], left)
            except InterruptedError:
                return []
            woken = [w for w in wakes if w in readable]
            if not woken or left == 0:
                return [r for r in readable if r not in wakes]
            for w in woken:          # an L3 socket opened a ring on another interface:
                _drain(w)            # wait on it too (its answers may already be there)

    def fileno(self):
        if self.closed:
            raise _closed_error()
        return self._fd

    # -- sending and the rest ----------------------------------------------------

    def send(self, x):
        raise Scapy_Exception("Can't send anything with PFRingListenSocket")

    def stats(self):
        """The ring's ``Stats`` (packets received and dropped)."""
        if self.closed:
            raise _closed_error()
        return self.ring.stats()

    def close(self):
        if self.closed:
            return
        self.closed = True
        ring, self.ring = self.ring, None
        if ring is not None:
            ring.close()

    def __del__(self):
        if getattr(self, "ring", None) is not None:
            self.close()

    def __repr__(self):
        state = "closed" if self.closed else f"ring {self.ring.ring_id}"
        return f"<{type(self).__name__} {_device(self.iface)!r} {state}>"


class PFRingSocket(PFRingListenSocket):
    """Sends and receives at layer 2 on a PF_RING ring; receives only what
    arrives (like scapy's L2Socket, not what the host sends)."""

    desc = "read/write packets at layer 2 on a PF_RING ring (pcap_pfring)"
    _listen = False

    def send(self, x):
        sx = bytes(x)
        try:
            x.sent_time = time.time()
        except AttributeError:
            pass
        if self.closed:
            raise _closed_error()
        if self.lvl == 2 and len(sx) < conf.min_pkt_size:
            sx += b"\0" * (conf.min_pkt_size - len(sx))
        return self.ring.send(sx)


class PFRingL3Socket(PFRingSocket):
    """Layer 3 over the layer-2 ring socket, as scapy's L3PacketSocket: sent
    packets get the Ethernet header scapy builds (next hop's MAC by ARP) on
    the interface of their route; received packets lose theirs."""

    desc = "read/write packets at layer 3 on PF_RING rings (pcap_pfring)"

    def __init__(self, iface=None, type=ETH_P_ALL, promisc=None, filter=None, nofilter=0,
                 monitor=None, **kwargs):
        self.send_socks = {}
        self._wake_r = self._wake_w = None
        super().__init__(iface=iface, type=type, promisc=promisc, filter=filter,
                         nofilter=nofilter, monitor=monitor)
        self._l3_filter = filter
        self.send_socks = {_device(self.iface): self}
        # select() in another thread (sr()'s receiver) learns of a socket
        # opened on another interface by send() through this pipe
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def recv(self, x=MTU, **kwargs):
        pkt = super().recv(x, **kwargs)
        if pkt is not None and self.lvl == 2:
            pkt.payload.time = pkt.time
            return pkt.payload
        return pkt

    def nonblock_recv(self, x=MTU):
        pkt = super().nonblock_recv(x)
        if pkt is not None and self.lvl == 2:
            pkt.payload.time = pkt.time
            return pkt.payload
        return pkt

    def send(self, x):
        iff = x.route()[0]
        if iff is None:
            iff = _device(conf.iface)
        if iff not in self.send_socks:
            self.send_socks[iff] = PFRingL3Socket(iface=iff, type=self.type,
                                                  filter=self._l3_filter, promisc=self.promisc)
            if self._wake_w is not None:
                os.write(self._wake_w, b"!")
        sock = self.send_socks[iff]
        frame = sock.LL() / x if sock.lvl == 2 else x     # level 3: no link-layer header
        sent = PFRingSocket.send(sock, frame)
        try:
            x.sent_time = frame.sent_time
        except AttributeError:
            pass
        return sent

    def close(self):
        if self.closed:
            return
        for sock in self.send_socks.values():
            if sock is not self:
                sock.close()
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None
        super().close()


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


# PCAP_PF_RING_ACTIVE_POLL: select() spins instead of sleeping.
_ACTIVE_POLL = [False]


def _spin(waitable, remain):
    deadline = None if remain is None else time.monotonic() + remain
    while True:
        readable, _, _ = _select.select(waitable, [], [], 0)
        if readable or (deadline is not None and time.monotonic() >= deadline):
            return readable
        for s in waitable:
            if isinstance(s, PFRingListenSocket) and s._ready():
                return [s]


# -- install / uninstall ------------------------------------------------------

_state = {"installed": False}


def installed():
    """True between install() and uninstall()."""
    return _state["installed"]


def _apply():
    """Our classes into conf, unless the user chose libpcap."""
    if not _state["installed"] or conf.use_pcap:
        return
    conf.L2listen = PFRingListenSocket
    conf.L2socket = PFRingSocket
    conf.L3socket = PFRingL3Socket
    conf.L3socket6 = functools.partial(PFRingL3Socket, filter="ip6")


def _scapy_config():
    import scapy.config
    return scapy.config


def _wrap(base):
    @functools.wraps(base)
    def _set_conf_sockets():
        base()
        _apply()
    _set_conf_sockets._pcap_pfring_base = base
    _set_conf_sockets._pcap_pfring_installed = True
    return _set_conf_sockets


def install():
    """Make scapy capture and send on PF_RING rings: ``conf.L2listen``,
    ``conf.L2socket``, ``conf.L3socket`` and ``conf.L3socket6`` become this
    module's classes, and stay so when ``conf.use_pcap`` or ``conf.use_bpf``
    is changed, except while ``conf.use_pcap`` is True (scapy's libpcap
    sockets; under pfring-run, the libpcap drop-in).  Returns False, and
    changes nothing, when PCAP_NO_PF_RING is set."""
    penv = _env.parse()
    if penv.no_pf_ring:
        log_runtime.info("PCAP_NO_PF_RING is set: scapy keeps its own sockets")
        return False
    _ACTIVE_POLL[0] = penv.active_poll
    cfg = _scapy_config()
    current = cfg._set_conf_sockets
    if not getattr(current, "_pcap_pfring_installed", False):
        cfg._set_conf_sockets = _wrap(getattr(current, "_pcap_pfring_base", current))
    _state["installed"] = True
    _apply()
    return True


def uninstall():
    """Undo install(): scapy's own choice of sockets again."""
    cfg = _scapy_config()
    current = cfg._set_conf_sockets
    base = getattr(current, "_pcap_pfring_base", None)
    _state["installed"] = False
    if base is not None:
        cfg._set_conf_sockets = base
        if "scapy.arch" in sys.modules:
            base()
