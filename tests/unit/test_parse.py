"""pfring_parse_pkt, the printing helpers and pfring_format_numbers on
hand-built frames: exact fields and offsets at every layer, tunnels, the
symmetric hash, and safety on truncated and malformed input (the parser must
never read a byte past caplen: frames are also placed right before a page
that cannot be read)."""
import ctypes
import mmap
import random
import re
import struct
import time

import pytest

from pcap_pfring._ffi import ffi, lib

NO_TUNNEL = 0xFFFFFFFF
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
A4, B4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
C4, D4 = bytes([192, 168, 1, 1]), bytes([192, 168, 1, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")
C6 = bytes.fromhex("fe800000000000000000000000000abc")
D6 = bytes.fromhex("ff020000000000000000000000000001")


# --------------------------------------------------------------------------
# Frame builders

def u32(addr4):
    return struct.unpack("!I", addr4)[0]


def eth(ethertype, payload, tags=(), dst=MAC_B, src=MAC_A):
    out = dst + src
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, frag=0x4000, ihl=5, tos=0, total=None):
    opts = b"\x01" * (4 * max(ihl - 5, 0))
    if total is None:
        total = 20 + len(opts) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, total, 1, frag, 64, proto, 0, src, dst)
    return hdr + opts + payload


def ipv6(src, dst, nh, payload, tc=0, plen=None):
    first = (6 << 28) | (tc << 20) | 0x12345
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", first, plen, nh, 64, src, dst) + payload


def ext6(nh, units=0):
    """Hop-by-hop, routing or destination options: 8 * (units + 1) bytes."""
    return struct.pack("!BB", nh, units) + b"\x00" * (8 * (units + 1) - 2)


def frag6(nh, offset=0, more=False, ident=99):
    return struct.pack("!BBHI", nh, 0, (offset << 3) | int(more), ident)


def ah6(nh, units):
    """Authentication header: 4 * (units + 2) bytes."""
    return struct.pack("!BBHII", nh, units, 0, 0x100, 1) + b"\x00" * (4 * (units + 2) - 12)


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq=7, ack=9, flags=0x12, options=b"", payload=b""):
    doff = 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 1024, 0, 0) + \
        options + payload


def sctp(sport, dport):
    return struct.pack("!HHII", sport, dport, 0xDEADBEEF, 0) + b"\x00" * 16


def icmp(typ, code):
    return struct.pack("!BBHHH", typ, code, 0, 1, 1) + b"ping"


def mpls(*labels, bottom_last=True):
    out = b""
    for i, label in enumerate(labels):
        bos = int(bottom_last and i == len(labels) - 1)
        out += struct.pack("!I", (label << 12) | (bos << 8) | 64)
    return out


def gtp(teid, inner=b"", msg=0xFF, flags=0x30, opt=b""):
    body = opt + inner
    return struct.pack("!BBHI", flags, msg, len(body), teid) + body


def gre(proto, payload, key=None, csum=False, seq=None, flags=0):
    if csum:
        flags |= 0x8000
    if key is not None:
        flags |= 0x2000
    if seq is not None:
        flags |= 0x1000
    out = struct.pack("!HH", flags, proto)
    if csum:
        out += b"\x00" * 4
    if key is not None:
        out += struct.pack("!I", key)
    if seq is not None:
        out += struct.pack("!I", seq)
    return out + payload


def vxlan(vni, inner_frame, flags=0x08):
    return struct.pack("!II", flags << 24, vni << 8) + inner_frame


# --------------------------------------------------------------------------
# Calling the library

class Parsed:
    """Keeps the packet and header memory alive while fields are read."""

    def __init__(self, frame, level=5, caplen=None, add_hash=1, add_timestamp=0, hdr=None, pkt=None):
        self.buf = pkt if pkt is not None else ffi.new("u_char[]", frame or b"\0")
        self.hdr = hdr if hdr is not None else ffi.new("struct pfring_pkthdr *")
        self.hdr.caplen = len(frame) if caplen is None else caplen
        self.hdr.len = len(frame)
        self.rc = lib.pfring_parse_pkt(self.buf, self.hdr, level, add_timestamp, add_hash)
        self.ext = self.hdr.extended_hdr
        self.pi = self.hdr.extended_hdr.parsed_pkt
        self.tun = self.pi.tunnel
        self.off = self.pi.offset

    @property
    def hash(self):
        return self.ext.pkt_hash

    def ports(self):
        return self.pi.l4_src_port, self.pi.l4_dst_port

    def offsets(self):
        o = self.off
        return o.l3_offset, o.l4_offset, o.payload_offset

    def inner_ports(self):
        return self.tun.tunneled_l4_src_port, self.tun.tunneled_l4_dst_port


def tcp_fields(pi):
    """(flags, seq_num, ack_num): the binding does not declare the anonymous
    tcp struct, so it is read from its place right after icmp_code."""
    start = ffi.offsetof("struct pkt_parsing_info", "icmp_code") + 1
    assert ffi.offsetof("struct pkt_parsing_info", "tunnel") == start + 9
    raw = ffi.buffer(ffi.addressof(pi), ffi.sizeof("struct pkt_parsing_info"))[start:start + 9]
    return struct.unpack("=BII", raw)


def v6(addr):
    return bytes(ffi.buffer(ffi.addressof(addr, "v6"), 16))


