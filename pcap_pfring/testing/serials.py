"""Frames that carry a serial, for tests that assert exactly which frames a
ring's filters and rules let through: ``packet`` builds an IPv4 or IPv6
frame (TCP, UDP or another protocol, maybe VLAN tagged) with the serial in
its payload, ``serials`` reads them back from what a ring received, and
``open_ring`` opens an RX-only ring in namespace a of a veth pair."""
import ipaddress
import struct

from ..ring import Direction, Ring
from .fixtures import frame

MARK = b"PFRS"


def packet(pair, serial, src="10.1.0.1", dst="10.2.0.1", proto=17, sport=1000, dport=2000,
           vlan=None, smac=None, dmac=None, tcp_flags=0x10):
    """An IPv4 or IPv6 frame (by the addresses) with serial in its payload."""
    payload = MARK + struct.pack("!I", serial) + b"." * 8
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, tcp_flags, 1024, 0, 0) + payload
    elif proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    else:
        l4 = payload
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), serial & 0xFFFF, 0, 64, proto,
                         0, s.packed, d.packed)
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, s.packed, d.packed)
        ethertype = 0x86DD
    return frame(dmac or pair.mac_a, smac or pair.mac_b, ethertype, ip + l4, vlan=vlan)


def serials(got):
    out = []
    for _, data in got:
        i = data.find(MARK)
        assert i >= 0, data.hex()
        out.append(struct.unpack("!I", data[i + 4:i + 8])[0])
    return out


def open_ring(pair, device=None):
    with pair.a.enter():
        ring = Ring(device or pair.if_a, 1536)
    ring.set_direction(Direction.RX_ONLY)
    return ring
