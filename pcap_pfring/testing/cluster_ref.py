"""Reference model of the cluster hash, for tests: which fanout member gets a frame.

Written from the specification in the header comment of ``kernel/cluster.c``
(not from its instructions), so the tests can compare the two:

* ``cluster_hash(ctype, frame, vlan_tci=None)`` is what the type's program
  returns for ``frame``: the bytes from the MAC header on, as the kernel has
  them when the fanout program runs.  A received frame's outer VLAN tag is
  not in those bytes but in skb metadata: pass it as ``vlan_tci`` (the TCI;
  ``None`` = no metadata tag).  Tags still in the data (QinQ inner tags,
  transmitted frames) stay in ``frame``.
* ``member(ctype, frame, members, vlan_tci=None)`` is the member index the
  kernel picks: ``cluster_hash(...) % members``.
* ``received(frame)`` gives ``(bytes, vlan_tci)`` for a frame sent on the
  wire as the receiving side's program sees it (the outer tag moved to
  metadata); ``transmitted(frame)`` gives ``(frame, None)``.

The hash: the 32-bit wrapping sum of the type's fields (addresses, ports,
protocol, VLAN id, or the MAC pair for non-IP frames of the ip_5_tuple
types), every source field paired with its destination twin so the sum is
direction independent, then MurmurHash3's 32-bit finalizer.  Non-IP frames
of the other types hash to 0.  Reading past the end of the frame gives 0, as
the kernel's classic BPF does.
"""
import struct

M32 = 0xFFFFFFFF

#: Cluster types that have a program (1 round robin and 13 duplication do not).
PROGRAM_TYPES = (0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)

# Which fields each per-flow type sums (besides the addresses).
_FIELDS = {
    0: {"ports", "proto", "vlan"},          # per_flow: 6-tuple with the VLAN id
    2: set(),                               # 2_tuple
    3: {"ports"},                           # 4_tuple
    4: {"ports", "proto"},                  # 5_tuple
    5: {"tcp"},                             # tcp_5_tuple: 5-tuple for TCP, else 2-tuple
    11: {"ports", "proto", "macs"},         # ip_5_tuple: MAC pair for non-IP
}
# The inner-flow types: the per-flow type applied to a tunnel's inner headers.
_INNER = {6: 4, 7: 2, 8: 3, 9: 4, 10: 5, 12: 11}

VLAN_TPIDS = (0x8100, 0x88A8)
PORT_PROTOCOLS = (6, 17, 132)               # TCP, UDP, SCTP
IPV6_EXTENSIONS = (0, 43, 60)               # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44
IN_DATA_TAGS = 3
IPV6_EXT_HEADERS = 3
GTP_EXT_HEADERS = 2
GTP_U_PORT, VXLAN_PORT, GRE_PROTO = 2152, 4789, 47
ETHERTYPE_VERSION = {0x0800: 4, 0x86DD: 6}


class _Truncated(Exception):
    pass


class _Bytes:
    """Big-endian reads that raise _Truncated past the end."""

    def __init__(self, data):
        self.data = bytes(data)

    def _get(self, fmt, off):
        size = struct.calcsize(fmt)
        if off < 0 or off + size > len(self.data):
            raise _Truncated(off)
        return struct.unpack_from(fmt, self.data, off)[0]

    def u8(self, off):
        return self._get("!B", off)

    def u16(self, off):
        return self._get("!H", off)

    def u32(self, off):
        return self._get("!I", off)


class _IP:
    """What the hash needs from one IP header."""

    def __init__(self, words, proto, l4):
        self.words = words      # address words, source and destination
        self.proto = proto      # IPv4 protocol / IPv6 upper-layer next header
        self.l4 = l4            # offset of the L4 header, None for a fragment


