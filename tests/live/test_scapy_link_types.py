"""Rings on devices without an Ethernet header, against scapy's own sockets.

A tun device in a throwaway namespace stands for every device that hands a
packet socket the IP header first: its ARPHRD type is set with TUNSETLINK to
that of tun (NONE), ipip (TUNNEL), ip6tnl (TUNNEL6), sit, GRE, ip6gre, PPP
and raw IP, so the kernel reports
exactly what those devices report.  Packets written to the tun descriptor are
received on the device; both scapy's Linux socket and ours read them, and the
test compares the decoded packets.  Loopback is the Ethernet-framed case.
"""
import fcntl
import os
import select
import socket
import struct
import time

import pytest

pytest.importorskip("scapy", reason="scapy is installed by make setup (requirements-dev.txt)")

from scapy.all import ICMP, IP, UDP, IPv6, Raw, conf  # noqa: E402
from scapy.arch.linux import L2ListenSocket  # noqa: E402
from scapy.layers.inet6 import IPv46  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from pcap_pfring import LinkType, NotSupportedError, PFRingError, Ring  # noqa: E402
from pcap_pfring import scapy as pfscapy  # noqa: E402
from pcap_pfring.netns import NetNS  # noqa: E402

pytestmark = pytest.mark.needs_root

TUNSETIFF, TUNSETLINK = 0x400454CA, 0x400454CD
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
ARPHRD = {"tun": 0xFFFE, "ipip": 768, "ip6tnl": 769, "sit": 776, "gre": 778, "ip6gre": 823,
          "ppp": 512, "rawip": 519}
DLT_EN10MB, DLT_RAW = 1, 12
DEV = "pftl0"


class Tun:
    """A tun device of a given ARPHRD type in a namespace of its own, up,
    with 10.88.0.1/24; write() makes the device receive a packet."""

    def __init__(self, arphrd):
        self.arphrd = arphrd
        self.ns = NetNS(f"pftl{os.getpid()}")
        try:
            with self.ns.enter():
                self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
                fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", DEV.encode(),
                                                            IFF_TUN | IFF_NO_PI))
                fcntl.ioctl(self.fd, TUNSETLINK, arphrd)
            self.ns.run(["ip", "addr", "add", "10.88.0.1/24", "dev", DEV])
            self.ns.run(["ip", "link", "set", DEV, "up"])
        except BaseException:
            self.close()
            raise

    def write(self, packets):
        for p in packets:
            os.write(self.fd, p)

    def read(self, timeout=5.0):
        """The next packet the host sent out of the device."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        assert r, "nothing was sent out of the tun device"
        return os.read(self.fd, 65536)

    def close(self):
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
            self.fd = None
        self.ns.delete()


@pytest.fixture
def tun(request):
    t = Tun(request.param)
    yield t
    t.close()


def traffic():
    """IPv4 and IPv6 packets of several protocols, as bytes, to addresses
    that are not the host's (it drops them without an answer: IPv6 is off,
    forwarding too)."""
    pkts = [IP(src="10.88.0.2", dst="10.88.0.3") / UDP(sport=1000 + i, dport=53) / Raw(b"u%d" % i)
            for i in range(3)]
    pkts.append(IP(src="10.88.0.2", dst="10.88.0.3") / ICMP(id=7, seq=1))
    pkts.append(IPv6(src="fd00::2", dst="fd00::3") / UDP(sport=9, dport=9) / Raw(b"six"))
    return [bytes(p) for p in pkts]


def read_all(sock, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    out = []
    while len(out) < n and time.monotonic() < deadline:
        p = sock.recv()
        if p is not None:
            out.append(p)
    return out


def both_sockets(ns):
    """scapy's own listening socket and ours, on DEV, opened in ns."""
    with ns.enter():
        conf.ifaces.reload()
        native = L2ListenSocket(iface=DEV)
        try:
            ours = pfscapy.PFRingListenSocket(iface=DEV)
        except BaseException:
            native.close()
            raise
    return native, ours


