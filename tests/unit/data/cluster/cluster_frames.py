"""Frames for the cluster hash tests, and the script that writes frames.pcap.

    python3 tests/unit/data/cluster/cluster_frames.py    # rewrites frames.pcap

``fixture_flows()`` is the fixed set: every flow as (name, forward frame,
reverse frame), the reverse being the exact mirror (MACs, addresses and
ports swapped at every layer).  frames.pcap holds them in that order,
forward then reverse, as on the wire (VLAN tags in the data).
``random_flows(seed, n)`` gives more flows of the same kinds.  Stdlib only:
the unit test and the live test load this file by path.
"""
import pathlib
import random
import struct
import sys
from dataclasses import dataclass, field

HERE = pathlib.Path(__file__).resolve().parent
PCAP = HERE / "frames.pcap"


@dataclass(frozen=True)
class End:
    """One side of a flow, at every layer a frame may use."""
    mac: bytes
    ip4: bytes
    ip6: bytes
    port: int
    in4: bytes = bytes([172, 16, 0, 1])        # inner (tunnelled) addresses
    in6: bytes = bytes(15) + b"\x01"
    inport: int = 1000
    tport: int = 2152                          # outer UDP port of a tunnel
    extra: dict = field(default_factory=dict, compare=False, hash=False)


# --- headers -----------------------------------------------------------------

def eth(src, dst, ethertype, payload, tags=()):
    """An Ethernet frame padded to 60 bytes; ``tags`` = [(tpid, tci), ...] outer first."""
    out = dst.mac + src.mac
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    out += struct.pack("!H", ethertype) + payload
    return out + bytes(max(0, 60 - len(out)))


def ipv4(src, dst, proto, payload, frag=0x4000, options=b"", ident=0x1234):
    ihl = 5 + len(options) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, frag, 64,
                       proto, 0, src, dst) + options + payload