def fmix32(h):
    """MurmurHash3's 32-bit finalizer."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def _link_layer(f, vlan_tci):
    """(ethertype, IP header offset, VLAN id) after the in-data tags."""
    vid = vlan_tci & 0xFFF if vlan_tci is not None else None
    off = 12
    ethertype = f.u16(off)
    for _ in range(IN_DATA_TAGS):
        if ethertype not in VLAN_TPIDS:
            break
        if vid is None:
            vid = f.u16(off + 2) & 0xFFF
        off += 4
        ethertype = f.u16(off)
    return ethertype, off + 2, vid or 0


def _ipv4(f, l3):
    words = [f.u32(l3 + 12), f.u32(l3 + 16)]
    proto = f.u8(l3 + 9)
    fragment = f.u16(l3 + 6) & 0x3FFF         # MF or a fragment offset
    l4 = None if fragment else l3 + 4 * (f.u8(l3) & 0x0F)
    return _IP(words, proto, l4)


def _ipv6(f, l3):
    words = [f.u32(l3 + 8 + 4 * i) for i in range(8)]
    nh, off = f.u8(l3 + 6), l3 + 40
    for _ in range(IPV6_EXT_HEADERS):
        if nh in IPV6_EXTENSIONS:
            nh, off = f.u8(off), off + 8 * (f.u8(off + 1) + 1)
        elif nh == IPV6_FRAGMENT:
            nh = f.u8(off)
            if f.u16(off + 2) & 0xFFF9:       # offset or M: a real fragment
                return _IP(words, nh, None)
            off += 8                          # an atomic fragment
        else:
            break
    return _IP(words, nh, off)


def _ip(f, version, l3):
    return _ipv4(f, l3) if version == 4 else _ipv6(f, l3)


def _gtp_u(f, gtp):
    """(version, offset) of the IP packet in a GTP-U G-PDU, or None."""
    flags = f.u8(gtp)
    if flags >> 4 != 0x3 or f.u8(gtp + 1) != 0xFF:   # GTPv1, PT=1; G-PDU
        return None
    inner = gtp + 8
    if flags & 0x07:                                  # E, S or PN: 4 more bytes
        inner += 4
        if flags & 0x04:                              # E: extension headers
            next_type = f.u8(gtp + 11)
            for _ in range(GTP_EXT_HEADERS):
                if next_type == 0:
                    break
                units = f.u8(inner)
                if units == 0:
                    return None
                inner += 4 * units
                next_type = f.u8(inner - 1)
            if next_type != 0:
                return None
    version = f.u8(inner) >> 4
    return (version, inner) if version in (4, 6) else None


def _vxlan(f, vx):
    if not f.u8(vx) & 0x08:                           # I flag
        return None
    inner_eth = vx + 8
    ethertype, l3 = f.u16(inner_eth + 12), inner_eth + 14
    if ethertype in VLAN_TPIDS:
        ethertype, l3 = f.u16(inner_eth + 16), l3 + 4
    version = ETHERTYPE_VERSION.get(ethertype)
    return (version, l3) if version else None


def _gre(f, g):
    flags = f.u16(g)
    if flags & 0x4000 or flags & 0x0007:              # routing present, version != 0
        return None
    length = 4 + 4 * sum(1 for bit in (0x8000, 0x2000, 0x1000) if flags & bit)
    version = ETHERTYPE_VERSION.get(f.u16(g + 2))
    return (version, g + length) if version else None


def _tunnel(f, outer):
    """(version, offset) of a tunnel's inner IP header, or None."""
    if outer.l4 is None:
        return None
    l4 = outer.l4
    if outer.proto == 17:
        if f.u16(l4) == GTP_U_PORT or f.u16(l4 + 2) == GTP_U_PORT:
            return _gtp_u(f, l4 + 8)
        if f.u16(l4 + 2) == VXLAN_PORT or f.u16(l4) == VXLAN_PORT:
            return _vxlan(f, l4 + 8)
        return None
    if outer.proto == GRE_PROTO:
        return _gre(f, l4)
    return None


def _sum(f, fields, ip, vid):
    total = sum(ip.words)
    tcp = ip.proto == 6
    if ip.l4 is not None and (("ports" in fields and ip.proto in PORT_PROTOCOLS) or
                              ("tcp" in fields and tcp)):
        total += f.u16(ip.l4) + f.u16(ip.l4 + 2)
    if "proto" in fields or ("tcp" in fields and tcp):
        total += ip.proto
    if "vlan" in fields:
        total += vid
    return total & M32


def _hash(ctype, f, vlan_tci):
    inner = ctype in _INNER
    fields = _FIELDS[_INNER.get(ctype, ctype)]
    ethertype, l3, vid = _link_layer(f, vlan_tci)
    version = ETHERTYPE_VERSION.get(ethertype)
    if version is None:
        if "macs" not in fields:
            return 0
        return fmix32((f.u32(0) + f.u16(4) + f.u32(6) + f.u16(10)) & M32)
    ip = _ip(f, version, l3)
    if inner:
        found = _tunnel(f, ip)
        if found:
            ip = _ip(f, *found)
    return fmix32(_sum(f, fields, ip, vid))


def cluster_hash(ctype, frame, vlan_tci=None):
    """The value the program of cluster type ``ctype`` returns for ``frame``."""
    if ctype not in PROGRAM_TYPES:
        raise ValueError(f"cluster type {ctype} has no program")
    try:
        return _hash(ctype, _Bytes(frame), vlan_tci)
    except _Truncated:
        return 0


def member(ctype, frame, members, vlan_tci=None):
    """The fanout member (0-based, in join order) that gets ``frame``."""
    return cluster_hash(ctype, frame, vlan_tci) % members


def received(frame):
    """A frame as the receiving side's program sees it: ``(bytes, vlan_tci)``
    with the outer tag, if any, moved into metadata."""
    frame = bytes(frame)
    if len(frame) >= 16 and int.from_bytes(frame[12:14], "big") in VLAN_TPIDS:
        return frame[:12] + frame[16:], int.from_bytes(frame[14:16], "big")
    return frame, None


def transmitted(frame):
    """A frame as the sending side's program sees it: all tags in the data."""
    return bytes(frame), None
