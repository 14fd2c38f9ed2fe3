"""pcap_pfring.pcapfile: classic pcap files written and read back, files of
both byte orders and both timestamp resolutions built by hand, and damaged
files refused with a ValueError that says what is wrong."""
import struct

import pytest

from pcap_pfring.pcapfile import MAGIC_NSEC, MAGIC_USEC, read_pcap, write_pcap


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