def words6(addr):
    """The four 32-bit words of an IPv6 address as stored in memory."""
    return sum(struct.unpack("=4I", addr))


def sum_hash(*parts):
    return sum(parts) & 0xFFFFFFFF


# --------------------------------------------------------------------------
# Ethernet, VLAN, MPLS

def test_ipv4_tcp_every_field():
    seg = tcp(1234, 80, seq=0x01020304, ack=0xA0B0C0D0, flags=0x18, payload=b"GET /")
    p = Parsed(eth(0x0800, ipv4(A4, B4, 6, seg, tos=0x10)))
    assert p.rc == 4
    assert bytes(p.pi.smac) == MAC_A and bytes(p.pi.dmac) == MAC_B
    assert (p.pi.eth_type, p.pi.vlan_id, p.pi.qinq_vlan_id) == (0x0800, 0, 0)
    assert (p.pi.ip_version, p.pi.l3_proto, p.pi.ip_tos) == (4, 6, 0x10)
    assert (p.pi.ip_src.v4, p.pi.ip_dst.v4) == (0x0A000001, 0x0A000002)
    assert p.ports() == (1234, 80)
    assert tcp_fields(p.pi) == (0x18, 0x01020304, 0xA0B0C0D0)
    assert (p.off.eth_offset, p.off.vlan_offset) == (0, 0)
    assert p.offsets() == (14, 34, 54)
    assert p.tun.tunnel_id == NO_TUNNEL and p.tun.tunneled_ip_version == 0
    assert p.pi.last_matched_rule_id == -1
    assert p.ext.flags & (lib.PKT_FLAGS_IP_MORE_FRAG | lib.PKT_FLAGS_IP_FRAG_OFFSET) == 0
    assert p.hash == sum_hash(0x0A000001, 0x0A000002, 6, 1234, 80)


def test_tcp_options_move_the_payload():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2, options=b"\x01" * 12, payload=b"data"))))
    assert p.rc == 4 and p.offsets() == (14, 34, 34 + 32)


def test_ipv4_options_udp():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(53, 5353), ihl=7)))
    assert p.rc == 4 and p.ports() == (53, 5353)
    assert p.offsets() == (14, 42, 50)


def test_icmp_and_sctp():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 1, icmp(8, 0))))
    assert (p.rc, p.pi.icmp_type, p.pi.icmp_code, p.ports()) == (4, 8, 0, (0, 0))
    assert p.offsets() == (14, 34, 42)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 1, icmp(3, 13))))
    assert (p.pi.icmp_type, p.pi.icmp_code) == (3, 13)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 132, sctp(2905, 2944))))
    assert (p.rc, p.pi.l3_proto, p.ports(), p.offsets()) == (4, 132, (2905, 2944), (14, 34, 46))


def test_unknown_l4_protocol_is_level_3():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 50, b"\x00\x00\x10\x00" * 4)))       # ESP
    assert (p.rc, p.pi.l3_proto, p.ports(), p.offsets()) == (3, 50, (0, 0), (14, 34, 34))


def test_ethernet_padding_is_not_parsed_as_l4():
    # An IPv4 packet of 20 bytes (protocol TCP, no TCP header) padded to 60.
    frame = eth(0x0800, ipv4(A4, B4, 6, b""))
    frame += b"\xAA" * (60 - len(frame))
    p = Parsed(frame)
    assert (p.rc, p.ports(), tcp_fields(p.pi), p.offsets()) == (3, (0, 0), (0, 0, 0), (14, 34, 0))
    # A short UDP datagram in a padded frame keeps its ports.
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(7, 9, b"")))
    p = Parsed(frame + b"\x00" * (60 - len(frame)))
    assert (p.rc, p.ports()) == (4, (7, 9))


def test_total_length_zero_means_unknown():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(7, 9), total=0)))
    assert (p.rc, p.ports()) == (4, (7, 9))


def test_levels():
    f = eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2)))
    p = Parsed(f, level=2)
    assert (p.rc, p.pi.eth_type, p.pi.ip_version, p.off.l3_offset) == (2, 0x0800, 0, 14)
    assert p.hash == 0
    p = Parsed(f, level=3)
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto, p.ports(), p.offsets()) == (3, 4, 6, (0, 0), (14, 34, 0))
    assert p.hash == sum_hash(u32(A4), u32(B4), 6)
    p = Parsed(f, level=4)
    assert (p.rc, p.ports()) == (4, (1, 2))


def test_non_ip_frames_are_l2_only():
    p = Parsed(eth(0x0806, b"\0" * 28))
    assert (p.rc, p.pi.eth_type, p.pi.ip_version, p.off.l3_offset) == (2, 0x0806, 0, 14)
    p = Parsed(eth(0x0800, ipv6(A6, B6, 17, udp(1, 2))))            # wrong version nibble
    assert (p.rc, p.pi.ip_version) == (2, 0)


