"""pfcount, pfsend and pfdump without privilege: option parsing, the frame
builder, the capture file loader, the run clock, PF_RING's number format and
the output lines."""
import ipaddress
import struct
import time

import pytest

from pcap_pfring.cli import _common, pfcount, pfdump, pfring_info, pfsend

TOOLS = [pfcount, pfsend, pfdump]


# -- options ------------------------------------------------------------------

@pytest.mark.parametrize("mod", TOOLS + [pfring_info])
def test_help(mod, capsys):
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {mod.TOOL}")


@pytest.mark.parametrize("mod, argv", [
    (pfcount, ["--bogus"]), (pfcount, ["-H", "14"]), (pfcount, ["-H", "-1"]),
    (pfcount, ["-c", "1", "-H", "14"]), (pfcount, ["-e", "3"]), (pfcount, ["-N", "x"]),
    (pfcount, ["-N", "-5"]), (pfcount, ["-l", "0"]), (pfcount, ["-d", "0"]),
    (pfcount, ["-d", "nan"]), (pfcount, ["-w", "0"]), (pfcount, ["extra"]),
    (pfsend, ["-n", "many"]), (pfsend, ["-b", "0"]), (pfsend, ["-M", "02:00:00:00:00"]),
    (pfsend, ["-m", "zz:00:00:00:00:01"]), (pfsend, ["-V", "5"]), (pfsend, ["-p", "-3"]),
    (pfdump, []), (pfdump, ["-w", "x.pcap", "-s", "0"]), (pfdump, ["-w", "x.pcap", "-t", "0"]),
])
def test_usage_errors_exit_2(mod, argv, capsys):
    with pytest.raises(SystemExit) as e:
        mod.build_parser().parse_args(argv)
    assert e.value.code == 2
    assert f"{mod.TOOL}: error:" in capsys.readouterr().err


@pytest.mark.parametrize("mod, argv", [
    (pfcount, ["-v", "--json"]),                 # both write stdout
    (pfcount, ["-H", "2"]),                      # -H without -c
    (pfsend, ["-l", "59"]), (pfsend, ["-V", "6", "-l", "61"]),
    (pfsend, ["-r", "1", "-p", "100"]), (pfsend, ["-r", "-1"]), (pfsend, ["-r", "0"]),
    (pfsend, ["-S", "10.0.0.300"]), (pfsend, ["-V", "6", "-S", "10.0.0.1"]),
    (pfsend, ["-D", "255.255.255.250", "-c", "7"]),
])
def test_checks_after_parsing_exit_2(mod, argv, capsys):
    """Rules across options are usage errors too, found before any ring opens."""
    with pytest.raises(SystemExit) as e:
        mod.main(["-i", "nosuchif9", *argv])
    assert e.value.code == 2
    assert "nosuchif9" not in capsys.readouterr().err


def test_cluster_type_range_accepted():
    for t in range(14):
        assert pfcount.build_parser().parse_args(["-c", "3", "-H", str(t)]).cluster_type == t


def test_defaults_match_pf_ring():
    c = pfcount.build_parser().parse_args([])
    assert (c.device, c.caplen, c.direction, c.count, c.cluster) == ("eth0", 1536, 0, 0, None)
    assert not c.no_promisc and not c.active and not c.verbose
    s = pfsend.build_parser().parse_args([])
    assert (s.device, s.count, s.num_src, s.num_dst, s.num_ports) == ("eth0", 0, 1, 1, 1)
    assert s.dst_mac == bytes.fromhex("020000000002") and s.ip_version == 4
    d = pfdump.build_parser().parse_args(["-w", "x.pcap"])
    assert (d.snaplen, d.period, d.count, d.file) == (128, 1.0, 0, "x.pcap")


def test_shared_options_are_one_table():
    """-i/-f/-e/-d/-q/--json mean the same in every tool that has them."""
    for name in ("device", "duration", "quiet", "json"):
        flag = _common.OPTIONS[name][0][0]
        helps = set()
        for mod in TOOLS:
            action = next(a for a in mod.build_parser()._actions if flag in a.option_strings)
            helps.add(action.help)
        assert len(helps) == 1, name
    assert pfsend.build_parser().parse_args(["-n", "7"]).count == 7
    assert pfdump.build_parser().parse_args(["-w", "f", "-n", "7"]).count == 7
    assert pfcount.build_parser().parse_args(["-N", "7"]).count == 7


