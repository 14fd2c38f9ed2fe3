"""pfring_parse_pkt on crafted frames: exact fields and offsets, and safety on
truncated and malformed input (it must never read past caplen)."""
import struct

import pytest

from pcap_pfring import ffi, lib

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def ipv4(src, dst, proto, payload, frag=0x4000, ihl=5, tos=0):
    opts = b"\x01" * (4 * (ihl - 5))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 20 + len(opts) + len(payload), 1, frag,
                      64, proto, 0, bytes(src), bytes(dst))
    return hdr + opts + payload


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, bytes(src), bytes(dst)) + payload


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq=7, ack=9, flags=0x12):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 1024, 0, 0)


def eth(ethertype, payload, tags=()):
    out = MAC_B + MAC_A
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def parse(frame, level=5, caplen=None, add_hash=1):
    buf = ffi.new("u_char[]", frame or b"\0")
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.caplen = len(frame) if caplen is None else caplen
    hdr.len = len(frame)
    rc = lib.pfring_parse_pkt(buf, hdr, level, 0, add_hash)
    _alive.append(hdr)       # the returned views point into hdr's memory
    return rc, hdr.extended_hdr.parsed_pkt, hdr.extended_hdr


_alive = []


A4, B4 = [10, 0, 0, 1], [10, 0, 0, 2]
A6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
B6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]


def v6(addr):
    return bytes(ffi.buffer(ffi.addressof(addr, "v6"), 16))


def test_ipv4_tcp():
    rc, pi, ext = parse(eth(0x0800, ipv4(A4, B4, 6, tcp(1234, 80), tos=0x10)))
    assert rc == 4
    assert bytes(pi.smac) == MAC_A and bytes(pi.dmac) == MAC_B
    assert (pi.eth_type, pi.vlan_id, pi.ip_version, pi.l3_proto, pi.ip_tos) == (0x0800, 0, 4, 6, 0x10)
    assert (pi.ip_src.v4, pi.ip_dst.v4) == (0x0A000001, 0x0A000002)
    assert (pi.l4_src_port, pi.l4_dst_port) == (1234, 80)
    assert (pi.offset.l3_offset, pi.offset.l4_offset, pi.offset.payload_offset) == (14, 34, 54)
    assert pi.tunnel.tunnel_id == lib.NO_TUNNEL_ID
    assert ext.pkt_hash == (0x0A000001 + 0x0A000002 + 6 + 1234 + 80) & 0xFFFFFFFF


def test_ipv4_options_udp_icmp():
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 17, udp(53, 5353), ihl=7)))
    assert rc == 4 and pi.offset.l4_offset == 14 + 28 and (pi.l4_src_port, pi.l4_dst_port) == (53, 5353)
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 1, bytes([8, 0, 0, 0, 0, 1, 0, 1]))))
    assert rc == 4 and (pi.icmp_type, pi.icmp_code) == (8, 0)


def test_vlan_and_qinq():
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2)), tags=[(0x8100, 0x2064)]))
    assert (rc, pi.vlan_id, pi.qinq_vlan_id, pi.offset.vlan_offset, pi.offset.l3_offset) == (4, 100, 0, 12, 18)
    rc, pi, _ = parse(eth(0x86DD, ipv6(A6, B6, 17, udp(1, 2)), tags=[(0x88A8, 10), (0x8100, 20)]))
    assert (rc, pi.vlan_id, pi.qinq_vlan_id, pi.eth_type, pi.offset.l3_offset) == (4, 10, 20, 0x86DD, 22)


def test_mpls():
    label = struct.pack("!I", (16 << 12) | (1 << 8) | 64)   # bottom of stack
    rc, pi, _ = parse(eth(0x8847, label + ipv4(A4, B4, 17, udp(7, 8))))
    assert (rc, pi.ip_version, pi.offset.l3_offset, pi.l4_dst_port) == (4, 4, 18, 8)


def test_ipv6_extension_headers():
    frag = struct.pack("!BBHI", 17, 0, 0, 99)                       # fragment, offset 0
    dest = struct.pack("!BB", 44, 0) + b"\0" * 6                    # dest options -> fragment
    hop = struct.pack("!BB", 60, 0) + b"\0" * 6                     # hop-by-hop -> dest options
    rc, pi, _ = parse(eth(0x86DD, ipv6(A6, B6, 0, hop + dest + frag + udp(4000, 53))))
    assert rc == 4
    assert (pi.ip_version, pi.l3_proto) == (6, 17)
    assert v6(pi.ip_src) == bytes(A6) and v6(pi.ip_dst) == bytes(B6)
    assert pi.offset.l4_offset == 14 + 40 + 24
    assert (pi.l4_src_port, pi.l4_dst_port) == (4000, 53)


def test_ipv6_later_fragment_has_no_ports():
    frag = struct.pack("!BBHI", 17, 0, 0x0010 | 1, 99)              # offset 2, more fragments
    rc, pi, ext = parse(eth(0x86DD, ipv6(A6, B6, 44, frag + b"\xff" * 16)))
    assert (pi.l4_src_port, pi.l4_dst_port) == (0, 0)
    assert ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET and ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG


@pytest.mark.parametrize("frag, more, later, ports", [
    (0x2000, True, False, (1, 2)),     # first fragment: ports present
    (0x2010, True, True, (0, 0)),      # middle fragment
    (0x0010, False, True, (0, 0)),     # last fragment
])
def test_ipv4_fragments(frag, more, later, ports):
    rc, pi, ext = parse(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2), frag=frag)))
    assert bool(ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG) is more
    assert bool(ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET) is later
    assert (pi.l4_src_port, pi.l4_dst_port) == ports


def test_tunnels():
    inner = ipv4([192, 168, 1, 1], [192, 168, 1, 2], 6, tcp(1111, 2222))
    gtp = struct.pack("!BBHI", 0x30, 0xFF, len(inner), 0xABCDEF01) + inner
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp))))
    assert rc == 5
    t = pi.tunnel
    assert (t.tunnel_id, t.tunneled_ip_version, t.tunneled_proto) == (0xABCDEF01, 4, 6)
    assert (t.tunneled_ip_src.v4, t.tunneled_ip_dst.v4) == (0xC0A80101, 0xC0A80102)
    assert (t.tunneled_l4_src_port, t.tunneled_l4_dst_port) == (1111, 2222)
    gre = struct.pack("!HHI", 0x2000, 0x0800, 77) + inner
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 47, gre)))
    assert (rc, pi.tunnel.tunnel_id, pi.tunnel.tunneled_l4_dst_port) == (5, 77, 2222)
    vx = struct.pack("!II", 0x08000000, 4242 << 8) + eth(0x0800, inner)
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vx))))
    assert (rc, pi.tunnel.tunnel_id, pi.tunnel.tunneled_l4_src_port) == (5, 4242, 1111)


def test_hash_is_symmetric():
    for fwd, rev in [
        (eth(0x0800, ipv4(A4, B4, 6, tcp(1000, 80))), eth(0x0800, ipv4(B4, A4, 6, tcp(80, 1000)))),
        (eth(0x86DD, ipv6(A6, B6, 17, udp(5, 6))), eth(0x86DD, ipv6(B6, A6, 17, udp(6, 5)))),
    ]:
        assert parse(fwd)[2].pkt_hash == parse(rev)[2].pkt_hash != 0


def test_levels():
    f = eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2)))
    rc, pi, _ = parse(f, level=2)
    assert rc == 2 and pi.ip_version == 0
    rc, pi, _ = parse(f, level=3)
    assert rc == 3 and pi.ip_version == 4 and pi.l4_src_port == 0


def test_arp_is_l2_only():
    rc, pi, _ = parse(eth(0x0806, b"\0" * 28))
    assert (rc, pi.eth_type, pi.ip_version) == (2, 0x0806, 0)


FRAMES = [
    eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2))),
    eth(0x86DD, ipv6(A6, B6, 0, struct.pack("!BB", 17, 0) + b"\0" * 6 + udp(1, 2))),
    eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, struct.pack("!BBHI", 0x32, 0xFF, 0, 1) + b"\0\0\0\0"))),
    eth(0x0800, ipv4(A4, B4, 47, struct.pack("!HHI", 0xA000, 0x0800, 5) + ipv4(A4, B4, 6, tcp(3, 4)))),
]


@pytest.mark.parametrize("frame", FRAMES)
def test_truncated_at_every_length(frame):
    # The bytes after caplen are poison: parsing must not look at them.
    for cut in range(len(frame) + 1):
        poisoned = frame[:cut] + b"\xff" * 64
        rc, pi, _ = parse(poisoned, caplen=cut)
        ref_rc, ref, _ = parse(frame[:cut] + b"\0" * 64, caplen=cut)
        assert rc == ref_rc, cut
        assert (pi.l4_src_port, pi.l4_dst_port, pi.ip_version) == \
            (ref.l4_src_port, ref.l4_dst_port, ref.ip_version), cut
        assert (rc == 0) == (cut < 14)


def test_malformed():
    rc, pi, _ = parse(eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2))[:0] + bytes([0x44]) + b"\0" * 40))
    assert rc == 2 and pi.ip_version == 0                  # IHL 4 < 5
    short6 = eth(0x86DD, ipv6(A6, B6, 6, b"")[:30])
    rc, pi, _ = parse(short6)
    assert rc == 2
    assert lib.pfring_parse_pkt(ffi.NULL, ffi.new("struct pfring_pkthdr *"), 5, 0, 0) == 0


def test_print_parsed_packet():
    f = eth(0x0800, ipv4(A4, B4, 6, tcp(1234, 80)))
    buf = ffi.new("char[]", 512)
    n = lib.pfring_print_pkt(buf, 512, f, len(f), len(f))
    text = ffi.string(buf).decode()
    assert n == len(text)
    assert text.startswith("[02:00:00:00:00:01 -> 02:00:00:00:00:02] [IPv4][10.0.0.1:1234 -> 10.0.0.2:80] [l3_proto=TCP]")
    assert "[caplen=54][len=54][eth_offset=0][l3_offset=14][l4_offset=34][payload_offset=54]" in text
    small = ffi.new("char[]", 10)
    lib.pfring_print_pkt(small, 10, f, len(f), len(f))
    assert len(ffi.string(small)) == 9
    arp = eth(0x0806, b"\0" * 28)
    lib.pfring_print_pkt(buf, 512, arp, len(arp), len(arp))
    assert ffi.string(buf).decode() == "[02:00:00:00:00:01 -> 02:00:00:00:00:02][eth_type=0x0806][caplen=42][len=42]"