@pytest.mark.parametrize("tags, vlan, qinq, l3", [
    ([(0x8100, 0xE064)], 100, 0, 18),                               # PCP bits are not the id
    ([(0x88A8, 10), (0x8100, 20)], 10, 20, 22),
    ([(0x9100, 4095), (0x8100, 1)], 4095, 1, 22),
    ([(0x8100, 1), (0x8100, 2), (0x8100, 3)], 1, 2, 26),
    ([(0x88A8, 1), (0x8100, 2), (0x8100, 3), (0x8100, 4)], 1, 2, 30),
])
def test_vlan_tags(tags, vlan, qinq, l3):
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2)), tags=tags))
    assert (p.rc, p.pi.vlan_id, p.pi.qinq_vlan_id) == (4, vlan, qinq)
    assert (p.pi.eth_type, p.off.vlan_offset, p.off.l3_offset, p.off.l4_offset) == (0x0800, 12, l3, l3 + 20)
    assert p.hash == sum_hash(vlan, u32(A4), u32(B4), 17, 1, 2)


def test_vlan_ipv6_qinq():
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 17, udp(1, 2)), tags=[(0x88A8, 10), (0x8100, 20)]))
    assert (p.rc, p.pi.vlan_id, p.pi.qinq_vlan_id, p.pi.eth_type, p.off.l3_offset) == (4, 10, 20, 0x86DD, 22)


def test_too_many_vlan_tags_stop_at_l2():
    tags = [(0x8100, i) for i in range(1, 6)]
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2)), tags=tags))
    assert (p.rc, p.pi.vlan_id, p.pi.qinq_vlan_id, p.pi.eth_type, p.off.l3_offset) == (2, 1, 2, 0x8100, 30)


def test_cut_vlan_tag():
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(1, 2)), tags=[(0x8100, 7)])
    p = Parsed(frame, caplen=16)
    assert (p.rc, p.pi.vlan_id, p.pi.eth_type, p.off.l3_offset) == (2, 0, 0x8100, 14)


@pytest.mark.parametrize("ethertype, labels, inner, et, l3", [
    (0x8847, [16], ipv4(A4, B4, 17, udp(7, 8)), 0x0800, 18),
    (0x8848, [16, 17, 18], ipv6(A6, B6, 17, udp(7, 8)), 0x86DD, 26),
    (0x8847, list(range(100, 110)), ipv4(A4, B4, 17, udp(7, 8)), 0x0800, 54),
])
def test_mpls(ethertype, labels, inner, et, l3):
    p = Parsed(eth(ethertype, mpls(*labels) + inner))
    assert (p.rc, p.pi.eth_type, p.off.l3_offset, p.off.l4_offset, p.ports()) == (4, et, l3, l3 + len(inner) - 16, (7, 8))


def test_mpls_after_vlan():
    p = Parsed(eth(0x8847, mpls(1) + ipv4(A4, B4, 6, tcp(5, 6)), tags=[(0x8100, 33)]))
    assert (p.rc, p.pi.vlan_id, p.pi.eth_type, p.off.l3_offset, p.ports()) == (4, 33, 0x0800, 22, (5, 6))


def test_mpls_without_ip():
    deep = eth(0x8847, mpls(*range(1, 12), bottom_last=False) + ipv4(A4, B4, 6, tcp(5, 6)))
    p = Parsed(deep)                                                 # no bottom within 10 labels
    assert (p.rc, p.pi.eth_type, p.off.l3_offset) == (2, 0x8847, 14)
    pw = eth(0x8847, mpls(1) + b"\x00\x00\x00\x00" + eth(0x0800, ipv4(A4, B4, 6, tcp(5, 6))))
    p = Parsed(pw)                                                   # pseudowire control word
    assert (p.rc, p.pi.eth_type, p.off.l3_offset) == (2, 0x8847, 18)


# --------------------------------------------------------------------------
# IPv4 fragments and malformed headers

@pytest.mark.parametrize("frag, more, later, ports, rc", [
    (0x2000, True, False, (1, 2), 4),     # first fragment: ports present
    (0x2010, True, True, (0, 0), 3),      # middle fragment
    (0x0010, False, True, (0, 0), 3),     # last fragment
    (0x4000, False, False, (1, 2), 4),    # DF, not a fragment
])
def test_ipv4_fragments(frag, more, later, ports, rc):
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2), frag=frag)))
    assert bool(p.ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG) is more
    assert bool(p.ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET) is later
    assert (p.rc, p.ports(), p.pi.l3_proto, p.off.l4_offset) == (rc, ports, 17, 34)
    if later:
        assert p.off.payload_offset == 34


@pytest.mark.parametrize("ihl", [0, 1, 4])
def test_ipv4_ihl_below_5_is_rejected(ihl):
    frame = eth(0x0800, bytes([0x40 | ihl]) + ipv4(A4, B4, 6, tcp(1, 2))[1:])
    p = Parsed(frame)
    assert (p.rc, p.pi.ip_version, p.pi.eth_type, p.off.l3_offset, p.off.l4_offset) == (2, 0, 0x0800, 14, 0)


def test_ipv4_total_length_below_header_is_rejected():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2), total=19)))
    assert (p.rc, p.pi.ip_version) == (2, 0)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2), ihl=6, total=22)))
    assert (p.rc, p.pi.ip_version) == (2, 0)


def test_ipv4_cut_options_keep_the_addresses():
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(1, 2), ihl=15))
    p = Parsed(frame, caplen=14 + 40)
    assert (p.rc, p.pi.ip_version, p.pi.ip_src.v4, p.pi.l3_proto) == (3, 4, u32(A4), 17)
    assert (p.off.l4_offset, p.ports()) == (0, (0, 0))


def test_tcp_data_offset_below_5():
    seg = bytearray(tcp(1, 2))
    seg[12] = 0x20
    p = Parsed(eth(0x0800, ipv4(A4, B4, 6, bytes(seg))))
    assert (p.rc, p.ports(), p.off.payload_offset) == (4, (1, 2), 54)