@pytest.mark.parametrize("mod", TOOLS)
def test_missing_interface_is_one_line(mod, capsys, tmp_path):
    extra = ["-w", str(tmp_path / "x.pcap")] if mod is pfdump else []
    assert mod.main(["-i", "nosuchif9", "-d", "1", *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{mod.TOOL}: no such interface 'nosuchif9'"]
    assert not (tmp_path / "x.pcap").exists()


def test_missing_pcap_file_is_one_line(capsys, tmp_path):
    assert pfsend.main(["-i", "nosuchif9", "-f", str(tmp_path / "none.pcap")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pfsend: ")
    assert "none.pcap" in err[0] and "No such file" in err[0]


# -- frames -------------------------------------------------------------------

MAC_S, MAC_D = b"\x02" * 6, b"\x04" * 6


def _ipv4_flows(frames, length):
    flows = set()
    for f in frames:
        assert len(f) == length
        assert f[:6] == MAC_D and f[6:12] == MAC_S and f[12:14] == b"\x08\x00"
        ip = f[14:34]
        assert ip[0] == 0x45 and ip[9] == 17
        assert struct.unpack("!H", ip[2:4])[0] == length - 14
        assert pfsend.ip_checksum(ip) == 0                    # header checksum verifies
        sport, dport, ulen, csum = struct.unpack("!HHHH", f[34:42])
        assert ulen == length - 34
        assert csum != 0
        assert pfsend.ip_checksum(ip[12:20] + struct.pack("!BBH", 0, 17, ulen) + f[34:]) == 0
        flows.add((ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20]),
                   sport, dport))
    return flows


@pytest.mark.parametrize("b, c, t, length", [(1, 1, 1, 60), (4, 3, 2, 64), (16, 16, 1, 64),
                                             (2, 5, 7, 1514)])
def test_frames_have_distinct_flows_and_valid_checksums(b, c, t, length):
    frames = pfsend.build_frames(length, MAC_S, MAC_D, "10.0.0.1", "192.168.0.1",
                                 num_src=b, num_dst=c, num_ports=t)
    assert len(frames) == b * c * t
    flows = _ipv4_flows(frames, length)
    assert len(flows) == b * c * t
    assert {f[0] for f in flows} == {ipaddress.IPv4Address("10.0.0.1") + i for i in range(b)}
    assert {f[1] for f in flows} == {ipaddress.IPv4Address("192.168.0.1") + i for i in range(c)}
    assert {f[2] for f in flows} == set(range(10000, 10000 + t))


def test_ipv4_checksum_known_value():
    # The classic example header (RFC 1071 style worked example): checksum 0xB861.
    hdr = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert pfsend.ip_checksum(hdr) == 0xB861


def test_ipv6_frames():
    frames = pfsend.build_frames(62, MAC_S, MAC_D, "fd00::1", "fd00::ff", 3, 2, 1, ip_version=6)
    assert len(frames) == 6
    seen = set()
    for f in frames:
        assert len(f) == 62 and f[12:14] == b"\x86\xdd"
        ip = f[14:54]
        assert ip[0] >> 4 == 6 and ip[6] == 17 and ip[7] == 64
        plen = struct.unpack("!H", ip[4:6])[0]
        assert plen == 8 == len(f) - 54
        udp = f[54:]
        pseudo = ip[8:40] + struct.pack("!IxxxB", plen, 17)
        assert pfsend.ip_checksum(pseudo + udp) == 0
        seen.add((ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])))
    assert len(seen) == 6


def test_frame_builder_rejects_bad_input():
    with pytest.raises(ValueError, match="below the minimum of 60"):
        pfsend.build_frames(59, MAC_S, MAC_D, "10.0.0.1", "10.0.0.2")
    with pytest.raises(ValueError, match="below the minimum of 62"):
        pfsend.build_frames(61, MAC_S, MAC_D, "fd00::1", "fd00::2", ip_version=6)
    with pytest.raises(ValueError, match="IPv4"):
        pfsend.build_frames(60, MAC_S, MAC_D, "fd00::1", "10.0.0.2")


