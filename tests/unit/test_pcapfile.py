"""pcap_pfring.pcapfile: classic pcap files written and read back, files of
both byte orders and both timestamp resolutions built by hand, pcapng files
built block by block, and damaged files refused with a ValueError that says
what is wrong."""
import struct

import pytest

from pcap_pfring.pcapfile import (
    MAGIC_NSEC,
    MAGIC_USEC,
    PcapWriter,
    read_packets,
    read_pcap,
    read_pcapng,
    write_pcap,
)


def frames(n):
    return [bytes([i % 256]) * (60 + i % 37) for i in range(n)]


def build(records, order="<", nano=False, link=1, snaplen=65535):
    """A pcap file by hand: records are (sec, frac, data, orig)."""
    magic = MAGIC_NSEC if nano else MAGIC_USEC
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)]
    for sec, frac, data, orig in records:
        out.append(struct.pack(order + "IIII", sec, frac, len(data), orig) + data)
    return b"".join(out)


def test_write_then_read(tmp_path):
    sent = frames(1001)                     # past 1000: the seconds roll over
    write_pcap(tmp_path / "f.pcap", sent)
    link, records = read_pcap(tmp_path / "f.pcap")
    assert link == 1
    assert [r[3] for r in records] == sent
    assert [(r[1], r[2]) for r in records] == [(len(f), len(f)) for f in sent]
    assert [r[0] for r in records] == pytest.approx(
        [1_700_000_000 + i / 1000 for i in range(len(sent))], abs=1e-6)
    assert records[1000][0] == 1_700_000_001.0


def test_write_header(tmp_path):
    """Little-endian, µs, version 2.4, the link type given."""
    write_pcap(tmp_path / "f.pcap", [b"\x45" + bytes(19)], link=101)
    data = (tmp_path / "f.pcap").read_bytes()
    assert struct.unpack("<IHHiIII", data[:24]) == (MAGIC_USEC, 2, 4, 0, 0, 262144, 101)
    assert len(data) == 24 + 16 + 20
    assert read_pcap(tmp_path / "f.pcap") == (101, [(1_700_000_000.0, 20, 20, b"\x45" + bytes(19))])


def test_no_frames(tmp_path):
    write_pcap(tmp_path / "f.pcap", [])
    assert read_pcap(tmp_path / "f.pcap") == (1, [])
    assert read_pcap(str(tmp_path / "f.pcap")) == (1, [])          # a str path too


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("nano", [False, True], ids=["us", "ns"])
def test_hand_built_files(tmp_path, order, nano):
    """Exact records: timestamps at the file's resolution, captured and
    original lengths as stored (a snapped record keeps both), bytes exact."""
    recs = [(1_600_000_000, 999_999_999 if nano else 999_999, b"\x01" * 60, 60),
            (1_600_000_001, 1, b"\x02" * 96, 1514),
            (1_600_000_002, 0, b"", 0)]
    (tmp_path / "h.pcap").write_bytes(build(recs, order=order, nano=nano, link=113))
    link, records = read_pcap(tmp_path / "h.pcap")
    assert link == 113
    scale = 1e-9 if nano else 1e-6
    assert [r[1:] for r in records] == [(len(d), orig, d) for _, _, d, orig in recs]
    for (sec, frac, _, _), r in zip(recs, records):
        assert r[0] == pytest.approx(sec + frac * scale, abs=1e-6)


def test_big_endian_bytes_by_hand(tmp_path):
    """A big-endian µs file spelled out byte by byte, as a big-endian host writes it."""
    data = bytes.fromhex(
        "a1b2c3d4" "0002" "0004" "00000000" "00000000" "0000ffff" "00000001"   # file header
        "5f5e1000" "0007a120" "00000004" "0000003c"                           # record header
        "deadbeef")                                                          # 4 of 60 bytes
    (tmp_path / "be.pcap").write_bytes(data)
    assert read_pcap(tmp_path / "be.pcap") == (1, [(1_600_000_000.5, 4, 60, b"\xde\xad\xbe\xef")])