# --------------------------------------------------------------------------
# IPv6

def test_ipv6_udp_and_traffic_class():
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 17, udp(4000, 53), tc=0xB8)))
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto, p.pi.ip_tos) == (4, 6, 17, 0xB8)
    assert v6(p.pi.ip_src) == A6 and v6(p.pi.ip_dst) == B6
    assert p.offsets() == (14, 54, 62) and p.ports() == (4000, 53)


def test_icmpv6():
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 58, icmp(128, 0))))
    assert (p.rc, p.pi.l3_proto, p.pi.icmp_type, p.pi.icmp_code, p.offsets()) == (4, 58, 128, 0, (14, 54, 62))


def test_ipv6_hop_dest_fragment_chain():
    chain = ext6(60) + ext6(44, units=1) + frag6(17, offset=0, more=True)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, chain + udp(4000, 53))))
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto) == (4, 6, 17)
    assert p.offsets() == (14, 54 + 8 + 16 + 8, 54 + 32 + 8)
    assert p.ports() == (4000, 53)
    assert p.ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG
    assert not p.ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET


def test_ipv6_routing_and_ah():
    chain = ext6(51, units=2) + ah6(6, units=4)                     # 24 + 24 bytes
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 43, chain + tcp(22, 5000))))
    assert (p.rc, p.pi.l3_proto, p.ports()) == (4, 6, (22, 5000))
    assert p.offsets() == (14, 54 + 48, 54 + 48 + 20)


def test_ipv6_later_fragment_has_no_ports():
    # The fragment data starts with bytes that look like a header: not read.
    data = ext6(17) + udp(1, 2)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, ext6(44) + frag6(60, offset=185, more=True) + data)))
    assert (p.rc, p.pi.l3_proto, p.ports()) == (3, 60, (0, 0))
    assert p.offsets() == (14, 70, 70)
    assert p.ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET and p.ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 44, frag6(17, offset=2) + b"\xff" * 16)))
    assert (p.rc, p.pi.l3_proto, p.ports()) == (3, 17, (0, 0))
    assert p.ext.flags & lib.PKT_FLAGS_IP_FRAG_OFFSET and not p.ext.flags & lib.PKT_FLAGS_IP_MORE_FRAG


def test_ipv6_too_many_extension_headers():
    chain = b"".join(ext6(0) for _ in range(8)) + ext6(17)         # nine hop-by-hop headers
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, chain + udp(1, 2))))
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto, p.off.l4_offset, p.ports()) == (3, 6, 0, 0, (0, 0))
    assert v6(p.pi.ip_src) == A6


def test_ipv6_payload_shorter_than_its_headers():
    body = ext6(17) + udp(1, 2)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, body, plen=4)))          # hop-by-hop does not fit
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto, p.off.l4_offset, p.ports()) == (3, 6, 0, 0, (0, 0))
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, body, plen=8)))          # the UDP header does not
    assert (p.rc, p.pi.l3_proto, p.ports()) == (3, 17, (0, 0))
    assert p.offsets() == (14, 62, 0)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 0, body, plen=0)))          # 0: length unknown
    assert (p.rc, p.ports()) == (4, (1, 2))


def test_ipv6_cut_extension_header():
    frame = eth(0x86DD, ipv6(A6, B6, 0, ext6(17, units=1) + udp(1, 2)))
    p = Parsed(frame, caplen=14 + 40 + 10)
    assert (p.rc, p.pi.ip_version, p.pi.l3_proto, p.off.l4_offset) == (3, 6, 0, 0)
    assert v6(p.pi.ip_dst) == B6


def test_ipv6_header_cut_short():
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 6, b"")[:30]))
    assert (p.rc, p.pi.ip_version, p.pi.eth_type) == (2, 0, 0x86DD)


# --------------------------------------------------------------------------
# Tunnels

INNER4 = ipv4(C4, D4, 6, tcp(1111, 2222))
INNER6 = ipv6(C6, D6, 17, udp(3333, 4444))


def check_inner4(p):
    t = p.tun
    assert (t.tunneled_ip_version, t.tunneled_proto) == (4, 6)
    assert (t.tunneled_ip_src.v4, t.tunneled_ip_dst.v4) == (0xC0A80101, 0xC0A80102)
    assert p.inner_ports() == (1111, 2222)


def check_inner6(p):
    t = p.tun
    assert (t.tunneled_ip_version, t.tunneled_proto) == (6, 17)
    assert v6(t.tunneled_ip_src) == C6 and v6(t.tunneled_ip_dst) == D6
    assert p.inner_ports() == (3333, 4444)


def test_gtp_u():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp(0xABCDEF01, INNER4)))))
    assert p.rc == 5 and p.tun.tunnel_id == 0xABCDEF01
    check_inner4(p)
    # The outer packet is unchanged.
    assert (p.pi.l3_proto, p.ports(), p.offsets()) == (17, (2152, 2152), (14, 34, 42))
    assert p.hash == sum_hash(0xC0A80101, 0xC0A80102, 6, 1111, 2222)