def test_rate_conversion():
    # 10 Gbit/s of 60-byte frames is the classic 14.88 Mpps line rate.
    assert round(pfsend.pps_for_gbps(10, 60)) == 14_880_952
    assert round(pfsend.pps_for_gbps(1, 1514)) == 81_274


# -- the capture file loader (pcap_pfring.pcapfile) -----------------------------

def write_pcap(path, frames, nano=False, link=1, ts=None):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, link)]
    for i, f in enumerate(frames):
        sec, frac = (1_700_000_000 + i, 5 * i) if ts is None else ts[i]
        out.append(struct.pack("<IIII", sec, frac, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))


def write_pcapng(path, frames, ts_us):
    """A little-endian pcapng file: one Ethernet interface (µs), one EPB per frame."""
    def block(btype, body):
        body += bytes(-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", 1, 0, 0))]
    for f, t in zip(frames, ts_us):
        out.append(block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(f), len(f)) + f))
    path.write_bytes(b"".join(out))


@pytest.mark.parametrize("nano", [False, True])
def test_load_pcap(tmp_path, nano):
    frames = [bytes([i]) * (60 + 7 * i) for i in range(50)]
    write_pcap(tmp_path / "in.pcap", frames, nano=nano)
    r = pfsend.load_pcap(str(tmp_path / "in.pcap"))
    f = r.frames
    assert (len(f), f.max_len, f.bytes) == (50, 60 + 7 * 49, sum(map(len, frames)))
    assert [f[i] for i in range(50)] == frames
    unit = 1 if nano else 1000
    assert r.offsets_ns == [i * 1_000_000_000 + 5 * i * unit for i in range(50)]


def test_load_pcap_offsets_never_go_back(tmp_path):
    """A frame stamped before the one ahead of it is due right after it."""
    frames = [bytes([i]) * 60 for i in range(4)]
    write_pcap(tmp_path / "in.pcap", frames, ts=[(10, 0), (10, 500), (10, 200), (11, 0)])
    assert pfsend.load_pcap(str(tmp_path / "in.pcap")).offsets_ns == [0, 500_000, 500_000,
                                                                      1_000_000_000]


def test_load_pcapng(tmp_path):
    frames = [bytes([i]) * (60 + i) for i in range(5)]
    write_pcapng(tmp_path / "in.pcapng", frames, [1_700_000_000_000_000 + 250 * i for i in range(5)])
    r = pfsend.load_pcap(str(tmp_path / "in.pcapng"))
    assert [r.frames[i] for i in range(5)] == frames
    assert r.offsets_ns == [250_000 * i for i in range(5)]


@pytest.mark.parametrize("content, error, message", [
    (None, FileNotFoundError, "No such file"),
    (b"", ValueError, "0 bytes, not a pcap file"),
    (b"not a pcap file at all, really" * 2, ValueError, "not a pcap file (magic 6e6f7420)"),
    (bytes.fromhex("0a0d0d0a") + bytes(4), ValueError, "truncated pcapng file"),
])
def test_load_pcap_errors(tmp_path, content, error, message):
    path = tmp_path / "bad.pcap"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error) as e:
        pfsend.load_pcap(str(path))
    assert message in str(e.value)
    assert isinstance(e.value, (OSError, ValueError))     # run_main makes them one line


def test_load_pcap_refuses_other_link_types_and_empty_files(tmp_path):
    write_pcap(tmp_path / "raw.pcap", [b"\x45" + bytes(30)], link=101)
    with pytest.raises(ValueError) as e:
        pfsend.load_pcap(str(tmp_path / "raw.pcap"))
    assert str(e.value) == f"{tmp_path / 'raw.pcap'}: link type RAW, only Ethernet (EN10MB) can be sent"
    write_pcap(tmp_path / "empty.pcap", [])
    with pytest.raises(ValueError) as e:
        pfsend.load_pcap(str(tmp_path / "empty.pcap"))
    assert str(e.value) == f"{tmp_path / 'empty.pcap'}: no packets"
    write_pcap(tmp_path / "zero.pcap", [b"\x01" * 60, b""])
    with pytest.raises(ValueError) as e:
        pfsend.load_pcap(str(tmp_path / "zero.pcap"))
    assert str(e.value) == f"{tmp_path / 'zero.pcap'}: packet 2 has no bytes"