def test_link_type_without_fcs_bits(tmp_path):
    """The top bits of the link-type field (FCS length) are not the link type."""
    (tmp_path / "fcs.pcap").write_bytes(build([(1, 0, b"x" * 60, 60)], link=0x1000_0001))
    assert read_pcap(tmp_path / "fcs.pcap")[0] == 1


def test_truncated_files(tmp_path):
    """Cut anywhere, a file reads as its whole records when the cut falls
    between records, else raises ValueError naming the truncation."""
    sent = [b"a" * 60, b"b" * 61, b"c" * 62]
    write_pcap(tmp_path / "f.pcap", sent)
    whole = (tmp_path / "f.pcap").read_bytes()
    ends = {24: 0, 24 + 76: 1, 24 + 76 + 77: 2, len(whole): 3}
    cut = tmp_path / "cut.pcap"
    for n in range(4, len(whole) + 1):
        cut.write_bytes(whole[:n])
        if n in ends:
            assert [r[3] for r in read_pcap(cut)[1]] == sent[:ends[n]]
        else:
            with pytest.raises(ValueError, match="truncated pcap file"):
                read_pcap(cut)


@pytest.mark.parametrize("n, message", [
    (10, "shorter than the 24-byte file header"),
    (24 + 9, "record 1 at byte 24 has 9 of its 16 header bytes"),
    (24 + 16 + 59, "record 1 at byte 24 has 59 of its 60 captured bytes"),
    (24 + 76 + 16 + 1, "record 2 at byte 100 has 1 of its 61 captured bytes"),
])
def test_truncation_messages(tmp_path, n, message):
    write_pcap(tmp_path / "f.pcap", [b"a" * 60, b"b" * 61])
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((tmp_path / "f.pcap").read_bytes()[:n])
    with pytest.raises(ValueError) as e:
        read_pcap(cut)
    assert message in str(e.value) and str(cut) in str(e.value)


@pytest.mark.parametrize("content, message", [
    (b"", "0 bytes, not a pcap file"),
    (b"\xd4\xc3", "2 bytes, not a pcap file"),
    (b"GIF89a" + bytes(40), "not a pcap file (magic 47494638)"),
    (bytes.fromhex("0a0d0d0a") + bytes(60), "not a pcap file (magic 0a0d0d0a)"),   # pcapng
    (bytes.fromhex("a1b2c3d5") + bytes(20), "not a pcap file (magic a1b2c3d5)"),
])
def test_not_pcap_files(tmp_path, content, message):
    (tmp_path / "bad.pcap").write_bytes(content)
    with pytest.raises(ValueError) as e:
        read_pcap(tmp_path / "bad.pcap")
    assert message in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_pcap(tmp_path / "none.pcap")


def test_compat_names_are_these():
    """The compat suites' read_pcap and write_pcap are this module's."""
    from pcap_pfring.testing import compat
    assert compat.read_pcap is read_pcap and compat.write_pcap is write_pcap


# -- pcapng -----------------------------------------------------------------------

def ng_block(order, btype, body):
    body += bytes(-len(body) % 4)
    n = len(body) + 12
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def ng_option(order, code, value):
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def shb(order, major=1, options=b""):
    return ng_block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1)
                    + options)


def idb(order, link=1, snaplen=0, options=b""):
    if options:
        options += ng_option(order, 0, b"")
    return ng_block(order, 1, struct.pack(order + "HHI", link, 0, snaplen) + options)


def epb(order, data, units, ifx=0, orig=None, options=b""):
    orig = len(data) if orig is None else orig
    return ng_block(order, 6, struct.pack(order + "IIIII", ifx, units >> 32, units & 0xFFFFFFFF,
                                          len(data), orig) + data + bytes(-len(data) % 4)
                    + options)


