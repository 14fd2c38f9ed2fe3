"""Throwaway network namespaces and veth pairs, for the demo, the tests and
the benchmarks.

``VethPair()`` creates two uniquely named namespaces (``pfr-<tag>-a``, ``-b``)
joined by a veth pair; ``pair.delete()`` deletes them by those exact names
(callers do it in a ``finally``; a failed set-up deletes what it created).
``with ns.enter():`` switches the calling thread into a namespace;
``ns.run()`` / ``ns.popen()`` run a command in it under ``ip netns exec``.
Needs root and the ``ip`` tool; standard library only (the pytest fixtures
on top are ``pcap_pfring.testing.fixtures``).
"""
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import uuid

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003

_libc = ctypes.CDLL(None, use_errno=True)


def default_sigint():
    """In a child before exec: SIGINT back to its default action, which exec
    keeps.  A run started in the background has SIGINT ignored, and the tests
    stop programs with SIGINT as a user's Ctrl-C would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def ip(*args, check=True):
    """Run ``ip ARGS`` and return its stdout."""
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


class NetNS:
    """A named network namespace that this process created."""

    def __init__(self, name):
        self.name = name
        ip("netns", "add", name)
        # A quiet namespace: no IPv6 neighbour discovery chatter on new links.
        self.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
                  "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"])
        self.run(["ip", "link", "set", "lo", "up"])

    @contextlib.contextmanager
    def enter(self):
        """Switch the calling thread into this namespace for the block."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield self
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv, check=True, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        res = subprocess.run(self.cmd(argv), **kw)
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {self.name}: {res.stderr}")
        return res

    def popen(self, argv, **kw):
        kw.setdefault("preexec_fn", default_sigint)
        return subprocess.Popen(self.cmd(argv), **kw)

    def raw_socket(self, ifname):
        """An AF_PACKET socket bound to ``ifname`` inside the namespace."""
        with self.enter():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind((ifname, 0))
        return s

    def delete(self):
        ip("netns", "delete", self.name, check=False)


class VethPair:
    """Namespaces ``a`` and ``b`` joined by ``a.ifname`` <-> ``b.ifname``."""

    def __init__(self, queues=1, mtu=1500):
        tag = uuid.uuid4().hex[:8]
        self.a = NetNS(f"pfr-{tag}-a")
        try:
            self.b = NetNS(f"pfr-{tag}-b")
        except Exception:
            self.a.delete()
            raise
        self.if_a, self.if_b = "veth0", "veth1"
        self.ip_a, self.ip_b = "10.77.0.1", "10.77.0.2"
        try:
            q = ["numtxqueues", str(queues), "numrxqueues", str(queues)]
            self.a.run(["ip", "link", "add", self.if_a, *q, "type", "veth",
                        "peer", "name", self.if_b, *q, "netns", self.b.name])
            for ns, ifname, addr in ((self.a, self.if_a, self.ip_a), (self.b, self.if_b, self.ip_b)):
                ns.run(["ip", "link", "set", ifname, "mtu", str(mtu)])
                ns.run(["ip", "addr", "add", f"{addr}/24", "dev", ifname])
                ns.run(["ip", "link", "set", ifname, "up"])
            self.mac_a = self._mac(self.a, self.if_a)
            self.mac_b = self._mac(self.b, self.if_b)
        except Exception:
            self.delete()
            raise

    def add_link(self, if_a, if_b):
        """A second veth link: ``if_a`` in namespace a, ``if_b`` in b, both up."""
        self.a.run(["ip", "link", "add", if_a, "type", "veth", "peer", "name", if_b,
                    "netns", self.b.name])
        self.a.run(["ip", "link", "set", if_a, "up"])
        self.b.run(["ip", "link", "set", if_b, "up"])

    @staticmethod
    def _mac(ns, ifname):
        out = ns.run(["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip()
        return bytes.fromhex(out.replace(":", ""))

    def delete(self):
        self.a.delete()
        self.b.delete()


def frame(dst, src, ethertype=0x88B5, payload=b"", vlan=None):
    """An Ethernet frame, padded to 60 bytes; ``vlan`` adds an 802.1Q tag."""
    tag = b"" if vlan is None else (0x8100).to_bytes(2, "big") + vlan.to_bytes(2, "big")
    f = dst + src + tag + ethertype.to_bytes(2, "big") + payload
    return f + b"\0" * max(0, 60 - len(f))


def send_frames(ns, ifname, frames, gap=0.0):
    """Send frames from an AF_PACKET socket on ifname inside ns, ``gap``
    seconds apart."""
    s = ns.raw_socket(ifname)
    try:
        for f in frames:
            s.send(f)
            if gap:
                time.sleep(gap)
    finally:
        s.close()


def send_from_b(pair, frames, ifname=None):
    """Send frames from b's end of ``pair`` (or from ``ifname`` in b)."""
    send_frames(pair.b, ifname or pair.if_b, frames)