def test_gtp_u_optional_fields_and_extension_headers():
    seq_only = gtp(7, INNER4, flags=0x32, opt=b"\x12\x34\x00\x00")
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(40000, 2152, seq_only))))
    assert (p.rc, p.tun.tunnel_id) == (5, 7)
    check_inner4(p)
    # E flag: a PDU session container (4 bytes) then an 8-byte header.
    exts = b"\x00\x00\x00\x85" + b"\x01\x10\x01\x40" + b"\x02" + b"\x00" * 6 + b"\x00"
    with_ext = gtp(8, INNER6, flags=0x34, opt=exts)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 17, udp(2152, 2152, with_ext))))
    assert (p.rc, p.tun.tunnel_id) == (5, 8)
    check_inner6(p)


def test_gtp_bad_extension_header_is_no_tunnel():
    bad = gtp(8, INNER4, flags=0x34, opt=b"\x00\x00\x00\x85" + b"\x00\x00\x00\x00")   # length 0
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, bad))))
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (4, NO_TUNNEL, 0)
    gtp_prime = gtp(9, INNER4, flags=0x20)                                     # PT = 0
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp_prime))))
    assert (p.rc, p.tun.tunnel_id) == (4, NO_TUNNEL)


def test_gtp_signalling_has_a_teid_but_no_inner_packet():
    echo = gtp(0x11, b"\x00" * 4, msg=1, flags=0x32)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, echo))))
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (5, 0x11, 0)
    assert p.hash == sum_hash(u32(A4), u32(B4), 17, 2152, 2152)
    create = gtp(0x22, b"\x00" * 20, msg=0x10)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2123, 2123, create))))
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (5, 0x22, 0)
    v2 = struct.pack("!BBHI", 0x48, 32, 12, 0x33) + b"\x00" * 8                # GTPv2-C, T set
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2123, 2123, v2))))
    assert (p.rc, p.tun.tunnel_id) == (5, 0x33)
    v2_echo = struct.pack("!BBHI", 0x40, 1, 4, 0x100) + b"\x00" * 4            # no TEID
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2123, 2123, v2_echo))))
    assert (p.rc, p.tun.tunnel_id) == (5, NO_TUNNEL)


def test_gre_with_key():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=77))))
    assert (p.rc, p.pi.l3_proto, p.tun.tunnel_id, p.ports()) == (5, 47, 77, (0, 0))
    check_inner4(p)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=78, csum=True, seq=5))))
    assert (p.rc, p.tun.tunnel_id) == (5, 78)
    check_inner4(p)


def test_gre_without_key_and_over_ipv6():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x86DD, INNER6))))
    assert (p.rc, p.tun.tunnel_id) == (5, NO_TUNNEL)
    check_inner6(p)
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 47, gre(0x0800, INNER4, key=1))))
    assert (p.rc, p.tun.tunnel_id) == (5, 1)
    check_inner4(p)


def test_gre_transparent_ethernet_bridging():
    inner = eth(0x0800, INNER4, tags=[(0x8100, 5)])
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x6558, inner, key=0x1234))))
    assert (p.rc, p.tun.tunnel_id, p.pi.vlan_id) == (5, 0x1234, 0)
    check_inner4(p)


@pytest.mark.parametrize("payload", [
    gre(0x880B, b"\x00" * 32, flags=0x3001),            # enhanced GRE (version 1, PPTP)
    gre(0x0800, INNER4, flags=0x4000),                  # source routing
])
def test_gre_not_parsed(payload):
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, payload)))
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (3, NO_TUNNEL, 0)


def test_gre_in_a_later_fragment_is_not_parsed():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=3), frag=0x0020)))
    assert (p.rc, p.tun.tunnel_id) == (3, NO_TUNNEL)


def test_vxlan():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(4242, eth(0x0800, INNER4))))))
    assert (p.rc, p.tun.tunnel_id, p.ports()) == (5, 4242, (5000, 4789))
    check_inner4(p)
    inner = eth(0x86DD, INNER6, tags=[(0x8100, 12)])
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(0xFFFFFF, inner)))))
    assert (p.rc, p.tun.tunnel_id) == (5, 0xFFFFFF)
    check_inner6(p)


def test_vxlan_needs_the_i_flag_and_the_destination_port():
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(1, eth(0x0800, INNER4), flags=0))))
    assert Parsed(frame).rc == 4
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(4789, 5000, vxlan(1, eth(0x0800, INNER4)))))
    assert Parsed(frame).tun.tunnel_id == NO_TUNNEL


def test_vxlan_with_non_ip_inside():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(9, eth(0x0806, b"\0" * 28))))))
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (5, 9, 0)
    assert p.hash == sum_hash(u32(A4), u32(B4), 17, 5000, 4789)


def test_tunnels_need_level_5():
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp(5, INNER4)))), level=4)
    assert (p.rc, p.tun.tunnel_id, p.tun.tunneled_ip_version) == (4, NO_TUNNEL, 0)
    assert p.hash == sum_hash(u32(A4), u32(B4), 17, 2152, 2152)


def test_inner_fragment_has_no_inner_ports():
    inner = ipv4(C4, D4, 17, udp(1, 2), frag=0x0040)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, inner))))
    assert (p.rc, p.tun.tunneled_proto, p.inner_ports()) == (5, 17, (0, 0))
    assert p.ext.flags & (lib.PKT_FLAGS_IP_MORE_FRAG | lib.PKT_FLAGS_IP_FRAG_OFFSET) == 0


# --------------------------------------------------------------------------
# The hash

