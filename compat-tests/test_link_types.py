"""tcpdump on devices without a link-layer header, stock libpcap against the
drop-in: the same data links, the same packets, the same filter.

A tun device in a throwaway namespace stands for each such device: its
ARPHRD type is set with TUNSETLINK to that of tun (NONE), ipip (TUNNEL) and
sit, which stock libpcap reads as DLT_RAW, and to that of ip6tnl, gre,
ip6gre, PPP and raw IP, which it reads only in cooked mode (DLT_LINUX_SLL,
a header it makes in front of the network header).  Packets written to the
tun descriptor are received on the device while both tcpdumps capture.
"""
import fcntl
import os
import struct

import pytest

from pcap_pfring.netns import NetNS
from pcap_pfring.testing.compat import TWO_ROUTES, ipv4_frame, read_pcap, tcpdump

pytestmark = pytest.mark.needs_root

TUNSETIFF, TUNSETLINK = 0x400454CA, 0x400454CD
LINKTYPE_RAW = 101     # DLT_RAW in a pcap file
LINKTYPE_LINUX_SLL = 113
RAW = {"tun": 0xFFFE, "ipip": 768, "sit": 776}
COOKED = {"ip6tnl": 769, "gre": 778, "ip6gre": 823, "ppp": 512, "rawip": 519}
ARPHRD = {**RAW, **COOKED}
DEV = "pfcl0"


@pytest.fixture(params=list(ARPHRD.values()), ids=list(ARPHRD))
def tun(request):
    ns = NetNS(f"pfcl{os.getpid()}")
    fd = None
    try:
        with ns.enter():
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", DEV.encode(), 0x1001))   # TUN|NO_PI
            fcntl.ioctl(fd, TUNSETLINK, request.param)
        ns.run(["ip", "link", "set", DEV, "up"])
        yield ns, fd, request.param
    finally:
        if fd is not None:
            os.close(fd)
        ns.delete()


def packets():
    """IP packets (the Ethernet frames' payloads) to an address that is not
    the host's: three UDP, one ICMP echo."""
    out = [ipv4_frame(b"\0" * 6, b"\0" * 6, "10.93.0.2", "10.93.0.3", 17, 3000 + i, 53,
                      b"raw %d" % i, ident=i)[14:] for i in range(3)]
    udp = bytearray(out[0][:28])
    udp[9] = 1                                       # the same IP header, protocol ICMP
    out.append(bytes(udp[:20]) + bytes([8, 0, 0xF7, 0xF8, 0, 7, 0, 0]))   # echo request
    return out


def fix_ip(pkt):
    """The IPv4 total length and checksum of a hand-built packet."""
    p = bytearray(pkt)
    p[2:4] = len(p).to_bytes(2, "big")
    p[10:12] = b"\0\0"
    s = sum(int.from_bytes(p[i:i + 2], "big") for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    p[10:12] = (~s & 0xFFFF).to_bytes(2, "big")
    return bytes(p)


def capture(tun, tmp_path, *args, count):
    ns, fd, _ = tun
    sent = [fix_ip(p) for p in packets()]
    progs = {route: tcpdump(ns, route, DEV, tmp_path / f"{route}.pcap", "-c", str(count), *args,
                            env={"PCAP_PF_RING_DEBUG": 1})
             for route in TWO_ROUTES}
    try:
        for p in sent:
            os.write(fd, p)
        codes = {route: p.wait(timeout=10) for route, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    assert "capturing on a PF_RING ring" in progs["ring"].stderr
    assert "capturing on a PF_RING ring" not in progs["stock"].stderr
    out = {}
    for route in TWO_ROUTES:
        link, records = read_pcap(tmp_path / f"{route}.pcap")
        out[route] = (link, [data for _, _, _, data in records])
    return sent, out


def expected(tun, sent):
    """The link type and packets stock libpcap gives for sent on tun: the
    packets as they are, or behind a LINUX_SLL header (incoming to this
    host, the device's ARPHRD type, no link-layer address, the protocol)."""
    arphrd = tun[2]
    if arphrd in RAW.values():
        return LINKTYPE_RAW, sent
    return LINKTYPE_LINUX_SLL, [struct.pack(">HHH8sH", 0, arphrd, 0, b"", 0x0800) + p
                                for p in sent]


def test_the_data_link_list_is_stocks(tun):
    ns, _, arphrd = tun
    from pcap_pfring.testing.compat import route_env
    listed = {route: ns.run(["tcpdump", "-L", "-i", DEV], env=route_env(route)).stderr
              for route in TWO_ROUTES}
    assert listed["ring"] == listed["stock"]
    want = "RAW (Raw IP)" if arphrd in RAW.values() else "LINUX_SLL (Linux cooked v1)"
    assert listed["ring"].split("\n")[1:] == ["  " + want, ""]


def test_the_packets_are_as_on_stock(tun, tmp_path):
    sent, out = capture(tun, tmp_path, count=4)
    assert out["ring"] == out["stock"] == expected(tun, sent)


def test_a_filter_is_compiled_for_the_devices_data_link(tun, tmp_path):
    sent, out = capture(tun, tmp_path, "icmp or udp port 3001", count=2)
    link, packets = expected(tun, sent)
    assert out["ring"] == out["stock"] == (link, [packets[1], packets[3]])


@pytest.mark.parametrize("tun", [COOKED["gre"]], ids=["gre"], indirect=True)
def test_a_data_link_the_device_does_not_offer_is_refused_as_on_stock(tun):
    ns, _, _ = tun
    from pcap_pfring.testing.compat import route_env
    said = {}
    for route in TWO_ROUTES:
        r = ns.run(["tcpdump", "-c", "1", "-y", "RAW", "-i", DEV], env=route_env(route),
                   check=False, timeout=10)
        said[route] = (r.returncode, r.stderr.strip().splitlines()[-1])
    assert said["ring"] == said["stock"]
    assert said["ring"][0] != 0 and "RAW is not one of the DLTs supported" in said["ring"][1]