def spb(order, data, orig=None):
    return ng_block(order, 3, struct.pack(order + "I", len(data) if orig is None else orig) + data)


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_pcapng_enhanced_and_simple_packets(tmp_path, order):
    """µs by default; an SPB has no time stamp; odd lengths padded; options after
    the data; unknown blocks (here an Interface Statistics Block) skipped."""
    a, b, c = b"\x01" * 61, b"\x02" * 96, b"\x03" * 63
    data = (shb(order, options=ng_option(order, 4, b"test app") + ng_option(order, 0, b""))
            + idb(order, options=ng_option(order, 2, b"eth0"))
            + epb(order, a, 1_700_000_000_123_456)
            + epb(order, b, 1_700_000_001_000_000, orig=1514, options=ng_option(order, 1, b"hi")
                  + ng_option(order, 0, b""))
            + ng_block(order, 5, bytes(20))
            + spb(order, c))
    (tmp_path / "f.pcapng").write_bytes(data)
    assert read_pcapng(tmp_path / "f.pcapng") == (1, [
        (1_700_000_000_123_456_000, 61, 61, a),
        (1_700_000_001_000_000_000, 96, 1514, b),
        (0, 63, 63, c)])
    assert read_packets(tmp_path / "f.pcapng") == read_pcapng(tmp_path / "f.pcapng")


def test_pcapng_time_stamp_resolution_and_offset(tmp_path):
    o = "<"
    data = (shb(o)
            + idb(o, options=ng_option(o, 9, b"\x09"))                    # ns
            + idb(o, options=ng_option(o, 9, b"\x8a")                     # 2^-10 s
                  + ng_option(o, 14, struct.pack("<q", 100)))             # + 100 s
            + idb(o, options=ng_option(o, 9, b"\x0c"))                    # ps
            + epb(o, b"x" * 60, 1_700_000_000_000_000_001, ifx=0)
            + epb(o, b"y" * 60, 3 * 1024 + 512, ifx=1)
            + epb(o, b"z" * 60, 5_000_000_000_999, ifx=2))
    (tmp_path / "r.pcapng").write_bytes(data)
    _, records = read_pcapng(tmp_path / "r.pcapng")
    assert [r[0] for r in records] == [1_700_000_000_000_000_001, 103_500_000_000, 5_000_000_000]


def test_pcapng_sections_of_both_byte_orders(tmp_path):
    """A new section has its own byte order and its own interfaces."""
    data = (shb("<") + idb("<") + epb("<", b"a" * 60, 1)
            + shb(">") + idb(">", options=ng_option(">", 9, b"\x09")) + epb(">", b"b" * 60, 7))
    (tmp_path / "s.pcapng").write_bytes(data)
    assert read_pcapng(tmp_path / "s.pcapng")[1] == [(1000, 60, 60, b"a" * 60),
                                                    (7, 60, 60, b"b" * 60)]


def test_pcapng_simple_packet_cut_to_the_snaplen(tmp_path):
    data = shb("<") + idb("<", snaplen=64) + spb("<", b"q" * 100, orig=1000)
    (tmp_path / "c.pcapng").write_bytes(data)
    assert read_pcapng(tmp_path / "c.pcapng")[1] == [(0, 64, 1000, b"q" * 64)]


def test_read_packets_of_a_pcap_file_in_nanoseconds(tmp_path):
    (tmp_path / "u.pcap").write_bytes(build([(5, 999_999, b"u" * 60, 60)]))
    (tmp_path / "n.pcap").write_bytes(build([(5, 999_999_999, b"n" * 60, 61)], nano=True,
                                            order=">"))
    assert read_packets(tmp_path / "u.pcap") == (1, [(5_999_999_000, 60, 60, b"u" * 60)])
    assert read_packets(tmp_path / "n.pcap") == (1, [(5_999_999_999, 60, 61, b"n" * 60)])


GOOD = shb("<") + idb("<") + epb("<", b"a" * 60, 1)