def test_pfsend_bad_pcap_is_one_line(tmp_path, capsys):
    (tmp_path / "bad.pcap").write_bytes(b"GIF89a" + bytes(40))
    assert pfsend.main(["-i", "nosuchif9", "-f", str(tmp_path / "bad.pcap")]) == 1
    assert capsys.readouterr().err == \
        f"pfsend: {tmp_path / 'bad.pcap'}: not a pcap file (magic 47494638)\n"


# -- the run clock -----------------------------------------------------------------

def test_run_ticks_once_per_period():
    ticks = []
    with _common.Run(period=0.1, duration=0.35, tick=lambda: ticks.append(time.monotonic())) as run:
        while not run.stopped:
            run.sleep_until(time.monotonic() + 10)
    assert len(ticks) == 3
    assert 0.35 <= run.elapsed < 1


# -- output ---------------------------------------------------------------------

@pytest.mark.parametrize("value, decimals, text", [
    (0, False, "0"), (999, False, "999"), (1000, False, "1'000"), (1234567, False, "1'234'567"),
    (2764.36, True, "2'764.36"), (-1234.5, True, "-1'234.50"), (0.5, True, "0.50"),
    (1e9, False, "1'000'000'000"),
])
def test_number_format(value, decimals, text):
    assert _common.fmt(value, decimals) == text


def test_duration_text():
    assert _common.duration_text(0) == "0:00:00:00:000"
    assert _common.duration_text(3.5) == "0:00:00:03:500"
    assert _common.duration_text(86400 + 3600 * 2 + 60 * 3 + 4.005) == "1:02:03:04:005"


def test_pfcount_blocks():
    first = pfcount.stats_block(1000, 64000, 0, 1.0, (0.0, 0, 0), rates=False)
    assert first == ("=========================\n"
                     "Absolute Stats: [1'000 pkts total][0 pkts dropped][0.0% dropped]\n"
                     "[1'000 pkts rcvd][64'000 bytes rcvd]\n"
                     "Actual Stats: [1'000 pkts rcvd][1'000.00 ms][1'000.00 pps][0.00 Gbps]\n"
                     "=========================\n")
    second = pfcount.stats_block(3_000_000, 192_000_000, 1_000_000, 2.0, (1.0, 1000, 64000),
                                 rates=True)
    lines = second.splitlines()
    assert lines[1] == ("Absolute Stats: [4'000'000 pkts total][1'000'000 pkts dropped]"
                        "[25.0% dropped]")
    assert lines[2] == ("[3'000'000 pkts rcvd][192'000'000 bytes rcvd]"
                        "[1'500'000.00 pkt/sec][768.00 Mbit/sec]")
    assert lines[3] == ("Actual Stats: [2'999'000 pkts rcvd][1'000.00 ms][2'999'000.00 pps]"
                        "[1.54 Gbps]")


def test_pfcount_application_stats():
    assert pfcount.appl_stats_text(61.25, 10, 2, 640) == (
        "Duration: 0:00:01:01:250\nPackets:  10\nDropped:  2\nBytes:    640\n")


def test_pfsend_rate_line():
    line = pfsend.tx_rate_line(2.0, 300_000, 300_000 * 60, (1.0, 100_000, 100_000 * 60))
    assert line == ("TX rate: [current 200'000.00 pps/0.13 Gbps]"
                    "[average 150'000.00 pps/0.10 Gbps][total 300'000 pkts]")


def test_pfdump_line():
    assert pfdump.stats_line(3, 150, 9600, 2, (100, 6400, 1)) == (
        "3 sec pkts 50 drop 1 bytes 3200 | pkts 150 bytes 9600 drop 2")


def test_error_text():
    assert _common.error_text(FileNotFoundError(2, "No such file or directory", "x.pcap")) == \
        "x.pcap: No such file or directory"
    assert _common.error_text(ValueError("bad")) == "bad"
