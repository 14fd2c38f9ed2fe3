"""The DNA cluster master's flow hash (dna_cluster_default_distribution):
untagged IPv4 is summed without the parse (pfringint_ipv4_hash_sum, parse.c), so every frame
here must get exactly the hash the full parse gives (level 4, the
symmetric sum, mixed), for every shape and every truncation; anything else
goes through the parse and must agree as well."""
import random
import struct

import pytest

from pcap_pfring._ffi import ffi, lib

MACS = bytes.fromhex("020000000002020000000001")
A4, B4 = bytes([10, 0, 0, 1]), bytes([192, 168, 0, 7])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def eth(ethertype, payload, tags=()):
    out = MACS
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", ethertype) + payload


def ipv4(proto, payload, frag=0x4000, ihl=5, total=None, src=A4, dst=B4):
    opts = b"\x01" * (4 * max(ihl - 5, 0))
    if total is None:
        total = 20 + len(opts) + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0,
                       src, dst) + opts + payload


def ipv6(nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, A6, B6) + payload


def udp(sport, dport):
    return struct.pack("!HHHH", sport, dport, 16, 0) + b"x" * 8


def tcp(sport, dport):
    return struct.pack("!HHIIBBHHH", sport, dport, 7, 9, 5 << 4, 0x12, 1024, 0, 0)


def sctp(sport, dport):
    return struct.pack("!HHII", sport, dport, 0xDEADBEEF, 0) + b"\x00" * 16


def icmp():
    return struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"


def parsed_hash(frame, caplen):
    """What the full parse gives: fmix32 of its level-4 hash, 0 for non-IP."""
    buf = ffi.new("u_char[]", frame or b"\0")
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.caplen = caplen
    hdr.len = caplen
    lib.pfring_parse_pkt(buf, hdr, 4, 0, 1)
    if hdr.extended_hdr.parsed_pkt.ip_version not in (4, 6):
        return 0
    return fmix32(hdr.extended_hdr.pkt_hash)


def cluster_hash(frame, caplen, slaves=3):
    """(hash, id_mask) of dna_cluster_default_distribution."""
    buf = ffi.new("u_char[]", frame or b"\0")
    info = ffi.new("pfring_dna_cluster_slaves_info *")
    info.num_slaves = slaves
    mask = ffi.new("u_int32_t *")
    h = ffi.new("u_int32_t *")
    assert lib.dna_cluster_default_distribution(buf, caplen, info, mask, h) == \
        lib.DNA_CLUSTER_PASS
    return h[0], mask[0]


def check(frame):
    """Every caplen from 0 to the whole frame gives the parse's hash."""
    for caplen in range(len(frame) + 1):
        want = parsed_hash(frame, caplen)
        got, mask = cluster_hash(frame, caplen)
        assert (got, mask) == (want, 1 << (want % 3)), (frame.hex(), caplen)


SHAPES = {
    "udp": eth(0x0800, ipv4(17, udp(1234, 53))),
    "tcp": eth(0x0800, ipv4(6, tcp(40000, 80))),
    "sctp": eth(0x0800, ipv4(132, sctp(5000, 6000))),
    "icmp": eth(0x0800, ipv4(1, icmp())),
    "gre, no ports": eth(0x0800, ipv4(47, b"\x00" * 24)),
    "options": eth(0x0800, ipv4(17, udp(7, 9), ihl=8)),
    "first fragment": eth(0x0800, ipv4(17, udp(7, 9), frag=0x2000)),
    "later fragment": eth(0x0800, ipv4(17, udp(7, 9), frag=0x2000 | 185)),
    "total 0 (TSO)": eth(0x0800, ipv4(6, tcp(1, 2), total=0)),
    "total shorter than the ports": eth(0x0800, ipv4(17, udp(7, 9), total=22)),
    "total = the header": eth(0x0800, ipv4(6, tcp(7, 9), total=20)),
    "total below the header": eth(0x0800, ipv4(6, tcp(7, 9), total=12)),
    "total past the frame": eth(0x0800, ipv4(17, udp(7, 9), total=1500)),
    "ihl below 5": eth(0x0800, ipv4(17, udp(7, 9), ihl=3)),
    "ihl past the frame": eth(0x0800, ipv4(17, b"", ihl=15)[:30]),
    "version 6 in an IPv4 ethertype": eth(0x0800, ipv6(17, udp(7, 9))),
    "padding after the IP packet": eth(0x0800, ipv4(17, udp(7, 9))) + b"\xff" * 18,
    "vlan": eth(0x0800, ipv4(17, udp(7, 9)), tags=[(0x8100, 42)]),
    "qinq": eth(0x0800, ipv4(6, tcp(7, 9)), tags=[(0x88A8, 5), (0x8100, 42)]),
    "ipv6": eth(0x86DD, ipv6(17, udp(7, 9))),
    "arp": eth(0x0806, b"\x00" * 28),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_hash_as_the_parse(name):
    check(SHAPES[name])


def test_hash_symmetric():
    a = eth(0x0800, ipv4(17, udp(1234, 53), src=A4, dst=B4))
    b = eth(0x0800, ipv4(17, udp(53, 1234), src=B4, dst=A4))
    assert cluster_hash(a, len(a)) == cluster_hash(b, len(b))
    assert cluster_hash(a, len(a))[0] != 0


def test_hash_random_ipv4_headers():
    """Random bytes behind an IPv4 ethertype and version nibble: 3000 frames,
    each at its own length and one random shorter caplen."""
    rng = random.Random(14)
    for _ in range(3000):
        body = bytearray(rng.randbytes(rng.randrange(20, 80)))
        body[0] = 0x40 | (body[0] & 0x0F)
        if rng.random() < 0.5:
            body[2:4] = struct.pack("!H", rng.randrange(0, 90))
        if rng.random() < 0.7:
            body[9] = rng.choice((1, 6, 17, 132, 47))
        if rng.random() < 0.5:
            body[6:8] = b"\x40\x00"
        frame = eth(0x0800, bytes(body))
        for caplen in (len(frame), rng.randrange(0, len(frame) + 1)):
            want = parsed_hash(frame, caplen)
            assert cluster_hash(frame, caplen) == (want, 1 << (want % 3)), (frame.hex(), caplen)