BAD_PCAPNG = [
    (b"", "not a pcapng file (magic )"),
    (build([]), "not a pcapng file (magic d4c3b2a1)"),
    (GOOD[:6], "truncated pcapng file: 6 bytes at byte 0, shorter than a block header"),
    (GOOD[:10], "the Section Header Block at byte 0 has 10 of its first 12 bytes"),
    (GOOD[:8] + b"\x11\x22\x33\x44" + GOOD[12:], "byte-order magic 11223344"),
    (shb("<", major=2), "pcapng version 2.0, only version 1 is read"),
    (GOOD[:-3], "truncated pcapng file: block 0x6 at byte 48 has 89 of its 92 bytes"),
    (GOOD[:-4] + b"\0\0\0\0", "block 0x6 at byte 48 has length 92 at its start and 0 at its end"),
    (shb("<") + struct.pack("<III", 1, 13, 13), "block 0x1 at byte 28 has length 13"),
    (shb("<") + epb("<", b"a" * 60, 1), "packet on interface 0, the section describes 0"),
    (shb("<") + spb("<", b"a" * 60), "a Simple Packet Block before any Interface Description"),
    (shb("<") + idb("<", link=101), "interface 0 has link type 101, only Ethernet (1) is read"),
    (shb("<") + idb("<") + shb("<") + epb("<", b"a" * 60, 1),
     "packet on interface 0, the section describes 0"),
    (shb("<") + idb("<") + ng_block("<", 6, struct.pack("<IIIII", 0, 0, 0, 99, 99) + bytes(60)),
     "99 captured bytes in a block with room for 60"),
    (shb("<") + idb("<") + ng_block("<", 6, bytes(12)),
     "an Enhanced Packet Block of 12 body bytes (at least 20)"),
    (shb("<") + ng_block("<", 1, bytes(4)), "an Interface Description Block of 4 body bytes"),
    (shb("<") + idb("<", options=ng_option("<", 9, b"\x09\x09")), "if_tsresol of 2 bytes (1)"),
    (shb("<") + idb("<", options=ng_option("<", 9, b"\x13")), "if_tsresol 10^-19"),
    (shb("<") + idb("<", options=ng_option("<", 14, b"\x01")), "if_tsoffset of 1 bytes (8)"),
    (shb("<") + idb("<", options=struct.pack("<HH", 2, 40) + b"eth0"), "option 2 has 8 of its 40 bytes"),
    (shb("<") + ng_block("<", 2, bytes(20)), "the obsolete Packet Block is not read"),
]


@pytest.mark.parametrize("content, message", BAD_PCAPNG, ids=[m for _, m in BAD_PCAPNG])
def test_bad_pcapng_files(tmp_path, content, message):
    (tmp_path / "bad.pcapng").write_bytes(content)
    with pytest.raises(ValueError) as e:
        read_pcapng(tmp_path / "bad.pcapng")
    text = str(e.value)
    assert message in text and text.startswith(str(tmp_path / "bad.pcapng") + ": ")
    assert "\n" not in text


def test_read_packets_tells_the_formats_apart(tmp_path):
    (tmp_path / "x").write_bytes(b"GIF89a" + bytes(40))
    with pytest.raises(ValueError, match=r"not a pcap file \(magic 47494638\)"):
        read_packets(tmp_path / "x")
    (tmp_path / "y").write_bytes(GOOD)
    assert read_packets(tmp_path / "y") == (1, [(1000, 60, 60, b"a" * 60)])


def test_pcap_writer(tmp_path):
    """Records one at a time: the header with the snaplen, µs time stamps
    (nanoseconds cut), captured and wire lengths as given."""
    with PcapWriter(str(tmp_path / "w.pcap"), 128) as w:
        w.write(1_700_000_000_123_456_789, 1514, b"\x01" * 128)
        w.write(1_700_000_001_000_000_999, 60, memoryview(b"\x02" * 60))
    data = (tmp_path / "w.pcap").read_bytes()
    assert struct.unpack("<IHHiIII", data[:24]) == (MAGIC_USEC, 2, 4, 0, 0, 128, 1)
    assert read_pcap(tmp_path / "w.pcap") == (1, [
        (1_700_000_000.123456, 128, 1514, b"\x01" * 128),
        (1_700_000_001.0, 60, 60, b"\x02" * 60)])


def test_pcap_writer_refuses_a_bad_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        PcapWriter(str(tmp_path / "no" / "dir.pcap"), 64)