def reverse_pairs():
    yield (eth(0x0800, ipv4(A4, B4, 6, tcp(1000, 80))),
           eth(0x0800, ipv4(B4, A4, 6, tcp(80, 1000))))
    yield (eth(0x86DD, ipv6(A6, B6, 17, udp(5, 6)), tags=[(0x8100, 3)]),
           eth(0x86DD, ipv6(B6, A6, 17, udp(6, 5)), tags=[(0x8100, 3)]))
    yield (eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp(1, INNER4)))),
           eth(0x0800, ipv4(B4, A4, 17, udp(2152, 2152, gtp(2, ipv4(D4, C4, 6, tcp(2222, 1111)))))))
    yield (eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(7, eth(0x86DD, INNER6))))),
           eth(0x0800, ipv4(B4, A4, 17, udp(6000, 4789, vxlan(7, eth(0x86DD, ipv6(D6, C6, 17, udp(4444, 3333))))))))
    yield (eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=5))),
           eth(0x0800, ipv4(B4, A4, 47, gre(0x0800, ipv4(D4, C4, 6, tcp(2222, 1111)), key=5))))


@pytest.mark.parametrize("fwd, rev", list(reverse_pairs()))
def test_hash_is_symmetric(fwd, rev):
    a, b = Parsed(fwd), Parsed(rev)
    assert a.rc == b.rc
    assert a.hash == b.hash != 0


def test_hash_values():
    p = Parsed(eth(0x86DD, ipv6(A6, B6, 17, udp(5, 6)), tags=[(0x8100, 3)]))
    assert p.hash == sum_hash(3, words6(A6), words6(B6), 17, 5, 6)
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(7, eth(0x86DD, INNER6))))))
    assert p.hash == sum_hash(words6(C6), words6(D6), 17, 3333, 4444)
    big = bytes([255] * 4)                                          # the sum wraps
    p = Parsed(eth(0x0800, ipv4(big, big, 6, tcp(65535, 65535))))
    assert p.hash == sum_hash(2 * 0xFFFFFFFF, 6, 2 * 65535)


def test_hash_only_when_asked():
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.extended_hdr.pkt_hash = 1234
    Parsed(eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2))), add_hash=0, hdr=hdr)
    assert hdr.extended_hdr.pkt_hash == 1234


# --------------------------------------------------------------------------
# Header handling, timestamps, NULL arguments

def test_header_is_reset_between_packets():
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.extended_hdr.flags = lib.PKT_FLAGS_VLAN_HWACCEL
    p = Parsed(eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp(5, INNER4)), frag=0x2000)), hdr=hdr)
    assert p.rc == 5 and hdr.extended_hdr.flags & lib.PKT_FLAGS_IP_MORE_FRAG
    p = Parsed(eth(0x0806, b"\0" * 28), hdr=hdr)
    assert p.rc == 2
    assert hdr.extended_hdr.flags == lib.PKT_FLAGS_VLAN_HWACCEL
    assert (p.pi.ip_version, p.pi.l3_proto, p.ports(), p.offsets()) == (0, 0, (0, 0), (14, 0, 0))
    assert (p.tun.tunnel_id, p.tun.tunneled_ip_version, p.pi.last_matched_rule_id) == (NO_TUNNEL, 0, -1)


def test_timestamp_added_only_when_missing():
    before = time.time_ns()
    p = Parsed(eth(0x0806, b"\0" * 28), add_timestamp=1)
    after = time.time_ns()
    assert before <= p.ext.timestamp_ns <= after
    assert p.hdr.ts.tv_sec == p.ext.timestamp_ns // 10**9
    assert p.hdr.ts.tv_usec == p.ext.timestamp_ns % 10**9 // 1000
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.ts.tv_sec, hdr.ts.tv_usec, hdr.extended_hdr.timestamp_ns = 100, 5, 100 * 10**9 + 5000
    Parsed(eth(0x0806, b"\0" * 28), add_timestamp=1, hdr=hdr)
    assert (hdr.ts.tv_sec, hdr.ts.tv_usec, hdr.extended_hdr.timestamp_ns) == (100, 5, 100 * 10**9 + 5000)
    p = Parsed(eth(0x0806, b"\0" * 28), add_timestamp=0)
    assert (p.hdr.ts.tv_sec, p.ext.timestamp_ns) == (0, 0)


def test_null_arguments():
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.extended_hdr.parsed_pkt.l4_src_port = 9
    hdr.caplen = 100
    assert lib.pfring_parse_pkt(ffi.NULL, hdr, 5, 0, 0) == 0
    assert hdr.extended_hdr.parsed_pkt.l4_src_port == 0
    assert lib.pfring_parse_pkt(ffi.new("u_char[]", 64), ffi.NULL, 5, 1, 1) == 0
    buf = ffi.new("char[]", b"junk")
    assert lib.pfring_print_parsed_pkt(ffi.NULL, 10, ffi.NULL, hdr) == 0
    assert lib.pfring_print_parsed_pkt(buf, 5, ffi.NULL, ffi.NULL) == 0 and ffi.string(buf) == b""
    buf = ffi.new("char[]", b"junk")
    assert lib.pfring_print_pkt(buf, 5, ffi.NULL, 60, 60) == 0 and ffi.string(buf) == b""
    assert lib.pfring_print_pkt(ffi.NULL, 0, b"x", 1, 1) == 0
    assert lib.pfring_format_numbers(1.0, ffi.NULL, 10, 0) == ffi.NULL