@pytest.mark.parametrize("tun", list(ARPHRD.values()), ids=list(ARPHRD), indirect=True)
def test_ring_and_scapy_decode_ip_first_devices_as_scapy_does(tun):
    with tun.ns.enter():
        with Ring(DEV) as ring:
            assert ring.link_type == LinkType(tun.arphrd, DLT_RAW)
    native, ours = both_sockets(tun.ns)
    try:
        assert (ours.LL, ours.lvl) == (native.LL, native.lvl) == (IPv46, 3)
        sent = traffic()
        tun.write(sent)
        theirs, mine = read_all(native, len(sent)), read_all(ours, len(sent))
    finally:
        native.close()
        ours.close()
    assert [bytes(p) for p in mine] == [bytes(p) for p in theirs] == sent
    assert [type(p) for p in mine] == [type(p) for p in theirs] == [IP] * 4 + [IPv6]
    assert mine[3][ICMP].id == 7 and mine[4][UDP].dport == 9


@pytest.mark.parametrize("tun", [ARPHRD["tun"]], ids=["tun"], indirect=True)
def test_filters_are_compiled_for_raw_ip(tun):
    with tun.ns.enter():
        conf.ifaces.reload()
        sock = pfscapy.PFRingListenSocket(iface=DEV, filter="icmp or ip6")
    try:
        sent = traffic()
        tun.write(sent)
        got = read_all(sock, 2)
        time.sleep(0.3)
        assert sock.nonblock_recv() is None          # the UDP packets were filtered out
    finally:
        sock.close()
    assert [bytes(p) for p in got] == [sent[3], sent[4]]


@pytest.mark.parametrize("tun", [ARPHRD["tun"]], ids=["tun"], indirect=True)
def test_l3_socket_sends_ip_without_a_link_layer_header(tun):
    pkt = IP(src="10.88.0.1", dst="10.88.0.2") / UDP(sport=5, dport=6) / Raw(b"x")
    with tun.ns.enter():
        conf.ifaces.reload()
        conf.route.resync()
        sock = pfscapy.PFRingL3Socket(iface=DEV)
        try:
            assert sock.lvl == 3
            sock.send(pkt)
        finally:
            sock.close()
    for _ in range(10):          # skip anything else the host sends (none expected)
        out = tun.read()
        if out == bytes(pkt):
            break
    assert out == bytes(pkt)     # no Ethernet header, no padding


@pytest.mark.parametrize("tun", [280], ids=["can"], indirect=True)
def test_a_link_type_without_a_dlt_captures_but_refuses_filters(tun):
    with tun.ns.enter():
        with Ring(DEV) as ring:
            assert ring.link_type == LinkType(280, None)
            with pytest.raises(NotSupportedError, match="no BPF filter on 'pftl0'.*ARPHRD 280"):
                ring.set_bpf_filter("udp")
    native, ours = both_sockets(tun.ns)
    try:
        assert (ours.LL, ours.lvl) == (native.LL, native.lvl)
    finally:
        native.close()
        ours.close()


@pytest.mark.parametrize("tun", [ARPHRD["tun"]], ids=["tun"], indirect=True)
def test_a_ring_on_devices_of_different_link_layers_is_refused(tun):
    with tun.ns.enter():
        with pytest.raises(PFRingError, match="'lo' and 'pftl0' have different link-layer"):
            Ring(f"lo,{DEV}")
        with Ring("lo") as ring:
            assert ring.link_type == LinkType(772, DLT_EN10MB)


def test_loopback_is_ethernet_framed_as_in_scapy():
    ns = NetNS(f"pflo{os.getpid()}")
    try:
        with ns.enter():
            conf.ifaces.reload()
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.bind(("127.0.0.1", 9999))
            native = L2ListenSocket(iface="lo")
            ours = pfscapy.PFRingListenSocket(iface="lo")
            try:
                assert (ours.LL, ours.lvl) == (native.LL, native.lvl) == (Ether, 2)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                    for i in range(2):
                        tx.sendto(b"lo%d" % i, ("127.0.0.1", 9999))
                # scapy's socket sees each packet twice on lo (sent, then
                # received); a ring keeps one copy (PF_RING's loopback rule)
                theirs, mine = read_all(native, 4), read_all(ours, 2)
            finally:
                native.close()
                ours.close()
                rx.close()
    finally:
        ns.delete()
    assert [bytes(p) for p in mine] == [bytes(theirs[0]), bytes(theirs[2])]
    assert bytes(theirs[0]) == bytes(theirs[1]) and bytes(theirs[2]) == bytes(theirs[3])
    assert all(type(p) is Ether and p[UDP].dport == 9999 for p in mine)
    assert [p[Raw].load for p in mine] == [b"lo0", b"lo1"]