def ipv6(src, dst, nh, payload, ext=()):
    """``ext`` = [(header type, body)] in order; bodies are padded to 8n - 2."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (_, body) in enumerate(ext):
        if types[i] == 44:
            chain += bytes([types[i + 1], 0]) + body
        else:
            body += bytes(-(len(body) + 2) % 8)
            chain += bytes([types[i + 1], (len(body) + 2) // 8 - 1]) + body
    first = types[0]
    return struct.pack("!IHBB16s16s", 0x60000000, len(chain) + len(payload), first, 64,
                       src, dst) + chain + payload


def tcp(sport, dport, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x18, 8192, 0, 0) + data


def udp(sport, dport, data=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def sctp(sport, dport):
    return struct.pack("!HHII", sport, dport, 7, 0)


def icmp(ident):
    return struct.pack("!BBHHH", 8, 0, 0, ident, 1)


def gtpu(teid, inner, flags=0x30, msg=0xFF, opt=b"", exts=()):
    """GTPv1-U; ``opt`` = the 4 optional bytes (without the next-ext octet
    if ``exts``); ``exts`` = [(type, body)] extension headers."""
    tail = b""
    if flags & 0x07:
        first = exts[0][0] if exts else 0
        tail = (opt + bytes(3))[:3] + bytes([first])
        for i, (_, body) in enumerate(exts):
            nxt = exts[i + 1][0] if i + 1 < len(exts) else 0
            body += bytes(-(len(body) + 2) % 4)
            tail += bytes([(len(body) + 2) // 4]) + body + bytes([nxt])
    return struct.pack("!BBHI", flags, msg, len(tail) + len(inner), teid) + tail + inner


def vxlan(vni, inner, flags=0x08):
    return struct.pack("!BBHI", flags, 0, 0, vni << 8) + inner


def gre(proto, inner, csum=False, key=None, seq=None, version=0):
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | \
            (0x1000 if seq is not None else 0) | version
    out = struct.pack("!HH", flags, proto)
    if csum:
        out += bytes(4)
    if key is not None:
        out += struct.pack("!I", key)
    if seq is not None:
        out += struct.pack("!I", seq)
    return out + inner


# --- flows: each builder makes the frame a -> b -----------------------------

def _inner4(a, b, proto=6):
    l4 = tcp(a.inport, b.inport) if proto == 6 else udp(a.inport, b.inport, b"in")
    return ipv4(a.in4, b.in4, proto, l4)


def _inner6(a, b, proto=17):
    l4 = tcp(a.inport, b.inport) if proto == 6 else udp(a.inport, b.inport, b"in6")
    return ipv6(a.in6, b.in6, proto, l4)


def _v4(a, b, proto, l4, **kw):
    return eth(a, b, 0x0800, ipv4(a.ip4, b.ip4, proto, l4, **kw))


def _v6(a, b, nh, l4, ext=(), tags=()):
    return eth(a, b, 0x86DD, ipv6(a.ip6, b.ip6, nh, l4, ext), tags=tags)


FLOWS = {
    "ipv4-tcp": lambda a, b: _v4(a, b, 6, tcp(a.port, b.port)),
    "ipv4-udp": lambda a, b: _v4(a, b, 17, udp(a.port, b.port, b"x" * 10)),
    "ipv4-icmp": lambda a, b: _v4(a, b, 1, icmp(77)),
    "ipv4-sctp": lambda a, b: _v4(a, b, 132, sctp(a.port, b.port)),
    "ipv4-options-tcp": lambda a, b: _v4(a, b, 6, tcp(a.port, b.port), options=b"\x01" * 8),
    "ipv6-tcp": lambda a, b: _v6(a, b, 6, tcp(a.port, b.port)),
    "ipv6-hbh-udp": lambda a, b: _v6(a, b, 17, udp(a.port, b.port), ext=[(0, b"\x01\x02")]),
    "ipv6-dst-rt-tcp": lambda a, b: _v6(a, b, 6, tcp(a.port, b.port),
                                        ext=[(60, b""), (43, bytes(22))]),
    "ipv6-3ext-udp": lambda a, b: _v6(a, b, 17, udp(a.port, b.port),
                                      ext=[(0, b""), (60, b""), (60, b"")]),
    "ipv6-4ext-udp": lambda a, b: _v6(a, b, 17, udp(a.port, b.port),
                                      ext=[(0, b""), (60, b""), (43, bytes(6)), (60, b"")]),
    "ipv6-icmp": lambda a, b: _v6(a, b, 58, icmp(5)),
    "ipv6-atomic-frag-udp": lambda a, b: _v6(a, b, 17, udp(a.port, b.port),
                                             ext=[(44, struct.pack("!HI", 0, 9))]),
    "vlan-ipv4-udp": lambda a, b: eth(a, b, 0x0800, ipv4(a.ip4, b.ip4, 17, udp(a.port, b.port)),
                                      tags=[(0x8100, 0x2064)]),
    "vlan-ipv6-tcp": lambda a, b: _v6(a, b, 6, tcp(a.port, b.port), tags=[(0x8100, 7)]),
    "qinq-ipv4-tcp": lambda a, b: eth(a, b, 0x0800, ipv4(a.ip4, b.ip4, 6, tcp(a.port, b.port)),
                                      tags=[(0x88A8, 200), (0x8100, 10)]),
    "3tags-ipv4-udp": lambda a, b: eth(a, b, 0x0800, ipv4(a.ip4, b.ip4, 17, udp(a.port, b.port)),
                                       tags=[(0x88A8, 30), (0x8100, 31), (0x8100, 32)]),
    "ipv4-frag-first": lambda a, b: _v4(a, b, 17, udp(a.port, b.port, bytes(16)), frag=0x2000),
    "ipv4-frag-middle": lambda a, b: _v4(a, b, 17, b"\xaa" * 24, frag=0x2003),
    "ipv4-frag-last": lambda a, b: _v4(a, b, 17, b"\xbb" * 8, frag=0x0006),
    "ipv6-frag-first": lambda a, b: _v6(a, b, 6, tcp(a.port, b.port),
                                        ext=[(44, struct.pack("!HI", 0x0001, 5))]),
    "ipv6-frag-last": lambda a, b: _v6(a, b, 6, b"\xcc" * 16,
                                       ext=[(44, struct.pack("!HI", 0x0010, 5))]),
    "gtpu-ipv4-tcp": lambda a, b: _v4(a, b, 17, udp(a.tport, b.tport, gtpu(0x111, _inner4(a, b)))),
    "gtpu-seq-ipv6-udp": lambda a, b: _v4(a, b, 17, udp(a.tport, b.tport,
                                                        gtpu(0x222, _inner6(a, b), flags=0x32,
                                                             opt=b"\x00\x09"))),
    "gtpu-ext-ipv4-udp": lambda a, b: _v4(a, b, 17, udp(a.tport, b.tport,
                                                        gtpu(0x333, _inner4(a, b, 17), flags=0x34,
                                                             exts=[(0x85, b"\x00\x05")]))),
    "gtpu-2ext-ipv6-tcp": lambda a, b: _v4(a, b, 17, udp(a.tport, b.tport,
                                                         gtpu(0x334, _inner6(a, b, 6), flags=0x34,
                                                              exts=[(0x85, b"\x00\x05"),
                                                                    (0x40, b"\x01" * 6)]))),
    "gtpu-over-ipv6-ipv4-tcp": lambda a, b: _v6(a, b, 17, udp(a.tport, b.tport,
                                                              gtpu(0x444, _inner4(a, b)))),
    "gtpu-echo": lambda a, b: _v4(a, b, 17, udp(a.tport, b.tport, gtpu(0, b"", flags=0x32, msg=1,
                                                                      opt=b"\x00\x01"))),
    "vxlan-ipv4-tcp": lambda a, b: _v4(a, b, 17, udp(a.extra.get("vx", 4789), b.extra.get("vx", 4789),
                                                     vxlan(42, eth(a, b, 0x0800, _inner4(a, b))))),
    "vxlan-vlan-ipv6-udp": lambda a, b: _v4(a, b, 17, udp(a.extra.get("vx", 4789),
                                                          b.extra.get("vx", 4789),
                                                          vxlan(43, eth(a, b, 0x86DD, _inner6(a, b),
                                                                        tags=[(0x8100, 5)])))),
    "vxlan-no-i-flag": lambda a, b: _v4(a, b, 17, udp(a.extra.get("vx", 4789), b.extra.get("vx", 4789),
                                                      vxlan(44, eth(a, b, 0x0800, _inner4(a, b)),
                                                            flags=0))),
    "gre-ipv4-udp": lambda a, b: _v4(a, b, 47, gre(0x0800, _inner4(a, b, 17))),
    "gre-csum-key-seq-ipv6-tcp": lambda a, b: _v4(a, b, 47, gre(0x86DD, _inner6(a, b, 6), csum=True,
                                                                key=9, seq=1)),
    "gre-over-ipv6-key-ipv4-tcp": lambda a, b: _v6(a, b, 47, gre(0x0800, _inner4(a, b), key=3)),
    "gre-v1-pptp": lambda a, b: _v4(a, b, 47, gre(0x880B, b"\0" * 8, key=1, version=1)),
    "arp": lambda a, b: eth(a, b, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, a.mac,
                                                      a.ip4, b.mac, b.ip4)),
    "vlan-arp": lambda a, b: eth(a, b, 0x0806, bytes(28), tags=[(0x8100, 9)]),
    "lldp": lambda a, b: eth(a, b, 0x88CC, bytes(20)),
}

A = End(mac=bytes.fromhex("02000000000a"), ip4=bytes([10, 1, 2, 3]),
        ip6=bytes.fromhex("20010db8000000000000000000000001"), port=40001,
        in4=bytes([172, 16, 5, 6]), in6=bytes.fromhex("fd000000000000000000000000000005"),
        inport=51000, tport=2152, extra={"vx": 61000})
B = End(mac=bytes.fromhex("02000000000b"), ip4=bytes([192, 168, 9, 8]),
        ip6=bytes.fromhex("20010db8ffff00000000000000000002"), port=443,
        in4=bytes([172, 16, 7, 9]), in6=bytes.fromhex("fd0000000000000000000000000000a9"),
        inport=80, tport=2152, extra={"vx": 4789})


def fixture_flows():
    """[(name, forward frame, reverse frame)] of every kind in FLOWS."""
    return [(name, make(A, B), make(B, A)) for name, make in FLOWS.items()]


def random_end(rng, vxlan_port):
    return End(mac=bytes([2]) + rng.randbytes(5), ip4=bytes([10]) + rng.randbytes(3),
               ip6=bytes([0x20, 1]) + rng.randbytes(14), port=rng.randrange(1, 65536),
               in4=bytes([172, 16]) + rng.randbytes(2), in6=bytes([0xfd]) + rng.randbytes(15),
               inport=rng.randrange(1, 65536), tport=2152, extra={"vx": vxlan_port})


def random_flows(seed, n, kinds=None):
    """[(kind, forward, reverse)] for n random flows of the given kinds (all
    kinds of FLOWS by default, in turn)."""
    rng = random.Random(seed)
    kinds = list(kinds or FLOWS)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        a, b = random_end(rng, rng.randrange(49152, 65536)), random_end(rng, 4789)
        out.append((kind, FLOWS[kind](a, b), FLOWS[kind](b, a)))
    return out


# --- pcap ------------------------------------------------------------------

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)


def read_pcap(path):
    data = pathlib.Path(path).read_bytes()
    magic, = struct.unpack_from("<I", data)
    if magic != 0xA1B2C3D4:
        raise ValueError(f"{path}: not a little-endian microsecond pcap")
    frames, off = [], 24
    while off < len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, off)
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def fixture_frames():
    """The frames of frames.pcap, in order."""
    return [frame for _, fwd, rev in fixture_flows() for frame in (fwd, rev)]


if __name__ == "__main__":
    write_pcap(sys.argv[1] if len(sys.argv) > 1 else PCAP, fixture_frames())