# --------------------------------------------------------------------------
# Truncated frames: every length, poisoned tails, a guard page

FRAMES = {
    "ipv4-tcp": eth(0x0800, ipv4(A4, B4, 6, tcp(1, 2))),
    "vlan-ipv6-ext": eth(0x86DD, ipv6(A6, B6, 0, ext6(60) + ext6(44, units=1) + frag6(17) + udp(1, 2)),
                         tags=[(0x88A8, 1), (0x8100, 2)]),
    "mpls-ipv4-options": eth(0x8847, mpls(1, 2) + ipv4(A4, B4, 17, udp(1, 2), ihl=6)),
    "gtp-ext-ipv6": eth(0x0800, ipv4(A4, B4, 17, udp(2152, 2152, gtp(
        3, INNER6, flags=0x36, opt=b"\x00\x01\x00\x85" + b"\x01\x10\x01\x00")))),
    "gre-key-csum-seq": eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=5, csum=True, seq=1))),
    "gre-teb": eth(0x86DD, ipv6(A6, B6, 47, gre(0x6558, eth(0x0800, INNER4, tags=[(0x8100, 4)])))),
    "vxlan": eth(0x0800, ipv4(A4, B4, 17, udp(5000, 4789, vxlan(7, eth(0x86DD, INNER6))))),
    "sctp": eth(0x0800, ipv4(A4, B4, 132, sctp(1, 2))),
    "icmpv6": eth(0x86DD, ipv6(A6, B6, 58, icmp(135, 0))),
}

FIELDS = ("eth_type", "vlan_id", "qinq_vlan_id", "ip_version", "l3_proto", "ip_tos",
          "l4_src_port", "l4_dst_port", "icmp_type", "icmp_code")


def snapshot(p):
    pi, t = p.pi, p.tun
    return (p.rc, p.hash, p.ext.flags, bytes(pi.smac), bytes(pi.dmac),
            tuple(getattr(pi, f) for f in FIELDS),
            v6(pi.ip_src), v6(pi.ip_dst), tcp_fields(pi),
            (p.off.vlan_offset, p.off.l3_offset, p.off.l4_offset, p.off.payload_offset),
            (t.tunnel_id, t.tunneled_ip_version, t.tunneled_proto, v6(t.tunneled_ip_src),
             v6(t.tunneled_ip_dst), t.tunneled_l4_src_port, t.tunneled_l4_dst_port))


class GuardedBuffer:
    """A page of memory followed by one that cannot be read: a frame placed
    at the end of the first page makes any read past it a crash."""

    def __init__(self):
        page = mmap.PAGESIZE
        self.page = page
        self.mem = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.mem))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        if libc.mprotect(self.addr + page, page, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")

    def place(self, data):
        start = self.page - len(data)
        self.mem[start:self.page] = data
        return ffi.cast("u_char *", self.addr + start)


@pytest.fixture(scope="module")
def guarded():
    return GuardedBuffer()


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_truncated_at_every_length(name, guarded):
    frame = FRAMES[name]
    full = Parsed(frame)
    assert full.rc >= 4
    previous = 0
    for cut in range(len(frame) + 1):
        # Only the first cut bytes matter: poison after them changes nothing,
        ref = Parsed(frame[:cut] + b"\0" * 64, caplen=cut)
        poisoned = Parsed(frame[:cut] + b"\xff" * 64, caplen=cut)
        assert snapshot(poisoned) == snapshot(ref), cut
        # and there is nothing to read after them.
        edge = Parsed(frame[:cut], caplen=cut, pkt=guarded.place(frame[:cut]))
        assert snapshot(edge) == snapshot(ref), cut
        assert (ref.rc == 0) == (cut < 14), cut
        assert previous <= ref.rc <= full.rc, cut
        previous = ref.rc
    assert snapshot(Parsed(frame, pkt=guarded.place(frame))) == snapshot(full)


def test_truncation_levels_of_a_tcp_frame():
    frame = FRAMES["ipv4-tcp"]
    levels = [Parsed(frame, caplen=cut).rc for cut in range(len(frame) + 1)]
    assert levels == [0] * 14 + [2] * 20 + [3] * 20 + [4]


def test_truncation_levels_of_a_gre_frame():
    frame = eth(0x0800, ipv4(A4, B4, 47, gre(0x0800, INNER4, key=5)))
    seen = {}
    for cut in range(len(frame) + 1):
        p = Parsed(frame, caplen=cut)
        seen.setdefault(p.rc, cut)
        if cut >= 42:
            assert p.tun.tunnel_id == 5
        assert (p.tun.tunneled_ip_version == 4) == (cut >= 62), cut
        assert (p.inner_ports() == (1111, 2222)) == (cut >= 82), cut
    assert seen == {0: 0, 2: 14, 3: 34, 5: 42}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_random_corruption_stays_inside_the_frame(name, guarded):
    rnd = random.Random(name)
    frame = bytearray(FRAMES[name])
    for _ in range(400):
        data = bytearray(frame)
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        cut = rnd.randint(0, len(data))
        rc = Parsed(bytes(data[:cut]), caplen=cut, pkt=guarded.place(bytes(data[:cut]))).rc
        assert rc in (0, 2, 3, 4, 5)


# --------------------------------------------------------------------------
# Printing

def print_pkt(frame, size=512):
    buf = ffi.new("char[]", size)
    n = lib.pfring_print_pkt(buf, size, frame, len(frame), len(frame))
    text = ffi.string(buf).decode()
    assert n == len(text)
    return text


def test_print_ipv4_tcp():
    assert print_pkt(eth(0x0800, ipv4(A4, B4, 6, tcp(1234, 80, seq=5)))) == (
        "[02:00:00:00:00:01 -> 02:00:00:00:00:02] [IPv4][10.0.0.1:1234 -> 10.0.0.2:80] "
        f"[l3_proto=TCP][hash={0x0A000001 + 0x0A000002 + 6 + 1234 + 80}][tos=0][tcp_seq_num=5] "
        "[caplen=54][len=54][eth_offset=0][l3_offset=14][l4_offset=34][payload_offset=54]")


def test_print_vlan_ipv6_udp():
    text = print_pkt(eth(0x86DD, ipv6(A6, B6, 17, udp(53, 5353), tc=4), tags=[(0x8100, 10)]))
    assert text.startswith("[02:00:00:00:00:01 -> 02:00:00:00:00:02] [vlan 10] "
                           "[IPv6][2001:db8::1:53 -> 2001:db8::2:5353] [l3_proto=UDP][hash=")
    assert "[tos=4][tcp_seq_num=0] [caplen=74][len=74][eth_offset=0][l3_offset=18][l4_offset=58]" \
           "[payload_offset=66]" in text


def test_print_protocol_numbers():
    assert "[l3_proto=ICMP]" in print_pkt(eth(0x0800, ipv4(A4, B4, 1, icmp(8, 0))))
    assert "[l3_proto=50]" in print_pkt(eth(0x0800, ipv4(A4, B4, 50, b"\0" * 8)))


def test_print_non_ip():
    assert print_pkt(eth(0x0806, b"\0" * 28)) == \
        "[02:00:00:00:00:01 -> 02:00:00:00:00:02][eth_type=0x0806][caplen=42][len=42]"
    assert print_pkt(eth(0x88CC, b"\0" * 46), size=512).endswith("[eth_type=0x88CC][caplen=60][len=60]")


def test_print_parsed_uses_the_given_header():
    frame = eth(0x0800, ipv4(A4, B4, 17, udp(1, 2)))
    p = Parsed(frame, add_hash=0)
    p.hdr.len = 1500
    buf = ffi.new("char[]", 512)
    n = lib.pfring_print_parsed_pkt(buf, 512, p.buf, p.hdr)
    text = ffi.string(buf).decode()
    assert n == len(text)
    assert "[hash=0]" in text and "[caplen=50][len=1500]" in text


def test_print_never_overflows():
    frame = eth(0x86DD, ipv6(A6, B6, 6, tcp(1, 2)), tags=[(0x8100, 10)])
    full = print_pkt(frame)
    for size in range(1, len(full) + 3):
        buf = ffi.new("char[]", size + 16)
        ffi.memmove(buf, b"\x55" * (size + 16), size + 16)
        n = lib.pfring_print_pkt(buf, size, frame, len(frame), len(frame))
        assert ffi.string(buf) == full[:size - 1].encode()
        assert n == min(len(full), size - 1)
        assert ffi.buffer(buf)[size:] == b"\x55" * 16


# --------------------------------------------------------------------------
# pfring_format_numbers

@pytest.mark.parametrize("value, decimals, text", [
    (0, 0, "0"),
    (7, 0, "7"),
    (999, 0, "999"),
    (1000, 0, "1'000"),
    (1234567, 0, "1'234'567"),
    (12345678, 0, "12'345'678"),
    (123456789, 0, "123'456'789"),
    (1234.99, 0, "1'234"),                  # the fraction is dropped, not rounded
    (2764.36, 1, "2'764.36"),
    (0.5, 1, "0.50"),
    (999.999, 1, "1'000.00"),
    (123456.789, 1, "123'456.79"),
    (-1234567, 0, "-1'234'567"),
    (-2764.36, 1, "-2'764.36"),
    (-0.4, 0, "0"),
    (-0.001, 1, "0.00"),
    (1e15, 0, "1'000'000'000'000'000"),
    (18446744073709551616.0, 0, "18'446'744'073'709'551'616"),
    (float("nan"), 0, "nan"),
    (float("inf"), 1, "inf"),
    (float("-inf"), 0, "-inf"),
])
def test_format_numbers(value, decimals, text):
    buf = ffi.new("char[]", 64)
    assert lib.pfring_format_numbers(value, buf, 64, decimals) == buf
    assert ffi.string(buf).decode() == text


def test_format_numbers_huge_and_small_buffers():
    buf = ffi.new("char[]", 1024)
    text = ffi.string(lib.pfring_format_numbers(1.7e308, buf, 1024, 1)).decode()
    assert re.fullmatch(r"\d{3}(?:'\d{3}){102}\.00", text)       # 309 integer digits
    for size in range(1, 12):
        buf = ffi.new("char[]", size + 8)
        ffi.memmove(buf, b"\x55" * (size + 8), size + 8)
        lib.pfring_format_numbers(-1234567.891, buf, size, 1)
        assert ffi.string(buf) == b"-1'234'567.89"[:size - 1]
        assert ffi.buffer(buf)[size:] == b"\x55" * 8
